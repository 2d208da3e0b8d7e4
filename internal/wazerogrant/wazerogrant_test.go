package wazerogrant_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/wasicert/wasicert/internal/wazerogrant"
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
