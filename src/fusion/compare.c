/*
 * compare.c — honest evaluation and the choice it supports: stratified
 * K-fold cross-validation of every method over the given validation outputs
 * (lf_fusion_compare), and lf_fusion_fit, whose `auto` picks the method and
 * calibration with the best cross-validated log-loss, or the ensemble of its
 * best candidates unless that scores worse by a standard error
 * (auto_ensemble, ensemble.c).  For each fold, calibration and the method
 * are fitted on the other K-1 folds only and scored on the held-
 * out fold; the table reports mean and standard deviation over folds of
 * accuracy, macro-F1, log-loss, Brier score and ECE, for every method, every
 * single model (a missing output scored as the uniform distribution), and
 * the oracle's accuracy (some model right, a missing model's row counting
 * as the uniform row, class 0, as its single-model row is scored) as an
 * upper bound; and,
 * per method, the accuracy when each model is absent.
 */
#include "dist.h"
#include "fusion/calibrate.h"
#include "fusion/cv.h"
#include "fusion/ensemble.h"
#include "fusion/method.h"
#include "fusion/metrics.h"
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

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
    float *keep;   /* NULL, or (items x N x C): each method item's out-of-fold outputs (auto_ensemble's) */
} cv_ctx;

static void to_array(const lf_metrics *mt, double *v);

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

/* ------------------------------------------------------------ units
 *
 * The cross-validation work is cut into units, one candidate (a method, a
 * single model, the oracle) on one fold; each unit's result is a record of
 * REC(M) doubles: the fold's metrics (LF_METRIC_* order), then for a method
 * with `drop` its accuracy when each model is absent (for the oracle: its
 * accuracy first).  A unit depends on nothing but the inputs, so with an
 * MPI communicator (opt->mpi_comm) the units are dealt to the ranks by a
 * static, deterministic longest-processing-time-first assignment over
 * their estimated costs (unit_cost, plan_tasks), and the records are
 * gathered: the table is the same bits on any number of ranks; and a
 * process's (or a rank's) units run on its threads (cv_threads), the same
 * bits on any number of threads.
 */

#define REC(M) (LF_NUM_METRICS + (M))

typedef struct cv_item {
    lf_row_kind kind;
    lf_method method;     /* LF_ROW_METHOD */
    size_t model;         /* LF_ROW_MODEL */
    int calibrate, drop;  /* drop: accuracies without each model */
    char label[80];       /* what progress says as the item starts (methods) */
    size_t index, count;  /* progress: item index..count (methods) */
    size_t lead;          /* the item whose units make this one's records: itself, or its DES group's lead */
    lf_method group[4];   /* a DES group's lead: the group's methods (group_n of them) */
    size_t group_n;
} cv_item;

static void to_array(const lf_metrics *mt, double *v) {
    v[LF_METRIC_ACCURACY] = mt->accuracy;
    v[LF_METRIC_MACRO_F1] = mt->macro_f1;
    v[LF_METRIC_LOG_LOSS] = mt->log_loss;
    v[LF_METRIC_BRIER] = mt->brier;
    v[LF_METRIC_ECE] = mt->ece;
}

static void from_array(const double *v, lf_metrics *mt) {
    mt->accuracy = v[LF_METRIC_ACCURACY];
    mt->macro_f1 = v[LF_METRIC_MACRO_F1];
    mt->log_loss = v[LF_METRIC_LOG_LOSS];
    mt->brier = v[LF_METRIC_BRIER];
    mt->ece = v[LF_METRIC_ECE];
}

/* when c keeps the items' outputs: item's rows at the fold's test rows,
 * from the fold's fused rows (nte x C, in test order) */
static void keep_rows(const cv_ctx *c, size_t item, const float *rows, size_t nte) {
    float *out = c->keep ? c->keep + item * c->N * c->C : NULL;
    for (size_t i = 0; out && i < nte; i++) memcpy(out + c->test[i] * c->C, rows + i * c->C, c->C * sizeof *out);
}

/* one method (items[item]) on fold k (fs: a scratch model) */
static lf_status unit_method(lf_err *e, cv_ctx *c, lf_fusion *fs, const cv_item *it, size_t item, size_t k,
                             double *rec) {
    size_t ntr, nte;
    lf_status st = split(c, k, &ntr, &nte, e);
    if (st != LF_OK) return st;
    st = lf_fusion_fit_rows(fs, c->p, c->names, c->M, c->C, c->y, c->train, ntr, c->o, it->method, it->calibrate);
    if (st != LF_OK) return lf_fail(e, st, "%s, fold %zu: %s", lf_method_name(it->method), k + 1, fs->err.msg);
    for (long drop = -1; st == LF_OK && drop < (long)(it->drop ? c->M : 0); drop++) {
        for (size_t m = 0; m < c->M; m++) c->pdrop[m] = (long)m == drop ? NULL : c->p[m];
        lf_probs pr;
        lf_err pe = {0}; /* the method's own message */
        st = lf_probs_prepare(e, c->pdrop, c->M, c->C, c->o->logits, fs->temps, c->test, nte, &pr);
        if (st == LF_OK) st = lf_probs_features(e, &pr, fs, c->o->features, c->o->n_features, c->test, nte);
        pr.err = &pe;
        if (st == LF_OK) st = lf_fusion_predict_core(fs, &pr, c->prob);
        lf_probs_free(&pr);
        if (st != LF_OK)
            return lf_fail(e, st, "%s, fold %zu: prediction failed (%s)", lf_method_name(it->method), k + 1,
                           pe.msg[0] ? pe.msg : lf_status_string(st));
        lf_metrics mt;
        st = lf_metrics_compute(c->prob, c->ytest, nte, c->C, &mt, e);
        if (drop < 0) to_array(&mt, rec), keep_rows(c, item, c->prob, nte);
        else rec[LF_NUM_METRICS + (size_t)drop] = mt.accuracy;
    }
    return st;
}

static lf_status single_fold(lf_err *e, cv_ctx *c, size_t m, int calibrate, size_t ntr, size_t nte, int uniform);

/* a single model's own outputs on fold k (temperature fitted on the
 * training folds; a missing output scored as the uniform distribution) */
static lf_status unit_single(lf_err *e, cv_ctx *c, size_t m, int calibrate, size_t k, double *rec) {
    size_t ntr, nte;
    lf_status st = split(c, k, &ntr, &nte, e);
    if (st == LF_OK) st = single_fold(e, c, m, calibrate, ntr, nte, 1);
    lf_metrics mt;
    if (st == LF_OK) st = lf_metrics_compute(c->prob, c->ytest, nte, c->C, &mt, e);
    if (st == LF_OK) to_array(&mt, rec);
    return st;
}

/* The dynamic-selection methods (knora-e, knora-u, ola, lca) hold the same
 * fitting rows when fitted on the same folds with the same calibration, so
 * they are cross-validated together: the items of such methods form a
 * group whose lead (the first of them) does the work, one unit per fold
 * making every member's record of that fold; per model left out, one
 * neighbour search serves them all (lf_des_predict_shared; each output the
 * bits of its own predict, so every record is unit_method's).  Sets each
 * item's lead (itself outside a group) and each lead's methods. */
static int is_des(lf_method m) {
    return m == LF_FUSE_KNORA_E || m == LF_FUSE_KNORA_U || m == LF_FUSE_OLA || m == LF_FUSE_LCA;
}

static void des_groups(cv_item *items, size_t n) {
    for (size_t i = 0; i < n; i++) {
        cv_item *it = &items[i];
        it->lead = i, it->group_n = 0;
        if (it->kind != LF_ROW_METHOD || !is_des(it->method)) continue;
        size_t l = 0;
        while (l < i && !(items[l].lead == l && items[l].group_n && items[l].calibrate == it->calibrate)) l++;
        cv_item *g = l < i ? &items[l] : it;
        size_t j = 0;
        while (j < g->group_n && g->group[j] != it->method) j++;
        if (j == g->group_n && g->group_n == 4) continue; /* cannot happen: four such methods */
        if (j == g->group_n) g->group[g->group_n++] = it->method;
        it->lead = l < i ? l : i;
    }
}

/* the DES group led by items[lead] on fold k: every member's record, at
 * recs + (item * K + k) * REC(M); only scoring passes from .. to - 1 (pass
 * 0: the fold's metrics, 1 + m: the accuracies without model m) */
static lf_status unit_des(lf_err *e, cv_ctx *c, const cv_item *items, size_t n_items, size_t lead, size_t k,
                          size_t from, size_t to, double *recs) {
    const cv_item *g = &items[lead];
    size_t n = g->group_n, M = c->M, R = REC(M);
    lf_fusion fs[4];
    float *outs[4] = {c->prob, NULL, NULL, NULL};
    memset(fs, 0, sizeof fs);
    lf_status st = LF_OK;
    for (size_t i = 1; st == LF_OK && i < n; i++)
        if (!(outs[i] = lf_alloc_array(c->N, c->C * sizeof(float))))
            st = lf_fail(e, LF_ERR_NOMEM, "out of memory for cross-validation");
    size_t ntr, nte;
    if (st == LF_OK) st = split(c, k, &ntr, &nte, e);
    for (size_t i = 0; st == LF_OK && i < n; i++) {
        st = lf_fusion_fit_rows(&fs[i], c->p, c->names, M, c->C, c->y, c->train, ntr, c->o, g->group[i], g->calibrate);
        if (st != LF_OK) lf_fail(e, st, "%s, fold %zu: %s", lf_method_name(g->group[i]), k + 1, fs[i].err.msg);
    }
    for (long drop = -1; st == LF_OK && drop < (long)(g->drop ? M : 0); drop++) {
        if ((size_t)(drop + 1) < from || (size_t)(drop + 1) >= to) continue;
        if (lf_cancelled(c->o->cancel)) { /* a pass searches every test row's neighbours: long on many rows */
            st = lf_cancel_fail(e);
            break;
        }
        for (size_t m = 0; m < M; m++) c->pdrop[m] = (long)m == drop ? NULL : c->p[m];
        const lf_fusion *fp[4] = {&fs[0], &fs[1], &fs[2], &fs[3]};
        lf_probs pr;
        size_t bad = 0;
        st = lf_probs_prepare(e, c->pdrop, M, c->C, c->o->logits, fs[0].temps, c->test, nte, &pr);
        if (st == LF_OK) st = lf_probs_features(e, &pr, &fs[0], c->o->features, c->o->n_features, c->test, nte);
        if (st == LF_OK && !lf_des_predict_shared(fp, n, &pr, outs, &st)) /* one by one */
            for (size_t i = 0; st == LF_OK && i < n; i++) {
                lf_probs_free(&pr);
                st = lf_probs_prepare(e, c->pdrop, M, c->C, c->o->logits, fs[i].temps, c->test, nte, &pr);
                if (st == LF_OK)
                    st = lf_probs_features(e, &pr, &fs[i], c->o->features, c->o->n_features, c->test, nte);
                if (st == LF_OK) st = lf_fusion_predict_core(&fs[i], &pr, outs[i]);
                bad = i;
            }
        lf_probs_free(&pr);
        if (st != LF_OK) {
            lf_fail(e, st, "%s, fold %zu: prediction failed (%s)", lf_method_name(g->group[bad]), k + 1,
                    lf_status_string(st));
            break;
        }
        for (size_t i = 0; st == LF_OK && i < n; i++) {
            lf_metrics mt;
            st = lf_metrics_compute(outs[i], c->ytest, nte, c->C, &mt, e);
            for (size_t j = lead; st == LF_OK && j < n_items; j++) {
                if (items[j].lead != lead || items[j].method != g->group[i]) continue;
                double *rec = recs + (j * c->K + k) * R;
                if (drop < 0) to_array(&mt, rec), keep_rows(c, j, outs[i], nte);
                else rec[LF_NUM_METRICS + (size_t)drop] = mt.accuracy;
            }
        }
    }
    for (size_t i = 0; i < 4; i++) lf_fusion_clear(&fs[i]);
    for (size_t i = 1; i < n; i++) LF_FREE(outs[i]);
    return st;
}

/* the oracle's accuracy on fold k */
static lf_status unit_oracle(lf_err *e, cv_ctx *c, size_t k, double *rec) {
    size_t ntr, nte;
    lf_status st = split(c, k, &ntr, &nte, e);
    if (st != LF_OK) return st;
    lf_probs pr;
    st = lf_probs_prepare(e, c->p, c->M, c->C, c->o->logits, NULL, c->test, nte, &pr);
    if (st == LF_OK) st = lf_oracle_accuracy((const float *const *)pr.p, c->M, nte, c->C, c->ytest, &rec[0], e);
    lf_probs_free(&pr);
    return st;
}

static void tell_progress(const lf_fusion_options *opt, size_t item, size_t items, const char *name, double t0);

/* The estimated cost of one fold of item i (its group's, for a DES
 * group's lead), for dealing the units to the ranks; only the ratios
 * between units matter, and a wrong estimate costs balance, never bits.
 * A scoring pass over the test rows (the fold's own, plus one per absent
 * model with `drop`) costs 2 per value (row x model x class); fitting
 * costs method_fit_cost per training value.  The weights are CPU times
 * measured on one core (10^6 rows x 3 models x 10 classes for the fixed
 * rules, acc-weighted, decision-template, ges and the learned methods but
 * mlp, gate and loglinear, 10^5 rows for the others; ges-log also at 5 x
 * 10^4 and 2 x 10^5).  The dynamic-selection group (des_cost): its fits,
 * each member's weights a neighbour search of 2048 rows, about 12 per
 * training value and member; each scoring pass, the exact (pruned)
 * search of every test row among the training rows plus each member's
 * selection, fitted at 2.5 x 10^4 to 2 x 10^5 rows.  A pure function of
 * the items and the sizes: every rank computes the same costs. */
static double method_fit_cost(lf_method m) {
    switch (m) {
    case LF_FUSE_PRODUCT: return 1.0;
    case LF_FUSE_MEDIAN: return 2.0;
    case LF_FUSE_DECISION_TEMPLATE: return 2.0;
    case LF_FUSE_BKS: return 3.0;
    case LF_FUSE_BORDA: return 4.0;
    case LF_FUSE_GES: return 4.0;
    case LF_FUSE_WAVG: return 7.0;
    case LF_FUSE_DEMPSTER_SHAFER: return 12.0;
    case LF_FUSE_WAVG_CLASS: return 12.0;
    case LF_FUSE_STACK_LR: return 16.0;
    case LF_FUSE_GATE: return 17.0;
    case LF_FUSE_LOGLINEAR: return 20.0;
    case LF_FUSE_MLP: return 80.0;
    case LF_FUSE_GES_LOG: return 320.0;
    default: return 0.0; /* mean, max, min, vote, acc-weighted: the scoring passes; the DES group apart */
    }
}

/* the scoring passes of item it on a fold: the fold's own, then one per absent model with `drop` */
static size_t item_passes(const cv_ctx *c, const cv_item *it) { return it->drop ? c->M + 1 : 1; }

/* a DES group's estimated fits on one fold (*fit) and one scoring pass (*pass) */
static void des_cost(const cv_ctx *c, const cv_item *g, double *fit, double *pass) {
    double K = (double)c->K, N = (double)c->N, MC = (double)(c->M * c->C), n = (double)g->group_n;
    double ntr = N * (K - 1) / K, nte = N / K;
    *fit = 12 * n * ntr * MC;
    *pass = 2.7e-3 * nte * ntr * (MC + (double)c->M) + 32 * n * nte * MC;
}

static double unit_cost(const cv_ctx *c, const cv_item *items, size_t i) {
    const cv_item *it = &items[i];
    double K = (double)c->K, N = (double)c->N, MC = (double)(c->M * c->C);
    double ntr = N * (K - 1) / K, nte = N / K, passes = (double)item_passes(c, it), fit, pass;
    if (it->kind == LF_ROW_ORACLE) return nte * MC;
    if (it->kind == LF_ROW_MODEL) return (it->calibrate ? 3 * ntr : 0) * (double)c->C + 2 * nte * (double)c->C;
    if (it->group_n) {
        des_cost(c, it, &fit, &pass);
        return fit + passes * pass;
    }
    return method_fit_cost(it->method) * ntr * MC + 2 * passes * nte * MC;
}

/* The first scoring pass of task j of a unit with `passes` passes cut
 * into `tasks` tasks (j = tasks: the end): contiguous, sizes within one. */
static size_t task_pass(size_t j, size_t tasks, size_t passes) { return j * passes / tasks; }

/* The tasks of unit u = item * K + fold: none for a unit whose records its
 * DES group's lead makes; for a DES group's lead with `drop` over P > 1
 * ranks or threads, `split` (1 .. M + 1) tasks, each a run of its scoring
 * passes (the fold's metrics, then each model absent) that fits the group
 * again, so that the group's work, the costliest by far at many rows, can
 * spread evenly; one for any other unit.  On one thread a group's fold
 * stays one task: its passes share one split and one set of fits. */
static size_t unit_tasks(const cv_ctx *c, const cv_item *items, size_t u, size_t P, size_t split) {
    const cv_item *it = &items[u / c->K];
    if (it->lead != u / c->K) return 0;
    return P > 1 && it->group_n && it->drop ? split : 1;
}

/* Deals the tasks (first[u] .. first[u + 1] - 1 are unit u's) to P
 * ranks, longest first (the estimated cost; equal costs in task order) to
 * the rank with the least cost so far (the lowest such rank): owner[t]
 * gets the rank, *most the largest estimated load of a rank.
 * Deterministic. */
static void order_tasks(const cv_ctx *c, const cv_item *items, size_t n, const size_t *first, double *cost,
                        size_t *order);

static lf_status assign_tasks(lf_err *e, const cv_ctx *c, const cv_item *items, size_t n, size_t P,
                              const size_t *first, int *owner, double *most) {
    size_t T = first[n * c->K];
    size_t *order = lf_alloc_array(T ? T : 1, sizeof *order);
    double *cost = lf_alloc_array(T ? T : 1, sizeof *cost), *load = lf_alloc_array(P, sizeof *load);
    if (!order || !cost || !load) {
        LF_FREE(order), LF_FREE(cost), LF_FREE(load);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory for cross-validation");
    }
    order_tasks(c, items, n, first, cost, order);
    for (size_t r = 0; r < P; r++) load[r] = 0;
    *most = 0;
    for (size_t j = 0; j < T; j++) {
        size_t best = 0;
        for (size_t r = 1; r < P; r++)
            if (load[r] < load[best]) best = r;
        owner[order[j]] = (int)best;
        load[best] += cost[order[j]];
    }
    for (size_t r = 0; r < P; r++)
        if (load[r] > *most) *most = load[r];
    LF_FREE(order), LF_FREE(cost), LF_FREE(load);
    return LF_OK;
}

/* The tasks' estimated costs (cost[t]) and their order, longest first,
 * equal costs in task order (order: T entries). */
static void order_tasks(const cv_ctx *c, const cv_item *items, size_t n, const size_t *first, double *cost,
                        size_t *order) {
    size_t U = n * c->K;
    for (size_t u = 0; u < U; u++) {
        const cv_item *it = &items[u / c->K];
        size_t nt = first[u + 1] - first[u], passes = item_passes(c, it);
        double fit = 0, pass = 0;
        if (nt > 1) des_cost(c, it, &fit, &pass);
        for (size_t t = first[u]; t < first[u + 1]; t++) {
            size_t j = t - first[u]; /* a DES pass task: the group's fits and its passes */
            cost[t] = nt == 1 ? unit_cost(c, items, u / c->K)
                              : fit + (double)(task_pass(j + 1, nt, passes) - task_pass(j, nt, passes)) * pass;
            size_t i = t; /* insertion: by cost, descending; stable */
            while (i > 0 && cost[order[i - 1]] < cost[t]) order[i] = order[i - 1], i--;
            order[i] = t;
        }
    }
}

/* Cuts the units into tasks (first, U + 1 entries) and deals them
 * (owner): a DES group's fold in `split` tasks, the split among 1 .. M + 1
 * whose dealing has the smallest estimated largest load (the fewest tasks
 * on a tie: each one more fits the group again).  *T: the tasks. */
static lf_status plan_tasks(lf_err *e, const cv_ctx *c, const cv_item *items, size_t n, size_t P, size_t *first,
                            int *owner, size_t *T) {
    size_t U = n * c->K, best = 1, tries = P > 1 ? c->M + 1 : 1;
    double best_most = 0;
    lf_status st = LF_OK;
    for (size_t split = 1; st == LF_OK && split <= tries + 1; split++) {
        size_t s = split <= tries ? split : best; /* the last round: the best split again, kept */
        first[0] = 0;
        for (size_t u = 0; u < U; u++) first[u + 1] = first[u] + unit_tasks(c, items, u, P, s);
        double most = 0;
        st = assign_tasks(e, c, items, n, P, first, owner, &most);
        if (split <= tries && (split == 1 || most < best_most)) best = split, best_most = most;
        if (split == tries && best == tries) break; /* the last one tried is the best: done */
    }
    *T = first[U];
    return st;
}

/* Task t (of unit u = item * K + fold) on c: a DES group's run of passes
 * (making its members' records of that fold), or one unit, its record at
 * rec + u * REC(M); fs: a scratch model. */
static lf_status run_task(lf_err *e, cv_ctx *c, lf_fusion *fs, const cv_item *items, size_t n, size_t u, size_t t,
                          const size_t *first, double *rec) {
    const cv_item *it = &items[u / c->K];
    size_t k = u % c->K, nt = first[u + 1] - first[u], j = t - first[u], passes = item_passes(c, it);
    double *r = rec + u * REC(c->M);
    if (lf_cancelled(c->o->cancel)) return lf_cancel_fail(e); /* fails as a failing task does */
    if (it->group_n)
        return unit_des(e, c, items, n, it->lead, k, task_pass(j, nt, passes), task_pass(j + 1, nt, passes), rec);
    if (it->kind == LF_ROW_METHOD) return unit_method(e, c, fs, it, u / c->K, k, r);
    if (it->kind == LF_ROW_MODEL) return unit_single(e, c, it->model, it->calibrate, k, r);
    return unit_oracle(e, c, k, r);
}

/* Threads of one process: the tasks (cut as for W ranks, plan_tasks) go
 * to W workers (lf_cv_threads), each with scratch of its own (a copy of
 * c's split and fused rows), each running one task at a time on one
 * thread, the task's own parallel loops then on that thread alone.  A task
 * depends on nothing but the inputs, and every kernel gives the same bits
 * on any number of threads, so the records are one thread's bits. */
static void worker_free(cv_ctx *w) {
    LF_FREE(w->train), LF_FREE(w->test), LF_FREE(w->ytest), LF_FREE(w->prob), LF_FREE(w->pdrop);
}

/* w: c with scratch of its own (the folds, inputs and kept outputs shared) */
static int worker_init(cv_ctx *w, const cv_ctx *c) {
    *w = *c;
    w->train = lf_alloc_array(c->N, sizeof *w->train);
    w->test = lf_alloc_array(c->N, sizeof *w->test);
    w->ytest = lf_alloc_array(c->N, sizeof *w->ytest);
    w->prob = lf_alloc_array(c->N, c->C * sizeof *w->prob);
    w->pdrop = lf_alloc_array(c->M, sizeof *w->pdrop);
    if (w->train && w->test && w->ytest && w->prob && w->pdrop) return 1;
    worker_free(w);
    return 0;
}

static void workers_free(cv_ctx *wc, size_t W) {
    for (size_t w = 0; wc && w < W; w++) worker_free(&wc[w]);
    LF_FREE(wc);
}

/* W copies of c, each with scratch of its own (worker_init); NULL when
 * out of memory */
static cv_ctx *workers_new(const cv_ctx *c, size_t W) {
    cv_ctx *wc = lf_alloc_array(W, sizeof *wc);
    size_t ready = 0;
    while (wc && ready < W && worker_init(&wc[ready], c)) ready++;
    if (ready == W) return wc;
    workers_free(wc, ready);
    return NULL;
}

/* Over threads, the first failure in task order: task t failed with st
 * and message te; kept when before the one kept so far (*stop) */
static void keep_first_failure(size_t t, lf_status st, const lf_err *te, size_t *stop, lf_status *stop_st,
                               lf_err *e) {
#pragma omp critical(lf_cv_stop)
    if (t < *stop) *stop = t, *stop_st = st, memcpy(e, te, sizeof *e);
}

/* the task index of the first failure so far (SIZE_MAX: none) */
static size_t first_failure(const size_t *stop) {
    size_t low;
#pragma omp critical(lf_cv_stop)
    low = *stop;
    return low;
}

/* Progress over threads: the method items' events, in order, up to item
 * `level` (1-based), from those already told (*told); the events one
 * thread gives, spread over the run. */
static void tell_upto(const lf_fusion_options *opt, const cv_item *items, size_t n, size_t level, size_t *told,
                      double t0) {
    for (size_t i = 0; i < n && *told < level; i++)
        if (items[i].kind == LF_ROW_METHOD && items[i].index == *told + 1) {
            tell_progress(opt, items[i].index, items[i].count, items[i].label, t0);
            ++*told, i = (size_t)-1; /* the next one from the start */
        }
}

/* This rank's tasks (owner[t] == rank; every task when owner is NULL) on
 * W worker threads, each taking the next task as it is free, longest
 * first (order_tasks), with one thread for the task's own loops.
 * Progress, when `tell`, from the caller's thread (its worker's) as its
 * tasks start: the method items told in order as the share of the tasks
 * done passes them, the rest at the end; none after a failure.  Once a
 * task has failed, the tasks after it in task order are skipped and those
 * before it still run, so the failure returned is the first failing
 * task's in task order (its index in *failed; SIZE_MAX for none, 0 when
 * no task could start), the one a single thread meets first. */
static lf_status cv_threads(lf_err *e, cv_ctx *c, const cv_item *items, size_t n, const lf_fusion_options *opt,
                            double t0, double *rec, const size_t *first, const int *owner, int rank, int tell,
                            size_t W, size_t *failed) {
    size_t U = n * c->K, T = first[U];
    *failed = 0;
    size_t *order = lf_alloc_array(T, sizeof *order), *unit = lf_alloc_array(T, sizeof *unit);
    double *cost = lf_alloc_array(T, sizeof *cost);
    cv_ctx *wc = order && unit && cost ? workers_new(c, W) : NULL;
    if (!wc) {
        LF_FREE(order), LF_FREE(unit), LF_FREE(cost);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory for cross-validation");
    }
    order_tasks(c, items, n, first, cost, order);
    size_t mine = 0; /* this rank's tasks, first in order */
    for (size_t j = 0; j < T; j++)
        if (!owner || owner[order[j]] == rank) order[mine++] = order[j];
    T = mine;
    for (size_t u = 0; u < U; u++)
        for (size_t t = first[u]; t < first[u + 1]; t++) unit[t] = u;
    /* next: the next task in order; done: tasks done; stop: the lowest failing task so far */
    size_t count = 0, next = 0, done = 0, told = 0, stop = SIZE_MAX;
    lf_status st = LF_OK;
    for (size_t i = 0; i < n; i++)
        if (items[i].kind == LF_ROW_METHOD) count = items[i].count;
#pragma omp parallel num_threads((int)W)
    {
        size_t w = 0;
#ifdef _OPENMP
        w = (size_t)omp_get_thread_num();
        omp_set_num_threads(1); /* the task's own loops on this thread, nested parallelism or not */
#endif
        lf_fusion fs;
        memset(&fs, 0, sizeof fs);
        for (;;) {
            size_t j;
#pragma omp atomic capture
            j = next++;
            if (j >= T) break;
            size_t t = order[j], low = first_failure(&stop);
            if (t > low) continue; /* after a failing task: cannot be the first */
            if (w == 0 && tell && low == SIZE_MAX) {
                size_t now;
#pragma omp atomic read
                now = done;
                tell_upto(opt, items, n, count ? 1 + now * count / T : 0, &told, t0);
            }
            lf_err te = {{0}};
            lf_status ts = run_task(&te, &wc[w], &fs, items, n, unit[t], t, first, rec);
            if (ts != LF_OK) keep_first_failure(t, ts, &te, &stop, &st, e);
#pragma omp atomic update
            done++;
        }
        lf_fusion_clear(&fs);
    }
    *failed = stop;
    if (st == LF_OK && tell) tell_upto(opt, items, n, count, &told, t0);
    workers_free(wc, W);
    LF_FREE(order), LF_FREE(unit), LF_FREE(cost);
    return st;
}

/* Runs the tasks of n items x K folds that fall to this rank (a DES
 * group's lead's tasks making its members' records of that fold too) and
 * gathers every record into rec (n * K * REC(M) doubles, unit u = item * K
 * + fold at rec + u * REC(M)) on every rank, each field from the rank
 * that made it.  One process runs the tasks on its threads (cv_threads),
 * or in order on one; over P ranks each runs its share (assign_tasks) so,
 * on its threads or in order.  Progress (rank 0): as each method item starts, or over P
 * ranks as rank 0's tasks start, its share of rank 0's tasks done
 * standing for the items done (over threads: cv_threads).  The failure of
 * the first failing task (in task order, as one process meets them) is
 * returned on every rank; a task that finds the caller's cancel flag set
 * (c->o->cancel) fails so, and this rank runs no more of its tasks. */
static lf_status cv_run(lf_err *e, cv_ctx *c, const cv_item *items, size_t n, const lf_fusion_options *opt,
                        double t0, double *rec) {
    lf_dist d;
    lf_status st = lf_dist_open(e, c->o->mpi_comm, &d);
    if (st != LF_OK) return st;
    size_t R = REC(c->M), U = n * c->K, failed = SIZE_MAX, P = (size_t)d.size, T = 0;
    size_t W = lf_cv_threads(c->N, c->M, c->C, U); /* over ranks: of this rank's tasks, below */
    double *mine = P > 1 ? lf_alloc_array(U * R, sizeof *mine) : rec;
    double *all = P > 1 ? lf_alloc_array(U * R, P * sizeof *all) : NULL;
    size_t *first = lf_alloc_array(U + 1, sizeof *first);
    int *owner = lf_alloc_array(U, (c->M + 1) * sizeof *owner); /* the most tasks: every unit split */
    if (!mine || (P > 1 && !all) || !first || !owner)
        st = lf_fail(e, LF_ERR_NOMEM, "out of memory for cross-validation");
    if (st == LF_OK) st = plan_tasks(e, c, items, n, P > 1 ? P : W, first, owner, &T);
    if (st != LF_OK) failed = 0; /* before any task: every rank stops */
    size_t my_tasks = 0, done = 0;
    for (size_t t = 0; st == LF_OK && t < T; t++) my_tasks += owner[t] == d.rank;
    if (P > 1) W = lf_cv_threads(c->N, c->M, c->C, my_tasks);
    if (st == LF_OK && W > 1) {
        st = cv_threads(e, c, items, n, opt, t0, mine, first, P > 1 ? owner : NULL, d.rank, d.rank == 0, W, &failed);
        if (P == 1) {
            LF_FREE(owner), LF_FREE(first);
            return st;
        }
    }
    lf_fusion fs;
    memset(&fs, 0, sizeof fs);
    for (size_t u = 0; st == LF_OK && W == 1 && u < U; u++) {
        const cv_item *it = &items[u / c->K];
        if (P == 1 && u % c->K == 0 && it->kind == LF_ROW_METHOD) /* an item starts */
            tell_progress(opt, it->index, it->count, it->label, t0);
        for (size_t t = first[u]; st == LF_OK && t < first[u + 1]; t++) {
            if (owner[t] != d.rank) continue; /* another rank's */
            if (P > 1 && d.rank == 0 && it->kind == LF_ROW_METHOD)
                tell_progress(opt, 1 + done * it->count / my_tasks, it->count, it->label, t0);
            done++;
            st = run_task(e, c, &fs, items, n, u, t, first, mine);
            if (st != LF_OK) failed = t;
        }
    }
    lf_fusion_clear(&fs);
    /* a rank done early waits without spinning a core the others need */
    lf_status wst = lf_dist_wait_all(&d, e);
    if (wst == LF_OK) st = lf_dist_first_failure(&d, failed, st, e, NULL, 0);
    else st = wst;
    if (st == LF_OK && P > 1) {
        st = lf_dist_allgather(&d, mine, U * R, all, e);
        for (size_t u = 0; st == LF_OK && u < U; u++) { /* each field from the rank that made it */
            size_t lu = items[u / c->K].lead * c->K + u % c->K, t0u = first[lu], nt = first[lu + 1] - t0u;
            size_t passes = item_passes(c, &items[lu / c->K]);
            for (size_t j = 0; j < R; j++) {
                /* one task: the whole record; else the task of the field's pass (the fold's
                 * metrics: pass 0; the accuracy without model m: pass 1 + m) */
                size_t pass = j < LF_NUM_METRICS ? 0 : 1 + (j - LF_NUM_METRICS), t = t0u;
                while (nt > 1 && t + 1 < t0u + nt && task_pass(t + 1 - t0u, nt, passes) <= pass) t++;
                rec[u * R + j] = all[((size_t)owner[t] * U + u) * R + j];
            }
        }
    }
    if (mine != rec) LF_FREE(mine);
    LF_FREE(all);
    LF_FREE(owner);
    LF_FREE(first);
    return st;
}

/* An item's mean and standard deviation over the folds (its K records). */
static void item_scores(const cv_ctx *c, const double *rec, lf_metrics *per, lf_score_row *row) {
    for (size_t k = 0; k < c->K; k++) from_array(rec + k * REC(c->M), &per[k]);
    mean_std(per, c->K, row);
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

/* The options the candidates are fitted with: ges optimises the log-loss
 * or the accuracy, so a choice by macro-F1 (auto's alone) has ges optimise
 * the log-loss. */
static void ges_metric(lf_fusion_options *o) {
    if (o->metric == LF_METRIC_MACRO_F1) o->metric = LF_METRIC_LOG_LOSS;
}

static lf_status fusion_compare(lf_fusion *f, const float *const *p, const char *const *names, size_t M,
                                size_t N, size_t C, const int *y, const lf_method *methods, size_t n_methods,
                                const lf_fusion_options *opt, lf_compare_table **table) {
    if (!f) return LF_ERR_ARG;
    if (table) *table = NULL;
    lf_fusion_options o = opt ? *opt : lf_fusion_defaults();
    for (size_t i = 0; methods && i < n_methods; i++)
        if (!lf_method_def_of(methods[i]))
            return lf_fail(&f->err, LF_ERR_ARG, "compare: method %d is not a fusion method", (int)methods[i]);
    if (!methods) n_methods = lf_method_count();
    o.method = LF_FUSE_AUTO; /* the methods are given apart (features go to those that take them) */
    lf_status st = lf_fusion_check(&f->err, p, names, M, N, C, y, &o);
    if (st != LF_OK) return st;
    ges_metric(&o); /* (the table is by log-loss; the metric is ges') */
    o.progress = NULL; /* the folds' fits stay quiet; compare reports its own progress */
    double t0 = seconds_now();
    cv_ctx c;
    if (!o.mpi_comm && lf_cancelled(o.cancel)) return lf_cancel_fail(&f->err); /* over ranks: in the units */
    if ((st = ctx_init(&f->err, &c, p, names, M, N, C, y, &o)) != LF_OK) return st;

    /* the items: the methods, the single models, the oracle */
    size_t n_items = n_methods + M + 1, R = REC(M);
    lf_compare_table *t = LF_CALLOC(1, sizeof *t);
    if (t) t->rows = lf_alloc_array(n_items, sizeof *t->rows);
    lf_metrics *per = lf_alloc_array(c.K, sizeof *per);
    cv_item *items = lf_alloc_array(n_items, sizeof *items);
    double *rec = lf_alloc_array(n_items * c.K, R * sizeof *rec);
    if (!t || !t->rows || !per || !items || !rec) {
        LF_FREE(per), LF_FREE(items), LF_FREE(rec);
        lf_compare_table_free(t);
        ctx_free(&c);
        return lf_fail(&f->err, LF_ERR_NOMEM, "out of memory for the comparison table");
    }
    t->n_models = M;
    for (size_t i = 0; i < n_items; i++) {
        cv_item *it = &items[i];
        it->calibrate = o.calibrate;
        if (i < n_methods) {
            it->kind = LF_ROW_METHOD, it->drop = 1, it->index = i + 1, it->count = n_methods;
            it->method = methods ? methods[i] : lf_method_at(i)->id;
            snprintf(it->label, sizeof it->label, "%s", lf_method_name(it->method));
        } else if (i < n_methods + M) {
            it->kind = LF_ROW_MODEL, it->model = i - n_methods;
        } else {
            it->kind = LF_ROW_ORACLE;
        }
    }
    des_groups(items, n_items);
    st = cv_run(&f->err, &c, items, n_items, opt, t0, rec);
    tell_progress(opt, n_methods, n_methods, NULL, t0);
    for (size_t i = 0; st == LF_OK && i < n_items; i++) {
        const cv_item *it = &items[i];
        const double *r = rec + i * c.K * R;
        lf_score_row *row = &t->rows[t->n_rows];
        if (it->kind == LF_ROW_METHOD && !(row->acc_without = lf_alloc_array(M, sizeof(double)))) {
            st = lf_fail(&f->err, LF_ERR_NOMEM, "out of memory");
            break;
        }
        t->n_rows++;
        row->kind = it->kind, row->calibrated = it->kind == LF_ROW_ORACLE ? 0 : o.calibrate;
        if (it->kind == LF_ROW_METHOD) {
            snprintf(row->name, sizeof row->name, "%s", lf_method_name(it->method));
            row->method = it->method;
            item_scores(&c, r, per, row);
            for (size_t k = 0; k < c.K; k++) /* in fold order, as one process sums */
                for (size_t m = 0; m < M; m++) row->acc_without[m] += r[k * R + LF_NUM_METRICS + m] / (double)c.K;
        } else if (it->kind == LF_ROW_MODEL) {
            snprintf(row->name, sizeof row->name, "model:%s", names[it->model]);
            item_scores(&c, r, per, row);
        } else {
            snprintf(row->name, sizeof row->name, "oracle");
            for (int j = 0; j < LF_NUM_METRICS; j++) row->mean[j] = row->std[j] = NAN;
            double s = 0, ss = 0, mean;
            for (size_t k = 0; k < c.K; k++) s += r[k * R];
            mean = s / (double)c.K;
            for (size_t k = 0; k < c.K; k++) ss += (r[k * R] - mean) * (r[k * R] - mean);
            row->mean[LF_METRIC_ACCURACY] = mean;
            row->std[LF_METRIC_ACCURACY] = c.K > 1 ? sqrt(ss / (double)(c.K - 1)) : 0;
        }
    }
    LF_FREE(per), LF_FREE(items), LF_FREE(rec);
    ctx_free(&c);
    if (st != LF_OK) {
        lf_compare_table_free(t);
        return st == LF_ERR_CANCELLED ? lf_cancel_fail(&f->err) : st; /* "cancelled", not "mlp, fold 2: ..." */
    }
    qsort(t->rows, t->n_rows, sizeof *t->rows, by_log_loss);
    if (table) *table = t;
    else lf_compare_table_free(t);
    return LF_OK;
}

lf_status lf_fusion_compare(lf_fusion *f, const float *const *p, const char *const *names, size_t M, size_t N,
                            size_t C, const int *y, const lf_method *methods, size_t n_methods,
                            const lf_fusion_options *opt, lf_compare_table **table) {
    int saved = lf_threads_push(opt ? opt->threads : 0);
    lf_status st = fusion_compare(f, p, names, M, N, C, y, methods, n_methods, opt, table);
    lf_threads_pop(saved);
    return st;
}

/* lf_cv_outputs on fold k alone: its rows of out (fs: a scratch model;
 * the inputs and options are c's) */
static lf_status cv_outputs_fold(lf_err *e, cv_ctx *c, lf_fusion *fs, lf_method method, long model, int calibrate,
                                 size_t k, float *out) {
    const lf_fusion_options *o = c->o;
    size_t ntr, nte, C = c->C;
    lf_status st = split(c, k, &ntr, &nte, e);
    if (st != LF_OK) return st;
    if (model >= 0) {
        st = single_fold(e, c, (size_t)model, calibrate, ntr, nte, 0);
    } else {
        st = lf_fusion_fit_rows(fs, c->p, c->names, c->M, C, c->y, c->train, ntr, o, method, calibrate);
        if (st != LF_OK) return lf_fail(e, st, "%s, fold %zu: %s", lf_method_name(method), k + 1, fs->err.msg);
        lf_probs pr;
        st = lf_probs_prepare(e, c->p, c->M, C, o->logits, fs->temps, c->test, nte, &pr);
        if (st == LF_OK) st = lf_probs_features(e, &pr, fs, o->features, o->n_features, c->test, nte);
        pr.err = e;
        if (st == LF_OK) st = lf_fusion_predict_core(fs, &pr, c->prob);
        lf_probs_free(&pr);
    }
    for (size_t i = 0; st == LF_OK && i < nte; i++) memcpy(out + c->test[i] * C, c->prob + i * C, C * sizeof *out);
    return st;
}

lf_status lf_cv_outputs(lf_err *e, const float *const *p, const char *const *names, size_t M, size_t N,
                        size_t C, const int *y, const lf_fusion_options *o, lf_method method, long model,
                        int calibrate, float *out) {
    cv_ctx c;
    lf_status st = ctx_init(e, &c, p, names, M, N, C, y, o);
    if (st != LF_OK) return st;
    lf_fusion fs;
    memset(&fs, 0, sizeof fs);
    /* each rank runs every fold: with ranks, the flag is left to the calls
     * after, where they agree on it (a rank that stopped here alone would
     * leave the others waiting in a data-parallel fit) */
    for (size_t k = 0; st == LF_OK && k < c.K; k++)
        st = !o->mpi_comm && lf_cancelled(o->cancel) ? lf_cancel_fail(e)
                                                     : cv_outputs_fold(e, &c, &fs, method, model, calibrate, k, out);
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
#define AUTO_KEEP_BYTES (512.0 * 1024 * 1024) /* the candidates' out-of-fold outputs kept up to this size */
#define AUTO_MAX_SHARE 0.01 /* the one-SE tolerance, at most this share of the best loss */

/* the score to minimise */
static double auto_loss(const lf_score_row *r, int metric) {
    return metric == LF_METRIC_LOG_LOSS ? r->mean[metric] : 1.0 - r->mean[metric];
}

static size_t auto_params(const lf_method_def *d, int calibrated, size_t M, size_t C, size_t N) {
    return (d->n_params ? d->n_params(M, C, N) : 0) + (calibrated ? M : 0);
}

/* best first by the metric; stable for equal scores (table order) */
static void sort_by_metric(lf_compare_table *t, int metric) {
    for (size_t a = 1; a < t->n_rows; a++) {
        lf_score_row x = t->rows[a];
        size_t b = a;
        while (b > 0 && auto_loss(&t->rows[b - 1], metric) > auto_loss(&x, metric)) t->rows[b] = t->rows[b - 1], b--;
        t->rows[b] = x;
    }
}

/* auto's ensemble step runs (auto_ensemble): not with auto_single, nor on
 * tiny data */
static int ensemble_step_runs(const lf_fusion_options *opt, size_t N, size_t C) {
    return !opt->auto_single && N >= AUTO_ROWS_PER_CLASS * C;
}

static lf_status select_method(lf_fusion *f, const float *const *p, const char *const *names, size_t M,
                               size_t N, size_t C, const int *y, const lf_fusion_options *opt,
                               lf_method *method, int *calibrate, lf_compare_table **table, char *note,
                               size_t note_len, float **oof) {
    int metric = opt->metric;
    *oof = NULL;
    if (metric != LF_METRIC_LOG_LOSS && metric != LF_METRIC_ACCURACY && metric != LF_METRIC_MACRO_F1)
        return lf_fail(&f->err, LF_ERR_ARG, "auto chooses by log-loss, accuracy or macro-F1, not metric %d", metric);
    lf_fusion_options quiet = *opt;
    const lf_fusion_options *o = &quiet;
    quiet.progress = NULL;
    ges_metric(&quiet);
    size_t n_cand = 2 * lf_method_count();
    double t0 = seconds_now();
    cv_ctx c;
    lf_status st = ctx_init(&f->err, &c, p, names, M, N, C, y, o);
    if (st != LF_OK) return st;
    lf_metrics *per = lf_alloc_array(c.K, sizeof *per);
    lf_compare_table *t = LF_CALLOC(1, sizeof *t);
    if (t) t->rows = lf_alloc_array(n_cand + 1, sizeof *t->rows); /* + auto's ensemble (auto_ensemble) */
    cv_item *items = lf_alloc_array(n_cand, sizeof *items);
    double *rec = lf_alloc_array(n_cand * c.K, REC(M) * sizeof *rec);
    if (!per || !t || !t->rows || !items || !rec) {
        LF_FREE(per), LF_FREE(items), LF_FREE(rec);
        lf_compare_table_free(t);
        ctx_free(&c);
        return lf_fail(&f->err, LF_ERR_NOMEM, "out of memory");
    }
    t->n_models = M;
    /* every candidate's out-of-fold outputs, for the ensemble step after
     * (which would otherwise fit its candidates on the same folds again):
     * when that step runs (auto_ensemble), on one process, within
     * AUTO_KEEP_BYTES; else NULL, and it refits */
    if (ensemble_step_runs(opt, N, C) && !opt->mpi_comm &&
        (double)n_cand * (double)N * (double)C * sizeof(float) <= AUTO_KEEP_BYTES)
        *oof = c.keep = lf_alloc_array(n_cand * N, C * sizeof(float));
    for (size_t i = 0; i < n_cand; i++) {
        const lf_method_def *d = lf_method_at(i / 2);
        cv_item *it = &items[i];
        it->kind = LF_ROW_METHOD, it->method = d->id, it->calibrate = (int)(i % 2);
        it->index = i + 1, it->count = n_cand;
        snprintf(it->label, sizeof it->label, "auto: %s%s", d->name, it->calibrate ? " +calibrate" : "");
    }
    des_groups(items, n_cand);
    st = cv_run(&f->err, &c, items, n_cand, opt, t0, rec);
    for (size_t i = 0; st == LF_OK && i < n_cand; i++) {
        lf_score_row *row = &t->rows[t->n_rows++];
        snprintf(row->name, sizeof row->name, "%s", lf_method_name(items[i].method));
        row->kind = 0, row->method = items[i].method, row->calibrated = items[i].calibrate;
        item_scores(&c, rec + i * c.K * REC(M), per, row);
    }
    tell_progress(opt, n_cand, n_cand, NULL, t0);
    LF_FREE(per), LF_FREE(items), LF_FREE(rec);
    ctx_free(&c);
    if (st != LF_OK) {
        lf_compare_table_free(t);
        LF_FREE(*oof), *oof = NULL;
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
        LF_FREE(*oof), *oof = NULL;
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
    sort_by_metric(t, metric);
    *table = t;
    return LF_OK;
}

/* ------------------------------------------------------ auto's ensemble
 *
 * Having scored the candidates, auto tries the ending of AutoGluon's
 * WeightedEnsemble_L2 and auto-sklearn: greedy ensemble selection
 * (ensemble.c over selection.c's ges and ges-log: log-loss, or accuracy
 * with --metric accuracy, opt's ensemble size and bags) over the
 * out-of-fold outputs of its AUTO_POOL best candidates (those the scoring
 * made, which select_method keeps on one process up to AUTO_KEEP_BYTES;
 * else each fitted on the same folds again, lf_cv_outputs: the same bits),
 * with weights the selection counts, over
 * the linear and over the log-linear pool.  The selection is fitted on the
 * very outputs it would be scored on, so its score comes from a nested
 * split instead: for each fold, the selection is fitted on the other
 * folds' out-of-fold outputs and scored on the fold's.  The pool is the
 * one of the two with the better such score (a choice between two, where
 * the best single candidate's score is the best of them all; the 12
 * themselves are ranked on every fold's scores, a mild optimism the nested
 * split leaves in).  The
 * ensemble is kept unless its score is worse than the best single
 * candidate's cross-validated score by one standard error of that score
 * or more: the two estimates lean opposite ways (the ensemble's selection
 * saw four fifths of the rows it will be fitted on; the best single is
 * the best of 48 on the very folds it is scored on), and the near-ties a
 * standard error hides are what averaging hedges — as AutoGluon and
 * auto-sklearn, which always end with their ensemble.  A kept ensemble is
 * selected on every out-of-fold row and its members fitted on every row.
 * Not on tiny data (auto prefers few
 * fitted numbers there), nor with opt->auto_single.  Its row, "ensemble",
 * joins auto's table, and the
 * rows of the candidates in a kept ensemble get their weights.  A failure
 * of this step or of the ensemble's fit (out of memory, say) leaves auto's
 * single choice, fitted, with the note saying why (lf_auto_final_fit).
 *
 * With an MPI communicator (opt->mpi_comm) the phase's work is shared out
 * like the cross-validation's: its units (a candidate's out-of-fold
 * outputs on one fold; a pool's nested selection on one fold; the final
 * selection) are dealt to the ranks in turn, unit u to rank u mod P, and
 * their results sent to every rank (a fold's rows of outputs, a fold's
 * metrics, the counts).  A unit depends on nothing but the inputs, so
 * the result is one process's bits on any number of ranks; the first
 * failing unit's message is every rank's (lf_dist_first_failure). */
#define AUTO_POOL LF_AUTO_POOL
typedef lf_auto_ens auto_ens;

/* every rank's failure agreed on, after waiting for all (a rank done
 * early sleeps) */
static lf_status ens_agree(const lf_dist *d, size_t failed, lf_status st, lf_err *e) {
    if (d->size == 1) return st;
    lf_status wst = lf_dist_wait_all(d, e);
    return wst == LF_OK ? lf_dist_first_failure(d, failed, st, e, NULL, 0) : wst;
}

/* The out-of-fold outputs of the L candidates of ae into block (L x N x
 * C): unit i K + k is candidate i on fold k (cv_outputs_fold), its rows
 * sent by its rank to the others. */
static lf_status ensemble_outputs(lf_err *e, const lf_dist *d, cv_ctx *c, const auto_ens *ae, size_t L,
                                  float *block) {
    size_t K = c->K, U = L * K, N = c->N, C = c->C, P = (size_t)d->size, failed = SIZE_MAX;
    float *rows = P > 1 ? lf_alloc_array(N, C * sizeof *rows) : NULL; /* a fold's rows, packed */
    lf_status st = P == 1 || rows ? LF_OK : lf_fail(e, LF_ERR_NOMEM, "out of memory for auto's ensemble");
    if (st != LF_OK) failed = 0;
    lf_fusion fs;
    memset(&fs, 0, sizeof fs);
    for (size_t u = (size_t)d->rank; st == LF_OK && u < U; u += P) {
        size_t i = u / K;
        st = lf_cancelled(c->o->cancel) ? lf_cancel_fail(e)
                                        : cv_outputs_fold(e, c, &fs, ae->methods[i], -1, ae->calibrate[i], u % K,
                                                          block + i * N * C);
        if (st != LF_OK) failed = u;
    }
    lf_fusion_clear(&fs);
    st = ens_agree(d, failed, st, e);
    for (size_t u = 0; P > 1 && st == LF_OK && u < U; u++) {
        size_t ntr, nte;
        int root = (int)(u % P);
        float *out = block + (u / K) * N * C;
        st = split(c, u % K, &ntr, &nte, e);
        for (size_t r = 0; st == LF_OK && root == d->rank && r < nte; r++)
            memcpy(rows + r * C, out + c->test[r] * C, C * sizeof *rows);
        if (st == LF_OK) st = lf_dist_bcast(d, rows, nte * C * sizeof *rows, root, e);
        for (size_t r = 0; st == LF_OK && root != d->rank && r < nte; r++)
            memcpy(out + c->test[r] * C, rows + r * C, C * sizeof *rows);
    }
    LF_FREE(rows);
    return st;
}

/* Unit u = g K + k of ensemble_nested on c (its scratch): pool g's
 * selection fitted on the other folds' rows of outs, its metrics on fold
 * k's rows into rec + u * LF_NUM_METRICS. */
static lf_status nested_unit(lf_err *e, cv_ctx *c, const float *const *outs, size_t L, const lf_fusion_options *o,
                             size_t u, double *rec) {
    int g = (int)(u / c->K);
    size_t ntr, nte;
    lf_metrics mt;
    float counts[AUTO_POOL];
    lf_status st = lf_cancelled(o->cancel) ? lf_cancel_fail(e) : split(c, u % c->K, &ntr, &nte, e);
    if (st == LF_OK) st = lf_ensemble_select(e, outs, L, c->C, c->y, c->train, ntr, o, g, counts);
    if (st == LF_OK) st = lf_ensemble_pool(e, outs, L, c->C, c->test, nte, counts, g, c->prob);
    if (st == LF_OK) st = lf_metrics_compute(c->prob, c->ytest, nte, c->C, &mt, e);
    if (st == LF_OK) to_array(&mt, rec + u * LF_NUM_METRICS);
    return st;
}

/* The units of ensemble_nested on W threads of one process (each with
 * scratch of its own, its own loops on one thread: one thread's bits);
 * the first failing unit's (in unit order) failure, its index in *failed.
 * 0 when the workers' scratch could not be had: the caller runs them on
 * one thread instead. */
static int nested_threads(lf_err *e, cv_ctx *c, const float *const *outs, size_t L, const lf_fusion_options *o,
                          size_t U, size_t W, double *rec, lf_status *st, size_t *failed) {
    cv_ctx *wc = workers_new(c, W);
    if (!wc) return 0;
    size_t stop = SIZE_MAX;
    *st = LF_OK;
    long long Ul = (long long)U;
#pragma omp parallel for num_threads((int)W) schedule(dynamic, 1)
    for (long long ul = 0; ul < Ul; ul++) {
        size_t w = 0;
#ifdef _OPENMP
        w = (size_t)omp_get_thread_num();
        omp_set_num_threads(1); /* the selection's own loops on this thread */
#endif
        lf_err ue = {{0}};
        lf_status us = nested_unit(&ue, &wc[w], outs, L, o, (size_t)ul, rec);
        if (us != LF_OK) keep_first_failure((size_t)ul, us, &ue, &stop, st, e);
    }
    if (*st != LF_OK) *failed = stop;
    workers_free(wc, W);
    return 1;
}

/* The nested scores of the ensemble over the linear (rows[0]) and the
 * log-linear pool (rows[1]) of outs (L x N x C): unit g K + k is pool g's
 * selection fitted on the other folds' rows, scored on fold k's; over
 * ranks dealt unit u to rank u mod P, on one process on its threads. */
static lf_status ensemble_nested(lf_err *e, const lf_dist *d, cv_ctx *c, const float *const *outs, size_t L,
                                 const lf_fusion_options *o, lf_score_row *rows) {
    enum { R = LF_NUM_METRICS };
    size_t K = c->K, U = 2 * K, P = (size_t)d->size, failed = SIZE_MAX;
    double *rec = lf_alloc_array(U, R * sizeof *rec);
    double *all = P > 1 ? lf_alloc_array(P * U, R * sizeof *all) : NULL;
    lf_metrics *per = lf_alloc_array(K, sizeof *per);
    lf_status st = rec && per && (P == 1 || all) ? LF_OK : lf_fail(e, LF_ERR_NOMEM, "out of memory for auto's ensemble");
    if (st != LF_OK) failed = 0;
    size_t W = P == 1 ? lf_cv_threads(c->N, L, c->C, U) : 1;
    int threaded = st == LF_OK && W > 1 && nested_threads(e, c, outs, L, o, U, W, rec, &st, &failed);
    for (size_t u = (size_t)d->rank; st == LF_OK && !threaded && u < U; u += P) {
        st = nested_unit(e, c, outs, L, o, u, rec);
        if (st != LF_OK) failed = u;
    }
    st = ens_agree(d, failed, st, e);
    if (st == LF_OK && P > 1) st = lf_dist_allgather(d, rec, U * R, all, e);
    for (size_t u = 0; st == LF_OK && P > 1 && u < U; u++) /* each unit's from its rank */
        memcpy(rec + u * R, all + ((u % P) * U + u) * R, R * sizeof *rec);
    for (size_t g = 0; st == LF_OK && g < 2; g++) {
        for (size_t k = 0; k < K; k++) from_array(rec + (g * K + k) * R, &per[k]);
        mean_std(per, K, &rows[g]);
    }
    LF_FREE(rec), LF_FREE(all), LF_FREE(per);
    return st;
}

static lf_status auto_ensemble(lf_fusion *f, const float *const *p, const char *const *names, size_t M, size_t N,
                               size_t C, const int *y, const lf_fusion_options *opt, lf_compare_table *t,
                               const float *oof, auto_ens *ae, char *note, size_t note_len) {
    int metric = opt->metric;
    memset(ae, 0, sizeof *ae);
    if (!ensemble_step_runs(opt, N, C)) return LF_OK;
    lf_fusion_options quiet = *opt;
    quiet.progress = NULL;
    ges_metric(&quiet);
    size_t L = 0, best = t->n_rows;
    for (size_t r = 0; r < t->n_rows; r++) {
        const lf_score_row *x = &t->rows[r];
        if (isnan(auto_loss(x, metric))) continue;
        if (best == t->n_rows || auto_loss(x, metric) < auto_loss(&t->rows[best], metric)) best = r;
        if (L < AUTO_POOL) ae->methods[L] = x->method, ae->calibrate[L++] = x->calibrated; /* best first */
    }
    if (L < 2) return LF_OK;
    double best_loss = auto_loss(&t->rows[best], metric);
    char best_name[100];
    snprintf(best_name, sizeof best_name, "%s%s", t->rows[best].name, t->rows[best].calibrated ? " +calibrate" : "");
    lf_dist d;
    lf_status st = lf_dist_open(&f->err, opt->mpi_comm, &d);
    if (st != LF_OK) return st;
    /* the candidates' out-of-fold outputs: select_method's when it kept
     * them (its candidate i: method i / 2, calibrated when i is odd), else
     * made again into block */
    const float *outs[AUTO_POOL];
    size_t n_cand = 2 * lf_method_count(), found = 0;
    for (size_t i = 0; oof && i < L; i++) {
        size_t j = 0;
        while (j < n_cand && !(lf_method_at(j / 2)->id == ae->methods[i] && (int)(j % 2) == ae->calibrate[i])) j++;
        if (j < n_cand) outs[i] = oof + j * N * C, found++;
    }
    /* a failure before the units is every rank's alike: the same inputs */
    float *block = found == L ? NULL : lf_alloc_array(L * N, C * sizeof *block);
    cv_ctx c;
    st = found == L || block ? ctx_init(&f->err, &c, p, names, M, N, C, y, &quiet)
                             : lf_fail(&f->err, LF_ERR_NOMEM, "out of memory for auto's ensemble");
    if (st != LF_OK) {
        LF_FREE(block);
        return st;
    }
    if (block) {
        for (size_t i = 0; i < L; i++) outs[i] = block + i * N * C;
        st = ensemble_outputs(&f->err, &d, &c, ae, L, block);
    }
    lf_score_row rows[2];
    memset(rows, 0, sizeof rows);
    if (st == LF_OK) st = ensemble_nested(&f->err, &d, &c, outs, L, &quiet, rows);
    int g = st == LF_OK && auto_loss(&rows[1], metric) < auto_loss(&rows[0], metric);
    double best_se = t->rows[best].std[metric] / sqrt((double)c.K);
    ae->keep = st == LF_OK && auto_loss(&rows[g], metric) < best_loss + best_se;
    ae->geometric = g, ae->L = L;
    if (ae->keep) { /* the last unit, 2 K: the selection on every row */
        int root = (int)((2 * c.K) % (size_t)d.size);
        if (d.rank == root)
            st = lf_cancelled(quiet.cancel) ? lf_cancel_fail(&f->err)
                                            : lf_ensemble_select(&f->err, outs, L, C, y, NULL, N, &quiet, g, ae->counts);
        st = ens_agree(&d, st == LF_OK ? SIZE_MAX : 0, st, &f->err);
        if (st == LF_OK && d.size > 1) st = lf_dist_bcast(&d, ae->counts, L * sizeof *ae->counts, root, &f->err);
    }
    LF_FREE(block);
    ctx_free(&c);
    if (st != LF_OK) {
        ae->keep = 0;
        return st;
    }
    lf_score_row *er = &t->rows[t->n_rows++]; /* select_method left room for it */
    *er = rows[g];
    snprintf(er->name, sizeof er->name, "%s", LF_ENSEMBLE_NAME);
    er->kind = LF_ROW_METHOD, er->method = LF_FUSE_ENSEMBLE, er->calibrated = 0;
    double total = 0;
    size_t used = 0;
    for (size_t i = 0; ae->keep && i < L; i++) total += ae->counts[i], used += ae->counts[i] > 0;
    for (size_t i = 0; ae->keep && i < L; i++)
        for (size_t r = 0; r + 1 < t->n_rows; r++)
            if (t->rows[r].method == ae->methods[i] && t->rows[r].calibrated == ae->calibrate[i])
                t->rows[r].ensemble_weight = ae->counts[i] / total;
    static const char *const mnames[LF_NUM_METRICS] = {"accuracy", "macro-F1", "log-loss", "Brier", "ECE"};
    const char *pool = g ? "log-linear" : "linear";
    if (ae->keep)
        snprintf(ae->note, sizeof ae->note,
                 "auto chose an ensemble of %zu of its %zu best candidates (greedy selection over their out-of-fold "
                 "outputs, %s pool; weights in the table) by cross-validated %s (%.4f +- %.4f over %zu folds, nested: "
                 "each fold's selection fitted on the other folds' outputs), within one standard error (%.4f) of the "
                 "best single candidate, %s (%.4f), or better",
                 used, L, pool, mnames[metric], rows[g].mean[metric], rows[g].std[metric], c.K, best_se, best_name,
                 t->rows[best].mean[metric]);
    else {
        size_t n = strlen(note);
        if (n < note_len)
            snprintf(note + n, note_len - n,
                     "; an ensemble of its %zu best candidates (%s pool) scores %.4f, not within one standard error "
                     "(%.4f) of the best single's %.4f",
                     L, pool, rows[g].mean[metric], best_se, t->rows[best].mean[metric]);
    }
    sort_by_metric(t, metric);
    return LF_OK;
}

/* appends "; auto's ensemble failed, ..." to note and drops the members'
 * weights from t */
static void ensemble_failed(lf_compare_table *t, const char *why, char *note, size_t note_len) {
    size_t n = strlen(note);
    if (n < note_len) snprintf(note + n, note_len - n, "; auto's ensemble failed, so its single choice was fitted: %s", why);
    for (size_t r = 0; t && r < t->n_rows; r++) t->rows[r].ensemble_weight = 0;
}

lf_status lf_auto_final_fit(lf_fusion *f, const float *const *p, const char *const *names, size_t M, size_t N,
                            size_t C, const int *y, const lf_fusion_options *o, lf_method method, int calibrate,
                            const lf_auto_ens *ae, const char *failed, lf_compare_table *t, char *note,
                            size_t note_len) {
    lf_fusion_options mo = *o; /* as the candidates were fitted */
    ges_metric(&mo);
    if (failed) {
        ensemble_failed(t, failed, note, note_len);
    } else if (ae->keep) {
        lf_status st = lf_ensemble_fit(f, p, names, M, N, C, y, &mo, ae->methods, ae->calibrate, ae->counts, ae->L,
                                       ae->geometric);
        if (st == LF_OK) {
            snprintf(note, note_len, "%s", ae->note);
            return LF_OK;
        }
        if (st == LF_ERR_CANCELLED) return st;
        ensemble_failed(t, f->err.msg, note, note_len);
    }
    return lf_fusion_fit_rows(f, p, names, M, C, y, NULL, N, &mo, method, calibrate);
}

static lf_status fusion_fit(lf_fusion *f, const float *const *p, const char *const *names, size_t M,
                            size_t N, size_t C, const int *y, const lf_fusion_options *opt) {
    if (!f) return LF_ERR_ARG;
    lf_fusion_options o = opt ? *opt : lf_fusion_defaults();
    lf_status st = lf_fusion_check(&f->err, p, names, M, N, C, y, &o);
    if (st != LF_OK) return st;
    lf_method method = o.method;
    int calibrate = o.calibrate;
    lf_compare_table *table = NULL;
    char note[sizeof f->auto_note];
    auto_ens ae = {.keep = 0};
    if (!o.mpi_comm && lf_cancelled(o.cancel)) { /* over ranks: where they agree on it, in the units and steps */
        st = lf_cancel_fail(&f->err);
    } else if (method == LF_FUSE_AUTO) {
        float *oof = NULL;
        st = select_method(f, p, names, M, N, C, y, &o, &method, &calibrate, &table, note, sizeof note, &oof);
        if (st != LF_OK && st != LF_ERR_CANCELLED) return st;
        /* a failed ensemble step (out of memory, say) leaves auto's single choice; a cancelled one stops */
        lf_status est =
            st == LF_OK ? auto_ensemble(f, p, names, M, N, C, y, &o, table, oof, &ae, note, sizeof note) : st;
        LF_FREE(oof);
        if (est == LF_ERR_CANCELLED) {
            st = est;
        } else {
            char why[sizeof f->err.msg];
            snprintf(why, sizeof why, "%s", f->err.msg);
            f->err.msg[0] = '\0';
            st = lf_auto_final_fit(f, p, names, M, N, C, y, &o, method, calibrate, &ae, est == LF_OK ? NULL : why,
                                   table, note, sizeof note);
        }
    } else { /* a learned method: data-parallel over the ranks of o.mpi_comm */
        st = lf_fusion_fit_rows_dist(f, p, names, M, C, y, N, &o, method, calibrate);
    }
    if (st == LF_OK && o.importance) st = lf_fusion_measure_importance(f, p, N, y, o.features, o.cancel);
    if (st == LF_ERR_CANCELLED) lf_cancel_fail(&f->err); /* not where the flag was seen: "fold 3: training ..." */
    if (st != LF_OK) lf_fusion_clear(f);
    if (st == LF_OK && table) {
        f->auto_table = table;
        memcpy(f->auto_note, note, sizeof note);
    } else {
        lf_compare_table_free(table);
    }
    return st;
}

lf_status lf_fusion_fit(lf_fusion *f, const float *const *p, const char *const *names, size_t M,
                        size_t N, size_t C, const int *y, const lf_fusion_options *opt) {
    int saved = lf_threads_push(opt ? opt->threads : 0);
    lf_status st = fusion_fit(f, p, names, M, N, C, y, opt);
    lf_threads_pop(saved);
    return st;
}

const lf_compare_table *lf_fusion_auto_table(const lf_fusion *f) { return f ? f->auto_table : NULL; }
const char *lf_fusion_auto_note(const lf_fusion *f) { return f && f->auto_table ? f->auto_note : NULL; }
