package cli_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasicert/wasicert/internal/proctest"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/cli"
)

func TestBuiltinTemplates(t *testing.T) {
	ts, err := cli.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"iwasm", "wasmedge", "wasmer-cli", "wasmtime-cli", "wazero-cli"}
	var got []string
	for _, tp := range ts {
		got = append(got, tp.Name)
		if (tp.WrittenFor == "") == (tp.WrittenFrom == "") {
			t.Errorf("%s: want exactly one of written_for and written_from", tp.Source)
		}
		// Every shipped runtime documents its exit statuses: text alone
		// would let a guest fake a trap or a start error.
		for what, m := range map[string]*cli.Match{"trap": tp.Trap, "start_error": tp.StartError} {
			if m == nil || len(m.ExitCodes) == 0 {
				t.Errorf("%s: %s without exit_codes: %+v", tp.Source, what, m)
			}
		}
	}
	names := runners.Names()
	for _, w := range want {
		found := false
		for _, n := range names {
			found = found || n == w
		}
		if !found {
			t.Errorf("runtime %q not registered (registered: %v)", w, names)
		}
		_, err := runners.Open(w)
		t.Logf("%s: %v", w, err)
	}
	if len(got) != len(want) {
		t.Errorf("templates %v, want %v", got, want)
	}
	if tr := ts["wasmtime-cli.yaml"].Trap; tr == nil || !slices.Equal(tr.ExitCodes, []int{134}) {
		t.Errorf("wasmtime-cli: a trap must need exit status 134, got %+v", tr)
	}
	// Only wazero installs here, so only wazero-cli was checked against a
	// binary; the others say what they were written from.
	for file, want := range map[string]string{"wazero-cli.yaml": "1.12.0"} {
		if got := ts[file].WrittenFor; got != want {
			t.Errorf("%s: written_for %q, want %q", file, got, want)
		}
	}
	if !ts["iwasm.yaml"].Features.Has(runners.FeatureSockImports) {
		t.Errorf("iwasm: WAMR's libc-wasi links sock_accept, sock_recv, sock_send and sock_shutdown: claim sock-imports")
	}
}

// TestCommandLines pins what each shipped template puts on the command line.
func TestCommandLines(t *testing.T) {
	ts, err := cli.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	inv := runners.Invocation{
		Module:   runners.Module{Path: "/m.wasm"},
		Args:     []string{"prog", "a1", "-x"},
		Env:      []string{"K=V", "E="},
		Preopens: []runners.Preopen{{GuestPath: "/sandbox", HostDir: "/h/sb"}, {GuestPath: "/ro", HostDir: "/h/ro", ReadOnly: true}},
	}
	want := map[string]string{
		"wazero-cli":   "run -mount=/h/sb:/sandbox -mount=/h/ro:/ro:ro -env=K=V -env=E= -cachedir=/c /m.wasm -- a1 -x",
		"wasmedge":     "--dir=/sandbox:/h/sb --dir=/ro:/h/ro:readonly --env=K=V --env=E= /m.wasm a1 -x",
		"wasmtime-cli": "",
		"wasmer-cli":   "",
		"iwasm":        "",
	}
	for _, tp := range ts {
		args, err := tp.Command(inv, "/m.wasm", "/c", "/w")
		if want[tp.Name] == "" {
			if err == nil || !strings.Contains(err.Error(), "read-only preopen /ro: not supported") {
				t.Errorf("%s: want a read-only refusal, got %q, %v", tp.Name, args, err)
			}
			continue
		}
		if err != nil || strings.Join(args, " ") != want[tp.Name] {
			t.Errorf("%s:\n got %q (%v)\nwant %q", tp.Name, strings.Join(args, " "), err, want[tp.Name])
		}
	}
	inv.Preopens = inv.Preopens[:1]
	inv.Listeners = []runners.Listener{{Addr: "127.0.0.1:4000"}}
	for _, tp := range ts {
		args, err := tp.Command(inv, "/m.wasm", "/c", "/w")
		t.Logf("%s %s (%v)", tp.Binary, strings.Join(args, " "), err)
	}
}

func openTemplate(t *testing.T, path string) runners.Runner {
	tp, err := cli.LoadTemplate(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tp.Open()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func openWazeroCLI(t *testing.T) runners.Runner {
	r, err := runners.Open("wazero-cli")
	if errors.Is(err, runners.ErrNotInstalled) {
		root := proctest.RepoRoot(t)
		cmd := exec.Command("make", "-f", filepath.Join(root, "ci/runtimes/runtimes.mk"), "wazero-cli")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("wazero CLI missing and could not be installed: %v\n%s", err, out)
		}
		r, err = runners.Open("wazero-cli")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %s at %s", r.Name(), r.Version(), r.(*cli.Runner).Binary())
	return r
}

func TestWazeroCLI(t *testing.T) {
	proctest.Basic(t, openWazeroCLI(t), proctest.Expect{})
}

func TestWazeroCLIPreopensAndFlood(t *testing.T) {
	r := openWazeroCLI(t)
	inv := proctest.Inv(proctest.Module(t, "prestat"), nil)
	inv.Preopens = []runners.Preopen{{GuestPath: "/sandbox", HostDir: t.TempDir()}, {GuestPath: "/ro", HostDir: t.TempDir(), ReadOnly: true}}
	res := proctest.Run(t, r, inv)
	if string(res.Stdout) != "/sandbox\n/ro\n" {
		t.Fatalf("preopens: %q (%s %q)", res.Stdout, res, res.Stderr)
	}
	inv = proctest.Inv(proctest.Module(t, "flood"), nil)
	inv.Timeout = 2 * time.Second
	res = proctest.Run(t, r, inv)
	if !res.Truncated || len(res.Stdout) != runners.MaxOutput {
		t.Fatalf("flood: truncated=%v stdout %d bytes (%s)", res.Truncated, len(res.Stdout), res)
	}
	t.Logf("flood: %s, stdout kept %d bytes", res, len(res.Stdout))
	if fs := "/work/main/probes/fs.wasm"; fileExists(fs) {
		inv := proctest.Inv(runners.Module{Name: "fs", Path: fs}, []string{"A=1"}, "preopens", "p", "env", "e")
		inv.Preopens = []runners.Preopen{{GuestPath: "/sandbox", HostDir: t.TempDir()}}
		res := proctest.Run(t, r, inv)
		t.Logf("fs.wasm: %s\n%s", res, res.Stdout)
	}
}

// TestWazeroCLITraps: a trap after a stderr flood and a stack overflow are
// traps; a missing import and a corrupt module never started.
func TestWazeroCLITraps(t *testing.T) {
	r := openWazeroCLI(t)
	res := proctest.Run(t, r, proctest.Inv(proctest.Module(t, "floodtrap"), nil))
	if res.Ended != runners.EndedTrap || !res.Truncated || len(res.Stderr) != runners.MaxOutput {
		t.Errorf("floodtrap: %s truncated=%v stderr %d bytes", res, res.Truncated, len(res.Stderr))
	}
	res = proctest.Run(t, r, proctest.Inv(proctest.Module(t, "recurse"), nil))
	if res.Ended != runners.EndedTrap || !strings.Contains(res.Detail, "stack overflow") {
		t.Errorf("recurse: %s (stderr %q)", res, res.Stderr)
	}
	for _, m := range []runners.Module{proctest.Module(t, "noimport"), {Name: "corrupt", Bytes: []byte("garbage")}} {
		if _, err := r.Run(context.Background(), proctest.Inv(m, nil)); err == nil || !strings.Contains(err.Error(), "module did not start") {
			t.Errorf("%s: want a start error, got %v", m.Name, err)
		}
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestNodeThroughTemplate drives node, a second real binary, through the
// template machinery (testdata/node-cli.js is a tiny CLI over node:wasi).
func TestNodeThroughTemplate(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	script, _ := filepath.Abs("testdata/node-cli.js")
	path := filepath.Join(t.TempDir(), "node-cli.yaml")
	os.WriteFile(path, []byte(`name: node-cli-test
binary: node
written_for: "20.20.2"
version: {args: [--version], regexp: '^v(\d+\.\d+\.\d+)'}
run: [--no-warnings, "`+script+`", "{{preopens}}", "{{env}}", "{{module}}", "{{args}}"]
preopen: [--dir, "{{guest}}={{host}}"]
env: [--env, "{{key}}={{value}}"]
arg: ["{{arg}}"]
args_separator: "--"
features: [stdin]
trap: {stderr: 'wasm trap: ', exit_codes: [134]}
`), 0o644)
	r := openTemplate(t, path)
	if r.Features().Has(runners.FeatureReadOnlyPreopen) {
		t.Fatal("claims read-only preopens without a readonly_preopen piece")
	}
	proctest.Basic(t, r, proctest.Expect{})
}

// fakeTemplate detects traps and start errors by stderr alone, as the
// templates whose exit statuses are unverified do.
func fakeTemplate(t *testing.T) runners.Runner {
	fake, _ := filepath.Abs("testdata/fake-runtime.sh")
	path := filepath.Join(t.TempDir(), "fake.yaml")
	os.WriteFile(path, []byte(`name: fake
binary: "`+fake+`"
written_for: "9.9.9"
version: {args: [--version], regexp: 'fake-runtime (\S+)'}
run: ["{{preopens}}", "{{env}}", "{{module}}", "{{args}}"]
preopen: ["--dir={{guest}}:{{host}}"]
env: ["--env={{key}}={{value}}"]
arg: ["{{arg}}"]
trap: {stderr: 'wasm trap: '}
start_error: {stderr: 'failed to instantiate'}
`), 0o644)
	r := openTemplate(t, path)
	if r.Version() != "9.9.9" {
		t.Fatalf("version %q", r.Version())
	}
	return r
}

// TestCrashesAndHangs: a runtime killed by a signal is EndedCrash; one that
// forks helpers and hangs is EndedTimeout with its whole group gone.
func TestCrashesAndHangs(t *testing.T) {
	r := fakeTemplate(t)
	mark := proctest.MarkEnv(t)
	mod := runners.Module{Name: "x", Path: "/nonexistent.wasm"}
	for mode, want := range map[string]string{"segv": "crash: signal: SIGSEGV", "abort": "crash: signal: SIGABRT", "exit3": "exit 3"} {
		t.Setenv("FAKE_MODE", mode)
		res := proctest.Run(t, r, proctest.Inv(mod, []string{"K=V"}, "arg"))
		if !strings.HasPrefix(res.String(), want) {
			t.Errorf("%s: %s, want %s", mode, res, want)
		}
		if mode == "exit3" && string(res.Stdout) != "ran --env=K=V /nonexistent.wasm arg\n" {
			t.Errorf("exit3: stdout %q", res.Stdout)
		}
	}
	t.Setenv("FAKE_MODE", "fork-and-hang")
	inv := proctest.Inv(mod, nil)
	inv.Timeout = time.Second
	start := time.Now()
	res := proctest.Run(t, r, inv)
	if res.Ended != runners.EndedTimeout || time.Since(start) > 4*time.Second {
		t.Fatalf("fork-and-hang: %s after %s", res, time.Since(start))
	}
	time.Sleep(50 * time.Millisecond)
	if left := proctest.Leftovers(mark); len(left) > 0 {
		t.Fatalf("fork-and-hang left processes: %v", left)
	}
}

// TestSpoofAndEscape: a trap or start error line with exit status 0 is an
// exit (a guest can print anything); a runtime whose child escapes its group
// with setsid neither holds Run up nor leaves the child running; a NUL byte in
// an argument is refused, not cut.
func TestSpoofAndEscape(t *testing.T) {
	r := fakeTemplate(t)
	mark := proctest.MarkEnv(t)
	mod := runners.Module{Name: "x", Path: "/nonexistent.wasm"}
	for mode, want := range map[string]string{"trap0": "exit 0", "trap1": "trap: wasm trap: unreachable", "starterr0": "exit 0"} {
		t.Setenv("FAKE_MODE", mode)
		if res, err := r.Run(context.Background(), proctest.Inv(mod, nil)); err != nil || res.String() != want {
			t.Errorf("%s: %s, %v; want %s", mode, res, err, want)
		}
	}
	t.Setenv("FAKE_MODE", "setsid")
	start := time.Now()
	res := proctest.Run(t, r, proctest.Inv(mod, nil))
	if took := time.Since(start); res.String() != "exit 0" || took > 1500*time.Millisecond {
		t.Errorf("setsid: %s after %s", res, took)
	}
	time.Sleep(100 * time.Millisecond)
	if left := proctest.Leftovers(mark); len(left) > 0 {
		t.Errorf("setsid: left behind: %v", left)
	}
	t.Setenv("FAKE_MODE", "exit3")
	if _, err := r.Run(context.Background(), proctest.Inv(mod, nil, "ok", "a\x00b")); err == nil || !strings.Contains(err.Error(), `argument 2 "a\x00b" holds a NUL byte`) {
		t.Errorf("NUL argument: %v", err)
	}
}

func TestBinaryProblems(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), mode)
		return p
	}
	noexec := write("noexec", "#!/bin/sh\necho 1.0.0\n", 0o644)
	silent := write("silent", "#!/bin/sh\nexit 0\n", 0o755)
	garbage := write("garbage", "#!/bin/sh\necho hello there\nexit 1\n", 0o755)
	hang := write("hang", "#!/bin/sh\nsleep 100\n", 0o755)
	notELF := write("notelf", "\x00\x01\x02garbage", 0o755)
	old := process.VersionTimeout
	process.VersionTimeout = 500 * time.Millisecond
	defer func() { process.VersionTimeout = old }()
	for bin, want := range map[string]string{
		filepath.Join(dir, "absent"): "not installed: " + filepath.Join(dir, "absent") + " does not exist",
		"wasicert-no-such-runtime":   "not installed: wasicert-no-such-runtime not found in ",
		noexec:                       "unusable: " + noexec + " is not executable",
		dir:                          "unusable: " + dir + " is a directory",
		silent:                       "unusable: `silent --version` printed no version (exit 0, no output)",
		garbage:                      "unusable: `garbage --version` printed no version matching",
		hang:                         "unusable: `hang --version` printed no version within 500ms",
		notELF:                       "unusable: ",
	} {
		tp, err := cli.ParseTemplate("t.yaml", []byte(`name: t
binary: "`+bin+`"
written_for: "1"
version: {args: [--version], regexp: '(\d+\.\d+\.\d+)'}
run: ["{{preopens}}", "{{env}}", "{{module}}", "{{args}}"]
preopen: ["{{host}}:{{guest}}"]
env: ["{{key}}={{value}}"]
arg: ["{{arg}}"]
`))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = tp.Open()
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v\nwant one line holding %q", filepath.Base(bin), err, want)
		}
		if strings.HasPrefix(want, "not installed") != errors.Is(err, runners.ErrNotInstalled) {
			t.Errorf("%s: errors.Is(ErrNotInstalled) wrong for %v", bin, err)
		}
		if time.Since(start) > 3*time.Second {
			t.Errorf("%s: took %s", bin, time.Since(start))
		}
		t.Logf("%v", err)
	}
}

func TestBadTemplates(t *testing.T) {
	good := map[string]string{
		"name":        "name: t",
		"binary":      "binary: wazero",
		"written_for": `written_for: "1.0"`,
		"version":     `version: {args: [version], regexp: '(\d+)'}`,
		"run":         `run: [run, "{{preopens}}", "{{env}}", "{{module}}", "{{args}}"]`,
		"preopen":     `preopen: ["{{host}}:{{guest}}"]`,
		"env":         `env: ["{{key}}={{value}}"]`,
		"arg":         `arg: ["{{arg}}"]`,
	}
	order := []string{"name", "binary", "written_for", "version", "run", "preopen", "env", "arg"}
	build := func(override map[string]string, extra string) string {
		var b strings.Builder
		for _, k := range order {
			v, ok := override[k]
			if !ok {
				v = good[k]
			}
			if v != "" {
				b.WriteString(v + "\n")
			}
		}
		return b.String() + extra
	}
	if _, err := cli.ParseTemplate("ok.yaml", []byte(build(nil, ""))); err != nil {
		t.Fatalf("good template: %v", err)
	}
	cases := []struct {
		override map[string]string
		extra    string
		want     string
	}{
		{map[string]string{"name": ""}, "", "bad.yaml: name: missing"},
		{map[string]string{"binary": ""}, "", "bad.yaml: binary: missing"},
		{map[string]string{"written_for": ""}, "", "bad.yaml: written_for: missing"},
		{map[string]string{"version": ""}, "", "bad.yaml: version: missing"},
		{map[string]string{"version": "version: {args: [x]}"}, "", "bad.yaml: version.regexp: missing"},
		{map[string]string{"version": "version: {args: [x], regexp: '('}"}, "", "bad.yaml: version.regexp: error parsing regexp"},
		{map[string]string{"run": ""}, "", "bad.yaml: run: missing"},
		{map[string]string{"preopen": ""}, "", "bad.yaml: preopen: missing"},
		{map[string]string{"env": ""}, "", "bad.yaml: env: missing"},
		{map[string]string{"arg": ""}, "", "bad.yaml: arg: missing"},
		{map[string]string{"run": `run: ["{{preopens}}", "{{env}}", "{{module}}", "{{args}}", "{{modul}}"]`}, "", "bad.yaml: run[4]: unknown placeholder {{modul}}"},
		{map[string]string{"preopen": `preopen: ["{{host}}:{{gest}}"]`}, "", "bad.yaml: preopen[0]: unknown placeholder {{gest}} (known here: {{host}} {{guest}})"},
		{map[string]string{"preopen": `preopen: ["{{host}}"]`}, "", "bad.yaml: preopen: does not use {{guest}}"},
		{map[string]string{"env": `env: ["{{key}}={{val}}"]`}, "", "bad.yaml: env[0]: unknown placeholder {{val}}"},
		{map[string]string{"arg": `arg: ["{{args}}"]`}, "", "bad.yaml: arg[0]: unknown placeholder {{args}}"},
		{map[string]string{"arg": `arg: ["{{arg}"]`}, "", "bad.yaml: arg[0]: malformed placeholder"},
		{map[string]string{"run": `run: ["{{preopens}}", "{{env}}", "{{module}}"]`}, "", "bad.yaml: run: does not hold {{args}}"},
		{map[string]string{"run": `run: ["{{preopens}}", "{{module}}", "{{args}}"]`}, "", "bad.yaml: run: does not hold {{env}}"},
		{map[string]string{"run": `run: ["x{{preopens}}", "{{env}}", "{{module}}", "{{args}}"]`}, "", "bad.yaml: run[0]: {{preopens}} expands to several arguments"},
		{nil, `listener: ["{{addr}}"]`, "bad.yaml: run: listener is set but run does not hold {{listeners}}"},
		{nil, `listener: ["{{address}}"]`, "unknown placeholder {{address}}"},
		{nil, `features: [readonly-preopen]`, "bad.yaml: features[0]: readonly-preopen is claimed but there is no readonly_preopen piece"},
		{nil, `features: [teleport]`, `bad.yaml: features[0]: unknown feature "teleport"`},
		{nil, `trap: {}`, "bad.yaml: trap: empty: give stderr, stdout or exit_codes"},
		{nil, `start_error: {exit_codes: []}`, "bad.yaml: start_error: empty"},
		{nil, `trap: {stdout: '('}`, "bad.yaml: trap.stdout: error parsing regexp"},
		{nil, `trap: {stderr: 'x', exit_codes: [1, 0]}`, "bad.yaml: trap.exit_codes[1]: 0 is not an exit status that can tell it"},
		{nil, `start_error: {exit_codes: [256]}`, "bad.yaml: start_error.exit_codes[0]: 256 is not an exit status"},
		{nil, `written_from: "x 1.0 source"`, "bad.yaml: written_from: give written_for or written_from, not both"},
		{map[string]string{"written_for": `written_from: ""`}, "", "bad.yaml: written_for: missing"},
		{nil, `colour: blue`, "bad.yaml: not a valid template: line 9: field colour not found"},
		{nil, `version: {args: ["{{module}}"], regexp: x}`, "not a valid template"},
		{map[string]string{"version": `version: {args: ["{{module}}"], regexp: x}`}, "", "bad.yaml: version.args[0]: unknown placeholder {{module}} (none allowed here)"},
		{map[string]string{"name": "name: [1, 2"}, "", "bad.yaml: not a valid template"},
	}
	for _, c := range cases {
		_, err := cli.ParseTemplate("bad.yaml", []byte(build(c.override, c.extra)))
		if err == nil {
			t.Errorf("want error %q, got none", c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("got %q\nwant one line holding %q", err, c.want)
		}
	}
	if _, err := cli.LoadTemplate(filepath.Join(t.TempDir(), "none.yaml")); err == nil || !strings.HasSuffix(err.Error(), "none.yaml: no such file or directory") {
		t.Errorf("missing file: %v", err)
	}
}

func TestRegisterFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.yaml")
	os.WriteFile(path, []byte(`name: wazero-cli
binary: wazero
written_for: "1"
version: {args: [version], regexp: '(\d+)'}
run: ["{{preopens}}", "{{env}}", "{{module}}", "{{args}}"]
preopen: ["{{host}}:{{guest}}"]
env: ["{{key}}={{value}}"]
arg: ["{{arg}}"]
`), 0o644)
	if _, err := cli.RegisterFile(path); err == nil || !strings.Contains(err.Error(), `runtime "wazero-cli" is already registered`) {
		t.Fatalf("duplicate name: %v", err)
	}
	_ = context.Background
}

func TestTiming(t *testing.T) {
	r := openWazeroCLI(t)
	d := proctest.Time(t, r, proctest.Inv(proctest.Module(t, "hello"), nil), 11)
	t.Logf("wazero-cli: WAT hello median %s", d)
}
