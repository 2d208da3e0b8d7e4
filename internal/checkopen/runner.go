package checkopen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tetratelabs/wazero"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"

	"github.com/wasicert/wasicert/internal/capture"
	"github.com/wasicert/wasicert/internal/wazerogrant"
	"github.com/wasicert/wasicert/runners"
)

// Options configures the checker.
type Options struct {
	// Name is the runner's name; "" means "check-then-open".
	Name string
	// MaxLinks is the most symlinks one check follows; 0 means 32.
	MaxLinks int
	// LimitErrno is the answer past MaxLinks; 0 means ELOOP.
	LimitErrno experimentalsys.Errno
}

// Runner is the check-then-open runtime. NOT A SANDBOX: tests only.
type Runner struct{ o Options }

// New returns a check-then-open runner.
func New(o Options) *Runner {
	if o.Name == "" {
		o.Name = "check-then-open"
	}
	if o.MaxLinks == 0 {
		o.MaxLinks = 32
	}
	if o.LimitErrno == 0 {
		o.LimitErrno = experimentalsys.ELOOP
	}
	return &Runner{o}
}

var _ runners.Runner = (*Runner)(nil)

func (r *Runner) Name() string    { return r.o.Name }
func (r *Runner) Version() string { return "checkopen-1 (wazero)" }

// Features claims read-only preopens, which it honours with wazero's ReadFS.
func (r *Runner) Features() runners.Features {
	return runners.Features{runners.FeatureReadOnlyPreopen}
}

var cache = wazero.NewCompilationCache()

// Run runs inv.Module with inv's args, env and preopens, each preopen
// checked-then-opened (see the package doc).
func (r *Runner) Run(ctx context.Context, inv runners.Invocation) (res runners.Result, err error) {
	if err := inv.Validate(); err != nil {
		return runners.Result{}, err
	}
	bin := inv.Module.Bytes
	if len(bin) == 0 {
		if bin, err = os.ReadFile(inv.Module.Path); err != nil {
			return runners.Result{}, fmt.Errorf("checkopen: read module: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, inv.EffectiveTimeout())
	defer cancel()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(cache).WithCloseOnContextDone(true))
	defer rt.Close(context.WithoutCancel(ctx))
	wasi_snapshot_preview1.MustInstantiate(ctx, rt)
	compiled, err := rt.CompileModule(ctx, bin)
	if err != nil {
		return runners.Result{}, fmt.Errorf("checkopen: compile: %w", err)
	}
	fsc := wazero.NewFSConfig()
	for _, p := range inv.Preopens {
		var f experimentalsys.FS = newFS(p.HostDir, r.o.MaxLinks, r.o.LimitErrno)
		if p.ReadOnly {
			f = &sysfs.ReadFS{FS: f}
		}
		fsc = fsc.(sysfs.FSConfig).WithSysFSMount(f, p.GuestPath)
	}
	stdout, stderr := &capture.Output{}, &capture.Output{}
	stdout.Watch(inv.Canaries...)
	stderr.Watch(inv.Canaries...)
	cfg := wazerogrant.Config(inv.Args, inv.Env, nil).WithFSConfig(fsc).
		WithStdin(bytes.NewReader(inv.Stdin)).WithStdout(stdout).WithStderr(stderr).
		WithNanosleep(wazerogrant.SleepUntil(ctx))
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			res, err = runners.Result{Ended: runners.EndedCrash, ExitCode: -1, Detail: fmt.Sprint("panic: ", p)}, nil
		}
		res.Duration = time.Since(start)
		capture.Fill(&res, stdout, stderr)
	}()
	_, err = rt.InstantiateModule(ctx, compiled, cfg)
	var exit *sys.ExitError
	switch {
	case ctx.Err() != nil:
		return runners.Result{Ended: runners.EndedTimeout, ExitCode: -1, Detail: "deadline exceeded"}, nil
	case err == nil:
		return runners.Result{Ended: runners.EndedExit}, nil
	case errors.As(err, &exit):
		return runners.Result{Ended: runners.EndedExit, ExitCode: int(exit.ExitCode())}, nil
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return runners.Result{Ended: runners.EndedTrap, ExitCode: -1, Detail: msg}, nil
}
