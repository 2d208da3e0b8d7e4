package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/wasicert/wasicert/compare"
	"github.com/wasicert/wasicert/records"
	"github.com/wasicert/wasicert/verdicts"
)

// diffLine is one spec that changed between two result sets.
type diffLine struct {
	kind, label, spec, detail string
}

// Kinds of change, in report order.
const (
	diffNewlyFailing = "newly failing"
	diffNewlyPassing = "newly passing"
	diffChanged      = "changed"
)

// cmdDiff compares two result sets (records files, directories holding
// them, or certification bundles): what newly fails, what newly passes and
// what answers differently. Exit 1 when something newly fails.
func cmdDiff(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("diff")
	paths, help, err := parseArgs(fs, args, stdout)
	if help || err != nil {
		return exitPass, err
	}
	if len(paths) != 2 {
		return exitUsage, usagef("diff: give OLD and NEW (records files, directories holding records.jsonl, or bundles), got %d arguments", len(paths))
	}
	old, err := compare.Load(paths[:1])
	if err != nil {
		return exitUsage, usageError{strings.Replace(err.Error(), "compare:", "diff:", 1)}
	}
	cur, err := compare.Load(paths[1:])
	if err != nil {
		return exitUsage, usageError{strings.Replace(err.Error(), "compare:", "diff:", 1)}
	}
	// Sets are matched by runtime and environment; a runtime alone in one
	// of them is named, not compared.
	var lines []diffLine
	matched := 0
	for _, n := range cur {
		var o *compare.Set
		for _, s := range old {
			if s.Label() == n.Label() {
				o = s
			}
		}
		if o == nil {
			fmt.Fprintf(stdout, "diff: %s is new (not in %s)\n", n.Label(), paths[0])
			continue
		}
		matched++
		lines = append(lines, diffSets(o, n)...)
	}
	for _, s := range old {
		if !slices.ContainsFunc(cur, func(n *compare.Set) bool { return n.Label() == s.Label() }) {
			fmt.Fprintf(stdout, "diff: %s is gone (not in %s)\n", s.Label(), paths[1])
		}
	}
	if matched == 0 {
		return exitUsage, usagef("diff: %s and %s share no runtime and architecture: nothing to diff", paths[0], paths[1])
	}
	order := []string{diffNewlyFailing, diffNewlyPassing, diffChanged}
	slices.SortStableFunc(lines, func(a, b diffLine) int {
		if c := slices.Index(order, a.kind) - slices.Index(order, b.kind); c != 0 {
			return c
		}
		if c := strings.Compare(a.label, b.label); c != 0 {
			return c
		}
		return strings.Compare(a.spec, b.spec)
	})
	counts := map[string]int{}
	for _, l := range lines {
		counts[l.kind]++
		fmt.Fprintf(stdout, "%-14s %s %s: %s\n", l.kind, l.label, l.spec, l.detail)
	}
	fmt.Fprintf(stdout, "diff: %d newly failing, %d newly passing, %d changed\n", counts[diffNewlyFailing], counts[diffNewlyPassing], counts[diffChanged])
	if counts[diffNewlyFailing] > 0 {
		return exitFail, nil
	}
	return exitPass, nil
}

// diffSets compares the records of one runtime in one environment.
func diffSets(o, n *compare.Set) []diffLine {
	var out []diffLine
	ids := slices.Clone(o.Specs)
	for _, id := range n.Specs {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		a, inOld := o.Records[id]
		b, inNew := n.Records[id]
		label := n.Label()
		switch {
		case !inNew:
			out = append(out, diffLine{diffChanged, label, id, "not run any more (was " + string(a.Verdict) + ")"})
		case b.Verdict.Failing() && (!inOld || !a.Verdict.Failing()):
			was := "not run"
			if inOld {
				was = string(a.Verdict)
			}
			out = append(out, diffLine{diffNewlyFailing, label, id, fmt.Sprintf("%s, was %s%s", b.Verdict, was, causes(b))})
		case !inOld:
			out = append(out, diffLine{diffChanged, label, id, "new spec: " + string(b.Verdict)})
		case a.Verdict.Failing() && !b.Verdict.Failing():
			out = append(out, diffLine{diffNewlyPassing, label, id, fmt.Sprintf("%s, was %s", b.Verdict, a.Verdict)})
		case a.Digest != b.Digest:
			var what []string
			for _, d := range compare.Records(id, o.Label(), n.Label(), a, b) {
				what = append(what, fmt.Sprintf("%s %s -> %s", d.What, d.ValueA, d.ValueB))
			}
			if len(what) > 3 {
				what = append(what[:3], fmt.Sprintf("and %d more", len(what)-3))
			}
			out = append(out, diffLine{diffChanged, label, id, strings.Join(what, "; ")})
		}
	}
	return out
}

func causes(r records.Record) string {
	if len(r.Causes) == 0 || r.Verdict == verdicts.Skipped {
		return ""
	}
	return " (" + strings.Join(r.Causes, ", ") + ")"
}
