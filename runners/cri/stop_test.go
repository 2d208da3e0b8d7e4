package cri_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/wasicert/wasicert/ci/kubernetes/pause/tripwire"
	"github.com/wasicert/wasicert/internal/proctest"
)

// TestStopSeesImageProcess: a process that a handler executed from a
// container's rootfs under the daemon's run dir (the pause image's
// entrypoint, chrooted there, as a shim that falls back to Linux runs it)
// is not one of our shims, yet a leftover: ci/containerd/stop.sh must
// report it, end it and exit 4, not remove the run dir beneath it. No
// daemon is needed: the run dir is made by hand.
func TestStopSeesImageProcess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("stop.sh needs root")
	}
	root := proctest.RepoRoot(t)
	run, err := os.MkdirTemp("", "wcd-stoptest.")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(run)
	rootfs := filepath.Join(run, "state", "bundle", "rootfs")
	build := exec.Command("go", "build", "-o", filepath.Join(rootfs, tripwire.Entrypoint), "./ci/kubernetes/pause/linux")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// Its own session, as a detached leftover: not stop.sh's child or ours
	// by process group, and it outlives nothing it should.
	cmd := &exec.Cmd{Path: tripwire.Entrypoint, Args: []string{tripwire.Entrypoint},
		SysProcAttr: &syscall.SysProcAttr{Chroot: rootfs, Setsid: true, Pdeathsig: syscall.SIGKILL}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	stop := exec.Command("bash", filepath.Join(root, "ci", "containerd", "stop.sh"), run)
	out, err := stop.CombinedOutput()
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err == nil {
		code = 0
	}
	if code != 4 || !strings.Contains(string(out), strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("stop.sh exit %d, want 4 naming pid %d:\n%s", code, cmd.Process.Pid, out)
	}
	if err := cmd.Process.Signal(syscall.Signal(0)); err == nil {
		// Not yet reaped: a zombie is gone; anything else still runs.
		if st, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/stat"); !strings.Contains(string(st), ") Z ") {
			t.Errorf("the process %d still runs after stop.sh", cmd.Process.Pid)
		}
	}
	t.Logf("%s", out)
}
