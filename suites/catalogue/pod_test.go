package catalogue

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

// waitFor polls cond (bounded: 5 s) and reports whether it held.
func waitFor(cond func() bool) bool {
	for range 500 {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// TestRunningFileSeesThePause: pod.pause-never-runs' check finds a process
// whose executable is the sandbox image's entrypoint (a stand-in: a copy of
// sleep in a dir like a rootfs snapshot), and nothing once it is gone; a
// process running another copy of the same program is not it.
func TestRunningFileSeesThePause(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep on PATH")
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pause, other := filepath.Join(dir, "pause"), filepath.Join(dir, "other")
	for _, p := range []string{pause, other} {
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got := RunningFile(pause); len(got) != 0 {
		t.Fatalf("before anything runs it: %v", got)
	}
	decoy := exec.Command(other, "30")
	if err := decoy.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = decoy.Process.Kill(); _ = decoy.Wait() }()
	cmd := exec.Command(pause, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("pid %d:", cmd.Process.Pid)
	seen := waitFor(func() bool {
		got := RunningFile(pause)
		return len(got) == 1 && strings.HasPrefix(got[0], want)
	})
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if !seen {
		t.Errorf("RunningFile(%s) = %v, want only %s", pause, RunningFile(pause), want)
	}
	if got := RunningFile(pause); len(got) != 0 {
		t.Errorf("after it ended: %v", got)
	}
}

// TestPodStateTraces: pod.deleted-mid-run's scan of the runtime's state
// dirs finds a dir, a file and a FIFO named by a pod's id (as containerd's
// io FIFOs are), and nothing of another pod.
func TestPodStateTraces(t *testing.T) {
	dir := t.TempDir()
	id, other := "0123456789abcdef0123", "fedcba9876543210fedc"
	for _, p := range []string{"io.containerd.runtime.v2.task/k8s.io/" + other, "io.containerd.grpc.v1.cri/containers/x/io/1"} {
		if err := os.MkdirAll(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if got := podStateTraces([]string{dir}, id); len(got) != 0 {
		t.Fatalf("another pod's files: %v", got)
	}
	if err := os.MkdirAll(filepath.Join(dir, "io.containerd.runtime.v2.task/k8s.io", id, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(dir, "io.containerd.grpc.v1.cri/containers/x/io/1", id+"-stdout"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, id+".log"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(podStateTraces([]string{dir}, id), "\n")
	for _, want := range []string{"dir " + filepath.Join(dir, "io.containerd.runtime.v2.task/k8s.io", id), "fifo ", "file " + filepath.Join(dir, id+".log")} {
		if !strings.Contains(got, want) {
			t.Errorf("podStateTraces: %q lacks %q", got, want)
		}
	}
}

// TestUTSName: pod.hostname's reading of a sandbox's UTS namespace sees the
// hostname a process set in a UTS namespace of its own (a stand-in for a
// sandbox), and the node's for a process in the node's. Needs root.
func TestUTSName(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("setns into another UTS namespace needs root")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep on PATH")
	}
	node, _ := os.Hostname()
	cmd := exec.Command(sleep, "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS}
	if err := cmd.Start(); err != nil {
		t.Skipf("no UTS namespace here: %v", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// The child's namespace starts as a copy of the node's: name it from
	// here, through the same setns path.
	if got, err := utsName(cmd.Process.Pid); err != nil || got != node {
		t.Fatalf("a fresh UTS namespace: %q, %v; want the node's %q", got, err, node)
	}
	if err := setUTSName(cmd.Process.Pid, "wasicert-pod-x"); err != nil {
		t.Fatal(err)
	}
	if got, err := utsName(cmd.Process.Pid); err != nil || got != "wasicert-pod-x" {
		t.Errorf("utsName = %q, %v; want wasicert-pod-x", got, err)
	}
	if h, _ := os.Hostname(); h != node {
		t.Errorf("the node's hostname changed to %q", h)
	}
	if got, err := utsName(os.Getpid()); err != nil || got != node {
		t.Errorf("utsName(self) = %q, %v; want %q", got, err, node)
	}
	if nsLinks(fmt.Sprint(cmd.Process.Pid))["uts"] == nsLinks("self")["uts"] {
		t.Errorf("the stand-in shares the node's UTS namespace")
	}
}

// setUTSName sets the hostname in pid's UTS namespace (tests only).
func setUTSName(pid int, name string) error {
	c := make(chan error, 1)
	go func() {
		runtimeLock()
		self, _ := os.Open("/proc/thread-self/ns/uts")
		defer self.Close()
		target, err := os.Open(fmt.Sprintf("/proc/%d/ns/uts", pid))
		if err != nil {
			c <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWUTS); err != nil {
			c <- err
			return
		}
		err = unix.Sethostname([]byte(name))
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWUTS) == nil {
			runtimeUnlock()
		}
		c <- err
	}()
	return <-c
}

var runtimeLock, runtimeUnlock = runtime.LockOSThread, runtime.UnlockOSThread

// TestJudgePodNetwork: pod.network's judge fails a sandbox or a guest in
// the node's network namespace, or a guest outside the pod's, and passes
// one namespace of the pod's own (the node's view stood in by links as
// /proc/<pid>/ns/net reads them).
func TestJudgePodNetwork(t *testing.T) {
	node := nsLinks("self")["net"]
	if node == "" {
		t.Skip("no /proc/self/ns/net here")
	}
	pod, other := "net:[1]", "net:[2]"
	for _, c := range []struct {
		name          string
		hostNet       bool
		sandbox, gues string
		want          string
	}{
		{"own", false, pod, pod, ""},
		{"sandbox-on-node", false, node, pod, "net:node"},
		{"guest-on-node", false, pod, node, "net:node"},
		{"guest-elsewhere", false, pod, other, "net:not-pod"},
		{"host-network", true, node, node, "net:host-network"},
		{"guest-in-runtime's", false, pod, "net:[3]", "net:node"},
		{"unobserved-guest", false, pod, "", "net:no-container"},
	} {
		a := &PodRun{}
		a.Pod.Report = runners.PodReport{HostNetwork: c.hostNet, SandboxPid: 10, ContainerPid: 11}
		a.Seen = PodSeen{Looked: true, Node: map[string]string{"net": node}, Runtime: map[string]string{"net": "net:[3]"},
			Sandbox: map[string]string{"net": c.sandbox}, Container: map[string]string{"net": c.gues}}
		ev := &suites.Evidence{Plan: suites.Plan{Actors: []suites.Actor{a}}}
		j := judgePodNetwork(ev)
		switch {
		case c.want == "" && j.Verdict != verdicts.Pass:
			t.Errorf("%s: %s %v, want pass", c.name, j.Verdict, j.Causes)
		case c.want != "" && !slices.Contains(j.Causes, c.want):
			t.Errorf("%s: %s %v, want cause %s", c.name, j.Verdict, j.Causes, c.want)
		}
	}
}

// TestJudgePodHostnameUTS: pod.hostname's judge fails a pod-network sandbox
// in the node's UTS namespace or holding another hostname, and only notes
// a host-network one.
func TestJudgePodHostnameUTS(t *testing.T) {
	node := nsLinks("self")["uts"]
	nodeName, _ := os.Hostname()
	okFile := `{"check":"hostname.file","op":"libc-open","outcome":"ok","data":"wasicert-probe\n"}`
	for _, c := range []struct {
		name    string
		hostNet bool
		uts     string
		utsName string
		want    string
	}{
		{"own", false, "uts:[1]", "wasicert-probe", ""},
		{"node-uts", false, node, "wasicert-probe", "hostname:uts-node"},
		{"other-name", false, "uts:[1]", "elsewhere", "hostname:uts"},
		{"node-name", false, "uts:[1]", nodeName, "hostname:uts-node"},
		{"host-network", true, node, "", ""},
	} {
		a := &PodRun{}
		a.Pod.Report = runners.PodReport{HostNetwork: c.hostNet, SandboxPid: 10, Hostname: "wasicert-probe"}
		a.Seen = PodSeen{Looked: true, Node: map[string]string{"uts": node}, Sandbox: map[string]string{"uts": c.uts}, SandboxUTSName: c.utsName}
		lines, _ := probes.ParseLines([]byte(okFile + "\n"))
		ev := &suites.Evidence{Plan: suites.Plan{Actors: []suites.Actor{a}}, Lines: lines}
		j := judgePodHostname(ev)
		switch {
		case c.want == "" && j.Verdict != verdicts.Pass:
			t.Errorf("%s: %s %s %v, want pass", c.name, j.Verdict, j.Reason, j.Causes)
		case c.want != "" && !slices.Contains(j.Causes, c.want):
			t.Errorf("%s: %s %v, want cause %s", c.name, j.Verdict, j.Causes, c.want)
		}
	}
}
