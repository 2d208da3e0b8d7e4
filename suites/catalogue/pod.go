package catalogue

// The pod specs: what Kubernetes adds around a wasm container of a pod,
// kubelet's side (the service-account token, /etc/hosts, the service env)
// and the CRI runtime's (the sandbox, its namespaces, the hostname, the
// security context, deletion). They need FeaturePod (runners/cri); their
// negative controls run through a real containerd CRI (runners/cri
// TestPodSpecs), on weakenings of the run (internal/weakened/pod.go) and on
// the weakened shim (handler wazeroweak).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

const (
	refK8sToken    = "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting"
	refK8sHostname = "https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/#pod-s-hostname-and-subdomain-fields"
	refK8sNetwork  = "https://kubernetes.io/docs/concepts/services-networking/#the-kubernetes-network-model"
	refK8sPause    = "https://kubernetes.io/docs/concepts/containers/runtime-class/"
	refK8sEnv      = "https://kubernetes.io/docs/concepts/containers/container-environment/"
	refK8sRO       = "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"
	refK8sDelete   = "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination-forced"
	refCRIAPI      = "https://github.com/kubernetes/cri-api/blob/v0.37.2/pkg/apis/runtime/v1/api.proto"
	refRunwasiPod  = "https://github.com/containerd/runwasi/blob/main/crates/containerd-shim-wasm/src/sandbox/containerd/mod.rs"
	// podBlockN sleeps of podBlockNS each (the probe takes at most 2^32-1
	// ns a sleep) keep a guest blocked in poll_oneoff (a host call) while
	// the host acts on the pod: 60 s, far past any run.
	podBlockN, podBlockNS = "15", "4000000000"
)

// PodRun is the actor of the pod specs: it asks the runner for the pod
// spec's fields (Invocation.Pod) and, while the pod lives, looks at it from
// the node (namespaces, processes), keeping what it saw for the judge.
type PodRun struct {
	runners.Pod
	// Seen is what the node showed while the pod lived.
	Seen PodSeen
	// TokenOn, when set, first runs the same plan with the token
	// automounted, holding TokenOn (the positive control of pod.token);
	// OnReport and OnOutput are that run's.
	TokenOn  string
	OnOutput string
	OnErr    error
}

// PodSeen is the node's view of a pod while it lived.
type PodSeen struct {
	Looked bool
	// Node, Sandbox and Container are the namespaces (net, uts, ipc) of
	// the harness (the node), the sandbox's pid and the container's pid,
	// as /proc/<pid>/ns/<ns> links read ("net:[4026531840]"); a missing
	// one is absent.
	Node, Sandbox, Container map[string]string
	// Runtime are the namespaces of the sandbox process's parent (the
	// shim, which runs where the CRI runtime does: the node as the pod
	// sees it, also when the runtime itself is in a namespace of its own).
	Runtime map[string]string
	// SandboxUTSName is the hostname in the sandbox's UTS namespace
	// (setns); UTSErr why it could not be read.
	SandboxUTSName, UTSErr string
	// PauseProcs are node processes whose executable is the sandbox
	// image's entrypoint file.
	PauseProcs []string
}

var podNamespaces = []string{"net", "uts", "ipc"}

func (a *PodRun) Act(st *suites.Stage, run suites.RunFunc) (suites.RunFunc, error) {
	a.Pod.Running = a.look
	st.Invocation.Pod = &a.Pod
	if a.TokenOn == "" {
		return run, nil
	}
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		on := inv
		on.Pod = &runners.Pod{Token: a.TokenOn, AutomountToken: true}
		res, err := run(ctx, on)
		a.OnOutput, a.OnErr = string(res.Stdout), err
		return run(ctx, inv)
	}, nil
}

func nsLinks(pid string) map[string]string {
	m := map[string]string{}
	for _, ns := range podNamespaces {
		if l, err := os.Readlink(filepath.Join("/proc", pid, "ns", ns)); err == nil {
			m[ns] = l
		}
	}
	return m
}

// look is Pod.Running: the node's view of the pod while it lives.
func (a *PodRun) look(_ context.Context, rep *runners.PodReport) {
	s := &a.Seen
	s.Looked = true
	s.Node = nsLinks("self")
	if rep.SandboxPid > 0 {
		s.Sandbox = nsLinks(strconv.Itoa(rep.SandboxPid))
		if ppid := process.Parent(rep.SandboxPid); ppid > 0 {
			s.Runtime = nsLinks(strconv.Itoa(ppid))
		}
		var err error
		if s.SandboxUTSName, err = utsName(rep.SandboxPid); err != nil {
			s.UTSErr = err.Error()
		}
	}
	if rep.ContainerPid > 0 {
		s.Container = nsLinks(strconv.Itoa(rep.ContainerPid))
	}
	s.PauseProcs = RunningFile(rep.SandboxEntrypoint)
}

// onNode reports whether ns (a /proc/<pid>/ns link) is one of the node's:
// the harness's, pid 1's or the runtime's (Seen.Runtime).
func (s *PodSeen) onNode(kind, ns string) bool {
	return ns != "" && (ns == s.Node[kind] || ns == nsLinks("1")[kind] || ns == s.Runtime[kind])
}

// utsName reads the hostname of pid's UTS namespace: setns on a locked OS
// thread, uname, setns back (a thread that cannot go back is not unlocked,
// so it ends with its goroutine).
func utsName(pid int) (string, error) {
	type answer struct {
		name string
		err  error
	}
	c := make(chan answer, 1)
	go func() {
		runtime.LockOSThread()
		self, err := os.Open("/proc/thread-self/ns/uts")
		if err != nil {
			runtime.UnlockOSThread()
			c <- answer{err: err}
			return
		}
		defer self.Close()
		target, err := os.Open(fmt.Sprintf("/proc/%d/ns/uts", pid))
		if err != nil {
			runtime.UnlockOSThread()
			c <- answer{err: err}
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWUTS); err != nil {
			runtime.UnlockOSThread()
			c <- answer{err: fmt.Errorf("setns(uts of pid %d): %w", pid, err)}
			return
		}
		var u unix.Utsname
		err = unix.Uname(&u)
		if unix.Setns(int(self.Fd()), unix.CLONE_NEWUTS) == nil {
			runtime.UnlockOSThread()
		}
		c <- answer{unix.ByteSliceToString(u.Nodename[:]), err}
	}()
	a := <-c
	return a.name, a.err
}

// RunningFile lists the node's processes whose executable is the file at
// path (the same device and inode through /proc/<pid>/exe, whatever mount
// namespace or root the process has), as "pid N: exe".
func RunningFile(path string) []string {
	if path == "" {
		return nil
	}
	want, err := os.Stat(path)
	if err != nil {
		return nil
	}
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		exe := filepath.Join("/proc", e.Name(), "exe")
		if st, err := os.Stat(exe); err == nil && os.SameFile(st, want) {
			l, _ := os.Readlink(exe)
			out = append(out, "pid "+e.Name()+": "+l)
		}
	}
	return out
}

func podOf(ev *suites.Evidence) *PodRun {
	if a, ok := suites.ActorOf[*PodRun](ev); ok {
		return a
	}
	return &PodRun{}
}

// tokenPaths are where a guest would look for a service-account token:
// kubelet's mount point, its /run twin, the projected volume's ..data dir.
var tokenPaths = []string{
	runners.ServiceAccountDir + "/token",
	"/run/secrets/kubernetes.io/serviceaccount/token",
	runners.ServiceAccountDir + "/..data/token",
	"/var/run/secrets/kubernetes.io/serviceaccount",
	"/token",
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "wasicert-sa-token-" + hex.EncodeToString(b)
}

func podSpecs() []suites.Spec {
	pod := []runners.Feature{runners.FeaturePod}
	return []suites.Spec{
		{
			ID: "pod.token", Area: suites.AreaPod, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "The service-account token reaches a pod's container only when automounted (read-only at /var/run/secrets/kubernetes.io/serviceaccount); with automountServiceAccountToken off, the node's token file (a canary) never reaches the guest's output or the writable dirs.",
			Ref:  refK8sToken, Refs: []string{refCRIAPI}, Requires: pod,
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				var steps []suites.Step
				for i, p := range tokenPaths {
					steps = append(steps, step(probes.OpLibcOpen, fmt.Sprintf("token.%d", i), suites.Deny, p))
				}
				return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Steps: steps,
					Actors: []suites.Actor{&PodRun{Pod: runners.Pod{Token: fx.Token}, TokenOn: randomToken()}}}
			},
			Judge: judgeToken,
		},
		{
			ID: "pod.hostname", Area: suites.AreaPod, Severity: suites.SeverityLeak, Level: suites.MUST,
			Rule: "A pod's container reads the pod's hostname from /etc/hostname and HOSTNAME, never the node's; the sandbox's UTS namespace holds the pod's hostname and is not the node's (unless the pod asked for the node's network, which shares its UTS namespace by design).",
			Ref:  refK8sHostname, Refs: []string{refCRIAPI}, Requires: pod,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Actors: []suites.Actor{&PodRun{}},
					Steps: []suites.Step{step(probes.OpLibcOpen, "hostname.file", suites.Custom, "/etc/hostname"), step(probes.OpEnv, "env", suites.Custom)}}
			},
			Judge: judgePodHostname,
		},
		{
			ID: "pod.network", Area: suites.AreaPod, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A pod's wasm container and its sandbox live in the pod's network namespace, never the node's: the guest process and the sandbox process share one network namespace that is not the node's.",
			Ref:  refK8sNetwork, Refs: []string{refCRIAPI}, Requires: []runners.Feature{runners.FeaturePod, runners.FeaturePodNetwork},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				// The guest blocks in a host call while the node looks at
				// its namespaces; then the container is stopped (137).
				return suites.Plan{Probe: "clock", ExitCode: 137, Actors: []suites.Actor{&PodRun{Pod: runners.Pod{Then: runners.PodStop}}},
					Steps: []suites.Step{step(probes.OpSleeps, "block", suites.Custom, podBlockN, podBlockNS)}}
			},
			Judge: judgePodNetwork,
		},
		{
			ID: "pod.pause-never-runs", Area: suites.AreaPod, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A wasm runtime handler holds the pod's sandbox without running the sandbox (pause) image's Linux entrypoint: no node process runs that file while the pod lives.",
			Ref:  refK8sPause, Refs: []string{refRunwasiPod, refCRIAPI}, Requires: pod,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Actors: []suites.Actor{&PodRun{}}, Steps: []suites.Step{step(probes.OpEnv, "env", suites.Tolerate)}}
			},
			Judge: judgePause,
		},
		{
			ID: "pod.env", Area: suites.AreaPod, Severity: suites.SeverityLeak, Level: suites.MUST,
			Rule: "A pod's container env is exactly the pod spec's env plus what kubelet (the KUBERNETES_* service env) and the CRI runtime (PATH, HOSTNAME) document injecting, reported as injected; the node's and the runtime's own env (the host canary) never reach it.",
			Ref:  refK8sEnv, Refs: []string{refCRIAPI}, Requires: pod,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Env: []string{"APP_VAR=1"}, Actors: []suites.Actor{&PodRun{}},
					Steps: []suites.Step{step(probes.OpEnv, "env", suites.Custom)}}
			},
			Judge: func(ev *suites.Evidence) suites.Judgement {
				j := suites.Worse(judgeHostEnv(ev), judgeEnv([]string{"APP_VAR=1"})(ev))
				seen := map[string]bool{}
				j.Notes = slices.DeleteFunc(j.Notes, func(n string) bool { dup := seen[n]; seen[n] = true; return dup })
				return j
			},
		},
		{
			ID: "pod.read-only-root", Area: suites.AreaPod, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "securityContext.readOnlyRootFilesystem (the CRI's ReadonlyRootfs) is honoured: every write under / fails and the container's rootfs layer is unchanged on the node, while a writable hostPath mount stays writable.",
			Ref:  refK8sRO, Refs: []string{refCRIAPI}, Requires: pod,
			Accept: []string{"ROFS", "PERM", "NOTCAPABLE", "ACCES"},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Actors: []suites.Actor{&PodRun{Pod: runners.Pod{ReadOnlyRootfs: true}}},
					Steps: []suites.Step{
						writeStep("ro.rootfs", "/", "made-by-guest", oCreat, "WRITTEN", suites.Refuse),
						writeStep("ro.control", guestSandbox, "made-by-guest", oCreat, "WRITTEN", suites.Succeed),
					}}
			},
			Judge: judgePodReadOnly,
		},
		{
			ID: "pod.deleted-mid-run", Area: suites.AreaPod, Severity: suites.SeverityDoS, Level: suites.MUST,
			Rule: "A pod force-deleted while its guest runs (StopPodSandbox, RemovePodSandbox, the guest blocked in a host call) leaves nothing of it on the node: no process, mount, shim or file in the runtime's state dirs names its sandbox or container.",
			Ref:  refK8sDelete, Refs: []string{refCRIAPI}, Requires: pod,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "clock", ExitCode: 137, Actors: []suites.Actor{&PodRun{Pod: runners.Pod{Then: runners.PodDelete}}},
					Steps: []suites.Step{step(probes.OpSleeps, "block", suites.Custom, podBlockN, podBlockNS)}}
			},
			Judge: judgePodDeleted,
		},
	}
}

func judgeToken(ev *suites.Evidence) suites.Judgement {
	a := podOf(ev)
	j := suites.Pass()
	// The positive control: automounted, the guest reads it where kubelet
	// puts it, so the refusals are not those of a guest that reads nothing.
	switch {
	case a.OnErr != nil:
		j = suites.Judgement{Verdict: verdicts.Fail, Reason: "the run with the token automounted did not start: " + a.OnErr.Error(), Causes: []string{"control:token-on"}}
	case !strings.Contains(a.OnOutput, a.TokenOn):
		j = suites.Judgement{Verdict: verdicts.Fail, Reason: "with automountServiceAccountToken the guest did not read the token at " + runners.ServiceAccountDir + "/token", Causes: []string{"control:token-on"}}
	}
	if a.Pod.Report.TokenDir == "" {
		j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: "the runner wrote no token file on the node", Causes: []string{"control:token-file"}})
	}
	// The refusals are the Deny steps; the token itself is the fixture's
	// canary, watched in the output and the writable dirs by the harness.
	return j
}

func judgePodHostname(ev *suites.Evidence) (j suites.Judgement) {
	a := podOf(ev)
	rep := a.Pod.Report
	node, _ := os.Hostname()
	j = suites.Pass()
	var reasons []string
	bad := func(v verdicts.Verdict, cause, reason string) {
		j = suites.Worse(j, suites.Judgement{Verdict: v, Reason: reason, Causes: []string{cause}})
		reasons = append(reasons, reason)
	}
	defer func() {
		if len(reasons) > 1 {
			j.Reason = strings.Join(reasons, "; ")
		}
	}()
	if rep.Hostname == "" {
		bad(verdicts.Fail, "hostname:unknown", "the runner reported no hostname for the pod")
		return j
	}
	r, ok := ev.Line("hostname.file")
	file := strings.TrimSpace(r.Data)
	switch {
	case !ok:
		bad(verdicts.Fail, "hostname:file", "no record for /etc/hostname")
	case !r.OK():
		bad(verdicts.Fail, "hostname:file", "/etc/hostname: open answered "+r.Errno+"; the runtime mounts the pod's hostname there")
	case file == node && file != rep.Hostname:
		bad(verdicts.Leak, "hostname:node", fmt.Sprintf("/etc/hostname holds the node's hostname %q, not the pod's %q", node, rep.Hostname))
	case file != rep.Hostname:
		bad(verdicts.Fail, "hostname:file", fmt.Sprintf("/etc/hostname reads %q, the pod's hostname is %q", probes.Truncate(file, 60), rep.Hostname))
	}
	if h, ok := envOf(ev)["HOSTNAME"]; ok && h != rep.Hostname {
		v, c := verdicts.Fail, "hostname:env"
		if h == node {
			v, c = verdicts.Leak, "hostname:node"
		}
		bad(v, c, fmt.Sprintf("HOSTNAME is %q, the pod's hostname is %q", h, rep.Hostname))
	}
	if node != rep.Hostname && len(node) >= 4 && strings.Contains(string(ev.Result.Stdout)+string(ev.Result.Stderr), node) {
		bad(verdicts.Leak, "hostname:node", "the node's hostname "+node+" is in the guest's output")
	}
	switch {
	case !a.Seen.Looked:
		bad(verdicts.Fail, "control:unobserved", "the runner never let the node look at the pod while it lived")
	case rep.HostNetwork:
		j.Notes = append(j.Notes, "a host-network pod shares the node's UTS namespace by design: the sandbox's UTS namespace was not judged")
	case rep.SandboxPid == 0:
		bad(verdicts.Fail, "hostname:no-sandbox", "the runtime reported no pid for the pod's sandbox: its UTS namespace cannot be found")
	case a.Seen.Sandbox["uts"] == "" || a.Seen.onNode("uts", a.Seen.Sandbox["uts"]):
		bad(verdicts.Leak, "hostname:uts-node", fmt.Sprintf("the sandbox (pid %d) is in the node's UTS namespace %s", rep.SandboxPid, a.Seen.Node["uts"]))
	case a.Seen.UTSErr != "":
		bad(verdicts.Fail, "hostname:uts", "the sandbox's UTS namespace could not be read: "+a.Seen.UTSErr)
	case a.Seen.SandboxUTSName == node && node != rep.Hostname:
		bad(verdicts.Leak, "hostname:uts-node", fmt.Sprintf("the sandbox's UTS namespace holds the node's hostname %q, not the pod's %q", node, rep.Hostname))
	case a.Seen.SandboxUTSName != rep.Hostname:
		bad(verdicts.Fail, "hostname:uts", fmt.Sprintf("the sandbox's UTS namespace holds hostname %q, the pod's is %q", a.Seen.SandboxUTSName, rep.Hostname))
	}
	if j.Verdict == verdicts.Pass {
		j.Notes = append(j.Notes, "the pod's hostname "+rep.Hostname+", the node's "+node)
	}
	return
}

func judgePodNetwork(ev *suites.Evidence) suites.Judgement {
	a := podOf(ev)
	rep, s := a.Pod.Report, a.Seen
	var causes, reasons []string
	add := func(c, r string) { causes, reasons = append(causes, c), append(reasons, r) }
	switch {
	case !s.Looked:
		add("control:unobserved", "the runner never let the node look at the pod while it lived")
	case rep.HostNetwork:
		add("net:host-network", "the runner put the pod on the node's network (hostNetwork)")
	case rep.SandboxPid == 0 || s.Sandbox["net"] == "":
		add("net:no-sandbox", "the runtime reported no sandbox process whose network namespace the node could read")
	case rep.ContainerPid == 0 || s.Container["net"] == "":
		add("net:no-container", "the runtime reported no container process whose network namespace the node could read")
	default:
		for who, ns := range map[string]string{"sandbox": s.Sandbox["net"], "guest": s.Container["net"]} {
			if s.onNode("net", ns) {
				add("net:node", fmt.Sprintf("the %s is in the node's network namespace %s", who, ns))
			}
		}
		if s.Sandbox["net"] != s.Container["net"] {
			add("net:not-pod", fmt.Sprintf("the guest's network namespace %s is not the pod's %s", s.Container["net"], s.Sandbox["net"]))
		}
	}
	if len(causes) > 0 {
		slices.Sort(causes)
		return suites.Judgement{Verdict: verdicts.Escape, Reason: strings.Join(reasons, "; "), Causes: causes}
	}
	return suites.Judgement{Verdict: verdicts.Pass, Notes: []string{"the pod's network namespace " + s.Sandbox["net"] + ", the node's " + s.Node["net"]}}
}

func judgePause(ev *suites.Evidence) suites.Judgement {
	a := podOf(ev)
	rep, s := a.Pod.Report, a.Seen
	switch {
	case !s.Looked:
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "the runner never let the node look at the pod while it lived", Causes: []string{"control:unobserved"}}
	case rep.SandboxEntrypoint == "":
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "the runtime did not say where the sandbox image's entrypoint is", Causes: []string{"control:no-entrypoint"}}
	case len(s.PauseProcs) > 0:
		return suites.Judgement{Verdict: verdicts.Escape, Reason: fmt.Sprintf("the sandbox image's entrypoint %s runs as a Linux process: %s", rep.SandboxEntrypoint, strings.Join(s.PauseProcs, "; ")), Causes: []string{"pause:runs"}}
	}
	return suites.Judgement{Verdict: verdicts.Pass, Notes: []string{"no node process runs " + rep.SandboxEntrypoint}}
}

func judgePodReadOnly(ev *suites.Evidence) suites.Judgement {
	rep := podOf(ev).Pod.Report
	if slices.Contains(rep.RootfsFiles, "/made-by-guest") {
		return suites.Judgement{Verdict: verdicts.Escape, Reason: "the guest's write is in the read-only rootfs layer on the node", Causes: []string{"ro:rootfs"}}
	}
	if rep.RootfsErr != "" {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "the container's rootfs layer could not be listed on the node: " + rep.RootfsErr, Causes: []string{"control:rootfs-unlisted"}}
	}
	return suites.Pass()
}

// podStateScanLimit bounds the walk of the runtime's state dirs.
const podStateScanLimit = 200000

// podStateTraces lists entries of dirs whose name holds one of ids.
func podStateTraces(dirs []string, ids ...string) []string {
	var out []string
	n := 0
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if n++; n > podStateScanLimit {
				return filepath.SkipAll
			}
			if err != nil {
				return nil
			}
			if e.Type()&os.ModeSymlink == 0 && !e.IsDir() && e.Type()&os.ModeNamedPipe == 0 && !slices.ContainsFunc(ids, func(id string) bool { return strings.Contains(e.Name(), id) }) {
				return nil
			}
			for _, id := range ids {
				if id != "" && strings.Contains(e.Name(), id) {
					kind := "file"
					switch {
					case e.IsDir():
						kind = "dir"
					case e.Type()&os.ModeNamedPipe != 0:
						kind = "fifo"
					}
					out = append(out, kind+" "+p)
					if e.IsDir() {
						return filepath.SkipDir
					}
				}
			}
			return nil
		})
	}
	return out
}

func judgePodDeleted(ev *suites.Evidence) suites.Judgement {
	a := podOf(ev)
	rep := a.Pod.Report
	var causes, reasons []string
	if !rep.Deleted {
		why := ev.Result.String()
		if rep.DeleteErr != "" {
			why += "; " + rep.DeleteErr
		}
		causes, reasons = append(causes, "delete:not-deleted"), append(reasons, "the pod was not deleted while its guest ran ("+why+")")
	}
	ids := slices.DeleteFunc([]string{rep.SandboxID, rep.ContainerID}, func(s string) bool { return s == "" })
	if len(ids) > 0 {
		// Processes carry the ids on their command lines, mounts in their
		// paths, the runtime's state dirs in their names: give them 5 s.
		var left []string
		for range 50 {
			left = nil
			for _, id := range ids {
				left = append(left, Traces(id)...)
			}
			left = append(left, podStateTraces(rep.StateDirs, ids...)...)
			if len(left) == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if len(left) > 0 {
			causes, reasons = append(causes, "delete:leftover"), append(reasons, "left behind: "+strings.Join(left, "; "))
		}
	} else {
		causes, reasons = append(causes, "control:no-ids"), append(reasons, "the runner reported no pod or container id")
	}
	if len(causes) > 0 {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: strings.Join(reasons, "; "), Causes: causes}
	}
	return suites.Judgement{Verdict: verdicts.Pass, Notes: []string{fmt.Sprintf("nothing of pod %s left in %v", probes.Truncate(rep.SandboxID, 12), rep.StateDirs)}}
}
