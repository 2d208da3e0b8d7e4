package reports

import (
	"encoding/json"
	"os"
	"path/filepath"

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

// WriteJUnit writes ginkgo's own JUnit report for report, atomically.
func WriteJUnit(report types.Report, path string) error {
	return viaTemp(path, func(tmp string) error {
		return reporters.GenerateJUnitReportWithConfig(report, tmp, reporters.JunitReportConfig{OmitTimelinesForSpecState: types.SpecStatePassed})
	})
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
// the results of an interrupted or killed run survive.
type Stream struct{ f *os.File }

// OpenStream creates (truncates) the results stream at path.
func OpenStream(path string) (*Stream, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &Stream{f: f}, nil
}

// NewStream appends to an already open file.
func NewStream(f *os.File) *Stream { return &Stream{f: f} }

// Append writes one record and syncs it to disk.
func (s *Stream) Append(r verdicts.Record) error {
	b, err := json.Marshal(r)
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
