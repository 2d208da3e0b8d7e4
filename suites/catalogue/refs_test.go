package catalogue

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestEverySpecIsLabelled: every spec carries a stable ID in its area, an
// area in one of the catalogue's groups, a severity, a level, a rule and
// references that are absolute https URLs, none repeated.
func TestEverySpecIsLabelled(t *testing.T) {
	for _, s := range All() {
		d := s.Describe()
		if !strings.HasPrefix(s.ID, string(s.Area)+".") && !legacyArea(s.ID) {
			t.Errorf("%s: the ID does not start with its area %q", s.ID, s.Area)
		}
		if d.Group == 0 {
			t.Errorf("%s: area %q is in no catalogue group (suites.Area.Group)", s.ID, s.Area)
		}
		if !slices.Contains([]string{"escape", "leak", "dos", "conformance"}, d.Severity) || !slices.Contains([]string{"MUST", "SHOULD"}, d.Level) || s.Rule == "" {
			t.Errorf("%s: severity %q, level %q, rule %q", s.ID, d.Severity, d.Level, s.Rule)
		}
		all := append([]string{s.Ref}, s.Refs...)
		for i, r := range all {
			u, err := url.Parse(r)
			if err != nil || u.Scheme != "https" || u.Host == "" {
				t.Errorf("%s: reference %q is not an https URL", s.ID, r)
			}
			if slices.Index(all, r) != i {
				t.Errorf("%s: reference %q is listed twice", s.ID, r)
			}
		}
	}
}

// legacyArea: specs that kept their ID when their area was split out (see
// RATIONALE.md, The catalogue's groups).
func legacyArea(id string) bool { return strings.HasPrefix(id, "preopen.") }
