/*
 * probe.h: the part shared by the C probes (fs.c, sock.c); see ../PROTOCOL.md.
 *
 * probe.c owns main(): it checks the whole command line against the module's
 * op table first (a bad step prints one "usage" record and exits 2 before
 * anything runs), then runs the steps in order. An op is one table row: its
 * name, the kinds of its arguments after the check id, and a handler that gets
 * them already parsed and resolved. A handler reports what the runtime said
 * with emit(); it never judges.
 */
#ifndef PROBE_H
#define PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <wasi/api.h>

/* Argument kinds, one character each in an op's signature. */
#define ARG_DIR 'd'    /* fd:N, a preopen's guest name or N, resolved to an fd */
#define ARG_FD 'D'     /* the same, for any fd */
#define ARG_STR 's'    /* a path or any other string, passed as is */
#define ARG_FOLLOW 'f' /* follow | nofollow, to lookupflags */
#define ARG_OFLAGS 'o' /* decimal oflags */
#define ARG_ACCESS 'a' /* r | w | rw | none, to rights */
#define ARG_COUNT 'n'  /* decimal count */
#define ARG_ACT 't'    /* read | write | none, kept in str */
#define ARG_REST '*'   /* last: every remaining argument, unparsed (data) */

#define MAX_ARGS 6

/* One parsed argument: which member is meaningful depends on its kind. */
typedef struct {
	const char *str;   /* every kind: the raw argument */
	uint64_t num;      /* follow, oflags, access (rights), count */
	__wasi_fd_t fd;    /* dir, fd */
} arg_t;

/* A step as a handler sees it. */
typedef struct {
	const char *check;
	const char *op;
	arg_t arg[MAX_ARGS];
} step_t;

typedef void (*handler_t)(const step_t *s);

/* One row of a module's op table. */
typedef struct {
	const char *name;
	const char *sig; /* argument kinds after the check id, e.g. "dsf" */
	handler_t run;
} op_t;

/* Each probe module defines its table; probe.c's main() dispatches on it. */
extern const op_t probe_ops[];
extern const size_t probe_nops;

/* Optional record fields. */
#define HAS_DATA 1u
#define HAS_FD 2u
#define HAS_COUNT 4u
#define HAS_SIZE 8u
#define HAS_DIR_RIGHTS 16u /* dir_inheriting */
#define HAS_RIGHTS 32u     /* rights_base, rights_inheriting */

/* One call of a multi-call step and its answer. */
typedef struct {
	const char *call;
	__wasi_errno_t err;
	int libc; /* err is a libc errno: named as libc_errno_name does */
} call_t;

/* MAX_CALLS bounds the calls one record lists. */
#define MAX_CALLS 8

/* One output record. op == NULL means the step's op. */
typedef struct {
	const char *op;
	const char *call;      /* optional: the call that gave errno */
	__wasi_errno_t err;    /* the runtime's answer; SUCCESS means outcome ok */
	const char *errname;   /* optional: overrides the WASI name (libc, usage) */
	unsigned has;          /* HAS_* bits */
	const void *data;
	size_t len;
	uint64_t fd, count, size;
	uint64_t dir_inheriting, rights_base, rights_inheriting;
	/* calls, when ncalls > 0: every call the step made, in order. */
	const call_t *calls;
	size_t ncalls;
} rec_t;

/* probe_out is the fd records go to: 1, except after an op closed it
 * (close-stdout sets 2). */
extern __wasi_fd_t probe_out;

/* emit prints r as one JSON line on probe_out and flushes it. */
void emit(const step_t *s, const rec_t *r);

/* emit_err is emit for the common record without optional fields. */
void emit_err(const step_t *s, const char *call, __wasi_errno_t err);

/* errno_name is the WASI name without prefix ("PERM"), or "E<n>". */
const char *errno_name(unsigned err);

/* libc_errno_name is wasi-libc's name for errno e, whose values are WASI's:
 * "SUCCESS" for 0, else "E" + the WASI name ("ENOENT"). */
const char *libc_errno_name(unsigned err);

/* filetype_name is "regular_file", "directory", ..., or "filetype_<n>". */
const char *filetype_name(unsigned type);

/* sleep_ms sleeps with poll_oneoff on the monotonic clock. */
__wasi_errno_t sleep_ms(uint32_t ms);

/* alias_add names fd for later <dir>/<fd> arguments (opendir, openfd); a
 * name is looked up before the preopens' names. At most MAX_ALIASES names;
 * naming a name again renames it. */
#define MAX_ALIASES 32
void alias_add(const char *name, __wasi_fd_t fd);

/* The most fds a scan looks at past stdio (preopens, find). */
#define MAX_SCAN 64

#endif
