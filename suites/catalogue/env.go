package catalogue

// Environment: exactly the configured variables, never the launcher's.

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

// exactEnv exercises bytes that naive splitting or quoting breaks.
var exactEnv = []string{
	"A=text",
	`B=escap " ing`,
	"C=new\nline",
	"E=",
	"F=x=y=z",
	"G=with spaces",
	"H=\u00fcn\u00ef",
	"I='single'",
}

func envSpecs() []suites.Spec {
	return []suites.Spec{
		{
			ID: "env.empty", Area: suites.AreaEnv, Severity: suites.SeverityLeak, Level: suites.MUST,
			Rule: "With no environment configured the guest sees zero variables (environ_sizes_get returns 0, 0).",
			Ref:  refEnvTestsuite + "/environ_sizes_get-no-variables.ts",
			Refs: []string{"https://github.com/wasmerio/wasmer/issues/475", "https://github.com/nodejs/node/blob/main/doc/api/wasi.md"},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Steps: []suites.Step{step(probes.OpEnv, "env", suites.Custom)}}
			},
			Judge: judgeEnv(nil),
		},
		{
			ID: "env.exact", Area: suites.AreaEnv, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "Configured variables are seen exactly, byte for byte: spaces, quotes, newlines, '=' inside values, empty values, UTF-8.",
			Ref:  refEnvTestsuite + "/environ_get-multiple-variables.ts",
			Refs: []string{refEnviron, "https://github.com/WebAssembly/wasi-testsuite/blob/main/expectations/wamr/linux.toml"},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Env: slices.Clone(exactEnv), Steps: []suites.Step{step(probes.OpEnv, "env", suites.Custom)}}
			},
			Judge: judgeEnv(exactEnv),
		},
		{
			ID: "env.host-canary", Area: suites.AreaEnv, Severity: suites.SeverityLeak, Level: suites.MUST,
			Rule: "The launcher's own environment never reaches the guest: its canary variable and host variables stay out, whatever is configured.",
			Ref:  refEnviron,
			Refs: []string{"https://github.com/wasmerio/wasmer/issues/475", "https://github.com/bytecodealliance/wasmtime/issues/8168", "https://github.com/tetratelabs/wazero/issues/1117"},
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Env: []string{"APP_VAR=1"}, Steps: []suites.Step{step(probes.OpEnv, "env", suites.Custom)}}
			},
			Judge: judgeHostEnv,
		},
	}
}

// guestList reads a `env` or `args` op: the sizes record and the items.
// A failing get call is an error, except with zero items, where it is
// returned as a note (node answers environ_get(0 vars) with INVAL).
func guestList(ev *suites.Evidence, sizesOp, itemOp string) (items []string, count, size int, note string, err error) {
	var sizes *probes.Line
	var getErr string
	for _, r := range ev.Lines {
		switch {
		case r.Op == sizesOp:
			r := r
			sizes = &r
		case r.Op == itemOp && r.OK():
			items = append(items, r.Data)
		case r.Op == itemOp:
			getErr = r.Errno
		}
	}
	if sizes == nil {
		return nil, 0, 0, "", fmt.Errorf("probe printed no %s record", sizesOp)
	}
	if !sizes.OK() {
		return nil, 0, 0, "", fmt.Errorf("%s failed with %s", sizesOp, sizes.Errno)
	}
	if sizes.Count == nil || sizes.Size == nil {
		return nil, 0, 0, "", fmt.Errorf("%s record lacks count or size", sizesOp)
	}
	if getErr != "" {
		if *sizes.Count != 0 {
			return nil, 0, 0, "", fmt.Errorf("%s failed with %s", itemOp, getErr)
		}
		note = fmt.Sprintf("%s with zero items answered %s", itemOp, getErr)
	}
	return items, *sizes.Count, *sizes.Size, note, nil
}

// bufSize is the buffer size a list of KEY=VALUE or argv strings needs:
// each string plus its NUL.
func bufSize(items []string) int {
	n := 0
	for _, s := range items {
		n += len(s) + 1
	}
	return n
}

// judgeEnv: the guest's environment must be exactly want (order free).
func judgeEnv(want []string) func(*suites.Evidence) suites.Judgement {
	return func(ev *suites.Evidence) suites.Judgement {
		got, count, size, note, err := guestList(ev, probes.LineEnvironSizesGet, probes.LineEnvironGet)
		if err != nil {
			return suites.Judgement{Verdict: verdicts.Fail, Reason: err.Error()}
		}
		j := suites.Pass()
		if note != "" {
			j.Notes = []string{note}
		}
		got, injected := withoutInjected(ev, got)
		for _, kv := range injected {
			j.Notes = append(j.Notes, "injected by the engine, not the host: "+names([]string{kv}))
		}
		violation := ev.Spec.Severity.Violation()
		if extra := minus(got, want); len(extra) > 0 {
			return suites.Judgement{Verdict: violation, Reason: fmt.Sprintf("the guest sees %d variable(s) nobody configured: %s", len(extra), names(extra))}
		}
		if missing := minus(want, got); len(missing) > 0 {
			return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("configured variable(s) missing or altered: %q (the guest saw %q)", missing, got)}
		}
		all := append(slices.Clone(want), injected...)
		if count != len(all) || size != bufSize(all) {
			return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("environ_sizes_get says %d variables in %d bytes, want %d in %d", count, size, len(all), bufSize(all))}
		}
		return j
	}
}

// judgeHostEnv: no host variable and no canary may reach the guest.
func judgeHostEnv(ev *suites.Evidence) suites.Judgement {
	got, _, _, _, err := guestList(ev, probes.LineEnvironSizesGet, probes.LineEnvironGet)
	if err != nil {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: err.Error()}
	}
	canaryName, canaryValue := fixtures.HostEnvCanary()
	got, injected := withoutInjected(ev, got)
	var notes []string
	for _, kv := range injected {
		notes = append(notes, "injected by the engine, not the host: "+names([]string{kv}))
	}
	var leaked []string
	for _, kv := range got {
		name, _, _ := strings.Cut(kv, "=")
		if slices.Contains(ev.Invocation.Env, kv) {
			continue
		}
		if name == canaryName || strings.Contains(kv, canaryValue) {
			return suites.Judgement{Verdict: verdicts.Leak, Reason: "the host's canary variable " + canaryName + " reached the guest"}
		}
		if _, isHost := os.LookupEnv(name); isHost {
			leaked = append(leaked, name)
		}
	}
	if len(leaked) > 0 {
		return suites.Judgement{Verdict: verdicts.Leak, Reason: fmt.Sprintf("host variable(s) reached the guest: %s", strings.Join(leaked, ", ")), Notes: notes}
	}
	return suites.Judgement{Verdict: verdicts.Pass, Notes: notes}
}

// withoutInjected splits off the entries the runner's platform injects by
// design (containerd's default PATH): they come from the engine, not from
// the host, and are reported apart from a real leak.
func withoutInjected(ev *suites.Evidence, got []string) (rest, injected []string) {
	for _, kv := range got {
		if slices.Contains(ev.Injected, kv) && !slices.Contains(ev.Invocation.Env, kv) {
			injected = append(injected, kv)
			continue
		}
		rest = append(rest, kv)
	}
	return rest, injected
}

// names lists variable names without their values (values may hold secrets).
func names(kvs []string) string {
	var ns []string
	for _, kv := range kvs {
		n, _, _ := strings.Cut(kv, "=")
		ns = append(ns, n)
	}
	return strings.Join(ns, ", ")
}
