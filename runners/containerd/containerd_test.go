package containerd_test

//go:generate sh -c "for f in testdata/*.wat; do wat2wasm $f -o ${f%.wat}.wasm; done"

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/namespaces"

	"github.com/wasicert/wasicert/internal/ctrtest"
	"github.com/wasicert/wasicert/internal/ociimage"
	"github.com/wasicert/wasicert/internal/proctest"
	"github.com/wasicert/wasicert/runners"
	ctrd "github.com/wasicert/wasicert/runners/containerd"
)

func module(t *testing.T, name string) runners.Module {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return runners.Module{Name: name, Bytes: b, Digest: hex.EncodeToString(sum[:])}
}

func TestMissingSocket(t *testing.T) {
	_, err := ctrd.New(ctrd.Options{Address: "/nonexistent/containerd.sock"})
	if !errors.Is(err, runners.ErrNotInstalled) {
		t.Fatalf("want ErrNotInstalled, got %v", err)
	}
	t.Log(err)
	t.Setenv(ctrd.EnvAddress, "")
	for _, name := range registered() {
		if _, err := runners.Open(name); !errors.Is(err, runners.ErrNotInstalled) {
			t.Fatalf("registered runner %s: want ErrNotInstalled, got %v", name, err)
		}
	}
}

// registered are the registry names of the containerd runners.
func registered() []string {
	var names []string
	for _, n := range runners.Names() {
		if n == ctrd.Name || strings.HasPrefix(n, ctrd.Name+"-") {
			names = append(names, n)
		}
	}
	return names
}

// checkRegistry opens every registered containerd runtime on a running
// containerd: each is named by its registry name and its Version names its
// shim; runwasi's shims, not on PATH here, are not installed.
func checkRegistry(t *testing.T, address string) {
	t.Setenv(ctrd.EnvAddress, address)
	t.Setenv(ctrd.EnvStateDir, t.TempDir())
	want := map[string]string{
		"containerd":          "(io.containerd.wazero.v1)",
		"containerd-wazero":   "(io.containerd.wazero.v1)",
		"containerd-wasmtime": "not installed",
		"containerd-wasmedge": "not installed",
	}
	if got := registered(); len(got) != len(want) {
		t.Errorf("registered containerd runtimes %v, want %d", got, len(want))
	}
	for name, version := range want {
		r, err := runners.Open(name)
		switch {
		case version == "not installed":
			if !errors.Is(err, runners.ErrNotInstalled) {
				t.Errorf("%s: want not installed (no shim on PATH), got %v", name, err)
			}
			continue
		case err != nil:
			t.Errorf("%s: %v", name, err)
			continue
		}
		if r.Name() != name || !strings.HasSuffix(r.Version(), version) {
			t.Errorf("%s opens as %s %s", name, r.Name(), r.Version())
		}
		if err := r.(*ctrd.Runner).Close(); err != nil {
			t.Error(err)
		}
	}
	t.Setenv(ctrd.EnvRuntime, "io.containerd.wasmtime.v1")
	r, err := runners.Open("containerd")
	if err != nil {
		t.Fatal(err)
	}
	defer r.(*ctrd.Runner).Close()
	if r.Name() != "containerd" || !strings.HasSuffix(r.Version(), "(io.containerd.wasmtime.v1)") {
		t.Errorf("containerd with %s=io.containerd.wasmtime.v1 opens as %s %s", ctrd.EnvRuntime, r.Name(), r.Version())
	}
}

// buildShim builds the shim once into dir.
func buildShim(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "containerd-shim-wazero-v1")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/containerd-shim-wazero-v1")
	cmd.Dir = proctest.RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build shim: %v\n%s", err, out)
	}
	return bin
}

func TestContainerd(t *testing.T) {
	if r := ctrtest.SkipReason(); r != "" {
		t.Skip(r)
	}
	versions := []string{"1.6", "2"}
	if v := os.Getenv("WASICERT_CONTAINERD_VERSIONS"); v != "" {
		versions = strings.Fields(v)
	}
	shim := buildShim(t, t.TempDir())
	for _, v := range versions {
		t.Run("containerd-"+v, func(t *testing.T) {
			d, err := ctrtest.Start(v, shim)
			if errors.Is(err, ctrtest.ErrSkip) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("containerd %s at %s", d.Server, d.Address)
			t.Run("registry", func(t *testing.T) { checkRegistry(t, d.Address) })
			stopped := false
			defer func() {
				if !stopped {
					_ = d.Stop()
				}
			}()
			state := t.TempDir()
			r, err := ctrd.New(ctrd.Options{Address: d.Address, StateDir: state, CacheImages: true})
			if err != nil {
				t.Fatal(err)
			}
			suite(t, r, d)
			ns := namespaces.WithNamespace(context.Background(), r.Namespace())
			checkNoRunLeftovers(t, r, ns, state)
			if err := r.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			checkNoImageLeftovers(t, d)
			if t.Failed() {
				t.Logf("containerd log tail:\n%s", tail(d.Log(), 30))
			}
			stopped = true
			if err := d.Stop(); err != nil {
				t.Error(err)
			}
		})
	}
}

func tail(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func checkNoRunLeftovers(t *testing.T, r *ctrd.Runner, ctx context.Context, state string) {
	t.Helper()
	c := r.Client()
	cs, err := c.Containers(ctx)
	if err != nil || len(cs) != 0 {
		t.Errorf("leftover containers: %d (%v)", len(cs), err)
	}
	ts, err := c.TaskService().List(ctx, &tasks.ListTasksRequest{})
	if err != nil || len(ts.Tasks) != 0 {
		t.Errorf("leftover tasks: %v (%v)", ts.GetTasks(), err)
	}
	fifos, _ := os.ReadDir(filepath.Join(state, "fifo"))
	if len(fifos) != 0 {
		t.Errorf("leftover fifo dirs: %d", len(fifos))
	}
	// Snapshots: only the committed image layers may remain (kept until Close).
	var active []string
	_ = c.SnapshotService("native").Walk(ctx, func(_ context.Context, i snapshotInfo) error {
		if i.Kind.String() != "Committed" {
			active = append(active, i.Name)
		}
		return nil
	})
	if len(active) != 0 {
		t.Errorf("leftover active snapshots: %v", active)
	}
}

func checkNoImageLeftovers(t *testing.T, d *ctrtest.Daemon) {
	t.Helper()
	r, err := ctrd.New(ctrd.Options{Address: d.Address})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := namespaces.WithNamespace(context.Background(), r.Namespace())
	imgs, err := r.Client().ListImages(ctx)
	if err != nil || len(imgs) != 0 {
		t.Errorf("leftover images after Close: %d (%v)", len(imgs), err)
	}
	// containerd's garbage collector removes unreferenced snapshots in the
	// background: give it a few seconds.
	n := 0
	for i := 0; i < 50; i++ {
		n = 0
		_ = r.Client().SnapshotService("native").Walk(ctx, func(context.Context, snapshotInfo) error { n++; return nil })
		if n == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n != 0 {
		t.Errorf("leftover snapshots after Close: %d", n)
	}
}

func suite(t *testing.T, r *ctrd.Runner, d *ctrtest.Daemon) {
	ctx := context.Background()
	run := func(t *testing.T, inv runners.Invocation) runners.Result {
		t.Helper()
		if inv.Timeout == 0 {
			inv.Timeout = 20 * time.Second
		}
		start := time.Now()
		res, err := r.Run(ctx, inv)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		t.Logf("%s: %s in %s (run %s)", inv.Module.Name, res, time.Since(start).Round(time.Millisecond), res.Duration.Round(time.Millisecond))
		return res
	}

	t.Run("stdout-stderr-exit", func(t *testing.T) {
		res := run(t, runners.Invocation{Module: module(t, "hello"), Args: []string{"/hello.wasm"}})
		if res.Ended != runners.EndedExit || res.ExitCode != 7 || string(res.Stdout) != "hello\n" || string(res.Stderr) != "oops\n" {
			t.Errorf("got %s stdout %q stderr %q", res, res.Stdout, res.Stderr)
		}
		// cached image: second run
		res = run(t, runners.Invocation{Module: module(t, "hello"), Args: []string{"/hello.wasm"}})
		if res.ExitCode != 7 {
			t.Errorf("second run: %s", res)
		}
	})

	t.Run("env-args-exact", func(t *testing.T) {
		args := []string{"/bin/environ.wasm", "a b", "", "c=d"}
		env := []string{"FOO=bar", "EMPTY=", "RUST_LOG=trace", "WASMEDGE_PLUGIN_PATH=/nope"}
		res := run(t, runners.Invocation{Module: module(t, "environ"), Args: args, Env: env})
		want := strings.Join(args, "\n") + "\n--\n" + strings.Join(env, "\n") + "\n"
		if string(res.Stdout) != want || res.ExitCode != 0 {
			t.Errorf("got %s\n%q\nwant\n%q", res, res.Stdout, want)
		}
		res = run(t, runners.Invocation{Module: module(t, "environ"), Args: []string{"environ"}})
		if string(res.Stdout) != "environ\n--\n" {
			t.Errorf("empty env: got %q", res.Stdout)
		}
		if os.Getenv("PATH") != "" && strings.Contains(string(res.Stdout), "PATH=") {
			t.Errorf("PATH leaked: %q", res.Stdout)
		}
	})

	t.Run("no-host-env", func(t *testing.T) {
		res := run(t, runners.Invocation{Module: module(t, "environ"), Args: []string{"environ"}, Env: []string{"A=1"}})
		if d.Canary == "" || strings.Contains(string(res.Stdout), d.Canary) || string(res.Stdout) != "environ\n--\nA=1\n" {
			t.Errorf("canary %q, guest saw %q", d.Canary, res.Stdout)
		}
	})

	t.Run("inject-default-env", func(t *testing.T) {
		r2, err := ctrd.New(ctrd.Options{Address: d.Address, StateDir: t.TempDir(), InjectDefaultEnv: true})
		if err != nil {
			t.Fatal(err)
		}
		defer r2.Close()
		res, err := r2.Run(ctx, runners.Invocation{Module: module(t, "environ"), Args: []string{"environ"}, Env: []string{"A=1"}, Timeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(res.Stdout), "\nPATH=") || !strings.HasSuffix(string(res.Stdout), "A=1\n") {
			t.Errorf("got %q", res.Stdout)
		}
	})

	t.Run("signals", func(t *testing.T) {
		for _, c := range []struct {
			sig  syscall.Signal
			want int
		}{{syscall.SIGTERM, 143}, {syscall.SIGINT, 130}, {syscall.SIGKILL, 137}} {
			res, err := r.RunWithSignal(ctx, runners.Invocation{Module: module(t, "spin"), Args: []string{"/spin.wasm"}, Timeout: 20 * time.Second},
				c.sig, 200*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%v: %s", c.sig, res)
			if res.Ended != runners.EndedExit || res.ExitCode != c.want {
				t.Errorf("%v: got %s, want exit %d", c.sig, res, c.want)
			}
		}
	})

	// A guest sleeping in a host call (poll_oneoff) ends at once on SIGKILL.
	t.Run("kill-in-host-call", func(t *testing.T) {
		res, err := r.RunWithSignal(ctx, runners.Invocation{Module: module(t, "sleep60"), Args: []string{"sleep"}, Timeout: 20 * time.Second},
			syscall.SIGKILL, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s in %s", res, res.Duration.Round(time.Millisecond))
		if res.Ended != runners.EndedExit || res.ExitCode != 137 || res.Duration > 1200*time.Millisecond {
			t.Errorf("got %s after %s, want exit 137 within ~1 s", res, res.Duration)
		}
	})

	// The timeout kill of a guest in a host call ends it and removes
	// everything: no container, task or active snapshot stays.
	t.Run("timeout-in-host-call", func(t *testing.T) {
		res, err := r.Run(ctx, runners.Invocation{Module: module(t, "sleep100"), Args: []string{"sleep"}, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s in %s", res, res.Duration.Round(time.Millisecond))
		if res.Ended != runners.EndedTimeout || res.ExitCode != 137 || res.Duration > 4*time.Second {
			t.Errorf("got %s code %d after %s", res, res.ExitCode, res.Duration)
		}
		nctx := namespaces.WithNamespace(ctx, r.Namespace())
		cs, err := r.Client().Containers(nctx)
		if err != nil || len(cs) != 0 {
			t.Errorf("containers left: %d (%v)", len(cs), err)
		}
		ts, err := r.Client().TaskService().List(nctx, &tasks.ListTasksRequest{})
		if err != nil || len(ts.Tasks) != 0 {
			t.Errorf("tasks left: %v (%v)", ts.GetTasks(), err)
		}
		_ = r.Client().SnapshotService("native").Walk(nctx, func(_ context.Context, i snapshotInfo) error {
			if i.Kind.String() != "Committed" {
				t.Errorf("snapshot left: %s", i.Name)
			}
			return nil
		})
	})

	// Without CacheImages nothing needs Close: each run deletes its image.
	t.Run("uncached-images", func(t *testing.T) {
		r2, err := ctrd.New(ctrd.Options{Address: d.Address, Namespace: "wasicert-uncached", StateDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer r2.Close()
		res, err := r2.Run(ctx, runners.Invocation{Module: module(t, "hello"), Args: []string{"/hello.wasm"}, Timeout: 20 * time.Second})
		if err != nil || res.ExitCode != 7 {
			t.Fatalf("%v %s", err, res)
		}
		imgs, err := r2.Client().ListImages(namespaces.WithNamespace(ctx, r2.Namespace()))
		if err != nil || len(imgs) != 0 {
			t.Errorf("images left after the run: %d (%v)", len(imgs), err)
		}
	})

	t.Run("interrupted", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		_, err := r.Run(cctx, runners.Invocation{Module: module(t, "spin"), Args: []string{"spin"}, Timeout: 20 * time.Second})
		if err == nil {
			t.Errorf("want an error for an interrupted run")
		}
		t.Log(err)
	})

	t.Run("stdin", func(t *testing.T) {
		res := run(t, runners.Invocation{Module: module(t, "cat"), Args: []string{"cat"}, Stdin: []byte("line one\nline two\n")})
		if string(res.Stdout) != "line one\nline two\n" || res.ExitCode != 0 {
			t.Errorf("got %s %q", res, res.Stdout)
		}
	})

	t.Run("bind-mounts", func(t *testing.T) {
		rw, ro := t.TempDir(), t.TempDir()
		res := run(t, runners.Invocation{Module: module(t, "write"), Args: []string{"write"},
			Preopens: []runners.Preopen{{GuestPath: "/sandbox", HostDir: rw}}})
		if res.ExitCode != 0 {
			t.Errorf("rw bind: %s %q", res, res.Stderr)
		}
		if b, _ := os.ReadFile(filepath.Join(rw, "out.txt")); string(b) != "written\n" {
			t.Errorf("rw bind: file holds %q", b)
		}
		res = run(t, runners.Invocation{Module: module(t, "write"), Args: []string{"write"},
			Preopens: []runners.Preopen{{GuestPath: "/sandbox", HostDir: ro, ReadOnly: true}}})
		if res.ExitCode == 0 {
			t.Errorf("ro bind accepted a write")
		}
		if _, err := os.Stat(filepath.Join(ro, "out.txt")); err == nil {
			t.Errorf("ro bind: out.txt was created")
		}
	})

	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		res, err := r.Run(ctx, runners.Invocation{Module: module(t, "spin"), Args: []string{"spin"}, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("spin: %s after %s", res, time.Since(start).Round(time.Millisecond))
		if res.Ended != runners.EndedTimeout || res.ExitCode != 137 {
			t.Errorf("got %s code %d", res, res.ExitCode)
		}
	})

	t.Run("trap", func(t *testing.T) {
		res := run(t, runners.Invocation{Module: module(t, "trap"), Args: []string{"trap"}})
		if res.Ended != runners.EndedTrap || !strings.Contains(res.Detail, "unreachable") {
			t.Errorf("got %s stderr %q", res, res.Stderr)
		}
	})

	// The trap line the shim writes after a flood is past the 4 MiB head of
	// stderr: it is found in the kept tail.
	t.Run("trap-after-flood", func(t *testing.T) {
		res := run(t, runners.Invocation{Module: module(t, "floodtrap"), Args: []string{"floodtrap"}, Timeout: 20 * time.Second})
		if res.Ended != runners.EndedTrap || !res.Truncated || !strings.Contains(res.Detail, "unreachable") {
			tail := res.Stderr
			if len(tail) > 400 {
				tail = tail[len(tail)-400:]
			}
			t.Errorf("got %s (truncated %v); want a trap found after the flood; stderr ends %q", res, res.Truncated, tail)
		}
	})

	t.Run("corrupt-module", func(t *testing.T) {
		m := runners.Module{Name: "corrupt", Bytes: []byte("\x00asm\x01\x00\x00\x00garbage")}
		_, err := r.Run(ctx, runners.Invocation{Module: m, Args: []string{"corrupt"}})
		if err == nil || !strings.Contains(err.Error(), "not valid WebAssembly") {
			t.Errorf("want an error naming the cause, got %v", err)
		}
		t.Log(err)
		m = runners.Module{Name: "notwasm", Bytes: []byte("#!/bin/sh\necho hi\n")}
		_, err = r.Run(ctx, runners.Invocation{Module: m, Args: []string{"notwasm"}})
		if err == nil || !strings.Contains(err.Error(), "not valid WebAssembly") {
			t.Errorf("want an error naming the cause, got %v", err)
		}
	})

	t.Run("bad-images", func(t *testing.T) {
		hello := module(t, "hello").Bytes
		cases := []struct {
			name string
			opts ociimage.Options
			want string
		}{
			{"no-entrypoint", ociimage.Options{Module: hello, NoEntrypoint: true}, "no entrypoint"},
			{"missing-wasm", ociimage.Options{Module: hello, OmitModule: true}, "missing .wasm"},
			{"platform", ociimage.Options{Module: hello, Platform: &ocispecPlatformLinux}, "platform mismatch"},
			{"image-env", ociimage.Options{Module: module(t, "environ").Bytes, Env: []string{"WASMEDGE_PLUGIN_PATH=/x", "RUST_LOG=trace"}}, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				c.opts.Name = "wasicert.local/bad/" + c.name + ":1"
				layout, _, err := ociimage.Build(c.opts)
				if err != nil {
					t.Fatal(err)
				}
				res, err := r.RunImage(ctx, layout, c.opts.Name, runners.Invocation{Timeout: 20 * time.Second})
				if c.want == "" {
					if err != nil || !strings.Contains(string(res.Stdout), "RUST_LOG=trace\n") {
						t.Errorf("image env: %v %q", err, res.Stdout)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("want error containing %q, got %v (%s)", c.want, err, res)
				}
				t.Log(err)
			})
		}
	})

	if _, err := os.Stat(filepath.Join(proctest.RepoRoot(t), "probes", "fs.wasm")); err == nil {
		t.Run("probe-fs", func(t *testing.T) {
			b, _ := os.ReadFile(filepath.Join(proctest.RepoRoot(t), "probes", "fs.wasm"))
			res := run(t, runners.Invocation{Module: runners.Module{Name: "fs", Bytes: b}, Args: []string{"/fs.wasm", "env", "e1", "preopens", "p1"}, Env: []string{"A=1"}})
			if res.ExitCode != 0 || !strings.Contains(string(res.Stdout), `"data":"A=1"`) {
				t.Errorf("fs probe: %s %s", res, res.Stdout)
			}
		})
	}
}

// BenchmarkRun measures one Run of a tiny module through containerd and the
// wazero shim (image cached): WASICERT_CONTAINERD_VERSIONS picks the version
// (first one; default 2).
//
//	go test -run '^$' -bench Run -benchtime 20x ./runners/containerd/
func BenchmarkRun(b *testing.B) {
	if r := ctrtest.SkipReason(); r != "" {
		b.Skip(r)
	}
	v := "2"
	if f := strings.Fields(os.Getenv("WASICERT_CONTAINERD_VERSIONS")); len(f) > 0 {
		v = f[0]
	}
	d, err := ctrtest.Start(v, "")
	if err != nil {
		b.Fatal(err)
	}
	defer d.Stop()
	r, err := ctrd.New(ctrd.Options{Address: d.Address, StateDir: b.TempDir(), CacheImages: true})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	wasm, _ := os.ReadFile("testdata/hello.wasm")
	inv := runners.Invocation{Module: runners.Module{Name: "hello", Bytes: wasm}, Args: []string{"/hello.wasm"}}
	if _, err := r.Run(context.Background(), inv); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := r.Run(context.Background(), inv)
		if err != nil || res.ExitCode != 7 {
			b.Fatalf("%v %s", err, res)
		}
	}
	b.Logf("containerd %s", d.Server)
}
