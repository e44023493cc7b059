/*
 * test_zoom.c — RandomZoom against Keras 3: the map of one image for every
 * fill_mode x interpolation and zooms in, out, on one axis and 1, against
 * golden values from Keras' numpy backend (tests/make_zoom_golden.py ->
 * tests/zoom_golden.h); its gradient (the transpose) by central
 * differences with the zooms fixed; the draws (1 + a number in the
 * factors' ranges per image, width_factor None the height's draw, the same
 * bits from the same key in any part of a batch, on 1 and 2 threads);
 * inference the identity; save/load of the settings and the file's and
 * the builder's refusals.
 */
#include "check.h"
#include "engine_util.h"
#include "model_checks.h"
#include "augment_util.h"
#include "zoom_golden.h"

#include <float.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

static const char *const fills[] = {"reflect", "wrap", "nearest", "constant"};

static lf_translation_options case_options(const struct zg_case *c) {
    lf_translation_options o = lf_translation_defaults(0.5f, 0.5f);
    o.fill_mode = (lf_fill_mode)c->fill_mode, o.interpolation = (lf_interpolation)c->interpolation;
    o.fill_value = c->fill_value;
    return o;
}

/* the map of one ZG_H x ZG_W x ZG_C image for the zooms z */
struct zoom_map {
    const lf_translation_options *o;
    const float *z;
};

static void zoom_map(const void *ctx, const float *x, float *y) {
    const struct zoom_map *c = ctx;
    lf__zoom_image(c->o, ZG_H, ZG_W, ZG_C, c->z, x, y);
}

/* every golden case: nearest to the bit (copies of pixels or the fill),
 * bilinear within a float's rounding (both sum in double, round once) */
static void test_golden(void) {
    enum { D = ZG_H * ZG_W * ZG_C };
    for (int k = 0; k < ZG_CASES; k++) {
        const struct zg_case *c = &zg_cases[k];
        lf_translation_options o = case_options(c);
        float y[D], z[2] = {c->zy, c->zx};
        lf__zoom_image(&o, ZG_H, ZG_W, ZG_C, z, zg_image, y);
        int at;
        double worst = aug_worst_diff(y, c->y, D, &at);
        double tol = c->interpolation == LF_INTERP_NEAREST ? 0.0 : 1e-6;
        CHECK(worst <= tol, "%s %s, zoom (%g, %g): value %d is %.9g, Keras' %.9g", fills[c->fill_mode],
              c->interpolation ? "nearest" : "bilinear", (double)c->zy, (double)c->zx, at, (double)y[at],
              (double)c->y[at]);
    }
}

/* The map is affine in x, so <g, column i of the central difference> must
 * be the gradient's entry i. */
static void test_gradient(void) {
    enum { D = ZG_H * ZG_W * ZG_C };
    for (int k = 0; k < ZG_CASES; k++) {
        const struct zg_case *c = &zg_cases[k];
        lf_translation_options o = case_options(c);
        float z[2] = {c->zy, c->zx}, g[D], gx[D] = {0}, x[D];
        fill_uniform(g, D, -1, 1, 100 + (uint64_t)k);
        lf__zoom_image_grad(&o, ZG_H, ZG_W, ZG_C, z, g, gx);
        memcpy(x, zg_image, sizeof x);
        double worst = aug_grad_error(zoom_map, &(struct zoom_map){&o, z}, x, g, gx, D, 0.5f);
        CHECK(worst < 1e-5, "%s %s, zoom (%g, %g): gradient off by %.3g", fills[c->fill_mode],
              c->interpolation ? "nearest" : "bilinear", (double)c->zy, (double)c->zx, worst);
    }
}

/* x (H, W, 2) -> RandomZoom ("aug") -> Dense */
static lf_model *one_layer(const lf_translation_options *o, int keep_aspect, size_t H, size_t W, int *node) {
    lf_model *m;
    int x = aug_input(&m, H, W, 2);
    *node = lf_random_zoom(m, x, o, keep_aspect, "aug");
    return aug_finish(m, *node);
}

/* Per image zy = 1 + u, u in the height range, zx = 1 + v in the width
 * range (keep_aspect: zx = zy); the output the map of the drawn zooms; the
 * same key the same bits, rows 10.. alone as in the batch; inference the
 * identity. */
static void test_draws(void) {
    enum { N = 64, H = 6, W = 5, D = H * W * 2 };
    float *x = malloc(N * D * sizeof *x), *y = malloc(N * D * sizeof *y);
    fill_uniform(x, N * D, -1, 1, 5);
    for (int keep = 0; keep < 2; keep++) {
        lf_translation_options o = lf_translation_defaults(0.0f, 0.0f);
        o.height_lower = -0.4f, o.height_upper = 0.5f, o.width_lower = 0.1f, o.width_upper = 0.3f;
        int node;
        lf_model *m = one_layer(&o, keep, H, W, &node);
        lf_ws a;
        lf_ws_init(&a, m, N, 0, NULL, 0);
        const float *xs[1] = {x};
        lf_draws k0 = {lf_draw_key(11, 2, 3), 0};
        lf_graph_forward_drawn(m, &a, xs, N, 1, &k0);
        int in_range = 1, low = 0, high = 0, aspect = 1;
        for (int r = 0; r < N; r++) {
            const float *d = a.aux[node] + 3 * r;
            double wlo = keep ? 0.6 : 1.1, whi = keep ? 1.5 : 1.3;
            in_range &= d[0] == 1.0f && d[1] >= 0.6 - 1e-6 && d[1] <= 1.5 + 1e-6 && d[2] >= wlo - 1e-6 &&
                        d[2] <= whi + 1e-6;
            aspect &= keep ? d[1] == d[2] : d[1] != d[2];
            low += d[1] < 0.8, high += d[1] > 1.3;
            lf__zoom_image(&o, H, W, 2, d + 1, x + r * D, y + r * D);
        }
        CHECK(in_range && low >= 5 && high >= 5, "keep_aspect %d: zooms in [0.6, 1.5] x [%s], both ends reached", keep,
              keep ? "the height's" : "1.1, 1.3");
        CHECK(aspect, "keep_aspect %d: the width's zoom %s the height's", keep, keep ? "is" : "is drawn apart from");
        CHECK(memcmp(y, a.out[node], N * D * sizeof *y) == 0, "keep_aspect %d: the output is the map of the draws",
              keep);
        const char *what = keep ? "RandomZoom, keep_aspect 1" : "RandomZoom, keep_aspect 0";
        aug_check_same_draws(m, &a, node, x, N, D, &k0, what);
        aug_check_identity(m, node, x, N, D, what);
        lf_ws_free(&a);
        lf_model_free(m);
    }
    free(x), free(y);
}

/* RandomZoom(0.3, 0.2) on img */
static int zoom_layer(lf_model *m, int img) {
    lf_translation_options o = lf_translation_defaults(0.3f, 0.2f);
    return lf_random_zoom(m, img, &o, 0, NULL);
}

/* A fit's batches large enough to be shared out to the threads (by images):
 * the same weights on 1 and 2 threads. */
static void test_threads(void) { aug_check_threads(zoom_layer, 1.0f, "RandomZoom"); }

/* The file keeps the settings: a loaded model draws and maps the same
 * bits; bad settings in a file are refused, naming the layer. */
static void test_file(void) {
    enum { N = 8, H = 4, W = 7, D = H * W * 2 };
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/z.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    float x[N * D];
    fill_uniform(x, N * D, -1, 1, 9);
    lf_draws k = {lf_draw_key(5, 1, 1), 0};
    for (int keep = 0; keep < 2; keep++) {
        lf_translation_options o = lf_translation_defaults(0.25f, 0.0f);
        o.height_lower = -0.5f, o.width_lower = -0.25f, o.width_upper = 0.75f;
        o.fill_mode = LF_FILL_CONSTANT, o.interpolation = LF_INTERP_NEAREST, o.fill_value = 0.25f;
        if (keep) o = lf_translation_defaults(0.2f, 0.0f);
        int node;
        lf_model *m = one_layer(&o, keep, H, W, &node);
        const char *want = keep ? "\"type\":\"RandomZoom\",\"inbound\":[\"x\"],\"height_factor\":[-0.2,0.2],"
                                  "\"width_factor\":null,\"fill_mode\":\"reflect\",\"interpolation\":\"bilinear\","
                                  "\"fill_value\":0}"
                                : "\"type\":\"RandomZoom\",\"inbound\":[\"x\"],\"height_factor\":[-0.5,0.25],"
                                  "\"width_factor\":[-0.25,0.75],\"fill_mode\":\"constant\","
                                  "\"interpolation\":\"nearest\",\"fill_value\":0.25}";
        aug_check_file(m, node, "aug", path, x, N, D, 3, &k, want,
                       keep ? "RandomZoom, keep_aspect 1" : "RandomZoom, keep_aspect 0");
        lf_model_free(m);
        static const struct {
            int keep;
            const char *from, *to, *msg;
        } cases[] = {
            {0, "[-0.5,0.25]", "[-1.5,0.25]", "'height_factor' must be a pair [lower, upper] in (-1, 1], or [-1, 1]"},
            {0, "[-0.5,0.25]", "[-1.0,0.25]", "'height_factor' must be a pair [lower, upper] in (-1, 1], or [-1, 1]"},
            {0, "[-0.25,0.75]", "[0.75,-0.25]", "'width_factor' must be a pair [lower, upper] in (-1, 1], or [-1, 1]"},
            {0, "[-0.25,0.75]", "[-0.25,1.75]", "'width_factor' must be a pair [lower, upper] in (-1, 1], or [-1, 1]"},
            {0, "\\\"constant\\\"", "\\\"constanx\\\"",
             "'fill_mode' must be \"reflect\", \"wrap\", \"nearest\" or \"constant\""},
            {0, "\\\"fill_value\\\":0.25", "\\\"fill_value\\\":9e99", "'fill_value' must be a finite number"},
            {1, "null", "0.20", "'width_factor' must be a pair [lower, upper] in (-1, 1], or [-1, 1]"},
            {1, "\\\"bilinear\\\"", "\\\"bicubic_\\\"", "'interpolation' must be \"bilinear\" or \"nearest\""},
            {1, "\\\"width_factor\\\"", "\\\"width_facxor\\\"", "unknown field 'width_facxor'"},
        };
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            if (cases[c].keep == keep)
                aug_check_file_refusal(path, bad, "aug", c, cases[c].from, cases[c].to, cases[c].msg, 0);
        remove(bad);
    }
    remove(path);
}

/* the builder's refusals name the layer and the value */
static void test_refusals(void) {
    static const struct {
        float h[2], w[2];
        int keep, mode, vector;
        float fill;
        const char *msg;
    } cases[] = {
        {{-1.5f, 0.2f}, {0, 0}, 0, 0, 0, 0,
         "RandomZoom: height_factor must be a range [lower, upper] in (-1, 1], or [-1, 1] (Keras' "
         "RandomZoom(1.0)), got [-1.5, 0.2]"},
        {{0.3f, 0.2f}, {0, 0}, 1, 0, 0, 0,
         "RandomZoom: height_factor must be a range [lower, upper] in (-1, 1], or [-1, 1] (Keras' "
         "RandomZoom(1.0)), got [0.3, 0.2]"},
        {{0, 0.2f}, {-0.1f, 1.5f}, 0, 0, 0, 0,
         "RandomZoom: width_factor must be a range [lower, upper] in (-1, 1], or [-1, 1] (Keras' "
         "RandomZoom(1.0)), got [-0.1, 1.5]"},
        {{-1.0f, 0.5f}, {0, 0}, 1, 0, 0, 0, /* Keras refuses a pair's -1: only RandomZoom(1.0) reaches it */
         "RandomZoom: height_factor must be a range [lower, upper] in (-1, 1], or [-1, 1] (Keras' "
         "RandomZoom(1.0)), got [-1, 0.5]"},
        {{0, 0.2f}, {NAN, 0.1f}, 0, 0, 0, 0,
         "RandomZoom: width_factor must be a range [lower, upper] in (-1, 1], or [-1, 1] (Keras' "
         "RandomZoom(1.0)), got [nan, 0.1]"},
        {{0, 0.2f}, {0, 0}, 0, 7, 0, 0,
         "RandomZoom: unknown fill_mode 7"},
        {{0, 0.2f}, {0, 0}, 0, 0, 0, INFINITY, "RandomZoom: fill_value must be finite"},
        {{0, 0.2f}, {0, 0}, 0, 0, 1, 0,
         "RandomZoom: input 'v' has shape (None, 12); it needs rank 4 (batch, height, width, channels)"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int x = lf_input_shape(m, 3, (size_t[]){4, 5, 3}, LF_DTYPE_FLOAT32, "img"), v = lf_input(m, 12, "v");
        if (cases[c].vector) x = v;
        lf_translation_options o = lf_translation_defaults(0, 0);
        o.height_lower = cases[c].h[0], o.height_upper = cases[c].h[1];
        o.width_lower = cases[c].w[0], o.width_upper = cases[c].w[1];
        o.fill_mode = (lf_fill_mode)cases[c].mode, o.fill_value = cases[c].fill;
        int id = lf_random_zoom(m, x, &o, cases[c].keep, NULL);
        CHECK(id < 0 && strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
    /* keep_aspect: the width range unused (any values) */
    lf_model *m;
    lf_model_create(&m, 2);
    int x = lf_input_shape(m, 3, (size_t[]){4, 5, 3}, LF_DTYPE_FLOAT32, "img");
    lf_translation_options o = lf_translation_defaults(0.2f, 5.0f);
    CHECK(lf_random_zoom(m, x, &o, 1, NULL) >= 0, "keep_aspect 1 ignores the width range: %s", lf_model_error(m));
    o = lf_translation_defaults(1.0f, 1.0f); /* Keras' RandomZoom(1.0, 1.0): [-1, 1] */
    CHECK(lf_random_zoom(m, x, &o, 0, NULL) >= 0, "[-1, 1] is Keras' RandomZoom(1.0): %s", lf_model_error(m));
    CHECK(lf_random_zoom(m, x, NULL, 1, NULL) < 0 && has(lf_model_error(m), "RandomZoom: no options given"),
          "no options: %s", lf_model_error(m));
    lf_model_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_zoom_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_golden();
    test_gradient();
    test_draws();
    test_threads();
    test_file();
    test_refusals();
    rmdir(tmpdir);
    return check_report("test_zoom");
}
