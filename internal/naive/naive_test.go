package naive

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	wasip1 "github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
)

var (
	guestOnce sync.Once
	guestPath string
	guestErr  error
	guestDir  string
)

// TestMain removes the compiled guest's directory after the run.
func TestMain(m *testing.M) {
	code := m.Run()
	probes.Cleanup()
	if guestDir != "" {
		os.RemoveAll(guestDir)
	}
	os.Exit(code)
}

// guest compiles testdata/guest.c once, or skips when clang cannot.
func guest(t *testing.T) runners.Module {
	t.Helper()
	guestOnce.Do(func() {
		clang, err := exec.LookPath("clang")
		if err != nil {
			guestErr = fmt.Errorf("clang not installed: %w", err)
			return
		}
		if guestDir, err = os.MkdirTemp("", "naive-guest-"); err != nil {
			guestErr = err
			return
		}
		guestPath = filepath.Join(guestDir, "guest.wasm")
		out, err := exec.Command(clang, "--target=wasm32-wasi", "-O2", "-o", guestPath, "testdata/guest.c").CombinedOutput()
		if err != nil {
			guestErr = fmt.Errorf("clang --target=wasm32-wasi failed (is wasi-libc installed?): %v\n%s", err, out)
		}
	})
	if guestErr != nil {
		t.Skip(guestErr)
	}
	b, err := os.ReadFile(guestPath)
	if err != nil {
		t.Fatal(err)
	}
	return runners.Module{Name: "guest", Path: guestPath, Bytes: b}
}

// fixture is the catalogue's layout: T/outside/secret.txt holds a canary,
// T/sandbox is preopened as /sandbox and T/ro read-only as /ro.
type fixture struct {
	root, canary string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	f := fixture{root: t.TempDir(), canary: "CANARY-" + hex.EncodeToString(b)}
	for _, d := range []string{"outside", "sandbox", "ro"} {
		if err := os.Mkdir(filepath.Join(f.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f.put(t, "outside/secret.txt", f.canary)
	f.put(t, "sandbox/inside.txt", "inside")
	f.put(t, "ro/victim.txt", "original")
	return f
}

func (f fixture) put(t *testing.T, rel, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.root, rel), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) preopens() []runners.Preopen {
	return []runners.Preopen{
		{GuestPath: "/sandbox", HostDir: filepath.Join(f.root, "sandbox")},
		{GuestPath: "/ro", HostDir: filepath.Join(f.root, "ro"), ReadOnly: true},
	}
}

// run runs the guest with the given ops and returns its stdout lines.
func run(t *testing.T, inv runners.Invocation, ops ...string) (runners.Result, []string) {
	t.Helper()
	inv.Module = guest(t)
	inv.Args = append([]string{"guest"}, ops...)
	res, err := New().Run(context.Background(), inv)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res, strings.Split(strings.TrimSuffix(string(res.Stdout), "\n"), "\n")
}

// mustExit0 fails unless the guest returned normally.
func mustExit0(t *testing.T, res runners.Result) {
	t.Helper()
	if res.Ended != runners.EndedExit || res.ExitCode != 0 {
		t.Fatalf("run ended %v, want exit 0; stdout %q stderr %q", res, res.Stdout, res.Stderr)
	}
}

func TestExportsEveryPreview1FunctionWithWazeroSignatures(t *testing.T) {
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	want, err := wasip1.NewBuilder(rt).Compile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := newState(runners.Invocation{Args: []string{"x"}})
	got, err := st.hostModule(rt).Compile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sig := func(d api.FunctionDefinition) string {
		return fmt.Sprint(d.ParamTypes(), "->", d.ResultTypes())
	}
	wantFns, gotFns := want.ExportedFunctions(), got.ExportedFunctions()
	if len(wantFns) != 46 || len(gotFns) != 46 {
		t.Errorf("wazero exports %d functions, naive %d; want 46 each", len(wantFns), len(gotFns))
	}
	for name, w := range wantFns {
		g, ok := gotFns[name]
		if !ok {
			t.Errorf("naive does not export %s", name)
			continue
		}
		if sig(g) != sig(w) {
			t.Errorf("%s: naive %s, wazero %s", name, sig(g), sig(w))
		}
	}
	impl, nosys := Implemented()
	if len(impl)+len(nosys) != 46 {
		t.Errorf("Implemented lists %d+%d functions, want 46", len(impl), len(nosys))
	}
}

func TestDotDotReadsOutsideThePreopen(t *testing.T) {
	f := newFixture(t)
	res, lines := run(t, runners.Invocation{Preopens: f.preopens()},
		"read", "/sandbox", "../outside/secret.txt",
		"read", "/sandbox", "inside.txt")
	mustExit0(t, res)
	if want := []string{"read 0 " + f.canary, "read 0 inside"}; !slices.Equal(lines, want) {
		t.Errorf("got %q, want %q", lines, want)
	}
}

func TestAbsoluteHostPathIsOpened(t *testing.T) {
	f := newFixture(t)
	res, lines := run(t, runners.Invocation{Preopens: f.preopens()},
		"read", "/sandbox", filepath.Join(f.root, "outside", "secret.txt"))
	mustExit0(t, res)
	if want := "read 0 " + f.canary; lines[0] != want {
		t.Errorf("got %q, want %q", lines[0], want)
	}
}

func TestExtraRootPreopenIsGranted(t *testing.T) {
	f := newFixture(t)
	res, lines := run(t, runners.Invocation{Preopens: f.preopens()},
		"preopens", "read", "/", strings.TrimPrefix(filepath.Join(f.root, "outside/secret.txt"), "/"))
	mustExit0(t, res)
	want := []string{"preopen 3 /sandbox", "preopen 4 /ro", "preopen 5 /", "read 0 " + f.canary}
	if !slices.Equal(lines, want) {
		t.Errorf("got %q, want %q", lines, want)
	}
	// With nothing configured, the root is still there, at fd 3.
	res, lines = run(t, runners.Invocation{}, "preopens")
	mustExit0(t, res)
	if want := []string{"preopen 3 /"}; !slices.Equal(lines, want) {
		t.Errorf("no preopens configured: got %q, want %q", lines, want)
	}
}

func TestHostEnvironmentLeaks(t *testing.T) {
	t.Setenv("NAIVE_TEST_MARKER", "leaked-from-host")
	res, lines := run(t, runners.Invocation{Env: []string{"GRANTED=yes"}}, "env")
	mustExit0(t, res)
	if len(lines) == 0 || lines[0] != "env GRANTED=yes" {
		t.Errorf("first variable %q, want the granted one first", lines)
	}
	if !slices.Contains(lines, "env NAIVE_TEST_MARKER=leaked-from-host") {
		t.Errorf("host marker did not reach the guest: %q", lines)
	}
	if len(lines) != 1+len(os.Environ()) {
		t.Errorf("guest saw %d variables, want 1 granted + %d host", len(lines), len(os.Environ()))
	}
}

func TestArgv0IsTheModuleHostPath(t *testing.T) {
	res, lines := run(t, runners.Invocation{}, "args", "args")
	mustExit0(t, res)
	want := []string{"arg 0 " + guestPath, "arg 1 args", "arg 2 args"}
	lines = lines[:min(len(lines), 3)]
	if !slices.Equal(lines, want) {
		t.Errorf("got %q, want %q", lines, want)
	}
	// Without a Path, argv[0] is a made-up host-looking path.
	m := guest(t)
	m.Path = ""
	res, err := New().Run(context.Background(), runners.Invocation{Module: m, Args: []string{"guest", "args"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.SplitN(string(res.Stdout), "\n", 2)[0]; got != "arg 0 /naive/guest" {
		t.Errorf("argv[0] without Path: got %q", got)
	}
}

func TestReadOnlyPreopenIsWritten(t *testing.T) {
	f := newFixture(t)
	res, lines := run(t, runners.Invocation{Preopens: f.preopens()},
		"write", "/ro", "victim.txt", "overwritten",
		"write", "/ro", "created.txt", "new")
	mustExit0(t, res)
	if want := []string{"write 0", "write 0"}; !slices.Equal(lines, want) {
		t.Errorf("got %q, want %q", lines, want)
	}
	for name, want := range map[string]string{"victim.txt": "overwritten", "created.txt": "new"} {
		if b, _ := os.ReadFile(filepath.Join(f.root, "ro", name)); string(b) != want {
			t.Errorf("ro/%s holds %q, want %q", name, b, want)
		}
	}
}

func TestSockAcceptIsNosys(t *testing.T) {
	res, lines := run(t, runners.Invocation{
		Listeners: []runners.Listener{{Addr: "127.0.0.1:1"}},
	}, "accept", "3", "accept", "0")
	mustExit0(t, res)
	if want := []string{"accept 52", "accept 52"}; !slices.Equal(lines, want) {
		t.Errorf("got %q, want %q", lines, want)
	}
}

func TestExitCodesPassThrough(t *testing.T) {
	for _, code := range []int{0, 1, 3, 42, 255} {
		res, lines := run(t, runners.Invocation{}, "args", "exit", fmt.Sprint(code))
		if res.Ended != runners.EndedExit || res.ExitCode != code {
			t.Errorf("proc_exit(%d): ended %v", code, res)
		}
		if len(lines) != 4 {
			t.Errorf("proc_exit(%d): output before exit lost: %q", code, lines)
		}
	}
	res, _ := run(t, runners.Invocation{}, "bogus-op")
	if res.Ended != runners.EndedExit || res.ExitCode != 2 {
		t.Errorf("return 2 from main: ended %v", res)
	}
}

func TestSpinningGuestTimesOut(t *testing.T) {
	const timeout = 300 * time.Millisecond
	start := time.Now()
	res, lines := run(t, runners.Invocation{Timeout: timeout}, "args", "spin")
	if res.Ended != runners.EndedTimeout {
		t.Fatalf("ended %v, want timeout", res)
	}
	if res.Duration < timeout || time.Since(start) > timeout+5*time.Second {
		t.Errorf("duration %v (wall %v), timeout %v", res.Duration, time.Since(start), timeout)
	}
	if len(lines) != 3 {
		t.Errorf("output before the spin lost: %q", lines)
	}
}

func TestTrap(t *testing.T) {
	res, _ := run(t, runners.Invocation{}, "trap")
	if res.Ended != runners.EndedTrap || res.Detail == "" {
		t.Errorf("ended %v, want a trap with detail", res)
	}
}

func TestSleepStdinAndDuration(t *testing.T) {
	res, lines := run(t, runners.Invocation{Stdin: []byte("hello")}, "sleep", "stdin")
	mustExit0(t, res)
	var e, n int
	var elapsed, userdata uint64
	if _, err := fmt.Sscanf(lines[0], "sleep %d %d %d %d", &e, &elapsed, &n, &userdata); err != nil {
		t.Fatalf("%q: %v", lines[0], err)
	}
	if e != 0 || n != 1 || userdata != 42 || elapsed < uint64(10*time.Millisecond) {
		t.Errorf("poll_oneoff 10ms: %q", lines[0])
	}
	if lines[1] != "stdin 0 hello" {
		t.Errorf("stdin: %q", lines[1])
	}
	if res.Duration < 10*time.Millisecond {
		t.Errorf("Duration %v, want >= 10ms", res.Duration)
	}
}

func TestFloodIsTruncated(t *testing.T) {
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm not installed")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "flood.wat")
	os.WriteFile(src, []byte(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\10\00\00\00\00\10\00\00")
  (func (export "_start") (loop (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))) (br 0))))`), 0o644)
	if out, err := exec.Command(wat2wasm, "-o", filepath.Join(dir, "flood.wasm"), src).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "flood.wasm"))
	res, err := New().Run(context.Background(), runners.Invocation{
		Module: runners.Module{Name: "flood", Bytes: b}, Args: []string{"flood"}, Timeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ended != runners.EndedTimeout || !res.Truncated || len(res.Stdout) != runners.MaxOutput {
		t.Errorf("flood: ended %v, truncated %v, %d bytes kept", res, res.Truncated, len(res.Stdout))
	}
}

func TestRunErrors(t *testing.T) {
	for name, inv := range map[string]runners.Invocation{
		"not wasm":     {Module: runners.Module{Name: "junk", Bytes: []byte("not wasm")}, Args: []string{"x"}},
		"missing file": {Module: runners.Module{Path: "/nonexistent/x.wasm"}, Args: []string{"x"}},
		"no argv":      {Module: runners.Module{Bytes: []byte{0}}},
	} {
		if _, err := New().Run(context.Background(), inv); err == nil {
			t.Errorf("%s: Run returned no error", name)
		}
	}
}

func TestClassify(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithTimeout(live, 0)
	defer cancel()
	<-done.Done()
	for _, c := range []struct {
		name  string
		err   error
		crash string
		run   context.Context
		want  runners.Ending
		code  int
	}{
		{"return", nil, "", live, runners.EndedExit, 0},
		{"proc_exit", sys.NewExitError(7), "", live, runners.EndedExit, 7},
		{"trap", errors.New("wasm error: unreachable\nstack"), "", live, runners.EndedTrap, 0},
		{"crash", errors.New("panic"), "host panic in fd_read: boom", live, runners.EndedCrash, 0},
		{"deadline", sys.NewExitError(sys.ExitCodeDeadlineExceeded), "", done, runners.EndedTimeout, 0},
		{"exit at deadline", sys.NewExitError(3), "", done, runners.EndedExit, 3},
	} {
		got := classify(c.err, c.crash, c.run, live)
		if got.Ended != c.want || got.ExitCode != c.code {
			t.Errorf("%s: got %v, want %s %d", c.name, got, c.want, c.code)
		}
	}
}

func TestIdentity(t *testing.T) {
	r := New()
	if r.Name() != "naive" || !strings.HasPrefix(r.Version(), "naive-") {
		t.Errorf("Name %q Version %q", r.Name(), r.Version())
	}
	for _, f := range []runners.Feature{runners.FeatureReadOnlyPreopen, runners.FeaturePreopenedSockets, runners.FeatureSockImports, runners.FeatureStdin} {
		if !r.Features().Has(f) {
			t.Errorf("does not claim %s", f)
		}
	}
}

// TestRealProbes runs the suite's own probe modules (probes/*.wasm) when
// they have been built, skipping each one that has not.
func TestRealProbes(t *testing.T) {
	f := newFixture(t)
	t.Setenv("NAIVE_TEST_MARKER", "leaked-from-host")
	for _, c := range []struct {
		module string
		args   []string
		ended  runners.Ending
		code   int
		want   []string // substrings of stdout
	}{
		{"fs", []string{"preopens", "p", "open", "dd", "/sandbox", "../outside/secret.txt", "follow", "0", "r",
			"open", "abs", "/sandbox", filepath.Join(f.root, "outside/secret.txt"), "nofollow", "0", "r",
			"write", "ro", "/ro", "victim.txt", "follow", "8", "changed",
			"open-rights", "rights", "/sandbox", "inside.txt", "r", "write", "env", "e", "args", "a"},
			runners.EndedExit, 0, []string{
				`"check":"p","op":"preopens","call":"fd_prestat_dir_name","outcome":"ok","errno":"SUCCESS","fd":5,"data":"/"`,
				`"check":"dd","op":"open","call":"fd_close","outcome":"ok","errno":"SUCCESS","calls":[{"call":"path_open","errno":"SUCCESS"},{"call":"fd_read","errno":"SUCCESS"},{"call":"fd_close","errno":"SUCCESS"}],"data":"` + f.canary + `"`,
				`"check":"abs","op":"open","call":"fd_close","outcome":"ok","errno":"SUCCESS","calls":[{"call":"path_open","errno":"SUCCESS"},{"call":"fd_read","errno":"SUCCESS"},{"call":"fd_close","errno":"SUCCESS"}],"data":"` + f.canary + `"`,
				`"check":"ro","op":"write","call":"fd_close","outcome":"ok"`,
				// WEAKNESS 3: an fd asked for with FD_READ alone writes, and reports every right.
				`"check":"rights","op":"open-rights","call":"fd_close","outcome":"ok","errno":"SUCCESS","calls":[{"call":"path_open","errno":"SUCCESS"},{"call":"fd_fdstat_get","errno":"SUCCESS"},{"call":"fd_write","errno":"SUCCESS"},{"call":"fd_close","errno":"SUCCESS"}],"dir_inheriting":1073741823,"rights_base":1073741823,"rights_inheriting":1073741823}`,
				`"data":"NAIVE_TEST_MARKER=leaked-from-host"`,
				`"op":"args_get","outcome":"ok","errno":"SUCCESS","data":"/naive/fs"`,
			}},
		{"sock", []string{"accept", "a", "fd:3", "shutdown", "s", "fd:3"}, runners.EndedExit, 0, []string{
			`{"check":"a","op":"accept","outcome":"error","errno":"NOSYS"}`,
			`{"check":"s","op":"shutdown","outcome":"error","errno":"NOSYS"}`,
		}},
		{"exit", []string{"42"}, runners.EndedExit, 42, nil},
		{"trap", nil, runners.EndedTrap, 0, nil},
		{"spin", nil, runners.EndedTimeout, 0, nil},
	} {
		t.Run(c.module, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "..", "probes", c.module+".wasm"))
			if err != nil {
				t.Skipf("probes/%s.wasm not built yet", c.module)
			}
			res, err := New().Run(context.Background(), runners.Invocation{
				Module:   runners.Module{Name: c.module, Bytes: b},
				Args:     append([]string{c.module}, c.args...),
				Preopens: f.preopens(),
				Timeout:  time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Ended != c.ended || res.ExitCode != c.code {
				t.Errorf("ended %v, want %s %d", res, c.ended, c.code)
			}
			for _, w := range c.want {
				if !bytes.Contains(res.Stdout, []byte(w)) {
					t.Errorf("stdout lacks %s\nstdout:\n%s", w, res.Stdout)
				}
			}
		})
	}
	if _, err := os.Stat("../../probes/fs.wasm"); err == nil {
		if b, _ := os.ReadFile(filepath.Join(f.root, "ro", "victim.txt")); string(b) != "changed" {
			t.Errorf("fs.wasm write through read-only /ro: victim holds %q, want %q", b, "changed")
		}
		if b, _ := os.ReadFile(filepath.Join(f.root, "sandbox", "inside.txt")); string(b) != "Xnside" {
			t.Errorf("fs.wasm fd_write on an fd asked for with FD_READ alone: inside.txt holds %q, want %q", b, "Xnside")
		}
	}
}

// TestHostPanicIsACrash checks the wrapper every host function runs in: a
// guest-memory fault is FAULT, any other panic marks the run as a crash.
func TestHostPanicIsACrash(t *testing.T) {
	st := newState(runners.Invocation{Args: []string{"x"}})
	call := func(fn hostFn) (stack []uint64, panicked any) {
		stack = make([]uint64, 1)
		defer func() { panicked = recover() }()
		st.wrap(function{name: "fd_read", fn: fn}, true)(context.Background(), nil, stack)
		return stack, nil
	}
	stack, p := call(func(*state, context.Context, api.Module, []uint64) errno { panic(fault{}) })
	if p != nil || stack[0] != uint64(errFault) || st.crash != "" {
		t.Errorf("fault: stack %v, panic %v, crash %q", stack, p, st.crash)
	}
	_, p = call(func(*state, context.Context, api.Module, []uint64) errno { panic("boom") })
	if p == nil || !strings.Contains(st.crash, "boom") {
		t.Errorf("panic: passed on %v, crash %q", p, st.crash)
	}
	stack, _ = call(nil)
	if stack[0] != uint64(errNosys) {
		t.Errorf("unimplemented function returned %d, want NOSYS", stack[0])
	}
}
