package jco_test

import (
	"testing"

	"github.com/wasicert/wasicert/internal/proctest"
	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/jco"
)

func TestSmoke(t *testing.T) {
	r, err := runners.Open(jco.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r.Version())
	for _, m := range []string{"hello", "exit7", "trap", "recurse", "env", "args", "cat", "prestat", "sock"} {
		inv := proctest.Inv(proctest.Module(t, m), []string{"A=1", "B=2"}, "x", "y z")
		inv.Stdin = []byte("in\n")
		inv.Preopens = []runners.Preopen{{GuestPath: "/sandbox", HostDir: t.TempDir()}}
		res, err := r.Run(t.Context(), inv)
		t.Logf("%s: %v %s stdout %q stderr %q dur %s", m, err, res, res.Stdout, res.Stderr, res.Duration)
	}
}
