/*
 * fs_fd.c: fd management and stdio ops of fs.wasm (capability catalogue
 * groups 5 and 11, and fd_sync/fd_datasync). Each op is a small scenario and
 * prints one record per call that matters, with op = the sub-case name (see
 * ../PROTOCOL.md, "fd and stdio ops"). Like fs.c they call the raw __wasi_*
 * functions and judge nothing.
 */
#include "probe.h"
#include "fs_fd.h"

#include <string.h>

static uint8_t fdbuf[256];

/* sub prints one sub-case record of step s. */
static void sub(const step_t *s, const char *op, const char *call, __wasi_errno_t err) {
	emit(s, &(rec_t){.op = op, .call = call, .err = err});
}

static void sub_fd(const step_t *s, const char *op, const char *call, __wasi_errno_t err, __wasi_fd_t fd) {
	emit(s, &(rec_t){.op = op, .call = call, .err = err, .has = HAS_FD, .fd = fd});
}

static void sub_data(const step_t *s, const char *op, const char *call, __wasi_errno_t err,
                     const void *data, size_t len) {
	emit(s, &(rec_t){.op = op, .call = call, .err = err, .has = HAS_DATA, .data = data, .len = len});
}

static __wasi_rights_t inheriting(__wasi_fd_t dir) {
	__wasi_fdstat_t st;
	return __wasi_fd_fdstat_get(dir, &st) == __WASI_ERRNO_SUCCESS ? st.fs_rights_inheriting : 0;
}

/* open_at opens path under dir with least rights (as fs.c's open): access
 * plus extra masked by the dir's inheriting rights. */
static __wasi_errno_t open_at(__wasi_fd_t dir, const char *path, __wasi_oflags_t oflags,
                              __wasi_rights_t access, __wasi_rights_t extra, __wasi_fd_t *fd) {
	__wasi_rights_t inh = inheriting(dir);
	return __wasi_path_open(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, oflags,
	                        access | (extra & inh), inh, 0, fd);
}

#define DIR_EXTRA (__WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_FD_FILESTAT_GET | \
                   __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_PATH_CREATE_FILE)

static __wasi_errno_t open_dir(__wasi_fd_t dir, const char *path, __wasi_fd_t *fd) {
	return open_at(dir, path, __WASI_OFLAGS_DIRECTORY, 0, DIR_EXTRA, fd);
}

/* read_some reads up to n bytes (one fd_read) into fdbuf. */
static __wasi_errno_t read_some(__wasi_fd_t fd, size_t n, size_t *got) {
	__wasi_iovec_t iov = {fdbuf, n > sizeof fdbuf ? sizeof fdbuf : n};
	__wasi_size_t k = 0;
	__wasi_errno_t err = __wasi_fd_read(fd, &iov, 1, &k);
	*got = err == __WASI_ERRNO_SUCCESS && k <= iov.buf_len ? k : 0;
	return err;
}

static __wasi_errno_t write_str(__wasi_fd_t fd, const char *str) {
	__wasi_ciovec_t iov = {(const uint8_t *)str, strlen(str)};
	__wasi_size_t n = 0;
	return __wasi_fd_write(fd, &iov, 1, &n);
}

/* open_read opens path under dir for reading and prints op with its
 * contents (one fd_read of up to 256 bytes). */
static void open_read(const step_t *s, const char *op, __wasi_fd_t dir, const char *path) {
	__wasi_fd_t fd;
	size_t got = 0;
	__wasi_errno_t err = open_at(dir, path, 0, __WASI_RIGHTS_FD_READ, 0, &fd);
	const char *call = "path_open";
	if (err == __WASI_ERRNO_SUCCESS) {
		call = "fd_read";
		err = read_some(fd, sizeof fdbuf, &got);
		(void)__wasi_fd_close(fd);
	}
	sub_data(s, op, call, err, fdbuf, got);
}

static const char *ftype(__wasi_fd_t fd, __wasi_errno_t *err) {
	__wasi_fdstat_t st;
	*err = __wasi_fd_fdstat_get(fd, &st);
	return *err == __WASI_ERRNO_SUCCESS ? filetype_name(st.fs_filetype) : "";
}

/* close-preopen: check dir */
void op_close_preopen(const step_t *s) {
	__wasi_fd_t pre = s->arg[0].fd, d, n;
	__wasi_errno_t err = open_dir(pre, ".", &d);
	sub_fd(s, "open-derived", "path_open", err, err ? 0 : d);
	if (err != __WASI_ERRNO_SUCCESS)
		return;
	sub(s, "close", "fd_close", __wasi_fd_close(pre));
	__wasi_fdstat_t st;
	sub(s, "fdstat-closed", "fd_fdstat_get", __wasi_fd_fdstat_get(pre, &st));
	__wasi_prestat_t ps;
	sub(s, "prestat-closed", "fd_prestat_get", __wasi_fd_prestat_get(pre, &ps));
	open_read(s, "use-derived", d, "inside.txt");
	/* A file opened now may get the closed number: it must be a file. */
	err = open_at(d, "reuse.txt", __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_WRITE, 0, &n);
	emit(s, &(rec_t){.op = "reopen", .call = "path_open", .err = err, .has = err ? 0 : HAS_FD | HAS_COUNT,
	                 .fd = n, .count = !err && n == pre});
	if (err != __WASI_ERRNO_SUCCESS)
		return;
	sub(s, "prestat-reused", "fd_prestat_get", __wasi_fd_prestat_get(n, &ps));
	const char *t = ftype(n, &err);
	sub_data(s, "fdstat-reused", "fd_fdstat_get", err, t, strlen(t));
	open_read(s, "path-via-reused", n, "inside.txt");
	open_read(s, "path-via-closed", pre, "inside.txt");
	(void)__wasi_fd_close(n);
}

/* renumber-over: check dir dir2 */
void op_renumber_over(const step_t *s) {
	__wasi_fd_t pre = s->arg[0].fd, pre2 = s->arg[1].fd, sd, f;
	__wasi_errno_t err = open_dir(pre, "sub", &sd);
	sub_fd(s, "open-sub", "path_open", err, err ? 0 : sd);
	if (err == __WASI_ERRNO_SUCCESS) {
		err = __wasi_fd_renumber(sd, pre);
		sub(s, "onto-preopen", "fd_renumber", err);
		__wasi_fdstat_t st;
		if (err == __WASI_ERRNO_SUCCESS) {
			sub(s, "onto-source-closed", "fd_fdstat_get", __wasi_fd_fdstat_get(sd, &st));
			open_read(s, "onto-target-is-sub", pre, "nested/file.txt");
		} else {
			(void)__wasi_fd_close(sd);
		}
	}
	err = open_at(pre2, "inside.txt", 0, __WASI_RIGHTS_FD_READ, 0, &f);
	sub_fd(s, "open-file", "path_open", err, err ? 0 : f);
	if (err != __WASI_ERRNO_SUCCESS)
		return;
	err = __wasi_fd_renumber(pre2, f);
	sub(s, "preopen-away", "fd_renumber", err);
	if (err == __WASI_ERRNO_SUCCESS) {
		__wasi_fdstat_t st;
		sub(s, "away-source-closed", "fd_fdstat_get", __wasi_fd_fdstat_get(pre2, &st));
		open_read(s, "away-target-is-dir", f, "inside.txt");
	}
	/* The preopen (now at f, or still at pre2) to a number nobody opened. */
	__wasi_fd_t from = err == __WASI_ERRNO_SUCCESS ? f : pre2;
	err = __wasi_fd_renumber(from, 50);
	sub(s, "to-unopened", "fd_renumber", err);
}

/* renumber-edge: check dir */
void op_renumber_edge(const step_t *s) {
	__wasi_fd_t f;
	__wasi_errno_t err = open_at(s->arg[0].fd, "inside.txt", 0, __WASI_RIGHTS_FD_READ, 0, &f);
	sub_fd(s, "open-file", "path_open", err, err ? 0 : f);
	if (err != __WASI_ERRNO_SUCCESS)
		return;
	__wasi_fdstat_t st;
	sub(s, "self", "fd_renumber", __wasi_fd_renumber(f, f));
	sub(s, "self-still-open", "fd_fdstat_get", __wasi_fd_fdstat_get(f, &st));
	err = __wasi_fd_renumber(f, 127);
	sub(s, "to-unopened", "fd_renumber", err);
	if (err == __WASI_ERRNO_SUCCESS)
		f = 127;
	sub(s, "to-max", "fd_renumber", err = __wasi_fd_renumber(f, 0xFFFFFFFFu));
	if (err == __WASI_ERRNO_SUCCESS)
		f = 0xFFFFFFFFu;
	sub(s, "from-max", "fd_renumber", __wasi_fd_renumber(0xFFFFFFFFu, f));
	sub(s, "from-big", "fd_renumber", __wasi_fd_renumber(0x80000000u, f));
	/* Moving stdout away would lose the records: put it back first. */
	err = __wasi_fd_renumber(1, 101);
	if (err == __WASI_ERRNO_SUCCESS)
		(void)__wasi_fd_renumber(101, 1);
	sub(s, "stdout-to-unopened", "fd_renumber", err);
	sub(s, "still-usable", "fd_fdstat_get", __wasi_fd_fdstat_get(f, &st));
	(void)__wasi_fd_close(f);
}

/* renumber-stdio: check dir */
void op_renumber_stdio(const step_t *s) {
	__wasi_fd_t dir = s->arg[0].fd, f, g;
	size_t got = 0;
	__wasi_errno_t err = open_at(dir, "inside.txt", 0, __WASI_RIGHTS_FD_READ, 0, &f);
	sub_fd(s, "open-file", "path_open", err, err ? 0 : f);
	if (err == __WASI_ERRNO_SUCCESS) {
		err = __wasi_fd_renumber(f, 0);
		sub(s, "file-onto-stdin", "fd_renumber", err);
		if (err == __WASI_ERRNO_SUCCESS) {
			__wasi_fdstat_t st;
			sub(s, "file-source-closed", "fd_fdstat_get", __wasi_fd_fdstat_get(f, &st));
			err = read_some(0, sizeof fdbuf, &got);
			sub_data(s, "stdin-reads-file", "fd_read", err, fdbuf, got);
		} else {
			(void)__wasi_fd_close(f);
		}
	}
	err = open_at(dir, "stderr-target.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC,
	              __WASI_RIGHTS_FD_WRITE, __WASI_RIGHTS_FD_FILESTAT_SET_SIZE, &g);
	sub_fd(s, "open-target", "path_open", err, err ? 0 : g);
	if (err != __WASI_ERRNO_SUCCESS)
		return;
	err = __wasi_fd_renumber(2, g);
	sub(s, "stderr-onto-file", "fd_renumber", err);
	if (err == __WASI_ERRNO_SUCCESS) {
		sub(s, "stderr-source-closed", "fd_write", write_str(2, "STDERR-AFTER-MOVE\n"));
		sub(s, "moved-stderr-writes", "fd_write", write_str(g, "MOVED-STDERR-MARKER\n"));
	}
	(void)__wasi_fd_close(g);
}

#define SCAN_LOW 1024

/* is_preopen reports whether fd answers fd_prestat_get. */
static int is_preopen(__wasi_fd_t fd) {
	__wasi_prestat_t ps;
	return __wasi_fd_prestat_get(fd, &ps) == __WASI_ERRNO_SUCCESS;
}

static void scan_one(const step_t *s, __wasi_fd_t fd, __wasi_fd_t own, size_t *answered) {
	__wasi_errno_t err;
	const char *t = ftype(fd, &err);
	if (err != __WASI_ERRNO_SUCCESS)
		return;
	++*answered;
	const char *class = fd < 3 ? "stdio" : fd == own ? "own" : is_preopen(fd) ? "preopen" : "unknown";
	emit(s, &(rec_t){.op = "answer", .call = class, .err = err, .has = HAS_FD | HAS_DATA, .fd = fd,
	                 .data = t, .len = strlen(t)});
	if (strcmp(class, "unknown") != 0)
		return;
	/* What is behind it? 64 bytes at most, and a write of nothing. */
	size_t got = 0;
	err = read_some(fd, 64, &got);
	emit(s, &(rec_t){.op = "read", .call = "fd_read", .err = err, .has = HAS_FD | HAS_DATA, .fd = fd,
	                 .data = fdbuf, .len = got});
	__wasi_ciovec_t iov = {(const uint8_t *)"", 0};
	__wasi_size_t n = 0;
	sub_fd(s, "write", "fd_write", __wasi_fd_write(fd, &iov, 1, &n), fd);
}

/* scan: check dir */
void op_scan(const step_t *s) {
	__wasi_fd_t own;
	__wasi_errno_t err = open_at(s->arg[0].fd, "inside.txt", 0, __WASI_RIGHTS_FD_READ, 0, &own);
	sub_fd(s, "own", "path_open", err, err ? 0 : own);
	if (err != __WASI_ERRNO_SUCCESS)
		own = 0xFFFFFFFFu - 1; /* scanned as any other */
	size_t answered = 0;
	for (__wasi_fd_t fd = 0; fd < SCAN_LOW; fd++)
		scan_one(s, fd, own, &answered);
	static const __wasi_fd_t high[] = {0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFu};
	for (size_t i = 0; i < sizeof high / sizeof *high; i++)
		scan_one(s, high[i], own, &answered);
	emit(s, &(rec_t){.op = "summary", .err = 0, .has = HAS_COUNT | HAS_SIZE, .count = answered,
	                 .size = SCAN_LOW + sizeof high / sizeof *high});
	if (err == __WASI_ERRNO_SUCCESS)
		(void)__wasi_fd_close(own);
}

#define SYNC_RIGHTS (__WASI_RIGHTS_FD_SYNC | __WASI_RIGHTS_FD_DATASYNC)

static void sync_pair(const step_t *s, const char *sync_op, const char *datasync_op, __wasi_fd_t fd) {
	sub(s, sync_op, "fd_sync", __wasi_fd_sync(fd));
	sub(s, datasync_op, "fd_datasync", __wasi_fd_datasync(fd));
}

/* sync: check dir */
void op_sync(const step_t *s) {
	__wasi_fd_t dir = s->arg[0].fd, w, r, d;
	__wasi_errno_t err = open_at(dir, "sync.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, __WASI_RIGHTS_FD_WRITE,
	                             SYNC_RIGHTS | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE, &w);
	sub(s, "open-writable", "path_open", err);
	if (err == __WASI_ERRNO_SUCCESS) {
		sub(s, "write", "fd_write", write_str(w, "SYNCED\n"));
		sync_pair(s, "sync-writable", "datasync-writable", w);
		(void)__wasi_fd_close(w);
	}
	err = open_at(dir, "inside.txt", 0, __WASI_RIGHTS_FD_READ, SYNC_RIGHTS, &r);
	sub(s, "open-readonly", "path_open", err);
	if (err == __WASI_ERRNO_SUCCESS) {
		sync_pair(s, "sync-readonly", "datasync-readonly", r);
		(void)__wasi_fd_close(r);
	}
	err = open_dir(dir, "sub", &d);
	sub(s, "open-dir", "path_open", err);
	if (err == __WASI_ERRNO_SUCCESS) {
		sync_pair(s, "sync-dir", "datasync-dir", d);
		(void)__wasi_fd_close(d);
	}
	sync_pair(s, "sync-preopen", "datasync-preopen", dir);
	sync_pair(s, "sync-stdout", "datasync-stdout", 1);
	sync_pair(s, "sync-invalid", "datasync-invalid", 9999);
}

/* stdio: check */
void op_stdio(const step_t *s) {
	for (__wasi_fd_t fd = 0; fd < 3; fd++) {
		__wasi_fdstat_t st;
		__wasi_errno_t err = __wasi_fd_fdstat_get(fd, &st);
		const char *t = err == __WASI_ERRNO_SUCCESS ? filetype_name(st.fs_filetype) : "";
		/* wasi-libc's isatty: a character device without seek and tell. */
		int tty = err == __WASI_ERRNO_SUCCESS && st.fs_filetype == __WASI_FILETYPE_CHARACTER_DEVICE &&
		          !(st.fs_rights_base & (__WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL));
		emit(s, &(rec_t){.op = "fdstat", .call = "fd_fdstat_get", .err = err,
		                 .has = HAS_FD | HAS_DATA | (err ? 0 : HAS_COUNT), .fd = fd, .count = tty,
		                 .data = t, .len = strlen(t)});
		__wasi_prestat_t ps;
		sub_fd(s, "prestat", "fd_prestat_get", __wasi_fd_prestat_get(fd, &ps), fd);
	}
	__wasi_filesize_t pos = 0;
	sub(s, "seek-stdout", "fd_seek", __wasi_fd_seek(1, 0, __WASI_WHENCE_CUR, &pos));
	__wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
	__wasi_size_t n = 0;
	sub(s, "write-invalid", "fd_write", __wasi_fd_write((__wasi_fd_t)-31337, &iov, 1, &n));
	sub(s, "write-stdout", "fd_write", write_str(1, ""));
}

/* stdio-renumber: check. fd_renumber(0..2, fd + 100): targets nobody
 * opened. A runtime that moves stdio anyway gets it moved back at once. */
void op_stdio_renumber(const step_t *s) {
	static const char *const names[] = {"stdin-to-unopened", "stdout-to-unopened", "stderr-to-unopened"};
	for (__wasi_fd_t fd = 0; fd < 3; fd++) {
		__wasi_errno_t err = __wasi_fd_renumber(fd, fd + 100);
		__wasi_errno_t back = 0;
		if (err == __WASI_ERRNO_SUCCESS)
			back = __wasi_fd_renumber(fd + 100, fd);
		sub(s, names[fd], "fd_renumber", err);
		if (err == __WASI_ERRNO_SUCCESS)
			sub(s, "moved-back", "fd_renumber", back);
	}
}

/* close-stdout: check dir. Closes fd 1, so it must be the last step; its
 * records go to fd 2 (stderr). */
void op_close_stdout(const step_t *s) {
	__wasi_fd_t b;
	probe_out = 2;
	sub(s, "close", "fd_close", __wasi_fd_close(1));
	sub(s, "write-closed", "fd_write", write_str(1, "AFTER-CLOSE\n"));
	__wasi_errno_t err = open_at(s->arg[0].fd, "after-close.txt", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC,
	                             __WASI_RIGHTS_FD_WRITE, __WASI_RIGHTS_FD_FILESTAT_SET_SIZE, &b);
	emit(s, &(rec_t){.op = "open-after", .call = "path_open", .err = err, .has = err ? 0 : HAS_FD | HAS_COUNT,
	                 .fd = b, .count = !err && b == 1});
	if (err == __WASI_ERRNO_SUCCESS) {
		sub(s, "write-file", "fd_write", write_str(b, "GUEST-WROTE\n"));
		/* Left open: the runtime's own output at exit must not land in it. */
	}
}
