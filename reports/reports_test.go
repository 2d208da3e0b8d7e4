package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

func TestReadStreamSkipsTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	s, err := OpenStream(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records() {
		if err := s.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"spec":"torn","verd`) // a run killed mid-write
	f.Close()
	got, err := ReadStream(path)
	if err != nil || len(got) != 3 {
		t.Errorf("ReadStream: %d records (%v), want 3", len(got), err)
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
