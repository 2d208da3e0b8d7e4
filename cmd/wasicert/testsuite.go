package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/wasicert/wasicert/internal/wasitestsuite"
	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/runners"
)

// cmdTestsuite runs directories in the WebAssembly wasi-testsuite format:
//
//	wasicert wasi-testsuite DIR... --runtime NAME [--jobs N] [--junit F] [--json F] [--expectations F]
//
// Flags and directories may come in any order.
func cmdTestsuite(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("wasi-testsuite")
	rt := fs.String("runtime", "wazero", "runtime under test (wasicert runtimes lists them)")
	jobs := fs.Int("jobs", runtime.NumCPU(), "run `N` tests at once")
	junit := fs.String("junit", "", "write a JUnit report to `FILE`")
	jsonOut := fs.String("json", "", "write a JSON report to `FILE`")
	expFile := fs.String("expectations", "", "apply this expectation `FILE`: wasi-testsuite's TOML (.toml) or wasicert's YAML (.yaml)")
	timeout := fs.Duration("timeout", runners.DefaultTimeout, "timeout of one test")
	tempDir := fs.String("fixture-dir", "", "parent `DIR` of each test's private copy of its directories (default: the system temp dir)")
	keepDebug := fs.Bool("keep-debug", false, "hand the runtime each module with its DWARF (.debug_*) sections; by default they are left out, which changes nothing but the cost of a trap's stack trace")
	verbose := fs.Bool("v", false, "print every test's outcome, not only the failures")
	runtimeConfigs := addRuntimeFlags(fs)
	// Go's flag package stops at the first directory: parse what follows
	// each one too.
	var dirs []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stdout)
				fs.PrintDefaults()
				return exitPass, nil
			}
			return exitUsage, usagef("wasi-testsuite: %v (wasicert wasi-testsuite -h lists the flags)", err)
		}
		if fs.NArg() == 0 {
			break
		}
		dirs = append(dirs, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(dirs) == 0 {
		return exitUsage, usagef("wasi-testsuite: give at least one suite directory (one holding a manifest.json)")
	}
	if *jobs < 1 {
		return exitUsage, usagef("wasi-testsuite: --jobs must be at least 1, got %d", *jobs)
	}
	if *timeout <= 0 {
		return exitUsage, usagef("wasi-testsuite: --timeout must be positive, got %s", *timeout)
	}
	if err := runtimeConfigs.load(); err != nil {
		return exitUsage, err
	}
	for _, p := range []string{*junit, *jsonOut} {
		if err := reports.CheckWritable(p); err != nil {
			return exitUsage, usageError{err.Error()}
		}
	}
	suites := make([]*wasitestsuite.Suite, 0, len(dirs))
	for _, d := range dirs {
		s, err := wasitestsuite.Load(d)
		if err != nil {
			return exitUsage, usagef("wasi-testsuite: %v", err)
		}
		suites = append(suites, s)
	}
	r, err := runners.Open(*rt)
	if err != nil {
		if errors.Is(err, runners.ErrNotInstalled) {
			return exitUsage, usagef("runtime %s is not installed: %v", *rt, err)
		}
		return exitUsage, usageError{err.Error()}
	}
	if c, ok := r.(io.Closer); ok {
		defer c.Close()
	}
	var exps wasitestsuite.Expectations
	if *expFile != "" {
		if exps, err = wasitestsuite.LoadExpectations(*expFile, r.Name()); err != nil {
			return exitUsage, usageError{err.Error()}
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := exitPass
	var all []wasitestsuite.SuiteReport
	for _, s := range suites {
		start := time.Now()
		results := wasitestsuite.Run(ctx, s, wasitestsuite.Options{
			Runner: r, Jobs: *jobs, Timeout: *timeout, Expectations: exps, TempDir: *tempDir, KeepDebug: *keepDebug,
			OnResult: func(res wasitestsuite.Result) {
				if *verbose || res.Outcome.Failed() {
					line := fmt.Sprintf("%-5s %s/%s", res.Outcome, res.Suite, res.Test)
					if res.Reason != "" {
						line += ": " + res.Reason
					}
					fmt.Fprintln(stdout, line)
				}
			},
		})
		rep := wasitestsuite.NewSuiteReport(s, r.Name(), r.Version(), start, time.Since(start), results)
		fmt.Fprintln(stdout, rep.Line())
		if rep.Failed() {
			code = exitFail
		}
		all = append(all, rep)
	}
	if *junit != "" {
		if err := wasitestsuite.WriteJUnit(*junit, all); err != nil {
			return exitFail, err
		}
	}
	if *jsonOut != "" {
		if err := wasitestsuite.WriteJSON(*jsonOut, all); err != nil {
			return exitFail, err
		}
	}
	if ctx.Err() != nil {
		return exitInterrupted, errors.New("wasi-testsuite: interrupted; tests not run are reported as skipped")
	}
	return code, nil
}
