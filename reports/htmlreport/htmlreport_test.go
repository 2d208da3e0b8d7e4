package htmlreport_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/compare"
	"github.com/wasicert/wasicert/records"
	"github.com/wasicert/wasicert/reports/htmlreport"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

func rec(runtime, arch, spec string, v verdicts.Verdict, calls []verdicts.Call, exp *verdicts.Expectation, causes ...string) records.Record {
	return records.Make(verdicts.Record{
		Spec: spec, Area: strings.Split(spec, ".")[0], Severity: "escape", Level: "MUST",
		Verdict: v, Actual: v, Calls: calls, Expectation: exp, Causes: causes,
	}, false, records.Env{OS: "linux", Arch: arch, Runtime: runtime, RuntimeVersion: "1.0", Probes: "sha256:ab"})
}

func call(check, errno string) verdicts.Call {
	outcome := "ok"
	if errno != "SUCCESS" {
		outcome = "error"
	}
	return verdicts.Call{Check: check, Op: "open", Outcome: outcome, Errno: errno}
}

// render builds sets from records and renders them.
func render(t *testing.T, specs []suites.Spec, recs ...records.Record) string {
	t.Helper()
	var buf bytes.Buffer
	if err := htmlreport.Render(&buf, compare.Sets("test", recs), specs); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestCells: a failing cell shows its verdict, the calls whose errno
// differs from a passing run ("check: ERRNO (pass: ERRNO)") and the
// reference: the expectation's when one covers it, else the spec's; the
// summary counts expected failures; an odd cell is marked.
func TestCells(t *testing.T) {
	specs := []suites.Spec{{ID: "preopen.x", Area: "preopen", Severity: "escape", Level: "MUST", Rule: "stay inside", Ref: "https://example.org/spec/preopen#x"}}
	ok := []verdicts.Call{call("inside", "SUCCESS"), call("outside", "NOTCAPABLE")}
	bad := []verdicts.Call{call("inside", "SUCCESS"), call("outside", "SUCCESS")}
	exp := &verdicts.Expectation{Spec: "preopen.x", Verdict: verdicts.Escape, Reference: "https://example.org/issues/42"}
	page := render(t, specs,
		rec("good", "amd64", "preopen.x", verdicts.Pass, ok, nil),
		rec("good2", "amd64", "preopen.x", verdicts.Pass, ok, nil),
		rec("good3", "amd64", "preopen.x", verdicts.Pass, ok, nil),
		rec("known", "amd64", "preopen.x", verdicts.Escape, bad, exp, "step:outside"),
		rec("new", "amd64", "preopen.x", verdicts.Escape, bad, nil, "step:outside"),
		rec("good", "arm64", "preopen.x", verdicts.Pass, ok, nil),
	)
	for _, want := range []string{
		"outside: SUCCESS (pass: NOTCAPABLE)",
		`href="https://example.org/issues/42"`, // the expectation's reference
		`href="https://example.org/spec/preopen#x"`,
		`title="stay inside`,
		`class="cell v-escape xf odd"`, // expected, and odd one out
		`class="cell v-escape odd"`,
		"1 expected",
		"1 unexpected failure",
		`data-area="preopen" data-severity="escape" data-level="MUST" data-failing="1" data-unexpected="1"`,
		"arm64 <span class=\"where\">native</span>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "inside: SUCCESS") {
		t.Error("a call that answered as the passing run did is listed")
	}
}

// TestNoPassingRun: with no runtime passing, a failing cell lists the
// calls that failed; with no call to tell, its first cause.
func TestNoPassingRun(t *testing.T) {
	page := render(t, nil,
		rec("a", "amd64", "fd.y", verdicts.Fail, []verdicts.Call{call("close", "BADF"), call("stat", "SUCCESS")}, nil),
		rec("b", "amd64", "fd.y", verdicts.Crash, nil, nil, "run:crash"),
	)
	for _, want := range []string{"<li>close: BADF</li>", "<li>run:crash</li>", `data-area="fd"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "stat: SUCCESS") {
		t.Error("a call that succeeded is listed as failed")
	}
}

// TestHostileRecordsAreEscaped: records come from the runtime under test,
// an adversary; what it printed must not become markup or script in the
// page.
func TestHostileRecordsAreEscaped(t *testing.T) {
	evil := `<img src=x onerror=alert(1)>`
	page := render(t, nil,
		rec("a", "amd64", "env.z", verdicts.Pass, []verdicts.Call{call("c", "SUCCESS")}, nil),
		rec("b", "amd64", "env.z", verdicts.Leak, []verdicts.Call{{Check: evil, Op: "open", Outcome: "error", Errno: `"><script>alert(2)</script>`}}, nil, evil),
	)
	for _, bad := range []string{"<img", "<script>alert", "onerror=alert(1)>"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q unescaped", bad)
		}
	}
	if !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Error("the hostile check name is not shown escaped")
	}
}

// TestSelfContained: the page names no external asset and forbids loads.
func TestSelfContained(t *testing.T) {
	page := render(t, nil, rec("a", "amd64", "env.z", verdicts.Pass, nil, nil))
	if !strings.Contains(page, `content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"`) {
		t.Error("no Content-Security-Policy forbidding loads")
	}
	for _, bad := range []string{"<link", " src=", "url(", "@import", "http://"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
	if err := htmlreport.Render(&bytes.Buffer{}, nil, nil); err == nil {
		t.Error("rendered a page of no records")
	}
}
