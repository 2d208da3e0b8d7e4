package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/process/proctest"
)

// runMode runs r with the stand-in in mode, a guest exiting with exit where
// the mode is a guest's.
func runMode(t *testing.T, r runners.Runner, mode string, exit int) (runners.Result, error) {
	t.Helper()
	t.Setenv("STANDIN_MODE", mode)
	t.Setenv("STANDIN_EXIT", strconv.Itoa(exit))
	return r.Run(context.Background(), proctest.Inv(runners.Module{Name: "m", Path: "/nonexistent.wasm"}, nil))
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
