package catalogue

// Sockets: sock_* on what is not a socket, and a listener the host preopens.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"

	"github.com/wasicert/wasicert/fixtures"
	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

// sockErrnos are the answers a sock_* call on a non-socket or invalid fd may give.
var sockErrnos = []string{"NOTSOCK", "BADF"}

func sockSteps(prefix, fd string) []suites.Step {
	return []suites.Step{
		step(probes.OpAccept, prefix+".accept", suites.Refuse, fd),
		step(probes.OpRecv, prefix+".recv", suites.Refuse, fd),
		step(probes.OpSend, prefix+".send", suites.Refuse, fd),
		step(probes.OpShutdown, prefix+".shutdown", suites.Refuse, fd),
	}
}

func socketSpecs() []suites.Spec {
	sockFeat := []runners.Feature{runners.FeatureSockImports}
	return []suites.Spec{
		{
			ID: "socket.non-socket-fd", Area: suites.AreaSocket, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "sock_accept, sock_recv, sock_send and sock_shutdown on stdio or a directory fail with NOTSOCK or BADF, and never crash the runtime.",
			Ref:  refSock, Requires: sockFeat, Accept: sockErrnos, StrictErrno: true,
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				var steps []suites.Step
				steps = append(steps, sockSteps("stdin", "0")...)
				steps = append(steps, sockSteps("stdout", "1")...)
				steps = append(steps, sockSteps("dir", guestSandbox)...)
				return suites.Plan{Probe: "sock", Preopens: sandboxOnly(fx), Steps: steps}
			},
		},
		{
			ID: "socket.invalid-fd", Area: suites.AreaSocket, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "sock_accept, sock_recv, sock_send and sock_shutdown on an fd that is not open fail with BADF (or NOTSOCK), and never crash the runtime.",
			Ref:  refSock, Requires: sockFeat, Accept: sockErrnos, StrictErrno: true,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "sock", Steps: sockSteps("invalid", "9999")}
			},
		},
		{
			ID: "socket.accept-echo", Area: suites.AreaSocket, Severity: suites.SeverityConformance, Level: suites.SHOULD,
			Rule: "A listener the host preopens is usable: a real TCP client on 127.0.0.1 is accepted by the guest and its bytes come back.",
			Ref:  refSock, Requires: []runners.Feature{runners.FeatureSockImports, runners.FeaturePreopenedSockets},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "sock", Steps: []suites.Step{step(probes.OpEcho, "echo", suites.Custom, "500")}, Actors: []suites.Actor{&suites.Listener{Client: echoClient}}}
			},
			Judge: judgeEcho,
		},
	}
}

// socketSpecs2 are the catalogue's group 9 beyond the first three: preview
// 1's socket calls on a preopened listener (issue 10 item 4), and the
// ambient network authority of the socket extensions (item 3).
func socketSpecs2() []suites.Spec {
	listener := []runners.Feature{runners.FeatureSockImports, runners.FeaturePreopenedSockets}
	sockExt := []runners.Feature{runners.FeatureSockExt}
	return []suites.Spec{
		{
			ID: "socket.accept-nonblock", Area: suites.AreaSocket, Severity: suites.SeverityConformance, Level: suites.MUST,
			Rule: "A preopened listener made non-blocking with fd_fdstat_set_flags(NONBLOCK) answers sock_accept with AGAIN at once when no client is waiting, and accepts nothing.",
			Ref:  refSock, Refs: []string{refWasiSockAccept}, Requires: listener,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "sock", Steps: []suites.Step{step(probes.OpAcceptNB, "accept.nonblock", suites.Custom)},
					Actors: []suites.Actor{&suites.Listener{}}}
			},
			Judge: judgeAcceptNB,
		},
		{
			ID: "socket.recv-send-shutdown", Area: suites.AreaSocket, Severity: suites.SeverityConformance, Level: suites.MUST, Racy: true,
			Rule: "On an accepted connection sock_recv with RECV_PEEK and then without it return the same bytes, sock_send returns the size sent, sock_shutdown(WR) makes the host's client see end of stream, recv after shutdown(RD|WR) returns 0 bytes or an error, and sock_shutdown on stdout fails with NOTSOCK or BADF.",
			Ref:  refPreview1 + "#sock_recv", Refs: []string{refPreview1 + "#sock_shutdown", refPreview1 + "#sock_send"}, Requires: listener,
			Plan: func(*fixtures.Fixture, runners.Features) suites.Plan {
				return suites.Plan{Probe: "sock", Steps: []suites.Step{step(probes.OpPeek, "peek", suites.Custom, "500")},
					Actors: []suites.Actor{&suites.Listener{Client: peekClient}}}
			},
			Judge: judgePeek,
		},
		{
			ID: "socket.listener-preopen-order", Area: suites.AreaSocket, Severity: suites.SeverityConformance, Level: suites.SHOULD,
			Rule: "With a preopened listener and a preopened directory, wasi-libc's preopen scan (fd_prestat_get from fd 3 up to the first BADF) still finds the directory: opening /sandbox/inside.txt through libc works.",
			Ref:  refPrestat, Refs: []string{"https://github.com/bytecodealliance/wasmtime/issues/3936"},
			Requires: []runners.Feature{runners.FeaturePreopenedSockets},
			Plan: func(fx *fixtures.Fixture, _ runners.Features) suites.Plan {
				return suites.Plan{Probe: "fs", Preopens: sandboxOnly(fx), Actors: []suites.Actor{&suites.Listener{}},
					Steps: []suites.Step{
						step(probes.OpPreopens, "scan", suites.Tolerate),
						step(probes.OpLibcOpen, "libc.inside", suites.Works, guestSandbox+"/inside.txt"),
					}}
			},
		},
		{
			ID: "socket.ext-connect-ungranted", Area: suites.AreaSocket, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A runtime that links a socket extension (WasmEdge's or WAMR's sock_open/sock_connect) refuses a connect nobody granted: no connection reaches the harness's canary listener on 127.0.0.1.",
			Ref:  refWasmEdgeSock, Refs: []string{refWAMRSock, refWasmEdgeACL}, Accept: extRefusals, Requires: sockExt,
			Plan: func(_ *fixtures.Fixture, fs runners.Features) suites.Plan {
				return suites.Plan{Probe: extProbe(fs), Steps: []suites.Step{
					step(probes.OpExtConnect, "connect.canary", suites.Refuse, ipOf("canary"), portOf("canary")),
				}, Actors: []suites.Actor{&canaryListener{Name: "canary"}}}
			},
			Judge: judgeNet,
		},
		{
			ID: "socket.ext-bind-listen-ungranted", Area: suites.AreaSocket, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A runtime that links a socket extension refuses to bind and listen on a host address nobody granted: the harness's canary client finds nothing listening on the port the guest tried.",
			Ref:  refWasmEdgeSock, Refs: []string{refWAMRSock, refWasmEdgeACL}, Accept: extRefusals, Requires: sockExt,
			Plan: func(fx *fixtures.Fixture, fs runners.Features) suites.Plan {
				return suites.Plan{Probe: extProbe(fs), Preopens: sandboxOnly(fx), Steps: []suites.Step{
					step(probes.OpExtListen, "listen.canary", suites.Refuse, ipOf("probe"), portOf("probe"), guestSandbox),
				}, Actors: []suites.Actor{&canaryClient{Name: "probe", Mark: fx.Path("sandbox/listen.canary")}}}
			},
			Judge: judgeNet,
		},
		{
			ID: "socket.ext-addr-pool", Area: suites.AreaSocket, Severity: suites.SeverityEscape, Level: suites.MUST,
			Rule: "A runtime whose socket extension takes an address allow-list (WAMR --addr-pool) connects inside it and refuses a connect or a bind outside it: granted 127.0.0.2/32, nothing reaches the canary listener or the canary port on 127.0.0.1.",
			Ref:  refWAMRSock, Accept: extRefusals, Requires: []runners.Feature{runners.FeatureSockExt, runners.FeatureAddrPool},
			Plan: func(fx *fixtures.Fixture, fs runners.Features) suites.Plan {
				return suites.Plan{Probe: extProbe(fs), Preopens: sandboxOnly(fx), Steps: []suites.Step{
					step(probes.OpExtConnect, "pool.inside", suites.Succeed, ipOf("granted"), portOf("granted")),
					step(probes.OpExtConnect, "pool.connect-outside", suites.Refuse, ipOf("canary"), portOf("canary")),
					step(probes.OpExtListen, "pool.listen-outside", suites.Refuse, ipOf("probe"), portOf("probe"), guestSandbox),
				}, Actors: []suites.Actor{addrPool{"127.0.0.2/32"},
					&canaryListener{Name: "granted", Host: "127.0.0.2", Granted: true},
					&canaryListener{Name: "canary"}, &canaryClient{Name: "probe", Mark: fx.Path("sandbox/pool.listen-outside")}}}
			},
			Judge: judgeNet,
		},
		{
			ID: "socket.ext-bad-args", Area: suites.AreaSocket, Severity: suites.SeverityDoS, Level: suites.MUST,
			Rule: "A socket extension answers bad fds, out-of-bounds address and result pointers and an oversized name-resolution count with an error (an oversized count may also succeed within bounds), and the runtime keeps answering.",
			Ref:  refWasmEdgeSock, Refs: []string{refWAMRSock, "https://github.com/bytecodealliance/wasm-micro-runtime/issues/4611"},
			Accept: extBadErrnos, Requires: sockExt,
			Plan: func(_ *fixtures.Fixture, fs runners.Features) suites.Plan {
				kinds := []string{"connect-badfd", "bind-badfd", "listen-badfd", "accept-badfd"}
				if !fs.Has(runners.FeatureSockExtWAMR) || fs.Has(runners.FeatureSockExtWasmEdge) {
					// WAMR traps a guest whose pointer argument is out of
					// bounds before the call (RATIONALE.md, Sockets).
					kinds = append(kinds, "open-oob", "connect-oob", "bind-oob")
				}
				var steps []suites.Step
				for _, k := range kinds {
					steps = append(steps, step(probes.OpExtBad, "bad."+k, suites.Refuse, k, ipOf("canary"), portOf("canary")))
				}
				steps = append(steps,
					step(probes.OpExtBad, "bad.resolve-huge", suites.Tolerate, "resolve-huge", ipOf("canary"), portOf("canary")),
					step(probes.OpExtBad, "bad.alive", suites.Works, "alive", ipOf("canary"), portOf("canary")))
				return suites.Plan{Probe: extProbe(fs), Steps: steps, Actors: []suites.Actor{&canaryListener{Name: "canary"}}}
			},
			Judge: judgeNet,
		},
	}
}

// References of the socket-extension specs.
const (
	refWasiSockAccept = "https://github.com/WebAssembly/WASI/pull/458"
	refWasmEdgeSock   = "https://github.com/WasmEdge/WasmEdge/blob/master/lib/host/wasi/wasifunc.cpp"
	refWasmEdgeACL    = "https://github.com/WasmEdge/WasmEdge/pull/3147"
	refWAMRSock       = "https://github.com/bytecodealliance/wasm-micro-runtime/blob/main/doc/socket_api.md"
)

// extRefusals refuse an ungranted bind or connect the way a capability
// model does; any other errno is a conformance note.
var extRefusals = []string{"ACCES", "PERM", "NOTCAPABLE"}

// extBadErrnos answer a bad argument.
var extBadErrnos = []string{"BADF", "FAULT", "INVAL", "NOTSOCK", "ACCES", "PERM", "NOTCAPABLE", "ADDRNOTAVAIL"}

// extProbe is the probe module for the extension the runtime links
// (sockwasmedge unless it links WAMR's alone).
func extProbe(fs runners.Features) string {
	if fs.Has(runners.FeatureSockExtWAMR) && !fs.Has(runners.FeatureSockExtWasmEdge) {
		return "sockwamr"
	}
	return "sockwasmedge"
}

// judgeAcceptNB: the listener was found, and sock_accept said AGAIN.
func judgeAcceptNB(ev *suites.Evidence) suites.Judgement {
	fail := func(format string, a ...any) suites.Judgement {
		return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf(format, a...), Causes: []string{"step:accept.nonblock"}}
	}
	find, ok := opLine(ev, "accept.nonblock", probes.LineFind)
	if !ok || !find.OK() {
		return fail("the guest found no preopened listener (fd_fdstat_get answered %s)", find.Errno)
	}
	if set, ok := opLine(ev, "accept.nonblock", probes.LineFdstatSetFlags); !ok || !set.OK() {
		return fail("fd_fdstat_set_flags(listener, NONBLOCK) answered %q: the listener cannot be made non-blocking, so sock_accept would wait for a client", set.Errno)
	}
	acc, ok := opLine(ev, "accept.nonblock", probes.LineSockAccept)
	switch {
	case !ok:
		return fail("probe printed no sock_accept record")
	case acc.OK():
		return fail("sock_accept on the non-blocking listener with no client waiting returned fd %s", intOr(acc.FD))
	case acc.Errno != "AGAIN":
		return fail("sock_accept on the non-blocking listener with no client waiting answered %s, want AGAIN", acc.Errno)
	}
	return suites.Pass()
}

// opLine returns the first record of check whose op is op.
func opLine(ev *suites.Evidence, check, op string) (probes.Line, bool) {
	for _, r := range ev.LinesFor(check) {
		if r.Op == op {
			return r, true
		}
	}
	return probes.Line{}, false
}

func peekMessage(fx *fixtures.Fixture) string { return "wasicert-peek-" + fx.Token[:8] + "\n" }

// peekClient sends one message, then reads until end of stream: what it
// read back and whether the stream ended are the host's evidence.
func peekClient(addr string, fx *fixtures.Fixture) (string, error) {
	c, err := dialRetry(addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(peekMessage(fx))); err != nil {
		return "", fmt.Errorf("send to the guest: %w", err)
	}
	got, err := io.ReadAll(io.LimitReader(c, 4096))
	if err != nil {
		return string(got), fmt.Errorf("no end of stream after the guest's sock_shutdown(WR): %w", err)
	}
	return string(got), nil
}

// judgePeek judges socket.recv-send-shutdown from the host client first.
func judgePeek(ev *suites.Evidence) suites.Judgement {
	want := peekMessage(ev.Fixture)
	j := suites.Pass()
	bad := func(cause, format string, a ...any) {
		j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf(format, a...), Causes: []string{cause}})
	}
	client, ok := suites.ActorOf[*suites.Listener](ev)
	switch {
	case !ok:
		bad("judge", "the plan has no listener")
	case client.Err != nil:
		bad("net:client", "host client: %v", client.Err)
	case client.Data != want:
		bad("net:client", "the host client read back %q, want %q then end of stream", client.Data, want)
	}
	if _, ok := opLine(ev, "peek", probes.LineSockAccept); !ok {
		bad("step:peek", "the guest accepted no connection (records: %d)", len(ev.LinesFor("peek")))
		return j
	}
	peek, _ := opLine(ev, "peek", probes.LineSockRecvPeek)
	recv, _ := opLine(ev, "peek", probes.LineSockRecv)
	switch {
	case !peek.OK():
		bad("step:peek", "sock_recv(RECV_PEEK) answered %s", peek.Errno)
	case !recv.OK():
		bad("step:peek", "sock_recv after the peek answered %s", recv.Errno)
	case peek.Data != want || recv.Data != want:
		bad("step:peek", "sock_recv(RECV_PEEK) got %q and the plain sock_recv after it %q, want %q both times", peek.Data, recv.Data, want)
	}
	if send, ok := opLine(ev, "peek", probes.LineSockSend); ok && (!send.OK() || send.Size == nil || *send.Size != len(want)) {
		bad("step:peek", "sock_send of %d bytes answered %s with size %s", len(want), send.Errno, intOr(send.Size))
	}
	if sh, ok := opLine(ev, "peek", probes.LineSockShutdown); !ok || !sh.OK() {
		bad("step:peek", "sock_shutdown(WR) answered %s", sh.Errno)
	}
	if after, ok := opLine(ev, "peek", probes.LineSockRecvAfter); ok && after.OK() && after.Data != "" {
		bad("step:peek", "sock_recv after sock_shutdown(RD|WR) returned %q, want 0 bytes or an error", after.Data)
	}
	if so, ok := opLine(ev, "peek", probes.LineSockShutdownStdout); !ok || !slices.Contains(sockErrnos, so.Errno) {
		bad("step:peek", "sock_shutdown on stdout answered %q, want NOTSOCK or BADF", so.Errno)
	}
	if rdwr, ok := opLine(ev, "peek", probes.LineSockShutdownRDWR); ok && !rdwr.OK() {
		j.Notes = append(j.Notes, "sock_shutdown(RD|WR) after shutdown(WR) answered "+rdwr.Errno)
	}
	return j
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
func judgeEcho(ev *suites.Evidence) suites.Judgement {
	want := echoMessage(ev.Fixture)
	client, ok := suites.ActorOf[*suites.Listener](ev)
	switch {
	case !ok:
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "the plan has no listener"}
	case client.Err != nil:
		return suites.Judgement{Verdict: verdicts.Fail, Reason: "host client: " + client.Err.Error()}
	case client.Data != want:
		return suites.Judgement{Verdict: verdicts.Fail, Reason: fmt.Sprintf("echo returned %q, want %q", client.Data, want)}
	}
	return suites.Pass()
}

// dialRetry connects to addr until it answers or the deadline passes: the
// runtime makes the listener only when it starts the guest.
func dialRetry(addr string, within time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, errors.New("no listener answered at " + addr + ": " + err.Error())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func intOr(p *int) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}
