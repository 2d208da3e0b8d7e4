package main

// Pods. containerd's CRI runs a pod's sandbox ("pause") container with the
// pod's runtime handler, so this shim gets it like any other container,
// marked by the annotation io.kubernetes.cri.container-type=sandbox (the
// same key on containerd 1.6 and 2.x). The shim holds the sandbox as
// runwasi's shims do, without running the image: a holder process of its
// own (the shim re-executed with holderArg) sits in the pod's namespaces
// and cgroup until it is killed, and its pid is the task's, so the CRI
// writes /proc/<holder>/ns/{net,ipc,uts} into the specs of the pod's
// containers, whose guest processes join them (nsPlan).
//
// How a process gets its namespaces: in Go, setns changes the calling
// thread only, and the runtime runs goroutines on many threads. The shim
// starts a holder or guest from a goroutine locked to its OS thread
// (runtime.LockOSThread) that has joined the namespaces named by a path
// (setns); the kernel's clone gives the child the calling thread's
// namespaces, so the child never runs outside them, and the namespaces to
// create (CLONE_NEWIPC, CLONE_NEWUTS, ...) are clone flags of that same
// clone. That thread is the spawner's, locked for the shim's life (startIn
// says why: a child's parent-death signal follows the thread that forked
// it). It returns to the shim's own namespaces after each start; if it
// cannot, it parks for good and a new spawner thread takes over, so no
// other work ever runs in a pod's namespaces.
//
// PID namespaces are neither created nor joined: joining one affects only
// the caller's children and a wasm guest has none, and WASI gives a guest
// no way to see or signal a pid. Mount namespaces: every guest has its own
// (guest.go); cgroup and time namespaces are not acted on.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"

	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The CRI's annotations on a pod's containers (containerd 1.6 and 2.x,
// pkg/cri/annotations and internal/cri/annotations: the same keys).
const (
	// AnnotationContainerType is "sandbox" on a pod's sandbox container,
	// "container" on the others.
	AnnotationContainerType = "io.kubernetes.cri.container-type"
	// AnnotationSandboxID is the pod's sandbox id, on every container of
	// the pod (the sandbox's own id on the sandbox).
	AnnotationSandboxID = "io.kubernetes.cri.sandbox-id"
	// ContainerTypeSandbox is AnnotationContainerType's value on a sandbox.
	ContainerTypeSandbox = "sandbox"
)

// holderArg is the hidden first argument that makes the binary a sandbox
// holder. The container id follows it, then the hostname to set (empty:
// none).
const holderArg = "__wasicert-holder"

// isSandbox: spec is a pod's sandbox container.
func isSandbox(spec *specs.Spec) bool {
	return spec.Annotations[AnnotationContainerType] == ContainerTypeSandbox
}

// nsFlags are the namespaces the shim acts on, with their setns/clone flag
// and their name under /proc/<pid>/ns.
var nsFlags = map[specs.LinuxNamespaceType]struct {
	flag int
	name string
}{
	specs.NetworkNamespace: {unix.CLONE_NEWNET, "net"},
	specs.IPCNamespace:     {unix.CLONE_NEWIPC, "ipc"},
	specs.UTSNamespace:     {unix.CLONE_NEWUTS, "uts"},
}

// nsJoin is one namespace entered by path. Want, when set, is the
// namespace the path must name (a container of a pod: its sandbox
// holder's, pinSandbox); any other is refused.
type nsJoin struct {
	Type specs.LinuxNamespaceType
	Path string
	Want *nsIdent
}

// nsIdent is a namespace as the kernel identifies it: the device and inode
// of its nsfs file.
type nsIdent struct{ Dev, Ino uint64 }

func nsIdentAt(path string) (nsIdent, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nsIdent{}, err
	}
	return nsIdent{uint64(st.Dev), st.Ino}, nil
}

func nsIdentOf(f *os.File) (nsIdent, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return nsIdent{}, err
	}
	return nsIdent{uint64(st.Dev), st.Ino}, nil
}

// pinSandbox pins the namespaces a container of a pod joins to its
// sandbox's: the task named by the annotation io.kubernetes.cri.sandbox-id
// must be a sandbox this shim holds, its holder alive, every path in p
// must name the holder's namespace of that type (the CRI writes
// /proc/<holder>/ns/<type>), and every namespace the holder has of its own
// (not the shim's) must be joined. So a spec whose paths name the node's
// namespaces (/proc/1/ns/net), another pod's, or a pid the holder had
// before it died and another process has now, or whose sandbox-id names
// another pod, is refused (InvalidArgument) instead of joined. The paths
// are checked again on the opened file (startIn), so a path swapped in
// between changes nothing.
func (s *service) pinSandbox(sandboxID string, p *nsPlan) error {
	s.mu.Lock()
	sb := s.tasks[sandboxID]
	s.mu.Unlock()
	if sb == nil || !sb.sandbox {
		return errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: linux.namespaces: the pod's sandbox %q (annotation %s) is not held by this shim: a container of a pod joins only its sandbox's namespaces", sandboxID, AnnotationSandboxID)
	}
	sb.mu.Lock()
	cmd, status := sb.cmd, sb.status
	sb.mu.Unlock()
	if cmd == nil || cmd.Process == nil || status == task.Status_STOPPED {
		return errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "wazero shim: the pod's sandbox %q has ended", sandboxID)
	}
	pid := cmd.Process.Pid
	holder := map[specs.LinuxNamespaceType]nsIdent{}
	for typ, f := range nsFlags {
		id, err := nsIdentAt(fmt.Sprintf("/proc/%d/ns/%s", pid, f.name))
		if err != nil {
			return errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "wazero shim: the pod's sandbox %q: %v", sandboxID, err)
		}
		// Every thread but the spawner's is in the shim's namespaces.
		own, err := nsIdentAt("/proc/thread-self/ns/" + f.name)
		if err != nil {
			return err
		}
		if id != own {
			holder[typ] = id
		}
	}
	joined := map[specs.LinuxNamespaceType]bool{}
	for i := range p.Join {
		j := &p.Join[i]
		id, err := nsIdentAt(fmt.Sprintf("/proc/%d/ns/%s", pid, nsFlags[j.Type].name))
		if err != nil {
			return errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "wazero shim: the pod's sandbox %q: %v", sandboxID, err)
		}
		j.Want = &id
		joined[j.Type] = true
	}
	// A namespace of the pod's own that the spec does not join would leave
	// the guest in the shim's (the node's): refused too.
	for typ := range holder {
		if !joined[typ] {
			return errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: linux.namespaces: the pod's sandbox %q has its own %s namespace, which the container's spec does not join (a path /proc/<sandbox pid>/ns/%s): refused", sandboxID, typ, nsFlags[typ].name)
		}
	}
	// The holder is this shim's child: until it is reaped its pid is not
	// reused, and Signal fails once it is. Alive now, so the namespaces
	// read above were the holder's.
	if err := cmd.Process.Signal(syscall.Signal(0)); err != nil {
		return errdefs.ToGRPCf(errdefs.ErrFailedPrecondition, "wazero shim: the pod's sandbox %q has ended: %v", sandboxID, err)
	}
	return nil
}

// nsPlan is the namespaces a task's process starts in: Join are entered by
// path, Clone (CLONE_NEW* flags) are made new. Ignored are the spec's
// entries not acted on, for the log.
type nsPlan struct {
	Join    []nsJoin
	Clone   uintptr
	Ignored []string
}

// namespacePlan reads spec.linux.namespaces. An entry of type network, ipc
// or uts with a path is joined (a container of a pod: the sandbox's;
// a sandbox: the pod's network namespace the CRI made). Without a path, a
// sandbox gets a new one (its IPC and UTS namespaces; a network namespace
// too if one were asked for without a path); a container's guest stays in
// the shim's (a guest has no use for them, and a plain containerd
// container asks for new ones it cannot use). No network entry: a
// host-network pod. The weakened build joins none for containers.
func namespacePlan(spec *specs.Spec, sandbox bool) nsPlan {
	var p nsPlan
	if spec.Linux == nil {
		return p
	}
	for _, n := range spec.Linux.Namespaces {
		f, ok := nsFlags[n.Type]
		switch {
		case !ok:
			p.Ignored = append(p.Ignored, string(n.Type))
		case !sandbox && weakPods:
			p.Ignored = append(p.Ignored, string(n.Type)+" (weakened: not joined)")
		case n.Path != "":
			p.Join = append(p.Join, nsJoin{Type: n.Type, Path: n.Path})
		case sandbox:
			p.Clone |= uintptr(f.flag)
		default:
			p.Ignored = append(p.Ignored, string(n.Type)+" (new: moot for a guest)")
		}
	}
	return p
}

// startIn starts cmd in p's namespaces (see the top of this file): from an
// OS thread that has joined p.Join, with p.Clone added to its clone flags.
// A namespace that cannot be joined is an InvalidArgument error (gRPC).
//
// Every child is started on the spawner thread (spawner), never on one of
// the Go runtime's ordinary threads: the kernel sends a child its
// parent-death signal (Pdeathsig, and the PR_SET_PDEATHSIG the holder and
// the guest set themselves) when the THREAD that forked it exits, and the
// runtime ends a thread whenever a goroutine exits while locked to it, as
// containerd's own mount package does for a long overlay lowerdir
// (mount.mountAt). A guest or holder forked on such a thread would be
// killed with it.
func startIn(cmd *exec.Cmd, p nsPlan) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Cloneflags |= p.Clone
	spawnerOnce.Do(func() { go spawner() })
	r := spawnReq{cmd: cmd, p: p, errc: make(chan error, 1)}
	spawnCh <- r
	return <-r.errc
}

type spawnReq struct {
	cmd  *exec.Cmd
	p    nsPlan
	errc chan error
}

var (
	spawnCh     = make(chan spawnReq)
	spawnerOnce sync.Once
)

// spawner is the goroutine that starts every holder and guest, locked to
// its thread for good: the thread outlives every child it forks, so no
// child gets its parent-death signal before the shim itself ends. If the
// thread cannot return to the shim's namespaces after a start, it is
// stranded: a new spawner takes over, and the stranded one parks, still
// locked, so its thread (the parent of the children it forked) lives on and
// runs nothing else.
func spawner() {
	runtime.LockOSThread()
	for r := range spawnCh {
		back, err := spawnOne(r.cmd, r.p)
		r.errc <- err
		if !back {
			go spawner()
			select {}
		}
	}
}

// spawnOne starts cmd on the calling (locked) thread after joining p.Join,
// and returns the thread to the namespaces it had; back is false if it
// could not.
func spawnOne(cmd *exec.Cmd, p nsPlan) (back bool, err error) {
	back = true
	var undo []func() error
	restore := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			if undo[i]() != nil {
				back = false
			}
		}
	}
	for _, j := range p.Join {
		f := nsFlags[j.Type]
		self, err := os.Open("/proc/thread-self/ns/" + f.name)
		if err != nil {
			restore()
			return back, fmt.Errorf("%s namespace: %w", j.Type, err)
		}
		defer self.Close()
		target, err := os.Open(j.Path)
		if err != nil {
			restore()
			return back, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: linux.namespaces %s %s: %v", j.Type, j.Path, err)
		}
		if j.Want != nil {
			if id, err := nsIdentOf(target); err != nil || id != *j.Want {
				target.Close()
				restore()
				return back, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: linux.namespaces %s %s is not the pod's sandbox's %s namespace: refused", j.Type, j.Path, j.Type)
			}
		}
		// The flag makes the kernel check that the file is a
		// namespace of that type.
		err = unix.Setns(int(target.Fd()), f.flag)
		target.Close()
		if err != nil {
			restore()
			return back, errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: linux.namespaces: join %s namespace %s: %v", j.Type, j.Path, err)
		}
		undo = append(undo, func() error { return unix.Setns(int(self.Fd()), f.flag) })
	}
	err = cmd.Start()
	restore()
	return back, err
}

// holderMain is a sandbox's holder process: it sets the pod's hostname in
// its own UTS namespace, reports "ok" (or "error <message>") on fd 3, and
// waits until a signal ends it, as pause does: the signal's default action,
// so the task's status is 128+signal. It never returns.
func holderMain() {
	rep := os.NewFile(3, "report")
	fail := func(err error) {
		fmt.Fprintf(rep, "error %s\n", oneLine(err.Error()))
		os.Exit(1)
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0); err != nil {
		fail(fmt.Errorf("parent-death signal: %w", err))
	}
	ch := make(chan os.Signal, 8)
	signal.Notify(ch)
	if len(os.Args) > 3 && os.Args[3] != "" {
		if err := unix.Sethostname([]byte(os.Args[3])); err != nil {
			fail(fmt.Errorf("hostname %q: %w", os.Args[3], err))
		}
	}
	if _, err := io.WriteString(rep, "ok\n"); err != nil {
		os.Exit(1)
	}
	rep.Close()
	for s := range ch {
		sig, ok := s.(syscall.Signal)
		if !ok || ignoredSignals[sig] {
			continue
		}
		signal.Reset(sig)
		_ = syscall.Kill(os.Getpid(), sig)
	}
	os.Exit(1)
}

// holderCmd is the holder process for sandbox task id: the shim itself,
// re-executed, its stdio the task's, in its own process group, killed
// with the shim. hostname is set only in a UTS namespace of its own.
func holderCmd(id, hostname string, p nsPlan) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if p.Clone&unix.CLONE_NEWUTS == 0 {
		hostname = ""
	}
	if strings.ContainsRune(hostname, 0) {
		return nil, errors.New("hostname contains a NUL byte")
	}
	cmd := exec.Command(self, holderArg, id, hostname)
	cmd.Env = []string{}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	return cmd, nil
}

// startSandbox starts t's holder process (sandboxCmd) in the sandbox's
// namespaces, places it in t's cgroup and waits for its report.
func (s *service) startSandbox(t *wtask, spec *specs.Spec, ns nsPlan) error {
	cmd, err := sandboxCmd(t.id, spec, t.rootfs, ns)
	if err != nil {
		return errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: sandbox: %v", err)
	}
	var repR, repW *os.File
	if !weakPods {
		if repR, repW, err = os.Pipe(); err != nil {
			return err
		}
		defer repR.Close()
		cmd.ExtraFiles = []*os.File{repW}
	}
	t.io.set(cmd)
	err = startIn(cmd, ns)
	if repW != nil {
		repW.Close()
	}
	if errdefs.IsInvalidArgument(errdefs.FromGRPC(err)) {
		return err
	}
	if err != nil {
		return errdefs.ToGRPCf(errdefs.ErrUnknown, "wazero shim: start the sandbox's holder: %v", err)
	}
	if err := t.watch(cmd, "the sandbox's holder"); err != nil {
		return err
	}
	if repR == nil {
		return nil
	}
	// The holder only sets a hostname before it reports: no timeout.
	line, _ := bufio.NewReader(repR).ReadString('\n')
	line = strings.TrimSuffix(line, "\n")
	switch {
	case line == "ok":
		return nil
	case strings.HasPrefix(line, "error "):
		return errdefs.ToGRPCf(errdefs.ErrInvalidArgument, "wazero shim: sandbox: %s", strings.TrimPrefix(line, "error "))
	}
	return errdefs.ToGRPCf(errdefs.ErrUnknown, "wazero shim: the sandbox's holder ended before it was ready")
}
