package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wasicert/wasicert/compare"
	"github.com/wasicert/wasicert/reports/htmlreport"
)

// TestReportBadInput: every mistake with report gets one line and exit 2,
// and leaves no file behind.
func TestReportBadInput(t *testing.T) {
	dir := t.TempDir()
	newer := filepath.Join(dir, "newer.records.jsonl")
	// A record of a future format, with a field this wasicert does not know.
	writeFile(t, newer, 0o644, `{"format":2,"spec":"env.exact","verdict":"pass","digest":"sha256:00","placement":"x","env":{}}`+"\n")
	empty := filepath.Join(dir, "empty.records.jsonl")
	writeFile(t, empty, 0o644, "")
	emptyDir := t.TempDir()
	good := filepath.Join(t.TempDir(), "good.records.jsonl")
	writeFile(t, good, 0o644, sampleRecord(t))
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no records", []string{"report", "--html", filepath.Join(dir, "r.html")}, "report: no records given"},
		{"no output", []string{"report", good}, "--html FILE"},
		{"unwritable file", []string{"report", "--html", "/proc/wasicert/r.html", good}, "cannot write reports to /proc/wasicert"},
		{"output is a directory", []string{"report", "--html", dir, good}, "is a directory"},
		{"newer format", []string{"report", "--html", filepath.Join(dir, "r.html"), newer}, "record format 2 is newer than this wasicert's (1)"},
		{"empty records file", []string{"report", "--html", filepath.Join(dir, "r.html"), empty}, "holds no records"},
		{"directory without records", []string{"report", "--html", filepath.Join(dir, "r.html"), emptyDir}, "no records.jsonl under"},
		{"missing records", []string{"report", "--html", filepath.Join(dir, "r.html"), "/nonexistent/records.jsonl"}, "no such file"},
		{"unknown flag", []string{"report", "--pdf", "x"}, "flag provided but not defined: -pdf"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			r := wasicertEnv(t, []string{"TMPDIR=" + tmp}, c.args...)
			assertEmptyDir(t, tmp)
			if r.code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", r.code, exitUsage, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "wasicert: ") || !strings.Contains(lines[0], c.want) {
				t.Errorf("stderr %q: want one line starting 'wasicert: ' containing %q", r.stderr, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "r.html")); err == nil {
		t.Error("a refused report left r.html behind")
	}
}

// sampleRecord is one real record: env.exact on embedded wazero.
func sampleRecord(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "records.jsonl")
	if r := wasicert(t, "run", "--runtime", "wazero", "--records", p, "--focus", `^env\.exact$`); r.code != exitPass {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// passColour is the background of a pass cell (page.html.tmpl, .v-pass).
var passColour = color.NRGBA{0x8f, 0xd1, 0x9e, 0xff}

// TestReportHTMLInChromium renders real records of two runtimes and loads
// the page in headless Chromium: the matrix is visible (boxes, computed
// styles, pass-coloured pixels in the screenshot inside the matrix's box),
// selecting area=env through DOM events leaves exactly the env specs (and
// a shorter page with fewer pass-coloured lines), clicking "only rows with
// a failure" leaves exactly the specs some runtime failed, and the page
// fetched nothing. Three controls show the checks can fail: the same page
// with the matrix hidden by CSS, painted over (visible to the DOM, not in
// the pixels), and with its filter script broken.
// Screenshots are kept under out/report-html/.
func TestReportHTMLInChromium(t *testing.T) {
	exe := chromium(t)
	start := time.Now()
	a, b := runRecords(t, "wazero"), runRecords(t, "wazero-confined")
	dir := t.TempDir()
	pagePath := filepath.Join(dir, "report.html")
	if r := wasicert(t, "report", "--html", pagePath, a, b); r.code != exitPass {
		t.Fatalf("report: exit %d: %s", r.code, r.stderr)
	}
	t.Logf("records and page: %v", time.Since(start).Round(time.Millisecond))
	html, err := os.ReadFile(pagePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, external := range []string{"<link", " src=", "url(", "@import", "@font-face"} {
		if bytes.Contains(html, []byte(external)) {
			t.Errorf("the page has %q: it must load nothing", external)
		}
	}

	// What the page must show, from the records themselves.
	sets, err := compare.Load([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	all, env, failing, preopenFailing := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, s := range sets {
		for id, r := range s.Records {
			all[id] = true
			if r.Area == "env" {
				env[id] = true
			}
			if htmlreport.Failing(r.Verdict) {
				failing[id] = true
				if r.Area == "preopen" {
					preopenFailing[id] = true
				}
			}
		}
	}
	if len(env) == 0 || len(env) == len(all) || len(failing) == 0 || len(failing) == len(all) {
		t.Fatalf("the records cannot test the filters: %d specs, %d env, %d failing", len(all), len(env), len(failing))
	}

	artifacts := artifactDir(t)
	ctx := browser(t, exe)
	t0 := time.Now()

	// The page as written.
	st, shot, err := load(ctx, "file://"+pagePath, filepath.Join(artifacts, "report.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := matrixVisible(st, shot, len(all)); err != nil {
		t.Fatalf("matrix not visible: %v", err)
	}
	before := mustMeasure(t, shot, st)
	t.Logf("unfiltered: %d rows visible, screenshot %d px high, %d pass-coloured lines in the matrix", st.Visible, before.Height, before.PassLines)
	if st.Resources != 0 {
		t.Errorf("the page fetched %d resources; it must fetch none", st.Resources)
	}
	if st.Columns != len(sets) {
		t.Errorf("%d runtime columns, want %d", st.Columns, len(sets))
	}

	// Select area=env, as a user would: the value, then the change event.
	st, shot, err = filter(ctx, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("f-area"), "env"),
		dispatchChange("f-area"),
	), filepath.Join(artifacts, "report-env.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := filtered(st, shot, before, len(env), "env"); err != nil {
		t.Fatalf("filter area=env: %v", err)
	}
	t.Logf("area=env: %d rows visible (%v)", st.Visible, st.Shown)

	// Back to every area, then a real click on "only rows with a failure".
	st, shot, err = filter(ctx, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("f-area"), ""),
		dispatchChange("f-area"),
		chromedp.Click(chromedp.ID("f-failing")),
	), filepath.Join(artifacts, "report-failing.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := filtered(st, shot, before, len(failing), ""); err != nil {
		t.Fatalf("filter only failing: %v", err)
	}

	// A link that chooses the filters.
	st, shot, err = load(ctx, "file://"+pagePath+"#area=preopen&failing", filepath.Join(artifacts, "report-link.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := filtered(st, shot, before, len(preopenFailing), "preopen"); err != nil {
		t.Fatalf("filters from the link #area=preopen&failing: %v", err)
	}
	t.Logf("chromium: 2 loads, 3 filters, 4 screenshots: %v; screenshots in %s", time.Since(t0).Round(time.Millisecond), artifacts)

	// Control 1: the matrix hidden by CSS. Both the DOM and the pixel
	// checks must refuse it.
	hidden := filepath.Join(dir, "hidden.html")
	writeFile(t, hidden, 0o644, strings.Replace(string(html), "</style>", "#matrix { visibility: hidden; }\n</style>", 1))
	st, shot, err = load(ctx, "file://"+hidden, filepath.Join(artifacts, "control-hidden.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := matrixVisible(st, shot, len(all)); err == nil {
		t.Error("control: the check passed a page whose matrix is hidden")
	} else {
		t.Logf("control (matrix hidden by CSS) refused: %v", err)
	}

	// Control 2: the matrix painted over. The DOM calls every row visible;
	// only the screenshot's pixels can tell.
	covered := filepath.Join(dir, "covered.html")
	writeFile(t, covered, 0o644, strings.Replace(string(html), "</style>",
		"body { position: relative; } body::after { content: \"\"; position: absolute; inset: 0; background: #fff; }\n</style>", 1))
	st, shot, err = load(ctx, "file://"+covered, filepath.Join(artifacts, "control-covered.png"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Visible != len(all) {
		t.Errorf("control: the DOM shows %d of %d rows of the covered page, want all: the control tests the pixels", st.Visible, len(all))
	}
	if err := matrixVisible(st, shot, len(all)); err == nil || !strings.Contains(err.Error(), "screenshot") {
		t.Errorf("control: the pixel check passed a page whose matrix is painted over (%v)", err)
	} else {
		t.Logf("control (matrix painted over) refused: %v", err)
	}

	// Control 3: the filter script broken (its change listener gone).
	broken := filepath.Join(dir, "broken.html")
	page := strings.Replace(string(html), `form.addEventListener("change", apply);`, "", 1)
	page = strings.Replace(page, `form.addEventListener("input", apply);`, "", 1)
	if page == string(html) {
		t.Fatal("control: the filter script's listeners were not found in the page")
	}
	writeFile(t, broken, 0o644, page)
	st, shot, err = load(ctx, "file://"+broken, filepath.Join(artifacts, "control-broken.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := matrixVisible(st, shot, len(all)); err != nil {
		t.Fatalf("control: the broken-filter page should still show its matrix: %v", err)
	}
	before = mustMeasure(t, shot, st)
	st, shot, err = filter(ctx, chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("f-area"), "env"),
		dispatchChange("f-area"),
	), filepath.Join(artifacts, "control-broken-env.png"))
	if err != nil {
		t.Fatal(err)
	}
	if err := filtered(st, shot, before, len(env), "env"); err == nil {
		t.Error("control: the filter check passed a page whose filter does nothing")
	} else {
		t.Logf("control (filter script broken) refused: %v", err)
	}
}

// chromium finds the browser, or skips the test saying how to install it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed: `make chromium` (apt-get install chromium) installs it; `make test` does so first")
	return ""
}

// artifactDir is out/report-html at the repository's root, where the
// screenshots stay after the test.
func artifactDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("..", "..", "out", "report-html"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// browser starts headless Chromium for the test, bounded in time. Root
// needs --no-sandbox; the pages are the test's own local files.
func browser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.WindowSize(1400, 900),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1400, 900)); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	return ctx
}

// dispatchChange fires the change event a user's choice fires.
func dispatchChange(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`document.getElementById(%q).dispatchEvent(new Event("change", {bubbles: true})); undefined`, id))
}

type rect struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// domState is what the browser reports of the page's layout.
type domState struct {
	// Rows: spec rows in the matrix; Visible: those with a box, not
	// display:none, visibility:hidden or transparent (themselves or an
	// ancestor), and a visible verdict cell.
	Rows    int `json:"rows"`
	Visible int `json:"visible"`
	Columns int `json:"columns"`
	// Areas of the visible rows, distinct.
	Areas []string `json:"areas"`
	// Shown is the filter's own count text.
	Shown  string `json:"shown"`
	Matrix rect   `json:"matrix"`
	// Width of the document, to scale the screenshot's pixels.
	Width float64 `json:"width"`
	// Resources the page fetched (performance entries).
	Resources int `json:"resources"`
}

const stateJS = `(function () {
  function seen(e) {
    var r = e.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) return false;
    if (getComputedStyle(e).visibility !== "visible") return false;
    for (var n = e; n && n.nodeType === 1; n = n.parentElement) {
      var s = getComputedStyle(n);
      if (s.display === "none" || parseFloat(s.opacity) === 0) return false;
    }
    return true;
  }
  var rows = document.querySelectorAll("#matrix tr.spec"), visible = 0, areas = [];
  for (var i = 0; i < rows.length; i++) {
    var cell = rows[i].querySelector("td.cell");
    if (seen(rows[i]) && cell && seen(cell)) {
      visible++;
      if (areas.indexOf(rows[i].dataset.area) < 0) areas.push(rows[i].dataset.area);
    }
  }
  var m = document.getElementById("matrix"), r = m ? m.getBoundingClientRect() : {left: 0, top: 0, width: 0, height: 0};
  var shown = document.getElementById("shown");
  return {
    rows: rows.length, visible: visible, areas: areas,
    columns: document.querySelectorAll("#matrix thead th.col").length,
    shown: shown ? shown.textContent : "",
    matrix: {x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height},
    width: document.documentElement.scrollWidth,
    resources: performance.getEntriesByType("resource").length
  };
})()`

// load navigates to url and returns the page's state and a full-page
// screenshot, kept at shotPath.
func load(ctx context.Context, url, shotPath string) (domState, []byte, error) {
	// about:blank first: a URL that differs from the current one only in
	// its fragment would not load the page again.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank"), chromedp.Navigate(url), chromedp.WaitReady(chromedp.ID("filters"))); err != nil {
		return domState{}, nil, fmt.Errorf("load %s: %w", url, err)
	}
	return snapshot(ctx, shotPath)
}

// filter returns the state and screenshot after err's actions ran.
func filter(ctx context.Context, err error, shotPath string) (domState, []byte, error) {
	if err != nil {
		return domState{}, nil, fmt.Errorf("apply the filter: %w", err)
	}
	return snapshot(ctx, shotPath)
}

func snapshot(ctx context.Context, shotPath string) (domState, []byte, error) {
	st, err := chromedp.Run(ctx, chromedp.Evaluate[domState](stateJS))
	if err != nil {
		return st, nil, fmt.Errorf("read the layout: %w", err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return st, nil, fmt.Errorf("screenshot: %w", err)
	}
	return st, shot, os.WriteFile(shotPath, shot, 0o644)
}

// pixels is what a screenshot shows: its height and, inside the matrix's
// box, how many pixel lines hold a run of pass colour.
type pixels struct {
	Height, PassLines int
}

func measure(shot []byte, st domState) (pixels, error) {
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		return pixels{}, fmt.Errorf("screenshot is not a PNG: %w", err)
	}
	bounds := img.Bounds()
	scale := 1.0
	if st.Width > 0 {
		scale = float64(bounds.Dx()) / st.Width
	}
	box := image.Rect(int(st.Matrix.X*scale), int(st.Matrix.Y*scale),
		int((st.Matrix.X+st.Matrix.W)*scale), int((st.Matrix.Y+st.Matrix.H)*scale)).Intersect(bounds)
	p := pixels{Height: bounds.Dy()}
	for y := box.Min.Y; y < box.Max.Y; y++ {
		run := 0
		for x := box.Min.X; x < box.Max.X; x++ {
			if color.NRGBAModel.Convert(img.At(x, y)) == passColour {
				run++
			}
		}
		if run >= 20 {
			p.PassLines++
		}
	}
	return p, nil
}

func mustMeasure(t *testing.T, shot []byte, st domState) pixels {
	t.Helper()
	p, err := measure(shot, st)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// matrixVisible checks the page shows its matrix: every spec row visible
// in the DOM, and pass-coloured cells in the screenshot's pixels inside
// the matrix's box.
func matrixVisible(st domState, shot []byte, wantRows int) error {
	if st.Rows != wantRows {
		return fmt.Errorf("%d spec rows in the page, want %d", st.Rows, wantRows)
	}
	if st.Matrix.W < 100 || st.Matrix.H < 100 {
		return fmt.Errorf("the matrix's box is %.0fx%.0f", st.Matrix.W, st.Matrix.H)
	}
	if st.Visible != wantRows {
		return fmt.Errorf("%d of %d spec rows visible", st.Visible, wantRows)
	}
	px, err := measure(shot, st)
	if err != nil {
		return err
	}
	// Every row is at least a line of text high; most cells pass.
	if px.PassLines < wantRows*5 {
		return fmt.Errorf("the screenshot shows %d pixel lines of pass colour in the matrix's box, want at least %d (5 per row)", px.PassLines, wantRows*5)
	}
	return nil
}

// filtered checks a filter's effect: exactly want rows visible (all of
// area, when set), the count text says so, and the screenshot is shorter
// with fewer pass-coloured lines than before, yet still some.
func filtered(st domState, shot []byte, was pixels, want int, area string) error {
	if st.Visible != want {
		return fmt.Errorf("%d spec rows visible, want %d", st.Visible, want)
	}
	if area != "" && !slices.Equal(st.Areas, []string{area}) {
		return fmt.Errorf("visible rows of areas %v, want only %s", st.Areas, area)
	}
	if wantText := fmt.Sprintf("%d of %d specs shown", want, st.Rows); st.Shown != wantText {
		return fmt.Errorf("the page says %q, want %q", st.Shown, wantText)
	}
	now, err := measure(shot, st)
	if err != nil {
		return err
	}
	if now.Height >= was.Height {
		return fmt.Errorf("the screenshot is %d pixels high, not shorter than the unfiltered %d", now.Height, was.Height)
	}
	if now.PassLines == 0 || now.PassLines >= was.PassLines {
		return fmt.Errorf("the screenshot shows %d lines of pass colour, want some and fewer than the unfiltered page's %d", now.PassLines, was.PassLines)
	}
	return nil
}
