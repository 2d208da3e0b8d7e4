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

	"github.com/wasicert/wasicert/internal/confinedfs"
)

// EnvCacheDir names the directory for wazero's on-disk compile cache. It is
// read from the shim's own environment (inherited from containerd), never
// from the container's spec. Unset: no on-disk cache.
const EnvCacheDir = "WASICERT_SHIM_CACHE_DIR"

// Preopen is one directory the guest is granted.
type Preopen struct {
	Host, Guest string
	ReadOnly    bool
	// Devices are the device nodes under Host the guest may open: the
	// spec's linux.devices, none on a nodev bind.
	Devices []confinedfs.Device
}

// Plan is everything the guest is granted, derived from the OCI spec by least
// privilege. Nothing from the shim's own process reaches it.
type Plan struct {
	Entrypoint string // host path of the module, inside the rootfs
	EntryGuest string // the module's path inside the container
	Args       []string
	Env        [][2]string
	Preopens   []Preopen
	// Mounts are the kernel mounts the shim makes inside the rootfs before
	// the guest starts (tmpfs, non-recursive binds), in spec order; the
	// Preopens that name them are filled in by MountAll.
	Mounts  []KernelMount
	Skipped []string // mounts not granted, for the log
}

// mootTypes are mount types that are moot for a WASI guest: it has no
// /proc, /sys, ptys, POSIX message queues or cgroup files to use (see
// docs/shim.md). They are skipped and logged.
// shmDir is the destination of POSIX shared memory (shm_open), which a
// WASI guest cannot use: a mount there is never granted.
const shmDir = "/dev/shm"

var mootTypes = []string{"proc", "sysfs", "devpts", "mqueue", "cgroup", "cgroup2"}

func isBind(m specs.Mount) bool {
	if m.Type == "bind" || m.Type == "rbind" {
		return true
	}
	if slices.Contains(mootTypes, m.Type) || m.Type == "tmpfs" {
		return false
	}
	return slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
}

// recursive: "rbind" (and containerd 2.x's "rro") binds the source with
// its submounts; a plain "bind" does not.
func recursive(m specs.Mount) bool {
	return m.Type == "rbind" || slices.Contains(m.Options, "rbind")
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
	for i, a := range args {
		if strings.ContainsRune(a, 0) {
			return nil, fmt.Errorf("process.args[%d] %q contains a NUL byte: a WASI argument is a C string", i, a)
		}
	}
	if err := refused(spec); err != nil {
		return nil, err
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

	devices, err := grantedDevices(spec)
	if err != nil {
		return nil, err
	}
	rootRO := spec.Root != nil && spec.Root.Readonly
	p.Preopens = append(p.Preopens, Preopen{Host: rootfs, Guest: "/", ReadOnly: rootRO, Devices: devices})
	for _, m := range spec.Mounts {
		dest := path.Clean("/" + m.Destination)
		switch {
		case dest == shmDir:
			// POSIX shared memory is moot for a wasm guest, and the CRI
			// binds the pod's /dev/shm (the node's own for a hostIPC pod)
			// into every container: never granted, whatever its type.
			p.Skipped = append(p.Skipped, m.Type+":"+dest+" (POSIX shm: moot for a wasm guest)")
			continue
		case m.Type == "tmpfs" && !weakenedMounts:
			// A tmpfs of its own, mounted at its destination inside the
			// rootfs (so the rootfs preopen reaches it, as in a Linux
			// container); preopened too when the rootfs is read-only, so
			// that it stays writable.
			p.Mounts = append(p.Mounts, KernelMount{Mount: m, Dest: dest, Preopen: rootRO})
			continue
		case !isBind(m):
			if !slices.Contains(mootTypes, m.Type) && m.Type != "tmpfs" {
				return nil, fmt.Errorf("mount %s of type %q is not supported by the wazero shim (supported: bind, rbind, tmpfs; moot for a wasm guest: %s)",
					dest, m.Type, strings.Join(mootTypes, ", "))
			}
			p.Skipped = append(p.Skipped, m.Type+":"+dest)
			continue
		}
		st, err := os.Stat(m.Source)
		if err != nil {
			return nil, fmt.Errorf("bind mount %s -> %s: %w", m.Source, m.Destination, err)
		}
		if !st.IsDir() {
			// WASI preopens are directories. A bind of a regular file (the
			// /etc/hostname, /etc/hosts and /etc/resolv.conf Docker writes
			// for each container) is a kernel bind of that file alone onto
			// its destination inside the rootfs, reached through the rootfs
			// preopen, read-only when asked. Other files (device nodes,
			// sockets, FIFOs) are moot: the guest cannot use them.
			if !st.Mode().IsRegular() || weakenedMounts {
				p.Skipped = append(p.Skipped, "file-bind:"+dest)
				continue
			}
			p.Mounts = append(p.Mounts, KernelMount{Mount: m, Dest: dest, File: true})
			continue
		}
		var devs []confinedfs.Device
		if !slices.Contains(m.Options, "nodev") {
			devs = devices
		}
		if !recursive(m) && !weakenedMounts {
			// The source alone, without its submounts: a kernel bind
			// mount (no MS_REC) inside the rootfs, preopened there.
			p.Mounts = append(p.Mounts, KernelMount{Mount: m, Dest: dest, Preopen: true, Devices: devs})
			continue
		}
		p.Preopens = append(p.Preopens, Preopen{Host: m.Source, Guest: dest, ReadOnly: readOnly(m.Options), Devices: devs})
	}
	return p, nil
}

// grantedDevices is the spec's linux.devices as confinedfs grants.
func grantedDevices(spec *specs.Spec) ([]confinedfs.Device, error) {
	if spec.Linux == nil {
		return nil, nil
	}
	var ds []confinedfs.Device
	for _, d := range spec.Linux.Devices {
		switch d.Type {
		case "c", "u":
			ds = append(ds, confinedfs.Device{Major: uint32(d.Major), Minor: uint32(d.Minor)})
		case "b":
			ds = append(ds, confinedfs.Device{Block: true, Major: uint32(d.Major), Minor: uint32(d.Minor)})
		case "p":
			// A FIFO has no device number to match: the entry grants the
			// guest FIFOs, opened blocking as a Linux container's would be.
			ds = append(ds, confinedfs.Device{FIFO: true})
		default:
			return nil, fmt.Errorf("linux.devices %s: type %q is not supported (the wazero shim grants character, block and FIFO devices only)", d.Path, d.Type)
		}
	}
	return ds, nil
}

// refused fails a spec that asks for what the shim cannot give: hooks,
// user namespaces, masked or read-only paths outside /proc and /sys. The
// message names the field (docs/shim.md has the whole table).
func refused(spec *specs.Spec) error {
	if h := spec.Hooks; h != nil {
		for _, c := range []struct {
			name  string
			hooks []specs.Hook
		}{{"prestart", h.Prestart}, {"createRuntime", h.CreateRuntime}, {"createContainer", h.CreateContainer},
			{"startContainer", h.StartContainer}, {"poststart", h.Poststart}, {"poststop", h.Poststop}} {
			if len(c.hooks) > 0 {
				return fmt.Errorf("OCI hooks are not supported: hooks.%s runs %s on the host, and the wazero shim has no container process or namespaces for a hook to act on (docker: use --network=none)",
					c.name, c.hooks[0].Path)
			}
		}
	}
	if l := spec.Linux; l != nil {
		if len(l.UIDMappings) > 0 || len(l.GIDMappings) > 0 || slices.ContainsFunc(l.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.UserNamespace }) {
			return errors.New("a user namespace (linux.namespaces user, linux.uidMappings, linux.gidMappings) is not supported by the wazero shim")
		}
		for _, c := range []struct {
			name  string
			paths []string
		}{{"maskedPaths", l.MaskedPaths}, {"readonlyPaths", l.ReadonlyPaths}} {
			for _, p := range c.paths {
				if q := path.Clean("/" + p); !strings.HasPrefix(q+"/", "/proc/") && !strings.HasPrefix(q+"/", "/sys/") {
					return fmt.Errorf("linux.%s %s is not supported: the wazero shim grants no /proc or /sys, and masks nothing else", c.name, p)
				}
			}
		}
	}
	return nil
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
	rlimits     []guestRlimit
	oomScoreAdj *int
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
	if p := spec.Process; p != nil {
		// process.user.username is Windows-only (runc ignores it too).
		u := p.User
		l.user = &guestUser{UID: u.UID, GID: u.GID, Groups: u.AdditionalGids}
		for _, r := range p.Rlimits {
			if _, ok := rlimitResources[r.Type]; !ok {
				return l, fmt.Errorf("process.rlimits: unknown type %q", r.Type)
			}
			l.rlimits = append(l.rlimits, guestRlimit{Type: r.Type, Soft: r.Soft, Hard: r.Hard})
		}
		l.oomScoreAdj = p.OOMScoreAdj
		switch {
		case p.Scheduler != nil:
			return l, errors.New("process.scheduler is not supported by the wazero shim (docs/shim.md)")
		case p.IOPriority != nil:
			return l, errors.New("process.ioPriority is not supported by the wazero shim (docs/shim.md)")
		case p.ExecCPUAffinity != nil:
			return l, errors.New("process.execCPUAffinity is not supported by the wazero shim (docs/shim.md)")
		}
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
