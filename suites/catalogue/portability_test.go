package catalogue

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/wazero"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

// TestDetMismatch: the value check accepts exactly what the spec allows: a
// canonical NaN of either sign, any arithmetic NaN where an input was not
// canonical, and otherwise the one bit pattern.
func TestDetMismatch(t *testing.T) {
	for _, c := range []struct {
		want, data string
		ok         bool
	}{
		{"f32:" + canonicalNaN, "f32:7fc00000", true},
		{"f32:" + canonicalNaN, "f32:ffc00000", true}, // x86-64's default NaN
		{"f32:" + canonicalNaN, "f32:7fc00001", false},
		{"f32:" + canonicalNaN, "f32:7f800001", false},
		{"f32:" + canonicalNaN, "f32:7f800000", false}, // inf
		{"f32:" + canonicalNaN, "f64:7ff8000000000000", false},
		{"f64:" + canonicalNaN, "f64:fff8000000000000", true},
		{"f64:" + canonicalNaN, "f64:7ff8000000000001", false},
		{"f32:" + arithmeticNaN, "f32:7fc12345", true},
		{"f32:" + arithmeticNaN, "f32:ffc00000", true},
		{"f32:" + arithmeticNaN, "f32:7f812345", false}, // signalling: not quieted
		{"f64:" + arithmeticNaN, "f64:7ff8000000012345", true},
		{"f64:" + arithmeticNaN, "f64:7ff0000000012345", false},
		{"f32:ff812345", "f32:ff812345", true},
		{"f32:ff812345", "f32:ffc12345", false}, // payload changed by a bit op
		{"f32:ff812345", "f32:FF812345", false},
		{"f32:ff812345", "f32:ff81234", false},
		{"f32:ff812345", "i32:ff812345", false},
		{"i64:0000000000000040", "i64:0000000000000040", true},
		{"i64:0000000000000040", "i64:40", false},
		{"i32:00000000", "i32:0000000g", false},
	} {
		why := detMismatch(c.want, c.data)
		if (why == "") != c.ok {
			t.Errorf("detMismatch(%q, %q) = %q, want ok=%v", c.want, c.data, why, c.ok)
		}
	}
}

// TestDetTablesMatchProbe: det.wasm prints exactly the calls the judge's
// tables list, op by op, so neither side can drift (a value the probe
// added would go unjudged; one it dropped fails as "no record").
func TestDetTablesMatchProbe(t *testing.T) {
	r, err := wazero.New(wazero.Options{})
	if err != nil {
		t.Fatal(err)
	}
	mod, err := probes.Get("det")
	if err != nil {
		t.Fatal(err)
	}
	tables := map[string][]detValue{
		probes.OpNaN: detNaN, probes.OpNaNBits: detNaNBits, probes.OpFloat: detFloat, probes.OpInt: detInt,
		probes.OpMemory: detMemoryEdges, probes.OpEndian: detEndian,
	}
	// Calls of the memory op that judgeGrowLimit reads, not a table.
	grow := []string{"memory.size", "memory.grow(0)", "memory.grow(65536)", "memory.grow(65537-size)", "memory.grow(0xffffffff)",
		"memory.size after failed grows", "memory.grow(1)", "memory.size after grow(1)"}
	args := []string{"probe"}
	for op := range tables {
		args = append(args, op, op)
	}
	res, err := r.Run(context.Background(), runners.Invocation{Module: mod, Args: args, WorkDir: t.TempDir(), Timeout: 30 * time.Second})
	if err != nil || res.Ended != runners.EndedExit || res.ExitCode != 0 {
		t.Fatalf("det.wasm: %v, %s: %s", err, res.String(), res.Stderr)
	}
	lines, junk := probes.ParseLines(res.Stdout)
	if len(junk) > 0 {
		t.Errorf("junk: %q", junk)
	}
	for op, table := range tables {
		var printed, listed []string
		for _, l := range lines {
			if l.Check == op && !(op == probes.OpMemory && slices.Contains(grow, l.Call)) {
				printed = append(printed, l.Call)
			}
		}
		for _, v := range table {
			listed = append(listed, v.call)
			if !strings.HasPrefix(v.want, "f32:") && !strings.HasPrefix(v.want, "f64:") && !strings.HasPrefix(v.want, "i32:") && !strings.HasPrefix(v.want, "i64:") {
				t.Errorf("%s: want %q has no type prefix", v.call, v.want)
			}
		}
		if !slices.Equal(printed, listed) {
			t.Errorf("op %s printed calls\n  %q\nthe judge's table lists\n  %q", op, printed, listed)
		}
	}
}

// TestJudgeTraps: a trap kind passes only when the probe reached the
// instruction ("armed") and the run then ended without a value: by a trap,
// or by another failure (with a note). A value, status 0 or a hang fails
// with the kind's own cause; a run that never reached the instruction is
// not the instruction's fault.
func TestJudgeTraps(t *testing.T) {
	armed := `{"check":"trap","op":"trap","call":"i32.div_s(1,0)","outcome":"ok","errno":"SUCCESS","data":"armed"}` + "\n"
	value := `{"check":"trap","op":"trap","call":"i32.div_s(1,0)","outcome":"ok","errno":"SUCCESS","data":"i32:00000000"}` + "\n"
	for _, c := range []struct {
		name  string
		res   runners.Result
		cause string // "" for a pass
	}{
		{"trap", runners.Result{Ended: runners.EndedTrap, Stdout: []byte(armed)}, ""},
		{"non-zero exit", runners.Result{Ended: runners.EndedExit, ExitCode: 1, Stdout: []byte(armed)}, ""},
		{"value then exit 0", runners.Result{Ended: runners.EndedExit, Stdout: []byte(armed + value)}, "trap:i32.div_s(1,0)"},
		{"value then a trap", runners.Result{Ended: runners.EndedTrap, Stdout: []byte(armed + value)}, "trap:i32.div_s(1,0)"},
		{"exit 0", runners.Result{Ended: runners.EndedExit, Stdout: []byte(armed)}, "trap:i32.div_s(1,0)"},
		{"hang", runners.Result{Ended: runners.EndedTimeout, Stdout: []byte(armed)}, "trap:i32.div_s(1,0)"},
		{"never armed", runners.Result{Ended: runners.EndedTrap}, "run:not-armed"},
	} {
		ev := &suites.Evidence{Plan: suites.Plan{Actors: []suites.Actor{&Reruns{Runs: []Rerun{{Name: "i32.div_s(1,0)", Result: c.res}}}}}}
		j := judgeTraps(ev)
		if c.cause == "" && j.Verdict != verdicts.Pass || c.cause != "" && !slices.Contains(j.Causes, c.cause) {
			t.Errorf("%s: %s (%s) causes %v, want cause %q", c.name, j.Verdict, j.Reason, j.Causes, c.cause)
		}
	}
}
