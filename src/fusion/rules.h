/*
 * rules.h — the fixed (untrained) fusion rules of the fusion tool, plus the
 * two helpers that are "fitted" by plain counting: Kuncheva's decision
 * templates and per-model accuracies (for the acc-weighted method).
 *
 * Why here: every fixed rule works on the same view of the data, so they
 * share one argument check and one notion of a missing model output, and
 * the CLI, the cross-validation driver and the Python package all call the
 * same code.
 *
 * Data layout (everywhere in src/fusion/):
 *   p      M pointers, p[k] is an N x C row-major float32 array: model k's
 *          class probabilities for N samples.  A row of p[k] whose first
 *          value is NaN is "missing" (model k gave no output for that
 *          sample); such rows are entirely NaN, other rows are finite, >= 0
 *          and sum to 1 (validated by the loaders, not here).
 *   y      N labels in 0..C-1.
 *   out    N x C float32 probabilities; every output row sums to 1.
 *
 * Every function here is pure (no I/O, no global state) and deterministic.
 */
#ifndef LF_FUSION_RULES_H
#define LF_FUSION_RULES_H

#include "internal.h"
#include "kernels.h"

typedef enum lf_rule {
    LF_RULE_MEAN = 0,
    LF_RULE_PRODUCT,
    LF_RULE_MAX,
    LF_RULE_MIN,
    LF_RULE_MEDIAN,
    LF_RULE_VOTE,
    LF_RULE_BORDA
} lf_rule;

#define LF_RULE_COUNT 7

/* "mean", "product", "max", "min", "median", "vote", "borda"; NULL for a
 * value outside the enum. */
const char *lf_rule_name(lf_rule r);

/* The rule spelled exactly as lf_rule_name spells it, or -1 (also for
 * NULL). */
int lf_rule_parse(const char *name);

/* Tie-break mass of the vote and borda rules (see lf_rule_apply). */
#define LF_RULE_TIE_EPS 1e-3

/*
 * Fuses the M models row by row into out (N x C).
 *
 * weights: NULL for equal weights, else M finite weights >= 0 with a
 * positive sum.  In each row only the models PRESENT in that row take part,
 * and their weights are renormalised to sum 1 over those present: w_k below
 * always means that normalised weight; where the present models all have
 * weight 0, the weighted rules (mean, product, vote and borda) give them
 * equal weights (ges' rows where no selected model is present).  A row
 * where no model is present gets the uniform distribution 1/C.  A row
 * with exactly one model present gets that model's row, bit for bit, from
 * mean, product, max, min and median (for product this skips the 1e-12
 * clipping, which would only turn zeros into ~1e-12).
 *
 *   mean     out_c = sum_k w_k p_kc.
 *   product  weighted geometric mean, renormalised:
 *            out_c ∝ exp(sum_k w_k log max(p_kc, 1e-12)), computed in
 *            double (the exponents lie in [-27.7, 88.8] for any float
 *            input: no overflow or underflow, no maximum to subtract); with equal
 *            weights as log(prod_k max(p_kc, 1e-12)) / n, one log per 16
 *            models.  log and exp are rules.c's branch-free double versions
 *            (fdlibm's, < 1 ulp), which vectorise.
 *   max/min  per-class max / min over the present models (weights are not
 *            used), renormalised to sum 1; all zero gives uniform.
 *   median   per-class unweighted median over the present models (mean of
 *            the two middle values for an even count), renormalised; all
 *            zero gives uniform.
 *   vote     every present model votes for its argmax class (ties: lowest
 *            class index) with its weight w_k: votes_c = sum of the w_k of
 *            the models voting c (so votes sum to 1).  Then
 *              out_c = (votes_c + 1e-3 * mean_c) / 1.001
 *            with mean_c the weighted mean probability of the mean rule.
 *            So the argmax of out is the (weighted) majority class, ties
 *            between equally voted classes are broken by the mean
 *            probability, and every class keeps a little mass, which keeps
 *            log-loss finite.
 *   borda    every present model ranks the classes by its probabilities;
 *            the class ranked r-th (r = 0 the most probable) gets C-1-r
 *            points, and classes with equal probabilities share the average
 *            of their points.  points_c = sum_k w_k * points_kc (a weighted
 *            average number of points), and
 *              out_c = (points_c + 1e-3 * mean_c) / sum_j (same)
 *            (with C = 1 the only class gets 1).
 *
 * Inner loops accumulate in double and stream each model's row once, so
 * mean and product cost O(M C) per row with one log per value for weighted product.
 *
 * Errors: LF_ERR_ARG for NULL arrays, M == 0, C == 0, an unknown rule or
 * bad weights; LF_ERR_SHAPE if N*C overflows; LF_ERR_NOMEM.
 */
lf_status lf_rule_apply(lf_rule r, const float *const *p, size_t M, size_t N, size_t C,
                        const float *weights, float *out, lf_err *e);

/*
 * The fast path of mean and product with equal weights (weights NULL):
 * checks every row of every model as lf_inputs_validate's fast check does
 * for probabilities (values in [0, FLT_MAX], float row sums within
 * 0.999e-3 of 1, so no missing row) and fuses in the same pass, block by
 * block (OpenMP across blocks; every row's result is independent of the
 * thread count).  Returns 1 when out holds exactly what lf_rule_apply gives
 * (the same bits); 0 when some row is missing or not clearly valid, M < 2,
 * another rule, or C > 2048: the caller then validates and calls
 * lf_rule_apply (out may have been written in part).  p[k] must hold N * C
 * readable values each.
 */
int lf_rule_fused(lf_rule r, const float *const *p, size_t M, size_t N, size_t C, float *out);

/* The fast, vectorised input check of lf_inputs_validate and
 * lf_rule_fused: nonzero when every value of v (N rows of C) is a finite
 * probability (a finite score with logits) and, for probabilities, every
 * row sums to 1 within 1e-3 (in float: 1e-6 off at most, so a row near the
 * bound fails here and goes to the exact, row-by-row check). */
int lf_probs_look_valid(const float *v, size_t N, size_t C, int logits);

/*
 * Decision templates (Kuncheva 2001), fitting: templates is C x (M*C); row
 * c is the mean decision profile of the training rows of class c, i.e. the
 * concatenation (p_1 row, ..., p_M row) averaged over the rows labelled c.
 * Each model's part is averaged over the rows of class c where that model
 * is present; a part with no such row (model never present for class c,
 * or class c has no rows) is uniform 1/C.
 *
 * Errors: LF_ERR_ARG for NULL arrays, M == 0, C == 0 or a label outside
 * 0..C-1 (the message names the row and value); LF_ERR_SHAPE on overflow;
 * LF_ERR_NOMEM.
 */
lf_status lf_decision_templates_fit(const float *const *p, size_t M, size_t N, size_t C,
                                    const int *y, float *templates, lf_err *e);

/*
 * Decision templates, applying: for each row and class c the similarity
 *   S_c = 1 - (1 / (M' C)) * sum over present models k of
 *                            sum_j (p_kj - DT_c[k*C + j])^2,
 * with M' the number of models present in the row (missing models' parts
 * are left out), clamped at 0 (only reachable with templates outside
 * [0,1]); out_c = S_c / sum_j S_j.  No model present, or all S zero:
 * uniform.
 *
 * Errors: LF_ERR_ARG for NULL arrays, M == 0 or C == 0; LF_ERR_NUMERIC for
 * a non-finite template value (the message names it); LF_ERR_SHAPE on
 * overflow.
 */
lf_status lf_decision_templates_apply(const float *templates, const float *const *p, size_t M,
                                      size_t N, size_t C, float *out, lf_err *e);

/*
 * Accuracy of each model over the rows where it is present (argmax, ties
 * to the lowest class index); a model present in no row gets 0.
 * acc has M entries.  Errors as lf_decision_templates_fit.
 */
lf_status lf_model_accuracies(const float *const *p, size_t M, size_t N, size_t C,
                              const int *y, double *acc, lf_err *e);

/* lf_argmax_f (the predicted class of a row) is in kernels.h. */

/* Nonzero when row i of p[k] is missing (its first value is NaN). */
static inline int lf_row_missing(const float *pk, size_t i, size_t C) {
    float v = pk[i * C];
    return v != v;
}

#endif
