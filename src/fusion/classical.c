/*
 * classical.c — the classical combiners, fitted by counting (rules.c
 * computes them):
 *
 *   acc-weighted       the mean rule weighted by each model's accuracy on
 *                      the training rows; state: M weights summing to 1,
 *                      saved as "fusion.weights" (M).
 *   decision-template  Kuncheva's decision templates; state: C x (M*C)
 *                      templates, saved as "fusion.templates" (C, M*C).
 *
 * The state is one float array; a file's tensor is checked against the
 * settings' M and C before anything is allocated for it
 * (lf_fusion_load_floats).
 */
#include "fusion/method.h"
#include "fusion/rules.h"
#include "model_io.h"

#include <math.h>
#include <string.h>

static void free_floats(void *state) { LF_FREE(state); }

static size_t per_model(size_t M, size_t C, size_t N) { return (void)C, (void)N, M; }
static size_t templates(size_t M, size_t C, size_t N) { return (void)N, C * M * C; }

/* ------------------------------------------------------- acc-weighted */

static lf_status acc_fit(lf_fusion *f, const lf_probs *pr, const int *y, const lf_fusion_options *o) {
    (void)o;
    size_t M = pr->M;
    double *acc = lf_alloc_array(M, sizeof *acc);
    float *w = lf_alloc_array(M, sizeof *w);
    if (!acc || !w) {
        LF_FREE(acc), LF_FREE(w);
        return lf_fail(&f->err, LF_ERR_NOMEM, "out of memory");
    }
    lf_status st = lf_model_accuracies((const float *const *)pr->p, M, pr->N, pr->C, y, acc, &f->err);
    double s = 0;
    for (size_t k = 0; k < M; k++) s += acc[k];
    for (size_t k = 0; k < M; k++) w[k] = s > 0 ? (float)(acc[k] / s) : 1.0f / (float)M;
    LF_FREE(acc);
    f->state = w;
    return st;
}

static lf_status acc_predict(const lf_fusion *f, const lf_probs *pr, float *out) {
    lf_err own;
    return lf_rule_apply(LF_RULE_MEAN, (const float *const *)pr->p, pr->M, pr->N, pr->C, f->state, out,
                         pr->err ? pr->err : &own);
}

void lf_weights_save(const lf_fusion *f, lf_method_save *s) {
    s->tensors[s->n_tensors++] = (lf_st_out){"fusion.weights", f->state, 1, {f->M}};
}

lf_status lf_weights_load(lf_fusion *f, const lf_st_file *sf, const char *arch, int counts, lf_err *e) {
    float *w = NULL;
    lf_status st = lf_fusion_load_floats(sf, arch, f->def, "fusion.weights", 1, (size_t[]){f->M}, &w, e);
    f->state = w;
    if (st != LF_OK) return st;
    double s = 0;
    for (size_t k = 0; k < f->M; k++) {
        if (counts && (!(w[k] >= 0) || w[k] != floorf(w[k])))
            return lf_fail(e, LF_ERR_FORMAT, "tensor 'fusion.weights' of %s must hold selection counts (integers >= 0)",
                           f->def->name);
        if (!(w[k] >= 0)) return lf_fail(e, LF_ERR_FORMAT, "tensor 'fusion.weights' holds a negative weight");
        s += w[k];
    }
    if (!(s > 0)) return lf_fail(e, LF_ERR_FORMAT, "tensor 'fusion.weights' sums to 0");
    return LF_OK;
}

static lf_status acc_load(lf_fusion *f, const lf_st_file *sf, const char *arch, lf_err *e) {
    return lf_weights_load(f, sf, arch, 0, e);
}

static size_t acc_weights(const lf_fusion *f, float *out, size_t cap, size_t *rows, size_t *cols) {
    if (out && cap >= f->M) memcpy(out, f->state, f->M * sizeof *out);
    if (rows) *rows = f->M;
    if (cols) *cols = 1;
    return f->M;
}

static const lf_method_def acc_weighted = {
    .id = LF_FUSE_ACC_WEIGHTED, .name = "acc-weighted", .family = LF_FAMILY_CLASSICAL,
    .summary = "mean weighted by each model's training accuracy",
    .fit = acc_fit, .predict = acc_predict, .save = lf_weights_save, .load = acc_load,
    .weights = acc_weights, .free_state = free_floats, .n_params = per_model, .rule = -1};

/* -------------------------------------------------- decision-template */

lf_status lf_templates_fit(lf_fusion *f, const lf_probs *pr, const int *y, const lf_fusion_options *o) {
    (void)o;
    size_t M = pr->M, C = pr->C;
    float *t = lf_alloc_array(C, M * C * sizeof *t);
    if (!t) return lf_fail(&f->err, LF_ERR_NOMEM, "out of memory");
    f->state = t;
    return lf_decision_templates_fit((const float *const *)pr->p, M, pr->N, C, y, t, &f->err);
}

static lf_status dt_predict(const lf_fusion *f, const lf_probs *pr, float *out) {
    lf_err own;
    return lf_decision_templates_apply(f->state, (const float *const *)pr->p, pr->M, pr->N, pr->C, out,
                                       pr->err ? pr->err : &own);
}

void lf_templates_save(const lf_fusion *f, lf_method_save *s) {
    s->tensors[s->n_tensors++] = (lf_st_out){"fusion.templates", f->state, 2, {f->C, f->M * f->C}};
}

lf_status lf_templates_load(lf_fusion *f, const lf_st_file *sf, const char *arch, lf_err *e) {
    float *t = NULL;
    size_t C = f->C, MC = f->M * f->C;
    lf_status st = lf_fusion_load_floats(sf, arch, f->def, "fusion.templates", 2, (size_t[]){C, MC}, &t, e);
    f->state = t;
    for (size_t i = 0; st == LF_OK && i < C * MC; i++) /* means of probabilities */
        if (!(t[i] >= 0 && t[i] <= 1))
            return lf_fail(e, LF_ERR_FORMAT, "tensor 'fusion.templates' of %s must hold probabilities", f->def->name);
    return st;
}

static const lf_method_def decision_template = {
    .id = LF_FUSE_DECISION_TEMPLATE, .name = "decision-template", .family = LF_FAMILY_CLASSICAL,
    .summary = "nearest per-class mean decision profile (Kuncheva)",
    .fit = lf_templates_fit, .predict = dt_predict, .save = lf_templates_save, .load = lf_templates_load,
    .free_state = free_floats, .n_params = templates, .rule = -1};

const lf_method_def *const lf_classical_methods[] = {&acc_weighted, &decision_template, NULL};
