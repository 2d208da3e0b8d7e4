package suites

import (
	"strings"
	"testing"

	"github.com/wasicert/wasicert/verdicts"
)

// TestIntermittentExpectation: a run that passes a spec whose deviation is
// known to show only sometimes stays a pass, with a note; without the flag
// it is an unexpected pass; and an intermittent expectation still keeps
// evidence outside its covers failing.
func TestIntermittentExpectation(t *testing.T) {
	exp := verdicts.Expectation{Spec: "s", Verdict: verdicts.Crash, Reason: "crashes in about half the runs", Reference: "https://github.com/x", Covers: []string{"run:crash"}}
	apply := func(actual verdicts.Verdict, causes []string, intermittent bool) verdicts.Record {
		e := exp
		e.Intermittent = intermittent
		rec := verdicts.Record{Spec: "s", Verdict: actual, Actual: actual, Causes: causes}
		applyExpectation(&rec, map[string]verdicts.Expectation{"s": e})
		return rec
	}
	if r := apply(verdicts.Pass, nil, true); r.Verdict != verdicts.Pass || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "intermittent crash did not show") {
		t.Errorf("intermittent, passed: %s %q", r.Verdict, r.Notes)
	}
	if r := apply(verdicts.Pass, nil, false); r.Verdict != verdicts.UnexpectedPass {
		t.Errorf("not intermittent, passed: %s, want unexpected-pass", r.Verdict)
	}
	if r := apply(verdicts.Crash, []string{"run:crash"}, true); r.Verdict != verdicts.ExpectedFailure {
		t.Errorf("intermittent, crashed: %s, want expected-failure", r.Verdict)
	}
	if r := apply(verdicts.Crash, []string{"run:crash", "canary:token:stdout"}, true); r.Verdict != verdicts.Crash {
		t.Errorf("intermittent, crashed with more evidence: %s, want crash", r.Verdict)
	}
}
