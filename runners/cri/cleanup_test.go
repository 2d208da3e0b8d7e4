package cri_test

import (
	"os"
	"testing"

	"github.com/wasicert/wasicert/probes"
)

// TestMain removes the probe modules Get wrote for out-of-process runs.
func TestMain(m *testing.M) {
	code := m.Run()
	probes.Cleanup()
	os.Exit(code)
}
