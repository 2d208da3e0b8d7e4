package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/runtime/v2/shim"
	"github.com/containerd/log"
)

// EnvSocketDir names the directory for the shim's ttrpc socket. containerd
// passes its own environment to the shim, so an operator running a private
// containerd sets it there; unset, the socket goes to /run/containerd/s like
// every other shim.
const EnvSocketDir = "WASICERT_SHIM_SOCKET_DIR"

type manager struct{ name string }

func newManager(name string) shim.Manager { return manager{name: name} }

func (m manager) Name() string { return m.name }

func socketAddress(ctx context.Context, containerdAddress, id string) (string, error) {
	dir := os.Getenv(EnvSocketDir)
	if dir == "" {
		return shim.SocketAddress(ctx, containerdAddress, id)
	}
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return "", err
	}
	d := sha256.Sum256([]byte(filepath.Join(containerdAddress, ns, id)))
	return fmt.Sprintf("unix://%s/%x", dir, d), nil
}

// Start re-executes the shim as a long-lived server with the listening
// socket as fd 3 and prints the socket address (plain v2 bootstrap).
func (m manager) Start(ctx context.Context, id string, opts shim.StartOpts) (_ string, retErr error) {
	ns, err := namespaces.NamespaceRequired(ctx)
	if err != nil {
		return "", err
	}
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	address, err := socketAddress(ctx, opts.Address, grouping(id, cwd))
	if err != nil {
		return "", err
	}
	socket, err := shim.NewSocket(address)
	if err != nil {
		if !shim.SocketEaddrinuse(err) {
			return "", fmt.Errorf("create shim socket %s: %w", address, err)
		}
		if shim.CanConnect(address) {
			if err := shim.WriteAddress("address", address); err != nil {
				return "", err
			}
			return address, nil
		}
		if err := shim.RemoveSocket(address); err != nil && !os.IsNotExist(err) {
			return "", fmt.Errorf("remove stale shim socket: %w", err)
		}
		if socket, err = shim.NewSocket(address); err != nil {
			return "", fmt.Errorf("create shim socket %s: %w", address, err)
		}
	}
	defer func() {
		if retErr != nil {
			socket.Close()
			_ = shim.RemoveSocket(address)
		}
	}()
	if err := shim.WriteAddress("address", address); err != nil {
		return "", err
	}
	f, err := socket.File()
	if err != nil {
		return "", err
	}
	defer f.Close()

	args := []string{"-namespace", ns, "-id", id, "-address", opts.Address}
	if opts.Debug {
		args = append(args, "-debug")
	}
	cmd := exec.Command(self, args...)
	cmd.Dir = cwd
	cmd.Env = os.Environ()
	cmd.ExtraFiles = []*os.File{f}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	go cmd.Wait()
	return address, nil
}

// grouping is the shim a task is served by, as containerd's runc shim
// groups them: a container of a pod (annotation io.kubernetes.cri.sandbox-id
// in the bundle's config.json) goes to its sandbox's shim, so one shim
// serves a pod; anything else gets a shim of its own. The shim exits when
// its last task is deleted (Shutdown).
func grouping(id, bundle string) string {
	spec, err := readSpec(bundle)
	if err != nil {
		return id
	}
	if g := spec.Annotations[AnnotationSandboxID]; g != "" {
		return g
	}
	return id
}

// Stop is the "delete" action containerd runs when a shim is gone: it makes
// sure nothing stays mounted under the bundle and removes the dead shim's
// socket.
func (m manager) Stop(ctx context.Context, id string) (shim.StopStatus, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return shim.StopStatus{}, err
	}
	bundle := filepath.Join(filepath.Dir(cwd), id)
	if err := mount.UnmountRecursive(filepath.Join(bundle, "rootfs"), 0); err != nil {
		log.G(ctx).WithError(err).Warn("unmount rootfs")
	}
	// The socket goes only when no shim answers on it: a pod's shim serves
	// the pod's other tasks.
	if address, err := shim.ReadAddress(filepath.Join(bundle, "address")); err == nil && !shim.CanConnect(address) {
		if err := shim.RemoveSocket(address); err != nil && !os.IsNotExist(err) {
			log.G(ctx).WithError(err).Warn("remove shim socket")
		}
	}
	return shim.StopStatus{ExitedAt: time.Now(), ExitStatus: 128 + int(syscall.SIGKILL)}, nil
}
