// Package catalogue is wasicert's catalogue of specs, one file per area, the
// way critest keeps its validation specs: each file holds the area's specs
// and the judges that decide them. A spec is a suites.Spec value; the
// harness (package suites) runs it and judges it from the host. Adding a
// check is adding a Spec to its area's list (see README, Where to add).
//
// Known deviations of each runtime, with the evidence they cover, are in
// expectations/*.yaml (Expectations).
package catalogue

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
)

// Links to the rules the specs check.
const (
	refPreview1       = "https://github.com/WebAssembly/WASI/blob/wasi-0.1/preview1/docs.md"
	refPathOpen       = refPreview1 + "#path_open"
	refPathResolution = "https://github.com/WebAssembly/wasi-filesystem/blob/main/path-resolution.md"
	refPrestat        = refPreview1 + "#fd_prestat_get"
	refAppABI         = "https://github.com/WebAssembly/WASI/blob/wasi-0.1/legacy/application-abi.md"
	refEnviron        = refPreview1 + "#environ_get"
	refArgs           = refPreview1 + "#args_get"
	refSock           = refPreview1 + "#sock_accept"
	refReadOnlyGHSA   = "https://github.com/bytecodealliance/wasmtime/security/advisories/GHSA-2r75-cxrj-cmph"
	refEnvTestsuite   = "https://github.com/WebAssembly/wasi-testsuite/tree/main/tests/assemblyscript/wasm32-wasip1/src"
	refProcExit       = refPreview1 + "#proc_exit"
	refRuntimeSpec    = "https://github.com/opencontainers/runtime-spec/blob/main/config.md#process"
	refRunwasiEnv     = "https://github.com/containerd/runwasi/issues/619"
	refShimDoc        = "https://github.com/wasicert/wasicert/blob/main/docs/shim.md"
)

// Guest names of the standard preopens.
const (
	guestSandbox = "/sandbox"
	guestRO      = "/ro"
)

// Open flags (preview-1 oflags).
const (
	oCreat     = 1
	oDirectory = 2
	oTrunc     = 8
)

// All returns every spec, in a stable order: by area, then as listed.
func All() []suites.Spec {
	var all []suites.Spec
	all = append(all, preopenSpecs()...)
	all = append(all, pathSpecs()...)
	all = append(all, symlinkSpecs()...)
	all = append(all, linkSpecs()...)
	all = append(all, fdSpecs()...)
	all = append(all, rightsSpecs()...)
	all = append(all, envSpecs()...)
	all = append(all, argsSpecs()...)
	all = append(all, clockSpecs()...)
	all = append(all, socketSpecs()...)
	all = append(all, socketSpecs2()...)
	all = append(all, exitSpecs()...)
	all = append(all, stdioSpecs()...)
	all = append(all, resourceSpecs()...)
	all = append(all, shimSpecs()...)
	all = append(all, portabilitySpecs()...)
	all = append(all, engineSpecs()...)
	all = append(all, podSpecs()...)
	return all
}

// Lookup returns the spec with id.
func Lookup(id string) (suites.Spec, bool) {
	for _, s := range All() {
		if s.ID == id {
			return s, true
		}
	}
	return suites.Spec{}, false
}

func openStep(check, dir, path string, follow bool, oflags int, access string, e suites.Expect) suites.Step {
	f := "nofollow"
	if follow {
		f = "follow"
	}
	return suites.Step{Op: probes.OpOpen, Check: check, Args: []string{dir, path, f, strconv.Itoa(oflags), access}, Expect: e}
}

func writeStep(check, dir, path string, oflags int, content string, e suites.Expect) suites.Step {
	return suites.Step{Op: probes.OpWrite, Check: check, Args: []string{dir, path, "follow", strconv.Itoa(oflags), content}, Expect: e}
}

func step(op, check string, e suites.Expect, args ...string) suites.Step {
	return suites.Step{Op: op, Check: check, Args: args, Expect: e}
}

// sandboxOnly grants the writable sandbox alone.
func sandboxOnly(fx *fixtures.Fixture) []runners.Preopen {
	return []runners.Preopen{{GuestPath: guestSandbox, HostDir: fx.Path("sandbox")}}
}

// sandboxAndRO grants the sandbox and, where the runtime can, the read-only dir.
func sandboxAndRO(fx *fixtures.Fixture, features runners.Features) []runners.Preopen {
	p := sandboxOnly(fx)
	if features.Has(runners.FeatureReadOnlyPreopen) {
		p = append(p, runners.Preopen{GuestPath: guestRO, HostDir: fx.Path("ro"), ReadOnly: true})
	}
	return p
}

// escapePlan is the plan of a path-escape spec: the sandbox alone, the given
// steps, and a control that proves the sandbox itself is reachable.
func escapePlan(steps ...suites.Step) func(*fixtures.Fixture, runners.Features) suites.Plan {
	return func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
		control := openStep("control.inside", guestSandbox, "inside.txt", true, 0, "r", suites.Succeed)
		return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Steps: append(slices.Clone(steps), control)}
	}
}

// IDs returns the IDs of specs, for messages and tests.
func IDs(specs []suites.Spec) []string {
	ids := make([]string, len(specs))
	for i, s := range specs {
		ids[i] = s.ID
	}
	return ids
}

func joinIDs(ids []string) string { return strings.Join(ids, ", ") }

// minus returns the items of a not in b, as a multiset.
func minus(a, b []string) []string {
	left := slices.Clone(b)
	var out []string
	for _, s := range a {
		if i := slices.Index(left, s); i >= 0 {
			left = slices.Delete(left, i, i+1)
			continue
		}
		out = append(out, s)
	}
	return out
}

// Digest is the catalogue's digest: "sha256:" and the SHA-256 of every
// spec's Description (what `wasicert list` prints: ID, area, severity,
// level, rule, references, labels) as JSON lines, in catalogue order. A
// certificate names it, so a bundle made against another catalogue is told
// apart from one made against this.
func Digest() string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, s := range All() {
		_ = enc.Encode(s.Describe())
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
