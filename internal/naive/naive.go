// Package naive is a deliberately INSECURE WASI preview-1 runtime.
//
// # NOT A SANDBOX
//
// This package exists only as the test suite's universal negative control:
// every check wasicert makes must be shown able to fail, and the way to show
// it is to run the check against this runner and assert that it fails exactly
// the specs it is expected to fail. It must never run untrusted code, must
// never be registered with package runners, and must never be reachable from
// cmd/wasicert. Import it from _test.go files only.
//
// It is otherwise a real runtime: it runs real modules on wazero's engine,
// with a host module named "wasi_snapshot_preview1" implemented here in Go
// the way a careless runtime would implement it. Its deliberate weaknesses,
// which the suite's tests rely on, are:
//
//  1. Trusting path resolution. Every path_* call resolves
//     filepath.Join(hostDirOf(dirfd), path), so ".." walks out of a preopen
//     (lexically, as far as it likes), and a path that starts with "/" is
//     taken as an absolute HOST path, whatever dirfd says.
//  2. Symlinks are followed by the host OS, anywhere in the path, including
//     absolute and escaping targets, and path_symlink stores any target,
//     absolute ones included. path_open ignores lookupflags (it always
//     follows); path_filestat_get honours SYMLINK_FOLLOW so that stat reports
//     links as links.
//  3. Rights are ignored: path_open looks only at oflags (creat, directory,
//     excl, trunc) and fdflags APPEND, and opens a file read-write whenever
//     the host allows it, so an fd asked for with FD_READ alone writes (and
//     one asked for with FD_WRITE alone reads); FD_READ (bit 1) and FD_WRITE
//     (bit 6) of the requested base rights choose the mode only when the host
//     refuses read-write (directories, files it will not open for writing).
//     Every fd reports every right, base and inheriting.
//  4. Preopen.ReadOnly is ignored: a read-only preopen is as writable as any
//     other, while the runner still claims the readonly-preopen feature.
//  5. An extra preopen nobody asked for: after the configured preopens, the
//     host root "/" is granted as guest name "/".
//  6. The environment leaks: the guest sees Invocation.Env followed by the
//     whole of os.Environ().
//  7. argv[0] leaks a host path: it is replaced by the module's host path
//     (Module.Path, or "/naive/"+Module.Name when Path is empty).
//  8. Listeners are ignored although preopened-sockets is claimed, and
//     sock_accept, sock_recv, sock_send and sock_shutdown return NOSYS.
//  9. It claims to be a container platform (FeatureContainer) and takes its
//     own configuration from the guest's environment, as runwasi's WasmEdge
//     shim does with WASMEDGE_*: it creates the compile cache dir named by
//     WASICERT_SHIM_CACHE_DIR and the plug-in dir named by
//     WASMEDGE_PLUGIN_PATH, on the host.
//  10. It claims FeatureSignal but swallows signals: RunWithSignal stops the
//     guest and reports a clean exit 0.
//  11. A NUL byte ends a path, as in a host that copies it into a C string
//     (paths.go, like 12 to 14).
//  12. A backslash separates path components, as on Windows.
//  13. Trailing slashes are dropped: "inside.txt/" opens the file.
//  14. The empty path names the directory itself.
//  15. Fd numbers the guest was never given reach the host process's own
//     fds: fd_fdstat_get answers for any fd the test process holds, and
//     fd_read reads it when it is a regular file (fdflaws.go).
//
// Flawed, NewVariant and NewWith add opt-in mistakes on top: of clocks,
// random and resources (Flaw), of read-only and rights (Options), and of
// the fd table and proc_raise (FDFlaws).
//
// Apart from those it tries to behave plausibly: all 46 preview-1 functions
// are exported with wazero's own signatures (so every probe instantiates).
// Eight return ERRNO_NOSYS (52): fd_allocate, fd_fdstat_set_flags,
// fd_fdstat_set_rights, proc_raise and the four sock_* calls; Implemented
// lists them. The rest work the POSIX way on the resolved host path: stdio
// (stdin from Invocation.Stdin, stdout and stderr kept up to
// runners.MaxOutput each), preopen discovery (BADF after the last one), the
// fd_* calls (filetypes character_device for stdio, directory, regular_file,
// symbolic_link), fd_readdir, every path_* call (lookupflags are ignored by
// path_link, which links a final symlink itself as link(2) does, and by
// path_filestat_set_times, which follows it), args, environ, clocks
// (the CPU-time clocks read the monotonic one), random_get (crypto/rand),
// sched_yield, poll_oneoff (clock subscriptions sleep; fd subscriptions are
// always ready) and proc_exit.
// Runs are bounded by the invocation's timeout (wazero's close-on-context-done)
// and classified like any other runner: proc_exit or return from _start is
// EndedExit, a trap is EndedTrap, a panic of the host is EndedCrash, and the
// deadline is EndedTimeout.
package naive

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasicert/wasicert/runners"
)

// Name is the runner's name. It is deliberately not registered with
// runners.Register.
const Name = "naive"

// cache is shared by every Run so each module is compiled once per process.
var cache = wazero.NewCompilationCache()

// Runner is the naive runtime. The zero value is ready to use.
type Runner struct {
	// flaws are deliberate mistakes on top of the weaknesses above (Flawed).
	flaws []Flaw
	// opts are a variant's extra weaknesses (NewVariant); zero for New().
	opts Options
	// fdFlaws are the fd-table and proc_raise flaws (NewWith).
	fdFlaws FDFlaws
}

// New returns the naive runner. NOT A SANDBOX: for tests only.
func New() *Runner { return &Runner{} }

var _ runners.Runner = (*Runner)(nil)

// Name returns "naive".
func (r *Runner) Name() string {
	name := r.opts.name()
	if len(r.flaws) == 0 {
		return name
	}
	names := make([]string, len(r.flaws))
	for i, f := range r.flaws {
		names[i] = f.Name
	}
	return name + " (" + strings.Join(names, ", ") + ")"
}

// Version names this implementation and the wazero engine under it.
func (*Runner) Version() string {
	v := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/tetratelabs/wazero" {
				v = d.Version
			}
		}
	}
	return "naive-1 (wazero " + v + ")"
}

// Features claims everything the suite asks about, including
// readonly-preopen and preopened-sockets, which it does not honour.
func (*Runner) Features() runners.Features {
	return runners.Features{
		runners.FeatureReadOnlyPreopen,
		runners.FeaturePreopenedSockets,
		runners.FeatureSockImports,
		runners.FeatureStdin,
		runners.FeatureContainer,
		runners.FeatureSignal,
	}
}

// hostConfigEnv are the guest env entries naive takes as its own
// configuration (weakness 9).
var hostConfigEnv = []string{"WASICERT_SHIM_CACHE_DIR", "WASMEDGE_PLUGIN_PATH"}

// configureFromGuestEnv creates, on the host, the dirs the guest's env names
// (weakness 9).
func configureFromGuestEnv(env []string) {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if slices.Contains(hostConfigEnv, k) && v != "" {
			_ = os.MkdirAll(v, 0o755)
		}
	}
}

// RunWithSignal swallows the signal (weakness 10): the guest is stopped
// after the delay and the run reported as a clean exit 0.
func (r *Runner) RunWithSignal(ctx context.Context, inv runners.Invocation, _ syscall.Signal, after time.Duration) (runners.Result, error) {
	inv.Timeout = after
	res, err := r.Run(ctx, inv)
	if err == nil && res.Ended == runners.EndedTimeout {
		res.Ended, res.ExitCode, res.Detail = runners.EndedExit, 0, ""
	}
	return res, err
}

// Run runs inv.Module with (much more than) what inv grants. It returns an
// error only when the invocation is invalid or the module does not compile or
// link; everything the guest does is in the Result.
func (r *Runner) Run(ctx context.Context, inv runners.Invocation) (res runners.Result, err error) {
	if err := inv.Validate(); err != nil {
		return runners.Result{}, err
	}
	configureFromGuestEnv(inv.Env)
	bin := inv.Module.Bytes
	if len(bin) == 0 {
		if bin, err = os.ReadFile(inv.Module.Path); err != nil {
			return runners.Result{}, fmt.Errorf("naive: read module: %w", err)
		}
	}

	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithCloseOnContextDone(true))
	defer rt.Close(context.WithoutCancel(ctx))

	compiled, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return runners.Result{}, fmt.Errorf("naive: compile %s: %w", inv.Module.Name, err)
	}

	st := newState(inv)
	st.vary(r.opts, inv)
	st.overrides = r.overrides()
	st.fdFlaws = r.fdFlaws
	defer st.closeAll()
	defer st.afterRun()
	if _, err := st.hostModule(rt).Instantiate(ctx); err != nil {
		return runners.Result{}, fmt.Errorf("naive: instantiate host module: %w", err)
	}

	runCtx, cancel := context.WithTimeout(ctx, inv.EffectiveTimeout())
	defer cancel()
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			res, err = runners.Result{Ended: runners.EndedCrash, Detail: fmt.Sprint("panic: ", p)}, nil
		}
		res.Duration = time.Since(start)
		res.Stdout, res.Stderr = st.stdout.Bytes(), st.stderr.Bytes()
		res.Truncated = st.stdout.Truncated() || st.stderr.Truncated()
	}()

	// Instantiate without start functions so that link errors (a bad
	// import) are errors of Run while _start's outcome is a Result.
	mod, err := rt.InstantiateModule(runCtx, compiled, wazero.NewModuleConfig().
		WithName(inv.Module.Name).WithStartFunctions())
	if err != nil {
		return runners.Result{}, fmt.Errorf("naive: instantiate %s: %w", inv.Module.Name, err)
	}
	fn := mod.ExportedFunction("_start")
	if fn == nil {
		return runners.Result{}, fmt.Errorf("naive: module %s exports no _start", inv.Module.Name)
	}
	_, err = fn.Call(runCtx)
	return classify(err, st.crash, runCtx, ctx), nil
}

// classify turns the outcome of _start into a Result.
func classify(err error, crash string, runCtx, parent context.Context) runners.Result {
	if crash != "" {
		return runners.Result{Ended: runners.EndedCrash, Detail: crash}
	}
	if err == nil {
		return runners.Result{Ended: runners.EndedExit}
	}
	var exit *sys.ExitError
	isExit := errors.As(err, &exit)
	if runCtx.Err() != nil && (!isExit || exit.ExitCode() == sys.ExitCodeDeadlineExceeded || exit.ExitCode() == sys.ExitCodeContextCanceled) {
		if parent.Err() != nil {
			return runners.Result{Ended: runners.EndedTimeout, Detail: "canceled: " + parent.Err().Error()}
		}
		return runners.Result{Ended: runners.EndedTimeout, Detail: "deadline exceeded"}
	}
	if isExit {
		return runners.Result{Ended: runners.EndedExit, ExitCode: int(exit.ExitCode())}
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return runners.Result{Ended: runners.EndedTrap, Detail: msg}
}
