package weakened

import (
	"regexp"
	"strconv"

	"github.com/wasicert/wasicert/runners"
)

// detValue matches a typed bit pattern in a det.wasm record's data
// (probes/PROTOCOL.md, Determinism probe).
var detValue = regexp.MustCompile(`"data":"(f32|f64|i32|i64):([0-9a-f]{8}|[0-9a-f]{16})"`)

// LastBitWrong stands in for an engine whose results are off in the last
// bit: a fused multiply-add, f32 arithmetic done in f64, x87 extended
// precision, a NaN payload not kept, a shift count not masked. Real engines
// compute what the host CPU computes, so the stand-in runs the real one and
// flips the lowest bit of every typed value det.wasm printed: a canonical
// NaN becomes a non-canonical one, a kept payload changes, an exact value
// is one ulp (or one) off, memory.grow's -1 is not -1. Traps are untouched
// (TrapAsSuccess is their control).
var LastBitWrong = Weakening{Name: "results off in the last bit", after: func(res *runners.Result) {
	res.Stdout = detValue.ReplaceAllFunc(res.Stdout, func(m []byte) []byte {
		sub := detValue.FindSubmatch(m)
		v, err := strconv.ParseUint(string(sub[2]), 16, 64)
		if err != nil {
			return m
		}
		hex := strconv.FormatUint(v^1, 16)
		for len(hex) < len(sub[2]) {
			hex = "0" + hex
		}
		return []byte(`"data":"` + string(sub[1]) + ":" + hex + `"`)
	})
}}
