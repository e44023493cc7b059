/*
 * weighted.c — softmax-weighted averages of k inputs of equal shape: the
 * heart of learned late fusion.
 *
 *   WeightedAverage       a = softmax(w), w: (k)        y = sum_i a_i x_i
 *   ClassWeightedAverage  a_.c = softmax(w_.c), w: (k, D), per feature c
 *   GatedAverage          a_r = softmax(gate_r), gate: (B, k) from a network
 *
 * An optional mask (B, k) of 0/1 marks which inputs are present in a row;
 * the softmax then runs over the present inputs only, which is exactly the
 * "renormalise over the models present" rule for a missing modality.  The
 * weights actually used, per row, are kept in `a` for the backward pass:
 *   dx_i = a_i dy,  g_i = <dy, x_i>,  dw_j = a_j (g_j - sum_i a_i g_i).
 */
#include "layers/layers.h"
#include "kernels.h"

#include <math.h>
#include <string.h>

/* a[i*stride] = masked softmax of logits[i*stride] over i < k */
static void masked_softmax(float *restrict a, const float *restrict logits, size_t stride,
                           const float *restrict mask, size_t k) {
    float mx = -INFINITY;
    for (size_t i = 0; i < k; i++)
        if (!mask || mask[i] > 0) mx = logits[i * stride] > mx ? logits[i * stride] : mx;
    double s = 0;
    for (size_t i = 0; i < k; i++) {
        float e = (!mask || mask[i] > 0) ? expf(logits[i * stride] - mx) : 0.0f;
        a[i * stride] = e;
        s += e;
    }
    float inv = s > 0 ? (float)(1.0 / s) : 0.0f;
    for (size_t i = 0; i < k; i++) a[i * stride] *= inv;
}

/* Row r needs its own softmax unless it has the same mask as row r-1 (or
 * there is no mask at all): then its weights are a copy of the previous
 * row's — the same numbers, without the exps (most rows have every input
 * present). */
static int new_weights(const float *mask, size_t r, size_t k) {
    if (r == 0) return 1;
    if (!mask) return 0;
    return memcmp(mask + r * k, mask + (r - 1) * k, k * sizeof *mask) != 0;
}

/* y (n) = sum_i a_i x_i[off .. off + n) over the inputs with a_i != 0,
 * summed in input order from 0 */
LF_CLONES static void weighted_sum(float *restrict y, const float *restrict a,
                                   const float *const *xs, size_t off, size_t k, size_t n) {
    memset(y, 0, n * sizeof *y);
    for (size_t i = 0; i < k; i++) {
        float ai = a[i];
        if (ai == 0.0f) continue; /* a missing input may hold anything */
        const float *restrict x = xs[i] + off;
        for (size_t c = 0; c < n; c++) y[c] += ai * x[c];
    }
}

// xs[i]: (B, D)  w: (k)  mask: (B, k)|NULL  a: (B, k)  y: (B, D)
void lf_wavg_forward(float *restrict y, float *restrict a, const float *const *xs,
                     const float *restrict w, const float *restrict mask, size_t k, size_t B,
                     size_t D) {
    if (!mask) { /* one set of weights for every row: the whole block at once */
        if (B == 0) return;
        masked_softmax(a, w, 1, NULL, k);
        for (size_t r = 1; r < B; r++)
            for (size_t i = 0; i < k; i++) a[r * k + i] = a[i];
        weighted_sum(y, a, xs, 0, k, B * D);
        return;
    }
    for (size_t r = 0; r < B; r++) {
        float *ar = a + r * k;
        if (new_weights(mask, r, k)) masked_softmax(ar, w, 1, mask + r * k, k);
        else memcpy(ar, ar - k, k * sizeof *ar);
        weighted_sum(y + r * D, ar, xs, r * D, k, D);
    }
}

/* <dy, x> over D features in double, in four interleaved partial sums
 * (independent chains: the loop is not one long dependent chain) */
static inline __attribute__((always_inline)) double dot_d(const float *restrict dy,
                                                         const float *restrict x, size_t D) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t c = 0;
    for (; c + 4 <= D; c += 4) {
        s0 += (double)dy[c] * x[c], s1 += (double)dy[c + 1] * x[c + 1];
        s2 += (double)dy[c + 2] * x[c + 2], s3 += (double)dy[c + 3] * x[c + 3];
    }
    for (; c < D; c++) s0 += (double)dy[c] * x[c];
    return (s0 + s1) + (s2 + s3);
}

#define WB_K 16 /* inputs whose g_i are kept on the stack; more are recomputed */

/* Shared backward of the per-row-weight layers: dlogits[r*row_stride + i]
 * += a_ri (g_ri - sum_j a_rj g_rj).  row_stride 0 accumulates every row into
 * one weight vector (WeightedAverage), k gives per-row logits (Gated). */
LF_CLONES static void weights_backward(float *const *dxs, float *restrict dlogits, size_t row_stride,
                             const float *restrict dy, const float *const *xs,
                             const float *restrict a, size_t k, size_t B, size_t D) {
    double g[WB_K];
    for (size_t r = 0; r < B; r++) {
        const float *ar = a + r * k, *dyr = dy + r * D;
        double gbar = 0;
        if (dlogits)
            for (size_t i = 0; i < k; i++) {
                if (ar[i] == 0.0f) continue; /* a missing input may hold anything */
                double gi = dot_d(dyr, xs[i] + r * D, D);
                if (i < WB_K) g[i] = gi;
                gbar += ar[i] * gi;
            }
        for (size_t i = 0; i < k; i++) {
            if (dxs[i]) {
                float *dx = dxs[i] + r * D;
                for (size_t c = 0; c < D; c++) dx[c] += ar[i] * dyr[c];
            }
            if (dlogits && ar[i] != 0.0f) {
                double gi = i < WB_K ? g[i] : dot_d(dyr, xs[i] + r * D, D);
                dlogits[r * row_stride + i] += (float)(ar[i] * (gi - gbar));
            }
        }
    }
}

void lf_wavg_backward(float *const *dxs, float *restrict dw, const float *restrict dy,
                      const float *const *xs, const float *restrict a, size_t k, size_t B,
                      size_t D) {
    weights_backward(dxs, dw, 0, dy, xs, a, k, B, D);
}

// xs[i]: (B, D)  w: (k, D)  mask: (B, k)|NULL  a: (B, k, D)  y: (B, D)
void lf_cwavg_forward(float *restrict y, float *restrict a, const float *const *xs,
                      const float *restrict w, const float *restrict mask, size_t k, size_t B,
                      size_t D) {
    for (size_t r = 0; r < B; r++) {
        float *ar = a + r * k * D;
        if (new_weights(mask, r, k)) {
            const float *mr = mask ? mask + r * k : NULL;
            for (size_t c = 0; c < D; c++) masked_softmax(ar + c, w + c, D, mr, k);
        } else {
            memcpy(ar, ar - k * D, k * D * sizeof *ar);
        }
        float *yr = y + r * D;
        memset(yr, 0, D * sizeof *yr);
        for (size_t i = 0; i < k; i++) {
            const float *x = xs[i] + r * D, *ai = ar + i * D;
            if (mask && !(mask[r * k + i] > 0)) continue;
            for (size_t c = 0; c < D; c++) yr[c] += ai[c] * x[c];
        }
    }
}

void lf_cwavg_backward(float *const *dxs, float *restrict dw, const float *restrict dy,
                       const float *const *xs, const float *restrict a, size_t k, size_t B,
                       size_t D) {
    for (size_t r = 0; r < B; r++) {
        const float *ar = a + r * k * D, *dyr = dy + r * D;
        for (size_t c = 0; c < D; c++) {
            double gbar = 0;
            for (size_t i = 0; i < k; i++) {
                float aic = ar[i * D + c];
                if (aic != 0.0f) gbar += (double)aic * dyr[c] * xs[i][r * D + c];
            }
            for (size_t i = 0; i < k; i++) {
                float aic = ar[i * D + c];
                if (dxs[i]) dxs[i][r * D + c] += aic * dyr[c];
                if (dw && aic != 0.0f) {
                    double gi = (double)dyr[c] * xs[i][r * D + c];
                    dw[i * D + c] += (float)(aic * (gi - gbar));
                }
            }
        }
    }
}

// xs[i]: (B, D)  gate: (B, k)  mask: (B, k)|NULL  a: (B, k)  y: (B, D)
void lf_gated_forward(float *restrict y, float *restrict a, const float *const *xs,
                      const float *restrict gate, const float *restrict mask, size_t k,
                      size_t B, size_t D) {
    for (size_t r = 0; r < B; r++) {
        float *ar = a + r * k;
        masked_softmax(ar, gate + r * k, 1, mask ? mask + r * k : NULL, k);
        float *yr = y + r * D;
        memset(yr, 0, D * sizeof *yr);
        for (size_t i = 0; i < k; i++) {
            if (ar[i] == 0.0f) continue;
            const float *x = xs[i] + r * D;
            for (size_t c = 0; c < D; c++) yr[c] += ar[i] * x[c];
        }
    }
}

void lf_gated_backward(float *const *dxs, float *restrict dgate, const float *restrict dy,
                       const float *const *xs, const float *restrict a, size_t k, size_t B,
                       size_t D) {
    weights_backward(dxs, dgate, k, dy, xs, a, k, B, D);
}
