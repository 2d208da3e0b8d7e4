package wasmtime_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasicert/wasicert/internal/proctest"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/wasmtime"
)

// TestWorkerEmulator: with $WASICERT_WORKER_EMULATOR set, the version probe
// and every job start the emulator with its arguments, then the worker and
// the worker's arguments (ci/qemu/leg.sh puts qemu-aarch64 there). The
// stand-in emulator logs its argv and runs the rest.
func TestWorkerEmulator(t *testing.T) {
	proctest.BuildWorker(t, "./cmd/wasicert-worker-wasmtime")
	dir := t.TempDir()
	log := filepath.Join(dir, "argv.log")
	emu := filepath.Join(dir, "emu")
	script := "#!/bin/sh\nprintf '%s\\n' \"$*\" >> " + log + "\nshift 2\nexec \"$@\"\n"
	if err := os.WriteFile(emu, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(process.WorkerEmulatorEnv, emu+" -L /nonexistent-prefix")
	r, err := runners.Open(wasmtime.Name)
	if err != nil {
		t.Fatal(err)
	}
	res := proctest.Run(t, r, proctest.Inv(proctest.Module(t, "hello"), nil))
	if res.Ended != runners.EndedExit || res.ExitCode != 0 {
		t.Fatalf("hello under the stand-in emulator: %s %q", res, res.Stderr)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("the emulator never ran: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("emulator started %d times, want 2 (version, job):\n%s", len(lines), b)
	}
	worker := r.(*process.WorkerRunner).Worker()
	if want := "-L /nonexistent-prefix " + worker + " -version"; lines[0] != want {
		t.Fatalf("version probe: emulator got %q, want %q", lines[0], want)
	}
	if want := "-L /nonexistent-prefix " + worker + " "; !strings.HasPrefix(lines[1], want) || !strings.HasSuffix(lines[1], ".json") {
		t.Fatalf("job: emulator got %q, want %q and the job file", lines[1], want)
	}

	t.Setenv(process.WorkerEmulatorEnv, filepath.Join(dir, "no-such-emulator"))
	if _, err := runners.Open(wasmtime.Name); err == nil || !strings.Contains(err.Error(), process.WorkerEmulatorEnv) {
		t.Fatalf("a missing emulator: got %v, want an error naming %s", err, process.WorkerEmulatorEnv)
	}
}
