package cri

// The pod side of a run (runners.Invocation.Pod, runners.FeaturePod): what
// kubelet writes and mounts for a pod beyond the grants (its managed
// /etc/hosts, the service-account token when automounted), the container's
// security context, and the platform's report of the run (ids, pids, node
// paths) for the pod specs' host-side judges.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/containerd/containerd/namespaces"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/wasicert/wasicert/runners"
)

// hostNetwork says the runner's pods run on the node's network
// (NamespaceMode_NODE: Options.HostNetwork, WASICERT_CRI_NETWORK=host).
func (r *Runner) hostNetwork() bool { return r.opts.HostNetwork }

// podFeatures are what the runner claims for the pod specs.
func (r *Runner) podFeatures() []runners.Feature {
	if r.hostNetwork() {
		return []runners.Feature{runners.FeaturePod}
	}
	return []runners.Feature{runners.FeaturePod, runners.FeaturePodNetwork}
}

// managedHostsHeader is the first line of kubelet's /etc/hosts
// (pkg/kubelet/kubelet_pods.go managedHostsHeader and
// managedHostsHeaderWithHostNetwork).
const (
	managedHostsHeader            = "# Kubernetes-managed hosts file.\n"
	managedHostsHeaderHostNetwork = "# Kubernetes-managed hosts file (host network).\n"
)

// kubeletMounts writes into dir, the pod's node dir, what kubelet writes
// for a pod (its etc-hosts; the service-account token, ca.crt and
// namespace when the pod has a token) and returns the container mounts
// kubelet adds: /etc/hosts always, the token's dir read-only at
// runners.ServiceAccountDir when automounted, then the pod's own mounts.
func kubeletMounts(dir string, pod *runners.Pod, hostname string, hostNet bool) ([]*criapi.Mount, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// kubelet: a host-network pod gets the node's /etc/hosts under its own
	// header, any other a managed one naming the pod.
	hosts := managedHostsHeader + "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n127.0.1.1\t" + hostname + "\n"
	if hostNet {
		node, err := os.ReadFile("/etc/hosts")
		if err != nil {
			return nil, fmt.Errorf("cri runner: the node's /etc/hosts for a host-network pod: %w", err)
		}
		hosts = managedHostsHeaderHostNetwork + string(node)
	}
	etcHosts := filepath.Join(dir, "etc-hosts")
	if err := os.WriteFile(etcHosts, []byte(hosts), 0o644); err != nil {
		return nil, err
	}
	mounts := []*criapi.Mount{{ContainerPath: "/etc/hosts", HostPath: etcHosts}}
	if pod == nil {
		return mounts, nil
	}
	if pod.Token != "" {
		sa := filepath.Join(dir, "volumes", "kube-api-access")
		if err := os.MkdirAll(sa, 0o755); err != nil {
			return nil, err
		}
		for name, content := range map[string]string{"token": pod.Token, "namespace": PodNamespace, "ca.crt": "-----BEGIN CERTIFICATE-----\nwasicert test CA\n-----END CERTIFICATE-----\n"} {
			if err := os.WriteFile(filepath.Join(sa, name), []byte(content), 0o644); err != nil {
				return nil, err
			}
		}
		pod.Report.TokenDir = sa
		if pod.AutomountToken {
			mounts = append(mounts, &criapi.Mount{ContainerPath: runners.ServiceAccountDir, HostPath: sa, Readonly: true})
		}
	}
	for _, m := range pod.Mounts {
		mounts = append(mounts, &criapi.Mount{ContainerPath: m.Destination, HostPath: m.Source, Readonly: slices.Contains(m.Options, "ro")})
	}
	return mounts, nil
}

// containerLinux is the container's Linux config: the pod's security
// context.
func containerLinux(pod *runners.Pod) *criapi.LinuxContainerConfig {
	if pod == nil || !pod.ReadOnlyRootfs {
		return nil
	}
	return &criapi.LinuxContainerConfig{SecurityContext: &criapi.LinuxContainerSecurityContext{ReadonlyRootfs: true}}
}

// verboseInfo is the part of containerd's verbose CRI status ("info") the
// report reads; other runtimes answer none of it.
type verboseInfo struct {
	Pid         int         `json:"pid"`
	SnapshotKey string      `json:"snapshotKey"`
	Snapshotter string      `json:"snapshotter"`
	RuntimeSpec *specs.Spec `json:"runtimeSpec"`
}

func parseInfo(info map[string]string) verboseInfo {
	var v verboseInfo
	_ = json.Unmarshal([]byte(info["info"]), &v)
	return v
}

// observe fills pod.Report from the CRI's verbose statuses once the
// container has started, then calls pod.Running.
func (r *Runner) observe(ctx context.Context, pod *runners.Pod, podID, cid string) {
	rep := &pod.Report
	rep.SandboxID, rep.ContainerID, rep.Hostname, rep.HostNetwork = podID, cid, PodHostname, r.hostNetwork()
	if s, err := r.rt.PodSandboxStatus(ctx, &criapi.PodSandboxStatusRequest{PodSandboxId: podID, Verbose: true}); err == nil {
		v := parseInfo(s.Info)
		rep.SandboxPid = v.Pid
		if v.RuntimeSpec != nil && v.RuntimeSpec.Process != nil && len(v.RuntimeSpec.Process.Args) > 0 {
			if dir, err := r.snapshotDir(ctx, v.Snapshotter, v.SnapshotKey); err == nil {
				rep.SandboxEntrypoint = filepath.Join(dir, filepath.Clean("/"+v.RuntimeSpec.Process.Args[0]))
			}
		}
	}
	if s, err := r.rt.ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: cid, Verbose: true}); err == nil {
		v := parseInfo(s.Info)
		rep.ContainerPid = v.Pid
		if v.RuntimeSpec != nil {
			rep.Files = map[string]string{}
			for _, m := range v.RuntimeSpec.Mounts {
				if st, err := os.Stat(m.Source); err == nil && st.Mode().IsRegular() {
					rep.Files[m.Destination] = m.Source
				}
			}
		}
	}
	if s, err := r.rt.Status(ctx, &criapi.StatusRequest{Verbose: true}); err == nil {
		var cfg map[string]any
		_ = json.Unmarshal([]byte(s.Info["config"]), &cfg)
		for _, k := range []string{"rootDir", "stateDir"} {
			if d, ok := cfg[k].(string); ok && d != "" {
				// The CRI plugin's dirs sit in containerd's root and
				// state, beside the shims' bundles.
				rep.StateDirs = append(rep.StateDirs, filepath.Dir(d))
			}
		}
	}
	if pod.Running != nil {
		pod.Running(ctx, rep)
	}
}

// deleteTimeout bounds each call of a force-delete: a runtime that cannot
// stop its guest must not hang the run.
const deleteTimeout = 20 * time.Second

// deletePod force-deletes the pod while its guest runs: StopPodSandbox
// (which stops its containers), the container's status, RemovePodSandbox,
// each bounded. What failed is in the report (DeleteErr), not an error of
// the run: the node is judged either way.
func (r *Runner) deletePod(ctx context.Context, pod *runners.Pod, podID, cid string) *criapi.ContainerStatus {
	var errs []string
	call := func(what string, f func(context.Context) error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), deleteTimeout)
		defer cancel()
		if err := f(cctx); err != nil {
			errs = append(errs, what+": "+err.Error())
		}
	}
	call("StopPodSandbox", func(ctx context.Context) error {
		_, err := r.rt.StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: podID})
		return err
	})
	var st *criapi.ContainerStatus
	call("ContainerStatus", func(ctx context.Context) error {
		s, err := r.rt.ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: cid})
		if err == nil {
			st = s.Status
		}
		return err
	})
	call("RemovePodSandbox", func(ctx context.Context) error {
		_, err := r.rt.RemovePodSandbox(ctx, &criapi.RemovePodSandboxRequest{PodSandboxId: podID})
		if err == nil {
			pod.Report.Deleted = true
		}
		return err
	})
	pod.Report.DeleteErr = strings.Join(errs, "; ")
	return st
}

// maxRootfsFiles bounds the listing of a rootfs layer.
const maxRootfsFiles = 1000

// snapshotDir is the node directory of a snapshot (the native
// snapshotter's bind source, overlay's upperdir), through containerd's
// client.
func (r *Runner) snapshotDir(ctx context.Context, snapshotter, key string) (string, error) {
	r.mu.Lock()
	c := r.ctrd
	r.mu.Unlock()
	if c == nil {
		return "", errors.New("no containerd client (the endpoint is not containerd)")
	}
	if snapshotter == "" || key == "" {
		return "", errors.New("the runtime names no snapshot")
	}
	ms, err := c.SnapshotService(snapshotter).Mounts(namespaces.WithNamespace(ctx, ImageNamespace), key)
	if err != nil {
		return "", err
	}
	for _, m := range ms {
		switch {
		case m.Type == "bind" || slices.Contains(m.Options, "rbind") || slices.Contains(m.Options, "bind"):
			return m.Source, nil
		case m.Type == "overlay":
			for _, o := range m.Options {
				if d, ok := strings.CutPrefix(o, "upperdir="); ok {
					return d, nil
				}
			}
		}
	}
	return "", fmt.Errorf("snapshotter %s: no directory in its mounts %v", snapshotter, ms)
}

// listRootfs lists the files of the container's writable rootfs layer
// (its snapshot) into the report, before the container is removed.
func (r *Runner) listRootfs(ctx context.Context, rep *runners.PodReport, cid string) {
	err := func() error {
		s, err := r.rt.ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: cid, Verbose: true})
		if err != nil {
			return err
		}
		v := parseInfo(s.Info)
		dir, err := r.snapshotDir(ctx, v.Snapshotter, v.SnapshotKey)
		if err != nil {
			return err
		}
		return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if len(rep.RootfsFiles) >= maxRootfsFiles {
				return fs.SkipAll
			}
			rel, _ := filepath.Rel(dir, p)
			rep.RootfsFiles = append(rep.RootfsFiles, "/"+filepath.ToSlash(rel))
			return nil
		})
	}()
	if err != nil {
		rep.RootfsErr = err.Error()
	}
}
