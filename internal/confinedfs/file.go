//go:build linux

package confinedfs

import (
	"encoding/binary"
	"io"
	"io/fs"
	"os"
	"syscall"
	"unsafe"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/sys"
	"golang.org/x/sys/unix"
)

// file is a sys.File (and sys.PollableFile) on an *os.File opened through
// the root. It mirrors wazero's internal/sysfs osFile, except that nothing
// is ever reopened by path: SetAppend changes O_APPEND with fcntl, a
// directory is rewound with lseek, and Readdir reads the descriptor with
// getdents64, so no operation on an open file resolves a host path.
type file struct {
	seeker[int64] // Seek

	file     *os.File
	fd       uintptr
	flag     experimentalsys.Oflag
	readOnly bool
	closed   bool

	cachedSt *cachedStat

	// Directory reading state: getdents64 output not yet returned.
	dirBuf       []byte
	dirOff, dirN int
}

type cachedStat struct {
	dev   uint64
	ino   sys.Inode
	isDir bool
}

var _ experimentalsys.PollableFile = (*file)(nil)

func newFile(f *os.File, flag experimentalsys.Oflag, readOnly bool) *file {
	fd := f.Fd() // as wazero's osFile; this puts the descriptor in blocking mode
	if flag&experimentalsys.O_NONBLOCK != 0 {
		_ = syscall.SetNonblock(int(fd), true)
	}
	cf := &file{file: f, fd: fd, flag: flag, readOnly: readOnly}
	cf.seeker.f = cf
	return cf
}

// seeker supplies file's Seek. Its offset type is a type parameter only so
// that go vet's stdmethods check, which wants every method named Seek to
// have io.Seeker's signature, leaves wazero's Seek(int64, int) (int64,
// Errno) alone; file embeds seeker[int64].
type seeker[O ~int64] struct{ f *file }

// Seek implements sys.File.Seek.
func (s seeker[O]) Seek(offset O, whence int) (O, experimentalsys.Errno) {
	n, errno := s.f.seek(int64(offset), whence)
	return O(n), errno
}

func (f *file) cachedStat() (uint64, sys.Inode, bool, experimentalsys.Errno) {
	if f.cachedSt == nil {
		if _, errno := f.Stat(); errno != 0 {
			return 0, 0, false, errno
		}
	}
	return f.cachedSt.dev, f.cachedSt.ino, f.cachedSt.isDir, 0
}

// Dev implements sys.File.Dev.
func (f *file) Dev() (uint64, experimentalsys.Errno) {
	dev, _, _, errno := f.cachedStat()
	return dev, errno
}

// Ino implements sys.File.Ino.
func (f *file) Ino() (sys.Inode, experimentalsys.Errno) {
	_, ino, _, errno := f.cachedStat()
	return ino, errno
}

// IsDir implements sys.File.IsDir.
func (f *file) IsDir() (bool, experimentalsys.Errno) {
	_, _, isDir, errno := f.cachedStat()
	return isDir, errno
}

// IsAppend implements sys.File.IsAppend.
func (f *file) IsAppend() bool { return f.flag&experimentalsys.O_APPEND != 0 }

// SetAppend implements sys.File.SetAppend with fcntl(F_SETFL).
func (f *file) SetAppend(enable bool) experimentalsys.Errno {
	if f.closed {
		return experimentalsys.EBADF
	}
	fl, err := unix.FcntlInt(f.fd, unix.F_GETFL, 0)
	if err != nil {
		return f.fileError(experimentalsys.UnwrapOSError(err))
	}
	if enable {
		fl |= unix.O_APPEND
	} else {
		fl &^= unix.O_APPEND
	}
	if _, err := unix.FcntlInt(f.fd, unix.F_SETFL, fl); err != nil {
		return f.fileError(experimentalsys.UnwrapOSError(err))
	}
	if enable {
		f.flag |= experimentalsys.O_APPEND
	} else {
		f.flag &^= experimentalsys.O_APPEND
	}
	return 0
}

// IsNonblock implements sys.PollableFile.IsNonblock.
func (f *file) IsNonblock() bool { return f.flag&experimentalsys.O_NONBLOCK != 0 }

// SetNonblock implements sys.PollableFile.SetNonblock.
func (f *file) SetNonblock(enable bool) experimentalsys.Errno {
	if f.closed {
		return experimentalsys.EBADF
	}
	if enable {
		f.flag |= experimentalsys.O_NONBLOCK
	} else {
		f.flag &^= experimentalsys.O_NONBLOCK
	}
	if err := syscall.SetNonblock(int(f.fd), enable); err != nil {
		return f.fileError(experimentalsys.UnwrapOSError(err))
	}
	return 0
}

// Poll implements sys.Pollable.Poll (read readiness only, as wazero's).
func (f *file) Poll(flag experimentalsys.Pflag, timeoutMillis int32) (bool, experimentalsys.Errno) {
	if flag != experimentalsys.POLLIN {
		return false, experimentalsys.ENOTSUP
	}
	if f.closed {
		return false, experimentalsys.EBADF
	}
	fds := []unix.PollFd{{Fd: int32(f.fd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, int(timeoutMillis))
	if err != nil {
		return false, experimentalsys.UnwrapOSError(err)
	}
	return n > 0, 0
}

// Stat implements sys.File.Stat.
func (f *file) Stat() (sys.Stat_t, experimentalsys.Errno) {
	if f.closed {
		return sys.Stat_t{}, experimentalsys.EBADF
	}
	fi, err := f.file.Stat()
	if err != nil {
		errno := experimentalsys.UnwrapOSError(err)
		if errno == experimentalsys.EIO {
			errno = experimentalsys.EBADF
		}
		return sys.Stat_t{}, errno
	}
	st := sys.NewStat_t(fi)
	f.cachedSt = &cachedStat{dev: st.Dev, ino: st.Ino, isDir: st.Mode.IsDir()}
	return st, 0
}

// Read implements sys.File.Read.
func (f *file) Read(buf []byte) (n int, errno experimentalsys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	if f.closed {
		return 0, experimentalsys.EBADF
	}
	if f.IsNonblock() {
		n, err := syscall.Read(int(f.fd), buf)
		if err != nil {
			return 0, f.fileError(experimentalsys.UnwrapOSError(err))
		}
		return n, 0
	}
	n, err := f.file.Read(buf)
	if errno = experimentalsys.UnwrapOSError(err); errno != 0 {
		errno = f.fileError(errno)
	}
	return n, errno
}

// Pread implements sys.File.Pread.
func (f *file) Pread(buf []byte, off int64) (n int, errno experimentalsys.Errno) {
	if len(buf) == 0 {
		return 0, 0
	}
	n, err := f.file.ReadAt(buf, off)
	if errno = experimentalsys.UnwrapOSError(err); errno != 0 {
		errno = f.fileError(errno)
	}
	return n, errno
}

// seek is sys.File.Seek. On a directory only a rewind (0, io.SeekStart) is
// allowed, as in wazero's osFile.
func (f *file) seek(offset int64, whence int) (int64, experimentalsys.Errno) {
	if uint(whence) > io.SeekEnd {
		return 0, experimentalsys.EINVAL
	}
	if f.closed {
		return 0, experimentalsys.EBADF
	}
	isDir, errno := f.IsDir()
	if errno != 0 {
		return 0, errno
	}
	if isDir {
		if offset != 0 || whence != io.SeekStart {
			return 0, experimentalsys.EISDIR
		}
		if _, err := unix.Seek(int(f.fd), 0, io.SeekStart); err != nil {
			return 0, experimentalsys.UnwrapOSError(err)
		}
		f.dirOff, f.dirN = 0, 0
		return 0, 0
	}
	n, err := f.file.Seek(offset, whence)
	if errno := experimentalsys.UnwrapOSError(err); errno != 0 {
		return 0, f.fileError(errno)
	}
	return n, 0
}

// Readdir implements sys.File.Readdir: up to n entries (all when n <= 0),
// fewer only at the end, without "." and "..", which wazero adds.
func (f *file) Readdir(n int) ([]experimentalsys.Dirent, experimentalsys.Errno) {
	if f.closed {
		return nil, experimentalsys.EBADF
	}
	if isDir, errno := f.IsDir(); errno != 0 {
		return nil, errno
	} else if !isDir {
		return nil, experimentalsys.EBADF // as wazero's adjustReaddirErr
	}
	if f.dirBuf == nil {
		f.dirBuf = make([]byte, 8192)
	}
	var out []experimentalsys.Dirent
	for n <= 0 || len(out) < n {
		if f.dirOff >= f.dirN {
			var nr int
			err := ignoringEINTR(func() (err error) {
				nr, err = unix.Getdents(int(f.fd), f.dirBuf)
				return err
			})
			if err != nil {
				errno := experimentalsys.UnwrapOSError(err)
				if errno == experimentalsys.EINVAL || errno == experimentalsys.ENOTDIR {
					errno = experimentalsys.EBADF
				}
				return nil, errno
			}
			if nr <= 0 {
				break // end of directory
			}
			f.dirOff, f.dirN = 0, nr
		}
		d, ok := f.nextDirent()
		if !ok {
			return nil, experimentalsys.EIO
		}
		if d.Name == "." || d.Name == ".." {
			continue
		}
		out = append(out, d)
	}
	if out == nil {
		out = []experimentalsys.Dirent{}
	}
	return out, 0
}

// nextDirent parses the linux_dirent64 at dirOff:
// u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type, char d_name[].
func (f *file) nextDirent() (experimentalsys.Dirent, bool) {
	b := f.dirBuf[f.dirOff:f.dirN]
	const hdr = 19
	if len(b) < hdr {
		return experimentalsys.Dirent{}, false
	}
	ino := binary.NativeEndian.Uint64(b[0:8])
	reclen := int(binary.NativeEndian.Uint16(b[16:18]))
	typ := b[18]
	if reclen < hdr || reclen > len(b) {
		return experimentalsys.Dirent{}, false
	}
	name := b[hdr:reclen]
	for i, c := range name {
		if c == 0 {
			name = name[:i]
			break
		}
	}
	f.dirOff += reclen
	d := experimentalsys.Dirent{Name: string(name), Ino: ino}
	switch typ {
	case unix.DT_DIR:
		d.Type = fs.ModeDir
	case unix.DT_LNK:
		d.Type = fs.ModeSymlink
	case unix.DT_REG:
		d.Type = 0
	case unix.DT_FIFO:
		d.Type = fs.ModeNamedPipe
	case unix.DT_SOCK:
		d.Type = fs.ModeSocket
	case unix.DT_CHR:
		d.Type = fs.ModeDevice | fs.ModeCharDevice
	case unix.DT_BLK:
		d.Type = fs.ModeDevice
	default: // DT_UNKNOWN: ask the directory itself, never a host path
		var st unix.Stat_t
		if err := unix.Fstatat(int(f.fd), d.Name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
			d.Type = modeType(st.Mode)
		} else {
			d.Type = fs.ModeIrregular
		}
	}
	return d, true
}

func modeType(m uint32) fs.FileMode {
	switch m & unix.S_IFMT {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	case unix.S_IFREG:
		return 0
	}
	return fs.ModeIrregular
}

// Write implements sys.File.Write.
func (f *file) Write(buf []byte) (int, experimentalsys.Errno) {
	if f.readOnly {
		return 0, f.readOnlyErr()
	}
	if len(buf) == 0 {
		return 0, 0
	}
	if f.closed {
		return 0, experimentalsys.EBADF
	}
	if f.IsNonblock() {
		n, err := syscall.Write(int(f.fd), buf)
		if err != nil {
			return 0, f.fileError(experimentalsys.UnwrapOSError(err))
		}
		return n, 0
	}
	n, err := f.file.Write(buf)
	if errno := experimentalsys.UnwrapOSError(err); errno != 0 {
		return n, f.fileError(errno)
	}
	return n, 0
}

// Pwrite implements sys.File.Pwrite with pwrite(2) (os.File.WriteAt
// refuses files opened with O_APPEND; Linux then appends, as it does).
func (f *file) Pwrite(buf []byte, off int64) (int, experimentalsys.Errno) {
	if f.readOnly {
		return 0, f.readOnlyErr()
	}
	if len(buf) == 0 {
		return 0, 0
	}
	if f.closed {
		return 0, experimentalsys.EBADF
	}
	if off < 0 {
		return 0, experimentalsys.EINVAL
	}
	var n int
	err := ignoringEINTR(func() (err error) {
		n, err = syscall.Pwrite(int(f.fd), buf, off)
		return err
	})
	if err != nil {
		return 0, f.fileError(experimentalsys.UnwrapOSError(err))
	}
	return n, 0
}

// Truncate implements sys.File.Truncate.
func (f *file) Truncate(size int64) experimentalsys.Errno {
	if f.readOnly {
		return f.readOnlyErr()
	}
	if size < 0 {
		return experimentalsys.EINVAL
	}
	if errno := experimentalsys.UnwrapOSError(f.file.Truncate(size)); errno != 0 {
		return f.fileError(errno)
	}
	return 0
}

// Sync implements sys.File.Sync.
func (f *file) Sync() experimentalsys.Errno {
	if f.readOnly {
		return experimentalsys.EBADF
	}
	return experimentalsys.UnwrapOSError(f.file.Sync())
}

// Datasync implements sys.File.Datasync.
func (f *file) Datasync() experimentalsys.Errno {
	if f.readOnly {
		return experimentalsys.EBADF
	}
	if f.closed {
		return experimentalsys.EBADF
	}
	return experimentalsys.UnwrapOSError(unix.Fdatasync(int(f.fd)))
}

// Utimens implements sys.File.Utimens with utimensat(fd, NULL, ...), as
// wazero's futimens.
func (f *file) Utimens(atim, mtim int64) experimentalsys.Errno {
	if f.readOnly || f.closed {
		return experimentalsys.EBADF
	}
	if atim == experimentalsys.UTIME_OMIT && mtim == experimentalsys.UTIME_OMIT {
		return 0
	}
	times := [2]syscall.Timespec{timespec(atim), timespec(mtim)}
	_, _, e := syscall.Syscall6(syscall.SYS_UTIMENSAT, f.fd, 0, uintptr(unsafe.Pointer(&times)), 0, 0, 0)
	if e != 0 {
		return experimentalsys.UnwrapOSError(e)
	}
	return 0
}

func timespec(n int64) syscall.Timespec {
	if n == experimentalsys.UTIME_OMIT {
		return syscall.Timespec{Nsec: unix.UTIME_OMIT}
	}
	return syscall.NsecToTimespec(n)
}

// Close implements sys.File.Close; closing twice is not an error.
func (f *file) Close() experimentalsys.Errno {
	if f.closed {
		return 0
	}
	f.closed = true
	return experimentalsys.UnwrapOSError(f.file.Close())
}

// fileError is wazero's fileError: EBADF when closed, EISDIR on a
// directory, else errno.
func (f *file) fileError(errno experimentalsys.Errno) experimentalsys.Errno {
	if f.closed {
		return experimentalsys.EBADF
	}
	if isDir, e := f.IsDir(); e != 0 {
		return e
	} else if isDir {
		return experimentalsys.EISDIR
	}
	return errno
}

// readOnlyErr is wazero's readFile.writeErr.
func (f *file) readOnlyErr() experimentalsys.Errno {
	if f.closed {
		return experimentalsys.EBADF
	}
	if isDir, errno := f.IsDir(); errno != 0 {
		return errno
	} else if isDir {
		return experimentalsys.EISDIR
	}
	return experimentalsys.EBADF
}
