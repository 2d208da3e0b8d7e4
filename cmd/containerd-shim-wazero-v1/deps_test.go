package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The shim is a system under test: it must not link the harness that judges
// it. What both need (the grant mapping, the trap protocol, confined mounts)
// lives in internal/ packages.
func TestNoHarnessImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, harness := range []string{"runners", "suites", "reports", "verdicts", "fixtures", "probes"} {
			prefix := "github.com/wasicert/wasicert/" + harness
			if p == prefix || strings.HasPrefix(p, prefix+"/") {
				t.Errorf("the shim links %s, part of the harness: move what it needs under internal/", p)
			}
		}
	}
}
