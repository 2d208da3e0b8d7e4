package suites_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/runners"
	_ "github.com/wasicert/wasicert/runners/wazero"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// TestEmulationSkip: under qemu-s390x, whose stat drops nanoseconds, a spec
// that reads timestamps back is skipped with the emulator's defect as the
// reason; under another emulator, or none, it runs and passes.
func TestEmulationSkip(t *testing.T) {
	spec, ok := catalogue.Lookup("resource.timestamp-extremes")
	if !ok {
		t.Fatal("resource.timestamp-extremes is not in the catalogue")
	}
	r, err := runners.Open("wazero")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		emulator string
		want     verdicts.Verdict
	}{
		{"qemu-s390x 7.2.22", verdicts.Skipped},
		{"qemu-aarch64 7.2.22", verdicts.Pass},
		{"", verdicts.Pass},
	} {
		t.Setenv(suites.EmulatorEnv, c.emulator)
		rec, err := suites.Execute(context.Background(), spec, suites.Options{Runner: r})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Actual != c.want {
			t.Fatalf("under %q: %s (%s), want %s", c.emulator, rec.Actual, rec.Reason, c.want)
		}
		if c.want == verdicts.Skipped && !strings.Contains(rec.Reason, "TARGET_STAT_HAVE_NSEC") {
			t.Fatalf("under %q: the reason does not name the defect: %s", c.emulator, rec.Reason)
		}
	}
}
