package probes

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSymlinkOps checks loop-open's records (a mismatch's bytes, the
// summaries) and readlink-buf's truncation, bufused and guard count, on
// wazero.
func TestSymlinkOps(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"a.txt": "AAA", "b.txt": "BBB"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.txt", filepath.Join(dir, "l")); err != nil {
		t.Fatal(err)
	}
	out := run{mount: dir, args: []string{
		"loop-open", "same", "/sandbox", "a.txt", "AAA", "5", "60000",
		"loop-open", "other", "/sandbox", "b.txt", "AAA", "6", "60000",
		"loop-open", "missing", "/sandbox", "none.txt", "AAA", "3", "60000",
		"readlink-buf", "big", "/sandbox", "l", "4096",
		"readlink-buf", "short", "/sandbox", "l", "2",
	}}.on(t, "fs")
	out.mustExit(t, 0)
	type want struct{ check, op, call, errno, data string }
	var got []want
	counts := map[string]int{}
	for _, r := range out.records(t) {
		got = append(got, want{r.Check, r.Op, r.Call, r.Errno, r.data()})
		counts[r.Check+"/"+r.Op+"/"+r.Call] = intp(r.Count)
	}
	exp := []want{
		{"same", "loop-open", "match", "SUCCESS", ""},
		{"same", "loop-open", "mismatch", "SUCCESS", ""},
		{"same", "loop-open", "loop", "SUCCESS", ""},
		{"other", "loop-read", "fd_read", "SUCCESS", "BBB"},
		{"other", "loop-read", "fd_read", "SUCCESS", "BBB"},
		{"other", "loop-read", "fd_read", "SUCCESS", "BBB"},
		{"other", "loop-read", "fd_read", "SUCCESS", "BBB"},
		{"other", "loop-open", "match", "SUCCESS", ""},
		{"other", "loop-open", "mismatch", "SUCCESS", ""},
		{"other", "loop-open", "loop", "SUCCESS", ""},
		{"missing", "loop-open", "path_open", "NOENT", ""},
		{"missing", "loop-open", "match", "SUCCESS", ""},
		{"missing", "loop-open", "mismatch", "SUCCESS", ""},
		{"missing", "loop-open", "loop", "SUCCESS", ""},
		{"big", "readlink-buf", "", "SUCCESS", "a.txt"},
		// wazero refuses a buffer shorter than the target instead of
		// truncating (the record shows what it said; symlink.readlink-host-path notes it).
		{"short", "readlink-buf", "", "RANGE", ""},
	}
	if len(got) != len(exp) {
		t.Fatalf("want %d records, got %d:\n%s", len(exp), len(got), out.stdout)
	}
	for i := range exp {
		if got[i] != exp[i] {
			t.Errorf("record %d: got %+v, want %+v", i, got[i], exp[i])
		}
	}
	for k, n := range map[string]int{
		"same/loop-open/match": 5, "same/loop-open/loop": 5, "other/loop-open/mismatch": 6,
		"missing/loop-open/path_open": 3, "big/readlink-buf/": 0, "short/readlink-buf/": 0,
	} {
		if counts[k] != n {
			t.Errorf("%s: count %d, want %d", k, counts[k], n)
		}
	}
}
