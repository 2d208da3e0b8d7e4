package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	taskAPI "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/namespaces"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/wasicert/wasicert/internal/trap"
)

// TestMain: the test binary is also the guest process the service starts
// (os.Executable re-executed with guestArg).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == guestArg {
		guestMain()
	}
	if len(os.Args) > 1 && os.Args[1] == holderArg {
		holderMain()
	}
	os.Exit(m.Run())
}

// testService is a task service without containerd: events are drained
// (the channel stays open: a guest's exit event may still be on its way).
func testService(t *testing.T) *service {
	if os.Geteuid() != 0 {
		t.Skip("the shim's guest processes need root (cgroups, setuid)")
	}
	s := &service{ctx: namespaces.WithNamespace(context.Background(), "wasicert-test"), events: make(chan interface{}, 16), tasks: map[string]*wtask{}}
	go func() {
		for range s.events {
		}
	}()
	return s
}

// bundle makes a bundle whose rootfs holds the module testdata/<name>.wasm
// of runners/containerd as /m.wasm.
func bundle(t *testing.T, name string) string {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join("..", "..", "runners", "containerd", "testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "rootfs"), 0o755)
	os.WriteFile(filepath.Join(dir, "rootfs", "m.wasm"), wasm, 0o644)
	spec, _ := json.Marshal(specs.Spec{Process: &specs.Process{Args: []string{"/m.wasm"}, Cwd: "/"}, Root: &specs.Root{Path: "rootfs"}})
	os.WriteFile(filepath.Join(dir, "config.json"), spec, 0o644)
	return dir
}

// killWithin starts the created task id, kills it with SIGKILL after a
// moment and wants it to end with 137 within a second.
func killWithin(t *testing.T, s *service, id string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Start(ctx, &taskAPI.StartRequest{ID: id}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if _, err := s.Kill(ctx, &taskAPI.KillRequest{ID: id, Signal: uint32(syscall.SIGKILL)}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	w, err := s.Wait(wctx, &taskAPI.WaitRequest{ID: id})
	if err != nil {
		t.Fatalf("the guest did not end within 5 s of SIGKILL: %v", err)
	}
	if d := time.Since(start); w.ExitStatus != 137 || d > time.Second {
		t.Errorf("exit status %d after %s, want 137 within 1 s", w.ExitStatus, d)
	}
	if _, err := s.Delete(ctx, &taskAPI.DeleteRequest{ID: id}); err != nil {
		t.Error(err)
	}
}

// A guest sleeping in poll_oneoff (a host call) ends at once on SIGKILL.
func TestKillSleepingGuest(t *testing.T) {
	s := testService(t)
	if _, err := s.Create(context.Background(), &taskAPI.CreateTaskRequest{ID: "sleep", Bundle: bundle(t, "sleep60")}); err != nil {
		t.Fatal(err)
	}
	killWithin(t, s, "sleep")
}

// A guest blocked writing a full stdout fifo ends at once on SIGKILL.
func TestKillBlockedWriter(t *testing.T) {
	s := testService(t)
	fifo := filepath.Join(t.TempDir(), "stdout")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0) // never read
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := s.Create(context.Background(), &taskAPI.CreateTaskRequest{ID: "flood", Bundle: bundle(t, "flood"), Stdout: fifo}); err != nil {
		t.Fatal(err)
	}
	killWithin(t, s, "flood")
}

// Concurrent Creates of one id: exactly one succeeds. Delete racing Start:
// never both succeed (Delete would release the engine of a running guest).
func TestCreateDeleteStartRaces(t *testing.T) {
	s := testService(t)
	ctx := context.Background()
	b := bundle(t, "sleep60")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "dup", Bundle: b})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errdefs.IsAlreadyExists(errdefs.FromGRPC(err)):
			t.Errorf("create: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent Creates of one id succeeded, want 1", ok)
	}
	if _, err := s.Delete(ctx, &taskAPI.DeleteRequest{ID: "dup"}); err != nil {
		t.Fatal(err)
	}

	for i := 0; i < 30; i++ {
		if _, err := s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "race", Bundle: b}); err != nil {
			t.Fatal(err)
		}
		var startErr, delErr error
		wg.Add(2)
		go func() { defer wg.Done(); _, startErr = s.Start(ctx, &taskAPI.StartRequest{ID: "race"}) }()
		go func() { defer wg.Done(); _, delErr = s.Delete(ctx, &taskAPI.DeleteRequest{ID: "race"}) }()
		wg.Wait()
		if startErr == nil && delErr == nil {
			t.Fatalf("round %d: Start and Delete both succeeded", i)
		}
		if delErr != nil {
			if _, err := s.Kill(ctx, &taskAPI.KillRequest{ID: "race", Signal: uint32(syscall.SIGKILL)}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Wait(ctx, &taskAPI.WaitRequest{ID: "race"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Delete(ctx, &taskAPI.DeleteRequest{ID: "race"}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// The "delete" action removes a dead shim's socket, named in <bundle>/address.
func TestStopRemovesSocket(t *testing.T) {
	bundle := filepath.Join(t.TempDir(), "c1")
	os.Mkdir(bundle, 0o755)
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // the shim died: its socket file stays
	os.WriteFile(filepath.Join(bundle, "address"), []byte("unix://"+sock), 0o644)
	t.Chdir(bundle)
	if _, err := newManager(RuntimeName).Stop(context.Background(), "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket %s still there after the delete action (%v)", sock, err)
	}
}

// The rootfs and the bind mounts are confined: a guest that writes through
// a symlink out of a bind (reldir -> ../outside), or through one it makes in
// its rootfs (esc -> ../../..), creates nothing outside them (wazero's own
// directory mounts follow both out: wazero #2321).
func TestMountsConfined(t *testing.T) {
	fs, err := os.ReadFile(filepath.Join("..", "..", "probes", "fs.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	host := t.TempDir()
	for _, d := range []string{"bundle/rootfs", "bind", "outside"} {
		os.MkdirAll(filepath.Join(host, d), 0o755)
	}
	os.WriteFile(filepath.Join(host, "bundle", "rootfs", "m.wasm"), fs, 0o644)
	if err := os.Symlink("../outside", filepath.Join(host, "bind", "reldir")); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(host, "outside")
	args := []string{"/m.wasm",
		"write", "bind", "/sandbox", "reldir/made-by-bind", "follow", "1", "X",
		"symlink", "mk", strings.Repeat("../", 12), "/", "esc",
		"write", "root", "/", "esc" + outside + "/made-by-root", "follow", "1", "X"}
	spec, _ := json.Marshal(specs.Spec{Process: &specs.Process{Args: args, Cwd: "/"}, Root: &specs.Root{Path: "rootfs"},
		Mounts: []specs.Mount{{Destination: "/sandbox", Type: "bind", Source: filepath.Join(host, "bind"), Options: []string{"rbind"}}}})
	os.WriteFile(filepath.Join(host, "bundle", "config.json"), spec, 0o644)

	s := testService(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "confined", Bundle: filepath.Join(host, "bundle")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(ctx, &taskAPI.StartRequest{ID: "confined"}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.Wait(wctx, &taskAPI.WaitRequest{ID: "confined"}); err != nil {
		t.Fatal(err)
	}
	s.Delete(ctx, &taskAPI.DeleteRequest{ID: "confined"})
	ents, _ := os.ReadDir(outside)
	for _, e := range ents {
		t.Errorf("the guest created %s outside its mounts", filepath.Join(outside, e.Name()))
	}
}

// A guest that traps: the shim ends the task with trap.ExitStatus and writes
// its trap line last on the task's stderr, and trap.FromShim (what the
// containerd runner reads the task's end with) reads it back as a trap with
// the engine's message.
func TestTrapReport(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "stderr")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	s := testService(t)
	ctx := context.Background()
	if _, err := s.Create(ctx, &taskAPI.CreateTaskRequest{ID: "trap", Bundle: bundle(t, "trap"), Stderr: fifo}); err != nil {
		t.Fatal(err)
	}
	stderr := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(r); stderr <- b }()
	if _, err := s.Start(ctx, &taskAPI.StartRequest{ID: "trap"}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	w, err := s.Wait(wctx, &taskAPI.WaitRequest{ID: "trap"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, &taskAPI.DeleteRequest{ID: "trap"}); err != nil {
		t.Error(err)
	}
	b := <-stderr
	msg, ok := trap.FromShim(int(w.ExitStatus), b)
	if !ok || !strings.Contains(msg, "unreachable") {
		t.Errorf("exit status %d, stderr %q: read as trap %v %q, want a trap naming unreachable", w.ExitStatus, b, ok, msg)
	}
}

// runBundle creates, starts and waits for task id of bundle, with its
// stdout and stderr in files; it returns the exit status and the output.
func runBundle(t *testing.T, s *service, id, bundle string) (uint32, string) {
	t.Helper()
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "out")
	if _, err := s.Create(ctx, &taskAPI.CreateTaskRequest{ID: id, Bundle: bundle, Stdout: "file://" + out}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(ctx, &taskAPI.StartRequest{ID: id}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	w, err := s.Wait(wctx, &taskAPI.WaitRequest{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, &taskAPI.DeleteRequest{ID: id}); err != nil {
		t.Error(err)
	}
	b, _ := os.ReadFile(out)
	return w.ExitStatus, string(b)
}

// specBundle makes a bundle whose rootfs holds probes/<probe>.wasm as
// /m.wasm, with spec's process args after it.
func specBundle(t *testing.T, probe string, spec specs.Spec) string {
	t.Helper()
	wasm, err := os.ReadFile(filepath.Join("..", "..", "probes", probe+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "rootfs"), 0o755)
	os.WriteFile(filepath.Join(dir, "rootfs", "m.wasm"), wasm, 0o644)
	spec.Process.Args = append([]string{"/m.wasm"}, spec.Process.Args...)
	spec.Process.Cwd = "/"
	spec.Root = &specs.Root{Path: "rootfs"}
	b, _ := json.Marshal(spec)
	os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
	return dir
}

// process.user: as uid 1000 the guest cannot read a root-only file in its
// bind, and reads a public one (the output goes to a file:// log URI).
func TestProcessUser(t *testing.T) {
	s := testService(t)
	data := t.TempDir()
	os.Chmod(data, 0o755)
	os.WriteFile(filepath.Join(data, "secret"), []byte("SECRET"), 0o600)
	os.WriteFile(filepath.Join(data, "public"), []byte("PUBLIC"), 0o644)
	for _, tc := range []struct {
		uid  uint32
		want bool
	}{{0, true}, {1000, false}} {
		b := specBundle(t, "fs", specs.Spec{
			Process: &specs.Process{User: specs.User{UID: tc.uid, GID: tc.uid}, Args: []string{"libc-open", "secret", "/data/secret", "libc-open", "public", "/data/public"}},
			Mounts:  []specs.Mount{{Destination: "/data", Type: "bind", Source: data, Options: []string{"rbind", "ro"}}},
		})
		status, out := runBundle(t, s, fmt.Sprintf("user%d", tc.uid), b)
		if status != 0 || strings.Contains(out, "SECRET") != tc.want || !strings.Contains(out, "PUBLIC") {
			t.Errorf("uid %d: exit %d, output %q: want the secret read %v and the public file read", tc.uid, status, out, tc.want)
		}
	}
}
