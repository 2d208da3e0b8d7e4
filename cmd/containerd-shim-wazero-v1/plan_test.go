package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	apitypes "github.com/containerd/containerd/api/types"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"
)

func TestInfo(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "shim")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-info").Output()
	if err != nil {
		t.Fatal(err)
	}
	var info apitypes.RuntimeInfo
	if err := proto.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	if info.Name != RuntimeName || info.Version.GetVersion() != Version {
		t.Errorf("info %v", &info)
	}
}

func TestBuildPlan(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "m.wasm"), []byte("\x00asm\x01\x00\x00\x00"), 0o644)
	os.Symlink("/../../etc/passwd", filepath.Join(root, "escape.wasm"))
	data := t.TempDir()
	spec := &specs.Spec{
		Process: &specs.Process{Args: []string{"m.wasm", "x"}, Env: []string{"A=1", "B="}, Cwd: "/"},
		Root:    &specs.Root{Path: "rootfs"},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid"}},
			{Destination: "/data", Type: "bind", Source: data, Options: []string{"rbind", "ro"}},
			{Destination: "/rw", Type: "none", Source: data, Options: []string{"rbind", "rw"}},
			{Destination: "/rro", Type: "bind", Source: data, Options: []string{"rbind", "rro"}},
		},
	}
	p, err := BuildPlan(spec, root)
	if err != nil {
		t.Fatal(err)
	}
	if p.EntryGuest != "/m.wasm" || p.Args[0] != "m.wasm" || len(p.Env) != 2 || p.Env[1] != [2]string{"B", ""} {
		t.Errorf("plan %+v", p)
	}
	want := []Preopen{{Host: root, Guest: "/"}, {Host: data, Guest: "/data", ReadOnly: true}, {Host: data, Guest: "/rw"}, {Host: data, Guest: "/rro", ReadOnly: true}}
	if len(p.Preopens) != len(want) {
		t.Fatalf("preopens %+v", p.Preopens)
	}
	for i := range want {
		if !reflect.DeepEqual(p.Preopens[i], want[i]) {
			t.Errorf("preopen %d: %+v want %+v", i, p.Preopens[i], want[i])
		}
	}
	for _, c := range []struct {
		args []string
		env  []string
		want string
	}{
		{nil, nil, "no entrypoint"},
		{[]string{"/nope.wasm"}, nil, "missing .wasm"},
		{[]string{"/escape.wasm"}, nil, "missing .wasm"}, // symlink resolved inside the rootfs
		{[]string{"/m.wasm"}, []string{"NOEQUALS"}, "not KEY=VALUE"},
	} {
		s := *spec
		s.Process = &specs.Process{Args: c.args, Env: c.env}
		if _, err := BuildPlan(&s, root); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.args, err, c.want)
		}
	}
}

// TestProcessLimitsFromSpec: process.rlimits and oomScoreAdj reach the guest
// process's config; unknown rlimits and the fields the shim does not
// support are refused with a message naming them.
func TestProcessLimitsFromSpec(t *testing.T) {
	adj := 500
	spec := &specs.Spec{Process: &specs.Process{Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 64, Hard: 128}}, OOMScoreAdj: &adj}}
	l, err := limitsOf(spec)
	if err != nil || len(l.rlimits) != 1 || l.rlimits[0] != (guestRlimit{Type: "RLIMIT_NOFILE", Soft: 64, Hard: 128}) || l.oomScoreAdj == nil || *l.oomScoreAdj != 500 {
		t.Fatalf("limitsOf = %+v, %v", l, err)
	}
	for name, p := range map[string]*specs.Process{
		"RLIMIT_BOGUS":    {Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_BOGUS"}}},
		"scheduler":       {Scheduler: &specs.Scheduler{}},
		"ioPriority":      {IOPriority: &specs.LinuxIOPriority{}},
		"execCPUAffinity": {ExecCPUAffinity: &specs.CPUAffinity{}},
	} {
		if _, err := limitsOf(&specs.Spec{Process: p}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: %v, want a refusal naming it", name, err)
		}
	}
}
