// Package containerd is a runners.Runner that drives any containerd runtime
// (io.containerd.wazero.v1, runwasi's io.containerd.wasmtime.v1 and
// io.containerd.wasmedge.v1, ...) through the containerd Go client.
//
// Each Run packs the module as a FROM-scratch wasi/wasm32 OCI image (package
// ociimage; imported for that run and deleted after it, or with
// Options.CacheImages imported once per module digest and kept until Close),
// creates a container whose spec grants exactly the Invocation:
// process.args = inv.Args, process.env = inv.Env (unless InjectDefaultEnv),
// one bind mount per preopen (rbind, plus ro when ReadOnly), then
// inv.Container.Mounts; stdio through FIFOs under the runner's state dir. An
// Invocation with ImageFiles gets an image of its own with those entries in
// its layer (never cached). Every task, container and snapshot is
// removed after the run, also when it fails or ctx is cancelled; one that
// cannot be is named in Run's error and retried by Close.
//
// Listeners are not supported: a container runtime has no way to hand a
// guest a preopened socket.
//
// Exit statuses: containerd reports one number. A status of 128+N that a
// shim reports for a guest killed by signal N stays an ordinary EndedExit
// with that code; only the runner's own timeout kill becomes EndedTimeout.
// For io.containerd.wazero.v1, status 134 with the shim's trap line on
// stderr (package internal/trap) is reported as EndedTrap.
//
// # Registered runtimes
//
// Each shim is a runtime of its own, with its own registry name (and so
// its own reports and expectation files):
//
//	containerd-wazero    io.containerd.wazero.v1    wasicert's shim (cmd/containerd-shim-wazero-v1)
//	containerd-wasmtime  io.containerd.wasmtime.v1  runwasi's containerd-shim-wasmtime-v1
//	containerd-wasmedge  io.containerd.wasmedge.v1  runwasi's containerd-shim-wasmedge-v1
//	containerd           $WASICERT_CONTAINERD_RUNTIME, default io.containerd.wazero.v1
//
// All of them need WASICERT_CONTAINERD_ADDRESS, the socket of a running
// containerd. runwasi's shims also count as installed only when their
// binary is on PATH, where containerd looks for it; wasicert's own shim is
// installed beside the daemon (ci/containerd/start.sh). "containerd" runs
// any shim containerd knows, chosen by WASICERT_CONTAINERD_RUNTIME; unset,
// it is wasicert's shim, whose expectations it then shares. Version names
// the shim: "containerd 2.2.9 (io.containerd.wazero.v1)".
package containerd

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	cgroup1stats "github.com/containerd/cgroups/v3/cgroup1/stats"
	cgroup2stats "github.com/containerd/cgroups/v3/cgroup2/stats"
	containerd "github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/platforms"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/wasicert/wasicert/internal/capture"
	"github.com/wasicert/wasicert/internal/ociimage"
	"github.com/wasicert/wasicert/internal/trap"
	"github.com/wasicert/wasicert/runners"
)

const (
	// Name is the registered runtime whose shim WASICERT_CONTAINERD_RUNTIME
	// chooses (see the package documentation for the others).
	Name = "containerd"
	// DefaultRuntime is our shim.
	DefaultRuntime = "io.containerd.wazero.v1"
	// DefaultNamespace holds everything the runner creates.
	DefaultNamespace = "wasicert"
	// EnvAddress is containerd's socket, for every registered runtime.
	EnvAddress = "WASICERT_CONTAINERD_ADDRESS"
	// EnvRuntime is the shim of the runtime registered as "containerd"
	// (default DefaultRuntime); the others have a fixed shim.
	EnvRuntime     = "WASICERT_CONTAINERD_RUNTIME"
	EnvSnapshotter = "WASICERT_CONTAINERD_SNAPSHOTTER"
	EnvStateDir    = "WASICERT_CONTAINERD_STATE_DIR"
	// EnvInjectEnv, when set, gives the guest containerd's default env as
	// ctr and docker do (Options.InjectDefaultEnv).
	EnvInjectEnv = "WASICERT_CONTAINERD_INJECT_ENV"
)

// Shims are the registered runtimes with a fixed shim: registry name, the
// containerd runtime, and the shim binary containerd runs for it.
var shims = []struct{ name, runtime, binary string }{
	{"containerd-wazero", DefaultRuntime, ""}, // ours: installed with the daemon
	{"containerd-wasmtime", "io.containerd.wasmtime.v1", "containerd-shim-wasmtime-v1"},
	{"containerd-wasmedge", "io.containerd.wasmedge.v1", "containerd-shim-wasmedge-v1"},
}

func init() {
	runners.Register(Name, func() (runners.Runner, error) {
		rt := os.Getenv(EnvRuntime)
		if rt == "" {
			rt = DefaultRuntime
		}
		return open(Name, rt)
	})
	for _, s := range shims {
		runners.Register(s.name, func() (runners.Runner, error) {
			if os.Getenv(EnvAddress) != "" && s.binary != "" {
				if _, err := exec.LookPath(s.binary); err != nil {
					return nil, fmt.Errorf("%s: the shim %s (%s) is not on PATH: %w", s.name, s.binary, s.runtime, runners.ErrNotInstalled)
				}
			}
			return open(s.name, s.runtime)
		})
	}
}

// open opens the registered runtime name on containerd runtime rt, with the
// WASICERT_CONTAINERD_* settings.
func open(name, rt string) (runners.Runner, error) {
	addr := os.Getenv(EnvAddress)
	if addr == "" {
		return nil, fmt.Errorf("%s: %s is not set (the socket of a running containerd): %w", name, EnvAddress, runners.ErrNotInstalled)
	}
	// Images are kept for the run and deleted by Close, which the suite
	// framework calls after the suite (suites/framework).
	return New(Options{Name: name, Address: addr, Runtime: rt, Snapshotter: os.Getenv(EnvSnapshotter), StateDir: os.Getenv(EnvStateDir),
		InjectDefaultEnv: os.Getenv(EnvInjectEnv) != "", CacheImages: true})
}

// Options configure a Runner.
type Options struct {
	// Name is what the Runner's Name returns: the name it is registered
	// under; default "containerd".
	Name string
	// Address is containerd's gRPC socket, e.g. /tmp/wcd/containerd.sock.
	Address string
	// Namespace; default DefaultNamespace.
	Namespace string
	// Runtime is the containerd runtime name; default DefaultRuntime.
	Runtime string
	// Snapshotter; default "native" (works on any filesystem).
	Snapshotter string
	// StateDir holds the FIFO dirs; default a temp dir removed on Close.
	StateDir string
	// InjectDefaultEnv reproduces what ctr and docker do: containerd's
	// default spec env (PATH=...) comes first, inv.Env is merged over it.
	// Off: process.env is exactly inv.Env.
	InjectDefaultEnv bool
	// CacheImages keeps each module's image for later runs of the same
	// module until Close, which the caller must then call (the Runner is an
	// io.Closer). Off: every Run imports its own image and deletes it.
	CacheImages bool
}

// Runner runs modules through containerd.
type Runner struct {
	opts     Options
	client   *containerd.Client
	version  string
	ownState bool
	fifoDir  string
	mu       sync.Mutex
	images   map[string]string // cache key -> image name
	leaked   []string          // containers a run could not delete
	importMu sync.Mutex
}

var _ io.Closer = (*Runner)(nil)

// New connects to containerd. A missing socket is an error wrapping
// runners.ErrNotInstalled with a one-line reason.
func New(o Options) (*Runner, error) {
	if o.Name == "" {
		o.Name = Name
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Runtime == "" {
		o.Runtime = DefaultRuntime
	}
	if o.Snapshotter == "" {
		o.Snapshotter = "native"
	}
	sock := strings.TrimPrefix(o.Address, "unix://")
	if sock == "" {
		return nil, fmt.Errorf("containerd: no socket address given: %w", runners.ErrNotInstalled)
	}
	if st, err := os.Stat(sock); err != nil || st.Mode()&os.ModeSocket == 0 {
		return nil, fmt.Errorf("containerd: socket %s is absent (is containerd running?): %w", sock, runners.ErrNotInstalled)
	}
	client, err := containerd.New(sock, containerd.WithDefaultNamespace(o.Namespace), containerd.WithTimeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("containerd: connect %s: %w", sock, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := client.Version(ctx)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("containerd: %s does not answer: %w", sock, err)
	}
	r := &Runner{opts: o, client: client, version: v.Version, images: map[string]string{}}
	if o.StateDir == "" {
		d, err := os.MkdirTemp("", "wasicert-containerd-")
		if err != nil {
			client.Close()
			return nil, err
		}
		r.opts.StateDir, r.ownState = d, true
	}
	r.fifoDir = filepath.Join(r.opts.StateDir, "fifo")
	if err := os.MkdirAll(r.fifoDir, 0o700); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// Name is Options.Name, the registry name: "containerd-wazero",
// "containerd", ... (see the package documentation).
func (r *Runner) Name() string { return r.opts.Name }

// Version is containerd's version and the shim's runtime name, e.g.
// "containerd 2.2.9 (io.containerd.wazero.v1)".
func (r *Runner) Version() string { return "containerd " + r.version + " (" + r.opts.Runtime + ")" }

// Features: read-only preopens (ro bind mounts), stdin, the sock_* imports
// (wasm shims link preview 1 whole), a container from an image, and signals;
// no preopened listeners (an OCI spec has no way to hand one over).
func (r *Runner) Features() runners.Features {
	return runners.Features{runners.FeatureReadOnlyPreopen, runners.FeatureStdin, runners.FeatureSockImports,
		runners.FeatureContainer, runners.FeatureSignal}
}

// defaultEnv is the env of containerd's default spec (oci/spec.go
// defaultUnixEnv), what ctr and docker give a container unless told otherwise.
var defaultEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

// ImplicitPreopens: a wasm shim preopens the container's rootfs as "/"
// (ours, and runwasi's), before the bind mounts.
func (r *Runner) ImplicitPreopens() []string { return []string{"/"} }

// InjectedEnv is containerd's default env when InjectDefaultEnv is on.
func (r *Runner) InjectedEnv() []string {
	if r.opts.InjectDefaultEnv {
		return defaultEnv
	}
	return nil
}

// Client exposes the containerd client (for leftover checks in tests).
func (r *Runner) Client() *containerd.Client { return r.client }

// Namespace is the namespace the runner works in.
func (r *Runner) Namespace() string { return r.opts.Namespace }

func (r *Runner) nsctx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, r.opts.Namespace)
}

// Close deletes the containers runs left behind (killing their tasks), the
// images the runner cached (and, through containerd's garbage collection,
// their content and snapshots), the runner's own state dir, and closes the
// client. Its error names whatever is still left.
func (r *Runner) Close() error {
	ctx, cancel := context.WithTimeout(r.nsctx(context.Background()), 30*time.Second)
	defer cancel()
	var errs []error
	r.mu.Lock()
	names := make([]string, 0, len(r.images))
	for _, n := range r.images {
		names = append(names, n)
	}
	r.images = map[string]string{}
	leaked := r.leaked
	r.leaked = nil
	r.mu.Unlock()
	for _, id := range leaked {
		if err := r.removeContainer(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("containerd runner: container %s left behind: %w", id, err))
		}
	}
	for _, n := range names {
		if err := r.client.ImageService().Delete(ctx, n, images.SynchronousDelete()); err != nil && !errdefs.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	if r.ownState {
		errs = append(errs, os.RemoveAll(r.opts.StateDir))
	}
	errs = append(errs, r.client.Close())
	return errors.Join(errs...)
}

// removeContainer deletes container id with its task (killed) and snapshot.
func (r *Runner) removeContainer(ctx context.Context, id string) error {
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if t, err := c.Task(ctx, nil); err == nil {
		if _, err := t.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return err
		}
	}
	if err := c.Delete(ctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return err
	}
	return nil
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9._-]+`)

func sanitize(s string) string {
	s = unsafeChars.ReplaceAllString(strings.ToLower(s), "-")
	s = strings.Trim(s, "-._")
	if s == "" {
		s = "module"
	}
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

// modulePath is where the module goes in the image so that argv[0], verbatim,
// names it: an absolute argv[0] is used as is, a relative one is resolved
// against the process cwd "/".
func modulePath(argv0 string) string {
	return filepath.Clean("/" + argv0)
}

// Run implements runners.Runner.
func (r *Runner) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	return r.runModule(ctx, inv, nil)
}

func (r *Runner) runModule(ctx context.Context, inv runners.Invocation, sig *Signal) (runners.Result, error) {
	if err := inv.Validate(); err != nil {
		return runners.Result{}, err
	}
	if len(inv.Listeners) > 0 {
		return runners.Result{}, fmt.Errorf("containerd runner: listeners are not supported")
	}
	wasm := inv.Module.Bytes
	if len(wasm) == 0 {
		b, err := os.ReadFile(inv.Module.Path)
		if err != nil {
			return runners.Result{}, fmt.Errorf("containerd runner: read module: %w", err)
		}
		wasm = b
	}
	sum := sha256.Sum256(wasm)
	dgst := hex.EncodeToString(sum[:])
	mpath := modulePath(inv.Args[0])
	if mpath == "/" {
		return runners.Result{}, fmt.Errorf("containerd runner: argv[0] %q does not name a file", inv.Args[0])
	}
	ph := sha256.Sum256([]byte(mpath))
	key := dgst + ":" + mpath
	name := fmt.Sprintf("wasicert.local/module/%s:%s-%s", sanitize(inv.Module.Name), dgst[:16], hex.EncodeToString(ph[:4]))
	ctx = r.nsctx(ctx)
	var extra []runners.ImageFile
	if inv.Container != nil {
		extra = inv.Container.ImageFiles
	}
	files, err := imageFiles(extra)
	if err != nil {
		return runners.Result{}, err
	}
	if !r.opts.CacheImages || len(files) > 0 {
		// An image for this run alone (its own name: concurrent runs of
		// one module never delete each other's).
		name += "-" + randomHex()
		layout, _, err := ociimage.Build(ociimage.Options{Name: name, Module: wasm, Path: mpath, Files: files})
		if err != nil {
			return runners.Result{}, err
		}
		return r.runLayout(ctx, layout, name, inv, false, sig)
	}

	r.importMu.Lock()
	r.mu.Lock()
	_, ok := r.images[key]
	r.mu.Unlock()
	if !ok {
		layout, _, err := ociimage.Build(ociimage.Options{Name: name, Module: wasm, Path: mpath})
		if err == nil {
			err = r.importImage(ctx, layout, name)
		}
		if err != nil {
			r.importMu.Unlock()
			return runners.Result{}, err
		}
		r.mu.Lock()
		r.images[key] = name
		r.mu.Unlock()
	}
	r.importMu.Unlock()

	img, err := r.client.GetImage(ctx, name)
	if err != nil {
		return runners.Result{}, fmt.Errorf("containerd runner: image %s: %w", name, err)
	}
	img = containerd.NewImageWithPlatform(r.client, img.Metadata(), platforms.Only(ociimage.Platform))
	return r.run(ctx, img, inv, false, sig)
}

// Signal is a signal to send to the task After it started.
type Signal struct {
	Signal syscall.Signal
	After  time.Duration
}

// RunWithSignal is Run, but sends sig to the task after its start (for specs
// of how a runtime maps signals to exit statuses; the wazero shim reports
// 128+signal as the exit code). It implements runners.Signaller.
func (r *Runner) RunWithSignal(ctx context.Context, inv runners.Invocation, sig syscall.Signal, after time.Duration) (runners.Result, error) {
	return r.runModule(ctx, inv, &Signal{Signal: sig, After: after})
}

// RunImage imports an OCI layout tarball (e.g. from ociimage.Build, possibly
// a deliberately bad one), runs it with inv and deletes the image again. The
// image must be for wasi/wasm32. Empty inv.Args means the image's Entrypoint
// and Cmd; the spec env is the image's Env followed by inv.Env.
// inv.Module is not used.
func (r *Runner) RunImage(ctx context.Context, layout []byte, name string, inv runners.Invocation) (runners.Result, error) {
	return r.runLayout(r.nsctx(ctx), layout, name, inv, true, nil)
}

// runLayout imports layout as image name, runs it and deletes the image.
func (r *Runner) runLayout(ctx context.Context, layout []byte, name string, inv runners.Invocation, fromImage bool, sig *Signal) (_ runners.Result, retErr error) {
	if err := r.importImage(ctx, layout, name); err != nil {
		return runners.Result{}, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := r.client.ImageService().Delete(cctx, name, images.SynchronousDelete()); err != nil && !errdefs.IsNotFound(err) {
			retErr = errors.Join(retErr, fmt.Errorf("containerd runner: image %s left behind: %w", name, err))
		}
	}()
	img, err := r.client.GetImage(ctx, name)
	if err != nil {
		return runners.Result{}, err
	}
	img = containerd.NewImageWithPlatform(r.client, img.Metadata(), platforms.Only(ociimage.Platform))
	return r.run(ctx, img, inv, fromImage, sig)
}

// importImage imports layout under name, checks its platform and unpacks it.
// On error nothing is left.
func (r *Runner) importImage(ctx context.Context, layout []byte, name string) (retErr error) {
	imgs, err := r.client.Import(ctx, bytes.NewReader(layout), containerd.WithAllPlatforms(true),
		containerd.WithImageRefTranslator(func(string) string { return name }))
	if err != nil {
		return fmt.Errorf("containerd runner: import image %s: %w", name, err)
	}
	defer func() {
		if retErr != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			for _, im := range imgs {
				_ = r.client.ImageService().Delete(cctx, im.Name, images.SynchronousDelete())
			}
		}
	}()
	var found *images.Image
	for i := range imgs {
		if imgs[i].Name == name {
			found = &imgs[i]
		}
	}
	if found == nil {
		return fmt.Errorf("containerd runner: import image %s: the layout holds no image of that name", name)
	}
	plats, err := images.Platforms(ctx, r.client.ContentStore(), found.Target)
	if err != nil {
		return fmt.Errorf("containerd runner: image %s: %w", name, err)
	}
	want := platforms.Only(ociimage.Platform)
	if !slices.ContainsFunc(plats, want.Match) {
		var have []string
		for _, p := range plats {
			have = append(have, platforms.Format(p))
		}
		return fmt.Errorf("containerd runner: platform mismatch: image %s is for %s, not %s", name, strings.Join(have, ", "), platforms.Format(ociimage.Platform))
	}
	img := containerd.NewImageWithPlatform(r.client, *found, want)
	if err := img.Unpack(ctx, r.opts.Snapshotter); err != nil {
		return fmt.Errorf("containerd runner: unpack image %s: %w", name, err)
	}
	return nil
}

func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomID(name string) string { return "wasicert-" + sanitize(name) + "-" + randomHex() }

// imageFiles converts Container.ImageFiles for package ociimage.
func imageFiles(in []runners.ImageFile) ([]ociimage.File, error) {
	var out []ociimage.File
	for _, f := range in {
		t, ok := map[string]byte{"dir": tar.TypeDir, "char": tar.TypeChar, "block": tar.TypeBlock, "fifo": tar.TypeFifo}[f.Type]
		if !ok {
			return nil, fmt.Errorf("containerd runner: image file %s: unknown type %q", f.Path, f.Type)
		}
		out = append(out, ociimage.File{Path: f.Path, Type: t, Major: int64(f.Major), Minor: int64(f.Minor)})
	}
	return out, nil
}

// withExactEnv sets process.env to exactly env (an empty list, never nil).
func withExactEnv(env []string) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		s.Process.Env = append([]string{}, env...)
		return nil
	}
}

func bindMounts(pre []runners.Preopen) []specs.Mount {
	var ms []specs.Mount
	for _, p := range pre {
		opts := []string{"rbind", "rw"}
		if p.ReadOnly {
			opts = []string{"rbind", "ro"}
		}
		ms = append(ms, specs.Mount{Destination: p.GuestPath, Type: "bind", Source: p.HostDir, Options: opts})
	}
	return ms
}

// withContainer writes inv.Container's OCI fields into the spec.
func withContainer(c *runners.Container) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if c.User != nil {
			if s.Process == nil {
				s.Process = &specs.Process{}
			}
			s.Process.User = specs.User{UID: c.User.UID, GID: c.User.GID, AdditionalGids: slices.Clone(c.User.AdditionalGids)}
		}
		if c.MemoryLimit > 0 || len(c.FIFOs) > 0 {
			if s.Linux == nil {
				s.Linux = &specs.Linux{}
			}
		}
		if c.MemoryLimit > 0 {
			if s.Linux.Resources == nil {
				s.Linux.Resources = &specs.LinuxResources{}
			}
			limit := c.MemoryLimit
			s.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
		}
		for _, p := range c.FIFOs {
			s.Linux.Devices = append(s.Linux.Devices, specs.LinuxDevice{Path: p, Type: "p"})
		}
		if len(c.Annotations) > 0 {
			if s.Annotations == nil {
				s.Annotations = map[string]string{}
			}
			for k, v := range c.Annotations {
				s.Annotations[k] = v
			}
		}
		return nil
	}
}

// ctrTask is a running task for runners.Container.Started.
type ctrTask struct{ t containerd.Task }

// Metrics decodes containerd's task metrics: cgroup v1 or v2 metrics, as
// runc's shim and ours report them.
func (c ctrTask) Metrics(ctx context.Context) (runners.TaskMetrics, error) {
	m, err := c.t.Metrics(ctx)
	if err != nil {
		return runners.TaskMetrics{}, err
	}
	if m.Data == nil {
		return runners.TaskMetrics{}, errors.New("task metrics: no data")
	}
	out := runners.TaskMetrics{Type: m.Data.GetTypeUrl()}
	v, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return out, fmt.Errorf("task metrics of type %s: %w", out.Type, err)
	}
	switch st := v.(type) {
	case *cgroup1stats.Metrics:
		out.MemoryUsage = st.GetMemory().GetUsage().GetUsage()
		out.Pids = st.GetPids().GetCurrent()
	case *cgroup2stats.Metrics:
		out.MemoryUsage = st.GetMemory().GetUsage()
		out.Pids = st.GetPids().GetCurrent()
	default:
		return out, fmt.Errorf("task metrics: unknown type %s", out.Type)
	}
	return out, nil
}

func (r *Runner) run(ctx context.Context, img containerd.Image, inv runners.Invocation, fromImage bool, sig *Signal) (res runners.Result, retErr error) {
	id := randomID(inv.Module.Name)
	if inv.Container != nil && inv.Container.ID != "" {
		id = inv.Container.ID
	}
	specOpts := []oci.SpecOpts{}
	if fromImage {
		specOpts = append(specOpts, oci.WithImageConfig(img))
		if len(inv.Args) > 0 {
			specOpts = append(specOpts, oci.WithProcessArgs(inv.Args...))
		}
		specOpts = append(specOpts, oci.WithEnv(inv.Env))
	} else {
		specOpts = append(specOpts, oci.WithProcessArgs(inv.Args...), oci.WithProcessCwd("/"))
		if r.opts.InjectDefaultEnv {
			specOpts = append(specOpts, withExactEnv(nil), oci.WithDefaultPathEnv, oci.WithEnv(inv.Env))
		} else {
			specOpts = append(specOpts, withExactEnv(inv.Env))
		}
	}
	if len(inv.Preopens) > 0 {
		specOpts = append(specOpts, oci.WithMounts(bindMounts(inv.Preopens)))
	}
	if c := inv.Container; c != nil && len(c.Mounts) > 0 {
		var ms []specs.Mount
		for _, m := range c.Mounts {
			ms = append(ms, specs.Mount{Destination: m.Destination, Type: m.Type, Source: m.Source, Options: m.Options})
		}
		specOpts = append(specOpts, oci.WithMounts(ms))
	}
	if inv.Container != nil {
		specOpts = append(specOpts, withContainer(inv.Container))
	}

	cleanupCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	}
	container, err := r.client.NewContainer(ctx, id,
		containerd.WithImage(img),
		containerd.WithSnapshotter(r.opts.Snapshotter),
		containerd.WithNewSnapshot(id, img),
		containerd.WithRuntime(r.opts.Runtime, nil),
		containerd.WithNewSpec(specOpts...),
	)
	if err != nil {
		// NewContainer may have made the snapshot before failing.
		cctx, cancel := cleanupCtx()
		_ = r.client.SnapshotService(r.opts.Snapshotter).Remove(cctx, id)
		cancel()
		return res, fmt.Errorf("containerd runner: create container: %w", err)
	}
	defer func() {
		cctx, cancel := cleanupCtx()
		defer cancel()
		if err := container.Delete(cctx, containerd.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
			r.mu.Lock()
			r.leaked = append(r.leaked, id)
			r.mu.Unlock()
			retErr = errors.Join(retErr, fmt.Errorf("containerd runner: container %s left behind (Close retries): %w", id, err))
		}
	}()

	stdout, stderr := &capture.Output{}, &capture.Output{}
	stdout.Watch(inv.Canaries...)
	stderr.Watch(inv.Canaries...)
	var stdin io.Reader
	if inv.Stdin != nil {
		stdin = bytes.NewReader(inv.Stdin)
	}
	task, err := container.NewTask(ctx, cio.NewCreator(cio.WithStreams(stdin, stdout, stderr), cio.WithFIFODir(r.fifoDir)))
	if err != nil {
		return res, fmt.Errorf("containerd runner: create task (%s): %w", r.opts.Runtime, err)
	}
	deleted := false
	var delErr error // the first, plain delete's
	defer func() {
		if deleted {
			return
		}
		// Retry, killing the task first.
		cctx, cancel := cleanupCtx()
		defer cancel()
		if _, err := task.Delete(cctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			retErr = errors.Join(retErr, delErr, fmt.Errorf("containerd runner: delete task %s: %w", id, err))
		}
	}()
	exitCh, err := task.Wait(ctx)
	if err != nil {
		return res, fmt.Errorf("containerd runner: wait task: %w", err)
	}
	start := time.Now()
	if err := task.Start(ctx); err != nil {
		return res, fmt.Errorf("containerd runner: start task (%s): %w", r.opts.Runtime, err)
	}
	timeout := inv.EffectiveTimeout()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	if sig != nil {
		st := time.AfterFunc(sig.After, func() { _ = task.Kill(ctx, sig.Signal) })
		defer st.Stop()
	}
	if inv.Container != nil && inv.Container.Started != nil {
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			inv.Container.Started(sctx, ctrTask{task})
		}()
		defer func() { cancel(); <-done }() // before the task's delete
	}
	var st containerd.ExitStatus
	exited, timedOut := false, false
	select {
	case st = <-exitCh:
		exited = true
	case <-timer.C:
		timedOut = true
		cctx, cancel := cleanupCtx()
		_ = task.Kill(cctx, syscall.SIGKILL)
		select {
		case st = <-exitCh:
			exited = true
		case <-cctx.Done():
		}
		cancel()
	case <-ctx.Done():
		return res, fmt.Errorf("containerd runner: interrupted: %w", ctx.Err())
	}
	res.Duration = time.Since(start)
	code, _, err := st.Result()
	if err != nil && !timedOut {
		return res, fmt.Errorf("containerd runner: exit status: %w", err)
	}
	if exited {
		// The output copy ends when the guest's ends of the FIFOs close;
		// wait for it first (bounded: a stray writer may hold them), since
		// Delete refuses a task not yet marked stopped without waiting,
		// and a trap's stderr line is the last thing copied.
		waitOutput(task, outputDrain)
		// Delete waits for the output copy to finish, then removes the FIFOs.
		cctx, cancel := cleanupCtx()
		for {
			_, delErr = task.Delete(cctx)
			if !errdefs.IsFailedPrecondition(delErr) || cctx.Err() != nil {
				break // a task still being marked stopped is retried
			}
			select {
			case <-cctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
		cancel()
		deleted = delErr == nil || errdefs.IsNotFound(delErr)
	}
	capture.Fill(&res, stdout, stderr)
	res.ExitCode = int(code)
	if !exited || err != nil {
		res.ExitCode = -1 // no status: not a code
	}
	switch {
	case timedOut:
		res.Ended = runners.EndedTimeout
		res.Detail = fmt.Sprintf("killed (SIGKILL) after %s", timeout)
		if !exited {
			res.Detail += "; it did not exit"
		}
	default:
		res.Ended = runners.EndedExit
		if msg, ok := trap.FromShim(int(code), stderr.Tail()); ok && r.opts.Runtime == DefaultRuntime {
			res.Ended, res.Detail = runners.EndedTrap, msg
		}
	}
	return res, nil
}

// outputDrain bounds how long a run waits for its output copy after the
// task exited.
const outputDrain = 5 * time.Second

// waitOutput waits until the task's output has been copied, at most d.
func waitOutput(task containerd.Task, d time.Duration) {
	tio := task.IO()
	if tio == nil {
		return
	}
	done := make(chan struct{})
	go func() { tio.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}
