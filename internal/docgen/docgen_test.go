package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/verdicts"
)

// root is the repository, seen from this package's directory.
const root = "../.."

// TestREADMEGenerated fails when a generated section of README.md differs
// from what the catalogue and the committed findings render: the spec table
// after a spec was added or reworded, the labels after an area was added,
// the findings after docs/findings/matrix.json changed.
func TestREADMEGenerated(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, readmePath))
	if err != nil {
		t.Fatal(err)
	}
	for _, problem := range staleSections(t, string(doc)) {
		t.Error(problem)
	}
}

// staleSections says, per section, where doc differs from a fresh render.
func staleSections(t *testing.T, doc string) []string {
	t.Helper()
	want, err := renderReadme(root, doc)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, name := range sectionNames {
		have, _ := section(doc, name)
		fresh, _ := section(want, name)
		if have == fresh {
			continue
		}
		h, f := strings.Split(have, "\n"), strings.Split(fresh, "\n")
		i := 0
		for i < len(h) && i < len(f) && h[i] == f[i] {
			i++
		}
		at := func(l []string) string {
			if i < len(l) {
				return l[i]
			}
			return "(end of section)"
		}
		out = append(out, "README.md's generated section "+name+" is stale: run `go run ./internal/docgen readme` (or make docs) and commit README.md.\n"+
			"  line "+strconv.Itoa(i+1)+" of the section is\n    "+at(h)+"\n  and should be\n    "+at(f))
	}
	return out
}

// TestStaleWordIsCaught edits one word in each generated section of the
// real README and expects TestREADMEGenerated's check to name that section.
func TestStaleWordIsCaught(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, readmePath))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	edits := map[string][2]string{
		"specs":    {"| preopen | escape | MUST |", "| preopen | leak | MUST |"},
		"labels":   {"`Level:MUST|SHOULD`", "`Level:MUST`"},
		"findings": {"| `env.exact` | pass |", "| `env.exact` | **fail** |"},
	}
	for name, e := range edits {
		body, err := section(doc, name)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(body, e[0]) {
			t.Fatalf("section %s has no %q to edit", name, e[0])
		}
		edited, _ := replaceSection(doc, name, strings.Replace(body, e[0], e[1], 1))
		got := staleSections(t, edited)
		if len(got) != 1 || !strings.Contains(got[0], "section "+name+" is stale") || !strings.Contains(got[0], e[1]) {
			t.Errorf("one word changed in section %s: got %q, want it named as stale with the edited line", name, got)
		}
	}
}

// TestFindingsCoverCatalogue: the committed findings have a row for every
// spec of the catalogue, in catalogue order, and a cell for every runtime,
// so a spec added without `make docs` fails here, where no runtime is
// needed.
func TestFindingsCoverCatalogue(t *testing.T) {
	f, err := readMatrix(filepath.Join(root, findingsPath))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range specRows() {
		ids = append(ids, s.ID)
	}
	if !slices.Equal(f.Specs, ids) {
		t.Errorf("%s lists the specs %v, the catalogue has %v: run make docs and commit it", findingsPath, f.Specs, ids)
	}
	for _, spec := range f.Specs {
		for _, r := range f.Runtimes {
			if _, ok := f.Cells[spec][r.Name]; !ok {
				t.Errorf("%s: no result for %s on %s: run make docs and commit it", findingsPath, spec, r.Name)
			}
		}
	}
}

// TestFindingsCommittedNormalised: the committed file is exactly what
// findings() keeps, byte for byte, so `make docs` on the same results
// gives no diff.
func TestFindingsCommittedNormalised(t *testing.T) {
	path := filepath.Join(root, findingsPath)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := readMatrix(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := marshalFindings(findings(f))
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(b) {
		t.Errorf("%s is not in the form make docs writes: run make docs", findingsPath)
	}
	for _, bad := range []string{`"kernel"`, `"summary"`, `"reason"`, `"run_id"`, `"bounds"`, "CANARY"} {
		if strings.Contains(string(b), bad) {
			t.Errorf("%s holds %s, which varies from run to run", findingsPath, bad)
		}
	}
}

// noisy returns a measured matrix with the committed findings' results and
// everything a real run adds that varies: kernel, bounds, run IDs, counts,
// durations in the summary, reasons quoting random canary tokens.
func noisy(t *testing.T) (*reports.Matrix, *reports.Matrix) {
	t.Helper()
	committed, err := readMatrix(filepath.Join(root, findingsPath))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := readMatrix(filepath.Join(root, findingsPath))
	m.Host.Kernel, m.Host.Bounds, m.Host.HostFiles = "9.9.9-other", []string{"memory: none"}, "not root"
	m.Host.FixtureFS = "tmpfs" // another host, same verdicts: no drift
	for i := range m.Runtimes {
		m.Runtimes[i].Summary = &reports.Summary{RunID: "20990101T000000Z-" + m.Runtimes[i].Name, Runtime: m.Runtimes[i].Name}
	}
	for spec, row := range m.Cells {
		for rt, c := range row {
			c.Reason = "returning \"OUTSIDE-CANARY-" + rt + spec + "\""
			row[rt] = c
		}
	}
	return committed, m
}

func TestDifferencesIgnoreWhatVaries(t *testing.T) {
	committed, measured := noisy(t)
	if d := differences(committed, findings(measured)); len(d) != 0 {
		t.Errorf("a run differing only in kernel, bounds, fixture fs, run IDs, summaries and reasons: got differences %q, want none", d)
	}
}

func TestDifferencesSeeWhatTheREADMEShows(t *testing.T) {
	committed, _ := noisy(t)
	spec, rt := committed.Specs[0], committed.Runtimes[0].Name
	cases := map[string]func(m *reports.Matrix){
		"verdict": func(m *reports.Matrix) {
			c := m.Cells[spec][rt]
			c.Verdict = verdicts.Escape
			m.Cells[spec][rt] = c
		},
		"expected": func(m *reports.Matrix) {
			c := m.Cells[spec][rt]
			c.Expected = !c.Expected
			m.Cells[spec][rt] = c
		},
		"errnos": func(m *reports.Matrix) {
			c := m.Cells[spec][rt]
			c.Errnos = append(slices.Clone(c.Errnos), "NOTCAPABLE")
			m.Cells[spec][rt] = c
		},
		"missing cell":    func(m *reports.Matrix) { delete(m.Cells[spec], rt) },
		"version":         func(m *reports.Matrix) { m.Runtimes[0].Version += "-next" },
		"status":          func(m *reports.Matrix) { m.Runtimes[0].Status = "not installed: gone" },
		"runtime dropped": func(m *reports.Matrix) { m.Runtimes = m.Runtimes[1:] },
		"spec added":      func(m *reports.Matrix) { m.Specs = append(slices.Clone(m.Specs), "new.spec") },
	}
	for name, change := range cases {
		_, measured := noisy(t)
		change(measured)
		if d := differences(committed, findings(measured)); len(d) == 0 {
			t.Errorf("%s changed: no difference found", name)
		}
	}
}

// TestCheck runs the command's check on a real matrix.json in a temp
// repository: quiet when only what varies differs, one line naming make docs
// when a verdict differs.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(root, findingsPath))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "docs/findings"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, findingsPath), b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, measured := noisy(t)
	run := filepath.Join(dir, "matrix.json")
	write := func() {
		if err := measured.WriteFiles(filepath.Join(dir, "matrix.md"), run); err != nil {
			t.Fatal(err)
		}
	}
	write()
	if err := check(dir, run); err != nil {
		t.Fatalf("same results, noisy run: %v", err)
	}
	spec, rt := measured.Specs[0], measured.Runtimes[0].Name
	c := measured.Cells[spec][rt]
	c.Verdict = verdicts.Escape
	measured.Cells[spec][rt] = c
	write()
	err = check(dir, run)
	if err == nil {
		t.Fatal("a verdict changed: check passed")
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	if !strings.Contains(first, "run make docs") || !strings.Contains(first, rt+" "+spec) {
		t.Errorf("first line %q: want it to name %s %s and say to run make docs", first, rt, spec)
	}
}

func TestSectionMarkers(t *testing.T) {
	doc := "a\n" + beginMarker("x") + "\nold\n" + endMarker("x") + "\nb\n"
	got, err := replaceSection(doc, "x", "new")
	if err != nil || got != "a\n"+beginMarker("x")+"\nnew\n"+endMarker("x")+"\nb\n" {
		t.Errorf("replace: %q, %v", got, err)
	}
	for _, bad := range []string{
		"no markers\n",
		beginMarker("x") + "\n",                  // no end
		endMarker("x") + "\n" + beginMarker("x"), // reversed
		beginMarker("x") + "\n" + endMarker("x") + "\n" + beginMarker("x") + "\n" + endMarker("x") + "\n", // twice
	} {
		if _, err := replaceSection(bad, "x", "new"); err == nil {
			t.Errorf("%q: replaced, want an error", bad)
		}
	}
}

// TestSpecTableEscapes: a rule holding a pipe does not break the table.
func TestSpecTableEscapes(t *testing.T) {
	got := specTable([]specRow{{ID: "a.b", Area: "a", Severity: "escape", Level: "MUST", Rule: "x | y", Ref: "https://github.com/x"}})
	if !strings.Contains(got, "| [`a.b`](https://github.com/x) | a | escape | MUST | x \\| y |") {
		t.Errorf("table:\n%s", got)
	}
}

// TestCountTable: each cell counts once, by its verdict and its spec's
// severity, and expected failures and notes are summed beside.
func TestCountTable(t *testing.T) {
	specs := []specRow{
		{ID: "a.esc", Severity: "escape"}, {ID: "a.dos", Severity: "dos"}, {ID: "a.conf", Severity: "conformance"},
		{ID: "a.crash", Severity: "escape"}, {ID: "a.skip", Severity: "leak"}, {ID: "a.pass", Severity: "escape"},
	}
	m := &reports.Matrix{
		Runtimes: []reports.MatrixRuntime{{Name: "rt", Version: "1"}},
		Specs:    []string{"a.esc", "a.dos", "a.conf", "a.crash", "a.skip", "a.pass"},
		Cells: map[string]map[string]reports.Cell{
			"a.esc":   {"rt": {Verdict: verdicts.Escape, Expected: true}},
			"a.dos":   {"rt": {Verdict: verdicts.Crash}},
			"a.conf":  {"rt": {Verdict: verdicts.Fail, Notes: 2}},
			"a.crash": {"rt": {Verdict: verdicts.Timeout}},
			"a.skip":  {"rt": {Verdict: verdicts.Skipped}},
			"a.pass":  {"rt": {Verdict: verdicts.Pass, Notes: 1}},
		},
	}
	want := "| rt 1 | 6 | 1 | 1 | 0 | 1 | 1 | 1 | 3 | 1 | 1 |"
	if got := countTable(specs, m); !strings.Contains(got, want) {
		t.Errorf("countTable:\n%s\nwant the row %s", got, want)
	}
}
