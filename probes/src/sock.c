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

/* ---- item 4 conformance: sock_accept NONBLOCK, RECV_PEEK, shutdown ---- */

/* accept-nb: check. Makes the listener non-blocking with
 * fd_fdstat_set_flags(NONBLOCK), then, when that worked, sock_accept(listener,
 * NONBLOCK) once, with no client. (sock_accept's own fdflags are the NEW
 * fd's, as accept4's; whether the call blocks is the listener's.) */
static void op_accept_nb(const step_t *s) {
	__wasi_fd_t lfd = 0, cfd = 0;
	__wasi_errno_t err;
	find_socket(s, &lfd, &err);
	if (err != __WASI_ERRNO_SUCCESS)
		return;
	err = __wasi_fd_fdstat_set_flags(lfd, __WASI_FDFLAGS_NONBLOCK);
	emit(s, &(rec_t){.op = "fd_fdstat_set_flags", .err = err, .has = HAS_FD, .fd = lfd});
	if (err != __WASI_ERRNO_SUCCESS)
		return; /* a blocking listener would wait for a client forever */
	err = __wasi_sock_accept(lfd, __WASI_FDFLAGS_NONBLOCK, &cfd);
	emit(s, &(rec_t){.op = "sock_accept", .err = err, .has = err ? 0 : HAS_FD, .fd = cfd});
	if (err == __WASI_ERRNO_SUCCESS)
		(void)__wasi_fd_close(cfd);
}

/* recv_wait calls sock_recv with flags until it answers something other
 * than AGAIN, at most tries times, 10 ms apart; *calls counts the calls. */
static __wasi_errno_t recv_wait(__wasi_fd_t fd, __wasi_riflags_t flags, uint32_t tries,
                                uint8_t *into, size_t cap, __wasi_size_t *n, uint32_t *calls) {
	__wasi_errno_t err;
	*calls = 0;
	for (;;) {
		__wasi_iovec_t iov = {into, cap};
		__wasi_roflags_t ro;
		*n = 0;
		err = __wasi_sock_recv(fd, &iov, 1, flags, n, &ro);
		++*calls;
		if (err != __WASI_ERRNO_AGAIN || *calls >= tries)
			break;
		sleep_ms(10);
	}
	if (err != __WASI_ERRNO_SUCCESS || *n > cap)
		*n = 0;
	return err;
}

/* peek: check tries. Accepts one client, then: sock_recv(RECV_PEEK), a
 * plain sock_recv, sock_send of what it got, sock_shutdown(WR),
 * sock_shutdown(RD|WR), one more sock_recv, sock_shutdown on fd 1. */
static void op_peek(const step_t *s) {
	static uint8_t peeked[64], got[64];
	uint32_t tries = (uint32_t)s->arg[0].num, calls = 0;
	__wasi_fd_t lfd = 0, cfd = 0;
	__wasi_errno_t err;
	__wasi_size_t np = 0, n = 0;

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

	err = recv_wait(cfd, __WASI_RIFLAGS_RECV_PEEK, tries, peeked, sizeof peeked, &np, &calls);
	emit(s, &(rec_t){.op = "sock_recv_peek", .err = err, .has = HAS_FD | HAS_COUNT | HAS_DATA,
	                 .fd = cfd, .count = calls, .data = peeked, .len = np});
	err = recv_wait(cfd, 0, tries, got, sizeof got, &n, &calls);
	emit(s, &(rec_t){.op = "sock_recv", .err = err, .has = HAS_FD | HAS_COUNT | HAS_DATA,
	                 .fd = cfd, .count = calls, .data = got, .len = n});
	if (err == __WASI_ERRNO_SUCCESS && n > 0) {
		__wasi_ciovec_t iov = {got, n};
		__wasi_size_t sent = 0;
		err = __wasi_sock_send(cfd, &iov, 1, 0, &sent);
		emit(s, &(rec_t){.op = "sock_send", .err = err, .has = HAS_FD | HAS_SIZE, .fd = cfd, .size = sent});
	}
	emit(s, &(rec_t){.op = "sock_shutdown", .err = __wasi_sock_shutdown(cfd, __WASI_SDFLAGS_WR),
	                 .has = HAS_FD, .fd = cfd});
	emit(s, &(rec_t){.op = "sock_shutdown_rdwr",
	                 .err = __wasi_sock_shutdown(cfd, __WASI_SDFLAGS_RD | __WASI_SDFLAGS_WR),
	                 .has = HAS_FD, .fd = cfd});
	{
		__wasi_iovec_t iov = {got, sizeof got};
		__wasi_roflags_t ro;
		n = 0;
		err = __wasi_sock_recv(cfd, &iov, 1, 0, &n, &ro);
		if (err != __WASI_ERRNO_SUCCESS || n > sizeof got)
			n = 0;
		emit(s, &(rec_t){.op = "sock_recv_after", .err = err, .has = HAS_FD | HAS_DATA,
		                 .fd = cfd, .data = got, .len = n});
	}
	emit(s, &(rec_t){.op = "sock_shutdown_stdout",
	                 .err = __wasi_sock_shutdown(1, __WASI_SDFLAGS_RD | __WASI_SDFLAGS_WR)});
	(void)__wasi_fd_close(cfd);
}

const op_t probe_ops[] = {
	{"accept", "D", op_accept},
	{"recv", "D", op_recv},
	{"send", "D", op_send},
	{"shutdown", "D", op_shutdown},
	{"echo", "n", op_echo},
	{"accept-nb", "", op_accept_nb},
	{"peek", "n", op_peek},
};
const size_t probe_nops = sizeof probe_ops / sizeof *probe_ops;
