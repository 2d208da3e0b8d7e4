package ctrtest

import (
	"path/filepath"

	"github.com/wasicert/wasicert/internal/repo"
)

// StartCRI is Start with containerd's CRI plugin on and our shim as the
// runtime handler "wazero", through ci/kubernetes/cri.sh (same run dir
// layout: Stop stops it and reports leftovers).
func StartCRI(version, shimBin string) (*Daemon, error) {
	root, _ := repo.Root()
	return startWith(filepath.Join(root, "ci", "kubernetes", "cri.sh"), "wcri.", version, shimBin, "containerd "+version+" with CRI")
}
