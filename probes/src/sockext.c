/*
 * sockext.c: the ops of the socket-extension probes (sockwasmedge.wasm,
 * sockwamr.wasm); the ABI is in sockext_<runtime>.c. See ../PROTOCOL.md.
 * Nothing here is granted by preview 1: a runtime that lets these calls
 * reach the network gives the guest the host's network.
 */
#include "sockext.h"

#include <string.h>

/* parse_ip4 parses a dotted quad. */
static int parse_ip4(const char *s, uint8_t ip[4]) {
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (digits == 0 || v > 255 || (i < 3 && *s++ != '.'))
			return 0;
		ip[i] = (uint8_t)v;
	}
	return *s == 0;
}

static int args_addr(const step_t *s, int at, uint8_t ip[4], uint16_t *port) {
	if (!parse_ip4(s->arg[at].str, ip) || s->arg[at + 1].num > 65535) {
		emit(s, &(rec_t){.op = "usage", .err = __WASI_ERRNO_INVAL, .errname = "usage",
		                 .has = HAS_DATA, .data = "bad ip or port", .len = 14});
		return 0;
	}
	*port = (uint16_t)s->arg[at + 1].num;
	return 1;
}

/* ext-connect: check ip port. Opens a socket and connects it. The record
 * names sock_connect, or the ext's open call when that failed. */
static void op_ext_connect(const step_t *s) {
	uint8_t ip[4];
	uint16_t port;
	__wasi_fd_t fd = 0;
	if (!args_addr(s, 0, ip, &port))
		return;
	__wasi_errno_t err = ext_open(&fd);
	if (err != __WASI_ERRNO_SUCCESS) {
		emit_err(s, ext_call_open, err);
		return;
	}
	err = ext_connect(fd, ip, port);
	emit(s, &(rec_t){.call = "sock_connect", .err = err, .has = HAS_FD, .fd = fd});
	(void)__wasi_fd_close(fd);
}

/* handshake tells the harness's canary client the socket is (or would be)
 * listening: it creates <check>.listened in dir, then waits, with the socket
 * still open, until the client has knocked and made <check>.ack (at most
 * 300 x 10 ms). A runtime that listens and answers the guest a refusal is
 * still seen. */
static void handshake(const step_t *s, __wasi_fd_t dir) {
	char name[96];
	size_t n = strlen(s->check);
	if (n > sizeof name - 12)
		return;
	memcpy(name, s->check, n);
	memcpy(name + n, ".listened", 10);
	__wasi_fd_t fd;
	if (__wasi_path_open(dir, 0, name, __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_WRITE, 0, 0, &fd) != __WASI_ERRNO_SUCCESS)
		return;
	(void)__wasi_fd_close(fd);
	memcpy(name + n, ".ack", 5);
	for (int i = 0; i < 300; i++) {
		__wasi_filestat_t st;
		if (__wasi_path_filestat_get(dir, 0, name, &st) == __WASI_ERRNO_SUCCESS)
			return;
		sleep_ms(10);
	}
}

/* ext-listen: check ip port dir. Opens a socket, binds it to ip:port,
 * listens, and when that worked accepts one connection (blocking: the
 * harness's client connects while the run lasts); when it did not, the
 * handshake above. calls: sock_bind, sock_listen, sock_accept; the first
 * one reached is the escape. */
static void op_ext_listen(const step_t *s) {
	uint8_t ip[4];
	uint16_t port;
	__wasi_fd_t fd = 0, cfd = 0;
	call_t calls[3];
	size_t n = 0;
	if (!args_addr(s, 0, ip, &port))
		return;
	__wasi_errno_t err = ext_open(&fd);
	if (err != __WASI_ERRNO_SUCCESS) {
		emit_err(s, ext_call_open, err);
		return;
	}
	__wasi_errno_t first = ext_bind(fd, ip, port);
	calls[n++] = (call_t){"sock_bind", first, 0};
	if (first == __WASI_ERRNO_SUCCESS) {
		first = ext_listen(fd, 1);
		calls[n++] = (call_t){"sock_listen", first, 0};
	}
	if (first == __WASI_ERRNO_SUCCESS) {
		first = ext_accept(fd, &cfd);
		calls[n++] = (call_t){"sock_accept", first, 0};
		if (first == __WASI_ERRNO_SUCCESS)
			(void)__wasi_fd_close(cfd);
	} else {
		handshake(s, s->arg[2].fd);
	}
	emit(s, &(rec_t){.call = calls[n - 1].call, .err = first, .has = HAS_FD, .fd = fd,
	                 .calls = calls, .ncalls = n});
	(void)__wasi_fd_close(fd);
}

/* ext-bad: check kind ip port. One call with a bad argument; see PROTOCOL.md. */
static void op_ext_bad(const step_t *s) {
	const char *kind = s->arg[0].str;
	uint8_t ip[4];
	uint16_t port;
	__wasi_fd_t fd = 0;
	__wasi_errno_t err;
	const char *call;
	if (!args_addr(s, 1, ip, &port))
		return;
	if (strcmp(kind, "connect-badfd") == 0) {
		call = "sock_connect", err = ext_connect(9999, ip, port);
	} else if (strcmp(kind, "bind-badfd") == 0) {
		call = "sock_bind", err = ext_bind(9999, ip, port);
	} else if (strcmp(kind, "listen-badfd") == 0) {
		call = "sock_listen", err = ext_listen(9999, 1);
	} else if (strcmp(kind, "accept-badfd") == 0) {
		call = "sock_accept", err = ext_accept(9999, &fd);
	} else if (strcmp(kind, "open-oob") == 0) {
		call = ext_call_open, err = ext_open_at(OOB_PTR);
	} else if (strcmp(kind, "resolve-huge") == 0) {
		call = ext_call_resolve, err = ext_resolve_huge(0x7FFFFFFFu);
	} else if (strcmp(kind, "connect-oob") == 0 || strcmp(kind, "bind-oob") == 0) {
		int connect = kind[0] == 'c';
		call = ext_call_open, err = ext_open(&fd);
		if (err == __WASI_ERRNO_SUCCESS) {
			call = connect ? "sock_connect" : "sock_bind";
			err = connect ? ext_connect_at(fd, OOB_PTR, port) : ext_bind_badbuf(fd, port);
			(void)__wasi_fd_close(fd);
		}
	} else if (strcmp(kind, "alive") == 0) {
		__wasi_fdstat_t st;
		call = "fd_fdstat_get", err = __wasi_fd_fdstat_get(1, &st);
	} else {
		emit(s, &(rec_t){.op = "usage", .err = __WASI_ERRNO_INVAL, .errname = "usage",
		                 .has = HAS_DATA, .data = kind, .len = strlen(kind)});
		return;
	}
	emit_err(s, call, err);
}

const op_t probe_ops[] = {
	{"ext-connect", "sn", op_ext_connect},
	{"ext-listen", "snd", op_ext_listen},
	{"ext-bad", "ssn", op_ext_bad},
};
const size_t probe_nops = sizeof probe_ops / sizeof *probe_ops;
