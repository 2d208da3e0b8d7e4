package node_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/node"
	"github.com/wasicert/wasicert/runners/process/proctest"
)

func openNode(t *testing.T) runners.Runner {
	r, err := runners.Open(node.NodeName)
	if err != nil {
		t.Skipf("node: %v", err)
	}
	t.Logf("%s %s", r.Name(), r.Version())
	return r
}

// openBun installs bun through runtimes.mk when it is missing (npm is
// reachable here), or skips with the reason.
func openBun(t *testing.T) runners.Runner {
	if _, err := node.FindBun(); err != nil {
		root := proctest.RepoRoot(t)
		cmd := exec.Command("make", "-f", filepath.Join(root, "ci/runtimes/runtimes.mk"), "bun")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("bun missing and `make -f ci/runtimes/runtimes.mk bun` failed: %v\n%s", err, out)
		}
	}
	r, err := runners.Open(node.BunName)
	if err != nil {
		t.Skipf("bun: %v", err)
	}
	t.Logf("%s %s", r.Name(), r.Version())
	return r
}

func TestNodeBasic(t *testing.T) { proctest.Basic(t, openNode(t), proctest.Expect{}) }
func TestBunBasic(t *testing.T)  { proctest.Basic(t, openBun(t), proctest.Expect{}) }

func TestFeatures(t *testing.T) {
	for _, r := range []runners.Runner{openNode(t), openBun(t)} {
		inv := proctest.Inv(proctest.Module(t, "prestat"), nil)
		inv.Preopens = []runners.Preopen{{GuestPath: "/sandbox", HostDir: t.TempDir()}}
		res := proctest.Run(t, r, inv)
		t.Logf("%s: preopen names %q", r.Name(), res.Stdout)
		if !strings.Contains(string(res.Stdout), "/sandbox") {
			t.Errorf("%s: preopen names %q (%s, %q)", r.Name(), res.Stdout, res, res.Stderr)
		}
		inv.Preopens[0].ReadOnly = true
		if _, err := r.Run(context.Background(), inv); err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("%s: a read-only preopen must be refused, got %v", r.Name(), err)
		}
		res, err := r.Run(context.Background(), proctest.Inv(proctest.Module(t, "sock"), nil))
		linked := err == nil && res.Ended == runners.EndedExit
		t.Logf("%s: sock imports linked=%v (%v %s)", r.Name(), linked, err, res)
		if linked != r.Features().Has(runners.FeatureSockImports) {
			t.Errorf("%s: sock imports linked=%v but FeatureSockImports=%v", r.Name(), linked, r.Features().Has(runners.FeatureSockImports))
		}
	}
}

func TestTiming(t *testing.T) {
	for _, r := range []runners.Runner{openNode(t), openBun(t)} {
		d := proctest.Time(t, r, proctest.Inv(proctest.Module(t, "hello"), nil), 11)
		t.Logf("%s: WAT hello median %s", r.Name(), d)
	}
}
