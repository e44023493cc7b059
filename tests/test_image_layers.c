/*
 * test_image_layers.c — shapes and the image layers beyond their gradients
 * (test_grad.c) and PyTorch's numbers (test_golden.c): per-sample shapes and
 * their build-time errors, the summary's shapes, model files of version 2
 * (shapes stored) and of version 1 (still loading), hand-computed outputs of
 * the layers, BatchNormalization's moving statistics against Keras' update
 * rule, the augmentation layers, save/load round trips of a CNN, and a CNN
 * trained on 8, 3, 2 and 1 threads to the same bits.
 */
#include "check.h"
#include "engine_util.h"
#include "model_checks.h"

#include <float.h>
#include <math.h>

#include <stdlib.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static char tmpdir[64];

static void test_shapes(void) {
    lf_model *m;
    lf_model_create(&m, 1);
    size_t img[3] = {6, 5, 3}, dims[LF_MAX_RANK] = {0};
    int x = lf_input_shape(m, 3, img, LF_DTYPE_FLOAT32, "img");
    CHECK(x == 0 && lf_node_dim(m, x) == 90, "image input: id %d dim %zu", x, lf_node_dim(m, x));
    CHECK(lf_node_shape(m, x, dims) == 3 && dims[0] == 6 && dims[1] == 5 && dims[2] == 3, "image shape");
    CHECK(lf_node_shape(m, 7, dims) == 0, "no node 7");
    int r = lf_reshape(m, x, 2, (size_t[]){30, 3}, "seq");
    CHECK(lf_node_shape(m, r, dims) == 2 && dims[0] == 30 && dims[1] == 3, "Reshape (30, 3)");
    int r1 = lf_reshape(m, x, 2, (size_t[]){LF_INFER, 3}, "seq_inferred");
    CHECK(lf_node_shape(m, r1, dims) == 2 && dims[0] == 30 && dims[1] == 3, "Reshape (-1, 3): (30, 3)");
    int r2 = lf_reshape(m, r1, 3, (size_t[]){2, LF_INFER, 5}, NULL);
    CHECK(lf_node_shape(m, r2, dims) == 3 && dims[0] == 2 && dims[1] == 9 && dims[2] == 5,
          "Reshape (2, -1, 5): (2, 9, 5)");
    int r3 = lf_reshape(m, x, 1, (size_t[]){LF_INFER}, NULL);
    CHECK(lf_node_shape(m, r3, dims) == 1 && dims[0] == 90, "Reshape (-1,): (90,)");
    int a = lf_activation_layer(m, r, LF_ACT_RELU, "act");
    CHECK(lf_node_shape(m, a, dims) == 2 && dims[0] == 30, "an activation keeps its input's shape");
    int f = lf_flatten(m, a, "flat");
    CHECK(lf_node_shape(m, f, dims) == 1 && dims[0] == 90, "Flatten (90)");
    int o = lf_dense(m, f, 2, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    char *buf = summary_of(m);
    CHECK(has(buf, "img (InputLayer)                                   (None, 6, 5, 3)"), "summary input row:\n%s", buf);
    CHECK(has(buf, "seq (Reshape)                                      (None, 30, 3)"), "summary Reshape row:\n%s", buf);
    CHECK(has(buf, "flat (Flatten)                                     (None, 90)"), "summary Flatten row:\n%s", buf);
    free(buf);
    /* a softmax Activation runs over the last axis: each of the 30 steps'
     * 3 values sum to 1 */
    float in[2 * 90], out[2 * 2];
    fill_uniform(in, 180, -1, 1, 3);
    const float *xs[1] = {in};
    CHECK(lf_model_predict(m, xs, 2, out) == LF_OK, "predict");
    lf_model *s;
    lf_model_create(&s, 1);
    int sx = lf_input_shape(s, 2, (size_t[]){30, 3}, LF_DTYPE_FLOAT32, "x");
    int so = lf_activation_layer(s, sx, LF_ACT_SOFTMAX, "sm");
    CHECK(lf_model_compile(s, so, LF_LOSS_MSE, NULL) == LF_OK, "compile softmax");
    float sm[180];
    CHECK(lf_model_predict(s, xs, 2, sm) == LF_OK, "predict softmax");
    int sums = 1;
    for (int k = 0; k < 60; k++) sums &= fabsf(sm[3 * k] + sm[3 * k + 1] + sm[3 * k + 2] - 1.0f) < 1e-6f;
    CHECK(sums, "softmax over the last axis");
    lf_model_free(s);
    lf_model_free(m);

    /* build-time errors name the layer and the shapes */
    struct {
        int what;
        const char *msg;
    } cases[] = {
        {0, "GlobalAveragePooling1D: input 'img' has shape (None, 6, 5, 3); it needs rank 3 (batch, steps, features)"},
        {1, "Reshape: input 'img' of shape (None, 6, 5, 3) (90 values) cannot become (None, 7, 13) (91 values)"},
        {2, "InputLayer: a shape has 1 to 5 dims, got 6"},
        {3, "InputLayer: dim 1 of the shape is 0; dims must be >= 1 and their product at most 268435456"},
        {4, "Add: Inputs have incompatible shapes. Received shapes (6, 5, 3) and (90,) (at input 1, 'flat')"},
        {5, "Concatenate: inputs must have matching shapes except for the concatenation axis -1, got (None, 6, 5, 3) ('img') and (None, 90) ('flat')"},
        {6, "InputLayer: unknown dtype 7"},
        /* Keras' Dot(axes=1) on rank-3 tensors is a batch matrix product,
         * not the flattened inner product: refused, as Concatenate */
        {7, "Dot: input 'img' has shape (None, 6, 5, 3); it needs rank 2 (batch, features): add a Flatten"},
        /* Reshape's -1 (LF_INFER): one at most, dividing the input's size */
        {8, "Reshape: target shape (None, -1, 3, -1) has more than one -1"},
        {9, "Reshape: input 'img' of shape (None, 6, 5, 3) (90 values) cannot become (None, 7, -1): 90 is not a "
            "multiple of 7"},
        {10, "Reshape: dim 0 of the shape is 0; dims must be >= 1 and their product at most 268435456"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model_create(&m, 2);
        x = lf_input_shape(m, 3, img, LF_DTYPE_FLOAT32, "img");
        int fl = lf_flatten(m, x, "flat");
        switch (cases[c].what) {
        case 0: lf_global_average_pooling1d(m, x, NULL); break;
        case 1: lf_reshape(m, x, 2, (size_t[]){7, 13}, NULL); break;
        case 2: lf_input_shape(m, 6, (size_t[]){1, 2, 3, 4, 5, 1}, LF_DTYPE_FLOAT32, NULL); break;
        case 3: lf_input_shape(m, 2, (size_t[]){4, 0}, LF_DTYPE_FLOAT32, NULL); break;
        case 4: lf_add(m, 2, (int[]){x, fl}, NULL); break;
        case 5: lf_concatenate(m, 2, (int[]){x, fl}, NULL); break;
        case 7: lf_dot(m, x, x, 0, NULL); break;
        case 8: lf_reshape(m, x, 3, (size_t[]){LF_INFER, 3, LF_INFER}, NULL); break;
        case 9: lf_reshape(m, x, 2, (size_t[]){7, LF_INFER}, NULL); break;
        case 10: lf_reshape(m, x, 2, (size_t[]){0, LF_INFER}, NULL); break;
        default: lf_input_shape(m, 1, (size_t[]){4}, (lf_dtype)7, NULL); break;
        }
        CHECK(strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

/* a model file stores shapes and dtypes (version 2); a version-1 file (a
 * "dim" per input, no "shape") still loads */
static void test_file_versions(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/v.lf", tmpdir);
    lf_model *m;
    lf_model_create(&m, 3);
    int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
    int img = lf_input_shape(m, 3, (size_t[]){2, 2, 3}, LF_DTYPE_FLOAT32, "img");
    int fl = lf_flatten(m, img, NULL);
    int cat = lf_concatenate(m, 2, (int[]){ids, fl}, NULL);
    int o = lf_dense(m, cat, 2, LF_ACT_SOFTMAX, 1, "out");
    lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_st_file f;
    lf_err e;
    CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
    const char *arch = lf_st_metadata(&f, "architecture");
    CHECK(strcmp(lf_st_metadata(&f, "format_version"), "2") == 0, "version 2");
    CHECK(has(arch, "{\"name\":\"img\",\"type\":\"InputLayer\",\"dim\":12,\"shape\":[2,2,3],\"dtype\":\"float32\"}"),
          "arch: %s", arch ? arch : "(none)");
    CHECK(has(arch, "\"shape\":[4],\"dtype\":\"int32\""), "arch: %s", arch ? arch : "(none)");
    lf_st_free(&f);
    lf_model *l;
    lf_model_create(&l, 0);
    size_t dims[3];
    CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
    CHECK(lf_node_shape(l, 1, dims) == 3 && dims[0] == 2 && dims[2] == 3 && l->nodes[0].dtype == LF_DTYPE_INT32,
          "shapes and dtypes loaded");
    lf_model_free(l);
    lf_model_free(m);

    /* version 1, as latefuse wrote it before shapes */
    lf_model_create(&m, 4);
    o = lf_dense(m, lf_input(m, 3, "x"), 2, LF_ACT_LINEAR, 1, "out");
    lf_model_compile(m, o, LF_LOSS_MSE, NULL);
    const char *v1 = "{\"layers\":[{\"name\":\"x\",\"type\":\"InputLayer\",\"dim\":3},"
                     "{\"name\":\"out\",\"type\":\"Dense\",\"inbound\":[\"x\"],\"units\":2,"
                     "\"activation\":\"linear\",\"use_bias\":true,\"l2\":0}],\"output\":\"out\","
                     "\"loss\":\"mse\",\"optimizer\":{\"name\":\"adam\",\"learning_rate\":0.001,"
                     "\"momentum\":0,\"nesterov\":false,\"beta_1\":0.9,\"beta_2\":0.999,"
                     "\"epsilon\":1e-07,\"rho\":0.9,\"iterations\":0}}";
    float k[6] = {1, 2, 3, 4, 5, 6}, b[2] = {0.5f, -0.5f};
    lf_st_out t[2] = {{.name = "out.kernel", .data = k, .ndim = 2, .shape = {2, 3}},
                      {.name = "out.bias", .data = b, .ndim = 1, .shape = {2}}};
    const char *keys[3] = {"format", "format_version", "architecture"}, *vals[3] = {"latefuse", "1", v1};
    CHECK(lf_st_write(path, t, 2, keys, vals, 3, 0, &e) == LF_OK, "%s", e.msg);
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, path) == LF_OK, "version 1 loads: %s", lf_model_error(l));
    float xin[3] = {1, 0, -1}, y[2];
    const float *xs[1] = {xin};
    CHECK(lf_model_predict(l, xs, 1, y) == LF_OK && y[0] == -1.5f && y[1] == -2.5f, "v1 predicts %g %g",
          (double)y[0], (double)y[1]);
    CHECK(lf_node_shape(l, 0, dims) == 1 && dims[0] == 3, "v1 input shape (3)");
    lf_model_free(l);
    vals[1] = "3";
    CHECK(lf_st_write(path, t, 2, keys, vals, 3, 0, &e) == LF_OK, "%s", e.msg);
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, path) == LF_ERR_FORMAT && has(lf_model_error(l), "unsupported latefuse format version '3'"),
          "version 3: %s", lf_model_error(l));
    lf_model_free(l);
    lf_model_free(m);
    unlink(path);
}

/* BatchNormalization's moving statistics after training passes, by hand:
 * Keras 3's rule with the batch's biased variance; inference uses them */
static void test_batchnorm_stats(void) {
    lf_model *m;
    lf_model_create(&m, 5);
    int x = lf_input_shape(m, 2, (size_t[]){3, 2}, LF_DTYPE_FLOAT32, "x"); /* 3 steps of 2 channels */
    int bn = lf_batch_normalization(m, x, 0.9f, 0.01f, "bn");
    int o = lf_dense(m, lf_flatten(m, bn, NULL), 1, LF_ACT_LINEAR, 1, "o");
    CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    /* 2 rows x 3 steps: channel 0 = 1..6, channel 1 = 2, 4, ..., 12 */
    float xin[12], t[2] = {0, 1};
    for (int i = 0; i < 6; i++) xin[2 * i] = (float)(i + 1), xin[2 * i + 1] = (float)(2 * (i + 1));
    const float *xs[1] = {xin};
    double loss;
    CHECK(lf__loss_and_grads(m, xs, t, 2, 1, 0, &loss, NULL) == LF_OK, "training pass");
    float st[4];
    lf_get_weights(m, "bn", 2, st, 2), lf_get_weights(m, "bn", 3, st + 2, 2);
    /* mean 3.5 and 7, biased variance 17.5/6 and 70/6 over the 6 values */
    double mm0 = 0.1 * 3.5, mm1 = 0.1 * 7, mv0 = 0.9 + 0.1 * (17.5 / 6), mv1 = 0.9 + 0.1 * (70.0 / 6);
    CHECK(fabs(st[0] - mm0) < 1e-6 && fabs(st[1] - mm1) < 1e-6, "moving mean %.8g %.8g, want %.8g %.8g",
          (double)st[0], (double)st[1], mm0, mm1);
    CHECK(fabs(st[2] - mv0) < 1e-6 && fabs(st[3] - mv1) < 1e-6, "moving variance %.8g %.8g, want %.8g %.8g",
          (double)st[2], (double)st[3], mv0, mv1);
    /* a second pass: moving = moving * 0.9 + batch * 0.1 again */
    CHECK(lf__loss_and_grads(m, xs, t, 2, 1, 0, &loss, NULL) == LF_OK, "training pass");
    lf_get_weights(m, "bn", 2, st, 2), lf_get_weights(m, "bn", 3, st + 2, 2);
    CHECK(fabs(st[0] - (0.9 * mm0 + 0.35)) < 1e-6 && fabs(st[3] - (0.9 * mv1 + 0.1 * (70.0 / 6))) < 1e-5,
          "second pass: %.8g %.8g", (double)st[0], (double)st[3]);
    /* an inference pass leaves them */
    CHECK(lf__loss_and_grads(m, xs, t, 2, 0, 0, &loss, NULL) == LF_OK, "inference pass");
    float st2[4];
    lf_get_weights(m, "bn", 2, st2, 2), lf_get_weights(m, "bn", 3, st2 + 2, 2);
    CHECK(memcmp(st, st2, sizeof st) == 0, "an inference pass changed the moving statistics");
    /* inference normalises with them: the BatchNormalization node's output */
    float g[2] = {2, 0.5f}, b[2] = {1, -1};
    lf_set_weights(m, "bn", 0, g, 2), lf_set_weights(m, "bn", 1, b, 2);
    float *outs[4] = {NULL, malloc(12 * sizeof(float)), NULL, NULL};
    CHECK(lf__forward_nodes(m, xs, 2, outs) == LF_OK, "forward");
    int ok = 1;
    for (int i = 0; i < 12; i++) {
        int ch = i % 2;
        double want = g[ch] * (xin[i] - st[ch]) / sqrt(st[2 + ch] + 0.01) + b[ch];
        ok &= fabs(outs[1][i] - want) < 1e-5;
    }
    CHECK(ok, "inference output from the moving statistics");
    free(outs[1]);
    /* the summary counts them as non-trainable */
    char *buf = summary_of(m);
    CHECK(has(buf, "Total params: 15 (0.06 KB)") && has(buf, "Trainable params: 11 (0.04 KB)") &&
              has(buf, "Non-trainable params: 4 (0.02 KB)"),
          "summary:\n%s", buf);
    free(buf);
    lf_model_free(m);
}

/* A batch of many rows and few channels (N x C >= 65536 values, C <= 64):
 * the statistics are summed in parts of rows, added in part order; the
 * moving statistics against sums in double, on values with a large offset
 * (a lost or doubled part moves the mean by 1e-3 or more) */
static void test_batchnorm_stats_parts(void) {
    enum { T = 5000, C = 4, B = 4, NR = T * B }; /* 20000 rows: 5 parts of 4096 */
    lf_model *m;
    lf_model_create(&m, 5);
    int x = lf_input_shape(m, 2, (size_t[]){T, C}, LF_DTYPE_FLOAT32, "x");
    int bn = lf_batch_normalization(m, x, 0.0f, 1e-3f, "bn");
    int o = lf_dense(m, lf_global_average_pooling1d(m, bn, NULL), 1, LF_ACT_LINEAR, 1, "o");
    CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    float *xin = malloc(NR * C * sizeof *xin), t[B] = {0, 1, 0, 1};
    for (size_t i = 0; i < (size_t)NR * C; i++)
        xin[i] = 1000.0f + (float)(i % C) + (float)((i * 2654435761u) % 1000) / 250.0f;
    const float *xs[1] = {xin};
    double loss, s[C] = {0}, ss[C] = {0};
    CHECK(lf__loss_and_grads(m, xs, t, B, 1, 0, &loss, NULL) == LF_OK, "training pass: %s", lf_model_error(m));
    for (size_t i = 0; i < (size_t)NR * C; i++) s[i % C] += xin[i];
    for (size_t i = 0; i < (size_t)NR * C; i++) {
        double d = xin[i] - s[i % C] / NR;
        ss[i % C] += d * d;
    }
    float st[2 * C];
    lf_get_weights(m, "bn", 2, st, C), lf_get_weights(m, "bn", 3, st + C, C);
    int ok = 1;
    for (int c = 0; c < C; c++)
        ok &= fabs(st[c] - s[c] / NR) < 1e-4 && fabs(st[C + c] - ss[c] / NR) < 1e-4 * (ss[c] / NR);
    CHECK(ok, "moving mean %.8g variance %.8g, want %.8g %.8g (momentum 0: the batch's)", (double)st[0],
          (double)st[C], s[0] / NR, ss[0] / NR);
    free(xin);
    lf_model_free(m);
}

/* augmentation: the identity in inference, the drawn map in training */
static void test_augment(void) {
    lf_model *m;
    lf_model_create(&m, 6);
    int x = lf_input_shape(m, 3, (size_t[]){3, 4, 2}, LF_DTYPE_FLOAT32, "x");
    int fl = lf_random_flip(m, x, LF_FLIP_HORIZONTAL, "flip");
    int tr = lf_random_translation(m, x, 0.5f, 0.5f, "shift");
    int s = lf_add(m, 2, (int[]){fl, tr}, NULL);
    int o = lf_dense(m, lf_flatten(m, s, NULL), 1, LF_ACT_LINEAR, 1, "o");
    CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    enum { N = 16, D = 24 };
    float xin[N * D];
    for (int i = 0; i < N * D; i++) xin[i] = (float)(i % D + 1);
    const float *xs[1] = {xin};
    float *outs[6] = {NULL, malloc(sizeof xin), malloc(sizeof xin), NULL, NULL, NULL};
    CHECK(lf__forward_nodes(m, xs, N, outs) == LF_OK, "forward");
    CHECK(memcmp(outs[1], xin, sizeof xin) == 0 && memcmp(outs[2], xin, sizeof xin) == 0,
          "inference: both are the identity");
    lf_ws ws;
    lf_rng rng;
    lf_rng_seed(&rng, 42);
    lf_ws_init(&ws, m, N, 0, NULL, 0);
    lf_graph_forward(m, &ws, xs, N, 1, &rng);
    int flipped = 0, kept = 0, ok = 1, shifted = 0;
    for (int r = 0; r < N; r++) {
        const float *y = ws.out[fl] + r * D, *xr = xin + r * D;
        int is_flip = y[0] == xr[3 * 2]; /* pixel (0, 0) from (0, 3) */
        flipped += is_flip, kept += !is_flip;
        for (int py = 0; py < 3; py++)
            for (int px = 0; px < 4; px++)
                for (int c = 0; c < 2; c++)
                    ok &= y[(py * 4 + px) * 2 + c] == xr[(py * 4 + (is_flip ? 3 - px : px)) * 2 + c];
        /* a translation: some (dy, dx) in [-2, 2] x [-2, 2] with zeros shifted in */
        const float *t = ws.out[tr] + r * D;
        int found = 0;
        for (int dy = -2; dy <= 2 && !found; dy++)
            for (int dx = -2; dx <= 2 && !found; dx++) {
                int match = 1;
                for (int py = 0; py < 3; py++)
                    for (int px = 0; px < 4; px++)
                        for (int c = 0; c < 2; c++) {
                            int sy = py - dy, sx = px - dx;
                            float want = (sy < 0 || sy >= 3 || sx < 0 || sx >= 4) ? 0.0f : xr[(sy * 4 + sx) * 2 + c];
                            match &= t[(py * 4 + px) * 2 + c] == want;
                        }
                if (match) found = 1, shifted += dy != 0 || dx != 0;
            }
        ok &= found;
    }
    CHECK(ok, "training: every row is flipped or kept, and shifted with zeros");
    CHECK(flipped >= 3 && kept >= 3 && shifted >= 8, "draws: %d flipped, %d kept, %d shifted of %d", flipped, kept,
          shifted, N);
    lf_ws_free(&ws);
    free(outs[1]), free(outs[2]);
    lf_model_free(m);
}

/* the draws of a training pass are a function of (key, node, global row):
 * rows 5..15 of a batch, passed alone with row0 = 5 (as a rank of a
 * data-parallel fit holds them), are flipped, shifted and dropped exactly
 * as in the whole batch; another key draws otherwise; and the generator's
 * values are pinned (a change of them changes every fit with dropout) */
static void test_draws_by_row(void) {
    lf_model *m;
    lf_model_create(&m, 6);
    int x = lf_input_shape(m, 3, (size_t[]){3, 4, 2}, LF_DTYPE_FLOAT32, "x");
    int fl = lf_random_flip(m, x, LF_FLIP_HORIZONTAL_AND_VERTICAL, "flip");
    int tr = lf_random_translation(m, fl, 0.5f, 0.5f, "shift");
    int dr = lf_dropout(m, tr, 0.4f, "drop");
    int o = lf_dense(m, lf_flatten(m, dr, NULL), 1, LF_ACT_LINEAR, 1, "o");
    CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    enum { N = 16, D = 24, A = 5 };
    float xin[N * D];
    for (int i = 0; i < N * D; i++) xin[i] = (float)(i % 97 + 1);
    lf_ws all, part;
    lf_ws_init(&all, m, N, 0, NULL, 0);
    lf_ws_init(&part, m, N, 0, NULL, 0);
    const float *xs[1] = {xin}, *xp[1] = {xin + A * D};
    lf_draws d0 = {lf_draw_key(7, 1, 2), 0}, d5 = {d0.key, A}, other = {lf_draw_key(7, 1, 3), A};
    lf_graph_forward_drawn(m, &all, xs, N, 1, &d0);
    lf_graph_forward_drawn(m, &part, xp, N - A, 1, &d5);
    int ids[3] = {fl, tr, dr};
    for (int k = 0; k < 3; k++)
        CHECK(memcmp(all.out[ids[k]] + A * D, part.out[ids[k]], (N - A) * D * sizeof(float)) == 0,
              "node %d: rows %d..%d alone (row0 %d) differ from the whole batch's", ids[k], A, N - 1, A);
    int flips = 0, drops = 0;
    for (int i = 0; i < N * D; i++) drops += all.out[dr][i] == 0.0f && all.out[tr][i] != 0.0f;
    for (int r = 0; r < N; r++) flips += all.out[fl][r * D] != xin[r * D];
    CHECK(flips >= 4 && drops > 0, "the pass flipped %d rows and dropped %d values", flips, drops);
    lf_graph_forward_drawn(m, &part, xp, N - A, 1, &other);
    CHECK(memcmp(all.out[dr] + A * D, part.out[dr], (N - A) * D * sizeof(float)) != 0,
          "another step's key draws the same");
    uint64_t s = lf_draw_stream(lf_draw_key(7, 1, 2), 3, 4);
    float u0 = lf_draw_uniform(s, 0), u5 = lf_draw_uniform(s, 5);
    CHECK(u0 == 2922211.0f / 16777216.0f && u5 == 6181122.0f / 16777216.0f, "draws 0 and 5 of a stream: %.9g %.9g", (double)u0, (double)u5);
    lf_ws_free(&all), lf_ws_free(&part);
    lf_model_free(m);
}

/* a CNN of every image layer trains, saves and loads: predictions bit for
 * bit, the moving statistics kept; the layers' fields in the file */
static void test_cnn_round_trip(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/cnn.lf", tmpdir);
    lf_model *m;
    lf_model_create(&m, 7);
    int x = lf_input_shape(m, 3, (size_t[]){8, 8, 3}, LF_DTYPE_FLOAT32, "img");
    int h = lf_rescaling(m, x, 1.0f / 255, 0, NULL);
    h = lf_random_flip(m, h, LF_FLIP_HORIZONTAL, NULL);
    h = lf_random_translation(m, h, 0.1f, 0.2f, NULL);
    h = lf_conv2d(m, h, 4, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_LINEAR, 0, NULL);
    h = lf_batch_normalization(m, h, 0.99f, 1e-3f, NULL);
    h = lf_activation_layer(m, h, LF_ACT_RELU, NULL);
    h = lf_max_pooling2d(m, h, 2, 2, 0, 0, LF_PADDING_VALID, NULL);
    h = lf_average_pooling2d(m, h, 3, 3, 2, 2, LF_PADDING_SAME, NULL);
    int a = lf_conv2d(m, h, 5, 2, 2, 1, 1, LF_PADDING_VALID, LF_ACT_RELU, 1, NULL);
    int g1 = lf_global_average_pooling2d(m, a, NULL), g2 = lf_global_max_pooling2d(m, a, NULL);
    /* (-1, 2): the file holds the resolved (5, 2) */
    int r = lf_reshape(m, lf_concatenate(m, 2, (int[]){g1, g2}, NULL), 2, (size_t[]){LF_INFER, 2}, NULL);
    int o = lf_dense(m, lf_flatten(m, r, NULL), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    enum { N = 24, D = 192 };
    float *xin = malloc(N * D * sizeof *xin), y[N];
    fill_uniform(xin, N * D, 0, 255, 8);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
    const float *xs[1] = {xin};
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 2, fo.batch_size = 8;
    CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    float mv[4];
    lf_get_weights(m, "batch_normalization", 3, mv, 4);
    CHECK(mv[0] != 1.0f && mv[3] != 1.0f, "the moving variance moved: %g", (double)mv[0]);
    lf_model *l = check_reload(m, xs, N, 3, path, "the loaded CNN");
    /* and trains on identically (the generator is not saved: reseed both) */
    lf_model_free(l);
    lf_st_file f;
    lf_err e;
    CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
    const char *arch = lf_st_metadata(&f, "architecture");
    const char *want[] = {
        "\"type\":\"Conv2D\",\"inbound\":[\"random_translation\"],\"filters\":4,\"kernel_size\":[3,3],"
        "\"strides\":[1,1],\"padding\":\"same\",\"activation\":\"linear\",\"use_bias\":false,\"l2\":0",
        "\"type\":\"BatchNormalization\",\"inbound\":[\"conv2d\"],\"axis\":-1,\"momentum\":0.99,\"epsilon\":0.001",
        "\"type\":\"AveragePooling2D\",\"inbound\":[\"max_pooling2d\"],\"pool_size\":[3,3],\"strides\":[2,2],"
        "\"padding\":\"same\"",
        "\"type\":\"RandomFlip\",\"inbound\":[\"rescaling\"],\"mode\":\"horizontal\"",
        "\"type\":\"RandomTranslation\",\"inbound\":[\"random_flip\"],\"height_factor\":0.1,\"width_factor\":0.2,"
        "\"fill_mode\":\"constant\",\"interpolation\":\"nearest\"",
        "\"type\":\"Reshape\",\"inbound\":[\"concatenate\"],\"target_shape\":[5,2]",
        "\"type\":\"GlobalMaxPooling2D\",\"inbound\":[\"conv2d_1\"]}",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) CHECK(has(arch, want[i]), "arch lacks %s:\n%s", want[i], arch ? arch : "(none)");
    const lf_st_tensor *t = lf_st_find(&f, "conv2d.kernel");
    CHECK(t && t->ndim == 4 && t->shape[0] == 3 && t->shape[2] == 3 && t->shape[3] == 4, "conv2d.kernel (3, 3, 3, 4)");
    CHECK(lf_st_find(&f, "batch_normalization.moving_variance") != NULL, "moving_variance saved");
    lf_st_free(&f);
    lf_model_free(m);
    free(xin);
    unlink(path);
}

/* BatchNormalization(center, scale): without center no beta, without
 * scale no gamma (Keras' weights: gamma, beta when made, then the moving
 * statistics); predictions equal, bit for bit, those of the full layer
 * with beta 0 / gamma 1, in training and inference; the file writes
 * "center": false / "scale": false (nothing for Keras' defaults) and the
 * tensors made, and loads back predicting bit for bit */
static void test_batchnorm_center_scale(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/bn.lf", tmpdir);
    enum { N = 6, D = 12, C = 3 };
    float xin[N * D], t[N * 2];
    fill_uniform(xin, N * D, -2, 3, 21);
    fill_uniform(t, N * 2, -1, 1, 22);
    const float *xs[1] = {xin};
    float gamma[C] = {1.5f, -0.5f, 2.0f}, beta[C] = {0.25f, -1.0f, 0.5f}, mm[C] = {0.1f, 0.2f, -0.3f},
          mv[C] = {0.5f, 2.0f, 1.5f};
    for (int cs = 0; cs < 3; cs++) {
        int center = cs == 0, scale = cs == 1; /* (1, 0), (0, 1), (0, 0) */
        lf_model *m[2];
        for (int k = 0; k < 2; k++) {
            lf_model_create(&m[k], 9);
            int x = lf_input_shape(m[k], 3, (size_t[]){2, 2, C}, LF_DTYPE_FLOAT32, "img");
            int h = k ? lf_batch_normalization(m[k], x, 0.9f, 1e-3f, "bn")
                      : lf_batch_normalization_opt(m[k], x, 0.9f, 1e-3f, center, scale, "bn");
            int o = lf_dense(m[k], lf_flatten(m[k], h, NULL), 2, LF_ACT_LINEAR, 1, "out");
            CHECK(lf_model_compile(m[k], o, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m[k]));
        }
        size_t nw = lf_layer_num_weights(m[0], "bn"), k = 0;
        CHECK(nw == 2u + (size_t)center + (size_t)scale, "center %d, scale %d: %zu weights", center, scale, nw);
        CHECK(lf_model_num_params(m[0]) + (size_t)(2 - center - scale) * C == lf_model_num_params(m[1]),
              "center %d, scale %d: %zu parameters", center, scale, lf_model_num_params(m[0]));
        /* the full layer: gamma 1 without scale, beta 0 without center */
        float ones[C] = {1, 1, 1}, zeros[C] = {0};
        lf_set_weights(m[1], "bn", 0, scale ? gamma : ones, C);
        lf_set_weights(m[1], "bn", 1, center ? beta : zeros, C);
        lf_set_weights(m[1], "bn", 2, mm, C), lf_set_weights(m[1], "bn", 3, mv, C);
        if (scale) CHECK(lf_set_weights(m[0], "bn", k++, gamma, C) == LF_OK, "set gamma");
        if (center) CHECK(lf_set_weights(m[0], "bn", k++, beta, C) == LF_OK, "set beta");
        CHECK(lf_set_weights(m[0], "bn", k++, mm, C) == LF_OK && lf_set_weights(m[0], "bn", k, mv, C) == LF_OK,
              "set the moving statistics");
        float kern[2 * D];
        fill_uniform(kern, 2 * D, -1, 1, 23);
        lf_set_weights(m[0], "out", 0, kern, 2 * D), lf_set_weights(m[1], "out", 0, kern, 2 * D);
        float p[2][N * 2];
        for (int j = 0; j < 2; j++) CHECK(lf_model_predict(m[j], xs, N, p[j]) == LF_OK, "predict");
        CHECK(memcmp(p[0], p[1], sizeof p[0]) == 0, "center %d, scale %d: inference differs from the full layer's",
              center, scale);
        /* a training pass: the same loss, moving statistics and gradients of what both have */
        double l[2];
        for (int j = 0; j < 2; j++)
            CHECK(lf__loss_and_grads(m[j], xs, t, N, 1, 0, &l[j], NULL) == LF_OK, "training pass");
        float a[C], b[C];
        lf_get_weights(m[0], "bn", nw - 1, a, C), lf_get_weights(m[1], "bn", 3, b, C);
        CHECK(l[0] == l[1] && memcmp(a, b, sizeof a) == 0, "center %d, scale %d: training loss %.9g vs %.9g",
              center, scale, l[0], l[1]);
        size_t off0 = m[0]->nodes[2].param_off, off1 = m[1]->nodes[2].param_off; /* "out" */
        CHECK(memcmp(m[0]->grads + off0, m[1]->grads + off1, (2 * D + 2) * sizeof(float)) == 0,
              "center %d, scale %d: the next layer's gradients differ", center, scale);
        if (center) /* beta's gradient: the full layer's */
            CHECK(memcmp(m[0]->grads + m[0]->nodes[1].param_off + (scale ? C : 0),
                         m[1]->grads + m[1]->nodes[1].param_off + C, C * sizeof(float)) == 0,
                  "center %d, scale %d: beta's gradient differs", center, scale);
        if (scale)
            CHECK(memcmp(m[0]->grads + m[0]->nodes[1].param_off, m[1]->grads + m[1]->nodes[1].param_off,
                         C * sizeof(float)) == 0,
                  "center %d, scale %d: gamma's gradient differs", center, scale);
        /* the file */
        CHECK(lf_model_save(m[0], path, 0) == LF_OK, "save: %s", lf_model_error(m[0]));
        lf_model *ld;
        lf_model_create(&ld, 0);
        CHECK(lf_model_load(ld, path) == LF_OK, "load: %s", lf_model_error(ld));
        float q[N * 2];
        CHECK(lf_model_predict(m[0], xs, N, p[0]) == LF_OK && lf_model_predict(ld, xs, N, q) == LF_OK &&
                  memcmp(p[0], q, sizeof q) == 0,
              "center %d, scale %d: the loaded model predicts differently", center, scale);
        CHECK(lf_layer_num_weights(ld, "bn") == nw, "the loaded layer's weights");
        lf_model_free(ld);
        lf_st_file f;
        lf_err e;
        CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
        const char *arch = lf_st_metadata(&f, "architecture");
        const char *want = center ? "\"epsilon\":0.001,\"scale\":false}"
                           : scale ? "\"epsilon\":0.001,\"center\":false}"
                                   : "\"epsilon\":0.001,\"center\":false,\"scale\":false}";
        CHECK(has(arch, want), "arch lacks %s:\n%s", want, arch ? arch : "(none)");
        CHECK((lf_st_find(&f, "bn.gamma") != NULL) == scale && (lf_st_find(&f, "bn.beta") != NULL) == center &&
                  lf_st_find(&f, "bn.moving_mean") && lf_st_find(&f, "bn.moving_variance"),
              "center %d, scale %d: the file's tensors", center, scale);
        lf_st_free(&f);
        for (int j = 0; j < 2; j++) lf_model_free(m[j]);
    }
    unlink(path);
}

/* Rescaling's file keeps any finite scale and offset the builder takes */
static void test_rescaling_file(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/rescale.lf", tmpdir);
    static const float pairs[][2] = {{1e35f, -FLT_MAX}, {FLT_MAX, -0.0f}, {1.0f / 255, -1e-40f}};
    for (size_t k = 0; k < sizeof pairs / sizeof *pairs; k++) {
        lf_model *m, *l;
        lf_model_create(&m, 0);
        int x = lf_input(m, 3, "x"), r = lf_rescaling(m, x, pairs[k][0], pairs[k][1], "rescale");
        CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
        lf_model_create(&l, 0);
        lf_status st = lf_model_load(l, path);
        int rl = lf_node_find(l, "rescale");
        CHECK(st == LF_OK && rl == r && memcmp(&l->nodes[rl].scale, &pairs[k][0], sizeof(float)) == 0 &&
                  memcmp(&l->nodes[rl].offset, &pairs[k][1], sizeof(float)) == 0,
              "Rescaling(%g, %g): load %s", (double)pairs[k][0], (double)pairs[k][1],
              st == LF_OK ? "kept other values" : lf_model_error(l));
        lf_model_free(l);
        lf_model_free(m);
    }
    unlink(path);
}

/* Normalization: Keras' (x - mean) / max(sqrt(variance), 1e-7) per kept
 * position, by hand; training and inference alike; inverted; the file
 * keeps the axes and the fixed weights; errors name what is wrong */
static void test_normalization(void) {
    lf_model *m;
    lf_model_create(&m, 1);
    /* (2, 3, 2) images, axis (1, -1): (H, C) kept, shared over W */
    int x = lf_input_shape(m, 3, (size_t[]){2, 3, 2}, LF_DTYPE_FLOAT32, "x");
    static const float mean[4] = {0, 1, 10, 20}, var[4] = {4, 0, 16, 1e-16f};
    int n = lf_normalization(m, x, (int[]){1, -1}, 2, mean, var, 0, "norm");
    CHECK(lf_model_compile(m, lf_flatten(m, n, NULL), LF_LOSS_MSE, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    float in[12], y[12], yt[12];
    for (int j = 0; j < 12; j++) in[j] = (float)j; /* x[h][w][c] = 6 h + 2 w + c */
    /* h 0, c 0: x / 2; h 0, c 1: variance 0, (x - 1) / 1e-7; h 1, c 0:
     * (x - 10) / 4; h 1, c 1: sqrt(1e-16) = 1e-8 < 1e-7, (x - 20) / 1e-7 */
    const float want[12] = {0.0f, 0.0f,          1.0f,  2.0f / 1e-7f,  2.0f, 4.0f / 1e-7f,
                            -1.0f, -13.0f / 1e-7f, -0.5f, -11.0f / 1e-7f, 0.0f, -9.0f / 1e-7f};
    const float *xs[1] = {in};
    CHECK(lf_model_predict(m, xs, 1, y) == LF_OK, "Normalization: predict: %s", lf_model_error(m));
    for (int j = 0; j < 12; j++)
        CHECK(y[j] == want[j], "Normalization(axis=(1, -1)): value %d is %.9g, want %.9g", j, (double)y[j],
              (double)want[j]);
    /* not an augmentation: a training pass computes the same */
    lf_ws ws = {0};
    lf_rng rng;
    lf_rng_seed(&rng, 3);
    CHECK(lf_ws_init(&ws, m, 1, 0, NULL, 0) == LF_OK, "ws");
    lf_graph_forward(m, &ws, xs, 1, 1, &rng);
    memcpy(yt, ws.out[n], sizeof yt);
    lf_ws_free(&ws);
    CHECK(memcmp(y, yt, sizeof y) == 0, "Normalization: a training pass differs from predict");
    size_t shape[2], cnt;
    CHECK(lf_layer_num_weights(m, "norm") == 2 && lf_layer_weight_shape(m, "norm", 1, shape, &cnt) == LF_OK &&
              shape[0] == 2 && shape[1] == 2 && cnt == 4,
          "Normalization: weights mean, variance of the kept axes' shape (2, 2)");
    char path[128];
    snprintf(path, sizeof path, "%s/norm.lf", tmpdir);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *l;
    lf_model_create(&l, 0);
    lf_status st = lf_model_load(l, path);
    CHECK(st == LF_OK, "Normalization: load: %s", lf_model_error(l));
    if (st == LF_OK) {
        float yl[12], wl[4];
        int nl = lf_node_find(l, "norm");
        CHECK(nl >= 0 && l->nodes[nl].norm_keep == 5u && !l->nodes[nl].invert, "Normalization: axes after load");
        CHECK(lf_get_weights(l, "norm", 1, wl, 4) == LF_OK && memcmp(wl, var, sizeof wl) == 0,
              "Normalization: variance after load");
        CHECK(lf_model_predict(l, xs, 1, yl) == LF_OK && memcmp(y, yl, sizeof y) == 0,
              "Normalization: predictions after load");
    }
    lf_model_free(l);
    lf_model_free(m);
    /* invert, axis=None (one mean and variance), and a vector input */
    lf_model_create(&m, 1);
    x = lf_input(m, 3, "x");
    n = lf_normalization(m, x, NULL, 0, (float[]){3}, (float[]){2}, 1, "norm");
    CHECK(lf_model_compile(m, n, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    float v[3] = {1, 2, -3}, yv[3];
    xs[0] = v;
    CHECK(lf_model_predict(m, xs, 1, yv) == LF_OK, "predict");
    for (int j = 0; j < 3; j++)
        CHECK(yv[j] == 3.0f + v[j] * sqrtf(2.0f), "Normalization(invert=True): value %d is %g", j, (double)yv[j]);
    lf_model_free(m);
    /* refusals */
    struct {
        int axis[2];
        size_t n;
        const float *mean, *var;
        const char *msg;
    } bad[] = {
        {{0}, 1, NULL, NULL, "axis 0 is the batch axis"},
        {{4}, 1, NULL, NULL, "axis 4 is out of range for inputs of rank 4"},
        {{-5}, 1, NULL, NULL, "axis -5 is out of range"},
        {{3, -1}, 2, NULL, NULL, "axis 3 is given twice"},
        {{-1}, 1, mean, NULL, "both mean and variance must be set"},
        {{-1}, 1, (float[]){0, 0}, (float[]){1, -1}, "variance[1] = -1"},
        {{-1}, 1, (float[]){0, NAN}, (float[]){1, 1}, "mean[1] = nan"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        lf_model_create(&m, 1);
        x = lf_input_shape(m, 3, (size_t[]){2, 3, 2}, LF_DTYPE_FLOAT32, "x");
        n = lf_normalization(m, x, bad[k].axis, bad[k].n, bad[k].mean, bad[k].var, 0, "norm");
        CHECK(n < 0 && has(lf_model_error(m), "Normalization") && has(lf_model_error(m), bad[k].msg),
              "Normalization refusal %zu: got %d, '%s'", k, n, lf_model_error(m));
        lf_model_free(m);
    }
    unlink(path);
}

/* build-time errors of the image layers name the layer and the shapes */
static void test_image_errors(void) {
    struct {
        int what;
        const char *msg;
    } cases[] = {
        {0, "Conv2D: input 'v' has shape (None, 12); it needs rank 4 (batch, height, width, channels)"},
        {1, "Conv2D: input 'img' of shape (None, 4, 5, 3) is smaller than the kernel (5, 3) with padding 'valid'"},
        {2, "MaxPooling2D: input 'img' of shape (None, 4, 5, 3) is smaller than the pool (2, 6) with padding 'valid'"},
        {3, "Conv2D: kernel_size and strides must be in 1..1024, got (3, 3) and (0, 1)"},
        {4, "BatchNormalization: momentum must be in [0, 1], got 1.5"},
        {5, "RandomTranslation: height_factor and width_factor must be in [0, 1], got 0.5 and -0.1"},
        {6, "RandomFlip: unknown mode 0"},
        {7, "GlobalAveragePooling2D: input 'v' has shape (None, 12); it needs rank 4 (batch, height, width, channels)"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int x = lf_input_shape(m, 3, (size_t[]){4, 5, 3}, LF_DTYPE_FLOAT32, "img"), v = lf_input(m, 12, "v");
        switch (cases[c].what) {
        case 0: lf_conv2d(m, v, 2, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL); break;
        case 1: lf_conv2d(m, x, 2, 5, 3, 1, 1, LF_PADDING_VALID, LF_ACT_RELU, 1, NULL); break;
        case 2: lf_max_pooling2d(m, x, 2, 6, 0, 0, LF_PADDING_VALID, NULL); break;
        case 3: lf_conv2d(m, x, 2, 3, 3, 0, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL); break;
        case 4: lf_batch_normalization(m, x, 1.5f, 1e-3f, NULL); break;
        case 5: lf_random_translation(m, x, 0.5f, -0.1f, NULL); break;
        case 6: lf_random_flip(m, x, (lf_flip)0, NULL); break;
        default: lf_global_average_pooling2d(m, v, NULL); break;
        }
        CHECK(strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

/* The image layers share large batches out to the threads (by images,
 * channel blocks or rows): a CNN big enough to take every threaded path
 * (and, with 8 threads, Conv2D's products on every thread instead) trains
 * to the same weights and predicts the same bits on any thread count. */
static void test_cnn_threads(void) {
#ifdef _OPENMP
    enum { N = 72, D = 32 * 32 * 3 };
    /* the largest team first (see test_engine.c's thread test) */
    static const int threads[4] = {8, 3, 2, 1};
    int initial = omp_get_max_threads();
    float *x = malloc(N * D * sizeof *x), *y = malloc(N * sizeof *y), *w[4] = {0}, *p[4] = {0};
    fill_uniform(x, N * D, 0, 255, 33);
    for (size_t r = 0; r < N; r++) y[r] = (float)(r % 4);
    size_t np = 0;
    for (int t = 0; t < 4; t++) {
        omp_set_num_threads(threads[t]);
        lf_model *m;
        lf_model_create(&m, 9);
        int h = lf_input_shape(m, 3, (size_t[]){32, 32, 3}, LF_DTYPE_FLOAT32, "img");
        h = lf_random_flip(m, h, LF_FLIP_HORIZONTAL_AND_VERTICAL, NULL);
        h = lf_random_translation(m, h, 0.2f, 0.1f, NULL);
        h = lf_rescaling(m, h, 1.0f / 255, -0.5f, NULL);
        h = lf_normalization(m, h, (int[]){-1}, 1, (float[]){0.1f, 0.0f, -0.1f}, (float[]){0.04f, 0.09f, 0.5f}, 0,
                             NULL);
        h = lf_conv2d(m, h, 8, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_LINEAR, 0, NULL);
        h = lf_batch_normalization(m, h, 0.9f, 1e-3f, NULL);
        h = lf_activation_layer(m, h, LF_ACT_RELU, NULL);
        h = lf_max_pooling2d(m, h, 2, 2, 0, 0, LF_PADDING_VALID, NULL);
        h = lf_conv2d(m, h, 72, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL);
        h = lf_average_pooling2d(m, h, 3, 3, 2, 2, LF_PADDING_SAME, NULL);
        h = lf_batch_normalization(m, h, 0.99f, 1e-3f, NULL); /* 72 channels: two blocks */
        /* Winograd, its kernel transforms and gradient on every thread (72 x 128 values) */
        h = lf_conv2d(m, h, 128, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 0, NULL);
        h = lf_conv2d(m, h, 6, 2, 2, 2, 2, LF_PADDING_VALID, LF_ACT_ELU, 1, NULL);
        int g1 = lf_global_average_pooling2d(m, h, NULL), g2 = lf_global_max_pooling2d(m, h, NULL);
        int o = lf_dense(m, lf_concatenate(m, 2, (int[]){g1, g2}, NULL), 4, LF_ACT_SOFTMAX, 1, "out");
        CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
              lf_model_error(m));
        lf_fit_options opt = lf_fit_defaults();
        opt.epochs = 2, opt.batch_size = 32, opt.seed = 4;
        const float *xs[1] = {x};
        CHECK(lf_model_fit(m, xs, y, N, &opt) == LF_OK, "fit: %s", lf_model_error(m));
        np = m->n_params;
        w[t] = malloc(np * sizeof(float));
        p[t] = malloc(N * 4 * sizeof(float));
        memcpy(w[t], m->params, np * sizeof(float));
        CHECK(lf_model_predict(m, xs, N, p[t]) == LF_OK, "predict");
        lf_model_free(m);
        if (t > 0) {
            CHECK(memcmp(w[0], w[t], np * sizeof(float)) == 0, "weights: 8 and %d threads differ", threads[t]);
            CHECK(memcmp(p[0], p[t], N * 4 * sizeof(float)) == 0, "predictions: 8 and %d threads differ",
                  threads[t]);
        }
    }
    omp_set_num_threads(initial);
    for (int t = 0; t < 4; t++) free(w[t]), free(p[t]);
    free(x), free(y);
#else
    CHECK_SKIP("built without OpenMP: thread-count determinism not tested");
#endif
}

/* Conv2D's Winograd path (3x3, stride 1, >= 16 channels and filters)
 * against the convolution summed in double; several chunks of images
 * (per chunk ceil(32 / tiles) images) and, with OpenMP, the same bits on
 * 1 and 3 threads, predict and one epoch of training alike. */
static void test_winograd(void) {
    const struct {
        size_t H, W, C, F;
        lf_padding pad;
        int bias;
    } cases[] = {{9, 7, 16, 20, LF_PADDING_SAME, 1}, {6, 9, 17, 16, LF_PADDING_VALID, 0}};
    const size_t N = 40;
    for (size_t k = 0; k < 2; k++) {
        size_t H = cases[k].H, W = cases[k].W, C = cases[k].C, F = cases[k].F;
        size_t same = cases[k].pad == LF_PADDING_SAME, Ho = same ? H : H - 2, Wo = same ? W : W - 2;
        size_t D = H * W * C, O = Ho * Wo * F;
        float *x = malloc(N * D * sizeof *x), *y = malloc(N * O * sizeof *y), *w0 = NULL, *p0 = NULL;
        float *t = calloc(N * O, sizeof *t);
        fill_uniform(x, N * D, -1, 1, 70 + k);
        for (int run = 0; run < 2; run++) {
#ifdef _OPENMP
            int initial = omp_get_max_threads();
            omp_set_num_threads(run ? 3 : 1);
#endif
            lf_model *m;
            lf_model_create(&m, 5);
            int h = lf_input_shape(m, 3, (size_t[]){H, W, C}, LF_DTYPE_FLOAT32, "img");
            h = lf_conv2d(m, h, F, 3, 3, 1, 1, cases[k].pad, LF_ACT_LINEAR, cases[k].bias, "conv");
            int o = lf_flatten(m, h, NULL);
            CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "winograd compile: %s", lf_model_error(m));
            const float *xs[1] = {x};
            float *kern = m->params + m->nodes[h].param_off, *bias = cases[k].bias ? kern + 9 * C * F : NULL;
            if (bias)
                for (size_t f = 0; f < F; f++) bias[f] = 0.01f * (float)f - 0.1f;
            CHECK(lf_model_predict(m, xs, N, y) == LF_OK, "winograd predict: %s", lf_model_error(m));
            double worst = 0;
            for (size_t r = 0; r < N && run == 0; r++)
                for (size_t oy = 0; oy < Ho; oy++)
                    for (size_t ox = 0; ox < Wo; ox++)
                        for (size_t f = 0; f < F; f++) {
                            double acc = bias ? bias[f] : 0;
                            for (size_t ky = 0; ky < 3; ky++)
                                for (size_t kx = 0; kx < 3; kx++) {
                                    long iy = (long)(oy + ky) - (long)same, ix = (long)(ox + kx) - (long)same;
                                    if (iy < 0 || ix < 0 || iy >= (long)H || ix >= (long)W) continue;
                                    for (size_t c = 0; c < C; c++)
                                        acc += (double)x[r * D + ((size_t)iy * W + (size_t)ix) * C + c] *
                                               kern[((ky * 3 + kx) * C + c) * F + f];
                                }
                            double e = fabs(acc - y[r * O + (oy * Wo + ox) * F + f]);
                            worst = e > worst ? e : worst;
                        }
            if (run == 0) CHECK(worst < 2e-5, "winograd case %zu: largest error %g against the double sum", k, worst);
            lf_fit_options opt = lf_fit_defaults();
            opt.epochs = 1, opt.batch_size = 20, opt.seed = 3;
            CHECK(lf_model_fit(m, xs, t, N, &opt) == LF_OK, "winograd fit: %s", lf_model_error(m));
            if (run == 0) {
                w0 = malloc(m->n_params * sizeof *w0), p0 = malloc(N * O * sizeof *p0);
                memcpy(w0, m->params, m->n_params * sizeof *w0);
                memcpy(p0, y, N * O * sizeof *p0);
            } else {
                CHECK(memcmp(w0, m->params, m->n_params * sizeof *w0) == 0, "winograd case %zu: 1 and 3 threads train differently", k);
                CHECK(memcmp(p0, y, N * O * sizeof *p0) == 0, "winograd case %zu: 1 and 3 threads predict differently", k);
            }
            lf_model_free(m);
#ifdef _OPENMP
            omp_set_num_threads(initial);
#endif
        }
        free(x), free(y), free(t), free(w0), free(p0);
    }
}

/* A NaN in a max pooling's window is its output (as Keras' ops.max, and
 * as latefuse.h promises: a row with a non-finite input predicts NaN), in
 * whatever place of the window it is: the 2 x 2 tiled path, the general
 * one, the global 2-D and 1-D poolings.  Windows without it keep their
 * maximum. */
static void test_max_pool_nan(void) {
    for (int kind = 0; kind < 4; kind++) {
        lf_model *m;
        lf_model_create(&m, 1);
        int x = kind == 3 ? lf_input_shape(m, 2, (size_t[]){4, 2}, LF_DTYPE_FLOAT32, "x")
                          : lf_input_shape(m, 3, (size_t[]){2, 4, 1}, LF_DTYPE_FLOAT32, "x");
        int p = kind == 0   ? lf_max_pooling2d(m, x, 2, 2, 2, 2, LF_PADDING_VALID, "p")
                : kind == 1 ? lf_max_pooling2d(m, x, 2, 3, 1, 1, LF_PADDING_SAME, "p")
                : kind == 2 ? lf_global_max_pooling2d(m, x, "p")
                            : lf_global_max_pooling1d(m, x, "p");
        CHECK(lf_model_compile(m, lf_flatten(m, p, "f"), LF_LOSS_MSE, NULL) == LF_OK, "compile %d: %s", kind,
              lf_model_error(m));
        /* (2, 4, 1): rows 1 2 3 4 / 5 NaN 7 8; (4, 2): steps (1 2) (3 NaN) (5 6) (7 8) */
        float in[8] = {1, 2, 3, 4, 5, NAN, 7, 8}, y[8];
        const float *xs[1] = {in};
        CHECK(lf_model_predict(m, xs, 1, y) == LF_OK, "predict %d", kind);
        static const int nan_at[4][8] = {{1, 0}, {1, 1, 1, 0, 1, 1, 1, 0}, {1}, {0, 1}};
        static const float want[4][8] = {{0, 8}, {0, 0, 0, 8, 0, 0, 0, 8}, {0}, {7, 0}};
        size_t n = lf_model_output_dim(m);
        for (size_t j = 0; j < n; j++)
            CHECK(nan_at[kind][j] ? isnan(y[j]) : y[j] == want[kind][j], "pooling %d, output %zu: %g", kind, j,
                  (double)y[j]);
        lf_model_free(m);
    }
}

/* A window whose every value is -inf pools to -inf (Keras' and torch's
 * max), not to -FLT_MAX: the 2 x 2 tiled path, the general one, the
 * global 2-D pooling and MaxPooling1D.  Windows with a finite value keep
 * their maximum. */
static void test_max_pool_minus_inf(void) {
    for (int kind = 0; kind < 4; kind++) {
        lf_model *m;
        lf_model_create(&m, 1);
        int x = kind == 3 ? lf_input_shape(m, 2, (size_t[]){4, 2}, LF_DTYPE_FLOAT32, "x")
                          : lf_input_shape(m, 3, (size_t[]){2, 4, 1}, LF_DTYPE_FLOAT32, "x");
        int p = kind == 0   ? lf_max_pooling2d(m, x, 2, 2, 2, 2, LF_PADDING_VALID, "p")
                : kind == 1 ? lf_max_pooling2d(m, x, 2, 1, 2, 1, LF_PADDING_SAME, "p")
                : kind == 2 ? lf_global_max_pooling2d(m, x, "p")
                            : lf_max_pooling1d(m, x, 2, 0, LF_PADDING_VALID, "p");
        CHECK(lf_model_compile(m, lf_flatten(m, p, "f"), LF_LOSS_MSE, NULL) == LF_OK, "compile %d: %s", kind,
              lf_model_error(m));
        /* (2, 4, 1): rows -inf -inf 3 4 / -inf -inf 7 8; (4, 2): steps (-inf -inf) (-inf -inf) (3 4) (7 8) */
        float in[8] = {-INFINITY, -INFINITY, 3, 4, -INFINITY, -INFINITY, 7, 8}, y[8];
        float in1[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, 3, 4, 7, 8};
        const float *xs[1] = {kind == 3 ? in1 : in};
        CHECK(lf_model_predict(m, xs, 1, y) == LF_OK, "predict %d", kind);
        static const float want[4][4] = {
            {-INFINITY, 8}, {-INFINITY, -INFINITY, 7, 8}, {8}, {-INFINITY, -INFINITY, 7, 8}};
        size_t n = lf_model_output_dim(m);
        for (size_t j = 0; j < n; j++)
            CHECK(y[j] == want[kind][j], "pooling %d, output %zu: %g, want %g", kind, j, (double)y[j],
                  (double)want[kind][j]);
        lf_model_free(m);
    }
}

/* The decoder layers (conv_transpose.c, spatial.c): Keras' output shapes
 * (keras/src/backend/common/backend_utils.py, up_sampling2d.py,
 * zero_padding2d.py, cropping2d.py), the summary's rows and counts,
 * hand values, the refusals word for word, a model file that loads back
 * predicting bit for bit, and training on 3 and 1 threads to the same bits */
static lf_model *decoder_model(int *out) {
    lf_model *m;
    lf_model_create(&m, 21);
    int x = lf_input_shape(m, 3, (size_t[]){5, 7, 3}, LF_DTYPE_FLOAT32, "img");
    int a = lf_conv2d_transpose(m, x, 4, 3, 3, 2, 2, LF_PADDING_SAME, NULL, LF_ACT_RELU, 1, "up_same");
    int b = lf_conv2d_transpose(m, x, 2, 3, 3, 2, 2, LF_PADDING_VALID, NULL, LF_ACT_LINEAR, 1, "up_valid");
    int c = lf_conv2d_transpose(m, x, 2, 2, 2, 3, 3, LF_PADDING_VALID, NULL, LF_ACT_TANH, 0, "up_gap");
    int d = lf_conv2d_transpose(m, x, 2, 3, 3, 2, 2, LF_PADDING_SAME, (size_t[]){1, 0}, LF_ACT_LINEAR, 1, "up_op");
    int u = lf_upsampling2d(m, x, 2, 3, LF_INTERP_NEAREST, "ups");
    int ub = lf_upsampling2d(m, a, 2, 2, LF_INTERP_BILINEAR, "ups_b");
    int z = lf_zero_padding2d(m, x, 1, 2, 0, 1, "zpad");
    int k = lf_cropping2d(m, b, 1, 0, 2, 1, "crop");
    int parts[] = {a, b, c, d, u, ub, z, k}, flat[8];
    for (int i = 0; i < 8; i++) flat[i] = lf_global_average_pooling2d(m, parts[i], NULL);
    *out = lf_dense(m, lf_concatenate(m, 8, flat, NULL), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, *out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    return m;
}

static void test_decoder_layers(void) {
    int o;
    lf_model *m = decoder_model(&o);
    static const struct {
        const char *name;
        size_t h, w, c;
    } want[] = {
        {"up_same", 10, 14, 4}, /* H s */
        {"up_valid", 11, 15, 2}, /* (H - 1) s + k */
        {"up_gap", 15, 21, 2},   /* (H - 1) s + max(k, s) */
        {"up_op", 10, 13, 2},    /* (H - 1) s + k % 2 + output_padding */
        {"ups", 10, 21, 3},  {"ups_b", 20, 28, 4}, {"zpad", 8, 8, 3}, {"crop", 10, 12, 2},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        size_t dims[LF_MAX_RANK] = {0};
        int id = -1;
        for (size_t n = 0; n < m->n_nodes; n++)
            if (strcmp(m->nodes[n].name, want[i].name) == 0) id = (int)n;
        CHECK(lf_node_shape(m, id, dims) == 3 && dims[0] == want[i].h && dims[1] == want[i].w && dims[2] == want[i].c,
              "%s: (%zu, %zu, %zu), want (%zu, %zu, %zu)", want[i].name, dims[0], dims[1], dims[2], want[i].h,
              want[i].w, want[i].c);
    }
    char *buf = summary_of(m);
    /* Keras' counts: kh kw filters C + filters */
    CHECK(has(buf, "up_same (Conv2DTranspose)                          (None, 10, 14, 4)           112  img"),
          "summary Conv2DTranspose row:\n%s", buf);
    CHECK(has(buf, "ups (UpSampling2D)                                 (None, 10, 21, 3)             0  img"),
          "summary UpSampling2D row:\n%s", buf);
    CHECK(has(buf, "zpad (ZeroPadding2D)") && has(buf, "crop (Cropping2D)"), "summary rows:\n%s", buf);
    free(buf);

    /* hand values: x (1, 2, 1) = [1, 2], kernel (2, 2, 1, 1) = [[1, 10], [100, 1000]], strides 2, valid:
     * y (2, 4) = [[1, 10, 2, 20], [100, 1000, 200, 2000]]; same crops nothing (P = 0), output (2, 4) too;
     * UpSampling2D bilinear (1, 2) of [1, 2]: [1, 1.25, 1.75, 2] */
    {
        lf_model *h;
        lf_model_create(&h, 1);
        int x = lf_input_shape(h, 3, (size_t[]){1, 2, 1}, LF_DTYPE_FLOAT32, "x");
        int t = lf_conv2d_transpose(h, x, 1, 2, 2, 2, 2, LF_PADDING_VALID, NULL, LF_ACT_LINEAR, 0, "t");
        int up = lf_upsampling2d(h, x, 1, 2, LF_INTERP_BILINEAR, "up");
        int cat = lf_concatenate(h, 2, (int[]){lf_flatten(h, t, NULL), lf_flatten(h, up, NULL)}, NULL);
        CHECK(lf_model_compile(h, cat, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(h));
        CHECK(lf_set_weights(h, "t", 0, (float[]){1, 10, 100, 1000}, 4) == LF_OK, "%s", lf_model_error(h));
        float y[12];
        const float *xs[1] = {(float[]){1, 2}};
        CHECK(lf_model_predict(h, xs, 1, y) == LF_OK, "%s", lf_model_error(h));
        static const float hand[12] = {1, 10, 2, 20, 100, 1000, 200, 2000, 1, 1.25f, 1.75f, 2};
        CHECK(memcmp(y, hand, sizeof hand) == 0, "hand values: %g %g %g %g ... %g %g %g %g", (double)y[0],
              (double)y[1], (double)y[2], (double)y[3], (double)y[8], (double)y[9], (double)y[10], (double)y[11]);
        lf_model_free(h);
    }

    /* refusals */
    {
        lf_model *e;
        lf_model_create(&e, 1);
        int x = lf_input_shape(e, 3, (size_t[]){4, 4, 2}, LF_DTYPE_FLOAT32, "x");
        CHECK(lf_conv2d_transpose(e, x, 2, 3, 3, 2, 2, LF_PADDING_SAME, (size_t[]){1, 2}, LF_ACT_LINEAR, 1, NULL) < 0 &&
                  strcmp(lf_model_error(e),
                         "Conv2DTranspose: `output_padding` must be strictly less than `strides` for all dimensions. "
                         "At dimension 1, `output_padding` is 2 but `strides` is 2") == 0,
              "output_padding: %s", lf_model_error(e));
        lf_model_free(e);
        lf_model_create(&e, 1);
        x = lf_input_shape(e, 3, (size_t[]){4, 4, 2}, LF_DTYPE_FLOAT32, "x");
        CHECK(lf_cropping2d(e, x, 2, 2, 0, 0, NULL) < 0 &&
                  strcmp(lf_model_error(e),
                         "Cropping2D: Values in `cropping` argument should be smaller than the corresponding spatial "
                         "dimension of the input. Received: input_shape=(None, 4, 4, 2), cropping=((2, 2), (0, 0))") == 0,
              "cropping: %s", lf_model_error(e));
        lf_model_free(e);
        lf_model_create(&e, 1);
        x = lf_input_shape(e, 3, (size_t[]){4, 4, 2}, LF_DTYPE_FLOAT32, "x");
        CHECK(lf_upsampling2d(e, x, 0, 2, LF_INTERP_NEAREST, NULL) < 0 &&
                  strcmp(lf_model_error(e), "UpSampling2D: size must be in 1..1024, got (0, 2)") == 0,
              "size 0: %s", lf_model_error(e));
        lf_model_free(e);
        lf_model_create(&e, 1);
        x = lf_input_shape(e, 2, (size_t[]){4, 2}, LF_DTYPE_FLOAT32, "x");
        CHECK(lf_zero_padding2d(e, x, 1, 1, 1, 1, NULL) < 0 &&
                  strcmp(lf_model_error(e), "ZeroPadding2D: input 'x' has shape (None, 4, 2); it needs rank 4 "
                                            "(batch, height, width, channels)") == 0,
              "rank: %s", lf_model_error(e));
        lf_model_free(e);
    }

    /* fit, save, load: the same predictions bit for bit, Keras' fields in the file */
    enum { N = 12, D = 5 * 7 * 3 };
    float *xin = malloc(N * D * sizeof *xin), y[N];
    fill_uniform(xin, N * D, -1, 1, 5);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
    const float *xs[1] = {xin};
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 2, fo.batch_size = 4;
    CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    char path[128];
    snprintf(path, sizeof path, "%s/decoder.lf", tmpdir);
    lf_model *l = check_reload(m, xs, N, 3, path, "the loaded decoder");
    lf_model_free(l);
    lf_st_file f;
    lf_err e;
    CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
    const char *arch = lf_st_metadata(&f, "architecture");
    const char *fields[] = {
        "\"name\":\"up_op\",\"type\":\"Conv2DTranspose\",\"inbound\":[\"img\"],\"filters\":2,\"kernel_size\":[3,3],"
        "\"strides\":[2,2],\"padding\":\"same\",\"activation\":\"linear\",\"use_bias\":true,\"l2\":0,"
        "\"output_padding\":[1,0]",
        "\"name\":\"up_same\",\"type\":\"Conv2DTranspose\"",
        "\"output_padding\":null",
        "\"type\":\"UpSampling2D\",\"inbound\":[\"img\"],\"size\":[2,3],\"interpolation\":\"nearest\"",
        "\"interpolation\":\"bilinear\"",
        "\"type\":\"ZeroPadding2D\",\"inbound\":[\"img\"],\"padding\":[[1,2],[0,1]]",
        "\"type\":\"Cropping2D\",\"inbound\":[\"up_valid\"],\"cropping\":[[1,0],[2,1]]",
    };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        CHECK(has(arch, fields[i]), "arch lacks %s:\n%s", fields[i], arch ? arch : "(none)");
    const lf_st_tensor *t = lf_st_find(&f, "up_same.kernel");
    CHECK(t && t->ndim == 4 && t->shape[0] == 3 && t->shape[1] == 3 && t->shape[2] == 4 && t->shape[3] == 3,
          "up_same.kernel is Keras' (3, 3, 4, 3)");
    lf_st_free(&f);
    unlink(path);
    lf_model_free(m);
    free(xin);
}

/* strided and valid Conv2DTranspose, pooled, a softmax Dense */
static int build_conv_transpose(lf_model *m) {
    int h = lf_input_shape(m, 3, (size_t[]){8, 8, 8}, LF_DTYPE_FLOAT32, "img");
    h = lf_conv2d_transpose(m, h, 6, 3, 3, 2, 2, LF_PADDING_SAME, NULL, LF_ACT_RELU, 1, NULL);
    h = lf_conv2d_transpose(m, h, 4, 3, 3, 1, 1, LF_PADDING_VALID, NULL, LF_ACT_TANH, 1, NULL);
    return lf_dense(m, lf_global_average_pooling2d(m, h, NULL), 4, LF_ACT_SOFTMAX, 1, "out");
}

/* Conv2DTranspose's chunks on OpenMP's threads (above Conv2D's
 * threshold): trained on 3 and 1 threads, the same bits */
static void test_conv_transpose_threads(void) {
    check_fit_same_on_threads("Conv2DTranspose", build_conv_transpose, 64, 8 * 8 * 8, 4, 1, 32);
}

/* a SeparableConv2D and a dilated DepthwiseConv2D, pooled, a softmax Dense */
static int build_sepconv(lf_model *m) {
    int h = lf_input_shape(m, 3, (size_t[]){10, 10, 8}, LF_DTYPE_FLOAT32, "img");
    h = lf_separable_conv2d(m, h, 12, 3, 3, 1, 1, LF_PADDING_SAME, 2, 1, 1, LF_ACT_RELU, 1, NULL);
    h = lf_depthwise_conv2d(m, h, 3, 3, 1, 1, LF_PADDING_VALID, 1, 2, 2, LF_ACT_TANH, 1, NULL);
    return lf_dense(m, lf_global_average_pooling2d(m, h, NULL), 4, LF_ACT_SOFTMAX, 1, "out");
}

/* DepthwiseConv2D, SeparableConv2D and dilated Conv2D: Keras' output shapes
 * (operation_utils.py's compute_conv_output_shape), the summary's counts
 * (Keras': kh kw C M + C M; kh kw C M + C M filters + filters), the
 * refusals word for word, the file's fields, a model file that loads back
 * predicting bit for bit, and training on 3 and 1 threads to the same bits */
static lf_model *sepconv_model(int *out) {
    lf_model *m;
    lf_model_create(&m, 31);
    int x = lf_input_shape(m, 3, (size_t[]){9, 8, 3}, LF_DTYPE_FLOAT32, "img");
    int a = lf_depthwise_conv2d(m, x, 3, 3, 1, 1, LF_PADDING_SAME, 2, 1, 1, LF_ACT_RELU, 1, "dw");
    int b = lf_separable_conv2d(m, a, 8, 3, 3, 2, 2, LF_PADDING_VALID, 1, 1, 1, LF_ACT_RELU, 1, "sep");
    int c = lf_conv2d_dilated(m, x, 4, 3, 3, 1, 1, LF_PADDING_VALID, 2, 3, LF_ACT_TANH, 1, "dil");
    int d = lf_depthwise_conv2d(m, x, 2, 3, 1, 1, LF_PADDING_VALID, 1, 3, 2, LF_ACT_LINEAR, 0, "dw_dil");
    int parts[] = {lf_global_average_pooling2d(m, b, NULL), lf_global_average_pooling2d(m, c, NULL),
                   lf_global_average_pooling2d(m, d, NULL)};
    *out = lf_dense(m, lf_concatenate(m, 3, parts, NULL), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, *out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    return m;
}

static void test_sepconv_layers(void) {
    int o;
    lf_model *m = sepconv_model(&o);
    static const struct {
        const char *name;
        size_t h, w, c;
    } want[] = {
        {"dw", 9, 8, 6},     /* same: the size kept, C M channels */
        {"sep", 4, 3, 8},    /* (9 - 3) / 2 + 1, (6 - 3) / 2 + 1 */
        {"dil", 5, 2, 4},    /* 9 - 2 (3 - 1), 8 - 3 (3 - 1) */
        {"dw_dil", 6, 4, 3}, /* 9 - 3 (2 - 1), 8 - 2 (3 - 1) */
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        size_t dims[LF_MAX_RANK] = {0};
        int id = -1;
        for (size_t n = 0; n < m->n_nodes; n++)
            if (strcmp(m->nodes[n].name, want[i].name) == 0) id = (int)n;
        CHECK(lf_node_shape(m, id, dims) == 3 && dims[0] == want[i].h && dims[1] == want[i].w && dims[2] == want[i].c,
              "%s: (%zu, %zu, %zu), want (%zu, %zu, %zu)", want[i].name, dims[0], dims[1], dims[2], want[i].h,
              want[i].w, want[i].c);
    }
    char *buf = summary_of(m);
    CHECK(has(buf, "dw (DepthwiseConv2D)                               (None, 9, 8, 6)              60  img"),
          "summary DepthwiseConv2D row (3 3 3 2 + 6):\n%s", buf);
    CHECK(has(buf, "sep (SeparableConv2D)                              (None, 4, 3, 8)             110  dw"),
          "summary SeparableConv2D row (3 3 6 + 6 8 + 8):\n%s", buf);
    free(buf);
    size_t ws[3][4] = {{0}}, cnt[3];
    for (size_t k = 0; k < 3; k++) lf_layer_weight_shape(m, "sep", k, ws[k], &cnt[k]);
    CHECK(lf_layer_num_weights(m, "sep") == 3 && cnt[0] == 3 * 3 * 6 && cnt[1] == 6 * 8 && cnt[2] == 8,
          "SeparableConv2D's weights in Keras' order and shapes: %zu %zu %zu", cnt[0], cnt[1], cnt[2]);

    /* hand values: x (1, 3, 2) channels [1, 2], [3, 4], [5, 6]; DepthwiseConv2D (1, 2) kernel, M 1,
     * dilation 2 over the width... (1, 3) with kernel (1, 2) dilation (1, 2): taps 0 and 2:
     * y = x[0] k0 + x[2] k1 per channel: k = [[10, 100], [1000, 10000]] -> [1 10 + 5 1000, 2 100 + 6 10000] */
    {
        lf_model *h;
        lf_model_create(&h, 1);
        int x = lf_input_shape(h, 3, (size_t[]){1, 3, 2}, LF_DTYPE_FLOAT32, "x");
        int t = lf_depthwise_conv2d(h, x, 1, 2, 1, 1, LF_PADDING_VALID, 1, 1, 2, LF_ACT_LINEAR, 0, "t");
        CHECK(lf_model_compile(h, lf_flatten(h, t, NULL), LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(h));
        CHECK(lf_set_weights(h, "t", 0, (float[]){10, 100, 1000, 10000}, 4) == LF_OK, "%s", lf_model_error(h));
        float y[2];
        const float *xs[1] = {(float[]){1, 2, 3, 4, 5, 6}};
        CHECK(lf_model_predict(h, xs, 1, y) == LF_OK, "%s", lf_model_error(h));
        CHECK(y[0] == 5010 && y[1] == 60200, "hand values: %g %g", (double)y[0], (double)y[1]);
        lf_model_free(h);
    }

    /* refusals */
    {
        static const char *const want_err[] = {
            "Conv2D: strides > 1 not supported in conjunction with dilation_rate > 1, got strides (2, 1) and "
            "dilation_rate (1, 2)",
            "DepthwiseConv2D: depth_multiplier must be in 1..268435456, got 0",
            "SeparableConv2D: input 'x' of shape (None, 4, 4, 2) is smaller than the kernel (3, 3) dilated by (2, 1) "
            "with padding 'valid'",
            "Conv2D: unknown padding 2 ('causal' is Conv1D's only)",
            "DepthwiseConv2D: dilation_rate must be in 1..1024, got (0, 1)",
        };
        for (int k = 0; k < 5; k++) {
            lf_model *e;
            lf_model_create(&e, 1);
            int x = lf_input_shape(e, 3, (size_t[]){4, 4, 2}, LF_DTYPE_FLOAT32, "x");
            int r = k == 0   ? lf_conv2d_dilated(e, x, 2, 3, 3, 2, 1, LF_PADDING_SAME, 1, 2, LF_ACT_LINEAR, 1, NULL)
                    : k == 1 ? lf_depthwise_conv2d(e, x, 3, 3, 1, 1, LF_PADDING_SAME, 0, 1, 1, LF_ACT_LINEAR, 1, NULL)
                    : k == 2 ? lf_separable_conv2d(e, x, 2, 3, 3, 1, 1, LF_PADDING_VALID, 1, 2, 1, LF_ACT_LINEAR, 1, NULL)
                    : k == 3 ? lf_conv2d(e, x, 2, 3, 3, 1, 1, LF_PADDING_CAUSAL, LF_ACT_LINEAR, 1, NULL)
                             : lf_depthwise_conv2d(e, x, 3, 3, 1, 1, LF_PADDING_SAME, 1, 0, 1, LF_ACT_LINEAR, 1, NULL);
            CHECK(r < 0 && strcmp(lf_model_error(e), want_err[k]) == 0, "refusal %d: %s", k, lf_model_error(e));
            lf_model_free(e);
        }
    }

    /* fit, save, load: the same predictions bit for bit, the fields in the file */
    enum { N = 12, D = 9 * 8 * 3 };
    float *xin = malloc(N * D * sizeof *xin), y[N];
    fill_uniform(xin, N * D, -1, 1, 5);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
    const float *xs[1] = {xin};
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 2, fo.batch_size = 4;
    CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    char path[128];
    snprintf(path, sizeof path, "%s/sepconv.lf", tmpdir);
    lf_model *l = check_reload(m, xs, N, 3, path, "the loaded model");
    lf_model_free(l);
    lf_st_file f;
    lf_err e;
    CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
    const char *arch = lf_st_metadata(&f, "architecture");
    const char *fields[] = {
        "\"name\":\"dw\",\"type\":\"DepthwiseConv2D\",\"inbound\":[\"img\"],\"kernel_size\":[3,3],\"strides\":[1,1],"
        "\"padding\":\"same\",\"depth_multiplier\":2,\"activation\":\"relu\",\"use_bias\":true,\"l2\":0}",
        "\"name\":\"sep\",\"type\":\"SeparableConv2D\",\"inbound\":[\"dw\"],\"filters\":8,\"kernel_size\":[3,3],"
        "\"strides\":[2,2],\"padding\":\"valid\",\"depth_multiplier\":1",
        "\"name\":\"dil\",\"type\":\"Conv2D\",\"inbound\":[\"img\"],\"filters\":4,\"kernel_size\":[3,3],\"strides\":[1,1],"
        "\"padding\":\"valid\",\"activation\":\"tanh\",\"use_bias\":true,\"l2\":0,\"dilation_rate\":[2,3]}",
        "\"name\":\"dw_dil\",\"type\":\"DepthwiseConv2D\"",
        "\"dilation_rate\":[3,2]}",
    };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        CHECK(has(arch, fields[i]), "arch lacks %s:\n%s", fields[i], arch ? arch : "(none)");
    const lf_st_tensor *t = lf_st_find(&f, "sep.pointwise_kernel");
    CHECK(t && t->ndim == 4 && t->shape[0] == 1 && t->shape[1] == 1 && t->shape[2] == 6 && t->shape[3] == 8,
          "sep.pointwise_kernel is Keras' (1, 1, 6, 8)");
    CHECK(lf_st_find(&f, "sep.depthwise_kernel") && lf_st_find(&f, "sep.bias"), "sep's tensors by Keras' names");
    t = lf_st_find(&f, "dw.kernel");
    CHECK(t && t->ndim == 4 && t->shape[2] == 3 && t->shape[3] == 2, "dw.kernel is Keras' (3, 3, 3, 2)");
    lf_st_free(&f);
    unlink(path);
    lf_model_free(m);
    free(xin);

    /* the depthwise kernel's images and taps on OpenMP's threads: 3 and 1 threads, the same bits */
    check_fit_same_on_threads("depthwise/separable", build_sepconv, 64, 10 * 10 * 8, 4, 1, 32);
}

/* BatchNormalization's batch statistics on huge activations (training,
 * momentum 0: the moving statistics are the batch's).  Channel 0: values
 * 1e20 .. 1.3e20, whose squares (above 1e40) overflow float while their
 * variance (1.25e38) does not: the moving mean and variance against double.
 * Channel 1: +-1e20, variance 1e40, past float: the normalised values
 * (+-1) are still right (1 / std from the variance in double), where the
 * float root of an inf variance made them all 0; checked through the loss
 * against targets set to the normalised values in double. */
static void test_batchnorm_huge(void) {
    enum { N = 4, C = 2 };
    lf_model *m;
    lf_model_create(&m, 5);
    int x = lf_input(m, C, "x");
    int bn = lf_batch_normalization(m, x, 0.0f, 1e-3f, "bn");
    CHECK(lf_model_compile(m, bn, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    float xin[N * C] = {1e20f, 1e20f, 1.1e20f, -1e20f, 1.2e20f, 1e20f, 1.3e20f, -1e20f}, t[N * C];
    double mean[C] = {0}, var[C] = {0};
    for (int i = 0; i < N * C; i++) mean[i % C] += xin[i] / (double)N;
    for (int i = 0; i < N * C; i++) var[i % C] += (xin[i] - mean[i % C]) * (xin[i] - mean[i % C]) / (double)N;
    for (int i = 0; i < N * C; i++) t[i] = (float)((xin[i] - mean[i % C]) / sqrt(var[i % C] + 1e-3));
    const float *xs[1] = {xin};
    double loss;
    CHECK(lf__loss_and_grads(m, xs, t, N, 1, 0, &loss, NULL) == LF_OK, "training pass: %s", lf_model_error(m));
    float st[2 * C];
    lf_get_weights(m, "bn", 2, st, C), lf_get_weights(m, "bn", 3, st + C, C);
    CHECK(isinf(1e20f * 1e20f) && fabs(st[0] - mean[0]) <= 1e-6 * mean[0] && fabs(st[C] - var[0]) <= 1e-6 * var[0],
          "channel 0: moving mean %g variance %g, want %g %g", (double)st[0], (double)st[C], mean[0], var[0]);
    CHECK(loss < 1e-10, "the normalised values against double: the loss is %g (0.5: channel 1's all 0)", loss);
    lf_model_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_image_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_shapes();
    test_file_versions();
    test_batchnorm_stats();
    test_augment();
    test_draws_by_row();
    test_cnn_round_trip();
    test_batchnorm_center_scale();
    test_rescaling_file();
    test_normalization();
    test_image_errors();
    test_cnn_threads();
    test_winograd();
    test_sepconv_layers();
    test_decoder_layers();
    test_conv_transpose_threads();
    test_max_pool_nan();
    test_max_pool_minus_inf();
    /* after the thread-count tests: with clang's libomp, a first parallel
     * region here, before they resize the team, left LeakSanitizer two
     * blocks of libomp's own to report */
    test_batchnorm_stats_parts();
    test_batchnorm_huge();
    rmdir(tmpdir);
    return check_report("test_image_layers");
}
