// Package tripwire names the sandbox ("pause") image that ci/kubernetes/cri.sh
// configures: a Linux image like a cluster's (platform linux/GOARCH) whose
// entrypoint is a static binary (ci/kubernetes/pause/linux) that behaves like
// pause if it is ever executed, and leaves evidence a host can see. A wasm
// runtime handler must hold a pod's sandbox without running it (issue 15: the
// sandbox's pause image never runs Linux code inside a wasm handler), so any
// of this evidence on a node is a failure:
//
//   - a process whose /proc/<pid>/exe is the entrypoint inside the image's
//     rootfs (its path ends in Entrypoint), or whose comm is Comm, or whose
//     argv[0] is Entrypoint;
//   - the file Marker inside the sandbox's rootfs (the tripwire writes its pid
//     there as its first act, before it sleeps; in a chroot that is the
//     rootfs);
//   - the line Banner on its stderr.
package tripwire

import (
	"os"
	"strconv"
	"strings"
)

const (
	// Image is the reference cri.sh imports and pins as the sandbox image
	// (WASICERT_CRI_PAUSE_IMAGE overrides it; the name predates the Linux
	// image and is kept because suite.sh filters it out of its leftovers).
	Image = "wasicert.local/pause:tripwire"
	// Entrypoint is the image's entrypoint, its only file.
	Entrypoint = "/wasicert-pause"
	// Comm is the executed tripwire's /proc/<pid>/comm (the basename of
	// Entrypoint, under the kernel's 15-byte limit); the tripwire sets it
	// itself first thing, so it holds however the entrypoint was executed
	// (by another path or name, from a copy or a memfd).
	Comm = "wasicert-pause"
	// Marker is the file the tripwire writes, relative to its root.
	Marker = "/wasicert-pause.ran"
	// Banner starts the line the tripwire writes on stderr.
	Banner = "wasicert-pause tripwire: the sandbox image's entrypoint was executed"
)

// Processes are the pids of the node's processes that run the tripwire:
// /proc/<pid>/comm is Comm, or /proc/<pid>/exe ends in Entrypoint (a
// process of the sandbox's rootfs). A wasm handler that holds a sandbox
// without running it leaves none.
func Processes() ([]int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if Runs(pid) {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// Runs reports whether process pid runs the tripwire (see Processes).
func Runs(pid int) bool {
	dir := "/proc/" + strconv.Itoa(pid)
	comm, _ := os.ReadFile(dir + "/comm")
	exe, _ := os.Readlink(dir + "/exe")
	exe = strings.TrimSuffix(exe, " (deleted)")
	return strings.TrimSpace(string(comm)) == Comm || strings.HasSuffix(exe, Entrypoint)
}
