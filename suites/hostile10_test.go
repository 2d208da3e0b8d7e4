package suites_test

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wasicert/wasicert/internal/netext"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

// hostile10Runtime is hostileRuntime with testdata/hostile10-runtime.sh:
// the real wazero CLI runs the guest, then the script does act.
func hostile10Runtime(t *testing.T, act string) runners.Runner {
	return scriptRuntime(t, "hostile10-runtime.sh", "hostile10-", act)
}

// TestHostileHostWatchFollowsHelpers: a runtime whose helper process
// leaves the run's work dir before it grows past the memory bound is still
// measured (HostWatch finds it by the environment internal/process gave
// it). Before, only the cwd told the runtime's processes, and the helper's
// 400 MiB went unseen: resource.stdout-flood passed.
func TestHostileHostWatchFollowsHelpers(t *testing.T) {
	for _, act := range []string{"bloat-here", "bloat-elsewhere"} {
		t.Run(act, func(t *testing.T) {
			rec := execute(t, context.Background(), hostile10Runtime(t, act), "resource.stdout-flood", suites.Options{})
			if !rec.Verdict.Failing() || !slices.Contains(rec.Causes, "memory:rss") {
				t.Errorf("verdict %s with causes %v, want a failure caused by memory:rss", rec.Verdict, rec.Causes)
			}
		})
	}
}

// rerunHijack stands in for a runtime that, on one of a spec's extra runs
// (exit.out-of-range's proc_exit(126)), runs something else: the fs probe
// with the fixture's outside dir preopened, which prints the secret. The
// plan's own run is untouched, so only the rerun's output holds the canary.
type rerunHijack struct{ runners.Runner }

func (r rerunHijack) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	if len(inv.Args) == 2 && inv.Args[1] == "126" {
		fs, err := probes.Get("fs")
		if err != nil {
			return runners.Result{}, err
		}
		inv.Module = fs
		inv.Preopens = []runners.Preopen{{GuestPath: "/loot", HostDir: filepath.Join(filepath.Dir(inv.WorkDir), "outside")}}
		inv.Args = []string{suites.Argv0, probes.OpLibcOpen, "loot", "/loot/secret.txt"}
	}
	return r.Runner.Run(ctx, inv)
}

// TestHostileRerunLeakCounts: a canary the runner saw in an extra run's
// output (catalogue.Reruns) is evidence like the plan's own run's.
func TestHostileRerunLeakCounts(t *testing.T) {
	rec := execute(t, context.Background(), rerunHijack{embeddedWazero(t)}, "exit.out-of-range", suites.Options{})
	if rec.Verdict != verdicts.Escape || !slices.Contains(rec.Causes, "canary:token:stdout") {
		t.Errorf("verdict %s with causes %v, want escape with canary:token:stdout", rec.Verdict, rec.Causes)
	}
}

// socketKeeper stands in for an embedded runtime that keeps the guest's
// listening socket past the run (never closes it at the run's end): after
// the inner runtime (internal/netext, Lying: it listens on the host and
// answers the guest ACCES) returns, it listens again
// on the port the guest asked for and holds it until the test ends.
type socketKeeper struct {
	runners.Runner
	t *testing.T
}

func (r socketKeeper) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	res, err := r.Runner.Run(ctx, inv)
	if i := slices.Index(inv.Args, "listen.canary"); i >= 0 && i+2 < len(inv.Args) {
		if ln, lerr := net.Listen("tcp4", net.JoinHostPort(inv.Args[i+1], inv.Args[i+2])); lerr == nil {
			r.t.Cleanup(func() { ln.Close() })
		} else {
			r.t.Errorf("the stand-in could not keep %s:%s: %v", inv.Args[i+1], inv.Args[i+2], lerr)
		}
	}
	return res, err
}

// TestHostileHeldPortIsNoAlibi: a runtime that listened where nothing was
// granted and keeps the socket past the run is an escape, not "port held
// by another process, run again" (a Fail, which it was): the guest's records
// show only refusals, so the canary client is the whole evidence.
func TestHostileHeldPortIsNoAlibi(t *testing.T) {
	r := socketKeeper{newNetExt(t, netext.WasmEdge, netext.Lying), t}
	rec := execute(t, context.Background(), r, "socket.ext-bind-listen-ungranted", suites.Options{})
	if rec.Verdict != verdicts.Escape || !slices.Equal(rec.Causes, []string{"net:canary-client"}) {
		t.Errorf("verdict %s with causes %v, want escape caused by net:canary-client alone", rec.Verdict, rec.Causes)
	}
}

// blindRunner stands in for a runner without a canary watch: it reports no
// sightings, whatever its runs printed.
type blindRunner struct{ runners.Runner }

func (r blindRunner) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	res, err := r.Runner.Run(ctx, inv)
	res.Sightings = nil
	return res, err
}

// TestHostileRerunOutputScanned: an extra run's output is scanned by the
// harness itself (Stage.KeepOutputs), so a canary it printed is an escape
// even when the runner watched nothing; before, only the runner's own
// sightings of extra runs counted.
func TestHostileRerunOutputScanned(t *testing.T) {
	rec := execute(t, context.Background(), rerunHijack{blindRunner{embeddedWazero(t)}}, "exit.out-of-range", suites.Options{})
	if rec.Verdict != verdicts.Escape || !slices.Contains(rec.Causes, "canary:token:output 2") {
		t.Errorf("verdict %s with causes %v, want escape with the canary in an extra run's output", rec.Verdict, rec.Causes)
	}
}
