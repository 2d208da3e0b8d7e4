package node_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/internal/proctest"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/node"
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
	if _, err := node.OpenBun(); errors.Is(err, runners.ErrNotInstalled) {
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

// TestGuestEndings: a guest stack overflow (V8's RangeError) is a trap; an
// env key "__proto__" reaches the guest; a NUL byte or invalid UTF-8 in an
// argument is refused with one line, not cut or rewritten.
func TestGuestEndings(t *testing.T) {
	for _, r := range []runners.Runner{openNode(t), openBun(t)} {
		res := proctest.Run(t, r, proctest.Inv(proctest.Module(t, "recurse"), nil))
		if res.Ended != runners.EndedTrap || !strings.Contains(res.Detail, "call stack") {
			t.Errorf("%s: recurse: %s (stderr %q)", r.Name(), res, res.Stderr)
		}
		res = proctest.Run(t, r, proctest.Inv(proctest.Module(t, "env"), []string{"__proto__=x", "A=1"}))
		if got := string(res.Stdout); got != "__proto__=x\x00A=1\x00" {
			t.Errorf("%s: env: guest saw %q (%s, %q)", r.Name(), got, res, res.Stderr)
		}
		for arg, want := range map[string]string{
			"a\x00b": `argument 2 "a\x00b" holds a NUL byte`,
			"a\xffb": "argument 2 is not valid UTF-8: the " + r.Name() + " runner passes arguments as JSON",
		} {
			_, err := r.Run(context.Background(), proctest.Inv(proctest.Module(t, "args"), nil, "ok", arg))
			if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("%s: argument %q: got %v, want one line holding %q", r.Name(), arg, err, want)
			}
		}
	}
}

func TestTiming(t *testing.T) {
	for _, r := range []runners.Runner{openNode(t), openBun(t)} {
		d := proctest.Time(t, r, proctest.Inv(proctest.Module(t, "hello"), nil), 11)
		t.Logf("%s: WAT hello median %s", r.Name(), d)
	}
}
