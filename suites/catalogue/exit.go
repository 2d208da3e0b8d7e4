package catalogue

// Exit codes: proc_exit's status reaches whoever reads the run's.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

const (
	refProcRaise   = refPreview1 + "#proc_raise"
	refSignalWitx  = "https://github.com/WebAssembly/WASI/blob/wasi-0.1/preview1/witx/typenames.witx"
	refUvwasiRaise = "https://github.com/nodejs/uvwasi/blob/main/src/uvwasi.c"
)

// outOfRange are the proc_exit codes exit.out-of-range tries besides the
// plan's own 125.
var outOfRange = []uint64{126, 127, 255, 256, 1 << 31, 1<<32 - 1}

func exitSpecs() []suites.Spec {
	return []suites.Spec{
		{
			ID: "exit.code-passthrough", Area: suites.AreaExit, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "proc_exit(33) ends the run with exit status 33, so CI reading the status sees what the guest said.",
			Ref:  refProcExit,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "exit", Args: []string{"33"}, ExitCode: 33}
			},
		},
		{
			ID: "exit.out-of-range", Area: suites.AreaExit, Severity: suites.SeverityConformance, Level: suites.SHOULD,
			Rule: "proc_exit with a code outside 0..125 (126, 127, 255, 256, 2^31, 2^32-1) never ends the run with status 0: a non-zero code must not read as success.",
			Ref:  refProcExit, Refs: []string{refWasmtimeP1},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "exit", Args: []string{"125"}, ExitCode: 125,
					Actors: []suites.Actor{&Reruns{Runs: exitRuns(outOfRange)}}}
			},
			Judge: judgeOutOfRange,
		},
		{
			ID: "exit.trap-status", Area: suites.AreaExit, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "_start returning normally ends the run with status 0; a trap (unreachable) ends it as a failure, never as status 0.",
			Ref:  refProcExit, Refs: []string{refAppABI},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Args: []string{}, ExitCode: 0,
					Actors: []suites.Actor{&Reruns{Runs: []Rerun{{Name: "trap", Probe: "trap"}}}}}
			},
			Judge: judgeTrapStatus,
		},
		{
			ID: "exit.raise-contained", Area: suites.AreaExit, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "proc_raise(SIGTERM, SIGKILL, SIGSTOP) never signals the host process: it answers an errno (NOTSUP, NOSYS) or has no effect, and the probe goes on to its last record.",
			Ref:  refProcRaise, Refs: []string{refSignalWitx, refWasmtimeP1, refUvwasiRaise},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				// WASI signal numbers (typenames.witx): term 15, kill 9, stop 18.
				return suites.Plan{Probe: "proc", Steps: []suites.Step{
					step(probes.OpRaise, "raise.term", suites.Custom, "15"),
					step(probes.OpRaise, "raise.kill", suites.Custom, "9"),
					step(probes.OpRaise, "raise.stop", suites.Custom, "18"),
					step(probes.OpAlive, "alive", suites.Custom),
				}}
			},
			Judge: judgeRaise,
		},
	}
}

// Rerun is one extra run of a Reruns actor: Probe (the plan's module when
// empty) with Args.
type Rerun struct {
	Name, Probe string
	Args        []string
	Result      runners.Result
	Err         error
}

// Reruns runs the plan's invocation again once per Rerun, with another
// module or other arguments, before the plan's own run; a judge reads the
// results with suites.ActorOf. Each rerun has the plan's bounds. The
// canaries the runner saw in a rerun's output count as the plan's own run's
// (they are added to its Result), so a runtime cannot leak in a rerun.
type Reruns struct{ Runs []Rerun }

func exitRuns(codes []uint64) []Rerun {
	var out []Rerun
	for _, c := range codes {
		n := strconv.FormatUint(c, 10)
		out = append(out, Rerun{Name: "proc_exit(" + n + ")", Probe: "exit", Args: []string{n}})
	}
	return out
}

// Act wraps run with the reruns.
func (r *Reruns) Act(st *suites.Stage, run suites.RunFunc) (suites.RunFunc, error) {
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		for i := range r.Runs {
			rr := &r.Runs[i]
			alt := inv
			if rr.Probe != "" {
				mod, err := probes.Get(rr.Probe)
				if err != nil {
					return runners.Result{}, err
				}
				alt.Module = mod
			}
			alt.Args = append([]string{suites.Argv0}, rr.Args...)
			rr.Result, rr.Err = run(ctx, alt)
		}
		res, err := run(ctx, inv)
		for _, rr := range r.Runs {
			res.Sightings = append(res.Sightings, rr.Result.Sightings...)
			st.KeepOutputs(rr.Result)
		}
		return res, err
	}, nil
}

func judgeOutOfRange(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	r, _ := suites.ActorOf[*Reruns](ev)
	if r == nil {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "no reruns", Causes: []string{"judge"}}
	}
	var seen []string
	for _, rr := range r.Runs {
		code := strings.TrimSuffix(strings.TrimPrefix(rr.Name, "proc_exit("), ")")
		switch {
		case rr.Err != nil:
			seen = append(seen, rr.Name+": start error")
		case rr.Result.Ended == runners.EndedExit && rr.Result.ExitCode == 0:
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail,
				Reason: rr.Name + " ended the run with status 0: a non-zero exit code reads as success", Causes: []string{"exit:" + code}})
			seen = append(seen, rr.Name+" -> "+rr.Result.String())
		default:
			seen = append(seen, rr.Name+" -> "+rr.Result.String())
		}
	}
	j.Notes = append(j.Notes, "host status: "+strings.Join(seen, "; "))
	return j
}

func judgeTrapStatus(ev *suites.Evidence) suites.Judgement {
	r, _ := suites.ActorOf[*Reruns](ev)
	if r == nil || len(r.Runs) != 1 {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "no trap run", Causes: []string{"judge"}}
	}
	tr := r.Runs[0]
	res := tr.Result
	switch {
	case tr.Err != nil:
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "the trap probe did not start: " + tr.Err.Error(), Causes: []string{"trap:start-error"}}
	case res.Ended == runners.EndedExit && res.ExitCode == 0:
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "a trap (unreachable) ended the run with status 0: a failed guest reads as success", Causes: []string{"trap:status"}}
	case res.Ended == runners.EndedTrap:
		return suites.Judgement{Verdict: verdicts.Pass, Notes: []string{"trap -> " + res.String()}}
	}
	return suites.Judgement{Verdict: verdicts.Pass, Notes: []string{fmt.Sprintf("trap -> %s: a failure, but not told apart from proc_exit", res.String())}}
}

// judgeRaise: the host process was signalled when the run ended by a signal
// (a runtime in a child process) other than those of a runtime's own crash
// (SEGV, BUS, ILL, FPE, ABRT), or was stopped until the timeout. Not only
// the raised TERM, KILL and STOP: a runtime may map WASI's numbers to other
// signals (wasi-js, in bun, sends SIGTRAP for WASI's 15). An
// embedded runtime that signals its host never returns a verdict at all.
func judgeRaise(ev *suites.Evidence) suites.Judgement {
	r := ev.Result
	crashSignals := []string{"signal: SIGSEGV", "signal: SIGBUS", "signal: SIGILL", "signal: SIGFPE", "signal: SIGABRT"}
	raised := r.Ended == runners.EndedCrash && strings.HasPrefix(r.Detail, "signal: ") && !slices.Contains(crashSignals, r.Detail)
	if ev.StartErr == nil && (raised || r.Ended == runners.EndedTimeout) {
		last := "none"
		if n := len(ev.Lines); n > 0 {
			last = ev.Lines[n-1].Check
		}
		return suites.Judgement{Verdict: verdicts.Escape, Causes: []string{"host:signalled"},
			Reason: fmt.Sprintf("proc_raise signalled the host process: the run ended in %s after the record of %s", r.String(), last)}
	}
	j := suites.Pass()
	for _, c := range []string{"raise.term", "raise.kill", "raise.stop"} {
		if l, ok := ev.Line(c); ok {
			j.Notes = append(j.Notes, fmt.Sprintf("%s answered %s", c, l.Errno))
		}
	}
	if _, ok := ev.Line("alive"); !ok && ev.StartErr == nil {
		j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Causes: []string{"step:alive"},
			Reason: "proc_raise ended the guest (" + r.String() + ") instead of answering an errno"})
	}
	return j
}
