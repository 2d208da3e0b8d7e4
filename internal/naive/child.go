package naive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
)

// childEnv names the file that tells a re-executed test binary to run one
// invocation as the naive runtime's child (ChildMain).
const childEnv = "WASICERT_NAIVE_CHILD"

// childJob is what the parent hands the child.
type childJob struct {
	// Module is the probe module itself, so the child writes no probe
	// directory of its own (it may die by a signal before cleaning up).
	Module   runners.Module
	Args     []string
	Env      []string
	Preopens []runners.Preopen
	Stdin    []byte
	Timeout  time.Duration
	Flaws    FDFlaws
}

// Child returns the naive runner with flaws, run in a child process: the
// test binary itself, re-executed, whose TestMain calls ChildMain first. A
// flaw that hurts the runtime's own process (RaiseSignalsHost) then ends
// the child, and the test sees it as a runtime started as a process would
// be seen: ended by a signal. Only probe modules run there (by name).
func Child(f FDFlaws) runners.Runner { return childRunner{f} }

type childRunner struct{ flaws FDFlaws }

func (childRunner) Name() string    { return Name + " (child process)" }
func (childRunner) Version() string { return New().Version() }

// Features are naive's without signals, sockets and containers: the child
// runs plain probe invocations only.
func (childRunner) Features() runners.Features {
	return runners.Features{runners.FeatureReadOnlyPreopen, runners.FeatureStdin}
}

func (c childRunner) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	if err := inv.Validate(); err != nil {
		return runners.Result{}, err
	}
	if _, err := probes.Get(inv.Module.Name); err != nil {
		return runners.Result{}, fmt.Errorf("naive child runs probe modules only: %w", err)
	}
	job, err := json.Marshal(childJob{Module: runners.Module{Name: inv.Module.Name, Bytes: inv.Module.Bytes}, Args: inv.Args, Env: inv.Env, Preopens: inv.Preopens,
		Stdin: inv.Stdin, Timeout: inv.EffectiveTimeout(), Flaws: c.flaws})
	if err != nil {
		return runners.Result{}, err
	}
	f, err := os.CreateTemp("", "wasicert-naive-child-*.json")
	if err != nil {
		return runners.Result{}, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(job); err != nil {
		f.Close()
		return runners.Result{}, err
	}
	f.Close()

	runCtx, cancel := context.WithTimeout(ctx, inv.EffectiveTimeout()+5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(runCtx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+f.Name())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	res := runners.Result{Duration: time.Since(start), Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var ee *exec.ExitError
	switch {
	case runCtx.Err() != nil:
		res.Ended, res.Detail = runners.EndedTimeout, "deadline exceeded"
	case err == nil:
		res.Ended = runners.EndedExit
	case errors.As(err, &ee):
		ws, _ := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			res.Ended, res.Detail = runners.EndedCrash, "signal: "+process.SignalName(ws.Signal())
		} else {
			res.Ended, res.ExitCode = runners.EndedExit, ws.ExitStatus()
		}
	default:
		return runners.Result{}, err
	}
	return res, nil
}

// IsChild reports whether this process is a naive child (see Child).
func IsChild() bool { return os.Getenv(childEnv) != "" }

// ChildMain runs the child's one invocation and exits with its status. A
// trap or crash exits 70 after printing the detail on stderr.
func ChildMain() {
	b, err := os.ReadFile(os.Getenv(childEnv))
	var job childJob
	if err == nil {
		err = json.Unmarshal(b, &job)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "naive child:", err)
		os.Exit(71)
	}
	res, err := NewWith(job.Flaws).Run(context.Background(), runners.Invocation{Module: job.Module, Args: job.Args, Env: job.Env,
		Preopens: job.Preopens, Stdin: job.Stdin, Timeout: job.Timeout})
	if err != nil {
		fmt.Fprintln(os.Stderr, "naive child:", err)
		os.Exit(71)
	}
	os.Stdout.Write(res.Stdout)
	os.Stderr.Write(res.Stderr)
	if res.Ended != runners.EndedExit {
		fmt.Fprintln(os.Stderr, "naive child:", res.String())
		os.Exit(70)
	}
	os.Exit(res.ExitCode)
}
