/*
 * s2_kernel.h: the arithmetic of the snnc kernel IR in portable C99.
 *
 * Every emitted kernel includes this header. It spells out the semantics the
 * interpreter (runtime/src/interp) defines, so that a kernel compiled with any
 * C99 compiler (with -ffp-contract=off) computes the same bits:
 *   - f32 + - * / and sqrt are IEEE binary32, never fused; a NaN result is
 *     the canonical quiet NaN 0x7fc00000 (ARM's default NaN);
 *   - i32 + - * and negation wrap (done on uint32_t, no signed overflow);
 *   - shifts take the amount modulo 32, >> is arithmetic on i32;
 *   - min(a, b) = a < b ? a : b and max(a, b) = a > b ? a : b;
 *   - f32 -> i32/u32 truncate towards zero and saturate, NaN gives 0.
 * Nothing here is board specific; the board is behind s2_hal.h.
 */
#ifndef S2_KERNEL_H
#define S2_KERNEL_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define S2_CANONICAL_NAN 0x7fc00000u

/* The bits of an f32 and back (memcpy: no aliasing, no conversion). */
static inline uint32_t s2_f32_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline float s2_f32_from_bits(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* An arithmetic result with its NaN made canonical. */
static inline float s2_canonical(float x) {
    return x != x ? s2_f32_from_bits(S2_CANONICAL_NAN) : x;
}

static inline float s2_fadd(float a, float b) { return s2_canonical(a + b); }
static inline float s2_fsub(float a, float b) { return s2_canonical(a - b); }
static inline float s2_fmul(float a, float b) { return s2_canonical(a * b); }
static inline float s2_fdiv(float a, float b) { return s2_canonical(a / b); }
static inline float s2_fsqrt(float a) { return s2_canonical(sqrtf(a)); }

/* Sign flip and sign clear, on the bits (a NaN keeps its payload). */
static inline float s2_fneg(float a) { return s2_f32_from_bits(s2_f32_bits(a) ^ 0x80000000u); }
static inline float s2_fabs(float a) { return s2_f32_from_bits(s2_f32_bits(a) & 0x7fffffffu); }

static inline float s2_fmin(float a, float b) { return a < b ? a : b; }
static inline float s2_fmax(float a, float b) { return a > b ? a : b; }
static inline int32_t s2_imin(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t s2_imax(int32_t a, int32_t b) { return a > b ? a : b; }
static inline uint32_t s2_umin(uint32_t a, uint32_t b) { return a < b ? a : b; }
static inline uint32_t s2_umax(uint32_t a, uint32_t b) { return a > b ? a : b; }

/* false -> 0, true -> 1. */
static inline uint32_t s2_u32_from_bool(bool b) { return b ? 1u : 0u; }

/* Two's complement reinterpretation without implementation-defined casts. */
static inline int32_t s2_u32_as_i32(uint32_t u) {
    int32_t i;
    memcpy(&i, &u, sizeof i);
    return i;
}

static inline int32_t s2_iadd(int32_t a, int32_t b) { return s2_u32_as_i32((uint32_t)a + (uint32_t)b); }
static inline int32_t s2_isub(int32_t a, int32_t b) { return s2_u32_as_i32((uint32_t)a - (uint32_t)b); }
static inline int32_t s2_imul(int32_t a, int32_t b) { return s2_u32_as_i32((uint32_t)a * (uint32_t)b); }
static inline int32_t s2_ineg(int32_t a) { return s2_u32_as_i32(0u - (uint32_t)a); }

/* Trailing zero bits (32 for 0) and set bits; compilers turn them into
   rbit + clz (Cortex-M4) and a popcount sequence. */
static inline uint32_t s2_uctz(uint32_t a) { return a == 0u ? 32u : (uint32_t)__builtin_ctz(a); }
static inline uint32_t s2_upopcnt(uint32_t a) { return (uint32_t)__builtin_popcount(a); }
static inline int32_t s2_ictz(int32_t a) { return (int32_t)s2_uctz((uint32_t)a); }
static inline int32_t s2_ipopcnt(int32_t a) { return (int32_t)s2_upopcnt((uint32_t)a); }

static inline uint32_t s2_ushl(uint32_t a, uint32_t b) { return a << (b & 31u); }
static inline uint32_t s2_ushr(uint32_t a, uint32_t b) { return a >> (b & 31u); }
static inline int32_t s2_ishl(int32_t a, int32_t b) { return s2_u32_as_i32((uint32_t)a << ((uint32_t)b & 31u)); }
/* Arithmetic shift right, written without shifting a negative value. */
static inline int32_t s2_ishr(int32_t a, int32_t b) {
    uint32_t s = (uint32_t)b & 31u;
    return a < 0 ? s2_u32_as_i32(~(~(uint32_t)a >> s)) : s2_u32_as_i32((uint32_t)a >> s);
}

/* f32 -> integer: truncate towards zero, saturate, NaN gives 0. */
static inline int32_t s2_f32_to_i32(float x) {
    if (x != x) {
        return 0;
    }
    if (x >= 2147483648.0f) {
        return INT32_MAX;
    }
    if (x < -2147483648.0f) {
        return INT32_MIN;
    }
    return (int32_t)x;
}

static inline uint32_t s2_f32_to_u32(float x) {
    if (!(x > 0.0f)) {
        return 0;
    }
    if (x >= 4294967296.0f) {
        return UINT32_MAX;
    }
    return (uint32_t)x;
}

#endif
