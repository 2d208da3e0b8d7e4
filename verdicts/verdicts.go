// Package verdicts is wasicert's one verdict vocabulary and the result record
// every report is made from: one Record per (spec, runtime) run.
//
// Only Pass, ExpectedFailure and Skipped are green. Certification treats an
// ExpectedFailure as the failure it is; `wasicert run` treats it as green so
// that its exit status tracks regressions while the deviation stays visible
// in every report.
package verdicts

import (
	"time"
)

// Verdict is the host's judgement of one spec on one runtime.
type Verdict string

const (
	// Pass: the runtime did what the rule requires.
	Pass Verdict = "pass"
	// Escape: the guest read, wrote or created a host object outside what it
	// was granted, or gained a capability it was not given.
	Escape Verdict = "escape"
	// Leak: the guest learnt host information it should not (host
	// environment, host paths, what exists outside the sandbox).
	Leak Verdict = "leak"
	// Fail: a conformance failure: the behaviour or errno differs from the
	// rule, with no escape or leak.
	Fail Verdict = "fail"
	// Crash: the runtime itself died (signal, panic, abort) or refused to
	// instantiate the probe.
	Crash Verdict = "crash"
	// Timeout: the run was cut off at its deadline.
	Timeout Verdict = "timeout"
	// Interrupted: the run was stopped from outside (Ctrl-C, a cancelled
	// context) before the spec could be judged; its evidence is incomplete.
	// Escape and leak evidence found before the stop still outranks it.
	Interrupted Verdict = "interrupted"
	// Skipped: the spec does not apply (feature not claimed, host not
	// applicable); Reason says why. Never counted as a pass.
	Skipped Verdict = "skipped"
	// ExpectedFailure: a failing verdict that the runtime's expectations
	// file records as a known deviation, with a reference.
	ExpectedFailure Verdict = "expected-failure"
	// UnexpectedPass: a spec the expectations file says fails, passed: the
	// expectation is stale and must be removed.
	UnexpectedPass Verdict = "unexpected-pass"
)

// All lists every verdict in report order.
var All = []Verdict{Pass, Escape, Leak, Fail, Crash, Timeout, Interrupted, ExpectedFailure, UnexpectedPass, Skipped}

// Green reports whether v lets a run succeed.
func (v Verdict) Green() bool {
	return v == Pass || v == ExpectedFailure || v == Skipped
}

// rank orders the verdicts a run can produce before expectations: evidence
// that the guest got out (escape) or learnt what it must not (leak) outranks
// every way a run can end badly, so a runtime cannot hide an escape behind a
// crash, a hang or a start error.
var rank = map[Verdict]int{Pass: 0, Fail: 1, Timeout: 2, Crash: 3, Interrupted: 4, Leak: 5, Escape: 6}

// Rank is v's place in the severity order (higher is more serious):
// pass < fail < timeout < crash < interrupted < leak < escape. Verdicts that
// only expectations produce rank as pass.
func Rank(v Verdict) int { return rank[v] }

// Worse reports whether a is more serious than b.
func Worse(a, b Verdict) bool { return rank[a] > rank[b] }

// Failing reports whether v, before expectations are applied, means the
// runtime broke the rule.
func (v Verdict) Failing() bool {
	switch v {
	case Escape, Leak, Fail, Crash, Timeout:
		return true
	}
	return false
}

// Call is what the runtime answered to one call the probe made: the record
// a probe prints, as the harness read it.
type Call struct {
	Check string `json:"check"`
	Op    string `json:"op"`
	// Call is the function the errno is from, for ops that make several
	// (the first that failed, else the last).
	Call    string `json:"call,omitempty"`
	Outcome string `json:"outcome"`
	Errno   string `json:"errno"`
	// Calls lists every call of a multi-call op in order, as "name=ERRNO"
	// (e.g. "path_open=SUCCESS", "fd_read=ISDIR"): the first resolves the path.
	Calls []string `json:"calls,omitempty"`
	// Data is what the call returned, with canary tokens left in place:
	// a report must show the escape.
	Data string `json:"data,omitempty"`
}

// Expectation is a known deviation of one runtime on one spec.
type Expectation struct {
	Spec string `json:"spec" yaml:"spec"`
	// Verdict is the failing verdict expected (escape, leak, fail, ...).
	Verdict Verdict `json:"verdict" yaml:"verdict"`
	Reason  string  `json:"reason" yaml:"reason"`
	// Reference is a link to the upstream issue or advisory.
	Reference string `json:"reference" yaml:"reference"`
	// Covers lists the evidence the deviation is known to produce (see
	// Record.Causes), e.g. "step:hostrel.file" or "canary:token:stdout". A
	// run whose verdict matches but that shows evidence outside Covers is
	// a new deviation and fails: a second escape cannot hide behind a known one.
	Covers []string `json:"covers" yaml:"covers"`
	// Intermittent says the deviation does not show on every run (a crash
	// that depends on timing, a race the runtime loses only sometimes): a
	// run that passes is then a pass with a note, not an unexpected pass,
	// and the committed findings keep the deviation. Measure how often it
	// shows and say so in Reason.
	Intermittent bool `json:"intermittent,omitempty" yaml:"intermittent,omitempty"`
}

// Record is the result of one spec on one runtime.
type Record struct {
	Spec     string  `json:"spec"`
	Area     string  `json:"area"`
	Severity string  `json:"severity"`
	Level    string  `json:"level"`
	Runtime  string  `json:"runtime"`
	Version  string  `json:"runtime_version"`
	Verdict  Verdict `json:"verdict"`
	// RunID identifies the run the record belongs to: records of two runs
	// appended to one results file can be told apart.
	RunID string `json:"run_id,omitempty"`
	// Actual is the verdict before expectations were applied (differs from
	// Verdict only for expected-failure and unexpected-pass).
	Actual Verdict `json:"actual"`
	// Reason says in one line why the verdict is what it is.
	Reason string `json:"reason,omitempty"`
	// Causes name every piece of evidence behind a failing Actual verdict,
	// most serious first: "step:<check>" (a probe step), "canary:token:<where>"
	// and "canary:env:<where>" (a canary seen in output or in a file the run
	// wrote), "snapshot:<path>" (a change outside the sandbox), "run:crash",
	// "run:timeout", "run:start-error", "run:interrupted" (how the run
	// ended), "control:<check>" (a positive control failed) and
	// "exit:status" (the exit status the spec checks).
	Causes []string `json:"causes,omitempty"`
	// Checks name the host-side checks that ran for this record
	// (suites.CheckOutputCanaries and the like), so a report says what the
	// verdict rests on.
	Checks []string `json:"checks,omitempty"`
	// Notes are conformance notes: an escape refused with an errno outside
	// the accepted set, a tolerated deviation. They do not fail a spec.
	Notes []string `json:"notes,omitempty"`
	// Expectation is set when the runtime's expectations file covers the spec.
	Expectation *Expectation `json:"expectation,omitempty"`
	// Calls are the probe's records, for the matrix and for diffing runs.
	Calls []Call `json:"calls,omitempty"`
	// Ended and ExitCode say how the runtime's run ended.
	Ended    string        `json:"ended,omitempty"`
	ExitCode int           `json:"exit_code"`
	Duration time.Duration `json:"duration_ns"`
}
