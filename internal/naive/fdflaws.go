package naive

// Weakness 15 and the opt-in flaws of the fd, stdio and exit specs
// (suites/catalogue fd.go, stdio.go, exit.go): each is a mistake a runtime
// can make with its fd table or with proc_raise.

import (
	"context"
	"encoding/binary"
	"os"
	"syscall"

	"github.com/tetratelabs/wazero/api"
)

// FDFlaws are the opt-in weaknesses of NewWith; New has none of them.
type FDFlaws struct {
	// PreopenCloseIgnored: fd_close on a preopen answers success and
	// keeps it open (wasmtime before #5828 refused instead).
	PreopenCloseIgnored bool
	// RenumberCopies: fd_renumber leaves the source open (a copy, not a
	// move), so one open file has two numbers.
	RenumberCopies bool
	// RenumberDup2: fd_renumber to a number nobody opened succeeds, as
	// POSIX dup2 does (wazero's behaviour); stdio can be moved away.
	RenumberDup2 bool
	// StdioLogToFd1: new fds take the lowest free number from 0, and at the
	// end of the run the runtime writes its own log line to whatever fd 1
	// is then: after the guest closed stdout, into the guest's file.
	StdioLogToFd1 bool
	// RaiseSignalsHost: proc_raise(sig) sends sig to the runtime's own
	// process, as uvwasi does. Use it only in a child process (Child).
	RaiseSignalsHost bool
}

// NewWith returns the naive runner with the given flaws on top of its
// standing weaknesses. NOT A SANDBOX: for tests only.
func NewWith(f FDFlaws) *Runner { return &Runner{fdFlaws: f} }

// runtimeLog is what StdioLogToFd1 writes to fd 1 at the end of a run.
const runtimeLog = "naive-runtime: run finished\n"

// hostFD is WEAKNESS 15: an fd number the table does not hold is taken as
// the host process's own fd of that number. fd_fdstat_get reports what it
// is, and fd_read reads a regular file from offset 0 (pread, so the host's
// offset is untouched; other kinds are not read, so the test process's
// pipes and sockets are left alone).
func hostFD(fd uint32) (syscall.Stat_t, bool) {
	var st syscall.Stat_t
	if fd > 1<<20 || syscall.Fstat(int(fd), &st) != nil {
		return st, false
	}
	return st, true
}

func (st *state) hostFdstat(mod api.Module, fd uint32, out uint32) errno {
	hs, ok := hostFD(fd)
	if !ok {
		return errBadf
	}
	b := make([]byte, 24)
	b[0] = filetypeOf(os.FileMode(0) | modeOf(hs.Mode))
	binary.LittleEndian.PutUint64(b[8:], allRights)
	binary.LittleEndian.PutUint64(b[16:], allRights)
	memOf(mod).put(out, b)
	return errSuccess
}

func modeOf(m uint32) os.FileMode {
	switch m & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return os.ModeDir
	case syscall.S_IFREG:
		return 0
	case syscall.S_IFLNK:
		return os.ModeSymlink
	case syscall.S_IFSOCK:
		return os.ModeSocket
	case syscall.S_IFIFO:
		return os.ModeNamedPipe
	case syscall.S_IFCHR:
		return os.ModeDevice | os.ModeCharDevice
	}
	return os.ModeDevice
}

func (st *state) hostRead(mod api.Module, fd uint32, iovs, n, nread uint32) errno {
	hs, ok := hostFD(fd)
	if !ok {
		return errBadf
	}
	if hs.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return errBadf
	}
	g := memOf(mod)
	total := 0
	for _, buf := range g.iovecs(iovs, n) {
		k, err := syscall.Pread(int(fd), buf, int64(total))
		if k > 0 {
			total += k
		}
		if err != nil || k < len(buf) {
			break
		}
	}
	g.putU32(nread, uint32(total))
	return errSuccess
}

// procRaise is proc_raise: NOSYS, or with RaiseSignalsHost the signal sent
// to this very process.
func (st *state) procRaise(_ context.Context, _ api.Module, p []uint64) errno {
	if !st.fdFlaws.RaiseSignalsHost {
		return errNosys
	}
	// WASI signal numbers (typenames.witx) match Linux's for these.
	sig := map[uint32]syscall.Signal{1: syscall.SIGHUP, 2: syscall.SIGINT, 9: syscall.SIGKILL, 15: syscall.SIGTERM, 18: syscall.SIGSTOP}[uint32(p[0])]
	if sig == 0 {
		return errInval
	}
	return toErrno(syscall.Kill(os.Getpid(), sig))
}

// afterRun is StdioLogToFd1's runtime log.
func (st *state) afterRun() {
	if !st.fdFlaws.StdioLogToFd1 {
		return
	}
	switch e := st.fds[1]; {
	case e == nil:
	case e.kind == kindStdout:
		_, _ = st.stdout.Write([]byte(runtimeLog))
	case e.kind == kindFile:
		_, _ = e.file.Write([]byte(runtimeLog))
	}
}
