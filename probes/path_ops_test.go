package probes

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPathOps checks the path traversal ops on wazero: open-bytes passes
// the decoded bytes with their exact length (a NUL included), open-repeat
// builds the path it says and refuses to build one over 1 MiB, and open-at
// lists the second path_open first and reports a failed first one as setup.
func TestPathOps(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"inside.txt": "IN\n", "sub/file.txt": "SUB\n", `a\b`: "BACKSLASH\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := run{mount: dir, args: []string{
		"open-bytes", "b.plain", "/sandbox", "inside.txt", "follow", "0", "r",
		"open-bytes", "b.nul", "/sandbox", `inside.txt\x00`, "follow", "0", "r",
		"open-bytes", "b.hex", "/sandbox", `inside\x2etxt`, "follow", "0", "r",
		"open-bytes", "b.backslash", "/sandbox", `a\\b`, "follow", "0", "r",
		"open-bytes", "b.partial", "/sandbox", `\x4`, "follow", "0", "r",
		"open-repeat", "r.dots", "/sandbox", "sub", "/.", "3", "/file.txt",
		"open-repeat", "r.none", "/sandbox", "inside.txt", "x", "0", "",
		"open-repeat", "r.huge", "/sandbox", "", "ab", "600000", "",
		"open-at", "at.file", "/sandbox", "inside.txt", "x", "follow",
		"open-at", "at.dir", "/sandbox", "sub", "file.txt", "follow",
		"open-at", "at.missing", "/sandbox", "missing", "x", "follow",
	}}.on(t, "fs")
	out.mustExit(t, 0)
	recs := out.records(t)
	want := []struct {
		check, call, errno, data, calls string
		size                            int
	}{
		{"b.plain", "fd_close", "SUCCESS", "IN\n", "path_open=SUCCESS fd_read=SUCCESS fd_close=SUCCESS", 10},
		// Go refuses a path with a NUL byte: wazero answers INVAL.
		{"b.nul", "path_open", "INVAL", "", "path_open=INVAL", 11},
		{"b.hex", "fd_close", "SUCCESS", "IN\n", "path_open=SUCCESS fd_read=SUCCESS fd_close=SUCCESS", 10},
		{"b.backslash", "fd_close", "SUCCESS", "BACKSLASH\n", "path_open=SUCCESS fd_read=SUCCESS fd_close=SUCCESS", 3},
		// An incomplete escape is taken literally.
		{"b.partial", "path_open", "NOENT", "", "path_open=NOENT", 3},
		{"r.dots", "fd_close", "SUCCESS", "SUB\n", "path_open=SUCCESS fd_read=SUCCESS fd_close=SUCCESS", 18},
		{"r.none", "fd_close", "SUCCESS", "IN\n", "path_open=SUCCESS fd_read=SUCCESS fd_close=SUCCESS", 10},
		{"r.huge", "build", "TOOLONG", "", "", -1},
		{"at.file", "path_open", "NOTDIR", "", "path_open=NOTDIR fd_close=SUCCESS", -1},
		{"at.dir", "fd_close", "SUCCESS", "SUB\n", "path_open=SUCCESS fd_read=SUCCESS fd_close=SUCCESS", -1},
		{"at.missing", "setup", "NOENT", "", "", -1},
	}
	if len(recs) != len(want) {
		t.Fatalf("want %d records, got %d:\n%s", len(want), len(recs), out.stdout)
	}
	for i, w := range want {
		r := recs[i]
		if r.Check != w.check || r.Call != w.call || r.Errno != w.errno || r.data() != w.data || r.calls() != w.calls || intp(r.Size) != w.size {
			t.Errorf("record %d: want %+v, got %+v data %q calls %q size %d", i, w, r, r.data(), r.calls(), intp(r.Size))
		}
	}
}
