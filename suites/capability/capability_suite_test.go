package capability_test

import (
	"flag"
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wasicert/wasicert/probes"
	"github.com/wasicert/wasicert/suites/capability"
	"github.com/wasicert/wasicert/suites/framework"
)

// TestMain builds the run's Config from the -wasicert.* flags and WASICERT_*
// variables (default: embedded wazero) and declares the suite with it.
func TestMain(m *testing.M) {
	cfg := framework.RegisterFlags(flag.CommandLine)
	flag.Parse()
	capability.Declare(*cfg)
	code := m.Run()
	probes.Cleanup()
	os.Exit(code)
}

// TestCapability runs the capability suite on the runtime chosen with
// -wasicert.runtime or WASICERT_RUNTIME.
func TestCapability(t *testing.T) {
	if err := framework.CheckGinkgoConfig(); err != nil {
		t.Fatal(err)
	}
	RunSpecs(t, "wasicert capability suite")
}
