// Package htmlreport renders canonical result records (package records) as
// one self-contained HTML page: a summary per runtime and architecture on
// top, then the matrix of specs (rows, grouped by area) by runtimes and
// architectures (columns), each cell the verdict before expectations,
// coloured, and for a failing cell the errnos that made the difference and
// the reference (the expectation's, else the spec's). Controls filter the
// rows by area, severity, level and failure.
//
// The page loads nothing: its CSS and script are inline and its
// Content-Security-Policy (default-src 'none') forbids every fetch, so it
// reads the same from a CI artifact, a mail attachment or a laptop offline.
// Links to references are plain anchors, followed only when clicked.
package htmlreport

import (
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/wasicert/wasicert/compare"
	"github.com/wasicert/wasicert/records"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

//go:embed page.html.tmpl
var pageTemplate string

var page = template.Must(template.New("page").Parse(pageTemplate))

// Verdicts lists the verdicts a record can hold, in the order the summary
// counts them.
var Verdicts = []verdicts.Verdict{
	verdicts.Pass, verdicts.Escape, verdicts.Leak, verdicts.Fail,
	verdicts.Crash, verdicts.Timeout, verdicts.Interrupted, verdicts.Skipped,
}

// maxErrnos is how many differing calls a cell lists; the rest are counted
// and listed in its tooltip.
const maxErrnos = 3

// Render writes the page for sets (compare.Load), the rows' rules and
// references taken from specs (catalogue.All()); a spec the records hold
// and specs do not (records of another wasicert) keeps its row, without a
// rule.
func Render(w io.Writer, sets []*compare.Set, specs []suites.Spec) error {
	if len(sets) == 0 {
		return fmt.Errorf("htmlreport: no records to render")
	}
	return page.Execute(w, build(sets, specs))
}

// Page is what the template renders.
type Page struct {
	Title   string
	Columns []Column
	Areas   []Area
	// Filter choices, in catalogue order.
	AreaNames, Severities, Levels []string
	Total                         int
	Verdicts                      []verdicts.Verdict
	// Env lines: wasicert versions, probe sets, hosts.
	Wasicert, Probes, Hosts []string
}

// Column is one record set: a runtime on an architecture.
type Column struct {
	Runtime, Version, Arch, Emulated, OS, Kernel, Source string
	Summary                                              Summary
}

// Where says native or emulated, for the column head.
func (c Column) Where() string {
	if c.Emulated != "" {
		return "emulated (" + c.Emulated + ")"
	}
	return "native"
}

// Summary counts a column's verdicts before expectations.
type Summary struct {
	Counts []Count
	// Expected: failing verdicts an expectation covers; Unexpected: the
	// failing verdicts no expectation covers (what fails a run);
	// UnexpectedPass: passes where an expectation said it would fail.
	Expected, Unexpected, UnexpectedPass, Total int
}

// Count is one verdict's count in a summary, with how many of them an
// expectation covers.
type Count struct {
	Verdict  verdicts.Verdict
	N        int
	Expected int
}

// Area is one area's rows.
type Area struct {
	Name string
	Rows []Row
}

// Row is one spec across the columns.
type Row struct {
	ID, Area, Severity, Level, Rule, Ref string
	Refs                                 []string
	// Failing: some cell failed; Unexpected: some cell failed and no
	// expectation covers it.
	Failing, Unexpected bool
	Cells               []Cell
}

// Cell is one column's record of a spec.
type Cell struct {
	Verdict verdicts.Verdict // "" when the column has no record of the spec
	Failing bool
	// Expected: an expectation covers this failing verdict;
	// UnexpectedPass: an expectation said it would fail and it passed.
	Expected, UnexpectedPass, Intermittent bool
	// Errnos are the calls that differ from a passing run of the spec (or,
	// with none, the calls that failed), "check: ERRNO (pass: ERRNO)", at
	// most maxErrnos; More counts the rest.
	Errnos []string
	More   int
	// Ref is the expectation's reference, else the spec's.
	Ref string
	// Odd: the record differs from the one most runtimes on this
	// architecture hold (compare.Group.Table).
	Odd bool
	// Title is the tooltip: causes and every differing call.
	Title string
}

// Class is the cell's CSS class.
func (c Cell) Class() string {
	if c.Verdict == "" {
		return "v-none"
	}
	s := "v-" + string(c.Verdict)
	if c.Expected {
		s += " xf"
	}
	if c.UnexpectedPass {
		s += " xp"
	}
	if c.Odd {
		s += " odd"
	}
	return s
}

// RefText is a short text for the cell's reference link.
func (c Cell) RefText() string { return refText(c.Ref) }

// refText shortens a reference URL to its host and last path element.
func refText(ref string) string {
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" {
		return ref
	}
	host := strings.TrimPrefix(u.Host, "www.")
	p := strings.Trim(u.Path, "/")
	if i := strings.LastIndex(p, "/"); i >= 0 {
		p = p[i+1:]
	}
	s := host
	if p != "" {
		s += "/…/" + p
	}
	if u.Fragment != "" {
		s += "#" + u.Fragment
	}
	return s
}

// Failing says whether a verdict is a failure (before expectations).
func Failing(v verdicts.Verdict) bool {
	switch v {
	case verdicts.Escape, verdicts.Leak, verdicts.Fail, verdicts.Crash, verdicts.Timeout, verdicts.Interrupted:
		return true
	}
	return false
}

func build(sets []*compare.Set, specs []suites.Spec) Page {
	sets = ordered(sets)
	p := Page{Title: "wasicert report", Verdicts: Verdicts}
	byID := map[string]suites.Spec{}
	for _, s := range specs {
		byID[s.ID] = s
	}

	// Rows: catalogue order, then specs the catalogue does not know.
	seen := map[string]bool{}
	var ids []string
	for _, s := range specs {
		for _, set := range sets {
			if _, ok := set.Records[s.ID]; ok && !seen[s.ID] {
				seen[s.ID] = true
				ids = append(ids, s.ID)
			}
		}
	}
	var unknown []string
	for _, set := range sets {
		for _, id := range set.Specs {
			if !seen[id] {
				seen[id] = true
				unknown = append(unknown, id)
			}
		}
	}
	slices.Sort(unknown)
	ids = append(ids, unknown...)

	odd := oddCells(sets)
	for _, set := range sets {
		col := Column{
			Runtime: set.Env.Runtime, Version: set.Env.RuntimeVersion, Arch: set.Env.Arch,
			Emulated: set.Env.Emulated, OS: set.Env.OS, Kernel: set.Env.Kernel, Source: set.Source,
		}
		col.Summary = summarise(set)
		p.Columns = append(p.Columns, col)
		p.Wasicert = addOnce(p.Wasicert, set.Env.Wasicert)
		p.Probes = addOnce(p.Probes, set.Env.Probes)
		p.Hosts = addOnce(p.Hosts, strings.TrimSpace(set.Env.OS+" "+set.Env.Kernel))
	}

	areaIdx := map[string]int{}
	sevSeen, lvlSeen := map[string]bool{}, map[string]bool{}
	for _, id := range ids {
		row := Row{ID: id}
		if s, ok := byID[id]; ok {
			row.Area, row.Severity, row.Level = string(s.Area), string(s.Severity), string(s.Level)
			row.Rule, row.Ref, row.Refs = s.Rule, s.Ref, s.Refs
		} else {
			for _, set := range sets {
				if r, ok := set.Records[id]; ok {
					row.Area, row.Severity, row.Level = r.Area, r.Severity, r.Level
					break
				}
			}
		}
		for _, set := range sets {
			r, ok := set.Records[id]
			if !ok {
				row.Cells = append(row.Cells, Cell{})
				continue
			}
			c := cell(r, passing(sets, set, id), row.Ref)
			c.Odd = odd[oddKey{set, id}]
			row.Failing = row.Failing || c.Failing
			row.Unexpected = row.Unexpected || (c.Failing && !c.Expected)
			row.Cells = append(row.Cells, c)
		}
		i, ok := areaIdx[row.Area]
		if !ok {
			i = len(p.Areas)
			areaIdx[row.Area] = i
			p.Areas = append(p.Areas, Area{Name: row.Area})
			p.AreaNames = append(p.AreaNames, row.Area)
		}
		p.Areas[i].Rows = append(p.Areas[i].Rows, row)
		if !sevSeen[row.Severity] {
			sevSeen[row.Severity] = true
			p.Severities = append(p.Severities, row.Severity)
		}
		if !lvlSeen[row.Level] {
			lvlSeen[row.Level] = true
			p.Levels = append(p.Levels, row.Level)
		}
		p.Total++
	}
	return p
}

func addOnce(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// ordered sorts the sets into columns: runtimes in the order first read,
// each runtime's architectures side by side, a native amd64 run first.
func ordered(sets []*compare.Set) []*compare.Set {
	first := map[string]int{}
	for i, s := range sets {
		if _, ok := first[s.Env.Runtime]; !ok {
			first[s.Env.Runtime] = i
		}
	}
	out := slices.Clone(sets)
	slices.SortStableFunc(out, func(a, b *compare.Set) int {
		return cmp.Or(
			cmp.Compare(first[a.Env.Runtime], first[b.Env.Runtime]),
			cmp.Compare(rank(a), rank(b)),
			cmp.Compare(a.Env.Arch, b.Env.Arch),
			cmp.Compare(a.Env.Emulated, b.Env.Emulated),
		)
	})
	return out
}

func rank(s *compare.Set) int {
	switch {
	case s.Env.Emulated != "":
		return 2
	case s.Env.Arch == "amd64":
		return 0
	}
	return 1
}

func summarise(set *compare.Set) Summary {
	var s Summary
	counts := map[verdicts.Verdict]*Count{}
	for _, v := range Verdicts {
		counts[v] = &Count{Verdict: v}
	}
	for _, id := range set.Specs {
		r := set.Records[id]
		c := counts[r.Verdict]
		if c == nil {
			c = &Count{Verdict: r.Verdict}
			counts[r.Verdict] = c
		}
		c.N++
		s.Total++
		switch {
		case Failing(r.Verdict) && covered(r):
			c.Expected++
			s.Expected++
		case Failing(r.Verdict):
			s.Unexpected++
		case r.Verdict == verdicts.Pass && r.Expected != nil:
			s.UnexpectedPass++
		}
	}
	for _, v := range Verdicts {
		s.Counts = append(s.Counts, *counts[v])
	}
	return s
}

// covered says whether the record's expectation covers its verdict (the
// verdict after expectations is expected-failure).
func covered(r records.Record) bool {
	return r.Expected != nil && r.Expected.Verdict == r.Verdict
}

// passing finds a passing record of spec to compare a failing one with:
// on the same architecture first, else anywhere; nil when none passed.
func passing(sets []*compare.Set, self *compare.Set, spec string) *records.Record {
	var other *records.Record
	for _, s := range sets {
		if s == self {
			continue
		}
		r, ok := s.Records[spec]
		if !ok || r.Verdict != verdicts.Pass || r.Racy {
			continue
		}
		if s.Env.Arch == self.Env.Arch && s.Env.Emulated == self.Env.Emulated {
			return &r
		}
		if other == nil {
			other = &r
		}
	}
	return other
}

func cell(r records.Record, pass *records.Record, specRef string) Cell {
	c := Cell{Verdict: r.Verdict, Failing: Failing(r.Verdict)}
	if r.Expected != nil {
		c.Intermittent = r.Expected.Intermittent
		c.Expected = c.Failing && covered(r)
		c.UnexpectedPass = r.Verdict == verdicts.Pass
	}
	var title []string
	if c.Expected {
		title = append(title, "expected failure: "+r.Expected.Reference)
	}
	if c.UnexpectedPass {
		title = append(title, "passed, but expected "+string(r.Expected.Verdict)+": "+r.Expected.Reference)
	}
	if !c.Failing {
		c.Title = strings.Join(title, "\n")
		return c
	}
	c.Ref = specRef
	if r.Expected != nil && r.Expected.Reference != "" {
		c.Ref = r.Expected.Reference
	}
	all := differing(r, pass)
	if len(all) > maxErrnos {
		c.Errnos, c.More = all[:maxErrnos], len(all)-maxErrnos
	} else {
		c.Errnos = all
	}
	if len(r.Causes) > 0 {
		title = append(title, "causes: "+strings.Join(r.Causes, ", "))
	}
	if len(all) > 0 {
		if pass != nil {
			title = append(title, "calls that differ from "+pass.Env.Label()+"'s passing run:")
		} else {
			title = append(title, "calls that failed (no runtime passed):")
		}
		title = append(title, all...)
	}
	if len(c.Errnos) == 0 && len(r.Causes) > 0 {
		// Nothing any call answered tells it apart (a canary in the
		// output, a crash): the evidence does.
		c.Errnos = []string{r.Causes[0]}
	}
	c.Title = strings.Join(title, "\n")
	return c
}

// differing lists the calls of r whose errno differs from the passing
// run's call with the same check and op (the n-th such call), or that the
// passing run did not make; with no passing run, the calls that failed.
func differing(r records.Record, pass *records.Record) []string {
	var out []string
	add := func(s string) {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	name := func(c records.Call) string {
		if c.Check != "" {
			return c.Check
		}
		return c.Op
	}
	if pass == nil {
		for _, c := range r.Calls {
			if c.Outcome != "ok" && c.Errno != "" && c.Errno != "SUCCESS" {
				add(name(c) + ": " + c.Errno)
			}
		}
		return out
	}
	type key struct{ check, op string }
	theirs := map[key][]records.Call{}
	for _, c := range pass.Calls {
		k := key{c.Check, c.Op}
		theirs[k] = append(theirs[k], c)
	}
	n := map[key]int{}
	for _, c := range r.Calls {
		k := key{c.Check, c.Op}
		i := n[k]
		n[k]++
		if i >= len(theirs[k]) {
			add(name(c) + ": " + c.Errno + " (pass: no such call)")
			continue
		}
		if p := theirs[k][i]; p.Errno != c.Errno {
			add(name(c) + ": " + c.Errno + " (pass: " + p.Errno + ")")
		}
	}
	return out
}

type oddKey struct {
	set  *compare.Set
	spec string
}

// oddCells marks the records that differ from the one most runtimes on
// their architecture hold (the differential table of wasicert compare
// --by runtime).
func oddCells(sets []*compare.Set) map[oddKey]bool {
	out := map[oddKey]bool{}
	for _, g := range compare.ByRuntime(sets) {
		if len(g.Sets) < 3 {
			// With two, neither is the odd one out.
			continue
		}
		rows, _ := g.Table()
		for _, row := range rows {
			for i, c := range row.Cells {
				if c.Odd && !row.Split {
					out[oddKey{g.Sets[i], row.Spec}] = true
				}
			}
		}
	}
	return out
}
