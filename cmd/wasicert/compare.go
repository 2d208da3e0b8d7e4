package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/wasicert/wasicert/compare"
	"github.com/wasicert/wasicert/reports"
)

const compareUsage = `usage: wasicert compare [--by arch|runtime] [--json FILE] [-v] RECORDS...

RECORDS are canonical records files (wasicert run --records, wasicert matrix's
records.jsonl) or directories holding them. --by arch (the default) compares
each runtime across architectures, against a native amd64 run where there is
one; --by runtime prints the differential table across runtimes, one row per
spec, the odd one out marked. Exit 0: no real divergence; 1: a real one;
2: bad input.
`

// cmdCompare compares canonical records across architectures or runtimes.
func cmdCompare(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("compare")
	by := fs.String("by", "arch", "compare each runtime across architectures (`arch`) or the runtimes on each architecture (runtime)")
	jsonOut := fs.String("json", "", "also write every divergence as JSON to `FILE`")
	verbose := fs.Bool("v", false, "also list the specs not compared (skipped or not run on one side) and, --by runtime, every odd cell's differences")
	paths, help, err := parseArgs(fs, args, stdout)
	if help || err != nil {
		if help {
			fmt.Fprint(stdout, compareUsage)
		}
		return exitPass, err
	}
	if *by != "arch" && *by != "runtime" {
		return exitUsage, usagef("compare: --by %q: use arch or runtime", *by)
	}
	if len(paths) == 0 {
		return exitUsage, usagef("compare: no records given: name records files or directories (wasicert run --records FILE writes one)")
	}
	if err := reports.CheckWritable(*jsonOut); err != nil {
		return exitUsage, usageError{err.Error()}
	}
	sets, err := compare.Load(paths)
	if err != nil {
		return exitUsage, usageError{err.Error()}
	}
	var groups []compare.Group
	if *by == "arch" {
		groups = compare.ByArch(sets)
	} else {
		groups = compare.ByRuntime(sets)
	}
	compared := 0
	for _, g := range groups {
		if len(g.Sets) > 1 {
			compared++
		}
		for _, s := range g.Sets[1:] {
			if s.Env.Probes != g.Sets[0].Env.Probes {
				return exitUsage, usagef("compare: %s (%s) and %s (%s) ran different probe sets (%s, %s): compare records of one probe set",
					g.Sets[0].Label(), g.Sets[0].Source, s.Label(), s.Source, short(g.Sets[0].Env.Probes), short(s.Env.Probes))
			}
		}
	}
	if compared == 0 {
		what := "one runtime from two architectures"
		if *by == "runtime" {
			what = "two runtimes from one architecture"
		}
		return exitUsage, usagef("compare: nothing to compare by %s in %d record set(s): give records of %s", *by, len(sets), what)
	}

	var all []compare.Divergence
	for _, g := range groups {
		if len(g.Sets) < 2 {
			fmt.Fprintf(stdout, "compare: %s: only %s; nothing to compare it with\n", g.Name, g.Sets[0].Label())
			continue
		}
		var ds []compare.Divergence
		if *by == "arch" {
			labels := make([]string, 0, len(g.Sets))
			for _, s := range g.Sets[1:] {
				labels = append(labels, s.Label())
			}
			fmt.Fprintf(stdout, "compare: %s: baseline %s (%d specs) vs %s\n", g.Name, g.Sets[0].Label(), len(g.Sets[0].Specs), strings.Join(labels, ", "))
			ds = g.Baseline()
		} else {
			var rows []compare.Row
			rows, ds = g.Table()
			writeTable(stdout, g, rows)
		}
		// Across runtimes every odd cell has its details; they are many, so
		// they are printed on request. Across architectures, always.
		if *by == "arch" || *verbose {
			writeDivergences(stdout, ds, *verbose)
		}
		all = append(all, ds...)
	}
	n := compare.Count(all)
	fmt.Fprintf(stdout, "compare: %d set(s) in %d group(s): %d real, %d intermittent, %d allowed by WASI, %d allowed by the WebAssembly spec, %d not compared\n",
		len(sets), compared, n[compare.Real], n[compare.Intermittent], n[compare.WASILatitude], n[compare.WasmNaN], n[compare.NotCompared])
	if *jsonOut != "" {
		if all == nil {
			all = []compare.Divergence{}
		}
		b, _ := json.MarshalIndent(all, "", "  ")
		if err := reports.WriteFileAtomic(*jsonOut, append(b, '\n')); err != nil {
			return exitUsage, err
		}
	}
	if n[compare.Real] > 0 {
		return exitFail, nil
	}
	return exitPass, nil
}

func short(digest string) string {
	d := strings.TrimPrefix(digest, "sha256:")
	if len(d) > 12 {
		d = d[:12]
	}
	return d
}

// writeDivergences prints the divergences spec by spec, the spec's worst
// class first.
func writeDivergences(w io.Writer, ds []compare.Divergence, verbose bool) {
	type key struct{ spec, a, b string }
	var order []key
	by := map[key][]compare.Divergence{}
	for _, d := range ds {
		k := key{d.Spec, d.A, d.B}
		if _, ok := by[k]; !ok {
			order = append(order, k)
		}
		by[k] = append(by[k], d)
	}
	for _, k := range order {
		group := by[k]
		worst := compare.Worst(group)
		if worst == compare.NotCompared && !verbose {
			continue
		}
		fmt.Fprintf(w, "  %s: %s: %s vs %s\n", k.spec, strings.ToUpper(string(worst)), k.a, k.b)
		for _, d := range group {
			line := fmt.Sprintf("      %s: %q | %q", d.What, d.ValueA, d.ValueB)
			if d.Class != compare.Real {
				line += " [" + string(d.Class) + ": " + d.Why + "]"
			}
			fmt.Fprintln(w, line)
		}
	}
}

// writeTable prints the differential table: one row per spec, a cell per
// runtime, a record that differs from the majority's marked with '*'.
func writeTable(w io.Writer, g compare.Group, rows []compare.Row) {
	fmt.Fprintf(w, "compare: %d runtimes on %s ('*': differs from the most common record; odd one out: who differs from the record more than half hold)\n\n", len(g.Sets), g.Name)
	head := []string{"spec"}
	for _, s := range g.Sets {
		head = append(head, s.Env.Runtime)
	}
	head = append(head, "odd one out")
	fmt.Fprintln(w, "| "+strings.Join(head, " | ")+" |")
	fmt.Fprintln(w, "|"+strings.Repeat("---|", len(head)))
	for _, r := range rows {
		cells := []string{r.Spec}
		for _, c := range r.Cells {
			v := string(c.Verdict)
			if v == "" {
				v = "-"
			}
			if c.Odd {
				v += "*"
			}
			cells = append(cells, v)
		}
		odd := ""
		switch {
		case r.Split:
			odd = "(no majority)"
		case len(r.Odd) > 0:
			odd = strings.Join(slices.Compact(r.Odd), ", ")
		}
		cells = append(cells, odd)
		fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
	}
	fmt.Fprintln(w)
}
