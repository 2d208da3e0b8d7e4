// Package node registers two JavaScript runtimes' WASI implementations:
// "node" (node:wasi of the machine's Node.js, uvwasi underneath) and "bun"
// (Bun's node:wasi, from the project-local npm package bun, pinned by
// ci/runtimes/runtimes.mk). Both run the same launcher script (launcher.js,
// embedded), one process per run, through internal/process.
//
// The launcher passes the guest exactly the invocation's args, env and
// preopens (never process.env), reports how the guest ended on fd 3, and
// classifies a WebAssembly.RuntimeError, and a RangeError for the call stack
// (a guest stack overflow), as a trap. The invocation travels as JSON, so a
// string that is not UTF-8 is refused (process.RunJob). Neither runtime has
// read-only preopens (the launcher refuses one) nor preopened listeners.
// Node links the sock_* imports (uvwasi); Bun does not link sock_accept.
//
// Known, reported not hidden: Node 20 dies by SIGSEGV on sock_accept(0) when
// stdin is /dev/null or a pipe (EndedCrash). Env and preopens travel as JS
// objects, so a duplicated key keeps its last value, and integer-like keys
// are reordered (JS property order).
package node

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"

	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasicert/wasicert/runners"
)

//go:embed launcher.js
var launcherJS []byte

// Registry names.
const (
	NodeName = "node"
	BunName  = "bun"
)

func init() {
	runners.Register(NodeName, OpenNode)
	runners.Register(BunName, OpenBun)
}

// Runner runs the launcher under one JavaScript runtime.
type Runner struct {
	name     string
	version  string
	bin      string
	args     []string // before the launcher path
	features runners.Features
}

func (r *Runner) Name() string               { return r.name }
func (r *Runner) Version() string            { return r.version }
func (r *Runner) Features() runners.Features { return r.features }

// Binary is the JavaScript runtime's executable.
func (r *Runner) Binary() string { return r.bin }

// Run runs inv under the launcher.
func (r *Runner) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	script, err := launcher()
	if err != nil {
		return runners.Result{}, fmt.Errorf("%s: %w", r.name, err)
	}
	return process.RunJob(ctx, process.Launch{
		Name: r.name,
		Path: r.bin,
		Args: append(append([]string{}, r.args...), script),
	}, inv)
}

var (
	launcherOnce sync.Once
	launcherPath string
	launcherErr  error
)

// launcher writes the embedded launcher script once, to a file named by its
// content hash under process.CacheDir("launchers"), and returns its path.
func launcher() (string, error) {
	launcherOnce.Do(func() {
		sum := sha256.Sum256(launcherJS)
		dir, err := process.CacheDir("launchers")
		if err != nil {
			launcherErr = err
			return
		}
		p := filepath.Join(dir, "wasi-launcher-"+hex.EncodeToString(sum[:6])+".js")
		if b, err := os.ReadFile(p); err == nil && string(b) == string(launcherJS) {
			launcherPath = p
			return
		}
		tmp := p + "." + strconv.Itoa(os.Getpid())
		if err := os.WriteFile(tmp, launcherJS, 0o644); err != nil {
			launcherErr = err
			return
		}
		launcherErr = os.Rename(tmp, p)
		launcherPath = p
	})
	return launcherPath, launcherErr
}

var (
	nodeVersionRE = regexp.MustCompile(`^v(\d+\.\d+\.\d+\S*)`)
	bunVersionRE  = regexp.MustCompile(`^(\d+\.\d+\.\d+\S*)`)
)

// OpenNode finds node ($WASICERT_NODE, else PATH).
func OpenNode() (runners.Runner, error) {
	name := os.Getenv("WASICERT_NODE")
	if name == "" {
		name = "node"
	}
	bin, err := process.Find(name)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	v, err := process.Version(bin, []string{"--version"}, nodeVersionRE)
	if err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	return &Runner{
		name: NodeName, version: v, bin: bin,
		// WASI is experimental in Node 20: keep its warning off the guest's stderr.
		args:     []string{"--no-warnings"},
		features: runners.Features{runners.FeatureStdin, runners.FeatureSockImports},
	}, nil
}

// bunPaths are where the npm package bun puts the real binary, relative to
// the install prefix (runtimes.mk installs into <tools>/bun).
var bunPaths = []string{
	"node_modules/bun/bin/bun.exe",             // after the package's postinstall
	"node_modules/@oven/bun-linux-x64/bin/bun", // the platform package itself
	"node_modules/@oven/bun-linux-aarch64/bin/bun",
}

// findBun locates bun: $WASICERT_BUN, else as process.FindTool finds a
// tool: <tools>/bun/<bunPaths> in the tools directories, a bun next to
// wasicert, "bun" on PATH.
func findBun() (string, error) {
	if p := os.Getenv("WASICERT_BUN"); p != "" {
		return process.Find(p)
	}
	rel := make([]string, len(bunPaths))
	for i, p := range bunPaths {
		rel[i] = filepath.Join("bun", p)
	}
	return process.FindTool("bun", rel...)
}

// OpenBun finds the project-local bun.
func OpenBun() (runners.Runner, error) {
	bin, err := findBun()
	if err != nil {
		return nil, fmt.Errorf("bun: %w", err)
	}
	v, err := process.Version(bin, []string{"--version"}, bunVersionRE)
	if err != nil {
		return nil, fmt.Errorf("bun: %w", err)
	}
	return &Runner{
		name: BunName, version: v, bin: bin,
		features: runners.Features{runners.FeatureStdin},
	}, nil
}
