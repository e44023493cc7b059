/*
 * kernels.c — sgemm and activations (see kernels.h).
 *
 * The sgemm is a straightforward cache-friendly loop nest: each output row is
 * accumulated as a sum of rows of B (i-k-j order), which vectorises well and
 * keeps the summation order fixed, so results are bit-reproducible.  The
 * transposed-B case (the Dense forward, x W^T) works row by row with dot
 * products.  A later, tuned version keeps this interface.
 */
#include "kernels.h"

#include <math.h>
#include <string.h>

/* dot product of two length-n rows with four partial sums (fixed order) */
static float dot_f(const float *restrict a, const float *restrict b, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

void lf_sgemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
              const float *restrict A, size_t lda, const float *restrict B, size_t ldb,
              float beta, float *restrict C, size_t ldc) {
    for (size_t i = 0; i < M; i++) {
        float *restrict c = C + i * ldc;
        if (beta == 0.0f) memset(c, 0, N * sizeof *c);
        else if (beta != 1.0f)
            for (size_t j = 0; j < N; j++) c[j] *= beta;
        if (trans_b && !trans_a) {
            /* C[i][j] += alpha * <A[i][:], B[j][:]> */
            const float *a = A + i * lda;
            for (size_t j = 0; j < N; j++) c[j] += alpha * dot_f(a, B + j * ldb, K);
            continue;
        }
        for (size_t k = 0; k < K; k++) {
            float aik = trans_a ? A[k * lda + i] : A[i * lda + k];
            if (aik == 0.0f) continue;
            aik *= alpha;
            if (!trans_b) {
                const float *restrict b = B + k * ldb;
                for (size_t j = 0; j < N; j++) c[j] += aik * b[j];
            } else {
                for (size_t j = 0; j < N; j++) c[j] += aik * B[j * ldb + k];
            }
        }
    }
}

void lf_softmax_rows(float *x, size_t B, size_t D) {
    for (size_t r = 0; r < B; r++) {
        float *row = x + r * D;
        float mx = -INFINITY;
        for (size_t j = 0; j < D; j++) mx = row[j] > mx ? row[j] : mx;
        double s = 0;
        for (size_t j = 0; j < D; j++) {
            row[j] = expf(row[j] - mx);
            s += row[j];
        }
        float inv = (float)(1.0 / s);
        for (size_t j = 0; j < D; j++) row[j] *= inv;
    }
}

#define LEAKY_SLOPE 0.2f
#define INV_SQRT2 0.70710678118654752440
#define INV_SQRT2PI 0.39894228040143267794

void lf_act_forward(lf_activation a, float *restrict y, const float *restrict z, size_t B,
                    size_t D) {
    size_t n = B * D;
    switch (a) {
    case LF_LINEAR:
        if (y != z) memcpy(y, z, n * sizeof *y);
        break;
    case LF_RELU:
        for (size_t i = 0; i < n; i++) y[i] = z[i] > 0 ? z[i] : 0.0f;
        break;
    case LF_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) y[i] = z[i] >= 0 ? z[i] : LEAKY_SLOPE * z[i];
        break;
    case LF_ELU:
        for (size_t i = 0; i < n; i++) y[i] = z[i] >= 0 ? z[i] : expm1f(z[i]);
        break;
    case LF_GELU:
        for (size_t i = 0; i < n; i++)
            y[i] = (float)(0.5 * z[i] * (1.0 + erf(z[i] * INV_SQRT2)));
        break;
    case LF_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = z[i] >= 0 ? 1.0f / (1.0f + expf(-z[i])) : expf(z[i]) / (1.0f + expf(z[i]));
        break;
    case LF_TANH:
        for (size_t i = 0; i < n; i++) y[i] = tanhf(z[i]);
        break;
    case LF_SOFTMAX:
        if (y != z) memcpy(y, z, n * sizeof *y);
        lf_softmax_rows(y, B, D);
        break;
    }
}

void lf_act_backward(lf_activation a, float *restrict dz, const float *restrict dy,
                     const float *restrict z, const float *restrict y, size_t B, size_t D) {
    size_t n = B * D;
    switch (a) {
    case LF_LINEAR:
        memcpy(dz, dy, n * sizeof *dz);
        break;
    case LF_RELU:
        for (size_t i = 0; i < n; i++) dz[i] = z[i] > 0 ? dy[i] : 0.0f;
        break;
    case LF_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) dz[i] = z[i] >= 0 ? dy[i] : LEAKY_SLOPE * dy[i];
        break;
    case LF_ELU:
        for (size_t i = 0; i < n; i++) dz[i] = z[i] >= 0 ? dy[i] : dy[i] * (y[i] + 1.0f);
        break;
    case LF_GELU:
        for (size_t i = 0; i < n; i++) {
            double x = z[i];
            double cdf = 0.5 * (1.0 + erf(x * INV_SQRT2));
            double pdf = INV_SQRT2PI * exp(-0.5 * x * x);
            dz[i] = (float)(dy[i] * (cdf + x * pdf));
        }
        break;
    case LF_SIGMOID:
        for (size_t i = 0; i < n; i++) dz[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case LF_TANH:
        for (size_t i = 0; i < n; i++) dz[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    case LF_SOFTMAX:
        for (size_t r = 0; r < B; r++) {
            const float *yr = y + r * D, *dyr = dy + r * D;
            float *dzr = dz + r * D;
            double s = 0;
            for (size_t j = 0; j < D; j++) s += (double)dyr[j] * yr[j];
            for (size_t j = 0; j < D; j++) dzr[j] = yr[j] * (dyr[j] - (float)s);
        }
        break;
    }
}
