package tripwire_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasicert/wasicert/ci/kubernetes/pause/tripwire"
	"github.com/wasicert/wasicert/internal/proctest"
)

// The hostile stand-in for the checks of package tripwire: the tripwire
// executed as a shim that falls back to Linux would (chrooted in a rootfs
// holding it): Processes and Runs see it, it writes Marker and Banner, and
// it exits 0 on SIGTERM like pause. Not running, it is seen nowhere.
// Renamed: a runtime that executes the entrypoint by another path (a copy,
// a link, a memfd) gives it another exe and comm; it is still seen.
func TestTripwireSeen(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root")
	}
	for _, path := range []string{tripwire.Entrypoint, "/bin/sh"} {
		t.Run(filepath.Base(path), func(t *testing.T) { tripwireSeen(t, path) })
	}
}

func tripwireSeen(t *testing.T, path string) {
	rootfs := t.TempDir()
	bin := filepath.Join(rootfs, path)
	os.MkdirAll(filepath.Dir(bin), 0o755)
	build := exec.Command("go", "build", "-o", bin, "./ci/kubernetes/pause/linux")
	build.Dir = proctest.RepoRoot(t)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	before, err := tripwire.Processes()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd := &exec.Cmd{Path: path, Args: []string{path}, Stderr: &stderr,
		SysProcAttr: &syscall.SysProcAttr{Chroot: rootfs, Pdeathsig: syscall.SIGKILL}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	marker := filepath.Join(rootfs, tripwire.Marker)
	for i := 0; i < 200; i++ { // the marker is its first act: at most 10 s
		if _, err := os.Stat(marker); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("no marker: %v", err)
	}
	if !tripwire.Runs(cmd.Process.Pid) {
		t.Errorf("Runs(%d) is false for the running tripwire", cmd.Process.Pid)
	}
	after, _ := tripwire.Processes()
	if !slices.Contains(after, cmd.Process.Pid) {
		t.Errorf("Processes %v misses the running tripwire %d", after, cmd.Process.Pid)
	}
	if tripwire.Runs(os.Getpid()) {
		t.Errorf("Runs sees the tripwire in the test process")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v (want exit 0, like pause)", err)
	}
	if !strings.Contains(stderr.String(), tripwire.Banner) {
		t.Errorf("stderr %q lacks the banner", stderr.String())
	}
	if left, _ := tripwire.Processes(); len(left) > len(before) {
		t.Errorf("Processes after it exited: %v (before: %v)", left, before)
	}
}
