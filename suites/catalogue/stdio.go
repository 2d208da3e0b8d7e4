package catalogue

// Stdio: fds 0, 1 and 2 are streams, not preopens; renumbering and closing them.

import (
	"fmt"
	"os"
	"strings"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

const refFdWriteInvalid = refPreview1 + "#fd_write"

func stdioSpecs() []suites.Spec {
	return []suites.Spec{
		{
			ID: "stdio.present", Area: suites.AreaStdio, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "fds 0, 1 and 2 answer fd_fdstat_get as streams (not directories) and fd_prestat_get with BADF; fd_seek on stdout answers SPIPE or BADF (success is noted); fd_write to an fd nobody opened answers BADF.",
			Ref:  refAppABI, Refs: []string{refPrestat, refPreview1 + "#fd_seek", refFdWriteInvalid},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Steps: []suites.Step{step(probes.OpStdio, "stdio", suites.Custom)}}
			},
			Judge: judgeStdioPresent,
		},
		{
			ID: "stdio.renumber-close", Area: suites.AreaStdio, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "fd_renumber(0..2, n+100) to unopened numbers answers BADF; after fd_close(1), fd_write(1) answers BADF, and a file the guest opens next holds only what the guest wrote, never the runtime's own output.",
			Ref:  refFdRenumber, Refs: []string{refFdClose, refRenumberTS},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Steps: []suites.Step{
					step(probes.OpStdioRenumber, "renumber", suites.Custom),
					step(probes.OpCloseStdout, "close", suites.Custom, guestSandbox)}}
			},
			Judge: judgeStdioRenumberClose,
		},
	}
}

func judgeStdioPresent(ev *suites.Evidence) suites.Judgement {
	s := subsOf(ev, "stdio", ev.Lines)
	stat := s.all("fdstat")
	if len(stat) != 3 {
		s.fail(verdicts.Fail, s.cause("fdstat"), "%d fdstat records for fds 0..2, want 3", len(stat))
	}
	var tty []string
	for _, l := range stat {
		switch {
		case !l.OK():
			s.fail(verdicts.Fail, s.cause("fdstat"), "fd_fdstat_get(%d) answered %s: stdio must be open", deref(l.FD), l.Errno)
		case l.Data == "directory":
			s.fail(verdicts.Fail, s.cause("fdstat"), "fd %d is a directory, want a stream", deref(l.FD))
		default:
			s.j.Notes = append(s.j.Notes, fmt.Sprintf("stdio: fd %d is %s", deref(l.FD), l.Data))
		}
		if l.Count != nil && *l.Count == 1 {
			tty = append(tty, fmt.Sprint(deref(l.FD)))
		}
	}
	if len(tty) > 0 {
		s.note("isatty would say yes for fd(s) %s (a host fingerprint)", strings.Join(tty, ", "))
	}
	for _, l := range s.all("prestat") {
		if l.OK() {
			s.fail(verdicts.Fail, s.cause("prestat"), "fd_prestat_get(%d) succeeded: stdio is announced as a preopen", deref(l.FD))
		} else if l.Errno != "BADF" {
			s.note("fd_prestat_get(%d) answered %s, not BADF", deref(l.FD), l.Errno)
		}
	}
	if l, ok := s.get("seek-stdout"); !ok {
		s.fail(verdicts.Fail, s.cause("seek-stdout"), "no record")
	} else if l.OK() {
		s.note("fd_seek(1) succeeded: stdout is seekable here (a regular file)")
	} else if l.Errno != "SPIPE" && l.Errno != "BADF" {
		s.note("fd_seek(1) answered %s, not SPIPE or BADF", l.Errno)
	}
	s.strictly("write-invalid", "BADF")
	s.works("write-stdout")
	return s.j
}

// afterClose is what the guest writes to the file it opens after closing
// stdout: the file must hold exactly that.
const afterClose = "GUEST-WROTE\n"

func judgeStdioRenumberClose(ev *suites.Evidence) suites.Judgement {
	s := subsOf(ev, "renumber", ev.Lines)
	for _, op := range []string{"stdin-to-unopened", "stdout-to-unopened", "stderr-to-unopened"} {
		s.refused(op, verdicts.Fail, "stdio was moved to a number nobody opened", "BADF")
	}
	// close-stdout printed its records on stderr.
	errLines, _ := probes.ParseLines(ev.Result.Stderr)
	c := subsOf(ev, "close", errLines)
	c.j = s.j
	if c.works("close") {
		c.refused("write-closed", verdicts.Fail, "fd 1 still writes after fd_close(1)", "BADF")
	}
	if strings.Contains(string(ev.Result.Stdout), "AFTER-CLOSE") {
		c.fail(verdicts.Fail, "stdout:after-close", "a write to the closed fd 1 reached the host's stdout")
	}
	if c.control("open-after") && c.control("write-file") {
		if l, _ := c.get("open-after"); l.Count != nil && *l.Count == 1 {
			c.note("the file opened after fd_close(1) got fd 1")
		}
		b, err := os.ReadFile(ev.Fixture.Path("sandbox/after-close.txt"))
		switch {
		case err != nil:
			c.fail(verdicts.Fail, "file:sandbox/after-close.txt", "the file the guest wrote is not on the host: %v", err)
		case string(b) != afterClose:
			c.fail(verdicts.Fail, "file:sandbox/after-close.txt", "the file the guest opened after closing stdout holds %q, want only %q: the runtime's own output landed in it", probes.Truncate(string(b), 80), afterClose)
		}
	}
	return c.j
}
