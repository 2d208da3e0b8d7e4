package wasitestsuite

import (
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Bounds of one test's directory copy, so that a suite directory cannot
// make wasicert copy without end.
const (
	maxCopyEntries = 10000
	maxCopyBytes   = 256 << 20
)

// copyTree copies the directory src to dst (which must not exist): regular
// files with their permission bits, directories, and symlinks as symlinks
// (their targets unchanged, never followed). *.cleanup entries are left out:
// they are what an earlier run left behind (the format's cleanup rule).
// Other file types are refused.
func copyTree(src, dst string) error {
	entries, size := 0, int64(0)
	return filepath.WalkDir(src, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if r != "." && strings.HasSuffix(d.Name(), ".cleanup") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if entries++; entries > maxCopyEntries {
			return fmt.Errorf("more than %d entries", maxCopyEntries)
		}
		to := filepath.Join(dst, r)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Mkdir(to, info.Mode().Perm()|0o700)
		case d.Type()&iofs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, to)
		case d.Type().IsRegular():
			if size += info.Size(); size > maxCopyBytes {
				return fmt.Errorf("more than %d MiB", maxCopyBytes>>20)
			}
			return copyFile(p, to, info.Mode().Perm())
		}
		return fmt.Errorf("%s: a %s, which a test directory cannot hold", r, d.Type())
	})
}

func copyFile(src, dst string, perm iofs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// removeTree removes a test's directory, whatever modes the guest left on
// its directories (symlinks are never followed).
func removeTree(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	_ = filepath.WalkDir(dir, func(p string, d iofs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}
