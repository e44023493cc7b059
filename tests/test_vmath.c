/*
 * test_vmath.c — lf_log_f and the exp kernel lf_exp_d against the
 * correctly rounded values ((float) of libm's double log/exp, which are
 * far more accurate than a float ulp) over a sweep of every 61st float bit
 * pattern of their domain; lf_log_d and lf_exp_d against libm in double
 * (the product rule's 1e-12); lf_log_f's special values, odd lengths,
 * unaligned arrays and in-place calls.
 */
#include "check.h"
#include "vmath.h"

#include <float.h>
#include <stdint.h>
#include <stdlib.h>

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* distance in ulps between two finite floats of the same sign */
static long ulps(float a, float b) {
    int32_t ia, ib;
    memcpy(&ia, &a, 4), memcpy(&ib, &b, 4);
    return labs((long)ia - (long)ib);
}

enum { CHUNK = 4096 };

/* sweeps bit patterns lo..hi (step), returns the largest ulp error and the
 * count of results that are not the correctly rounded value */
static void sweep(int is_log, uint32_t lo, uint32_t hi, uint32_t step, long *max_ulp, size_t *n_off,
                  size_t *n_total) {
    static float x[CHUNK], y[CHUNK];
    size_t k = 0;
    for (uint64_t u = lo; u <= hi; u += step) {
        x[k++] = from_bits((uint32_t)u);
        if (k == CHUNK || u + step > hi) {
            if (is_log) lf_log_f(x, y, k);
            else
                for (size_t i = 0; i < k; i++) y[i] = (float)lf_exp_d((double)x[i]);
            for (size_t i = 0; i < k; i++) {
                float want = is_log ? (float)log((double)x[i]) : (float)exp((double)x[i]);
                if (y[i] != want) {
                    (*n_off)++;
                    long d = (isfinite(want) && isfinite(y[i])) ? ulps(y[i], want) : 1000000;
                    if (d > *max_ulp) *max_ulp = d;
                }
            }
            *n_total += k;
            k = 0;
        }
    }
}

int main(void) {
    /* log over every positive float from the smallest subnormal to FLT_MAX */
    long max_ulp = 0;
    size_t off = 0, total = 0;
    sweep(1, 1, 0x7f7fffffu, 61, &max_ulp, &off, &total);
    CHECK(max_ulp <= 1, "log: max error %ld ulp", max_ulp);
    CHECK(off * 100000 < total, "log: %zu of %zu not correctly rounded", off, total);
    printf("log: %zu values, %zu off by 1 ulp\n", total, off);

    /* exp over [-103, 88] (the floats whose exp is a finite nonzero float),
     * both signs: bit patterns of positives and negatives */
    max_ulp = 0, off = 0, total = 0;
    sweep(0, 0, 0x42b00000u /* 88 */, 61, &max_ulp, &off, &total);
    sweep(0, 0x80000000u, 0xc2ce0000u /* -103 */, 61, &max_ulp, &off, &total);
    CHECK(max_ulp <= 1, "exp: max error %ld ulp", max_ulp);
    CHECK(off * 100000 < total, "exp: %zu of %zu not correctly rounded", off, total);
    printf("exp: %zu values, %zu off by 1 ulp\n", total, off);

    /* special values, in an odd-length unaligned array */
    float buf[12], out[12];
    float sx[11] = {0.0f, -0.0f, -1.0f, INFINITY, -INFINITY, NAN, 1.0f, FLT_MIN, FLT_TRUE_MIN, FLT_MAX, 2.0f};
    memcpy(buf + 1, sx, sizeof sx);
    lf_log_f(buf + 1, out + 1, 11);
    CHECK(isinf(out[1]) && out[1] < 0, "log 0 = %g", (double)out[1]);
    CHECK(isinf(out[2]) && out[2] < 0, "log -0 = %g", (double)out[2]);
    CHECK(isnan(out[3]), "log -1 = %g", (double)out[3]);
    CHECK(isinf(out[4]) && out[4] > 0, "log inf = %g", (double)out[4]);
    CHECK(isnan(out[5]) && isnan(out[6]), "log -inf, nan = %g %g", (double)out[5], (double)out[6]);
    CHECK(out[7] == 0.0f, "log 1 = %g", (double)out[7]);
    CHECK(out[8] == (float)log((double)FLT_MIN), "log FLT_MIN = %g", (double)out[8]);
    CHECK(out[9] == (float)log((double)FLT_TRUE_MIN), "log denormal = %g", (double)out[9]);
    CHECK(out[10] == (float)log((double)FLT_MAX), "log FLT_MAX = %g", (double)out[10]);
    CHECK(out[11] == (float)log(2.0), "log 2 = %.9g", (double)out[11]);

    /* the double kernels themselves, over their domains: relative error
     * against libm below 1e-12 (what the product rule relies on) */
    double worst_log = 0, worst_exp = 0;
    for (double x = 1e-300; x < 1e300; x *= 1.0137) {
        double r = fabs(lf_log_d(x) - log(x)) / (fabs(log(x)) > 1 ? fabs(log(x)) : 1);
        worst_log = r > worst_log ? r : worst_log;
    }
    for (double x = -708; x <= 708; x += 0.01373) {
        double r = fabs(lf_exp_d(x) / exp(x) - 1);
        worst_exp = r > worst_exp ? r : worst_exp;
    }
    CHECK(worst_log < 1e-12, "lf_log_d: relative error %g", worst_log);
    CHECK(worst_exp < 1e-12, "lf_exp_d: relative error %g", worst_exp);
    CHECK(lf_exp_d(0.0) == 1.0 && lf_log_d(1.0) == 0.0, "exp 0 = %g, log 1 = %g", lf_exp_d(0.0), lf_log_d(1.0));

    /* in place, across block boundaries, with a special value in one block */
    enum { NI = 1000 };
    static float xi[NI], want_i[NI];
    for (size_t i = 0; i < NI; i++) xi[i] = 1e-3f * (float)(i + 1);
    xi[700] = 0.0f;
    for (size_t i = 0; i < NI; i++) want_i[i] = (float)log((double)xi[i]);
    lf_log_f(xi, xi, NI);
    /* (the block holding the 0 goes through libm's logf: within 1 ulp) */
    size_t close = 0;
    for (size_t i = 0; i < NI; i++) close += i == 700 ? xi[i] == -INFINITY : ulps(xi[i], want_i[i]) <= 1;
    CHECK(close == NI, "log in place: %zu of %d within 1 ulp", close, NI);
    CHECK(xi[0] == want_i[0] && xi[NI - 1] == want_i[NI - 1], "log in place: %.9g %.9g", (double)xi[0],
          (double)xi[NI - 1]);
    return check_report("vmath");
}
