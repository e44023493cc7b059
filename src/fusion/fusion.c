/*
 * fusion.c — the fusion model: input validation and preparation (logits,
 * calibration), fit and predict through the method's record (method.h), and
 * what a fitted model shows (temperatures, weights).  The methods live in
 * their families' files (fixed.c, classical.c, learned.c; the table in
 * methods.c), the cross-validation in cv_units.c (compare.c makes its
 * table, auto.c its choice: lf_fusion_fit calls it for method auto), the
 * file in fusion_io.c.
 */
#include "dist.h"
#include "fusion/auto.h"
#include "fusion/calibrate.h"
#include "fusion/cv_units.h"
#include "fusion/ensemble.h"
#include "fusion/method.h"
#include "fusion/metrics.h"
#include "fusion/rules.h"
#include "kernels.h"

#include <float.h>
#include <math.h>
#include <string.h>

lf_fusion_options lf_fusion_defaults(void) {
    lf_fusion_options o;
    memset(&o, 0, sizeof o);
    o.method = LF_FUSE_WAVG;
    o.folds = 5;
    o.modality_dropout = 0.5f;
    o.metric = LF_METRIC_LOG_LOSS;
    o.ensemble_size = 50;
    o.bags = 1;
    o.importance = 1;
    return o;
}

lf_status lf_fusion_create(lf_fusion **out) {
    if (!out) return LF_ERR_ARG;
    *out = LF_CALLOC(1, sizeof **out);
    return *out ? LF_OK : LF_ERR_NOMEM;
}

void lf_fusion_clear(lf_fusion *f) {
    LF_FREE(f->names), LF_FREE(f->temps);
    if (f->def && f->def->free_state && f->state) f->def->free_state(f->state);
    lf_compare_table_free(f->auto_table);
    LF_FREE(f->importance);
    lf_class_names_free(f);
    LF_FREE(f->history);
    f->history = NULL;
    memset(&f->history_view, 0, sizeof f->history_view);
    f->names = NULL, f->temps = NULL, f->state = NULL, f->def = NULL, f->auto_table = NULL;
    f->importance = NULL;
    f->fitted = 0, f->M = f->C = 0, f->calibrated = f->logits = 0, f->n_features = 0;
    f->penalty = 0, f->penalty_by = LF_PENALTY_NONE;
}

lf_status lf_fusion_fit_end(lf_fusion *f, lf_status st) {
    if (st != LF_OK) lf_fusion_clear(f); /* the error stays */
    else f->fitted = 1;
    return st;
}

void lf_fusion_free(lf_fusion *f) {
    if (!f) return;
    lf_fusion_clear(f);
    LF_FREE(f);
}

const char *lf_fusion_error(const lf_fusion *f) { return f ? f->err.msg : "no fusion model (NULL)"; }

/* ---------------------------------------------------------- inputs */

void lf_probs_free(lf_probs *pr) {
    LF_FREE(pr->p);
    LF_FREE(pr->block);
    LF_FREE(pr->feat_block);
    memset(pr, 0, sizeof *pr);
}

lf_status lf_inputs_validate(lf_err *e, const float *const *p, const char *const *names,
                             size_t M, size_t N, size_t C, int logits) {
    if (!p) return lf_fail(e, LF_ERR_ARG, "no model outputs given");
    lf_input_issue is;
    lf_status st = lf_check_outputs(p, names, M, N, C, logits, 0, &is);
    if (st == LF_OK) return LF_OK;
    char label[96];
    if (is.name) snprintf(label, sizeof label, "model '%.60s'", is.name);
    else snprintf(label, sizeof label, "model %zu", is.model);
    switch (is.kind) {
    case LF_INPUT_PARTIAL_NAN:
        return lf_fail(e, st, "%s: row %zu is partly NaN (a missing output must be NaN in every column)", label,
                       is.row);
    case LF_INPUT_INF:
        return lf_fail(e, st, "%s: row %zu, class %zu is %s", label, is.row, is.column,
                       is.value > 0 ? "+Inf" : "-Inf");
    case LF_INPUT_NEGATIVE:
        return lf_fail(e, st, "%s: row %zu, class %zu is a negative probability (%g)", label, is.row, is.column,
                       is.value);
    case LF_INPUT_SUM: /* raw scores are suggested only for a sum far from 1 */
        return lf_fail(e, st, "%s: row %zu sums to %.6g, not 1 (tolerance 1e-3%s)", label, is.row, is.sum,
                       fabs(is.sum - 1.0) > 0.1 ? "; raw scores need the logits option" : "");
    default: return lf_fail(e, st, "%s: row %zu is not valid", label, is.row);
    }
}

lf_status lf_probs_prepare(lf_err *e, const float *const *p, size_t M, size_t C, int logits,
                           const float *temps, const size_t *idx, size_t n, lf_probs *out) {
    memset(out, 0, sizeof *out);
    /* all rows, nothing to transform: read the caller's arrays in place
     * (only a model missing everywhere needs NaN rows of its own) */
    int borrow = !idx && !logits;
    for (size_t k = 0; borrow && temps && k < M; k++) borrow = temps[k] == 1.0f;
    size_t copies = 0;
    for (size_t k = 0; k < M; k++) copies += !borrow || !p[k];
    out->p = lf_alloc_array(M ? M : 1, sizeof *out->p);
    size_t rows_total = copies * n;
    out->block = lf_alloc_array(rows_total ? rows_total : 1, C * sizeof(float));
    if (!out->p || !out->block) {
        lf_probs_free(out);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory preparing %zu rows of %zu models", n, M);
    }
    out->M = M, out->N = n, out->C = C;
    float *dst = out->block;
    for (size_t k = 0; k < M; k++) {
        if (borrow && p[k]) {
            out->p[k] = (float *)p[k]; /* read only: nothing below writes it */
            continue;
        }
        out->p[k] = dst;
        if (!p[k]) {
            for (size_t i = 0; i < n * C; i++) dst[i] = (float)NAN;
            dst += n * C;
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            const float *src = p[k] + (idx ? idx[i] : i) * C;
            float *row = dst + i * C;
            memcpy(row, src, C * sizeof *row);
            if (logits && !isnan(row[0])) lf_softmax_rows(row, 1, C);
        }
        if (temps && temps[k] != 1.0f) lf_apply_temperature(dst, n, C, temps[k], dst);
        dst += n * C;
    }
    return LF_OK;
}

lf_status lf_probs_features(lf_err *e, lf_probs *pr, const lf_fusion *f, const float *features, size_t F,
                            const size_t *idx, size_t n) {
    int uses = f->n_features || (!f->fitted && f->def && f->def->takes_features);
    if (!uses || !features || !F) return LF_OK;
    pr->F = F;
    if (!idx) {
        pr->feat = features;
        return LF_OK;
    }
    float *dst = lf_alloc_array(n ? n : 1, F * sizeof *dst);
    if (!dst) return lf_fail(e, LF_ERR_NOMEM, "out of memory for the features of %zu rows", n);
    for (size_t i = 0; i < n; i++) memcpy(dst + i * F, features + idx[i] * F, F * sizeof *dst);
    pr->feat = pr->feat_block = dst;
    return LF_OK;
}

/* features: both or neither of the pointer and the width, finite values */
static lf_status check_features(lf_err *e, const float *x, size_t F, size_t N) {
    if (!x && !F) return LF_OK;
    if (!x || !F || F > 65536)
        return lf_fail(e, LF_ERR_ARG, "features need a pointer and a width of 1..65536 values, got %s and %zu",
                       x ? "a pointer" : "NULL", F);
    size_t tot;
    if (!lf_mul_ok(N, F, &tot) || tot > SIZE_MAX / sizeof(float))
        return lf_fail(e, LF_ERR_ARG, "%zu rows of %zu features are too many", N, F);
    for (size_t i = 0; i < tot; i++)
        if (!isfinite(x[i]))
            return lf_fail(e, LF_ERR_ARG, "feature row %zu holds a non-finite value (%g in column %zu)", i / F,
                           (double)x[i], i % F);
    return LF_OK;
}

static lf_status check_labels(lf_err *e, const int *y, size_t N, size_t C) {
    if (!y) return lf_fail(e, LF_ERR_ARG, "no labels given");
    lf_input_issue is;
    lf_status st = lf_check_labels(y, N, C, &is);
    if (st) return lf_fail(e, st, "label %d at row %zu is not a class in 0..%zu", (int)is.value, is.row, C - 1);
    return LF_OK;
}

static lf_status check_names(lf_err *e, const char *const *names, size_t M) {
    if (!names) return lf_fail(e, LF_ERR_ARG, "no model names given");
    for (size_t k = 0; k < M; k++) {
        /* the set the loader accepts: a saved model always loads */
        if (!names[k] || !lf_name_valid(names[k], strlen(names[k])))
            return lf_fail(e, LF_ERR_ARG, "model name %zu must have 1 to %d characters of A-Z a-z 0-9 _ . -", k,
                           LF_FUSION_NAME_MAX - 1);
        for (size_t j = 0; j < k; j++)
            if (strcmp(names[j], names[k]) == 0)
                return lf_fail(e, LF_ERR_ARG, "model name '%s' is given twice", names[k]);
    }
    return LF_OK;
}

lf_status lf_fusion_check(lf_err *e, const float *const *p, const char *const *names,
                               size_t M, size_t N, size_t C, const int *y,
                               const lf_fusion_options *o) {
    if (M == 0) return lf_fail(e, LF_ERR_ARG, "no models given");
    if (M > 1024) return lf_fail(e, LF_ERR_ARG, "at most 1024 models, got %zu", M);
    if (N == 0) return lf_fail(e, LF_ERR_ARG, "no samples given");
    if (C < 2) return lf_fail(e, LF_ERR_ARG, "fusion needs at least 2 classes, got %zu", C);
    size_t tot;
    if (!lf_mul_ok(N, C, &tot) || tot > SIZE_MAX / 64) return lf_fail(e, LF_ERR_ARG, "too many values");
    lf_status st = check_names(e, names, M);
    if (st == LF_OK) st = check_labels(e, y, N, C);
    if (st == LF_OK) st = lf_inputs_validate(e, p, names, M, N, C, o->logits);
    if (st == LF_OK && o->method == LF_FUSE_ENSEMBLE)
        st = lf_fail(e, LF_ERR_ARG, "an ensemble is made by method auto, not fitted as a method of its own");
    else if (st == LF_OK && o->method != LF_FUSE_AUTO && !lf_method_def_of(o->method))
        st = lf_fail(e, LF_ERR_ARG, "unknown fusion method %d", (int)o->method);
    size_t size = o->ensemble_size ? o->ensemble_size : 50, bags = o->bags ? o->bags : 1, sel;
    if (st == LF_OK && (!lf_mul_ok(size, bags, &sel) || sel > LF_ENSEMBLE_COUNT_MAX))
        st = lf_fail(e, LF_ERR_ARG, "ensemble size x bags must be at most %d selections, got %zu x %zu",
                     LF_ENSEMBLE_COUNT_MAX, size, bags);
    if (st == LF_OK) st = lf_threads_check(e, "", o->threads);
    if (st == LF_OK && !(o->modality_dropout >= 0 && o->modality_dropout <= 1))
        st = lf_fail(e, LF_ERR_ARG, "modality_dropout must be in [0, 1]");
    if (st == LF_OK) st = check_features(e, o->features, o->n_features, N);
    if (st == LF_OK && o->features && o->method != LF_FUSE_AUTO && !lf_method_def_of(o->method)->takes_features)
        st = lf_fail(e, LF_ERR_ARG,
                     "%s does not use features: only knora-e, knora-u, ola and lca search a feature space",
                     lf_method_def_of(o->method)->name);
    return st;
}

/* ------------------------------------------------------------- fit */

lf_status lf_fusion_fit_core(lf_fusion *f, const lf_probs *pr, const int *y,
                             const lf_fusion_options *opt) {
    return f->def->fit ? f->def->fit(f, pr, y, opt) : LF_OK; /* fixed rules learn nothing */
}

lf_status lf_fusion_predict_core(const lf_fusion *f, const lf_probs *pr, float *out) {
    return f->def->predict(f, pr, out);
}

/* fitted temperatures on prepared (uncalibrated) probabilities */
static lf_status fit_temperatures(lf_err *e, const lf_probs *pr, const int *y, float *temps) {
    for (size_t k = 0; k < pr->M; k++) {
        temps[k] = 1.0f;
        if (!pr->p[k]) continue;
        lf_status st = lf_fit_temperature(pr->p[k], y, pr->N, pr->C, &temps[k], e);
        if (st != LF_OK) return st;
    }
    return LF_OK;
}

/* A failure of this rank before a learned method's data-parallel fit
 * over the ranks of o->mpi_comm: agreed on with the other ranks' first
 * agreement in that fit (lf_dist_agree), which would wait for this rank
 * otherwise.  st for any other method, or on one process. */
static lf_status fail_before_fit(lf_fusion *f, const lf_fusion_options *o, lf_method method, lf_status st) {
    if (!o->mpi_comm || lf_method_family(method) != LF_FAMILY_LEARNED) return st;
    return lf_dist_agree(o->mpi_comm, st, &f->err);
}

static lf_status fit_rows(lf_fusion *f, const float *const *p, const char *const *names, size_t M, size_t C,
                          const int *y, const size_t *idx, size_t n, const lf_fusion_options *o, lf_method method,
                          int calibrate, int dist) {
    lf_fusion_options lo = *o;
    if (!dist) lo.mpi_comm = NULL; /* this rank alone */
    o = &lo;
    lf_fusion_clear(f);
    const lf_method_def *def = lf_method_def_of(method);
    if (!def) return lf_fail(&f->err, LF_ERR_ARG, "unknown fusion method %d", (int)method);
    f->names = lf_alloc_array(M, sizeof *f->names);
    f->temps = lf_alloc_array(M, sizeof *f->temps);
    int *yy = lf_alloc_array(n, sizeof *yy);
    if (!f->names || !f->temps || !yy) {
        LF_FREE(yy);
        lf_fusion_clear(f);
        return fail_before_fit(f, o, method, lf_fail(&f->err, LF_ERR_NOMEM, "out of memory"));
    }
    for (size_t k = 0; k < M; k++) {
        snprintf(f->names[k], LF_FUSION_NAME_MAX, "%s", names[k]);
        f->temps[k] = 1.0f;
    }
    for (size_t i = 0; i < n; i++) yy[i] = y[idx ? idx[i] : i];
    f->M = M, f->C = C, f->def = def, f->calibrated = calibrate, f->logits = o->logits;
    lf_probs pr;
    /* temperatures are applied in place below: always work on a copy */
    size_t *all = NULL;
    if (!idx && calibrate) {
        if (!(all = lf_alloc_array(n ? n : 1, sizeof *all))) {
            LF_FREE(yy);
            lf_fusion_clear(f);
            return fail_before_fit(f, o, method, lf_fail(&f->err, LF_ERR_NOMEM, "out of memory"));
        }
        for (size_t i = 0; i < n; i++) all[i] = i;
        idx = all;
    }
    lf_status st = lf_probs_prepare(&f->err, p, M, C, o->logits, NULL, idx, n, &pr);
    if (st == LF_OK) st = lf_probs_features(&f->err, &pr, f, o->features, o->n_features, idx, n);
    LF_FREE(all);
    if (st == LF_OK && calibrate) {
        st = fit_temperatures(&f->err, &pr, yy, f->temps);
        for (size_t k = 0; st == LF_OK && k < M; k++)
            if (pr.p[k] && f->temps[k] != 1.0f) lf_apply_temperature(pr.p[k], n, C, f->temps[k], pr.p[k]);
    }
    if (st == LF_OK) st = lf_fusion_fit_core(f, &pr, yy, o);
    else st = fail_before_fit(f, o, method, st);
    lf_probs_free(&pr);
    LF_FREE(yy);
    return lf_fusion_fit_end(f, st);
}

lf_status lf_fusion_fit_rows(lf_fusion *f, const float *const *p, const char *const *names,
                             size_t M, size_t C, const int *y, const size_t *idx, size_t n,
                             const lf_fusion_options *o, lf_method method, int calibrate) {
    return fit_rows(f, p, names, M, C, y, idx, n, o, method, calibrate, 0);
}

lf_status lf_fusion_fit_rows_dist(lf_fusion *f, const float *const *p, const char *const *names, size_t M,
                                  size_t C, const int *y, size_t n, const lf_fusion_options *o, lf_method method,
                                  int calibrate) {
    return fit_rows(f, p, names, M, C, y, NULL, n, o, method, calibrate, 1);
}

/* mean and product of probabilities, every model given, no calibration:
 * lf_rule_fused validates and fuses in one pass (the same bits as the
 * general path), unless something is off (a missing row, a bad value) */
static lf_status fusion_fit(lf_fusion *f, const float *const *p, const char *const *names, size_t M,
                            size_t N, size_t C, const int *y, const lf_fusion_options *opt) {
    if (!f) return LF_ERR_ARG;
    lf_fusion_options o = opt ? *opt : lf_fusion_defaults();
    lf_status st = lf_fusion_check(&f->err, p, names, M, N, C, y, &o);
    /* over ranks a learned method's fit ends on an agreement of every
     * rank's status (its failures, the importance's), after the one in
     * its data-parallel fit that a rank failing before it meets here */
    int agree = o.mpi_comm && o.method != LF_FUSE_AUTO && lf_method_family(o.method) == LF_FAMILY_LEARNED;
    if (st != LF_OK) { /* the checks of inputs only this rank holds, say: the others' collective calls met */
        if (agree) st = lf_dist_agree(o.mpi_comm, lf_dist_agree(o.mpi_comm, st, &f->err), &f->err);
        else if (o.mpi_comm && o.method == LF_FUSE_AUTO) st = lf_cv_run_failed(&f->err, &o, st);
        return st;
    }
    lf_compare_table *table = NULL;
    char note[sizeof f->auto_note];
    if (!o.mpi_comm && lf_cancelled(o.cancel)) { /* over ranks: where they agree on it, in the units and steps */
        st = lf_cancel_fail(&f->err);
    } else if (o.method == LF_FUSE_AUTO) {
        st = lf_auto_fit(f, p, names, M, N, C, y, &o, &table, note, sizeof note);
        if (st != LF_OK && st != LF_ERR_CANCELLED && !table) return st; /* the choice failed: f as it was */
    } else { /* a learned method: data-parallel over the ranks of o.mpi_comm */
        st = lf_fusion_fit_rows_dist(f, p, names, M, C, y, N, &o, o.method, o.calibrate);
    }
    if (st == LF_OK && o.importance) st = lf_fusion_measure_importance(f, p, N, y, o.features, o.cancel);
    if (agree) st = lf_dist_agree(o.mpi_comm, st, &f->err);
    /* every rank trained on its own rows with the sum of all ranks' gradients */
    if (agree && st == LF_OK) st = lf_fusion_ranks_agree(&f->err, o.mpi_comm, p, M, N, C, y, &o, 0, 1);
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

static int plain_rule(const lf_fusion *f, const float *const *p) {
    if (f->logits || (f->def->rule != LF_RULE_MEAN && f->def->rule != LF_RULE_PRODUCT)) return 0;
    for (size_t k = 0; k < f->M; k++)
        if (!p[k] || f->temps[k] != 1.0f) return 0;
    return 1;
}

/* predict on checked arguments (N > 0); the inputs validated here unless
 * checked says the caller did */
static lf_status predict_rows(const lf_fusion *f, const float *const *p, size_t N, const float *features,
                              float *out, int checked, const volatile int *cancel, lf_err *e) {
    if (plain_rule(f, p) && lf_rule_fused((lf_rule)f->def->rule, p, f->M, N, f->C, out)) return LF_OK;
    lf_status st = checked ? LF_OK : lf_inputs_validate(e, p, NULL, f->M, N, f->C, f->logits);
    if (st != LF_OK) return st;
    lf_probs pr;
    st = lf_probs_prepare(e, p, f->M, f->C, f->logits, f->temps, NULL, N, &pr);
    if (st == LF_OK) st = lf_probs_features(e, &pr, f, features, f->n_features, NULL, N);
    pr.err = e, pr.cancel = cancel;
    if (st == LF_OK) st = lf_fusion_predict_core(f, &pr, out);
    lf_probs_free(&pr);
    return st == LF_ERR_CANCELLED ? lf_cancel_fail(e) : st;
}

/* predict_rows block by block, the cancel flag read before each.  A
 * message must count the rows from the first of all N, so the inputs are
 * validated whole before the first block that needs it: at once, but for
 * the plain rules, whose fused pass validates each block itself (the
 * whole input is validated only when a block's pass finds something off:
 * the blocks before it were fine) */
static lf_status predict_blocks(const lf_fusion *f, const float *const *p, size_t N,
                                const lf_fusion_predict_options *o, float *out, lf_err *e) {
    if (lf_cancelled(o->cancel)) return lf_cancel_fail(e);
    int checked = 0, plain = plain_rule(f, p);
    const float **pb = lf_alloc_array(f->M, sizeof *pb);
    if (!pb) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    lf_status st = LF_OK;
    size_t C = f->C, F = f->n_features, block = LF_FUSION_PREDICT_BLOCK;
    for (size_t r0 = 0; st == LF_OK && r0 < N; r0 += block) {
        if (lf_cancelled(o->cancel)) {
            st = lf_cancel_fail(e);
            break;
        }
        size_t n = N - r0 < block ? N - r0 : block;
        for (size_t k = 0; k < f->M; k++) pb[k] = p[k] ? p[k] + r0 * C : NULL;
        if (!checked && plain && lf_rule_fused((lf_rule)f->def->rule, pb, f->M, n, C, out + r0 * C)) continue;
        if (!checked && (st = lf_inputs_validate(e, p, NULL, f->M, N, C, f->logits)) != LF_OK) break;
        checked = 1;
        st = predict_rows(f, pb, n, o->features && F ? o->features + r0 * F : NULL, out + r0 * C, 1, o->cancel, e);
    }
    LF_FREE(pb);
    return st;
}

lf_fusion_predict_options lf_fusion_predict_defaults(void) {
    lf_fusion_predict_options o;
    memset(&o, 0, sizeof o);
    return o;
}

lf_status lf_fusion_predict_with(const lf_fusion *f, const float *const *p, size_t N,
                                 const lf_fusion_predict_options *opt, float *out, char *err, size_t errlen) {
    lf_fusion_predict_options o = opt ? *opt : lf_fusion_predict_defaults();
    lf_err e = {0};
    lf_status st = LF_OK;
    if (err && errlen) err[0] = '\0';
    if (!f || !p || !out) st = lf_fail(&e, LF_ERR_ARG, "no fusion model, inputs or output given");
    else if (!f->fitted) st = lf_fail(&e, LF_ERR_STATE, "the fusion model is not fitted");
    else if ((st = lf_threads_check(&e, "predict: ", o.threads)) == LF_OK)
        st = lf_fusion_features_check(f, o.features, o.n_features, N, &e);
    if (st == LF_OK && N) {
        int saved = lf_threads_push(o.threads);
        st = o.cancel ? predict_blocks(f, p, N, &o, out, &e) : predict_rows(f, p, N, o.features, out, 0, NULL, &e);
        lf_threads_pop(saved);
    }
    if (st != LF_OK && err && errlen) snprintf(err, errlen, "%s", e.msg[0] ? e.msg : lf_status_string(st));
    return st;
}

lf_status lf_fusion_predict(const lf_fusion *f, const float *const *p, size_t N, float *out) {
    return lf_fusion_predict_with(f, p, N, NULL, out, NULL, 0);
}

lf_status lf_fusion_predict_features(const lf_fusion *f, const float *const *p, size_t N, const float *features,
                                     size_t n_features, float *out, char *err, size_t errlen) {
    lf_fusion_predict_options o = lf_fusion_predict_defaults();
    o.features = features, o.n_features = n_features;
    return lf_fusion_predict_with(f, p, N, &o, out, err, errlen);
}

lf_status lf_fusion_features_check(const lf_fusion *f, const float *features, size_t F, size_t N, lf_err *e) {
    /* a method that does not search features (auto's choice when it was
     * given them, or an ensemble of such) takes them and leaves them */
    if (!f->n_features && (features || F) && f->def->takes_features)
        return lf_fail(e, LF_ERR_ARG, "the fusion (%s) was fitted without features: give none", f->def->name);
    if (f->n_features && !features)
        return lf_fail(e, LF_ERR_ARG, "the fusion (%s) was fitted with %zu features a row: give them", f->def->name,
                       f->n_features);
    if (f->n_features && F != f->n_features)
        return lf_fail(e, LF_ERR_ARG, "the features have %zu values a row, the fusion (%s) was fitted with %zu", F,
                       f->def->name, f->n_features);
    return N && features ? check_features(e, features, F, N) : LF_OK;
}

size_t lf_fusion_n_features(const lf_fusion *f) { return f && f->fitted ? f->n_features : 0; }

const char *lf_fusion_penalty(const lf_fusion *f, float *l2) {
    if (!f || !f->fitted || f->penalty_by == LF_PENALTY_NONE) return NULL;
    if (l2) *l2 = f->penalty;
    return lf_learned_penalty_how(f->penalty_by);
}

/* ----------------------------------------------------------- queries */

lf_method lf_fusion_method(const lf_fusion *f) { return f && f->fitted ? f->def->id : (lf_method)-1; }
int lf_fusion_calibrated(const lf_fusion *f) { return f ? f->calibrated : 0; }
int lf_fusion_logits(const lf_fusion *f) { return f ? f->logits : 0; }
size_t lf_fusion_num_models(const lf_fusion *f) { return f && f->fitted ? f->M : 0; }
size_t lf_fusion_num_classes(const lf_fusion *f) { return f && f->fitted ? f->C : 0; }
const char *lf_fusion_model_name(const lf_fusion *f, size_t i) {
    return (f && f->fitted && i < f->M) ? f->names[i] : NULL;
}
float lf_fusion_temperature(const lf_fusion *f, size_t i) {
    return (f && f->fitted && i < f->M) ? f->temps[i] : 1.0f;
}

size_t lf_fusion_weights(const lf_fusion *f, float *out, size_t cap, size_t *rows, size_t *cols) {
    if (!f || !f->fitted || !f->def->weights) return 0;
    return f->def->weights(f, out, cap, rows, cols);
}

lf_status lf_fusion_metrics(const float *prob, const int *y, size_t N, size_t C,
                            double metrics[LF_NUM_METRICS]) {
    if (!metrics) return LF_ERR_ARG;
    lf_metrics mt;
    lf_err e;
    lf_status st = lf_metrics_compute(prob, y, N, C, &mt, &e);
    if (st != LF_OK) return st;
    metrics[LF_METRIC_ACCURACY] = mt.accuracy;
    metrics[LF_METRIC_MACRO_F1] = mt.macro_f1;
    metrics[LF_METRIC_LOG_LOSS] = mt.log_loss;
    metrics[LF_METRIC_BRIER] = mt.brier;
    metrics[LF_METRIC_ECE] = mt.ece;
    return LF_OK;
}
