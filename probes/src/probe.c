/*
 * probe.c: record output, errno names, argument parsing and main() for the C
 * probes. See probe.h and ../PROTOCOL.md.
 */
#include "probe.h"

#include <stdlib.h>
#include <string.h>

/* ---- output ---------------------------------------------------------- */

static uint8_t out[8192];
static size_t outlen;

__wasi_fd_t probe_out = 1;

/* flush writes the buffered bytes to probe_out (fd 1); errors are ignored, a probe has
 * nowhere else to report them. */
static void flush(void) {
	size_t off = 0;
	while (off < outlen) {
		__wasi_ciovec_t iov = {out + off, outlen - off};
		__wasi_size_t n = 0;
		if (__wasi_fd_write(probe_out, &iov, 1, &n) != __WASI_ERRNO_SUCCESS || n == 0)
			break;
		off += n;
	}
	outlen = 0;
}

static void put(const void *p, size_t n) {
	const uint8_t *b = p;
	while (n > 0) {
		if (outlen == sizeof out)
			flush();
		size_t k = sizeof out - outlen;
		if (k > n)
			k = n;
		memcpy(out + outlen, b, k);
		outlen += k;
		b += k;
		n -= k;
	}
}

static void puts_(const char *s) { put(s, strlen(s)); }

/* put_jstr writes bytes as a JSON string, one code point per byte. */
static void put_jstr(const void *p, size_t n) {
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b = p;
	put("\"", 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t c = b[i];
		if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f) {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			put(e, sizeof e);
		} else {
			put(&c, 1);
		}
	}
	put("\"", 1);
}

static void put_field(const char *key, const char *val) {
	put(",\"", 2);
	puts_(key);
	put("\":", 2);
	put_jstr(val, strlen(val));
}

static void put_num(const char *key, uint64_t v) {
	char d[20];
	size_t i = sizeof d;
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	put(",\"", 2);
	puts_(key);
	put("\":", 2);
	put(d + i, sizeof d - i);
}

void emit(const step_t *s, const rec_t *r) {
	puts_("{\"check\":");
	put_jstr(s->check, strlen(s->check));
	put_field("op", r->op ? r->op : s->op);
	if (r->call)
		put_field("call", r->call);
	put_field("outcome", r->err == __WASI_ERRNO_SUCCESS ? "ok" : "error");
	put_field("errno", r->errname ? r->errname : errno_name(r->err));
	if (r->ncalls > 0) {
		put(",\"calls\":[", 10);
		for (size_t i = 0; i < r->ncalls; i++) {
			const call_t *c = &r->calls[i];
			put(i ? ",{\"call\":" : "{\"call\":", i ? 9 : 8);
			put_jstr(c->call, strlen(c->call));
			put_field("errno", c->libc ? libc_errno_name(c->err) : errno_name(c->err));
			put("}", 1);
		}
		put("]", 1);
	}
	if (r->has & HAS_FD)
		put_num("fd", r->fd);
	if (r->has & HAS_COUNT)
		put_num("count", r->count);
	if (r->has & HAS_SIZE)
		put_num("size", r->size);
	if (r->has & HAS_DIR_RIGHTS)
		put_num("dir_inheriting", r->dir_inheriting);
	if (r->has & HAS_RIGHTS) {
		put_num("rights_base", r->rights_base);
		put_num("rights_inheriting", r->rights_inheriting);
	}
	if (r->has & HAS_DATA) {
		put(",\"data\":", 8);
		put_jstr(r->data, r->len);
	}
	put("}\n", 2);
	flush();
}

void emit_err(const step_t *s, const char *call, __wasi_errno_t err) {
	emit(s, &(rec_t){.call = call, .err = err});
}

/* ---- names ----------------------------------------------------------- */

static const char *const errnos[] = {
	"SUCCESS", "2BIG", "ACCES", "ADDRINUSE", "ADDRNOTAVAIL", "AFNOSUPPORT",
	"AGAIN", "ALREADY", "BADF", "BADMSG", "BUSY", "CANCELED", "CHILD",
	"CONNABORTED", "CONNREFUSED", "CONNRESET", "DEADLK", "DESTADDRREQ", "DOM",
	"DQUOT", "EXIST", "FAULT", "FBIG", "HOSTUNREACH", "IDRM", "ILSEQ",
	"INPROGRESS", "INTR", "INVAL", "IO", "ISCONN", "ISDIR", "LOOP", "MFILE",
	"MLINK", "MSGSIZE", "MULTIHOP", "NAMETOOLONG", "NETDOWN", "NETRESET",
	"NETUNREACH", "NFILE", "NOBUFS", "NODEV", "NOENT", "NOEXEC", "NOLCK",
	"NOLINK", "NOMEM", "NOMSG", "NOPROTOOPT", "NOSPC", "NOSYS", "NOTCONN",
	"NOTDIR", "NOTEMPTY", "NOTRECOVERABLE", "NOTSOCK", "NOTSUP", "NOTTY",
	"NXIO", "OVERFLOW", "OWNERDEAD", "PERM", "PIPE", "PROTO", "PROTONOSUPPORT",
	"PROTOTYPE", "RANGE", "ROFS", "SPIPE", "SRCH", "STALE", "TIMEDOUT",
	"TXTBSY", "XDEV", "NOTCAPABLE",
};
_Static_assert(sizeof errnos / sizeof *errnos == __WASI_ERRNO_NOTCAPABLE + 1,
               "errno table must cover 0..76");

static const char *const filetypes[] = {
	"unknown", "block_device", "character_device", "directory",
	"regular_file", "socket_dgram", "socket_stream", "symbolic_link",
};

/* numbered formats prefix followed by n into a static buffer. */
static const char *numbered(char *buf, size_t cap, const char *prefix, unsigned n) {
	size_t p = strlen(prefix);
	char d[10];
	size_t i = sizeof d;
	do {
		d[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n > 0);
	if (p + (sizeof d - i) + 1 > cap)
		return prefix;
	memcpy(buf, prefix, p);
	memcpy(buf + p, d + i, sizeof d - i);
	buf[p + sizeof d - i] = 0;
	return buf;
}

const char *errno_name(unsigned err) {
	static char buf[16];
	if (err < sizeof errnos / sizeof *errnos)
		return errnos[err];
	return numbered(buf, sizeof buf, "E", err);
}

const char *libc_errno_name(unsigned err) {
	static char name[24] = "E";
	if (err == 0 || err > __WASI_ERRNO_NOTCAPABLE)
		return errno_name(err);
	strncpy(name + 1, errno_name(err), sizeof name - 2);
	return name;
}

const char *filetype_name(unsigned type) {
	static char buf[24];
	if (type < sizeof filetypes / sizeof *filetypes)
		return filetypes[type];
	return numbered(buf, sizeof buf, "filetype_", type);
}

/* ---- helpers for handlers -------------------------------------------- */

__wasi_errno_t sleep_ms(uint32_t ms) {
	__wasi_subscription_t sub = {
		.userdata = 1,
		.u = {.tag = __WASI_EVENTTYPE_CLOCK,
		      .u = {.clock = {.id = __WASI_CLOCKID_MONOTONIC,
		                      .timeout = (uint64_t)ms * 1000000}}},
	};
	__wasi_event_t ev;
	__wasi_size_t n;
	return __wasi_poll_oneoff(&sub, &ev, 1, &n);
}

/* ---- <dir> / <fd> resolution ----------------------------------------- */

typedef struct {
	__wasi_fd_t fd;
	uint8_t *name;
	size_t len;
} preopen_t;

static preopen_t preopens[MAX_SCAN];
static size_t npreopens;

/* scan_preopens lists the preopens once, as wasi-libc does: fd 3 upwards
 * until the first fd_prestat_get error. */
static void scan_preopens(void) {
	static int done;
	if (done)
		return;
	done = 1;
	for (__wasi_fd_t fd = 3; fd < 3 + MAX_SCAN; fd++) {
		__wasi_prestat_t ps;
		if (__wasi_fd_prestat_get(fd, &ps) != __WASI_ERRNO_SUCCESS)
			break;
		if (ps.tag != __WASI_PREOPENTYPE_DIR)
			continue;
		size_t len = ps.u.dir.pr_name_len;
		uint8_t *name = malloc(len + 1);
		if (!name || __wasi_fd_prestat_dir_name(fd, name, len) != __WASI_ERRNO_SUCCESS) {
			free(name);
			continue;
		}
		/* Some runtimes count a trailing NUL in the name; match without it. */
		while (len > 0 && name[len - 1] == 0)
			len--;
		preopens[npreopens++] = (preopen_t){fd, name, len};
	}
}

/* parse_u64 parses a non-empty decimal number. */
static int parse_u64(const char *s, uint64_t *v) {
	if (!*s)
		return 0;
	*v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || *v > (UINT64_MAX - 9) / 10)
			return 0;
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	return 1;
}

/* canon trims a preopen name to the part that names the directory, the way
 * wasi-libc compares them: leading "./" and "/" and trailing "/" go, so a
 * runtime that reports "sandbox" or "./sandbox/" for a grant configured as
 * "/sandbox" is still found (preopen.discovery reports the odd name). */
static void canon(const uint8_t *s, size_t len, const uint8_t **out, size_t *outlen) {
	for (;;) {
		if (len >= 2 && s[0] == '.' && s[1] == '/') {
			s += 2, len -= 2;
		} else if (len >= 1 && s[0] == '/') {
			s++, len--;
		} else {
			break;
		}
	}
	while (len > 0 && s[len - 1] == '/')
		len--;
	*out = s, *outlen = len;
}

static struct {
	const char *name;
	__wasi_fd_t fd;
} aliases[MAX_ALIASES];
static size_t naliases;

void alias_add(const char *name, __wasi_fd_t fd) {
	for (size_t i = 0; i < naliases; i++) {
		if (strcmp(aliases[i].name, name) == 0) {
			aliases[i].fd = fd;
			return;
		}
	}
	if (naliases < MAX_ALIASES)
		aliases[naliases++].name = name, aliases[naliases - 1].fd = fd;
}

/* resolve turns a <dir>/<fd> argument into an fd: "fd:N", else a name
 * given by alias_add, else a preopen's name (exactly, else after canon),
 * else a bare decimal N. */
static int resolve(arg_t *a) {
	uint64_t n;
	if (strncmp(a->str, "fd:", 3) == 0 && parse_u64(a->str + 3, &n) && n <= UINT32_MAX) {
		a->fd = (__wasi_fd_t)n;
		return 1;
	}
	for (size_t i = 0; i < naliases; i++) {
		if (strcmp(aliases[i].name, a->str) == 0) {
			a->fd = aliases[i].fd;
			return 1;
		}
	}
	scan_preopens();
	size_t len = strlen(a->str);
	for (size_t i = 0; i < npreopens; i++) {
		if (preopens[i].len == len && memcmp(preopens[i].name, a->str, len) == 0) {
			a->fd = preopens[i].fd;
			return 1;
		}
	}
	const uint8_t *want, *have;
	size_t wantlen, havelen;
	canon((const uint8_t *)a->str, len, &want, &wantlen);
	for (size_t i = 0; i < npreopens; i++) {
		canon(preopens[i].name, preopens[i].len, &have, &havelen);
		if (havelen == wantlen && memcmp(have, want, wantlen) == 0) {
			a->fd = preopens[i].fd;
			return 1;
		}
	}
	if (parse_u64(a->str, &n) && n <= UINT32_MAX) {
		a->fd = (__wasi_fd_t)n;
		return 1;
	}
	return 0;
}

/* ---- command line ---------------------------------------------------- */

static const op_t *find_op(const char *name) {
	for (size_t i = 0; i < probe_nops; i++)
		if (strcmp(probe_ops[i].name, name) == 0)
			return &probe_ops[i];
	return NULL;
}

/* parse_arg checks one argument's syntax; dirs are resolved when run. */
static int parse_arg(char kind, arg_t *a) {
	const char *s = a->str;
	switch (kind) {
	case ARG_FOLLOW:
		if (strcmp(s, "follow") == 0)
			a->num = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;
		else if (strcmp(s, "nofollow") == 0)
			a->num = 0;
		else
			return 0;
		return 1;
	case ARG_ACCESS:
		if (strcmp(s, "r") == 0)
			a->num = __WASI_RIGHTS_FD_READ;
		else if (strcmp(s, "w") == 0)
			a->num = __WASI_RIGHTS_FD_WRITE;
		else if (strcmp(s, "rw") == 0)
			a->num = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE;
		else if (strcmp(s, "none") == 0)
			a->num = 0;
		else
			return 0;
		return 1;
	case ARG_OFLAGS:
		return parse_u64(s, &a->num) && a->num <= UINT16_MAX;
	case ARG_COUNT:
		return parse_u64(s, &a->num) && a->num <= UINT32_MAX;
	case ARG_ACT:
		return strcmp(s, "read") == 0 || strcmp(s, "write") == 0 || strcmp(s, "none") == 0;
	case ARG_DIR:
	case ARG_FD:
		return strncmp(s, "fd:", 3) != 0 || (parse_u64(s + 3, &a->num) && a->num <= UINT32_MAX);
	default:
		return 1;
	}
}

static const char *kind_name(char kind) {
	switch (kind) {
	case ARG_DIR: return "dir";
	case ARG_FD: return "fd";
	case ARG_FOLLOW: return "follow|nofollow";
	case ARG_OFLAGS: return "oflags";
	case ARG_ACCESS: return "r|w|rw|none";
	case ARG_COUNT: return "count";
	case ARG_ACT: return "read|write|none";
	case ARG_REST: return "[data...]";
	default: return "string";
	}
}

/* usage prints the one usage record, whose data is the message. */
static void usage(const char *check, const char *msg) {
	step_t s = {.check = check, .op = "usage"};
	emit(&s, &(rec_t){.err = __WASI_ERRNO_INVAL, .has = HAS_DATA, .data = msg, .len = strlen(msg)});
}

/* cat appends src to the NUL-terminated dst of capacity cap, truncating. */
static void cat(char *dst, size_t cap, const char *src) {
	size_t n = strlen(dst);
	if (n + 1 < cap)
		strncat(dst, src, cap - n - 1);
}

/* parse_step parses the step at argv[*i] and advances *i past it; on a
 * usage error it prints the usage record and returns 0. */
static int parse_step(int argc, char **argv, int *i, const op_t **op, step_t *s) {
	char msg[256] = "";
	*s = (step_t){.check = "", .op = argv[*i]};
	*op = find_op(argv[*i]);
	if (!*op) {
		cat(msg, sizeof msg, "unknown op: ");
		cat(msg, sizeof msg, argv[*i]);
		usage("", msg);
		return 0;
	}
	const char *sig = (*op)->sig;
	size_t n = strlen(sig);
	int rest = n > 0 && sig[n - 1] == ARG_REST;
	n -= (size_t)rest;
	if (*i + 1 < argc)
		s->check = argv[*i + 1];
	if ((size_t)(argc - *i - 1) < n + 1) {
		cat(msg, sizeof msg, "usage: ");
		cat(msg, sizeof msg, (*op)->name);
		cat(msg, sizeof msg, " check");
		for (size_t k = 0; sig[k]; k++) {
			cat(msg, sizeof msg, " ");
			cat(msg, sizeof msg, kind_name(sig[k]));
		}
		usage(s->check, msg);
		return 0;
	}
	for (size_t k = 0; k < n; k++) {
		s->arg[k].str = argv[*i + 2 + k];
		if (!parse_arg(sig[k], &s->arg[k])) {
			cat(msg, sizeof msg, (*op)->name);
			cat(msg, sizeof msg, ": not a valid ");
			cat(msg, sizeof msg, kind_name(sig[k]));
			cat(msg, sizeof msg, ": ");
			cat(msg, sizeof msg, s->arg[k].str);
			usage(s->check, msg);
			return 0;
		}
	}
	*i = rest ? argc : *i + 2 + (int)n;
	return 1;
}

static void run_step(const op_t *op, step_t *s) {
	for (size_t k = 0; op->sig[k]; k++) {
		if ((op->sig[k] == ARG_DIR || op->sig[k] == ARG_FD) && !resolve(&s->arg[k])) {
			const char *name = s->arg[k].str;
			emit(s, &(rec_t){.call = "resolve", .err = __WASI_ERRNO_NOENT, .errname = "NOPREOPEN",
			                 .has = HAS_DATA, .data = name, .len = strlen(name)});
			return;
		}
	}
	op->run(s);
}

int main(int argc, char **argv) {
	const op_t *op;
	step_t s;
	/* Check every step before running any. */
	for (int i = 1; i < argc;)
		if (!parse_step(argc, argv, &i, &op, &s))
			return 2;
	for (int i = 1; i < argc;) {
		parse_step(argc, argv, &i, &op, &s);
		run_step(op, &s);
	}
	return 0;
}
