package weakened

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/wasicert/wasicert/runners"
)

// OldShim emulates, on an embedded runtime r that preopens host
// directories with its own directory mounts (wazero's, which open device
// nodes and cross mount points), a container platform the way wasicert's
// first containerd shim granted an image and an OCI spec: the image's
// files (Invocation.ImageFiles, device nodes made with mknod) in a rootfs
// preopened as "/", every bind mount (Invocation.Mounts) preopened at its
// destination with its submounts whatever its options, and tmpfs mounts
// skipped (writes land in the image's rootfs). It claims
// runners.FeatureContainer. It is the in-process negative control of the
// shim.device-nodes, shim.tmpfs and shim.bind-nonrecursive specs; the same
// weaknesses through real containerd are the shim built with the
// wasicert_weakened tag (ci/containerd/suite.sh). Device nodes need root.
func OldShim(r runners.Runner) runners.Runner { return oldShim{r} }

type oldShim struct{ runners.Runner }

func (o oldShim) Name() string { return o.Runner.Name() + " (as the first containerd shim)" }

func (o oldShim) Features() runners.Features {
	return append(slices.Clone(o.Runner.Features()), runners.FeatureContainer)
}

// ImplicitPreopens: the rootfs, as "/".
func (oldShim) ImplicitPreopens() []string { return []string{"/"} }

// InjectedEnv: none.
func (oldShim) InjectedEnv() []string { return nil }

func (o oldShim) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	rootfs, err := os.MkdirTemp("", "wasicert-oldshim-")
	if err != nil {
		return runners.Result{}, err
	}
	defer os.RemoveAll(rootfs)
	wasm := inv.Module.Bytes
	if len(wasm) == 0 {
		if wasm, err = os.ReadFile(inv.Module.Path); err != nil {
			return runners.Result{}, err
		}
	}
	if err := os.WriteFile(filepath.Join(rootfs, filepath.Clean("/"+inv.Args[0])), wasm, 0o755); err != nil {
		return runners.Result{}, err
	}
	var c runners.Container
	if inv.Container != nil {
		c = *inv.Container
	}
	for _, f := range c.ImageFiles {
		p := filepath.Join(rootfs, filepath.Clean("/"+f.Path))
		switch f.Type {
		case "dir":
			err = os.MkdirAll(p, 0o755)
		case "char":
			err = unix.Mknod(p, syscall.S_IFCHR|0o666, int(unix.Mkdev(f.Major, f.Minor)))
		case "block":
			err = unix.Mknod(p, syscall.S_IFBLK|0o666, int(unix.Mkdev(f.Major, f.Minor)))
		case "fifo":
			err = unix.Mkfifo(p, 0o666)
		default:
			err = fmt.Errorf("unknown type %q", f.Type)
		}
		if err != nil {
			return runners.Result{}, fmt.Errorf("old shim: image file %s: %w", f.Path, err)
		}
	}
	pre := []runners.Preopen{{GuestPath: "/", HostDir: rootfs}}
	pre = append(pre, inv.Preopens...)
	for _, m := range c.Mounts {
		if m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind") {
			pre = append(pre, runners.Preopen{GuestPath: m.Destination, HostDir: m.Source,
				ReadOnly: slices.Contains(m.Options, "ro")})
		}
	}
	inv.Preopens, inv.Container = pre, nil
	return o.Runner.Run(ctx, inv)
}
