//go:build linux && wasicert_weakened

package confinedfs

// weakenedAnyFileType, in a build with the wasicert_weakened tag only,
// opens device nodes, FIFOs and sockets as the first version of this
// package did. It exists for the negative controls of wasicert's shim
// specs (ci/containerd/suite.sh builds a weakened shim with it); NEVER
// build a shim that runs real workloads with this tag.
const weakenedAnyFileType = true
