/*
 * cv_units.h — the cross-validation that compare and auto share: the work
 * cut into units (one candidate, a method, a single model or the oracle,
 * on one fold), dealt to threads and to MPI ranks, and gathered into one
 * process's bits on any number of either (cv_units.c); compare.c makes
 * its table of them, auto.c its choice.
 *
 * A unit's result is a record of LF_CV_REC(M) doubles: the fold's metrics
 * (LF_METRIC_* order), then for a method with `drop` its accuracy when
 * each model is absent (for the oracle: its accuracy first).  A unit
 * depends on nothing but the inputs, so with an MPI communicator
 * (opt->mpi_comm) the units are dealt to the ranks by a static,
 * deterministic longest-processing-time-first assignment over their
 * estimated costs, and the records are gathered: the same bits on any
 * number of ranks; a process's (or a rank's) units run on its threads,
 * the same bits on any number of threads.
 */
#ifndef LF_FUSION_CV_UNITS_H
#define LF_FUSION_CV_UNITS_H

#include "fusion/cv.h"
#include "fusion/fusion_internal.h"
#include "fusion/metrics.h"

#define LF_CV_REC(M) (LF_NUM_METRICS + (M))

/* everything the folds share (a worker's copy has scratch of its own) */
typedef struct lf_cv_ctx {
    const float *const *p;
    const char *const *names;
    size_t M, N, C, K;
    const int *y;
    const lf_fusion_options *o;
    size_t *fold, *train, *test;
    int *ytest;
    float *prob;   /* N x C scratch for fused test rows */
    const float **pdrop;
    float *keep;   /* NULL, or (items x N x C): each method item's out-of-fold outputs (auto's ensemble's) */
} lf_cv_ctx;

/* one candidate of the cross-validation (K units, one per fold) */
typedef struct lf_cv_item {
    lf_row_kind kind;
    lf_method method;     /* LF_ROW_METHOD */
    size_t model;         /* LF_ROW_MODEL */
    int calibrate, drop;  /* drop: accuracies without each model */
    char label[80];       /* what progress says as the item starts (methods) */
    size_t index, count;  /* progress: item index..count (methods) */
    size_t lead;          /* the item whose units make this one's records: itself, or its DES group's lead */
    lf_method group[4];   /* a DES group's lead: the group's methods (group_n of them) */
    size_t group_n;
} lf_cv_item;

/* The folds of o (o->folds in 2..64, at most N; o->seed) over the
 * labels, and the scratch of one process, into c (which keeps p, names,
 * y and o: they must outlive it); LF_ERR_ARG, LF_ERR_NOMEM.  Released by
 * lf_cv_ctx_free. */
/* Over the MPI ranks of mpi_comm (NULL or one rank: LF_OK): whether
 * every rank was given the same fusion problem — rows, models, classes,
 * folds and methods (0 where they do not apply), the seed, and digests of
 * the labels, the model outputs, the features and the options that shape
 * the work (lf_dist_same; not threads, progress or cancel, each rank's
 * own).  LF_ERR_ARG on every rank naming the first that differs.  A
 * collective call, made where every rank arrives with nothing failed:
 * after lf_cv_run's agreement on failure (before it gathers the records),
 * and at the end of a learned method's data-parallel fit. */
lf_status lf_fusion_ranks_agree(lf_err *e, const void *mpi_comm, const float *const *p, size_t M, size_t N,
                                size_t C, const int *y, const lf_fusion_options *o, size_t folds, size_t methods);

lf_status lf_cv_ctx_init(lf_err *e, lf_cv_ctx *c, const float *const *p, const char *const *names, size_t M,
                         size_t N, size_t C, const int *y, const lf_fusion_options *o);
void lf_cv_ctx_free(lf_cv_ctx *c);

/* Fold k's rows split into c->train and c->test (row order), their counts,
 * and the test rows' labels into c->ytest. */
lf_status lf_cv_split(lf_cv_ctx *c, size_t k, size_t *n_train, size_t *n_test, lf_err *e);

/* The dynamic-selection methods (knora-e, knora-u, ola, lca) hold the same
 * fitting rows when fitted on the same folds with the same calibration, so
 * they are cross-validated together: the items of such methods form a
 * group whose lead (the first of them) does the work, one unit per fold
 * making every member's record of that fold; per model left out, one
 * neighbour search serves them all (lf_des_predict_shared; each output the
 * bits of its own predict).  Sets each item's lead (itself outside a
 * group) and each lead's methods; call it before lf_cv_run. */
void lf_cv_des_groups(lf_cv_item *items, size_t n);

/* A rank's part in lf_cv_run when it failed before it (st, the message
 * in e: out of memory, inputs only it holds): the same collective calls,
 * failing before any task, so that the other ranks' lf_cv_run returns
 * this failure on every rank instead of waiting for this one.  st on one
 * process (o->mpi_comm NULL, or one rank). */
lf_status lf_cv_run_failed(lf_err *e, const lf_fusion_options *o, lf_status st);

/* Runs the units of the n items x K folds that fall to this rank and
 * gathers every record into rec (n K LF_CV_REC(M) doubles, unit u = item K
 * + fold at rec + u LF_CV_REC(M)) on every rank.  Progress (opt->progress,
 * rank 0) as each method item starts, with the seconds since t0
 * (lf_cv_seconds).  The failure of the first failing unit (in unit order,
 * as one process meets them) is returned on every rank; a unit that finds
 * the caller's cancel flag set (c->o->cancel) fails so. */
lf_status lf_cv_run(lf_err *e, lf_cv_ctx *c, const lf_cv_item *items, size_t n, const lf_fusion_options *opt,
                    double t0, double *rec);

/* An item's mean and standard deviation over the folds (its K records at
 * rec) into row; per: K scratch metrics. */
void lf_cv_item_scores(const lf_cv_ctx *c, const double *rec, lf_metrics *per, lf_score_row *row);

/* The mean and standard deviation of K folds' metrics into row. */
void lf_cv_mean_std(const lf_metrics *per, size_t K, lf_score_row *row);

/* metrics to and from a record's LF_NUM_METRICS doubles (LF_METRIC_* order) */
void lf_cv_to_array(const lf_metrics *mt, double *v);
void lf_cv_from_array(const double *v, lf_metrics *mt);

/* The out-of-fold outputs of fold k alone into its rows of out (N x C):
 * the method fitted on the other folds (fs: a scratch model), or with
 * model >= 0 that model's own outputs (its temperature fitted on the other
 * folds when calibrate; a missing row NaN). */
lf_status lf_cv_outputs_fold(lf_err *e, lf_cv_ctx *c, lf_fusion *fs, lf_method method, long model, int calibrate,
                             size_t k, float *out);

/* W copies of c, each with scratch of its own (the folds, inputs and kept
 * outputs shared), for W threads; NULL when out of memory.  Released by
 * lf_cv_workers_free. */
lf_cv_ctx *lf_cv_workers_new(const lf_cv_ctx *c, size_t W);
void lf_cv_workers_free(lf_cv_ctx *wc, size_t W);

/* Over threads, the first failure in unit order: unit t failed with st
 * and message te; kept in *stop, *stop_st and e when before the one kept
 * so far (*stop: SIZE_MAX for none). */
void lf_cv_keep_first_failure(size_t t, lf_status st, const lf_err *te, size_t *stop, lf_status *stop_st,
                              lf_err *e);

/* A monotonic clock in seconds, and the progress event of item 1..items
 * starting now (name NULL: all done), with the seconds since t0. */
double lf_cv_seconds(void);
void lf_cv_tell_progress(const lf_fusion_options *opt, size_t item, size_t items, const char *name, double t0);

/* The options the candidates are fitted with: ges optimises the log-loss
 * or the accuracy, so a choice by macro-F1 (auto's alone) has ges optimise
 * the log-loss. */
static inline void lf_cv_ges_metric(lf_fusion_options *o) {
    if (o->metric == LF_METRIC_MACRO_F1) o->metric = LF_METRIC_LOG_LOSS;
}

#endif
