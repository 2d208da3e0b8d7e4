package wasmer_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/internal/proctest"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/wasmer"
)

func open(t *testing.T) runners.Runner {
	proctest.BuildWorker(t, "./cmd/wasicert-worker-wasmer")
	r, err := runners.Open(wasmer.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %s", r.Name(), r.Version())
	return r
}

func TestBasic(t *testing.T) {
	proctest.Basic(t, open(t), proctest.Expect{})
}

// TestPreopenFindings records wasmer-go's behaviour: the preopen name, no
// read-only mode, no sock_accept.
func TestPreopenFindings(t *testing.T) {
	r := open(t)
	inv := proctest.Inv(proctest.Module(t, "prestat"), nil)
	inv.Preopens = []runners.Preopen{{GuestPath: "/sandbox", HostDir: t.TempDir()}}
	res := proctest.Run(t, r, inv)
	// Measured with wasmer-go 1.0.4: "/\x00\nsandbox\x00\n": an extra "/"
	// preopen at fd 3, the granted one at fd 4 without its leading slash,
	// and both names NUL-terminated. Runtime findings, kept as they are.
	t.Logf("preopen names from fd 3 up: %q (%s)", res.Stdout, res)
	if !strings.Contains(string(res.Stdout), "sandbox") {
		t.Fatalf("prestat: %q", res.Stdout)
	}
	none := proctest.Run(t, r, proctest.Inv(proctest.Module(t, "prestat"), nil))
	t.Logf("preopen names with no preopen granted: %q", none.Stdout)
	inv.Preopens[0].ReadOnly = true
	if _, err := r.Run(context.Background(), inv); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("a read-only preopen must be refused, got %v", err)
	}
	_, err := r.Run(context.Background(), proctest.Inv(proctest.Module(t, "sock"), nil))
	t.Logf("sock imports: %v", err)
	if err == nil {
		t.Fatal("wasmer-go linked sock_accept; update Features")
	}
}

func TestTiming(t *testing.T) {
	r := open(t)
	d := proctest.Time(t, r, proctest.Inv(proctest.Module(t, "hello"), nil), 11)
	t.Logf("wasmer worker: WAT hello median %s", d)
}

// TestGuestMakesWasmerPanic: with a host symlink to an absolute path in the
// preopen, opening it makes wasmer-go 1.0.4 panic (RATIONALE.md, Runtimes and isolation); the worker
// process dies and the run is a Result, not a harness failure.
func TestGuestMakesWasmerPanic(t *testing.T) {
	const fsProbe = "/work/main/probes/fs.wasm"
	if _, err := os.Stat(fsProbe); err != nil {
		t.Skip("probes/fs.wasm not built")
	}
	r := open(t)
	sb := t.TempDir()
	if err := os.Symlink("/etc/hostname", filepath.Join(sb, "abs")); err != nil {
		t.Fatal(err)
	}
	inv := proctest.Inv(runners.Module{Name: "fs", Path: fsProbe}, nil, "open", "c", "fd:4", "abs", "follow", "0", "r") // wasmer names it "sandbox\x00" at fd 4
	inv.Preopens = []runners.Preopen{{GuestPath: "/sandbox", HostDir: sb}}
	res := proctest.Run(t, r, inv)
	t.Logf("%s\nstdout %q\nstderr %q", res, res.Stdout, proctestTail(res.Stderr))
	if res.Ended != runners.EndedCrash || !strings.Contains(res.Detail, "panicked") {
		t.Fatalf("want a crash naming the panic, got %s", res)
	}
}

func proctestTail(b []byte) string {
	if len(b) > 400 {
		return string(b[len(b)-400:])
	}
	return string(b)
}
