/*
 * cv.h — stratified k-fold cross-validation splits for the fusion tool.
 *
 * Why here: every learned fusion method is scored out of fold, and the
 * folds must be the same for every method (same seed, same folds) so their
 * scores compare.  Pure and deterministic: the split depends only on the
 * labels, K and the seed.
 */
#ifndef LF_FUSION_CV_H
#define LF_FUSION_CV_H

#include "internal.h"

/*
 * Assigns each of the N rows a fold in 0..K-1 (fold[i]).
 *
 * Algorithm (fixed, so splits are reproducible): one lf_rng seeded with
 * `seed`; for each class c = 0..C-1 in order, the rows of class c in
 * increasing order are shuffled by Fisher-Yates (for j = n-1 down to 1,
 * swap j with lf_rng_below(j+1)), then dealt round robin to the folds with
 * one counter for the whole call (not reset per class): the t-th row dealt
 * overall goes to fold t mod K.  Hence fold sizes differ by at most one, and
 * so do the per-class counts of any two folds.
 *
 * Errors: LF_ERR_ARG for NULL arrays, C == 0, K < 2, K > N, or a label
 * outside 0..C-1 (the message names the row and value); LF_ERR_NOMEM.
 */
lf_status lf_stratified_kfold(const int *y, size_t N, size_t C, size_t K, uint64_t seed,
                              size_t *fold, lf_err *e);

/*
 * The rows of fold f as test set and all others as training set, each in
 * increasing row order.  train needs room for the rows outside fold f and
 * test for the rows in it (N each is always enough); *n_train + *n_test
 * == N.  Errors: LF_ERR_ARG
 * for NULL arrays.
 */
lf_status lf_fold_split(const size_t *fold, size_t N, size_t f, size_t *train, size_t *n_train,
                        size_t *test, size_t *n_test, lf_err *e);

/*
 * How many threads to give `units` independent fits over N rows of M
 * models and C classes (the cross-validation's units, auto's ensemble
 * members), each fit on one thread: the threads OpenMP offers (1 inside
 * a parallel region, or without OpenMP), at most `units`, and at most as
 * many as 1 GiB holds of one fit's estimated memory, 16 (M + 4) N C bytes
 * (its copies of the rows and outputs; features not counted); at least 1.  Beyond
 * that the fits run one at a time, each with the threads inside.
 */
size_t lf_cv_threads(size_t N, size_t M, size_t C, size_t units);

#endif
