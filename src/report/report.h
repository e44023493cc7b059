/*
 * report.h — what the report's files share inside the library: writing a
 * finished text buffer to a file atomically (history.c, report.c), the
 * locale-independent number formatting the page and the CSV use, and the
 * cross-validated outputs the report draws (cv_units.c computes them, with
 * the folds and fitting code of lf_fusion_compare).
 */
#ifndef LF_REPORT_H
#define LF_REPORT_H

#include "fusion/fusion_internal.h"
#include "io/json.h"

/* Writes b's bytes to path through a temporary file renamed into place
 * (LF_WRITE_* flags); LF_ERR_NOMEM when b->failed.  temp (may be NULL) is
 * told about the temporary file as lf_fusion_predict_files tells it. */
lf_status lf_text_save(const char *path, const lf_buf *b, unsigned flags, lf_temp_fn temp, void *temp_ctx,
                       lf_err *e);

/* v with `decimals` (0..6) digits after a '.', whatever the locale,
 * rounded half away from zero; "nan", "inf", "-inf"; magnitudes of 1e15
 * and more in %e-like form by lf_buf_json_double.  Writes buf (32 bytes). */
const char *lf_fmt_fixed(char buf[32], double v, int decimals);

/* Out-of-fold probabilities (N x C into out) under the stratified folds of
 * lf_fusion_compare (o->folds, o->seed): of fusion method `method`, fitted
 * with or without calibration on the other folds, when model < 0; else of
 * model `model` alone, temperature-scaled on the other folds when
 * `calibrate` (missing rows stay NaN).  o->features go to a method that
 * takes them (dynamic selection) and are left aside otherwise. */
lf_status lf_cv_outputs(lf_err *e, const float *const *p, const char *const *names, size_t M, size_t N,
                        size_t C, const int *y, const lf_fusion_options *o, lf_method method, long model,
                        int calibrate, float *out);

#endif
