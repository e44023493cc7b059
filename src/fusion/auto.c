/*
 * auto.c — lf_fusion_fit's method `auto` (auto.h): every method, with and
 * without calibration, scored by one stratified K-fold cross-validation
 * (cv_units.c); the choice by opt->metric with the capped one-standard-
 * error rule; then the ensemble of its best candidates (ensemble.c),
 * scored by a nested split and kept unless a standard error worse; the
 * final fit, and the table and note that say why.
 */
#include "fusion/auto.h"

#include "dist.h"
#include "fusion/cv_units.h"
#include "fusion/ensemble.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

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
    /* over ranks a failure before lf_cv_run meets the others' agreement in it */
    if (metric != LF_METRIC_LOG_LOSS && metric != LF_METRIC_ACCURACY && metric != LF_METRIC_MACRO_F1)
        return lf_cv_run_failed(&f->err, opt,
                                lf_fail(&f->err, LF_ERR_ARG, "auto chooses by log-loss, accuracy or macro-F1, not metric %d",
                                        metric));
    lf_fusion_options quiet = *opt;
    const lf_fusion_options *o = &quiet;
    quiet.progress = NULL;
    lf_cv_ges_metric(&quiet);
    size_t n_cand = 2 * lf_method_count();
    double t0 = lf_cv_seconds();
    lf_cv_ctx c;
    lf_status st = lf_cv_ctx_init(&f->err, &c, p, names, M, N, C, y, o);
    if (st != LF_OK) return lf_cv_run_failed(&f->err, opt, st);
    lf_metrics *per = lf_alloc_array(c.K, sizeof *per);
    lf_compare_table *t = LF_CALLOC(1, sizeof *t);
    if (t) t->rows = lf_alloc_array(n_cand + 1, sizeof *t->rows); /* + auto's ensemble (auto_ensemble) */
    lf_cv_item *items = lf_alloc_array(n_cand, sizeof *items);
    double *rec = lf_alloc_array(n_cand * c.K, LF_CV_REC(M) * sizeof *rec);
    if (!per || !t || !t->rows || !items || !rec) {
        LF_FREE(per), LF_FREE(items), LF_FREE(rec);
        lf_compare_table_free(t);
        lf_cv_ctx_free(&c);
        return lf_cv_run_failed(&f->err, opt, lf_fail(&f->err, LF_ERR_NOMEM, "out of memory"));
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
        lf_cv_item *it = &items[i];
        it->kind = LF_ROW_METHOD, it->method = d->id, it->calibrate = (int)(i % 2);
        it->index = i + 1, it->count = n_cand;
        snprintf(it->label, sizeof it->label, "auto: %s%s", d->name, it->calibrate ? " +calibrate" : "");
    }
    lf_cv_des_groups(items, n_cand);
    st = lf_cv_run(&f->err, &c, items, n_cand, opt, t0, rec);
    for (size_t i = 0; st == LF_OK && i < n_cand; i++) {
        lf_score_row *row = &t->rows[t->n_rows++];
        snprintf(row->name, sizeof row->name, "%s", lf_method_name(items[i].method));
        row->kind = 0, row->method = items[i].method, row->calibrated = items[i].calibrate;
        lf_cv_item_scores(&c, rec + i * c.K * LF_CV_REC(M), per, row);
    }
    lf_cv_tell_progress(opt, n_cand, n_cand, NULL, t0);
    LF_FREE(per), LF_FREE(items), LF_FREE(rec);
    lf_cv_ctx_free(&c);
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
 * the best of 46 on the very folds it is scored on), and the near-ties a
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
static lf_status ensemble_outputs(lf_err *e, const lf_dist *d, lf_cv_ctx *c, const lf_auto_ens *ae, size_t L,
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
                                        : lf_cv_outputs_fold(e, c, &fs, ae->methods[i], -1, ae->calibrate[i], u % K,
                                                          block + i * N * C);
        if (st != LF_OK) failed = u;
    }
    lf_fusion_clear(&fs);
    st = ens_agree(d, failed, st, e);
    for (size_t u = 0; P > 1 && st == LF_OK && u < U; u++) {
        size_t ntr, nte;
        int root = (int)(u % P);
        float *out = block + (u / K) * N * C;
        st = lf_cv_split(c, u % K, &ntr, &nte, e);
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
static lf_status nested_unit(lf_err *e, lf_cv_ctx *c, const float *const *outs, size_t L, const lf_fusion_options *o,
                             size_t u, double *rec) {
    int g = (int)(u / c->K);
    size_t ntr, nte;
    lf_metrics mt;
    float counts[AUTO_POOL];
    lf_status st = lf_cancelled(o->cancel) ? lf_cancel_fail(e) : lf_cv_split(c, u % c->K, &ntr, &nte, e);
    if (st == LF_OK) st = lf_ensemble_select(e, outs, L, c->C, c->y, c->train, ntr, o, g, counts);
    if (st == LF_OK) st = lf_ensemble_pool(e, outs, L, c->C, c->test, nte, counts, g, c->prob);
    if (st == LF_OK) st = lf_metrics_compute(c->prob, c->ytest, nte, c->C, &mt, e);
    if (st == LF_OK) lf_cv_to_array(&mt, rec + u * LF_NUM_METRICS);
    return st;
}

/* The units of ensemble_nested on W threads of one process (each with
 * scratch of its own, its own loops on one thread: one thread's bits);
 * the first failing unit's (in unit order) failure, its index in *failed.
 * 0 when the workers' scratch could not be had: the caller runs them on
 * one thread instead. */
static int nested_threads(lf_err *e, lf_cv_ctx *c, const float *const *outs, size_t L, const lf_fusion_options *o,
                          size_t U, size_t W, double *rec, lf_status *st, size_t *failed) {
    lf_cv_ctx *wc = lf_cv_workers_new(c, W);
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
        if (us != LF_OK) lf_cv_keep_first_failure((size_t)ul, us, &ue, &stop, st, e);
    }
    if (*st != LF_OK) *failed = stop;
    lf_cv_workers_free(wc, W);
    return 1;
}

/* The nested scores of the ensemble over the linear (rows[0]) and the
 * log-linear pool (rows[1]) of outs (L x N x C): unit g K + k is pool g's
 * selection fitted on the other folds' rows, scored on fold k's; over
 * ranks dealt unit u to rank u mod P, on one process on its threads. */
static lf_status ensemble_nested(lf_err *e, const lf_dist *d, lf_cv_ctx *c, const float *const *outs, size_t L,
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
        for (size_t k = 0; k < K; k++) lf_cv_from_array(rec + (g * K + k) * R, &per[k]);
        lf_cv_mean_std(per, K, &rows[g]);
    }
    LF_FREE(rec), LF_FREE(all), LF_FREE(per);
    return st;
}

static lf_status auto_ensemble(lf_fusion *f, const float *const *p, const char *const *names, size_t M, size_t N,
                               size_t C, const int *y, const lf_fusion_options *opt, lf_compare_table *t,
                               const float *oof, lf_auto_ens *ae, char *note, size_t note_len) {
    int metric = opt->metric;
    memset(ae, 0, sizeof *ae);
    if (!ensemble_step_runs(opt, N, C)) return LF_OK;
    lf_fusion_options quiet = *opt;
    quiet.progress = NULL;
    lf_cv_ges_metric(&quiet);
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
    /* a failure before the units (out of memory on this rank alone, say)
     * meets the others' first agreement, ensemble_outputs' (over ranks
     * the outputs are always made again: select_method keeps none) */
    float *block = found == L ? NULL : lf_alloc_array(L * N, C * sizeof *block);
    lf_cv_ctx c;
    st = found == L || block ? lf_cv_ctx_init(&f->err, &c, p, names, M, N, C, y, &quiet)
                             : lf_fail(&f->err, LF_ERR_NOMEM, "out of memory for auto's ensemble");
    if (st != LF_OK) {
        LF_FREE(block);
        return ens_agree(&d, 0, st, &f->err);
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
    lf_cv_ctx_free(&c);
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
    lf_cv_ges_metric(&mo);
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

lf_status lf_auto_fit(lf_fusion *f, const float *const *p, const char *const *names, size_t M, size_t N, size_t C,
                      const int *y, const lf_fusion_options *o, lf_compare_table **table, char *note,
                      size_t note_len) {
    lf_method method = o->method;
    int calibrate = o->calibrate;
    float *oof = NULL;
    lf_auto_ens ae = {.keep = 0};
    *table = NULL;
    lf_status st = select_method(f, p, names, M, N, C, y, o, &method, &calibrate, table, note, note_len, &oof);
    if (st != LF_OK) return st;
    /* a failed ensemble step (out of memory, say) leaves auto's single choice; a cancelled one stops */
    lf_status est = auto_ensemble(f, p, names, M, N, C, y, o, *table, oof, &ae, note, note_len);
    LF_FREE(oof);
    if (est == LF_ERR_CANCELLED) return est;
    char why[sizeof f->err.msg];
    snprintf(why, sizeof why, "%s", f->err.msg);
    f->err.msg[0] = '\0';
    return lf_auto_final_fit(f, p, names, M, N, C, y, o, method, calibrate, &ae, est == LF_OK ? NULL : why, *table,
                             note, note_len);
}

const lf_compare_table *lf_fusion_auto_table(const lf_fusion *f) { return f ? f->auto_table : NULL; }
const char *lf_fusion_auto_note(const lf_fusion *f) { return f && f->auto_table ? f->auto_note : NULL; }
