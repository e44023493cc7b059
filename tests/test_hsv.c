/*
 * test_hsv.c — RandomSaturation, RandomHue and RandomColorDegeneration
 * against Keras 3's rules (keras/src/layers/preprocessing/
 * image_preprocessing/random_saturation.py, random_hue.py,
 * random_color_degeneration.py; rgb_to_hsv, hsv_to_rgb and
 * rgb_to_grayscale of keras/src/backend/numpy/image.py): pixels worked
 * out by hand; each image's draw (the layer's aux) as Keras' formula of
 * the row's uniform numbers, and the output Keras' rule recomputed in
 * double from it; the inference pass the identity; the gradient of the
 * maps by central differences away from their kinks; the same bits from
 * the same key in any part of a batch and on 1 and 2 threads; save/load
 * (check_reload, the file's fields) and the file's and the builders'
 * refusals.  No PyTorch golden file: torch has no such layers.
 */
#include "check.h"
#include "engine_util.h"
#include "augment_util.h"
#include "model_checks.h"

#include <float.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

static const char *const names[] = {"RandomSaturation", "RandomHue", "RandomColorDegeneration"};

/* ---- Keras' rules in double */

static double clipd(double v, double lo, double hi) { return fmin(fmax(v, lo), hi); }

/* rgb_to_hsv (numpy backend: dm_pix's formulas) */
static void ref_rgb_to_hsv(const double *p0, double *hsv) {
    double p[3];
    for (int c = 0; c < 3; c++) p[c] = fabs(p0[c]) < FLT_EPSILON ? 0.0 : p0[c];
    double r = p[0], g = p[1], b = p[2], v = fmax(fmax(r, g), b), mn = fmin(fmin(r, g), b), range = v - mn;
    double norm = 1.0 / (6.0 * (range > 0 ? range : 1.0));
    double h = v == g ? norm * (b - r) + 2.0 / 6.0 : norm * (r - g) + 4.0 / 6.0;
    if (v == r) h = norm * (g - b);
    hsv[0] = (range > 0 ? h : 0.0) + (h < 0.0 ? 1.0 : 0.0);
    hsv[1] = v > 0 ? range / v : 0.0;
    hsv[2] = v;
}

/* hsv_to_rgb */
static void ref_hsv_to_rgb(const double *hsv, double *rgb) {
    double dh = (hsv[0] - floor(hsv[0])) * 6.0, s = hsv[1], v = hsv[2];
    double d[3] = {clipd(fabs(dh - 3.0) - 1.0, 0, 1), clipd(2.0 - fabs(dh - 2.0), 0, 1),
                   clipd(2.0 - fabs(dh - 4.0), 0, 1)};
    for (int c = 0; c < 3; c++) rgb[c] = v * (1.0 - s + s * d[c]);
}

/* one image of HW pixels, C channels, by Keras' rule for the draw k */
static void keras_rule(int op, size_t HW, size_t C, double k, const float *vr, const float *x, double *y) {
    for (size_t i = 0; i < HW; i++) {
        double p[3], hsv[3];
        for (size_t c = 0; c < C; c++) p[c] = x[i * C + c];
        if (op == 2) {
            double gray = C == 3 ? 0.2989 * p[0] + 0.5870 * p[1] + 0.1140 * p[2] : p[0];
            for (size_t c = 0; c < C; c++) y[i * C + c] = clipd(p[c] + k * (gray - p[c]), vr[0], vr[1]);
            continue;
        }
        if (op == 0) {
            ref_rgb_to_hsv(p, hsv);
            hsv[1] = clipd(hsv[1] * k, vr[0], vr[1]);
            ref_hsv_to_rgb(hsv, y + i * C);
            continue;
        }
        for (int c = 0; c < 3; c++) p[c] = (p[c] - vr[0]) / ((double)vr[1] - vr[0]);
        ref_rgb_to_hsv(p, hsv);
        double h = hsv[0] + k;
        h = h > 1.0 ? h - 1.0 : h;
        hsv[0] = h < 0.0 ? h + 1.0 : h;
        double rgb[3];
        ref_hsv_to_rgb(hsv, rgb);
        for (int c = 0; c < 3; c++) y[i * C + c] = clipd(rgb[c], 0, 1) * ((double)vr[1] - vr[0]) + vr[0];
    }
}

static int add_layer(lf_model *m, int op, int x, float lo, float hi, float v0, float v1, const char *name) {
    return op == 0   ? lf_random_saturation(m, x, lo, hi, v0, v1, name)
           : op == 1 ? lf_random_hue(m, x, lo, hi, v0, v1, name)
                     : lf_random_color_degeneration(m, x, lo, hi, v0, v1, name);
}

/* x (H, W, C) -> the layer ("aug") -> Flatten -> Dense */
static lf_model *one_layer(int op, float lo, float hi, float v0, float v1, size_t H, size_t W, size_t C, int *node) {
    lf_model *m;
    int x = aug_input(&m, H, W, C);
    *node = add_layer(m, op, x, lo, hi, v0, v1, "aug");
    return aug_finish(m, *node);
}

/* Pixels worked out by hand from Keras' formulas. */
static void test_hand(void) {
    const float vr255[2] = {0, 255}, vr01[2] = {0, 1};
    float y[6];
    /* degeneration by 0.5 of (200, 100, 50): gray = 59.78 + 58.7 + 5.7 =
     * 124.18, y = x + (gray - x) / 2; (10, 250, 0) by 1: the gray 149.739
     * thrice; by -1 (a negative blend, clipped): 2 x - gray */
    float x1[6] = {200, 100, 50, 10, 250, 0};
    lf__hsv_image(LF_HSV_DEGENERATION, 1, 3, 0.5f, vr255, x1, y);
    CHECK(fabs(y[0] - 162.09) < 1e-4 && fabs(y[1] - 112.09) < 1e-4 && fabs(y[2] - 87.09) < 1e-4,
          "degeneration 0.5: (%g, %g, %g)", y[0], y[1], y[2]);
    lf__hsv_image(LF_HSV_DEGENERATION, 1, 3, 1.0f, vr255, x1 + 3, y);
    CHECK(fabs(y[0] - 149.739) < 1e-4 && fabs(y[1] - 149.739) < 1e-4 && fabs(y[2] - 149.739) < 1e-4,
          "degeneration 1: (%g, %g, %g)", y[0], y[1], y[2]);
    lf__hsv_image(LF_HSV_DEGENERATION, 1, 3, -1.0f, vr255, x1 + 3, y);
    CHECK(y[0] == 0.0f && y[1] == 255.0f && y[2] == 0.0f, "degeneration -1 clipped: (%g, %g, %g)", y[0], y[1], y[2]);
    /* saturation: (0.8, 0.4, 0.2) has V 0.8, S 0.75; k 0.5 makes S 0.375:
     * c = V (1 - S') + V S' (c - min) / range -> (0.8, 0.6, 0.5); k 2 makes
     * S 1.5, clipped to 1 in value_range (0, 1) -> (0.8, 0.26667, 0) */
    float x2[3] = {0.8f, 0.4f, 0.2f};
    lf__hsv_image(LF_HSV_SATURATION, 1, 3, 0.5f, vr01, x2, y);
    CHECK(fabs(y[0] - 0.8) < 1e-6 && fabs(y[1] - 0.6) < 1e-6 && fabs(y[2] - 0.5) < 1e-6,
          "saturation 0.5: (%g, %g, %g)", y[0], y[1], y[2]);
    lf__hsv_image(LF_HSV_SATURATION, 1, 3, 2.0f, vr01, x2, y);
    CHECK(fabs(y[0] - 0.8) < 1e-6 && fabs(y[1] - 0.8 / 3) < 1e-6 && fabs(y[2]) < 1e-6,
          "saturation 2 clipped: (%g, %g, %g)", y[0], y[1], y[2]);
    /* in value_range (0, 255) S is clipped to [0, 255]: S 1.5 is kept, the
     * blue channel goes negative, V (1 - 1.5) = -0.4 at 0.8 */
    lf__hsv_image(LF_HSV_SATURATION, 1, 3, 2.0f, vr255, x2, y);
    CHECK(fabs(y[2] + 0.4) < 1e-6 && fabs(y[1] - 0.8 * (1 - 1.5 + 1.5 / 3)) < 1e-6, "saturation 2 unclipped: (%g, %g, %g)",
          y[0], y[1], y[2]);
    /* hue: pure red (255, 0, 0) by +1/6 is yellow (255, 255, 0), by -1/6
     * magenta (255, 0, 255); (0, 0, 255) (H 2/3) by 1/2 is H 1/6 */
    float x3[6] = {255, 0, 0, 0, 0, 255};
    lf__hsv_image(LF_HSV_HUE, 1, 3, 1.0f / 6, vr255, x3, y);
    CHECK(fabs(y[0] - 255) < 1e-3 && fabs(y[1] - 255) < 1e-3 && fabs(y[2]) < 1e-3, "hue +1/6: (%g, %g, %g)", y[0],
          y[1], y[2]);
    lf__hsv_image(LF_HSV_HUE, 1, 3, -1.0f / 6, vr255, x3, y);
    CHECK(fabs(y[0] - 255) < 1e-3 && fabs(y[1]) < 1e-3 && fabs(y[2] - 255) < 1e-3, "hue -1/6: (%g, %g, %g)", y[0],
          y[1], y[2]);
    lf__hsv_image(LF_HSV_HUE, 1, 3, 0.5f, vr255, x3 + 3, y);
    CHECK(fabs(y[0] - 255) < 1e-3 && fabs(y[1] - 255) < 1e-3 && fabs(y[2]) < 1e-3, "hue wrapped: (%g, %g, %g)", y[0],
          y[1], y[2]);
    /* a grey pixel keeps its value through any hue or saturation */
    float x4[3] = {0.5f, 0.5f, 0.5f};
    lf__hsv_image(LF_HSV_HUE, 1, 3, 0.3f, vr01, x4, y);
    CHECK(y[0] == 0.5f && y[1] == 0.5f && y[2] == 0.5f, "hue of grey: (%g, %g, %g)", y[0], y[1], y[2]);
    /* one channel: degeneration is the clip only */
    float x5[2] = {300, 7};
    lf__hsv_image(LF_HSV_DEGENERATION, 2, 1, 0.7f, vr255, x5, y);
    CHECK(y[0] == 255.0f && y[1] == 7.0f, "degeneration, one channel: (%g, %g)", y[0], y[1]);
}

/* The draws and the values: per image Keras' draw from the row's uniform
 * numbers (saturation: f / (1 - f + 1e-7); hue: the sign from the first,
 * f / 2 from the second; degeneration: f), the output Keras' rule with
 * it; the same key the same bits, rows 10.. alone as in the batch;
 * inference the identity. */
static void test_values(void) {
    enum { N = 64, H = 3, W = 4, D = H * W * 3 };
    float *x = malloc(N * D * sizeof *x);
    double *want = malloc(D * sizeof *want);
    static const struct {
        int op;
        float f[2], vr[2], x_hi;
        double tol;
    } cases[] = {
        {0, {0.2f, 0.8f}, {0, 1}, 1, 2e-6},      {0, {-0.3f, 0.9f}, {0, 255}, 255, 2e-3},
        {1, {0.1f, 0.9f}, {0, 255}, 255, 5e-4}, {1, {0.0f, 1.0f}, {-1, 1}, 1, 2e-6},
        {2, {-0.5f, 0.9f}, {0, 255}, 255, 1e-4}, {2, {-1, 1}, {0.1f, 0.9f}, 1, 2e-6},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int op = cases[c].op;
        const float *vr = cases[c].vr, *f = cases[c].f;
        fill_uniform(x, N * D, cases[c].vr[0] < 0 ? -1 : 0, cases[c].x_hi, 7 + c);
        char what[96];
        snprintf(what, sizeof what, "%s case %zu", names[op], c);
        int node;
        lf_model *m = one_layer(op, f[0], f[1], vr[0], vr[1], H, W, 3, &node);
        lf_ws ws;
        lf_ws_init(&ws, m, N, 0, NULL, 0);
        const float *xs[1] = {x};
        lf_draws k0 = {lf_draw_key(11, 2, 3), 0};
        lf_graph_forward_drawn(m, &ws, xs, N, 1, &k0);
        int draws_ok = 1, neg = 0;
        double worst = 0;
        for (int r = 0; r < N; r++) {
            const float *d = ws.aux[node] + 2 * r;
            uint64_t s = lf_draw_stream(k0.key, 0, (uint64_t)r);
            float u0 = lf_draw_uniform(s, 0), u1 = lf_draw_uniform(s, 1), k;
            if (op == 1) {
                k = (u0 > 0.5f ? -1.0f : 1.0f) * (f[0] + (f[1] - f[0]) * u1) * 0.5f;
                neg += k < 0;
            } else {
                float v = f[0] + (f[1] - f[0]) * u0;
                k = op == 0 ? v / (1.0f - v + 1e-7f) : v;
            }
            draws_ok &= d[0] == 1.0f && d[1] == k;
            keras_rule(op, H * W, 3, d[1], vr, x + r * D, want);
            for (int j = 0; j < D; j++) worst = fmax(worst, fabs(want[j] - ws.out[node][r * D + j]));
        }
        CHECK(draws_ok, "%s: the draws are Keras' formula of the row's uniform numbers", what);
        CHECK(op != 1 || (neg > 10 && neg < N - 10), "%s: %d of %d hue shifts negative", what, neg, N);
        CHECK(worst < cases[c].tol, "%s: off Keras' rule by %.3g", what, worst);
        aug_check_same_draws(m, &ws, node, x, N, D, &k0, what);
        aug_check_identity(m, node, x, N, D, what);
        lf_ws_free(&ws);
        lf_model_free(m);
    }
    free(x), free(want);
}

/* the map of one image of GP pixels for test_gradient */
enum { GP = 6 };
struct hsv_map {
    lf_hsv_op op;
    size_t C;
    float k;
    const float *vr;
};

static void hsv_map(const void *ctx, const float *x, float *y) {
    const struct hsv_map *c = ctx;
    lf__hsv_image(c->op, GP, c->C, c->k, c->vr, x, y);
}

/* whether pixel p (3 channels in [0, 1] of the unit range) keeps away (by
 * gap) from the map's kinks: ties among the channels, zeros, the hue's
 * wrap and ramp corners after the shift, the clips */
static int far_from_kinks(lf_hsv_op op, const float *p, float k, const float *vr, double gap) {
    double q[3] = {p[0], p[1], p[2]}, hsv[3], y[3];
    double lo = fmin(fmin(q[0], q[1]), q[2]);
    if (fabs(q[0] - q[1]) < gap || fabs(q[1] - q[2]) < gap || fabs(q[0] - q[2]) < gap || lo < gap) return 0;
    if (op == LF_HSV_DEGENERATION) {
        double gray = 0.2989 * q[0] + 0.5870 * q[1] + 0.1140 * q[2];
        for (int c = 0; c < 3; c++) {
            double v = q[c] + k * (gray - q[c]);
            if (fabs(v - vr[0]) < gap || fabs(v - vr[1]) < gap) return 0;
        }
        return 1;
    }
    ref_rgb_to_hsv(q, hsv);
    if (op == LF_HSV_SATURATION) return fabs(hsv[1] * k - vr[0]) >= gap && fabs(hsv[1] * k - vr[1]) >= gap;
    double h = hsv[0] + k;
    h -= floor(h);
    double dh = 6.0 * h;
    if (fabs(dh - floor(dh + 0.5)) < 6 * gap) return 0;
    hsv[0] = h;
    ref_hsv_to_rgb(hsv, y);
    return 1;
}

/* The maps' gradients (the transposes) against central differences of the
 * maps, inputs drawn away from every kink, some values clipped. */
static void test_gradient(void) {
    static const struct {
        lf_hsv_op op;
        size_t C;
        float k, vr[2];
    } cases[] = {
        {LF_HSV_SATURATION, 3, 1.5f, {0, 1}},    {LF_HSV_SATURATION, 3, 0.4f, {0.1f, 1}},
        {LF_HSV_SATURATION, 3, 3.0f, {0, 255}},  {LF_HSV_HUE, 3, 0.23f, {0, 1}},
        {LF_HSV_HUE, 3, -0.41f, {0, 1}},         {LF_HSV_HUE, 3, 0.12f, {-1, 2}},
        {LF_HSV_DEGENERATION, 3, 0.7f, {0.2f, 0.8f}}, {LF_HSV_DEGENERATION, 3, -0.8f, {0, 1}},
        {LF_HSV_DEGENERATION, 1, 0.5f, {0.2f, 0.8f}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        enum { D = GP * 3 };
        size_t C = cases[c].C, n = GP * C;
        float x[D], g[D], gx[D] = {0};
        const float h = 1e-3f, *vr = cases[c].vr, k = cases[c].k;
        lf_hsv_op op = cases[c].op;
        uint64_t seed = 40 + 100 * c;
        float unit[2] = {0, 1};
        for (size_t i = 0; i < GP; i++) { /* pixels away from the kinks, in the unit range */
            float p[3] = {0.5f, 0.5f, 0.5f};
            int tries = 0;
            do {
                fill_uniform(p, C, 0, 1, seed++);
                if (C == 1) p[1] = p[0] + 0.3f, p[2] = p[0] + 0.6f; /* the check on channel 0 */
            } while (++tries < 1000 &&
                     !far_from_kinks(op, p, k, op == LF_HSV_HUE ? unit : vr, 0.02));
            for (size_t ch = 0; ch < C; ch++)
                x[i * C + ch] = op == LF_HSV_HUE ? p[ch] * (vr[1] - vr[0]) + vr[0] : p[ch];
        }
        /* the clip cuts some values: count the outputs at its ends */
        float y[D];
        hsv_map(&(struct hsv_map){op, C, k, vr}, x, y);
        int cut = 0;
        for (size_t j = 0; j < n; j++) cut += op != LF_HSV_HUE && (y[j] == vr[0] || y[j] == vr[1]);
        fill_uniform(g, n, -1, 1, 90 + c);
        lf__hsv_image_grad(op, GP, C, k, vr, x, g, gx);
        double worst = aug_grad_error(hsv_map, &(struct hsv_map){op, C, k, vr}, x, g, gx, (int)n, h);
        double norm = 0;
        for (size_t j = 0; j < n; j++) norm = fmax(norm, fabs(gx[j]));
        CHECK(worst < 2e-3 && norm > 0.1, "case %zu (%s, k %g, value_range [%g, %g], %d clipped): gradient off by %.3g "
              "(largest %.3g)", c, names[op], (double)k, (double)vr[0], (double)vr[1], cut, worst, norm);
        if (c == 0 || c == 6) CHECK(cut >= 1, "case %zu: %d values clipped", c, cut);
    }
}

/* the three layers and Rescaling to [0, 1] on img (0..255) */
static int hsv_layers(lf_model *m, int img) {
    int h = lf_random_saturation(m, img, 0.2f, 0.8f, 0.0f, 255.0f, NULL);
    h = lf_random_hue(m, h, 0.0f, 0.5f, 0.0f, 255.0f, NULL);
    h = lf_random_color_degeneration(m, h, -0.5f, 0.5f, 0.0f, 255.0f, NULL);
    return lf_rescaling(m, h, 1.0f / 255, 0.0f, NULL);
}

/* A fit's batches large enough to be shared out to the threads (by images):
 * the same weights on 1 and 2 threads. */
static void test_threads(void) { aug_check_threads(hsv_layers, 255.0f, "RandomSaturation, RandomHue, RandomColorDegeneration"); }

/* The file keeps the settings (value_range only when not (0, 255)): a
 * loaded model draws and maps the same bits and predicts the same bits
 * after a fit (check_reload); bad settings in a file are refused, naming
 * the layer. */
static void test_file(void) {
    enum { N = 8, H = 4, W = 5, D = H * W * 3 };
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/c.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    float x[N * D], t[N];
    fill_uniform(x, N * D, 0, 255, 9);
    fill_uniform(t, N, -1, 1, 10);
    lf_draws k = {lf_draw_key(5, 1, 1), 0};
    static const char *const want[] = {
        "\"type\":\"RandomSaturation\",\"inbound\":[\"x\"],\"factor\":[-0.5,0.75]}",
        "\"type\":\"RandomHue\",\"inbound\":[\"x\"],\"factor\":[0,0.25],\"value_range\":[255,0]}",
        "\"type\":\"RandomColorDegeneration\",\"inbound\":[\"x\"],\"factor\":[-1,1],\"value_range\":[0,1]}",
    };
    static const float f[3][2] = {{-0.5f, 0.75f}, {0, 0.25f}, {-1, 1}}, vr[3][2] = {{0, 255}, {255, 0}, {0, 1}};
    for (int op = 0; op < 3; op++) {
        int node;
        lf_model *m = one_layer(op, f[op][0], f[op][1], vr[op][0], vr[op][1], H, W, 3, &node);
        aug_check_file(m, node, "aug", path, x, N, D, 2, &k, want[op], names[op]);
        const float *xs[1] = {x};
        lf_fit_options opt = lf_fit_defaults();
        opt.epochs = 1, opt.batch_size = 4, opt.seed = 2;
        CHECK(lf_model_fit(m, xs, t, N, &opt) == LF_OK, "%s: fit: %s", names[op], lf_model_error(m));
        lf_model_free(check_reload(m, xs, N, 1, path, names[op]));
        lf_model_free(m);
        static const struct {
            int op;
            const char *from, *to, *msg;
        } cases[] = {
            {0, "[-0.5,0.75]", "[0.75,-0.5]", "'factor' must be a pair [lower, upper] with lower <= 1 and upper >= -1"},
            {0, "[-0.5,0.75]", "[-0.5,-1.5]", "'factor' must be a pair [lower, upper] with lower <= 1 and upper >= -1"},
            {1, "[0,0.25]", "[0,-0.2]", "'factor' must be a pair [lower, upper] with lower <= 1 and upper >= 0"},
            {1, "[255,0]", "[7,7.0]", "'value_range' must have two different ends"},
            {1, "[255,0]", "[25,[]]", "'value_range' must be a pair of finite numbers"},
            {2, "[0,1]}", "[1,0]}", "'value_range' must be a pair [low, high] with low <= high"},
            {2, "[-1,1]", "[2,31]", "'factor' must be a pair [lower, upper] with lower <= 1 and upper >= -1"},
            {2, "\\\"factor\\\"", "\\\"factxr\\\"", "unknown field 'factxr'"},
        };
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            if (cases[c].op == op) aug_check_file_refusal(path, bad, "aug", c, cases[c].from, cases[c].to, cases[c].msg, 0);
        remove(bad);
    }
    remove(path);
}

/* the builders' refusals name the layer and the value */
static void test_refusals(void) {
    static const struct {
        int op;
        float f[2], vr[2];
        size_t C;
        int vector;
        const char *msg;
    } cases[] = {
        {0, {0.3f, 0.1f}, {0, 255}, 3, 0,
         "RandomSaturation: factor must be a range [lower, upper] with lower <= 1 and upper >= -1, got [0.3, 0.1]"},
        {0, {-1.5f, -1.2f}, {0, 255}, 3, 0,
         "RandomSaturation: factor must be a range [lower, upper] with lower <= 1 and upper >= -1, got [-1.5, -1.2]"},
        {1, {0.0f, -0.1f}, {0, 255}, 3, 0,
         "RandomHue: factor must be a range [lower, upper] with lower <= 1 and upper >= 0, got [0, -0.1]"},
        {2, {NAN, 0.1f}, {0, 255}, 3, 0,
         "RandomColorDegeneration: factor must be a range [lower, upper] with lower <= 1 and upper >= -1, got [nan, 0.1]"},
        {1, {0, 0.2f}, {0, INFINITY}, 3, 0, "RandomHue: value_range must be two finite numbers, got [0, inf]"},
        {1, {0, 0.2f}, {3, 3}, 3, 0, "RandomHue: value_range must have two different ends, got [3, 3]"},
        {0, {-0.2f, 0.2f}, {1, 0}, 3, 0,
         "RandomSaturation: value_range must be [low, high] with low <= high (Keras sorts it), got [1, 0]"},
        {2, {-0.2f, 0.2f}, {255, 0}, 3, 0,
         "RandomColorDegeneration: value_range must be [low, high] with low <= high (Keras sorts it), got [255, 0]"},
        {0, {0, 0.2f}, {0, 255}, 1, 0, "RandomSaturation: the images need 3 channels (RGB, channels_last), got 1"},
        {1, {0, 0.2f}, {0, 255}, 4, 0, "RandomHue: the images need 3 channels (RGB, channels_last), got 4"},
        {2, {0, 0.2f}, {0, 255}, 2, 0, "RandomColorDegeneration: the images need 1 or 3 channels (RGB, channels_last), got 2"},
        {1, {0, 0.2f}, {0, 1}, 3, 1,
         "RandomHue: input 'v' has shape (None, 12); it needs rank 4 (batch, height, width, channels)"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int x = lf_input_shape(m, 3, (size_t[]){4, 5, cases[c].C}, LF_DTYPE_FLOAT32, "img"), v = lf_input(m, 12, "v");
        if (cases[c].vector) x = v;
        int id = add_layer(m, cases[c].op, x, cases[c].f[0], cases[c].f[1], cases[c].vr[0], cases[c].vr[1], NULL);
        CHECK(id < 0 && strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
    /* one channel: RandomColorDegeneration takes it */
    lf_model *m;
    lf_model_create(&m, 2);
    int x = lf_input_shape(m, 3, (size_t[]){4, 5, 1}, LF_DTYPE_FLOAT32, "img");
    CHECK(lf_random_color_degeneration(m, x, -0.2f, 0.2f, 0, 255, NULL) >= 0, "one channel: %s", lf_model_error(m));
    lf_model_free(m);
}

/* ---- RandomColorJitter */

/* Keras' contrast in double (numpy's mean over H then W), np.clip to vr as given */
static void ref_contrast(size_t H, size_t W, size_t C, double k, const float *vr, const double *x, double *y) {
    for (size_t ch = 0; ch < C; ch++) {
        double mean = 0;
        for (size_t j = 0; j < W; j++) {
            double col = 0;
            for (size_t i = 0; i < H; i++) col += x[(i * W + j) * C + ch];
            mean += col / (double)H;
        }
        mean /= (double)W;
        for (size_t p = 0; p < H * W; p++) y[p * C + ch] = clipd((x[p * C + ch] - mean) * k + mean, vr[0], vr[1]);
    }
}

/* x (H, W, 3) -> RandomColorJitter ("aug") with the factors f[i] (NULL: None) */
static lf_model *jitter_model(const float *vr, const float *const *f, size_t H, size_t W, int *node) {
    lf_model *m;
    int x = aug_input(&m, H, W, 3);
    *node = lf_random_color_jitter(m, x, vr[0], vr[1], f[0], f[1], f[2], f[3], "aug");
    return aug_finish(m, *node);
}

/* Each row's draws as the sub-layers' (brightness draw 0, contrast 1,
 * saturation 2, hue 3 and 4), the output Keras' sub-layers in order,
 * recomputed in double from the draws; sub-layers left out (None) leave
 * the rest as it was; same draws, identity at inference. */
static void test_jitter_values(void) {
    enum { N = 40, H = 3, W = 4, D = H * W * 3 };
    static const float b[2] = {-0.2f, 0.3f}, c[2] = {0.1f, 0.5f}, s[2] = {0.2f, 0.9f}, h[2] = {0.1f, 0.6f};
    static const struct {
        float vr[2];
        int on;
        double tol;
    } cases[] = {{{0, 255}, 15, 5e-4}, {{0, 1}, 15, 2e-6}, {{255, 0}, 10, 5e-4}, {{0, 1}, 5, 2e-6}, {{0, 1}, 0, 0}};
    float *x = malloc(N * D * sizeof *x);
    double *cur = malloc(2 * D * sizeof *cur), *nxt = cur + D;
    for (size_t cs = 0; cs < sizeof cases / sizeof *cases; cs++) {
        const float *vr = cases[cs].vr, *f[4] = {b, c, s, h};
        float sv[2] = {fminf(vr[0], vr[1]), fmaxf(vr[0], vr[1])};
        int on = cases[cs].on;
        for (int i = 0; i < 4; i++)
            if (!(on >> i & 1)) f[i] = NULL;
        fill_uniform(x, N * D, sv[0], sv[1], 30 + cs);
        char what[64];
        snprintf(what, sizeof what, "RandomColorJitter case %zu", cs);
        int node;
        lf_model *m = jitter_model(vr, f, H, W, &node);
        lf_ws ws;
        lf_ws_init(&ws, m, N, 0, NULL, 0);
        const float *xs[1] = {x};
        lf_draws k0 = {lf_draw_key(12, 1, 4), 0};
        lf_graph_forward_drawn(m, &ws, xs, N, 1, &k0);
        int draws_ok = 1;
        double worst = 0;
        for (int r = 0; r < N; r++) {
            const float *d = ws.aux[node] + m->nodes[node].aux_per_row * r;
            uint64_t st = lf_draw_stream(k0.key, 0, (uint64_t)r);
            float u[5];
            for (int i = 0; i < 5; i++) u[i] = lf_draw_uniform(st, (uint64_t)i);
            float sat = s[0] + (s[1] - s[0]) * u[2];
            float want[4] = {(b[0] + (b[1] - b[0]) * u[0]) * (sv[1] - sv[0]),
                             (1.0f - c[0]) + ((1.0f + c[1]) - (1.0f - c[0])) * u[1], sat / (1.0f - sat + 1e-7f),
                             (u[3] > 0.5f ? -1.0f : 1.0f) * (h[0] + (h[1] - h[0]) * u[4]) * 0.5f};
            draws_ok &= d[0] == 1.0f;
            for (int i = 0; i < 4; i++) draws_ok &= !(on >> i & 1) || d[1 + i] == want[i];
            for (int j = 0; j < D; j++) cur[j] = x[r * D + j];
            for (int i = 0; i < 4; i++) {
                if (!(on >> i & 1)) continue;
                if (i == 0)
                    for (int j = 0; j < D; j++) nxt[j] = clipd(cur[j] + d[1], sv[0], sv[1]);
                else if (i == 1)
                    ref_contrast(H, W, 3, d[2], vr, cur, nxt);
                else {
                    float xf[D]; /* the stage's input as the layer holds it (float32) */
                    for (int j = 0; j < D; j++) xf[j] = (float)cur[j];
                    keras_rule(i == 2 ? 0 : 1, H * W, 3, d[1 + i], i == 2 ? sv : vr, xf, nxt);
                }
                memcpy(cur, nxt, D * sizeof *cur);
            }
            for (int j = 0; j < D; j++) worst = fmax(worst, fabs(cur[j] - ws.out[node][r * D + j]));
        }
        CHECK(draws_ok, "%s: the draws are the sub-layers' formulas of the row's uniform numbers", what);
        CHECK(worst <= cases[cs].tol, "%s: off Keras' sub-layers by %.3g", what, worst);
        aug_check_same_draws(m, &ws, node, x, N, D, &k0, what);
        aug_check_identity(m, node, x, N, D, what);
        lf_ws_free(&ws);
        lf_model_free(m);
    }
    free(x), free(cur);
}

static int jitter_layer(lf_model *m, int img) {
    static const float b[2] = {-0.2f, 0.2f}, c[2] = {0.0f, 0.4f}, s[2] = {0.3f, 0.7f}, h[2] = {0.0f, 0.3f};
    return lf_rescaling(m, lf_random_color_jitter(m, img, 0, 255, b, c, s, h, NULL), 1.0f / 255, 0.0f, NULL);
}

/* threads, the file (value_range and the factors given only; check_reload),
 * the file's and the builder's refusals */
static void test_jitter_file(void) {
    aug_check_threads(jitter_layer, 255.0f, "RandomColorJitter");
    enum { N = 8, H = 4, W = 5, D = H * W * 3 };
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/j.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/badj.lf", tmpdir);
    float x[N * D], t[N];
    fill_uniform(x, N * D, 0, 1, 19);
    fill_uniform(t, N, -1, 1, 20);
    static const float c[2] = {0, 0.25f}, h[2] = {0.125f, 0.5f}, vr[2] = {0, 1};
    const float *f[4] = {NULL, c, NULL, h};
    int node;
    lf_model *m = jitter_model(vr, f, H, W, &node);
    lf_draws k = {lf_draw_key(5, 1, 1), 0};
    aug_check_file(m, node, "aug", path, x, N, D, 8 /* the draws */, &k,
                   "\"type\":\"RandomColorJitter\",\"inbound\":[\"x\"],\"value_range\":[0,1],\"contrast_factor\":[0,0.25],"
                   "\"hue_factor\":[0.125,0.5]}", "RandomColorJitter");
    const float *xs[1] = {x};
    lf_fit_options opt = lf_fit_defaults();
    opt.epochs = 1, opt.batch_size = 4, opt.seed = 2;
    CHECK(lf_model_fit(m, xs, t, N, &opt) == LF_OK, "RandomColorJitter: fit: %s", lf_model_error(m));
    lf_model_free(check_reload(m, xs, N, 1, path, "RandomColorJitter"));
    lf_model_free(m);
    static const struct {
        const char *from, *to, *msg;
    } cases[] = {
        {"[0,0.25]", "[0,-0.2]", "'contrast_factor' must be a pair [lower, upper] with lower <= 1 and upper >= 0"},
        {"[0.125,0.5]", "[0.5,0.125]", "'hue_factor' must be a pair [lower, upper] with lower <= 1 and upper >= 0"},
        {"[0,1]", "[1,1]", "'value_range' must have two different ends"},
        {"\\\"hue_factor\\\"", "\\\"hue_factxr\\\"", "unknown field 'hue_factxr'"},
    };
    for (size_t cs = 0; cs < sizeof cases / sizeof cases[0]; cs++)
        aug_check_file_refusal(path, bad, "aug", cs, cases[cs].from, cases[cs].to, cases[cs].msg, 0);
    remove(bad);
    remove(path);
    static const float good[2] = {0, 0.2f}, neg[2] = {-0.5f, -0.2f}, swapped[2] = {0.3f, 0.1f};
    static const struct {
        size_t C;
        float vr[2];
        const float *f[4];
        const char *msg;
    } refusals[] = {
        {3, {0, 255}, {swapped, NULL, NULL, NULL},
         "RandomColorJitter: brightness_factor must be a range [lower, upper] with lower <= 1 and upper >= -1, got [0.3, 0.1]"},
        {3, {0, 255}, {NULL, neg, NULL, NULL},
         "RandomColorJitter: contrast_factor must be a range [lower, upper] with lower <= 1 and upper >= 0, got [-0.5, -0.2]"},
        {3, {0, 255}, {NULL, NULL, NULL, neg},
         "RandomColorJitter: hue_factor must be a range [lower, upper] with lower <= 1 and upper >= 0, got [-0.5, -0.2]"},
        {3, {2, 2}, {NULL, NULL, NULL, good},
         "RandomColorJitter: value_range must have two different ends with a hue_factor, got [2, 2]"},
        {3, {0, NAN}, {good, NULL, NULL, NULL}, "RandomColorJitter: value_range must be two finite numbers, got [0, nan]"},
        {1, {0, 255}, {NULL, NULL, good, NULL},
         "RandomColorJitter: the images need 3 channels (RGB, channels_last) with a saturation_factor or hue_factor, got 1"},
    };
    for (size_t cs = 0; cs < sizeof refusals / sizeof *refusals; cs++) {
        lf_model *r;
        lf_model_create(&r, 2);
        int in = lf_input_shape(r, 3, (size_t[]){4, 5, refusals[cs].C}, LF_DTYPE_FLOAT32, "img");
        const float *const *g = refusals[cs].f;
        int id = lf_random_color_jitter(r, in, refusals[cs].vr[0], refusals[cs].vr[1], g[0], g[1], g[2], g[3], NULL);
        CHECK(id < 0 && strcmp(lf_model_error(r), refusals[cs].msg) == 0, "jitter case %zu: got '%s'", cs,
              lf_model_error(r));
        lf_model_free(r);
    }
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_hsv_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_hand();
    test_values();
    test_gradient();
    test_threads();
    test_file();
    test_refusals();
    test_jitter_values();
    test_jitter_file();
    rmdir(tmpdir);
    return check_report("test_hsv");
}
