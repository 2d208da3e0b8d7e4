package catalogue

// fd management: renumber onto and over preopens and stdio, closing a preopen and reusing its number, and the fd namespace (nothing the runtime did not announce).

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

const (
	refFdClose    = refPreview1 + "#fd_close"
	refFdRenumber = refPreview1 + "#fd_renumber"
	refFdSync     = refPreview1 + "#fd_sync"
	refWASI522    = "https://github.com/WebAssembly/WASI/issues/522"
	refGHSAfm79   = "https://github.com/bytecodealliance/wasmtime/security/advisories/GHSA-fm79-3f68-h2fc"
	refCVE53901   = "https://nvd.nist.gov/vuln/detail/CVE-2025-53901"
	refGHSA3p27   = "https://github.com/bytecodealliance/wasmtime/security/advisories/GHSA-3p27-qvp9-27qf"
	refWASIfds    = "https://github.com/WebAssembly/WASI/issues/10"
	refRenumberTS = "https://github.com/WebAssembly/wasi-testsuite/blob/main/tests/rust/src/bin/renumber.rs"
	// guestSandbox2 is a second preopen of the sandbox, for renumber-over.
	guestSandbox2 = "/sandbox2"
)

func fdSpecs() []suites.Spec {
	return []suites.Spec{
		{
			ID: "fd.close-preopen", Area: suites.AreaFD, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "fd_close on a preopen succeeds; the number then answers BADF to fd_fdstat_get and fd_prestat_get, a directory fd derived from it still works, and a file that later gets the number is a file, not the preopen back.",
			Ref:  refAppABI, Refs: []string{refFdClose, refWASI522},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Steps: []suites.Step{
					step(probes.OpClosePreopen, "close", suites.Custom, guestSandbox)}}
			},
			Judge: judgeClosePreopen,
		},
		{
			ID: "fd.renumber-over-preopen", Area: suites.AreaFD, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "fd_renumber moves a directory fd over a preopen and a preopen over an open fd: the target then names the source's directory and the source answers BADF.",
			Ref:  refFdRenumber, Refs: []string{refRenumberTS, "https://github.com/WasmEdge/WasmEdge/issues/2292"},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				p := sandboxOnly(fx)
				p = append(p, runners.Preopen{GuestPath: guestSandbox2, HostDir: fx.Path("sandbox")})
				return suites.Plan{Probe: "fs", Preopens: p, Steps: []suites.Step{
					step(probes.OpRenumberOver, "over", suites.Custom, guestSandbox, guestSandbox2)}}
			},
			Judge: judgeRenumberOver,
		},
		{
			ID: "fd.renumber-edge", Area: suites.AreaFD, Severity: suites.SeverityDoS, Level: suites.MUST,
			Rule: "fd_renumber(f, f) is a no-op success; a target or source nobody opened (127, 2^31, 2^32-1) and stdout to an unopened 101 answer BADF; nothing crashes the host.",
			Ref:  refGHSAfm79, Refs: []string{refCVE53901, refFdRenumber, refRenumberTS},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Steps: []suites.Step{
					step(probes.OpRenumberEdge, "edge", suites.Custom, guestSandbox)}}
			},
			Judge: judgeRenumberEdge,
		},
		{
			ID: "fd.renumber-onto-stdio", Area: suites.AreaFD, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "fd_renumber of a file onto fd 0 and of fd 2 onto a file either is refused or moves the fd: the target then reads the file (writes reach the host's stderr) and the source answers BADF.",
			Ref:  refFdRenumber, Refs: []string{refGHSA3p27},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Steps: []suites.Step{
					step(probes.OpRenumberStdio, "stdio", suites.Custom, guestSandbox)}}
			},
			Judge: judgeRenumberStdio,
		},
		{
			ID: "fd.namespace-scan", Area: suites.AreaFD, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "Guest fds are a private namespace: of fds 0..1023, 2^31-1, 2^31 and 2^32-1 only stdio, the granted preopens and the guest's own fds answer, even while the runtime's process holds other host fds.",
			Ref:  refWASIfds, Refs: []string{refPreview1 + "#fd_fdstat_get"},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Actors: []suites.Actor{&HostFDs{}},
					Steps: []suites.Step{step(probes.OpScan, "scan", suites.Custom, guestSandbox)}}
			},
			Judge: judgeScan,
		},
		{
			ID: "fd.sync", Area: suites.AreaFD, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "fd_sync and fd_datasync succeed on a writable file; on a read-only file, a directory or stdout they succeed or refuse (BADF, INVAL, ISDIR, NOTSUP, NOTCAPABLE, PERM, ACCES); an fd nobody opened answers BADF.",
			Ref:  refFdSync, Refs: []string{refPreview1 + "#fd_datasync", "https://github.com/WebAssembly/wasi-testsuite/blob/main/tests/rust/src/bin/dir_fd_op_failures.rs"},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Steps: []suites.Step{
					step(probes.OpSync, "sync", suites.Custom, guestSandbox)}}
			},
			Judge: judgeSync,
		},
	}
}

// sub is what a scenario op printed: its records by sub-case (Line.Op).
type sub struct {
	ev    *suites.Evidence
	check string
	lines []probes.Line
	j     suites.Judgement
}

func subsOf(ev *suites.Evidence, check string, lines []probes.Line) *sub {
	s := &sub{ev: ev, check: check, j: suites.Pass()}
	for _, l := range lines {
		if l.Check == check {
			s.lines = append(s.lines, l)
		}
	}
	return s
}

func (s *sub) get(op string) (probes.Line, bool) {
	for _, l := range s.lines {
		if l.Op == op {
			return l, true
		}
	}
	return probes.Line{}, false
}

func (s *sub) all(op string) []probes.Line {
	var out []probes.Line
	for _, l := range s.lines {
		if l.Op == op {
			out = append(out, l)
		}
	}
	return out
}

func (s *sub) fail(v verdicts.Verdict, cause, format string, args ...any) {
	s.j = suites.Worse(s.j, suites.Judgement{Verdict: v, Reason: s.check + ": " + fmt.Sprintf(format, args...), Causes: []string{cause}})
}

func (s *sub) note(format string, args ...any) {
	s.j.Notes = append(s.j.Notes, s.check+": "+fmt.Sprintf(format, args...))
}

func (s *sub) cause(op string) string { return "step:" + s.check + "/" + op }

// control requires op to have succeeded: without it the rest proves nothing.
func (s *sub) control(op string) bool {
	l, ok := s.get(op)
	if !ok || !l.OK() {
		s.fail(verdicts.Fail, "control:"+s.check+"/"+op, "control %s %s, so the rest was not exercised", op, answered(l, ok))
		return false
	}
	return true
}

// works requires op to have succeeded, as the rule's own check.
func (s *sub) works(op string) bool {
	l, ok := s.get(op)
	if !ok || !l.OK() {
		s.fail(verdicts.Fail, s.cause(op), "%s %s, want success", op, answered(l, ok))
		return false
	}
	return true
}

// refused requires op to have failed; an errno outside want is a note.
func (s *sub) refused(op string, v verdicts.Verdict, why string, want ...string) {
	l, ok := s.get(op)
	switch {
	case !ok:
		s.fail(verdicts.Fail, s.cause(op), "%s printed no record", op)
	case l.OK():
		s.fail(v, s.cause(op), "%s succeeded: %s", op, why)
	case len(want) > 0 && !slices.Contains(want, l.Errno):
		s.note("%s answered %s, not %s", op, l.Errno, strings.Join(want, " or "))
	}
}

// strictly requires op's errno to be one of want.
func (s *sub) strictly(op string, want ...string) {
	l, ok := s.get(op)
	switch {
	case !ok:
		s.fail(verdicts.Fail, s.cause(op), "%s printed no record", op)
	case !slices.Contains(want, l.Errno):
		s.fail(verdicts.Fail, s.cause(op), "%s answered %s, want %s", op, l.Errno, strings.Join(want, " or "))
	}
}

// data requires op to have succeeded and returned want.
func (s *sub) data(op, want, what string) {
	if !s.works(op) {
		return
	}
	if l, _ := s.get(op); l.Data != want {
		s.fail(verdicts.Fail, s.cause(op), "%s returned %q, want %q (%s)", op, probes.Truncate(l.Data, 60), want, what)
	}
}

func answered(l probes.Line, ok bool) string {
	if !ok {
		return "printed no record"
	}
	return "answered " + l.Errno
}

const (
	insideContent = "INSIDE-FILE\n"
	nestedContent = "NESTED-FILE\n"
)

func judgeClosePreopen(ev *suites.Evidence) suites.Judgement {
	s := subsOf(ev, "close", ev.Lines)
	if !s.control("open-derived") {
		return s.j
	}
	if s.works("close") {
		s.refused("fdstat-closed", verdicts.Fail, "the closed preopen still answers", "BADF")
		s.refused("prestat-closed", verdicts.Fail, "the closed preopen is still announced", "BADF")
		if _, ok := s.get("path-via-closed"); ok {
			s.refused("path-via-closed", verdicts.Fail, "the closed preopen's number still opens files")
		}
	}
	s.data("use-derived", insideContent, "a directory fd opened from the preopen must outlive it")
	if !s.control("reopen") {
		return s.j
	}
	if l, _ := s.get("reopen"); l.Count != nil && *l.Count == 1 {
		s.note("the new file got the closed preopen's number")
	}
	s.refused("prestat-reused", verdicts.Fail, "the new file is announced as a preopen", "BADF")
	if l, ok := s.get("fdstat-reused"); ok && l.OK() && l.Data != "regular_file" {
		s.fail(verdicts.Fail, s.cause("fdstat-reused"), "the new file's fd reports filetype %s, want regular_file", l.Data)
	}
	s.refused("path-via-reused", verdicts.Fail, "a file's fd opened a path: the preopen's authority came back with its number")
	return s.j
}

func judgeRenumberOver(ev *suites.Evidence) suites.Judgement {
	s := subsOf(ev, "over", ev.Lines)
	if s.control("open-sub") && s.works("onto-preopen") {
		s.refused("onto-source-closed", verdicts.Fail, "the source of a renumber is still open", "BADF")
		s.data("onto-target-is-sub", nestedContent, "the preopen's number must now name the directory moved onto it")
	}
	if s.control("open-file") && s.works("preopen-away") {
		s.refused("away-source-closed", verdicts.Fail, "the preopen renumbered away is still open", "BADF")
		s.data("away-target-is-dir", insideContent, "the target must now name the preopen's directory")
	}
	if l, ok := s.get("to-unopened"); ok {
		s.note("fd_renumber(preopen, 50) with 50 unopened answered %s", l.Errno)
	}
	return s.j
}

func judgeRenumberEdge(ev *suites.Evidence) suites.Judgement {
	s := subsOf(ev, "edge", ev.Lines)
	if !s.control("open-file") {
		return s.j
	}
	s.works("self")
	s.works("self-still-open")
	s.refused("to-unopened", verdicts.Fail, "renumbering to a number nobody opened must answer BADF (POSIX dup2 semantics are not WASI's)", "BADF")
	s.refused("to-max", verdicts.Fail, "fd 2^32-1 was never opened", "BADF", "NOMEM")
	s.refused("from-max", verdicts.Fail, "fd 2^32-1 was never opened", "BADF")
	s.refused("from-big", verdicts.Fail, "fd 2^31 was never opened", "BADF")
	s.refused("stdout-to-unopened", verdicts.Fail, "stdout was moved to a number nobody opened", "BADF")
	s.works("still-usable")
	return s.j
}

func judgeRenumberStdio(ev *suites.Evidence) suites.Judgement {
	s := subsOf(ev, "stdio", ev.Lines)
	if s.control("open-file") {
		if l, _ := s.get("file-onto-stdin"); l.OK() {
			s.refused("file-source-closed", verdicts.Fail, "the file renumbered onto fd 0 is still open under its old number", "BADF")
			s.data("stdin-reads-file", insideContent, "fd 0 must now read the file")
		} else {
			s.note("fd_renumber(file, 0) refused with %s", l.Errno)
		}
	}
	if !s.control("open-target") {
		return s.j
	}
	l, _ := s.get("stderr-onto-file")
	if !l.OK() {
		s.note("fd_renumber(2, file) refused with %s", l.Errno)
		return s.j
	}
	s.refused("stderr-source-closed", verdicts.Fail, "fd 2 still writes after it was renumbered away", "BADF")
	if s.works("moved-stderr-writes") && !strings.Contains(string(ev.Result.Stderr), "MOVED-STDERR-MARKER") {
		s.fail(verdicts.Fail, "stderr:moved-marker", "the write to stderr's new number did not reach the host's stderr")
	}
	if b, err := os.ReadFile(ev.Fixture.Path("sandbox/stderr-target.txt")); err == nil && len(b) > 0 {
		s.fail(verdicts.Fail, "file:sandbox/stderr-target.txt", "the file stderr was renumbered over holds %q: writes to stderr landed in the replaced file", probes.Truncate(string(b), 60))
	}
	return s.j
}

// judgeScan: anything but stdio, the granted preopens and the guest's own
// fd that answers is a host fd or an unannounced object: an escape. Fd
// values are never compared (WasmEdge randomises them), only classes.
func judgeScan(ev *suites.Evidence) suites.Judgement {
	s := subsOf(ev, "scan", ev.Lines)
	sum, ok := s.get("summary")
	if !ok {
		s.fail(verdicts.Fail, s.cause("summary"), "the scan did not finish (no summary record)")
	}
	s.control("own")
	var unknown []string
	preopens, own := 0, false
	for _, l := range s.all("answer") {
		switch l.Call {
		case "unknown":
			unknown = append(unknown, fmt.Sprintf("fd %d (%s)", deref(l.FD), l.Data))
		case "preopen":
			preopens++
		case "own":
			own = true
		}
	}
	if ok && !own {
		s.fail(verdicts.Fail, "control:scan/own", "the guest's own fd did not answer fd_fdstat_get: the scan proves nothing")
	}
	if len(unknown) > 0 {
		s.fail(verdicts.Escape, s.cause("unknown"), "%d fd(s) nobody granted answer: %s", len(unknown), strings.Join(unknown, ", "))
	}
	for _, l := range s.all("read") {
		if l.OK() && l.Data != "" {
			s.note("fd %d read %q", deref(l.FD), probes.Truncate(l.Data, 40))
		}
	}
	if granted := len(ev.Plan.Preopens) + len(ev.Implicit); preopens > granted {
		s.fail(verdicts.Escape, s.cause("preopen"), "%d fds answer fd_prestat_get, but %d directories were granted", preopens, granted)
	}
	if ok && sum.Count != nil {
		s.note("%d of %d fds answered", *sum.Count, deref(sum.Size))
	}
	return s.j
}

func deref(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

// syncAccepted are the answers fd_sync and fd_datasync may give on an fd
// that cannot or need not be synced (RATIONALE.md, fd management).
var syncAccepted = []string{"SUCCESS", "BADF", "INVAL", "ISDIR", "NOTSUP", "NOTCAPABLE", "PERM", "ACCES"}

func judgeSync(ev *suites.Evidence) suites.Judgement {
	s := subsOf(ev, "sync", ev.Lines)
	if s.control("open-writable") {
		s.works("sync-writable")
		s.works("datasync-writable")
	}
	for _, what := range []string{"readonly", "dir"} {
		if _, ok := s.get("open-" + what); ok && s.control("open-"+what) {
			s.strictly("sync-"+what, syncAccepted...)
			s.strictly("datasync-"+what, syncAccepted...)
		}
	}
	for _, what := range []string{"preopen", "stdout"} {
		s.strictly("sync-"+what, syncAccepted...)
		s.strictly("datasync-"+what, syncAccepted...)
	}
	s.strictly("sync-invalid", "BADF")
	s.strictly("datasync-invalid", "BADF")
	for _, l := range s.lines {
		if strings.HasPrefix(l.Op, "sync-") || strings.HasPrefix(l.Op, "datasync-") {
			s.j.Notes = append(s.j.Notes, fmt.Sprintf("%s=%s", l.Op, l.Errno))
		}
	}
	return s.j
}

// HostFDs makes the runtime's process hold host fds the guest was never
// granted while it runs: the fixture's outside canary file, opened without
// close-on-exec in the harness's own process, so an embedded runtime holds it
// and a runtime started as a child inherits it. A runtime that lets guest fd
// numbers reach host fds then shows the canary on stdout. The fds are closed
// when the run returns.
type HostFDs struct {
	// Held are the host fd numbers held during the run.
	Held []int
}

// Act opens the files and wraps run with their closing.
func (h *HostFDs) Act(st *suites.Stage, run suites.RunFunc) (suites.RunFunc, error) {
	paths := []string{st.Fixture.Path("outside/secret.txt"), st.Fixture.Path("outside")}
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		h.Held = nil
		for _, p := range paths {
			// No O_CLOEXEC: children started during the run inherit it.
			fd, err := syscall.Open(p, syscall.O_RDONLY, 0)
			if err != nil {
				return runners.Result{}, fmt.Errorf("fd.namespace-scan: open %s on the host: %w", p, err)
			}
			h.Held = append(h.Held, fd)
		}
		defer func() {
			for _, fd := range h.Held {
				_ = syscall.Close(fd)
			}
		}()
		return run(ctx, inv)
	}, nil
}
