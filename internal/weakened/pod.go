package weakened

// Weakenings of a pod's run (runners.Invocation.Pod), the negative controls
// of the pod specs (runners/cri TestPodSpecs): each turns off one thing
// kubelet or the CRI runtime is asked for, on a real CRI endpoint.

import "github.com/wasicert/wasicert/runners"

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
