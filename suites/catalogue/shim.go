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
			ID: "shim.device-nodes", Area: suites.AreaShim, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "Device nodes in the image (containerd makes them when it unpacks a layer) are not opened: a block node for a loop device holding a canary and a character node cannot be read or written unless linux.devices grants them.",
			Ref:  refShimDoc, Requires: container,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				l := &LoopDevice{Block: "/wasicert-dev/blk", Char: "/wasicert-dev/chr"}
				return suites.Plan{Probe: "fs", Actors: []suites.Actor{l}, Steps: []suites.Step{
					step(probes.OpLibcOpen, "dev.block-read", suites.Deny, l.Block),
					writeStep("dev.block-write", "/", strings.TrimPrefix(l.Block, "/"), 0, "OVERWRITTEN-BY-GUEST", suites.Deny),
					step(probes.OpLibcOpen, "dev.char-read", suites.Deny, l.Char),
					step(probes.OpLibcOpen, "dev.control", suites.Succeed, "/"+suites.Argv0),
				}}
			},
			Judge: judgeLoop,
		},
		{
			ID: "shim.tmpfs", Area: suites.AreaShim, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "A tmpfs mount in the OCI spec is a tmpfs of its own at its destination: writes to it are bounded by its size option and do not land in the image's layer.",
			Ref:  refShimDoc, Requires: container,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				const size, sizeK = 64 << 10, 16
				return suites.Plan{Probe: "fs", Actors: []suites.Actor{suites.Container{
					// The image has the directory, as images have /tmp: a
					// skipped tmpfs leaves the image's own.
					ImageFiles: []runners.ImageFile{{Path: "/scratch", Type: "dir"}},
					Mounts:     []runners.Mount{{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777", "size=" + strconv.Itoa(sizeK) + "k"}}},
				}}, Steps: []suites.Step{
					writeStep("tmpfs.small", "/", "scratch/small", oCreat, strings.Repeat("s", 1024), suites.Succeed),
					writeStep("tmpfs.past-size", "/", "scratch/big", oCreat, strings.Repeat("b", size), suites.Custom),
				}}
			},
			Judge: judgeTmpfs("tmpfs.past-size", "/scratch", 64<<10, 16),
		},
		{
			ID: "shim.bind-nonrecursive", Area: suites.AreaShim, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A bind mount without rbind grants its source alone: a file system mounted under the source on the host (a tmpfs holding a canary) is not reachable.",
			Ref:  refShimDoc, Requires: container,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Actors: []suites.Actor{&Submount{Dest: "/nr", Options: []string{"bind", "ro"}}}, Steps: []suites.Step{
					step(probes.OpLibcOpen, "nrbind.control", suites.Succeed, "/nr/visible.txt"),
					step(probes.OpLibcOpen, "nrbind.submount", suites.Deny, "/nr/sub/canary.txt"),
				}}
			},
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
