// Package proctest holds test helpers for the out-of-process runners: tiny
// WAT modules compiled with wat2wasm at test time, a host environment marker,
// and a check that no process a run started is left behind.
package proctest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/wasicert/wasicert/runners"
)

const wasi = `"wasi_snapshot_preview1"`

// Modules are the WAT sources by name.
var Modules = map[string]string{
	// hello writes "hello\n" to stdout and "oops\n" to stderr and returns.
	"hello": `(module
  (import ` + wasi + ` "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "hello\n")
  (data (i32.const 200) "oops\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 6))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 0) (i32.const 200)) (i32.store (i32.const 4) (i32.const 5))
    (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))))`,
	// exit7 writes "bye\n" and calls proc_exit(7).
	"exit7": `(module
  (import ` + wasi + ` "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import ` + wasi + ` "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "bye\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 4))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $exit (i32.const 7))))`,
	// trap executes unreachable.
	"trap": `(module
  (memory (export "memory") 1)
  (func (export "_start") unreachable))`,
	// recurse calls itself until the stack overflows.
	"recurse": `(module
  (memory (export "memory") 1)
  (func $f (export "_start") (call $f)))`,
	// floodtrap writes 5 MiB (80 blocks of 64 KiB) to stderr, then executes
	// unreachable: the runtime's trap message comes after the flood.
	"floodtrap": `(module
  (import ` + wasi + ` "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start") (local $i i32)
    (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const 65536))
    (loop $l
      (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 80))))
    unreachable))`,
	// noimport imports a function no runtime provides: it never starts.
	"noimport": `(module
  (import "env" "nope" (func))
  (func (export "_start")))`,
	// spin loops forever.
	"spin": `(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $l (br $l))))`,
	// env writes the raw environ_get buffer ("K=V\0K=V\0") to stdout.
	"env": `(module
  (import ` + wasi + ` "environ_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import ` + wasi + ` "environ_get" (func $get (param i32 i32) (result i32)))
  (import ` + wasi + ` "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start")
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (drop (call $get (i32.const 1024) (i32.const 16384)))
    (i32.store (i32.const 16) (i32.const 16384))
    (i32.store (i32.const 20) (i32.load (i32.const 4)))
    (drop (call $w (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))`,
	// args writes the raw args_get buffer ("a0\0a1\0") to stdout.
	"args": `(module
  (import ` + wasi + ` "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import ` + wasi + ` "args_get" (func $get (param i32 i32) (result i32)))
  (import ` + wasi + ` "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start")
    (drop (call $sizes (i32.const 0) (i32.const 4)))
    (drop (call $get (i32.const 1024) (i32.const 16384)))
    (i32.store (i32.const 16) (i32.const 16384))
    (i32.store (i32.const 20) (i32.load (i32.const 4)))
    (drop (call $w (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))))`,
	// cat copies stdin to stdout (one read of up to 4096 bytes).
	"cat": `(module
  (import ` + wasi + ` "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
  (import ` + wasi + ` "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const 4096))
    (drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 4) (i32.load (i32.const 8)))
    (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`,
	// prestat writes the name of every preopen from fd 3 up (until
	// fd_prestat_get fails), each followed by "\n", or "none".
	"prestat": `(module
  (import ` + wasi + ` "fd_prestat_get" (func $pg (param i32 i32) (result i32)))
  (import ` + wasi + ` "fd_prestat_dir_name" (func $pn (param i32 i32 i32) (result i32)))
  (import ` + wasi + ` "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 900) "none")
  (data (i32.const 910) "\n")
  (func (export "_start") (local $fd i32)
    (local.set $fd (i32.const 3))
    (if (i32.ne (call $pg (i32.const 3) (i32.const 32)) (i32.const 0))
      (then
        (i32.store (i32.const 0) (i32.const 900)) (i32.store (i32.const 4) (i32.const 4))
        (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
        (return)))
    (block $done (loop $l
      (br_if $done (i32.ne (call $pg (local.get $fd) (i32.const 32)) (i32.const 0)))
      (drop (call $pn (local.get $fd) (i32.const 1024) (i32.load (i32.const 36))))
      (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.load (i32.const 36)))
      (i32.store (i32.const 12) (i32.const 910)) (i32.store (i32.const 16) (i32.const 1))
      (i32.store (i32.const 8) (i32.const 0))
      (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20)))
      (i32.store (i32.const 0) (i32.const 910)) (i32.store (i32.const 4) (i32.const 1))
      (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20)))
      (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
      (br_if $done (i32.gt_u (local.get $fd) (i32.const 64)))
      (br $l)))))`,
	// flood writes 64 KiB blocks to stdout forever.
	"flood": `(module
  (import ` + wasi + ` "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024)) (i32.store (i32.const 4) (i32.const 65536))
    (loop $l
      (br_if 1 (i32.ne (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 0)))
      (br $l))))`,
	// sock imports sock_accept, sock_recv, sock_send and sock_shutdown
	// (FeatureSockImports) and returns.
	"sock": `(module
  (import ` + wasi + ` "sock_accept" (func $a (param i32 i32 i32) (result i32)))
  (import ` + wasi + ` "sock_recv" (func $r (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import ` + wasi + ` "sock_send" (func $s (param i32 i32 i32 i32 i32) (result i32)))
  (import ` + wasi + ` "sock_shutdown" (func $sh (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")))`,
}

// Module compiles the named WAT module with wat2wasm (skipping the test when
// wat2wasm is missing) and returns it ready for an Invocation.
func Module(t testing.TB, name string) runners.Module {
	t.Helper()
	src, ok := Modules[name]
	if !ok {
		t.Fatalf("proctest: no module %q", name)
	}
	wat2wasm, err := exec.LookPath("wat2wasm")
	if err != nil {
		t.Skip("wat2wasm not installed (apt-get install -y wabt)")
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, name+".wat"), filepath.Join(dir, name+".wasm")
	if err := os.WriteFile(in, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(wat2wasm, in, "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("wat2wasm %s: %v\n%s", name, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return runners.Module{Name: name, Path: out, Bytes: b, Digest: hex.EncodeToString(sum[:])}
}

// Inv is an Invocation of m with argv [name, args...] and the given env.
func Inv(m runners.Module, env []string, args ...string) runners.Invocation {
	return runners.Invocation{Module: m, Args: append([]string{m.Name}, args...), Env: env, Timeout: 20 * time.Second}
}

// MarkEnv sets a fresh marker variable in the harness's own environment
// (WASICERT_HOST_CANARY, and WASICERT_TEST_MARK for Leftovers) for the
// duration of the test, and returns the marker's value.
func MarkEnv(t *testing.T) string {
	var b [8]byte
	rand.Read(b[:])
	v := "mark-" + hex.EncodeToString(b[:])
	t.Setenv("WASICERT_HOST_CANARY", v)
	t.Setenv("WASICERT_TEST_MARK", v)
	return v
}

// Leftovers lists live processes (zombies excluded) whose environment holds
// WASICERT_TEST_MARK=mark: processes started by a run under MarkEnv that are
// still there.
func Leftovers(mark string) []int {
	needle := []byte("WASICERT_TEST_MARK=" + mark + "\x00")
	ents, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !bytes.Contains(env, needle) {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// Run runs inv on r and fails the test on an error.
func Run(t testing.TB, r runners.Runner, inv runners.Invocation) runners.Result {
	t.Helper()
	res, err := r.Run(context.Background(), inv)
	if err != nil {
		t.Fatalf("%s: run %s: %v", r.Name(), inv.Module.Name, err)
	}
	return res
}
