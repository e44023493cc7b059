/*
 * test_conv3d.c — Conv3D (conv3d.c), MaxPooling3D and AveragePooling3D
 * (pool3d.c) against hand computations: Conv3D against a direct six-fold
 * loop over Keras' kernel layout with "same" padding's split (the odd
 * voxel after), dilated too (the window d (k - 1) + 1), the "same" average divided by the count of real voxels, the
 * max's window; the summary's shapes; a model file round trip predicting
 * the same bits, a dilated one too; the build-time and file refusals by
 * their exact messages.
 * (Gradients: test_grad.c; PyTorch's numbers: test_golden.c.)
 */
#include "check.h"
#include "engine_util.h"
#include "model_checks.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

/* "same" padding before the first voxel of an axis (Keras/TF: total / 2),
 * k the dilated window */
static size_t pad_before(size_t n, size_t k, size_t s, lf_padding p, size_t *o) {
    if (p == LF_PADDING_VALID) {
        *o = (n - k) / s + 1;
        return 0;
    }
    *o = (n + s - 1) / s;
    size_t need = (*o - 1) * s + k;
    return need > n ? (need - n) / 2 : 0;
}

/* x (D, H, W, C), kernel (kd, kh, kw, C, F) Keras' layout -> y (Do, Ho, Wo, F), direct; tap a of an axis
 * reads o st + a dl - pad */
static void conv3d_direct(float *y, const float *x, const float *k, const float *b, const size_t *in, size_t F,
                          const size_t *ks, const size_t *st, const size_t *dl, lf_padding p) {
    size_t o[3], pad[3];
    for (int a = 0; a < 3; a++) pad[a] = pad_before(in[a], dl[a] * (ks[a] - 1) + 1, st[a], p, &o[a]);
    size_t C = in[3];
    for (size_t od = 0; od < o[0]; od++)
        for (size_t oy = 0; oy < o[1]; oy++)
            for (size_t ox = 0; ox < o[2]; ox++)
                for (size_t f = 0; f < F; f++) {
                    double s = b ? b[f] : 0;
                    for (size_t a = 0; a < ks[0]; a++)
                        for (size_t bb = 0; bb < ks[1]; bb++)
                            for (size_t c = 0; c < ks[2]; c++) {
                                long iz = (long)(od * st[0] + a * dl[0]) - (long)pad[0];
                                long iy = (long)(oy * st[1] + bb * dl[1]) - (long)pad[1];
                                long ix = (long)(ox * st[2] + c * dl[2]) - (long)pad[2];
                                if (iz < 0 || iy < 0 || ix < 0 || iz >= (long)in[0] || iy >= (long)in[1] ||
                                    ix >= (long)in[2])
                                    continue;
                                for (size_t ch = 0; ch < C; ch++)
                                    s += (double)x[(((size_t)iz * in[1] + (size_t)iy) * in[2] + (size_t)ix) * C + ch] *
                                         k[(((a * ks[1] + bb) * ks[2] + c) * C + ch) * F + f];
                            }
                    y[((od * o[1] + oy) * o[2] + ox) * F + f] = (float)s;
                }
}

/* Conv3D, linear, vs the direct loop: "same" with odd padding and strides,
 * "valid"; dilated "same" (odd total padding of the dilated window) and
 * "valid" */
static void test_conv3d_by_hand(void) {
    struct {
        size_t in[4], F, ks[3], st[3], dl[3];
        lf_padding p;
    } cases[] = {
        {{4, 5, 6, 2}, 3, {2, 3, 3}, {1, 2, 2}, {1, 1, 1}, LF_PADDING_SAME},
        {{3, 4, 5, 3}, 2, {3, 2, 2}, {1, 1, 2}, {1, 1, 1}, LF_PADDING_VALID},
        {{5, 3, 4, 1}, 4, {3, 3, 1}, {2, 3, 1}, {1, 1, 1}, LF_PADDING_SAME},
        {{5, 6, 7, 2}, 3, {2, 3, 2}, {1, 1, 1}, {2, 1, 3}, LF_PADDING_SAME},
        {{6, 5, 7, 2}, 2, {2, 2, 3}, {1, 1, 1}, {3, 2, 2}, LF_PADDING_VALID},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 40 + c);
        int x = lf_input_shape(m, 4, cases[c].in, LF_DTYPE_FLOAT32, "video");
        int y = lf_conv3d_dilated(m, x, cases[c].F, cases[c].ks[0], cases[c].ks[1], cases[c].ks[2], cases[c].st[0],
                                  cases[c].st[1], cases[c].st[2], cases[c].p, cases[c].dl[0], cases[c].dl[1],
                                  cases[c].dl[2], LF_ACT_LINEAR, 1, "c3");
        CHECK(lf_model_compile(m, y, LF_LOSS_MSE, NULL) == LF_OK, "case %zu: compile: %s", c, lf_model_error(m));
        size_t kshape[2], kcount, nx = cases[c].in[0] * cases[c].in[1] * cases[c].in[2] * cases[c].in[3];
        CHECK(lf_layer_weight_shape(m, "c3", 0, kshape, &kcount) == LF_OK &&
                  kcount == cases[c].ks[0] * cases[c].ks[1] * cases[c].ks[2] * cases[c].in[3] * cases[c].F,
              "case %zu: kernel (kd, kh, kw, C, F) holds %zu values", c, kcount);
        float *k = malloc(kcount * sizeof *k), b[4] = {0.25f, -0.5f, 0.125f, 1.0f};
        fill_uniform(k, kcount, -1, 1, 50 + c);
        lf_set_weights(m, "c3", 0, k, kcount);
        lf_set_weights(m, "c3", 1, b, cases[c].F);
        size_t B = 2, ny = lf_node_dim(m, y);
        float *xv = malloc(B * nx * sizeof *xv), *got = malloc(B * ny * sizeof *got),
              *want = malloc(B * ny * sizeof *want);
        fill_uniform(xv, B * nx, -2, 2, 60 + c);
        const float *xs[1] = {xv};
        CHECK(lf_model_predict(m, xs, B, got) == LF_OK, "case %zu: predict: %s", c, lf_model_error(m));
        for (size_t r = 0; r < B; r++)
            conv3d_direct(want + r * ny, xv + r * nx, k, b, cases[c].in, cases[c].F, cases[c].ks, cases[c].st,
                          cases[c].dl, cases[c].p);
        char what[64];
        snprintf(what, sizeof what, "Conv3D case %zu by hand", c);
        CHECK_CLOSE(what, got, want, B * ny, 1e-5, 1e-5);
        free(k), free(xv), free(got), free(want);
        lf_model_free(m);
    }
}

/* AveragePooling3D "same": a window cut by the padding divides by its real
 * voxels (ones stay ones everywhere; a window's size would not); a value
 * by hand; MaxPooling3D's windows by hand */
static void test_pool3d_by_hand(void) {
    enum { D = 3, H = 3, W = 4, C = 2 };
    lf_model *m;
    lf_model_create(&m, 5);
    int x = lf_input_shape(m, 4, (size_t[]){D, H, W, C}, LF_DTYPE_FLOAT32, "video");
    /* pool (2, 2, 3) strides (2, 2, 2) same: Do 2 (pad 0 + 1), Ho 2 (0 + 1), Wo 2 (pad 0 + 1) */
    int a = lf_average_pooling3d(m, x, 2, 2, 3, 2, 2, 2, LF_PADDING_SAME, "avg");
    int mx = lf_max_pooling3d(m, x, 2, 2, 3, 2, 2, 2, LF_PADDING_SAME, "max");
    int cat = lf_concatenate(m, 2, (int[]){lf_flatten(m, a, NULL), lf_flatten(m, mx, NULL)}, "cat");
    CHECK(lf_model_compile(m, cat, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    size_t dims[LF_MAX_RANK];
    CHECK(lf_node_shape(m, a, dims) == 4 && dims[0] == 2 && dims[1] == 2 && dims[2] == 2 && dims[3] == C,
          "AveragePooling3D same: (2, 2, 2, 2)");
    enum { NY = 2 * 2 * 2 * 2 * C };
    float ones[D * H * W * C], y[NY];
    for (size_t i = 0; i < D * H * W * C; i++) ones[i] = 1.0f;
    const float *xs[1] = {ones};
    CHECK(lf_model_predict(m, xs, 1, y) == LF_OK, "predict: %s", lf_model_error(m));
    int all_one = 1;
    for (size_t i = 0; i < NY; i++) all_one &= y[i] == 1.0f;
    CHECK(all_one, "the 'same' average of ones is 1 in every window, the cut ones too");

    float xv[D * H * W * C], want[NY];
    fill_uniform(xv, D * H * W * C, -2, 2, 70);
    xs[0] = xv;
    CHECK(lf_model_predict(m, xs, 1, y) == LF_OK, "predict: %s", lf_model_error(m));
    size_t k[3] = {2, 2, 3}, n[3] = {D, H, W};
    for (size_t od = 0; od < 2; od++)
        for (size_t oy = 0; oy < 2; oy++)
            for (size_t ox = 0; ox < 2; ox++)
                for (size_t ch = 0; ch < C; ch++) {
                    size_t o[3] = {od, oy, ox}, lo[3], hi[3];
                    for (int ax = 0; ax < 3; ax++) { /* padding before is 0 on every axis here */
                        lo[ax] = o[ax] * 2;
                        hi[ax] = lo[ax] + k[ax] < n[ax] ? lo[ax] + k[ax] : n[ax];
                    }
                    double s = 0;
                    float best = -INFINITY;
                    size_t cnt = 0;
                    for (size_t z = lo[0]; z < hi[0]; z++)
                        for (size_t yy = lo[1]; yy < hi[1]; yy++)
                            for (size_t xx = lo[2]; xx < hi[2]; xx++) {
                                float v = xv[((z * H + yy) * W + xx) * C + ch];
                                s += v, cnt++, best = v > best ? v : best;
                            }
                    size_t at = ((od * 2 + oy) * 2 + ox) * C + ch;
                    want[at] = (float)(s / (double)cnt);
                    want[NY / 2 + at] = best;
                }
    CHECK_CLOSE("AveragePooling3D / MaxPooling3D same by hand", y, want, NY, 1e-6, 1e-6);
    lf_model_free(m);
}

/* m (one input of nx values a sample, 3 classes of sparse labels r % 3)
 * fitted 2 epochs of batch rows on b rows of uniform x (seed), saved to
 * path and loaded again: the loaded model predicts the same bits ("<what>:
 * the same bits").  The file is left for the caller. */
static void fit_save_load(lf_model *m, size_t b, size_t nx, size_t batch, uint64_t seed, const char *path,
                          const char *what) {
    float *xv = malloc(b * nx * sizeof *xv), *t = malloc(b * sizeof *t), *y = malloc(b * 3 * sizeof *y),
          *y2 = malloc(b * 3 * sizeof *y2);
    CHECK(xv && t && y && y2, "%s: out of memory", what);
    if (xv && t && y && y2) {
        fill_uniform(xv, b * nx, -1, 1, seed);
        for (size_t r = 0; r < b; r++) t[r] = (float)(r % 3);
        const float *xs[1] = {xv};
        lf_fit_options fo = lf_fit_defaults();
        fo.epochs = 2, fo.batch_size = batch;
        CHECK(lf_model_fit(m, xs, t, b, &fo) == LF_OK, "fit: %s", lf_model_error(m));
        CHECK(lf_model_predict(m, xs, b, y) == LF_OK, "predict: %s", lf_model_error(m));
        CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
        lf_model *l;
        lf_model_create(&l, 9);
        CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
        CHECK(lf_model_predict(l, xs, b, y2) == LF_OK && memcmp(y, y2, b * 3 * sizeof *y) == 0, "%s: the same bits",
              what);
        lf_model_free(l);
    }
    free(xv), free(t), free(y), free(y2);
}

/* a C3D-style branch: the summary's shapes and parameters, a model file
 * round trip predicting the same bits (after a few training steps) */
static void test_roundtrip(void) {
    lf_model *m;
    lf_model_create(&m, 7);
    int x = lf_input_shape(m, 4, (size_t[]){4, 6, 6, 2}, LF_DTYPE_FLOAT32, "video");
    int c1 = lf_conv3d(m, x, 4, 3, 3, 3, 1, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, "conv1");
    int p1 = lf_max_pooling3d(m, c1, 1, 2, 2, 0, 0, 0, LF_PADDING_VALID, "pool1");
    int c2 = lf_conv3d(m, p1, 3, 2, 2, 2, 2, 1, 1, LF_PADDING_VALID, LF_ACT_TANH, 0, "conv2");
    int p2 = lf_average_pooling3d(m, c2, 2, 2, 2, 1, 1, 1, LF_PADDING_SAME, "pool2");
    int o = lf_dense(m, lf_flatten(m, p2, NULL), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    char *s = summary_of(m);
    CHECK(has(s, "conv1 (Conv3D)                                     (None, 4, 6, 6, 4)          220  video"),
          "summary:\n%s", s ? s : "");
    CHECK(has(s, "pool1 (MaxPooling3D)                               (None, 4, 3, 3, 4)            0  conv1"),
          "summary:\n%s", s ? s : "");
    CHECK(has(s, "conv2 (Conv3D)                                     (None, 2, 2, 2, 3)           96  pool1"),
          "summary:\n%s", s ? s : "");
    CHECK(has(s, "pool2 (AveragePooling3D)                           (None, 2, 2, 2, 3)"), "summary:\n%s", s ? s : "");
    free(s);
    char path[128];
    snprintf(path, sizeof path, "%s/c3d.lf", tmpdir);
    fit_save_load(m, 6, 4 * 6 * 6 * 2, 3, 80, path, "loaded");

    /* an undilated Conv3D's file has no dilation_rate (older files keep their bytes) */
    CHECK(!file_has(path, "dilation_rate"), "an undilated Conv3D writes no dilation_rate");

    unlink(path);
    lf_model_free(m);
}

/* a dilated Conv3D ("same" and "valid"): the file keeps its dilation_rate
 * and the loaded model predicts the same bits after training */
static void test_dilated_roundtrip(void) {
    lf_model *m;
    lf_model_create(&m, 11);
    int x = lf_input_shape(m, 4, (size_t[]){5, 7, 6, 2}, LF_DTYPE_FLOAT32, "video");
    int c1 = lf_conv3d_dilated(m, x, 3, 2, 3, 2, 1, 1, 1, LF_PADDING_SAME, 2, 1, 2, LF_ACT_RELU, 1, "conv1");
    int c2 = lf_conv3d_dilated(m, c1, 2, 2, 2, 2, 1, 1, 1, LF_PADDING_VALID, 1, 3, 2, LF_ACT_LINEAR, 1, "conv2");
    int o = lf_dense(m, lf_flatten(m, c2, NULL), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    size_t dims[LF_MAX_RANK];
    /* conv2 "valid": windows (2, 4, 3) over (5, 7, 6) */
    CHECK(lf_node_shape(m, c2, dims) == 4 && dims[0] == 4 && dims[1] == 4 && dims[2] == 4 && dims[3] == 2,
          "conv2: (4, 4, 4, 2), got (%zu, %zu, %zu, %zu)", dims[0], dims[1], dims[2], dims[3]);
    char path[128];
    snprintf(path, sizeof path, "%s/dil.lf", tmpdir);
    fit_save_load(m, 5, 5 * 7 * 6 * 2, 2, 81, path, "dilated, loaded");
    CHECK(file_has(path, "\\\"dilation_rate\\\":[1,3,2]"), "conv2's dilation_rate in the file");
    /* conv1 (the first strides in the file) made strided too: Keras' refusal */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    check_edit_refused(path, bad, "\\\"strides\\\":[1,1,1]", "\\\"strides\\\":[2,1,1]",
                       "Conv3D: strides > 1 not supported in conjunction with dilation_rate > 1, got "
                       "strides (2, 1, 1) and dilation_rate (2, 1, 2)");
    /* a dilation 0 in the file: refused by the field's rule */
    check_edit_refused(path, bad, "\\\"dilation_rate\\\":[2,1,2]", "\\\"dilation_rate\\\":[2,0,2]",
                       "layer 'conv1': 'dilation_rate' must be a list of 3..3 integers in 1..1024");
    unlink(bad);
    unlink(path);
    lf_model_free(m);
}

/* misuse refused at build time by name */
static void test_refusals(void) {
    struct {
        int what;
        const char *msg;
    } cases[] = {
        {0, "Conv3D: input 'video' of shape (None, 2, 6, 5, 3) is smaller than the kernel (3, 3, 3) with padding "
            "'valid'"},
        {1, "Conv3D: input 'img' has shape (None, 6, 5, 3); it needs rank 5 (batch, frames, height, width, "
            "channels)"},
        {2, "MaxPooling3D: input 'video' of shape (None, 2, 6, 5, 3) is smaller than the pool (3, 2, 2) with "
            "padding 'valid'"},
        {3, "AveragePooling3D: input 'img' has shape (None, 6, 5, 3); it needs rank 5 (batch, frames, height, "
            "width, channels)"},
        {4, "Conv3D: kernel_size and strides must be in 1..1024, got (3, 0, 3) and (1, 1, 1)"},
        {5, "Conv3D: filters must be in 1..268435456, got 0"},
        {6, "AveragePooling3D: pool_size and strides must be in 1..1024, got (2, 2, 2) and (2, 2, 2000)"},
        {7, "Conv3D: strides > 1 not supported in conjunction with dilation_rate > 1, got strides (1, 2, 1) and "
            "dilation_rate (1, 1, 2)"},
        {8, "Conv3D: dilation_rate must be in 1..1024, got (1, 0, 1)"},
        {9, "Conv3D: input 'video' of shape (None, 2, 6, 5, 3) is smaller than the kernel (2, 3, 3) dilated by "
            "(2, 1, 1) with padding 'valid'"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int v = lf_input_shape(m, 4, (size_t[]){2, 6, 5, 3}, LF_DTYPE_FLOAT32, "video");
        int img = lf_input_shape(m, 3, (size_t[]){6, 5, 3}, LF_DTYPE_FLOAT32, "img");
        switch (cases[c].what) {
        case 0: lf_conv3d(m, v, 4, 3, 3, 3, 1, 1, 1, LF_PADDING_VALID, LF_ACT_RELU, 1, NULL); break;
        case 1: lf_conv3d(m, img, 4, 3, 3, 3, 1, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL); break;
        case 2: lf_max_pooling3d(m, v, 3, 2, 2, 0, 0, 0, LF_PADDING_VALID, NULL); break;
        case 3: lf_average_pooling3d(m, img, 2, 2, 2, 0, 0, 0, LF_PADDING_VALID, NULL); break;
        case 4: lf_conv3d(m, v, 4, 3, 0, 3, 1, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL); break;
        case 5: lf_conv3d(m, v, 0, 3, 3, 3, 1, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL); break;
        case 6: lf_average_pooling3d(m, v, 2, 2, 2, 0, 0, 2000, LF_PADDING_SAME, NULL); break;
        case 7: lf_conv3d_dilated(m, v, 4, 1, 3, 3, 1, 2, 1, LF_PADDING_SAME, 1, 1, 2, LF_ACT_RELU, 1, NULL); break;
        case 8: lf_conv3d_dilated(m, v, 4, 1, 3, 3, 1, 1, 1, LF_PADDING_SAME, 1, 0, 1, LF_ACT_RELU, 1, NULL); break;
        default: lf_conv3d_dilated(m, v, 4, 2, 3, 3, 1, 1, 1, LF_PADDING_VALID, 2, 1, 1, LF_ACT_RELU, 1, NULL); break;
        }
        CHECK(strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_conv3d_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_conv3d_by_hand();
    test_pool3d_by_hand();
    test_roundtrip();
    test_dilated_roundtrip();
    test_refusals();
    rmdir(tmpdir);
    return check_report("test_conv3d");
}
