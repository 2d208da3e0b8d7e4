//go:build linux

package confinedfs

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
)

const (
	secret = "SECRET-OUTSIDE\n"
	inside = "INSIDE-FILE\n"
)

// fixture makes:
//
//	outside/secret.txt
//	sandbox/inside.txt, sandbox/sub/nested/file.txt, sandbox/emptydir/
//	sandbox/rel -> ../outside/secret.txt      sandbox/reldir -> ../outside
//	sandbox/abs -> <abs>/outside/secret.txt   sandbox/absdir -> <abs>/outside
//	sandbox/etc -> /etc                       sandbox/inlink -> inside.txt
//	sandbox/subdir -> sub                     sandbox/loop -> loop
//	sandbox/sub/up -> ../../outside           sandbox/sub/back -> ../inside.txt
//
// and returns the temp dir and the sandbox's FS.
func fixture(t *testing.T, readOnly bool) (string, *FS) {
	t.Helper()
	tmp := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	sb := filepath.Join(tmp, "sandbox")
	must(os.MkdirAll(filepath.Join(tmp, "outside"), 0o755))
	must(os.MkdirAll(filepath.Join(sb, "sub", "nested"), 0o755))
	must(os.MkdirAll(filepath.Join(sb, "emptydir"), 0o755))
	must(os.WriteFile(filepath.Join(tmp, "outside", "secret.txt"), []byte(secret), 0o644))
	must(os.WriteFile(filepath.Join(sb, "inside.txt"), []byte(inside), 0o644))
	must(os.WriteFile(filepath.Join(sb, "sub", "nested", "file.txt"), []byte("NESTED\n"), 0o644))
	for link, target := range map[string]string{
		"rel":      "../outside/secret.txt",
		"reldir":   "../outside",
		"abs":      filepath.Join(tmp, "outside", "secret.txt"),
		"absdir":   filepath.Join(tmp, "outside"),
		"etc":      "/etc",
		"inlink":   "inside.txt",
		"subdir":   "sub",
		"loop":     "loop",
		"sub/up":   "../../outside",
		"sub/back": "../inside.txt",
	} {
		must(os.Symlink(target, filepath.Join(sb, link)))
	}
	c, err := Open(sb, readOnly)
	must(err)
	t.Cleanup(func() { c.Close() })
	return tmp, c
}

// outsideUntouched fails the test if anything under outside/ changed.
func outsideUntouched(t *testing.T, tmp string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tmp, "outside", "secret.txt"))
	if err != nil || string(b) != secret {
		t.Errorf("outside/secret.txt changed: %q, %v", b, err)
	}
	ents, _ := os.ReadDir(filepath.Join(tmp, "outside"))
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("outside/ holds %v, want only secret.txt", names)
	}
}

func readAll(t *testing.T, f experimentalsys.File) string {
	t.Helper()
	var out []byte
	buf := make([]byte, 7)
	for {
		n, errno := f.Read(buf)
		if errno != 0 {
			t.Fatalf("read: %v", errno)
		}
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

func TestEscapesAreRefused(t *testing.T) {
	tmp, c := fixture(t, false)
	const (
		rd  = experimentalsys.O_RDONLY
		nf  = experimentalsys.O_NOFOLLOW
		dir = experimentalsys.O_DIRECTORY
		cw  = experimentalsys.O_CREAT | experimentalsys.O_WRONLY
	)
	opens := []struct {
		name string
		path string
		flag experimentalsys.Oflag
	}{
		{"host relative, final", "rel", rd},
		{"host relative, intermediate", "reldir/secret.txt", rd},
		{"host relative, intermediate, nofollow", "reldir/secret.txt", rd | nf},
		{"host relative, trailing slash", "reldir/", rd | dir},
		{"host relative, trailing slash, nofollow", "reldir/", rd | dir | nf},
		{"host relative, create through", "reldir/made-by-guest", cw},
		{"host relative, create excl through", "reldir/made-by-guest", cw | experimentalsys.O_EXCL},
		{"host relative, nested link", "sub/up/secret.txt", rd},
		{"host relative, via in-root link", "subdir/up/secret.txt", rd},
		{"host absolute, final", "abs", rd},
		{"host absolute, intermediate", "absdir/secret.txt", rd},
		{"host absolute, trailing slash", "absdir/", rd | dir},
		{"host absolute, /etc", "etc/passwd", rd},
		{"host absolute, /etc dir", "etc", rd | dir},
		{"host absolute, create through", "absdir/made-by-guest", cw},
		{"dotdot", "../outside/secret.txt", rd},
		{"dotdot parent", "..", rd | dir},
		{"dotdot nested", "sub/../../outside/secret.txt", rd},
		{"dotdot deep", "sub/nested/../../../outside/secret.txt", rd},
		{"dotdot many", "../../../../../../../../etc/passwd", rd},
		{"dotdot transient", "../sandbox/inside.txt", rd},
		{"dotdot nofollow", "../outside/secret.txt", rd | nf},
		{"dotdot create", "sub/../../outside/made-by-guest", cw},
		{"absolute path through etc -> /etc", "/etc/passwd", rd},
		{"rooted dotdot", "/../outside/secret.txt", rd},
		{"rooted host relative", "/reldir/secret.txt", rd},
		{"rooted host absolute", "//absdir/secret.txt", rd},
	}
	for _, tc := range opens {
		f, errno := c.OpenFile(tc.path, tc.flag, 0o644)
		if errno != experimentalsys.EPERM {
			if f != nil {
				f.Close()
			}
			t.Errorf("%s: OpenFile(%q, %#x) = %v, want EPERM", tc.name, tc.path, tc.flag, errno)
		}
	}

	paths := []string{"rel", "reldir/secret.txt", "abs", "absdir/secret.txt", "etc/passwd", "sub/up/secret.txt", "../outside/secret.txt", "/etc/passwd"}
	for _, p := range paths {
		if _, errno := c.Stat(p); errno != experimentalsys.EPERM {
			t.Errorf("Stat(%q) = %v, want EPERM", p, errno)
		}
		if errno := c.Chmod(p, 0o777); errno != experimentalsys.EPERM {
			t.Errorf("Chmod(%q) = %v, want EPERM", p, errno)
		}
		if errno := c.Utimens(p, 0, 0); errno != experimentalsys.EPERM {
			t.Errorf("Utimens(%q) = %v, want EPERM", p, errno)
		}
	}
	for _, p := range []string{"reldir/secret.txt", "absdir/secret.txt", "sub/up/secret.txt", "../outside/secret.txt", "/etc/passwd"} {
		if _, errno := c.Lstat(p); errno != experimentalsys.EPERM {
			t.Errorf("Lstat(%q) = %v, want EPERM", p, errno)
		}
		if _, errno := c.Readlink(p); errno != experimentalsys.EPERM {
			t.Errorf("Readlink(%q) = %v, want EPERM", p, errno)
		}
		if errno := c.Unlink(p); errno != experimentalsys.EPERM {
			t.Errorf("Unlink(%q) = %v, want EPERM", p, errno)
		}
		if errno := c.Rename(p, "stolen"); errno != experimentalsys.EPERM {
			t.Errorf("Rename(%q, stolen) = %v, want EPERM", p, errno)
		}
		if errno := c.Link(p, "hard"); errno != experimentalsys.EPERM {
			t.Errorf("Link(%q, hard) = %v, want EPERM", p, errno)
		}
	}
	for _, p := range []string{"reldir/made-by-guest", "absdir/made-by-guest", "../outside/made-by-guest", "sub/../../outside/made-by-guest"} {
		if errno := c.Mkdir(p, 0o755); errno != experimentalsys.EPERM {
			t.Errorf("Mkdir(%q) = %v, want EPERM", p, errno)
		}
		if errno := c.Symlink("inside.txt", p); errno != experimentalsys.EPERM {
			t.Errorf("Symlink(inside.txt, %q) = %v, want EPERM", p, errno)
		}
		if errno := c.Rename("inside.txt", p); errno != experimentalsys.EPERM {
			t.Errorf("Rename(inside.txt, %q) = %v, want EPERM", p, errno)
		}
		if errno := c.Link("inside.txt", p); errno != experimentalsys.EPERM {
			t.Errorf("Link(inside.txt, %q) = %v, want EPERM", p, errno)
		}
	}
	for _, p := range []string{"reldir", "../outside", "absdir/"} {
		if errno := c.Rmdir(p); errno == 0 {
			t.Errorf("Rmdir(%q) succeeded", p)
		}
	}
	outsideUntouched(t, tmp)
	if _, err := os.Lstat(filepath.Join(tmp, "sandbox", "inside.txt")); err != nil {
		t.Errorf("inside.txt gone: %v", err)
	}
}

// Paths are relative to the FS: a leading slash names the root, never the
// host's root. wazero passes such paths itself under a directory fd the guest
// opened as "." of a preopen ("" + "/" + path), so they must work, and a host
// path given that way must never reach the host file.
func TestRootedPaths(t *testing.T) {
	tmp, c := fixture(t, false)
	for _, p := range []string{"/inside.txt", "//inside.txt", "/sub/../inside.txt", "/inlink", "/sub/back"} {
		f, errno := c.OpenFile(p, experimentalsys.O_RDONLY, 0)
		if errno != 0 {
			t.Errorf("OpenFile(%q) = %v, want the root's inside.txt", p, errno)
			continue
		}
		if got := readAll(t, f); got != inside {
			t.Errorf("OpenFile(%q) reads %q, want %q", p, got, inside)
		}
		f.Close()
	}
	if st, errno := c.Stat("/sub/nested"); errno != 0 || !st.Mode.IsDir() {
		t.Errorf("Stat(/sub/nested) = %+v, %v", st, errno)
	}
	if f, errno := c.OpenFile("/made", experimentalsys.O_CREAT|experimentalsys.O_WRONLY, 0o644); errno != 0 {
		t.Errorf("create /made: %v", errno)
	} else {
		f.Close()
	}
	if _, err := os.Stat(filepath.Join(tmp, "sandbox", "made")); err != nil {
		t.Errorf("/made was not created in the root: %v", err)
	}
	if errno := c.Rename("/made", "/sub/made"); errno != 0 {
		t.Errorf("Rename(/made, /sub/made) = %v", errno)
	}
	if errno := c.Unlink("/sub/made"); errno != 0 {
		t.Errorf("Unlink(/sub/made) = %v", errno)
	}

	// The host's own path to the secret, given as a path of the FS, names
	// the root's (missing) tmp/..., never the host file.
	hostPath := filepath.Join(tmp, "outside", "secret.txt")
	if f, errno := c.OpenFile(hostPath, experimentalsys.O_RDONLY, 0); errno != experimentalsys.ENOENT {
		if f != nil {
			t.Errorf("OpenFile(%q) opened something: %q", hostPath, readAll(t, f))
			f.Close()
		}
		t.Errorf("OpenFile(%q) = %v, want ENOENT (the root has no such path)", hostPath, errno)
	}
	if errno := c.Unlink(hostPath); errno != experimentalsys.ENOENT {
		t.Errorf("Unlink(%q) = %v, want ENOENT", hostPath, errno)
	}
	if f, errno := c.OpenFile(hostPath, experimentalsys.O_CREAT|experimentalsys.O_TRUNC|experimentalsys.O_WRONLY, 0o644); errno == 0 {
		f.Close()
		t.Errorf("OpenFile(%q, CREAT|TRUNC) succeeded: the root has no %s", hostPath, filepath.Dir(hostPath))
	}
	outsideUntouched(t, tmp)
}

// Readlink refuses a host-planted absolute target instead of handing the
// guest the host path; relative targets, inside or out, come back verbatim.
func TestReadlinkAbsoluteTarget(t *testing.T) {
	tmp, c := fixture(t, false)
	for _, p := range []string{"abs", "absdir", "etc", "/abs", "subdir/../etc"} {
		if got, errno := c.Readlink(p); errno != experimentalsys.EPERM {
			t.Errorf("Readlink(%q) = %q, %v, want EPERM", p, got, errno)
		}
	}
	for p, want := range map[string]string{"rel": "../outside/secret.txt", "inlink": "inside.txt", "/sub/up": "../../outside"} {
		if got, errno := c.Readlink(p); errno != 0 || got != want {
			t.Errorf("Readlink(%q) = %q, %v, want %q", p, got, errno, want)
		}
	}
	// The link is still there, and still not followed.
	if st, errno := c.Lstat("abs"); errno != 0 || st.Mode&fs.ModeSymlink == 0 {
		t.Errorf("Lstat(abs) = %+v, %v", st, errno)
	}
	outsideUntouched(t, tmp)
}

func TestGuestSymlinks(t *testing.T) {
	tmp, c := fixture(t, false)
	// Any relative target is stored, but following it out is refused.
	for link, target := range map[string]string{
		"g-file":   "../outside/secret.txt",
		"g-dir":    "../outside",
		"g-nested": "sub/../../outside",
		"g-root":   "../../../../../../..",
		"g-inside": "inside.txt",
		"g-subdir": "sub/nested",
		"g-dotdot": "sub/../inside.txt",
	} {
		if errno := c.Symlink(target, link); errno != 0 {
			t.Fatalf("Symlink(%q, %q) = %v", target, link, errno)
		}
		if got, errno := c.Readlink(link); errno != 0 || got != target {
			t.Errorf("Readlink(%q) = %q, %v, want %q", link, got, errno, target)
		}
	}
	for _, p := range []string{"g-file", "g-dir/secret.txt", "g-nested/secret.txt", "g-root/etc/hostname", "g-root/etc/passwd", "g-dir/"} {
		if f, errno := c.OpenFile(p, experimentalsys.O_RDONLY, 0); errno != experimentalsys.EPERM {
			if f != nil {
				f.Close()
			}
			t.Errorf("OpenFile(%q) = %v, want EPERM", p, errno)
		}
		if _, errno := c.Stat(p); errno != experimentalsys.EPERM {
			t.Errorf("Stat(%q) = %v, want EPERM", p, errno)
		}
	}
	if f, errno := c.OpenFile("g-dir/made-by-guest", experimentalsys.O_CREAT|experimentalsys.O_WRONLY, 0o644); errno != experimentalsys.EPERM {
		if f != nil {
			f.Close()
		}
		t.Errorf("create through g-dir = %v, want EPERM", errno)
	}
	// Absolute targets are refused, so they can never be followed.
	for link, target := range map[string]string{"ga-file": filepath.Join(tmp, "outside", "secret.txt"), "ga-etc": "/etc"} {
		if errno := c.Symlink(target, link); errno != experimentalsys.EPERM {
			t.Errorf("Symlink(%q, %q) = %v, want EPERM", target, link, errno)
		}
	}
	// Links that stay inside work.
	for p, want := range map[string]string{"g-inside": inside, "g-dotdot": inside, "g-subdir/file.txt": "NESTED\n", "inlink": inside, "subdir/nested/file.txt": "NESTED\n", "sub/back": inside} {
		f, errno := c.OpenFile(p, experimentalsys.O_RDONLY, 0)
		if errno != 0 {
			t.Errorf("OpenFile(%q) = %v", p, errno)
			continue
		}
		if got := readAll(t, f); got != want {
			t.Errorf("%s reads %q, want %q", p, got, want)
		}
		f.Close()
	}
	outsideUntouched(t, tmp)
}

func TestErrnos(t *testing.T) {
	_, c := fixture(t, false)
	cases := []struct {
		name string
		got  experimentalsys.Errno
		want experimentalsys.Errno
	}{
		{"open loop", openErrno(c, "loop", experimentalsys.O_RDONLY), experimentalsys.ELOOP},
		{"open nofollow link", openErrno(c, "inlink", experimentalsys.O_RDONLY|experimentalsys.O_NOFOLLOW), experimentalsys.ELOOP},
		{"open missing", openErrno(c, "missing.txt", experimentalsys.O_RDONLY), experimentalsys.ENOENT},
		{"open missing nofollow", openErrno(c, "sub/missing.txt", experimentalsys.O_RDONLY|experimentalsys.O_NOFOLLOW), experimentalsys.ENOENT},
		{"open file as dir", openErrno(c, "inside.txt", experimentalsys.O_RDONLY|experimentalsys.O_DIRECTORY), experimentalsys.ENOTDIR},
		{"open file trailing slash", openErrno(c, "inside.txt/", experimentalsys.O_RDONLY), experimentalsys.ENOTDIR},
		{"open through file", openErrno(c, "inside.txt/x", experimentalsys.O_RDONLY), experimentalsys.ENOTDIR},
		{"open dir for write", openErrno(c, "sub", experimentalsys.O_RDWR), experimentalsys.EISDIR},
		{"create excl existing", openErrno(c, "inside.txt", experimentalsys.O_CREAT|experimentalsys.O_EXCL|experimentalsys.O_WRONLY), experimentalsys.EEXIST},
		{"create excl on dangling-inside link", openErrno(c, "inlink", experimentalsys.O_CREAT|experimentalsys.O_EXCL|experimentalsys.O_WRONLY), experimentalsys.EEXIST},
		{"mkdir existing", c.Mkdir("sub", 0o755), experimentalsys.EEXIST},
		{"mkdir under file", c.Mkdir("inside.txt/x", 0o755), experimentalsys.ENOENT},
		{"rmdir file", c.Rmdir("inside.txt"), experimentalsys.ENOTDIR},
		{"rmdir non-empty", c.Rmdir("sub"), experimentalsys.ENOTEMPTY},
		{"rmdir link", c.Rmdir("subdir"), experimentalsys.ENOTDIR},
		{"unlink dir", c.Unlink("sub"), experimentalsys.EISDIR},
		{"unlink missing", c.Unlink("missing"), experimentalsys.ENOENT},
		{"unlink file trailing slash", c.Unlink("inside.txt/"), experimentalsys.ENOTDIR},
		{"stat missing", statErrno(c, "missing"), experimentalsys.ENOENT},
		{"readlink file", readlinkErrno(c, "inside.txt"), experimentalsys.EINVAL},
		{"symlink existing", c.Symlink("x", "inside.txt"), experimentalsys.EEXIST},
		{"link existing", c.Link("inside.txt", "inlink"), experimentalsys.EEXIST},
		{"rename missing", c.Rename("missing", "x"), experimentalsys.ENOENT},
		{"rename dir onto file", c.Rename("emptydir", "inside.txt"), experimentalsys.ENOTDIR},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func openErrno(c *FS, p string, flag experimentalsys.Oflag) experimentalsys.Errno {
	f, errno := c.OpenFile(p, flag, 0o644)
	if f != nil {
		f.Close()
	}
	return errno
}

func statErrno(c *FS, p string) experimentalsys.Errno {
	_, errno := c.Stat(p)
	return errno
}

func readlinkErrno(c *FS, p string) experimentalsys.Errno {
	_, errno := c.Readlink(p)
	return errno
}

func TestReadOnly(t *testing.T) {
	tmp, c := fixture(t, true)
	victim := filepath.Join(tmp, "sandbox", "inside.txt")
	rofs := []struct {
		name  string
		errno experimentalsys.Errno
	}{
		{"open rdwr", openErrno(c, "inside.txt", experimentalsys.O_RDWR)},
		{"open wronly", openErrno(c, "inside.txt", experimentalsys.O_WRONLY)},
		{"open trunc rdonly", openErrno(c, "inside.txt", experimentalsys.O_RDONLY|experimentalsys.O_TRUNC)},
		{"open trunc wronly", openErrno(c, "inside.txt", experimentalsys.O_WRONLY|experimentalsys.O_TRUNC)},
		{"open append wronly", openErrno(c, "inside.txt", experimentalsys.O_WRONLY|experimentalsys.O_APPEND)},
		{"open creat rdonly", openErrno(c, "made-by-guest", experimentalsys.O_RDONLY|experimentalsys.O_CREAT)},
		{"open creat excl", openErrno(c, "made-by-guest", experimentalsys.O_WRONLY|experimentalsys.O_CREAT|experimentalsys.O_EXCL)},
		{"open dir rdwr", openErrno(c, "sub", experimentalsys.O_RDWR|experimentalsys.O_DIRECTORY)},
		{"mkdir", c.Mkdir("dir-by-guest", 0o755)},
		{"chmod", c.Chmod("inside.txt", 0o777)},
		{"rename", c.Rename("inside.txt", "moved.txt")},
		{"rmdir", c.Rmdir("emptydir")},
		{"unlink", c.Unlink("inside.txt")},
		{"link", c.Link("inside.txt", "hard")},
		{"symlink", c.Symlink("inside.txt", "link-by-guest")},
		{"utimens", c.Utimens("inside.txt", 0, 0)},
	}
	for _, tc := range rofs {
		if tc.errno != experimentalsys.EROFS {
			t.Errorf("read-only %s: %v, want EROFS", tc.name, tc.errno)
		}
	}
	// Escapes are still escapes.
	if errno := openErrno(c, "rel", experimentalsys.O_RDONLY); errno != experimentalsys.EPERM {
		t.Errorf("read-only open rel: %v, want EPERM", errno)
	}

	f, errno := c.OpenFile("inside.txt", experimentalsys.O_RDONLY, 0)
	if errno != 0 {
		t.Fatalf("read-only open for reading: %v", errno)
	}
	defer f.Close()
	if _, errno := f.Write([]byte("X")); errno != experimentalsys.EBADF {
		t.Errorf("Write: %v, want EBADF", errno)
	}
	if _, errno := f.Pwrite([]byte("X"), 0); errno != experimentalsys.EBADF {
		t.Errorf("Pwrite: %v, want EBADF", errno)
	}
	if errno := f.Truncate(0); errno != experimentalsys.EBADF {
		t.Errorf("Truncate: %v, want EBADF", errno)
	}
	if errno := f.Utimens(0, 0); errno != experimentalsys.EBADF {
		t.Errorf("Utimens: %v, want EBADF", errno)
	}
	if errno := f.Sync(); errno != experimentalsys.EBADF {
		t.Errorf("Sync: %v, want EBADF", errno)
	}
	if got := readAll(t, f); got != inside {
		t.Errorf("read back %q", got)
	}
	d, errno := c.OpenFile("sub", experimentalsys.O_RDONLY|experimentalsys.O_DIRECTORY, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	defer d.Close()
	if _, errno := d.Write([]byte("X")); errno != experimentalsys.EISDIR {
		t.Errorf("dir Write: %v, want EISDIR", errno)
	}

	fi, err := os.Stat(victim)
	if err != nil || fi.Size() != int64(len(inside)) || fi.Mode().Perm() != 0o644 {
		t.Errorf("victim changed: %v %v", fi, err)
	}
	ents, _ := os.ReadDir(filepath.Join(tmp, "sandbox"))
	if len(ents) != 11 {
		t.Errorf("sandbox holds %d entries, want 11 (nothing made)", len(ents))
	}
	outsideUntouched(t, tmp)
}

func TestNormalOperation(t *testing.T) {
	tmp, c := fixture(t, false)
	sb := filepath.Join(tmp, "sandbox")

	// Create, write, read back.
	f, errno := c.OpenFile("sub/new.txt", experimentalsys.O_CREAT|experimentalsys.O_EXCL|experimentalsys.O_RDWR, 0o640)
	if errno != 0 {
		t.Fatalf("create: %v", errno)
	}
	if n, errno := f.Write([]byte("hello world")); errno != 0 || n != 11 {
		t.Fatalf("write: %d %v", n, errno)
	}
	if n, errno := f.Pwrite([]byte("WORLD"), 6); errno != 0 || n != 5 {
		t.Fatalf("pwrite: %d %v", n, errno)
	}
	buf := make([]byte, 5)
	if n, errno := f.Pread(buf, 0); errno != 0 || string(buf[:n]) != "hello" {
		t.Fatalf("pread: %q %v", buf[:n], errno)
	}
	if off, errno := f.Seek(0, io.SeekStart); errno != 0 || off != 0 {
		t.Fatalf("seek: %d %v", off, errno)
	}
	if got := readAll(t, f); got != "hello WORLD" {
		t.Fatalf("read back %q", got)
	}
	if off, errno := f.Seek(-5, io.SeekEnd); errno != 0 || off != 6 {
		t.Fatalf("seek end: %d %v", off, errno)
	}
	if _, errno := f.Seek(0, 7); errno != experimentalsys.EINVAL {
		t.Errorf("seek whence 7: %v", errno)
	}
	if isDir, errno := f.IsDir(); errno != 0 || isDir {
		t.Errorf("IsDir: %v %v", isDir, errno)
	}
	st, errno := f.Stat()
	if errno != 0 || st.Size != 11 || st.Mode.Perm() != 0o640 || !st.Mode.IsRegular() || st.Nlink != 1 {
		t.Errorf("Stat: %+v %v", st, errno)
	}
	if ino, _ := f.Ino(); ino != st.Ino || ino == 0 {
		t.Errorf("Ino %d, stat %d", ino, st.Ino)
	}
	if dev, _ := f.Dev(); dev != st.Dev {
		t.Errorf("Dev %d, stat %d", dev, st.Dev)
	}
	// Append mode, switched on after opening.
	if f.IsAppend() {
		t.Error("IsAppend before SetAppend")
	}
	if errno := f.SetAppend(true); errno != 0 || !f.IsAppend() {
		t.Fatalf("SetAppend: %v", errno)
	}
	f.Seek(0, io.SeekStart)
	f.Write([]byte("!"))
	if errno := f.Truncate(12); errno != 0 {
		t.Errorf("Truncate: %v", errno)
	}
	if errno := f.Sync(); errno != 0 {
		t.Errorf("Sync: %v", errno)
	}
	if errno := f.Datasync(); errno != 0 {
		t.Errorf("Datasync: %v", errno)
	}
	mt := time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC).UnixNano()
	if errno := f.Utimens(experimentalsys.UTIME_OMIT, mt); errno != 0 {
		t.Errorf("file Utimens: %v", errno)
	}
	if st, _ := f.Stat(); st.Mtim != mt {
		t.Errorf("file mtime %d, want %d", st.Mtim, mt)
	}
	if errno := f.Close(); errno != 0 {
		t.Fatal(errno)
	}
	if errno := f.Close(); errno != 0 {
		t.Errorf("second Close: %v", errno)
	}
	if _, errno := f.Read(buf); errno != experimentalsys.EBADF {
		t.Errorf("read after close: %v", errno)
	}
	if b, _ := os.ReadFile(filepath.Join(sb, "sub", "new.txt")); string(b) != "hello WORLD!" {
		t.Errorf("host sees %q", b)
	}

	// O_TRUNC, O_APPEND, O_NOFOLLOW on a plain file.
	f, errno = c.OpenFile("sub/new.txt", experimentalsys.O_WRONLY|experimentalsys.O_APPEND|experimentalsys.O_NOFOLLOW, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	f.Write([]byte("?"))
	f.Close()
	if b, _ := os.ReadFile(filepath.Join(sb, "sub", "new.txt")); string(b) != "hello WORLD!?" {
		t.Errorf("after append host sees %q", b)
	}
	f, errno = c.OpenFile("sub/new.txt", experimentalsys.O_WRONLY|experimentalsys.O_TRUNC, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	f.Close()
	if st, _ := c.Stat("sub/new.txt"); st.Size != 0 {
		t.Errorf("after O_TRUNC size %d", st.Size)
	}

	// Stat, Lstat, Readlink.
	if st, errno := c.Stat("inlink"); errno != 0 || st.Size != int64(len(inside)) || !st.Mode.IsRegular() {
		t.Errorf("Stat(inlink): %+v %v", st, errno)
	}
	if st, errno := c.Lstat("inlink"); errno != 0 || st.Mode&fs.ModeSymlink == 0 {
		t.Errorf("Lstat(inlink): %+v %v", st, errno)
	}
	if st, errno := c.Lstat("rel"); errno != 0 || st.Mode&fs.ModeSymlink == 0 {
		t.Errorf("Lstat(rel) (the link itself, inside): %+v %v", st, errno)
	}
	if got, errno := c.Readlink("rel"); errno != 0 || got != "../outside/secret.txt" {
		t.Errorf("Readlink(rel): %q %v", got, errno)
	}
	for _, root := range []string{"", ".", "/"} {
		if st, errno := c.Stat(root); errno != 0 || !st.Mode.IsDir() {
			t.Errorf("Stat(%q): %+v %v", root, st, errno)
		}
	}

	// Mkdir, Chmod, Utimens by path.
	if errno := c.Mkdir("made", 0o750); errno != 0 {
		t.Fatalf("Mkdir: %v", errno)
	}
	if errno := c.Chmod("made", 0o700); errno != 0 {
		t.Errorf("Chmod: %v", errno)
	}
	if st, _ := c.Stat("made"); !st.Mode.IsDir() || st.Mode.Perm() != 0o700 {
		t.Errorf("made: %v", st.Mode)
	}
	at := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	if errno := c.Utimens("inlink", at, experimentalsys.UTIME_OMIT); errno != 0 {
		t.Errorf("Utimens: %v", errno)
	}
	if st, _ := c.Stat("inside.txt"); st.Atim != at {
		t.Errorf("atime through link %d, want %d", st.Atim, at)
	}

	// Rename, Link, Unlink, Rmdir.
	if errno := c.Rename("inside.txt", "made/moved.txt"); errno != 0 {
		t.Fatalf("Rename: %v", errno)
	}
	if errno := c.Link("made/moved.txt", "hard.txt"); errno != 0 {
		t.Fatalf("Link: %v", errno)
	}
	if st, _ := c.Stat("hard.txt"); st.Nlink != 2 {
		t.Errorf("nlink %d", st.Nlink)
	}
	if errno := c.Rename("emptydir", "made2"); errno != 0 {
		t.Errorf("Rename dir: %v", errno)
	}
	if errno := c.Mkdir("made3", 0o755); errno != 0 {
		t.Fatal(errno)
	}
	if errno := c.Rename("made2", "made3"); errno != 0 {
		t.Errorf("Rename dir onto empty dir (rename(2) allows it): %v", errno)
	}
	if errno := c.Rename("hard.txt", "hard.txt"); errno != 0 {
		t.Errorf("Rename onto itself: %v", errno)
	}
	if errno := c.Unlink("made/moved.txt"); errno != 0 {
		t.Errorf("Unlink: %v", errno)
	}
	if errno := c.Unlink("rel"); errno != 0 {
		t.Errorf("Unlink(rel) removes the link itself: %v", errno)
	}
	if errno := c.Rmdir("made"); errno != 0 {
		t.Errorf("Rmdir: %v", errno)
	}
	if errno := c.Rmdir("made3/"); errno != 0 {
		t.Errorf("Rmdir with slash: %v", errno)
	}
	if b, _ := os.ReadFile(filepath.Join(sb, "hard.txt")); string(b) != inside {
		t.Errorf("hard.txt %q", b)
	}
	outsideUntouched(t, tmp)
}

func TestReaddir(t *testing.T) {
	_, c := fixture(t, false)
	d, errno := c.OpenFile(".", experimentalsys.O_RDONLY|experimentalsys.O_DIRECTORY, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	defer d.Close()
	if isDir, errno := d.IsDir(); errno != 0 || !isDir {
		t.Fatalf("IsDir %v %v", isDir, errno)
	}
	want := []string{"abs", "absdir", "emptydir", "etc", "inlink", "inside.txt", "loop", "rel", "reldir", "sub", "subdir"}
	var got []string
	types := map[string]fs.FileMode{}
	for {
		ents, errno := d.Readdir(3)
		if errno != 0 {
			t.Fatal(errno)
		}
		for _, e := range ents {
			got = append(got, e.Name)
			types[e.Name] = e.Type
			if e.Ino == 0 {
				t.Errorf("%s: no inode", e.Name)
			}
		}
		if len(ents) < 3 {
			break
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("Readdir: %v, want %v", got, want)
	}
	if types["sub"] != fs.ModeDir || types["rel"] != fs.ModeSymlink || types["inside.txt"] != 0 {
		t.Errorf("types: %v", types)
	}
	if ents, errno := d.Readdir(3); errno != 0 || len(ents) != 0 {
		t.Errorf("Readdir at end: %v %v", ents, errno)
	}
	// A rewind sees new entries.
	if f, errno := c.OpenFile("late.txt", experimentalsys.O_CREAT|experimentalsys.O_WRONLY, 0o644); errno == 0 {
		f.Close()
	}
	if _, errno := d.Seek(0, io.SeekStart); errno != 0 {
		t.Fatalf("rewind: %v", errno)
	}
	if _, errno := d.Seek(1, io.SeekStart); errno != experimentalsys.EISDIR {
		t.Errorf("dir seek 1: %v, want EISDIR", errno)
	}
	all, errno := d.Readdir(-1)
	if errno != 0 || len(all) != len(want)+1 {
		t.Errorf("Readdir(-1) after rewind: %d entries, %v", len(all), errno)
	}
	// Readdir on a file is EBADF.
	f, _ := c.OpenFile("inside.txt", experimentalsys.O_RDONLY, 0)
	defer f.Close()
	if _, errno := f.Readdir(1); errno != experimentalsys.EBADF {
		t.Errorf("Readdir on file: %v", errno)
	}
	if _, errno := f.Read(make([]byte, 1)); errno != 0 {
		t.Errorf("read file: %v", errno)
	}
	if _, errno := d.Read(make([]byte, 1)); errno != experimentalsys.EISDIR {
		t.Errorf("read dir: %v", errno)
	}
}

// TestRenameRace swaps a directory for a symlink pointing out while another
// goroutine keeps reading through it: no read may ever reach outside.
func TestRenameRace(t *testing.T) {
	tmp, c := fixture(t, false)
	sb := filepath.Join(tmp, "sandbox")
	if err := os.Mkdir(filepath.Join(sb, "swap"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(sb, "swap", "secret.txt"), []byte("inside\n"), 0o644)
	os.Rename(filepath.Join(sb, "swap"), filepath.Join(sb, "swap-real"))
	os.Symlink("../outside", filepath.Join(sb, "swap-evil"))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			// Alternate swap between the real dir and the evil link.
			syscall.Rename(filepath.Join(sb, "swap-real"), filepath.Join(sb, "swap"))
			syscall.Rename(filepath.Join(sb, "swap"), filepath.Join(sb, "swap-real"))
			syscall.Rename(filepath.Join(sb, "swap-evil"), filepath.Join(sb, "swap"))
			syscall.Rename(filepath.Join(sb, "swap"), filepath.Join(sb, "swap-evil"))
		}
	}()
	okReads := 0
	for range 3000 {
		f, errno := c.OpenFile("swap/secret.txt", experimentalsys.O_RDONLY, 0)
		if errno != 0 {
			continue
		}
		buf := make([]byte, 64)
		n, _ := f.Read(buf)
		f.Close()
		if string(buf[:n]) == secret {
			t.Fatal("read outside/secret.txt through a racing symlink")
		}
		okReads++
	}
	close(stop)
	wg.Wait()
	t.Logf("%d reads inside, none outside", okReads)
}
