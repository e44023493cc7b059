/*
 * knn.h — exact k nearest neighbours for dynamic selection (knn.c).
 *
 * Rows are vectors of D floats in [0, 1] (probabilities and presence
 * indicators), or in any range [lo, hi] given to lf_knn_build_range
 * (standardised features).  The key is the squared Euclidean distance computed in
 * double: t_d = (double)q_d - (double)x_d, eight partial sums p_j of t_d^2
 * over d = j mod 8 in index order, then ((p0 + p1) + (p2 + p3)) + ((p4 +
 * p5) + (p6 + p7)); equal keys go to the lower row.  The neighbours are exactly those of
 * a plain scan of every row with that key; an 8-bit copy of the rows only
 * decides which rows need their exact distance computed (see knn.c).
 */
#ifndef LF_FUSION_KNN_H
#define LF_FUSION_KNN_H

#include "internal.h"

#include <stddef.h>
#include <stdint.h>

typedef struct lf_knn {
    size_t n, D, Df;  /* rows, their width, the values the filter sees */
    size_t G;         /* 4-byte groups of the 8-bit rows */
    const float *rows; /* n x D, not owned */
    uint8_t *packed;   /* the rows rounded to 0..255, 32 rows at a time (knn.c) */
    int32_t *ch;       /* per row (32-padded): -ceil(cx / 2), cx = ||x8||^2 - 256 sum x8 (knn.c) */
    double emax;       /* the largest rounding error (Euclidean) of a row */
    double lo, w;      /* the filter's range: lo + [0, w] in 255 steps */
    int32_t *cmap;     /* Df: each value's place in the 8-bit rows, -1 for one the same in every row */
} lf_knn;

/* The index of n rows of width D (rows kept by reference), whose 8-bit
 * filter looks at the first Df values (the others are left to the exact
 * key); LF_ERR_NOMEM.  Dynamic selection gives the filter every value: a
 * query with a model missing differs from every row in that indicator,
 * and a filter blind to it would let every row through (a value the same
 * in every row is counted exactly apart, knn.c). */
lf_status lf_knn_build(lf_knn *ix, const float *rows, size_t n, size_t D, size_t Df);
/* The same for rows whose filtered values lie in [lo, hi] (hi <= lo: a
 * range of width 1 from lo); values outside (a query's) are clamped, their
 * whole error counted, so the search stays exact.  lf_knn_build is
 * lo = 0, hi = 1, bit for bit. */
lf_status lf_knn_build_range(lf_knn *ix, const float *rows, size_t n, size_t D, size_t Df, double lo, double hi);
void lf_knn_free(lf_knn *ix);

/* Per-thread scratch for up to nq_max queries and K neighbours.  It also
 * carries, from one lf_knn_search to the next, a guess of the K-th key
 * that the next search's bounds start from (knn.c): only the time depends
 * on it, not the neighbours. */
typedef struct lf_knn_work {
    size_t nq_max, K;
    int8_t *q8;     /* queries, 8-bit, QT at a time (knn.c) */
    int16_t *q16;   /* the same values widened to 16 bits (the AVX2 kernel's) */
    int32_t *thr;   /* per query: the filter's limit (knn.c) */
    double *eq;     /* per query: rounding error */
    double *cq;     /* per query: squared distance over the values the same in every row */
    int32_t *qn;    /* per query: ||q8||^2 */
    double *bd;     /* nq_max x K: exact distances of the best so far */
    size_t *bi;     /* nq_max x K: their rows */
    size_t *cnt;    /* nq_max */
    size_t *id;     /* nq_max: a pass's queries (knn.c) */
    double *kth;    /* nq_max: the queries' K-th keys */
    double *start;  /* nq_max: per slot of a pass, the K-th key its limit starts from */
    double guess;   /* the K-th key the next call's limits start from (knn.c), 0: none */
    size_t exact;   /* exact keys computed, summed over the searches (a statistic) */
    size_t failed;  /* queries searched again for a guess too low, summed (a statistic) */
    uint32_t *mk;   /* a batch's masks (knn.c) */
    uint32_t *lst;  /* a batch's rows that passed */
} lf_knn_work;

int lf_knn_work_alloc(lf_knn_work *w, const lf_knn *ix, size_t nq_max, size_t K);
void lf_knn_work_free(lf_knn_work *w);

/* The filter's kernel: the fastest the CPU has (AMX's int8 tiles, else
 * AVX-512 VNNI, else AVX2, else plain loops), the plain loops, AVX-512
 * VNNI even where AMX is there, or AVX2 even where AVX-512 is there (each
 * else the best of those below it).  Every kernel computes the same
 * integers, so the neighbours are the same; the tests compare them all. */
typedef enum lf_knn_kernel { LF_KNN_BEST, LF_KNN_PORTABLE, LF_KNN_VNNI, LF_KNN_AVX2 } lf_knn_kernel;

/* The K nearest rows of each of the nq (<= w->nq_max) queries (nq x D),
 * nearest first, into nb (nq x K) and cnt (how many: K, or fewer when
 * there are fewer rows); excl: per query a row left out, or NULL. */
void lf_knn_search(const lf_knn *ix, const float *q, size_t nq, size_t K, const size_t *excl, size_t *nb,
                   size_t *cnt, lf_knn_work *w, lf_knn_kernel kernel);

#endif
