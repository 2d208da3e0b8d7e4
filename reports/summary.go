package reports

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/wasicert/wasicert/verdicts"
)

// Summary counts a run's verdicts and lists everything that is not a plain
// pass: failures, expected failures with their references, skips with their
// reasons, and conformance notes.
type Summary struct {
	// RunID is the run's ID, as in every record of the run.
	RunID   string `json:"run_id,omitempty"`
	Runtime string `json:"runtime"`
	Version string `json:"runtime_version"`
	// Host is where the run was measured.
	Host  Host `json:"host"`
	Specs int  `json:"specs"`
	// Counts holds one count per verdict, every verdict present.
	Counts map[verdicts.Verdict]int `json:"counts"`
	// Notes counts conformance notes over all specs.
	Notes int `json:"conformance_notes"`
	// Interrupted is true when the run was stopped from outside (Ctrl-C,
	// SIGTERM, an aborting parallel process) before its end.
	Interrupted bool `json:"interrupted"`
	// NotRun counts the specs the run selected that got no verdict: the
	// interrupt (or a failed suite set-up) came first. They are neither
	// passes nor skips.
	NotRun int `json:"not_run"`
	// Green is true when every selected spec has a verdict, none of them
	// fails a run, and the run was not interrupted.
	Green bool `json:"green"`
	// Checks counts, for each host-side check (suites.CheckOutputCanaries
	// and the like), the specs it ran for; a check absent here or counted
	// below the specs run was not active for the others (host-files needs
	// root, for instance).
	Checks map[string]int `json:"host_checks"`
	// Judged counts the specs that were run and judged (not skipped):
	// what Checks are counted against.
	Judged int `json:"judged"`
	// Items lists every spec whose verdict is not a plain pass, and every
	// note, sorted by spec ID.
	Items []Item `json:"items"`
}

// Item is one line of a summary.
type Item struct {
	Spec    string           `json:"spec"`
	Verdict verdicts.Verdict `json:"verdict"`
	Actual  verdicts.Verdict `json:"actual,omitempty"`
	Reason  string           `json:"reason,omitempty"`
	// Reference is the known deviation's link, for expected failures.
	Reference string `json:"reference,omitempty"`
	Note      string `json:"note,omitempty"`
}

// Summarize makes the summary of one runtime's records.
func Summarize(records []verdicts.Record) Summary {
	s := Summary{Counts: map[verdicts.Verdict]int{}, Checks: map[string]int{}, Green: true}
	for _, v := range verdicts.All {
		s.Counts[v] = 0
	}
	for _, r := range records {
		if s.Runtime == "" {
			s.Runtime, s.Version = r.Runtime, r.Version
		}
		if s.RunID == "" {
			s.RunID = r.RunID
		}
		s.Specs++
		s.Counts[r.Verdict]++
		if r.Actual != verdicts.Skipped {
			s.Judged++
		}
		for _, c := range r.Checks {
			s.Checks[c]++
		}
		if !r.Verdict.Green() {
			s.Green = false
		}
		if r.Verdict != verdicts.Pass {
			it := Item{Spec: r.Spec, Verdict: r.Verdict, Reason: r.Reason}
			if r.Actual != r.Verdict {
				it.Actual = r.Actual
			}
			if r.Expectation != nil {
				it.Reference = r.Expectation.Reference
			}
			s.Items = append(s.Items, it)
		}
		for _, n := range r.Notes {
			s.Notes++
			s.Items = append(s.Items, Item{Spec: r.Spec, Verdict: r.Verdict, Note: n})
		}
	}
	sort.SliceStable(s.Items, func(i, j int) bool { return s.Items[i].Spec < s.Items[j].Spec })
	s.settle()
	return s
}

// hostChecks are the host-side checks the summary reports, in order (the
// names of suites.Check*; reports does not import suites).
var hostChecks = []string{"output-canaries", "writable-scan", "snapshot", "host-files"}

// settle makes Green false when the run was interrupted or left specs
// without a verdict.
func (s *Summary) settle() {
	if s.Interrupted || s.NotRun > 0 {
		s.Green = false
	}
}

// labels name each verdict in the printed summary.
var labels = map[verdicts.Verdict]string{
	verdicts.Pass: "passed", verdicts.Escape: "escapes", verdicts.Leak: "leaks", verdicts.Fail: "failed",
	verdicts.Crash: "crashes", verdicts.Timeout: "timeouts", verdicts.Interrupted: "interrupted", verdicts.ExpectedFailure: "expected failures",
	verdicts.UnexpectedPass: "unexpected passes", verdicts.Skipped: "skipped",
}

// Print writes the summary for people.
func (s Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "\nwasicert summary: %s %s, %d specs (%s/%s, kernel %s, fixtures on %s)\n",
		s.Runtime, s.Version, s.Specs, s.Host.OS, s.Host.Arch, s.Host.Kernel, s.Host.FixtureFS)
	var counts []string
	for _, v := range verdicts.All {
		counts = append(counts, fmt.Sprintf("%s %d", labels[v], s.Counts[v]))
	}
	counts = append(counts, fmt.Sprintf("conformance notes %d", s.Notes))
	fmt.Fprintf(w, "  %s\n", strings.Join(counts, " | "))
	if s.Judged > 0 {
		var checks []string
		for _, c := range hostChecks {
			checks = append(checks, fmt.Sprintf("%s %d/%d", c, s.Checks[c], s.Judged))
		}
		fmt.Fprintf(w, "  host checks (specs they ran for): %s\n", strings.Join(checks, " | "))
	}
	switch {
	case s.Host.HostFiles == "":
	case s.Host.HostFiles == HostFilesAvailable && s.Checks["host-files"] < s.Judged:
		fmt.Fprintf(w, "  host-file stand-ins: available here, applied to %d of %d specs: this runtime's runner does not apply them to the rest (a runtime started by another daemon, such as containerd, is out of its reach)\n", s.Checks["host-files"], s.Judged)
	default:
		fmt.Fprintf(w, "  host-file stand-ins: %s\n", s.Host.HostFiles)
	}
	for _, b := range s.Host.Bounds {
		fmt.Fprintf(w, "  bound: %s\n", b)
	}
	if s.RunID != "" {
		fmt.Fprintf(w, "  run %s\n", s.RunID)
	}
	switch {
	case s.Interrupted:
		fmt.Fprintf(w, "  INTERRUPTED: the run was stopped from outside; %d selected spec(s) not run (neither passed nor skipped)\n", s.NotRun)
	case s.NotRun > 0:
		fmt.Fprintf(w, "  NOT RUN: %d selected spec(s) got no verdict (the suite set-up failed)\n", s.NotRun)
	}
	for _, it := range s.Items {
		switch {
		case it.Note != "":
			fmt.Fprintf(w, "  note              %-32s %s\n", it.Spec, it.Note)
		case it.Verdict == verdicts.ExpectedFailure:
			fmt.Fprintf(w, "  EXPECTED FAILURE  %-32s %s: %s\n", it.Spec, it.Actual, it.Reason)
		default:
			fmt.Fprintf(w, "  %-17s %-32s %s\n", strings.ToUpper(string(it.Verdict)), it.Spec, it.Reason)
		}
	}
	switch {
	case s.Interrupted:
		fmt.Fprintln(w, "  result: INTERRUPTED")
	case s.Green:
		fmt.Fprintln(w, "  result: PASS")
	default:
		fmt.Fprintln(w, "  result: FAIL")
	}
}

// WriteJSON writes the summary as indented JSON, atomically.
func (s Summary) WriteJSON(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(path, append(b, '\n'))
}
