/*
 * test_activation_layers.c — Keras' ReLU, LeakyReLU, ELU, PReLU and
 * Softmax layers (activation_layers.c): outputs against values worked out
 * by hand (Keras' docstring example for ReLU; softmax inputs log p, whose
 * outputs are p over the group's sum), PReLU's alpha shape and its
 * weights, the padding mask kept or refused, the builders' exact errors,
 * and the model file: fields only for non-defaults, a round trip that
 * predicts the same bits, a bad value in a file refused.  Gradients:
 * test_grad.c; PyTorch: test_golden.c (activation_layers.safetensors).
 */
#include "check.h"
#include "engine_util.h"
#include "augment_util.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

/* x (rank, shape) -> the layer add(m, x) as "act", compiled with mse */
static lf_model *one_layer(size_t rank, const size_t *shape, int (*add)(lf_model *, int), int *node) {
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input_shape(m, rank, shape, LF_DTYPE_FLOAT32, "x");
    *node = add(m, x);
    CHECK(*node > 0 && lf_model_compile(m, *node, LF_LOSS_MSE, NULL) == LF_OK, "build: %s", lf_model_error(m));
    return m;
}

static void expect(const char *what, lf_model *m, const float *x, size_t n, size_t D, const float *want) {
    float *y = malloc(n * D * sizeof *y);
    const float *xs[1] = {x};
    CHECK(lf_model_predict(m, xs, n, y) == LF_OK, "%s: predict: %s", what, lf_model_error(m));
    CHECK_CLOSE(what, y, want, n * D, 1e-6, 1e-6);
    free(y);
}

static int add_relu_doc(lf_model *m, int x) { return lf_relu_layer(m, x, 10.0f, 0.5f, 0.0f, "act"); }
static int add_relu_all(lf_model *m, int x) { return lf_relu_layer(m, x, 6.0f, 0.25f, 1.0f, "act"); }
static int add_relu_plain(lf_model *m, int x) { return lf_relu_layer(m, x, INFINITY, 0.0f, 0.0f, "act"); }
static int add_relu_low_max(lf_model *m, int x) { return lf_relu_layer(m, x, 1.0f, 0.5f, 2.0f, "act"); }
static int add_leaky(lf_model *m, int x) { return lf_leaky_relu(m, x, 0.3f, "act"); }
static int add_elu(lf_model *m, int x) { return lf_elu_layer(m, x, 0.5f, "act"); }
static int add_prelu_1(lf_model *m, int x) { return lf_prelu(m, x, (int[]){1}, 1, "act"); }
static int add_prelu_none(lf_model *m, int x) { return lf_prelu(m, x, NULL, 0, "act"); }
static int add_prelu_2(lf_model *m, int x) { return lf_prelu(m, x, (int[]){2}, 1, "act"); }
static int add_prelu_12(lf_model *m, int x) { return lf_prelu(m, x, (int[]){1, 2}, 2, "act"); }
static int add_soft_last(lf_model *m, int x) { return lf_softmax_layer(m, x, (int[]){-1}, 1, "act"); }
static int add_soft_2(lf_model *m, int x) { return lf_softmax_layer(m, x, (int[]){2}, 1, "act"); }
static int add_soft_1(lf_model *m, int x) { return lf_softmax_layer(m, x, (int[]){1}, 1, "act"); }
static int add_soft_both(lf_model *m, int x) { return lf_softmax_layer(m, x, (int[]){-2, 2}, 2, "act"); }
static int add_act_softmax(lf_model *m, int x) { return lf_activation_layer(m, x, LF_ACT_SOFTMAX, "act"); }

/* ReLU, LeakyReLU, ELU by hand */
static void test_pointwise(void) {
    int node;
    size_t five[1] = {5};
    /* keras/src/layers/activations/relu.py's example */
    const float doc_x[5] = {-10, -5, 0, 5, 10}, doc_y[5] = {-5, -2.5f, 0, 5, 10};
    lf_model *m = one_layer(1, five, add_relu_doc, &node);
    expect("ReLU(10, 0.5, 0) (Keras' example)", m, doc_x, 1, 5, doc_y);
    lf_model_free(m);
    /* threshold 1: x above it, 0.25 (x - 1) at or below, 6 from 6 on */
    const float x[10] = {-2, 0, 0.5f, 1, 1.5f, 3, 5.5f, 6, 7, 100};
    const float all[10] = {-0.75f, -0.25f, -0.125f, 0, 1.5f, 3, 5.5f, 6, 6, 6};
    size_t ten[1] = {10};
    m = one_layer(1, ten, add_relu_all, &node);
    expect("ReLU(6, 0.25, 1)", m, x, 1, 10, all);
    lf_model_free(m);
    const float plain[10] = {0, 0, 0.5f, 1, 1.5f, 3, 5.5f, 6, 7, 100};
    m = one_layer(1, ten, add_relu_plain, &node);
    expect("ReLU()", m, x, 1, 10, plain);
    lf_model_free(m);
    /* max_value below threshold: Keras clips x > 2 to 1, 0.5 (x - 2) below */
    const float low[10] = {-2, -1, -0.75f, -0.5f, -0.25f, 1, 1, 1, 1, 1};
    m = one_layer(1, ten, add_relu_low_max, &node);
    expect("ReLU(1, 0.5, 2)", m, x, 1, 10, low);
    lf_model_free(m);
    const float leaky[10] = {-0.6f, 0, 0.5f, 1, 1.5f, 3, 5.5f, 6, 7, 100};
    m = one_layer(1, ten, add_leaky, &node);
    expect("LeakyReLU(0.3)", m, x, 1, 10, leaky);
    lf_model_free(m);
    /* 0.5 (e^x - 1) at -2 and 0: e^-2 = 0.1353352832366127 */
    const float elu[10] = {-0.43233235838169365f, 0, 0.5f, 1, 1.5f, 3, 5.5f, 6, 7, 100};
    m = one_layer(1, ten, add_elu, &node);
    expect("ELU(0.5)", m, x, 1, 10, elu);
    lf_model_free(m);
}

/* PReLU: alpha's shape (Keras' build), zeros at first (the output is
 * relu), then set: alpha x below 0 */
static void test_prelu(void) {
    static const struct {
        int (*add)(lf_model *, int);
        size_t rank, shape[3], count, div; /* value i's alpha: (i / div) % count */
        const char *what;
    } cases[] = {
        {add_prelu_1, 2, {2, 3}, 3, 1, "PReLU(shared_axes=[1]) of (2, 3)"},
        {add_prelu_none, 2, {2, 3}, 6, 1, "PReLU() of (2, 3)"},
        {add_prelu_12, 3, {2, 2, 3}, 3, 1, "PReLU(shared_axes=[1, 2]) of (2, 2, 3)"},
        {add_prelu_2, 2, {2, 3}, 2, 3, "PReLU(shared_axes=[2]) of (2, 3)"},
    };
    const float x[12] = {-1, 2, -3, 4, -5, -6, 1, -1, -2, -4, 3, -0.5f};
    const float alpha[6] = {0.1f, -0.5f, 2, 0.25f, 1, 0.5f};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int node;
        lf_model *m = one_layer(cases[c].rank, cases[c].shape, cases[c].add, &node);
        size_t D = 6 * (cases[c].rank == 3 ? 2 : 1), n = 12 / D, shape[2], count = 0;
        CHECK(lf_layer_num_weights(m, "act") == 1 && lf_layer_weight_shape(m, "act", 0, shape, &count) == LF_OK &&
                  count == cases[c].count,
              "%s: one weight of %zu values, got %zu", cases[c].what, cases[c].count, count);
        CHECK(m->nodes[node].rank == cases[c].rank, "%s: the output's rank", cases[c].what);
        float relu[12], want[12];
        for (size_t i = 0; i < 12; i++) {
            relu[i] = x[i] > 0 ? x[i] : 0;
            size_t k = (i / cases[c].div) % cases[c].count;
            want[i] = x[i] > 0 ? x[i] : alpha[k] * x[i];
        }
        expect(cases[c].what, m, x, n, D, relu); /* alpha 0 */
        CHECK(lf_set_weights(m, "act", 0, alpha, count) == LF_OK, "%s: set: %s", cases[c].what, lf_model_error(m));
        expect(cases[c].what, m, x, n, D, want);
        lf_model_free(m);
    }
}

/* Softmax: x = log p, so each group's output is p over its sum */
static void test_softmax(void) {
    const float p[12] = {1, 2, 1, 3, 1, 4, 2, 2, 4, 1, 1, 2};
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = logf(p[i]);
    size_t shape[2] = {2, 3};
    /* rows of 3: sums 4, 8, 8, 4 */
    const float rows[12] = {0.25f, 0.5f, 0.25f, 0.375f, 0.125f, 0.5f, 0.25f, 0.25f, 0.5f, 0.25f, 0.25f, 0.5f};
    /* columns of each (2, 3) sample: sums 4 3 5 and 3 3 6 */
    const float cols[12] = {0.25f, 2.0f / 3, 0.2f, 0.75f, 1.0f / 3, 0.8f, 2.0f / 3, 2.0f / 3, 4.0f / 6, 1.0f / 3,
                            1.0f / 3, 2.0f / 6};
    float whole[12];
    for (int i = 0; i < 12; i++) whole[i] = p[i] / 12.0f; /* both samples sum to 12 */
    int node;
    lf_model *m = one_layer(2, shape, add_soft_last, &node);
    expect("Softmax() of (2, 3)", m, x, 2, 6, rows);
    lf_model_free(m);
    m = one_layer(2, shape, add_soft_2, &node);
    expect("Softmax(axis=2) of (2, 3)", m, x, 2, 6, rows);
    lf_model_free(m);
    m = one_layer(2, shape, add_soft_1, &node);
    expect("Softmax(axis=1) of (2, 3)", m, x, 2, 6, cols);
    lf_model_free(m);
    m = one_layer(2, shape, add_soft_both, &node);
    expect("Softmax(axis=[-2, 2]) of (2, 3)", m, x, 2, 6, whole);
    lf_model_free(m);
    /* the last axis alone: Activation(softmax)'s bits */
    float a[12], b[12];
    const float *xs[1] = {x};
    m = one_layer(2, shape, add_soft_last, &node);
    lf_model *r = one_layer(2, shape, add_act_softmax, &node);
    CHECK(lf_model_predict(m, xs, 2, a) == LF_OK && lf_model_predict(r, xs, 2, b) == LF_OK &&
              memcmp(a, b, sizeof a) == 0,
          "Softmax() is Activation(softmax) bit for bit");
    lf_model_free(m), lf_model_free(r);
}

/* ReLU keeps an Embedding's padding mask; Softmax refuses it */
static void test_masks(void) {
    lf_model *m;
    lf_model_create(&m, 1);
    int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
    int e = lf_embedding(m, ids, 5, 3, 1, "emb");
    int r = lf_relu_layer(m, e, INFINITY, 0.0f, 0.0f, "relu");
    int p = lf_prelu(m, e, NULL, 0, "prelu");
    CHECK(r > 0 && p > 0 && m->nodes[r].seq_mask == e && m->nodes[p].seq_mask == e, "ReLU, PReLU keep the mask");
    int s = lf_softmax_layer(m, r, (int[]){-1}, 1, "soft");
    CHECK(s == -1 && strcmp(lf_model_error(m),
                            "Softmax: input 'relu' carries a padding mask, which Keras' Softmax adds to its "
                            "values; that is not supported") == 0,
          "Softmax of a masked input: %s", lf_model_error(m));
    lf_model_free(m);
}

/* The builders' refusals, word for word */
static void test_errors(void) {
    static const struct {
        int kind; /* 0 ReLU, 1 LeakyReLU, 2 ELU, 3 PReLU, 4 Softmax */
        float a, b, c;
        int axes[3];
        size_t n;
        const char *msg;
    } cases[] = {
        {0, -1, 0, 0, {0}, 0, "max_value of a ReLU layer cannot be a negative value. Received: max_value=-1"},
        {0, NAN, 0, 0, {0}, 0, "max_value of a ReLU layer cannot be a negative value. Received: max_value=nan"},
        {0, INFINITY, -0.5f, 0, {0}, 0,
         "negative_slope of a ReLU layer cannot be a negative value. Received: negative_slope=-0.5"},
        {0, INFINITY, 0, -2, {0}, 0, "threshold of a ReLU layer cannot be a negative value. Received: threshold=-2"},
        {1, 0, -0.3f, 0, {0}, 0,
         "The negative_slope value of a Leaky ReLU layer cannot be None or negative value. Expected a float. "
         "Received: negative_slope=-0.3"},
        {2, INFINITY, 0, 0, {0}, 0, "ELU: alpha must be a finite number, got inf"},
        {3, 0, 0, 0, {3}, 1, "PReLU: shared axis 3 is out of range for inputs of rank 3 (batch included)"},
        {3, 0, 0, 0, {-1}, 1, "PReLU: shared axis -1 is out of range for inputs of rank 3 (batch included)"},
        {3, 0, 0, 0, {0}, 1, "PReLU: shared axis 0 is the batch axis"},
        {3, 0, 0, 0, {1, 1}, 2, "PReLU: shared axis 1 is given twice"},
        {4, 0, 0, 0, {0}, 0, "Softmax: axis needs at least one axis"},
        {4, 0, 0, 0, {-3}, 1, "Softmax: axis -3 is the batch axis"},
        {4, 0, 0, 0, {-4}, 1, "Softmax: axis -4 is out of range for inputs of rank 3 (batch included)"},
        {4, 0, 0, 0, {2, -1}, 2, "Softmax: axis -1 is given twice"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        lf_model *m;
        lf_model_create(&m, 1);
        int x = lf_input_shape(m, 2, (size_t[]){2, 3}, LF_DTYPE_FLOAT32, "x");
        int k = cases[c].kind, id;
        if (k == 0) id = lf_relu_layer(m, x, cases[c].a, cases[c].b, cases[c].c, NULL);
        else if (k == 1) id = lf_leaky_relu(m, x, cases[c].b, NULL);
        else if (k == 2) id = lf_elu_layer(m, x, cases[c].a, NULL);
        else if (k == 3) id = lf_prelu(m, x, cases[c].axes, cases[c].n, NULL);
        else id = lf_softmax_layer(m, x, cases[c].axes, cases[c].n, NULL);
        CHECK(id == -1 && strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: want \"%s\", got \"%s\"", c,
              cases[c].msg, lf_model_error(m));
        lf_model_free(m);
    }
}

/* Each kind saved and loaded: the same bits, its fields (none at Keras'
 * defaults); a negative slope edited into a file is refused */
static int add_leaky_default(lf_model *m, int x) { return lf_leaky_relu(m, x, 0.3f, "act"); }
static int add_leaky_half(lf_model *m, int x) { return lf_leaky_relu(m, x, 0.5f, "act"); }
static int add_elu_default(lf_model *m, int x) { return lf_elu_layer(m, x, 1.0f, "act"); }
static int add_soft_default(lf_model *m, int x) { return lf_softmax_layer(m, x, (int[]){-1}, 1, "act"); }
static int add_soft_last_two(lf_model *m, int x) { return lf_softmax_layer(m, x, (int[]){-1, 2}, 2, "act"); }

static void test_file(void) {
    static const struct {
        int (*add)(lf_model *, int);
        const char *want;
    } cases[] = {
        {add_relu_plain, "\"type\":\"ReLU\",\"inbound\":[\"x\"]}"},
        {add_relu_all, "\"type\":\"ReLU\",\"inbound\":[\"x\"],\"max_value\":6,\"negative_slope\":0.25,\"threshold\":1}"},
        {add_leaky_default, "\"type\":\"LeakyReLU\",\"inbound\":[\"x\"]}"},
        {add_leaky_half, "\"type\":\"LeakyReLU\",\"inbound\":[\"x\"],\"negative_slope\":0.5}"},
        {add_elu_default, "\"type\":\"ELU\",\"inbound\":[\"x\"]}"},
        {add_elu, "\"type\":\"ELU\",\"inbound\":[\"x\"],\"alpha\":0.5}"},
        {add_prelu_none, "\"type\":\"PReLU\",\"inbound\":[\"x\"]}"},
        {add_prelu_12, "\"type\":\"PReLU\",\"inbound\":[\"x\"],\"shared_axes\":[1,2]}"},
        {add_soft_default, "\"type\":\"Softmax\",\"inbound\":[\"x\"]}"},
        {add_soft_1, "\"type\":\"Softmax\",\"inbound\":[\"x\"],\"axis\":1}"},
        {add_soft_last_two, "\"type\":\"Softmax\",\"inbound\":[\"x\"],\"axis\":[-1,2]}"},
    };
    enum { N = 5, D = 12 };
    float x[N * D];
    fill_uniform(x, N * D, -3, 3, 11);
    char path[96], bad[96];
    snprintf(path, sizeof path, "%s/a.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    lf_draws k = {lf_draw_key(1, 0, 0), 0};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int node;
        lf_model *m = one_layer(3, (size_t[]){2, 2, 3}, cases[c].add, &node);
        if (lf_layer_num_weights(m, "act") == 1) { /* PReLU: alpha not 0, so that it is the file's */
            float a[12];
            fill_uniform(a, 12, -1, 1, 12);
            CHECK(lf_set_weights(m, "act", 0, a, m->nodes[node].n_params) == LF_OK, "set alpha");
        }
        char what[32];
        snprintf(what, sizeof what, "file case %zu", c);
        aug_check_file(m, node, "act", path, x, N, D, 0, &k, cases[c].want, what);
        lf_model_free(m);
    }
    /* the last file (Softmax axis [-1, 2]) with an axis edited: 0, the batch */
    aug_check_file_refusal(path, bad, "act", 0, "[-1,2]", "[-1,0]", "Softmax: axis 0 is the batch axis", 0);
    int node;
    lf_model *m = one_layer(3, (size_t[]){2, 2, 3}, add_relu_all, &node);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model_free(m);
    aug_check_file_refusal(path, bad, "act", 1, "negative_slope\\\":0.25", "negative_slope\\\":-1.5",
                           "negative_slope of a ReLU layer cannot be a negative value. Received: negative_slope=-1.5", 0);
    remove(path), remove(bad);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_actl_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_pointwise();
    test_prelu();
    test_softmax();
    test_masks();
    test_errors();
    test_file();
    rmdir(tmpdir);
    return check_report("test_activation_layers");
}
