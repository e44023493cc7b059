/*
 * test_video.c — rank-4 per-sample shapes (videos, (T, H, W, C)): the
 * summary's shapes, the layers that take rank 4 (Flatten, Reshape,
 * Permute, Dense on the last axis) against hand-computed values, the
 * build-time refusals of those that do not, and a model file round trip
 * predicting the same bits; TimeDistributed (time_distributed.c): its
 * steps against the frames run alone, its summary, file and refusals
 * (its gradients: test_grad.c; PyTorch's numbers: test_golden.c);
 * GlobalMaxPooling3D / GlobalAveragePooling3D by hand.
 */
#include "check.h"
#include "engine_util.h"
#include "model_checks.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

/* Input (8, 6, 5, 3), Permute, Reshape and Flatten on it, Dense on its last axis */
static void test_rank4_shapes(void) {
    lf_model *m;
    lf_model_create(&m, 1);
    size_t v[4] = {8, 6, 5, 3}, dims[LF_MAX_RANK] = {0};
    int x = lf_input_shape(m, 4, v, LF_DTYPE_FLOAT32, "video");
    CHECK(lf_node_shape(m, x, dims) == 4 && dims[0] == 8 && dims[3] == 3, "input (8, 6, 5, 3)");
    CHECK(lf_node_dim(m, x) == 720, "dim 720");
    int p = lf_permute(m, x, 4, (size_t[]){4, 2, 3, 1}, "perm");
    CHECK(lf_node_shape(m, p, dims) == 4 && dims[0] == 3 && dims[1] == 6 && dims[2] == 5 && dims[3] == 8,
          "Permute (4, 2, 3, 1): (3, 6, 5, 8)");
    int r = lf_reshape(m, p, 4, (size_t[]){2, 3, LF_INFER, 8}, "resh");
    CHECK(lf_node_shape(m, r, dims) == 4 && dims[2] == 15, "Reshape (2, 3, -1, 8): (2, 3, 15, 8)");
    int d = lf_dense(m, r, 2, LF_ACT_LINEAR, 0, "per_pixel");
    CHECK(lf_node_shape(m, d, dims) == 4 && dims[3] == 2, "Dense on the last axis: (2, 3, 15, 2)");
    int f = lf_flatten(m, d, "flat");
    CHECK(lf_node_dim(m, f) == 180, "Flatten 180");
    int o = lf_dense(m, f, 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    char *s = summary_of(m);
    if (!s) s = strdup("(no summary)");
    CHECK(has(s, "video (InputLayer)                                 (None, 8, 6, 5, 3)"), "summary:\n%s", s ? s : "");
    CHECK(has(s, "perm (Permute)                                     (None, 3, 6, 5, 8)"), "summary:\n%s", s ? s : "");
    CHECK(has(s, "per_pixel (Dense)                                  (None, 2, 3, 15, 2)"), "summary:\n%s", s ? s : "");
    free(s);

    /* Permute moves values as hand-indexed: perm[a][b][c][d] = x[d][b][c][a] */
    float x0[720], y[3];
    for (size_t i = 0; i < 720; i++) x0[i] = (float)i;
    const float *xs[1] = {x0};
    CHECK(lf_model_predict(m, xs, 1, y) == LF_OK, "predict: %s", lf_model_error(m));
    lf_ws ws;
    CHECK(lf_ws_init(&ws, m, 1, 0, NULL, 0) == LF_OK, "ws");
    lf_graph_forward(m, &ws, xs, 1, 0, NULL);
    int perm_ok = 1;
    for (size_t a = 0; a < 3; a++)
        for (size_t b = 0; b < 6; b++)
            for (size_t c = 0; c < 5; c++)
                for (size_t e = 0; e < 8; e++)
                    perm_ok &= ws.out[p][((a * 6 + b) * 5 + c) * 8 + e] == x0[((e * 6 + b) * 5 + c) * 3 + a];
    CHECK(perm_ok, "Permute (4, 2, 3, 1) by hand");
    lf_ws_free(&ws);

    /* save, load: the shapes and the predictions, bit for bit */
    char path[128];
    snprintf(path, sizeof path, "%s/r4.lf", tmpdir);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *l;
    lf_model_create(&l, 9);
    CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
    CHECK(lf_node_shape(l, lf_node_find(l, "video"), dims) == 4 && dims[0] == 8 && dims[1] == 6, "loaded shape");
    float y2[3];
    CHECK(lf_model_predict(l, xs, 1, y2) == LF_OK && memcmp(y, y2, sizeof y) == 0, "loaded predicts the same bits");
    lf_model_free(l);
    unlink(path);
    lf_model_free(m);
}

/* layers that need another rank refuse rank 4, naming themselves */
static void test_rank4_refusals(void) {
    struct {
        int what;
        const char *msg;
    } cases[] = {
        {0, "Conv2D: input 'video' has shape (None, 8, 6, 5, 3); it needs rank 4 (batch, height, width, channels)"},
        {1, "MaxPooling2D: input 'video' has shape (None, 8, 6, 5, 3); it needs rank 4 (batch, height, width, "
            "channels)"},
        {2, "LSTM: input 'video' has shape (None, 8, 6, 5, 3); it needs rank 3 (batch, steps, features)"},
        {3, "GlobalAveragePooling2D: input 'video' has shape (None, 8, 6, 5, 3); it needs rank 4 (batch, height, "
            "width, channels)"},
        {4, "InputLayer: a shape has 1 to 5 dims, got 6"},
        {5, "Reshape: a target shape has 1 to 5 dims, got 6"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int x = lf_input_shape(m, 4, (size_t[]){8, 6, 5, 3}, LF_DTYPE_FLOAT32, "video");
        switch (cases[c].what) {
        case 0: lf_conv2d(m, x, 4, 3, 3, 1, 1, LF_PADDING_VALID, LF_ACT_RELU, 1, NULL); break;
        case 1: lf_max_pooling2d(m, x, 2, 2, 2, 2, LF_PADDING_VALID, NULL); break;
        case 2: lf_lstm(m, x, 4, 1, 1, 0, 0, NULL); break;
        case 3: lf_global_average_pooling2d(m, x, NULL); break;
        case 4: lf_input_shape(m, 6, (size_t[]){1, 1, 8, 6, 5, 3}, LF_DTYPE_FLOAT32, NULL); break;
        default: lf_reshape(m, x, 6, (size_t[]){1, 1, 8, 6, 5, 3}, NULL); break;
        }
        CHECK(strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

/* TimeDistributed(Conv2D -> MaxPooling2D -> Flatten -> Dense) on a video:
 * each step's output is the same network's on that frame alone (a model
 * of images with the same weights); the summary's rows; a model file round
 * trip predicting the same bits */
static void test_td_frames_of(size_t C, size_t F) {
    enum { T = 4, H = 6, W = 5, N = 3 };
    lf_model *m, *im;
    lf_model_create(&m, 5);
    int x = lf_input_shape(m, 4, (size_t[]){T, H, W, C}, LF_DTYPE_FLOAT32, "video");
    int s = lf_time_distributed(m, x, NULL);
    int c = lf_conv2d(m, s, F, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, "conv");
    int p = lf_max_pooling2d(m, c, 2, 2, 2, 2, LF_PADDING_VALID, "pool");
    int d = lf_dense(m, lf_flatten(m, p, "flat"), 4, LF_ACT_TANH, 1, "per_step");
    int td = lf_time_distributed_end(m, d, NULL);
    size_t dims[LF_MAX_RANK];
    CHECK(lf_node_shape(m, s, dims) == 3 && dims[0] == H && dims[2] == C, "the steps' shape (6, 5, 2)");
    CHECK(lf_node_shape(m, td, dims) == 2 && dims[0] == T && dims[1] == 4, "TimeDistributed (4, 4)");
    int o = lf_dense(m, lf_global_average_pooling1d(m, td, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    char *sum = summary_of(m);
    if (C == 2 && F == 3) {
        CHECK(has(sum, "time_distributed_input (TimeDistributedInput)      (None, 4, 6, 5, 2)"), "summary:\n%s",
              sum ? sum : "");
        CHECK(has(sum, "conv (Conv2D)                                      (None, 4, 6, 5, 3)"), "summary:\n%s",
              sum ? sum : "");
        CHECK(has(sum, "time_distributed (TimeDistributed)                 (None, 4, 4)"), "summary:\n%s",
              sum ? sum : "");
    }
    free(sum);

    lf_model_create(&im, 6);
    int ix = lf_input_shape(im, 3, (size_t[]){H, W, C}, LF_DTYPE_FLOAT32, "frame");
    int ic = lf_conv2d(im, ix, F, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, "conv");
    int ip = lf_max_pooling2d(im, ic, 2, 2, 2, 2, LF_PADDING_VALID, "pool");
    int idn = lf_dense(im, lf_flatten(im, ip, "flat"), 4, LF_ACT_TANH, 1, "per_step");
    CHECK(lf_model_compile(im, idn, LF_LOSS_MSE, NULL) == LF_OK, "compile the image model");
    const char *layers[] = {"conv", "per_step"};
    for (size_t l = 0; l < 2; l++)
        for (size_t k = 0; k < 2; k++) {
            size_t shape[2], cnt;
            lf_layer_weight_shape(m, layers[l], k, shape, &cnt);
            float *w = malloc(cnt * sizeof *w);
            lf_get_weights(m, layers[l], k, w, cnt);
            fill_uniform(w, cnt, -0.5f, 0.5f, 70 + 2 * l + k); /* biases away from 0 too */
            lf_set_weights(m, layers[l], k, w, cnt);
            CHECK(lf_set_weights(im, layers[l], k, w, cnt) == LF_OK, "copy %s", layers[l]);
            free(w);
        }
    float *xv = malloc(N * T * H * W * C * sizeof *xv), yi[N * T * 4];
    fill_uniform(xv, N * T * H * W * C, -1, 1, 77);
    const float *xs[1] = {xv};
    lf_ws ws;
    CHECK(lf_ws_init(&ws, m, N, 0, NULL, 0) == LF_OK, "ws");
    lf_graph_forward(m, &ws, xs, N, 0, NULL);
    /* the image model on the N T frames, one row each */
    CHECK(lf_model_predict(im, xs, N * T, yi) == LF_OK, "predict frames: %s", lf_model_error(im));
    CHECK_CLOSE("TimeDistributed's steps vs the frames alone", ws.out[td], yi, (size_t)N * T * 4, 1e-6, 1e-6);
    lf_ws_free(&ws);

    /* save, load: the same bits */
    float y[N * 2], y2[N * 2];
    CHECK(lf_model_predict(m, xs, N, y) == LF_OK, "predict");
    char path[128];
    snprintf(path, sizeof path, "%s/td.lf", tmpdir);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *l;
    lf_model_create(&l, 9);
    CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
    CHECK(lf_model_predict(l, xs, N, y2) == LF_OK && memcmp(y, y2, sizeof y) == 0,
          "the loaded TimeDistributed model predicts the same bits");
    int lc = lf_node_find(l, "conv");
    CHECK(lc >= 0 && l->nodes[lc].td_steps == T, "the loaded conv is on the steps");
    lf_model_free(l);
    unlink(path);
    lf_model_free(im);
    lf_model_free(m);
    free(xv);
}

/* the conv plain (im2col) and Winograd's (3x3, stride 1, >= 16 channels and
 * filters: its per-row scratch then runs over B T rows) */
static void test_td_frames(void) {
    test_td_frames_of(2, 3);
    test_td_frames_of(16, 16);
}

/* Dropout on the steps (Keras: a (B T, ...) batch, so each step its own
 * mask): the masks of a sample's steps differ, and the same draws give the
 * same bits */
static void test_td_dropout(void) {
    enum { T = 4, D = 64, N = 2 };
    lf_model *m;
    lf_model_create(&m, 8);
    int x = lf_input_shape(m, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "seq");
    int s = lf_time_distributed(m, x, NULL);
    int d = lf_dropout(m, s, 0.5f, "drop");
    int td = lf_time_distributed_end(m, d, "td");
    int o = lf_dense(m, lf_flatten(m, td, NULL), 1, LF_ACT_LINEAR, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    static float xv[N * T * D];
    for (size_t i = 0; i < sizeof xv / sizeof *xv; i++) xv[i] = 1.0f;
    const float *xs[1] = {xv};
    lf_ws ws, ws2;
    CHECK(lf_ws_init(&ws, m, N, 0, NULL, 0) == LF_OK && lf_ws_init(&ws2, m, N, 0, NULL, 0) == LF_OK, "ws");
    lf_draws dr = {12345, 0};
    lf_graph_forward_drawn(m, &ws, xs, N, 1, &dr);
    lf_graph_forward_drawn(m, &ws2, xs, N, 1, &dr);
    CHECK(memcmp(ws.out[td], ws2.out[td], sizeof xv) == 0, "the same draws, the same bits");
    size_t kept = 0, same_steps = 0;
    for (size_t i = 0; i < N * T * D; i++) kept += ws.out[td][i] != 0.0f;
    for (size_t b = 0; b < N; b++)
        for (size_t t = 1; t < T; t++)
            same_steps += memcmp(ws.out[td] + (b * T + t) * D, ws.out[td] + b * T * D, D * sizeof(float)) == 0;
    CHECK(kept > N * T * D / 4 && kept < 3 * N * T * D / 4, "about half kept: %zu of %d", kept, N * T * D);
    CHECK(same_steps == 0, "every step its own mask");
    lf_ws_free(&ws);
    lf_ws_free(&ws2);
    lf_model_free(m);
}

/* GlobalMaxPooling3D / GlobalAveragePooling3D against sums by hand; a
 * model file round trip; rank 3 refused */
static void test_global_pool3d(void) {
    enum { T = 3, H = 2, W = 4, C = 2 };
    lf_model *m;
    lf_model_create(&m, 3);
    int x = lf_input_shape(m, 4, (size_t[]){T, H, W, C}, LF_DTYPE_FLOAT32, "video");
    int a = lf_global_max_pooling3d(m, x, "gmax3"), b = lf_global_average_pooling3d(m, x, "gavg3");
    int cat = lf_concatenate(m, 2, (int[]){a, b}, "cat");
    CHECK(lf_model_compile(m, cat, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    float xv[2 * T * H * W * C], y[2 * 2 * C], want[2 * 2 * C];
    fill_uniform(xv, sizeof xv / sizeof *xv, -2, 2, 31);
    for (size_t r = 0; r < 2; r++)
        for (size_t ch = 0; ch < C; ch++) {
            float mx = -INFINITY, sum = 0;
            for (size_t v = 0; v < T * H * W; v++) {
                float e = xv[(r * T * H * W + v) * C + ch];
                mx = e > mx ? e : mx, sum += e;
            }
            want[r * 2 * C + ch] = mx, want[r * 2 * C + C + ch] = sum / (T * H * W);
        }
    const float *xs[1] = {xv};
    CHECK(lf_model_predict(m, xs, 2, y) == LF_OK, "predict: %s", lf_model_error(m));
    CHECK_CLOSE("global 3-D poolings by hand", y, want, 2 * 2 * C, 1e-6, 1e-6);
    char path[128];
    snprintf(path, sizeof path, "%s/gp3.lf", tmpdir);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *l;
    lf_model_create(&l, 9);
    float y2[2 * 2 * C];
    CHECK(lf_model_load(l, path) == LF_OK && lf_model_predict(l, xs, 2, y2) == LF_OK && memcmp(y, y2, sizeof y) == 0,
          "loaded: the same bits");
    lf_model_free(l);
    unlink(path);
    lf_model_free(m);
    lf_model_create(&m, 4);
    int img = lf_input_shape(m, 3, (size_t[]){6, 5, 3}, LF_DTYPE_FLOAT32, "img");
    lf_global_average_pooling3d(m, img, NULL);
    CHECK(strcmp(lf_model_error(m), "GlobalAveragePooling3D: input 'img' has shape (None, 6, 5, 3); it needs rank 5 "
                                    "(batch, frames, height, width, channels)") == 0,
          "got '%s'", lf_model_error(m));
    lf_model_free(m);
}

/* copies every weight of layer `name` from a to b */
static void copy_layer(lf_model *a, lf_model *b, const char *name) {
    for (size_t k = 0; k < lf_layer_num_weights(a, name); k++) {
        size_t shape[2], n;
        float buf[256];
        CHECK(lf_layer_weight_shape(a, name, k, shape, &n) == LF_OK && n <= 256, "%s.%zu", name, k);
        CHECK(lf_get_weights(a, name, k, buf, n) == LF_OK && lf_set_weights(b, name, k, buf, n) == LF_OK,
              "copy %s.%zu: %s", name, k, lf_model_error(b));
    }
}

/* Embedding (6, 2) with row k = (k, -k / 2): ids (T, S) or (T) */
static int td_embedding(lf_model *m, int ids, int mask_zero) {
    int e = lf_embedding(m, ids, 6, 2, mask_zero, "emb");
    float table[12];
    for (int k = 0; k < 6; k++) table[2 * k] = (float)k, table[2 * k + 1] = 0.0f - 0.5f * (float)k;
    CHECK(lf_set_weights(m, "emb", 0, table, 12) == LF_OK, "set: %s", lf_model_error(m));
    return e;
}

/* A padding mask through TimeDistributed, as Keras 3's call: the layer on
 * the steps gets each step's mask (mask[i]: (B, S) of a (B, T, S) mask),
 * and the output carries none (supports_masking False; its compute_mask is
 * the default, unused). */
static void test_td_masks(void) {
    enum { N = 2, T = 3, S = 4 };
    /* padding inside, after, everywhere (step 1 of row 0), none */
    static const float ids[N * T * S] = {3, 0, 5, 0, 0, 0, 0, 0, 1, 2, 3, 4,
                                         0, 0, 0, 2, 4, 4, 0, 1, 5, 1, 0, 0};
    const float *xs[1] = {ids};
    /* 1. TimeDistributed(Dropout -> GlobalAveragePooling1D) by hand: each step the mean
     *    of its real tokens' rows, 0 where all are padding */
    {
        lf_model *m;
        lf_model_create(&m, 1);
        int x = lf_input_shape(m, 2, (size_t[]){T, S}, LF_DTYPE_INT32, "ids");
        int s = lf_time_distributed(m, td_embedding(m, x, 1), "steps");
        /* Dropout (inference: the identity) keeps the mask on the steps */
        int d = lf_dropout(m, s, 0.5f, "drop");
        int td = lf_time_distributed_end(m, lf_global_average_pooling1d(m, d, "gap"), "td");
        CHECK(lf_model_compile(m, td, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
        float y[N * T * 2], want[N * T * 2];
        for (size_t r = 0; r < N * T; r++) {
            float sum = 0, n = 0;
            for (size_t k = 0; k < S; k++) sum += ids[r * S + k], n += ids[r * S + k] != 0;
            want[2 * r] = n ? sum / n : 0, want[2 * r + 1] = n ? -0.5f * sum / n : 0;
        }
        CHECK(lf_model_predict(m, xs, N, y) == LF_OK, "predict: %s", lf_model_error(m));
        CHECK_CLOSE("TimeDistributed(GlobalAveragePooling1D) over each step's real tokens", y, want, N * T * 2, 1e-6,
                    1e-6);
        lf_model_free(m);
    }
    /* 2. TimeDistributed(LSTM) with each step's mask: the same bits as the
     *    LSTM on the N T steps as rows of S tokens; the mask matters (mask_zero
     *    0 differs); a model file round trip keeps the bits */
    {
        float y[N * T * 3], alone[N * T * 3], unmasked[N * T * 3];
        lf_model *m[3];
        for (int k = 0; k < 3; k++) {
            lf_model_create(&m[k], 5 + (uint64_t)k);
            int x = lf_input_shape(m[k], k == 1 ? 1 : 2, k == 1 ? (size_t[]){S} : (size_t[]){T, S}, LF_DTYPE_INT32,
                                   "ids");
            int e = td_embedding(m[k], x, k != 2);
            int h = k == 1 ? e : lf_time_distributed(m[k], e, "steps");
            h = lf_lstm(m[k], h, 3, 1, 1, 0, 0, "lstm");
            if (k != 1) h = lf_time_distributed_end(m[k], h, "td");
            CHECK(lf_model_compile(m[k], h, LF_LOSS_MSE, NULL) == LF_OK, "compile %d: %s", k, lf_model_error(m[k]));
            if (k) copy_layer(m[0], m[k], "lstm");
        }
        CHECK(lf_model_predict(m[0], xs, N, y) == LF_OK, "predict: %s", lf_model_error(m[0]));
        CHECK(lf_model_predict(m[1], xs, N * T, alone) == LF_OK, "predict alone: %s", lf_model_error(m[1]));
        CHECK(lf_model_predict(m[2], xs, N, unmasked) == LF_OK, "predict unmasked: %s", lf_model_error(m[2]));
        CHECK(memcmp(y, alone, sizeof y) == 0, "TimeDistributed(LSTM) with the steps' masks: the LSTM alone's bits");
        CHECK(memcmp(y, unmasked, sizeof y) != 0, "the mask changes the result");
        char path[128];
        snprintf(path, sizeof path, "%s/tdmask.lf", tmpdir);
        CHECK(lf_model_save(m[0], path, 0) == LF_OK, "save: %s", lf_model_error(m[0]));
        lf_model *l;
        lf_model_create(&l, 9);
        float back[N * T * 3];
        CHECK(lf_model_load(l, path) == LF_OK && lf_model_predict(l, xs, N, back) == LF_OK &&
                  memcmp(back, y, sizeof y) == 0,
              "the loaded model: the same bits (%s)", lf_model_error(l));
        lf_model_free(l);
        unlink(path);
        for (int k = 0; k < 3; k++) lf_model_free(m[k]);
    }
    /* 3. the output carries no mask: Embedding(mask_zero) -> TimeDistributed
     *    (Dense) -> GlobalAveragePooling1D averages every step, the bits of
     *    the same model without the mask; Dense without the wrapper keeps
     *    the mask (Keras), and its pooling differs */
    {
        float y[3][N * 2];
        lf_model *m[3];
        for (int k = 0; k < 3; k++) {
            lf_model_create(&m[k], 7);
            int x = lf_input_shape(m[k], 1, (size_t[]){T * S}, LF_DTYPE_INT32, "ids");
            int e = td_embedding(m[k], x, k != 1);
            /* (T S, 2) as (T S) steps of 2: the wrapper's steps are the tokens */
            int h = k == 2 ? e : lf_time_distributed(m[k], e, "steps");
            h = lf_dense(m[k], h, 2, LF_ACT_LINEAR, 1, "dense");
            if (k != 2) h = lf_time_distributed_end(m[k], h, "td");
            h = lf_global_average_pooling1d(m[k], h, "gap");
            CHECK(lf_model_compile(m[k], h, LF_LOSS_MSE, NULL) == LF_OK, "compile %d: %s", k, lf_model_error(m[k]));
            if (k) copy_layer(m[0], m[k], "dense");
            CHECK(lf_model_predict(m[k], xs, N, y[k]) == LF_OK, "predict %d: %s", k, lf_model_error(m[k]));
        }
        CHECK(memcmp(y[0], y[1], sizeof y[0]) == 0, "TimeDistributed(Dense) drops the mask: the unmasked bits");
        CHECK(memcmp(y[0], y[2], sizeof y[0]) != 0, "Dense alone keeps it: a masked mean");
        for (int k = 0; k < 3; k++) lf_model_free(m[k]);
    }
}

/* misuse, refused at build time by name */
static void test_td_errors(void) {
    struct {
        int what;
        const char *msg;
    } cases[] = {
        {0, "TimeDistributed: input 'v' has shape (None, 12); it needs rank 3 or more (batch, steps, ...)"},
        {1, "Add 'add': input 'conv' is on the steps of TimeDistributed 'steps' and input 'frame' is not; close "
            "the steps with lf_time_distributed_end first"},
        {2, "TimeDistributed: input 'conv' is on the steps of TimeDistributed 'steps' already; nesting them is not "
            "supported"},
        {3, "TimeDistributed: input 'frame' is not on the steps of a TimeDistributed (open them with "
            "lf_time_distributed)"},
        {4, "compile: output 'gap' is on the steps of TimeDistributed 'steps'; close them with "
            "lf_time_distributed_end"},
        {5, "TimeDistributed: the steps' output 'resh' has shape (None, 2, 3, 5, 2, 2); with the steps axis "
            "that is rank 7, above 5 (batch included: 6)"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int x = lf_input_shape(m, 4, (size_t[]){8, 6, 5, 3}, LF_DTYPE_FLOAT32, "video");
        int f = lf_input_shape(m, 3, (size_t[]){6, 5, 4}, LF_DTYPE_FLOAT32, "frame");
        int v = lf_input(m, 12, "v");
        int s = lf_time_distributed(m, x, "steps");
        int cv = lf_conv2d(m, s, 4, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, "conv");
        switch (cases[c].what) {
        case 0: lf_time_distributed(m, v, NULL); break;
        case 1: lf_add(m, 2, (int[]){cv, f}, "add"); break;
        case 2: lf_time_distributed(m, cv, NULL); break;
        case 3: lf_time_distributed_end(m, f, NULL); break;
        case 4: lf_model_compile(m, lf_global_average_pooling2d(m, cv, "gap"), LF_LOSS_MSE, NULL); break;
        default: lf_time_distributed_end(m, lf_reshape(m, cv, 5, (size_t[]){2, 3, 5, 2, 2}, "resh"), NULL); break;
        }
        CHECK(strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_video_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_rank4_shapes();
    test_rank4_refusals();
    test_td_frames();
    test_td_errors();
    test_td_dropout();
    test_td_masks();
    test_global_pool3d();
    rmdir(tmpdir);
    return check_report("test_video");
}
