package containerd_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/wasicert/wasicert/internal/ctrtest"
	"github.com/wasicert/wasicert/internal/proctest"
	ctrd "github.com/wasicert/wasicert/runners/containerd"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// shimSpecs are the specs of issue 8's process half: each must pass on our
// shim and fail one of its own checks on the weakened shim (the build tag
// wasicert_weakened: the shim before issue 8).
var shimSpecs = map[string]string{ // spec -> a cause the weakened shim must show
	"shim.process-user":   "step:user.root-only",
	"shim.memory-limit":   "memory:grew",
	"shim.kill-blocked":   "kill:not-landed",
	"shim.task-metrics":   "metrics:error",
	"shim.create-bounded": "create:leftover",
}

// TestShimSpecs runs the shim specs through a private containerd on our
// shim and on the weakened one (WASICERT_CONTAINERD_VERSIONS, default 2).
func TestShimSpecs(t *testing.T) {
	if r := ctrtest.SkipReason(); r != "" {
		t.Skip(r)
	}
	versions := []string{"2"}
	if v := os.Getenv("WASICERT_CONTAINERD_VERSIONS"); v != "" {
		versions = strings.Fields(v)
	}
	dir := t.TempDir()
	shims := map[string]string{"ours": buildShim(t, dir)}
	weak := filepath.Join(dir, "weak", "containerd-shim-wazero-v1")
	cmd := exec.Command("go", "build", "-tags", "wasicert_weakened", "-o", weak, "./cmd/containerd-shim-wazero-v1")
	cmd.Dir = proctest.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the weakened shim: %v\n%s", err, out)
	}
	shims["weakened"] = weak
	var specs []suites.Spec
	for _, s := range catalogue.All() {
		if f := os.Getenv("WASICERT_SHIM_SPEC"); f != "" && f != s.ID {
			continue
		}
		if _, ok := shimSpecs[s.ID]; ok {
			specs = append(specs, s)
		}
	}
	if len(specs) != len(shimSpecs) && os.Getenv("WASICERT_SHIM_SPEC") == "" {
		t.Fatalf("found %d of the %d shim specs in the catalogue", len(specs), len(shimSpecs))
	}
	for _, v := range versions {
		for _, name := range []string{"ours", "weakened"} {
			t.Run(v+"/"+name, func(t *testing.T) {
				d, err := ctrtest.Start(v, shims[name])
				if errors.Is(err, ctrtest.ErrSkip) {
					t.Skip(err)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer d.Stop()
				r, err := ctrd.New(ctrd.Options{Name: "containerd-wazero", Address: d.Address, StateDir: t.TempDir()})
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				for _, spec := range specs {
					rec, err := suites.Execute(context.Background(), spec, suites.Options{Runner: r})
					if err != nil {
						t.Fatalf("%s: %v", spec.ID, err)
					}
					t.Logf("%s on %s shim: %s: %s %v %v", spec.ID, name, rec.Verdict, rec.Reason, rec.Causes, rec.Notes)
					if rec.Verdict != verdicts.Pass {
						t.Logf("calls %+v\ncontainerd log tail:\n%s", rec.Calls, tail(d.Log(), 400))
					}
					// The weakened shim leaves processes behind (a
					// blocked guest, a shim still compiling): end them.
					killLeftovers(t, d.Address)
					switch {
					case name == "ours" && rec.Verdict != verdicts.Pass:
						t.Errorf("%s: %s on our shim, want pass: %s (causes %v)", spec.ID, rec.Verdict, rec.Reason, rec.Causes)
					case name == "weakened" && !slices.Contains(rec.Causes, shimSpecs[spec.ID]):
						t.Errorf("%s: %s on the weakened shim with causes %v, want the check %s to fail", spec.ID, rec.Verdict, rec.Causes, shimSpecs[spec.ID])
					}
				}
			})
		}
	}
}

// killLeftovers kills the shims of spec containers (id wasicert-spec-*)
// still running on the containerd at address; their guests die with them
// (the death signal), also the weakened shim's.
func killLeftovers(t *testing.T, address string) {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if !slices.Contains(args, address) || !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "wasicert-spec-") }) {
			continue
		}
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err == nil {
			t.Logf("killing leftover %d: %s", pid, strings.Join(args, " "))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
