// Package cli runs any WebAssembly runtime that has a command line, driven by
// a template file that says how to grant each capability on that command
// line. Templates for the wazero CLI, the wasmtime CLI, WasmEdge, the wasmer
// CLI and WAMR's iwasm ship in templates/ (embedded,
// registered as "wazero-cli", "wasmtime-cli", "wasmedge", "wasmer-cli",
// "iwasm"); a user adds another runtime with a template file of their own
// (LoadTemplate, RegisterFile), without code.
//
// A template (YAML):
//
//	name: wazero-cli                  # registry name                     (required)
//	binary: wazero                    # name on PATH, or a path           (required)
//	written_for: "1.12.0"             # version checked against with a real binary (this or written_from)
//	# written_from: "wazero 1.12.0 source, cmd/wazero/wazero.go"   # what it was written from, when not checked
//	version:                          # how to read the version           (required)
//	  args: [version]
//	  regexp: 'v?(\d+\.\d+\.\d+)'     # first group, else the whole match
//	run: [run, "{{preopens}}", "{{env}}", "{{listeners}}", -cachedir, "{{cachedir}}", "{{module}}", "{{args}}"]
//	preopen: [-mount, "{{host}}:{{guest}}"]            # per read-write preopen (required)
//	readonly_preopen: [-mount, "{{host}}:{{guest}}:ro"] # absent: read-only preopens not claimed
//	env: [-env, "{{key}}={{value}}"]                    # per variable  (required)
//	listener: [-listen, "{{addr}}"]                     # absent: preopened sockets not claimed
//	arg: ["{{arg}}"]                                    # per guest argument after argv[0] (required)
//	args_separator: "--"              # put before the guest arguments, only when there are some
//	argv0: [--argv0, "{{arg}}"]       # optional: how to set argv[0]; run must then hold {{argv0}}
//	features: [stdin, sock-imports]   # what else the runtime claims
//	trap:                             # how a trap shows (absent: traps look like exits); one or more of:
//	  stderr: 'failed: wasm error: '  # regexp on the end of stderr (runners.TailSize)
//	  stdout: 'Exception: '           # regexp on the end of stdout (runners.TailSize)
//	  exit_codes: [1]                 # the exit status is one of these
//	start_error:                      # optional: the module never started (link error...)
//	  stderr: 'failed to instantiate' # -> Run returns an error
//	  exit_codes: [1]
//
// Placeholders: in run, {{module}}, {{cachedir}} and {{workdir}} inside any
// element, and {{preopens}}, {{env}}, {{listeners}}, {{args}}, {{argv0}} as
// whole elements (each expands to its piece, repeated); in preopen pieces
// {{host}} and {{guest}}; in env {{key}} and {{value}}; in listener {{addr}};
// in arg and argv0 {{arg}}. Anything else is an error, as is a missing
// required field, an unknown field, or a run line that drops what the
// invocation grants (no {{module}}, {{args}}, {{env}} or {{preopens}}). Each
// error is one line: "<file>: <field>: <problem>".
//
// A trap or start_error matcher takes stderr, stdout and exit_codes, at least
// one of them, and matches when every one given holds; exit_codes alone (no
// text) is for a runtime whose exit status by itself tells the ending. The
// run's Detail (or Run's error) is the line of the last match, else "exit
// status N". An exit status of 0 is never a trap or a start error (and 0 may
// not be listed). The guest writes stdout and stderr too, so text alone can be
// faked: a guest that prints the trap text and exits non-zero looks like a
// trap. Give exit_codes wherever the runtime documents the status it exits
// with (its sources count); then only a guest that also exits with that
// status can fake it.
//
// written_for names the runtime version the template was checked against
// with a real binary; when it was not, written_from names what it was
// written from (e.g. "WAMR 2.4.0 source, product-mini/platforms/posix/main.c").
// A template gives exactly one of the two.
//
// The runtime is $WASICERT_BIN_<NAME> (name upper-cased, "-" as "_") when
// set, else the template's binary as wasicert finds any tool, the working
// directory playing no part: <tools>/bin in $WASICERT_TOOLS_DIR, next to
// wasicert, <tools>/bin in the XDG cache and the repository, then PATH (see
// README.md, "Where wasicert finds runtimes"). Absent: "not installed";
// there but not executable or printing no version: "unusable: <why>".
// Every run goes through internal/process: own process group, harness environment, bounded output,
// timeout kills the group, a signal is a crash.
package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/wasicert/wasicert/runners"
)

// Template is a parsed, validated runtime template.
type Template struct {
	// Source names where the template came from (a file path or
	// "runners/cli/templates/x.yaml"), for messages.
	Source string

	Name        string
	Description string
	Binary      string
	WrittenFor  string // the version checked against with a real binary, or ""
	WrittenFrom string // what the template was written from, when WrittenFor is ""
	VersionArgs []string
	VersionRE   *regexp.Regexp

	Run             []string
	Preopen         []string
	ReadOnlyPreopen []string // nil: not claimed
	Env             []string
	Listener        []string // nil: not claimed
	Arg             []string
	ArgsSeparator   string
	Argv0           []string // nil: argv[0] is whatever the runtime passes

	Features   runners.Features
	Trap       *Match // nil: no trap detection
	StartError *Match
}

// Match recognises an ending by what the runtime printed and its exit status.
// Every condition set must hold: Stderr matches the end of stderr, Stdout the
// end of stdout, and the exit status is one of ExitCodes. A nil regexp or an
// empty ExitCodes sets no condition; at least one is set.
type Match struct {
	Stderr    *regexp.Regexp
	Stdout    *regexp.Regexp
	ExitCodes []int
}

// Matches reports whether the ends of stdout and stderr (the run's last
// runners.TailSize bytes of each) and the exit code fit, and a detail: the
// line the last stderr match starts on (in an error and its causes the
// deepest cause, the most telling, comes last), else the stdout one, else
// "exit status N".
// Exit code 0 never matches.
func (m *Match) Matches(stdout, stderr []byte, exitCode int) (string, bool) {
	if m == nil || exitCode == 0 {
		return "", false
	}
	if len(m.ExitCodes) > 0 && !slices.Contains(m.ExitCodes, exitCode) {
		return "", false
	}
	detail, found := "", false
	for _, s := range []struct {
		re  *regexp.Regexp
		out []byte
	}{{m.Stderr, stderr}, {m.Stdout, stdout}} {
		if s.re == nil {
			continue
		}
		line, ok := matchLine(s.re, s.out)
		if !ok {
			return "", false
		}
		if !found {
			detail, found = line, true
		}
	}
	if !found {
		detail = fmt.Sprintf("exit status %d", exitCode)
	}
	return detail, true
}

// matchLine finds re in out and returns the line the last match starts on.
func matchLine(re *regexp.Regexp, out []byte) (string, bool) {
	all := re.FindAllIndex(out, -1)
	if all == nil {
		return "", false
	}
	loc := all[len(all)-1]
	start := bytes.LastIndexByte(out[:loc[0]], '\n') + 1
	end := bytes.IndexByte(out[loc[0]:], '\n')
	if end < 0 {
		end = len(out)
	} else {
		end += loc[0]
	}
	return strings.TrimSpace(string(out[start:end])), true
}

// file is the YAML form.
type file struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Binary      string   `yaml:"binary"`
	WrittenFor  string   `yaml:"written_for"`
	WrittenFrom string   `yaml:"written_from"`
	Version     *version `yaml:"version"`
	Run         []string `yaml:"run"`

	Preopen         []string `yaml:"preopen"`
	ReadOnlyPreopen []string `yaml:"readonly_preopen"`
	Env             []string `yaml:"env"`
	Listener        []string `yaml:"listener"`
	Arg             []string `yaml:"arg"`
	ArgsSeparator   string   `yaml:"args_separator"`
	Argv0           []string `yaml:"argv0"`

	Features   []string `yaml:"features"`
	Trap       *match   `yaml:"trap"`
	StartError *match   `yaml:"start_error"`
	Notes      string   `yaml:"notes"`
}

type version struct {
	Args   []string `yaml:"args"`
	Regexp string   `yaml:"regexp"`
}

type match struct {
	Stderr    string `yaml:"stderr"`
	Stdout    string `yaml:"stdout"`
	ExitCodes []int  `yaml:"exit_codes"`
}

var placeholderRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)

// Placeholder sets by field.
var (
	runScalars  = []string{"module", "cachedir", "workdir"}
	runLists    = []string{"preopens", "env", "listeners", "args", "argv0"}
	preopenVars = []string{"host", "guest"}
	envVars     = []string{"key", "value"}
	listenVars  = []string{"addr"}
	argVars     = []string{"arg"}
)

// LoadTemplate reads and validates a template file. The error, if any, is
// one line naming the file and the field.
func LoadTemplate(path string) (*Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, unwrapPath(err))
	}
	return ParseTemplate(path, b)
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ParseTemplate parses and validates a template; source names it in errors.
func ParseTemplate(source string, data []byte) (*Template, error) {
	fail := func(field, format string, a ...any) (*Template, error) {
		msg := fmt.Sprintf(format, a...)
		if field != "" {
			return nil, fmt.Errorf("%s: %s: %s", source, field, msg)
		}
		return nil, fmt.Errorf("%s: %s", source, msg)
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
		return fail("", "not a valid template: %s", strings.Join(strings.Fields(msg), " "))
	}
	t := &Template{
		Source: source, Name: f.Name, Description: f.Description, Binary: f.Binary,
		WrittenFor: f.WrittenFor, WrittenFrom: f.WrittenFrom,
		Run: f.Run, Preopen: f.Preopen, ReadOnlyPreopen: f.ReadOnlyPreopen, Env: f.Env,
		Listener: f.Listener, Arg: f.Arg, ArgsSeparator: f.ArgsSeparator, Argv0: f.Argv0,
	}
	switch {
	case f.Name == "":
		return fail("name", "missing")
	case !regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`).MatchString(f.Name):
		return fail("name", "%q must be lower-case letters, digits, '.', '_' or '-'", f.Name)
	case f.Binary == "":
		return fail("binary", "missing")
	case f.WrittenFor == "" && f.WrittenFrom == "":
		return fail("written_for", "missing: give written_for (the runtime version the template was checked against with a real binary) or written_from (what it was written from)")
	case f.WrittenFor != "" && f.WrittenFrom != "":
		return fail("written_from", "give written_for or written_from, not both (written_for only when checked against that version with a real binary)")
	case f.Version == nil:
		return fail("version", "missing: give args and regexp to read the runtime's version")
	case f.Version.Regexp == "":
		return fail("version.regexp", "missing")
	case len(f.Run) == 0:
		return fail("run", "missing")
	case len(f.Preopen) == 0:
		return fail("preopen", "missing")
	case len(f.Env) == 0:
		return fail("env", "missing")
	case len(f.Arg) == 0:
		return fail("arg", "missing")
	}
	re, err := regexp.Compile(f.Version.Regexp)
	if err != nil {
		return fail("version.regexp", "%v", err)
	}
	t.VersionArgs, t.VersionRE = f.Version.Args, re
	if err := checkPlaceholders("version.args", f.Version.Args, nil, nil); err != nil {
		return fail("", "%v", err)
	}

	pieces := []struct {
		field string
		val   []string
		vars  []string
	}{
		{"preopen", f.Preopen, preopenVars},
		{"readonly_preopen", f.ReadOnlyPreopen, preopenVars},
		{"env", f.Env, envVars},
		{"listener", f.Listener, listenVars},
		{"arg", f.Arg, argVars},
		{"argv0", f.Argv0, argVars},
	}
	for _, p := range pieces {
		if err := checkPlaceholders(p.field, p.val, p.vars, p.vars); err != nil {
			return fail("", "%v", err)
		}
	}
	// run: scalars anywhere, lists as whole elements.
	used := map[string]bool{}
	for i, el := range f.Run {
		field := fmt.Sprintf("run[%d]", i)
		ms := placeholderRE.FindAllStringSubmatch(el, -1)
		if err := strayBraces(field, el); err != nil {
			return fail("", "%v", err)
		}
		for _, m := range ms {
			name := m[1]
			switch {
			case slices.Contains(runScalars, name):
			case slices.Contains(runLists, name):
				if strings.TrimSpace(el) != m[0] {
					return fail(field, "{{%s}} expands to several arguments: it must be a whole element, not part of %q", name, el)
				}
			default:
				return fail(field, "unknown placeholder {{%s}} (known here: %s)", name, known(append(append([]string{}, runScalars...), runLists...)))
			}
			used[name] = true
		}
	}
	for _, need := range []string{"module", "args", "env", "preopens"} {
		if !used[need] {
			return fail("run", "does not hold {{%s}}: the invocation's %s would be dropped", need, need)
		}
	}
	if f.Listener != nil && !used["listeners"] {
		return fail("run", "listener is set but run does not hold {{listeners}}")
	}
	if used["listeners"] && f.Listener == nil {
		return fail("run", "holds {{listeners}} but there is no listener piece")
	}
	if f.Argv0 != nil && !used["argv0"] {
		return fail("run", "argv0 is set but run does not hold {{argv0}}")
	}
	if used["argv0"] && f.Argv0 == nil {
		return fail("run", "holds {{argv0}} but there is no argv0 piece")
	}

	if strings.Contains(f.ArgsSeparator, "{{") {
		return fail("args_separator", "takes no placeholder")
	}

	for i, name := range f.Features {
		ft := runners.Feature(name)
		switch ft {
		case runners.FeatureStdin, runners.FeatureSockImports:
		case runners.FeatureReadOnlyPreopen:
			if f.ReadOnlyPreopen == nil {
				return fail(fmt.Sprintf("features[%d]", i), "%s is claimed but there is no readonly_preopen piece", name)
			}
		case runners.FeaturePreopenedSockets:
			if f.Listener == nil {
				return fail(fmt.Sprintf("features[%d]", i), "%s is claimed but there is no listener piece", name)
			}
		default:
			return fail(fmt.Sprintf("features[%d]", i), "unknown feature %q (known: %s, %s, %s, %s)", name,
				runners.FeatureStdin, runners.FeatureSockImports, runners.FeatureReadOnlyPreopen, runners.FeaturePreopenedSockets)
		}
		if !t.Features.Has(ft) {
			t.Features = append(t.Features, ft)
		}
	}
	if f.ReadOnlyPreopen != nil && !t.Features.Has(runners.FeatureReadOnlyPreopen) {
		t.Features = append(t.Features, runners.FeatureReadOnlyPreopen)
	}
	if f.Listener != nil && !t.Features.Has(runners.FeaturePreopenedSockets) {
		t.Features = append(t.Features, runners.FeaturePreopenedSockets)
	}

	for _, m := range []struct {
		field string
		in    *match
		out   **Match
	}{{"trap", f.Trap, &t.Trap}, {"start_error", f.StartError, &t.StartError}} {
		if m.in == nil {
			continue
		}
		if m.in.Stderr == "" && m.in.Stdout == "" && len(m.in.ExitCodes) == 0 {
			return fail(m.field, "empty: give stderr, stdout or exit_codes (at least one)")
		}
		out := &Match{ExitCodes: m.in.ExitCodes}
		for _, s := range []struct {
			name, expr string
			re         **regexp.Regexp
		}{{"stderr", m.in.Stderr, &out.Stderr}, {"stdout", m.in.Stdout, &out.Stdout}} {
			if s.expr == "" {
				continue
			}
			re, err := regexp.Compile(s.expr)
			if err != nil {
				return fail(m.field+"."+s.name, "%v", err)
			}
			*s.re = re
		}
		for i, c := range m.in.ExitCodes {
			if c < 1 || c > 255 {
				return fail(fmt.Sprintf("%s.exit_codes[%d]", m.field, i), "%d is not an exit status that can tell it (1 to 255; 0 is a normal exit)", c)
			}
		}
		*m.out = out
	}
	return t, nil
}

func known(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "{{" + n + "}}"
	}
	return strings.Join(out, " ")
}

// strayBraces reports "{{" or "}}" left over once placeholders are removed.
func strayBraces(field, el string) error {
	rest := placeholderRE.ReplaceAllString(el, "")
	if strings.Contains(rest, "{{") || strings.Contains(rest, "}}") {
		return fmt.Errorf("%s: malformed placeholder in %q", field, el)
	}
	return nil
}

// checkPlaceholders allows only the given names in els; a piece that must
// use all of want (e.g. preopen needs {{host}} and {{guest}}) is checked too.
func checkPlaceholders(field string, els []string, allowed, want []string) error {
	seen := map[string]bool{}
	for i, el := range els {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := strayBraces(f, el); err != nil {
			return err
		}
		for _, m := range placeholderRE.FindAllStringSubmatch(el, -1) {
			if !slices.Contains(allowed, m[1]) {
				if len(allowed) == 0 {
					return fmt.Errorf("%s: unknown placeholder {{%s}} (none allowed here)", f, m[1])
				}
				return fmt.Errorf("%s: unknown placeholder {{%s}} (known here: %s)", f, m[1], known(allowed))
			}
			seen[m[1]] = true
		}
	}
	if len(els) > 0 {
		for _, w := range want {
			if !seen[w] {
				return fmt.Errorf("%s: does not use {{%s}}", field, w)
			}
		}
	}
	return nil
}

// expand replaces placeholders in el from vars.
func expand(el string, vars map[string]string) string {
	return placeholderRE.ReplaceAllStringFunc(el, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		return vars[name]
	})
}

func expandAll(els []string, vars map[string]string) []string {
	out := make([]string, len(els))
	for i, el := range els {
		out[i] = expand(el, vars)
	}
	return out
}

// EnvVar is the environment variable that overrides the template's binary,
// e.g. WASICERT_BIN_WAZERO_CLI.
func (t *Template) EnvVar() string {
	return "WASICERT_BIN_" + strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToUpper(t.Name))
}

// baseName is a short label for a template source.
func baseName(source string) string {
	return strings.TrimSuffix(filepath.Base(source), filepath.Ext(source))
}
