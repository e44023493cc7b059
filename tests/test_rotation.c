/*
 * test_rotation.c — RandomRotation against Keras 3: the map of one image
 * for every fill_mode x interpolation and angles both ways, a quarter, a
 * half and more than a turn, against golden values from Keras' numpy
 * backend (tests/make_rotation_golden.py -> tests/rotation_golden.h); its
 * gradient (the transpose) by central differences with the angle fixed;
 * the draws (360 times a number in the factor's range per image, the same
 * bits from the same key in any part of a batch, on 1 and 2 threads);
 * inference the identity; save/load of the settings and the file's and
 * the builder's refusals.
 */
#include "check.h"
#include "engine_util.h"
#include "augment_util.h"
#include "rotation_golden.h"

#include <float.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

static const char *const fills[] = {"reflect", "wrap", "nearest", "constant"};

static lf_translation_options case_options(const struct rg_case *c) {
    lf_translation_options o = lf_translation_defaults(0.0f, 0.0f);
    o.fill_mode = (lf_fill_mode)c->fill_mode, o.interpolation = (lf_interpolation)c->interpolation;
    o.fill_value = c->fill_value;
    return o;
}

/* the map of one RG_H x RG_W x RG_C image for the angle degrees */
struct rotation_map {
    const lf_translation_options *o;
    float degrees;
};

static void rotation_map(const void *ctx, const float *x, float *y) {
    const struct rotation_map *c = ctx;
    lf__rotate_image(c->o, RG_H, RG_W, RG_C, c->degrees, x, y);
}

/* every golden case: nearest to the bit, bilinear within a float's
 * rounding (both sum in double, round once) */
static void test_golden(void) {
    enum { D = RG_H * RG_W * RG_C };
    for (int k = 0; k < RG_CASES; k++) {
        const struct rg_case *c = &rg_cases[k];
        lf_translation_options o = case_options(c);
        float y[D];
        lf__rotate_image(&o, RG_H, RG_W, RG_C, c->degrees, rg_image, y);
        int at;
        double worst = aug_worst_diff(y, c->y, D, &at);
        double tol = c->interpolation == LF_INTERP_NEAREST ? 0.0 : 1e-6;
        CHECK(worst <= tol, "%s %s, %g degrees: value %d is %.9g, Keras' %.9g", fills[c->fill_mode],
              c->interpolation ? "nearest" : "bilinear", (double)c->degrees, at, (double)y[at], (double)c->y[at]);
    }
}

/* The map is affine in x, so <g, column i of the central difference> must
 * be the gradient's entry i. */
static void test_gradient(void) {
    enum { D = RG_H * RG_W * RG_C };
    for (int k = 0; k < RG_CASES; k++) {
        const struct rg_case *c = &rg_cases[k];
        lf_translation_options o = case_options(c);
        float g[D], gx[D] = {0}, x[D];
        fill_uniform(g, D, -1, 1, 100 + (uint64_t)k);
        lf__rotate_image_grad(&o, RG_H, RG_W, RG_C, c->degrees, g, gx);
        memcpy(x, rg_image, sizeof x);
        double worst = aug_grad_error(rotation_map, &(struct rotation_map){&o, c->degrees}, x, g, gx, D, 0.5f);
        CHECK(worst < 1e-5, "%s %s, %g degrees: gradient off by %.3g", fills[c->fill_mode],
              c->interpolation ? "nearest" : "bilinear", (double)c->degrees, worst);
    }
}

/* x (H, W, 2) -> RandomRotation ("aug") -> Dense */
static lf_model *one_layer(float lo, float hi, lf_fill_mode fm, lf_interpolation ip, float fill, size_t H, size_t W,
                           int *node) {
    lf_model *m;
    int x = aug_input(&m, H, W, 2);
    *node = lf_random_rotation(m, x, lo, hi, fm, ip, fill, "aug");
    return aug_finish(m, *node);
}

/* Per image an angle 360 u degrees, u in the factor's range; the output
 * the map of the drawn angle; the same key the same bits, rows 10.. alone
 * as in the batch; inference the identity. */
static void test_draws(void) {
    enum { N = 64, H = 6, W = 5, D = H * W * 2 };
    float *x = malloc(N * D * sizeof *x), *y = malloc(N * D * sizeof *y);
    fill_uniform(x, N * D, -1, 1, 5);
    int node;
    lf_model *m = one_layer(-0.1f, 0.25f, LF_FILL_REFLECT, LF_INTERP_BILINEAR, 0.0f, H, W, &node);
    lf_translation_options o = lf_translation_defaults(0.0f, 0.0f);
    lf_ws a;
    lf_ws_init(&a, m, N, 0, NULL, 0);
    const float *xs[1] = {x};
    lf_draws k0 = {lf_draw_key(11, 2, 3), 0};
    lf_graph_forward_drawn(m, &a, xs, N, 1, &k0);
    int in_range = 1, low = 0, high = 0;
    for (int r = 0; r < N; r++) {
        const float *d = a.aux[node] + 2 * r;
        in_range &= d[0] == 1.0f && d[1] >= -36.0f - 1e-4 && d[1] <= 90.0f + 1e-4;
        low += d[1] < -18.0f, high += d[1] > 63.0f;
        lf__rotate_image(&o, H, W, 2, d[1], x + r * D, y + r * D);
    }
    CHECK(in_range && low >= 5 && high >= 5, "angles in [-36, 90] degrees, both ends reached (%d low, %d high)", low,
          high);
    CHECK(memcmp(y, a.out[node], N * D * sizeof *y) == 0, "the output is the map of the drawn angle");
    aug_check_same_draws(m, &a, node, x, N, D, &k0, "RandomRotation");
    aug_check_identity(m, node, x, N, D, "RandomRotation");
    lf_ws_free(&a);
    lf_model_free(m);
    free(x), free(y);
}

/* RandomRotation(0.2) on img */
static int rotation_layer(lf_model *m, int img) {
    return lf_random_rotation(m, img, -0.2f, 0.2f, LF_FILL_REFLECT, LF_INTERP_BILINEAR, 0.0f, NULL);
}

/* A fit's batches large enough to be shared out to the threads (by images):
 * the same weights on 1 and 2 threads. */
static void test_threads(void) { aug_check_threads(rotation_layer, 1.0f, "RandomRotation"); }

/* The file keeps the settings: a loaded model draws and maps the same
 * bits; bad settings in a file are refused, naming the layer. */
static void test_file(void) {
    enum { N = 8, H = 4, W = 7, D = H * W * 2 };
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/r.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    float x[N * D];
    fill_uniform(x, N * D, -1, 1, 9);
    lf_draws k = {lf_draw_key(5, 1, 1), 0};
    int node;
    lf_model *m = one_layer(-0.5f, 0.25f, LF_FILL_CONSTANT, LF_INTERP_NEAREST, 0.25f, H, W, &node);
    const char *want = "\"type\":\"RandomRotation\",\"inbound\":[\"x\"],\"factor\":[-0.5,0.25],"
                       "\"fill_mode\":\"constant\",\"interpolation\":\"nearest\",\"fill_value\":0.25}";
    aug_check_file(m, node, "aug", path, x, N, D, 2, &k, want, "RandomRotation");
    lf_model_free(m);
    static const struct {
        const char *from, *to, *msg;
    } cases[] = {
        {"[-0.5,0.25]", "[0.25,-0.5]", "'factor' must be a pair [lower, upper] with lower <= 1 and upper >= -1"},
        {"[-0.5,0.25]", "[-3.5,-1.5]", "'factor' must be a pair [lower, upper] with lower <= 1 and upper >= -1"},
        {"[-0.5,0.25]", "[-0.5,[[]]]", "'factor' must be a pair of finite numbers"},
        {"\\\"constant\\\"", "\\\"constanx\\\"",
         "'fill_mode' must be \"reflect\", \"wrap\", \"nearest\" or \"constant\""},
        {"\\\"nearest\\\"", "\\\"nearesx\\\"", "'interpolation' must be \"bilinear\" or \"nearest\""},
        {"\\\"fill_value\\\":0.25", "\\\"fill_value\\\":9e99", "'fill_value' must be a finite number"},
        {"\\\"factor\\\"", "\\\"factxr\\\"", "unknown field 'factxr'"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        aug_check_file_refusal(path, bad, "aug", c, cases[c].from, cases[c].to, cases[c].msg, 0);
    remove(bad);
    remove(path);
}

/* the builder's refusals name the layer and the value */
static void test_refusals(void) {
    static const struct {
        float f[2];
        int mode, interp, vector;
        float fill;
        const char *msg;
    } cases[] = {
        {{0.3f, 0.2f}, 0, 0, 0, 0,
         "RandomRotation: factor must be a range [lower, upper] with lower <= 1 and upper >= -1, got [0.3, 0.2]"},
        {{-3.0f, -1.5f}, 0, 0, 0, 0,
         "RandomRotation: factor must be a range [lower, upper] with lower <= 1 and upper >= -1, got [-3, -1.5]"},
        {{1.5f, 2.0f}, 0, 0, 0, 0,
         "RandomRotation: factor must be a range [lower, upper] with lower <= 1 and upper >= -1, got [1.5, 2]"},
        {{NAN, 0.1f}, 0, 0, 0, 0,
         "RandomRotation: factor must be a range [lower, upper] with lower <= 1 and upper >= -1, got [nan, 0.1]"},
        {{0, 0.2f}, 9, 0, 0, 0, "RandomRotation: unknown fill_mode 9"},
        {{0, 0.2f}, 0, 4, 0, 0, "RandomRotation: unknown interpolation 4"},
        {{0, 0.2f}, 0, 0, 0, INFINITY, "RandomRotation: fill_value must be finite"},
        {{0, 0.2f}, 0, 0, 1, 0,
         "RandomRotation: input 'v' has shape (None, 12); it needs rank 4 (batch, height, width, channels)"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int x = lf_input_shape(m, 3, (size_t[]){4, 5, 3}, LF_DTYPE_FLOAT32, "img"), v = lf_input(m, 12, "v");
        if (cases[c].vector) x = v;
        int id = lf_random_rotation(m, x, cases[c].f[0], cases[c].f[1], (lf_fill_mode)cases[c].mode,
                                    (lf_interpolation)cases[c].interp, cases[c].fill, NULL);
        CHECK(id < 0 && strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_rotation_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_golden();
    test_gradient();
    test_draws();
    test_threads();
    test_file();
    test_refusals();
    rmdir(tmpdir);
    return check_report("test_rotation");
}
