package suites

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wasicert/wasicert/runners"
)

// Swapper is a host-side actor that races the guest: while the guest runs,
// it exchanges each pair of names in Dir (a directory of the fixture, e.g.
// "sandbox/race") with renameat2(RENAME_EXCHANGE), over and over, so that a
// path the guest opens is now one entry (a regular file, a directory) and
// now the other (a symlink that points out of the sandbox). Each exchange is
// atomic: the path always exists. It stops when the run returns, after
// MaxSwaps exchanges, or after MaxTime, whichever comes first.
//
// The actor touches only the entries Pairs names, inside Dir: Dir is opened
// one component at a time from the fixture root with O_NOFOLLOW, so a Dir
// the guest replaced by a symlink before the run is refused, and exchanges
// name single components of that open directory, which rename never follows.
// Linux only: elsewhere, and on a file system without RENAME_EXCHANGE, the
// spec is skipped with the reason.
type Swapper struct {
	Dir      string
	Pairs    [][2]string
	MaxSwaps int64
	MaxTime  time.Duration

	swaps atomic.Int64
	mu    sync.Mutex
	err   error
}

// Swaps is the number of exchanges made.
func (s *Swapper) Swaps() int64 { return s.swaps.Load() }

// Err is the error that stopped the swapping early, if any.
func (s *Swapper) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Act opens Dir, checks one exchange works, and wraps run with the loop.
func (s *Swapper) Act(st *Stage, run RunFunc) (RunFunc, error) {
	d, err := openSwapDir(st.Fixture.Root, s.Dir)
	if err != nil {
		return nil, err
	}
	for _, p := range s.Pairs { // one exchange and back: the fs supports it
		if err := d.exchange(p[0], p[1]); err == nil {
			err = d.exchange(p[0], p[1])
		}
		if err != nil {
			d.close()
			return nil, err
		}
	}
	return func(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
		defer d.close()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.loop(d, stop)
		}()
		res, err := run(ctx, inv)
		close(stop)
		<-done // the swapping never outlives the run
		return res, err
	}, nil
}

func (s *Swapper) loop(d swapDir, stop <-chan struct{}) {
	deadline := time.Now().Add(s.MaxTime)
	for n := int64(0); n < s.MaxSwaps; n++ {
		if n&63 == 0 {
			select {
			case <-stop:
				return
			default:
			}
			if time.Now().After(deadline) {
				return
			}
		}
		for _, p := range s.Pairs {
			if err := d.exchange(p[0], p[1]); err != nil {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
				return
			}
			s.swaps.Add(1)
		}
	}
}
