//go:build wasicert_weakened

package main

// weakenedMounts, in a build with the wasicert_weakened tag only, treats
// mounts as the first version of this shim did: tmpfs mounts are skipped
// (writes land in the image's layer) and a non-recursive bind is granted
// with its submounts. With internal/confinedfs built under the same tag
// (device nodes and FIFOs opened), that build is the negative control of
// the shim.device-nodes, shim.tmpfs and shim.bind-nonrecursive specs
// (ci/containerd/suite.sh). NEVER use it for real workloads.
const weakenedMounts = true
