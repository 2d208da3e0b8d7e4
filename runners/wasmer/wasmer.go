// Package wasmer registers the "wasmer" runtime: wasmer 2.0.0-rc2 embedded
// through wasmer-go v1.0.4, run out of process in cmd/wasicert-worker-wasmer,
// one worker process per run.
//
// Out of process is not optional here: a guest can make wasmer-go panic
// (a host symlink to an absolute path does it), and wasmer-go cannot share an
// executable with wasmtime-go. Build the worker with
// `make -f ci/runtimes/runtimes.mk workers`; it is looked for in
// $WASICERT_WORKER_DIR, next to the wasicert binary, in <repo>/bin, then on
// PATH. A worker built without cgo answers no version: "unusable".
//
// Features: stdin only. wasmer-go has no read-only preopens (the worker
// refuses a read-only preopen rather than grant it writable) and does not
// link sock_accept (a module importing it fails to instantiate: a Run error).
// Known behaviour the suite reports rather than hides: preopen names come
// back from fd_prestat_dir_name NUL-terminated, and an extra "/" preopen
// may appear. Compiled modules are cached as serialized wasmer modules under
// process.CacheDir("wasmer-<version>").
package wasmer

import (
	"regexp"

	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasicert/wasicert/runners"
)

// Name is the registry name.
const Name = "wasmer"

// Worker is the worker executable's file name.
const Worker = "wasicert-worker-wasmer"

// Features are what the worker offers.
var Features = runners.Features{runners.FeatureStdin}

var versionRE = regexp.MustCompile(`wasmer (\d+\.\d+\.\d+\S*)`)

func init() { runners.Register(Name, Open) }

// Open finds the worker and returns the runner.
func Open() (runners.Runner, error) {
	r, err := process.OpenWorker(Name, Worker, versionRE, Features)
	if err != nil {
		return nil, err
	}
	return r, nil
}
