package suites

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/runners"
)

// Actor is a host-side part of a Plan: it may change the Invocation before
// the run (a listener to preopen) and act while the guest runs (a client
// that talks to it, a signal sent to it). Specs compose the actors they
// need; Execute calls each one's Act in order and knows none of them.
type Actor interface {
	// Act readies the actor for one run: it may change st.Invocation, and
	// returns run wrapped with what the actor does around it. An error is
	// the harness's own (no free port, a runner that cannot signal).
	Act(st *Stage, run RunFunc) (RunFunc, error)
}

// ErrSkip, wrapped in an actor's error with a one-line reason, says the
// host cannot set the actor up here (e.g. it needs root): Execute records
// the spec as skipped with that reason instead of failing the harness.
var ErrSkip = errors.New("skipped")

// RunFunc runs one Invocation: a Runner's Run, or an actor's wrapping of it.
type RunFunc func(ctx context.Context, inv runners.Invocation) (runners.Result, error)

// Stage is what an actor sees of the run being set up.
type Stage struct {
	Runner  runners.Runner
	Fixture *fixtures.Fixture
	// Invocation is the run's, before the run: an actor may add to it.
	Invocation *runners.Invocation
	// ExtraOutputs are the stdout and stderr of runs an actor made besides
	// the main one (Rerun): the harness scans them for canaries like the
	// main run's, whether or not the runner watched them.
	ExtraOutputs [][]byte
}

// KeepOutputs hands an extra run's outputs to the harness's canary scan.
func (st *Stage) KeepOutputs(res runners.Result) {
	st.ExtraOutputs = append(st.ExtraOutputs, res.Stdout, res.Stderr)
}

// ActorOf returns the plan's first actor of type T, for a judge to read
// what the actor saw.
func ActorOf[T Actor](ev *Evidence) (T, bool) {
	for _, a := range ev.Plan.Actors {
		if t, ok := a.(T); ok {
			return t, true
		}
	}
	var zero T
	return zero, false
}

// Listener preopens one listening TCP socket on 127.0.0.1 for the guest
// (runners.Invocation.Listeners) and, when Client is set, runs Client
// against its address beside the guest. Client never outlives the run:
// the run returns only once Client has. What it returned is in Data and Err.
type Listener struct {
	Client func(addr string, fx *fixtures.Fixture) (string, error)
	Data   string
	Err    error
}

// Act picks a free loopback port and wraps run with the client.
func (l *Listener) Act(st *Stage, run RunFunc) (RunFunc, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	st.Invocation.Listeners = append(st.Invocation.Listeners, runners.Listener{Addr: addr})
	if l.Client == nil {
		return run, nil
	}
	fx := st.Fixture
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			l.Data, l.Err = l.Client(addr, fx)
		}()
		res, err := run(ctx, inv)
		<-done // also on error: the client must not outlive the spec
		return res, err
	}, nil
}

// freeLoopbackAddr picks a free TCP port on 127.0.0.1 for a preopened listener.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("no free loopback port for a listener: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Signal sends Sig to the guest After it started; the runner must implement
// runners.Signaller (specs that use it require runners.FeatureSignal).
type Signal struct {
	Sig   syscall.Signal
	After time.Duration
}

// Act replaces the run with the runner's RunWithSignal, so Signal comes
// first among a plan's actors (those after it wrap the signalled run).
func (s Signal) Act(st *Stage, _ RunFunc) (RunFunc, error) {
	sig, ok := st.Runner.(runners.Signaller)
	if !ok {
		return nil, fmt.Errorf("runtime %s claims feature %q but cannot deliver signals", st.Runner.Name(), runners.FeatureSignal)
	}
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		return sig.RunWithSignal(ctx, inv, s.Sig, s.After)
	}, nil
}
