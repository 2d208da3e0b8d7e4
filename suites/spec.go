// Package suites holds wasicert's catalogue of specs and the harness that
// runs one spec on one runtime and judges it from the host.
//
// A spec is a plain Go value: an ID, labels, the rule it checks with a link,
// the features it needs, a plan (which probe, which steps, what is granted)
// and a judge over the evidence. The ginkgo suites (suites/capability),
// `wasicert list` and the reports all read the same catalogue, so adding a
// check is adding one Spec.
//
// Verdicts come from the host: the probe only reports what each call
// returned; the harness decides, and checks the fixture's canaries outside
// the sandbox so an escape is caught even when the guest's output looks fine.
package suites

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/verdicts"
)

// Area groups specs by what they check; it becomes the label Area:<area>.
type Area string

const (
	AreaPreopen Area = "preopen"
	AreaEnv     Area = "env"
	AreaArgs    Area = "args"
	AreaSocket  Area = "socket"
	AreaExit    Area = "exit"
	// AreaShim holds the specs of a containerd wasm shim: what the OCI spec
	// grants the guest (runs only on runners claiming FeatureContainer).
	AreaShim Area = "shim"
	// AreaPath: path traversal (trailing slashes, . and .. mixes, empty,
	// NUL-bearing and very long paths, Windows names).
	AreaPath Area = "path"
	// AreaSymlink: symlinks as final and intermediate components, chains,
	// loops, races driven from the host.
	AreaSymlink Area = "symlink"
	// AreaLink: hard links and renames, within and across preopens.
	AreaLink Area = "link"
	// AreaFD: fd management: renumber, close, the fd namespace.
	AreaFD Area = "fd"
	// AreaRights: the rights model (fd rights, derived directories).
	AreaRights Area = "rights"
	// AreaClock: clocks, random_get, poll_oneoff, sched_yield.
	AreaClock Area = "clock"
	// AreaStdio: fds 0, 1 and 2.
	AreaStdio Area = "stdio"
	// AreaResource: host resource bounds a guest must not break through.
	AreaResource Area = "resource"
	// AreaPortability: the results the WebAssembly spec makes the same on
	// every CPU and runtime (NaN rules, rounding, integer ops, traps,
	// memory.grow, endianness).
	AreaPortability Area = "portability"
	// AreaEngine: what a container engine (Docker) adds between the user's
	// docker run and the shim: its env, hostname, file binds, flags,
	// stop, kill, logs, removal (runs only on runners claiming
	// FeatureEngine).
	AreaEngine Area = "engine"
	// AreaPod: what Kubernetes adds around a wasm container of a pod, as
	// kubelet drives it through the CRI: the service-account token, the
	// pod's hostname, network and env, its security context, the sandbox
	// (pause) image, deletion (runs only on runners claiming FeaturePod).
	AreaPod Area = "pod"
)

// Group is the catalogue group an area belongs to, numbered as in
// ../shared/reference/capability-catalogue.md Part D (env and args are one
// group; the shim's specs are group 13, containers only; the engine's 14,
// Docker only).
func (a Area) Group() int {
	switch a {
	case AreaPreopen:
		return 1
	case AreaPath:
		return 2
	case AreaSymlink:
		return 3
	case AreaLink:
		return 4
	case AreaFD:
		return 5
	case AreaRights:
		return 6
	case AreaEnv, AreaArgs:
		return 7
	case AreaClock:
		return 8
	case AreaSocket:
		return 9
	case AreaExit:
		return 10
	case AreaStdio:
		return 11
	case AreaResource:
		return 12
	case AreaShim:
		return 13
	case AreaPortability:
		return 14
	case AreaEngine:
		return 15
	case AreaPod:
		return 16
	}
	return 0
}

// Severity is what a failure of the spec means; it becomes Severity:<s>.
type Severity string

const (
	SeverityEscape      Severity = "escape"
	SeverityLeak        Severity = "leak"
	SeverityConformance Severity = "conformance"
	// SeverityDoS: the guest made the host crash, hang or use resources
	// without bound (the catalogue's "(DoS)" tag).
	SeverityDoS Severity = "dos"
)

// Level is the strength of the rule (RFC 2119); it becomes Level:<l>.
type Level string

const (
	MUST   Level = "MUST"
	SHOULD Level = "SHOULD"
)

// Spec is one check of the catalogue.
type Spec struct {
	// ID is stable across releases: reports, expectations and certificates
	// refer to it.
	ID       string
	Area     Area
	Severity Severity
	Level    Level
	// Rule states in one line what a runtime must do.
	Rule string
	// Ref links the rule: the WASI spec text, path-resolution.md, an advisory.
	Ref string
	// Refs are further references: the advisories (GHSA, CVE) a spec
	// reproduces, upstream issues, the wasi-testsuite test it extends.
	Refs []string
	// Racy says what the runtime answers depends on timing (a race with
	// the host): the committed findings keep the verdict, not the errnos
	// or notes, which vary from run to run.
	Racy bool
	// OS, when set, is the only host OS (runtime.GOOS) the spec means
	// anything on, e.g. "windows" for DOS device names; elsewhere it is
	// skipped with that reason.
	OS string
	// Requires lists the runtime features the spec needs; a runtime that does
	// not claim one of them gets the spec skipped, with that as the reason.
	Requires []runners.Feature
	// Accept is the errno set that refuses a Refuse step the way the rule
	// wants; nil means {PERM, NOTCAPABLE}, the sandbox-violation errnos.
	Accept []string
	// StrictErrno makes an errno outside Accept fail the spec; otherwise it
	// passes the security check and is recorded as a conformance note.
	StrictErrno bool
	// Fixture adds entries to fixtures.Standard for this spec alone (a
	// symlink chain, a race directory); entries outside the writable dirs
	// are snapshotted like the rest of the tree.
	Fixture fixtures.Tree
	// Plan says what to run. It is called with the materialised fixture and
	// the runtime's features.
	Plan func(fx *fixtures.Fixture, features runners.Features) Plan
	// Judge decides from the evidence. The harness has already judged
	// crashes, timeouts and canaries by then.
	Judge func(ev *Evidence) Judgement
}

// Labels returns the spec's ginkgo labels.
func (s Spec) Labels() []string {
	return []string{
		"Area:" + string(s.Area),
		"Severity:" + string(s.Severity),
		"Level:" + string(s.Level),
	}
}

// Plan is what one spec asks a runtime to run: a probe, its steps or
// arguments, what is granted, the exit status it must end with, and the
// host-side actors around the run. A new kind of spec composes actors; it
// adds no field here and no branch to Execute.
type Plan struct {
	// Probe names the probe module, e.g. "fs".
	Probe string
	// Steps are the probe's steps, in order.
	Steps []Step
	// Args, when set, is argv[1:] instead of the steps (probes that take
	// no steps, e.g. exit.wasm).
	Args []string
	// Env is the exact guest environment.
	Env []string
	// Preopens are granted from fd 3 upwards.
	Preopens []runners.Preopen
	// ExitCode is the exit status the run must end with (default 0).
	ExitCode int
	// Actors act on the host around the run (see Actor): a listener and
	// its client, a signal.
	Actors []Actor
}

// Step is one probe step and what the spec expects of it.
type Step struct {
	Op    string
	Check string
	Args  []string
	// Expect says how the harness judges the step's record.
	Expect Expect
	// NoteIfOK, for a Tolerate step, is the conformance note recorded when
	// the call succeeds.
	NoteIfOK string
}

// Expect is how one step is judged.
type Expect int

const (
	// Refuse: the call must fail. Success is a violation of the spec's
	// severity; an errno outside the spec's accepted set is a conformance note.
	Refuse Expect = iota
	// Succeed: the call must succeed: a positive control that keeps a
	// runtime which refuses everything from passing the refusals.
	Succeed
	// Works: the call must succeed, and that is what the spec checks (a
	// conformance rule such as "what was granted works"), not a control.
	Works
	// Deny: the call must fail, with any errno (libc calls, fds that do
	// not exist). Success is a violation of the spec's severity.
	Deny
	// Tolerate: any answer is fine (e.g. creating a symlink whose target
	// points out: legal to create, not to follow); NoteIfOK notes success.
	Tolerate
	// Custom: the spec's own Judge looks at the record.
	Custom
)

// argv renders steps as the probe's command line (argv[1:]).
func argv(steps []Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Op, s.Check)
		out = append(out, s.Args...)
	}
	return out
}

// Judgement is a spec's verdict with its reason and notes.
type Judgement struct {
	Verdict verdicts.Verdict
	Reason  string
	Notes   []string
	// Causes name the evidence behind a failing Verdict (see
	// verdicts.Record.Causes); the harness names a judge's own when it
	// gives none.
	Causes []string
}

// Pass is a passing Judgement.
func Pass() Judgement { return Judgement{Verdict: verdicts.Pass} }

// Worse keeps the more serious of two judgements (verdicts.Rank), merging
// notes, and the causes of both when they are equally serious.
func Worse(a, b Judgement) Judgement {
	notes := append(append([]string{}, a.Notes...), b.Notes...)
	if verdicts.Worse(b.Verdict, a.Verdict) {
		b.Notes = notes
		return b
	}
	a.Notes = notes
	if a.Verdict == b.Verdict {
		for _, c := range b.Causes {
			if !slices.Contains(a.Causes, c) {
				a.Causes = append(a.Causes, c)
			}
		}
	}
	return a
}

// Violation maps a spec's severity to the verdict of breaking it.
func (s Severity) Violation() verdicts.Verdict {
	switch s {
	case SeverityEscape:
		return verdicts.Escape
	case SeverityLeak:
		return verdicts.Leak
	}
	return verdicts.Fail
}

// quote renders a probe argument for a reason line.
func quote(s string) string { return fmt.Sprintf("%q", s) }

// String renders the step as the call it asks for, e.g. open("/sandbox", "..", ...).
func (st Step) String() string {
	return st.Op + "(" + strings.Join(mapStrings(st.Args, quote), ", ") + ")"
}

func mapStrings(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}

// Description is what a spec says about itself, without its plan: the
// lines of `wasicert list` and the entries of the golden list
// (suites/conformance.yaml).
type Description struct {
	ID       string   `json:"id" yaml:"id"`
	Area     string   `json:"area" yaml:"area"`
	Group    int      `json:"group" yaml:"group"`
	Severity string   `json:"severity" yaml:"severity"`
	Level    string   `json:"level" yaml:"level"`
	Labels   []string `json:"labels" yaml:"-"`
	Rule     string   `json:"rule" yaml:"rule"`
	Ref      string   `json:"ref" yaml:"ref"`
	Refs     []string `json:"refs,omitempty" yaml:"refs,omitempty"`
	Requires []string `json:"requires,omitempty" yaml:"requires,omitempty"`
	OS       string   `json:"os,omitempty" yaml:"os,omitempty"`
}

// Describe returns the spec's Description.
func (s Spec) Describe() Description {
	d := Description{
		ID: s.ID, Area: string(s.Area), Group: s.Area.Group(), Severity: string(s.Severity), Level: string(s.Level),
		Labels: s.Labels(), Rule: s.Rule, Ref: s.Ref, Refs: slices.Clone(s.Refs), OS: s.OS,
	}
	for _, f := range s.Requires {
		d.Requires = append(d.Requires, string(f))
	}
	return d
}
