/*
 * test_spatial3d.c — UpSampling3D, ZeroPadding3D, Cropping3D (spatial3d.c)
 * and Identity (identity.c) against hand computations: small volumes by
 * hand, asymmetric padding and cropping, Identity keeping a padding mask;
 * the summary's shapes; a model file round trip predicting the same bits;
 * the build-time and file refusals by their exact messages.
 * (Gradients: test_grad.c; PyTorch's numbers: test_golden.c.)
 */
#include "check.h"
#include "engine_util.h"
#include "model_checks.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

/* One layer on an input of shape in (rank 4): y = the layer's output of the
 * one sample x, *n its count; 0 after a failure (checked). */
enum { UP, PAD, CROP, IDENT };
static size_t one_layer(int kind, const size_t *in, const size_t *a, const float *x, float *y, size_t cap) {
    lf_model *m;
    lf_model_create(&m, 1);
    int xi = lf_input_shape(m, 4, in, LF_DTYPE_FLOAT32, "x");
    int h = kind == UP     ? lf_upsampling3d(m, xi, a[0], a[1], a[2], "l")
            : kind == PAD  ? lf_zero_padding3d(m, xi, a[0], a[1], a[2], a[3], a[4], a[5], "l")
            : kind == CROP ? lf_cropping3d(m, xi, a[0], a[1], a[2], a[3], a[4], a[5], "l")
                           : lf_identity(m, xi, "l");
    int o = lf_flatten(m, h, NULL);
    size_t n = 0;
    if (lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK) {
        size_t dims[LF_MAX_RANK];
        n = 1;
        size_t r = lf_node_shape(m, o, dims);
        for (size_t d = 0; d < r; d++) n *= dims[d];
        const float *xs[1] = {x};
        if (n > cap || lf_model_predict(m, xs, 1, y) != LF_OK) n = 0;
    }
    CHECK(n > 0, "kind %d: %s", kind, lf_model_error(m));
    lf_model_free(m);
    return n;
}

static void test_by_hand(void) {
    float y[64];
    /* UpSampling3D (2, 1, 3) of x (2, 1, 2, 1) = [[1, 2]], [[3, 4]]: each frame twice, each column 3 times */
    {
        static const float hand[24] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
        size_t n = one_layer(UP, (size_t[]){2, 1, 2, 1}, (size_t[]){2, 1, 3}, (float[]){1, 2, 3, 4}, y, 64);
        CHECK(n == 24 && memcmp(y, hand, sizeof hand) == 0, "UpSampling3D (2, 1, 3): n %zu, y %g %g %g %g ...", n,
              (double)y[0], (double)y[3], (double)y[6], (double)y[12]);
    }
    /* UpSampling3D (1, 2, 1) of x (1, 2, 1, 2) = [[a, b], [c, d]] (two channels): rows twice */
    {
        static const float hand[8] = {1, 2, 1, 2, 3, 4, 3, 4};
        size_t n = one_layer(UP, (size_t[]){1, 2, 1, 2}, (size_t[]){1, 2, 1}, (float[]){1, 2, 3, 4}, y, 64);
        CHECK(n == 8 && memcmp(y, hand, sizeof hand) == 0, "UpSampling3D (1, 2, 1) channels: %g %g %g %g", (double)y[0],
              (double)y[1], (double)y[2], (double)y[3]);
    }
    /* ZeroPadding3D ((0, 1), (1, 0), (0, 0)) of x (1, 2, 1, 2): (2, 3, 1, 2), x at frame 0, rows 1..2 */
    {
        static const float hand[12] = {0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0};
        size_t n = one_layer(PAD, (size_t[]){1, 2, 1, 2}, (size_t[]){0, 1, 1, 0, 0, 0}, (float[]){1, 2, 3, 4}, y, 64);
        CHECK(n == 12 && memcmp(y, hand, sizeof hand) == 0, "ZeroPadding3D ((0, 1), (1, 0), (0, 0)): n %zu", n);
    }
    /* ZeroPadding3D ((1, 0), (0, 1), (2, 1)) of x (1, 1, 1, 1) = 5: (2, 2, 4, 1), 5 at (1, 0, 2) = 10 */
    {
        float hand[16] = {0};
        hand[10] = 5;
        size_t n = one_layer(PAD, (size_t[]){1, 1, 1, 1}, (size_t[]){1, 0, 0, 1, 2, 1}, (float[]){5}, y, 64);
        CHECK(n == 16 && memcmp(y, hand, sizeof hand) == 0, "ZeroPadding3D ((1, 0), (0, 1), (2, 1)): n %zu", n);
    }
    /* Cropping3D of x (2, 2, 3, 1) = 0..11 (voxel (d, h, w) holds (d 2 + h) 3 + w) */
    {
        float x[12];
        for (int i = 0; i < 12; i++) x[i] = (float)i;
        size_t n = one_layer(CROP, (size_t[]){2, 2, 3, 1}, (size_t[]){1, 0, 0, 1, 1, 1}, x, y, 64);
        CHECK(n == 1 && y[0] == 7, "Cropping3D ((1, 0), (0, 1), (1, 1)): n %zu, y %g (7)", n, (double)y[0]);
        n = one_layer(CROP, (size_t[]){2, 2, 3, 1}, (size_t[]){0, 1, 1, 0, 0, 1}, x, y, 64);
        CHECK(n == 2 && y[0] == 3 && y[1] == 4, "Cropping3D ((0, 1), (1, 0), (0, 1)): n %zu, y %g %g (3 4)", n,
              (double)y[0], (double)y[1]);
        /* the crop of the padding gives x back, whatever the sides */
        float x2[2 * 3 * 2 * 2];
        for (int i = 0; i < 24; i++) x2[i] = (float)(i * i) - 7.5f;
        lf_model *m;
        lf_model_create(&m, 1);
        int xi = lf_input_shape(m, 4, (size_t[]){2, 3, 2, 2}, LF_DTYPE_FLOAT32, "x");
        int p = lf_zero_padding3d(m, xi, 2, 1, 0, 3, 1, 2, "pad");
        int c = lf_cropping3d(m, p, 2, 1, 0, 3, 1, 2, "crop");
        int o = lf_flatten(m, c, NULL);
        CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
        const float *xs[1] = {x2};
        CHECK(lf_model_predict(m, xs, 1, y) == LF_OK && memcmp(y, x2, sizeof x2) == 0, "crop(pad(x)) = x");
        lf_model_free(m);
    }
    /* Identity: y = x */
    {
        static const float x[6] = {1.5f, -2, 3, 0, -0.25f, 7};
        size_t n = one_layer(IDENT, (size_t[]){1, 1, 3, 2}, (size_t[]){0}, x, y, 64);
        CHECK(n == 6 && memcmp(y, x, sizeof x) == 0, "Identity: n %zu", n);
    }
}

/* Identity keeps a padding mask (Keras' supports_masking): the mean over
 * the unmasked steps after it, as without it, and not the mean over all */
static void test_identity_mask(void) {
    float out[3][2];
    for (int k = 0; k < 3; k++) {
        lf_model *m;
        lf_model_create(&m, 5);
        int x = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
        int e = lf_embedding(m, x, 5, 2, k != 2, "emb");
        int h = k == 0 ? lf_identity(m, e, "id") : e;
        int o = lf_global_average_pooling1d(m, h, NULL);
        CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
        const float *xs[1] = {(float[]){3, 1, 0, 0}};
        CHECK(lf_model_predict(m, xs, 1, out[k]) == LF_OK, "%s", lf_model_error(m));
        lf_model_free(m);
    }
    CHECK(memcmp(out[0], out[1], sizeof out[0]) == 0, "Identity keeps the mask: %g %g vs %g %g", (double)out[0][0],
          (double)out[0][1], (double)out[1][0], (double)out[1][1]);
    CHECK(out[0][0] != out[2][0], "the mask matters here: %g vs %g", (double)out[0][0], (double)out[2][0]);
}

/* a 3-D U-Net-like branch: the summary's shapes, a model file round trip
 * predicting the same bits after training, Keras' fields in the file */
static void test_roundtrip(void) {
    enum { N = 6, NX = 3 * 4 * 4 * 2 };
    lf_model *m;
    lf_model_create(&m, 7);
    int x = lf_input_shape(m, 4, (size_t[]){3, 4, 4, 2}, LF_DTYPE_FLOAT32, "video");
    int p = lf_zero_padding3d(m, x, 1, 0, 2, 1, 0, 1, "pad");
    int c = lf_conv3d(m, p, 3, 2, 2, 2, 1, 1, 1, LF_PADDING_VALID, LF_ACT_RELU, 1, "conv");
    int cr = lf_cropping3d(m, c, 0, 1, 1, 1, 1, 0, "crop");
    int up = lf_upsampling3d(m, cr, 2, 1, 3, "up");
    int id = lf_identity(m, up, "ident");
    int o = lf_dense(m, lf_global_average_pooling3d(m, id, NULL), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    char *s = summary_of(m);
    /* pad (4, 7, 5, 2); conv (3, 6, 4, 3); crop (2, 4, 3, 3); up (4, 4, 9, 3) */
    CHECK(has(s, "pad (ZeroPadding3D)                                (None, 4, 7, 5, 2)            0  video"),
          "summary:\n%s", s ? s : "");
    CHECK(has(s, "crop (Cropping3D)                                  (None, 2, 4, 3, 3)            0  conv"),
          "summary:\n%s", s ? s : "");
    CHECK(has(s, "up (UpSampling3D)                                  (None, 4, 4, 9, 3)            0  crop"),
          "summary:\n%s", s ? s : "");
    CHECK(has(s, "ident (Identity)                                   (None, 4, 4, 9, 3)            0  up"),
          "summary:\n%s", s ? s : "");
    free(s);

    float *xv = malloc(N * NX * sizeof *xv), t[N], y[N * 3], y2[N * 3];
    fill_uniform(xv, N * NX, -1, 1, 80);
    for (size_t r = 0; r < N; r++) t[r] = (float)(r % 3);
    const float *xs[1] = {xv};
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 2, fo.batch_size = 3;
    CHECK(lf_model_fit(m, xs, t, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    CHECK(lf_model_predict(m, xs, N, y) == LF_OK, "predict: %s", lf_model_error(m));
    char path[128], bad[160];
    snprintf(path, sizeof path, "%s/unet3d.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *l;
    lf_model_create(&l, 9);
    CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
    CHECK(lf_model_predict(l, xs, N, y2) == LF_OK && memcmp(y, y2, sizeof y) == 0, "loaded: the same bits");
    lf_model_free(l);

    lf_st_file sf;
    lf_err e;
    CHECK(lf_st_read(path, &sf, &e) == LF_OK, "%s", e.msg);
    const char *arch = lf_st_metadata(&sf, "architecture");
    const char *fields[] = {
        "\"name\":\"pad\",\"type\":\"ZeroPadding3D\",\"inbound\":[\"video\"],\"padding\":[[1,0],[2,1],[0,1]]",
        "\"name\":\"crop\",\"type\":\"Cropping3D\",\"inbound\":[\"conv\"],\"cropping\":[[0,1],[1,1],[1,0]]",
        "\"name\":\"up\",\"type\":\"UpSampling3D\",\"inbound\":[\"crop\"],\"size\":[2,1,3]",
        "\"name\":\"ident\",\"type\":\"Identity\",\"inbound\":[\"up\"]}",
    };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        CHECK(has(arch, fields[i]), "arch lacks %s:\n%s", fields[i], arch ? arch : "(none)");
    lf_st_free(&sf);

    /* the file's refusals */
    static const struct {
        const char *from, *to, *msg;
    } edits[] = {
        {"[[1,0],[2,1],[0,1]]", "[[1,0],[2,1],[0.1]]",
         "layer 'pad': 'padding' must be [[d0, d1], [h0, h1], [w0, w1]], integers in 0..268435456"},
        {"[[0,1],[1,1],[1,0]]", "[[0,1],[1,1],[1.5]]",
         "layer 'crop': 'cropping' must be [[d0, d1], [h0, h1], [w0, w1]], integers in 0..268435456"},
        {"[[0,1],[1,1],[1,0]]", "[[0,1],[1,1],[1,9]]",
         "Cropping3D: Values in `cropping` argument should be smaller than the corresponding spatial dimension of "
         "the input. Received: input_shape=(None, 3, 6, 4, 3), cropping=((0, 1), (1, 1), (1, 9))"},
        {"[2,1,3]", "[2,0,3]", "layer 'up': 'size' must be a list of 3..3 integers in 1..1024"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++)
        check_edit_refused(path, bad, edits[i].from, edits[i].to, edits[i].msg);
    unlink(bad);
    unlink(path);
    free(xv);
    lf_model_free(m);
}

static void test_refusals(void) {
    lf_model *e;
    lf_model_create(&e, 1);
    int x = lf_input_shape(e, 4, (size_t[]){4, 5, 6, 2}, LF_DTYPE_FLOAT32, "x");
    CHECK(lf_cropping3d(e, x, 2, 2, 2, 2, 0, 0, NULL) < 0 &&
              strcmp(lf_model_error(e),
                     "Cropping3D: Values in `cropping` argument should be smaller than the corresponding spatial "
                     "dimension of the input. Received: input_shape=(None, 4, 5, 6, 2), cropping=((2, 2), (2, 2), "
                     "(0, 0))") == 0,
          "cropping: %s", lf_model_error(e));
    lf_model_free(e);
    lf_model_create(&e, 1);
    x = lf_input_shape(e, 4, (size_t[]){4, 5, 6, 2}, LF_DTYPE_FLOAT32, "x");
    CHECK(lf_cropping3d(e, x, 0, 0, 0, 0, 3, 3, NULL) < 0 &&
              has(lf_model_error(e), "input_shape=(None, 4, 5, 6, 2), cropping=((0, 0), (0, 0), (3, 3))"),
          "cropping of the width: %s", lf_model_error(e));
    lf_model_free(e);
    lf_model_create(&e, 1);
    x = lf_input_shape(e, 4, (size_t[]){4, 5, 6, 2}, LF_DTYPE_FLOAT32, "x");
    CHECK(lf_upsampling3d(e, x, 2, 0, 2, NULL) < 0 &&
              strcmp(lf_model_error(e), "UpSampling3D: size must be in 1..1024, got (2, 0, 2)") == 0,
          "size 0: %s", lf_model_error(e));
    lf_model_free(e);
    lf_model_create(&e, 1);
    x = lf_input_shape(e, 3, (size_t[]){4, 4, 2}, LF_DTYPE_FLOAT32, "x");
    CHECK(lf_zero_padding3d(e, x, 1, 1, 1, 1, 1, 1, NULL) < 0 &&
              strcmp(lf_model_error(e), "ZeroPadding3D: input 'x' has shape (None, 4, 4, 2); it needs rank 5 "
                                        "(batch, frames, height, width, channels)") == 0,
          "rank: %s", lf_model_error(e));
    lf_model_free(e);
    lf_model_create(&e, 1);
    x = lf_input_shape(e, 4, (size_t[]){4, 5, 6, 2}, LF_DTYPE_FLOAT32, "x");
    CHECK(lf_zero_padding3d(e, x, 1, 1, 1, (size_t)1 << 40, 1, 1, NULL) < 0 &&
              strcmp(lf_model_error(e), "ZeroPadding3D: padding must be in 0..268435456, got ((1, 1), (1, "
                                        "1099511627776), (1, 1))") == 0,
          "huge padding: %s", lf_model_error(e));
    lf_model_free(e);
    lf_model_create(&e, 1);
    CHECK(lf_identity(e, 3, NULL) < 0 && has(lf_model_error(e), "Identity"), "Identity of no node: %s",
          lf_model_error(e));
    lf_model_free(e);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_spatial3d_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_by_hand();
    test_identity_mask();
    test_roundtrip();
    test_refusals();
    rmdir(tmpdir);
    return check_report("test_spatial3d");
}
