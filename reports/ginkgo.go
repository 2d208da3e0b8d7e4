package reports

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/wasicert/wasicert/verdicts"
)

// Report entry names a spec attaches with ginkgo's AddReportEntry.
const (
	// EntryRecord holds the spec's verdicts.Record as JSON.
	EntryRecord = "wasicert.record"
	// EntryVerdict holds the verdict alone, so that it shows as a JUnit
	// property (expected failures are JUnit skips whose property says so).
	EntryVerdict = "wasicert.verdict"
)

// RecordsFromReport collects the records the specs attached to a ginkgo report.
func RecordsFromReport(report types.Report) []verdicts.Record {
	var out []verdicts.Record
	for _, sr := range report.SpecReports {
		if r, ok := RecordFromSpec(sr); ok {
			out = append(out, r)
		}
	}
	return out
}

// SummarizeReport makes the summary of a ginkgo run: its records, whether
// the run was interrupted (a signal, or another parallel process aborting),
// and how many selected specs never got a verdict.
func SummarizeReport(report types.Report) Summary {
	records := RecordsFromReport(report)
	s := Summarize(records)
	for _, r := range report.SpecialSuiteFailureReasons {
		if strings.HasPrefix(r, "Interrupted by") {
			s.Interrupted = true
		}
	}
	judged := 0
	for _, sr := range report.SpecReports {
		if sr.State.Is(types.SpecStateInterrupted) {
			s.Interrupted = true
		}
		if sr.LeafNodeType == types.NodeTypeIt {
			if _, ok := RecordFromSpec(sr); ok {
				judged++
			}
		}
	}
	if n := report.PreRunStats.SpecsThatWillRun - judged; n > 0 {
		s.NotRun = n
	}
	s.settle()
	return s
}

// RecordFromSpec returns the record one spec attached, if any.
func RecordFromSpec(sr types.SpecReport) (verdicts.Record, bool) {
	for _, e := range sr.ReportEntries {
		if e.Name != EntryRecord {
			continue
		}
		// The raw value is the Record in a serial run and a decoded JSON
		// map after a parallel run's round trip: go through JSON for both.
		b, err := json.Marshal(e.Value.GetRawValue())
		if err != nil {
			continue
		}
		var r verdicts.Record
		if err := json.Unmarshal(b, &r); err == nil && r.Spec != "" {
			return r, true
		}
	}
	return verdicts.Record{}, false
}

// WriteJUnit writes ginkgo's own JUnit report for report, atomically, with
// the run's ID as the suite property wasicert.run_id (every spec's
// wasicert.record property carries it too).
func WriteJUnit(report types.Report, path, runID string) error {
	return viaTemp(path, func(tmp string) error {
		if err := reporters.GenerateJUnitReportWithConfig(report, tmp, reporters.JunitReportConfig{OmitTimelinesForSpecState: types.SpecStatePassed}); err != nil {
			return err
		}
		if runID == "" {
			return nil
		}
		return addSuiteProperty(tmp, PropertyRunID, runID)
	})
}

// PropertyRunID names the JUnit suite property holding the run ID.
const PropertyRunID = "wasicert.run_id"

// addSuiteProperty adds a property to every test suite of the JUnit file at
// path, through ginkgo's own JUnit types.
func addSuiteProperty(path, name, value string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc reporters.JUnitTestSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		return err
	}
	for i := range doc.TestSuites {
		ps := &doc.TestSuites[i].Properties.Properties
		*ps = append(*ps, reporters.JUnitProperty{Name: name, Value: value})
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(xml.Header), append(out, '\n')...), 0o644)
}

// WriteGinkgoJSON writes ginkgo's own JSON report for report, atomically.
func WriteGinkgoJSON(report types.Report, path string) error {
	return viaTemp(path, func(tmp string) error { return reporters.GenerateJSONReport(report, tmp) })
}

// viaTemp lets a generator that only takes a path write atomically.
func viaTemp(path string, gen func(tmp string) error) error {
	return writeAtomic(path, func(f *os.File) error {
		if err := gen(f.Name()); err != nil {
			return err
		}
		// gen wrote through its own handle; re-sync ours to the new contents.
		_, err := f.Seek(0, 2)
		return err
	})
}

// Stream appends one record per line to a file as each spec ends, so that
// the results of an interrupted or killed run survive. Several runs (and a
// run's parallel processes) may append to one file: every record carries its
// run's run_id, which tells the runs apart.
type Stream struct{ f *os.File }

// OpenStream opens the results stream at path for appending, making it and
// its directory if missing. A last line torn by a killed run is ended first,
// so that the next record starts on a line of its own.
func OpenStream(path string) (*Stream, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	if err := endTornLine(f, path); err != nil {
		f.Close()
		return nil, err
	}
	return &Stream{f: f}, nil
}

// endTornLine writes a newline to f when the file at path does not end in one.
func endTornLine(f *os.File, path string) error {
	r, err := os.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	fi, err := r.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	last := make([]byte, 1)
	if _, err := r.ReadAt(last, fi.Size()-1); err != nil {
		return err
	}
	if last[0] != '\n' {
		_, err = f.Write([]byte{'\n'})
	}
	return err
}

// Append writes one record as one line, in one write, and syncs it to disk.
func (s *Stream) Append(r verdicts.Record) error { return s.AppendJSON(r) }

// AppendJSON appends v as one JSON line and syncs it to disk.
func (s *Stream) AppendJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := s.f.Write(append(b, '\n')); err != nil {
		return err
	}
	return s.f.Sync()
}

// Close closes the stream.
func (s *Stream) Close() error { return s.f.Close() }
