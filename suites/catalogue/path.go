package catalogue

// Path traversal: trailing slashes, . and .. mixes, empty, NUL-bearing and
// very long paths, a file used as a directory, backslashes, and the
// Windows-only names (skipped elsewhere). The plain "..", nested "..",
// transient "../sandbox/x" and absolute paths are preopen.* specs.

import (
	"fmt"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

// References of the path specs.
const (
	refTestsuitePaths   = "https://github.com/WebAssembly/wasi-testsuite/blob/main/tests/rust/wasm32-wasip1/src/bin/interesting_paths.rs"
	refTestsuiteNotDir  = "https://github.com/WebAssembly/wasi-testsuite/blob/main/tests/rust/wasm32-wasip1/src/bin/path_open_dirfd_not_dir.rs"
	refWasmerTrailing   = "https://github.com/wasmerio/wasmer/issues/4834"
	refWasmtimeTrailing = "https://github.com/bytecodealliance/wasmtime/issues/14359"
	refWasmtimeKernel   = "https://github.com/bytecodealliance/wasmtime/issues/14380"
	refTrailingGHSA     = "https://github.com/bytecodealliance/wasmtime/security/advisories/GHSA-vqjp-4c8c-hfgg"
	refUvwasiNormalize  = "https://github.com/nodejs/uvwasi/issues/226"
	refDeviceGHSA       = "https://github.com/bytecodealliance/wasmtime/security/advisories/GHSA-c2f5-jxjv-2hh8"
	refCapStdDeviceGHSA = "https://github.com/bytecodealliance/cap-std/security/advisories/GHSA-hxf5-99xg-86hw"
	refCapStdWinPaths   = "https://github.com/bytecodealliance/cap-std/issues/348"
)

// The errnos a path that cannot name anything may get, besides the escape
// errnos: the component or path is too long, the bytes are not a path, or
// nothing has that name.
var (
	trailingErrnos = []string{"NOTDIR", "NOENT", "ISDIR"}
	nulErrnos      = []string{"INVAL", "ILSEQ", "NOENT", "PERM", "NOTCAPABLE"}
	longErrnos     = []string{"PERM", "NOTCAPABLE", "NAMETOOLONG", "NOENT", "INVAL"}
	literalErrnos  = []string{"PERM", "NOTCAPABLE", "NOENT"}
)

func pathSpecs() []suites.Spec {
	return []suites.Spec{
		{
			ID: "path.trailing-slash-escape", Area: suites.AreaPath, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A path that climbs out with .. stays refused with PERM or NOTCAPABLE when it ends in one or more slashes (../outside/, sub/../../outside//), for open, create, mkdir and stat.",
			Ref:  refPathResolution, Refs: []string{refTrailingGHSA, refWasmerTrailing, refWasmtimeTrailing},
			Plan: escapePlan(
				openStep("tsesc.dir", guestSandbox, "../outside/", true, oDirectory, "none", suites.Refuse),
				openStep("tsesc.nested", guestSandbox, "sub/../../outside/", true, oDirectory, "none", suites.Refuse),
				openStep("tsesc.many", guestSandbox, "sub/nested/../../../outside//", true, oDirectory, "none", suites.Refuse),
				openStep("tsesc.file", guestSandbox, "../outside/secret.txt/", true, 0, "r", suites.Refuse),
				openStep("tsesc.sibling", guestSandbox, "../sandbox-evil/", true, oDirectory, "none", suites.Refuse),
				step(probes.OpStat, "tsesc.stat", suites.Refuse, guestSandbox, "../outside/", "follow"),
				step(probes.OpMkdir, "tsesc.mkdir", suites.Refuse, guestSandbox, "../outside/made-by-guest/"),
				writeStep("tsesc.create", guestSandbox, "sub/../../outside/made-by-guest/", oCreat, "ESCAPED", suites.Refuse),
			),
		},
		{
			ID: "path.trailing-slash", Area: suites.AreaPath, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "A trailing slash means a directory: inside.txt/ never opens or stats the file (NOTDIR or NOENT), CREAT of new/ creates no file, while sub/nested/ opens and mkdir d/ makes a directory.",
			Ref:  refPathResolution, Refs: []string{refTestsuitePaths, refWasmerTrailing, refWasmtimeTrailing, refWasmtimeKernel},
			Accept: trailingErrnos,
			Plan: escapePlan(
				openStep("ts.file", guestSandbox, "inside.txt/", true, 0, "r", suites.Refuse),
				openStep("ts.file-many", guestSandbox, "inside.txt///", true, 0, "r", suites.Refuse),
				openStep("ts.file-directory", guestSandbox, "inside.txt/", true, oDirectory, "none", suites.Refuse),
				openStep("ts.file-nofollow", guestSandbox, "inside.txt/", false, 0, "r", suites.Refuse),
				openStep("ts.nested-file", guestSandbox, "sub/nested/file.txt/", true, 0, "r", suites.Refuse),
				step(probes.OpStat, "ts.stat-file", suites.Refuse, guestSandbox, "inside.txt/", "follow"),
				writeStep("ts.creat", guestSandbox, "new-by-guest/", oCreat, "CREATED", suites.Refuse),
				openStep("ts.dir", guestSandbox, "sub/nested/", true, oDirectory, "none", suites.Works),
				openStep("ts.dir-many", guestSandbox, "sub/nested//", true, 0, "none", suites.Works),
				step(probes.OpStat, "ts.stat-dir", suites.Works, guestSandbox, "sub/", "follow"),
				step(probes.OpMkdir, "ts.mkdir", suites.Works, guestSandbox, "dir-by-guest/"),
			),
			Judge: judgeTrailingSlash,
		},
		{
			ID: "path.dot-mixes", Area: suites.AreaPath, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "Paths mixing ., .. and empty components resolve component by component: those that stay inside open the right file, those that climb out anywhere are refused with PERM or NOTCAPABLE.",
			Ref:  refPathResolution, Refs: []string{refTestsuitePaths, refUvwasiNormalize},
			Plan: escapePlan(
				openStep("dots.inside-up", guestSandbox, "sub/./../inside.txt", true, 0, "r", suites.Works),
				openStep("dots.inside-double", guestSandbox, "sub//nested/../../inside.txt", true, 0, "r", suites.Works),
				openStep("dots.inside-dot", guestSandbox, "./inside.txt", true, 0, "r", suites.Works),
				openStep("dots.inside-dots", guestSandbox, ".//./inside.txt", true, 0, "r", suites.Works),
				openStep("dots.inside-nested", guestSandbox, "sub/nested/././/file.txt", true, 0, "r", suites.Works),
				openStep("dots.escape-dot", guestSandbox, "sub/./../../outside/secret.txt", true, 0, "r", suites.Refuse),
				openStep("dots.escape-leading", guestSandbox, "./../outside/secret.txt", true, 0, "r", suites.Refuse),
				openStep("dots.escape-double", guestSandbox, ".//..//outside/secret.txt", true, 0, "r", suites.Refuse),
				openStep("dots.escape-sibling", guestSandbox, "sub/nested/../../../sandbox-evil/secret.txt", true, 0, "r", suites.Refuse),
				openStep("dots.escape-dir", guestSandbox, "sub/.././..", true, oDirectory, "none", suites.Refuse),
				step(probes.OpStat, "dots.escape-stat", suites.Refuse, guestSandbox, "./sub/../../outside/.", "follow"),
				step(probes.OpMkdir, "dots.escape-mkdir", suites.Refuse, guestSandbox, "./sub/./../../outside/made-by-guest"),
			),
			Judge: judgeContents(map[string]string{
				"dots.inside-up": "INSIDE-FILE\n", "dots.inside-double": "INSIDE-FILE\n", "dots.inside-dot": "INSIDE-FILE\n",
				"dots.inside-dots": "INSIDE-FILE\n", "dots.inside-nested": "NESTED-FILE\n",
			}),
		},
		{
			ID: "path.empty", Area: suites.AreaPath, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "The empty path names nothing: path_open, create, mkdir and stat of \"\" fail with NOENT and never open the directory itself.",
			Ref:  refTestsuitePaths, Accept: []string{"NOENT"},
			Plan: escapePlan(
				openStep("empty.open", guestSandbox, "", true, 0, "r", suites.Refuse),
				openStep("empty.dir", guestSandbox, "", true, oDirectory, "none", suites.Refuse),
				openStep("empty.nofollow", guestSandbox, "", false, oDirectory, "none", suites.Refuse),
				writeStep("empty.creat", guestSandbox, "", oCreat, "CREATED", suites.Refuse),
				step(probes.OpMkdir, "empty.mkdir", suites.Refuse, guestSandbox, ""),
				step(probes.OpStat, "empty.stat", suites.Refuse, guestSandbox, "", "follow"),
			),
		},
		{
			ID: "path.nul-byte", Area: suites.AreaPath, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A path holding a NUL byte is refused (INVAL, ILSEQ or NOENT) and never cut short at it: ..\\0 would name the parent, so it must never open anything outside, and inside.txt\\0x must not open inside.txt.",
			Ref:  refPathOpen, Refs: []string{refTestsuitePaths},
			Accept: nulErrnos,
			Plan: escapePlan(
				bytesStep("nul.dotdot", `..\x00`, oDirectory, "none", suites.Refuse),
				bytesStep("nul.dotdot-file", `..\x00/outside/secret.txt`, 0, "r", suites.Refuse),
				bytesStep("nul.nested", `sub/../..\x00/x`, oDirectory, "none", suites.Refuse),
				bytesStep("nul.end", `inside.txt\x00`, 0, "r", suites.Custom),
				bytesStep("nul.tail", `inside.txt\x00../../outside/secret.txt`, 0, "r", suites.Custom),
				bytesStep("nul.dir", `sub\x00/nested/file.txt`, 0, "r", suites.Custom),
				bytesStep("nul.control", `sub/nested/file.txt`, 0, "r", suites.Succeed),
			),
			Judge: judgeNotOpened("a path holding a NUL byte", map[string]string{"nul.end": "inside.txt", "nul.tail": "inside.txt", "nul.dir": "sub"}),
		},
		{
			ID: "path.long", Area: suites.AreaPath, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "Very long names and paths (a 256-byte component, 4 KiB to 70 KiB paths) fail cleanly (NAMETOOLONG, NOENT, INVAL) without a crash, and a long (sub/..)* prefix never carries a .. out of the preopen.",
			Ref:  refPathResolution, Refs: []string{refTestsuitePaths},
			Accept: longErrnos,
			Plan: escapePlan(
				step(probes.OpMkdir, "long.name-255", suites.Works, guestSandbox, strings.Repeat("a", 255)),
				openStep("long.open-255", guestSandbox, strings.Repeat("a", 255), true, oDirectory, "none", suites.Works),
				step(probes.OpMkdir, "long.name-256", suites.Custom, guestSandbox, strings.Repeat("b", 256)),
				openStep("long.open-4096", guestSandbox, strings.Repeat("c", 4096), true, 0, "r", suites.Custom),
				repeatStep("long.deep", "", "x/", 2100, "inside.txt", suites.Custom),
				repeatStep("long.inside", "", "sub/../", 500, "inside.txt", suites.Custom),
				repeatStep("long.escape-short", "", "sub/../", 100, "../outside/secret.txt", suites.Refuse),
				repeatStep("long.escape", "", "sub/../", 700, "../outside/secret.txt", suites.Refuse),
				repeatStep("long.escape-huge", "", "sub/../", 10000, "../outside/secret.txt", suites.Refuse),
				repeatStep("long.escape-missing", "", "a/../", 1000, "../outside/secret.txt", suites.Refuse),
				repeatStep("long.escape-dots", "sub/nested", "/.", 3000, "/../../../outside/secret.txt", suites.Refuse),
			),
			Judge: judgeLong,
		},
		{
			ID: "path.file-as-dir", Area: suites.AreaPath, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "A regular file is not a directory: path_open through a file's fd answers NOTDIR, and a path that passes through a file (inside.txt/../inside.txt) fails with NOTDIR instead of being folded lexically.",
			Ref:  refTestsuiteNotDir, Refs: []string{refTestsuitePaths, refUvwasiNormalize},
			Accept: []string{"NOTDIR"},
			Plan: escapePlan(
				atStep("fad.at", "inside.txt", "x", suites.Refuse),
				atStep("fad.at-dot", "inside.txt", ".", suites.Refuse),
				atStep("fad.at-back", "inside.txt", "../inside.txt", suites.Refuse),
				openStep("fad.through", guestSandbox, "inside.txt/../inside.txt", true, 0, "r", suites.Refuse),
				openStep("fad.through-dir", guestSandbox, "sub/nested/file.txt/..", true, oDirectory, "none", suites.Refuse),
				openStep("fad.through-nested", guestSandbox, "sub/nested/file.txt/../file.txt", true, 0, "r", suites.Refuse),
				step(probes.OpStat, "fad.stat", suites.Refuse, guestSandbox, "inside.txt/.", "follow"),
				atStep("fad.control", "sub", "nested/file.txt", suites.Succeed),
			),
		},
		{
			ID: "path.backslash-literal", Area: suites.AreaPath, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "On a Unix host a backslash, a colon and a trailing dot are ordinary bytes of a name: sub\\..\\..\\outside\\secret.txt is one component that does not exist, and inside.txt:stream creates a file of that name in the preopen.",
			Ref:  refPathResolution, Refs: []string{refCapStdWinPaths},
			Accept: literalErrnos,
			Plan: escapePlan(
				openStep("bs.escape", guestSandbox, `sub\..\..\outside\secret.txt`, true, 0, "r", suites.Refuse),
				openStep("bs.escape-dir", guestSandbox, `..\outside`, true, oDirectory, "none", suites.Refuse),
				openStep("bs.escape-sibling", guestSandbox, `..\sandbox-evil\secret.txt`, true, 0, "r", suites.Refuse),
				openStep("bs.drive", guestSandbox, `C:secret.txt`, true, 0, "r", suites.Refuse),
				openStep("bs.trailing-dot", guestSandbox, "inside.txt.", true, 0, "r", suites.Custom),
				writeStep("bs.create", guestSandbox, `..\outside\made-by-guest`, oCreat, "LITERAL", suites.Custom),
				writeStep("bs.stream", guestSandbox, "inside.txt:stream", oCreat, "STREAM", suites.Custom),
			),
			Judge: judgeLiteralNames,
		},
		{
			ID: "path.win-device-names", Area: suites.AreaPath, Severity: suites.SeverityEscape, Level: suites.MUST, OS: "windows",
			Rule: "On Windows, creating and writing CON, NUL, aux.txt, COM1, LPT1, COM¹, LPT³ or CONIN$ in a preopen fails or makes a regular file there: never a device, and never a write silently swallowed.",
			Ref:  refDeviceGHSA, Refs: []string{refCapStdDeviceGHSA, "https://github.com/bytecodealliance/cap-std/issues/165"},
			Plan: func(fx *fixtures.Fixture, f runners.Features) suites.Plan {
				var steps []suites.Step
				for i, name := range winDeviceNames {
					steps = append(steps, writeStep("dev."+strconv.Itoa(i), guestSandbox, name, oCreat, deviceMarker, suites.Custom))
				}
				return escapePlan(steps...)(fx, f)
			},
			Judge: judgeDeviceNames,
		},
		{
			ID: "path.win-separators", Area: suites.AreaPath, Severity: suites.SeverityEscape, Level: suites.MUST, OS: "windows",
			Rule: "On Windows, backslashes, drive-relative names, alternate data streams and trailing dots never take a path out of its preopen: sub\\..\\..\\outside\\secret.txt and C:secret are refused.",
			Ref:  refPathResolution, Refs: []string{refCapStdWinPaths},
			Accept: literalErrnos,
			Plan: escapePlan(
				openStep("winsep.escape", guestSandbox, `sub\..\..\outside\secret.txt`, true, 0, "r", suites.Refuse),
				openStep("winsep.escape-dir", guestSandbox, `..\outside`, true, oDirectory, "none", suites.Refuse),
				openStep("winsep.mixed", guestSandbox, `sub/..\..\outside/secret.txt`, true, 0, "r", suites.Refuse),
				openStep("winsep.drive", guestSandbox, `C:secret.txt`, true, 0, "r", suites.Refuse),
				openStep("winsep.drive-root", guestSandbox, `C:\`, true, oDirectory, "none", suites.Refuse),
				openStep("winsep.unc", guestSandbox, `\\?\C:\`, true, oDirectory, "none", suites.Refuse),
				writeStep("winsep.create", guestSandbox, `..\outside\made-by-guest`, oCreat, "ESCAPED", suites.Refuse),
				writeStep("winsep.stream", guestSandbox, "inside.txt:stream", oCreat, "STREAM", suites.Tolerate),
				openStep("winsep.trailing-dot", guestSandbox, "inside.txt.", true, 0, "r", suites.Tolerate),
			),
		},
	}
}

// bytesStep opens path in the sandbox through open-bytes: \xHH escapes
// become bytes, NUL included.
func bytesStep(check, path string, oflags int, access string, e suites.Expect) suites.Step {
	return suites.Step{Op: probes.OpOpenBytes, Check: check, Args: []string{guestSandbox, path, "follow", strconv.Itoa(oflags), access}, Expect: e}
}

// repeatStep opens head + count x unit + tail in the sandbox (open-repeat).
func repeatStep(check, head, unit string, count int, tail string, e suites.Expect) suites.Step {
	return suites.Step{Op: probes.OpOpenRepeat, Check: check, Args: []string{guestSandbox, head, unit, strconv.Itoa(count), tail}, Expect: e}
}

// atStep opens file in the sandbox and then sub through the fd it got (open-at).
func atStep(check, file, sub string, e suites.Expect) suites.Step {
	return suites.Step{Op: probes.OpOpenAt, Check: check, Args: []string{guestSandbox, file, sub, "follow"}, Expect: e}
}

// judgeTrailingSlash: CREAT of "new-by-guest/" must not have made a file,
// and mkdir of "dir-by-guest/" must have made a directory (wasmer #4834
// dropped the slash and created a regular file).
func judgeTrailingSlash(ev *suites.Evidence) suites.Judgement {
	if fi, err := os.Lstat(ev.Fixture.Path("sandbox/new-by-guest")); err == nil && !fi.IsDir() {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("ts.creat: CREAT of \"new-by-guest/\" left a %s named new-by-guest in the sandbox: the trailing slash was dropped", fi.Mode().Type()), Causes: []string{"step:ts.creat"}}
	}
	if r, ok := ev.Line("ts.mkdir"); ok && r.OK() {
		if fi, err := os.Lstat(ev.Fixture.Path("sandbox/dir-by-guest")); err != nil || !fi.IsDir() {
			return suites.Judgement{Verdict: verdicts.Fail, Reason: "ts.mkdir: mkdir of \"dir-by-guest/\" succeeded but the host sees no directory sandbox/dir-by-guest", Causes: []string{"step:ts.mkdir"}}
		}
	}
	return suites.Pass()
}

// judgeNotOpened fails the Custom steps of checks that opened what a
// malformed path must not name (what it names if cut short, in names); an
// errno outside the spec's Accept is a note.
func judgeNotOpened(what string, names map[string]string) func(*suites.Evidence) suites.Judgement {
	return func(ev *suites.Evidence) suites.Judgement {
		j := suites.Pass()
		for _, st := range ev.Plan.Steps {
			name, ok := names[st.Check]
			if !ok {
				continue
			}
			for _, r := range ev.LinesFor(st.Check) {
				switch {
				case r.Reached():
					j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("%s: %s reached %s (%s): %s was cut short%s", st.Check, st, name, r.CallsString(), what, dataSuffix(r.Data)), Causes: []string{"step:" + st.Check}})
				case !slices.Contains(ev.Spec.Accept, r.Errno):
					j.Notes = append(j.Notes, fmt.Sprintf("%s: %s answered %s, outside {%s}", st.Check, st, r.Errno, strings.Join(ev.Spec.Accept, ", ")))
				}
			}
		}
		return j
	}
}

// judgeLong: a 256-byte name is never created, and a long path that names
// nothing, or only a file inside, may fail with any errno; a 3.5 KiB path
// that stays inside failing is a note (PATH_MAX is 4096 with the host dir).
func judgeLong(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	if r, ok := ev.Line("long.name-256"); ok {
		switch {
		case r.OK():
			j = suites.Judgement{Verdict: verdicts.Fail, Reason: "long.name-256: mkdir of a 256-byte name succeeded; no Unix file system takes a component over 255 bytes, so the runtime changed the name", Causes: []string{"step:long.name-256"}}
		case r.Errno != "NAMETOOLONG":
			j.Notes = append(j.Notes, "long.name-256: mkdir of a 256-byte name answered "+r.Errno+", want NAMETOOLONG")
		}
	}
	for _, check := range []string{"long.open-4096", "long.deep"} {
		if r, ok := ev.Line(check); ok && r.Reached() {
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: check + ": a path naming nothing that exists was opened (" + r.CallsString() + ")", Causes: []string{"step:" + check}})
		}
	}
	if r, ok := ev.Line("long.inside"); ok {
		switch {
		case r.OK() && r.Data != "INSIDE-FILE\n":
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("long.inside: read %q, want the sandbox's inside.txt", probes.Truncate(r.Data, 80)), Causes: []string{"step:long.inside"}})
		case !r.OK():
			j.Notes = append(j.Notes, "long.inside: a 3510-byte path that stays inside ((sub/..)*500/inside.txt) answered "+r.Errno)
		}
	}
	return j
}

// judgeLiteralNames: on a Unix host the backslash, colon and dot names are
// literal, so what the guest created must be a file of exactly that name in
// the sandbox, and inside.txt. must not open inside.txt. (Where creating it
// failed, that is a note: refusing is not an escape.)
func judgeLiteralNames(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	if goruntime.GOOS == "windows" {
		return j
	}
	if r, ok := ev.Line("bs.trailing-dot"); ok && r.Reached() {
		j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: "bs.trailing-dot: \"inside.txt.\" opened (" + r.CallsString() + ") on a Unix host, where no such file exists" + dataSuffix(r.Data), Causes: []string{"step:bs.trailing-dot"}})
	}
	for check, name := range map[string]string{"bs.create": `..\outside\made-by-guest`, "bs.stream": "inside.txt:stream"} {
		r, ok := ev.Line(check)
		if !ok {
			continue
		}
		if !r.OK() {
			j.Notes = append(j.Notes, fmt.Sprintf("%s: creating the literal name %q answered %s", check, name, r.Errno))
			continue
		}
		b, err := os.ReadFile(ev.Fixture.Path("sandbox/" + name))
		if err != nil {
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("%s: creating %q succeeded but the host finds no file of that name in the sandbox (%v): the name was not taken literally", check, name, err), Causes: []string{"step:" + check}})
		} else if want := ev.Plan.Steps[slices.IndexFunc(ev.Plan.Steps, func(s suites.Step) bool { return s.Check == check })].Args[4]; string(b) != want {
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("%s: sandbox/%s holds %q, want %q", check, name, probes.Truncate(string(b), 40), want), Causes: []string{"step:" + check}})
		}
	}
	return j
}

// Windows device names, with the superscript digits of GHSA-c2f5 (the
// names cap-std once let through).
var winDeviceNames = []string{"CON", "NUL", "aux.txt", "COM1", "LPT1", "COM\u00b9", "LPT\u00b3", "CONIN$"}

const deviceMarker = "DEVICE-NAME-MARKER"

// judgeDeviceNames: each device-named create either failed or made a
// regular file in the sandbox holding the marker; a write that succeeded
// with no such file went to a device.
func judgeDeviceNames(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	for i, name := range winDeviceNames {
		check := "dev." + strconv.Itoa(i)
		r, ok := ev.Line(check)
		if !ok || !r.Reached() {
			continue
		}
		b, err := os.ReadFile(ev.Fixture.Path("sandbox/" + name))
		if err != nil || string(b) != deviceMarker {
			j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Escape, Reason: fmt.Sprintf("%s: creating and writing %q succeeded (%s) but no regular file of that name holds the marker (%v): the write went to a device", check, name, r.CallsString(), err), Causes: []string{"step:" + check}})
		}
	}
	return j
}

// dataSuffix renders returned data for a reason.
func dataSuffix(data string) string {
	if data == "" {
		return ""
	}
	return fmt.Sprintf(", returning %q", probes.Truncate(data, 80))
}
