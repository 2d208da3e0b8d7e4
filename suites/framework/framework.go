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
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/wasicert/wasicert/internal/hostns"
	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/process"
	"github.com/wasicert/wasicert/runners/wazero"
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
	// RunID names the run in every record, the summary and the JUnit
	// report. "" makes one in the suite set-up (SynchronizedBeforeSuite),
	// shared by every parallel process.
	RunID string
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

// NewRunID returns a fresh run ID: the UTC start time and 48 random bits,
// e.g. 20250102T030405Z-1a2b3c4d5e6f. IDs sort by start time.
func NewRunID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// CheckFixtureDir says, in one line, why dir cannot hold the suite's
// fixtures: it is missing, not a directory, or entries cannot be made and
// removed in it (a read-only mount, /proc). Permission bits prove nothing
// to root, so it really makes and removes a probe directory with a file
// and a symlink in it, the kinds of entry a fixture holds. "" is the
// system temp dir.
func CheckFixtureDir(dir string) error {
	flag := "fixture dir"
	if dir == "" {
		dir = os.TempDir()
		flag = "temp dir (TMPDIR)"
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s %s does not exist: create it or name another directory", flag, dir)
	case err != nil:
		return fmt.Errorf("%s %s: %v", flag, dir, unwrapPath(err))
	case !fi.IsDir():
		return fmt.Errorf("%s %s is not a directory: name a directory", flag, dir)
	}
	probe, err := os.MkdirTemp(dir, ".wasicert-fixture-check-")
	if err != nil {
		return fmt.Errorf("%s %s is not writable (%v): name a writable directory", flag, dir, unwrapPath(err))
	}
	err = os.WriteFile(filepath.Join(probe, "f"), []byte("x"), 0o600)
	if err == nil {
		err = os.Symlink("f", filepath.Join(probe, "l"))
	}
	if rmErr := os.RemoveAll(probe); err == nil && rmErr != nil {
		err = rmErr
	}
	if err != nil {
		return fmt.Errorf("%s %s cannot hold fixtures (%v): name another directory", flag, dir, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the operation and path from a *fs.PathError: the
// message already names the directory.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
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

// CheckGinkgoConfig checks what ginkgo would panic on when RunSpecs
// applies it: a focus or skip regexp (ginkgo run --focus, -ginkgo.focus)
// that does not compile. Call it before RunSpecs; its error is one line.
func CheckGinkgoConfig() error {
	suiteCfg, _ := GinkgoConfiguration()
	for _, f := range []struct {
		flag string
		res  []string
	}{{"focus", suiteCfg.FocusStrings}, {"skip", suiteCfg.SkipStrings}} {
		for _, re := range f.res {
			if _, err := regexp.Compile(re); err != nil {
				return fmt.Errorf("wasicert: --%s %q is not a regular expression: %s", f.flag, re, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
			}
		}
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
//
// ctx is the spec's SpecContext, which ginkgo cancels on the first Ctrl-C
// or SIGTERM (and at the spec timeout): the harness stops the runtime and
// gives the verdict interrupted. Should the record still carry a verdict
// ranked below interrupted, Run raises it: a run cut short is never a pass,
// a fail or a timeout; escape and leak evidence still outranks it.
func Run(ctx SpecContext, spec suites.Spec) {
	if err := Prepare(); err != nil {
		Fail("set-up: " + err.Error())
	}
	rec, err := suites.Execute(ctx, spec, suites.Options{Runner: runner, Expectations: expected, FixtureDir: Current.FixtureDir, Timeout: Current.Timeout, RunID: Current.RunID})
	if err != nil {
		rec.Verdict, rec.Actual, rec.Reason = verdicts.Fail, verdicts.Fail, "set-up: "+err.Error()
	}
	if cause, ok := interruptedBy(ctx); ok {
		markInterrupted(&rec, cause)
	}
	Conclude(rec)
}

// interruptedBy reports whether ctx was cancelled by an interrupt, and why.
// Ginkgo cancels a SpecContext with the cause "Interrupted by User" (a
// signal), "Interrupted by Other Ginkgo Process" (a parallel abort) or
// "<kind> timeout occurred" (a spec or node timeout, which is not an
// interrupt).
func interruptedBy(ctx context.Context) (string, bool) {
	if ctx.Err() == nil {
		return "", false
	}
	cause := context.Cause(ctx).Error()
	if strings.Contains(cause, "timeout") || errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return "", false
	}
	return cause, true
}

// markInterrupted gives rec the verdict interrupted unless it holds a more
// serious one (escape, leak). No expectation covers an interrupt.
func markInterrupted(rec *verdicts.Record, cause string) {
	if rec.Verdict == verdicts.Skipped || !verdicts.Worse(verdicts.Interrupted, rec.Actual) {
		return
	}
	was := rec.Actual
	rec.Verdict, rec.Actual, rec.Expectation = verdicts.Interrupted, verdicts.Interrupted, nil
	reason := "run stopped from outside (" + cause + ") before the spec could be judged"
	if was == verdicts.Fail || was == verdicts.Crash {
		reason += "; before the stop: " + string(was) + ": " + rec.Reason
	}
	rec.Reason = reason
	if !slices.Contains(rec.Causes, "run:interrupted") {
		rec.Causes = append(rec.Causes, "run:interrupted")
	}
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

// The suite set-up. Process 1 checks the fixture dir (one clear line, before
// any spec runs) and makes the run ID, which every process receives; each
// process then opens the results stream for appending and the runtime.
var _ = SynchronizedBeforeSuite(func() []byte {
	if err := CheckFixtureDir(Current.FixtureDir); err != nil {
		Fail("wasicert: -wasicert.fixture-dir (WASICERT_FIXTURE_DIR): " + err.Error())
	}
	id := Current.RunID
	if id == "" {
		id = NewRunID()
	}
	return []byte(id)
}, func(id []byte) {
	Current.RunID = string(id)
	AddReportEntry(reports.PropertyRunID, Current.RunID, ReportEntryVisibilityNever)
	if Current.Results != "" {
		s, err := reports.OpenStream(Current.Results)
		if err != nil {
			Fail("wasicert: results stream: " + err.Error())
		}
		stream = s
	}
	if err := Prepare(); err != nil {
		Fail("wasicert: set-up: " + err.Error())
	}
})

// Runners that hold resources (a containerd runner's images, its state
// dir) implement io.Closer; every process closes its own after the suite,
// and its results stream.
var _ = SynchronizedAfterSuite(func() {
	if stream != nil {
		_ = stream.Close()
		stream = nil
	}
	if c, ok := runner.(io.Closer); ok {
		if err := c.Close(); err != nil {
			Fail("closing runtime " + runner.Name() + ": " + err.Error())
		}
	}
}, func() {})

// The reports. The node takes a SpecContext so that ginkgo, when
// interrupted while it runs, waits for it (up to the grace period) instead of
// exiting under a half-written report.
var _ = ReportAfterSuite("wasicert reports", func(_ SpecContext, report types.Report) {
	summary := reports.SummarizeReport(report)
	if Current.RunID != "" {
		summary.RunID = Current.RunID
	}
	summary.Host = reports.ThisHost(Current.FixtureDir)
	summary.Host.Bounds = append([]string{fmt.Sprintf("embedded guests: %d MiB per linear memory (memory.grow fails past it)", wazero.DefaultMemoryLimit>>20)}, process.Bounds()...)
	summary.Host.HostFiles = reports.HostFilesAvailable
	if err := hostns.Supported(); err != nil {
		summary.Host.HostFiles = "inactive: " + err.Error()
	}
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
	write(Current.JUnit, func(p string) error { return reports.WriteJUnit(report, p, summary.RunID) })
	write(Current.GinkgoJSON, func(p string) error { return reports.WriteGinkgoJSON(report, p) })
	if len(errs) > 0 {
		Fail(strings.Join(errs, "; "))
	}
})
