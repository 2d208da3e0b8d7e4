/*
 * fs.c: the filesystem, preopen, environment and argument probe (fs.wasm).
 * Every step calls the raw __wasi_* function, so the errno printed is the
 * runtime's own, except libc-open, which tests wasi-libc's path resolution.
 * See ../PROTOCOL.md for the ops and the records they print.
 */
#include "probe.h"
#include "fs_links.h"
#include "fs_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUFSZ 4096
static uint8_t buf[BUFSZ];

/*
 * Least rights. A step asks path_open for the rights its access needs and
 * nothing else, so that a runtime which checks rights (as WASI's rights model
 * allows) answers the question the step asks, not another one:
 *
 *   base       = access | (extra & dir_inheriting)
 *   inheriting = dir_inheriting
 *
 * where dir_inheriting is the directory's fs_rights_inheriting from
 * fd_fdstat_get (0 when that fails), access is FD_READ for r, FD_WRITE for w,
 * both for rw, asked for unmasked (asking for write on a read-only preopen must
 * stay a refusal, never become a silently read-only fd), and extra is
 * FD_SEEK | FD_TELL | FD_FILESTAT_GET, plus FD_READDIR when oflags has
 * DIRECTORY, for open; FD_FILESTAT_SET_SIZE when oflags has TRUNC, for write.
 * Like wasi-libc's openat() (libc-bottom-half/cloudlibc/src/libc/fcntl/
 * openat.c: base = wanted & fs_rights_inheriting, inheriting =
 * fs_rights_inheriting), except that wasi-libc asks for every right its
 * access mode does not contradict and masks the access rights too.
 */
#define OPEN_EXTRA (__WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FILESTAT_GET)

/* dir_inheriting is the rights dir can hand out, 0 when fd_fdstat_get fails. */
static __wasi_rights_t dir_inheriting(__wasi_fd_t dir, int *ok) {
	__wasi_fdstat_t st;
	*ok = __wasi_fd_fdstat_get(dir, &st) == __WASI_ERRNO_SUCCESS;
	return *ok ? st.fs_rights_inheriting : 0;
}

/* result tracks a multi-call step: every call it made, in order, and the
 * first failing call, else the last (the record's call and errno). A run of
 * the same call with the same answer (fd_read until end of file) is listed
 * once, so no step lists more than four entries (MAX_CALLS bounds it). */
typedef struct {
	const char *call;
	__wasi_errno_t err;
	call_t calls[MAX_CALLS];
	size_t n;
} result_t;

static void did_as(result_t *r, const char *call, __wasi_errno_t err, int libc) {
	if (r->err == __WASI_ERRNO_SUCCESS) {
		r->call = call;
		r->err = err;
	}
	if (r->n > 0 && r->calls[r->n - 1].call == call && r->calls[r->n - 1].err == err)
		return;
	if (r->n < MAX_CALLS)
		r->calls[r->n++] = (call_t){call, err, libc};
}

static void did(result_t *r, const char *call, __wasi_errno_t err) { did_as(r, call, err, 0); }

/* read_rec calls fd_read until BUFSZ bytes, end of file or an error,
 * recording every call. */
static void read_rec(result_t *r, __wasi_fd_t fd, size_t *got) {
	*got = 0;
	while (*got < BUFSZ) {
		__wasi_iovec_t iov = {buf + *got, BUFSZ - *got};
		__wasi_size_t n = 0;
		__wasi_errno_t err = __wasi_fd_read(fd, &iov, 1, &n);
		did(r, "fd_read", err);
		if (err != __WASI_ERRNO_SUCCESS || n == 0)
			break;
		*got += n > BUFSZ - *got ? BUFSZ - *got : n;
	}
}

/* open: check dir path follow oflags access */
static void op_open(const step_t *s) {
	__wasi_oflags_t oflags = (__wasi_oflags_t)s->arg[3].num;
	int ok;
	__wasi_rights_t inh = dir_inheriting(s->arg[0].fd, &ok);
	__wasi_rights_t extra = OPEN_EXTRA | (oflags & __WASI_OFLAGS_DIRECTORY ? __WASI_RIGHTS_FD_READDIR : 0);
	__wasi_rights_t base = s->arg[4].num | (extra & inh);
	__wasi_fd_t fd;
	size_t got = 0;
	result_t r = {0};
	did(&r, "path_open",
	    __wasi_path_open(s->arg[0].fd, (__wasi_lookupflags_t)s->arg[2].num, s->arg[1].str,
	                     oflags, base, inh, 0, &fd));
	if (r.err == __WASI_ERRNO_SUCCESS) {
		if (base & __WASI_RIGHTS_FD_READ)
			read_rec(&r, fd, &got);
		did(&r, "fd_close", __wasi_fd_close(fd));
	}
	emit(s, &(rec_t){.call = r.call, .err = r.err, .calls = r.calls, .ncalls = r.n,
	                 .has = HAS_DATA, .data = buf, .len = got});
}

/* write: check dir path follow oflags content */
static void op_write(const step_t *s) {
	const char *content = s->arg[4].str;
	size_t len = strlen(content), off = 0;
	__wasi_oflags_t oflags = (__wasi_oflags_t)s->arg[3].num;
	int ok;
	__wasi_rights_t inh = dir_inheriting(s->arg[0].fd, &ok);
	__wasi_rights_t base = __WASI_RIGHTS_FD_WRITE |
	                       (oflags & __WASI_OFLAGS_TRUNC ? __WASI_RIGHTS_FD_FILESTAT_SET_SIZE & inh : 0);
	__wasi_fd_t fd;
	result_t r = {0};
	did(&r, "path_open",
	    __wasi_path_open(s->arg[0].fd, (__wasi_lookupflags_t)s->arg[2].num, s->arg[1].str,
	                     oflags, base, inh, 0, &fd));
	if (r.err == __WASI_ERRNO_SUCCESS) {
		do {
			__wasi_ciovec_t iov = {(const uint8_t *)content + off, len - off};
			__wasi_size_t n = 0;
			__wasi_errno_t err = __wasi_fd_write(fd, &iov, 1, &n);
			did(&r, "fd_write", err);
			if (err != __WASI_ERRNO_SUCCESS || n == 0)
				break;
			off += n > len - off ? len - off : n;
		} while (off < len);
		did(&r, "fd_close", __wasi_fd_close(fd));
	}
	emit(s, &(rec_t){.call = r.call, .err = r.err, .calls = r.calls, .ncalls = r.n});
}

/* open-rights: check dir path access read|write|none. path_open(dir, follow, path,
 * oflags 0, base = access exactly, inheriting 0), fd_fdstat_get of the new fd,
 * then one fd_read of up to 64 bytes (read) or fd_write of "X" (write), and
 * fd_close. The record adds dir_inheriting and the new fd's rights. */
static void op_open_rights(const step_t *s) {
	int ok;
	__wasi_rights_t inh = dir_inheriting(s->arg[0].fd, &ok);
	const char *act = s->arg[3].str;
	__wasi_fd_t fd;
	__wasi_fdstat_t st = {0};
	result_t r = {0};
	unsigned has = ok ? HAS_DIR_RIGHTS : 0;
	did(&r, "path_open",
	    __wasi_path_open(s->arg[0].fd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, s->arg[1].str, 0,
	                     s->arg[2].num, 0, 0, &fd));
	if (r.err == __WASI_ERRNO_SUCCESS) {
		__wasi_errno_t err = __wasi_fd_fdstat_get(fd, &st);
		did(&r, "fd_fdstat_get", err);
		if (err == __WASI_ERRNO_SUCCESS)
			has |= HAS_RIGHTS;
		if (strcmp(act, "read") == 0) {
			__wasi_iovec_t iov = {buf, 64};
			__wasi_size_t n = 0;
			did(&r, "fd_read", __wasi_fd_read(fd, &iov, 1, &n));
		} else if (strcmp(act, "write") == 0) {
			__wasi_ciovec_t iov = {(const uint8_t *)"X", 1};
			__wasi_size_t n = 0;
			did(&r, "fd_write", __wasi_fd_write(fd, &iov, 1, &n));
		}
		did(&r, "fd_close", __wasi_fd_close(fd));
	}
	emit(s, &(rec_t){.call = r.call, .err = r.err, .calls = r.calls, .ncalls = r.n, .has = has,
	                 .dir_inheriting = inh, .rights_base = st.fs_rights_base,
	                 .rights_inheriting = st.fs_rights_inheriting});
}

/* mkdir, rmdir, unlink: check dir path */
static void op_mkdir(const step_t *s) {
	emit_err(s, NULL, __wasi_path_create_directory(s->arg[0].fd, s->arg[1].str));
}

static void op_rmdir(const step_t *s) {
	emit_err(s, NULL, __wasi_path_remove_directory(s->arg[0].fd, s->arg[1].str));
}

static void op_unlink(const step_t *s) {
	emit_err(s, NULL, __wasi_path_unlink_file(s->arg[0].fd, s->arg[1].str));
}

/* symlink: check target dir path */
static void op_symlink(const step_t *s) {
	emit_err(s, NULL, __wasi_path_symlink(s->arg[0].str, s->arg[1].fd, s->arg[2].str));
}

/* readlink: check dir path */
static void op_readlink(const step_t *s) {
	__wasi_size_t n = 0;
	__wasi_errno_t err = __wasi_path_readlink(s->arg[0].fd, s->arg[1].str, buf, BUFSZ, &n);
	if (err != __WASI_ERRNO_SUCCESS || n > BUFSZ)
		n = 0;
	emit(s, &(rec_t){.err = err, .has = HAS_DATA, .data = buf, .len = n});
}

/* stat: check dir path follow */
static void op_stat(const step_t *s) {
	__wasi_filestat_t st;
	__wasi_errno_t err = __wasi_path_filestat_get(s->arg[0].fd, (__wasi_lookupflags_t)s->arg[2].num,
	                                              s->arg[1].str, &st);
	const char *type = err == __WASI_ERRNO_SUCCESS ? filetype_name(st.filetype) : "";
	emit(s, &(rec_t){.err = err, .has = HAS_DATA | (err ? 0 : HAS_SIZE),
	                 .data = type, .len = strlen(type), .size = err ? 0 : st.size});
}

/* rename: check dir path dir2 path2 */
static void op_rename(const step_t *s) {
	emit_err(s, NULL, __wasi_path_rename(s->arg[0].fd, s->arg[1].str, s->arg[2].fd, s->arg[3].str));
}

/* link: check dir path dir2 path2 follow */
static void op_link(const step_t *s) {
	emit_err(s, NULL, __wasi_path_link(s->arg[0].fd, (__wasi_lookupflags_t)s->arg[4].num,
	                                   s->arg[1].str, s->arg[2].fd, s->arg[3].str));
}

/* libc-open: check path, through wasi-libc's open(), read() and close() */
static void op_libc_open(const step_t *s) {
	size_t got = 0;
	ssize_t n = 0;
	result_t r = {0};
	int fd = open(s->arg[0].str, O_RDONLY);
	__wasi_errno_t err = fd < 0 ? (__wasi_errno_t)errno : 0;
	did_as(&r, "open", err, 1);
	if (fd >= 0) {
		do {
			n = read(fd, buf + got, BUFSZ - got);
			err = n < 0 ? (__wasi_errno_t)errno : 0;
			did_as(&r, "read", err, 1);
			if (n > 0)
				got += (size_t)n;
		} while (n > 0 && got < BUFSZ);
		err = close(fd) < 0 ? (__wasi_errno_t)errno : 0;
		did_as(&r, "close", err, 1);
	}
	emit(s, &(rec_t){.call = r.call, .err = r.err, .errname = libc_errno_name(r.err),
	                 .calls = r.calls, .ncalls = r.n, .has = HAS_DATA, .data = buf, .len = got});
}

/* list prints the sizes record and one record per string of the
 * environment or the arguments, exactly as the runtime gave them. */
static void list(const step_t *s, const char *sizes_op, const char *get_op,
                 __wasi_errno_t (*sizes)(__wasi_size_t *, __wasi_size_t *),
                 __wasi_errno_t (*get)(uint8_t **, uint8_t *)) {
	__wasi_size_t count = 0, size = 0;
	__wasi_errno_t err = sizes(&count, &size);
	emit(s, &(rec_t){.op = sizes_op, .err = err, .has = err ? 0 : HAS_COUNT | HAS_SIZE,
	                 .count = count, .size = size});
	if (err != __WASI_ERRNO_SUCCESS)
		return;
	uint8_t **ptrs = calloc((size_t)count + 1, sizeof *ptrs);
	uint8_t *strs = calloc((size_t)size + 1, 1);
	if (!ptrs || !strs) {
		emit(s, &(rec_t){.op = get_op, .call = "malloc", .err = __WASI_ERRNO_NOMEM});
	} else if ((err = get(ptrs, strs)) != __WASI_ERRNO_SUCCESS) {
		emit(s, &(rec_t){.op = get_op, .err = err});
	} else {
		for (size_t i = 0; i < count; i++) {
			/* Trust nothing: a string must lie inside the buffer. */
			const uint8_t *p = ptrs[i];
			size_t len = 0;
			if (p >= strs && p < strs + size)
				len = strnlen((const char *)p, (size_t)(strs + size - p));
			emit(s, &(rec_t){.op = get_op, .has = HAS_DATA, .data = p, .len = len});
		}
	}
	free(ptrs);
	free(strs);
}

/* env: check */
static void op_env(const step_t *s) {
	list(s, "environ_sizes_get", "environ_get", __wasi_environ_sizes_get, __wasi_environ_get);
}

/* args: check [data...]. It ends the step list: what follows is data. */
static void op_args(const step_t *s) {
	list(s, "args_sizes_get", "args_get", __wasi_args_sizes_get, __wasi_args_get);
}

/* fdstat: check fd */
static void op_fdstat(const step_t *s) {
	__wasi_fdstat_t st;
	__wasi_errno_t err = __wasi_fd_fdstat_get(s->arg[0].fd, &st);
	const char *type = err == __WASI_ERRNO_SUCCESS ? filetype_name(st.fs_filetype) : "";
	emit(s, &(rec_t){.err = err, .has = HAS_DATA, .data = type, .len = strlen(type)});
}

/* preopens: check. Tries fds 0, 1, 2, then 3 upwards until the first
 * fd_prestat_get error, at most MAX_SCAN fds past stdio. */
static void op_preopens(const step_t *s) {
	for (__wasi_fd_t fd = 0; fd < 3 + MAX_SCAN; fd++) {
		__wasi_prestat_t ps;
		__wasi_errno_t err = __wasi_fd_prestat_get(fd, &ps);
		int last = fd >= 3 && err != __WASI_ERRNO_SUCCESS;
		const char *call = "fd_prestat_get";
		uint8_t *name = NULL;
		size_t len = 0;
		if (err == __WASI_ERRNO_SUCCESS && ps.tag == __WASI_PREOPENTYPE_DIR) {
			len = ps.u.dir.pr_name_len;
			name = malloc(len + 1);
			call = "fd_prestat_dir_name";
			err = name ? __wasi_fd_prestat_dir_name(fd, name, len) : __WASI_ERRNO_NOMEM;
			if (err != __WASI_ERRNO_SUCCESS)
				len = 0;
		}
		emit(s, &(rec_t){.call = call, .err = err, .has = HAS_DATA | HAS_FD,
		                 .data = name, .len = len, .fd = fd});
		free(name);
		if (last)
			break;
	}
}

/* Path traversal ops (fs_path.c). */
void op_open_bytes(const step_t *s);
void op_open_repeat(const step_t *s);
void op_open_at(const step_t *s);
/* Symlink ops (fs_symlink.c). */
void op_loop_open(const step_t *s);
void op_readlink_buf(const step_t *s);

const op_t probe_ops[] = {
	{"preopens", "", op_preopens},
	{"open", "dsfoa", op_open},
	{"write", "dsfos", op_write},
	{"mkdir", "ds", op_mkdir},
	{"rmdir", "ds", op_rmdir},
	{"unlink", "ds", op_unlink},
	{"symlink", "sds", op_symlink},
	{"readlink", "ds", op_readlink},
	{"stat", "dsf", op_stat},
	{"rename", "dsds", op_rename},
	{"link", "dsdsf", op_link},
	{"libc-open", "s", op_libc_open},
	{"open-rights", "dsat", op_open_rights},
	{"env", "", op_env},
	{"args", "*", op_args},
	{"fdstat", "D", op_fdstat},
	/* fs_links.c */
	{"opendir", "dss", op_opendir},
	{"openfd", "dsas", op_openfd},
	{"set-rights", "Dss", op_set_rights},
	{"fd-read", "D", op_fd_read},
	{"fd-write", "Ds", op_fd_write},
	{"fd-truncate", "D", op_fd_truncate},
	{"fdrights", "D", op_fdrights},
	/* path traversal (fs_path.c) */
	{"open-bytes", "dsfoa", op_open_bytes},
	{"open-repeat", "dssns", op_open_repeat},
	{"open-at", "dssf", op_open_at},
	{"loop-open", "dssnn", op_loop_open},
	{"readlink-buf", "dsn", op_readlink_buf},
	/* fd management and stdio: fs_fd.c */
	{"close-preopen", "d", op_close_preopen},
	{"renumber-over", "dd", op_renumber_over},
	{"renumber-edge", "d", op_renumber_edge},
	{"renumber-stdio", "d", op_renumber_stdio},
	{"scan", "d", op_scan},
	{"sync", "d", op_sync},
	{"stdio", "", op_stdio},
	{"stdio-renumber", "", op_stdio_renumber},
	{"close-stdout", "d", op_close_stdout},
};
const size_t probe_nops = sizeof probe_ops / sizeof *probe_ops;
