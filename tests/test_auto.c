/*
 * test_auto.c — `auto`'s choice.  The table of candidates it keeps is
 * checked against the documented rule, recomputed here from the table's
 * own scores: the best mean on the metric, then the candidate with the
 * fewest fitted numbers within one standard error of it (calibration
 * counting M), and, on tiny data, only candidates with at most M fitted
 * numbers; or, unless its nested cross-validated score is worse than the
 * best single candidate's by one standard error of that score or more,
 * the ensemble of its best candidates (its row, the members' weights in
 * the table; unless options.auto_single).  Also: every method's count of fitted numbers against the
 * network the engine really builds; the table's order; the note; errors.
 */
#include "check.h"
#include "fusion_data.h"
#include "fusion/method.h"
#include "io/safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const names3[3] = {"a", "b", "c"};

static size_t params_of(const lf_score_row *r, size_t M, size_t C, size_t N) {
    const lf_method_def *d = lf_method_def_of(r->method);
    return (d && d->n_params ? d->n_params(M, C, N) : 0) + (r->calibrated ? M : 0);
}

static double loss_of(const lf_score_row *r, int metric) {
    return metric == LF_METRIC_LOG_LOSS ? r->mean[metric] : 1.0 - r->mean[metric];
}

/* fits auto on new_data(seed) and checks its choice against the rule; 1
 * when the rule chose a simpler candidate than the best, -1 when it kept
 * an ensemble, -2 when it kept one scoring worse than the best single
 * (within one standard error) */
static int check_auto(size_t N, size_t C, int metric, int expect_tiny, int single, uint64_t seed) {
    enum { M = 3 };
    float *p[M];
    int *y = new_data(p, M, N, C, seed, 0);
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_AUTO, o.metric = metric, o.epochs = 4, o.folds = 4, o.auto_single = single;
    CHECK(lf_fusion_fit(f, (const float *const *)p, names3, M, N, C, y, &o) == LF_OK, "auto: %s",
          lf_fusion_error(f));
    const lf_compare_table *t = lf_fusion_auto_table(f);
    const char *note = lf_fusion_auto_note(f);
    size_t n = lf_method_list(NULL, 0), want_rows = 2 * n + !(expect_tiny || single); /* + the ensemble's row */
    CHECK(t && note && t->n_rows == want_rows, "auto keeps its %zu candidates (%zu)", want_rows, t ? t->n_rows : 0);
    int simpler = 0;
    if (!t || !note) goto out;
    /* best first */
    for (size_t r = 1; r < t->n_rows; r++)
        CHECK(loss_of(&t->rows[r - 1], metric) <= loss_of(&t->rows[r], metric), "sorted at %zu", r);
    /* the ensemble's row; kept unless worse than the best single by its
     * standard error or more */
    size_t ens = t->n_rows, single_best = t->n_rows;
    for (size_t r = 0; r < t->n_rows; r++)
        if (t->rows[r].method == LF_FUSE_ENSEMBLE) ens = r;
        else if (single_best == t->n_rows) single_best = r;
    CHECK((ens < t->n_rows) == !(expect_tiny || single), "the ensemble's row: %zu of %zu", ens, t->n_rows);
    double single_se = single_best < t->n_rows ? t->rows[single_best].std[metric] / sqrt((double)o.folds) : 0;
    if (ens < t->n_rows && loss_of(&t->rows[ens], metric) < loss_of(&t->rows[single_best], metric) + single_se) {
        CHECK(lf_fusion_method(f) == LF_FUSE_ENSEMBLE, "auto fitted %s, the ensemble within one standard error",
              lf_method_name(lf_fusion_method(f)));
        CHECK(strncmp(note, "auto chose an ensemble of ", 26) == 0, "note: %s", note);
        /* its members are the table's rows with a weight, the same weights */
        size_t in = 0;
        double sum = 0;
        for (size_t r = 0; r < t->n_rows; r++) in += t->rows[r].ensemble_weight > 0;
        CHECK(lf_fusion_ensemble_member(f, 0, NULL, NULL, NULL, NULL) == in, "%zu members, %zu rows with a weight",
              lf_fusion_ensemble_member(f, 0, NULL, NULL, NULL, NULL), in);
        for (size_t i = 0; i < in; i++) {
            lf_method m = LF_FUSE_AUTO;
            int cal = -1, found = 0;
            double w = -1;
            lf_fusion_ensemble_member(f, i, &m, &cal, &w, NULL);
            sum += w;
            for (size_t r = 0; r < t->n_rows; r++)
                found |= t->rows[r].method == m && t->rows[r].calibrated == cal && t->rows[r].ensemble_weight == w;
            CHECK(found, "member %zu (%s) has its row and weight %g", i, lf_method_name(m), w);
        }
        CHECK(fabs(sum - 1) < 1e-12, "the weights sum to %.17g", sum);
        simpler = -1; /* the ensemble kept */
        if (loss_of(&t->rows[ens], metric) > loss_of(&t->rows[single_best], metric)) simpler = -2; /* within the SE */
        goto out;
    }
    CHECK(lf_fusion_method(f) != LF_FUSE_ENSEMBLE, "auto fitted its ensemble, which the rule rejects");
    if (ens < t->n_rows)
        CHECK(strstr(note, ", not within one standard error (") != NULL, "note: %s", note);
    /* the rule, from the table's own numbers */
    size_t best = t->n_rows;
    for (size_t r = 0; r < t->n_rows; r++) {
        if (r == ens || (expect_tiny && params_of(&t->rows[r], M, C, N) > M)) continue;
        if (best == t->n_rows || loss_of(&t->rows[r], metric) < loss_of(&t->rows[best], metric)) best = r;
    }
    double bl = loss_of(&t->rows[best], metric), se = t->rows[best].std[metric] / sqrt((double)o.folds);
    double limit = bl + (expect_tiny ? se : fmin(se, 0.01 * bl));
    size_t pick = best;
    for (size_t r = 0; r < t->n_rows; r++) {
        size_t pr = params_of(&t->rows[r], M, C, N), pp = params_of(&t->rows[pick], M, C, N);
        if (r == ens || (expect_tiny && pr > M) || !(loss_of(&t->rows[r], metric) <= limit)) continue;
        if (pr < pp || (pr == pp && loss_of(&t->rows[r], metric) < loss_of(&t->rows[pick], metric))) pick = r;
    }
    const lf_score_row *want = &t->rows[pick];
    CHECK(lf_fusion_method(f) == want->method && lf_fusion_calibrated(f) == want->calibrated,
          "auto fitted %s%s; the rule gives %s%s", lf_method_name(lf_fusion_method(f)),
          lf_fusion_calibrated(f) ? " +cal" : "", want->name, want->calibrated ? " +cal" : "");
    char head[128];
    snprintf(head, sizeof head, "auto chose %s%s by cross-validated", want->name,
             want->calibrated ? " with calibration" : "");
    CHECK(strncmp(note, head, strlen(head)) == 0, "note: %s", note);
    CHECK((strstr(note, "fewer than 20 per class") != NULL) == expect_tiny, "tiny data said: %s", note);
    CHECK((strstr(note, "within the tolerance") != NULL) == (pick != best), "one-SE said: %s", note);
    if (expect_tiny) CHECK(params_of(want, M, C, N) <= M, "tiny data: %zu fitted numbers", params_of(want, M, C, N));
    simpler = pick != best;
out:
    lf_fusion_free(f);
    free_data(p, y, M);
    return simpler;
}

/* every method's count of fitted numbers: for the learned methods the
 * network the engine builds; for the others the floats their fitted file
 * stores (bks: at most, one tuple per distinct row) */
static void test_params(void) {
    enum { M = 3, C = 4, N = 60 };
    float *p[M];
    int y[N];
    for (int k = 0; k < M; k++) p[k] = malloc(N * C * sizeof(float));
    make_data(p, y, M, N, C, 5, 0);
    char path[] = "/tmp/latefuse_auto_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    for (size_t i = 0; i < lf_method_count(); i++) {
        const lf_method_def *d = lf_method_at(i);
        size_t want = 0, got = d->n_params ? d->n_params(M, C, N) : 0;
        if (d->family == LF_FAMILY_LEARNED) {
            lf_model *net;
            lf_model_create(&net, 1);
            CHECK(lf_learned_build(net, d->id, M, C, 0) == LF_OK, "%s builds", d->name);
            want = lf_model_num_params(net);
            lf_model_free(net);
        } else {
            lf_fusion *f;
            lf_fusion_create(&f);
            lf_fusion_options o = lf_fusion_defaults();
            o.method = d->id;
            lf_st_file sf;
            lf_err e;
            CHECK(lf_fusion_fit(f, (const float *const *)p, names3, M, N, C, y, &o) == LF_OK &&
                      lf_fusion_save(f, path, 0) == LF_OK && lf_st_read(path, &sf, &e) == LF_OK,
                  "%s: %s", d->name, lf_fusion_error(f));
            for (size_t t = 0; t < lf_st_count(&sf); t++) want += lf_st_at(&sf, t)->count;
            lf_st_free(&sf);
            lf_fusion_free(f);
        }
        if (d->id == LF_FUSE_BKS)
            CHECK(want > 0 && want <= got, "bks stores %zu numbers, at most %zu by its record", want, got);
        else
            CHECK(got == want, "%s fits %zu numbers, the record says %zu", d->name, want, got);
    }
    unlink(path);
    for (int k = 0; k < M; k++) free(p[k]);
}

static void test_errors(void) {
    float a[6] = {0.9f, 0.1f, 0.6f, 0.4f, 0.2f, 0.8f};
    const float *p[1] = {a};
    int y[3] = {0, 1, 1};
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_AUTO, o.metric = LF_METRIC_ECE, o.folds = 2;
    CHECK(lf_fusion_fit(f, p, names3, 1, 3, 2, y, &o) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f), "auto chooses by log-loss, accuracy or macro-F1, not metric 4") == 0,
          "%s", lf_fusion_error(f));
    CHECK(lf_fusion_auto_table(f) == NULL && lf_fusion_auto_note(f) == NULL, "no table after a failure");
    o.method = LF_FUSE_MEAN, o.metric = LF_METRIC_LOG_LOSS;
    CHECK(lf_fusion_fit(f, p, names3, 1, 3, 2, y, &o) == LF_OK && lf_fusion_auto_table(f) == NULL, "no table: %s",
          lf_fusion_error(f));
    lf_fusion_free(f);
}

int main(void) {
    test_params();
    /* the seeds: since the shrinkage of issue 14, stack-lr (the product rule
     * plus a penalised correction) beats every ensemble by a standard error
     * on most of these data; the last cases' data are ones where the
     * ensemble is kept (unless told to fit a single candidate), the second's one
     * where the tolerance picks a simpler candidate (seed 412 until
     * stack-lr's steps went from 0.01 to 0.003, 404 until the learned
     * methods held out whole rows for early stopping: each change of their
     * bits moves these near ties) */
    int simpler = (check_auto(500, 3, LF_METRIC_LOG_LOSS, 0, 1, 2) == 1) +
                  (check_auto(400, 3, LF_METRIC_ACCURACY, 0, 0, 416) == 1) +
                  (check_auto(300, 3, LF_METRIC_MACRO_F1, 0, 0, 307) == 1) +
                  (check_auto(36, 3, LF_METRIC_LOG_LOSS, 1, 0, 43) == 1);
    CHECK(simpler >= 1, "the tolerance chose a simpler candidate in %d of the 4 cases", simpler);
    CHECK(check_auto(500, 3, LF_METRIC_LOG_LOSS, 0, 0, 2) == -1, "the ensemble kept");
    /* data where the ensemble's nested score is a little worse than the
     * best single's, within one standard error: kept */
    CHECK(check_auto(300, 3, LF_METRIC_LOG_LOSS, 0, 0, 15) == -2, "the ensemble kept, within one standard error");
    test_errors();
    return check_report("test_auto");
}
