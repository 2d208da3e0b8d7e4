package main

// The Docker side (-docker): the same two images through a private dockerd
// (ci/docker/start.sh) on the same containerd 2.2.9, as a user types it:
// docker run --rm --runtime=io.containerd.wazero.v1 --platform=wasi/wasm32
// WASM-IMAGE against docker run --rm BUSYBOX-IMAGE (the engine's default
// runtime: runc 1.3.7, registered by start.sh from DOCKERD_RUNC, since
// Debian's runc 1.1.5 fails under this dockerd).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd"
	apievents "github.com/containerd/containerd/api/events"
	"github.com/containerd/typeurl/v2"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/wasicert/wasicert/bench/internal/stats"
	"github.com/wasicert/wasicert/internal/ctrtest"
	"github.com/wasicert/wasicert/internal/ociimage"
	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasicert/wasicert/internal/repo"
	"github.com/wasicert/wasicert/runners/docker"
)

const (
	// dockerRuncVersion is the runc dockerd runs Linux containers with.
	dockerRuncVersion = "v1.3.7"
	// mobyNamespace is the containerd namespace start.sh gives dockerd.
	mobyNamespace = "wasicert-moby"
)

// EngineResult is the Docker engine on one containerd.
type EngineResult struct {
	Dockerd        string     `json:"dockerd_version"`
	API            string     `json:"api_version"`
	DefaultRuntime string     `json:"default_runtime"`
	Runc           string     `json:"runc"`
	RuncPath       string     `json:"runc_path"`
	Wasm           KindResult `json:"wasm"`
	Runc2          KindResult `json:"runc_container"`
	// MemoryMissed counts runs whose memory could not be read before the
	// engine deleted the task (their samples carry zeros and are left out
	// of the memory figures).
	MemoryMissed map[string]int `json:"memory_missed,omitempty"`
}

// ensureDockerRunc returns a runc binary this dockerd accepts:
// .tools/runc-<v>/runc, go-installed there (cgo, seccomp build tag, needs
// libseccomp-dev) when missing.
func ensureDockerRunc(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	root, ok := repo.Root()
	if !ok {
		return "", errors.New("cannot find the repository root for .tools; pass -docker-runc")
	}
	dir := filepath.Join(root, ".tools", "runc-"+strings.TrimPrefix(dockerRuncVersion, "v"))
	bin := filepath.Join(dir, "runc")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "installing runc %s into %s (go install, cgo + seccomp)\n", dockerRuncVersion, dir)
	cmd := exec.Command("go", "install", "-tags", "seccomp", "github.com/opencontainers/runc@"+dockerRuncVersion)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=1")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install runc %s (needs gcc and libseccomp-dev): %w", dockerRuncVersion, err)
	}
	return bin, nil
}

// dockerScript is ci/docker/NAME.
func dockerScript(name string) string {
	root, _ := repo.Root()
	return filepath.Join(root, "ci", "docker", name)
}

// benchDocker starts a private dockerd on containerd d, loads both images
// with docker load, runs them interleaved with docker run --rm and stops
// the engine, failing on anything it left behind.
func benchDocker(ctx context.Context, c config, d *ctrtest.Daemon, specs []imageSpec) (_ *EngineResult, retErr error) {
	runc, err := ensureDockerRunc(c.dockerRunc)
	if err != nil {
		return nil, err
	}
	drun, err := os.MkdirTemp("/tmp", "wdk.")
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "starting dockerd on containerd %s (runc %s) ...\n", d.Server, runc)
	start := exec.Command(dockerScript("start.sh"), drun, d.Address)
	start.Env = append(os.Environ(), "DOCKERD_RUNC="+runc)
	var serr bytes.Buffer
	start.Stderr = &serr
	out, err := start.Output()
	stopEngine := func() error {
		if out, err := exec.Command(dockerScript("stop.sh"), drun).CombinedOutput(); err != nil {
			return fmt.Errorf("stop dockerd (something left behind?): %v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err != nil {
		return nil, errors.Join(fmt.Errorf("start dockerd: %v: %s", err, strings.TrimSpace(serr.String())), stopEngine())
	}
	defer func() { retErr = errors.Join(retErr, stopEngine()) }()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	host := lines[len(lines)-1]
	parentB, err := os.ReadFile(filepath.Join(drun, "cgroup-parent"))
	if err != nil {
		return nil, err
	}
	parent := strings.TrimSpace(string(parentB))

	eng, err := docker.New(docker.Options{Host: host, Runtime: wasmRuntime})
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	cli := eng.Client()
	info, err := cli.Info(ctx, client.InfoOptions{})
	if err != nil {
		return nil, err
	}
	ver, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return nil, err
	}
	// A go-installed dockerd reports "library-import": start.sh records
	// the version it installed.
	dv := ver.Version
	if b, err := os.ReadFile(filepath.Join(drun, "version")); err == nil {
		dv, _, _ = strings.Cut(strings.TrimSpace(string(b)), " ")
	}
	res := &EngineResult{Dockerd: dv, API: ver.APIVersion, DefaultRuntime: info.Info.DefaultRuntime,
		Runc: firstLine(cmdOut(runc, "--version")), RuncPath: runc, MemoryMissed: map[string]int{}}

	// Both images, loaded as docker load does (no registry).
	kinds := make([]*dkind, len(specs))
	for i, s := range specs {
		k := &dkind{spec: s}
		if s.kind == "wasm" {
			k.runtime = wasmRuntime // docker run --runtime=io.containerd.wazero.v1
		} // else: the engine's default (wasicert-runc)
		layout, _, err := ociimage.Build(s.opts)
		if err != nil {
			return nil, err
		}
		if err := eng.LoadImage(ctx, layout, s.name); err != nil {
			return nil, err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if _, err := cli.ImageRemove(cctx, s.name, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil {
				retErr = errors.Join(retErr, fmt.Errorf("docker: image %s left behind: %w", s.name, err))
			}
		}()
		insp, err := cli.ImageInspect(ctx, s.name)
		if err != nil {
			return nil, err
		}
		k.engineSize = insp.Size
		kinds[i] = k
	}

	// Memory: dockerd deletes the task (and with it the shim and the
	// container's cgroup) as soon as the exit event reaches it, so the
	// figures are read when the same event reaches us: the shim found and
	// its status file and the cgroup's peak file opened at /tasks/create,
	// read at /tasks/exit.
	ccli, err := containerd.New(d.Address, containerd.WithDefaultNamespace(mobyNamespace), containerd.WithTimeout(10*time.Second))
	if err != nil {
		return nil, err
	}
	defer ccli.Close()
	w := &memWatch{parent: parent, byID: map[string]*memProbe{}}
	sctx, cancelSub := context.WithCancel(ctx)
	defer cancelSub()
	evs, errs := ccli.Subscribe(sctx, `namespace==`+mobyNamespace+`,topic=="/tasks/create"`, `namespace==`+mobyNamespace+`,topic=="/tasks/exit"`)
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		for {
			select {
			case e := <-evs:
				if e == nil {
					return
				}
				v, err := typeurl.UnmarshalAny(e.Event)
				if err != nil {
					continue
				}
				switch ev := v.(type) {
				case *apievents.TaskCreate:
					w.created(ev.ContainerID, int(ev.Pid))
				case *apievents.TaskExit:
					if ev.ID == ev.ContainerID {
						w.exited(ev.ContainerID)
					}
				}
			case <-errs:
				return
			case <-sctx.Done():
				return
			}
		}
	}()
	defer func() { cancelSub(); <-subDone }()

	seq := 0
	one := func(k *dkind) (Sample, error) {
		seq++
		s, err := runDocker(ctx, cli, w, k, fmt.Sprintf("bench-docker-%s-%03d", k.spec.kind, seq), c.timeout)
		if err != nil {
			return s, fmt.Errorf("docker %s run %d: %w", k.spec.kind, seq, err)
		}
		if s.ShimPeak == 0 {
			res.MemoryMissed[k.spec.kind]++
		}
		return s, nil
	}
	fmt.Fprintf(os.Stderr, "dockerd %s: %d warm-up + %d measured docker runs of each kind, interleaved\n", ver.Version, c.warmup, c.runs)
	for i := 0; i < c.warmup; i++ {
		for _, k := range kinds {
			s, err := one(k)
			if err != nil {
				return nil, err
			}
			if i == 0 {
				k.first = s
			}
		}
	}
	clear(res.MemoryMissed)
	for i := 0; i < c.runs; i++ {
		for _, k := range kinds {
			s, err := one(k)
			if err != nil {
				return nil, err
			}
			k.samples = append(k.samples, s)
		}
		fmt.Fprintf(os.Stderr, "  docker run %2d: wasm %6.1f ms, runc %6.1f ms\n", i+1, stats.Ms(kinds[0].samples[i].Total), stats.Ms(kinds[1].samples[i].Total))
	}
	res.Wasm = kinds[0].result(c.warmup > 0)
	res.Runc2 = kinds[1].result(c.warmup > 0)
	// Left behind: containers the engine still lists.
	left, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true})
	if err != nil {
		return nil, err
	}
	if len(left.Items) > 0 {
		return nil, fmt.Errorf("docker: %d container(s) left behind after docker run --rm", len(left.Items))
	}
	return res, nil
}

type dkind struct {
	spec       imageSpec
	runtime    string // HostConfig.Runtime; "" = the engine's default
	engineSize int64
	first      Sample
	samples    []Sample
	shimExe    string
}

func (k *dkind) result(haveFirst bool) KindResult {
	rt := k.runtime
	if rt == "" {
		rt = "(engine default)"
	}
	ep := k.spec.opts.Entrypoint
	if ep == nil {
		ep = []string{k.spec.opts.Path}
	}
	r := KindResult{
		Runtime:     rt,
		Image:       k.spec.name,
		Platform:    k.spec.platform.OS + "/" + k.spec.platform.Architecture,
		Entrypoint:  ep,
		Size:        ImageSize{Stored: k.engineSize},
		ShimBinary:  k.shimExe,
		ColdStartMS: durStats(k.samples, func(s Sample) time.Duration { return s.Total }),
		ToExitMS:    durStats(k.samples, func(s Sample) time.Duration { return s.ToExit }),
		PhasesMS: map[string]Stats{
			"create":      durStats(k.samples, func(s Sample) time.Duration { return s.Create }),
			"start":       durStats(k.samples, func(s Sample) time.Duration { return s.Start }),
			"run_to_exit": durStats(k.samples, func(s Sample) time.Duration { return s.Exit }),
			"remove":      durStats(k.samples, func(s Sample) time.Duration { return s.DeleteCtr }),
		},
		Samples: k.samples,
	}
	var mem []Sample
	for _, s := range k.samples {
		if s.ShimPeak > 0 {
			mem = append(mem, s)
		}
	}
	if len(mem) > 0 {
		r.ShimPeak = byteStats(mem, func(s Sample) int64 { return s.ShimPeak })
		cg := byteStats(mem, func(s Sample) int64 { return s.CgroupPeak })
		r.CgroupPeak = &cg
		r.TotalPeak = byteStats(mem, func(s Sample) int64 { return s.ShimPeak + s.CgroupPeak })
	}
	if haveFirst {
		f := k.first
		r.First = &f
	}
	if r.ShimBinary != "" {
		r.ShimBinarySize = fileSize(r.ShimBinary)
	}
	return r
}

// runDocker is docker run --rm IMAGE as the CLI does it: create (with
// AutoRemove), attach, wait for "removed", start; the output must be
// "hello\n" and the status 0. Cold start is create .. removed.
func runDocker(ctx context.Context, cli *client.Client, w *memWatch, k *dkind, name string, timeout time.Duration) (s Sample, retErr error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	plat := k.spec.platform
	opts := client.ContainerCreateOptions{
		Name:       name,
		Config:     &container.Config{Image: k.spec.name, AttachStdout: true, AttachStderr: true},
		HostConfig: &container.HostConfig{Runtime: k.runtime, AutoRemove: true},
		Platform:   &plat,
	}
	t0 := time.Now()
	created, err := cli.ContainerCreate(ctx, opts)
	if err != nil {
		return s, fmt.Errorf("create: %w", err)
	}
	id := created.ID
	p := w.expect(id)
	removed := false
	defer func() {
		w.forget(id)
		if removed {
			return
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := cli.ContainerRemove(cctx, id, client.ContainerRemoveOptions{Force: true}); err != nil && !isGone(err) {
			retErr = errors.Join(retErr, fmt.Errorf("container %s left behind: %w", id, err))
		}
	}()
	t1 := time.Now()
	att, err := cli.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdout: true, Stderr: true})
	if err != nil {
		return s, fmt.Errorf("attach: %w", err)
	}
	defer att.Close()
	var stdout, stderr bytes.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = stdcopy.StdCopy(&stdout, &stderr, att.Reader)
	}()
	wait := cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionRemoved})
	if _, err := cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return s, fmt.Errorf("start (%s): %w", k.runtime, err)
	}
	t2 := time.Now()
	var code int64
	select {
	case r := <-wait.Result:
		code = r.StatusCode
		if r.Error != nil && r.Error.Message != "" {
			return s, fmt.Errorf("wait: %s", r.Error.Message)
		}
	case err := <-wait.Error:
		return s, fmt.Errorf("wait: %w", err)
	case <-ctx.Done():
		return s, ctx.Err()
	}
	t3 := time.Now()
	removed = true
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
		return s, errors.New("the attach stream did not end")
	}
	if code != 0 {
		return s, fmt.Errorf("exit status %d (stderr %q)", code, stderr.String())
	}
	if got := stdout.String(); got != wantOutput {
		return s, fmt.Errorf("stdout %q, want %q (stderr %q)", got, wantOutput, stderr.String())
	}
	// The exit event reached us before dockerd removed the container
	// (it deletes the task on that event); wait briefly for its reading.
	var m memReading
	select {
	case m = <-p.done:
	case <-time.After(2 * time.Second):
	}
	s.Create = t1.Sub(t0)
	s.Start = t2.Sub(t1)
	s.Total = t3.Sub(t0)
	if !m.exitAt.IsZero() && m.exitAt.After(t2) {
		s.Exit = m.exitAt.Sub(t2)
		s.ToExit = m.exitAt.Sub(t0)
		s.DeleteCtr = t3.Sub(m.exitAt)
	} else if !m.exitAt.IsZero() {
		s.ToExit = m.exitAt.Sub(t0)
		s.DeleteCtr = t3.Sub(m.exitAt)
	}
	s.ShimPeak, s.CgroupPeak, s.CgroupFile = m.shimPeak, m.cgroupPeak, m.cgroupFile
	if m.shimExe != "" {
		k.shimExe = m.shimExe
	}
	return s, nil
}

func isGone(err error) bool {
	return strings.Contains(err.Error(), "No such container") || strings.Contains(strings.ToLower(err.Error()), "not found") ||
		strings.Contains(err.Error(), "already in progress")
}

// memWatch reads each container's peak memory from containerd's task
// events.
type memWatch struct {
	parent string // dockerd's --cgroup-parent
	mu     sync.Mutex
	byID   map[string]*memProbe
}

type memProbe struct {
	status, cgroup *os.File
	reading        memReading
	done           chan memReading
	sent           bool
}

type memReading struct {
	exitAt               time.Time
	shimPeak, cgroupPeak int64
	cgroupFile, shimExe  string
}

func (w *memWatch) expect(id string) *memProbe {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := &memProbe{done: make(chan memReading, 1)}
	w.byID[id] = p
	return p
}

func (w *memWatch) forget(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p := w.byID[id]; p != nil {
		p.close()
		delete(w.byID, id)
	}
}

func (p *memProbe) close() {
	for _, f := range []*os.File{p.status, p.cgroup} {
		if f != nil {
			f.Close()
		}
	}
	p.status, p.cgroup = nil, nil
}

// created opens the shim's /proc status and the container cgroup's peak
// file: the task's pid is the container's first process (runc init, or our
// shim's guest process); the shim is it or its nearest ancestor whose
// command line is "containerd-shim-* ... -id ID" without an action.
func (w *memWatch) created(id string, pid int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.byID[id]
	if p == nil {
		return
	}
	for cand, hops := pid, 0; cand > 1 && hops < 4; hops++ {
		if isShimOf(cand, id) {
			if f, err := os.Open(fmt.Sprintf("/proc/%d/status", cand)); err == nil {
				p.status = f
				p.reading.shimExe, _ = os.Readlink(fmt.Sprintf("/proc/%d/exe", cand))
			}
			break
		}
		cand = process.Parent(cand)
	}
	p.openCgroup(w.parent, id)
}

func (p *memProbe) openCgroup(parent, id string) {
	if p.cgroup != nil {
		return
	}
	cg := filepath.Join("/", parent, id)
	var candidates []string
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		candidates = append(candidates, filepath.Join("/sys/fs/cgroup", cg, "memory.peak"))
	}
	candidates = append(candidates, filepath.Join("/sys/fs/cgroup/memory", cg, "memory.max_usage_in_bytes"))
	for _, c := range candidates {
		if f, err := os.Open(c); err == nil {
			p.cgroup, p.reading.cgroupFile = f, c
			return
		}
	}
}

// exited reads both files through the descriptors opened at create.
func (w *memWatch) exited(id string) {
	at := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.byID[id]
	if p == nil || p.sent {
		return
	}
	p.reading.exitAt = at
	p.openCgroup(w.parent, id)
	if p.status != nil {
		if b, err := readAt(p.status); err == nil {
			p.reading.shimPeak = parseVmHWM(b)
		}
	}
	if p.cgroup != nil {
		if b, err := readAt(p.cgroup); err == nil {
			p.reading.cgroupPeak, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		}
	}
	p.close()
	p.sent = true
	p.done <- p.reading
}

func readAt(f *os.File) ([]byte, error) {
	buf := make([]byte, 8192)
	n, err := f.ReadAt(buf, 0)
	if n > 0 {
		return buf[:n], nil
	}
	return nil, err
}

func parseVmHWM(status []byte) int64 {
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func isShimOf(pid int, id string) bool {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(raw) == 0 {
		return false
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	if !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
		return false
	}
	i := slices.Index(args, "-id")
	return i >= 0 && i+1 < len(args) && args[i+1] == id && !slices.Contains(args, "start") && !slices.Contains(args, "delete")
}
