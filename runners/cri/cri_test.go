package cri_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/wasicert/wasicert/internal/ctrtest"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/cri"
)

// module reads one of the containerd runner's test modules (their .wat
// sources beside them say what each does).
func module(t *testing.T, name string) runners.Module {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "containerd", "testdata", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return runners.Module{Name: name, Bytes: b, Digest: hex.EncodeToString(sum[:])}
}

func TestNotInstalled(t *testing.T) {
	if _, err := cri.New(cri.Options{Endpoint: "unix:///nonexistent/cri.sock", RuntimeHandler: "wazero"}); !errors.Is(err, runners.ErrNotInstalled) {
		t.Fatalf("a missing socket: want ErrNotInstalled, got %v", err)
	}
	for _, env := range [][2]string{{"", "wazero"}, {"unix:///run/x.sock", ""}} {
		t.Setenv(cri.EnvEndpoint, env[0])
		t.Setenv(cri.EnvRuntimeHandler, env[1])
		_, err := runners.Open(cri.Name)
		if !errors.Is(err, runners.ErrNotInstalled) {
			t.Fatalf("%q: want ErrNotInstalled, got %v", env, err)
		}
		t.Log(err)
	}
}

// TestCRI runs pods through containerd's CRI plugin on our shim, on each
// containerd of WASICERT_CONTAINERD_VERSIONS (default 1.6 and 2), and checks
// that nothing is left: no pod, container, image, log dir, shim or mount.
func TestCRI(t *testing.T) {
	if r := ctrtest.SkipReason(); r != "" {
		t.Skip(r)
	}
	shim := ctrtest.BuildShim(t)
	for _, v := range ctrtest.Versions() {
		t.Run("containerd-"+v, func(t *testing.T) {
			d, err := ctrtest.StartCRI(v, shim)
			if errors.Is(err, ctrtest.ErrSkip) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			stopped := false
			defer func() {
				if !stopped {
					_ = d.Stop()
				}
			}()
			state := t.TempDir()
			r, err := cri.New(cri.Options{Endpoint: "unix://" + d.Address, RuntimeHandler: "wazero", StateDir: state})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s at %s", r.Version(), d.Address)
			pods(t, r, d)
			checkNoPods(t, d.Address)
			if err := r.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			checkNoImages(t, d.Address)
			if ents, _ := os.ReadDir(filepath.Join(state, "pods")); len(ents) > 0 {
				t.Errorf("log dirs left in %s: %v", state, ents)
			}
			if t.Failed() {
				b, _ := os.ReadFile(filepath.Join(d.RunDir, "containerd.log"))
				lines := strings.Split(string(b), "\n")
				t.Logf("containerd log tail:\n%s", strings.Join(lines[max(0, len(lines)-40):], "\n"))
			}
			stopped = true
			if err := d.Stop(); err != nil {
				t.Errorf("leftovers: %v", err)
			}
		})
	}
}

func pods(t *testing.T, r *cri.Runner, d *ctrtest.Daemon) {
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
		t.Logf("%s: %s in %s (container %s)", inv.Module.Name, res, time.Since(start).Round(time.Millisecond), res.Duration.Round(time.Millisecond))
		return res
	}
	t.Run("stdout-stderr-exit", func(t *testing.T) {
		res := run(t, runners.Invocation{Module: module(t, "hello"), Args: []string{"/hello.wasm"}})
		if res.Ended != runners.EndedExit || res.ExitCode != 7 || string(res.Stdout) != "hello\n" || string(res.Stderr) != "oops\n" {
			t.Errorf("got %s stdout %q stderr %q", res, res.Stdout, res.Stderr)
		}
	})
	t.Run("env-args", func(t *testing.T) {
		args := []string{"/bin/environ.wasm", "a b", "", "c=d"}
		env := []string{"FOO=bar", "EMPTY=", "RUST_LOG=trace"}
		res := run(t, runners.Invocation{Module: module(t, "environ"), Args: args, Env: env})
		gotArgs, gotEnv, ok := strings.Cut(string(res.Stdout), "--\n")
		if !ok || res.ExitCode != 0 {
			t.Fatalf("got %s %q", res, res.Stdout)
		}
		if want := strings.Join(args, "\n") + "\n"; gotArgs != want {
			t.Errorf("argv %q, want %q", gotArgs, want)
		}
		seen := strings.Split(strings.TrimSuffix(gotEnv, "\n"), "\n")
		for _, kv := range env {
			if !slices.Contains(seen, kv) {
				t.Errorf("the container env lacks %q: %q", kv, seen)
			}
		}
		injected := r.InjectedEnv()
		for _, kv := range seen {
			if !slices.Contains(env, kv) && !slices.Contains(injected, kv) {
				t.Errorf("the guest saw %q, neither granted nor reported injected (%q)", kv, injected)
			}
		}
		if d.Canary != "" && strings.Contains(string(res.Stdout), d.Canary) {
			t.Errorf("containerd's own environment reached the guest")
		}
		t.Logf("env the pod's container saw: %q", seen)
	})
	t.Run("preopens", func(t *testing.T) {
		for _, ro := range []bool{false, true} {
			dir := t.TempDir()
			res := run(t, runners.Invocation{Module: module(t, "write"), Args: []string{"/write.wasm"},
				Preopens: []runners.Preopen{{GuestPath: "/data", HostDir: dir, ReadOnly: ro}}})
			_, err := os.Stat(filepath.Join(dir, "out.txt"))
			switch {
			case ro && (res.ExitCode == 0 || err == nil):
				t.Errorf("read-only hostPath mount: the guest wrote (%s, %v)", res, err)
			case !ro && (res.ExitCode != 0 || err != nil):
				t.Errorf("read-write hostPath mount: %s, %v; stderr %q", res, err, res.Stderr)
			}
		}
	})
	t.Run("trap", func(t *testing.T) {
		if res := run(t, runners.Invocation{Module: module(t, "trap"), Args: []string{"/trap.wasm"}}); res.Ended != runners.EndedTrap {
			t.Errorf("got %s, stderr %q", res, res.Stderr)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		res := run(t, runners.Invocation{Module: module(t, "sleep60"), Args: []string{"/sleep60.wasm"}, Timeout: 2 * time.Second})
		if res.Ended != runners.EndedTimeout {
			t.Errorf("got %s", res)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		cctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		defer cancel()
		_, err := r.Run(cctx, runners.Invocation{Module: module(t, "sleep60"), Args: []string{"/sleep60.wasm"}, Timeout: time.Minute})
		if err == nil || !strings.Contains(err.Error(), "interrupted") {
			t.Errorf("a cancelled run: %v", err)
		}
		checkNoPods(t, d.Address)
	})
}

func criClient(t *testing.T, sock string) (criapi.RuntimeServiceClient, criapi.ImageServiceClient, func()) {
	t.Helper()
	conn, err := dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	return criapi.NewRuntimeServiceClient(conn), criapi.NewImageServiceClient(conn), func() { conn.Close() }
}

// checkNoPods: no pod or container of the runner's is left.
func checkNoPods(t *testing.T, sock string) {
	t.Helper()
	rt, _, done := criClient(t, sock)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sel := map[string]string{"app.kubernetes.io/managed-by": "wasicert"}
	pods, err := rt.ListPodSandbox(ctx, &criapi.ListPodSandboxRequest{Filter: &criapi.PodSandboxFilter{LabelSelector: sel}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		t.Errorf("pod left behind: %s %s (%s)", p.Id, p.Metadata.GetName(), p.State)
	}
	cs, err := rt.ListContainers(ctx, &criapi.ListContainersRequest{Filter: &criapi.ContainerFilter{LabelSelector: sel}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs.Containers {
		t.Errorf("container left behind: %s %s (%s)", c.Id, c.Metadata.GetName(), c.State)
	}
}

// checkNoImages: no module image is left in the CRI's image store.
func checkNoImages(t *testing.T, sock string) {
	t.Helper()
	_, im, done := criClient(t, sock)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := im.ListImages(ctx, &criapi.ListImagesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range l.Images {
		for _, tag := range i.RepoTags {
			if strings.HasPrefix(tag, "wasicert.local/module/") || strings.Contains(tag, "/wasicert/module/") { // imported, or pulled from the runner's registry
				t.Errorf("image left behind: %s", tag)
			}
		}
	}
}
