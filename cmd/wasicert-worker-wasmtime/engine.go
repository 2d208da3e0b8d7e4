//go:build cgo

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bytecodealliance/wasmtime-go/v44"
	"github.com/wasicert/wasicert/internal/process"
)

const cgoBuilt = true

func fail(format string, a ...any) int {
	return process.WorkerEnd(worker, process.WorkerEnding{Ended: process.EndedError, Detail: fmt.Sprintf(format, a...)})
}

func run(jobPath string) int {
	job, err := process.ReadJob(jobPath)
	if err != nil {
		return fail("%v", err)
	}
	if len(job.Listeners) > 0 {
		// wasmtime's C API (v44) has no way to hand the guest a listening
		// socket; the runner does not claim FeaturePreopenedSockets.
		return fail("listeners are not supported by wasmtime-go")
	}
	wasm, err := os.ReadFile(job.Module)
	if err != nil {
		return fail("read module: %v", err)
	}

	cfg := wasmtime.NewConfig()
	if job.CacheDir != "" {
		if err := enableCache(cfg, job.CacheDir); err != nil {
			fmt.Fprintln(os.Stderr, worker+": module cache off:", err)
		}
	}
	engine := wasmtime.NewEngineWithConfig(cfg)
	module, err := wasmtime.NewModule(engine, wasm)
	if err != nil {
		return fail("compile: %v", err)
	}

	wasi := wasmtime.NewWasiConfig()
	wasi.SetArgv(job.Args)
	keys, vals := make([]string, 0, len(job.Env)), make([]string, 0, len(job.Env))
	for _, kv := range job.Env {
		k, v, _ := strings.Cut(kv, "=")
		keys, vals = append(keys, k), append(vals, v)
	}
	wasi.SetEnv(keys, vals)
	wasi.InheritStdin()
	wasi.InheritStdout()
	wasi.InheritStderr()
	for _, p := range job.Preopens {
		dp, fp := wasmtime.DIR_READ|wasmtime.DIR_WRITE, wasmtime.FILE_READ|wasmtime.FILE_WRITE
		if p.ReadOnly {
			dp, fp = wasmtime.DIR_READ, wasmtime.FILE_READ
		}
		if err := wasi.PreopenDir(p.HostDir, p.GuestPath, dp, fp); err != nil {
			return fail("preopen %s as %s: %v", p.HostDir, p.GuestPath, err)
		}
	}

	store := wasmtime.NewStore(engine)
	store.SetWasi(wasi)
	linker := wasmtime.NewLinker(engine)
	if err := linker.DefineWasi(); err != nil {
		return fail("define wasi: %v", err)
	}
	inst, err := linker.Instantiate(store, module)
	if err != nil {
		return ended(err, true)
	}
	start := inst.GetFunc(store, "_start")
	if start == nil {
		return fail("module exports no _start function")
	}
	_, err = start.Call(store)
	return ended(err, false)
}

// ended reports how _start (or instantiation, with its start function) ended.
func ended(err error, instantiating bool) int {
	if err == nil {
		return process.WorkerEnd(worker, process.WorkerEnding{Ended: "exit"})
	}
	var werr *wasmtime.Error
	if errors.As(err, &werr) {
		if code, ok := werr.ExitStatus(); ok {
			return process.WorkerEnd(worker, process.WorkerEnding{Ended: "exit", ExitCode: int(code)})
		}
	}
	var trap *wasmtime.Trap
	if errors.As(err, &trap) {
		msg := trapMessage(trap.Message())
		if code := trap.Code(); code != nil && int(*code) < len(trapCodes) {
			msg = fmt.Sprintf("%s [%s]", msg, trapCodes[*code])
		}
		return process.WorkerEnd(worker, process.WorkerEnding{Ended: "trap", Detail: msg})
	}
	if instantiating {
		return fail("instantiate: %v", err)
	}
	// A host function failed (an error that is neither a trap nor a WASI
	// exit): the runtime itself failed.
	return process.WorkerEnd(worker, process.WorkerEnding{Ended: "crash", Detail: "host error: " + err.Error()})
}

// enableCache turns on wasmtime's own on-disk cache of compiled modules,
// keyed by wasmtime on the module bytes, engine version and settings.
func enableCache(cfg *wasmtime.Config, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	conf := filepath.Join(abs, "wasmtime-cache.toml")
	want := "[cache]\ndirectory = " + strconv.Quote(filepath.Join(abs, "modules")) + "\n"
	if b, err := os.ReadFile(conf); err != nil || string(b) != want {
		tmp := conf + "." + strconv.Itoa(os.Getpid())
		if err := os.WriteFile(tmp, []byte(want), 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, conf); err != nil {
			return err
		}
	}
	return cfg.CacheConfigLoad(conf)
}

// trapCodes names wasmtime.TrapCode values, in order.
var trapCodes = []string{"StackOverflow", "MemoryOutOfBounds", "HeapMisaligned", "TableOutOfBounds",
	"IndirectCallToNull", "BadSignature", "IntegerOverflow", "IntegerDivisionByZero",
	"BadConversionToInteger", "UnreachableCodeReached", "Interrupt", "OutOfFuel"}

// trapMessage keeps the cause of a trap ("wasm trap: wasm `unreachable`
// instruction executed"), dropping the backtrace wasmtime puts first.
func trapMessage(m string) string {
	if _, cause, ok := strings.Cut(m, "Caused by:"); ok {
		m = cause
	}
	return strings.Join(strings.Fields(m), " ")
}
