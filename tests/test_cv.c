/*
 * test_cv.c — stratified k-fold: every row in exactly one fold, fold sizes
 * and per-class counts balanced to within one, reproducible for a seed and
 * different for another, train/test disjoint, the exact dealing rule, and
 * the argument errors with their messages.
 */
#include "check.h"
#include "fusion/cv.h"

#include <stdlib.h>
#include <string.h>

/* Checks balance of a split: fold sizes and per-class fold counts differ by
 * at most one.  Returns 1 when balanced. */
static int balanced(const int *y, size_t N, size_t C, size_t K, const size_t *fold) {
    size_t *cnt = calloc(C * K, sizeof *cnt), *sz = calloc(K, sizeof *sz);
    int ok = 1;
    for (size_t i = 0; i < N; i++) {
        if (fold[i] >= K) ok = 0;
        else cnt[(size_t)y[i] * K + fold[i]]++, sz[fold[i]]++;
    }
    for (size_t a = 0; a < K; a++)
        for (size_t b = 0; b < K; b++) {
            if (sz[a] > sz[b] + 1) ok = 0;
            for (size_t c = 0; c < C; c++)
                if (cnt[c * K + a] > cnt[c * K + b] + 1) ok = 0;
        }
    free(cnt);
    free(sz);
    return ok;
}

static void test_properties(void) {
    enum { N = 103, C = 4 };
    int y[N];
    /* unbalanced classes: 0 x 50, 1 x 30, 2 x 20, 3 x 3, interleaved */
    for (size_t i = 0; i < N; i++) y[i] = i % 2 == 0 && i < 100 ? 0 : i % 5 == 1 ? 2 : 1;
    y[10] = y[40] = y[77] = 3;
    size_t f1[N], f2[N], f3[N];
    lf_err e = {{0}};
    for (size_t K = 2; K <= 10; K++) {
        CHECK(lf_stratified_kfold(y, N, C, K, 42, f1, &e) == LF_OK, "K=%zu: %s", K, e.msg);
        CHECK(balanced(y, N, C, K, f1), "K=%zu balanced", K);
        /* every row in exactly one fold: the test sets partition 0..N-1 and
         * no row is in both train and test of a fold */
        size_t seen[N] = {0};
        size_t train[N], test[N], ntr, nte;
        int disjoint = 1, sizes = 1;
        for (size_t f = 0; f < K; f++) {
            CHECK(lf_fold_split(f1, N, f, train, &ntr, test, &nte, &e) == LF_OK, "split");
            sizes &= ntr + nte == N && (nte == N / K || nte == N / K + 1);
            char in_test[N] = {0};
            for (size_t j = 0; j < nte; j++) in_test[test[j]] = 1, seen[test[j]]++;
            for (size_t j = 0; j < ntr; j++) disjoint &= !in_test[train[j]];
            for (size_t j = 1; j < nte; j++) sizes &= test[j - 1] < test[j];
            for (size_t j = 1; j < ntr; j++) sizes &= train[j - 1] < train[j];
        }
        int once = 1;
        for (size_t i = 0; i < N; i++) once &= seen[i] == 1;
        CHECK(once, "K=%zu: every row is in exactly one test fold", K);
        CHECK(disjoint, "K=%zu: train and test are disjoint", K);
        CHECK(sizes, "K=%zu: sizes N/K or N/K+1, sorted indices", K);
    }
    CHECK(lf_stratified_kfold(y, N, C, 5, 42, f1, &e) == LF_OK, "seed 42");
    CHECK(lf_stratified_kfold(y, N, C, 5, 42, f2, &e) == LF_OK, "seed 42 again");
    CHECK(lf_stratified_kfold(y, N, C, 5, 43, f3, &e) == LF_OK, "seed 43");
    CHECK(memcmp(f1, f2, sizeof f1) == 0, "same seed, same folds");
    CHECK(memcmp(f1, f3, sizeof f1) != 0, "another seed, other folds");
    CHECK(balanced(y, N, C, 5, f3), "seed 43 balanced");
}

/* The dealing rule, reproduced from cv.h's description with the same
 * generator: classes in order, Fisher-Yates, one counter mod K. */
static void test_exact_rule(void) {
    static const int y[9] = {1, 0, 1, 2, 0, 1, 1, 0, 2};
    size_t fold[9], want[9];
    lf_rng r;
    lf_rng_seed(&r, 7);
    size_t t = 0;
    for (int c = 0; c < 3; c++) {
        size_t idx[9], n = 0;
        for (size_t i = 0; i < 9; i++)
            if (y[i] == c) idx[n++] = i;
        for (size_t j = n; j > 1; j--) {
            size_t k = (size_t)lf_rng_below(&r, j), tmp = idx[j - 1];
            idx[j - 1] = idx[k];
            idx[k] = tmp;
        }
        for (size_t j = 0; j < n; j++) want[idx[j]] = t++ % 3;
    }
    lf_err e;
    CHECK(lf_stratified_kfold(y, 9, 3, 3, 7, fold, &e) == LF_OK, "exact rule runs");
    CHECK(memcmp(fold, want, sizeof fold) == 0, "exact rule");
    /* the counter is not reset per class: class 0 (3 rows) fills folds
     * 0,1,2, class 1 (4 rows) 0,1,2,0, class 2 (2 rows) 1,2 */
    size_t per[3][3] = {{0}};
    for (size_t i = 0; i < 9; i++) per[y[i]][fold[i]]++;
    CHECK(per[0][0] == 1 && per[0][1] == 1 && per[0][2] == 1, "class 0 spread");
    CHECK(per[1][0] == 2 && per[1][1] == 1 && per[1][2] == 1, "class 1 spread");
    CHECK(per[2][0] == 0 && per[2][1] == 1 && per[2][2] == 1, "class 2 continues the rotation");
    /* K = N: leave-one-out, every fold one row */
    CHECK(lf_stratified_kfold(y, 9, 3, 9, 1, fold, &e) == LF_OK, "K = N");
    size_t used[9] = {0};
    for (size_t i = 0; i < 9; i++) used[fold[i]]++;
    int one = 1;
    for (size_t i = 0; i < 9; i++) one &= used[i] == 1;
    CHECK(one, "K = N puts one row in each fold");
}

static void test_errors(void) {
    static const int y[4] = {0, 1, 0, 1};
    static const int yb[4] = {0, 1, 2, 1};
    size_t fold[4];
    lf_err e = {{0}};
    CHECK(lf_stratified_kfold(y, 4, 2, 1, 0, fold, &e) == LF_ERR_ARG, "K = 1");
    CHECK(strcmp(e.msg, "k-fold: K = 1 folds; K must be at least 2") == 0, "msg: %s", e.msg);
    CHECK(lf_stratified_kfold(y, 4, 2, 0, 0, fold, &e) == LF_ERR_ARG, "K = 0");
    CHECK(strstr(e.msg, "K must be at least 2") != NULL, "msg: %s", e.msg);
    CHECK(lf_stratified_kfold(y, 4, 2, 5, 0, fold, &e) == LF_ERR_ARG, "K > N");
    CHECK(strcmp(e.msg, "k-fold: K = 5 folds is more than the 4 rows") == 0, "msg: %s", e.msg);
    CHECK(lf_stratified_kfold(yb, 4, 2, 2, 0, fold, &e) == LF_ERR_ARG, "bad label");
    CHECK(strcmp(e.msg, "k-fold: label of row 2 is 2, outside 0..1") == 0, "msg: %s", e.msg);
    CHECK(lf_stratified_kfold(NULL, 4, 2, 2, 0, fold, &e) == LF_ERR_ARG, "NULL y");
    CHECK(strcmp(e.msg, "k-fold: the label array is NULL") == 0, "msg: %s", e.msg);
    CHECK(lf_stratified_kfold(y, 4, 0, 2, 0, fold, &e) == LF_ERR_ARG, "C = 0");
    CHECK(strcmp(e.msg, "k-fold: no classes given (C = 0)") == 0, "msg: %s", e.msg);
    size_t tr[4], te[4], a, b;
    CHECK(lf_fold_split(fold, 4, 0, NULL, &a, te, &b, &e) == LF_ERR_ARG, "split NULL");
    CHECK(strcmp(e.msg, "fold split: an argument is NULL") == 0, "msg: %s", e.msg);
    (void)tr;
}

int main(void) {
    test_properties();
    test_exact_rule();
    test_errors();
    return check_report("test_cv");
}
