/*
 * knnsearch.c — B9's neighbour search by itself (src/fusion/knn.c), timed
 * on one thread, with a hash of every neighbour found, so that a change to
 * the search can be checked against another build bit for bit and timed
 * without the rest of dynamic selection (bench/README.md, B9's k-NN).
 *
 *   knnsearch ROWS FIT_ROWS [K] [kernel] [searches]
 *
 * The data are B9's (bench/fusion.c: seed 1 for the ROWS queries, seed 2
 * for the FIT_ROWS fitting rows, 5 models x 10 classes), turned into
 * dynamic selection's profiles (50 probabilities, 5 presence indicators).
 * Two searches: the ROWS queries against the fitting rows, in blocks of
 * 1024 as dynamic.c gives them (predict), and the fitting rows against
 * themselves, each leaving itself out (fit's competence rows).  Output:
 * one line each with the seconds (wall and CPU), the microseconds a query
 * and an FNV-1a hash of the neighbour counts and indices; the same hashes
 * from two builds mean the same neighbours.  kernel: the filter's, 0 the
 * fastest the CPU has (default), 1 the portable one, 2 AVX-512 VNNI
 * where the CPU also has AMX, 3 AVX2 where it also has AVX-512 (knn.h;
 * the hashes must not change);
 * searches: 1 for predict's alone (default 2, both).
 *
 * Built against the static library and its internal header, like the
 * tests: cc -O2 -std=c11 -Iinclude -Isrc bench/knnsearch.c
 * build/liblatefuse.a -lm -fopenmp ...
 */
#define _POSIX_C_SOURCE 200809L
#include "fusion/knn.h"

#include "b9_data.h"
#include "timing.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { M = 5, C = 10, D = M * C + M, QB = 1024 };

/* B9's outputs (b9_data.h) written into profiles (knn.h's rows): the
 * models' probabilities, then their presence indicators, all 1 */
static void draw_profiles(uint64_t seed, size_t N, float *x) {
    float *p[M];
    for (size_t k = 0; k < M; k++) p[k] = x + k * C;
    b9_draw(seed, N, M, C, p, D, NULL);
    for (size_t r = 0; r < N; r++)
        for (size_t k = 0; k < M; k++) x[r * D + M * C + k] = 1.0f;
}

static uint64_t fnv(uint64_t h, uint64_t v) {
    for (int b = 0; b < 8; b++) h = (h ^ (v >> (8 * b) & 0xff)) * 0x100000001b3ull;
    return h;
}

/* The K nearest fitting rows of the nq queries, QB at a time (self: query
 * i leaves fitting row i out); prints the time and the hash. */
static int run(const char *what, const lf_knn *ix, const float *q, size_t nq, size_t K, int self,
               lf_knn_kernel kernel) {
    lf_knn_work w;
    size_t *nb = malloc(QB * (K ? K : 1) * sizeof *nb), *cnt = malloc(QB * sizeof *cnt),
           *excl = malloc(QB * sizeof *excl);
    if (!nb || !cnt || !excl || !lf_knn_work_alloc(&w, ix, QB, K)) {
        free(nb), free(cnt), free(excl);
        return 1;
    }
    uint64_t h = 0xcbf29ce484222325ull;
    double t0 = now_s(), c0 = cpu_s();
    for (size_t r0 = 0; r0 < nq; r0 += QB) {
        size_t m = nq - r0 < QB ? nq - r0 : QB;
        for (size_t i = 0; i < m; i++) excl[i] = r0 + i;
        lf_knn_search(ix, q + r0 * D, m, K, self ? excl : NULL, nb, cnt, &w, kernel);
        for (size_t i = 0; i < m; i++) {
            h = fnv(h, cnt[i]);
            for (size_t j = 0; j < cnt[i]; j++) h = fnv(h, nb[i * K + j]);
        }
    }
    double dt = now_s() - t0, dc = cpu_s() - c0;
    printf("%-8s %zu queries: %.3f s (CPU %.3f s), %.2f us a query, %.1f exact keys a query, %.1f %% searched "
           "twice, hash %016llx\n",
           what, nq, dt, dc, 1e6 * dc / (double)nq, (double)w.exact / (double)nq, 100.0 * (double)w.failed / (double)nq,
           (unsigned long long)h);
    lf_knn_work_free(&w);
    free(nb), free(cnt), free(excl);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: knnsearch ROWS FIT_ROWS [K] [kernel] [searches]\n");
        return 2;
    }
    size_t nq = strtoul(argv[1], NULL, 10), n = strtoul(argv[2], NULL, 10);
    size_t K = argc > 3 ? strtoul(argv[3], NULL, 10) : 7;
    lf_knn_kernel kernel = argc > 4 ? (lf_knn_kernel)atoi(argv[4]) : LF_KNN_BEST;
    int searches = argc > 5 ? atoi(argv[5]) : 2;
    float *q = malloc(nq * D * sizeof *q), *x = malloc(n * D * sizeof *x);
    if (!q || !x) return 1;
    draw_profiles(1, nq, q);
    draw_profiles(2, n, x);
    lf_knn ix;
    double t0 = now_s();
    if (lf_knn_build(&ix, x, n, D, D) != LF_OK) return 1;
    printf("build    %zu rows: %.3f s\n", n, now_s() - t0);
    int rc = run("predict", &ix, q, nq, K, 0, kernel) ||
             (searches > 1 && run("fit", &ix, x, nq < n ? nq : n, K, 1, kernel));
    lf_knn_free(&ix);
    free(q), free(x);
    return rc;
}
