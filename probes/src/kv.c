/* kv.c: see kv.h. */
#include "kv.h"

#include <string.h>
#include <wasi/api.h>

static void kv_put(kv_t *k, const char *s, size_t n) {
	if (k->len + n >= sizeof k->buf)
		n = sizeof k->buf - 1 - k->len;
	memcpy(k->buf + k->len, s, n);
	k->len += n;
	k->buf[k->len] = 0;
}

static void kv_key(kv_t *k, const char *key) {
	if (k->len > 0)
		kv_put(k, " ", 1);
	kv_put(k, key, strlen(key));
	kv_put(k, "=", 1);
}

void kv_num(kv_t *k, const char *key, uint64_t v) {
	char d[20];
	size_t i = sizeof d;
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	kv_key(k, key);
	kv_put(k, d + i, sizeof d - i);
}

void kv_str(kv_t *k, const char *key, const char *s) {
	kv_key(k, key);
	kv_put(k, s, strlen(s));
}

int parse_dec(const char *s, uint64_t *v) {
	if (!*s)
		return 0;
	*v = 0;
	for (; *s; s++) {
		uint64_t d = (uint64_t)(*s - '0');
		if (*s < '0' || *s > '9' || *v > (UINT64_MAX - d) / 10)
			return 0;
		*v = *v * 10 + d;
	}
	return 1;
}

uint64_t mono_now(void) {
	__wasi_timestamp_t t = 0;
	if (__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t) != __WASI_ERRNO_SUCCESS)
		return 0;
	return t;
}
