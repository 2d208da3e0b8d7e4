/*
 * res.c: the resource-bounds probe (res.wasm): what a guest can make the
 * host spend (fds, leaked fds, huge iovec lists), the bytes fd_readdir
 * writes, extreme timestamps, and accesses at the end of linear memory.
 * Every loop is bounded by its arguments and by a time budget on the
 * monotonic clock. See ../PROTOCOL.md, section res.wasm ops.
 */
#include "kv.h"
#include "probe.h"

#include <string.h>

#define MAXFDS 100000
static __wasi_fd_t fds[MAXFDS];

static __wasi_errno_t open_ro(__wasi_fd_t dir, const char *path, __wasi_fd_t *fd) {
	return __wasi_path_open(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, 0, __WASI_RIGHTS_FD_READ, 0, 0, fd);
}

static void emit_kv(const step_t *s, const char *op, const char *call, __wasi_errno_t err, uint64_t count, const kv_t *k) {
	emit(s, &(rec_t){.op = op, .call = call, .err = err, .has = HAS_COUNT | HAS_DATA, .count = count,
	                 .data = k->buf, .len = k->len});
}

/* fd-exhaust: check dir path max ms. Opens path read-only without closing
 * until an open fails, max fds are open or ms milliseconds have passed.
 * Record 1 (op fd-exhaust): errno of the failing open (SUCCESS when a
 * bound stopped it), count = fds opened, data = stop=error|max|time.
 * Then every fd is closed, and record 2 (op after): one more open and
 * close, errno of the first that failed. */
static void op_fd_exhaust(const step_t *s) {
	uint64_t max = s->arg[2].num > MAXFDS ? MAXFDS : s->arg[2].num;
	uint64_t budget = s->arg[3].num * 1000000ull, start = mono_now(), n = 0;
	__wasi_errno_t err = __WASI_ERRNO_SUCCESS;
	const char *stop = "max";
	for (; n < max; n++) {
		if ((n & 255) == 0 && mono_now() - start > budget) {
			stop = "time";
			break;
		}
		err = open_ro(s->arg[0].fd, s->arg[1].str, &fds[n]);
		if (err != __WASI_ERRNO_SUCCESS) {
			stop = "error";
			break;
		}
	}
	kv_t k = {0};
	kv_str(&k, "stop", stop);
	kv_num(&k, "ms", (mono_now() - start) / 1000000);
	emit_kv(s, NULL, "path_open", err, n, &k);
	uint64_t bad = 0;
	for (uint64_t i = 0; i < n; i++)
		bad += __wasi_fd_close(fds[i]) != __WASI_ERRNO_SUCCESS;
	__wasi_fd_t fd;
	const char *call = "path_open";
	err = open_ro(s->arg[0].fd, s->arg[1].str, &fd);
	if (err == __WASI_ERRNO_SUCCESS) {
		call = "fd_close";
		err = __wasi_fd_close(fd);
	}
	kv_t k2 = {0};
	kv_num(&k2, "close_failed", bad);
	emit_kv(s, "after", call, err, 0, &k2);
}

/* renumber-loop: check dir path n m pause_ms. Opens A, sleeps pause_ms
 * (the host's baseline), then n times opens B and renumbers it onto A,
 * sleeps pause_ms, then m times opens and closes, sleeps pause_ms, closes
 * A. One record per phase: op open (A), renumber (count = rounds done,
 * errno/call = the first failure), open-close (the same). */
static void op_renumber_loop(const step_t *s) {
	__wasi_fd_t dir = s->arg[0].fd, a, b;
	const char *path = s->arg[1].str;
	uint64_t n = s->arg[2].num, m = s->arg[3].num, pause = s->arg[4].num, i;
	kv_t none = {0};
	__wasi_errno_t err = open_ro(dir, path, &a);
	emit_kv(s, "open", "path_open", err, 0, &none);
	if (err != __WASI_ERRNO_SUCCESS)
		return;
	sleep_ms((uint32_t)pause);
	const char *call = "fd_renumber";
	for (i = 0; i < n; i++) {
		call = "path_open";
		if ((err = open_ro(dir, path, &b)) != __WASI_ERRNO_SUCCESS)
			break;
		call = "fd_renumber";
		if ((err = __wasi_fd_renumber(b, a)) != __WASI_ERRNO_SUCCESS) {
			(void)__wasi_fd_close(b);
			break;
		}
	}
	emit_kv(s, "renumber", call, err, i, &none);
	sleep_ms((uint32_t)pause);
	for (i = 0; i < m; i++) {
		call = "path_open";
		if ((err = open_ro(dir, path, &b)) != __WASI_ERRNO_SUCCESS)
			break;
		call = "fd_close";
		if ((err = __wasi_fd_close(b)) != __WASI_ERRNO_SUCCESS)
			break;
	}
	emit_kv(s, "open-close", call, err, i, &none);
	sleep_ms((uint32_t)pause);
	(void)__wasi_fd_close(a);
}

#define REGION 65536
#define MAXIOV 40000
static uint8_t region[REGION];
static __wasi_ciovec_t iovs[MAXIOV];

/* iovecs: check fd n. One fd_write of n iovecs (at most 40000), each the
 * same 64 KiB region of '.' lines. size = bytes written. */
static void op_iovecs(const step_t *s) {
	uint64_t n = s->arg[1].num > MAXIOV ? MAXIOV : s->arg[1].num;
	for (size_t i = 0; i < REGION; i++)
		region[i] = (i & 63) == 63 ? '\n' : '.';
	for (uint64_t i = 0; i < n; i++)
		iovs[i] = (__wasi_ciovec_t){region, REGION};
	__wasi_size_t w = 0;
	uint64_t t0 = mono_now();
	__wasi_errno_t err = __wasi_fd_write(s->arg[0].fd, iovs, (size_t)n, &w);
	kv_t k = {0};
	kv_num(&k, "ms", (mono_now() - t0) / 1000000);
	/* A newline first, so the record starts a line after what was written. */
	__wasi_ciovec_t nl = {(const uint8_t *)"\n", 1};
	__wasi_size_t one;
	(void)__wasi_fd_write(1, &nl, 1, &one);
	emit(s, &(rec_t){.err = err, .has = HAS_COUNT | HAS_SIZE | HAS_DATA, .count = n, .size = err ? 0 : w,
	                 .data = k.buf, .len = k.len});
}

#define DIRBUF 4096
static uint8_t dirbuf[DIRBUF + 64];

/* readdir-pad: check dir path. Fills a 4096-byte buffer (and 64 bytes past
 * it) with 0xA5, fd_readdir(fd, buf, 4096, cookie 0), then walks the
 * dirents inside bufused. Record: errno, count = whole dirent headers,
 * size = bufused, data = pad (padding bytes after d_type that are neither
 * 0 nor 0xA5), padhex (the first such header's 3 bytes), tail (bytes past
 * bufused, up to 4096 + 64, no longer 0xA5), names (entries whose name
 * fits). */
static void op_readdir_pad(const step_t *s) {
	__wasi_fd_t fd;
	__wasi_errno_t err = __wasi_path_open(s->arg[0].fd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, s->arg[1].str,
	                                      __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READDIR, 0, 0, &fd);
	if (err != __WASI_ERRNO_SUCCESS) {
		emit_err(s, "path_open", err);
		return;
	}
	memset(dirbuf, 0xA5, sizeof dirbuf);
	__wasi_size_t used = 0;
	err = __wasi_fd_readdir(fd, dirbuf, DIRBUF, 0, &used);
	(void)__wasi_fd_close(fd);
	uint64_t headers = 0, names = 0, pad = 0, tail = 0;
	char padhex[8] = "";
	if (err == __WASI_ERRNO_SUCCESS) {
		size_t lim = used > DIRBUF ? DIRBUF : used;
		for (size_t off = 0; off + 24 <= lim;) {
			headers++;
			uint32_t namlen;
			memcpy(&namlen, dirbuf + off + 16, 4);
			for (int i = 21; i < 24; i++) {
				uint8_t b = dirbuf[off + i];
				if (b != 0 && b != 0xA5) {
					if (pad == 0) {
						static const char hex[] = "0123456789abcdef";
						for (int j = 0; j < 3; j++) {
							padhex[2 * j] = hex[dirbuf[off + 21 + j] >> 4];
							padhex[2 * j + 1] = hex[dirbuf[off + 21 + j] & 15];
						}
						padhex[6] = 0;
					}
					pad++;
				}
			}
			if (off + 24 + namlen > lim)
				break;
			names++;
			off += 24 + namlen;
		}
		for (size_t i = lim; i < sizeof dirbuf; i++)
			tail += dirbuf[i] != 0xA5;
	}
	kv_t k = {0};
	kv_num(&k, "pad", pad);
	kv_str(&k, "padhex", padhex);
	kv_num(&k, "tail", tail);
	kv_num(&k, "names", names);
	emit(s, &(rec_t){.call = "fd_readdir", .err = err, .has = HAS_COUNT | HAS_SIZE | HAS_DATA, .count = headers,
	                 .size = used, .data = k.buf, .len = k.len});
}

/* set-times: check dir path how atim mtim fstflags. how = fd (path_open
 * with FD_FILESTAT_SET_TIMES, then fd_filestat_set_times) or path
 * (path_filestat_set_times, following symlinks). atim and mtim are decimal
 * u64. */
static void op_set_times(const step_t *s) {
	uint64_t atim, mtim, flags;
	if (!parse_dec(s->arg[3].str, &atim) || !parse_dec(s->arg[4].str, &mtim) || !parse_dec(s->arg[5].str, &flags)) {
		emit(s, &(rec_t){.call = "parse", .err = __WASI_ERRNO_INVAL, .errname = "USAGE"});
		return;
	}
	__wasi_errno_t err;
	if (strcmp(s->arg[2].str, "fd") == 0) {
		__wasi_fd_t fd;
		err = __wasi_path_open(s->arg[0].fd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, s->arg[1].str, 0,
		                       __WASI_RIGHTS_FD_FILESTAT_SET_TIMES | __WASI_RIGHTS_FD_WRITE, 0, 0, &fd);
		if (err != __WASI_ERRNO_SUCCESS) {
			emit_err(s, "path_open", err);
			return;
		}
		err = __wasi_fd_filestat_set_times(fd, atim, mtim, (__wasi_fstflags_t)flags);
		(void)__wasi_fd_close(fd);
		emit_err(s, "fd_filestat_set_times", err);
		return;
	}
	err = __wasi_path_filestat_set_times(s->arg[0].fd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, s->arg[1].str, atim, mtim,
	                                     (__wasi_fstflags_t)flags);
	emit_err(s, "path_filestat_set_times", err);
}

/* stat-times: check dir path. path_filestat_get, then path_open, fd_read
 * (up to 64 bytes) and fd_filestat_get. data = atim, mtim (path), fmtim
 * (fd), read (bytes read). */
static void op_stat_times(const step_t *s) {
	__wasi_filestat_t st, fst;
	memset(&fst, 0, sizeof fst);
	kv_t k = {0};
	__wasi_errno_t err = __wasi_path_filestat_get(s->arg[0].fd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, s->arg[1].str, &st);
	const char *call = "path_filestat_get";
	if (err == __WASI_ERRNO_SUCCESS) {
		kv_num(&k, "atim", st.atim);
		kv_num(&k, "mtim", st.mtim);
		__wasi_fd_t fd;
		call = "path_open";
		err = __wasi_path_open(s->arg[0].fd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, s->arg[1].str, 0,
		                       __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_FILESTAT_GET, 0, 0, &fd);
		if (err == __WASI_ERRNO_SUCCESS) {
			uint8_t b[64];
			__wasi_iovec_t iov = {b, sizeof b};
			__wasi_size_t n = 0;
			call = "fd_read";
			err = __wasi_fd_read(fd, &iov, 1, &n);
			kv_num(&k, "read", n);
			if (err == __WASI_ERRNO_SUCCESS) {
				call = "fd_filestat_get";
				err = __wasi_fd_filestat_get(fd, &fst);
				kv_num(&k, "fmtim", fst.mtim);
			}
			(void)__wasi_fd_close(fd);
		}
	}
	emit(s, &(rec_t){.call = call, .err = err, .has = HAS_DATA, .data = k.buf, .len = k.len});
}

/* edge: check back width act. One access of width bytes (1, 2, 4 or 8) at
 * end - back, where end is the end of linear memory after one page is grown
 * for the probe alone (a preview-1 adapter keeps its own state in the last
 * page it grew, which a store there would corrupt); act = load | store.
 * Prints a record with errno SUCCESS after the access; an access past the
 * end traps before it, so the run ends with the record missing. */
static void op_edge(const step_t *s) {
	static uintptr_t end;
	if (!end) {
		if (__builtin_wasm_memory_grow(0, 1) == (size_t)-1) {
			emit(s, &(rec_t){.call = "memory.grow", .err = __WASI_ERRNO_NOMEM});
			return;
		}
		end = __builtin_wasm_memory_size(0) * 65536;
	}
	uintptr_t addr = end - (uintptr_t)s->arg[0].num;
	uint64_t w = s->arg[1].num, v = 0;
	int store = strcmp(s->arg[2].str, "store") == 0;
	switch (w) {
	case 1:
		if (store) *(volatile uint8_t *)addr = 0x5a; else v = *(volatile uint8_t *)addr;
		break;
	case 2:
		if (store) *(volatile uint16_t *)addr = 0x5a5a; else v = *(volatile uint16_t *)addr;
		break;
	case 4:
		if (store) *(volatile uint32_t *)addr = 0x5a5a5a5a; else v = *(volatile uint32_t *)addr;
		break;
	default:
		if (store) *(volatile uint64_t *)addr = 0x5a5a5a5a5a5a5a5aull; else v = *(volatile uint64_t *)addr;
	}
	kv_t k = {0};
	kv_num(&k, "addr", addr);
	kv_num(&k, "value", v);
	emit(s, &(rec_t){.err = __WASI_ERRNO_SUCCESS, .has = HAS_DATA, .data = k.buf, .len = k.len});
}

/* flood: check fd mib. Writes mib MiB to fd in 64 KiB fd_writes, stopping
 * at the first error; count = bytes written, errno = that error. */
static void op_flood(const step_t *s) {
	for (size_t i = 0; i < REGION; i++)
		region[i] = (i & 63) == 63 ? '\n' : '.';
	uint64_t total = s->arg[1].num << 20, done = 0;
	__wasi_errno_t err = __WASI_ERRNO_SUCCESS;
	while (done < total) {
		__wasi_ciovec_t iov = {region, REGION};
		__wasi_size_t w = 0;
		err = __wasi_fd_write(s->arg[0].fd, &iov, 1, &w);
		if (err != __WASI_ERRNO_SUCCESS || w == 0)
			break;
		done += w;
	}
	emit(s, &(rec_t){.call = "fd_write", .err = err, .has = HAS_COUNT, .count = done});
}

const op_t probe_ops[] = {
	{"flood", "Dn", op_flood},
	{"fd-exhaust", "dsnn", op_fd_exhaust},
	{"renumber-loop", "dsnnn", op_renumber_loop},
	{"iovecs", "Dn", op_iovecs},
	{"readdir-pad", "ds", op_readdir_pad},
	{"set-times", "dsssss", op_set_times},
	{"stat-times", "ds", op_stat_times},
	{"edge", "nns", op_edge},
};
const size_t probe_nops = sizeof probe_ops / sizeof *probe_ops;
