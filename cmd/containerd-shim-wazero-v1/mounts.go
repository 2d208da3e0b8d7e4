package main

import (
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"

	"github.com/containerd/containerd/mount"
	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/wasicert/wasicert/internal/confinedfs"
)

// KernelMount is one OCI mount the shim makes for real inside the rootfs:
// a tmpfs (its own, with the spec's size, mode and flags) or a
// non-recursive bind (the source without its submounts).
type KernelMount struct {
	Mount specs.Mount
	// Dest is the cleaned destination inside the container.
	Dest string
	// Preopen grants the mount at Dest as a preopen of its own.
	Preopen bool
	// File: a bind of one regular file onto a file at Dest (never a
	// preopen: the rootfs preopen reaches it).
	File    bool
	Devices []confinedfs.Device
}

// MountAll makes p.Mounts inside rootfs, in order, and adds a preopen for
// each one that asks for it. Each destination is resolved and made inside
// the rootfs through an os.Root (a symlink in the image cannot move a mount
// outside it) and mounted on the directory that resolution opened. undo
// unmounts them all in reverse order; on error nothing stays mounted.
func (p *Plan) MountAll(rootfs string) (_ func() error, err error) {
	var targets []string
	undo := func() error {
		var errs []error
		for _, t := range slices.Backward(targets) {
			if err := mount.UnmountRecursive(t, 0); err != nil {
				errs = append(errs, err)
			}
		}
		targets = nil
		return errors.Join(errs...)
	}
	if len(p.Mounts) == 0 {
		return undo, nil
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	defer func() {
		if err != nil {
			_ = undo()
		}
	}()
	for _, km := range p.Mounts {
		mp := mountpoint
		if km.File {
			mp = filepoint
		}
		target, err := mp(root, rootfs, km.Dest)
		if err != nil {
			return nil, fmt.Errorf("mount %s: %w", km.Dest, err)
		}
		m := mount.Mount{Type: km.Mount.Type, Source: km.Mount.Source, Options: km.Mount.Options}
		if km.Mount.Type != "tmpfs" {
			// A non-recursive bind: "bind" only, whatever else it says
			// about recursion, plus its flags (ro, nodev, ...).
			m.Type = "bind"
			m.Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return o == "rbind" || o == "rro" })
			if !slices.Contains(m.Options, "bind") {
				m.Options = append(m.Options, "bind")
			}
		} else if m.Source == "" {
			m.Source = "tmpfs"
		}
		if err := m.Mount(target); err != nil {
			return nil, fmt.Errorf("mount %s %s: %w", km.Mount.Type, km.Dest, err)
		}
		targets = append(targets, target)
		if km.Preopen {
			p.Preopens = append(p.Preopens, Preopen{Host: target, Guest: km.Dest, ReadOnly: readOnly(km.Mount.Options), Devices: km.Devices})
		}
	}
	return undo, nil
}

// mountpoint makes dest (a directory) inside the rootfs through root and
// returns its host path with every symlink resolved inside the rootfs.
func mountpoint(root *os.Root, rootfs, dest string) (string, error) {
	rel := strings.TrimPrefix(dest, "/")
	if rel == "" {
		return "", errors.New("a mount over the rootfs itself is not supported")
	}
	if err := root.MkdirAll(rel, 0o755); err != nil {
		return "", err
	}
	d, err := root.OpenFile(rel, unix.O_PATH|syscall.O_DIRECTORY, 0)
	if err != nil {
		return "", err
	}
	defer d.Close()
	// The directory resolution reached, by its path: the guest has not
	// started, so nothing inside the rootfs moves it before the mount.
	target, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", d.Fd()))
	if err != nil {
		return "", err
	}
	if target != rootfs && !strings.HasPrefix(target, strings.TrimSuffix(rootfs, "/")+"/") {
		return "", fmt.Errorf("resolves to %s, outside the rootfs %s", target, rootfs)
	}
	return target, nil
}

// filepoint makes dest (a regular file, created empty when absent, its
// parent directories too) inside the rootfs through root and returns its
// host path with every symlink resolved inside the rootfs: the mount point
// of a file bind. Anything at dest that is not a regular file (a directory,
// a FIFO, a device node of the image) is an error.
func filepoint(root *os.Root, rootfs, dest string) (string, error) {
	// Symlinks in the image resolve as if the rootfs were "/" (as runc
	// does: Docker images link /etc/resolv.conf elsewhere); os.Root then
	// refuses anything that would still leave it.
	host, err := securejoin.SecureJoin(rootfs, dest)
	if err != nil {
		return "", err
	}
	rel := strings.TrimPrefix(strings.TrimPrefix(host, strings.TrimSuffix(rootfs, "/")), "/")
	if rel == "" || rel == host {
		return "", errors.New("a file bind over the rootfs itself is not supported")
	}
	if dir := path.Dir(rel); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
	}
	// O_NONBLOCK: a FIFO in the image at dest must not block the create.
	f, err := root.OpenFile(rel, os.O_RDONLY|os.O_CREATE|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0o644)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("the image has a %s there, not a regular file", st.Mode().Type())
	}
	target, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(target, strings.TrimSuffix(rootfs, "/")+"/") {
		return "", fmt.Errorf("resolves to %s, outside the rootfs %s", target, rootfs)
	}
	return target, nil
}
