package reports

import (
	"os"
	"runtime"
	"strings"
	"syscall"
)

// Host says where a run was measured: results can differ by architecture,
// kernel (openat2) and the fixture's file system.
type Host struct {
	OS     string `json:"os"`
	Arch   string `json:"arch"`
	Kernel string `json:"kernel,omitempty"`
	// FixtureFS is the file system type the fixtures were written to.
	FixtureFS string `json:"fixture_fs,omitempty"`
	// Bounds say what bounded a run's memory, files and processes here,
	// and why a bound is missing (internal/process.Bounds and the embedded
	// memory limit).
	Bounds []string `json:"bounds,omitempty"`
	// HostFiles is HostFilesAvailable when the host-file stand-ins can be
	// shown to runs here, else why not (internal/hostns.Supported); the
	// summary's Checks say to how many specs they were applied.
	HostFiles string `json:"host_files,omitempty"`
}

// HostFilesAvailable is Host.HostFiles on a host that can apply stand-ins.
const HostFilesAvailable = "available (a private mount namespace per run)"

// ThisHost describes the running host, with the file system of fixtureDir
// ("" means the temp dir).
func ThisHost(fixtureDir string) Host {
	if fixtureDir == "" {
		fixtureDir = os.TempDir()
	}
	h := Host{OS: runtime.GOOS, Arch: runtime.GOARCH}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(b))
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(fixtureDir, &st); err == nil {
		h.FixtureFS = fsName(int64(st.Type))
	}
	return h
}

// fsName names the common file system magic numbers (statfs(2)).
func fsName(magic int64) string {
	switch magic {
	case 0xEF53:
		return "ext4"
	case 0x01021994:
		return "tmpfs"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	case 0x794C7630:
		return "overlayfs"
	case 0x01021997:
		return "9p"
	}
	return "unknown"
}
