package main

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wtsSuites is where the wasi-testsuite format's own test suites live.
const wtsSuites = "../../internal/wasitestsuite/testdata"

// TestTestsuiteBadInput: each mistake is one line and exit 2.
func TestTestsuiteBadInput(t *testing.T) {
	noManifest := t.TempDir()
	unreadable := filepath.Join(t.TempDir(), "x.toml")
	writeFile(t, unreadable, 0o644, "version = 1\n")
	_ = os.Chmod(unreadable, 0)
	if f, err := os.Open(unreadable); err == nil { // root reads it anyway
		f.Close()
		unreadable = filepath.Join(t.TempDir(), "absent.toml")
	}
	pass := filepath.Join(wtsSuites, "pass")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no directory", []string{"wasi-testsuite", "--runtime", "wazero"}, "give at least one suite directory"},
		{"no manifest", []string{"wasi-testsuite", noManifest}, "no manifest.json"},
		{"no such runtime", []string{"wasi-testsuite", pass, "--runtime", "nosuch"}, `unknown runtime "nosuch"`},
		{"unreadable expectations", []string{"wasi-testsuite", pass, "--expectations", unreadable}, "expectations"},
		{"expectations of no known form", []string{"wasi-testsuite", pass, "--expectations", "x.json"}, "give a .toml file"},
		{"bad jobs", []string{"wasi-testsuite", pass, "--jobs", "0"}, "--jobs must be at least 1"},
		{"unknown flag", []string{"wasi-testsuite", pass, "--bogus"}, "flag provided but not defined: -bogus"},
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
		})
	}
}

// TestTestsuiteRun: the pass suite exits 0, the fail suite 1, and 0 again
// with upstream's TOML expectations; flags may follow the directories; the
// reports are written and agree with the summary lines.
func TestTestsuiteRun(t *testing.T) {
	dir := t.TempDir()
	junit, js := filepath.Join(dir, "junit.xml"), filepath.Join(dir, "report.json")
	r := wasicert(t, "wasi-testsuite", filepath.Join(wtsSuites, "pass"), "--jobs", "2", filepath.Join(wtsSuites, "fail"), "--junit", junit, "--json", js)
	if r.code != exitFail {
		t.Fatalf("pass+fail: exit %d, want 1; stdout %s stderr %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"wasicert pass on wazero 1.12.0 (compiler): 12 tests: 12 passed, 0 failed, 0 skipped",
		"wasicert fail on wazero 1.12.0 (compiler): 10 tests: 0 passed, 9 failed, 1 skipped",
		"fail  wasicert fail/exit-code: exit code: expected 0, got 3",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	var doc struct {
		Suites []struct {
			Name   string         `json:"name"`
			Counts map[string]int `json:"counts"`
			Tests  []struct {
				Test, Outcome, Reason string
			} `json:"tests"`
		} `json:"suites"`
	}
	readJSON(t, js, &doc)
	if len(doc.Suites) != 2 || doc.Suites[1].Counts["fail"] != 9 || len(doc.Suites[1].Tests) != 10 {
		t.Errorf("JSON report: %+v", doc)
	}
	var x struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name    string `xml:"name,attr"`
			Skipped int    `xml:"skipped,attr"`
		} `xml:"testsuite"`
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(data, &x); err != nil || x.Tests != 22 || x.Failures != 9 || len(x.Suites) != 2 || x.Suites[1].Skipped != 1 {
		t.Errorf("JUnit report: %+v, %v", x, err)
	}

	r = wasicert(t, "wasi-testsuite", "--expectations", filepath.Join(wtsSuites, "fail.toml"), filepath.Join(wtsSuites, "fail"))
	if r.code != exitPass || !strings.Contains(r.stdout, "0 failed, 1 skipped, 9 expected failures, 0 unexpected passes") {
		t.Errorf("fail with fail.toml: exit %d, want 0; stdout %s stderr %s", r.code, r.stdout, r.stderr)
	}
}
