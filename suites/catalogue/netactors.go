package catalogue

// Host actors of the socket specs: a canary listener nobody granted and a
// canary client that knocks on a port the guest was never granted. Both are
// loopback only and bounded (connections recorded, dial attempts, time), and
// both decide on the host: the guest's records cannot hide a connection.

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
	"github.com/wasicert/wasicert/verdicts"
)

// Placeholders in a plan's step arguments that the actors replace with the
// address they chose: "{<name>-ip}" and "{<name>-port}".
func ipOf(name string) string   { return "{" + name + "-ip}" }
func portOf(name string) string { return "{" + name + "-port}" }

// substitute replaces name's placeholders in argv.
func substitute(argv []string, name string, addr *net.TCPAddr) {
	for i, a := range argv {
		a = strings.ReplaceAll(a, ipOf(name), addr.IP.String())
		argv[i] = strings.ReplaceAll(a, portOf(name), strconv.Itoa(addr.Port))
	}
}

// maxRecorded bounds the connections an actor keeps a record of.
const maxRecorded = 16

// canaryListener listens on Host (default 127.0.0.1) for the whole run and
// records every connection that reaches it. Unless Granted, the guest was
// given no way to it, so one connection is an escape (judgeNet).
type canaryListener struct {
	Name    string // its placeholders' name, e.g. "canary"
	Host    string
	Granted bool // inside the guest's grant: a positive control, not a canary

	Addr  string
	Conns int      // connections accepted
	Peers []string // their remote addresses, at most maxRecorded
}

func (l *canaryListener) Act(st *suites.Stage, run suites.RunFunc) (suites.RunFunc, error) {
	host := l.Host
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp4", net.JoinHostPort(host, "0"))
	if err != nil {
		if host != "127.0.0.1" {
			return nil, fmt.Errorf("%w: this host cannot listen on loopback address %s (%v); Linux routes all of 127.0.0.0/8 to lo", suites.ErrSkip, host, err)
		}
		return nil, fmt.Errorf("canary listener on %s: %w", host, err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	l.Addr = addr.String()
	substitute(st.Invocation.Args, l.Name, addr)
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := ln.Accept()
				if err != nil {
					return // the deadline set after the run
				}
				l.Conns++
				if len(l.Peers) < maxRecorded {
					l.Peers = append(l.Peers, c.RemoteAddr().String())
				}
				c.Close()
			}
		}()
		res, err := run(ctx, inv)
		// Stop the accept loop without dropping the backlog: a connection
		// the kernel completed but nobody accepted yet is still evidence.
		tl := ln.(*net.TCPListener)
		_ = tl.SetDeadline(time.Now())
		wg.Wait()
		peers, n := drainBacklog(tl)
		l.Conns += n
		for _, p := range peers {
			if len(l.Peers) < maxRecorded {
				l.Peers = append(l.Peers, p)
			}
		}
		ln.Close()
		return res, err
	}, nil
}

// canaryClient picks a loopback port nobody listens on, hands it to the
// guest's steps, and while the run lasts tries to connect to it: a
// connection means the guest listens where it was granted nothing. When
// Mark is set (a host path prefix in a writable dir, the probe's
// ext-listen handshake), it keeps knocking until Mark+".listened" appears
// and then knocksAfterMark more times before it writes Mark+".ack", so a
// socket the guest holds while it waits is seen however short the run.
// After the run it tries once more: a port that still answers is held
// either by the runtime, which kept the guest's socket past the run (this
// process holds it: an embedded runtime; HeldByRuntime), or by another
// process, and then the run proves nothing (HeldAfter).
type canaryClient struct {
	Name string
	Host string
	Mark string

	Addr      string
	Connected bool
	Tries     int
	HeldAfter bool
	// HeldByRuntime: the socket holding the port after the run is this
	// process's, so the runtime's (see listenerHeldBySelf).
	HeldByRuntime bool
}

// knocksAfterMark is how many times the canary client tries once the guest
// says its socket is up.
const knocksAfterMark = 3

// maxDials bounds the canary client's attempts (also bounded by the run).
const maxDials = 20000

func (c *canaryClient) Act(st *suites.Stage, run suites.RunFunc) (suites.RunFunc, error) {
	host := c.Host
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp4", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("canary client: no free port on %s: %w", host, err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	c.Addr = addr.String()
	substitute(st.Invocation.Args, c.Name, addr)
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			after := -1 // knocks since the guest's mark appeared
			defer func() {
				if c.Mark != "" {
					_ = os.WriteFile(c.Mark+".ack", nil, 0o644)
				}
			}()
			for c.Tries < maxDials && after < knocksAfterMark {
				select {
				case <-done:
					return
				default:
				}
				c.Tries++
				if conn, err := net.DialTimeout("tcp4", c.Addr, 200*time.Millisecond); err == nil {
					c.Connected = true
					conn.Close()
					return
				}
				if after >= 0 {
					after++
				} else if _, err := os.Stat(c.Mark + ".listened"); c.Mark != "" && err == nil {
					after = 0
				}
				select {
				case <-done:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		res, err := run(ctx, inv)
		close(done)
		wg.Wait()
		if conn, err := net.DialTimeout("tcp4", c.Addr, 200*time.Millisecond); err == nil {
			c.HeldAfter = true
			conn.Close()
			c.HeldByRuntime = listenerHeldBySelf(addr.Port)
		}
		return res, err
	}, nil
}

// addrPool grants the guest's socket extension an allow-list
// (runners.Invocation.AddrPool).
type addrPool []string

func (p addrPool) Act(st *suites.Stage, run suites.RunFunc) (suites.RunFunc, error) {
	st.Invocation.AddrPool = append(st.Invocation.AddrPool, p...)
	return run, nil
}

// judgeNet judges what the host's network actors saw: a connection to a
// canary listener that was not granted, or a canary client that got in, is
// an escape whatever the guest printed.
func judgeNet(ev *suites.Evidence) suites.Judgement {
	j := suites.Pass()
	for _, a := range ev.Plan.Actors {
		switch a := a.(type) {
		case *canaryListener:
			if !a.Granted && a.Conns > 0 {
				j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Escape, Causes: []string{"net:canary-listener"},
					Reason: fmt.Sprintf("the host's canary listener on %s, which nobody granted, accepted %d connection(s) (from %s)", a.Addr, a.Conns, strings.Join(a.Peers, ", "))})
			}
		case *canaryClient:
			switch {
			case a.HeldByRuntime:
				// The runtime kept the guest's socket (the client got in
				// after the run, if not during it): escape evidence
				// outranks the doubt a held port casts.
				j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Escape, Causes: []string{"net:canary-client"},
					Reason: fmt.Sprintf("the host's canary client connected to %s, where the guest was granted no listener, and the runtime still held that socket after the run (connected during the run: %t)", a.Addr, a.Connected)})
			case a.HeldAfter:
				j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Fail, Causes: []string{"net:port-held"},
					Reason: fmt.Sprintf("port %s still answered after the run: another process holds it, so the canary client proves nothing; run the spec again", a.Addr)})
			case a.Connected:
				j = suites.Worse(j, suites.Judgement{Verdict: verdicts.Escape, Causes: []string{"net:canary-client"},
					Reason: fmt.Sprintf("the host's canary client connected to %s, where the guest was granted no listener: the guest listened on the host's network", a.Addr)})
			}
		}
	}
	return j
}
