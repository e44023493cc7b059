/*
 * test_golden.c — the engine against PyTorch.  tests/make_golden.py builds
 * the same networks in PyTorch (float64 from float32 starting values) and
 * writes inputs, weights, every node's output, the loss, every gradient and
 * the weights after 1 and 5 Keras-Adam steps to the files in tests/golden/
 * (multi.safetensors: a model with three outputs and loss weights;
 * pool1d.safetensors: the 1-D poolings; late_layers.safetensors: RepeatVector,
 * Permute, the 1-D resampling layers and Attention / AdditiveAttention;
 * video.safetensors: TimeDistributed over a CNN with BatchNormalization,
 * the global 3-D poolings; conv3d.safetensors: Conv3D, MaxPooling3D,
 * AveragePooling3D; conv3d_dilated.safetensors: Conv3D's dilation_rate;
 * conv3d_transpose.safetensors: Conv3DTranspose, with 2 Adam steps;
 * spatial3d.safetensors: UpSampling3D, ZeroPadding3D, Cropping3D, Identity;
 * activation_layers.safetensors: ReLU, LeakyReLU, ELU, PReLU, Softmax,
 * with 2 Adam steps; activations.safetensors: Keras 3's activations after
 * softmax, each alone and in a small network; group_norm.safetensors:
 * GroupNormalization, UnitNormalization, with 2 Adam steps; gqa.safetensors:
 * GroupedQueryAttention, with 2 Adam steps; rms_norm.safetensors:
 * RMSNormalization, with 2 Adam steps; conv_lstm.safetensors: ConvLSTM2D,
 * its cell as torch conv2d over time, with 2 Adam steps;
 * conv_lstm3d.safetensors: ConvLSTM3D, its cell as torch conv3d over time,
 * with 2 Adam steps).
 * Here the C engine starts from the same weights and must agree within
 * 2e-5 absolute + 2e-4 relative (float32 arithmetic over sums of up to 128
 * terms; the script measured its own float32 re-run within 5.5e-7).
 */
#include "check.h"
#include "engine_util.h"
#include "io/safetensors.h"
#include "kernels.h"
#include "layers/layer.h"

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

/* loads every weight of every layer from "<layer>.<suffix>" (kernel, bias,
 * W, gamma, ...: the names the model file uses) */
static void load_weights(lf_model *m) {
    for (size_t id = 0; id < m->n_nodes; id++) {
        const char *layer = m->nodes[id].name;
        lf_weight w[LF_MAX_WEIGHTS];
        size_t nw = lf_node_weights(m, &m->nodes[id], w);
        for (size_t k = 0; k < nw; k++) {
            char name[96];
            snprintf(name, sizeof name, "%s.%s", layer, w[k].suffix);
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
        lf_weight w[LF_MAX_WEIGHTS];
        size_t nw = lf_node_weights(m, &m->nodes[id], w);
        for (size_t k = 0; k < nw; k++) {
            char name[96];
            snprintf(name, sizeof name, "%s%s.%s", prefix, layer, w[k].suffix);
            size_t off = m->nodes[id].param_off + w[k].off;
            compare(name, (prefix[0] == 'g' ? m->grads : m->params) + off, lf_weight_count(&w[k]));
        }
    }
}

/* every node's output in a training pass (batch statistics), the
 * parameters left as they were (the pass updates moving statistics) */
static void forward_training(lf_model *m, const float *const *x, size_t B, float **outs) {
    float *saved = malloc(m->n_params * sizeof *saved);
    memcpy(saved, m->params, m->n_params * sizeof *saved);
    lf_ws ws;
    lf_rng rng = m->rng;
    CHECK(lf_ws_init(&ws, m, B, 0, NULL, 0) == LF_OK, "workspace");
    lf_graph_forward(m, &ws, x, B, 1, &rng);
    for (size_t id = 0; id < m->n_nodes; id++)
        if (outs[id]) memcpy(outs[id], ws.out[id], B * lf_node_rows(&m->nodes[id]) * m->nodes[id].dim * sizeof(float));
    lf_ws_free(&ws);
    memcpy(m->params, saved, m->n_params * sizeof *saved);
    free(saved);
}

/* forward values, loss, gradients (and Adam steps when steps != 0: steps 1
 * to the file's last, steps, or 5 when steps is 1); with training, every
 * pass is a training pass */
static void check_network_mode(lf_model *m, const char *file, size_t B, int steps, int training) {
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
        if (m->nodes[id].kind != LF_K_INPUT)
            outs[id] = malloc(B * lf_node_rows(&m->nodes[id]) * m->nodes[id].dim * sizeof(float));
    if (training) forward_training(m, (const float *const *)x, B, outs);
    else CHECK(lf__forward_nodes(m, (const float *const *)x, B, outs) == LF_OK, "forward");
    for (size_t id = 0; id < m->n_nodes; id++) {
        char name[96];
        /* Dropout in inference mode is the identity and Flatten moves no
         * value: PyTorch stores no value of their own, their input's must
         * match; any other node missing from the golden file is a failure */
        const lf_node *nd = &m->nodes[id];
        int same = nd->kind == LF_K_DROPOUT || nd->kind == LF_K_FLATTEN;
        snprintf(name, sizeof name, "fwd.%s", same ? m->nodes[nd->in[0]].name : nd->name);
        if (outs[id]) compare(name, outs[id], B * lf_node_rows(nd) * nd->dim);
        free(outs[id]);
    }
    free(outs);
    /* loss and gradients */
    double loss;
    CHECK(lf__loss_and_grads(m, (const float *const *)x, y, B, training, steps > 0, &loss, ig) == LF_OK, "grads");
    float lf = (float)loss;
    compare("loss", &lf, 1);
    compare_weights(m, "grad.");
    for (size_t i = 0; i < ni; i++) {
        char name[96];
        snprintf(name, sizeof name, "grad.x.%s", m->nodes[m->inputs[i]].name);
        compare(name, ig[i], B * lf_model_input_dim(m, i));
    }
    if (steps) {
        int last = steps > 1 ? steps : 5; /* the file's last step: steps, 1 standing for 5 */
        compare_weights(m, "step1.");
        for (int s = 2; s <= last; s++)
            lf__loss_and_grads(m, (const float *const *)x, y, B, training, 1, &loss, NULL);
        char name[32];
        snprintf(name, sizeof name, "step%d.", last);
        compare_weights(m, name);
        lf__loss_and_grads(m, (const float *const *)x, y, B, training, 0, &loss, NULL);
        lf = (float)loss;
        snprintf(name, sizeof name, "loss.step%d", last);
        compare(name, &lf, 1);
    }
    for (size_t i = 0; i < ni; i++) free(x[i]), free(ig[i]);
    free(y);
    lf_st_free(&gf);
}

static void check_network(lf_model *m, const char *file, size_t B, int steps) {
    check_network_mode(m, file, B, steps, 0);
}

static void test_seed(void) {
    lf_model *m;
    lf_model_create(&m, 1);
    static const char *const names[6] = {"in1", "in2", "d1", "d2", "wavg", "out"};
    CHECK(lf_seed_network(m, 100, 32, names, NULL) == LF_OK, "%s", lf_model_error(m));
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

/* Conv2D -> BatchNormalization -> ReLU -> MaxPooling2D -> Conv2D ->
 * GlobalAveragePooling2D -> Dense(softmax), trained with batch statistics;
 * the moving statistics after 1 and 5 passes follow Keras 3's rule */
static void test_cnn(void) {
    lf_model *m;
    lf_model_create(&m, 4);
    int img = lf_input_shape(m, 3, (size_t[]){8, 8, 3}, LF_DTYPE_FLOAT32, "img");
    int c1 = lf_conv2d(m, img, 4, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_LINEAR, 0, "conv1");
    int bn = lf_batch_normalization(m, c1, 0.99f, 1e-3f, "bn");
    int relu = lf_activation_layer(m, bn, LF_ACT_RELU, "relu");
    int pool = lf_max_pooling2d(m, relu, 2, 2, 0, 0, LF_PADDING_VALID, "pool");
    int c2 = lf_conv2d(m, pool, 5, 3, 3, 2, 2, LF_PADDING_SAME, LF_ACT_RELU, 1, "conv2");
    int gap = lf_global_average_pooling2d(m, c2, "gap");
    int out = lf_dense(m, gap, 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network_mode(m, "tests/golden/cnn.safetensors", 4, 1, 1);
    lf_model_free(m);
}

/* TimeDistributed(Conv2D -> BatchNormalization -> ReLU -> MaxPooling2D ->
 * Flatten -> Dense) on a video of 3 frames, trained with batch statistics
 * over the 9 frames (PyTorch: the frames folded into the batch), then
 * GlobalAveragePooling1D over the steps, beside GlobalMaxPooling3D and
 * GlobalAveragePooling3D of the video -> Dense(softmax) */
static void test_video(void) {
    lf_model *m;
    lf_model_create(&m, 35);
    int img = lf_input_shape(m, 4, (size_t[]){3, 6, 6, 2}, LF_DTYPE_FLOAT32, "img");
    int s = lf_time_distributed(m, img, "steps");
    int c1 = lf_conv2d(m, s, 4, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_LINEAR, 0, "conv1");
    int bn = lf_batch_normalization(m, c1, 0.99f, 1e-3f, "bn");
    int relu = lf_activation_layer(m, bn, LF_ACT_RELU, "relu");
    int pool = lf_max_pooling2d(m, relu, 2, 2, 0, 0, LF_PADDING_VALID, "pool");
    int d = lf_dense(m, lf_flatten(m, pool, "flat"), 4, LF_ACT_TANH, 1, "per_step");
    int td = lf_time_distributed_end(m, d, "td");
    int gap = lf_global_average_pooling1d(m, td, "gap");
    int gmax3 = lf_global_max_pooling3d(m, img, "gmax3"), gavg3 = lf_global_average_pooling3d(m, img, "gavg3");
    int cat = lf_concatenate(m, 3, (int[]){gap, gmax3, gavg3}, "cat");
    int out = lf_dense(m, cat, 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network_mode(m, "tests/golden/video.safetensors", 3, 1, 1);
    lf_model_free(m);
}

/* Conv3D (same with odd padding, strides above 1; valid), MaxPooling3D
 * (same), AveragePooling3D (same: divided by the real voxels; valid) on a
 * video, flattened and concatenated -> Dense(softmax) */
static void test_conv3d(void) {
    lf_model *m;
    lf_model_create(&m, 36);
    int img = lf_input_shape(m, 4, (size_t[]){4, 5, 6, 2}, LF_DTYPE_FLOAT32, "img");
    int c1 = lf_conv3d(m, img, 3, 2, 3, 3, 1, 2, 2, LF_PADDING_SAME, LF_ACT_TANH, 1, "conv1");
    int c2 = lf_conv3d(m, c1, 2, 2, 2, 2, 2, 1, 1, LF_PADDING_VALID, LF_ACT_LINEAR, 0, "conv2");
    int pmax = lf_max_pooling3d(m, c1, 2, 2, 2, 1, 2, 2, LF_PADDING_SAME, "pmax");
    int pavg = lf_average_pooling3d(m, img, 3, 2, 3, 2, 2, 2, LF_PADDING_SAME, "pavg");
    int pavg2 = lf_average_pooling3d(m, c1, 2, 2, 2, 0, 0, 0, LF_PADDING_VALID, "pavg2");
    int f[4] = {lf_flatten(m, c2, NULL), lf_flatten(m, pmax, NULL), lf_flatten(m, pavg, NULL), lf_flatten(m, pavg2, NULL)};
    int cat = lf_concatenate(m, 4, f, "cat");
    int out = lf_dense(m, cat, 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network_mode(m, "tests/golden/conv3d.safetensors", 3, 5, 0);
    lf_model_free(m);
}

/* Conv3D's dilation_rate against torch's conv3d(dilation=): "same" over
 * the dilated windows (2, 3, 4), odd totals padded after; "valid", no bias */
static void test_conv3d_dilated(void) {
    lf_model *m;
    lf_model_create(&m, 37);
    int img = lf_input_shape(m, 4, (size_t[]){5, 6, 7, 2}, LF_DTYPE_FLOAT32, "img");
    int c1 = lf_conv3d_dilated(m, img, 3, 2, 2, 2, 1, 1, 1, LF_PADDING_SAME, 1, 2, 3, LF_ACT_TANH, 1, "conv1");
    int c2 = lf_conv3d_dilated(m, c1, 2, 2, 2, 2, 1, 1, 1, LF_PADDING_VALID, 2, 2, 1, LF_ACT_LINEAR, 0, "conv2");
    int out = lf_dense(m, lf_flatten(m, c2, NULL), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network_mode(m, "tests/golden/conv3d_dilated.safetensors", 3, 5, 0);
    lf_model_free(m);
}

/* Conv3DTranspose against torch's conv_transpose3d cropped to Keras'
 * sizes: same (stride 2, tanh), valid with output_padding (no bias), same
 * with output_padding; flattened, concatenated -> Dense(softmax) */
static void test_conv3d_transpose(void) {
    lf_model *m;
    lf_model_create(&m, 38);
    int img = lf_input_shape(m, 4, (size_t[]){2, 2, 3, 2}, LF_DTYPE_FLOAT32, "img");
    int t1 = lf_conv3d_transpose(m, img, 3, 3, 3, 2, 2, 2, 2, LF_PADDING_SAME, NULL, LF_ACT_TANH, 1, "t1");
    int t2 = lf_conv3d_transpose(m, img, 2, 2, 3, 2, 2, 2, 1, LF_PADDING_VALID, (size_t[]){1, 1, 0}, LF_ACT_LINEAR,
                                 0, "t2");
    int t3 = lf_conv3d_transpose(m, img, 2, 2, 2, 3, 2, 1, 2, LF_PADDING_SAME, (size_t[]){1, 0, 1}, LF_ACT_LINEAR, 1,
                                 "t3");
    int f[3] = {lf_flatten(m, t1, NULL), lf_flatten(m, t2, NULL), lf_flatten(m, t3, NULL)};
    int out = lf_dense(m, lf_concatenate(m, 3, f, "cat"), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network_mode(m, "tests/golden/conv3d_transpose.safetensors", 3, 2, 0);
    lf_model_free(m);
}

/* UpSampling3D (F.interpolate nearest; repeat_interleave), ZeroPadding3D
 * (F.pad), Cropping3D (slicing) and Identity: pad -> Conv3D -> crop -> up ->
 * Identity -> GlobalAveragePooling3D, and a crop and an upsampling of img
 * flattened, concatenated -> Dense(softmax); 2 Adam steps */
static void test_spatial3d(void) {
    lf_model *m;
    lf_model_create(&m, 38);
    int img = lf_input_shape(m, 4, (size_t[]){2, 3, 3, 2}, LF_DTYPE_FLOAT32, "img");
    int pad = lf_zero_padding3d(m, img, 1, 0, 0, 2, 1, 1, "pad");
    int conv = lf_conv3d(m, pad, 3, 2, 2, 2, 1, 1, 1, LF_PADDING_VALID, LF_ACT_TANH, 1, "conv");
    int crop = lf_cropping3d(m, conv, 1, 0, 1, 2, 0, 1, "crop");
    int up = lf_upsampling3d(m, crop, 2, 1, 3, "up");
    int gap = lf_global_average_pooling3d(m, lf_identity(m, up, "ident"), "gap");
    int crop2 = lf_cropping3d(m, img, 0, 1, 1, 1, 0, 1, "crop2");
    int up2 = lf_upsampling3d(m, img, 1, 2, 2, "up2");
    int f[3] = {gap, lf_flatten(m, crop2, NULL), lf_flatten(m, up2, NULL)};
    int out = lf_dense(m, lf_concatenate(m, 3, f, "cat"), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network_mode(m, "tests/golden/spatial3d.safetensors", 3, 2, 0);
    lf_model_free(m);
}

/* ConvLSTM2D against its cell written with torch's conv2d in a loop over
 * time: same with strides (2, 1) -> GlobalAveragePooling2D, and valid,
 * no bias, return_sequences, go_backwards, flattened; concatenated ->
 * Dense(softmax); 2 Adam steps */
static void test_conv_lstm(void) {
    lf_model *m;
    lf_model_create(&m, 39);
    int img = lf_input_shape(m, 4, (size_t[]){3, 5, 4, 2}, LF_DTYPE_FLOAT32, "img");
    lf_conv_lstm_options o1 = lf_conv_lstm_defaults(), o2 = lf_conv_lstm_defaults();
    o1.strides[0] = 2, o1.padding = LF_PADDING_SAME;
    o2.use_bias = 0, o2.return_sequences = 1, o2.go_backwards = 1;
    int gap = lf_global_average_pooling2d(m, lf_conv_lstm2d(m, img, 3, 3, 3, &o1, "cl1"), "gap");
    int cl2 = lf_conv_lstm2d(m, img, 2, 2, 2, &o2, "cl2");
    int f[2] = {gap, lf_flatten(m, cl2, NULL)};
    int out = lf_dense(m, lf_concatenate(m, 2, f, "cat"), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network_mode(m, "tests/golden/conv_lstm.safetensors", 3, 2, 0);
    lf_model_free(m);
}

/* every image layer once, inference mode */
static void test_image_zoo(void) {
    lf_model *m;
    lf_model_create(&m, 5);
    int img = lf_input_shape(m, 3, (size_t[]){7, 6, 2}, LF_DTYPE_FLOAT32, "img");
    int resc = lf_rescaling(m, img, 0.5f, -0.25f, "resc");
    int parts[9];
    parts[0] = lf_conv2d(m, resc, 3, 3, 2, 2, 1, LF_PADDING_VALID, LF_ACT_ELU, 1, "conv_v");
    parts[1] = lf_conv2d(m, img, 2, 3, 3, 2, 3, LF_PADDING_SAME, LF_ACT_TANH, 0, "conv_s");
    parts[2] = lf_max_pooling2d(m, img, 2, 2, 0, 0, LF_PADDING_VALID, "max_v");
    parts[3] = lf_max_pooling2d(m, img, 3, 2, 2, 3, LF_PADDING_SAME, "max_s");
    parts[4] = lf_average_pooling2d(m, img, 2, 3, 1, 2, LF_PADDING_VALID, "avg_v");
    parts[5] = lf_average_pooling2d(m, img, 3, 3, 2, 2, LF_PADDING_SAME, "avg_s");
    parts[6] = lf_global_max_pooling2d(m, img, "gmax");
    parts[7] = lf_global_average_pooling2d(m, img, "gavg");
    parts[8] = lf_batch_normalization(m, img, 0.99f, 1e-3f, "bn");
    int flat[9];
    for (int i = 0; i < 9; i++) flat[i] = lf_flatten(m, parts[i], NULL);
    int cat = lf_concatenate(m, 9, flat, "cat");
    int out = lf_dense(m, cat, 3, LF_ACT_LINEAR, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network(m, "tests/golden/image_zoo.safetensors", 3, 0);
    lf_model_free(m);
}

/* two branches, three outputs (the branches' softmax outputs also feed
 * the WeightedAverage), loss weights 1, .5, .5; "y" stacks the outputs'
 * targets as lf__loss_and_grads reads them */
static void test_multi(void) {
    lf_model *m;
    lf_model_create(&m, 6);
    int a = lf_input(m, 6, "a"), b = lf_input(m, 5, "b");
    int ha = lf_dense(m, a, 8, LF_ACT_RELU, 1, "ha"), hb = lf_dense(m, b, 8, LF_ACT_TANH, 1, "hb");
    int oa = lf_dense(m, ha, 4, LF_ACT_SOFTMAX, 1, "out_a"), ob = lf_dense(m, hb, 4, LF_ACT_SOFTMAX, 1, "out_b");
    int f = lf_weighted_average(m, 2, (int[]){oa, ob}, -1, "fused");
    lf_loss cce = LF_LOSS_CATEGORICAL_CROSSENTROPY;
    CHECK(lf_model_compile_outputs(m, 3, (int[]){f, oa, ob}, (lf_loss[]){cce, cce, cce},
                                   (float[]){1.0f, 0.5f, 0.5f}, NULL) == LF_OK,
          "%s", lf_model_error(m));
    check_network(m, "tests/golden/multi.safetensors", 8, 1);
    lf_model_free(m);
}

/* every sequence layer: Embedding(mask_zero) on padded token ids (a row
 * all padding, a 0 inside a row), PositionEmbedding, LayerNormalization,
 * Dense on (T, D), the masked 1-D poolings, Conv1D valid and same */
static void test_seq(void) {
    lf_model *m;
    lf_model_create(&m, 6);
    int ids = lf_input_shape(m, 1, (size_t[]){6}, LF_DTYPE_INT32, "ids");
    int x = lf_input_shape(m, 2, (size_t[]){6, 4}, LF_DTYPE_FLOAT32, "x");
    int emb = lf_embedding(m, ids, 11, 4, 1, "emb");
    int pos = lf_position_embedding(m, emb, 8, "pos");
    int sum = lf_add(m, 3, (int[]){emb, pos, x}, "sum");
    /* the reference carries the Embedding's mask through the sum: the rule of
     * earlier model files (Keras 3's drops it, x carrying none) */
    lf_set_merge_mask_rule(m, sum, LF_MASK_RULE_KEEP);
    int ln = lf_layer_normalization(m, sum, 1e-3f, 1, 1, "ln");
    int d = lf_dense(m, ln, 5, LF_ACT_GELU, 1, "dense");
    int cv = lf_conv1d(m, d, 4, 3, 2, LF_PADDING_VALID, LF_ACT_TANH, 1, "conv_v");
    int cs = lf_conv1d(m, d, 3, 4, 1, LF_PADDING_SAME, LF_ACT_LINEAR, 0, "conv_s");
    int gap = lf_global_average_pooling1d(m, d, "gap");
    int gmp = lf_global_max_pooling1d(m, d, "gmp");
    int gap2 = lf_global_average_pooling1d(m, cs, "gap2");
    int cat = lf_concatenate(m, 4, (int[]){gap, gmp, lf_flatten(m, cv, NULL), gap2}, "cat");
    int out = lf_dense(m, cat, 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network(m, "tests/golden/seq.safetensors", 4, 1);
    lf_model_free(m);
}

/* MultiHeadAttention alone: self-attention, and cross-attention with a
 * separate key and value_dim / output size of its own */
static void test_attention(void) {
    lf_model *m;
    lf_model_create(&m, 6);
    int x = lf_input_shape(m, 2, (size_t[]){5, 8}, LF_DTYPE_FLOAT32, "x");
    int v = lf_input_shape(m, 2, (size_t[]){4, 6}, LF_DTYPE_FLOAT32, "v");
    int k = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "k");
    int sa = lf_multi_head_attention(m, x, x, -1, 2, 4, 0, 0.0f, 1, 0, "self_att");
    int ca = lf_multi_head_attention(m, x, v, k, 3, 2, 5, 0.0f, 1, 7, "cross_att");
    int cat = lf_concatenate(m, 2, (int[]){lf_flatten(m, sa, NULL), lf_flatten(m, ca, NULL)}, "cat");
    int out = lf_dense(m, cat, 3, LF_ACT_LINEAR, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network(m, "tests/golden/attention.safetensors", 3, 1);
    lf_model_free(m);
}

/* a one-block transformer encoder on padded token ids (a fully padded
 * row): Embedding(mask_zero) + PositionEmbedding -> MultiHeadAttention ->
 * Add -> LayerNormalization -> Dense(relu) -> Dense -> Add ->
 * LayerNormalization -> GlobalAveragePooling1D (masked) -> Dense(softmax) */
static void test_encoder(void) {
    lf_model *m;
    lf_model_create(&m, 7);
    int ids = lf_input_shape(m, 1, (size_t[]){6}, LF_DTYPE_INT32, "ids");
    int emb = lf_embedding(m, ids, 11, 8, 1, "emb");
    int pos = lf_position_embedding(m, emb, 8, "pos");
    int sum = lf_add(m, 2, (int[]){emb, pos}, "sum");
    /* the reference carries the Embedding's mask through the sum: the rule of
     * earlier model files (Keras 3's drops it, pos carrying none) */
    lf_set_merge_mask_rule(m, sum, LF_MASK_RULE_KEEP);
    int att = lf_multi_head_attention(m, sum, sum, -1, 2, 4, 0, 0.0f, 1, 0, "att");
    int add1 = lf_add(m, 2, (int[]){sum, att}, "add1");
    int ln1 = lf_layer_normalization(m, add1, 1e-3f, 1, 1, "ln1");
    int ff1 = lf_dense(m, ln1, 16, LF_ACT_RELU, 1, "ff1");
    int ff2 = lf_dense(m, ff1, 8, LF_ACT_LINEAR, 1, "ff2");
    int add2 = lf_add(m, 2, (int[]){ln1, ff2}, "add2");
    int ln2 = lf_layer_normalization(m, add2, 1e-3f, 1, 1, "ln2");
    int gap = lf_global_average_pooling1d(m, ln2, "gap");
    int out = lf_dense(m, gap, 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    CHECK(m->nodes[att].seq_mask == emb && m->nodes[ln2].seq_mask == emb, "the padding mask reaches the pooling");
    check_network(m, "tests/golden/encoder.safetensors", 4, 1);
    lf_model_free(m);
}

/* the 1-D poolings, valid and same (the odd padding step after; padded
 * steps take no part), strides below, at and above the pool size, behind a
 * Conv1D and on the input, against PyTorch's MaxPool1d and
 * AvgPool1d(count_include_pad=False) */
static void test_pool1d(void) {
    lf_model *m;
    lf_model_create(&m, 8);
    int x = lf_input_shape(m, 2, (size_t[]){7, 3}, LF_DTYPE_FLOAT32, "x");
    int conv = lf_conv1d(m, x, 4, 2, 1, LF_PADDING_SAME, LF_ACT_TANH, 1, "conv");
    int parts[6] = {
        lf_max_pooling1d(m, conv, 2, 0, LF_PADDING_VALID, "max_v"),
        lf_max_pooling1d(m, conv, 3, 2, LF_PADDING_SAME, "max_s"),
        lf_average_pooling1d(m, conv, 2, 1, LF_PADDING_VALID, "avg_v"),
        lf_average_pooling1d(m, conv, 2, 2, LF_PADDING_SAME, "avg_s"),
        lf_max_pooling1d(m, x, 2, 3, LF_PADDING_SAME, "max_x"),
        lf_average_pooling1d(m, x, 3, 1, LF_PADDING_SAME, "avg_x"),
    };
    int flat[6];
    for (int i = 0; i < 6; i++) flat[i] = lf_flatten(m, parts[i], NULL);
    int cat = lf_concatenate(m, 6, flat, "cat");
    int out = lf_dense(m, cat, 3, LF_ACT_LINEAR, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network(m, "tests/golden/pool1d.safetensors", 3, 0);
    lf_model_free(m);
}

/* LSTM and GRU (reset_after) against PyTorch's cells with Keras' weights
 * mapped: return_sequences flattened, go_backwards, a reversed sequence
 * pooled over its (unreversed) mask, a GRU without bias and mask; padded
 * steps keep the states */
static void test_rnn(void) {
    lf_model *m;
    lf_model_create(&m, 9);
    int ids = lf_input_shape(m, 1, (size_t[]){6}, LF_DTYPE_INT32, "ids");
    int x = lf_input_shape(m, 2, (size_t[]){6, 4}, LF_DTYPE_FLOAT32, "x");
    int emb = lf_embedding(m, ids, 11, 4, 1, "emb");
    int sum = lf_add(m, 2, (int[]){emb, x}, "sum");
    /* the reference carries the Embedding's mask through the sum: the rule of
     * earlier model files (Keras 3's drops it, x carrying none) */
    lf_set_merge_mask_rule(m, sum, LF_MASK_RULE_KEEP);
    int ls = lf_lstm(m, sum, 3, 1, 1, 1, 0, "lstm_s");
    int lb = lf_lstm(m, sum, 3, 1, 1, 0, 1, "lstm_b");
    int gs = lf_gru(m, sum, 3, 1, 1, 1, "gru_s");
    int gn = lf_gru(m, x, 2, 0, 0, 0, "gru_n");
    int gap = lf_global_average_pooling1d(m, gs, "gap");
    int cat = lf_concatenate(m, 4, (int[]){lf_flatten(m, ls, NULL), lb, gap, gn}, "cat");
    int out = lf_dense(m, cat, 3, LF_ACT_LINEAR, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
    CHECK(m->nodes[gs].seq_mask == emb && m->nodes[lb].seq_mask == -1, "the mask passes with return_sequences");
    check_network(m, "tests/golden/rnn.safetensors", 4, 1);
    lf_model_free(m);
}

/* SimpleRNN against PyTorch's tanh cell (and the sigmoid / linear steps
 * written out) with Keras' weights: return_sequences flattened,
 * go_backwards, a reversed sequence pooled over its (unreversed) mask, one
 * without bias and mask; padded steps keep the state */
static void test_simple_rnn(void) {
    lf_model *m;
    lf_model_create(&m, 9);
    int ids = lf_input_shape(m, 1, (size_t[]){6}, LF_DTYPE_INT32, "ids");
    int x = lf_input_shape(m, 2, (size_t[]){6, 4}, LF_DTYPE_FLOAT32, "x");
    int emb = lf_embedding(m, ids, 11, 4, 1, "emb");
    int sum = lf_add(m, 2, (int[]){emb, x}, "sum");
    /* the reference carries the Embedding's mask through the sum: the rule of
     * earlier model files (Keras 3's drops it, x carrying none) */
    lf_set_merge_mask_rule(m, sum, LF_MASK_RULE_KEEP);
    int ss = lf_simple_rnn(m, sum, 3, LF_ACT_TANH, 1, 1, 0, "srnn_s");
    int sb = lf_simple_rnn(m, sum, 3, LF_ACT_SIGMOID, 1, 0, 1, "srnn_b");
    int sg = lf_simple_rnn(m, sum, 3, LF_ACT_TANH, 1, 1, 1, "srnn_g");
    int sn = lf_simple_rnn(m, x, 2, LF_ACT_LINEAR, 0, 0, 0, "srnn_n");
    int gap = lf_global_average_pooling1d(m, sg, "gap");
    int cat = lf_concatenate(m, 4, (int[]){lf_flatten(m, ss, NULL), sb, gap, sn}, "cat");
    int out = lf_dense(m, cat, 3, LF_ACT_LINEAR, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
    CHECK(m->nodes[sg].seq_mask == emb && m->nodes[sb].seq_mask == -1, "the mask passes with return_sequences");
    check_network(m, "tests/golden/simple_rnn.safetensors", 4, 1);
    lf_model_free(m);
}

/* Bidirectional against each copy run by PyTorch's cells with Keras'
 * weights (the backward copy from the end, its sequence flipped back):
 * LSTM concat with return_sequences flattened (masked steps give zeros),
 * GRU sum (the last steps), SimpleRNN mul pooled over the mask the output
 * keeps, a GRU without bias and mask averaged */
static void test_bidirectional(void) {
    lf_model *m;
    lf_model_create(&m, 9);
    int ids = lf_input_shape(m, 1, (size_t[]){6}, LF_DTYPE_INT32, "ids");
    int x = lf_input_shape(m, 2, (size_t[]){6, 4}, LF_DTYPE_FLOAT32, "x");
    int emb = lf_embedding(m, ids, 11, 4, 1, "emb");
    int sum = lf_add(m, 2, (int[]){emb, x}, "sum");
    /* the reference carries the Embedding's mask through the sum: the rule of
     * earlier model files (Keras 3's drops it, x carrying none) */
    lf_set_merge_mask_rule(m, sum, LF_MASK_RULE_KEEP);
    int bl = lf_bidirectional(m, sum, LF_RNN_LSTM, 3, LF_ACT_TANH, 1, 1, 1, LF_BIDI_CONCAT, "bi_l");
    int bg = lf_bidirectional(m, sum, LF_RNN_GRU, 3, LF_ACT_TANH, 1, 0, 0, LF_BIDI_SUM, "bi_g");
    int bs = lf_bidirectional(m, sum, LF_RNN_SIMPLE, 3, LF_ACT_TANH, 1, 0, 1, LF_BIDI_MUL, "bi_s");
    int ba = lf_bidirectional(m, x, LF_RNN_GRU, 2, LF_ACT_TANH, 0, 0, 1, LF_BIDI_AVE, "bi_a");
    int gap = lf_global_average_pooling1d(m, bs, "gap");
    int cat = lf_concatenate(m, 4, (int[]){lf_flatten(m, bl, NULL), bg, gap, lf_flatten(m, ba, NULL)}, "cat");
    int out = lf_dense(m, cat, 3, LF_ACT_LINEAR, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
    CHECK(m->nodes[bs].seq_mask == emb && m->nodes[bg].seq_mask == -1, "the mask passes with return_sequences");
    check_network(m, "tests/golden/bidirectional.safetensors", 4, 1);
    lf_model_free(m);
}

/* return_state and initial_state against PyTorch (tests/make_golden.py):
 * the masked encoders by PyTorch's cells (the states of each row's last
 * real step; the fully padded row's decoder keeps the initial states), the
 * unmasked decoders by nn.LSTM / nn.GRU / nn.RNN's kernels from (h0, c0);
 * each node of several outputs as the concatenation of its outputs, each
 * view on its own; gradients, Adam steps 1 and 5 */
static void test_rnn_state(void) {
    lf_model *m;
    lf_model_create(&m, 9);
    int ids = lf_input_shape(m, 1, (size_t[]){6}, LF_DTYPE_INT32, "ids");
    int x = lf_input_shape(m, 2, (size_t[]){6, 4}, LF_DTYPE_FLOAT32, "x");
    int emb = lf_embedding(m, ids, 11, 4, 1, "emb");
    int sum = lf_add(m, 2, (int[]){emb, x}, "sum");
    /* the reference carries the Embedding's mask through the sum: the rule of
     * earlier model files (Keras 3's drops it, x carrying none) */
    lf_set_merge_mask_rule(m, sum, LF_MASK_RULE_KEEP);
    int enc = lf_lstm(m, sum, 3, 1, 1, 1, 0, "enc");
    CHECK(lf_set_rnn_state(m, enc, 1, NULL, 0) == LF_OK, "%s", lf_model_error(m));
    int ey = lf_output_view(m, enc, 0, NULL), eh = lf_output_view(m, enc, 1, NULL), ec = lf_output_view(m, enc, 2, NULL);
    int dec = lf_lstm(m, sum, 3, 1, 1, 0, 1, "dec");
    CHECK(lf_set_rnn_state(m, dec, 0, (int[]){eh, ec}, 2) == LF_OK, "%s", lf_model_error(m));
    int ldec = lf_lstm(m, x, 3, 1, 1, 1, 0, "ldec");
    CHECK(lf_set_rnn_state(m, ldec, 0, (int[]){eh, ec}, 2) == LF_OK, "%s", lf_model_error(m));
    int gru = lf_gru(m, sum, 3, 1, 0, 1, "gru");
    CHECK(lf_set_rnn_state(m, gru, 1, NULL, 0) == LF_OK, "%s", lf_model_error(m));
    int go = lf_output_view(m, gru, 0, NULL), gh = lf_output_view(m, gru, 1, NULL);
    int gdec = lf_gru(m, x, 3, 1, 1, 0, "gdec");
    CHECK(lf_set_rnn_state(m, gdec, 0, &gh, 1) == LF_OK, "%s", lf_model_error(m));
    int bi = lf_bidirectional(m, sum, LF_RNN_SIMPLE, 3, LF_ACT_TANH, 1, 0, 0, LF_BIDI_NONE, "bi");
    CHECK(lf_set_rnn_state(m, bi, 1, NULL, 0) == LF_OK, "%s", lf_model_error(m));
    int bv[4];
    for (size_t k = 0; k < 4; k++) bv[k] = lf_output_view(m, bi, k, NULL);
    int sdec = lf_simple_rnn(m, x, 3, LF_ACT_TANH, 1, 0, 0, "sdec");
    CHECK(lf_set_rnn_state(m, sdec, 0, &bv[3], 1) == LF_OK, "%s", lf_model_error(m));
    int parts[] = {lf_flatten(m, ey, NULL), eh, ec, dec, lf_flatten(m, ldec, NULL), go, gh, lf_flatten(m, gdec, NULL),
                   bv[0], bv[1], bv[2], bv[3], sdec};
    int cat = lf_concatenate(m, sizeof parts / sizeof *parts, parts, "cat");
    int out = lf_dense(m, cat, 3, LF_ACT_LINEAR, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
    CHECK(m->nodes[ey].seq_mask == emb && m->nodes[eh].seq_mask == -1 && m->nodes[enc].seq_mask == -1,
          "the sequence output keeps the mask, the states carry none (Keras' compute_mask)");
    CHECK(strcmp(m->nodes[eh].name, "enc.out1") == 0, "a view's default name: %s", m->nodes[eh].name);
    check_network(m, "tests/golden/rnn_state.safetensors", 4, 1);
    lf_model_free(m);
}

/* make_golden.py's networks of parts: each part flattened, "cat" their
 * Concatenate, "out" a Dense(3, linear) of it, mse; compiled */
static void compile_parts(lf_model *m, const int *parts, size_t n) {
    int *flat = malloc(n * sizeof *flat);
    for (size_t i = 0; flat && i < n; i++) flat[i] = lf_flatten(m, parts[i], NULL);
    int out = flat ? lf_dense(m, lf_concatenate(m, n, flat, "cat"), 3, LF_ACT_LINEAR, 1, "out") : -1;
    CHECK(out >= 0 && lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
    free(flat);
}

/* the decoder layers (make_golden.py's decoder_model): Conv2DTranspose
 * over both paddings, output_padding and strides wider than the kernel,
 * UpSampling2D nearest and bilinear, ZeroPadding2D, Cropping2D; forward,
 * gradients, Adam steps 1 and 5 */
static void test_decoder(void) {
    lf_model *m;
    lf_model_create(&m, 10);
    int img = lf_input_shape(m, 3, (size_t[]){3, 4, 2}, LF_DTYPE_FLOAT32, "img");
    int tv = lf_conv2d_transpose(m, img, 3, 3, 2, 2, 1, LF_PADDING_VALID, NULL, LF_ACT_TANH, 1, "tconv_v");
    int ts = lf_conv2d_transpose(m, img, 2, 3, 3, 2, 2, LF_PADDING_SAME, NULL, LF_ACT_LINEAR, 0, "tconv_s");
    int parts[] = {
        tv,
        ts,
        lf_conv2d_transpose(m, img, 2, 4, 2, 2, 2, LF_PADDING_SAME, NULL, LF_ACT_ELU, 1, "tconv_e"),
        lf_conv2d_transpose(m, img, 2, 3, 3, 2, 3, LF_PADDING_VALID, (size_t[]){1, 2}, LF_ACT_LINEAR, 1, "tconv_op"),
        lf_conv2d_transpose(m, img, 2, 3, 4, 2, 2, LF_PADDING_SAME, (size_t[]){1, 0}, LF_ACT_TANH, 1, "tconv_sop"),
        lf_conv2d_transpose(m, img, 2, 2, 1, 3, 3, LF_PADDING_VALID, NULL, LF_ACT_LINEAR, 1, "tconv_gap"),
        lf_upsampling2d(m, img, 2, 3, LF_INTERP_NEAREST, "up_n"),
        lf_upsampling2d(m, img, 2, 2, LF_INTERP_BILINEAR, "up_b"),
        lf_upsampling2d(m, ts, 3, 2, LF_INTERP_BILINEAR, "up_b3"),
        lf_zero_padding2d(m, ts, 1, 2, 0, 1, "zpad"),
        lf_cropping2d(m, tv, 1, 0, 2, 1, "crop"),
    };
    compile_parts(m, parts, sizeof parts / sizeof *parts);
    check_network(m, "tests/golden/decoder.safetensors", 3, 5);
    lf_model_free(m);
}

/* Resizing and CenterCrop (make_golden.py's resize_model): PyTorch's
 * F.interpolate bilinear (align_corners=False, antialias=False) and
 * nearest-exact, up and down by non-integer ratios, crop_to_aspect_ratio,
 * CenterCrop's slice and its smart_resize, Resizing -> Conv2D; forward,
 * gradients (the input's too), Adam steps 1 and 2 */
static void test_resizing(void) {
    lf_model *m;
    lf_model_create(&m, 13);
    int img = lf_input_shape(m, 3, (size_t[]){5, 7, 2}, LF_DTYPE_FLOAT32, "img");
    int rs = lf_resizing(m, img, 6, 6, LF_INTERP_BILINEAR, 0, "rs_in");
    int parts[] = {
        lf_resizing(m, img, 8, 9, LF_INTERP_BILINEAR, 0, "rs_up"),
        lf_resizing(m, img, 3, 4, LF_INTERP_BILINEAR, 0, "rs_down"),
        lf_resizing(m, img, 8, 10, LF_INTERP_NEAREST, 0, "rs_n_up"),
        lf_resizing(m, img, 3, 4, LF_INTERP_NEAREST, 0, "rs_n_down"),
        lf_resizing(m, img, 3, 5, LF_INTERP_BILINEAR, 1, "rs_crop"),
        lf_center_crop(m, img, 3, 4, "cc"),
        lf_center_crop(m, img, 6, 6, "cc_small"),
        lf_conv2d(m, rs, 3, 3, 3, 1, 1, LF_PADDING_VALID, LF_ACT_TANH, 1, "conv_a"),
    };
    compile_parts(m, parts, sizeof parts / sizeof *parts);
    check_network(m, "tests/golden/resizing.safetensors", 3, 2);
    lf_model_free(m);
}

/* dilation, DepthwiseConv2D and SeparableConv2D (make_golden.py's
 * sepconv_model): PyTorch's conv2d with dilation= and groups=C; a dilated
 * 3x3 Conv2D of 16 channels and filters (Winograd's shape undilated: it
 * must take the im2col path); forward, gradients, Adam steps 1 and 5 */
static void test_sepconv(void) {
    lf_model *m;
    lf_model_create(&m, 11);
    int img = lf_input_shape(m, 3, (size_t[]){6, 7, 2}, LF_DTYPE_FLOAT32, "img");
    int pre = lf_conv2d(m, img, 16, 1, 1, 1, 1, LF_PADDING_VALID, LF_ACT_LINEAR, 1, "pre");
    int parts[] = {
        lf_conv2d_dilated(m, img, 3, 3, 3, 1, 1, LF_PADDING_VALID, 2, 1, LF_ACT_TANH, 1, "conv_d"),
        lf_conv2d_dilated(m, img, 2, 2, 3, 1, 1, LF_PADDING_SAME, 2, 2, LF_ACT_LINEAR, 0, "conv_ds"),
        lf_depthwise_conv2d(m, img, 3, 3, 1, 1, LF_PADDING_VALID, 1, 1, 1, LF_ACT_TANH, 1, "dw_v"),
        lf_depthwise_conv2d(m, img, 3, 2, 1, 1, LF_PADDING_SAME, 2, 1, 2, LF_ACT_LINEAR, 1, "dw_s"),
        lf_depthwise_conv2d(m, img, 2, 2, 2, 3, LF_PADDING_SAME, 1, 1, 1, LF_ACT_ELU, 0, "dw_st"),
        lf_separable_conv2d(m, img, 4, 3, 3, 1, 1, LF_PADDING_SAME, 2, 1, 1, LF_ACT_TANH, 1, "sep"),
        lf_separable_conv2d(m, img, 3, 2, 2, 1, 1, LF_PADDING_VALID, 1, 2, 2, LF_ACT_LINEAR, 0, "sep_d"),
        lf_separable_conv2d(m, img, 2, 3, 3, 2, 2, LF_PADDING_SAME, 3, 1, 1, LF_ACT_ELU, 1, "sep_st"),
        lf_conv2d_dilated(m, pre, 16, 3, 3, 1, 1, LF_PADDING_SAME, 2, 2, LF_ACT_TANH, 1, "wide_d"),
    };
    compile_parts(m, parts, sizeof parts / sizeof *parts);
    check_network(m, "tests/golden/sepconv.safetensors", 3, 5);
    lf_model_free(m);
}

/* Conv1D with dilation and causal padding, and Masking before a
 * GlobalAveragePooling1D and an LSTM (make_golden.py's conv1x_model_for);
 * forward, gradients, Adam steps 1 and 5 */
static void test_conv1d_masking(void) {
    lf_model *m;
    lf_model_create(&m, 12);
    int x = lf_input_shape(m, 2, (size_t[]){6, 3}, LF_DTYPE_FLOAT32, "x");
    int parts[8] = {
        lf_conv1d_dilated(m, x, 4, 3, 1, LF_PADDING_CAUSAL, 1, LF_ACT_TANH, 1, "c_causal"),
        lf_conv1d_dilated(m, x, 3, 2, 1, LF_PADDING_VALID, 3, LF_ACT_LINEAR, 1, "c_dil"),
        lf_conv1d_dilated(m, x, 2, 3, 1, LF_PADDING_CAUSAL, 2, LF_ACT_LINEAR, 0, "c_cd"),
        lf_conv1d_dilated(m, x, 2, 3, 1, LF_PADDING_SAME, 2, LF_ACT_ELU, 1, "c_ds"),
        lf_conv1d_dilated(m, x, 2, 2, 2, LF_PADDING_CAUSAL, 1, LF_ACT_LINEAR, 1, "c_cs"),
    };
    for (int i = 0; i < 5; i++) parts[i] = lf_flatten(m, parts[i], NULL);
    int mk = lf_masking(m, x, 0.5f, "masking");
    parts[5] = lf_global_average_pooling1d(m, mk, "gap");
    parts[6] = lf_lstm(m, mk, 3, 1, 1, 0, 0, "lstm");
    int cat = lf_concatenate(m, 7, parts, "cat");
    int out = lf_dense(m, cat, 3, LF_ACT_LINEAR, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network(m, "tests/golden/conv1d_masking.safetensors", 4, 5);
    lf_model_free(m);
}

/* RepeatVector, Permute (rank 2 and 3), UpSampling1D, ZeroPadding1D,
 * Cropping1D, Attention (dot with use_scale and the causal mask; concat on
 * a masked query) and AdditiveAttention (use_scale), each behind a Dense,
 * the value's padding mask from Masking (make_golden.py's late_model_for:
 * explicit matmul / softmax after Keras' _apply_scores, keras/src/layers/
 * attention/attention.py); forward, gradients, Adam steps 1 and 5 */
static void test_late_layers(void) {
    lf_model *m;
    lf_model_create(&m, 13);
    int vec = lf_input(m, 4, "vec");
    int seq = lf_input_shape(m, 2, (size_t[]){5, 3}, LF_DTYPE_FLOAT32, "seq");
    int q = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "q");
    int kv = lf_input_shape(m, 2, (size_t[]){6, 3}, LF_DTYPE_FLOAT32, "kv");
    int dvec = lf_dense(m, vec, 3, LF_ACT_TANH, 1, "d_vec");
    int dseq = lf_dense(m, seq, 4, LF_ACT_TANH, 1, "d_seq");
    int resh = lf_reshape(m, dseq, 3, (size_t[]){5, 2, 2}, "resh");
    int dq = lf_dense(m, q, 4, LF_ACT_TANH, 1, "dq");
    int mk = lf_masking(m, kv, 0.5f, "masking");
    int dv = lf_dense(m, mk, 4, LF_ACT_TANH, 1, "dv");
    int dk = lf_dense(m, mk, 4, LF_ACT_LINEAR, 1, "dk");
    int parts[] = {
        lf_repeat_vector(m, dvec, 3, "rep"),
        lf_permute(m, dseq, 2, (size_t[]){2, 1}, "perm"),
        lf_permute(m, resh, 3, (size_t[]){3, 1, 2}, "perm3"),
        lf_upsampling1d(m, dseq, 2, "up"),
        lf_zero_padding1d(m, dseq, 1, 2, "zpad"),
        lf_cropping1d(m, dseq, 1, 2, "crop"),
        lf_attention(m, dq, dv, dk, 1, LF_SCORE_DOT, 0.0f, 1, 0, "att"),
        lf_attention(m, dv, dv, -1, 1, LF_SCORE_CONCAT, 0.0f, 1, 0, "att_c"),
        lf_additive_attention(m, dq, dv, -1, 1, 0.0f, 0, 0, "add_att"),
    };
    compile_parts(m, parts, sizeof parts / sizeof *parts);
    CHECK(m->nodes[dv].seq_mask == mk && m->nodes[parts[7]].seq_mask == mk, "Masking's mask reaches the attentions");
    check_network(m, "tests/golden/late_layers.safetensors", 3, 5);
    lf_model_free(m);
}

/* DepthwiseConv1D, SeparableConv1D and Conv1DTranspose (make_golden.py's
 * conv1d_kinds_model: torch's conv1d with groups = C, conv_transpose1d
 * cropped to Keras' size); forward, gradients, Adam steps 1 and 5 */
static void test_conv1d_kinds(void) {
    lf_model *m;
    lf_model_create(&m, 14);
    int x = lf_input_shape(m, 2, (size_t[]){7, 3}, LF_DTYPE_FLOAT32, "x");
    size_t op1 = 1;
    int parts[] = {
        lf_depthwise_conv1d(m, x, 3, 1, LF_PADDING_VALID, 2, 1, LF_ACT_TANH, 1, "dw_v"),
        lf_depthwise_conv1d(m, x, 2, 2, LF_PADDING_SAME, 1, 1, LF_ACT_ELU, 0, "dw_st"),
        lf_depthwise_conv1d(m, x, 2, 1, LF_PADDING_SAME, 1, 2, LF_ACT_LINEAR, 1, "dw_d"),
        lf_separable_conv1d(m, x, 4, 3, 1, LF_PADDING_SAME, 2, 1, LF_ACT_TANH, 1, "sep"),
        lf_separable_conv1d(m, x, 3, 2, 2, LF_PADDING_VALID, 1, 1, LF_ACT_LINEAR, 0, "sep_st"),
        lf_separable_conv1d(m, x, 2, 3, 1, LF_PADDING_VALID, 1, 2, LF_ACT_ELU, 1, "sep_d"),
        lf_conv1d_transpose(m, x, 3, 3, 2, LF_PADDING_VALID, NULL, LF_ACT_TANH, 1, "tc_v"),
        lf_conv1d_transpose(m, x, 2, 4, 2, LF_PADDING_SAME, NULL, LF_ACT_LINEAR, 1, "tc_s"),
        lf_conv1d_transpose(m, x, 2, 3, 3, LF_PADDING_SAME, &op1, LF_ACT_LINEAR, 0, "tc_op"),
    };
    compile_parts(m, parts, sizeof parts / sizeof *parts);
    check_network(m, "tests/golden/conv1d_kinds.safetensors", 3, 5);
    lf_model_free(m);
}

/* Keras' activation layers (activation_layers.c) on x (4, 3) and a Dense
 * of it: ReLU with all three arguments and with max_value alone,
 * LeakyReLU, ELU, PReLU (alpha per channel, and per value), Softmax over
 * the last axis, the steps and both; 2 Adam steps */
static void test_activation_layers(void) {
    lf_model *m;
    lf_model_create(&m, 37);
    int x = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "x");
    int pre = lf_dense(m, x, 3, LF_ACT_LINEAR, 1, "pre");
    int steps_axis = 1, both[2] = {1, 2}, last = -1;
    int parts[] = {
        lf_relu_layer(m, x, 1.2f, 0.1f, 0.3f, "relu_t"),
        lf_relu_layer(m, pre, 0.8f, 0.0f, 0.0f, "relu_max"),
        lf_leaky_relu(m, x, 0.2f, "leaky"),
        lf_elu_layer(m, pre, 0.7f, "elu"),
        lf_prelu(m, pre, &steps_axis, 1, "prelu_c"),
        lf_prelu(m, x, NULL, 0, "prelu_all"),
        lf_softmax_layer(m, pre, &last, 1, "soft_last"),
        lf_softmax_layer(m, x, &steps_axis, 1, "soft_steps"),
        lf_softmax_layer(m, x, both, 2, "soft_all"),
    };
    compile_parts(m, parts, sizeof parts / sizeof *parts);
    check_network(m, "tests/golden/activation_layers.safetensors", 3, 2);
    lf_model_free(m);
}

/* GroupNormalization (a sequence in 3 groups, groups 1 without scale, an
 * image in 2 groups without center, groups -1 = instance normalization) and
 * UnitNormalization (a sequence, an image) against F.group_norm on the
 * channels-first permutation and Keras' formula; 2 Adam steps */
static void test_group_norm(void) {
    lf_model *m;
    lf_model_create(&m, 38);
    int x = lf_input_shape(m, 2, (size_t[]){4, 6}, LF_DTYPE_FLOAT32, "x");
    int img = lf_input_shape(m, 3, (size_t[]){3, 2, 4}, LF_DTYPE_FLOAT32, "img");
    int pre = lf_dense(m, x, 6, LF_ACT_LINEAR, 1, "pre");
    int parts[] = {
        lf_group_normalization(m, pre, 3, 1e-3f, 1, 1, "gn_seq"),
        lf_group_normalization(m, x, 1, 1e-3f, 1, 0, "gn_one"),
        lf_group_normalization(m, img, 2, 1e-5f, 0, 1, "gn_img"),
        lf_group_normalization(m, img, -1, 1e-3f, 1, 1, "gn_inst"),
        lf_unit_normalization(m, pre, "un_seq"),
        lf_unit_normalization(m, img, "un_img"),
    };
    compile_parts(m, parts, sizeof parts / sizeof *parts);
    check_network(m, "tests/golden/group_norm.safetensors", 3, 2);
    lf_model_free(m);
}

/* Keras 3's activations after softmax: each kernel's forward and input
 * gradient on a (6, 8) tensor with +-30 and +-15 (act.NAME, dact.NAME);
 * then a Dense of each smooth one in a network, trained 5 Adam steps */
static void test_activations(void) {
    lf_err e;
    lf_status st = lf_st_read("tests/golden/activations.safetensors", &gf, &e);
    CHECK(st == LF_OK, "reading activations.safetensors: %s", e.msg);
    if (st != LF_OK) return;
    size_t n = 0;
    float *x = golden("x", &n), *dy = golden("dy", NULL);
    CHECK(n == 48, "x has %zu values, not 6 x 8", n);
    float y[48], dz[48];
    for (int a = LF_ACT_SOFTMAX + 1; a < LF_ACT_COUNT && x && dy && n == 48; a++) {
        char name[64];
        lf_act_forward((lf_activation)a, y, x, 6, 8);
        snprintf(name, sizeof name, "act.%s", lf_activation_name(a));
        compare(name, y, 48);
        lf_act_backward((lf_activation)a, dz, dy, x, y, 6, 8);
        snprintf(name, sizeof name, "dact.%s", lf_activation_name(a));
        compare(name, dz, 48);
    }
    free(x), free(dy);
    lf_st_free(&gf);

    static const lf_activation net[] = {LF_ACT_SILU,        LF_ACT_MISH,        LF_ACT_SOFTPLUS,
                                        LF_ACT_SOFTSIGN,    LF_ACT_TANH_SHRINK, LF_ACT_LOG_SIGMOID,
                                        LF_ACT_SQUAREPLUS, LF_ACT_LOG_SOFTMAX};
    enum { K = sizeof net / sizeof net[0] };
    lf_model *m;
    lf_model_create(&m, 37);
    int in = lf_input(m, 4, "x"), d[K];
    for (int k = 0; k < K; k++) {
        char name[64];
        snprintf(name, sizeof name, "d_%s", lf_activation_name(net[k]));
        d[k] = lf_dense(m, in, 4, net[k], 1, name);
    }
    int out = lf_dense(m, lf_concatenate(m, K, d, "cat"), 3, LF_ACT_LINEAR, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network(m, "tests/golden/activations.safetensors", 6, 1);
    lf_model_free(m);
}

/* GroupedQueryAttention (make_golden.py's gqa_model_ids: the key/value
 * heads repeat_interleave'd): self-attention of Embedding(mask_zero)
 * sequences (4 query heads on 2) -> masked GlobalAveragePooling1D; causal
 * multi-query self-attention (4 on 1); cross-attention with a key of its
 * own, no bias (6 on 3); Dense(softmax); forward, gradients, 2 Adam steps */
static void test_gqa(void) {
    lf_model *m;
    lf_model_create(&m, 38);
    int ids = lf_input_shape(m, 1, (size_t[]){6}, LF_DTYPE_INT32, "ids");
    int x = lf_input_shape(m, 2, (size_t[]){5, 6}, LF_DTYPE_FLOAT32, "x");
    int v = lf_input_shape(m, 2, (size_t[]){4, 6}, LF_DTYPE_FLOAT32, "v");
    int k = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "k");
    int emb = lf_embedding(m, ids, 11, 8, 1, "emb");
    int enc = lf_grouped_query_attention(m, emb, emb, -1, 2, 4, 2, 0.0f, 1, 0, "enc");
    int gap = lf_global_average_pooling1d(m, enc, "gap");
    int mq = lf_grouped_query_attention(m, x, x, -1, 3, 4, 1, 0.0f, 1, 1, "mq");
    int cross = lf_grouped_query_attention(m, x, v, k, 2, 6, 3, 0.0f, 0, 0, "cross");
    int cat = lf_concatenate(m, 3, (int[]){gap, lf_flatten(m, mq, NULL), lf_flatten(m, cross, NULL)}, "cat");
    int out = lf_dense(m, cat, 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    CHECK(m->nodes[enc].seq_mask == emb, "the padding mask reaches the pooling");
    check_network(m, "tests/golden/gqa.safetensors", 4, 2);
    lf_model_free(m);
}

/* RMSNormalization (make_golden.py's rms_model): of a Dense's sequence
 * (epsilon 1e-6) and of the input (epsilon 0.1) against x rsqrt(mean(x^2)
 * + epsilon) scale in float64; forward, input and scale gradients, Adam
 * steps 1 and 2 */
static void test_rms_norm(void) {
    lf_model *m;
    lf_model_create(&m, 39);
    int x = lf_input_shape(m, 2, (size_t[]){4, 6}, LF_DTYPE_FLOAT32, "x");
    int pre = lf_dense(m, x, 5, LF_ACT_LINEAR, 1, "pre");
    int parts[] = {lf_rms_normalization(m, pre, 1e-6f, "rms_seq"), lf_rms_normalization(m, x, 0.1f, "rms_x")};
    compile_parts(m, parts, sizeof parts / sizeof *parts);
    check_network(m, "tests/golden/rms_norm.safetensors", 3, 2);
    lf_model_free(m);
}

/* ConvLSTM3D against its cell written with torch's conv3d in a loop over
 * time: same with strides (1, 2, 1), flattened; valid, dilation (2, 1, 1),
 * no bias, return_sequences, go_backwards, flattened; concatenated ->
 * Dense(softmax); 2 Adam steps */
static void test_conv_lstm3d(void) {
    lf_model *m;
    lf_model_create(&m, 40);
    int img = lf_input_shape(m, 5, (size_t[]){3, 3, 4, 3, 2}, LF_DTYPE_FLOAT32, "img");
    lf_conv_lstm_options o1 = lf_conv_lstm_defaults(), o2 = lf_conv_lstm_defaults();
    o1.strides[1] = 2, o1.padding = LF_PADDING_SAME;
    o2.dilation_rate[0] = 2, o2.use_bias = 0, o2.return_sequences = 1, o2.go_backwards = 1;
    int f[2] = {lf_flatten(m, lf_conv_lstm3d(m, img, 2, 2, 2, 2, &o1, "cl1"), NULL),
                lf_flatten(m, lf_conv_lstm3d(m, img, 2, 2, 2, 2, &o2, "cl2"), NULL)};
    int out = lf_dense(m, lf_concatenate(m, 2, f, "cat"), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, out, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    check_network_mode(m, "tests/golden/conv_lstm3d.safetensors", 3, 2, 0);
    lf_model_free(m);
}

int main(void) {
    test_multi();
    test_seed();
    test_head();
    test_zoo();
    test_cnn();
    test_video();
    test_conv3d();
    test_conv3d_dilated();
    test_conv3d_transpose();
    test_spatial3d();
    test_image_zoo();
    test_seq();
    test_attention();
    test_encoder();
    test_pool1d();
    test_rnn();
    test_simple_rnn();
    test_bidirectional();
    test_rnn_state();
    test_decoder();
    test_resizing();
    test_sepconv();
    test_conv1d_masking();
    test_late_layers();
    test_conv1d_kinds();
    test_activation_layers();
    test_activations();
    test_group_norm();
    test_gqa();
    test_rms_norm();
    test_conv_lstm();
    test_conv_lstm3d();
    return check_report("test_golden");
}
