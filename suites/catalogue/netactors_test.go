package catalogue

import (
	"context"
	"net"
	"testing"

	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/suites"
)

// TestCanaryListenerCountsBacklog: connections a "runtime" makes and drops
// just before the run returns are counted, even those the accept loop had
// not reached (they are drained from the backlog after the run).
func TestCanaryListenerCountsBacklog(t *testing.T) {
	l := &canaryListener{Name: "canary"}
	inv := runners.Invocation{Args: []string{"probe", ipOf("canary"), portOf("canary")}}
	const n = 20
	run, err := l.Act(&suites.Stage{Invocation: &inv}, func(context.Context, runners.Invocation) (runners.Result, error) {
		for range n {
			c, err := net.Dial("tcp4", inv.Args[1]+":"+inv.Args[2])
			if err != nil {
				t.Error(err)
				continue
			}
			c.Close()
		}
		return runners.Result{Ended: runners.EndedExit}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	if l.Conns != n {
		t.Errorf("the canary listener counted %d connections, want %d", l.Conns, n)
	}
	if inv.Args[1] != "127.0.0.1" {
		t.Errorf("placeholder not replaced: %q", inv.Args)
	}
}
