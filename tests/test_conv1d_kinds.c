/*
 * test_conv1d_kinds.c — DepthwiseConv1D, SeparableConv1D and
 * Conv1DTranspose beyond their gradients (test_grad.c) and PyTorch's
 * numbers (test_golden.c): output shapes and the summary, hand-computed
 * outputs, each 1-D kind against its 2-D form on (T, 1, C) images (the
 * same predictions and, after fit, the same weights, bit for bit), the
 * build-time refusals' exact messages, and a save / load round trip (the
 * same bits, Keras' field names and weight shapes in the file, and the
 * file reader's refusals).
 */
#include "check.h"
#include "engine_util.h"
#include "model_checks.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

static int node_of(const lf_model *m, const char *name) {
    for (size_t n = 0; n < m->n_nodes; n++)
        if (strcmp(m->nodes[n].name, name) == 0) return (int)n;
    return -1;
}

/* every weight of layer `name` of a copied into b */
static void copy_weights(lf_model *a, lf_model *b, const char *name) {
    for (size_t k = 0; k < lf_layer_num_weights(a, name); k++) {
        size_t shape[8], cnt;
        CHECK(lf_layer_weight_shape(a, name, k, shape, &cnt) == LF_OK, "%s %zu", name, k);
        float *w = malloc(cnt * sizeof *w);
        lf_get_weights(a, name, k, w, cnt);
        CHECK(lf_set_weights(b, name, k, w, cnt) == LF_OK, "set %s %zu: %s", name, k, lf_model_error(b));
        free(w);
    }
}

/* kind 0 DepthwiseConv1D, 1 SeparableConv1D, 2 Conv1DTranspose on x (T, C)
 * when `image` is 0, else its 2-D form on x (T, 1, C) */
static int add_kind(lf_model *m, int x, int kind, int image, size_t s, size_t d, lf_padding pad, size_t op) {
    switch (kind * 2 + image) {
    case 0: return lf_depthwise_conv1d(m, x, 3, s, pad, 2, d, LF_ACT_TANH, 1, "conv");
    case 1: return lf_depthwise_conv2d(m, x, 3, 1, s, 1, pad, 2, d, 1, LF_ACT_TANH, 1, "conv");
    case 2: return lf_separable_conv1d(m, x, 4, 3, s, pad, 2, d, LF_ACT_RELU, 1, "conv");
    case 3: return lf_separable_conv2d(m, x, 4, 3, 1, s, 1, pad, 2, d, 1, LF_ACT_RELU, 1, "conv");
    case 4: return lf_conv1d_transpose(m, x, 3, 3, s, pad, op == LF_INFER ? NULL : &op, LF_ACT_TANH, 1, "conv");
    default: {
        size_t op2[2] = {op, 0};
        return lf_conv2d_transpose(m, x, 3, 3, 1, s, 1, pad, op == LF_INFER ? NULL : op2, LF_ACT_TANH, 1, "conv");
    }
    }
}

static void test_as_images(void) {
    static const char *const kinds[] = {"DepthwiseConv1D", "SeparableConv1D", "Conv1DTranspose"};
    enum { T = 9, C = 3, N = 8 };
    for (int kind = 0; kind < 3; kind++)
        for (int cs = 0; cs < 4; cs++) {
            /* strides, dilation (not the transposed kind's), padding, output_padding (its only) */
            static const struct {
                size_t s, d;
                lf_padding pad;
                size_t op;
            } cases[] = {{1, 1, LF_PADDING_VALID, LF_INFER},
                         {2, 1, LF_PADDING_VALID, 1},
                         {1, 2, LF_PADDING_SAME, LF_INFER},
                         {2, 1, LF_PADDING_SAME, 0}};
            size_t s = cases[cs].s, d = kind < 2 ? cases[cs].d : 1, op = cases[cs].op;
            lf_padding pad = cases[cs].pad;
            lf_model *m[2];
            int out[2];
            for (int image = 0; image < 2; image++) {
                lf_model_create(&m[image], 40 + kind);
                int x = image ? lf_input_shape(m[image], 3, (size_t[]){T, 1, C}, LF_DTYPE_FLOAT32, "x")
                              : lf_input_shape(m[image], 2, (size_t[]){T, C}, LF_DTYPE_FLOAT32, "x");
                int h = add_kind(m[image], x, kind, image, s, d, pad, op);
                CHECK(h >= 0, "%s case %d: %s", kinds[kind], cs, lf_model_error(m[image]));
                out[image] = lf_dense(m[image], lf_flatten(m[image], h, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
                CHECK(lf_model_compile(m[image], out[image], LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK,
                      "%s", lf_model_error(m[image]));
            }
            size_t n1 = lf_model_num_params(m[0]), n2 = lf_model_num_params(m[1]);
            CHECK(n1 == n2, "%s case %d: %zu and %zu parameters", kinds[kind], cs, n1, n2);
            copy_weights(m[0], m[1], "conv");
            copy_weights(m[0], m[1], "out");
            float *x = malloc(N * T * C * sizeof *x), y[N], p[2][N * 2];
            fill_uniform(x, N * T * C, -1, 1, 7 + (uint64_t)cs);
            for (int i = 0; i < N; i++) y[i] = (float)(i % 2);
            const float *xs[1] = {x};
            lf_fit_options fo = lf_fit_defaults();
            fo.epochs = 2, fo.batch_size = 4, fo.shuffle = 0;
            for (int image = 0; image < 2; image++) {
                CHECK(lf_model_predict(m[image], xs, N, p[image]) == LF_OK, "%s", lf_model_error(m[image]));
                CHECK(lf_model_fit(m[image], xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(m[image]));
            }
            CHECK(memcmp(p[0], p[1], sizeof p[0]) == 0, "%s case %d: predictions differ from the 2-D form's",
                  kinds[kind], cs);
            CHECK(weights_equal(m[0], m[1], "conv") && weights_equal(m[0], m[1], "out"),
                  "%s case %d: weights after fit differ from the 2-D form's", kinds[kind], cs);
            free(x);
            lf_model_free(m[0]);
            lf_model_free(m[1]);
        }
}

static void test_shapes_and_hand_values(void) {
    lf_model *m;
    lf_model_create(&m, 3);
    int x = lf_input_shape(m, 2, (size_t[]){10, 3}, LF_DTYPE_FLOAT32, "seq");
    int a = lf_depthwise_conv1d(m, x, 3, 1, LF_PADDING_SAME, 2, 1, LF_ACT_RELU, 1, "dw");
    int b = lf_separable_conv1d(m, a, 5, 3, 2, LF_PADDING_VALID, 1, 1, LF_ACT_LINEAR, 1, "sep");
    int c = lf_conv1d_transpose(m, b, 4, 3, 2, LF_PADDING_SAME, NULL, LF_ACT_LINEAR, 1, "up");
    int d = lf_depthwise_conv1d(m, x, 2, 1, LF_PADDING_VALID, 1, 4, LF_ACT_LINEAR, 0, "dw_dil");
    CHECK(a >= 0 && b >= 0 && c >= 0 && d >= 0, "build: %s", lf_model_error(m));
    static const struct {
        const char *name;
        size_t t, c;
    } want[] = {
        {"dw", 10, 6},    /* same: the length kept, C M channels */
        {"sep", 4, 5},    /* (10 - 3) / 2 + 1 */
        {"up", 8, 4},     /* same, None: T s */
        {"dw_dil", 6, 3}, /* 10 - 4 (2 - 1) */
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        size_t dims[LF_MAX_RANK] = {0};
        int id = node_of(m, want[i].name);
        CHECK(lf_node_shape(m, id, dims) == 2 && dims[0] == want[i].t && dims[1] == want[i].c,
              "%s: (%zu, %zu), want (%zu, %zu)", want[i].name, dims[0], dims[1], want[i].t, want[i].c);
    }
    int parts[] = {lf_global_average_pooling1d(m, c, NULL), lf_global_average_pooling1d(m, d, NULL)};
    int o = lf_dense(m, lf_concatenate(m, 2, parts, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    char *buf = summary_of(m);
    CHECK(has(buf, "dw (DepthwiseConv1D)                               (None, 10, 6)                24  seq"),
          "summary DepthwiseConv1D row (3 3 2 + 6):\n%s", buf);
    CHECK(has(buf, "sep (SeparableConv1D)                              (None, 4, 5)                 53  dw"),
          "summary SeparableConv1D row (3 6 + 6 5 + 5):\n%s", buf);
    CHECK(has(buf, "up (Conv1DTranspose)                               (None, 8, 4)                 64  sep"),
          "summary Conv1DTranspose row (3 4 5 + 4):\n%s", buf);
    free(buf);

    /* the save / load round trip: the same bits after fit, Keras' names and shapes */
    enum { N = 6, D = 30 };
    float *xin = malloc(N * D * sizeof *xin), y[N];
    fill_uniform(xin, N * D, -1, 1, 5);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 2);
    const float *xs[1] = {xin};
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 2, fo.batch_size = 3;
    CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    char path[128];
    snprintf(path, sizeof path, "%s/conv1d_kinds.lf", tmpdir);
    lf_model *l = check_reload(m, xs, N, 2, path, "the loaded model");
    /* one more epoch each: the optimizer state came back too */
    fo.epochs = 1;
    lf_model_fit(m, xs, y, N, &fo);
    lf_model_fit(l, xs, y, N, &fo);
    CHECK(weights_equal(m, l, "dw") && weights_equal(m, l, "sep") && weights_equal(m, l, "up"),
          "the loaded model trains differently");
    lf_model_free(l);
    lf_st_file f;
    lf_err e;
    CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
    const char *arch = lf_st_metadata(&f, "architecture");
    const char *fields[] = {
        "\"name\":\"dw\",\"type\":\"DepthwiseConv1D\",\"inbound\":[\"seq\"],\"kernel_size\":[3],\"strides\":[1],"
        "\"padding\":\"same\",\"depth_multiplier\":2,\"activation\":\"relu\",\"use_bias\":true,\"l2\":0}",
        "\"name\":\"sep\",\"type\":\"SeparableConv1D\",\"inbound\":[\"dw\"],\"filters\":5,\"kernel_size\":[3],"
        "\"strides\":[2],\"padding\":\"valid\",\"depth_multiplier\":1",
        "\"name\":\"up\",\"type\":\"Conv1DTranspose\",\"inbound\":[\"sep\"],\"filters\":4,\"kernel_size\":[3],"
        "\"strides\":[2],\"padding\":\"same\",\"activation\":\"linear\",\"use_bias\":true,\"l2\":0,"
        "\"output_padding\":null}",
        "\"name\":\"dw_dil\",\"type\":\"DepthwiseConv1D\"",
        "\"dilation_rate\":[4]}",
    };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        CHECK(has(arch, fields[i]), "arch lacks %s:\n%s", fields[i], arch ? arch : "(none)");
    const lf_st_tensor *t = lf_st_find(&f, "dw.kernel");
    CHECK(t && t->ndim == 3 && t->shape[0] == 3 && t->shape[1] == 3 && t->shape[2] == 2,
          "dw.kernel is Keras' (3, 3, 2)");
    t = lf_st_find(&f, "sep.depthwise_kernel");
    CHECK(t && t->ndim == 3 && t->shape[0] == 3 && t->shape[1] == 6 && t->shape[2] == 1,
          "sep.depthwise_kernel is Keras' (3, 6, 1)");
    t = lf_st_find(&f, "sep.pointwise_kernel");
    CHECK(t && t->ndim == 3 && t->shape[0] == 1 && t->shape[1] == 6 && t->shape[2] == 5,
          "sep.pointwise_kernel is Keras' (1, 6, 5)");
    t = lf_st_find(&f, "up.kernel");
    CHECK(t && t->ndim == 3 && t->shape[0] == 3 && t->shape[1] == 4 && t->shape[2] == 5,
          "up.kernel is Keras' (3, 4, 5): (k, filters, C)");
    lf_st_free(&f);
    unlink(path);
    lf_model_free(m);
    free(xin);

    /* hand values: x (2, 1) = [1, 2], Conv1DTranspose(1, 3, strides 2, valid), kernel [1, 10, 100]:
     * step i spreads x[i] kernel onto steps 2 i .. 2 i + 2: [1, 10, 100 + 2, 20, 200] */
    {
        lf_model *h;
        lf_model_create(&h, 1);
        int xi = lf_input_shape(h, 2, (size_t[]){2, 1}, LF_DTYPE_FLOAT32, "x");
        int tc = lf_conv1d_transpose(h, xi, 1, 3, 2, LF_PADDING_VALID, NULL, LF_ACT_LINEAR, 0, "t");
        CHECK(lf_model_compile(h, lf_flatten(h, tc, NULL), LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(h));
        CHECK(lf_set_weights(h, "t", 0, (float[]){1, 10, 100}, 3) == LF_OK, "%s", lf_model_error(h));
        float yv[5];
        const float *xv[1] = {(float[]){1, 2}};
        CHECK(lf_model_predict(h, xv, 1, yv) == LF_OK, "%s", lf_model_error(h));
        CHECK(yv[0] == 1 && yv[1] == 10 && yv[2] == 102 && yv[3] == 20 && yv[4] == 200,
              "Conv1DTranspose hand values: %g %g %g %g %g", (double)yv[0], (double)yv[1], (double)yv[2],
              (double)yv[3], (double)yv[4]);
        lf_model_free(h);
    }
    /* DepthwiseConv1D(2, M 2, dilation 2) on x (3, 1) = [1, 2, 3]: taps 0 and 2,
     * kernel (2, 1, 2) [[10, 20], [1000, 2000]] -> [1 10 + 3 1000, 1 20 + 3 2000] + bias [0.5, -0.5] */
    {
        lf_model *h;
        lf_model_create(&h, 1);
        int xi = lf_input_shape(h, 2, (size_t[]){3, 1}, LF_DTYPE_FLOAT32, "x");
        int tc = lf_depthwise_conv1d(h, xi, 2, 1, LF_PADDING_VALID, 2, 2, LF_ACT_LINEAR, 1, "t");
        CHECK(lf_model_compile(h, lf_flatten(h, tc, NULL), LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(h));
        CHECK(lf_set_weights(h, "t", 0, (float[]){10, 20, 1000, 2000}, 4) == LF_OK, "%s", lf_model_error(h));
        CHECK(lf_set_weights(h, "t", 1, (float[]){0.5f, -0.5f}, 2) == LF_OK, "%s", lf_model_error(h));
        float yv[2];
        const float *xv[1] = {(float[]){1, 2, 3}};
        CHECK(lf_model_predict(h, xv, 1, yv) == LF_OK, "%s", lf_model_error(h));
        CHECK(yv[0] == 3010.5f && yv[1] == 6019.5f, "DepthwiseConv1D hand values: %g %g", (double)yv[0],
              (double)yv[1]);
        lf_model_free(h);
    }
}

static void test_refusals(void) {
    static const char *const want[] = {
        "DepthwiseConv1D: depth_multiplier must be in 1..268435456, got 0",
        "SeparableConv1D: input 'x' of shape (None, 4, 2) is shorter than the kernel 3 dilated by 2 with padding "
        "'valid'",
        "SeparableConv1D: unknown padding 2 ('causal' is Conv1D's only)",
        "DepthwiseConv1D: strides > 1 not supported in conjunction with dilation_rate > 1, got strides 2 and "
        "dilation_rate 2",
        "SeparableConv1D: filters must be in 1..268435456, got 0",
        "Conv1DTranspose: `output_padding` must be strictly less than `strides` for all dimensions. At dimension 0, "
        "`output_padding` is 2 but `strides` is 2",
        "Conv1DTranspose: unknown padding 2",
        "Conv1DTranspose: input 'x' of shape (None, 1, 2) gives an output of 0 steps",
        "Conv1DTranspose: kernel_size and strides must be in 1..1024, got 3 and 0",
        "DepthwiseConv1D: input 'img' has shape (None, 4, 4, 2); it needs rank 3 (batch, steps, features)",
    };
    for (int k = 0; k < (int)(sizeof want / sizeof *want); k++) {
        lf_model *e;
        lf_model_create(&e, 1);
        int x = lf_input_shape(e, 2, (size_t[]){k == 7 ? 1 : 4, 2}, LF_DTYPE_FLOAT32, "x");
        int img = lf_input_shape(e, 3, (size_t[]){4, 4, 2}, LF_DTYPE_FLOAT32, "img");
        size_t op2 = 2, op0 = 0;
        int r;
        switch (k) {
        case 0: r = lf_depthwise_conv1d(e, x, 3, 1, LF_PADDING_SAME, 0, 1, LF_ACT_LINEAR, 1, NULL); break;
        case 1: r = lf_separable_conv1d(e, x, 2, 3, 1, LF_PADDING_VALID, 1, 2, LF_ACT_LINEAR, 1, NULL); break;
        case 2: r = lf_separable_conv1d(e, x, 2, 3, 1, LF_PADDING_CAUSAL, 1, 1, LF_ACT_LINEAR, 1, NULL); break;
        case 3: r = lf_depthwise_conv1d(e, x, 3, 2, LF_PADDING_SAME, 1, 2, LF_ACT_LINEAR, 1, NULL); break;
        case 4: r = lf_separable_conv1d(e, x, 0, 3, 1, LF_PADDING_SAME, 1, 1, LF_ACT_LINEAR, 1, NULL); break;
        case 5: r = lf_conv1d_transpose(e, x, 2, 3, 2, LF_PADDING_SAME, &op2, LF_ACT_LINEAR, 1, NULL); break;
        case 6: r = lf_conv1d_transpose(e, x, 2, 3, 1, LF_PADDING_CAUSAL, NULL, LF_ACT_LINEAR, 1, NULL); break;
        case 7: r = lf_conv1d_transpose(e, x, 2, 2, 1, LF_PADDING_SAME, &op0, LF_ACT_LINEAR, 1, NULL); break;
        case 8: r = lf_conv1d_transpose(e, x, 2, 3, 0, LF_PADDING_SAME, NULL, LF_ACT_LINEAR, 1, NULL); break;
        default: r = lf_depthwise_conv1d(e, img, 3, 1, LF_PADDING_SAME, 1, 1, LF_ACT_LINEAR, 1, NULL); break;
        }
        CHECK(r < 0 && strcmp(lf_model_error(e), want[k]) == 0, "refusal %d: %s", k, lf_model_error(e));
        lf_model_free(e);
    }
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_conv1d_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_shapes_and_hand_values();
    test_as_images();
    test_refusals();
    rmdir(tmpdir);
    return check_report("test_conv1d_kinds");
}
