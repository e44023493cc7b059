/*
 * seed.c — the founding question's network, built in one place: two inputs,
 * Dense(units, relu) on each, their WeightedAverage, Dense(1), mse.  The
 * seed-example command, examples/seed.c, the benchmarks and the tests all
 * build it through lf_seed_network, so they cannot drift apart.
 */
#include "internal.h"

static const char *const keras_names[6] = {"input_1", "input_2", "dense", "dense_1", "weighted_average",
                                           "dense_2"};

lf_status lf_seed_network(lf_model *m, size_t dim, size_t units, const char *const *names,
                          const lf_optimizer *opt) {
    if (!m) return LF_ERR_ARG;
    const char *const *nm = names ? names : keras_names;
    int in1 = lf_input(m, dim, nm[0]), in2 = lf_input(m, dim, nm[1]);
    int branches[2] = {lf_dense(m, in1, units, LF_ACT_RELU, 1, nm[2]), lf_dense(m, in2, units, LF_ACT_RELU, 1, nm[3])};
    int avg = lf_weighted_average(m, 2, branches, -1, nm[4]);
    int out = lf_dense(m, avg, 1, LF_ACT_LINEAR, 1, nm[5]);
    return lf_model_compile(m, out, LF_LOSS_MSE, opt); /* reports a builder error too */
}
