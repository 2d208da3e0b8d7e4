package main

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The README's two tables of environment variables, by heading.
const (
	envHeading     = "### Environment variables"
	testEnvHeading = "### Test-only variables"
)

var envVar = regexp.MustCompile(`WASICERT_[A-Z0-9_]+`)

// TestEnvTable: every WASICERT_* variable the Go, shell and make sources
// name is in README.md's table of environment variables (or, when only
// tests name it, in its table of test-only variables), and every variable
// those tables list is still named by the code, each in the right table.
func TestEnvTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, readmePath))
	if err != nil {
		t.Fatal(err)
	}
	product, tests := sourceEnvVars(t, root)
	for _, p := range envProblems(string(doc), product, tests) {
		t.Error(p)
	}
}

// TestEnvTableCatchesDrift: a README that misses a variable the code reads,
// lists one the code no longer has, or lists a product variable as
// test-only fails the check.
func TestEnvTableCatchesDrift(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, readmePath))
	if err != nil {
		t.Fatal(err)
	}
	product, tests := sourceEnvVars(t, root)
	if len(envProblems(string(doc), product, tests)) != 0 {
		t.Skip("TestEnvTable fails already")
	}
	row := regexp.MustCompile("(?m)^\\| `WASICERT_TOOLS_DIR` \\|.*\n")
	if !row.MatchString(string(doc)) {
		t.Fatal("README.md has no row for WASICERT_TOOLS_DIR to remove")
	}
	for name, c := range map[string]struct {
		doc  string
		want string
	}{
		"missing": {row.ReplaceAllString(string(doc), ""), "WASICERT_TOOLS_DIR"},
		"stale": {strings.Replace(string(doc), envHeading+"\n", envHeading+"\n\n| `WASICERT_GONE` | nothing | a variable no code reads |\n", 1),
			"WASICERT_GONE"},
		"misplaced": {strings.Replace(row.ReplaceAllString(string(doc), ""), testEnvHeading+"\n",
			testEnvHeading+"\n\n| `WASICERT_TOOLS_DIR` | runners | listed as test-only |\n", 1), "WASICERT_TOOLS_DIR"},
	} {
		ps := envProblems(c.doc, product, tests)
		if !slices.ContainsFunc(ps, func(p string) bool { return strings.Contains(p, c.want) }) {
			t.Errorf("%s: problems %q do not name %s", name, ps, c.want)
		}
	}
}

// envProblems compares the README's tables with the variables the sources
// name: product ones (named outside tests) and test-only ones. A name
// ending in "_" (WASICERT_BIN_ from "WASICERT_BIN_<NAME>") stands for every
// variable it begins.
func envProblems(doc string, product, tests map[string]bool) []string {
	var out []string
	listed, err := envTable(doc, envHeading)
	if err != nil {
		return []string{err.Error()}
	}
	listedTests, err := envTable(doc, testEnvHeading)
	if err != nil {
		return []string{err.Error()}
	}
	covers := func(table map[string]bool, v string) bool {
		for l := range table {
			if l == v || (strings.HasSuffix(v, "_") && strings.HasPrefix(l, v)) ||
				(strings.HasSuffix(l, "_") && strings.HasPrefix(v, l)) {
				return true
			}
		}
		return false
	}
	for _, v := range slices.Sorted(maps.Keys(product)) {
		if !covers(listed, v) {
			out = append(out, "README.md, "+envHeading+": "+v+" is named in the code but not in the table")
		}
	}
	for _, v := range slices.Sorted(maps.Keys(tests)) {
		if !covers(listed, v) && !covers(listedTests, v) {
			out = append(out, "README.md, "+testEnvHeading+": "+v+" is named by tests but in neither table")
		}
	}
	for _, v := range slices.Sorted(maps.Keys(listed)) {
		if !covers(product, v) {
			what := "no code names it any more"
			if covers(tests, v) {
				what = "only tests name it: move it to " + testEnvHeading
			}
			out = append(out, "README.md, "+envHeading+": "+v+" is listed, but "+what)
		}
	}
	for _, v := range slices.Sorted(maps.Keys(listedTests)) {
		switch {
		case covers(product, v):
			out = append(out, "README.md, "+testEnvHeading+": "+v+" is read outside tests: move it to "+envHeading)
		case !covers(tests, v):
			out = append(out, "README.md, "+testEnvHeading+": "+v+" is listed, but no test names it any more")
		}
	}
	return out
}

// envTable returns the variables in the first column of the table under
// heading: every `WASICERT_...` in it, `WASICERT_BIN_<NAME>` as the prefix
// WASICERT_BIN_.
func envTable(doc, heading string) (map[string]bool, error) {
	i := strings.Index(doc, heading+"\n")
	if i < 0 {
		return nil, fmt.Errorf("README.md has no %q section", heading)
	}
	body := doc[i+len(heading)+1:]
	if j := strings.Index(body, "\n#"); j >= 0 {
		body = body[:j]
	}
	vars := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "| `WASICERT_") {
			continue
		}
		first := strings.SplitN(line, "|", 3)[1]
		for _, v := range envVar.FindAllString(first, -1) {
			vars[v] = true
		}
	}
	if len(vars) == 0 {
		return nil, fmt.Errorf("README.md, %s: no table of variables", heading)
	}
	return vars, nil
}

// sourceEnvVars finds every WASICERT_* name in the repository's Go, shell
// and make sources, split into those named outside tests and those named
// only by tests (_test.go files, testdata, the test-helper packages).
func sourceEnvVars(t *testing.T, repo string) (product, tests map[string]bool) {
	t.Helper()
	product, tests = map[string]bool{}, map[string]bool{}
	self, _ := filepath.Abs("env_test.go")
	err := filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repo, p)
		if d.IsDir() {
			switch rel {
			case ".git", ".tools", ".cache", "out", "bin", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if abs, _ := filepath.Abs(p); abs == self || !isSource(p) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		testOnly := strings.HasSuffix(p, "_test.go") || slices.Contains(strings.Split(filepath.ToSlash(rel), "/"), "testdata") ||
			strings.HasPrefix(rel, filepath.Join("internal", "proctest")) || strings.HasPrefix(rel, filepath.Join("internal", "ctrtest"))
		for _, v := range envVar.FindAllString(string(b), -1) {
			if testOnly {
				tests[v] = true
			} else {
				product[v] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for v := range product {
		delete(tests, v)
	}
	return product, tests
}

// isSource: Go, shell and make files, GitHub workflows (.yml: the env a
// project adopting ci/github/wasicert.yml sets), and scripts without an
// extension (.ci/run) that start with a shell's #!.
func isSource(p string) bool {
	switch filepath.Ext(p) {
	case ".go", ".sh", ".mk", ".yml":
		return true
	case "":
		if filepath.Base(p) == "Makefile" {
			return true
		}
		b := make([]byte, 64)
		f, err := os.Open(p)
		if err != nil {
			return false
		}
		defer f.Close()
		n, _ := f.Read(b)
		return strings.HasPrefix(string(b[:n]), "#!") && strings.Contains(strings.SplitN(string(b[:n]), "\n", 2)[0], "sh")
	}
	return false
}
