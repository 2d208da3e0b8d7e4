package runners_test

import (
	"context"
	"errors"
	"io"
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

// misnamed is a hostile stand-in: registered under one name, it calls
// itself by another (as the containerd runner once called itself
// "containerd:<shim>"), so its results would be filed and its expectations
// looked up under a name nobody asked for.
type misnamed struct{ closed *bool }

func (m misnamed) Name() string               { return "wazero" }
func (m misnamed) Version() string            { return "0" }
func (m misnamed) Features() runners.Features { return nil }
func (m misnamed) Run(context.Context, runners.Invocation) (runners.Result, error) {
	return runners.Result{}, nil
}
func (m misnamed) Close() error { *m.closed = true; return nil }

var _ io.Closer = misnamed{}

var misnamedClosed bool

func init() {
	runners.Register("test-misnamed", func() (runners.Runner, error) { return misnamed{&misnamedClosed}, nil })
}

func TestOpenRefusesAnotherName(t *testing.T) {
	r, err := runners.Open("test-misnamed")
	if err == nil {
		t.Fatalf("Open(%q) returned a runner named %q", "test-misnamed", r.Name())
	}
	if !strings.Contains(err.Error(), `its runner's Name is "wazero"`) {
		t.Errorf("the error does not say what is wrong: %v", err)
	}
	if !misnamedClosed {
		t.Error("the refused runner was not closed")
	}
}

// Every registered runtime that is installed here opens to a runner whose
// Name is its registry name (the name --runtime takes, reports show and
// expectation files list).
func TestNamesAreRegistryNames(t *testing.T) {
	for _, name := range runners.Names() {
		if name == "test-misnamed" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			r, err := runners.Open(name)
			if errors.Is(err, runners.ErrNotInstalled) {
				t.Skip(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if c, ok := r.(io.Closer); ok {
				defer c.Close()
			}
			if r.Name() != name {
				t.Errorf("runtime %q opens to a runner named %q", name, r.Name())
			}
			t.Logf("%s: %s", name, r.Version())
		})
	}
}
