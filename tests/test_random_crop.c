/*
 * test_random_crop.c — Keras 3's RandomCrop (src/layers/random_crop.c) and
 * SpatialDropout3D (src/layers/noise.c), the drawn layers of their round.
 *
 * RandomCrop: a training pass's output is the window of (height, width)
 * pixels at the offsets computed here from the same draws (int(u (H -
 * height + 1)), one window for the whole batch, as Keras); over many keys
 * every offset occurs; the same key the same bits, rows 10.. alone as in
 * the batch; Keras' training fallback (an image not larger than the target:
 * a slice from the aspect window's start, then a plain bilinear resize) the
 * bits of Cropping2D -> Resizing, or a centred slice; inference the bits of
 * Resizing(crop_to_aspect_ratio=True); the builder's and the loader's exact
 * messages; a .lf round trip that draws and predicts the same bits.
 * SpatialDropout3D: whole channels of a volume zeroed, the rest x / (1 -
 * rate), the dropped fraction near the rate; inference the identity; its
 * errors; its file.  Gradients: test_grad.c.
 */
#include "check.h"
#include "engine_util.h"
#include "augment_util.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

/* x (H, W, C) -> RandomCrop(th, tw) "crop" -> Flatten -> Dense "o"; *node
 * the crop's */
static lf_model *crop_model(size_t H, size_t W, size_t C, size_t th, size_t tw, int *node) {
    lf_model *m;
    int x = aug_input(&m, H, W, C);
    *node = lf_random_crop(m, x, th, tw, "crop");
    CHECK(*node > 0, "RandomCrop: %s", lf_model_error(m));
    return aug_finish(m, *node);
}

/* The rows of a drawn pass of node over N images x (H, W, C) each equal
 * x's window (top, left) of (th, tw): 1 when every row does */
static int is_window(const float *y, const float *x, size_t N, size_t H, size_t W, size_t C, size_t th, size_t tw,
                     size_t top, size_t left) {
    for (size_t r = 0; r < N; r++)
        for (size_t i = 0; i < th; i++)
            for (size_t j = 0; j < tw * C; j++)
                if (y[(r * th + i) * tw * C + j] != x[r * H * W * C + ((top + i) * W + left) * C + j]) return 0;
    return 1;
}

static void test_training_windows(void) {
    enum { N = 16, H = 5, W = 7, C = 2, TH = 3, TW = 4, D = H * W * C };
    float x[N * D];
    fill_uniform(x, N * D, -1, 1, 3);
    int node;
    lf_model *m = crop_model(H, W, C, TH, TW, &node);
    lf_ws a;
    lf_ws_init(&a, m, N, 0, NULL, 0);
    const float *xs[1] = {x};
    int seen[H - TH + 1][W - TW + 1];
    memset(seen, 0, sizeof seen);
    size_t wrong = 0;
    for (uint64_t step = 0; step < 200; step++) {
        lf_draws k = {lf_draw_key(21, 0, step), 0};
        lf_graph_forward_drawn(m, &a, xs, N, 1, &k);
        /* the offsets by hand from the node's draws 0 and 1 (its draw id 0, the stream of row 0) */
        uint64_t s = lf_draw_stream(k.key, 0, 0);
        size_t top = (size_t)(lf_draw_uniform(s, 0) * (float)(H - TH + 1));
        size_t left = (size_t)(lf_draw_uniform(s, 1) * (float)(W - TW + 1));
        if (!is_window(a.out[node], x, N, H, W, C, TH, TW, top, left)) wrong++;
        else seen[top][left]++;
        if (step == 0) { /* the same key, the same bits; rows 10.. alone (row0 10): the same window */
            lf_ws b;
            lf_ws_init(&b, m, N, 0, NULL, 0);
            const float *xp[1] = {x + 10 * D};
            lf_draws k10 = {k.key, 10};
            lf_graph_forward_drawn(m, &b, xs, N, 1, &k);
            CHECK(memcmp(a.out[node], b.out[node], N * TH * TW * C * sizeof(float)) == 0,
                  "RandomCrop: the same key, the same bits");
            lf_graph_forward_drawn(m, &b, xp, N - 10, 1, &k10);
            CHECK(memcmp(a.out[node] + 10 * TH * TW * C, b.out[node], (N - 10) * TH * TW * C * sizeof(float)) == 0,
                  "RandomCrop: rows 10.. alone (row0 10) as in the whole batch");
            lf_ws_free(&b);
        }
    }
    CHECK(wrong == 0, "RandomCrop: %zu of 200 passes are not the window of their draws", wrong);
    size_t unseen = 0;
    for (int i = 0; i < H - TH + 1; i++)
        for (int j = 0; j < W - TW + 1; j++) unseen += seen[i][j] == 0;
    CHECK(unseen == 0, "RandomCrop: %zu of the 12 offsets never drawn in 200 passes", unseen);
    lf_ws_free(&a);
    lf_model_free(m);
}

/* The output of node in a pass of model m over the N images x: y (new) */
static float *pass(lf_model *m, int node, const float *x, size_t N, int training, uint64_t key) {
    lf_ws a;
    lf_ws_init(&a, m, N, 0, NULL, 0);
    const float *xs[1] = {x};
    lf_draws k = {key, 0};
    lf_graph_forward_drawn(m, &a, xs, N, training, training ? &k : NULL);
    size_t n = N * m->nodes[node].dim;
    float *y = malloc(n * sizeof *y);
    memcpy(y, a.out[node], n * sizeof *y);
    lf_ws_free(&a);
    return y;
}

/* Keras' fallback in training and the inference pass, against the layers
 * that compute them (the same bits) */
static void test_fallback_and_inference(void) {
    enum { N = 3, H = 8, W = 16, C = 3, D = H * W * C };
    float x[N * D];
    fill_uniform(x, N * D, -1, 1, 5);
    uint64_t key = lf_draw_key(4, 0, 1);
    /* target 10 x 8 (Keras' test_predicting_with_longer_height): aspect window rows 8, columns int(8 * 8 / 10)
     * = 6 from int((16 - 6) / 2) = 5; Keras slices x[0:10, 5:13] (8 x 8) and resizes it to 10 x 8 */
    int node;
    lf_model *m = crop_model(H, W, C, 10, 8, &node);
    float *y = pass(m, node, x, N, 1, key);
    lf_model *r;
    int in = aug_input(&r, H, W, C);
    int rn = lf_resizing(r, lf_cropping2d(r, in, 0, 0, 5, 3, NULL), 10, 8, LF_INTERP_BILINEAR, 0, "r");
    aug_finish(r, rn);
    float *want = pass(r, rn, x, N, 0, 0);
    CHECK(memcmp(y, want, N * 10 * 8 * C * sizeof *y) == 0,
          "RandomCrop 8x16 -> 10x8 in training: not Cropping2D(5, 3) -> Resizing(10, 8)'s bits");
    free(y), free(want), lf_model_free(r);
    /* inference: Resizing(10, 8, crop_to_aspect_ratio=True) */
    y = pass(m, node, x, N, 0, 0);
    in = aug_input(&r, H, W, C);
    rn = lf_resizing(r, in, 10, 8, LF_INTERP_BILINEAR, 1, "r");
    aug_finish(r, rn);
    want = pass(r, rn, x, N, 0, 0);
    CHECK(memcmp(y, want, N * 10 * 8 * C * sizeof *y) == 0,
          "RandomCrop 8x16 -> 10x8 at inference: not Resizing(crop_to_aspect_ratio)'s bits");
    free(y), free(want), lf_model_free(r), lf_model_free(m);
    /* target 8 x 8 of 8 x 16 (H not larger: no draw): the centred slice x[:, 4:12] in training; at
     * inference Resizing(8, 8, crop_to_aspect_ratio) of the same window, here the same values */
    m = crop_model(H, W, C, 8, 8, &node);
    y = pass(m, node, x, N, 1, key);
    CHECK(is_window(y, x, N, H, W, C, 8, 8, 0, 4), "RandomCrop 8x16 -> 8x8 in training: not the slice [0:8, 4:12]");
    free(y);
    y = pass(m, node, x, N, 0, 0);
    in = aug_input(&r, H, W, C);
    rn = lf_resizing(r, in, 8, 8, LF_INTERP_BILINEAR, 1, "r");
    aug_finish(r, rn);
    want = pass(r, rn, x, N, 0, 0);
    CHECK(memcmp(y, want, N * 8 * 8 * C * sizeof *y) == 0,
          "RandomCrop 8x16 -> 8x8 at inference: not Resizing(crop_to_aspect_ratio)'s bits");
    CHECK(is_window(y, x, N, H, W, C, 8, 8, 0, 4), "RandomCrop 8x16 -> 8x8 at inference: not the slice [0:8, 4:12]");
    free(y), free(want), lf_model_free(r), lf_model_free(m);
    /* the target's own size: the identity in training and at inference */
    m = crop_model(H, W, C, H, W, &node);
    y = pass(m, node, x, N, 1, key);
    CHECK(memcmp(y, x, N * D * sizeof *y) == 0, "RandomCrop to the input's size: not the identity in training");
    free(y);
    y = pass(m, node, x, N, 0, 0);
    CHECK(memcmp(y, x, N * D * sizeof *y) == 0, "RandomCrop to the input's size: not the identity at inference");
    free(y), lf_model_free(m);
}

static void test_crop_errors(void) {
    lf_model *m;
    int x = aug_input(&m, 4, 4, 1);
    CHECK(lf_random_crop(m, x, 0, 4, NULL) == -1 &&
              strcmp(lf_model_error(m), "RandomCrop: height and width must be in 1..268435456, got (0, 4)") == 0,
          "%s", lf_model_error(m));
    lf_model_free(m);
    lf_model_create(&m, 1);
    x = lf_input(m, 12, "x");
    CHECK(lf_random_crop(m, x, 2, 2, NULL) == -1 &&
              strcmp(lf_model_error(m), "RandomCrop: input 'x' has shape (None, 12); it needs rank 4 "
                                        "(batch, height, width, channels)") == 0,
          "%s", lf_model_error(m));
    lf_model_free(m);
}

static void test_crop_file(void) {
    enum { N = 20, H = 6, W = 5, C = 2, D = H * W * C };
    float x[N * D];
    fill_uniform(x, N * D, -1, 1, 9);
    char path[96], bad[96];
    snprintf(path, sizeof path, "%s/crop.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    int node;
    lf_model *m = crop_model(H, W, C, 3, 4, &node);
    lf_draws k = {lf_draw_key(9, 0, 0), 0};
    aug_check_file(m, node, "crop", path, x, N, 3 * 4 * C, 0, &k,
                   "\"type\":\"RandomCrop\",\"inbound\":[\"x\"],\"height\":3,\"width\":4", "RandomCrop");
    /* predict through the file: the same bits */
    float p1[N], p2[N];
    const float *xs[1] = {x};
    CHECK(lf_model_predict(m, xs, N, p1) == LF_OK, "%s", lf_model_error(m));
    lf_model *l;
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, path) == LF_OK && lf_model_predict(l, xs, N, p2) == LF_OK &&
              memcmp(p1, p2, sizeof p1) == 0,
          "RandomCrop: the loaded model predicts other bits (%s)", lf_model_error(l));
    lf_model_free(l);
    aug_check_file_refusal(path, bad, "crop", 0, "height\\\":3", "height\\\":0",
                           "'height' must be an integer in 1..268435456", 1);
    aug_check_file_refusal(path, bad, "crop", 1, "width\\\":4", "width\\\":0",
                           "'width' must be an integer in 1..268435456", 1);
    lf_model_free(m);
    remove(path), remove(bad);
}

/* ------------------------------------------------------- SpatialDropout3D */

enum { SD = 2, SH = 3, SW = 2, SC = 5, SDIM = SD * SH * SW * SC };

static lf_model *sd3_model(float rate, int *node) {
    lf_model *m;
    lf_model_create(&m, 3);
    int x = lf_input_shape(m, 4, (size_t[]){SD, SH, SW, SC}, LF_DTYPE_FLOAT32, "x");
    *node = lf_spatial_dropout3d(m, x, rate, "noise");
    CHECK(*node > 0 && lf_model_compile(m, *node, LF_LOSS_MSE, NULL) == LF_OK, "SpatialDropout3D: %s",
          lf_model_error(m));
    return m;
}

static void test_spatial3d(void) {
    enum { N = 400, S = SDIM / SC };
    const float rate = 0.3f, keep = 1.0f / (1.0f - rate);
    float *x = malloc(N * SDIM * sizeof *x);
    fill_uniform(x, N * SDIM, 0.5f, 2.0f, 8); /* no zero: a 0 output is a dropped value */
    int node;
    lf_model *m = sd3_model(rate, &node);
    aug_check_identity(m, node, x, N, SDIM, "SpatialDropout3D");
    lf_draws k = {lf_draw_key(5, 1, 2), 0};
    lf_ws a;
    lf_ws_init(&a, m, N, 0, NULL, 0);
    const float *xs[1] = {x};
    lf_graph_forward_drawn(m, &a, xs, N, 1, &k);
    size_t dropped = 0, mixed = 0, bad = 0;
    for (size_t r = 0; r < N; r++)
        for (size_t c = 0; c < SC; c++) {
            size_t zeros = 0;
            for (size_t t = 0; t < S; t++) {
                size_t i = (r * S + t) * SC + c;
                float y = a.out[node][i];
                if (y == 0.0f) zeros++;
                else if (y != x[i] * keep) bad++;
            }
            if (zeros == S) dropped++;
            else if (zeros) mixed++;
        }
    double frac = dropped / (double)(N * SC), sd = sqrt(rate * (1 - rate) / (N * SC));
    CHECK(mixed == 0, "SpatialDropout3D: %zu channels dropped at some voxels only", mixed);
    CHECK(bad == 0, "SpatialDropout3D: %zu kept values not x / (1 - rate)", bad);
    CHECK(fabs(frac - rate) < 4 * sd, "SpatialDropout3D: dropped channels %.4f, want %.1f +- %.4f", frac,
          (double)rate, 4 * sd);
    aug_check_same_draws(m, &a, node, x, N, SDIM, &k, "SpatialDropout3D");
    lf_ws_free(&a);
    /* the file: the same draws and bits; a rate out of range refused */
    char path[96], bad_path[96];
    snprintf(path, sizeof path, "%s/sd3.lf", tmpdir);
    snprintf(bad_path, sizeof bad_path, "%s/bad.lf", tmpdir);
    lf_model_free(m);
    m = sd3_model(0.25f, &node);
    aug_check_file(m, node, "noise", path, x, 20, SDIM, SC, &k,
                   "\"type\":\"SpatialDropout3D\",\"inbound\":[\"x\"],\"rate\":0.25", "SpatialDropout3D");
    aug_check_file_refusal(path, bad_path, "noise", 0, "rate\\\":0.25", "rate\\\":1.25",
                           "'rate' must be a finite number in [0, 1)", 0);
    lf_model_free(m);
    remove(path), remove(bad_path);
    free(x);
    /* errors */
    lf_model_create(&m, 1);
    int xi = lf_input_shape(m, 4, (size_t[]){SD, SH, SW, SC}, LF_DTYPE_FLOAT32, "x");
    CHECK(lf_spatial_dropout3d(m, xi, 1.0f, NULL) == -1 &&
              strcmp(lf_model_error(m), "SpatialDropout3D rate must be in [0, 1), got 1") == 0,
          "%s", lf_model_error(m));
    lf_model_free(m);
    lf_model_create(&m, 1);
    xi = lf_input_shape(m, 3, (size_t[]){3, 4, 2}, LF_DTYPE_FLOAT32, "x");
    CHECK(lf_spatial_dropout3d(m, xi, 0.5f, NULL) == -1 &&
              strcmp(lf_model_error(m), "SpatialDropout3D: input 'x' has shape (None, 3, 4, 2); it needs rank 5 "
                                        "(batch, frames, height, width, channels)") == 0,
          "%s", lf_model_error(m));
    lf_model_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_crop_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_training_windows();
    test_fallback_and_inference();
    test_crop_errors();
    test_crop_file();
    test_spatial3d();
    rmdir(tmpdir);
    return check_report("test_random_crop");
}
