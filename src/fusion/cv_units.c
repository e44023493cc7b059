/*
 * cv_units.c — the cross-validation compare and auto share (cv_units.h):
 * each candidate on each fold a unit (unit_method, unit_single, unit_des
 * for a dynamic-selection group, unit_oracle), their estimated costs, the
 * units cut into tasks and dealt to MPI ranks (plan_tasks) or to a
 * process's threads (cv_threads), the records gathered (lf_cv_run); and
 * the out-of-fold outputs of one method or model (lf_cv_outputs, for the
 * report).
 */
#include "fusion/cv_units.h"

#include "dist.h"
#include "fusion/calibrate.h"
#include "fusion/method.h"
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void lf_cv_mean_std(const lf_metrics *per, size_t K, lf_score_row *row) {
    lf_metrics mean, sd;
    lf_metrics_mean_std(per, K, &mean, &sd);
    lf_cv_to_array(&mean, row->mean);
    lf_cv_to_array(&sd, row->std);
}

lf_status lf_cv_split(lf_cv_ctx *c, size_t k, size_t *n_train, size_t *n_test, lf_err *e) {
    lf_status st = lf_fold_split(c->fold, c->N, k, c->train, n_train, c->test, n_test, e);
    for (size_t i = 0; st == LF_OK && i < *n_test; i++) c->ytest[i] = c->y[c->test[i]];
    return st;
}

void lf_cv_to_array(const lf_metrics *mt, double *v) {
    v[LF_METRIC_ACCURACY] = mt->accuracy;
    v[LF_METRIC_MACRO_F1] = mt->macro_f1;
    v[LF_METRIC_LOG_LOSS] = mt->log_loss;
    v[LF_METRIC_BRIER] = mt->brier;
    v[LF_METRIC_ECE] = mt->ece;
}

void lf_cv_from_array(const double *v, lf_metrics *mt) {
    mt->accuracy = v[LF_METRIC_ACCURACY];
    mt->macro_f1 = v[LF_METRIC_MACRO_F1];
    mt->log_loss = v[LF_METRIC_LOG_LOSS];
    mt->brier = v[LF_METRIC_BRIER];
    mt->ece = v[LF_METRIC_ECE];
}

/* when c keeps the items' outputs: item's rows at the fold's test rows,
 * from the fold's fused rows (nte x C, in test order) */
static void keep_rows(const lf_cv_ctx *c, size_t item, const float *rows, size_t nte) {
    float *out = c->keep ? c->keep + item * c->N * c->C : NULL;
    for (size_t i = 0; out && i < nte; i++) memcpy(out + c->test[i] * c->C, rows + i * c->C, c->C * sizeof *out);
}

/* one method (items[item]) on fold k (fs: a scratch model) */
static lf_status unit_method(lf_err *e, lf_cv_ctx *c, lf_fusion *fs, const lf_cv_item *it, size_t item, size_t k,
                             double *rec) {
    size_t ntr, nte;
    lf_status st = lf_cv_split(c, k, &ntr, &nte, e);
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
        if (drop < 0) lf_cv_to_array(&mt, rec), keep_rows(c, item, c->prob, nte);
        else rec[LF_NUM_METRICS + (size_t)drop] = mt.accuracy;
    }
    return st;
}

static lf_status single_fold(lf_err *e, lf_cv_ctx *c, size_t m, int calibrate, size_t ntr, size_t nte, int uniform);

/* a single model's own outputs on fold k (temperature fitted on the
 * training folds; a missing output scored as the uniform distribution) */
static lf_status unit_single(lf_err *e, lf_cv_ctx *c, size_t m, int calibrate, size_t k, double *rec) {
    size_t ntr, nte;
    lf_status st = lf_cv_split(c, k, &ntr, &nte, e);
    if (st == LF_OK) st = single_fold(e, c, m, calibrate, ntr, nte, 1);
    lf_metrics mt;
    if (st == LF_OK) st = lf_metrics_compute(c->prob, c->ytest, nte, c->C, &mt, e);
    if (st == LF_OK) lf_cv_to_array(&mt, rec);
    return st;
}

/* dynamic selection's groups (cv_units.h, lf_cv_des_groups) */
static int is_des(lf_method m) {
    return m == LF_FUSE_KNORA_E || m == LF_FUSE_KNORA_U || m == LF_FUSE_OLA || m == LF_FUSE_LCA;
}

void lf_cv_des_groups(lf_cv_item *items, size_t n) {
    for (size_t i = 0; i < n; i++) {
        lf_cv_item *it = &items[i];
        it->lead = i, it->group_n = 0;
        if (it->kind != LF_ROW_METHOD || !is_des(it->method)) continue;
        size_t l = 0;
        while (l < i && !(items[l].lead == l && items[l].group_n && items[l].calibrate == it->calibrate)) l++;
        lf_cv_item *g = l < i ? &items[l] : it;
        size_t j = 0;
        while (j < g->group_n && g->group[j] != it->method) j++;
        if (j == g->group_n && g->group_n == 4) continue; /* cannot happen: four such methods */
        if (j == g->group_n) g->group[g->group_n++] = it->method;
        it->lead = l < i ? l : i;
    }
}

/* the DES group led by items[lead] on fold k: every member's record, at
 * recs + (item * K + k) * LF_CV_REC(M); only scoring passes from .. to - 1 (pass
 * 0: the fold's metrics, 1 + m: the accuracies without model m) */
static lf_status unit_des(lf_err *e, lf_cv_ctx *c, const lf_cv_item *items, size_t n_items, size_t lead, size_t k,
                          size_t from, size_t to, double *recs) {
    const lf_cv_item *g = &items[lead];
    size_t n = g->group_n, M = c->M, R = LF_CV_REC(M);
    lf_fusion fs[4];
    float *outs[4] = {c->prob, NULL, NULL, NULL};
    memset(fs, 0, sizeof fs);
    lf_status st = LF_OK;
    for (size_t i = 1; st == LF_OK && i < n; i++)
        if (!(outs[i] = lf_alloc_array(c->N, c->C * sizeof(float))))
            st = lf_fail(e, LF_ERR_NOMEM, "out of memory for cross-validation");
    size_t ntr, nte;
    if (st == LF_OK) st = lf_cv_split(c, k, &ntr, &nte, e);
    for (size_t i = 0; st == LF_OK && i < n; i++) {
        if (lf_cancelled(c->o->cancel)) { /* each fit searches the neighbours of its weights' rows */
            st = lf_cancel_fail(e);
            break;
        }
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
        pr.cancel = c->o->cancel; /* read within the search */
        if (st == LF_OK && !lf_des_predict_shared(fp, n, &pr, outs, &st)) /* one by one */
            for (size_t i = 0; st == LF_OK && i < n; i++) {
                lf_probs_free(&pr);
                st = lf_probs_prepare(e, c->pdrop, M, c->C, c->o->logits, fs[i].temps, c->test, nte, &pr);
                if (st == LF_OK)
                    st = lf_probs_features(e, &pr, &fs[i], c->o->features, c->o->n_features, c->test, nte);
                pr.cancel = c->o->cancel;
                if (st == LF_OK) st = lf_fusion_predict_core(&fs[i], &pr, outs[i]);
                bad = i;
            }
        lf_probs_free(&pr);
        if (st == LF_ERR_CANCELLED) { /* the flag, seen within the search */
            lf_cancel_fail(e);
            break;
        }
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
                if (drop < 0) lf_cv_to_array(&mt, rec), keep_rows(c, j, outs[i], nte);
                else rec[LF_NUM_METRICS + (size_t)drop] = mt.accuracy;
            }
        }
    }
    for (size_t i = 0; i < 4; i++) lf_fusion_clear(&fs[i]);
    for (size_t i = 1; i < n; i++) LF_FREE(outs[i]);
    return st;
}

/* the oracle's accuracy on fold k */
static lf_status unit_oracle(lf_err *e, lf_cv_ctx *c, size_t k, double *rec) {
    size_t ntr, nte;
    lf_status st = lf_cv_split(c, k, &ntr, &nte, e);
    if (st != LF_OK) return st;
    lf_probs pr;
    st = lf_probs_prepare(e, c->p, c->M, c->C, c->o->logits, NULL, c->test, nte, &pr);
    if (st == LF_OK) st = lf_oracle_accuracy((const float *const *)pr.p, c->M, nte, c->C, c->ytest, &rec[0], e);
    lf_probs_free(&pr);
    return st;
}

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
static size_t item_passes(const lf_cv_ctx *c, const lf_cv_item *it) { return it->drop ? c->M + 1 : 1; }

/* a DES group's estimated fits on one fold (*fit) and one scoring pass (*pass) */
static void des_cost(const lf_cv_ctx *c, const lf_cv_item *g, double *fit, double *pass) {
    double K = (double)c->K, N = (double)c->N, MC = (double)(c->M * c->C), n = (double)g->group_n;
    double ntr = N * (K - 1) / K, nte = N / K;
    *fit = 12 * n * ntr * MC;
    *pass = 2.7e-3 * nte * ntr * (MC + (double)c->M) + 32 * n * nte * MC;
}

static double unit_cost(const lf_cv_ctx *c, const lf_cv_item *items, size_t i) {
    const lf_cv_item *it = &items[i];
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
static size_t unit_tasks(const lf_cv_ctx *c, const lf_cv_item *items, size_t u, size_t P, size_t split) {
    const lf_cv_item *it = &items[u / c->K];
    if (it->lead != u / c->K) return 0;
    return P > 1 && it->group_n && it->drop ? split : 1;
}

/* Deals the tasks (first[u] .. first[u + 1] - 1 are unit u's) to P
 * ranks, longest first (the estimated cost; equal costs in task order) to
 * the rank with the least cost so far (the lowest such rank): owner[t]
 * gets the rank, *most the largest estimated load of a rank.
 * Deterministic. */
static void order_tasks(const lf_cv_ctx *c, const lf_cv_item *items, size_t n, const size_t *first, double *cost,
                        size_t *order);

static lf_status assign_tasks(lf_err *e, const lf_cv_ctx *c, const lf_cv_item *items, size_t n, size_t P,
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
static void order_tasks(const lf_cv_ctx *c, const lf_cv_item *items, size_t n, const size_t *first, double *cost,
                        size_t *order) {
    size_t U = n * c->K;
    for (size_t u = 0; u < U; u++) {
        const lf_cv_item *it = &items[u / c->K];
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
static lf_status plan_tasks(lf_err *e, const lf_cv_ctx *c, const lf_cv_item *items, size_t n, size_t P, size_t *first,
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
 * rec + u * LF_CV_REC(M); fs: a scratch model. */
static lf_status run_task(lf_err *e, lf_cv_ctx *c, lf_fusion *fs, const lf_cv_item *items, size_t n, size_t u, size_t t,
                          const size_t *first, double *rec) {
    const lf_cv_item *it = &items[u / c->K];
    size_t k = u % c->K, nt = first[u + 1] - first[u], j = t - first[u], passes = item_passes(c, it);
    double *r = rec + u * LF_CV_REC(c->M);
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
static void worker_free(lf_cv_ctx *w) {
    LF_FREE(w->train), LF_FREE(w->test), LF_FREE(w->ytest), LF_FREE(w->prob), LF_FREE(w->pdrop);
}

/* w: c with scratch of its own (the folds, inputs and kept outputs shared) */
static int worker_init(lf_cv_ctx *w, const lf_cv_ctx *c) {
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

void lf_cv_workers_free(lf_cv_ctx *wc, size_t W) {
    for (size_t w = 0; wc && w < W; w++) worker_free(&wc[w]);
    LF_FREE(wc);
}

/* W copies of c, each with scratch of its own (worker_init); NULL when
 * out of memory */
lf_cv_ctx *lf_cv_workers_new(const lf_cv_ctx *c, size_t W) {
    lf_cv_ctx *wc = lf_alloc_array(W, sizeof *wc);
    size_t ready = 0;
    while (wc && ready < W && worker_init(&wc[ready], c)) ready++;
    if (ready == W) return wc;
    lf_cv_workers_free(wc, ready);
    return NULL;
}

/* Over threads, the first failure in task order: task t failed with st
 * and message te; kept when before the one kept so far (*stop) */
void lf_cv_keep_first_failure(size_t t, lf_status st, const lf_err *te, size_t *stop, lf_status *stop_st,
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
static void tell_upto(const lf_fusion_options *opt, const lf_cv_item *items, size_t n, size_t level, size_t *told,
                      double t0) {
    for (size_t i = 0; i < n && *told < level; i++)
        if (items[i].kind == LF_ROW_METHOD && items[i].index == *told + 1) {
            lf_cv_tell_progress(opt, items[i].index, items[i].count, items[i].label, t0);
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
static lf_status cv_threads(lf_err *e, lf_cv_ctx *c, const lf_cv_item *items, size_t n, const lf_fusion_options *opt,
                            double t0, double *rec, const size_t *first, const int *owner, int rank, int tell,
                            size_t W, size_t *failed) {
    size_t U = n * c->K, T = first[U];
    *failed = 0;
    size_t *order = lf_alloc_array(T, sizeof *order), *unit = lf_alloc_array(T, sizeof *unit);
    double *cost = lf_alloc_array(T, sizeof *cost);
    lf_cv_ctx *wc = order && unit && cost ? lf_cv_workers_new(c, W) : NULL;
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
            if (ts != LF_OK) lf_cv_keep_first_failure(t, ts, &te, &stop, &st, e);
#pragma omp atomic update
            done++;
        }
        lf_fusion_clear(&fs);
    }
    *failed = stop;
    if (st == LF_OK && tell) tell_upto(opt, items, n, count, &told, t0);
    lf_cv_workers_free(wc, W);
    LF_FREE(order), LF_FREE(unit), LF_FREE(cost);
    return st;
}

lf_status lf_fusion_ranks_agree(lf_err *e, const void *mpi_comm, const float *const *p, size_t M, size_t N,
                                size_t C, const int *y, const lf_fusion_options *o, size_t folds, size_t methods) {
    lf_dist d;
    lf_err oe;
    if (!mpi_comm || lf_dist_open(&oe, mpi_comm, &d) != LF_OK || d.size == 1) return LF_OK;
    uint64_t labels = lf_dist_digest(0, y, N * sizeof *y), outputs = 0, feat = 0;
    for (size_t m = 0; m < M; m++)
        if (p[m]) outputs = lf_dist_digest(outputs, p[m], N * C * sizeof *p[m]);
    if (o->features) feat = lf_dist_digest(0, o->features, N * o->n_features * sizeof *o->features);
    /* the options that shape the work (not threads, progress or cancel: each rank's own) */
    uint64_t v[] = {(uint64_t)o->method, (uint64_t)o->calibrate, (uint64_t)o->logits, o->epochs,
                    (uint64_t)o->metric, o->ensemble_size, o->bags, (uint64_t)o->importance, o->k,
                    o->n_features, (uint64_t)o->auto_single};
    uint64_t opts = lf_dist_digest(lf_dist_digest(0, v, sizeof v), &o->modality_dropout, sizeof o->modality_dropout);
    lf_dist_arg a[] = {
        {"rows", N, 0},          {"models", M, 0},           {"classes", C, 0},
        {"folds", folds, 0},     {"methods", methods, 0},    {"seeds", o->seed, 0},
        {"labels", labels, 1},   {"model outputs", outputs, 1}, {"features", feat, 1},
        {"fusion options", opts, 1},
    };
    return lf_dist_same(&d, a, sizeof a / sizeof *a, e);
}

/* Runs the tasks of n items x K folds that fall to this rank (a DES
 * group's lead's tasks making its members' records of that fold too) and
 * gathers every record into rec (n * K * LF_CV_REC(M) doubles, unit u = item * K
 * + fold at rec + u * LF_CV_REC(M)) on every rank, each field from the rank
 * that made it.  One process runs the tasks on its threads (cv_threads),
 * or in order on one; over P ranks each runs its share (assign_tasks) so,
 * on its threads or in order.  Progress (rank 0): as each method item starts, or over P
 * ranks as rank 0's tasks start, its share of rank 0's tasks done
 * standing for the items done (over threads: cv_threads).  The failure of
 * the first failing task (in task order, as one process meets them) is
 * returned on every rank; a task that finds the caller's cancel flag set
 * (c->o->cancel) fails so, and this rank runs no more of its tasks. */
lf_status lf_cv_run(lf_err *e, lf_cv_ctx *c, const lf_cv_item *items, size_t n, const lf_fusion_options *opt,
                        double t0, double *rec) {
    lf_dist d;
    lf_status st = lf_dist_open(e, c->o->mpi_comm, &d);
    if (st != LF_OK) return st;
    size_t R = LF_CV_REC(c->M), U = n * c->K, failed = SIZE_MAX, P = (size_t)d.size, T = 0;
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
        const lf_cv_item *it = &items[u / c->K];
        if (P == 1 && u % c->K == 0 && it->kind == LF_ROW_METHOD) /* an item starts */
            lf_cv_tell_progress(opt, it->index, it->count, it->label, t0);
        for (size_t t = first[u]; st == LF_OK && t < first[u + 1]; t++) {
            if (owner[t] != d.rank) continue; /* another rank's */
            if (P > 1 && d.rank == 0 && it->kind == LF_ROW_METHOD)
                lf_cv_tell_progress(opt, 1 + done * it->count / my_tasks, it->count, it->label, t0);
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
    /* with other rows, folds or options a rank's records would be another
     * problem's, gathered into the others' table as if they were theirs */
    if (st == LF_OK) st = lf_fusion_ranks_agree(e, c->o->mpi_comm, c->p, c->M, c->N, c->C, c->y, c->o, c->K, n);
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

lf_status lf_cv_run_failed(lf_err *e, const lf_fusion_options *o, lf_status st) {
    lf_dist d;
    lf_err oe;
    if (!o->mpi_comm || lf_dist_open(&oe, o->mpi_comm, &d) != LF_OK || d.size == 1) return st;
    /* as lf_cv_run's: the wait, then the first failure (this one, at task 0) */
    lf_status wst = lf_dist_wait_all(&d, e);
    return wst == LF_OK ? lf_dist_first_failure(&d, 0, st, e, NULL, 0) : wst;
}

/* An item's mean and standard deviation over the folds (its K records). */
void lf_cv_item_scores(const lf_cv_ctx *c, const double *rec, lf_metrics *per, lf_score_row *row) {
    for (size_t k = 0; k < c->K; k++) lf_cv_from_array(rec + k * LF_CV_REC(c->M), &per[k]);
    lf_cv_mean_std(per, c->K, row);
}

/* a single model's own outputs on the test rows of fold k, already split
 * (temperature fitted on the training folds), into c->prob; a missing
 * output is the uniform distribution when `uniform`, else NaN */
static lf_status single_fold(lf_err *e, lf_cv_ctx *c, size_t m, int calibrate, size_t ntr, size_t nte, int uniform) {
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

void lf_cv_ctx_free(lf_cv_ctx *c) {
    LF_FREE(c->fold), LF_FREE(c->train), LF_FREE(c->test), LF_FREE(c->ytest);
    LF_FREE(c->prob), LF_FREE(c->pdrop);
}

lf_status lf_cv_ctx_init(lf_err *e, lf_cv_ctx *c, const float *const *p, const char *const *names,
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
        lf_cv_ctx_free(c);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory for cross-validation");
    }
    lf_status st = lf_stratified_kfold(y, N, C, c->K, o->seed, c->fold, e);
    if (st != LF_OK) lf_cv_ctx_free(c);
    return st;
}

/* ------------------------------------------------------------ progress
 *
 * compare and auto report one event per method (or candidate) as it
 * starts, with the seconds since the first, so that a display can draw one
 * bar over them all with the time left (lf_progress_format), and one at
 * the end. */

double lf_cv_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* item 1..items starting now (name NULL: all done) */
void lf_cv_tell_progress(const lf_fusion_options *opt, size_t item, size_t items, const char *name, double t0) {
    if (!opt || !opt->progress) return;
    lf_progress pr;
    memset(&pr, 0, sizeof pr);
    pr.event = name ? LF_PROGRESS_METHOD : LF_PROGRESS_METHODS_DONE;
    pr.item = item, pr.items = items, pr.method = name;
    pr.seconds = lf_cv_seconds() - t0;
    opt->progress(opt->progress_ctx, &pr);
}

/* lf_cv_outputs on fold k alone: its rows of out (fs: a scratch model;
 * the inputs and options are c's) */
lf_status lf_cv_outputs_fold(lf_err *e, lf_cv_ctx *c, lf_fusion *fs, lf_method method, long model, int calibrate,
                                 size_t k, float *out) {
    const lf_fusion_options *o = c->o;
    size_t ntr, nte, C = c->C;
    lf_status st = lf_cv_split(c, k, &ntr, &nte, e);
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
    lf_cv_ctx c;
    lf_status st = lf_cv_ctx_init(e, &c, p, names, M, N, C, y, o);
    if (st != LF_OK) return st;
    lf_fusion fs;
    memset(&fs, 0, sizeof fs);
    /* each rank runs every fold: with ranks, the flag is left to the calls
     * after, where they agree on it (a rank that stopped here alone would
     * leave the others waiting in a data-parallel fit) */
    for (size_t k = 0; st == LF_OK && k < c.K; k++)
        st = !o->mpi_comm && lf_cancelled(o->cancel) ? lf_cancel_fail(e)
                                                     : lf_cv_outputs_fold(e, &c, &fs, method, model, calibrate, k, out);
    lf_fusion_clear(&fs);
    lf_cv_ctx_free(&c);
    return st;
}
