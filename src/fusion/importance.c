/*
 * importance.c — what each model is worth to a fitted fusion model, for
 * every method: on the fitting rows, the fused output's log-loss and
 * accuracy with every model, and with each model treated as missing in
 * every row (its outputs NULL, as a model left out of predict).  Measured
 * once, at the end of lf_fusion_fit, in blocks of rows (the memory stays
 * that of a block whatever N), and stored in the fusion file.  In-sample:
 * a learned method has seen these rows; compare's "accuracy without" is the
 * cross-validated counterpart.  A method that keeps the fitting rows
 * (dynamic selection) predicts each one left out of them
 * (lf_method_def.predict_fitting): else a row would be its own nearest
 * neighbour and its label would choose its models.
 *
 * Each block's M + 1 outputs come from the method's predict on the
 * prepared rows (fit has validated them; lf_fusion_predict would give the
 * same bits); an output with the same bits as the block's output with
 * every model (a model the method does not use) takes that output's
 * scores.  Blocks run on the threads (when there are at least two per
 * thread); a metric's total is its blocks' (mean x rows) added in block
 * order, so the numbers do not depend on the thread count.  The caller's
 * cancel flag is read before each of a block's predictions.
 */
#include "fusion/fusion_internal.h"
#include "fusion/method.h"
#include "fusion/metrics.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define IMPORTANCE_ROWS 16384

/* the fused output of rows [r0, r0 + n) with model drop - 1 left out (drop
 * = 0: none) */
static lf_status predict_block(const lf_fusion *f, const float *const *p, const float *features, size_t r0,
                               size_t n, size_t drop, const float **q, float *out, lf_err *e) {
    size_t M = f->M, C = f->C;
    for (size_t k = 0; k < M; k++) q[k] = (drop == k + 1 || !p[k]) ? NULL : p[k] + r0 * C;
    lf_probs pr;
    lf_status st = lf_probs_prepare(e, q, M, C, f->logits, f->temps, NULL, n, &pr);
    size_t F = f->n_features;
    if (st == LF_OK) st = lf_probs_features(e, &pr, f, features ? features + r0 * F : NULL, F, NULL, n);
    pr.err = e;
    if (st == LF_OK)
        st = f->def->predict_fitting ? f->def->predict_fitting(f, &pr, r0, out) : lf_fusion_predict_core(f, &pr, out);
    lf_probs_free(&pr);
    return st;
}

lf_status lf_fusion_measure_importance(lf_fusion *f, const float *const *p, size_t N, const int *y,
                                       const float *features, const volatile int *cancel) {
    size_t M = f->M, C = f->C, B = N < IMPORTANCE_ROWS ? N : IMPORTANCE_ROWS, nb = B ? (N + B - 1) / B : 0;
    double *imp = lf_alloc_array(2 * (M + 1), sizeof *imp);
    double *part = lf_alloc_array(nb ? nb : 1, 2 * (M + 1) * sizeof *part); /* per block: ll, right per drop */
    lf_status *bst = lf_alloc_array(nb ? nb : 1, sizeof *bst);
    size_t *bdrop = lf_alloc_array(nb ? nb : 1, sizeof *bdrop);
    lf_err *berr = lf_alloc_array(nb ? nb : 1, sizeof *berr);
    if (!imp || !part || !bst || !bdrop || !berr) {
        LF_FREE(imp), LF_FREE(part), LF_FREE(bst), LF_FREE(bdrop), LF_FREE(berr);
        return lf_fail(&f->err, LF_ERR_NOMEM, "out of memory measuring importance");
    }
    long long nbl = (long long)nb;
    /* blocks on the threads when there are enough to keep them all busy;
     * else one block at a time, each predict with the threads it uses */
    int par = 0;
#ifdef _OPENMP
    par = nb >= 2 * (size_t)omp_get_max_threads();
#endif
    (void)par; /* read by the pragma only */
#pragma omp parallel if (par)
    {
        float *full = lf_alloc_array(B ? B : 1, C * sizeof *full), *out = lf_alloc_array(B ? B : 1, C * sizeof *out);
        const float **q = lf_alloc_array(M, sizeof *q);
#pragma omp for schedule(dynamic, 1)
        for (long long b = 0; b < nbl; b++) {
            size_t r0 = (size_t)b * B, n = N - r0 < B ? N - r0 : B;
            double *pb = part + (size_t)b * 2 * (M + 1);
            lf_err *e = &berr[b];
            lf_status st = full && out && q ? LF_OK : lf_fail(e, LF_ERR_NOMEM, "out of memory measuring importance");
            size_t drop = 0;
            for (; st == LF_OK && drop <= M; drop++) { /* drop = 0: every model */
                float *o = drop ? out : full;
                if (lf_cancelled(cancel)) {
                    st = lf_cancel_fail(e);
                    break;
                }
                st = predict_block(f, p, features, r0, n, drop, q, o, e);
                if (st != LF_OK) {
                    lf_fail(e, st, "measuring importance: %s", lf_status_string(st));
                    break;
                }
                if (drop && memcmp(out, full, n * C * sizeof *out) == 0) {
                    pb[drop] = pb[0], pb[M + 1 + drop] = pb[M + 1];
                    continue;
                }
                double ll, acc;
                st = lf_metrics_log_loss_accuracy(o, y + r0, n, C, &ll, &acc, e);
                if (st != LF_OK) break;
                pb[drop] = ll * (double)n, pb[M + 1 + drop] = acc * (double)n;
            }
            bst[b] = st, bdrop[b] = drop;
        }
        LF_FREE(full), LF_FREE(out), LF_FREE(q);
    }
    /* the first failure in the order drop, then block; else the sums in
     * block order */
    size_t fail = nb;
    for (size_t b = 0; b < nb; b++)
        if (bst[b] != LF_OK && (fail == nb || bdrop[b] < bdrop[fail])) fail = b;
    lf_status st = LF_OK;
    if (fail < nb) {
        st = bst[fail];
        f->err = berr[fail];
    } else {
        for (size_t d = 0; d < 2 * (M + 1); d++) {
            double s = 0;
            for (size_t b = 0; b < nb; b++) s += part[b * 2 * (M + 1) + d];
            imp[d] = s / (double)N;
        }
    }
    LF_FREE(part), LF_FREE(bst), LF_FREE(bdrop), LF_FREE(berr);
    if (st != LF_OK) {
        LF_FREE(imp);
        return st;
    }
    LF_FREE(f->importance);
    f->importance = imp;
    return LF_OK;
}

size_t lf_fusion_importance(const lf_fusion *f, double *log_loss, double *accuracy, size_t cap) {
    if (!f || !f->fitted || !f->importance) return 0;
    size_t n = f->M + 1;
    if (cap >= n) {
        if (log_loss) memcpy(log_loss, f->importance, n * sizeof *log_loss);
        if (accuracy) memcpy(accuracy, f->importance + n, n * sizeof *accuracy);
    }
    return n;
}
