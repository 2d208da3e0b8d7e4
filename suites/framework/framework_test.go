package framework

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/internal/repo"
	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/verdicts"
)

func TestCheckFixtureDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, want string }{
		{"/nonexistent/fixtures", "fixture dir /nonexistent/fixtures does not exist"},
		{file, "fixture dir " + file + " is not a directory"},
		{"/proc", "fixture dir /proc is not writable"},
	} {
		err := CheckFixtureDir(c.dir)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("CheckFixtureDir(%s) = %v, want one line starting %q", c.dir, err, c.want)
		}
	}
	ok := t.TempDir()
	if err := CheckFixtureDir(ok); err != nil {
		t.Errorf("a writable dir was refused: %v", err)
	}
	if ents, _ := os.ReadDir(ok); len(ents) != 0 {
		t.Errorf("the check left %d entries behind", len(ents))
	}
	t.Setenv("TMPDIR", "/nonexistent/tmp")
	if err := CheckFixtureDir(""); err == nil || !strings.Contains(err.Error(), "temp dir (TMPDIR) /nonexistent/tmp does not exist") {
		t.Errorf("CheckFixtureDir(\"\") with a missing TMPDIR = %v", err)
	}
}

// TestMarkInterrupted: a spec whose context ginkgo cancelled on an
// interrupt is interrupted whatever lesser verdict the run ended with
// (timeout, crash, fail, pass, an expected failure); escape and leak
// evidence still wins, and a ginkgo timeout is not an interrupt.
func TestMarkInterrupted(t *testing.T) {
	interrupted, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("Interrupted by User"))
	timedOut, cancel2 := context.WithCancelCause(context.Background())
	cancel2(errors.New("spec timeout occurred"))
	exp := &verdicts.Expectation{Spec: "s", Verdict: verdicts.Timeout}
	for _, c := range []struct {
		ctx     context.Context
		in      verdicts.Record
		verdict verdicts.Verdict
	}{
		{interrupted, verdicts.Record{Verdict: verdicts.Timeout, Actual: verdicts.Timeout}, verdicts.Interrupted},
		{interrupted, verdicts.Record{Verdict: verdicts.Pass, Actual: verdicts.Pass}, verdicts.Interrupted},
		{interrupted, verdicts.Record{Verdict: verdicts.ExpectedFailure, Actual: verdicts.Timeout, Expectation: exp}, verdicts.Interrupted},
		{interrupted, verdicts.Record{Verdict: verdicts.Escape, Actual: verdicts.Escape}, verdicts.Escape},
		{interrupted, verdicts.Record{Verdict: verdicts.Leak, Actual: verdicts.Leak}, verdicts.Leak},
		{interrupted, verdicts.Record{Verdict: verdicts.Skipped, Actual: verdicts.Skipped}, verdicts.Skipped},
		{timedOut, verdicts.Record{Verdict: verdicts.Timeout, Actual: verdicts.Timeout}, verdicts.Timeout},
		{context.Background(), verdicts.Record{Verdict: verdicts.Pass, Actual: verdicts.Pass}, verdicts.Pass},
	} {
		rec := c.in
		if cause, ok := interruptedBy(c.ctx); ok {
			markInterrupted(&rec, cause)
		}
		if rec.Verdict != c.verdict || (c.verdict == verdicts.Interrupted && (rec.Actual != verdicts.Interrupted || rec.Expectation != nil || !strings.Contains(rec.Reason, "Interrupted by User"))) {
			t.Errorf("%s/%s: got %+v, want verdict %s", c.in.Verdict, context.Cause(c.ctx), rec, c.verdict)
		}
	}
}

// capabilityTest builds the capability suite's test binary: what
// `ginkgo run ./suites/capability` runs.
func capabilityTest(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "capability.test")
	if out, err := exec.Command("go", "test", "-c", "-o", bin, "../capability").CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	return bin
}

// TestSuiteSetUpRefusesBadInput: under `ginkgo run` (the test binary), a
// bad -wasicert.fixture-dir or WASICERT_FIXTURE_DIR fails the suite set-up
// with one clear line before any spec runs, and a bad focus regexp is one
// line instead of ginkgo's panic; the temp dir stays empty.
func TestSuiteSetUpRefusesBadInput(t *testing.T) {
	bin := capabilityTest(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		env  string
		want string
	}{
		{"missing fixture dir flag", []string{"-wasicert.fixture-dir=/nonexistent/fixtures"}, "", "wasicert: -wasicert.fixture-dir (WASICERT_FIXTURE_DIR): fixture dir /nonexistent/fixtures does not exist"},
		{"fixture dir variable names a file", nil, "WASICERT_FIXTURE_DIR=" + file, "is not a directory"},
		{"fixture dir on /proc", []string{"-wasicert.fixture-dir=/proc"}, "", "fixture dir /proc is not writable"},
		{"bad focus", []string{"-ginkgo.focus=("}, "", `wasicert: --focus "(" is not a regular expression`},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			cmd := exec.Command(bin, c.args...)
			cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "WASICERT_FIXTURE_DIR=")
			if c.env != "" {
				cmd.Env = append(cmd.Env, c.env)
			}
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("passed; output:\n%s", out)
			}
			text := string(out)
			if n := strings.Count(text, c.want); n != 1 || strings.Contains(text, "panic") || strings.Contains(text, "goroutine ") {
				t.Errorf("output holds %q %d times (want once, no panic):\n%s", c.want, n, text)
			}
			if strings.Contains(c.name, "fixture") && !strings.Contains(text, "Ran 0 of") {
				t.Errorf("specs ran after a bad fixture dir:\n%s", text)
			}
			if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
				t.Errorf("left %d entries in the temp dir, first %s", len(ents), ents[0].Name())
			}
		})
	}
}

// TestParallelProcessesShareRunID: `ginkgo run --procs=2` gives every
// record of the run one run ID, made on process 1 and handed to the others.
func TestParallelProcessesShareRunID(t *testing.T) {
	ginkgo, err := exec.LookPath("ginkgo")
	if err != nil {
		root, _ := repo.Root()
		ginkgo = filepath.Join(root, ".tools", "bin", "ginkgo")
		if _, err := os.Stat(ginkgo); err != nil {
			t.Skip("needs the ginkgo CLI (make ginkgo)")
		}
	}
	dir := t.TempDir()
	results, gjson := filepath.Join(dir, "results.jsonl"), filepath.Join(dir, "ginkgo.json")
	cmd := exec.Command(ginkgo, "run", "--procs=2", "--label-filter=Area:env || Area:args",
		// A report path is made relative to the suite unless --output-dir names the dir.
		"--output-dir="+dir, "--json-report=ginkgo.json", "../capability",
		"--", "-wasicert.results="+results, "-wasicert.summary="+filepath.Join(dir, "summary.json"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("ginkgo run: %v\n%s", err, out.String())
	}
	recs, err := reports.ReadStream(results)
	if err != nil || len(recs) == 0 {
		t.Fatalf("results: %d records, %v", len(recs), err)
	}
	ids := map[string]bool{}
	for _, r := range recs {
		ids[r.RunID] = true
	}
	var summary struct {
		RunID string `json:"run_id"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "summary.json"))
	_ = json.Unmarshal(b, &summary)
	if len(ids) != 1 || ids[""] || !ids[summary.RunID] {
		t.Errorf("run IDs %v in the records, %q in the summary: want one shared ID", ids, summary.RunID)
	}
	var report []struct {
		SpecReports []struct {
			LeafNodeType    string
			ParallelProcess int
		}
	}
	b, _ = os.ReadFile(gjson)
	if err := json.Unmarshal(b, &report); err != nil || len(report) != 1 {
		t.Fatalf("ginkgo JSON report: %v", err)
	}
	procs := map[int]bool{}
	for _, sr := range report[0].SpecReports {
		if sr.LeafNodeType == "It" {
			procs[sr.ParallelProcess] = true
		}
	}
	if len(procs) < 2 {
		t.Errorf("specs ran on processes %v: the test needs two", procs)
	}
}
