// Command docgen writes the parts of README.md that come from the code, and
// checks that a matrix run still matches what the README shows. `make docs`
// and `make matrix` call it from the repository root:
//
//	go run ./internal/docgen readme                         # README's generated sections and suites/conformance.yaml
//	go run ./internal/docgen findings out/matrix/matrix.json # keep a run as docs/findings/matrix.json, then readme
//	go run ./internal/docgen check out/matrix/matrix.json    # exit 1 if a run differs from docs/findings/matrix.json
//
// A generated section sits between `<!-- BEGIN generated: NAME -->` and
// `<!-- END generated: NAME -->`: "specs" (the spec table, from the
// catalogue, as `wasicert list` prints it), "labels" (the label values) and
// "findings" (the matrix, from docs/findings/matrix.json). The committed
// findings keep only what is the same on every run, so `make docs` twice
// gives no diff. TestREADMEGenerated fails when a section is stale.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/suites/catalogue"
)

// Paths inside the repository.
const (
	readmePath   = "README.md"
	findingsPath = "docs/findings/matrix.json"
)

const usage = `usage: go run ./internal/docgen [-root DIR] readme | findings MATRIX_JSON | check MATRIX_JSON
  readme     rewrite README.md's generated sections from the catalogue and ` + findingsPath + `
  findings   keep a wasicert matrix run as ` + findingsPath + ` (less what varies per run), then readme
  check      exit 1 if a wasicert matrix run differs from ` + findingsPath + ` in anything the README shows
`

func main() {
	fs := flag.NewFlagSet("docgen", flag.ContinueOnError)
	root := fs.String("root", ".", "the repository's root `DIR`")
	fs.Usage = func() { fmt.Fprint(os.Stderr, usage) }
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	args := fs.Args()
	var err error
	switch {
	case len(args) == 1 && args[0] == "readme":
		err = writeReadme(*root)
	case len(args) == 2 && args[0] == "findings":
		err = keepFindings(*root, args[1])
	case len(args) == 2 && args[0] == "check":
		err = check(*root, args[1])
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "docgen: "+err.Error())
		os.Exit(1)
	}
}

// writeReadme rewrites README.md's generated sections; it writes nothing
// when they are current.
func writeReadme(root string) error {
	if err := writeGolden(root); err != nil {
		return err
	}
	path := filepath.Join(root, readmePath)
	doc, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	want, err := renderReadme(root, string(doc))
	if err != nil {
		return err
	}
	if want == string(doc) {
		return nil
	}
	return reports.WriteFileAtomic(path, []byte(want))
}

// renderReadme returns doc with every generated section rendered afresh.
func renderReadme(root, doc string) (string, error) {
	f, err := readMatrix(filepath.Join(root, findingsPath))
	if err != nil {
		return "", fmt.Errorf("%v: run make docs to measure the findings", err)
	}
	secs, err := sections(specRows(), f)
	if err != nil {
		return "", err
	}
	for _, name := range sectionNames {
		if doc, err = replaceSection(doc, name, secs[name]); err != nil {
			return "", fmt.Errorf("%s: %v", readmePath, err)
		}
	}
	return doc, nil
}

// sectionNames are the generated sections, in the order they are written.
var sectionNames = []string{"groups", "specs", "labels", "counts", "findings"}

// keepFindings writes a matrix run's findings to docs/findings/matrix.json
// and the README from them.
func keepFindings(root, run string) error {
	m, err := readMatrix(run)
	if err != nil {
		return err
	}
	for _, r := range m.Runtimes {
		if r.Status != "ran" {
			return fmt.Errorf("%s: runtime %s did not run (%s): install it (make runtimes) and run make docs again", run, r.Name, r.Status)
		}
	}
	b, err := marshalFindings(findings(m))
	if err != nil {
		return err
	}
	path := filepath.Join(root, findingsPath)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := reports.WriteFileAtomic(path, b); err != nil {
		return err
	}
	return writeReadme(root)
}

// check fails, with one line saying what to do, when a matrix run differs
// from the committed findings; the differences follow, one per line.
func check(root, run string) error {
	m, err := readMatrix(run)
	if err != nil {
		return err
	}
	committed, err := readMatrix(filepath.Join(root, findingsPath))
	if err != nil {
		return fmt.Errorf("%v: run make docs and commit it", err)
	}
	diffs := differences(committed, findings(m))
	if len(diffs) == 0 {
		return nil
	}
	n := "1 difference"
	if len(diffs) > 1 {
		n = fmt.Sprintf("%d differences", len(diffs))
	}
	msg := fmt.Sprintf("the README's findings are stale: this run differs from %s (%s; first: %s); run make docs and commit README.md and %s",
		findingsPath, n, diffs[0], findingsPath)
	for _, d := range diffs {
		msg += "\n  " + d
	}
	return fmt.Errorf("%s", msg)
}

// writeGolden writes the golden list (catalogue.GoldenPath) when it is stale.
func writeGolden(root string) error {
	want, err := catalogue.GoldenList()
	if err != nil {
		return err
	}
	path := filepath.Join(root, catalogue.GoldenPath)
	if have, err := os.ReadFile(path); err == nil && string(have) == string(want) {
		return nil
	}
	return reports.WriteFileAtomic(path, want)
}
