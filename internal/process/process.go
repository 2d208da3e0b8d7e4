// Package process is the one mechanism wasicert uses to run a WebAssembly
// runtime outside its own process: a runtime CLI, a JavaScript launcher under
// node or bun, or a worker executable that embeds a cgo engine.
//
// Isolation is the point: whatever the runtime does (exit, trap, abort, die
// by a signal, hang, exhaust memory, fork helpers) becomes a runners.Result
// and the harness carries on. Every run gets
//
//   - its own process group (Setpgid); on timeout the whole group gets
//     SIGKILL, and after the runtime ends any process it left in its group is
//     killed too, before the runtime is reaped (waitid WNOWAIT), so the group
//     id cannot have been reused; a process that left the group (setsid) but
//     still holds the run's stdout, stderr or report pipe is killed as well
//     (Linux, see killPipeHolders), one that closed them all can outlive the
//     run;
//   - the harness's own environment (os.Environ()), deliberately: the guest's
//     environment travels only through the runtime's flags, and a runtime
//     that leaks the host environment shows it (the harness plants
//     WASICERT_HOST_CANARY in its own environment for that);
//   - a working directory of its own: Command.Dir, or a fresh temporary
//     directory that is removed afterwards, never the repository;
//   - stdout and stderr captured up to runners.MaxOutput each; output past
//     the bound is drained and discarded, and Result.Truncated is set; the
//     last capture.TailSize bytes of each stream are kept too, and classification
//     (Command.Classify, CrashLine) reads those, so a guest that floods
//     stderr cannot push the runtime's own last words out of sight;
//   - bounds (Command.Limits, DefaultLimits; see Bounds): memory, file size,
//     open files and processes, below;
//   - optionally a report pipe at fd 3 (Command.EndingPipe), on which a launcher
//     or worker that wraps an engine writes one JSON WorkerEnding saying how the
//     guest ended. The guest cannot write it (fd 3 of the host process is not
//     a guest fd), so it cannot forge a trap or an exit.
//
// # Bounds
//
// The rule: a runtime or guest that exhausts memory, disk or file
// descriptors gets a verdict, and the harness and the host go on. Every run
// is bounded, by default (DefaultLimits) to 1 GiB of memory, 64 MiB per
// file, 1024 open files and 512 processes and threads, sizes under which
// every runtime wasicert drives runs the catalogue with the same verdicts
// as unbounded, and which the small machines the suite runs on can afford
// for two runs at once.
//
//   - A cgroup v2 of its own per run, where one can be made: wasicert's own
//     cgroup's parent (the root, at the root) must be writable. The child is
//     cloned straight into it (CLONE_INTO_CGROUP, SysProcAttr.UseCgroupFD), so
//     none of its instructions runs outside. memory.max with
//     memory.swap.max=0 and memory.oom.group=1 bound the run's memory (an
//     OOM kill ends the whole run; memory.events says so), pids.max its
//     processes and threads (pids.events), each where the controller is
//     enabled for the cgroup's parent. After the run cgroup.kill kills
//     whatever is left in it, wherever in the process tree, and the cgroup is
//     removed.
//   - rlimits on the runtime process, inherited by what it starts:
//     RLIMIT_FSIZE (a write past it is SIGXFSZ, or EFBIG where the signal is
//     ignored, as Go programs do), RLIMIT_NOFILE (soft and hard), and
//     RLIMIT_DATA for memory where the cgroup has no memory controller.
//     RLIMIT_DATA, not RLIMIT_AS: V8, wasmtime, wasmer and wazero reserve
//     gigabytes of PROT_NONE address space for guard regions, which RLIMIT_AS
//     counts and RLIMIT_DATA does not (it counts private writable mappings,
//     so it binds what can be committed). It is per process, not per run.
//     RLIMIT_NPROC is no fallback for pids.max: it counts all the user's
//     processes and does not bind root.
//
// When the rlimits are set: Go cannot run code between fork and exec, and
// syscall.Setrlimit in the harness would bind the harness itself (and every
// concurrent run) until it is undone. prlimit(2) right after Start leaves a
// window in which the runtime runs unbounded (it can map, open or write
// before its limits land, and keep what it got). So the child starts traced
// (SysProcAttr.Ptrace): the kernel stops it with SIGTRAP after execve and
// before the first instruction of the new program; Run sets its rlimits
// with prlimit while it is stopped and detaches it, suppressing the SIGTRAP.
// No instruction of the runtime runs before its bounds. Where the kernel or
// a seccomp policy refuses the cgroup or ptrace at start, runs start
// without them and Bounds says so.
//
// A run that hit a bound gets a note in Result.Detail naming it: the
// kernel's word (memory.events oom_kill, pids.events max, the runtime
// killed by SIGXFSZ) as "... limit hit", a program's own stderr saying it ran
// out of memory or files while an rlimit was on as "... likely hit". A note
// never changes Result.Ended. Total disk use is not bounded, only each file
// and the time to write.
//
// Classification, in order: the timeout fired -> EndedTimeout; killed by a
// signal -> EndedCrash with Detail "signal: SIGSEGV"; a WorkerEnding was read ->
// what it says; WorkerEnding expected but absent -> EndedCrash ("exited N without a
// report"); otherwise EndedExit with the exit status, which Command.Classify
// may then turn into EndedTrap (a CLI that prints a trap message and exits
// with a code of its own) unless the status is 0.
package process

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/wasicert/wasicert/internal/capture"
	"github.com/wasicert/wasicert/internal/hostns"
	"github.com/wasicert/wasicert/runners"
)

// Command is one run of an external program.
type Command struct {
	// Name labels errors, e.g. "node".
	Name string
	// Path is the executable; Args follow argv[0] (which is Path).
	Path string
	Args []string
	// Env is the program's environment; nil means os.Environ() of the
	// harness. It is never the guest's environment.
	Env []string
	// Dir is the working directory; empty means a fresh temporary directory,
	// removed when the run ends.
	Dir string
	// Stdin is fed to the program's standard input; nil means /dev/null.
	Stdin []byte
	// Timeout bounds the run; zero means runners.DefaultTimeout.
	Timeout time.Duration
	// EndingPipe gives the program a pipe at fd 3 on which it writes one JSON
	// WorkerEnding; see the package documentation.
	EndingPipe bool
	// Classify, when set, may reclassify a run that ended by a plain exit
	// with a status other than 0 (no signal, no timeout, no WorkerEnding), e.g. to
	// EndedTrap when the output holds the runtime's trap message. stdoutTail
	// and stderrTail are the last capture.TailSize bytes of each stream
	// (res.Stdout and res.Stderr are their heads). It must keep the rule
	// documented with the runner that sets it.
	Classify func(res *runners.Result, stdoutTail, stderrTail []byte)
	// Evidence is the Invocation the program runs, for its evidence
	// plumbing only (see runners.Invocation): Run watches both streams for
	// its Canaries, points HOME, TMPDIR and the XDG dirs into its Scratch
	// (HostEnv), and, as root, shows its HostFiles' stand-ins in a private
	// mount namespace (internal/hostns). Nothing in it reaches the guest.
	Evidence runners.Invocation
	// Limits bounds the run; nil means DefaultLimits, a zero Limits none.
	Limits *Limits
}

// WorkerEnding is what a launcher or worker writes on fd 3, one JSON object.
type WorkerEnding struct {
	// Ended is "exit", "trap", or "error" (the module could not be compiled
	// or instantiated: the run did not start, so Run returns an error).
	Ended    string `json:"ended"`
	ExitCode int    `json:"exit_code"`
	Detail   string `json:"detail,omitempty"`
}

// WorkerEnding endings beyond the runners.Ending values.
const (
	// EndedError: the module never started (compile or link error).
	EndedError = "error"
)

// GraceAfterExit bounds how long Run waits for the output and report pipes
// to close after the program and its group are gone (a process that escaped
// the group with setsid could hold them open). It is one deadline for all
// three pipes.
const GraceAfterExit = 2 * time.Second

// startMu is held for reading around every start and for writing while
// killPipeHolders looks for the holders of a run's pipes, so that no other
// run's child can be caught between fork and exec holding copies of them.
var startMu sync.RWMutex

// Run executes c and classifies how it ended. It returns an error only when
// the program could not be started, or when its WorkerEnding says the module never
// started; every other ending is a Result.
func Run(ctx context.Context, c Command) (runners.Result, error) {
	var res runners.Result
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = runners.DefaultTimeout
	}
	dir := c.Dir
	if dir == "" {
		d, cleanup, err := WorkDir(runners.Invocation{})
		if err != nil {
			return res, fmt.Errorf("%s: work dir: %w", c.Name, err)
		}
		defer cleanup()
		dir = d
	}
	env := c.Env
	if env == nil {
		env = os.Environ()
	}
	if err := MakeScratch(c.Evidence.Scratch); err != nil {
		return res, fmt.Errorf("%s: scratch dirs: %w", c.Name, err)
	}
	env = HostEnv(env, c.Evidence.Scratch)
	path, args := c.Path, c.Args
	if len(c.Evidence.HostFiles) > 0 {
		if p, a, err := hostns.Wrap(path, args, c.Evidence.HostFiles); err == nil {
			path, args, res.HostFilesMasked = p, a, true
		}
	}

	lim := DefaultLimits
	if c.Limits != nil {
		lim = *c.Limits
	}
	bnd := newBound(lim)
	defer bnd.remove()
	newCmd := func() *exec.Cmd {
		cmd := exec.Command(path, args...)
		cmd.Env = env
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd
	}
	cmd := newCmd()
	// Run makes every pipe itself, so that cmd.Wait waits for no copying,
	// Run knows which pipes are the run's (killPipeHolders), and one
	// deadline bounds the wait for their end (GraceAfterExit).
	stdout, stderr, report := &capture.Output{}, &capture.Output{}, &capture.Output{}
	stdout.Watch(c.Evidence.Canaries...)
	stderr.Watch(c.Evidence.Canaries...)
	sinks := []*capture.Output{stdout, stderr}
	if c.EndingPipe {
		sinks = append(sinks, report)
	}
	var readEnds, childEnds []*os.File
	var inodes []uint64
	defer func() { closeAll(readEnds); closeAll(childEnds) }()
	for range sinks {
		r, w, err := os.Pipe()
		if err != nil {
			return res, fmt.Errorf("%s: pipe: %w", c.Name, err)
		}
		readEnds, childEnds = append(readEnds, r), append(childEnds, w)
		if fi, err := r.Stat(); err == nil {
			inodes = append(inodes, fi.Sys().(*syscall.Stat_t).Ino)
		}
	}
	var stdinR, stdinW *os.File
	if c.Stdin != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return res, fmt.Errorf("%s: pipe: %w", c.Name, err)
		}
		defer w.Close() // unblocks the writer below if nobody reads
		stdinR, stdinW, childEnds = r, w, append(childEnds, r)
	}
	wire := func(cmd *exec.Cmd) {
		cmd.Stdout, cmd.Stderr, cmd.ExtraFiles = childEnds[0], childEnds[1], childEnds[2:len(sinks)]
		if stdinR != nil {
			cmd.Stdin = stdinR
		}
	}
	wire(cmd)

	// The bounds: the child is cloned into the run's cgroup, and its
	// rlimits are set before its first instruction (bound.started, which
	// needs the OS thread that started it).
	start := time.Now()
	runtime.LockOSThread()
	bnd.attr(cmd.SysProcAttr)
	startMu.RLock()
	err := cmd.Start()
	startMu.RUnlock()
	if err != nil && bnd.active() {
		// A kernel without clone3 into a cgroup, or a seccomp policy
		// that refuses ptrace: if a plain start works, runs go on without
		// them (Bounds says so).
		plain := newCmd()
		wire(plain)
		startMu.RLock()
		if err2 := plain.Start(); err2 == nil {
			bnd.startFailed(err)
			cmd, err = plain, nil
		}
		startMu.RUnlock()
	}
	if err == nil {
		bnd.started(cmd.Process.Pid)
	}
	runtime.UnlockOSThread()
	closeAll(childEnds) // the child holds its copies; EOF comes when it (and its group) is gone
	childEnds = nil
	if err != nil {
		return res, fmt.Errorf("%s: start %s: %w", c.Name, c.Path, err)
	}
	pid := cmd.Process.Pid
	if stdinW != nil {
		go func() { stdinW.Write(c.Stdin); stdinW.Close() }()
	}

	var copying sync.WaitGroup
	for i, r := range readEnds {
		copying.Go(func() { io.Copy(sinks[i], r) })
	}
	drained := make(chan struct{})
	go func() { copying.Wait(); close(drained) }()

	// Wait for the leader to end without reaping it, so that its pid (the
	// group id) stays ours while the group is killed.
	exited := make(chan struct{})
	var waitErr error
	go func() {
		if canWaitNoReap {
			waitNoReap(pid)
		} else {
			waitErr = cmd.Wait()
		}
		close(exited)
	}()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	timedOut, cancelled := false, false
	select {
	case <-exited:
	case <-timer.C:
		timedOut = true
	case <-ctx.Done():
		cancelled = true
	}
	// Kill the group: on timeout this stops the runtime; after a normal exit
	// it removes anything the runtime left behind in its group.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	bnd.killAll()
	<-exited
	if canWaitNoReap {
		waitErr = cmd.Wait()
	}
	res.Duration = time.Since(start)
	// The pipes end when their last holder is gone. Anything holding them
	// now escaped the group: kill it, and give up at one shared deadline.
	grace := time.NewTimer(GraceAfterExit)
	defer grace.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-drained:
			break wait
		case <-grace.C:
			break wait
		case <-tick.C:
			startMu.Lock()
			killPipeHolders(inodes)
			startMu.Unlock()
		}
	}
	for _, r := range readEnds {
		r.Close() // ends the copies still blocked on a pipe held open
	}
	<-drained
	capture.Fill(&res, stdout, stderr)

	state := cmd.ProcessState
	if state == nil {
		return res, fmt.Errorf("%s: wait: %v", c.Name, waitErr)
	}
	ws, _ := state.Sys().(syscall.WaitStatus)
	res, err = ending(c, res, state, ws, timedOut, cancelled, ctx, timeout, report, stdout, stderr)
	if err == nil {
		var sig syscall.Signal
		if ws.Signaled() {
			sig = ws.Signal()
		}
		bnd.annotate(&res, stderr.Tail(), sig)
	}
	return res, err
}

// ending classifies how the run ended (see the package documentation).
func ending(c Command, res runners.Result, state *os.ProcessState, ws syscall.WaitStatus, timedOut, cancelled bool, ctx context.Context, timeout time.Duration, report, stdout, stderr *capture.Output) (runners.Result, error) {
	switch {
	case timedOut:
		res.Ended = runners.EndedTimeout
		res.Detail = fmt.Sprintf("no exit after %s; process group killed", timeout)
		res.ExitCode = -1
		return res, nil
	case cancelled:
		res.Ended = runners.EndedTimeout
		res.Detail = "cancelled: " + ctx.Err().Error()
		res.ExitCode = -1
		return res, nil
	case ws.Signaled():
		res.Ended = runners.EndedCrash
		res.ExitCode = -1
		res.Detail = "signal: " + SignalName(ws.Signal())
		if ws.CoreDump() {
			res.Detail += " (core dumped)"
		}
		return res, nil
	}
	res.ExitCode = state.ExitCode()

	if c.EndingPipe {
		rep, ok := parseEnding(report.Bytes())
		if !ok {
			res.Ended = runners.EndedCrash
			res.Detail = fmt.Sprintf("%s exited %d without a report", c.Name, res.ExitCode)
			if l := CrashLine(stderr.Tail()); l != "" {
				res.Detail += ": " + l
			}
			return res, nil
		}
		switch rep.Ended {
		case string(runners.EndedExit):
			res.Ended = runners.EndedExit
			res.ExitCode = rep.ExitCode
		case string(runners.EndedTrap):
			res.Ended = runners.EndedTrap
			res.Detail = OneLine(rep.Detail)
		case string(runners.EndedCrash):
			res.Ended = runners.EndedCrash
			res.Detail = OneLine(rep.Detail)
		case EndedError:
			return res, fmt.Errorf("%s: module did not start: %s", c.Name, OneLine(rep.Detail))
		default:
			res.Ended = runners.EndedCrash
			res.Detail = fmt.Sprintf("%s wrote an unknown report %q", c.Name, OneLine(string(report.Bytes())))
		}
		return res, nil
	}

	res.Ended = runners.EndedExit
	// Exit status 0 is an exit whatever stderr says: the guest can write
	// anything there.
	if c.Classify != nil && res.ExitCode != 0 {
		c.Classify(&res, stdout.Tail(), stderr.Tail())
	}
	return res, nil
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

func parseEnding(b []byte) (WorkerEnding, bool) {
	var rep WorkerEnding
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return rep, false
	}
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i] // only the first report counts
	}
	if err := json.Unmarshal(b, &rep); err != nil || rep.Ended == "" {
		return rep, false
	}
	return rep, true
}

// WriteEnding writes rep as one JSON line to fd 3, the report pipe a worker
// gets from Run. Workers call it once, just before exiting.
func WriteEnding(rep WorkerEnding) error {
	f := os.NewFile(3, "report")
	if f == nil {
		return errors.New("no fd 3")
	}
	b, _ := json.Marshal(rep)
	_, err := f.Write(append(b, '\n'))
	return err
}

// OneLine squeezes s onto one line (for Result.Detail and error messages).
func OneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ⏎ ")), " ")
	return cut(s, 400)
}

// cut shortens s to at most n bytes, at a rune boundary, marking the cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

var crashLineRE = regexp.MustCompile(`(?m)^(thread '.*' panicked at.*|SIG[A-Z]+: .*|fatal error: .*|panic: .*|.*Segmentation fault.*|.*Aborted.*|FATAL ERROR.*|Fatal error.*)$`)

// CrashLine picks the line of a dead runtime's stderr that says why: a Rust
// panic, a Go fatal signal or panic, a V8 fatal error; else the last line.
func CrashLine(stderr []byte) string {
	if m := crashLineRE.Find(stderr); m != nil {
		return OneLine(string(m))
	}
	return LastLine(stderr)
}

// LastLine returns the last non-empty line of b, trimmed, at most 300 bytes.
func LastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return cut(strings.TrimSpace(lines[len(lines)-1]), 300)
}
