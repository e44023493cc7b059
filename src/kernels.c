/*
 * kernels.c — sgemm and activations (see kernels.h).
 *
 * The sgemm packs and blocks for the caches and runs an AVX-512 or AVX2+FMA
 * micro-kernel where the CPU has one (details below); activations are plain
 * loops with the stable formulas.
 */
#include "kernels.h"
#include "testing.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* ------------------------------------------------------------- sgemm
 *
 * Packed, cache-blocked GEMM in the GotoBLAS style.  op(B) is copied in
 * KC x NC blocks into panels of NR columns and op(A) in MC x KC blocks into
 * panels of MR rows (zero-padded), so the micro-kernel streams both from
 * contiguous memory; an MR x NR block of C lives in registers for KC steps
 * and is then added to C in place (or stored, on the first k-block when
 * beta == 0), with the optional epilogue (bias, relu) of the last k-block
 * applied while the tile is still in registers.
 *
 * The micro-kernel is chosen at run time: AVX-512 (12 x 32, 24 zmm
 * accumulators), AVX2+FMA (6 x 16), or a portable loop.  Every element of C
 * is one FMA chain over k in order within a k-block, k-blocks summed in
 * order, so the AVX-512 and AVX2 kernels give the same bits.
 *
 * Threads (OpenMP, above a work threshold) split C into column (or, for
 * narrow C, row) ranges aligned to the micro-tile: every element of C is
 * computed by one thread, in the same way whatever the split, so results
 * never depend on the number of threads.  Pack buffers live on the stack:
 * nothing is allocated (a C wider than one column block, NC, packs its
 * op(A) blocks again for each column block).
 *
 * Products too small to repay packing take direct loops (gemm_small), with
 * SIMD dot products when both operands are contiguous in k (x w^T, the
 * Dense forward of a few rows); other forms leave the loops early (the
 * Winograd layers' 32-tile products go through the micro-kernels).
 *
 * Subnormals are flushed to zero in every product (on x86, the FTZ and DAZ
 * bits of the computing thread's MXCSR, set for each block of C and
 * restored after it): a subnormal operand or result costs a microcode
 * assist of about a hundred cycles on many x86 cores, and a network whose
 * weights shrink under an L2 penalty (a dead unit's, a gate pulled to
 * zero) produces them in every step, even with optim.c flushing the
 * weights themselves (products of small normal numbers).  Each block of C
 * is computed entirely under the flush in the thread that computes it, so
 * the results still do not depend
 * on the number of threads or on the micro-kernel; they differ from exact
 * IEEE arithmetic only where an operand or result is below 1.2e-38.
 */
#if defined(__x86_64__) || (defined(__i386__) && defined(__SSE2__))
#include <xmmintrin.h>
/* FTZ (bit 15) and DAZ (bit 6) of MXCSR: subnormal results and operands
 * taken as zero; returns the mode to restore */
static inline unsigned flush_subnormals(void) {
    unsigned mode = _mm_getcsr();
    _mm_setcsr(mode | 0x8040u);
    return mode;
}
static inline void restore_fp_mode(unsigned mode) { _mm_setcsr(mode); }
#else
static inline unsigned flush_subnormals(void) { return 0; }
static inline void restore_fp_mode(unsigned mode) { (void)mode; }
#endif

#define KC 256
#define MC 96 /* a multiple of both MR (6, 12) */
#define NC 256
#define MR_MAX 12
#define NR_MAX 32
#define PARALLEL_FLOPS (1 << 22) /* below this, one thread */
/* below these flop counts a product takes gemm_small: x w^T's dot products
 * up to 65536, every other form (row-at-a-time multiply-adds, far slower
 * than a micro-kernel with B read in place) only up to 8192 */
#define SMALL_DOTS 65536.0
#define SMALL_FLOPS 8192.0
#define DIRECT_LD_MAX 512 /* operands read in place only below this leading dimension */

typedef struct epilogue {
    const float *bias; /* per column, NULL if none */
    int relu;
} epilogue;

/* acc (MR x NR) = sum_k a[k*as + i] * b[k*bs + j]; then for i < mr, j < nr:
 * c[i][j] = (load ? c[i][j] : 0) + alpha * acc[i][j], then + bias[j], then
 * max(., 0) when relu (bias/relu: the caller passes them on the last
 * k-block only). */
typedef void (*micro_fn)(size_t kc, const float *restrict a, size_t as, const float *restrict b,
                         size_t bs, float *restrict c, size_t ldc, size_t mr, size_t nr,
                         float alpha, int load, const float *restrict bias, int relu);

/* direct: the kernel reads only the mr x nr part of the tile from a and b
 * (rows of a in groups of 4, columns of b by masked loads), so an operand
 * that already has the panel layout (A transposed, B not) is read in place
 * with as = lda or bs = ldb, unpacked (see gemm_block); micro_rows (NULL
 * but for such a kernel) reads A untransposed in place: its `as` is the
 * row stride, acc = sum_k a[i*as + k] * b[k*bs + j]. */
typedef struct gemm_kernel {
    micro_fn micro;
    micro_fn micro_rows;
    size_t mr, nr;
    int direct;
} gemm_kernel;

/* the scalar update of a tile held in acc (row stride NR) */
static void tile_update(float *restrict c, size_t ldc, const float *restrict acc, size_t NR,
                        size_t mr, size_t nr, float alpha, int load, const float *restrict bias,
                        int relu) {
    for (size_t i = 0; i < mr; i++) {
        float *ci = c + i * ldc;
        const float *t = acc + i * NR;
        for (size_t j = 0; j < nr; j++) {
            float v = alpha * t[j];
            if (load) v = ci[j] + v;
            if (bias) v = v + bias[j];
            if (relu) v = v > 0 ? v : 0.0f;
            ci[j] = v;
        }
    }
}

#define P_MR 6
#define P_NR 16
static void micro_portable(size_t kc, const float *restrict a, size_t as,
                           const float *restrict b, size_t bs, float *restrict c, size_t ldc,
                           size_t mr, size_t nr, float alpha, int load,
                           const float *restrict bias, int relu) {
    float acc[P_MR][P_NR] = {{0}};
    for (size_t k = 0; k < kc; k++, a += as, b += bs)
        for (int i = 0; i < P_MR; i++)
            for (int j = 0; j < P_NR; j++) acc[i][j] += a[i] * b[j];
    tile_update(c, ldc, &acc[0][0], P_NR, mr, nr, alpha, load, bias, relu);
}

#if defined(__GNUC__) && defined(__x86_64__) && !defined(LF_NO_SIMD)
#include <immintrin.h>
#define HAVE_X86_KERNELS 1

/* ---- AVX2 + FMA, 6 x 16 */
#define A2_MR 6
#define A2_NR 16
__attribute__((target("avx2,fma"))) static inline __m256
upd256(__m256 acc, const float *c, __m256 va, int load, const float *bias, __m256 zero,
       int relu) {
    __m256 v = _mm256_mul_ps(va, acc);
    if (load) v = _mm256_add_ps(_mm256_loadu_ps(c), v);
    if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias));
    if (relu) v = _mm256_max_ps(v, zero);
    return v;
}

__attribute__((target("avx2,fma"))) static void
micro_avx2(size_t kc, const float *restrict a, size_t as, const float *restrict b, size_t bs,
           float *restrict c, size_t ldc, size_t mr, size_t nr, float alpha, int load,
           const float *restrict bias, int relu) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (size_t k = 0; k < kc; k++, a += as, b += bs) {
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
    if (mr == A2_MR && nr == A2_NR) {
        __m256 va = _mm256_set1_ps(alpha), zero = _mm256_setzero_ps();
#define A2_ROW(i, x0, x1)                                                                  \
    do {                                                                                   \
        float *ci = c + (i) * ldc;                                                         \
        __m256 v0 = upd256(x0, ci, va, load, bias, zero, relu);                            \
        __m256 v1 = upd256(x1, ci + 8, va, load, bias ? bias + 8 : NULL, zero, relu);      \
        _mm256_storeu_ps(ci, v0), _mm256_storeu_ps(ci + 8, v1);                            \
    } while (0)
        A2_ROW(0, c00, c01); A2_ROW(1, c10, c11); A2_ROW(2, c20, c21);
        A2_ROW(3, c30, c31); A2_ROW(4, c40, c41); A2_ROW(5, c50, c51);
#undef A2_ROW
        return;
    }
    float acc[A2_MR * A2_NR];
    _mm256_storeu_ps(acc + 0, c00), _mm256_storeu_ps(acc + 8, c01);
    _mm256_storeu_ps(acc + 16, c10), _mm256_storeu_ps(acc + 24, c11);
    _mm256_storeu_ps(acc + 32, c20), _mm256_storeu_ps(acc + 40, c21);
    _mm256_storeu_ps(acc + 48, c30), _mm256_storeu_ps(acc + 56, c31);
    _mm256_storeu_ps(acc + 64, c40), _mm256_storeu_ps(acc + 72, c41);
    _mm256_storeu_ps(acc + 80, c50), _mm256_storeu_ps(acc + 88, c51);
    tile_update(c, ldc, acc, A2_NR, mr, nr, alpha, load, bias, relu);
}

/* ---- AVX-512, 12 x 32: 24 accumulators, edges by masks */
#define A5_MR 12
#define A5_NR 32
#define A5_TARGET __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,fma")))
A5_TARGET static inline void upd512(float *c, __m512 acc, __mmask16 mk, __m512 va, int load,
                                    const float *bias, int relu) {
    __m512 v = _mm512_mul_ps(va, acc);
    if (load) v = _mm512_add_ps(_mm512_maskz_loadu_ps(mk, c), v);
    if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, bias));
    if (relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
    _mm512_mask_storeu_ps(c, mk, v);
}

/* The kernel body for ROWS (4, 8, 12) rows of a and NW (1, 2) zmm of b,
 * both constants after inlining: an edge tile of mr <= 8 rows or nr <= 16
 * columns runs only the FMAs it needs.  b is read by masked loads (lanes
 * j >= nr neither read nor used), a for rows i < ROWS only. */
#define A5_ZERO(x) __m512 x = _mm512_setzero_ps()
A5_TARGET __attribute__((always_inline)) static inline void
micro512_body(const int ROWS, const int NW, size_t kc, const float *restrict a, size_t as, size_t ars,
              const float *restrict b, size_t bs, float *restrict c, size_t ldc, size_t mr,
              size_t nr, float alpha, int load, const float *restrict bias, int relu) {
    A5_ZERO(c00); A5_ZERO(c01); A5_ZERO(c10); A5_ZERO(c11); A5_ZERO(c20); A5_ZERO(c21);
    A5_ZERO(c30); A5_ZERO(c31); A5_ZERO(c40); A5_ZERO(c41); A5_ZERO(c50); A5_ZERO(c51);
    A5_ZERO(c60); A5_ZERO(c61); A5_ZERO(c70); A5_ZERO(c71); A5_ZERO(c80); A5_ZERO(c81);
    A5_ZERO(c90); A5_ZERO(c91); A5_ZERO(cA0); A5_ZERO(cA1); A5_ZERO(cB0); A5_ZERO(cB1);
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
    for (size_t k = 0; k < kc; k++, a += as, b += bs) {
        __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = b0, ai;
        if (NW > 1) b1 = _mm512_maskz_loadu_ps(m1, b + 16);
#define A5_K(i, x0, x1)                                                                    \
    if ((i) < ROWS) {                                                                      \
        ai = _mm512_set1_ps(a[(i) * ars]);                                                 \
        x0 = _mm512_fmadd_ps(ai, b0, x0);                                                  \
        if (NW > 1) x1 = _mm512_fmadd_ps(ai, b1, x1);                                      \
    }
        A5_K(0, c00, c01) A5_K(1, c10, c11) A5_K(2, c20, c21) A5_K(3, c30, c31)
        A5_K(4, c40, c41) A5_K(5, c50, c51) A5_K(6, c60, c61) A5_K(7, c70, c71)
        A5_K(8, c80, c81) A5_K(9, c90, c91) A5_K(10, cA0, cA1) A5_K(11, cB0, cB1)
#undef A5_K
    }
    __m512 va = _mm512_set1_ps(alpha);
    const float *bias1 = bias ? bias + 16 : NULL;
#define A5_ROW(i, x0, x1)                                                                  \
    if ((i) < ROWS && (i) < mr) {                                                          \
        float *ci = c + (size_t)(i) * ldc;                                                 \
        upd512(ci, x0, m0, va, load, bias, relu);                                          \
        if (NW > 1 && m1) upd512(ci + 16, x1, m1, va, load, bias1, relu);                  \
    }
    A5_ROW(0, c00, c01) A5_ROW(1, c10, c11) A5_ROW(2, c20, c21) A5_ROW(3, c30, c31)
    A5_ROW(4, c40, c41) A5_ROW(5, c50, c51) A5_ROW(6, c60, c61) A5_ROW(7, c70, c71)
    A5_ROW(8, c80, c81) A5_ROW(9, c90, c91) A5_ROW(10, cA0, cA1) A5_ROW(11, cB0, cB1)
#undef A5_ROW
}
#undef A5_ZERO

/* micro512_body for tiles of nr <= 8 columns: one ymm per row (half the
 * work of a zmm where 512-bit operations are split in two, as on Zen 4) */
A5_TARGET static inline void upd256m(float *c, __m256 acc, __mmask8 mk, __m256 va, int load,
                                     const float *bias, int relu) {
    __m256 v = _mm256_mul_ps(va, acc);
    if (load) v = _mm256_add_ps(_mm256_maskz_loadu_ps(mk, c), v);
    if (bias) v = _mm256_add_ps(v, _mm256_maskz_loadu_ps(mk, bias));
    if (relu) v = _mm256_max_ps(v, _mm256_setzero_ps());
    _mm256_mask_storeu_ps(c, mk, v);
}

#define A5_ZERO8(x) __m256 x = _mm256_setzero_ps()
A5_TARGET __attribute__((always_inline)) static inline void
micro512_body8(const int ROWS, size_t kc, const float *restrict a, size_t as, size_t ars,
               const float *restrict b, size_t bs, float *restrict c, size_t ldc, size_t mr,
               size_t nr, float alpha, int load, const float *restrict bias, int relu) {
    A5_ZERO8(c0); A5_ZERO8(c1); A5_ZERO8(c2); A5_ZERO8(c3); A5_ZERO8(c4); A5_ZERO8(c5);
    A5_ZERO8(c6); A5_ZERO8(c7); A5_ZERO8(c8); A5_ZERO8(c9); A5_ZERO8(cA); A5_ZERO8(cB);
    __mmask8 m = nr >= 8 ? (__mmask8)0xFF : (__mmask8)((1u << nr) - 1);
    for (size_t k = 0; k < kc; k++, a += as, b += bs) {
        __m256 b0 = _mm256_maskz_loadu_ps(m, b);
#define A5_K8(i, x) \
    if ((i) < ROWS) x = _mm256_fmadd_ps(_mm256_set1_ps(a[(i) * ars]), b0, x);
        A5_K8(0, c0) A5_K8(1, c1) A5_K8(2, c2) A5_K8(3, c3) A5_K8(4, c4) A5_K8(5, c5)
        A5_K8(6, c6) A5_K8(7, c7) A5_K8(8, c8) A5_K8(9, c9) A5_K8(10, cA) A5_K8(11, cB)
#undef A5_K8
    }
    __m256 va = _mm256_set1_ps(alpha);
#define A5_ROW8(i, x) \
    if ((i) < ROWS && (i) < mr) upd256m(c + (size_t)(i) * ldc, x, m, va, load, bias, relu);
    A5_ROW8(0, c0) A5_ROW8(1, c1) A5_ROW8(2, c2) A5_ROW8(3, c3) A5_ROW8(4, c4) A5_ROW8(5, c5)
    A5_ROW8(6, c6) A5_ROW8(7, c7) A5_ROW8(8, c8) A5_ROW8(9, c9) A5_ROW8(10, cA) A5_ROW8(11, cB)
#undef A5_ROW8
}
#undef A5_ZERO8

/* a[i*ars + k*as]: ars = 1 for a panel (packed, or A^T in place), as = 1
 * for A read by rows in place */
A5_TARGET __attribute__((always_inline)) static inline void
micro512_any(size_t kc, const float *restrict a, size_t as, size_t ars, const float *restrict b,
             size_t bs, float *restrict c, size_t ldc, size_t mr, size_t nr, float alpha, int load,
             const float *restrict bias, int relu) {
#define A5_CALL(R, W) micro512_body(R, W, kc, a, as, ars, b, bs, c, ldc, mr, nr, alpha, load, bias, relu)
#define A5_CALL8(R) micro512_body8(R, kc, a, as, ars, b, bs, c, ldc, mr, nr, alpha, load, bias, relu)
    if (nr > 16) {
        if (mr > 8) A5_CALL(12, 2);
        else if (mr > 4) A5_CALL(8, 2);
        else A5_CALL(4, 2);
    } else if (nr <= 8) {
        if (mr > 8) A5_CALL8(12);
        else if (mr > 4) A5_CALL8(8);
        else A5_CALL8(4);
    } else {
        if (mr > 8) A5_CALL(12, 1);
        else if (mr > 4) A5_CALL(8, 1);
        else A5_CALL(4, 1);
    }
#undef A5_CALL
#undef A5_CALL8
}

A5_TARGET static void micro_avx512(size_t kc, const float *restrict a, size_t as,
                                   const float *restrict b, size_t bs, float *restrict c,
                                   size_t ldc, size_t mr, size_t nr, float alpha, int load,
                                   const float *restrict bias, int relu) {
    micro512_any(kc, a, as, 1, b, bs, c, ldc, mr, nr, alpha, load, bias, relu);
}

A5_TARGET static void micro_avx512_rows(size_t kc, const float *restrict a, size_t ars,
                                        const float *restrict b, size_t bs, float *restrict c,
                                        size_t ldc, size_t mr, size_t nr, float alpha, int load,
                                        const float *restrict bias, int relu) {
    micro512_any(kc, a, 1, ars, b, bs, c, ldc, mr, nr, alpha, load, bias, relu);
}

static int has_avx512(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
}
#endif

static gemm_kernel pick_kernel(void) {
#ifdef HAVE_X86_KERNELS
    if (has_avx512())
        return (gemm_kernel){micro_avx512, micro_avx512_rows, A5_MR, A5_NR, 1};
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return (gemm_kernel){micro_avx2, NULL, A2_MR, A2_NR, 0};
#endif
    return (gemm_kernel){micro_portable, NULL, P_MR, P_NR, 0};
}

/* The transposing part of pack: dst[k*width + i] = src[i*ld + k] for the
 * first rows i (a multiple of 8, at most n) and all k < kc, by 8 x 8 blocks
 * transposed in AVX registers; returns how many rows it did. */
#ifdef HAVE_X86_KERNELS
/* d[k*width + r] = s[r*ld + k] for r, k < 4 */
static inline void t4x4(float *restrict d, size_t width, const float *restrict s, size_t ld) {
    __m128 r0 = _mm_loadu_ps(s), r1 = _mm_loadu_ps(s + ld);
    __m128 r2 = _mm_loadu_ps(s + 2 * ld), r3 = _mm_loadu_ps(s + 3 * ld);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps(d, r0), _mm_storeu_ps(d + width, r1);
    _mm_storeu_ps(d + 2 * width, r2), _mm_storeu_ps(d + 3 * width, r3);
}

__attribute__((target("avx2"))) static size_t pack_t8_avx2(float *restrict dst, size_t width,
                                                           const float *restrict src, size_t ld,
                                                           size_t n, size_t kc) {
    size_t rows = n - n % 8;
    for (size_t i = 0; i < rows; i += 8) {
        const float *s = src + i * ld;
        size_t k = 0;
        for (; k + 8 <= kc; k += 8) {
            __m256 r0 = _mm256_loadu_ps(s + k), r1 = _mm256_loadu_ps(s + ld + k);
            __m256 r2 = _mm256_loadu_ps(s + 2 * ld + k), r3 = _mm256_loadu_ps(s + 3 * ld + k);
            __m256 r4 = _mm256_loadu_ps(s + 4 * ld + k), r5 = _mm256_loadu_ps(s + 5 * ld + k);
            __m256 r6 = _mm256_loadu_ps(s + 6 * ld + k), r7 = _mm256_loadu_ps(s + 7 * ld + k);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *d = dst + k * width + i;
            _mm256_storeu_ps(d + 0 * width, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(d + 1 * width, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(d + 2 * width, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(d + 3 * width, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(d + 4 * width, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(d + 5 * width, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(d + 6 * width, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(d + 7 * width, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
        for (; k + 4 <= kc; k += 4) {
            t4x4(dst + k * width + i, width, s + k, ld);
            t4x4(dst + k * width + i + 4, width, s + 4 * ld + k, ld);
        }
        for (; k < kc; k++)
            for (size_t r = 0; r < 8; r++) dst[k * width + i + r] = s[r * ld + k];
    }
    return rows;
}

/* pack_t8's companion for the next 4 rows: 4 x 4 blocks in SSE registers */
static size_t pack_t4_sse(float *restrict dst, size_t width, const float *restrict src, size_t ld,
                          size_t kc) {
    size_t k = 0;
    for (; k + 4 <= kc; k += 4) t4x4(dst + k * width, width, src + k, ld);
    for (; k < kc; k++)
        for (size_t r = 0; r < 4; r++) dst[k * width + r] = src[r * ld + k];
    return 4;
}
#endif

/* The contiguous part of pack with AVX-512: dst[k*width + i] = src[k*ld + i]
 * for i < n, zero for n <= i < width, by masked loads (width <= 32). */
#ifdef HAVE_X86_KERNELS
A5_TARGET static void pack_c_avx512(float *restrict dst, size_t width, const float *restrict src,
                                    size_t ld, size_t n, size_t kc) {
    __mmask16 l0 = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
    __mmask16 l1 = n >= 32 ? (__mmask16)0xFFFF : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
    __mmask16 s0 = width >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << width) - 1);
    __mmask16 s1 = width >= 32 ? (__mmask16)0xFFFF : width <= 16 ? 0 : (__mmask16)((1u << (width - 16)) - 1);
    for (size_t k = 0; k < kc; k++, dst += width, src += ld) {
        _mm512_mask_storeu_ps(dst, s0, _mm512_maskz_loadu_ps(l0, src));
        if (s1) _mm512_mask_storeu_ps(dst + 16, s1, _mm512_maskz_loadu_ps(l1, src + 16));
    }
}
#endif

static size_t pack_t8(float *restrict dst, size_t width, const float *restrict src, size_t ld,
                      size_t n, size_t kc) {
#ifdef HAVE_X86_KERNELS
    if (__builtin_cpu_supports("avx2")) return pack_t8_avx2(dst, width, src, ld, n, kc);
#endif
    (void)dst, (void)width, (void)src, (void)ld, (void)n, (void)kc;
    return 0;
}

/* Packs the block [o0, o0+on) x [k0, k0+kc) of a matrix seen as X[o][k]
 * into panels of `width` values of o per k (zero-padded).  X[o][k] is
 * X[k*ld + o] when o_contiguous, else X[o*ld + k] (then each o is read
 * along k, contiguously, and written with a stride).  op(A) packs with
 * width MR (o = row i, contiguous when A is transposed), op(B) with width
 * NR (o = column j, contiguous when B is not). */
LF_CLONES static void pack(float *restrict dst, size_t width, int o_contiguous,
                           const float *restrict X, size_t ld, size_t o0, size_t on, size_t k0,
                           size_t kc) {
    for (size_t p = 0; p < on; p += width, dst += kc * width) {
        size_t n = on - p < width ? on - p : width;
        if (o_contiguous) {
#ifdef HAVE_X86_KERNELS
            if (width <= 32 && has_avx512()) {
                pack_c_avx512(dst, width, X + k0 * ld + o0 + p, ld, n, kc);
                continue;
            }
#endif
            float *d = dst;
            for (size_t k = 0; k < kc; k++, d += width) {
                const float *src = X + (k0 + k) * ld + o0 + p;
                size_t i = 0;
                for (; i < n; i++) d[i] = src[i];
                for (; i < width; i++) d[i] = 0.0f;
            }
        } else {
            size_t i = pack_t8(dst, width, X + (o0 + p) * ld + k0, ld, n, kc);
#ifdef HAVE_X86_KERNELS
            if (n - i >= 4) i += pack_t4_sse(dst + i, width, X + (o0 + p + i) * ld + k0, ld, kc);
#endif
            for (; i < n; i++) {
                const float *src = X + (o0 + p + i) * ld + k0;
                for (size_t k = 0; k < kc; k++) dst[k * width + i] = src[k];
            }
            for (size_t k = 0; i < width && k < kc; k++) { /* the padding rows */
                float *d = dst + k * width;
                size_t z = i;
#ifdef HAVE_X86_KERNELS
                for (; z + 4 <= width; z += 4) _mm_storeu_ps(d + z, _mm_setzero_ps());
#endif
                for (; z < width; z++) d[z] = 0.0f;
            }
        }
    }
}

/* C rows [i0, i1) x columns [j0, j1), all of K; the first k-block adds to
 * C when load0, else overwrites it. */
static void gemm_block(const gemm_kernel *kn, int trans_a, int trans_b, size_t i0, size_t i1,
                       size_t j0, size_t j1, size_t K, float alpha, const float *restrict A,
                       size_t lda, const float *restrict B, size_t ldb, int load0,
                       float *restrict C, size_t ldc, const epilogue *ep) {
    _Alignas(64) float bpack[KC * NC];
    _Alignas(64) float apack[MC * KC];
    unsigned mode = flush_subnormals();
    size_t mr = kn->mr, nr = kn->nr;
    /* op(A) = A^T is k-major already: read in place when every row tile
     * is 4, 8 or 12 rows (what the direct kernel reads); A untransposed
     * likewise, by rows (micro_rows: each row's k values in order; a
     * Dense's forward x W, whose A is the batch); B likewise when not
     * transposed (columns by masked loads); but a panel whose k-rows lie
     * DIRECT_LD_MAX floats or more apart is packed (such rows fall into
     * few L1 sets: the 512 x 128 x 4096 and 128 x 512 x 4096 weight
     * gradients of a Dense(512) ran slower in place).  The same products
     * in the same order either way: the same bits. */
    int a_direct = kn->direct && trans_a && (i1 - i0) % 4 == 0 && lda < DIRECT_LD_MAX;
    int a_rows = kn->micro_rows && !trans_a && (i1 - i0) % 4 == 0 && lda < DIRECT_LD_MAX;
    micro_fn micro = a_rows ? kn->micro_rows : kn->micro;
    int b_direct = kn->direct && !trans_b && ldb < DIRECT_LD_MAX;
    for (size_t jc = j0; jc < j1; jc += NC) {
        size_t nc = j1 - jc < NC ? j1 - jc : NC;
        for (size_t pc = 0; pc < K; pc += KC) {
            size_t kc = K - pc < KC ? K - pc : KC;
            int load = load0 || pc > 0, last = pc + kc == K;
            int relu = last && ep->relu;
            const float *bp = bpack;
            size_t bs = nr, bj = kc; /* k stride, stride between column tiles */
            if (b_direct) bp = B + pc * ldb + jc, bs = ldb, bj = 1;
            else pack(bpack, nr, !trans_b, B, ldb, jc, nc, pc, kc);
            for (size_t ic = i0; ic < i1; ic += MC) {
                size_t mc = i1 - ic < MC ? i1 - ic : MC;
                const float *ap = apack;
                size_t as = mr, ai = kc;
                if (a_direct) ap = A + pc * lda + ic, as = lda, ai = 1;
                else if (a_rows) ap = A + ic * lda + pc, as = lda, ai = lda; /* as: the row stride */
                else pack(apack, mr, trans_a, A, lda, ic, mc, pc, kc);
                for (size_t jr = 0; jr < nc; jr += nr) {
                    size_t nrr = nc - jr < nr ? nc - jr : nr;
                    const float *bias = last && ep->bias ? ep->bias + jc + jr : NULL;
                    for (size_t ir = 0; ir < mc; ir += mr) {
                        size_t mrr = mc - ir < mr ? mc - ir : mr;
                        micro(kc, ap + ir * ai, as, bp + jr * bj, bs, C + (ic + ir) * ldc + jc + jr, ldc, mrr,
                              nrr, alpha, load, bias, relu);
                    }
                }
            }
        }
    }
    restore_fp_mode(mode);
}

/* small products: direct loops, each in the order that reads memory
 * contiguously (packing costs more than it saves here).  Dot products run
 * in DL lanes (lane l sums the k = l mod DL terms in order, then a fixed
 * tree adds lanes l and l+8, l and l+4, l and l+2, l and l+1): the
 * compiler vectorises the lanes (the AVX2 and baseline clones give the
 * same bits).  Where the CPU has AVX-512, or AVX2 and FMA, the lanes and
 * the tree are kept but each multiply-add is fused (one rounding):
 * gemm_dots_avx512 and gemm_dots_fma give the same bits as each other, so
 * a model predicts the same bits on either kind of CPU; this loop, for CPUs
 * without FMA, its own (test_kernels checks each against the order written
 * out). */
#define DL 16
static inline float lanes_sum(float *s) {
    for (int w = DL / 2; w > 0; w /= 2)
        for (int l = 0; l < w; l++) s[l] += s[l + w];
    return s[0];
}

LF_CLONES static void gemm_dots(size_t M, size_t N, size_t K, float alpha,
                                const float *restrict A, size_t lda, const float *restrict B,
                                size_t ldb, float *restrict C, size_t ldc) {
    size_t kf = K - K % DL;
    for (size_t i = 0; i < M; i++) {
        const float *restrict a = A + i * lda;
        float *restrict c = C + i * ldc;
        size_t j = 0;
        for (; j + 4 <= N; j += 4) {
            const float *b0 = B + j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
            float s0[DL] = {0}, s1[DL] = {0}, s2[DL] = {0}, s3[DL] = {0};
            for (size_t k = 0; k < kf; k += DL)
                for (int l = 0; l < DL; l++) {
                    float x = a[k + l];
                    s0[l] += x * b0[k + l], s1[l] += x * b1[k + l];
                    s2[l] += x * b2[k + l], s3[l] += x * b3[k + l];
                }
            for (size_t k = kf; k < K; k++) {
                float x = a[k];
                s0[k - kf] += x * b0[k], s1[k - kf] += x * b1[k];
                s2[k - kf] += x * b2[k], s3[k - kf] += x * b3[k];
            }
            c[j] += alpha * lanes_sum(s0), c[j + 1] += alpha * lanes_sum(s1);
            c[j + 2] += alpha * lanes_sum(s2), c[j + 3] += alpha * lanes_sum(s3);
        }
        for (; j < N; j++) {
            const float *b0 = B + j * ldb;
            float s0[DL] = {0};
            for (size_t k = 0; k < kf; k += DL)
                for (int l = 0; l < DL; l++) s0[l] += a[k + l] * b0[k + l];
            for (size_t k = kf; k < K; k++) s0[k - kf] += a[k] * b0[k];
            c[j] += alpha * lanes_sum(s0);
        }
    }
}

#ifdef HAVE_X86_KERNELS
/* the lane sums of v0..v3, each in lanes_sum's tree: lanes l and l+8, then
 * l and l+4, l and l+2, l and l+1 (the same bits as gemm_dots) */
A5_TARGET static inline __m128 half_sums(__m512 v) { /* lanes 0-3 after the l+8 and l+4 steps */
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

A5_TARGET static inline __m128 sum4_512(__m512 v0, __m512 v1, __m512 v2, __m512 v3) {
    __m128 q0 = half_sums(v0), q1 = half_sums(v1), q2 = half_sums(v2), q3 = half_sums(v3);
    /* u = (q0[0]+q0[2], q1[0]+q1[2], q0[1]+q0[3], q1[1]+q1[3]), w likewise for q2, q3 */
    __m128 u = _mm_add_ps(_mm_unpacklo_ps(q0, q1), _mm_unpackhi_ps(q0, q1));
    __m128 w = _mm_add_ps(_mm_unpacklo_ps(q2, q3), _mm_unpackhi_ps(q2, q3));
    return _mm_add_ps(_mm_movelh_ps(u, w), _mm_movehl_ps(w, u));
}

A5_TARGET static inline float sum1_512(__m512 v) {
    __m128 q = half_sums(v);
    __m128 u = _mm_add_ps(q, _mm_movehl_ps(q, q)); /* q0+q2, q1+q3 */
    return _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));
}

/* gemm_dots with AVX-512: 16 lanes, the tail by a mask, four columns of C
 * (rows of B) per pass over a row of A */
A5_TARGET static void gemm_dots_avx512(size_t M, size_t N, size_t K, float alpha,
                                       const float *restrict A, size_t lda,
                                       const float *restrict B, size_t ldb, float *restrict C,
                                       size_t ldc) {
    size_t kf = K - K % 16;
    __mmask16 tail = (__mmask16)((1u << (K % 16)) - 1);
    __m128 va = _mm_set1_ps(alpha);
    for (size_t i = 0; i < M; i++) {
        const float *restrict a = A + i * lda;
        float *restrict c = C + i * ldc;
        size_t j = 0;
        for (; j + 8 <= N; j += 8) { /* eight independent chains */
            const float *b0 = B + j * ldb;
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            __m512 s4 = s0, s5 = s0, s6 = s0, s7 = s0;
#define DOT8(LOAD, k)                                                                      \
    do {                                                                                   \
        __m512 x = LOAD(a + (k));                                                          \
        s0 = _mm512_fmadd_ps(x, LOAD(b0 + (k)), s0);                                       \
        s1 = _mm512_fmadd_ps(x, LOAD(b0 + ldb + (k)), s1);                                 \
        s2 = _mm512_fmadd_ps(x, LOAD(b0 + 2 * ldb + (k)), s2);                             \
        s3 = _mm512_fmadd_ps(x, LOAD(b0 + 3 * ldb + (k)), s3);                             \
        s4 = _mm512_fmadd_ps(x, LOAD(b0 + 4 * ldb + (k)), s4);                             \
        s5 = _mm512_fmadd_ps(x, LOAD(b0 + 5 * ldb + (k)), s5);                             \
        s6 = _mm512_fmadd_ps(x, LOAD(b0 + 6 * ldb + (k)), s6);                             \
        s7 = _mm512_fmadd_ps(x, LOAD(b0 + 7 * ldb + (k)), s7);                             \
    } while (0)
#define TAIL_LOAD(p) _mm512_maskz_loadu_ps(tail, p)
            size_t k = 0;
            for (; k < kf; k += 16) DOT8(_mm512_loadu_ps, k);
            if (tail) DOT8(TAIL_LOAD, k);
#undef TAIL_LOAD
#undef DOT8
            __m128 lo = _mm_mul_ps(va, sum4_512(s0, s1, s2, s3));
            __m128 hi = _mm_mul_ps(va, sum4_512(s4, s5, s6, s7));
            _mm_storeu_ps(c + j, _mm_add_ps(_mm_loadu_ps(c + j), lo));
            _mm_storeu_ps(c + j + 4, _mm_add_ps(_mm_loadu_ps(c + j + 4), hi));
        }
        for (; j + 4 <= N; j += 4) {
            size_t nj = 4;
            const float *b0 = B + j * ldb;
            const float *b1 = nj > 1 ? b0 + ldb : b0, *b2 = nj > 2 ? b0 + 2 * ldb : b0;
            const float *b3 = nj > 3 ? b0 + 3 * ldb : b0;
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            size_t k = 0;
            for (; k < kf; k += 16) {
                __m512 x = _mm512_loadu_ps(a + k);
                s0 = _mm512_fmadd_ps(x, _mm512_loadu_ps(b0 + k), s0);
                s1 = _mm512_fmadd_ps(x, _mm512_loadu_ps(b1 + k), s1);
                s2 = _mm512_fmadd_ps(x, _mm512_loadu_ps(b2 + k), s2);
                s3 = _mm512_fmadd_ps(x, _mm512_loadu_ps(b3 + k), s3);
            }
            if (tail) {
                __m512 x = _mm512_maskz_loadu_ps(tail, a + k);
                s0 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(tail, b0 + k), s0);
                s1 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(tail, b1 + k), s1);
                s2 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(tail, b2 + k), s2);
                s3 = _mm512_fmadd_ps(x, _mm512_maskz_loadu_ps(tail, b3 + k), s3);
            }
            __m128 sum = _mm_mul_ps(va, sum4_512(s0, s1, s2, s3));
            __mmask8 cm = (__mmask8)((1u << nj) - 1);
            _mm_mask_storeu_ps(c + j, cm, _mm_add_ps(_mm_maskz_loadu_ps(cm, c + j), sum));
        }
        for (; j < N; j++) { /* the last columns one at a time: one chain each */
            const float *b0 = B + j * ldb;
            __m512 s0 = _mm512_setzero_ps();
            size_t k = 0;
            for (; k < kf; k += 16)
                s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(b0 + k), s0);
            if (tail)
                s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, a + k), _mm512_maskz_loadu_ps(tail, b0 + k), s0);
            c[j] += alpha * sum1_512(s0);
        }
    }
}
#endif

#ifdef HAVE_X86_KERNELS
/* gemm_dots_avx512's bits with AVX2 and FMA: each of its 16-lane chains as
 * two 8-lane halves (lanes 0-7 and 8-15), every multiply-add fused, then
 * the same tree (lanes l and l+8 first), so that a CPU with AVX2 and FMA but
 * no AVX-512 computes x w^T to the same bits as one with AVX-512 */
#define F2_TARGET __attribute__((target("avx2,fma")))
F2_TARGET static inline __m128 half_sums_fma(__m256 lo, __m256 hi) { /* lanes 0-3 after l+8, l+4 */
    __m256 h = _mm256_add_ps(lo, hi);
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

F2_TARGET static void gemm_dots_fma(size_t M, size_t N, size_t K, float alpha,
                                    const float *restrict A, size_t lda, const float *restrict B,
                                    size_t ldb, float *restrict C, size_t ldc) {
    size_t kf = K - K % 16, kt = K % 16;
    /* the tail's lanes: t_lo for k = kf..kf+7, t_hi for kf+8..kf+15 */
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i t_lo = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)kt), lane);
    __m256i t_hi = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)kt - 8), lane);
    __m128 va = _mm_set1_ps(alpha);
    for (size_t i = 0; i < M; i++) {
        const float *restrict a = A + i * lda;
        float *restrict c = C + i * ldc;
        size_t j = 0;
        for (; j + 4 <= N; j += 4) {
            const float *b0 = B + j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
            __m256 l0 = _mm256_setzero_ps(), l1 = l0, l2 = l0, l3 = l0;
            __m256 h0 = l0, h1 = l0, h2 = l0, h3 = l0;
            size_t k = 0;
            for (; k < kf; k += 16) {
                __m256 xl = _mm256_loadu_ps(a + k), xh = _mm256_loadu_ps(a + k + 8);
                l0 = _mm256_fmadd_ps(xl, _mm256_loadu_ps(b0 + k), l0);
                h0 = _mm256_fmadd_ps(xh, _mm256_loadu_ps(b0 + k + 8), h0);
                l1 = _mm256_fmadd_ps(xl, _mm256_loadu_ps(b1 + k), l1);
                h1 = _mm256_fmadd_ps(xh, _mm256_loadu_ps(b1 + k + 8), h1);
                l2 = _mm256_fmadd_ps(xl, _mm256_loadu_ps(b2 + k), l2);
                h2 = _mm256_fmadd_ps(xh, _mm256_loadu_ps(b2 + k + 8), h2);
                l3 = _mm256_fmadd_ps(xl, _mm256_loadu_ps(b3 + k), l3);
                h3 = _mm256_fmadd_ps(xh, _mm256_loadu_ps(b3 + k + 8), h3);
            }
            if (kt) {
                __m256 xl = _mm256_maskload_ps(a + k, t_lo), xh = _mm256_maskload_ps(a + k + 8, t_hi);
                l0 = _mm256_fmadd_ps(xl, _mm256_maskload_ps(b0 + k, t_lo), l0);
                h0 = _mm256_fmadd_ps(xh, _mm256_maskload_ps(b0 + k + 8, t_hi), h0);
                l1 = _mm256_fmadd_ps(xl, _mm256_maskload_ps(b1 + k, t_lo), l1);
                h1 = _mm256_fmadd_ps(xh, _mm256_maskload_ps(b1 + k + 8, t_hi), h1);
                l2 = _mm256_fmadd_ps(xl, _mm256_maskload_ps(b2 + k, t_lo), l2);
                h2 = _mm256_fmadd_ps(xh, _mm256_maskload_ps(b2 + k + 8, t_hi), h2);
                l3 = _mm256_fmadd_ps(xl, _mm256_maskload_ps(b3 + k, t_lo), l3);
                h3 = _mm256_fmadd_ps(xh, _mm256_maskload_ps(b3 + k + 8, t_hi), h3);
            }
            __m128 q0 = half_sums_fma(l0, h0), q1 = half_sums_fma(l1, h1);
            __m128 q2 = half_sums_fma(l2, h2), q3 = half_sums_fma(l3, h3);
            __m128 u = _mm_add_ps(_mm_unpacklo_ps(q0, q1), _mm_unpackhi_ps(q0, q1));
            __m128 w = _mm_add_ps(_mm_unpacklo_ps(q2, q3), _mm_unpackhi_ps(q2, q3));
            __m128 sum = _mm_mul_ps(va, _mm_add_ps(_mm_movelh_ps(u, w), _mm_movehl_ps(w, u)));
            _mm_storeu_ps(c + j, _mm_add_ps(_mm_loadu_ps(c + j), sum));
        }
        for (; j < N; j++) {
            const float *b0 = B + j * ldb;
            __m256 l0 = _mm256_setzero_ps(), h0 = l0;
            size_t k = 0;
            for (; k < kf; k += 16) {
                l0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b0 + k), l0);
                h0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8), _mm256_loadu_ps(b0 + k + 8), h0);
            }
            if (kt) {
                l0 = _mm256_fmadd_ps(_mm256_maskload_ps(a + k, t_lo), _mm256_maskload_ps(b0 + k, t_lo), l0);
                h0 = _mm256_fmadd_ps(_mm256_maskload_ps(a + k + 8, t_hi), _mm256_maskload_ps(b0 + k + 8, t_hi), h0);
            }
            __m128 q = half_sums_fma(l0, h0);
            __m128 u = _mm_add_ps(q, _mm_movehl_ps(q, q));
            c[j] += alpha * _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));
        }
    }
}
#endif

LF_CLONES static void gemm_small(int trans_a, int trans_b, size_t M, size_t N, size_t K,
                                 float alpha, const float *restrict A, size_t lda,
                                 const float *restrict B, size_t ldb, float *restrict C,
                                 size_t ldc) {
    if (trans_b && !trans_a) { /* rows of A and B are both contiguous in k */
#ifdef HAVE_X86_KERNELS
        if (has_avx512()) {
            gemm_dots_avx512(M, N, K, alpha, A, lda, B, ldb, C, ldc);
            return;
        }
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            gemm_dots_fma(M, N, K, alpha, A, lda, B, ldb, C, ldc);
            return;
        }
#endif
        gemm_dots(M, N, K, alpha, A, lda, B, ldb, C, ldc);
        return;
    }
    for (size_t i = 0; i < M; i++) {
        float *restrict c = C + i * ldc;
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

LF_CLONES static void apply_epilogue(float *restrict C, size_t M, size_t N, size_t ldc,
                                     const epilogue *ep) {
    for (size_t i = 0; i < M; i++) {
        float *restrict c = C + i * ldc;
        if (ep->bias)
            for (size_t j = 0; j < N; j++) c[j] = c[j] + ep->bias[j];
        if (ep->relu)
            for (size_t j = 0; j < N; j++) c[j] = c[j] > 0 ? c[j] : 0.0f;
    }
}

/* kn: the packed path with this kernel (tests), NULL: the path and kernel
 * this CPU and these sizes call for */
static void sgemm_ex(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                     const float *restrict A, size_t lda, const float *restrict B, size_t ldb,
                     float beta, float *restrict C, size_t ldc, const epilogue *ep,
                     const gemm_kernel *forced) {
    if (M == 0 || N == 0) return;
    double flops = 2.0 * (double)M * (double)N * (double)K;
    int small = K == 0 || (!forced && (flops < (trans_b ? SMALL_DOTS : SMALL_FLOPS) ||
                                       (M < 6 && N < 16) || (M < 4 && trans_b && !trans_a)));
    if (beta != 1.0f && (small || beta != 0.0f))
        for (size_t i = 0; i < M; i++) {
            float *c = C + i * ldc;
            if (beta == 0.0f) memset(c, 0, N * sizeof *c);
            else
                for (size_t j = 0; j < N; j++) c[j] *= beta;
        }
    if (small) {
        unsigned mode = flush_subnormals();
        if (K) gemm_small(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, C, ldc);
        if (ep->bias || ep->relu) apply_epilogue(C, M, N, ldc, ep);
        restore_fp_mode(mode);
        return;
    }
    gemm_kernel kn = forced ? *forced : pick_kernel();
    int load0 = beta != 0.0f;
    int threads = 1;
#ifdef _OPENMP
    if (flops >= PARALLEL_FLOPS) threads = omp_get_max_threads();
#endif
    /* split the larger side (in micro-tiles): less packing per thread */
    size_t tiles_m = (M + kn.mr - 1) / kn.mr, tiles_n = (N + kn.nr - 1) / kn.nr;
    int by_cols = tiles_n * kn.nr >= tiles_m * kn.mr;
    size_t tiles = by_cols ? tiles_n : tiles_m;
    if ((size_t)threads > tiles) threads = (int)tiles;
    if (threads <= 1) {
        gemm_block(&kn, trans_a, trans_b, 0, M, 0, N, K, alpha, A, lda, B, ldb, load0, C, ldc, ep);
        return;
    }
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
    {
        size_t T = (size_t)omp_get_num_threads(), t = (size_t)omp_get_thread_num();
        size_t t0 = tiles * t / T, t1 = tiles * (t + 1) / T;
        if (by_cols) {
            size_t j0 = t0 * kn.nr, j1 = t1 * kn.nr < N ? t1 * kn.nr : N;
            if (j0 < j1)
                gemm_block(&kn, trans_a, trans_b, 0, M, j0, j1, K, alpha, A, lda, B, ldb, load0, C,
                           ldc, ep);
        } else {
            size_t i0 = t0 * kn.mr, i1 = t1 * kn.mr < M ? t1 * kn.mr : M;
            if (i0 < i1)
                gemm_block(&kn, trans_a, trans_b, i0, i1, 0, N, K, alpha, A, lda, B, ldb, load0, C,
                           ldc, ep);
        }
    }
#endif
}

void lf_sgemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
              const float *restrict A, size_t lda, const float *restrict B, size_t ldb,
              float beta, float *restrict C, size_t ldc) {
    epilogue ep = {NULL, 0};
    sgemm_ex(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, &ep, NULL);
}

void lf_sgemm_bias_relu(int trans_a, int trans_b, size_t M, size_t N, size_t K,
                        const float *restrict A, size_t lda, const float *restrict B, size_t ldb,
                        const float *restrict bias, int relu, float *restrict C, size_t ldc) {
    epilogue ep = {bias, relu};
    sgemm_ex(trans_a, trans_b, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C, ldc, &ep, NULL);
}

/* testing.h's hook for test_kernels */
int lf__sgemm_isa(int isa, int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                  const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                  size_t ldc, const float *bias, int relu) {
    gemm_kernel kn = {micro_portable, NULL, P_MR, P_NR, 0};
#ifdef HAVE_X86_KERNELS
    if (isa == 1) {
        if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) return 0;
        kn = (gemm_kernel){micro_avx2, NULL, A2_MR, A2_NR, 0};
    } else if (isa == 2) {
        if (!has_avx512()) return 0;
        kn = (gemm_kernel){micro_avx512, micro_avx512_rows, A5_MR, A5_NR, 1};
    }
#else
    if (isa != 0) return 0;
#endif
    epilogue ep = {bias, relu};
    sgemm_ex(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, &ep, &kn);
    return 1;
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
/* selu's constants as keras/src/backend/numpy/nn.py writes them (PyTorch's too) */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946
#define SQUAREPLUS_B 4.0  /* Keras' default b */
#define SHRINK_T 0.5f     /* soft_shrink / hard_shrink's default threshold */

/* log(1 + exp(x)) without overflow or loss for large |x| */
static inline double softplus_d(double x) { return log1p(exp(-fabs(x))) + (x > 0 ? x : 0.0); }

/* 1 / (1 + exp(-x)), the exp of a negative number only */
static inline double sigmoid_d(double x) {
    double e = exp(-fabs(x));
    return x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

/* (x + sqrt(x^2 + b)) / 2; for x < 0 as b / (2 (sqrt(x^2 + b) - x)), the
 * same value without the cancellation of x + sqrt(x^2 + b) */
static inline double squareplus_d(double x) {
    double r = sqrt(x * x + SQUAREPLUS_B);
    return x >= 0 ? 0.5 * (x + r) : 0.5 * SQUAREPLUS_B / (r - x);
}

/* min(max(x, lo), hi) */
static inline float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

/* y = log_softmax of each row of D: x - max - log(sum exp(x - max)) */
static void log_softmax_rows(float *restrict y, const float *restrict z, size_t B, size_t D) {
    for (size_t r = 0; r < B; r++) {
        const float *zr = z + r * D;
        float *yr = y + r * D;
        float mx = -INFINITY;
        for (size_t j = 0; j < D; j++) mx = zr[j] > mx ? zr[j] : mx;
        double s = 0;
        for (size_t j = 0; j < D; j++) s += exp((double)zr[j] - mx);
        double lse = mx + log(s);
        for (size_t j = 0; j < D; j++) yr[j] = (float)(zr[j] - lse);
    }
}

/* The sparsemax threshold of one row of D values (Martins & Astudillo,
 * "From Softmax to Sparsemax", ICML 2016): the tau with sum_j max(z_j - tau,
 * 0) = 1.  Michelot's iteration instead of the paper's sort: tau from the
 * values above the last tau, until that set stops shrinking (it only
 * shrinks: tau never decreases); the first tau is over the whole row.  The
 * set it ends with is the paper's support, z_j > tau.  In double. */
static double sparsemax_tau(const float *restrict z, size_t D) {
    double tau = -INFINITY;
    size_t k = D + 1;
    for (;;) {
        double s = 0;
        size_t c = 0;
        for (size_t j = 0; j < D; j++) {
            if (isnan(z[j])) return NAN; /* the whole row NaN, as the sort's */
            if (z[j] > tau) s += z[j], c++;
        }
        if (c == 0 || c >= k) break; /* c 0: an infinity in the row */
        k = c;
        tau = (s - 1.0) / (double)c;
    }
    return tau;
}

/* y = sparsemax of each row of D: max(z - tau, 0) */
static void sparsemax_rows(float *restrict y, const float *restrict z, size_t B, size_t D) {
    for (size_t r = 0; r < B; r++) {
        double tau = sparsemax_tau(z + r * D, D);
        for (size_t j = 0; j < D; j++) {
            double v = (double)z[r * D + j] - tau;
            y[r * D + j] = v <= 0 ? 0.0f : (float)v; /* NaN stays NaN */
        }
    }
}

LF_CLONES static void act_forward(lf_activation a, float *restrict y, const float *restrict z, size_t B,
                                  size_t D) {
    size_t n = B * D;
    switch (a) {
    case LF_ACT_LINEAR:
        if (y != z) memcpy(y, z, n * sizeof *y);
        break;
    case LF_ACT_RELU:
        for (size_t i = 0; i < n; i++) y[i] = z[i] > 0 ? z[i] : 0.0f;
        break;
    case LF_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) y[i] = z[i] >= 0 ? z[i] : LEAKY_SLOPE * z[i];
        break;
    case LF_ACT_ELU:
        for (size_t i = 0; i < n; i++) y[i] = z[i] >= 0 ? z[i] : expm1f(z[i]);
        break;
    case LF_ACT_GELU:
        for (size_t i = 0; i < n; i++)
            y[i] = (float)(0.5 * z[i] * (1.0 + erf(z[i] * INV_SQRT2)));
        break;
    case LF_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = z[i] >= 0 ? 1.0f / (1.0f + expf(-z[i])) : expf(z[i]) / (1.0f + expf(z[i]));
        break;
    case LF_ACT_TANH:
        for (size_t i = 0; i < n; i++) y[i] = tanhf(z[i]);
        break;
    case LF_ACT_SOFTMAX:
        if (y != z) memcpy(y, z, n * sizeof *y);
        lf_softmax_rows(y, B, D);
        break;
    case LF_ACT_SELU:
        for (size_t i = 0; i < n; i++)
            y[i] = (float)(z[i] > 0 ? SELU_SCALE * z[i] : SELU_SCALE * SELU_ALPHA * expm1((double)z[i]));
        break;
    case LF_ACT_SOFTPLUS:
        for (size_t i = 0; i < n; i++) y[i] = (float)softplus_d(z[i]);
        break;
    case LF_ACT_SOFTSIGN:
        for (size_t i = 0; i < n; i++) y[i] = z[i] / (1.0f + fabsf(z[i]));
        break;
    case LF_ACT_SILU:
        for (size_t i = 0; i < n; i++) y[i] = (float)(z[i] * sigmoid_d(z[i]));
        break;
    case LF_ACT_RELU6:
        for (size_t i = 0; i < n; i++) y[i] = clampf(z[i], 0.0f, 6.0f);
        break;
    case LF_ACT_HARD_SIGMOID: /* Keras 3 (and PyTorch's hardsigmoid): relu6(x + 3) / 6 */
        for (size_t i = 0; i < n; i++) y[i] = clampf(z[i] + 3.0f, 0.0f, 6.0f) / 6.0f;
        break;
    case LF_ACT_HARD_SILU: /* x * hard_sigmoid(x), in that order, as Keras */
        for (size_t i = 0; i < n; i++) y[i] = z[i] * (clampf(z[i] + 3.0f, 0.0f, 6.0f) / 6.0f);
        break;
    case LF_ACT_MISH:
        for (size_t i = 0; i < n; i++) y[i] = (float)(z[i] * tanh(softplus_d(z[i])));
        break;
    case LF_ACT_EXPONENTIAL:
        for (size_t i = 0; i < n; i++) y[i] = expf(z[i]);
        break;
    case LF_ACT_CELU: /* max(x, 0) + alpha expm1(min(x, 0) / alpha), alpha 1: elu's values */
        for (size_t i = 0; i < n; i++) y[i] = z[i] >= 0 ? z[i] : expm1f(z[i]);
        break;
    case LF_ACT_LOG_SIGMOID: /* -softplus(-x) = min(x, 0) - log1p(exp(-|x|)) */
        for (size_t i = 0; i < n; i++) y[i] = (float)-softplus_d(-(double)z[i]);
        break;
    case LF_ACT_HARD_TANH:
        for (size_t i = 0; i < n; i++) y[i] = clampf(z[i], -1.0f, 1.0f);
        break;
    case LF_ACT_TANH_SHRINK: /* in double: x - tanh(x) cancels for small x */
        for (size_t i = 0; i < n; i++) y[i] = (float)((double)z[i] - tanh((double)z[i]));
        break;
    case LF_ACT_SQUAREPLUS:
        for (size_t i = 0; i < n; i++) y[i] = (float)squareplus_d(z[i]);
        break;
    case LF_ACT_SOFT_SHRINK:
        for (size_t i = 0; i < n; i++)
            y[i] = z[i] > SHRINK_T ? z[i] - SHRINK_T : z[i] < -SHRINK_T ? z[i] + SHRINK_T : 0.0f;
        break;
    case LF_ACT_HARD_SHRINK:
        for (size_t i = 0; i < n; i++) y[i] = fabsf(z[i]) > SHRINK_T ? z[i] : 0.0f;
        break;
    case LF_ACT_SPARSE_PLUS:
        for (size_t i = 0; i < n; i++)
            y[i] = z[i] <= -1.0f ? 0.0f : z[i] < 1.0f ? 0.25f * (z[i] + 1.0f) * (z[i] + 1.0f) : z[i];
        break;
    case LF_ACT_SPARSE_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = z[i] <= -1.0f ? 0.0f : z[i] >= 1.0f ? 1.0f : 0.5f * (z[i] + 1.0f);
        break;
    case LF_ACT_LOG_SOFTMAX:
        log_softmax_rows(y, z, B, D);
        break;
    case LF_ACT_SPARSEMAX:
        sparsemax_rows(y, z, B, D);
        break;
    case LF_ACT_COUNT:
        break;
    }
}

LF_CLONES static void act_backward(lf_activation a, float *restrict dz, const float *restrict dy,
                                   const float *restrict z, const float *restrict y, size_t B, size_t D) {
    size_t n = B * D;
    switch (a) {
    case LF_ACT_LINEAR:
        memcpy(dz, dy, n * sizeof *dz);
        break;
    case LF_ACT_RELU: /* dy read unconditionally, so the loop vectorises */
        for (size_t i = 0; i < n; i++) {
            float g = dy[i];
            dz[i] = z[i] > 0 ? g : 0.0f;
        }
        break;
    case LF_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) {
            float g = dy[i];
            dz[i] = z[i] >= 0 ? g : LEAKY_SLOPE * g;
        }
        break;
    case LF_ACT_ELU:
        for (size_t i = 0; i < n; i++) dz[i] = z[i] >= 0 ? dy[i] : dy[i] * (y[i] + 1.0f);
        break;
    case LF_ACT_GELU:
        for (size_t i = 0; i < n; i++) {
            double x = z[i];
            double cdf = 0.5 * (1.0 + erf(x * INV_SQRT2));
            double pdf = INV_SQRT2PI * exp(-0.5 * x * x);
            dz[i] = (float)(dy[i] * (cdf + x * pdf));
        }
        break;
    case LF_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++) dz[i] = dy[i] * y[i] * (1.0f - y[i]);
        break;
    case LF_ACT_TANH:
        for (size_t i = 0; i < n; i++) dz[i] = dy[i] * (1.0f - y[i] * y[i]);
        break;
    case LF_ACT_SOFTMAX:
        for (size_t r = 0; r < B; r++) {
            const float *yr = y + r * D, *dyr = dy + r * D;
            float *dzr = dz + r * D;
            double s = 0;
            for (size_t j = 0; j < D; j++) s += (double)dyr[j] * yr[j];
            for (size_t j = 0; j < D; j++) dzr[j] = yr[j] * (dyr[j] - (float)s);
        }
        break;
    /* the kinds below: "reads z", "reads y" or both, in each comment */
    case LF_ACT_SELU: /* z and y: scale alpha exp(z) = y + scale alpha */
        for (size_t i = 0; i < n; i++)
            dz[i] = z[i] > 0 ? (float)(dy[i] * SELU_SCALE) : (float)(dy[i] * (y[i] + SELU_SCALE * SELU_ALPHA));
        break;
    case LF_ACT_SOFTPLUS: /* z: sigmoid(z) */
        for (size_t i = 0; i < n; i++) dz[i] = (float)(dy[i] * sigmoid_d(z[i]));
        break;
    case LF_ACT_SOFTSIGN: /* z: 1 / (1 + |z|)^2 */
        for (size_t i = 0; i < n; i++) {
            float d = 1.0f + fabsf(z[i]);
            dz[i] = dy[i] / (d * d);
        }
        break;
    case LF_ACT_SILU: /* z: s (1 + z (1 - s)), s = sigmoid(z) */
        for (size_t i = 0; i < n; i++) {
            double sg = sigmoid_d(z[i]);
            dz[i] = (float)(dy[i] * sg * (1.0 + z[i] * (1.0 - sg)));
        }
        break;
    case LF_ACT_RELU6: /* z: 1 on (0, 6), PyTorch's 0 at the ends */
        for (size_t i = 0; i < n; i++) {
            float g = dy[i];
            dz[i] = z[i] > 0.0f && z[i] < 6.0f ? g : 0.0f;
        }
        break;
    case LF_ACT_HARD_SIGMOID: /* z: 1/6 on (-3, 3) */
        for (size_t i = 0; i < n; i++) {
            float g = dy[i];
            dz[i] = z[i] > -3.0f && z[i] < 3.0f ? g / 6.0f : 0.0f;
        }
        break;
    case LF_ACT_HARD_SILU: /* z: 0 below -3, (2 z + 3) / 6 up to 3, 1 above (PyTorch's ends) */
        for (size_t i = 0; i < n; i++) {
            float g = dy[i];
            dz[i] = z[i] < -3.0f ? 0.0f : z[i] <= 3.0f ? g * (2.0f * z[i] + 3.0f) / 6.0f : g;
        }
        break;
    case LF_ACT_MISH: /* z: t + z sigmoid(z) (1 - t^2), t = tanh(softplus(z)) */
        for (size_t i = 0; i < n; i++) {
            double t = tanh(softplus_d(z[i]));
            dz[i] = (float)(dy[i] * (t + z[i] * sigmoid_d(z[i]) * (1.0 - t * t)));
        }
        break;
    case LF_ACT_EXPONENTIAL: /* y: exp(z) = y */
        for (size_t i = 0; i < n; i++) dz[i] = dy[i] * y[i];
        break;
    case LF_ACT_CELU: /* z and y, as elu: exp(z) = y + 1 below 0 */
        for (size_t i = 0; i < n; i++) dz[i] = z[i] >= 0 ? dy[i] : dy[i] * (y[i] + 1.0f);
        break;
    case LF_ACT_LOG_SIGMOID: /* z: sigmoid(-z) */
        for (size_t i = 0; i < n; i++) dz[i] = (float)(dy[i] * sigmoid_d(-(double)z[i]));
        break;
    case LF_ACT_HARD_TANH: /* z: 1 on (-1, 1) */
        for (size_t i = 0; i < n; i++) {
            float g = dy[i];
            dz[i] = z[i] > -1.0f && z[i] < 1.0f ? g : 0.0f;
        }
        break;
    case LF_ACT_TANH_SHRINK: /* z: tanh(z)^2 (z - y would cancel) */
        for (size_t i = 0; i < n; i++) {
            double t = tanh((double)z[i]);
            dz[i] = (float)(dy[i] * t * t);
        }
        break;
    case LF_ACT_SQUAREPLUS: /* z and y: (1 + z / r) / 2 = y / r, r = sqrt(z^2 + b) */
        for (size_t i = 0; i < n; i++)
            dz[i] = (float)(dy[i] * (y[i] / sqrt((double)z[i] * z[i] + SQUAREPLUS_B)));
        break;
    case LF_ACT_SOFT_SHRINK: /* z: 1 outside [-0.5, 0.5] */
    case LF_ACT_HARD_SHRINK:
        for (size_t i = 0; i < n; i++) {
            float g = dy[i];
            dz[i] = fabsf(z[i]) > SHRINK_T ? g : 0.0f;
        }
        break;
    case LF_ACT_SPARSE_PLUS: /* z: 0 up to -1, (z + 1) / 2 below 1, 1 from 1 */
        for (size_t i = 0; i < n; i++) {
            float g = dy[i];
            dz[i] = z[i] <= -1.0f ? 0.0f : z[i] < 1.0f ? g * 0.5f * (z[i] + 1.0f) : g;
        }
        break;
    case LF_ACT_SPARSE_SIGMOID: /* z: 1/2 on (-1, 1) */
        for (size_t i = 0; i < n; i++) {
            float g = dy[i];
            dz[i] = z[i] > -1.0f && z[i] < 1.0f ? 0.5f * g : 0.0f;
        }
        break;
    case LF_ACT_LOG_SOFTMAX: /* y: dy - softmax(z) sum(dy), softmax(z) = exp(y) */
        for (size_t r = 0; r < B; r++) {
            const float *yr = y + r * D, *dyr = dy + r * D;
            float *dzr = dz + r * D;
            double s = 0;
            for (size_t j = 0; j < D; j++) s += dyr[j];
            for (size_t j = 0; j < D; j++) dzr[j] = (float)(dyr[j] - exp((double)yr[j]) * s);
        }
        break;
    case LF_ACT_SPARSEMAX: /* y: on the support S (y > 0) dy - mean of dy over S, 0 off it */
        for (size_t r = 0; r < B; r++) {
            const float *yr = y + r * D, *dyr = dy + r * D;
            float *dzr = dz + r * D;
            double s = 0;
            size_t k = 0;
            for (size_t j = 0; j < D; j++)
                if (yr[j] > 0) s += dyr[j], k++;
            double mean = k ? s / (double)k : 0.0;
            for (size_t j = 0; j < D; j++) dzr[j] = yr[j] > 0 ? (float)(dyr[j] - mean) : 0.0f;
        }
        break;
    case LF_ACT_COUNT:
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
