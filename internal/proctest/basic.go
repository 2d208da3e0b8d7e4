package proctest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasicert/wasicert/internal/repo"
	"github.com/wasicert/wasicert/runners"
)

// BuildWorker go-builds the worker command pkg (e.g. "./cmd/wasicert-worker-wasmtime",
// relative to the repository root) into a temporary directory, points
// WASICERT_WORKER_DIR at it, and returns the binary's path. Go's build cache
// makes this cheap after the first time.
func BuildWorker(t *testing.T, pkg string) string {
	t.Helper()
	root := RepoRoot(t)
	dir := t.TempDir()
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	t.Setenv("WASICERT_WORKER_DIR", dir)
	return out
}

// RepoRoot is the repository root (repo.Root), or a fatal error.
func RepoRoot(t *testing.T) string {
	t.Helper()
	root, ok := repo.Root()
	if !ok {
		t.Fatal("no wasicert repository above this test's sources")
	}
	return root
}

// Expect tunes Basic to what a runtime is known to do.
type Expect struct {
	// NoStdin skips the stdin check (runtime does not claim FeatureStdin).
	NoStdin bool
	// TrapIsExit: the runtime cannot tell a trap from an exit (a template
	// without a trap rule), so a trap is expected as EndedExit.
	TrapIsExit bool
}

// Basic checks what every out-of-process runner must do: hello runs and exits
// 0 with its output separated, proc_exit(7) is exit 7, a trap is EndedTrap, a
// spin is EndedTimeout near its deadline with no process left behind, the
// guest's env and args are exactly the configured ones while the harness's
// own env holds a marker, and stdin reaches the guest.
func Basic(t *testing.T, r runners.Runner, ex Expect) {
	mark := MarkEnv(t)

	t.Run("hello", func(t *testing.T) {
		res := Run(t, r, Inv(Module(t, "hello"), nil))
		if res.Ended != runners.EndedExit || res.ExitCode != 0 {
			t.Fatalf("hello: %s (stderr %q)", res, res.Stderr)
		}
		if string(res.Stdout) != "hello\n" || !bytes.Contains(res.Stderr, []byte("oops\n")) {
			t.Fatalf("hello: stdout %q stderr %q", res.Stdout, res.Stderr)
		}
		t.Logf("hello: %s in %s", res, res.Duration)
	})
	t.Run("exit7", func(t *testing.T) {
		res := Run(t, r, Inv(Module(t, "exit7"), nil))
		if res.Ended != runners.EndedExit || res.ExitCode != 7 || string(res.Stdout) != "bye\n" {
			t.Fatalf("exit7: %s stdout %q stderr %q", res, res.Stdout, res.Stderr)
		}
	})
	t.Run("trap", func(t *testing.T) {
		res := Run(t, r, Inv(Module(t, "trap"), nil))
		want := runners.EndedTrap
		if ex.TrapIsExit {
			want = runners.EndedExit
		}
		if res.Ended != want {
			t.Fatalf("trap: got %s, want %s (exit %d, stderr %q)", res, want, res.ExitCode, res.Stderr)
		}
		t.Logf("trap: %s", res)
	})
	t.Run("spin", func(t *testing.T) {
		inv := Inv(Module(t, "spin"), nil)
		inv.Timeout = 1500 * time.Millisecond
		start := time.Now()
		res := Run(t, r, inv)
		took := time.Since(start)
		if res.Ended != runners.EndedTimeout {
			t.Fatalf("spin: %s", res)
		}
		if took > inv.Timeout+3*time.Second {
			t.Fatalf("spin: took %s for a %s timeout", took, inv.Timeout)
		}
		if left := Leftovers(mark); len(left) > 0 {
			t.Fatalf("spin: processes left behind: %v", left)
		}
		t.Logf("spin: %s after %s", res, took)
	})
	t.Run("env", func(t *testing.T) {
		env := []string{"A=1", "B=two words", "EMPTY=", "EQ=x=y"}
		res := Run(t, r, Inv(Module(t, "env"), env))
		if res.Ended != runners.EndedExit || res.ExitCode != 0 {
			t.Fatalf("env: %s stderr %q", res, res.Stderr)
		}
		got := strings.Split(strings.TrimSuffix(string(res.Stdout), "\x00"), "\x00")
		if strings.Contains(string(res.Stdout), mark) {
			t.Fatalf("env: the harness's own environment leaked: %q", res.Stdout)
		}
		if strings.Join(sorted(got), "|") != strings.Join(sorted(env), "|") {
			t.Fatalf("env: guest saw %q, want exactly %q", got, env)
		}
		res = Run(t, r, Inv(Module(t, "env"), nil))
		if len(res.Stdout) != 0 {
			t.Fatalf("env: with no env the guest saw %q", res.Stdout)
		}
	})
	t.Run("args", func(t *testing.T) {
		res := Run(t, r, Inv(Module(t, "args"), nil, "one", "two words", "--flag", "-x"))
		got := strings.Split(strings.TrimSuffix(string(res.Stdout), "\x00"), "\x00")
		if len(got) != 5 || strings.Join(got[1:], "|") != "one|two words|--flag|-x" {
			t.Fatalf("args: guest saw %q (%s, stderr %q)", got, res, res.Stderr)
		}
		t.Logf("args: argv[0] = %q", got[0])
	})
	if !ex.NoStdin {
		t.Run("stdin", func(t *testing.T) {
			inv := Inv(Module(t, "cat"), nil)
			inv.Stdin = []byte("from stdin\n")
			res := Run(t, r, inv)
			if string(res.Stdout) != "from stdin\n" {
				t.Fatalf("stdin: stdout %q (%s, stderr %q)", res.Stdout, res, res.Stderr)
			}
		})
	}
	if left := Leftovers(mark); len(left) > 0 {
		t.Fatalf("processes left behind: %v", left)
	}
}

func sorted(s []string) []string {
	c := append([]string{}, s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

// Time returns the median wall time of n runs of inv on r.
func Time(t *testing.T, r runners.Runner, inv runners.Invocation, n int) time.Duration {
	var ds []time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		res := Run(t, r, inv)
		if res.Ended != runners.EndedExit {
			t.Fatalf("timing run: %s", res)
		}
		ds = append(ds, time.Since(start))
	}
	for i := range ds {
		for j := i + 1; j < len(ds); j++ {
			if ds[j] < ds[i] {
				ds[i], ds[j] = ds[j], ds[i]
			}
		}
	}
	return ds[len(ds)/2]
}
