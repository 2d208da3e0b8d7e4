package runners

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Opener makes a Runner. It returns ErrNotInstalled (wrapped, with the
// reason) when the runtime is not on this machine.
type Opener func() (Runner, error)

// ErrNotInstalled marks a runtime that is known but not installed here.
var ErrNotInstalled = errors.New("not installed")

// ErrUnknownRuntime marks a name no runtime is registered under; Open's
// error wraps it and lists the registered names.
var ErrUnknownRuntime = errors.New("unknown runtime")

var (
	mu       sync.Mutex
	registry = map[string]Opener{}
)

// Register makes a runtime known by name. Runner packages call it from init,
// the way database/sql drivers register; cmd/wasicert imports them all.
func Register(name string, open Opener) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[name]; dup {
		panic("runners: Register called twice for " + name)
	}
	registry[name] = open
}

// Names lists every registered runtime, sorted.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open returns the runtime registered under name. An unknown name is an
// error wrapping ErrUnknownRuntime that lists the known ones; a runtime not
// installed here, one wrapping ErrNotInstalled.
//
// The runner's Name is name, the identity reports and expectation files
// (runtimes: lists registry names) key on: a runner that calls itself
// anything else is closed and an error.
func Open(name string) (Runner, error) {
	mu.Lock()
	open, ok := registry[name]
	mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w %q: choose one of %s (wasicert runtimes lists them)", ErrUnknownRuntime, name, strings.Join(Names(), ", "))
	}
	r, err := open()
	if err != nil {
		return nil, err
	}
	if got := r.Name(); got != name {
		if c, ok := r.(io.Closer); ok {
			_ = c.Close()
		}
		return nil, fmt.Errorf("runtime %q: its runner's Name is %q: a runner's Name must be the name it is registered under", name, got)
	}
	return r, nil
}
