/*
 * test_kernels.c — the sgemm against a double-precision reference for every
 * transposition, odd sizes that exercise every edge of the blocking (rows
 * not a multiple of the micro-tile, K across several blocks), alpha/beta,
 * leading dimensions larger than the row length, and beta = 0 ignoring NaN
 * in C; every micro-kernel of the packed path (portable, AVX2, AVX-512)
 * with the fused bias/relu epilogue; the FMA kernels bit for bit against
 * the order of additions written out (k-blocks of 256), on 1 and 2 threads;
 * softmax rows against hand values.
 */
#include "check.h"
#include "kernels.h"
#include "engine_util.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static void reference(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A,
                      size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc) {
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = 0;
            for (size_t k = 0; k < K; k++)
                s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
            C[i * ldc + j] = (float)(alpha * s + (beta == 0 ? 0.0 : beta * (double)C[i * ldc + j]));
        }
}

static void one(int ta, int tb, size_t M, size_t N, size_t K, float alpha, float beta, size_t pad) {
    size_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    size_t lda = ac + pad, ldb = bc + pad, ldc = N + pad;
    float *A = malloc(ar * lda * sizeof *A), *B = malloc(br * ldb * sizeof *B);
    float *C = malloc(M * ldc * sizeof *C), *R = malloc(M * ldc * sizeof *R);
    fill_uniform(A, ar * lda, -1, 1, M * 7 + K);
    fill_uniform(B, br * ldb, -1, 1, N * 5 + K);
    fill_uniform(C, M * ldc, -1, 1, 3);
    if (beta == 0) C[0] = NAN; /* must be ignored */
    memcpy(R, C, M * ldc * sizeof *R);
    reference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    lf_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    char what[96];
    snprintf(what, sizeof what, "sgemm %c%c M=%zu N=%zu K=%zu alpha=%g beta=%g", ta ? 'T' : 'N',
             tb ? 'T' : 'N', M, N, K, alpha, beta);
    /* float32 sums of K terms of size <= 1 */
    CHECK_CLOSE(what, C, R, M * ldc, 2e-6 * (double)K + 1e-6, 1e-5);
    free(A), free(B), free(C), free(R);
}


/* Every micro-kernel of the packed path (portable, AVX2, AVX-512 where the
 * CPU has them) against the double-precision reference, with the bias and
 * relu epilogue, on shapes whose edges cut every micro-tile (6 x 16,
 * 12 x 32) and k-block; the AVX2 and AVX-512 kernels (one FMA chain per
 * element, k in order) must agree to the bit.  Returns how many ISAs ran. */
static int isa_one(int ta, int tb, size_t M, size_t N, size_t K, float alpha, float beta,
                   size_t pad, int with_bias, int relu) {
    size_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    size_t lda = ac + pad, ldb = bc + pad, ldc = N + pad;
    float *A = malloc(ar * lda * sizeof *A), *B = malloc(br * ldb * sizeof *B);
    float *C0 = malloc(M * ldc * sizeof *C0), *R = malloc(M * ldc * sizeof *R);
    float *bias = malloc(N * sizeof *bias), *Cs[3];
    fill_uniform(A, ar * lda, -1, 1, M * 3 + K);
    fill_uniform(B, br * ldb, -1, 1, N * 11 + K);
    fill_uniform(C0, M * ldc, -1, 1, 5);
    fill_uniform(bias, N, -1, 1, 9);
    if (beta == 0) C0[0] = NAN; /* must be ignored */
    memcpy(R, C0, M * ldc * sizeof *R);
    reference(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            float *r = R + i * ldc + j;
            if (with_bias) *r = (float)((double)*r + bias[j]);
            if (relu) *r = *r > 0 ? *r : 0.0f;
        }
    int ran = 0;
    for (int isa = 0; isa < 3; isa++) {
        Cs[isa] = malloc(M * ldc * sizeof *Cs[isa]);
        memcpy(Cs[isa], C0, M * ldc * sizeof *C0);
        if (!lf__sgemm_isa(isa, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, Cs[isa], ldc,
                           with_bias ? bias : NULL, relu)) {
            free(Cs[isa]), Cs[isa] = NULL;
            continue;
        }
        ran++;
        char what[128];
        snprintf(what, sizeof what, "isa %d sgemm %c%c M=%zu N=%zu K=%zu alpha=%g beta=%g bias=%d relu=%d",
                 isa, ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, beta, with_bias, relu);
        CHECK_CLOSE(what, Cs[isa], R, M * ldc, 2e-6 * (double)K + 1e-5, 1e-5);
    }
    if (Cs[1] && Cs[2])
        CHECK(memcmp(Cs[1], Cs[2], M * ldc * sizeof *C0) == 0,
              "AVX2 and AVX-512 differ: %c%c M=%zu N=%zu K=%zu", ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K);
    for (int isa = 0; isa < 3; isa++) free(Cs[isa]);
    free(A), free(B), free(C0), free(R), free(bias);
    return ran;
}

/* The order of additions of the packed path with an FMA kernel (AVX2 or
 * AVX-512), written out: K cut into blocks of 256; in each block every
 * element of C is one fused multiply-add chain over k in order, from zero;
 * then c = (first block and beta == 0 ? 0 : c) + alpha * acc, on the last
 * block + bias, then relu; beta other than 0 and 1 scales C first.  Any
 * blocking in M and N, packing and thread split must give these bits. */
/* OpenMP's thread count set to threads; returns the one to restore */
static int use_threads(int threads) {
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    return saved;
#else
    return threads;
#endif
}

static void restore_threads(int saved) {
#ifdef _OPENMP
    omp_set_num_threads(saved);
#else
    (void)saved;
#endif
}

static void fma_order(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A,
                      size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc,
                      const float *bias, int relu) {
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            float c = C[i * ldc + j];
            if (beta == 0.0f) c = 0.0f;
            else if (beta != 1.0f) c = c * beta;
            for (size_t k0 = 0; k0 < K; k0 += 256) {
                size_t k1 = K - k0 < 256 ? K : k0 + 256;
                float acc = 0.0f;
                for (size_t k = k0; k < k1; k++)
                    acc = fmaf(ta ? A[k * lda + i] : A[i * lda + k], tb ? B[j * ldb + k] : B[k * ldb + j], acc);
                float v = alpha * acc;
                if (k0 > 0 || beta != 0.0f) v = c + v;
                if (bias && k1 == K) v = v + bias[j];
                if (relu && k1 == K) v = v > 0 ? v : 0.0f;
                c = v;
            }
            C[i * ldc + j] = c;
        }
}

/* Both FMA kernels (where the CPU has them) and lf_sgemm itself (when the
 * CPU has an FMA kernel: these sizes take the packed path) against
 * fma_order, bit for bit, on `threads` threads; returns the runs compared. */
static int order_one(int ta, int tb, size_t M, size_t N, size_t K, float alpha, float beta,
                     size_t pad, int with_bias, int relu, int threads) {
    size_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    size_t lda = ac + pad, ldb = bc + pad, ldc = N + pad;
    float *A = malloc(ar * lda * sizeof *A), *B = malloc(br * ldb * sizeof *B);
    float *C0 = malloc(M * ldc * sizeof *C0), *R = malloc(M * ldc * sizeof *R);
    float *C = malloc(M * ldc * sizeof *C), *bias = malloc(N * sizeof *bias);
    fill_uniform(A, ar * lda, -1, 1, M * 13 + K);
    fill_uniform(B, br * ldb, -1, 1, N * 17 + K);
    fill_uniform(C0, M * ldc, -1, 1, 7);
    fill_uniform(bias, N, -1, 1, 11);
    if (beta == 0) C0[0] = NAN; /* must be ignored */
    memcpy(R, C0, M * ldc * sizeof *R);
    fma_order(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, R, ldc, with_bias ? bias : NULL, relu);
    int saved = use_threads(threads);
    int ran = 0;
    for (int isa = 1; isa <= 3; isa++) {
        memcpy(C, C0, M * ldc * sizeof *C);
        if (isa == 3) { /* lf_sgemm: only when an FMA kernel ran (its kernel) */
            if (!ran || with_bias || relu) break;
            lf_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        } else if (!lf__sgemm_isa(isa, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                                  with_bias ? bias : NULL, relu))
            continue;
        ran++;
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++)
                if (memcmp(&C[i * ldc + j], &R[i * ldc + j], sizeof *C) != 0 && !bad++) first = i * ldc + j;
        CHECK(bad == 0,
              "%s %c%c M=%zu N=%zu K=%zu alpha=%g beta=%g bias=%d relu=%d threads=%d: %zu elements "
              "differ from the k-block FMA order (first at %zu: %a, want %a)",
              isa == 1 ? "AVX2" : isa == 2 ? "AVX-512" : "lf_sgemm", ta ? 'T' : 'N', tb ? 'T' : 'N',
              M, N, K, alpha, beta, with_bias, relu, threads, bad, first, (double)C[first], (double)R[first]);
    }
    restore_threads(saved);
    free(A), free(B), free(C0), free(R), free(C), free(bias);
    return ran;
}

/* the fused-epilogue entry against lf_sgemm followed by bias then relu:
 * the same bits, through whichever path the sizes take */
static void bias_relu_same_bits(size_t M, size_t N, size_t K) {
    float *A = malloc(M * K * sizeof *A), *W = malloc(N * K * sizeof *W), *b = malloc(N * sizeof *b);
    float *C = malloc(M * N * sizeof *C), *R = malloc(M * N * sizeof *R);
    fill_uniform(A, M * K, -1, 1, 31), fill_uniform(W, N * K, -1, 1, 32), fill_uniform(b, N, -1, 1, 33);
    lf_sgemm(0, 1, M, N, K, 1.0f, A, K, W, K, 0.0f, R, N);
    for (size_t i = 0; i < M * N; i++) {
        float v = R[i] + b[i % N];
        R[i] = v > 0 ? v : 0.0f;
    }
    lf_sgemm_bias_relu(0, 1, M, N, K, A, K, W, K, b, 1, C, N);
    CHECK(memcmp(C, R, M * N * sizeof *C) == 0, "bias+relu epilogue differs from sgemm, bias, relu: M=%zu N=%zu K=%zu",
          M, N, K);
    free(A), free(W), free(b), free(C), free(R);
}

/* The small path's x w^T (rows of both contiguous in k, few rows) sums
 * each dot product in 16 lanes, lane l taking k = l mod 16 in order, and
 * then adds the lanes in a fixed tree (l + 8, l + 4, l + 2, l + 1): with
 * fused multiply-adds on AVX-512 and on AVX2 + FMA, separate ones elsewhere.  The
 * reference does exactly that, so the results must agree to the bit. */
static float lanes_dot(const float *a, const float *b, size_t K, int fused) {
    float s[16] = {0};
    for (size_t k = 0; k < K; k++)
        s[k % 16] = fused ? fmaf(a[k], b[k], s[k % 16]) : s[k % 16] + a[k] * b[k];
    for (int w = 8; w > 0; w /= 2)
        for (int l = 0; l < w; l++) s[l] += s[l + w];
    return s[0];
}

static void dots_same_bits(size_t M, size_t N, size_t K) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(LF_NO_SIMD)
    /* fused on AVX-512 and on AVX2 + FMA alike: the same bits on both */
    int fused = (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw")) ||
                (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
#else
    int fused = 0;
#endif
    float *A = malloc(M * K * sizeof *A), *W = malloc(N * K * sizeof *W);
    float *C = malloc(M * N * sizeof *C);
    fill_uniform(A, M * K, -1, 1, 41 + K), fill_uniform(W, N * K, -1, 1, 42 + N);
    lf_sgemm(0, 1, M, N, K, 1.0f, A, K, W, K, 0.0f, C, N);
    size_t bad = 0;
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            float r = lanes_dot(A + i * K, W + j * K, K, fused);
            bad += memcmp(&r, &C[i * N + j], sizeof r) != 0;
        }
    CHECK(bad == 0, "small x w^T: %zu of %zu dot products differ from the 16-lane order (M=%zu N=%zu K=%zu)",
          bad, M * N, M, N, K);
    free(A), free(W), free(C);
}

/* Subnormals are flushed in every product (kernels.c, x86): C = A B with
 * A[0][0] = 1e-39 (subnormal) times B[0][j] = 1e30 gives 0, not 1e-9 (the
 * operand taken as zero), and A[2][1] = B[1][j] = 1e-20 gives 0, not
 * 1e-40 (the result); A[1][0] = 1e-20 times 1e30 stays 1e10.  On the
 * small path, the packed one and over 2 threads, transposed or not, and
 * the caller's own arithmetic keeps its subnormals afterwards. */
static void subnormals_flushed(size_t M, size_t N, size_t K, int threads) {
#if defined(__x86_64__)
    int saved = use_threads(threads);
    for (int ta = 0; ta <= 1; ta++)
        for (int tb = 0; tb <= 1; tb++) {
            float *A = calloc(M * K, sizeof *A), *B = calloc(K * N, sizeof *B), *C = malloc(M * N * sizeof *C);
#define AT(i, k) A[ta ? (k) * M + (i) : (i) * K + (k)]
#define BT(k, j) B[tb ? (j) * K + (k) : (k) * N + (j)]
            AT(0, 0) = 1e-39f, AT(1, 0) = 1e-20f, AT(2, 1) = 1e-20f;
            for (size_t j = 0; j < N; j++) BT(0, j) = 1e30f, BT(1, j) = 1e-20f;
#undef AT
#undef BT
            lf_sgemm(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N);
            size_t bad = 0;
            for (size_t j = 0; j < N; j++) bad += C[j] != 0.0f || C[N + j] != 1e10f || C[2 * N + j] != 0.0f;
            CHECK(bad == 0, "%zu x %zu x %zu (%d, %d), %d thread(s): C[0][0] %g (want 0), C[1][0] %g (1e10), "
                  "C[2][0] %g (0)", M, N, K, ta, tb, threads, C[0], C[N], C[2 * N]);
            free(A), free(B), free(C);
        }
    volatile float a = 1e-20f;
    float b = a * a;
    CHECK(b > 0.0f && b < FLT_MIN, "the caller's thread lost its subnormals after lf_sgemm: %g", b);
    restore_threads(saved);
#else
    (void)M, (void)N, (void)K, (void)threads;
#endif
}

int main(void) {
    subnormals_flushed(4, 3, 2, 1);     /* direct loops */
    subnormals_flushed(32, 40, 50, 1);  /* packed */
    subnormals_flushed(128, 160, 130, 2); /* packed, over threads */
    size_t isa_sizes[][3] = {{1, 1, 1},    {12, 32, 256}, {13, 33, 257}, {11, 31, 5},
                             {25, 70, 300}, {96, 256, 512}, {97, 257, 513}, {7, 600, 40},
                             {300, 9, 33},
                             /* rows a multiple of 4 (A^T read in place by the AVX-512
                              * kernel: 4-, 8- and 12-row tiles), columns cut at 4, 16,
                              * 20 and past NC (B read in place by masked loads; <= 8
                              * columns on ymm) */
                             {32, 100, 32}, {8, 4, 9},    {4, 17, 3},    {20, 100, 64},
                             {36, 48, 300}, {16, 16, 600}, {32, 300, 40}, {104, 20, 7},
                             {12, 70, 30}, {24, 6, 17}};
    int ran = 0;
    for (int ta = 0; ta <= 1; ta++)
        for (int tb = 0; tb <= 1; tb++)
            for (size_t s = 0; s < sizeof isa_sizes / sizeof isa_sizes[0]; s++) {
                size_t M = isa_sizes[s][0], N = isa_sizes[s][1], K = isa_sizes[s][2];
                ran = isa_one(ta, tb, M, N, K, 1.0f, 0.0f, 0, 0, 0);
                isa_one(ta, tb, M, N, K, 0.5f, 1.0f, 3, 1, 0);
                isa_one(ta, tb, M, N, K, 1.0f, 0.0f, 1, 1, 1);
                isa_one(ta, tb, M, N, K, -1.5f, 0.25f, 0, 0, 1);
            }
    printf("test_kernels: packed sgemm checked on %d micro-kernel(s)\n", ran);
    /* shapes around MC (96), NC (256), KC (256) and the micro-tiles, and
     * products of B7/B8's kinds (N > 256 with a row-major A, 128 x 128
     * weight gradients over many rows), bit for bit */
    size_t order_sizes[][3] = {{13, 33, 257}, {97, 257, 513}, {96, 256, 256}, {100, 600, 100},
                               {100, 513, 40}, {7, 1030, 70}, {36, 520, 600},
                               {190, 40, 255}, {128, 128, 1100}, {260, 512, 128}, {12, 769, 9},
                               {516, 40, 300}};
    int order_ran = 0;
    for (int threads = 1; threads <= 2; threads++)
        for (int ta = 0; ta <= 1; ta++)
            for (int tb = 0; tb <= 1; tb++)
                for (size_t s = 0; s < sizeof order_sizes / sizeof order_sizes[0]; s++) {
                    size_t M = order_sizes[s][0], N = order_sizes[s][1], K = order_sizes[s][2];
                    order_ran += order_one(ta, tb, M, N, K, 1.0f, 0.0f, 0, 0, 0, threads);
                    order_ran += order_one(ta, tb, M, N, K, 0.5f, 1.0f, 3, 1, 0, threads);
                    order_ran += order_one(ta, tb, M, N, K, -1.5f, 0.25f, 1, 1, 1, threads);
                    order_ran += order_one(ta, tb, M, N, K, 1.0f, 0.0f, 0, 0, 1, threads);
                }
    printf("test_kernels: k-block FMA order checked on %d run(s)%s\n", order_ran,
           order_ran ? "" : " (no FMA micro-kernel on this CPU)");
    size_t br_sizes[][3] = {{1, 32, 100}, {3, 10, 7}, {32, 32, 100}, {256, 512, 300}, {37, 45, 600}};
    for (size_t s = 0; s < sizeof br_sizes / sizeof br_sizes[0]; s++)
        bias_relu_same_bits(br_sizes[s][0], br_sizes[s][1], br_sizes[s][2]);
    size_t sizes[][3] = {{1, 1, 1},   {3, 5, 7},     {1, 37, 100}, {2, 64, 300}, {3, 20, 33},
                         {6, 16, 256}, {7, 17, 257},
                         {32, 32, 100}, {97, 250, 300}, {256, 513, 70}, {13, 600, 520}};
    for (int ta = 0; ta <= 1; ta++)
        for (int tb = 0; tb <= 1; tb++)
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                one(ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], 1.0f, 0.0f, 0);
                one(ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], 0.5f, 1.0f, 3);
            }
    one(0, 1, 40, 40, 40, 2.0f, -0.5f, 1);
    size_t dot_sizes[][3] = {{1, 1, 1}, {3, 1, 37}, {2, 2, 16}, {3, 3, 15}, {2, 5, 100},
                             {3, 8, 33}, {1, 13, 64}, {32, 1, 32}, {2, 31, 7}};
    for (size_t s = 0; s < sizeof dot_sizes / sizeof dot_sizes[0]; s++)
        dots_same_bits(dot_sizes[s][0], dot_sizes[s][1], dot_sizes[s][2]);
    float x[6] = {0, 1, 2, 5, 5, 5};
    lf_softmax_rows(x, 2, 3);
    double e = exp(1.0), s = 1 + e + e * e;
    float want[6] = {(float)(1 / s), (float)(e / s), (float)(e * e / s), 1.0f / 3, 1.0f / 3, 1.0f / 3};
    CHECK_CLOSE("softmax rows", x, want, 6, 1e-7, 1e-6);
    return check_report("test_kernels");
}
