package catalogue

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// GoldenPath is the golden list's path from the repository root.
const GoldenPath = "suites/conformance.yaml"

const goldenHeader = `# The golden list: every spec of the catalogue with its area, group, severity,
# level and references, generated from the code by ` + "`make docs`" + ` (go run
# ./internal/docgen readme). TestGoldenList fails when the code and this file
# differ, so a spec cannot disappear, change its ID or lose a level without
# this file's diff saying so in review.
`

// GoldenList renders the golden list of specs.
func GoldenList() ([]byte, error) {
	var ds []any
	for _, s := range All() {
		ds = append(ds, s.Describe())
	}
	var b bytes.Buffer
	b.WriteString(goldenHeader)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(map[string]any{"specs": ds}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
