/*
 * test_knn.c — the exact k-nearest-neighbour search of dynamic selection
 * (src/fusion/knn.c) against a plain scan written out here (the key of
 * knn.h: squared distance in double, eight partial sums; equal keys to the
 * lower row; a full sort of every row), neighbour for neighbour, with each
 * filter kernel (knn.h: the default, AMX where the CPU has it; AVX-512
 * VNNI; AVX2; the portable one), which must also let the same rows through;
 * widths around AMX's slices of 16 groups; random
 * profiles with missing models, row and query counts around the kernel's
 * 32-row chunks, 16-query tiles and 4096-row cache blocks, k from 1 to
 * more than the rows, rows left out (as dynamic selection's weights do);
 * duplicated rows; exact ties between different rows; rows closer together
 * than the 8-bit copy can tell apart (the exact key decides); values
 * outside [0, 1] (clamped by the filter, still exact); rows wider than the
 * filter takes; standardised features with the filter over their range
 * (lf_knn_build_range), queries outside it, a range too narrow, width 0;
 * several blocks of 4096 rows with equal rows across and within them;
 * values the same in every row (left out of the filter) and queries that
 * differ in them.
 */
#include "check.h"
#include "fusion/knn.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static double urand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static const double *ref_key;
static int by_key(const void *a, const void *b) {
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (ref_key[i] != ref_key[j]) return ref_key[i] < ref_key[j] ? -1 : 1;
    return i < j ? -1 : i > j; /* equal keys: the lower row */
}

/* the K nearest of query q by a full sort; returns how many */
static size_t reference(const float *rows, size_t n, size_t D, const float *q, size_t K, size_t excl, size_t *nb) {
    double *key = malloc(n * sizeof *key);
    size_t *idx = malloc(n * sizeof *idx), m = 0;
    for (size_t r = 0; r < n; r++) {
        double p[8] = {0};
        for (size_t d = 0; d < D; d++) {
            double t = (double)q[d] - (double)rows[r * D + d];
            p[d % 8] += t * t;
        }
        key[r] = ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]));
        if (r != excl) idx[m++] = r;
    }
    ref_key = key;
    qsort(idx, m, sizeof *idx, by_key);
    size_t got = m < K ? m : K;
    memcpy(nb, idx, got * sizeof *nb);
    free(key), free(idx);
    return got;
}

/* Both filters against the reference on nq queries; excl NULL or per
 * query.  Returns 1 when every neighbour list is the reference's. */
static int agree_range(const char *what, const float *rows, size_t n, size_t D, size_t Df, const float *q,
                       size_t nq, size_t K, const size_t *excl, double lo, double hi) {
    lf_knn ix;
    lf_knn_work w;
    if (lf_knn_build_range(&ix, rows, n, D, Df, lo, hi) != LF_OK || !lf_knn_work_alloc(&w, &ix, nq, K)) {
        CHECK(0, "%s: out of memory", what);
        return 0;
    }
    size_t *nb = malloc((nq * K + 1) * sizeof *nb), *cnt = malloc(nq * sizeof *cnt), want[64], exact[4];
    static const char *const name[] = {"default", "portable", "VNNI", "AVX2"};
    int ok = 1;
    for (int k = 0; k < 4; k++) { /* LF_KNN_BEST, LF_KNN_PORTABLE, LF_KNN_VNNI, LF_KNN_AVX2 */
        memset(nb, 0xff, (nq * K + 1) * sizeof *nb);
        w.guess = 0, w.exact = 0;
        lf_knn_search(&ix, q, nq, K, excl, nb, cnt, &w, (lf_knn_kernel)k);
        exact[k] = w.exact;
        for (size_t i = 0; i < nq && ok; i++) {
            size_t m = reference(rows, n, D, q + i * D, K, excl ? excl[i] : (size_t)-1, want);
            if (cnt[i] != m || memcmp(nb + i * K, want, m * sizeof *want) != 0) {
                size_t j = 0;
                while (j < m && j < cnt[i] && nb[i * K + j] == want[j]) j++;
                CHECK(0, "%s (%s filter): query %zu: %zu neighbours, want %zu; neighbour %zu is row %zu, want %zu",
                      what, name[k], i, cnt[i], m, j, j < cnt[i] ? nb[i * K + j] : 0, j < m ? want[j] : 0);
                ok = 0;
            }
        }
    }
    /* every kernel computes the same integers, so it lets the same rows
     * through: a kernel that let too many through would still give the
     * right neighbours, but not the same count */
    if (exact[0] != exact[1] || exact[2] != exact[1] || exact[3] != exact[1]) {
        CHECK(0, "%s: rows let through by the filter: %zu (default), %zu (portable), %zu (VNNI), %zu (AVX2)", what,
              exact[0], exact[1], exact[2], exact[3]);
        ok = 0;
    }
    free(nb), free(cnt);
    lf_knn_work_free(&w);
    lf_knn_free(&ix);
    return ok;
}

/* agree_range over the filter range [0, 1] (lf_knn_build's) */
static int agree(const char *what, const float *rows, size_t n, size_t D, size_t Df, const float *q, size_t nq,
                 size_t K, const size_t *excl) {
    return agree_range(what, rows, n, D, Df, q, nq, K, excl, 0.0, 1.0);
}

/* n profiles of M models x C classes (+ M indicators): softmax rows, model
 * 1 missing in about 20 % of them */
static void profiles(float *x, size_t n, size_t M, size_t C, uint64_t *s) {
    size_t D = M * C + M;
    for (size_t r = 0; r < n; r++) {
        float *row = x + r * D;
        int label = (int)(urand(s) * (double)C);
        for (size_t k = 0; k < M; k++) {
            int missing = k == 1 && urand(s) < 0.2;
            double z = 0, e[16];
            for (size_t c = 0; c < C; c++) z += e[c] = exp(3.0 * urand(s) + ((int)c == label ? 1.0 : 0.0));
            for (size_t c = 0; c < C; c++) row[k * C + c] = missing ? 0.0f : (float)(e[c] / z);
            row[M * C + k] = missing ? 0.0f : 1.0f;
        }
    }
}

static void test_random(void) {
    enum { M = 3, C = 4, D = M * C + M };
    static const size_t ns[] = {1, 5, 31, 32, 33, 100, 4100}, nqs[] = {1, 7, 9, 15, 17, 40};
    static const size_t Ks[] = {1, 3, 7, 40};
    uint64_t s = 11;
    float *rows = malloc(4100 * D * sizeof *rows), *q = malloc(40 * D * sizeof *q);
    size_t excl[40];
    int all = 1;
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof nqs / sizeof *nqs; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) {
                size_t n = ns[a], nq = nqs[b], K = Ks[c];
                char what[96];
                profiles(rows, n, M, C, &s);
                profiles(q, nq, M, C, &s);
                snprintf(what, sizeof what, "random n %zu, %zu queries, K %zu", n, nq, K);
                all &= agree(what, rows, n, D, M * C, q, nq, K, NULL);
                /* the queries are fitting rows, each left out of its own search */
                for (size_t i = 0; i < nq; i++) {
                    excl[i] = (size_t)(urand(&s) * (double)n);
                    memcpy(q + i * D, rows + excl[i] * D, D * sizeof *q);
                }
                snprintf(what, sizeof what, "left out: n %zu, %zu queries, K %zu", n, nq, K);
                all &= agree(what, rows, n, D, M * C, q, nq, K, excl);
                snprintf(what, sizeof what, "the filter on every value: n %zu, %zu queries, K %zu", n, nq, K);
                all &= agree(what, rows, n, D, D, q, nq, K, NULL);
            }
    CHECK(all, "random cases");
    free(rows), free(q);
}

/* Rows drawn from a few points, each repeated many times: every distance
 * comes in many equal copies, and the lower rows win. */
static void test_duplicates(void) {
    enum { D = 6, N = 300, NQ = 10 };
    static float rows[N * D], q[NQ * D], base[4][D];
    uint64_t s = 5;
    for (size_t b = 0; b < 4; b++)
        for (size_t d = 0; d < D; d++) base[b][d] = (float)urand(&s);
    for (size_t r = 0; r < N; r++) memcpy(rows + r * D, base[(r * 7) % 4], sizeof base[0]);
    for (size_t i = 0; i < NQ; i++)
        for (size_t d = 0; d < D; d++) q[i * D + d] = i < 4 ? base[i][d] : (float)urand(&s);
    CHECK(agree("duplicated rows, K 7", rows, N, D, D, q, NQ, 7, NULL), "duplicates");
    CHECK(agree("duplicated rows, K 100", rows, N, D, D, q, NQ, 40, NULL), "duplicates, K 40");
    /* all the same row: the first K */
    for (size_t r = 0; r < N; r++) memcpy(rows + r * D, base[0], sizeof base[0]);
    CHECK(agree("identical rows", rows, N, D, D, q, NQ, 7, NULL), "identical rows");
}

/* Exact ties between different rows: the query is 0.5 everywhere, rows
 * 0.5 with one value moved by +-0.25 (squared distance 0.0625 exactly,
 * whichever value) or by 0.375 (farther), in a scrambled order. */
static void test_exact_ties(void) {
    enum { D = 12, N = 500 };
    static float rows[N * D], q[D];
    uint64_t s = 9;
    for (size_t d = 0; d < D; d++) q[d] = 0.5f;
    for (size_t r = 0; r < N; r++) {
        for (size_t d = 0; d < D; d++) rows[r * D + d] = 0.5f;
        double u = urand(&s);
        rows[r * D + (size_t)(urand(&s) * D)] += u < 0.1 ? 0.25f : u < 0.2 ? -0.25f : 0.375f;
    }
    CHECK(agree("exact ties, K 7", rows, N, D, D, q, 1, 7, NULL), "exact ties");
    CHECK(agree("exact ties, K 60", rows, N, D, D, q, 1, 60, NULL), "exact ties, K 60");
}

/* Rows within less than the 8-bit copy's step (1/255) of each other and of
 * the query, around several centres: the filter cannot order them, the
 * exact key must; plus values outside [0, 1]. */
static void test_below_resolution(void) {
    enum { D = 10, N = 2000, NQ = 16 };
    static float rows[N * D], q[NQ * D], centre[5][D];
    uint64_t s = 21;
    for (size_t c = 0; c < 5; c++)
        for (size_t d = 0; d < D; d++) centre[c][d] = (float)urand(&s);
    for (size_t r = 0; r < N; r++)
        for (size_t d = 0; d < D; d++) rows[r * D + d] = centre[r % 5][d] + (float)((urand(&s) - 0.5) * 4e-3);
    for (size_t i = 0; i < NQ; i++)
        for (size_t d = 0; d < D; d++) q[i * D + d] = centre[i % 5][d] + (float)((urand(&s) - 0.5) * 4e-3);
    CHECK(agree("below the 8-bit step, K 7", rows, N, D, D, q, NQ, 7, NULL), "below resolution");
    CHECK(agree("below the 8-bit step, K 30", rows, N, D, D, q, NQ, 30, NULL), "below resolution, K 30");
    for (size_t r = 0; r < N; r++)
        for (size_t d = 0; d < D; d++) rows[r * D + d] = (float)(urand(&s) * 3.0 - 1.0);
    for (size_t i = 0; i < NQ; i++)
        for (size_t d = 0; d < D; d++) q[i * D + d] = (float)(urand(&s) * 3.0 - 1.0);
    CHECK(agree("values in [-1, 2]", rows, N, D, D, q, NQ, 7, NULL), "outside [0, 1]");
}

/* Standardised features (about -3..3) with the filter over the rows'
 * range: random rows, queries partly outside the range (clamped), rows
 * closer to each other than the filter's step, a range given too narrow
 * (every value clamped: still exact, only slower), and a row range of
 * width 0. */
static void test_range(void) {
    enum { D = 5, N = 3000, NQ = 24 };
    static float rows[N * D], q[NQ * D];
    uint64_t s = 33;
    double lo = 0, hi = 0;
    for (size_t i = 0; i < N * D; i++) {
        double u = (urand(&s) + urand(&s) + urand(&s) - 1.5) * 2.0;
        rows[i] = (float)u;
        lo = u < lo ? u : lo, hi = u > hi ? u : hi;
    }
    for (size_t i = 0; i < NQ * D; i++) q[i] = (float)((urand(&s) - 0.5) * 9.0);
    CHECK(agree_range("features, K 7", rows, N, D, D, q, NQ, 7, NULL, lo, hi), "features");
    CHECK(agree_range("features, K 40", rows, N, D, D, q, NQ, 40, NULL, lo, hi), "features, K 40");
    CHECK(agree_range("features, range too narrow", rows, N, D, D, q, NQ, 7, NULL, -0.1, 0.1), "narrow range");
    for (size_t r = 0; r < N; r++)
        for (size_t d = 0; d < D; d++) rows[r * D + d] = (float)(r % 3) + (float)((urand(&s) - 0.5) * 1e-2);
    for (size_t i = 0; i < NQ * D; i++) q[i] = (float)(i % 3) + (float)((urand(&s) - 0.5) * 1e-2);
    CHECK(agree_range("features below the step", rows, N, D, D, q, NQ, 7, NULL, -0.005, 2.005), "below the step");
    for (size_t i = 0; i < N * D; i++) rows[i] = 4.0f;
    CHECK(agree_range("constant features", rows, N, D, D, q, NQ, 7, NULL, 4.0, 4.0), "constant rows");
}

/* rows wider than the filter takes (8192 values): the rest is left to the
 * exact key */
static void test_wide(void) {
    enum { D = 9000, N = 70, NQ = 3 };
    float *rows = malloc(N * D * sizeof *rows), *q = malloc(NQ * D * sizeof *q);
    uint64_t s = 3;
    for (size_t i = 0; i < N * D; i++) rows[i] = (float)urand(&s);
    for (size_t i = 0; i < NQ * D; i++) q[i] = (float)urand(&s);
    CHECK(agree("9000 values a row", rows, N, D, D, q, NQ, 7, NULL), "wide rows");
    free(rows), free(q);
}

/* Several full blocks of 4096 rows (batches of a whole block after the
 * first, knn.c): rows repeated in later blocks and twice within a block,
 * so that equal keys meet across blocks and within a batch; queries that
 * are rows (left out or not) and random ones; K from 1 to 40. */
static void test_blocks(void) {
    enum { M = 3, C = 4, D = M * C + M, N = 2 * 4096 + 900, NQ = 13 };
    float *rows = malloc((size_t)N * D * sizeof *rows), q[NQ * D];
    size_t excl[NQ];
    uint64_t s = 41;
    int all = 1;
    profiles(rows, N, M, C, &s);
    for (size_t r = 4096; r < N; r += 3) memcpy(rows + r * D, rows + (r - 4096) * D, D * sizeof *rows);
    for (size_t r = 4096 + 1; r + 500 < N; r += 97) memcpy(rows + r * D, rows + (r + 500) * D, D * sizeof *rows);
    profiles(q, NQ, M, C, &s);
    for (size_t i = 0; i < NQ; i += 2) memcpy(q + i * D, rows + (i * 300 + 4100) * D, D * sizeof *q);
    for (size_t i = 0; i < NQ; i++) excl[i] = i % 4 == 0 ? i * 300 + 4100 : (i * 1237) % N;
    static const size_t Ks[] = {1, 7, 40};
    for (size_t k = 0; k < 3; k++) {
        char what[64];
        snprintf(what, sizeof what, "%d rows, K %zu", N, Ks[k]);
        all &= agree(what, rows, N, D, D, q, NQ, Ks[k], NULL);
        snprintf(what, sizeof what, "%d rows, left out, K %zu", N, Ks[k]);
        all &= agree(what, rows, N, D, D, q, NQ, Ks[k], excl);
    }
    CHECK(all, "several blocks");
    free(rows);
}

/* Values the same in every row, which the filter leaves to the exact key
 * (knn.c): rows with every model present (indicators all 1) and one
 * probability fixed, queries with a model missing (indicator 0) or
 * different in the fixed value, or rows themselves; a value the same in
 * all rows but the last; every value the same (a filter of no values);
 * features with a value the same in every row and queries far off in it. */
static void test_constant_values(void) {
    enum { M = 3, C = 4, D = M * C + M, N = 4096 + 700, NQ = 21 };
    float *rows = malloc((size_t)N * D * sizeof *rows), q[NQ * D];
    size_t excl[NQ];
    uint64_t s = 77;
    int all = 1;
    profiles(rows, N, M, C, &s);
    for (size_t r = 0; r < N; r++) {
        float *x = rows + r * D;
        if (x[M * C + 1] == 0.0f) memcpy(x + C, x, C * sizeof *x); /* model 1 present again */
        x[M * C + 1] = 1.0f;
        x[2 * C + 3] = 0.125f;
    }
    profiles(q, NQ, M, C, &s); /* model 1 missing in some */
    for (size_t i = 0; i < NQ; i += 3) memcpy(q + i * D, rows + (i * 211) * D, D * sizeof *q);
    q[1 * D + 2 * C + 3] = 0.5f, q[4 * D + 2 * C + 3] = 0.125f;
    for (size_t i = 0; i < NQ; i++) excl[i] = i % 3 == 0 ? i * 211 : (i * 977) % N;
    static const size_t Ks[] = {1, 7, 40};
    for (size_t k = 0; k < 3; k++) {
        char what[64];
        snprintf(what, sizeof what, "values the same in every row, K %zu", Ks[k]);
        all &= agree(what, rows, N, D, D, q, NQ, Ks[k], NULL);
        snprintf(what, sizeof what, "values the same in every row, left out, K %zu", Ks[k]);
        all &= agree(what, rows, N, D, D, q, NQ, Ks[k], excl);
    }
    rows[(N - 1) * D + 2 * C + 3] = 0.25f; /* the same in all rows but the last */
    all &= agree("a value the same in all rows but the last", rows, N, D, D, q, NQ, 7, NULL);
    for (size_t r = 1; r < 100; r++) memcpy(rows + r * D, rows, D * sizeof *rows);
    all &= agree("100 equal rows", rows, 100, D, D, q, NQ, 7, NULL);
    /* a query far off in a value the same in every row (cq = 9, the rest
     * of the distance about 0.01): the bound is sqrt(U^2 - cq), to the
     * last digits */
    enum { F = 5, NF = 3000 };
    for (size_t r = 0; r < NF; r++)
        for (size_t d = 0; d < F; d++) rows[r * F + d] = d == 0 ? 0.0f : (float)urand(&s);
    for (size_t i = 0; i < NQ; i++)
        for (size_t d = 0; d < F; d++) q[i * F + d] = d == 0 ? (i % 2 ? 3.0f : 0.0f) : (float)urand(&s);
    all &= agree_range("a value the same in every row, the queries 3 away", rows, NF, F, F, q, NQ, 7, NULL, 0.0, 1.0);
    CHECK(all, "values the same in every row");
    free(rows);
}

/* One index and one work over several calls (knn.c: a call's limits start
 * from the previous call's K-th keys, and a query whose K-th key comes out
 * above that guess is searched again): queries near the rows (small K-th
 * keys), then random ones (the guess too low for most), random ones again
 * (a guess from queries like them: too low for a few) and far ones (too
 * low for all: searched again, from the K-th key found or from nothing
 * when fewer than K rows passed), then near ones again (too high), left
 * out, the same queries twice (K-th keys equal to the guess), rows
 * repeated (equal keys at the K-th); a call of 17 queries. */
static void test_calls(void) {
    enum { M = 3, C = 4, D = M * C + M, N = 2 * 4096 + 900, NQ = 40 };
    float *rows = malloc((size_t)N * D * sizeof *rows), *q = malloc(NQ * D * sizeof *q);
    size_t *nb = malloc(NQ * 40 * sizeof *nb), cnt[NQ], want[40], excl[NQ];
    uint64_t s = 55;
    int all = 1;
    profiles(rows, N, M, C, &s);
    for (size_t r = 4096; r < N; r += 5) memcpy(rows + r * D, rows + (r - 4000) * D, D * sizeof *rows);
    for (size_t K = 7; K <= 40; K += 33) {
        lf_knn ix;
        lf_knn_work w;
        if (lf_knn_build(&ix, rows, N, D, D) != LF_OK || !lf_knn_work_alloc(&w, &ix, NQ, K)) {
            CHECK(0, "out of memory");
            break;
        }
        for (int call = 0; call < 7; call++) {
            size_t nq = call == 6 ? 17 : NQ; /* a call of 17 queries: a tile and one */
            for (size_t i = 0; i < nq; i++) {
                size_t r = (i * 619 + (size_t)call * 31) % N;
                excl[i] = r;
                for (size_t d = 0; d < D; d++) {
                    double v = rows[r * D + d];
                    if (call == 1 || call == 2 || call == 6) v = urand(&s); /* random */
                    else if (call == 3) v = 2.0 + urand(&s); /* far: outside [0, 1] */
                    else if (call != 5) v += (urand(&s) - 0.5) * 0.02; /* near */
                    q[i * D + d] = (float)v;
                }
            }
            if (call == 5) memcpy(q, q + D, D * sizeof *q); /* two equal queries */
            const size_t *ex = call == 4 || call == 5 ? excl : NULL;
            for (int again = 0; again <= (call == 4); again++) { /* call 4 twice: K-th keys at the guess */
                size_t failed = w.failed;
                lf_knn_search(&ix, q, nq, K, ex, nb, cnt, &w, LF_KNN_BEST);
                if (call == 3) CHECK(w.failed - failed == nq, "K %zu, call %d: every far query again", K, call);
                for (size_t i = 0; i < nq; i++) {
                    size_t m = reference(rows, N, D, q + i * D, K, ex ? ex[i] : (size_t)-1, want);
                    if (cnt[i] != m || memcmp(nb + i * K, want, m * sizeof *want) != 0) {
                        CHECK(0, "K %zu, call %d%s: query %zu: not the reference's neighbours", K, call,
                              again ? " again" : "", i);
                        all = 0;
                        break;
                    }
                }
            }
        }
        CHECK(w.failed > 0 && w.failed < 7 * NQ, "K %zu: some queries searched again (%zu)", K, w.failed);
        lf_knn_work_free(&w);
        lf_knn_free(&ix);
    }
    CHECK(all, "one work over several calls");
    free(rows), free(q), free(nb);
}

/* Widths around AMX's slices of 16 groups of 4 values (knn.c): one slice
 * short or full, two with the last sharing groups with the first, three;
 * query counts around the 16 queries of a kernel call; rows in clusters,
 * so that the filter keeps few. */
static void test_widths(void) {
    static const size_t Ds[] = {3, 61, 64, 65, 68, 100, 128, 129, 200};
    enum { N = 700, NQ = 33, DMAX = 200 };
    float *rows = malloc((size_t)N * DMAX * sizeof *rows), *q = malloc(NQ * DMAX * sizeof *q);
    uint64_t s = 77;
    int all = 1;
    for (size_t a = 0; a < sizeof Ds / sizeof *Ds; a++) {
        size_t D = Ds[a];
        for (size_t r = 0; r < N; r++) /* 20 clusters */
            for (size_t d = 0; d < D; d++)
                rows[r * D + d] = (float)(0.05 * urand(&s) + 0.9 * (double)((r % 20 * 7 + d) % 20) / 20.0);
        for (size_t i = 0; i < NQ; i++)
            for (size_t d = 0; d < D; d++)
                q[i * D + d] = rows[(i * 37 % N) * D + d] + (float)(0.02 * (urand(&s) - 0.5));
        char what[64];
        for (size_t nq = 15; nq <= NQ; nq += 9) { /* 15, 24, 33 */
            snprintf(what, sizeof what, "width %zu, %zu queries", D, nq);
            all &= agree(what, rows, N, D, D, q, nq, 7, NULL);
        }
    }
    CHECK(all, "widths around the kernels' slices");
    free(rows), free(q);
}

int main(void) {
    test_widths();
    test_calls();
    test_random();
    test_blocks();
    test_constant_values();
    test_duplicates();
    test_exact_ties();
    test_below_resolution();
    test_wide();
    test_range();
    return check_report("test_knn");
}
