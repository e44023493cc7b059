/*
 * vmath.h — logarithm and exponential written so that loops over them
 * vectorise: no calls, no branches, no tables.  The double kernels are
 * inline, for loops that fuse them with other work (the product rule);
 * lf_log_f takes and gives floats.
 *
 * The double kernels' truncation errors are below 1e-12 relative (a float
 * ulp is 6e-8), so their results rounded to float are the correctly
 * rounded values except, rarely, when the exact value lies within 1e-12 of
 * a float rounding boundary; in the product rule, whose result is a float,
 * the same holds.  Each element is computed
 * alone by the same operations: nothing depends on the vector width or the
 * thread count.
 *
 *   log x = k ln 2 + 2 atanh(s),  x = 2^k m,  m in [sqrt(1/2), sqrt(2)),
 *           s = (m - 1) / (m + 1), |s| < 0.1716: atanh's series to s^13.
 *   exp x = 2^n exp(r),  n = round(x / ln 2),  |r| <= ln 2 / 2 (ln 2 in two
 *           parts, so r is exact): exp's Taylor series to r^10.
 */
#ifndef LF_VMATH_H
#define LF_VMATH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ln 2 in two parts: LF_LN2_HI has trailing zero bits, so k * LF_LN2_HI is
 * exact for the |k| these functions meet; LF_LN2_LO is the rest */
#define LF_LN2_HI 0x1.62e42p-1
#define LF_LN2_LO 0x1.fdf473de6af28p-22

static inline uint64_t lf_d2u(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
static inline double lf_u2d(uint64_t u) {
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* For log x, x positive, finite and normal: x = 2^k m with m in
 * [sqrt(1/2), sqrt(2)); returns s = (m - 1) / (m + 1) and sets *k, so that
 * log x = k ln 2 + 2 atanh(s). */
static inline double lf_log_reduce(double x, double *k) {
    const uint64_t sqrt_half = 0x3fe6a09e667f3bcdull; /* bits of sqrt(1/2) */
    uint64_t t = lf_d2u(x) - sqrt_half;
    /* k: the top 12 bits of t, two's complement, turned into a double
     * through the 2^52 trick (AVX2 has no int64 -> double conversion) */
    uint64_t kb = ((t >> 52) + 2048u) & 0xfffu;
    *k = lf_u2d(0x4330000000000000ull | kb) - (0x1p52 + 2048.0);
    double m = lf_u2d((t & 0x000fffffffffffffull) + sqrt_half);
    return (m - 1.0) / (m + 1.0);
}

/* k ln 2 + 2 s (1 + z p): ln 2 in two parts, small terms first */
static inline double lf_log_join(double k, double s, double z, double p) {
    return k * LF_LN2_HI + (k * LF_LN2_LO + (2.0 * s + 2.0 * s * z * p));
}

/* log x for x positive, finite and normal (anything else: garbage):
 * atanh's series to s^13, truncation below 1e-12 relative */
static inline double lf_log_d(double x) {
    double k, s = lf_log_reduce(x, &k), z = s * s;
    double p = 1.0 / 13;
    p = p * z + 1.0 / 11;
    p = p * z + 1.0 / 9;
    p = p * z + 1.0 / 7;
    p = p * z + 1.0 / 5;
    p = p * z + 1.0 / 3;
    return lf_log_join(k, s, z, p);
}

/* exp x for |x| <= 708 (anything else: garbage) */
static inline double lf_exp_d(double x) {
    const double shift = 0x1.8p52; /* adding it rounds |v| < 2^51 to an integer */
    double t = x * 0x1.71547652b82fep0 + shift;
    double n = t - shift;
    double r = (x - n * LF_LN2_HI) - n * LF_LN2_LO;
    double p = 1.0 / 3628800;
    p = p * r + 1.0 / 362880;
    p = p * r + 1.0 / 40320;
    p = p * r + 1.0 / 5040;
    p = p * r + 1.0 / 720;
    p = p * r + 1.0 / 120;
    p = p * r + 1.0 / 24;
    p = p * r + 1.0 / 6;
    p = p * r + 0.5;
    p = p * r * r + r;
    /* 2^n: the low bits of t hold n (two's complement) */
    double scale = lf_u2d((lf_d2u(t) + 1023u) << 52);
    return scale + scale * p;
}

/* y[i] = log(x[i]), i < n, as C's logf (log 0 = -Inf, of a negative or NaN
 * NaN, of +Inf +Inf).  y may be x (in place); otherwise they must not
 * overlap. */
void lf_log_f(const float *x, float *y, size_t n);

#endif
