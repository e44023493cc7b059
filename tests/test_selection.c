/*
 * test_selection.c — greedy ensemble selection (ges, ges-log).  A case small
 * enough to follow by hand (sorted initialisation, then one greedy step);
 * the counts against an independent, naive implementation of the
 * documented algorithm on random data with missing rows (log-loss and
 * accuracy, linear and geometric pools); a perfect model taking every
 * selection; predictions against the weighted rules computed here; bagging;
 * the file round trip and a file with counts that are not counts.
 */
#include "check.h"
#include "io/safetensors.h"

#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NaN ((float)NAN)

static const char *const names4[4] = {"a", "b", "c", "d"};

static lf_fusion *fit(lf_method m, const float *const *p, size_t M, size_t N, size_t C, const int *y,
                      size_t size, int metric, size_t bags, uint64_t seed) {
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = m, o.ensemble_size = size, o.metric = metric, o.bags = bags, o.seed = seed;
    lf_status st = lf_fusion_fit(f, p, names4, M, N, C, y, &o);
    CHECK(st == LF_OK, "fit %s: %s", lf_method_name(m), lf_fusion_error(f));
    return f;
}

/* the selection counts: the weights times the ensemble size */
static void counts_of(const lf_fusion *f, size_t M, size_t total, double *counts) {
    float w[4];
    CHECK(lf_fusion_weights(f, w, 4, NULL, NULL) == M, "weights");
    for (size_t k = 0; k < M; k++) counts[k] = (double)w[k] * (double)total;
}

static void test_by_hand(void) {
    /* two rows, two classes, labels 0 and 1; the labels' probabilities:
     * A 0.9, 0.4 (own log-loss 0.5108); B 0.5, 0.8 (0.4581, better).
     * Sorted: B, A; the pool B+A gives 0.7, 0.6 (0.4338): both kept.
     * Third selection: +A gives (1.8+.5)/3, (.8+.8)/3 -> 0.4472; +B gives
     * 1.9/3, 2/3 -> 0.4311: B.  Counts A 1, B 2. */
    float a[4] = {0.9f, 0.1f, 0.6f, 0.4f}, b[4] = {0.5f, 0.5f, 0.2f, 0.8f};
    const float *p[2] = {a, b};
    int y[2] = {0, 1};
    double c[2];
    lf_fusion *f = fit(LF_FUSE_GES, p, 2, 2, 2, y, 3, LF_METRIC_LOG_LOSS, 1, 0);
    counts_of(f, 2, 3, c);
    CHECK(fabs(c[0] - 1) < 1e-5 && fabs(c[1] - 2) < 1e-5, "counts %g %g, by hand 1 2", c[0], c[1]);
    float out[4];
    CHECK(lf_fusion_predict(f, p, 2, out) == LF_OK, "predict");
    CHECK(fabs(out[0] - 1.9 / 3) < 1e-6 && fabs(out[1] - 1.1 / 3) < 1e-6 && fabs(out[3] - 2.0 / 3) < 1e-6,
          "pooled rows %g %g / %g %g", out[0], out[1], out[2], out[3]);
    /* a missing output: the pool of the models present */
    float bm[4] = {0.5f, 0.5f, NaN, NaN};
    const float *pm[2] = {a, bm};
    CHECK(lf_fusion_predict(f, pm, 2, out) == LF_OK && out[2] == 0.6f && out[3] == 0.4f,
          "row with B missing is A's row: %g %g", out[2], out[3]);
    lf_fusion_free(f);
    f = fit(LF_FUSE_GES, p, 2, 2, 2, y, 2, LF_METRIC_LOG_LOSS, 1, 0);
    counts_of(f, 2, 2, c);
    CHECK(fabs(c[0] - 1) < 1e-5 && fabs(c[1] - 1) < 1e-5, "size 2: counts %g %g, by hand 1 1", c[0], c[1]);
    lf_fusion_free(f);

    /* ges-log with the same counts 1, 2 pools geometrically:
     * row 0: 0.9^(1/3) 0.5^(2/3) vs 0.1^(1/3) 0.5^(2/3), renormalised */
    f = fit(LF_FUSE_GES_LOG, p, 2, 2, 2, y, 3, LF_METRIC_LOG_LOSS, 1, 0);
    counts_of(f, 2, 3, c);
    double g0 = pow(0.9, 1.0 / 3) * pow(0.5, 2.0 / 3), g1 = pow(0.1, 1.0 / 3) * pow(0.5, 2.0 / 3);
    if (fabs(c[0] - 1) < 1e-5 && fabs(c[1] - 2) < 1e-5) {
        CHECK(lf_fusion_predict(f, p, 2, out) == LF_OK && fabs(out[0] - g0 / (g0 + g1)) < 1e-6,
              "geometric pool %g, by hand %g", out[0], g0 / (g0 + g1));
    } else {
        CHECK(0, "ges-log counts %g %g", c[0], c[1]);
    }
    lf_fusion_free(f);

    /* a perfect model takes every selection */
    float perfect[4] = {1, 0, 0, 1};
    const float *pp[2] = {b, perfect};
    f = fit(LF_FUSE_GES, pp, 2, 2, 2, y, 50, LF_METRIC_LOG_LOSS, 1, 0);
    counts_of(f, 2, 50, c);
    CHECK(c[0] == 0 && fabs(c[1] - 50) < 1e-4, "perfect model: counts %g %g", c[0], c[1]);
    lf_fusion_free(f);
}

/* ---------------------------------------------- the naive reference */

typedef struct ref {
    const float *const *p;
    size_t M, N, C;
    const int *y;
    int geometric, accuracy;
} ref;

/* score of the pool with selection counts cnt (a fresh computation per
 * call: the documented formula, nothing kept between calls) */
static void ref_score(const ref *R, const double *cnt, double *ll, double *acc) {
    *ll = 0, *acc = 0;
    for (size_t r = 0; r < R->N; r++) {
        double v[16], d = 0;
        for (size_t c = 0; c < R->C; c++) v[c] = 0;
        for (size_t k = 0; k < R->M; k++) {
            const float *row = R->p[k] + r * R->C;
            if (cnt[k] == 0 || isnan(row[0])) continue;
            d += cnt[k];
            for (size_t c = 0; c < R->C; c++)
                v[c] += cnt[k] * (R->geometric ? log(row[c] > 1e-12 ? row[c] : 1e-12) : row[c]);
        }
        double q[16];
        if (d == 0) { /* no selected model present: the models present, equal weights */
            double one[8];
            for (size_t k = 0; k < R->M; k++) one[k] = 1;
            for (size_t k = 0; k < R->M; k++) {
                const float *row = R->p[k] + r * R->C;
                if (isnan(row[0])) continue;
                d += 1;
                for (size_t c = 0; c < R->C; c++)
                    v[c] += one[k] * (R->geometric ? log(row[c] > 1e-12 ? row[c] : 1e-12) : row[c]);
            }
        }
        if (d == 0) {
            for (size_t c = 0; c < R->C; c++) q[c] = 1.0 / (double)R->C;
        } else if (!R->geometric) {
            for (size_t c = 0; c < R->C; c++) q[c] = v[c] / d;
        } else {
            double z = 0, mx = -1e300;
            for (size_t c = 0; c < R->C; c++) mx = fmax(mx, v[c] / d);
            for (size_t c = 0; c < R->C; c++) z += q[c] = exp(v[c] / d - mx);
            for (size_t c = 0; c < R->C; c++) q[c] /= z;
        }
        size_t best = 0, t = (size_t)R->y[r];
        for (size_t c = 1; c < R->C; c++)
            if (q[c] > q[best]) best = c;
        *ll -= log(fmin(fmax(q[t], 1e-15), 1.0));
        *acc += best == t;
    }
    *ll /= (double)R->N, *acc /= (double)R->N;
}

static int ref_better(const ref *R, double la, double aa, double lb, double ab) {
    if (R->accuracy && fabs(aa - ab) > 1e-12) return aa > ab;
    return la < lb - 1e-12;
}

/* no_init: skip the sorted initialisation (start from the best model
 * alone), to show that the cases below depend on it */
static void ref_select(const ref *R, size_t size, double *cnt, int no_init) {
    size_t M = R->M, order[8];
    double own_ll[8], own_acc[8], one[8];
    for (size_t k = 0; k < M; k++) {
        memset(one, 0, sizeof one);
        one[k] = 1;
        ref_score(R, one, &own_ll[k], &own_acc[k]);
        order[k] = k;
    }
    for (size_t i = 1; i < M; i++) /* stable: ties keep the lower index first */
        for (size_t j = i; j > 0 && ref_better(R, own_ll[order[j]], own_acc[order[j]], own_ll[order[j - 1]],
                                                own_acc[order[j - 1]]);
             j--) {
            size_t t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    double best_ll = INFINITY, best_acc = -1, ll, acc;
    size_t n_init = 1;
    memset(cnt, 0, M * sizeof *cnt);
    for (size_t i = 0; i < M && i < size; i++) {
        cnt[order[i]] += 1;
        ref_score(R, cnt, &ll, &acc);
        if (ref_better(R, ll, acc, best_ll, best_acc)) best_ll = ll, best_acc = acc, n_init = i + 1;
    }
    if (no_init) n_init = 1;
    memset(cnt, 0, M * sizeof *cnt);
    for (size_t i = 0; i < n_init; i++) cnt[order[i]] += 1;
    for (size_t step = n_init; step < size; step++) {
        long pick = -1;
        double pl = 0, pa = 0;
        for (size_t k = 0; k < M; k++) {
            cnt[k] += 1;
            ref_score(R, cnt, &ll, &acc);
            cnt[k] -= 1;
            if (pick < 0 || ref_better(R, ll, acc, pl, pa)) pick = (long)k, pl = ll, pa = acc;
        }
        cnt[pick] += 1;
    }
}

static double urand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static void test_against_reference(void) {
    enum { M = 4, N = 300, C = 3 };
    static float p[M][N * C];
    static int y[N];
    uint64_t s = 12345;
    for (size_t r = 0; r < N; r++) {
        y[r] = (int)(urand(&s) * C);
        for (size_t k = 0; k < M; k++) {
            float *row = p[k] + r * C;
            if (k == 2 && urand(&s) < 0.15) { /* model c misses some rows */
                for (size_t c = 0; c < C; c++) row[c] = NaN;
                continue;
            }
            double z = 0, e[C];
            for (size_t c = 0; c < C; c++) z += e[c] = exp(2.5 * urand(&s) + ((int)c == y[r] ? 0.6 + 0.1 * (double)k : 0));
            for (size_t c = 0; c < C; c++) row[c] = (float)(e[c] / z);
        }
    }
    const float *pp[M] = {p[0], p[1], p[2], p[3]};
    struct { lf_method m; int metric; } cases[4] = {{LF_FUSE_GES, LF_METRIC_LOG_LOSS},
                                                    {LF_FUSE_GES, LF_METRIC_ACCURACY},
                                                    {LF_FUSE_GES_LOG, LF_METRIC_LOG_LOSS},
                                                    {LF_FUSE_GES_LOG, LF_METRIC_ACCURACY}};
    int init_matters = 0;
    for (int i = 0; i < 4; i++) {
        ref R = {pp, M, N, C, y, cases[i].m == LF_FUSE_GES_LOG, cases[i].metric == LF_METRIC_ACCURACY};
        double want[M], got[M], plain[M];
        int same = 1, spread = 0;
        for (size_t size = 2; size <= 20; size++) {
            ref_select(&R, size, want, 0);
            ref_select(&R, size, plain, 1);
            init_matters += memcmp(want, plain, sizeof want) != 0;
            lf_fusion *f = fit(cases[i].m, pp, M, N, C, y, size, cases[i].metric, 1, 0);
            counts_of(f, M, size, got);
            lf_fusion_free(f);
            int eq = 1;
            for (size_t k = 0; k < M; k++) eq &= fabs(got[k] - want[k]) < 1e-4;
            if (!eq && same)
                CHECK(0, "%s, metric %d, size %zu: counts %g %g %g %g, reference %g %g %g %g",
                      lf_method_name(cases[i].m), cases[i].metric, size, got[0], got[1], got[2], got[3], want[0],
                      want[1], want[2], want[3]);
            same &= eq;
        }
        for (size_t k = 0; k < M; k++) spread += want[k] > 0;
        CHECK(same, "%s, metric %d: the counts of the reference for every size 2..20", lf_method_name(cases[i].m),
              cases[i].metric);
        CHECK(spread >= 2, "the case selects more than one model (%d)", spread);
    }
    CHECK(init_matters >= 1, "the sorted initialisation changes the counts in %d of the 4 x 19 cases", init_matters);

    /* bagging: 4 selections over random halves, counts added up; the seed
     * decides the halves */
    double c1[M], c2[M], c3[M];
    lf_fusion *f = fit(LF_FUSE_GES, pp, M, N, C, y, 10, LF_METRIC_LOG_LOSS, 4, 7);
    counts_of(f, M, 40, c1);
    lf_fusion_free(f);
    f = fit(LF_FUSE_GES, pp, M, N, C, y, 10, LF_METRIC_LOG_LOSS, 4, 7);
    counts_of(f, M, 40, c2);
    double tot = 0;
    int ints = 1;
    for (size_t k = 0; k < M; k++) tot += c1[k], ints &= fabs(c1[k] - round(c1[k])) < 1e-4;
    CHECK(fabs(tot - 40) < 1e-4 && ints, "bagged counts add up to 4 x 10 (%g)", tot);
    CHECK(memcmp(c1, c2, sizeof c1) == 0, "same seed, same bags");
    int differs = 0;
    for (uint64_t seed = 8; seed < 14 && !differs; seed++) {
        lf_fusion_free(f);
        f = fit(LF_FUSE_GES, pp, M, N, C, y, 10, LF_METRIC_LOG_LOSS, 4, seed);
        counts_of(f, M, 40, c3);
        differs = memcmp(c1, c3, sizeof c1) != 0;
    }
    CHECK(differs, "another seed draws other halves");

    /* the file: predictions bit-identical after a round trip */
    char path[] = "/tmp/latefuse_ges_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    CHECK(lf_fusion_save(f, path, 0) == LF_OK, "save: %s", lf_fusion_error(f));
    lf_fusion *g;
    lf_fusion_create(&g);
    CHECK(lf_fusion_load(g, path) == LF_OK, "load: %s", lf_fusion_error(g));
    static float o1[N * C], o2[N * C];
    CHECK(lf_fusion_predict(f, pp, N, o1) == LF_OK && lf_fusion_predict(g, pp, N, o2) == LF_OK &&
              memcmp(o1, o2, sizeof o1) == 0 && lf_fusion_method(g) == LF_FUSE_GES,
          "round trip");
    /* counts that are not counts */
    lf_st_file sf;
    lf_err e;
    CHECK(lf_st_read(path, &sf, &e) == LF_OK, "read back");
    float w[M] = {1, 2.5f, 0, 1};
    lf_st_out t = {"fusion.weights", w, 1, {M}};
    const char *keys[3] = {"format", "format_version", "fusion"};
    const char *vals[3] = {lf_st_metadata(&sf, "format"), lf_st_metadata(&sf, "format_version"),
                           lf_st_metadata(&sf, "fusion")};
    CHECK(lf_st_write(path, &t, 1, keys, vals, 3, 0, &e) == LF_OK, "write: %s", e.msg);
    lf_st_free(&sf);
    CHECK(lf_fusion_load(g, path) == LF_ERR_FORMAT &&
              strstr(lf_fusion_error(g), "tensor 'fusion.weights' of ges must hold selection counts (integers >= 0)"),
          "%s", lf_fusion_error(g));
    unlink(path);
    lf_fusion_free(g);
    lf_fusion_free(f);
}

/* A row where no selected model is present gets the models present with
 * equal weights, at fit (the counts are the reference's, whose score says
 * so) and at predict (the row of the one model present, bit for bit), not
 * the uniform distribution: model a is sure and right where present but
 * missing in 40 % of the rows, b is weaker everywhere */
static void test_unselected_present(void) {
    enum { M = 2, N = 400, C = 4 };
    static float p[M][N * C];
    static int y[N];
    uint64_t s = 99;
    size_t n_missing = 0;
    for (size_t r = 0; r < N; r++) {
        y[r] = (int)(r % C);
        for (size_t c = 0; c < C; c++) p[0][r * C + c] = (int)c == y[r] ? 0.97f : 0.01f;
        if (urand(&s) < 0.4) {
            for (size_t c = 0; c < C; c++) p[0][r * C + c] = NaN;
            n_missing++;
        }
        double z = 0, e[C];
        for (size_t c = 0; c < C; c++) z += e[c] = exp(1.5 * urand(&s) + ((int)c == y[r] ? 1.0 : 0));
        for (size_t c = 0; c < C; c++) p[1][r * C + c] = (float)(e[c] / z);
    }
    const float *pp[M] = {p[0], p[1]};
    static float out[N * C];
    for (int geo = 0; geo <= 1; geo++) {
        lf_method m = geo ? LF_FUSE_GES_LOG : LF_FUSE_GES;
        for (int metric = LF_METRIC_LOG_LOSS; metric <= LF_METRIC_ACCURACY; metric++) {
            ref R = {pp, M, N, C, y, geo, metric == LF_METRIC_ACCURACY};
            double want[M], got[M];
            ref_select(&R, 10, want, 0);
            lf_fusion *f = fit(m, pp, M, N, C, y, 10, metric, 1, 0);
            counts_of(f, M, 10, got);
            CHECK(got[0] == want[0] && got[1] == want[1], "%s, metric %d: counts %g %g, reference %g %g",
                  lf_method_name(m), metric, got[0], got[1], want[0], want[1]);
            lf_fusion_free(f);
        }
        /* all selections on a: where a is missing, b's row */
        lf_fusion *f = fit(m, pp, M, N, C, y, 10, LF_METRIC_LOG_LOSS, 1, 0);
        double cnt[M];
        counts_of(f, M, 10, cnt);
        CHECK(cnt[0] == 10 && cnt[1] == 0, "%s selects a only: %g %g", lf_method_name(m), cnt[0], cnt[1]);
        CHECK(lf_fusion_predict(f, pp, N, out) == LF_OK, "predict: %s", lf_fusion_error(f));
        size_t as_b = 0;
        for (size_t r = 0; r < N; r++)
            as_b += isnan(p[0][r * C]) && memcmp(out + r * C, p[1] + r * C, C * sizeof(float)) == 0;
        CHECK(as_b == n_missing, "%s: %zu of the %zu rows without a get b's row", lf_method_name(m), as_b, n_missing);
        lf_fusion_free(f);
    }
}

/* the candidates' scores are computed in blocks across threads: the counts
 * (and so the weights' bits) do not depend on the thread count */
static void test_threads(void) {
#ifdef _OPENMP
    enum { M = 4, N = 40000, C = 3 };
    static float p[M][N * C];
    static int y[N];
    uint64_t s = 99;
    for (size_t r = 0; r < N; r++) {
        y[r] = (int)(urand(&s) * C);
        for (size_t k = 0; k < M; k++) {
            double z = 0, e[C];
            for (size_t c = 0; c < C; c++) z += e[c] = exp(2.5 * urand(&s) + ((int)c == y[r] ? 0.7 : 0));
            for (size_t c = 0; c < C; c++) p[k][r * C + c] = (float)(e[c] / z);
        }
    }
    const float *pp[M] = {p[0], p[1], p[2], p[3]};
    float w[3][M];
    int threads[3] = {8, 3, 1}; /* largest first: libomp 14 leaks under LeakSanitizer when a team grows */
    for (int i = 0; i < 3; i++) {
        omp_set_num_threads(threads[i]);
        lf_fusion *f = fit(LF_FUSE_GES, pp, M, N, C, y, 30, LF_METRIC_LOG_LOSS, 1, 0);
        CHECK(lf_fusion_weights(f, w[i], M, NULL, NULL) == M, "weights");
        lf_fusion_free(f);
    }
    omp_set_num_threads(2);
    CHECK(memcmp(w[0], w[1], sizeof w[0]) == 0 && memcmp(w[0], w[2], sizeof w[0]) == 0,
          "ges weights with 8, 3 and 1 threads: %g %g %g %g / %g %g %g %g / %g %g %g %g", w[0][0], w[0][1], w[0][2],
          w[0][3], w[1][0], w[1][1], w[1][2], w[1][3], w[2][0], w[2][1], w[2][2], w[2][3]);
#endif
}

static void test_errors(void) {
    float a[4] = {0.9f, 0.1f, 0.6f, 0.4f};
    const float *p[1] = {a};
    int y[2] = {0, 1};
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_GES, o.metric = LF_METRIC_BRIER;
    CHECK(lf_fusion_fit(f, p, names4, 1, 2, 2, y, &o) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f), "ges optimises the log-loss or the accuracy, not the Brier score") == 0,
          "%s", lf_fusion_error(f));
    o.metric = LF_METRIC_MACRO_F1;
    CHECK(lf_fusion_fit(f, p, names4, 1, 2, 2, y, &o) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f),
                     "ges optimises the log-loss or the accuracy, not the macro-F1 (auto alone chooses by it)") == 0,
          "%s", lf_fusion_error(f));
    o.metric = (int)LF_NUM_METRICS + 3;
    CHECK(lf_fusion_fit(f, p, names4, 1, 2, 2, y, &o) == LF_ERR_ARG && strstr(lf_fusion_error(f), "not metric 8"),
          "%s", lf_fusion_error(f));
    lf_fusion_free(f);
}

int main(void) {
    test_unselected_present();
    test_by_hand();
    test_against_reference();
    test_threads();
    test_errors();
    return check_report("test_selection");
}
