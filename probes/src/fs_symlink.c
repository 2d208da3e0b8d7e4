/*
 * fs_symlink.c: the symlink area's ops of fs.wasm (see ../PROTOCOL.md,
 * "Symlink ops"): loop-open, a bounded open+read loop that a host-side
 * actor races, and readlink-buf, path_readlink into a buffer of a given
 * size with guard bytes after it.
 */
#include "probe.h"

#include <string.h>

/* LOOP_READ_MAX bounds the bytes one loop-open iteration reads. */
#define LOOP_READ_MAX 255
/* LOOP_OTHER_MAX bounds the loop-read records one step prints. */
#define LOOP_OTHER_MAX 4
/* ERRNO_MAX is one past the largest preview-1 errno (NOTCAPABLE, 76). */
#define ERRNO_MAX 77

static uint64_t now_ms(void) {
	__wasi_timestamp_t t = 0;
	if (__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1000, &t) != __WASI_ERRNO_SUCCESS)
		return 0;
	return t / 1000000u;
}

static void emit_count(const step_t *s, const char *call, __wasi_errno_t err, uint64_t n,
                       const void *data, size_t len) {
	emit(s, &(rec_t){.call = call, .err = err, .has = HAS_COUNT | (data ? HAS_DATA : 0),
	                 .count = n, .data = data, .len = len});
}

/* loop-open: check dir path expect iterations ms. Up to `iterations` times,
 * and for at most `ms` milliseconds of the monotonic clock, path_open(dir,
 * SYMLINK_FOLLOW, path, oflags 0, base FD_READ, inheriting 0), fd_read until
 * end of file or LOOP_READ_MAX bytes, fd_close, and compare the bytes read
 * with `expect`. Each read that differs prints a loop-read record (data = the
 * bytes, count = the iteration), at most LOOP_OTHER_MAX of them; then one
 * summary record per outcome. */
void op_loop_open(const step_t *s) {
	static uint32_t open_err[ERRNO_MAX], read_err[ERRNO_MAX];
	static uint8_t lbuf[LOOP_READ_MAX];
	const char *expect = s->arg[2].str;
	size_t elen = strlen(expect);
	uint64_t iters = s->arg[3].num, limit = s->arg[4].num, start = now_ms(), elapsed = 0, i;
	uint64_t match = 0, other = 0, odd = 0;
	memset(open_err, 0, sizeof open_err);
	memset(read_err, 0, sizeof read_err);
	for (i = 0; i < iters; i++) {
		if ((i & 15) == 0 && (elapsed = now_ms() - start) >= limit)
			break;
		__wasi_fd_t fd;
		__wasi_errno_t err = __wasi_path_open(s->arg[0].fd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
		                                      s->arg[1].str, 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
		if (err != __WASI_ERRNO_SUCCESS) {
			if (err < ERRNO_MAX)
				open_err[err]++;
			else
				odd++;
			continue;
		}
		size_t got = 0;
		while (got < LOOP_READ_MAX) {
			__wasi_iovec_t iov = {lbuf + got, LOOP_READ_MAX - got};
			__wasi_size_t n = 0;
			err = __wasi_fd_read(fd, &iov, 1, &n);
			if (err != __WASI_ERRNO_SUCCESS || n == 0)
				break;
			got += n > LOOP_READ_MAX - got ? LOOP_READ_MAX - got : n;
		}
		(void)__wasi_fd_close(fd);
		if (err != __WASI_ERRNO_SUCCESS) {
			if (err < ERRNO_MAX)
				read_err[err]++;
			else
				odd++;
		} else if (got == elen && memcmp(lbuf, expect, elen) == 0) {
			match++;
		} else {
			if (other < LOOP_OTHER_MAX)
				emit(s, &(rec_t){.op = "loop-read", .call = "fd_read", .has = HAS_DATA | HAS_COUNT,
				                 .data = lbuf, .len = got, .count = i});
			other++;
		}
	}
	if (i == iters)
		elapsed = now_ms() - start;
	for (unsigned e = 0; e < ERRNO_MAX; e++) {
		if (open_err[e])
			emit_count(s, "path_open", e, open_err[e], NULL, 0);
		if (read_err[e])
			emit_count(s, "fd_read", e, read_err[e], NULL, 0);
	}
	if (odd)
		emit_count(s, "unknown-errno", __WASI_ERRNO_INVAL, odd, NULL, 0);
	emit_count(s, "match", __WASI_ERRNO_SUCCESS, match, NULL, 0);
	emit_count(s, "mismatch", __WASI_ERRNO_SUCCESS, other, NULL, 0);
	emit(s, &(rec_t){.call = "loop", .has = HAS_COUNT | HAS_SIZE, .count = i, .size = elapsed});
}

/* READLINK_GUARD is the number of guard bytes after readlink-buf's buffer. */
#define READLINK_GUARD 64
#define READLINK_MAX 4096

/* readlink-buf: check dir path size. path_readlink into a buffer of `size`
 * bytes (at most READLINK_MAX) followed by READLINK_GUARD guard bytes of
 * 0xAA. data = the bytes the runtime said it placed (at most `size`), size =
 * the count it returned (on success), count = guard bytes it overwrote. */
void op_readlink_buf(const step_t *s) {
	static uint8_t rbuf[READLINK_MAX + READLINK_GUARD];
	size_t n = s->arg[2].num > READLINK_MAX ? READLINK_MAX : (size_t)s->arg[2].num;
	__wasi_size_t used = 0;
	uint64_t hit = 0;
	memset(rbuf, 0xAA, n + READLINK_GUARD);
	__wasi_errno_t err = __wasi_path_readlink(s->arg[0].fd, s->arg[1].str, rbuf, n, &used);
	for (size_t i = n; i < n + READLINK_GUARD; i++)
		hit += rbuf[i] != 0xAA;
	size_t len = err != __WASI_ERRNO_SUCCESS ? 0 : used > n ? n : used;
	emit(s, &(rec_t){.err = err, .has = HAS_DATA | HAS_COUNT | (err ? 0 : HAS_SIZE),
	                 .data = rbuf, .len = len, .count = hit, .size = used});
}
