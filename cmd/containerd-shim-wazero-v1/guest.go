package main

// The guest process: the shim re-executes itself with guestArg for each task
// (the way runwasi runs each task as a libcontainer container), so the guest
// is a process of its own: in the container's cgroup, in its own mount
// namespace, as process.user, with no_new_privs and a parent-death signal
// tied to the shim. Kill is a real signal to it.
//
// Protocol (fds set up by startGuest):
//
//	fd 0, 1, 2  the task's stdin, stdout, stderr
//	fd 3        control, shim -> guest: one JSON guestConfig, sent once the
//	            shim has placed the process in its cgroup; then one byte
//	            to start the guest (EOF instead: exit without running it)
//	fd 4        report, guest -> shim: one line, "ok" once the module is
//	            compiled, the privileges dropped and the preopens opened,
//	            or "error <message>" (then the process exits 1)
//
// The guest's exit status is the task's: _start returning is 0, proc_exit(N)
// is N, a trap is trap.ExitStatus with trap.ShimLine on stderr, a signal is
// the signal (the shim reports 128+S).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"syscall"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
	"golang.org/x/sys/unix"

	"github.com/wasicert/wasicert/internal/trap"
	"github.com/wasicert/wasicert/internal/wazerogrant"
)

// guestArg is the hidden first argument that makes the binary a guest
// process instead of a shim. The container id follows it (for ps, and for
// a harness that looks for what a container left behind).
const guestArg = "__wasicert-guest"

// guestConfig is what the shim tells the guest process on fd 3.
type guestConfig struct {
	Module     string // host path of the module, inside the rootfs
	EntryGuest string // its path in the container, for messages
	MaxModule  int64  // bytes; a larger module is refused
	Args, Env  []string
	Dirs       []wazerogrant.Dir
	// MemoryPages bounds the guest's linear memory (0: wasm's 65536).
	MemoryPages uint32
	CacheDir    string
	// User is process.user; nil keeps the shim's (root).
	User *guestUser
	// ShimPid is the parent the death signal is tied to.
	ShimPid int
	// Rlimits are process.rlimits, set before the guest runs.
	Rlimits []guestRlimit
	// OOMScoreAdj is process.oomScoreAdj; nil leaves the shim's.
	OOMScoreAdj *int
}

// guestRlimit is one process.rlimits entry.
type guestRlimit struct {
	Type       string
	Soft, Hard uint64
}

// rlimitResources maps the runtime spec's rlimit names to Linux's.
var rlimitResources = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}

// applyProcessLimits sets process.rlimits and process.oomScoreAdj on the
// guest process, as runc does for a container's init, while it is still
// root (raising a hard limit needs it).
func applyProcessLimits(cfg *guestConfig) error {
	for _, r := range cfg.Rlimits {
		if err := unix.Prlimit(0, rlimitResources[r.Type], &unix.Rlimit{Cur: r.Soft, Max: r.Hard}, nil); err != nil {
			return fmt.Errorf("process.rlimits %s: %w", r.Type, err)
		}
	}
	if cfg.OOMScoreAdj != nil {
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*cfg.OOMScoreAdj)), 0); err != nil {
			return fmt.Errorf("process.oomScoreAdj: %w", err)
		}
	}
	return nil
}

// dropCapabilities empties the guest process's capability sets: the guest
// makes no system call of its own and its directories are already open, so
// nothing it does needs one, even as uid 0. Every thread when the runtime
// allows it (AllThreadsSyscall, not in a cgo-linked binary), else this
// thread, which is the one the guest's host calls run on (LockOSThread).
func dropCapabilities() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	if errno == syscall.ENOTSUP {
		return unix.Capset(&hdr, &data[0])
	}
	if errno != 0 {
		return errno
	}
	return nil
}

type guestUser struct {
	UID, GID uint32
	Groups   []uint32
}

func init() {
	if len(os.Args) > 1 && os.Args[1] == guestArg {
		// Before anything else starts threads: the guest's goroutine stays
		// on the main thread, which carries no_new_privs and the death
		// signal (both are per thread).
		runtime.LockOSThread()
	}
}

// guestMain is the guest process. It never returns.
func guestMain() {
	ctl := os.NewFile(3, "control")
	rep := os.NewFile(4, "report")
	code, err := guest(ctl, rep)
	if err != nil {
		fmt.Fprintf(rep, "error %s\n", oneLine(err.Error()))
		os.Exit(1)
	}
	os.Exit(exitStatus(code))
}

// exitStatus is the process status for the guest's proc_exit code. A
// status has 8 bits; a code past 255 would wrap, and 256 would read as
// success, so every code past 255 ends with 255 instead (spec
// exit.out-of-range: a non-zero code never reads as success).
func exitStatus(code int) int {
	if code < 0 || code > 255 {
		return 255
	}
	return code
}

func oneLine(s string) string {
	for i := range len(s) {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

func guest(ctl, rep *os.File) (int, error) {
	// The parent-death signal first: if the shim is already gone, so are we.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
		return 0, fmt.Errorf("parent-death signal: %w", err)
	}
	// Our own mount namespace (CLONE_NEWNS at clone): nothing mounted here
	// propagates back to the host; the host's unmounts still reach us.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return 0, fmt.Errorf("mount namespace: %w", err)
	}
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}) // no core files of a re-raised signal
	var cfg guestConfig
	dec := json.NewDecoder(ctl)
	if err := dec.Decode(&cfg); err != nil {
		return 0, fmt.Errorf("read config: %w", err)
	}
	if os.Getppid() != cfg.ShimPid {
		return 0, errors.New("the shim is gone")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	forwardSignals(cancel)

	rcfg := wazero.NewRuntimeConfig()
	if weakShim {
		rcfg = rcfg.WithCloseOnContextDone(true) // killed by cancelling
	}
	if cfg.MemoryPages > 0 {
		rcfg = rcfg.WithMemoryLimitPages(cfg.MemoryPages)
	}
	if cfg.CacheDir != "" {
		if cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir); err == nil {
			rcfg = rcfg.WithCompilationCache(cache)
		}
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rcfg)
	compiled, err := compile(ctx, rt, &cfg)
	if err != nil {
		return 0, err
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return 0, err
	}

	// The preopens' directories are opened first, as root (as runc enters
	// the container's root before it becomes the user: the host path
	// above a rootfs need not be open to the user); then process.user and
	// no_new_privs, so the kernel checks the user's access to every file
	// the guest opens below them.
	grants, release, err := wazerogrant.Confined(cfg.Args, cfg.Env, cfg.Dirs)
	if err != nil {
		return 0, err
	}
	defer release()
	if !weakShim {
		if err := applyProcessLimits(&cfg); err != nil {
			return 0, err
		}
	}
	if u := cfg.User; u != nil {
		groups := make([]int, len(u.Groups))
		for i, g := range u.Groups {
			groups[i] = int(g)
		}
		if err := syscall.Setgroups(groups); err != nil {
			return 0, fmt.Errorf("process.user: setgroups %v: %w", u.Groups, err)
		}
		if err := syscall.Setgid(int(u.GID)); err != nil {
			return 0, fmt.Errorf("process.user: setgid %d: %w", u.GID, err)
		}
		if err := syscall.Setuid(int(u.UID)); err != nil {
			return 0, fmt.Errorf("process.user: setuid %d: %w", u.UID, err)
		}
		// A credential change clears the death signal: set it again and
		// check the shim did not die in between.
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
			return 0, fmt.Errorf("parent-death signal: %w", err)
		}
		if os.Getppid() != cfg.ShimPid {
			return 0, errors.New("the shim is gone")
		}
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return 0, fmt.Errorf("no_new_privs: %w", err)
	}
	if !weakShim {
		if err := dropCapabilities(); err != nil {
			return 0, fmt.Errorf("drop capabilities: %w", err)
		}
	}

	modCfg := grants.WithStartFunctions("_start").
		WithStdin(os.Stdin).WithStdout(os.Stdout).WithStderr(os.Stderr)
	if weakShim {
		modCfg = modCfg.WithNanosleep(wazerogrant.SleepUntil(ctx))
	} else {
		modCfg = modCfg.WithSysNanosleep() // a kill is a signal: it ends a sleep too
	}

	if _, err := io.WriteString(rep, "ok\n"); err != nil {
		return 0, err
	}
	rep.Close()
	var b [1]byte
	if n, _ := ctl.Read(b[:]); n != 1 {
		os.Exit(1) // the task was deleted before it started
	}
	ctl.Close()

	mctx := experimental.WithMemoryAllocator(ctx, experimental.MemoryAllocatorFunc(mmapMemory))
	mod, err := rt.InstantiateModule(mctx, compiled, modCfg)
	if mod != nil {
		mod.Close(ctx)
	}
	var exitErr *sys.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exitErr):
		return int(exitErr.ExitCode()), nil
	}
	// A trap: the status and the stderr line of package trap, which the
	// containerd runner reads back.
	fmt.Fprintln(os.Stderr, trap.ShimLine(err.Error()))
	return trap.ExitStatus, nil
}

// compile reads and compiles the module; the bytes are released after it.
func compile(ctx context.Context, rt wazero.Runtime, cfg *guestConfig) (wazero.CompiledModule, error) {
	wasm, err := readModule(cfg.Module, cfg.EntryGuest, cfg.MaxModule)
	if err != nil {
		return nil, err
	}
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		return nil, fmt.Errorf("corrupt module: entrypoint %q is not valid WebAssembly: %v", cfg.EntryGuest, err)
	}
	if _, ok := compiled.ExportedFunctions()["_start"]; !ok {
		return nil, fmt.Errorf("entrypoint %q exports no _start: not a WASI command module", cfg.EntryGuest)
	}
	wasm = nil
	debug.FreeOSMemory() // the module's bytes go back to the host
	return compiled, nil
}

// forwardSignals makes every signal act as its default action would on a
// native process, which the Go runtime's handlers do not (SIGQUIT dumps
// goroutines, SIGUSR1 is ignored): ignored by default stays ignored,
// anything else is re-raised with the default action. (The weakened build
// cancels the guest on SIGUSR2 instead: its kill.)
func forwardSignals(cancel context.CancelFunc) {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch)
	go func() {
		for s := range ch {
			sig, ok := s.(syscall.Signal)
			if !ok || ignoredSignals[sig] {
				continue
			}
			if weakShim && sig == syscall.SIGUSR2 {
				cancel()
				os.Stdin.Close()
				continue
			}
			signal.Reset(sig)
			_ = syscall.Kill(os.Getpid(), sig)
		}
	}()
}

// mmapMemory backs a linear memory with one reservation of its maximum,
// made readable page by page as it grows: growing never copies, so the
// guest's memory costs the host what the guest uses, never twice that.
func mmapMemory(_, max uint64) experimental.LinearMemory {
	size := (max + uint64(unix.Getpagesize()) - 1) &^ uint64(unix.Getpagesize()-1)
	if size == 0 {
		size = uint64(unix.Getpagesize())
	}
	b, err := unix.Mmap(-1, 0, int(size), unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return &failedMemory{}
	}
	return &mmapLinear{buf: b}
}

type mmapLinear struct {
	buf []byte
	len uint64
}

func (m *mmapLinear) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	if size > m.len {
		page := uint64(unix.Getpagesize())
		from := m.len &^ (page - 1)
		to := (size + page - 1) &^ (page - 1)
		if err := unix.Mprotect(m.buf[from:to], unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return nil
		}
		m.len = size
	}
	return m.buf[:size:size]
}

func (m *mmapLinear) Free() { _ = unix.Munmap(m.buf) }

type failedMemory struct{}

func (failedMemory) Reallocate(uint64) []byte { return nil }
func (failedMemory) Free()                    {}

// readModule reads path (at most max bytes) and checks it looks like
// WebAssembly.
func readModule(path, guest string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("entrypoint %q: %w", guest, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(f), max+1))
	if err != nil {
		return nil, fmt.Errorf("entrypoint %q: %w", guest, err)
	}
	if int64(len(b)) > max {
		return nil, moduleTooLarge(guest, max)
	}
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, fmt.Errorf("corrupt module: entrypoint %q is not valid WebAssembly (no \\0asm magic)", guest)
	}
	return b, nil
}

func moduleTooLarge(guest string, max int64) error {
	return fmt.Errorf("module too large: entrypoint %q is over %d bytes (raise it with the annotation %s)", guest, max, AnnotationMaxModule)
}
