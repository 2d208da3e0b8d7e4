package wazero

import (
	"github.com/tetratelabs/wazero"

	"github.com/wasicert/wasicert/internal/wazerogrant"
	"github.com/wasicert/wasicert/runners"
)

// dirs converts the Invocation's preopens for package wazerogrant.
func dirs(preopens []runners.Preopen) []wazerogrant.Dir {
	ds := make([]wazerogrant.Dir, len(preopens))
	for i, p := range preopens {
		ds[i] = wazerogrant.Dir{Guest: p.GuestPath, Host: p.HostDir, ReadOnly: p.ReadOnly}
	}
	return ds
}

// grants returns the module config granting inv's args, env and preopens
// (package wazerogrant), through confined mounts on a confined runner, and
// a function that releases what it holds once the run is over.
func (r *runner) grants(inv runners.Invocation) (wazero.ModuleConfig, func(), error) {
	if !r.confined {
		return wazerogrant.Config(inv.Args, inv.Env, dirs(inv.Preopens)), func() {}, nil
	}
	return wazerogrant.Confined(inv.Args, inv.Env, dirs(inv.Preopens))
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
