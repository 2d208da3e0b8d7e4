package wazero

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasicert/wasicert/runners"
)

const wasi = `"wasi_snapshot_preview1"`

// Test modules, in WAT. $write (fd, ptr, len) writes memory to fd.
const (
	fdWrite = `
  (import ` + wasi + ` "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))`
	writeFn = `
  (func $write (param $fd i32) (param $p i32) (param $n i32)
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (local.get $n))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))`
)

// helloExit writes "hi" to stdout and exits with the given code.
func helloExit(code int32) string {
	return fmt.Sprintf(`(module %s
  (import %s "proc_exit" (func $exit (param i32)))%s
  (memory 1)
  (data (i32.const 16) "hi")
  (func (export "_start")
    (call $write (i32.const 1) (i32.const 16) (i32.const 2))
    (call $exit (i32.const %d))))`, fdWrite, wasi, writeFn, code)
}

const (
	trapWAT  = `(module (func (export "_start") unreachable))`
	spinWAT  = `(module (func (export "_start") (loop $l (br $l))))`
	floodWAT = `(module ` + fdWrite + `
  (memory 2)` + writeFn + `
  (func (export "_start") (loop $l (call $write (i32.const 1) (i32.const 65536) (i32.const 65536)) (br $l))))`

	// dumpWAT prints argc as a digit, the argv block, envc as a digit and the environ block.
	dumpWAT = `(module ` + fdWrite + `
  (import ` + wasi + ` "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import ` + wasi + ` "args_get" (func $args_get (param i32 i32) (result i32)))
  (import ` + wasi + ` "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (import ` + wasi + ` "environ_get" (func $env_get (param i32 i32) (result i32)))
  (memory 1)` + writeFn + `
  (func $digit (param $n i32)
    (i32.store8 (i32.const 100) (i32.add (i32.const 48) (local.get $n)))
    (call $write (i32.const 1) (i32.const 100) (i32.const 1)))
  (func (export "_start")
    (drop (call $args_sizes (i32.const 16) (i32.const 20)))
    (call $digit (i32.load (i32.const 16)))
    (drop (call $args_get (i32.const 1024) (i32.const 4096)))
    (call $write (i32.const 1) (i32.const 4096) (i32.load (i32.const 20)))
    (drop (call $env_sizes (i32.const 16) (i32.const 20)))
    (call $digit (i32.load (i32.const 16)))
    (drop (call $env_get (i32.const 1024) (i32.const 4096)))
    (call $write (i32.const 1) (i32.const 4096) (i32.load (i32.const 20)))))`

	// echoWAT copies one read of stdin to stdout and "e" to stderr.
	echoWAT = `(module ` + fdWrite + `
  (import ` + wasi + ` "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory 1)
  (data (i32.const 200) "e")` + writeFn + `
  (func (export "_start")
    (i32.store (i32.const 32) (i32.const 4096))
    (i32.store (i32.const 36) (i32.const 1000))
    (drop (call $fd_read (i32.const 0) (i32.const 32) (i32.const 1) (i32.const 40)))
    (call $write (i32.const 1) (i32.const 4096) (i32.load (i32.const 40)))
    (call $write (i32.const 2) (i32.const 200) (i32.const 1))))`

	// sleepWAT sleeps an hour in poll_oneoff on the monotonic clock.
	sleepWAT = `(module
  (import ` + wasi + ` "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory 1)
  (func (export "_start")
    (i32.store8 (i32.const 8) (i32.const 0))
    (i32.store (i32.const 16) (i32.const 1))
    (i64.store (i32.const 24) (i64.const 3600000000000))
    (drop (call $poll (i32.const 0) (i32.const 256) (i32.const 1) (i32.const 512)))))`

	// createWAT creates "f" in the preopen at fd 3 and exits with the errno.
	createWAT = `(module
  (import ` + wasi + ` "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import ` + wasi + ` "proc_exit" (func $exit (param i32)))
  (memory 1)
  (data (i32.const 64) "f")
  (func (export "_start")
    (call $exit (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 1)
      (i32.const 1) (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 128)))))`

	missingImportWAT = `(module (import "env" "nope" (func)) (func (export "_start")))`
	startTrapWAT     = `(module (func $s unreachable) (start $s) (func (export "_start")))`
	noStartWAT       = `(module)`
)

// acceptWAT calls sock_accept on fd and exits with the errno.
func acceptWAT(fd int) string {
	return fmt.Sprintf(`(module
  (import %[1]s "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import %[1]s "proc_exit" (func $exit (param i32)))
  (memory 1)
  (func (export "_start") (call $exit (call $accept (i32.const %[2]d) (i32.const 0) (i32.const 16)))))`, wasi, fd)
}

// recvWAT accepts on fd 3, then waits in sock_recv for data that never comes.
const recvWAT = `(module
  (import ` + wasi + ` "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import ` + wasi + ` "sock_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import ` + wasi + ` "proc_exit" (func $exit (param i32)))
  (memory 1)
  (func (export "_start")
    (drop (call $accept (i32.const 3) (i32.const 0) (i32.const 16)))
    (i32.store (i32.const 32) (i32.const 4096))
    (i32.store (i32.const 36) (i32.const 100))
    (call $exit (call $recv (i32.load (i32.const 16)) (i32.const 32) (i32.const 1) (i32.const 0) (i32.const 40) (i32.const 44)))))`

// wat compiles WAT source with wabt's wat2wasm.
func wat(tb testing.TB, src string) runners.Module {
	tb.Helper()
	bin, err := exec.LookPath("wat2wasm")
	if err != nil {
		tb.Skip("wat2wasm not found (apt-get install wabt): the test modules are built from WAT")
	}
	dir := tb.TempDir()
	in, out := filepath.Join(dir, "m.wat"), filepath.Join(dir, "m.wasm")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
	if msg, err := exec.Command(bin, in, "-o", out).CombinedOutput(); err != nil {
		tb.Fatalf("wat2wasm: %v\n%s\n%s", err, msg, src)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	return runners.Module{Name: tb.Name(), Bytes: b}
}

// both returns the default runner and the interpreter.
func both(t *testing.T) []runners.Runner {
	t.Helper()
	var rs []runners.Runner
	for _, name := range []string{"wazero", "wazero-interpreter"} {
		r, err := runners.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	return rs
}

func run(t *testing.T, r runners.Runner, inv runners.Invocation) runners.Result {
	t.Helper()
	if inv.Args == nil {
		inv.Args = []string{"prog"}
	}
	res, err := r.Run(context.Background(), inv)
	if err != nil {
		t.Errorf("%s: Run: %v", r.Name(), err) // not Fatal: some callers are goroutines
	}
	return res
}

func TestRegistered(t *testing.T) {
	want := map[string]string{"wazero": "(compiler)", "wazero-interpreter": "(interpreter)"}
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		want["wazero"] = "(interpreter)"
	}
	for _, r := range both(t) {
		if !strings.HasPrefix(r.Version(), "1.12.0 ") || !strings.HasSuffix(r.Version(), want[r.Name()]) {
			t.Errorf("%s: Version() = %q, want 1.12.0 %s", r.Name(), r.Version(), want[r.Name()])
		}
		for _, f := range []runners.Feature{runners.FeatureReadOnlyPreopen, runners.FeaturePreopenedSockets, runners.FeatureSockImports, runners.FeatureStdin} {
			if !r.Features().Has(f) {
				t.Errorf("%s: missing feature %s", r.Name(), f)
			}
		}
	}
}

func TestExitAndStdout(t *testing.T) {
	m := wat(t, helloExit(3))
	for _, r := range both(t) {
		res := run(t, r, runners.Invocation{Module: m})
		if res.Ended != runners.EndedExit || res.ExitCode != 3 || string(res.Stdout) != "hi" || res.Truncated {
			t.Errorf("%s: got %v stdout %q truncated %v, want exit 3 stdout \"hi\"", r.Name(), res, res.Stdout, res.Truncated)
		}
		if res.Duration <= 0 {
			t.Errorf("%s: Duration = %v", r.Name(), res.Duration)
		}
	}
}

// A guest's own proc_exit(0xffffffff) shares its code with wazero's
// "context cancelled"; it is still an exit when nothing was cancelled.
func TestExitCodeMax(t *testing.T) {
	m := wat(t, helloExit(-1))
	for _, r := range both(t) {
		if res := run(t, r, runners.Invocation{Module: m}); res.Ended != runners.EndedExit || res.ExitCode != 0xffffffff {
			t.Errorf("%s: got %v, want exit 4294967295", r.Name(), res)
		}
	}
}

func TestNoStartIsExit0(t *testing.T) {
	m := wat(t, noStartWAT)
	for _, r := range both(t) {
		if res := run(t, r, runners.Invocation{Module: m}); res.Ended != runners.EndedExit || res.ExitCode != 0 {
			t.Errorf("%s: got %v, want exit 0", r.Name(), res)
		}
	}
}

func TestTrap(t *testing.T) {
	for _, src := range []string{trapWAT, startTrapWAT} {
		m := wat(t, src)
		for _, r := range both(t) {
			res := run(t, r, runners.Invocation{Module: m})
			if res.Ended != runners.EndedTrap || res.ExitCode != -1 || !strings.Contains(res.Detail, "unreachable") || strings.Contains(res.Detail, "\n") {
				t.Errorf("%s: got %+v, want a one-line trap naming unreachable", r.Name(), res)
			}
		}
	}
}

func TestMissingImportIsCrash(t *testing.T) {
	m := wat(t, missingImportWAT)
	for _, r := range both(t) {
		res := run(t, r, runners.Invocation{Module: m})
		if res.Ended != runners.EndedCrash || !strings.HasPrefix(res.Detail, "instantiate: ") {
			t.Errorf("%s: got %v, want crash \"instantiate: ...\"", r.Name(), res)
		}
	}
}

func TestCorruptModuleIsError(t *testing.T) {
	for _, r := range both(t) {
		_, err := r.Run(context.Background(), runners.Invocation{
			Module: runners.Module{Name: "junk", Bytes: []byte("\x00asm\x01\x00\x00\x00garbage")},
			Args:   []string{"junk"},
		})
		if err == nil || !strings.Contains(err.Error(), "junk") || !strings.Contains(err.Error(), "not valid WebAssembly") {
			t.Errorf("%s: err = %v, want one naming the module and saying it is not valid WebAssembly", r.Name(), err)
		}
	}
}

func TestBadInvocationIsError(t *testing.T) {
	m := wat(t, noStartWAT)
	r := both(t)[0]
	for name, inv := range map[string]runners.Invocation{
		"dup env":     {Module: m, Args: []string{"p"}, Env: []string{"A=1", "A=2"}},
		"empty key":   {Module: m, Args: []string{"p"}, Env: []string{"=1"}},
		"no dir":      {Module: m, Args: []string{"p"}, Preopens: []runners.Preopen{{GuestPath: "/s", HostDir: "/nonexistent/dir"}}},
		"same guest":  {Module: m, Args: []string{"p"}, Preopens: []runners.Preopen{{GuestPath: "/s", HostDir: t.TempDir()}, {GuestPath: "s/", HostDir: t.TempDir()}}},
		"bad address": {Module: m, Args: []string{"p"}, Listeners: []runners.Listener{{Addr: "nope"}}},
		"no argv":     {Module: m},
	} {
		if _, err := r.Run(context.Background(), inv); err == nil {
			t.Errorf("%s: Run returned no error", name)
		}
	}
}

// A listener that cannot be bound means the run could not start.
func TestListenerInUseIsError(t *testing.T) {
	m := wat(t, noStartWAT)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, r := range both(t) {
		_, err := r.Run(context.Background(), runners.Invocation{Module: m, Args: []string{"p"}, Listeners: []runners.Listener{{Addr: l.Addr().String()}}})
		if err == nil || !strings.Contains(err.Error(), "listener") {
			t.Errorf("%s: err = %v, want a listener error", r.Name(), err)
		}
	}
}

func TestTimeout(t *testing.T) {
	m := wat(t, spinWAT)
	for _, r := range both(t) {
		start := time.Now()
		res := run(t, r, runners.Invocation{Module: m, Timeout: 200 * time.Millisecond})
		if took := time.Since(start); took > time.Second {
			t.Errorf("%s: Run took %v for a 200ms timeout", r.Name(), took)
		}
		if res.Ended != runners.EndedTimeout || res.ExitCode != -1 {
			t.Errorf("%s: got %v, want timeout", r.Name(), res)
		}
	}
}

func TestCancelled(t *testing.T) {
	m := wat(t, spinWAT)
	for _, r := range both(t) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		res, err := r.Run(ctx, runners.Invocation{Module: m, Args: []string{"p"}})
		if err != nil || res.Ended != runners.EndedTimeout || res.Detail != "cancelled" {
			t.Errorf("%s: got %v, %v, want timeout: cancelled", r.Name(), res, err)
		}
	}
}

// A guest asleep in poll_oneoff is woken at the timeout.
func TestSleepCutAtTimeout(t *testing.T) {
	m := wat(t, sleepWAT)
	for _, r := range both(t) {
		start := time.Now()
		res := run(t, r, runners.Invocation{Module: m, Timeout: 200 * time.Millisecond})
		if took := time.Since(start); took > time.Second || res.Ended != runners.EndedTimeout {
			t.Errorf("%s: got %v after %v, want timeout within 1s", r.Name(), res, took)
		}
	}
}

func TestFloodIsTruncated(t *testing.T) {
	m := wat(t, floodWAT)
	for _, r := range both(t) {
		res := run(t, r, runners.Invocation{Module: m, Timeout: 300 * time.Millisecond})
		if res.Ended != runners.EndedTimeout || !res.Truncated || len(res.Stdout) != runners.MaxOutput {
			t.Errorf("%s: got %v truncated %v len %d, want timeout, truncated at %d", r.Name(), res, res.Truncated, len(res.Stdout), runners.MaxOutput)
		}
	}
}

func TestArgsAndEnvExactly(t *testing.T) {
	t.Setenv("WASICERT_TEST_LEAK", "x")
	m := wat(t, dumpWAT)
	for _, r := range both(t) {
		res := run(t, r, runners.Invocation{Module: m, Args: []string{"prog"}})
		if got, want := string(res.Stdout), "1prog\x000"; got != want {
			t.Errorf("%s: empty Env: stdout %q, want %q (no host variables)", r.Name(), got, want)
		}
		res = run(t, r, runners.Invocation{Module: m, Args: []string{"p", "a b", ""}, Env: []string{"A=b=c", "B=x\ny", "C="}})
		if got, want := string(res.Stdout), "3p\x00a b\x00\x003A=b=c\x00B=x\ny\x00C=\x00"; got != want {
			t.Errorf("%s: stdout %q, want %q", r.Name(), got, want)
		}
	}
}

func TestStdin(t *testing.T) {
	m := wat(t, echoWAT)
	for _, r := range both(t) {
		res := run(t, r, runners.Invocation{Module: m, Stdin: []byte("abc")})
		if string(res.Stdout) != "abc" || string(res.Stderr) != "e" {
			t.Errorf("%s: stdout %q stderr %q, want \"abc\" \"e\"", r.Name(), res.Stdout, res.Stderr)
		}
		res = run(t, r, runners.Invocation{Module: m})
		if len(res.Stdout) != 0 || res.Ended != runners.EndedExit {
			t.Errorf("%s: nil Stdin: got %v stdout %q, want exit 0 and nothing", r.Name(), res, res.Stdout)
		}
	}
}

func TestReadOnlyPreopen(t *testing.T) {
	m := wat(t, createWAT)
	for _, r := range both(t) {
		for _, ro := range []bool{false, true} {
			dir := t.TempDir()
			res := run(t, r, runners.Invocation{Module: m, Preopens: []runners.Preopen{{GuestPath: "/sandbox", HostDir: dir, ReadOnly: ro}}})
			_, statErr := os.Stat(filepath.Join(dir, "f"))
			if created := statErr == nil; created == ro || (res.ExitCode == 0) == ro {
				t.Errorf("%s: read-only %v: got %v, file created %v", r.Name(), ro, res, created)
			}
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Listeners come after the preopens: with one preopen, the listener is fd 4.
func TestListenerAfterPreopens(t *testing.T) {
	m := wat(t, acceptWAT(4))
	for _, r := range both(t) {
		addr := freeAddr(t)
		done := make(chan runners.Result, 1)
		go func() {
			done <- run(t, r, runners.Invocation{
				Module:    m,
				Preopens:  []runners.Preopen{{GuestPath: "/sandbox", HostDir: t.TempDir()}},
				Listeners: []runners.Listener{{Addr: addr}},
				Timeout:   5 * time.Second,
			})
		}()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if c, err := net.Dial("tcp", addr); err == nil {
				c.Close()
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if res := <-done; res.Ended != runners.EndedExit || res.ExitCode != 0 {
			t.Errorf("%s: got %v, want exit 0 (sock_accept on fd 4 succeeded)", r.Name(), res)
		}
	}
}

// A guest blocked in sock_accept is stopped at the timeout and its
// listener closed.
func TestBlockedAcceptTimesOut(t *testing.T) {
	m := wat(t, acceptWAT(3))
	for _, r := range both(t) {
		addr := freeAddr(t)
		start := time.Now()
		res := run(t, r, runners.Invocation{Module: m, Listeners: []runners.Listener{{Addr: addr}}, Timeout: 200 * time.Millisecond})
		if took := time.Since(start); took > time.Second || res.Ended != runners.EndedTimeout {
			t.Errorf("%s: got %v after %v, want timeout within 1s", r.Name(), res, took)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("%s: listener not released after the run: %v", r.Name(), err)
			continue
		}
		l.Close()
	}
}

// A guest blocked in sock_recv cannot be stopped by wazero: Run gives up
// on it a grace period after the timeout, and its socket is released once
// the call returns.
func TestBlockedRecvIsAbandoned(t *testing.T) {
	m := wat(t, recvWAT)
	r := both(t)[0]
	addr := freeAddr(t)
	type ran struct {
		res  runners.Result
		took time.Duration
	}
	done := make(chan ran, 1)
	go func() {
		start := time.Now()
		res := run(t, r, runners.Invocation{Module: m, Listeners: []runners.Listener{{Addr: addr}}, Timeout: 200 * time.Millisecond})
		done <- ran{res, time.Since(start)}
	}()
	var conn net.Conn
	for deadline := time.Now().Add(5 * time.Second); conn == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		conn, _ = net.Dial("tcp", addr)
	}
	if conn == nil {
		t.Fatal("could not connect to the guest's listener")
	}
	got := <-done
	if got.res.Ended != runners.EndedTimeout || !strings.Contains(got.res.Detail, "abandoned") || got.took > 2*time.Second {
		t.Errorf("got %v after %v, want timeout ... abandoned within 2s", got.res, got.took)
	}
	conn.Close() // sock_recv returns; wazero stops the guest and closes its sockets
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			l.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("listener not released after the blocked call returned: %v", err)
		}
	}
}

func TestConcurrentRuns(t *testing.T) {
	m := wat(t, dumpWAT)
	rs := both(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rs[g%2]
			for i := range 5 {
				arg := fmt.Sprintf("g%di%d", g, i)
				res, err := r.Run(context.Background(), runners.Invocation{Module: m, Args: []string{arg}, Env: []string{"K=" + arg}})
				if want := "1" + arg + "\x001K=" + arg + "\x00"; err != nil || !bytes.Equal(res.Stdout, []byte(want)) {
					t.Errorf("%s: got %q, %v, want %q", r.Name(), res.Stdout, err, want)
				}
			}
		})
	}
	wg.Wait()
}

func TestCleanGuestPath(t *testing.T) {
	for in, want := range map[string]string{"/sandbox": "sandbox", "./a/": "a", "/": "", ".": "", "a/b": "a/b", "//x//": "x"} {
		if got := cleanGuestPath(in); got != want {
			t.Errorf("cleanGuestPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkRunHello measures one instantiate+run of a small module whose
// compilation is cached.
func BenchmarkRunHello(b *testing.B) {
	m := wat(b, helloExit(0))
	for _, name := range []string{"wazero", "wazero-interpreter"} {
		b.Run(name, func(b *testing.B) {
			r, err := runners.Open(name)
			if err != nil {
				b.Fatal(err)
			}
			inv := runners.Invocation{Module: m, Args: []string{"hello"}}
			if _, err := r.Run(context.Background(), inv); err != nil { // compile once
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if res, err := r.Run(context.Background(), inv); err != nil || string(res.Stdout) != "hi" {
					b.Fatal(res, err)
				}
			}
		})
	}
}
