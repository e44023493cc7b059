/*
 * test_resizing.c — Keras 3's Resizing and CenterCrop (src/layers/resizing.c)
 * against values computed by hand: bilinear 2x2 -> 4x4 and 4x4 -> 2x2,
 * non-integer ratios both ways, nearest (half-pixel: PyTorch's
 * "nearest-exact", not its legacy "nearest"), crop_to_aspect_ratio's
 * window (Keras' truncations), CenterCrop's offsets with odd differences
 * and its resize of a smaller input; the builders' and the loader's
 * messages; a .lf round trip that predicts the same bits.  Gradients:
 * test_grad.c; PyTorch: test_golden.c.
 */
#include "check.h"
#include "engine_util.h"
#include "model_checks.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

enum { K_RESIZE_BILINEAR, K_RESIZE_NEAREST, K_RESIZE_CROP, K_CENTER_CROP, K_RESIZE_PAD, K_RESIZE_PAD_NEAREST };

#define PAD_FILL 9.0f /* K_RESIZE_PAD*'s fill_value */

/* One image x (H, W, 1) through one layer of `kind` to (th, tw): y */
static void run_one(int kind, size_t H, size_t W, const float *x, size_t th, size_t tw, float *y, const char *what) {
    lf_model *m;
    lf_model_create(&m, 1);
    int in = lf_input_shape(m, 3, (size_t[]){H, W, 1}, LF_DTYPE_FLOAT32, "x");
    lf_interpolation ip = kind == K_RESIZE_NEAREST || kind == K_RESIZE_PAD_NEAREST ? LF_INTERP_NEAREST
                                                                                  : LF_INTERP_BILINEAR;
    int l = kind == K_CENTER_CROP                             ? lf_center_crop(m, in, th, tw, "l")
            : kind == K_RESIZE_PAD || kind == K_RESIZE_PAD_NEAREST ? lf_resizing_pad(m, in, th, tw, ip, PAD_FILL, "l")
                                                              : lf_resizing(m, in, th, tw, ip, kind == K_RESIZE_CROP, "l");
    CHECK(lf_model_compile(m, lf_flatten(m, l, NULL), LF_LOSS_MSE, NULL) == LF_OK, "%s: %s", what,
          lf_model_error(m));
    const float *xs[1] = {x};
    CHECK(lf_model_predict(m, xs, 1, y) == LF_OK, "%s: %s", what, lf_model_error(m));
    lf_model_free(m);
}

static void expect(const float *y, const float *hand, size_t n, const char *what) {
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; i++)
        if (fabsf(y[i] - hand[i]) > 1e-6f) bad = i;
    CHECK(bad == n, "%s: y[%zu] = %.9g, by hand %.9g", what, bad, bad < n ? (double)y[bad] : 0.0,
          bad < n ? (double)hand[bad] : 0.0);
}

static void test_hand_values(void) {
    float y[64];
    /* bilinear 2x2 -> 4x4: per axis scale 1/2, sources -0.25 (clamped: 0), 0.25, 0.75, 1.25 (pixel 1
     * alone): weights (1, 0), (.75, .25), (.25, .75), (0, 1) */
    run_one(K_RESIZE_BILINEAR, 2, 2, (float[]){1, 2, 3, 4}, 4, 4, y, "bilinear 2x2 -> 4x4");
    expect(y,
           (float[]){1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f, 2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4}, 16,
           "bilinear 2x2 -> 4x4");
    /* bilinear 4x4 -> 2x2: scale 2, sources 0.5 and 2.5: the mean of each 2x2 block (no antialias) */
    float x16[16];
    for (int i = 0; i < 16; i++) x16[i] = (float)i;
    run_one(K_RESIZE_BILINEAR, 4, 4, x16, 2, 2, y, "bilinear 4x4 -> 2x2");
    expect(y, (float[]){2.5f, 4.5f, 10.5f, 12.5f}, 4, "bilinear 4x4 -> 2x2");
    /* non-integer ratios: 3 -> 2 columns (scale 1.5: sources 0.25, 1.75) of [1, 2, 4]: [1.25, 3.5];
     * 2 -> 3 (scale 2/3: sources -1/6 (0), 0.5, 7/6 (pixel 1 alone)) of [1, 2]: [1, 1.5, 2] */
    run_one(K_RESIZE_BILINEAR, 1, 3, (float[]){1, 2, 4}, 1, 2, y, "bilinear 3 -> 2");
    expect(y, (float[]){1.25f, 3.5f}, 2, "bilinear 3 -> 2");
    run_one(K_RESIZE_BILINEAR, 2, 1, (float[]){1, 2}, 3, 1, y, "bilinear 2 -> 3");
    expect(y, (float[]){1, 1.5f, 2}, 3, "bilinear 2 -> 3");
    /* nearest, floor((o + 0.5) scale): 3 -> 2 picks 0, 2 (legacy nearest floor(o scale): 0, 1);
     * 2 -> 3 picks 0, 1, 1 (legacy: 0, 0, 1); 2x2 -> 4x4 repeats */
    run_one(K_RESIZE_NEAREST, 3, 3, (float[]){1, 2, 3, 4, 5, 6, 7, 8, 9}, 2, 2, y, "nearest 3x3 -> 2x2");
    expect(y, (float[]){1, 3, 7, 9}, 4, "nearest 3x3 -> 2x2");
    run_one(K_RESIZE_NEAREST, 1, 2, (float[]){1, 2}, 1, 3, y, "nearest 2 -> 3");
    expect(y, (float[]){1, 2, 2}, 3, "nearest 2 -> 3");
    run_one(K_RESIZE_NEAREST, 2, 2, (float[]){1, 2, 3, 4}, 4, 4, y, "nearest 2x2 -> 4x4");
    expect(y, (float[]){1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 16, "nearest 2x2 -> 4x4");

    /* crop_to_aspect_ratio: 4x6 to 2x2: rows int(6 * 2 / 2) = 6 -> 4, columns int(4 * 2 / 2) = 4 from
     * int((6 - 4) / 2) = 1; then 4x4 -> 2x2, the block means of columns 1..4 of x = 6 r + c */
    float x24[24], x28[28];
    for (int i = 0; i < 28; i++) x28[i] = (float)i;
    memcpy(x24, x28, sizeof x24);
    run_one(K_RESIZE_CROP, 4, 6, x24, 2, 2, y, "crop_to_aspect_ratio 4x6 -> 2x2");
    expect(y, (float[]){4.5f, 6.5f, 16.5f, 18.5f}, 4, "crop_to_aspect_ratio 4x6 -> 2x2");
    /* 5x3 to 1x2: rows int(3 * 1 / 2) = 1 (truncated) from int((5 - 1) / 2) = 2, columns int(5 * 2 / 1) =
     * 10 -> 3; row 2 = [6, 7, 8] resized 3 -> 2 (sources 0.25, 1.75): [6.25, 7.75] */
    run_one(K_RESIZE_CROP, 5, 3, x24, 1, 2, y, "crop_to_aspect_ratio 5x3 -> 1x2");
    expect(y, (float[]){6.25f, 7.75f}, 2, "crop_to_aspect_ratio 5x3 -> 1x2");
    /* an odd difference: 4x7 to 2x2: columns int(4 * 2 / 2) = 4 from int((7 - 4) / 2) = 1 (not 2); the
     * block means of columns 1..4 of x = 7 r + c */
    run_one(K_RESIZE_CROP, 4, 7, x28, 2, 2, y, "crop_to_aspect_ratio 4x7 -> 2x2");
    expect(y, (float[]){5, 7, 19, 21}, 4, "crop_to_aspect_ratio 4x7 -> 2x2");
    /* without it the same 5x3 -> 1x2 reads all rows: rows scale 5, source 2 (pixel 2 alone), the same
     * here; 4x6 -> 2x2 reads column blocks 0..2 and 3..5: sources 1 and 4 */
    run_one(K_RESIZE_BILINEAR, 4, 6, x24, 2, 2, y, "no crop 4x6 -> 2x2");
    expect(y, (float[]){4, 7, 16, 19}, 4, "no crop 4x6 -> 2x2");

    /* pad_to_aspect_ratio (fill 9): 2x4 -> 4x4: rows max(2, int(4 * 4 / 4)) = 4, int((4 - 2) / 2) = 1 row of
     * fill above and below; the padded 4x4 resized to 4x4 is itself (bilinear and nearest) */
    const float padded[16] = {9, 9, 9, 9, 0, 1, 2, 3, 4, 5, 6, 7, 9, 9, 9, 9};
    run_one(K_RESIZE_PAD, 2, 4, x24, 4, 4, y, "pad_to_aspect_ratio 2x4 -> 4x4");
    expect(y, padded, 16, "pad_to_aspect_ratio 2x4 -> 4x4");
    run_one(K_RESIZE_PAD_NEAREST, 2, 4, x24, 4, 4, y, "pad_to_aspect_ratio nearest 2x4 -> 4x4");
    expect(y, padded, 16, "pad_to_aspect_ratio nearest 2x4 -> 4x4");
    /* 4x2 -> 2x2: columns max(2, int(4 * 2 / 2)) = 4, 1 column of fill left and right; the padded 4x4 of x =
     * 2 r + c to 2x2 (sources 0.5, 2.5): the means of its 2x2 blocks, (9 + 0 + 9 + 2) / 4 = 5, (1 + 9 + 3 +
     * 9) / 4 = 5.5, (9 + 4 + 9 + 6) / 4 = 7, (5 + 9 + 7 + 9) / 4 = 7.5 */
    run_one(K_RESIZE_PAD, 4, 2, x24, 2, 2, y, "pad_to_aspect_ratio 4x2 -> 2x2");
    expect(y, (float[]){5, 5.5f, 7, 7.5f}, 4, "pad_to_aspect_ratio 4x2 -> 2x2");
    /* 3x4 -> 4x4: rows int((4 - 3) / 2) = 0 and columns max(4, int(3 * 4 / 4)) = 4: no padding (Keras'
     * truncation), a stretch of rows 3 -> 4 (sources 0, 0.625, 1.375, 2) of x = 4 r + c */
    run_one(K_RESIZE_PAD, 3, 4, x24, 4, 4, y, "pad_to_aspect_ratio 3x4 -> 4x4");
    expect(y, (float[]){0, 1, 2, 3, 2.5f, 3.5f, 4.5f, 5.5f, 5.5f, 6.5f, 7.5f, 8.5f, 8, 9, 10, 11}, 16,
           "pad_to_aspect_ratio 3x4 -> 4x4");

    /* CenterCrop 5x6 -> 2x3: differences 3 and 3, starts 3 // 2 = 1 (the odd pixel below / right):
     * rows 1..2, columns 1..3 of x = 6 r + c */
    run_one(K_CENTER_CROP, 5, 6, x24, 2, 3, y, "CenterCrop 5x6 -> 2x3");
    expect(y, (float[]){7, 8, 9, 13, 14, 15}, 6, "CenterCrop 5x6 -> 2x3");
    /* 4x5 -> 1x2: starts 3 // 2 = 1 and 3 // 2 = 1: x = 5 r + c, row 1, columns 1..2 */
    run_one(K_CENTER_CROP, 4, 5, x24, 1, 2, y, "CenterCrop 4x5 -> 1x2");
    expect(y, (float[]){6, 7}, 2, "CenterCrop 4x5 -> 1x2");
    /* a smaller input (smart_resize): 2x4 -> 4x4: rows int(4 * 4 / 4) = 4 -> 2, columns int(2 * 4 / 4) = 2
     * from 1: [[1, 2], [5, 6]] of x = 4 r + c, resized bilinearly to 4x4 */
    run_one(K_CENTER_CROP, 2, 4, x24, 4, 4, y, "CenterCrop 2x4 -> 4x4");
    expect(y, (float[]){1, 1.25f, 1.75f, 2, 2, 2.25f, 2.75f, 3, 4, 4.25f, 4.75f, 5, 5, 5.25f, 5.75f, 6}, 16,
           "CenterCrop 2x4 -> 4x4");
    /* taller than the target, narrower: 6x2 -> 3x3: rows int(2 * 3 / 3) = 2 from 2, columns 2: rows 2..3
     * of x = 2 r + c ([[4, 5], [6, 7]]), 2 -> 3 per axis: (1, 0), (.5, .5), (0, 1) */
    run_one(K_CENTER_CROP, 6, 2, x24, 3, 3, y, "CenterCrop 6x2 -> 3x3");
    expect(y, (float[]){4, 4.5f, 5, 5, 5.5f, 6, 6, 6.5f, 7}, 9, "CenterCrop 6x2 -> 3x3");
}

static void refused(int which, const char *want) {
    lf_model *e;
    lf_model_create(&e, 1);
    int x = lf_input_shape(e, which == 3 ? 2 : 3, (size_t[]){4, 4, 2}, LF_DTYPE_FLOAT32, "x");
    int id = which == 0   ? lf_resizing(e, x, 0, 4, LF_INTERP_BILINEAR, 0, NULL)
             : which == 1 ? lf_resizing(e, x, 2, 2, (lf_interpolation)7, 0, NULL)
             : which == 2 ? lf_center_crop(e, x, 3, 0, NULL)
             : which == 3 ? lf_center_crop(e, x, 2, 2, NULL)
                          : lf_resizing_pad(e, x, 2, 2, LF_INTERP_BILINEAR, NAN, NULL);
    CHECK(id < 0 && strcmp(lf_model_error(e), want) == 0, "refusal %d: %s", which, lf_model_error(e));
    lf_model_free(e);
}

static void test_errors(void) {
    refused(0, "Resizing: height and width must be in 1..268435456, got (0, 4)");
    refused(1, "Resizing: unknown interpolation 7");
    refused(2, "CenterCrop: height and width must be in 1..268435456, got (3, 0)");
    refused(3, "CenterCrop: input 'x' has shape (None, 4, 4); it needs rank 4 (batch, height, width, channels)");
    refused(4, "Resizing: fill_value must be finite");
}

/* Resizing (nearest, crop_to_aspect_ratio) -> Conv2D, CenterCrop -> Conv2D,
 * a default Resizing: fit, save, load, the same predictions bit for bit;
 * only the non-default fields written; bad fields refused on load */
static void test_round_trip(void) {
    enum { N = 8, H = 7, W = 9, C = 2, D = H * W * C };
    lf_model *m;
    lf_model_create(&m, 3);
    int x = lf_input_shape(m, 3, (size_t[]){H, W, C}, LF_DTYPE_FLOAT32, "img");
    int a = lf_resizing(m, x, 4, 6, LF_INTERP_NEAREST, 1, "rs_n");
    int b = lf_center_crop(m, x, 5, 4, "cc");
    int d = lf_resizing(m, x, 10, 5, LF_INTERP_BILINEAR, 0, NULL);
    /* a fill_value of 14 characters: the edits below swap its field for crop_to_aspect_ratio */
    int pd = lf_resizing_pad(m, x, 3, 2, LF_INTERP_BILINEAR, -0.00012345678f, "rs_pad");
    int ca = lf_conv2d(m, a, 2, 3, 3, 1, 1, LF_PADDING_VALID, LF_ACT_RELU, 1, NULL);
    int cb = lf_conv2d(m, b, 2, 3, 3, 1, 1, LF_PADDING_VALID, LF_ACT_RELU, 1, NULL);
    int cat = lf_concatenate(m, 4,
                             (int[]){lf_flatten(m, ca, NULL), lf_flatten(m, cb, NULL), lf_flatten(m, d, NULL),
                                     lf_flatten(m, pd, NULL)},
                             NULL);
    int out = lf_dense(m, cat, 3, LF_ACT_LINEAR, 1, NULL);
    CHECK(lf_model_compile(m, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    float *xin = malloc(N * D * sizeof *xin), y[N];
    fill_uniform(xin, N * D, -1, 1, 7);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
    const float *xs[1] = {xin};
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 2, fo.batch_size = 4;
    CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    char path[128], bad[160];
    snprintf(path, sizeof path, "%s/resizing.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    CHECK(lf_model_save(m, path, LF_SAVE_OPTIMIZER) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *l;
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
    float p1[N * 3], p2[N * 3];
    CHECK(lf_model_predict(m, xs, N, p1) == LF_OK && lf_model_predict(l, xs, N, p2) == LF_OK, "predict");
    CHECK(memcmp(p1, p2, sizeof p1) == 0, "the loaded model predicts differently");
    lf_model_free(l);
    lf_st_file f;
    lf_err e;
    CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
    const char *arch = lf_st_metadata(&f, "architecture");
    const char *fields[] = {
        ("\"name\":\"rs_n\",\"type\":\"Resizing\",\"inbound\":[\"img\"],\"height\":4,\"width\":6,"
         "\"interpolation\":\"nearest\",\"crop_to_aspect_ratio\":true}"),
        "\"name\":\"cc\",\"type\":\"CenterCrop\",\"inbound\":[\"img\"],\"height\":5,\"width\":4}",
        "\"name\":\"resizing\",\"type\":\"Resizing\",\"inbound\":[\"img\"],\"height\":10,\"width\":5}",
        ("\"name\":\"rs_pad\",\"type\":\"Resizing\",\"inbound\":[\"img\"],\"height\":3,\"width\":2,"
         "\"pad_to_aspect_ratio\":true,\"fill_value\":-0.00012345678}"),
    };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        CHECK(has(arch, fields[i]), "arch lacks %s:\n%s", fields[i], arch ? arch : "(none)");
    lf_st_free(&f);
    /* bad fields: the loader's messages, whole after "'<path>': architecture: " */
    static const char *const edits[][3] = {
        {"interpolation\\\":\\\"nearest", "interpolation\\\":\\\"bicubic",
         "layer 'rs_n': 'interpolation' must be \"bilinear\" or \"nearest\""},
        {"crop_to_aspect_ratio\\\":true", "crop_to_aspect_ratio\\\":7777", "layer 'rs_n': 'crop_to_aspect_ratio' must be true or false"},
        {"height\\\":5,", "height\\\":0,", "layer 'cc': 'height' must be an integer in 1..268435456"},
        {"width\\\":5}", "widtx\\\":5}", "layer 'resizing': unknown field 'widtx'"},
        {"\\\"fill_value\\\":-0.00012345678", "\\\"crop_to_aspect_ratio\\\":true",
         "layer 'rs_pad': Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`."},
        {"-0.00012345678", "1e99          ", "layer 'rs_pad': 'fill_value' must be a finite number"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
        CHECK(check_edit_file(path, bad, edits[i][0], edits[i][1]), "edit %zu", i);
        lf_model_create(&l, 0);
        char want[256];
        snprintf(want, sizeof want, "'%s': architecture: %s", bad, edits[i][2]);
        CHECK(lf_model_load(l, bad) != LF_OK && strcmp(lf_model_error(l), want) == 0, "edit %zu: %s", i,
              lf_model_error(l));
        lf_model_free(l);
    }
    unlink(bad);
    unlink(path);
    lf_model_free(m);
    free(xin);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_resizing_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_hand_values();
    test_errors();
    test_round_trip();
    rmdir(tmpdir);
    return check_report("test_resizing");
}
