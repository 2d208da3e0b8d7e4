// Package cri is a runners.Runner that drives any Container Runtime
// Interface endpoint (containerd's CRI plugin, CRI-O) and runtime handler
// (the RuntimeClass handler a node maps to a wasm shim) the way kubelet
// does, over k8s.io/cri-api's gRPC service:
//
//	RunPodSandbox    one pod per run, on a pod network (the node's CNI) or the
//	                 host's (Options.HostNetwork), the pod's hostname
//	                 PodHostname, the runtime handler
//	CreateContainer  argv as the container's command (the module is the image's
//	                 file argv[0] names), the Invocation's env plus what kubelet
//	                 adds (KubeletEnv), each preopen a hostPath mount (read-only
//	                 when asked), kubelet's /dev/termination-log and /etc/hosts,
//	                 the pod spec's fields (Invocation.Pod: pod.go), a log path
//	StartContainer, ContainerStatus until the container exits or the
//	                 Invocation's timeout (then StopContainer: EndedTimeout)
//	RemoveContainer, StopPodSandbox, RemovePodSandbox, always, also when the
//	                 run fails or ctx is cancelled
//
// stdout and stderr come from the container's log file in the CRI log format
// (SplitLog). Every run's pod gets its own log directory under the runner's
// state dir, which must be a path the CRI runtime sees as the runner does
// (the same host, or a hostPath mounted at its node path in a pod:
// ci/kubernetes/daemonset.yaml); so must the preopens' host dirs.
//
// Images: there is no registry to push to. Each module is packed as a
// FROM-scratch wasi/wasm32 image (package ociimage). On containerd it is
// imported into the namespace "k8s.io", where its CRI plugin keeps images,
// through the containerd client on the same socket (containerd serves both
// APIs on it). On any other CRI runtime, or with WASICERT_CRI_IMAGES=registry,
// the runner serves it from a read-only registry of its own on a loopback
// port (registry.go) and the runtime pulls it with PullImage. Either way
// once per module; Close removes them.
//
// What the platform adds is reported as injected (runners.Platform): the
// wasm shim's rootfs preopen "/", kubelet's service-link env (KubeletEnv),
// the runtime's HOSTNAME and, for containerd, its default PATH.
//
// Registered as "cri": WASICERT_CRI_ENDPOINT (unix:///run/containerd/containerd.sock)
// and WASICERT_CRI_RUNTIME_HANDLER (e.g. wazero) choose the node; wasicert's
// --cri-endpoint and --runtime-handler set them. WASICERT_CRI_NETWORK
// (EnvNetwork) chooses the pods' network.
package cri

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	containerd "github.com/containerd/containerd"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/platforms"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/wasicert/wasicert/internal/capture"
	"github.com/wasicert/wasicert/internal/ociimage"
	"github.com/wasicert/wasicert/internal/trap"
	"github.com/wasicert/wasicert/runners"
)

const (
	// Name is the registered runtime.
	Name = "cri"
	// EnvEndpoint is the CRI socket, unix:///PATH (or a bare path).
	EnvEndpoint = "WASICERT_CRI_ENDPOINT"
	// EnvRuntimeHandler is the runtime handler, as a RuntimeClass names it.
	EnvRuntimeHandler = "WASICERT_CRI_RUNTIME_HANDLER"
	// EnvStateDir holds the pods' log directories; default a temp dir.
	EnvStateDir = "WASICERT_CRI_STATE_DIR"
	// ImageNamespace is where containerd's CRI plugin keeps its images.
	ImageNamespace = "k8s.io"
	// PodNamespace is the Kubernetes namespace of the runner's pods.
	PodNamespace = "wasicert"
	// PodHostname is every pod's hostname, as kubelet sets a pod's name.
	PodHostname = "wasicert-probe"
)

// KubeletEnv is the service-link environment kubelet gives every container
// (pkg/kubelet/envvars: the "kubernetes" service in the default namespace,
// here at the kubeadm default service IP 10.96.0.1:443).
var KubeletEnv = []string{
	"KUBERNETES_SERVICE_HOST=10.96.0.1",
	"KUBERNETES_SERVICE_PORT=443",
	"KUBERNETES_SERVICE_PORT_HTTPS=443",
	"KUBERNETES_PORT=tcp://10.96.0.1:443",
	"KUBERNETES_PORT_443_TCP=tcp://10.96.0.1:443",
	"KUBERNETES_PORT_443_TCP_PROTO=tcp",
	"KUBERNETES_PORT_443_TCP_PORT=443",
	"KUBERNETES_PORT_443_TCP_ADDR=10.96.0.1",
}

// containerdEnv is what containerd's CRI plugin adds to every container: its
// default spec's PATH (oci/spec.go defaultUnixEnv) and HOSTNAME, the pod's
// hostname (internal/cri/server/container_create_linux.go).
var containerdEnv = []string{
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOSTNAME=" + PodHostname,
}

func init() {
	runners.Register(Name, func() (runners.Runner, error) {
		ep := os.Getenv(EnvEndpoint)
		if ep == "" {
			return nil, fmt.Errorf("cri: %s is not set (the CRI socket, e.g. unix:///run/containerd/containerd.sock; or --cri-endpoint): %w", EnvEndpoint, runners.ErrNotInstalled)
		}
		h := os.Getenv(EnvRuntimeHandler)
		if h == "" {
			return nil, fmt.Errorf("cri: %s is not set (the wasm runtime handler, as a RuntimeClass names it, e.g. wazero; or --runtime-handler): %w", EnvRuntimeHandler, runners.ErrNotInstalled)
		}
		hostNet, err := networkFromEnv()
		if err != nil {
			return nil, err
		}
		images, err := imagesFromEnv()
		if err != nil {
			return nil, err
		}
		return New(Options{Endpoint: ep, RuntimeHandler: h, StateDir: os.Getenv(EnvStateDir), HostNetwork: hostNet,
			Images: images, RegistryAddr: os.Getenv(EnvRegistryAddr)})
	})
}

// Options configure a Runner.
type Options struct {
	// Name is what Name returns; default "cri".
	Name string
	// Endpoint is the CRI socket: unix:///PATH or PATH.
	Endpoint string
	// RuntimeHandler is the runtime handler of every pod.
	RuntimeHandler string
	// StateDir holds the pods' log dirs; default a temp dir removed by Close.
	StateDir string
	// Snapshotter is the CRI's snapshotter, which imported images are
	// unpacked for (containerd's CRI unpacks only what it pulled itself);
	// default the one its image filesystem names (ImageFsInfo).
	Snapshotter string
	// HostNetwork runs the pods on the node's network (NamespaceMode NODE,
	// hostNetwork: true) instead of a pod network of their own (POD, set up
	// by the node's CNI).
	HostNetwork bool
	// Images is how the runtime gets the probe images: ImagesImport into
	// containerd through its own API on the CRI socket, or ImagesRegistry,
	// served by the runner (registry.go) and pulled with the CRI's
	// PullImage; default import on containerd, registry otherwise.
	Images string
	// RegistryAddr is where ImagesRegistry's registry listens; default
	// 127.0.0.1 on a free port. The runtime must reach it: on a pod
	// network's node the runner's loopback is the node's only with
	// hostNetwork.
	RegistryAddr string
}

// Runner runs modules as pods through a CRI endpoint.
type Runner struct {
	opts     Options
	sock     string
	conn     *grpc.ClientConn
	rt       criapi.RuntimeServiceClient
	img      criapi.ImageServiceClient
	version  string
	ownState bool
	// isContainerd: the endpoint is containerd's CRI plugin.
	isContainerd bool
	// registry serves the images (Options.Images = ImagesRegistry).
	registry *registry

	mu       sync.Mutex
	ctrd     *containerd.Client // for image import, made on first use
	images   map[string]string  // module digest:path -> image ref
	importMu sync.Mutex
}

var _ io.Closer = (*Runner)(nil)

// New connects to the CRI endpoint and asks its version. A missing socket
// is an error wrapping runners.ErrNotInstalled.
func New(o Options) (*Runner, error) {
	if o.Name == "" {
		o.Name = Name
	}
	sock := strings.TrimPrefix(o.Endpoint, "unix://")
	if sock == "" || !filepath.IsAbs(sock) {
		return nil, fmt.Errorf("cri: endpoint %q: want unix:///ABSOLUTE/PATH: %w", o.Endpoint, runners.ErrNotInstalled)
	}
	if st, err := os.Stat(sock); err != nil || st.Mode()&os.ModeSocket == 0 {
		return nil, fmt.Errorf("cri: socket %s is absent (is the runtime running?): %w", sock, runners.ErrNotInstalled)
	}
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		return nil, fmt.Errorf("cri: %s: %w", sock, err)
	}
	r := &Runner{opts: o, sock: sock, conn: conn, rt: criapi.NewRuntimeServiceClient(conn), img: criapi.NewImageServiceClient(conn), images: map[string]string{}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := r.rt.Version(ctx, &criapi.VersionRequest{})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("cri: %s does not answer the CRI v1 runtime service (is its CRI plugin enabled?): %w", sock, err)
	}
	r.version = fmt.Sprintf("%s %s, CRI %s (handler %s), %s", v.RuntimeName, strings.TrimPrefix(v.RuntimeVersion, "v"), v.RuntimeApiVersion, o.RuntimeHandler, networkName(o.HostNetwork))
	if o.StateDir == "" {
		d, err := os.MkdirTemp("", "wasicert-cri-")
		if err != nil {
			conn.Close()
			return nil, err
		}
		r.opts.StateDir, r.ownState = d, true
	} else if err := os.MkdirAll(o.StateDir, 0o755); err != nil {
		conn.Close()
		return nil, fmt.Errorf("cri: state dir: %w", err)
	}
	if r.opts.StateDir, err = filepath.Abs(r.opts.StateDir); err != nil {
		conn.Close()
		return nil, err
	}
	r.isContainerd = v.RuntimeName == "containerd"
	switch {
	case o.Images == "" && r.isContainerd:
		r.opts.Images = ImagesImport
	case o.Images == "" || o.Images == ImagesRegistry:
		r.opts.Images = ImagesRegistry
	case o.Images == ImagesImport && !r.isContainerd:
		conn.Close()
		return nil, fmt.Errorf("cri: %s is not containerd: its images cannot be imported; use %s=%s", r.version, EnvImages, ImagesRegistry)
	case o.Images != ImagesImport:
		conn.Close()
		return nil, fmt.Errorf("cri: Options.Images %q: want %q or %q", o.Images, ImagesImport, ImagesRegistry)
	}
	if r.opts.Images == ImagesRegistry {
		if r.registry, err = startRegistry(o.RegistryAddr); err != nil {
			conn.Close()
			return nil, err
		}
	}
	if r.opts.Snapshotter == "" && r.isContainerd {
		r.opts.Snapshotter = "overlayfs"
		// containerd's image filesystem is its snapshotter's root dir,
		// .../io.containerd.snapshotter.v1.NAME.
		if fs, err := r.img.ImageFsInfo(ctx, &criapi.ImageFsInfoRequest{}); err == nil && len(fs.ImageFilesystems) > 0 {
			base := filepath.Base(fs.ImageFilesystems[0].GetFsId().GetMountpoint())
			if name, ok := strings.CutPrefix(base, "io.containerd.snapshotter.v1."); ok && name != "" {
				r.opts.Snapshotter = name
			}
		}
	}
	return r, nil
}

// Name is Options.Name.
func (r *Runner) Name() string { return r.opts.Name }

// Version names the CRI runtime, its version, the CRI API version and the
// handler, and the pods' network, e.g. "containerd 2.2.9, CRI v1 (handler
// wazero), pod network".
func (r *Runner) Version() string { return r.version }

// Features: read-only preopens (read-only hostPath mounts) and the sock_*
// imports (wasm shims link preview 1 whole). No stdin (kubelet feeds a
// container's stdin only through an attach stream), no listeners.
func (r *Runner) Features() runners.Features {
	return append(runners.Features{runners.FeatureReadOnlyPreopen, runners.FeatureSockImports}, r.podFeatures()...)
}

// ImplicitPreopens: a wasm shim preopens the container's rootfs as "/".
func (r *Runner) ImplicitPreopens() []string { return []string{"/"} }

// InjectedEnv is kubelet's service env and, on containerd, its CRI plugin's
// PATH and HOSTNAME.
func (r *Runner) InjectedEnv() []string {
	env := append([]string{}, KubeletEnv...)
	if r.isContainerd {
		env = append(env, containerdEnv...)
	}
	return env
}

// Close removes the images the runner imported and its own state dir, and
// closes the connections.
func (r *Runner) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	r.mu.Lock()
	refs := make([]string, 0, len(r.images))
	for _, ref := range r.images {
		refs = append(refs, ref)
	}
	r.images = map[string]string{}
	ctrd := r.ctrd
	r.ctrd = nil
	r.mu.Unlock()
	for _, ref := range refs {
		if _, err := r.img.RemoveImage(ctx, &criapi.RemoveImageRequest{Image: &criapi.ImageSpec{Image: ref}}); err != nil {
			errs = append(errs, fmt.Errorf("cri runner: image %s left behind: %w", ref, err))
		}
	}
	if ctrd != nil {
		errs = append(errs, ctrd.Close())
	}
	if r.ownState {
		errs = append(errs, os.RemoveAll(r.opts.StateDir))
	}
	if r.registry != nil {
		errs = append(errs, r.registry.Close())
	}
	errs = append(errs, r.conn.Close())
	return errors.Join(errs...)
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsName makes s a DNS label fragment (pod and container names).
func dnsName(s string) string {
	s = strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if s == "" {
		s = "module"
	}
	if len(s) > 30 {
		s = s[:30]
	}
	return s
}

func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// image returns the ref of an image holding wasm at mpath, importing it on
// first use.
func (r *Runner) image(ctx context.Context, name string, wasm []byte, mpath string) (string, error) {
	sum := sha256.Sum256(wasm)
	dgst := hex.EncodeToString(sum[:])
	ph := sha256.Sum256([]byte(mpath))
	key := dgst + ":" + mpath
	r.importMu.Lock()
	defer r.importMu.Unlock()
	r.mu.Lock()
	ref, ok := r.images[key]
	r.mu.Unlock()
	if ok {
		return ref, nil
	}
	repo, tag := "wasicert.local/module/"+dnsName(name), dgst[:16]+"-"+hex.EncodeToString(ph[:4])
	ref = repo + ":" + tag
	layout, _, err := ociimage.Build(ociimage.Options{Name: ref, Module: wasm, Path: mpath})
	if err != nil {
		return "", err
	}
	if r.registry != nil {
		ref, err = r.registry.add("wasicert/module/"+dnsName(name), tag, layout)
		if err != nil {
			return "", err
		}
		if _, err := r.img.PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: ref, RuntimeHandler: r.opts.RuntimeHandler}}); err != nil {
			return "", fmt.Errorf("cri runner: PullImage %s from the runner's registry: %w", ref, err)
		}
	} else if err := r.importImage(ctx, layout, ref); err != nil {
		return "", err
	}
	r.mu.Lock()
	r.images[key] = ref
	r.mu.Unlock()
	// The CRI plugin learns of the image from containerd's events: wait
	// until its image service answers for it (bounded).
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := r.img.ImageStatus(ctx, &criapi.ImageStatusRequest{Image: &criapi.ImageSpec{Image: ref}})
		if err == nil && st.Image != nil {
			return ref, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return "", fmt.Errorf("cri runner: image %s was imported but the CRI image service does not list it: %v", ref, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// importImage imports layout as ref into containerd's k8s.io namespace,
// every platform kept (a wasi/wasm32 image would otherwise be filtered out).
func (r *Runner) importImage(ctx context.Context, layout []byte, ref string) error {
	r.mu.Lock()
	if r.ctrd == nil {
		c, err := containerd.New(r.sock, containerd.WithTimeout(5*time.Second))
		if err != nil {
			r.mu.Unlock()
			return fmt.Errorf("cri runner: containerd client on %s: %w", r.sock, err)
		}
		r.ctrd = c
	}
	c := r.ctrd
	r.mu.Unlock()
	ctx = namespaces.WithNamespace(ctx, ImageNamespace)
	imgs, err := c.Import(ctx, bytes.NewReader(layout), containerd.WithAllPlatforms(true),
		containerd.WithImageRefTranslator(func(string) string { return ref }))
	if err != nil {
		return fmt.Errorf("cri runner: import image %s: %w", ref, err)
	}
	for _, im := range imgs {
		if im.Name != ref {
			continue
		}
		if err := containerd.NewImageWithPlatform(c, im, platforms.Only(ociimage.Platform)).Unpack(ctx, r.opts.Snapshotter); err != nil {
			_ = c.ImageService().Delete(ctx, ref, images.SynchronousDelete())
			return fmt.Errorf("cri runner: unpack image %s for snapshotter %s: %w", ref, r.opts.Snapshotter, err)
		}
		return nil
	}
	for _, im := range imgs {
		_ = c.ImageService().Delete(ctx, im.Name, images.SynchronousDelete())
	}
	return fmt.Errorf("cri runner: import image %s: the layout holds no image of that name", ref)
}

// Run implements runners.Runner: one pod, one container.
func (r *Runner) Run(ctx context.Context, inv runners.Invocation) (res runners.Result, retErr error) {
	if err := inv.Validate(); err != nil {
		return res, err
	}
	if len(inv.Listeners) > 0 {
		return res, errors.New("cri runner: listeners are not supported")
	}
	if len(inv.Stdin) > 0 {
		return res, errors.New("cri runner: stdin is not supported (kubelet feeds a container's stdin only through the CRI's attach stream; the runner does not claim FeatureStdin)")
	}
	wasm := inv.Module.Bytes
	if len(wasm) == 0 {
		b, err := os.ReadFile(inv.Module.Path)
		if err != nil {
			return res, fmt.Errorf("cri runner: read module: %w", err)
		}
		wasm = b
	}
	mpath := filepath.Clean("/" + inv.Args[0])
	if mpath == "/" {
		return res, fmt.Errorf("cri runner: argv[0] %q does not name a file", inv.Args[0])
	}
	ref, err := r.image(ctx, inv.Module.Name, wasm, mpath)
	if err != nil {
		return res, err
	}

	cleanupCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	}
	name := dnsName(inv.Module.Name) + "-" + randomHex()
	logDir := filepath.Join(r.opts.StateDir, "pods", name)
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return res, fmt.Errorf("cri runner: log dir: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(logDir); err != nil {
			retErr = errors.Join(retErr, err)
		}
	}()
	termLog := filepath.Join(logDir, "termination-log")
	if err := os.WriteFile(termLog, nil, 0o666); err != nil {
		return res, fmt.Errorf("cri runner: termination log: %w", err)
	}
	sandboxCfg := &criapi.PodSandboxConfig{
		Metadata:     &criapi.PodSandboxMetadata{Name: name, Uid: randomHex() + randomHex(), Namespace: PodNamespace},
		Hostname:     PodHostname,
		LogDirectory: logDir,
		Labels:       map[string]string{"app.kubernetes.io/managed-by": "wasicert"},
		Linux: &criapi.LinuxPodSandboxConfig{
			SecurityContext: &criapi.LinuxSandboxSecurityContext{
				NamespaceOptions: &criapi.NamespaceOption{Network: r.networkMode()},
			},
		},
	}
	sb, err := r.rt.RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: sandboxCfg, RuntimeHandler: r.opts.RuntimeHandler})
	if err != nil {
		return res, fmt.Errorf("cri runner: RunPodSandbox (handler %s): %w", r.opts.RuntimeHandler, err)
	}
	podID := sb.PodSandboxId
	podGone := false
	defer func() {
		if podGone {
			return
		}
		cctx, cancel := cleanupCtx()
		defer cancel()
		if _, err := r.rt.StopPodSandbox(cctx, &criapi.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
			retErr = errors.Join(retErr, fmt.Errorf("cri runner: StopPodSandbox %s: %w", podID, err))
		}
		if _, err := r.rt.RemovePodSandbox(cctx, &criapi.RemovePodSandboxRequest{PodSandboxId: podID}); err != nil {
			retErr = errors.Join(retErr, fmt.Errorf("cri runner: pod %s left behind: RemovePodSandbox: %w", podID, err))
		}
	}()

	env := make([]*criapi.KeyValue, 0, len(inv.Env)+len(KubeletEnv))
	seen := map[string]bool{}
	for _, kv := range inv.Env {
		k, v, _ := strings.Cut(kv, "=")
		env = append(env, &criapi.KeyValue{Key: k, Value: []byte(v)})
		seen[k] = true
	}
	for _, kv := range KubeletEnv {
		if k, v, _ := strings.Cut(kv, "="); !seen[k] {
			env = append(env, &criapi.KeyValue{Key: k, Value: []byte(v)})
		}
	}
	mounts := make([]*criapi.Mount, 0, len(inv.Preopens)+1)
	for _, p := range inv.Preopens {
		mounts = append(mounts, &criapi.Mount{ContainerPath: p.GuestPath, HostPath: p.HostDir, Readonly: p.ReadOnly})
	}
	mounts = append(mounts, &criapi.Mount{ContainerPath: "/dev/termination-log", HostPath: termLog})
	kube, err := kubeletMounts(filepath.Join(logDir, "kubelet"), inv.Pod, PodHostname, r.hostNetwork())
	if err != nil {
		return res, fmt.Errorf("cri runner: kubelet's pod files: %w", err)
	}
	mounts = append(mounts, kube...)
	const logPath = "probe/0.log"
	cc, err := r.rt.CreateContainer(ctx, &criapi.CreateContainerRequest{
		PodSandboxId: podID,
		Config: &criapi.ContainerConfig{
			Metadata:   &criapi.ContainerMetadata{Name: "probe"},
			Image:      &criapi.ImageSpec{Image: ref},
			Command:    inv.Args,
			WorkingDir: "/",
			Envs:       env,
			Mounts:     mounts,
			LogPath:    logPath,
			Labels:     map[string]string{"app.kubernetes.io/managed-by": "wasicert"},
			Linux:      containerLinux(inv.Pod),
		},
		SandboxConfig: sandboxCfg,
	})
	if err != nil {
		return res, fmt.Errorf("cri runner: CreateContainer: %w", err)
	}
	cid := cc.ContainerId
	removed := false
	defer func() {
		if removed {
			return
		}
		cctx, cancel := cleanupCtx()
		defer cancel()
		if _, err := r.rt.RemoveContainer(cctx, &criapi.RemoveContainerRequest{ContainerId: cid}); err != nil {
			retErr = errors.Join(retErr, fmt.Errorf("cri runner: RemoveContainer %s: %w", cid, err))
		}
	}()
	start := time.Now()
	if _, err := r.rt.StartContainer(ctx, &criapi.StartContainerRequest{ContainerId: cid}); err != nil {
		return res, fmt.Errorf("cri runner: StartContainer (handler %s): %w", r.opts.RuntimeHandler, err)
	}
	timeout := inv.EffectiveTimeout()
	deadline := start.Add(timeout)
	var st *criapi.ContainerStatus
	timedOut, deleted := false, false
	if p := inv.Pod; p != nil {
		r.observe(ctx, p, podID, cid)
		switch p.Then {
		case runners.PodStop:
			sctx, cancel := context.WithTimeout(ctx, deleteTimeout)
			_, _ = r.rt.StopContainer(sctx, &criapi.StopContainerRequest{ContainerId: cid, Timeout: 0})
			cancel()
		case runners.PodDelete:
			st = r.deletePod(ctx, p, podID, cid)
			podGone, removed, deleted = p.Report.Deleted, p.Report.Deleted, true
		}
	}
	for delay := time.Millisecond; !deleted; delay = min(delay*2, 50*time.Millisecond) {
		s, err := r.rt.ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: cid})
		if err != nil {
			if ctx.Err() != nil {
				return res, fmt.Errorf("cri runner: interrupted: %w", ctx.Err())
			}
			return res, fmt.Errorf("cri runner: ContainerStatus: %w", err)
		}
		if s.Status.GetState() == criapi.ContainerState_CONTAINER_EXITED {
			st = s.Status
			break
		}
		if time.Now().After(deadline) {
			timedOut = true
			cctx, cancel := cleanupCtx()
			_, _ = r.rt.StopContainer(cctx, &criapi.StopContainerRequest{ContainerId: cid, Timeout: 0})
			if s, err := r.rt.ContainerStatus(cctx, &criapi.ContainerStatusRequest{ContainerId: cid}); err == nil {
				st = s.Status
			}
			cancel()
			break
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("cri runner: interrupted: %w", ctx.Err())
		case <-time.After(delay):
		}
	}
	res.Duration = time.Since(start)
	if inv.Pod != nil && !deleted {
		r.listRootfs(ctx, &inv.Pod.Report, cid)
	}
	// The log is complete once the container is removed (its IO closed).
	if !removed {
		cctx, cancel := cleanupCtx()
		_, err = r.rt.RemoveContainer(cctx, &criapi.RemoveContainerRequest{ContainerId: cid})
		cancel()
		if err != nil {
			return res, fmt.Errorf("cri runner: RemoveContainer %s: %w", cid, err)
		}
		removed = true
	}

	stdout, stderr := &capture.Output{}, &capture.Output{}
	stdout.Watch(inv.Canaries...)
	stderr.Watch(inv.Canaries...)
	if f, err := os.Open(filepath.Join(logDir, logPath)); err == nil {
		err = SplitLog(f, stdout, stderr)
		f.Close()
		if err != nil {
			return res, fmt.Errorf("cri runner: container log: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("cri runner: container log: %w", err)
	}
	capture.Fill(&res, stdout, stderr)
	res.ExitCode = -1
	if st == nil {
		st = &criapi.ContainerStatus{}
	}
	if st.State == criapi.ContainerState_CONTAINER_EXITED {
		res.ExitCode = int(st.ExitCode)
	}
	switch {
	case timedOut:
		res.Ended = runners.EndedTimeout
		res.Detail = fmt.Sprintf("stopped (StopContainer, timeout 0) after %s", timeout)
	default:
		res.Ended = runners.EndedExit
		if msg, ok := trap.FromShim(res.ExitCode, stderr.Tail()); ok {
			res.Ended, res.Detail = runners.EndedTrap, msg
		} else if st.Reason != "" && st.Reason != "Completed" && st.Reason != "Error" {
			// OOMKilled, ContainerCannotRun, ...: the runtime's, not the guest's.
			res.Ended, res.Detail = runners.EndedCrash, st.Reason+": "+st.Message
		}
	}
	return res, nil
}
