/*
 * kernels.c — sgemm and activations (see kernels.h).
 *
 * The sgemm packs and blocks for the caches and runs an AVX2+FMA
 * micro-kernel where the CPU has one (details below); activations are plain
 * loops with the stable formulas.
 */
#include "kernels.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------------------- sgemm
 *
 * Packed, cache-blocked GEMM in the GotoBLAS style.  op(B) is copied in
 * KC x NC blocks into panels of NR columns and op(A) in MC x KC blocks into
 * panels of MR rows (zero-padded), so the micro-kernel streams both from
 * contiguous memory; an MR x NR block of C lives in registers for KC steps.
 * The micro-kernel is AVX2+FMA when the CPU has it (chosen at run time), a
 * portable loop otherwise.  Threads (OpenMP, above a work threshold) split
 * the columns of C: every element of C is computed by one thread, with the
 * k-sum always in the same order, so results never depend on the number of
 * threads.  Pack buffers live on the stack: nothing is allocated.
 */
#define MR 6
#define NR 16
#define KC 256
#define MC 96
#define NC 256
#define PARALLEL_FLOPS (1 << 22) /* below this, one thread */

typedef void (*micro_fn)(size_t kc, const float *restrict a, const float *restrict b,
                         float *restrict acc);

/* acc (MR x NR) = sum_k a[k*MR + i] * b[k*NR + j] */
static void micro_portable(size_t kc, const float *restrict a, const float *restrict b,
                           float *restrict acc) {
    float c[MR][NR] = {{0}};
    for (size_t k = 0; k < kc; k++, a += MR, b += NR)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) c[i][j] += a[i] * b[j];
    memcpy(acc, c, sizeof c);
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define HAVE_AVX2_KERNEL 1
__attribute__((target("avx2,fma"))) static void micro_avx2(size_t kc, const float *restrict a,
                                                           const float *restrict b,
                                                           float *restrict acc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (size_t k = 0; k < kc; k++, a += MR, b += NR) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), ai;
        ai = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(ai, b0, c00), c01 = _mm256_fmadd_ps(ai, b1, c01);
        ai = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(ai, b0, c10), c11 = _mm256_fmadd_ps(ai, b1, c11);
        ai = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(ai, b0, c20), c21 = _mm256_fmadd_ps(ai, b1, c21);
        ai = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(ai, b0, c30), c31 = _mm256_fmadd_ps(ai, b1, c31);
        ai = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(ai, b0, c40), c41 = _mm256_fmadd_ps(ai, b1, c41);
        ai = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(ai, b0, c50), c51 = _mm256_fmadd_ps(ai, b1, c51);
    }
    _mm256_storeu_ps(acc + 0, c00), _mm256_storeu_ps(acc + 8, c01);
    _mm256_storeu_ps(acc + 16, c10), _mm256_storeu_ps(acc + 24, c11);
    _mm256_storeu_ps(acc + 32, c20), _mm256_storeu_ps(acc + 40, c21);
    _mm256_storeu_ps(acc + 48, c30), _mm256_storeu_ps(acc + 56, c31);
    _mm256_storeu_ps(acc + 64, c40), _mm256_storeu_ps(acc + 72, c41);
    _mm256_storeu_ps(acc + 80, c50), _mm256_storeu_ps(acc + 88, c51);
}
#endif

static micro_fn pick_kernel(void) {
#ifdef HAVE_AVX2_KERNEL
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return micro_avx2;
#endif
    return micro_portable;
}

/* Packs the block [o0, o0+on) x [k0, k0+kc) of a matrix seen as X[o][k]
 * into panels of `width` values of o per k (zero-padded).  X[o][k] is
 * X[k*ld + o] when o_contiguous, else X[o*ld + k].  op(A) packs with width
 * MR (o = row i, contiguous when A is transposed), op(B) with width NR
 * (o = column j, contiguous when B is not). */
static void pack(float *restrict dst, size_t width, int o_contiguous, const float *restrict X,
                 size_t ld, size_t o0, size_t on, size_t k0, size_t kc) {
    for (size_t p = 0; p < on; p += width) {
        size_t n = on - p < width ? on - p : width;
        for (size_t k = 0; k < kc; k++, dst += width) {
            size_t i = 0;
            if (o_contiguous) {
                const float *src = X + (k0 + k) * ld + o0 + p;
                for (; i < n; i++) dst[i] = src[i];
            } else {
                const float *src = X + (o0 + p) * ld + k0 + k;
                for (; i < n; i++) dst[i] = src[i * ld];
            }
            for (; i < width; i++) dst[i] = 0.0f;
        }
    }
}

/* the columns [j0, j0+nc) of C, all rows, all of K */
static void gemm_columns(micro_fn micro, int trans_a, int trans_b, size_t M, size_t K, float alpha,
                         const float *restrict A, size_t lda, const float *restrict B, size_t ldb,
                         float *restrict C, size_t ldc, size_t j0, size_t nc) {
    float bpack[KC * NC], apack[MC * KC], acc[MR * NR];
    for (size_t pc = 0; pc < K; pc += KC) {
        size_t kc = K - pc < KC ? K - pc : KC;
        pack(bpack, NR, !trans_b, B, ldb, j0, nc, pc, kc);
        for (size_t ic = 0; ic < M; ic += MC) {
            size_t mc = M - ic < MC ? M - ic : MC;
            pack(apack, MR, trans_a, A, lda, ic, mc, pc, kc);
            for (size_t jr = 0; jr < nc; jr += NR) {
                size_t nr = nc - jr < NR ? nc - jr : NR;
                for (size_t ir = 0; ir < mc; ir += MR) {
                    size_t mr = mc - ir < MR ? mc - ir : MR;
                    micro(kc, apack + ir * kc, bpack + jr * kc, acc);
                    for (size_t i = 0; i < mr; i++) {
                        float *c = C + (ic + ir + i) * ldc + j0 + jr;
                        const float *t = acc + i * NR;
                        for (size_t j = 0; j < nr; j++) c[j] += alpha * t[j];
                    }
                }
            }
        }
    }
}

/* small products: plain loops, each in the order that reads memory
 * contiguously (packing costs more than it saves here) */
static float dot_f(const float *restrict a, const float *restrict b, size_t n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        s0 += a[k] * b[k], s1 += a[k + 1] * b[k + 1], s2 += a[k + 2] * b[k + 2];
        s3 += a[k + 3] * b[k + 3], s4 += a[k + 4] * b[k + 4], s5 += a[k + 5] * b[k + 5];
        s6 += a[k + 6] * b[k + 6], s7 += a[k + 7] * b[k + 7];
    }
    for (; k < n; k++) s0 += a[k] * b[k];
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}

LF_CLONES static void gemm_small(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                       const float *restrict A, size_t lda, const float *restrict B, size_t ldb,
                       float *restrict C, size_t ldc) {
    for (size_t i = 0; i < M; i++) {
        float *restrict c = C + i * ldc;
        if (trans_b && !trans_a) { /* rows of A and B are both contiguous in k */
            for (size_t j = 0; j < N; j++) c[j] += alpha * dot_f(A + i * lda, B + j * ldb, K);
            continue;
        }
        for (size_t k = 0; k < K; k++) {
            float aik = alpha * (trans_a ? A[k * lda + i] : A[i * lda + k]);
            if (!trans_b) {
                const float *restrict b = B + k * ldb;
                for (size_t j = 0; j < N; j++) c[j] += aik * b[j];
            } else {
                for (size_t j = 0; j < N; j++) c[j] += aik * B[j * ldb + k];
            }
        }
    }
}

void lf_sgemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
              const float *restrict A, size_t lda, const float *restrict B, size_t ldb,
              float beta, float *restrict C, size_t ldc) {
    for (size_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f) memset(c, 0, N * sizeof *c);
        else if (beta != 1.0f)
            for (size_t j = 0; j < N; j++) c[j] *= beta;
    }
    if (M == 0 || N == 0 || K == 0) return;
    double flops = 2.0 * (double)M * (double)N * (double)K;
    if (flops < 65536.0 || (M < MR && N < NR)) {
        gemm_small(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, C, ldc);
        return;
    }
    micro_fn micro = pick_kernel();
    size_t panels = (N + NC - 1) / NC;
    /* the same split of columns whatever the thread count: each panel is
     * one unit of work, computed the same way by whichever thread */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (flops >= PARALLEL_FLOPS && panels > 1)
#endif
    for (size_t p = 0; p < panels; p++) {
        size_t j0 = p * NC, nc = N - j0 < NC ? N - j0 : NC;
        gemm_columns(micro, trans_a, trans_b, M, K, alpha, A, lda, B, ldb, C, ldc, j0, nc);
    }
}

size_t lf_argmax_f(const float *v, size_t n) {
    size_t best = 0;
    for (size_t j = 1; j < n; j++)
        if (v[j] > v[best]) best = j;
    return best;
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

LF_CLONES static void act_forward(lf_activation a, float *restrict y, const float *restrict z, size_t B,
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

LF_CLONES static void act_backward(lf_activation a, float *restrict dz, const float *restrict dy,
                                   const float *restrict z, const float *restrict y, size_t B, size_t D) {
    size_t n = B * D;
    switch (a) {
    case LF_LINEAR:
        memcpy(dz, dy, n * sizeof *dz);
        break;
    case LF_RELU: /* dy read unconditionally, so the loop vectorises */
        for (size_t i = 0; i < n; i++) {
            float g = dy[i];
            dz[i] = z[i] > 0 ? g : 0.0f;
        }
        break;
    case LF_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) {
            float g = dy[i];
            dz[i] = z[i] >= 0 ? g : LEAKY_SLOPE * g;
        }
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

void lf_act_forward(lf_activation a, float *restrict y, const float *restrict z, size_t B,
                    size_t D) {
    act_forward(a, y, z, B, D);
}

void lf_act_backward(lf_activation a, float *restrict dz, const float *restrict dy,
                     const float *restrict z, const float *restrict y, size_t B, size_t D) {
    act_backward(a, dz, dy, z, y, B, D);
}
