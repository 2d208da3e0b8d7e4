package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/pkg/shutdown"
	"github.com/containerd/containerd/plugin"
	"github.com/containerd/containerd/protobuf"
	ptypes "github.com/containerd/containerd/protobuf/types"
	"github.com/containerd/containerd/runtime"
	"github.com/containerd/containerd/runtime/v2/shim"
	"github.com/containerd/log"
	"github.com/containerd/ttrpc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/wasicert/wasicert/internal/wazerogrant"
)

func init() {
	plugin.Register(&plugin.Registration{
		Type:     plugin.TTRPCPlugin,
		ID:       "task",
		Requires: []plugin.Type{plugin.EventPlugin, plugin.InternalPlugin},
		InitFn: func(ic *plugin.InitContext) (interface{}, error) {
			pp, err := ic.GetByID(plugin.EventPlugin, "publisher")
			if err != nil {
				return nil, err
			}
			ss, err := ic.GetByID(plugin.InternalPlugin, "shutdown")
			if err != nil {
				return nil, err
			}
			return newService(ic.Context, pp.(shim.Publisher), ss.(shutdown.Service)), nil
		},
	})
}

type wtask struct {
	id, bundle string
	rootfs     string
	mounted    bool
	// sandbox: a pod's sandbox, held by a holder process (pod.go), not a
	// guest; it has no control pipe.
	sandbox bool
	stdin   string
	stdout  string
	stderr  string

	cg  *taskCgroup // nil in the weakened build
	io  *taskIO
	cmd *exec.Cmd
	pid int
	ctl *os.File // the guest's control pipe: one byte starts it
	// exit gets the guest process's status once it has exited and its
	// stdio is done.
	exit chan uint32
	// unmountPlan undoes the plan's kernel mounts (tmpfs, non-recursive
	// binds) inside the rootfs.
	unmountPlan func() error

	mu         sync.Mutex
	status     task.Status
	killSig    syscall.Signal // the weakened build's kill
	exitStatus uint32
	exitedAt   time.Time
	// started is when Start let the guest run (zero before).
	started time.Time
	// deleting: Delete ended the task before it started.
	deleting bool
	done     chan struct{}
}

type service struct {
	ctx       context.Context
	publisher shim.Publisher
	sd        shutdown.Service
	events    chan interface{}
	fwdDone   chan struct{}

	mu    sync.Mutex
	tasks map[string]*wtask
	// shutdownPending: containerd asked to shut down while only Creates
	// were in progress (it gave up on them: a create timeout). The last
	// of them to end shuts the shim down.
	shutdownPending bool
}

func newService(ctx context.Context, publisher shim.Publisher, sd shutdown.Service) *service {
	s := &service{
		ctx:       ctx,
		publisher: publisher,
		sd:        sd,
		events:    make(chan interface{}, 128),
		fwdDone:   make(chan struct{}),
		tasks:     map[string]*wtask{},
	}
	go s.forward()
	sd.RegisterCallback(func(context.Context) error {
		close(s.events)
		select {
		case <-s.fwdDone:
		case <-time.After(3 * time.Second):
		}
		return publisher.Close()
	})
	if address, err := shim.ReadAddress("address"); err == nil {
		sd.RegisterCallback(func(context.Context) error { return shim.RemoveSocket(address) })
	}
	return s
}

func (s *service) RegisterTTRPC(server *ttrpc.Server) error {
	taskAPI.RegisterTaskService(server, s)
	return nil
}

func topic(e interface{}) string {
	switch e.(type) {
	case *eventstypes.TaskCreate:
		return runtime.TaskCreateEventTopic
	case *eventstypes.TaskStart:
		return runtime.TaskStartEventTopic
	case *eventstypes.TaskExit:
		return runtime.TaskExitEventTopic
	case *eventstypes.TaskDelete:
		return runtime.TaskDeleteEventTopic
	}
	return runtime.TaskUnknownTopic
}

func (s *service) forward() {
	defer close(s.fwdDone)
	ctx := context.WithoutCancel(s.ctx)
	for e := range s.events {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := s.publisher.Publish(pctx, topic(e), e); err != nil {
			log.G(ctx).WithError(err).Error("publish event")
		}
		cancel()
	}
}

func (s *service) send(e interface{}) {
	defer func() { _ = recover() }() // events closed at shutdown
	s.events <- e
}

func (s *service) get(id, execID string) (*wtask, error) {
	if execID != "" {
		return nil, errdefs.ToGRPCf(errdefs.ErrNotFound, "exec %s: the wazero shim has no exec processes", execID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[id]
	if !ok || t == nil { // nil: an id reserved by a Create in progress
		return nil, errdefs.ToGRPCf(errdefs.ErrNotFound, "task %s not found", id)
	}
	return t, nil
}

func readSpec(bundle string) (*specs.Spec, error) {
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, err
	}
	var spec specs.Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	return &spec, nil
}

func (s *service) Create(ctx context.Context, r *taskAPI.CreateTaskRequest) (_ *taskAPI.CreateTaskResponse, retErr error) {
	// Reserve the id (a nil entry) in the same critical section as the
	// duplicate check; a failed Create drops it again.
	s.mu.Lock()
	if _, dup := s.tasks[r.ID]; dup {
		s.mu.Unlock()
		return nil, errdefs.ToGRPCf(errdefs.ErrAlreadyExists, "task %s", r.ID)
	}
	s.tasks[r.ID] = nil
	s.mu.Unlock()
	var t *wtask
	defer func() {
		if retErr != nil {
			if t != nil {
				t.killAndReap()
				t.release(ctx)
			}
			s.mu.Lock()
			delete(s.tasks, r.ID)
			shutdown := s.shutdownPending && len(s.tasks) == 0
			s.mu.Unlock()
			if shutdown {
				s.sd.Shutdown()
			}
		}
	}()
	if r.Terminal {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: a terminal (tty) was requested: not supported")
	}
	if r.Checkpoint != "" {
		return nil, errdefs.ToGRPCf(errdefs.ErrNotImplemented, "wazero shim: checkpoint/restore is not supported")
	}
	spec, err := readSpec(r.Bundle)
	if err != nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: read OCI spec: %v", err)
	}
	limits, err := limitsOf(spec)
	if err != nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: %v", err)
	}
	t = &wtask{id: r.ID, bundle: r.Bundle, stdin: r.Stdin, stdout: r.Stdout, stderr: r.Stderr,
		status: task.Status_CREATED, done: make(chan struct{}), exit: make(chan uint32, 1),
		sandbox: isSandbox(spec)}
	ns := namespacePlan(spec, t.sandbox)
	if len(ns.Ignored) > 0 {
		log.G(ctx).WithField("ignored", ns.Ignored).Debug("linux.namespaces not acted on (docs/shim.md)")
	}
	if sid := spec.Annotations[AnnotationSandboxID]; !t.sandbox && sid != "" && !weakPods {
		if err := s.pinSandbox(sid, &ns); err != nil {
			return nil, err
		}
	}

	if t.sandbox && !weakPods {
		// The sandbox image is never mounted, read or run.
	} else if len(r.Rootfs) > 0 {
		t.rootfs = filepath.Join(r.Bundle, "rootfs")
		if err := os.MkdirAll(t.rootfs, 0o711); err != nil {
			return nil, err
		}
		var mounts []mount.Mount
		for _, m := range r.Rootfs {
			mounts = append(mounts, mount.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: m.Options})
		}
		if err := mount.All(mounts, t.rootfs); err != nil {
			return nil, errdefs.ToGRPCf(errdefs.ErrUnknown, "wazero shim: mount rootfs: %v", err)
		}
		t.mounted = true
	} else if spec.Root != nil && spec.Root.Path != "" {
		t.rootfs = spec.Root.Path
		if !filepath.IsAbs(t.rootfs) {
			t.rootfs = filepath.Join(r.Bundle, t.rootfs)
		}
	} else {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: no rootfs: neither rootfs mounts nor root.path")
	}

	var cfg guestConfig
	if !t.sandbox {
		plan, err := BuildPlan(spec, t.rootfs)
		if err != nil {
			return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: %v", err)
		}
		if len(plan.Skipped) > 0 {
			log.G(ctx).WithField("skipped", plan.Skipped).Info("mounts moot for a wasm guest, not granted (docs/shim.md)")
		}
		if t.unmountPlan, err = plan.MountAll(t.rootfs); err != nil {
			return nil, errdefs.ToGRPCf(errdefs.ErrUnknown, "wazero shim: %v", err)
		}
		if err := plan.CheckModule(limits.maxModule); err != nil {
			return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: %v", err)
		}
		cfg = guestConfig{Module: plan.Entrypoint, EntryGuest: plan.EntryGuest, MaxModule: limits.maxModule,
			Args: plan.Args, MemoryPages: limits.memoryPages, CacheDir: os.Getenv(EnvCacheDir), User: limits.user,
			ShimPid: os.Getpid(), Rlimits: limits.rlimits, OOMScoreAdj: limits.oomScoreAdj}
		for _, kv := range plan.Env {
			cfg.Env = append(cfg.Env, kv[0]+"="+kv[1])
		}
		for _, p := range plan.Preopens {
			cfg.Dirs = append(cfg.Dirs, wazerogrant.Dir{Guest: p.Guest, Host: p.Host, ReadOnly: p.ReadOnly, Devices: p.Devices})
		}
	}

	if !weakShim {
		ns, _ := namespaces.Namespace(ctx)
		if ns == "" {
			ns, _ = namespaces.Namespace(s.ctx)
		}
		var cgPath string
		var res *specs.LinuxResources
		if spec.Linux != nil {
			cgPath, res = spec.Linux.CgroupsPath, spec.Linux.Resources
		}
		p, err := cgroupPath(cgPath, ns, r.ID)
		if err != nil {
			return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: %v", err)
		}
		if t.cg, err = newCgroup(p, res); err != nil {
			return nil, errdefs.ToGRPCf(errdefs.ErrUnknown, "wazero shim: %v", err)
		}
	}

	// Stdio, opened with the shim's long-lived context so that a pending
	// fifo open is not cancelled when this request returns.
	if t.io, err = openIO(context.WithoutCancel(s.ctx), r.ID, r.Stdin, r.Stdout, r.Stderr); err != nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: stdio: %v", err)
	}
	if t.sandbox {
		err = s.startSandbox(t, spec, ns)
	} else {
		err = s.startGuest(ctx, t, &cfg, ns)
	}
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	if s.shutdownPending && !weakShim {
		// containerd gave up on this create (and asked the shim to go).
		s.mu.Unlock()
		return nil, errdefs.ToGRPCf(errdefs.ErrUnavailable, "wazero shim: create abandoned by containerd")
	}
	s.tasks[r.ID] = t
	s.mu.Unlock()
	go func() { s.exited(t, <-t.exit) }()
	pid := uint32(t.pid)
	s.send(&eventstypes.TaskCreate{
		ContainerID: r.ID, Bundle: r.Bundle, Rootfs: r.Rootfs,
		IO:  &eventstypes.TaskIO{Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr, Terminal: r.Terminal},
		Pid: pid,
	})
	return &taskAPI.CreateTaskResponse{Pid: pid}, nil
}

// startGuest starts t's guest process (guest.go), places it in t's cgroup,
// sends it cfg and waits until it has compiled the module and is ready to
// start. When ctx ends first, the process is killed: compilation does not
// outlive Create.
func (s *service) startGuest(ctx context.Context, t *wtask, cfg *guestConfig, ns nsPlan) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return err
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return err
	}
	defer repR.Close()
	cmd := exec.Command(self, guestArg, t.id)
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.ExtraFiles = []*os.File{ctlR, repW}
	t.io.set(cmd)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS,
		Pdeathsig:  syscall.SIGKILL,
		Setpgid:    true,
	}
	err = startIn(cmd, ns)
	ctlR.Close()
	repW.Close()
	if err != nil {
		ctlW.Close()
		if errdefs.IsInvalidArgument(errdefs.FromGRPC(err)) {
			return err
		}
		return errdefs.ToGRPCf(errdefs.ErrUnknown, "wazero shim: start the guest process: %v", err)
	}
	t.ctl = ctlW
	if err := t.watch(cmd, "the guest"); err != nil {
		return err
	}
	if err := json.NewEncoder(ctlW).Encode(cfg); err != nil {
		return errdefs.ToGRPCf(errdefs.ErrUnknown, "wazero shim: configure the guest process: %v", err)
	}
	report := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(repR).ReadString('\n')
		report <- strings.TrimSuffix(line, "\n")
	}()
	var done <-chan struct{}
	if !weakShim {
		done = ctx.Done()
	}
	select {
	case line := <-report:
		switch {
		case line == "ok":
			return nil
		case strings.HasPrefix(line, "error "):
			return errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: %s", strings.TrimPrefix(line, "error "))
		}
		return errdefs.ToGRPCf(errdefs.ErrUnknown, "wazero shim: the guest process ended before it was ready")
	case <-done:
		return errdefs.ToGRPCf(errdefs.ErrUnavailable, "wazero shim: create cancelled while compiling %q: %v", cfg.EntryGuest, ctx.Err())
	}
}

// watch records cmd, just started, as t's process: its exit status goes to
// t.exit once its stdio is done, and it is placed in t's cgroup (what names
// it in the error).
func (t *wtask) watch(cmd *exec.Cmd, what string) error {
	t.cmd, t.pid = cmd, cmd.Process.Pid
	t.io.afterStart()
	go func() {
		err := cmd.Wait()
		t.io.closeChild()
		t.exit <- waitStatus(cmd.ProcessState, err)
	}()
	if t.cg != nil {
		if err := t.cg.add(t.pid); err != nil {
			return errdefs.ToGRPCf(errdefs.ErrUnknown, "wazero shim: place %s in cgroup %s: %v", what, t.cg.path, err)
		}
	}
	return nil
}

// waitStatus is the task's exit status: the guest's, or 128+S when a
// signal ended it.
func waitStatus(ps *os.ProcessState, err error) uint32 {
	if ps == nil {
		return 128 + uint32(syscall.SIGKILL)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + uint32(ws.Signal())
	}
	return uint32(ps.ExitCode())
}

// killAndReap kills the guest process, if any, and waits for it.
func (t *wtask) killAndReap() {
	if t.cmd == nil {
		return
	}
	_ = t.cmd.Process.Kill()
	t.exit <- <-t.exit // keep the status for whoever reads it next
}

// release closes stdio, removes the cgroup and unmounts the rootfs; the
// guest process has exited.
func (t *wtask) release(ctx context.Context) {
	if t.ctl != nil {
		t.ctl.Close()
		t.ctl = nil
	}
	if t.io != nil {
		t.io.close()
		t.io = nil
	}
	if t.cg != nil {
		if err := t.cg.delete(); err != nil {
			log.G(ctx).WithError(err).Warn("delete cgroup")
		}
		t.cg = nil
	}
	if t.unmountPlan != nil {
		if err := t.unmountPlan(); err != nil {
			log.G(ctx).WithError(err).Warn("unmount tmpfs and bind mounts")
		}
		t.unmountPlan = nil
	}
	if t.mounted {
		if err := mount.UnmountRecursive(t.rootfs, 0); err != nil {
			log.G(ctx).WithError(err).Warn("unmount rootfs")
		} else {
			t.mounted = false
		}
	}
}

func (s *service) Start(ctx context.Context, r *taskAPI.StartRequest) (*taskAPI.StartResponse, error) {
	t, err := s.get(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status != task.Status_CREATED {
		return nil, errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "task %s is %s, not created", r.ID, t.status)
	}
	if t.deleting {
		return nil, errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "task %s is being deleted", r.ID)
	}
	if !t.sandbox { // a sandbox's holder runs from Create on
		if _, err := t.ctl.Write([]byte{'s'}); err != nil {
			return nil, errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "task %s: the guest process is gone: %v", r.ID, err)
		}
		t.ctl.Close()
		t.ctl = nil
	}
	t.status = task.Status_RUNNING
	t.started = time.Now()
	s.send(&eventstypes.TaskStart{ContainerID: r.ID, Pid: uint32(t.pid)})
	return &taskAPI.StartResponse{Pid: uint32(t.pid)}, nil
}

// minReportedRun is the shortest run the shim reports: a guest that exits
// sooner after Start is reported exited (Wait, State, the TaskExit event)
// at Start + minReportedRun, and no earlier. containerd's CRI stamps a
// container's StartedAt with its own clock after Start has returned to it
// (internal/cri/server/container_start.go, pkg/cri/server in 1.6) and its
// FinishedAt is the shim's exit time, so a guest shorter than that round
// trip would otherwise finish before it started (runc's shim has the same
// race: moby/moby#45445). The reported time is never in the future: the
// report waits for it.
const minReportedRun = 20 * time.Millisecond

func (s *service) exited(t *wtask, status uint32) {
	t.mu.Lock()
	started := t.started
	t.mu.Unlock()
	if !started.IsZero() {
		if d := time.Until(started.Add(minReportedRun)); d > 0 {
			time.Sleep(d)
		}
	}
	t.mu.Lock()
	if weakShim && !t.sandbox && t.killSig != 0 {
		status = 128 + uint32(t.killSig)
	}
	stopped := t.stop(status)
	t.mu.Unlock()
	if stopped {
		s.sendExit(t)
	}
}

// stop makes t STOPPED with status unless it already is; t.mu must be held.
func (t *wtask) stop(status uint32) bool {
	if t.status == task.Status_STOPPED {
		return false
	}
	t.status = task.Status_STOPPED
	t.exitStatus = status
	t.exitedAt = time.Now()
	close(t.done)
	return true
}

func (s *service) sendExit(t *wtask) {
	s.send(&eventstypes.TaskExit{
		ContainerID: t.id, ID: t.id, Pid: uint32(t.pid),
		ExitStatus: t.exitStatus, ExitedAt: protobuf.ToTimestamp(t.exitedAt),
	})
}

func (s *service) Delete(ctx context.Context, r *taskAPI.DeleteRequest) (*taskAPI.DeleteResponse, error) {
	t, err := s.get(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	switch t.status {
	case task.Status_RUNNING:
		t.mu.Unlock()
		return nil, errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "task %s is running", r.ID)
	case task.Status_CREATED:
		// Never started: its guest process goes (EOF on its control pipe
		// makes it exit; the kill makes sure), and Start refuses it.
		t.deleting = true
		if t.ctl != nil {
			t.ctl.Close()
			t.ctl = nil
		}
		_ = t.cmd.Process.Kill()
	}
	t.mu.Unlock()
	<-t.done
	t.mu.Lock()
	t.release(ctx)
	t.mu.Unlock()
	s.mu.Lock()
	delete(s.tasks, r.ID)
	s.mu.Unlock()
	s.send(&eventstypes.TaskDelete{ContainerID: t.id, ID: t.id, Pid: uint32(t.pid),
		ExitStatus: t.exitStatus, ExitedAt: protobuf.ToTimestamp(t.exitedAt)})
	return &taskAPI.DeleteResponse{Pid: uint32(t.pid), ExitStatus: t.exitStatus, ExitedAt: protobuf.ToTimestamp(t.exitedAt)}, nil
}

// ignoredSignals do not end a guest: their default action is to be ignored.
var ignoredSignals = map[syscall.Signal]bool{syscall.SIGCHLD: true, syscall.SIGURG: true, syscall.SIGWINCH: true, syscall.SIGCONT: true}

// Kill sends the signal to the guest process: a real signal, so SIGKILL
// lands whatever the guest is doing (blocked in open() on a FIFO too).
func (s *service) Kill(ctx context.Context, r *taskAPI.KillRequest) (*ptypes.Empty, error) {
	t, err := s.get(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	sig := syscall.Signal(r.Signal)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.status == task.Status_STOPPED {
		return nil, errdefs.ToGRPCf(errdefs.ErrNotFound, "process already finished")
	}
	if weakShim && !t.sandbox && t.status == task.Status_RUNNING && sig != 0 && !ignoredSignals[sig] {
		// Before issue 8: cancel the guest (it stops at its next call or
		// loop back-edge) and close its stdio; a guest blocked elsewhere
		// in a host call stays.
		if t.killSig == 0 {
			t.killSig = sig
		}
		if t.io != nil {
			t.io.close()
		}
		_ = t.cmd.Process.Signal(syscall.SIGUSR2)
		return &ptypes.Empty{}, nil
	}
	if err := unix.Kill(t.pid, sig); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil, errdefs.ToGRPCf(errdefs.ErrNotFound, "process already finished")
		}
		return nil, errdefs.ToGRPCf(errdefs.ErrUnknown, "kill %d: %v", t.pid, err)
	}
	return &ptypes.Empty{}, nil
}

func (s *service) Wait(ctx context.Context, r *taskAPI.WaitRequest) (*taskAPI.WaitResponse, error) {
	t, err := s.get(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	select {
	case <-t.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return &taskAPI.WaitResponse{ExitStatus: t.exitStatus, ExitedAt: protobuf.ToTimestamp(t.exitedAt)}, nil
}

func (s *service) State(ctx context.Context, r *taskAPI.StateRequest) (*taskAPI.StateResponse, error) {
	t, err := s.get(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return &taskAPI.StateResponse{
		ID: t.id, Bundle: t.bundle, Pid: uint32(t.pid), Status: t.status,
		Stdin: t.stdin, Stdout: t.stdout, Stderr: t.stderr,
		ExitStatus: t.exitStatus, ExitedAt: protobuf.ToTimestamp(t.exitedAt),
	}, nil
}

func (s *service) Pids(ctx context.Context, r *taskAPI.PidsRequest) (*taskAPI.PidsResponse, error) {
	t, err := s.get(r.ID, "")
	if err != nil {
		return nil, err
	}
	return &taskAPI.PidsResponse{Processes: []*task.ProcessInfo{{Pid: uint32(t.pid)}}}, nil
}

func (s *service) Connect(ctx context.Context, r *taskAPI.ConnectRequest) (*taskAPI.ConnectResponse, error) {
	var pid int
	if t, err := s.get(r.ID, ""); err == nil {
		pid = t.pid
	}
	return &taskAPI.ConnectResponse{ShimPid: uint32(os.Getpid()), TaskPid: uint32(pid), Version: Version}, nil
}

// CloseIO is a no-op: the guest sees EOF on stdin when the client closes its
// end of the fifo; closing our end here made reads fail with EBADF.
func (s *service) CloseIO(ctx context.Context, r *taskAPI.CloseIORequest) (*ptypes.Empty, error) {
	return &ptypes.Empty{}, nil
}

// Shutdown exits the shim when it has no task. With only Creates in
// progress (containerd gave up on them: a create timeout), the last of them
// to end shuts it down, so no shim outlives a cancelled create.
func (s *service) Shutdown(ctx context.Context, r *taskAPI.ShutdownRequest) (*ptypes.Empty, error) {
	s.mu.Lock()
	n, creating := 0, 0
	for _, t := range s.tasks {
		if t == nil {
			creating++
		} else {
			n++
		}
	}
	if n == 0 && creating > 0 && !weakShim {
		s.shutdownPending = true
	}
	s.mu.Unlock()
	if n == 0 && creating == 0 {
		s.sd.Shutdown()
	}
	return &ptypes.Empty{}, nil
}

// Stats reports the task's cgroup metrics, as containerd's runc shim does
// (io.containerd.cgroups.v1.Metrics or .v2.Metrics): `ctr task metrics` and
// containerd's metrics collector read them.
func (s *service) Stats(ctx context.Context, r *taskAPI.StatsRequest) (*taskAPI.StatsResponse, error) {
	t, err := s.get(r.ID, "")
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	cg := t.cg
	t.mu.Unlock()
	if cg == nil {
		return nil, notImpl("stats")
	}
	st, err := cg.stats()
	if err != nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrUnknown, "wazero shim: stats of cgroup %s: %v", cg.path, err)
	}
	return &taskAPI.StatsResponse{Stats: protobuf.FromAny(st)}, nil
}

func notImpl(what string) error {
	return errdefs.ToGRPCf(errdefs.ErrNotImplemented, "wazero shim: %s is not supported", what)
}

func (s *service) Pause(context.Context, *taskAPI.PauseRequest) (*ptypes.Empty, error) {
	return nil, notImpl("pause")
}
func (s *service) Resume(context.Context, *taskAPI.ResumeRequest) (*ptypes.Empty, error) {
	return nil, notImpl("resume")
}
func (s *service) Checkpoint(context.Context, *taskAPI.CheckpointTaskRequest) (*ptypes.Empty, error) {
	return nil, notImpl("checkpoint")
}
func (s *service) Exec(context.Context, *taskAPI.ExecProcessRequest) (*ptypes.Empty, error) {
	return nil, notImpl("exec")
}
func (s *service) ResizePty(context.Context, *taskAPI.ResizePtyRequest) (*ptypes.Empty, error) {
	return nil, notImpl("a tty")
}
func (s *service) Update(context.Context, *taskAPI.UpdateTaskRequest) (*ptypes.Empty, error) {
	return nil, notImpl("update")
}
