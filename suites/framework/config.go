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
	"time"

	"github.com/wasicert/wasicert/internal/buildinfo"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/records"
	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// Config is one run's configuration, passed down as a value: nothing about
// a run lives in package state, so one process can run the catalogue any
// number of times with different configurations (RunCatalogue), and the
// ginkgo binding (DeclareSuite) captures the Config it is given.
//
// `ginkgo run` and `go test` build it from -wasicert.* flags and WASICERT_*
// variables (RegisterFlags); `wasicert run` from its own flags.
type Config struct {
	// Runtime is the registry name of the runtime under test (runners.Open).
	Runtime string
	// Runner, when set, is used instead of opening Runtime. The caller
	// keeps it and closes it; tests pass weakened runners this way.
	Runner runners.Runner
	// NoExpectations reports known deviations as the failures they are.
	NoExpectations bool
	// ExpectationsFile replaces the shipped expectations with a user's file.
	// Without either, the shipped expectations of the runtime apply.
	ExpectationsFile string
	// FixtureDir is the parent of each spec's fixture; "" is os.TempDir().
	FixtureDir string
	// Timeout bounds one run of a probe; zero is runners.DefaultTimeout.
	Timeout time.Duration
	// LabelFilter (ginkgo's label syntax, e.g. "Area:env && Severity:leak")
	// and Focus (a regexp over "ID: rule") select the specs RunCatalogue
	// runs; "" selects all. `wasicert run` hands them to ginkgo; under
	// `ginkgo run` ginkgo's own --label-filter and --focus select instead.
	LabelFilter, Focus string
	// JUnit, GinkgoJSON and Summary are report paths, written atomically
	// after the run; Results is the results stream, appended one record per
	// spec as specs end. "" writes none. (`ginkgo run` has its own
	// --junit-report and --json-report too.)
	JUnit, GinkgoJSON, Summary, Results string
	// Records is the canonical records stream (package records), appended
	// one record per spec as specs end; "" writes none.
	Records string
	// Out receives the printed summary; nil is os.Stdout.
	Out io.Writer
	// RunID names the run in every record, the summary and the JUnit
	// report. "" makes a fresh one (NewRunID) when the run starts; under
	// ginkgo, process 1 makes it and every parallel process receives it.
	RunID string
}

// RegisterFlags defines the -wasicert.* flags on fs, each defaulting to its
// WASICERT_* variable, and returns the Config they fill when fs is parsed.
// A suite's test binary registers them on flag.CommandLine in TestMain,
// so that `ginkgo run ./suites/capability -- -wasicert.runtime=wasmtime`
// and `go test ./suites/capability -args -wasicert.runtime=wasmtime` work.
func RegisterFlags(fs *flag.FlagSet) *Config {
	c := &Config{}
	fs.StringVar(&c.Runtime, "wasicert.runtime", envOr("WASICERT_RUNTIME", "wazero"), "runtime under test (WASICERT_RUNTIME)")
	fs.BoolVar(&c.NoExpectations, "wasicert.no-expectations", os.Getenv("WASICERT_NO_EXPECTATIONS") != "", "report known deviations as failures")
	fs.StringVar(&c.ExpectationsFile, "wasicert.expectations", os.Getenv("WASICERT_EXPECTATIONS"), "expectations file replacing the shipped one")
	fs.StringVar(&c.FixtureDir, "wasicert.fixture-dir", os.Getenv("WASICERT_FIXTURE_DIR"), "parent directory for fixtures")
	fs.DurationVar(&c.Timeout, "wasicert.timeout", runners.DefaultTimeout, "timeout of one probe run")
	fs.StringVar(&c.Summary, "wasicert.summary", os.Getenv("WASICERT_SUMMARY"), "write the summary JSON here")
	fs.StringVar(&c.Results, "wasicert.results", os.Getenv("WASICERT_RESULTS"), "stream one JSON record per spec here")
	fs.StringVar(&c.Records, "wasicert.records", os.Getenv("WASICERT_RECORDS"), "stream one canonical record per spec here (wasicert compare reads them)")
	return c
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// timeout is the effective per-run timeout.
func (c Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return runners.DefaultTimeout
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

// Session is a Config made ready to run specs: its runtime opened and the
// expectations for that runtime loaded. Each run, and under ginkgo each
// parallel process, has a session of its own.
type Session struct {
	cfg      Config
	runner   runners.Runner
	expected map[string]verdicts.Expectation
	// owned says the session opened runner, so Close closes it.
	owned bool
	// records is the canonical records stream, nil when cfg.Records is "";
	// env is what every record says about where it was measured.
	records *reports.Stream
	env     records.Env
}

// Open opens cfg's runtime (unless cfg.Runner is set) and loads its
// expectations: the shipped ones, cfg.ExpectationsFile's, or none. Its
// error is one line; a runtime that is not installed wraps
// runners.ErrNotInstalled. Close the session when done.
func Open(cfg Config) (*Session, error) {
	s := &Session{cfg: cfg, runner: cfg.Runner}
	if s.runner == nil {
		if cfg.Runtime == "" {
			return nil, errors.New("no runtime: set Config.Runtime (wasicert runtimes lists them) or Config.Runner")
		}
		r, err := runners.Open(cfg.Runtime)
		if err != nil {
			return nil, err
		}
		s.runner, s.owned = r, true
	}
	var err error
	switch {
	case cfg.NoExpectations:
	case cfg.ExpectationsFile != "":
		s.expected, err = catalogue.LoadExpectations(cfg.ExpectationsFile, s.runner.Name())
	default:
		s.expected, err = catalogue.Expectations(s.runner.Name())
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	if cfg.Records != "" {
		s.env = records.ThisEnv(s.runner.Name(), s.runner.Version(), buildinfo.Version(), probes.SetDigest())
		if s.records, err = reports.OpenStream(cfg.Records); err != nil {
			s.Close()
			return nil, fmt.Errorf("records stream: %w", err)
		}
	}
	return s, nil
}

// Runner is the runtime under test.
func (s *Session) Runner() runners.Runner { return s.runner }

// Execute runs spec on the session's runtime and returns its record, with
// the session's expectations applied and its run ID in it. A set-up error
// is the verdict fail. When ctx was cancelled by an interrupt (anything
// but a timeout) the record is interrupted unless it holds worse evidence
// (see markInterrupted).
func (s *Session) Execute(ctx context.Context, spec suites.Spec) verdicts.Record {
	rec, err := suites.Execute(ctx, spec, suites.Options{
		Runner: s.runner, Expectations: s.expected, FixtureDir: s.cfg.FixtureDir,
		Timeout: s.cfg.timeout(), RunID: s.cfg.RunID,
	})
	if err != nil {
		rec.Verdict, rec.Actual, rec.Reason = verdicts.Fail, verdicts.Fail, "set-up: "+err.Error()
	}
	if cause, ok := interruptedBy(ctx); ok {
		markInterrupted(&rec, cause)
	}
	if s.records != nil {
		// A write error must not cost the verdict; the stream's next
		// reader sees the record missing.
		_ = s.records.AppendJSON(records.Make(rec, spec.Racy, s.env))
	}
	return rec
}

// Close closes the runtime if the session opened it and it holds resources
// (a containerd runner's images, its state dir: an io.Closer).
func (s *Session) Close() error {
	if s.records != nil {
		_ = s.records.Close()
		s.records = nil
	}
	if !s.owned {
		return nil
	}
	s.owned = false
	if c, ok := s.runner.(io.Closer); ok {
		if err := c.Close(); err != nil {
			return fmt.Errorf("closing runtime %s: %w", s.runner.Name(), err)
		}
	}
	return nil
}
