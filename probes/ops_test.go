package probes

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestOpsMatchSources: the op constants, the probes' op tables and
// PROTOCOL.md's op tables name exactly the same ops.
func TestOpsMatchSources(t *testing.T) {
	var src []string
	for _, f := range []string{"src/fs.c", "src/sock.c", "src/sockext.c", "src/clock.c", "src/res.c", "src/proc.c", "src/det.c"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?m)^\s*\{"([a-z-]+)", "`).FindAllStringSubmatch(string(b), -1) {
			src = append(src, m[1])
		}
	}
	doc, err := os.ReadFile("PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, sec := range strings.Split(string(doc), "\n#") {
		if !regexp.MustCompile(`^## [a-z]+\.wasm ops( \([a-z ]+\))?\n`).MatchString(sec) {
			continue
		}
		for _, m := range regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\|").FindAllStringSubmatch(sec, -1) {
			documented = append(documented, m[1])
		}
	}
	for name, list := range map[string][]string{"src/*.c op tables": src, "PROTOCOL.md op tables": documented} {
		for _, op := range Ops {
			if !slices.Contains(list, op) {
				t.Errorf("op %q (probes.Ops) is missing from the %s", op, name)
			}
		}
		for _, op := range list {
			if !slices.Contains(Ops, op) {
				t.Errorf("op %q in the %s has no constant in probes/ops.go", op, name)
			}
		}
	}
}
