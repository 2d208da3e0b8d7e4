// Package wasitestsuite runs test directories laid out as the WebAssembly
// wasi-testsuite lays them out, through any wasicert runner.
//
// The format (https://github.com/WebAssembly/wasi-testsuite/blob/main/doc/specification.md):
// a directory holds a manifest.json (name, optional version); every *.wasm
// in it is a test; an optional <name>.json beside it sets args, env, root
// (one directory preopened as "/"), or the older dirs (each preopened under
// its own name), and the expected exit_code, stdout and stderr. Files named
// *.cleanup are test artifacts, removed before a test runs.
//
// wasicert reads a test's JSON strictly: an unknown key, a wrong type or a
// syntax error fails that test alone, with one line that says what to fix.
// Tests in the newer operation-based form (operations, proposals, world,
// servers) are skipped with that reason.
//
// Each test runs in a private copy of its directories, with wasicert's
// timeouts, output bounds and canaries: a host file beside the copies and
// an environment variable of the wasicert process, which a test's output
// or its writable copy must never show.
package wasitestsuite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
)

// ManifestFile is the file that makes a directory a suite.
const ManifestFile = "manifest.json"

// Manifest is a suite's manifest.json.
type Manifest struct {
	// Name names the suite in reports and in expectation files
	// ([[suite]] name).
	Name string `json:"name"`
	// Version is the WASI version the tests target, e.g. "wasm32-wasip1".
	Version string `json:"version,omitempty"`
}

// Spec is one test's <name>.json in the legacy form, every field optional.
type Spec struct {
	// Args are the arguments after argv[0].
	Args []string `json:"args"`
	// Env is the guest's whole environment.
	Env map[string]string `json:"env"`
	// Root, relative to the suite directory, is preopened as "/".
	Root *string `json:"root"`
	// Dirs, relative to the suite directory, are each preopened under the
	// name written here (the format before June 2026).
	Dirs []string `json:"dirs"`
	// ExitCode is the expected exit code; nil means 0.
	ExitCode *int `json:"exit_code"`
	// Stdout and Stderr, when set, are what the stream must begin with:
	// upstream's runner reads as many characters as expected and compares
	// them (RATIONALE.md, "wasi-testsuite").
	Stdout *string `json:"stdout"`
	Stderr *string `json:"stderr"`
}

// operationKeys mark the operation-based form of a test's JSON.
var operationKeys = []string{"operations", "proposals", "world", "servers"}

// Test is one test of a suite.
type Test struct {
	// Name is the module's base name without .wasm.
	Name string
	// Module is the path of <Name>.wasm; "" when it is missing.
	Module string
	// SpecFile is the path of <Name>.json; "" when there is none.
	SpecFile string
	Spec     Spec
	// Err, when set, fails the test without running it: its JSON is
	// malformed or its module is missing.
	Err error
	// Skip, when set, skips the test with this reason.
	Skip string
}

// Suite is one directory of tests.
type Suite struct {
	Dir      string
	Manifest Manifest
	Tests    []Test
}

// Load reads the suite in dir. Its error is for the suite as a whole (no
// manifest, an unreadable directory); a bad test is a Test with Err set.
func Load(dir string) (*Suite, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	m, err := readManifest(filepath.Join(abs, ManifestFile))
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("suite %s: %w", dir, err)
	}
	names := map[string]*Test{}
	test := func(name string) *Test {
		if t, ok := names[name]; ok {
			return t
		}
		t := &Test{Name: name}
		names[name] = t
		return t
	}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || n == ManifestFile {
			continue
		}
		switch {
		case strings.HasSuffix(n, ".wasm"):
			test(strings.TrimSuffix(n, ".wasm")).Module = filepath.Join(abs, n)
		case strings.HasSuffix(n, ".json"):
			test(strings.TrimSuffix(n, ".json")).SpecFile = filepath.Join(abs, n)
		}
	}
	s := &Suite{Dir: abs, Manifest: m}
	for _, t := range names {
		if t.SpecFile != "" {
			t.Spec, t.Skip, t.Err = readSpec(t.SpecFile)
		}
		if t.Module == "" && t.Err == nil {
			t.Err = fmt.Errorf("%s: no module %s.wasm beside it", rel(abs, t.SpecFile), t.Name)
		}
		if t.Err == nil && t.Skip == "" {
			t.Err = checkSpec(abs, t)
		}
		s.Tests = append(s.Tests, *t)
	}
	sort.Slice(s.Tests, func(i, j int) bool { return s.Tests[i].Name < s.Tests[j].Name })
	return s, nil
}

func readManifest(path string) (Manifest, error) {
	var m Manifest
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return m, fmt.Errorf("%s: no %s: a suite directory needs one ({\"name\": \"...\"}), as wasi-testsuite's tests/*/testsuite/* have", filepath.Dir(path), ManifestFile)
	}
	if err != nil {
		return m, err
	}
	if err := decodeStrict(data, &m); err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	if m.Name == "" {
		return m, fmt.Errorf("%s: \"name\" is missing or empty", path)
	}
	return m, nil
}

// readSpec reads one test's JSON: the spec, or a skip reason for the
// operation-based form, or the one-line error of a malformed file.
func readSpec(path string) (Spec, string, error) {
	var s Spec
	data, err := os.ReadFile(path)
	if err != nil {
		return s, "", err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err == nil {
		for _, k := range operationKeys {
			if _, ok := keys[k]; ok {
				return s, fmt.Sprintf("uses the operation-based form (%q), which wasicert does not run yet", k), nil
			}
		}
	}
	if err := decodeStrict(data, &s); err != nil {
		return s, "", fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return s, "", nil
}

// decodeStrict decodes one JSON object into v: an unknown key, a wrong type
// or trailing data is an error of one line naming the key.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return fmt.Errorf("%q must be %s, not a JSON %s", te.Field, jsonType(te.Type), te.Value)
		case errors.As(err, &se):
			return fmt.Errorf("not valid JSON at byte %d: %v", se.Offset, se)
		case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return errors.New("not valid JSON: it ends too early")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			known := knownKeys(v)
			return fmt.Errorf("unknown key %s: the keys are %s", strings.TrimPrefix(err.Error(), "json: unknown field "), strings.Join(known, ", "))
		}
		return err
	}
	if dec.More() {
		return errors.New("not valid JSON: more data after the object")
	}
	return nil
}

func knownKeys(v any) []string {
	t := reflect.TypeOf(v).Elem()
	var keys []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		keys = append(keys, name)
	}
	return keys
}

func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a number"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(jsonType(t.Elem()), "a ") + "s"
	case reflect.Map:
		return "an object of " + strings.TrimPrefix(jsonType(t.Elem()), "a ") + "s"
	}
	return t.String()
}

// checkSpec refuses what a test cannot be granted: a directory outside the
// suite's own (a test's JSON must never preopen the host), an environment
// name with '=' or a NUL anywhere.
func checkSpec(suiteDir string, t *Test) error {
	name := filepath.Base(t.SpecFile)
	var dirs []string
	if t.Spec.Root != nil {
		dirs = append(dirs, *t.Spec.Root)
	}
	dirs = append(dirs, t.Spec.Dirs...)
	for _, d := range dirs {
		if _, err := suiteSubdir(suiteDir, d); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	for k, v := range t.Spec.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return fmt.Errorf("%s: env %q: a name must be non-empty without '=' or NUL, a value without NUL", name, k)
		}
	}
	for _, a := range t.Spec.Args {
		if strings.ContainsRune(a, 0) {
			return fmt.Errorf("%s: argument %q holds a NUL byte, which WASI cannot pass", name, a)
		}
	}
	return nil
}

// suiteSubdir resolves d, relative to the suite directory, to a directory
// inside it (symlinks resolved).
func suiteSubdir(suiteDir, d string) (string, error) {
	if d == "" || filepath.IsAbs(d) || !filepath.IsLocal(d) {
		return "", fmt.Errorf("directory %q: give a path inside the suite directory", d)
	}
	real, err := filepath.EvalSymlinks(filepath.Join(suiteDir, d))
	if err != nil {
		return "", fmt.Errorf("directory %q: %w", d, unwrapPath(err))
	}
	base, err := filepath.EvalSymlinks(suiteDir)
	if err != nil {
		return "", err
	}
	if r, err := filepath.Rel(base, real); err != nil || !filepath.IsLocal(r) {
		return "", fmt.Errorf("directory %q leads out of the suite directory", d)
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%q is not a directory", d)
	}
	return real, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func rel(base, path string) string {
	if r, err := filepath.Rel(base, path); err == nil {
		return r
	}
	return path
}
