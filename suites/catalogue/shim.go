package catalogue

// containerd wasm shims: what the OCI spec grants a guest, and no more.

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
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
			Refs: []string{"https://github.com/containerd/runwasi/issues/266", "https://github.com/containerd/runwasi/issues/413"},
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
			Refs: []string{"https://github.com/containerd/runwasi/issues/298"},
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
			Refs: []string{refRunwasiEnv, "https://github.com/containerd/runwasi/issues/668"},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Env: []string{"APP_VAR=1"}, Steps: []suites.Step{step(probes.OpEnv, "env", suites.Custom)}}
			},
			Judge: judgeEnv([]string{"APP_VAR=1"}),
		},
		{
			ID: "shim.image-env-inert", Area: suites.AreaShim, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "Container env (WASMEDGE_*, WASMTIME_*, RUST_LOG, the shim's own settings) reaches the guest only and cannot reconfigure the shim on the host.",
			Ref:  refRunwasiEnv, Requires: container,
			Refs: []string{"https://github.com/containerd/runwasi/issues/928", "https://github.com/youki-dev/youki/issues/2815"},
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
				return suites.Plan{Probe: "fs", Actors: []suites.Actor{&suites.Container{Spec: runners.Container{
					// The image has the directory, as images have /tmp: a
					// skipped tmpfs leaves the image's own.
					ImageFiles: []runners.ImageFile{{Path: "/scratch", Type: "dir"}},
					Mounts:     []runners.Mount{{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777", "size=" + strconv.Itoa(sizeK) + "k"}}},
				}}}, Steps: []suites.Step{
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
		{
			ID: "shim.process-user", Area: suites.AreaShim, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "The guest runs as the OCI spec's process.user: with uid 1000 it cannot read a root-only (0600) file in its bind mount.",
			Ref:  refProcessUser, Requires: container,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs",
					Steps: []suites.Step{
						step(probes.OpLibcOpen, "user.root-only", suites.Deny, "/data/root-only.txt"),
						step(probes.OpLibcOpen, "user.control", suites.Succeed, "/data/public.txt"),
					},
					Actors: []suites.Actor{
						&suites.Container{Spec: runners.Container{User: &runners.ContainerUser{UID: 1000, GID: 1000}}},
						&suites.HostDir{Guest: "/data", Files: []suites.HostDirFile{
							{Name: "root-only.txt", Content: "root only\n", Mode: 0o600, Secret: true},
							{Name: "public.txt", Content: "public\n", Mode: 0o644},
						}},
					}}
			},
		},
		{
			ID: "shim.memory-limit", Area: suites.AreaShim, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: fmt.Sprintf("linux.resources.memory.limit bounds the guest: with %d MiB, memory.grow fails before the guest has grown past the limit, and the container's host processes stay under the limit plus %d MiB.",
				shimMemLimit>>20, shimMemOverhead>>20),
			Ref: refResources, Requires: container,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "grow", Args: []string{}, Actors: []suites.Actor{
					&suites.Container{Spec: runners.Container{MemoryLimit: shimMemLimit}, WatchRSS: true},
				}}
			},
			Judge: judgeMemoryLimit,
		},
		{
			ID: "shim.kill-blocked", Area: suites.AreaShim, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "SIGKILL ends a guest blocked in a host call (open() of a FIFO nobody writes) within a second, with status 137.",
			Ref:  refShimDoc, Requires: []runners.Feature{runners.FeatureContainer, runners.FeatureSignal},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", ExitCode: 137,
					Steps: []suites.Step{openStep("kill.fifo", "/pipe", "fifo", true, 0, "r", suites.Custom)},
					Actors: []suites.Actor{
						suites.Signal{Sig: syscall.SIGKILL, After: shimKillAfter},
						&suites.Container{},
						&suites.FIFO{Guest: "/pipe", Release: shimKillAfter + 2*time.Second},
					}}
			},
			Judge: judgeKillBlocked,
		},
		{
			ID: "shim.task-metrics", Area: suites.AreaShim, Severity: suites.SeverityConformance, Level: suites.SHOULD,
			Rule: "The runtime answers task metrics for a running task (ctr task metrics, kubelet's stats): the cgroup's memory usage of the guest.",
			Ref:  refShimDoc, Requires: []runners.Feature{runners.FeatureContainer, runners.FeatureSignal},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "spin", Args: []string{}, ExitCode: 137, Actors: []suites.Actor{
					suites.Signal{Sig: syscall.SIGKILL, After: time.Second},
					&suites.Container{Metrics: true, MetricsAfter: 300 * time.Millisecond},
				}}
			},
			Judge: judgeTaskMetrics,
		},
		{
			ID: "shim.create-bounded", Area: suites.AreaShim, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "Creating a task whose module takes long to compile ends when the caller's deadline does, and leaves no process or mount behind.",
			Ref:  refShimDoc, Requires: container,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "exit", Args: []string{}, Actors: []suites.Actor{
					&suites.CreateBound{Module: func() []byte { return suites.NestedBlocks(shimNestedBlocks) },
						Timeout: shimCreateTimeout, Grace: 5 * time.Second},
				}}
			},
			Judge: judgeCreateBounded,
		},
	}
}

const (
	shimMemLimit      = 64 << 20
	shimMemOverhead   = 128 << 20 // the shim and its guest process beside the guest's memory
	shimKillAfter     = 500 * time.Millisecond
	shimCreateTimeout = time.Second
	// shimNestedBlocks: wazero compiles 20k nested blocks in 2.6 s and 40k
	// in 15 s on 2 cores; 30k is several times shimCreateTimeout anywhere.
	shimNestedBlocks = 30000

	refProcessUser = "https://github.com/opencontainers/runtime-spec/blob/v1.2.0/config.md#user"
	refResources   = "https://github.com/opencontainers/runtime-spec/blob/v1.2.0/config-linux.md#memory"
)

var growLine = regexp.MustCompile(`grow: (\d+) MiB, (memory.grow failed|cap reached)`)

// judgeMemoryLimit: the guest's own line says how far it grew (a guest the
// OOM killer ended printed none, and its 137 fails the exit status); the
// host's peak RSS of the container's processes is checked whenever it was
// measured.
func judgeMemoryLimit(ev *suites.Evidence) suites.Judgement {
	c, _ := suites.ActorOf[*suites.Container](ev)
	var causes []string
	var reasons []string
	m := growLine.FindStringSubmatch(string(ev.Result.Stdout))
	switch {
	case m == nil:
		causes = append(causes, "memory:no-report")
		reasons = append(reasons, "the guest printed no grow line ("+ev.Result.String()+")")
	default:
		mib, _ := strconv.Atoi(m[1])
		if m[2] != "memory.grow failed" || mib > shimMemLimit>>20 {
			causes = append(causes, "memory:grew")
			reasons = append(reasons, fmt.Sprintf("the guest grew %d MiB (%s) with a limit of %d MiB", mib, m[2], shimMemLimit>>20))
		}
	}
	if c != nil && c.PeakRSS > shimMemLimit+shimMemOverhead {
		causes = append(causes, "memory:host-rss")
		reasons = append(reasons, fmt.Sprintf("the container's host processes reached %d MiB RSS (%d processes), over %d MiB", c.PeakRSS>>20, c.Processes, (shimMemLimit+shimMemOverhead)>>20))
	}
	if len(causes) > 0 {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: strings.Join(reasons, "; "), Causes: causes}
	}
	j := suites.Judgement{Verdict: verdicts.Pass}
	if c != nil {
		j.Notes = append(j.Notes, fmt.Sprintf("host RSS peak %d MiB over %d processes", c.PeakRSS>>20, c.Processes))
	}
	return j
}

func judgeKillBlocked(ev *suites.Evidence) suites.Judgement {
	f, _ := suites.ActorOf[*suites.FIFO](ev)
	switch {
	case f != nil && f.Released:
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "SIGKILL did not end the guest blocked in open() of a FIFO: the harness had to release it (" + ev.Result.String() + ")", Causes: []string{"kill:not-landed"}}
	case ev.Result.Duration > shimKillAfter+time.Second:
		return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("the guest ended %s after its start, SIGKILL was sent at %s", ev.Result.Duration, shimKillAfter), Causes: []string{"kill:late"}}
	}
	return suites.Judgement{Verdict: verdicts.Pass}
}

func judgeTaskMetrics(ev *suites.Evidence) suites.Judgement {
	c, _ := suites.ActorOf[*suites.Container](ev)
	switch {
	case c == nil || !c.Started:
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "no task to ask for metrics: the runtime reported no started task", Causes: []string{"metrics:no-task"}}
	case c.MetricsErr != nil:
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "task metrics: " + c.MetricsErr.Error(), Causes: []string{"metrics:error"}}
	case c.TaskStats.MemoryUsage == 0:
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "task metrics (" + c.TaskStats.Type + ") report no memory in use for a running guest", Causes: []string{"metrics:empty"}}
	}
	return suites.Judgement{Verdict: verdicts.Pass, Notes: []string{fmt.Sprintf("%s: memory %d KiB, %d pids", c.TaskStats.Type, c.TaskStats.MemoryUsage>>10, c.TaskStats.Pids)}}
}

func judgeCreateBounded(ev *suites.Evidence) suites.Judgement {
	c, _ := suites.ActorOf[*suites.CreateBound](ev)
	if c == nil {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "no create to judge", Causes: []string{"create:none"}}
	}
	var causes, reasons []string
	if c.Elapsed > c.Timeout+2*time.Second {
		causes = append(causes, "create:unbounded")
		reasons = append(reasons, fmt.Sprintf("the run returned %s after it started, its deadline was %s", c.Elapsed.Round(time.Millisecond), c.Timeout))
	}
	if len(c.Leftover) > 0 {
		causes = append(causes, "create:leftover")
		reasons = append(reasons, fmt.Sprintf("%s after the deadline: %s", c.Grace, strings.Join(c.Leftover, "; ")))
	}
	if len(causes) > 0 {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: strings.Join(reasons, "; "), Causes: causes}
	}
	note := "the create ended"
	if c.Err != nil {
		note += ": " + c.Err.Error()
	}
	return suites.Judgement{Verdict: verdicts.Pass, Notes: []string{note}}
}
