/*
 * test_shared.c — a layer's weights beyond their record's default: Keras'
 * shared layers (lf_share_weights) and initializers (lf_initialize).
 *
 * Sharing: a Dense applied to two inputs with one set of weights is checked
 * against finite differences (every weight moves both applications, so
 * the analytic gradient must be the sum of both) and against the same
 * network with two unshared copies of the weights (its two gradients
 * summed); the model file keeps the sharing ("shares") and predicts
 * bit-identically after loading; every refusal has its exact message.
 * Initializers: the statistics Keras defines (limits, standard deviations
 * with fans from the weight's shape, the 2-sd truncation) on large draws.
 */
#include "check.h"
#include "engine_util.h"
#include "layers/layer.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

/* x, y (4) -> d1 = Dense(3, tanh)(x), d2 = the same Dense on y (shared
 * when share), s = d1 + d2, o = Dense(2, softmax)(s) */
static lf_model *two_branch(int share, int *d1, int *d2) {
    lf_model *m;
    lf_model_create(&m, 5);
    int x = lf_input(m, 4, "x1"), y = lf_input(m, 4, "y1");
    *d1 = lf_dense(m, x, 3, LF_ACT_TANH, 1, "d1");
    *d2 = lf_dense(m, y, 3, LF_ACT_TANH, 1, "d2");
    if (share) CHECK(lf_share_weights(m, *d2, *d1) == LF_OK, "share: %s", lf_model_error(m));
    int s = lf_add(m, 2, (int[]){*d1, *d2}, "s1");
    int o = lf_dense(m, s, 2, LF_ACT_SOFTMAX, 1, "o1");
    CHECK(lf_model_compile(m, o, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    return m;
}

enum { N = 8 };

static void data(float *x, float *y, float *t) {
    fill_uniform(x, N * 4, -2, 2, 11);
    fill_uniform(y, N * 4, -2, 2, 12);
    for (size_t r = 0; r < N; r++) t[2 * r] = (float)(r % 2), t[2 * r + 1] = (float)(1 - r % 2);
}

static void test_gradients(void) {
    int d1, d2;
    lf_model *m = two_branch(1, &d1, &d2);
    CHECK(lf_model_num_params(m) == 4 * 3 + 3 + 3 * 2 + 2, "shared: %zu params, want 23",
          lf_model_num_params(m));
    CHECK(lf_layer_num_weights(m, "d2") == 0 && lf_layer_num_weights(m, "d1") == 2,
          "the shared node has no weights of its own");
    float x[N * 4], y[N * 4], t[N * 2];
    data(x, y, t);
    /* larger kernels so that the finite differences stand well above the tolerance */
    float k[12];
    fill_uniform(k, 12, -1.5f, 1.5f, 3);
    CHECK(lf_set_weights(m, "d1", 0, k, 12) == LF_OK, "set d1");
    const float *xs[2] = {x, y};
    double l0;
    CHECK(lf__loss_and_grads(m, xs, t, N, 0, 0, &l0, NULL) == LF_OK, "loss and grads");
    size_t np = lf_model_num_params(m);
    float ana[23] = {0}, num[23] = {0};
    memcpy(ana, m->grads, np * sizeof *ana);
    float big = 0;
    for (size_t j = 0; j < np; j++) {
        float w = m->params[j], h = 1e-3f;
        double lp, lm;
        m->params[j] = w + h;
        lf__loss_and_grads(m, xs, t, N, 0, 0, &lp, NULL);
        m->params[j] = w - h;
        lf__loss_and_grads(m, xs, t, N, 0, 0, &lm, NULL);
        m->params[j] = w;
        num[j] = (float)((lp - lm) / (2.0 * h));
        big = fabsf(num[j]) > big ? fabsf(num[j]) : big;
    }
    CHECK_CLOSE("shared Dense: parameter gradients against finite differences", ana, num, np, 2e-3, 2e-2);
    CHECK(big > 0.02f, "the largest finite difference %g stands above 10 x the tolerance", (double)big);

    /* the same network with two copies of the weights: their gradients summed */
    lf_model *u = two_branch(0, &d1, &d2);
    float w[15];
    for (int i = 0; i < 2; i++) {
        size_t cnt = i ? 3 : 12;
        CHECK(lf_get_weights(m, "d1", (size_t)i, w, cnt) == LF_OK, "get");
        CHECK(lf_set_weights(u, "d1", (size_t)i, w, cnt) == LF_OK && lf_set_weights(u, "d2", (size_t)i, w, cnt) == LF_OK,
              "set");
        CHECK(lf_get_weights(m, "o1", (size_t)i, w, i ? 2 : 6) == LF_OK && lf_set_weights(u, "o1", (size_t)i, w, i ? 2 : 6) == LF_OK,
              "copy o");
    }
    double lu;
    CHECK(lf__loss_and_grads(u, xs, t, N, 0, 0, &lu, NULL) == LF_OK, "unshared loss");
    CHECK(lu == l0, "the unshared copy has the same loss (%.9g, %.9g)", lu, l0);
    const lf_node *a = &u->nodes[lf_node_find(u, "d1")], *b = &u->nodes[lf_node_find(u, "d2")];
    float sum[15];
    for (size_t j = 0; j < 15; j++) sum[j] = u->grads[a->param_off + j] + u->grads[b->param_off + j];
    CHECK_CLOSE("shared gradient = sum of the unshared copies' gradients", ana, sum, 15, 1e-6, 1e-6);
    lf_model_free(u);

    /* one training step moves both applications: they stay one set of weights */
    CHECK(lf__loss_and_grads(m, xs, t, N, 1, 1, &l0, NULL) == LF_OK, "a step");
    CHECK(lf_model_num_params(m) == 23, "still 23 params after a step");
    lf_model_free(m);
}

static void test_file(void) {
    int d1, d2;
    lf_model *m = two_branch(1, &d1, &d2);
    float x[N * 4], y[N * 4], t[N * 2];
    data(x, y, t);
    const float *xs[2] = {x, y};
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/shared.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    CHECK(lf_model_save(m, path, LF_SAVE_OPTIMIZER) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *g;
    lf_model_create(&g, 0);
    CHECK(lf_model_load(g, path) == LF_OK, "load: %s", lf_model_error(g));
    CHECK(lf_model_num_params(g) == 23 && lf_layer_num_weights(g, "d2") == 0, "loaded: still shared");
    float p1[N * 2], p2[N * 2];
    lf_model_predict(m, xs, N, p1);
    lf_model_predict(g, xs, N, p2);
    CHECK(memcmp(p1, p2, sizeof p1) == 0, "the loaded model predicts bit-identically");
    lf_model_free(g);

    /* the file's "shares" names the owner; bad ones are refused (the
     * architecture is a JSON string inside the metadata: its quotes
     * escaped) */
    static const struct {
        const char *name, *msg;
    } cases[] = {
        {"zz", "architecture: layer 'd2': 'shares' does not name an earlier layer"},
        {"o1", "architecture: layer 'd2': 'shares' does not name an earlier layer"},
        {"x1", "architecture: layer 'd2': layer 'd2' (Dense) cannot share the weights of 'x1' (InputLayer): "
               "inputs have no weights"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char to[32];
        snprintf(to, sizeof to, "\\\"shares\\\":\\\"%s\\\"", cases[c].name);
        int edited = check_edit_file(path, bad, "\\\"shares\\\":\\\"d1\\\"", to);
        CHECK(edited, "the file records \"shares\":\"d1\"");
        if (!edited) continue;
        lf_model_create(&g, 0);
        char want[512];
        snprintf(want, sizeof want, "'%s': %s", bad, cases[c].msg);
        CHECK(lf_model_load(g, bad) == LF_ERR_FORMAT && strcmp(lf_model_error(g), want) == 0,
              "bad shares %s: got \"%s\"", cases[c].name, lf_model_error(g));
        lf_model_free(g);
    }
    remove(bad);
    remove(path);
    lf_model_free(m);
}

static void expect_error(lf_model *m, lf_status got, lf_status want, const char *msg) {
    CHECK(got == want && strcmp(lf_model_error(m), msg) == 0, "want \"%s\", got %d \"%s\"", msg, (int)got,
          lf_model_error(m));
    lf_model_free(m);
}

static void test_refusals(void) {
    lf_model *m;
    lf_model_create(&m, 0);
    int x = lf_input(m, 4, "x"), z = lf_input(m, 5, "z");
    int d1 = lf_dense(m, x, 3, LF_ACT_TANH, 1, "d1"), d3 = lf_dense(m, z, 3, LF_ACT_TANH, 1, "d3");
    expect_error(m, lf_share_weights(m, d3, d1), LF_ERR_SHAPE,
                 "layer 'd3' cannot share the weights of 'd1': its kernel would have shape (3, 5), not (3, 4)");

    lf_model_create(&m, 0);
    x = lf_input(m, 4, "x");
    d1 = lf_dense(m, x, 3, LF_ACT_TANH, 1, "d1");
    int a = lf_activation_layer(m, x, LF_ACT_RELU, "a");
    expect_error(m, lf_share_weights(m, a, d1), LF_ERR_ARG,
                 "layer 'a' (Activation) cannot share the weights of 'd1' (Dense): the kinds differ");

    lf_model_create(&m, 0);
    x = lf_input(m, 4, "x");
    d1 = lf_dense(m, x, 3, LF_ACT_TANH, 1, "d1");
    lf_dense(m, x, 3, LF_ACT_TANH, 0, "d2");
    expect_error(m, lf_share_weights(m, d1, 1), LF_ERR_ARG, "lf_share_weights: node 1 is not the last node added");

    lf_model_create(&m, 0);
    x = lf_input(m, 4, "x");
    d1 = lf_dense(m, x, 3, LF_ACT_TANH, 1, "d1");
    int d2 = lf_dense(m, x, 3, LF_ACT_TANH, 0, "d2");
    expect_error(m, lf_share_weights(m, d2, d1), LF_ERR_SHAPE,
                 "layer 'd2' cannot share the weights of 'd1': 1 weight tensors, not 2");

    lf_model_create(&m, 0);
    x = lf_input(m, 4, "x");
    int x2 = lf_input(m, 4, "x2");
    expect_error(m, lf_share_weights(m, x2, x), LF_ERR_ARG,
                 "layer 'x2' (InputLayer) cannot share the weights of 'x' (InputLayer): inputs have no weights");

    lf_model_create(&m, 0);
    x = lf_input(m, 4, "x");
    d1 = lf_dense(m, x, 3, LF_ACT_TANH, 1, "d1");
    expect_error(m, lf_share_weights(m, d1, d1), LF_ERR_ARG, "lf_share_weights: node 1 cannot share its own weights");

    /* a share of a share is a share of the owner */
    lf_model_create(&m, 0);
    x = lf_input(m, 4, "x");
    d1 = lf_dense(m, x, 4, LF_ACT_TANH, 1, "d1");
    d2 = lf_dense(m, d1, 4, LF_ACT_TANH, 1, "d2");
    CHECK(lf_share_weights(m, d2, d1) == LF_OK, "share d2");
    int d3b = lf_dense(m, d2, 4, LF_ACT_TANH, 1, "d3");
    CHECK(lf_share_weights(m, d3b, d2) == LF_OK && m->nodes[d3b].shares == d1 + 1,
          "d3 shares d1's weights through d2");
    CHECK(lf_model_num_params(m) == 20, "three applications, 20 params (got %zu)", lf_model_num_params(m));
    lf_model_free(m);
}

/* sample standard deviation and largest |value| of n floats */
static void stats(const float *w, size_t n, double *sd, double *mx) {
    double s = 0, s2 = 0;
    *mx = 0;
    for (size_t i = 0; i < n; i++) {
        s += w[i], s2 += (double)w[i] * w[i];
        *mx = fabs(w[i]) > *mx ? fabs(w[i]) : *mx;
    }
    *sd = sqrt(s2 / (double)n - (s / (double)n) * (s / (double)n));
}

static void test_initializers(void) {
    lf_model *m;
    lf_model_create(&m, 3);
    int x = lf_input(m, 400, "x");
    int k = lf_dense(m, x, 200, LF_ACT_LINEAR, 1, "k");
    size_t n = 200 * 400;
    float *w = malloc(n * sizeof *w);
    /* fan_in 400, fan_out 200: the Keras kernel is (400, 200) */
    static const struct {
        lf_initializer init;
        double sd, max;  /* want; max: the bound (uniform: reached within 1 %) */
    } cases[] = {
        {LF_INIT_GLOROT_UNIFORM, 0.1 / 1.7320508, 0.1},
        {LF_INIT_GLOROT_NORMAL, 0.0577350, 2 * 0.0577350 / 0.87962566103423978},
        {LF_INIT_HE_UNIFORM, 0.1224745 / 1.7320508, 0.1224745},
        {LF_INIT_HE_NORMAL, 0.0707107, 2 * 0.0707107 / 0.87962566103423978},
        {LF_INIT_LECUN_UNIFORM, 0.0866025 / 1.7320508, 0.0866025},
        {LF_INIT_LECUN_NORMAL, 0.05, 2 * 0.05 / 0.87962566103423978},
        {LF_INIT_RANDOM_UNIFORM, 0.05 / 1.7320508, 0.05},
        {LF_INIT_RANDOM_NORMAL, 0.05, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *name = lf_initializer_name(cases[c].init);
        CHECK(lf_initializer_parse(name) == (int)cases[c].init, "parse %s", name);
        CHECK(lf_initialize(m, k, 0, cases[c].init) == LF_OK, "%s: %s", name, lf_model_error(m));
        lf_get_weights(m, "k", 0, w, n);
        double sd, mx;
        stats(w, n, &sd, &mx);
        CHECK(fabs(sd / cases[c].sd - 1) < 0.02, "%s: sd %.5f, want %.5f", name, sd, cases[c].sd);
        if (cases[c].max > 0)
            CHECK(mx <= cases[c].max * (1 + 1e-6) && mx > 0.99 * cases[c].max, "%s: max |w| %.5f, bound %.5f", name,
                  mx, cases[c].max);
    }
    float b[200];
    CHECK(lf_initialize(m, k, 1, LF_INIT_ONES) == LF_OK, "ones");
    lf_get_weights(m, "k", 1, b, 200);
    CHECK(b[0] == 1.0f && b[199] == 1.0f, "ones on the bias");
    CHECK(lf_initialize(m, k, 1, LF_INIT_ZEROS) == LF_OK, "zeros");
    lf_get_weights(m, "k", 1, b, 200);
    CHECK(b[0] == 0.0f && b[199] == 0.0f, "zeros on the bias");
    CHECK(lf_initializer_parse("he_normall") == -1 && lf_initializer_name((lf_initializer)99) == NULL,
          "unknown initializer names");
    CHECK(lf_initialize(m, k, 2, LF_INIT_ONES) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_initialize: layer 'k' has 2 weight tensors, index 2 asked") == 0,
          "index out of range: %s", lf_model_error(m));
    CHECK(lf_initialize(m, 7, 0, LF_INIT_ONES) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_initialize: node 7 is not a node of this model") == 0,
          "bad node: %s", lf_model_error(m));
    CHECK(lf_initialize(m, k, 0, (lf_initializer)10) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_initialize: unknown initializer 10") == 0,
          "bad initializer: %s", lf_model_error(m));
    free(w);
    lf_model_free(m);

    /* a convolution kernel (3, 3, 2, 8): fan_in 18, he_uniform's limit sqrt(6 / 18) */
    lf_model_create(&m, 3);
    size_t dims[3] = {6, 6, 2};
    x = lf_input_shape(m, 3, dims, LF_DTYPE_FLOAT32, "img");
    int c = lf_conv2d(m, x, 8, 3, 3, 1, 1, LF_PADDING_VALID, LF_ACT_LINEAR, 1, "c");
    CHECK(lf_initialize(m, c, 0, LF_INIT_HE_UNIFORM) == LF_OK, "conv he_uniform");
    float kw[144];
    lf_get_weights(m, "c", 0, kw, 144);
    double sd, mx;
    stats(kw, 144, &sd, &mx);
    CHECK(mx <= 0.5773503 && mx > 0.5, "conv he_uniform: max |w| %.4f within sqrt(6/18) = 0.5774", mx);
    lf_model_free(m);
}

/* A shared BatchNormalization whose layer is frozen (its owner's flag, as
 * Python sets it for the layer) runs in inference mode at every call, as
 * Keras' frozen layer does: the moving statistics stay as they are, and a
 * training pass of the sharing node gives what an inference pass gives. */
static void test_frozen_shared(void) {
    lf_model *m;
    lf_model_create(&m, 7);
    int x = lf_input(m, 3, "x1"), y = lf_input(m, 3, "y1");
    int b1 = lf_batch_normalization(m, x, 0.99f, 1e-3f, "bn");
    int b2 = lf_batch_normalization(m, y, 0.99f, 1e-3f, "bn_1");
    CHECK(lf_share_weights(m, b2, b1) == LF_OK, "share: %s", lf_model_error(m));
    int c = lf_concatenate(m, 2, (int[]){b1, b2}, "cat");
    int o = lf_dense(m, c, 2, LF_ACT_SOFTMAX, 1, "o1");
    CHECK(lf_model_compile(m, o, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    CHECK(lf_set_trainable(m, b1, 0) == LF_OK, "freeze");
    float xv[N * 3], yv[N * 3], t[N * 2];
    fill_uniform(xv, N * 3, 3, 7, 21);
    fill_uniform(yv, N * 3, 3, 7, 22);
    for (size_t r = 0; r < N; r++) t[2 * r] = (float)(r % 2), t[2 * r + 1] = (float)(1 - r % 2);
    const float *xs[2] = {xv, yv};
    float before[4 * 3], after[4 * 3];
    for (size_t k = 0; k < 4; k++) lf_get_weights(m, "bn", k, before + 3 * k, 3);
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 1, fo.batch_size = N;
    CHECK(lf_model_fit(m, xs, t, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    for (size_t k = 0; k < 4; k++) lf_get_weights(m, "bn", k, after + 3 * k, 3);
    CHECK(memcmp(before, after, sizeof before) == 0,
          "a frozen shared BatchNormalization's weights moved (moving mean %g -> %g)", (double)before[6],
          (double)after[6]);
    lf_ws ws;
    float tr[N * 3], inf[N * 3];
    lf_ws_init(&ws, m, N, 1, NULL, 0);
    lf_graph_forward(m, &ws, xs, N, 1, &m->rng);
    memcpy(tr, ws.out[b2], sizeof tr);
    lf_graph_forward(m, &ws, xs, N, 0, NULL);
    memcpy(inf, ws.out[b2], sizeof inf);
    lf_ws_free(&ws);
    CHECK(memcmp(tr, inf, sizeof tr) == 0, "the sharing call of a frozen BatchNormalization used batch statistics");
    lf_model_free(m);

    /* the flag is the layer's: freezing the sharing node freezes the weights
     * (all of their users), and both nodes report it */
    int d1, d2;
    m = two_branch(1, &d1, &d2);
    CHECK(lf_set_trainable(m, d2, 0) == LF_OK, "freeze the sharing node");
    CHECK(lf_node_trainable(m, d1) == 0 && lf_node_trainable(m, d2) == 0,
          "the shared layer is frozen at both nodes: %d %d", lf_node_trainable(m, d1), lf_node_trainable(m, d2));
    float k0[12], k1[12], xa[N * 4], ya[N * 4], ta[N * 2];
    data(xa, ya, ta);
    const float *xs2[2] = {xa, ya};
    lf_get_weights(m, "d1", 0, k0, 12);
    CHECK(lf_model_fit(m, xs2, ta, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    lf_get_weights(m, "d1", 0, k1, 12);
    CHECK(memcmp(k0, k1, sizeof k0) == 0, "the weights of a layer frozen at its sharing node trained");
    CHECK(lf_set_trainable(m, d2, 1) == LF_OK && lf_node_trainable(m, d1) == 1, "unfrozen again");
    lf_model_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_shared_XXXXXX");
    if (!mkdtemp(tmpdir)) return 2;
    test_gradients();
    test_file();
    test_frozen_shared();
    test_refusals();
    test_initializers();
    rmdir(tmpdir);
    return check_report("test_shared");
}
