package suites

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"
	"strings"
	"time"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/verdicts"
)

// Options configures one Execute.
type Options struct {
	Runner runners.Runner
	// Expectations are the runner's known deviations by spec ID; nil applies none.
	Expectations map[string]verdicts.Expectation
	// FixtureDir is the parent of each spec's fixture dir; "" means os.TempDir().
	FixtureDir string
	// Timeout bounds one run; zero means runners.DefaultTimeout.
	Timeout time.Duration
	// RunID is copied into every record (verdicts.Record.RunID).
	RunID string
}

// Evidence is everything the host knows after one run.
type Evidence struct {
	Spec       *Spec
	Plan       Plan
	Fixture    *fixtures.Fixture
	Invocation runners.Invocation
	Result     runners.Result
	// StartErr is the runner's error when the runtime did not start the
	// probe (a link error, a module it refused). The guest or the runtime
	// may have acted before it, so the canaries are still judged.
	StartErr error
	// Interrupted says the caller's context ended during the run.
	Interrupted bool
	// Lines are the probe's records, as it printed them (the guest's word).
	Lines []probes.Line
	// Junk are stdout lines that are not probe records.
	Junk []string
	// Implicit and Injected are what the runner's platform grants by design
	// (runners.Platform): preopens before the Invocation's, and env entries.
	Implicit, Injected []string
	// Host is what the host saw, whatever the guest printed: canaries in
	// the output and the writable dirs, and changes outside the sandbox.
	Host fixtures.Findings
}

// Line returns the first record printed for check.
func (ev *Evidence) Line(check string) (probes.Line, bool) {
	for _, r := range ev.Lines {
		if r.Check == check {
			return r, true
		}
	}
	return probes.Line{}, false
}

// LinesFor returns every record printed for check, in order.
func (ev *Evidence) LinesFor(check string) []probes.Line {
	var out []probes.Line
	for _, r := range ev.Lines {
		if r.Check == check {
			out = append(out, r)
		}
	}
	return out
}

// Argv0 is the program name every plan gives its probe: a plain name, never
// a host path, so that a host path the guest sees came from the runtime.
const Argv0 = "wasicert-probe"

// Execute runs spec on o.Runner and judges it. It returns an error only when
// the harness itself could not run the spec (fixture, probe module, a host
// listener); everything the runtime did, a failure to start included, is in
// the Record, judged from the host's evidence first (see judge).
func Execute(ctx context.Context, spec Spec, o Options) (verdicts.Record, error) {
	rec := verdicts.Record{
		Spec: spec.ID, Area: string(spec.Area), Severity: string(spec.Severity), Level: string(spec.Level),
		Runtime: o.Runner.Name(), Version: o.Runner.Version(), RunID: o.RunID,
	}
	features := o.Runner.Features()
	if spec.OS != "" && spec.OS != goruntime.GOOS {
		rec.Verdict, rec.Actual = verdicts.Skipped, verdicts.Skipped
		rec.Reason = fmt.Sprintf("runs on a %s host only (this host is %s)", spec.OS, goruntime.GOOS)
		return rec, nil
	}
	for _, f := range spec.Requires {
		if !features.Has(f) {
			rec.Verdict, rec.Actual = verdicts.Skipped, verdicts.Skipped
			rec.Reason = fmt.Sprintf("runtime %s does not claim feature %q", o.Runner.Name(), f)
			return rec, nil
		}
	}

	layout := fixtures.Standard
	layout.Tree = append(slices.Clone(layout.Tree), spec.Fixture...)
	fx, err := fixtures.New(o.FixtureDir, layout)
	if err != nil {
		return rec, fmt.Errorf("fixture for %s: %w", spec.ID, err)
	}
	defer fx.Remove()

	plan := spec.Plan(fx, features)
	if why := emulationSkip(plan); why != "" {
		rec.Verdict, rec.Actual = verdicts.Skipped, verdicts.Skipped
		rec.Reason = why
		return rec, nil
	}
	mod, err := probes.Get(plan.Probe)
	if err != nil {
		return rec, err
	}
	args := plan.Args
	if args == nil {
		args = argv(plan.Steps)
	}
	inv := runners.Invocation{
		Module:   mod,
		Args:     append([]string{Argv0}, args...),
		Env:      plan.Env,
		Preopens: plan.Preopens,
		Timeout:  o.Timeout,
		WorkDir:  fx.Path("work"),
		Scratch:  fx.Path("work"),
	}
	for _, c := range fx.Canaries() {
		inv.Canaries = append(inv.Canaries, runners.Canary{Name: c.Name, Value: c.Value})
	}
	for _, hf := range fx.HostFiles() {
		inv.HostFiles = append(inv.HostFiles, runners.HostFile{Path: hf.Path, StandIn: hf.StandIn})
	}
	if inv.Env == nil {
		inv.Env = []string{}
	}

	ev := &Evidence{Spec: &spec, Plan: plan, Fixture: fx, Invocation: inv}
	if p, ok := o.Runner.(runners.Platform); ok {
		ev.Implicit, ev.Injected = p.ImplicitPreopens(), p.InjectedEnv()
	}
	// The actors ready themselves and wrap the run; Execute knows none of
	// them (a listener and its client, a signal).
	st := &Stage{Runner: o.Runner, Fixture: fx, Invocation: &inv}
	run := RunFunc(o.Runner.Run)
	for _, a := range plan.Actors {
		if run, err = a.Act(st, run); err != nil {
			if errors.Is(err, ErrSkip) {
				rec.Verdict, rec.Actual = verdicts.Skipped, verdicts.Skipped
				rec.Reason = err.Error()
				return rec, nil
			}
			return rec, fmt.Errorf("%s: %w", spec.ID, err)
		}
	}
	ev.Invocation = inv
	res, err := run(ctx, inv)
	// Whatever happened, the host looks: a runtime that escapes and then
	// fails to start, crashes, hangs or is interrupted is still caught.
	ev.Result, ev.StartErr, ev.Interrupted = res, err, ctx.Err() != nil
	ev.Injected = slices.Concat(ev.Injected, res.InjectedEnv)
	ev.Lines, ev.Junk = probes.ParseLines(res.Stdout)
	ev.Host = fx.Check(append([][]byte{res.Stdout, res.Stderr}, st.ExtraOutputs...)...)

	j := judge(ev)
	rec.Actual, rec.Reason, rec.Notes, rec.Causes = j.Verdict, j.Reason, j.Notes, j.Causes
	rec.Verdict = rec.Actual
	rec.Ended, rec.ExitCode, rec.Duration = string(res.Ended), res.ExitCode, res.Duration
	if err != nil {
		rec.Ended = "start-error"
	}
	rec.Checks = checksActive(ev)
	for _, r := range ev.Lines {
		call := verdicts.Call{Check: r.Check, Op: r.Op, Call: r.Call, Outcome: r.Outcome, Errno: r.Errno, Data: probes.Truncate(r.Data, 256)}
		for _, c := range r.Calls {
			call.Calls = append(call.Calls, c.Call+"="+c.Errno)
		}
		rec.Calls = append(rec.Calls, call)
	}
	applyExpectation(&rec, o.Expectations)
	return rec, nil
}

// The host-side checks a record can name in verdicts.Record.Checks.
const (
	// CheckOutputCanaries: every byte of stdout and stderr was scanned for
	// the canaries (capture.Output.Watch), not only the kept head.
	CheckOutputCanaries = "output-canaries"
	// CheckWritableScan: the sandbox, work and scratch dirs were scanned
	// for the canaries after the run.
	CheckWritableScan = "writable-scan"
	// CheckSnapshot: everything outside the writable dirs was compared
	// with its snapshot (content, type, mode, size, mtime, inode, links, owner).
	CheckSnapshot = "snapshot"
	// CheckHostFiles: the run saw token-bearing stand-ins of host files
	// (root only; internal/hostns).
	CheckHostFiles = "host-files"
)

// checksActive lists the host-side checks that ran for ev.
func checksActive(ev *Evidence) []string {
	checks := []string{CheckWritableScan, CheckSnapshot}
	r := ev.Result
	if r.StdoutBytes+r.StderrBytes >= int64(len(r.Stdout)+len(r.Stderr)) && (r.StdoutBytes+r.StderrBytes > 0 || len(ev.Invocation.Canaries) > 0) {
		checks = append([]string{CheckOutputCanaries}, checks...)
	}
	if r.HostFilesMasked {
		checks = append(checks, CheckHostFiles)
	}
	return checks
}

// judge decides from everything the host knows. Evidence comes first: an
// escape or a leak (a step that reached what it must not, a canary in the
// output or in a file the run wrote, a change outside the sandbox)
// outranks how the run ended, so a runtime cannot hide an escape behind a
// crash, a hang, a start error or an interrupt; the ending is kept as a
// note. A run that did not end normally has incomplete records, so only
// the violations in them count, not what is missing. On a tie the first
// reason stands: a step that names the escaping call is preferred to the
// canary that confirms it. See verdicts.Rank for the order.
func judge(ev *Evidence) Judgement {
	ending := judgeEnding(ev)
	// A wrong exit status still leaves every record printed.
	complete := ending.Verdict == verdicts.Pass || ending.Verdict == verdicts.Fail
	j := Judgement{Verdict: verdicts.Pass}
	keep := func(k Judgement) {
		if complete || k.Verdict == verdicts.Escape || k.Verdict == verdicts.Leak {
			j = Worse(j, k)
		}
	}
	for _, st := range ev.Plan.Steps {
		keep(judgeStep(ev, st))
	}
	if ev.Spec.Judge != nil {
		k := ev.Spec.Judge(ev)
		if k.Verdict != verdicts.Pass && len(k.Causes) == 0 {
			k.Causes = []string{judgeCause(ev.Plan)}
		}
		keep(k)
	}
	j = Worse(j, judgeHost(ev))
	if u := judgeUnscanned(ev); u.Verdict != verdicts.Pass {
		// Kept as a cause whatever outranks it: what the host could not
		// read may be a second escape behind a known one.
		j = Worse(j, u)
		for _, c := range u.Causes {
			if !slices.Contains(j.Causes, c) {
				j.Causes = append(j.Causes, c)
			}
		}
	}
	if ending.Verdict != verdicts.Pass {
		if verdicts.Worse(ending.Verdict, j.Verdict) {
			j = Worse(j, ending)
		} else {
			j.Notes = append(j.Notes, "the run also ended badly: "+ending.Reason)
		}
	}
	if len(ev.Junk) > 0 {
		j.Notes = append(j.Notes, fmt.Sprintf("stdout holds %d line(s) that are not probe records, first: %q", len(ev.Junk), ev.Junk[0]))
	}
	if r := ev.Result; r.Truncated {
		j.Notes = append(j.Notes, fmt.Sprintf("output cut: %d of %d stdout bytes and %d of %d stderr bytes kept; every byte written was scanned for canaries",
			len(r.Stdout), r.StdoutBytes, len(r.Stderr), r.StderrBytes))
	}
	for _, u := range ev.Host.Unscanned {
		j.Notes = append(j.Notes, "not scanned for canaries: "+probes.Truncate(u, 300))
	}
	if j.Verdict == verdicts.Pass && j.Reason == "" {
		j.Reason = ev.Spec.Rule
	}
	return j
}

// judgeCause names a spec judge's evidence: its first Custom step.
func judgeCause(p Plan) string {
	for _, st := range p.Steps {
		if st.Expect == Custom {
			return "step:" + st.Check
		}
	}
	return "judge"
}

// judgeEnding judges how the run ended: pass for a normal exit with the
// plan's status, else a start error, a crash, a timeout, an interrupt or a
// wrong exit status.
func judgeEnding(ev *Evidence) Judgement {
	r := ev.Result
	switch {
	case ev.Interrupted:
		return Judgement{Verdict: verdicts.Interrupted, Reason: "the run was interrupted (" + r.String() + ")", Causes: []string{"run:interrupted"}}
	case ev.StartErr != nil:
		return Judgement{Verdict: verdicts.Crash, Reason: "the runtime did not start the probe: " + ev.StartErr.Error(), Causes: []string{"run:start-error"}}
	case r.Ended == runners.EndedTimeout:
		return Judgement{Verdict: verdicts.Timeout, Reason: "run " + r.String(), Causes: []string{"run:timeout"}}
	case r.Ended == runners.EndedCrash, r.Ended == runners.EndedTrap:
		return Judgement{Verdict: verdicts.Crash, Reason: "run ended in " + r.String() + stderrTail(r.Stderr), Causes: []string{"run:crash"}}
	case r.Ended == runners.EndedExit && r.ExitCode != ev.Plan.ExitCode:
		return Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("probe exited %d, want %d%s", r.ExitCode, ev.Plan.ExitCode, stderrTail(r.Stderr)), Causes: []string{"exit:status"}}
	}
	return Judgement{Verdict: verdicts.Pass}
}

// judgeHost judges what the host saw: canaries anywhere (the whole output
// streams as the runner watched them, the kept output, the writable dirs)
// and changes outside the sandbox. The guest cannot forge or hide any of it.
func judgeHost(ev *Evidence) Judgement {
	sightings := slices.Clone(ev.Host.Sightings)
	for _, s := range ev.Result.Sightings {
		fs := fixtures.Sighting{Canary: s.Canary, Where: s.Stream}
		if !slices.Contains(sightings, fs) {
			sightings = append(sightings, fs)
		}
	}
	j := Judgement{Verdict: verdicts.Pass}
	for _, s := range sightings {
		v := verdicts.Leak
		if s.Escape() {
			v = verdicts.Escape
		}
		j = Worse(j, Judgement{Verdict: v, Reason: "canary: " + s.String(), Causes: []string{"canary:" + s.Canary + ":" + s.Where}})
	}
	if len(ev.Host.Changes) > 0 {
		k := Judgement{Verdict: verdicts.Escape, Reason: "canary: changed outside the sandbox: " + fixtures.Findings{Changes: ev.Host.Changes}.String()}
		for _, c := range ev.Host.Changes {
			if cause := "snapshot:" + c.Path; !slices.Contains(k.Causes, cause) {
				k.Causes = append(k.Causes, cause)
			}
		}
		j = Worse(j, k)
	}
	return j
}

// judgeUnscanned fails a run that left, in a dir the host scans for
// canaries, something the scan could not read (a path past PATH_MAX, past
// fixtures.ScanLimit, unreadable): the canary may be there, so the run
// cannot pass. The cause is "unscanned:<dir>", e.g. "unscanned:work".
func judgeUnscanned(ev *Evidence) Judgement {
	if len(ev.Host.Unscanned) == 0 {
		return Judgement{Verdict: verdicts.Pass}
	}
	j := Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("the host could not scan %d thing(s) the run left for canaries, first: %s; a run that hides what it wrote cannot pass",
		len(ev.Host.Unscanned), probes.Truncate(ev.Host.Unscanned[0], 160))}
	for _, u := range ev.Host.Unscanned {
		dir, _, _ := strings.Cut(u, ":")
		dir, _, _ = strings.Cut(dir, "/")
		if c := "unscanned:" + dir; !slices.Contains(j.Causes, c) {
			j.Causes = append(j.Causes, c)
		}
	}
	return j
}

// accepted is the errno set for a refused escape (RATIONALE.md, Verdicts;
// wasi-testsuite accepts PERM or NOTCAPABLE).
var accepted = []string{"PERM", "NOTCAPABLE"}

func judgeStep(ev *Evidence, st Step) Judgement {
	if st.Expect == Custom {
		return Judgement{Verdict: verdicts.Pass}
	}
	cause := []string{"step:" + st.Check}
	all := ev.LinesFor(st.Check)
	r, ok := probes.Line{}, len(all) > 0
	if ok {
		// Every record printed for the step counts, not the first alone: a
		// refusal printed ahead of the real record must not hide it. The
		// worst one is judged.
		worst := func(bad func(probes.Line) bool) probes.Line {
			if i := slices.IndexFunc(all, bad); i >= 0 {
				return all[i]
			}
			return all[0]
		}
		switch st.Expect {
		case Refuse, Deny:
			r = worst(func(r probes.Line) bool { return r.Reached() })
			if !r.Reached() {
				want := ev.Spec.Accept
				if want == nil {
					want = accepted
				}
				r = worst(func(r probes.Line) bool { return !slices.Contains(want, r.Errno) })
			}
		case Succeed, Works:
			r = worst(func(r probes.Line) bool { return !r.OK() })
		default:
			r = worst(probes.Line.OK)
		}
	}
	if !ok {
		if st.Expect == Succeed {
			cause = []string{"control:" + st.Check}
		}
		return Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("probe printed no record for %s (%s)", st.Check, st.String()), Causes: cause}
	}
	switch st.Expect {
	case Refuse, Deny:
		// Per call: a step whose first call (the one that resolves the
		// path) succeeded reached what it must not, whatever a later call
		// answered (fd_read of a directory answers ISDIR).
		if r.Reached() {
			how := "succeeded"
			if !r.OK() {
				how = fmt.Sprintf("reached its object (%s)", r.CallsString())
			}
			return Judgement{Verdict: ev.Spec.Severity.Violation(), Reason: fmt.Sprintf("%s: %s %s%s", st.Check, st.String(), how, dataSuffix(r.Data)), Causes: cause}
		}
		want := ev.Spec.Accept
		if want == nil {
			want = accepted
		}
		if st.Expect == Refuse && !slices.Contains(want, r.Errno) {
			msg := fmt.Sprintf("%s: %s answered %s, outside {%s}", st.Check, st.String(), r.Errno, strings.Join(want, ", "))
			if ev.Spec.StrictErrno {
				return Judgement{Verdict: verdicts.Fail, Reason: msg, Causes: cause}
			}
			return Judgement{Verdict: verdicts.Pass, Notes: []string{msg}}
		}
	case Tolerate:
		if r.OK() && st.NoteIfOK != "" {
			return Judgement{Verdict: verdicts.Pass, Notes: []string{st.Check + ": " + st.NoteIfOK}}
		}
	case Succeed:
		if !r.OK() {
			return Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("control %s: %s failed with %s: the runtime refuses what it was granted, so its refusals prove nothing", st.Check, st.String(), r.Errno), Causes: []string{"control:" + st.Check}}
		}
	case Works:
		if !r.OK() {
			return Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("%s: %s failed with %s, but it was granted", st.Check, st.String(), r.Errno), Causes: cause}
		}
	}
	return Judgement{Verdict: verdicts.Pass}
}

// applyExpectation turns a failing verdict that the runtime's known
// deviation covers into an expected failure: the same verdict, and no
// evidence outside the deviation's Covers. Evidence it does not cover is a
// new deviation and keeps the verdict, so a second escape cannot hide
// behind a known one.
func applyExpectation(rec *verdicts.Record, exps map[string]verdicts.Expectation) {
	exp, ok := exps[rec.Spec]
	if !ok || rec.Actual == verdicts.Skipped || rec.Actual == verdicts.Interrupted {
		return
	}
	rec.Expectation = &exp
	uncovered := slices.DeleteFunc(slices.Clone(rec.Causes), func(c string) bool { return slices.Contains(exp.Covers, c) })
	switch {
	case rec.Actual == verdicts.Pass && exp.Intermittent:
		rec.Notes = append(rec.Notes, fmt.Sprintf("the known intermittent %s did not show in this run (%s; %s)", exp.Verdict, exp.Reason, exp.Reference))
	case rec.Actual == verdicts.Pass:
		rec.Verdict = verdicts.UnexpectedPass
		rec.Reason = fmt.Sprintf("expected %s (%s) but passed: remove the expectation (%s)", exp.Verdict, exp.Reason, exp.Reference)
	case rec.Actual == exp.Verdict && len(uncovered) == 0:
		rec.Verdict = verdicts.ExpectedFailure
		rec.Reason = fmt.Sprintf("%s (known deviation: %s; %s)", rec.Reason, exp.Reason, exp.Reference)
	case rec.Actual == exp.Verdict:
		rec.Reason = fmt.Sprintf("%s (a %s beyond the known deviation: %s not covered by %s; %s)", rec.Reason, rec.Actual,
			strings.Join(uncovered, ", "), strings.Join(exp.Covers, ", "), exp.Reference)
	default:
		rec.Reason = fmt.Sprintf("%s (expected %s, not %s: %s)", rec.Reason, exp.Verdict, rec.Actual, exp.Reference)
	}
}

func dataSuffix(data string) string {
	if data == "" {
		return ""
	}
	return fmt.Sprintf(", returning %q", probes.Truncate(data, 80))
}

func stderrTail(stderr []byte) string {
	s := strings.TrimSpace(string(stderr))
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	return "; stderr: " + probes.Truncate(lines[len(lines)-1], 160)
}
