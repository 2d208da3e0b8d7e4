// Command bench compares, on one private containerd, the same tiny task run
// as a wasm container through our shim (io.containerd.wazero.v1) and as a
// Linux container through runc (io.containerd.runc.v2, a static busybox from
// Debian's busybox-static in a locally built FROM-scratch image). Both print
// "hello\n" and exit 0.
//
// It reports image size, cold start (create container + create task + start
// + wait for exit + delete task + delete container and snapshot, a fresh
// container every run, the image already imported and unpacked) as median and
// p90 over -runs runs interleaved wasm/runc, and peak memory (VmHWM of the
// shim process; for runc also the container cgroup's peak usage).
//
// See docs/bench-containers.md for the method and the caveats.
//
//	go run ./bench/containers -runs 25 -out out/bench-containers.md
//
// Needs root (a private containerd, started and stopped with
// ci/containerd/start.sh and stop.sh through ctrtest).
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/platforms"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/wasicert/wasicert/bench/internal/stats"
	"github.com/wasicert/wasicert/internal/ctrtest"
	"github.com/wasicert/wasicert/internal/ociimage"
	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasicert/wasicert/reports"
)

//go:embed testdata/hello.wasm
var helloWasm []byte

const (
	namespace   = "wasicert-bench"
	wasmRuntime = "io.containerd.wazero.v1"
	runcRuntime = "io.containerd.runc.v2"
	wasmImage   = "wasicert.local/bench/hello-wasm:latest"
	linuxImage  = "wasicert.local/bench/hello-busybox:latest"
	wantOutput  = "hello\n"
	// runcShimVersion is the containerd-shim-runc-v2 installed for
	// containerd 2.x (the one on PATH otherwise is Debian's 1.6 shim).
	runcShimVersion = "v2.2.9"
)

var linuxPlatform = ocispec.Platform{OS: "linux", Architecture: "amd64"}

type config struct {
	runs        int
	warmup      int
	versions    []string
	out         string
	jsonOut     string
	snapshotter string
	wasmPath    string
	busybox     string
	runcShimDir string
	timeout     time.Duration
	docker      bool
	dockerRunc  string
}

func main() {
	var c config
	var versions string
	flag.IntVar(&c.runs, "runs", 25, "measured runs of each kind (at least 20), interleaved wasm, runc, wasm, runc, ...")
	flag.IntVar(&c.warmup, "warmup", 1, "unmeasured runs of each kind first (reported separately as the first run)")
	flag.StringVar(&versions, "containerd", "2", "containerd versions to start, comma separated: 2 (2.2.9, go-installed by start.sh) and/or 1.6 (Debian)")
	flag.StringVar(&c.out, "out", "out/bench-containers.md", "Markdown report (written atomically; also printed to stdout)")
	flag.StringVar(&c.jsonOut, "json", "", "JSON report (default: -out with .json)")
	flag.StringVar(&c.snapshotter, "snapshotter", "overlayfs", "snapshotter for both kinds (overlayfs or native)")
	flag.StringVar(&c.wasmPath, "wasm", "", "wasm module to run instead of the embedded hello.wasm (must print \"hello\\n\" and exit 0)")
	flag.StringVar(&c.busybox, "busybox", "/bin/busybox", "static busybox binary (Debian package busybox-static)")
	flag.StringVar(&c.runcShimDir, "runc-shim-dir", "", "dir holding containerd-shim-runc-v2 "+runcShimVersion+" for containerd 2 (default: <XDG cache>/wasicert/runc-shim-"+runcShimVersion+", go-installed when missing)")
	flag.DurationVar(&c.timeout, "timeout", 60*time.Second, "limit for one run")
	flag.BoolVar(&c.docker, "docker", false, "also run both images with docker run through a private dockerd (ci/docker/start.sh) on containerd 2")
	flag.StringVar(&c.dockerRunc, "docker-runc", "", "runc for dockerd's Linux containers (default: .tools/runc-"+strings.TrimPrefix(dockerRuncVersion, "v")+"/runc, go-installed when missing)")
	flag.Parse()
	c.versions = strings.Split(versions, ",")
	if c.jsonOut == "" {
		c.jsonOut = strings.TrimSuffix(c.out, filepath.Ext(c.out)) + ".json"
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench-containers:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	if c.runs < 20 {
		return fmt.Errorf("-runs %d: at least 20", c.runs)
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root (it starts a private containerd and runc containers)")
	}
	for _, v := range c.versions {
		if v != "2" && v != "1.6" {
			return fmt.Errorf("-containerd %q: want 2 or 1.6", v)
		}
	}
	wasm := helloWasm
	if c.wasmPath != "" {
		b, err := os.ReadFile(c.wasmPath)
		if err != nil {
			return err
		}
		wasm = b
	}
	if err := checkStatic(c.busybox); err != nil {
		return err
	}
	bb, err := os.ReadFile(c.busybox)
	if err != nil {
		return err
	}
	runcPath, err := exec.LookPath("runc")
	if err != nil {
		return errors.New("runc is not on PATH (apt-get install -y runc)")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	rep := Report{
		Date:      time.Now().UTC().Format(time.RFC3339),
		Machine:   machine(),
		Runs:      c.runs,
		Warmup:    c.warmup,
		Snapshot:  c.snapshotter,
		Task:      `print "hello\n" to stdout, exit 0`,
		RuncPath:  runcPath,
		Runc:      firstLine(cmdOut(runcPath, "--version")),
		Busybox:   busyboxVersion(c.busybox),
		GoVersion: runtime.Version(),
	}
	for _, v := range c.versions {
		r, err := benchDaemon(ctx, c, v, wasm, bb)
		if err != nil {
			return fmt.Errorf("containerd %s: %w", v, err)
		}
		rep.Daemons = append(rep.Daemons, r)
	}
	md := rep.Markdown()
	fmt.Print(md)
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	for _, p := range []string{c.out, c.jsonOut} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
	}
	if err := reports.WriteFileAtomic(c.out, []byte(md)); err != nil {
		return err
	}
	if err := reports.WriteFileAtomic(c.jsonOut, append(js, '\n')); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s and %s\n", c.out, c.jsonOut)
	return nil
}

// benchDaemon starts containerd version v, imports both images, runs the
// interleaved benchmark and tears everything down (also on error or signal).
func benchDaemon(ctx context.Context, c config, v string, wasm, bb []byte) (_ DaemonResult, retErr error) {
	res := DaemonResult{Asked: v}
	if v == "2" {
		dir, err := ensureRuncShim(c.runcShimDir)
		if err != nil {
			return res, err
		}
		// start.sh exports PATH="$RUN/bin:$PATH" to containerd, which
		// passes it to the shims: our dir first, so containerd 2.2.9 runs
		// the 2.2.9 runc shim, not Debian's 1.6 one from /usr/bin.
		old := os.Getenv("PATH")
		os.Setenv("PATH", dir+string(os.PathListSeparator)+old)
		defer os.Setenv("PATH", old)
	}
	// runc makes a parent cgroup per containerd namespace in every
	// hierarchy and never removes it: remove the empty ones this run made,
	// after the daemon stopped (deferred first, so it runs last).
	cgBefore := nsCgroups()
	defer func() {
		for _, dir := range nsCgroups() {
			if !slices.Contains(cgBefore, dir) {
				if err := os.Remove(dir); err != nil {
					retErr = errors.Join(retErr, fmt.Errorf("remove cgroup %s: %w", dir, err))
				}
			}
		}
	}()
	fmt.Fprintf(os.Stderr, "starting containerd %s ...\n", v)
	d, err := ctrtest.Start(v, "")
	if err != nil {
		return res, err
	}
	defer func() {
		if err := d.Stop(); err != nil {
			retErr = errors.Join(retErr, err)
		}
	}()
	res.Server = d.Server
	shimBin := filepath.Join(d.RunDir, "bin", "containerd-shim-wazero-v1")

	client, err := containerd.New(d.Address, containerd.WithDefaultNamespace(namespace), containerd.WithTimeout(10*time.Second))
	if err != nil {
		return res, err
	}
	defer client.Close()
	ctx = namespaces.WithNamespace(ctx, namespace)
	fifoDir := filepath.Join(d.RunDir, "bench-fifo")
	if err := os.MkdirAll(fifoDir, 0o700); err != nil {
		return res, err
	}

	// Images: the same builder (ociimage, image-spec types, one uncompressed
	// layer, FROM scratch) for both; only payload, entrypoint and platform differ.
	wasmSpec := imageSpec{
		kind: "wasm", name: wasmImage, runtime: wasmRuntime, platform: ociimage.Platform,
		opts: ociimage.Options{Name: wasmImage, Module: wasm, Path: "/hello.wasm"},
	}
	linuxSpec := imageSpec{
		kind: "runc", name: linuxImage, runtime: runcRuntime, platform: linuxPlatform,
		opts: ociimage.Options{Name: linuxImage, Module: bb, Path: "/bin/busybox",
			Entrypoint: []string{"/bin/busybox", "echo", "hello"}, Platform: &linuxPlatform},
	}
	kinds := []*kind{{spec: wasmSpec}, {spec: linuxSpec}}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
		defer cancel()
		for _, k := range kinds {
			if err := client.ImageService().Delete(cctx, k.spec.name, images.SynchronousDelete()); err != nil && !errdefs.IsNotFound(err) {
				retErr = errors.Join(retErr, fmt.Errorf("delete image %s: %w", k.spec.name, err))
			}
		}
	}()
	for _, k := range kinds {
		if err := k.importImage(ctx, client, c.snapshotter); err != nil {
			return res, err
		}
	}

	b := bencher{client: client, snapshotter: c.snapshotter, fifoDir: fifoDir, stateDir: filepath.Join(d.RunDir, "state"), timeout: c.timeout}
	seq := 0
	one := func(k *kind) (Sample, error) {
		seq++
		s, err := b.runOnce(ctx, k, fmt.Sprintf("bench-%s-%03d", k.spec.kind, seq))
		if err != nil {
			return s, fmt.Errorf("%s run %d: %w", k.spec.kind, seq, err)
		}
		return s, nil
	}
	fmt.Fprintf(os.Stderr, "containerd %s: %d warm-up + %d measured runs of each kind, interleaved\n", d.Server, c.warmup, c.runs)
	for i := 0; i < c.warmup; i++ {
		for _, k := range kinds {
			s, err := one(k)
			if err != nil {
				return res, err
			}
			if i == 0 {
				k.first = s
			}
		}
	}
	for i := 0; i < c.runs; i++ {
		for _, k := range kinds {
			s, err := one(k)
			if err != nil {
				return res, err
			}
			k.samples = append(k.samples, s)
		}
		fmt.Fprintf(os.Stderr, "  run %2d: wasm %6.1f ms, runc %6.1f ms\n", i+1, stats.Ms(kinds[0].samples[i].Total), stats.Ms(kinds[1].samples[i].Total))
	}

	res.Wasm = kinds[0].result(c.warmup > 0)
	res.Runc = kinds[1].result(c.warmup > 0)
	res.Wasm.ShimBinary, res.Wasm.ShimBinarySize = shimBin, fileSize(shimBin)
	res.Runc.ShimBinary, res.Runc.ShimBinarySize = kinds[1].shimExe, fileSize(kinds[1].shimExe)
	if kinds[0].shimExe != "" {
		res.Wasm.ShimBinary = kinds[0].shimExe
	}
	res.RuncShimVersion = shimVersion(kinds[1].shimExe)
	res.WasmShimVersion = shimVersion(shimBin)
	if c.docker && v == "2" {
		res.Docker, err = benchDocker(ctx, c, d, []imageSpec{wasmSpec, linuxSpec})
		if err != nil {
			return res, fmt.Errorf("docker: %w", err)
		}
	}
	return res, nil
}

type imageSpec struct {
	kind, name, runtime string
	platform            ocispec.Platform
	opts                ociimage.Options
}

type kind struct {
	spec    imageSpec
	img     containerd.Image
	size    ImageSize
	first   Sample
	samples []Sample
	shimExe string
}

// importImage builds the layout tarball, imports it with the Go client,
// unpacks it and records its sizes.
func (k *kind) importImage(ctx context.Context, client *containerd.Client, snapshotter string) error {
	layout, mdesc, err := ociimage.Build(k.spec.opts)
	if err != nil {
		return err
	}
	layer, err := ociimage.Layer(k.spec.opts)
	if err != nil {
		return err
	}
	imgs, err := client.Import(ctx, bytes.NewReader(layout), containerd.WithAllPlatforms(true),
		containerd.WithImageRefTranslator(func(string) string { return k.spec.name }))
	if err != nil {
		return fmt.Errorf("import %s: %w", k.spec.name, err)
	}
	var found *images.Image
	for i := range imgs {
		if imgs[i].Name == k.spec.name {
			found = &imgs[i]
		}
	}
	if found == nil {
		return fmt.Errorf("import %s: no image of that name in the layout", k.spec.name)
	}
	k.img = containerd.NewImageWithPlatform(client, *found, platforms.Only(k.spec.platform))
	if err := k.img.Unpack(ctx, snapshotter); err != nil {
		return fmt.Errorf("unpack %s: %w", k.spec.name, err)
	}

	cs := client.ContentStore()
	man, err := images.Manifest(ctx, cs, found.Target, platforms.Only(k.spec.platform))
	if err != nil {
		return err
	}
	blobSize := func(d ocispec.Descriptor) (int64, error) {
		info, err := cs.Info(ctx, d.Digest)
		return info.Size, err
	}
	s := ImageSize{Manifest: mdesc.Size, Config: man.Config.Size}
	if n, err := blobSize(mdesc); err == nil {
		s.Stored += n
	} else {
		return err
	}
	if n, err := blobSize(man.Config); err == nil {
		s.Stored += n
	} else {
		return err
	}
	for _, l := range man.Layers {
		n, err := blobSize(l)
		if err != nil {
			return err
		}
		s.Stored += n
		s.LayerTar += l.Size
	}
	gz, err := gzipSize(layer)
	if err != nil {
		return err
	}
	s.LayerGzip = gz
	s.Compressed = gz + s.Config + s.Manifest
	s.Files, err = tarFileBytes(layer)
	if err != nil {
		return err
	}
	diffIDs, err := k.img.RootFS(ctx)
	if err != nil {
		return err
	}
	u, err := client.SnapshotService(snapshotter).Usage(ctx, identity.ChainID(diffIDs).String())
	if err != nil {
		return fmt.Errorf("snapshot usage of %s: %w", k.spec.name, err)
	}
	s.SnapshotDisk = u.Size
	k.size = s
	return nil
}

type bencher struct {
	client      *containerd.Client
	snapshotter string
	fifoDir     string
	stateDir    string
	timeout     time.Duration
}

// runOnce creates a fresh container from the imported image, runs it to its
// exit, reads the peak memory figures while the (exited) task still exists,
// and deletes task, container and snapshot. The memory reading is not timed.
func (b *bencher) runOnce(ctx context.Context, k *kind, id string) (s Sample, retErr error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	cleanupCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	}
	var stdout, stderr bytes.Buffer
	var container containerd.Container
	var task containerd.Task
	defer func() { // on failure only: leave nothing behind
		if retErr == nil {
			return
		}
		cctx, cancel := cleanupCtx()
		defer cancel()
		if task != nil {
			_, _ = task.Delete(cctx, containerd.WithProcessKill)
		}
		if container != nil {
			_ = container.Delete(cctx, containerd.WithSnapshotCleanup)
		} else {
			_ = b.client.SnapshotService(b.snapshotter).Remove(cctx, id)
		}
	}()

	t0 := time.Now()
	container, err := b.client.NewContainer(ctx, id,
		containerd.WithImage(k.img),
		containerd.WithSnapshotter(b.snapshotter),
		containerd.WithNewSnapshot(id, k.img),
		containerd.WithRuntime(k.spec.runtime, nil),
		containerd.WithNewSpec(oci.WithImageConfig(k.img)),
	)
	if err != nil {
		container = nil
		return s, fmt.Errorf("create container: %w", err)
	}
	t1 := time.Now()
	task, err = container.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, &stdout, &stderr), cio.WithFIFODir(b.fifoDir)))
	if err != nil {
		task = nil
		return s, fmt.Errorf("create task (%s): %w", k.spec.runtime, err)
	}
	t2 := time.Now()
	exitCh, err := task.Wait(ctx)
	if err != nil {
		return s, fmt.Errorf("wait: %w", err)
	}
	if err := task.Start(ctx); err != nil {
		return s, fmt.Errorf("start task: %w", err)
	}
	t3 := time.Now()
	var st containerd.ExitStatus
	select {
	case st = <-exitCh:
	case <-ctx.Done():
		return s, ctx.Err()
	}
	t4 := time.Now()

	// Untimed: peak memory while the exited task (and so its shim and,
	// for runc, its cgroup) still exists.
	code, _, err := st.Result()
	if err != nil {
		return s, err
	}
	if code != 0 {
		return s, fmt.Errorf("exit status %d (stderr %q)", code, stderr.String())
	}
	shimPid, exe, err := findShim(b.stateDir, id)
	if err != nil {
		return s, err
	}
	k.shimExe = exe
	if s.ShimPeak, err = vmHWM(shimPid); err != nil {
		return s, err
	}
	// Both put the container's processes in its cgroup (our shim runs the
	// guest as a process of its own there): its peak is the container's.
	{
		spec, err := container.Spec(ctx)
		if err != nil {
			return s, err
		}
		if spec.Linux == nil || spec.Linux.CgroupsPath == "" {
			return s, errors.New("container spec has no cgroupsPath")
		}
		s.CgroupPeak, s.CgroupFile, err = cgroupPeak(spec.Linux.CgroupsPath)
		if err != nil {
			return s, err
		}
	}

	t5 := time.Now()
	if _, err := task.Delete(ctx); err != nil {
		return s, fmt.Errorf("delete task: %w", err)
	}
	task = nil
	t6 := time.Now()
	if err := container.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
		return s, fmt.Errorf("delete container: %w", err)
	}
	container = nil
	t7 := time.Now()
	if got := stdout.String(); got != wantOutput {
		return s, fmt.Errorf("stdout %q, want %q (stderr %q)", got, wantOutput, stderr.String())
	}
	s.Create = t1.Sub(t0)
	s.NewTask = t2.Sub(t1)
	s.Start = t3.Sub(t2)
	s.Exit = t4.Sub(t3)
	s.DeleteTask = t6.Sub(t5)
	s.DeleteCtr = t7.Sub(t6)
	s.ToExit = t4.Sub(t0)
	s.Total = s.ToExit + t7.Sub(t5)
	return s, nil
}

// findShim returns the pid and executable of the long-lived shim serving
// container id: the bundle's shim.pid when the shim writes one (runc), else
// the process whose command line is "<containerd-shim-*> ... -id <id> ..."
// without a start/delete action (our shim's re-executed server).
func findShim(stateDir, id string) (int, string, error) {
	pid := 0
	if b, err := os.ReadFile(filepath.Join(stateDir, "io.containerd.runtime.v2.task", namespace, id, "shim.pid")); err == nil {
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if pid == 0 {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			p, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
			if err != nil || len(raw) == 0 {
				continue
			}
			args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
			if !strings.HasPrefix(filepath.Base(args[0]), "containerd-shim") {
				continue
			}
			if i := slices.Index(args, "-id"); i < 0 || i+1 >= len(args) || args[i+1] != id {
				continue
			}
			if slices.Contains(args, "start") || slices.Contains(args, "delete") {
				continue
			}
			pid = p
			break
		}
	}
	if pid == 0 {
		return 0, "", fmt.Errorf("no shim process found for container %s", id)
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return 0, "", fmt.Errorf("shim %d: %w", pid, err)
	}
	return pid, exe, nil
}

// nsCgroups lists the cgroup dirs named after our containerd namespace.
func nsCgroups() []string {
	var out []string
	for _, pat := range []string{"/sys/fs/cgroup/" + namespace, "/sys/fs/cgroup/*/" + namespace} {
		m, _ := filepath.Glob(pat)
		out = append(out, m...)
	}
	return out
}

// vmHWM is the peak resident set size of pid, in bytes.
func vmHWM(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmHWM", pid)
}

// cgroupPeak reads the peak memory usage of the container's cgroup: v2
// memory.peak on a unified hierarchy, else v1 memory.max_usage_in_bytes.
func cgroupPeak(cgPath string) (int64, string, error) {
	if strings.Contains(cgPath, ":") {
		return 0, "", fmt.Errorf("systemd-style cgroupsPath %q not supported", cgPath)
	}
	var candidates []string
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		candidates = append(candidates, filepath.Join("/sys/fs/cgroup", cgPath, "memory.peak"))
	}
	candidates = append(candidates, filepath.Join("/sys/fs/cgroup/memory", cgPath, "memory.max_usage_in_bytes"))
	for _, f := range candidates {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, f, err
		}
		return n, f, nil
	}
	return 0, "", fmt.Errorf("no memory peak file for cgroup %s (tried %s)", cgPath, strings.Join(candidates, ", "))
}

// ensureRuncShim returns a dir holding containerd-shim-runc-v2 at
// runcShimVersion, go-installing it there when missing.
func ensureRuncShim(dir string) (string, error) {
	if dir == "" {
		d, err := process.CacheDir("runc-shim-" + runcShimVersion)
		if err != nil {
			return "", err
		}
		dir = d
	}
	bin := filepath.Join(dir, "containerd-shim-runc-v2")
	if _, err := os.Stat(bin); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "installing containerd-shim-runc-v2 %s into %s (go install)\n", runcShimVersion, dir)
	cmd := exec.Command("go", "install", "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@"+runcShimVersion)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install containerd-shim-runc-v2: %w", err)
	}
	return dir, nil
}

// checkStatic refuses a dynamically linked binary: the image holds nothing else.
func checkStatic(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w (apt-get install -y busybox-static)", err)
	}
	if !bytes.HasPrefix(b, []byte("\x7fELF")) {
		return fmt.Errorf("%s is not an ELF binary", path)
	}
	if bytes.Contains(b, []byte("/lib64/ld-linux-x86-64.so")) {
		return fmt.Errorf("%s is dynamically linked; the FROM-scratch image needs a static binary (busybox-static)", path)
	}
	return nil
}

func gzipSize(b []byte) (int64, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	if _, err := zw.Write(b); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	return int64(buf.Len()), nil
}

// tarFileBytes sums the sizes of the regular files in a layer tar.
func tarFileBytes(layer []byte) (int64, error) {
	tr := tar.NewReader(bytes.NewReader(layer))
	var n int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
		if h.Typeflag == tar.TypeReg {
			n += h.Size
		}
	}
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}

func cmdOut(name string, args ...string) string {
	if name == "" {
		return ""
	}
	out, _ := exec.Command(name, args...).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// shimVersion is the "Version:" line of `<shim> -v` (containerd's shim
// library prints the containerd library version the shim was built with).
func shimVersion(bin string) string {
	for _, l := range strings.Split(cmdOut(bin, "-v"), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Version:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func busyboxVersion(bin string) string {
	v, _, _ := strings.Cut(firstLine(cmdOut(bin)), " (")
	return v + ", " + dpkgVersion("busybox-static")
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}

func dpkgVersion(pkg string) string {
	v := cmdOut("dpkg-query", "-W", "-f=${Version}", pkg)
	if v == "" || strings.Contains(v, "no packages") {
		return "not from a Debian package"
	}
	return "Debian " + pkg + " " + v
}

func machine() Machine {
	m := Machine{NProc: runtime.NumCPU(), Arch: runtime.GOARCH}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				m.MemTotal = kb * 1024
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	if b, err := os.ReadFile("/etc/debian_version"); err == nil {
		m.OS = "Debian " + strings.TrimSpace(string(b))
	}
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		m.Cgroup = "v2"
	} else if _, err := os.Stat("/sys/fs/cgroup/memory"); err == nil {
		m.Cgroup = "v1 (memory controller on v1)"
	}
	return m
}
