package catalogue

// Symlinks: as final and intermediate components, trailing slashes, chains and loops, and a swap race driven from the host while the guest loops.

import (
	"fmt"
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

// References of the symlink specs (capability-catalogue.md D.3).
const (
	refWasmerCreat    = "https://github.com/wasmerio/wasmer/security/advisories/GHSA-55f3-3qvg-8pv5"
	refWasmerCVE      = "https://nvd.nist.gov/vuln/detail/CVE-2024-38358"
	refCapStdTrailing = "https://github.com/bytecodealliance/cap-std/security/advisories/GHSA-hp8f-xmx4-4qrg"
	refWazero2321     = "https://github.com/tetratelabs/wazero/issues/2321"
	refUvwasiResolver = "https://github.com/nodejs/uvwasi/blob/main/src/path_resolver.c"
	refNodeRacePoC    = "https://github.com/humodz/node-wasi-preopens-escape"
	refLibuvOpenat    = "https://github.com/libuv/libuv/issues/4167"
	refWasmerLstat    = "https://github.com/wasmerio/wasmer/issues/2432"
	refReadlinkAbs    = "https://github.com/WebAssembly/wasi-filesystem/issues/10"
	refTestsuiteSrc   = "https://github.com/WebAssembly/wasi-testsuite/tree/main/tests/rust/wasm32-wasip1/src/bin"
	refPathReadlink   = refPreview1 + "#path_readlink"
	refFreeBSDEmlink  = "https://github.com/WebAssembly/wasi-filesystem/issues/186"
)

// symlinkRefusals are the answers that refuse an escape through a symlink:
// the sandbox errnos, and LOOP or NOTDIR, which a runtime that stops at the
// link (O_NOFOLLOW on the final component) gives.
var symlinkRefusals = []string{"PERM", "NOTCAPABLE", "LOOP", "NOTDIR"}

// chainLengths are symlink.chain-depth's chains: around WasmEdge's 8,
// uvwasi's 32 and Linux's 40 (capability-catalogue.md D.3).
var chainLengths = []int{7, 8, 9, 31, 32, 33, 40, 41}

// raceInside and raceDirInside are what the swap race's paths hold while
// they are not swapped for a symlink out.
const (
	raceInside    = "RACE-INSIDE-FILE"
	raceDirInside = "RACE-DIR-INSIDE-FILE"
)

func symlinkSpecs() []suites.Spec {
	return []suites.Spec{
		{
			ID: "symlink.intermediate-escape", Area: suites.AreaSymlink, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A symlink that points out of the preopen is not followed as an intermediate component (dl/secret.txt, with or without SYMLINK_FOLLOW): open, stat, mkdir and create through it are refused, whether the guest made it or the host planted it in a subdirectory.",
			Ref:  refPathResolution, Refs: []string{refWazero2321, refUvwasiResolver},
			Fixture: fixtures.Tree{fixtures.Symlink{Path: "sandbox/sub/hdl", Target: "../../outside"}},
			Plan: func(fx *fixtures.Fixture, f runners.Features) suites.Plan {
				steps := []suites.Step{step(probes.OpSymlink, "inter.make-guest", suites.Tolerate, "../outside", guestSandbox, "gdl")}
				for _, l := range []struct{ tag, path string }{{"guest", "gdl"}, {"host", "sub/hdl"}} {
					steps = append(steps,
						openStep("inter."+l.tag+".open", guestSandbox, l.path+"/secret.txt", true, 0, "r", suites.Refuse),
						openStep("inter."+l.tag+".open-nofollow", guestSandbox, l.path+"/secret.txt", false, 0, "r", suites.Refuse),
						openStep("inter."+l.tag+".open-deep", guestSandbox, l.path+"/keep/keep.txt", true, 0, "r", suites.Refuse),
						step(probes.OpStat, "inter."+l.tag+".stat", suites.Refuse, guestSandbox, l.path+"/secret.txt", "nofollow"),
						step(probes.OpMkdir, "inter."+l.tag+".mkdir", suites.Refuse, guestSandbox, l.path+"/x"),
						writeStep("inter."+l.tag+".create", guestSandbox, l.path+"/new", oCreat, "ESCAPED", suites.Refuse),
					)
				}
				return escapePlan(steps...)(fx, f)
			},
			Judge: noteUnmade("inter.make-guest", "inter.guest."),
		},
		{
			ID: "symlink.creat-write-preexisting", Area: suites.AreaSymlink, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "path_open with CREAT (and TRUNC) of an existing symlink that points out of the preopen (dir/file -> ../../outside/secret.txt) is refused: the target is neither read, written nor truncated.",
			Ref:  refWasmerCreat, Refs: []string{refWasmerCVE, refPathResolution},
			Fixture: fixtures.Tree{fixtures.Symlink{Path: "sandbox/dir/file", Target: "../../outside/secret.txt"}},
			Plan: escapePlan(
				openStep("creat.open-rw", guestSandbox, "dir/file", true, oCreat, "rw", suites.Refuse),
				writeStep("creat.write", guestSandbox, "dir/file", oCreat, "ESCAPED", suites.Refuse),
				writeStep("creat.write-trunc", guestSandbox, "dir/file", oCreat|oTrunc, "ESCAPED", suites.Refuse),
				suites.Step{Op: probes.OpWrite, Check: "creat.write-nofollow", Args: []string{guestSandbox, "dir/file", "nofollow", strconv.Itoa(oCreat), "ESCAPED"}, Expect: suites.Refuse},
			),
		},
		{
			ID: "symlink.trailing-slash-escape", Area: suites.AreaSymlink, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A trailing slash does not make a symlink that points out of the preopen followable: tl/ (tl -> ../outside, and ta -> an absolute host path) opens, stats, creates and mkdirs nothing outside, with or without SYMLINK_FOLLOW.",
			Ref:  refTrailingGHSA, Refs: []string{refCapStdTrailing, refPathResolution},
			Accept: symlinkRefusals,
			Fixture: fixtures.Tree{
				fixtures.Symlink{Path: "sandbox/tl", Target: "../outside"},
				fixtures.Symlink{Path: "sandbox/ta", Target: "{{root}}/outside"},
			},
			Plan: func(fx *fixtures.Fixture, f runners.Features) suites.Plan {
				var steps []suites.Step
				for _, l := range []string{"tl", "ta"} {
					c := "slash." + l
					steps = append(steps,
						openStep(c+".open", guestSandbox, l+"/", true, 0, "none", suites.Refuse),
						openStep(c+".open-nofollow", guestSandbox, l+"/", false, 0, "none", suites.Refuse),
						openStep(c+".opendir", guestSandbox, l+"/", true, oDirectory, "none", suites.Refuse),
						openStep(c+".opendir-nofollow", guestSandbox, l+"/", false, oDirectory, "none", suites.Refuse),
						writeStep(c+".create", guestSandbox, l+"/x", oCreat, "ESCAPED", suites.Refuse),
						step(probes.OpMkdir, c+".mkdir", suites.Refuse, guestSandbox, l+"/new"),
						step(probes.OpStat, c+".stat", suites.Custom, guestSandbox, l+"/", "follow"),
						step(probes.OpStat, c+".stat-nofollow", suites.Custom, guestSandbox, l+"/", "nofollow"),
					)
				}
				steps = append(steps,
					step(probes.OpSymlink, "slash.make-s", suites.Tolerate, "../outside/", guestSandbox, "s/"),
					openStep("slash.s.opendir-nofollow", guestSandbox, "s/", false, oDirectory, "none", suites.Refuse),
					step(probes.OpSymlink, "slash.make-s2", suites.Tolerate, "../outside/", guestSandbox, "s2"),
					openStep("slash.s2.open", guestSandbox, "s2/secret.txt", true, 0, "r", suites.Refuse),
					openStep("slash.s2.opendir-nofollow", guestSandbox, "s2/", false, oDirectory, "none", suites.Refuse),
					writeStep("slash.s2.create", guestSandbox, "s2/x", oCreat, "ESCAPED", suites.Refuse),
					step(probes.OpMkdir, "slash.s2.mkdir", suites.Refuse, guestSandbox, "s2/new/"),
				)
				return escapePlan(steps...)(fx, f)
			},
			Judge: func(ev *suites.Evidence) suites.Judgement {
				return suites.Worse(noteUnmade("slash.make-s2", "slash.s2.")(ev), judgeSlashStats(ev))
			},
		},
		{
			ID: "symlink.nofollow-dangling-loop", Area: suites.AreaSymlink, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "Without SYMLINK_FOLLOW a final symlink is not opened (LOOP; NOTDIR with O_DIRECTORY); a dangling link answers LOOP or NOENT, a self-loop LOOP, a link to a file opened as a directory NOTDIR; a link stats as symbolic_link without the flag; with it a link to a directory opens.",
			Ref:  refPathResolution, Refs: []string{refTestsuiteSrc, refFreeBSDEmlink},
			Fixture: fixtures.Tree{
				fixtures.File{Path: "sandbox/lp/dir/file.txt", Content: "LP-FILE\n"},
				fixtures.Symlink{Path: "sandbox/lp/t", Target: "dir"},
				fixtures.Symlink{Path: "sandbox/lp/f", Target: "dir/file.txt"},
				fixtures.Symlink{Path: "sandbox/lp/d", Target: "missing"},
				fixtures.Symlink{Path: "sandbox/lp/s", Target: "s"},
			},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				var steps []suites.Step
				for _, c := range loopChecks {
					steps = append(steps, c.step)
				}
				return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Steps: steps}
			},
			Judge: judgeLoopChecks,
		},
		{
			ID: "symlink.chain-depth", Area: suites.AreaSymlink, Severity: suites.SeverityConformance, Level: suites.SHOULD,
			Rule: "A chain of symlinks inside the preopen opens up to the runtime's limit, which is at least 7 links, and answers LOOP past it, never hangs or crashes; the limit itself is recorded (it differs between runtimes).",
			Ref:  refPathResolution, Refs: []string{refUvwasiResolver, refFreeBSDEmlink},
			Fixture: chainFixture(),
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				var steps []suites.Step
				for _, n := range chainLengths {
					steps = append(steps, openStep(fmt.Sprintf("chain.%d", n), guestSandbox, fmt.Sprintf("chains/c%d-1", n), true, 0, "r", suites.Custom))
				}
				return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Steps: steps}
			},
			Judge: judgeChains,
		},
		{
			ID: "symlink.readlink-host-path", Area: suites.AreaSymlink, Severity: suites.SeverityLeak, Level: suites.SHOULD,
			Rule: "path_readlink of a host-planted link with an absolute target does not hand the guest the host path (RATIONALE.md), and path_readlink never writes past the buffer (truncating to it, as wasi-testsuite's readlink test expects).",
			Ref:  refReadlinkAbs, Refs: []string{refPathReadlink, refTestsuiteSrc},
			Fixture: fixtures.Tree{fixtures.Symlink{Path: "sandbox/hostlink", Target: "{{root}}/outside/host-layout-5e1f/secret.txt"}},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Steps: []suites.Step{
					step(probes.OpReadlinkBuf, "readlink.host", suites.Custom, guestSandbox, "hostlink", "4096"),
					step(probes.OpReadlinkBuf, "readlink.host-short", suites.Custom, guestSandbox, "hostlink", "4"),
					step(probes.OpReadlinkBuf, "readlink.inside", suites.Custom, guestSandbox, "inlink", "4096"),
					step(probes.OpReadlinkBuf, "readlink.inside-short", suites.Custom, guestSandbox, "inlink", "4"),
				}}
			},
			Judge: judgeReadlink,
		},
		{
			ID: "symlink.swap-race", Area: suites.AreaSymlink, Severity: suites.SeverityEscape, Level: suites.MUST, Racy: true,
			Rule: "Path resolution holds while the host swaps a file or a directory for a symlink out of the preopen (race/inside.txt, race/d) as the guest opens it in a loop: every open reads the inside content or is refused; check-then-open loses this race.",
			Ref:  refPathResolution, Refs: []string{refNodeRacePoC, refLibuvOpenat, refWasmerLstat},
			Fixture: fixtures.Tree{
				fixtures.File{Path: "sandbox/race/inside.txt", Content: raceInside},
				fixtures.Symlink{Path: "sandbox/race/.inside-swap", Target: "../../outside/secret.txt"},
				fixtures.File{Path: "sandbox/race/d/secret.txt", Content: raceDirInside},
				fixtures.Symlink{Path: "sandbox/race/.d-swap", Target: "../../outside"},
			},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{
					Probe: "fs", Preopens: sandboxOnly(fx),
					Steps: []suites.Step{
						step(probes.OpLoopOpen, "race.file", suites.Custom, guestSandbox, "race/inside.txt", raceInside, strconv.Itoa(raceIterations), strconv.Itoa(raceMillis)),
						step(probes.OpLoopOpen, "race.dir", suites.Custom, guestSandbox, "race/d/secret.txt", raceDirInside, strconv.Itoa(raceIterations), strconv.Itoa(raceMillis)),
						openStep("control.inside", guestSandbox, "inside.txt", true, 0, "r", suites.Succeed),
					},
					Actors: []suites.Actor{&suites.Swapper{
						Dir: "sandbox/race", Pairs: [][2]string{{"inside.txt", ".inside-swap"}, {"d", ".d-swap"}},
						MaxSwaps: 5_000_000, MaxTime: 3*raceMillis*time.Millisecond + 3*time.Second,
					}},
				}
			},
			Judge: judgeRace,
		},
	}
}

// The guest's bounds in symlink.swap-race, per path.
const (
	raceIterations = 200_000
	raceMillis     = 1500
)

// noteUnmade notes, when the guest could not make its link (make), that the
// steps whose checks start with prefix tested nothing (issue 10, item 5).
func noteUnmade(make, prefix string) func(*suites.Evidence) suites.Judgement {
	return func(ev *suites.Evidence) suites.Judgement {
		j := suites.Pass()
		if r, ok := ev.Line(make); ok && !r.OK() {
			j.Notes = append(j.Notes, fmt.Sprintf("%s: the guest's path_symlink failed with %s, so the %s* steps were not exercised on a guest-made link", make, r.Errno, prefix))
		}
		return j
	}
}

// judgeSlashStats judges path_filestat_get of "tl/" and "ta/": reporting a
// directory is the outside dir, reached; reporting the link itself
// (symbolic_link) ignores the trailing slash, a conformance note (wasmtime
// #14359, #14380), not an escape: the link is inside the sandbox.
func judgeSlashStats(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	for _, st := range ev.Plan.Steps {
		if st.Expect != suites.Custom || st.Op != probes.OpStat {
			continue
		}
		r, ok := ev.Line(st.Check)
		switch {
		case !ok:
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: "probe printed no record for " + st.Check, Causes: []string{"step:" + st.Check}})
		case r.OK() && r.Data == "symbolic_link":
			j.Notes = append(j.Notes, fmt.Sprintf("%s: %s reported the link itself (symbolic_link): the trailing slash was ignored (wasmtime #14380)", st.Check, st.String()))
		case r.OK():
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Escape, Reason: fmt.Sprintf("%s: %s reached the link's target outside the sandbox (%s)", st.Check, st.String(), r.Data), Causes: []string{"step:" + st.Check}})
		case !slices.Contains(symlinkRefusals, r.Errno):
			j.Notes = append(j.Notes, fmt.Sprintf("%s: %s answered %s, outside {%s}", st.Check, st.String(), r.Errno, strings.Join(symlinkRefusals, ", ")))
		}
	}
	return j
}

// loopCheck is one step of symlink.nofollow-dangling-loop and its answers.
type loopCheck struct {
	step suites.Step
	// want are the errnos that refuse the step; nil means it must succeed.
	want []string
	// tolerated are errnos noted, not failed.
	tolerated []string
	// filetype, for a stat step, is the filetype it must report.
	filetype string
}

var loopChecks = []loopCheck{
	{step: openStep("loop.dirlink-nofollow-dir", guestSandbox, "lp/t", false, oDirectory, "none", suites.Custom), want: []string{"LOOP", "NOTDIR"}},
	{step: openStep("loop.dirlink-nofollow", guestSandbox, "lp/t", false, 0, "r", suites.Custom), want: []string{"LOOP"}, tolerated: []string{"ACCES"}},
	{step: openStep("loop.dirlink-follow-dir", guestSandbox, "lp/t", true, oDirectory, "none", suites.Custom)},
	{step: openStep("loop.filelink-follow-dir", guestSandbox, "lp/f", true, oDirectory, "none", suites.Custom), want: []string{"NOTDIR"}},
	{step: openStep("loop.dangling-nofollow", guestSandbox, "lp/d", false, 0, "r", suites.Custom), want: []string{"LOOP", "NOENT"}},
	{step: openStep("loop.dangling-nofollow-dir", guestSandbox, "lp/d", false, oDirectory, "none", suites.Custom), want: []string{"NOTDIR", "LOOP", "NOENT"}},
	{step: openStep("loop.self", guestSandbox, "lp/s", true, 0, "r", suites.Custom), want: []string{"LOOP"}},
	{step: step(probes.OpStat, "loop.stat-nofollow", suites.Custom, guestSandbox, "lp/t", "nofollow"), filetype: "symbolic_link"},
	{step: step(probes.OpStat, "loop.stat-follow", suites.Custom, guestSandbox, "lp/t", "follow"), filetype: "directory"},
}

// judgeLoopChecks judges each loopCheck: a refusal with one of its errnos,
// or success (and the filetype) where it must succeed.
func judgeLoopChecks(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	for _, c := range loopChecks {
		st := c.step
		r, ok := ev.Line(st.Check)
		fail := func(format string, a ...any) {
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: st.Check + ": " + st.String() + " " + fmt.Sprintf(format, a...), Causes: []string{"step:" + st.Check}})
		}
		switch {
		case !ok:
			fail("printed no record")
		case c.want == nil && !r.OK():
			fail("failed with %s, want success", r.Errno)
		case c.filetype != "" && r.Data != c.filetype:
			fail("reported %q, want %s", r.Data, c.filetype)
		case c.want == nil:
		case r.Reached():
			fail("succeeded, want %s", strings.Join(c.want, " or "))
		case slices.Contains(c.tolerated, r.Errno):
			j.Notes = append(j.Notes, fmt.Sprintf("%s answered %s (tolerated; want %s)", st.Check, r.Errno, strings.Join(c.want, " or ")))
		case !slices.Contains(c.want, r.Errno):
			fail("answered %s, want %s", r.Errno, strings.Join(c.want, " or "))
		}
	}
	return j
}

// chainFixture plants, for each length n, chains/cn-1 -> cn-2 -> ... ->
// cn-n -> ../inside.txt: n links to follow.
func chainFixture() fixtures.Tree {
	var t fixtures.Tree
	for _, n := range chainLengths {
		for i := 1; i < n; i++ {
			t = append(t, fixtures.Symlink{Path: fmt.Sprintf("sandbox/chains/c%d-%d", n, i), Target: fmt.Sprintf("c%d-%d", n, i+1)})
		}
		t = append(t, fixtures.Symlink{Path: fmt.Sprintf("sandbox/chains/c%d-%d", n, n), Target: "../inside.txt"})
	}
	return t
}

// judgeChains records the longest chain that opened and the answer past
// it, and fails a chain that read something else than inside.txt, a
// shorter chain failing where a longer one opened, an answer past the limit
// other than LOOP, and the shortest chain (7 links, under POSIX's
// _POSIX_SYMLOOP_MAX of 8) not opening.
func judgeChains(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	fail := func(check, reason string) {
		j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: check + ": " + reason, Causes: []string{"step:" + check}})
	}
	longest, firstFail, failErrno := 0, 0, ""
	for _, n := range chainLengths {
		check := fmt.Sprintf("chain.%d", n)
		r, ok := ev.Line(check)
		switch {
		case !ok:
			fail(check, "printed no record")
		case r.Reached() && r.OK() && r.Data != "INSIDE-FILE\n":
			fail(check, fmt.Sprintf("a chain of %d links to inside.txt read %q", n, probes.Truncate(r.Data, 80)))
		case r.Reached():
			if firstFail != 0 {
				fail(check, fmt.Sprintf("a chain of %d links opened, but the shorter chain of %d failed with %s", n, firstFail, failErrno))
			}
			longest = n
		case firstFail == 0:
			firstFail, failErrno = n, r.Errno
			if r.Errno != "LOOP" {
				fail(check, fmt.Sprintf("a chain of %d links answered %s, want LOOP past the runtime's limit", n, r.Errno))
			}
		case r.Errno != "LOOP":
			fail(check, fmt.Sprintf("a chain of %d links answered %s, want LOOP", n, r.Errno))
		}
	}
	if longest < chainLengths[0] && firstFail == chainLengths[0] {
		fail(fmt.Sprintf("chain.%d", firstFail), fmt.Sprintf("the shortest chain (%d links, under POSIX's minimum limit of 8) did not open (%s)", firstFail, failErrno))
	}
	switch {
	case firstFail == 0:
		j.Notes = append(j.Notes, fmt.Sprintf("chain depth: every chain opened, up to %d links", longest))
	default:
		j.Notes = append(j.Notes, fmt.Sprintf("chain depth: longest chain opened %d links; %d links answered %s", longest, firstFail, failErrno))
	}
	return j
}

// judgeReadlink: a host path in readlink's answer is a leak (RATIONALE.md,
// Symlinks); an answer longer than the buffer, guard bytes written past it,
// or a relative link read back wrong fail; an error instead of truncating
// to a short buffer is a conformance note.
func judgeReadlink(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	fail := func(check, reason string) {
		j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: check + ": " + reason, Causes: []string{"step:" + check}})
	}
	for check, size := range map[string]int{"readlink.host": 4096, "readlink.host-short": 4, "readlink.inside": 4096, "readlink.inside-short": 4} {
		r, ok := ev.Line(check)
		switch {
		case !ok:
			fail(check, "printed no record")
			continue
		case r.Count != nil && *r.Count > 0:
			fail(check, fmt.Sprintf("path_readlink wrote %d byte(s) past the %d-byte buffer", *r.Count, size))
		case r.OK() && r.Size != nil && *r.Size > size:
			fail(check, fmt.Sprintf("path_readlink returned bufused %d for a %d-byte buffer", *r.Size, size))
		}
	}
	for check, want := range map[string]string{"readlink.inside": "inside.txt", "readlink.inside-short": "insi"} {
		r, ok := ev.Line(check)
		switch {
		case !ok:
		case check == "readlink.inside-short" && !r.OK():
			j.Notes = append(j.Notes, fmt.Sprintf("%s: path_readlink of inlink -> inside.txt into 4 bytes answered %s instead of truncating to %q (wasi-testsuite readlink)", check, r.Errno, want))
		case !r.OK() || r.Data != want:
			fail(check, fmt.Sprintf("path_readlink of inlink -> inside.txt gave %q (%s), want %q", r.Data, r.Errno, want))
		}
	}
	if r, ok := ev.Line("readlink.host"); ok {
		switch {
		case r.OK() && strings.Contains(r.Data, ev.Fixture.Root):
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Leak, Causes: []string{"step:readlink.host"},
				Reason: fmt.Sprintf("readlink.host: path_readlink of a host-planted absolute link returned the host path %q: the guest learns the host's directory layout", probes.Truncate(r.Data, 120))})
		case r.OK():
			j.Notes = append(j.Notes, fmt.Sprintf("readlink.host: path_readlink of a host-planted absolute link returned %q, not the host path", probes.Truncate(r.Data, 120)))
		default:
			j.Notes = append(j.Notes, "readlink.host: path_readlink of a host-planted absolute link answered "+r.Errno)
		}
	}
	return j
}

// judgeRace: any read that was not the inside content is an escape (the
// host's canary scan sees the bytes too); a loop that never read the inside
// content exercised nothing. The counts per outcome are noted.
func judgeRace(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	sw, _ := suites.ActorOf[*suites.Swapper](ev)
	if sw != nil {
		note := fmt.Sprintf("the host made %d exchanges", sw.Swaps())
		if err := sw.Err(); err != nil {
			note += "; it stopped early: " + err.Error()
		}
		j.Notes = append(j.Notes, note)
	}
	for _, check := range []string{"race.file", "race.dir"} {
		var counts []string
		match, mismatch, iterations := -1, 0, 0
		var other []string
		for _, r := range ev.LinesFor(check) {
			n := 0
			if r.Count != nil {
				n = *r.Count
			}
			switch {
			case r.Op == probes.LineLoopRead:
				other = append(other, probes.Truncate(r.Data, 80))
			case r.Call == "match":
				match = n
			case r.Call == "mismatch":
				mismatch = n
			case r.Call == "loop":
				iterations = n
			default:
				counts = append(counts, fmt.Sprintf("%s %s x%d", r.Call, r.Errno, n))
			}
		}
		switch {
		case mismatch > 0 || len(other) > 0:
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Escape, Causes: []string{"step:" + check},
				Reason: fmt.Sprintf("%s: %d of %d opens read something else than the inside content while the host swapped the path for a symlink out, first %q", check, max(mismatch, len(other)), iterations, other)})
		case match < 0:
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: check + ": the probe printed no loop summary", Causes: []string{"control:" + check}})
		case match == 0:
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("%s: no open of %d read the inside content (%s): the race was not exercised", check, iterations, strings.Join(counts, ", ")), Causes: []string{"control:" + check}})
		}
		j.Notes = append(j.Notes, fmt.Sprintf("%s: %d iterations, %d read the inside content, %d something else; refusals: %s", check, iterations, max(match, 0), mismatch, orNone(counts)))
	}
	return j
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
