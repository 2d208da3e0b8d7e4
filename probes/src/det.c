/*
 * det.c: the determinism probe (det.wasm). Each op computes a fixed list of
 * WebAssembly instructions on fixed inputs and prints one record per result:
 * call = the instruction and its inputs, data = the exact result as a typed
 * bit pattern ("f32:7fc00000", "f64:...", "i32:...", "i64:...": the prefix,
 * then fixed-width lowercase hex). See ../PROTOCOL.md, section det.wasm ops.
 *
 * Every input is read from a volatile global, so nothing is constant-folded
 * and the runtime executes the instruction itself; results leave through
 * noinline functions taking an f32/f64/i32/i64 parameter, so a float result
 * crosses a call and an i32.reinterpret_f32 (or i64.reinterpret_f64) before
 * it is printed. Contraction is off: a * b + c stays a multiply and an add.
 */
#pragma STDC FP_CONTRACT OFF

#include "probe.h"

#include <string.h>

/* ---- inputs (volatile: never folded) ---------------------------------- */

static volatile uint32_t in32[] = {
	0x7fc00000, /* 0: canonical NaN */
	0x7fc12345, /* 1: quiet NaN, non-canonical payload */
	0x7f812345, /* 2: signalling NaN */
	0xffc12345, /* 3: negative quiet NaN, non-canonical payload */
	0xff812345, /* 4: negative signalling NaN */
	0xffc00000, /* 5: negative canonical NaN */
};
static volatile uint64_t in64[] = {
	0x7ff8000000000000, /* 0: canonical NaN */
	0x7ff8000000012345, /* 1: quiet NaN, non-canonical payload */
	0x7ff0000000012345, /* 2: signalling NaN */
	0xfff8000000012345, /* 3 */
	0xfff0000000012345, /* 4 */
	0xfff8000000000000, /* 5 */
};
static volatile float vf0 = 0.0f, vf1 = 1.0f, vfm1 = -1.0f, vfinf = __builtin_inff();
static volatile double vd0 = 0.0, vd1 = 1.0, vdm1 = -1.0, vdinf = __builtin_inf();
static volatile int32_t vi32[] = {INT32_MIN, -1, 0, 1, 2, 7, -7, 33, 100, 32, -2};
static volatile int64_t vi64[] = {INT64_MIN, -1, 0, 1, 65, 132, 64};
static volatile uint32_t vpat32 = 0x12345678, vbig32 = 0x01020304;
static volatile uint64_t vpat64 = 0x0123456789abcdefULL, vbig64 = 0x0102030405060708ULL;

/* Reading a float input's bits into a float is an f32.reinterpret_i32 here
 * (the value is passed as an f32 to a noinline function). */
static float f32_of(uint32_t b) {
	float f;
	memcpy(&f, &b, sizeof f);
	return f;
}
static double f64_of(uint64_t b) {
	double d;
	memcpy(&d, &b, sizeof d);
	return d;
}
static volatile float vf;
static volatile double vd;
/* vflt / vdbl load a float constant through a volatile. */
static float vflt(float f) { vf = f; return vf; }
static double vdbl(double d) { vd = d; return vd; }

/* ---- output ---------------------------------------------------------- */

static const step_t *cur;

static void hex(char *dst, const char *prefix, uint64_t v, int digits) {
	static const char h[] = "0123456789abcdef";
	size_t p = strlen(prefix);
	memcpy(dst, prefix, p);
	for (int i = 0; i < digits; i++)
		dst[p + (size_t)i] = h[(v >> (4 * (digits - 1 - i))) & 15];
	dst[p + (size_t)digits] = 0;
}

static void put(const char *call, const char *prefix, uint64_t v, int digits) {
	char buf[24];
	hex(buf, prefix, v, digits);
	emit(cur, &(rec_t){.call = call, .has = HAS_DATA, .data = buf, .len = strlen(buf)});
}

__attribute__((noinline)) static void rf32(const char *call, float f) {
	uint32_t b;
	memcpy(&b, &f, sizeof b);
	put(call, "f32:", b, 8);
}
__attribute__((noinline)) static void rf64(const char *call, double d) {
	uint64_t b;
	memcpy(&b, &d, sizeof b);
	put(call, "f64:", b, 16);
}
__attribute__((noinline)) static void ri32(const char *call, uint32_t v) { put(call, "i32:", v, 8); }
__attribute__((noinline)) static void ri64(const char *call, uint64_t v) { put(call, "i64:", v, 16); }

/* ---- nan: NaN-producing and NaN-propagating arithmetic ---------------- */

/* nan: check. Canonical and non-NaN inputs must give a canonical NaN (either
 * sign); a non-canonical NaN input an arithmetic NaN (quiet bit set). */
static void op_nan(const step_t *s) {
	cur = s;
	float cn = f32_of(in32[0]), qn = f32_of(in32[1]), sn = f32_of(in32[2]);
	rf32("f32.div(0,0)", vf0 / vf0);
	rf32("f32.sqrt(-1)", __builtin_sqrtf(vfm1));
	rf32("f32.sub(inf,inf)", vfinf - vfinf);
	rf32("f32.add(inf,-inf)", vfinf + -vfinf);
	rf32("f32.mul(0,inf)", vf0 * vfinf);
	rf32("f32.add(nan,1)", cn + vf1);
	rf32("f32.min(nan,1)", __builtin_wasm_min_f32(cn, vf1));
	rf32("f32.max(1,nan)", __builtin_wasm_max_f32(vf1, cn));
	rf32("f32.ceil(nan)", __builtin_ceilf(cn));
	rf32("f32.nearest(nan)", __builtin_rintf(cn));
	rf32("f32.demote_f64(nan)", (float)f64_of(in64[0]));
	rf32("f32.add(nan:0x412345,1)", qn + vf1);
	rf32("f32.add(snan:0x012345,1)", sn + vf1);
	rf32("f32.mul(1,snan:0x012345)", vf1 * sn);
	rf32("f32.min(snan:0x012345,1)", __builtin_wasm_min_f32(sn, vf1));
	rf32("f32.max(1,nan:0x412345)", __builtin_wasm_max_f32(vf1, qn));
	rf32("f32.sqrt(snan:0x012345)", __builtin_sqrtf(sn));
	rf32("f32.demote_f64(nan:0x8000000012345)", (float)f64_of(in64[1]));

	double cd = f64_of(in64[0]), qd = f64_of(in64[1]), sd = f64_of(in64[2]);
	rf64("f64.div(0,0)", vd0 / vd0);
	rf64("f64.sqrt(-1)", __builtin_sqrt(vdm1));
	rf64("f64.sub(inf,inf)", vdinf - vdinf);
	rf64("f64.add(inf,-inf)", vdinf + -vdinf);
	rf64("f64.mul(0,inf)", vd0 * vdinf);
	rf64("f64.add(nan,1)", cd + vd1);
	rf64("f64.min(nan,1)", __builtin_wasm_min_f64(cd, vd1));
	rf64("f64.max(1,nan)", __builtin_wasm_max_f64(vd1, cd));
	rf64("f64.floor(nan)", __builtin_floor(cd));
	rf64("f64.trunc(nan)", __builtin_trunc(cd));
	rf64("f64.promote_f32(nan)", (double)f32_of(in32[0]));
	rf64("f64.add(nan:0x8000000012345,1)", qd + vd1);
	rf64("f64.add(snan:0x12345,1)", sd + vd1);
	rf64("f64.mul(1,snan:0x12345)", vd1 * sd);
	rf64("f64.min(snan:0x12345,1)", __builtin_wasm_min_f64(sd, vd1));
	rf64("f64.max(1,nan:0x8000000012345)", __builtin_wasm_max_f64(vd1, qd));
	rf64("f64.sqrt(snan:0x12345)", __builtin_sqrt(sd));
	rf64("f64.promote_f32(nan:0x412345)", (double)f32_of(in32[1]));
}

/* ---- nan-bits: the operations the spec makes exact on NaN ------------- */

/* nan-bits: check. neg, abs, copysign and the reinterprets touch the sign
 * bit only (or nothing): the payload, signalling bit included, must stay. */
static void op_nan_bits(const step_t *s) {
	cur = s;
	rf32("f32.neg(nan:0x412345)", -f32_of(in32[1]));
	rf32("f32.neg(snan:0x012345)", -f32_of(in32[2]));
	rf32("f32.neg(-nan)", -f32_of(in32[5]));
	rf32("f32.abs(-nan:0x412345)", __builtin_fabsf(f32_of(in32[3])));
	rf32("f32.abs(-snan:0x012345)", __builtin_fabsf(f32_of(in32[4])));
	rf32("f32.copysign(snan:0x012345,-1)", __builtin_copysignf(f32_of(in32[2]), vfm1));
	rf32("f32.copysign(-nan:0x412345,1)", __builtin_copysignf(f32_of(in32[3]), vf1));
	rf32("f32.copysign(1,-nan)", __builtin_copysignf(vf1, f32_of(in32[5])));
	rf32("f32.reinterpret_i32(snan:0x012345)", f32_of(in32[2]));
	ri32("i32.reinterpret_f32(-snan:0x012345)", (uint32_t)__builtin_bit_cast(uint32_t, f32_of(in32[4])));

	rf64("f64.neg(nan:0x8000000012345)", -f64_of(in64[1]));
	rf64("f64.neg(snan:0x12345)", -f64_of(in64[2]));
	rf64("f64.neg(-nan)", -f64_of(in64[5]));
	rf64("f64.abs(-nan:0x8000000012345)", __builtin_fabs(f64_of(in64[3])));
	rf64("f64.abs(-snan:0x12345)", __builtin_fabs(f64_of(in64[4])));
	rf64("f64.copysign(snan:0x12345,-1)", __builtin_copysign(f64_of(in64[2]), vdm1));
	rf64("f64.copysign(-nan:0x8000000012345,1)", __builtin_copysign(f64_of(in64[3]), vd1));
	rf64("f64.copysign(1,-nan)", __builtin_copysign(vd1, f64_of(in64[5])));
	rf64("f64.reinterpret_i64(snan:0x12345)", f64_of(in64[2]));
	ri64("i64.reinterpret_f64(-snan:0x12345)", (uint64_t)__builtin_bit_cast(uint64_t, f64_of(in64[4])));
}

/* ---- float: rounding and conversions --------------------------------- */

#define SAT_S32_F32 __builtin_wasm_trunc_saturate_s_i32_f32
#define SAT_U32_F32 __builtin_wasm_trunc_saturate_u_i32_f32
#define SAT_S32_F64 __builtin_wasm_trunc_saturate_s_i32_f64
#define SAT_U32_F64 __builtin_wasm_trunc_saturate_u_i32_f64
#define SAT_S64_F32 __builtin_wasm_trunc_saturate_s_i64_f32
#define SAT_U64_F32 __builtin_wasm_trunc_saturate_u_i64_f32
#define SAT_S64_F64 __builtin_wasm_trunc_saturate_s_i64_f64
#define SAT_U64_F64 __builtin_wasm_trunc_saturate_u_i64_f64

__attribute__((target("nontrapping-fptoint"))) static void trunc_sat(void) {
	float fn = f32_of(in32[0]), fi = vfinf;
	double dn = f64_of(in64[0]), di = vdinf;
	ri32("i32.trunc_sat_f32_s(nan)", (uint32_t)SAT_S32_F32(fn));
	ri32("i32.trunc_sat_f32_s(inf)", (uint32_t)SAT_S32_F32(fi));
	ri32("i32.trunc_sat_f32_s(-inf)", (uint32_t)SAT_S32_F32(-fi));
	ri32("i32.trunc_sat_f32_s(3e9)", (uint32_t)SAT_S32_F32(vflt(3e9f)));
	ri32("i32.trunc_sat_f32_s(-3e9)", (uint32_t)SAT_S32_F32(vflt(-3e9f)));
	ri32("i32.trunc_sat_f32_s(2147483520)", (uint32_t)SAT_S32_F32(vflt(2147483520.0f)));
	ri32("i32.trunc_sat_f32_s(-1.9)", (uint32_t)SAT_S32_F32(vflt(-1.9f)));
	ri32("i32.trunc_sat_f32_u(nan)", (uint32_t)SAT_U32_F32(fn));
	ri32("i32.trunc_sat_f32_u(inf)", (uint32_t)SAT_U32_F32(fi));
	ri32("i32.trunc_sat_f32_u(-inf)", (uint32_t)SAT_U32_F32(-fi));
	ri32("i32.trunc_sat_f32_u(-1.5)", (uint32_t)SAT_U32_F32(vflt(-1.5f)));
	ri32("i32.trunc_sat_f32_u(5e9)", (uint32_t)SAT_U32_F32(vflt(5e9f)));
	ri32("i32.trunc_sat_f32_u(4294967040)", (uint32_t)SAT_U32_F32(vflt(4294967040.0f)));
	ri32("i32.trunc_sat_f64_s(nan)", (uint32_t)SAT_S32_F64(dn));
	ri32("i32.trunc_sat_f64_s(2147483647.9)", (uint32_t)SAT_S32_F64(vdbl(2147483647.9)));
	ri32("i32.trunc_sat_f64_s(2147483648)", (uint32_t)SAT_S32_F64(vdbl(2147483648.0)));
	ri32("i32.trunc_sat_f64_s(-2147483648.9)", (uint32_t)SAT_S32_F64(vdbl(-2147483648.9)));
	ri32("i32.trunc_sat_f64_s(-2147483649)", (uint32_t)SAT_S32_F64(vdbl(-2147483649.0)));
	ri32("i32.trunc_sat_f64_u(nan)", (uint32_t)SAT_U32_F64(dn));
	ri32("i32.trunc_sat_f64_u(-0.9)", (uint32_t)SAT_U32_F64(vdbl(-0.9)));
	ri32("i32.trunc_sat_f64_u(4294967295.9)", (uint32_t)SAT_U32_F64(vdbl(4294967295.9)));
	ri32("i32.trunc_sat_f64_u(4294967296)", (uint32_t)SAT_U32_F64(vdbl(4294967296.0)));
	ri32("i32.trunc_sat_f64_u(-inf)", (uint32_t)SAT_U32_F64(-di));
	ri64("i64.trunc_sat_f32_s(nan)", (uint64_t)SAT_S64_F32(fn));
	ri64("i64.trunc_sat_f32_s(inf)", (uint64_t)SAT_S64_F32(fi));
	ri64("i64.trunc_sat_f32_s(-inf)", (uint64_t)SAT_S64_F32(-fi));
	ri64("i64.trunc_sat_f32_s(9.3e18)", (uint64_t)SAT_S64_F32(vflt(9.3e18f)));
	ri64("i64.trunc_sat_f32_s(-2^63)", (uint64_t)SAT_S64_F32(vflt(-9223372036854775808.0f)));
	ri64("i64.trunc_sat_f32_u(nan)", (uint64_t)SAT_U64_F32(fn));
	ri64("i64.trunc_sat_f32_u(-inf)", (uint64_t)SAT_U64_F32(-fi));
	ri64("i64.trunc_sat_f32_u(2^64)", (uint64_t)SAT_U64_F32(vflt(18446744073709551616.0f)));
	ri64("i64.trunc_sat_f64_s(nan)", (uint64_t)SAT_S64_F64(dn));
	ri64("i64.trunc_sat_f64_s(9223372036854774784)", (uint64_t)SAT_S64_F64(vdbl(9223372036854774784.0)));
	ri64("i64.trunc_sat_f64_s(2^63)", (uint64_t)SAT_S64_F64(vdbl(9223372036854775808.0)));
	ri64("i64.trunc_sat_f64_s(-2^63)", (uint64_t)SAT_S64_F64(vdbl(-9223372036854775808.0)));
	ri64("i64.trunc_sat_f64_s(-9223372036854777856)", (uint64_t)SAT_S64_F64(vdbl(-9223372036854777856.0)));
	ri64("i64.trunc_sat_f64_s(-inf)", (uint64_t)SAT_S64_F64(-di));
	ri64("i64.trunc_sat_f64_u(nan)", (uint64_t)SAT_U64_F64(dn));
	ri64("i64.trunc_sat_f64_u(-1)", (uint64_t)SAT_U64_F64(vdm1));
	ri64("i64.trunc_sat_f64_u(18446744073709549568)", (uint64_t)SAT_U64_F64(vdbl(18446744073709549568.0)));
	ri64("i64.trunc_sat_f64_u(2^64)", (uint64_t)SAT_U64_F64(vdbl(18446744073709551616.0)));
	ri64("i64.trunc_sat_f64_u(inf)", (uint64_t)SAT_U64_F64(di));
}

/* op_float: check. */
static void op_float(const step_t *s) {
	cur = s;
	trunc_sat();
	/* Trapping truncations at the edges of their range: in range, no trap. */
	ri32("i32.trunc_f32_s(-2147483648)", (uint32_t)__builtin_wasm_trunc_s_i32_f32(vflt(-2147483648.0f)));
	ri32("i32.trunc_f64_s(-2147483648.9)", (uint32_t)__builtin_wasm_trunc_s_i32_f64(vdbl(-2147483648.9)));
	ri32("i32.trunc_f64_s(2147483647.9)", (uint32_t)__builtin_wasm_trunc_s_i32_f64(vdbl(2147483647.9)));
	ri32("i32.trunc_f64_u(-0.9)", __builtin_wasm_trunc_u_i32_f64(vdbl(-0.9)));
	ri32("i32.trunc_f64_u(4294967295.9)", __builtin_wasm_trunc_u_i32_f64(vdbl(4294967295.9)));
	ri64("i64.trunc_f64_u(18446744073709549568)", __builtin_wasm_trunc_u_i64_f64(vdbl(18446744073709549568.0)));

	/* nearest rounds ties to even; -0.5 gives -0. */
	rf32("f32.nearest(0.5)", __builtin_rintf(vflt(0.5f)));
	rf32("f32.nearest(1.5)", __builtin_rintf(vflt(1.5f)));
	rf32("f32.nearest(2.5)", __builtin_rintf(vflt(2.5f)));
	rf32("f32.nearest(-0.5)", __builtin_rintf(vflt(-0.5f)));
	rf32("f32.nearest(-1.5)", __builtin_rintf(vflt(-1.5f)));
	rf32("f32.nearest(8388609)", __builtin_rintf(vflt(8388609.0f)));
	rf64("f64.nearest(0.5)", __builtin_rint(vdbl(0.5)));
	rf64("f64.nearest(2.5)", __builtin_rint(vdbl(2.5)));
	rf64("f64.nearest(-0.5)", __builtin_rint(vdbl(-0.5)));
	rf64("f64.nearest(-2.5)", __builtin_rint(vdbl(-2.5)));
	rf64("f64.nearest(4503599627370497)", __builtin_rint(vdbl(4503599627370497.0)));
	rf32("f32.ceil(-0.5)", __builtin_ceilf(vflt(-0.5f)));
	rf32("f32.floor(-0.5)", __builtin_floorf(vflt(-0.5f)));
	rf32("f32.trunc(-0.5)", __builtin_truncf(vflt(-0.5f)));
	rf32("f32.floor(-0)", __builtin_floorf(vflt(-0.0f)));
	rf64("f64.ceil(-0.5)", __builtin_ceil(vdbl(-0.5)));
	rf64("f64.floor(-0.5)", __builtin_floor(vdbl(-0.5)));
	rf64("f64.trunc(-0.5)", __builtin_trunc(vdbl(-0.5)));
	rf64("f64.ceil(-0)", __builtin_ceil(vdbl(-0.0)));

	rf32("f32.copysign(1,-0)", __builtin_copysignf(vf1, vflt(-0.0f)));
	rf32("f32.copysign(-2,0)", __builtin_copysignf(vflt(-2.0f), vf0));
	rf64("f64.copysign(1,-0)", __builtin_copysign(vd1, vdbl(-0.0)));
	rf64("f64.copysign(-inf,1)", __builtin_copysign(-vdinf, vd1));

	/* demote rounds to nearest, ties to even; overflow gives inf. */
	rf32("f32.demote_f64(0.1)", (float)vdbl(0.1));
	rf32("f32.demote_f64(1+2^-24)", (float)f64_of(0x3ff0000010000000ULL + (uint64_t)vi32[2]));
	rf32("f32.demote_f64(1+3*2^-24)", (float)f64_of(0x3ff0000030000000ULL + (uint64_t)vi32[2]));
	rf32("f32.demote_f64(3.5e38)", (float)vdbl(3.5e38));
	rf32("f32.demote_f64(-1e300)", (float)vdbl(-1e300));
	rf32("f32.demote_f64(1e-40)", (float)vdbl(1e-40));
	rf32("f32.demote_f64(2^-150)", (float)vdbl(0x1p-150));
	rf32("f32.demote_f64(3*2^-150)", (float)vdbl(0x3p-150));
	rf32("f32.demote_f64(-1e-50)", (float)vdbl(-1e-50));
	rf64("f64.promote_f32(0x3dcccccd)", (double)f32_of(0x3dcccccd + (uint32_t)vi32[2]));
	rf64("f64.promote_f32(0x00000001)", (double)f32_of(0x00000001 + (uint32_t)vi32[2]));
	rf64("f64.promote_f32(-0)", (double)vflt(-0.0f));
	rf64("f64.promote_f32(-inf)", (double)-vfinf);

	/* Integer to float: one rounding, ties to even (never via f64). */
	rf32("f32.convert_i64_s(2^53+1)", (float)(vi64[3] + 9007199254740992LL));
	rf32("f32.convert_i64_s(2^53+2^29+1)", (float)(vi64[3] + 9007199791611904LL));
	rf32("f32.convert_i64_s(16777217)", (float)(vi64[3] + 16777216LL));
	rf32("f32.convert_i64_s(16777219)", (float)(vi64[3] + 16777218LL));
	rf32("f32.convert_i64_s(2^63-1)", (float)(vi64[3] + 9223372036854775806LL));
	rf32("f32.convert_i64_s(-2^63)", (float)vi64[0]);
	rf32("f32.convert_i64_u(2^64-1)", (float)(uint64_t)vi64[1]);
	rf32("f32.convert_i64_u(2^63+2^39+1)", (float)((uint64_t)vi64[3] + 0x8000008000000000ULL));
	rf32("f32.convert_i32_u(2^32-1)", (float)(uint32_t)vi32[1]);
	rf32("f32.convert_i32_s(2^31-1)", (float)(vi32[3] + 2147483646));
	rf64("f64.convert_i64_s(2^53+1)", (double)(vi64[3] + 9007199254740992LL));
	rf64("f64.convert_i64_u(2^64-1)", (double)(uint64_t)vi64[1]);
	rf64("f64.convert_i64_u(2^63+1025)", (double)((uint64_t)vi64[3] + 0x8000000000000400ULL));
	rf64("f64.convert_i32_u(2^32-1)", (double)(uint32_t)vi32[1]);

	/* Multiply then add, two roundings (a fused multiply-add, or f32
	 * arithmetic done in f64, gives the low bits instead of 0). */
	{
		float a = vflt(1.0f + 0x1p-12f), c = vflt(1.0f + 0x1p-11f);
		float p = a * a;
		rf32("f32.add(f32.mul(1+2^-12,1+2^-12),-(1+2^-11))", p - c);
		double x = vdbl(1.0 + 0x1p-27), z = vdbl(1.0 + 0x1p-26);
		double q = x * x;
		rf64("f64.add(f64.mul(1+2^-27,1+2^-27),-(1+2^-26))", q - z);
		rf32("f32.add(16777216,1)", vflt(16777216.0f) + vf1);
		rf32("f32.add(0.1,0.2)", vflt(0.1f) + vflt(0.2f));
		rf64("f64.add(0.1,0.2)", vdbl(0.1) + vdbl(0.2));
		rf32("f32.div(1,3)", vf1 / vflt(3.0f));
		rf64("f64.div(1,3)", vd1 / vdbl(3.0));
		rf32("f32.mul(1e-30,1e-30)", vflt(1e-30f) * vflt(1e-30f));
		rf32("f32.mul(1e30,1e30)", vflt(1e30f) * vflt(1e30f));
		rf64("f64.sqrt(2)", __builtin_sqrt(vdbl(2.0)));
		rf32("f32.sqrt(2)", __builtin_sqrtf(vflt(2.0f)));
	}
}

/* ---- int: division, remainder, shifts, rotates ----------------------- */

/* op_int: check. */
static void op_int(const step_t *s) {
	cur = s;
	int32_t mn = vi32[0], m1 = vi32[1], two = vi32[4], seven = vi32[5], mseven = vi32[6];
	int32_t c33 = vi32[7], c100 = vi32[8], c32 = vi32[9];
	uint32_t one = (uint32_t)vi32[3], hi = (uint32_t)vi32[0];
	ri32("i32.div_s(-7,2)", (uint32_t)(mseven / two));
	ri32("i32.rem_s(-7,2)", (uint32_t)(mseven % two));
	ri32("i32.rem_s(7,-2)", (uint32_t)(seven % vi32[10]));
	ri32("i32.div_u(-7,2)", (uint32_t)mseven / (uint32_t)two);
	ri32("i32.rem_u(-7,2)", (uint32_t)mseven % (uint32_t)two);
	ri32("i32.rem_s(INT32_MIN,-1)", (uint32_t)(mn % m1));
	ri32("i32.div_u(INT32_MIN,-1)", (uint32_t)mn / (uint32_t)m1);
	ri32("i32.div_s(INT32_MIN,1)", (uint32_t)(mn / (int32_t)one));
	ri32("i32.mul(0x7fffffff,2)", (uint32_t)(mn - 1) * (uint32_t)two);
	ri32("i32.shl(1,33)", one << (c33 & 31));
	ri32("i32.shl(1,32)", one << (c32 & 31));
	ri32("i32.shl(1,-1)", one << (m1 & 31));
	ri32("i32.shr_s(INT32_MIN,33)", (uint32_t)(mn >> (c33 & 31)));
	ri32("i32.shr_u(INT32_MIN,33)", hi >> (c33 & 31));
	ri32("i32.rotl(0x12345678,100)", __builtin_rotateleft32(vpat32, (uint32_t)c100));
	ri32("i32.rotr(0x12345678,100)", __builtin_rotateright32(vpat32, (uint32_t)c100));
	ri32("i32.rotl(0x12345678,-1)", __builtin_rotateleft32(vpat32, (uint32_t)m1));
	ri32("i32.clz(0)", (uint32_t)__builtin_clz(one - 1) );
	ri32("i32.ctz(0)", (uint32_t)__builtin_ctz(one - 1));
	ri32("i32.popcnt(-1)", (uint32_t)__builtin_popcount((uint32_t)m1));

	int64_t mn64 = vi64[0], m164 = vi64[1];
	uint64_t one64 = (uint64_t)vi64[3], c65 = (uint64_t)vi64[4], c132 = (uint64_t)vi64[5], c64 = (uint64_t)vi64[6];
	ri64("i64.rem_s(INT64_MIN,-1)", (uint64_t)(mn64 % m164));
	ri64("i64.div_u(INT64_MIN,-1)", (uint64_t)mn64 / (uint64_t)m164);
	ri64("i64.div_s(-7,2)", (uint64_t)((int64_t)mseven / (int64_t)two));
	ri64("i64.rem_s(-7,2)", (uint64_t)((int64_t)mseven % (int64_t)two));
	ri64("i64.mul(-1,-1)", (uint64_t)m164 * (uint64_t)m164);
	ri64("i64.shl(1,65)", one64 << (c65 & 63));
	ri64("i64.shl(1,64)", one64 << (c64 & 63));
	ri64("i64.shr_s(INT64_MIN,65)", (uint64_t)(mn64 >> (c65 & 63)));
	ri64("i64.shr_u(INT64_MIN,65)", (uint64_t)mn64 >> (c65 & 63));
	ri64("i64.rotl(0x0123456789abcdef,132)", __builtin_rotateleft64(vpat64, c132));
	ri64("i64.rotr(0x0123456789abcdef,132)", __builtin_rotateright64(vpat64, c132));
	ri64("i64.clz(0)", (uint64_t)__builtin_clzll(one64 - 1));
	ri64("i64.ctz(0)", (uint64_t)__builtin_ctzll(one64 - 1));
	ri64("i64.extend_i32_s(INT32_MIN)", (uint64_t)(int64_t)mn);
	ri64("i64.extend_i32_u(INT32_MIN)", (uint64_t)hi);
	ri32("i32.wrap_i64(0x0123456789abcdef)", (uint32_t)vpat64);
}

/* ---- trap: one trapping instruction ---------------------------------- */

static volatile uint32_t vaddr;

/* trap: check kind. One record (data "armed") just before the instruction;
 * a runtime that does not trap then gets a record of the value it gave. */
static void op_trap(const step_t *s) {
	cur = s;
	const char *k = s->arg[0].str;
	uint32_t end = (uint32_t)__builtin_wasm_memory_size(0) * 65536u;
#define ARM() emit(s, &(rec_t){.call = k, .has = HAS_DATA, .data = "armed", .len = 5})
	if (strcmp(k, "i32.div_s(1,0)") == 0) {
		ARM();
		ri32(k, (uint32_t)(vi32[3] / vi32[2]));
	} else if (strcmp(k, "i32.rem_u(1,0)") == 0) {
		ARM();
		ri32(k, (uint32_t)vi32[3] % (uint32_t)vi32[2]);
	} else if (strcmp(k, "i64.div_u(1,0)") == 0) {
		ARM();
		ri64(k, (uint64_t)vi64[3] / (uint64_t)vi64[2]);
	} else if (strcmp(k, "i32.div_s(INT32_MIN,-1)") == 0) {
		ARM();
		ri32(k, (uint32_t)(vi32[0] / vi32[1]));
	} else if (strcmp(k, "i64.div_s(INT64_MIN,-1)") == 0) {
		ARM();
		ri64(k, (uint64_t)(vi64[0] / vi64[1]));
	} else if (strcmp(k, "i32.trunc_f32_s(nan)") == 0) {
		ARM();
		ri32(k, (uint32_t)__builtin_wasm_trunc_s_i32_f32(f32_of(in32[0])));
	} else if (strcmp(k, "i64.trunc_f64_u(nan)") == 0) {
		ARM();
		ri64(k, __builtin_wasm_trunc_u_i64_f64(f64_of(in64[0])));
	} else if (strcmp(k, "i32.trunc_f64_s(2147483648)") == 0) {
		ARM();
		ri32(k, (uint32_t)__builtin_wasm_trunc_s_i32_f64(vdbl(2147483648.0)));
	} else if (strcmp(k, "i32.trunc_f32_u(-1)") == 0) {
		ARM();
		ri32(k, __builtin_wasm_trunc_u_i32_f32(vfm1));
	} else if (strcmp(k, "i32.load(end-2)") == 0) {
		vaddr = end - 2;
		ARM();
		ri32(k, *(volatile uint32_t *)(uintptr_t)vaddr);
	} else if (strcmp(k, "i64.load(end-4)") == 0) {
		vaddr = end - 4;
		ARM();
		ri64(k, *(volatile uint64_t *)(uintptr_t)vaddr);
	} else if (strcmp(k, "i32.load8_u(end)") == 0) {
		vaddr = end;
		ARM();
		ri32(k, *(volatile uint8_t *)(uintptr_t)vaddr);
	} else if (strcmp(k, "i32.load offset=8(0xfffffffc)") == 0) {
		/* The effective address is 0xfffffffc + 8, past 2^32: it must not
		 * wrap to 4. */
		vaddr = 0xfffffffc;
		ARM();
		ri32(k, ((volatile uint32_t *)(uintptr_t)vaddr)[2]);
	} else {
		emit(s, &(rec_t){.call = k, .err = __WASI_ERRNO_INVAL, .has = HAS_DATA, .data = "unknown kind", .len = 12});
	}
#undef ARM
}

/* ---- memory: grow and the last bytes ----------------------------------- */

/* memory: check. */
static void op_memory(const step_t *s) {
	cur = s;
	uint32_t before = (uint32_t)__builtin_wasm_memory_size(0);
	ri32("memory.size", before);
	ri32("memory.grow(0)", (uint32_t)__builtin_wasm_memory_grow(0, (size_t)vi32[2]));
	ri32("memory.grow(65536)", (uint32_t)__builtin_wasm_memory_grow(0, 65536 + (size_t)vi32[2]));
	ri32("memory.grow(65537-size)", (uint32_t)__builtin_wasm_memory_grow(0, 65537 - before + (size_t)vi32[2]));
	ri32("memory.grow(0xffffffff)", (uint32_t)__builtin_wasm_memory_grow(0, (size_t)(uint32_t)vi32[1]));
	ri32("memory.size after failed grows", (uint32_t)__builtin_wasm_memory_size(0));
	ri32("memory.grow(1)", (uint32_t)__builtin_wasm_memory_grow(0, (size_t)vi32[3]));
	uint32_t now = (uint32_t)__builtin_wasm_memory_size(0);
	ri32("memory.size after grow(1)", now);
	uintptr_t end = (uintptr_t)now * 65536u;
	volatile uint32_t *p32 = (volatile uint32_t *)(end - 4);
	volatile uint64_t *p64 = (volatile uint64_t *)(end - 8);
	volatile uint8_t *p8 = (volatile uint8_t *)(end - 1);
	*p32 = 0xdeadbeef;
	ri32("i32.load(end-4) after i32.store 0xdeadbeef", *p32);
	*p64 = vpat64;
	ri64("i64.load(end-8) after i64.store 0x0123456789abcdef", *p64);
	ri32("i32.load8_u(end-1)", *p8);
	*p8 = 0xa5;
	ri32("i32.load8_u(end-1) after i32.store8 0xa5", *p8);
}

/* ---- endian: multi-byte loads and stores ------------------------------- */

static uint8_t ebuf[32] __attribute__((aligned(16)));

/* op_endian: check. Bytes are written and read one at a time through
 * volatile pointers (store8 / load8_u), never merged into wider accesses. */
static void op_endian(const step_t *s) {
	cur = s;
	volatile uint8_t *b = ebuf;
	*(volatile uint32_t *)ebuf = vbig32;
	ri32("bytes of i32.store 0x01020304", (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
	*(volatile uint64_t *)ebuf = vbig64;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	ri64("bytes of i64.store 0x0102030405060708", v);
	*(volatile uint16_t *)ebuf = (uint16_t)(vbig32 >> 8);
	ri32("bytes of i32.store16 0x0203", (uint32_t)b[0] << 8 | b[1]);
	for (int i = 0; i < 16; i++)
		b[i] = (uint8_t)(i + 1 + vi32[2]);
	ri32("i32.load of bytes 01..04", *(volatile uint32_t *)ebuf);
	ri64("i64.load of bytes 01..08", *(volatile uint64_t *)ebuf);
	ri32("i32.load16_u of bytes 01 02", *(volatile uint16_t *)ebuf);
	ri32("i32.load of bytes 02..05 (unaligned)", *(volatile uint32_t *)(ebuf + 1 + vi32[2]));
	b[0] = 0xff, b[1] = 0x80, b[2] = 0x00, b[3] = 0x80;
	ri32("i32.load16_s of bytes ff 80", (uint32_t)(int32_t) * (volatile int16_t *)ebuf);
	ri64("i64.load32_s of bytes ff 80 00 80", (uint64_t)(int64_t) * (volatile int32_t *)ebuf);
	b[4] = 0x00, b[5] = 0x00, b[6] = 0x80, b[7] = 0x3f;
	rf32("f32.load of bytes 00 00 80 3f", *(volatile float *)(ebuf + 4));
	for (int i = 0; i < 6; i++)
		b[8 + i] = 0;
	b[14] = 0xf0, b[15] = 0x3f;
	rf64("f64.load of bytes 00 00 00 00 00 00 f0 3f", *(volatile double *)(ebuf + 8));
}

const op_t probe_ops[] = {
	{"nan", "", op_nan},
	{"nan-bits", "", op_nan_bits},
	{"float", "", op_float},
	{"int", "", op_int},
	{"trap", "s", op_trap},
	{"memory", "", op_memory},
	{"endian", "", op_endian},
};
const size_t probe_nops = sizeof probe_ops / sizeof *probe_ops;
