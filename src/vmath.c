/*
 * vmath.c — log and exp of float arrays, through vmath.h's double kernels.
 *
 * The learned fusion methods take the log of every input probability of
 * every training row: one libm call per element made it the largest cost
 * of a stack-lr fit.  These loops have no calls and no branches, so the
 * compiler turns them into SIMD code (AVX2 chosen at run time through
 * LF_CLONES).  Values the log kernel does not cover (<= 0, Inf, NaN) are
 * rare: a block holding one goes through libm's logf instead.
 */
#include "vmath.h"
#include "kernels.h"

#include <math.h>
#include <stdint.h>

LF_CLONES static void log_block(const float *x, float *y, size_t n) {
    /* (a float's denormals are normal doubles) */
    for (size_t i = 0; i < n; i++) y[i] = (float)lf_log_d((double)x[i]);
}

/* whether any x is not positive and finite: as bits, those lie in
 * [1, 0x7f800000) (negatives have the top bit set) */
LF_CLONES static int any_special(const float *x, size_t n) {
    uint32_t special = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, sizeof u);
        special |= (uint32_t)(u - 1u >= 0x7f800000u - 1u);
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

