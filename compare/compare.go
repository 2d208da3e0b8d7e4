// Package compare finds where canonical result records (package records)
// from several architectures or several runtimes differ, and classifies
// every difference:
//
//   - [WasmNaN]: allowed by the WebAssembly spec. A NaN produced by an
//     arithmetic instruction has a nondeterministic sign and, unless every
//     input was canonical, payload
//     (https://webassembly.github.io/spec/core/exec/numerics.html#nan-propagation):
//     0/0 is ffc00000 on x86-64 and 7fc00000 on arm64.
//   - [WASILatitude]: allowed by WASI. The calls answered with different
//     errnos, and the host judged both runs a pass: both answers lie in the
//     set the spec's rule accepts (its Rule names the set; RATIONALE.md,
//     "Canonical records").
//   - [Intermittent]: the runtime's expectations record the spec's
//     deviation as intermittent, with a reference.
//   - [NotCompared]: the spec was skipped or not run on one side.
//   - [Real]: anything else: a different verdict, evidence, exit, call
//     sequence or data. `wasicert compare` exits 1 on one.
package compare

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/wasicert/wasicert/records"
	"github.com/wasicert/wasicert/verdicts"
)

// Class says whether a divergence is allowed, and by what.
type Class string

const (
	Real         Class = "real"
	WasmNaN      Class = "wasm-nan"
	WASILatitude Class = "wasi-latitude"
	Intermittent Class = "intermittent"
	NotCompared  Class = "not-compared"
)

// Classes lists the classes from most to least serious.
var Classes = []Class{Real, Intermittent, WASILatitude, WasmNaN, NotCompared}

func (c Class) rank() int { return len(Classes) - slices.Index(Classes, c) }

// Allowed says what allows the class, for reports.
func (c Class) Allowed() string {
	switch c {
	case WasmNaN:
		return "allowed by the WebAssembly spec (NaN sign and payload)"
	case WASILatitude:
		return "allowed by WASI (both answers within the rule's set)"
	case Intermittent:
		return "a known intermittent deviation"
	case NotCompared:
		return "not compared"
	}
	return "REAL"
}

// NaNRef is the WebAssembly spec's rule on NaN results.
const NaNRef = "https://webassembly.github.io/spec/core/exec/numerics.html#nan-propagation"

// Set is the records of one runtime in one environment.
type Set struct {
	Env     records.Env
	Source  string
	Records map[string]records.Record
	// Specs lists the spec IDs in the order they were read.
	Specs []string
}

// Label names the set (records.Env.Label).
func (s *Set) Label() string { return s.Env.Label() }

// Sets splits records into one Set per environment (runtime, version,
// architecture, emulator), in the order each first appears. A spec seen
// twice in one environment keeps its last record (a results file appended
// to by a second run).
func Sets(source string, recs []records.Record) []*Set {
	var out []*Set
	byKey := map[string]*Set{}
	for _, r := range recs {
		key := r.Env.Label() + "\x00" + r.Env.RuntimeVersion + "\x00" + r.Env.Probes
		s := byKey[key]
		if s == nil {
			s = &Set{Env: r.Env, Source: source, Records: map[string]records.Record{}}
			byKey[key] = s
			out = append(out, s)
		}
		if _, seen := s.Records[r.Spec]; !seen {
			s.Specs = append(s.Specs, r.Spec)
		}
		s.Records[r.Spec] = r
	}
	return out
}

// Divergence is one way two records of a spec differ.
type Divergence struct {
	Spec string `json:"spec"`
	// A and B label the sets compared (Set.Label); A is the baseline.
	A     string `json:"a"`
	B     string `json:"b"`
	Class Class  `json:"class"`
	// What names the field: "verdict", "causes", "ended", "exit_code",
	// "calls" (their number), or "call <n> <check> <op>: errno|data|...".
	What   string `json:"what"`
	ValueA string `json:"value_a"`
	ValueB string `json:"value_b"`
	// Why says what allows the difference, with a reference; "" for real.
	Why string `json:"why,omitempty"`
}

func (d Divergence) String() string {
	s := fmt.Sprintf("%s vs %s: %s: %q | %q", d.A, d.B, d.What, d.ValueA, d.ValueB)
	if d.Why != "" {
		s += " (" + d.Why + ")"
	}
	return s
}

// Pair compares spec by spec the records of b with those of the baseline a.
func Pair(a, b *Set) []Divergence {
	var out []Divergence
	for _, id := range union(a, b) {
		out = append(out, Records(id, a.Label(), b.Label(), a.Records[id], b.Records[id])...)
	}
	return out
}

func union(sets ...*Set) []string {
	var ids []string
	seen := map[string]bool{}
	for _, s := range sets {
		for _, id := range s.Specs {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// Records compares two records of one spec; a zero record is one the set
// does not have.
func Records(spec, la, lb string, a, b records.Record) []Divergence {
	d := func(class Class, what, va, vb, why string) Divergence {
		return Divergence{Spec: spec, A: la, B: lb, Class: class, What: what, ValueA: va, ValueB: vb, Why: why}
	}
	switch {
	case a.Spec == "" && b.Spec == "":
		return nil
	case a.Spec == "":
		return []Divergence{d(NotCompared, "spec", "not run", string(b.Verdict), "not run on "+la)}
	case b.Spec == "":
		return []Divergence{d(NotCompared, "spec", string(a.Verdict), "not run", "not run on "+lb)}
	case a.Digest == b.Digest:
		return nil
	case a.Verdict == verdicts.Skipped || b.Verdict == verdicts.Skipped:
		if a.Verdict == b.Verdict {
			return nil
		}
		return []Divergence{d(NotCompared, "verdict", string(a.Verdict), string(b.Verdict), "skipped on one side")}
	}
	var out []Divergence
	if a.Verdict != b.Verdict {
		out = append(out, d(Real, "verdict", string(a.Verdict), string(b.Verdict), ""))
	}
	if x, y := strings.Join(a.Causes, ","), strings.Join(b.Causes, ","); x != y {
		out = append(out, d(Real, "causes", x, y, ""))
	}
	if a.Ended != b.Ended {
		out = append(out, d(Real, "ended", a.Ended, b.Ended, ""))
	}
	if a.ExitCode != b.ExitCode {
		out = append(out, d(Real, "exit_code", strconv.Itoa(a.ExitCode), strconv.Itoa(b.ExitCode), ""))
	}
	// Both runs passed: the host's judge accepted both sets of answers.
	bothPass := a.Verdict == verdicts.Pass && b.Verdict == verdicts.Pass
	// Calls are paired by check, op and occurrence, so that one missing
	// call (a run that ended early) is one divergence, not a cascade.
	bk, bIndex := callKeys(b.Calls)
	ak, _ := callKeys(a.Calls)
	aSeen := map[string]bool{}
	for i, x := range a.Calls {
		k := ak[i]
		aSeen[k] = true
		where := fmt.Sprintf("call %s %s", x.Check, x.Op)
		if x.Call != "" {
			where += " " + x.Call
		}
		j, ok := bIndex[k]
		if !ok {
			out = append(out, d(Real, where, describe(x), "missing", ""))
			continue
		}
		y := b.Calls[j]
		if x.Errno != y.Errno || x.Outcome != y.Outcome || x.Call != y.Call || !slices.Equal(x.Calls, y.Calls) {
			va, vb := describe(x), describe(y)
			if bothPass {
				out = append(out, d(WASILatitude, where+": errno", va, vb,
					"both runs pass: each answer is in the set "+spec+"'s rule accepts"))
			} else {
				out = append(out, d(Real, where+": errno", va, vb, ""))
			}
		}
		if x.Data != y.Data {
			if why, ok := BothNaN(x.Data, y.Data); ok {
				out = append(out, d(WasmNaN, where+": data", x.Data, y.Data, why))
			} else {
				out = append(out, d(Real, where+": data", x.Data, y.Data, ""))
			}
		}
	}
	for j, y := range b.Calls {
		if !aSeen[bk[j]] {
			out = append(out, d(Real, fmt.Sprintf("call %s %s", y.Check, y.Op), "missing", describe(y), ""))
		}
	}
	if len(out) == 0 {
		// The digests differ and no field does: a field outside the
		// comparison (a newer format) changed. Never pass that silently.
		out = append(out, d(Real, "digest", a.Digest, b.Digest, "the digests differ"))
	}
	if ref := cmp.Or(intermittent(a), intermittent(b)); ref != "" {
		for i := range out {
			if out[i].Class == Real {
				out[i].Class, out[i].Why = Intermittent, "the runtime's expectations mark this deviation intermittent: "+ref
			}
		}
	}
	return out
}

// intermittent is the reference of r's expectation when it says the
// deviation is intermittent, else "".
func intermittent(r records.Record) string {
	if r.Expected != nil && r.Expected.Intermittent {
		return r.Expected.Reference
	}
	return ""
}

// callKeys names each call by check, op and occurrence ("k|open|2"), and
// indexes the names.
func callKeys(calls []records.Call) ([]string, map[string]int) {
	keys := make([]string, len(calls))
	index := map[string]int{}
	seen := map[string]int{}
	for i, c := range calls {
		base := c.Check + "|" + c.Op
		seen[base]++
		keys[i] = fmt.Sprintf("%s|%d", base, seen[base])
		index[keys[i]] = i
	}
	return keys, index
}

// describe renders a call's answer: its outcome and errno, the function
// the errno is from, and a multi-call op's calls.
func describe(c records.Call) string {
	s := c.Outcome + " " + c.Errno
	if c.Call != "" {
		s += " (" + c.Call + ")"
	}
	if len(c.Calls) > 0 {
		s += " [" + strings.Join(c.Calls, " ") + "]"
	}
	return s
}

// BothNaN reports whether two typed bit patterns ("f32:7fc00000",
// "f64:fff8000000000000", as the portability probe prints them) are both
// NaNs of one width: the WebAssembly spec lets their sign and payload
// differ. Several values in one datum (space-separated) must pair up.
func BothNaN(a, b string) (string, bool) {
	fa, fb := strings.Fields(a), strings.Fields(b)
	if len(fa) != len(fb) || len(fa) == 0 {
		return "", false
	}
	nans := 0
	for i := range fa {
		if fa[i] == fb[i] {
			continue
		}
		if !isNaN(fa[i]) || !isNaN(fb[i]) || fa[i][:4] != fb[i][:4] {
			return "", false
		}
		nans++
	}
	return "NaN sign and payload are nondeterministic: " + NaNRef, nans > 0
}

func isNaN(v string) bool {
	kind, hex, ok := strings.Cut(v, ":")
	if !ok {
		return false
	}
	switch kind {
	case "f32":
		u, err := strconv.ParseUint(hex, 16, 32)
		return err == nil && len(hex) == 8 && math.IsNaN(float64(math.Float32frombits(uint32(u))))
	case "f64":
		u, err := strconv.ParseUint(hex, 16, 64)
		return err == nil && len(hex) == 16 && math.IsNaN(math.Float64frombits(u))
	}
	return false
}

// Worst is the most serious class among ds ("" for none).
func Worst(ds []Divergence) Class {
	var w Class
	for _, d := range ds {
		if w == "" || d.Class.rank() > w.rank() {
			w = d.Class
		}
	}
	return w
}

// Count counts divergences by class, once per (spec, pair of sets) at the
// spec's worst class.
func Count(ds []Divergence) map[Class]int {
	type key struct{ spec, a, b string }
	worst := map[key]Class{}
	var order []key
	for _, d := range ds {
		k := key{d.Spec, d.A, d.B}
		w, ok := worst[k]
		if !ok {
			order = append(order, k)
		}
		if !ok || d.Class.rank() > w.rank() {
			worst[k] = d.Class
		}
	}
	n := map[Class]int{}
	for _, k := range order {
		n[worst[k]]++
	}
	return n
}

// Group is sets compared with each other: one runtime on several
// architectures (ByArch) or several runtimes on one architecture
// (ByRuntime).
type Group struct {
	// Name is the runtime (ByArch) or the environment (ByRuntime).
	Name string
	Sets []*Set
}

// ByArch groups sets by runtime, each group's baseline (first set) a
// native amd64 run where there is one, else the first set read.
func ByArch(sets []*Set) []Group {
	var groups []Group
	idx := map[string]int{}
	for _, s := range sets {
		i, ok := idx[s.Env.Runtime]
		if !ok {
			i = len(groups)
			idx[s.Env.Runtime] = i
			groups = append(groups, Group{Name: s.Env.Runtime})
		}
		groups[i].Sets = append(groups[i].Sets, s)
	}
	for _, g := range groups {
		slices.SortStableFunc(g.Sets, func(x, y *Set) int { return cmp.Compare(baselineRank(x), baselineRank(y)) })
	}
	return groups
}

func baselineRank(s *Set) int {
	if s.Env.Arch == "amd64" && s.Env.Emulated == "" {
		return 0
	}
	return 1
}

// ByRuntime groups sets by environment (architecture and emulator).
func ByRuntime(sets []*Set) []Group {
	var groups []Group
	idx := map[string]int{}
	for _, s := range sets {
		name := s.Env.OS + "/" + s.Env.Arch
		if s.Env.Emulated != "" {
			name += "(" + s.Env.Emulated + ")"
		}
		i, ok := idx[name]
		if !ok {
			i = len(groups)
			idx[name] = i
			groups = append(groups, Group{Name: name})
		}
		groups[i].Sets = append(groups[i].Sets, s)
	}
	return groups
}

// Baseline compares every set of g with its first.
func (g Group) Baseline() []Divergence {
	var out []Divergence
	for _, s := range g.Sets[1:] {
		out = append(out, Pair(g.Sets[0], s)...)
	}
	return out
}

// Row is one spec across a group's sets: each set's verdict and whether
// its record differs from the majority's.
type Row struct {
	Spec  string
	Cells []Cell
	// Odd lists the runtimes whose records differ from the one more than
	// half of them hold; none when all agree. Split says no record is held
	// by more than half: cells then differ from the most common one.
	Odd   []string
	Split bool
}

// Cell is one set's result in a Row.
type Cell struct {
	Verdict verdicts.Verdict // "" when the set has no record of the spec
	// Odd: the record differs from the most common one.
	Odd bool
}

// Table is the differential table across a group's sets (ByRuntime):
// one row per spec, and the divergences of every odd record from the
// majority's record, classified.
func (g Group) Table() ([]Row, []Divergence) {
	var rows []Row
	var ds []Divergence
	for _, id := range union(g.Sets...) {
		row := Row{Spec: id}
		votes := map[string]int{}
		voters := 0
		for _, s := range g.Sets {
			r, ok := s.Records[id]
			if ok && r.Verdict != verdicts.Skipped {
				votes[r.Digest]++
				voters++
			}
		}
		// The reference is the record most sets hold (the first set's
		// among equals); a strict majority makes its dissenters the odd
		// ones out.
		var ref *Set
		best := 0
		for _, st := range g.Sets {
			if r, ok := st.Records[id]; ok && r.Verdict != verdicts.Skipped && votes[r.Digest] > best {
				ref, best = st, votes[r.Digest]
			}
		}
		row.Split = len(votes) > 1 && 2*best <= voters
		for _, st := range g.Sets {
			r, ok := st.Records[id]
			c := Cell{Verdict: r.Verdict}
			if ok && r.Verdict != verdicts.Skipped && ref != nil && r.Digest != ref.Records[id].Digest {
				c.Odd = true
				if !row.Split {
					row.Odd = append(row.Odd, st.Env.Runtime)
				}
				ds = append(ds, Records(id, ref.Label(), st.Label(), ref.Records[id], r)...)
			}
			row.Cells = append(row.Cells, c)
		}
		rows = append(rows, row)
	}
	return rows, ds
}
