package ctrtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/wasicert/wasicert/internal/repo"
)

// StartCRI is Start with containerd's CRI plugin on and our shim as the
// runtime handler "wazero", through ci/kubernetes/cri.sh (same run dir
// layout: Stop stops it and reports leftovers).
func StartCRI(version, shimBin string) (*Daemon, error) {
	if r := SkipReason(); r != "" {
		return nil, fmt.Errorf("%s: %w", r, ErrSkip)
	}
	dir, err := os.MkdirTemp("/tmp", "wcri.")
	if err != nil {
		return nil, err
	}
	root, _ := repo.Root()
	cmd := exec.Command(filepath.Join(root, "ci", "kubernetes", "cri.sh"), version, dir)
	cmd.Env = os.Environ()
	if shimBin != "" {
		cmd.Env = append(cmd.Env, "SHIM_BIN="+shimBin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 3 {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("%s: %w", strings.TrimSpace(stderr.String()), ErrSkip)
		}
		_ = exec.Command(script("stop.sh"), dir).Run()
		return nil, fmt.Errorf("start containerd %s with CRI: %v: %s", version, err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	d := &Daemon{Version: version, RunDir: dir, Address: lines[len(lines)-1]}
	if b, err := os.ReadFile(filepath.Join(dir, "version")); err == nil {
		d.Server = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile(filepath.Join(dir, "canary")); err == nil {
		d.Canary = strings.TrimSpace(string(b))
	}
	return d, nil
}
