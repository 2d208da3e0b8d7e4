package wasitestsuite

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/runners"
	_ "github.com/wasicert/wasicert/runners/all"
	"github.com/wasicert/wasicert/runners/wazero"
)

// TestModulesBuilt rebuilds the suites' modules from src/*.wat and checks
// that the committed ones are what the build makes.
func TestModulesBuilt(t *testing.T) {
	if _, err := exec.LookPath("wat2wasm"); err != nil {
		t.Skip("wat2wasm (wabt) is not installed: apt-get install wabt")
	}
	out := t.TempDir()
	if b, err := exec.Command("testdata/build.sh", out).CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	n := 0
	_ = filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		r, _ := filepath.Rel(out, p)
		got, _ := os.ReadFile(p)
		want, err := os.ReadFile(filepath.Join("testdata", r))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("testdata/%s differs from what testdata/build.sh makes: run it and commit the result", r)
		}
		return nil
	})
	if n == 0 {
		t.Fatal("build.sh made no module")
	}
}

// want is one test's verdict: its outcome and what its reason starts with.
type want struct {
	outcome Outcome
	reason  string
}

// verdicts are the verdicts every runtime must give the suites in testdata.
var verdicts = map[string]map[string]want{
	"pass": {
		"args": {Pass, ""}, "create-a": {Pass, ""}, "create-b": {Pass, ""}, "dirs": {Pass, ""},
		"env": {Pass, ""}, "exit-code": {Pass, ""}, "hello": {Pass, ""}, "no-env-leak": {Pass, ""},
		"no-file-escape": {Pass, ""}, "no-spec": {Pass, ""}, "root": {Pass, ""}, "stderr": {Pass, ""},
	},
	"fail": {
		"bad-syntax":     {Fail, "bad-syntax.json: not valid JSON"},
		"exit-code":      {Fail, "exit code: expected 0, got "},
		"missing-module": {Fail, "missing-module.json: no module missing-module.wasm beside it"},
		"operations":     {Skip, "uses the operation-based form"},
		"root-outside":   {Fail, `root-outside.json: directory "..": give a path inside the suite directory`},
		"stderr":         {Fail, `stderr: expected "fine\n", got "oops\n"`},
		"stdout":         {Fail, `stdout: expected "goodbye\n", got "hello\n"`},
		"trap":           {Fail, "trap"},
		"unknown-key":    {Fail, `unknown-key.json: unknown key "exitcode": the keys are args, env, root, dirs, exit_code, stdout, stderr`},
		"wrong-type":     {Fail, `wrong-type.json: "exit_code" must be a number, not a JSON string`},
	},
	"timeout": {"loop": {Fail, "timeout"}},
}

// deviations are each runtime's known differences, as expectation files
// in testdata, and the verdicts they turn.
var deviations = map[string]struct {
	file  string
	turns map[string]want
}{
	"jco": {"testdata/jco.yaml", map[string]want{"pass/exit-code": {XFail, "exit code: expected 3, got 1"}}},
}

// allRunners are the runtimes the suites run on; one not installed here is
// skipped with its reason.
var allRunners = []string{"wazero", "wazero-interpreter", "wazero-confined", "wazero-cli", "wasmtime", "wasmer", "node", "bun", "jco"}

// TestSuitesOnEveryRunner runs the suites in testdata through every runner
// and checks every test's verdict.
func TestSuitesOnEveryRunner(t *testing.T) {
	for _, name := range allRunners {
		t.Run(name, func(t *testing.T) {
			r, err := runners.Open(name)
			if errors.Is(err, runners.ErrNotInstalled) {
				t.Skipf("%s: %v", name, err)
			}
			if err != nil {
				t.Fatal(err)
			}
			var exps Expectations
			dev := deviations[name]
			if dev.file != "" {
				if exps, err = LoadExpectations(dev.file, name); err != nil {
					t.Fatal(err)
				}
			}
			for _, suite := range []string{"pass", "fail", "timeout"} {
				s, err := Load(filepath.Join("testdata", suite))
				if err != nil {
					t.Fatal(err)
				}
				o := Options{Runner: r, Jobs: runtime.NumCPU(), Expectations: exps, TempDir: t.TempDir()}
				if suite == "timeout" {
					o.Timeout = time.Second
				}
				results := Run(context.Background(), s, o)
				if len(results) != len(verdicts[suite]) {
					t.Errorf("%s: %d results, want %d", suite, len(results), len(verdicts[suite]))
				}
				for _, res := range results {
					w, ok := dev.turns[suite+"/"+res.Test]
					if !ok {
						w = verdicts[suite][res.Test]
					}
					if res.Outcome != w.outcome || !strings.HasPrefix(res.Reason, w.reason) {
						t.Errorf("%s/%s on %s: %s %q, want %s %q...", suite, res.Test, name, res.Outcome, res.Reason, w.outcome, w.reason)
					}
				}
			}
		})
	}
}

// TestCleanupAndIsolation: tests that create the same file in the same
// root all pass (each has its copy, without the stale *.cleanup), and the
// suite's own directory is left as it was.
func TestCleanupAndIsolation(t *testing.T) {
	r := embedded(t)
	s, err := Load("testdata/pass")
	if err != nil {
		t.Fatal(err)
	}
	before := tree(t, "testdata/pass")
	for range 3 {
		for _, res := range Run(context.Background(), s, Options{Runner: r, Jobs: 4}) {
			if res.Outcome != Pass {
				t.Errorf("%s: %s %s", res.Test, res.Outcome, res.Reason)
			}
		}
	}
	if after := tree(t, "testdata/pass"); after != before {
		t.Errorf("the suite directory changed:\n%s\nwas\n%s", after, before)
	}
}

func tree(t *testing.T, dir string) string {
	var b strings.Builder
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		info, _ := d.Info()
		data := []byte{}
		if d.Type().IsRegular() {
			data, _ = os.ReadFile(p)
		}
		b.WriteString(p + " " + info.Mode().String() + " " + string(data) + "\n")
		return nil
	})
	return b.String()
}

func embedded(t *testing.T) runners.Runner {
	t.Helper()
	r, err := wazero.New(wazero.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// hostile wraps a runner and breaks one rule of the Invocation.
type hostile struct {
	runners.Runner
	alter func(inv *runners.Invocation)
	after func(inv runners.Invocation)
}

func (h hostile) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	if h.alter != nil {
		h.alter(&inv)
	}
	res, err := h.Runner.Run(ctx, inv)
	if h.after != nil {
		h.after(inv)
	}
	return res, err
}

// TestCanariesCatchHostileRuntimes: runtimes that grant more than the test
// asks pass the suite by its own rules (the outputs are only prefixes) and
// are caught by the canaries alone: with the checks switched off, each
// passes.
func TestCanariesCatchHostileRuntimes(t *testing.T) {
	name, _ := fixtures.HostEnvCanary()
	cases := []struct {
		test   string
		runner hostile
		reason string
	}{
		{"no-file-escape", hostile{alter: func(inv *runners.Invocation) {
			// the root's parent preopened as "/": the canary file shows
			for i := range inv.Preopens {
				inv.Preopens[i].HostDir = filepath.Dir(inv.Preopens[i].HostDir)
			}
		}}, "canary: stdout shows the host file " + CanaryFile},
		{"no-env-leak", hostile{alter: func(inv *runners.Invocation) {
			inv.Env = append(inv.Env, os.Environ()...)
		}}, "canary: stdout shows the wasicert process's environment variable " + name},
		{"create-a", hostile{after: func(inv runners.Invocation) {
			// a guest that copies the host file into its root and prints nothing
			host := inv.Preopens[0].HostDir
			data, _ := os.ReadFile(filepath.Join(filepath.Dir(host), CanaryFile))
			_ = os.WriteFile(filepath.Join(host, "stolen"), data, 0o644)
		}}, "canary: the test's writable copy holds a host canary in stolen"},
	}
	s, err := Load("testdata/pass")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.test, func(t *testing.T) {
			c.runner.Runner = embedded(t)
			var one Suite = *s
			one.Tests = nil
			for _, tt := range s.Tests {
				if tt.Name == c.test {
					one.Tests = append(one.Tests, tt)
				}
			}
			// The expectation file cannot excuse it either.
			exps := Expectations{s.Manifest.Name: {c.test: {Fail: true, Reason: "test"}}}
			res := Run(context.Background(), &one, Options{Runner: c.runner, Expectations: exps})[0]
			if res.Outcome != Fail || !strings.HasPrefix(res.Reason, c.reason) {
				t.Errorf("with the canaries: %s %q, want fail %q", res.Outcome, res.Reason, c.reason)
			}
			res = Run(context.Background(), &one, Options{Runner: c.runner, noCanaries: true})[0]
			if res.Outcome != Pass {
				t.Errorf("without the canaries: %s %q, want the hostile runtime to pass", res.Outcome, res.Reason)
			}
		})
	}
}

// TestExpectations: upstream's TOML turns every failure of the fail suite
// into an expected failure, and one that passes into an unexpected pass.
func TestExpectations(t *testing.T) {
	exps, err := LoadExpectations("testdata/fail.toml", "wazero")
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load("testdata/fail")
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range Run(context.Background(), s, Options{Runner: embedded(t), Expectations: exps}) {
		want := XFail
		if res.Test == "operations" {
			want = Skip
		}
		if res.Outcome != want {
			t.Errorf("%s: %s %q, want %s", res.Test, res.Outcome, res.Reason, want)
		}
	}
	pass, err := Load("testdata/pass")
	if err != nil {
		t.Fatal(err)
	}
	exps = Expectations{"wasicert pass": {"hello": {Fail: true, Reason: "expectation file x.toml"}}}
	for _, res := range Run(context.Background(), pass, Options{Runner: embedded(t), Expectations: exps}) {
		if res.Test == "hello" && (res.Outcome != XPass || !strings.Contains(res.Reason, "expects it to fail")) {
			t.Errorf("hello: %s %q, want xpass", res.Outcome, res.Reason)
		}
	}
}

// TestBadExpectationFiles: each mistake is one line naming the file.
func TestBadExpectationFiles(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"version.toml":  "version = 2\n",
		"action.toml":   "[[suite]]\nname = \"s\"\n[[suite.test]]\nname = \"t\"\naction = \"run\"\n",
		"expected.toml": "[[suite]]\nname = \"s\"\n[[suite.test]]\nname = \"t\"\nexpected = \"maybe\"\n",
		"neither.toml":  "[[suite]]\nname = \"s\"\n[[suite.test]]\nname = \"t\"\n",
		"unknown.toml":  "[[suite]]\nname = \"s\"\n[[suite.test]]\nname = \"t\"\nacton = \"skip\"\n",
		"syntax.toml":   "[[suite]\n",
		"noname.toml":   "[[suite]]\n[[suite.test]]\nname = \"t\"\naction = \"skip\"\n",
		"verdict.yaml":  "runtimes: [wazero]\nexpectations:\n  - {suite: s, test: t, verdict: pass, reason: r}\n",
		"unknown.yaml":  "runtimes: [wazero]\nexpectation: []\n",
		"file.txt":      "",
	}
	for f, body := range cases {
		p := filepath.Join(dir, f)
		_ = os.WriteFile(p, []byte(body), 0o644)
		_, err := LoadExpectations(p, "wazero")
		if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), f) {
			t.Errorf("%s: %v, want one line naming the file", f, err)
		}
	}
	if _, err := LoadExpectations(filepath.Join(dir, "absent.toml"), "wazero"); err == nil {
		t.Error("an absent file loaded")
	}
}

// TestLoadRefusesNoManifest: a directory without manifest.json is not a suite.
func TestLoadRefusesNoManifest(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "no manifest.json") {
		t.Errorf("got %v", err)
	}
	_ = os.WriteFile(filepath.Join(dir, ManifestFile), []byte(`{"name": "x", "extra": 1}`), 0o644)
	if _, err = Load(dir); err == nil || !strings.Contains(err.Error(), `unknown key "extra"`) {
		t.Errorf("got %v", err)
	}
}

// TestStripDebug: DWARF sections go, every other section stays byte for
// byte, and a module that does not parse is handed on as is.
func TestStripDebug(t *testing.T) {
	mod, err := os.ReadFile("testdata/pass/hello.wasm")
	if err != nil {
		t.Fatal(err)
	}
	custom := func(name string, body string) []byte {
		payload := append([]byte{byte(len(name))}, name+body...)
		return append([]byte{0, byte(len(payload))}, payload...)
	}
	withDebug := append(append(append([]byte(nil), mod...), custom(".debug_line", "junk")...), custom("name", "\x00")...)
	got, ok := stripDebug(withDebug)
	if want := append(append([]byte(nil), mod...), custom("name", "\x00")...); !ok || !bytes.Equal(got, want) {
		t.Errorf("stripped %v: % x, want % x", ok, got, want)
	}
	if got, ok := stripDebug(mod); ok || !bytes.Equal(got, mod) {
		t.Error("a module without DWARF changed")
	}
	bad := withDebug[:len(mod)+3]
	if got, ok := stripDebug(bad); ok || !bytes.Equal(got, bad) {
		t.Error("a truncated module changed")
	}
}
