/*
 * engine_util.h — helpers shared by the engine tests: the library's test
 * hooks (testing.h) and random fills.
 */
#ifndef LF_ENGINE_UTIL_H
#define LF_ENGINE_UTIL_H

#include "latefuse.h"
#include "model.h"
#include "testing.h"

/* deterministic uniform fill in [lo, hi) */
static inline void fill_uniform(float *a, size_t n, float lo, float hi, uint64_t seed) {
    lf_rng r;
    lf_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) a[i] = lo + (hi - lo) * lf_rng_uniform(&r);
}

#endif
