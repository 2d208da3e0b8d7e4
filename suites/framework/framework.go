// Package framework runs wasicert's catalogue with a Config: in-process
// (RunCatalogue, a plain function), or bound to ginkgo (DeclareSuite), the
// way critest's framework package binds its validation specs. The binding
// turns each catalogue spec into a ginkgo It with its labels, maps
// verdicts onto ginkgo outcomes, and writes the summary and reports after
// the suite. No run state lives in the package: each run's Config, opened
// runtime and results stream belong to that run.
//
// Verdict to ginkgo: pass passes; skipped and expected-failure are ginkgo
// skips whose message says which (the JUnit convention pytest uses for
// xfail), with the verdict also attached as the JUnit property
// wasicert.verdict; every other verdict fails the spec.
package framework

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

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

// DeclareSuite declares the suite in ginkgo's tree for cfg: the set-up,
// one ginkgo spec per catalogue spec in areas (all areas when none are
// given), the clean-up and the reports. Every node captures cfg; nothing
// is read from package state. Call it once per process, at the top level
// before RunSpecs (a suite's TestMain, or wasicert run): ginkgo runs one
// suite per process.
//
// The set-up: process 1 checks the fixture dir (one clear line, before any
// spec runs) and makes the run ID unless cfg has one; every parallel
// process receives that ID, then opens the results stream for appending
// and the runtime (Open). After the suite each process closes its own.
// Process 1 writes the summary and the report files.
func DeclareSuite(cfg Config, areas ...suites.Area) {
	s := &suite{cfg: cfg}
	SynchronizedBeforeSuite(s.setUpFirst, s.setUp)
	SynchronizedAfterSuite(s.tearDown, func() {})
	// The node takes a SpecContext so that ginkgo, when interrupted while
	// it runs, waits for it (up to the grace period) instead of exiting
	// under a half-written report.
	ReportAfterSuite("wasicert reports", func(_ SpecContext, report types.Report) {
		if _, err := finish(s.cfg, report); err != nil {
			Fail(oneLine(err))
		}
	})
	Describe(catalogueText, func() {
		for _, spec := range catalogue.All() {
			if len(areas) > 0 && !slices.Contains(areas, spec.Area) {
				continue
			}
			It(specText(spec), Label(spec.Labels()...), func(ctx SpecContext) {
				s.run(ctx, spec)
			}, SpecTimeout(cfg.timeout()+30*time.Second))
		}
	})
}

// suite is one ginkgo process's part of a run.
type suite struct {
	cfg    Config
	sess   *Session
	stream *reports.Stream
}

func (s *suite) setUpFirst() []byte {
	if err := CheckFixtureDir(s.cfg.FixtureDir); err != nil {
		Fail("wasicert: -wasicert.fixture-dir (WASICERT_FIXTURE_DIR): " + err.Error())
	}
	if s.cfg.Timeout < 0 {
		Fail(fmt.Sprintf("wasicert: -wasicert.timeout must be positive, got %s", s.cfg.Timeout))
	}
	id := s.cfg.RunID
	if id == "" {
		id = NewRunID()
	}
	return []byte(id)
}

func (s *suite) setUp(id []byte) {
	s.cfg.RunID = string(id)
	AddReportEntry(reports.PropertyRunID, s.cfg.RunID, ReportEntryVisibilityNever)
	if s.cfg.Results != "" {
		st, err := reports.OpenStream(s.cfg.Results)
		if err != nil {
			Fail("wasicert: results stream: " + err.Error())
		}
		s.stream = st
	}
	sess, err := Open(s.cfg)
	if err != nil {
		Fail("wasicert: set-up: " + err.Error())
	}
	s.sess = sess
}

func (s *suite) tearDown() {
	if s.stream != nil {
		_ = s.stream.Close()
		s.stream = nil
	}
	if s.sess != nil {
		if err := s.sess.Close(); err != nil {
			Fail(err.Error())
		}
	}
}

// run executes spec on the runtime under test and concludes the ginkgo spec.
//
// ctx is the spec's SpecContext, which ginkgo cancels on the first Ctrl-C
// or SIGTERM (and at the spec timeout): the harness stops the runtime and
// gives the verdict interrupted (Session.Execute).
func (s *suite) run(ctx SpecContext, spec suites.Spec) {
	if s.sess == nil {
		Fail("set-up: the runtime was not opened (see the suite set-up)")
	}
	rec := s.sess.Execute(ctx, spec)
	if s.stream != nil {
		_ = s.stream.Append(rec)
	}
	conclude(rec)
}

// oneLine joins a multi-line error (errors.Join) into one line.
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
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

// conclude attaches rec to the running spec and ends it accordingly.
func conclude(rec verdicts.Record) {
	for _, e := range recordEntries(rec) {
		AddReportEntry(e.name, e.value, e.visibility)
	}
	switch state, msg := outcome(rec); state {
	case types.SpecStatePassed:
	case types.SpecStateSkipped:
		Skip(msg)
	default:
		Fail(msg)
	}
}
