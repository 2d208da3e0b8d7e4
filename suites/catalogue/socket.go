package catalogue

// Sockets: sock_* on what is not a socket, and a listener the host preopens.

import (
	"bufio"
	"errors"
	"fmt"
	"net"
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
