package catalogue

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

const (
	refFdstat = refPreview1 + "#fd_fdstat_get"
	// refLibcFcntl is where wasi-libc turns an fd's rights into the access
	// mode fcntl(F_GETFL) reports.
	refLibcFcntl = "https://github.com/WebAssembly/wasi-libc/blob/main/libc-bottom-half/cloudlibc/src/libc/fcntl/fcntl.c"
)

// Preview-1 rights (typenames.witx), the bits these specs look at.
const (
	rightFdRead  uint64 = 1 << 1
	rightFdWrite uint64 = 1 << 6
	// rightsAccess are the rights that say what an fd may do with the data.
	rightsAccess = rightFdRead | rightFdWrite
)

// rightNames are the preview-1 rights by bit, for reasons and notes.
var rightNames = []string{
	"FD_DATASYNC", "FD_READ", "FD_SEEK", "FD_FDSTAT_SET_FLAGS", "FD_SYNC", "FD_TELL", "FD_WRITE",
	"FD_ADVISE", "FD_ALLOCATE", "PATH_CREATE_DIRECTORY", "PATH_CREATE_FILE", "PATH_LINK_SOURCE",
	"PATH_LINK_TARGET", "PATH_OPEN", "FD_READDIR", "PATH_READLINK", "PATH_RENAME_SOURCE",
	"PATH_RENAME_TARGET", "PATH_FILESTAT_GET", "PATH_FILESTAT_SET_SIZE", "PATH_FILESTAT_SET_TIMES",
	"FD_FILESTAT_GET", "FD_FILESTAT_SET_SIZE", "FD_FILESTAT_SET_TIMES", "PATH_SYMLINK",
	"PATH_REMOVE_DIRECTORY", "PATH_UNLINK_FILE", "POLL_FD_READWRITE", "SOCK_SHUTDOWN", "SOCK_ACCEPT",
}

// rightsString names the rights in r ("FD_READ|FD_WRITE", "none").
func rightsString(r uint64) string {
	var out []string
	for r != 0 {
		b := bits.TrailingZeros64(r)
		r &^= 1 << b
		if b < len(rightNames) {
			out = append(out, rightNames[b])
		} else {
			out = append(out, fmt.Sprintf("bit%d", b))
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, "|")
}

// accessRights maps an open-rights access argument to the rights it asks for.
var accessRights = map[string]uint64{"r": rightFdRead, "w": rightFdWrite, "rw": rightsAccess}

// rightsStep opens path with exactly access and then tries act (read|write).
func rightsStep(check, dir, path, access, act string) suites.Step {
	return suites.Step{Op: probes.OpOpenRights, Check: check, Args: []string{dir, path, access, act}, Expect: suites.Custom}
}

// The checks of the rights plan.
const (
	checkReadOnly   = "rights.read-only"    // sandbox file, FD_READ alone, then fd_write
	checkWriteOnly  = "rights.write-only"   // sandbox file, FD_WRITE alone, then fd_read
	checkROReadOnly = "rights.ro-read-only" // read-only preopen, FD_READ alone, then fd_write
	checkROAskRW    = "rights.ro-ask-write" // read-only preopen, FD_READ|FD_WRITE, then fd_write
)

// rightsPlan opens a sandbox file once with FD_READ alone and once with
// FD_WRITE alone, trying the other access each time, and, where the runtime
// has read-only preopens, opens a file of the read-only preopen with FD_READ
// alone and then asks it for FD_READ|FD_WRITE, trying to write each time.
// Both rights specs judge the same run.
func rightsPlan(fx *fixtures.Fixture, f runners.Features) suites.Plan {
	steps := []suites.Step{
		rightsStep(checkReadOnly, guestSandbox, "inside.txt", "r", "write"),
		rightsStep(checkWriteOnly, guestSandbox, "inside.txt", "w", "read"),
	}
	if f.Has(runners.FeatureReadOnlyPreopen) {
		steps = append(steps,
			rightsStep(checkROReadOnly, guestRO, "victim.txt", "r", "write"),
			rightsStep(checkROAskRW, guestRO, "victim.txt", "rw", "write"))
	}
	return suites.Plan{Probe: "fs", Preopens: sandboxAndRO(fx, f), Steps: steps}
}

func rightsSpecs() []suites.Spec {
	return append([]suites.Spec{
		{
			ID: "rights.fd-access", Area: suites.AreaRights, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "An fd opened with FD_READ alone cannot write and one opened with FD_WRITE alone cannot read; asking a read-only preopen for FD_WRITE is refused or yields an fd that cannot write.",
			Ref:  refPathOpen, Plan: rightsPlan, Judge: judgeFdAccess,
		},
		{
			ID: "rights.reported", Area: suites.AreaRights, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "fd_fdstat_get reports no access right (FD_READ, FD_WRITE) that path_open was not asked for or that the directory's fs_rights_inheriting does not hand out.",
			Ref:  refFdstat, Plan: rightsPlan, Judge: judgeRightsReported,
		},
	}, rightsDerivedSpecs()...)
}

// rightsRecord is one open-rights step's record, with the answer of its
// path_open and of its fd_read or fd_write (act).
type rightsRecord struct {
	probes.Line
	open, act probes.CallAnswer
	hasAct    bool
}

// rightsRecords returns the plan's open-rights records by check. A missing
// record, or a sandbox control whose path_open failed, is a failure: a
// runtime that refuses what it was granted proves nothing.
func rightsRecords(ev *suites.Evidence) (map[string]rightsRecord, *suites.Judgement) {
	out := map[string]rightsRecord{}
	for _, st := range ev.Plan.Steps {
		r, ok := ev.Line(st.Check)
		if !ok || len(r.Calls) == 0 || r.Calls[0].Call != "path_open" {
			return nil, &suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("probe printed no open-rights record with calls for %s (%s)", st.Check, st.String())}
		}
		rr := rightsRecord{Line: r, open: r.Calls[0]}
		act := map[string]string{"read": "fd_read", "write": "fd_write"}[st.Args[3]]
		for _, c := range r.Calls[1:] {
			if c.Call == act {
				rr.act, rr.hasAct = c, true
			}
		}
		if st.Check != checkROAskRW && !r.Reached() {
			return nil, &suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("control %s: %s failed with %s: the runtime refuses what it was granted, so its refusals prove nothing", st.Check, st.String(), rr.open.Errno)}
		}
		if r.Reached() && act != "" && !rr.hasAct {
			return nil, &suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("%s: the record lists no %s after path_open succeeded", st.Check, act)}
		}
		out[st.Check] = rr
	}
	return out, nil
}

// fdAccessErrnos are the answers that refuse a call the fd has no right
// for: BADF (POSIX, wasmtime, wazero; wasi-testsuite's path_open_read_write)
// and NOTCAPABLE (the rights model; uvwasi).
var fdAccessErrnos = []string{"BADF", "NOTCAPABLE"}

// judgeFdAccess: the rights an fd was opened with limit what it does.
// Writing into the read-only preopen, through an fd asked for FD_READ alone
// or one the read-only preopen should not have granted FD_WRITE, is an
// escape: the guest changes what it was only allowed to read. Writing
// through a read-only fd of the writable sandbox, or reading through a
// write-only one, is a failure: a right nobody asked for, but within what
// was granted.
func judgeFdAccess(ev *suites.Evidence) suites.Judgement {
	recs, bad := rightsRecords(ev)
	if bad != nil {
		return *bad
	}
	j := suites.Pass()
	note := func(check string, c probes.CallAnswer, what string) {
		if !slices.Contains(fdAccessErrnos, c.Errno) {
			j.Notes = append(j.Notes, fmt.Sprintf("%s: %s on an fd %s answered %s, outside {%s}", check, c.Call, what, c.Errno, strings.Join(fdAccessErrnos, ", ")))
		}
	}
	if rr, ok := recs[checkROReadOnly]; ok {
		if rr.act.OK() {
			return suites.Judgement{Verdict: verdicts.Escape, Reason: fmt.Sprintf("%s: fd_write succeeded on an fd of the read-only preopen opened with FD_READ alone (%s)", checkROReadOnly, describeRights(rr.Line)), Notes: j.Notes}
		}
		note(checkROReadOnly, rr.act, "of the read-only preopen opened with FD_READ alone")
	}
	if rr, ok := recs[checkROAskRW]; ok {
		switch {
		case !rr.Reached() && !slices.Contains(readOnlyErrnos, rr.open.Errno):
			j.Notes = append(j.Notes, fmt.Sprintf("%s: path_open of the read-only preopen with FD_WRITE answered %s, outside {%s}", checkROAskRW, rr.open.Errno, strings.Join(readOnlyErrnos, ", ")))
		case rr.Reached() && rr.act.OK():
			return suites.Judgement{Verdict: verdicts.Escape, Reason: fmt.Sprintf("%s: the read-only preopen granted FD_WRITE and fd_write succeeded (%s)", checkROAskRW, describeRights(rr.Line)), Notes: j.Notes}
		case rr.Reached():
			j.Notes = append(j.Notes, fmt.Sprintf("%s: path_open of the read-only preopen with FD_WRITE succeeded, narrowed: fd_write answered %s", checkROAskRW, rr.act.Errno))
			note(checkROAskRW, rr.act, "the read-only preopen opened")
		}
	}
	ro := recs[checkReadOnly]
	if ro.act.OK() {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("%s: fd_write succeeded on an fd opened with FD_READ alone (%s)", checkReadOnly, describeRights(ro.Line)), Notes: j.Notes}
	}
	note(checkReadOnly, ro.act, "opened with FD_READ alone")
	wo := recs[checkWriteOnly]
	if wo.act.OK() {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("%s: fd_read succeeded on an fd opened with FD_WRITE alone (%s)", checkWriteOnly, describeRights(wo.Line)), Notes: j.Notes}
	}
	note(checkWriteOnly, wo.act, "opened with FD_WRITE alone")
	return j
}

// judgeRightsReported: the access rights fd_fdstat_get reports are the ones
// the fd holds: at most those asked for, and at most those the directory
// hands out. wasi-libc's fcntl(F_GETFL) derives O_RDONLY/O_WRONLY/O_RDWR
// from exactly these bits. Other rights reported beyond the asked ones are
// a note: preview-1 runtimes that do not implement rights (wazero, wasmtime)
// report a fixed set, and those rights are not what keeps data in.
func judgeRightsReported(ev *suites.Evidence) suites.Judgement {
	recs, bad := rightsRecords(ev)
	if bad != nil {
		return *bad
	}
	j := suites.Pass()
	for _, st := range ev.Plan.Steps {
		rr := recs[st.Check]
		if !rr.Reached() {
			continue
		}
		asked := accessRights[st.Args[2]]
		if rr.RightsBase == nil {
			return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("%s: fd_fdstat_get on the new fd failed: %s", st.Check, callsString(rr.Calls))}
		}
		base := *rr.RightsBase
		if extra := base & rightsAccess &^ asked; extra != 0 {
			return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("%s: the fd asked for %s reports %s too (%s); wasi-libc's fcntl(F_GETFL) reads these bits", st.Check, rightsString(asked), rightsString(extra), describeRights(rr.Line)), Notes: j.Notes}
		}
		if rr.DirInheriting != nil {
			if beyond := base & rightsAccess &^ *rr.DirInheriting; beyond != 0 {
				return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("%s: the new fd holds %s, which the directory's fs_rights_inheriting does not hand out (%s)", st.Check, rightsString(beyond), describeRights(rr.Line)), Notes: j.Notes}
			}
		}
		if extra := base &^ rightsAccess &^ asked; extra != 0 {
			j.Notes = append(j.Notes, fmt.Sprintf("%s: the fd asked for %s also reports %d right(s) not asked for", st.Check, rightsString(asked), bits.OnesCount64(extra)))
		}
	}
	return j
}

// describeRights renders an open-rights record's rights for a reason line:
// the access rights by name, the others as a count.
func describeRights(r probes.Line) string {
	var parts []string
	if r.DirInheriting != nil {
		parts = append(parts, "directory inheriting "+accessString(*r.DirInheriting))
	}
	if r.RightsBase != nil {
		parts = append(parts, "fd base "+accessString(*r.RightsBase))
	}
	parts = append(parts, "calls "+callsString(r.Calls))
	return strings.Join(parts, "; ")
}

// accessString names the access rights in r and counts the others.
func accessString(r uint64) string {
	s := rightsString(r & rightsAccess)
	if n := bits.OnesCount64(r &^ rightsAccess); n > 0 {
		s += fmt.Sprintf(" +%d other(s)", n)
	}
	return s
}

func callsString(calls []probes.CallAnswer) string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Call+"="+c.Errno)
	}
	return strings.Join(out, ", ")
}
