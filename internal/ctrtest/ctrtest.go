// Package ctrtest starts and stops a private containerd for tests through
// ci/containerd/start.sh and stop.sh (the scripts are the one source of
// truth for how a private containerd is configured).
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

// ErrSkip wraps the one-line reason when a private containerd cannot run
// here (not root): tests turn it into a skip.
var ErrSkip = errors.New("skip")

// Daemon is one private containerd.
type Daemon struct {
	Version string // "1.6" or "2" as asked
	Server  string // the version containerd reports, e.g. "1.6.20~ds1"
	RunDir  string
	Address string // gRPC socket
	// Canary is KEY=VALUE set in containerd's (and so every shim's)
	// environment; it must never reach a guest.
	Canary string
}

// script is the path of one of ci/containerd's scripts.
func script(name string) string {
	root, _ := repo.Root()
	return filepath.Join(root, "ci", "containerd", name)
}

// SkipReason returns a one-line reason when containerd specs cannot run.
func SkipReason() string {
	if os.Geteuid() != 0 {
		return fmt.Sprintf("containerd specs need root to start a private containerd (uid %d)", os.Geteuid())
	}
	return ""
}

// Start starts containerd version ("1.6" or "2") in a fresh short run dir;
// shimBin, when not empty, is copied in as the shim (else start.sh builds it).
func Start(version, shimBin string) (*Daemon, error) {
	return startWith(script("start.sh"), "wcd.", version, shimBin, "containerd "+version)
}

// startWith runs a start script (start.sh, or ci/kubernetes/cri.sh, which
// keeps its run dir layout and exit codes) on a fresh short run dir: exit 3
// is a skip, another failure stops what was started, and the last line of
// stdout is the daemon's address.
func startWith(scriptPath, prefix, version, shimBin, what string) (*Daemon, error) {
	if r := SkipReason(); r != "" {
		return nil, fmt.Errorf("%s: %w", r, ErrSkip)
	}
	dir, err := os.MkdirTemp("/tmp", prefix)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(scriptPath, version, dir)
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
		return nil, fmt.Errorf("start %s: %v: %s", what, err, strings.TrimSpace(stderr.String()))
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

// Log returns containerd's log so far.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(filepath.Join(d.RunDir, "containerd.log"))
	return string(b)
}

// Stop stops containerd and removes its run dir. It returns an error when
// stop.sh found leftovers (shim processes, mounts) or could not clean up.
func (d *Daemon) Stop() error {
	cmd := exec.Command(script("stop.sh"), d.RunDir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("stop containerd %s: %v: %s", d.Version, err, strings.TrimSpace(string(out)))
	}
	if _, err := os.Stat(d.RunDir); err == nil {
		return fmt.Errorf("stop containerd %s: %s still exists", d.Version, d.RunDir)
	}
	return nil
}
