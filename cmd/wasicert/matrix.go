package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites/catalogue"
)

// cmdMatrix runs the suites once per installed runtime, each in a wasicert
// process of its own (a runtime that crashes the harness takes only its own
// column down), and writes the side-by-side table.
func cmdMatrix(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("matrix")
	out := fs.String("out", "out/matrix", "write matrix.md, matrix.json and one directory of reports per runtime under `DIR`")
	only := fs.String("runtimes", "", "comma-separated runtimes (default: every installed runtime)")
	labelFilter := fs.String("label-filter", "", "run only specs whose labels match `EXPR`")
	timeout := fs.Duration("timeout", runners.DefaultTimeout, "timeout of one probe run")
	runtimeConfigs := addRuntimeFlags(fs)
	if help, err := parse(fs, args, stdout); help || err != nil {
		return exitPass, err
	}
	if err := checkFilters("matrix", *labelFilter, ""); err != nil {
		return exitUsage, err
	}
	if err := runtimeConfigs.load(); err != nil {
		return exitUsage, err
	}
	if err := reports.CheckWritable(filepath.Join(*out, "matrix.md")); err != nil {
		return exitUsage, usageError{err.Error()}
	}
	names := runners.Names()
	if *only != "" {
		names = strings.Split(*only, ",")
		for _, n := range names {
			if _, err := runners.Open(n); errors.Is(err, runners.ErrUnknownRuntime) {
				return exitUsage, usageError{err.Error()}
			}
		}
	}
	self, err := os.Executable()
	if err != nil {
		return exitUsage, err
	}
	// An interrupt goes on to the running child (a SIGTERM sent to this
	// process alone would not reach it); the matrix then stops after that
	// child has written its reports, and says how far it got.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	interrupted := false
	m := reports.NewMatrix(catalogue.IDs(catalogue.All()))
	m.Host = reports.ThisHost("")
	code := exitPass
	start := time.Now()
	for _, name := range names {
		if interrupted {
			m.AddRuntime(name, "not run: the matrix was interrupted", nil)
			continue
		}
		line, _ := probeRuntime(name)
		if line.Status != "installed" {
			m.AddRuntime(name, line.Reason, nil)
			fmt.Fprintf(stderr, "matrix: %-20s %s\n", name, line.Reason)
			if *only != "" {
				code = exitFail // the user asked for this runtime by name
			}
			continue
		}
		dir := filepath.Join(*out, safeName(name))
		runArgs := []string{"run", "--runtime", name, "--junit", filepath.Join(dir, "junit.xml"),
			"--results", filepath.Join(dir, "results.jsonl"), "--records", filepath.Join(dir, "records.jsonl"),
			"--timeout", timeout.String()}
		if *labelFilter != "" {
			runArgs = append(runArgs, "--label-filter", *labelFilter)
		}
		runArgs = append(runArgs, runtimeConfigs.args()...)
		t0 := time.Now()
		var log bytes.Buffer
		cmd := exec.Command(self, runArgs...)
		cmd.Stdout, cmd.Stderr = &log, &log
		// Its own process group: a terminal's Ctrl-C reaches the child once,
		// through this process, not twice (a second interrupt skips clean-up).
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		// The results file is appended to by every run: start this one afresh.
		_ = os.Remove(filepath.Join(dir, "results.jsonl"))
		_ = os.Remove(filepath.Join(dir, "records.jsonl"))
		runErr := cmd.Start()
		if runErr == nil {
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
		wait:
			for {
				select {
				case runErr = <-done:
					break wait
				case sig := <-sigs:
					interrupted = true
					_ = cmd.Process.Signal(sig)
				}
			}
		}
		_ = os.MkdirAll(dir, 0o755)
		_ = reports.WriteFileAtomic(filepath.Join(dir, "output.log"), log.Bytes())
		records, _ := reports.ReadStream(filepath.Join(dir, "results.jsonl"))
		status := "ran"
		if ee, ok := runErr.(*exec.ExitError); ok && ee.ExitCode() != exitFail {
			status = fmt.Sprintf("run ended with exit %d: see %s", ee.ExitCode(), filepath.Join(dir, "output.log"))
		}
		if runErr != nil {
			code = exitFail
		}
		m.AddRuntime(name, status, records)
		fmt.Fprintf(stderr, "matrix: %-20s %d specs in %s (%s)\n", name, len(records), time.Since(t0).Round(time.Millisecond), runResult(runErr))
	}
	if err := m.WriteFiles(filepath.Join(*out, "matrix.md"), filepath.Join(*out, "matrix.json")); err != nil {
		return exitUsage, err
	}
	if err := m.WriteMarkdown(stdout); err != nil {
		return exitUsage, err
	}
	fmt.Fprintf(stderr, "matrix: %d runtimes in %s; wrote %s\n", len(names), time.Since(start).Round(time.Millisecond), filepath.Join(*out, "matrix.md"))
	if interrupted {
		return exitInterrupted, errors.New("matrix interrupted: the runtimes after the interrupted one were not run")
	}
	return code, nil
}

func runResult(err error) string {
	if err == nil {
		return "green"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == exitFail {
		return "failures beyond its expectations"
	}
	return err.Error()
}

// safeName makes a runtime name usable as a directory name.
func safeName(name string) string {
	return strings.NewReplacer("/", "_", ":", "_", " ", "_").Replace(name)
}
