// Package runners defines how wasicert drives a WebAssembly runtime: one
// Runner interface that every runtime implements, the Invocation that says
// exactly what a guest is granted, and the Result that says how the run ended.
//
// The rule every Runner must keep is deny by default: a guest gets the
// arguments, environment variables, preopened directories and listening
// sockets in its Invocation, and nothing else. In particular a Runner never
// passes its own process's environment, working directory or argv to the
// guest. See https://github.com/WebAssembly/WASI/blob/wasi-0.1/preview1/docs.md.
//
// A runtime crash, trap, signal or hang is a Result, never a panic or an
// error of the harness: Run returns an error only when the runtime could not
// be started at all (missing binary, unreadable module, bad invocation).
package runners

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Feature is a capability a runtime claims to offer. Specs that need a
// feature a runtime does not claim are skipped with the feature as reason.
type Feature string

const (
	// FeatureReadOnlyPreopen: a preopen can be granted read-only.
	FeatureReadOnlyPreopen Feature = "readonly-preopen"
	// FeaturePreopenedSockets: the host can hand the guest a listening TCP
	// socket (WASI preview 1 has no way to create one).
	FeaturePreopenedSockets Feature = "preopened-sockets"
	// FeatureSockImports: the runtime links sock_accept, sock_recv, sock_send
	// and sock_shutdown, so the socket probe module instantiates.
	FeatureSockImports Feature = "sock-imports"
	// FeatureStdin: the runtime can feed Invocation.Stdin to the guest.
	FeatureStdin Feature = "stdin"
)

// Socket extensions beyond preview 1: functions some runtimes add to
// wasi_snapshot_preview1 that create, bind and connect sockets. A runtime
// that links one claims its feature, so the probe module importing it
// instantiates (capability-catalogue.md C.7).
const (
	// FeatureSockExt: the runtime links a socket extension, and claims
	// which one with FeatureSockExtWasmEdge or FeatureSockExtWAMR.
	FeatureSockExt Feature = "sock-ext"
	// FeatureSockExtWasmEdge: WasmEdge's sock_open(af, type, *fd),
	// sock_bind/sock_connect(fd, *address, port), sock_listen(fd, backlog),
	// sock_accept(fd, *fd) and sock_getaddrinfo, the ABI of the
	// wasmedge_wasi_socket crate (lib/host/wasi/wasifunc.cpp, the V1 set).
	FeatureSockExtWasmEdge Feature = "sock-ext-wasmedge"
	// FeatureSockExtWAMR: WAMR's lib-socket functions, sock_open(poolfd, af,
	// type, *fd), sock_bind/sock_connect(fd, *__wasi_addr_t),
	// sock_listen(fd, backlog), sock_addr_resolve
	// (core/iwasm/libraries/lib-socket/inc/wasi_socket_ext.h).
	FeatureSockExtWAMR Feature = "sock-ext-wamr"
	// FeatureAddrPool: the runtime restricts its socket extension to an
	// allow-list of addresses (WAMR's --addr-pool) and honours
	// Invocation.AddrPool.
	FeatureAddrPool Feature = "addr-pool"
)

// Features is the set of features a runtime claims.
type Features []Feature

// Has reports whether f is in the set.
func (fs Features) Has(f Feature) bool { return slices.Contains(fs, f) }

// Preopen grants the guest one host directory under a guest path.
type Preopen struct {
	// GuestPath is the name the guest sees from fd_prestat_dir_name, e.g. "/sandbox".
	GuestPath string `json:"guest"`
	// HostDir is the host directory behind it.
	HostDir string `json:"host"`
	// ReadOnly asks that every write, create, truncate, rename and unlink
	// through this preopen is refused.
	ReadOnly bool `json:"readonly,omitempty"`
}

// Listener asks the runtime to preopen a listening TCP socket for the guest.
type Listener struct {
	// Addr is host:port on loopback, e.g. "127.0.0.1:40123". The harness
	// chooses a free port; the runner makes the listener.
	Addr string `json:"addr"`
}

// Module is one WebAssembly module to run.
type Module struct {
	// Name is a short name for reports, e.g. "fs".
	Name string
	// Path is a host file holding the module; out-of-process runners pass it on.
	Path string
	// Bytes are the module's contents; embedded engines compile these.
	Bytes []byte
	// Digest is the sha256 of Bytes in hex; engines key compile caches on it.
	Digest string
}

// Invocation is everything a guest is granted for one run, and nothing else.
type Invocation struct {
	Module Module
	// Args is argv, argv[0] included, exactly as the guest must see it.
	Args []string
	// Env is the exact environment, as KEY=VALUE strings. Empty means the
	// guest sees zero variables.
	Env []string
	// Preopens are granted in order, from fd 3 upwards.
	Preopens []Preopen
	// Stdin is the guest's standard input; nil means empty.
	Stdin []byte
	// Listeners are preopened after the directories, in order.
	Listeners []Listener
	// AddrPool, on a runtime with FeatureAddrPool, is the allow-list of
	// addresses (CIDR, e.g. "127.0.0.2/32") its socket extension may bind
	// and connect to, as WAMR's --addr-pool; empty grants none. Runtimes
	// without the feature ignore it.
	AddrPool []string
	// Timeout bounds the run; a guest still running then is cut off and
	// the Result ends in EndedTimeout. Zero means DefaultTimeout.
	Timeout time.Duration
	// WorkDir is a scratch directory the runner may use (its cwd, launcher
	// scripts); it is never granted to the guest.
	WorkDir string

	// What follows is evidence plumbing: none of it is granted to the guest.

	// Canaries are secrets the runner watches for in everything the run
	// writes to stdout and stderr, kept or not (internal/capture); sightings
	// come back in Result.Sightings. A guest that floods its output before
	// printing a secret is still seen.
	Canaries []Canary
	// Scratch is a directory under which an out-of-process runtime gets its
	// HOME, TMPDIR and XDG base dirs (process.HostEnv, made on demand), so
	// that whatever it writes for itself lands where the harness scans it;
	// "" leaves the harness's own.
	Scratch string
	// HostFiles are stand-ins for well-known host files: a runner that can
	// runs the guest in a private mount namespace in which each Path shows
	// its StandIn (the real content plus a canary line), so a guest that
	// reads /etc/passwd through an escape prints a canary. Applying them
	// needs root; Result.HostFilesMasked says whether they were.
	HostFiles []HostFile

	// Container is what a container runtime (FeatureContainer) writes into
	// the container's OCI spec beyond the grants above, and how the harness
	// watches the task: the shim specs need a user, a memory limit, a task
	// to ask for metrics. Runners that are not containers ignore it (so
	// they fail the specs that need it, as negative controls should).
	Container *Container

	// Engine is what a container engine (FeatureEngine: Docker) is asked
	// for beyond the grants above, the flags a user types into docker run,
	// and where the engine's side of the run is reported. Other runners
	// ignore it (the engine specs need FeatureEngine).
	Engine *Engine

	// Pod is what a pod spec asks beyond the grants above and where the
	// platform's side of the run is reported (FeaturePod: the cri runner).
	// Other runners ignore it (the pod specs need FeaturePod).
	Pod *Pod
}

// FeatureEngine: the runner drives a container engine (Docker) in front of
// a containerd runtime and honours Invocation.Engine, so the engine specs
// (Area:engine) apply.
const FeatureEngine Feature = "engine"

// Engine is the engine side of an Invocation (Invocation.Engine): docker
// run's flags and the engine's report of the run.
type Engine struct {
	// ReadOnlyRootfs is docker run --read-only.
	ReadOnlyRootfs bool
	// Network is docker run --network ("none", "host", ...); "" is the
	// engine's default.
	Network string
	// LogDriver is docker run --log-driver; "" is the engine's default.
	LogDriver string
	// Stop, when set, is docker stop (SIGTERM, then SIGKILL after
	// StopTimeout) once the guest has run that long.
	Stop        time.Duration
	StopTimeout time.Duration
	// Remove, when set, is docker rm --force once the guest has run that
	// long: the container goes while its guest runs.
	Remove time.Duration
	// Report is filled by the runner: what the engine says about the run.
	Report EngineReport
}

// EngineReport is the engine's side of a run (Engine.Report).
type EngineReport struct {
	// ContainerID is the engine's id of the container; Hostname its
	// hostname (docker inspect .Config.Hostname).
	ContainerID, Hostname string
	// Networks are the networks the engine attached the container to
	// (docker inspect .NetworkSettings.Networks), NetworkMode its mode.
	Networks    []string
	NetworkMode string
	// Logs and LogsStderr are docker logs' stdout and stderr after the
	// guest ended; LogsErr says why they could not be read.
	Logs, LogsStderr []byte
	LogsErr          string
	// Files are the single files the engine bind-mounts into the
	// container, by guest path (/etc/hostname, /etc/hosts,
	// /etc/resolv.conf), as read on the host after the run.
	Files map[string][]byte
	// Changes are the container's filesystem changes against its image
	// (docker diff), e.g. "A /made-by-guest".
	Changes []string
	// Removed says the container was removed while its guest ran
	// (Engine.Remove); StillListed that the engine still lists it after.
	Removed, StillListed bool
}

// Container is the OCI spec and task side of an Invocation
// (Invocation.Container); see the runtime spec,
// https://github.com/opencontainers/runtime-spec/blob/v1.2.0/config.md.
type Container struct {
	// ID is the container's (and its task's) id instead of a random one,
	// so that the harness can find what the run left behind: containerd
	// starts every shim with "-id ID".
	ID string
	// User is process.user; nil leaves the default (uid 0).
	User *ContainerUser
	// MemoryLimit is linux.resources.memory.limit in bytes; 0 sets none.
	MemoryLimit int64
	// Annotations are added to the spec's annotations.
	Annotations map[string]string
	// FIFOs are guest paths of FIFOs the guest may open, granted as
	// linux.devices entries of type "p".
	FIFOs []string
	// ImageFiles are added to the container image's layer beside the
	// module: directories, device nodes, FIFOs.
	ImageFiles []ImageFile
	// Mounts are added to the OCI spec after the preopens' bind mounts.
	Mounts []Mount
	// Started, when set, is called once the task has started, beside the
	// guest; the run waits for it to return before it deletes the task.
	// Its ctx ends when the task exits.
	Started func(ctx context.Context, task Task)
}

// ContainerUser is process.user.
type ContainerUser struct {
	UID, GID       uint32
	AdditionalGids []uint32
}

// Task is a running container task, for Container.Started.
type Task interface {
	// Metrics asks the runtime for the task's metrics (containerd's task
	// metrics, which a shim answers from the task's cgroup).
	Metrics(ctx context.Context) (TaskMetrics, error)
}

// TaskMetrics are the parts of a task's metrics the specs read.
type TaskMetrics struct {
	// Type is the metrics' type URL, e.g. io.containerd.cgroups.v1.Metrics.
	Type string
	// MemoryUsage is the cgroup's memory usage in bytes; Pids its
	// process count.
	MemoryUsage, Pids uint64
}

// Canary is one secret a runner watches for (Invocation.Canaries).
type Canary struct {
	// Name labels sightings, e.g. "token" or "env".
	Name  string
	Value string
}

// HostFile is one stand-in for a host file (Invocation.HostFiles).
type HostFile struct {
	// Path is the host file the guest must not reach, e.g. "/etc/passwd".
	Path string
	// StandIn is the file shown at Path inside the run's mount namespace.
	StandIn string
}

// Sighting says that a watched canary appeared in an output stream.
type Sighting struct {
	Canary string `json:"canary"`
	// Stream is "stdout" or "stderr".
	Stream string `json:"stream"`
}

// DefaultTimeout bounds a run whose Invocation sets none.
const DefaultTimeout = 10 * time.Second

// MaxOutput bounds how much of each of stdout and stderr a Result keeps.
// A guest that floods its output is truncated here, not buffered without
// bound; Result.Truncated says so.
const MaxOutput = 4 << 20

// Ending says how a run ended.
type Ending string

const (
	// EndedExit: the guest returned from _start or called proc_exit.
	EndedExit Ending = "exit"
	// EndedTrap: the guest trapped (unreachable, out-of-bounds access, ...).
	EndedTrap Ending = "trap"
	// EndedCrash: the runtime itself failed: a signal, a panic, an abort.
	EndedCrash Ending = "crash"
	// EndedTimeout: the run was cut off at the Invocation's timeout.
	EndedTimeout Ending = "timeout"
)

// Result is what happened in one run.
type Result struct {
	Ended    Ending        `json:"ended"`
	ExitCode int           `json:"exit_code"`
	Stdout   []byte        `json:"-"`
	Stderr   []byte        `json:"-"`
	Duration time.Duration `json:"duration_ns"`
	// Detail explains a trap, crash or timeout in one line (the trap
	// message, the signal name), empty for a plain exit.
	Detail string `json:"detail,omitempty"`
	// Truncated says stdout or stderr went past MaxOutput and was cut.
	Truncated bool `json:"truncated,omitempty"`
	// StdoutBytes and StderrBytes count everything the run wrote to each
	// stream, kept or not; all of it was scanned for Invocation.Canaries.
	StdoutBytes, StderrBytes int64
	// Sightings are the Invocation's canaries found in the whole of stdout
	// and stderr.
	Sightings []Sighting `json:"sightings,omitempty"`
	// HostFilesMasked says the run saw Invocation.HostFiles' stand-ins.
	HostFilesMasked bool `json:"host_files_masked,omitempty"`
	// InjectedEnv are KEY=VALUE entries the engine added to this run's
	// environment that are known only once the container exists (Docker's
	// HOSTNAME, the container's own); judges count them with
	// Platform.InjectedEnv.
	InjectedEnv []string `json:"injected_env,omitempty"`
}

// String summarises how the run ended, e.g. "exit 0" or "crash: signal: segmentation fault".
func (r Result) String() string {
	if r.Ended == EndedExit {
		return fmt.Sprintf("exit %d", r.ExitCode)
	}
	if r.Detail != "" {
		return string(r.Ended) + ": " + r.Detail
	}
	return string(r.Ended)
}

// Runner drives one WebAssembly runtime.
type Runner interface {
	// Name is the runtime's registry name, e.g. "wazero".
	Name() string
	// Version is the runtime's own version string, e.g. "1.12.0".
	Version() string
	// Features lists what the runtime claims to support.
	Features() Features
	// Run runs inv.Module with exactly what inv grants. It returns an error
	// only when the run could not be started; everything the guest or the
	// runtime did (exit, trap, crash, hang) is in the Result.
	Run(ctx context.Context, inv Invocation) (Result, error)
}

// EffectiveTimeout returns inv.Timeout, or DefaultTimeout when it is zero.
func (inv Invocation) EffectiveTimeout() time.Duration {
	if inv.Timeout > 0 {
		return inv.Timeout
	}
	return DefaultTimeout
}

// Validate checks an Invocation for mistakes of the harness's own.
func (inv Invocation) Validate() error {
	if len(inv.Module.Bytes) == 0 && inv.Module.Path == "" {
		return fmt.Errorf("invocation has no module: set Module.Path or Module.Bytes")
	}
	if len(inv.Args) == 0 {
		return fmt.Errorf("invocation has no argv[0]: Args must hold at least the program name")
	}
	// A NUL byte cannot cross exec, a C string or WASI: refuse it rather
	// than let a runtime cut the string there.
	const nul = "holds a NUL byte, which WASI cannot pass"
	for i, a := range inv.Args {
		if strings.ContainsRune(a, 0) {
			return fmt.Errorf("argument %d %q %s", i, a, nul)
		}
	}
	for _, kv := range inv.Env {
		if !strings.Contains(kv, "=") {
			return fmt.Errorf("environment entry %q is not KEY=VALUE", kv)
		}
		if strings.ContainsRune(kv, 0) {
			return fmt.Errorf("environment entry %q %s", kv, nul)
		}
	}
	for _, p := range inv.Preopens {
		if p.GuestPath == "" || p.HostDir == "" {
			return fmt.Errorf("preopen %+v needs both a guest path and a host dir", p)
		}
		for _, path := range []string{p.GuestPath, p.HostDir} {
			if strings.ContainsRune(path, 0) {
				return fmt.Errorf("preopen %q %s", path, nul)
			}
		}
	}
	return nil
}

// More features, claimed by container runners.
const (
	// FeatureContainer: the guest runs as a container from an OCI image
	// (a containerd shim), so the shim specs (Area:shim) apply.
	FeatureContainer Feature = "container"
	// FeatureSignal: the runner implements Signaller.
	FeatureSignal Feature = "signal"
)

// Platform is implemented by a runner whose platform grants the guest more
// than its Invocation, by design and documented: a container's image rootfs,
// an engine's default environment. Judges count these as granted and report
// them apart from a real escape or host leak.
type Platform interface {
	// ImplicitPreopens are guest names preopened before the Invocation's.
	ImplicitPreopens() []string
	// InjectedEnv are KEY=VALUE entries the engine adds to the guest's
	// environment (e.g. containerd's default PATH).
	InjectedEnv() []string
}

// Signaller is implemented by a runner that can signal a running guest, for
// the specs of how a platform maps signals to exit statuses.
type Signaller interface {
	// RunWithSignal is Run, sending sig to the guest after it has run for after.
	RunWithSignal(ctx context.Context, inv Invocation, sig syscall.Signal, after time.Duration) (Result, error)
}

// ImageFile is one entry of a container image's layer (Container.ImageFiles).
type ImageFile struct {
	// Path is absolute in the image, e.g. "/scratch".
	Path string
	// Type is "dir", "char", "block" or "fifo".
	Type string
	// Major and Minor name the device of a "char" or "block" node.
	Major, Minor uint32
}

// Mount is one OCI mount (Container.Mounts), as in the runtime spec's
// mounts: https://github.com/opencontainers/runtime-spec/blob/main/config.md#mounts
type Mount struct {
	Destination string
	Type        string
	Source      string
	Options     []string
}

// FeaturePod: the runner runs the guest as a container of a Kubernetes pod
// through a CRI endpoint, as kubelet does, and honours Invocation.Pod, so
// the pod specs (Area:pod) apply.
const FeaturePod Feature = "pod"

// FeaturePodNetwork: the runner's pods have a network namespace of their
// own (CNI), not the node's (hostNetwork), so the pod network spec applies.
const FeaturePodNetwork Feature = "pod-network"

// Pod is the pod side of an Invocation (Invocation.Pod): what the pod spec
// asks beyond the grants (the Kubernetes fields kubelet turns into CRI
// calls), and what the platform reported back. See
// https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/.
type Pod struct {
	// Token is the service-account token kubelet projects for the pod; the
	// runner writes it (with ca.crt and namespace) into a node dir. ""
	// writes none.
	Token string
	// AutomountToken is automountServiceAccountToken: the token's dir is
	// mounted read-only at ServiceAccountDir, as kubelet's projected
	// volume is.
	AutomountToken bool
	// ReadOnlyRootfs is securityContext.readOnlyRootFilesystem (the CRI's
	// LinuxContainerSecurityContext.ReadonlyRootfs).
	ReadOnlyRootfs bool
	// Mounts are further container mounts (the pod spec's volumeMounts),
	// after the preopens' and kubelet's.
	Mounts []Mount
	// Running, when set, is called once the container has started, beside
	// the guest, with what the platform reported so far (ids, pids, node
	// paths): the host looks at the pod while it lives. The run waits for
	// it to return before it goes on.
	Running func(ctx context.Context, rep *PodReport)
	// Then is what the runner does once Running has returned: "" waits
	// for the guest to exit; PodStop stops the container (StopContainer,
	// timeout 0); PodDelete force-deletes the pod while its guest runs
	// (StopPodSandbox, then RemovePodSandbox, as kubectl delete --force
	// --grace-period=0 ends in).
	Then string
	// Report is filled by the runner.
	Report PodReport
}

// What the runner does after Pod.Running (Pod.Then).
const (
	PodStop   = "stop"
	PodDelete = "delete"
)

// ServiceAccountDir is where kubelet mounts a pod's service-account token
// (https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/).
const ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// PodReport is the platform's side of a pod run (Pod.Report).
type PodReport struct {
	// SandboxID and ContainerID are the CRI's ids; Hostname the pod's.
	SandboxID, ContainerID, Hostname string
	// HostNetwork says the pod runs in the node's network namespace
	// (hostNetwork: true), and so, by Kubernetes' design, its UTS one.
	HostNetwork bool
	// SandboxPid and ContainerPid are the pids the runtime reported for
	// the sandbox and the container task (CRI verbose status); 0 when it
	// reported none.
	SandboxPid, ContainerPid int
	// Files are the node paths of the single files mounted into the
	// container, by guest path (/etc/hosts, /etc/hostname,
	// /etc/resolv.conf), from the container's runtime spec.
	Files map[string]string
	// SandboxEntrypoint is the node path of the sandbox image's entrypoint
	// (the pause binary) in the sandbox's rootfs snapshot; "" when the
	// runtime did not say.
	SandboxEntrypoint string
	// TokenDir is the node dir holding the service-account token.
	TokenDir string
	// StateDirs are the CRI runtime's root and state dirs on the node
	// (CRI verbose status), where it keeps its pods' files.
	StateDirs []string
	// RootfsFiles are the files in the container's writable rootfs layer
	// once the guest ended, as guest paths; RootfsErr says why they could
	// not be listed.
	RootfsFiles []string
	RootfsErr   string
	// Deleted says the pod was force-deleted while its guest ran
	// (PodDelete); DeleteErr what the runtime answered when a step of it
	// failed.
	Deleted   bool
	DeleteErr string
}
