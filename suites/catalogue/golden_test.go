package catalogue

import (
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/wasicert/wasicert/suites"
)

// TestGoldenList: suites/conformance.yaml is what the code says, and the
// message names each spec that disappeared, appeared or changed its labels.
func TestGoldenList(t *testing.T) {
	path := filepath.Join("..", "..", GoldenPath)
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run `make docs` (go run ./internal/docgen readme) to write it", err)
	}
	want, err := GoldenList()
	if err != nil {
		t.Fatal(err)
	}
	if string(have) == string(want) {
		return
	}
	var golden struct{ Specs []suites.Description }
	if err := yaml.Unmarshal(have, &golden); err != nil {
		t.Fatalf("%s: %v", GoldenPath, err)
	}
	inCode := map[string]suites.Description{}
	for _, s := range All() {
		inCode[s.ID] = s.Describe()
	}
	for _, g := range golden.Specs {
		c, ok := inCode[g.ID]
		switch {
		case !ok:
			t.Errorf("spec %s is in %s but no longer in the code", g.ID, GoldenPath)
		case c.Level != g.Level || c.Severity != g.Severity || c.Area != g.Area:
			t.Errorf("spec %s changed: %s/%s/%s in %s, %s/%s/%s in the code", g.ID, g.Area, g.Severity, g.Level, GoldenPath, c.Area, c.Severity, c.Level)
		}
		delete(inCode, g.ID)
	}
	for id := range inCode {
		t.Errorf("spec %s is in the code but not in %s", id, GoldenPath)
	}
	t.Errorf("%s is stale: run `make docs` and review its diff", GoldenPath)
}
