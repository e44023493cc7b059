/*
 * vmath.c — logarithm and exponential over float arrays, vectorised.
 *
 * The learned fusion methods take the log of every input probability of
 * every training row, and every softmax and cross-entropy takes exps: one
 * libm call per element made these the largest costs of a stack-lr fit.
 * These loops have no calls and no branches, so the compiler turns them
 * into SIMD code (AVX2 chosen at run time through LF_CLONES).
 *
 * Accuracy: the work is done in double and rounded once to float, so the
 * results are the correctly rounded float values except, rarely, for a
 * 1-ulp difference when the exact value lies within ~1e-12 of a rounding
 * boundary.  Nothing depends on the thread count or the vector width: each
 * element is computed alone by the same operations.
 *
 *   log x = e ln 2 + 2 atanh(s),  x = 2^e m,  m in [sqrt(1/2), sqrt(2)),
 *           s = (m - 1) / (m + 1), |s| < 0.1716, the atanh series to s^13
 *           (truncation below 1e-12 relative).
 *   exp x = 2^n exp(r),  n = round(x / ln 2),  |r| <= ln 2 / 2, the Taylor
 *           series of exp(r) to r^11 (truncation below 1e-13 relative).
 */
#include "vmath.h"
#include "kernels.h"

/* GCC will not turn the loops' selects into blends while it must keep
 * floating-point exceptions exact (clang's default already allows it);
 * no result changes, only the trap flags nobody reads. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#define LN2 0x1.62e42fefa39efp-1
#define LOG2E 0x1.71547652b82fep0
#define ROUND_MAGIC 0x1.8p52 /* adding it rounds a |v| < 2^51 to an integer */

/* log of a positive normal finite float (others give garbage) */
static inline float log_normal(float xf) {
    uint32_t u;
    memcpy(&u, &xf, sizeof u);
    /* shift the exponent so that the mantissa lands in [sqrt(1/2), sqrt(2)) */
    uint32_t t = u - 0x3f3504f3u;
    int32_t e = (int32_t)t >> 23;
    uint32_t mu = (t & 0x007fffffu) + 0x3f3504f3u;
    float mf;
    memcpy(&mf, &mu, sizeof mf);
    double m = (double)mf, s = (m - 1.0) / (m + 1.0), z = s * s;
    double p = 1.0 / 13;
    p = p * z + 1.0 / 11;
    p = p * z + 1.0 / 9;
    p = p * z + 1.0 / 7;
    p = p * z + 1.0 / 5;
    p = p * z + 1.0 / 3;
    p = p * z + 1.0;
    return (float)((double)e * LN2 + 2.0 * s * p);
}

LF_CLONES static void log_block(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = log_normal(x[i]);
}

/* whether any x is not a positive normal finite float: as bits, those lie
 * in [0x00800000, 0x7f800000) (negatives have the top bit set) */
LF_CLONES static int any_special(const float *x, size_t n) {
    uint32_t special = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        special |= (uint32_t)(u - 0x00800000u >= 0x7f800000u - 0x00800000u);
    }
    return special != 0;
}

void lf_log_f(const float *x, float *y, size_t n) {
    /* blocks, so that a special value (rare) can be redone from the input
     * before an in-place call overwrites it */
    enum { BLOCK = 256 };
    for (size_t i0 = 0; i0 < n; i0 += BLOCK) {
        size_t nb = n - i0 < BLOCK ? n - i0 : BLOCK;
        if (!any_special(x + i0, nb)) log_block(x + i0, y + i0, nb);
        else
            for (size_t i = i0; i < i0 + nb; i++) y[i] = logf(x[i]);
    }
}

static inline float exp_one(float xf) {
    double x = (double)xf;
    /* beyond these the float result is 0 or +Inf anyway (NaN passes) */
    x = x < -104.0 ? -104.0 : x;
    x = x > 89.0 ? 89.0 : x;
    double k = x * LOG2E + ROUND_MAGIC; /* n in the low bits */
    double n = k - ROUND_MAGIC;
    double r = x - n * LN2;
    double p = 1.0 / 39916800;
    p = p * r + 1.0 / 3628800;
    p = p * r + 1.0 / 362880;
    p = p * r + 1.0 / 40320;
    p = p * r + 1.0 / 5040;
    p = p * r + 1.0 / 720;
    p = p * r + 1.0 / 120;
    p = p * r + 1.0 / 24;
    p = p * r + 1.0 / 6;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    uint64_t kb;
    memcpy(&kb, &k, sizeof kb);
    /* 2^n: n + 1023 into the exponent field (n in [-151, 129]) */
    uint64_t sb = (uint64_t)((int64_t)(int32_t)(uint32_t)kb + 1023) << 52;
    double scale;
    memcpy(&scale, &sb, sizeof scale);
    float res = (float)(p * scale);
    return xf != xf ? xf : res;
}

LF_CLONES static void exp_block(const float *restrict x, float *restrict y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = exp_one(x[i]);
}

void lf_exp_f(const float *x, float *y, size_t n) { exp_block(x, y, n); }
