package wasitestsuite

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"time"

	"github.com/onsi/ginkgo/v2/reporters"

	"github.com/wasicert/wasicert/reports"
)

// SuiteReport is one suite's results on one runtime.
type SuiteReport struct {
	Name     string          `json:"name"`
	Dir      string          `json:"dir"`
	Version  string          `json:"version,omitempty"`
	Runtime  string          `json:"runtime"`
	RtVer    string          `json:"runtime_version"`
	Start    time.Time       `json:"start"`
	Duration time.Duration   `json:"duration_ns"`
	Counts   map[Outcome]int `json:"counts"`
	Results  []Result        `json:"tests"`
}

// NewSuiteReport counts results.
func NewSuiteReport(s *Suite, runtime, version string, start time.Time, d time.Duration, results []Result) SuiteReport {
	r := SuiteReport{Name: s.Manifest.Name, Dir: s.Dir, Version: s.Manifest.Version, Runtime: runtime, RtVer: version,
		Start: start, Duration: d, Results: results, Counts: map[Outcome]int{}}
	for _, o := range []Outcome{Pass, Fail, Skip, XFail, XPass} {
		r.Counts[o] = 0
	}
	for _, res := range results {
		r.Counts[res.Outcome]++
	}
	return r
}

// Failed says whether the suite fails a run.
func (r SuiteReport) Failed() bool { return r.Counts[Fail]+r.Counts[XPass] > 0 }

// Line is the suite's summary line.
func (r SuiteReport) Line() string {
	return fmt.Sprintf("%s on %s %s: %d tests: %d passed, %d failed, %d skipped, %d expected failures, %d unexpected passes (%.2fs)",
		r.Name, r.Runtime, r.RtVer, len(r.Results), r.Counts[Pass], r.Counts[Fail], r.Counts[Skip], r.Counts[XFail], r.Counts[XPass], r.Duration.Seconds())
}

// WriteJSON writes the reports as one JSON document.
func WriteJSON(path string, rs []SuiteReport) error {
	data, err := json.MarshalIndent(struct {
		Suites []SuiteReport `json:"suites"`
	}{rs}, "", "  ")
	if err != nil {
		return err
	}
	return reports.WriteFileAtomic(path, append(data, '\n'))
}

// WriteJUnit writes the reports as JUnit XML, one <testsuite> per suite,
// with ginkgo's JUnit types: a failure or unexpected pass is a <failure>,
// a skip or expected failure a <skipped> with its reason.
func WriteJUnit(path string, rs []SuiteReport) error {
	var all reporters.JUnitTestSuites
	for _, r := range rs {
		ts := reporters.JUnitTestSuite{
			Name: r.Name, Package: r.Dir, Tests: len(r.Results), Time: r.Duration.Seconds(),
			Timestamp: r.Start.UTC().Format("2006-01-02T15:04:05"),
			Properties: reporters.JUnitProperties{Properties: []reporters.JUnitProperty{
				{Name: "runtime", Value: r.Runtime}, {Name: "runtime_version", Value: r.RtVer}, {Name: "wasi_version", Value: r.Version},
			}},
		}
		for _, res := range r.Results {
			tc := reporters.JUnitTestCase{Name: res.Test, Classname: r.Name, Status: string(res.Outcome), Time: res.Duration.Seconds()}
			switch res.Outcome {
			case Fail, XPass:
				ts.Failures++
				tc.Failure = &reporters.JUnitFailure{Message: res.Reason, Type: string(res.Outcome), Description: res.Reason}
				tc.SystemOut, tc.SystemErr = clip(res.Stdout), clip(res.Stderr)
			case Skip, XFail:
				ts.Skipped++
				msg := res.Reason
				if res.Outcome == XFail {
					msg = "expected failure (" + res.Expectation + "): " + res.Reason
				}
				tc.Skipped = &reporters.JUnitSkipped{Message: msg}
			}
			ts.TestCases = append(ts.TestCases, tc)
		}
		all.Tests += ts.Tests
		all.Failures += ts.Failures
		all.Time += ts.Time
		all.TestSuites = append(all.TestSuites, ts)
	}
	data, err := xml.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return reports.WriteFileAtomic(path, append([]byte(xml.Header), append(data, '\n')...))
}

// clip keeps the head of an output for a report.
func clip(b []byte) string {
	const max = 64 << 10
	if len(b) > max {
		return string(b[:max]) + "\n[truncated]"
	}
	return string(b)
}
