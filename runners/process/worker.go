package process

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/wasicert/wasicert/runners"
)

// Job is the one invocation a worker executable runs
// (cmd/wasicert-worker-wasmtime, cmd/wasicert-worker-wasmer): written by the
// runner to a JSON file whose path is the worker's only argument. The
// worker's stdin is the guest's stdin, its stdout and stderr are the guest's,
// and it writes one Report on fd 3 before exiting with the guest's exit code
// (low 8 bits; the Report has all of it).
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

// RunWorker runs worker (an executable speaking the Job protocol) on inv:
// it writes the Job into the work dir, runs the worker there with a report
// pipe, and classifies the run.
func RunWorker(ctx context.Context, name, worker, cacheDir string, inv runners.Invocation) (runners.Result, error) {
	return RunJob(ctx, Launch{Name: name, Path: worker, CacheDir: cacheDir}, inv)
}

// RunJob runs a Job-protocol program (a worker, or a launcher script under
// an interpreter) on inv.
func RunJob(ctx context.Context, l Launch, inv runners.Invocation) (runners.Result, error) {
	name := l.Name
	if err := inv.Validate(); err != nil {
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
		Name:    name,
		Path:    l.Path,
		Args:    append(append([]string{}, l.Args...), abs),
		Dir:     dir,
		Stdin:   inv.Stdin,
		Timeout: inv.EffectiveTimeout(),
		Report:  true,
	})
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
	cacheDir string
}

// OpenWorker finds the worker executable (FindWorker), asks it for its
// version (`worker -version`, matched by versionRE), prepares a compile cache
// directory named after the runtime and version, and returns the runner.
// A missing worker is "not installed"; one that prints no version (for
// instance built without cgo) is "unusable: <why>".
func OpenWorker(name, worker string, versionRE *regexp.Regexp, features runners.Features) (*WorkerRunner, error) {
	path, err := FindWorker(worker)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	v, err := Version(path, []string{"-version"}, versionRE)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cache, err := CacheDir(name + "-" + v)
	if err != nil {
		cache = "" // run without a cache rather than not at all
	}
	return &WorkerRunner{name: name, version: v, features: features, worker: path, cacheDir: cache}, nil
}

func (r *WorkerRunner) Name() string               { return r.name }
func (r *WorkerRunner) Version() string            { return r.version }
func (r *WorkerRunner) Features() runners.Features { return r.features }

// Worker is the worker executable's path.
func (r *WorkerRunner) Worker() string { return r.worker }

// Run runs inv in a fresh worker process.
func (r *WorkerRunner) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	return RunWorker(ctx, r.name, r.worker, r.cacheDir, inv)
}

// WorkerExitUsage is a worker's exit status for bad usage or an engine it
// was built without.
const WorkerExitUsage = 2

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
