package records_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/records"
	"github.com/wasicert/wasicert/verdicts"
)

func TestNormalise(t *testing.T) {
	for _, tc := range []struct{ op, in, want string }{
		{"open", "OUTSIDE-CANARY-027428439eaf872e932c034ef6fe5878\n", "OUTSIDE-CANARY-<token>\n"},
		{"sock_recv", "wasicert-echo-66961418\n", "wasicert-echo-<token>\n"},
		{"readlink-buf", "/tmp/wasicert-run-1518932272/wasicert-fixture-3692052009/out", "<fixture>/out"},
		{"readlink-buf", "/var/tmp/wasicert-fixture-12/a", "<fixture>/a"},
		{"clock-mono", "back=0 maxback=0 first=16869152 last=29726716", "back=0 maxback=0 first=<ns> last=<ns>"},
		{"sleeps", "min=1827 max=8722376", "min=<ns> max=<ns>"},
		{"fd-exhaust", "stop=error ms=20", "stop=error ms=<ms>"},
		{"stat-times", "atim=1796282245179828117 mtim=18446744073709551615 read=7", "atim=<walltime> mtim=18446744073709551615 read=7"},
		{"random", "\x13\x13\xffs", "<random 4 bytes>"},
		// What must stay: NaN bit patterns, plain data, counts.
		{"nan", "f32:ffc00000", "f32:ffc00000"},
		{"open", "INSIDE-FILE\n", "INSIDE-FILE\n"},
		{"readdir-pad", "pad=0 padhex= tail=0 names=78", "pad=0 padhex= tail=0 names=78"},
	} {
		if got := records.Normalise(tc.op, tc.in); got != tc.want {
			t.Errorf("Normalise(%q, %q) = %q, want %q", tc.op, tc.in, got, tc.want)
		}
	}
}

func result(data string) verdicts.Record {
	return verdicts.Record{
		Spec: "preopen.x", Area: "preopen", Verdict: verdicts.ExpectedFailure, Actual: verdicts.Escape,
		Causes: []string{"canary:token:stdout"}, Ended: "exit", Reason: "varies", RunID: "r1", Duration: 7,
		Calls: []verdicts.Call{{Check: "c", Op: "open", Outcome: "ok", Errno: "SUCCESS", Data: data}},
	}
}

func TestMakeKeepsWhatIsPortable(t *testing.T) {
	env := records.Env{Arch: "amd64", Runtime: "wazero"}
	a := records.Make(result("OUTSIDE-CANARY-00112233445566778899aabbccddeeff\n"), false, env)
	b := result("OUTSIDE-CANARY-ffeeddccbbaa99887766554433221100\n")
	b.RunID, b.Reason, b.Duration = "r2", "other words", 9
	if got := records.Make(b, false, records.Env{Arch: "s390x", Runtime: "wazero"}); got.Digest != a.Digest {
		t.Errorf("run ID, reason, duration, tokens and env changed the digest: %s vs %s", a.Digest, got.Digest)
	}
	if a.Verdict != verdicts.Escape {
		t.Errorf("verdict = %s, want the verdict before expectations (escape)", a.Verdict)
	}
	if c := records.Make(result("INSIDE-FILE\n"), false, env); c.Digest == a.Digest {
		t.Error("different data gave the same digest")
	}
	racy := records.Make(result("x"), true, env)
	if len(racy.Calls) != 0 || !racy.Racy {
		t.Errorf("a racy spec's record kept its calls: %+v", racy)
	}
}

func TestReadRejectsWhatIsNotARecord(t *testing.T) {
	dir := t.TempDir()
	good := records.Make(result("x"), false, records.Env{Arch: "amd64"})
	write := func(name string, recs []records.Record, extra string) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := records.Write(f, recs); err != nil {
			t.Fatal(err)
		}
		f.WriteString(extra)
		f.Close()
		return p
	}
	if recs, err := records.Read(write("torn", []records.Record{good}, `{"format":1,"spec":"pre`)); err != nil || len(recs) != 1 {
		t.Errorf("a torn last line: %d records, %v; want 1 and no error", len(recs), err)
	}
	edited := good
	edited.Calls = []records.Call{{Check: "c", Op: "open", Errno: "PERM"}}
	newer := good
	newer.Format = records.Format + 1
	for name, tc := range map[string]struct {
		recs  []records.Record
		extra string
		want  string
	}{
		"edited": {[]records.Record{edited}, "", "digest does not match"},
		"newer":  {[]records.Record{newer.Seal()}, "", "newer than this wasicert's"},
		// A newer format that adds a field is named as newer, not as no records.
		"newer-field": {nil, `{"format":2,"spec":"x","placement":"rack 4"}` + "\n", "record format 2 is newer than this wasicert's"},
		"results":     {nil, `{"spec":"x","verdict":"pass","run_id":"r"}` + "\n", "not a canonical records file"},
		"torn-mid":    {nil, `{"format":1,"spec":"pre` + "\n" + `{}` + "\n", "not a canonical records file"},
	} {
		_, err := records.Read(write(name, tc.recs, tc.extra))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
}
