package netext

import (
	"bytes"
	"context"
	"net/netip"

	"github.com/tetratelabs/wazero/api"
)

// exportWasmEdge exports WasmEdge's V1 socket calls
// (WasmEdge lib/host/wasi/wasifunc.cpp, WasiSock*V1).
func exportWasmEdge(add func(string, int, fn)) {
	// sock_open(af, type, *fd): af INET4 = 1, type STREAM = 2.
	add("sock_open", 3, func(ctx context.Context, m api.Module, p []uint64) uint32 {
		if u32(p[0]) != 1 || u32(p[1]) != 2 {
			return errnoInval
		}
		st := stateOf(ctx)
		if _, ok := m.Memory().Read(u32(p[2]), 4); !ok && st.policy == Pool {
			return errnoFault
		}
		fd, e := st.open()
		if e != errnoSuccess {
			return e
		}
		if writeFD(m, u32(p[2]), fd) != errnoSuccess && st.policy == Pool {
			return errnoFault
		}
		return errnoSuccess
	})
	addr := func(ctx context.Context, m api.Module, ptr, port uint32) (netip.AddrPort, uint32) {
		st := stateOf(ctx)
		hdr, ok := st.read(m.Memory(), ptr, 8)
		if !ok {
			return netip.AddrPort{}, errnoFault
		}
		buf, n := le.Uint32(hdr), le.Uint32(hdr[4:])
		if n != 4 {
			return netip.AddrPort{}, errnoInval
		}
		ip, ok := st.read(m.Memory(), buf, 4)
		if !ok {
			return netip.AddrPort{}, errnoFault
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(ip)), uint16(port)), errnoSuccess
	}
	add("sock_bind", 3, func(ctx context.Context, m api.Module, p []uint64) uint32 {
		st := stateOf(ctx)
		if st.get(u32(p[0])) == nil {
			return errnoBadf
		}
		ap, e := addr(ctx, m, u32(p[1]), u32(p[2]))
		if e != errnoSuccess {
			return e
		}
		return st.bind(u32(p[0]), ap)
	})
	add("sock_connect", 3, func(ctx context.Context, m api.Module, p []uint64) uint32 {
		st := stateOf(ctx)
		if st.get(u32(p[0])) == nil {
			return errnoBadf
		}
		ap, e := addr(ctx, m, u32(p[1]), u32(p[2]))
		if e != errnoSuccess {
			return e
		}
		return st.connect(u32(p[0]), ap)
	})
	add("sock_listen", 2, func(ctx context.Context, _ api.Module, p []uint64) uint32 {
		return stateOf(ctx).listen(u32(p[0]))
	})
	// sock_accept(fd, *fd): V1 has no fdflags.
	add("sock_accept", 2, func(ctx context.Context, m api.Module, p []uint64) uint32 {
		fd, e := stateOf(ctx).accept(u32(p[0]))
		if e != errnoSuccess {
			return e
		}
		return writeFD(m, u32(p[1]), fd)
	})
	// sock_getaddrinfo(node, node_len, service, service_len, hints, res,
	// max_res_len, res_len): resolves localhost only, into the first entry
	// of the guest's chain, whatever max_res_len says.
	add("sock_getaddrinfo", 8, func(ctx context.Context, m api.Module, p []uint64) uint32 {
		mem := m.Memory()
		node, ok := mem.Read(u32(p[0]), u32(p[1]))
		if !ok {
			return errnoFault
		}
		if _, ok := mem.Read(u32(p[2]), u32(p[3])); !ok {
			return errnoFault
		}
		if _, ok := mem.Read(u32(p[4]), 28); !ok {
			return errnoFault
		}
		if u32(p[6]) < 1 {
			return errnoInval
		}
		a, known := loopbackNames[string(node)]
		first, ok := mem.ReadUint32Le(u32(p[5]))
		if !ok {
			return errnoFault
		}
		if !known {
			return errnoInval
		}
		ai, ok := mem.Read(first, 28)
		if !ok {
			return errnoFault
		}
		sa, ok := mem.Read(le.Uint32(ai[12:]), 12)
		if !ok {
			return errnoFault
		}
		data, ok := mem.Read(le.Uint32(sa[8:]), le.Uint32(sa[4:]))
		if !ok || len(data) < 6 {
			return errnoFault
		}
		ai[2], ai[3] = 1, 2 // INET4, STREAM
		sa[0] = 1
		ip := a.As4()
		copy(data[2:6], ip[:]) // port 0 in data[0:2]
		if !mem.WriteUint32Le(u32(p[7]), 1) {
			return errnoFault
		}
		return errnoSuccess
	})
}

// exportWAMR exports WAMR's lib-socket calls (libc_wasi_wrapper.c).
func exportWAMR(add func(string, int, fn)) {
	// sock_open(poolfd, af, type, *fd): af INET4 = 0, type STREAM = 1.
	add("sock_open", 4, func(ctx context.Context, m api.Module, p []uint64) uint32 {
		if u32(p[1]) != 0 || u32(p[2]) != 1 {
			return errnoInval
		}
		st := stateOf(ctx)
		if _, ok := m.Memory().Read(u32(p[3]), 4); !ok && st.policy == Pool {
			return errnoFault
		}
		fd, e := st.open()
		if e != errnoSuccess {
			return e
		}
		if writeFD(m, u32(p[3]), fd) != errnoSuccess && st.policy == Pool {
			return errnoFault
		}
		return errnoSuccess
	})
	// __wasi_addr_t: u32 kind (IPv4 = 0), u8 n0..n3, u16 port, 24 bytes.
	addr := func(ctx context.Context, m api.Module, ptr uint32) (netip.AddrPort, uint32) {
		b, ok := stateOf(ctx).read(m.Memory(), ptr, 24)
		if !ok {
			return netip.AddrPort{}, errnoFault
		}
		if le.Uint32(b) != 0 {
			return netip.AddrPort{}, errnoInval
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), le.Uint16(b[8:])), errnoSuccess
	}
	add("sock_bind", 2, func(ctx context.Context, m api.Module, p []uint64) uint32 {
		st := stateOf(ctx)
		if st.get(u32(p[0])) == nil {
			return errnoBadf
		}
		ap, e := addr(ctx, m, u32(p[1]))
		if e != errnoSuccess {
			return e
		}
		return st.bind(u32(p[0]), ap)
	})
	add("sock_connect", 2, func(ctx context.Context, m api.Module, p []uint64) uint32 {
		st := stateOf(ctx)
		if st.get(u32(p[0])) == nil {
			return errnoBadf
		}
		ap, e := addr(ctx, m, u32(p[1]))
		if e != errnoSuccess {
			return e
		}
		return st.connect(u32(p[0]), ap)
	})
	add("sock_listen", 2, func(ctx context.Context, _ api.Module, p []uint64) uint32 {
		return stateOf(ctx).listen(u32(p[0]))
	})
	add("sock_accept", 3, func(ctx context.Context, m api.Module, p []uint64) uint32 {
		fd, e := stateOf(ctx).accept(u32(p[0]))
		if e != errnoSuccess {
			return e
		}
		return writeFD(m, u32(p[2]), fd)
	})
	// sock_addr_resolve(host, service, *hints, *info, info_size, *max):
	// localhost only; info_size entries of 28 bytes must be in bounds (EINVAL
	// otherwise, as WAMR's wrapper answers).
	add("sock_addr_resolve", 6, func(ctx context.Context, m api.Module, p []uint64) uint32 {
		mem := m.Memory()
		host, ok := cString(mem, u32(p[0]))
		if !ok {
			return errnoFault
		}
		size := uint64(u32(p[4])) * 28
		if size > uint64(mem.Size()) {
			return errnoInval
		}
		info, ok := mem.Read(u32(p[3]), uint32(size))
		if !ok {
			return errnoInval
		}
		a, known := loopbackNames[host]
		if !known {
			return errnoInval
		}
		n := uint32(0)
		if len(info) >= 28 {
			clear(info[:28])
			ip := a.As4()
			copy(info[4:8], ip[:])
			le.PutUint32(info[24:], 1) // SOCKET_STREAM
			n = 1
		}
		if !mem.WriteUint32Le(u32(p[5]), n) {
			return errnoInval
		}
		return errnoSuccess
	})
}

// cString reads a NUL-terminated string of at most 256 bytes at ptr.
func cString(mem api.Memory, ptr uint32) (string, bool) {
	for n := uint32(1); n <= 256; n++ {
		b, ok := mem.Read(ptr, n)
		if !ok {
			return "", false
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			return string(b[:i]), true
		}
	}
	return "", false
}
