package weakened

// Weakenings of a container engine's run (runners.Invocation.Engine), the
// negative controls of the engine specs (runners/docker TestEngineSpecs):
// each turns off one thing the engine is asked for, on a real engine.

import (
	"context"
	"errors"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/wasicert/wasicert/runners"
)

// HostHostname gives the guest the host's hostname as HOSTNAME, as an
// engine that copied its own environment or host name would.
var HostHostname = Weakening{Name: "host hostname", apply: func(inv *runners.Invocation) {
	h, _ := os.Hostname()
	inv.Env = append(inv.Env, "HOSTNAME="+h)
}}

// ReadOnlyRootfsIgnored drops docker run --read-only and every :ro.
var ReadOnlyRootfsIgnored = Weakening{Name: "read-only rootfs and :ro ignored", apply: func(inv *runners.Invocation) {
	if inv.Engine != nil {
		inv.Engine.ReadOnlyRootfs = false
	}
	for i := range inv.Preopens {
		inv.Preopens[i].ReadOnly = false
	}
}}

// NetworkHost runs a --network none container in the host's network.
var NetworkHost = Weakening{Name: "--network none run as host", apply: func(inv *runners.Invocation) {
	if inv.Engine != nil && inv.Engine.Network == "none" {
		inv.Engine.Network = "host"
	}
}}

// LogsOff runs the container with the none log driver: docker logs has
// nothing to return.
var LogsOff = Weakening{Name: "log driver none", apply: func(inv *runners.Invocation) {
	if inv.Engine != nil {
		inv.Engine.LogDriver = "none"
	}
}}

// RemoveAsStop sends docker stop where docker rm --force was asked for:
// the guest ends, the container stays.
var RemoveAsStop = Weakening{Name: "docker stop instead of docker rm --force", apply: func(inv *runners.Invocation) {
	if inv.Engine != nil && inv.Engine.Remove > 0 {
		inv.Engine.Stop, inv.Engine.StopTimeout, inv.Engine.Remove = inv.Engine.Remove, time.Second, 0
	}
}}

// WrapSignaller is Wrap for a runner that can signal its guest
// (runners.Signaller): the weakening applies to signalled runs too.
func WrapSignaller(r runners.Runner, w Weakening) runners.Runner {
	return signalRunner{weakenedRunner{r, w}}
}

type signalRunner struct{ weakenedRunner }

func (r signalRunner) RunWithSignal(ctx context.Context, inv runners.Invocation, sig syscall.Signal, after time.Duration) (runners.Result, error) {
	s, ok := r.Runner.(runners.Signaller)
	if !ok {
		return runners.Result{}, errors.New(r.Runner.Name() + " cannot signal its guest")
	}
	inv.Args = slices.Clone(inv.Args)
	inv.Env = slices.Clone(inv.Env)
	inv.Preopens = slices.Clone(inv.Preopens)
	if r.w.apply != nil {
		r.w.apply(&inv)
	}
	res, err := s.RunWithSignal(ctx, inv, sig, after)
	if err == nil && r.w.after != nil {
		r.w.after(&res)
	}
	return res, err
}
