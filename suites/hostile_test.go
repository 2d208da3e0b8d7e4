package suites_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasicert/wasicert/internal/hostns"
	"github.com/wasicert/wasicert/internal/naive"
	"github.com/wasicert/wasicert/internal/weakened"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/cli"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// hostileRuntime returns a runner whose "runtime" is testdata/hostile-runtime.sh
// doing act: the shipped wazero-cli template with the script as its binary,
// so the real wazero CLI runs the guest (which prints the refusals of a
// sandbox that holds) and the script then escapes itself, as a runtime with
// host access can. It skips when the wazero CLI is not installed (make deps
// installs it; `make test` always has it).
func hostileRuntime(t *testing.T, act string) runners.Runner {
	return scriptRuntime(t, "hostile-runtime.sh", "hostile-", act)
}

// scriptRuntime is a runner whose "runtime" is testdata/script doing act,
// on the shipped wazero-cli template (see hostileRuntime), named prefix+act.
func scriptRuntime(t *testing.T, script, prefix, act string) runners.Runner {
	t.Helper()
	wz, err := runners.Open("wazero-cli")
	if err != nil {
		t.Skipf("hostile stand-ins run the real wazero CLI, which is not installed (make deps): %v", err)
	}
	t.Setenv("WASICERT_HOSTILE_WAZERO", wz.(*cli.Runner).Binary())
	path, err := filepath.Abs(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("../runners/cli/templates/wazero-cli.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y := string(b)
	for old, new := range map[string]string{
		"name: wazero-cli": "name: " + prefix + act,
		"binary: wazero":   "binary: " + path,
		"run: [run, ":      "run: [" + act + ", run, ",
	} {
		if !strings.Contains(y, old) {
			t.Fatalf("runners/cli/templates/wazero-cli.yaml no longer holds %q: update scriptRuntime", old)
		}
		y = strings.Replace(y, old, new, 1)
	}
	tp, err := cli.ParseTemplate(prefix+act+".yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	r, err := tp.Open()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func execute(t *testing.T, ctx context.Context, r runners.Runner, specID string, o suites.Options) verdicts.Record {
	t.Helper()
	spec, ok := catalogue.Lookup(specID)
	if !ok {
		t.Fatalf("no spec %s", specID)
	}
	o.Runner = r
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	rec, err := suites.Execute(ctx, spec, o)
	if err != nil {
		t.Fatalf("%s: %v", specID, err)
	}
	t.Logf("%s: %s: %s; causes %v; notes %v", specID, rec.Verdict, rec.Reason, rec.Causes, rec.Notes)
	return rec
}

// TestHostChecksCatchHostileRuntimes: for each host-side check, a hostile
// stand-in performs exactly the escape that check exists for, while the
// guest prints nothing but refusals (preopen.dotdot, which the real wazero
// CLI passes). Each must give the verdict, with the cause naming the check.
// Switching the check off makes its case fail.
func TestHostChecksCatchHostileRuntimes(t *testing.T) {
	cases := []struct {
		act     string
		verdict verdicts.Verdict
		cause   string // one of the record's causes
	}{
		// Canaries in the output, all of it.
		{"cat-secret", verdicts.Escape, "canary:token:stdout"},
		{"secret-to-stderr", verdicts.Escape, "canary:token:stderr"},
		{"flood-then-secret", verdicts.Escape, "canary:token:stdout"},
		{"flood-stderr-then-secret", verdicts.Escape, "canary:token:stderr"},
		{"env-canary-to-stdout", verdicts.Leak, "canary:env:stdout"},
		// Canaries in whatever the run could write.
		{"secret-to-sandbox", verdicts.Escape, "canary:token:sandbox/loot.txt"},
		{"env-canary-to-sandbox", verdicts.Leak, "canary:env:sandbox/env.txt"},
		{"secret-to-work", verdicts.Escape, "canary:token:work/stolen"},
		{"secret-to-home", verdicts.Escape, "canary:token:work/home/.stolen"},
		{"secret-to-tmpdir", verdicts.Escape, "canary:token:work/tmp/stolen"},
		{"secret-to-xdg-cache", verdicts.Escape, "canary:token:work/cache/stolen"},
		// What the scan cannot read cannot pass.
		{"secret-too-deep", verdicts.Fail, "unscanned:work"},
		// Each snapshot field.
		{"modify-secret", verdicts.Escape, "snapshot:outside/secret.txt"},
		{"chmod-secret", verdicts.Escape, "snapshot:outside/secret.txt"},
		{"touch-secret", verdicts.Escape, "snapshot:outside/secret.txt"},
		{"hardlink-secret", verdicts.Escape, "snapshot:outside/secret.txt"},
		{"chown-secret", verdicts.Escape, "snapshot:outside/secret.txt"},
		{"replace-secret", verdicts.Escape, "snapshot:outside/secret.txt"},
		{"create-outside", verdicts.Escape, "snapshot:outside/made-by-runtime"},
		{"remove-outside", verdicts.Escape, "snapshot:outside/keep"},
		// Changes undone before the run ends (ctime).
		{"restore-secret", verdicts.Escape, "snapshot:outside/secret.txt"},
		{"hardlink-then-unlink", verdicts.Escape, "snapshot:outside/secret.txt"},
		{"create-then-remove-outside", verdicts.Escape, "snapshot:outside"},
		// Escape evidence outranks how the run ended.
		{"crash-after-escape", verdicts.Escape, "snapshot:outside/made-by-runtime"},
		{"hang-after-escape", verdicts.Escape, "snapshot:outside/made-by-runtime"},
		{"fake-trap", verdicts.Escape, "snapshot:outside/made-by-runtime"},
		{"fake-start-error", verdicts.Escape, "snapshot:outside/made-by-runtime"},
		// Host files that hold no fixture token.
		{"read-host-file", verdicts.Escape, "canary:hostfile:stdout"},
	}
	for _, c := range cases {
		t.Run(c.act, func(t *testing.T) {
			if c.act == "read-host-file" {
				requireHostFiles(t)
			}
			rec := execute(t, context.Background(), hostileRuntime(t, c.act), "preopen.dotdot", suites.Options{Timeout: 3 * time.Second})
			if rec.Verdict != c.verdict || !slices.Contains(rec.Causes, c.cause) {
				t.Errorf("verdict %s with causes %v, want %s with cause %s", rec.Verdict, rec.Causes, c.verdict, c.cause)
			}
			if slices.ContainsFunc(rec.Causes, func(s string) bool { return strings.HasPrefix(s, "step:") }) {
				t.Errorf("causes %v name a probe step: the guest only printed refusals, the evidence is the host's", rec.Causes)
			}
		})
	}
}

// TestHostileControl: the stand-in that does nothing hostile passes, so the
// cases above fail for their act alone.
func TestHostileControl(t *testing.T) {
	rec := execute(t, context.Background(), hostileRuntime(t, "none"), "preopen.dotdot", suites.Options{})
	if rec.Verdict != verdicts.Pass {
		t.Fatalf("verdict %s (%s), want pass", rec.Verdict, rec.Reason)
	}
	for _, c := range []string{suites.CheckOutputCanaries, suites.CheckWritableScan, suites.CheckSnapshot} {
		if !slices.Contains(rec.Checks, c) {
			t.Errorf("checks %v lack %s", rec.Checks, c)
		}
	}
}

// TestEndingsKeptAsNotes: the crash, hang, fake trap and fake start error
// behind an escape stay visible as a note.
func TestEndingsKeptAsNotes(t *testing.T) {
	for act, want := range map[string]string{
		"crash-after-escape": "signal: SIGSEGV",
		"hang-after-escape":  "timeout",
		"fake-trap":          "trap",
		"fake-start-error":   "did not start",
	} {
		t.Run(act, func(t *testing.T) {
			rec := execute(t, context.Background(), hostileRuntime(t, act), "preopen.dotdot", suites.Options{Timeout: 2 * time.Second})
			if !slices.ContainsFunc(rec.Notes, func(n string) bool { return strings.Contains(n, "ended badly") && strings.Contains(n, want) }) {
				t.Errorf("notes %v: want the ending (%s) kept", rec.Notes, want)
			}
		})
	}
}

// TestInterruptKeepsEvidence: a run cut off by the caller is interrupted,
// unless the host already holds escape evidence, which outranks it.
func TestInterruptKeepsEvidence(t *testing.T) {
	for act, want := range map[string]verdicts.Verdict{"hang-first": verdicts.Interrupted, "hang-after-escape": verdicts.Escape} {
		t.Run(act, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(time.Second, cancel)
			rec := execute(t, ctx, hostileRuntime(t, act), "preopen.dotdot", suites.Options{Timeout: 20 * time.Second})
			if rec.Verdict != want {
				t.Errorf("verdict %s (%s), want %s", rec.Verdict, rec.Reason, want)
			}
		})
	}
}

// TestExpectationCoversEvidence: a known deviation turns its own evidence
// into an expected failure, but an escape through evidence it does not
// cover fails the run, although the verdict is the same.
func TestExpectationCoversEvidence(t *testing.T) {
	exp := map[string]verdicts.Expectation{"preopen.dotdot": {
		Spec: "preopen.dotdot", Verdict: verdicts.Escape, Reason: "test", Reference: "https://example.invalid/known",
		Covers: []string{"snapshot:outside/made-by-runtime"},
	}}
	rec := execute(t, context.Background(), hostileRuntime(t, "create-outside"), "preopen.dotdot", suites.Options{Expectations: exp})
	if rec.Verdict != verdicts.ExpectedFailure {
		t.Errorf("covered escape: verdict %s, want expected-failure", rec.Verdict)
	}
	rec = execute(t, context.Background(), hostileRuntime(t, "secret-to-sandbox"), "preopen.dotdot", suites.Options{Expectations: exp})
	if rec.Verdict != verdicts.Escape || !strings.Contains(rec.Reason, "not covered") {
		t.Errorf("uncovered escape: verdict %s (%s), want escape, not covered", rec.Verdict, rec.Reason)
	}
	// What the host could not scan may be a second escape: it is not
	// covered either, although a fail ranks below the escape.
	rec = execute(t, context.Background(), hostileRuntime(t, "create-outside-then-too-deep"), "preopen.dotdot", suites.Options{Expectations: exp})
	if rec.Verdict != verdicts.Escape || !slices.Contains(rec.Causes, "unscanned:work") {
		t.Errorf("covered escape with an unscanned leftover: verdict %s with causes %v, want escape with unscanned:work", rec.Verdict, rec.Causes)
	}
}

func TestMain2HostileScriptIsExecutable(t *testing.T) {
	if fi, err := os.Stat("testdata/hostile-runtime.sh"); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("testdata/hostile-runtime.sh must be executable: %v", err)
	}
}

// unwatchedRuntime is a hostile stand-in for a runner that keeps no canary
// watch (a runner added by a user that never calls capture.Output.Watch):
// it runs the real runtime, then reads the secret itself and appends it to
// the kept stdout, reporting no sighting. The harness's own scan of the kept
// output must catch it.
type unwatchedRuntime struct{ runners.Runner }

func (r unwatchedRuntime) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	res, err := r.Runner.Run(ctx, inv)
	secret, rerr := os.ReadFile(filepath.Join(filepath.Dir(inv.Preopens[0].HostDir), "outside", "secret.txt"))
	if rerr != nil {
		return res, rerr
	}
	res.Stdout = append(res.Stdout, secret...)
	res.Sightings = nil
	return res, err
}

// TestKeptOutputScannedToo: the harness scans the output a Result keeps,
// whatever the runner reports.
func TestKeptOutputScannedToo(t *testing.T) {
	rec := execute(t, context.Background(), unwatchedRuntime{embeddedWazero(t)}, "preopen.dotdot", suites.Options{})
	if rec.Verdict != verdicts.Escape || !slices.Contains(rec.Causes, "canary:token:stdout") {
		t.Errorf("verdict %s with causes %v, want escape with canary:token:stdout", rec.Verdict, rec.Causes)
	}
}

// requireHostFiles skips without root, where host-file stand-ins cannot
// work; as root (make test, CI) they must, so their absence fails.
func requireHostFiles(t *testing.T) {
	t.Helper()
	err := hostns.Supported()
	switch {
	case err == nil:
	case os.Geteuid() != 0:
		t.Skipf("host-file stand-ins are inactive without root: %v", err)
	default:
		t.Fatalf("running as root, but host-file stand-ins are unavailable: %v", err)
	}
}

// reachedDirRuntime stands in for a runtime whose path_open of ".." succeeds,
// after which fd_read answers ISDIR (wasmer's case): the guest's record for
// dotdot.parent lists both calls, and the step's errno alone looks refused.
type reachedDirRuntime struct{ runners.Runner }

func (r reachedDirRuntime) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	res, err := r.Runner.Run(ctx, inv)
	var out []string
	for _, line := range strings.Split(string(res.Stdout), "\n") {
		if strings.Contains(line, `"check":"dotdot.parent"`) {
			line = `{"check":"dotdot.parent","op":"open","call":"fd_read","outcome":"error","errno":"ISDIR","calls":[{"call":"path_open","errno":"SUCCESS"},{"call":"fd_read","errno":"ISDIR"},{"call":"fd_close","errno":"SUCCESS"}],"data":""}`
		}
		out = append(out, line)
	}
	res.Stdout = []byte(strings.Join(out, "\n"))
	return res, err
}

// TestStepThatReachedItsObject: a refused step is judged per call: the open
// that succeeded is the escape, whatever a later call answered.
func TestStepThatReachedItsObject(t *testing.T) {
	rec := execute(t, context.Background(), reachedDirRuntime{embeddedWazero(t)}, "preopen.dotdot", suites.Options{})
	if rec.Verdict != verdicts.Escape || !slices.Contains(rec.Causes, "step:dotdot.parent") {
		t.Errorf("verdict %s with causes %v, want escape with step:dotdot.parent", rec.Verdict, rec.Causes)
	}
}

// echoFirstRuntime is a hostile stand-in that prints, before the guest's
// own records, a refusal for each of the given checks, then runs a
// runtime with no sandbox (internal/naive), whose real records show the
// escape. The judge must not take the first record for a check as the
// only one.
type echoFirstRuntime struct {
	runners.Runner
	lines []string // probe records, printed first
}

func (r echoFirstRuntime) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	res, err := r.Runner.Run(ctx, inv)
	var fake []byte
	for _, l := range r.lines {
		fake = append(fake, l+"\n"...)
	}
	res.Stdout = append(fake, res.Stdout...)
	return res, err
}

// TestEarlierFakeRecordHidesNothing: a refusal printed before the real
// record of the same check does not hide the real one, which reached its
// object (preopen.dotdot-transient on a runtime that follows ..).
func TestEarlierFakeRecordHidesNothing(t *testing.T) {
	r := echoFirstRuntime{naive.New(), []string{`{"check":"transient.back","op":"open","outcome":"error","errno":"NOTCAPABLE","calls":[{"call":"path_open","errno":"NOTCAPABLE"}]}`,
		`{"check":"transient.nested","op":"open","outcome":"error","errno":"NOTCAPABLE","calls":[{"call":"path_open","errno":"NOTCAPABLE"}]}`}}
	rec := execute(t, context.Background(), r, "preopen.dotdot-transient", suites.Options{})
	if rec.Verdict != verdicts.Leak || !slices.Contains(rec.Causes, "step:transient.back") {
		t.Errorf("verdict %s with causes %v, want leak with step:transient.back", rec.Verdict, rec.Causes)
	}
}

// TestKnownGaps: escapes that the host checks do not catch today, each by
// a hostile stand-in. They are skipped; each Skip says what would close it.
func TestKnownGaps(t *testing.T) {
	for act, gap := range map[string]string{
		"secret-base64": "a read outside the grant leaves no trace but atime, and the token can leave in any encoding; " +
			"inotify watches (IN_OPEN, IN_ACCESS) on every non-granted file and dir for the length of the run would see the read",
		"write-outside-fixture": "a write outside the fixture tree (its parent dir, /tmp, the compile cache) is compared with nothing; " +
			"only a mount namespace with the host read-only or fanotify on the filesystem would see it",
		"umount-host-file": "a runtime reads a host file and drops the canary line (or, root in its private mount namespace, unmounts the stand-in): " +
			"the stand-ins catch a guest escaping through a faithful runtime, not a runtime that reads host files itself",
	} {
		t.Run(act, func(t *testing.T) {
			if os.Getenv("WASICERT_TRY_KNOWN_GAPS") == "" {
				t.Skip("known gap: " + gap)
			}
			rec := execute(t, context.Background(), hostileRuntime(t, act), "preopen.dotdot", suites.Options{})
			if rec.Verdict != verdicts.Escape {
				t.Errorf("verdict %s (%s), want escape", rec.Verdict, rec.Reason)
			}
		})
	}
}

// fakeRefusalRuntime stands in for a runtime that lets the guest read what
// it must not, then rewrites the guest's record for check into a refusal:
// the host must still see the file's canary in the output stream.
type fakeRefusalRuntime struct {
	runners.Runner
	check string
}

func (r fakeRefusalRuntime) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	res, err := r.Runner.Run(ctx, inv)
	var out []string
	for _, line := range strings.Split(string(res.Stdout), "\n") {
		if strings.Contains(line, `"check":"`+r.check+`"`) {
			line = `{"check":"` + r.check + `","op":"libc-open","call":"open","outcome":"error","errno":"EACCES","calls":[{"call":"open","errno":"EACCES"}],"data":""}`
		}
		out = append(out, line)
	}
	res.Stdout = []byte(strings.Join(out, "\n"))
	return res, err
}

// TestFakeRefusalOfASecret: shim.process-user on a container platform that
// ignores process.user (the old shim) and fakes the guest's refusal is an
// escape by the root-only file's canary alone.
func TestFakeRefusalOfASecret(t *testing.T) {
	r := fakeRefusalRuntime{weakened.OldShim(embeddedWazero(t)), "user.root-only"}
	rec := execute(t, context.Background(), r, "shim.process-user", suites.Options{})
	if rec.Verdict != verdicts.Escape || !slices.Contains(rec.Causes, "canary:hostdir:stdout") || slices.Contains(rec.Causes, "step:user.root-only") {
		t.Errorf("verdict %s with causes %v, want escape by canary:hostdir:stdout alone", rec.Verdict, rec.Causes)
	}
}
