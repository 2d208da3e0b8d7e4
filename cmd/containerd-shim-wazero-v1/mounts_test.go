package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestRefusedAtCreate: what the shim cannot give fails the plan with a
// message naming the field.
func TestRefusedAtCreate(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "m.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644)
	for _, c := range []struct {
		name string
		edit func(*specs.Spec)
		want string
	}{
		{"nul", func(s *specs.Spec) { s.Process.Args = append(s.Process.Args, "a\x00b") }, "contains a NUL byte"},
		{"hook", func(s *specs.Spec) { s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/usr/bin/true"}}} }, "hooks.createRuntime runs /usr/bin/true"},
		{"userns", func(s *specs.Spec) {
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.UserNamespace}}
		}, "user namespace"},
		{"masked", func(s *specs.Spec) { s.Linux.MaskedPaths = []string{"/proc/kcore", "/etc/shadow"} }, "maskedPaths /etc/shadow"},
		{"type", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Destination: "/x", Type: "overlay", Source: "overlay"}}
		}, `type "overlay" is not supported`},
		{"socket device", func(s *specs.Spec) { s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/s", Type: "s"}} }, `type "s" is not supported`},
	} {
		spec := &specs.Spec{Process: &specs.Process{Args: []string{"/m.wasm"}}, Linux: &specs.Linux{}}
		c.edit(spec)
		if _, err := BuildPlan(spec, root); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	// Moot mounts and containerd's default ones plan fine.
	spec := &specs.Spec{Process: &specs.Process{Args: []string{"/m.wasm"}}, Linux: &specs.Linux{MaskedPaths: []string{"/proc/kcore"}, ReadonlyPaths: []string{"/sys/fs"}},
		Mounts: []specs.Mount{{Destination: "/proc", Type: "proc"}, {Destination: "/sys", Type: "sysfs"}, {Destination: "/dev/pts", Type: "devpts"},
			{Destination: "/dev", Type: "tmpfs", Options: []string{"size=65536k"}}}}
	p, err := BuildPlan(spec, root)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Skipped) != 3 || len(p.Mounts) != 1 || p.Mounts[0].Preopen {
		t.Errorf("plan: skipped %v mounts %+v", p.Skipped, p.Mounts)
	}
}

// TestMountAll (root): a tmpfs is mounted for real in the rootfs with its
// size bound, and a non-recursive bind does not show the source's
// submounts; undo leaves nothing mounted. Under the wasicert_weakened tag
// (the old shim) both fail.
func TestMountAll(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounts need root")
	}
	rootfs, src := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(rootfs, "m.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644)
	os.WriteFile(filepath.Join(src, "visible.txt"), []byte("v"), 0o644)
	os.Mkdir(filepath.Join(src, "sub"), 0o755)
	if err := syscall.Mount("tmpfs", filepath.Join(src, "sub"), "tmpfs", 0, "size=64k"); err != nil {
		t.Fatal(err)
	}
	defer syscall.Unmount(filepath.Join(src, "sub"), syscall.MNT_DETACH)
	os.WriteFile(filepath.Join(src, "sub", "canary.txt"), []byte("CANARY"), 0o644)
	os.Mkdir(filepath.Join(rootfs, "scratch"), 0o755)
	os.Symlink("scratch", filepath.Join(rootfs, "tmp")) // an image symlink over a destination: resolved inside
	spec := &specs.Spec{Process: &specs.Process{Args: []string{"/m.wasm"}}, Root: &specs.Root{Readonly: true},
		Mounts: []specs.Mount{
			{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "size=16k", "mode=1777"}},
			{Destination: "/nr", Type: "bind", Source: src, Options: []string{"bind", "ro"}},
		}}
	p, err := BuildPlan(spec, rootfs)
	if err != nil {
		t.Fatal(err)
	}
	undo, err := p.MountAll(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	defer undo()
	var guests []string
	for _, pr := range p.Preopens {
		guests = append(guests, pr.Guest)
	}
	if strings.Join(guests, " ") != "/ /tmp /nr" {
		t.Errorf("preopens %v, want / /tmp /nr", guests)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Join(rootfs, "scratch"), &st); err != nil || st.Type != 0x01021994 {
		t.Errorf("rootfs/scratch (the image's /tmp link target) is not a tmpfs: %v %#x", err, st.Type)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "scratch", "big"), make([]byte, 64<<10), 0o644); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("64 KiB into a 16k tmpfs: %v, want ENOSPC", err)
	}
	if _, err := os.ReadFile(filepath.Join(rootfs, "nr", "visible.txt")); err != nil {
		t.Errorf("bind control: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(rootfs, "nr", "sub", "canary.txt")); err == nil {
		t.Errorf("a non-recursive bind shows its source's submount: read %q", b)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "nr", "new"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("write into a ro bind: %v, want EROFS", err)
	}
	if err := undo(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), rootfs) {
		t.Errorf("still mounted under %s after undo", rootfs)
	}
}

// TestFileBinds (root): a bind of a regular file (Docker's /etc/hostname,
// /etc/hosts, /etc/resolv.conf) is mounted onto that file alone inside the
// rootfs, read-only when asked: its content reads as the host wrote it,
// a write to the ro one fails with EROFS, nothing beside it in the source's
// directory shows, an image symlink at the destination is resolved inside
// the rootfs, a FIFO at a destination fails the plan without blocking, and
// undo leaves nothing mounted. Under the wasicert_weakened tag (the old
// shim) file binds are skipped and the test fails.
func TestFileBinds(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounts need root")
	}
	rootfs, src, outside := t.TempDir(), t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(rootfs, "m.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644)
	os.WriteFile(filepath.Join(src, "hostname"), []byte("c0ffee\n"), 0o644)
	os.WriteFile(filepath.Join(src, "hosts"), []byte("127.0.0.1 localhost\n"), 0o644)
	os.WriteFile(filepath.Join(src, "beside.txt"), []byte("BESIDE-CANARY"), 0o644)
	// The image links /etc/resolv.conf out of the rootfs: resolved inside.
	os.Mkdir(filepath.Join(rootfs, "etc"), 0o755)
	os.Symlink(filepath.Join(outside, "resolv.conf"), filepath.Join(rootfs, "etc", "resolv.conf"))
	os.WriteFile(filepath.Join(src, "resolv.conf"), []byte("nameserver 192.0.2.1\n"), 0o644)
	spec := &specs.Spec{Process: &specs.Process{Args: []string{"/m.wasm"}},
		Mounts: []specs.Mount{
			{Destination: "/etc/hostname", Type: "bind", Source: filepath.Join(src, "hostname"), Options: []string{"rbind", "rprivate", "ro"}},
			{Destination: "/etc/hosts", Type: "bind", Source: filepath.Join(src, "hosts"), Options: []string{"rbind", "rprivate"}},
			{Destination: "/etc/resolv.conf", Type: "bind", Source: filepath.Join(src, "resolv.conf"), Options: []string{"rbind", "rprivate"}},
		}}
	p, err := BuildPlan(spec, rootfs)
	if err != nil {
		t.Fatal(err)
	}
	undo, err := p.MountAll(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	defer undo()
	if len(p.Preopens) != 1 {
		t.Errorf("preopens %+v, want the rootfs alone (a file is never a preopen)", p.Preopens)
	}
	for name, want := range map[string]string{"hostname": "c0ffee\n", "hosts": "127.0.0.1 localhost\n"} {
		if b, err := os.ReadFile(filepath.Join(rootfs, "etc", name)); err != nil || string(b) != want {
			t.Errorf("/etc/%s in the rootfs: %q, %v; want %q", name, b, err, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(outside, "resolv.conf")); err == nil {
		t.Errorf("the image's symlink led the bind outside the rootfs: %q", b)
	}
	if b, err := os.ReadFile(filepath.Join(rootfs, outside, "resolv.conf")); err != nil || string(b) != "nameserver 192.0.2.1\n" {
		t.Errorf("resolv.conf through the image's link, inside the rootfs: %q, %v", b, err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "etc", "hostname"), []byte("x"), 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("write to the ro file bind: %v, want EROFS", err)
	}
	if b, _ := os.ReadFile(filepath.Join(src, "hostname")); string(b) != "c0ffee\n" {
		t.Errorf("the source of the ro bind changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(rootfs, "etc", "beside.txt")); err == nil {
		t.Errorf("a file beside the bound one shows in the rootfs")
	}
	if err := undo(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), rootfs) {
		t.Errorf("still mounted under %s after undo", rootfs)
	}

	// A FIFO in the image where a file bind goes: refused, never opened
	// blocking.
	if err := syscall.Mkfifo(filepath.Join(rootfs, "etc", "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec.Mounts = []specs.Mount{{Destination: "/etc/fifo", Type: "bind", Source: filepath.Join(src, "hosts"), Options: []string{"rbind"}}}
	if p, err = BuildPlan(spec, rootfs); err != nil {
		t.Fatal(err)
	}
	if undo, err := p.MountAll(rootfs); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		if err == nil {
			undo()
		}
		t.Errorf("file bind onto an image FIFO: %v, want an error naming it", err)
	}
}
