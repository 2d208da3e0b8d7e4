package reports

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/wasicert/wasicert/verdicts"
)

func TestWriteFileAtomicLeavesNoTempFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	if err := WriteFileAtomic(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Errorf("content %q, want %q", b, "two")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("dir holds %d entries, want only the report (no temp files)", len(ents))
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "r.json"), nil); err == nil {
		t.Error("writing into a missing dir succeeded")
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	if err := CheckWritable(filepath.Join(dir, "new", "sub", "junit.xml")); err != nil {
		t.Errorf("a missing dir should be made: %v", err)
	}
	if err := CheckWritable(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory as report path: %v", err)
	}
	if err := CheckWritable("/proc/wasicert/x.xml"); err == nil {
		t.Error("an unwritable path passed")
	}
	if err := CheckWritable(""); err != nil {
		t.Errorf("no path means no report: %v", err)
	}
}

func records() []verdicts.Record {
	exp := &verdicts.Expectation{Spec: "b", Verdict: verdicts.Escape, Reason: "known", Reference: "https://example.org/1"}
	return []verdicts.Record{
		{Spec: "a", Runtime: "rt", Version: "1", Verdict: verdicts.Pass, Actual: verdicts.Pass, Notes: []string{"odd errno"}},
		{Spec: "b", Runtime: "rt", Version: "1", Verdict: verdicts.ExpectedFailure, Actual: verdicts.Escape, Reason: "followed", Expectation: exp,
			Calls: []verdicts.Call{{Outcome: "ok", Errno: "SUCCESS"}, {Outcome: "error", Errno: "PERM"}, {Outcome: "error", Errno: "PERM"}}},
		{Spec: "c", Runtime: "rt", Version: "1", Verdict: verdicts.Skipped, Actual: verdicts.Skipped, Reason: "no feature"},
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize(records())
	if s.Specs != 3 || !s.Green || s.Notes != 1 {
		t.Errorf("summary %+v: want 3 specs, green, 1 note", s)
	}
	if s.Counts[verdicts.ExpectedFailure] != 1 || s.Counts[verdicts.Skipped] != 1 || s.Counts[verdicts.Pass] != 1 {
		t.Errorf("counts %v", s.Counts)
	}
	var b bytes.Buffer
	s.Print(&b)
	for _, want := range []string{"EXPECTED FAILURE", "escape: followed", "SKIPPED", "no feature", "note", "result: PASS"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("printed summary lacks %q:\n%s", want, b.String())
		}
	}
	failing := append(records(), verdicts.Record{Spec: "d", Verdict: verdicts.Leak, Actual: verdicts.Leak})
	if Summarize(failing).Green {
		t.Error("a leak left the summary green")
	}
}

// TestStreamAppendsAcrossRuns: a second run appends to the results file
// instead of truncating it, and a line torn by a killed run does not swallow
// the next run's first record.
func TestStreamAppendsAcrossRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	s, err := OpenStream(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records() {
		r.RunID = "run-1"
		if err := s.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"spec":"torn","verd`) // a run killed mid-write
	f.Close()
	s, err = OpenStream(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(verdicts.Record{Spec: "a", RunID: "run-2", Verdict: verdicts.Pass}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	got, err := ReadStream(path)
	if err != nil || len(got) != 4 || got[3].RunID != "run-2" || got[0].RunID != "run-1" {
		t.Errorf("ReadStream: %+v (%v), want run-1's 3 records then run-2's", got, err)
	}
}

// TestSummaryInterrupted: an interrupted run, or one that left selected
// specs without a verdict, is never green, and says so.
func TestSummaryInterrupted(t *testing.T) {
	s := Summarize(records())
	s.Interrupted, s.NotRun, s.RunID = true, 5, "run-1"
	s.settle()
	var b bytes.Buffer
	s.Print(&b)
	if s.Green || !strings.Contains(b.String(), "result: INTERRUPTED") || !strings.Contains(b.String(), "5 selected spec(s) not run") || !strings.Contains(b.String(), "run run-1") {
		t.Errorf("interrupted summary (green %v):\n%s", s.Green, b.String())
	}
	s = Summarize(records())
	s.NotRun = 2
	s.settle()
	b.Reset()
	s.Print(&b)
	if s.Green || !strings.Contains(b.String(), "result: FAIL") {
		t.Errorf("specs without a verdict left the run green:\n%s", b.String())
	}
}

// TestSummarizeReport: from a ginkgo report, an interrupt (a special suite
// failure reason, or an interrupted spec) and the selected specs without a
// record are found.
func TestSummarizeReport(t *testing.T) {
	entry := func(r verdicts.Record) types.ReportEntries {
		e := types.ReportEntry{Name: EntryRecord}
		e.Value = types.WrapEntryValue(r)
		return types.ReportEntries{e}
	}
	report := types.Report{
		PreRunStats:                types.PreRunStats{SpecsThatWillRun: 5},
		SpecialSuiteFailureReasons: []string{"Interrupted by User"},
		SpecReports: types.SpecReports{
			{LeafNodeType: types.NodeTypeIt, State: types.SpecStatePassed, ReportEntries: entry(verdicts.Record{Spec: "a", RunID: "r", Verdict: verdicts.Pass, Actual: verdicts.Pass})},
			{LeafNodeType: types.NodeTypeIt, State: types.SpecStateInterrupted, ReportEntries: entry(verdicts.Record{Spec: "b", RunID: "r", Verdict: verdicts.Interrupted, Actual: verdicts.Interrupted})},
			{LeafNodeType: types.NodeTypeIt, State: types.SpecStateSkipped},
		},
	}
	s := SummarizeReport(report)
	if !s.Interrupted || s.NotRun != 3 || s.Specs != 2 || s.Green || s.RunID != "r" {
		t.Errorf("summary %+v: want interrupted, 3 not run, 2 specs, not green, run r", s)
	}
	report.SpecialSuiteFailureReasons = nil
	if s := SummarizeReport(report); !s.Interrupted {
		t.Error("an interrupted spec did not mark the run interrupted")
	}
}

// TestWriteJUnitRunID: the JUnit report carries the run ID as a suite
// property, beside ginkgo's own.
func TestWriteJUnitRunID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junit.xml")
	report := types.Report{SuiteDescription: "s", SpecialSuiteFailureReasons: []string{"Interrupted by User"},
		SpecReports: types.SpecReports{{LeafNodeType: types.NodeTypeIt, LeafNodeText: "a", State: types.SpecStatePassed}}}
	if err := WriteJUnit(report, path, "run-1"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var doc reporters.JUnitTestSuites
	if err := xml.Unmarshal(b, &doc); err != nil || len(doc.TestSuites) != 1 {
		t.Fatalf("junit: %v\n%s", err, b)
	}
	props := doc.TestSuites[0].Properties
	if props.WithName(PropertyRunID) != "run-1" || props.WithName("SpecialSuiteFailureReason") != "Interrupted by User" || doc.Tests != 1 {
		t.Errorf("junit properties %+v, %d tests: want %s=run-1 and ginkgo's own", props, doc.Tests, PropertyRunID)
	}
}

func TestMatrixCells(t *testing.T) {
	m := NewMatrix([]string{"a", "b", "c"})
	m.AddRuntime("rt", "ran", records())
	m.AddRuntime("other", "not installed: no binary", nil)
	var b bytes.Buffer
	if err := m.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{"| `b` | **escape**\\* (PERM) | - |", "| `a` | pass | - |", "other: not installed: no binary"} {
		if !strings.Contains(md, want) {
			t.Errorf("matrix lacks %q:\n%s", want, md)
		}
	}
}
