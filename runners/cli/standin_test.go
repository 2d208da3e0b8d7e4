package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/internal/proctest"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/cli"
)

// standin opens a shipped template with its runtime replaced by the stand-in
// testdata/standin/<binary> (see testdata/standin/README), through the
// template's own $WASICERT_BIN_<NAME> override.
func standin(t *testing.T, tp *cli.Template) runners.Runner {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "standin", tp.Binary))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(tp.EnvVar(), script)
	r, err := tp.Open()
	if err != nil {
		t.Fatalf("%s: %v", tp.Name, err)
	}
	return r
}

// runMode runs r with the stand-in in mode, a guest exiting with exit where
// the mode is a guest's.
func runMode(t *testing.T, r runners.Runner, mode string, exit int) (runners.Result, error) {
	t.Helper()
	t.Setenv("STANDIN_MODE", mode)
	t.Setenv("STANDIN_EXIT", strconv.Itoa(exit))
	return r.Run(context.Background(), proctest.Inv(runners.Module{Name: "m", Path: "/nonexistent.wasm"}, nil))
}

// TestShippedTemplatesWithStandins drives every shipped template with a
// stand-in that prints what its runtime prints, where it prints it, with the
// exit statuses its sources show: the runtime's trap is a trap, its start
// errors make Run fail, and a guest that prints the same text on the stream
// it shares with the runtime but exits with another status is a plain exit,
// neither a trap nor a start error.
func TestShippedTemplatesWithStandins(t *testing.T) {
	ts, err := cli.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	// What the runtime's trap line and start-error lines hold.
	want := map[string]struct{ trap, start, start2 string }{
		"iwasm":        {"Exception: unreachable", "WASM module load failed: magic header not detected", "WASM module instantiate failed: failed to link import global"},
		"wasmedge":     {"[error] execution failed: unreachable, Code: 0x40a", "[error] loading failed: magic header not detected", "[error] instantiation failed: unknown import"},
		"wasmtime-cli": {"2: wasm trap: wasm `unreachable` instruction executed", "1: unknown import: `env::nope` has not been defined", "Error: failed to parse WebAssembly module"},
		"wasmer-cli":   {"error: RuntimeError: unreachable", `Link error: Error while importing "env"."nope": unknown import.`, `error: Unable to compile "/m.wasm"`},
		"wazero-cli":   {"failed: wasm error: unreachable", "error instantiating wasm binary: module[env] not instantiated", "error compiling wasm binary: invalid magic number"},
	}
	if len(ts) != len(want) {
		t.Fatalf("%d shipped templates, %d with stand-ins: give each a stand-in in testdata/standin", len(ts), len(want))
	}
	for _, tp := range ts {
		w, ok := want[tp.Name]
		if !ok {
			t.Fatalf("%s: no stand-in", tp.Name)
		}
		t.Run(tp.Name, func(t *testing.T) {
			r := standin(t, tp)
			res, err := runMode(t, r, "trap", 0)
			if err != nil || res.Ended != runners.EndedTrap || !strings.Contains(res.Detail, w.trap) {
				t.Errorf("runtime's trap: %s, %v; want a trap with detail holding %q", res, err, w.trap)
			}
			for mode, text := range map[string]string{"starterr": w.start, "starterr2": w.start2} {
				res, err := runMode(t, r, mode, 0)
				if err == nil || !strings.Contains(err.Error(), "module did not start: ") || !strings.Contains(err.Error(), text) {
					t.Errorf("runtime's start error (%s): %s, %v; want an error holding %q", mode, res, err, text)
				}
			}
			// A guest prints the runtime's text and exits with a status the
			// runtime does not use for that ending.
			others := func(m, not *cli.Match) []int {
				st := []int{2}
				for _, c := range not.ExitCodes {
					if !slices.Contains(m.ExitCodes, c) && !slices.Contains(st, c) {
						st = append(st, c)
					}
				}
				return st
			}
			for _, c := range others(tp.Trap, tp.StartError) {
				res, err := runMode(t, r, "guest-trap", c)
				if err != nil || res.Ended != runners.EndedExit || res.ExitCode != c {
					t.Errorf("guest printing the trap text, exit %d: %s, %v; want a plain exit %d", c, res, err, c)
				}
			}
			for _, c := range others(tp.StartError, tp.Trap) {
				res, err := runMode(t, r, "guest-starterr", c)
				if err != nil || res.Ended != runners.EndedExit || res.ExitCode != c {
					t.Errorf("guest printing the start-error text, exit %d: %s, %v; want a plain exit %d", c, res, err, c)
				}
			}
		})
	}
}

// customTemplate writes a template for the stand-in binary (testdata/standin)
// with the given trap and start_error lines, and opens it.
func customTemplate(t *testing.T, binary, verRE, matchers string) runners.Runner {
	t.Helper()
	script, _ := filepath.Abs(filepath.Join("testdata", "standin", binary))
	path := filepath.Join(t.TempDir(), "custom.yaml")
	os.WriteFile(path, []byte(fmt.Sprintf(`name: custom-%s
binary: "%s"
written_from: "testdata/standin/%s"
version: {args: [--version], regexp: '%s'}
run: ["{{preopens}}", "{{env}}", "{{module}}", "{{args}}"]
preopen: ["--dir={{guest}}:{{host}}"]
env: ["--env={{key}}={{value}}"]
arg: ["{{arg}}"]
%s
`, binary, script, binary, verRE, matchers)), 0o644)
	return openTemplate(t, path)
}

// TestStdoutMatch: a trap and a start error told by stdout alone (as WAMR
// prints them) are found; the same regexp on stderr finds nothing, and when
// both streams are given both must match.
func TestStdoutMatch(t *testing.T) {
	r := customTemplate(t, "iwasm", `iwasm (\S+)`, `trap: {stdout: 'Exception: '}
start_error: {stdout: 'WASM module load failed: '}`)
	if res, err := runMode(t, r, "trap", 0); err != nil || res.Ended != runners.EndedTrap || res.Detail != "guest says hiException: unreachable" {
		t.Errorf("trap on stdout: %s, %v", res, err)
	}
	if res, err := runMode(t, r, "starterr", 0); err == nil || !strings.HasSuffix(err.Error(), "module did not start: WASM module load failed: magic header not detected") {
		t.Errorf("start error on stdout: %s, %v", res, err)
	}
	for _, m := range []string{
		`trap: {stderr: 'Exception: '}
start_error: {stderr: 'WASM module load failed: '}`,
		`trap: {stdout: 'Exception: ', stderr: 'Exception: '}
start_error: {stdout: 'WASM module load failed: ', stderr: '.'}`,
	} {
		r := customTemplate(t, "iwasm", `iwasm (\S+)`, m)
		if res, err := runMode(t, r, "trap", 0); err != nil || res.String() != "exit 1" {
			t.Errorf("%s\ntrap on stdout only: %s, %v; want exit 1", m, res, err)
		}
		if res, err := runMode(t, r, "starterr", 0); err != nil || res.String() != "exit 255" {
			t.Errorf("%s\nstart error on stdout only: %s, %v; want exit 255", m, res, err)
		}
	}
}

// TestExitCodeOnlyMatch: a runtime whose exit status alone tells a trap or a
// start error needs no text; any other status is a plain exit.
func TestExitCodeOnlyMatch(t *testing.T) {
	r := customTemplate(t, "wasmedge", `version (\S+)`, `trap: {exit_codes: [134]}
start_error: {exit_codes: [1]}`)
	if res, err := runMode(t, r, "trap", 0); err != nil || res.Ended != runners.EndedTrap || res.Detail != "exit status 134" {
		t.Errorf("trap by status: %s, %v", res, err)
	}
	if res, err := runMode(t, r, "starterr", 0); err == nil || !strings.HasSuffix(err.Error(), "module did not start: exit status 1") {
		t.Errorf("start error by status: %s, %v", res, err)
	}
	for _, c := range []int{3, 133, 135} {
		if res, err := runMode(t, r, "guest-trap", c); err != nil || res.Ended != runners.EndedExit || res.ExitCode != c {
			t.Errorf("exit %d: %s, %v; want a plain exit", c, res, err)
		}
	}
}

// TestWazeroCLIFakedByGuest: on the real wazero CLI, a guest that writes the
// CLI's trap or start-error text to stderr and exits 2 is a plain exit 2.
// (Exiting 1, the CLI's own status for both, it passes for them: no template
// can tell those apart.)
func TestWazeroCLIFakedByGuest(t *testing.T) {
	r := openWazeroCLI(t)
	fake := map[string]string{
		"trap":  "error instantiating wasm binary: module[] function[_start] failed: wasm error: unreachable",
		"start": "error instantiating wasm binary: module[env] not instantiated",
	}
	for what, text := range fake {
		for _, code := range []int{2, 1} {
			name := fmt.Sprintf("fake%s%d", what, code)
			proctest.Modules[name] = fmt.Sprintf(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "%s\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const %d))
    (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $exit (i32.const %d))))`, text, len(text)+1, code)
			res, err := r.Run(context.Background(), proctest.Inv(proctest.Module(t, name), nil))
			if !strings.Contains(string(res.Stderr), text) {
				t.Fatalf("%s: stderr %q does not hold the faked text", name, res.Stderr)
			}
			if code == 1 {
				t.Logf("%s (the runtime's own status): %s, %v", name, res, err)
				continue
			}
			if err != nil || res.Ended != runners.EndedExit || res.ExitCode != code {
				t.Errorf("%s: %s, %v; want a plain exit %d", name, res, err, code)
			}
		}
	}
}
