// Package weakened wraps a real runtime in deliberately weakened set-ups,
// each the mistake an embedder commonly makes. They are the negative
// controls of wasicert's tests: each must make the suite fail exactly the
// specs that check for that mistake, and nothing else.
//
// NOT FOR USE OUTSIDE TESTS: every wrapper here grants the guest something
// it must not have.
package weakened

import (
	"context"
	"os"
	"slices"
	"strings"

	"github.com/wasicert/wasicert/runners"
)

// Weakening changes an Invocation before the real runtime sees it, or the
// Result after it.
type Weakening struct {
	// Name says what was weakened, e.g. "host env passed through".
	Name  string
	apply func(inv *runners.Invocation)
	after func(res *runners.Result)
}

// EnvPassthrough passes the launcher's whole environment to the guest
// after the configured variables (the node:wasi docs example's mistake).
var EnvPassthrough = Weakening{Name: "host env passed through", apply: func(inv *runners.Invocation) {
	for _, kv := range os.Environ() {
		key, _, _ := strings.Cut(kv, "=")
		if key == "" || slices.ContainsFunc(inv.Env, func(c string) bool { return strings.HasPrefix(c, key+"=") }) {
			continue
		}
		inv.Env = append(inv.Env, kv)
	}
}}

// HostRootMounted grants the host's / (read-only, so the test itself stays
// safe) as the guest's "/", beside the sandbox.
var HostRootMounted = Weakening{Name: "host / mounted beside the sandbox", apply: func(inv *runners.Invocation) {
	inv.Preopens = append(inv.Preopens, runners.Preopen{GuestPath: "/", HostDir: "/", ReadOnly: true})
}}

// ReadOnlyIgnored grants every preopen writable, whatever was asked.
var ReadOnlyIgnored = Weakening{Name: "writable mount where read-only was asked", apply: func(inv *runners.Invocation) {
	for i := range inv.Preopens {
		inv.Preopens[i].ReadOnly = false
	}
}}

// HostArgv0 sets argv[0] to the module's host path.
var HostArgv0 = Weakening{Name: "argv[0] set to the host path", apply: func(inv *runners.Invocation) {
	if len(inv.Args) > 0 {
		inv.Args[0] = inv.Module.Path
	}
}}

// ExitCodeLost reports every exit as 0, as a launcher that ignores the
// guest's exit status does (node:wasi without returnOnExit handling).
var ExitCodeLost = Weakening{Name: "exit status lost", after: func(res *runners.Result) {
	if res.Ended == runners.EndedExit {
		res.ExitCode = 0
	}
}}

// ListenersDropped claims preopened sockets but hands the guest none.
var ListenersDropped = Weakening{Name: "listener dropped", apply: func(inv *runners.Invocation) {
	inv.Listeners = nil
}}

// PreopensMisdirected maps every preopen to an empty directory: a runtime
// that refuses everything. Escape specs must not pass on it vacuously.
func PreopensMisdirected(emptyDir string) Weakening {
	return Weakening{Name: "preopens mapped to an empty dir", apply: func(inv *runners.Invocation) {
		for i := range inv.Preopens {
			inv.Preopens[i].HostDir = emptyDir
		}
	}}
}

// Wrap returns r with w applied to every Invocation; its Name says which
// weakening it carries, e.g. "wazero (host env passed through)".
func Wrap(r runners.Runner, w Weakening) runners.Runner { return weakenedRunner{r, w} }

type weakenedRunner struct {
	runners.Runner
	w Weakening
}

func (r weakenedRunner) Name() string { return r.Runner.Name() + " (" + r.w.Name + ")" }

func (r weakenedRunner) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	inv.Args = slices.Clone(inv.Args)
	inv.Env = slices.Clone(inv.Env)
	inv.Preopens = slices.Clone(inv.Preopens)
	if r.w.apply != nil {
		r.w.apply(&inv)
	}
	res, err := r.Runner.Run(ctx, inv)
	if err == nil && r.w.after != nil {
		r.w.after(&res)
	}
	return res, err
}
