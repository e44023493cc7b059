/*
 * importance.c — what each model is worth to a fitted fusion model, for
 * every method: on the fitting rows, the fused output's log-loss and
 * accuracy with every model, and with each model treated as missing in
 * every row (its outputs NULL, as a model left out of predict).  Measured
 * once, at the end of lf_fusion_fit, in blocks of rows (the memory stays
 * that of a block whatever N), and stored in the fusion file.  In-sample:
 * a learned method has seen these rows; compare's "accuracy without" is the
 * cross-validated counterpart.
 */
#include "fusion/fusion_internal.h"
#include "fusion/metrics.h"

#include <string.h>

#define IMPORTANCE_ROWS 16384

lf_status lf_fusion_measure_importance(lf_fusion *f, const float *const *p, size_t N, const int *y) {
    size_t M = f->M, C = f->C, B = N < IMPORTANCE_ROWS ? N : IMPORTANCE_ROWS;
    double *imp = lf_alloc_array(2 * (M + 1), sizeof *imp);
    float *out = lf_alloc_array(B ? B : 1, C * sizeof *out);
    const float **q = lf_alloc_array(M, sizeof *q);
    lf_status st = imp && out && q ? LF_OK : lf_fail(&f->err, LF_ERR_NOMEM, "out of memory measuring importance");
    for (size_t drop = 0; st == LF_OK && drop <= M; drop++) { /* drop = 0: every model */
        double ll = 0, right = 0;
        for (size_t r0 = 0; st == LF_OK && r0 < N; r0 += B) {
            size_t n = N - r0 < B ? N - r0 : B;
            for (size_t k = 0; k < M; k++) q[k] = (drop == k + 1 || !p[k]) ? NULL : p[k] + r0 * C;
            lf_metrics mt;
            st = lf_fusion_predict(f, q, n, out);
            if (st == LF_OK) st = lf_metrics_compute(out, y + r0, n, C, &mt, &f->err);
            else lf_fail(&f->err, st, "measuring importance: %s", lf_status_string(st));
            ll += mt.log_loss * (double)n, right += mt.accuracy * (double)n;
        }
        if (st == LF_OK) imp[drop] = ll / (double)N, imp[M + 1 + drop] = right / (double)N;
    }
    LF_FREE(out), LF_FREE(q);
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
