// Package jco registers "jco": a WASI 0.2 host. Each preview-1 module is
// adapted into a component by jco (`jco new --wasi-command`, the
// wasi_snapshot_preview1 command adapter jco ships) and transpiled to
// JavaScript (`jco transpile --instantiation async`), once per module, then
// every run executes it on @bytecodealliance/preview2-shim in the machine's
// Node.js through an embedded launcher (launcher.mjs), one process per run.
//
// Both npm packages are pinned by ci/runtimes/runtimes.mk and installed into
// <tools>/jco (process.ToolsDirs); components are cached under
// process.CacheDir("jco-<jco version>") by the module's sha256, never in the
// repository.
//
// The grant: the launcher builds a WASIShim with its sandbox configuration
// (jco PR #1213, https://github.com/bytecodealliance/jco/pull/1213): the
// invocation's preopens, env and args exactly, and the network off. It never
// relies on the shim's defaults: they preopened the host's "/" before
// preview2-shim 0.26.1 and still hand the guest process.env and process.argv
// (https://github.com/bytecodealliance/jco/issues/466).
//
// Known, reported not hidden: preview2-shim has no read-only preopens, so
// the runner refuses one (no FeatureReadOnlyPreopen) and preopened
// listeners. WASI 0.2's wasi:cli/exit carries only ok or err, so the
// adapter turns proc_exit(N) for N != 0 into err and the shim exits 1. Env
// and preopens travel as JS objects (the shim's sandbox API), so a
// duplicated env key keeps its last value and integer-like keys are
// reordered; a guest path granted twice is refused.
package jco

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasicert/wasicert/runners"
)

//go:embed launcher.mjs
var launcherJS []byte

// Name is the registry name.
const Name = "jco"

func init() { runners.Register(Name, Open) }

// Where <tools>/jco holds the two packages (runtimes.mk installs them).
const (
	jcoCLI       = "node_modules/@bytecodealliance/jco/dist/jco.js"
	jcoPackage   = "node_modules/@bytecodealliance/jco/package.json"
	shimInst     = "node_modules/@bytecodealliance/preview2-shim/dist/common/instantiation.js"
	shimPackage  = "node_modules/@bytecodealliance/preview2-shim/package.json"
	installHint  = "install it: make -f ci/runtimes/runtimes.mk jco, or set WASICERT_TOOLS_DIR"
	componentJS  = "component.js"
	translateFor = 2 * time.Minute // bounds each of jco new and jco transpile
)

// Runner runs preview-1 modules as components on preview2-shim.
type Runner struct {
	version     string // "<jco> (preview2-shim <shim>)"
	jcoVersion  string
	node        string
	jco         string // jco's CLI script
	inst        string // the shim's instantiation.js (WASIShim)
	cache       string // components by module sha256
	script      string // the launcher
	features    runners.Features
	translating sync.Map // module sha256 -> *sync.Mutex
}

func (r *Runner) Name() string               { return Name }
func (r *Runner) Version() string            { return r.version }
func (r *Runner) Features() runners.Features { return r.features }

// Node is the node executable the runner uses.
func (r *Runner) Node() string { return r.node }

// CacheDir is where components are kept, one directory per module sha256.
func (r *Runner) CacheDir() string { return r.cache }

// Open finds node ($WASICERT_NODE, else PATH) and the jco and preview2-shim
// packages in <tools>/jco of the first tools directory that has both
// (process.ToolsDirs). Either missing is "not installed" with the fix.
func Open() (runners.Runner, error) { return openIn(process.ToolsDirs()) }

// openIn is Open with the tools directories given.
func openIn(tools []string) (runners.Runner, error) {
	dir, err := findPackages(tools)
	if err != nil {
		return nil, fmt.Errorf("jco: %w", err)
	}
	nodeName := os.Getenv("WASICERT_NODE")
	if nodeName == "" {
		nodeName = "node"
	}
	node, err := process.Find(nodeName)
	if err != nil {
		return nil, fmt.Errorf("jco: node: %w", err)
	}
	jv, err := packageVersion(filepath.Join(dir, jcoPackage))
	if err != nil {
		return nil, fmt.Errorf("jco: %w", err)
	}
	sv, err := packageVersion(filepath.Join(dir, shimPackage))
	if err != nil {
		return nil, fmt.Errorf("jco: %w", err)
	}
	cache, err := process.CacheDir("jco-" + jv)
	if err != nil {
		return nil, fmt.Errorf("jco: component cache: %w", err)
	}
	script, err := launcher()
	if err != nil {
		return nil, fmt.Errorf("jco: launcher: %w", err)
	}
	return &Runner{
		version:    jv + " (preview2-shim " + sv + ")",
		jcoVersion: jv,
		node:       node,
		jco:        filepath.Join(dir, jcoCLI),
		inst:       filepath.Join(dir, shimInst),
		cache:      cache,
		script:     script,
		// The adapter exports every preview-1 function, sock_* included.
		features: runners.Features{runners.FeatureStdin, runners.FeatureSockImports},
	}, nil
}

// findPackages returns the first <tools>/jco holding both packages.
func findPackages(tools []string) (string, error) {
	var tried []string
	for _, t := range tools {
		d := filepath.Join(t, "jco")
		tried = append(tried, d)
		if isFile(filepath.Join(d, jcoCLI)) && isFile(filepath.Join(d, shimInst)) {
			return d, nil
		}
	}
	return "", process.NotInstalled("@bytecodealliance/jco and @bytecodealliance/preview2-shim not found in %s (%s)", strings.Join(tried, ", "), installHint)
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func packageVersion(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", process.Unusable("%v (%s)", err, installHint)
	}
	var p struct{ Version string }
	if err := json.Unmarshal(b, &p); err != nil || p.Version == "" {
		return "", process.Unusable("%s has no version (%s)", path, installHint)
	}
	return p.Version, nil
}

// Run translates inv.Module into a component (once per module) and runs it
// under the launcher with exactly what inv grants.
func (r *Runner) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	if err := inv.Validate(); err != nil {
		return runners.Result{}, err
	}
	comp, err := r.Component(ctx, inv.Module)
	if err != nil {
		return runners.Result{}, err
	}
	return process.RunJob(ctx, process.Launch{
		Name: Name,
		Path: r.node,
		// Node's experimental-feature warnings stay off the guest's stderr.
		Args: []string{"--no-warnings", r.script, r.inst, comp},
	}, inv)
}

// Component returns the transpiled component of m (its component.js), from
// the cache or made now: `jco new --wasi-command` then `jco transpile
// --instantiation async`, in a directory of its own that is renamed into
// place when complete, so a concurrent or interrupted translation never
// leaves half a component behind.
func (r *Runner) Component(ctx context.Context, m runners.Module) (string, error) {
	bytes := m.Bytes
	if len(bytes) == 0 {
		b, err := os.ReadFile(m.Path)
		if err != nil {
			return "", fmt.Errorf("jco: module: %w", err)
		}
		bytes = b
	}
	sum := sha256.Sum256(bytes)
	digest := hex.EncodeToString(sum[:])
	final := filepath.Join(r.cache, digest)
	out := filepath.Join(final, componentJS)
	if isFile(out) {
		return out, nil
	}
	mu, _ := r.translating.LoadOrStore(digest, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if isFile(out) {
		return out, nil
	}
	tmp := filepath.Join(r.cache, digest+".tmp-"+strconv.Itoa(os.Getpid())+"-"+rand.Text()[:8])
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", fmt.Errorf("jco: %w", err)
	}
	defer os.RemoveAll(tmp)
	mod := filepath.Join(tmp, "module.wasm")
	if err := os.WriteFile(mod, bytes, 0o644); err != nil {
		return "", fmt.Errorf("jco: %w", err)
	}
	// The transpiled component is an ES module.
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), []byte(`{"type":"module"}`+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("jco: %w", err)
	}
	steps := [][]string{
		{"new", mod, "--wasi-command", "-o", filepath.Join(tmp, "component.wasm")},
		{"transpile", filepath.Join(tmp, "component.wasm"), "--instantiation", "async",
			"--no-typescript", "--quiet", "--name", "component", "-o", tmp},
	}
	for _, s := range steps {
		res, err := process.Run(ctx, process.Command{
			Name:    "jco " + s[0],
			Path:    r.node,
			Args:    append([]string{r.jco}, s...),
			Dir:     tmp,
			Timeout: translateFor,
		})
		if err != nil {
			return "", fmt.Errorf("jco %s: %w", s[0], err)
		}
		if res.Ended != runners.EndedExit || res.ExitCode != 0 {
			return "", fmt.Errorf("jco %s %s: %s: %s", s[0], moduleName(m), res, process.LastLine(res.Stderr))
		}
	}
	if !isFile(filepath.Join(tmp, componentJS)) {
		return "", fmt.Errorf("jco transpile %s wrote no %s", moduleName(m), componentJS)
	}
	os.Remove(mod)
	if err := os.Rename(tmp, final); err != nil && !isFile(out) {
		return "", fmt.Errorf("jco: %w", err)
	}
	return out, nil
}

func moduleName(m runners.Module) string {
	if m.Name != "" {
		return m.Name
	}
	return filepath.Base(m.Path)
}

var (
	launcherOnce sync.Once
	launcherPath string
	launcherErr  error
)

// launcher writes the embedded launcher once, to a file named by its
// content hash under process.CacheDir("launchers"), and returns its path.
func launcher() (string, error) {
	launcherOnce.Do(func() {
		sum := sha256.Sum256(launcherJS)
		dir, err := process.CacheDir("launchers")
		if err != nil {
			launcherErr = err
			return
		}
		p := filepath.Join(dir, "jco-launcher-"+hex.EncodeToString(sum[:6])+".mjs")
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
