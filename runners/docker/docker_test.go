package docker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/wasicert/wasicert/internal/ociimage"
	"github.com/wasicert/wasicert/internal/weakened"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	ctrd "github.com/wasicert/wasicert/runners/containerd"
	"github.com/wasicert/wasicert/runners/docker"
	_ "github.com/wasicert/wasicert/runners/wazero"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// engine returns a runner on the engine at WASICERT_DOCKER_HOST with
// runtime rt, or skips: ci/docker/suite.sh (make containerd) sets it.
func engine(t *testing.T, rt string) *docker.Runner {
	t.Helper()
	host := os.Getenv(docker.EnvHost)
	if host == "" {
		t.Skipf("%s is not set: ci/docker/suite.sh (make containerd, as root) runs these tests on a private dockerd", docker.EnvHost)
	}
	r, err := docker.New(docker.Options{Host: host, Runtime: rt, CacheImages: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// WeakShim is the weakened shim ci/containerd/start.sh installs with
// WASICERT_WEAK_SHIM=1 (file binds skipped, among the rest).
const WeakShim = "io.containerd.wazeroweak.v1"

// controls: for each engine spec, a negative control on the same engine
// and the cause it must fail with.
func controls(t *testing.T, ours runners.Runner) map[string]struct {
	r     runners.Runner
	cause string
} {
	type c = struct {
		r     runners.Runner
		cause string
	}
	return map[string]c{
		"engine.env":            {weakened.Wrap(ours, weakened.EnvPassthrough), "judge"},
		"engine.hostname":       {weakened.Wrap(ours, weakened.HostHostname), "hostname:host"},
		"engine.etc-files":      {engine(t, WeakShim), "etc:/etc/hostname"},
		"engine.read-only":      {weakened.Wrap(ours, weakened.ReadOnlyRootfsIgnored), "ro:diff"},
		"engine.network-none":   {weakened.Wrap(ours, weakened.NetworkHost), "net:attached"},
		"engine.stop-exit":      {weakened.Wrap(ours, weakened.ExitCodeLost), "stop:status"},
		"engine.kill-exit":      {weakened.WrapSignaller(ours, weakened.ExitCodeLost), "kill:status"},
		"engine.logs":           {weakened.Wrap(ours, weakened.LogsOff), "logs:error"},
		"engine.remove-running": {weakened.Wrap(ours, weakened.RemoveAsStop), "remove:not-removed"},
	}
}

// TestEngineSpecs: every engine spec passes through the engine on our shim
// and fails its own check on its negative control (a weakening of the run,
// or the weakened shim), on the same engine.
func TestEngineSpecs(t *testing.T) {
	ours := engine(t, docker.DefaultRuntime)
	ctl := controls(t, ours)
	var n int
	for _, spec := range catalogue.All() {
		if spec.Area != suites.AreaEngine {
			continue
		}
		n++
		c, ok := ctl[spec.ID]
		if !ok {
			t.Errorf("%s: no negative control: add one to controls()", spec.ID)
			continue
		}
		t.Run(spec.ID, func(t *testing.T) {
			rec, err := suites.Execute(context.Background(), spec, suites.Options{Runner: ours})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("ours: %s: %s %v %v", rec.Verdict, rec.Reason, rec.Causes, rec.Notes)
			if rec.Verdict != verdicts.Pass {
				t.Errorf("%s on our shim through docker: %s: %s (causes %v)", spec.ID, rec.Verdict, rec.Reason, rec.Causes)
			}
			rec, err = suites.Execute(context.Background(), spec, suites.Options{Runner: c.r})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("control %s: %s: %s %v", c.r.Name(), rec.Verdict, rec.Reason, rec.Causes)
			own := slices.ContainsFunc(rec.Causes, func(s string) bool {
				return !strings.HasPrefix(s, "control:") && !strings.HasPrefix(s, "run:")
			})
			if !rec.Verdict.Failing() || !own || (c.cause != "judge" && !slices.Contains(rec.Causes, c.cause)) {
				t.Errorf("%s on its control (%s): %s with causes %v, want it to fail with %s", spec.ID, c.r.Name(), rec.Verdict, rec.Causes, c.cause)
			}
		})
	}
	if n != len(ctl) {
		t.Errorf("%d engine specs in the catalogue, %d controls", n, len(ctl))
	}
}

// TestTracesSeesALeftover: the leftover check of engine.remove-running
// finds a process that carries a container's id (a stand-in for a shim
// that survived docker rm --force), and nothing once it is gone.
func TestTracesSeesALeftover(t *testing.T) {
	id := fmt.Sprintf("%064x", time.Now().UnixNano())
	// sh's $0 carries the id (sleep would refuse it as an argument); the
	// trailing ':' keeps sh from exec'ing sleep in its place.
	cmd := exec.Command("sh", "-c", "sleep 30; :", id)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Start returns once the child is forked; its command line is the
	// id's only after exec: wait for that (bounded) before looking.
	for i := 0; i < 500; i++ {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", cmd.Process.Pid)); strings.Contains(string(b), id) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := catalogue.Traces(id)
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
	// sh's own child may show the id too for the instant before it execs.
	if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, fmt.Sprintf("process %d:", cmd.Process.Pid)) }) {
		t.Errorf("Traces with a process carrying the id: %v, want that process", got)
	}
	// SIGKILL to the group lands asynchronously on sh's child: allow it
	// (bounded) to go.
	for i := 0; i < 500 && len(catalogue.Traces(id)) != 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if got := catalogue.Traces(id); len(got) != 0 {
		t.Errorf("Traces after the process ended: %v", got)
	}
}

// TestSeedsCommand: the seeds' own command, docker run --rm
// --runtime=io.containerd.wazero.v1 --platform=wasi/wasm32 IMAGE, on an
// image loaded without a registry: through the Go client always, and with
// the docker CLI where one is installed.
func TestSeedsCommand(t *testing.T) {
	r := engine(t, docker.DefaultRuntime)
	mod, err := probes.Get("exit")
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("wasicert.local/seeds:%d", time.Now().UnixNano())
	layout, _, err := ociimage.Build(ociimage.Options{Name: name, Module: mod.Bytes, Path: "/exit.wasm"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.LoadImage(ctx, layout, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := r.Client().ImageRemove(context.Background(), name, imageRemoveForce); err != nil {
			t.Errorf("remove %s: %v", name, err)
		}
	})
	res, err := r.RunContainer(ctx, name, runners.Invocation{Module: mod, Args: []string{"/exit.wasm", "7"}, Env: []string{}}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ended != runners.EndedExit || res.ExitCode != 7 {
		t.Errorf("Go client: docker run IMAGE 7: %s, want exit 7", res)
	}

	cli, err := exec.LookPath("docker")
	if err != nil {
		t.Logf("no docker CLI on PATH: the seeds' command ran through the Go client only")
		return
	}
	tar := filepath.Join(t.TempDir(), "image.tar")
	name2 := name + "-cli"
	layout2, _, err := ociimage.Build(ociimage.Options{Name: name2, Module: mod.Bytes, Path: "/exit.wasm"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tar, layout2, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "DOCKER_HOST="+os.Getenv(docker.EnvHost), "DOCKER_CONFIG="+t.TempDir())
	run := func(args ...string) ([]byte, int) {
		cmd := exec.Command(cli, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
		}
		return out, code
	}
	if out, code := run("load", "-i", tar); code != 0 || !bytes.Contains(out, []byte(name2)) {
		t.Fatalf("docker load: exit %d: %s", code, out)
	}
	defer run("rmi", name2)
	out, code := run("run", "--rm", "--runtime=io.containerd.wazero.v1", "--platform=wasi/wasm32", name2, "7")
	if code != 7 {
		t.Errorf("docker run --rm --runtime=io.containerd.wazero.v1 --platform=wasi/wasm32 %s 7: exit %d, want 7: %s", name2, code, out)
	}
	if out, _ := run("ps", "-aq"); len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("docker run --rm left containers: %s", out)
	}
}

// TestSeedsObservations: the seeds' probe (print the environment, list
// "/") under plain wazero, under our shim through containerd, and through
// Docker: zero variables and "Capabilities insufficient" (ENOTCAPABLE)
// for "/" under wazero; containerd's PATH under the shim, with "/" the
// image's rootfs (open("/") resolves, EISDIR); Docker's PATH and HOSTNAME. Written to WASICERT_SEEDS_OUT as JSON
// when set (the README's side-by-side table).
func TestSeedsObservations(t *testing.T) {
	dk := engine(t, docker.DefaultRuntime)
	addr := os.Getenv(ctrd.EnvAddress)
	if addr == "" {
		t.Skipf("%s is not set: ci/containerd/suite.sh sets it", ctrd.EnvAddress)
	}
	cd, err := ctrd.New(ctrd.Options{Name: "containerd-wazero", Address: addr, InjectDefaultEnv: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cd.Close()
	wz, err := runners.Open("wazero")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := probes.Get("fs")
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		Runtime string   `json:"runtime"`
		Env     []string `json:"env"`
		// ListDir is what open("/") answered: ENOTCAPABLE ("Capabilities
		// insufficient": no preopen holds "/"), or EISDIR (it resolved: "/"
		// is a directory the guest reaches, the container's rootfs).
		ListDir string `json:"list_root"`
	}
	var all []seen
	for _, r := range []runners.Runner{wz, cd, dk} {
		inv := runners.Invocation{Module: mod, Args: []string{"/probe.wasm", probes.OpEnv, "env", probes.OpLibcOpen, "root", "/"}, Env: []string{}}
		res, err := r.Run(context.Background(), inv)
		if err != nil {
			t.Fatalf("%s: %v", r.Name(), err)
		}
		lines, _ := probes.ParseLines(res.Stdout)
		s := seen{Runtime: r.Name(), Env: []string{}}
		for _, l := range lines {
			switch {
			case l.Op == probes.LineEnvironGet && l.OK():
				k, _, _ := strings.Cut(l.Data, "=")
				s.Env = append(s.Env, k)
			case l.Check == "root" && l.OK():
				s.ListDir = "ok"
			case l.Check == "root":
				s.ListDir = l.Errno
			}
		}
		slices.Sort(s.Env)
		t.Logf("%s: env %v, open(\"/\"): %s", r.Name(), s.Env, s.ListDir)
		all = append(all, s)
	}
	want := []seen{
		{"wazero", []string{}, "ENOTCAPABLE"},
		{"containerd-wazero", []string{"PATH"}, "EISDIR"},
		{docker.Name, []string{"HOSTNAME", "PATH"}, "EISDIR"},
	}
	for i := range want {
		if all[i].Runtime != want[i].Runtime || !slices.Equal(all[i].Env, want[i].Env) || all[i].ListDir != want[i].ListDir {
			t.Errorf("%s: env %v, open(\"/\") %s; want env %v, %s", all[i].Runtime, all[i].Env, all[i].ListDir, want[i].Env, want[i].ListDir)
		}
	}
	if p := os.Getenv("WASICERT_SEEDS_OUT"); p != "" {
		b, _ := json.MarshalIndent(all, "", "  ")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var imageRemoveForce = client.ImageRemoveOptions{Force: true}
