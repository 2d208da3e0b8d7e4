package bench_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/wasicert/wasicert/bench/internal/stats"
	"github.com/wasicert/wasicert/runners/wazero"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
)

// BenchmarkCapabilitySuite runs the whole catalogue on embedded wazero (warm
// compile cache) per iteration, and reports beside the wall time the median,
// over specs, of the harness's own cost per spec (fixture, canaries, records,
// verdict: everything but the run) and of the runtime's instantiate-and-run
// time, measured in the same iterations.
//
// Targets: the suite under 5 s on 2 cores; harness overhead under
// 5 ms per spec (median).
//
// It runs twice side by side: fixtures in the system temp dir (here ext4)
// and in /dev/shm (tmpfs), because fixture set-up is file-system bound.
func BenchmarkCapabilitySuite(b *testing.B) {
	dirs := []struct{ name, dir string }{{"fixtures=tempdir", os.TempDir()}}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		dirs = append(dirs, struct{ name, dir string }{"fixtures=dev-shm", "/dev/shm"})
	}
	for _, d := range dirs {
		b.Run(d.name, func(b *testing.B) { benchSuite(b, d.dir) })
	}
}

func benchSuite(b *testing.B, fixtureDir string) {
	r, err := wazero.New(wazero.Options{})
	if err != nil {
		b.Fatal(err)
	}
	specs := catalogue.All()
	// Warm the compile cache and the probe files once, as a real run does.
	for _, s := range specs[:1] {
		if _, err := suites.Execute(context.Background(), s, suites.Options{Runner: r, FixtureDir: fixtureDir}); err != nil {
			b.Fatal(err)
		}
	}
	var harness, runtime []time.Duration
	b.ResetTimer()
	for b.Loop() {
		for _, s := range specs {
			start := time.Now()
			rec, err := suites.Execute(context.Background(), s, suites.Options{Runner: r, FixtureDir: fixtureDir})
			total := time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			if rec.Verdict == "skipped" {
				continue
			}
			runtime = append(runtime, rec.Duration)
			harness = append(harness, total-rec.Duration)
		}
	}
	b.ReportMetric(float64(len(specs)), "specs/op")
	b.ReportMetric(stats.Median(stats.Millis(harness...)), "harness-ms/spec")
	b.ReportMetric(stats.Median(stats.Millis(runtime...)), "runtime-ms/spec")
}
