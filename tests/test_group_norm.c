/*
 * test_group_norm.c — GroupNormalization and UnitNormalization
 * (src/layers/group_norm.c) against hand computations in double: groups
 * over a vector, a sequence, an image and a video, with and without
 * center / scale; groups 1 against LayerNormalization of the flattened
 * sample, groups -1 (= C) as instance normalization; UnitNormalization with
 * a zero and a tiny position (Keras' clamp at epsilon^2 = 1e-24); the
 * padding mask passed through (a masked average pooling after it); a model
 * file round trip predicting the same bits with only the non-default
 * fields written; the file's and builders' refusals by their exact
 * messages.  (Gradients: test_grad.c; PyTorch's numbers: test_golden.c.)
 */
#include "check.h"
#include "engine_util.h"
#include "model_checks.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

/* one sample x (S, C) in G groups, in double: gamma (x - mean) / sqrt(var + eps) + beta */
static void gn_ref(float *y, const float *x, size_t S, size_t C, size_t G, double eps, const float *gamma,
                   const float *beta) {
    size_t Cg = C / G;
    for (size_t g = 0; g < G; g++) {
        double s = 0, ss = 0, n = (double)(S * Cg);
        for (size_t p = 0; p < S; p++)
            for (size_t j = g * Cg; j < (g + 1) * Cg; j++) s += x[p * C + j];
        double mean = s / n;
        for (size_t p = 0; p < S; p++)
            for (size_t j = g * Cg; j < (g + 1) * Cg; j++) ss += (x[p * C + j] - mean) * (x[p * C + j] - mean);
        double sd = sqrt(ss / n + eps);
        for (size_t p = 0; p < S; p++)
            for (size_t j = g * Cg; j < (g + 1) * Cg; j++)
                y[p * C + j] = (float)((gamma ? gamma[j] : 1.0) * (x[p * C + j] - mean) / sd + (beta ? beta[j] : 0.0));
    }
}

/* GroupNormalization by hand over ranks 1..4, groups dividing C, groups -1 */
static void test_group_by_hand(void) {
    struct {
        size_t rank, shape[4];
        int groups, center, scale;
        float eps;
    } cases[] = {
        {1, {6}, 2, 1, 1, 1e-3f},          {2, {4, 6}, 3, 1, 1, 1e-3f},       {3, {3, 2, 4}, 2, 1, 0, 1e-5f},
        {3, {3, 2, 4}, 1, 0, 1, 1e-3f},    {3, {3, 2, 4}, -1, 1, 1, 1e-3f},   {4, {2, 3, 2, 6}, 3, 0, 0, 0.5f},
        {2, {5, 8}, 8, 1, 1, 1e-3f},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lf_model *m;
        lf_model_create(&m, 3);
        int x = lf_input_shape(m, cases[k].rank, cases[k].shape, LF_DTYPE_FLOAT32, "x");
        int y = lf_group_normalization(m, x, cases[k].groups, cases[k].eps, cases[k].center, cases[k].scale, "gn");
        CHECK(lf_model_compile(m, y, LF_LOSS_MSE, NULL) == LF_OK, "case %zu: compile: %s", k, lf_model_error(m));
        size_t C = cases[k].shape[cases[k].rank - 1], dim = 1, B = 3;
        for (size_t a = 0; a < cases[k].rank; a++) dim *= cases[k].shape[a];
        size_t G = cases[k].groups == -1 ? C : (size_t)cases[k].groups;
        CHECK(lf_layer_num_weights(m, "gn") == (size_t)(cases[k].center + cases[k].scale), "case %zu: weights", k);
        float gamma[8], beta[8], *xv = malloc(B * dim * sizeof *xv), *got = malloc(B * dim * sizeof *got),
                                 *want = malloc(B * dim * sizeof *want);
        fill_uniform(gamma, C, 0.5f, 2.0f, 10 + k);
        fill_uniform(beta, C, -1.0f, 1.0f, 20 + k);
        /* an offset per row: the mean matters */
        fill_uniform(xv, B * dim, -2.0f, 3.0f, 30 + k);
        for (size_t i = 0; i < B * dim; i++) xv[i] += (float)(i / dim) * 4.0f;
        size_t wi = 0;
        if (cases[k].scale) CHECK(lf_set_weights(m, "gn", wi++, gamma, C) == LF_OK, "case %zu: gamma", k);
        if (cases[k].center) CHECK(lf_set_weights(m, "gn", wi++, beta, C) == LF_OK, "case %zu: beta", k);
        const float *xs[1] = {xv};
        CHECK(lf_model_predict(m, xs, B, got) == LF_OK, "case %zu: predict: %s", k, lf_model_error(m));
        for (size_t b = 0; b < B; b++)
            gn_ref(want + b * dim, xv + b * dim, dim / C, C, G, cases[k].eps, cases[k].scale ? gamma : NULL,
                   cases[k].center ? beta : NULL);
        char what[64];
        snprintf(what, sizeof what, "GroupNormalization case %zu", k);
        CHECK_CLOSE(what, got, want, B * dim, 2e-6, 2e-6);
        free(xv), free(got), free(want);
        lf_model_free(m);
    }
}

/* groups 1 is LayerNormalization over the whole sample (its flattened
 * form); groups C normalises each channel over the positions alone */
static void test_group_identities(void) {
    lf_model *m;
    lf_model_create(&m, 4);
    size_t shape[3] = {4, 3, 6}, dim = 72, B = 2;
    int x = lf_input_shape(m, 3, shape, LF_DTYPE_FLOAT32, "x");
    int g1 = lf_flatten(m, lf_group_normalization(m, x, 1, 1e-3f, 1, 1, "g1"), NULL);
    int ln = lf_layer_normalization(m, lf_flatten(m, x, NULL), 1e-3f, 1, 1, "ln");
    int gc = lf_flatten(m, lf_group_normalization(m, x, 6, 1e-3f, 0, 0, "gc"), NULL);
    int cat = lf_concatenate(m, 3, (int[]){g1, ln, gc}, NULL);
    CHECK(lf_model_compile(m, cat, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    float xv[144], y[432], want[72];
    fill_uniform(xv, B * dim, -3.0f, 5.0f, 44);
    const float *xs[1] = {xv};
    CHECK(lf_model_predict(m, xs, B, y) == LF_OK, "predict: %s", lf_model_error(m));
    for (size_t b = 0; b < B; b++) {
        CHECK_CLOSE("groups 1 vs LayerNormalization", y + b * 216, y + b * 216 + 72, dim, 1e-6, 1e-6);
        /* instance norm: each channel over the 12 pixels */
        for (size_t c = 0; c < 6; c++) {
            double s = 0, ss = 0;
            for (size_t p = 0; p < 12; p++) s += xv[b * dim + p * 6 + c];
            double mean = s / 12;
            for (size_t p = 0; p < 12; p++) ss += pow(xv[b * dim + p * 6 + c] - mean, 2);
            for (size_t p = 0; p < 12; p++)
                want[p * 6 + c] = (float)((xv[b * dim + p * 6 + c] - mean) / sqrt(ss / 12 + 1e-3));
        }
        CHECK_CLOSE("groups C: instance normalization", y + b * 216 + 144, want, dim, 2e-6, 2e-6);
    }
    lf_model_free(m);
}

/* UnitNormalization on a sequence: a plain position, a zero one (0), a tiny
 * one (sum x^2 under 1e-24: x 1e12), one of large values (their double sum) */
static void test_unit_by_hand(void) {
    lf_model *m;
    lf_model_create(&m, 5);
    int x = lf_input_shape(m, 2, (size_t[]){5, 3}, LF_DTYPE_FLOAT32, "x");
    int y = lf_unit_normalization(m, x, "un");
    CHECK(lf_model_compile(m, y, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    CHECK(lf_layer_num_weights(m, "un") == 0, "UnitNormalization has no weights");
    float xv[15] = {3, -4, 12, 0, 0, 0, 1e-13f, -2e-13f, 0, 3e30f, 4e30f, 0, -0.5f, 0.25f, 2};
    float got[15], want[15];
    for (size_t p = 0; p < 5; p++) {
        double ss = 0;
        for (size_t j = 0; j < 3; j++) ss += (double)xv[p * 3 + j] * xv[p * 3 + j];
        double inv = 1 / sqrt(ss > 1e-24 ? ss : 1e-24);
        for (size_t j = 0; j < 3; j++) want[p * 3 + j] = (float)(xv[p * 3 + j] * inv);
    }
    /* by hand: (3, -4, 12) / 13; the tiny position times 1e12 */
    CHECK(fabsf(want[2] - 12.0f / 13.0f) < 1e-7f && fabsf(want[6] - 0.1f) < 1e-7f && want[3] == 0,
          "the reference: %g %g %g", (double)want[2], (double)want[6], (double)want[3]);
    const float *xs[1] = {xv};
    CHECK(lf_model_predict(m, xs, 1, got) == LF_OK, "predict: %s", lf_model_error(m));
    CHECK_CLOSE("UnitNormalization", got, want, 15, 1e-7, 1e-6);
    lf_model_free(m);
}

/* the padding mask passes through both: a masked GlobalAveragePooling1D
 * after them averages the real steps only, and GroupNormalization's
 * statistics include the padded ones (Keras' call takes no mask) */
static void test_mask_kept(void) {
    lf_model *m;
    lf_model_create(&m, 6);
    int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_FLOAT32, "ids");
    int e = lf_embedding(m, ids, 5, 4, 1, "emb");
    int gn = lf_group_normalization(m, e, 2, 1e-3f, 1, 1, "gn");
    int un = lf_unit_normalization(m, e, "un");
    int p1 = lf_global_average_pooling1d(m, gn, NULL), p2 = lf_global_average_pooling1d(m, un, NULL);
    int gnf = lf_flatten(m, gn, NULL), emf = lf_flatten(m, e, NULL);
    int cat = lf_concatenate(m, 4, (int[]){p1, p2, gnf, emf}, NULL);
    CHECK(lf_model_compile(m, cat, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    float idv[4] = {3, 1, 0, 0}, y[40], gref[16], want[8] = {0};
    const float *xs[1] = {idv};
    CHECK(lf_model_predict(m, xs, 1, y) == LF_OK, "predict: %s", lf_model_error(m));
    const float *emb = y + 24;
    gn_ref(gref, emb, 4, 4, 2, 1e-3, NULL, NULL); /* gamma 1, beta 0: initial */
    CHECK_CLOSE("GroupNormalization over all 4 steps", y + 8, gref, 16, 2e-6, 2e-6);
    for (size_t t = 0; t < 2; t++) {
        double ss = 0;
        for (size_t j = 0; j < 4; j++) ss += (double)emb[t * 4 + j] * emb[t * 4 + j];
        for (size_t j = 0; j < 4; j++) {
            want[j] += gref[t * 4 + j] / 2;
            want[4 + j] += (float)(emb[t * 4 + j] / sqrt(ss)) / 2;
        }
    }
    CHECK_CLOSE("masked averages after them", y, want, 8, 1e-6, 1e-6);
    lf_model_free(m);
}

/* m fitted 2 epochs on b rows (3 classes), saved, loaded: the same bits */
static void fit_save_load(lf_model *m, size_t b, size_t nx, const char *path, const char *what) {
    float *xv = malloc(b * nx * sizeof *xv), *t = malloc(b * sizeof *t), *y = malloc(b * 3 * sizeof *y),
          *y2 = malloc(b * 3 * sizeof *y2);
    CHECK(xv && t && y && y2, "%s: out of memory", what);
    if (xv && t && y && y2) {
        fill_uniform(xv, b * nx, -1, 1, 77);
        for (size_t r = 0; r < b; r++) t[r] = (float)(r % 3);
        const float *xs[1] = {xv};
        lf_fit_options fo = lf_fit_defaults();
        fo.epochs = 2, fo.batch_size = 3;
        CHECK(lf_model_fit(m, xs, t, b, &fo) == LF_OK, "fit: %s", lf_model_error(m));
        CHECK(lf_model_predict(m, xs, b, y) == LF_OK, "predict: %s", lf_model_error(m));
        CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
        lf_model *l;
        lf_model_create(&l, 9);
        CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
        CHECK(lf_model_predict(l, xs, b, y2) == LF_OK && memcmp(y, y2, b * 3 * sizeof *y) == 0, "%s: the same bits",
              what);
        lf_model_free(l);
    }
    free(xv), free(t), free(y), free(y2);
}

static void test_roundtrip(void) {
    char path[128], bad[160];
    snprintf(path, sizeof path, "%s/gn.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    /* non-default settings: groups 2, epsilon 1e-5, no center */
    lf_model *m;
    lf_model_create(&m, 7);
    int x = lf_input_shape(m, 3, (size_t[]){4, 3, 6}, LF_DTYPE_FLOAT32, "img");
    int h = lf_conv2d(m, x, 4, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, "conv");
    h = lf_group_normalization(m, h, 2, 1e-5f, 0, 1, "gn");
    h = lf_unit_normalization(m, h, "un");
    int o = lf_dense(m, lf_flatten(m, h, NULL), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    fit_save_load(m, 6, 72, path, "GroupNormalization(2), UnitNormalization loaded");
    CHECK(file_has(path, "\\\"groups\\\":2") && file_has(path, "\\\"epsilon\\\":1e-05") &&
              file_has(path, "\\\"center\\\":false") && !file_has(path, "\\\"scale\\\"") &&
              !file_has(path, "\\\"axis\\\""),
          "the non-default fields alone");
    /* the file's refusals: groups 0 by the field's rule, 3 by Keras' message at build */
    check_edit_refused(path, bad, "\\\"groups\\\":2", "\\\"groups\\\":0",
                       "layer 'gn': 'groups' must be an integer in 1..268435456");
    check_edit_refused(path, bad, "\\\"groups\\\":2", "\\\"groups\\\":3",
                       "layer 'gn': GroupNormalization: Number of groups (3) must be a multiple of the number of "
                 "channels (4).");
    /* "center":false made "axis":2 (the same length) */
    check_edit_refused(path, bad, "\\\"center\\\":false", "\\\"axis\\\":2      ",
                       "layer 'gn': 'axis' must be -1");
    unlink(bad);
    unlink(path);
    lf_model_free(m);

    /* Keras' defaults (groups 32 of 64 channels): no field written */
    lf_model_create(&m, 8);
    x = lf_input_shape(m, 2, (size_t[]){3, 64}, LF_DTYPE_FLOAT32, "seq");
    h = lf_group_normalization(m, x, 32, 1e-3f, 1, 1, "gn");
    o = lf_dense(m, lf_flatten(m, h, NULL), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    fit_save_load(m, 6, 192, path, "GroupNormalization() loaded");
    CHECK(file_has(path, "\\\"type\\\":\\\"GroupNormalization\\\",\\\"inbound\\\":[\\\"seq\\\"]}"),
          "Keras' defaults: no fields");
    unlink(path);
    lf_model_free(m);
}

/* the builders' refusals, word for word */
static void test_refusals(void) {
    struct {
        int groups;
        float eps;
        const char *msg;
    } cases[] = {
        {5, 1e-3f, "GroupNormalization: Number of groups (5) must be a multiple of the number of channels (6)."},
        {8, 1e-3f, "GroupNormalization: Number of groups (8) cannot be more than the number of channels (6)."},
        {32, 1e-3f, "GroupNormalization: Number of groups (32) cannot be more than the number of channels (6)."},
        {0, 1e-3f,
         "GroupNormalization: Received an invalid value for argument `groups`, expected a positive integer (or "
         "`-1` for instance normalization). Received: groups=0"},
        {-2, 1e-3f,
         "GroupNormalization: Received an invalid value for argument `groups`, expected a positive integer (or "
         "`-1` for instance normalization). Received: groups=-2"},
        {2, 0.0f, "GroupNormalization: epsilon must be finite and > 0, got 0"},
        {2, NAN, "GroupNormalization: epsilon must be finite and > 0, got nan"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int x = lf_input_shape(m, 2, (size_t[]){4, 6}, LF_DTYPE_FLOAT32, "x");
        CHECK(lf_group_normalization(m, x, cases[c].groups, cases[c].eps, 1, 1, NULL) == -1, "case %zu: built", c);
        CHECK(strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
    lf_model *m;
    lf_model_create(&m, 2);
    CHECK(lf_unit_normalization(m, 7, NULL) == -1 && has(lf_model_error(m), "UnitNormalization"),
          "UnitNormalization of no node: '%s'", lf_model_error(m));
    lf_model_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_group_norm_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_group_by_hand();
    test_group_identities();
    test_unit_by_hand();
    test_mask_kept();
    test_roundtrip();
    test_refusals();
    rmdir(tmpdir);
    return check_report("test_group_norm");
}
