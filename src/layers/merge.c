/*
 * merge.c — Keras' merging layers: Add, Subtract, Multiply, Average,
 * Maximum, Minimum (elementwise over inputs of equal shape), Concatenate
 * (along features) and Dot (row-wise inner product, optionally cosine).
 */
#include "layers/layers.h"

#include <math.h>
#include <string.h>

// xs[i]: (B, D)  y: (B, D)
void lf_merge_forward(lf_merge_op op, float *restrict y, const float *const *xs, size_t k,
                      size_t B, size_t D) {
    size_t n = B * D;
    memcpy(y, xs[0], n * sizeof *y);
    for (size_t i = 1; i < k; i++) {
        const float *x = xs[i];
        switch (op) {
        case LF_MERGE_ADD:
        case LF_MERGE_AVG:
            for (size_t j = 0; j < n; j++) y[j] += x[j];
            break;
        case LF_MERGE_SUB:
            for (size_t j = 0; j < n; j++) y[j] -= x[j];
            break;
        case LF_MERGE_MUL:
            for (size_t j = 0; j < n; j++) y[j] *= x[j];
            break;
        case LF_MERGE_MAX:
            for (size_t j = 0; j < n; j++) y[j] = x[j] > y[j] ? x[j] : y[j];
            break;
        case LF_MERGE_MIN:
            for (size_t j = 0; j < n; j++) y[j] = x[j] < y[j] ? x[j] : y[j];
            break;
        }
    }
    if (op == LF_MERGE_AVG) {
        float inv = 1.0f / (float)k;
        for (size_t j = 0; j < n; j++) y[j] *= inv;
    }
}

void lf_merge_backward(lf_merge_op op, float *const *dxs, const float *restrict dy,
                       const float *const *xs, const float *restrict y, size_t k, size_t B,
                       size_t D) {
    size_t n = B * D;
    for (size_t i = 0; i < k; i++) {
        float *dx = dxs[i];
        if (!dx) continue;
        switch (op) {
        case LF_MERGE_ADD:
            for (size_t j = 0; j < n; j++) dx[j] += dy[j];
            break;
        case LF_MERGE_AVG: {
            float inv = 1.0f / (float)k;
            for (size_t j = 0; j < n; j++) dx[j] += dy[j] * inv;
            break;
        }
        case LF_MERGE_SUB:
            for (size_t j = 0; j < n; j++) dx[j] += i == 0 ? dy[j] : -dy[j];
            break;
        case LF_MERGE_MUL:
            for (size_t j = 0; j < n; j++) {
                float p = dy[j];
                for (size_t o = 0; o < k; o++)
                    if (o != i) p *= xs[o][j];
                dx[j] += p;
            }
            break;
        case LF_MERGE_MAX:
        case LF_MERGE_MIN:
            /* the gradient goes to the first input that equals the output */
            for (size_t j = 0; j < n; j++) {
                size_t first = 0;
                while (first < k && xs[first][j] != y[j]) first++;
                if (first == i) dx[j] += dy[j];
            }
            break;
        }
    }
}

// xs[i]: (B, dims[i])  y: (B, sum dims)
void lf_concat_forward(float *restrict y, const float *const *xs, const size_t *dims, size_t k,
                       size_t B) {
    size_t total = 0;
    for (size_t i = 0; i < k; i++) total += dims[i];
    for (size_t r = 0; r < B; r++) {
        float *yr = y + r * total;
        for (size_t i = 0; i < k; i++) {
            memcpy(yr, xs[i] + r * dims[i], dims[i] * sizeof *yr);
            yr += dims[i];
        }
    }
}

void lf_concat_backward(float *const *dxs, const float *restrict dy, const size_t *dims,
                        size_t k, size_t B) {
    size_t total = 0;
    for (size_t i = 0; i < k; i++) total += dims[i];
    for (size_t r = 0; r < B; r++) {
        const float *dyr = dy + r * total;
        for (size_t i = 0; i < k; i++) {
            if (dxs[i]) {
                float *dx = dxs[i] + r * dims[i];
                for (size_t j = 0; j < dims[i]; j++) dx[j] += dyr[j];
            }
            dyr += dims[i];
        }
    }
}

#define DOT_EPS 1e-12 /* Keras' l2_normalize: x / sqrt(max(sum x^2, eps)) */

// a, b: (B, D)  y: (B, 1)  norms: (B, 2)
void lf_dot_forward(float *restrict y, float *restrict norms, const float *restrict a,
                    const float *restrict b, size_t B, size_t D, int normalize) {
    for (size_t r = 0; r < B; r++) {
        const float *ar = a + r * D, *br = b + r * D;
        double ab = 0, aa = 0, bb = 0;
        for (size_t j = 0; j < D; j++) {
            ab += (double)ar[j] * br[j];
            aa += (double)ar[j] * ar[j];
            bb += (double)br[j] * br[j];
        }
        if (normalize) {
            double na = sqrt(aa > DOT_EPS ? aa : DOT_EPS), nb = sqrt(bb > DOT_EPS ? bb : DOT_EPS);
            norms[2 * r] = (float)na;
            norms[2 * r + 1] = (float)nb;
            y[r] = (float)(ab / (na * nb));
        } else {
            y[r] = (float)ab;
        }
    }
}

void lf_dot_backward(float *restrict da, float *restrict db, const float *restrict dy,
                     const float *restrict a, const float *restrict b,
                     const float *restrict norms, size_t B, size_t D, int normalize) {
    for (size_t r = 0; r < B; r++) {
        const float *ar = a + r * D, *br = b + r * D;
        float g = dy[r];
        if (!normalize) {
            if (da)
                for (size_t j = 0; j < D; j++) da[r * D + j] += g * br[j];
            if (db)
                for (size_t j = 0; j < D; j++) db[r * D + j] += g * ar[j];
            continue;
        }
        /* y = <a/na, b/nb>; d/da = (b/nb - y a/na) / na when |a|^2 > eps
         * (below eps the norm is the constant sqrt(eps): d/da = b/(na nb)) */
        double na = norms[2 * r], nb = norms[2 * r + 1], y = 0, aa = 0, bb = 0;
        for (size_t j = 0; j < D; j++) {
            y += (double)ar[j] * br[j];
            aa += (double)ar[j] * ar[j];
            bb += (double)br[j] * br[j];
        }
        y /= na * nb;
        int a_clamped = aa <= DOT_EPS, b_clamped = bb <= DOT_EPS;
        for (size_t j = 0; j < D; j++) {
            if (da) {
                double t = br[j] / nb - (a_clamped ? 0.0 : y * ar[j] / na);
                da[r * D + j] += (float)(g * t / na);
            }
            if (db) {
                double t = ar[j] / na - (b_clamped ? 0.0 : y * br[j] / nb);
                db[r * D + j] += (float)(g * t / nb);
            }
        }
    }
}
