package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/suites/framework"
	"github.com/wasicert/wasicert/verdicts"
)

// bin is wasicert built once for these tests: the tests drive the real
// command, its exit status and its files.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wasicert-cmd-test-")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "wasicert")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		panic("go build: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	probes.Cleanup() // the in-process runs' (TestRunCatalogueMatchesRun)
	os.Exit(code)
}

type outcome struct {
	code           int
	stdout, stderr string
}

func wasicert(t *testing.T, args ...string) outcome {
	t.Helper()
	return wasicertEnv(t, nil, args...)
}

// wasicertEnv runs wasicert with env added to the test's environment.
func wasicertEnv(t *testing.T, env []string, args ...string) outcome {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return outcome{code, out.String(), errb.String()}
}

// TestBadInput: every mistake gets one line on stderr and exit 2, never a
// panic or a usage dump, and leaves nothing in the temp dir (each case runs
// with a private TMPDIR, which must be empty afterwards).
func TestBadInput(t *testing.T) {
	aFile := filepath.Join(t.TempDir(), "a-file")
	writeFile(t, aFile, 0o644, "not a dir\n")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown runtime", []string{"run", "--runtime", "nosuch"}, `unknown runtime "nosuch"`},
		{"unknown flag", []string{"run", "--bogus"}, "flag provided but not defined: -bogus"},
		{"stray argument", []string{"run", "extra"}, `unexpected argument "extra"`},
		{"unwritable report path", []string{"run", "--junit", "/proc/wasicert/junit.xml"}, "cannot write reports to /proc/wasicert"},
		{"report path is a directory", []string{"run", "--junit", os.TempDir()}, "is a directory"},
		{"bad label filter", []string{"run", "--label-filter", "((("}, "--label-filter"},
		{"bad timeout", []string{"run", "--timeout", "-1s"}, "--timeout must be positive"},
		{"bad list filter", []string{"list", "--label-filter", "((("}, "--label-filter"},
		{"bad focus", []string{"run", "--focus", "("}, `--focus "(" is not a regular expression: missing closing )`},
		{"bad list focus", []string{"list", "--focus", "("}, `--focus "(" is not a regular expression`},
		{"bad matrix filter", []string{"matrix", "--label-filter", "(((", "--out", t.TempDir()}, "--label-filter"},
		{"missing fixture dir", []string{"run", "--fixture-dir", "/nonexistent/fixtures"}, "fixture dir /nonexistent/fixtures does not exist"},
		{"fixture dir is a file", []string{"run", "--fixture-dir", aFile}, "is not a directory"},
		{"fixture dir on /proc", []string{"run", "--fixture-dir", "/proc"}, "fixture dir /proc is not writable"},
		{"missing expectations file", []string{"run", "--expectations", "/nonexistent.yaml"}, "expectations file"},
		{"runtime not installed", []string{"run", "--runtime", "wasmtime-cli"}, "runtime wasmtime-cli is not installed"},
		{"template with an unknown placeholder", []string{"run", "--runtime-config", badTemplate(t, "{{bogus}}"), "--runtime", "bad"}, "bogus"},
		{"template without a binary", []string{"runtimes", "--runtime-config", badTemplate(t, "")}, "binary"},
		{"docker host without a scheme", []string{"run", "--runtime", "docker", "--docker-host", "/var/run/docker.sock"}, "want unix://SOCKET or tcp://HOST:PORT"},
		{"docker host socket missing", []string{"run", "--runtime", "docker", "--docker-host", "unix:///nonexistent/docker.sock"}, "no such socket"},
		{"docker host not a socket", []string{"matrix", "--runtimes", "docker", "--docker-host", "unix://" + aFile, "--out", t.TempDir()}, "is not a socket"},
		{"docker host tcp without a port", []string{"certify", "--runtime", "docker", "--out", t.TempDir(), "--docker-host", "tcp://localhost"}, "want tcp://HOST:PORT"},
		{"bad docker runtime", []string{"run", "--runtime", "docker", "--docker-runtime", "io.containerd/wazero"}, "--docker-runtime"},
		{"matrix of an unknown runtime", []string{"matrix", "--runtimes", "nosuch", "--out", t.TempDir()}, `unknown runtime "nosuch"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			r := wasicertEnv(t, []string{"TMPDIR=" + tmp}, c.args...)
			assertEmptyDir(t, tmp)
			if r.code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", r.code, exitUsage, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "wasicert: ") || !strings.Contains(lines[0], c.want) {
				t.Errorf("stderr %q: want one line starting 'wasicert: ' containing %q", r.stderr, c.want)
			}
			if strings.Contains(r.stderr, "panic") || strings.Contains(r.stdout, "goroutine") {
				t.Errorf("panicked: %s", r.stderr)
			}
		})
	}
	if r := wasicert(t); r.code != exitUsage || !strings.Contains(r.stderr, "usage:") {
		t.Errorf("no arguments: exit %d, stderr %q; want exit 2 and the usage", r.code, r.stderr)
	}
}

// TestRunWritesEveryReport: each report flag writes a valid file (critest's
// -report-dir once silently wrote nothing), and the exit status follows the
// expectations.
func TestRunWritesEveryReport(t *testing.T) {
	dir := t.TempDir()
	junit, gjson, results := filepath.Join(dir, "r", "junit.xml"), filepath.Join(dir, "r", "ginkgo.json"), filepath.Join(dir, "r", "results.jsonl")
	r := wasicert(t, "run", "--runtime", "wazero", "--junit", junit, "--json", gjson, "--results", results)
	if r.code != exitPass {
		t.Fatalf("exit %d, want 0 (expectations applied); stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	n := len(catalogue.All())

	var doc struct {
		Tests     int `xml:"tests,attr"`
		Testcases []struct {
			Name    string `xml:"name,attr"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
		} `xml:"testsuite>testcase"`
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("junit is not valid XML: %v", err)
	}
	xfail := 0
	for _, tc := range doc.Testcases {
		if tc.Skipped != nil && strings.Contains(tc.Skipped.Message, "EXPECTED FAILURE") {
			xfail++
		}
	}
	if xfail == 0 {
		t.Errorf("junit shows no expected failure, but wazero has known deviations")
	}

	var summary struct {
		Specs  int            `json:"specs"`
		Green  bool           `json:"green"`
		Counts map[string]int `json:"counts"`
	}
	readJSON(t, filepath.Join(dir, "r", "summary.json"), &summary)
	if summary.Specs != n || !summary.Green || summary.Counts["expected-failure"] != xfail {
		t.Errorf("summary: %+v; want %d specs, green, %d expected failures", summary, n, xfail)
	}
	if !strings.Contains(r.stdout, "wasicert summary: wazero") {
		t.Errorf("stdout lacks the printed summary")
	}

	var ginkgoReport []map[string]any
	readJSON(t, gjson, &ginkgoReport)
	if len(ginkgoReport) != 1 {
		t.Errorf("ginkgo JSON report: %d suites, want 1", len(ginkgoReport))
	}

	if got := countLines(t, results); got != n {
		t.Errorf("results stream has %d records, want %d", got, n)
	}

	if r := wasicert(t, "run", "--runtime", "wazero", "--no-expectations", "--summary", filepath.Join(dir, "s.json")); r.code != exitFail {
		t.Errorf("--no-expectations: exit %d, want 1: wazero's known escapes must fail the run", r.code)
	}
}

func TestLabelFilterPassesThrough(t *testing.T) {
	dir := t.TempDir()
	r := wasicert(t, "run", "--label-filter", "Area:env", "--summary", filepath.Join(dir, "s.json"))
	if r.code != exitPass {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var summary struct{ Specs int }
	readJSON(t, filepath.Join(dir, "s.json"), &summary)
	want := 0
	for _, s := range catalogue.All() {
		if s.Area == suites.AreaEnv {
			want++
		}
	}
	if summary.Specs != want {
		t.Errorf("Area:env ran %d specs, want %d", summary.Specs, want)
	}
}

func TestList(t *testing.T) {
	r := wasicert(t, "list")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(r.stdout))
	for sc.Scan() {
		var line suites.Description
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		if line.ID == "" || line.Rule == "" || line.Ref == "" || len(line.Labels) != 3 || seen[line.ID] {
			t.Errorf("bad or duplicate spec line %+v", line)
		}
		seen[line.ID] = true
	}
	if len(seen) != len(catalogue.All()) {
		t.Errorf("list printed %d specs, want %d", len(seen), len(catalogue.All()))
	}
	escapes := wasicert(t, "list", "--label-filter", "Severity:escape")
	if n := strings.Count(escapes.stdout, "\n"); n == 0 || n >= len(seen) {
		t.Errorf("Severity:escape listed %d specs, want a proper subset of %d", n, len(seen))
	}
}

// assertEmptyDir fails when dir holds anything: a probe, fixture or run
// temp dir left behind.
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left behind in the temp dir: %s", e.Name())
	}
}

// TestFixtureDirOnReadOnlyMount: as root, permission bits prove nothing; a
// directory on a read-only mount must be refused before any spec runs. The
// mount is made in a private mount namespace (unshare -m), so the host
// never sees it.
func TestFixtureDirOnReadOnlyMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a read-only bind mount")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("needs unshare(1)")
	}
	src, dst, tmp := t.TempDir(), t.TempDir(), t.TempDir()
	cmd := exec.Command(unshare, "-m", "sh", "-c",
		`mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" && exec "$3" run --fixture-dir "$2"`, "sh", src, dst, bin)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if strings.Contains(stderr.String(), "mount:") {
		t.Skipf("cannot make a read-only bind mount here: %s", stderr.String())
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitUsage {
		t.Fatalf("run on a read-only fixture dir: %v, want exit %d; stdout:\n%s\nstderr:\n%s", err, exitUsage, stdout.String(), stderr.String())
	}
	want := "wasicert: run: --fixture-dir: fixture dir " + dst + " is not writable (read-only file system)"
	if lines := strings.Split(strings.TrimSpace(stderr.String()), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], want) || stdout.Len() != 0 {
		t.Errorf("stderr %q, stdout %q: want the one line %q... and no spec run", stderr.String(), stdout.String(), want)
	}
	assertEmptyDir(t, tmp)
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s is not valid JSON: %v", path, err)
	}
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var v map[string]any
		if json.Unmarshal([]byte(l), &v) == nil {
			n++
		}
	}
	return n
}

// hangRuntime writes a command-template runtime whose binary is a script
// that answers its first three runs at once and, from the fourth on, says so
// in a marker file and hangs.
func hangRuntime(t *testing.T, dir string) (config, hanging string) {
	t.Helper()
	script := filepath.Join(dir, "hang-runtime.sh")
	hanging = script + ".hanging"
	writeFile(t, script, 0o755, `#!/bin/sh
[ "$1" = --version ] && { echo "hang-runtime 1.0.0"; exit 0; }
n=$(cat "$0.count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$0.count"
[ "$n" -gt 3 ] && { : > "$0.hanging"; exec sleep 600; }
exit 0
`)
	config = filepath.Join(dir, "hang.yaml")
	writeFile(t, config, 0o644, `name: hang-runtime
description: a runtime that hangs from its fourth run on
binary: `+script+`
written_for: "1.0.0"
version:
  args: [--version]
  regexp: '(\d+\.\d+\.\d+)'
run: ["{{module}}", "{{preopens}}", "{{env}}", "{{args}}"]
preopen: ["--dir={{host}}:{{guest}}"]
env: ["--env={{key}}={{value}}"]
arg: ["{{arg}}"]
features: []
`)
	return config, hanging
}

// TestInterrupt: SIGINT or SIGTERM while a runtime hangs in the fourth spec
// ends the run with exit 130; the hanging spec is interrupted (not a
// timeout), the specs never run are counted as not run (not passes), the
// summary says the run was interrupted, every report is complete and
// valid, every record carries the run's ID, and no temp dir is left.
func TestInterrupt(t *testing.T) {
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) { testInterrupt(t, sig) })
	}
}

func testInterrupt(t *testing.T, sig os.Signal) {
	dir, tmp := t.TempDir(), t.TempDir()
	config, hanging := hangRuntime(t, dir)
	out := filepath.Join(dir, "out")
	results, junit, gjson := filepath.Join(out, "results.jsonl"), filepath.Join(out, "junit.xml"), filepath.Join(out, "ginkgo.json")
	cmd := exec.Command(bin, "run", "--runtime-config", config, "--runtime", "hang-runtime",
		"--results", results, "--junit", junit, "--json", gjson, "--timeout", "10m")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for waited := 0; ; waited++ {
		if _, err := os.Stat(hanging); err == nil {
			break
		}
		if waited == 600 { // a minute
			cmd.Process.Kill()
			t.Fatalf("the runtime never hung; output:\n%s%s", stdout.String(), stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
			t.Errorf("interrupted run ended with %v, want exit %d", err, exitInterrupted)
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("the run did not end after the interrupt; output:\n%s", stdout.String())
	}

	// The stream: the 3 specs that ended, then the interrupted one, one run ID.
	recs, err := reports.ReadStream(results)
	if err != nil || len(recs) != 4 {
		t.Fatalf("results stream: %d records (%v), want 4", len(recs), err)
	}
	if last := recs[3]; last.Verdict != verdicts.Interrupted || last.Actual != verdicts.Interrupted {
		t.Errorf("the interrupted spec is recorded as %s/%s (%s), want interrupted", last.Verdict, last.Actual, last.Reason)
	}
	runID := recs[0].RunID
	for _, r := range recs {
		if r.RunID == "" || r.RunID != runID {
			t.Errorf("record %s has run ID %q, want %q (one non-empty ID per run)", r.Spec, r.RunID, runID)
		}
	}

	var summary struct {
		RunID       string         `json:"run_id"`
		Specs       int            `json:"specs"`
		Interrupted bool           `json:"interrupted"`
		NotRun      int            `json:"not_run"`
		Green       bool           `json:"green"`
		Counts      map[string]int `json:"counts"`
	}
	readJSON(t, filepath.Join(out, "summary.json"), &summary)
	n := len(catalogue.All())
	if !summary.Interrupted || summary.Green || summary.RunID != runID || summary.Specs != 4 ||
		summary.NotRun != n-4 || summary.Counts["interrupted"] != 1 || summary.Counts["pass"] != 0 {
		t.Errorf("summary.json %+v: want interrupted, not green, run ID %s, 4 specs, 1 interrupted, %d not run, no pass", summary, runID, n-4)
	}
	if !strings.Contains(stdout.String(), "result: INTERRUPTED") || !strings.Contains(stdout.String(), "run "+runID) {
		t.Errorf("the printed summary does not say the run %s was interrupted:\n%s", runID, stdout.String())
	}

	var doc struct {
		Suites []struct {
			Properties []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Name  string `xml:"name,attr"`
				Error *struct {
					Type string `xml:"type,attr"`
				} `xml:"error"`
				Passed *struct{} `xml:"passed"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatalf("no JUnit report after the interrupt: %v", err)
	}
	if err := xml.Unmarshal(b, &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("JUnit report after the interrupt: %d suites, %v", len(doc.Suites), err)
	}
	props := map[string]string{}
	for _, p := range doc.Suites[0].Properties {
		props[p.Name] = p.Value
	}
	if props[reports.PropertyRunID] != runID || props["SpecialSuiteFailureReason"] != "Interrupted by User" {
		t.Errorf("JUnit suite properties %v: want %s=%s and the interrupt", props, reports.PropertyRunID, runID)
	}
	interrupted := 0
	for _, c := range doc.Suites[0].Cases {
		if c.Error != nil && c.Error.Type == "interrupted" {
			interrupted++
		}
	}
	if interrupted != 1 {
		t.Errorf("JUnit: %d interrupted test cases, want 1", interrupted)
	}
	var ginkgoReport []map[string]any
	readJSON(t, gjson, &ginkgoReport)

	// Nothing half-written beside the reports, nothing left in the temp dir.
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temp file left beside the reports: %s", e.Name())
		}
	}
	assertEmptyDir(t, tmp)
}

// TestMatrixInterrupt: SIGTERM sent to `wasicert matrix` alone reaches the
// running child run (its own process group), which ends interrupted with
// its reports; the matrix skips the runtimes after it, writes its table and
// exits 130, leaving the temp dir empty.
func TestMatrixInterrupt(t *testing.T) {
	dir, tmp := t.TempDir(), t.TempDir()
	config, hanging := hangRuntime(t, dir)
	out := filepath.Join(dir, "matrix")
	cmd := exec.Command(bin, "matrix", "--runtime-config", config, "--runtimes", "hang-runtime,wazero", "--out", out, "--timeout", "10m")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for waited := 0; ; waited++ {
		if _, err := os.Stat(hanging); err == nil {
			break
		}
		if waited == 600 {
			cmd.Process.Kill()
			t.Fatalf("the runtime never hung; stderr:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
			t.Errorf("interrupted matrix ended with %v, want exit %d; stderr:\n%s", err, exitInterrupted, stderr.String())
		}
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("the matrix did not end after the interrupt; stderr:\n%s", stderr.String())
	}
	var summary struct {
		Interrupted bool `json:"interrupted"`
	}
	readJSON(t, filepath.Join(out, "hang-runtime", "summary.json"), &summary)
	md, err := os.ReadFile(filepath.Join(out, "matrix.md"))
	if err != nil || !summary.Interrupted || !strings.Contains(string(md), "not run: the matrix was interrupted") {
		t.Errorf("child summary interrupted=%v; matrix.md (%v):\n%s", summary.Interrupted, err, md)
	}
	assertEmptyDir(t, tmp)
}

// TestRunIDsTellRunsApart: two runs appending to one results file are told
// apart by the run ID every record carries; each summary names its run.
func TestRunIDsTellRunsApart(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "results.jsonl")
	var ids []string
	for i := range 2 {
		summary := filepath.Join(dir, fmt.Sprintf("summary-%d.json", i))
		if r := wasicert(t, "run", "--label-filter", "Area:env", "--results", results, "--summary", summary); r.code != exitPass {
			t.Fatalf("run %d: exit %d: %s", i, r.code, r.stderr)
		}
		var s struct {
			RunID string `json:"run_id"`
			Specs int    `json:"specs"`
		}
		readJSON(t, summary, &s)
		if s.RunID == "" || s.Specs == 0 {
			t.Fatalf("summary %d: %+v, want a run ID and specs", i, s)
		}
		ids = append(ids, s.RunID)
	}
	if ids[0] == ids[1] {
		t.Fatalf("both runs have run ID %s", ids[0])
	}
	recs, err := reports.ReadStream(results)
	if err != nil {
		t.Fatal(err)
	}
	byRun := map[string][]string{}
	for _, r := range recs {
		byRun[r.RunID] = append(byRun[r.RunID], r.Spec)
	}
	if len(byRun) != 2 || len(byRun[ids[0]]) == 0 || !slices.Equal(byRun[ids[0]], byRun[ids[1]]) {
		t.Errorf("records by run ID: %v; want the same specs under each of %v", byRun, ids)
	}
}

// badTemplate writes a command template with placeholder in its run line,
// or, when placeholder is "", with no binary.
func badTemplate(t *testing.T, placeholder string) string {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	binary := "binary: /bin/true\n"
	if placeholder == "" {
		binary = ""
	}
	writeFile(t, path, 0o644, "name: bad\ndescription: a broken template\n"+binary+
		"written_for: \"1.0\"\nversion:\n  args: [--version]\n  regexp: '(.*)'\n"+
		"run: [\"{{module}}\", \"{{preopens}}\", \"{{env}}\", \""+placeholder+"\", \"{{args}}\"]\n"+
		"preopen: [\"--dir={{host}}:{{guest}}\"]\nenv: [\"--env={{key}}={{value}}\"]\narg: [\"{{arg}}\"]\nfeatures: []\n")
	return path
}

func writeFile(t *testing.T, path string, mode os.FileMode, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// TestStaleExpectationIsUnexpectedPass: an expectation for a spec that
// passes fails the run as an unexpected pass, so stale entries get removed.
func TestStaleExpectationIsUnexpectedPass(t *testing.T) {
	dir := t.TempDir()
	exp := filepath.Join(dir, "stale.yaml")
	writeFile(t, exp, 0o644, `runtimes: [wazero]
expectations:
  - spec: env.empty
    verdict: leak
    reason: pretend wazero leaks the host env
    reference: https://example.org/stale
    covers: [step:env]
`)
	r := wasicert(t, "run", "--expectations", exp, "--label-filter", "Area:env", "--summary", filepath.Join(dir, "s.json"))
	if r.code != exitFail {
		t.Fatalf("exit %d, want 1 for an unexpected pass; stdout:\n%s", r.code, r.stdout)
	}
	var summary struct {
		Counts map[string]int `json:"counts"`
	}
	readJSON(t, filepath.Join(dir, "s.json"), &summary)
	if summary.Counts["unexpected-pass"] != 1 {
		t.Errorf("counts %v, want 1 unexpected-pass", summary.Counts)
	}
	if !strings.Contains(r.stdout, "remove the expectation") {
		t.Errorf("the summary does not say to remove the stale expectation:\n%s", r.stdout)
	}
}

// TestRunCatalogueMatchesRun: framework.RunCatalogue, the in-process entry
// point without ginkgo, gives every spec the verdict `wasicert run` gives
// it, and writes a JUnit report with the same test cases and outcomes.
func TestRunCatalogueMatchesRun(t *testing.T) {
	dir := t.TempDir()
	viaRun, inProc := filepath.Join(dir, "run"), filepath.Join(dir, "in-process")
	if r := wasicert(t, "run", "--results", filepath.Join(viaRun, "results.jsonl"), "--junit", filepath.Join(viaRun, "junit.xml")); r.code != exitPass {
		t.Fatalf("wasicert run: exit %d: %s", r.code, r.stderr)
	}
	res, err := framework.RunCatalogue(context.Background(), framework.Config{Runtime: "wazero", JUnit: filepath.Join(inProc, "junit.xml"), Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := reports.ReadStream(filepath.Join(viaRun, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	verdictsOf := func(rs []verdicts.Record) map[string]string {
		m := map[string]string{}
		for _, r := range rs {
			m[r.Spec] = string(r.Verdict) + "/" + string(r.Actual)
		}
		return m
	}
	if a, b := verdictsOf(recs), verdictsOf(res.Records); !maps.Equal(a, b) || len(a) != len(catalogue.All()) {
		t.Errorf("verdicts differ:\nwasicert run: %v\nRunCatalogue: %v", a, b)
	}
	if a, b := junitCases(t, filepath.Join(viaRun, "junit.xml")), junitCases(t, filepath.Join(inProc, "junit.xml")); !maps.Equal(a, b) || len(a) != len(catalogue.All()) {
		t.Errorf("JUnit test cases differ:\nwasicert run: %v\nRunCatalogue: %v", a, b)
	}
}

// junitCases maps each JUnit test case's name to its status and its
// skip or failure message (the status alone for a racy spec, whose reason
// counts what the race did).
func junitCases(t *testing.T, path string) map[string]string {
	t.Helper()
	var doc struct {
		Cases []struct {
			Name    string `xml:"name,attr"`
			Status  string `xml:"status,attr"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			Failure *struct {
				Message string `xml:"message,attr"`
			} `xml:"failure"`
		} `xml:"testsuite>testcase"`
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	canary := regexp.MustCompile(`CANARY-[0-9a-f]+`)
	// A fixture's path differs between the two ways of running (wasicert
	// run puts fixtures in a run dir of its own).
	tempDir := regexp.MustCompile(`[^\s"]*wasicert-fixture-[0-9]+`)
	var racy []string
	for _, s := range catalogue.All() {
		if s.Racy {
			racy = append(racy, " "+s.ID+": ")
		}
	}
	out := map[string]string{}
	for _, c := range doc.Cases {
		if !strings.HasPrefix(c.Name, "[It]") {
			continue // ginkgo's suite nodes
		}
		v := c.Status
		if slices.ContainsFunc(racy, func(id string) bool { return strings.Contains(c.Name, id) }) {
			out[c.Name] = v
			continue
		}
		if c.Skipped != nil {
			v += ": " + tempDir.ReplaceAllString(canary.ReplaceAllString(c.Skipped.Message, "CANARY"), "FIXTURE")
		}
		if c.Failure != nil {
			v += ": " + tempDir.ReplaceAllString(canary.ReplaceAllString(c.Failure.Message, "CANARY"), "FIXTURE")
		}
		out[c.Name] = v
	}
	return out
}
