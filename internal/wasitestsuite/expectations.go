package wasitestsuite

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"go.yaml.in/yaml/v3"
)

// Expectation is what a runtime project expects of one test.
type Expectation struct {
	// Skip: the test is not run.
	Skip bool
	// Fail: the test is expected to fail; a pass is reported as an
	// unexpected pass (xpass), which fails the run.
	Fail bool
	// Reason and Reference explain the expectation (wasicert's YAML form).
	Reason, Reference string
}

// Expectations map suite name (the manifest's name) and test name to an
// expectation.
type Expectations map[string]map[string]Expectation

// Lookup returns the expectation of one test, if any.
func (e Expectations) Lookup(suite, test string) (Expectation, bool) {
	x, ok := e[suite][test]
	return x, ok
}

// LoadExpectations reads an expectation file by its extension: upstream's
// TOML (.toml) or wasicert's YAML (.yaml, .yml) for runtime.
func LoadExpectations(path, runtime string) (Expectations, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".toml":
		return LoadTOML(path)
	case ".yaml", ".yml":
		return LoadYAML(path, runtime)
	}
	return nil, fmt.Errorf("expectations %s: give a .toml file (wasi-testsuite's format) or a .yaml file (wasicert's)", path)
}

// tomlFile is upstream's expectation file, version 1
// (test-runner/wasi_test_runner/filters.py):
//
//	version = 1
//	[[suite]]
//	name = "WASI C tests [wasm32-wasip1]"
//	[[suite.test]]
//	name = "pwrite-with-append"
//	action = "skip"        # and/or
//	expected = "fail"
type tomlFile struct {
	Version *int64 `toml:"version"`
	Suite   []struct {
		Name *string `toml:"name"`
		Test []struct {
			Name     *string `toml:"name"`
			Action   *string `toml:"action"`
			Expected *string `toml:"expected"`
		} `toml:"test"`
	} `toml:"suite"`
}

// LoadTOML reads upstream's TOML expectation file as is. Its rules are
// upstream's: version 1 (the default), each test naming "skip" as its
// action and/or "pass" or "fail" as expected; wasicert also refuses keys
// it does not know, so that a misspelt key cannot pass as no expectation.
func LoadTOML(path string) (Expectations, error) {
	var f tomlFile
	md, err := toml.DecodeFile(path, &f)
	if err != nil {
		return nil, fmt.Errorf("expectations %s: %s", path, oneLine(err.Error()))
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("expectations %s: unknown key %q: the keys are version, [[suite]] name, [[suite.test]] name, action, expected", path, und[0].String())
	}
	if f.Version != nil && *f.Version != 1 {
		return nil, fmt.Errorf("expectations %s: version %d: only version 1 is known", path, *f.Version)
	}
	out := Expectations{}
	for i, s := range f.Suite {
		if s.Name == nil {
			return nil, fmt.Errorf("expectations %s: [[suite]] %d has no name", path, i+1)
		}
		tests := map[string]Expectation{}
		for j, t := range s.Test {
			if t.Name == nil {
				return nil, fmt.Errorf("expectations %s: suite %q: [[suite.test]] %d has no name", path, *s.Name, j+1)
			}
			var x Expectation
			if t.Action == nil && t.Expected == nil {
				return nil, fmt.Errorf("expectations %s: suite %q test %q: set action = \"skip\" and/or expected = \"fail\"", path, *s.Name, *t.Name)
			}
			if t.Action != nil {
				if *t.Action != "skip" {
					return nil, fmt.Errorf("expectations %s: suite %q test %q: action %q: the only action is \"skip\"", path, *s.Name, *t.Name, *t.Action)
				}
				x.Skip = true
			}
			if t.Expected != nil {
				if !slices.Contains([]string{"pass", "fail"}, *t.Expected) {
					return nil, fmt.Errorf("expectations %s: suite %q test %q: expected %q: give \"pass\" or \"fail\"", path, *s.Name, *t.Name, *t.Expected)
				}
				x.Fail = *t.Expected == "fail"
			}
			x.Reason = "expectation file " + filepath.Base(path)
			tests[*t.Name] = x
		}
		// Upstream keeps the last [[suite]] of a name; so does this.
		out[*s.Name] = tests
	}
	return out, nil
}

// yamlFile is wasicert's own form, as suites/catalogue/expectations/*.yaml:
//
//	runtimes: [wazero, wazero-cli]
//	expectations:
//	  - suite: WASI C tests [wasm32-wasip1]
//	    test: pwrite-with-append
//	    verdict: fail          # or skip
//	    reason: wazero ignores O_APPEND for pwrite
//	    reference: https://github.com/...
type yamlFile struct {
	Runtimes     []string `yaml:"runtimes"`
	Expectations []struct {
		Suite     string `yaml:"suite"`
		Test      string `yaml:"test"`
		Verdict   string `yaml:"verdict"`
		Reason    string `yaml:"reason"`
		Reference string `yaml:"reference"`
	} `yaml:"expectations"`
}

// LoadYAML reads wasicert's YAML form; a file whose runtimes list does not
// name runtime yields no expectations.
func LoadYAML(path, runtime string) (Expectations, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("expectations: %w", err)
	}
	var f yamlFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("expectations %s: %s", path, oneLine(err.Error()))
	}
	if len(f.Runtimes) == 0 {
		return nil, fmt.Errorf("expectations %s: no runtimes: list the runtimes it is for", path)
	}
	out := Expectations{}
	if !slices.Contains(f.Runtimes, runtime) {
		return out, nil
	}
	for i, e := range f.Expectations {
		if e.Suite == "" || e.Test == "" || e.Reason == "" {
			return nil, fmt.Errorf("expectations %s: entry %d: suite, test and reason are required", path, i+1)
		}
		x := Expectation{Reason: e.Reason, Reference: e.Reference}
		switch e.Verdict {
		case "fail":
			x.Fail = true
		case "skip":
			x.Skip = true
		default:
			return nil, fmt.Errorf("expectations %s: entry %d: verdict %q: give fail or skip", path, i+1, e.Verdict)
		}
		if out[e.Suite] == nil {
			out[e.Suite] = map[string]Expectation{}
		}
		out[e.Suite][e.Test] = x
	}
	return out, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
