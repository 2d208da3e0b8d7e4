package suites

import (
	"context"
	"errors"
	"fmt"
	"net"
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
	Records    []Record
	// Junk are stdout lines that are not probe records.
	Junk []string
	// ClientData is what the host-side client received (socket specs).
	ClientData string
	ClientErr  error
	// Implicit and Injected are what the runner's platform grants by design
	// (runners.Platform): preopens before the Invocation's, and env entries.
	Implicit, Injected []string
}

// Record returns the first record printed for check.
func (ev *Evidence) Record(check string) (Record, bool) {
	for _, r := range ev.Records {
		if r.Check == check {
			return r, true
		}
	}
	return Record{}, false
}

// All returns every record printed for check, in order.
func (ev *Evidence) All(check string) []Record {
	var out []Record
	for _, r := range ev.Records {
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
// the harness itself could not run the spec (fixture, probe module, runner
// start-up); everything the runtime did is in the Record.
func Execute(ctx context.Context, spec Spec, o Options) (verdicts.Record, error) {
	rec := verdicts.Record{
		Spec: spec.ID, Area: string(spec.Area), Severity: string(spec.Severity), Level: string(spec.Level),
		Runtime: o.Runner.Name(), Version: o.Runner.Version(), RunID: o.RunID,
	}
	features := o.Runner.Features()
	for _, f := range spec.Requires {
		if !features.Has(f) {
			rec.Verdict, rec.Actual = verdicts.Skipped, verdicts.Skipped
			rec.Reason = fmt.Sprintf("runtime %s does not claim feature %q", o.Runner.Name(), f)
			return rec, nil
		}
	}

	fx, err := fixtures.New(o.FixtureDir, fixtures.Standard)
	if err != nil {
		return rec, fmt.Errorf("fixture for %s: %w", spec.ID, err)
	}
	defer fx.Remove()

	plan := spec.Plan(fx, features)
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
	}
	if inv.Env == nil {
		inv.Env = []string{}
	}

	ev := &Evidence{Spec: &spec, Plan: plan, Fixture: fx, Invocation: inv}
	if p, ok := o.Runner.(runners.Platform); ok {
		ev.Implicit, ev.Injected = p.ImplicitPreopens(), p.InjectedEnv()
	}
	var clientDone chan struct{}
	if plan.Listen {
		addr, err := freeLoopbackAddr()
		if err != nil {
			return rec, err
		}
		inv.Listeners = []runners.Listener{{Addr: addr}}
		ev.Invocation = inv
		if plan.Client != nil {
			clientDone = make(chan struct{})
			go func() {
				defer close(clientDone)
				ev.ClientData, ev.ClientErr = plan.Client(addr, fx)
			}()
		}
	}

	var res runners.Result
	if plan.Signal != 0 {
		sig, ok := o.Runner.(runners.Signaller)
		if !ok {
			return rec, fmt.Errorf("runtime %s claims feature %q but cannot deliver signals", o.Runner.Name(), runners.FeatureSignal)
		}
		res, err = sig.RunWithSignal(ctx, inv, plan.Signal, plan.SignalAfter)
	} else {
		res, err = o.Runner.Run(ctx, inv)
	}
	if clientDone != nil {
		<-clientDone // also on error: the client must not outlive the spec
	}
	if err != nil {
		return rec, fmt.Errorf("runtime %s could not run %s: %w", o.Runner.Name(), spec.ID, err)
	}
	ev.Result = res
	ev.Records, ev.Junk = ParseRecords(res.Stdout)

	j := judge(ev)
	rec.Actual, rec.Reason, rec.Notes = j.Verdict, j.Reason, j.Notes
	rec.Verdict = rec.Actual
	rec.Ended, rec.ExitCode, rec.Duration = string(res.Ended), res.ExitCode, res.Duration
	for _, r := range ev.Records {
		rec.Calls = append(rec.Calls, verdicts.Call{Check: r.Check, Op: r.Op, Outcome: r.Outcome, Errno: r.Errno, Data: truncate(r.Data, 256)})
	}
	applyExpectation(&rec, o.Expectations)
	return rec, nil
}

// judge applies what the host saw: how the run ended, the plan's steps, the
// spec's own judge and the canaries. The most serious verdict wins; on a
// tie the first reason stands, so a step that names the escaping call is
// preferred to the canary that confirms it.
func judge(ev *Evidence) Judgement {
	j := Judgement{Verdict: verdicts.Pass}
	switch ev.Result.Ended {
	case runners.EndedTimeout:
		j = Judgement{Verdict: verdicts.Timeout, Reason: "run " + ev.Result.String()}
	case runners.EndedCrash, runners.EndedTrap:
		j = Judgement{Verdict: verdicts.Crash, Reason: "run ended in " + ev.Result.String() + stderrTail(ev.Result.Stderr)}
	case runners.EndedExit:
		if ev.Result.ExitCode != ev.Plan.ExitCode {
			j = Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("probe exited %d, want %d%s", ev.Result.ExitCode, ev.Plan.ExitCode, stderrTail(ev.Result.Stderr))}
		}
	}
	// After a crash or timeout the records are incomplete: judging the
	// steps would only add noise. The canaries are judged whatever happened.
	if j.Verdict != verdicts.Crash && j.Verdict != verdicts.Timeout {
		for _, st := range ev.Plan.Steps {
			j = worse(j, judgeStep(ev, st))
		}
		if ev.Spec.Judge != nil {
			j = worse(j, ev.Spec.Judge(ev))
		}
	}

	report := ev.Fixture.Check(ev.Result.Stdout, ev.Result.Stderr)
	if report.TokenSeen { // the token lives only in files outside the sandbox
		j = worse(j, Judgement{Verdict: verdicts.Escape, Reason: "canary: " + strings.Join(report.Leaks, ", ")})
	}
	if report.EnvCanarySeen {
		j = worse(j, Judgement{Verdict: verdicts.Leak, Reason: "canary: " + strings.Join(report.Leaks, ", ")})
	}
	if len(report.Changes) > 0 {
		j = worse(j, Judgement{Verdict: verdicts.Escape, Reason: "canary: changed outside the sandbox: " + report.String()})
	}
	if len(ev.Junk) > 0 {
		j.Notes = append(j.Notes, fmt.Sprintf("stdout holds %d line(s) that are not probe records, first: %q", len(ev.Junk), ev.Junk[0]))
	}
	if j.Verdict == verdicts.Pass && j.Reason == "" {
		j.Reason = ev.Spec.Rule
	}
	return j
}

// accepted is the errno set for a refused escape (capability-catalogue C.4:
// wasi-testsuite accepts PERM or NOTCAPABLE).
var accepted = []string{"PERM", "NOTCAPABLE"}

func judgeStep(ev *Evidence, st Step) Judgement {
	if st.Expect == Custom {
		return Judgement{Verdict: verdicts.Pass}
	}
	r, ok := ev.Record(st.Check)
	if !ok {
		return Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("probe printed no record for %s (%s)", st.Check, describeStep(st))}
	}
	switch st.Expect {
	case Refuse, Deny:
		if r.OK() {
			return Judgement{Verdict: ev.Spec.Severity.violation(), Reason: fmt.Sprintf("%s: %s succeeded%s", st.Check, describeStep(st), dataSuffix(r.Data))}
		}
		want := ev.Spec.Accept
		if want == nil {
			want = accepted
		}
		if st.Expect == Refuse && !slices.Contains(want, r.Errno) {
			msg := fmt.Sprintf("%s: %s answered %s, outside {%s}", st.Check, describeStep(st), r.Errno, strings.Join(want, ", "))
			if ev.Spec.StrictErrno {
				return Judgement{Verdict: verdicts.Fail, Reason: msg}
			}
			return Judgement{Verdict: verdicts.Pass, Notes: []string{msg}}
		}
	case Tolerate:
		if r.OK() && st.NoteIfOK != "" {
			return Judgement{Verdict: verdicts.Pass, Notes: []string{st.Check + ": " + st.NoteIfOK}}
		}
	case Succeed:
		if !r.OK() {
			return Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("control %s: %s failed with %s: the runtime refuses what it was granted, so its refusals prove nothing", st.Check, describeStep(st), r.Errno)}
		}
	}
	return Judgement{Verdict: verdicts.Pass}
}

func applyExpectation(rec *verdicts.Record, exps map[string]verdicts.Expectation) {
	exp, ok := exps[rec.Spec]
	if !ok || rec.Actual == verdicts.Skipped {
		return
	}
	rec.Expectation = &exp
	switch {
	case rec.Actual == verdicts.Pass:
		rec.Verdict = verdicts.UnexpectedPass
		rec.Reason = fmt.Sprintf("expected %s (%s) but passed: remove the expectation (%s)", exp.Verdict, exp.Reason, exp.Reference)
	case rec.Actual == exp.Verdict:
		rec.Verdict = verdicts.ExpectedFailure
		rec.Reason = fmt.Sprintf("%s (known deviation: %s; %s)", rec.Reason, exp.Reason, exp.Reference)
	default:
		rec.Reason = fmt.Sprintf("%s (expected %s, not %s: %s)", rec.Reason, exp.Verdict, rec.Actual, exp.Reference)
	}
}

func dataSuffix(data string) string {
	if data == "" {
		return ""
	}
	return fmt.Sprintf(", returning %q", truncate(data, 80))
}

func stderrTail(stderr []byte) string {
	s := strings.TrimSpace(string(stderr))
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	return "; stderr: " + truncate(lines[len(lines)-1], 160)
}

// freeLoopbackAddr picks a free TCP port on 127.0.0.1 for a preopened listener.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("no free loopback port for a listener: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// dialRetry connects to addr until it answers or the deadline passes: the
// runtime makes the listener only when it starts the guest.
func dialRetry(addr string, within time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, errors.New("no listener answered at " + addr + ": " + err.Error())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
