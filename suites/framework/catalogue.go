package framework

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/wasicert/wasicert/internal/hostns"
	"github.com/wasicert/wasicert/internal/process"
	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/runners/wazero"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// catalogueText names the catalogue's specs in reports: the ginkgo
// container of every spec ("[It] WASI capability env.empty: ...").
const catalogueText = "WASI capability"

// Result is what one RunCatalogue produced.
type Result struct {
	// Records holds one record per spec run, in catalogue order.
	Records []verdicts.Record
	// Summary is the run's summary, as printed and written.
	Summary reports.Summary
}

// Select returns the catalogue's specs whose labels match labelFilter
// (ginkgo's label syntax) and whose "ID: rule" matches the focus regexp;
// "" selects all.
func Select(labelFilter, focus string) ([]suites.Spec, error) {
	filter, err := types.ParseLabelFilter(labelFilter)
	if err != nil {
		return nil, fmt.Errorf("label filter %q: %s", labelFilter, strings.Join(strings.Fields(err.Error()), " "))
	}
	focusRE, err := regexp.Compile(focus)
	if err != nil {
		return nil, fmt.Errorf("focus %q is not a regular expression: %s", focus, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	var out []suites.Spec
	for _, s := range catalogue.All() {
		if filter(s.Labels()) && focusRE.MatchString(s.ID+": "+s.Rule) {
			out = append(out, s)
		}
	}
	return out, nil
}

// RunCatalogue runs the specs cfg selects on cfg's runtime, one after
// another in this process, without ginkgo, and writes cfg's reports: the
// same records, summary, results stream, JUnit and ginkgo JSON files a
// ginkgo run of the suite writes. Every run is independent of any other
// in the process.
//
// Bad configuration (a fixture dir that cannot hold fixtures, an
// unwritable report path, an unknown runtime, a bad filter) is an error
// before any spec runs. When ctx ends, the running spec is interrupted
// (unless it holds worse evidence), the specs after it are not run, and
// the summary says so; the reports are still written.
func RunCatalogue(ctx context.Context, cfg Config) (Result, error) {
	specs, err := Select(cfg.LabelFilter, cfg.Focus)
	if err != nil {
		return Result{}, err
	}
	if cfg.Timeout < 0 {
		return Result{}, fmt.Errorf("timeout must be positive, got %s", cfg.Timeout)
	}
	if err := CheckFixtureDir(cfg.FixtureDir); err != nil {
		return Result{}, err
	}
	for _, p := range []string{cfg.JUnit, cfg.GinkgoJSON, cfg.Summary, cfg.Results, cfg.Records} {
		if err := reports.CheckWritable(p); err != nil {
			return Result{}, err
		}
	}
	if cfg.RunID == "" {
		cfg.RunID = NewRunID()
	}
	sess, err := Open(cfg)
	if err != nil {
		return Result{}, err
	}
	defer sess.Close()
	var stream *reports.Stream
	if cfg.Results != "" {
		if stream, err = reports.OpenStream(cfg.Results); err != nil {
			return Result{}, fmt.Errorf("results stream: %w", err)
		}
		defer stream.Close()
	}

	report := types.Report{
		SuitePath:        "wasicert",
		SuiteDescription: "wasicert capability suite (" + sess.Runner().Name() + ")",
		StartTime:        time.Now(),
		PreRunStats:      types.PreRunStats{TotalSpecs: len(catalogue.All()), SpecsThatWillRun: len(specs)},
		SuiteConfig:      types.SuiteConfig{LabelFilter: cfg.LabelFilter, ParallelTotal: 1},
	}
	if cfg.Focus != "" {
		report.SuiteConfig.FocusStrings = []string{cfg.Focus}
	}
	var res Result
	var errs []error
	for _, spec := range specs {
		if ctx.Err() != nil {
			report.SpecialSuiteFailureReasons = append(report.SpecialSuiteFailureReasons, "Interrupted by the caller ("+context.Cause(ctx).Error()+")")
			break
		}
		start := time.Now()
		rec := sess.Execute(ctx, spec)
		if stream != nil {
			if err := stream.Append(rec); err != nil {
				errs = append(errs, fmt.Errorf("results stream: %w", err))
			}
		}
		res.Records = append(res.Records, rec)
		report.SpecReports = append(report.SpecReports, specReport(spec, rec, start, time.Now()))
	}
	report.EndTime = time.Now()
	report.RunTime = report.EndTime.Sub(report.StartTime)
	report.SuiteSucceeded = len(res.Records) == len(specs) && len(report.SpecialSuiteFailureReasons) == 0
	for _, r := range res.Records {
		if !r.Verdict.Green() {
			report.SuiteSucceeded = false
		}
	}
	res.Summary, err = finish(cfg, report)
	if err != nil {
		errs = append(errs, err)
	}
	if err := sess.Close(); err != nil {
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

// specReport is the ginkgo spec report a ginkgo run would make for spec
// and its record, so that RunCatalogue's reports are a ginkgo run's.
func specReport(spec suites.Spec, rec verdicts.Record, start, end time.Time) types.SpecReport {
	state, msg := outcome(rec)
	sr := types.SpecReport{
		ContainerHierarchyTexts: []string{catalogueText},
		LeafNodeType:            types.NodeTypeIt,
		LeafNodeText:            specText(spec),
		LeafNodeLabels:          spec.Labels(),
		State:                   state,
		StartTime:               start,
		EndTime:                 end,
		RunTime:                 end.Sub(start),
		ParallelProcess:         1,
		NumAttempts:             1,
		Failure:                 types.Failure{Message: msg},
	}
	for _, e := range recordEntries(rec) {
		sr.ReportEntries = append(sr.ReportEntries, types.ReportEntry{
			Name: e.name, Value: types.WrapEntryValue(e.value), Visibility: e.visibility, Time: end,
		})
	}
	return sr
}

func specText(spec suites.Spec) string { return spec.ID + ": " + spec.Rule }

// entry is one report entry a spec attaches.
type entry struct {
	name       string
	value      any
	visibility types.ReportEntryVisibility
}

// recordEntries are the report entries that carry rec: the verdict alone
// (a JUnit property), the record, and its conformance notes.
func recordEntries(rec verdicts.Record) []entry {
	out := []entry{
		{reports.EntryVerdict, string(rec.Verdict), types.ReportEntryVisibilityNever},
		{reports.EntryRecord, rec, types.ReportEntryVisibilityNever},
	}
	for _, n := range rec.Notes {
		out = append(out, entry{"wasicert.note", n, types.ReportEntryVisibilityFailureOrVerbose})
	}
	return out
}

// outcome maps a verdict onto a ginkgo outcome: pass passes; skipped and
// expected-failure are skips whose message says which; interrupted is an
// interrupt; every other verdict fails.
func outcome(rec verdicts.Record) (types.SpecState, string) {
	switch rec.Verdict {
	case verdicts.Pass:
		return types.SpecStatePassed, ""
	case verdicts.Skipped:
		return types.SpecStateSkipped, rec.Reason
	case verdicts.ExpectedFailure:
		return types.SpecStateSkipped, fmt.Sprintf("EXPECTED FAILURE (%s): %s", rec.Actual, rec.Reason)
	case verdicts.Interrupted:
		return types.SpecStateInterrupted, "INTERRUPTED: " + rec.Reason
	default:
		return types.SpecStateFailed, strings.ToUpper(string(rec.Verdict)) + ": " + rec.Reason
	}
}

// finish makes the summary of a finished run's report, prints it to
// cfg.Out and writes cfg's report files, each atomically.
func finish(cfg Config, report types.Report) (reports.Summary, error) {
	summary := reports.SummarizeReport(report)
	if cfg.RunID != "" {
		summary.RunID = cfg.RunID
	}
	summary.Host = reports.ThisHost(cfg.FixtureDir)
	summary.Host.Bounds = append([]string{fmt.Sprintf("embedded guests: %d MiB per linear memory (memory.grow fails past it)", wazero.DefaultMemoryLimit>>20)}, process.Bounds()...)
	summary.Host.HostFiles = reports.HostFilesAvailable
	if err := hostns.Supported(); err != nil {
		summary.Host.HostFiles = "inactive: " + err.Error()
	}
	out := cfg.Out
	if out == nil {
		out = os.Stdout
	}
	summary.Print(out)
	var errs []error
	write := func(path string, w func(string) error) {
		if path == "" {
			return
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			errs = append(errs, err)
			return
		}
		if err := w(path); err != nil {
			errs = append(errs, err)
		}
	}
	write(cfg.Summary, summary.WriteJSON)
	write(cfg.JUnit, func(p string) error { return reports.WriteJUnit(report, p, summary.RunID) })
	write(cfg.GinkgoJSON, func(p string) error { return reports.WriteGinkgoJSON(report, p) })
	return summary, errors.Join(errs...)
}
