package wasitestsuite

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/runners"
)

// Outcome is a test's verdict, with upstream's names
// (test-runner/wasi_test_runner/test_case.py, Outcome).
type Outcome string

const (
	Pass Outcome = "pass"
	Fail Outcome = "fail"
	Skip Outcome = "skip"
	// XFail: failed, as the expectations said it would.
	XFail Outcome = "xfail"
	// XPass: passed where the expectations said it would fail (stale).
	XPass Outcome = "xpass"
)

// Failed says whether the outcome fails a run (fail, xpass).
func (o Outcome) Failed() bool { return o == Fail || o == XPass }

// Result is one test's outcome.
type Result struct {
	Suite   string  `json:"suite"`
	Test    string  `json:"test"`
	Outcome Outcome `json:"outcome"`
	// Reason says why the test failed or was skipped, in one line; for an
	// expected failure, why it failed.
	Reason string `json:"reason,omitempty"`
	// Expectation is the reason of the expectation applied, if any.
	Expectation string `json:"expectation,omitempty"`
	// Ended and ExitCode say how the run ended; empty when it did not run.
	Ended    runners.Ending `json:"ended,omitempty"`
	ExitCode int            `json:"exit_code"`
	Duration time.Duration  `json:"duration_ns"`
	Stdout   []byte         `json:"-"`
	Stderr   []byte         `json:"-"`
}

// Options say how to run a suite.
type Options struct {
	Runner runners.Runner
	// Jobs is how many tests run at once; zero or less means one.
	Jobs int
	// Timeout bounds each test's run; zero means runners.DefaultTimeout.
	Timeout time.Duration
	// Expectations are applied by suite (manifest) name and test name.
	Expectations Expectations
	// TempDir is where each test's private directories are made ("" is
	// the system temp dir); they are removed after the test.
	TempDir string
	// OnResult, when set, is called with each result as the test ends,
	// one call at a time.
	OnResult func(Result)

	// KeepDebug hands the runtime each module with its DWARF sections;
	// by default they are left out (stripDebug), as they change nothing
	// but the cost of a trap's stack trace.
	KeepDebug bool

	// noCanaries switches the canary checks off, for the tests that show a
	// hostile runtime defeats a run without them.
	noCanaries bool
}

// CanaryFile is the name of the file planted beside a test's directories,
// outside everything the test is granted.
const CanaryFile = "wasicert-canary"

// Run runs every test of s and returns their results in s.Tests' order.
// Tests are independent: each runs in its own copy of its directories, and
// a bad test fails alone.
func Run(ctx context.Context, s *Suite, o Options) []Result {
	jobs := max(o.Jobs, 1)
	results := make([]Result, len(s.Tests))
	modules := &moduleCache{m: map[string]*moduleEntry{}, strip: !o.KeepDebug, tempDir: o.TempDir}
	defer modules.close()
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, jobs)
	for i := range s.Tests {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			r := runTest(ctx, s, &s.Tests[i], o, modules)
			results[i] = r
			if o.OnResult != nil {
				mu.Lock()
				o.OnResult(r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return results
}

func runTest(ctx context.Context, s *Suite, t *Test, o Options, modules *moduleCache) Result {
	r := Result{Suite: s.Manifest.Name, Test: t.Name}
	x, expected := o.Expectations.Lookup(s.Manifest.Name, t.Name)
	if expected {
		r.Expectation = x.Reason
	}
	switch {
	case t.Skip != "":
		r.Outcome, r.Reason = Skip, t.Skip
		return r
	case expected && x.Skip:
		r.Outcome, r.Reason = Skip, "skipped by "+x.Reason
		return r
	case ctx.Err() != nil:
		r.Outcome, r.Reason = Skip, "not run: the run was interrupted"
		return r
	}
	start := time.Now()
	reason, secure := execute(ctx, s, t, o, modules, &r)
	r.Duration = time.Since(start)
	r.Outcome, r.Reason = Pass, oneLine(reason)
	if reason != "" {
		r.Outcome = Fail
	}
	// A canary seen is never an expected failure: no expectation file
	// can excuse an escape or a leak.
	if expected && x.Fail && secure {
		if r.Outcome == Pass {
			r.Outcome, r.Reason = XPass, "passed, but "+x.Reason+" expects it to fail"
		} else {
			r.Outcome = XFail
		}
	}
	return r
}

// execute runs one test and judges it: the failure's reason ("" for a
// pass), and whether no canary was seen.
func execute(ctx context.Context, s *Suite, t *Test, o Options, modules *moduleCache, r *Result) (reason string, secure bool) {
	if t.Err != nil {
		return t.Err.Error(), true
	}
	mod, err := modules.get(t.Module)
	if err != nil {
		return err.Error(), true
	}
	dir, err := os.MkdirTemp(o.TempDir, "wasicert-wts-")
	if err != nil {
		return "set-up: " + err.Error(), true
	}
	defer removeTree(dir)
	token := "wasicert-canary-" + rand.Text()
	if err := os.WriteFile(filepath.Join(dir, CanaryFile), []byte(token+"\n"), 0o644); err != nil {
		return "set-up: " + err.Error(), true
	}
	inv := runners.Invocation{
		Module:  mod,
		Args:    append([]string{t.Name + ".wasm"}, t.Spec.Args...),
		Env:     []string{},
		Timeout: o.Timeout,
		// The runner's own files go beside the copies, never granted.
		WorkDir: dir,
	}
	keys := make([]string, 0, len(t.Spec.Env))
	for k := range t.Spec.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		inv.Env = append(inv.Env, k+"="+t.Spec.Env[k])
	}
	// The root first (fd 3), then the older dirs, each a private copy.
	var copies []string
	grant := func(d, guest string) error {
		src, err := suiteSubdir(s.Dir, d)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, fmt.Sprintf("dir%d", len(copies)))
		if err := copyTree(src, dst); err != nil {
			return fmt.Errorf("copying %s: %w", d, err)
		}
		copies = append(copies, dst)
		inv.Preopens = append(inv.Preopens, runners.Preopen{GuestPath: guest, HostDir: dst})
		return nil
	}
	if t.Spec.Root != nil {
		if err := grant(*t.Spec.Root, "/"); err != nil {
			return "set-up: " + err.Error(), true
		}
	}
	for _, d := range t.Spec.Dirs {
		if err := grant(d, d); err != nil {
			return "set-up: " + err.Error(), true
		}
	}
	envName, envValue := fixtures.HostEnvCanary()
	if !o.noCanaries {
		inv.Canaries = []runners.Canary{{Name: "file", Value: token}, {Name: "env", Value: envValue}}
	}

	res, err := o.Runner.Run(ctx, inv)
	r.Ended, r.ExitCode, r.Stdout, r.Stderr = res.Ended, res.ExitCode, res.Stdout, res.Stderr
	if !o.noCanaries {
		for _, sg := range res.Sightings {
			what := "the host file " + CanaryFile + " beside its directories (an escape)"
			if sg.Canary == "env" {
				what = "the wasicert process's environment variable " + envName + " (a leak)"
			}
			return fmt.Sprintf("canary: %s shows %s", sg.Stream, what), false
		}
		if where := scanCopies(copies, token, envValue); where != "" {
			return "canary: " + where, false
		}
	}
	if err != nil {
		return "the runtime did not start: " + oneLine(err.Error()), true
	}
	return judge(t.Spec, res), true
}

// judge compares a run with its spec: a clean exit with the exit code,
// then stdout and stderr.
func judge(sp Spec, res runners.Result) string {
	want := 0
	if sp.ExitCode != nil {
		want = *sp.ExitCode
	}
	switch {
	case res.Ended == runners.EndedTimeout:
		return res.String()
	case res.Ended != runners.EndedExit:
		return res.String() + stderrTail(res.Stderr)
	case res.ExitCode != want:
		return fmt.Sprintf("exit code: expected %d, got %d%s", want, res.ExitCode, stderrTail(res.Stderr))
	}
	for _, st := range []struct {
		name string
		want *string
		got  []byte
	}{{"stdout", sp.Stdout, res.Stdout}, {"stderr", sp.Stderr, res.Stderr}} {
		if st.want == nil {
			continue
		}
		got := st.got[:min(len(st.got), len(*st.want))]
		if string(got) != *st.want {
			return fmt.Sprintf("%s: expected %s, got %s", st.name, quote(*st.want), quote(string(st.got)))
		}
	}
	return ""
}

func quote(s string) string {
	const max = 200
	if len(s) > max {
		return fmt.Sprintf("%q... (%d bytes)", s[:max], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// stderrTail is the telling part of a failed run's stderr, for its reason:
// a Rust panic's message (the "panicked at" line and the one after it),
// else the last line.
func stderrTail(stderr []byte) string {
	lines := strings.Split(strings.TrimSpace(string(stderr)), "\n")
	s := lines[len(lines)-1]
	for i, l := range lines {
		if strings.Contains(l, "panicked at") {
			s = l
			if i+1 < len(lines) {
				s += " " + lines[i+1]
			}
			break
		}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	const max = 200
	if len(s) > max {
		s = s[:max] + "..."
	}
	return " (stderr: " + s + ")"
}

// maxScan bounds how much of each file of the copies scanCopies reads.
const maxScan = 1 << 20

// scanCopies looks for the canaries in what the test left in its copies:
// a guest that copied the host file or the environment into a writable
// directory escaped or leaked even if it printed nothing.
func scanCopies(copies []string, canaries ...string) string {
	found := ""
	for _, c := range copies {
		_ = filepath.WalkDir(c, func(p string, d iofs.DirEntry, err error) error {
			if err != nil || found != "" || !d.Type().IsRegular() {
				return nil
			}
			info, err := d.Info()
			if err != nil || info.Size() == 0 {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				return nil
			}
			defer f.Close()
			buf := make([]byte, min(info.Size(), maxScan))
			n, _ := io.ReadFull(f, buf)
			for _, cn := range canaries {
				if bytes.Contains(buf[:n], []byte(cn)) {
					found = "the test's writable copy holds a host canary in " + filepath.Base(p)
				}
			}
			return nil
		})
	}
	return found
}

// moduleCache reads each module once per suite run.
type moduleCache struct {
	mu sync.Mutex
	m  map[string]*moduleEntry
	// strip: hand out modules without DWARF, written under dir (made on
	// first use in tempDir) for the runtimes that read a file.
	strip   bool
	tempDir string
	dir     string
}

func (c *moduleCache) close() {
	if c.dir != "" {
		removeTree(c.dir)
	}
}

// stripped writes a stripped module to the cache's directory.
func (c *moduleCache) stripped(path string, b []byte) (string, error) {
	c.mu.Lock()
	if c.dir == "" {
		d, err := os.MkdirTemp(c.tempDir, "wasicert-wts-modules-")
		if err != nil {
			c.mu.Unlock()
			return "", err
		}
		c.dir = d
	}
	dir := c.dir
	c.mu.Unlock()
	sum := sha256.Sum256([]byte(path))
	p := filepath.Join(dir, hex.EncodeToString(sum[:8])+"-"+filepath.Base(path))
	return p, os.WriteFile(p, b, 0o644)
}

type moduleEntry struct {
	once sync.Once
	mod  runners.Module
	err  error
}

func (c *moduleCache) get(path string) (runners.Module, error) {
	c.mu.Lock()
	e, ok := c.m[path]
	if !ok {
		e = &moduleEntry{}
		c.m[path] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		b, err := os.ReadFile(path)
		if err != nil {
			e.err = fmt.Errorf("module %s: %w", filepath.Base(path), unwrapPath(err))
			return
		}
		file := path
		if c.strip {
			var ok bool
			if b, ok = stripDebug(b); ok {
				if file, err = c.stripped(path, b); err != nil {
					e.err = fmt.Errorf("module %s: %w", filepath.Base(path), err)
					return
				}
			}
		}
		sum := sha256.Sum256(b)
		e.mod = runners.Module{Name: strings.TrimSuffix(filepath.Base(path), ".wasm"), Path: file, Bytes: b, Digest: hex.EncodeToString(sum[:])}
	})
	return e.mod, e.err
}
