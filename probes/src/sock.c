/*
 * sock.c: the socket probe (sock.wasm), the only probe importing sock_*, so
 * that a runtime without them still runs fs.wasm. See ../PROTOCOL.md.
 */
#include "probe.h"

#define BUFSZ 4096
static uint8_t buf[BUFSZ];

/* accept: check fd. The accepted fd stays open for later steps. */
static void op_accept(const step_t *s) {
	__wasi_fd_t fd = 0;
	__wasi_errno_t err = __wasi_sock_accept(s->arg[0].fd, 0, &fd);
	emit(s, &(rec_t){.err = err, .has = err ? 0 : HAS_FD, .fd = fd});
}

/* recv: check fd */
static void op_recv(const step_t *s) {
	__wasi_iovec_t iov = {buf, 64};
	__wasi_size_t n = 0;
	__wasi_roflags_t ro;
	__wasi_errno_t err = __wasi_sock_recv(s->arg[0].fd, &iov, 1, 0, &n, &ro);
	if (err != __WASI_ERRNO_SUCCESS || n > 64)
		n = 0;
	emit(s, &(rec_t){.err = err, .has = HAS_DATA, .data = buf, .len = n});
}

/* send: check fd */
static void op_send(const step_t *s) {
	__wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
	__wasi_size_t n = 0;
	__wasi_errno_t err = __wasi_sock_send(s->arg[0].fd, &iov, 1, 0, &n);
	emit(s, &(rec_t){.err = err, .has = err ? 0 : HAS_SIZE, .size = n});
}

/* shutdown: check fd */
static void op_shutdown(const step_t *s) {
	emit_err(s, NULL, __wasi_sock_shutdown(s->arg[0].fd, __WASI_SDFLAGS_RD | __WASI_SDFLAGS_WR));
}

/* find_socket looks for the first fd >= 3 that is a stream socket. */
static void find_socket(const step_t *s, __wasi_fd_t *found, __wasi_errno_t *err) {
	*err = __WASI_ERRNO_NOTSOCK;
	for (__wasi_fd_t fd = 3; fd < 3 + MAX_SCAN; fd++) {
		__wasi_fdstat_t st;
		__wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
		if (e != __WASI_ERRNO_SUCCESS) {
			*err = e;
			break;
		}
		if (st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM) {
			*found = fd;
			*err = __WASI_ERRNO_SUCCESS;
			break;
		}
	}
	emit(s, &(rec_t){.op = "find", .call = "fd_fdstat_get", .err = *err,
	                 .has = *err ? 0 : HAS_FD, .fd = *found});
}

/* echo: check tries. One record per stage; a stage that retries on AGAIN
 * reports its last answer and, as count, how many calls it made. */
static void op_echo(const step_t *s) {
	uint32_t tries = (uint32_t)s->arg[0].num;
	__wasi_fd_t lfd = 0, cfd = 0;
	__wasi_errno_t err;
	uint32_t calls = 0;

	find_socket(s, &lfd, &err);
	if (err != __WASI_ERRNO_SUCCESS)
		return;

	for (;;) {
		err = __wasi_sock_accept(lfd, __WASI_FDFLAGS_NONBLOCK, &cfd);
		if (++calls >= tries || err != __WASI_ERRNO_AGAIN)
			break;
		sleep_ms(10);
	}
	emit(s, &(rec_t){.op = "sock_accept", .err = err, .has = HAS_COUNT | (err ? 0 : HAS_FD),
	                 .count = calls, .fd = cfd});
	if (err != __WASI_ERRNO_SUCCESS)
		return;

	/* The accepted fd is non-blocking: AGAIN means wait, up to tries times. */
	size_t got = 0;
	calls = 0;
	for (uint32_t again = 0;;) {
		__wasi_iovec_t iov = {buf + got, BUFSZ - got};
		__wasi_size_t n = 0;
		__wasi_roflags_t ro;
		err = __wasi_sock_recv(cfd, &iov, 1, 0, &n, &ro);
		calls++;
		if (err == __WASI_ERRNO_AGAIN && ++again < tries) {
			sleep_ms(10);
			continue;
		}
		if (err != __WASI_ERRNO_SUCCESS || n == 0 || n > BUFSZ - got)
			break;
		size_t start = got;
		got += n;
		int newline = 0;
		for (size_t i = start; i < got; i++)
			newline |= buf[i] == '\n';
		if (newline || got == BUFSZ)
			break;
	}
	emit(s, &(rec_t){.op = "sock_recv", .err = err, .has = HAS_FD | HAS_COUNT | HAS_DATA,
	                 .fd = cfd, .count = calls, .data = buf, .len = got});

	if (err == __WASI_ERRNO_SUCCESS) {
		size_t off = 0;
		calls = 0;
		for (uint32_t again = 0; off < got;) {
			__wasi_ciovec_t iov = {buf + off, got - off};
			__wasi_size_t n = 0;
			err = __wasi_sock_send(cfd, &iov, 1, 0, &n);
			calls++;
			if (err == __WASI_ERRNO_AGAIN && ++again < tries) {
				sleep_ms(10);
				continue;
			}
			if (err != __WASI_ERRNO_SUCCESS || n == 0)
				break;
			off += n;
		}
		emit(s, &(rec_t){.op = "sock_send", .err = err, .has = HAS_FD | HAS_COUNT | HAS_SIZE,
		                 .fd = cfd, .count = calls, .size = off});
	}
	if (err == __WASI_ERRNO_SUCCESS)
		emit(s, &(rec_t){.op = "sock_shutdown", .err = __wasi_sock_shutdown(cfd, __WASI_SDFLAGS_WR),
		                 .has = HAS_FD, .fd = cfd});
	(void)__wasi_fd_close(cfd);
}

const op_t probe_ops[] = {
	{"accept", "D", op_accept},
	{"recv", "D", op_recv},
	{"send", "D", op_send},
	{"shutdown", "D", op_shutdown},
	{"echo", "n", op_echo},
};
const size_t probe_nops = sizeof probe_ops / sizeof *probe_ops;
