package suites_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/internal/naive"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// TestClockResourceControls: each naive flaw fails its clock or resource
// spec for the spec's own cause, and the plain naive runtime passes the
// same spec, so the cause is the flaw's. The hostile stand-ins
// (FlawSeededRandom, FlawRealtimeSkew, FlawPollLies) fool the guest's own
// view: only the host-side check (two runs compared, the host's clock, the
// run's duration) catches them, which is what the cause names.
func TestClockResourceControls(t *testing.T) {
	cases := []struct {
		flaw  naive.Flaw
		spec  string
		cause string
		// only: the one cause the failure may have (host-side checks).
		only bool
	}{
		{naive.FlawClockIDs, "clock.ids", "clock:invalid-id", false},
		{naive.FlawClockBack, "clock.monotonic", "clock:backwards", false},
		{naive.FlawRealtimeSkew, "clock.monotonic", "clock:realtime", true},
		{naive.FlawConstantRandom, "clock.random", "random:constant", false},
		{naive.FlawSeededRandom, "clock.random", "random:repeat", true},
		{naive.FlawPollImmediate, "clock.poll", "poll:early", false},
		{naive.FlawPollLies, "clock.poll", "poll:host-early", true},
		{naive.FlawFDErrno, "resource.fd-exhaustion", "fd:errno", false},
		{naive.FlawRenumberLeak, "resource.renumber-leak", "fd:leak", true},
		{naive.FlawIovecCopy, "resource.huge-iovecs", "memory:rss", true},
		{naive.FlawStdoutUnbounded, "resource.stdout-flood", "memory:rss", true},
		{naive.FlawReaddirGarbage, "resource.readdir-padding", "readdir:padding", true},
		{naive.FlawTimesFlags, "resource.timestamp-extremes", "times:flags", true},
	}
	run := func(t *testing.T, r *naive.Runner, id string) verdicts.Record {
		spec, ok := catalogue.Lookup(id)
		if !ok {
			t.Fatalf("no spec %s", id)
		}
		rec, err := suites.Execute(context.Background(), spec, suites.Options{Runner: r})
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	plain := map[string]bool{}
	for _, c := range cases {
		t.Run(c.flaw.Name, func(t *testing.T) {
			if !plain[c.spec] {
				// The naive runtime's own weaknesses must not fail it (the
				// poll spec's absolute clock aside, which naive honours).
				if rec := run(t, naive.New(), c.spec); rec.Verdict.Failing() {
					t.Fatalf("%s fails on the plain naive runtime already: %s (%v)", c.spec, rec.Reason, rec.Causes)
				}
				plain[c.spec] = true
			}
			rec := run(t, naive.Flawed(c.flaw), c.spec)
			if !rec.Verdict.Failing() || !slices.Contains(rec.Causes, c.cause) {
				t.Fatalf("%s on %q: %s (%s), causes %v; want a failure with cause %s", c.spec, c.flaw.Name, rec.Verdict, rec.Reason, rec.Causes, c.cause)
			}
			if c.only && len(rec.Causes) != 1 {
				t.Errorf("%s on %q: causes %v, want %s alone (the guest must not see the flaw)", c.spec, c.flaw.Name, rec.Causes, c.cause)
			}
			t.Logf("%s: %s: %s", c.spec, rec.Verdict, strings.Join(rec.Causes, " "))
		})
	}
}
