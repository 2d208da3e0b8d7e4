package catalogue

// Preopen isolation: what a guest can reach through the directories it was
// granted, and nothing past them (WASI preview 1 path resolution).

import (
	"fmt"
	"slices"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

func preopenSpecs() []suites.Spec {
	return []suites.Spec{
		{
			ID: "preopen.discovery", Area: suites.AreaPreopen, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "Preopens are found from fd 3 upward with exactly the configured guest names, stdio is not a preopen, and the first fd past them answers BADF.",
			Ref:  refPrestat,
			Plan: func(fx *fixtures.Fixture, f runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Preopens: sandboxAndRO(fx, f), Steps: []suites.Step{step(probes.OpPreopens, "discovery", suites.Custom)}}
			},
			Judge: judgeDiscovery,
		},
		{
			ID: "preopen.none-granted", Area: suites.AreaPreopen, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "With no preopen configured the guest has no directory: fd 3 is not a preopen and no path opens.",
			Ref:  refAppABI,
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Steps: []suites.Step{
					step(probes.OpPreopens, "none.discovery", suites.Custom),
					openStep("none.fd3", "fd:3", ".", true, oDirectory, "r", suites.Custom),
					step(probes.OpLibcOpen, "none.libc-secret", suites.Deny, fx.Path("outside/secret.txt")),
					step(probes.OpLibcOpen, "none.libc-etc", suites.Deny, "/etc/passwd"),
				}}
			},
			Judge: judgeNoPreopen,
		},
		{
			ID: "preopen.absolute-path", Area: suites.AreaPreopen, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "path_open with an absolute path is refused with PERM or NOTCAPABLE: there is no global namespace.",
			Ref:  refPathResolution,
			Plan: func(fx *fixtures.Fixture, f runners.Features) suites.Plan {
				return escapePlan(
					openStep("abs.root", guestSandbox, "/", true, oDirectory, "r", suites.Refuse),
					openStep("abs.etc-passwd", guestSandbox, "/etc/passwd", true, 0, "r", suites.Refuse),
					openStep("abs.canary", guestSandbox, fx.Path("outside/secret.txt"), true, 0, "r", suites.Refuse),
					step(probes.OpMkdir, "abs.mkdir", suites.Refuse, guestSandbox, fx.Path("outside/made-by-guest")),
				)(fx, f)
			},
		},
		{
			ID: "preopen.host-path-unreachable", Area: suites.AreaPreopen, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "No preopen reaches a host path that was not granted: wasi-libc's open() of an absolute host path fails.",
			Ref:  refAppABI,
			Plan: func(fx *fixtures.Fixture, f runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Steps: []suites.Step{
					step(probes.OpLibcOpen, "libc.canary", suites.Deny, fx.Path("outside/secret.txt")),
					step(probes.OpLibcOpen, "libc.etc-passwd", suites.Deny, "/etc/passwd"),
					step(probes.OpLibcOpen, "libc.control", suites.Succeed, guestSandbox+"/inside.txt"),
				}}
			},
		},
		{
			ID: "preopen.dotdot", Area: suites.AreaPreopen, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A path that climbs out of its directory with .. is refused with PERM or NOTCAPABLE.",
			Ref:  refPathResolution,
			Plan: escapePlan(
				openStep("dotdot.secret", guestSandbox, "../outside/secret.txt", true, 0, "r", suites.Refuse),
				openStep("dotdot.parent", guestSandbox, "..", true, oDirectory, "r", suites.Refuse),
				openStep("dotdot.sibling-prefix", guestSandbox, "../sandbox-evil/secret.txt", true, 0, "r", suites.Refuse),
				step(probes.OpStat, "dotdot.stat", suites.Refuse, guestSandbox, "../outside", "follow"),
				step(probes.OpMkdir, "dotdot.mkdir", suites.Refuse, guestSandbox, "../outside/made-by-guest"),
			),
		},
		{
			ID: "preopen.dotdot-nested", Area: suites.AreaPreopen, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A path that climbs out through nested components (sub/../../x) is refused with PERM or NOTCAPABLE.",
			Ref:  refPathResolution,
			Plan: escapePlan(
				openStep("nested.one", guestSandbox, "sub/../../outside/secret.txt", true, 0, "r", suites.Refuse),
				openStep("nested.deep", guestSandbox, "sub/nested/../../../outside/secret.txt", true, 0, "r", suites.Refuse),
				openStep("nested.many", guestSandbox, "../../../../../../../../etc/passwd", true, 0, "r", suites.Refuse),
				writeStep("nested.create", guestSandbox, "sub/../../outside/made-by-guest", oCreat, "ESCAPED", suites.Refuse),
			),
		},
		{
			ID: "preopen.dotdot-transient", Area: suites.AreaPreopen, Severity: suites.SeverityLeak, Level: suites.MUST,
			Rule: "A path may not step outside its directory even temporarily (../sandbox/x): that would reveal what exists outside.",
			Ref:  refPathResolution,
			Plan: escapePlan(
				openStep("transient.back", guestSandbox, "../sandbox/inside.txt", true, 0, "r", suites.Refuse),
				openStep("transient.nested", guestSandbox, "sub/../../sandbox/inside.txt", true, 0, "r", suites.Refuse),
				openStep("transient.control", guestSandbox, "sub/../inside.txt", true, 0, "r", suites.Succeed),
			),
		},
		{
			ID: "preopen.host-symlink-relative", Area: suites.AreaPreopen, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A symlink planted by the host that points out of the preopen (rel -> ../outside/secret.txt) is not followed out, as final or intermediate component.",
			Ref:  refPathResolution,
			Plan: escapePlan(
				openStep("hostrel.file", guestSandbox, "rel", true, 0, "r", suites.Refuse),
				openStep("hostrel.dir", guestSandbox, "reldir/secret.txt", true, 0, "r", suites.Refuse),
				openStep("hostrel.dir-nofollow", guestSandbox, "reldir/secret.txt", false, 0, "r", suites.Refuse),
				writeStep("hostrel.create", guestSandbox, "reldir/made-by-guest", oCreat, "ESCAPED", suites.Refuse),
				openStep("hostrel.control", guestSandbox, "inlink", true, 0, "r", suites.Succeed),
			),
		},
		{
			ID: "preopen.host-symlink-absolute", Area: suites.AreaPreopen, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A symlink planted by the host with an absolute target (abs -> /host/path) is never followed.",
			Ref:  refPathResolution,
			Plan: escapePlan(
				openStep("hostabs.file", guestSandbox, "abs", true, 0, "r", suites.Refuse),
				openStep("hostabs.dir", guestSandbox, "absdir/secret.txt", true, 0, "r", suites.Refuse),
				openStep("hostabs.etc", guestSandbox, "etc/passwd", true, 0, "r", suites.Refuse),
				writeStep("hostabs.create", guestSandbox, "absdir/made-by-guest", oCreat, "ESCAPED", suites.Refuse),
			),
		},
		{
			ID: "preopen.guest-symlink", Area: suites.AreaPreopen, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A symlink the guest creates may point anywhere, but following it out of the preopen is refused.",
			Ref:  refPathResolution,
			Plan: escapePlan(
				step(probes.OpSymlink, "guestsym.make-file", suites.Tolerate, "../outside/secret.txt", guestSandbox, "g-file"),
				openStep("guestsym.file", guestSandbox, "g-file", true, 0, "r", suites.Refuse),
				step(probes.OpSymlink, "guestsym.make-dir", suites.Tolerate, "../outside", guestSandbox, "g-dir"),
				openStep("guestsym.dir", guestSandbox, "g-dir/secret.txt", true, 0, "r", suites.Refuse),
				writeStep("guestsym.create", guestSandbox, "g-dir/made-by-guest", oCreat, "ESCAPED", suites.Refuse),
				step(probes.OpSymlink, "guestsym.make-nested", suites.Tolerate, "sub/../../outside", guestSandbox, "g-nested"),
				openStep("guestsym.nested", guestSandbox, "g-nested/secret.txt", true, 0, "r", suites.Refuse),
				step(probes.OpSymlink, "guestsym.make-control", suites.Succeed, "inside.txt", guestSandbox, "g-inside"),
				openStep("guestsym.control", guestSandbox, "g-inside", true, 0, "r", suites.Succeed),
			),
			Judge: noteUnmadeLinks,
		},
		{
			ID: "preopen.guest-symlink-absolute", Area: suites.AreaPreopen, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A guest symlink with an absolute target is never followed (and should not be created: path-resolution.md says it is not permitted).",
			Ref:  refPathResolution,
			Plan: func(fx *fixtures.Fixture, f runners.Features) suites.Plan {
				return escapePlan(
					suites.Step{Op: probes.OpSymlink, Check: "guestabs.make-canary", Args: []string{fx.Path("outside/secret.txt"), guestSandbox, "ga-file"}, Expect: suites.Tolerate, NoteIfOK: "path_symlink with an absolute target succeeded; path-resolution.md says creating one is not permitted"},
					openStep("guestabs.canary", guestSandbox, "ga-file", true, 0, "r", suites.Refuse),
					suites.Step{Op: probes.OpSymlink, Check: "guestabs.make-etc", Args: []string{"/etc", guestSandbox, "ga-etc"}, Expect: suites.Tolerate, NoteIfOK: "path_symlink with an absolute target succeeded; path-resolution.md says creating one is not permitted"},
					openStep("guestabs.etc", guestSandbox, "ga-etc/passwd", true, 0, "r", suites.Refuse),
				)(fx, f)
			},
			Judge: noteUnmadeLinks,
		},
		{
			ID: "preopen.readonly-write", Area: suites.AreaPreopen, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A read-only preopen refuses opening an existing file for writing.",
			Ref:  refPathOpen, Requires: []runners.Feature{runners.FeatureReadOnlyPreopen}, Accept: readOnlyErrnos,
			Plan: readOnlyPlan(
				writeStep("ro.write", guestRO, "victim.txt", 0, "OVERWRITTEN", suites.Refuse),
				openStep("ro.open-rw", guestRO, "victim.txt", true, 0, "rw", suites.Refuse),
			),
		},
		{
			ID: "preopen.readonly-create", Area: suites.AreaPreopen, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A read-only preopen refuses creating files, directories and symlinks.",
			Ref:  refPathOpen, Requires: []runners.Feature{runners.FeatureReadOnlyPreopen}, Accept: readOnlyErrnos,
			Plan: readOnlyPlan(
				writeStep("ro.create", guestRO, "made-by-guest", oCreat, "CREATED", suites.Refuse),
				step(probes.OpMkdir, "ro.mkdir", suites.Refuse, guestRO, "dir-by-guest"),
				step(probes.OpSymlink, "ro.symlink", suites.Refuse, "victim.txt", guestRO, "link-by-guest"),
				step(probes.OpUnlink, "ro.unlink", suites.Refuse, guestRO, "victim.txt"),
				step(probes.OpRename, "ro.rename", suites.Refuse, guestRO, "victim.txt", guestRO, "moved.txt"),
			),
		},
		{
			ID: "preopen.readonly-truncate", Area: suites.AreaPreopen, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A read-only preopen refuses O_TRUNC, also when only FD_READ is asked for (GHSA-2r75-cxrj-cmph).",
			Ref:  refReadOnlyGHSA, Requires: []runners.Feature{runners.FeatureReadOnlyPreopen}, Accept: readOnlyErrnos,
			Plan: readOnlyPlan(
				openStep("ro.trunc-read", guestRO, "victim.txt", true, oTrunc, "r", suites.Refuse),
				writeStep("ro.trunc-write", guestRO, "victim.txt", oTrunc, "", suites.Refuse),
			),
		},
		{
			ID: "preopen.inside-readable", Area: suites.AreaPreopen, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "What was granted works: files inside a preopen (and a read-only preopen) open and read back exactly.",
			Ref:  refPathOpen,
			Plan: func(fx *fixtures.Fixture, f runners.Features) suites.Plan {
				steps := []suites.Step{
					openStep("inside.file", guestSandbox, "inside.txt", true, 0, "r", suites.Works),
					openStep("inside.nested", guestSandbox, "sub/nested/file.txt", true, 0, "r", suites.Works),
					openStep("inside.dot", guestSandbox, "sub/./nested/../../inside.txt", true, 0, "r", suites.Works),
				}
				if f.Has(runners.FeatureReadOnlyPreopen) {
					steps = append(steps, openStep("inside.ro", guestRO, "victim.txt", true, 0, "r", suites.Works))
				}
				return suites.Plan{Probe: "fs", Preopens: sandboxAndRO(fx, f), Steps: steps}
			},
			Judge: judgeContents(map[string]string{
				"inside.file": "INSIDE-FILE\n", "inside.nested": "NESTED-FILE\n", "inside.dot": "INSIDE-FILE\n", "inside.ro": "VICTIM-FILE\n",
			}),
		},
	}
}

// readOnlyErrnos are the answers that refuse a write to a read-only preopen
// (RATIONALE.md, Verdicts): the escape errnos plus POSIX's own.
var readOnlyErrnos = []string{"PERM", "NOTCAPABLE", "ROFS", "ACCES", "BADF"}

// readOnlyPlan grants the sandbox and the read-only dir, and proves the
// read-only dir is really there by reading from it.
func readOnlyPlan(steps ...suites.Step) func(*fixtures.Fixture, runners.Features) suites.Plan {
	return func(fx *fixtures.Fixture, f runners.Features) suites.Plan {
		control := openStep("ro.control", guestRO, "victim.txt", true, 0, "r", suites.Succeed)
		return suites.Plan{Probe: "fs", Preopens: sandboxAndRO(fx, f), Steps: append(slices.Clone(steps), control)}
	}
}

// judgeDiscovery: the prestat scan must list exactly the configured guest
// names from fd 3, in order; an extra name is a capability nobody granted.
func judgeDiscovery(ev *suites.Evidence) suites.Judgement {
	want := slices.Clone(ev.Implicit)
	for _, p := range ev.Invocation.Preopens {
		want = append(want, p.GuestPath)
	}
	got, j := scanPreopens(ev, "discovery", true)
	switch {
	case slices.Equal(got, want):
		return j
	case len(got) > len(want):
		return suites.Worse(j, suites.Judgement{Verdict: verdicts.Escape, Reason: fmt.Sprintf("the guest found preopens %q; only %q were granted", got, want)})
	}
	return suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("preopen names %q, want exactly %q", got, want)})
}

// scanPreopens reads a `preopens` op's records: the names found from fd 3,
// and a judgement on the fd that ends the scan and, when judgeStdio, on
// stdio answering as a preopen (a conformance matter, judged by
// preopen.discovery alone).
func scanPreopens(ev *suites.Evidence, check string, judgeStdio bool) ([]string, suites.Judgement) {
	j := suites.Pass()
	var got []string
	recs := ev.LinesFor(check)
	if len(recs) == 0 {
		return nil, suites.Judgement{Verdict: verdicts.Fail, Reason: "probe printed no preopen scan"}
	}
	ended := false
	for _, r := range recs {
		if r.FD == nil {
			continue
		}
		fd := *r.FD
		switch {
		case fd < 3 && !judgeStdio:
		case fd < 3 && r.OK():
			if j.Verdict == verdicts.Pass {
				j = suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("fd %d (stdio) answers fd_prestat_get as a preopen named %q", fd, r.Data), Notes: j.Notes}
			}
		case fd < 3 && r.Errno != "BADF":
			j.Notes = append(j.Notes, fmt.Sprintf("fd_prestat_get(%d) on stdio answered %s, want BADF", fd, r.Errno))
		case fd >= 3 && r.OK():
			got = append(got, r.Data)
		case fd >= 3:
			ended = true
			if r.Errno != "BADF" {
				j.Notes = append(j.Notes, fmt.Sprintf("fd_prestat_get(%d) past the preopens answered %s, want BADF", fd, r.Errno))
			}
		}
	}
	if !ended {
		j.Notes = append(j.Notes, "the preopen scan never reached an fd that is not a preopen")
	}
	return got, j
}

// judgeNoPreopen: with nothing granted, nothing may be found, and fd 3
// must not open as a directory, unless the platform grants preopens by
// design (a container's rootfs at fd 3), which are then the guest's own.
func judgeNoPreopen(ev *suites.Evidence) suites.Judgement {
	got, j := scanPreopens(ev, ev.Plan.Steps[0].Check, false)
	if j.Verdict != verdicts.Pass {
		return j
	}
	if extra := minus(got, ev.Implicit); len(extra) > 0 {
		return suites.Judgement{Verdict: verdicts.Escape, Reason: fmt.Sprintf("no preopen was configured, but the guest found %q", extra), Notes: j.Notes, Causes: []string{"step:" + ev.Plan.Steps[0].Check}}
	}
	for _, st := range ev.Plan.Steps {
		if st.Check != "none.fd3" {
			continue
		}
		r, ok := ev.Line(st.Check)
		switch {
		case !ok:
			return suites.Judgement{Verdict: verdicts.Fail, Reason: "probe printed no record for none.fd3", Causes: []string{"step:none.fd3"}}
		case r.Reached() && len(ev.Implicit) == 0:
			return suites.Judgement{Verdict: verdicts.Escape, Reason: fmt.Sprintf("none.fd3: %s reached a directory (%s) with nothing granted", st.String(), r.CallsString()), Notes: j.Notes, Causes: []string{"step:none.fd3"}}
		case r.Reached():
			j.Notes = append(j.Notes, fmt.Sprintf("none.fd3: fd 3 is the platform's own preopen %q, granted by design", ev.Implicit[0]))
		}
	}
	return j
}

// judgeContents checks that suites.Succeed steps read back exactly the fixture's bytes.
func judgeContents(want map[string]string) func(*suites.Evidence) suites.Judgement {
	return func(ev *suites.Evidence) suites.Judgement {
		for _, st := range ev.Plan.Steps {
			w, ok := want[st.Check]
			if !ok {
				continue
			}
			if r, ok := ev.Line(st.Check); ok && r.OK() && r.Data != w {
				return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("%s: read %q, want %q", st.Check, r.Data, w)}
			}
		}
		return suites.Pass()
	}
}
