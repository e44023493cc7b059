/*
 * seed.c — the README's C quick start: the Keras seed network (two inputs,
 * Dense(32, relu) per branch, WeightedAverage, Dense(1); adam, mse) built
 * with the latefuse API, trained for 10 epochs on U(0,1) data, and the
 * learned fusion weights softmax(W) printed.  Build: make; run:
 * ./build/examples/seed
 */
#include <latefuse.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static float uniform(uint64_t *s) { /* xorshift64: any U(0,1) source will do */
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return (float)(*s >> 40) / 16777216.0f;
}

int main(void) {
    enum { N = 1000, D = 100 };
    static float x1[N * D], x2[N * D], y[N];
    uint64_t s = 42;
    for (int i = 0; i < N * D; i++) x1[i] = uniform(&s), x2[i] = uniform(&s);
    for (int i = 0; i < N; i++) y[i] = uniform(&s);

    lf_model *m;
    if (lf_model_create(&m, 1) != LF_OK) return 1;
    int in1 = lf_input(m, D, "input_1"), in2 = lf_input(m, D, "input_2");
    int branches[2] = {lf_dense(m, in1, 32, LF_ACT_RELU, 1, "dense"),
                       lf_dense(m, in2, 32, LF_ACT_RELU, 1, "dense_1")};
    int avg = lf_weighted_average(m, 2, branches, -1, "weighted_average");
    int out = lf_dense(m, avg, 1, LF_ACT_LINEAR, 1, "dense_2");
    lf_fit_options opt = lf_fit_defaults();
    opt.epochs = 10;  /* batch 32, shuffled, as Keras */
    opt.verbose = 2;  /* one line per epoch on stderr */
    const float *x[2] = {x1, x2};
    float w[2];
    if (lf_model_compile(m, out, LF_LOSS_MSE, NULL) != LF_OK ||  /* NULL: adam defaults */
        lf_model_fit(m, x, y, N, &opt) != LF_OK ||
        lf_get_weights(m, "weighted_average", 0, w, 2) != LF_OK) {
        fprintf(stderr, "seed: %s\n", lf_model_error(m));
        lf_model_free(m);
        return 1;
    }
    double e0 = exp(w[0]), e1 = exp(w[1]);
    printf("weights: %.6f %.6f\n", e0 / (e0 + e1), e1 / (e0 + e1));
    lf_model_free(m);
    return 0;
}
