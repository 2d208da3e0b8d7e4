package probes

import (
	"strings"
	"testing"
)

// TestParseCalls: calls and the rights fields of a record are parsed, and
// Reached follows the first call, whatever later calls answered.
func TestParseCalls(t *testing.T) {
	out := strings.Join([]string{
		// An escape that fails late: path_open of a directory outside the
		// sandbox succeeded, fd_read answered ISDIR.
		`{"check":"abs.root","op":"open","call":"fd_read","outcome":"error","errno":"ISDIR","calls":[{"call":"path_open","errno":"SUCCESS"},{"call":"fd_read","errno":"ISDIR"},{"call":"fd_close","errno":"SUCCESS"}],"data":""}`,
		`{"check":"refused","op":"open","call":"path_open","outcome":"error","errno":"PERM","calls":[{"call":"path_open","errno":"PERM"}],"data":""}`,
		`{"check":"read","op":"open","call":"fd_close","outcome":"ok","errno":"SUCCESS","calls":[{"call":"path_open","errno":"SUCCESS"},{"call":"fd_read","errno":"SUCCESS"},{"call":"fd_close","errno":"SUCCESS"}],"data":"x"}`,
		`{"check":"libc","op":"libc-open","call":"open","outcome":"error","errno":"ENOENT","calls":[{"call":"open","errno":"ENOENT"}],"data":""}`,
		`{"check":"single-ok","op":"mkdir","outcome":"ok","errno":"SUCCESS"}`,
		`{"check":"single-err","op":"mkdir","outcome":"error","errno":"PERM"}`,
		`{"check":"rights","op":"open-rights","call":"fd_write","outcome":"error","errno":"BADF","calls":[{"call":"path_open","errno":"SUCCESS"},{"call":"fd_fdstat_get","errno":"SUCCESS"},{"call":"fd_write","errno":"BADF"},{"call":"fd_close","errno":"SUCCESS"}],"dir_inheriting":268435455,"rights_base":2,"rights_inheriting":0}`,
	}, "\n")
	recs, junk := ParseLines([]byte(out))
	if len(junk) > 0 || len(recs) != 7 {
		t.Fatalf("want 7 records and no junk, got %d and %q", len(recs), junk)
	}
	want := []struct {
		calls       string
		ok, reached bool
	}{
		{"path_open=true fd_read=false fd_close=true", false, true},
		{"path_open=false", false, false},
		{"path_open=true fd_read=true fd_close=true", true, true},
		{"open=false", false, false},
		{"", true, true},
		{"", false, false},
		{"path_open=true fd_fdstat_get=true fd_write=false fd_close=true", false, true},
	}
	for i, w := range want {
		r := recs[i]
		var calls []string
		for _, c := range r.Calls {
			calls = append(calls, c.Call+"="+map[bool]string{true: "true", false: "false"}[c.OK()])
		}
		if got := strings.Join(calls, " "); got != w.calls {
			t.Errorf("%s: calls %q, want %q", r.Check, got, w.calls)
		}
		if r.OK() != w.ok || r.Reached() != w.reached {
			t.Errorf("%s: OK %v Reached %v, want %v %v", r.Check, r.OK(), r.Reached(), w.ok, w.reached)
		}
	}
	if r := recs[3]; r.Calls[0].Errno != "ENOENT" {
		t.Errorf("libc errno name: got %q", r.Calls[0].Errno)
	}
	r := recs[6]
	if r.DirInheriting == nil || *r.DirInheriting != 268435455 || r.RightsBase == nil || *r.RightsBase != 2 || r.RightsInheriting == nil || *r.RightsInheriting != 0 {
		t.Errorf("rights fields: %+v", r)
	}
	if recs[0].DirInheriting != nil || recs[0].RightsBase != nil {
		t.Errorf("rights fields on a record without them: %+v", recs[0])
	}
}
