/*
 * sockext_wamr.c: WAMR's lib-socket extension
 * (core/iwasm/libraries/lib-socket/inc/wasi_socket_ext.h; registered in
 * core/iwasm/libraries/libc-wasi/libc_wasi_wrapper.c with the native
 * signatures quoted):
 *
 *   sock_open(poolfd, af, socktype, *fd) -> errno       "(iii*)i"; af INET4 = 0, STREAM = 1
 *   sock_bind(fd, *__wasi_addr_t) -> errno              "(i*)i"
 *   sock_connect(fd, *__wasi_addr_t) -> errno           "(i*)i"
 *   sock_listen(fd, backlog) -> errno                   "(ii)i"
 *   sock_accept(fd, fdflags, *fd) -> errno              "(ii*)i", as preview 1
 *   sock_addr_resolve(host, service, *hints, *info, info_size, *max) "($$**i*)i"
 *
 * __wasi_addr_t is {u32 kind (IPv4 = 0); u8 n0..n3; u16 port (host order)}
 * padded to 24 bytes. WAMR checks every "*" argument against the linear
 * memory before the call and traps the guest when it is out of bounds, so
 * the out-of-bounds ops are not run against this ABI (the specs skip them).
 * connect and bind are checked against --addr-pool (EACCES outside it).
 */
#include "sockext.h"

#define IMPORT(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(name)))

IMPORT("sock_open") int32_t wamr_sock_open(int32_t poolfd, int32_t af, int32_t type, int32_t fd_ptr);
IMPORT("sock_bind") int32_t wamr_sock_bind(int32_t fd, int32_t addr_ptr);
IMPORT("sock_connect") int32_t wamr_sock_connect(int32_t fd, int32_t addr_ptr);
IMPORT("sock_listen") int32_t wamr_sock_listen(int32_t fd, int32_t backlog);
IMPORT("sock_accept") int32_t wamr_sock_accept(int32_t fd, int32_t flags, int32_t fd_ptr);
IMPORT("sock_addr_resolve")
int32_t wamr_sock_addr_resolve(int32_t host, int32_t service, int32_t hints, int32_t info,
                               int32_t info_size, int32_t max_ptr);

const char *const ext_call_open = "sock_open", *const ext_call_resolve = "sock_addr_resolve";

typedef struct { /* __wasi_addr_t for IPv4, 24 bytes */
	uint32_t kind;
	uint8_t n[4];
	uint16_t port;
	uint8_t pad[14];
} wamr_addr_t;

typedef struct { /* __wasi_addr_info_t: __wasi_addr_t, then the socket type */
	wamr_addr_t addr;
	int32_t type;
} wamr_addr_info_t;

typedef struct { /* __wasi_addr_info_hints_t */
	int32_t type, family;
	uint8_t hints_enabled, pad[3];
} wamr_hints_t;

#define AF_INET4 0
#define STREAM 1

__wasi_errno_t ext_open(__wasi_fd_t *fd) {
	return (__wasi_errno_t)wamr_sock_open(-1, AF_INET4, STREAM, (int32_t)(uintptr_t)fd);
}

__wasi_errno_t ext_open_at(uint32_t fd_ptr) {
	return (__wasi_errno_t)wamr_sock_open(-1, AF_INET4, STREAM, (int32_t)fd_ptr);
}

static wamr_addr_t addr;

static int32_t address(const uint8_t ip[4], uint16_t port) {
	addr = (wamr_addr_t){.kind = 0, .n = {ip[0], ip[1], ip[2], ip[3]}, .port = port};
	return (int32_t)(uintptr_t)&addr;
}

__wasi_errno_t ext_bind(__wasi_fd_t fd, const uint8_t ip[4], uint16_t port) {
	return (__wasi_errno_t)wamr_sock_bind((int32_t)fd, address(ip, port));
}

__wasi_errno_t ext_connect(__wasi_fd_t fd, const uint8_t ip[4], uint16_t port) {
	return (__wasi_errno_t)wamr_sock_connect((int32_t)fd, address(ip, port));
}

__wasi_errno_t ext_connect_at(__wasi_fd_t fd, uint32_t addr_ptr, uint16_t port) {
	(void)port;
	return (__wasi_errno_t)wamr_sock_connect((int32_t)fd, (int32_t)addr_ptr);
}

__wasi_errno_t ext_bind_badbuf(__wasi_fd_t fd, uint16_t port) {
	(void)port;
	return (__wasi_errno_t)wamr_sock_bind((int32_t)fd, (int32_t)OOB_PTR);
}

__wasi_errno_t ext_listen(__wasi_fd_t fd, uint32_t backlog) {
	return (__wasi_errno_t)wamr_sock_listen((int32_t)fd, (int32_t)backlog);
}

__wasi_errno_t ext_accept(__wasi_fd_t fd, __wasi_fd_t *newfd) {
	return (__wasi_errno_t)wamr_sock_accept((int32_t)fd, 0, (int32_t)(uintptr_t)newfd);
}

__wasi_errno_t ext_resolve_huge(uint32_t max) {
	static wamr_hints_t hints = {.type = STREAM, .family = AF_INET4, .hints_enabled = 1};
	static wamr_addr_info_t info[1];
	static uint32_t found;
	return (__wasi_errno_t)wamr_sock_addr_resolve((int32_t)(uintptr_t)"localhost", (int32_t)(uintptr_t)"",
	                                              (int32_t)(uintptr_t)&hints, (int32_t)(uintptr_t)info,
	                                              (int32_t)max, (int32_t)(uintptr_t)&found);
}
