// Package qemu holds the qemu-user legs (leg.sh, qemu.mk); this test checks
// that leg.sh refuses what it cannot run with one line and exit status 2,
// before building or installing anything.
package qemu

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestLegRefusesBadUsage(t *testing.T) {
	out := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "usage: leg.sh GOARCH OUTDIR [RUNTIME]"},
		{[]string{"arm64"}, "usage: leg.sh GOARCH OUTDIR [RUNTIME]"},
		{[]string{"mips", out}, "unknown GOARCH 'mips'"},
		{[]string{"aarch64", out}, "unknown GOARCH 'aarch64'"},
		{[]string{"s390x", out, "node"}, "unknown RUNTIME 'node'"},
		{[]string{"s390x", out, "wasmtime"}, "the wasmtime leg runs on amd64 (native) or arm64 only"},
		{[]string{"arm64", out, "wazero", "extra"}, "usage: leg.sh"},
	} {
		cmd := exec.Command("./leg.sh", c.args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Fatalf("leg.sh %q: %v, want exit status 2 (stderr %q)", c.args, err, stderr.String())
		}
		lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], "leg.sh: ") || !strings.Contains(lines[0], c.want) {
			t.Fatalf("leg.sh %q: stderr %q, want one line with %q", c.args, stderr.String(), c.want)
		}
		if stdout.Len() != 0 {
			t.Fatalf("leg.sh %q printed on stdout: %q", c.args, stdout.String())
		}
	}
	if m, _ := filepath.Glob(filepath.Join(out, "*")); len(m) != 0 {
		t.Fatalf("a refused leg wrote %v", m)
	}
}
