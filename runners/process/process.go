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
//     id cannot have been reused;
//   - the harness's own environment (os.Environ()), deliberately: the guest's
//     environment travels only through the runtime's flags, and a runtime
//     that leaks the host environment shows it (the harness plants
//     WASICERT_HOST_CANARY in its own environment for that);
//   - a working directory of its own: Command.Dir, or a fresh temporary
//     directory that is removed afterwards, never the repository;
//   - stdout and stderr captured up to runners.MaxOutput each; output past
//     the bound is drained and discarded, and Result.Truncated is set;
//   - optionally a report pipe at fd 3 (Command.Report), on which a launcher
//     or worker that wraps an engine writes one JSON Report saying how the
//     guest ended. The guest cannot write it (fd 3 of the host process is not
//     a guest fd), so it cannot forge a trap or an exit.
//
// Classification, in order: the timeout fired -> EndedTimeout; killed by a
// signal -> EndedCrash with Detail "signal: SIGSEGV"; a Report was read ->
// what it says; Report expected but absent -> EndedCrash ("exited N without a
// report"); otherwise EndedExit with the exit status, which Command.Classify
// may then turn into EndedTrap (a CLI that prints a trap message and exits
// with a code of its own).
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
	"strings"
	"syscall"
	"time"

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
	// Report gives the program a pipe at fd 3 on which it writes one JSON
	// Report; see the package documentation.
	Report bool
	// Classify, when set, may reclassify a run that ended by a plain exit
	// (no signal, no timeout, no Report), e.g. to EndedTrap when stderr
	// holds the runtime's trap message. It must keep the rule documented
	// with the runner that sets it.
	Classify func(res *runners.Result)
}

// Report is what a launcher or worker writes on fd 3, one JSON object.
type Report struct {
	// Ended is "exit", "trap", or "error" (the module could not be compiled
	// or instantiated: the run did not start, so Run returns an error).
	Ended    string `json:"ended"`
	ExitCode int    `json:"exit_code"`
	Detail   string `json:"detail,omitempty"`
}

// Report endings beyond the runners.Ending values.
const (
	// ReportError: the module never started (compile or link error).
	ReportError = "error"
)

// GraceAfterExit bounds how long Run waits for output pipes to close after
// the program and its group are gone (a process that escaped the group with
// setsid could hold them open).
const GraceAfterExit = 2 * time.Second

// Run executes c and classifies how it ended. It returns an error only when
// the program could not be started, or when its Report says the module never
// started; every other ending is a Result.
func Run(ctx context.Context, c Command) (runners.Result, error) {
	var res runners.Result
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = runners.DefaultTimeout
	}
	dir := c.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "wasicert-run-")
		if err != nil {
			return res, fmt.Errorf("%s: work dir: %w", c.Name, err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	env := c.Env
	if env == nil {
		env = os.Environ()
	}

	cmd := exec.Command(c.Path, c.Args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	stdout := &boundedBuffer{max: runners.MaxOutput}
	stderr := &boundedBuffer{max: runners.MaxOutput}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.WaitDelay = GraceAfterExit

	var reportR *os.File
	if c.Report {
		r, w, err := os.Pipe()
		if err != nil {
			return res, fmt.Errorf("%s: report pipe: %w", c.Name, err)
		}
		defer r.Close()
		reportR = r
		cmd.ExtraFiles = []*os.File{w}
		defer w.Close()
	}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("%s: start %s: %w", c.Name, c.Path, err)
	}
	pid := cmd.Process.Pid
	for _, f := range cmd.ExtraFiles {
		f.Close() // the child holds its copy; EOF comes when it (and its group) is gone
	}

	reportCh := make(chan []byte, 1)
	if reportR != nil {
		go func() {
			b, _ := io.ReadAll(io.LimitReader(reportR, 64<<10))
			io.Copy(io.Discard, reportR)
			reportCh <- b
		}()
	}

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
	<-exited
	if canWaitNoReap {
		waitErr = cmd.Wait()
	}
	res.Duration = time.Since(start)
	res.Stdout, res.Stderr = stdout.Bytes(), stderr.Bytes()
	res.Truncated = stdout.truncated || stderr.truncated

	var report []byte
	if reportR != nil {
		select {
		case report = <-reportCh:
		case <-time.After(GraceAfterExit):
		}
	}

	state := cmd.ProcessState
	if state == nil {
		return res, fmt.Errorf("%s: wait: %v", c.Name, waitErr)
	}
	ws, _ := state.Sys().(syscall.WaitStatus)
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

	if c.Report {
		rep, ok := parseReport(report)
		if !ok {
			res.Ended = runners.EndedCrash
			res.Detail = fmt.Sprintf("%s exited %d without a report", c.Name, res.ExitCode)
			if l := CrashLine(res.Stderr); l != "" {
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
		case ReportError:
			return res, fmt.Errorf("%s: module did not start: %s", c.Name, OneLine(rep.Detail))
		default:
			res.Ended = runners.EndedCrash
			res.Detail = fmt.Sprintf("%s wrote an unknown report %q", c.Name, OneLine(string(report)))
		}
		return res, nil
	}

	res.Ended = runners.EndedExit
	if c.Classify != nil {
		c.Classify(&res)
	}
	return res, nil
}

func parseReport(b []byte) (Report, bool) {
	var rep Report
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

// WriteReport writes rep as one JSON line to fd 3, the report pipe a worker
// gets from Run. Workers call it once, just before exiting.
func WriteReport(rep Report) error {
	f := os.NewFile(3, "report")
	if f == nil {
		return errors.New("no fd 3")
	}
	b, _ := json.Marshal(rep)
	_, err := f.Write(append(b, '\n'))
	return err
}

// boundedBuffer keeps the first max bytes written and discards the rest,
// without ever failing a write (so the writer keeps draining the pipe).
type boundedBuffer struct {
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room < len(p) {
		b.truncated = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *boundedBuffer) Bytes() []byte { return b.buf.Bytes() }

// OneLine squeezes s onto one line (for Result.Detail and error messages).
func OneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ⏎ ")), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
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
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 300 {
		l = l[:300] + "…"
	}
	return l
}
