package bench_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wasicert/wasicert/bench/internal/stats"
	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasicert/wasicert/internal/wasitestsuite"
	"github.com/wasicert/wasicert/runners"
	_ "github.com/wasicert/wasicert/runners/all"
	"github.com/wasicert/wasicert/runners/wazero"
)

// TestsuiteDirsEnv names suite directories (separated by ':') for
// BenchmarkWasiTestsuite instead of wasicert's own, e.g. upstream's prebuilt
// tests/*/testsuite/wasm32-wasip1.
const TestsuiteDirsEnv = "WASICERT_BENCH_TESTSUITE"

// BenchmarkWasiTestsuite measures tests per second on suites in the
// wasi-testsuite format: first the baseline, upstream's way (one `wazero
// run` process per test, one test at a time, with the argv of upstream's
// adapters/wazero.py and no compile cache), then `wasicert wasi-testsuite`
// (wasitestsuite.Run, --jobs = cores) on embedded wazero and on the wazero
// CLI, each with a cold compile cache (a new one per iteration) and a warm
// one. Every wazero run must give the baseline's verdicts; "x-baseline" is
// its throughput over the baseline's median (of the counts run so far). Other engines (wasmtime) report
// tests/s only.
//
// Targets (issue 13): at least 5x the baseline cold, 10x warm.
func BenchmarkWasiTestsuite(b *testing.B) {
	suites := benchSuites(b)
	wazeroCLI, err := process.FindTool("wazero", "bin/wazero")
	if err != nil {
		b.Skipf("the wazero CLI for the baseline: %v", err)
	}
	var want map[string]wasitestsuite.Outcome
	b.Run("baseline=wazero-cli-one-at-a-time", func(b *testing.B) {
		var n int
		var elapsed time.Duration
		for b.Loop() {
			verdicts := map[string]wasitestsuite.Outcome{}
			for _, s := range suites {
				for _, t := range s.Tests {
					if t.Err != nil || t.Skip != "" {
						continue
					}
					v, d := upstreamWay(b, wazeroCLI, s, t)
					verdicts[s.Manifest.Name+"/"+t.Name] = v
					elapsed += d
					n++
				}
			}
			want = verdicts
		}
		tps := float64(n) / elapsed.Seconds()
		baselines = append(baselines, tps)
		b.ReportMetric(tps, "tests/s")
	})
	if want == nil {
		return
	}
	for _, c := range []struct {
		name    string
		runtime string
		cold    bool
	}{
		{"wazero/cold", "wazero", true},
		{"wazero/warm", "wazero", false},
		{"wazero-cli/cold", "wazero-cli", true},
		{"wazero-cli/warm", "wazero-cli", false},
		{"wazero-interpreter/warm", "wazero-interpreter", false},
		{"wasmtime/warm", "wasmtime", false},
	} {
		b.Run(c.name, func(b *testing.B) {
			open := func() runners.Runner {
				var r runners.Runner
				var err error
				switch {
				case c.runtime == "wazero" && c.cold:
					// a runner with a compile cache of its own (a bound
					// other than the default gets one), new each time
					r, err = wazero.New(wazero.Options{MemoryLimit: wazero.DefaultMemoryLimit / 2})
				case c.runtime == "wazero-cli" && c.cold:
					os.Setenv("WASICERT_CACHE_DIR", b.TempDir())
					r, err = runners.Open(c.runtime)
				default:
					r, err = runners.Open(c.runtime)
				}
				if errors.Is(err, runners.ErrNotInstalled) {
					b.Skip(err)
				}
				if err != nil {
					b.Fatal(err)
				}
				return r
			}
			if c.runtime == "wazero-cli" && !c.cold {
				os.Setenv("WASICERT_CACHE_DIR", b.TempDir())
			}
			defer os.Unsetenv("WASICERT_CACHE_DIR")
			warm := open()
			if !c.cold {
				runAll(b, warm, suites) // fills the cache
			}
			var n int
			var elapsed time.Duration
			for b.Loop() {
				r := warm
				if c.cold {
					b.StopTimer()
					r = open()
					b.StartTimer()
				}
				start := time.Now()
				got := runAll(b, r, suites)
				elapsed += time.Since(start)
				n += len(got)
				// Other engines differ from wazero's verdicts, by design.
				if diff := diffVerdicts(want, got); diff != "" && strings.HasPrefix(c.runtime, "wazero") {
					b.Fatalf("verdicts differ from the baseline's: %s", diff)
				}
			}
			tps := float64(n) / elapsed.Seconds()
			b.ReportMetric(tps, "tests/s")
			if strings.HasPrefix(c.runtime, "wazero") {
				b.ReportMetric(tps/stats.Median(baselines), "x-baseline")
			}
		})
	}
}

// baselines are the baseline's tests/s of every count so far in this
// process; "x-baseline" divides by their median.
var baselines []float64

// benchSuites loads $WASICERT_BENCH_TESTSUITE's suites, or wasicert's own
// pass and fail suites.
func benchSuites(b *testing.B) []*wasitestsuite.Suite {
	dirs := []string{"../internal/wasitestsuite/testdata/pass", "../internal/wasitestsuite/testdata/fail"}
	if v := os.Getenv(TestsuiteDirsEnv); v != "" {
		dirs = strings.Split(v, ":")
	}
	var out []*wasitestsuite.Suite
	for _, d := range dirs {
		s, err := wasitestsuite.Load(d)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// runAll runs the suites as `wasicert wasi-testsuite` does and returns the
// verdicts of the tests that ran.
func runAll(b *testing.B, r runners.Runner, suites []*wasitestsuite.Suite) map[string]wasitestsuite.Outcome {
	got := map[string]wasitestsuite.Outcome{}
	for _, s := range suites {
		for _, res := range wasitestsuite.Run(context.Background(), s, wasitestsuite.Options{Runner: r, Jobs: runtime.NumCPU(), TempDir: b.TempDir()}) {
			if res.Ended != "" {
				got[res.Suite+"/"+res.Test] = res.Outcome
			}
		}
	}
	return got
}

func diffVerdicts(want, got map[string]wasitestsuite.Outcome) string {
	var d []string
	for k, w := range want {
		if got[k] != w {
			d = append(d, fmt.Sprintf("%s: %s, baseline %s", k, got[k], w))
		}
	}
	if len(got) != len(want) {
		d = append(d, fmt.Sprintf("%d tests ran, baseline %d", len(got), len(want)))
	}
	sort.Strings(d)
	return strings.Join(d, "; ")
}

// upstreamWay runs one test as upstream's runner does with its wazero
// adapter: `wazero run -hostlogging=filesystem [-env=K=V]... [-mount=DIR:/]
// MODULE ARGS...` in a process of its own, the root's *.cleanup removed
// before; a pass is the exit code, then each expected output as a prefix.
// The root is a copy, so that the suite's own directory stays as it is.
// It returns the verdict and the time taken, the root's copy left out.
func upstreamWay(b *testing.B, wazeroCLI string, s *wasitestsuite.Suite, t wasitestsuite.Test) (wasitestsuite.Outcome, time.Duration) {
	argv := []string{"run", "-hostlogging=filesystem"}
	keys := make([]string, 0, len(t.Spec.Env))
	for k := range t.Spec.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		argv = append(argv, "-env="+k+"="+t.Spec.Env[k])
	}
	var root string
	if t.Spec.Root != nil {
		root = filepath.Join(b.TempDir(), "root")
		if out, err := exec.Command("cp", "-a", filepath.Join(s.Dir, *t.Spec.Root), root).CombinedOutput(); err != nil {
			b.Fatalf("copy: %v %s", err, out)
		}
		argv = append(argv, "-mount="+root+":/")
	}
	start := time.Now()
	if root != "" {
		cleanup(root)
	}
	for _, d := range t.Spec.Dirs {
		argv = append(argv, "-mount="+filepath.Join(s.Dir, d)+":"+d)
	}
	argv = append(append(argv, t.Module), t.Spec.Args...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // upstream's default
	defer cancel()
	cmd := exec.CommandContext(ctx, wazeroCLI, argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if root != "" {
		cleanup(root)
	}
	took := time.Since(start)
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		b.Fatal(err)
	}
	want := 0
	if t.Spec.ExitCode != nil {
		want = *t.Spec.ExitCode
	}
	if ctx.Err() != nil || code != want ||
		(t.Spec.Stdout != nil && !bytes.HasPrefix(stdout.Bytes(), []byte(*t.Spec.Stdout))) ||
		(t.Spec.Stderr != nil && !bytes.HasPrefix(stderr.Bytes(), []byte(*t.Spec.Stderr))) {
		return wasitestsuite.Fail, took
	}
	return wasitestsuite.Pass, took
}

// cleanup removes *.cleanup entries under dir, as upstream does before and
// after each test.
func cleanup(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(d.Name(), ".cleanup") {
			_ = os.RemoveAll(p)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
}
