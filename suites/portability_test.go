package suites_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/internal/weakened"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// TestPortabilityControls: each portability spec passes on embedded wazero
// and fails on its negative control for its own check: the value specs on
// an engine whose results are off in the last bit (a "value:<call>"
// cause), the trap specs on a launcher that reports a trap as exit 0 (a
// "trap:<kind>" cause).
func TestPortabilityControls(t *testing.T) {
	base := embeddedWazero(t)
	values := weakened.Wrap(base, weakened.LastBitWrong)
	traps := weakened.Wrap(base, weakened.TrapAsSuccess)
	for _, spec := range catalogue.All() {
		if spec.Area != suites.AreaPortability {
			continue
		}
		t.Run(spec.ID, func(t *testing.T) {
			if rec := execute(t, context.Background(), base, spec.ID, suites.Options{}); rec.Verdict != verdicts.Pass {
				t.Fatalf("embedded wazero: %s (%s), want pass", rec.Verdict, rec.Reason)
			}
			control, prefix := values, "value:"
			if strings.HasSuffix(spec.ID, "-traps") {
				control, prefix = traps, "trap:"
			}
			rec := execute(t, context.Background(), control, spec.ID, suites.Options{})
			if rec.Verdict != verdicts.Fail || !slices.ContainsFunc(rec.Causes, func(c string) bool { return strings.HasPrefix(c, prefix) }) {
				t.Errorf("%s: %s with causes %v, want fail caused by %s...", control.Name(), rec.Verdict, rec.Causes, prefix)
			}
		})
	}
}
