/*
 * model_checks.h — the checks the engine's layer tests share: a model
 * saved and loaded back predicts the same bits (and trains on to the same
 * weights), the file's architecture holds Keras' fields, an edited file is
 * refused with the exact message, a summary holds a row, a model trains to
 * the same bits on 3 threads as on 1. Include after check.h and engine_util.h.
 */
#ifndef LF_MODEL_CHECKS_H
#define LF_MODEL_CHECKS_H

#include "io/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static inline int has(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }

/* whether the file at path holds the bytes of s (at most 64 of them; the
 * file may hold NULs) */
static inline int file_has(const char *path, const char *s) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = strlen(s), at = 0;
    int c, found = 0;
    char win[64];
    while (!found && n <= sizeof win && (c = fgetc(f)) != EOF) {
        if (at == n) memmove(win, win + 1, n - 1), at--;
        win[at++] = (char)c;
        found = at == n && memcmp(win, s, n) == 0;
    }
    fclose(f);
    return found;
}

/* m's summary as a string the caller frees (the test aborts when it cannot
 * be made: out of memory) */
#if defined(__GNUC__)
__attribute__((returns_nonnull))
#endif
static inline char *summary_of(const lf_model *m) {
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (f) lf_model_summary(m, f), fclose(f);
    if (!s) abort();
    return s;
}

/* m (compiled) saved with its optimizer state to path and loaded back:
 * both predict the same bits on the N rows of xs (out_width outputs each).
 * Returns the loaded model (the caller frees it) for further checks, NULL
 * when the save or the load failed (a failed check). */
static inline lf_model *check_reload(lf_model *m, const float *const *xs, size_t N, size_t out_width, const char *path,
                                     const char *what) {
    lf_model *l = NULL;
    CHECK(lf_model_save(m, path, LF_SAVE_OPTIMIZER) == LF_OK, "%s: save: %s", what, lf_model_error(m));
    lf_model_create(&l, 0);
    int loaded = lf_model_load(l, path) == LF_OK;
    CHECK(loaded, "%s: load: %s", what, lf_model_error(l));
    if (!loaded) {
        lf_model_free(l);
        return NULL;
    }
    float *p1 = malloc(N * out_width * sizeof *p1), *p2 = malloc(N * out_width * sizeof *p2);
    CHECK(p1 && p2 && lf_model_predict(m, xs, N, p1) == LF_OK && lf_model_predict(l, xs, N, p2) == LF_OK,
          "%s: predict: %s", what, lf_model_error(l));
    CHECK(p1 && p2 && memcmp(p1, p2, N * out_width * sizeof *p1) == 0, "%s: the loaded model predicts differently",
          what);
    free(p1), free(p2);
    return l;
}

/* the architecture of the model file at path holds each of the n fields */
static inline void check_arch_fields(const char *path, const char *const *fields, size_t n, const char *what) {
    lf_st_file f;
    lf_err e;
    int read = lf_st_read(path, &f, &e) == LF_OK;
    CHECK(read, "%s: %s", what, e.msg);
    if (!read) return;
    const char *arch = lf_st_metadata(&f, "architecture");
    for (size_t i = 0; i < n; i++)
        CHECK(has(arch, fields[i]), "%s: the architecture lacks %s:\n%s", what, fields[i], arch ? arch : "(none)");
    lf_st_free(&f);
}

/* the weights of layer `name` are the same bits in a and b */
static inline int weights_equal(lf_model *a, lf_model *b, const char *name) {
    int same = lf_layer_num_weights(a, name) == lf_layer_num_weights(b, name);
    for (size_t k = 0; same && k < lf_layer_num_weights(a, name); k++) {
        size_t shape[8], cnt = 0;
        lf_layer_weight_shape(a, name, k, shape, &cnt);
        float *wa = malloc(cnt * sizeof *wa), *wb = malloc(cnt * sizeof *wb);
        same = wa && wb && lf_get_weights(a, name, k, wa, cnt) == LF_OK && lf_get_weights(b, name, k, wb, cnt) == LF_OK &&
               memcmp(wa, wb, cnt * sizeof *wa) == 0;
        free(wa), free(wb);
    }
    return same;
}

/* the model file at path copied to bad with `from` replaced by `to`: the
 * load of bad fails as a format error whose message holds msg */
static inline void check_edit_refused(const char *path, const char *bad, const char *from, const char *to,
                                      const char *msg) {
    CHECK(check_edit_file(path, bad, from, to), "edit: %s not in %s", from, path);
    lf_model *l;
    lf_model_create(&l, 0);
    lf_status st = lf_model_load(l, bad);
    CHECK(st == LF_ERR_FORMAT && has(lf_model_error(l), msg), "%s -> %s: want '%s', got status %d '%s'", from, to, msg,
          (int)st, lf_model_error(l));
    lf_model_free(l);
}

/* the model a thread check trains: its layers added to m, the output node
 * returned (not compiled) */
typedef int (*check_build_fn)(lf_model *m);

/* The model build(m, ctx) (seed model_seed), compiled with `loss`, trained
 * for `epochs` epochs of `batch` rows (seed 4) on the N rows of x and y, on
 * `many` threads and on 1: the weights are the same bits. */
typedef int (*check_build_ctx_fn)(lf_model *m, const void *ctx);
static inline void check_fit_threads(const char *what, check_build_ctx_fn build, const void *ctx,
                                     uint64_t model_seed, lf_loss loss, const float *x, const float *y, size_t N,
                                     int many, size_t epochs, size_t batch) {
#ifdef _OPENMP
    const int threads[2] = {many, 1};
    int initial = omp_get_max_threads();
    float *w[2] = {0};
    size_t np = 0;
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(threads[t]);
        lf_model *m;
        lf_model_create(&m, model_seed);
        int o = build(m, ctx);
        CHECK(lf_model_compile(m, o, loss, NULL) == LF_OK, "%s: compile: %s", what, lf_model_error(m));
        lf_fit_options opt = lf_fit_defaults();
        opt.epochs = epochs, opt.batch_size = batch, opt.seed = 4;
        const float *xs[1] = {x};
        CHECK(lf_model_fit(m, xs, y, N, &opt) == LF_OK, "%s: fit: %s", what, lf_model_error(m));
        np = m->n_params;
        w[t] = malloc(np * sizeof(float));
        memcpy(w[t], m->params, np * sizeof(float));
        lf_model_free(m);
    }
    CHECK(memcmp(w[0], w[1], np * sizeof(float)) == 0, "%s weights: %d and 1 threads differ", what, many);
    omp_set_num_threads(initial);
    free(w[0]), free(w[1]);
#else
    (void)build, (void)ctx, (void)model_seed, (void)loss, (void)x, (void)y, (void)N, (void)many, (void)epochs,
        (void)batch;
    CHECK_SKIP("%s: built without OpenMP: thread-count determinism not tested", what);
#endif
}

struct check_plain_build {
    check_build_fn build;
};
static inline int check_plain_build(lf_model *m, const void *ctx) {
    return ((const struct check_plain_build *)ctx)->build(m);
}

/* build's model (seed 9), compiled with sparse categorical cross-entropy,
 * trained for `epochs` epochs of `batch` rows (seed 4) on N rows of D
 * values uniform in [-1, 1) (seed 41) with labels r % classes, on 3
 * threads and on 1: the weights are the same bits. */
static inline void check_fit_same_on_threads(const char *what, check_build_fn build, size_t N, size_t D,
                                             size_t classes, size_t epochs, size_t batch) {
    float *x = malloc(N * D * sizeof *x), *y = malloc(N * sizeof *y);
    fill_uniform(x, N * D, -1, 1, 41);
    for (size_t r = 0; r < N; r++) y[r] = (float)(r % classes);
    struct check_plain_build ctx = {build};
    check_fit_threads(what, check_plain_build, &ctx, 9, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, x, y, N, 3, epochs,
                      batch);
    free(x), free(y);
}

#endif
