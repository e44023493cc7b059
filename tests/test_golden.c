/*
 * test_golden.c — the engine against PyTorch.  tests/make_golden.py builds
 * the same networks in PyTorch (float64 from float32 starting values) and
 * writes inputs, weights, every node's output, the loss, every gradient and
 * the weights after 1 and 5 Keras-Adam steps to the files in tests/golden/.
 * Here the C engine starts from the same weights and must agree within
 * 2e-5 absolute + 2e-4 relative (float32 arithmetic over sums of up to 128
 * terms; the script measured its own float32 re-run within 5.5e-7).
 */
#include "check.h"
#include "engine_util.h"
#include "io/safetensors.h"

#include <stdlib.h>

#define ATOL 2e-5
#define RTOL 2e-4

static lf_st_file gf;

/* a golden tensor as floats (malloc'd), NULL and a failure if absent */
static float *golden(const char *name, size_t *count) {
    const lf_st_tensor *t = lf_st_find(&gf, name);
    CHECK(t != NULL, "golden tensor '%s' missing", name);
    if (!t) return NULL;
    float *v = malloc(t->count * sizeof *v);
    lf_err e;
    CHECK(lf_st_tensor_f32(t, v, t->count, &e) == LF_OK, "tensor %s: %s", name, e.msg);
    if (count) *count = t->count;
    return v;
}

static void compare(const char *name, const float *got, size_t n) {
    size_t cnt = 0;
    float *want = golden(name, &cnt);
    if (!want) return;
    CHECK(cnt == n, "%s: %zu values in the golden file, %zu computed", name, cnt, n);
    if (cnt == n) CHECK_CLOSE(name, got, want, n, ATOL, RTOL);
    free(want);
}

/* loads every weight of every layer from "<layer>.kernel|bias|W" */
static void load_weights(lf_model *m) {
    for (size_t id = 0; id < m->n_nodes; id++) {
        const char *layer = m->nodes[id].name;
        size_t nw = lf_layer_num_weights(m, layer);
        for (size_t k = 0; k < nw; k++) {
            char name[96];
            const char *suffix = m->nodes[id].kind == LF_K_DENSE ? (k ? "bias" : "kernel") : "W";
            snprintf(name, sizeof name, "%s.%s", layer, suffix);
            size_t cnt = 0;
            float *v = golden(name, &cnt);
            if (v) CHECK(lf_set_weights(m, layer, k, v, cnt) == LF_OK, "set %s: %s", name, lf_model_error(m));
            free(v);
        }
    }
}

static void compare_weights(lf_model *m, const char *prefix) {
    for (size_t id = 0; id < m->n_nodes; id++) {
        const char *layer = m->nodes[id].name;
        size_t nw = lf_layer_num_weights(m, layer);
        for (size_t k = 0; k < nw; k++) {
            char name[96];
            const char *suffix = m->nodes[id].kind == LF_K_DENSE ? (k ? "bias" : "kernel") : "W";
            snprintf(name, sizeof name, "%s%s.%s", prefix, layer, suffix);
            size_t off, cnt;
            lf_layer_weight_shape(m, layer, k, NULL, &cnt);
            off = m->nodes[id].param_off + (k ? m->nodes[id].n_params - m->nodes[id].dim : 0);
            compare(name, (prefix[0] == 'g' ? m->grads : m->params) + off, cnt);
        }
    }
}

/* forward values, loss, gradients (and Adam steps when steps != 0) */
static void check_network(lf_model *m, const char *file, size_t B, int steps) {
    lf_err e;
    lf_status st = lf_st_read(file, &gf, &e);
    CHECK(st == LF_OK, "reading %s: %s", file, e.msg);
    if (st != LF_OK) return;
    load_weights(m);
    size_t ni = lf_model_num_inputs(m);
    float *x[8], *ig[8];
    for (size_t i = 0; i < ni; i++) {
        char name[96];
        snprintf(name, sizeof name, "x.%s", m->nodes[m->inputs[i]].name);
        x[i] = golden(name, NULL);
        ig[i] = calloc(B * lf_model_input_dim(m, i), sizeof(float));
    }
    float *y = golden("y", NULL);
    /* every node's forward value */
    float **outs = calloc(m->n_nodes, sizeof *outs);
    for (size_t id = 0; id < m->n_nodes; id++)
        if (m->nodes[id].kind != LF_K_INPUT) outs[id] = malloc(B * m->nodes[id].dim * sizeof(float));
    CHECK(lf__forward_nodes(m, (const float *const *)x, B, outs) == LF_OK, "forward");
    for (size_t id = 0; id < m->n_nodes; id++) {
        char name[96];
        /* Dropout in inference mode is the identity: PyTorch stores no
         * value of its own, its input's must match; any other node
         * missing from the golden file is a failure */
        const lf_node *nd = &m->nodes[id];
        snprintf(name, sizeof name, "fwd.%s", nd->kind == LF_K_DROPOUT ? m->nodes[nd->in[0]].name : nd->name);
        if (outs[id]) compare(name, outs[id], B * nd->dim);
        free(outs[id]);
    }
    free(outs);
    /* loss and gradients */
    double loss;
    CHECK(lf__loss_and_grads(m, (const float *const *)x, y, B, 0, steps > 0, &loss, ig) == LF_OK, "grads");
    float lf = (float)loss;
    compare("loss", &lf, 1);
    compare_weights(m, "grad.");
    for (size_t i = 0; i < ni; i++) {
        char name[96];
        snprintf(name, sizeof name, "grad.x.%s", m->nodes[m->inputs[i]].name);
        compare(name, ig[i], B * lf_model_input_dim(m, i));
    }
    if (steps) {
        compare_weights(m, "step1.");
        for (int s = 2; s <= 5; s++)
            lf__loss_and_grads(m, (const float *const *)x, y, B, 0, 1, &loss, NULL);
        compare_weights(m, "step5.");
        lf__loss_and_grads(m, (const float *const *)x, y, B, 0, 0, &loss, NULL);
        lf = (float)loss;
        compare("loss.step5", &lf, 1);
    }
    for (size_t i = 0; i < ni; i++) free(x[i]), free(ig[i]);
    free(y);
    lf_st_free(&gf);
}

static void test_seed(void) {
    lf_model *m;
    lf_model_create(&m, 1);
    int in1 = lf_input(m, 100, "in1"), in2 = lf_input(m, 100, "in2");
    int d1 = lf_dense(m, in1, 32, LF_ACT_RELU, 1, "d1"), d2 = lf_dense(m, in2, 32, LF_ACT_RELU, 1, "d2");
    int xs[2] = {d1, d2};
    int w = lf_weighted_average(m, 2, xs, -1, "wavg");
    int out = lf_dense(m, w, 1, LF_ACT_LINEAR, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network(m, "tests/golden/seed.safetensors", 8, 1);
    lf_model_free(m);
}

static void test_head(void) {
    lf_model *m;
    lf_model_create(&m, 2);
    int img = lf_input(m, 5, "image"), txt = lf_input(m, 5, "text");
    int xs[2] = {img, txt};
    int cat = lf_concatenate(m, 2, xs, "cat");
    int hid = lf_dense(m, cat, 128, LF_ACT_RELU, 1, "hidden");
    int drop = lf_dropout(m, hid, 0.2f, "drop");
    int out = lf_dense(m, drop, 5, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s",
          lf_model_error(m));
    check_network(m, "tests/golden/head.safetensors", 16, 1);
    lf_model_free(m);
}

static void test_zoo(void) {
    lf_model *m;
    lf_model_create(&m, 3);
    int a = lf_input(m, 4, "a"), b = lf_input(m, 4, "b"), c = lf_input(m, 4, "c");
    int lr = lf_dense(m, a, 4, LF_ACT_LEAKY_RELU, 1, "dense_lrelu");
    int el = lf_dense(m, b, 4, LF_ACT_ELU, 1, "dense_elu");
    int ge = lf_dense(m, c, 4, LF_ACT_GELU, 1, "dense_gelu");
    int th = lf_dense(m, a, 4, LF_ACT_TANH, 1, "dense_tanh");
    int sg = lf_dense(m, b, 4, LF_ACT_SIGMOID, 1, "dense_sig");
    int add = lf_add(m, 3, (int[]){lr, el, ge}, "add");
    int sub = lf_subtract(m, th, sg, "sub");
    int mul = lf_multiply(m, 2, (int[]){add, sub}, "mul");
    int avg = lf_average(m, 2, (int[]){lr, th}, "avg");
    int mx = lf_maximum(m, 3, (int[]){el, sg, ge}, "max");
    int mn = lf_minimum(m, 2, (int[]){ge, th}, "min");
    int cw = lf_class_weighted_average(m, 3, (int[]){mul, avg, mx}, -1, "cwavg");
    int cat = lf_concatenate(m, 2, (int[]){cw, mn}, "cat");
    int dot = lf_dot(m, lr, el, 1, "dot");
    int dotraw = lf_dot(m, add, avg, 0, "dotraw");
    int cat2 = lf_concatenate(m, 3, (int[]){cat, dot, dotraw}, "cat2");
    int out = lf_dense(m, cat2, 3, LF_ACT_LINEAR, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network(m, "tests/golden/zoo.safetensors", 6, 0);
    lf_model_free(m);
}

int main(void) {
    test_seed();
    test_head();
    test_zoo();
    return check_report("test_golden");
}
