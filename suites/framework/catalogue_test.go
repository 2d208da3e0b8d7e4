package framework

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// sinks gives cfg report files of its own under dir.
func sinks(cfg Config, dir string, out *bytes.Buffer) Config {
	cfg.Results = filepath.Join(dir, "results.jsonl")
	cfg.Summary = filepath.Join(dir, "summary.json")
	cfg.JUnit = filepath.Join(dir, "junit.xml")
	cfg.GinkgoJSON = filepath.Join(dir, "ginkgo.json")
	cfg.Out = out
	return cfg
}

// TestTwoConfigsInOneProcess: one process runs the catalogue three times
// with three Configs (wazero with its shipped expectations,
// wazero-confined with its own, wazero with none), and each run's records,
// run ID, expectations and report files are its own: nothing of one run
// leaks into the next, as it did when the runtime, expectations and stream
// were package state opened once per process.
func TestTwoConfigsInOneProcess(t *testing.T) {
	n := len(catalogue.All())
	type run struct {
		cfg Config
		res Result
		out bytes.Buffer
	}
	runs := []*run{
		{cfg: Config{Runtime: "wazero"}},
		{cfg: Config{Runtime: "wazero-confined"}},
		{cfg: Config{Runtime: "wazero", NoExpectations: true}},
	}
	for i, r := range runs {
		r.cfg = sinks(r.cfg, filepath.Join(t.TempDir(), "out"), &r.out)
		res, err := RunCatalogue(context.Background(), r.cfg)
		if err != nil {
			t.Fatalf("run %d (%s): %v", i, r.cfg.Runtime, err)
		}
		r.res = res
	}
	ids := map[string]bool{}
	for i, r := range runs {
		s := r.res.Summary
		if len(r.res.Records) != n || s.Specs != n || s.Runtime != r.cfg.Runtime || s.RunID == "" || ids[s.RunID] {
			t.Fatalf("run %d: %d records, summary %s/%s of %d specs: want %d records of %s under a run ID of its own",
				i, len(r.res.Records), s.Runtime, s.RunID, s.Specs, n, r.cfg.Runtime)
		}
		ids[s.RunID] = true
		shipped, err := catalogue.Expectations(r.cfg.Runtime)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range r.res.Records {
			if rec.Runtime != r.cfg.Runtime || rec.RunID != s.RunID {
				t.Errorf("run %d: record %s is of %s/%s, want %s/%s", i, rec.Spec, rec.Runtime, rec.RunID, r.cfg.Runtime, s.RunID)
			}
			// Expectations: the runtime's own, or none when the Config says none.
			want, covered := shipped[rec.Spec]
			if rec.Expectation != nil && (r.cfg.NoExpectations || !covered || rec.Expectation.Reference != want.Reference) {
				t.Errorf("run %d (%s, no expectations %v): record %s carries expectation %+v", i, r.cfg.Runtime, r.cfg.NoExpectations, rec.Spec, *rec.Expectation)
			}
		}
		// Each run's stream holds its records and nothing else.
		streamed, err := reports.ReadStream(r.cfg.Results)
		if err != nil || len(streamed) != n {
			t.Fatalf("run %d: results stream holds %d records (%v), want %d", i, len(streamed), err, n)
		}
		for j, rec := range streamed {
			if rec.Spec != r.res.Records[j].Spec || rec.Verdict != r.res.Records[j].Verdict || rec.RunID != s.RunID {
				t.Errorf("run %d: streamed record %d is %s/%s/%s, want %s/%s/%s", i, j, rec.Spec, rec.Verdict, rec.RunID, r.res.Records[j].Spec, r.res.Records[j].Verdict, s.RunID)
			}
		}
		var summary reports.Summary
		readJSON(t, r.cfg.Summary, &summary)
		if summary.RunID != s.RunID || summary.Specs != n || summary.Green != s.Green || summary.Host.Kernel == "" || len(summary.Host.Bounds) == 0 {
			t.Errorf("run %d: summary.json %+v does not match the run", i, summary)
		}
		checkJUnit(t, r.cfg.JUnit, s.RunID, n)
		var ginkgoReport []map[string]any
		readJSON(t, r.cfg.GinkgoJSON, &ginkgoReport)
		if printed := r.out.String(); !strings.Contains(printed, "wasicert summary: "+r.cfg.Runtime+" ") || !strings.Contains(printed, "run "+s.RunID) || !strings.Contains(printed, "host checks") {
			t.Errorf("run %d: printed summary:\n%s", i, printed)
		}
	}

	// With expectations wazero is green and has expected failures; the same
	// runtime without them fails those very specs with their actual verdicts.
	with, without := runs[0].res, runs[2].res
	if !with.Summary.Green || with.Summary.Counts[verdicts.ExpectedFailure] == 0 {
		t.Errorf("wazero with its expectations: green %v, %d expected failures; want green with some", with.Summary.Green, with.Summary.Counts[verdicts.ExpectedFailure])
	}
	if without.Summary.Green || without.Summary.Counts[verdicts.ExpectedFailure] != 0 {
		t.Errorf("wazero without expectations: green %v, %d expected failures; want neither", without.Summary.Green, without.Summary.Counts[verdicts.ExpectedFailure])
	}
	for i, rec := range with.Records {
		if other := without.Records[i]; rec.Verdict == verdicts.ExpectedFailure && other.Verdict != rec.Actual {
			t.Errorf("%s: %s with expectations (actual %s), %s without", rec.Spec, rec.Verdict, rec.Actual, other.Verdict)
		}
	}
}

// checkJUnit reads a JUnit file: one suite with the run ID property and
// one test case per spec, each with the wasicert.record property.
func checkJUnit(t *testing.T, path, runID string, specs int) {
	t.Helper()
	var doc struct {
		Suites []struct {
			Properties []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Name       string `xml:"name,attr"`
				Properties []struct {
					Name string `xml:"name,attr"`
				} `xml:"properties>property"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, &doc); err != nil || len(doc.Suites) != 1 {
		t.Fatalf("%s: %d suites, %v", path, len(doc.Suites), err)
	}
	found := false
	for _, p := range doc.Suites[0].Properties {
		found = found || p.Name == reports.PropertyRunID && p.Value == runID
	}
	if !found || len(doc.Suites[0].Cases) != specs {
		t.Errorf("%s: run ID property %v, %d test cases; want %s and %d", path, found, len(doc.Suites[0].Cases), runID, specs)
	}
	for _, c := range doc.Suites[0].Cases {
		has := false
		for _, p := range c.Properties {
			has = has || p.Name == reports.EntryRecord
		}
		if !has || !strings.HasPrefix(c.Name, "[It] "+catalogueText+" ") {
			t.Errorf("%s: test case %q lacks the record property or the suite's name", path, c.Name)
		}
	}
}

// cancelOnRun is the real wazero runner, wrapped so that its third run
// cancels the run's context first, as Ctrl-C would during that spec. It
// counts Close calls: RunCatalogue must leave a caller's runner open.
type cancelOnRun struct {
	runners.Runner
	cancel context.CancelCauseFunc
	runs   atomic.Int32
	closed atomic.Int32
}

func (c *cancelOnRun) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	if c.runs.Add(1) == 3 {
		c.cancel(errors.New("Interrupted by User"))
	}
	return c.Runner.Run(ctx, inv)
}

func (c *cancelOnRun) Close() error { c.closed.Add(1); return nil }

// TestRunCatalogueInterrupted: when the caller's context ends during a
// spec, that spec is interrupted, the specs after it are not run (and not
// counted as passes), the summary says the run was interrupted, and every
// report is still written.
func TestRunCatalogueInterrupted(t *testing.T) {
	wz, err := runners.Open("wazero")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	r := &cancelOnRun{Runner: wz, cancel: cancel}
	var out bytes.Buffer
	cfg := sinks(Config{Runner: r, LabelFilter: "Area:env || Area:args"}, t.TempDir(), &out)
	selected, _ := Select(cfg.LabelFilter, "")
	res, err := RunCatalogue(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summary
	last := res.Records[len(res.Records)-1]
	if last.Verdict != verdicts.Interrupted {
		t.Errorf("the spec running at the interrupt is %s (%s), want interrupted", last.Verdict, last.Reason)
	}
	if !s.Interrupted || s.Green || s.NotRun != len(selected)-len(res.Records) || s.NotRun == 0 || s.Counts[verdicts.Interrupted] != 1 {
		t.Errorf("summary: interrupted %v, green %v, %d not run of %d selected, %d records, counts %v", s.Interrupted, s.Green, s.NotRun, len(selected), len(res.Records), s.Counts)
	}
	if n, _ := reports.ReadStream(cfg.Results); len(n) != len(res.Records) {
		t.Errorf("stream holds %d records, want %d", len(n), len(res.Records))
	}
	checkJUnit(t, cfg.JUnit, s.RunID, len(res.Records))
	if !strings.Contains(out.String(), "result: INTERRUPTED") {
		t.Errorf("the printed summary does not say the run was interrupted:\n%s", out.String())
	}
	if r.closed.Load() != 0 {
		t.Errorf("RunCatalogue closed the caller's runner")
	}
}

// TestRunCatalogueRefusesBadConfig: a bad Config is one line of error
// before any spec runs, and nothing is written.
func TestRunCatalogueRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "results.jsonl")
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Runtime: "wazero", FixtureDir: "/nonexistent/fixtures"}, "fixture dir /nonexistent/fixtures does not exist"},
		{Config{Runtime: "nosuch"}, `unknown runtime "nosuch"`},
		{Config{Runtime: "wazero", ExpectationsFile: "/nonexistent.yaml"}, "expectations file"},
		{Config{Runtime: "wazero", LabelFilter: "((("}, "label filter"},
		{Config{Runtime: "wazero", Focus: "("}, `focus "(" is not a regular expression`},
		{Config{Runtime: "wazero", Summary: "/proc/wasicert/s.json"}, "cannot write reports to /proc/wasicert"},
		{Config{}, "no runtime"},
	} {
		c.cfg.Results = results
		res, err := RunCatalogue(context.Background(), c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") || len(res.Records) != 0 {
			t.Errorf("%+v: %d records, error %v; want one line containing %q", c.cfg, len(res.Records), err, c.want)
		}
	}
	if _, err := os.Stat(results); err == nil {
		t.Errorf("a refused run wrote its results stream")
	}
}

// TestRegisterFlags: each -wasicert.* flag defaults to its WASICERT_*
// variable, and a flag given wins over the variable.
func TestRegisterFlags(t *testing.T) {
	t.Setenv("WASICERT_RUNTIME", "wazero-confined")
	t.Setenv("WASICERT_RESULTS", "/from/env.jsonl")
	t.Setenv("WASICERT_NO_EXPECTATIONS", "1")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg := RegisterFlags(fs)
	if err := fs.Parse([]string{"-wasicert.results=/from/flag.jsonl", "-wasicert.timeout=3s"}); err != nil {
		t.Fatal(err)
	}
	if cfg.Runtime != "wazero-confined" || cfg.Results != "/from/flag.jsonl" || !cfg.NoExpectations || cfg.Timeout.String() != "3s" {
		t.Errorf("config %+v: want the runtime and no-expectations from the environment, results and timeout from the flags", *cfg)
	}
	t.Setenv("WASICERT_RUNTIME", "")
	if cfg := RegisterFlags(flag.NewFlagSet("t", flag.ContinueOnError)); cfg.Runtime != "wazero" {
		t.Errorf("default runtime %q, want wazero", cfg.Runtime)
	}
}

// TestSuiteTakesItsConfig: the ginkgo suite binary (what `ginkgo run`
// runs) runs on the runtime its flags and environment name: its records
// name wazero-confined, chosen by WASICERT_RUNTIME, and go to the stream
// named by -wasicert.results.
func TestSuiteTakesItsConfig(t *testing.T) {
	bin := capabilityTest(t)
	dir := t.TempDir()
	results := filepath.Join(dir, "results.jsonl")
	cmd := exec.Command(bin, "-ginkgo.label-filter=Area:env", "-wasicert.results="+results)
	cmd.Env = append(os.Environ(), "WASICERT_RUNTIME=wazero-confined")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("suite: %v\n%s", err, out)
	}
	recs, err := reports.ReadStream(results)
	if err != nil || len(recs) == 0 {
		t.Fatalf("results: %d records, %v", len(recs), err)
	}
	for _, r := range recs {
		if r.Runtime != "wazero-confined" || r.Area != string(suites.AreaEnv) || r.RunID != recs[0].RunID || r.RunID == "" {
			t.Errorf("record %s: %s/%s in run %q; want wazero-confined, env, one run ID", r.Spec, r.Runtime, r.Area, r.RunID)
		}
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
