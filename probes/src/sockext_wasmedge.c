/*
 * sockext_wasmedge.c: WasmEdge's socket extension, the ABI of the
 * wasmedge_wasi_socket crate, in its first generation (the "V1" set WasmEdge
 * registers under the plain names; lib/host/wasi/wasimodule.cpp,
 * include/host/wasi/wasifunc.h):
 *
 *   sock_open(af u32, socktype u32, *fd) -> errno        af INET4 = 1, STREAM = 2
 *   sock_bind(fd, *address, port u32) -> errno          address = {u8 *buf, u32 buf_len}
 *   sock_connect(fd, *address, port u32) -> errno       buf_len 4 (IPv4) or 16 (IPv6)
 *   sock_listen(fd, backlog) -> errno
 *   sock_accept(fd, *fd) -> errno                       (V1: no fdflags, unlike preview 1)
 *   sock_getaddrinfo(*node, node_len, *service, service_len, *hints,
 *                    *res, max_res_len, *res_len) -> errno
 *
 * The second generation (sock_open_v2, ..., WasmEdge 0.12+) also takes a
 * 128-byte family-tagged address buffer that can carry an AF_UNIX path; the
 * V1 names are what every WasmEdge release links, so the probe imports those.
 */
#include "sockext.h"

#define IMPORT(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(name)))

IMPORT("sock_open") int32_t we_sock_open(int32_t af, int32_t type, int32_t fd_ptr);
IMPORT("sock_bind") int32_t we_sock_bind(int32_t fd, int32_t addr_ptr, int32_t port);
IMPORT("sock_connect") int32_t we_sock_connect(int32_t fd, int32_t addr_ptr, int32_t port);
IMPORT("sock_listen") int32_t we_sock_listen(int32_t fd, int32_t backlog);
IMPORT("sock_accept") int32_t we_sock_accept(int32_t fd, int32_t fd_ptr);
IMPORT("sock_getaddrinfo")
int32_t we_sock_getaddrinfo(int32_t node, int32_t node_len, int32_t service, int32_t service_len,
                            int32_t hints, int32_t res, int32_t max_res_len, int32_t res_len);

const char *const ext_call_open = "sock_open", *const ext_call_resolve = "sock_getaddrinfo";

typedef struct {
	uint32_t buf, buf_len;
} we_address_t;

typedef struct { /* __wasi_addrinfo_t, 28 bytes */
	uint16_t ai_flags;
	uint8_t ai_family, ai_socktype, ai_protocol, pad[3];
	uint32_t ai_addrlen, ai_addr, ai_canonname, ai_canonname_len, ai_next;
} we_addrinfo_t;

typedef struct { /* __wasi_sockaddr_t, 12 bytes */
	uint8_t sa_family, pad[3];
	uint32_t sa_data_len, sa_data;
} we_sockaddr_t;

#define AF_INET4 1
#define STREAM 2

__wasi_errno_t ext_open(__wasi_fd_t *fd) {
	return (__wasi_errno_t)we_sock_open(AF_INET4, STREAM, (int32_t)(uintptr_t)fd);
}

__wasi_errno_t ext_open_at(uint32_t fd_ptr) {
	return (__wasi_errno_t)we_sock_open(AF_INET4, STREAM, (int32_t)fd_ptr);
}

static uint8_t addr_bytes[4];
static we_address_t addr;

static int32_t address(const uint8_t ip[4]) {
	for (int i = 0; i < 4; i++)
		addr_bytes[i] = ip[i];
	addr = (we_address_t){(uint32_t)(uintptr_t)addr_bytes, 4};
	return (int32_t)(uintptr_t)&addr;
}

__wasi_errno_t ext_bind(__wasi_fd_t fd, const uint8_t ip[4], uint16_t port) {
	return (__wasi_errno_t)we_sock_bind((int32_t)fd, address(ip), port);
}

__wasi_errno_t ext_connect(__wasi_fd_t fd, const uint8_t ip[4], uint16_t port) {
	return (__wasi_errno_t)we_sock_connect((int32_t)fd, address(ip), port);
}

__wasi_errno_t ext_connect_at(__wasi_fd_t fd, uint32_t addr_ptr, uint16_t port) {
	return (__wasi_errno_t)we_sock_connect((int32_t)fd, (int32_t)addr_ptr, port);
}

__wasi_errno_t ext_bind_badbuf(__wasi_fd_t fd, uint16_t port) {
	addr = (we_address_t){OOB_PTR, 4};
	return (__wasi_errno_t)we_sock_bind((int32_t)fd, (int32_t)(uintptr_t)&addr, port);
}

__wasi_errno_t ext_listen(__wasi_fd_t fd, uint32_t backlog) {
	return (__wasi_errno_t)we_sock_listen((int32_t)fd, (int32_t)backlog);
}

__wasi_errno_t ext_accept(__wasi_fd_t fd, __wasi_fd_t *newfd) {
	return (__wasi_errno_t)we_sock_accept((int32_t)fd, (int32_t)(uintptr_t)newfd);
}

/* One result's worth of room, chained as the crate chains it; max says more. */
__wasi_errno_t ext_resolve_huge(uint32_t max) {
	static const char node[] = "localhost";
	static we_addrinfo_t hints, ai;
	static we_sockaddr_t sa;
	static uint8_t sa_data[26];
	static uint32_t res, res_len;
	hints = (we_addrinfo_t){.ai_family = AF_INET4, .ai_socktype = STREAM};
	sa = (we_sockaddr_t){.sa_data_len = sizeof sa_data, .sa_data = (uint32_t)(uintptr_t)sa_data};
	ai = (we_addrinfo_t){.ai_addrlen = sizeof sa, .ai_addr = (uint32_t)(uintptr_t)&sa};
	res = (uint32_t)(uintptr_t)&ai;
	return (__wasi_errno_t)we_sock_getaddrinfo((int32_t)(uintptr_t)node, sizeof node - 1,
	                                           (int32_t)(uintptr_t)"", 0,
	                                           (int32_t)(uintptr_t)&hints, (int32_t)(uintptr_t)&res,
	                                           (int32_t)max, (int32_t)(uintptr_t)&res_len);
}
