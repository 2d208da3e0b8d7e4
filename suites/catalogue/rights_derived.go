package catalogue

// Rights through derived fds: read-only through every directory opened from
// a read-only preopen, dropped rights that stay dropped, and the directory
// rights wasi-libc needs (catalogue D.6 and issue 10, item 2).

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
)

const (
	refSetRights = refPreview1 + "#fd_fdstat_set_rights"
	// refPreopenRights: the directory rights wasi-libc and TinyGo need
	// (wasmtime's p1_path_open_preopen test, after #6463 and #6784).
	refPreopenRights = "https://github.com/bytecodealliance/wasmtime/blob/main/crates/test-programs/src/bin/p1_path_open_preopen.rs"
	// refRightsRemoved: wasmtime stopped enforcing rights and answers
	// fd_fdstat_set_rights with NOTSUP.
	refRightsRemoved = "https://github.com/bytecodealliance/wasmtime/pull/6265"
)

// Rights bits beyond FD_READ and FD_WRITE.
const (
	rightFdSeek    uint64 = 1 << 2
	rightFdReaddir uint64 = 1 << 14
)

// dirBaseRights are the base rights wasmtime's p1_path_open_preopen test
// requires of a directory: PATH_CREATE_DIRECTORY, PATH_CREATE_FILE,
// PATH_LINK_SOURCE, PATH_LINK_TARGET, PATH_OPEN, FD_READDIR, PATH_READLINK,
// PATH_RENAME_SOURCE, PATH_RENAME_TARGET, PATH_FILESTAT_GET,
// PATH_FILESTAT_SET_TIMES, FD_FILESTAT_GET, FD_FILESTAT_SET_TIMES,
// PATH_SYMLINK, PATH_REMOVE_DIRECTORY, PATH_UNLINK_FILE.
const dirBaseRights uint64 = 1<<9 | 1<<10 | 1<<11 | 1<<12 | 1<<13 | 1<<14 | 1<<15 | 1<<16 | 1<<17 |
	1<<18 | 1<<20 | 1<<21 | 1<<23 | 1<<24 | 1<<25 | 1<<26

// dirInheritingRights adds what that test requires of a directory's
// inheriting rights: FD_DATASYNC, FD_READ, FD_SEEK, FD_FDSTAT_SET_FLAGS,
// FD_SYNC, FD_TELL, FD_WRITE, FD_ADVISE, FD_ALLOCATE, FD_FILESTAT_SET_SIZE,
// POLL_FD_READWRITE.
const dirInheritingRights = dirBaseRights | 0xff | 1<<8 | 1<<22 | 1<<27

// rightsUnsupported are the answers of a runtime without rights to
// fd_fdstat_set_rights: NOTSUP (wasmtime since #6265), NOSYS (a stub).
var rightsUnsupported = []string{"NOTSUP", "NOSYS"}

// derivedErrnos refuse a change through a directory derived from a
// read-only preopen: the read-only errnos, XDEV for a link or rename into
// another mount, and INVAL (ftruncate of an fd not open for writing).
var derivedErrnos = append(slices.Clone(readOnlyErrnos), "XDEV", "INVAL")

func opendirStep(check, dir, path, name string, e suites.Expect) suites.Step {
	return step(probes.OpOpendir, check, e, dir, path, name)
}

// The names the derived-directory plan gives its fds.
const (
	aliasRODot    = "ro-dot"     // /ro "."
	aliasROSub    = "ro-sub"     // /ro "sub"
	aliasROSubDot = "ro-sub-dot" // ro-sub "."
	aliasInner    = "ro-inner"   // ro-sub "inner.txt", FD_READ
)

func rightsDerivedSpecs() []suites.Spec {
	return []suites.Spec{
		{
			ID: "rights.readonly-derived", Area: suites.AreaRights, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A read-only preopen stays read-only through every directory fd opened from it (\".\", a subdirectory, a directory opened from those): create, mkdir, symlink, link, rename, unlink, truncate and write through them are refused.",
			Ref:  refPathOpen, Refs: []string{refCrossPermGHSA, refReadOnlyGHSA, refPreopenRights},
			Requires: []runners.Feature{runners.FeatureReadOnlyPreopen}, Accept: derivedErrnos,
			Fixture: fixtures.Tree{
				fixtures.File{Path: "ro/sub/inner.txt", Content: "INNER-FILE\n"},
				fixtures.Dir{Path: "ro/sub/empty"},
			},
			Plan: readOnlyPlan(
				opendirStep("derived.open-dot", guestRO, ".", aliasRODot, suites.Succeed),
				opendirStep("derived.open-sub", guestRO, "sub", aliasROSub, suites.Succeed),
				opendirStep("derived.open-sub-dot", aliasROSub, ".", aliasROSubDot, suites.Succeed),
				openStep("derived.control-dot", aliasRODot, "victim.txt", true, 0, "r", suites.Succeed),
				openStep("derived.control-sub", aliasROSub, "inner.txt", true, 0, "r", suites.Succeed),
				// Through ".": write, truncate, create, then link and rename, unlink last.
				writeStep("derived.write", aliasRODot, "victim.txt", 0, "OVERWRITTEN", suites.Refuse),
				openStep("derived.open-rw", aliasRODot, "victim.txt", true, 0, "rw", suites.Refuse),
				openStep("derived.trunc-read", aliasRODot, "victim.txt", true, oTrunc, "r", suites.Refuse),
				writeStep("derived.trunc-write", aliasRODot, "victim.txt", oTrunc, "", suites.Refuse),
				writeStep("derived.create", aliasRODot, "made-by-guest", oCreat, "CREATED", suites.Refuse),
				step(probes.OpMkdir, "derived.mkdir", suites.Refuse, aliasRODot, "dir-by-guest"),
				step(probes.OpSymlink, "derived.symlink", suites.Refuse, "victim.txt", aliasRODot, "link-by-guest"),
				linkStep("derived.link", suites.Refuse, aliasRODot, "victim.txt", aliasRODot, "hard-by-guest", false),
				linkStep("derived.link-out", suites.Refuse, aliasRODot, "victim.txt", guestSandbox, "alias", false),
				renameStep("derived.rename-out", suites.Refuse, aliasRODot, "victim.txt", guestSandbox, "moved"),
				renameStep("derived.rename", suites.Refuse, aliasRODot, "victim.txt", aliasRODot, "moved.txt"),
				// Through "sub" and "sub/.".
				writeStep("derived.sub-write", aliasROSub, "inner.txt", 0, "OVERWRITTEN", suites.Refuse),
				openStep("derived.sub-trunc-read", aliasROSub, "inner.txt", true, oTrunc, "r", suites.Refuse),
				writeStep("derived.sub-create", aliasROSub, "made-by-guest", oCreat, "CREATED", suites.Refuse),
				step(probes.OpMkdir, "derived.sub-mkdir", suites.Refuse, aliasROSub, "dir-by-guest"),
				step(probes.OpSymlink, "derived.sub-symlink", suites.Refuse, "inner.txt", aliasROSub, "link-by-guest"),
				linkStep("derived.sub-link", suites.Refuse, aliasROSub, "inner.txt", aliasROSub, "hard-by-guest", false),
				renameStep("derived.sub-rename", suites.Refuse, aliasROSub, "inner.txt", aliasROSub, "moved.txt"),
				writeStep("derived.nested-create", aliasROSubDot, "made-by-guest", oCreat, "CREATED", suites.Refuse),
				step(probes.OpMkdir, "derived.nested-mkdir", suites.Refuse, aliasROSubDot, "dir-by-guest"),
				// A file fd opened read-only through the derived dir.
				step(probes.OpOpenFD, "derived.open-inner", suites.Succeed, aliasROSub, "inner.txt", "r", aliasInner),
				step(probes.OpFDTruncate, "derived.fd-truncate", suites.Refuse, aliasInner),
				step(probes.OpFDWrite, "derived.fd-write", suites.Refuse, aliasInner, "OVERWRITTEN"),
				// Removals last: a runtime that lets them through is caught
				// without hiding the steps above.
				step(probes.OpRmdir, "derived.sub-rmdir", suites.Refuse, aliasROSub, "empty"),
				step(probes.OpUnlink, "derived.sub-unlink", suites.Refuse, aliasROSub, "inner.txt"),
				step(probes.OpUnlink, "derived.unlink", suites.Refuse, aliasRODot, "victim.txt"),
			),
			Judge: judgeDerivedRights,
		},
		{
			ID: "rights.drop-enforced", Area: suites.AreaRights, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "Rights dropped with fd_fdstat_set_rights are gone: fd_read and fd_write without FD_READ and FD_WRITE fail with BADF or NOTCAPABLE and fd_fdstat_get no longer reports them; a runtime without rights answers NOTSUP (recorded, not a failure).",
			Ref:  refSetRights, Refs: []string{refRightsRemoved, "https://github.com/WebAssembly/wasi-filesystem/issues/31"},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Steps: []suites.Step{
					step(probes.OpOpenFD, "drop.open", suites.Succeed, guestSandbox, "inside.txt", "rw", "f"),
					step(probes.OpSetRights, checkDropSet, suites.Custom, "f", "-rw", "="),
					step(probes.OpFDRead, checkDropRead, suites.Custom, "f"),
					step(probes.OpFDWrite, checkDropWrite, suites.Custom, "f", "DROPPED"),
				}}
			},
			Judge: judgeDropEnforced,
		},
		{
			ID: "rights.no-escalation", Area: suites.AreaRights, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "Rights never grow back: fd_fdstat_set_rights adding a dropped right answers NOTCAPABLE, and path_open through a directory whose inheriting rights lack FD_WRITE refuses FD_WRITE (NOTCAPABLE) or returns an fd that cannot write.",
			Ref:  refSetRights, Refs: []string{refPathOpen, refRightsRemoved},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Steps: []suites.Step{
					step(probes.OpOpenFD, "esc.open", suites.Succeed, guestSandbox, "inside.txt", "rw", "g"),
					step(probes.OpSetRights, checkEscDrop, suites.Custom, "g", "-w", "="),
					step(probes.OpSetRights, checkEscReadd, suites.Custom, "g", "+w", "="),
					step(probes.OpFDWrite, checkEscWrite, suites.Custom, "g", "ESCALATED"),
					opendirStep("esc.opendir", guestSandbox, "sub", "d", suites.Succeed),
					step(probes.OpSetRights, checkEscDirDrop, suites.Custom, "d", "=", "-w"),
					rightsStep(checkEscBeyond, "d", "nested/file.txt", "rw", "write"),
				}}
			},
			Judge: judgeNoEscalation,
		},
		{
			ID: "rights.dir-reported", Area: suites.AreaRights, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "fd_fdstat_get on a preopened directory and on a directory opened from it reports the base rights wasi-libc needs (create, link, open, readdir, readlink, rename, symlink, remove, unlink, filestat), and inheriting rights with FD_READ and FD_WRITE.",
			Ref:  refPreopenRights, Refs: []string{refFdstat, "https://github.com/bytecodealliance/wasmtime/issues/6463", "https://github.com/bytecodealliance/wasmtime/issues/6784"},
			Plan: func(fx *fixtures.Fixture, f runners.Features) suites.Plan {
				steps := []suites.Step{
					step(probes.OpFDRights, checkDirPreopen, suites.Custom, guestSandbox),
					opendirStep(checkDirDerived, guestSandbox, "sub", "dsub", suites.Custom),
				}
				if f.Has(runners.FeatureReadOnlyPreopen) {
					steps = append(steps, step(probes.OpFDRights, checkDirRO, suites.Custom, guestRO))
				}
				return suites.Plan{Probe: "fs", Preopens: sandboxAndRO(fx, f), Steps: steps}
			},
			Judge: judgeDirReported,
		},
	}
}

// The checks the rights judges read.
const (
	checkDropSet    = "drop.set-rights"
	checkDropRead   = "drop.read"
	checkDropWrite  = "drop.write"
	checkEscDrop    = "esc.drop"
	checkEscReadd   = "esc.readd"
	checkEscWrite   = "esc.write"
	checkEscDirDrop = "esc.dir-drop"
	checkEscBeyond  = "esc.beyond-inheriting"
	checkDirPreopen = "dir.preopen"
	checkDirDerived = "dir.derived"
	checkDirRO      = "dir.ro"
)

// setRightsAnswer is what fd_fdstat_set_rights answered in a set-rights
// record ("" when the record or the call is missing).
func setRightsAnswer(r probes.Line) string {
	for _, c := range r.Calls {
		if c.Call == "fd_fdstat_set_rights" {
			return c.Errno
		}
	}
	return ""
}

// judgeDerivedRights notes the rights each derived directory fd holds,
// where runtimes differ (catalogue C.3): the steps decide the verdict.
func judgeDerivedRights(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	for _, check := range []string{"derived.open-dot", "derived.open-sub", "derived.open-sub-dot"} {
		if r, ok := ev.Line(check); ok && r.RightsBase != nil {
			j.Notes = append(j.Notes, fmt.Sprintf("%s: derived directory fd base %s, inheriting %s", check, accessString(*r.RightsBase), accessString(*r.RightsInheriting)))
		}
	}
	return j
}

// fdAccessFails judges an fd_read or fd_write on an fd that lacks the
// right: it must fail, with BADF or NOTCAPABLE (another errno is a note).
func fdAccessFails(j *suites.Judgement, ev *suites.Evidence, check, what string) bool {
	r, ok := ev.Line(check)
	if !ok {
		*j = worseFail(*j, check, "probe printed no record for "+check)
		return false
	}
	if r.OK() {
		*j = worseFail(*j, check, fmt.Sprintf("%s: %s succeeded %s", check, r.Op, what))
		return false
	}
	if !slices.Contains(fdAccessErrnos, r.Errno) {
		j.Notes = append(j.Notes, fmt.Sprintf("%s: %s %s answered %s, outside {%s}", check, r.Op, what, r.Errno, strings.Join(fdAccessErrnos, ", ")))
	}
	return true
}

// judgeDropEnforced: a drop the runtime accepted must hold.
func judgeDropEnforced(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	r, ok := ev.Line(checkDropSet)
	set := setRightsAnswer(r)
	switch {
	case !ok || len(r.Calls) == 0:
		return worseFail(j, checkDropSet, "probe printed no set-rights record with calls")
	case set == "":
		return worseFail(j, checkDropSet, fmt.Sprintf("%s: fd_fdstat_get failed before fd_fdstat_set_rights (%s)", checkDropSet, r.CallsString()))
	case slices.Contains(rightsUnsupported, set):
		j.Notes = append(j.Notes, fmt.Sprintf("rights unsupported: fd_fdstat_set_rights answered %s; dropping rights was not exercised", set))
		return j
	case set != "SUCCESS":
		return worseFail(j, checkDropSet, fmt.Sprintf("%s: fd_fdstat_set_rights dropping FD_READ|FD_WRITE answered %s: removing rights must succeed (or NOTSUP where rights are not implemented)", checkDropSet, set))
	}
	if r.RightsBase != nil && *r.RightsBase&rightsAccess != 0 {
		j = worseFail(j, checkDropSet, fmt.Sprintf("%s: after dropping FD_READ|FD_WRITE, fd_fdstat_get still reports %s", checkDropSet, rightsString(*r.RightsBase&rightsAccess)))
	}
	fdAccessFails(&j, ev, checkDropRead, "after FD_READ was dropped")
	fdAccessFails(&j, ev, checkDropWrite, "after FD_WRITE was dropped")
	return j
}

// judgeNoEscalation: dropped rights stay dropped, and a directory hands
// out no more than its inheriting rights.
func judgeNoEscalation(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	drop, _ := ev.Line(checkEscDrop)
	switch a := setRightsAnswer(drop); {
	case a == "SUCCESS":
		readd, _ := ev.Line(checkEscReadd)
		switch b := setRightsAnswer(readd); b {
		case "NOTCAPABLE":
		case "SUCCESS":
			j = worseFail(j, checkEscReadd, fmt.Sprintf("%s: fd_fdstat_set_rights adding back the dropped FD_WRITE succeeded; it must answer NOTCAPABLE", checkEscReadd))
		default:
			j = worseFail(j, checkEscReadd, fmt.Sprintf("%s: fd_fdstat_set_rights adding back the dropped FD_WRITE answered %q; the witx fixes NOTCAPABLE", checkEscReadd, b))
		}
		fdAccessFails(&j, ev, checkEscWrite, "after FD_WRITE was dropped and asked back")
	case slices.Contains(rightsUnsupported, a):
		j.Notes = append(j.Notes, fmt.Sprintf("rights unsupported: fd_fdstat_set_rights answered %s; re-adding rights was not exercised", a))
	default:
		j.Notes = append(j.Notes, fmt.Sprintf("%s: dropping FD_WRITE answered %q (%s); re-adding rights was not exercised", checkEscDrop, a, drop.CallsString()))
	}

	dirDrop, _ := ev.Line(checkEscDirDrop)
	switch a := setRightsAnswer(dirDrop); {
	case a == "SUCCESS":
		if dirDrop.RightsInheriting != nil && *dirDrop.RightsInheriting&rightFdWrite != 0 {
			j = worseFail(j, checkEscDirDrop, fmt.Sprintf("%s: after dropping FD_WRITE from the directory's inheriting rights, fd_fdstat_get still reports it", checkEscDirDrop))
		}
		r, ok := ev.Line(checkEscBeyond)
		switch {
		case !ok || len(r.Calls) == 0:
			j = worseFail(j, checkEscBeyond, "probe printed no open-rights record for "+checkEscBeyond)
		case !r.Reached():
			if r.Calls[0].Errno != "NOTCAPABLE" {
				j.Notes = append(j.Notes, fmt.Sprintf("%s: path_open asking FD_WRITE beyond the inheriting rights answered %s, want NOTCAPABLE", checkEscBeyond, r.Calls[0].Errno))
			}
		default:
			for _, c := range r.Calls {
				if c.Call == "fd_write" && c.OK() {
					j = worseFail(j, checkEscBeyond, fmt.Sprintf("%s: path_open asking FD_WRITE through a directory whose inheriting rights lack it returned an fd that writes (%s)", checkEscBeyond, describeRights(r)))
				}
			}
			if r.RightsBase != nil && *r.RightsBase&rightFdWrite != 0 {
				j = worseFail(j, checkEscBeyond, fmt.Sprintf("%s: the fd opened beyond the directory's inheriting rights reports FD_WRITE (%s)", checkEscBeyond, describeRights(r)))
			}
		}
	case slices.Contains(rightsUnsupported, a):
		j.Notes = append(j.Notes, fmt.Sprintf("rights unsupported: fd_fdstat_set_rights on a directory answered %s; path_open beyond inheriting rights was not exercised", a))
	default:
		j.Notes = append(j.Notes, fmt.Sprintf("%s: dropping FD_WRITE from a directory's inheriting rights answered %q (%s); path_open beyond them was not exercised", checkEscDirDrop, a, dirDrop.CallsString()))
	}
	return j
}

// judgeDirReported: the writable preopen and a directory opened from it
// report the rights wasi-libc needs; the read-only preopen's are a note.
func judgeDirReported(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	for _, check := range []string{checkDirPreopen, checkDirDerived, checkDirRO} {
		r, ok := ev.Line(check)
		if !ok {
			if check != checkDirRO || slices.ContainsFunc(ev.Plan.Steps, func(s suites.Step) bool { return s.Check == checkDirRO }) {
				j = worseFail(j, check, "probe printed no record for "+check)
			}
			continue
		}
		if r.RightsBase == nil || r.RightsInheriting == nil {
			j = worseFail(j, check, fmt.Sprintf("%s: fd_fdstat_get failed: %s %s", check, r.Errno, r.CallsString()))
			continue
		}
		base, inh := *r.RightsBase, *r.RightsInheriting
		var problems []string
		if miss := dirBaseRights &^ base; miss != 0 {
			problems = append(problems, "base lacks "+rightsString(miss))
		}
		if miss := rightsAccess &^ inh; miss != 0 {
			problems = append(problems, "inheriting lacks "+rightsString(miss))
		}
		other := dirInheritingRights &^ rightsAccess &^ inh
		switch {
		case check == checkDirRO:
			if len(problems) > 0 || other != 0 {
				j.Notes = append(j.Notes, fmt.Sprintf("%s: the read-only preopen reports base %s, inheriting %s", check, accessString(base), accessString(inh)))
			}
		case len(problems) > 0:
			j = worseFail(j, check, fmt.Sprintf("%s: %s; wasi-libc masks what it asks with these rights, so open() and mkdir() break", check, strings.Join(problems, "; ")))
		case other != 0:
			j.Notes = append(j.Notes, fmt.Sprintf("%s: inheriting lacks %s (wasmtime's path_open_preopen list)", check, rightsString(other)))
		}
	}
	return j
}
