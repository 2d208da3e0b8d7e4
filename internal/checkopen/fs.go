// Package checkopen is a deliberately RACY WASI runtime: a stand-in for the
// runtimes that check a path and then open it (uvwasi's
// uvwasi__resolve_path then uv_fs_open, libuv #4167; wasmer's lstat then
// stat, wasmer #2432).
//
// # NOT A SANDBOX
//
// It exists as the negative control of wasicert's symlink specs and must
// only be imported from _test.go files. It runs modules on wazero with
// wazero's own WASI functions and, for every preopen, wazero's DirFS
// wrapped by a checker: before each path operation the checker walks the
// path in user space (lstat and readlink per component) and refuses, with
// EPERM, a path whose symlinks lead out of the preopen or are absolute;
// then the operation runs on the ORIGINAL path, through the host OS, which
// follows the symlinks again. Without a concurrent change it confines the
// guest as well as a real resolver does; a host that swaps a file for a
// symlink between the check and the open (symlink.swap-race) wins.
//
// Options.MaxLinks and LimitErrno set the checker's symlink limit and the
// errno past it (default 32 and ELOOP, uvwasi's); a low limit with another
// errno is the negative control of symlink.chain-depth.
package checkopen

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/sys"
)

// checkedFS is wazero's DirFS on root, each path checked first.
type checkedFS struct {
	experimentalsys.FS
	root       string
	maxLinks   int
	limitErrno experimentalsys.Errno
}

func newFS(root string, maxLinks int, limit experimentalsys.Errno) *checkedFS {
	return &checkedFS{FS: sysfs.DirFS(root), root: root, maxLinks: maxLinks, limitErrno: limit}
}

// check walks p (clean, relative to root, maybe with a trailing slash)
// component by component as the OS will, and refuses it when a symlink on
// the way is absolute or climbs above root. followFinal says whether the
// last component's symlink is followed (a trailing slash always follows).
// A component that does not exist ends the check: the OS answers for it.
func (c *checkedFS) check(p string, followFinal bool) experimentalsys.Errno {
	if strings.HasSuffix(p, "/") {
		followFinal = true
	}
	todo := strings.Split(strings.Trim(p, "/"), "/")
	var done []string // components resolved so far, inside root
	links := 0
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			if len(done) == 0 {
				return experimentalsys.EPERM
			}
			done = done[:len(done)-1]
			continue
		}
		host := filepath.Join(c.root, filepath.Join(done...), name)
		fi, err := os.Lstat(host)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 || (len(todo) == 0 && !followFinal) {
			if err != nil {
				return 0
			}
			done = append(done, name)
			continue
		}
		if links++; links > c.maxLinks {
			return c.limitErrno
		}
		target, err := os.Readlink(host)
		if err != nil {
			return 0
		}
		if path.IsAbs(target) {
			return experimentalsys.EPERM
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return 0
}

func (c *checkedFS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	if e := c.check(p, flag&experimentalsys.O_NOFOLLOW == 0); e != 0 {
		return nil, e
	}
	return c.FS.OpenFile(p, flag, perm)
}

func (c *checkedFS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) {
	if e := c.check(p, false); e != 0 {
		return sys.Stat_t{}, e
	}
	return c.FS.Lstat(p)
}

func (c *checkedFS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	if e := c.check(p, true); e != 0 {
		return sys.Stat_t{}, e
	}
	return c.FS.Stat(p)
}

func (c *checkedFS) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	return c.then(p, false, func() experimentalsys.Errno { return c.FS.Mkdir(p, perm) })
}

func (c *checkedFS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	return c.then(p, true, func() experimentalsys.Errno { return c.FS.Chmod(p, perm) })
}

func (c *checkedFS) Rename(from, to string) experimentalsys.Errno {
	return c.then(from, false, func() experimentalsys.Errno {
		return c.then(to, false, func() experimentalsys.Errno { return c.FS.Rename(from, to) })
	})
}

func (c *checkedFS) Rmdir(p string) experimentalsys.Errno {
	return c.then(p, false, func() experimentalsys.Errno { return c.FS.Rmdir(p) })
}

func (c *checkedFS) Unlink(p string) experimentalsys.Errno {
	return c.then(p, false, func() experimentalsys.Errno { return c.FS.Unlink(p) })
}

func (c *checkedFS) Link(oldPath, newPath string) experimentalsys.Errno {
	return c.then(oldPath, false, func() experimentalsys.Errno {
		return c.then(newPath, false, func() experimentalsys.Errno { return c.FS.Link(oldPath, newPath) })
	})
}

func (c *checkedFS) Symlink(oldPath, linkName string) experimentalsys.Errno {
	return c.then(linkName, false, func() experimentalsys.Errno { return c.FS.Symlink(oldPath, linkName) })
}

func (c *checkedFS) Readlink(p string) (string, experimentalsys.Errno) {
	if e := c.check(p, false); e != 0 {
		return "", e
	}
	return c.FS.Readlink(p)
}

func (c *checkedFS) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	return c.then(p, true, func() experimentalsys.Errno { return c.FS.Utimens(p, atim, mtim) })
}

// then runs op once p passed the check.
func (c *checkedFS) then(p string, followFinal bool, op func() experimentalsys.Errno) experimentalsys.Errno {
	if e := c.check(p, followFinal); e != 0 {
		return e
	}
	return op()
}
