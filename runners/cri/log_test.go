package cri

import (
	"bytes"
	"strings"
	"testing"
)

func TestSplitLog(t *testing.T) {
	in := "2026-12-03T10:00:00.000000001Z stdout F {\"a\":1}\n" +
		"2026-12-03T10:00:00.000000002Z stderr P par\n" +
		"2026-12-03T10:00:00.000000003Z stderr F tial\n" +
		"2026-12-03T10:00:00.000000004Z stdout F \n" +
		"2026-12-03T10:00:00.000000005Z stdout F with  two  spaces\r\n" +
		"2026-12-03T10:00:00.000000006Z stdout P last"
	var out, errb bytes.Buffer
	if err := SplitLog(strings.NewReader(in), &out, &errb); err != nil {
		t.Fatal(err)
	}
	if want := "{\"a\":1}\n\nwith  two  spaces\r\nlast"; out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
	if want := "partial\n"; errb.String() != want {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
	for _, bad := range []struct{ in, want string }{
		{"2026-12-03T10:00:00Z stdin F x\n", `stream "stdin"`},
		{"2026-12-03T10:00:00Z stdout X x\n", `tag "X"`},
		{"ok stdout F x\nbroken\n", "line 2"},
	} {
		if err := SplitLog(strings.NewReader(bad.in), &out, &errb); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("SplitLog(%q) = %v, want an error naming %s", bad.in, err, bad.want)
		}
	}
}
