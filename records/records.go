// Package records reduces wasicert's results to canonical result records:
// what a spec's run showed that must be the same on every CPU architecture
// (WebAssembly's promise) and, for a rule without latitude, on every runtime
// (WASI's). Records from two runs are compared field by field and by digest
// (package compare, `wasicert compare`).
//
// A canonical record keeps the verdict before expectations, the evidence
// behind it, every call the probe made with its errno name, how the run
// ended, and the data the calls returned, normalised: what legitimately
// differs from run to run (canary tokens, fixture paths, timestamps,
// durations, random bytes) is replaced by a placeholder, never dropped, so a
// record still shows that the value was there. File descriptor, inode and
// device numbers never reach a record: the probes print them in fields
// that verdicts.Call does not keep, and readdir's order is reduced to
// counts by the probe itself. Racy specs (suites.Spec.Racy) keep their
// verdict and evidence only. RATIONALE.md, "Canonical records", says why
// each rule is what it is.
//
// Every record also names where it was measured (Env): OS, kernel,
// architecture, whether the run was emulated, the runtime and its version,
// wasicert's version and the probe set's digest.
package records

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strings"

	"github.com/wasicert/wasicert/verdicts"
)

// Format is the record format's version: a reader refuses a record of a
// newer format with a message, rather than misread it.
const Format = 1

// Env says where a record was measured.
type Env struct {
	OS     string `json:"os"`
	Kernel string `json:"kernel,omitempty"`
	// Arch is the CPU architecture the runtime ran on, as GOARCH names it
	// (amd64, arm64, s390x, ...).
	Arch string `json:"arch"`
	// Emulated names the emulator the runtime ran under ("qemu-aarch64"),
	// "" for a native run.
	Emulated string `json:"emulated,omitempty"`
	// Node names the cluster node the run certified ($WASICERT_NODE_NAME,
	// which ci/kubernetes's manifests set from the pod's spec.nodeName), ""
	// outside a cluster: two nodes of one architecture are two sets.
	Node           string `json:"node,omitempty"`
	Runtime        string `json:"runtime"`
	RuntimeVersion string `json:"runtime_version"`
	// Wasicert is wasicert's version (internal/buildinfo.Version).
	Wasicert string `json:"wasicert"`
	// Probes is the probe set's digest (probes.SetDigest): records are only
	// comparable when it is the same.
	Probes string `json:"probes"`
}

// Label names the environment in one short word-ish string for tables:
// "wazero/amd64", "wazero/arm64(qemu-aarch64)", "cri/amd64@node-1".
func (e Env) Label() string {
	l := e.Runtime + "/" + e.Arch
	if e.Emulated != "" {
		l += "(" + e.Emulated + ")"
	}
	if e.Node != "" {
		l += "@" + e.Node
	}
	return l
}

// Call is one call the probe made, normalised (see Normalise).
type Call struct {
	Check   string   `json:"check"`
	Op      string   `json:"op"`
	Call    string   `json:"call,omitempty"`
	Outcome string   `json:"outcome"`
	Errno   string   `json:"errno"`
	Calls   []string `json:"calls,omitempty"`
	Data    string   `json:"data,omitempty"`
}

// Expected is the part of a verdicts.Expectation a record keeps.
type Expected struct {
	Verdict   verdicts.Verdict `json:"verdict"`
	Reference string           `json:"reference"`
	// Intermittent: the deviation does not show on every run.
	Intermittent bool `json:"intermittent,omitempty"`
}

// Record is one spec's canonical result on one runtime in one environment.
type Record struct {
	Format   int    `json:"format"`
	Spec     string `json:"spec"`
	Area     string `json:"area"`
	Severity string `json:"severity"`
	Level    string `json:"level"`
	// Verdict is the host's verdict before expectations (Record.Actual):
	// the runtime's behaviour, not what this runtime was expected to do.
	Verdict verdicts.Verdict `json:"verdict"`
	// Causes is the evidence behind a failing verdict (verdicts.Record.Causes).
	Causes []string `json:"causes,omitempty"`
	// Racy: the spec's answers depend on timing (suites.Spec.Racy); its calls
	// are left out and only the verdict and causes are compared.
	Racy bool `json:"racy,omitempty"`
	// Expected is the runtime's expectation covering the spec (a known
	// deviation, with its reference), nil when none does. The verdict after
	// expectations is Verdict turned expected-failure when Expected.Verdict
	// matches it, unexpected-pass when the run passed.
	Expected *Expected `json:"expected,omitempty"`
	Calls    []Call    `json:"calls,omitempty"`
	Ended    string    `json:"ended,omitempty"`
	ExitCode int       `json:"exit_code"`
	// Digest is "sha256:" and the SHA-256 of the record's portable part
	// (everything above but Area, Severity, Level, Racy and Expected, as
	// JSON): two records with one digest showed the same.
	Digest string `json:"digest"`
	Env    Env    `json:"env"`
}

// portable is the part of a record its digest covers.
type portable struct {
	Spec     string           `json:"spec"`
	Verdict  verdicts.Verdict `json:"verdict"`
	Causes   []string         `json:"causes,omitempty"`
	Calls    []Call           `json:"calls,omitempty"`
	Ended    string           `json:"ended,omitempty"`
	ExitCode int              `json:"exit_code"`
}

// Make reduces a result to its canonical record. racy is the spec's
// suites.Spec.Racy.
func Make(r verdicts.Record, racy bool, env Env) Record {
	c := Record{
		Format: Format, Spec: r.Spec, Area: r.Area, Severity: r.Severity, Level: r.Level,
		Verdict: r.Actual, Racy: racy, Ended: r.Ended, ExitCode: r.ExitCode, Env: env,
	}
	if c.Verdict == "" {
		c.Verdict = r.Verdict
	}
	for _, cause := range r.Causes {
		c.Causes = append(c.Causes, NormaliseText(cause))
	}
	if e := r.Expectation; e != nil {
		c.Expected = &Expected{Verdict: e.Verdict, Reference: e.Reference, Intermittent: e.Intermittent}
	}
	if !racy {
		for _, call := range r.Calls {
			c.Calls = append(c.Calls, Call{
				Check: call.Check, Op: call.Op, Call: call.Call, Outcome: call.Outcome,
				Errno: call.Errno, Calls: call.Calls, Data: Normalise(call.Op, call.Data),
			})
		}
	}
	c.Digest = c.digest()
	return c
}

func (c Record) digest() string {
	b, _ := json.Marshal(portable{c.Spec, c.Verdict, c.Causes, c.Calls, c.Ended, c.ExitCode})
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Seal sets the record's digest from its content, for a record made or
// changed by hand (a test planting a divergence).
func (c Record) Seal() Record {
	c.Digest = c.digest()
	return c
}

// Verify reports whether the record's digest matches its content.
func (c Record) Verify() bool { return c.Digest == c.digest() }

// A rule replaces what varies from run to run in a call's data.
type rule struct {
	re   *regexp.Regexp
	repl string
}

// textRules apply to every call's data and to causes: tokens the harness
// makes fresh for every run (canaries, echo tokens) and the fixture's host
// path, which has a random name.
var textRules = []rule{
	// fixtures.Canary and the shim specs' canaries: a fresh 128-bit token.
	{regexp.MustCompile(`(CANARY-)[0-9a-f]{16,64}`), "${1}<token>"},
	// The socket specs' echo and peek tokens (catalogue/socket.go).
	{regexp.MustCompile(`(wasicert-(?:echo|peek)-)[0-9a-f]{8}`), "${1}<token>"},
	// A fixture's host path: <tmp>/wasicert-run-N/wasicert-fixture-N.
	{regexp.MustCompile(`(?:/[^/\x00\s"]+)*/wasicert-run-[0-9]+/wasicert-fixture-[0-9]+`), "<fixture>"},
	{regexp.MustCompile(`(?:/[^/\x00\s"]+)*/wasicert-fixture-[0-9]+`), "<fixture>"},
}

// opRules apply to the data of one op: values that are clock readings,
// durations or random bytes by definition.
var opRules = map[string][]rule{
	// clock-mono prints the first and last reading of the monotonic clock.
	"clock-mono": {{regexp.MustCompile(`\b(first|last)=[0-9]+`), "$1=<ns>"}},
	// sleeps prints the shortest and longest measured sleep.
	"sleeps": {{regexp.MustCompile(`\b(min|max)=[0-9]+`), "$1=<ns>"}},
	// The resource ops time themselves.
	"fd-exhaust": {{regexp.MustCompile(`\bms=[0-9]+`), "ms=<ms>"}},
	"iovecs":     {{regexp.MustCompile(`\bms=[0-9]+`), "ms=<ms>"}},
	// stat-times reads back timestamps; a runtime that ignored the ones
	// set shows the wall clock (2017..2039 in nanoseconds), not a fixed value.
	"stat-times": {{regexp.MustCompile(`\b(atim|mtim)=1[5-9][0-9]{17}\b|\b(atim|mtim)=2[0-1][0-9]{17}\b`), "${1}${2}=<walltime>"}},
}

// Normalise returns op's data with what varies from run to run replaced by
// placeholders: canary and echo tokens, fixture paths, clock readings and
// durations, and random_get's bytes (their length is kept).
func Normalise(op, data string) string {
	if data == "" {
		return ""
	}
	if op == "random" {
		return fmt.Sprintf("<random %d bytes>", len(data))
	}
	data = NormaliseText(data)
	for _, r := range opRules[op] {
		data = r.re.ReplaceAllString(data, r.repl)
	}
	return data
}

// NormaliseText applies the rules every text gets (tokens, fixture paths).
func NormaliseText(s string) string {
	for _, r := range textRules {
		s = r.re.ReplaceAllString(s, r.repl)
	}
	return s
}

// EnvNode names the node a run certifies (Env.Node).
const EnvNode = "WASICERT_NODE_NAME"

// ThisEnv describes this process's environment for runtime name and
// version. The architecture is GOARCH unless $WASICERT_RUNTIME_ARCH says
// the runtime runs on another one (a worker started under an emulator);
// Emulated is $WASICERT_EMULATOR, else what Emulator detects; Node is
// $WASICERT_NODE_NAME.
func ThisEnv(runtimeName, runtimeVersion, wasicertVersion, probeDigest string) Env {
	e := Env{
		OS: runtime.GOOS, Arch: runtime.GOARCH, Runtime: runtimeName, RuntimeVersion: runtimeVersion,
		Wasicert: wasicertVersion, Probes: probeDigest,
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	if a := os.Getenv("WASICERT_RUNTIME_ARCH"); a != "" {
		e.Arch = a
	}
	e.Node = os.Getenv(EnvNode)
	e.Emulated = os.Getenv("WASICERT_EMULATOR")
	if e.Emulated == "" && e.Arch == runtime.GOARCH {
		e.Emulated = Emulator()
	}
	return e
}

// Emulator detects a user-mode emulator this process runs under, for a run
// nobody said was emulated: under qemu-user, /proc/cpuinfo is the host's
// (an x86-64 "vendor_id" line under a GOARCH that is not amd64 or 386).
// It returns "qemu-user" or "".
func Emulator() string {
	if runtime.GOARCH == "amd64" || runtime.GOARCH == "386" {
		return ""
	}
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, _, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "vendor_id" {
			if v := strings.TrimSpace(line[len(k)+1:]); v == "GenuineIntel" || v == "AuthenticAMD" {
				return "qemu-user"
			}
		}
	}
	return ""
}

// Write writes records as JSON lines.
func Write(w io.Writer, recs []Record) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// ErrNotRecords says a file is not a canonical records file.
var ErrNotRecords = errors.New("not a canonical records file")

// Read reads a records file (JSON lines). A line that is not a record, a
// record of a newer format or one whose digest does not match its content
// is an error naming the line; a truncated last line (a run killed while
// writing it) is left out.
func Read(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	n := 0
	var pending error
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if pending != nil {
			return nil, pending
		}
		// A newer format may add fields: its format number is read first,
		// so it is named as newer rather than as not a records file.
		var head struct {
			Format int `json:"format"`
		}
		if json.Unmarshal(line, &head) == nil && head.Format > Format {
			return nil, fmt.Errorf("%s:%d: record format %d is newer than this wasicert's (%d): use the wasicert that wrote it, or a newer one", path, n, head.Format, Format)
		}
		var r Record
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			// Only the last line may be cut short.
			pending = fmt.Errorf("%s:%d: %w (%v): write it with `wasicert run --records` or `wasicert matrix`", path, n, ErrNotRecords, err)
			if !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "unexpected end") {
				return nil, pending
			}
			continue
		}
		switch {
		case r.Format > Format:
			return nil, fmt.Errorf("%s:%d: record format %d is newer than this wasicert's (%d): use the wasicert that wrote it, or a newer one", path, n, r.Format, Format)
		case r.Format < 1 || r.Spec == "" || r.Digest == "":
			return nil, fmt.Errorf("%s:%d: %w (no format, spec or digest): write it with `wasicert run --records` or `wasicert matrix`", path, n, ErrNotRecords)
		case !r.Verify():
			return nil, fmt.Errorf("%s:%d: record %s's digest does not match its content: the file was edited after it was written", path, n, r.Spec)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}
