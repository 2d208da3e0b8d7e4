package cri_test

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/internal/ctrtest"
	"github.com/wasicert/wasicert/internal/weakened"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/cri"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// Shims to test the pod specs against (default: built from this tree):
// WASICERT_POD_SHIM_BIN is our shim as handler wazero,
// WASICERT_POD_WEAK_SHIM_BIN the weakened one (build tag
// wasicert_weakened) as handler wazeroweak.
const (
	envPodShim     = "WASICERT_POD_SHIM_BIN"
	envPodWeakShim = "WASICERT_POD_WEAK_SHIM_BIN"
)

type podControl struct {
	r     runners.Runner
	cause string // "judge": any cause of the spec's own judge
	// needs, when set, is a feature the control needs of the runner
	// (a host-network pod shares the node's UTS namespace by design).
	needs runners.Feature
}

// podControls: for each pod spec, its negative controls through the same
// CRI (a weakening of the run, or the weakened shim) and the cause each
// must fail with.
func podControls(ours, weak runners.Runner) map[string][]podControl {
	return map[string][]podControl{
		"pod.token":            {{weakened.Wrap(ours, weakened.TokenAlwaysMounted), "step:token.0", ""}},
		"pod.hostname":         {{weakened.Wrap(ours, weakened.NodeHostnameMounted), "hostname:node", ""}, {weak, "hostname:uts-node", runners.FeaturePodNetwork}},
		"pod.network":          {{weak, "net:node", ""}}, // the weakened shim's guests join no namespace
		"pod.pause-never-runs": {{weak, "pause:runs", ""}},
		"pod.env":              {{weakened.Wrap(ours, weakened.EnvPassthrough), "judge", ""}},
		"pod.read-only-root":   {{weakened.Wrap(ours, weakened.PodReadOnlyRootfsIgnored), "ro:rootfs", ""}},
		// The weakened shim kills its guests on Delete whatever Kill did,
		// so it leaves nothing either: a stand-in leaves a FIFO of the pod
		// (Traces' own stand-in is runners/docker TestTracesSeesALeftover).
		"pod.deleted-mid-run": {{weakened.Wrap(ours, weakened.PodDeleteAsStop), "delete:not-deleted", ""}, {weakened.PodFIFOLeft(ours), "delete:leftover", ""}},
	}
}

// TestPodSpecs: every pod spec passes through containerd's CRI on our shim
// (or is skipped with a reason the runner gives) and fails its own check on
// each of its negative controls, on containerd 1.6 and 2 (as root, with
// the weakened shim as handler wazeroweak). WASICERT_POD_STRICT=0 logs
// instead of failing when our shim does not pass (a shim that lacks what
// a spec needs: the verdicts are the measurement).
func TestPodSpecs(t *testing.T) {
	if r := ctrtest.SkipReason(); r != "" {
		t.Skip(r)
	}
	shim := os.Getenv(envPodShim)
	if shim == "" {
		shim = ctrtest.BuildShim(t)
	}
	t.Setenv("WASICERT_WEAK_SHIM", "1")
	if w := os.Getenv(envPodWeakShim); w != "" {
		t.Setenv("WEAK_SHIM_BIN", w)
	}
	// containerd (and every shim) inherits the host canary: it must never
	// reach a guest.
	fixtures.HostEnvCanary()
	strict := os.Getenv("WASICERT_POD_STRICT") != "0"
	for _, v := range ctrtest.Versions() {
		t.Run("containerd-"+v, func(t *testing.T) {
			d := ctrtest.StartCRIFor(t, v, shim)
			var opened []*cri.Runner
			defer func() {
				for _, r := range opened {
					if err := r.Close(); err != nil {
						t.Errorf("close %s: %v", r.Name(), err)
					}
				}
			}()
			open := func(name, handler string) *cri.Runner {
				r, err := cri.New(cri.Options{Name: name, Endpoint: "unix://" + d.Address, RuntimeHandler: handler, StateDir: t.TempDir()})
				if err != nil {
					t.Fatal(err)
				}
				opened = append(opened, r)
				return r
			}
			ours, weak := open("cri", "wazero"), open("cri-wazeroweak", "wazeroweak")
			t.Logf("%s", ours.Version())
			ctl := podControls(ours, weak)
			n := 0
			for _, spec := range catalogue.All() {
				if spec.Area != suites.AreaPod {
					continue
				}
				n++
				cs, ok := ctl[spec.ID]
				if !ok {
					t.Errorf("%s: no negative control: add one to podControls()", spec.ID)
					continue
				}
				t.Run(spec.ID, func(t *testing.T) {
					rec, err := suites.Execute(context.Background(), spec, suites.Options{Runner: ours})
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("ours: %s: %s %v %v", rec.Verdict, rec.Reason, rec.Causes, rec.Notes)
					if rec.Verdict == verdicts.Skipped {
						if rec.Reason == "" {
							t.Errorf("%s skipped without a reason", spec.ID)
						}
						return // its controls would skip as well
					}
					if rec.Verdict != verdicts.Pass {
						if strict {
							t.Errorf("%s on our shim through the CRI: %s: %s (causes %v)", spec.ID, rec.Verdict, rec.Reason, rec.Causes)
						} else {
							t.Logf("MEASURED: %s on our shim through the CRI: %s (causes %v)", spec.ID, rec.Verdict, rec.Causes)
						}
					}
					for _, c := range cs {
						if c.needs != "" && !c.r.Features().Has(c.needs) {
							t.Logf("control %s not checked: the runner does not claim %q", c.r.Name(), c.needs)
							continue
						}
						if spec.ID == "pod.pause-never-runs" && slices.ContainsFunc(rec.Notes, func(n string) bool { return strings.HasSuffix(n, ".wasm") }) {
							// cri.sh's wasm pause image is no Linux code:
							// no shim can run it as a Linux process.
							t.Logf("control %s not checked: the sandbox image's entrypoint is WebAssembly (%v); it needs a Linux pause image", c.r.Name(), rec.Notes)
							continue
						}
						rec, err := suites.Execute(context.Background(), spec, suites.Options{Runner: c.r})
						if err != nil {
							t.Fatal(err)
						}
						t.Logf("control %s: %s: %s %v", c.r.Name(), rec.Verdict, rec.Reason, rec.Causes)
						own := slices.ContainsFunc(rec.Causes, func(s string) bool {
							return !strings.HasPrefix(s, "control:") && !strings.HasPrefix(s, "run:")
						})
						if !rec.Verdict.Failing() || !own || (c.cause != "judge" && !slices.Contains(rec.Causes, c.cause)) {
							t.Errorf("%s on its control (%s): %s with causes %v, want it to fail with %s", spec.ID, c.r.Name(), rec.Verdict, rec.Causes, c.cause)
						}
					}
				})
			}
			if n != len(ctl) {
				t.Errorf("%d pod specs in the catalogue, %d with controls", n, len(ctl))
			}
		})
	}
}
