/*
 * compare.c — honest evaluation and the choice it supports: stratified
 * K-fold cross-validation of every method over the given validation outputs
 * (lf_fusion_compare), and lf_fusion_fit, whose `auto` picks the method and
 * calibration with the best cross-validated log-loss.  For each fold, calibration and
 * the method are fitted on the other K-1 folds only and scored on the held-
 * out fold; the table reports mean and standard deviation over folds of
 * accuracy, macro-F1, log-loss, Brier score and ECE, for every method, every
 * single model (a missing output scored as the uniform distribution), and
 * the oracle's accuracy (some present model right) as an upper bound; and,
 * per method, the accuracy when each model is absent.
 */
#include "fusion/calibrate.h"
#include "fusion/cv.h"
#include "fusion/method.h"
#include "fusion/metrics.h"
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* everything the folds share */
typedef struct cv_ctx {
    const float *const *p;
    const char *const *names;
    size_t M, N, C, K;
    const int *y;
    const lf_fusion_options *o;
    size_t *fold, *train, *test;
    int *ytest;
    float *prob;   /* N x C scratch for fused test rows */
    const float **pdrop;
} cv_ctx;

static void to_array(const lf_metrics *mt, double *v) {
    v[LF_METRIC_ACCURACY] = mt->accuracy;
    v[LF_METRIC_MACRO_F1] = mt->macro_f1;
    v[LF_METRIC_LOG_LOSS] = mt->log_loss;
    v[LF_METRIC_BRIER] = mt->brier;
    v[LF_METRIC_ECE] = mt->ece;
}

static void mean_std(const lf_metrics *per, size_t K, lf_score_row *row) {
    lf_metrics mean, sd;
    lf_metrics_mean_std(per, K, &mean, &sd);
    to_array(&mean, row->mean);
    to_array(&sd, row->std);
}

static lf_status split(cv_ctx *c, size_t k, size_t *n_train, size_t *n_test, lf_err *e) {
    lf_status st = lf_fold_split(c->fold, c->N, k, c->train, n_train, c->test, n_test, e);
    for (size_t i = 0; st == LF_OK && i < *n_test; i++) c->ytest[i] = c->y[c->test[i]];
    return st;
}

/* one method, cross-validated; acc_without (M) may be NULL */
static lf_status cv_method(lf_err *e, cv_ctx *c, lf_method method, int calibrate, lf_metrics *per,
                           double *acc_without) {
    lf_fusion fs;
    memset(&fs, 0, sizeof fs);
    lf_status st = LF_OK;
    if (acc_without) memset(acc_without, 0, c->M * sizeof *acc_without);
    for (size_t k = 0; st == LF_OK && k < c->K; k++) {
        size_t ntr, nte;
        if ((st = split(c, k, &ntr, &nte, e)) != LF_OK) break;
        st = lf_fusion_fit_rows(&fs, c->p, c->names, c->M, c->C, c->y, c->train, ntr, c->o, method,
                                calibrate);
        if (st != LF_OK) {
            lf_fail(e, st, "%s, fold %zu: %s", lf_method_name(method), k + 1, fs.err.msg);
            break;
        }
        for (long drop = -1; st == LF_OK && drop < (long)(acc_without ? c->M : 0); drop++) {
            for (size_t m = 0; m < c->M; m++) c->pdrop[m] = (long)m == drop ? NULL : c->p[m];
            lf_probs pr;
            st = lf_probs_prepare(e, c->pdrop, c->M, c->C, c->o->logits, fs.temps, c->test, nte, &pr);
            if (st == LF_OK) st = lf_fusion_predict_core(&fs, &pr, c->prob);
            lf_probs_free(&pr);
            if (st != LF_OK) {
                lf_fail(e, st, "%s, fold %zu: prediction failed (%s)", lf_method_name(method), k + 1,
                        lf_status_string(st));
                break;
            }
            lf_metrics mt;
            st = lf_metrics_compute(c->prob, c->ytest, nte, c->C, &mt, e);
            if (drop < 0) per[k] = mt;
            else acc_without[drop] += mt.accuracy / (double)c->K;
        }
    }
    lf_fusion_clear(&fs);
    return st;
}

/* The dynamic-selection methods (knora-e, knora-u, ola, lca) of a list
 * hold the same fitting rows when fitted on the same folds, so they are
 * cross-validated together: per fold and model left out, one neighbour
 * search serves them all (lf_des_predict_shared; each output the bits of
 * its own predict, so every number is cv_method's). */
static int is_des(lf_method m) {
    return m == LF_FUSE_KNORA_E || m == LF_FUSE_KNORA_U || m == LF_FUSE_OLA || m == LF_FUSE_LCA;
}

typedef struct des_group {
    lf_method m[4];
    size_t n;
    int done[2];          /* per calibration */
    lf_metrics *per[2];   /* n x K */
    double *without[2];   /* n x M, or NULL */
} des_group;

static void des_group_free(des_group *g) {
    for (int cal = 0; cal < 2; cal++) LF_FREE(g->per[cal]), LF_FREE(g->without[cal]);
}

/* cv_method for the n methods of g at once, into g->per[cal] (and
 * g->without[cal] when with_without) */
static lf_status cv_group(lf_err *e, cv_ctx *c, des_group *g, int cal, int with_without) {
    size_t n = g->n, M = c->M;
    lf_fusion fs[4];
    float *outs[4] = {c->prob, NULL, NULL, NULL};
    memset(fs, 0, sizeof fs);
    g->per[cal] = lf_alloc_array(n * c->K, sizeof *g->per[cal]);
    g->without[cal] = with_without ? LF_CALLOC(n * M, sizeof *g->without[cal]) : NULL;
    lf_status st = g->per[cal] && (!with_without || g->without[cal]) ? LF_OK : LF_ERR_NOMEM;
    for (size_t i = 1; st == LF_OK && i < n; i++)
        if (!(outs[i] = lf_alloc_array(c->N, c->C * sizeof(float)))) st = LF_ERR_NOMEM;
    if (st != LF_OK) lf_fail(e, st, "out of memory for cross-validation");
    for (size_t k = 0; st == LF_OK && k < c->K; k++) {
        size_t ntr, nte;
        if ((st = split(c, k, &ntr, &nte, e)) != LF_OK) break;
        for (size_t i = 0; st == LF_OK && i < n; i++) {
            st = lf_fusion_fit_rows(&fs[i], c->p, c->names, M, c->C, c->y, c->train, ntr, c->o, g->m[i], cal);
            if (st != LF_OK) lf_fail(e, st, "%s, fold %zu: %s", lf_method_name(g->m[i]), k + 1, fs[i].err.msg);
        }
        for (long drop = -1; st == LF_OK && drop < (long)(with_without ? M : 0); drop++) {
            for (size_t m = 0; m < M; m++) c->pdrop[m] = (long)m == drop ? NULL : c->p[m];
            const lf_fusion *fp[4] = {&fs[0], &fs[1], &fs[2], &fs[3]};
            lf_probs pr;
            size_t bad = 0;
            st = lf_probs_prepare(e, c->pdrop, M, c->C, c->o->logits, fs[0].temps, c->test, nte, &pr);
            if (st == LF_OK && !lf_des_predict_shared(fp, n, &pr, outs, &st)) /* one by one */
                for (size_t i = 0; st == LF_OK && i < n; i++) {
                    lf_probs_free(&pr);
                    st = lf_probs_prepare(e, c->pdrop, M, c->C, c->o->logits, fs[i].temps, c->test, nte, &pr);
                    if (st == LF_OK) st = lf_fusion_predict_core(&fs[i], &pr, outs[i]);
                    bad = i;
                }
            lf_probs_free(&pr);
            if (st != LF_OK) {
                lf_fail(e, st, "%s, fold %zu: prediction failed (%s)", lf_method_name(g->m[bad]), k + 1,
                        lf_status_string(st));
                break;
            }
            for (size_t i = 0; st == LF_OK && i < n; i++) {
                lf_metrics mt;
                st = lf_metrics_compute(outs[i], c->ytest, nte, c->C, &mt, e);
                if (drop < 0) g->per[cal][i * c->K + k] = mt;
                else g->without[cal][i * M + (size_t)drop] += mt.accuracy / (double)c->K;
            }
        }
    }
    for (size_t i = 0; i < 4; i++) lf_fusion_clear(&fs[i]);
    for (size_t i = 1; i < n; i++) LF_FREE(outs[i]);
    if (st == LF_OK) g->done[cal] = 1;
    return st;
}

/* cv_method of method, from its group when it is a dynamic-selection
 * method of g (the group cross-validated the first time) */
static lf_status cv_any(lf_err *e, cv_ctx *c, des_group *g, lf_method method, int cal, lf_metrics *per,
                        double *acc_without) {
    size_t i = 0;
    while (g && i < g->n && g->m[i] != method) i++;
    if (!g || i == g->n) return cv_method(e, c, method, cal, per, acc_without);
    if (!g->done[cal]) {
        lf_status st = cv_group(e, c, g, cal, acc_without != NULL);
        if (st != LF_OK) return st;
    }
    memcpy(per, g->per[cal] + i * c->K, c->K * sizeof *per);
    if (acc_without) memcpy(acc_without, g->without[cal] + i * c->M, c->M * sizeof *acc_without);
    return LF_OK;
}

/* a single model's own outputs on the test rows of fold k, already split
 * (temperature fitted on the training folds), into c->prob; a missing
 * output is the uniform distribution when `uniform`, else NaN */
static lf_status single_fold(lf_err *e, cv_ctx *c, size_t m, int calibrate, size_t ntr, size_t nte, int uniform) {
    lf_status st = LF_OK;
    float T = 1.0f;
    if (calibrate && c->p[m]) {
        lf_probs tr;
        const float *one[1] = {c->p[m]};
        st = lf_probs_prepare(e, one, 1, c->C, c->o->logits, NULL, c->train, ntr, &tr);
        int *ytr = lf_alloc_array(ntr ? ntr : 1, sizeof *ytr);
        if (st == LF_OK && !ytr) st = lf_fail(e, LF_ERR_NOMEM, "out of memory");
        for (size_t i = 0; st == LF_OK && i < ntr; i++) ytr[i] = c->y[c->train[i]];
        if (st == LF_OK) st = lf_fit_temperature(tr.p[0], ytr, ntr, c->C, &T, e);
        LF_FREE(ytr);
        lf_probs_free(&tr);
        if (st != LF_OK) return st;
    }
    const float *one[1] = {c->p[m]};
    lf_probs pr;
    if (c->p[m]) {
        st = lf_probs_prepare(e, one, 1, c->C, c->o->logits, &T, c->test, nte, &pr);
        if (st != LF_OK) return st;
        for (size_t i = 0; i < nte * c->C; i++) c->prob[i] = pr.p[0][i];
        lf_probs_free(&pr);
    }
    for (size_t i = 0; i < nte; i++) /* missing */
        if (!c->p[m] || isnan(c->prob[i * c->C]))
            for (size_t j = 0; j < c->C; j++) c->prob[i * c->C + j] = uniform ? 1.0f / (float)c->C : (float)NAN;
    return LF_OK;
}

/* a single model's own outputs, scored (a missing output as uniform) */
static lf_status cv_single(lf_err *e, cv_ctx *c, size_t m, int calibrate, lf_metrics *per) {
    lf_status st = LF_OK;
    for (size_t k = 0; st == LF_OK && k < c->K; k++) {
        size_t ntr, nte;
        if ((st = split(c, k, &ntr, &nte, e)) != LF_OK) break;
        if ((st = single_fold(e, c, m, calibrate, ntr, nte, 1)) != LF_OK) break;
        st = lf_metrics_compute(c->prob, c->ytest, nte, c->C, &per[k], e);
    }
    return st;
}

static lf_status cv_oracle(lf_err *e, cv_ctx *c, double *mean, double *sd) {
    double acc[64], s = 0, ss = 0;
    lf_status st = LF_OK;
    for (size_t k = 0; st == LF_OK && k < c->K; k++) {
        size_t ntr, nte;
        if ((st = split(c, k, &ntr, &nte, e)) != LF_OK) break;
        lf_probs pr;
        st = lf_probs_prepare(e, c->p, c->M, c->C, c->o->logits, NULL, c->test, nte, &pr);
        if (st == LF_OK)
            st = lf_oracle_accuracy((const float *const *)pr.p, c->M, nte, c->C, c->ytest, &acc[k], e);
        lf_probs_free(&pr);
        s += acc[k];
    }
    *mean = s / (double)c->K;
    for (size_t k = 0; k < c->K; k++) ss += (acc[k] - *mean) * (acc[k] - *mean);
    *sd = c->K > 1 ? sqrt(ss / (double)(c->K - 1)) : 0;
    return st;
}

static void ctx_free(cv_ctx *c) {
    LF_FREE(c->fold), LF_FREE(c->train), LF_FREE(c->test), LF_FREE(c->ytest);
    LF_FREE(c->prob), LF_FREE(c->pdrop);
}

static lf_status ctx_init(lf_err *e, cv_ctx *c, const float *const *p, const char *const *names,
                          size_t M, size_t N, size_t C, const int *y, const lf_fusion_options *o) {
    memset(c, 0, sizeof *c);
    c->p = p, c->names = names, c->M = M, c->N = N, c->C = C, c->y = y, c->o = o;
    c->K = o->folds;
    if (c->K < 2 || c->K > 64) return lf_fail(e, LF_ERR_ARG, "folds must be in 2..64, got %zu", c->K);
    if (c->K > N) return lf_fail(e, LF_ERR_ARG, "%zu folds need at least %zu samples, got %zu", c->K, c->K, N);
    c->fold = lf_alloc_array(N, sizeof *c->fold);
    c->train = lf_alloc_array(N, sizeof *c->train);
    c->test = lf_alloc_array(N, sizeof *c->test);
    c->ytest = lf_alloc_array(N, sizeof *c->ytest);
    c->prob = lf_alloc_array(N, C * sizeof *c->prob);
    c->pdrop = lf_alloc_array(M, sizeof *c->pdrop);
    if (!c->fold || !c->train || !c->test || !c->ytest || !c->prob || !c->pdrop) {
        ctx_free(c);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory for cross-validation");
    }
    lf_status st = lf_stratified_kfold(y, N, C, c->K, o->seed, c->fold, e);
    if (st != LF_OK) ctx_free(c);
    return st;
}

static int by_log_loss(const void *a, const void *b) {
    const lf_score_row *x = a, *y = b;
    if (x->kind == LF_ROW_ORACLE || y->kind == LF_ROW_ORACLE)
        return x->kind == y->kind ? 0 : (x->kind == LF_ROW_ORACLE ? 1 : -1);
    double dx = x->mean[LF_METRIC_LOG_LOSS], dy = y->mean[LF_METRIC_LOG_LOSS];
    if (isnan(dx) != isnan(dy)) return isnan(dx) ? 1 : -1; /* NaN last */
    if (dx < dy) return -1;
    if (dx > dy) return 1;
    return strcmp(x->name, y->name);
}

void lf_compare_table_free(lf_compare_table *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n_rows; i++) LF_FREE(t->rows[i].acc_without);
    LF_FREE(t->rows);
    LF_FREE(t);
}

/* ------------------------------------------------------------ progress
 *
 * compare and auto report one event per method (or candidate) as it
 * starts, with the seconds since the first, so that a display can draw one
 * bar over them all with the time left (lf_progress_format), and one at
 * the end. */

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* item 1..items starting now (name NULL: all done) */
static void tell_progress(const lf_fusion_options *opt, size_t item, size_t items, const char *name, double t0) {
    if (!opt || !opt->progress) return;
    lf_progress pr;
    memset(&pr, 0, sizeof pr);
    pr.event = name ? LF_PROGRESS_METHOD : LF_PROGRESS_METHODS_DONE;
    pr.item = item, pr.items = items, pr.method = name;
    pr.seconds = seconds_now() - t0;
    opt->progress(opt->progress_ctx, &pr);
}

lf_status lf_fusion_compare(lf_fusion *f, const float *const *p, const char *const *names,
                            size_t M, size_t N, size_t C, const int *y, const lf_method *methods,
                            size_t n_methods, const lf_fusion_options *opt,
                            lf_compare_table **table) {
    if (!f) return LF_ERR_ARG;
    if (table) *table = NULL;
    lf_fusion_options o = opt ? *opt : lf_fusion_defaults();
    for (size_t i = 0; methods && i < n_methods; i++)
        if (!lf_method_def_of(methods[i]))
            return lf_fail(&f->err, LF_ERR_ARG, "compare: method %d is not a fusion method", (int)methods[i]);
    if (!methods) n_methods = lf_method_count();
    o.method = LF_FUSE_MEAN; /* the methods are given apart */
    lf_status st = lf_fusion_check(&f->err, p, names, M, N, C, y, &o);
    if (st != LF_OK) return st;
    o.progress = NULL; /* the folds' fits stay quiet; compare reports its own progress */
    double t0 = seconds_now();
    cv_ctx c;
    if ((st = ctx_init(&f->err, &c, p, names, M, N, C, y, &o)) != LF_OK) return st;

    lf_compare_table *t = LF_CALLOC(1, sizeof *t);
    size_t cap = n_methods + M + 1;
    if (t) t->rows = lf_alloc_array(cap, sizeof *t->rows);
    lf_metrics *per = lf_alloc_array(c.K, sizeof *per);
    if (!t || !t->rows || !per) {
        LF_FREE(per);
        lf_compare_table_free(t);
        ctx_free(&c);
        return lf_fail(&f->err, LF_ERR_NOMEM, "out of memory for the comparison table");
    }
    t->n_models = M;
    des_group g;
    memset(&g, 0, sizeof g);
    for (size_t i = 0; i < n_methods && g.n < 4; i++) {
        lf_method mi = methods ? methods[i] : lf_method_at(i)->id;
        int seen = 0;
        for (size_t j = 0; j < g.n; j++) seen |= g.m[j] == mi;
        if (is_des(mi) && !seen) g.m[g.n++] = mi;
    }
    for (size_t i = 0; st == LF_OK && i < n_methods; i++) {
        lf_method mi = methods ? methods[i] : lf_method_at(i)->id;
        lf_score_row *row = &t->rows[t->n_rows];
        tell_progress(opt, i + 1, n_methods, lf_method_name(mi), t0);
        row->acc_without = lf_alloc_array(M, sizeof(double));
        if (!row->acc_without) {
            st = lf_fail(&f->err, LF_ERR_NOMEM, "out of memory");
            break;
        }
        t->n_rows++;
        snprintf(row->name, sizeof row->name, "%s", lf_method_name(mi));
        row->kind = LF_ROW_METHOD, row->method = mi, row->calibrated = o.calibrate;
        st = cv_any(&f->err, &c, &g, mi, o.calibrate ? 1 : 0, per, row->acc_without);
        if (st == LF_OK) mean_std(per, c.K, row);
    }
    des_group_free(&g);
    tell_progress(opt, n_methods, n_methods, NULL, t0);
    for (size_t m = 0; st == LF_OK && m < M; m++) {
        lf_score_row *row = &t->rows[t->n_rows++];
        snprintf(row->name, sizeof row->name, "model:%s", names[m]);
        row->kind = LF_ROW_MODEL, row->calibrated = o.calibrate;
        st = cv_single(&f->err, &c, m, o.calibrate, per);
        if (st == LF_OK) mean_std(per, c.K, row);
    }
    if (st == LF_OK) {
        lf_score_row *row = &t->rows[t->n_rows++];
        snprintf(row->name, sizeof row->name, "oracle");
        row->kind = LF_ROW_ORACLE;
        for (int j = 0; j < LF_NUM_METRICS; j++) row->mean[j] = row->std[j] = NAN;
        st = cv_oracle(&f->err, &c, &row->mean[LF_METRIC_ACCURACY], &row->std[LF_METRIC_ACCURACY]);
    }
    LF_FREE(per);
    ctx_free(&c);
    if (st != LF_OK) {
        lf_compare_table_free(t);
        return st;
    }
    qsort(t->rows, t->n_rows, sizeof *t->rows, by_log_loss);
    if (table) *table = t;
    else lf_compare_table_free(t);
    return LF_OK;
}

lf_status lf_cv_outputs(lf_err *e, const float *const *p, const char *const *names, size_t M, size_t N,
                        size_t C, const int *y, const lf_fusion_options *o, lf_method method, long model,
                        int calibrate, float *out) {
    cv_ctx c;
    lf_status st = ctx_init(e, &c, p, names, M, N, C, y, o);
    if (st != LF_OK) return st;
    lf_fusion fs;
    memset(&fs, 0, sizeof fs);
    for (size_t k = 0; st == LF_OK && k < c.K; k++) {
        size_t ntr, nte;
        if ((st = split(&c, k, &ntr, &nte, e)) != LF_OK) break;
        if (model >= 0) {
            st = single_fold(e, &c, (size_t)model, calibrate, ntr, nte, 0);
        } else {
            st = lf_fusion_fit_rows(&fs, p, names, M, C, y, c.train, ntr, o, method, calibrate);
            if (st != LF_OK) {
                lf_fail(e, st, "%s, fold %zu: %s", lf_method_name(method), k + 1, fs.err.msg);
                break;
            }
            lf_probs pr;
            st = lf_probs_prepare(e, p, M, C, o->logits, fs.temps, c.test, nte, &pr);
            if (st == LF_OK) st = lf_fusion_predict_core(&fs, &pr, c.prob);
            lf_probs_free(&pr);
        }
        for (size_t i = 0; st == LF_OK && i < nte; i++)
            memcpy(out + c.test[i] * C, c.prob + i * C, C * sizeof *out);
    }
    lf_fusion_clear(&fs);
    ctx_free(&c);
    return st;
}

/* ------------------------------------------------------------- auto
 *
 * auto scores every method, with and without calibration, by one stratified
 * K-fold cross-validation (the same folds for every candidate) on
 * opt->metric (log-loss by default; accuracy; macro-F1), and corrects for
 * having tried many candidates with the one-standard-error rule (Breiman et
 * al. 1984; Hastie, Tibshirani & Friedman, ESL 7.10), capped: among the
 * candidates whose mean loss is within the tolerance of the best's (one
 * standard error, the best's fold standard deviation / sqrt(K), but at
 * most 1 % of the best's loss), the one with the fewest fitted numbers
 * wins (calibration counts M; ties: the better mean).  On tiny data (fewer
 * than 20 rows per class) the tolerance is the whole standard error and
 * only the candidates with at most M fitted numbers are chosen from (fixed
 * rules, per-model weights), and the note says so.  (The loss is the
 * log-loss, or 1 - accuracy, 1 - macro-F1.)  The table of candidates and the note stay with the fitted
 * model (lf_fusion_auto_table, lf_fusion_auto_note). */

#define AUTO_ROWS_PER_CLASS 20
#define AUTO_MAX_SHARE 0.01 /* the one-SE tolerance, at most this share of the best loss */

/* the score to minimise */
static double auto_loss(const lf_score_row *r, int metric) {
    return metric == LF_METRIC_LOG_LOSS ? r->mean[metric] : 1.0 - r->mean[metric];
}

static size_t auto_params(const lf_method_def *d, int calibrated, size_t M, size_t C, size_t N) {
    return (d->n_params ? d->n_params(M, C, N) : 0) + (calibrated ? M : 0);
}

static lf_status select_method(lf_fusion *f, const float *const *p, const char *const *names, size_t M,
                               size_t N, size_t C, const int *y, const lf_fusion_options *opt,
                               lf_method *method, int *calibrate, lf_compare_table **table, char *note,
                               size_t note_len) {
    int metric = opt->metric;
    if (metric != LF_METRIC_LOG_LOSS && metric != LF_METRIC_ACCURACY && metric != LF_METRIC_MACRO_F1)
        return lf_fail(&f->err, LF_ERR_ARG, "auto chooses by log-loss, accuracy or macro-F1, not metric %d", metric);
    lf_fusion_options quiet = *opt;
    const lf_fusion_options *o = &quiet;
    quiet.progress = NULL;
    /* ges optimises the log-loss or the accuracy */
    if (metric == LF_METRIC_MACRO_F1) quiet.metric = LF_METRIC_LOG_LOSS;
    size_t n_cand = 2 * lf_method_count();
    double t0 = seconds_now();
    cv_ctx c;
    lf_status st = ctx_init(&f->err, &c, p, names, M, N, C, y, o);
    if (st != LF_OK) return st;
    lf_metrics *per = lf_alloc_array(c.K, sizeof *per);
    lf_compare_table *t = LF_CALLOC(1, sizeof *t);
    if (t) t->rows = lf_alloc_array(n_cand, sizeof *t->rows);
    if (!per || !t || !t->rows) {
        LF_FREE(per);
        lf_compare_table_free(t);
        ctx_free(&c);
        return lf_fail(&f->err, LF_ERR_NOMEM, "out of memory");
    }
    t->n_models = M;
    des_group g;
    memset(&g, 0, sizeof g);
    for (size_t i = 0; i < lf_method_count() && g.n < 4; i++)
        if (is_des(lf_method_at(i)->id)) g.m[g.n++] = lf_method_at(i)->id;
    for (size_t i = 0; st == LF_OK && i < lf_method_count(); i++)
        for (int cal = 0; st == LF_OK && cal <= 1; cal++) {
            const lf_method_def *d = lf_method_at(i);
            char label[80];
            snprintf(label, sizeof label, "auto: %s%s", d->name, cal ? " +calibrate" : "");
            tell_progress(opt, 2 * i + (size_t)cal + 1, n_cand, label, t0);
            if ((st = cv_any(&f->err, &c, &g, d->id, cal, per, NULL)) != LF_OK) break;
            lf_score_row *row = &t->rows[t->n_rows++];
            memset(row, 0, sizeof *row);
            snprintf(row->name, sizeof row->name, "%s", d->name);
            row->kind = 0, row->method = d->id, row->calibrated = cal;
            mean_std(per, c.K, row);
        }
    tell_progress(opt, n_cand, n_cand, NULL, t0);
    LF_FREE(per);
    ctx_free(&c);
    des_group_free(&g);
    if (st != LF_OK) {
        lf_compare_table_free(t);
        return st;
    }
    int tiny = N < AUTO_ROWS_PER_CLASS * C;
    /* the best allowed candidate, then the simplest within one SE of it */
    size_t best = n_cand;
    for (size_t r = 0; r < t->n_rows; r++) {
        const lf_score_row *x = &t->rows[r];
        if (tiny && auto_params(lf_method_def_of(x->method), x->calibrated, M, C, N) > M) continue;
        if (isnan(auto_loss(x, metric))) continue;
        if (best == n_cand || auto_loss(x, metric) < auto_loss(&t->rows[best], metric)) best = r;
    }
    if (best == n_cand) {
        lf_compare_table_free(t);
        return lf_fail(&f->err, LF_ERR_NUMERIC, "auto: no candidate has a finite cross-validated score");
    }
    /* the tolerance: one standard error, at most 1 % of the best's loss
     * (so the choice stays within 1 % of the best cross-validated score)
     * except on tiny data, where one standard error stands */
    double bl = auto_loss(&t->rows[best], metric), se = t->rows[best].std[metric] / sqrt((double)c.K);
    double tol = tiny || se < AUTO_MAX_SHARE * bl ? se : AUTO_MAX_SHARE * bl, limit = bl + tol;
    size_t pick = best;
    for (size_t r = 0; r < t->n_rows; r++) {
        const lf_score_row *x = &t->rows[r], *b = &t->rows[pick];
        size_t px = auto_params(lf_method_def_of(x->method), x->calibrated, M, C, N);
        size_t pb = auto_params(lf_method_def_of(b->method), b->calibrated, M, C, N);
        if ((tiny && px > M) || !(auto_loss(x, metric) <= limit)) continue;
        if (px < pb || (px == pb && auto_loss(x, metric) < auto_loss(b, metric))) pick = r;
    }
    const lf_score_row *pr = &t->rows[pick], *br = &t->rows[best];
    static const char *const mnames[LF_NUM_METRICS] = {"accuracy", "macro-F1", "log-loss", "Brier", "ECE"};
    *method = pr->method, *calibrate = pr->calibrated;
    int n = snprintf(note, note_len, "auto chose %s%s by cross-validated %s (%.4f +- %.4f over %zu folds)",
                     pr->name, pr->calibrated ? " with calibration" : "", mnames[metric], pr->mean[metric],
                     pr->std[metric], c.K);
    if (n >= 0 && (size_t)n < note_len && pick != best)
        n += snprintf(note + n, note_len - (size_t)n,
                      "; the best, %s%s (%.4f), is within the tolerance (%.4f: one standard error, at most 1 %% "
                      "of the best) and fits more numbers (%zu against %zu)",
                      br->name, br->calibrated ? " with calibration" : "", br->mean[metric], tol,
                      auto_params(lf_method_def_of(br->method), br->calibrated, M, C, N),
                      auto_params(lf_method_def_of(pr->method), pr->calibrated, M, C, N));
    if (n >= 0 && (size_t)n < note_len && tiny)
        snprintf(note + n, note_len - (size_t)n,
                 "; %zu rows for %zu classes is fewer than %d per class, so only methods with at most one fitted "
                 "number per model were chosen from",
                 N, C, AUTO_ROWS_PER_CLASS);
    /* best first by the metric; stable for equal scores (table order) */
    for (size_t a = 1; a < t->n_rows; a++) {
        lf_score_row x = t->rows[a];
        size_t b = a;
        while (b > 0 && auto_loss(&t->rows[b - 1], metric) > auto_loss(&x, metric)) t->rows[b] = t->rows[b - 1], b--;
        t->rows[b] = x;
    }
    *table = t;
    return LF_OK;
}

lf_status lf_fusion_fit(lf_fusion *f, const float *const *p, const char *const *names, size_t M,
                        size_t N, size_t C, const int *y, const lf_fusion_options *opt) {
    if (!f) return LF_ERR_ARG;
    lf_fusion_options o = opt ? *opt : lf_fusion_defaults();
    lf_status st = lf_fusion_check(&f->err, p, names, M, N, C, y, &o);
    if (st != LF_OK) return st;
    lf_method method = o.method;
    int calibrate = o.calibrate;
    lf_compare_table *table = NULL;
    char note[sizeof f->auto_note];
    if (method == LF_FUSE_AUTO) {
        st = select_method(f, p, names, M, N, C, y, &o, &method, &calibrate, &table, note, sizeof note);
        if (st != LF_OK) return st;
    }
    st = lf_fusion_fit_rows(f, p, names, M, C, y, NULL, N, &o, method, calibrate);
    if (st == LF_OK && o.importance) st = lf_fusion_measure_importance(f, p, N, y);
    if (st != LF_OK) lf_fusion_clear(f);
    if (st == LF_OK && table) {
        f->auto_table = table;
        memcpy(f->auto_note, note, sizeof note);
    } else {
        lf_compare_table_free(table);
    }
    return st;
}

const lf_compare_table *lf_fusion_auto_table(const lf_fusion *f) { return f ? f->auto_table : NULL; }
const char *lf_fusion_auto_note(const lf_fusion *f) { return f && f->auto_table ? f->auto_note : NULL; }
