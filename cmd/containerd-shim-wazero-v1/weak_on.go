//go:build wasicert_weakened

package main

// weakShim, in a build with the tag wasicert_weakened, is the shim as it was
// before it ran guests as container processes (issue 8): it is the negative
// control of the shim specs and never ships. It
//   - makes no cgroup, so no memory limit, no metrics (Stats: not supported);
//   - ignores process.user and linux.resources.memory;
//   - reads modules of any size and does not cancel compilation when
//     Create's context ends (and stays up when containerd gives up on it);
//   - kills by cancelling the guest's context and closing its stdio
//     instead of signalling it, so a guest blocked in a host call survives.
const weakShim = true
