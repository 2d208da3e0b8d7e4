//go:build !linux

// Package confinedfs is a wazero file system confined to one host
// directory through os.Root. It is implemented for Linux only; see the
// Linux build for the documentation.
package confinedfs

import (
	"fmt"
	"runtime"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
)

// New is not implemented on this platform.
func New(hostDir string, readOnly bool) (experimentalsys.FS, error) {
	return nil, fmt.Errorf("confinedfs: not implemented on %s", runtime.GOOS)
}

// FS is not implemented on this platform.
type FS struct {
	experimentalsys.UnimplementedFS
}

// Close does nothing.
func (*FS) Close() error { return nil }

// Device is one device node the guest may open (Linux only).
type Device struct {
	Block        bool
	Major, Minor uint32
}

// Options configure an FS (Linux only).
type Options struct {
	ReadOnly bool
	Devices  []Device
}

// OpenOptions is not implemented on this platform.
func OpenOptions(hostDir string, o Options) (*FS, error) {
	return nil, fmt.Errorf("confinedfs: not implemented on %s", runtime.GOOS)
}
