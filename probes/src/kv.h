/*
 * kv.h: a record's data as "key=value key=value" text, for the clock and
 * res probes, whose records carry several numbers (see ../PROTOCOL.md).
 */
#ifndef KV_H
#define KV_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	char buf[512];
	size_t len;
} kv_t;

/* kv_num appends "key=<decimal v>", space-separated. */
void kv_num(kv_t *k, const char *key, uint64_t v);

/* kv_str appends "key=<s>". */
void kv_str(kv_t *k, const char *key, const char *s);

/* parse_dec parses a non-empty decimal u64; 0 on a syntax error. */
int parse_dec(const char *s, uint64_t *v);

/* mono_now reads the monotonic clock (0 when it fails). */
uint64_t mono_now(void);

#endif
