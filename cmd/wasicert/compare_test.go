package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/records"
)

// runRecords runs the env and args areas on runtime and returns its
// canonical records file.
func runRecords(t *testing.T, runtime string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "records.jsonl")
	if r := wasicert(t, "run", "--runtime", runtime, "--records", p, "--label-filter", "Area:env || Area:args || Area:preopen"); r.code != exitPass {
		t.Fatalf("run %s: exit %d: %s", runtime, r.code, r.stderr)
	}
	return p
}

// plant copies the records at from to a new file with change applied to
// the record of spec, re-sealed: a divergence as a real run would show it.
func plant(t *testing.T, from, spec string, change func(*records.Record)) string {
	t.Helper()
	recs, err := records.Read(from)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i := range recs {
		if recs[i].Spec == spec {
			change(&recs[i])
			recs[i] = recs[i].Seal()
			found = true
		}
	}
	if !found {
		t.Fatalf("no record of %s in %s", spec, from)
	}
	p := filepath.Join(t.TempDir(), "planted.records.jsonl")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := records.Write(f, recs); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestComparePlantedDivergence: records of two real runs agree; a copy with
// one planted change is a real divergence (exit 1, the spec named), a NaN
// whose sign changed is allowed (exit 0), and an edited record that was not
// re-sealed is refused as bad input.
func TestComparePlantedDivergence(t *testing.T) {
	a, b := runRecords(t, "wazero"), runRecords(t, "wazero")
	if r := wasicert(t, "compare", a, b); r.code != exitPass || !strings.Contains(r.stdout, "0 real") {
		t.Fatalf("two runs of one runtime: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	const spec = "preopen.dotdot"
	arm := plant(t, b, spec, func(r *records.Record) {
		r.Env.Arch, r.Env.Emulated = "arm64", "qemu-aarch64"
		r.Calls[0].Errno, r.Calls[0].Outcome, r.Calls[0].Data = "SUCCESS", "ok", "OUTSIDE-CANARY-<token>\n"
	})
	r := wasicert(t, "compare", a, arm)
	if r.code != exitFail || !strings.Contains(r.stdout, spec+": REAL") || !strings.Contains(r.stdout, "1 real") {
		t.Errorf("planted errno change: exit %d, want 1 naming %s\n%s%s", r.code, spec, r.stdout, r.stderr)
	}

	nan := plant(t, b, spec, func(r *records.Record) {
		r.Env.Arch = "arm64"
		r.Calls[0].Data = "f32:7fc00000"
	})
	nanBase := plant(t, a, spec, func(r *records.Record) { r.Calls[0].Data = "f32:ffc00000" })
	if r := wasicert(t, "compare", nanBase, nan); r.code != exitPass || !strings.Contains(r.stdout, "1 allowed by the WebAssembly spec") {
		t.Errorf("NaN sign: exit %d, want 0 and the difference allowed\n%s%s", r.code, r.stdout, r.stderr)
	}

	raw, _ := os.ReadFile(b)
	edited := filepath.Join(t.TempDir(), "edited.jsonl")
	writeFile(t, edited, 0o644, strings.Replace(string(raw), `"errno":"`, `"errno":"X`, 1))
	if r := wasicert(t, "compare", a, edited); r.code != exitUsage || !strings.Contains(r.stderr, "digest does not match") {
		t.Errorf("edited records: exit %d, want 2 and the digest named: %s", r.code, r.stderr)
	}
}

func TestCompareByRuntimeTable(t *testing.T) {
	a, b := runRecords(t, "wazero"), runRecords(t, "wazero-confined")
	r := wasicert(t, "compare", "--by", "runtime", a, b)
	if r.code == exitUsage {
		t.Fatalf("exit 2: %s", r.stderr)
	}
	for _, want := range []string{"| spec | wazero | wazero-confined | odd one out |", "| preopen.dotdot | pass | pass |  |"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestCompareBadInput(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "results.jsonl")
	writeFile(t, results, 0o644, `{"spec":"x","verdict":"pass","run_id":"r"}`+"\n")
	newer := filepath.Join(dir, "newer.jsonl")
	writeFile(t, newer, 0o644, `{"format":99,"spec":"x","digest":"sha256:00"}`+"\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"compare"}, "no records given"},
		{[]string{"compare", "--by", "cpu", results}, `--by "cpu"`},
		{[]string{"compare", "/nonexistent.jsonl"}, "no such file"},
		{[]string{"compare", results}, "not a canonical records file"},
		{[]string{"compare", newer}, "newer than this wasicert's"},
		{[]string{"compare", dir + "/empty-dir-missing"}, "no such file"},
		{[]string{"compare", t.TempDir()}, "no records.jsonl under"},
	} {
		r := wasicert(t, c.args...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != exitUsage || len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line with %q", c.args, r.code, r.stderr, c.want)
		}
	}
}

// TestDiff: between a real run and a copy where one passing spec now
// escapes and one failing spec now passes, diff lists both, sorted, and
// exits 1 for the newly failing one; a run against itself exits 0.
func TestDiff(t *testing.T) {
	old := runRecords(t, "wazero")
	if r := wasicert(t, "diff", old, old); r.code != exitPass || !strings.Contains(r.stdout, "0 newly failing, 0 newly passing, 0 changed") {
		t.Fatalf("diff of a run with itself: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	step := plant(t, old, "preopen.dotdot", func(r *records.Record) {
		r.Verdict, r.Causes = "escape", []string{"step:dotdot"}
	})
	cur := plant(t, step, "preopen.discovery", func(r *records.Record) { r.Verdict, r.Causes = "pass", nil })
	r := wasicert(t, "diff", old, cur)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if r.code != exitFail || len(lines) != 3 ||
		!strings.HasPrefix(lines[0], "newly failing  wazero/amd64 preopen.dotdot: escape, was pass (step:dotdot)") ||
		!strings.HasPrefix(lines[1], "newly passing  wazero/amd64 preopen.discovery: pass, was fail") {
		t.Errorf("diff: exit %d, want 1 and the two changes in order:\n%s%s", r.code, r.stdout, r.stderr)
	}
	newer := filepath.Join(t.TempDir(), "newer.jsonl")
	writeFile(t, newer, 0o644, `{"format":99,"spec":"x","digest":"sha256:00"}`+"\n")
	if r := wasicert(t, "diff", old, newer); r.code != exitUsage || !strings.Contains(r.stderr, "newer than this wasicert's") {
		t.Errorf("diff against a newer format: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := wasicert(t, "diff", old); r.code != exitUsage || !strings.Contains(r.stderr, "give OLD and NEW") {
		t.Errorf("diff with one argument: exit %d, stderr %q", r.code, r.stderr)
	}
}
