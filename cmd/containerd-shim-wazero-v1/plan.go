package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// EnvCacheDir names the directory for wazero's on-disk compile cache. It is
// read from the shim's own environment (inherited from containerd), never
// from the container's spec. Unset: no on-disk cache.
const EnvCacheDir = "WASICERT_SHIM_CACHE_DIR"

// Preopen is one directory the guest is granted.
type Preopen struct {
	Host, Guest string
	ReadOnly    bool
}

// Plan is everything the guest is granted, derived from the OCI spec by least
// privilege. Nothing from the shim's own process reaches it.
type Plan struct {
	Entrypoint string // host path of the module, inside the rootfs
	EntryGuest string // the module's path inside the container
	Args       []string
	Env        [][2]string
	Preopens   []Preopen
	Skipped    []string // mounts not granted, for the log
}

// nonBindTypes are mount types the shim never grants: WASI has no /proc,
// /sys, /dev or cgroups.
var nonBindTypes = []string{"proc", "sysfs", "tmpfs", "devpts", "mqueue", "cgroup", "cgroup2", "shm"}

func isBind(m specs.Mount) bool {
	if m.Type == "bind" || m.Type == "rbind" {
		return true
	}
	if slices.Contains(nonBindTypes, m.Type) {
		return false
	}
	return slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
}

// readOnly: "ro", or containerd 2.x's recursive "rro", makes a bind read-only.
func readOnly(options []string) bool {
	return slices.Contains(options, "ro") || slices.Contains(options, "rro")
}

// BuildPlan maps spec to a Plan, rootfs being the container's root on the host.
func BuildPlan(spec *specs.Spec, rootfs string) (*Plan, error) {
	if spec.Process == nil {
		return nil, errors.New("no entrypoint: the OCI spec has no process")
	}
	if spec.Process.Terminal {
		return nil, errors.New("a terminal (tty) was requested: the wazero shim has no tty support")
	}
	args := spec.Process.Args
	if len(args) == 0 || args[0] == "" {
		return nil, errors.New("no entrypoint: process.args is empty (the image sets no Entrypoint or Cmd and none was given)")
	}
	p := &Plan{Args: slices.Clone(args)}

	guest := args[0]
	if !path.IsAbs(guest) {
		cwd := spec.Process.Cwd
		if cwd == "" {
			cwd = "/"
		}
		guest = path.Join(cwd, guest)
	}
	p.EntryGuest = guest
	host, err := securejoin.SecureJoin(rootfs, guest)
	if err != nil {
		return nil, fmt.Errorf("entrypoint %q: %w", guest, err)
	}
	st, err := os.Stat(host)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("missing .wasm: entrypoint %q does not exist in the container's rootfs", guest)
	case err != nil:
		return nil, fmt.Errorf("entrypoint %q: %w", guest, err)
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("entrypoint %q is not a regular file", guest)
	}
	p.Entrypoint = host

	for _, kv := range spec.Process.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.ContainsRune(kv, 0) {
			return nil, fmt.Errorf("environment entry %q is not KEY=VALUE", kv)
		}
		p.Env = append(p.Env, [2]string{k, v})
	}

	p.Preopens = append(p.Preopens, Preopen{Host: rootfs, Guest: "/", ReadOnly: spec.Root != nil && spec.Root.Readonly})
	for _, m := range spec.Mounts {
		if !isBind(m) {
			p.Skipped = append(p.Skipped, m.Type+":"+m.Destination)
			continue
		}
		st, err := os.Stat(m.Source)
		if err != nil {
			return nil, fmt.Errorf("bind mount %s -> %s: %w", m.Source, m.Destination, err)
		}
		if !st.IsDir() {
			// WASI preopens are directories; a file bind (e.g. /etc/hosts) is not granted.
			p.Skipped = append(p.Skipped, "file-bind:"+m.Destination)
			continue
		}
		dest := path.Clean("/" + m.Destination)
		p.Preopens = append(p.Preopens, Preopen{Host: m.Source, Guest: dest, ReadOnly: readOnly(m.Options)})
	}
	return p, nil
}

// AnnotationMaxModule is the OCI annotation that sets the largest module
// the shim reads, in bytes (default DefaultMaxModule, at most
// MaxModuleCeiling).
const AnnotationMaxModule = "io.wasicert.shim.max-module-bytes"

const (
	DefaultMaxModule = 64 << 20
	MaxModuleCeiling = 1 << 30
)

// CheckModule fails when the entrypoint is larger than max bytes.
func (p *Plan) CheckModule(max int64) error {
	st, err := os.Stat(p.Entrypoint)
	if err != nil {
		return fmt.Errorf("entrypoint %q: %w", p.EntryGuest, err)
	}
	if st.Size() > max {
		return moduleTooLarge(p.EntryGuest, max)
	}
	return nil
}

// limits are what the spec bounds the guest process with beyond its cgroup.
type limits struct {
	maxModule   int64
	memoryPages uint32     // 0: wasm's own limit
	user        *guestUser // nil: root, the shim's own
}

// memoryReserve is what the guest process needs beside the guest's linear
// memory (the Go runtime, wazero, the compiled code): the guest may grow to
// linux.resources.memory.limit less this (less half the limit when the
// limit is small), so memory.grow fails before the OOM killer comes.
const memoryReserve = 32 << 20

// limitsOf reads the spec's process.user, linux.resources.memory.limit and
// the module size annotation.
func limitsOf(spec *specs.Spec) (limits, error) {
	l := limits{maxModule: DefaultMaxModule}
	if weakShim {
		l.maxModule = math.MaxInt64 - 1
		return l, nil
	}
	if v, ok := spec.Annotations[AnnotationMaxModule]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n > MaxModuleCeiling {
			return l, fmt.Errorf("annotation %s=%q: want a byte count from 1 to %d", AnnotationMaxModule, v, MaxModuleCeiling)
		}
		l.maxModule = n
	}
	if spec.Process != nil {
		// process.user.username is Windows-only (runc ignores it too).
		u := spec.Process.User
		l.user = &guestUser{UID: u.UID, GID: u.GID, Groups: u.AdditionalGids}
	}
	if spec.Linux != nil && spec.Linux.Resources != nil && spec.Linux.Resources.Memory != nil && spec.Linux.Resources.Memory.Limit != nil {
		limit := *spec.Linux.Resources.Memory.Limit
		if limit > 0 {
			reserve := int64(memoryReserve)
			if reserve > limit/2 {
				reserve = limit / 2
			}
			pages := (limit - reserve) >> 16
			if pages < 1 {
				pages = 1
			}
			if pages < 65536 {
				l.memoryPages = uint32(pages)
			}
		}
	}
	return l, nil
}

func wazeroVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/tetratelabs/wazero" {
				return d.Version
			}
		}
	}
	return "unknown"
}
