/*
 * test_color.c — RandomContrast and RandomBrightness against Keras 3's rules
 * (keras/src/layers/preprocessing/image_preprocessing/random_contrast.py,
 * random_brightness.py): each image's drawn number (the layer's aux) in its
 * range, and the output the rule recomputed in double from that number
 * (the channel mean over H then W, the clip to value_range, as numpy's);
 * the inference pass the identity, unclipped; the gradient of the map, the
 * clip included, by central differences; the same bits from the same key
 * in any part of a batch and on 1 and 2 threads; save/load of the settings
 * and the file's and the builder's refusals.
 */
#include "check.h"
#include "engine_util.h"
#include "augment_util.h"

#include <float.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

/* Keras' rule for one image in double: contrast (numpy's mean over the
 * height axis, then the width axis) or brightness, then np.clip. */
static double np_clip(double v, double lo, double hi) { return fmin(fmax(v, lo), hi); }

static void keras_rule(int contrast, size_t H, size_t W, size_t C, double k, const float *vr, const float *x,
                       double *y) {
    for (size_t ch = 0; ch < C; ch++) {
        double mean = 0;
        for (size_t j = 0; j < W; j++) {
            double col = 0;
            for (size_t i = 0; i < H; i++) col += x[(i * W + j) * C + ch];
            mean += col / (double)H;
        }
        mean /= (double)W;
        for (size_t p = 0; p < H * W; p++) {
            double v = x[p * C + ch];
            v = contrast ? (v - mean) * k + mean : v + k;
            y[p * C + ch] = np_clip(v, vr[0], vr[1]);
        }
    }
}

/* x (H, W, 3) -> the layer ("aug") -> Dense */
static lf_model *one_layer(int contrast, float lo, float hi, float v0, float v1, size_t H, size_t W, int *node) {
    lf_model *m;
    int x = aug_input(&m, H, W, 3);
    *node = contrast ? lf_random_contrast(m, x, lo, hi, v0, v1, "aug") : lf_random_brightness(m, x, lo, hi, v0, v1, "aug");
    return aug_finish(m, *node);
}

/* The draws and the values: per image one number in Keras' range
 * (contrast: uniform(1 - lower, 1 + upper); brightness: uniform(lower,
 * upper) times the range's width), the output Keras' rule with it, some
 * values clipped; the same key the same bits, rows 10.. alone as in the
 * batch; inference the identity (no clip). */
static void test_values(void) {
    enum { N = 64, H = 5, W = 6, D = H * W * 3 };
    float *x = malloc(N * D * sizeof *x);
    double *want = malloc(D * sizeof *want);
    fill_uniform(x, N * D, 0, 1, 7);
    for (int contrast = 0; contrast < 2; contrast++) {
        /* contrast: Keras' factor (0.2, 0.5), k in [0.8, 1.5]; brightness
         * (-0.3, 0.1) of value_range (-0.25, 1.25): d in [-0.45, 0.15] */
        float lo = contrast ? 0.2f : -0.3f, hi = contrast ? 0.5f : 0.1f;
        float vr[2] = {contrast ? 0.1f : -0.25f, contrast ? 0.9f : 1.25f};
        double a = contrast ? 1.0 - lo : lo * 1.5, b = contrast ? 1.0 + hi : hi * 1.5;
        const char *what = contrast ? "RandomContrast" : "RandomBrightness";
        int node;
        lf_model *m = one_layer(contrast, lo, hi, vr[0], vr[1], H, W, &node);
        lf_ws ws;
        lf_ws_init(&ws, m, N, 0, NULL, 0);
        const float *xs[1] = {x};
        lf_draws k0 = {lf_draw_key(11, 2, 3), 0};
        lf_graph_forward_drawn(m, &ws, xs, N, 1, &k0);
        int in_range = 1, low = 0, high = 0, clipped = 0;
        double worst = 0;
        for (int r = 0; r < N; r++) {
            const float *d = ws.aux[node] + 2 * r;
            in_range &= d[0] == 1.0f && d[1] >= a - 1e-6 && d[1] <= b + 1e-6;
            low += d[1] < a + (b - a) / 4, high += d[1] > b - (b - a) / 4;
            keras_rule(contrast, H, W, 3, d[1], vr, x + r * D, want);
            for (int j = 0; j < D; j++) {
                worst = fmax(worst, fabs(want[j] - ws.out[node][r * D + j]));
                clipped += want[j] == vr[0] || want[j] == vr[1];
            }
        }
        CHECK(in_range && low >= 5 && high >= 5, "%s: draws in [%g, %g], both ends reached (%d low, %d high)", what,
              a, b, low, high);
        CHECK(worst < 2e-6, "%s: off Keras' rule by %.3g", what, worst);
        CHECK(clipped > N && clipped < N * D / 2, "%s: %d values clipped", what, clipped);
        aug_check_same_draws(m, &ws, node, x, N, D, &k0, what);
        for (int j = 0; j < 7; j++) x[j] = 2.0f; /* outside value_range: kept at inference (unclipped) */
        aug_check_identity(m, node, x, N, D, what);
        fill_uniform(x, N * D, 0, 1, 7);
        lf_ws_free(&ws);
        lf_model_free(m);
    }
    free(x), free(want);
}

/* the map of one H x W x C image of test_gradient: contrast by k or
 * brightness by k, clipped to vr */
enum { GH = 4, GW = 3, GC = 2 };
struct color_map {
    int contrast;
    float k;
    const float *vr;
};

static void color_map(const void *ctx, const float *x, float *y) {
    const struct color_map *c = ctx;
    if (c->contrast)
        lf__contrast_image(GH, GW, GC, c->k, c->vr, x, y);
    else
        lf__brightness_image(GH * GW * GC, c->k, c->vr, x, y);
}

/* The maps' gradients (the transposes) against central differences of the
 * maps, with the clip cutting some values (none within 10 h of its kink),
 * and for contrast k below and above 1 (the mean's share changes sign). */
static void test_gradient(void) {
    enum { H = GH, W = GW, C = GC, D = H * W * C };
    static const struct {
        int contrast;
        float k, vr[2];
    } cases[] = {{1, 1.4f, {-0.5f, 0.6f}}, {1, 0.6f, {-0.3f, 0.4f}}, {1, 1.2f, {0.6f, -0.6f}},
                 {0, 0.3f, {-0.7f, 0.6f}}, {0, -0.45f, {-0.8f, 1.0f}}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        float x[D], g[D], gx[D] = {0}, y[D];
        const float h = 1e-3f;
        const float *vr = cases[c].vr, k = cases[c].k;
        int contrast = cases[c].contrast;
        uint64_t seed = 40 + c;
        int near;
        do { /* inputs whose outputs keep away from the clip's kinks */
            fill_uniform(x, D, -1, 1, seed++);
            /* the pre-clip values: the map with an open range */
            float open[2] = {-1e9f, 1e9f};
            color_map(&(struct color_map){contrast, k, open}, x, y);
            near = 0;
            for (int j = 0; vr[0] <= vr[1] && j < D; j++)
                near |= fabs(y[j] - vr[0]) < 20 * h || fabs(y[j] - vr[1]) < 20 * h;
        } while (near && seed < 40 + c + 1000);
        int cut = 0;
        for (int j = 0; j < D; j++) cut += vr[0] <= vr[1] ? (y[j] < vr[0] || y[j] > vr[1]) : 1;
        fill_uniform(g, D, -1, 1, 90 + c);
        if (contrast)
            lf__contrast_image_grad(H, W, C, k, vr, x, g, gx);
        else
            lf__brightness_image_grad(D, k, vr, x, g, gx);
        double worst = aug_grad_error(color_map, &(struct color_map){contrast, k, vr}, x, g, gx, D, h);
        CHECK(!near && cut >= 2 && (cut < D || vr[0] > vr[1]), "case %zu: %d of %d values clipped, none near a kink", c, cut,
              D);
        CHECK(worst < 1e-3, "case %zu (%s, k %g, value_range [%g, %g]): gradient off by %.3g", c,
              contrast ? "contrast" : "brightness", (double)k, (double)vr[0], (double)vr[1], worst);
    }
}

/* RandomContrast, RandomBrightness and Rescaling to [0, 1] on img (0..255) */
static int color_layers(lf_model *m, int img) {
    int h = lf_random_contrast(m, img, 0.0f, 0.6f, 0.0f, 255.0f, NULL);
    h = lf_random_brightness(m, h, -0.3f, 0.3f, 0.0f, 255.0f, NULL);
    return lf_rescaling(m, h, 1.0f / 255, 0.0f, NULL);
}

/* A fit's batches large enough to be shared out to the threads (by images):
 * the same weights on 1 and 2 threads. */
static void test_threads(void) { aug_check_threads(color_layers, 255.0f, "RandomContrast, RandomBrightness"); }

/* The file keeps the settings: a loaded model draws and maps the same
 * bits; bad settings in a file are refused, naming the layer. */
static void test_file(void) {
    enum { N = 8, H = 4, W = 5, D = H * W * 3 };
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/c.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    float x[N * D];
    fill_uniform(x, N * D, 0, 255, 9);
    lf_draws k = {lf_draw_key(5, 1, 1), 0};
    for (int contrast = 0; contrast < 2; contrast++) {
        int node;
        lf_model *m = contrast ? one_layer(1, 0.0f, 0.25f, 255.0f, 0.0f, H, W, &node)
                               : one_layer(0, -0.5f, 0.75f, 0.0f, 255.0f, H, W, &node);
        const char *want = contrast ? "\"type\":\"RandomContrast\",\"inbound\":[\"x\"],\"factor\":[0,0.25],"
                                      "\"value_range\":[255,0]}"
                                    : "\"type\":\"RandomBrightness\",\"inbound\":[\"x\"],\"factor\":[-0.5,0.75],"
                                      "\"value_range\":[0,255]}";
        aug_check_file(m, node, "aug", path, x, N, D, 2, &k, want, contrast ? "RandomContrast" : "RandomBrightness");
        lf_model_free(m);
        static const struct {
            int contrast;
            const char *from, *to, *msg;
        } cases[] = {
            {1, "[0,0.25]", "[0,-0.2]", "'factor' must be a pair [lower, upper] with lower <= 1 and upper >= 0"},
            {1, "[0,0.25]", "[2,2.25]", "'factor' must be a pair [lower, upper] with lower <= 1 and upper >= 0"},
            {1, "[255,0]", "[25,[]]", "'value_range' must be a pair of finite numbers"},
            {0, "[-0.5,0.75]", "[0.75,-0.5]", "'factor' must be a pair [lower, upper] with lower <= 1 and upper >= -1"},
            {0, "[0,255]", "[255,0]", "'value_range' must be a pair [low, high] with low <= high"},
            {0, "\\\"factor\\\"", "\\\"factxr\\\"", "unknown field 'factxr'"},
        };
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            if (cases[c].contrast == contrast)
                aug_check_file_refusal(path, bad, "aug", c, cases[c].from, cases[c].to, cases[c].msg, 0);
        remove(bad);
    }
    remove(path);
}

/* the builders' refusals name the layer and the value */
static void test_refusals(void) {
    static const struct {
        int contrast;
        float f[2], vr[2];
        int vector;
        const char *msg;
    } cases[] = {
        {1, {0.0f, -0.1f}, {0, 255}, 0,
         "RandomContrast: factor must be a range [lower, upper] with lower <= 1 and upper >= 0, got [0, -0.1]"},
        {1, {1.5f, 2.0f}, {0, 255}, 0,
         "RandomContrast: factor must be a range [lower, upper] with lower <= 1 and upper >= 0, got [1.5, 2]"},
        {0, {-1.5f, -1.2f}, {0, 255}, 0,
         "RandomBrightness: factor must be a range [lower, upper] with lower <= 1 and upper >= -1, got [-1.5, -1.2]"},
        {0, {0.3f, 0.1f}, {0, 255}, 0,
         "RandomBrightness: factor must be a range [lower, upper] with lower <= 1 and upper >= -1, got [0.3, 0.1]"},
        {0, {NAN, 0.1f}, {0, 255}, 0,
         "RandomBrightness: factor must be a range [lower, upper] with lower <= 1 and upper >= -1, got [nan, 0.1]"},
        {1, {0, 0.2f}, {0, INFINITY}, 0, "RandomContrast: value_range must be two finite numbers, got [0, inf]"},
        {0, {-0.2f, 0.2f}, {1, 0}, 0,
         "RandomBrightness: value_range must be [low, high] with low <= high (Keras sorts it), got [1, 0]"},
        {1, {0, 0.2f}, {0, 1}, 1,
         "RandomContrast: input 'v' has shape (None, 12); it needs rank 4 (batch, height, width, channels)"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int x = lf_input_shape(m, 3, (size_t[]){4, 5, 3}, LF_DTYPE_FLOAT32, "img"), v = lf_input(m, 12, "v");
        if (cases[c].vector) x = v;
        int id = cases[c].contrast
                     ? lf_random_contrast(m, x, cases[c].f[0], cases[c].f[1], cases[c].vr[0], cases[c].vr[1], NULL)
                     : lf_random_brightness(m, x, cases[c].f[0], cases[c].f[1], cases[c].vr[0], cases[c].vr[1], NULL);
        CHECK(id < 0 && strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_color_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_values();
    test_gradient();
    test_threads();
    test_file();
    test_refusals();
    rmdir(tmpdir);
    return check_report("test_color");
}
