package suites

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/verdicts"
)

func pass() Judgement { return Judgement{Verdict: verdicts.Pass} }

// judgeDiscovery: the prestat scan must list exactly the configured guest
// names from fd 3, in order; an extra name is a capability nobody granted.
func judgeDiscovery(ev *Evidence) Judgement {
	want := slices.Clone(ev.Implicit)
	for _, p := range ev.Invocation.Preopens {
		want = append(want, p.GuestPath)
	}
	got, j := scanPreopens(ev, "discovery", true)
	switch {
	case slices.Equal(got, want):
		return j
	case len(got) > len(want):
		return worse(j, Judgement{Verdict: verdicts.Escape, Reason: fmt.Sprintf("the guest found preopens %q; only %q were granted", got, want)})
	}
	return worse(j, Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("preopen names %q, want exactly %q", got, want)})
}

// scanPreopens reads a `preopens` op's records: the names found from fd 3,
// and a judgement on the fd that ends the scan and, when judgeStdio, on
// stdio answering as a preopen (a conformance matter, judged by
// preopen.discovery alone).
func scanPreopens(ev *Evidence, check string, judgeStdio bool) ([]string, Judgement) {
	j := pass()
	var got []string
	recs := ev.All(check)
	if len(recs) == 0 {
		return nil, Judgement{Verdict: verdicts.Fail, Reason: "probe printed no preopen scan"}
	}
	ended := false
	for _, r := range recs {
		if r.FD == nil {
			continue
		}
		fd := *r.FD
		switch {
		case fd < 3 && !judgeStdio:
		case fd < 3 && r.OK():
			if j.Verdict == verdicts.Pass {
				j = Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("fd %d (stdio) answers fd_prestat_get as a preopen named %q", fd, r.Data), Notes: j.Notes}
			}
		case fd < 3 && r.Errno != "BADF":
			j.Notes = append(j.Notes, fmt.Sprintf("fd_prestat_get(%d) on stdio answered %s, want BADF", fd, r.Errno))
		case fd >= 3 && r.OK():
			got = append(got, r.Data)
		case fd >= 3:
			ended = true
			if r.Errno != "BADF" {
				j.Notes = append(j.Notes, fmt.Sprintf("fd_prestat_get(%d) past the preopens answered %s, want BADF", fd, r.Errno))
			}
		}
	}
	if !ended {
		j.Notes = append(j.Notes, "the preopen scan never reached an fd that is not a preopen")
	}
	return got, j
}

// judgeNoPreopen: with nothing granted, nothing may be found, and fd 3
// must not open as a directory, unless the platform grants preopens by
// design (a container's rootfs at fd 3), which are then the guest's own.
func judgeNoPreopen(ev *Evidence) Judgement {
	got, j := scanPreopens(ev, ev.Plan.Steps[0].Check, false)
	if j.Verdict != verdicts.Pass {
		return j
	}
	if extra := minus(got, ev.Implicit); len(extra) > 0 {
		return Judgement{Verdict: verdicts.Escape, Reason: fmt.Sprintf("no preopen was configured, but the guest found %q", extra), Notes: j.Notes, Causes: []string{"step:" + ev.Plan.Steps[0].Check}}
	}
	for _, st := range ev.Plan.Steps {
		if st.Check != "none.fd3" {
			continue
		}
		r, ok := ev.Record(st.Check)
		switch {
		case !ok:
			return Judgement{Verdict: verdicts.Fail, Reason: "probe printed no record for none.fd3", Causes: []string{"step:none.fd3"}}
		case r.Reached() && len(ev.Implicit) == 0:
			return Judgement{Verdict: verdicts.Escape, Reason: fmt.Sprintf("none.fd3: %s reached a directory (%s) with nothing granted", describeStep(st), r.CallsString()), Notes: j.Notes, Causes: []string{"step:none.fd3"}}
		case r.Reached():
			j.Notes = append(j.Notes, fmt.Sprintf("none.fd3: fd 3 is the platform's own preopen %q, granted by design", ev.Implicit[0]))
		}
	}
	return j
}

// judgeContents checks that Succeed steps read back exactly the fixture's bytes.
func judgeContents(want map[string]string) func(*Evidence) Judgement {
	return func(ev *Evidence) Judgement {
		for _, st := range ev.Plan.Steps {
			w, ok := want[st.Check]
			if !ok {
				continue
			}
			if r, ok := ev.Record(st.Check); ok && r.OK() && r.Data != w {
				return Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("%s: read %q, want %q", st.Check, r.Data, w)}
			}
		}
		return pass()
	}
}

// guestList reads a `env` or `args` op: the sizes record and the items.
// A failing get call is an error, except with zero items, where it is
// returned as a note (node answers environ_get(0 vars) with INVAL).
func guestList(ev *Evidence, sizesOp, itemOp string) (items []string, count, size int, note string, err error) {
	var sizes *Record
	var getErr string
	for _, r := range ev.Records {
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
func judgeEnv(want []string) func(*Evidence) Judgement {
	return func(ev *Evidence) Judgement {
		got, count, size, note, err := guestList(ev, "environ_sizes_get", "environ_get")
		if err != nil {
			return Judgement{Verdict: verdicts.Fail, Reason: err.Error()}
		}
		j := pass()
		if note != "" {
			j.Notes = []string{note}
		}
		got, injected := withoutInjected(ev, got)
		for _, kv := range injected {
			j.Notes = append(j.Notes, "injected by the engine, not the host: "+names([]string{kv}))
		}
		violation := ev.Spec.Severity.violation()
		if extra := minus(got, want); len(extra) > 0 {
			return Judgement{Verdict: violation, Reason: fmt.Sprintf("the guest sees %d variable(s) nobody configured: %s", len(extra), names(extra))}
		}
		if missing := minus(want, got); len(missing) > 0 {
			return Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("configured variable(s) missing or altered: %q (the guest saw %q)", missing, got)}
		}
		all := append(slices.Clone(want), injected...)
		if count != len(all) || size != bufSize(all) {
			return Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("environ_sizes_get says %d variables in %d bytes, want %d in %d", count, size, len(all), bufSize(all))}
		}
		return j
	}
}

// judgeHostEnv: no host variable and no canary may reach the guest.
func judgeHostEnv(ev *Evidence) Judgement {
	got, _, _, _, err := guestList(ev, "environ_sizes_get", "environ_get")
	if err != nil {
		return Judgement{Verdict: verdicts.Fail, Reason: err.Error()}
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
			return Judgement{Verdict: verdicts.Leak, Reason: "the host's canary variable " + canaryName + " reached the guest"}
		}
		if _, isHost := os.LookupEnv(name); isHost {
			leaked = append(leaked, name)
		}
	}
	if len(leaked) > 0 {
		return Judgement{Verdict: verdicts.Leak, Reason: fmt.Sprintf("host variable(s) reached the guest: %s", strings.Join(leaked, ", ")), Notes: notes}
	}
	return Judgement{Verdict: verdicts.Pass, Notes: notes}
}

// withoutInjected splits off the entries the runner's platform injects by
// design (containerd's default PATH): they come from the engine, not from
// the host, and are reported apart from a real leak.
func withoutInjected(ev *Evidence, got []string) (rest, injected []string) {
	for _, kv := range got {
		if slices.Contains(ev.Injected, kv) && !slices.Contains(ev.Invocation.Env, kv) {
			injected = append(injected, kv)
			continue
		}
		rest = append(rest, kv)
	}
	return rest, injected
}

// judgeArgs: argv must be exactly what was configured.
func judgeArgs(ev *Evidence) Judgement {
	got, count, size, _, err := guestList(ev, "args_sizes_get", "args_get")
	if err != nil {
		return Judgement{Verdict: verdicts.Fail, Reason: err.Error()}
	}
	want := ev.Invocation.Args
	if !slices.Equal(got, want) {
		return Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("argv is %q, want %q", got, want)}
	}
	if count != len(want) || size != bufSize(want) {
		return Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("args_sizes_get says %d args in %d bytes, want %d in %d", count, size, len(want), bufSize(want))}
	}
	return pass()
}

// judgeArgv0: argv[0] must not disclose a host path the guest was not given.
func judgeArgv0(ev *Evidence) Judgement {
	got, _, _, _, err := guestList(ev, "args_sizes_get", "args_get")
	if err != nil {
		return Judgement{Verdict: verdicts.Fail, Reason: err.Error()}
	}
	if len(got) == 0 {
		return Judgement{Verdict: verdicts.Fail, Reason: "argv is empty: argv[0] is missing"}
	}
	argv0, want := got[0], ev.Invocation.Args[0]
	if argv0 == want {
		return pass()
	}
	if isHostPath(argv0, ev) {
		return Judgement{Verdict: verdicts.Leak, Reason: fmt.Sprintf("argv[0] is the host path %q; %q was configured", argv0, want)}
	}
	return Judgement{Verdict: verdicts.Pass, Notes: []string{fmt.Sprintf("argv[0] is %q, not the configured %q (no host path)", argv0, want)}}
}

// isHostPath reports whether s names a path of the host the guest was not
// granted: the module's file, the fixture, the launcher's cwd, or any
// absolute path that exists on the host.
func isHostPath(s string, ev *Evidence) bool {
	for _, p := range []string{ev.Invocation.Module.Path, ev.Fixture.Root} {
		if p != "" && strings.Contains(s, p) {
			return true
		}
	}
	if wd, err := os.Getwd(); err == nil && len(wd) > 1 && strings.Contains(s, wd) {
		return true
	}
	if strings.HasPrefix(s, "/") {
		if _, err := os.Lstat(s); err == nil {
			return true
		}
	}
	return false
}

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

// names lists variable names without their values (values may hold secrets).
func names(kvs []string) string {
	var ns []string
	for _, kv := range kvs {
		n, _, _ := strings.Cut(kv, "=")
		ns = append(ns, n)
	}
	return strings.Join(ns, ", ")
}

// echoClient is the host side of socket.accept-echo: a real TCP client.
func echoClient(addr string, fx *fixtures.Fixture) (string, error) {
	c, err := dialRetry(addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(echoMessage(fx))); err != nil {
		return "", fmt.Errorf("send to the guest: %w", err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return line, fmt.Errorf("read the echo: %w", err)
	}
	return line, nil
}

func echoMessage(fx *fixtures.Fixture) string {
	return "wasicert-echo-" + fx.Token[:8] + "\n"
}

// judgeEcho: the bytes the client sent must come back.
func judgeEcho(ev *Evidence) Judgement {
	want := echoMessage(ev.Fixture)
	if ev.ClientErr != nil {
		return Judgement{Verdict: verdicts.Fail, Reason: "host client: " + ev.ClientErr.Error()}
	}
	if ev.ClientData != want {
		return Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("echo returned %q, want %q", ev.ClientData, want)}
	}
	return pass()
}
