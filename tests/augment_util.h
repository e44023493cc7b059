/*
 * augment_util.h — the scaffolding shared by the tests of the image
 * augmentation layers (test_translation.c, test_zoom.c, test_rotation.c,
 * test_color.c): the one-layer models' start and end, the worst
 * difference from a golden image, a map's gradient against central
 * differences, the draws' reproducibility (the same key the same bits,
 * rows 10.. alone as in the whole batch), the inference pass the
 * identity, a fit's weights on 1 and 2 threads, and the model file's
 * round trip and refusals.  Each helper makes the same checks as the code
 * it replaced; as CHECK then names the helper's line, every message names
 * the layer or the case.  Include after check.h and engine_util.h.
 */
#ifndef LF_AUGMENT_UTIL_H
#define LF_AUGMENT_UTIL_H

#include "model_checks.h"

/* The start of the tests' one-layer models: a model (seed 3) with the
 * input "x" of shape (H, W, C); returns the input's node. */
static inline int aug_input(lf_model **m, size_t H, size_t W, size_t C) {
    lf_model_create(m, 3);
    return lf_input_shape(*m, 3, (size_t[]){H, W, C}, LF_DTYPE_FLOAT32, "x");
}

/* Their end: the augmentation's node -> Flatten -> Dense(1) "o", compiled
 * with the mean squared error; returns m. */
static inline lf_model *aug_finish(lf_model *m, int node) {
    int out = lf_dense(m, lf_flatten(m, node, NULL), 1, LF_ACT_LINEAR, 1, "o");
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    return m;
}

/* One image's map with its settings bound (ctx): y = f(x). */
typedef void (*aug_map)(const void *ctx, const float *x, float *y);

/* The largest |y[i] - want[i]| over n values, its index in *at; a NaN on
 * either side is the worst. */
static inline double aug_worst_diff(const float *y, const float *want, int n, int *at) {
    double worst = 0;
    *at = 0;
    for (int i = 0; i < n; i++) {
        double e = fabs((double)y[i] - (double)want[i]);
        if (e > worst || isnan(e)) worst = e, *at = i;
    }
    return worst;
}

/* The largest |<g, (f(x + h e_i) - f(x - h e_i)) / 2h> - gx[i]| over the n
 * values of x (f maps n values to n): for a map affine in x the central
 * difference is column i of its Jacobian up to float rounding, so the
 * gradient gx = J^T g must match it.  x is put back as it was. */
static inline double aug_grad_error(aug_map f, const void *ctx, float *x, const float *g, const float *gx, int n,
                                    float h) {
    float *yp = malloc(2 * (size_t)n * sizeof *yp), *ym = yp ? yp + n : NULL;
    double worst = yp ? 0 : INFINITY;
    for (int i = 0; yp && i < n; i++) {
        float x0 = x[i];
        x[i] = x0 + h;
        f(ctx, x, yp);
        x[i] = x0 - h;
        f(ctx, x, ym);
        x[i] = x0;
        double fd = 0;
        for (int j = 0; j < n; j++) fd += (double)g[j] * ((double)yp[j] - (double)ym[j]) / (2.0 * h);
        worst = fmax(worst, fabs(fd - (double)gx[i]));
    }
    free(yp);
    return worst;
}

/* The draws of `node` (a drawn pass of the N rows of x, D values each,
 * with key k0 in a) again: the same key gives the same bits, and rows
 * 10.. alone (row0 10) what they gave in the whole batch. */
static inline void aug_check_same_draws(const lf_model *m, const lf_ws *a, int node, const float *x, size_t N,
                                        size_t D, const lf_draws *k0, const char *what) {
    lf_ws b;
    lf_ws_init(&b, m, N, 0, NULL, 0);
    const float *xs[1] = {x}, *xp[1] = {x + 10 * D};
    lf_draws k10 = {k0->key, 10};
    lf_graph_forward_drawn(m, &b, xs, N, 1, k0);
    CHECK(memcmp(a->out[node], b.out[node], N * D * sizeof(float)) == 0, "%s: the same key, the same bits", what);
    lf_graph_forward_drawn(m, &b, xp, N - 10, 1, &k10);
    CHECK(memcmp(a->out[node] + 10 * D, b.out[node], (N - 10) * D * sizeof(float)) == 0,
          "%s: rows 10.. alone (row0 10) as in the whole batch", what);
    lf_ws_free(&b);
}

/* The inference pass of m on the N rows of x (D values each): `node`'s
 * output is x, bit for bit. */
static inline void aug_check_identity(const lf_model *m, int node, const float *x, size_t N, size_t D,
                                      const char *what) {
    float *p = malloc(N * D * sizeof *p), **outs = calloc(m->n_nodes, sizeof *outs);
    const float *xs[1] = {x};
    if (outs) outs[node] = p;
    CHECK(p && outs && lf__forward_nodes(m, xs, N, outs) == LF_OK && memcmp(p, x, N * D * sizeof *p) == 0,
          "%s: inference is the identity", what);
    free(p), free(outs);
}

struct aug_threads_ctx {
    int (*add)(lf_model *m, int img);
};
/* Input (32, 32, 3) -> add -> Conv2D(2, 3x3, strides 2, tanh) -> Flatten
 * -> Dense(1) "o" */
static inline int aug_threads_model(lf_model *m, const void *ctx) {
    int h = ((const struct aug_threads_ctx *)ctx)
                ->add(m, lf_input_shape(m, 3, (size_t[]){32, 32, 3}, LF_DTYPE_FLOAT32, "img"));
    h = lf_conv2d(m, h, 2, 3, 3, 2, 2, LF_PADDING_VALID, LF_ACT_TANH, 1, NULL);
    return lf_dense(m, lf_flatten(m, h, NULL), 1, LF_ACT_LINEAR, 1, "o");
}

/* A fit's batches large enough to be shared out to the threads (by
 * images): img (32, 32, 3) in [0, x_hi) -> add(img) -> Conv2D -> Dense
 * gets the same weights on 1 and 2 threads (a skip without OpenMP).  A
 * batch of 32 such images is 98304 values, past layer.h's LF_AUG_PARALLEL
 * (65536), so the layers' maps do run on both threads (at 24 x 24 it was
 * 55296: they ran on one). */
static inline void aug_check_threads(int (*add)(lf_model *m, int img), float x_hi, const char *what) {
    enum { N = 48, D = 32 * 32 * 3 };
    float *x = malloc(N * D * sizeof *x), *y = malloc(N * sizeof *y);
    fill_uniform(x, N * D, 0, x_hi, 13);
    for (int r = 0; r < N; r++) y[r] = (float)(r % 3) - 1.0f;
    struct aug_threads_ctx ctx = {add};
    check_fit_threads(what, aug_threads_model, &ctx, 5, LF_LOSS_MSE, x, y, N, 2, 2, 32);
    free(x), free(y);
}

/* m saved to path and loaded back: its layer `layer` (node `node`) draws
 * (aux_width floats per row, 0: none) and maps the N rows of x (D values each) to
 * the same bits with key k, and the file's architecture holds `want`. */
static inline void aug_check_file(lf_model *m, int node, const char *layer, const char *path, const float *x,
                                  size_t N, size_t D, size_t aux_width, const lf_draws *k, const char *want,
                                  const char *what) {
    lf_model *l;
    CHECK(lf_model_save(m, path, 0) == LF_OK, "%s: save: %s", what, lf_model_error(m));
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, path) == LF_OK, "%s: load: %s", what, lf_model_error(l));
    int nl = lf_node_find(l, layer);
    const float *xs[1] = {x};
    lf_ws a, b;
    lf_ws_init(&a, m, N, 0, NULL, 0);
    lf_ws_init(&b, l, N, 0, NULL, 0);
    lf_graph_forward_drawn(m, &a, xs, N, 1, k);
    lf_graph_forward_drawn(l, &b, xs, N, 1, k);
    CHECK(nl == node && memcmp(a.out[node], b.out[nl], N * D * sizeof(float)) == 0 &&
              (aux_width == 0 || memcmp(a.aux[node], b.aux[nl], aux_width * N * sizeof(float)) == 0),
          "%s: the loaded layer draws and maps the same bits", what);
    lf_ws_free(&a), lf_ws_free(&b);
    lf_model_free(l);
    lf_st_file f;
    lf_err e;
    CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s: %s", what, e.msg);
    const char *arch = lf_st_metadata(&f, "architecture");
    CHECK(arch && strstr(arch, want), "%s: the file holds %s:\n%s", what, want, arch ? arch : "(none)");
    lf_st_free(&f);
}

/* The file at path with its first `from` replaced by `to` (same length),
 * written to bad, is refused as LF_ERR_FORMAT with the message
 * "'<bad>': architecture: layer '<layer>': <msg>" (exact: the whole
 * message; else within it).  Case c names the edit in the messages. */
static inline void aug_check_file_refusal(const char *path, const char *bad, const char *layer, size_t c,
                                          const char *from, const char *to, const char *msg, int exact) {
    int edited = check_edit_file(path, bad, from, to);
    CHECK(edited, "case %zu: %s in the file", c, from);
    if (!edited) return;
    lf_model *l;
    lf_model_create(&l, 0);
    char want[512];
    snprintf(want, sizeof want, "'%s': architecture: layer '%s': %s", bad, layer, msg);
    lf_status st = lf_model_load(l, bad);
    const char *got = lf_model_error(l);
    CHECK(st == LF_ERR_FORMAT && got && (exact ? strcmp(got, want) == 0 : strstr(got, want) != NULL),
          "case %zu: want \"%s\", got \"%s\"", c, want, got);
    lf_model_free(l);
}

#endif
