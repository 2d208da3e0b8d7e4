//go:build wasicert_weakened

package main

import (
	"errors"
	"os/exec"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// weakPods, in a build with the tag wasicert_weakened only, is what a wasm
// shim that falls back to Linux for the sandbox does (runwasi's shims run
// the pause image as a Linux container): the sandbox's image entrypoint is
// executed as a Linux process chrooted in the sandbox's rootfs, and the
// guests of a pod's containers join none of its namespaces (they stay in
// the shim's, the host's). It is the negative control of the pod specs
// (the pause image never runs; the pod's hostname and network are the
// pod's). NEVER use it for real workloads.
const weakPods = true

// sandboxCmd execs the image's entrypoint inside rootfs (chroot), in the
// sandbox's namespaces (the pod's network namespace and new IPC and UTS
// ones, as the holder would).
func sandboxCmd(_ string, spec *specs.Spec, rootfs string, _ nsPlan) (*exec.Cmd, error) {
	if spec.Process == nil || len(spec.Process.Args) == 0 || rootfs == "" {
		return nil, errors.New("weakened sandbox: no process.args or no rootfs to run")
	}
	cmd := &exec.Cmd{Path: spec.Process.Args[0], Args: spec.Process.Args, Env: spec.Process.Env, Dir: "/"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: rootfs, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	return cmd, nil
}
