// Command containerd-shim-wazero-v1 is a containerd shim v2 (task API v2)
// that runs a container's entrypoint WebAssembly module with wazero, in a
// guest process of its own (the shim re-executed: guest.go), granting the guest only what the OCI spec grants by least
// privilege. Its guarantees are documented in docs/shim.md.
//
// It is built on github.com/containerd/containerd v1.7 runtime/v2/shim, whose
// plain-address bootstrap works with containerd 1.6, 1.7 and 2.x; containerd
// 2.x's "-info" call is answered here, before the 1.7 library parses flags.
package main

import (
	"context"
	"fmt"
	"os"

	apitypes "github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/runtime/v2/shim"
	"google.golang.org/protobuf/proto"
)

// RuntimeName is the containerd runtime name that maps to this binary.
const RuntimeName = "io.containerd.wazero.v1"

// Version of the shim, reported by -info and -v.
var Version = "0.1.0"

func main() {
	if len(os.Args) > 1 && os.Args[1] == guestArg {
		guestMain()
	}
	if len(os.Args) > 1 && os.Args[1] == holderArg {
		holderMain()
	}
	for _, a := range os.Args[1:] {
		if a == "-info" || a == "--info" {
			if err := writeInfo(); err != nil {
				fmt.Fprintf(os.Stderr, "%s: -info: %v\n", RuntimeName, err)
				os.Exit(1)
			}
			return
		}
	}
	// No implicit reaper: each guest process is waited for by the task that
	// started it (os/exec), which a SIGCHLD reaper of every child would rob
	// of its exit status.
	shim.RunManager(context.Background(), newManager(RuntimeName), func(c *shim.Config) { c.NoReaper = true })
}

// writeInfo prints a proto-marshalled api/types.RuntimeInfo on stdout, which
// is what containerd 2.x expects from `<shim> -info` (the options it sends on
// stdin are read and ignored).
func writeInfo() error {
	info := &apitypes.RuntimeInfo{
		Name: RuntimeName,
		Version: &apitypes.RuntimeVersion{
			Version:  Version,
			Revision: "wazero " + wazeroVersion(),
		},
		Annotations: map[string]string{
			"io.wasicert.shim.engine": "wazero",
			"io.wasicert.shim.pid":    "the reported task pid is the guest process's (a pod sandbox's: its holder's), a child of the shim",
		},
	}
	b, err := proto.Marshal(info)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(b)
	return err
}
