package weakened

// Weakenings of a pod's run (runners.Invocation.Pod), the negative controls
// of the pod specs (runners/cri TestPodSpecs): each turns off one thing
// kubelet or the CRI runtime is asked for, on a real CRI endpoint.

import (
	"context"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/wasicert/wasicert/runners"
)

// TokenAlwaysMounted mounts the pod's service-account token whether or not
// the pod asked for it (automountServiceAccountToken ignored).
var TokenAlwaysMounted = Weakening{Name: "service-account token always mounted", apply: func(inv *runners.Invocation) {
	if inv.Pod != nil && inv.Pod.Token != "" {
		inv.Pod.AutomountToken = true
	}
}}

// NodeHostnameMounted bind-mounts the node's /etc/hostname over the pod's,
// as a runtime that hands containers the node's files would.
var NodeHostnameMounted = Weakening{Name: "the node's /etc/hostname mounted", apply: func(inv *runners.Invocation) {
	if inv.Pod != nil {
		inv.Pod.Mounts = append(inv.Pod.Mounts, runners.Mount{Destination: "/etc/hostname", Type: "bind", Source: "/etc/hostname", Options: []string{"ro"}})
	}
}}

// PodReadOnlyRootfsIgnored drops securityContext.readOnlyRootFilesystem.
var PodReadOnlyRootfsIgnored = Weakening{Name: "readOnlyRootFilesystem dropped", apply: func(inv *runners.Invocation) {
	if inv.Pod != nil {
		inv.Pod.ReadOnlyRootfs = false
	}
}}

// PodDeleteAsStop stops the container where a force-delete of the pod was
// asked for: the guest ends, the pod stays (until the run's own cleanup).
var PodDeleteAsStop = Weakening{Name: "container stopped instead of the pod deleted", apply: func(inv *runners.Invocation) {
	if inv.Pod != nil && inv.Pod.Then == runners.PodDelete {
		inv.Pod.Then = runners.PodStop
	}
}}

// PodFIFOLeft stands in for a runtime that forgets a force-deleted pod's
// stdio FIFOs: after a run whose pod was deleted mid-run it leaves a FIFO
// named by the container's id in the runtime's state dir, where
// containerd's CRI keeps them (io.containerd.grpc.v1.cri/containers/ID/io).
// It is the negative control of pod.deleted-mid-run's scan of the state
// dirs; the FIFO goes with the daemon's state dir.
func PodFIFOLeft(r runners.Runner) runners.Runner { return podFIFOLeft{r} }

type podFIFOLeft struct{ runners.Runner }

func (p podFIFOLeft) Name() string { return p.Runner.Name() + " (a deleted pod's FIFO left)" }

func (p podFIFOLeft) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	res, err := p.Runner.Run(ctx, inv)
	if pod := inv.Pod; pod != nil && pod.Report.Deleted && pod.Report.ContainerID != "" && len(pod.Report.StateDirs) > 0 {
		dir := filepath.Join(pod.Report.StateDirs[len(pod.Report.StateDirs)-1], "io.containerd.grpc.v1.cri", "containers", "wasicert-left", "io")
		if e := os.MkdirAll(dir, 0o700); e == nil {
			_ = unix.Mkfifo(filepath.Join(dir, pod.Report.ContainerID+"-stdout"), 0o600)
		}
	}
	return res, err
}
