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
var All = []Verdict{Pass, Escape, Leak, Fail, Crash, Timeout, ExpectedFailure, UnexpectedPass, Skipped}

// Green reports whether v lets a run succeed.
func (v Verdict) Green() bool {
	return v == Pass || v == ExpectedFailure || v == Skipped
}

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
	Check   string `json:"check"`
	Op      string `json:"op"`
	Outcome string `json:"outcome"`
	Errno   string `json:"errno"`
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
	// Actual is the verdict before expectations were applied (differs from
	// Verdict only for expected-failure and unexpected-pass).
	Actual Verdict `json:"actual"`
	// Reason says in one line why the verdict is what it is.
	Reason string `json:"reason,omitempty"`
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
