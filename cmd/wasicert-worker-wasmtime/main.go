// Command wasicert-worker-wasmtime runs ONE WebAssembly module under wasmtime,
// embedded through wasmtime-go, and exits. wasicert's "wasmtime" runner
// (package runners/wasmtime) starts one per run, so a crash or hang of the
// engine ends this process, never the harness.
//
// Usage:
//
//	wasicert-worker-wasmtime JOB.json     run the job (see process.Job)
//	wasicert-worker-wasmtime -version     print "wasmtime <version>"
//
// Protocol (shared with wasicert-worker-wasmer, see package internal/process):
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
// This command needs cgo (wasmtime-go links a static libwasmtime). Built
// without cgo it still compiles, and says so on -version and on every job.
package main

import (
	"runtime/debug"
	"strings"

	"github.com/wasicert/wasicert/internal/process"
)

const worker = "wasicert-worker-wasmtime"

const goModule = "github.com/bytecodealliance/wasmtime-go/v44"

// engineVersion is wasmtime's version, which wasmtime-go's module version
// tracks one for one (v44.0.0 embeds wasmtime 44.0.0).
func engineVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == goModule {
				if d.Replace != nil {
					d = d.Replace
				}
				return strings.TrimPrefix(d.Version, "v")
			}
		}
	}
	return "44.0.0"
}

func main() {
	process.WorkerMain(worker, "wasmtime", cgoBuilt, engineVersion, run)
}
