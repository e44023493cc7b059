/*
 * test_translation.c — RandomTranslation against Keras 3: the map of one
 * image for every fill_mode x interpolation and shifts positive, negative,
 * fractional, at a half and larger than the image, against golden values
 * from Keras' numpy backend (tests/make_translation_golden.py ->
 * tests/translation_golden.h); its gradient (the transpose) by central
 * differences with the shift fixed; the draws (a fraction of H and W, not
 * rounded, in the factors' ranges, per image, the same bits from the same
 * key); lf_random_translation's whole-pixel form; save/load of the settings
 * and the file's refusals; the builder's refusals; images one pixel high
 * or wide.
 */
#include "check.h"
#include "engine_util.h"
#include "augment_util.h"
#include "translation_golden.h"

#include <float.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

static lf_translation_options case_options(const struct tg_case *c) {
    lf_translation_options o = lf_translation_defaults(0.5f, 0.5f);
    o.fill_mode = (lf_fill_mode)c->fill_mode, o.interpolation = (lf_interpolation)c->interpolation;
    o.fill_value = c->fill_value;
    return o;
}

static const char *const fills[] = {"reflect", "wrap", "nearest", "constant"};

/* the map of one TG_H x TG_W x TG_C image for the shift d */
struct translation_map {
    const lf_translation_options *o;
    const float *d;
};

static void translation_map(const void *ctx, const float *x, float *y) {
    const struct translation_map *c = ctx;
    lf__translate_image(c->o, TG_H, TG_W, TG_C, c->d, x, y);
}

/* every golden case: nearest to the bit (copies of pixels or the fill),
 * bilinear within a float's rounding (both sum in double, round once) */
static void test_golden(void) {
    enum { D = TG_H * TG_W * TG_C };
    for (int k = 0; k < TG_CASES; k++) {
        const struct tg_case *c = &tg_cases[k];
        lf_translation_options o = case_options(c);
        float y[D], d[2] = {c->dy, c->dx};
        lf__translate_image(&o, TG_H, TG_W, TG_C, d, tg_image, y);
        int at;
        double worst = aug_worst_diff(y, c->y, D, &at);
        double tol = c->interpolation == LF_INTERP_NEAREST ? 0.0 : 1e-6;
        CHECK(worst <= tol, "%s %s, shift (%g, %g): value %d is %.9g, Keras' %.9g", fills[c->fill_mode],
              c->interpolation ? "nearest" : "bilinear", (double)c->dy, (double)c->dx, at, (double)y[at],
              (double)c->y[at]);
    }
}

/* The map is affine in x (linear plus the fill), so the central difference
 * (f(x + h e_i) - f(x - h e_i)) / 2h is column i of its Jacobian up to
 * float rounding; <g, column i> must be the gradient's entry i. */
static void test_gradient(void) {
    enum { D = TG_H * TG_W * TG_C };
    for (int k = 0; k < TG_CASES; k++) {
        const struct tg_case *c = &tg_cases[k];
        lf_translation_options o = case_options(c);
        float d[2] = {c->dy, c->dx}, g[D], gx[D] = {0}, x[D];
        fill_uniform(g, D, -1, 1, 100 + (uint64_t)k);
        lf__translate_image_grad(&o, TG_H, TG_W, TG_C, d, g, gx);
        memcpy(x, tg_image, sizeof x);
        double worst = aug_grad_error(translation_map, &(struct translation_map){&o, d}, x, g, gx, D, 0.5f);
        CHECK(worst < 1e-5, "%s %s, shift (%g, %g): gradient off by %.3g", fills[c->fill_mode],
              c->interpolation ? "nearest" : "bilinear", (double)c->dy, (double)c->dx, worst);
    }
}

/* An image one pixel high (or wide): every mode but constant extends that
 * axis with its one pixel, so a shift along it, whole or not, keeps the
 * image's bits; constant mixes in the fill by the shift's weights. */
static void test_thin(void) {
    enum { N = 4, C = 2, D = N * C };
    float x[D], y[D];
    fill_uniform(x, D, -1, 1, 21);
    static const float shifts[] = {0.7f, -3.2f, 5.5f, -0.5f, 0.5f, 0.3f, 1.0f};
    for (int thin_w = 0; thin_w < 2; thin_w++)
        for (int mode = 0; mode < 4; mode++)
            for (int ip = 0; ip < 2; ip++)
                for (size_t k = 0; k < sizeof shifts / sizeof *shifts; k++) {
                    lf_translation_options o = case_options(&(struct tg_case){.fill_mode = mode, .interpolation = ip});
                    o.fill_value = 2.0f;
                    float d[2] = {thin_w ? 0.0f : shifts[k], thin_w ? shifts[k] : 0.0f};
                    size_t H = thin_w ? N : 1, W = thin_w ? 1 : N;
                    lf__translate_image(&o, H, W, C, d, x, y);
                    if (mode != LF_FILL_CONSTANT) {
                        CHECK(memcmp(x, y, sizeof x) == 0, "%s %s, %s shift %g of a thin image: changed",
                              fills[mode], ip ? "nearest" : "bilinear", thin_w ? "horizontal" : "vertical",
                              (double)shifts[k]);
                        continue;
                    }
                    /* constant: the pixel's share is what is left of the
                     * shift's one tap on it (nearest: all or nothing) */
                    double u = shifts[k], s = fabs(u);
                    double share = ip ? (u > -0.5 && u <= 0.5) /* floor(0.5 - u) == 0 */ : s >= 1.0 ? 0.0 : 1.0 - s;
                    int ok = 1;
                    for (int i = 0; i < D; i++) ok &= fabs(y[i] - (share * x[i] + (1.0 - share) * 2.0)) < 1e-6;
                    CHECK(ok, "constant %s, %s shift %g of a thin image: a share %g of the pixel",
                          ip ? "nearest" : "bilinear", thin_w ? "horizontal" : "vertical", (double)shifts[k], share);
                }
}

/* a model x -> RandomTranslation(opt) -> Dense (o: the translation's node) */
static lf_model *one_layer(const lf_translation_options *opt, size_t H, size_t W, int *tr) {
    lf_model *m;
    int x = aug_input(&m, H, W, 2);
    *tr = opt ? lf_random_translation_opt(m, x, opt, "shift") : lf_random_translation(m, x, 0.3f, 0.3f, "shift");
    return aug_finish(m, *tr);
}

/* Draws: per image, u H and v W in the ranges and not rounded (Keras);
 * lf_random_translation's rounded; the same key the same bits, in any part
 * of the batch (row0); the output the kernel's map of the drawn shift;
 * inference the identity. */
static void test_draws(void) {
    enum { N = 64, H = 6, W = 5, D = H * W * 2 };
    float *x = malloc(N * D * sizeof *x), *y = malloc(N * D * sizeof *y);
    fill_uniform(x, N * D, -1, 1, 5);
    lf_translation_options o = lf_translation_defaults(0.0f, 0.0f);
    o.height_lower = -0.2f, o.height_upper = 0.5f, o.width_lower = 0.1f, o.width_upper = 0.3f;
    int tr;
    lf_model *m = one_layer(&o, H, W, &tr);
    lf_ws a;
    lf_ws_init(&a, m, N, 0, NULL, 0);
    const float *xs[1] = {x};
    lf_draws k0 = {lf_draw_key(11, 2, 3), 0};
    lf_graph_forward_drawn(m, &a, xs, N, 1, &k0);
    int in_range = 1, fractional = 0, low = 0, high = 0, same = 1;
    double ulo = 1, uhi = -1;
    for (int r = 0; r < N; r++) {
        const float *d = a.aux[tr] + 2 * r;
        double u = d[0] / H, v = d[1] / W;
        in_range &= u >= -0.2 - 1e-6 && u <= 0.5 + 1e-6 && v >= 0.1 - 1e-6 && v <= 0.3 + 1e-6;
        fractional += d[0] != floorf(d[0]) && d[1] != floorf(d[1]);
        low += u < 0, high += u > 0.35;
        ulo = fmin(ulo, u), uhi = fmax(uhi, u);
        lf__translate_image(&o, H, W, 2, d, x + r * D, y + r * D);
    }
    CHECK(in_range && low >= 5 && high >= 5, "shifts in [-0.2, 0.5] H x [0.1, 0.3] W: u from %.3f to %.3f", ulo, uhi);
    CHECK(fractional >= N - 2, "%d of %d shifts fractional (not rounded)", fractional, N);
    same = memcmp(y, a.out[tr], N * D * sizeof *y) == 0;
    CHECK(same, "the layer's output is the map of its drawn shift");
    aug_check_same_draws(m, &a, tr, x, N, D, &k0, "RandomTranslation");
    aug_check_identity(m, tr, x, N, D, "RandomTranslation");
    lf_ws_free(&a);
    lf_model_free(m);

    /* lf_random_translation: whole pixels, round(u H) of its u in [-0.3, 0.3] */
    m = one_layer(NULL, H, W, &tr);
    lf_ws_init(&a, m, N, 0, NULL, 0);
    lf_graph_forward_drawn(m, &a, xs, N, 1, &k0);
    int whole = 1, moved = 0;
    for (int r = 0; r < N; r++) {
        const float *d = a.aux[tr] + 2 * r;
        whole &= d[0] == floorf(d[0]) && d[1] == floorf(d[1]) && fabsf(d[0]) <= 2 && fabsf(d[1]) <= 2;
        moved += d[0] != 0 || d[1] != 0;
        float zero[D];
        lf_translation_options c = lf_translation_defaults(0, 0);
        c.fill_mode = LF_FILL_CONSTANT, c.interpolation = LF_INTERP_NEAREST;
        lf__translate_image(&c, H, W, 2, d, x + r * D, zero);
        whole &= memcmp(zero, a.out[tr] + r * D, sizeof zero) == 0;
    }
    CHECK(whole && moved >= N / 2, "lf_random_translation: whole-pixel shifts of at most 2, zeros in (%d moved)", moved);
    lf_ws_free(&a);
    lf_model_free(m);
    free(x), free(y);
}

/* the file keeps the settings: a loaded model draws and maps the same bits;
 * lf_random_translation's form is written as before; bad settings refused */
static void test_file(void) {
    enum { N = 8, H = 4, W = 7, D = H * W * 2 };
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/tr.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    float x[N * D];
    fill_uniform(x, N * D, -1, 1, 9);
    lf_draws k = {lf_draw_key(5, 1, 1), 0};
    for (int form = 0; form < 2; form++) {
        lf_translation_options o = lf_translation_defaults(0.0f, 0.0f);
        o.height_lower = -0.2f, o.height_upper = 0.3f, o.width_lower = -0.5f, o.width_upper = 0.25f;
        o.fill_mode = LF_FILL_WRAP, o.interpolation = LF_INTERP_NEAREST, o.fill_value = 0.25f;
        int tr;
        lf_model *m = one_layer(form ? NULL : &o, H, W, &tr);
        const char *want = form ? "\"height_factor\":0.3,\"width_factor\":0.3,\"fill_mode\":\"constant\","
                                  "\"interpolation\":\"nearest\"}"
                                : "\"height_factor\":[-0.2,0.3],\"width_factor\":[-0.5,0.25],\"fill_mode\":\"wrap\","
                                  "\"interpolation\":\"nearest\",\"fill_value\":0.25}";
        aug_check_file(m, tr, "shift", path, x, N, D, 2, &k, want,
                       form ? "lf_random_translation's form" : "lf_random_translation_opt's form");
        lf_model_free(m);
        if (form) continue;
        /* the refusals: same-length edits of the escaped JSON in the file */
        static const struct {
            const char *from, *to, *msg;
        } cases[] = {
            {"\\\"wrap\\\"", "\\\"warp\\\"",
             "'fill_mode' must be \"reflect\", \"wrap\", \"nearest\" or \"constant\""},
            {"\\\"nearest\\\"", "\\\"linear_\\\"", "'interpolation' must be \"bilinear\" or \"nearest\""},
            {"[-0.2,0.3]", "[0.3,-0.2]",
             "'height_factor' must be a number in [0, 1] or a pair [lower, upper] in [-1, 1]"},
            {"[-0.5,0.25]", "[-1.5,0.25]",
             "'width_factor' must be a number in [0, 1] or a pair [lower, upper] in [-1, 1]"},
            {"\\\"fill_value\\\":0.25", "\\\"fill_value\\\":true",
             "'fill_value' must be a finite number"},
        };
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            aug_check_file_refusal(path, bad, "shift", c, cases[c].from, cases[c].to, cases[c].msg, 1);
        remove(bad);
    }
    remove(path);

    /* any finite fill_value the builder takes, the file keeps (and -0.0f:
     * its sign) */
    static const float values[] = {1e35f, -FLT_MAX, -0.0f, 1e-40f};
    for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
        lf_translation_options o = lf_translation_defaults(0.2f, 0.2f);
        o.fill_mode = LF_FILL_CONSTANT, o.fill_value = values[v];
        int tr;
        lf_model *m = one_layer(&o, H, W, &tr), *l;
        CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
        lf_model_create(&l, 0);
        lf_status st = lf_model_load(l, path);
        int tl = lf_node_find(l, "shift");
        CHECK(st == LF_OK && tl >= 0 && memcmp(&l->nodes[tl].tr.fill_value, &values[v], sizeof(float)) == 0,
              "fill_value %g: load %s", (double)values[v], st == LF_OK ? "kept another value" : lf_model_error(l));
        lf_model_free(l);
        lf_model_free(m);
    }
    remove(path);
}

/* the builder's refusals name the layer and the value */
static void test_refusals(void) {
    static const struct {
        int what;
        const char *msg;
    } cases[] = {
        {0, "RandomTranslation: height_factor must be a range [lower, upper] in [-1, 1], got [0.3, -0.2]"},
        {1, "RandomTranslation: width_factor must be a range [lower, upper] in [-1, 1], got [-1.5, 0]"},
        {2, "RandomTranslation: unknown fill_mode 7"},
        {3, "RandomTranslation: unknown interpolation 2"},
        {4, "RandomTranslation: fill_value must be finite"},
        {5, "RandomTranslation: height_factor must be a range [lower, upper] in [-1, 1], got [-nan, nan]"},
        {6, "RandomTranslation: input 'v' has shape (None, 12); it needs rank 4 (batch, height, width, channels)"},
        {7, "RandomTranslation: no options given (opt is NULL)"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int x = lf_input_shape(m, 3, (size_t[]){4, 5, 3}, LF_DTYPE_FLOAT32, "img"), v = lf_input(m, 12, "v");
        lf_translation_options o = lf_translation_defaults(0.1f, 0.1f);
        switch (cases[c].what) {
        case 0: o.height_lower = 0.3f, o.height_upper = -0.2f; break;
        case 1: o.width_lower = -1.5f, o.width_upper = 0.0f; break;
        case 2: o.fill_mode = (lf_fill_mode)7; break;
        case 3: o.interpolation = (lf_interpolation)2; break;
        case 4: o.fill_value = INFINITY; break;
        case 5: o = lf_translation_defaults(NAN, 0.1f); break;
        case 6: x = v; break;
        default: break;
        }
        lf_random_translation_opt(m, x, cases[c].what == 7 ? NULL : &o, NULL);
        CHECK(strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
    lf_translation_options d = lf_translation_defaults(-0.1f, 0.2f);
    CHECK(d.height_lower == -0.1f && d.height_upper == 0.1f && d.width_lower == -0.2f && d.width_upper == 0.2f &&
              d.fill_mode == LF_FILL_REFLECT && d.interpolation == LF_INTERP_BILINEAR && d.fill_value == 0.0f,
          "lf_translation_defaults: Keras' defaults, [-|f|, |f|]");
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_translation_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_golden();
    test_gradient();
    test_thin();
    test_draws();
    test_file();
    test_refusals();
    rmdir(tmpdir);
    return check_report("test_translation");
}
