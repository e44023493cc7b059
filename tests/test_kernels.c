/*
 * test_kernels.c — the sgemm against a double-precision reference for every
 * transposition, odd sizes that exercise every edge of the blocking (rows
 * not a multiple of the micro-tile, K across several blocks), alpha/beta,
 * leading dimensions larger than the row length, and beta = 0 ignoring NaN
 * in C; softmax rows against hand values.
 */
#include "check.h"
#include "kernels.h"
#include "engine_util.h"

#include <stdlib.h>

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

int main(void) {
    size_t sizes[][3] = {{1, 1, 1},   {3, 5, 7},     {6, 16, 256}, {7, 17, 257},
                         {32, 32, 100}, {97, 250, 300}, {256, 513, 70}, {13, 600, 520}};
    for (int ta = 0; ta <= 1; ta++)
        for (int tb = 0; tb <= 1; tb++)
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                one(ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], 1.0f, 0.0f, 0);
                one(ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], 0.5f, 1.0f, 3);
            }
    one(0, 1, 40, 40, 40, 2.0f, -0.5f, 1);
    float x[6] = {0, 1, 2, 5, 5, 5};
    lf_softmax_rows(x, 2, 3);
    double e = exp(1.0), s = 1 + e + e * e;
    float want[6] = {(float)(1 / s), (float)(e / s), (float)(e * e / s), 1.0f / 3, 1.0f / 3, 1.0f / 3};
    CHECK_CLOSE("softmax rows", x, want, 6, 1e-7, 1e-6);
    return check_report("test_kernels");
}
