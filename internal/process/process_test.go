package process_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasicert/wasicert/internal/proctest"
	"github.com/wasicert/wasicert/runners"
)

func sh(t *testing.T, script string, mod func(*process.Command)) runners.Result {
	t.Helper()
	c := process.Command{Name: "sh", Path: "/bin/sh", Args: []string{"-c", script}, Timeout: 5 * time.Second}
	if mod != nil {
		mod(&c)
	}
	res, err := process.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestClassification(t *testing.T) {
	mark := proctest.MarkEnv(t)
	if res := sh(t, `echo out; echo err >&2; exit 5`, nil); res.String() != "exit 5" || string(res.Stdout) != "out\n" || string(res.Stderr) != "err\n" {
		t.Errorf("exit: %s %q %q", res, res.Stdout, res.Stderr)
	}
	if res := sh(t, `kill -SEGV $$`, nil); res.String() != "crash: signal: SIGSEGV" {
		t.Errorf("segv: %s", res)
	}
	if res := sh(t, `kill -KILL $$`, nil); res.String() != "crash: signal: SIGKILL" {
		t.Errorf("kill: %s", res)
	}
	// The harness env reaches the runtime (so a leaking runtime shows it);
	// the working directory is a fresh one, not the repository.
	res := sh(t, `echo "$WASICERT_HOST_CANARY"; pwd`, nil)
	lines := strings.Split(strings.TrimSpace(string(res.Stdout)), "\n")
	if lines[0] != mark || !strings.Contains(lines[1], "wasicert-run-") {
		t.Errorf("env/cwd: %q", lines)
	}
	if _, err := os.Stat(lines[1]); !os.IsNotExist(err) {
		t.Errorf("temp work dir %s not removed", lines[1])
	}
	// stdin
	if res := sh(t, `cat`, func(c *process.Command) { c.Stdin = []byte("in\n") }); string(res.Stdout) != "in\n" {
		t.Errorf("stdin: %q", res.Stdout)
	}
	// output bound, drained past it
	res = sh(t, `head -c 5000000 /dev/zero; echo done >&2`, nil)
	if !res.Truncated || len(res.Stdout) != runners.MaxOutput || string(res.Stderr) != "done\n" || res.ExitCode != 0 {
		t.Errorf("flood: %s truncated=%v len=%d stderr=%q", res, res.Truncated, len(res.Stdout), res.Stderr)
	}
	// timeout kills the whole group, grandchildren included
	start := time.Now()
	res = sh(t, `sleep 100 & (sleep 100 &) ; sleep 100`, func(c *process.Command) { c.Timeout = 300 * time.Millisecond })
	if res.Ended != runners.EndedTimeout || time.Since(start) > 3*time.Second {
		t.Errorf("timeout: %s after %s", res, time.Since(start))
	}
	// leftovers after a normal exit are killed too
	sh(t, `sleep 100 & exit 0`, nil)
	time.Sleep(50 * time.Millisecond)
	if left := proctest.Leftovers(mark); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestWorkerEnding(t *testing.T) {
	rep := func(script string) (runners.Result, error) {
		return process.Run(context.Background(), process.Command{Name: "w", Path: "/bin/sh", Args: []string{"-c", script}, EndingPipe: true})
	}
	if res, err := rep(`echo '{"ended":"exit","exit_code":300}' >&3; exit 44`); err != nil || res.String() != "exit 300" {
		t.Errorf("exit report: %s %v", res, err)
	}
	if res, err := rep(`echo '{"ended":"trap","detail":"unreachable"}' >&3; exit 134`); err != nil || res.String() != "trap: unreachable" {
		t.Errorf("trap report: %s %v", res, err)
	}
	if _, err := rep(`echo '{"ended":"error","detail":"Missing import"}' >&3; exit 2`); err == nil || !strings.Contains(err.Error(), "module did not start: Missing import") {
		t.Errorf("error report: %v", err)
	}
	if res, err := rep(`echo boom >&2; exit 101`); err != nil || res.String() != "crash: w exited 101 without a report: boom" {
		t.Errorf("no report: %s %v", res, err)
	}
	if res, _ := rep(`echo '{"ended":"exit","exit_code":0}' >&3; kill -ABRT $$`); res.String() != "crash: signal: SIGABRT" {
		t.Errorf("signal wins over report: %s", res)
	}
}

// TestEscapeAndTail: a child that escapes the group with setsid and holds
// the pipes neither holds Run up nor survives it; a crash line after a stderr
// flood is still found.
func TestEscapeAndTail(t *testing.T) {
	mark := proctest.MarkEnv(t)
	for _, report := range []bool{false, true} {
		start := time.Now()
		res := sh(t, `setsid sleep 30 & sleep .3; exit 0`, func(c *process.Command) { c.EndingPipe = report })
		if took := time.Since(start); took > 1500*time.Millisecond {
			t.Errorf("setsid (report %v): %s after %s", report, res, took)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if left := proctest.Leftovers(mark); len(left) > 0 {
		t.Errorf("setsid: left behind: %v", left)
	}
	res := sh(t, `yes x | head -c 5000000 >&2; echo 'panic: boom' >&2; exit 2`, func(c *process.Command) { c.EndingPipe = true })
	if res.String() != "crash: sh exited 2 without a report: panic: boom" || !res.Truncated || len(res.Stderr) != runners.MaxOutput {
		t.Errorf("crash after flood: %s truncated=%v", res, res.Truncated)
	}
}

// TestJobEncoding: a job travels as JSON, which cannot carry bytes that are
// not UTF-8; RunJob refuses them instead of letting json.Marshal rewrite them.
func TestJobEncoding(t *testing.T) {
	inv := runners.Invocation{Module: runners.Module{Path: "/m.wasm"}, Args: []string{"p", "a", "b", "\xff"}}
	l := process.Launch{Name: "w", Path: "/bin/true"}
	if _, err := process.RunJob(context.Background(), l, inv); err == nil || err.Error() != "argument 3 is not valid UTF-8: the w runner passes arguments as JSON" {
		t.Errorf("args: %v", err)
	}
	inv.Args, inv.Env = []string{"p"}, []string{"K=\xfe"}
	if _, err := process.RunJob(context.Background(), l, inv); err == nil || !strings.Contains(err.Error(), `environment entry "K=\xfe" is not valid UTF-8`) {
		t.Errorf("env: %v", err)
	}
}

func TestOneLineRunes(t *testing.T) {
	s := strings.Repeat("é", 400)
	if got := process.OneLine("a" + s); !utf8.ValidString(got) || !strings.HasSuffix(got, "é…") {
		t.Errorf("OneLine cut a rune: %q", got[len(got)-8:])
	}
	if got := process.LastLine([]byte("a" + s)); !utf8.ValidString(got) || !strings.HasSuffix(got, "é…") {
		t.Errorf("LastLine cut a rune: %q", got[len(got)-8:])
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "rt")
	os.WriteFile(p, []byte("#!/bin/sh\necho rt 1.2.3\n"), 0o755)
	if got, err := process.Find("rt", dir); err != nil || got != p {
		t.Errorf("Find in dirs: %q %v", got, err)
	}
	if _, err := process.FindWorker("wasicert-worker-none"); err == nil || !strings.Contains(err.Error(), "not installed: worker wasicert-worker-none not found") {
		t.Errorf("FindWorker: %v", err)
	}
}
