/*
 * check.c — the one check of fusion inputs (lf_check_outputs,
 * lf_check_labels, lf_labels_from_matrix).  It returns the first problem
 * as data; the library (fusion.c), the CLI and Python word it each in
 * their own terms.  The common case, valid inputs, takes the vectorised
 * fast check (rules.c) and never reaches the row-by-row scan.
 */
#include "fusion/rules.h"
#include "internal.h"

#include <math.h>
#include <string.h>

static lf_status found(lf_input_issue *issue, lf_input_problem kind, size_t row, size_t col, double v) {
    if (issue) issue->kind = kind, issue->row = row, issue->column = col, issue->value = v;
    return LF_ERR_FORMAT;
}

/* The first problem of one row (0 when none), in the order of the header. */
static lf_status check_row(const float *r, size_t C, int logits, size_t row, lf_input_issue *issue) {
    size_t nan = 0, first_nan = 0;
    for (size_t c = 0; c < C; c++)
        if (isnan(r[c]) && nan++ == 0) first_nan = c;
    if (nan == C) return LF_OK; /* a missing output */
    if (nan) return found(issue, LF_INPUT_PARTIAL_NAN, row, first_nan, NAN);
    double s = 0;
    for (size_t c = 0; c < C; c++) {
        if (isinf(r[c])) return found(issue, LF_INPUT_INF, row, c, r[c]);
        if (!logits && r[c] < 0) return found(issue, LF_INPUT_NEGATIVE, row, c, r[c]);
        s += r[c];
    }
    if (!logits && fabs(s - 1.0) > 1e-3) {
        if (issue) issue->sum = s;
        return found(issue, LF_INPUT_SUM, row, 0, s);
    }
    return LF_OK;
}

lf_status lf_check_outputs(const float *const *p, const char *const *names, size_t M, size_t N,
                           size_t C, int logits, size_t row0, lf_input_issue *issue) {
    if (issue) memset(issue, 0, sizeof *issue);
    if (!p) return LF_ERR_ARG;
    for (size_t k = 0; k < M; k++) {
        if (!p[k] || lf_probs_look_valid(p[k], N, C, logits)) continue;
        for (size_t i = 0; i < N; i++) {
            lf_status st = check_row(p[k] + i * C, C, logits, row0 + i, issue);
            if (st) {
                if (issue) issue->model = k, issue->name = names ? names[k] : NULL;
                return st;
            }
        }
    }
    return LF_OK;
}

lf_status lf_check_labels(const int *y, size_t N, size_t C, lf_input_issue *issue) {
    if (issue) memset(issue, 0, sizeof *issue);
    if (!y) return LF_ERR_ARG;
    for (size_t i = 0; i < N; i++)
        if (y[i] < 0 || (size_t)y[i] >= C) return found(issue, LF_INPUT_LABEL_RANGE, i, 0, y[i]);
    return LF_OK;
}

lf_status lf_labels_from_matrix(const float *v, size_t N, size_t cols, size_t C, int *y,
                                lf_input_issue *issue) {
    if (issue) memset(issue, 0, sizeof *issue);
    if (!v || !y) return LF_ERR_ARG;
    if (cols != 1 && cols != C) return LF_ERR_SHAPE;
    for (size_t i = 0; i < N; i++) {
        const float *r = v + i * cols;
        if (cols == 1 && C != 1) {
            float x = r[0];
            if (!isfinite(x) || x != floorf(x)) return found(issue, LF_INPUT_LABEL_NOT_INTEGER, i, 0, x);
            if (x < 0 || x >= (float)C) return found(issue, LF_INPUT_LABEL_RANGE, i, 0, x);
            y[i] = (int)x;
            continue;
        }
        size_t ones = 0, hot = 0;
        for (size_t c = 0; c < C; c++) {
            if (r[c] == 1.0f) {
                ones++;
                hot = c;
            } else if (r[c] != 0.0f) {
                ones = 2; /* not one-hot */
                break;
            }
        }
        if (ones != 1) return found(issue, LF_INPUT_LABEL_NOT_ONE_HOT, i, 0, NAN);
        y[i] = (int)hot;
    }
    return LF_OK;
}
