// Command wasicert runs wasicert's suites against one WebAssembly runtime,
// without the ginkgo CLI: the suites are compiled in (critest's pattern).
//
//	wasicert run --runtime wazero --junit out/junit.xml
//	wasicert list
//
// Exit status: 0 every spec passed (expected failures and skips included),
// 1 a spec failed, 2 bad usage or set-up, 130 the run was interrupted
// (SIGINT or SIGTERM; the reports are still written and say so).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/wasicert/wasicert/probes"
)

// Exit codes.
const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
	// exitInterrupted is the shell's 128+SIGINT, for SIGTERM too.
	exitInterrupted = 130
)

// usageError is bad input from the user: one line, exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = `wasicert: WASI preview-1 conformance and capability-security suite

usage:
  wasicert run --runtime NAME [flags]   run the suites against one runtime
  wasicert list [--label-filter EXPR]   print every spec as JSON lines
  wasicert runtimes [--json]            list every known runtime: installed or not, version, features
  wasicert matrix [--out DIR]           run the suites on every installed runtime, side by side
  wasicert certify --runtime NAME --out DIR
                                        run everything on one runtime and write a certification bundle
  wasicert verify [--pubkey FILE] DIR   check a bundle: hashes, digests, verdicts, signature
  wasicert diff OLD NEW                  what newly fails, newly passes or answers differently between two runs or bundles
  wasicert compare [--by arch|runtime] RECORDS...
                                        compare canonical records across architectures or runtimes
  wasicert report --html FILE RECORDS...
                                        write an HTML report of canonical records
  wasicert wasi-testsuite DIR... --runtime NAME [--jobs N] [--junit F] [--json F] [--expectations F.toml|F.yaml]
                                        run directories in the WebAssembly wasi-testsuite format
  wasicert version                      print wasicert's version

run 'wasicert run -h' for the flags of run.
`

func main() {
	os.Exit(runAndClean(os.Args[1:], os.Stdout, os.Stderr))
}

// runAndClean runs and then removes the probe modules' temp dir, also when
// run panics (the panic goes on after).
func runAndClean(args []string, stdout, stderr io.Writer) int {
	defer probes.Cleanup()
	return run(args, stdout, stderr)
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	code := exitPass
	switch args[0] {
	case "run":
		code, err = cmdRun(args[1:], stdout, stderr)
	case "list":
		err = cmdList(args[1:], stdout)
	case "runtimes":
		err = cmdRuntimes(args[1:], stdout)
	case "matrix":
		code, err = cmdMatrix(args[1:], stdout, stderr)
	case "certify":
		code, err = cmdCertify(args[1:], stdout, stderr)
	case "verify":
		code, err = cmdVerify(args[1:], stdout, stderr)
	case "diff":
		code, err = cmdDiff(args[1:], stdout, stderr)
	case "compare":
		code, err = cmdCompare(args[1:], stdout, stderr)
	case "report":
		err = cmdReport(args[1:], stdout)
	case "wasi-testsuite":
		code, err = cmdTestsuite(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "wasicert", version())
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
	default:
		err = usagef("unknown command %q: use run, list, runtimes, matrix, certify, verify, diff, compare, report, wasi-testsuite or version (wasicert help)", args[0])
	}
	if err != nil {
		fmt.Fprintln(stderr, "wasicert: "+err.Error())
		var ue usageError
		if errors.As(err, &ue) || code == exitPass {
			return exitUsage
		}
	}
	return code
}

// newFlags makes a flag set that reports its own errors as one line.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses flags; a bad flag or a stray argument is a usage error.
func parse(fs *flag.FlagSet, args []string, stdout io.Writer) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return true, nil
		}
		return false, usagef("%s: %v (wasicert %s -h lists the flags)", fs.Name(), err, fs.Name())
	}
	if fs.NArg() > 0 {
		return false, usagef("%s: unexpected argument %q (wasicert %s -h lists the flags)", fs.Name(), fs.Arg(0), fs.Name())
	}
	return false, nil
}

// parseArgs parses flags that may come before, between or after the
// positional arguments (`wasicert compare a.jsonl --by runtime b.jsonl`)
// and returns the positional ones; a bad flag is a usage error.
func parseArgs(fs *flag.FlagSet, args []string, stdout io.Writer) (pos []string, help bool, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(stdout)
				fs.PrintDefaults()
				return nil, true, nil
			}
			return nil, false, usagef("%s: %v (wasicert %s -h lists the flags)", fs.Name(), err, fs.Name())
		}
		if fs.NArg() == 0 {
			return pos, false, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
