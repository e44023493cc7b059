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
#include "io/safetensors.h"
#include "rotation_golden.h"

#include <float.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static char tmpdir[64];

static int has(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }

static const char *const fills[] = {"reflect", "wrap", "nearest", "constant"};

static lf_translation_options case_options(const struct rg_case *c) {
    lf_translation_options o = lf_translation_defaults(0.0f, 0.0f);
    o.fill_mode = (lf_fill_mode)c->fill_mode, o.interpolation = (lf_interpolation)c->interpolation;
    o.fill_value = c->fill_value;
    return o;
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
        double worst = 0;
        int at = 0;
        for (int i = 0; i < D; i++) {
            double e = fabs((double)y[i] - (double)c->y[i]);
            if (e > worst || isnan(e)) worst = e, at = i;
        }
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
        float g[D], gx[D] = {0}, x[D], yp[D], ym[D];
        fill_uniform(g, D, -1, 1, 100 + (uint64_t)k);
        lf__rotate_image_grad(&o, RG_H, RG_W, RG_C, c->degrees, g, gx);
        memcpy(x, rg_image, sizeof x);
        double worst = 0;
        const float h = 0.5f;
        for (int i = 0; i < D; i++) {
            x[i] = rg_image[i] + h;
            lf__rotate_image(&o, RG_H, RG_W, RG_C, c->degrees, x, yp);
            x[i] = rg_image[i] - h;
            lf__rotate_image(&o, RG_H, RG_W, RG_C, c->degrees, x, ym);
            x[i] = rg_image[i];
            double fd = 0;
            for (int j = 0; j < D; j++) fd += (double)g[j] * ((double)yp[j] - (double)ym[j]) / (2.0 * h);
            worst = fmax(worst, fabs(fd - (double)gx[i]));
        }
        CHECK(worst < 1e-5, "%s %s, %g degrees: gradient off by %.3g", fills[c->fill_mode],
              c->interpolation ? "nearest" : "bilinear", (double)c->degrees, worst);
    }
}

/* x (H, W, 2) -> RandomRotation ("aug") -> Dense */
static lf_model *one_layer(float lo, float hi, lf_fill_mode fm, lf_interpolation ip, float fill, size_t H, size_t W,
                           int *node) {
    lf_model *m;
    lf_model_create(&m, 3);
    int x = lf_input_shape(m, 3, (size_t[]){H, W, 2}, LF_DTYPE_FLOAT32, "x");
    *node = lf_random_rotation(m, x, lo, hi, fm, ip, fill, "aug");
    int out = lf_dense(m, lf_flatten(m, *node, NULL), 1, LF_ACT_LINEAR, 1, "o");
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    return m;
}

/* Per image an angle 360 u degrees, u in the factor's range; the output
 * the map of the drawn angle; the same key the same bits, rows 10.. alone
 * as in the batch; inference the identity. */
static void test_draws(void) {
    enum { N = 64, H = 6, W = 5, D = H * W * 2 };
    float *x = malloc(N * D * sizeof *x), *y = malloc(N * D * sizeof *y), *p = malloc(N * D * sizeof *p);
    fill_uniform(x, N * D, -1, 1, 5);
    int node;
    lf_model *m = one_layer(-0.1f, 0.25f, LF_FILL_REFLECT, LF_INTERP_BILINEAR, 0.0f, H, W, &node);
    lf_translation_options o = lf_translation_defaults(0.0f, 0.0f);
    lf_ws a, b;
    lf_ws_init(&a, m, N, 0, NULL, 0);
    lf_ws_init(&b, m, N, 0, NULL, 0);
    const float *xs[1] = {x}, *xp[1] = {x + 10 * D};
    lf_draws k0 = {lf_draw_key(11, 2, 3), 0}, k10 = {k0.key, 10};
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
    lf_graph_forward_drawn(m, &b, xs, N, 1, &k0);
    CHECK(memcmp(a.out[node], b.out[node], N * D * sizeof(float)) == 0, "the same key: the same bits");
    lf_graph_forward_drawn(m, &b, xp, N - 10, 1, &k10);
    CHECK(memcmp(a.out[node] + 10 * D, b.out[node], (N - 10) * D * sizeof(float)) == 0,
          "rows 10.. alone (row0 10) as in the whole batch");
    float *outs[4] = {NULL, p, NULL, NULL};
    CHECK(lf__forward_nodes(m, xs, N, outs) == LF_OK && memcmp(p, x, N * D * sizeof *p) == 0,
          "inference: the identity");
    lf_ws_free(&a), lf_ws_free(&b);
    lf_model_free(m);
    free(x), free(y), free(p);
}

/* A fit's batches large enough to be shared out to the threads (by images):
 * the same weights on 1 and 2 threads. */
static void test_threads(void) {
#ifdef _OPENMP
    enum { N = 48, H = 24, W = 24, D = H * W * 3 };
    int initial = omp_get_max_threads();
    float *x = malloc(N * D * sizeof *x), *y = malloc(N * sizeof *y), *w[2] = {0};
    fill_uniform(x, N * D, 0, 1, 13);
    for (int r = 0; r < N; r++) y[r] = (float)(r % 3) - 1.0f;
    size_t np = 0;
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(2 - t);
        lf_model *m;
        lf_model_create(&m, 5);
        int h = lf_input_shape(m, 3, (size_t[]){H, W, 3}, LF_DTYPE_FLOAT32, "img");
        h = lf_random_rotation(m, h, -0.2f, 0.2f, LF_FILL_REFLECT, LF_INTERP_BILINEAR, 0.0f, NULL);
        h = lf_conv2d(m, h, 2, 3, 3, 2, 2, LF_PADDING_VALID, LF_ACT_TANH, 1, NULL);
        h = lf_dense(m, lf_flatten(m, h, NULL), 1, LF_ACT_LINEAR, 1, "o");
        CHECK(lf_model_compile(m, h, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
        lf_fit_options opt = lf_fit_defaults();
        opt.epochs = 2, opt.batch_size = 32, opt.seed = 4;
        const float *xs[1] = {x};
        CHECK(lf_model_fit(m, xs, y, N, &opt) == LF_OK, "fit: %s", lf_model_error(m));
        np = m->n_params;
        w[t] = malloc(np * sizeof(float));
        memcpy(w[t], m->params, np * sizeof(float));
        lf_model_free(m);
    }
    CHECK(memcmp(w[0], w[1], np * sizeof(float)) == 0, "weights: 2 and 1 threads differ");
    omp_set_num_threads(initial);
    free(w[0]), free(w[1]), free(x), free(y);
#endif
}

/* The file keeps the settings: a loaded model draws and maps the same
 * bits; bad settings in a file are refused, naming the layer. */
static void test_file(void) {
    enum { N = 8, H = 4, W = 7, D = H * W * 2 };
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/r.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    float x[N * D];
    fill_uniform(x, N * D, -1, 1, 9);
    const float *xs[1] = {x};
    lf_draws k = {lf_draw_key(5, 1, 1), 0};
    int node;
    lf_model *m = one_layer(-0.5f, 0.25f, LF_FILL_CONSTANT, LF_INTERP_NEAREST, 0.25f, H, W, &node), *l;
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
    int nl = lf_node_find(l, "aug");
    lf_ws a, b;
    lf_ws_init(&a, m, N, 0, NULL, 0);
    lf_ws_init(&b, l, N, 0, NULL, 0);
    lf_graph_forward_drawn(m, &a, xs, N, 1, &k);
    lf_graph_forward_drawn(l, &b, xs, N, 1, &k);
    CHECK(nl == node && memcmp(a.out[node], b.out[nl], N * D * sizeof(float)) == 0 &&
              memcmp(a.aux[node], b.aux[nl], 2 * N * sizeof(float)) == 0,
          "the loaded layer draws and maps the same bits");
    lf_ws_free(&a), lf_ws_free(&b);
    lf_model_free(l);
    lf_st_file f;
    lf_err e;
    CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
    const char *arch = lf_st_metadata(&f, "architecture");
    const char *want = "\"type\":\"RandomRotation\",\"inbound\":[\"x\"],\"factor\":[-0.5,0.25],"
                       "\"fill_mode\":\"constant\",\"interpolation\":\"nearest\",\"fill_value\":0.25}";
    CHECK(has(arch, want), "the file holds %s:\n%s", want, arch ? arch : "(none)");
    lf_st_free(&f);
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
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int edited = check_edit_file(path, bad, cases[c].from, cases[c].to);
        CHECK(edited, "case %zu: %s in the file", c, cases[c].from);
        if (!edited) continue;
        lf_model_create(&l, 0);
        char msg[512];
        snprintf(msg, sizeof msg, "'%s': architecture: layer 'aug': %s", bad, cases[c].msg);
        lf_status st = lf_model_load(l, bad);
        CHECK(st == LF_ERR_FORMAT && has(lf_model_error(l), msg), "case %zu: want \"%s\", got \"%s\"", c, msg,
              lf_model_error(l));
        lf_model_free(l);
    }
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
