/*
 * metrics.h — the scores the fusion tool reports for a fused probability
 * matrix: accuracy, macro-F1, log-loss, Brier score and expected
 * calibration error, plus the oracle accuracy of a set of models and the
 * mean / standard deviation over cross-validation folds.
 *
 * Why here: one definition of every metric, matching scikit-learn's
 * conventions, shared by the CLI, cross-validation and the tests.  All
 * sums are accumulated in double.  Pure functions, no global state.
 */
#ifndef LF_FUSION_METRICS_H
#define LF_FUSION_METRICS_H

#include "internal.h"

typedef struct lf_metrics {
    double accuracy; /* fraction of rows whose argmax (ties: lowest index) is y */
    double macro_f1; /* mean over classes of 2TP/(2TP+FP+FN); classes neither in
                        y nor predicted are left out (scikit-learn's labels =
                        union of y_true and y_pred) */
    double log_loss; /* mean of -log(clip(p_y, 1e-15, 1)), rows not renormalised */
    double brier;    /* mean over rows of sum_c (p_c - [c == y])^2 (multi-class
                        Brier: 0..2) */
    double ece;      /* 15 equal-width bins over confidence = max prob; bin i
                        holds (i/15, (i+1)/15], confidence 0 goes to bin 0;
                        sum_b (n_b/N) |acc_b - conf_b| */
} lf_metrics;

#define LF_ECE_BINS 15

/*
 * Computes all metrics of prob (N x C, rows of probabilities) against y.
 * Errors: LF_ERR_ARG for NULL arrays, N == 0, C == 0 or a label outside
 * 0..C-1 (the message names the row and value); LF_ERR_NUMERIC for a
 * non-finite probability (names row and class); LF_ERR_SHAPE on overflow;
 * LF_ERR_NOMEM.
 */
lf_status lf_metrics_compute(const float *prob, const int *y, size_t N, size_t C,
                             lf_metrics *out, lf_err *e);

/*
 * Only the log-loss and the accuracy of lf_metrics_compute, the same bits
 * (the same sums in the same order) and the same errors, without the
 * other metrics' work.
 */
lf_status lf_metrics_log_loss_accuracy(const float *prob, const int *y, size_t N, size_t C, double *log_loss,
                                       double *accuracy, lf_err *e);

/*
 * Oracle accuracy: the fraction of the N rows where at least one model has
 * its argmax (ties: lowest index) equal to y, a model's missing row counting
 * as the uniform distribution (argmax class 0), as compare scores a single
 * model's missing rows: so the oracle bounds every single model's accuracy
 * from above.  p is the M x (N x C) layout of
 * rules.h.  Errors: LF_ERR_ARG for NULL arrays, M, N or C zero, or a bad
 * label; LF_ERR_SHAPE on overflow.
 */
lf_status lf_oracle_accuracy(const float *const *p, size_t M, size_t N, size_t C,
                             const int *y, double *acc, lf_err *e);

/*
 * Mean and sample standard deviation (ddof = 1) of every field over K
 * folds; std is 0 when K == 1; with K == 0 both are NaN.  Either output
 * may be NULL.
 */
void lf_metrics_mean_std(const lf_metrics *per_fold, size_t K, lf_metrics *mean,
                         lf_metrics *std);

#endif
