package catalogue

// Resource bounds: what a guest can make the host spend (fds, renumber leaks, huge iovec lists, output, memory), under the harness's host bounds.

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

const (
	refRenumberLeakGHSA = "https://github.com/bytecodealliance/wasmtime/security/advisories/GHSA-3p27-qvp9-27qf"
	refHostcallCVE      = "https://nvd.nist.gov/vuln/detail/CVE-2026-27204"
	refStdoutGHSA       = "https://github.com/bytecodealliance/wasmtime/security/advisories/GHSA-gqmc-89g8-p25r"
	refReaddirGHSA      = "https://github.com/bytecodealliance/wasmtime/security/advisories/GHSA-96f6-r43r-8c24"
	refReaddirIssue     = "https://github.com/bytecodealliance/wasmtime/issues/11702"
	refTimesGHSA        = "https://github.com/bytecodealliance/wasmtime/security/advisories/GHSA-j2g9-4prp-pf6h"
	refMemoryGrow       = "https://webassembly.github.io/spec/core/exec/instructions.html#exec-memory-grow"
	refFstflags         = refPreview1 + "#fstflags"
	refReaddir          = refPreview1 + "#fd_readdir"
	refRenumber         = refPreview1 + "#fd_renumber"
	refFdWrite          = refPreview1 + "#fd_write"
)

// Bounds of the resource specs.
const (
	// fdMax and fdBudget bound fd exhaustion: out of process the rlimit
	// (1024, internal/process) ends it first; embedded runtimes share this
	// process's fds, so the guest stops at fdMax without an error.
	fdMax    = 4096
	fdBudget = 3 * time.Second
	// renumbers and openCloses are the GHSA-3p27 loop; fdSlack is how many
	// host fds the runtime may gain over its baseline meanwhile. renumbers
	// is past the 1024-fd rlimit, so a leaking runtime out of process runs
	// out of fds; both stay small enough for a slow host (jco: about 2 ms a
	// call) to finish well within the run timeout (RATIONALE.md).
	renumbers  = 1100
	openCloses = 500
	fdSlack    = 64
	// hostRSSBound bounds the runtime's resident memory (its processes, or
	// this process's growth when embedded) while the guest spends: twice
	// the most an honest runtime used (jco, 67 MiB). 8192 iovecs of 64 KiB
	// are 512 MiB and a flood is floodMiB, both past the bound by more than
	// the baseline, yet small enough to finish within the run timeout on a
	// slow host (RATIONALE.md).
	hostRSSBound = 128 << 20
	hugeIovecs   = 8192
	floodMiB     = 192
	// growRSSBound: grow.wasm touches 256 MiB of its own, plus the runtime;
	// it runs growRuns times.
	growRSSBound = 512 << 20
	growRuns     = 3
	// readdirEntries fill more than one 4 KiB fd_readdir buffer.
	readdirEntries = 120
)

func resourceSpecs() []suites.Spec {
	return []suites.Spec{
		{
			ID: "resource.fd-exhaustion", Area: suites.AreaResource, Severity: suites.SeverityDoS, Level: suites.MUST,
			Rule: fmt.Sprintf("Opening files without closing them (up to %d, for %s) ends in a clean error (MFILE, NFILE or NOMEM) or not at all, and once they are closed the runtime opens files again.", fdMax, fdBudget),
			Ref:  refPathOpen, Refs: []string{refHostcallGHSA},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "res", Preopens: sandboxOnly(fx), Steps: []suites.Step{
					step(probes.OpFDExhaust, "fds", suites.Custom, guestSandbox, "inside.txt", strconv.Itoa(fdMax), strconv.Itoa(int(fdBudget.Milliseconds()))),
				}}
			},
			Judge: judgeFDExhaustion,
		},
		{
			ID: "resource.renumber-leak", Area: suites.AreaResource, Severity: suites.SeverityDoS, Level: suites.MUST,
			Rule: fmt.Sprintf("fd_renumber closes the target's host file: after %d renumbers onto one fd and %d opens and closes, the runtime holds at most %d host fds more than before.", renumbers, openCloses, fdSlack),
			Ref:  refRenumber, Refs: []string{refRenumberLeakGHSA},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "res", Preopens: sandboxOnly(fx), Steps: []suites.Step{
					step(probes.OpRenumberLoop, "renumber", suites.Custom, guestSandbox, "inside.txt", strconv.Itoa(renumbers), strconv.Itoa(openCloses), "300"),
				}, Actors: []suites.Actor{&suites.HostWatch{}}}
			},
			Judge: judgeRenumberLeak,
		},
		{
			ID: "resource.huge-iovecs", Area: suites.AreaResource, Severity: suites.SeverityDoS, Level: suites.MUST,
			Rule: fmt.Sprintf("fd_write of %d iovecs aliasing one 64 KiB region (512 MiB) to stderr, and random_get of 2 GiB, end in a partial write or an error (or a trap for random_get), and the runtime's memory stays under %s.", hugeIovecs, mib(hostRSSBound)),
			Ref:  refHostcallGHSA, Refs: []string{refHostcallCVE, refFdWrite, refRandom},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "res", Steps: []suites.Step{
					step(probes.OpIovecs, "iovecs", suites.Custom, "2", strconv.Itoa(hugeIovecs)),
				}, Actors: []suites.Actor{
					&suites.Rerun{Probe: "clock", Args: [][]string{{probes.OpRandomAt, "random.huge", "65536", strconv.Itoa(1 << 31)}}},
					&suites.HostWatch{},
				}}
			},
			Judge: judgeHugeIovecs,
		},
		{
			ID: "resource.stdout-flood", Area: suites.AreaResource, Severity: suites.SeverityDoS, Level: suites.MUST,
			Rule: fmt.Sprintf("A guest writing %d MiB to stdout in 64 KiB writes runs to its end, its output is cut at the runner's bound, and the runtime's memory stays under %s.", floodMiB, mib(hostRSSBound)),
			Ref:  refStdoutGHSA, Refs: []string{refFdWrite},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "res", Steps: []suites.Step{
					step(probes.OpFlood, "flood", suites.Custom, "1", strconv.Itoa(floodMiB)),
				}, Actors: []suites.Actor{&suites.HostWatch{}}}
			},
			Judge: judgeStdoutFlood,
		},
		{
			ID: "resource.memory-grow", Area: suites.AreaResource, Severity: suites.SeverityDoS, Level: suites.MUST,
			Rule: fmt.Sprintf("memory.grow to 256 MiB in 128 MiB steps, in %d runs, succeeds or returns -1 (never traps or crashes) and the runtime's memory stays under %s; loads and stores at the end of memory work up to the last byte and trap one byte past it.", growRuns, mib(growRSSBound)),
			Ref:  refMemoryGrow, Refs: []string{"https://github.com/bytecodealliance/wasmtime/security/advisories/GHSA-ff4p-7xrq-q5r8", "https://github.com/bytecodealliance/wasmtime/security/advisories/GHSA-jhxm-h53p-jm7w"},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "grow", Args: []string{"big"}, Actors: []suites.Actor{
					&suites.Rerun{Probe: "res", Args: [][]string{
						{probes.OpEdge, "edge.8", "8", "8", "load", probes.OpEdge, "edge.4", "4", "4", "store", probes.OpEdge, "edge.1", "1", "1", "store", probes.OpEdge, "edge.2", "2", "2", "load"},
						{probes.OpEdge, "edge.past-load", "4", "8", "load"},
						{probes.OpEdge, "edge.past-store", "1", "2", "store"},
						{probes.OpEdge, "edge.end", "0", "1", "load"},
					}},
					// More chances to see a crash that shows on some runs only.
					&suites.Rerun{Probe: "grow", Args: slices.Repeat([][]string{{"big"}}, growRuns-1)},
					&suites.HostWatch{},
				}}
			},
			Judge: judgeMemoryGrow,
		},
		{
			ID: "resource.readdir-padding", Area: suites.AreaResource, Severity: suites.SeverityLeak, Level: suites.MUST,
			Rule: "fd_readdir writes no host bytes into a dirent header's padding (0 or left as it was) and nothing past bufused.",
			Ref:  refReaddirGHSA, Refs: []string{refReaddir, refReaddirIssue},
			Fixture: readdirFixture(),
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "res", Preopens: sandboxOnly(fx), Steps: []suites.Step{
					step(probes.OpReaddirPad, "readdir", suites.Custom, guestSandbox, "many"),
				}}
			},
			Judge: judgeReaddirPadding,
		},
		{
			ID: "resource.timestamp-extremes", Area: suites.AreaResource, Severity: suites.SeverityDoS, Level: suites.MUST,
			Rule: "Setting times of u64::MAX and 2^63 ns answers an error or succeeds, ATIM with ATIM_NOW (and MTIM with MTIM_NOW) is INVAL, and files dated 1901 and 2486 can be statted and read, without a host crash.",
			Ref:  refTimesGHSA, Refs: []string{refFstflags, refPreview1 + "#path_filestat_set_times"},
			Fixture: fixtures.Tree{
				fixtures.File{Path: "sandbox/times/victim.txt", Content: "victim\n"},
				fixtures.File{Path: "sandbox/times/1901.txt", Content: "old\n"},
				fixtures.File{Path: "sandbox/times/2486.txt", Content: "future\n"},
			},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				const u64max, i64min = "18446744073709551615", "9223372036854775808"
				return suites.Plan{Probe: "res", Preopens: sandboxOnly(fx), Steps: []suites.Step{
					step(probes.OpSetTimes, "times.fd-max", suites.Tolerate, guestSandbox, "times/victim.txt", "fd", u64max, u64max, "5"),
					step(probes.OpSetTimes, "times.path-max", suites.Tolerate, guestSandbox, "times/victim.txt", "path", u64max, u64max, "5"),
					step(probes.OpSetTimes, "times.fd-2^63", suites.Tolerate, guestSandbox, "times/victim.txt", "fd", i64min, i64min, "5"),
					step(probes.OpSetTimes, "times.path-2^63", suites.Tolerate, guestSandbox, "times/victim.txt", "path", i64min, i64min, "5"),
					step(probes.OpSetTimes, "times.fd-atim-now", suites.Custom, guestSandbox, "times/victim.txt", "fd", "0", "0", "3"),
					step(probes.OpSetTimes, "times.path-mtim-now", suites.Custom, guestSandbox, "times/victim.txt", "path", "0", "0", "12"),
					step(probes.OpStatTimes, "times.stat-victim", suites.Custom, guestSandbox, "times/victim.txt"),
					step(probes.OpStatTimes, "times.stat-1901", suites.Custom, guestSandbox, "times/1901.txt"),
					step(probes.OpStatTimes, "times.stat-2486", suites.Custom, guestSandbox, "times/2486.txt"),
				}, Actors: []suites.Actor{suites.Prepare(func(fx *fixtures.Fixture) error {
					for name, t := range map[string]time.Time{
						"sandbox/times/1901.txt": time.Date(1901, 12, 14, 0, 0, 0, 0, time.UTC),
						"sandbox/times/2486.txt": time.Date(2486, 1, 1, 0, 0, 0, 0, time.UTC),
					} {
						if err := os.Chtimes(fx.Path(name), t, t); err != nil {
							return fmt.Errorf("dating %s: %w", name, err)
						}
					}
					return nil
				})}}
			},
			Judge: judgeTimestamps,
		},
	}
}

func readdirFixture() fixtures.Tree {
	t := fixtures.Tree{}
	for i := range readdirEntries {
		t = append(t, fixtures.File{Path: fmt.Sprintf("sandbox/many/entry-%03d-with-a-longer-name", i), Content: "x"})
	}
	return t
}

func judgeFDExhaustion(ev *suites.Evidence) suites.Judgement {
	var f findings
	l, ok := f.line(ev, "fds", "fd:no-report")
	if !ok {
		return f.judgement(verdicts.Fail)
	}
	stop := kv(l)["stop"]
	switch {
	case stop == "error" && !slices.Contains([]string{"MFILE", "NFILE", "NOMEM"}, l.Errno):
		f.fail("fd:errno", "after %d open fds path_open answered %s, want MFILE, NFILE or NOMEM", num(l.Count), l.Errno)
	case stop == "error":
		f.note("the runtime refused fd %d with %s", num(l.Count), l.Errno)
	default:
		f.note("no limit within %d fds (stopped by %s after %s ms)", num(l.Count), stop, kv(l)["ms"])
	}
	var after probes.Line
	for _, r := range ev.LinesFor("fds") {
		if r.Op == "after" {
			after = r
		}
	}
	switch {
	case after.Op == "":
		f.fail("fd:unrecovered", "no record after the fds were closed: the run did not go on")
	case !after.OK():
		f.fail("fd:unrecovered", "once every fd was closed, %s answered %s", after.Call, after.Errno)
	case kvNum(after, "close_failed") > 0:
		f.fail("fd:unrecovered", "%d fd_close calls failed", kvNum(after, "close_failed"))
	}
	return f.judgement(verdicts.Fail)
}

func judgeRenumberLeak(ev *suites.Evidence) suites.Judgement {
	var f findings
	for _, phase := range []struct{ op, what string }{{"open", "open A"}, {"renumber", fmt.Sprint(renumbers, " renumbers")}, {"open-close", fmt.Sprint(openCloses, " opens and closes")}} {
		var l *probes.Line
		for _, r := range ev.LinesFor("renumber") {
			if r.Op == phase.op {
				l = &r
			}
		}
		switch {
		case l == nil:
			f.fail("renumber:incomplete", "no record for %s", phase.what)
		case !l.OK():
			f.fail("renumber:refused", "%s: %s answered %s after %d rounds", phase.what, l.Call, l.Errno, num(l.Count))
		}
	}
	h, _ := suites.ActorOf[*suites.HostWatch](ev)
	if h == nil || h.Samples == 0 {
		f.fail("fd:unmeasured", "the host took no fd samples")
		return f.judgement(verdicts.Fail)
	}
	where := "the runtime's processes"
	if h.Embedded {
		where = "this process (embedded runtime)"
	}
	if h.FDGrowth() > fdSlack {
		f.fail("fd:leak", "%s went from %d to %d open fds (over %d samples): more than %d host fds kept by a guest that holds 1", where, h.BaseFDs, h.PeakFDs, h.Samples, fdSlack)
	} else {
		f.note("%s: %d to %d open fds over %d samples", where, h.BaseFDs, h.PeakFDs, h.Samples)
	}
	return f.judgement(verdicts.Fail)
}

// rssCheck fails when the runtime's memory went past bound.
func rssCheck(f *findings, ev *suites.Evidence, bound int64) {
	h, _ := suites.ActorOf[*suites.HostWatch](ev)
	if h == nil || h.Samples == 0 {
		f.fail("memory:unmeasured", "the host took no memory samples")
		return
	}
	what := fmt.Sprintf("the runtime's %d process(es) reached", h.Processes)
	if h.Embedded {
		what = "this process (embedded runtime) grew by"
	}
	if g := h.RSSGrowth(); g > bound {
		f.fail("memory:rss", "%s %s resident, over %s", what, mib(g), mib(bound))
	} else {
		f.note("%s %s resident (bound %s)", what, mib(g), mib(bound))
	}
	if d := ev.Result.Detail; regexp.MustCompile(`memory limit .* hit`).MatchString(d) {
		f.fail("memory:limit", "the run hit the harness's memory bound: %s", d)
	}
}

func judgeHugeIovecs(ev *suites.Evidence) suites.Judgement {
	var f findings
	if l, ok := f.line(ev, "iovecs", "iovec:no-report"); ok {
		if l.OK() {
			f.note("fd_write of %d iovecs wrote %d bytes in %s ms", hugeIovecs, num(l.Size), kv(l)["ms"])
		} else {
			f.note("fd_write of %d iovecs answered %s", hugeIovecs, l.Errno)
		}
	}
	if r, _ := suites.ActorOf[*suites.Rerun](ev); r != nil && len(r.Runs) == 1 {
		run := r.Runs[0]
		trap, bad := rerunEnding(run)
		l, ok := run.Line("random.huge")
		switch {
		case bad != "":
			f.fail("random:huge", "random_get of 2 GiB: the run %s", bad)
		case trap:
			f.note("random_get of 2 GiB trapped")
		case !ok:
			f.fail("random:huge", "random_get of 2 GiB: no record")
		case l.OK():
			f.fail("random:huge", "random_get of 2 GiB at the last page of memory succeeded")
		default:
			f.note("random_get of 2 GiB answered %s", l.Errno)
		}
	} else {
		f.fail("random:huge", "the random_get run did not happen")
	}
	rssCheck(&f, ev, hostRSSBound)
	return f.judgement(verdicts.Fail)
}

func judgeStdoutFlood(ev *suites.Evidence) suites.Judgement {
	var f findings
	r := ev.Result
	if int64(len(r.Stdout)) > runners.MaxOutput {
		f.fail("capture:unbounded", "the runner kept %d bytes of stdout, over its bound %d", len(r.Stdout), runners.MaxOutput)
	}
	if l, ok := ev.Line("flood"); ok {
		f.note("the guest wrote %d bytes, then %s", num(l.Count), l.Errno)
	}
	f.note("the host received %d bytes of stdout (kept %d)", r.StdoutBytes, len(r.Stdout))
	rssCheck(&f, ev, hostRSSBound)
	return f.judgement(verdicts.Fail)
}

var growReport = regexp.MustCompile(`grow: (\d+) MiB, (memory.grow failed|cap reached)`)

func judgeMemoryGrow(ev *suites.Evidence) suites.Judgement {
	var f findings
	if m := growReport.FindStringSubmatch(string(ev.Result.Stdout)); m == nil {
		f.fail("memory:no-report", "grow.wasm printed no report (%s)", ev.Result.String())
	} else {
		f.note("grew %s MiB: %s", m[1], m[2])
	}
	for _, a := range ev.Plan.Actors {
		if g, ok := a.(*suites.Rerun); ok && g.Probe == "grow" {
			for i, run := range g.Runs {
				trap, bad := rerunEnding(run)
				switch {
				case trap || bad != "":
					f.fail("memory:grow-crash", "grow run %d of %d: the run %s", i+2, growRuns, strings.TrimSpace(bad+" "+map[bool]string{true: "trapped"}[trap]))
				case growReport.FindString(string(run.Result.Stdout)) == "":
					f.fail("memory:no-report", "grow run %d of %d printed no report (%s)", i+2, growRuns, run.Result.String())
				}
			}
		}
	}
	rssCheck(&f, ev, growRSSBound)
	// A grow run that crashed is a crash, as the first run's would be.
	v := verdicts.Fail
	if slices.Contains(f.causes, "memory:grow-crash") {
		v = verdicts.Crash
	}
	r, _ := suites.ActorOf[*suites.Rerun](ev)
	if r == nil || len(r.Runs) != 4 {
		f.fail("edge:runs", "the edge runs did not happen")
		return f.judgement(v)
	}
	if trap, bad := rerunEnding(r.Runs[0]); trap || bad != "" {
		f.fail("edge:in-bounds", "loads and stores ending at the last byte of memory: the run %s", r.Runs[0].Result.String()+bad)
	}
	for _, c := range []string{"edge.8", "edge.4", "edge.1", "edge.2"} {
		if _, ok := r.Runs[0].Line(c); !ok {
			f.fail("edge:in-bounds", "%s: an access ending at the last byte of memory printed no record", c)
		}
	}
	for _, run := range r.Runs[1:] {
		check := run.Args[1]
		trap, bad := rerunEnding(run)
		_, printed := run.Line(check)
		switch {
		case trap && !printed:
		case printed:
			f.fail("edge:no-trap", "%s: an access past the end of memory did not trap", check)
		case bad != "":
			f.fail("edge:crash", "%s: an access past the end of memory: the run %s", check, bad)
		default:
			f.fail("edge:no-trap", "%s: an access past the end of memory ended the run without a trap (%s)", check, run.Result.String())
		}
	}
	return f.judgement(v)
}

func judgeReaddirPadding(ev *suites.Evidence) suites.Judgement {
	var f findings
	l, ok := f.line(ev, "readdir", "readdir:no-report")
	if !ok {
		return f.judgement(verdicts.Fail)
	}
	if !l.OK() {
		f.fail("readdir:error", "fd_readdir of a directory of %d entries answered %s (%s)", readdirEntries, l.Errno, l.Call)
		return f.judgement(verdicts.Fail)
	}
	if p := kvNum(l, "pad"); p > 0 {
		f.fail("readdir:padding", "%d padding byte(s) of %d dirent headers hold host bytes (first: %s), neither 0 nor what the guest left", p, num(l.Count), kv(l)["padhex"])
	}
	if t := kvNum(l, "tail"); t > 0 {
		f.fail("readdir:past-bufused", "%d byte(s) past bufused %d changed", t, num(l.Size))
	}
	if num(l.Count) == 0 {
		f.fail("readdir:error", "fd_readdir returned no whole dirent (bufused %d)", num(l.Size))
	}
	// Padding that leaks is a leak; a failed call is not.
	v := verdicts.Fail
	if slices.Contains(f.causes, "readdir:padding") || slices.Contains(f.causes, "readdir:past-bufused") {
		v = verdicts.Leak
	}
	f.note("%d headers, %d names in bufused %d", num(l.Count), kvNum(l, "names"), num(l.Size))
	return f.judgement(v)
}

func judgeTimestamps(ev *suites.Evidence) suites.Judgement {
	var f findings
	for _, c := range []string{"times.fd-atim-now", "times.path-mtim-now"} {
		if l, ok := f.line(ev, c, "times:flags"); ok && l.Errno != "INVAL" {
			f.fail("times:flags", "%s: a set time with its _NOW flag answered %s, want INVAL", c, l.Errno)
		}
	}
	for _, c := range []string{"times.stat-victim", "times.stat-1901", "times.stat-2486"} {
		if l, ok := f.line(ev, c, "times:stat"); ok {
			if !l.OK() {
				f.fail("times:stat", "%s: %s answered %s", c, l.Call, l.Errno)
			} else {
				f.note("%s: mtim %s", c, kv(l)["mtim"])
			}
		}
	}
	for _, c := range []string{"times.fd-max", "times.path-max", "times.fd-2^63", "times.path-2^63"} {
		if l, ok := ev.Line(c); ok {
			f.note("%s: %s", c, l.Errno)
		}
	}
	return f.judgement(verdicts.Fail)
}
