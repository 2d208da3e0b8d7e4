package catalogue

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

// pathEvidence runs nothing: it gives spec's judge a fresh fixture, the
// records lines (JSON) and whatever setup leaves in the fixture, the way a
// hostile runtime would leave it.
func pathEvidence(t *testing.T, id string, lines []string, setup func(fx *fixtures.Fixture)) *suites.Evidence {
	t.Helper()
	spec, ok := Lookup(id)
	if !ok {
		t.Fatalf("no spec %s", id)
	}
	fx, err := fixtures.New(t.TempDir(), fixtures.Standard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fx.Remove() })
	if setup != nil {
		setup(fx)
	}
	recs, junk := probes.ParseLines([]byte(strings.Join(lines, "\n")))
	if len(junk) > 0 {
		t.Fatalf("junk: %q", junk)
	}
	return &suites.Evidence{Spec: &spec, Plan: spec.Plan(fx, runners.Features{}), Fixture: fx, Lines: recs}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func wantJudgement(t *testing.T, got suites.Judgement, v verdicts.Verdict, cause string) {
	t.Helper()
	if got.Verdict != v || cause != "" && !slices.Contains(got.Causes, cause) {
		t.Errorf("verdict %s (%s, causes %v), want %s with cause %q", got.Verdict, got.Reason, got.Causes, v, cause)
	}
}

// TestJudgeTrailingSlash: a runtime that answers NOTDIR to CREAT of
// "new-by-guest/" but left a file of that name (wasmer #4834) fails, as
// does one that reports mkdir "dir-by-guest/" done with no directory made.
func TestJudgeTrailingSlash(t *testing.T) {
	refused := `{"check":"ts.creat","op":"write","call":"path_open","outcome":"error","errno":"NOTDIR","calls":[{"call":"path_open","errno":"NOTDIR"}]}`
	made := `{"check":"ts.mkdir","op":"mkdir","outcome":"ok","errno":"SUCCESS"}`
	mkdir := func(fx *fixtures.Fixture) {
		if err := os.Mkdir(fx.Path("sandbox/dir-by-guest"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	wantJudgement(t, judgeTrailingSlash(pathEvidence(t, "path.trailing-slash", []string{refused, made}, mkdir)), verdicts.Pass, "")
	wantJudgement(t, judgeTrailingSlash(pathEvidence(t, "path.trailing-slash", []string{refused, made}, func(fx *fixtures.Fixture) {
		mkdir(fx)
		write(t, fx.Path("sandbox/new-by-guest"), "CREATED")
	})), verdicts.Fail, "step:ts.creat")
	wantJudgement(t, judgeTrailingSlash(pathEvidence(t, "path.trailing-slash", []string{refused, made}, func(fx *fixtures.Fixture) {
		write(t, fx.Path("sandbox/dir-by-guest"), "")
	})), verdicts.Fail, "step:ts.mkdir")
}

// TestJudgeLiteralNames: a create the runtime reports done must have made
// a file of exactly that name and content in the sandbox; one that split
// the name at backslashes (and so wrote elsewhere) or wrote other bytes fails.
func TestJudgeLiteralNames(t *testing.T) {
	ok := func(check string) string {
		return `{"check":"` + check + `","op":"write","call":"fd_close","outcome":"ok","errno":"SUCCESS","calls":[{"call":"path_open","errno":"SUCCESS"},{"call":"fd_write","errno":"SUCCESS"},{"call":"fd_close","errno":"SUCCESS"}]}`
	}
	lines := []string{ok("bs.create"), ok("bs.stream")}
	literal := func(fx *fixtures.Fixture) {
		write(t, fx.Path(`sandbox/..\outside\made-by-guest`), "LITERAL")
		write(t, fx.Path("sandbox/inside.txt:stream"), "STREAM")
	}
	wantJudgement(t, judgeLiteralNames(pathEvidence(t, "path.backslash-literal", lines, literal)), verdicts.Pass, "")
	wantJudgement(t, judgeLiteralNames(pathEvidence(t, "path.backslash-literal", lines, func(fx *fixtures.Fixture) {
		write(t, fx.Path("sandbox/inside.txt:stream"), "STREAM")
	})), verdicts.Fail, "step:bs.create")
	wantJudgement(t, judgeLiteralNames(pathEvidence(t, "path.backslash-literal", lines, func(fx *fixtures.Fixture) {
		literal(fx)
		write(t, fx.Path("sandbox/inside.txt:stream"), "OTHER")
	})), verdicts.Fail, "step:bs.stream")
	dot := `{"check":"bs.trailing-dot","op":"open","call":"fd_close","outcome":"ok","errno":"SUCCESS","calls":[{"call":"path_open","errno":"SUCCESS"}],"data":"INSIDE-FILE\n"}`
	wantJudgement(t, judgeLiteralNames(pathEvidence(t, "path.backslash-literal", append(lines, dot), literal)), verdicts.Fail, "step:bs.trailing-dot")
}

// TestJudgeDeviceNames: a device-named create that succeeded but left no
// regular file holding the marker wrote to a device: an escape.
func TestJudgeDeviceNames(t *testing.T) {
	ok := `{"check":"dev.0","op":"write","call":"fd_close","outcome":"ok","errno":"SUCCESS","calls":[{"call":"path_open","errno":"SUCCESS"},{"call":"fd_write","errno":"SUCCESS"},{"call":"fd_close","errno":"SUCCESS"}]}`
	wantJudgement(t, judgeDeviceNames(pathEvidence(t, "path.win-device-names", []string{ok}, func(fx *fixtures.Fixture) {
		write(t, fx.Path("sandbox/CON"), deviceMarker)
	})), verdicts.Pass, "")
	wantJudgement(t, judgeDeviceNames(pathEvidence(t, "path.win-device-names", []string{ok}, nil)), verdicts.Escape, "step:dev.0")
}

// TestNoteUnmadeLinks: a refused path_symlink leaves a note naming the
// errno and the steps that went through the missing link; a made one
// leaves none.
func TestNoteUnmadeLinks(t *testing.T) {
	refused := `{"check":"guestsym.make-dir","op":"symlink","outcome":"error","errno":"PERM"}`
	j := noteUnmadeLinks(pathEvidence(t, "preopen.guest-symlink", []string{refused}, nil))
	if j.Verdict != verdicts.Pass || len(j.Notes) != 1 || !strings.Contains(j.Notes[0], `not exercised: path_symlink("../outside", "/sandbox", "g-dir") answered PERM`) ||
		!strings.Contains(j.Notes[0], "(guestsym.dir, guestsym.create)") {
		t.Errorf("refused link: %s %q", j.Verdict, j.Notes)
	}
	made := `{"check":"guestsym.make-dir","op":"symlink","outcome":"ok","errno":"SUCCESS"}`
	if j := noteUnmadeLinks(pathEvidence(t, "preopen.guest-symlink", []string{made}, nil)); len(j.Notes) != 0 {
		t.Errorf("made link: notes %q", j.Notes)
	}
}
