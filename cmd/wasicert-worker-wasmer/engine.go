//go:build cgo

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasmerio/wasmer-go/wasmer"
)

const cgoBuilt = true

func fail(format string, a ...any) int {
	return process.WorkerEnd(worker, process.WorkerEnding{Ended: process.EndedError, Detail: fmt.Sprintf(format, a...)})
}

// wasiExit is how wasmer 2.0 reports proc_exit: a RuntimeError whose
// message is WasiError::Exit's Display.
var wasiExit = regexp.MustCompile(`^WASI exited with code: (\d+)$`)

func run(jobPath string) int {
	job, err := process.ReadJob(jobPath)
	if err != nil {
		return fail("%v", err)
	}
	if len(job.Listeners) > 0 {
		return fail("listeners are not supported by wasmer-go (no sock_accept)")
	}
	for _, p := range job.Preopens {
		if p.ReadOnly {
			// wasmer-go 1.0.4 has no read-only preopens. Refuse rather than
			// grant write access the harness did not ask for; the runner
			// does not claim FeatureReadOnlyPreopen.
			return fail("read-only preopen %s: not supported by wasmer-go", p.GuestPath)
		}
	}
	wasm, err := os.ReadFile(job.Module)
	if err != nil {
		return fail("read module: %v", err)
	}

	engine := wasmer.NewEngine()
	store := wasmer.NewStore(engine)
	module, err := compile(store, wasm, job.CacheDir)
	if err != nil {
		return fail("compile: %v", err)
	}

	argv0 := ""
	if len(job.Args) > 0 {
		argv0 = job.Args[0]
	}
	b := wasmer.NewWasiStateBuilder(argv0)
	for _, a := range job.Args[min(1, len(job.Args)):] {
		b.Argument(a)
	}
	for _, kv := range job.Env {
		k, v, _ := strings.Cut(kv, "=")
		b.Environment(k, v)
	}
	for _, p := range job.Preopens {
		b.MapDirectory(p.GuestPath, p.HostDir)
	}
	b.InheritStdin().InheritStdout().InheritStderr()
	wasiEnv, err := b.Finalize()
	if err != nil {
		return fail("wasi: %v", err)
	}
	var imports *wasmer.ImportObject
	if len(module.Imports()) == 0 {
		// wasmer-go refuses to make WASI imports for a module that has no
		// WASI import to detect a version from; such a module needs none.
		imports = wasmer.NewImportObject()
	} else if imports, err = wasiEnv.GenerateImportObject(store, module); err != nil {
		return fail("wasi imports: %v", err)
	}
	inst, err := wasmer.NewInstance(module, imports)
	if err != nil {
		return ended(err, true)
	}
	start, err := inst.Exports.GetWasiStartFunction()
	if err != nil {
		return fail("module exports no _start function: %v", err)
	}
	_, err = start()
	return ended(err, false)
}

func ended(err error, instantiating bool) int {
	if err == nil {
		return process.WorkerEnd(worker, process.WorkerEnding{Ended: "exit"})
	}
	msg := err.Error()
	if m := wasiExit.FindStringSubmatch(strings.TrimSpace(msg)); m != nil {
		code, _ := strconv.Atoi(m[1])
		return process.WorkerEnd(worker, process.WorkerEnding{Ended: "exit", ExitCode: code})
	}
	var trap *wasmer.TrapError
	if errors.As(err, &trap) {
		return process.WorkerEnd(worker, process.WorkerEnding{Ended: "trap", Detail: msg})
	}
	if instantiating {
		return fail("instantiate: %v", err)
	}
	return process.WorkerEnd(worker, process.WorkerEnding{Ended: "crash", Detail: "host error: " + msg})
}

// compile compiles wasm, reusing a module serialized earlier into cacheDir
// (keyed by the module's sha256; the directory is per wasmer version).
func compile(store *wasmer.Store, wasm []byte, cacheDir string) (*wasmer.Module, error) {
	if cacheDir == "" {
		return wasmer.NewModule(store, wasm)
	}
	sum := sha256.Sum256(wasm)
	path := filepath.Join(cacheDir, hex.EncodeToString(sum[:])+".wasmer")
	if b, err := os.ReadFile(path); err == nil {
		if m, err := wasmer.DeserializeModule(store, b); err == nil {
			return m, nil
		}
	}
	m, err := wasmer.NewModule(store, wasm)
	if err != nil {
		return nil, err
	}
	if b, err := m.Serialize(); err == nil {
		tmp := path + "." + strconv.Itoa(os.Getpid())
		if os.WriteFile(tmp, b, 0o644) == nil {
			os.Rename(tmp, path)
		}
	}
	return m, nil
}
