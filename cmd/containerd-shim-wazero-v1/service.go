package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/pkg/shutdown"
	"github.com/containerd/containerd/plugin"
	"github.com/containerd/containerd/protobuf"
	ptypes "github.com/containerd/containerd/protobuf/types"
	"github.com/containerd/containerd/runtime"
	"github.com/containerd/containerd/runtime/v2/shim"
	"github.com/containerd/fifo"
	"github.com/containerd/log"
	"github.com/containerd/ttrpc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasicert/wasicert/internal/trap"
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
	stdin      string
	stdout     string
	stderr     string

	rt       wazero.Runtime
	compiled wazero.CompiledModule
	modCfg   wazero.ModuleConfig
	stdio    []io.Closer
	// releaseFS closes the confined mounts' directory descriptors, which
	// would keep the rootfs mount busy.
	releaseFS func()
	// unmountPlan undoes the plan's kernel mounts (tmpfs, non-recursive
	// binds) inside the rootfs.
	unmountPlan func() error

	mu         sync.Mutex
	status     task.Status
	exitStatus uint32
	exitedAt   time.Time
	killSig    syscall.Signal
	runCtx     context.Context // the guest's context: cancelled by Kill and on exit
	cancel     context.CancelFunc
	done       chan struct{}
}

type service struct {
	ctx       context.Context
	publisher shim.Publisher
	sd        shutdown.Service
	events    chan interface{}
	fwdDone   chan struct{}

	mu    sync.Mutex
	tasks map[string]*wtask
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
				t.release(ctx)
			}
			s.mu.Lock()
			delete(s.tasks, r.ID)
			s.mu.Unlock()
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
	t = &wtask{id: r.ID, bundle: r.Bundle, stdin: r.Stdin, stdout: r.Stdout, stderr: r.Stderr,
		status: task.Status_CREATED, done: make(chan struct{})}
	t.runCtx, t.cancel = context.WithCancel(context.WithoutCancel(s.ctx))

	if len(r.Rootfs) > 0 {
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
	wasm, err := plan.ReadModule()
	if err != nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: %v", err)
	}

	rcfg := wazero.NewRuntimeConfig().WithCloseOnContextDone(true)
	if dir := os.Getenv(EnvCacheDir); dir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(dir)
		if err != nil {
			return nil, errdefs.ToGRPCf(errdefs.ErrUnknown, "wazero shim: compile cache %s: %v", dir, err)
		}
		rcfg = rcfg.WithCompilationCache(cache)
	}
	bg := context.WithoutCancel(s.ctx)
	t.rt = wazero.NewRuntimeWithConfig(bg, rcfg)
	compiled, err := t.rt.CompileModule(bg, wasm)
	if err != nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: corrupt module: entrypoint %q is not valid WebAssembly: %v", plan.EntryGuest, err)
	}
	if _, ok := compiled.ExportedFunctions()["_start"]; !ok {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: entrypoint %q exports no _start: not a WASI command module", plan.EntryGuest)
	}
	t.compiled = compiled
	if _, err := wasi_snapshot_preview1.Instantiate(bg, t.rt); err != nil {
		return nil, err
	}

	dirs := make([]wazerogrant.Dir, len(plan.Preopens))
	for i, p := range plan.Preopens {
		dirs[i] = wazerogrant.Dir{Guest: p.Guest, Host: p.Host, ReadOnly: p.ReadOnly, Devices: p.Devices}
	}
	env := make([]string, len(plan.Env))
	for i, kv := range plan.Env {
		env[i] = kv[0] + "=" + kv[1]
	}
	// Every preopen is confined by an os.Root: no symlink, relative or
	// absolute, leads out of the rootfs or a bind (wazero's own directory
	// mounts follow them out: wazero #2321). The guest's sleeps
	// (poll_oneoff clocks) end when the task is killed.
	grants, releaseFS, err := wazerogrant.Confined(plan.Args, env, dirs)
	if err != nil {
		return nil, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: %v", err)
	}
	t.releaseFS = releaseFS
	cfg := grants.
		WithNanosleep(wazerogrant.SleepUntil(t.runCtx)).
		WithStartFunctions("_start")

	// Stdio: the task's fifos, opened with the shim's long-lived context so a
	// pending open is not cancelled when this request returns.
	if r.Stdin != "" {
		f, err := fifo.OpenFifo(bg, r.Stdin, syscall.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			return nil, fmt.Errorf("wazero shim: open stdin fifo: %w", err)
		}
		t.stdio = append(t.stdio, f)
		cfg = cfg.WithStdin(f)
	}
	if r.Stdout != "" {
		f, err := fifo.OpenFifo(bg, r.Stdout, syscall.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("wazero shim: open stdout fifo: %w", err)
		}
		t.stdio = append(t.stdio, f)
		cfg = cfg.WithStdout(f)
	}
	if r.Stderr != "" {
		f, err := fifo.OpenFifo(bg, r.Stderr, syscall.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("wazero shim: open stderr fifo: %w", err)
		}
		t.stdio = append(t.stdio, f)
		cfg = cfg.WithStderr(f)
	}
	t.modCfg = cfg

	s.mu.Lock()
	s.tasks[r.ID] = t
	s.mu.Unlock()
	pid := uint32(os.Getpid())
	s.send(&eventstypes.TaskCreate{
		ContainerID: r.ID, Bundle: r.Bundle, Rootfs: r.Rootfs,
		IO:  &eventstypes.TaskIO{Stdin: r.Stdin, Stdout: r.Stdout, Stderr: r.Stderr, Terminal: r.Terminal},
		Pid: pid,
	})
	return &taskAPI.CreateTaskResponse{Pid: pid}, nil
}

// release closes stdio and the engine and unmounts the rootfs.
func (t *wtask) release(ctx context.Context) {
	if t.cancel != nil {
		t.cancel()
	}
	for _, c := range t.stdio {
		c.Close()
	}
	t.stdio = nil
	if t.rt != nil {
		t.rt.Close(context.Background())
		t.rt = nil
	}
	if t.releaseFS != nil {
		t.releaseFS()
		t.releaseFS = nil
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
	if t.status != task.Status_CREATED {
		t.mu.Unlock()
		return nil, errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "task %s is %s, not created", r.ID, t.status)
	}
	t.status = task.Status_RUNNING
	t.mu.Unlock()

	pid := uint32(os.Getpid())
	s.send(&eventstypes.TaskStart{ContainerID: r.ID, Pid: pid})
	go s.run(t.runCtx, t)
	return &taskAPI.StartResponse{Pid: pid}, nil
}

func (s *service) run(ctx context.Context, t *wtask) {
	mod, err := t.rt.InstantiateModule(ctx, t.compiled, t.modCfg)
	if mod != nil {
		mod.Close(context.Background())
	}
	t.mu.Lock()
	sig := t.killSig
	t.mu.Unlock()
	var status uint32
	var exitErr *sys.ExitError
	switch {
	case sig != 0:
		status = 128 + uint32(sig)
	case err == nil:
		status = 0
	case errors.As(err, &exitErr):
		status = exitErr.ExitCode()
	default:
		// A trap: the status and the stderr line of package trap, which
		// the containerd runner reads back.
		status = trap.ExitStatus
		msg := trap.ShimLine(err.Error())
		if len(t.stdio) > 0 {
			if w, ok := t.modCfgStderr(); ok {
				fmt.Fprintln(w, msg)
			}
		}
		log.G(ctx).Warn(msg)
	}
	s.exited(t, status)
}

// modCfgStderr finds the stderr fifo among the task's stdio.
func (t *wtask) modCfgStderr() (io.Writer, bool) {
	if t.stderr == "" {
		return nil, false
	}
	w, ok := t.stdio[len(t.stdio)-1].(io.Writer)
	return w, ok
}

func (s *service) exited(t *wtask, status uint32) {
	t.mu.Lock()
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
	t.cancel()
	for _, c := range t.stdio {
		c.Close()
	}
	t.stdio = nil
	close(t.done)
	return true
}

func (s *service) sendExit(t *wtask) {
	s.send(&eventstypes.TaskExit{
		ContainerID: t.id, ID: t.id, Pid: uint32(os.Getpid()),
		ExitStatus: t.exitStatus, ExitedAt: protobuf.ToTimestamp(t.exitedAt),
	})
}

func (s *service) Delete(ctx context.Context, r *taskAPI.DeleteRequest) (*taskAPI.DeleteResponse, error) {
	t, err := s.get(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	// The status check, a CREATED task's stop and the release are one
	// critical section: a Start cannot slip in between.
	t.mu.Lock()
	if t.status == task.Status_RUNNING {
		t.mu.Unlock()
		return nil, errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "task %s is running", r.ID)
	}
	stopped := t.status == task.Status_CREATED && t.stop(128+uint32(syscall.SIGKILL))
	t.release(ctx)
	t.mu.Unlock()
	if stopped {
		s.sendExit(t)
	}
	s.mu.Lock()
	delete(s.tasks, r.ID)
	s.mu.Unlock()
	s.send(&eventstypes.TaskDelete{ContainerID: t.id, ID: t.id, Pid: uint32(os.Getpid()),
		ExitStatus: t.exitStatus, ExitedAt: protobuf.ToTimestamp(t.exitedAt)})
	return &taskAPI.DeleteResponse{Pid: uint32(os.Getpid()), ExitStatus: t.exitStatus, ExitedAt: protobuf.ToTimestamp(t.exitedAt)}, nil
}

// ignoredSignals do not end a guest: their default action is to be ignored.
var ignoredSignals = map[syscall.Signal]bool{syscall.SIGCHLD: true, syscall.SIGURG: true, syscall.SIGWINCH: true, syscall.SIGCONT: true}

func (s *service) Kill(ctx context.Context, r *taskAPI.KillRequest) (*ptypes.Empty, error) {
	t, err := s.get(r.ID, r.ExecID)
	if err != nil {
		return nil, err
	}
	sig := syscall.Signal(r.Signal)
	if sig == 0 || ignoredSignals[sig] {
		return &ptypes.Empty{}, nil
	}
	t.mu.Lock()
	switch t.status {
	case task.Status_STOPPED:
		t.mu.Unlock()
		return nil, errdefs.ToGRPCf(errdefs.ErrNotFound, "process already finished")
	case task.Status_CREATED:
		t.stop(128 + uint32(sig))
		t.mu.Unlock()
		s.sendExit(t)
		return &ptypes.Empty{}, nil
	}
	if t.killSig == 0 {
		t.killSig = sig
	}
	stdio := t.stdio
	t.mu.Unlock()
	// Cancelling ends a spinning guest and a sleeping one (ctxSleep); a guest
	// blocked on a fifo (reading stdin, writing a full stdout or stderr) is
	// not interrupted by the context: close them all so the call returns.
	t.cancel()
	for _, c := range stdio {
		c.Close()
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
		ID: t.id, Bundle: t.bundle, Pid: uint32(os.Getpid()), Status: t.status,
		Stdin: t.stdin, Stdout: t.stdout, Stderr: t.stderr,
		ExitStatus: t.exitStatus, ExitedAt: protobuf.ToTimestamp(t.exitedAt),
	}, nil
}

func (s *service) Pids(ctx context.Context, r *taskAPI.PidsRequest) (*taskAPI.PidsResponse, error) {
	if _, err := s.get(r.ID, ""); err != nil {
		return nil, err
	}
	return &taskAPI.PidsResponse{Processes: []*task.ProcessInfo{{Pid: uint32(os.Getpid())}}}, nil
}

func (s *service) Connect(ctx context.Context, r *taskAPI.ConnectRequest) (*taskAPI.ConnectResponse, error) {
	return &taskAPI.ConnectResponse{ShimPid: uint32(os.Getpid()), TaskPid: uint32(os.Getpid()), Version: Version}, nil
}

// CloseIO is a no-op: the guest sees EOF on stdin when the client closes its
// end of the fifo; closing our end here made reads fail with EBADF.
func (s *service) CloseIO(ctx context.Context, r *taskAPI.CloseIORequest) (*ptypes.Empty, error) {
	return &ptypes.Empty{}, nil
}

func (s *service) Shutdown(ctx context.Context, r *taskAPI.ShutdownRequest) (*ptypes.Empty, error) {
	s.mu.Lock()
	n := len(s.tasks)
	s.mu.Unlock()
	if n == 0 {
		s.sd.Shutdown()
	}
	return &ptypes.Empty{}, nil
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
func (s *service) Stats(context.Context, *taskAPI.StatsRequest) (*taskAPI.StatsResponse, error) {
	return nil, notImpl("stats")
}
