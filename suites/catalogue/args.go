package catalogue

// Arguments: exactly the configured argv, and no host path in argv[0].

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

// exactArgs exercises argv bytes that naive quoting breaks.
var exactArgs = []string{"a", "b c", "", "\u00fcn\u00ef", "--flag=x", "new\nline", `quo"te`}

func argsPlan(*fixtures.Fixture, runners.Features) suites.Plan {
	return suites.Plan{Probe: "fs", Steps: []suites.Step{{Op: probes.OpArgs, Check: "args", Args: slices.Clone(exactArgs), Expect: suites.Custom}}}
}

func argsSpecs() []suites.Spec {
	return []suites.Spec{
		{
			ID: "args.exact", Area: suites.AreaArgs, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "argv is exactly as configured, argv[0] included: spaces, empty strings, newlines, quotes, UTF-8.",
			Ref:  refArgs, Plan: argsPlan, Judge: judgeArgs,
			Refs: []string{"https://github.com/WebAssembly/wasi-testsuite/tree/main/tests/assemblyscript/wasm32-wasip1/src"},
		},
		{
			ID: "args.argv0-no-host-path", Area: suites.AreaArgs, Severity: suites.SeverityLeak, Level: suites.SHOULD,
			Rule: "argv[0] carries no host path (the module's file, the launcher's directories) unless one was configured.",
			Ref:  refArgs, Plan: argsPlan, Judge: judgeArgv0,
			Refs: []string{"https://github.com/nodejs/node/blob/main/doc/api/wasi.md"},
		},
	}
}

// judgeArgs: argv must be exactly what was configured.
func judgeArgs(ev *suites.Evidence) suites.Judgement {
	got, count, size, _, err := guestList(ev, probes.LineArgsSizesGet, probes.LineArgsGet)
	if err != nil {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: err.Error()}
	}
	want := ev.Invocation.Args
	if !slices.Equal(got, want) {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("argv is %q, want %q", got, want)}
	}
	if count != len(want) || size != bufSize(want) {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("args_sizes_get says %d args in %d bytes, want %d in %d", count, size, len(want), bufSize(want))}
	}
	return suites.Pass()
}

// judgeArgv0: argv[0] must not disclose a host path the guest was not given.
func judgeArgv0(ev *suites.Evidence) suites.Judgement {
	got, _, _, _, err := guestList(ev, probes.LineArgsSizesGet, probes.LineArgsGet)
	if err != nil {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: err.Error()}
	}
	if len(got) == 0 {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "argv is empty: argv[0] is missing"}
	}
	argv0, want := got[0], ev.Invocation.Args[0]
	if argv0 == want {
		return suites.Pass()
	}
	if isHostPath(argv0, ev) {
		return suites.Judgement{Verdict: verdicts.Leak, Reason: fmt.Sprintf("argv[0] is the host path %q; %q was configured", argv0, want)}
	}
	return suites.Judgement{Verdict: verdicts.Pass, Notes: []string{fmt.Sprintf("argv[0] is %q, not the configured %q (no host path)", argv0, want)}}
}

// isHostPath reports whether s names a path of the host the guest was not
// granted: the module's file, the fixture, the launcher's cwd, or any
// absolute path that exists on the host.
func isHostPath(s string, ev *suites.Evidence) bool {
	for _, p := range []string{ev.Invocation.Module.Path, ev.Fixture.Root} {
		if p != "" && strings.Contains(s, p) {
			return true
		}
	}
	if wd, err := os.Getwd(); err == nil && len(wd) > 1 && strings.Contains(s, wd) {
		return true
	}
	if strings.HasPrefix(s, "/") {
		if _, err := os.Lstat(s); err == nil {
			return true
		}
	}
	return false
}
