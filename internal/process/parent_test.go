package process

import (
	"os"
	"testing"
)

func TestParent(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	if got := Parent(os.Getpid()); got != os.Getppid() {
		t.Errorf("Parent(self) = %d, want %d", got, os.Getppid())
	}
	if got := Parent(-1); got != 0 {
		t.Errorf("Parent(-1) = %d, want 0", got)
	}
}
