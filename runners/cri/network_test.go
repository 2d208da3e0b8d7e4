package cri_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/wasicert/wasicert/internal/ctrtest"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/cri"
)

func TestNetworkEnv(t *testing.T) {
	t.Setenv(cri.EnvEndpoint, "unix:///nonexistent/cri.sock")
	t.Setenv(cri.EnvRuntimeHandler, "wazero")
	t.Setenv(cri.EnvNetwork, "bridge")
	_, err := runners.Open(cri.Name)
	if err == nil || errors.Is(err, runners.ErrNotInstalled) || !strings.Contains(err.Error(), cri.EnvNetwork) {
		t.Fatalf("%s=bridge: want an error naming %s, got %v", cri.EnvNetwork, cri.EnvNetwork, err)
	}
	t.Log(err)
}

// cniNetwork is what ci/kubernetes/cri.sh wrote to RUNDIR/cni/network.
type cniNetwork struct {
	Name, Bridge, NetNS, IPAM, Cache string
	Subnet                           netip.Prefix
}

func readNetwork(t *testing.T, runDir string) cniNetwork {
	t.Helper()
	f, err := os.Open(filepath.Join(runDir, "cni", "network"))
	if err != nil {
		t.Fatalf("cri.sh made no pod network: %v", err)
	}
	defer f.Close()
	kv := map[string]string{}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		k, v, _ := strings.Cut(sc.Text(), "=")
		kv[k] = v
	}
	n := cniNetwork{Name: kv["NAME"], Bridge: kv["BRIDGE"], NetNS: kv["NETNS"], IPAM: kv["IPAM"], Cache: kv["CNI_CACHE"]}
	if n.Subnet, err = netip.ParsePrefix(kv["SUBNET"]); err != nil || n.NetNS == "" || n.IPAM == "" || n.Bridge == "" {
		t.Fatalf("RUNDIR/cni/network: %v (%v)", kv, err)
	}
	return n
}

// links lists the link names of a network namespace, `ip -o link` (the
// host's when netns is empty).
func links(t *testing.T, netns string) []string {
	t.Helper()
	args := []string{"ip", "-o", "link"}
	if netns != "" {
		args = append([]string{"nsenter", "--net=" + netns}, args...)
	}
	out, err := exec.Command(args[0], args[1:]...).Output()
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	var names []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.SplitN(l, ": ", 3); len(f) == 3 {
			names = append(names, strings.SplitN(f[1], "@", 2)[0])
		}
	}
	slices.Sort(names)
	return names
}

// nsIno is the inode of a network namespace file (a bind mount of it, or
// /proc/PID/ns/net); it fails the test unless the file is a namespace.
func nsIno(t *testing.T, path string) uint64 {
	t.Helper()
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err != nil {
		t.Fatalf("statfs %s: %v", path, err)
	}
	if fs.Type != unix.NSFS_MAGIC {
		t.Fatalf("%s is not a namespace (fs type %#x)", path, fs.Type)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// sandboxNetNS is the pod's network namespace path from the verbose
// PodSandboxStatus: the sandbox's runtime spec (containerd 1.6 and 2.x),
// else its metadata's NetNSPath.
func sandboxNetNS(t *testing.T, info map[string]string) string {
	t.Helper()
	var v struct {
		RuntimeSpec struct {
			Linux struct {
				Namespaces []struct{ Type, Path string }
			}
		}
		Metadata struct{ NetNSPath string }
	}
	if err := json.Unmarshal([]byte(info["info"]), &v); err != nil {
		t.Fatalf("PodSandboxStatus info: %v", err)
	}
	for _, ns := range v.RuntimeSpec.Linux.Namespaces {
		if ns.Type == "network" && ns.Path != "" {
			return ns.Path
		}
	}
	return v.Metadata.NetNSPath
}

// TestPodNetwork runs a pod of the runner on the pod network of cri.sh's
// daemon (WASICERT_CRI_NETWORK=pod) on each containerd version, and checks
// on the host: the pod has an address in the network's range, its netns is
// neither the host's nor the daemon's, and once the run is over nothing of
// it is left: the netns mount, the host-local reservation, the libcni cache
// entry, a veth in the daemon's netns, and no link came or went on the
// host. Then a host-network pod of the same runner options runs in the
// daemon's netns (which is not the host's either).
func TestPodNetwork(t *testing.T) {
	if r := ctrtest.SkipReason(); r != "" {
		t.Skip(r)
	}
	t.Setenv(cri.EnvNetwork, "pod") // cri.sh's mode, too
	shim := ctrtest.BuildShim(t)
	for _, v := range ctrtest.Versions() {
		t.Run("containerd-"+v, func(t *testing.T) {
			hostLinks := links(t, "")
			d, err := ctrtest.StartCRI(v, shim)
			if errors.Is(err, ctrtest.ErrSkip) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			stopped := false
			defer func() {
				if !stopped {
					_ = d.Stop()
				}
			}()
			n := readNetwork(t, d.RunDir)
			if got := links(t, ""); !slices.Equal(got, hostLinks) {
				t.Errorf("starting the daemon changed the host's links: %q, then %q", hostLinks, got)
			}
			daemonNS := nsIno(t, n.NetNS)
			hostNS := nsIno(t, "/proc/self/ns/net")
			if daemonNS == hostNS {
				t.Fatalf("the daemon's netns %s is the host's", n.NetNS)
			}
			r, err := cri.New(cri.Options{Endpoint: "unix://" + d.Address, RuntimeHandler: "wazero", StateDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(r.Version(), ", pod network") {
				t.Errorf("Version %q does not say pod network", r.Version())
			}
			t.Logf("%s; network %s %s, bridge %s", r.Version(), n.Name, n.Subnet, n.Bridge)
			podNetwork(t, r, d, n, hostNS, daemonNS)

			hr, err := cri.New(cri.Options{Endpoint: "unix://" + d.Address, RuntimeHandler: "wazero", StateDir: t.TempDir(), HostNetwork: true})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(hr.Version(), ", host network") {
				t.Errorf("Version %q does not say host network", hr.Version())
			}
			// What the pod network costs a run: medians of 5 (after one
			// that imports the image) on the same daemon, logged only.
			median := func(rn *cri.Runner) time.Duration {
				var ds []time.Duration
				for i := 0; i < 6; i++ {
					start := time.Now()
					res, err := rn.Run(context.Background(), runners.Invocation{Module: module(t, "hello"), Args: []string{"/hello.wasm"}, Timeout: 20 * time.Second})
					if err != nil || res.ExitCode != 7 {
						t.Fatalf("%s: %s, %v", rn.Version(), res, err)
					}
					if i > 0 {
						ds = append(ds, time.Since(start))
					}
				}
				slices.Sort(ds)
				return ds[len(ds)/2]
			}
			t.Logf("median run of a 1-container pod: pod network %s, host network %s", median(r).Round(time.Millisecond), median(hr).Round(time.Millisecond))
			for _, c := range []interface{ Close() error }{r, hr} {
				if err := c.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			}
			checkNoPods(t, d.Address)
			if t.Failed() {
				t.Logf("containerd log tail:\n%s", tail(d.Log(), 40))
			}
			stopped = true
			if err := d.Stop(); err != nil {
				t.Errorf("leftovers: %v", err)
			}
			if _, err := os.Stat(n.NetNS); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the daemon's netns %s is still there: %v", n.NetNS, err)
			}
			if got := links(t, ""); !slices.Equal(got, hostLinks) {
				t.Errorf("the host's links changed: %q, now %q", hostLinks, got)
			}
		})
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// podNetwork runs a long guest in a pod of r, inspects the pod while it
// runs, cancels the run and checks what the pod left.
func podNetwork(t *testing.T, r *cri.Runner, d *ctrtest.Daemon, n cniNetwork, hostNS, daemonNS uint64) {
	rt, _, done := criClient(t, d.Address)
	defer done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() {
		_, err := r.Run(ctx, runners.Invocation{Module: module(t, "sleep60"), Args: []string{"/sleep60.wasm"}, Timeout: 2 * time.Minute})
		ran <- err
	}()
	// The pod, once its container runs (bounded: 30 s).
	var podID string
	sel := map[string]string{"app.kubernetes.io/managed-by": "wasicert"}
	for deadline := time.Now().Add(30 * time.Second); podID == ""; time.Sleep(50 * time.Millisecond) {
		cs, err := rt.ListContainers(ctx, &criapi.ListContainersRequest{Filter: &criapi.ContainerFilter{LabelSelector: sel, State: &criapi.ContainerStateValue{State: criapi.ContainerState_CONTAINER_RUNNING}}})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs.Containers) > 0 {
			podID = cs.Containers[0].PodSandboxId
		}
		select {
		case err := <-ran:
			t.Fatalf("the run ended before its container was seen running: %v", err)
		default:
		}
		if podID == "" && time.Now().After(deadline) {
			t.Fatal("no running container of the runner's within 30 s")
		}
	}
	st, err := rt.PodSandboxStatus(ctx, &criapi.PodSandboxStatusRequest{PodSandboxId: podID, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	if m := st.Status.GetLinux().GetNamespaces().GetOptions().GetNetwork(); m != criapi.NamespaceMode_POD {
		t.Errorf("the pod's network namespace mode is %s, want POD", m)
	}
	ip, err := netip.ParseAddr(st.Status.GetNetwork().GetIp())
	if err != nil || !n.Subnet.Contains(ip) {
		t.Errorf("the pod's address %q (%v) is not in the network's range %s", st.Status.GetNetwork().GetIp(), err, n.Subnet)
	}
	if _, err := os.Stat(filepath.Join(n.IPAM, ip.String())); err != nil {
		t.Errorf("host-local has no reservation of %s: %v", ip, err)
	}
	nsPath := sandboxNetNS(t, st.Info)
	if nsPath == "" {
		t.Fatalf("the sandbox status names no netns: %s", st.Info["info"])
	}
	podNS := nsIno(t, nsPath)
	switch podNS {
	case hostNS:
		t.Errorf("the pod's netns %s is the host's", nsPath)
	case daemonNS:
		t.Errorf("the pod's netns %s is the daemon's", nsPath)
	}
	podLinks := links(t, nsPath)
	if !slices.Contains(podLinks, "eth0") {
		t.Errorf("the pod's netns has no eth0: %q", podLinks)
	}
	inDaemon := links(t, n.NetNS)
	if !slices.Contains(inDaemon, n.Bridge) {
		t.Errorf("the bridge %s is not in the daemon's netns: %q", n.Bridge, inDaemon)
	}
	t.Logf("pod %s: %s in %s, netns %s (links %q); daemon's netns links %q", podID[:12], ip, n.Subnet, nsPath, podLinks, inDaemon)

	cancel()
	select {
	case err := <-ran:
		if err == nil || !strings.Contains(err.Error(), "interrupted") {
			t.Errorf("the cancelled run: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the cancelled run did not return within 60 s")
	}
	checkNoPods(t, d.Address)
	var fs unix.Statfs_t
	if err := unix.Statfs(nsPath, &fs); err == nil && fs.Type == unix.NSFS_MAGIC {
		t.Errorf("the pod's netns %s is still mounted", nsPath)
	}
	if _, err := os.Stat(filepath.Join(n.IPAM, ip.String())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("host-local still reserves %s: %v", ip, err)
	}
	if ents, _ := os.ReadDir(filepath.Join(n.Cache, "results")); len(ents) > 0 {
		t.Errorf("libcni cache entries left in %s: %v", n.Cache, ents)
	}
	if ents, err := os.ReadDir("/var/lib/cni/results"); err == nil {
		for _, e := range ents {
			if strings.Contains(e.Name(), podID) {
				t.Errorf("a libcni cache entry of the pod is on the host: /var/lib/cni/results/%s", e.Name())
			}
		}
	}
	for _, l := range links(t, n.NetNS) {
		if l != "lo" && l != n.Bridge {
			t.Errorf("link %s left in the daemon's netns", l)
		}
	}
}

// TestStopSeesNetworkLeftovers: a CRI client that runs a pod on the pod
// network and never removes it (the hostile stand-in for a runner or
// runtime that leaks) leaves an address reserved, a libcni cache entry, a
// veth in the daemon's netns and the pod's netns mount: ci/containerd/stop.sh
// must report each, and still leave the host's links as they were.
func TestStopSeesNetworkLeftovers(t *testing.T) {
	if r := ctrtest.SkipReason(); r != "" {
		t.Skip(r)
	}
	v := "2"
	if vs := strings.Fields(os.Getenv("WASICERT_CONTAINERD_VERSIONS")); len(vs) > 0 {
		v = vs[len(vs)-1]
	}
	t.Setenv(cri.EnvNetwork, "pod")
	hostLinks := links(t, "")
	d, err := ctrtest.StartCRI(v, ctrtest.BuildShim(t))
	if errors.Is(err, ctrtest.ErrSkip) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = d.Stop()
		}
	}()
	n := readNetwork(t, d.RunDir)
	rt, _, done := criClient(t, d.Address)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err = rt.RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{RuntimeHandler: "wazero", Config: &criapi.PodSandboxConfig{
		Metadata:     &criapi.PodSandboxMetadata{Name: "leak", Uid: "leak-uid", Namespace: cri.PodNamespace},
		Hostname:     "leak",
		LogDirectory: t.TempDir(),
		Linux: &criapi.LinuxPodSandboxConfig{SecurityContext: &criapi.LinuxSandboxSecurityContext{
			NamespaceOptions: &criapi.NamespaceOption{Network: criapi.NamespaceMode_POD},
		}},
	}})
	if err != nil {
		t.Fatalf("RunPodSandbox: %v\n%s", err, tail(d.Log(), 30))
	}
	stopped = true
	err = d.Stop()
	if err == nil {
		t.Fatal("stop.sh reported nothing left behind by a pod that was never removed")
	}
	for _, want := range []string{"host-local address reservations", "libcni cache entries", "veths in the daemon's netns", "leftover mounts", "leftover cgroups"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("stop.sh did not report %s: %v", want, err)
		}
	}
	t.Log(err)
	if _, err := os.Stat(d.RunDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the run dir %s is still there: %v", d.RunDir, err)
	}
	if got := links(t, ""); !slices.Equal(got, hostLinks) {
		t.Errorf("the host's links changed: %q, now %q", hostLinks, got)
	}
	if _, err := os.Stat(filepath.Join("/var/lib/cni/results")); err == nil {
		if ents, _ := os.ReadDir("/var/lib/cni/results"); len(ents) > 0 {
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), n.Name+"-") {
					t.Errorf("a libcni cache entry of the network is on the host: %s", e.Name())
				}
			}
		}
	}
}
