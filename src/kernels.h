/*
 * kernels.h — the pure math of the engine: one sgemm-shaped interface for
 * every matrix product, and the activation functions.  Every function is a
 * pure function of its arguments (float *restrict + dimensions), testable on
 * its own, and deterministic: results never depend on the thread count.
 */
#ifndef LF_KERNELS_H
#define LF_KERNELS_H

#include "latefuse.h"
#include <stddef.h>

/* Hot loops are compiled for x86-64-v4 (AVX-512, GCC only), for AVX2 and
 * for the baseline, and the right one is picked when the program loads
 * (GCC/clang function multi-versioning; used on static functions only,
 * behind plain extern wrappers, so that no caller needs to know).  They
 * compute the same results: no reassociation (no fast-math) and no FMA
 * contraction, so a loop's vector width changes only how many lanes
 * compute at once.  GCC contracts nothing under -std=c11
 * (-ffp-contract=off); clang would fuse multiply-adds where the target has
 * FMA, which x86-64-v4 has and "avx2" alone has not, so clang builds keep
 * the AVX2 and baseline clones. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang_analyzer__) && !defined(LF_NO_CLONES) && \
    !defined(__clang__) && __GNUC__ >= 12
#define LF_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#elif defined(__x86_64__) && defined(__GNUC__) && !defined(__clang_analyzer__) && !defined(LF_NO_CLONES) && \
    (defined(__clang__) ? __clang_major__ >= 14 : __GNUC__ >= 6)
#define LF_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define LF_CLONES
#endif

/* C (M x N) = alpha * op(A) (M x K) * op(B) (K x N) + beta * C, row-major.
 * op(A) = A (M x K, lda) or, with trans_a, A^T where A is K x M (lda);
 * op(B) = B (K x N, ldb) or, with trans_b, B^T where B is N x K (ldb).
 * beta == 0 overwrites C (C's old contents, even NaN, are ignored).
 * Subnormal operands and products count as zero (on x86: FTZ/DAZ while the
 * product runs, in each thread; the caller's mode is restored). */
void lf_sgemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
              const float *restrict A, size_t lda, const float *restrict B, size_t ldb,
              float beta, float *restrict C, size_t ldc);

/* C (M x N) = relu?(op(A) op(B) + bias) (bias: N values or NULL; relu 0/1):
 * lf_sgemm with alpha 1, beta 0 and the bias and the activation applied to
 * each tile of C while it is still in registers.  The same bits as lf_sgemm
 * followed by adding the bias and then taking max(x, 0). */
void lf_sgemm_bias_relu(int trans_a, int trans_b, size_t M, size_t N, size_t K,
                        const float *restrict A, size_t lda, const float *restrict B, size_t ldb,
                        const float *restrict bias, int relu, float *restrict C, size_t ldc);

/* y = act(z) over B rows of D features (y may equal z except for softmax
 * and gelu, which read z after writing y: pass distinct buffers). */
void lf_act_forward(lf_activation a, float *restrict y, const float *restrict z, size_t B,
                    size_t D);

/* dz = dy * act'(z), given z and y = act(z); for softmax the full Jacobian
 * product dz = y * (dy - <dy, y>) per row, for log_softmax dz = dy -
 * exp(y) sum(dy) per row, for sparsemax dz = dy - mean(dy) on the row's
 * support (y > 0) and 0 off it.  Overwrites dz. */
void lf_act_backward(lf_activation a, float *restrict dz, const float *restrict dy,
                     const float *restrict z, const float *restrict y, size_t B, size_t D);

/* Index of the largest of the n values (ties: the lowest index). */
size_t lf_argmax_f(const float *v, size_t n);

/* In-place softmax of each of B rows of D values (max-subtracted). */
void lf_softmax_rows(float *x, size_t B, size_t D);


#endif
