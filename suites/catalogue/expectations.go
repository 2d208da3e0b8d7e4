package catalogue

import (
	"embed"
	"fmt"
	"os"
	"path"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/wasicert/wasicert/verdicts"
)

// expectationFiles are the known deviations shipped with wasicert, one file
// per runtime family (expectations/*.yaml).
//
//go:embed expectations/*.yaml
var expectationFiles embed.FS

// expectationFile is the format of an expectations file.
type expectationFile struct {
	// Runtimes are the registry names the file applies to.
	Runtimes     []string               `yaml:"runtimes"`
	Expectations []verdicts.Expectation `yaml:"expectations"`
}

// Expectations returns the shipped known deviations of runtime, by spec ID.
func Expectations(runtime string) (map[string]verdicts.Expectation, error) {
	out := map[string]verdicts.Expectation{}
	entries, err := expectationFiles.ReadDir("expectations")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		b, err := expectationFiles.ReadFile(path.Join("expectations", e.Name()))
		if err != nil {
			return nil, err
		}
		if err := addExpectations(out, b, e.Name(), runtime); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LoadExpectations reads a user's expectations file for runtime.
func LoadExpectations(file, runtime string) (map[string]verdicts.Expectation, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("expectations file: %w", err)
	}
	out := map[string]verdicts.Expectation{}
	return out, addExpectations(out, b, file, runtime)
}

func addExpectations(out map[string]verdicts.Expectation, b []byte, name, runtime string) error {
	var f expectationFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("expectations file %s: %w", name, err)
	}
	if len(f.Runtimes) == 0 {
		return fmt.Errorf("expectations file %s: no runtimes: list the runtime names it applies to", name)
	}
	for _, e := range f.Expectations {
		if _, ok := Lookup(e.Spec); !ok {
			return fmt.Errorf("expectations file %s: unknown spec %q (wasicert list shows the IDs)", name, e.Spec)
		}
		if !e.Verdict.Failing() {
			return fmt.Errorf("expectations file %s: spec %s: verdict %q is not a failing verdict (escape, leak, fail, crash, timeout)", name, e.Spec, e.Verdict)
		}
		if e.Reason == "" || e.Reference == "" {
			return fmt.Errorf("expectations file %s: spec %s needs a reason and a reference", name, e.Spec)
		}
		if len(e.Covers) == 0 {
			return fmt.Errorf("expectations file %s: spec %s needs covers: the evidence the deviation produces (the causes `wasicert run --no-expectations` prints in results.jsonl, e.g. [step:hostrel.file, canary:token:stdout])", name, e.Spec)
		}
	}
	if !slices.Contains(f.Runtimes, runtime) {
		return nil
	}
	for _, e := range f.Expectations {
		out[e.Spec] = e
	}
	return nil
}
