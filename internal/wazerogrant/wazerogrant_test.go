package wazerogrant_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasicert/wasicert/internal/wazerogrant"
	"github.com/wasicert/wasicert/probes"
)

func TestConfinedMissingDir(t *testing.T) {
	_, _, err := wazerogrant.Confined([]string{"x"}, nil, []wazerogrant.Dir{{Guest: "/sandbox", Host: t.TempDir() + "/missing"}})
	if err == nil {
		t.Fatal("Confined with a missing host directory succeeded")
	}
	cfg, release, err := wazerogrant.Confined([]string{"x"}, []string{"A=1"}, []wazerogrant.Dir{{Guest: "/sandbox", Host: t.TempDir()}})
	if err != nil || cfg == nil || release == nil {
		t.Fatalf("Confined: %v, %v", cfg, err)
	}
	release()
}

// A guest run with Config and with Confined sees exactly the granted argv
// and environment (the environ module prints them), and nothing of
// this process's environment.
func TestGrantsExactly(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join("..", "..", "runners", "containerd", "testdata", "environ.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("WAZEROGRANT_HOST_CANARY", "host-secret")
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	compiled, err := rt.CompileModule(ctx, wasm)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"A=1", "B=x=y"}
	confined, release, err := wazerogrant.Confined([]string{"m"}, env, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for name, cfg := range map[string]wazero.ModuleConfig{"Config": wazerogrant.Config([]string{"m"}, env, nil), "Confined": confined} {
		var out bytes.Buffer
		mod, err := rt.InstantiateModule(ctx, compiled, cfg.WithStdout(&out))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		mod.Close(ctx)
		if got, want := out.String(), "m\n--\nA=1\nB=x=y\n"; got != want {
			t.Errorf("%s: the guest sees argv and environ %q, want %q", name, got, want)
		}
	}
}

// A directory fd the guest opens as "." of a confined preopen works as the
// preopen does (wazero names paths under it "/" + path), keeps working after
// the preopen is closed (WASI #522), and gives a hostile guest nothing more
// than the preopen does: no "..", no host-planted link out, no host path
// from path_readlink, no write to a read-only mount.
func TestConfinedDotDir(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join("..", "..", "probes", "fs.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	const secret, inside, victim = "SECRET-OUTSIDE", "INSIDE-FILE", "READ-ONLY-VICTIM"
	for name, content := range map[string]string{"outside/secret.txt": secret, "sandbox/inside.txt": inside, "ro/victim.txt": victim} {
		if err := os.MkdirAll(filepath.Join(tmp, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	hostLink := filepath.Join(tmp, "outside", "secret.txt")
	if err := os.Symlink(hostLink, filepath.Join(tmp, "sandbox", "abs")); err != nil {
		t.Fatal(err)
	}
	cfg, release, err := wazerogrant.Confined([]string{"fs",
		"opendir", "dot", "/sandbox", ".", "dot",
		"open", "read", "dot", "inside.txt", "follow", "0", "r",
		"write", "create", "dot", "made.txt", "follow", "1", "MADE",
		"open", "dotdot", "dot", "../outside/secret.txt", "follow", "0", "r",
		"open", "dotdot-abs", "dot", "/../outside/secret.txt", "follow", "0", "r",
		"open", "abs", "dot", "abs", "follow", "0", "r",
		"readlink", "readlink-abs", "dot", "abs",
		"opendir", "rodot", "/ro", ".", "rodot",
		"open", "ro-read", "rodot", "victim.txt", "follow", "0", "r",
		"write", "ro-trunc", "rodot", "victim.txt", "follow", "8", "X",
		"close-preopen", "close", "/sandbox",
	}, nil, []wazerogrant.Dir{
		{Guest: "/sandbox", Host: filepath.Join(tmp, "sandbox")},
		{Guest: "/ro", Host: filepath.Join(tmp, "ro"), ReadOnly: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	defer rt.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	var out bytes.Buffer
	mod, err := rt.InstantiateWithConfig(ctx, wasm, cfg.WithStdout(&out))
	if err != nil {
		t.Fatalf("the probe failed: %v\n%s", err, out.String())
	}
	mod.Close(ctx)
	defer func() {
		if t.Failed() {
			t.Logf("the probe printed:\n%s", out.String())
		}
	}()
	lines, junk := probes.ParseLines(out.Bytes())
	if len(junk) > 0 {
		t.Fatalf("the probe printed junk: %q", junk)
	}
	got := map[string]probes.Line{} // by check; close-preopen's records by close/op
	for _, l := range lines {
		key := l.Check
		if l.Check == "close" {
			key += "/" + l.Op
		}
		got[key] = l
		if strings.Contains(l.Data, secret) || strings.Contains(l.Data, tmp) {
			t.Errorf("%s/%s: the guest got %q", l.Check, l.Op, l.Data)
		}
	}
	for _, check := range []string{"dot", "rodot", "read", "create", "ro-read", "close/open-derived", "close/close", "close/use-derived"} {
		if l, ok := got[check]; !ok || !l.OK() {
			t.Errorf("%s: %+v, want success", check, l)
		}
	}
	for check, want := range map[string]string{"read": inside, "ro-read": victim, "close/use-derived": inside} {
		if got[check].Data != want {
			t.Errorf("%s read %q, want %q", check, got[check].Data, want)
		}
	}
	for _, check := range []string{"dotdot", "dotdot-abs", "abs", "readlink-abs", "ro-trunc"} {
		if l, ok := got[check]; !ok || l.Reached() {
			t.Errorf("%s: %+v, want a refusal", check, l)
		}
	}
	if b, err := os.ReadFile(filepath.Join(tmp, "sandbox", "made.txt")); err != nil || string(b) != "MADE" {
		t.Errorf("made.txt through the dot fd: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(tmp, "ro", "victim.txt")); err != nil || string(b) != victim {
		t.Errorf("the read-only victim.txt is now %q, %v", b, err)
	}
	if b, err := os.ReadFile(hostLink); err != nil || string(b) != secret {
		t.Errorf("outside/secret.txt is now %q, %v", b, err)
	}
}
