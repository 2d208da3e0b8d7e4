package catalogue

// The engine specs: what a container engine (Docker, runners/docker) adds
// between the user's docker run and the shim. They need FeatureEngine; their
// negative controls run against a real engine (runners/docker
// TestEngineSpecs), since no in-process runtime has one.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

const (
	refDockerRun    = "https://docs.docker.com/reference/cli/docker/container/run/"
	refDockerEnv    = "https://docs.docker.com/reference/cli/docker/container/run/#env"
	refDockerStop   = "https://docs.docker.com/reference/cli/docker/container/stop/"
	refDockerKill   = "https://docs.docker.com/reference/cli/docker/container/kill/"
	refDockerLogs   = "https://docs.docker.com/reference/cli/docker/container/logs/"
	refDockerRm     = "https://docs.docker.com/reference/cli/docker/container/rm/"
	refDockerNet    = "https://docs.docker.com/engine/network/drivers/none/"
	refDockerRO     = "https://docs.docker.com/reference/cli/docker/container/run/#read-only"
	refMobyEnvCode  = "https://github.com/moby/moby/blob/v2.0.0-beta.0/daemon/container/container.go"
	engineStopAfter = 300 * time.Millisecond
)

// EngineRun is the actor of the engine specs: it asks the engine for
// docker run's flags (Invocation.Engine) and keeps what the engine reported
// for the judge.
type EngineRun struct {
	runners.Engine
}

func (a *EngineRun) Act(st *suites.Stage, run suites.RunFunc) (suites.RunFunc, error) {
	st.Invocation.Engine = &a.Engine
	return run, nil
}

// engineFiles are the single files Docker bind-mounts into every container.
var engineFiles = []string{"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}

func engineSpecs() []suites.Spec {
	engine := []runners.Feature{runners.FeatureEngine}
	return []suites.Spec{
		{
			ID: "engine.env", Area: suites.AreaEngine, Severity: suites.SeverityLeak, Level: suites.MUST,
			Rule: "The guest's environment is the image's plus --env plus what the engine documents injecting (PATH, HOSTNAME), reported as injected; the daemon's own environment (the host canary is in dockerd's and containerd's) never reaches it.",
			Ref:  refDockerEnv, Refs: []string{refMobyEnvCode, refRunwasiEnv}, Requires: engine,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Env: []string{"APP_VAR=1"}, Actors: []suites.Actor{&EngineRun{}},
					Steps: []suites.Step{step(probes.OpEnv, "env", suites.Custom)}}
			},
			Judge: func(ev *suites.Evidence) suites.Judgement {
				return suites.Worse(judgeHostEnv(ev), judgeEnv([]string{"APP_VAR=1"})(ev))
			},
		},
		{
			ID: "engine.hostname", Area: suites.AreaEngine, Severity: suites.SeverityLeak, Level: suites.MUST,
			Rule: "HOSTNAME in the guest's environment is the container's hostname (docker inspect .Config.Hostname), never the host's.",
			Ref:  refMobyEnvCode, Requires: engine,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Actors: []suites.Actor{&EngineRun{}},
					Steps: []suites.Step{step(probes.OpEnv, "env", suites.Custom)}}
			},
			Judge: judgeHostname,
		},
		{
			ID: "engine.etc-files", Area: suites.AreaEngine, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "The files the engine bind-mounts one by one (/etc/hostname, /etc/hosts, /etc/resolv.conf) read in the guest exactly as the engine wrote them, and nothing beside them in the engine's container directory is reachable.",
			Ref:  refShimDoc, Refs: []string{refDockerRun}, Requires: engine,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				steps := []suites.Step{}
				for i, f := range engineFiles {
					steps = append(steps, step(probes.OpLibcOpen, fmt.Sprintf("etc.%d", i), suites.Custom, f))
				}
				// What sits beside them in the engine's container dir.
				for i, f := range []string{"/etc/config.v2.json", "/etc/hostconfig.json"} {
					steps = append(steps, step(probes.OpLibcOpen, fmt.Sprintf("etc.beside-%d", i), suites.Deny, f))
				}
				return suites.Plan{Probe: "fs", Actors: []suites.Actor{&EngineRun{}}, Steps: steps}
			},
			Judge: judgeEtcFiles,
		},
		{
			ID: "engine.read-only", Area: suites.AreaEngine, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "docker run --read-only makes the container's root file system read-only and a -v HOST:GUEST:ro bind refuses every write; a plain -v bind stays writable.",
			Ref:  refDockerRO, Requires: []runners.Feature{runners.FeatureEngine, runners.FeatureReadOnlyPreopen},
			Accept: []string{"ROFS", "PERM", "NOTCAPABLE", "ACCES"},
			Plan: func(fx *fixtures.Fixture, f runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Preopens: sandboxAndRO(fx, f), Actors: []suites.Actor{&EngineRun{Engine: runners.Engine{ReadOnlyRootfs: true}}},
					Steps: []suites.Step{
						writeStep("ro.rootfs", "/", "made-by-guest", oCreat, "WRITTEN", suites.Refuse),
						writeStep("ro.bind", guestRO, "made-by-guest", oCreat, "WRITTEN", suites.Refuse),
						writeStep("ro.control", guestSandbox, "made-by-guest", oCreat, "WRITTEN", suites.Succeed),
					}}
			},
			Judge: judgeReadOnlyRootfs,
		},
		{
			ID: "engine.network-none", Area: suites.AreaEngine, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "docker run --network none gives the container no network: the engine attaches it to none, and the guest holds no socket fd.",
			Ref:  refDockerNet, Requires: engine,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Preopens: nil, Actors: []suites.Actor{&EngineRun{Engine: runners.Engine{Network: "none"}}},
					Steps: []suites.Step{step(probes.OpScan, "scan", suites.Custom, "/")}}
			},
			Judge: judgeNetworkNone,
		},
		{
			ID: "engine.stop-exit", Area: suites.AreaEngine, Severity: suites.SeverityConformance, Level: suites.SHOULD,
			Rule: "docker stop ends a running guest with exit status 143 (SIGTERM, 128+15) before its stop timeout.",
			Ref:  refDockerStop, Requires: engine,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "spin", Args: []string{}, ExitCode: 143,
					Actors: []suites.Actor{&EngineRun{Engine: runners.Engine{Stop: engineStopAfter, StopTimeout: 5 * time.Second}}}}
			},
			Judge: judgeStatus("stop", 143),
		},
		{
			ID: "engine.kill-exit", Area: suites.AreaEngine, Severity: suites.SeverityConformance, Level: suites.SHOULD,
			Rule: "docker kill ends a running guest with exit status 137 (SIGKILL, 128+9).",
			Ref:  refDockerKill, Requires: []runners.Feature{runners.FeatureEngine, runners.FeatureSignal},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "spin", Args: []string{}, ExitCode: 137,
					Actors: []suites.Actor{&EngineRun{}, suites.Signal{Sig: syscall.SIGKILL, After: engineStopAfter}}}
			},
			Judge: judgeStatus("kill", 137),
		},
		{
			ID: "engine.logs", Area: suites.AreaEngine, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "docker logs returns exactly the guest's output: stdout and stderr byte for byte, each on its own stream.",
			Ref:  refDockerLogs, Requires: engine,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Env: []string{"LOGGED=" + strings.Repeat("x", 100)}, Actors: []suites.Actor{&EngineRun{}},
					Steps: []suites.Step{step(probes.OpEnv, "env", suites.Tolerate), step(probes.OpStdio, "stdio", suites.Tolerate)}}
			},
			Judge: judgeLogs,
		},
		{
			ID: "engine.remove-running", Area: suites.AreaEngine, Severity: suites.SeverityDoS, Level: suites.MUST,
			Rule: "docker rm --force of a running container ends its guest and leaves nothing behind: the engine lists no container, and no process or mount names its id.",
			Ref:  refDockerRm, Requires: engine,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				// docker rm --force kills the guest (SIGKILL): 137.
				return suites.Plan{Probe: "spin", Args: []string{}, ExitCode: 137, Actors: []suites.Actor{&EngineRun{Engine: runners.Engine{Remove: engineStopAfter}}}}
			},
			Judge: judgeRemoved,
		},
	}
}

func engineOf(ev *suites.Evidence) *runners.EngineReport {
	if a, ok := suites.ActorOf[*EngineRun](ev); ok {
		return &a.Report
	}
	return &runners.EngineReport{}
}

func envOf(ev *suites.Evidence) map[string]string {
	m := map[string]string{}
	for _, r := range ev.Lines {
		if r.Op == probes.LineEnvironGet && r.OK() {
			k, v, _ := strings.Cut(r.Data, "=")
			m[k] = v
		}
	}
	return m
}

func judgeHostname(ev *suites.Evidence) suites.Judgement {
	rep := engineOf(ev)
	h, ok := envOf(ev)["HOSTNAME"]
	host, _ := os.Hostname()
	switch {
	case rep.Hostname == "":
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "the engine reported no hostname for the container", Causes: []string{"hostname:unknown"}}
	case !ok:
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "the guest has no HOSTNAME; Docker documents setting it to the container's hostname " + rep.Hostname, Causes: []string{"hostname:missing"}}
	case h == host && h != rep.Hostname:
		return suites.Judgement{Verdict: verdicts.Leak, Reason: fmt.Sprintf("the guest's HOSTNAME is the host's (%s), not the container's (%s)", h, rep.Hostname), Causes: []string{"hostname:host"}}
	case h != rep.Hostname:
		return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("the guest's HOSTNAME is %q, the container's hostname is %q", h, rep.Hostname), Causes: []string{"hostname:other"}}
	}
	return suites.Judgement{Verdict: verdicts.Pass, Notes: []string{"HOSTNAME=" + h + " (the container's)"}}
}

func judgeEtcFiles(ev *suites.Evidence) suites.Judgement {
	rep := engineOf(ev)
	j := suites.Pass()
	byCheck := map[string]probes.Line{}
	for _, r := range ev.Lines {
		byCheck[r.Check] = r
	}
	for i, f := range engineFiles {
		want, known := rep.Files[f]
		if !known {
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: "the engine reported no host file for " + f, Causes: []string{"etc:unknown"}})
			continue
		}
		r, ok := byCheck[fmt.Sprintf("etc.%d", i)]
		switch {
		case !ok:
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: "no record for " + f, Causes: []string{"etc:" + f}})
		case !r.OK():
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("%s: open answered %s; the engine wrote %d bytes there", f, r.Errno, len(want)), Causes: []string{"etc:" + f}})
		case r.Data != string(want):
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("%s reads %q in the guest, the engine wrote %q", f, probes.Truncate(r.Data, 60), probes.Truncate(string(want), 60)), Causes: []string{"etc:" + f}})
		}
	}
	return j
}

func judgeReadOnlyRootfs(ev *suites.Evidence) suites.Judgement {
	rep := engineOf(ev)
	for _, c := range rep.Changes {
		if strings.HasSuffix(c, "/made-by-guest") {
			return suites.Judgement{Verdict: verdicts.Escape, Reason: "docker diff shows the guest's write in the read-only root file system: " + c, Causes: []string{"ro:diff"}}
		}
	}
	return suites.Pass()
}

func judgeNetworkNone(ev *suites.Evidence) suites.Judgement {
	rep := engineOf(ev)
	var causes, reasons []string
	if rep.NetworkMode != "none" || slices.ContainsFunc(rep.Networks, func(n string) bool { return n != "none" }) {
		causes = append(causes, "net:attached")
		reasons = append(reasons, fmt.Sprintf("the engine put the container in network mode %q, networks %v", rep.NetworkMode, rep.Networks))
	}
	for _, r := range ev.Lines {
		if r.Check == "scan" && r.Op == "answer" && strings.Contains(r.Data, "socket") {
			causes = append(causes, "net:socket-fd")
			reasons = append(reasons, fmt.Sprintf("fd %d is a %s", deref(r.FD), r.Data))
		}
	}
	if len(causes) > 0 {
		return suites.Judgement{Verdict: verdicts.Escape, Reason: strings.Join(reasons, "; "), Causes: causes}
	}
	return suites.Judgement{Verdict: verdicts.Pass, Notes: []string{"network mode " + rep.NetworkMode}}
}

// judgeStatus: the harness has checked the exit status (Plan.ExitCode); the
// judge names it as the spec's own check.
func judgeStatus(what string, want int) func(*suites.Evidence) suites.Judgement {
	return func(ev *suites.Evidence) suites.Judgement {
		if ev.Result.Ended != runners.EndedExit || ev.Result.ExitCode != want {
			return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("docker %s: the guest ended with %s, want exit %d", what, ev.Result.String(), want), Causes: []string{what + ":status"}}
		}
		return suites.Pass()
	}
}

func judgeLogs(ev *suites.Evidence) suites.Judgement {
	rep := engineOf(ev)
	var causes, reasons []string
	switch {
	case rep.LogsErr != "":
		causes, reasons = append(causes, "logs:error"), append(reasons, "docker logs: "+rep.LogsErr)
	default:
		if !bytes.Equal(rep.Logs, ev.Result.Stdout) {
			causes = append(causes, "logs:stdout")
			reasons = append(reasons, fmt.Sprintf("docker logs' stdout (%d bytes) is not the guest's stdout (%d bytes)", len(rep.Logs), len(ev.Result.Stdout)))
		}
		if !bytes.Equal(rep.LogsStderr, ev.Result.Stderr) {
			causes = append(causes, "logs:stderr")
			reasons = append(reasons, fmt.Sprintf("docker logs' stderr (%d bytes) is not the guest's stderr (%d bytes)", len(rep.LogsStderr), len(ev.Result.Stderr)))
		}
	}
	if len(ev.Result.Stdout) == 0 {
		causes, reasons = append(causes, "control:no-output"), append(reasons, "the guest printed nothing: nothing to compare")
	}
	if len(causes) > 0 {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: strings.Join(reasons, "; "), Causes: causes}
	}
	return suites.Judgement{Verdict: verdicts.Pass, Notes: []string{fmt.Sprintf("docker logs: %d + %d bytes, as the guest wrote them", len(rep.Logs), len(rep.LogsStderr))}}
}

func judgeRemoved(ev *suites.Evidence) suites.Judgement {
	rep := engineOf(ev)
	var causes, reasons []string
	if !rep.Removed {
		causes, reasons = append(causes, "remove:not-removed"), append(reasons, "docker rm --force did not remove the running container ("+ev.Result.String()+")")
	}
	if rep.StillListed {
		causes, reasons = append(causes, "remove:listed"), append(reasons, "the engine still lists the container after docker rm --force")
	}
	if rep.ContainerID != "" {
		// The shim's processes carry the id on their command line, its
		// mounts (rootfs, binds) in their paths: give them 5 s to go.
		var left []string
		for range 50 {
			if left = Traces(rep.ContainerID); len(left) == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(left) > 0 {
			causes, reasons = append(causes, "remove:leftover"), append(reasons, "left behind: "+strings.Join(left, "; "))
		}
	}
	if len(causes) > 0 {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: strings.Join(reasons, "; "), Causes: causes}
	}
	return suites.Pass()
}

// Traces lists what on this host still names container id: a process with
// the id on its command line (a shim, a guest process), a mount with the
// id in its mount point.
func Traces(id string) []string {
	if id == "" {
		return nil
	}
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || e.Name() == fmt.Sprint(os.Getpid()) {
			continue
		}
		if bytes.Contains(b, []byte(id)) {
			out = append(out, "process "+e.Name()+": "+probes.Truncate(strings.ReplaceAll(string(b), "\x00", " "), 100))
		}
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 4 && strings.Contains(f[4], id) {
				out = append(out, "mount "+f[4])
			}
		}
	}
	return out
}
