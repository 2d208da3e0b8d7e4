// Package docker is a runners.Runner that drives a Docker engine (moby's
// dockerd) in front of any containerd runtime it knows: wasicert's shim
// io.containerd.wazero.v1 by default, as users type it:
//
//	docker run --rm --runtime=io.containerd.wazero.v1 --platform=wasi/wasm32 IMAGE ARGS...
//
// Each Run packs the module as a FROM-scratch wasi/wasm32 OCI image
// (package ociimage), loads it with the engine's image load (no registry;
// kept per module digest until Close), and creates a container through the
// engine's API (the Go client, github.com/moby/moby/client): the entrypoint
// is argv[0], the command argv[1:], the env exactly inv.Env (--env), one
// bind per preopen (-v HOST:GUEST, :ro when ReadOnly), the runtime
// Options.Runtime (--runtime), the platform wasi/wasm32 (--platform);
// stdio through the engine's attach stream (with --log-driver none unless
// Invocation.Engine is set: the output is not copied to disk twice).
// Invocation.Engine adds
// --read-only, --network, --log-driver, docker stop, docker rm -f mid-run
// and reports docker inspect and docker logs. The container is removed
// after the run, also when it fails or ctx is cancelled.
//
// What the engine adds to the guest's environment by design is reported as
// injected, apart from a host leak: PATH (its default, when neither the
// image nor --env set one) and HOSTNAME (the container's hostname, known
// once it exists: Result.InjectedEnv).
//
// Configured by WASICERT_DOCKER_HOST (the engine's socket, unix://PATH, or
// tcp://HOST:PORT of an engine on this machine, since preopens are bind
// mounts of host paths; unset: not installed) and WASICERT_DOCKER_RUNTIME (default
// io.containerd.wazero.v1).
package docker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/wasicert/wasicert/internal/capture"
	"github.com/wasicert/wasicert/internal/ociimage"
	"github.com/wasicert/wasicert/internal/trap"
	"github.com/wasicert/wasicert/runners"
)

const (
	// Name is the registered runtime.
	Name = "docker"
	// DefaultRuntime is wasicert's shim.
	DefaultRuntime = "io.containerd.wazero.v1"
	// EnvHost is the engine's socket, e.g. unix:///tmp/wdk.x/docker.sock.
	EnvHost = "WASICERT_DOCKER_HOST"
	// EnvRuntime is the containerd runtime (docker run --runtime).
	EnvRuntime = "WASICERT_DOCKER_RUNTIME"
	// DefaultPath is the PATH Docker gives a Linux-like container whose
	// image and --env set none (moby's oci.DefaultPathEnv).
	DefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

func init() {
	runners.Register(Name, func() (runners.Runner, error) {
		host := os.Getenv(EnvHost)
		if host == "" {
			return nil, fmt.Errorf("docker: %s is not set (the socket of a running Docker engine, unix://PATH): %w", EnvHost, runners.ErrNotInstalled)
		}
		return New(Options{Host: host, Runtime: os.Getenv(EnvRuntime), CacheImages: true})
	})
}

// Options configure a Runner.
type Options struct {
	// Name is what Name returns; default "docker".
	Name string
	// Host is the engine's API socket, unix://PATH, or tcp://HOST:PORT.
	Host string
	// Runtime is docker run --runtime; default DefaultRuntime.
	Runtime string
	// CacheImages keeps each module's image until Close; off, every run
	// loads its own image and removes it.
	CacheImages bool
}

// Runner runs modules through a Docker engine.
type Runner struct {
	opts     Options
	cli      *client.Client
	version  string
	mu       sync.Mutex
	images   map[string]string // cache key -> image name
	importMu sync.Mutex
}

var _ io.Closer = (*Runner)(nil)

// New connects to the engine at o.Host. A missing socket is an error
// wrapping runners.ErrNotInstalled.
func New(o Options) (*Runner, error) {
	if o.Name == "" {
		o.Name = Name
	}
	if o.Runtime == "" {
		o.Runtime = DefaultRuntime
	}
	switch {
	case strings.HasPrefix(o.Host, "unix://"):
		sock := strings.TrimPrefix(o.Host, "unix://")
		if st, err := os.Stat(sock); err != nil || st.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("docker: socket %s is absent (is dockerd running?): %w", sock, runners.ErrNotInstalled)
		}
	case strings.HasPrefix(o.Host, "tcp://"):
	default:
		return nil, fmt.Errorf("docker: host %q: want unix://PATH (the engine's socket) or tcp://HOST:PORT: %w", o.Host, runners.ErrNotInstalled)
	}
	cli, err := client.New(client.WithHost(o.Host), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker: client for %s: %w", o.Host, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker: %s does not answer: %w", o.Host, err)
	}
	return &Runner{opts: o, cli: cli, version: v.Version, images: map[string]string{}}, nil
}

// Name is Options.Name.
func (r *Runner) Name() string { return r.opts.Name }

// Version is the engine's version and the runtime, e.g.
// "docker 2.0.0-beta.24 (io.containerd.wazero.v1)".
func (r *Runner) Version() string { return "docker " + r.version + " (" + r.opts.Runtime + ")" }

// Client is the engine's API client (for leftover checks in tests).
func (r *Runner) Client() *client.Client { return r.cli }

// Runtime is the containerd runtime containers run on.
func (r *Runner) Runtime() string { return r.opts.Runtime }

// Features: read-only preopens (:ro binds), stdin, the sock_* imports,
// signals (docker kill), and the engine's own flags (FeatureEngine). Not
// FeatureContainer: the shim specs write OCI fields the engine's API does
// not pass through.
func (r *Runner) Features() runners.Features {
	return runners.Features{runners.FeatureReadOnlyPreopen, runners.FeatureStdin, runners.FeatureSockImports,
		runners.FeatureSignal, runners.FeatureEngine}
}

// ImplicitPreopens: a wasm shim preopens the container's rootfs as "/".
func (r *Runner) ImplicitPreopens() []string { return []string{"/"} }

// InjectedEnv is Docker's default PATH; HOSTNAME comes per run in
// Result.InjectedEnv.
func (r *Runner) InjectedEnv() []string { return []string{DefaultPath} }

// Close removes the images the runner loaded and closes the client.
func (r *Runner) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r.mu.Lock()
	names := slices.Collect(mapValues(r.images))
	r.images = map[string]string{}
	r.mu.Unlock()
	var errs []error
	for _, n := range names {
		if err := r.removeImage(ctx, n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, r.cli.Close())...)
}

func mapValues(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

func (r *Runner) removeImage(ctx context.Context, name string) error {
	_, err := r.cli.ImageRemove(ctx, name, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("docker runner: image %s left behind: %w", name, err)
	}
	return nil
}

func isNotFound(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "No such") || strings.Contains(strings.ToLower(err.Error()), "not found"))
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9._-]+`)

func sanitize(s string) string {
	s = strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(s), "-"), "-._")
	if s == "" {
		s = "module"
	}
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Platform is the platform of every image and container: wasi/wasm32.
var Platform = ocispec.Platform{OS: ociimage.Platform.OS, Architecture: ociimage.Platform.Architecture}

// LoadImage loads an OCI layout tarball (ociimage.Build) into the engine,
// as docker load does, and checks the engine now has name.
func (r *Runner) LoadImage(ctx context.Context, layout []byte, name string) error {
	res, err := r.cli.ImageLoad(ctx, bytes.NewReader(layout), client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("docker runner: load image %s: %w", name, err)
	}
	defer res.Close()
	// The answer is a JSON message stream; an error is a message in it.
	dec := json.NewDecoder(bufio.NewReader(res))
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("docker runner: load image %s: %w", name, err)
		}
		if m.Error != "" {
			return fmt.Errorf("docker runner: load image %s: %s", name, m.Error)
		}
	}
	if _, err := r.cli.ImageInspect(ctx, name); err != nil {
		return fmt.Errorf("docker runner: image %s not there after load: %w", name, err)
	}
	return nil
}

// Run implements runners.Runner.
func (r *Runner) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	return r.run(ctx, inv, 0, 0)
}

// RunWithSignal implements runners.Signaller: docker kill --signal sig
// once the guest has run for after.
func (r *Runner) RunWithSignal(ctx context.Context, inv runners.Invocation, sig syscall.Signal, after time.Duration) (runners.Result, error) {
	return r.run(ctx, inv, sig, after)
}

func (r *Runner) run(ctx context.Context, inv runners.Invocation, sig syscall.Signal, after time.Duration) (_ runners.Result, retErr error) {
	if err := inv.Validate(); err != nil {
		return runners.Result{}, err
	}
	if len(inv.Listeners) > 0 {
		return runners.Result{}, errors.New("docker runner: listeners are not supported")
	}
	wasm := inv.Module.Bytes
	if len(wasm) == 0 {
		b, err := os.ReadFile(inv.Module.Path)
		if err != nil {
			return runners.Result{}, fmt.Errorf("docker runner: read module: %w", err)
		}
		wasm = b
	}
	sum := sha256.Sum256(wasm)
	dgst := hex.EncodeToString(sum[:])
	mpath := filepath.Clean("/" + inv.Args[0])
	if mpath == "/" {
		return runners.Result{}, fmt.Errorf("docker runner: argv[0] %q does not name a file", inv.Args[0])
	}
	ph := sha256.Sum256([]byte(mpath))
	key := dgst + ":" + mpath
	name := fmt.Sprintf("wasicert.local/module/%s:%s-%s", sanitize(inv.Module.Name), dgst[:16], hex.EncodeToString(ph[:4]))
	if !r.opts.CacheImages {
		name += "-" + randomHex()
	}
	r.importMu.Lock()
	r.mu.Lock()
	_, ok := r.images[key]
	r.mu.Unlock()
	if !ok || !r.opts.CacheImages {
		layout, _, err := ociimage.Build(ociimage.Options{Name: name, Module: wasm, Path: mpath})
		if err == nil {
			err = r.LoadImage(ctx, layout, name)
		}
		if err != nil {
			r.importMu.Unlock()
			return runners.Result{}, err
		}
		if r.opts.CacheImages {
			r.mu.Lock()
			r.images[key] = name
			r.mu.Unlock()
		}
	}
	r.importMu.Unlock()
	if !r.opts.CacheImages {
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			retErr = errors.Join(retErr, r.removeImage(cctx, name))
		}()
	}
	return r.RunContainer(ctx, name, inv, sig, after)
}

// Spec renders inv as docker run's create request for image: what the
// seeds' command line says, plus inv's grants.
func (r *Runner) Spec(image string, inv runners.Invocation) client.ContainerCreateOptions {
	cfg := &container.Config{
		Image:        image,
		Entrypoint:   inv.Args[:1],
		Cmd:          slices.Clone(inv.Args[1:]),
		Env:          append([]string{}, inv.Env...),
		AttachStdout: true, AttachStderr: true,
	}
	if inv.Stdin != nil {
		cfg.AttachStdin, cfg.OpenStdin, cfg.StdinOnce = true, true, true
	}
	hc := &container.HostConfig{Runtime: r.opts.Runtime}
	if inv.Engine == nil {
		// The output is read from the attach stream; a run that asks
		// nothing of the engine skips its log driver's copy to disk (the
		// engine specs keep the default, and engine.logs reads it back).
		hc.LogConfig.Type = "none"
	}
	for _, p := range inv.Preopens {
		b := p.HostDir + ":" + p.GuestPath
		if p.ReadOnly {
			b += ":ro"
		}
		hc.Binds = append(hc.Binds, b)
	}
	if e := inv.Engine; e != nil {
		hc.ReadonlyRootfs = e.ReadOnlyRootfs
		if e.Network != "" {
			hc.NetworkMode = container.NetworkMode(e.Network)
		}
		if e.LogDriver != "" {
			hc.LogConfig.Type = e.LogDriver
		}
	}
	plat := Platform
	return client.ContainerCreateOptions{Config: cfg, HostConfig: hc, Platform: &plat,
		Name: "wasicert-" + sanitize(inv.Module.Name) + "-" + randomHex()}
}

// RunContainer runs inv in a container of image (already loaded), as
// docker run does, and removes the container after.
func (r *Runner) RunContainer(ctx context.Context, image string, inv runners.Invocation, sig syscall.Signal, after time.Duration) (res runners.Result, retErr error) {
	cleanupCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	}
	created, err := r.cli.ContainerCreate(ctx, r.Spec(image, inv))
	if err != nil {
		return res, fmt.Errorf("docker runner: create container (%s): %w", r.opts.Runtime, err)
	}
	id := created.ID
	var rep *runners.EngineReport
	if inv.Engine != nil {
		rep = &inv.Engine.Report
		rep.ContainerID = id
	}
	removed := false
	defer func() {
		if removed {
			return
		}
		cctx, cancel := cleanupCtx()
		defer cancel()
		if _, err := r.cli.ContainerRemove(cctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !isNotFound(err) {
			retErr = errors.Join(retErr, fmt.Errorf("docker runner: container %s left behind: %w", id, err))
		}
	}()
	if insp, err := r.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); err == nil {
		if h := insp.Container.Config; h != nil && h.Hostname != "" {
			res.InjectedEnv = append(res.InjectedEnv, "HOSTNAME="+h.Hostname)
			if rep != nil {
				rep.Hostname = h.Hostname
			}
		}
	}

	stdout, stderr := &capture.Output{}, &capture.Output{}
	stdout.Watch(inv.Canaries...)
	stderr.Watch(inv.Canaries...)
	att, err := r.cli.ContainerAttach(ctx, id, client.ContainerAttachOptions{Stream: true, Stdin: inv.Stdin != nil, Stdout: true, Stderr: true})
	if err != nil {
		return res, fmt.Errorf("docker runner: attach: %w", err)
	}
	defer att.Close()
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = stdcopy.StdCopy(stdout, stderr, att.Reader)
	}()
	wait := r.cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	start := time.Now()
	if _, err := r.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return res, fmt.Errorf("docker runner: start container (%s): %w", r.opts.Runtime, err)
	}
	if inv.Stdin != nil {
		go func() {
			_, _ = att.Conn.Write(inv.Stdin)
			_ = att.CloseWrite()
		}()
	}
	if sig != 0 {
		t := time.AfterFunc(after, func() {
			_, _ = r.cli.ContainerKill(context.WithoutCancel(ctx), id, client.ContainerKillOptions{Signal: fmt.Sprint(int(sig))})
		})
		defer t.Stop()
	}
	var removing chan struct{}
	if e := inv.Engine; e != nil {
		if e.Stop > 0 {
			t := time.AfterFunc(e.Stop, func() {
				secs := int(e.StopTimeout / time.Second)
				if e.StopTimeout == 0 {
					secs = 10
				}
				_, _ = r.cli.ContainerStop(context.WithoutCancel(ctx), id, client.ContainerStopOptions{Timeout: &secs})
			})
			defer t.Stop()
		}
		if e.Remove > 0 {
			removing = make(chan struct{})
			t := time.AfterFunc(e.Remove, func() {
				defer close(removing)
				cctx, cancel := cleanupCtx()
				defer cancel()
				if _, err := r.cli.ContainerRemove(cctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err == nil {
					rep.Removed = true
				}
			})
			defer func() {
				if !t.Stop() {
					<-removing
				}
			}()
		}
	}

	timeout := inv.EffectiveTimeout()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	code, exited, timedOut := -1, false, false
	select {
	case w := <-wait.Result:
		code, exited = int(w.StatusCode), true
		if w.Error != nil && w.Error.Message != "" {
			res.Detail = w.Error.Message
		}
	case err := <-wait.Error:
		if removing != nil {
			// docker rm -f ended the wait: the container is gone.
			<-removing
			removed = rep.Removed
			break
		}
		return res, fmt.Errorf("docker runner: wait: %w", err)
	case <-timer.C:
		timedOut = true
		cctx, cancel := cleanupCtx()
		_, _ = r.cli.ContainerKill(cctx, id, client.ContainerKillOptions{Signal: "KILL"})
		select {
		case w := <-wait.Result:
			code, exited = int(w.StatusCode), true
		case <-wait.Error:
		case <-cctx.Done():
		}
		cancel()
	case <-ctx.Done():
		return res, fmt.Errorf("docker runner: interrupted: %w", ctx.Err())
	}
	res.Duration = time.Since(start)
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	if rep != nil {
		if removing != nil {
			<-removing
			removed = rep.Removed
		}
		r.report(ctx, id, rep)
	}
	capture.Fill(&res, stdout, stderr)
	res.ExitCode = code
	switch {
	case timedOut:
		res.Ended = runners.EndedTimeout
		res.Detail = fmt.Sprintf("killed (docker kill) after %s", timeout)
		if !exited {
			res.Detail += "; it did not exit"
		}
	case !exited:
		res.Ended = runners.EndedCrash
		res.Detail = "the container was removed before it exited"
	default:
		res.Ended = runners.EndedExit
		if msg, ok := trap.FromShim(code, stderr.Tail()); ok && r.opts.Runtime == DefaultRuntime {
			res.Ended, res.Detail = runners.EndedTrap, msg
		}
	}
	return res, nil
}

// report fills rep from docker inspect and docker logs (after the run).
func (r *Runner) report(ctx context.Context, id string, rep *runners.EngineReport) {
	insp, err := r.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if rep.Removed {
		rep.StillListed = err == nil
		return
	}
	if err == nil {
		c := insp.Container
		rep.Files = map[string][]byte{}
		for guest, host := range map[string]string{"/etc/hostname": c.HostnamePath, "/etc/hosts": c.HostsPath, "/etc/resolv.conf": c.ResolvConfPath} {
			if host == "" {
				continue
			}
			if b, err := os.ReadFile(host); err == nil {
				rep.Files[guest] = b
			}
		}
		if c.HostConfig != nil {
			rep.NetworkMode = string(c.HostConfig.NetworkMode)
		}
		if c.NetworkSettings != nil {
			for n := range c.NetworkSettings.Networks {
				rep.Networks = append(rep.Networks, n)
			}
			slices.Sort(rep.Networks)
		}
	}
	if d, err := r.cli.ContainerDiff(ctx, id, client.ContainerDiffOptions{}); err == nil {
		for _, ch := range d.Changes {
			rep.Changes = append(rep.Changes, string(ch.Kind.String())+" "+ch.Path)
		}
	}
	logs, err := r.cli.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		rep.LogsErr = err.Error()
		return
	}
	defer logs.Close()
	var o, e bytes.Buffer
	if _, err := stdcopy.StdCopy(&limited{&o, runners.MaxOutput}, &limited{&e, runners.MaxOutput}, logs); err != nil {
		rep.LogsErr = err.Error()
	}
	rep.Logs, rep.LogsStderr = o.Bytes(), e.Bytes()
}

// limited keeps the first n bytes written to it and drops the rest.
type limited struct {
	b *bytes.Buffer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
