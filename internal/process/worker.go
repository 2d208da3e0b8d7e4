package process

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wasicert/wasicert/internal/trap"
	"github.com/wasicert/wasicert/runners"
)

// Job is the one invocation a worker executable runs
// (cmd/wasicert-worker-wasmtime, cmd/wasicert-worker-wasmer): written by the
// runner to a JSON file whose path is the worker's only argument. The
// worker's stdin is the guest's stdin, its stdout and stderr are the guest's,
// and it writes one WorkerEnding on fd 3 before exiting with the guest's exit code
// (low 8 bits; the WorkerEnding has all of it).
type Job struct {
	// Module is the host path of the .wasm file.
	Module string `json:"module"`
	// Args is the guest's argv, argv[0] included.
	Args []string `json:"args"`
	// Env is the guest's exact environment, KEY=VALUE.
	Env       []string           `json:"env"`
	Preopens  []runners.Preopen  `json:"preopens"`
	Listeners []runners.Listener `json:"listeners,omitempty"`
	// TimeoutMS is the run's bound; the runner also kills the process then.
	TimeoutMS int64 `json:"timeout_ms"`
	// CacheDir is where the engine may keep compiled modules.
	CacheDir string `json:"cache_dir,omitempty"`
}

// ReadJob reads a Job from a file.
func ReadJob(path string) (Job, error) {
	var j Job
	b, err := os.ReadFile(path)
	if err != nil {
		return j, err
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return j, fmt.Errorf("job %s: %w", path, err)
	}
	return j, nil
}

// Launch says how to start a program speaking the Job protocol: Path, then
// Args, then the job file's path.
type Launch struct {
	Name     string
	Path     string
	Args     []string
	CacheDir string
}

// RunJob runs a Job-protocol program (a worker, or a launcher script under
// an interpreter) on inv: it writes the Job into the work dir, runs the
// program there with a report pipe, and classifies the run.
func RunJob(ctx context.Context, l Launch, inv runners.Invocation) (runners.Result, error) {
	name := l.Name
	if err := inv.Validate(); err != nil {
		return runners.Result{}, err
	}
	if err := validUTF8(name, inv); err != nil {
		return runners.Result{}, err
	}
	dir, cleanup, err := WorkDir(inv)
	if err != nil {
		return runners.Result{}, fmt.Errorf("%s: %w", name, err)
	}
	defer cleanup()
	mod, err := ModulePath(inv, dir)
	if err != nil {
		return runners.Result{}, fmt.Errorf("%s: %w", name, err)
	}
	if !utf8.ValidString(mod) {
		return runners.Result{}, fmt.Errorf("module path %q is not valid UTF-8: the %s runner passes paths as JSON", mod, name)
	}
	job := Job{
		Module:    mod,
		Args:      inv.Args,
		Env:       inv.Env,
		Preopens:  inv.Preopens,
		Listeners: inv.Listeners,
		TimeoutMS: inv.EffectiveTimeout().Milliseconds(),
		CacheDir:  l.CacheDir,
	}
	if job.Env == nil {
		job.Env = []string{}
	}
	b, _ := json.Marshal(job)
	f, err := os.CreateTemp(dir, "job-*.json")
	if err != nil {
		return runners.Result{}, fmt.Errorf("%s: %w", name, err)
	}
	jobPath := f.Name()
	defer os.Remove(jobPath)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return runners.Result{}, fmt.Errorf("%s: %w", name, err)
	}
	f.Close()
	abs, _ := filepath.Abs(jobPath)
	return Run(ctx, Command{
		Name:       name,
		Path:       l.Path,
		Args:       append(append([]string{}, l.Args...), abs),
		Dir:        dir,
		Stdin:      inv.Stdin,
		Timeout:    inv.EffectiveTimeout(),
		EndingPipe: true,
		Evidence:   inv,
	})
}

// validUTF8 refuses what the Job's JSON cannot carry: json.Marshal would
// silently turn bytes that are not UTF-8 into U+FFFD.
func validUTF8(name string, inv runners.Invocation) error {
	bad := func(item, what string) error {
		return fmt.Errorf("%s is not valid UTF-8: the %s runner passes %s as JSON", item, name, what)
	}
	for i, a := range inv.Args {
		if !utf8.ValidString(a) {
			return bad(fmt.Sprintf("argument %d", i), "arguments")
		}
	}
	for _, kv := range inv.Env {
		if !utf8.ValidString(kv) {
			return bad(fmt.Sprintf("environment entry %q", kv), "the environment")
		}
	}
	for _, p := range inv.Preopens {
		for _, path := range []string{p.GuestPath, p.HostDir} {
			if !utf8.ValidString(path) {
				return bad(fmt.Sprintf("preopen %q", path), "paths")
			}
		}
	}
	return nil
}

// Timeout is TimeoutMS as a Duration.
func (j Job) Timeout() time.Duration { return time.Duration(j.TimeoutMS) * time.Millisecond }

// WorkerRunner is a runners.Runner that runs each invocation in a fresh
// worker executable (see Job). runners/wasmtime and runners/wasmer are this
// with their worker and features.
type WorkerRunner struct {
	name     string
	version  string
	features runners.Features
	worker   string
	emulator []string
	cacheDir string
}

// WorkerEmulatorEnv names the variable that puts an emulator in front of
// every worker: its value is a command line, split at spaces, to which the
// worker's path and arguments are appended, e.g.
//
//	WASICERT_WORKER_EMULATOR="qemu-aarch64 -L /usr/aarch64-linux-gnu"
//	WASICERT_WORKER_DIR=bin/arm64 WASICERT_RUNTIME_ARCH=arm64
//
// runs an arm64 worker under qemu-user on an amd64 host, while wasicert
// (the judge) stays native (ci/qemu/leg.sh). The version probe gets
// EmulatedVersionTimeout, and the compile cache a directory of its own per
// $WASICERT_RUNTIME_ARCH. Unset, workers run directly.
const WorkerEmulatorEnv = "WASICERT_WORKER_EMULATOR"

// EmulatedVersionTimeout bounds the version probe of an emulated worker:
// qemu-user takes seconds to start a 50 MB worker on a loaded machine.
var EmulatedVersionTimeout = 30 * time.Second

// workerEmulator returns $WASICERT_WORKER_EMULATOR's command line, its
// program resolved, or nil when unset.
func workerEmulator() ([]string, error) {
	f := strings.Fields(os.Getenv(WorkerEmulatorEnv))
	if len(f) == 0 {
		return nil, nil
	}
	p, err := Find(f[0])
	if err != nil {
		return nil, fmt.Errorf("%s=%q: %w (install the emulator, e.g. Debian's qemu-user, or unset %s)", WorkerEmulatorEnv, os.Getenv(WorkerEmulatorEnv), err, WorkerEmulatorEnv)
	}
	f[0] = p
	return f, nil
}

// OpenWorker finds the worker executable (FindWorker), asks it for its
// version (`worker -version`, matched by versionRE), prepares a compile cache
// directory named after the runtime and version, and returns the runner.
// A missing worker is "not installed"; one that prints no version (for
// instance built without cgo) is "unusable: <why>". With
// $WASICERT_WORKER_EMULATOR set, the worker runs under that emulator.
func OpenWorker(name, worker string, versionRE *regexp.Regexp, features runners.Features) (*WorkerRunner, error) {
	path, err := FindWorker(worker)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	emu, err := workerEmulator()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var v string
	if emu == nil {
		v, err = Version(path, []string{"-version"}, versionRE)
	} else {
		v, err = versionWithin(emu[0], append(append(slices.Clone(emu[1:]), path), "-version"), versionRE, EmulatedVersionTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cacheName := name + "-" + v
	if arch := os.Getenv("WASICERT_RUNTIME_ARCH"); emu != nil && arch != "" {
		cacheName += "-" + arch // another target's compiled code
	}
	cache, err := CacheDir(cacheName)
	if err != nil {
		cache = "" // run without a cache rather than not at all
	}
	return &WorkerRunner{name: name, version: v, features: features, worker: path, emulator: emu, cacheDir: cache}, nil
}

func (r *WorkerRunner) Name() string               { return r.name }
func (r *WorkerRunner) Version() string            { return r.version }
func (r *WorkerRunner) Features() runners.Features { return r.features }

// Worker is the worker executable's path.
func (r *WorkerRunner) Worker() string { return r.worker }

// Emulator is the command line the worker runs under, nil when native.
func (r *WorkerRunner) Emulator() []string { return r.emulator }

// Run runs inv in a fresh worker process.
func (r *WorkerRunner) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	l := Launch{Name: r.name, Path: r.worker, CacheDir: r.cacheDir}
	if r.emulator != nil {
		l.Path, l.Args = r.emulator[0], append(slices.Clone(r.emulator[1:]), r.worker)
	}
	return RunJob(ctx, l, inv)
}

// A worker's exit statuses besides the guest's own.
const (
	// WorkerExitUsage: bad usage, or an engine it was built without.
	WorkerExitUsage = 2
	// WorkerExitError: the job failed before the guest ran (a "error"
	// report), or the engine failed under it (a "crash" report).
	WorkerExitError = 2
	// WorkerExitTrap: the guest trapped (package internal/trap).
	WorkerExitTrap = trap.ExitStatus
)

// WorkerEnd ends a worker's job: it writes rep on fd 3, says the same on
// stderr (a trap as "wasm trap: <detail>", an error or a crash as
// "<worker>: <detail>"), and returns the status the worker exits with.
func WorkerEnd(worker string, rep WorkerEnding) int {
	WriteEnding(rep)
	switch rep.Ended {
	case string(runners.EndedExit):
		return rep.ExitCode & 0xff
	case string(runners.EndedTrap):
		fmt.Fprintln(os.Stderr, "wasm trap:", rep.Detail)
		return WorkerExitTrap
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", worker, rep.Detail)
	return WorkerExitError
}

// WorkerMain is the main function of a worker executable for engine:
// "WORKER -version" prints "<engine> <version>"; "WORKER JOB.json" runs one
// job with run and exits with its status. built is false in a build
// without cgo, where the worker has no engine and says so.
func WorkerMain(worker, engine string, built bool, version func() string, run func(jobPath string) int) {
	args := os.Args[1:]
	if len(args) == 1 && (args[0] == "-version" || args[0] == "--version") {
		if !built {
			fmt.Fprintf(os.Stderr, "%s: built without cgo: no %s engine\n", worker, engine)
			os.Exit(WorkerExitUsage)
		}
		fmt.Printf("%s %s\n", engine, version())
		return
	}
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(os.Stderr, "usage: %s JOB.json | -version\n", worker)
		os.Exit(WorkerExitUsage)
	}
	os.Exit(run(args[0]))
}
