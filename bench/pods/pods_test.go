// Package pods_test measures what a pod costs: one probe run as a pod
// through containerd's CRI (runners/cri, as kubelet drives it: sandbox,
// container, status polling, log file, removal) against the same module run
// as a container through the containerd client (runners/containerd), side by
// side on one private containerd with our shim (make bench, as root; skipped
// otherwise).
package pods_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wasicert/wasicert/bench/internal/stats"
	"github.com/wasicert/wasicert/internal/ctrtest"
	"github.com/wasicert/wasicert/runners"
	ctrd "github.com/wasicert/wasicert/runners/containerd"
	"github.com/wasicert/wasicert/runners/cri"
)

// BenchmarkPodRun runs, per iteration, the hello module once as a pod
// through the CRI and once as a container through the containerd client,
// interleaved on the same daemon and shim, on containerd 2.2.9 and 1.6.20.
// It reports both medians and their ratio (cri-ms, client-ms, cri/client).
func BenchmarkPodRun(b *testing.B) {
	if r := ctrtest.SkipReason(); r != "" {
		b.Skip(r)
	}
	wasm, err := os.ReadFile(filepath.Join("..", "..", "runners", "containerd", "testdata", "hello.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(wasm)
	mod := runners.Module{Name: "hello", Bytes: wasm, Digest: hex.EncodeToString(sum[:])}
	shim := ctrtest.BuildShim(b)
	for _, v := range []string{"2", "1.6"} {
		b.Run("containerd-"+v, func(b *testing.B) {
			d := ctrtest.StartCRIFor(b, v, shim)
			pod, err := cri.New(cri.Options{Endpoint: "unix://" + d.Address, RuntimeHandler: "wazero", StateDir: filepath.Join(d.RunDir, "tmp", "cri")})
			if err != nil {
				b.Fatal(err)
			}
			defer pod.Close()
			client, err := ctrd.New(ctrd.Options{Address: d.Address, StateDir: b.TempDir(), CacheImages: true})
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close()
			run := func(r runners.Runner) time.Duration {
				start := time.Now()
				res, err := r.Run(context.Background(), runners.Invocation{Module: mod, Args: []string{"/hello.wasm"}, Timeout: 20 * time.Second})
				if err != nil || res.ExitCode != 7 {
					b.Fatalf("%s: %s %v", r.Name(), res, err)
				}
				return time.Since(start)
			}
			run(pod) // the first run of each imports the image
			run(client)
			var pods, clients []time.Duration
			for b.Loop() {
				pods = append(pods, run(pod))
				clients = append(clients, run(client))
			}
			p, c := stats.Median(stats.Millis(pods...)), stats.Median(stats.Millis(clients...))
			b.ReportMetric(p, "cri-ms")
			b.ReportMetric(c, "client-ms")
			b.ReportMetric(p/c, "cri/client")
		})
	}
}
