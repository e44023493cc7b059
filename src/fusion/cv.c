/*
 * cv.c — stratified k-fold assignment and train/test index lists (see cv.h
 * for the exact, reproducible algorithm).
 */
#include "fusion/cv.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define CV_THREAD_BYTES (1024.0 * 1024 * 1024)

size_t lf_cv_threads(size_t N, size_t M, size_t C, size_t units) {
    double bytes = 16.0 * (double)N * (double)(M + 4) * (double)C;
    size_t W = 1, fit = bytes > 0 ? (size_t)(CV_THREAD_BYTES / bytes) : units;
#ifdef _OPENMP
    if (!omp_in_parallel()) W = (size_t)omp_get_max_threads();
#endif
    if (fit < W) W = fit;
    if (units < W) W = units;
    return W ? W : 1;
}

lf_status lf_stratified_kfold(const int *y, size_t N, size_t C, size_t K, uint64_t seed,
                              size_t *fold, lf_err *e) {
    if (!y || !fold)
        return lf_fail(e, LF_ERR_ARG, "k-fold: the %s array is NULL", !y ? "label" : "fold");
    if (C == 0) return lf_fail(e, LF_ERR_ARG, "k-fold: no classes given (C = 0)");
    if (K < 2) return lf_fail(e, LF_ERR_ARG, "k-fold: K = %zu folds; K must be at least 2", K);
    if (K > N)
        return lf_fail(e, LF_ERR_ARG, "k-fold: K = %zu folds is more than the %zu rows", K, N);
    for (size_t i = 0; i < N; i++)
        if (y[i] < 0 || (size_t)y[i] >= C)
            return lf_fail(e, LF_ERR_ARG, "k-fold: label of row %zu is %d, outside 0..%zu", i,
                           y[i], C - 1);
    if (C > SIZE_MAX - 1)
        return lf_fail(e, LF_ERR_ARG, "k-fold: %zu classes is too many", C);

    /* counting sort of the rows by class: rows of class c are
     * order[start[c] .. start[c+1]) in increasing row order */
    size_t *start = lf_alloc_array(C + 1, sizeof(size_t));
    size_t *order = lf_alloc_array(N, sizeof(size_t));
    if (!start || !order) {
        LF_FREE(start);
        LF_FREE(order);
        return lf_fail(e, LF_ERR_NOMEM, "k-fold: out of memory for %zu rows", N);
    }
    for (size_t i = 0; i < N; i++) start[(size_t)y[i] + 1]++;
    for (size_t c = 0; c < C; c++) start[c + 1] += start[c];
    for (size_t i = 0; i < N; i++) order[start[(size_t)y[i]]++] = i;
    for (size_t c = C; c > 0; c--) start[c] = start[c - 1];
    start[0] = 0;

    lf_rng rng;
    lf_rng_seed(&rng, seed);
    size_t t = 0;
    for (size_t c = 0; c < C; c++) {
        size_t *idx = order + start[c];
        size_t n = start[c + 1] - start[c];
        for (size_t j = n; j > 1; j--) {
            size_t r = (size_t)lf_rng_below(&rng, (uint64_t)j);
            size_t tmp = idx[j - 1];
            idx[j - 1] = idx[r];
            idx[r] = tmp;
        }
        for (size_t j = 0; j < n; j++) {
            fold[idx[j]] = t;
            t = t + 1 == K ? 0 : t + 1;
        }
    }
    LF_FREE(start);
    LF_FREE(order);
    return LF_OK;
}

lf_status lf_fold_split(const size_t *fold, size_t N, size_t f, size_t *train, size_t *n_train,
                        size_t *test, size_t *n_test, lf_err *e) {
    if ((!fold && N > 0) || !train || !n_train || !test || !n_test)
        return lf_fail(e, LF_ERR_ARG, "fold split: an argument is NULL");
    size_t a = 0, b = 0;
    for (size_t i = 0; i < N; i++) {
        if (fold[i] == f)
            test[b++] = i;
        else
            train[a++] = i;
    }
    *n_train = a;
    *n_test = b;
    return LF_OK;
}
