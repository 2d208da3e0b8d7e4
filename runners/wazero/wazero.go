// Package wazero runs guests in the embedded wazero runtime
// (github.com/tetratelabs/wazero), the suite's default runtime.
//
// It registers three runtimes: "wazero", wazero's default engine (the
// compiler on amd64 and arm64, the interpreter elsewhere; Version says
// which), "wazero-interpreter", and "wazero-confined", the default engine
// with every preopen mounted through package confinedfs (an os.Root per
// preopen) instead of wazero's directory mounts, which follow symlinks out
// of the preopen (see confined.go).
//
// The rule is deny by default: a guest gets exactly the Invocation's argv,
// environment, preopened directories, stdin and listeners, and nothing of
// this process's environment, working directory, argv or files. Clocks, sleep
// and random numbers are the host's real ones.
//
// File descriptors: 0, 1 and 2 are stdio; the preopens follow from fd 3 in
// Invocation order; the listeners follow the preopens, in order (wazero's
// internal/sys.Context.InitFSContext inserts them after the preopened
// directories). With two preopens and one listener the listener is fd 5.
//
// Memory: each linear memory of a guest is bounded by DefaultMemoryLimit
// (Options.MemoryLimit overrides it), through wazero's
// RuntimeConfig.WithMemoryLimitPages. A memory.grow past the bound returns
// -1 to the guest, as the spec allows any grow to fail
// (https://webassembly.github.io/spec/core/exec/instructions.html#exec-memory-grow),
// so a guest that grows without end gets its answer and wasicert, whose
// process holds the memory, is not the one that runs out. A memory whose
// declared maximum is larger is capped at the bound; a module whose
// declared minimum is larger does not compile. Each memory is a mapping of
// its own (memory_unix.go), so wasicert's resident memory grows by what the
// guest touches, not by copies of what it grew.
//
// One compilation cache is shared by every run in the process (on disk when
// WASICERT_WAZERO_CACHE_DIR is set), and each module is compiled once per
// engine, keyed on its digest. Each Run instantiates afresh, with its own
// configuration, and closes the instance afterwards; Run is safe to call
// concurrently.
package wazero

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sock"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
	"golang.org/x/sys/cpu"

	"github.com/wasicert/wasicert/internal/capture"
	"github.com/wasicert/wasicert/internal/hostns"
	"github.com/wasicert/wasicert/internal/wazerogrant"
	"github.com/wasicert/wasicert/runners"
)

// CacheDirEnv names the environment variable that, when set, puts the
// compilation cache on disk in that directory, shared across processes.
const CacheDirEnv = "WASICERT_WAZERO_CACHE_DIR"

// fallbackVersion is reported when the build has no module information
// (go test binaries, for instance). Keep it in step with go.mod.
const fallbackVersion = "1.12.0"

// DefaultMemoryLimit bounds each linear memory of an embedded guest: 256 MiB
// (4096 pages of 64 KiB), where wazero's own bound is the 4 GiB of the
// 32-bit address space. The probes use less than 1 MiB.
const DefaultMemoryLimit = 256 << 20

// abandonGrace is how long Run waits, after the timeout, for a guest that is
// blocked inside a host call (a blocking sock_accept, say) where wazero cannot
// stop it. Past that, Run returns EndedTimeout and leaves the call behind.
const abandonGrace = time.Second

func init() {
	runners.Register("wazero", func() (runners.Runner, error) { return New(Options{}) })
	runners.Register("wazero-interpreter", func() (runners.Runner, error) { return New(Options{Interpreter: true}) })
	runners.Register("wazero-confined", func() (runners.Runner, error) { return New(Options{Confined: true}) })
}

// Options selects a wazero variant.
type Options struct {
	// Interpreter forces wazero's interpreter. When false, wazero picks its
	// compiler where it supports the platform and the interpreter elsewhere.
	Interpreter bool
	// Confined mounts every preopen through package confinedfs, which
	// resolves each guest path with an os.Root on the host directory,
	// instead of wazero's directory mounts (package internal/wazerogrant).
	Confined bool
	// MemoryLimit bounds each linear memory of a guest, in bytes, rounded
	// down to whole 64 KiB pages; zero means DefaultMemoryLimit. At most
	// 4 GiB.
	MemoryLimit int64
	// HostFunctions, when set, adds functions to the guest's
	// wasi_snapshot_preview1 beside wazero's own, replacing any of the same
	// name: how internal/netext grafts a socket extension onto wazero for
	// the suite's negative controls. The runner gets an engine of its own.
	HostFunctions func(wazero.HostModuleBuilder)
}

// New returns a wazero Runner. It fails only when the on-disk compilation
// cache named by WASICERT_WAZERO_CACHE_DIR cannot be used.
func New(opts Options) (runners.Runner, error) {
	if _, err := sharedCache(); err != nil {
		return nil, err
	}
	pages, err := memoryPages(opts.MemoryLimit)
	if err != nil {
		return nil, err
	}
	var r *runner
	switch {
	case opts.Confined:
		r = newConfined(opts)
	case opts.Interpreter:
		r = &runner{name: "wazero-interpreter", kind: "interpreter", eng: &engines[1], config: wazero.NewRuntimeConfigInterpreter}
	default:
		kind := "interpreter"
		if compilerSupported() {
			kind = "compiler"
		}
		r = &runner{name: "wazero", kind: kind, eng: &engines[0], config: wazero.NewRuntimeConfig}
	}
	if pages != defaultPages || opts.HostFunctions != nil {
		// A runtime of its own, with a compilation cache of its own: the
		// shared ones are for the default bound and wazero's own WASI.
		r.eng = &engine{pages: pages, ownCache: true, extend: opts.HostFunctions}
	}
	return r, nil
}

// defaultPages is DefaultMemoryLimit in pages.
const defaultPages = DefaultMemoryLimit >> 16

// memoryPages turns Options.MemoryLimit into wazero's page count.
func memoryPages(limit int64) (uint32, error) {
	if limit == 0 {
		return defaultPages, nil
	}
	if limit < 1<<16 || limit > 1<<32 {
		return 0, fmt.Errorf("wazero: memory limit %d bytes: give 64 KiB to 4 GiB, or 0 for the default %d MiB", limit, DefaultMemoryLimit>>20)
	}
	return uint32(limit >> 16), nil
}

type runner struct {
	name   string
	kind   string // "compiler" or "interpreter", for Version
	eng    *engine
	config func() wazero.RuntimeConfig
	// confined mounts preopens through confinedfs (wazerogrant.Confined).
	confined bool
}

func (r *runner) Name() string { return r.name }

// Version is wazero's module version and the engine, e.g. "1.12.0 (compiler)".
func (r *runner) Version() string { return wazeroVersion() + " (" + r.kind + ")" }

func (r *runner) Features() runners.Features {
	return runners.Features{
		runners.FeatureReadOnlyPreopen,
		runners.FeaturePreopenedSockets,
		runners.FeatureSockImports,
		runners.FeatureStdin,
	}
}

// Run runs inv.Module with exactly what inv grants. A module that is not
// valid WebAssembly, and an invocation wazero cannot express exactly, are
// errors; everything after that is a Result: a module wazero refuses to
// instantiate (a missing import) is EndedCrash with Detail "instantiate: ...".
func (r *runner) Run(ctx context.Context, inv runners.Invocation) (res runners.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = runners.Result{Ended: runners.EndedCrash, ExitCode: -1, Detail: firstLine(fmt.Sprintf("panic: %v", p))}, nil
		}
	}()
	if err := check(inv); err != nil {
		return runners.Result{}, err
	}
	wasm := inv.Module.Bytes
	if len(wasm) == 0 {
		b, err := os.ReadFile(inv.Module.Path)
		if err != nil {
			return runners.Result{}, fmt.Errorf("wazero: read module %s: %w", moduleName(inv.Module), err)
		}
		wasm = b
	}
	rt, err := r.eng.runtime(r.config)
	if err != nil {
		return runners.Result{}, err
	}
	compiled, err := r.eng.compile(rt, inv.Module, wasm)
	var cp compilePanic
	if errors.As(err, &cp) {
		return runners.Result{Ended: runners.EndedCrash, ExitCode: -1, Detail: firstLine("panic: compile: " + string(cp))}, nil
	} else if err != nil {
		return runners.Result{}, err
	}

	ctx, cancel := context.WithTimeout(ctx, inv.EffectiveTimeout())
	defer cancel()
	ctx = withMemoryAllocator(ctx)
	if len(inv.Listeners) > 0 {
		cfg := sock.NewConfig()
		for _, l := range inv.Listeners {
			host, port, _ := splitAddr(l.Addr) // checked by check
			cfg = cfg.WithTCPListener(host, port)
		}
		ctx = sock.WithConfig(ctx, cfg)
	}

	grants, release, err := r.grants(inv)
	if err != nil {
		return runners.Result{}, err
	}
	defer release()
	ex := &execution{stdout: &capture.Output{}, stderr: &capture.Output{}}
	ex.stdout.Watch(inv.Canaries...)
	ex.stderr.Watch(inv.Canaries...)
	done := make(chan outcome, 1)
	masked := make(chan bool, 1)
	go func() {
		if len(inv.HostFiles) > 0 {
			// The guest's host calls run on this goroutine: lock it to its
			// thread and give the thread a mount namespace that shows the
			// host-file stand-ins. The thread is never unlocked, so it ends
			// with the goroutine (internal/hostns).
			runtime.LockOSThread()
			masked <- hostns.EnterThread(inv.HostFiles) == nil
		} else {
			masked <- false
		}
		done <- ex.run(ctx, rt, compiled, moduleConfig(ctx, grants, inv, ex))
	}()

	var o outcome
	select {
	case o = <-done:
	case <-ctx.Done():
		pokeListeners(inv.Listeners)
		select {
		case o = <-done:
		case <-time.After(abandonGrace):
			// wazero stops a guest only when it is back in wasm code; this
			// one is still blocked in a host call. Leave it behind.
			o = outcome{ended: runners.EndedTimeout, detail: "blocked in a host call past the timeout; abandoned"}
			o.duration = ex.elapsed()
		}
	}
	if o.err != nil {
		return runners.Result{}, o.err
	}

	res = runners.Result{Ended: o.ended, ExitCode: o.exitCode, Detail: o.detail, Duration: o.duration}
	if res.Ended != runners.EndedExit {
		res.ExitCode = -1
	}
	if res.Ended == runners.EndedTimeout {
		res.Detail = timeoutDetail(ctx, inv, res.Detail)
	}
	capture.Fill(&res, ex.stdout, ex.stderr)
	res.HostFilesMasked = <-masked
	return res, nil
}

// pokeListeners connects once to each listener and hangs up, so a guest
// blocked in sock_accept past the timeout gets back into wasm code, where
// wazero stops it and closes its sockets.
func pokeListeners(ls []runners.Listener) {
	for _, l := range ls {
		if c, err := net.DialTimeout("tcp", l.Addr, 100*time.Millisecond); err == nil {
			c.Close()
		}
	}
}

// moduleConfig adds to grants (what inv grants, from runner.grants) the
// run's stdio and a sleep that the timeout cuts short.
func moduleConfig(ctx context.Context, grants wazero.ModuleConfig, inv runners.Invocation, ex *execution) wazero.ModuleConfig {
	return grants.
		WithStdin(bytes.NewReader(inv.Stdin)).
		WithStdout(ex.stdout).
		WithStderr(ex.stderr).
		// Real sleep, but cut short at the timeout: wazero cannot stop a
		// guest inside a host call, so a long poll_oneoff would outlive it.
		WithNanosleep(wazerogrant.SleepUntil(ctx)).
		WithStartFunctions() // Run calls _start itself, to tell link errors from traps
}

// outcome is how one execution ended, before it becomes a Result.
type outcome struct {
	ended    runners.Ending
	exitCode int
	detail   string
	duration time.Duration
	err      error // the run could not start: Run returns it
}

// execution is the state of one run shared with its goroutine.
type execution struct {
	stdout, stderr *capture.Output

	mu    sync.Mutex
	start time.Time
}

func (ex *execution) elapsed() time.Duration {
	ex.mu.Lock()
	defer ex.mu.Unlock()
	if ex.start.IsZero() {
		return 0
	}
	return time.Since(ex.start)
}

// run instantiates compiled and calls its _start, turning every way that can
// end, a panic included, into an outcome.
func (ex *execution) run(ctx context.Context, rt wazero.Runtime, compiled wazero.CompiledModule, cfg wazero.ModuleConfig) (o outcome) {
	ex.mu.Lock()
	ex.start = time.Now()
	ex.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			o = outcome{ended: runners.EndedCrash, detail: firstLine(fmt.Sprintf("panic: %v", p))}
		}
		o.duration = ex.elapsed()
	}()

	mod, err := rt.InstantiateModule(ctx, compiled, cfg)
	if err != nil {
		return instantiateOutcome(ctx, err)
	}
	defer mod.Close(context.Background())
	start := mod.ExportedFunction("_start")
	if start == nil {
		return outcome{ended: runners.EndedExit} // as wazero's WithStartFunctions: a missing _start is skipped
	}
	_, err = start.Call(ctx)
	if ctx.Err() != nil {
		// When wazero closes a module at the deadline it leaves its files
		// and sockets open until the module's next call returns to wasm
		// code; a guest that then exits through proc_exit or traps never
		// does. A call with the done context runs no guest code and closes
		// them (wasm.ModuleInstance.FailIfClosed).
		_, _ = start.Call(ctx)
	}
	return callOutcome(ctx, err)
}

// callOutcome classifies what a function call returned: a timeout when the
// context is done (however the guest then ended: wazero's own
// sys.ExitCodeDeadlineExceeded and ExitCodeContextCanceled are also codes a
// guest may pass to proc_exit, so the context decides), else an exit or a
// trap.
func callOutcome(ctx context.Context, err error) outcome {
	if ctx.Err() != nil {
		return outcome{ended: runners.EndedTimeout}
	}
	if err == nil {
		return outcome{ended: runners.EndedExit}
	}
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		return outcome{ended: runners.EndedExit, exitCode: int(exit.ExitCode())}
	}
	return outcome{ended: runners.EndedTrap, detail: firstLine(err.Error())}
}

// instantiateOutcome classifies an instantiation error. A start section
// runs during instantiation, so its exits, timeouts and traps are the
// guest's; a listener that cannot be bound means the run could not start;
// anything else (a missing import, a data segment out of bounds) is wazero
// refusing the module.
func instantiateOutcome(ctx context.Context, err error) outcome {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		return callOutcome(ctx, err)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "listen" {
		return outcome{err: fmt.Errorf("wazero: make listener: %w", err)}
	}
	// wazero (internal/wasm.Store.instantiate) wraps a start section's
	// failure as "start <func> failed: <cause>"; it exports no error type.
	if msg := err.Error(); strings.HasPrefix(msg, "start ") && strings.Contains(firstLine(msg), " failed: ") {
		return outcome{ended: runners.EndedTrap, detail: firstLine(msg)}
	}
	return outcome{ended: runners.EndedCrash, detail: "instantiate: " + firstLine(err.Error())}
}

func timeoutDetail(ctx context.Context, inv runners.Invocation, detail string) string {
	if errors.Is(ctx.Err(), context.Canceled) {
		return "cancelled"
	}
	d := "cut off after " + inv.EffectiveTimeout().String()
	if detail != "" {
		d += ": " + detail
	}
	return d
}

// check rejects what wazero cannot grant exactly, on top of inv.Validate:
// an empty or repeated environment key (wazero keeps one value per key),
// two preopens wazero would merge into one, a missing host directory and a
// listener address that is not host:port.
func check(inv runners.Invocation) error {
	if err := inv.Validate(); err != nil {
		return err
	}
	keys := map[string]bool{}
	for _, kv := range inv.Env {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "":
			return fmt.Errorf("environment entry %q has an empty name, which wazero refuses", kv)
		case keys[k]:
			return fmt.Errorf("environment variable %s is set twice; wazero passes one value per name", k)
		}
		keys[k] = true
	}
	guests := map[string]string{}
	for _, p := range inv.Preopens {
		g := cleanGuestPath(p.GuestPath)
		if prev, dup := guests[g]; dup {
			return fmt.Errorf("preopens %q and %q name the same guest directory; wazero would keep only one", prev, p.GuestPath)
		}
		guests[g] = p.GuestPath
		if fi, err := os.Stat(p.HostDir); err != nil {
			return fmt.Errorf("preopen %s: %w", p.GuestPath, err)
		} else if !fi.IsDir() {
			return fmt.Errorf("preopen %s: %s is not a directory", p.GuestPath, p.HostDir)
		}
	}
	for _, l := range inv.Listeners {
		if _, _, err := splitAddr(l.Addr); err != nil {
			return err
		}
	}
	return nil
}

// cleanGuestPath mirrors wazero's StripPrefixesAndTrailingSlash, which keys
// its preopens: leading "./" and "/" and trailing "/" do not count.
func cleanGuestPath(p string) string {
	for {
		switch {
		case strings.HasPrefix(p, "./"):
			p = p[2:]
		case strings.HasPrefix(p, "/"):
			p = p[1:]
		default:
			p = strings.TrimRight(p, "/")
			if p == "." {
				p = ""
			}
			return p
		}
	}
}

func splitAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("listener %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("listener %q: bad port %q", addr, p)
	}
	return host, port, nil
}

func moduleName(m runners.Module) string {
	switch {
	case m.Name != "" && m.Path != "":
		return fmt.Sprintf("%q (%s)", m.Name, m.Path)
	case m.Path != "":
		return m.Path
	default:
		return strconv.Quote(m.Name)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}

// engine is one wazero Runtime per engine kind for the whole process, with
// WASI linked once and every module compiled once.
type engine struct {
	// pages is the memory bound; zero means defaultPages. ownCache: the
	// engine has a compilation cache of its own, not the shared one.
	pages    uint32
	ownCache bool
	// extend adds host functions to wasi_snapshot_preview1 (Options.HostFunctions).
	extend func(wazero.HostModuleBuilder)

	once sync.Once
	rt   wazero.Runtime
	err  error

	mu       sync.Mutex
	compiled map[string]*compiledEntry // by module digest
}

type compiledEntry struct {
	once sync.Once
	mod  wazero.CompiledModule
	err  error
}

// engines[0] is wazero's default engine, engines[1] its interpreter.
var engines [2]engine

func (e *engine) runtime(config func() wazero.RuntimeConfig) (wazero.Runtime, error) {
	e.once.Do(func() {
		cache, err := sharedCache()
		if err != nil {
			e.err = err
			return
		}
		if e.ownCache {
			cache = wazero.NewCompilationCache()
		}
		pages := e.pages
		if pages == 0 {
			pages = defaultPages
		}
		ctx := context.Background()
		rt := wazero.NewRuntimeWithConfig(ctx, config().WithCompilationCache(cache).WithCloseOnContextDone(true).WithMemoryLimitPages(pages))
		b := rt.NewHostModuleBuilder(wasi_snapshot_preview1.ModuleName)
		wasi_snapshot_preview1.NewFunctionExporter().ExportFunctions(b)
		if e.extend != nil {
			e.extend(b)
		}
		if _, err := b.Instantiate(ctx); err != nil {
			e.err = fmt.Errorf("wazero: link wasi_snapshot_preview1: %w", err)
			return
		}
		e.rt = rt
		e.compiled = map[string]*compiledEntry{}
	})
	return e.rt, e.err
}

// compile returns m compiled, compiling it once per digest.
func (e *engine) compile(rt wazero.Runtime, m runners.Module, wasm []byte) (wazero.CompiledModule, error) {
	key := m.Digest
	if key == "" {
		sum := sha256.Sum256(wasm)
		key = hex.EncodeToString(sum[:])
	}
	e.mu.Lock()
	c := e.compiled[key]
	if c == nil {
		c = &compiledEntry{}
		e.compiled[key] = c
	}
	e.mu.Unlock()

	c.once.Do(func() {
		defer func() {
			if p := recover(); p != nil {
				c.err = compilePanic(fmt.Sprint(p))
			}
		}()
		c.mod, c.err = rt.CompileModule(context.Background(), wasm)
	})
	var cp compilePanic
	if errors.As(c.err, &cp) {
		e.forget(key, c)
		return nil, cp
	}
	if c.err != nil {
		e.forget(key, c)
		if strings.Contains(c.err.Error(), " over limit of ") {
			return nil, fmt.Errorf("module %s declares more memory than the embedded bound (wazero.Options.MemoryLimit): %w", moduleName(m), c.err)
		}
		return nil, fmt.Errorf("module %s is not valid WebAssembly: %w", moduleName(m), c.err)
	}
	return c.mod, nil
}

// forget drops a failed compilation so that a later run tries again.
func (e *engine) forget(key string, c *compiledEntry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.compiled[key] == c {
		delete(e.compiled, key)
	}
}

// compilePanic is a panic inside wazero's compiler: the runtime crashed on
// the module, which Run reports as EndedCrash.
type compilePanic string

func (p compilePanic) Error() string { return "panic: " + string(p) }

var (
	cacheOnce sync.Once
	cache     wazero.CompilationCache
	cacheErr  error
)

// sharedCache is the one compilation cache of the process.
func sharedCache() (wazero.CompilationCache, error) {
	cacheOnce.Do(func() {
		if dir := os.Getenv(CacheDirEnv); dir != "" {
			cache, cacheErr = wazero.NewCompilationCacheWithDir(dir)
			if cacheErr != nil {
				cacheErr = fmt.Errorf("wazero: compilation cache %s=%s: %w", CacheDirEnv, dir, cacheErr)
			}
			return
		}
		cache = wazero.NewCompilationCache()
	})
	return cache, cacheErr
}

// compilerSupported mirrors wazero's internal/platform.CompilerSupported,
// which wazero.NewRuntimeConfig consults and does not export: the compiler
// runs on arm64 and on amd64 with SSE4.1, on the listed systems.
func compilerSupported() bool {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd", "windows", "dragonfly", "solaris", "illumos":
	default:
		return false
	}
	switch runtime.GOARCH {
	case "arm64":
		return runtime.GOOS != "dragonfly" && runtime.GOOS != "solaris" && runtime.GOOS != "illumos"
	case "amd64":
		return cpu.X86.HasSSE41
	}
	return false
}

var wazeroVersion = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return fallbackVersion
	}
	for _, dep := range info.Deps {
		if dep.Path != "github.com/tetratelabs/wazero" {
			continue
		}
		v := dep.Version
		if dep.Replace != nil && dep.Replace.Version != "" {
			v = dep.Replace.Version
		}
		if v == "" || v == "(devel)" {
			break
		}
		return strings.TrimPrefix(v, "v")
	}
	return fallbackVersion
})
