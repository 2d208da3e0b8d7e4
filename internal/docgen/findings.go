package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// readMatrix reads a matrix.json written by `wasicert matrix` or by
// writeFindings.
func readMatrix(path string) (*reports.Matrix, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m reports.Matrix
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %v (is it a matrix.json from wasicert matrix?)", path, err)
	}
	return &m, nil
}

// findings keeps what the README shows of a matrix run, and nothing that
// changes from run to run or host to host: no durations, run IDs, counts,
// kernel build, bounds, or reasons (they quote the fixture's random
// canary tokens and temp paths).
func findings(run *reports.Matrix) *reports.Matrix {
	m := &reports.Matrix{
		Host:  reports.Host{OS: run.Host.OS, Arch: run.Host.Arch, FixtureFS: run.Host.FixtureFS},
		Specs: slices.Clone(run.Specs),
		Cells: map[string]map[string]reports.Cell{},
	}
	for _, r := range run.Runtimes {
		m.Runtimes = append(m.Runtimes, reports.MatrixRuntime{Name: r.Name, Version: r.Version, Status: r.Status})
	}
	racy := map[string]bool{}
	for _, s := range catalogue.All() {
		racy[s.ID] = s.Racy
	}
	for spec, row := range run.Cells {
		m.Cells[spec] = map[string]reports.Cell{}
		for rt, c := range row {
			kept := reports.Cell{Verdict: c.Verdict, Expected: c.Expected, Errnos: slices.Clone(c.Errnos), Notes: c.Notes}
			if racy[spec] {
				kept.Errnos, kept.Notes = nil, 0 // they depend on who won the race
			}
			if c.Intermittent {
				// A deviation that shows only on some runs is kept as
				// the deviation, whatever this run showed.
				kept = reports.Cell{Verdict: intermittentVerdict(rt, spec, c.Verdict), Expected: true, Intermittent: true}
			}
			m.Cells[spec][rt] = kept
		}
	}
	return m
}

// marshalFindings is the committed file's form: indented JSON, map keys
// sorted by encoding/json, so equal findings are equal bytes.
func marshalFindings(m *reports.Matrix) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	return append(b, '\n'), err
}

// differences lists how a measured matrix differs from the committed
// findings in anything the README shows: the runtimes, their versions and
// status, the specs, and every cell's verdict, expectation and errnos.
// Where it was measured (OS, architecture, fixture file system) is left
// out: the same verdicts on another host are no drift.
func differences(committed, measured *reports.Matrix) []string {
	var out []string
	names := func(m *reports.Matrix) []string {
		var n []string
		for _, r := range m.Runtimes {
			n = append(n, r.Name)
		}
		return n
	}
	if a, b := names(committed), names(measured); !slices.Equal(a, b) {
		out = append(out, fmt.Sprintf("runtimes: committed %v, measured %v", a, b))
	}
	for _, mr := range measured.Runtimes {
		for _, cr := range committed.Runtimes {
			if cr.Name != mr.Name {
				continue
			}
			if cr.Version != mr.Version {
				out = append(out, fmt.Sprintf("%s: committed version %q, measured %q", mr.Name, cr.Version, mr.Version))
			}
			if cr.Status != mr.Status {
				out = append(out, fmt.Sprintf("%s: committed status %q, measured %q", mr.Name, cr.Status, mr.Status))
			}
		}
	}
	if !slices.Equal(committed.Specs, measured.Specs) {
		out = append(out, fmt.Sprintf("specs: committed %d %v, measured %d %v", len(committed.Specs), committed.Specs, len(measured.Specs), measured.Specs))
	}
	for _, spec := range measured.Specs {
		for _, r := range measured.Runtimes {
			c, inC := committed.Cells[spec][r.Name]
			m, inM := measured.Cells[spec][r.Name]
			if !slices.Contains(committed.Specs, spec) || !slices.Contains(names(committed), r.Name) {
				continue // reported above
			}
			switch {
			case inC != inM:
				out = append(out, fmt.Sprintf("%s %s: committed %s, measured %s", r.Name, spec, show(c, inC), show(m, inM)))
			case c.Verdict != m.Verdict || c.Expected != m.Expected || !slices.Equal(c.Errnos, m.Errnos):
				out = append(out, fmt.Sprintf("%s %s: committed %s, measured %s", r.Name, spec, c, m))
			case c.Notes != m.Notes:
				out = append(out, fmt.Sprintf("%s %s: committed %d conformance notes, measured %d", r.Name, spec, c.Notes, m.Notes))
			}
		}
	}
	return out
}

func show(c reports.Cell, ok bool) string {
	if !ok {
		return "no result"
	}
	return c.String()
}

// intermittentVerdict is the verdict of runtime's intermittent expectation
// for spec (seen, when it cannot be read).
func intermittentVerdict(runtime, spec string, seen verdicts.Verdict) verdicts.Verdict {
	exps, err := catalogue.Expectations(runtime)
	if e, ok := exps[spec]; err == nil && ok {
		return e.Verdict
	}
	return seen
}
