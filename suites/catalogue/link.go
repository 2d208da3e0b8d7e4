package catalogue

// Hard links and renames: within a preopen, out of it, and across read-only
// and writable preopens (GHSA-4ch3-9j33-3pmj).

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

const (
	refPathLink   = refPreview1 + "#path_link"
	refPathRename = refPreview1 + "#path_rename"
	// refCrossPermGHSA: path_link/path_rename from a read-only preopen into
	// a writable one made the same inode writable (wasmtime, CVE-2026-58494).
	refCrossPermGHSA = "https://github.com/bytecodealliance/wasmtime/security/advisories/GHSA-4ch3-9j33-3pmj"
)

// crossPermErrnos refuse a link or rename across permission domains: the
// read-only errnos, and XDEV (two preopens may be two mounts).
var crossPermErrnos = append(slices.Clone(readOnlyErrnos), "XDEV")

func linkStep(check string, e suites.Expect, dir, path, dir2, path2 string, follow bool) suites.Step {
	f := "nofollow"
	if follow {
		f = "follow"
	}
	return step(probes.OpLink, check, e, dir, path, dir2, path2, f)
}

func renameStep(check string, e suites.Expect, dir, path, dir2, path2 string) suites.Step {
	return step(probes.OpRename, check, e, dir, path, dir2, path2)
}

func linkSpecs() []suites.Spec {
	return []suites.Spec{
		{
			ID: "link.crossperm", Area: suites.AreaLink, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "path_link and path_rename never carry a file across permission domains: linking or moving a read-only preopen's file into a writable one (or the reverse) is refused, and the file stays unchanged in the read-only preopen.",
			Ref:  refCrossPermGHSA, Refs: []string{refPathLink, refPathRename, "https://github.com/bytecodealliance/wasmtime/pull/13725"},
			Requires: []runners.Feature{runners.FeatureReadOnlyPreopen}, Accept: crossPermErrnos,
			Plan: readOnlyPlan(
				linkStep("cross.link", suites.Refuse, guestRO, "victim.txt", guestSandbox, "alias", false),
				writeStep("cross.write-alias", guestSandbox, "alias", 0, "OVERWRITTEN", suites.Deny),
				renameStep("cross.rename", suites.Refuse, guestRO, "victim.txt", guestSandbox, "moved"),
				writeStep("cross.write-moved", guestSandbox, "moved", 0, "OVERWRITTEN", suites.Deny),
				linkStep("cross.link-in", suites.Refuse, guestSandbox, "inside.txt", guestRO, "planted-link", false),
				renameStep("cross.rename-in", suites.Refuse, guestSandbox, "inside.txt", guestRO, "planted"),
				renameStep("cross.control", suites.Succeed, guestSandbox, "inside.txt", guestSandbox, "renamed.txt"),
			),
		},
		{
			ID: "link.follow-escape", Area: suites.AreaLink, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "path_link with SYMLINK_FOLLOW never links the target of a symlink that points out of the preopen: it is refused, or it links the symlink itself, which still does not open outside.",
			Ref:  refPathLink, Refs: []string{refPathResolution},
			Plan: escapePlan(
				suites.Step{Op: probes.OpLink, Check: "follow.host-link", Args: []string{guestSandbox, "rel", guestSandbox, "hard", "follow"}, Expect: suites.Tolerate,
					NoteIfOK: "path_link(SYMLINK_FOLLOW) of the host's rel -> ../outside/secret.txt succeeded (judged by what it made)"},
				openStep("follow.host-open", guestSandbox, "hard", true, 0, "rw", suites.Deny),
				openStep("follow.host-open-nofollow", guestSandbox, "hard", false, 0, "r", suites.Deny),
				linkStep("follow.dir-link", suites.Refuse, guestSandbox, "reldir/secret.txt", guestSandbox, "hard-dir", true),
				step(probes.OpSymlink, "follow.guest-make", suites.Tolerate, "../outside/secret.txt", guestSandbox, "g-rel"),
				suites.Step{Op: probes.OpLink, Check: "follow.guest-link", Args: []string{guestSandbox, "g-rel", guestSandbox, "g-hard", "follow"}, Expect: suites.Tolerate,
					NoteIfOK: "path_link(SYMLINK_FOLLOW) of a guest symlink to ../outside/secret.txt succeeded (judged by what it made)"},
				openStep("follow.guest-open", guestSandbox, "g-hard", true, 0, "rw", suites.Deny),
				linkStep("follow.control", suites.Tolerate, guestSandbox, "inlink", guestSandbox, "in-hard", true),
			),
		},
		{
			ID: "link.rename-outside", Area: suites.AreaLink, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "path_link and path_rename refuse a source or destination outside the preopen (.., an escaping intermediate symlink, a prefix-sharing sibling) with PERM or NOTCAPABLE, and change nothing on the host.",
			Ref:  refPathResolution, Refs: []string{refPathLink, refPathRename},
			Plan: escapePlan(
				linkStep("out.link-to", suites.Refuse, guestSandbox, "inside.txt", guestSandbox, "../outside/linked", false),
				linkStep("out.link-from", suites.Refuse, guestSandbox, "../outside/secret.txt", guestSandbox, "stolen-link", false),
				renameStep("out.rename-to", suites.Refuse, guestSandbox, "inside.txt", guestSandbox, "../outside/moved"),
				renameStep("out.rename-from", suites.Refuse, guestSandbox, "../outside/secret.txt", guestSandbox, "stolen"),
				renameStep("out.rename-symdir", suites.Refuse, guestSandbox, "inside.txt", guestSandbox, "reldir/moved"),
				linkStep("out.link-symdir", suites.Refuse, guestSandbox, "reldir/secret.txt", guestSandbox, "stolen-sym", false),
				renameStep("out.rename-sibling", suites.Refuse, guestSandbox, "../sandbox-evil/secret.txt", guestSandbox, "stolen-sibling"),
				renameStep("out.rename-nested", suites.Refuse, guestSandbox, "sub/../../outside/keep", guestSandbox, "stolen-dir"),
			),
		},
		{
			ID: "link.rename-special", Area: suites.AreaLink, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "path_rename and path_link answer the special cases as POSIX does: a dir into itself INVAL, a file over a dir ISDIR, a dir over a non-empty dir NOTEMPTY, a link onto an existing name EXIST, a link of a dir PERM; renaming a preopen's root or over it never succeeds.",
			Ref:  refPathRename, Refs: []string{refPathLink, "https://github.com/WebAssembly/WASI/issues/848", "https://github.com/bytecodealliance/wasmtime/issues/119"},
			Fixture: fixtures.Tree{
				fixtures.File{Path: "sandbox/dir-a/a.txt", Content: "A\n"},
				fixtures.File{Path: "sandbox/dir-b/b.txt", Content: "B\n"},
				fixtures.File{Path: "sandbox/other.txt", Content: "OTHER\n"},
			},
			Plan: func(fx *fixtures.Fixture, f runners.Features) suites.Plan {
				steps := []suites.Step{
					renameStep(checkIntoItself, suites.Custom, guestSandbox, "sub", guestSandbox, "sub/inner"),
					renameStep(checkOverDot, suites.Custom, guestSandbox, "inside.txt", guestSandbox, "."),
					renameStep(checkRootAway, suites.Custom, guestSandbox, ".", guestSandbox, "root-moved"),
					linkStep(checkLinkDir, suites.Custom, guestSandbox, "sub", guestSandbox, "sub-link", false),
					renameStep(checkFileOverDir, suites.Custom, guestSandbox, "inside.txt", guestSandbox, "sub"),
					renameStep(checkDirOverFull, suites.Custom, guestSandbox, "dir-a", guestSandbox, "dir-b"),
					linkStep(checkLinkExists, suites.Custom, guestSandbox, "inside.txt", guestSandbox, "other.txt", false),
				}
				if f.Has(runners.FeatureReadOnlyPreopen) {
					steps = append(steps, renameStep(checkROAway, suites.Custom, guestRO, ".", guestSandbox, "ro-moved"))
				}
				steps = append(steps,
					renameStep("special.control", suites.Succeed, guestSandbox, "other.txt", guestSandbox, "other-renamed.txt"),
					openStep("special.control-read", guestSandbox, "inside.txt", true, 0, "r", suites.Succeed))
				return suites.Plan{Probe: "fs", Preopens: sandboxAndRO(fx, f), Steps: steps}
			},
			Judge: judgeSpecialCases,
		},
	}
}

// The checks of link.rename-special.
const (
	checkIntoItself  = "special.into-itself"
	checkOverDot     = "special.over-dot"
	checkRootAway    = "special.root-away"
	checkLinkDir     = "special.link-dir"
	checkFileOverDir = "special.file-over-dir"
	checkDirOverFull = "special.dir-over-nonempty"
	checkLinkExists  = "special.link-exists"
	checkROAway      = "special.ro-root-away"
)

// specialCases are link.rename-special's answers: the errno the rule wants,
// the ones tolerated as a conformance note (another platform's POSIX
// answer), and nil want for "any refusal".
var specialCases = map[string]struct{ want, tolerated []string }{
	checkIntoItself:  {want: []string{"INVAL"}},
	checkOverDot:     {},
	checkRootAway:    {},
	checkLinkDir:     {want: []string{"PERM"}, tolerated: []string{"ACCES"}},
	checkFileOverDir: {want: []string{"ISDIR"}},
	checkDirOverFull: {want: []string{"NOTEMPTY"}, tolerated: []string{"EXIST"}},
	checkLinkExists:  {want: []string{"EXIST"}},
	checkROAway:      {},
}

// judgeSpecialCases: each special case must fail, with the errno POSIX
// gives (a tolerated one is a note); success is a failure of the spec.
func judgeSpecialCases(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	for _, st := range ev.Plan.Steps {
		c, ok := specialCases[st.Check]
		if !ok {
			continue
		}
		r, printed := ev.Line(st.Check)
		switch {
		case !printed:
			return worseFail(j, st.Check, fmt.Sprintf("probe printed no record for %s (%s)", st.Check, st.String()))
		case r.OK():
			j = worseFail(j, st.Check, fmt.Sprintf("%s: %s succeeded", st.Check, st.String()))
		case c.want == nil, slices.Contains(c.want, r.Errno):
		case slices.Contains(c.tolerated, r.Errno):
			j.Notes = append(j.Notes, fmt.Sprintf("%s: %s answered %s, tolerated (want %s)", st.Check, st.String(), r.Errno, strings.Join(c.want, "|")))
		default:
			j = worseFail(j, st.Check, fmt.Sprintf("%s: %s answered %s, want %s", st.Check, st.String(), r.Errno, strings.Join(append(slices.Clone(c.want), c.tolerated...), "|")))
		}
	}
	return j
}

// worseFail adds a failure of check to j, keeping j's first reason.
func worseFail(j suites.Judgement, check, reason string) suites.Judgement {
	return suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: reason, Causes: []string{"step:" + check}})
}
