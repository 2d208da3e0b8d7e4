package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/wasicert/wasicert/compare"
	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/reports/htmlreport"
	"github.com/wasicert/wasicert/suites/catalogue"
)

const reportUsage = `usage: wasicert report --html FILE RECORDS...

RECORDS are canonical records files (wasicert run --records, wasicert matrix's
records.jsonl) or directories holding them. --html writes one self-contained
page (no network, no external assets): a summary per runtime and
architecture, then the matrix of specs by runtimes and architectures, each
failing cell with its verdict, errnos and reference, filters by area,
severity, level and failure. Exit 0: written; 2: bad input.
`

// cmdReport renders canonical records as an HTML report.
func cmdReport(args []string, stdout io.Writer) error {
	fs := newFlags("report")
	htmlOut := fs.String("html", "", "write the HTML report to `FILE`")
	// Flags may follow the files, as with compare.
	var paths []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stdout, reportUsage)
				fs.SetOutput(stdout)
				fs.PrintDefaults()
				return nil
			}
			return usagef("report: %v (wasicert report -h)", err)
		}
		if fs.NArg() == 0 {
			break
		}
		paths = append(paths, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *htmlOut == "" {
		return usagef("report: no output given: --html FILE names the page to write")
	}
	if len(paths) == 0 {
		return usagef("report: no records given: name records files or directories (wasicert run --records FILE or wasicert matrix --out DIR writes them)")
	}
	if err := reports.CheckWritable(*htmlOut); err != nil {
		return usageError{"report: " + err.Error()}
	}
	sets, err := compare.Load(paths)
	if err != nil {
		return usageError{err.Error()}
	}
	var page bytes.Buffer
	if err := htmlreport.Render(&page, sets, catalogue.All()); err != nil {
		return err
	}
	if err := reports.WriteFileAtomic(*htmlOut, page.Bytes()); err != nil {
		return usageError{"report: " + err.Error()}
	}
	fmt.Fprintf(stdout, "report: %s: %d record set(s)\n", *htmlOut, len(sets))
	return nil
}
