/*
 * engine_util.h — helpers shared by the engine tests: the internal
 * loss-and-gradient entry point of fit.c and random fills.
 */
#ifndef LF_ENGINE_UTIL_H
#define LF_ENGINE_UTIL_H

#include "latefuse.h"
#include "model.h"

lf_status lf__loss_and_grads(lf_model *m, const float *const *x, const float *t, size_t n,
                             int training, int step, double *loss, float **input_grads);

lf_status lf__forward_nodes(const lf_model *m, const float *const *x, size_t n, float **out);

/* deterministic uniform fill in [lo, hi) */
static inline void fill_uniform(float *a, size_t n, float lo, float hi, uint64_t seed) {
    lf_rng r;
    lf_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) a[i] = lo + (hi - lo) * lf_rng_uniform(&r);
}

#endif
