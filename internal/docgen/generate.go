package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/suites/catalogue"
)

// specRow is what the README shows of one spec: the fields `wasicert list`
// prints.
type specRow struct {
	ID, Area, Severity, Level, Rule, Ref string
}

// specRows is the one place that knows where the specs live.
func specRows() []specRow {
	var rows []specRow
	for _, s := range catalogue.All() {
		rows = append(rows, specRow{
			ID: s.ID, Area: string(s.Area), Severity: string(s.Severity), Level: string(s.Level),
			Rule: s.Rule, Ref: s.Ref,
		})
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
		"labels":   labelLine(specs),
		"findings": md.String(),
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
