package naive

// Flaws: deliberate mistakes in single host functions, on top of the naive
// runtime's own weaknesses, for the clock and resource specs' negative
// controls (suites/catalogue/clock.go, resource.go). Each is a mistake a
// real host has made or could make; each must fail its spec for the
// spec's own cause (suites/clockres_negative_test.go).

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// Flaw replaces some host functions of one run. Each run gets fresh
// wrappers (make), so a flaw may keep state for the run.
type Flaw struct {
	// Name says what is wrong, e.g. "constant random_get".
	Name string
	make func() map[string]func(prev hostFn) hostFn
}

// Flawed returns the naive runtime with flaws applied in order (a later
// flaw wraps an earlier one's function). NOT A SANDBOX: for tests only.
func Flawed(flaws ...Flaw) *Runner { return &Runner{flaws: flaws} }

// overrides builds one run's replacements for the functions table.
func (r *Runner) overrides() map[string]hostFn {
	out := map[string]hostFn{}
	for _, f := range r.flaws {
		for name, wrap := range f.make() {
			prev, ok := out[name]
			if !ok {
				for _, fn := range functions {
					if fn.name == name {
						prev = fn.fn
					}
				}
			}
			out[name] = wrap(prev)
		}
	}
	return out
}

func one(name string, wrap func(prev hostFn) hostFn) func() map[string]func(hostFn) hostFn {
	return func() map[string]func(hostFn) hostFn { return map[string]func(hostFn) hostFn{name: wrap} }
}

// FlawClockIDs: every clock id is "supported", with resolution 0 and time 0
// for ids preview 1 does not define.
var FlawClockIDs = Flaw{Name: "any clock id, resolution 0", make: func() map[string]func(hostFn) hostFn {
	return map[string]func(hostFn) hostFn{
		"clock_res_get": func(hostFn) hostFn {
			return func(_ *state, _ context.Context, mod api.Module, p []uint64) errno {
				memOf(mod).putU64(uint32(p[1]), 0)
				return errSuccess
			}
		},
		"clock_time_get": func(prev hostFn) hostFn {
			return func(st *state, ctx context.Context, mod api.Module, p []uint64) errno {
				if uint32(p[0]) > 3 {
					memOf(mod).putU64(uint32(p[2]), 0)
					return errSuccess
				}
				return prev(st, ctx, mod, p)
			}
		},
	}
}}

// clockSkew wraps clock_time_get: realtime moved by real, and every
// backEvery-th monotonic read (0: none) one millisecond before the last.
func clockSkew(real time.Duration, backEvery int) func() map[string]func(hostFn) hostFn {
	return func() map[string]func(hostFn) hostFn {
		reads := 0
		return map[string]func(hostFn) hostFn{"clock_time_get": func(prev hostFn) hostFn {
			return func(st *state, ctx context.Context, mod api.Module, p []uint64) errno {
				e := prev(st, ctx, mod, p)
				if e != errSuccess {
					return e
				}
				g := memOf(mod)
				t := le.Uint64(g.read(uint32(p[2]), 8))
				switch uint32(p[0]) {
				case 0:
					g.putU64(uint32(p[2]), uint64(int64(t)+int64(real)))
				case 1:
					if reads++; backEvery > 0 && reads%backEvery == 0 {
						g.putU64(uint32(p[2]), t-uint64(time.Millisecond))
					}
				}
				return e
			}
		}}
	}
}

// FlawClockBack: the monotonic clock steps back 1 ms on every 100th read,
// and realtime is an hour behind the host's.
var FlawClockBack = Flaw{Name: "a clock that goes back", make: clockSkew(-time.Hour, 100)}

// FlawRealtimeSkew: realtime an hour behind the host's, monotonic fine: the
// guest cannot tell, only the host's clock can (a hostile stand-in).
var FlawRealtimeSkew = Flaw{Name: "realtime an hour off", make: clockSkew(-time.Hour, 0)}

// FlawConstantRandom: random_get fills the buffer with 0x42.
var FlawConstantRandom = Flaw{Name: "constant random_get", make: one("random_get", func(hostFn) hostFn {
	return func(_ *state, _ context.Context, mod api.Module, p []uint64) errno {
		b := memOf(mod).read(uint32(p[0]), uint32(p[1]))
		for i := range b {
			b[i] = 0x42
		}
		return errSuccess
	}
})}

// FlawSeededRandom: random_get is a PRNG with the same seed every run, so
// every call of a run differs and every run repeats the last: only the
// host, comparing two runs, can tell (a hostile stand-in).
var FlawSeededRandom = Flaw{Name: "random_get seeded alike every run", make: func() map[string]func(hostFn) hostFn {
	g := rand.New(rand.NewPCG(1, 2))
	return map[string]func(hostFn) hostFn{"random_get": func(hostFn) hostFn {
		return func(_ *state, _ context.Context, mod api.Module, p []uint64) errno {
			b := memOf(mod).read(uint32(p[0]), uint32(p[1]))
			for i := range b {
				b[i] = byte(g.Uint32())
			}
			return errSuccess
		}
	}}
}}

// pollNoSleep: poll_oneoff answers clock subscriptions at once, as if they
// had fired; with lie, the monotonic clock then jumps by the time skipped,
// so the guest's own measurement sees the full timeout.
func pollNoSleep(lie bool) func() map[string]func(hostFn) hostFn {
	return func() map[string]func(hostFn) hostFn {
		var skipped uint64
		return map[string]func(hostFn) hostFn{
			"poll_oneoff": func(prev hostFn) hostFn {
				return func(st *state, ctx context.Context, mod api.Module, p []uint64) errno {
					g := memOf(mod)
					in, n := uint32(p[0]), uint32(p[2])
					var longest uint64
					for i := range n {
						sub := g.read(in+48*i, 48)
						if sub[8] == 0 && le.Uint16(sub[40:])&1 == 0 { // relative clock
							longest = max(longest, le.Uint64(sub[24:]))
							le.PutUint64(sub[24:], 0)
						}
					}
					e := prev(st, ctx, mod, p)
					if lie {
						skipped += longest
					}
					return e
				}
			},
			"clock_time_get": func(prev hostFn) hostFn {
				return func(st *state, ctx context.Context, mod api.Module, p []uint64) errno {
					e := prev(st, ctx, mod, p)
					if e == errSuccess && uint32(p[0]) == 1 {
						g := memOf(mod)
						g.putU64(uint32(p[2]), le.Uint64(g.read(uint32(p[2]), 8))+skipped)
					}
					return e
				}
			},
		}
	}
}

// FlawPollImmediate: relative clock subscriptions fire at once.
var FlawPollImmediate = Flaw{Name: "poll_oneoff returns at once", make: pollNoSleep(false)}

// FlawPollLies: relative clock subscriptions fire at once and the monotonic
// clock jumps by the time skipped: the guest's measurement is fooled, the
// host's is not (a hostile stand-in).
var FlawPollLies = Flaw{Name: "poll_oneoff returns at once and the clock lies", make: pollNoSleep(true)}

// FlawFDErrno: past 256 open fds, path_open answers IO instead of MFILE.
var FlawFDErrno = Flaw{Name: "fd limit reported as IO", make: one("path_open", func(prev hostFn) hostFn {
	return func(st *state, ctx context.Context, mod api.Module, p []uint64) errno {
		if len(st.fds) > 256 {
			return errIO
		}
		return prev(st, ctx, mod, p)
	}
})}

// FlawRenumberLeak: fd_renumber does not close the target's host file: it
// stays open (parked at a high fd the run closes at its end), one host fd
// per renumber, as wasmtime did (GHSA-3p27-qvp9-27qf).
var FlawRenumberLeak = Flaw{Name: "fd_renumber leaks the target's host fd", make: one("fd_renumber", func(prev hostFn) hostFn {
	parked := uint32(1 << 30)
	return func(st *state, ctx context.Context, mod api.Module, p []uint64) errno {
		from, to := uint32(p[0]), uint32(p[1])
		src, dst := st.fds[from], st.fds[to]
		if from != to && src != nil && dst != nil && dst.file != nil {
			st.fds[parked] = dst
			parked++
			st.fds[to] = src
			delete(st.fds, from)
			return errSuccess
		}
		return prev(st, ctx, mod, p)
	}
})}

// FlawIovecCopy: fd_write gathers every iovec into one host buffer before
// writing (up to 384 MiB here, so the test process survives), as a host
// that copies guest buffers without a bound does (GHSA-852m-cvvp-9p4w).
var FlawIovecCopy = Flaw{Name: "fd_write copies all iovecs", make: one("fd_write", func(prev hostFn) hostFn {
	return func(st *state, ctx context.Context, mod api.Module, p []uint64) errno {
		g := memOf(mod)
		var all []byte
		for _, b := range g.iovecs(uint32(p[1]), uint32(p[2])) {
			if len(all)+len(b) > 384<<20 {
				break
			}
			all = append(all, b...)
		}
		e := prev(st, ctx, mod, p)
		keep = all // defeat the compiler: the copy is live until the next write
		return e
	}
})}

var keep []byte

// FlawStdoutUnbounded: everything written to stdout is also kept in host
// memory for the run, as a runner without an output bound does.
var FlawStdoutUnbounded = Flaw{Name: "stdout kept whole", make: func() map[string]func(hostFn) hostFn {
	var all []byte
	return map[string]func(hostFn) hostFn{"fd_write": func(prev hostFn) hostFn {
		return func(st *state, ctx context.Context, mod api.Module, p []uint64) errno {
			if uint32(p[0]) == 1 {
				for _, b := range memOf(mod).iovecs(uint32(p[1]), uint32(p[2])) {
					all = append(all, b...)
				}
			}
			return prev(st, ctx, mod, p)
		}
	}}
}}

// FlawReaddirGarbage: fd_readdir leaves host garbage (0xEE) in each dirent
// header's three padding bytes, as wasmtime did (GHSA-96f6-r43r-8c24).
var FlawReaddirGarbage = Flaw{Name: "fd_readdir padding not zeroed", make: one("fd_readdir", func(prev hostFn) hostFn {
	return func(st *state, ctx context.Context, mod api.Module, p []uint64) errno {
		e := prev(st, ctx, mod, p)
		if e != errSuccess {
			return e
		}
		g := memOf(mod)
		buf, used := uint32(p[1]), g.u32(uint32(p[4]))
		for off := uint32(0); off+24 <= used; {
			g.put(buf+off+21, []byte{0xEE, 0xEE, 0xEE})
			off += 24 + g.u32(buf+off+16)
		}
		return e
	}
})}

// FlawTimesFlags: the set_times calls accept ATIM with ATIM_NOW (and MTIM
// with MTIM_NOW), taking the explicit time.
var FlawTimesFlags = Flaw{Name: "fstflags not validated", make: func() map[string]func(hostFn) hostFn {
	fix := func(flags *uint64) { *flags &^= 2 | 8 }
	return map[string]func(hostFn) hostFn{
		"fd_filestat_set_times": func(prev hostFn) hostFn {
			return func(st *state, ctx context.Context, mod api.Module, p []uint64) errno {
				fix(&p[3])
				return prev(st, ctx, mod, p)
			}
		},
		"path_filestat_set_times": func(prev hostFn) hostFn {
			return func(st *state, ctx context.Context, mod api.Module, p []uint64) errno {
				fix(&p[6])
				return prev(st, ctx, mod, p)
			}
		},
	}
}}

// AllFlaws are the flaws that compose (the hostile stand-ins are left out):
// one runtime that fails every clock and resource spec for its own cause.
func AllFlaws() []Flaw {
	return []Flaw{FlawClockIDs, FlawClockBack, FlawConstantRandom, FlawPollImmediate, FlawFDErrno,
		FlawRenumberLeak, FlawIovecCopy, FlawStdoutUnbounded, FlawReaddirGarbage, FlawTimesFlags}
}
