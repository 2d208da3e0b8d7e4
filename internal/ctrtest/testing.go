package ctrtest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/internal/repo"
)

// Versions are the containerd versions the daemon tests run on:
// $WASICERT_CONTAINERD_VERSIONS, default "1.6 2".
func Versions() []string {
	if v := os.Getenv("WASICERT_CONTAINERD_VERSIONS"); v != "" {
		return strings.Fields(v)
	}
	return []string{"1.6", "2"}
}

// BuildShim builds our shim (cmd/containerd-shim-wazero-v1) with the build
// tags given (wasicert_weakened: the weakened one) into a temporary dir of
// tb and returns its path.
func BuildShim(tb testing.TB, tags ...string) string {
	tb.Helper()
	root, ok := repo.Root()
	if !ok {
		tb.Fatal("ctrtest: not inside the wasicert repository (no go.mod found upwards)")
	}
	bin := filepath.Join(tb.TempDir(), "containerd-shim-wazero-v1")
	args := []string{"build"}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.Command("go", append(args, "-o", bin, "./cmd/containerd-shim-wazero-v1")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("build the shim: %v\n%s", err, out)
	}
	return bin
}

// StartCRIFor starts a private containerd with its CRI plugin (StartCRI)
// for tb: skipped where one cannot run (ErrSkip), a failure when it does
// not start. It is stopped when tb ends, after tb's own deferred calls:
// what stop.sh finds left behind fails tb, and a failed tb logs the tail
// of containerd's log.
func StartCRIFor(tb testing.TB, version, shim string) *Daemon {
	tb.Helper()
	d, err := StartCRI(version, shim)
	if errors.Is(err, ErrSkip) {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			lines := strings.Split(d.Log(), "\n")
			tb.Logf("containerd %s log tail:\n%s", version, strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
		if err := d.Stop(); err != nil {
			tb.Errorf("containerd %s: leftovers: %v", version, err)
		}
	})
	return d
}
