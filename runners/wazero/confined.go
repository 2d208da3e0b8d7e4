package wazero

import (
	"fmt"
	"io"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sysfs"

	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/wazero/confinedfs"
)

// ConfinedGrants is Grants with every preopen mounted through confinedfs
// instead of wazero's directory mounts: each path the guest uses is resolved
// by an os.Root on the preopen's host directory, so no symlink, "..",
// absolute path or read-only bypass (O_TRUNC with FD_READ) reaches outside
// it or writes to a read-only preopen (see package confinedfs). Everything
// else is exactly Grants.
//
// Each mount holds one open directory descriptor: call release once the
// guest is done, before unmounting anything under a host directory (an open
// descriptor keeps a mount busy). It fails when a host directory cannot be
// opened.
func ConfinedGrants(args, env []string, preopens []runners.Preopen) (cfg wazero.ModuleConfig, release func(), err error) {
	return confinedGrants(args, env, preopens)
}

// confinedGrants is ConfinedGrants, also returning a function that closes
// the mounts' directory descriptors.
func confinedGrants(args, env []string, preopens []runners.Preopen) (wazero.ModuleConfig, func(), error) {
	var closers []io.Closer
	release := func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}
	fsc := wazero.NewFSConfig()
	for _, p := range preopens {
		fs, err := confinedfs.New(p.HostDir, p.ReadOnly)
		if err != nil {
			release()
			return nil, nil, fmt.Errorf("wazero: preopen %s: %w", p.GuestPath, err)
		}
		if c, ok := fs.(io.Closer); ok {
			closers = append(closers, c)
		}
		fsc = fsc.(sysfs.FSConfig).WithSysFSMount(fs, p.GuestPath)
	}
	// Grants with no preopens, then the confined mounts in their place.
	return Grants(args, env, nil).WithFSConfig(fsc), release, nil
}

// grants returns the module config granting inv's args, env and preopens,
// through confined mounts on a confined runner, and a function that
// releases what it holds once the run is over.
func (r *runner) grants(inv runners.Invocation) (wazero.ModuleConfig, func(), error) {
	if !r.confined {
		return Grants(inv.Args, inv.Env, inv.Preopens), func() {}, nil
	}
	return confinedGrants(inv.Args, inv.Env, inv.Preopens)
}

// newConfined returns the runner for Options with Confined set:
// "wazero-confined" on wazero's default engine (the compiler here),
// "wazero-interpreter-confined" on its interpreter (not registered).
func newConfined(opts Options) *runner {
	r := &runner{name: "wazero-confined", kind: "interpreter", eng: &engines[0], config: wazero.NewRuntimeConfig, confined: true}
	switch {
	case opts.Interpreter:
		r.name, r.eng, r.config = "wazero-interpreter-confined", &engines[1], wazero.NewRuntimeConfigInterpreter
	case compilerSupported():
		r.kind = "compiler"
	}
	r.kind += ", confined mounts" // Version: "1.12.0 (compiler, confined mounts)"
	return r
}
