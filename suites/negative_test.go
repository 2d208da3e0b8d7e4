package suites_test

import (
	"context"
	"maps"
	"os"
	goruntime "runtime"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/internal/naive"
	"github.com/wasicert/wasicert/internal/netext"
	"github.com/wasicert/wasicert/internal/weakened"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/wazero"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// failing runs the whole catalogue on r without expectations and returns
// the verdict of every spec that failed (skips are not failures: the shim
// specs skip on runtimes that are not containers).
func failing(t *testing.T, r runners.Runner) map[string]verdicts.Verdict {
	t.Helper()
	out := map[string]verdicts.Verdict{}
	for id, rec := range failingRecords(t, r) {
		out[id] = rec.Verdict
	}
	return out
}

// failingRecords is failing with the whole records.
func failingRecords(t *testing.T, r runners.Runner) map[string]verdicts.Record {
	t.Helper()
	out := map[string]verdicts.Record{}
	for _, spec := range catalogue.All() {
		rec, err := suites.Execute(context.Background(), spec, suites.Options{Runner: r})
		if err != nil {
			t.Fatalf("%s: %v", spec.ID, err)
		}
		if rec.Verdict.Failing() {
			out[spec.ID] = rec
			t.Logf("%s on %s: %s: %s (causes %v)", spec.ID, r.Name(), rec.Verdict, rec.Reason, rec.Causes)
		}
	}
	return out
}

// checkFailed reports whether rec failed one of its spec's own checks (a
// refusal, a leak check, a judge's comparison, a canary, the snapshot), not
// merely its positive control ("control:") or the way the run ended
// ("run:"): a control that only does that proves nothing about the checks.
func checkFailed(rec verdicts.Record) bool {
	return slices.ContainsFunc(rec.Causes, func(c string) bool {
		return !strings.HasPrefix(c, "control:") && !strings.HasPrefix(c, "run:")
	})
}

func embeddedWazero(t testing.TB) runners.Runner {
	t.Helper()
	r, err := wazero.New(wazero.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wazeroBaseline is what unweakened wazero 1.12.0 fails, every entry in
// suites/catalogue/expectations/wazero.yaml.
var wazeroBaseline = map[string]verdicts.Verdict{
	"preopen.discovery":             verdicts.Fail,
	"preopen.guest-symlink":         verdicts.Escape,
	"preopen.host-symlink-absolute": verdicts.Escape,
	"preopen.host-symlink-relative": verdicts.Escape,
	"preopen.readonly-truncate":     verdicts.Escape,
	"rights.reported":               verdicts.Fail,
	// links-wazero.yaml
	"link.follow-escape":      verdicts.Escape,
	"link.rename-outside":     verdicts.Escape,
	"rights.readonly-derived": verdicts.Escape,
	"path.empty":              verdicts.Fail,
	// clockres-wazero.yaml: an absolute clock subscription answers NOTSUP
	"clock.poll":       verdicts.Fail,
	"path.file-as-dir": verdicts.Fail,
	// symlink area (expectations/symlink-wazero.yaml)
	"symlink.intermediate-escape":     verdicts.Escape,
	"symlink.creat-write-preexisting": verdicts.Escape,
	"symlink.trailing-slash-escape":   verdicts.Escape,
	"symlink.readlink-host-path":      verdicts.Leak,
	"symlink.swap-race":               verdicts.Escape,
	// fd and stdio (expectations/fd-wazero.yaml)
	"fd.renumber-over-preopen": verdicts.Fail,
	"fd.renumber-edge":         verdicts.Fail,
	"stdio.present":            verdicts.Fail,
}

// TestNegativeControls proves the specs fail for the right reason: each
// weakened wazero set-up must change the verdicts of exactly the specs that
// check for its weakness, and to exactly the expected verdicts.
func TestNegativeControls(t *testing.T) {
	base := embeddedWazero(t)
	t.Run("baseline", func(t *testing.T) {
		assertVerdicts(t, failing(t, base), wazeroBaseline)
	})
	controls := []struct {
		weakening weakened.Weakening
		changed   map[string]verdicts.Verdict // specs whose verdict differs from the baseline
	}{
		{weakened.EnvPassthrough, map[string]verdicts.Verdict{
			"env.empty": verdicts.Leak, "env.exact": verdicts.Leak, "env.host-canary": verdicts.Leak,
		}},
		{weakened.HostRootMounted, map[string]verdicts.Verdict{
			"preopen.discovery": verdicts.Escape, "preopen.none-granted": verdicts.Escape, "preopen.host-path-unreachable": verdicts.Escape,
			"fd.namespace-scan": verdicts.Escape,
		}},
		{weakened.ReadOnlyIgnored, map[string]verdicts.Verdict{
			"preopen.readonly-write": verdicts.Escape, "preopen.readonly-create": verdicts.Escape,
			"rights.fd-access": verdicts.Escape, "rights.reported": verdicts.Escape,
		}},
		{weakened.HostArgv0, map[string]verdicts.Verdict{
			"args.exact": verdicts.Fail, "args.argv0-no-host-path": verdicts.Leak,
		}},
		{weakened.ListenersDropped, map[string]verdicts.Verdict{
			"socket.accept-echo": verdicts.Fail, "socket.accept-nonblock": verdicts.Fail, "socket.recv-send-shutdown": verdicts.Fail,
		}},
		{weakened.ExitCodeLost, map[string]verdicts.Verdict{
			"exit.code-passthrough": verdicts.Fail, "exit.out-of-range": verdicts.Fail,
		}},
		{weakened.LastBitWrong, map[string]verdicts.Verdict{
			"portability.nan-canonical": verdicts.Fail, "portability.nan-bits": verdicts.Fail,
			"portability.float-conversions": verdicts.Fail, "portability.integer-ops": verdicts.Fail,
			"portability.memory-grow-limit": verdicts.Fail, "portability.memory-edges": verdicts.Fail,
			"portability.endianness": verdicts.Fail,
		}},
	}
	for _, c := range controls {
		t.Run(c.weakening.Name, func(t *testing.T) {
			t.Parallel()
			want := maps.Clone(wazeroBaseline)
			maps.Copy(want, c.changed)
			assertVerdicts(t, failing(t, weakened.Wrap(base, c.weakening)), want)
		})
	}
}

// TestControlsGuardRefusals: a runtime that refuses everything must not
// pass the escape specs: their positive controls fail them.
func TestControlsGuardRefusals(t *testing.T) {
	r := weakened.Wrap(embeddedWazero(t), weakened.PreopensMisdirected(t.TempDir()))
	got := failing(t, r)
	for _, spec := range catalogue.All() {
		if !hasControl(t, spec) || otherOS(spec) || slices.Contains(extSpecs, spec.ID) {
			continue // the extension specs skip here: TestNetExtControls guards them on internal/netext
		}
		if spec.Area == suites.AreaEngine {
			continue // skipped without an engine: runners/docker TestEngineSpecs guards them on a real dockerd
		}
		if spec.Area == suites.AreaPod {
			continue // skipped without pods: runners/cri TestPodSpecs guards them on a real containerd CRI
		}
		if got[spec.ID] == "" {
			t.Errorf("%s passed on a runtime whose preopens are empty: its refusals are not guarded by a control", spec.ID)
		}
	}
}

// hasControl reports whether spec's plan has a positive control on a preopen.
func hasControl(t *testing.T, spec suites.Spec) bool {
	fx, err := fixtures.New(t.TempDir(), fixtures.Standard)
	if err != nil {
		t.Fatal(err)
	}
	defer fx.Remove()
	plan := spec.Plan(fx, runners.Features{runners.FeatureReadOnlyPreopen})
	return len(plan.Preopens) > 0 && slices.ContainsFunc(plan.Steps, func(s suites.Step) bool { return s.Expect == suites.Succeed })
}

func TestMain(m *testing.M) {
	if naive.IsChild() {
		naive.ChildMain() // exits
	}
	code := m.Run()
	probes.Cleanup()
	os.Exit(code)
}

// TestNaiveRuntime runs the catalogue on a WASI implementation with no
// sandbox at all (internal/naive): every escape and leak spec must fail.
func TestNaiveRuntime(t *testing.T) {
	got := failing(t, naive.New())
	for _, spec := range catalogue.All() {
		if spec.Severity == suites.SeverityConformance || spec.Severity == suites.SeverityDoS || otherOS(spec) {
			continue // conformance and host bounds are not the sandbox: their controls are naive's flaws (TestClockResourceControls)
		}
		if spec.ID == "resource.readdir-padding" {
			continue // Go zeroes what naive copies: FlawReaddirGarbage is its control
		}
		if spec.Area == suites.AreaEngine {
			continue // naive is no engine: the engine specs' controls run on a real dockerd (runners/docker TestEngineSpecs)
		}
		if spec.Area == suites.AreaPod {
			continue // naive runs no pods: the pod specs' controls run through a real containerd CRI (runners/cri TestPodSpecs)
		}
		if spec.ID == "exit.raise-contained" {
			// Signalling the host would end this test: its control runs
			// naive in a child process (TestFDControls).
			continue
		}
		if slices.Contains(extSpecs, spec.ID) {
			continue // it links no socket extension: internal/netext is their control (TestNetExtControls)
		}
		if !got[spec.ID].Failing() {
			t.Errorf("%s (%s) passed on the naive runtime, which has no sandbox", spec.ID, spec.Severity)
		}
	}
	for _, id := range []string{"socket.non-socket-fd", "socket.invalid-fd", "socket.accept-echo", "shim.signal-exit"} {
		if got[id] != verdicts.Fail {
			t.Errorf("%s: got %q on the naive runtime (sock_* answer NOSYS, listeners ignored, signals swallowed), want fail", id, got[id])
		}
	}
}

func assertVerdicts(t *testing.T, got, want map[string]verdicts.Verdict) {
	t.Helper()
	ids := slices.Collect(maps.Keys(got))
	for id := range want {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		if got[id] != want[id] {
			t.Errorf("%s: verdict %q, want %q", id, orPass(got[id]), orPass(want[id]))
		}
	}
}

func orPass(v verdicts.Verdict) verdicts.Verdict {
	if v == "" {
		return verdicts.Pass
	}
	return v
}

// TestEverySpecCanFail: every spec of the catalogue, present and future,
// fails one of its own checks (not only its positive control, not only by
// how the run ended: see checkFailed) under at least one negative control
// (the naive runtime or a weakened wazero). A spec that no control can fail
// is a test that cannot fail.
func TestEverySpecCanFail(t *testing.T) {
	base := embeddedWazero(t)
	controls := []runners.Runner{
		naive.New(),
		weakened.Wrap(base, weakened.PreopensMisdirected(t.TempDir())),
		weakened.Wrap(base, weakened.EnvPassthrough),
		weakened.Wrap(base, weakened.HostRootMounted),
		weakened.Wrap(base, weakened.ReadOnlyIgnored),
		weakened.Wrap(base, weakened.HostArgv0),
		weakened.Wrap(base, weakened.ListenersDropped),
		weakened.Wrap(base, weakened.ExitCodeLost),
		weakened.OldShim(base),
		naive.Flawed(naive.AllFlaws()...),
		naive.NewVariant(naive.Options{ShallowReadOnly: true}),
		naive.NewVariant(naive.Options{RightsUnenforced: true}),
		naive.NewVariant(naive.Options{NarrowDirRights: true}),
		chainDepthControl(),
		newNetExt(t, netext.WasmEdge, netext.NoPolicy),
		newNetExt(t, netext.WasmEdge, netext.PoolIgnored),
		weakened.Wrap(base, weakened.ExitStatusMod256),
		weakened.Wrap(base, weakened.TrapAsSuccess),
		weakened.Wrap(base, weakened.LastBitWrong),
		naive.NewWith(naive.FDFlaws{PreopenCloseIgnored: true}),
		naive.NewWith(naive.FDFlaws{RenumberCopies: true}),
		naive.NewWith(naive.FDFlaws{RenumberDup2: true}),
		naive.NewWith(naive.FDFlaws{StdioLogToFd1: true}),
		naive.Child(naive.FDFlaws{RaiseSignalsHost: true}),
	}
	failedBy := map[string][]string{}
	for _, r := range controls {
		for id, rec := range failingRecords(t, r) {
			if checkFailed(rec) {
				failedBy[id] = append(failedBy[id], r.Name())
			}
		}
	}
	for _, spec := range catalogue.All() {
		if otherOS(spec) {
			t.Logf("%s: runs on %s hosts only: its negative control is not checked here", spec.ID, spec.OS)
			continue
		}
		if spec.Area == suites.AreaEngine {
			// No in-process runtime has an engine: their controls run on a
			// real dockerd (runners/docker TestEngineSpecs, make containerd).
			t.Logf("%s: its negative control runs on a real Docker engine (runners/docker TestEngineSpecs)", spec.ID)
			continue
		}
		if spec.Area == suites.AreaPod {
			// No in-process runtime runs pods: their controls run through a
			// real containerd CRI (runners/cri TestPodSpecs, as root).
			t.Logf("%s: its negative control runs through a real containerd CRI (runners/cri TestPodSpecs)", spec.ID)
			continue
		}
		if len(failedBy[spec.ID]) == 0 && os.Geteuid() != 0 && needsRoot[spec.ID] {
			t.Logf("%s: its negative control needs root (loop devices, mounts): not checked", spec.ID)
			continue
		}
		if len(failedBy[spec.ID]) == 0 {
			t.Errorf("%s: no negative control makes it fail; add one (internal/weakened or internal/naive)", spec.ID)
		}
	}
}

// otherOS reports whether spec runs on another host OS only (Spec.OS): it
// is skipped here, so no control can fail it.
func otherOS(spec suites.Spec) bool { return spec.OS != "" && spec.OS != goruntime.GOOS }

// needsRoot are the specs whose host-side actors need root: skipped
// everywhere otherwise.
var needsRoot = map[string]bool{"shim.device-nodes": true, "shim.bind-nonrecursive": true}

// TestCheckFailedIgnoresControls: a failure whose only evidence is a failed
// positive control or how the run ended does not count as a spec's own check
// failing (TestEverySpecCanFail relies on it).
func TestCheckFailedIgnoresControls(t *testing.T) {
	for causes, want := range map[string]bool{
		"control:control.inside":         false,
		"run:crash":                      false,
		"control:c run:timeout":          false,
		"step:dotdot.secret":             true,
		"control:c canary:token:stdout":  true,
		"snapshot:outside/made-by-guest": true,
		"exit:status":                    true,
	} {
		rec := verdicts.Record{Verdict: verdicts.Fail, Causes: strings.Fields(causes)}
		if got := checkFailed(rec); got != want {
			t.Errorf("checkFailed(causes %q) = %v, want %v", causes, got, want)
		}
	}
}
