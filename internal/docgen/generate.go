package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// specRow is what the README shows of one spec: what `wasicert list`
// prints.
type specRow = suites.Description

// specRows is the one place that knows where the specs live.
func specRows() []specRow {
	var rows []specRow
	for _, s := range catalogue.All() {
		rows = append(rows, s.Describe())
	}
	return rows
}

// sections renders every generated section of README.md, by marker name,
// from the catalogue and the committed findings.
func sections(specs []specRow, findings *reports.Matrix) (map[string]string, error) {
	var md strings.Builder
	if err := findings.WriteMarkdown(&md); err != nil {
		return nil, err
	}
	return map[string]string{
		"specs":    specTable(specs),
		"groups":   groupTable(specs),
		"labels":   labelLine(specs),
		"findings": md.String(),
		"counts":   countTable(specs, findings),
	}, nil
}

// specTable is the README's "What it checks" table: one row per spec, the
// spec's ID linking its source.
func specTable(specs []specRow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d specs in %d areas:\n\n", len(specs), len(distinct(specs, func(s specRow) string { return s.Area })))
	b.WriteString("| spec | area | severity | level | rule |\n|---|---|---|---|---|\n")
	for _, s := range specs {
		id := "`" + s.ID + "`"
		if s.Ref != "" {
			id = "[" + id + "](" + s.Ref + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", id, s.Area, s.Severity, s.Level, cell(s.Rule))
	}
	return b.String()
}

// groupNames are the catalogue's groups (capability-catalogue.md Part D),
// by suites.Area.Group number.
var groupNames = map[int]string{
	1: "preopen isolation", 2: "path traversal", 3: "symlinks", 4: "hard links and renames",
	5: "fd management", 6: "rights", 7: "environment and arguments", 8: "clocks, random, poll",
	9: "sockets", 10: "proc_exit and exit codes", 11: "stdio", 12: "resource bounds",
	13: "containerd shim (containers only)", 14: "portability (deterministic results)", 15: "container engine (Docker in front of the shim)",
	16: "Kubernetes pods (kubelet through the CRI)",
}

// groupTable counts the specs of each catalogue group, by severity.
func groupTable(specs []specRow) string {
	var b strings.Builder
	b.WriteString("| group | areas | specs | escape | leak | dos | conformance |\n|---|---|---|---|---|---|---|\n")
	for g := 1; g <= len(groupNames); g++ {
		var in []specRow
		for _, s := range specs {
			if s.Group == g {
				in = append(in, s)
			}
		}
		count := func(sev suites.Severity) int {
			n := 0
			for _, s := range in {
				if s.Severity == string(sev) {
					n++
				}
			}
			return n
		}
		areas := distinct(in, func(s specRow) string { return "`" + s.Area + "`" })
		fmt.Fprintf(&b, "| %d. %s | %s | %d | %d | %d | %d | %d |\n", g, groupNames[g], strings.Join(areas, ", "), len(in),
			count(suites.SeverityEscape), count(suites.SeverityLeak), count(suites.SeverityDoS), count(suites.SeverityConformance))
	}
	return b.String()
}

// countTable sums the findings per runtime: the verdict before
// expectations (escape, leak; dos and conformance are a failing spec of
// that severity), the conformance notes, the non-passing cells an
// expectation covers, and the skips.
func countTable(specs []specRow, m *reports.Matrix) string {
	severity := map[string]string{}
	for _, s := range specs {
		severity[s.ID] = s.Severity
	}
	var b strings.Builder
	b.WriteString("| runtime | specs | pass | escape | leak | dos | crash | conformance | notes | expected | skipped |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, rt := range m.Runtimes {
		var n struct{ all, pass, escape, leak, dos, crash, conf, notes, expected, skipped int }
		for _, id := range m.Specs {
			c, ok := m.Cells[id][rt.Name]
			if !ok {
				continue
			}
			n.all++
			n.notes += c.Notes
			if c.Expected {
				n.expected++
			}
			switch {
			case c.Verdict == verdicts.Pass:
				n.pass++
			case c.Verdict == verdicts.Skipped:
				n.skipped++
			case c.Verdict == verdicts.Escape:
				n.escape++
			case c.Verdict == verdicts.Leak:
				n.leak++
			case severity[id] == string(suites.SeverityDoS):
				n.dos++
			case c.Verdict != verdicts.Fail:
				n.crash++
			default:
				n.conf++
			}
		}
		name := rt.Name
		if rt.Version != "" {
			name += " " + rt.Version
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d |\n", cell(name), n.all, n.pass, n.escape, n.leak, n.dos, n.crash, n.conf, n.notes, n.expected, n.skipped)
	}
	b.WriteString("\nPass, escape, leak, dos and conformance count each cell once by its verdict before expectations (dos: a failing, crashing or timed-out spec of that severity; crash: a crash or timeout of any other spec; conformance: any other failure); expected counts the non-passing cells a runtime's expectations file covers; notes are conformance notes (an errno outside the accepted set, a step not exercised).\n")
	return b.String()
}

// labelLine lists the values of the three label kinds, in catalogue order.
func labelLine(specs []specRow) string {
	kind := func(name string, of func(specRow) string) string {
		return "`" + name + ":" + strings.Join(distinct(specs, of), "|") + "`"
	}
	return "Every spec has three labels: " +
		kind("Area", func(s specRow) string { return s.Area }) + ", " +
		kind("Severity", func(s specRow) string { return s.Severity }) + ", " +
		kind("Level", func(s specRow) string { return s.Level }) + ".\n"
}

// distinct lists the values of one field, in order of first appearance.
func distinct(specs []specRow, of func(specRow) string) []string {
	var out []string
	for _, s := range specs {
		if v := of(s); !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// cell escapes text for one Markdown table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// Markers delimit a generated section: everything between them is rewritten
// by `make docs`.
func beginMarker(name string) string { return "<!-- BEGIN generated: " + name + " -->" }
func endMarker(name string) string   { return "<!-- END generated: " + name + " -->" }

// section returns the body between a section's markers.
func section(doc, name string) (string, error) {
	start, end, err := bounds(doc, name)
	if err != nil {
		return "", err
	}
	return doc[start:end], nil
}

// replaceSection returns doc with the body between name's markers replaced.
func replaceSection(doc, name, body string) (string, error) {
	start, end, err := bounds(doc, name)
	if err != nil {
		return "", err
	}
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	return doc[:start] + body + doc[end:], nil
}

// bounds finds the body of a section: from the line after its BEGIN marker
// to the start of its END marker's line.
func bounds(doc, name string) (start, end int, err error) {
	begin, stop := beginMarker(name), endMarker(name)
	if n := strings.Count(doc, begin); n != 1 {
		return 0, 0, fmt.Errorf("%d lines %q, want one: put the section's markers back (%s ... %s)", n, begin, begin, stop)
	}
	if n := strings.Count(doc, stop); n != 1 {
		return 0, 0, fmt.Errorf("%d lines %q, want one after %q", n, stop, begin)
	}
	b := strings.Index(doc, begin)
	nl := strings.IndexByte(doc[b:], '\n')
	if nl < 0 {
		return 0, 0, fmt.Errorf("%q ends the file: the section needs its end marker %q after it", begin, stop)
	}
	start = b + nl + 1
	end = strings.Index(doc, stop)
	if end < start || (end > 0 && doc[end-1] != '\n') {
		return 0, 0, fmt.Errorf("%q must start a line after %q", stop, begin)
	}
	return start, end, nil
}
