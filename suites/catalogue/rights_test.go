package catalogue

import (
	"strconv"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

// TestRightsJudges feeds the rights judges the records of hostile and of
// well-behaved runtimes: each violation must be caught on its own, with the
// verdict its severity gives.
func TestRightsJudges(t *testing.T) {
	fx, err := fixtures.New(t.TempDir(), fixtures.Standard)
	if err != nil {
		t.Fatal(err)
	}
	defer fx.Remove()
	plan := rightsPlan(fx, runners.Features{runners.FeatureReadOnlyPreopen})
	line := func(check, act, actErrno string, base uint64) string {
		calls := `[{"call":"path_open","errno":"SUCCESS"},{"call":"fd_fdstat_get","errno":"SUCCESS"},{"call":"` + act + `","errno":"` + actErrno + `"},{"call":"fd_close","errno":"SUCCESS"}]`
		outcome, errno, call := "ok", "SUCCESS", "fd_close"
		if actErrno != "SUCCESS" {
			outcome, errno, call = "error", actErrno, act
		}
		return `{"check":"` + check + `","op":"open-rights","call":"` + call + `","outcome":"` + outcome + `","errno":"` + errno + `","calls":` + calls +
			`,"dir_inheriting":` + strconv.FormatUint(rightsAccess, 10) + `,"rights_base":` + strconv.FormatUint(base, 10) + `,"rights_inheriting":0}`
	}
	refused := `{"check":"rights.ro-ask-write","op":"open-rights","call":"path_open","outcome":"error","errno":"PERM","calls":[{"call":"path_open","errno":"PERM"}],"dir_inheriting":2}`
	good := map[string]string{
		checkReadOnly:   line(checkReadOnly, "fd_write", "BADF", rightFdRead),
		checkWriteOnly:  line(checkWriteOnly, "fd_read", "BADF", rightFdWrite),
		checkROReadOnly: line(checkROReadOnly, "fd_write", "BADF", rightFdRead),
		checkROAskRW:    refused,
	}
	for _, c := range []struct {
		name           string
		change         map[string]string
		access, report verdicts.Verdict
		reason         string
	}{
		{"well-behaved", nil, verdicts.Pass, verdicts.Pass, ""},
		{"read-only fd writes in the sandbox", map[string]string{checkReadOnly: line(checkReadOnly, "fd_write", "SUCCESS", rightFdRead)}, verdicts.Fail, verdicts.Pass, "rights.read-only"},
		{"write-only fd reads", map[string]string{checkWriteOnly: line(checkWriteOnly, "fd_read", "SUCCESS", rightFdWrite)}, verdicts.Fail, verdicts.Pass, "rights.write-only"},
		{"read-only fd writes the read-only preopen", map[string]string{checkROReadOnly: line(checkROReadOnly, "fd_write", "SUCCESS", rightFdRead)}, verdicts.Escape, verdicts.Pass, "rights.ro-read-only"},
		{"read-only preopen grants write", map[string]string{checkROAskRW: line(checkROAskRW, "fd_write", "SUCCESS", rightsAccess)}, verdicts.Escape, verdicts.Pass, "rights.ro-ask-write"},
		{"read-only preopen narrows", map[string]string{checkROAskRW: line(checkROAskRW, "fd_write", "BADF", rightFdRead)}, verdicts.Pass, verdicts.Pass, ""},
		{"read-only fd reports FD_WRITE", map[string]string{checkReadOnly: line(checkReadOnly, "fd_write", "BADF", rightsAccess)}, verdicts.Pass, verdicts.Fail, "rights.read-only"},
		{"control refused", map[string]string{checkReadOnly: `{"check":"rights.read-only","op":"open-rights","call":"path_open","outcome":"error","errno":"NOENT","calls":[{"call":"path_open","errno":"NOENT"}]}`}, verdicts.Fail, verdicts.Fail, "control"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var lines []string
			for _, st := range plan.Steps {
				l := good[st.Check]
				if v, ok := c.change[st.Check]; ok {
					l = v
				}
				lines = append(lines, l)
			}
			recs, junk := probes.ParseLines([]byte(strings.Join(lines, "\n")))
			if len(junk) > 0 {
				t.Fatalf("junk: %q", junk)
			}
			ev := &suites.Evidence{Plan: plan, Lines: recs}
			for _, j := range []struct {
				judge func(*suites.Evidence) suites.Judgement
				want  verdicts.Verdict
			}{{judgeFdAccess, c.access}, {judgeRightsReported, c.report}} {
				got := j.judge(ev)
				if got.Verdict != j.want || j.want != verdicts.Pass && !strings.Contains(got.Reason, c.reason) {
					t.Errorf("verdict %s (%s), want %s naming %q", got.Verdict, got.Reason, j.want, c.reason)
				}
			}
		})
	}
}
