package reports

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/wasicert/wasicert/verdicts"
)

// Matrix is a side-by-side table: one row per spec, one column per runtime,
// each cell the verdict and the errnos the runtime gave.
type Matrix struct {
	// Host is where the matrix was measured.
	Host     Host            `json:"host"`
	Runtimes []MatrixRuntime `json:"runtimes"`
	Specs    []string        `json:"specs"`
	// Cells[spec][runtime]
	Cells map[string]map[string]Cell `json:"cells"`
}

// MatrixRuntime is one column: a runtime and how its run went.
type MatrixRuntime struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Status is "ran", or why the runtime has no results ("not installed: ...").
	Status string `json:"status"`
	// Summary counts its verdicts, when it ran.
	Summary *Summary `json:"summary,omitempty"`
}

// Cell is one runtime's result on one spec.
type Cell struct {
	// Verdict is the actual verdict, before expectations.
	Verdict verdicts.Verdict `json:"verdict"`
	// Expected marks a known deviation from the runtime's expectations file.
	Expected bool `json:"expected,omitempty"`
	// Errnos are the distinct errors the runtime answered, in call order.
	Errnos []string `json:"errnos,omitempty"`
	// Intermittent marks a cell whose known deviation does not show on
	// every run (verdicts.Expectation.Intermittent).
	Intermittent bool `json:"intermittent,omitempty"`
	// Notes counts the record's conformance notes.
	Notes  int    `json:"notes,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// NewMatrix starts a matrix over specs (row order).
func NewMatrix(specs []string) *Matrix {
	return &Matrix{Specs: specs, Cells: map[string]map[string]Cell{}}
}

// AddRuntime adds one runtime's column from its records.
func (m *Matrix) AddRuntime(name, status string, records []verdicts.Record) {
	col := MatrixRuntime{Name: name, Status: status}
	if len(records) > 0 {
		s := Summarize(records)
		col.Summary, col.Version = &s, records[0].Version
	}
	m.Runtimes = append(m.Runtimes, col)
	for _, r := range records {
		c := Cell{Verdict: r.Actual, Expected: r.Expectation != nil && r.Verdict == verdicts.ExpectedFailure, Notes: len(r.Notes), Reason: r.Reason}
		if r.Expectation != nil && r.Expectation.Intermittent {
			c.Intermittent = true
		}
		for _, call := range r.Calls {
			if call.Outcome != "ok" && !slices.Contains(c.Errnos, call.Errno) {
				c.Errnos = append(c.Errnos, call.Errno)
			}
		}
		if m.Cells[r.Spec] == nil {
			m.Cells[r.Spec] = map[string]Cell{}
		}
		m.Cells[r.Spec][name] = c
	}
}

// String renders a cell compactly: "pass (PERM)", "escape*", "skipped".
func (c Cell) String() string {
	s := string(c.Verdict)
	if c.Verdict != verdicts.Pass {
		s = "**" + s + "**"
	}
	if c.Expected {
		s += "\\*"
	}
	if c.Intermittent {
		s += " (intermittent)"
	}
	if len(c.Errnos) > 0 && c.Verdict != verdicts.Skipped {
		s += " (" + strings.Join(c.Errnos, ", ") + ")"
	}
	return s
}

// WriteMarkdown renders the matrix as a Markdown table with a legend.
func (m *Matrix) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| spec |")
	for _, r := range m.Runtimes {
		fmt.Fprintf(&b, " %s %s |", r.Name, r.Version)
	}
	b.WriteString("\n|---|")
	for range m.Runtimes {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, spec := range m.Specs {
		fmt.Fprintf(&b, "| `%s` |", spec)
		for _, r := range m.Runtimes {
			c, ok := m.Cells[spec][r.Name]
			switch {
			case ok:
				fmt.Fprintf(&b, " %s |", c)
			case r.Status != "ran":
				b.WriteString(" - |")
			default:
				b.WriteString(" (no result) |")
			}
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nMeasured on %s/%s", m.Host.OS, m.Host.Arch)
	if m.Host.Kernel != "" { // left out of the committed findings, which must not depend on the host's kernel build
		fmt.Fprintf(&b, ", kernel %s", m.Host.Kernel)
	}
	if m.Host.FixtureFS != "" {
		fmt.Fprintf(&b, ", fixtures on %s", m.Host.FixtureFS)
	}
	b.WriteString(". ")
	b.WriteString("Cells: the verdict before expectations, then the errnos the runtime answered (non-success calls, in order). `\\*` marks a known deviation recorded in the runtime's expectations file; (intermittent) one that shows on some runs only, kept as the deviation whatever one run showed.\n")
	for _, r := range m.Runtimes {
		if r.Status != "ran" {
			fmt.Fprintf(&b, "\n- %s: %s", r.Name, r.Status)
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteFiles writes the matrix as Markdown and JSON, atomically.
func (m *Matrix) WriteFiles(mdPath, jsonPath string) error {
	var md strings.Builder
	if err := m.WriteMarkdown(&md); err != nil {
		return err
	}
	if err := WriteFileAtomic(mdPath, []byte(md.String())); err != nil {
		return err
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(jsonPath, append(js, '\n'))
}

// ReadStream reads a results stream written by Stream; a torn last line
// (a run killed mid-write) is skipped.
func ReadStream(path string) ([]verdicts.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []verdicts.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for sc.Scan() {
		var r verdicts.Record
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Spec != "" {
			out = append(out, r)
		}
	}
	return out, sc.Err()
}
