package runners_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/wasicert/wasicert/runners"
	_ "github.com/wasicert/wasicert/runners/all"
)

func TestOpenUnknown(t *testing.T) {
	_, err := runners.Open("no-such-runtime")
	if !errors.Is(err, runners.ErrUnknownRuntime) || errors.Is(err, runners.ErrNotInstalled) {
		t.Fatalf("Open of an unknown name: %v; want ErrUnknownRuntime", err)
	}
	if !strings.Contains(err.Error(), `unknown runtime "no-such-runtime": choose one of `) || !strings.Contains(err.Error(), "wazero") {
		t.Errorf("the error does not name the runtime and list the known ones: %v", err)
	}
}
