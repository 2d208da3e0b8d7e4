// Package certify_test measures `wasicert certify` per installed runtime:
// the whole catalogue run, the bundle written and then verified, end to end
// through the real command (make bench, its own count: each iteration is a
// full certification run).
package certify_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wasicert/wasicert/runners"
	_ "github.com/wasicert/wasicert/runners/all"
)

// BenchmarkCertify runs `wasicert certify --runtime R` then `wasicert
// verify` per iteration for every installed runtime, and reports the
// bundle's size.
func BenchmarkCertify(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "wasicert")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/wasicert").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for _, name := range runners.Names() {
		r, err := runners.Open(name)
		if err != nil {
			continue // not installed here: `wasicert runtimes` says why
		}
		if c, ok := r.(interface{ Close() error }); ok {
			c.Close()
		}
		b.Run(name, func(b *testing.B) {
			var size int64
			i := 0
			for b.Loop() {
				i++
				out := filepath.Join(dir, name, fmt.Sprintf("bundle-%d", i))
				cmd := exec.Command(bin, "certify", "--runtime", name, "--out", out)
				if err := cmd.Run(); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) || ee.ExitCode() != 1 { // 1: not certified
						b.Fatalf("certify %s: %v", name, err)
					}
				}
				if err := exec.Command(bin, "verify", out).Run(); err != nil {
					var ee *exec.ExitError
					if !errors.As(err, &ee) || ee.ExitCode() != 1 {
						b.Fatalf("verify %s: %v", name, err)
					}
				}
				size = dirSize(out)
				os.RemoveAll(out)
			}
			b.ReportMetric(float64(size), "bundle-bytes")
		})
	}
}

func dirSize(dir string) int64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			n += fi.Size()
		}
	}
	return n
}
