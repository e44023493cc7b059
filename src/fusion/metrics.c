/*
 * metrics.c — accuracy, macro-F1, log-loss, Brier, ECE, oracle accuracy and
 * fold statistics (definitions in metrics.h).  One pass over the rows for
 * all five metrics; sums in double.
 */
#include "fusion/metrics.h"
#include "fusion/rules.h"

#include <math.h>
#include <string.h>

static lf_status check_labels(const char *fn, const int *y, size_t N, size_t C, lf_err *e) {
    for (size_t i = 0; i < N; i++)
        if (y[i] < 0 || (size_t)y[i] >= C)
            return lf_fail(e, LF_ERR_ARG, "%s: label of row %zu is %d, outside 0..%zu", fn, i,
                           y[i], C - 1);
    return LF_OK;
}

/* The bin of a confidence in [0, 1]: bin i holds (i/15, (i+1)/15]. */
static size_t ece_bin(double conf) {
    if (!(conf > 0.0)) return 0;
    double b = ceil(conf * LF_ECE_BINS) - 1.0;
    size_t i = b < 0.0 ? 0 : b > LF_ECE_BINS - 1 ? LF_ECE_BINS - 1 : (size_t)b;
    /* make the product's rounding agree with the exact boundaries i/15 */
    while (i > 0 && conf <= (double)i / LF_ECE_BINS) i--;
    while (i < LF_ECE_BINS - 1 && conf > (double)(i + 1) / LF_ECE_BINS) i++;
    return i;
}

/* The checks both metric calls make, with their messages: arrays given
 * (outputs_given: the outputs too), rows and classes, labels, finite
 * probabilities. */
static lf_status check_metric_inputs(const float *prob, const int *y, size_t N, size_t C, int outputs_given,
                                     lf_err *e) {
    size_t nc;
    if (!prob || !y || !outputs_given)
        return lf_fail(e, LF_ERR_ARG, "metrics: %s is NULL",
                       !prob ? "the probability array" : !y ? "the label array" : "the output");
    if (N == 0) return lf_fail(e, LF_ERR_ARG, "metrics: no rows to score (N = 0)");
    if (C == 0) return lf_fail(e, LF_ERR_ARG, "metrics: no classes given (C = 0)");
    if (!lf_mul_ok(N, C, &nc) || C > SIZE_MAX / (3 * sizeof(size_t)))
        return lf_fail(e, LF_ERR_SHAPE, "metrics: %zu rows x %zu classes is too large", N, C);
    lf_status st = check_labels("metrics", y, N, C, e);
    if (st != LF_OK) return st;
    for (size_t t = 0; t < nc; t++)
        if (!isfinite(prob[t]))
            return lf_fail(e, LF_ERR_NUMERIC, "metrics: probability of row %zu, class %zu is %g",
                           t / C, t % C, (double)prob[t]);
    return LF_OK;
}

lf_status lf_metrics_compute(const float *prob, const int *y, size_t N, size_t C,
                             lf_metrics *out, lf_err *e) {
    lf_status st = check_metric_inputs(prob, y, N, C, out != NULL, e);
    if (st != LF_OK) return st;

    size_t *tp = lf_alloc_array(3 * C, sizeof(size_t));
    if (!tp) return lf_fail(e, LF_ERR_NOMEM, "metrics: out of memory for %zu classes", C);
    size_t *fp = tp + C, *fn_ = tp + 2 * C;
    size_t bin_n[LF_ECE_BINS] = {0};
    double bin_right[LF_ECE_BINS] = {0}, bin_conf[LF_ECE_BINS] = {0};
    size_t right = 0;
    double ll = 0.0, brier = 0.0;

    for (size_t i = 0; i < N; i++) {
        const float *row = prob + i * C;
        size_t t = (size_t)y[i], a = lf_argmax_f(row, C);
        if (a == t) {
            right++;
            tp[t]++;
        } else {
            fp[a]++;
            fn_[t]++;
        }
        double pt = row[t];
        pt = pt < 1e-15 ? 1e-15 : pt > 1.0 ? 1.0 : pt;
        ll -= log(pt);
        double b = 0.0;
        for (size_t c = 0; c < C; c++) {
            double d = (double)row[c] - (c == t ? 1.0 : 0.0);
            b += d * d;
        }
        brier += b;
        double conf = row[a];
        size_t bi = ece_bin(conf);
        bin_n[bi]++;
        bin_conf[bi] += conf;
        bin_right[bi] += a == t ? 1.0 : 0.0;
    }

    double f1sum = 0.0;
    size_t nlab = 0;
    for (size_t c = 0; c < C; c++) {
        size_t den = 2 * tp[c] + fp[c] + fn_[c];
        if (den == 0) continue;
        f1sum += 2.0 * (double)tp[c] / (double)den;
        nlab++;
    }
    double ece = 0.0;
    for (size_t b = 0; b < LF_ECE_BINS; b++)
        if (bin_n[b]) ece += fabs(bin_right[b] - bin_conf[b]);

    out->accuracy = (double)right / (double)N;
    out->macro_f1 = nlab ? f1sum / (double)nlab : 0.0;
    out->log_loss = ll / (double)N;
    out->brier = brier / (double)N;
    out->ece = ece / (double)N;
    LF_FREE(tp);
    return LF_OK;
}

lf_status lf_metrics_log_loss_accuracy(const float *prob, const int *y, size_t N, size_t C, double *log_loss,
                                       double *accuracy, lf_err *e) {
    lf_status st = check_metric_inputs(prob, y, N, C, log_loss && accuracy, e);
    if (st != LF_OK) return st;
    size_t right = 0;
    double ll = 0.0;
    for (size_t i = 0; i < N; i++) { /* lf_metrics_compute's loop, less the other metrics */
        const float *row = prob + i * C;
        size_t t = (size_t)y[i];
        right += lf_argmax_f(row, C) == t;
        double pt = row[t];
        pt = pt < 1e-15 ? 1e-15 : pt > 1.0 ? 1.0 : pt;
        ll -= log(pt);
    }
    *accuracy = (double)right / (double)N;
    *log_loss = ll / (double)N;
    return LF_OK;
}

lf_status lf_oracle_accuracy(const float *const *p, size_t M, size_t N, size_t C,
                             const int *y, double *acc, lf_err *e) {
    size_t nc;
    if (!p || !y || !acc)
        return lf_fail(e, LF_ERR_ARG, "oracle accuracy: %s is NULL",
                       !p ? "the model probability list" : !y ? "the label array" : "the output");
    if (M == 0 || N == 0 || C == 0)
        return lf_fail(e, LF_ERR_ARG,
                       "oracle accuracy: empty input (%zu models, %zu rows, %zu classes)", M, N, C);
    if (!lf_mul_ok(N, C, &nc))
        return lf_fail(e, LF_ERR_SHAPE, "oracle accuracy: %zu rows x %zu classes is too large", N,
                       C);
    for (size_t k = 0; k < M; k++)
        if (!p[k])
            return lf_fail(e, LF_ERR_ARG, "oracle accuracy: probabilities of model %zu are NULL",
                           k);
    lf_status st = check_labels("oracle accuracy", y, N, C, e);
    if (st != LF_OK) return st;
    size_t right = 0;
    for (size_t i = 0; i < N; i++) {
        for (size_t k = 0; k < M; k++) {
            size_t pick = lf_row_missing(p[k], i, C) ? 0 : lf_argmax_f(p[k] + i * C, C); /* uniform: class 0 */
            if (pick == (size_t)y[i]) {
                right++;
                break;
            }
        }
    }
    *acc = (double)right / (double)N;
    return LF_OK;
}

/* Field access by index, so mean/std is one loop over the five metrics. */
static double get_field(const lf_metrics *m, int f) {
    switch (f) {
    case 0: return m->accuracy;
    case 1: return m->macro_f1;
    case 2: return m->log_loss;
    case 3: return m->brier;
    default: return m->ece;
    }
}

static double *field(lf_metrics *m, int f) {
    switch (f) {
    case 0: return &m->accuracy;
    case 1: return &m->macro_f1;
    case 2: return &m->log_loss;
    case 3: return &m->brier;
    default: return &m->ece;
    }
}

void lf_metrics_mean_std(const lf_metrics *per_fold, size_t K, lf_metrics *mean,
                         lf_metrics *std) {
    lf_metrics mu, sd;
    for (int f = 0; f < 5; f++) {
        double s = 0.0, ss = 0.0;
        for (size_t k = 0; k < K; k++) s += get_field(&per_fold[k], f);
        double m = K ? s / (double)K : NAN;
        for (size_t k = 0; k < K; k++) {
            double d = get_field(&per_fold[k], f) - m;
            ss += d * d;
        }
        *field(&mu, f) = m;
        *field(&sd, f) = K == 0 ? NAN : K == 1 ? 0.0 : sqrt(ss / (double)(K - 1));
    }
    if (mean) *mean = mu;
    if (std) *std = sd;
}

/* ------------------------------------------- per class and reliability */

_Static_assert(LF_ECE_BINS == LF_RELIABILITY_BINS, "the reliability bins are the ECE's");

/* The checks the public per-class calls share (status only: they take no
 * context, as lf_fusion_metrics). */
static lf_status check_scored(const float *prob, const int *y, size_t N, size_t C, const void *out) {
    size_t nc;
    if (!prob || !y || !out || N == 0 || C == 0) return LF_ERR_ARG;
    if (!lf_mul_ok(N, C, &nc)) return LF_ERR_SHAPE;
    for (size_t i = 0; i < N; i++)
        if (y[i] < 0 || (size_t)y[i] >= C) return LF_ERR_ARG;
    for (size_t t = 0; t < nc; t++)
        if (!isfinite(prob[t])) return LF_ERR_NUMERIC;
    return LF_OK;
}

lf_status lf_fusion_confusion(const float *prob, const int *y, size_t N, size_t C, size_t *counts) {
    size_t cc;
    lf_status st = check_scored(prob, y, N, C, counts);
    if (st != LF_OK) return st;
    if (!lf_mul_ok(C, C, &cc)) return LF_ERR_SHAPE;
    memset(counts, 0, cc * sizeof *counts);
    for (size_t i = 0; i < N; i++) counts[(size_t)y[i] * C + lf_argmax_f(prob + i * C, C)]++;
    return LF_OK;
}

lf_status lf_fusion_per_class(const float *prob, const int *y, size_t N, size_t C, lf_class_score *out) {
    lf_status st = check_scored(prob, y, N, C, out);
    if (st != LF_OK) return st;
    size_t *tp = lf_alloc_array(C, sizeof *tp);
    if (!tp) return LF_ERR_NOMEM;
    memset(out, 0, C * sizeof *out);
    for (size_t i = 0; i < N; i++) {
        size_t t = (size_t)y[i], a = lf_argmax_f(prob + i * C, C);
        out[t].support++;
        out[a].predicted++;
        tp[t] += a == t;
    }
    for (size_t c = 0; c < C; c++) {
        lf_class_score *s = &out[c];
        /* 2TP + FP + FN = predicted + support */
        size_t den = s->predicted + s->support;
        s->precision = s->predicted ? (double)tp[c] / (double)s->predicted : 0.0;
        s->recall = s->support ? (double)tp[c] / (double)s->support : 0.0;
        s->f1 = den ? 2.0 * (double)tp[c] / (double)den : 0.0;
    }
    LF_FREE(tp);
    return LF_OK;
}

lf_status lf_fusion_reliability(const float *prob, const int *y, size_t N, size_t C, lf_reliability *out) {
    lf_status st = check_scored(prob, y, N, C, out);
    if (st != LF_OK) return st;
    double right[LF_ECE_BINS] = {0}, conf[LF_ECE_BINS] = {0};
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < N; i++) {
        const float *row = prob + i * C;
        size_t a = lf_argmax_f(row, C), b = ece_bin(row[a]);
        out->count[b]++;
        conf[b] += row[a];
        right[b] += a == (size_t)y[i] ? 1.0 : 0.0;
    }
    double ece = 0.0; /* as lf_metrics_compute sums it */
    for (size_t b = 0; b < LF_ECE_BINS; b++) {
        if (out->count[b]) ece += fabs(right[b] - conf[b]);
        out->confidence[b] = out->count[b] ? conf[b] / (double)out->count[b] : NAN;
        out->accuracy[b] = out->count[b] ? right[b] / (double)out->count[b] : NAN;
    }
    out->ece = ece / (double)N;
    out->rows = N;
    return LF_OK;
}
