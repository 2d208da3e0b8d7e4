package catalogue

// Helpers shared by the clock and resource specs (clock.go, resource.go).

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

// kv parses a clock or res record's data ("key=value key=value").
func kv(l probes.Line) map[string]string {
	out := map[string]string{}
	for _, f := range strings.Fields(l.Data) {
		if k, v, ok := strings.Cut(f, "="); ok {
			out[k] = v
		}
	}
	return out
}

// kvNum is one number of a record's data (0 when missing).
func kvNum(l probes.Line, key string) uint64 {
	n, _ := strconv.ParseUint(kv(l)[key], 10, 64)
	return n
}

func num(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

// findings collects a judge's failures: each a cause and a reason.
type findings struct {
	causes, reasons, notes []string
}

func (f *findings) fail(cause, format string, a ...any) {
	if !slices.Contains(f.causes, cause) {
		f.causes = append(f.causes, cause)
	}
	f.reasons = append(f.reasons, fmt.Sprintf(format, a...))
}

func (f *findings) note(format string, a ...any) {
	f.notes = append(f.notes, fmt.Sprintf(format, a...))
}

// judgement fails with v when anything failed.
func (f *findings) judgement(v verdicts.Verdict) suites.Judgement {
	if len(f.causes) == 0 {
		return suites.Judgement{Verdict: verdicts.Pass, Notes: f.notes}
	}
	return suites.Judgement{Verdict: v, Reason: strings.Join(f.reasons, "; "), Causes: f.causes, Notes: f.notes}
}

// line returns check's first record, failing with cause when it is missing.
func (f *findings) line(ev *suites.Evidence, check, cause string) (probes.Line, bool) {
	l, ok := ev.Line(check)
	if !ok {
		f.fail(cause, "probe printed no record for %s", check)
	}
	return l, ok
}

// clean says how an extra run ended when it may end with an error errno or
// a trap but never with a crash, a timeout, a start error or success.
func rerunEnding(r suites.RerunResult) (trap bool, bad string) {
	switch {
	case r.Err != nil:
		return false, "did not start: " + r.Err.Error()
	case r.Result.Ended == runners.EndedTrap:
		return true, ""
	case r.Result.Ended != runners.EndedExit || r.Result.ExitCode != 0:
		return false, "ended in " + r.Result.String()
	}
	return false, ""
}

// mib prints bytes as MiB.
func mib(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }
