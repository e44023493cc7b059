/*
 * fusion_data.h — the synthetic fusion data that test_auto and
 * test_ensemble share: M models' probabilities of C classes for N rows,
 * from a seeded generator, model k right more often as k grows.
 */
#ifndef LF_FUSION_DATA_H
#define LF_FUSION_DATA_H

#include <math.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>

static inline double urand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* p[k]: N x C (C <= 16) for k < M, y: N labels; with_missing: model 0's
 * row r missing (NaN) where r % 37 == 5, the other values unchanged */
static inline void make_data(float **p, int *y, size_t M, size_t N, size_t C, uint64_t seed, int with_missing) {
    uint64_t s = seed;
    for (size_t r = 0; r < N; r++) {
        y[r] = (int)(urand(&s) * (double)C);
        for (size_t k = 0; k < M; k++) {
            double z = 0, e[16];
            for (size_t c = 0; c < C; c++)
                z += e[c] = exp(2.0 * urand(&s) + ((int)c == y[r] ? 0.3 + 0.15 * (double)k : 0.0));
            for (size_t c = 0; c < C; c++) p[k][r * C + c] = (float)(e[c] / z);
        }
        if (with_missing && r % 37 == 5)
            for (size_t c = 0; c < C; c++) p[0][r * C + c] = NAN;
    }
}

/* make_data into new arrays: p[k] (k < M) and the labels it returns;
 * free_data releases them */
static inline int *new_data(float **p, size_t M, size_t N, size_t C, uint64_t seed, int with_missing) {
    int *y = malloc(N * sizeof *y);
    for (size_t k = 0; k < M; k++) p[k] = malloc(N * C * sizeof(float));
    make_data(p, y, M, N, C, seed, with_missing);
    return y;
}

static inline void free_data(float **p, int *y, size_t M) {
    for (size_t k = 0; k < M; k++) free(p[k]);
    free(y);
}

#endif
