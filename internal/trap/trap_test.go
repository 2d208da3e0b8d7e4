package trap_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasicert/wasicert/internal/trap"
	"github.com/wasicert/wasicert/runners"
)

// envWorker makes the test binary act as a worker that reports a trap.
const envWorker = "WASICERT_TRAP_TEST_WORKER"

func TestMain(m *testing.M) {
	if detail := os.Getenv(envWorker); detail != "" {
		os.Exit(process.WorkerEnd("trap-test-worker", process.WorkerEnding{Ended: string(runners.EndedTrap), Detail: detail}))
	}
	os.Exit(m.Run())
}

// The shim's encoding read back by the runner's decoding: the message up to
// its first newline, after whatever the guest wrote, with or without a
// newline of its own, and after a flood of output.
func TestShimRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name, guest, msg, want string
	}{
		{"alone", "", "wasm error: unreachable", "wasm error: unreachable"},
		{"after-lines", "one\ntwo\n", "wasm error: unreachable", "wasm error: unreachable"},
		{"after-partial-line", "no newline", "wasm error: unreachable", "wasm error: unreachable"},
		{"multi-line-message", "x\n", "wasm error: unreachable\nwasm stack trace:\n\t.$0()", "wasm error: unreachable"},
		{"after-flood", strings.Repeat("flood\n", 100000), "wasm error: integer divide by zero", "wasm error: integer divide by zero"},
	} {
		t.Run(c.name, func(t *testing.T) {
			line := trap.ShimLine(c.msg)
			if strings.Contains(line, "\n") {
				t.Fatalf("ShimLine(%q) = %q spans lines", c.msg, line)
			}
			stderr := []byte(c.guest + line + "\n")
			got, ok := trap.FromShim(trap.ExitStatus, stderr)
			if !ok || got != c.want {
				t.Errorf("FromShim(ExitStatus, guest+ShimLine(%q)) = %q, %v; want %q, true", c.msg, got, ok, c.want)
			}
		})
	}
}

// What is not the shim's trap report is not a trap.
func TestShimNotATrap(t *testing.T) {
	line := []byte(trap.ShimLine("wasm error: unreachable") + "\n")
	for _, c := range []struct {
		name   string
		status int
		stderr []byte
	}{
		{"exit-1", 1, line},
		{"exit-0", 0, line},
		{"sigkill", 128 + 9, line},
		{"no-line", trap.ExitStatus, []byte("wasm error: unreachable\n")},
		{"empty", trap.ExitStatus, nil},
		{"empty-message", trap.ExitStatus, []byte(trap.ShimPrefix + "\n")},
		// the shim writes its line last: one with output after it is the guest's
		{"not-last", trap.ExitStatus, append(append([]byte{}, line...), "more\n"...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if msg, ok := trap.FromShim(c.status, c.stderr); ok {
				t.Errorf("FromShim(%d, %q) = %q, a trap", c.status, c.stderr, msg)
			}
		})
	}
}

// A real worker process that ends with a trap (process.WorkerEnd) exits
// with ExitStatus, and internal/process reads its report as a trap with the
// detail.
func TestWorkerTrap(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	res, err := process.Run(context.Background(), process.Command{
		Name:       "trap-test-worker",
		Path:       self,
		Env:        []string{envWorker + "=wasm trap: unreachable"},
		EndingPipe: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Ended != runners.EndedTrap || res.Detail != "wasm trap: unreachable" {
		t.Errorf("worker trap read as %s, want trap: wasm trap: unreachable", res)
	}
	if res.ExitCode != trap.ExitStatus {
		t.Errorf("worker exited %d on a trap, want trap.ExitStatus %d", res.ExitCode, trap.ExitStatus)
	}
	if !strings.Contains(string(res.Stderr), "wasm trap: wasm trap: unreachable") {
		t.Errorf("worker stderr %q does not say the trap", res.Stderr)
	}
}
