package suites_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/internal/naive"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/suites/catalogue"
	"github.com/wasicert/wasicert/verdicts"
)

// runSpecs runs the named specs on r without expectations.
func runSpecs(t *testing.T, r runners.Runner, ids ...string) map[string]verdicts.Record {
	t.Helper()
	out := map[string]verdicts.Record{}
	for _, id := range ids {
		spec, ok := catalogue.Lookup(id)
		if !ok {
			t.Fatalf("no spec %s", id)
		}
		rec, err := suites.Execute(context.Background(), spec, suites.Options{Runner: r})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		out[id] = rec
	}
	return out
}

// hasCause reports whether rec names a cause starting with prefix.
func hasCause(rec verdicts.Record, prefix string) bool {
	return slices.ContainsFunc(rec.Causes, func(c string) bool { return strings.HasPrefix(c, prefix) })
}

// TestReadOnlyOnThePreopenFdOnly: a runtime that enforces a read-only
// preopen on the preopen's own fd alone (the wasmtime-class mistake,
// GHSA-4ch3-9j33-3pmj) passes the preopen.readonly-* specs, and only
// rights.readonly-derived (through the derived directory fds) and
// link.crossperm (the link or rename into the writable preopen) catch it.
func TestReadOnlyOnThePreopenFdOnly(t *testing.T) {
	r := naive.NewVariant(naive.Options{ShallowReadOnly: true})
	got := runSpecs(t, r, "preopen.readonly-write", "preopen.readonly-create", "preopen.readonly-truncate",
		"rights.readonly-derived", "link.crossperm")
	for _, id := range []string{"preopen.readonly-write", "preopen.readonly-create", "preopen.readonly-truncate"} {
		if got[id].Verdict != verdicts.Pass {
			t.Errorf("%s: %s (%s), want pass: the preopen fd itself is read-only", id, got[id].Verdict, got[id].Reason)
		}
	}
	if rec := got["rights.readonly-derived"]; rec.Verdict != verdicts.Escape || !hasCause(rec, "step:derived.") {
		t.Errorf("rights.readonly-derived: %s %v (%s), want an escape caused by a derived-directory step", rec.Verdict, rec.Causes, rec.Reason)
	}
	if rec := got["link.crossperm"]; rec.Verdict != verdicts.Escape || !hasCause(rec, "step:cross.") {
		t.Errorf("link.crossperm: %s %v (%s), want an escape caused by a cross-permission step", rec.Verdict, rec.Causes, rec.Reason)
	}
}

// TestRightsVariants: a runtime that records rights and never enforces them
// fails rights.drop-enforced and rights.no-escalation on their own steps;
// one that reports narrow directory rights fails rights.dir-reported.
func TestRightsVariants(t *testing.T) {
	unenforced := runSpecs(t, naive.NewVariant(naive.Options{RightsUnenforced: true}), "rights.drop-enforced", "rights.no-escalation")
	for id, cause := range map[string]string{"rights.drop-enforced": "step:drop.", "rights.no-escalation": "step:esc."} {
		if rec := unenforced[id]; rec.Verdict != verdicts.Fail || !hasCause(rec, cause) {
			t.Errorf("%s on rights that are never enforced: %s %v (%s), want fail caused by %s*", id, rec.Verdict, rec.Causes, rec.Reason, cause)
		}
	}
	// The plain naive runtime answers NOSYS: rights unsupported, a note.
	plain := runSpecs(t, naive.New(), "rights.drop-enforced", "rights.no-escalation", "rights.dir-reported")
	for id, rec := range plain {
		if rec.Verdict != verdicts.Pass {
			t.Errorf("%s on a runtime without fd_fdstat_set_rights (NOSYS) and full rights: %s (%s), want pass", id, rec.Verdict, rec.Reason)
		}
	}
	narrow := runSpecs(t, naive.NewVariant(naive.Options{NarrowDirRights: true}), "rights.dir-reported")
	if rec := narrow["rights.dir-reported"]; rec.Verdict != verdicts.Fail || !hasCause(rec, "step:dir.preopen") {
		t.Errorf("rights.dir-reported on narrow directory rights: %s %v (%s), want fail caused by step:dir.preopen", rec.Verdict, rec.Causes, rec.Reason)
	}
}
