/*
 * auto.h — lf_fusion_fit's method `auto` (auto.c): every method with and
 * without calibration scored by the cross-validation of cv_units.c, the
 * choice corrected for the number of candidates, then the ensemble of the
 * best candidates unless it scores a standard error worse; the final fit.
 */
#ifndef LF_FUSION_AUTO_H
#define LF_FUSION_AUTO_H

#include "fusion/method.h"

/* auto on validated inputs (lf_fusion_check) with options o: chooses and
 * fits f.  On success *table is its table of candidates (the caller's to
 * keep or release with lf_compare_table_free) and note the sentence saying
 * what it chose and why.  A failure of the choice itself leaves f as it
 * was and *table NULL; a failure after it (the final fit) leaves *table
 * set.  LF_ERR_CANCELLED once o->cancel is set. */
lf_status lf_auto_fit(lf_fusion *f, const float *const *p, const char *const *names, size_t M, size_t N, size_t C,
                      const int *y, const lf_fusion_options *o, lf_compare_table **table, char *note,
                      size_t note_len);

/* auto's ensemble: kept or not, its candidates (auto's
 * LF_AUTO_POOL best, best first), their selection counts, its pool, and
 * the note that says why auto chose it. */
#define LF_AUTO_POOL 12
typedef struct lf_auto_ens {
    int keep, geometric;
    size_t L;
    lf_method methods[LF_AUTO_POOL];
    int calibrate[LF_AUTO_POOL];
    float counts[LF_AUTO_POOL];
    char note[512];
} lf_auto_ens;

/* auto's final fit on every row of the validated inputs: the
 * ensemble ae when it is kept and its step went well (failed: NULL, else
 * why it did not), else the single candidate (method, calibrate).  When
 * the ensemble step or the ensemble's own fit failed, the single candidate
 * is fitted instead and note (auto's choice of it) gets "; auto's
 * ensemble failed, so its single choice was fitted: <why>" appended, and
 * the table t (NULL: none) loses the members' weights; a kept ensemble
 * fitted well replaces note with ae->note.  Either is fitted with o as
 * auto's candidates were: under LF_METRIC_MACRO_F1, with the log-loss
 * (ges and ges-log optimise the log-loss or the accuracy). */
lf_status lf_auto_final_fit(lf_fusion *f, const float *const *p, const char *const *names, size_t M, size_t N,
                            size_t C, const int *y, const lf_fusion_options *o, lf_method method, int calibrate,
                            const lf_auto_ens *ae, const char *failed, lf_compare_table *t, char *note,
                            size_t note_len);

#endif
