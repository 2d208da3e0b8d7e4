// Command wasicert-worker-wasmer runs ONE WebAssembly module under wasmer,
// embedded through wasmer-go, and exits. wasicert's "wasmer" runner
// (package runners/wasmer) starts one per run, so a crash or hang of the
// engine ends this process, never the harness.
//
// Usage:
//
//	wasicert-worker-wasmer JOB.json     run the job (see process.Job)
//	wasicert-worker-wasmer -version     print "wasmer <version>"
//
// Protocol (shared with wasicert-worker-wasmtime, see package internal/process):
// stdin, stdout and stderr are the guest's own. Before exiting, the worker
// writes one JSON process.WorkerEnding on fd 3 when fd 3 is open:
//
//	{"ended":"exit","exit_code":N}   the guest returned or called proc_exit(N); exit status N&255
//	{"ended":"trap","detail":"..."}  the guest trapped; exit status 134
//	{"ended":"error","detail":"..."} the module could not be read, compiled or
//	                                 instantiated, or the job was bad; exit status 2
//	{"ended":"crash","detail":"host error: ..."}
//	                                 the engine failed while the guest ran (an
//	                                 error that is neither a trap nor a WASI
//	                                 exit); exit status 2
//
// A worker that dies by a signal or exits without a report crashed.
//
// This command needs cgo (wasmer-go links libwasmer.so, found at run time through an rpath into the Go module cache). Built
// without cgo it still compiles, and says so on -version and on every job.
package main

import (
	"runtime/debug"

	"github.com/wasicert/wasicert/internal/process"
)

const worker = "wasicert-worker-wasmer"

const goModule = "github.com/wasmerio/wasmer-go"

// engineVersions maps wasmer-go releases to the wasmer they embed (the
// packaged libwasmer's WASMER_VERSION).
var engineVersions = map[string]string{"v1.0.4": "2.0.0-rc2"}

// engineVersion is the embedded wasmer's version.
func engineVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == goModule {
				if d.Replace != nil {
					d = d.Replace
				}
				if v, ok := engineVersions[d.Version]; ok {
					return v
				}
				return "unknown (wasmer-go " + d.Version + ")"
			}
		}
	}
	return engineVersions["v1.0.4"]
}

func main() {
	process.WorkerMain(worker, "wasmer", cgoBuilt, engineVersion, run)
}
