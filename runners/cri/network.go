package cri

import (
	"fmt"
	"os"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// EnvNetwork chooses the network of the runner's pods: "pod" (the default,
// as kubelet runs a pod without hostNetwork: its own network namespace, set
// up by the node's CNI) or "host" (hostNetwork: true, the node's network
// namespace, no CNI).
const EnvNetwork = "WASICERT_CRI_NETWORK"

// networkFromEnv reads EnvNetwork: true for "host".
func networkFromEnv() (hostNetwork bool, err error) {
	switch v := os.Getenv(EnvNetwork); v {
	case "", "pod":
		return false, nil
	case "host":
		return true, nil
	default:
		return false, fmt.Errorf("cri: %s=%q: want pod (a pod network through the node's CNI) or host (the node's network)", EnvNetwork, v)
	}
}

// networkMode is the NamespaceMode of the pod sandbox's network: NODE for a
// host-network pod, POD otherwise.
func (r *Runner) networkMode() criapi.NamespaceMode {
	if r.opts.HostNetwork {
		return criapi.NamespaceMode_NODE
	}
	return criapi.NamespaceMode_POD
}

// networkName says which network the pods run on, for Version.
func networkName(hostNetwork bool) string {
	if hostNetwork {
		return "host network"
	}
	return "pod network"
}
