/*
 * fs_path.c: the path traversal ops of fs.wasm (catalogue group 2): paths
 * argv cannot carry (NUL bytes), paths too long to pass comfortably on a
 * command line, and a file's fd used as a directory. See ../PROTOCOL.md,
 * "fs.wasm ops (path traversal)".
 */
#include "probe.h"

#include <stdlib.h>
#include <string.h>

/* path_open as the runtime exports it: the path is (pointer, length), so it
 * may hold NUL bytes. wasi-libc's __wasi_path_open takes a C string and
 * passes strlen(path), which would cut the path at the first NUL. */
int32_t path_open_raw(int32_t fd, int32_t dirflags, int32_t path, int32_t path_len, int32_t oflags,
                      int64_t base, int64_t inheriting, int32_t fdflags, int32_t fd_out)
	__attribute__((__import_module__("wasi_snapshot_preview1"), __import_name__("path_open")));

/* The longest path open-repeat builds (1 MiB). */
#define MAX_PATH_BYTES (1u << 20)

#define READ_EXTRA (__WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FILESTAT_GET)

static uint8_t rbuf[4096];

/* step_t tracking as in fs.c: every call in order, the first failure (else
 * the last call) as the record's call and errno. */
typedef struct {
	const char *call;
	__wasi_errno_t err;
	call_t calls[MAX_CALLS];
	size_t n;
} calls_t;

static void did(calls_t *r, const char *call, __wasi_errno_t err) {
	if (r->err == __WASI_ERRNO_SUCCESS) {
		r->call = call;
		r->err = err;
	}
	if (r->n > 0 && r->calls[r->n - 1].call == call && r->calls[r->n - 1].err == err)
		return;
	if (r->n < MAX_CALLS)
		r->calls[r->n++] = (call_t){call, err, 0};
}

static __wasi_rights_t inheriting_of(__wasi_fd_t dir) {
	__wasi_fdstat_t st;
	return __wasi_fd_fdstat_get(dir, &st) == __WASI_ERRNO_SUCCESS ? st.fs_rights_inheriting : 0;
}

/* open_read opens path (len bytes, NULs included) under dir the way op_open
 * does (least rights: FD_READ plus what the directory can hand out of
 * seek, tell, filestat_get and, with DIRECTORY, readdir), reads up to 4096
 * bytes when base has FD_READ, and closes. *got is the bytes read. */
static void open_read(calls_t *r, __wasi_fd_t dir, uint32_t lookup, const uint8_t *path, size_t len,
                      uint16_t oflags, __wasi_rights_t access, size_t *got) {
	__wasi_rights_t inh = inheriting_of(dir);
	__wasi_rights_t extra = READ_EXTRA | (oflags & __WASI_OFLAGS_DIRECTORY ? __WASI_RIGHTS_FD_READDIR : 0);
	__wasi_rights_t base = access | (extra & inh);
	__wasi_fd_t fd = 0;
	*got = 0;
	did(r, "path_open",
	    (__wasi_errno_t)path_open_raw((int32_t)dir, (int32_t)lookup, (int32_t)(intptr_t)path, (int32_t)len,
	                                  oflags, (int64_t)base, (int64_t)inh, 0, (int32_t)(intptr_t)&fd));
	if (r->err != __WASI_ERRNO_SUCCESS)
		return;
	if (base & __WASI_RIGHTS_FD_READ) {
		while (*got < sizeof rbuf) {
			__wasi_iovec_t iov = {rbuf + *got, sizeof rbuf - *got};
			__wasi_size_t n = 0;
			__wasi_errno_t err = __wasi_fd_read(fd, &iov, 1, &n);
			did(r, "fd_read", err);
			if (err != __WASI_ERRNO_SUCCESS || n == 0)
				break;
			*got += n > sizeof rbuf - *got ? sizeof rbuf - *got : n;
		}
	}
	did(r, "fd_close", __wasi_fd_close(fd));
}

static int hexval(char c) {
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* decode turns s into bytes: \xHH is the byte HH, \\ a backslash, any other
 * byte itself. out holds at least strlen(s) bytes. */
static size_t decode(const char *s, uint8_t *out) {
	size_t n = 0;
	while (*s) {
		if (s[0] == '\\' && s[1] == 'x' && hexval(s[2]) >= 0 && hexval(s[3]) >= 0) {
			out[n++] = (uint8_t)(hexval(s[2]) << 4 | hexval(s[3]));
			s += 4;
		} else if (s[0] == '\\' && s[1] == '\\') {
			out[n++] = '\\';
			s += 2;
		} else {
			out[n++] = (uint8_t)*s++;
		}
	}
	return n;
}

/* open-bytes: check dir path follow oflags access. As open, with path
 * decoded (\xHH, \\) and passed with its exact length. */
void op_open_bytes(const step_t *s) {
	const char *src = s->arg[1].str;
	uint8_t *path = malloc(strlen(src) + 1);
	calls_t r = {0};
	size_t got = 0;
	if (!path) {
		emit(s, &(rec_t){.call = "malloc", .err = __WASI_ERRNO_NOMEM});
		return;
	}
	size_t len = decode(src, path);
	open_read(&r, s->arg[0].fd, (uint32_t)s->arg[2].num, path, len, (uint16_t)s->arg[3].num,
	          s->arg[4].num, &got);
	emit(s, &(rec_t){.call = r.call, .err = r.err, .calls = r.calls, .ncalls = r.n,
	                 .has = HAS_DATA | HAS_SIZE, .data = rbuf, .len = got, .size = len});
	free(path);
}

/* open-repeat: check dir head unit count tail. path = head + count x unit
 * + tail, opened (follow, no oflags) and read as open does with access r. */
void op_open_repeat(const step_t *s) {
	const char *head = s->arg[1].str, *unit = s->arg[2].str, *tail = s->arg[4].str;
	uint64_t count = s->arg[3].num;
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	calls_t r = {0};
	size_t got = 0;
	if (ul > 0 && count > (MAX_PATH_BYTES - hl - tl) / ul) {
		emit(s, &(rec_t){.call = "build", .err = __WASI_ERRNO_INVAL, .errname = "TOOLONG"});
		return;
	}
	size_t len = hl + (size_t)count * ul + tl;
	uint8_t *path = malloc(len + 1);
	if (!path) {
		emit(s, &(rec_t){.call = "malloc", .err = __WASI_ERRNO_NOMEM});
		return;
	}
	memcpy(path, head, hl);
	for (uint64_t i = 0; i < count; i++)
		memcpy(path + hl + i * ul, unit, ul);
	memcpy(path + hl + count * ul, tail, tl);
	open_read(&r, s->arg[0].fd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, len, 0, __WASI_RIGHTS_FD_READ, &got);
	emit(s, &(rec_t){.call = r.call, .err = r.err, .calls = r.calls, .ncalls = r.n,
	                 .has = HAS_DATA | HAS_SIZE, .data = rbuf, .len = got, .size = len});
	free(path);
}

/* The rights wasi-libc's openat() asks for only with write access. */
#define WRITE_RIGHTS (__WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_ALLOCATE | \
                      __WASI_RIGHTS_FD_FILESTAT_SET_SIZE)

/* open-at: check dir path subpath follow. Opens path under dir (FD_READ
 * plus every right dir can hand out but the write rights, as wasi-libc's
 * openat(O_RDONLY) asks: the path_* rights of a dir fd are in its base) and
 * then subpath under the fd it got, read as open does. The record's calls
 * begin with the second path_open (the one that resolves subpath) and end
 * with the first fd's fd_close; when the first path_open fails the record
 * is that failure alone, with call "setup". */
void op_open_at(const step_t *s) {
	__wasi_fd_t dir = s->arg[0].fd, fd = 0;
	uint32_t lookup = (uint32_t)s->arg[3].num;
	__wasi_rights_t inh = inheriting_of(dir);
	__wasi_errno_t err = (__wasi_errno_t)path_open_raw(
		(int32_t)dir, (int32_t)lookup, (int32_t)(intptr_t)s->arg[1].str, (int32_t)strlen(s->arg[1].str), 0,
		(int64_t)(__WASI_RIGHTS_FD_READ | (inh & ~WRITE_RIGHTS)), (int64_t)inh, 0, (int32_t)(intptr_t)&fd);
	if (err != __WASI_ERRNO_SUCCESS) {
		emit(s, &(rec_t){.call = "setup", .err = err});
		return;
	}
	calls_t r = {0};
	size_t got = 0;
	const char *sub = s->arg[2].str;
	open_read(&r, fd, lookup, (const uint8_t *)sub, strlen(sub), 0, __WASI_RIGHTS_FD_READ, &got);
	did(&r, "fd_close", __wasi_fd_close(fd));
	emit(s, &(rec_t){.call = r.call, .err = r.err, .calls = r.calls, .ncalls = r.n,
	                 .has = HAS_DATA, .data = rbuf, .len = got});
}
