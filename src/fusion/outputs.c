/*
 * outputs.c — bringing a model's saved outputs to the probabilities the
 * fusion methods read (lf_outputs_prepare), and telling what rows look
 * like (lf_outputs_look_like_probabilities).
 *
 * Users have more than N x C probability rows: raw scores (logits) of one
 * model beside probabilities of another, probabilities rounded so that
 * rows sum to 0.998, and binary models that save one column, the
 * probability (or the logit) of the positive class.  These are handled
 * per file, before the one input check (check.c) runs on the result:
 *   - one column becomes two: (1 - p, p) for a probability, softmax of
 *     (0, z) for a logit, which is (1 - sigmoid(z), sigmoid(z));
 *   - LF_OUTPUTS_LOGITS: each row through the softmax (the same kernel as
 *     a fusion model fitted with `logits`), missing rows left NaN;
 *   - LF_OUTPUTS_RAW: logits kept as logits (a fusion model fitted with
 *     `logits` applies the softmax itself): only the one-column expansion;
 *   - LF_OUTPUTS_RENORMALIZE: a probability row whose sum is off by more
 *     than the check's tolerance (1e-3) is divided by its sum; rows within
 *     it keep their bits, and rows that cannot be probabilities (a negative
 *     value, a zero sum) are left for the check to report.
 */
#include "internal.h"
#include "kernels.h"

#include <math.h>
#include <string.h>

#define SUM_TOL 1e-3 /* the check's tolerance (check.c) */

static lf_status problem(lf_input_issue *issue, lf_input_problem kind, size_t row, size_t col, double v) {
    if (issue) issue->kind = kind, issue->row = row, issue->column = col, issue->value = v;
    return LF_ERR_FORMAT;
}

/* One column to two; see the top of the file. */
static lf_status expand_binary(lf_matrix *m, unsigned flags, lf_input_issue *issue) {
    size_t N = m->rows;
    float *two = lf_alloc_array(N ? N : 1, 2 * sizeof(float));
    if (!two) return LF_ERR_NOMEM;
    for (size_t i = 0; i < N; i++) {
        float v = m->data[i];
        float *r = two + 2 * i;
        if (isnan(v)) {
            r[0] = r[1] = NAN;
            continue;
        }
        if (isinf(v)) {
            LF_FREE(two);
            return problem(issue, LF_INPUT_INF, i, 0, v);
        }
        if (flags & LF_OUTPUTS_RAW) {
            r[0] = 0.0f, r[1] = v;
        } else if (flags & LF_OUTPUTS_LOGITS) {
            r[0] = 0.0f, r[1] = v;
            lf_softmax_rows(r, 1, 2);
        } else if (v < 0.0f || v > 1.0f) {
            LF_FREE(two);
            return problem(issue, LF_INPUT_NOT_PROBABILITY, i, 0, v);
        } else {
            r[0] = 1.0f - v, r[1] = v;
        }
    }
    LF_FREE(m->data);
    m->data = two;
    m->cols = 2;
    m->is_integer = 0;
    return LF_OK;
}

lf_status lf_outputs_prepare(lf_matrix *m, unsigned flags, lf_input_issue *issue) {
    if (issue) memset(issue, 0, sizeof *issue);
    if (!m || (!m->data && m->rows && m->cols)) return LF_ERR_ARG;
    if ((flags & ~(LF_OUTPUTS_LOGITS | LF_OUTPUTS_RAW | LF_OUTPUTS_RENORMALIZE)) ||
        ((flags & LF_OUTPUTS_LOGITS) && (flags & LF_OUTPUTS_RAW)) ||
        ((flags & LF_OUTPUTS_RENORMALIZE) && (flags & (LF_OUTPUTS_LOGITS | LF_OUTPUTS_RAW))))
        return LF_ERR_ARG;
    if (m->cols == 1) return expand_binary(m, flags, issue);
    size_t N = m->rows, C = m->cols;
    for (size_t i = 0; i < N; i++) {
        float *r = m->data + i * C;
        if (isnan(r[0])) continue; /* a missing row (a partial one is the check's to report) */
        if (flags & LF_OUTPUTS_LOGITS) {
            int finite = 1;
            for (size_t c = 0; c < C; c++) finite &= isfinite(r[c]) != 0;
            if (finite) lf_softmax_rows(r, 1, C);
        } else if (flags & LF_OUTPUTS_RENORMALIZE) {
            double s = 0;
            int ok = 1;
            for (size_t c = 0; c < C; c++) {
                ok &= isfinite(r[c]) && r[c] >= 0.0f;
                s += r[c];
            }
            if (ok && s > 0 && fabs(s - 1.0) > SUM_TOL)
                for (size_t c = 0; c < C; c++) r[c] = (float)(r[c] / s);
        }
    }
    return LF_OK;
}

int lf_outputs_look_like_probabilities(const float *p, size_t N, size_t C) {
    if (!p || C == 0) return 0;
    size_t seen = 0;
    for (size_t i = 0; i < N; i++) {
        const float *r = p + i * C;
        if (isnan(r[0])) continue;
        double s = 0;
        for (size_t c = 0; c < C; c++) {
            if (!(r[c] >= 0.0f && r[c] <= 1.0f)) return 0;
            s += r[c];
        }
        if (fabs(s - 1.0) > SUM_TOL) return 0;
        seen++;
    }
    return seen > 0;
}
