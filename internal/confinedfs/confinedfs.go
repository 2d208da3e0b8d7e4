//go:build linux

// Package confinedfs is a wazero file system (experimental sys.FS) that
// confines every path operation to one host directory, whatever symlinks
// the host planted or the guest made. It replaces wazero's directory mounts
// (wazero.FSConfig.WithDirMount, WithReadOnlyDirMount), which join the guest
// path to the host directory and let the kernel follow symlinks out of it
// (https://github.com/tetratelabs/wazero/issues/2321, #2328).
//
// # How paths are resolved
//
// New opens an *os.Root on the host directory, and every path is resolved
// through it, never through a joined host path. os.Root (Go 1.26, Linux)
// walks the path one component at a time with openat(O_NOFOLLOW); when a
// component is a symlink it reads the link and splices its target into the
// path, so:
//
//   - a symlink is followed only while the result stays inside the root;
//     a relative target that climbs out (rel -> ../outside) fails with
//     "path escapes from parent", as intermediate or final component, and
//     with a trailing slash;
//   - an absolute symlink target (abs -> /etc) is never followed and is
//     never resolved relative to the root either: it is an escape ("symbolic
//     links must not be absolute", go doc os.Root);
//   - ".." is resolved lexically against the components already walked,
//     and a ".." that would climb above the root is an escape, also when the
//     path comes back in (../sandbox/x);
//   - every path is relative to the root, as sys.FS has it: "", "." and "/"
//     name the root itself and leading slashes are dropped ("/etc/passwd" is
//     the root's etc/passwd), as in wazero's own DirFS. wazero itself passes
//     such paths: under a directory fd the guest opened as "." of a preopen
//     it joins "" + "/" + the guest's path. A host path is never resolved on
//     the host;
//   - more than 8 symlinks in one resolution fail with ELOOP.
//
// Operations that must not follow the final component (O_NOFOLLOW opens,
// Rmdir, Unlink, Rename, Link) resolve the parent directory through the root
// and then call the *at system call on the last component alone, so the
// kernel never sees more than one path component. Chmod and Utimens use
// os.Root.Chmod and Chtimes, which check the final component for a symlink
// first: a concurrent swap can make them act on the link itself, but never
// on anything outside the root (documented in go doc os.Root).
//
// os.Root does not stop at mount points or bind mounts inside the
// directory: a file system the host mounts inside it is granted.
//
// # Only regular files and directories are opened
//
// OpenFile opens regular files and directories (and, through them,
// confined symlinks) only. A device node, FIFO or socket is refused with
// EPERM before it is opened, unless it is a device node that
// Options.Devices grants by type, major and minor (OCI linux.devices). An
// image layer or a bind can hold device nodes (containerd makes them when it
// unpacks a layer, as root); opening one would hand the guest the host's
// device (a loop device's backing file, /dev/kmsg), and opening a FIFO blocks
// the caller in the kernel, where no kill reaches it.
//
// The target is first looked at without being opened (stat through the
// root, or fstatat of the last component for O_NOFOLLOW); then it is opened
// with O_NONBLOCK and O_NOCTTY added and the opened descriptor is checked
// again with fstat, so a file swapped for a device or FIFO between the two
// is closed unused (that swap can make the open itself happen, never a
// read, write or ioctl). O_NONBLOCK is cleared again unless the guest asked
// for it.
//
// # Errnos
//
// Every escape is EPERM, the preview-1 answer for a sandbox violation
// (wazero maps it to ERRNO_PERM). Everything else is the kernel's errno as
// wazero maps it (ELOOP stays ELOOP, ENOENT stays ENOENT, ...), with the
// adjustments wazero's DirFS and osFile make: Mkdir turns ENOTDIR into
// ENOENT, Unlink turns EPERM into EISDIR, Readdir on a file is EBADF.
//
// A read-only FS (New(dir, true)) refuses with EROFS every mutating FS
// operation and every OpenFile that asks for write access, O_CREAT, O_APPEND
// with write access, or O_TRUNC, including O_TRUNC with O_RDONLY (wazero's
// ReadFS lets that one through and truncates). Files it opens refuse
// Write, Pwrite, Truncate (EBADF, or EISDIR on a directory), Sync,
// Datasync and Utimens (EBADF), as wazero's ReadFS files do.
//
// # Symlink targets
//
// Symlink stores a relative target verbatim, wherever it points: preview 1
// lets a guest create a link that points out, and the confinement is in
// following it, which fails with EPERM. An absolute target is refused with
// EPERM, as wazero's DirFS does and as wasi-filesystem's path-resolution.md
// asks ("creating a symlink with an absolute path is not permitted"); such a
// link could never be followed through the FS anyway, and not storing it
// keeps a host-side tool that later walks the directory from following it.
//
// Readlink returns a relative target as stored and refuses an absolute one
// (a link the host planted) with EPERM, as wasmtime does (cap-std's
// read_link: an absolute target is an escape attempt): the guest cannot
// follow it, and its text would hand the guest the host's directory layout
// (a home directory, a user name, a deployment path). wasicert reads that
// as a leak (RATIONALE.md, Symlinks; WASI's wasi-filesystem issue 10).
//
// # Lifetime
//
// The FS holds one directory descriptor. Close it with Close when the
// guest is done; an FS that is dropped without Close has its descriptor
// closed by os.Root's finalizer.
package confinedfs

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
	"golang.org/x/sys/unix"
)

// FS is the confined file system. Its methods are safe for concurrent use.
type FS struct {
	experimentalsys.UnimplementedFS

	root     *os.Root
	hostDir  string
	readOnly bool
	devices  []Device
}

var _ experimentalsys.FS = (*FS)(nil)

// Device is one device node the guest may open: an entry of the OCI spec's
// linux.devices
// (https://github.com/opencontainers/runtime-spec/blob/main/config-linux.md#devices).
type Device struct {
	// Block is true for a block device ("b"), false for a character
	// device ("c" or "u").
	Block        bool
	Major, Minor uint32
	// FIFO grants FIFOs ("p"): a FIFO has no device number, so the grant
	// covers every FIFO the FS reaches, and they are opened blocking.
	FIFO bool
}

// Options configure an FS.
type Options struct {
	// ReadOnly refuses every mutation with EROFS.
	ReadOnly bool
	// Devices are the device nodes OpenFile opens; every other device
	// node, and every FIFO and socket, is refused with EPERM.
	Devices []Device
}

// New returns a sys.FS confined to hostDir, which must be a directory.
// When readOnly is true every mutation is refused with EROFS. No device
// node, FIFO or socket is opened.
func New(hostDir string, readOnly bool) (experimentalsys.FS, error) {
	return Open(hostDir, readOnly)
}

// Open is New returning the concrete type, whose Close releases the root.
func Open(hostDir string, readOnly bool) (*FS, error) {
	return OpenOptions(hostDir, Options{ReadOnly: readOnly})
}

// OpenOptions is Open with Options.
func OpenOptions(hostDir string, o Options) (*FS, error) {
	root, err := os.OpenRoot(hostDir)
	if err != nil {
		return nil, err
	}
	return &FS{root: root, hostDir: hostDir, readOnly: o.ReadOnly, devices: o.Devices}, nil
}

// String is the host directory, as wazero's DirFS reports it.
func (c *FS) String() string { return c.hostDir }

// ReadOnly reports whether the FS refuses mutations.
func (c *FS) ReadOnly() bool { return c.readOnly }

// Close releases the root directory. Files already open stay usable; path
// operations afterwards fail with EBADF.
func (c *FS) Close() error { return c.root.Close() }

// OpenFile implements sys.FS.OpenFile.
func (c *FS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	if c.readOnly && writes(flag) {
		return nil, experimentalsys.EROFS
	}
	name := rel(p)
	// O_NONBLOCK: a FIFO swapped in after the type check does not block
	// the open; newFile restores blocking mode unless the guest asked.
	osflag := toOsOpenFlag(flag) | syscall.O_NONBLOCK | syscall.O_NOCTTY
	perm = perm.Perm() // os.Root refuses setuid, setgid and sticky bits

	var f *os.File
	var errno experimentalsys.Errno
	if flag&experimentalsys.O_NOFOLLOW != 0 && !strings.HasSuffix(name, "/") {
		f, errno = c.openNoFollow(name, osflag, perm)
	} else {
		// Look before opening: a device or FIFO is never opened.
		if fi, err := c.root.Stat(name); err == nil {
			if errno := c.allowed(fi.Sys().(*syscall.Stat_t)); errno != 0 {
				return nil, errno
			}
			if fi.Mode()&fs.ModeNamedPipe != 0 && flag&experimentalsys.O_NONBLOCK == 0 {
				// A granted FIFO opens as the guest asked: blocking
				// until a peer opens it, as in a Linux container.
				osflag &^= syscall.O_NONBLOCK
			}
		}
		var err error
		f, err = c.root.OpenFile(name, osflag&^syscall.O_NOFOLLOW, perm)
		errno = toErrno(err)
	}
	if errno != 0 {
		return nil, errno
	}
	// Check what was opened, not the path: it may have been swapped.
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, toErrno(err)
	}
	if errno := c.allowed(&syscall.Stat_t{Mode: st.Mode, Rdev: st.Rdev}); errno != 0 {
		f.Close()
		return nil, errno
	}
	if flag&experimentalsys.O_NONBLOCK == 0 {
		_ = syscall.SetNonblock(int(f.Fd()), false)
	}
	return newFile(f, flag, c.readOnly), 0
}

// allowed reports whether a file of st's type may be opened: regular files
// and directories, and the device nodes Options.Devices grants.
func (c *FS) allowed(st *syscall.Stat_t) experimentalsys.Errno {
	if weakenedAnyFileType {
		return 0
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG, syscall.S_IFDIR:
		return 0
	case syscall.S_IFIFO:
		if slices.ContainsFunc(c.devices, func(d Device) bool { return d.FIFO }) {
			return 0
		}
	case syscall.S_IFCHR, syscall.S_IFBLK:
		block := st.Mode&syscall.S_IFMT == syscall.S_IFBLK
		for _, d := range c.devices {
			if d.Block == block && d.Major == unix.Major(st.Rdev) && d.Minor == unix.Minor(st.Rdev) {
				return 0
			}
		}
	}
	return experimentalsys.EPERM
}

// openNoFollow opens name without following its last component: the parent
// is resolved through the root, the last component by openat(O_NOFOLLOW).
func (c *FS) openNoFollow(name string, osflag int, perm fs.FileMode) (*os.File, experimentalsys.Errno) {
	dir, base, errno := split(name)
	if errno != 0 {
		return nil, errno
	}
	if base == "." { // the root itself: no link to follow
		f, err := c.root.OpenFile(".", osflag&^syscall.O_NOFOLLOW, perm)
		return f, toErrno(err)
	}
	parent, errno := c.openDir(dir)
	if errno != 0 {
		return nil, errno
	}
	defer parent.Close()
	var st unix.Stat_t
	if err := unix.Fstatat(int(parent.Fd()), base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&syscall.S_IFMT != syscall.S_IFLNK {
		if errno := c.allowed(&syscall.Stat_t{Mode: st.Mode, Rdev: st.Rdev}); errno != 0 {
			return nil, errno
		}
	}
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Openat(int(parent.Fd()), base, osflag|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, uint32(perm))
		return err
	})
	if err != nil {
		return nil, toErrno(err)
	}
	return os.NewFile(uintptr(fd), path.Join(c.hostDir, dir, base)), 0
}

// Lstat implements sys.FS.Lstat.
func (c *FS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) {
	fi, err := c.root.Lstat(rel(p))
	if err != nil {
		return sys.Stat_t{}, toErrno(err)
	}
	return sys.NewStat_t(fi), 0
}

// Stat implements sys.FS.Stat.
func (c *FS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	fi, err := c.root.Stat(rel(p))
	if err != nil {
		return sys.Stat_t{}, toErrno(err)
	}
	return sys.NewStat_t(fi), 0
}

// Readlink implements sys.FS.Readlink. A relative target is returned as
// stored, wherever it points (reading it follows nothing); an absolute
// target is refused with EPERM (see the package documentation).
func (c *FS) Readlink(p string) (string, experimentalsys.Errno) {
	dst, err := c.root.Readlink(rel(p))
	if err != nil {
		return "", toErrno(err)
	}
	if path.IsAbs(dst) {
		return "", experimentalsys.EPERM
	}
	return dst, 0
}

// Mkdir implements sys.FS.Mkdir.
func (c *FS) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	if c.readOnly {
		return experimentalsys.EROFS
	}
	errno := toErrno(c.root.Mkdir(rel(p), perm.Perm()))
	if errno == experimentalsys.ENOTDIR { // as wazero's DirFS
		errno = experimentalsys.ENOENT
	}
	return errno
}

// Chmod implements sys.FS.Chmod.
func (c *FS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	if c.readOnly {
		return experimentalsys.EROFS
	}
	return toErrno(c.root.Chmod(rel(p), perm))
}

// Rename implements sys.FS.Rename with rename(2) semantics (a directory may
// replace an empty directory), neither name's last component followed.
func (c *FS) Rename(from, to string) experimentalsys.Errno {
	if c.readOnly {
		return experimentalsys.EROFS
	}
	if from == to { // as wazero's DirFS
		return 0
	}
	return c.at2(from, to, func(oldfd int, oldbase string, newfd int, newbase string) error {
		return unix.Renameat(oldfd, oldbase, newfd, newbase)
	})
}

// Link implements sys.FS.Link: a hard link to oldPath itself (a symlink is
// linked, not followed), as link(2).
func (c *FS) Link(oldPath, newPath string) experimentalsys.Errno {
	if c.readOnly {
		return experimentalsys.EROFS
	}
	return c.at2(oldPath, newPath, func(oldfd int, oldbase string, newfd int, newbase string) error {
		return unix.Linkat(oldfd, oldbase, newfd, newbase, 0)
	})
}

// Rmdir implements sys.FS.Rmdir.
func (c *FS) Rmdir(p string) experimentalsys.Errno {
	if c.readOnly {
		return experimentalsys.EROFS
	}
	return c.at(p, func(fd int, base string) error {
		return unix.Unlinkat(fd, base, unix.AT_REMOVEDIR)
	})
}

// Unlink implements sys.FS.Unlink.
func (c *FS) Unlink(p string) experimentalsys.Errno {
	if c.readOnly {
		return experimentalsys.EROFS
	}
	errno := c.at(p, func(fd int, base string) error {
		return unix.Unlinkat(fd, base, 0)
	})
	if errno == experimentalsys.EPERM && isDirAt(c, p) { // as wazero's DirFS, without turning escapes into EISDIR
		errno = experimentalsys.EISDIR
	}
	return errno
}

// Symlink implements sys.FS.Symlink: linkName is created inside the root;
// a relative oldPath is stored verbatim, an absolute one is refused with
// EPERM (see the package documentation).
func (c *FS) Symlink(oldPath, linkName string) experimentalsys.Errno {
	if c.readOnly {
		return experimentalsys.EROFS
	}
	if path.IsAbs(oldPath) {
		return experimentalsys.EPERM
	}
	return c.at(linkName, func(fd int, base string) error {
		return unix.Symlinkat(oldPath, fd, base)
	})
}

// Utimens implements sys.FS.Utimens, following a final symlink inside the
// root. UTIME_OMIT leaves a time unchanged.
func (c *FS) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	if c.readOnly {
		return experimentalsys.EROFS
	}
	name := rel(p)
	if atim == experimentalsys.UTIME_OMIT && mtim == experimentalsys.UTIME_OMIT {
		return 0 // as wazero's DirFS
	}
	return toErrno(c.root.Chtimes(name, nanosToTime(atim), nanosToTime(mtim)))
}

// nanosToTime converts epoch nanoseconds, the zero time (which os.Root
// passes as UTIME_OMIT) for UTIME_OMIT.
func nanosToTime(n int64) time.Time {
	if n == experimentalsys.UTIME_OMIT {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// parentOf opens p's parent directory through the root and returns it with
// p's last component (keeping p's trailing slash, if any).
func (c *FS) parentOf(p string) (*os.File, string, experimentalsys.Errno) {
	dir, base, errno := split(rel(p))
	if errno != 0 {
		return nil, "", errno
	}
	parent, errno := c.openDir(dir)
	if errno != 0 {
		return nil, "", errno
	}
	return parent, base, 0
}

// at calls op on p's parent's descriptor and p's last component.
func (c *FS) at(p string, op func(dirfd int, base string) error) experimentalsys.Errno {
	parent, base, errno := c.parentOf(p)
	if errno != 0 {
		return errno
	}
	defer parent.Close()
	return toErrno(ignoringEINTR(func() error { return op(int(parent.Fd()), base) }))
}

// at2 is at for the two-path operations.
func (c *FS) at2(p1, p2 string, op func(fd1 int, base1 string, fd2 int, base2 string) error) experimentalsys.Errno {
	parent1, base1, errno := c.parentOf(p1)
	if errno != 0 {
		return errno
	}
	defer parent1.Close()
	parent2, base2, errno := c.parentOf(p2)
	if errno != 0 {
		return errno
	}
	defer parent2.Close()
	return toErrno(ignoringEINTR(func() error { return op(int(parent1.Fd()), base1, int(parent2.Fd()), base2) }))
}

// openDir opens dir, resolved through the root, as a directory.
func (c *FS) openDir(dir string) (*os.File, experimentalsys.Errno) {
	f, err := c.root.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return nil, toErrno(err)
	}
	return f, 0
}

// isDirAt reports whether p names a directory (not following a final
// symlink), for Unlink's EPERM-to-EISDIR adjustment.
func isDirAt(c *FS, p string) bool {
	fi, err := c.root.Lstat(strings.TrimRight(rel(p), "/"))
	return err == nil && fi.IsDir()
}

// rel returns p as a name relative to the root. Every path is relative to
// the FS (sys.FS.OpenFile): "", "." and "/" are the root itself, and leading
// slashes are dropped, so "/x" is the root's x, as wazero's DirFS joins it.
// wazero passes such paths itself: under a directory fd it opened as "."
// (path_open(preopen, ".")) it names "x" as "" + "/" + "x"
// (imports/wasi_snapshot_preview1 atPath). A host path is therefore never
// resolved on the host: "/etc/passwd" is the root's etc/passwd.
func rel(p string) string {
	if p == "" || p == "." || strings.Trim(p, "/") == "" {
		return "."
	}
	return strings.TrimLeft(p, "/")
}

// split splits a relative name into the directory holding its last
// component and that component, keeping a trailing slash on the component.
// ".." is resolved lexically, as os.Root resolves it; a name that climbs
// above the root is an escape.
func split(name string) (dir, base string, errno experimentalsys.Errno) {
	slash := strings.HasSuffix(name, "/")
	clean := path.Clean(name)
	if clean == ".." || strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
		return "", "", experimentalsys.EPERM
	}
	if clean == "." {
		return ".", ".", 0
	}
	dir, base = path.Split(clean)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "."
	}
	if slash {
		base += "/"
	}
	return dir, base, 0
}

// writes reports whether flag asks for anything a read-only FS refuses.
func writes(flag experimentalsys.Oflag) bool {
	if flag&(experimentalsys.O_RDWR|experimentalsys.O_WRONLY) != 0 {
		return true
	}
	return flag&(experimentalsys.O_CREAT|experimentalsys.O_TRUNC) != 0
}

// toOsOpenFlag converts wazero's flags to open(2)'s, as wazero's
// internal/sysfs toOsOpenFlag and withSyscallOflag do on Linux.
func toOsOpenFlag(oflag experimentalsys.Oflag) (flag int) {
	switch oflag & (experimentalsys.O_RDONLY | experimentalsys.O_RDWR | experimentalsys.O_WRONLY) {
	case experimentalsys.O_RDWR:
		flag |= os.O_RDWR
	case experimentalsys.O_WRONLY:
		flag |= os.O_WRONLY
	default:
		flag |= os.O_RDONLY
	}
	for _, m := range []struct {
		w experimentalsys.Oflag
		o int
	}{
		{experimentalsys.O_APPEND, os.O_APPEND},
		{experimentalsys.O_CREAT, os.O_CREATE},
		{experimentalsys.O_EXCL, os.O_EXCL},
		{experimentalsys.O_SYNC, os.O_SYNC},
		{experimentalsys.O_TRUNC, os.O_TRUNC},
		{experimentalsys.O_DIRECTORY, syscall.O_DIRECTORY},
		{experimentalsys.O_DSYNC, syscall.O_DSYNC},
		{experimentalsys.O_NOFOLLOW, syscall.O_NOFOLLOW},
		{experimentalsys.O_NONBLOCK, syscall.O_NONBLOCK},
		{experimentalsys.O_RSYNC, syscall.O_RSYNC},
	} {
		if oflag&m.w != 0 {
			flag |= m.o
		}
	}
	return flag
}

// escapeText is the text of os's unexported errPathEscapes, which os.Root
// returns (wrapped in *PathError or *LinkError) for every escape.
const escapeText = "path escapes from parent"

// toErrno maps an error from os.Root or an *at system call to wazero's
// errno: escapes are EPERM, the rest as wazero's UnwrapOSError maps them.
func toErrno(err error) experimentalsys.Errno {
	if err == nil {
		return 0
	}
	inner := err
	for {
		switch e := inner.(type) {
		case *os.PathError:
			inner = e.Err
			continue
		case *os.LinkError:
			inner = e.Err
			continue
		case *os.SyscallError:
			inner = e.Err
			continue
		}
		break
	}
	if inner == nil {
		return experimentalsys.EIO
	}
	if inner.Error() == escapeText {
		return experimentalsys.EPERM
	}
	var errno syscall.Errno
	if errors.As(inner, &errno) {
		return experimentalsys.UnwrapOSError(errno)
	}
	switch {
	case errors.Is(inner, os.ErrClosed):
		return experimentalsys.EBADF
	case inner.Error() == "empty path": // os.Root's splitPathInRoot; open("") is ENOENT
		return experimentalsys.ENOENT
	case inner.Error() == "unsupported file mode":
		return experimentalsys.EINVAL
	}
	return experimentalsys.UnwrapOSError(inner)
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != syscall.EINTR {
			return err
		}
	}
}
