/*
 * test_color_ops.c — RandomGrayscale, RandomInvert, Solarization and
 * AutoContrast (src/layers/color_ops.c) against Keras 3's rules
 * (keras/src/layers/preprocessing/image_preprocessing/random_grayscale.py,
 * random_invert.py, solarization.py, auto_contrast.py): each row's draws
 * (the layer's aux) are the rule's numbers from the row's stream, and the
 * output the rule recomputed in double from them; hand-computed pixels; the
 * random layers the identity at inference, AutoContrast not; the same bits
 * from the same key in any part of a batch and on 1 and 2 threads; the
 * model file (non-default fields only) and its refusals; the builders'
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

enum { K_GRAY, K_INVERT, K_SOLAR, K_AUTO };
static const char *const kind_name[] = {"RandomGrayscale", "RandomInvert", "Solarization", "AutoContrast"};

/* one layer "aug" of kind k on x (H, W, C) -> Flatten -> Dense */
static lf_model *one_layer(int k, const float *f, const float *tf, const float *vr, size_t H, size_t W, size_t C,
                           int *node) {
    lf_model *m;
    int x = aug_input(&m, H, W, C);
    switch (k) {
    case K_GRAY: *node = lf_random_grayscale(m, x, f[0], "aug"); break;
    case K_INVERT: *node = lf_random_invert(m, x, f[0], f[1], vr[0], vr[1], "aug"); break;
    case K_SOLAR: *node = lf_solarization(m, x, f[0], f[1], tf[0], tf[1], vr[0], vr[1], "aug"); break;
    default: *node = lf_auto_contrast(m, x, vr[0], vr[1], "aug"); break;
    }
    return aug_finish(m, *node);
}

/* Keras' rules for one image (H W pixels, C channels) in double, with the
 * row's draws d (aux) */
static void keras_rule(int k, size_t HW, size_t C, const float *d, const float *vr, const float *x, double *y) {
    double lo = vr[0], hi = vr[1];
    for (size_t p = 0; p < HW; p++)
        for (size_t c = 0; c < C; c++) {
            size_t j = p * C + c;
            double v = x[j];
            if (k == K_GRAY && d[0] != 0.0f && C == 3)
                v = 0.2989 * x[p * 3] + 0.5870 * x[p * 3 + 1] + 0.1140 * x[p * 3 + 2];
            else if (k == K_INVERT && d[0] != 0.0f)
                v = hi - v;
            else if (k == K_SOLAR && d[0] != 0.0f) {
                double z = (v - lo) / (hi - lo) * 255.0;
                double r = fmin(fmax(z + d[1], 0.0), 255.0);
                r = r < d[2] ? r : 255.0 - r;
                v = r / 255.0 * (hi - lo) + lo;
            }
            y[j] = v;
        }
    if (k != K_AUTO) return;
    for (size_t c = 0; c < C; c++) {
        double mn = INFINITY, mx = -INFINITY;
        for (size_t p = 0; p < HW; p++) mn = fmin(mn, x[p * C + c]), mx = fmax(mx, x[p * C + c]);
        for (size_t p = 0; p < HW; p++)
            y[p * C + c] = mx > mn ? lo + (x[p * C + c] - mn) / (mx - mn) * (hi - lo) : x[p * C + c];
    }
}

/* The draws and the values: each row's draws are the rule's numbers from
 * its stream (draw 0 and 1 of lf_draw_stream(key, 0, row)), the output
 * Keras' rule with them; the same key the same bits, rows 10.. alone as in
 * the batch; inference the identity (AutoContrast: its map). */
static void test_values(void) {
    enum { N = 64, H = 3, W = 4, C = 3, D = H * W * C };
    float *x = malloc(N * D * sizeof *x);
    double *want = malloc(D * sizeof *want);
    static const struct {
        int k;
        float f[2], tf[2], vr[2];
        double tol;
    } cases[] = {
        {K_GRAY, {0.5f, 0}, {0, 0}, {0, 255}, 3e-5},
        {K_INVERT, {0.2f, 0.7f}, {0, 0}, {-10, 200}, 3e-5},
        {K_SOLAR, {0.1f, 0.3f}, {0.2f, 0.9f}, {0, 255}, 3e-5},
        {K_SOLAR, {0.0f, 0.0f}, {0.5f, 0.5f}, {-1, 1}, 1e-6},
        {K_AUTO, {0, 0}, {0, 0}, {0, 255}, 6e-5},
        {K_AUTO, {0, 0}, {0, 0}, {-1, 2}, 1e-6},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int k = cases[c].k, node;
        const float *vr = cases[c].vr, *f = cases[c].f, *tf = cases[c].tf;
        fill_uniform(x, N * D, vr[0], vr[1], 7 + c);
        if (k == K_AUTO)
            for (int p = 0; p < H * W; p++) x[5 * D + p * C + 1] = 0.25f; /* row 5, channel 1: constant */
        lf_model *m = one_layer(k, f, tf, vr, H, W, C, &node);
        lf_ws ws;
        lf_ws_init(&ws, m, N, 0, NULL, 0);
        const float *xs[1] = {x};
        lf_draws k0 = {lf_draw_key(11, 2, 3), 0};
        lf_graph_forward_drawn(m, &ws, xs, N, 1, &k0);
        size_t A = m->nodes[node].aux_per_row;
        int draws_ok = 1, applied = 0;
        double worst = 0;
        for (int r = 0; r < N; r++) {
            const float *d = A ? ws.aux[node] + A * r : (const float[]){1};
            uint64_t s = lf_draw_stream(k0.key, 0, (uint64_t)r);
            float u0 = lf_draw_uniform(s, 0), u1 = lf_draw_uniform(s, 1);
            if (k == K_GRAY) draws_ok &= d[0] == (u0 < f[0]);
            if (k == K_INVERT) draws_ok &= d[0] == (u1 < f[0] + (f[1] - f[0]) * u0);
            if (k == K_SOLAR)
                draws_ok &= d[0] == 1.0f && d[1] == f[0] + (f[1] * 255.0f - f[0]) * u0 &&
                            d[2] == tf[0] + (tf[1] * 255.0f - tf[0]) * u1;
            applied += d[0] != 0.0f;
            keras_rule(k, H * W, C, d, vr, x + r * D, want);
            for (int j = 0; j < D; j++) worst = fmax(worst, fabs(want[j] - ws.out[node][r * D + j]));
        }
        CHECK(draws_ok, "case %zu (%s): the draws are Keras' rule on the row's stream", c, kind_name[k]);
        CHECK(k != K_GRAY || (applied > 16 && applied < 48), "case %zu: %d of %d converted (factor 0.5)", c, applied,
              N);
        CHECK(k != K_INVERT || (applied > 16 && applied < 48), "case %zu: %d of %d inverted (p in [0.2, 0.7])", c,
              applied, N);
        CHECK(worst <= cases[c].tol, "case %zu (%s): off Keras' rule by %.3g", c, kind_name[k], worst);
        if (k != K_AUTO) {
            aug_check_same_draws(m, &ws, node, x, N, D, &k0, kind_name[k]);
            aug_check_identity(m, node, x, N, D, kind_name[k]);
        } else { /* inference: the same map */
            float *p = malloc(N * D * sizeof *p), **outs = calloc(m->n_nodes, sizeof *outs);
            outs[node] = p;
            CHECK(lf__forward_nodes(m, xs, N, outs) == LF_OK && memcmp(p, ws.out[node], N * D * sizeof *p) == 0,
                  "case %zu: AutoContrast maps the same at inference", c);
            CHECK(memcmp(p + 5 * D + 1, x + 5 * D + 1, sizeof *p) == 0, "case %zu: a constant channel is kept", c);
            free(p), free(outs);
        }
        lf_ws_free(&ws);
        lf_model_free(m);
    }
    free(x), free(want);
}

/* Pixels by hand: a 1 x 3 image, every row converted / inverted /
 * solarized (factor 1, threshold 0), AutoContrast's stretch. */
static void test_by_hand(void) {
    static const float x[9] = {10, 20, 30, 200, 100, 50, 105, 60, 40};
    static const struct {
        int k;
        float f[2], tf[2], vr[2], y[9];
    } cases[] = {
        /* 0.2989 * 10 + 0.5870 * 20 + 0.1140 * 30 = 18.149; 59.78 + 58.7 + 5.7 = 124.18;
         * 31.3845 + 35.22 + 4.56 = 71.1645 */
        {K_GRAY, {1, 0}, {0, 0}, {0, 255}, {18.149f, 18.149f, 18.149f, 124.18f, 124.18f, 124.18f, 71.1645f, 71.1645f, 71.1645f}},
        {K_INVERT, {1, 1}, {0, 0}, {0, 255}, {245, 235, 225, 55, 155, 205, 150, 195, 215}},
        /* Keras: value_range[1] - x, the low end unused */
        {K_INVERT, {1, 1}, {0, 0}, {100, 300}, {290, 280, 270, 100, 200, 250, 195, 240, 260}},
        /* threshold 0: every value 255 - x */
        {K_SOLAR, {0, 0}, {0, 0}, {0, 255}, {245, 235, 225, 55, 155, 205, 150, 195, 215}},
        /* value_range (0, 510): z = x / 2, 255 - z, back times 2: 510 - x */
        {K_SOLAR, {0, 0}, {0, 0}, {0, 510}, {500, 490, 480, 310, 410, 460, 405, 450, 470}},
        /* channel 0: 10..200, 1: 20..100, 2: 30..50; the third pixel halfway in each */
        {K_AUTO, {0, 0}, {0, 0}, {0, 255}, {0, 0, 0, 255, 255, 255, 127.5f, 127.5f, 127.5f}},
        {K_AUTO, {0, 0}, {0, 0}, {0, 1}, {0, 0, 0, 1, 1, 1, 0.5f, 0.5f, 0.5f}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int node;
        lf_model *m = one_layer(cases[c].k, cases[c].f, cases[c].tf, cases[c].vr, 1, 3, 3, &node);
        lf_ws ws;
        lf_ws_init(&ws, m, 1, 0, NULL, 0);
        const float *xs[1] = {x};
        lf_draws k0 = {lf_draw_key(3, 0, 0), 0};
        lf_graph_forward_drawn(m, &ws, xs, 1, 1, &k0);
        int at;
        double worst = aug_worst_diff(ws.out[node], cases[c].y, 9, &at);
        CHECK(worst < 2e-5 * fabs(cases[c].y[at]) + 1e-6, "case %zu (%s): value %d is %.9g, by hand %.9g", c,
              kind_name[cases[c].k], at, (double)ws.out[node][at], (double)cases[c].y[at]);
        lf_ws_free(&ws);
        lf_model_free(m);
    }
}

/* all four on img (0..255), then to [0, 1] */
static int color_ops_layers(lf_model *m, int img) {
    int h = lf_random_grayscale(m, img, 0.5f, NULL);
    h = lf_random_invert(m, h, 0.0f, 0.5f, 0.0f, 255.0f, NULL);
    h = lf_solarization(m, h, 0.0f, 0.2f, 0.3f, 0.8f, 0.0f, 255.0f, NULL);
    h = lf_auto_contrast(m, h, 0.0f, 255.0f, NULL);
    return lf_rescaling(m, h, 1.0f / 255, 0.0f, NULL);
}

static void test_threads(void) {
    aug_check_threads(color_ops_layers, 255.0f, "RandomGrayscale, RandomInvert, Solarization, AutoContrast");
}

/* The file keeps the settings (non-default only): a loaded model draws
 * and maps the same bits, predicts the same bits; bad fields refused. */
static void test_file(void) {
    enum { N = 8, H = 4, W = 5, D = H * W * 3 };
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/c.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    float x[N * D];
    fill_uniform(x, N * D, 0, 255, 9);
    lf_draws key = {lf_draw_key(5, 1, 1), 0};
    static const struct {
        int k;
        float f[2], tf[2], vr[2];
        const char *want;
    } files[] = {
        {K_GRAY, {0.25f, 0}, {0, 0}, {0, 255}, "\"type\":\"RandomGrayscale\",\"inbound\":[\"x\"],\"factor\":0.25}"},
        {K_GRAY, {0.5f, 0}, {0, 0}, {0, 255}, "\"type\":\"RandomGrayscale\",\"inbound\":[\"x\"]}"},
        {K_INVERT, {0.5f, 0.75f}, {0, 0}, {0, 255},
         "\"type\":\"RandomInvert\",\"inbound\":[\"x\"],\"factor\":[0.5,0.75]}"},
        {K_INVERT, {0, 1}, {0, 0}, {-1, 1}, "\"type\":\"RandomInvert\",\"inbound\":[\"x\"],\"value_range\":[-1,1]}"},
        {K_SOLAR, {0.25f, 0.5f}, {0.125f, 0.75f}, {0, 255},
         "\"type\":\"Solarization\",\"inbound\":[\"x\"],\"addition_factor\":[0.25,0.5],\"threshold_factor\":[0.125,"
         "0.75]}"},
        {K_SOLAR, {0, 0}, {0, 0}, {0, 255}, "\"type\":\"Solarization\",\"inbound\":[\"x\"]}"},
        {K_AUTO, {0, 0}, {0, 0}, {0, 1}, "\"type\":\"AutoContrast\",\"inbound\":[\"x\"],\"value_range\":[0,1]}"},
    };
    for (size_t c = 0; c < sizeof files / sizeof files[0]; c++) {
        int node, k = files[c].k;
        lf_model *m = one_layer(k, files[c].f, files[c].tf, files[c].vr, H, W, 3, &node);
        aug_check_file(m, node, "aug", path, x, N, D, m->nodes[node].aux_per_row, &key, files[c].want, kind_name[k]);
        const float *xs[1] = {x};
        lf_model *l = check_reload(m, xs, N, 1, path, kind_name[k]);
        lf_model_free(l);
        lf_model_free(m);
    }
    /* refusals: edits of the first file of each kind */
    static const struct {
        int k;
        float f[2], tf[2], vr[2];
        const char *from, *to, *msg;
    } cases[] = {
        {K_GRAY, {0.25f, 0}, {0, 0}, {0, 255}, ":0.25}", ":1.25}", "'factor' must be a number in [0, 1]"},
        {K_GRAY, {0.25f, 0}, {0, 0}, {0, 255}, ":0.25}", ":[25]}", "'factor' must be a number in [0, 1]"},
        {K_INVERT, {0.5f, 0.75f}, {0, 0}, {0, 255}, "[0.5,0.75]", "[0.5,-0.7]",
         "'factor' must be a pair [lower, upper] with lower <= upper, lower <= 1 and upper >= 0"},
        {K_INVERT, {0.5f, 0.75f}, {0, 0}, {0, 255}, "[0.5,0.75]", "[0.5,[ ] ]", "'factor' must be a pair of finite numbers"},
        {K_SOLAR, {0.25f, 0.5f}, {0.125f, 0.5f}, {0, 255}, "[0.125,0.5]", "[0.125,1.5]",
         "'addition_factor' and 'threshold_factor' must be pairs [lower, upper] with 0 <= lower <= upper <= 1"},
        {K_SOLAR, {0.25f, 0.5f}, {0.125f, 0.5f}, {0, 1}, "[0,1]", "[1,0]",
         "'value_range' must be a pair [low, high] with low < high"},
        {K_AUTO, {0, 0}, {0, 0}, {0, 1}, "[0,1]", "[1,1]", "'value_range' must be a pair [low, high] with low < high"},
        {K_AUTO, {0, 0}, {0, 0}, {0, 1}, "\\\"value_range\\\"", "\\\"value_rangx\\\"", "unknown field 'value_rangx'"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int node;
        lf_model *m = one_layer(cases[c].k, cases[c].f, cases[c].tf, cases[c].vr, H, W, 3, &node);
        CHECK(lf_model_save(m, path, 0) == LF_OK, "case %zu: save: %s", c, lf_model_error(m));
        aug_check_file_refusal(path, bad, "aug", c, cases[c].from, cases[c].to, cases[c].msg, 0);
        lf_model_free(m);
        remove(bad);
    }
    remove(path);
}

/* the builders' refusals name the layer and the value */
static void test_refusals(void) {
    static const struct {
        int k;
        float f[2], tf[2], vr[2];
        size_t C;
        int vector;
        const char *msg;
    } cases[] = {
        {K_GRAY, {1.5f, 0}, {0, 0}, {0, 255}, 3, 0, "RandomGrayscale: factor must be in [0, 1], got 1.5"},
        {K_GRAY, {NAN, 0}, {0, 0}, {0, 255}, 3, 0, "RandomGrayscale: factor must be in [0, 1], got nan"},
        {K_GRAY, {0.5f, 0}, {0, 0}, {0, 255}, 4, 0,
         "RandomGrayscale: images need 3 channels (RGB) or 1 (grayscale), got 4"},
        {K_INVERT, {0.5f, 0.2f}, {0, 0}, {0, 255}, 3, 0,
         "RandomInvert: factor must be a range [lower, upper] with lower <= upper, lower <= 1 and upper >= 0, got "
         "[0.5, 0.2]"},
        {K_INVERT, {-0.5f, -0.2f}, {0, 0}, {0, 255}, 3, 0,
         "RandomInvert: factor must be a range [lower, upper] with lower <= upper, lower <= 1 and upper >= 0, got "
         "[-0.5, -0.2]"},
        {K_INVERT, {0, 1}, {0, 0}, {0, INFINITY}, 3, 0,
         "RandomInvert: value_range must be two finite numbers, got [0, inf]"},
        {K_SOLAR, {0, 1.5f}, {0, 0}, {0, 255}, 3, 0,
         "Solarization: addition_factor and threshold_factor must be ranges [lower, upper] with 0 <= lower <= upper "
         "<= 1, got [0, 1.5] and [0, 0]"},
        {K_SOLAR, {0, 0}, {-0.1f, 0.5f}, {0, 255}, 3, 0,
         "Solarization: addition_factor and threshold_factor must be ranges [lower, upper] with 0 <= lower <= upper "
         "<= 1, got [0, 0] and [-0.1, 0.5]"},
        {K_SOLAR, {0, 0}, {0, 0}, {255, 0}, 3, 0,
         "Solarization: value_range must be [low, high] with low < high (Keras sorts it), got [255, 0]"},
        {K_AUTO, {0, 0}, {0, 0}, {1, 1}, 3, 0,
         "AutoContrast: value_range must be [low, high] with low < high (Keras sorts it), got [1, 1]"},
        {K_AUTO, {0, 0}, {0, 0}, {0, 1}, 3, 1,
         "AutoContrast: input 'v' has shape (None, 12); it needs rank 4 (batch, height, width, channels)"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int x = lf_input_shape(m, 3, (size_t[]){4, 5, cases[c].C}, LF_DTYPE_FLOAT32, "img"), v = lf_input(m, 12, "v");
        if (cases[c].vector) x = v;
        const float *f = cases[c].f, *tf = cases[c].tf, *vr = cases[c].vr;
        int id;
        switch (cases[c].k) {
        case K_GRAY: id = lf_random_grayscale(m, x, f[0], NULL); break;
        case K_INVERT: id = lf_random_invert(m, x, f[0], f[1], vr[0], vr[1], NULL); break;
        case K_SOLAR: id = lf_solarization(m, x, f[0], f[1], tf[0], tf[1], vr[0], vr[1], NULL); break;
        default: id = lf_auto_contrast(m, x, vr[0], vr[1], NULL); break;
        }
        CHECK(id < 0 && strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_cops_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_values();
    test_by_hand();
    test_threads();
    test_file();
    test_refusals();
    rmdir(tmpdir);
    return check_report("test_color_ops");
}
