package catalogue

// Clocks, random and poll: clock ids and resolutions, monotonic order, random_get, poll_oneoff timeouts, sched_yield.

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

const (
	refClock  = refPreview1 + "#clock_time_get"
	refRandom = refPreview1 + "#random_get"
	refPoll   = refPreview1 + "#poll_oneoff"
	// refWasmtimeP1 is wasmtime's preview-1 host (CPU-time clocks answer BADF).
	refWasmtimeP1   = "https://github.com/bytecodealliance/wasmtime/blob/main/crates/wasi/src/p1.rs"
	refHostcallGHSA = "https://github.com/bytecodealliance/wasmtime/security/advisories/GHSA-852m-cvvp-9p4w"
)

// Bounds of the clock specs.
const (
	// realtimeSlack is how far the guest's realtime may be from the host's
	// clock read around the run.
	realtimeSlack = 5 * time.Second
	// pollTimeout is the relative timeout that must not fire early;
	// pollSleeps of them make the run's host-side floor.
	pollTimeout = 50 * time.Millisecond
	pollSleeps  = 20
	// pollPrompt bounds an event that must fire at once.
	pollPrompt = time.Second
)

func clockSpecs() []suites.Spec {
	return []suites.Spec{
		{
			ID: "clock.ids", Area: suites.AreaClock, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "clock_res_get and clock_time_get answer realtime (0) and monotonic (1) with a non-zero resolution, the CPU-time clocks (2, 3) likewise or INVAL, and ids preview 1 does not define (4, 99) INVAL.",
			Ref:  refClock, Refs: []string{refPreview1 + "#clockid", refWasmtimeP1},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				var steps []suites.Step
				for _, id := range []string{"0", "1", "2", "3", "4", "99"} {
					steps = append(steps,
						step(probes.OpClockRes, "res."+id, suites.Custom, id),
						step(probes.OpClockTime, "time."+id, suites.Custom, id))
				}
				return suites.Plan{Probe: "clock", Steps: steps}
			},
			Judge: judgeClockIDs,
		},
		{
			ID: "clock.monotonic", Area: suites.AreaClock, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: fmt.Sprintf("10^4 monotonic clock samples never decrease, and realtime is within %s of the host's clock read around the run.", realtimeSlack),
			Ref:  refClock, Refs: []string{refPreview1 + "#clockid"},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "clock", Steps: []suites.Step{
					step(probes.OpClockMono, "mono", suites.Custom, "10000"),
					step(probes.OpClockTime, "realtime", suites.Custom, "0"),
				}, Actors: []suites.Actor{&suites.HostWatch{Every: 50 * time.Millisecond}}}
			},
			Judge: judgeMonotonic,
		},
		{
			ID: "clock.random", Area: suites.AreaClock, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "random_get of 0 bytes succeeds, 1024 bytes are not all zero and differ between two calls and between two runs, a buffer ending exactly at the end of memory is filled, and one past the end answers FAULT or traps, never succeeds or crashes the host.",
			Ref:  refRandom, Refs: []string{refHostcallGHSA},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "clock", Steps: []suites.Step{
					step(probes.OpRandom, "random.empty", suites.Works, "0"),
					step(probes.OpRandom, "random.a", suites.Works, "1024"),
					step(probes.OpRandom, "random.b", suites.Works, "1024"),
					step(probes.OpRandomAt, "random.at-end", suites.Works, "16", "16"),
				}, Actors: []suites.Actor{&suites.Rerun{Args: [][]string{
					{probes.OpRandom, "random.a", "1024"},
					{probes.OpRandomAt, "random.straddle", "8", "16"},
					{probes.OpRandomAt, "random.past", "0", "16"},
				}}}}
			},
			Judge: judgeRandom,
		},
		{
			ID: "clock.poll", Area: suites.AreaClock, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: fmt.Sprintf("poll_oneoff: no subscriptions is INVAL; a 0 ns relative and a past absolute clock fire at once; a %s timeout is not cut short (in the guest, and %d of them on the host's clock); a regular file is ready to read; a bad fd gives a BADF event (or BADF); 1000 short sleeps all return; sched_yield succeeds.", pollTimeout, pollSleeps),
			Ref:  refPoll, Refs: []string{refPreview1 + "#sched_yield", "https://github.com/bytecodealliance/wasmtime/security/advisories/GHSA-j366-rjfr-ff7w"},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "clock", Steps: []suites.Step{
					step(probes.OpPollNone, "poll.none", suites.Custom),
					step(probes.OpPollRel, "poll.zero", suites.Custom, "0"),
					step(probes.OpPollAbs, "poll.past", suites.Custom, "1000000000"),
					step(probes.OpPollRel, "poll.timeout", suites.Custom, fmt.Sprint(pollTimeout.Nanoseconds())),
					step(probes.OpPollFile, "poll.file", suites.Custom, guestSandbox, "inside.txt"),
					step(probes.OpPollBadFD, "poll.badfd", suites.Custom, "9999"),
					step(probes.OpSleeps, "poll.quick", suites.Custom, "1000", "1000"),
					step(probes.OpSleeps, "poll.sleeps", suites.Custom, fmt.Sprint(pollSleeps), fmt.Sprint(pollTimeout.Nanoseconds())),
					step(probes.OpYield, "poll.yield", suites.Works),
				}, Preopens: sandboxOnly(fx)}
			},
			Judge: judgePoll,
		},
	}
}

func judgeClockIDs(ev *suites.Evidence) suites.Judgement {
	var f findings
	for _, id := range []string{"0", "1"} {
		if r, ok := f.line(ev, "res."+id, "clock:res"); ok && (!r.OK() || num(r.Size) <= 0) {
			f.fail("clock:res", "clock_res_get(%s) answered %s, resolution %d: a defined clock needs a non-zero resolution", id, r.Errno, num(r.Size))
		}
		if r, ok := f.line(ev, "time."+id, "clock:time"); ok && !r.OK() {
			f.fail("clock:time", "clock_time_get(%s) answered %s", id, r.Errno)
		}
	}
	for _, id := range []string{"2", "3"} {
		r, ok := f.line(ev, "res."+id, "clock:cputime")
		t, ok2 := f.line(ev, "time."+id, "clock:cputime")
		if !ok || !ok2 {
			continue
		}
		switch {
		case r.OK() && t.OK() && num(r.Size) > 0:
			f.note("clock %s supported, resolution %d ns", id, num(r.Size))
		case !r.OK() && r.Errno == "INVAL" && !t.OK() && t.Errno == "INVAL":
			f.note("clock %s unsupported (INVAL)", id)
		default:
			f.fail("clock:cputime", "CPU-time clock %s: clock_res_get answered %s (resolution %d), clock_time_get %s; want both to succeed with a non-zero resolution, or both INVAL", id, r.Errno, num(r.Size), t.Errno)
		}
	}
	for _, id := range []string{"4", "99"} {
		for _, c := range []string{"res.", "time."} {
			if r, ok := f.line(ev, c+id, "clock:invalid-id"); ok && r.Errno != "INVAL" {
				f.fail("clock:invalid-id", "%s(%s), an id preview 1 does not define, answered %s, want INVAL", map[string]string{"res.": "clock_res_get", "time.": "clock_time_get"}[c], id, r.Errno)
			}
		}
	}
	return f.judgement(verdicts.Fail)
}

func judgeMonotonic(ev *suites.Evidence) suites.Judgement {
	var f findings
	if m, ok := f.line(ev, "mono", "clock:monotonic"); ok {
		switch {
		case !m.OK():
			f.fail("clock:monotonic", "clock_time_get(MONOTONIC) failed with %s after %d samples", m.Errno, num(m.Count))
		case kvNum(m, "back") > 0:
			f.fail("clock:backwards", "the monotonic clock went back %d times in %d samples, by up to %d ns", kvNum(m, "back"), num(m.Count), kvNum(m, "maxback"))
		}
	}
	h, _ := suites.ActorOf[*suites.HostWatch](ev)
	if r, ok := f.line(ev, "realtime", "clock:realtime"); ok && h != nil {
		if !r.OK() {
			f.fail("clock:realtime", "clock_time_get(REALTIME) failed with %s", r.Errno)
		} else {
			t := time.Unix(0, int64(uint64(*r.Size)))
			lo, hi := h.Before.Add(-realtimeSlack), h.After.Add(realtimeSlack)
			if t.Before(lo) || t.After(hi) {
				f.fail("clock:realtime", "the guest's realtime %s is outside the host's %s .. %s (±%s)", t.UTC().Format(time.RFC3339Nano), h.Before.UTC().Format(time.RFC3339Nano), h.After.UTC().Format(time.RFC3339Nano), realtimeSlack)
			}
		}
	}
	return f.judgement(verdicts.Fail)
}

func judgeRandom(ev *suites.Evidence) suites.Judgement {
	var f findings
	a, okA := ev.Line("random.a")
	b, okB := ev.Line("random.b")
	if okA && a.OK() && strings.Count(a.Data, "\x00") == len(a.Data) {
		f.fail("random:zero", "random_get(1024) left all 1024 bytes zero")
	}
	if okA && okB && a.OK() && b.OK() && a.Data == b.Data {
		f.fail("random:constant", "two random_get(1024) calls of one run returned the same bytes (%q...)", probes.Truncate(a.Data, 16))
	}
	if e, ok := ev.Line("random.at-end"); ok && e.OK() && num(e.Count) == 0 {
		f.fail("random:at-end", "random_get of the last 16 bytes of memory succeeded but wrote nothing")
	}
	r, _ := suites.ActorOf[*suites.Rerun](ev)
	if r == nil || len(r.Runs) != 3 {
		f.fail("random:runs", "the extra runs did not happen")
		return f.judgement(verdicts.Fail)
	}
	if again, ok := r.Runs[0].Line("random.a"); ok && okA && again.OK() && a.OK() && bytes.Equal([]byte(again.Data), []byte(a.Data)) {
		f.fail("random:repeat", "random_get(1024) returned the same bytes in two runs (%q...): the generator is not seeded per run", probes.Truncate(a.Data, 16))
	} else if !ok {
		f.fail("random:repeat", "the second run printed no random record (%s)", r.Runs[0].Result.String())
	}
	for _, run := range r.Runs[1:] {
		check := run.Args[1]
		trap, bad := rerunEnding(run)
		l, ok := run.Line(check)
		switch {
		case bad != "":
			f.fail("random:past-end", "random_get %s the end of memory: the run %s", strings.TrimPrefix(check, "random."), bad)
		case trap:
			f.note("random_get %s the end of memory trapped", strings.TrimPrefix(check, "random."))
		case !ok:
			f.fail("random:past-end", "random_get %s the end of memory: no record", strings.TrimPrefix(check, "random."))
		case l.OK():
			f.fail("random:past-end", "random_get of 16 bytes %s the end of memory succeeded", strings.TrimPrefix(check, "random."))
		case l.Errno != "FAULT":
			f.note("random_get %s the end of memory answered %s (FAULT expected)", strings.TrimPrefix(check, "random."), l.Errno)
		}
	}
	return f.judgement(verdicts.Fail)
}

// pollEvent is one event of a poll record: userdata, type digit, errno.
type pollEvent struct{ userdata, typ, errno string }

func pollEvents(l probes.Line) []pollEvent {
	m := kv(l)
	var out []pollEvent
	for i := 0; i < 4; i++ {
		u, ok := m[fmt.Sprintf("ev%d", i)]
		if !ok {
			break
		}
		t, e, _ := strings.Cut(m[fmt.Sprintf("ty%d", i)], ":")
		out = append(out, pollEvent{u, t, e})
	}
	return out
}

func judgePoll(ev *suites.Evidence) suites.Judgement {
	var f findings
	if l, ok := f.line(ev, "poll.none", "poll:none"); ok && l.Errno != "INVAL" {
		f.fail("poll:none", "poll_oneoff with no subscriptions answered %s, want INVAL", l.Errno)
	}
	fired := func(check, cause, what string, prompt bool) {
		l, ok := f.line(ev, check, cause)
		if !ok {
			return
		}
		evs := pollEvents(l)
		switch {
		case !l.OK():
			f.fail(cause, "%s: poll_oneoff answered %s", what, l.Errno)
		case len(evs) != 1 || evs[0].userdata != "7" || evs[0].errno != "SUCCESS":
			f.fail(cause, "%s: poll_oneoff returned %d event(s) (%s), want the clock's (userdata 7, SUCCESS)", what, num(l.Count), l.Data)
		case prompt && time.Duration(num(l.Size)) > pollPrompt:
			f.fail(cause, "%s fired after %s, want at once", what, time.Duration(num(l.Size)))
		}
	}
	fired("poll.zero", "poll:zero", "a 0 ns relative clock", true)
	fired("poll.past", "poll:abs-past", "an absolute clock 1 s in the past", true)
	fired("poll.timeout", "poll:early", fmt.Sprintf("a %s relative clock", pollTimeout), false)
	if l, ok := ev.Line("poll.timeout"); ok && l.OK() && time.Duration(num(l.Size)) < pollTimeout {
		f.fail("poll:early", "a %s relative clock fired after %s by the guest's monotonic clock", pollTimeout, time.Duration(num(l.Size)))
	}
	if l, ok := f.line(ev, "poll.file", "poll:file"); ok {
		evs := pollEvents(l)
		var file *pollEvent
		for i := range evs {
			if evs[i].userdata == "1" {
				file = &evs[i]
			}
			if evs[i].userdata == "2" && time.Duration(num(l.Size)) < time.Second {
				f.note("poll_oneoff also reported the 1 s clock beside the ready file after %s", time.Duration(num(l.Size)))
			}
		}
		switch {
		case !l.OK():
			f.fail("poll:file", "fd_read on a regular file: poll_oneoff (or %s) answered %s", l.Call, l.Errno)
		case file == nil || file.errno != "SUCCESS":
			f.fail("poll:file", "fd_read on a regular file gave no ready event (%s), want one at once: files are always ready", l.Data)
		}
	}
	if l, ok := f.line(ev, "poll.badfd", "poll:badfd"); ok {
		evs := pollEvents(l)
		good := !l.OK() && l.Errno == "BADF"
		for _, e := range evs {
			good = good || (e.userdata == "1" && e.errno == "BADF")
		}
		if !good {
			f.fail("poll:badfd", "fd_read on fd 9999 answered %s with events %q, want an event with BADF (or BADF)", l.Errno, l.Data)
		}
	}
	if l, ok := f.line(ev, "poll.quick", "poll:sleeps"); ok && (!l.OK() || num(l.Count) != 1000) {
		f.fail("poll:sleeps", "1000 sleeps of 1 µs: %d returned their event, then %s", num(l.Count), l.Errno)
	}
	if l, ok := f.line(ev, "poll.sleeps", "poll:early"); ok {
		switch {
		case !l.OK() || num(l.Count) != pollSleeps:
			f.fail("poll:sleeps", "%d sleeps of %s: %d returned their event, then %s", pollSleeps, pollTimeout, num(l.Count), l.Errno)
		case time.Duration(kvNum(l, "min")) < pollTimeout:
			f.fail("poll:early", "a sleep of %s returned after %s by the guest's monotonic clock", pollTimeout, time.Duration(kvNum(l, "min")))
		}
	}
	// The host's clock: the guest's own can lie.
	if floor := pollSleeps * pollTimeout; ev.Result.Duration < floor {
		f.fail("poll:host-early", "the run took %s on the host's clock, less than its %d sleeps of %s", ev.Result.Duration.Round(time.Millisecond), pollSleeps, pollTimeout)
	}
	return f.judgement(verdicts.Fail)
}
