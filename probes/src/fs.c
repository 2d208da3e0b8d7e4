/*
 * fs.c: the filesystem, preopen, environment and argument probe (fs.wasm).
 * Every step calls the raw __wasi_* function, so the errno printed is the
 * runtime's own, except libc-open, which tests wasi-libc's path resolution.
 * See ../PROTOCOL.md for the ops and the records they print.
 */
#include "probe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUFSZ 4096
static uint8_t buf[BUFSZ];

/* Rights a directory needs for any path step; open always asks for these. */
#define PATH_RIGHTS                                                            \
	(__WASI_RIGHTS_PATH_CREATE_DIRECTORY | __WASI_RIGHTS_PATH_CREATE_FILE |    \
	 __WASI_RIGHTS_PATH_LINK_SOURCE | __WASI_RIGHTS_PATH_LINK_TARGET |         \
	 __WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_PATH_READLINK |                   \
	 __WASI_RIGHTS_PATH_RENAME_SOURCE | __WASI_RIGHTS_PATH_RENAME_TARGET |     \
	 __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE |  \
	 __WASI_RIGHTS_PATH_FILESTAT_SET_TIMES | __WASI_RIGHTS_PATH_SYMLINK |      \
	 __WASI_RIGHTS_PATH_REMOVE_DIRECTORY | __WASI_RIGHTS_PATH_UNLINK_FILE)

#define WRITE_RIGHTS                                                           \
	(__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK |  \
	 __WASI_RIGHTS_FD_FILESTAT_SET_SIZE | __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE)

/* result tracks a multi-call step: the first failing call, else the last. */
typedef struct {
	const char *call;
	__wasi_errno_t err;
} result_t;

static void did(result_t *r, const char *call, __wasi_errno_t err) {
	if (r->err == __WASI_ERRNO_SUCCESS) {
		r->call = call;
		r->err = err;
	}
}

/* open: check dir path follow oflags access */
static void op_open(const step_t *s) {
	__wasi_rights_t rights = s->arg[4].num | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_READDIR | PATH_RIGHTS;
	__wasi_fd_t fd;
	size_t got = 0;
	result_t r = {0};
	did(&r, "path_open",
	    __wasi_path_open(s->arg[0].fd, (__wasi_lookupflags_t)s->arg[2].num, s->arg[1].str,
	                     (__wasi_oflags_t)s->arg[3].num, rights, rights, 0, &fd));
	if (r.err == __WASI_ERRNO_SUCCESS) {
		if (rights & __WASI_RIGHTS_FD_READ)
			did(&r, "fd_read", read_all(fd, buf, BUFSZ, &got));
		did(&r, "fd_close", __wasi_fd_close(fd));
	}
	emit(s, &(rec_t){.call = r.call, .err = r.err, .has = HAS_DATA, .data = buf, .len = got});
}

/* write: check dir path follow oflags content */
static void op_write(const step_t *s) {
	const char *content = s->arg[4].str;
	size_t len = strlen(content), off = 0;
	__wasi_fd_t fd;
	result_t r = {0};
	did(&r, "path_open",
	    __wasi_path_open(s->arg[0].fd, (__wasi_lookupflags_t)s->arg[2].num, s->arg[1].str,
	                     (__wasi_oflags_t)s->arg[3].num, WRITE_RIGHTS, WRITE_RIGHTS, 0, &fd));
	if (r.err != __WASI_ERRNO_SUCCESS) {
		emit_err(s, r.call, r.err);
		return;
	}
	do {
		__wasi_ciovec_t iov = {(const uint8_t *)content + off, len - off};
		__wasi_size_t n = 0;
		did(&r, "fd_write", __wasi_fd_write(fd, &iov, 1, &n));
		if (r.err != __WASI_ERRNO_SUCCESS || n == 0)
			break;
		off += n;
	} while (off < len);
	did(&r, "fd_close", __wasi_fd_close(fd));
	emit_err(s, r.call, r.err);
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

/* libc_name is wasi-libc's name for errno e, whose values are WASI's. */
static const char *libc_name(int e) {
	static char name[24] = "E";
	if (e == 0 || e > __WASI_ERRNO_NOTCAPABLE)
		return errno_name((unsigned)e);
	strncpy(name + 1, errno_name((unsigned)e), sizeof name - 2);
	return name;
}

/* libc-open: check path, through wasi-libc's open(), read() and close() */
static void op_libc_open(const step_t *s) {
	size_t got = 0;
	ssize_t n = 0;
	result_t r = {0};
	int fd = open(s->arg[0].str, O_RDONLY);
	did(&r, "open", fd < 0 ? (__wasi_errno_t)errno : 0);
	if (fd >= 0) {
		while (got < BUFSZ && (n = read(fd, buf + got, BUFSZ - got)) > 0)
			got += (size_t)n;
		did(&r, "read", n < 0 ? (__wasi_errno_t)errno : 0);
		did(&r, "close", close(fd) < 0 ? (__wasi_errno_t)errno : 0);
	}
	emit(s, &(rec_t){.call = r.call, .err = r.err, .errname = libc_name(r.err),
	                 .has = HAS_DATA, .data = buf, .len = got});
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
	{"env", "", op_env},
	{"args", "*", op_args},
	{"fdstat", "D", op_fdstat},
};
const size_t probe_nops = sizeof probe_ops / sizeof *probe_ops;
