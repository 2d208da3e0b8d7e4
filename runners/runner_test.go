package runners_test

import (
	"strings"
	"testing"

	"github.com/wasicert/wasicert/runners"
)

// TestValidateNUL: a NUL byte cannot cross exec, C strings or WASI, so
// Validate refuses it in one line naming the item, wherever it is.
func TestValidateNUL(t *testing.T) {
	ok := runners.Invocation{
		Module:   runners.Module{Path: "/m.wasm"},
		Args:     []string{"prog", "a"},
		Env:      []string{"K=V"},
		Preopens: []runners.Preopen{{GuestPath: "/sandbox", HostDir: "/tmp"}},
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for want, mod := range map[string]func(*runners.Invocation){
		`argument 1 "a\x00b" holds a NUL byte`:          func(i *runners.Invocation) { i.Args = []string{"prog", "a\x00b"} },
		`environment entry "K\x00=V" holds a NUL byte`:  func(i *runners.Invocation) { i.Env = []string{"K\x00=V"} },
		`environment entry "K=V\x00W" holds a NUL byte`: func(i *runners.Invocation) { i.Env = []string{"K=V\x00W"} },
		`preopen "/sa\x00ndbox" holds a NUL byte`: func(i *runners.Invocation) {
			i.Preopens = []runners.Preopen{{GuestPath: "/sa\x00ndbox", HostDir: "/tmp"}}
		},
		`preopen "/tmp\x00x" holds a NUL byte`: func(i *runners.Invocation) { i.Preopens = []runners.Preopen{{GuestPath: "/s", HostDir: "/tmp\x00x"}} },
	} {
		inv := ok
		mod(&inv)
		err := inv.Validate()
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("got %v, want one line holding %q", err, want)
		}
	}
}
