package catalogue

// Portability: the results the WebAssembly spec makes deterministic, the same
// on every CPU and every runtime (det.wasm, probes/src/det.c). The judge
// holds, for each instruction the probe runs, the exact value the spec fixes;
// where the spec leaves a choice (the sign and, for non-canonical inputs, the
// payload of a NaN result) it checks only what the spec does fix.

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

const (
	refNumerics     = "https://webassembly.github.io/spec/core/exec/numerics.html"
	refNaNProp      = refNumerics + "#nan-propagation"
	refInstructions = "https://webassembly.github.io/spec/core/exec/instructions.html"
	refStorage      = refNumerics + "#storage"
	refLimits       = "https://webassembly.github.io/spec/core/valid/types.html#limits"
	// refNondeterminism is the design note on what may differ between
	// runs and platforms: NaN bits, resource exhaustion, nothing else.
	refNondeterminism = "https://github.com/WebAssembly/design/blob/main/Nondeterminism.md"
)

// What a det.wasm value must be, besides an exact "f32:..." pattern.
const (
	// canonicalNaN: a NaN whose payload is the canonical one
	// (0x400000 / 0x8000000000000), sign either way.
	canonicalNaN = "canonical-nan"
	// arithmeticNaN: a NaN with the quiet bit set, any payload, any sign.
	arithmeticNaN = "arithmetic-nan"
)

// maxValueCauses bounds the causes (and notes) a value judge names.
const maxValueCauses = 8

// detValue is one record det.wasm prints (its call) and what the spec
// fixes for it: "f32:3f800000" exactly, or the type prefix and canonicalNaN
// or arithmeticNaN.
type detValue struct{ call, want string }

func portabilitySpecs() []suites.Spec {
	values := func(op string) func(*fixtures.Fixture, runners.Features) suites.Plan {
		return func(*fixtures.Fixture, runners.Features) suites.Plan {
			return suites.Plan{Probe: "det", Steps: []suites.Step{step(op, op, suites.Custom)}}
		}
	}
	return []suites.Spec{
		{
			ID: "portability.nan-canonical", Area: suites.AreaPortability, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "An f32/f64 operation whose inputs are non-NaN or canonical NaNs and whose result is NaN (0/0, sqrt(-1), inf-inf, 0*inf, NaN+1, min/max, rounding, demote/promote) gives a canonical NaN (either sign); with a non-canonical NaN input, an arithmetic NaN (quiet bit set).",
			Ref:  refNaNProp, Refs: []string{refNondeterminism},
			Plan: values(probes.OpNaN), Judge: judgeDet(probes.OpNaN, detNaN),
		},
		{
			ID: "portability.nan-bits", Area: suites.AreaPortability, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "neg, abs and copysign change the sign bit alone and the reinterprets change nothing: a NaN's payload, signalling bit included, comes out exactly as it went in.",
			Ref:  refNumerics + "#op-fneg", Refs: []string{refNumerics + "#op-fcopysign", refNaNProp},
			Plan: values(probes.OpNaNBits), Judge: judgeDet(probes.OpNaNBits, detNaNBits),
		},
		{
			ID: "portability.float-conversions", Area: suites.AreaPortability, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "Float rounding and conversions give the one result the spec fixes: trunc_sat maps NaN to 0 and saturates, nearest rounds ties to even (-0.5 to -0), demote/promote and integer-to-float conversions round once to nearest-even, a multiply then an add round twice.",
			Ref:  refNumerics + "#op-trunc-sat-s", Refs: []string{refNumerics + "#op-fnearest", refNumerics + "#op-demote", refNumerics + "#op-convert-s"},
			Plan: values(probes.OpFloat), Judge: judgeDet(probes.OpFloat, detFloat),
		},
		{
			ID: "portability.integer-ops", Area: suites.AreaPortability, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "Integer division and remainder truncate toward zero (rem_s(INT_MIN,-1) is 0, no trap), shifts and rotates take their count modulo the width (i32.shl by 33 is by 1), clz/ctz of 0 give the width.",
			Ref:  refNumerics + "#op-irem-s", Refs: []string{refNumerics + "#op-ishl", refNumerics + "#op-irotl", refNumerics + "#op-iclz"},
			Plan: values(probes.OpInt), Judge: judgeDet(probes.OpInt, detInt),
		},
		trapSpec("portability.int-div-zero-traps",
			"Integer division or remainder by zero (i32.div_s, i32.rem_u, i64.div_u) traps: the instance ends, no value comes out and the run does not end as success.",
			refNumerics+"#op-idiv-s", "i32.div_s(1,0)", "i32.rem_u(1,0)", "i64.div_u(1,0)"),
		trapSpec("portability.int-overflow-traps",
			"Signed division INT_MIN / -1 (i32 and i64) traps: its result is not representable.",
			refNumerics+"#op-idiv-s", "i32.div_s(INT32_MIN,-1)", "i64.div_s(INT64_MIN,-1)"),
		trapSpec("portability.trunc-traps",
			"A non-saturating float-to-integer truncation of NaN or of a value outside the target range (i32.trunc_f32_s(NaN), i64.trunc_f64_u(NaN), i32.trunc_f64_s(2^31), i32.trunc_f32_u(-1)) traps.",
			refNumerics+"#op-trunc-s", "i32.trunc_f32_s(nan)", "i64.trunc_f64_u(nan)", "i32.trunc_f64_s(2147483648)", "i32.trunc_f32_u(-1)"),
		trapSpec("portability.memory-bounds-traps",
			"A load that reaches past the end of memory traps, one that straddles the end included, and an effective address past 2^32 (base 0xfffffffc, offset 8) never wraps around.",
			refInstructions+"#exec-load", "i32.load(end-2)", "i64.load(end-4)", "i32.load8_u(end)", "i32.load offset=8(0xfffffffc)"),
		{
			ID: "portability.memory-grow-limit", Area: suites.AreaPortability, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "memory.grow(0) returns the size; a grow past 65536 pages (4 GiB) returns -1 and leaves the size unchanged; a grow by 1 returns the old size (or -1, which the spec allows) and the size follows.",
			Ref:  refInstructions + "#exec-memory-grow", Refs: []string{refLimits, refNondeterminism},
			Plan: values(probes.OpMemory), Judge: judgeGrowLimit,
		},
		{
			ID: "portability.memory-edges", Area: suites.AreaPortability, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "Stores and loads in the last 4 and the last 8 bytes of memory, and at its last byte, work and read back what was written.",
			Ref:  refInstructions + "#exec-load", Refs: []string{refInstructions + "#exec-store"},
			Plan: values(probes.OpMemory), Judge: judgeDet(probes.OpMemory, detMemoryEdges),
		},
		{
			ID: "portability.endianness", Area: suites.AreaPortability, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "Memory is little endian on every host: i32.store 0x01020304 writes the bytes 04 03 02 01, multi-byte loads read bytes in that order, aligned or not, and narrow signed loads sign-extend.",
			Ref:  refStorage, Refs: []string{refInstructions + "#exec-load"},
			Plan: values(probes.OpEndian), Judge: judgeDet(probes.OpEndian, detEndian),
		},
	}
}

// trapSpec is a spec whose plan runs det.wasm's int op (division that must
// work: the positive control) and, before it, one run per trap kind.
func trapSpec(id, rule, ref string, kinds ...string) suites.Spec {
	runs := make([]Rerun, len(kinds))
	for i, k := range kinds {
		runs[i] = Rerun{Name: k, Args: []string{probes.OpTrap, "trap", k}}
	}
	return suites.Spec{
		ID: id, Area: suites.AreaPortability, Severity: suites.SeverityConformance, Level: suites.MUST,
		Rule: rule, Ref: ref, Refs: []string{refInstructions + "#exec-instr-numeric"},
		Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
			// Reruns' Runs are filled in per run, so each plan gets its own.
			own := make([]Rerun, len(runs))
			copy(own, runs)
			return suites.Plan{Probe: "det", Steps: []suites.Step{step(probes.OpInt, probes.OpInt, suites.Custom)},
				Actors: []suites.Actor{&Reruns{Runs: own}}}
		},
		Judge: func(ev *suites.Evidence) suites.Judgement {
			// The positive control: the same probe divides without trapping
			// (its values are portability.integer-ops' to judge).
			if n := len(ev.LinesFor(probes.OpInt)); n != len(detInt) {
				return suites.Judgement{Verdict: verdicts.Fail, Causes: []string{"control:int"},
					Reason: fmt.Sprintf("the positive control (det.wasm int) printed %d of its %d records", n, len(detInt))}
			}
			return judgeTraps(ev)
		},
	}
}

// judgeTraps: each rerun of a trap spec printed its "armed" record, no value
// after it, and did not end as success nor hang. A trap is a pass; another failing
// end (a non-zero status, a crash) passes with a note, as exit.trap-status
// judges runtimes that do not tell a trap apart.
func judgeTraps(ev *suites.Evidence) suites.Judgement {
	r, _ := suites.ActorOf[*Reruns](ev)
	if r == nil {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "no trap runs", Causes: []string{"judge"}}
	}
	j := suites.Pass()
	for _, rr := range r.Runs {
		res := rr.Result
		lines, _ := probes.ParseLines(res.Stdout)
		armed, value := false, ""
		for _, l := range lines {
			if l.Check != "trap" || l.Call != rr.Name {
				continue
			}
			if l.Data == "armed" {
				armed = true
			} else {
				value = l.Data
			}
		}
		cause := "trap:" + rr.Name
		switch {
		case rr.Err != nil:
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Causes: []string{"run:start-error"},
				Reason: rr.Name + ": the probe did not start: " + rr.Err.Error()})
		case value != "":
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Causes: []string{cause},
				Reason: fmt.Sprintf("%s did not trap: it gave %s and the run went on (%s)", rr.Name, value, res.String())})
		case !armed:
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Causes: []string{"run:not-armed"},
				Reason: fmt.Sprintf("%s: the probe ended (%s) before it reached the instruction", rr.Name, res.String())})
		case res.Ended == runners.EndedExit && res.ExitCode == 0:
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Causes: []string{cause},
				Reason: rr.Name + " ended the run with status 0: a trap reads as success"})
		case res.Ended == runners.EndedTimeout:
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Causes: []string{cause},
				Reason: rr.Name + " did not trap: the run hung until " + res.String()})
		case res.Ended == runners.EndedTrap:
			j.Notes = append(j.Notes, rr.Name+" -> "+res.String())
		default:
			j.Notes = append(j.Notes, fmt.Sprintf("%s -> %s: a failure, but not told apart from proc_exit", rr.Name, res.String()))
		}
	}
	return j
}

// judgeDet checks every value of table against the records of check.
func judgeDet(check string, table []detValue) func(*suites.Evidence) suites.Judgement {
	return func(ev *suites.Evidence) suites.Judgement {
		got := map[string]string{}
		for _, l := range ev.LinesFor(check) {
			if _, dup := got[l.Call]; !dup {
				got[l.Call] = l.Data
			}
		}
		j := suites.Pass()
		var nans, bad, why []string
		for _, v := range table {
			data, ok := got[v.call]
			if !ok {
				bad, why = append(bad, "value:"+v.call), append(why, v.call+": no record")
				continue
			}
			if strings.HasSuffix(v.want, "nan") {
				_, bits, _ := strings.Cut(data, ":")
				nans = append(nans, v.call+"="+bits)
			}
			if w := detMismatch(v.want, data); w != "" {
				bad, why = append(bad, "value:"+v.call), append(why, fmt.Sprintf("%s gave %s: %s", v.call, data, w))
			}
		}
		if len(bad) > 0 {
			// The first few wrong values name the causes; the count says
			// how many more there were.
			reason := why[0]
			if len(why) > 1 {
				reason += fmt.Sprintf(" (and %d more wrong values)", len(why)-1)
			}
			if len(bad) > maxValueCauses {
				bad = append(bad[:maxValueCauses], fmt.Sprintf("value:+%d", len(bad)-maxValueCauses))
			}
			j = suites.Judgement{Verdict: verdicts.Fail, Reason: reason, Causes: bad}
			for _, w := range why[1:min(len(why), maxValueCauses)] {
				j.Notes = append(j.Notes, w)
			}
		}
		if len(nans) > 0 {
			j.Notes = append(j.Notes, "NaN bits: "+strings.Join(nans, " "))
		}
		return j
	}
}

// detMismatch says how data ("f32:7fc00000") breaks want, or "" when it
// does not.
func detMismatch(want, data string) string {
	wtype, wval, _ := strings.Cut(want, ":")
	dtype, dhex, _ := strings.Cut(data, ":")
	width := map[string]int{"f32": 8, "f64": 16, "i32": 8, "i64": 16}[wtype]
	if dtype != wtype || len(dhex) != width || strings.ToLower(dhex) != dhex {
		return fmt.Sprintf("not a %s bit pattern (%s:%d lowercase hex digits)", wtype, wtype, width)
	}
	bits, err := strconv.ParseUint(dhex, 16, 64)
	if err != nil {
		return fmt.Sprintf("not a %s bit pattern: %v", wtype, err)
	}
	switch wval {
	case canonicalNaN, arithmeticNaN:
		nan, canonical, quiet := nanClass(wtype, bits)
		switch {
		case !nan:
			return "the spec gives a NaN here"
		case wval == canonicalNaN && !canonical:
			return "the inputs were canonical NaNs or not NaNs, so the spec gives a canonical NaN (payload 0x400000 / 0x8000000000000, either sign)"
		case wval == arithmeticNaN && !quiet:
			return "the spec gives an arithmetic NaN (quiet bit set)"
		}
		return ""
	}
	if dhex != wval {
		return "the spec gives " + want
	}
	return ""
}

// nanClass classifies bits of type f32 or f64.
func nanClass(typ string, bits uint64) (nan, canonical, quiet bool) {
	exp, frac, qbit := uint64(0x7f800000), uint64(0x7fffff), uint64(0x400000)
	if typ == "f64" {
		exp, frac, qbit = 0x7ff0000000000000, 0xfffffffffffff, 0x8000000000000
	}
	nan = bits&exp == exp && bits&frac != 0
	return nan, nan && bits&frac == qbit, nan && bits&qbit != 0
}

// judgeGrowLimit: memory.grow's answers against the size det.wasm read.
func judgeGrowLimit(ev *suites.Evidence) suites.Judgement {
	got := map[string]uint64{}
	for _, l := range ev.LinesFor(probes.OpMemory) {
		if t, h, ok := strings.Cut(l.Data, ":"); ok && t == "i32" && len(h) == 8 {
			if v, err := strconv.ParseUint(h, 16, 32); err == nil {
				got[l.Call] = v
			}
		}
	}
	j := suites.Pass()
	fail := func(call, why string) {
		j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Causes: []string{"value:" + call}, Reason: call + " " + why})
	}
	need := func(call string) (uint64, bool) {
		v, ok := got[call]
		if !ok {
			fail(call, "printed no i32 record")
		}
		return v, ok
	}
	size, ok := need("memory.size")
	if !ok {
		return j
	}
	if v, ok := need("memory.grow(0)"); ok && v != size {
		fail("memory.grow(0)", fmt.Sprintf("returned %d, not the size %d", v, size))
	}
	for _, c := range []string{"memory.grow(65536)", "memory.grow(65537-size)", "memory.grow(0xffffffff)"} {
		if v, ok := need(c); ok && v != 0xffffffff {
			fail(c, fmt.Sprintf("returned %#x, not -1: memory cannot grow past 65536 pages (4 GiB)", v))
		}
	}
	if v, ok := need("memory.size after failed grows"); ok && v != size {
		fail("memory.size after failed grows", fmt.Sprintf("is %d: failed grows changed the size %d", v, size))
	}
	g, ok1 := need("memory.grow(1)")
	after, ok2 := need("memory.size after grow(1)")
	switch {
	case !ok1 || !ok2:
	case g == 0xffffffff && after != size:
		fail("memory.grow(1)", fmt.Sprintf("failed yet the size went from %d to %d", size, after))
	case g == 0xffffffff:
		j.Notes = append(j.Notes, "memory.grow(1) failed (-1): the spec allows a runtime to refuse any grow")
	case g != size:
		fail("memory.grow(1)", fmt.Sprintf("returned %d, not the old size %d", g, size))
	case after != size+1:
		fail("memory.size after grow(1)", fmt.Sprintf("is %d, not %d", after, size+1))
	}
	return j
}

// The values det.wasm's ops print, with what the spec fixes for each; the
// calls are the probe's own names (probes/src/det.c), in its order.
var (
	detNaN = []detValue{
		{"f32.div(0,0)", "f32:" + canonicalNaN},
		{"f32.sqrt(-1)", "f32:" + canonicalNaN},
		{"f32.sub(inf,inf)", "f32:" + canonicalNaN},
		{"f32.add(inf,-inf)", "f32:" + canonicalNaN},
		{"f32.mul(0,inf)", "f32:" + canonicalNaN},
		{"f32.add(nan,1)", "f32:" + canonicalNaN},
		{"f32.min(nan,1)", "f32:" + canonicalNaN},
		{"f32.max(1,nan)", "f32:" + canonicalNaN},
		{"f32.ceil(nan)", "f32:" + canonicalNaN},
		{"f32.nearest(nan)", "f32:" + canonicalNaN},
		{"f32.demote_f64(nan)", "f32:" + canonicalNaN},
		{"f32.add(nan:0x412345,1)", "f32:" + arithmeticNaN},
		{"f32.add(snan:0x012345,1)", "f32:" + arithmeticNaN},
		{"f32.mul(1,snan:0x012345)", "f32:" + arithmeticNaN},
		{"f32.min(snan:0x012345,1)", "f32:" + arithmeticNaN},
		{"f32.max(1,nan:0x412345)", "f32:" + arithmeticNaN},
		{"f32.sqrt(snan:0x012345)", "f32:" + arithmeticNaN},
		{"f32.demote_f64(nan:0x8000000012345)", "f32:" + arithmeticNaN},
		{"f64.div(0,0)", "f64:" + canonicalNaN},
		{"f64.sqrt(-1)", "f64:" + canonicalNaN},
		{"f64.sub(inf,inf)", "f64:" + canonicalNaN},
		{"f64.add(inf,-inf)", "f64:" + canonicalNaN},
		{"f64.mul(0,inf)", "f64:" + canonicalNaN},
		{"f64.add(nan,1)", "f64:" + canonicalNaN},
		{"f64.min(nan,1)", "f64:" + canonicalNaN},
		{"f64.max(1,nan)", "f64:" + canonicalNaN},
		{"f64.floor(nan)", "f64:" + canonicalNaN},
		{"f64.trunc(nan)", "f64:" + canonicalNaN},
		{"f64.promote_f32(nan)", "f64:" + canonicalNaN},
		{"f64.add(nan:0x8000000012345,1)", "f64:" + arithmeticNaN},
		{"f64.add(snan:0x12345,1)", "f64:" + arithmeticNaN},
		{"f64.mul(1,snan:0x12345)", "f64:" + arithmeticNaN},
		{"f64.min(snan:0x12345,1)", "f64:" + arithmeticNaN},
		{"f64.max(1,nan:0x8000000012345)", "f64:" + arithmeticNaN},
		{"f64.sqrt(snan:0x12345)", "f64:" + arithmeticNaN},
		{"f64.promote_f32(nan:0x412345)", "f64:" + arithmeticNaN},
	}
	detNaNBits = []detValue{
		{"f32.neg(nan:0x412345)", "f32:ffc12345"},
		{"f32.neg(snan:0x012345)", "f32:ff812345"},
		{"f32.neg(-nan)", "f32:7fc00000"},
		{"f32.abs(-nan:0x412345)", "f32:7fc12345"},
		{"f32.abs(-snan:0x012345)", "f32:7f812345"},
		{"f32.copysign(snan:0x012345,-1)", "f32:ff812345"},
		{"f32.copysign(-nan:0x412345,1)", "f32:7fc12345"},
		{"f32.copysign(1,-nan)", "f32:bf800000"},
		{"f32.reinterpret_i32(snan:0x012345)", "f32:7f812345"},
		{"i32.reinterpret_f32(-snan:0x012345)", "i32:ff812345"},
		{"f64.neg(nan:0x8000000012345)", "f64:fff8000000012345"},
		{"f64.neg(snan:0x12345)", "f64:fff0000000012345"},
		{"f64.neg(-nan)", "f64:7ff8000000000000"},
		{"f64.abs(-nan:0x8000000012345)", "f64:7ff8000000012345"},
		{"f64.abs(-snan:0x12345)", "f64:7ff0000000012345"},
		{"f64.copysign(snan:0x12345,-1)", "f64:fff0000000012345"},
		{"f64.copysign(-nan:0x8000000012345,1)", "f64:7ff8000000012345"},
		{"f64.copysign(1,-nan)", "f64:bff0000000000000"},
		{"f64.reinterpret_i64(snan:0x12345)", "f64:7ff0000000012345"},
		{"i64.reinterpret_f64(-snan:0x12345)", "i64:fff0000000012345"},
	}
	detFloat = []detValue{
		{"i32.trunc_sat_f32_s(nan)", "i32:00000000"},
		{"i32.trunc_sat_f32_s(inf)", "i32:7fffffff"},
		{"i32.trunc_sat_f32_s(-inf)", "i32:80000000"},
		{"i32.trunc_sat_f32_s(3e9)", "i32:7fffffff"},
		{"i32.trunc_sat_f32_s(-3e9)", "i32:80000000"},
		{"i32.trunc_sat_f32_s(2147483520)", "i32:7fffff80"},
		{"i32.trunc_sat_f32_s(-1.9)", "i32:ffffffff"},
		{"i32.trunc_sat_f32_u(nan)", "i32:00000000"},
		{"i32.trunc_sat_f32_u(inf)", "i32:ffffffff"},
		{"i32.trunc_sat_f32_u(-inf)", "i32:00000000"},
		{"i32.trunc_sat_f32_u(-1.5)", "i32:00000000"},
		{"i32.trunc_sat_f32_u(5e9)", "i32:ffffffff"},
		{"i32.trunc_sat_f32_u(4294967040)", "i32:ffffff00"},
		{"i32.trunc_sat_f64_s(nan)", "i32:00000000"},
		{"i32.trunc_sat_f64_s(2147483647.9)", "i32:7fffffff"},
		{"i32.trunc_sat_f64_s(2147483648)", "i32:7fffffff"},
		{"i32.trunc_sat_f64_s(-2147483648.9)", "i32:80000000"},
		{"i32.trunc_sat_f64_s(-2147483649)", "i32:80000000"},
		{"i32.trunc_sat_f64_u(nan)", "i32:00000000"},
		{"i32.trunc_sat_f64_u(-0.9)", "i32:00000000"},
		{"i32.trunc_sat_f64_u(4294967295.9)", "i32:ffffffff"},
		{"i32.trunc_sat_f64_u(4294967296)", "i32:ffffffff"},
		{"i32.trunc_sat_f64_u(-inf)", "i32:00000000"},
		{"i64.trunc_sat_f32_s(nan)", "i64:0000000000000000"},
		{"i64.trunc_sat_f32_s(inf)", "i64:7fffffffffffffff"},
		{"i64.trunc_sat_f32_s(-inf)", "i64:8000000000000000"},
		{"i64.trunc_sat_f32_s(9.3e18)", "i64:7fffffffffffffff"},
		{"i64.trunc_sat_f32_s(-2^63)", "i64:8000000000000000"},
		{"i64.trunc_sat_f32_u(nan)", "i64:0000000000000000"},
		{"i64.trunc_sat_f32_u(-inf)", "i64:0000000000000000"},
		{"i64.trunc_sat_f32_u(2^64)", "i64:ffffffffffffffff"},
		{"i64.trunc_sat_f64_s(nan)", "i64:0000000000000000"},
		{"i64.trunc_sat_f64_s(9223372036854774784)", "i64:7ffffffffffffc00"},
		{"i64.trunc_sat_f64_s(2^63)", "i64:7fffffffffffffff"},
		{"i64.trunc_sat_f64_s(-2^63)", "i64:8000000000000000"},
		{"i64.trunc_sat_f64_s(-9223372036854777856)", "i64:8000000000000000"},
		{"i64.trunc_sat_f64_s(-inf)", "i64:8000000000000000"},
		{"i64.trunc_sat_f64_u(nan)", "i64:0000000000000000"},
		{"i64.trunc_sat_f64_u(-1)", "i64:0000000000000000"},
		{"i64.trunc_sat_f64_u(18446744073709549568)", "i64:fffffffffffff800"},
		{"i64.trunc_sat_f64_u(2^64)", "i64:ffffffffffffffff"},
		{"i64.trunc_sat_f64_u(inf)", "i64:ffffffffffffffff"},
		{"i32.trunc_f32_s(-2147483648)", "i32:80000000"},
		{"i32.trunc_f64_s(-2147483648.9)", "i32:80000000"},
		{"i32.trunc_f64_s(2147483647.9)", "i32:7fffffff"},
		{"i32.trunc_f64_u(-0.9)", "i32:00000000"},
		{"i32.trunc_f64_u(4294967295.9)", "i32:ffffffff"},
		{"i64.trunc_f64_u(18446744073709549568)", "i64:fffffffffffff800"},
		{"f32.nearest(0.5)", "f32:00000000"},
		{"f32.nearest(1.5)", "f32:40000000"},
		{"f32.nearest(2.5)", "f32:40000000"},
		{"f32.nearest(-0.5)", "f32:80000000"},
		{"f32.nearest(-1.5)", "f32:c0000000"},
		{"f32.nearest(8388609)", "f32:4b000001"},
		{"f64.nearest(0.5)", "f64:0000000000000000"},
		{"f64.nearest(2.5)", "f64:4000000000000000"},
		{"f64.nearest(-0.5)", "f64:8000000000000000"},
		{"f64.nearest(-2.5)", "f64:c000000000000000"},
		{"f64.nearest(4503599627370497)", "f64:4330000000000001"},
		{"f32.ceil(-0.5)", "f32:80000000"},
		{"f32.floor(-0.5)", "f32:bf800000"},
		{"f32.trunc(-0.5)", "f32:80000000"},
		{"f32.floor(-0)", "f32:80000000"},
		{"f64.ceil(-0.5)", "f64:8000000000000000"},
		{"f64.floor(-0.5)", "f64:bff0000000000000"},
		{"f64.trunc(-0.5)", "f64:8000000000000000"},
		{"f64.ceil(-0)", "f64:8000000000000000"},
		{"f32.copysign(1,-0)", "f32:bf800000"},
		{"f32.copysign(-2,0)", "f32:40000000"},
		{"f64.copysign(1,-0)", "f64:bff0000000000000"},
		{"f64.copysign(-inf,1)", "f64:7ff0000000000000"},
		{"f32.demote_f64(0.1)", "f32:3dcccccd"},
		{"f32.demote_f64(1+2^-24)", "f32:3f800000"},
		{"f32.demote_f64(1+3*2^-24)", "f32:3f800002"},
		{"f32.demote_f64(3.5e38)", "f32:7f800000"},
		{"f32.demote_f64(-1e300)", "f32:ff800000"},
		{"f32.demote_f64(1e-40)", "f32:000116c2"},
		{"f32.demote_f64(2^-150)", "f32:00000000"},
		{"f32.demote_f64(3*2^-150)", "f32:00000002"},
		{"f32.demote_f64(-1e-50)", "f32:80000000"},
		{"f64.promote_f32(0x3dcccccd)", "f64:3fb99999a0000000"},
		{"f64.promote_f32(0x00000001)", "f64:36a0000000000000"},
		{"f64.promote_f32(-0)", "f64:8000000000000000"},
		{"f64.promote_f32(-inf)", "f64:fff0000000000000"},
		{"f32.convert_i64_s(2^53+1)", "f32:5a000000"},
		{"f32.convert_i64_s(2^53+2^29+1)", "f32:5a000001"},
		{"f32.convert_i64_s(16777217)", "f32:4b800000"},
		{"f32.convert_i64_s(16777219)", "f32:4b800002"},
		{"f32.convert_i64_s(2^63-1)", "f32:5f000000"},
		{"f32.convert_i64_s(-2^63)", "f32:df000000"},
		{"f32.convert_i64_u(2^64-1)", "f32:5f800000"},
		{"f32.convert_i64_u(2^63+2^39+1)", "f32:5f000001"},
		{"f32.convert_i32_u(2^32-1)", "f32:4f800000"},
		{"f32.convert_i32_s(2^31-1)", "f32:4f000000"},
		{"f64.convert_i64_s(2^53+1)", "f64:4340000000000000"},
		{"f64.convert_i64_u(2^64-1)", "f64:43f0000000000000"},
		{"f64.convert_i64_u(2^63+1025)", "f64:43e0000000000001"},
		{"f64.convert_i32_u(2^32-1)", "f64:41efffffffe00000"},
		{"f32.add(f32.mul(1+2^-12,1+2^-12),-(1+2^-11))", "f32:00000000"},
		{"f64.add(f64.mul(1+2^-27,1+2^-27),-(1+2^-26))", "f64:0000000000000000"},
		{"f32.add(16777216,1)", "f32:4b800000"},
		{"f32.add(0.1,0.2)", "f32:3e99999a"},
		{"f64.add(0.1,0.2)", "f64:3fd3333333333334"},
		{"f32.div(1,3)", "f32:3eaaaaab"},
		{"f64.div(1,3)", "f64:3fd5555555555555"},
		{"f32.mul(1e-30,1e-30)", "f32:00000000"},
		{"f32.mul(1e30,1e30)", "f32:7f800000"},
		{"f64.sqrt(2)", "f64:3ff6a09e667f3bcd"},
		{"f32.sqrt(2)", "f32:3fb504f3"},
	}
	detInt = []detValue{
		{"i32.div_s(-7,2)", "i32:fffffffd"},
		{"i32.rem_s(-7,2)", "i32:ffffffff"},
		{"i32.rem_s(7,-2)", "i32:00000001"},
		{"i32.div_u(-7,2)", "i32:7ffffffc"},
		{"i32.rem_u(-7,2)", "i32:00000001"},
		{"i32.rem_s(INT32_MIN,-1)", "i32:00000000"},
		{"i32.div_u(INT32_MIN,-1)", "i32:00000000"},
		{"i32.div_s(INT32_MIN,1)", "i32:80000000"},
		{"i32.mul(0x7fffffff,2)", "i32:fffffffe"},
		{"i32.shl(1,33)", "i32:00000002"},
		{"i32.shl(1,32)", "i32:00000001"},
		{"i32.shl(1,-1)", "i32:80000000"},
		{"i32.shr_s(INT32_MIN,33)", "i32:c0000000"},
		{"i32.shr_u(INT32_MIN,33)", "i32:40000000"},
		{"i32.rotl(0x12345678,100)", "i32:23456781"},
		{"i32.rotr(0x12345678,100)", "i32:81234567"},
		{"i32.rotl(0x12345678,-1)", "i32:091a2b3c"},
		{"i32.clz(0)", "i32:00000020"},
		{"i32.ctz(0)", "i32:00000020"},
		{"i32.popcnt(-1)", "i32:00000020"},
		{"i64.rem_s(INT64_MIN,-1)", "i64:0000000000000000"},
		{"i64.div_u(INT64_MIN,-1)", "i64:0000000000000000"},
		{"i64.div_s(-7,2)", "i64:fffffffffffffffd"},
		{"i64.rem_s(-7,2)", "i64:ffffffffffffffff"},
		{"i64.mul(-1,-1)", "i64:0000000000000001"},
		{"i64.shl(1,65)", "i64:0000000000000002"},
		{"i64.shl(1,64)", "i64:0000000000000001"},
		{"i64.shr_s(INT64_MIN,65)", "i64:c000000000000000"},
		{"i64.shr_u(INT64_MIN,65)", "i64:4000000000000000"},
		{"i64.rotl(0x0123456789abcdef,132)", "i64:123456789abcdef0"},
		{"i64.rotr(0x0123456789abcdef,132)", "i64:f0123456789abcde"},
		{"i64.clz(0)", "i64:0000000000000040"},
		{"i64.ctz(0)", "i64:0000000000000040"},
		{"i64.extend_i32_s(INT32_MIN)", "i64:ffffffff80000000"},
		{"i64.extend_i32_u(INT32_MIN)", "i64:0000000080000000"},
		{"i32.wrap_i64(0x0123456789abcdef)", "i32:89abcdef"},
	}
	detMemoryEdges = []detValue{
		{"i32.load(end-4) after i32.store 0xdeadbeef", "i32:deadbeef"},
		{"i64.load(end-8) after i64.store 0x0123456789abcdef", "i64:0123456789abcdef"},
		{"i32.load8_u(end-1)", "i32:00000001"},
		{"i32.load8_u(end-1) after i32.store8 0xa5", "i32:000000a5"},
	}
	detEndian = []detValue{
		{"bytes of i32.store 0x01020304", "i32:04030201"},
		{"bytes of i64.store 0x0102030405060708", "i64:0807060504030201"},
		{"bytes of i32.store16 0x0203", "i32:00000302"},
		{"i32.load of bytes 01..04", "i32:04030201"},
		{"i64.load of bytes 01..08", "i64:0807060504030201"},
		{"i32.load16_u of bytes 01 02", "i32:00000201"},
		{"i32.load of bytes 02..05 (unaligned)", "i32:05040302"},
		{"i32.load16_s of bytes ff 80", "i32:ffff80ff"},
		{"i64.load32_s of bytes ff 80 00 80", "i64:ffffffff800080ff"},
		{"f32.load of bytes 00 00 80 3f", "f32:3f800000"},
		{"f64.load of bytes 00 00 00 00 00 00 f0 3f", "f64:3ff0000000000000"},
	}
)
