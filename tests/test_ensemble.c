/*
 * test_ensemble.c — auto's ensemble of its best candidates (ensemble.c):
 * greedy selection over two candidates' outputs, counts worked out by hand;
 * the pooled prediction of hand-fitted members (linear and log-linear
 * pool, a missing row, a calibrated member) against the formulas; auto
 * keeping an ensemble, whose predictions are its members' pooled as the
 * table weighs them, and its row's nested score rebuilt from its parts;
 * more rows than one block of predict; a member fitted with features; the
 * importance of a dynamic-selection member, each fitting row left out; a
 * member's failure in fit and in predict, said exactly; a fitted method's
 * failure in predict said by its rule's own message (fixed, classical and
 * selection methods, their state spoilt by hand); auto not keeping an
 * ensemble that cannot win; the file: a bit-identical round trip
 * (predictions and the re-saved bytes), members with tensors and a
 * network, and bad files refused with their exact messages.
 */
#include "check.h"
#include "fusion_data.h"
#include "fusion/cv.h"
#include "fusion/auto.h"
#include "fusion/ensemble.h"
#include "fusion/fusion_internal.h"
#include "fusion/metrics.h"
#include "report/report.h"
#include "io/safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const names2[2] = {"a", "b"};
static const char *const names3[3] = {"a", "b", "c"};

/* Two candidates, each right (0.9 on the label) on half the rows and
 * wrong (0.3) on the other half, the halves crossed.  Own log-loss: both
 * (-log 0.9 - log 0.3) / 2 = 0.6548, so the sorted order is a, b; the
 * prefix a + b pools 0.6 everywhere, 0.5108: both start.  Third
 * selection: a gives 0.7 / 0.5, b 0.5 / 0.7, both 0.5249 (tie: a) ->
 * counts 2, 1.  Fourth: b gives 0.6 everywhere (0.5108), a 0.75 / 0.45
 * (0.5430) -> 2, 2. */
static void test_select_by_hand(void) {
    enum { N = 4, C = 2 };
    float A[N * C], B[N * C];
    int y[N] = {0, 1, 0, 1};
    for (int r = 0; r < N; r++) {
        float pa = r < 2 ? 0.9f : 0.3f, pb = r < 2 ? 0.3f : 0.9f;
        A[r * C + y[r]] = pa, A[r * C + 1 - y[r]] = 1 - pa;
        B[r * C + y[r]] = pb, B[r * C + 1 - y[r]] = 1 - pb;
    }
    const float *outs[2] = {A, B};
    lf_fusion_options o = lf_fusion_defaults();
    lf_err e = {0};
    float counts[2] = {-1, -1}, pooled[N * C];
    o.ensemble_size = 3;
    CHECK(lf_ensemble_select(&e, outs, 2, C, y, NULL, N, &o, 0, counts) == LF_OK, "%s", e.msg);
    CHECK(counts[0] == 2 && counts[1] == 1, "size 3: counts %g %g, want 2 1", counts[0], counts[1]);
    CHECK(lf_ensemble_pool(&e, outs, 2, C, NULL, N, counts, 0, pooled) == LF_OK, "%s", e.msg);
    float want3[N * C] = {0.7f, 0.3f, 0.3f, 0.7f, 0.5f, 0.5f, 0.5f, 0.5f};
    CHECK_CLOSE("pool 2:1", pooled, want3, N * C, 1e-7, 0);
    o.ensemble_size = 4;
    CHECK(lf_ensemble_select(&e, outs, 2, C, y, NULL, N, &o, 0, counts) == LF_OK, "%s", e.msg);
    CHECK(counts[0] == 2 && counts[1] == 2, "size 4: counts %g %g, want 2 2", counts[0], counts[1]);
    /* on the rows 0 and 2 only (a subset, as each nested fold selects):
     * a alone 0.6548, a + b 0.5108 ... the same counts */
    size_t rows[2] = {0, 2};
    CHECK(lf_ensemble_select(&e, outs, 2, C, y, rows, 2, &o, 0, counts) == LF_OK && counts[0] == 2 &&
              counts[1] == 2, "rows 0, 2: counts %g %g", counts[0], counts[1]);
    CHECK(lf_ensemble_pool(&e, outs, 2, C, rows, 2, counts, 0, pooled) == LF_OK, "%s", e.msg);
    float want2[4] = {0.6f, 0.4f, 0.6f, 0.4f};
    CHECK_CLOSE("pool of rows 0, 2", pooled, want2, 4, 1e-7, 0);
}

/* Members mean (count 3) and max (count 1) over two models:
 * p_a = (0.8, 0.2), p_b = (0.4, 0.6): mean (0.6, 0.4), max (0.8, 0.6) / 1.4;
 * the linear pool 0.75 mean + 0.25 max, the log-linear pool
 * mean^0.75 max^0.25 renormalised; with b missing, both members give
 * p_a and so does the pool. */
static void test_pool_by_hand(void) {
    enum { M = 2, N = 8, C = 2 };
    float a[N * C], b[N * C];
    int y[N];
    for (int r = 0; r < N; r++) { /* fitting rows: fixed rules learn nothing */
        y[r] = r % 2;
        a[r * C] = r % 2 ? 0.3f : 0.7f, a[r * C + 1] = 1 - a[r * C];
        b[r * C] = 0.5f, b[r * C + 1] = 0.5f;
    }
    const float *p[M] = {a, b};
    lf_method methods[2] = {LF_FUSE_MEAN, LF_FUSE_MAX};
    int cal[2] = {0, 0};
    float counts[2] = {3, 1};
    lf_fusion_options o = lf_fusion_defaults();
    for (int g = 0; g < 2; g++) {
        lf_fusion *f;
        lf_fusion_create(&f);
        CHECK(lf_ensemble_fit(f, p, names2, M, N, C, y, &o, methods, cal, counts, 2, g) == LF_OK, "%s",
              lf_fusion_error(f));
        float qa[2 * C] = {0.8f, 0.2f, 0.8f, 0.2f}, qb[2 * C] = {0.4f, 0.6f, NAN, NAN}, out[2 * C];
        const float *q[M] = {qa, qb};
        CHECK(lf_fusion_predict(f, q, 2, out) == LF_OK, "%s", lf_fusion_error(f));
        double mean[2] = {0.6, 0.4}, mx[2] = {0.8 / 1.4, 0.6 / 1.4}, w[2], z = 0;
        for (int c = 0; c < 2; c++) {
            w[c] = g ? pow(mean[c], 0.75) * pow(mx[c], 0.25) : 0.75 * mean[c] + 0.25 * mx[c];
            z += w[c];
        }
        float want[2 * C] = {(float)(w[0] / z), (float)(w[1] / z), 0.8f, 0.2f};
        CHECK_CLOSE(g ? "log-linear pool" : "linear pool", out, want, 2 * C, 1e-6, 0);
        CHECK(out[2] == 0.8f && out[3] == 0.2f, "the row without b: p_a bit for bit (%.9g %.9g)", out[2], out[3]);
        lf_method m = LF_FUSE_AUTO;
        int c = -1, ll = -1;
        double wt = -1;
        CHECK(lf_fusion_method(f) == LF_FUSE_ENSEMBLE && lf_fusion_ensemble_member(f, 1, &m, &c, &wt, &ll) == 2 &&
                  m == LF_FUSE_MAX && c == 0 && wt == 0.25 && ll == g,
              "members: method %d, calibrated %d, weight %g, log-linear %d", (int)m, c, wt, ll);
        CHECK(strcmp(lf_method_name(LF_FUSE_ENSEMBLE), "ensemble") == 0 && lf_method_parse("ensemble") == -1,
              "named, but not a method to fit");
        lf_fusion_free(f);
    }
    /* a member that fails to fit: the ensemble says which, and is empty */
    lf_fusion *f;
    lf_fusion_create(&f);
    float zero[2] = {0, 0};
    CHECK(lf_ensemble_fit(f, p, names2, M, N, C, y, &o, methods, cal, zero, 2, 0) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f), "an ensemble has 1..64 members, got 0") == 0,
          "%s", lf_fusion_error(f));
    /* ges, the second member, refuses macro-F1: its message is kept */
    lf_method with_ges[2] = {LF_FUSE_MEAN, LF_FUSE_GES};
    o.metric = LF_METRIC_MACRO_F1;
    CHECK(lf_ensemble_fit(f, p, names2, M, N, C, y, &o, with_ges, cal, counts, 2, 0) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f), "ensemble member ges: ges optimises the log-loss or the accuracy, not "
                                         "the macro-F1 (auto alone chooses by it)") == 0 &&
                  lf_fusion_method(f) == (lf_method)-1,
          "%s", lf_fusion_error(f));
    lf_fusion_free(f);
}

/* The ensemble's row in auto's table (f fitted by auto with o) holds its
 * nested score, rebuilt here from its parts: the out-of-fold outputs of
 * the 12 best single candidates (the table's order); for each fold the
 * selection fitted on the other folds' rows of them, the pool g scored on
 * the fold's rows; the mean log-loss over the folds. */
static void check_nested(const lf_fusion *f, const float *const *p, size_t M, size_t N, size_t C, const int *y,
                         const lf_fusion_options *o, int g) {
    enum { L_MAX = 12 };
    const lf_compare_table *t = lf_fusion_auto_table(f);
    const lf_score_row *er = NULL;
    lf_method methods[L_MAX];
    int cal[L_MAX];
    size_t L = 0;
    for (size_t r = 0; t && r < t->n_rows; r++)
        if (t->rows[r].method == LF_FUSE_ENSEMBLE) er = &t->rows[r];
        else if (L < L_MAX && !isnan(t->rows[r].mean[LF_METRIC_LOG_LOSS]))
            methods[L] = t->rows[r].method, cal[L++] = t->rows[r].calibrated;
    CHECK(er && L == L_MAX, "the ensemble's row and %zu candidates", L);
    if (!er || L != L_MAX) return;
    lf_fusion_options quiet = *o;
    quiet.progress = NULL;
    lf_err e = {0};
    float *block = malloc(L * N * C * sizeof *block), *prob = malloc(N * C * sizeof *prob), counts[L_MAX];
    const float *outs[L_MAX];
    size_t *fold = malloc(N * sizeof *fold), *train = malloc(N * sizeof *train), *test = malloc(N * sizeof *test);
    int *ytest = malloc(N * sizeof *ytest);
    lf_status st = LF_OK;
    for (size_t i = 0; st == LF_OK && i < L; i++) {
        outs[i] = block + i * N * C;
        st = lf_cv_outputs(&e, p, names3, M, N, C, y, &quiet, methods[i], -1, cal[i], block + i * N * C);
    }
    if (st == LF_OK) st = lf_stratified_kfold(y, N, C, o->folds, o->seed, fold, &e);
    double sum = 0;
    for (size_t k = 0; st == LF_OK && k < o->folds; k++) {
        size_t ntr, nte;
        lf_metrics m;
        st = lf_fold_split(fold, N, k, train, &ntr, test, &nte, &e);
        for (size_t i = 0; st == LF_OK && i < nte; i++) ytest[i] = y[test[i]];
        if (st == LF_OK) st = lf_ensemble_select(&e, outs, L, C, y, train, ntr, &quiet, g, counts);
        if (st == LF_OK) st = lf_ensemble_pool(&e, outs, L, C, test, nte, counts, g, prob);
        if (st == LF_OK) st = lf_metrics_compute(prob, ytest, nte, C, &m, &e);
        if (st == LF_OK) sum += m.log_loss;
    }
    double want = sum / (double)o->folds, got = er->mean[LF_METRIC_LOG_LOSS];
    CHECK(st == LF_OK && fabs(got - want) <= 1e-12 * want, "the ensemble's row %.17g, nested %.17g (%s)", got, want,
          e.msg);
    free(block), free(prob), free(fold), free(train), free(test), free(ytest);
}

/* auto keeps an ensemble here (test_auto's ensemble case, with missing
 * rows; most seeds now keep stack-lr alone); its prediction is
 * its members', each fitted alone with the same options, pooled with the
 * table's weights */
static void test_auto_keeps(void) {
    enum { M = 3, N = 500, C = 3 };
    float *p[M];
    int *y = new_data(p, M, N, C, 2, 1);
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_AUTO, o.epochs = 4, o.folds = 4;
    CHECK(lf_fusion_fit(f, (const float *const *)p, names3, M, N, C, y, &o) == LF_OK, "%s", lf_fusion_error(f));
    int ll = -1;
    size_t n = lf_fusion_ensemble_member(f, 0, NULL, NULL, NULL, &ll);
    CHECK(lf_fusion_method(f) == LF_FUSE_ENSEMBLE && n >= 2 && ll == 1, "auto kept %s of %zu members (log-linear %d)",
          lf_method_name(lf_fusion_method(f)), n, ll);
    check_nested(f, (const float *const *)p, M, N, C, y, &o, ll);
    float *out = malloc(N * C * sizeof *out), *want = calloc(N * C, sizeof *want);
    float **mo = calloc(n ? n : 1, sizeof *mo), *wts = calloc(n ? n : 1, sizeof *wts);
    CHECK(lf_fusion_predict(f, (const float *const *)p, N, out) == LF_OK, "%s", lf_fusion_error(f));
    for (size_t i = 0; i < n; i++) {
        lf_method m;
        int cal;
        double w;
        lf_fusion_ensemble_member(f, i, &m, &cal, &w, NULL);
        wts[i] = (float)w;
        lf_fusion *g;
        lf_fusion_create(&g);
        lf_fusion_options go = o;
        go.method = m, go.calibrate = cal;
        mo[i] = malloc(N * C * sizeof(float));
        CHECK(lf_fusion_fit(g, (const float *const *)p, names3, M, N, C, y, &go) == LF_OK &&
                  lf_fusion_predict(g, (const float *const *)p, N, mo[i]) == LF_OK,
              "member %s: %s", lf_method_name(m), lf_fusion_error(g));
        lf_fusion_free(g);
    }
    for (size_t r = 0; r < N; r++) { /* the log-linear pool, in double */
        double z = 0, v[C];
        for (size_t c = 0; c < C; c++) {
            double s = 0, ws = 0;
            for (size_t i = 0; i < n; i++) s += wts[i] * log(fmax(mo[i][r * C + c], 1e-12)), ws += wts[i];
            z += v[c] = exp(s / ws);
        }
        for (size_t c = 0; c < C; c++) want[r * C + c] = (float)(v[c] / z);
    }
    CHECK_CLOSE("auto's ensemble = its members pooled", out, want, N * C, 2e-6, 0);
    for (size_t i = 0; i < n; i++) free(mo[i]);
    free(mo), free(wts), free(out), free(want);
    lf_fusion_free(f);
    free_data(p, y, M);
}

/* member i of the fitted ensemble f fitted alone by lf_fusion_fit (the
 * options o with its method and calibration, and o's features if it
 * searches a feature space) and its prediction of the N rows of p into
 * out; returns its weight */
static double member_alone(const lf_fusion *f, size_t i, const float *const *p, size_t M, size_t N, size_t C,
                           const int *y, lf_fusion_options o, float *out) {
    lf_method m = LF_FUSE_AUTO;
    int cal = -1;
    double w = -1;
    lf_fusion_ensemble_member(f, i, &m, &cal, &w, NULL);
    o.method = m, o.calibrate = cal;
    if (m != LF_FUSE_KNORA_E && m != LF_FUSE_KNORA_U && m != LF_FUSE_OLA && m != LF_FUSE_LCA)
        o.features = NULL, o.n_features = 0; /* the others take none */
    lf_fusion *g;
    lf_fusion_create(&g);
    CHECK(lf_fusion_fit(g, p, names3, M, N, C, y, &o) == LF_OK &&
              lf_fusion_predict_features(g, p, N, o.features, o.n_features, out, NULL, 0) == LF_OK,
          "member %s: %s", lf_method_name(m), lf_fusion_error(g));
    lf_fusion_free(g);
    return w;
}

/* the linear pool sum_i w_i q_i (the weights summing to 1) of n members'
 * outputs q[i] (N x C), in double */
static void linear_pool(float *const *q, const double *w, size_t n, size_t N, size_t C, float *out) {
    for (size_t j = 0; j < N * C; j++) {
        double s = 0;
        for (size_t i = 0; i < n; i++) s += w[i] * q[i][j];
        out[j] = (float)s;
    }
}

/* 20000 rows, more than one block of predict (8192): the members' outputs
 * pooled as the weights say, a calibrated member among them; the same bits
 * when the rows come in pieces that cut the blocks elsewhere */
static void test_many_rows(void) {
    enum { M = 3, N = 20000, C = 3, n = 3 };
    float *p[M];
    int *y = new_data(p, M, N, C, 23, 1);
    lf_method methods[n] = {LF_FUSE_MEAN, LF_FUSE_MAX, LF_FUSE_GES};
    int cal[n] = {1, 0, 0};
    float counts[n] = {3, 1, 4};
    lf_fusion_options o = lf_fusion_defaults();
    lf_fusion *f;
    lf_fusion_create(&f);
    CHECK(lf_ensemble_fit(f, (const float *const *)p, names3, M, N, C, y, &o, methods, cal, counts, n, 0) == LF_OK,
          "%s", lf_fusion_error(f));
    CHECK(lf_fusion_ensemble_member_temperature(f, 0, 1) != 1.0f, "member 0 calibrated: T = %g",
          (double)lf_fusion_ensemble_member_temperature(f, 0, 1));
    float *out = malloc(N * C * sizeof *out), *parts = malloc(N * C * sizeof *parts), *want = malloc(N * C * sizeof *want);
    float *q[n];
    double w[n];
    for (size_t i = 0; i < n; i++) {
        q[i] = malloc(N * C * sizeof(float));
        w[i] = member_alone(f, i, (const float *const *)p, M, N, C, y, o, q[i]);
    }
    CHECK(w[0] == 3.0 / 8 && w[1] == 1.0 / 8 && w[2] == 4.0 / 8, "weights %g %g %g", w[0], w[1], w[2]);
    linear_pool(q, w, n, N, C, want);
    CHECK(lf_fusion_predict(f, (const float *const *)p, N, out) == LF_OK, "%s", lf_fusion_error(f));
    CHECK_CLOSE("20000 rows = the members pooled", out, want, N * C, 1e-6, 0);
    size_t cut[4] = {0, 7000, 15000, N};
    for (int piece = 0; piece < 3; piece++) {
        const float *pp[M];
        for (int k = 0; k < M; k++) pp[k] = p[k] + cut[piece] * C;
        CHECK(lf_fusion_predict(f, pp, cut[piece + 1] - cut[piece], parts + cut[piece] * C) == LF_OK, "%s",
              lf_fusion_error(f));
    }
    CHECK(memcmp(out, parts, N * C * sizeof *out) == 0, "in pieces: the same bits");
    for (size_t i = 0; i < n; i++) free(q[i]);
    free(out), free(parts), free(want);
    lf_fusion_free(f);
    free_data(p, y, M);
}

/* a member fitted with features (knora-e: its regions of competence in
 * the features' space) beside one without: predict with the features is
 * the members' pool; the width is the ensemble's; a member's failure is
 * said by the ensemble, naming the member */
static void test_features_member(void) {
    enum { M = 3, N = 400, C = 3, F = 2, n = 2 };
    float *p[M], feat[N * F];
    int *y = new_data(p, M, N, C, 31, 1);
    for (size_t r = 0; r < N; r++) feat[r * F] = p[2][r * C], feat[r * F + 1] = p[1][r * C + 1];
    lf_method methods[n] = {LF_FUSE_KNORA_E, LF_FUSE_PRODUCT};
    int cal[n] = {0, 0};
    float counts[n] = {1, 3};
    lf_fusion_options o = lf_fusion_defaults();
    o.features = feat, o.n_features = F;
    lf_fusion *f;
    lf_fusion_create(&f);
    CHECK(lf_ensemble_fit(f, (const float *const *)p, names3, M, N, C, y, &o, methods, cal, counts, n, 0) == LF_OK,
          "%s", lf_fusion_error(f));
    CHECK(lf_fusion_n_features(f) == F, "the ensemble's width %zu", lf_fusion_n_features(f));
    float out[N * C], want[N * C], *q[n];
    double w[n];
    for (size_t i = 0; i < n; i++) {
        q[i] = malloc(N * C * sizeof(float));
        w[i] = member_alone(f, i, (const float *const *)p, M, N, C, y, o, q[i]);
    }
    linear_pool(q, w, n, N, C, want);
    char err[256] = "";
    CHECK(lf_fusion_predict_features(f, (const float *const *)p, N, feat, F, out, err, sizeof err) == LF_OK, "%s",
          err);
    CHECK_CLOSE("with features: the members pooled", out, want, N * C, 1e-6, 0);
    CHECK(memcmp(q[0], q[1], N * C * sizeof(float)) != 0, "the members differ");
    CHECK(lf_fusion_predict(f, (const float *const *)p, N, out) == LF_ERR_ARG, "refused without the features");
    CHECK(lf_fusion_predict_features(f, (const float *const *)p, N, NULL, 0, out, err, sizeof err) == LF_ERR_ARG &&
              strcmp(err, "the fusion (ensemble) was fitted with 2 features a row: give them") == 0,
          "%s", err);
    /* past that check (inside the library only): knora-e without its
     * features fails, and the ensemble says which member */
    lf_probs pr;
    lf_err e = {0}, pe = {0};
    CHECK(lf_probs_prepare(&e, (const float *const *)p, M, C, 0, NULL, NULL, N, &pr) == LF_OK, "%s", e.msg);
    pr.err = &pe;
    char want_msg[200];
    snprintf(want_msg, sizeof want_msg, "ensemble member 0 (knora-e): %s", lf_status_string(LF_ERR_ARG));
    CHECK(lf_fusion_predict_core(f, &pr, out) == LF_ERR_ARG && strcmp(pe.msg, want_msg) == 0, "got: %s", pe.msg);
    lf_probs_free(&pr);
    for (size_t i = 0; i < n; i++) free(q[i]);
    lf_fusion_free(f);
    free_data(p, y, M);
}

/* The importance of an ensemble with a dynamic-selection member, on
 * the fitting rows: the member predicts each row left out of its own
 * neighbours, as it does alone; an ensemble of that one member is worth
 * what the member alone is (without it, each row was its own nearest
 * neighbour and its label chose the models: an in-sample score). */
static void test_importance_dynamic_member(void) {
    enum { M = 3, N = 300, C = 3 };
    float *p[M];
    int *y = new_data(p, M, N, C, 41, 0);
    lf_method methods[1] = {LF_FUSE_KNORA_E};
    int cal[1] = {0};
    float counts[1] = {1};
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_KNORA_E;
    lf_fusion *f, *alone;
    lf_fusion_create(&f), lf_fusion_create(&alone);
    CHECK(lf_ensemble_fit(f, (const float *const *)p, names3, M, N, C, y, &o, methods, cal, counts, 1, 0) == LF_OK,
          "%s", lf_fusion_error(f));
    CHECK(lf_fusion_measure_importance(f, (const float *const *)p, N, y, NULL, NULL) == LF_OK, "%s",
          lf_fusion_error(f));
    CHECK(lf_fusion_fit(alone, (const float *const *)p, names3, M, N, C, y, &o) == LF_OK, "%s",
          lf_fusion_error(alone));
    double ll[M + 1], acc[M + 1], ll1[M + 1], acc1[M + 1];
    CHECK(lf_fusion_importance(f, ll, acc, M + 1) == M + 1 && lf_fusion_importance(alone, ll1, acc1, M + 1) == M + 1,
          "importance");
    CHECK(memcmp(ll, ll1, sizeof ll) == 0 && memcmp(acc, acc1, sizeof acc) == 0,
          "an ensemble of knora-e: importance log-loss %.6f accuracy %.4f, knora-e alone %.6f %.4f", ll[0], acc[0],
          ll1[0], acc1[0]);
    /* inspect's k: the member's, as the method's alone; none for a rule */
    CHECK(lf_fusion_neighbors(f) == 7 && lf_fusion_neighbors(alone) == 7, "k: ensemble %zu, alone %zu",
          lf_fusion_neighbors(f), lf_fusion_neighbors(alone));
    o.method = LF_FUSE_MEAN;
    CHECK(lf_fusion_fit(alone, (const float *const *)p, names3, M, N, C, y, &o) == LF_OK &&
              lf_fusion_neighbors(alone) == 0,
          "k of mean: %zu", lf_fusion_neighbors(alone));
    lf_fusion_free(f), lf_fusion_free(alone);
    free_data(p, y, M);
}

/* A rule's failure in predict keeps the rule's message: acc-weighted,
 * ges and decision-template fitted, their state spoilt by hand (a NaN or
 * negative weight, an infinite template), say it through
 * lf_fusion_predict_features; a fixed rule given no model (inside the
 * library only: the public calls always give the fitted M) says it in
 * the prepared probabilities' err. */
static void test_predict_messages(void) {
    enum { M = 2, N = 8, C = 2 };
    float a[N * C], b[N * C], out[N * C];
    int y[N];
    for (int r = 0; r < N; r++) {
        y[r] = r % 2;
        a[r * C] = r % 2 ? 0.3f : 0.7f, a[r * C + 1] = 1 - a[r * C];
        b[r * C] = r % 3 ? 0.6f : 0.2f, b[r * C + 1] = 1 - b[r * C];
    }
    const float *p[M] = {a, b};
    struct {
        lf_method m;
        size_t at;
        float bad;
        const char *want;
    } cases[] = {
        {LF_FUSE_ACC_WEIGHTED, 1, NAN, "fusion rule: weight of model 1 is nan; weights must be finite and >= 0"},
        {LF_FUSE_GES, 0, -1.0f, "fusion rule: weight of model 0 is -1; weights must be finite and >= 0"},
        {LF_FUSE_GES_LOG, 1, INFINITY, "fusion rule: weight of model 1 is inf; weights must be finite and >= 0"},
        {LF_FUSE_DECISION_TEMPLATE, 3, INFINITY,
         "decision templates: template of class 0, model 1, class 1 is inf (not finite)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        lf_fusion *f;
        lf_fusion_create(&f);
        lf_fusion_options o = lf_fusion_defaults();
        o.method = cases[i].m;
        char err[256] = "";
        CHECK(lf_fusion_fit(f, p, names2, M, N, C, y, &o) == LF_OK &&
                  lf_fusion_predict_features(f, p, N, NULL, 0, out, err, sizeof err) == LF_OK,
              "%s: %s %s", lf_method_name(cases[i].m), lf_fusion_error(f), err);
        ((float *)f->state)[cases[i].at] = cases[i].bad;
        lf_status st = lf_fusion_predict_features(f, p, N, NULL, 0, out, err, sizeof err);
        CHECK(st != LF_OK && strcmp(err, cases[i].want) == 0, "%s: status %d, '%s'", lf_method_name(cases[i].m),
              (int)st, err);
        lf_fusion_free(f);
    }
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_MEDIAN;
    CHECK(lf_fusion_fit(f, p, names2, M, N, C, y, &o) == LF_OK, "median: %s", lf_fusion_error(f));
    float *none[1] = {a};
    lf_err e = {0};
    lf_probs pr = {.M = 0, .N = N, .C = C, .p = none, .err = &e};
    CHECK(lf_fusion_predict_core(f, &pr, out) == LF_ERR_ARG && strcmp(e.msg, "fusion rule: no models given (M = 0)") == 0,
          "median, no model: '%s'", e.msg);
    lf_fusion_free(f);
}

/* auto's ensemble not kept: model a is right on every row, so the best
 * single candidate's cross-validated accuracy is 1 with a standard error
 * of 0, and an ensemble is kept only when within that of it, strictly;
 * the table has the ensemble's
 * row, the note says why, and the file holds the single method */
static void test_auto_not_kept(void) {
    enum { M = 3, N = 200, C = 2 };
    float *p[M];
    int *y = new_data(p, M, N, C, 41, 0);
    for (size_t r = 0; r < N; r++) p[0][r * C + y[r]] = 0.8f, p[0][r * C + 1 - y[r]] = 0.2f;
    lf_fusion *f, *g;
    lf_fusion_create(&f);
    lf_fusion_create(&g);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_AUTO, o.metric = LF_METRIC_ACCURACY, o.epochs = 4, o.folds = 4;
    CHECK(lf_fusion_fit(f, (const float *const *)p, names3, M, N, C, y, &o) == LF_OK, "%s", lf_fusion_error(f));
    const lf_compare_table *t = lf_fusion_auto_table(f);
    const char *note = lf_fusion_auto_note(f);
    size_t ens = 0;
    while (t && ens < t->n_rows && t->rows[ens].method != LF_FUSE_ENSEMBLE) ens++;
    CHECK(t && ens < t->n_rows && t->rows[0].mean[LF_METRIC_ACCURACY] == 1.0 &&
              t->rows[ens].mean[LF_METRIC_ACCURACY] == 1.0,
          "the best single and the ensemble's row: accuracy 1 (%g, row %zu)",
          t && ens < t->n_rows ? t->rows[ens].mean[LF_METRIC_ACCURACY] : -1.0, ens);
    static const char tail[] = "; an ensemble of its 12 best candidates (linear pool) scores 1.0000, not within one "
                               "standard error (0.0000) of the best single's 1.0000";
    CHECK(note && strlen(note) > strlen(tail) && strcmp(note + strlen(note) - strlen(tail), tail) == 0, "note: %s",
          note ? note : "(none)");
    char path[] = "/tmp/latefuse_ens_XXXXXX";
    close(mkstemp(path));
    lf_method m = lf_fusion_method(f);
    CHECK(m != LF_FUSE_ENSEMBLE && lf_fusion_save(f, path, 0) == LF_OK && lf_fusion_load(g, path) == LF_OK &&
              lf_fusion_method(g) == m && lf_fusion_ensemble_member(g, 0, NULL, NULL, NULL, NULL) == 0,
          "one method in the file: %s (%s)", lf_method_name(lf_fusion_method(g)), lf_fusion_error(g));
    for (size_t r = 0; t && r < t->n_rows; r++)
        CHECK(t->rows[r].ensemble_weight == 0, "row %zu has no weight", r);
    unlink(path);
    lf_fusion_free(f), lf_fusion_free(g);
    free_data(p, y, M);
}

/* ------------------------------------------------------------- files */

static int same_file(const char *x, const char *y) {
    FILE *a = fopen(x, "rb"), *b = fopen(y, "rb");
    int same = a && b;
    while (same) {
        int ca = fgetc(a), cb = fgetc(b);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (a) fclose(a);
    if (b) fclose(b);
    return same;
}

/* src rewritten to dst with `from` replaced by `to` in the settings (once),
 * tensor `drop` left out and a tensor `add` (two floats) added */
static void rewrite(const char *src, const char *dst, const char *from, const char *to, const char *drop,
                    const char *add) {
    lf_st_file sf;
    lf_err e;
    if (lf_st_read(src, &sf, &e) != LF_OK) return;
    size_t n = lf_st_count(&sf), k = 0;
    lf_st_out *outs = calloc(n + 1, sizeof *outs);
    float **bufs = calloc(n + 1, sizeof *bufs);
    static const float two[2] = {1, 1};
    for (size_t i = 0; i < n; i++) {
        const lf_st_tensor *t = lf_st_at(&sf, i);
        if (drop && strcmp(t->name, drop) == 0) continue;
        bufs[k] = malloc(t->count * sizeof(float));
        lf_st_tensor_f32(t, bufs[k], t->count, &e);
        outs[k] = (lf_st_out){.name = t->name, .data = bufs[k], .ndim = t->ndim};
        memcpy(outs[k].shape, t->shape, sizeof t->shape);
        k++;
    }
    if (add) outs[k++] = (lf_st_out){.name = add, .data = two, .ndim = 1, .shape = {2}};
    size_t nm = lf_st_metadata_count(&sf);
    const char *keys[8], *vals[8];
    char *edited = NULL;
    for (size_t i = 0; i < nm && i < 8; i++) {
        keys[i] = lf_st_metadata_key(&sf, i), vals[i] = lf_st_metadata_value(&sf, i);
        const char *at = from ? strstr(vals[i], from) : NULL;
        if (strcmp(keys[i], "fusion") == 0 && at) {
            size_t len = strlen(vals[i]) - strlen(from) + strlen(to) + 1;
            edited = malloc(len);
            snprintf(edited, len, "%.*s%s%s", (int)(at - vals[i]), vals[i], to, at + strlen(from));
            vals[i] = edited;
        }
    }
    lf_st_write(dst, outs, k, keys, vals, nm, 0, &e);
    for (size_t i = 0; i < n; i++) free(bufs[i]);
    free(bufs), free(outs), free(edited);
    lf_st_free(&sf);
}

static void expect_load(const char *path, const char *msg) {
    lf_fusion *f;
    lf_fusion_create(&f);
    char want[600];
    snprintf(want, sizeof want, "'%s': %s", path, msg);
    CHECK(lf_fusion_load(f, path) == LF_ERR_FORMAT && strcmp(lf_fusion_error(f), want) == 0, "got: %s\nwant: %s",
          lf_fusion_error(f), want);
    CHECK(lf_fusion_method(f) == (lf_method)-1, "nothing loaded");
    lf_fusion_free(f);
}

static void test_file(void) {
    enum { M = 3, N = 300, C = 3 };
    float *p[M];
    int y[N];
    for (int k = 0; k < M; k++) p[k] = malloc(N * C * sizeof(float));
    make_data(p, y, M, N, C, 11, 1);
    /* members with a tensor (ges), a network (stack-lr, calibrated), none (product) */
    lf_method methods[3] = {LF_FUSE_GES, LF_FUSE_STACK_LR, LF_FUSE_PRODUCT};
    int cal[3] = {0, 1, 0};
    float counts[3] = {5, 2, 1};
    lf_fusion_options o = lf_fusion_defaults();
    o.epochs = 3;
    lf_fusion *f, *g;
    lf_fusion_create(&f);
    lf_fusion_create(&g);
    char p1[] = "/tmp/latefuse_ens_XXXXXX", p2[] = "/tmp/latefuse_ens_XXXXXX", bad[] = "/tmp/latefuse_ens_XXXXXX";
    close(mkstemp(p1)), close(mkstemp(p2)), close(mkstemp(bad));
    CHECK(lf_ensemble_fit(f, (const float *const *)p, names3, M, N, C, y, &o, methods, cal, counts, 3, 1) == LF_OK,
          "%s", lf_fusion_error(f));
    float *a = malloc(N * C * sizeof *a), *b = malloc(N * C * sizeof *b);
    CHECK(lf_fusion_predict(f, (const float *const *)p, N, a) == LF_OK && lf_fusion_save(f, p1, 0) == LF_OK &&
              lf_fusion_load(g, p1) == LF_OK && lf_fusion_predict(g, (const float *const *)p, N, b) == LF_OK,
          "round trip: %s / %s", lf_fusion_error(f), lf_fusion_error(g));
    CHECK(memcmp(a, b, N * C * sizeof *a) == 0, "the loaded ensemble predicts the same bits");
    CHECK(lf_fusion_save(g, p2, 0) == LF_OK && same_file(p1, p2), "saved again: the same bytes");
    lf_method m = LF_FUSE_AUTO;
    int c = -1, ll = -1;
    double w = -1;
    CHECK(lf_fusion_ensemble_member(g, 1, &m, &c, &w, &ll) == 3 && m == LF_FUSE_STACK_LR && c == 1 && w == 0.25 &&
              ll == 1, "loaded members: %d %d %g %d", (int)m, c, w, ll);
    CHECK(lf_fusion_ensemble_member_temperature(g, 1, 2) == lf_fusion_ensemble_member_temperature(f, 1, 2) &&
              lf_fusion_ensemble_member_temperature(g, 1, 2) != 1.0f &&
              lf_fusion_ensemble_member_temperature(g, 0, 2) == 1.0f &&
              isnan(lf_fusion_ensemble_member_temperature(g, 3, 0)) &&
              isnan(lf_fusion_ensemble_member_temperature(g, 0, 3)),
          "members' temperatures: %g", (double)lf_fusion_ensemble_member_temperature(g, 1, 2));
    lf_st_file sf;
    lf_err e;
    CHECK(lf_st_read(p1, &sf, &e) == LF_OK && lf_st_find(&sf, "member0.fusion.weights") &&
              lf_st_find(&sf, "member1.net.correction.kernel") != NULL,
          "members' tensors under their prefixes");
    lf_st_free(&sf);

    /* bad files, each refused with its message: the settings with `from`
     * replaced by `to`, tensor `drop` left out, tensor `add` added */
    static const struct {
        const char *from, *to, *drop, *add, *msg;
    } cases[] = {
        {"\"pool\":\"log-linear\"", "\"pool\":\"mean\"", NULL, NULL,
         "fusion settings: the ensemble's 'pool' must be \"linear\" or \"log-linear\""},
        {"{\"method\":\"ges\"", "{\"method\":\"auto\"", NULL, NULL,
         "fusion settings: ensemble member 0 has an unknown or missing method"},
        {"{\"method\":\"ges\"", "{\"method\":\"ensemble\"", NULL, NULL,
         "fusion settings: ensemble member 0 has an unknown or missing method"},
        {"\"count\":5", "\"count\":0", NULL, NULL,
         "fusion settings: ensemble member 0: 'count' must be an integer in 1..16777216"},
        {"\"count\":5", "\"count\":16777217", NULL, NULL,
         "fusion settings: ensemble member 0: 'count' must be an integer in 1..16777216"},
        {"\"count\":5", "\"count\":5,\"weight\":1", NULL, NULL,
         "fusion settings: ensemble member 0 has an unknown field 'weight'"},
        {"\"method\":\"ensemble\"", "\"method\":\"mean\"", NULL, NULL,
         "fusion settings: the mean method has no 'ensemble'"},
        {",\"ensemble\":{", ",\"x\":{", NULL, NULL,
         "fusion settings: unknown field 'x'"},
        {"\"temperatures\":[1,", "\"temperatures\":[2,", NULL, NULL,
         "fusion settings: an ensemble's own temperatures must be 1 (its members keep theirs), "
         "temperature 0 is 2"},
        {"\"count\":5,\"temperatures\":[1,", "\"count\":5,\"temperatures\":[0.5,", NULL, NULL,
         "fusion settings: ensemble member 0 is not calibrated, so its temperatures must be 1, "
         "temperature 0 is 0.5"},
        {NULL, NULL, "member0.fusion.weights", NULL,
         "ensemble member 0 (ges): the file holds 0 tensors, the ges method has 1"},
        {NULL, NULL, NULL, "member2.fusion.weights",
         "ensemble member 2 (product): the member holds 1 tensors, the product method has 0"},
        {NULL, NULL, "member1.net.correction.bias", NULL,
         "ensemble member 1 (stack-lr): tensor 'net.correction.bias' is missing"},
        {NULL, NULL, NULL, "member7.x",
         "the file holds tensor 'member7.x', which no ensemble member has"},
        {NULL, NULL, NULL, "fusion.weights",
         "the file holds tensor 'fusion.weights', which no ensemble member has"},
        {",\"architecture\":", ",\"architecture\":1,\"y\":", NULL, NULL,
         "fusion settings: ensemble member 1 has an unknown field 'y'"},
        {"{\"method\":\"product\"", "{\"method\":\"product\",\"penalty\":{\"l2\":0.1,\"chosen_by\":\"cv\"}", NULL,
         NULL, "fusion settings: ensemble member 2: the product method trains no network and has no 'penalty'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rewrite(p1, bad, cases[i].from, cases[i].to, cases[i].drop, cases[i].add);
        expect_load(bad, cases[i].msg);
    }

    if (getenv("KEEP")) printf("%s\n", p1); else unlink(p1);
    unlink(p2), unlink(bad);
    free(a), free(b);
    lf_fusion_free(f), lf_fusion_free(g);
    for (int k = 0; k < M; k++) free(p[k]);
}

/* the small cases' data: two models on four rows of two classes */
enum { TM = 2, TN = 4, TC = 2 };
static const float tiny_a[TN * TC] = {0.9f, 0.1f, 0.2f, 0.8f, 0.6f, 0.4f, 0.3f, 0.7f};
static const float tiny_b[TN * TC] = {0.7f, 0.3f, 0.4f, 0.6f, 0.2f, 0.8f, 0.5f, 0.5f};
static const float *const tiny_p[TM] = {tiny_a, tiny_b};
static const int tiny_y[TN] = {0, 1, 0, 1};

/* g fitted on the small data as lf_fusion_fit fits o.method, its
 * prediction of those rows in want (TN x TC) */
static void fit_tiny(lf_fusion *g, const lf_fusion_options *o, float *want) {
    CHECK(lf_fusion_fit(g, tiny_p, names2, TM, TN, TC, tiny_y, o) == LF_OK &&
              lf_fusion_predict(g, tiny_p, TN, want) == LF_OK,
          "%s: %s", lf_method_name(o->method), lf_fusion_error(g));
}

/* Counts as large as fit allows (ensemble size x bags up to 2^24) save
 * and load; larger or fractional counts are refused at fit, and so are
 * options that could select more. */
static void test_big_counts(void) {
    enum { M = TM, N = TN, C = TC };
    const float *const *p = tiny_p;
    const int *y = tiny_y;
    lf_method methods[2] = {LF_FUSE_MEAN, LF_FUSE_PRODUCT};
    int cal[2] = {0, 0};
    float counts[2] = {16777216.0f, 150000.0f};
    lf_fusion_options o = lf_fusion_defaults();
    lf_fusion *f, *g;
    lf_fusion_create(&f);
    lf_fusion_create(&g);
    char path[] = "/tmp/latefuse_ens_XXXXXX";
    close(mkstemp(path));
    CHECK(lf_ensemble_fit(f, p, names2, M, N, C, y, &o, methods, cal, counts, 2, 0) == LF_OK, "%s", lf_fusion_error(f));
    CHECK(lf_fusion_save(f, path, 0) == LF_OK && lf_fusion_load(g, path) == LF_OK, "saved and loaded: %s / %s",
          lf_fusion_error(f), lf_fusion_error(g));
    double w = -1;
    CHECK(lf_fusion_ensemble_member(g, 1, NULL, NULL, &w, NULL) == 2 && w == 150000.0 / (16777216.0 + 150000.0),
          "loaded weight %.17g", w);
    float over[2][2] = {{16777218.0f, 1}, {2.5f, 1}};
    const char *want[2] = {"ensemble count 0 must be an integer in 1..16777216, got 16777218",
                           "ensemble count 0 must be an integer in 1..16777216, got 2.5"};
    for (int i = 0; i < 2; i++)
        CHECK(lf_ensemble_fit(f, p, names2, M, N, C, y, &o, methods, cal, over[i], 2, 0) == LF_ERR_ARG &&
                  strcmp(lf_fusion_error(f), want[i]) == 0,
              "got: %s", lf_fusion_error(f));
    o.method = LF_FUSE_AUTO, o.ensemble_size = 100000, o.bags = 168;
    CHECK(lf_fusion_fit(f, p, names2, M, N, C, y, &o) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f), "ensemble size x bags must be at most 16777216 selections, got 100000 x 168") == 0,
          "got: %s", lf_fusion_error(f));
    unlink(path);
    lf_fusion_free(f), lf_fusion_free(g);
}

/* auto's final fit when its ensemble fails (the step, or the ensemble's
 * own fit, here refused counts): the single choice, fitted as fit fits it,
 * the note saying why, the table without members' weights */
static void test_auto_fallback(void) {
    enum { M = TM, N = TN, C = TC };
    const float *const *p = tiny_p;
    const int *y = tiny_y;
    lf_fusion_options o = lf_fusion_defaults();
    lf_auto_ens ae = {.keep = 1, .L = 2, .methods = {LF_FUSE_MEAN, LF_FUSE_PRODUCT}, .counts = {2.5f, 1}};
    snprintf(ae.note, sizeof ae.note, "auto chose an ensemble");
    lf_score_row rows[1];
    memset(rows, 0, sizeof rows);
    rows[0].ensemble_weight = 0.5;
    lf_compare_table t = {.rows = rows, .n_rows = 1};
    float want[N * C], out[N * C];
    lf_fusion *f, *g;
    lf_fusion_create(&f);
    lf_fusion_create(&g);
    o.method = LF_FUSE_PRODUCT;
    fit_tiny(g, &o, want);
    const char *failed[2] = {NULL, "out of memory for auto's ensemble"};
    const char *why[2] = {"ensemble count 0 must be an integer in 1..16777216, got 2.5",
                          "out of memory for auto's ensemble"};
    for (int i = 0; i < 2; i++) {
        char note[512] = "auto chose product", want_note[600];
        snprintf(want_note, sizeof want_note, "auto chose product; auto's ensemble failed, so its single choice was "
                 "fitted: %s", why[i]);
        rows[0].ensemble_weight = 0.5;
        CHECK(lf_auto_final_fit(f, p, names2, M, N, C, y, &o, LF_FUSE_PRODUCT, 0, &ae, failed[i], &t, note,
                                sizeof note) == LF_OK && lf_fusion_method(f) == LF_FUSE_PRODUCT,
              "fallback %d: %s", i, lf_fusion_error(f));
        CHECK(strcmp(note, want_note) == 0 && rows[0].ensemble_weight == 0, "note: %s (weight %g)", note,
              rows[0].ensemble_weight);
        CHECK(lf_fusion_predict(f, p, N, out) == LF_OK && memcmp(out, want, sizeof out) == 0,
              "the single choice as fit fits it");
    }
    ae.counts[0] = 2; /* the ensemble fits: its note */
    char note[512] = "auto chose product";
    CHECK(lf_auto_final_fit(f, p, names2, M, N, C, y, &o, LF_FUSE_PRODUCT, 0, &ae, NULL, &t, note, sizeof note) ==
                  LF_OK && lf_fusion_method(f) == LF_FUSE_ENSEMBLE && strcmp(note, "auto chose an ensemble") == 0,
          "kept: %s, %s", lf_fusion_error(f), note);
    lf_fusion_free(f), lf_fusion_free(g);
}

/* auto's single choice under macro-F1 is fitted as its candidates were
 * (ges-log refuses macro-F1: the log-loss) */
static void test_auto_macro_f1(void) {
    enum { M = TM, N = TN, C = TC };
    const float *const *p = tiny_p;
    const int *y = tiny_y;
    lf_fusion_options o = lf_fusion_defaults();
    lf_auto_ens ae = {.keep = 0};
    float want[N * C], out[N * C];
    lf_fusion *f, *g;
    lf_fusion_create(&f);
    lf_fusion_create(&g);
    o.method = LF_FUSE_GES_LOG;
    fit_tiny(g, &o, want);
    o.method = LF_FUSE_AUTO, o.metric = LF_METRIC_MACRO_F1;
    char note[512] = "auto chose ges-log";
    CHECK(lf_auto_final_fit(f, p, names2, M, N, C, y, &o, LF_FUSE_GES_LOG, 0, &ae, NULL, NULL, note, sizeof note) ==
                  LF_OK && lf_fusion_method(f) == LF_FUSE_GES_LOG && strcmp(note, "auto chose ges-log") == 0,
          "ges-log under macro-F1: %s", lf_fusion_error(f));
    CHECK(lf_fusion_predict(f, p, N, out) == LF_OK && memcmp(out, want, sizeof out) == 0, "ges-log as with the log-loss");
    lf_fusion_free(f), lf_fusion_free(g);
}

int main(void) {
    test_select_by_hand();
    test_pool_by_hand();
    test_auto_keeps();
    test_many_rows();
    test_features_member();
    test_importance_dynamic_member();
    test_predict_messages();
    test_auto_not_kept();
    test_file();
    test_big_counts();
    test_auto_fallback();
    test_auto_macro_f1();
    return check_report("test_ensemble");
}
