/*
 * ensemble.h — the fusion that auto makes of its best candidates
 * (ensemble.c): several fitted fusions over the same models, pooled with
 * the selection counts of greedy ensemble selection over the candidates'
 * out-of-fold outputs.  Its record is not in the method table (it is not
 * a method that compare tries or fit takes): auto builds it, the file
 * names it "ensemble".
 */
#ifndef LF_FUSION_ENSEMBLE_H
#define LF_FUSION_ENSEMBLE_H

#include "fusion/method.h"
#include "io/json.h"

#define LF_ENSEMBLE_NAME "ensemble"
#define LF_ENSEMBLE_MAX 64 /* members at most */
/* selections at most (ensemble size x bags; lf_fusion_check): the counts,
 * floats, stay exact integers, and a file holds counts up to it */
#define LF_ENSEMBLE_COUNT_MAX 16777216

extern const lf_method_def lf_ensemble_method;

/* Greedy ensemble selection (selection.c's ges, or ges-log when
 * `geometric`, with o's metric, ensemble size, bags and seed) over L
 * candidates' outputs outs[i] (N x C rows; NaN rows missing) on the rows
 * idx[0..n) (NULL: rows 0..n-1) with labels y (indexed like the outputs):
 * counts gets L selection counts. */
lf_status lf_ensemble_select(lf_err *e, const float *const *outs, size_t L, size_t C, const int *y,
                             const size_t *idx, size_t n, const lf_fusion_options *o, int geometric, float *counts);

/* The pool of L outputs with weights counts (the linear or, `geometric`,
 * the log-linear pool) on the rows idx[0..n) (NULL: 0..n-1): out, n x C. */
lf_status lf_ensemble_pool(lf_err *e, const float *const *outs, size_t L, size_t C, const size_t *idx, size_t n,
                           const float *counts, int geometric, float *out);

/* Makes f the ensemble of the n candidates (methods[i], calibrate[i])
 * with counts[i] > 0, each fitted on every row of the validated inputs as
 * lf_fusion_fit_rows fits, pooled with those counts.  On failure f is
 * cleared, its error set. */
lf_status lf_ensemble_fit(lf_fusion *f, const float *const *p, const char *const *names, size_t M, size_t N,
                          size_t C, const int *y, const lf_fusion_options *o, const lf_method *methods,
                          const int *calibrate, const float *counts, size_t n, int geometric);

/* fusion_io.c: appends ,"ensemble":{...} to js and returns the members'
 * tensors (their names under "member<i>.", each allocated: free them and
 * the list with lf_ensemble_tensors_free). */
lf_status lf_ensemble_save(const lf_fusion *f, lf_buf *js, lf_st_out **outs, size_t *n, lf_err *e);
void lf_ensemble_tensors_free(lf_st_out *outs, size_t n);

/* fusion_io.c: reads the members from the file's "ensemble" entry j and
 * tensors into f, whose common settings (M, C, names, temperatures,
 * logits) are loaded; arch is the file's top-level architecture (must be
 * NULL). */
/* Member i (below lf_fusion_ensemble_member's count) of an ensemble. */
const lf_fusion *lf_ensemble_member_fusion(const lf_fusion *f, size_t i);
lf_status lf_ensemble_load(lf_fusion *f, const lf_json *j, const lf_st_file *sf, const char *arch, lf_err *e);

#endif
