package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/suites"
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
	os.Exit(code)
}

type outcome struct {
	code           int
	stdout, stderr string
}

func wasicert(t *testing.T, args ...string) outcome {
	t.Helper()
	cmd := exec.Command(bin, args...)
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
// panic or a usage dump.
func TestBadInput(t *testing.T) {
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
		{"missing expectations file", []string{"run", "--expectations", "/nonexistent.yaml"}, "expectations file"},
		{"runtime not installed", []string{"run", "--runtime", "wasmtime-cli"}, "runtime wasmtime-cli is not installed"},
		{"template with an unknown placeholder", []string{"run", "--runtime-config", badTemplate(t, "{{bogus}}"), "--runtime", "bad"}, "bogus"},
		{"template without a binary", []string{"runtimes", "--runtime-config", badTemplate(t, "")}, "binary"},
		{"matrix of an unknown runtime", []string{"matrix", "--runtimes", "nosuch", "--out", t.TempDir()}, `unknown runtime "nosuch"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := wasicert(t, c.args...)
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
	n := len(suites.Catalogue())

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
	for _, s := range suites.Catalogue() {
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
		var line specLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("not a JSON line: %q", sc.Text())
		}
		if line.ID == "" || line.Rule == "" || line.Ref == "" || len(line.Labels) != 3 || seen[line.ID] {
			t.Errorf("bad or duplicate spec line %+v", line)
		}
		seen[line.ID] = true
	}
	if len(seen) != len(suites.Catalogue()) {
		t.Errorf("list printed %d specs, want %d", len(seen), len(suites.Catalogue()))
	}
	escapes := wasicert(t, "list", "--label-filter", "Severity:escape")
	if n := strings.Count(escapes.stdout, "\n"); n == 0 || n >= len(seen) {
		t.Errorf("Severity:escape listed %d specs, want a proper subset of %d", n, len(seen))
	}
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

// TestInterruptKeepsResults: a run interrupted while a runtime hangs keeps
// the records of the specs that ended, and still writes valid reports. The
// runtime is a real command-template runtime: a script that answers the
// first runs at once and hangs from the fourth on.
func TestInterruptKeepsResults(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "hang-runtime.sh")
	writeFile(t, script, 0o755, `#!/bin/sh
[ "$1" = --version ] && { echo "hang-runtime 1.0.0"; exit 0; }
n=$(cat "$0.count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$0.count"
[ "$n" -gt 3 ] && exec sleep 60
exit 0
`)
	config := filepath.Join(dir, "hang.yaml")
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
	results, junit := filepath.Join(dir, "results.jsonl"), filepath.Join(dir, "junit.xml")
	cmd := exec.Command(bin, "run", "--runtime-config", config, "--runtime", "hang-runtime",
		"--results", results, "--junit", junit, "--timeout", "60s")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for countLinesIfAny(results) < 3 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no results streamed within 20 s; output:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the fourth run is hanging now
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitFail {
			t.Errorf("interrupted run ended with %v, want exit %d", err, exitFail)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the run did not end within 30 s of the interrupt; output:\n%s", out.String())
	}
	// The 3 specs that ended, plus the one cut off by the interrupt.
	recs, err := reports.ReadStream(results)
	if err != nil || len(recs) != 4 {
		t.Fatalf("results stream: %d records (%v), want 4", len(recs), err)
	}
	if last := recs[3]; last.Verdict != verdicts.Interrupted {
		t.Errorf("the interrupted spec is recorded as %s (%s), want interrupted", last.Verdict, last.Reason)
	}
	if !strings.Contains(out.String(), "Interrupted by User") {
		t.Errorf("the run did not report the interrupt; output:\n%s", out.String())
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatalf("no JUnit report after the interrupt: %v", err)
	}
	var doc struct{}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Errorf("JUnit report after the interrupt is not valid XML: %v", err)
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

func countLinesIfAny(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\n")
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
