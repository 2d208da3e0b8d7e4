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
