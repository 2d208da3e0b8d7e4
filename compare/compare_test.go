package compare_test

import (
	"strings"
	"testing"

	"github.com/wasicert/wasicert/compare"
	"github.com/wasicert/wasicert/records"
	"github.com/wasicert/wasicert/verdicts"
)

// set makes a one-spec set on arch for runtime, from calls (op, errno, data).
func set(runtime, arch string, v verdicts.Verdict, calls ...[3]string) *compare.Set {
	r := verdicts.Record{Spec: "s.one", Actual: v, Ended: "exit"}
	for _, c := range calls {
		r.Calls = append(r.Calls, verdicts.Call{Check: "k", Op: c[0], Outcome: "ok", Errno: c[1], Data: c[2]})
	}
	return compare.Sets("test", []records.Record{records.Make(r, false, records.Env{Arch: arch, Runtime: runtime})})[0]
}

func TestPairClassifies(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b *compare.Set
		want compare.Class
	}{
		{"same", set("w", "amd64", verdicts.Pass, [3]string{"nan", "SUCCESS", "f32:ffc00000"}), set("w", "arm64", verdicts.Pass, [3]string{"nan", "SUCCESS", "f32:ffc00000"}), ""},
		{"nan-sign", set("w", "amd64", verdicts.Pass, [3]string{"nan", "SUCCESS", "f32:ffc00000"}), set("w", "arm64", verdicts.Pass, [3]string{"nan", "SUCCESS", "f32:7fc00000"}), compare.WasmNaN},
		{"nan-payload-f64", set("w", "amd64", verdicts.Pass, [3]string{"nan", "SUCCESS", "f64:fff8000000000001"}), set("w", "arm64", verdicts.Pass, [3]string{"nan", "SUCCESS", "f64:7ff8000000000000"}), compare.WasmNaN},
		{"nan-vs-number", set("w", "amd64", verdicts.Pass, [3]string{"nan", "SUCCESS", "f32:7fc00000"}), set("w", "arm64", verdicts.Pass, [3]string{"nan", "SUCCESS", "f32:3f800000"}), compare.Real},
		{"nan-width", set("w", "amd64", verdicts.Pass, [3]string{"nan", "SUCCESS", "f32:7fc00000"}), set("w", "arm64", verdicts.Pass, [3]string{"nan", "SUCCESS", "f64:7ff8000000000000"}), compare.Real},
		{"data", set("w", "amd64", verdicts.Pass, [3]string{"open", "SUCCESS", "INSIDE"}), set("w", "arm64", verdicts.Pass, [3]string{"open", "SUCCESS", "OUTSIDE"}), compare.Real},
		{"errno-both-pass", set("w", "amd64", verdicts.Pass, [3]string{"open", "PERM", ""}), set("w", "arm64", verdicts.Pass, [3]string{"open", "NOTCAPABLE", ""}), compare.WASILatitude},
		{"errno-one-fails", set("w", "amd64", verdicts.Pass, [3]string{"open", "PERM", ""}), set("w", "arm64", verdicts.Fail, [3]string{"open", "NOENT", ""}), compare.Real},
		{"errno-both-fail", set("w", "amd64", verdicts.Fail, [3]string{"open", "IO", ""}), set("w", "arm64", verdicts.Fail, [3]string{"open", "NOENT", ""}), compare.Real},
		{"verdict", set("w", "amd64", verdicts.Pass), set("w", "arm64", verdicts.Escape), compare.Real},
		{"calls", set("w", "amd64", verdicts.Pass, [3]string{"open", "PERM", ""}), set("w", "arm64", verdicts.Pass), compare.Real},
		{"skipped", set("w", "amd64", verdicts.Pass), set("w", "arm64", verdicts.Skipped), compare.NotCompared},
	} {
		got := compare.Worst(compare.Pair(tc.a, tc.b))
		if got != tc.want {
			t.Errorf("%s: %s, want %q: %v", tc.name, got, tc.want, compare.Pair(tc.a, tc.b))
		}
	}
}

func TestIntermittentIsNotReal(t *testing.T) {
	a := set("node", "amd64", verdicts.Pass)
	r := verdicts.Record{Spec: "s.one", Actual: verdicts.Crash, Ended: "crash",
		Expectation: &verdicts.Expectation{Intermittent: true, Reference: "https://example.invalid/issue"}}
	b := compare.Sets("t", []records.Record{records.Make(r, false, records.Env{Arch: "arm64", Runtime: "node"})})[0]
	ds := compare.Pair(a, b)
	if w := compare.Worst(ds); w != compare.Intermittent || !strings.Contains(ds[0].Why, "example.invalid") {
		t.Errorf("intermittent deviation: %s %v", w, ds)
	}
}

func TestTableMarksTheOddOneOut(t *testing.T) {
	sets := []*compare.Set{
		set("wazero", "amd64", verdicts.Pass, [3]string{"open", "PERM", ""}),
		set("wasmtime", "amd64", verdicts.Pass, [3]string{"open", "PERM", ""}),
		set("node", "amd64", verdicts.Escape, [3]string{"open", "SUCCESS", "OUTSIDE"}),
	}
	groups := compare.ByRuntime(sets)
	if len(groups) != 1 {
		t.Fatalf("%d groups, want 1 (one architecture)", len(groups))
	}
	rows, ds := groups[0].Table()
	if len(rows) != 1 || len(rows[0].Odd) != 1 || rows[0].Odd[0] != "node" || !rows[0].Cells[2].Odd || rows[0].Cells[0].Odd {
		t.Errorf("rows = %+v, want node alone marked odd", rows)
	}
	if compare.Worst(ds) != compare.Real || ds[0].B != "node/amd64" {
		t.Errorf("divergences = %v, want node's, real", ds)
	}
	// Two runtimes that disagree: no majority.
	rows, _ = compare.ByRuntime(sets[1:])[0].Table()
	if !rows[0].Split {
		t.Errorf("two disagreeing runtimes: %+v, want split", rows[0])
	}
}

func TestByArchPutsNativeAmd64First(t *testing.T) {
	emu := set("w", "amd64", verdicts.Pass)
	emu.Env.Emulated = "qemu-x86_64"
	g := compare.ByArch([]*compare.Set{set("w", "s390x", verdicts.Pass), emu, set("w", "amd64", verdicts.Pass), set("v", "arm64", verdicts.Pass)})
	if len(g) != 2 || g[0].Sets[0].Env.Arch != "amd64" || g[0].Sets[0].Env.Emulated != "" {
		t.Errorf("groups: %+v", g)
	}
}

// TestNodesAreSets: the records of two cluster nodes of one architecture,
// concatenated into one file, are two sets, compared node against node
// (ci/kubernetes: `wasicert compare` merges the nodes' records).
func TestNodesAreSets(t *testing.T) {
	mk := func(node string, v verdicts.Verdict) records.Record {
		return records.Make(verdicts.Record{Spec: "s.one", Actual: v, Ended: "exit"}, false,
			records.Env{Arch: "amd64", Runtime: "cri", RuntimeVersion: "containerd 2.2.9", Node: node})
	}
	sets := compare.Sets("nodes.jsonl", []records.Record{mk("node-a", verdicts.Pass), mk("node-b", verdicts.Escape)})
	if len(sets) != 2 || sets[0].Label() != "cri/amd64@node-a" || sets[1].Label() != "cri/amd64@node-b" {
		t.Fatalf("sets = %d (%v), want one per node, labelled with it", len(sets), sets)
	}
	g := compare.ByArch(sets)
	if len(g) != 1 {
		t.Fatalf("groups: %+v, want one (runtime cri)", g)
	}
	ds := g[0].Baseline()
	if compare.Worst(ds) != compare.Real || ds[0].B != "cri/amd64@node-b" {
		t.Errorf("divergences = %v, want node-b's escape, real", ds)
	}
	// Without the node, the two are one set and the escape hides behind the
	// record kept last: the control that shows the node is what splits them.
	a, b := mk("", verdicts.Pass), mk("", verdicts.Escape)
	if n := len(compare.Sets("nodes.jsonl", []records.Record{a, b})); n != 1 {
		t.Errorf("without node names: %d sets, want 1", n)
	}
}
