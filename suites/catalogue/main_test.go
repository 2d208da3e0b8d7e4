package catalogue

import (
	"os"
	"testing"

	"github.com/wasicert/wasicert/probes"
)

// TestMain removes the probe modules probes.Get wrote for these tests.
func TestMain(m *testing.M) {
	code := m.Run()
	probes.Cleanup()
	os.Exit(code)
}
