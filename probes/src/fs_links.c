/*
 * fs_links.c: ops that open an fd and name it for later steps (opendir,
 * openfd), change an fd's rights (set-rights) and act on a named fd
 * (fd-read, fd-write, fd-truncate). See ../PROTOCOL.md, "Named fds and
 * rights". fd numbers are never printed for a spec to rely on: runtimes may
 * randomise them (WasmEdge does); a step names the fd by its alias.
 */
#include "fs_links.h"

#include <string.h>

/* Rights wasi-libc's openat() leaves out of its maximum unless the access
 * mode asks for them (libc-bottom-half/cloudlibc/src/libc/fcntl/openat.c):
 * opendir() opens O_RDONLY|O_DIRECTORY, which adds back FD_READ and
 * FD_READDIR, so a directory is asked for every right but these. */
#define LIBC_DIR_EXCLUDED (__WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_WRITE | \
                           __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE)
#define FILE_EXTRA (__WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FILESTAT_GET)

/* opened is the common tail of opendir and openfd: fd_fdstat_get of the new
 * fd, the alias, and the record. */
static void opened(const step_t *s, __wasi_errno_t err, __wasi_fd_t fd, int dir_ok,
                   __wasi_rights_t inh, const char *name) {
	call_t calls[2] = {{"path_open", err, 0}};
	size_t n = 1;
	__wasi_fdstat_t st = {0};
	unsigned has = dir_ok ? HAS_DIR_RIGHTS : 0;
	const char *call = "path_open";
	__wasi_errno_t first = err;
	if (err == __WASI_ERRNO_SUCCESS) {
		__wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
		calls[n++] = (call_t){"fd_fdstat_get", e, 0};
		call = "fd_fdstat_get";
		first = e;
		if (e == __WASI_ERRNO_SUCCESS)
			has |= HAS_RIGHTS;
		/* The fd is named even when its fdstat fails: path_open opened it. */
		alias_add(name, fd);
	}
	emit(s, &(rec_t){.call = call, .err = first, .calls = calls, .ncalls = n, .has = has,
	                 .dir_inheriting = inh, .rights_base = st.fs_rights_base,
	                 .rights_inheriting = st.fs_rights_inheriting});
}

/* parent_inheriting is dir's fs_rights_inheriting, 0 when fd_fdstat_get fails. */
static __wasi_rights_t parent_inheriting(__wasi_fd_t dir, int *ok) {
	__wasi_fdstat_t st;
	*ok = __wasi_fd_fdstat_get(dir, &st) == __WASI_ERRNO_SUCCESS;
	return *ok ? st.fs_rights_inheriting : 0;
}

/* opendir: check dir path name. path_open(dir, SYMLINK_FOLLOW, path,
 * O_DIRECTORY, base = ~LIBC_DIR_EXCLUDED & inh, inheriting = inh, 0), as
 * wasi-libc's opendir() asks, then fd_fdstat_get of the new fd; the fd is
 * named `name` for later <dir>/<fd> arguments. */
void op_opendir(const step_t *s) {
	int ok;
	__wasi_rights_t inh = parent_inheriting(s->arg[0].fd, &ok);
	__wasi_fd_t fd = 0;
	__wasi_errno_t err = __wasi_path_open(s->arg[0].fd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, s->arg[1].str,
	                                      __WASI_OFLAGS_DIRECTORY, ~(__wasi_rights_t)LIBC_DIR_EXCLUDED & inh,
	                                      inh, 0, &fd);
	opened(s, err, fd, ok, inh, s->arg[2].str);
}

/* openfd: check dir path access name. path_open(dir, SYMLINK_FOLLOW, path, 0,
 * base = access | (FD_SEEK|FD_TELL|FD_FILESTAT_GET) & inh, inheriting = inh,
 * 0), then fd_fdstat_get; the fd is named `name`. */
void op_openfd(const step_t *s) {
	int ok;
	__wasi_rights_t inh = parent_inheriting(s->arg[0].fd, &ok);
	__wasi_fd_t fd = 0;
	__wasi_errno_t err = __wasi_path_open(s->arg[0].fd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, s->arg[1].str, 0,
	                                      s->arg[2].num | (FILE_EXTRA & inh), inh, 0, &fd);
	opened(s, err, fd, ok, inh, s->arg[3].str);
}

/* change applies a rights change to cur: "=" keeps it, "-X" removes and "+X"
 * adds X, where X is r, w or rw (FD_READ, FD_WRITE, both). */
static int change(const char *spec, __wasi_rights_t cur, __wasi_rights_t *out) {
	__wasi_rights_t bits;
	if (strcmp(spec, "=") == 0) {
		*out = cur;
		return 1;
	}
	if (strcmp(spec + 1, "r") == 0)
		bits = __WASI_RIGHTS_FD_READ;
	else if (strcmp(spec + 1, "w") == 0)
		bits = __WASI_RIGHTS_FD_WRITE;
	else if (strcmp(spec + 1, "rw") == 0)
		bits = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE;
	else
		return 0;
	if (spec[0] == '-')
		*out = cur & ~bits;
	else if (spec[0] == '+')
		*out = cur | bits;
	else
		return 0;
	return 1;
}

/* set-rights: check fd base inheriting. fd_fdstat_get, then
 * fd_fdstat_set_rights(fd, change(base), change(inheriting)), then
 * fd_fdstat_get again; rights_base/rights_inheriting are the last fdstat's
 * (the first's when set_rights was not reached or the second failed). */
void op_set_rights(const step_t *s) {
	__wasi_fdstat_t st = {0};
	__wasi_rights_t nb, ni;
	call_t calls[3];
	size_t n = 0;
	unsigned has = 0;
	__wasi_fd_t fd = s->arg[0].fd;
	__wasi_errno_t err = __wasi_fd_fdstat_get(fd, &st);
	calls[n++] = (call_t){"fd_fdstat_get", err, 0};
	const char *call = "fd_fdstat_get";
	__wasi_errno_t first = err;
	if (err == __WASI_ERRNO_SUCCESS) {
		has = HAS_RIGHTS;
		if (!change(s->arg[1].str, st.fs_rights_base, &nb) || !change(s->arg[2].str, st.fs_rights_inheriting, &ni)) {
			const char *msg = "set-rights: a change is =, -r, -w, -rw, +r, +w or +rw";
			emit(s, &(rec_t){.op = "usage", .err = __WASI_ERRNO_INVAL, .has = HAS_DATA, .data = msg, .len = strlen(msg)});
			return;
		}
		err = __wasi_fd_fdstat_set_rights(fd, nb, ni);
		calls[n++] = (call_t){"fd_fdstat_set_rights", err, 0};
		call = "fd_fdstat_set_rights";
		first = err;
		__wasi_fdstat_t after;
		__wasi_errno_t e = __wasi_fd_fdstat_get(fd, &after);
		calls[n++] = (call_t){"fd_fdstat_get", e, 0};
		if (e == __WASI_ERRNO_SUCCESS)
			st = after;
		if (first == __WASI_ERRNO_SUCCESS) {
			call = "fd_fdstat_get";
			first = e;
		}
	}
	emit(s, &(rec_t){.call = call, .err = first, .calls = calls, .ncalls = n, .has = has,
	                 .rights_base = st.fs_rights_base, .rights_inheriting = st.fs_rights_inheriting});
}

/* fd-read: check fd. One fd_read of up to 64 bytes; data = the bytes. */
void op_fd_read(const step_t *s) {
	static uint8_t b[64];
	__wasi_iovec_t iov = {b, sizeof b};
	__wasi_size_t n = 0;
	__wasi_errno_t err = __wasi_fd_read(s->arg[0].fd, &iov, 1, &n);
	if (err != __WASI_ERRNO_SUCCESS || n > sizeof b)
		n = 0;
	emit(s, &(rec_t){.err = err, .has = HAS_DATA, .data = b, .len = n});
}

/* fd-write: check fd content. One fd_write of content; size = bytes written. */
void op_fd_write(const step_t *s) {
	const char *content = s->arg[1].str;
	__wasi_ciovec_t iov = {(const uint8_t *)content, strlen(content)};
	__wasi_size_t n = 0;
	__wasi_errno_t err = __wasi_fd_write(s->arg[0].fd, &iov, 1, &n);
	emit(s, &(rec_t){.err = err, .has = err ? 0 : HAS_SIZE, .size = n});
}

/* fd-truncate: check fd. fd_filestat_set_size(fd, 0). */
void op_fd_truncate(const step_t *s) {
	emit_err(s, NULL, __wasi_fd_filestat_set_size(s->arg[0].fd, 0));
}

/* fdrights: check fd. fd_fdstat_get; rights_base, rights_inheriting and
 * data = the filetype name. */
void op_fdrights(const step_t *s) {
	__wasi_fdstat_t st = {0};
	__wasi_errno_t err = __wasi_fd_fdstat_get(s->arg[0].fd, &st);
	const char *type = err == __WASI_ERRNO_SUCCESS ? filetype_name(st.fs_filetype) : "";
	emit(s, &(rec_t){.err = err, .has = HAS_DATA | (err ? 0 : HAS_RIGHTS), .data = type, .len = strlen(type),
	                 .rights_base = st.fs_rights_base, .rights_inheriting = st.fs_rights_inheriting});
}
