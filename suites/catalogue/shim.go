package catalogue

// containerd wasm shims: what the OCI spec grants a guest, and no more.

import (
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
)

// shimEnv is image env that must not reach the host side of a shim: a shim
// that copied container env into its own (as runwasi's WasmEdge shim does
// for WASMEDGE_*) would write its cache or load plug-ins under outside/.
func shimEnv(fx *fixtures.Fixture) []string {
	return []string{
		"WASICERT_SHIM_CACHE_DIR=" + fx.Path("outside/shim-cache"),
		"WASMEDGE_PLUGIN_PATH=" + fx.Path("outside/plugins"),
		"WASMTIME_CACHE_CONFIG=" + fx.Path("outside/wasmtime-cache.toml"),
		"RUST_LOG=trace",
	}
}

func shimSpecs() []suites.Spec {
	container := []runners.Feature{runners.FeatureContainer}
	return []suites.Spec{
		{
			ID: "shim.rootfs-only", Area: suites.AreaShim, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A wasm container sees its image rootfs and its bind mounts, nothing else: no /proc, /dev, /sys, host /etc or service-account secrets.",
			Ref:  refShimDoc, Requires: container,
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				var steps []suites.Step
				steps = append(steps, step(probes.OpPreopens, "rootfs.discovery", suites.Custom))
				for i, p := range []string{"/proc/self/environ", "/proc/1/environ", "/proc/self/mem", "/dev/null", "/dev/zero",
					"/sys/kernel/uevent_seqnum", "/etc/hosts", "/etc/passwd", "/var/run/secrets/kubernetes.io/serviceaccount/token"} {
					steps = append(steps, step(probes.OpLibcOpen, "rootfs.host-"+strconv.Itoa(i), suites.Deny, p))
				}
				steps = append(steps, step(probes.OpLibcOpen, "rootfs.control", suites.Succeed, "/"+suites.Argv0))
				return suites.Plan{Probe: "fs", Steps: steps}
			},
			Judge: judgeNoPreopen,
		},
		{
			ID: "shim.rootfs-symlink-escape", Area: suites.AreaShim, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A symlink the guest makes in its rootfs (esc -> ../../..., or an absolute host path) never leads out of the container: reading or writing through it stays inside.",
			Ref:  refPathResolution, Requires: container,
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				climb := strings.Repeat("../", 16)
				return suites.Plan{Probe: "fs", Steps: []suites.Step{
					step(probes.OpSymlink, "rootesc.make-climb", suites.Tolerate, climb, "/", "esc"),
					openStep("rootesc.read", "/", "esc"+fx.Path("outside/secret.txt"), true, 0, "r", suites.Refuse),
					writeStep("rootesc.write", "/", "esc"+fx.Path("outside/made-by-guest"), oCreat, "ESCAPED", suites.Refuse),
					step(probes.OpSymlink, "rootesc.make-abs", suites.Tolerate, fx.Path("outside"), "/", "escabs"),
					openStep("rootesc.read-abs", "/", "escabs/secret.txt", true, 0, "r", suites.Refuse),
					openStep("rootesc.control", "/", suites.Argv0, true, 0, "r", suites.Succeed),
				}}
			},
		},
		{
			ID: "shim.env-boundary", Area: suites.AreaShim, Severity: suites.SeverityLeak, Level: suites.MUST,
			Rule: "The guest's environment is exactly the OCI spec's env: the shim's and containerd's own environment (holding the host canary) never reaches it; engine-injected entries are reported as such.",
			Ref:  refRuntimeSpec, Requires: container,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Env: []string{"APP_VAR=1"}, Steps: []suites.Step{step(probes.OpEnv, "env", suites.Custom)}}
			},
			Judge: judgeEnv([]string{"APP_VAR=1"}),
		},
		{
			ID: "shim.image-env-inert", Area: suites.AreaShim, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "Container env (WASMEDGE_*, WASMTIME_*, RUST_LOG, the shim's own settings) reaches the guest only and cannot reconfigure the shim on the host.",
			Ref:  refRunwasiEnv, Requires: container,
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Env: shimEnv(fx), Steps: []suites.Step{step(probes.OpEnv, "env", suites.Custom)}}
			},
			Judge: func(ev *suites.Evidence) suites.Judgement { return judgeEnv(shimEnv(ev.Fixture))(ev) },
		},
		{
			ID: "shim.signal-exit", Area: suites.AreaShim, Severity: suites.SeverityConformance, Level: suites.SHOULD,
			Rule: "Killing the task with SIGTERM ends it with exit status 143 (128+signal), as for a Linux container.",
			Ref:  refShimDoc, Requires: []runners.Feature{runners.FeatureContainer, runners.FeatureSignal},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "spin", Args: []string{}, ExitCode: 143, Actors: []suites.Actor{suites.Signal{Sig: syscall.SIGTERM, After: 300 * time.Millisecond}}}
			},
		},
	}
}
