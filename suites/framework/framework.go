// Package framework binds wasicert's catalogue to ginkgo, the way critest's
// framework package binds its validation specs: it holds the run's
// configuration (the runtime under test, expectations, report paths), turns
// each catalogue spec into a ginkgo It with its labels, maps verdicts onto
// ginkgo outcomes, and writes the summary and reports after the suite.
//
// Verdict to ginkgo: pass passes; skipped and expected-failure are ginkgo
// skips whose message says which (the JUnit convention pytest uses for
// xfail), with the verdict also attached as the JUnit property
// wasicert.verdict; every other verdict fails the spec.
package framework

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

// Config is one run's configuration. `ginkgo run` fills it from -wasicert.*
// flags and WASICERT_* variables; cmd/wasicert sets it directly.
type Config struct {
	// Runtime is the registry name of the runtime under test.
	Runtime string
	// Runner, when set, is used instead of opening Runtime (tests pass
	// weakened runners this way).
	Runner runners.Runner
	// NoExpectations reports known deviations as the failures they are.
	NoExpectations bool
	// ExpectationsFile replaces the shipped expectations with a user's file.
	ExpectationsFile string
	// FixtureDir is the parent of each spec's fixture; "" is os.TempDir().
	FixtureDir string
	// Timeout bounds one run of a probe.
	Timeout time.Duration
	// JUnit, GinkgoJSON, Summary and Results are report paths; "" writes none.
	// (`ginkgo run` has its own --junit-report and --json-report too.)
	JUnit, GinkgoJSON, Summary, Results string
	// Out receives the printed summary; nil is os.Stdout.
	Out io.Writer
}

// Current is the configuration the suites run with.
var Current = Config{Timeout: runners.DefaultTimeout}

func init() {
	flag.StringVar(&Current.Runtime, "wasicert.runtime", envOr("WASICERT_RUNTIME", "wazero"), "runtime under test (WASICERT_RUNTIME)")
	flag.BoolVar(&Current.NoExpectations, "wasicert.no-expectations", os.Getenv("WASICERT_NO_EXPECTATIONS") != "", "report known deviations as failures")
	flag.StringVar(&Current.ExpectationsFile, "wasicert.expectations", os.Getenv("WASICERT_EXPECTATIONS"), "expectations file replacing the shipped one")
	flag.StringVar(&Current.FixtureDir, "wasicert.fixture-dir", os.Getenv("WASICERT_FIXTURE_DIR"), "parent directory for fixtures")
	flag.DurationVar(&Current.Timeout, "wasicert.timeout", runners.DefaultTimeout, "timeout of one probe run")
	flag.StringVar(&Current.Summary, "wasicert.summary", os.Getenv("WASICERT_SUMMARY"), "write the summary JSON here")
	flag.StringVar(&Current.Results, "wasicert.results", os.Getenv("WASICERT_RESULTS"), "stream one JSON record per spec here")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

var (
	prepareOnce sync.Once
	prepareErr  error
	runner      runners.Runner
	expected    map[string]verdicts.Expectation
	stream      *reports.Stream
)

// Prepare opens the runtime and loads its expectations, once. cmd/wasicert
// calls it before running so that set-up errors exit 2 with one line.
func Prepare() error {
	prepareOnce.Do(func() { prepareErr = prepare() })
	return prepareErr
}

func prepare() error {
	runner = Current.Runner
	if runner == nil {
		r, err := runners.Open(Current.Runtime)
		if err != nil {
			return err
		}
		runner = r
	}
	switch {
	case Current.NoExpectations:
		expected = nil
	case Current.ExpectationsFile != "":
		e, err := suites.LoadExpectations(Current.ExpectationsFile, runner.Name())
		if err != nil {
			return err
		}
		expected = e
	default:
		e, err := suites.Expectations(runner.Name())
		if err != nil {
			return err
		}
		expected = e
	}
	return nil
}

// DescribeCatalogue declares one ginkgo spec per catalogue spec in areas
// (all areas when none are given).
func DescribeCatalogue(areas ...suites.Area) {
	for _, spec := range suites.Catalogue() {
		if len(areas) > 0 && !contains(areas, spec.Area) {
			continue
		}
		It(spec.ID+": "+spec.Rule, Label(spec.Labels()...), func(ctx SpecContext) {
			Run(ctx, spec)
		}, SpecTimeout(Current.Timeout+30*time.Second))
	}
}

func contains(areas []suites.Area, a suites.Area) bool {
	for _, x := range areas {
		if x == a {
			return true
		}
	}
	return false
}

// Run executes spec on the runtime under test and concludes the ginkgo spec.
func Run(ctx SpecContext, spec suites.Spec) {
	if err := Prepare(); err != nil {
		Fail("set-up: " + err.Error())
	}
	rec, err := suites.Execute(ctx, spec, suites.Options{Runner: runner, Expectations: expected, FixtureDir: Current.FixtureDir, Timeout: Current.Timeout})
	if err != nil {
		rec.Verdict, rec.Actual, rec.Reason = verdicts.Fail, verdicts.Fail, "set-up: "+err.Error()
	}
	Conclude(rec)
}

// Conclude attaches rec to the running spec and ends it accordingly.
func Conclude(rec verdicts.Record) {
	AddReportEntry(reports.EntryVerdict, string(rec.Verdict), ReportEntryVisibilityNever)
	AddReportEntry(reports.EntryRecord, rec, ReportEntryVisibilityNever)
	for _, n := range rec.Notes {
		AddReportEntry("wasicert.note", n, ReportEntryVisibilityFailureOrVerbose)
	}
	if stream != nil {
		_ = stream.Append(rec)
	}
	switch rec.Verdict {
	case verdicts.Pass:
	case verdicts.Skipped:
		Skip(rec.Reason)
	case verdicts.ExpectedFailure:
		Skip(fmt.Sprintf("EXPECTED FAILURE (%s): %s", rec.Actual, rec.Reason))
	default:
		Fail(strings.ToUpper(string(rec.Verdict)) + ": " + rec.Reason)
	}
}

// The results stream is truncated once, by the first parallel process, then
// appended to by every process as its specs end.
var _ = SynchronizedBeforeSuite(func() []byte {
	if Current.Results != "" {
		s, err := reports.OpenStream(Current.Results)
		if err != nil {
			Fail("results stream: " + err.Error())
		}
		s.Close()
	}
	return nil
}, func([]byte) {
	if Current.Results != "" {
		f, err := os.OpenFile(Current.Results, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			Fail("results stream: " + err.Error())
		}
		stream = reports.NewStream(f)
	}
	if err := Prepare(); err != nil {
		Fail("set-up: " + err.Error())
	}
})

// Runners that hold resources (a containerd runner's images, its state
// dir) implement io.Closer; every process closes its own after the suite.
var _ = SynchronizedAfterSuite(func() {
	if c, ok := runner.(io.Closer); ok {
		if err := c.Close(); err != nil {
			Fail("closing runtime " + runner.Name() + ": " + err.Error())
		}
	}
}, func() {})

var _ = ReportAfterSuite("wasicert reports", func(report types.Report) {
	records := reports.RecordsFromReport(report)
	summary := reports.Summarize(records)
	summary.Host = reports.ThisHost(Current.FixtureDir)
	out := Current.Out
	if out == nil {
		out = os.Stdout
	}
	summary.Print(out)
	var errs []string
	write := func(path string, w func(string) error) {
		if path == "" {
			return
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			errs = append(errs, err.Error())
			return
		}
		if err := w(path); err != nil {
			errs = append(errs, err.Error())
		}
	}
	write(Current.Summary, summary.WriteJSON)
	write(Current.JUnit, func(p string) error { return reports.WriteJUnit(report, p) })
	write(Current.GinkgoJSON, func(p string) error { return reports.WriteGinkgoJSON(report, p) })
	if len(errs) > 0 {
		Fail(strings.Join(errs, "; "))
	}
})
