// Package wasmtime registers the "wasmtime" runtime: wasmtime embedded through
// wasmtime-go (v44, wasmtime 44.0.0), run out of process in
// cmd/wasicert-worker-wasmtime, one worker process per run.
//
// The engine is not linked into wasicert itself: wasmtime-go and wasmer-go
// cannot share an executable (both define the wasm C API), and a worker per
// run is the isolation the suite needs anyway. Build the worker with
// `make -f ci/runtimes/runtimes.mk workers`; it is looked for in
// $WASICERT_WORKER_DIR, next to the wasicert binary, in <repo>/bin, then on
// PATH. A worker built without cgo answers no version, so the runtime is
// reported "unusable: ... built without cgo". $WASICERT_WORKER_EMULATOR
// runs a worker of another architecture under an emulator (ci/qemu/leg.sh:
// an arm64 worker under qemu-aarch64; see process.WorkerEmulatorEnv).
//
// Features: read-only preopens (wasmtime's DirPerms/FilePerms READ), stdin,
// and the sock_* imports (wasmtime's preview 1 links them; they answer
// ENOTSOCK). No preopened listeners: wasmtime's C API cannot hand a guest a
// socket. Compiled modules are cached on disk by wasmtime's own cache
// (Config.CacheConfigLoad) under process.CacheDir("wasmtime-<version>").
package wasmtime

import (
	"regexp"

	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasicert/wasicert/runners"
)

// Name is the registry name.
const Name = "wasmtime"

// Worker is the worker executable's file name.
const Worker = "wasicert-worker-wasmtime"

// Features are what the worker offers.
var Features = runners.Features{runners.FeatureReadOnlyPreopen, runners.FeatureStdin, runners.FeatureSockImports}

var versionRE = regexp.MustCompile(`wasmtime (\d+\.\d+\.\d+\S*)`)

func init() { runners.Register(Name, Open) }

// Open finds the worker and returns the runner.
func Open() (runners.Runner, error) {
	r, err := process.OpenWorker(Name, Worker, versionRE, Features)
	if err != nil {
		return nil, err
	}
	return r, nil
}
