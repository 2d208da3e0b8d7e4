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
