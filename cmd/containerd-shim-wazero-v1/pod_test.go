package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestNamespacePlan(t *testing.T) {
	sandbox := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace},
		{Type: specs.MountNamespace}, {Type: specs.NetworkNamespace, Path: "/run/netns/cni-1"},
	}}}
	got := namespacePlan(sandbox, true)
	want := nsPlan{Join: []nsJoin{{specs.NetworkNamespace, "/run/netns/cni-1", nil}},
		Clone: unix.CLONE_NEWIPC | unix.CLONE_NEWUTS, Ignored: []string{"pid", "mount"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sandbox: got %+v, want %+v", got, want)
	}
	ctr := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.PIDNamespace, Path: "/proc/7/ns/pid"}, {Type: specs.IPCNamespace, Path: "/proc/7/ns/ipc"},
		{Type: specs.UTSNamespace, Path: "/proc/7/ns/uts"}, {Type: specs.MountNamespace},
		{Type: specs.NetworkNamespace, Path: "/proc/7/ns/net"}, {Type: specs.CgroupNamespace},
	}}}
	got = namespacePlan(ctr, false)
	want = nsPlan{Join: []nsJoin{{specs.IPCNamespace, "/proc/7/ns/ipc", nil}, {specs.UTSNamespace, "/proc/7/ns/uts", nil}, {specs.NetworkNamespace, "/proc/7/ns/net", nil}},
		Ignored: []string{"pid", "mount", "cgroup"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("container: got %+v, want %+v", got, want)
	}
	// A plain containerd container asks for new namespaces: the guest
	// stays in the shim's; a host-network pod has no network entry.
	plain := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.NetworkNamespace}, {Type: specs.UTSNamespace}}}}
	if got := namespacePlan(plain, false); len(got.Join) != 0 || got.Clone != 0 {
		t.Errorf("plain container: %+v", got)
	}
	if got := namespacePlan(&specs.Spec{}, true); len(got.Join) != 0 || got.Clone != 0 {
		t.Errorf("no linux section: %+v", got)
	}
}

// nsID is the namespace /proc/<pid>/ns/<name> names, as the kernel
// identifies it (device and inode of the nsfs file).
func nsID(t *testing.T, pid int, name string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, name), &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// sameNamespaces is the host-side check: pid's network, IPC and UTS
// namespaces are those of holder, and its network namespace is not the
// host's (this test process's).
func sameNamespaces(t *testing.T, pid, holder int) error {
	var errs []string
	for _, n := range []string{"net", "ipc", "uts"} {
		if g, h := nsID(t, pid, n), nsID(t, holder, n); g != h {
			errs = append(errs, fmt.Sprintf("%s namespace %s, the sandbox's is %s", n, g, h))
		}
	}
	if nsID(t, pid, "net") == nsID(t, os.Getpid(), "net") {
		errs = append(errs, "the host's network namespace")
	}
	if len(errs) > 0 {
		return fmt.Errorf("pid %d: %s", pid, strings.Join(errs, "; "))
	}
	return nil
}

// sandboxBundle is a sandbox container's bundle: the CRI's annotations, a
// rootfs whose entrypoint /pause must never run (a shell script that would
// leave a marker), and namespaces.
func sandboxBundle(t *testing.T, id string, ns []specs.LinuxNamespace) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "rootfs"), 0o755)
	os.WriteFile(filepath.Join(dir, "rootfs", "pause"), []byte("#!/bin/sh\ntouch "+filepath.Join(dir, "ran")+"\nsleep 60\n"), 0o755)
	spec := specs.Spec{
		Process:     &specs.Process{Args: []string{"/pause"}, Cwd: "/"},
		Root:        &specs.Root{Path: "rootfs", Readonly: true},
		Hostname:    "wasicert-pod-" + id,
		Annotations: map[string]string{AnnotationContainerType: ContainerTypeSandbox, AnnotationSandboxID: id},
		Linux:       &specs.Linux{Namespaces: ns},
	}
	b, _ := json.Marshal(spec)
	os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
	return dir
}

func randomID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// hostnameIn is the hostname of pid's UTS namespace, read by nsenter.
func hostnameIn(t *testing.T, pid int) string {
	t.Helper()
	out, err := exec.Command("nsenter", "-t", fmt.Sprint(pid), "-u", "hostname").Output()
	if err != nil {
		t.Skipf("nsenter: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestSandboxHolder: a sandbox is held by the holder (the shim itself, not
// the image's entrypoint) in new IPC and UTS namespaces with the pod's
// hostname, the pod's network namespace and its cgroup; a container of the
// pod joins the holder's namespaces. Hostile stand-in: a guest started
// without the join (what the weakened build does) fails the check.
func TestSandboxHolder(t *testing.T) {
	s := testService(t)
	ctx := context.Background()
	host, _ := os.Hostname()
	for _, netns := range []string{"new", "path"} {
		t.Run(netns, func(t *testing.T) {
			id := "sb-" + randomID()
			nsl := []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace}, {Type: specs.MountNamespace}}
			if netns == "new" {
				nsl = append(nsl, specs.LinuxNamespace{Type: specs.NetworkNamespace})
			} else {
				// The CRI's case: a network namespace it made, by path.
				name := "wasicert-shimpod-" + randomID()
				if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
					t.Skipf("ip netns add: %v %s", err, out)
				}
				t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
				nsl = append(nsl, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/run/netns/" + name})
			}
			b := sandboxBundle(t, id, nsl)
			cr, err := s.Create(ctx, &taskAPI.CreateTaskRequest{ID: id, Bundle: b})
			if err != nil {
				t.Fatal(err)
			}
			holder := int(cr.Pid)
			deleted := false
			defer func() {
				if !deleted {
					s.Kill(ctx, &taskAPI.KillRequest{ID: id, Signal: 9})
					s.Delete(ctx, &taskAPI.DeleteRequest{ID: id})
				}
			}()
			if _, err := s.Start(ctx, &taskAPI.StartRequest{ID: id}); err != nil {
				t.Fatal(err)
			}
			self, _ := os.Executable()
			if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", holder)); exe != self {
				t.Errorf("the sandbox's task runs %q, want the shim's own binary %q", exe, self)
			}
			if _, err := os.Stat(filepath.Join(b, "ran")); err == nil {
				t.Errorf("the sandbox image's entrypoint ran")
			}
			if h := hostnameIn(t, holder); h != "wasicert-pod-"+id || h == host {
				t.Errorf("the holder's hostname is %q, want the pod's", h)
			}
			if h, _ := os.Hostname(); h != host {
				t.Errorf("the node's hostname changed: %q -> %q", host, h)
			}
			for _, n := range []string{"net", "ipc", "uts"} {
				if nsID(t, holder, n) == nsID(t, os.Getpid(), n) {
					t.Errorf("the holder is in the host's %s namespace", n)
				}
			}
			if cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", holder)); !strings.Contains(string(cg), "/wasicert-test/"+id) {
				t.Errorf("the holder's cgroup: %s", cg)
			}
			if st, _ := s.State(ctx, &taskAPI.StateRequest{ID: id}); st.GetStatus() != task.Status_RUNNING || st.Pid != uint32(holder) {
				t.Errorf("state %v", st)
			}
			if p, err := s.Pids(ctx, &taskAPI.PidsRequest{ID: id}); err != nil || len(p.Processes) != 1 || p.Processes[0].Pid != uint32(holder) {
				t.Errorf("pids %v %v", p, err)
			}
			if _, err := s.Stats(ctx, &taskAPI.StatsRequest{ID: id}); err != nil {
				t.Errorf("stats: %v", err)
			}

			// A container of the pod, as the CRI writes it.
			var join []specs.LinuxNamespace
			for _, n := range []string{"net", "ipc", "uts"} {
				typ := map[string]specs.LinuxNamespaceType{"net": specs.NetworkNamespace, "ipc": specs.IPCNamespace, "uts": specs.UTSNamespace}[n]
				join = append(join, specs.LinuxNamespace{Type: typ, Path: fmt.Sprintf("/proc/%d/ns/%s", holder, n)})
			}
			for _, hostile := range []bool{false, true} {
				cb := bundle(t, "sleep60")
				var spec specs.Spec
				raw, _ := os.ReadFile(filepath.Join(cb, "config.json"))
				json.Unmarshal(raw, &spec)
				// The hostile stand-in is no container of the pod (the
				// shim refuses a pod's container that joins none).
				if !hostile {
					spec.Annotations = map[string]string{AnnotationContainerType: "container", AnnotationSandboxID: id}
					spec.Linux = &specs.Linux{Namespaces: join}
				}
				raw, _ = json.Marshal(spec)
				os.WriteFile(filepath.Join(cb, "config.json"), raw, 0o644)
				cid := fmt.Sprintf("%s-c%v", id, hostile)
				c, err := s.Create(ctx, &taskAPI.CreateTaskRequest{ID: cid, Bundle: cb})
				if err != nil {
					t.Fatal(err)
				}
				err = sameNamespaces(t, int(c.Pid), holder)
				switch {
				case !hostile && err != nil:
					t.Errorf("the pod's container: %v", err)
				case hostile && err == nil:
					t.Errorf("hostile stand-in (no join): the check passed")
				}
				s.Kill(ctx, &taskAPI.KillRequest{ID: cid, Signal: 9})
				if _, err := s.Delete(ctx, &taskAPI.DeleteRequest{ID: cid}); err != nil {
					t.Error(err)
				}
			}

			if _, err := s.Kill(ctx, &taskAPI.KillRequest{ID: id, Signal: uint32(syscall.SIGTERM)}); err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			w, err := s.Wait(wctx, &taskAPI.WaitRequest{ID: id})
			if err != nil {
				t.Fatal(err)
			}
			if w.ExitStatus != 128+uint32(syscall.SIGTERM) {
				t.Errorf("exit status %d, want 143 (pause killed by SIGTERM)", w.ExitStatus)
			}
			if _, err := s.Delete(ctx, &taskAPI.DeleteRequest{ID: id}); err != nil {
				t.Error(err)
			}
			deleted = true
			left, _ := filepath.Glob("/sys/fs/cgroup/*/wasicert-test/" + id)
			if _, err := os.Stat("/sys/fs/cgroup/wasicert-test/" + id); err == nil {
				left = append(left, "/sys/fs/cgroup/wasicert-test/"+id)
			}
			if len(left) > 0 {
				t.Errorf("the sandbox's cgroup is left: %v", left)
			}
		})
	}
}

// A namespace path of the wrong type is refused (setns checks the type).
func TestJoinWrongType(t *testing.T) {
	s := testService(t)
	cb := bundle(t, "sleep60")
	var spec specs.Spec
	raw, _ := os.ReadFile(filepath.Join(cb, "config.json"))
	json.Unmarshal(raw, &spec)
	spec.Linux = &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.NetworkNamespace, Path: "/proc/self/ns/ipc"}}}
	raw, _ = json.Marshal(spec)
	os.WriteFile(filepath.Join(cb, "config.json"), raw, 0o644)
	if _, err := s.Create(context.Background(), &taskAPI.CreateTaskRequest{ID: "wrongns", Bundle: cb}); err == nil {
		s.Kill(context.Background(), &taskAPI.KillRequest{ID: "wrongns", Signal: 9})
		s.Delete(context.Background(), &taskAPI.DeleteRequest{ID: "wrongns"})
		t.Fatal("an ipc namespace given as the network namespace was joined")
	} else if !errdefs.IsInvalidArgument(errdefs.FromGRPC(err)) {
		t.Errorf("want InvalidArgument, got %v", err)
	} else {
		t.Log(err)
	}
}

// A mount at /dev/shm is never granted, whatever its type: the CRI binds
// the pod's (the node's, for hostIPC) into every container.
func TestDevShmSkipped(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "m.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644)
	shm := t.TempDir()
	for _, m := range []specs.Mount{
		{Destination: "/dev/shm", Type: "bind", Source: shm, Options: []string{"rbind", "rw"}},
		{Destination: "/dev/shm/", Type: "bind", Source: shm, Options: []string{"bind"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid"}},
		// Spellings of the same destination.
		{Destination: "/dev//shm", Type: "bind", Source: shm, Options: []string{"rbind"}},
		{Destination: "dev/shm", Type: "bind", Source: shm, Options: []string{"rbind"}},
		{Destination: "/dev/./shm/", Type: "bind", Source: shm, Options: []string{"rbind"}},
		{Destination: "/dev/x/../shm", Type: "bind", Source: shm, Options: []string{"rbind"}},
		{Destination: "/../dev/shm", Type: "bind", Source: shm, Options: []string{"rbind"}},
	} {
		p, err := BuildPlan(&specs.Spec{Process: &specs.Process{Args: []string{"/m.wasm"}}, Mounts: []specs.Mount{m}}, root)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Preopens) != 1 || len(p.Mounts) != 0 || len(p.Skipped) != 1 {
			t.Errorf("%+v: preopens %+v, mounts %+v, skipped %q", m, p.Preopens, p.Mounts, p.Skipped)
		}
	}
}

// startSandbox creates and starts a sandbox with new network, IPC and UTS
// namespaces and returns its holder's pid; the cleanup kills and deletes it.
func startTestSandbox(t *testing.T, s *service, id string) int {
	t.Helper()
	ctx := context.Background()
	b := sandboxBundle(t, id, []specs.LinuxNamespace{{Type: specs.NetworkNamespace}, {Type: specs.IPCNamespace}, {Type: specs.UTSNamespace}})
	cr, err := s.Create(ctx, &taskAPI.CreateTaskRequest{ID: id, Bundle: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Kill(ctx, &taskAPI.KillRequest{ID: id, Signal: 9})
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		s.Wait(wctx, &taskAPI.WaitRequest{ID: id})
		s.Delete(ctx, &taskAPI.DeleteRequest{ID: id})
	})
	if _, err := s.Start(ctx, &taskAPI.StartRequest{ID: id}); err != nil {
		t.Fatal(err)
	}
	return int(cr.Pid)
}

// TestJoinOnlyOwnSandbox: a container of a pod (annotation
// io.kubernetes.cri.sandbox-id) joins only the namespaces of the sandbox
// this shim holds under that id. Hostile specs: paths naming the node's
// namespaces (/proc/1/ns/*, this test's own), another pod's holder, a
// sandbox-id naming a pod this shim does not hold; each must be refused
// and no guest process may start (host-side: the namespaces of every child
// of this process stay the holders' or this process's).
func TestJoinOnlyOwnSandbox(t *testing.T) {
	s := testService(t)
	ctx := context.Background()
	a, b := "sba-"+randomID(), "sbb-"+randomID()
	holderA := startTestSandbox(t, s, a)
	holderB := startTestSandbox(t, s, b)
	paths := func(pid string) []specs.LinuxNamespace {
		return []specs.LinuxNamespace{
			{Type: specs.NetworkNamespace, Path: "/proc/" + pid + "/ns/net"},
			{Type: specs.IPCNamespace, Path: "/proc/" + pid + "/ns/ipc"},
			{Type: specs.UTSNamespace, Path: "/proc/" + pid + "/ns/uts"},
		}
	}
	create := func(id, sandboxID string, ns []specs.LinuxNamespace) (int, error) {
		cb := bundle(t, "sleep60")
		var spec specs.Spec
		raw, _ := os.ReadFile(filepath.Join(cb, "config.json"))
		json.Unmarshal(raw, &spec)
		spec.Annotations = map[string]string{AnnotationContainerType: "container", AnnotationSandboxID: sandboxID}
		spec.Linux = &specs.Linux{Namespaces: ns}
		raw, _ = json.Marshal(spec)
		os.WriteFile(filepath.Join(cb, "config.json"), raw, 0o644)
		c, err := s.Create(ctx, &taskAPI.CreateTaskRequest{ID: id, Bundle: cb})
		if err != nil {
			return 0, err
		}
		t.Cleanup(func() {
			s.Kill(ctx, &taskAPI.KillRequest{ID: id, Signal: 9})
			s.Delete(ctx, &taskAPI.DeleteRequest{ID: id})
		})
		return int(c.Pid), nil
	}
	// The pod's own container joins.
	pid, err := create(a+"-own", a, paths(fmt.Sprint(holderA)))
	if err != nil {
		t.Fatalf("the pod's own container: %v", err)
	}
	if err := sameNamespaces(t, pid, holderA); err != nil {
		t.Errorf("the pod's own container: %v", err)
	}
	for name, c := range map[string]struct {
		sandbox string
		ns      []specs.LinuxNamespace
	}{
		"node's namespaces by /proc/1":    {a, paths("1")},
		"node's namespaces by the shim's": {a, paths(fmt.Sprint(os.Getpid()))},
		"only the network is the node's":  {a, append(paths(fmt.Sprint(holderA))[1:], specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/proc/1/ns/net"})},
		"another pod's holder":            {a, paths(fmt.Sprint(holderB))},
		"sandbox-id of another pod":       {b, paths(fmt.Sprint(holderA))},
		"sandbox-id of no held pod":       {"nosuchpod", paths(fmt.Sprint(os.Getpid()))},
		"sandbox-id of a container":       {a + "-own", paths(fmt.Sprint(pid))},
		"no namespaces":                   {a, nil},
		"only the network":                {a, paths(fmt.Sprint(holderA))[:1]},
	} {
		id := "hostile-" + randomID()
		gpid, err := create(id, c.sandbox, c.ns)
		if err == nil {
			t.Errorf("%s: created (guest pid %d: network namespace %s; the holder's %s, the shim's %s)", name, gpid, nsID(t, gpid, "net"), nsID(t, holderA, "net"), nsID(t, os.Getpid(), "net"))
			continue
		}
		if code := errdefs.FromGRPC(err); !errdefs.IsInvalidArgument(code) && !errdefs.IsFailedPrecondition(code) {
			t.Errorf("%s: want InvalidArgument or FailedPrecondition, got %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

// forkingThread is the thread of this process whose children include pid
// (/proc/self/task/<tid>/children), 0 if none.
func forkingThread(t *testing.T, pid int) int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if f == fmt.Sprint(pid) {
				var tid int
				fmt.Sscan(e.Name(), &tid)
				return tid
			}
		}
	}
	return 0
}

// TestChildOutlivesThreadExits: a holder's and a guest's parent-death
// signal follows the THREAD that forked them, and the Go runtime ends a
// thread whenever a goroutine exits locked to it (containerd's mount
// package does so for a long overlay lowerdir). Hostile stand-in: up to
// 256 goroutines lock threads until they hold the threads that forked the
// holder and the guest, and exit locked. The holder and the guest must
// live on (the spawner thread that forked them is never handed out).
func TestChildOutlivesThreadExits(t *testing.T) {
	s := testService(t)
	ctx := context.Background()
	id := "sbt-" + randomID()
	holder := startTestSandbox(t, s, id)
	cb := bundle(t, "sleep60")
	var spec specs.Spec
	raw, _ := os.ReadFile(filepath.Join(cb, "config.json"))
	json.Unmarshal(raw, &spec)
	spec.Annotations = map[string]string{AnnotationContainerType: "container", AnnotationSandboxID: id}
	spec.Linux = &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.NetworkNamespace, Path: fmt.Sprintf("/proc/%d/ns/net", holder)},
		{Type: specs.IPCNamespace, Path: fmt.Sprintf("/proc/%d/ns/ipc", holder)},
		{Type: specs.UTSNamespace, Path: fmt.Sprintf("/proc/%d/ns/uts", holder)},
	}}
	raw, _ = json.Marshal(spec)
	os.WriteFile(filepath.Join(cb, "config.json"), raw, 0o644)
	cid := id + "-c"
	c, err := s.Create(ctx, &taskAPI.CreateTaskRequest{ID: cid, Bundle: cb})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Kill(ctx, &taskAPI.KillRequest{ID: cid, Signal: 9})
		s.Delete(ctx, &taskAPI.DeleteRequest{ID: cid})
	})
	children := map[string]int{id: holder, cid: int(c.Pid)}
	parents := map[int]string{}
	for name, pid := range children {
		tid := forkingThread(t, pid)
		if tid == 0 {
			t.Fatalf("%s (pid %d): no thread of this process is its parent", name, pid)
		}
		parents[tid] = name
	}

	// Hold threads until the parents are held, then exit locked.
	release := make(chan struct{})
	got := make(chan int)
	var held []int
	for i := 0; i < 256 && len(held) < len(parents); i++ {
		go func() {
			runtime.LockOSThread()
			tid := unix.Gettid()
			got <- tid
			<-release // exits still locked: the runtime ends the thread
		}()
		if tid := <-got; parents[tid] != "" {
			held = append(held, tid)
		}
	}
	close(release)
	if len(held) == 0 {
		// The spawner's thread was never handed out: nothing to wait for.
		for name := range children {
			if st, err := s.State(ctx, &taskAPI.StateRequest{ID: name}); err != nil || st.Status == task.Status_STOPPED {
				t.Errorf("%s: %v %v", name, st, err)
			}
		}
		return
	}
	for _, tid := range held {
		name := parents[tid]
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		w, err := s.Wait(wctx, &taskAPI.WaitRequest{ID: name})
		cancel()
		if err == nil {
			t.Errorf("%s (forked by thread %d, which a goroutine held and exited locked): killed, exit status %d", name, tid, w.ExitStatus)
		} else {
			t.Errorf("%s: its forking thread %d was handed to another goroutine (it survived this time: %v)", name, tid, err)
		}
	}
}
