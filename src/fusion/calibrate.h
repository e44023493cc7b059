/*
 * calibrate.h — temperature scaling (Guo et al. 2017) of a model's class
 * probabilities, fitted by minimising the negative log-likelihood.
 *
 * Why here: models trained separately are calibrated differently, and the
 * fixed rules (mean, product, ...) assume comparable probabilities, so the
 * fusion tool can rescale each model's output before fusing.  Works on
 * probabilities, not logits: the logits are taken as log(max(p, 1e-12)).
 * Pure and deterministic.
 */
#ifndef LF_FUSION_CALIBRATE_H
#define LF_FUSION_CALIBRATE_H

#include "internal.h"

#define LF_TEMP_MIN 0.05f
#define LF_TEMP_MAX 20.0f

/*
 * Finds T in [0.05, 20] minimising the mean over the present rows of
 *   -log softmax(log(max(p, 1e-12)) / T)_y.
 * The NLL is convex in s = 1/T, so this solves dNLL/ds = 0 by Newton's
 * method safeguarded by bisection on [1/20, 1/0.05], to a relative
 * tolerance of 1e-6 on s (and so on T).  An optimum outside the range gives
 * the nearest end.  Rows whose first value is NaN are missing and skipped;
 * with no present row, or when the NLL does not depend on T (e.g. all rows
 * uniform), T = 1.
 *
 * Errors: LF_ERR_ARG for NULL arrays, C == 0 or a label outside 0..C-1 in
 * a present row (names the row and value); LF_ERR_SHAPE on overflow;
 * LF_ERR_NOMEM.
 */
lf_status lf_fit_temperature(const float *p, const int *y, size_t N, size_t C, float *T,
                             lf_err *e);

/*
 * out = softmax(log(max(p, 1e-12)) / T) row by row (N x C).  Rows whose
 * first value is NaN are copied (they stay missing).  T == 1 copies p bit
 * for bit; so does a T that is not finite and positive (a precondition
 * violation: nothing is rescaled).  out may equal p (in place).
 */
void lf_apply_temperature(const float *p, size_t N, size_t C, float T, float *out);

#endif
