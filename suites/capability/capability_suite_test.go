package capability_test

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wasicert/wasicert/probes"
	_ "github.com/wasicert/wasicert/suites/capability"
	"github.com/wasicert/wasicert/suites/framework"
)

// TestCapability runs the capability suite on the runtime chosen with
// -wasicert.runtime or WASICERT_RUNTIME (default: embedded wazero).
func TestCapability(t *testing.T) {
	if err := framework.CheckGinkgoConfig(); err != nil {
		t.Fatal(err)
	}
	RunSpecs(t, "wasicert capability suite")
}

func TestMain(m *testing.M) {
	code := m.Run()
	probes.Cleanup()
	os.Exit(code)
}
