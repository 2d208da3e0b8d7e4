package suites_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/internal/checkopen"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// chainDepthControl is a check-then-open host whose resolver gives up
// after 5 symlinks and says the file does not exist: the negative control
// of symlink.chain-depth.
func chainDepthControl() runners.Runner {
	return checkopen.New(checkopen.Options{Name: "check-then-open (symlink limit 5, NOENT)", MaxLinks: 5, LimitErrno: experimentalsys.ENOENT})
}

func executeSymlink(t *testing.T, id string, r runners.Runner) verdicts.Record {
	t.Helper()
	spec, ok := catalogue.Lookup(id)
	if !ok {
		t.Fatalf("no spec %s", id)
	}
	rec, err := suites.Execute(context.Background(), spec, suites.Options{Runner: r})
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	t.Logf("%s on %s: %s: %s (causes %v, notes %q)", id, r.Name(), rec.Verdict, rec.Reason, rec.Causes, rec.Notes)
	return rec
}

// TestSwapRaceCatchesCheckThenOpen: a host that checks each path in user
// space and then opens it through the OS (internal/checkopen) holds against
// every static symlink escape, and loses symlink.swap-race: the race, not a
// static link, is what the spec catches. The guest's loop is bounded
// (iterations and time), so the test is too.
func TestSwapRaceCatchesCheckThenOpen(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the swap race needs renameat2(RENAME_EXCHANGE)")
	}
	r := checkopen.New(checkopen.Options{})
	for _, id := range []string{"symlink.intermediate-escape", "symlink.creat-write-preexisting", "symlink.trailing-slash-escape"} {
		if rec := executeSymlink(t, id, r); rec.Verdict != verdicts.Pass {
			t.Errorf("%s: %s on the check-then-open host, want pass (it must hold statically for the race to be the cause)", id, rec.Verdict)
		}
	}
	rec := executeSymlink(t, "symlink.swap-race", r)
	if rec.Verdict != verdicts.Escape || !slices.ContainsFunc(rec.Causes, func(c string) bool { return strings.HasPrefix(c, "step:race.") }) {
		t.Errorf("symlink.swap-race: %s (causes %v) on the check-then-open host, want escape caused by a race step", rec.Verdict, rec.Causes)
	}
}

// TestChainDepthControl: a resolver that stops following before POSIX's
// minimum and answers NOENT fails symlink.chain-depth on its own checks.
func TestChainDepthControl(t *testing.T) {
	rec := executeSymlink(t, "symlink.chain-depth", chainDepthControl())
	if rec.Verdict != verdicts.Fail || !slices.Contains(rec.Causes, "step:chain.7") {
		t.Errorf("symlink.chain-depth: %s (causes %v), want fail caused by step:chain.7", rec.Verdict, rec.Causes)
	}
}

// TestSwapperStaysInFixture: the Swapper refuses a race dir that was
// replaced by a symlink out of the fixture, and when the entries it swaps
// are themselves symlinks out, exchanging them changes nothing they point at.
func TestSwapperStaysInFixture(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Swapper needs renameat2(RENAME_EXCHANGE)")
	}
	layout := fixtures.Standard
	layout.Tree = append(slices.Clone(layout.Tree),
		fixtures.Symlink{Path: "sandbox/race", Target: "../outside/keep"},
		fixtures.Symlink{Path: "sandbox/race2/a", Target: "../../outside/secret.txt"},
		fixtures.Symlink{Path: "sandbox/race2/b", Target: "../../outside/keep"},
	)
	fx, err := fixtures.New(t.TempDir(), layout)
	if err != nil {
		t.Fatal(err)
	}
	defer fx.Remove()
	// The hostile stand-in: race is a symlink to outside/keep, whose
	// keep.txt the swapper would exchange if it followed it.
	hostile := &suites.Swapper{Dir: "sandbox/race", Pairs: [][2]string{{"keep.txt", "x"}}, MaxSwaps: 10, MaxTime: time.Minute}
	if _, err := hostile.Act(&suites.Stage{Fixture: fx, Invocation: &runners.Invocation{}}, nil); err == nil {
		t.Error("the Swapper accepted a race dir that is a symlink out of the sandbox")
	}
	if _, err := os.Lstat(fx.Path("outside/keep/x")); err == nil {
		t.Error("the Swapper renamed inside outside/keep")
	}
	sw := &suites.Swapper{Dir: "sandbox/race2", Pairs: [][2]string{{"a", "b"}}, MaxSwaps: 1000, MaxTime: time.Minute}
	run, err := sw.Act(&suites.Stage{Fixture: fx, Invocation: &runners.Invocation{}}, func(context.Context, runners.Invocation) (runners.Result, error) {
		for sw.Swaps() < 500 && sw.Err() == nil {
			runtime.Gosched()
		}
		return runners.Result{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run(context.Background(), runners.Invocation{}); err != nil {
		t.Fatal(err)
	}
	if sw.Err() != nil || sw.Swaps() < 500 {
		t.Errorf("swapper: %d swaps, err %v", sw.Swaps(), sw.Err())
	}
	if f := fx.Check(); !f.Clean() {
		t.Errorf("the Swapper changed the fixture outside the sandbox: %s", f)
	}
}
