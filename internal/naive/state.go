package naive

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero/api"

	"github.com/wasicert/wasicert/internal/capture"
	"github.com/wasicert/wasicert/runners"
)

// errno is a WASI preview-1 errno.
type errno = uint32

// The WASI errnos this package returns (typenames.witx order).
const (
	errSuccess     errno = 0
	err2big        errno = 1
	errAcces       errno = 2
	errAgain       errno = 6
	errBadf        errno = 8
	errBusy        errno = 10
	errExist       errno = 20
	errFault       errno = 21
	errFbig        errno = 22
	errIntr        errno = 27
	errInval       errno = 28
	errIO          errno = 29
	errIsdir       errno = 31
	errLoop        errno = 32
	errMfile       errno = 33
	errMlink       errno = 34
	errNametoolong errno = 37
	errNfile       errno = 41
	errNoent       errno = 44
	errNomem       errno = 48
	errNospc       errno = 51
	errNosys       errno = 52
	errNotdir      errno = 54
	errNotempty    errno = 55
	errNotsup      errno = 58
	errOverflow    errno = 61
	errPerm        errno = 63
	errRofs        errno = 69
	errSpipe       errno = 70
	errTxtbsy      errno = 74
	errXdev        errno = 75
)

// hostErrnos maps host errnos to WASI ones.
var hostErrnos = map[syscall.Errno]errno{
	syscall.E2BIG: err2big, syscall.EACCES: errAcces, syscall.EAGAIN: errAgain,
	syscall.EBADF: errBadf, syscall.EBUSY: errBusy, syscall.EEXIST: errExist,
	syscall.EFAULT: errFault, syscall.EFBIG: errFbig, syscall.EINTR: errIntr,
	syscall.EINVAL: errInval, syscall.EIO: errIO, syscall.EISDIR: errIsdir,
	syscall.ELOOP: errLoop, syscall.EMFILE: errMfile, syscall.EMLINK: errMlink,
	syscall.ENAMETOOLONG: errNametoolong, syscall.ENFILE: errNfile,
	syscall.ENOENT: errNoent, syscall.ENOMEM: errNomem, syscall.ENOSPC: errNospc,
	syscall.ENOSYS: errNosys, syscall.ENOTDIR: errNotdir,
	syscall.ENOTEMPTY: errNotempty, syscall.ENOTSUP: errNotsup,
	syscall.EOVERFLOW: errOverflow, syscall.EPERM: errPerm, syscall.EROFS: errRofs,
	syscall.ESPIPE: errSpipe, syscall.ETXTBSY: errTxtbsy, syscall.EXDEV: errXdev,
}

// toErrno translates a host error into a WASI errno (IO when unknown).
func toErrno(err error) errno {
	if err == nil {
		return errSuccess
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		if w, ok := hostErrnos[e]; ok {
			return w
		}
		return errIO
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errNoent
	case errors.Is(err, fs.ErrExist):
		return errExist
	case errors.Is(err, fs.ErrPermission):
		return errPerm
	}
	return errIO
}

// WASI filetypes.
const (
	ftUnknown      uint8 = 0
	ftBlockDevice  uint8 = 1
	ftCharDevice   uint8 = 2
	ftDirectory    uint8 = 3
	ftRegularFile  uint8 = 4
	ftSocketStream uint8 = 6
	ftSymlink      uint8 = 7
)

// filetypeOf maps a host file mode to a WASI filetype.
func filetypeOf(m fs.FileMode) uint8 {
	switch {
	case m.IsRegular():
		return ftRegularFile
	case m.IsDir():
		return ftDirectory
	case m&fs.ModeSymlink != 0:
		return ftSymlink
	case m&fs.ModeSocket != 0:
		return ftSocketStream
	case m&fs.ModeCharDevice != 0:
		return ftCharDevice
	case m&fs.ModeDevice != 0:
		return ftBlockDevice
	}
	return ftUnknown
}

// allRights is every preview-1 right (bits 0..29): naive grants them all.
const allRights uint64 = 1<<30 - 1

// Rights bits path_open looks at.
const (
	rightFdRead  uint64 = 1 << 1
	rightFdWrite uint64 = 1 << 6
)

// kind says what an fd is.
type kind uint8

const (
	kindStdin kind = iota
	kindStdout
	kindStderr
	kindDir
	kindFile
)

// entry is one open fd.
type entry struct {
	kind kind
	// host is the host path behind a directory or file.
	host string
	// file is the open host file (kindFile, and kindDir once opened).
	file *os.File
	// preopen is the guest name of a preopened directory, "" otherwise.
	preopen string
	// fdflags are the WASI fdflags the fd was opened with.
	fdflags uint16
	// rights are what fd_fdstat_set_rights recorded (variants.go), nil
	// until then.
	rights *[2]uint64
}

// state is one run's WASI world. Host functions run on the guest's
// goroutine, one at a time, so it needs no lock.
type state struct {
	args, env      [][]byte
	stdin          *bytes.Reader
	stdout, stderr capture.Output
	fds            map[uint32]*entry
	// crash is set when a host function panicked: the run is a crash.
	crash string
	// epoch anchors the monotonic clock.
	epoch time.Time
	// overrides replace functions of the table for this run (flaws.go).
	overrides map[string]hostFn
	// opts and roFds are a variant's (variants.go).
	opts  Options
	roFds map[uint32]bool
	// fdFlaws are the run's opt-in fd-table flaws (fdflaws.go).
	fdFlaws FDFlaws
}

// newState grants the guest inv and, deliberately, much more.
func newState(inv runners.Invocation) *state {
	st := &state{
		stdin: bytes.NewReader(inv.Stdin),
		fds: map[uint32]*entry{
			0: {kind: kindStdin},
			1: {kind: kindStdout},
			2: {kind: kindStderr},
		},
		epoch: time.Now(),
	}
	// WEAKNESS 7: argv[0] is the module's host path.
	argv0 := inv.Module.Path
	if argv0 == "" {
		argv0 = "/naive/" + inv.Module.Name
	}
	st.args = append(st.args, []byte(argv0))
	for _, a := range inv.Args[1:] {
		st.args = append(st.args, []byte(a))
	}
	// WEAKNESS 6: the host's environment follows the granted one.
	for _, kv := range append(append([]string(nil), inv.Env...), os.Environ()...) {
		st.env = append(st.env, []byte(kv))
	}
	// WEAKNESS 4 and 5: ReadOnly is dropped, and "/" is granted too.
	fd := uint32(3)
	for _, p := range inv.Preopens {
		st.fds[fd] = &entry{kind: kindDir, host: p.HostDir, preopen: p.GuestPath}
		fd++
	}
	st.fds[fd] = &entry{kind: kindDir, host: "/", preopen: "/"}
	// Listeners are ignored (WEAKNESS 8).
	return st
}

// closeAll closes every host file the guest left open.
func (st *state) closeAll() {
	for _, e := range st.fds {
		if e.file != nil {
			e.file.Close()
		}
	}
}

// add puts e at the lowest free fd.
func (st *state) add(e *entry) uint32 {
	fd := uint32(3)
	if st.fdFlaws.StdioLogToFd1 {
		fd = 0
	}
	for st.fds[fd] != nil {
		fd++
	}
	st.fds[fd] = e
	return fd
}

// resolve is WEAKNESS 1: the guest's path is trusted. An absolute path is a
// host path; any other is joined (and lexically cleaned, so ".." climbs out)
// to the host directory behind dirfd, after weakPath (WEAKNESSES 11-14: cut
// at NUL, backslashes as separators, trailing slashes dropped, "" is the
// directory itself).
func (st *state) resolve(dirfd uint32, p string) (string, errno) {
	p = weakPath(p)
	if strings.HasPrefix(p, "/") {
		return p, errSuccess
	}
	e := st.fds[dirfd]
	switch {
	case e == nil:
		return "", errBadf
	case e.kind != kindDir:
		return "", errNotdir
	}
	return filepath.Join(e.host, p), errSuccess
}

// guestMem wraps the guest's memory. Its accessors panic with errFault on an
// out-of-bounds access; the host-function wrapper turns that into FAULT.
type guestMem struct{ m api.Memory }

// fault is the panic value of an out-of-bounds guest memory access.
type fault struct{}

func memOf(mod api.Module) guestMem {
	m := mod.Memory()
	if m == nil {
		panic(fault{})
	}
	return guestMem{m}
}

func (g guestMem) read(off, n uint32) []byte {
	b, ok := g.m.Read(off, n)
	if !ok {
		panic(fault{})
	}
	return b
}

func (g guestMem) str(off, n uint32) string { return string(g.read(off, n)) }

func (g guestMem) u32(off uint32) uint32 {
	v, ok := g.m.ReadUint32Le(off)
	if !ok {
		panic(fault{})
	}
	return v
}

func (g guestMem) putU32(off, v uint32) {
	if !g.m.WriteUint32Le(off, v) {
		panic(fault{})
	}
}

func (g guestMem) putU64(off uint32, v uint64) {
	if !g.m.WriteUint64Le(off, v) {
		panic(fault{})
	}
}

func (g guestMem) put(off uint32, b []byte) {
	if !g.m.Write(off, b) {
		panic(fault{})
	}
}

// iovecs returns the guest buffers named by an iovec array.
func (g guestMem) iovecs(iovs, n uint32) [][]byte {
	out := make([][]byte, n)
	for i := range n {
		base := iovs + 8*i
		out[i] = g.read(g.u32(base), g.u32(base+4))
	}
	return out
}

// putFilestat writes a 64-byte WASI filestat for fi at off.
func (g guestMem) putFilestat(off uint32, fi fs.FileInfo) {
	b := make([]byte, 64)
	var dev, ino, nlink uint64
	var atim, ctim int64
	mtim := fi.ModTime().UnixNano()
	atim, ctim = mtim, mtim
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		dev, ino, nlink = uint64(s.Dev), s.Ino, uint64(s.Nlink)
		atim = s.Atim.Nano()
		ctim = s.Ctim.Nano()
	}
	le.PutUint64(b[0:], dev)
	le.PutUint64(b[8:], ino)
	b[16] = filetypeOf(fi.Mode())
	le.PutUint64(b[24:], nlink)
	le.PutUint64(b[32:], uint64(fi.Size()))
	le.PutUint64(b[40:], uint64(atim))
	le.PutUint64(b[48:], uint64(mtim))
	le.PutUint64(b[56:], uint64(ctim))
	g.put(off, b)
}
