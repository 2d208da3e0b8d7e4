package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/internal/repo"
)

// TestDiscoveryOutsideTheRepository: wasicert installed outside the
// repository (built with -trimpath, as `go install` of a module is, so it
// cannot find the checkout it came from) and run from an empty directory
// with HOME and XDG_CACHE_HOME in a temp dir finds the workers next to it,
// the tools in $WASICERT_TOOLS_DIR (or --tools-dir) and in the XDG cache,
// keeps its compile caches in the XDG cache, and answers the same from
// inside the repository: the working directory plays no part.
func TestDiscoveryOutsideTheRepository(t *testing.T) {
	root, ok := repo.Root()
	if !ok {
		t.Skip("needs the repository (its .tools) to borrow the runtimes from")
	}
	wazeroCLI := filepath.Join(root, ".tools", "bin", "wazero")
	bunDir := filepath.Join(root, ".tools", "bun")
	for _, p := range []string{wazeroCLI, bunDir} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("needs the runtimes installed in the repository (make deps): %v", err)
		}
	}

	tmp := t.TempDir()
	binDir := filepath.Join(tmp, "bin")
	build := func(pkg string, args ...string) {
		t.Helper()
		cmd := exec.Command("go", append(append([]string{"build"}, args...), "-o", binDir+"/", pkg)...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	build("./cmd/wasicert", "-trimpath")
	build("./cmd/wasicert-worker-wasmtime")
	build("./cmd/wasicert-worker-wasmer")

	// A tools directory of runtimes.mk's layout, borrowing the installed ones.
	tools := filepath.Join(tmp, "tools")
	os.MkdirAll(filepath.Join(tools, "bin"), 0o755)
	if err := os.Symlink(wazeroCLI, filepath.Join(tools, "bin", "wazero")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bunDir, filepath.Join(tools, "bun")); err != nil {
		t.Fatal(err)
	}

	empty := filepath.Join(tmp, "cwd")
	os.MkdirAll(empty, 0o755)
	home := filepath.Join(tmp, "home")
	cache := filepath.Join(tmp, "xdg-cache")
	// Nothing of the caller's discovery settings, and a PATH without the
	// runtimes: what is found is found where this test put it.
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WASICERT_") && !strings.HasPrefix(kv, "HOME=") &&
			!strings.HasPrefix(kv, "XDG_") && !strings.HasPrefix(kv, "PATH=") {
			base = append(base, kv)
		}
	}
	base = append(base, "HOME="+home, "XDG_CACHE_HOME="+cache, "PATH=/usr/local/bin:/usr/bin:/bin")

	runtimes := func(dir string, env []string, args ...string) map[string]runtimeLine {
		t.Helper()
		cmd := exec.Command(filepath.Join(binDir, "wasicert"), append([]string{"runtimes", "--json"}, args...)...)
		cmd.Dir = dir
		cmd.Env = append(append([]string{}, base...), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("wasicert runtimes in %s: %v\n%s", dir, err, stderr.String())
		}
		lines := map[string]runtimeLine{}
		for _, l := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
			var rl runtimeLine
			if err := json.Unmarshal(l, &rl); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			lines[rl.Name] = rl
		}
		return lines
	}
	installed := func(t *testing.T, got map[string]runtimeLine, names ...string) {
		t.Helper()
		for _, n := range names {
			if got[n].Status != "installed" {
				t.Errorf("%s: %s (%s)", n, got[n].Status, got[n].Reason)
			}
		}
	}

	t.Run("env", func(t *testing.T) {
		got := runtimes(empty, []string{"WASICERT_TOOLS_DIR=" + tools})
		installed(t, got, "wasmtime", "wasmer", "wazero-cli", "bun")
		// The workers' compile caches are in the XDG cache.
		for _, n := range []string{"wasmtime", "wasmer"} {
			if m, _ := filepath.Glob(filepath.Join(cache, "wasicert", n+"-*")); len(m) == 0 {
				t.Errorf("%s: no compile cache under %s", n, filepath.Join(cache, "wasicert"))
			}
		}
	})
	t.Run("flag", func(t *testing.T) {
		installed(t, runtimes(empty, nil, "--tools-dir", tools), "wazero-cli", "bun")
	})
	t.Run("xdg-cache", func(t *testing.T) {
		xdgTools := filepath.Join(cache, "wasicert", "tools")
		os.MkdirAll(filepath.Dir(xdgTools), 0o755)
		if err := os.Symlink(tools, xdgTools); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(xdgTools)
		installed(t, runtimes(empty, nil), "wazero-cli", "bun")
	})
	t.Run("cwd-plays-no-part", func(t *testing.T) {
		// Without a tools directory, the empty dir and the repository (whose
		// .tools holds both) give the same answers: neither is installed.
		outside, inside := runtimes(empty, nil), runtimes(root, nil)
		for _, n := range []string{"wazero-cli", "bun", "wasmtime", "wasmer"} {
			if outside[n].Status != inside[n].Status {
				t.Errorf("%s: %s from an empty dir, %s from the repository", n, outside[n].Status, inside[n].Status)
			}
		}
		if outside["wazero-cli"].Status == "installed" {
			t.Errorf("wazero-cli found with no tools directory: %+v", outside["wazero-cli"])
		}
		installed(t, outside, "wasmtime", "wasmer")
	})
}
