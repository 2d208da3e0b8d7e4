package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/wasicert/wasicert/internal/buildinfo"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites/framework"

	// The compiled-in suite.
	"github.com/wasicert/wasicert/suites/capability"
)

// failT collects the suite's failure for RunSpecs outside `go test`.
type failT struct{ failed bool }

func (t *failT) Fail() { t.failed = true }

func cmdRun(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("run")
	var cfg framework.Config
	fs.StringVar(&cfg.Runtime, "runtime", "wazero", "runtime under test (wasicert runtimes lists them)")
	fs.StringVar(&cfg.JUnit, "junit", "", "write ginkgo's JUnit report to `FILE`; the summary JSON goes beside it as summary.json")
	fs.StringVar(&cfg.GinkgoJSON, "json", "", "write ginkgo's JSON report to `FILE`")
	fs.StringVar(&cfg.Summary, "summary", "", "write the summary JSON to `FILE` (default: beside the JUnit file)")
	fs.StringVar(&cfg.Results, "results", "", "append one JSON record per spec to `FILE` as specs end (survives an interrupt; records carry the run's run_id)")
	fs.StringVar(&cfg.Records, "records", "", "append one canonical result record per spec to `FILE` as specs end (wasicert compare reads them)")
	fs.BoolVar(&cfg.NoExpectations, "no-expectations", false, "report the runtime's known deviations as the failures they are")
	fs.StringVar(&cfg.ExpectationsFile, "expectations", "", "use this expectations `FILE` instead of the shipped one")
	fs.StringVar(&cfg.FixtureDir, "fixture-dir", "", "parent `DIR` of the per-spec fixtures (default: the system temp dir)")
	fs.DurationVar(&cfg.Timeout, "timeout", runners.DefaultTimeout, "timeout of one probe run")
	fs.StringVar(&cfg.LabelFilter, "label-filter", "", "run only specs whose labels match `EXPR` (ginkgo syntax, e.g. 'Area:preopen && Severity:escape')")
	fs.StringVar(&cfg.Focus, "focus", "", "run only specs whose ID or rule matches `REGEXP`")
	verbose := fs.Bool("v", false, "verbose: print each spec as it runs")
	runtimeConfigs := addRuntimeFlags(fs)
	if help, err := parse(fs, args, stdout); help || err != nil {
		return exitPass, err
	}
	// Everything the user typed is checked before anything is made on disk.
	if cfg.Timeout <= 0 {
		return exitUsage, usagef("run: --timeout must be positive, got %s", cfg.Timeout)
	}
	if err := checkFilters("run", cfg.LabelFilter, cfg.Focus); err != nil {
		return exitUsage, err
	}
	if err := runtimeConfigs.load(); err != nil {
		return exitUsage, err
	}
	if cfg.Summary == "" && cfg.JUnit != "" {
		cfg.Summary = filepath.Join(filepath.Dir(cfg.JUnit), "summary.json")
	}
	for _, p := range []string{cfg.JUnit, cfg.GinkgoJSON, cfg.Summary, cfg.Results, cfg.Records} {
		if err := reports.CheckWritable(p); err != nil {
			return exitUsage, usageError{err.Error()}
		}
	}
	if err := framework.CheckFixtureDir(cfg.FixtureDir); err != nil {
		return exitUsage, usagef("run: --fixture-dir: %v", err)
	}

	// From here on SIGINT and SIGTERM no longer kill the process: during the
	// specs ginkgo handles them (it cancels the running spec's context, skips
	// the rest and writes the reports); before and after, this run notices
	// them and ends with exit 130 after cleaning up.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	if err := verifyProbes(); err != nil {
		return exitUsage, usageError{err.Error()}
	}
	// The runtime is opened here, so that a set-up error is one line and
	// exit 2; the suite runs on it and it is closed after the suite.
	sess, err := framework.Open(cfg)
	if err != nil {
		if errors.Is(err, runners.ErrNotInstalled) {
			return exitUsage, usagef("runtime %s is not installed: %v", cfg.Runtime, err)
		}
		return exitUsage, usageError{err.Error()}
	}
	defer sess.Close()
	cfg.Runner = sess.Runner()
	cfg.Out = stdout
	cfg.RunID = framework.NewRunID()

	// The fixtures go into a directory of this run's own, removed after the
	// suite even if a spec was abandoned by ginkgo mid-run.
	runDir, err := os.MkdirTemp(cfg.FixtureDir, "wasicert-run-")
	if err != nil {
		return exitUsage, usagef("run: --fixture-dir: %v", err)
	}
	defer removeTree(runDir)
	cfg.FixtureDir = runDir

	select {
	case sig := <-sigs:
		return exitInterrupted, fmt.Errorf("run %s interrupted (%v) before any spec ran", cfg.RunID, sig)
	default:
	}

	capability.Declare(cfg)
	suiteCfg, reporterCfg := ginkgo.GinkgoConfiguration()
	suiteCfg.LabelFilter = cfg.LabelFilter
	if cfg.Focus != "" {
		suiteCfg.FocusStrings = []string{cfg.Focus}
	}
	suiteCfg.Timeout = 2 * time.Hour
	reporterCfg.Verbose = *verbose
	reporterCfg.Succinct = !*verbose
	t := &failT{}
	ginkgo.RunSpecs(t, "wasicert capability suite ("+cfg.Runtime+")", suiteCfg, reporterCfg)
	code := exitPass
	if t.failed {
		code = exitFail
	}
	if err := sess.Close(); err != nil {
		fmt.Fprintln(stderr, "wasicert: "+err.Error())
		code = exitFail
	}
	select {
	case <-sigs:
		return exitInterrupted, nil
	default:
	}
	return code, nil
}

// checkFilters checks a ginkgo label expression and a focus regexp, so that
// a bad one is one line and exit 2 (ginkgo itself would panic on the regexp).
func checkFilters(cmd, labelFilter, focus string) error {
	if _, err := types.ParseLabelFilter(labelFilter); err != nil {
		return usagef("%s: --label-filter %q: %s", cmd, labelFilter, oneLine(err))
	}
	if _, err := regexp.Compile(focus); err != nil {
		return usagef("%s: --focus %q is not a regular expression: %s (RE2 syntax: https://golang.org/s/re2syntax)", cmd, focus, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	return nil
}

// removeTree removes a run's fixture dir. Fixtures hold read-only
// directories, so each directory is made writable first (symlinks are
// never followed).
func removeTree(dir string) {
	_ = filepath.WalkDir(dir, func(p string, d iofs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}

// styleMarks are ginkgo's {{red}}-style formatting marks.
var styleMarks = regexp.MustCompile(`{{/?[a-z-]*}}`)

// oneLine renders a ginkgo error (multi-line, coloured) as one plain line.
func oneLine(err error) string {
	var ge types.GinkgoError
	if errors.As(err, &ge) {
		msg := strings.Join(strings.Fields(styleMarks.ReplaceAllString(ge.Message, "")), " ")
		return strings.TrimSpace(ge.Heading + ": " + msg)
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// verifyProbes checks every embedded probe module against its manifest
// before a run, so a corrupt build fails with one line, not 20 failed specs.
func verifyProbes() error {
	for _, name := range probes.Names() {
		if _, err := probes.Get(name); err != nil {
			return err
		}
	}
	return nil
}

func cmdList(args []string, stdout io.Writer) error {
	fs := newFlags("list")
	labelFilter := fs.String("label-filter", "", "list only specs whose labels match `EXPR`")
	focus := fs.String("focus", "", "list only specs whose ID or rule matches `REGEXP`")
	if help, err := parse(fs, args, stdout); help || err != nil {
		return err
	}
	if err := checkFilters("list", *labelFilter, *focus); err != nil {
		return err
	}
	specs, err := framework.Select(*labelFilter, *focus)
	if err != nil {
		return usageError{err.Error()}
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, s := range specs {
		if err := enc.Encode(s.Describe()); err != nil {
			return err
		}
	}
	return nil
}

// version is wasicert's version (internal/buildinfo.Version).
func version() string { return buildinfo.Version() }
