package cri

// Our shim as a pod's runtime handler, through containerd's CRI (1.6.20 and
// 2.2.9 from ci/kubernetes/cri.sh): one shim per pod, the sandbox held by
// the shim's holder (never the image's entrypoint), the pod's containers in
// its namespaces, container and pod stats, FinishedAt never before
// StartedAt. Host-side evidence throughout (/proc).

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/wasicert/wasicert/ci/kubernetes/pause/tripwire"
	"github.com/wasicert/wasicert/internal/ctrtest"
)

// podCgroupRoot is the parent of the pods' cgroups in this test, as
// kubelet's /kubepods: removed after each pod.
const podCgroupRoot = "wasicert-shimpod"

// shims are the pids of the shim servers (not guests or holders) of the
// daemon whose run dir is run: their binary is run's copy and their first
// argument -namespace.
func shims(run string) []int {
	bin := filepath.Join(run, "bin", "containerd-shim-wazero-v1")
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 1 && args[0] == bin && args[1] == "-namespace" {
			pids = append(pids, pid)
		}
	}
	return pids
}

// rssKiB is pid's VmRSS.
func rssKiB(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// verbosePid is the pid in a CRI status's verbose info (containerd puts
// the task's pid there, for a sandbox and for a container).
func verbosePid(t *testing.T, info map[string]string) int {
	t.Helper()
	var v struct {
		Pid int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(info["info"]), &v); err != nil || v.Pid == 0 {
		t.Fatalf("no pid in the verbose status: %v %q", err, info["info"])
	}
	return v.Pid
}

func nsOf(t *testing.T, pid int, name string) string {
	t.Helper()
	l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, name))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// removeCgroups removes the test's pod cgroups in every hierarchy, deepest
// first (kubelet's job on a node).
func removeCgroups() {
	roots, _ := filepath.Glob("/sys/fs/cgroup/*/" + podCgroupRoot)
	if _, err := os.Stat("/sys/fs/cgroup/" + podCgroupRoot); err == nil {
		roots = append(roots, "/sys/fs/cgroup/"+podCgroupRoot)
	}
	for _, root := range roots {
		var dirs []string
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for _, d := range slices.Backward(dirs) {
			os.Remove(d)
		}
	}
}

// TestShimPods: pods on our shim through the CRI.
func TestShimPods(t *testing.T) {
	if r := ctrtest.SkipReason(); r != "" {
		t.Skip(r)
	}
	shim := ctrtest.BuildShim(t)
	t.Setenv("WASICERT_WEAK_SHIM", "1") // cri.sh registers the weakened shim too: the hostile stand-in
	hello, err := os.ReadFile(filepath.Join("..", "containerd", "testdata", "hello.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	sleep, err := os.ReadFile(filepath.Join("..", "containerd", "testdata", "sleep60.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range ctrtest.Versions() {
		t.Run("containerd-"+v, func(t *testing.T) {
			t.Cleanup(removeCgroups) // after the daemon's stop (cleanups run last first)
			d := ctrtest.StartCRIFor(t, v, shim)
			r, err := New(Options{Endpoint: "unix://" + d.Address, RuntimeHandler: "wazero", StateDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := r.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			}()
			ctx := context.Background()
			sleepRef, err := r.image(ctx, "sleep60", sleep, "/sleep60.wasm")
			if err != nil {
				t.Fatal(err)
			}
			helloRef, err := r.image(ctx, "hello", hello, "/hello.wasm")
			if err != nil {
				t.Fatal(err)
			}
			p := &pod{t: t, r: r, run: d.RunDir}
			t.Run("pod", func(t *testing.T) { p.t = t; p.holdAndJoin(ctx, sleepRef) })
			t.Run("timestamps", func(t *testing.T) { p.t = t; p.timestamps(ctx, helloRef) })
			t.Run("weakened", func(t *testing.T) { p.t = t; p.weakened(ctx, sleepRef) })
		})
	}
}

type pod struct {
	t       *testing.T
	r       *Runner
	run     string
	handler string // default wazero
}

// start runs a pod (host network, as the runner's) with a cgroup parent,
// as kubelet gives one; the returned func stops and removes it.
func (p *pod) start(ctx context.Context, name string) (string, *criapi.PodSandboxConfig, func()) {
	t := p.t
	uid := randomHex()
	cfg := &criapi.PodSandboxConfig{
		Metadata:     &criapi.PodSandboxMetadata{Name: name + "-" + uid, Uid: uid, Namespace: PodNamespace},
		Hostname:     "pod-" + uid,
		LogDirectory: t.TempDir(),
		Labels:       map[string]string{"app.kubernetes.io/managed-by": "wasicert"},
		Linux: &criapi.LinuxPodSandboxConfig{
			CgroupParent: "/" + podCgroupRoot + "/pod" + uid,
			SecurityContext: &criapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &criapi.NamespaceOption{Network: criapi.NamespaceMode_NODE},
			},
		},
	}
	start := time.Now()
	handler := p.handler
	if handler == "" {
		handler = "wazero"
	}
	sb, err := p.r.rt.RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: cfg, RuntimeHandler: handler})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v", err)
	}
	t.Logf("RunPodSandbox: %s", time.Since(start).Round(time.Millisecond))
	return sb.PodSandboxId, cfg, func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := p.r.rt.StopPodSandbox(cctx, &criapi.StopPodSandboxRequest{PodSandboxId: sb.PodSandboxId}); err != nil {
			t.Errorf("StopPodSandbox: %v", err)
		}
		if _, err := p.r.rt.RemovePodSandbox(cctx, &criapi.RemovePodSandboxRequest{PodSandboxId: sb.PodSandboxId}); err != nil {
			t.Errorf("RemovePodSandbox: %v", err)
		}
	}
}

func (p *pod) container(ctx context.Context, podID string, cfg *criapi.PodSandboxConfig, name, ref string) string {
	t := p.t
	cc, err := p.r.rt.CreateContainer(ctx, &criapi.CreateContainerRequest{
		PodSandboxId: podID, SandboxConfig: cfg,
		Config: &criapi.ContainerConfig{
			Metadata: &criapi.ContainerMetadata{Name: name}, Image: &criapi.ImageSpec{Image: ref},
			WorkingDir: "/", LogPath: name + ".log",
			Labels: map[string]string{"app.kubernetes.io/managed-by": "wasicert"},
		},
	})
	if err != nil {
		t.Fatalf("CreateContainer: %v", err)
	}
	if _, err := p.r.rt.StartContainer(ctx, &criapi.StartContainerRequest{ContainerId: cc.ContainerId}); err != nil {
		t.Fatalf("StartContainer: %v", err)
	}
	return cc.ContainerId
}

// holdAndJoin: a pod with two sleeping containers is served by one shim;
// the sandbox's task is the shim's holder, not the image's entrypoint;
// the containers' guests are in the holder's IPC namespace (host network:
// the node's network and UTS namespaces); stats answer; the shim exits with
// the pod.
func (p *pod) holdAndJoin(ctx context.Context, ref string) {
	t := p.t
	before := shims(p.run)
	podID, cfg, stop := p.start(ctx, "hold")
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	ids := []string{p.container(ctx, podID, cfg, "a", ref), p.container(ctx, podID, cfg, "b", ref)}

	ps, err := p.r.rt.PodSandboxStatus(ctx, &criapi.PodSandboxStatusRequest{PodSandboxId: podID, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	holder := verbosePid(t, ps.Info)
	ran, exe := sandboxRunsImage(holder)
	if ran {
		t.Errorf("the sandbox's task %d runs the pause image's entrypoint: exe %s", holder, exe)
	}
	if !strings.HasSuffix(exe, "/bin/containerd-shim-wazero-v1") {
		t.Errorf("the sandbox's task %d runs %s, want our shim's holder", holder, exe)
	}
	t.Logf("the sandbox's holder %d: VmRSS %d KiB", holder, rssKiB(holder))
	now := shims(p.run)
	var added []int
	for _, pid := range now {
		if !slices.Contains(before, pid) {
			added = append(added, pid)
		}
	}
	if len(added) != 1 {
		t.Errorf("shims for a pod of a sandbox and 2 containers: %d (%v), want 1", len(added), added)
	}
	// Below the pod's shim, not only as the sandbox's task: a handler may
	// run the entrypoint beside or below its holder.
	for _, shim := range added {
		for _, pid := range descendants(shim) {
			if tripwire.Runs(pid) {
				t.Errorf("process %d below the pod's shim %d runs the pause image's entrypoint", pid, shim)
			}
		}
	}
	for _, pid := range added {
		t.Logf("shim %d serves the pod (sandbox + 2 containers): VmRSS %d KiB", pid, rssKiB(pid))
	}
	// The node's namespaces are the daemon's, which its shims share (cri.sh
	// runs the daemon in a network namespace of its own for a pod network;
	// a host-network pod is in that one), not this test's.
	self := os.Getpid()
	if len(added) == 1 {
		self = added[0]
	}
	for _, id := range ids {
		cs, err := p.r.rt.ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
		if err != nil {
			t.Fatal(err)
		}
		guest := verbosePid(t, cs.Info)
		t.Logf("container %s: guest %d, VmRSS %d KiB", id[:12], guest, rssKiB(guest))
		if g, h := nsOf(t, guest, "ipc"), nsOf(t, holder, "ipc"); g != h || g == nsOf(t, self, "ipc") {
			t.Errorf("container %s: guest ipc %s, the sandbox's %s (the node's %s)", id, g, h, nsOf(t, self, "ipc"))
		}
		for _, n := range []string{"net", "uts"} { // a host-network pod
			if g := nsOf(t, guest, n); g != nsOf(t, self, n) {
				t.Errorf("container %s of a host-network pod: %s namespace %s, not the node's", id, n, g)
			}
		}
		st, err := p.r.rt.ContainerStats(ctx, &criapi.ContainerStatsRequest{ContainerId: id})
		if err != nil {
			t.Errorf("ContainerStats: %v", err)
			continue
		}
		if st.Stats.GetCpu() == nil || st.Stats.GetMemory().GetWorkingSetBytes() == nil {
			t.Errorf("ContainerStats %s: no cpu or memory: %v", id, st.Stats)
		}
		t.Logf("ContainerStats %s: cpu %d ns, memory working set %d B", id[:12],
			st.Stats.GetCpu().GetUsageCoreNanoSeconds().GetValue(), st.Stats.GetMemory().GetWorkingSetBytes().GetValue())
	}
	pst, err := p.r.rt.PodSandboxStats(ctx, &criapi.PodSandboxStatsRequest{PodSandboxId: podID})
	if err != nil {
		t.Errorf("PodSandboxStats: %v", err)
	} else {
		l := pst.Stats.GetLinux()
		if l.GetCpu() == nil || l.GetMemory() == nil || len(l.GetContainers()) != 2 {
			t.Errorf("PodSandboxStats: %v", pst.Stats)
		}
		t.Logf("PodSandboxStats: cpu %d ns, memory working set %d B, %d containers",
			l.GetCpu().GetUsageCoreNanoSeconds().GetValue(), l.GetMemory().GetWorkingSetBytes().GetValue(), len(l.GetContainers()))
	}

	for _, id := range ids {
		if _, err := p.r.rt.StopContainer(ctx, &criapi.StopContainerRequest{ContainerId: id, Timeout: 5}); err != nil {
			t.Error(err)
		}
		if _, err := p.r.rt.RemoveContainer(ctx, &criapi.RemoveContainerRequest{ContainerId: id}); err != nil {
			t.Error(err)
		}
	}
	stop()
	stopped = true
	for i := 0; i < 100; i++ {
		if left := slices.DeleteFunc(shims(p.run), func(pid int) bool { return slices.Contains(before, pid) }); len(left) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("the pod's shim still runs 5 s after RemovePodSandbox: %v", shims(p.run))
}

// timestamps: short guests, one after another in one pod: FinishedAt is
// never before StartedAt.
func (p *pod) timestamps(ctx context.Context, ref string) {
	t := p.t
	podID, cfg, stop := p.start(ctx, "times")
	defer stop()
	const runs = 15
	worst := time.Duration(1 << 62)
	for i := range runs {
		id := p.container(ctx, podID, cfg, fmt.Sprintf("short-%d", i), ref)
		deadline := time.Now().Add(20 * time.Second)
		var st *criapi.ContainerStatus
		for time.Now().Before(deadline) {
			cs, err := p.r.rt.ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: id})
			if err != nil {
				t.Fatal(err)
			}
			if st = cs.Status; st.State == criapi.ContainerState_CONTAINER_EXITED {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if st.State != criapi.ContainerState_CONTAINER_EXITED {
			t.Fatalf("run %d: still %s after 20 s", i, st.State)
		}
		gap := time.Duration(st.FinishedAt - st.StartedAt)
		worst = min(worst, gap)
		if st.FinishedAt < st.StartedAt {
			t.Errorf("run %d: FinishedAt %d is %s before StartedAt %d", i, st.FinishedAt, -gap, st.StartedAt)
		}
		if _, err := p.r.rt.RemoveContainer(ctx, &criapi.RemoveContainerRequest{ContainerId: id}); err != nil {
			t.Error(err)
		}
	}
	t.Logf("%d short guests: the smallest FinishedAt-StartedAt was %s", runs, worst)
}

// sandboxRunsImage is the host-side check of the pause image: the sandbox
// task's process is the image's entrypoint (by its exe or its comm).
func sandboxRunsImage(pid int) (bool, string) {
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return tripwire.Runs(pid), exe
}

// weakened: the hostile stand-in for the host-side checks above, the
// weakened shim (handler wazeroweak): its sandbox runs the pause image's
// entrypoint and its guests join none of the pod's namespaces, and the
// checks see both.
func (p *pod) weakened(ctx context.Context, ref string) {
	t := p.t
	p.handler = "wazeroweak"
	defer func() { p.handler = "" }()
	podID, cfg, stop := p.start(ctx, "weak")
	defer stop()
	id := p.container(ctx, podID, cfg, "a", ref)
	defer func() {
		p.r.rt.StopContainer(ctx, &criapi.StopContainerRequest{ContainerId: id, Timeout: 5})
		p.r.rt.RemoveContainer(ctx, &criapi.RemoveContainerRequest{ContainerId: id})
	}()
	ps, err := p.r.rt.PodSandboxStatus(ctx, &criapi.PodSandboxStatusRequest{PodSandboxId: podID, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	holder := verbosePid(t, ps.Info)
	if ran, exe := sandboxRunsImage(holder); !ran {
		t.Errorf("weakened shim: the check did not see the pause image run (exe %s)", exe)
	} else {
		t.Logf("weakened shim: the sandbox's task %d runs %s", holder, exe)
	}
	cs, err := p.r.rt.ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	if g := nsOf(t, verbosePid(t, cs.Info), "ipc"); g == nsOf(t, holder, "ipc") {
		t.Errorf("weakened shim: the check saw the guest in the pod's IPC namespace %s", g)
	}
}

// descendants are the processes below pid (/proc/<pid>/task/*/children),
// at most 4096.
func descendants(pid int) []int {
	var out []int
	queue := []int{pid}
	for len(queue) > 0 && len(out) < 4096 {
		p := queue[0]
		queue = queue[1:]
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", p))
		for _, e := range tasks {
			b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", p, e.Name()))
			for _, f := range strings.Fields(string(b)) {
				var c int
				if _, err := fmt.Sscan(f, &c); err == nil {
					out = append(out, c)
					queue = append(queue, c)
				}
			}
		}
	}
	return out
}
