/*
 * b9_data.h — B9's data, drawn the same way by the programs that time it
 * (bench/fusion.c: ges and dynamic selection through the public API;
 * bench/knnsearch.c: dynamic selection's neighbour search alone).
 */
#ifndef LF_BENCH_B9_DATA_H
#define LF_BENCH_B9_DATA_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* M models' outputs for N rows of C classes, each model a softmax of noise
 * plus a margin on the label (seeded, deterministic): model k's row r at
 * p[k] + r * stride (stride C for one array per model; M C + M for
 * dynamic selection's profiles, p[k] = x + k C), its label into y[r] (y
 * may be NULL). */
static inline void b9_draw(uint64_t seed, size_t N, size_t M, size_t C, float *const *p, size_t stride, int *y) {
    uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
#define NEXT() (s = s * 6364136223846793005ull + 1442695040888963407ull, (double)(s >> 11) / 9007199254740992.0)
    for (size_t r = 0; r < N; r++) {
        int label = (int)(NEXT() * (double)C);
        if (y) y[r] = label;
        for (size_t k = 0; k < M; k++) {
            float *row = p[k] + r * stride;
            double z = 0;
            for (size_t c = 0; c < C; c++) {
                double e = exp(3.0 * NEXT() + ((int)c == label ? 1.0 + 0.25 * (double)k : 0.0));
                row[c] = (float)e, z += e;
            }
            for (size_t c = 0; c < C; c++) row[c] = (float)(row[c] / z);
        }
    }
#undef NEXT
}

#endif
