// Package certify turns a full run of the catalogue on one runtime into a
// certification bundle and checks bundles: the way Kubernetes conformance
// certifies a product (sonobuoy's certified-conformance mode: every
// conformance test run, none skipped, the logs and JUnit kept beside the
// verdict), for WASI runtimes.
//
// A bundle is a directory:
//
//	junit.xml           the run's JUnit report
//	results.jsonl       one result record per spec (verdicts.Record)
//	records.jsonl       one canonical record per spec (package records)
//	summary.json        the run's summary (reports.Summary)
//	run.log             everything the run printed
//	certificate.json    the Certificate; certificate.md the same for people
//	attestation.intoto.json  an in-toto Statement (v1) whose predicate is the certificate
//	attestation.dsse.json    that statement signed (a DSSE envelope; with --sign-key only)
//	manifest.json       the SHA-256 of every other file
//
// The certificate names the evidence files' digests too, so a signature
// over the statement covers every file of the run.
//
// Certification reads every spec's verdict before expectations: a known
// deviation is still a failure (verdicts.ExpectedFailure), listed with its
// reference.
package certify

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/wasicert/wasicert/reports"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

// Format is the certificate format's version.
const Format = 1

// PredicateType is the in-toto predicate type of a wasicert certificate.
const PredicateType = "https://github.com/wasicert/wasicert/certify/v1"

// Profile names: the capability profile holds the escape, leak and DoS
// specs (what the sandbox promises), the conformance profile the rest.
const (
	ProfileCapability  = "capability"
	ProfileConformance = "conformance"
)

// Verdicts a certificate gives.
const (
	Certified    = "certified"
	NotCertified = "not certified"
	// Incomplete: the run did not run every spec (interrupted, set-up
	// failed); nothing is certified.
	Incomplete = "incomplete"
)

// Certificate is what a certification run established.
type Certificate struct {
	Format         int    `json:"format"`
	Runtime        string `json:"runtime"`
	RuntimeVersion string `json:"runtime_version"`
	OS             string `json:"os"`
	Kernel         string `json:"kernel,omitempty"`
	Arch           string `json:"arch"`
	Emulated       string `json:"emulated,omitempty"`
	Wasicert       string `json:"wasicert"`
	// Probes is the probe set's digest (probes.SetDigest), Catalogue the
	// catalogue's (catalogue.Digest): verify refuses a bundle whose digests
	// are not its own wasicert's.
	Probes    string `json:"probes"`
	Catalogue string `json:"catalogue"`
	// Subject is what is certified: the runtime's binary or image.
	Subject Subject   `json:"subject"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
	// Complete says every spec of the catalogue got a verdict; when not,
	// Incomplete says why (an interrupt, a set-up error).
	Complete   bool   `json:"complete"`
	Incomplete string `json:"incomplete,omitempty"`
	Specs      int    `json:"specs"`
	// Counts counts the verdicts before expectations.
	Counts map[verdicts.Verdict]int `json:"counts"`
	// HostChecks counts the specs each host-side detection ran for, out of
	// Judged; Bounds and HostFiles say what bounded the runs and whether
	// host-file stand-ins were possible (reports.Host).
	HostChecks map[string]int `json:"host_checks"`
	Judged     int            `json:"judged"`
	Bounds     []string       `json:"bounds,omitempty"`
	HostFiles  string         `json:"host_files,omitempty"`
	Profiles   []Profile      `json:"profiles"`
	// Verdict is Certified when every profile is, Incomplete when the run
	// was, else NotCertified.
	Verdict string `json:"verdict"`
	// Evidence holds the SHA-256 of each evidence file of the bundle.
	Evidence map[string]string `json:"evidence"`
}

// Subject is the artifact a certificate is about.
type Subject struct {
	Name string `json:"name"`
	// Digest maps an algorithm to the hex digest ({"sha256": "..."}).
	Digest map[string]string `json:"digest"`
	// Note says how the subject was chosen ("the runtime is compiled into
	// wasicert", "--subject-digest").
	Note string `json:"note,omitempty"`
}

// Profile is a certificate's verdict for one profile.
type Profile struct {
	Name string `json:"name"`
	// Verdict: Certified when every MUST spec passed, NotCertified when
	// one did not, Incomplete when the run was.
	Verdict string  `json:"verdict"`
	Levels  []Level `json:"levels"`
}

// Level is one profile's results at one requirement level (MUST, SHOULD).
type Level struct {
	Level  string `json:"level"`
	Specs  int    `json:"specs"`
	Passed int    `json:"passed"`
	// Failed lists every spec that did not pass, known deviations included.
	Failed []Finding `json:"failed,omitempty"`
	// Skipped lists every spec that did not apply, with why (a feature the
	// runtime does not claim, another OS).
	Skipped []Finding `json:"skipped,omitempty"`
}

// Finding is one spec that did not pass.
type Finding struct {
	Spec    string           `json:"spec"`
	Verdict verdicts.Verdict `json:"verdict"`
	Reason  string           `json:"reason,omitempty"`
	// Ref is the spec's reference, or the known deviation's.
	Ref string `json:"ref,omitempty"`
	// Known is set when the runtime's expectations record the deviation.
	Known bool `json:"known,omitempty"`
}

// ProfileOf is the profile a spec belongs to.
func ProfileOf(s suites.Spec) string {
	if s.Severity == suites.SeverityConformance {
		return ProfileConformance
	}
	return ProfileCapability
}

// Judge fills the certificate's counts, profiles and verdict from the
// catalogue and one record per spec run (a spec with no record was not
// run), and the host's checks from the summary.
func (c *Certificate) Judge(catalogue []suites.Spec, recs []verdicts.Record, sum reports.Summary) {
	byID := map[string]verdicts.Record{}
	for _, r := range recs {
		byID[r.Spec] = r
	}
	c.Specs = len(catalogue)
	c.Counts = map[verdicts.Verdict]int{}
	c.HostChecks, c.Judged = sum.Checks, sum.Judged
	c.Bounds, c.HostFiles = sum.Host.Bounds, sum.Host.HostFiles
	missing := 0
	profiles := map[string]*Profile{}
	for _, name := range []string{ProfileCapability, ProfileConformance} {
		profiles[name] = &Profile{Name: name, Levels: []Level{{Level: string(suites.MUST)}, {Level: string(suites.SHOULD)}}}
	}
	for _, s := range catalogue {
		p := profiles[ProfileOf(s)]
		i := slices.IndexFunc(p.Levels, func(l Level) bool { return l.Level == string(s.Level) })
		if i < 0 {
			p.Levels = append(p.Levels, Level{Level: string(s.Level)})
			i = len(p.Levels) - 1
		}
		l := &p.Levels[i]
		l.Specs++
		r, ok := byID[s.ID]
		if !ok {
			missing++
			l.Failed = append(l.Failed, Finding{Spec: s.ID, Verdict: verdicts.Interrupted, Reason: "not run", Ref: s.Ref})
			continue
		}
		actual := cmp.Or(r.Actual, r.Verdict)
		c.Counts[actual]++
		switch actual {
		case verdicts.Pass:
			l.Passed++
		case verdicts.Skipped:
			l.Skipped = append(l.Skipped, Finding{Spec: s.ID, Verdict: actual, Reason: r.Reason})
		default:
			f := Finding{Spec: s.ID, Verdict: actual, Reason: r.Reason, Ref: s.Ref}
			if r.Expectation != nil {
				f.Known, f.Ref = true, cmp.Or(r.Expectation.Reference, s.Ref)
			}
			l.Failed = append(l.Failed, f)
		}
	}
	if missing > 0 || sum.Interrupted {
		c.Complete = false
		if c.Incomplete == "" {
			c.Incomplete = fmt.Sprintf("%d of %d specs were not run", missing, len(catalogue))
			if sum.Interrupted {
				c.Incomplete = "the run was interrupted: " + c.Incomplete
			}
		}
	} else if c.Incomplete == "" {
		c.Complete = true
	}
	c.Profiles = nil
	c.Verdict = Certified
	for _, name := range []string{ProfileCapability, ProfileConformance} {
		p := profiles[name]
		p.Verdict = Certified
		for _, l := range p.Levels {
			if l.Level == string(suites.MUST) && len(l.Failed) > 0 {
				p.Verdict = NotCertified
			}
		}
		if !c.Complete {
			p.Verdict = Incomplete
		}
		if p.Verdict != Certified && c.Verdict != Incomplete {
			c.Verdict = p.Verdict
		}
		c.Profiles = append(c.Profiles, *p)
	}
}
