package suites_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/internal/naive"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// TestPathSpecsFailOnNaive: each path spec fails on the naive runtime for
// its own cause, the weakness it is about: lexical joining (.., file/..),
// trailing slashes dropped, "" as the directory, a NUL ending the path,
// backslashes as separators (internal/naive weaknesses 1 and 11 to 14).
func TestPathSpecsFailOnNaive(t *testing.T) {
	want := map[string]struct {
		verdict verdicts.Verdict
		cause   string
	}{
		"path.trailing-slash-escape": {verdicts.Escape, "step:tsesc.dir"},
		"path.trailing-slash":        {verdicts.Fail, "step:ts.file"},
		"path.dot-mixes":             {verdicts.Escape, "step:dots.escape-dot"},
		"path.empty":                 {verdicts.Fail, "step:empty.open"},
		"path.nul-byte":              {verdicts.Escape, "step:nul.dotdot"},
		"path.long":                  {verdicts.Escape, "step:long.escape"},
		"path.file-as-dir":           {verdicts.Fail, "step:fad.through"},
		"path.backslash-literal":     {verdicts.Escape, "step:bs.escape"},
	}
	r := naive.New()
	for _, spec := range catalogue.All() {
		if spec.Area != suites.AreaPath || otherOS(spec) {
			continue
		}
		w, ok := want[spec.ID]
		if !ok {
			t.Errorf("%s: no expected failure on the naive runtime: add it here", spec.ID)
			continue
		}
		rec, err := suites.Execute(context.Background(), spec, suites.Options{Runner: r})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Verdict != w.verdict || !slices.Contains(rec.Causes, w.cause) {
			t.Errorf("%s on naive: %s (causes %s), want %s with cause %s: %s", spec.ID, rec.Verdict, strings.Join(rec.Causes, " "), w.verdict, w.cause, rec.Reason)
		}
	}
}
