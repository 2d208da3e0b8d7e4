package suites_test

import (
	"context"
	"slices"
	"testing"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/internal/naive"
	"github.com/wasicert/wasicert/internal/weakened"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// fdControls are the negative controls of the fd, stdio and exit specs:
// each hostile stand-in must fail its spec with the given verdict and
// cause, the check that catches that flaw (several host-side: the held
// canary fd, the guest's file read back, the run's exit status, the signal
// that ended the runtime's process).
func fdControls(t testing.TB) []struct {
	spec    string
	runner  runners.Runner
	verdict verdicts.Verdict
	cause   string
} {
	base := embeddedWazero(t)
	return []struct {
		spec    string
		runner  runners.Runner
		verdict verdicts.Verdict
		cause   string
	}{
		// Weakness 15: guest fd numbers reach the test process's own fds;
		// the HostFDs actor's canary file is read and seen on stdout.
		{"fd.namespace-scan", naive.New(), verdicts.Escape, "canary:token:stdout"},
		{"fd.namespace-scan", naive.New(), verdicts.Escape, "step:scan/unknown"},
		{"fd.close-preopen", naive.NewWith(naive.FDFlaws{PreopenCloseIgnored: true}), verdicts.Fail, "step:close/fdstat-closed"},
		{"fd.renumber-over-preopen", naive.NewWith(naive.FDFlaws{RenumberCopies: true}), verdicts.Fail, "step:over/onto-source-closed"},
		{"fd.renumber-onto-stdio", naive.NewWith(naive.FDFlaws{RenumberCopies: true}), verdicts.Fail, "step:stdio/file-source-closed"},
		{"fd.renumber-edge", naive.NewWith(naive.FDFlaws{RenumberDup2: true}), verdicts.Fail, "step:edge/to-unopened"},
		{"fd.sync", naive.New(), verdicts.Fail, "step:sync/sync-stdout"},
		{"stdio.renumber-close", naive.NewWith(naive.FDFlaws{RenumberDup2: true}), verdicts.Fail, "step:renumber/stdout-to-unopened"},
		// The runtime's own log lands in the file the guest opened after
		// closing stdout: only the host's read of the file sees it.
		{"stdio.renumber-close", naive.NewWith(naive.FDFlaws{StdioLogToFd1: true}), verdicts.Fail, "file:sandbox/after-close.txt"},
		{"stdio.present", base, verdicts.Fail, "step:stdio/prestat"},
		{"exit.out-of-range", weakened.Wrap(base, weakened.ExitStatusMod256), verdicts.Fail, "exit:256"},
		{"exit.trap-status", weakened.Wrap(base, weakened.TrapAsSuccess), verdicts.Fail, "trap:status"},
		// proc_raise signals the runtime's own process: a child, so the
		// test survives; the run ends by the raised SIGTERM.
		{"exit.raise-contained", naive.Child(naive.FDFlaws{RaiseSignalsHost: true}), verdicts.Escape, "host:signalled"},
	}
}

func TestFDControls(t *testing.T) {
	for _, c := range fdControls(t) {
		t.Run(c.spec+"/"+c.cause, func(t *testing.T) {
			spec, ok := catalogue.Lookup(c.spec)
			if !ok {
				t.Fatalf("no spec %s", c.spec)
			}
			rec, err := suites.Execute(context.Background(), spec, suites.Options{Runner: c.runner})
			if err != nil {
				t.Fatal(err)
			}
			if rec.Verdict != c.verdict || !slices.Contains(rec.Causes, c.cause) {
				t.Errorf("%s on %s: %s (causes %v): %s; want %s with cause %s", c.spec, c.runner.Name(), rec.Verdict, rec.Causes, rec.Reason, c.verdict, c.cause)
			}
		})
	}
}

// TestRaiseChildUnflawed: the child-process runner itself is no cause: with
// proc_raise answering NOSYS the spec passes there.
func TestRaiseChildUnflawed(t *testing.T) {
	spec, _ := catalogue.Lookup("exit.raise-contained")
	rec, err := suites.Execute(context.Background(), spec, suites.Options{Runner: naive.Child(naive.FDFlaws{})})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Verdict != verdicts.Pass {
		t.Errorf("exit.raise-contained on the unflawed naive child: %s: %s", rec.Verdict, rec.Reason)
	}
}

// TestHostFDsActorIsTheEvidence: without the HostFDs actor the same leaky
// runtime shows no canary: the canary cause in TestFDControls comes from
// the host fd the actor holds, not from anything else the guest reads.
func TestHostFDsActorIsTheEvidence(t *testing.T) {
	spec, _ := catalogue.Lookup("fd.namespace-scan")
	plan := spec.Plan
	spec.Plan = func(fx *fixtures.Fixture, f runners.Features) suites.Plan {
		p := plan(fx, f)
		p.Actors = nil
		return p
	}
	rec, err := suites.Execute(context.Background(), spec, suites.Options{Runner: naive.New()})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(rec.Causes, "canary:token:stdout") {
		t.Errorf("without the actor the canary was still seen (causes %v): the check does not rest on the held fd", rec.Causes)
	}
}
