/*
 * make_model_seeds.c — writes the real latefuse model files of the seed
 * corpus with the public API (lf_model_save), so that the model fuzzer
 * starts from files the library itself produces.  Run by
 * fuzz/make_corpus.sh; the outputs are committed under fuzz/corpus/.
 *
 *   make_model_seeds OUTDIR
 * writes OUTDIR/ok_seed.lfm (the WeightedAverage network, small),
 * OUTDIR/ok_seed_adam.lfm (the same with the optimizer state),
 * OUTDIR/ok_zoo.lfm (every layer type and activation),
 * OUTDIR/ok_uncompiled.lfm (a graph saved before compile), and
 * OUTDIR/ok_cnn.lfm (every image layer, format version 2: shapes) and
 * OUTDIR/ok_seq.lfm (every sequence layer, the padding mask) and
 * OUTDIR/ok_attention.lfm (MultiHeadAttention: self-attention with the
 * padding mask and dropout, cross-attention with a key, no bias).
 */
#include "latefuse.h"

#include <stdio.h>

static int save(lf_model *m, const char *dir, const char *name, unsigned flags) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (lf_model_save(m, path, flags) != LF_OK) {
        fprintf(stderr, "%s: %s\n", path, lf_model_error(m));
        return 1;
    }
    return 0;
}

/* Input(3) x2 -> Dense(4, relu) each -> WeightedAverage -> Dense(1) */
static int seed_net(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 42) != LF_OK) return 1;
    int a = lf_input(m, 3, "in_a"), b = lf_input(m, 3, "in_b");
    int xa = lf_dense(m, a, 4, LF_ACT_RELU, 1, NULL), xb = lf_dense(m, b, 4, LF_ACT_RELU, 1, NULL);
    int xs[2] = {xa, xb};
    int w = lf_weighted_average(m, 2, xs, -1, "wavg");
    int out = lf_dense(m, w, 1, LF_ACT_LINEAR, 1, "out");
    int rc = lf_model_compile(m, out, LF_LOSS_MSE, NULL) != LF_OK;
    if (!rc) {
        /* one step of training so that the optimizer state is not zero */
        float x1[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, x2[6] = {1, 0, 1, 0, 1, 0};
        float y[2] = {0.5f, 0.25f};
        const float *x[2] = {x1, x2};
        lf_fit_options o = lf_fit_defaults();
        rc = lf_model_fit(m, x, y, 2, &o) != LF_OK;
    }
    rc = rc || save(m, dir, "ok_seed.lfm", 0) || save(m, dir, "ok_seed_adam.lfm", LF_SAVE_OPTIMIZER);
    lf_model_free(m);
    return rc;
}

/* every layer type and activation, dims 2..3 */
static int zoo(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 7) != LF_OK) return 1;
    int a = lf_input(m, 3, "a"), b = lf_input(m, 3, "b"), mask = lf_input(m, 2, "mask");
    int d[8];
    for (int k = 0; k < 8; k++) d[k] = lf_dense(m, k % 2 ? b : a, 2, (lf_activation)k, k % 3 != 0, NULL);
    lf_set_l2(m, d[0], 0.01f);
    int act = lf_activation_layer(m, d[0], LF_ACT_TANH, "act");
    int drop = lf_dropout(m, act, 0.25f, "drop");
    int p2[2] = {drop, d[1]};
    int add = lf_add(m, 2, p2, "add");
    int sub = lf_subtract(m, d[2], d[3], "sub");
    int p3[3] = {d[4], d[5], d[6]};
    int mul = lf_multiply(m, 3, p3, "mul");
    int avg = lf_average(m, 3, p3, "avg");
    int mx = lf_maximum(m, 2, p2, "max");
    int mn = lf_minimum(m, 2, p2, "min");
    int dot = lf_dot(m, add, sub, 1, "dot");
    int dot2 = lf_dot(m, mul, avg, 0, "dot2");
    int q[2] = {mx, mn};
    int wavg = lf_weighted_average(m, 2, q, mask, "wavg");
    int cw = lf_class_weighted_average(m, 2, q, -1, "cwavg");
    int gate = lf_dense(m, d[7], 2, LF_ACT_LINEAR, 1, "gate");
    int r[2] = {wavg, cw};
    int gated = lf_gated_average(m, 2, r, gate, mask, "gated");
    int c[3] = {gated, dot, dot2};
    int cat = lf_concatenate(m, 3, c, "cat");
    int out = lf_dense(m, cat, 3, LF_ACT_SOFTMAX, 1, "out");
    lf_optimizer opt = lf_optimizer_default(LF_OPT_SGD);
    opt.momentum = 0.5f;
    opt.nesterov = 1;
    int rc = lf_model_compile(m, out, LF_LOSS_CATEGORICAL_CROSSENTROPY, &opt) != LF_OK;
    if (rc) fprintf(stderr, "zoo: %s\n", lf_model_error(m));
    rc = rc || save(m, dir, "ok_zoo.lfm", LF_SAVE_OPTIMIZER);
    lf_model_free(m);
    return rc;
}

static int uncompiled(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 3) != LF_OK) return 1;
    int a = lf_input(m, 2, "x");
    lf_dense(m, a, 2, LF_ACT_SIGMOID, 0, "h");
    int rc = save(m, dir, "ok_uncompiled.lfm", 0);
    lf_model_free(m);
    return rc;
}

static int cnn(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 4) != LF_OK) return 1;
    size_t shape[3] = {6, 5, 2};
    int x = lf_input_shape(m, 3, shape, LF_DTYPE_FLOAT32, "img");
    int h = lf_rescaling(m, x, 0.5f, -1.0f, NULL);
    h = lf_random_flip(m, h, LF_FLIP_HORIZONTAL, NULL);
    h = lf_random_translation(m, h, 0.2f, 0.1f, NULL);
    h = lf_conv2d(m, h, 3, 3, 2, 1, 2, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL);
    h = lf_batch_normalization(m, h, 0.99f, 1e-3f, NULL);
    h = lf_max_pooling2d(m, h, 2, 2, 0, 0, LF_PADDING_SAME, NULL);
    h = lf_average_pooling2d(m, h, 2, 1, 1, 1, LF_PADDING_VALID, NULL);
    int g1 = lf_global_average_pooling2d(m, h, NULL), g2 = lf_global_max_pooling2d(m, h, NULL);
    int xs[2] = {g1, g2};
    size_t rs[2] = {2, 3};
    int r = lf_flatten(m, lf_reshape(m, lf_concatenate(m, 2, xs, NULL), 2, rs, NULL), NULL);
    int out = lf_dense(m, r, 2, LF_ACT_SOFTMAX, 1, "out");
    int rc = lf_model_compile(m, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) != LF_OK;
    rc = rc || save(m, dir, "ok_cnn.lfm", 0);
    lf_model_free(m);
    return rc;
}

/* every sequence layer, with the padding mask */
static int seq(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 5) != LF_OK) return 1;
    size_t T = 6;
    int ids = lf_input_shape(m, 1, &T, LF_DTYPE_INT32, "ids");
    int e = lf_embedding(m, ids, 12, 4, 1, NULL);
    int xs[2] = {e, lf_position_embedding(m, e, 8, NULL)};
    int h = lf_layer_normalization(m, lf_add(m, 2, xs, NULL), 1e-3f, 1, 1, NULL);
    h = lf_dense(m, h, 3, LF_ACT_GELU, 1, NULL);
    int c = lf_conv1d(m, h, 2, 3, 2, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL);
    int p[2] = {lf_global_average_pooling1d(m, h, NULL), lf_global_max_pooling1d(m, c, NULL)};
    int out = lf_dense(m, lf_layer_normalization(m, lf_concatenate(m, 2, p, NULL), 1e-5f, 0, 1, NULL), 2,
                       LF_ACT_SOFTMAX, 1, "out");
    int rc = lf_model_compile(m, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) != LF_OK;
    if (rc) fprintf(stderr, "seq: %s\n", lf_model_error(m));
    rc = rc || save(m, dir, "ok_seq.lfm", 0);
    lf_model_free(m);
    return rc;
}

/* MultiHeadAttention: self-attention over a padded sequence, and
 * cross-attention with a separate key, without bias */
static int attention(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 6) != LF_OK) return 1;
    size_t T = 5, kv[2] = {3, 4}, kk[2] = {3, 2};
    int ids = lf_input_shape(m, 1, &T, LF_DTYPE_INT32, "ids");
    int v = lf_input_shape(m, 2, kv, LF_DTYPE_FLOAT32, "v");
    int k = lf_input_shape(m, 2, kk, LF_DTYPE_FLOAT32, "k");
    int e = lf_embedding(m, ids, 9, 4, 1, NULL);
    int a = lf_multi_head_attention(m, e, e, -1, 2, 3, 0, 0.1f, 1, 0, NULL);
    int c = lf_multi_head_attention(m, a, v, k, 3, 2, 5, 0.0f, 0, 6, NULL);
    int out = lf_dense(m, lf_global_average_pooling1d(m, c, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    int rc = lf_model_compile(m, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) != LF_OK;
    if (rc) fprintf(stderr, "attention: %s\n", lf_model_error(m));
    rc = rc || save(m, dir, "ok_attention.lfm", 0);
    lf_model_free(m);
    return rc;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_model_seeds OUTDIR\n");
        return 2;
    }
    return seed_net(argv[1]) || zoo(argv[1]) || uncompiled(argv[1]) || cnn(argv[1]) || seq(argv[1]) ||
           attention(argv[1]);
}
