package wasmtime_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/internal/proctest"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/wasmtime"
)

func open(t *testing.T) runners.Runner {
	proctest.BuildWorker(t, "./cmd/wasicert-worker-wasmtime")
	r, err := runners.Open(wasmtime.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %s", r.Name(), r.Version())
	return r
}

func TestBasic(t *testing.T) {
	proctest.Basic(t, open(t), proctest.Expect{})
}

func TestReadOnlyPreopenAndSock(t *testing.T) {
	r := open(t)
	if !r.Features().Has(runners.FeatureReadOnlyPreopen) {
		t.Fatal("wasmtime claims no read-only preopens")
	}
	inv := proctest.Inv(proctest.Module(t, "prestat"), nil)
	inv.Preopens = []runners.Preopen{{GuestPath: "/sandbox", HostDir: t.TempDir(), ReadOnly: true}}
	res := proctest.Run(t, r, inv)
	if string(res.Stdout) != "/sandbox\n" {
		t.Fatalf("prestat: %q (%s)", res.Stdout, res)
	}
	res = proctest.Run(t, r, proctest.Inv(proctest.Module(t, "sock"), nil))
	if res.Ended != runners.EndedExit {
		t.Fatalf("sock imports: %s %q", res, res.Stderr)
	}
	inv = proctest.Inv(proctest.Module(t, "hello"), nil)
	inv.Listeners = []runners.Listener{{Addr: "127.0.0.1:0"}}
	if _, err := r.Run(context.Background(), inv); err == nil || !strings.Contains(err.Error(), "listeners") {
		t.Fatalf("a listener must be refused as a start error, got %v", err)
	}
}

func TestTiming(t *testing.T) {
	r := open(t)
	d := proctest.Time(t, r, proctest.Inv(proctest.Module(t, "hello"), nil), 11)
	t.Logf("wasmtime worker: WAT hello median %s", d)
}

// TestWithoutCgo: a worker built without cgo still compiles, and the runtime
// is then "unusable: ... built without cgo", not a hang or a crash.
func TestWithoutCgo(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, wasmtime.Worker), "./cmd/wasicert-worker-wasmtime")
	cmd.Dir = proctest.RepoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 build: %v\n%s", err, out)
	}
	t.Setenv("WASICERT_WORKER_DIR", dir)
	_, err := runners.Open(wasmtime.Name)
	if err == nil || !strings.Contains(err.Error(), "unusable: ") || !strings.Contains(err.Error(), "built without cgo") {
		t.Fatalf("got %v", err)
	}
	t.Log(err)
}
