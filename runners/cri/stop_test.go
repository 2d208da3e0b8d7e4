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
// report it, end it and exit 4, not remove the run dir beneath it. So is
// the cgroup of a task whose bundle the daemon left (a killed shim never
// removed it): reported and removed. No daemon is needed: the run dir is
// made by hand.
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
	// Its task's cgroup, named by a bundle the daemon left, with the
	// process in it (a shim killed before it removed it).
	cgRel := "/wasicert-stoptest-" + filepath.Base(run)
	bundle := filepath.Join(run, "state", "io.containerd.runtime.v2.task", "k8s.io", "leftover")
	os.MkdirAll(bundle, 0o755)
	os.WriteFile(filepath.Join(bundle, "config.json"), []byte(`{"ociVersion":"1.1.0","linux":{"cgroupsPath":"`+cgRel+`"}}`), 0o644)
	cgDir := "/sys/fs/cgroup/pids" + cgRel
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		cgDir = "/sys/fs/cgroup" + cgRel
	}
	if err := os.Mkdir(cgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(cgDir)
	if err := os.WriteFile(filepath.Join(cgDir, "cgroup.procs"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
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
	if _, err := os.Stat(cgDir); err == nil {
		t.Errorf("the task's cgroup %s is left", cgDir)
	}
	if !strings.Contains(string(out), "leftover cgroups: "+cgDir) {
		t.Errorf("stop.sh did not report the cgroup %s", cgDir)
	}
	t.Logf("%s", out)
}
