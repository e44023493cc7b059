/*
 * test_optimizer_state.c — the optimizer's state through the public API
 * (lf_model_optimizer_slots, lf_get_optimizer_slot, lf_set_optimizer_slot,
 * lf_model_set_iterations), which the Python package's .keras files read and
 * write (Keras 3's optimizer variables): a model whose weights, state and
 * step count are copied from another trains on bit for bit as that one
 * (without the state it does not); the refusals in their words, leaving the
 * state as it was.
 */
#include "check.h"
#include "latefuse.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define N 24
#define IN 3

/* Dense(4, tanh) -> Dense(2); the same architecture under another seed */
static lf_model *model(uint64_t seed, const lf_optimizer *opt) {
    lf_model *m = NULL;
    CHECK(lf_model_create(&m, seed) == LF_OK, "create");
    int in = lf_input(m, IN, NULL);
    int h = lf_dense(m, in, 4, LF_ACT_TANH, 1, "hidden");
    int out = lf_dense(m, h, 2, LF_ACT_LINEAR, 1, "out");
    if (opt) CHECK(lf_model_compile(m, out, LF_LOSS_MSE, opt) == LF_OK, "compile: %s", lf_model_error(m));
    return m;
}

static void fit(lf_model *m, const float *x, const float *y, size_t epochs) {
    const float *xs[1] = {x};
    lf_fit_options o = lf_fit_defaults();
    o.epochs = epochs, o.batch_size = 8, o.shuffle = 0;
    CHECK(lf_model_fit(m, xs, y, N, &o) == LF_OK, "fit: %s", lf_model_error(m));
}

static const char *const layers[2] = {"hidden", "out"};

/* every weight's values, or with slot >= 0 every weight's state in that slot, back to back */
static size_t dump(lf_model *m, int slot, float *buf) {
    size_t k = 0;
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < lf_layer_num_weights(m, layers[l]); i++) {
            size_t s[2], c;
            lf_layer_weight_shape(m, layers[l], i, s, &c);
            lf_status st = slot < 0 ? lf_get_weights(m, layers[l], i, buf + k, c)
                                    : lf_get_optimizer_slot(m, layers[l], i, slot, buf + k, c);
            CHECK(st == LF_OK, "read %s %zu slot %d: %s", layers[l], i, slot, lf_model_error(m));
            k += c;
        }
    return k;
}

/* b takes a's weights, and with state its optimizer slots and step count */
static void copy(lf_model *a, lf_model *b, int state) {
    for (int l = 0; l < 2; l++)
        for (size_t i = 0; i < lf_layer_num_weights(a, layers[l]); i++) {
            size_t s[2], c;
            float v[16];
            lf_layer_weight_shape(a, layers[l], i, s, &c);
            CHECK(lf_get_weights(a, layers[l], i, v, c) == LF_OK && lf_set_weights(b, layers[l], i, v, c) == LF_OK,
                  "copy weights");
            for (int k = 0; state && k < lf_model_optimizer_slots(a); k++)
                CHECK(lf_get_optimizer_slot(a, layers[l], i, k, v, c) == LF_OK &&
                          lf_set_optimizer_slot(b, layers[l], i, k, v, c) == LF_OK,
                      "copy slot %d: %s", k, lf_model_error(b));
        }
    if (state) CHECK(lf_model_set_iterations(b, lf_model_iterations(a)) == LF_OK, "%s", lf_model_error(b));
}

static void test_resume(lf_optimizer opt, const char *what, int slots) {
    float x[N * IN], y[N * 2];
    for (size_t i = 0; i < N * IN; i++) x[i] = (float)sin(0.7 * (double)i + 0.3);
    for (size_t r = 0; r < N; r++) y[2 * r] = x[IN * r] - x[IN * r + 1], y[2 * r + 1] = 0.5f * x[IN * r + 2];
    lf_model *a = model(3, &opt), *b = model(11, &opt), *c = model(11, &opt);
    CHECK(lf_model_optimizer_slots(a) == slots, "%s: %d slots", what, lf_model_optimizer_slots(a));
    fit(a, x, y, 2);
    CHECK(lf_model_iterations(a) == 6, "%s: 6 steps, %llu", what, (unsigned long long)lf_model_iterations(a));
    copy(a, b, 1);
    copy(a, c, 0);
    float sa[64], sb[64];
    for (int k = 0; k < slots; k++) {
        size_t n = dump(a, k, sa);
        CHECK(n == 3 * 4 + 4 + 4 * 2 + 2 && dump(b, k, sb) == n && memcmp(sa, sb, n * sizeof *sa) == 0,
              "%s: slot %d copied", what, k);
    }
    fit(a, x, y, 2), fit(b, x, y, 2), fit(c, x, y, 2);
    size_t n = dump(a, -1, sa);
    dump(b, -1, sb);
    CHECK(memcmp(sa, sb, n * sizeof *sa) == 0, "%s: the copy with the state trains on bit for bit", what);
    dump(c, -1, sb);
    CHECK(memcmp(sa, sb, n * sizeof *sa) != 0, "%s: the copy without it trains otherwise", what);
    lf_model_free(a), lf_model_free(b), lf_model_free(c);
}

static void test_refusals(void) {
    lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
    lf_model *u = model(1, NULL), *m = model(1, &opt);
    float v[12] = {0}, back[12];
    CHECK(lf_model_optimizer_slots(u) == 0 && lf_model_optimizer_slots(NULL) == 0, "uncompiled: 0 slots");
    CHECK(lf_get_optimizer_slot(u, "hidden", 0, 0, v, 12) == LF_ERR_STATE &&
              strcmp(lf_model_error(u), "the optimizer's state needs a compiled model") == 0,
          "uncompiled: %s", lf_model_error(u));
    CHECK(lf_model_set_iterations(u, 1) == LF_ERR_STATE &&
              strcmp(lf_model_error(u), "set_iterations needs a compiled model") == 0, "%s", lf_model_error(u));
    CHECK(lf_get_optimizer_slot(m, "hidden", 0, 2, v, 12) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "optimizer slot 2: the optimizer keeps slots 0..1") == 0,
          "slot: %s", lf_model_error(m));
    CHECK(lf_get_optimizer_slot(m, "hidden", 0, 0, v, 11) == LF_ERR_SHAPE &&
              strcmp(lf_model_error(m), "layer 'hidden' weight 0 holds 12 values, 11 given") == 0,
          "count: %s", lf_model_error(m));
    for (int i = 0; i < 12; i++) v[i] = 0.25f * (float)(i + 1);
    CHECK(lf_set_optimizer_slot(m, "hidden", 0, 1, v, 12) == LF_OK, "%s", lf_model_error(m));
    float bad[12];
    memcpy(bad, v, sizeof bad);
    bad[5] = -1.0f;
    CHECK(lf_set_optimizer_slot(m, "hidden", 0, 1, bad, 12) == LF_ERR_NUMERIC &&
              strcmp(lf_model_error(m), "layer 'hidden' weight 0, optimizer slot 1: value 5 is negative (this "
                                        "optimizer keeps it >= 0)") == 0,
          "negative: %s", lf_model_error(m));
    bad[5] = NAN;
    CHECK(lf_set_optimizer_slot(m, "hidden", 0, 0, bad, 12) == LF_ERR_NUMERIC &&
              strcmp(lf_model_error(m), "layer 'hidden' weight 0, optimizer slot 0: value 5 is not finite") == 0,
          "NaN: %s", lf_model_error(m));
    bad[5] = -1.0f; /* the first moment may be negative */
    CHECK(lf_set_optimizer_slot(m, "hidden", 0, 0, bad, 12) == LF_OK, "%s", lf_model_error(m));
    CHECK(lf_get_optimizer_slot(m, "hidden", 0, 1, back, 12) == LF_OK && memcmp(back, v, sizeof v) == 0,
          "a refused set left the state as it was");
    CHECK(lf_model_set_iterations(m, (uint64_t)INT64_MAX + 1) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "iterations 9223372036854775808 is more than 2^63 - 1") == 0,
          "%s", lf_model_error(m));
    CHECK(lf_model_set_iterations(m, 41) == LF_OK && lf_model_iterations(m) == 41, "iterations set");
    lf_model_free(u), lf_model_free(m);
}

int main(void) {
    lf_optimizer adam = lf_optimizer_default(LF_OPT_ADAM), ams = adam, sgd = lf_optimizer_default(LF_OPT_SGD),
                 rms = lf_optimizer_default(LF_OPT_RMSPROP);
    adam.learning_rate = ams.learning_rate = 0.01f, ams.amsgrad = 1;
    sgd.learning_rate = 0.05f, sgd.momentum = 0.9f;
    rms.learning_rate = 0.01f, rms.momentum = 0.5f, rms.centered = 1;
    test_resume(adam, "adam", 2);
    test_resume(ams, "amsgrad", 3);
    test_resume(sgd, "sgd momentum", 2);
    test_resume(rms, "rmsprop centered", 3);
    test_refusals();
    return check_report("optimizer_state");
}
