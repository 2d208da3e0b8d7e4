// Package netext grafts the socket EXTENSIONS of WasmEdge and WAMR onto the
// embedded wazero runner, with real host sockets, for the suite's negative
// controls of ambient network authority (capability-catalogue.md C.7, D.9).
//
// # NOT A SANDBOX
//
// With NoPolicy it is the mistake the socket specs look for: sock_bind and
// sock_connect go straight to the host, whatever the guest was granted, and
// an address it cannot read from the guest's memory is taken as zeros
// (0.0.0.0, which a Linux host connects to itself). With Pool it is the
// model the specs ask for: bind and connect only inside
// runners.Invocation.AddrPool (WAMR's --addr-pool), ACCES outside it, and
// FAULT for an address out of bounds. Import it from tests only.
//
// Whatever the mode, it only ever touches loopback: a non-loopback address
// answers ACCES, so the control cannot reach the network it demonstrates.
// Every socket it makes is closed when the run ends, and a blocked
// sock_accept with it.
//
// The extension's sockets live in a table of their own (fds from ExtFDBase);
// preview 1's calls (fd_close, sock_recv) do not know them, and WasmEdge's
// two-argument sock_accept replaces preview 1's, so the runner claims
// neither sock-imports nor preopened-sockets.
package netext

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	wz "github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/wasicert/wasicert/runners"
	"github.com/wasicert/wasicert/runners/wazero"
)

// ABI is which runtime's extension the runner exports.
type ABI int

const (
	// WasmEdge: sock_open(af, type, *fd), sock_bind/sock_connect(fd,
	// *{buf, len}, port), sock_listen, sock_accept(fd, *fd), sock_getaddrinfo.
	WasmEdge ABI = iota
	// WAMR: sock_open(poolfd, af, type, *fd), sock_bind/sock_connect(fd,
	// *__wasi_addr_t), sock_listen, sock_accept(fd, flags, *fd), sock_addr_resolve.
	WAMR
)

// Policy is what the runner checks before bind and connect.
type Policy int

const (
	// NoPolicy: nothing; unreadable addresses read as zeros.
	NoPolicy Policy = iota
	// Pool: only addresses inside Invocation.AddrPool; bounds checked.
	Pool
	// PoolIgnored is NoPolicy that claims runners.FeatureAddrPool: an
	// allow-list that is parsed and never consulted.
	PoolIgnored
	// Lying is NoPolicy that hides it: every bind, listen and connect is
	// made on the host and then answered ACCES, so the guest's records
	// show a refusal and only the host's actors see the socket.
	Lying
)

// ExtFDBase is the first fd the extension hands out.
const ExtFDBase = 0x4000

// WASI errnos the extension answers.
const (
	errnoSuccess     = 0
	errnoAcces       = 2
	errnoAddrInUse   = 3
	errnoBadf        = 8
	errnoConnRefused = 14
	errnoFault       = 21
	errnoInval       = 28
	errnoNotConn     = 53
)

// New returns embedded wazero with abi's extension under policy.
func New(abi ABI, policy Policy) (runners.Runner, error) {
	inner, err := wazero.New(wazero.Options{HostFunctions: func(b wz.HostModuleBuilder) { export(b, abi, policy) }})
	if err != nil {
		return nil, err
	}
	return &runner{inner: inner, abi: abi, policy: policy}, nil
}

type runner struct {
	inner  runners.Runner
	abi    ABI
	policy Policy
}

func (r *runner) Name() string {
	abi := map[ABI]string{WasmEdge: "WasmEdge", WAMR: "WAMR"}[r.abi]
	switch r.policy {
	case Pool:
		return "wazero (" + abi + " sockets, address pool)"
	case PoolIgnored:
		return "wazero (" + abi + " sockets, address pool ignored)"
	case Lying:
		return "wazero (" + abi + " sockets, no policy, refusals faked)"
	}
	return "wazero (" + abi + " sockets, no policy)"
}

func (r *runner) Version() string { return r.inner.Version() }

func (r *runner) Features() runners.Features {
	fs := runners.Features{runners.FeatureReadOnlyPreopen, runners.FeatureStdin, runners.FeatureSockExt}
	if r.abi == WasmEdge {
		fs = append(fs, runners.FeatureSockExtWasmEdge)
	} else {
		fs = append(fs, runners.FeatureSockExtWAMR)
	}
	if r.policy == Pool || r.policy == PoolIgnored {
		fs = append(fs, runners.FeatureAddrPool)
	}
	return fs
}

// Run runs inv with a fresh socket table, closed when the run ends.
func (r *runner) Run(ctx context.Context, inv runners.Invocation) (runners.Result, error) {
	st := &state{policy: r.policy, socks: map[uint32]*sock{}}
	for _, p := range inv.AddrPool {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return runners.Result{}, fmt.Errorf("netext: address pool entry %q: %w (give a CIDR such as 127.0.0.2/32)", p, err)
		}
		st.pool = append(st.pool, pfx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		st.closeAll()
	}()
	defer st.closeAll()
	return r.inner.Run(context.WithValue(ctx, stateKey{}, st), inv)
}

type stateKey struct{}

// state is one run's socket table.
type state struct {
	policy Policy
	pool   []netip.Prefix

	mu     sync.Mutex
	next   uint32
	socks  map[uint32]*sock
	closed bool
}

type sock struct {
	bound netip.AddrPort
	ln    net.Listener
	conn  net.Conn
}

func stateOf(ctx context.Context) *state {
	st, _ := ctx.Value(stateKey{}).(*state)
	if st == nil {
		// Run always sets it; a call outside Run gets an empty, closed table.
		st = &state{socks: map[uint32]*sock{}, closed: true}
	}
	return st
}

func (st *state) open() (uint32, uint32) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed || len(st.socks) >= 64 {
		return 0, errnoInval
	}
	fd := ExtFDBase + st.next
	st.next++
	st.socks[fd] = &sock{}
	return fd, errnoSuccess
}

func (st *state) get(fd uint32) *sock {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.socks[fd]
}

func (st *state) closeAll() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.closed = true
	for _, s := range st.socks {
		if s.ln != nil {
			s.ln.Close()
		}
		if s.conn != nil {
			s.conn.Close()
		}
	}
}

// allowed is the policy's answer for ap: errnoSuccess or the errno to return.
func (st *state) allowed(ap netip.AddrPort) uint32 {
	a := ap.Addr().Unmap()
	if !a.IsLoopback() && !a.IsUnspecified() {
		return errnoAcces // never off the host, whatever the policy
	}
	if st.policy != Pool {
		return errnoSuccess
	}
	for _, p := range st.pool {
		if p.Contains(a) {
			return errnoSuccess
		}
	}
	return errnoAcces
}

func (st *state) bind(fd uint32, ap netip.AddrPort) uint32 {
	s := st.get(fd)
	if s == nil {
		return errnoBadf
	}
	if e := st.allowed(ap); e != errnoSuccess {
		return e
	}
	s.bound = ap
	if st.policy == Lying {
		st.listen(fd) // listens on the host, and answers the guest ACCES
		return errnoAcces
	}
	return errnoSuccess
}

func (st *state) listen(fd uint32) uint32 {
	s := st.get(fd)
	switch {
	case s == nil:
		return errnoBadf
	case !s.bound.IsValid(), s.bound.Addr().IsUnspecified():
		return errnoInval // never listen on every interface
	}
	ln, err := net.Listen("tcp4", s.bound.String())
	if err != nil {
		return errnoAddrInUse
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		ln.Close()
		return errnoInval
	}
	s.ln = ln
	return st.answer()
}

// answer is what a bind, listen or connect the host made answers the guest.
func (st *state) answer() uint32 {
	if st.policy == Lying {
		return errnoAcces
	}
	return errnoSuccess
}

func (st *state) connect(fd uint32, ap netip.AddrPort) uint32 {
	s := st.get(fd)
	if s == nil {
		return errnoBadf
	}
	if e := st.allowed(ap); e != errnoSuccess {
		return e
	}
	c, err := net.DialTimeout("tcp4", ap.String(), 2*time.Second)
	if err != nil {
		return errnoConnRefused
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		c.Close()
		return errnoConnRefused
	}
	s.conn = c
	return st.answer()
}

// accept blocks until a client connects or the run ends.
func (st *state) accept(fd uint32) (uint32, uint32) {
	s := st.get(fd)
	if s == nil {
		return 0, errnoBadf
	}
	if s.ln == nil {
		return 0, errnoInval
	}
	c, err := s.ln.Accept()
	if err != nil {
		if errors.Is(err, net.ErrClosed) {
			return 0, errnoNotConn
		}
		return 0, errnoInval
	}
	nfd, e := st.open()
	if e != errnoSuccess {
		c.Close()
		return 0, e
	}
	st.mu.Lock()
	st.socks[nfd].conn = c
	st.mu.Unlock()
	return nfd, errnoSuccess
}

// read reads n bytes at ptr; under NoPolicy an unreadable range reads as
// zeros (the weakness), otherwise it is a fault.
func (st *state) read(m api.Memory, ptr, n uint32) ([]byte, bool) {
	if b, ok := m.Read(ptr, n); ok {
		return b, true
	}
	if st.policy != Pool {
		return make([]byte, n), true
	}
	return nil, false
}

// loopbackNames is all sock_getaddrinfo and sock_addr_resolve resolve:
// the control never asks a resolver.
var loopbackNames = map[string]netip.Addr{"localhost": netip.AddrFrom4([4]byte{127, 0, 0, 1})}

type fn func(ctx context.Context, m api.Module, p []uint64) uint32

func export(b wz.HostModuleBuilder, abi ABI, _ Policy) {
	add := func(name string, nparams int, f fn) {
		params := make([]api.ValueType, nparams)
		for i := range params {
			params[i] = api.ValueTypeI32
		}
		b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, m api.Module, stack []uint64) {
			stack[0] = uint64(f(ctx, m, stack[:nparams]))
		}), params, []api.ValueType{api.ValueTypeI32}).Export(name)
	}
	if abi == WasmEdge {
		exportWasmEdge(add)
	} else {
		exportWAMR(add)
	}
}

func u32(v uint64) uint32 { return uint32(v) }

// writeFD writes fd at ptr, answering FAULT when it cannot.
func writeFD(m api.Module, ptr, fd uint32) uint32 {
	if !m.Memory().WriteUint32Le(ptr, fd) {
		return errnoFault
	}
	return errnoSuccess
}

var le = binary.LittleEndian
