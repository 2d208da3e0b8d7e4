//go:build !wasicert_weakened

package main

import (
	"os/exec"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// weakPods is false in every real build: see pod_weak.go.
const weakPods = false

// sandboxCmd is the process that holds a pod's sandbox: the holder
// (pod.go). The image's entrypoint is never read or run, and its rootfs is
// never mounted.
func sandboxCmd(id string, spec *specs.Spec, _ string, p nsPlan) (*exec.Cmd, error) {
	return holderCmd(id, spec.Hostname, p)
}
