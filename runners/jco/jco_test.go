package jco_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasicert/wasicert/internal/proctest"
	"github.com/wasicert/wasicert/internal/repo"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/jco"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

func TestMain(m *testing.M) {
	code := m.Run()
	probes.Cleanup()
	os.Exit(code)
}

// openJco installs jco through runtimes.mk when it is missing (npm is
// reachable here), or skips with the reason.
func openJco(t testing.TB) runners.Runner {
	t.Helper()
	if _, err := jco.Open(); errors.Is(err, runners.ErrNotInstalled) {
		root, ok := repo.Root()
		if !ok {
			t.Skip("jco missing and no repository to install it from")
		}
		cmd := exec.Command("make", "-f", filepath.Join(root, "ci/runtimes/runtimes.mk"), "jco")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("jco missing and `make -f ci/runtimes/runtimes.mk jco` failed: %v\n%s", err, out)
		}
	}
	r, err := runners.Open(jco.Name)
	if err != nil {
		t.Skipf("jco: %v", err)
	}
	t.Logf("%s %s", r.Name(), r.Version())
	return r
}

// TestGuest: a preview-1 module runs as a component: output separated, a
// trap and a stack overflow are traps, a spin is cut off with nothing left
// behind, env and args are exactly the configured ones (never the harness's
// own), stdin reaches the guest, and proc_exit(7) ends as WASI 0.2 can say
// it: exit 1.
func TestGuest(t *testing.T) {
	r := openJco(t)
	mark := proctest.MarkEnv(t)

	res := proctest.Run(t, r, proctest.Inv(proctest.Module(t, "hello"), nil))
	if res.Ended != runners.EndedExit || res.ExitCode != 0 || string(res.Stdout) != "hello\n" || string(res.Stderr) != "oops\n" {
		t.Errorf("hello: %s stdout %q stderr %q", res, res.Stdout, res.Stderr)
	}
	// wasi:cli/exit carries ok or err: the adapter maps proc_exit(7) to
	// err, the shim exits 1 (suites/catalogue/expectations/jco.yaml).
	res = proctest.Run(t, r, proctest.Inv(proctest.Module(t, "exit7"), nil))
	if res.Ended != runners.EndedExit || res.ExitCode != 1 || string(res.Stdout) != "bye\n" {
		t.Errorf("exit7: %s stdout %q stderr %q, want exit 1 and bye", res, res.Stdout, res.Stderr)
	}
	for _, m := range []string{"trap", "recurse"} {
		if res := proctest.Run(t, r, proctest.Inv(proctest.Module(t, m), nil)); res.Ended != runners.EndedTrap {
			t.Errorf("%s: %s (stderr %q), want a trap", m, res, res.Stderr)
		}
	}

	inv := proctest.Inv(proctest.Module(t, "spin"), nil)
	inv.Timeout = 1500 * time.Millisecond
	if res := proctest.Run(t, r, inv); res.Ended != runners.EndedTimeout {
		t.Errorf("spin: %s", res)
	}

	env := []string{"A=1", "B=two words", "EQ=x=y", "__proto__=p"}
	res = proctest.Run(t, r, proctest.Inv(proctest.Module(t, "env"), env))
	if got := string(res.Stdout); got != strings.Join(env, "\x00")+"\x00" {
		t.Errorf("env: guest saw %q, want exactly %q (%s, %q)", got, env, res, res.Stderr)
	}
	if strings.Contains(string(res.Stdout), mark) {
		t.Errorf("env: the harness's own environment reached the guest: %q", res.Stdout)
	}
	if res := proctest.Run(t, r, proctest.Inv(proctest.Module(t, "env"), nil)); len(res.Stdout) != 0 {
		t.Errorf("env: with no env the guest saw %q", res.Stdout)
	}

	res = proctest.Run(t, r, proctest.Inv(proctest.Module(t, "args"), nil, "one", "two words", "--flag"))
	if got := string(res.Stdout); got != "args\x00one\x00two words\x00--flag\x00" {
		t.Errorf("args: guest saw %q (%s, %q)", got, res, res.Stderr)
	}

	inv = proctest.Inv(proctest.Module(t, "cat"), nil)
	inv.Stdin = []byte("from stdin\n")
	if res := proctest.Run(t, r, inv); string(res.Stdout) != "from stdin\n" {
		t.Errorf("stdin: stdout %q (%s, %q)", res.Stdout, res, res.Stderr)
	}
	if left := proctest.Leftovers(mark); len(left) > 0 {
		t.Errorf("processes left behind: %v", left)
	}
}

// TestPreopensExactly: the guest sees exactly the preopens granted, in
// order, and none when none is granted: no "/" preopen of the host, the
// shim's default before preview2-shim 0.26.1 (jco#466).
func TestPreopensExactly(t *testing.T) {
	r := openJco(t)
	prestat := proctest.Module(t, "prestat")
	if res := proctest.Run(t, r, proctest.Inv(prestat, nil)); string(res.Stdout) != "none" {
		t.Errorf("no preopens granted: guest sees %q (%s, %q)", res.Stdout, res, res.Stderr)
	}
	inv := proctest.Inv(prestat, nil)
	inv.Preopens = []runners.Preopen{{GuestPath: "/sandbox", HostDir: t.TempDir()}, {GuestPath: "/data", HostDir: t.TempDir()}}
	if res := proctest.Run(t, r, inv); string(res.Stdout) != "/sandbox\n/data\n" {
		t.Errorf("two preopens: guest sees %q (%s, %q)", res.Stdout, res, res.Stderr)
	}
}

// TestNothingOutside: inside the preopen a file reads; nothing outside is
// reached, not by .., a host-made symlink (relative or absolute), an
// absolute host path, nor without any preopen, and the outside secret never
// shows in the guest's output.
func TestNothingOutside(t *testing.T) {
	r := openJco(t)
	fsProbe, err := probes.Get("fs")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	sandbox, outside := filepath.Join(root, "sandbox"), filepath.Join(root, "outside")
	const secret = "secret-7f3a9c"
	for _, d := range []string{sandbox, outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(sandbox, "inside.txt"), "inside")
	write(filepath.Join(outside, "secret.txt"), secret)
	if err := os.Symlink("../outside", filepath.Join(sandbox, "rel")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(sandbox, "abs")); err != nil {
		t.Fatal(err)
	}
	hostSecret := filepath.Join(outside, "secret.txt")
	open := func(check, path string) []string {
		return []string{"open", check, "/sandbox", path, "follow", "0", "r"}
	}
	args := []string{"fs"}
	args = append(args, open("inside", "inside.txt")...)
	args = append(args, open("dotdot", "../outside/secret.txt")...)
	args = append(args, open("rel", "rel/secret.txt")...)
	args = append(args, open("abs", "abs/secret.txt")...)
	args = append(args, open("hostpath", strings.TrimPrefix(hostSecret, "/"))...)
	args = append(args, "libc-open", "libc", hostSecret)

	inv := runners.Invocation{Module: fsProbe, Args: args, Timeout: 20 * time.Second,
		Preopens: []runners.Preopen{{GuestPath: "/sandbox", HostDir: sandbox}}}
	res := proctest.Run(t, r, inv)
	lines, junk := probes.ParseLines(res.Stdout)
	if res.Ended != runners.EndedExit || len(junk) > 0 {
		t.Fatalf("fs probe: %s, junk %q, stderr %q", res, junk, res.Stderr)
	}
	seen := map[string]probes.Line{}
	for _, l := range lines {
		seen[l.Check] = l
	}
	if l := seen["inside"]; !l.OK() || l.Data != "inside" {
		t.Errorf("inside.txt: %+v, want it read", l)
	}
	for _, c := range []string{"dotdot", "rel", "abs", "hostpath", "libc"} {
		l, ok := seen[c]
		if !ok || l.Reached() {
			t.Errorf("%s: %+v (printed %v): the guest reached what lies outside the preopen", c, l, ok)
		}
		t.Logf("%s: refused with %s", c, l.Errno)
	}
	for name, out := range map[string][]byte{"stdout": res.Stdout, "stderr": res.Stderr} {
		if strings.Contains(string(out), secret) {
			t.Errorf("the outside secret is in the guest's %s", name)
		}
	}

	// Without a preopen, the absolute host path is not reached either.
	inv = runners.Invocation{Module: fsProbe, Args: []string{"fs", "libc-open", "libc", hostSecret}, Timeout: 20 * time.Second}
	res = proctest.Run(t, r, inv)
	if lines, _ := probes.ParseLines(res.Stdout); len(lines) != 1 || lines[0].Reached() || strings.Contains(string(res.Stdout), secret) {
		t.Errorf("no preopen: libc-open %s: %+v (%s)", hostSecret, lines, res)
	}
}

// TestRefusals: what preview2-shim cannot grant faithfully is refused with
// one line: a read-only preopen (the shim has none, so it would be
// writable), a guest path granted twice (the shim keys preopens by it), a
// preopened listener.
func TestRefusals(t *testing.T) {
	r := openJco(t)
	if r.Features().Has(runners.FeatureReadOnlyPreopen) {
		t.Fatal("jco claims read-only preopens: preview2-shim has none")
	}
	m := proctest.Module(t, "prestat")
	cases := map[string]func(*runners.Invocation){
		"read-only preopen /ro: not supported by preview2-shim": func(inv *runners.Invocation) {
			inv.Preopens = []runners.Preopen{{GuestPath: "/ro", HostDir: t.TempDir(), ReadOnly: true}}
		},
		"preopen /a granted twice": func(inv *runners.Invocation) {
			inv.Preopens = []runners.Preopen{{GuestPath: "/a", HostDir: t.TempDir()}, {GuestPath: "/a", HostDir: t.TempDir()}}
		},
		"listeners are not supported": func(inv *runners.Invocation) {
			inv.Listeners = []runners.Listener{{Addr: "127.0.0.1:1"}}
		},
	}
	for want, set := range cases {
		inv := proctest.Inv(m, nil)
		set(&inv)
		_, err := r.Run(context.Background(), inv)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("got %v, want one line holding %q", err, want)
		}
	}
}

// TestNotInstalled: without the packages, or without node, the runner is
// "not installed" and says in one line how to install it.
func TestNotInstalled(t *testing.T) {
	_, err := jco.OpenIn([]string{t.TempDir()})
	if !errors.Is(err, runners.ErrNotInstalled) || !strings.Contains(err.Error(), "make -f ci/runtimes/runtimes.mk jco") || strings.Contains(err.Error(), "\n") {
		t.Errorf("no packages: %v, want one line, not installed, with the fix", err)
	}
	openJco(t) // the packages are there; now node is not
	t.Setenv("WASICERT_NODE", filepath.Join(t.TempDir(), "node"))
	if _, err := jco.Open(); !errors.Is(err, runners.ErrNotInstalled) || strings.Contains(err.Error(), "\n") {
		t.Errorf("no node: %v, want one line, not installed", err)
	}
}

// TestComponentCache: a module is translated once, into the cache under
// its sha256, and a translation leaves no temporary directory behind.
func TestComponentCache(t *testing.T) {
	t.Setenv("WASICERT_CACHE_DIR", t.TempDir())
	r := openJco(t).(*jco.Runner)
	m := proctest.Module(t, "hello")
	first, err := r.Component(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(first)
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.Component(context.Background(), runners.Module{Name: "again", Bytes: m.Bytes})
	if err != nil || second != first {
		t.Fatalf("second translation: %q, %v; want the cached %q", second, err, first)
	}
	if st2, _ := os.Stat(second); !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("the cached component was rewritten")
	}
	if filepath.Base(filepath.Dir(first)) != m.Digest {
		t.Errorf("component %s is not kept under the module's sha256 %s", first, m.Digest)
	}
	ents, _ := os.ReadDir(r.CacheDir())
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("cache holds %v, want the one component", names)
	}
	if _, err := r.Component(context.Background(), runners.Module{Name: "junk", Bytes: []byte("\x00asm\x01\x00\x00\x00junk")}); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("a module jco cannot adapt: %v, want a one-line error", err)
	}
}

// hostileLauncher is the launcher as it would be if it passed the guest's
// args and relied on the shim's other defaults before preview2-shim 0.26.1
// (jco#466): process.env reaches the guest, and "/" of the host is
// preopened as "/".
func hostileLauncher(t *testing.T) string {
	src := string(jco.LauncherJS)
	sandbox := "sandbox: { preopens, env, args: job.args || [], enableNetwork: false },"
	anchor := "let imports;"
	if !strings.Contains(src, sandbox) || !strings.Contains(src, anchor) {
		t.Fatalf("the launcher no longer holds %q and %q: update the hostile stand-in", sandbox, anchor)
	}
	src = strings.Replace(src, sandbox, "sandbox: { args: job.args || [] },", 1)
	src = strings.Replace(src, anchor, `const shimFS = await import(pathToFileURL(path.join(path.dirname(instantiationJS), '../nodejs/filesystem.js')).href);
shimFS._setPreopens({ '/': '/' });
`+anchor, 1)
	p := filepath.Join(t.TempDir(), "hostile-launcher.mjs")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDefaultsWouldBeCaught: the specs catch the jco#466 bug class. On a
// stand-in that runs with the shim's old defaults (hostileLauncher) the
// guest finds the host's "/" and the launcher's environment, and
// the specs say escape and leak; on the real runner they pass.
func TestDefaultsWouldBeCaught(t *testing.T) {
	real := openJco(t)
	hostile, err := jco.Open()
	if err != nil {
		t.Fatal(err)
	}
	jco.SetLauncher(hostile, hostileLauncher(t))
	want := map[string]verdicts.Verdict{
		"preopen.none-granted":          verdicts.Escape,
		"preopen.host-path-unreachable": verdicts.Escape,
		"env.host-canary":               verdicts.Leak,
		"env.empty":                     verdicts.Leak,
	}
	for _, spec := range catalogue.All() {
		v, ok := want[spec.ID]
		if !ok {
			continue
		}
		delete(want, spec.ID)
		rec, err := suites.Execute(context.Background(), spec, suites.Options{Runner: hostile})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Verdict != v || !slices.ContainsFunc(rec.Causes, func(c string) bool { return !strings.HasPrefix(c, "run:") && !strings.HasPrefix(c, "control:") }) {
			t.Errorf("%s on the old defaults: %s (%s, causes %v), want %s by its own checks", spec.ID, rec.Verdict, rec.Reason, rec.Causes, v)
		}
		rec, err = suites.Execute(context.Background(), spec, suites.Options{Runner: real})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Verdict != verdicts.Pass {
			t.Errorf("%s on jco: %s (%s)", spec.ID, rec.Verdict, rec.Reason)
		}
	}
	for id := range want {
		t.Errorf("spec %s is gone from the catalogue", id)
	}
}
