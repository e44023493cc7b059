/*
 * test_seq_layers.c — the sequence layers beyond their gradients
 * (test_grad.c) and PyTorch's numbers (test_golden.c): the padding mask
 * (which layers carry it, the masked poolings by hand, a row with every
 * step masked), Embedding's lookups and its refusal of bad token ids,
 * CategoryEncoding's outputs, refusals and round trip,
 * shapes and their build-time errors, the summary, save/load round
 * trips, and LayerNormalization of features too spread for a float
 * variance.
 */
#include "check.h"

#include <stdint.h>
#include "engine_util.h"
#include "model_checks.h"
#include "layers/layer.h"
#include "model_io.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

/* m's summary holds each of the n rows */
static void check_summary(const lf_model *m, const char *const *rows, size_t n) {
    char *buf = summary_of(m);
    for (size_t i = 0; i < n; i++) CHECK(has(buf, rows[i]), "summary lacks\n%s\nin\n%s", rows[i], buf);
    free(buf);
}

/* Fits m on the n rows of xs, y (epochs, batches of 8), saves it to path
 * with its optimizer and loads it back: the loaded model, returned for the
 * caller to check and free, predicts the same bits (n_out values a row). */
static lf_model *fit_save_load(lf_model *m, const char *path, const float *const *xs, const float *y, size_t n,
                               int epochs, size_t n_out) {
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = epochs, fo.batch_size = 8;
    CHECK(lf_model_fit(m, xs, y, n, &fo) == LF_OK, "%s: fit: %s", path, lf_model_error(m));
    CHECK(lf_model_save(m, path, LF_SAVE_OPTIMIZER) == LF_OK, "%s: save: %s", path, lf_model_error(m));
    lf_model *l;
    lf_model_create(&l, 0);
    lf_status st = lf_model_load(l, path);
    CHECK(st == LF_OK, "%s: load: %s", path, lf_model_error(l));
    if (st != LF_OK) { /* reported: the caller's checks of l are skipped */
        lf_model_free(l);
        return NULL;
    }
    float *p = malloc(2 * n * n_out * sizeof *p), *q = p ? p + n * n_out : NULL;
    CHECK(p && lf_model_predict(m, xs, n, p) == LF_OK && lf_model_predict(l, xs, n, q) == LF_OK, "%s: predict",
          path);
    CHECK(p && memcmp(p, q, n * n_out * sizeof *p) == 0, "%s: the loaded model predicts differently", path);
    free(p);
    return l;
}

/* Reads the model file at path into *f (the caller frees it) and checks
 * that its architecture holds each of the n strings in want; returns the
 * architecture. */
static const char *check_arch(const char *path, lf_st_file *f, const char *const *want, size_t n) {
    lf_err er;
    CHECK(lf_st_read(path, f, &er) == LF_OK, "%s: %s", path, er.msg);
    const char *arch = lf_st_metadata(f, "architecture");
    for (size_t i = 0; i < n; i++)
        CHECK(has(arch, want[i]), "%s: arch lacks %s:\n%s", path, want[i], arch ? arch : "(none)");
    return arch;
}

/* writes the shape dims[0..ndim) as "(3, 8, 5)" to buf (cap bytes) */
static void shape_str(char *buf, size_t cap, size_t ndim, const size_t *dims) {
    size_t at = (size_t)snprintf(buf, cap, "(");
    for (size_t i = 0; i < ndim && at < cap; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%zu", i ? ", " : "", dims[i]);
    if (at < cap) snprintf(buf + at, cap - at, ")");
}

/* f holds the tensor `name`, of ndim axes sized dims */
static void check_tensor(const lf_st_file *f, const char *name, size_t ndim, const size_t *dims) {
    const lf_st_tensor *t = lf_st_find(f, name);
    int ok = t && t->ndim == ndim;
    for (size_t i = 0; ok && i < ndim; i++) ok = t->shape[i] == dims[i];
    char want[128], got[128] = "missing";
    shape_str(want, sizeof want, ndim, dims);
    if (t) shape_str(got, sizeof got, t->ndim, t->shape);
    CHECK(ok, "tensor %s: want %s, got %s", name, want, got);
}

/* which nodes carry which padding mask */
static void test_mask_flow(void) {
    lf_model *m;
    lf_model_create(&m, 1);
    int ids = lf_input_shape(m, 1, (size_t[]){5}, LF_DTYPE_INT32, "ids");
    int e = lf_embedding(m, ids, 10, 4, 1, "emb");
    int d = lf_dense(m, e, 3, LF_ACT_RELU, 1, "dense");
    int dr = lf_dropout(m, d, 0.5f, "drop");
    int a = lf_activation_layer(m, dr, LF_ACT_TANH, "act");
    int e2 = lf_embedding(m, ids, 10, 3, 0, "emb_plain");
    int s = lf_add(m, 2, (int[]){a, e2}, "sum");
    /* the rule of model files without "keras_masks": the one mask is kept */
    CHECK(lf_set_merge_mask_rule(m, s, LF_MASK_RULE_KEEP) == LF_OK, "%s", lf_model_error(m));
    int f = lf_flatten(m, s, "flat");
    int p = lf_global_average_pooling1d(m, s, "gap");
    int rs = lf_rescaling(m, s, 0.5f, 1.0f, "resc");
    CHECK(m->nodes[e].seq_mask == e && m->nodes[d].seq_mask == e && m->nodes[dr].seq_mask == e &&
              m->nodes[a].seq_mask == e && m->nodes[s].seq_mask == e,
          "Embedding(mask_zero) owns the mask; Dense, Dropout, Activation and Add (earlier files' rule) keep it");
    /* Keras 3's rule (base_merge.py compute_mask): one input without a mask, no mask */
    int s3 = lf_add(m, 2, (int[]){a, e2}, "sum_keras");
    CHECK(s3 >= 0 && m->nodes[s3].seq_mask == -1, "Add of a masked and an unmasked input: no mask (%d)",
          s3 >= 0 ? m->nodes[s3].seq_mask : -9);
    CHECK(lf_set_merge_mask_rule(m, s, LF_MASK_RULE_KERAS) != LF_OK &&
              strcmp(lf_model_error(m), "lf_set_merge_mask_rule: layer 'sum' is already read by 'flat'; set the "
                                        "rule before adding its readers") == 0,
          "%s", lf_model_error(m));
    CHECK(m->nodes[rs].seq_mask == e, "Rescaling keeps the mask (Keras 3: supports_masking)");
    CHECK(m->nodes[ids].seq_mask == -1 && m->nodes[e2].seq_mask == -1 && m->nodes[f].seq_mask == -1 &&
              m->nodes[p].seq_mask == -1,
          "no mask on the input, an Embedding without mask_zero, Flatten and the pooling");
    size_t dims[3];
    CHECK(lf_node_shape(m, d, dims) == 2 && dims[0] == 5 && dims[1] == 3, "Dense on (5, 4) gives (5, 3)");
    CHECK(lf_node_shape(m, p, dims) == 1 && dims[0] == 3, "the pooling gives (3)");
    int e3 = lf_embedding(m, ids, 10, 3, 1, "emb_other");
    /* LF_MASKING_FIRST (MultiHeadAttention's): the first input's mask,
     * whatever the others carry; shown with Add's record so marked */
    lf_layer_type first = lf_type_add;
    first.masking = LF_MASKING_FIRST;
    lf_node keras = LF_NODE_PROTO;
    keras.keras_masks = 1;
    int q = lf_node_add(m, &first, LF_K_ADD, keras, (int[]){e3, a}, 2, "first");
    int q2 = lf_node_add(m, &first, LF_K_ADD, keras, (int[]){e2, a}, 2, "first_unmasked");
    CHECK(q >= 0 && q2 >= 0 && m->nodes[q].seq_mask == e3 && m->nodes[q2].seq_mask == -1,
          "LF_MASKING_FIRST: %d %d (%s)", q >= 0 ? m->nodes[q].seq_mask : -9, q2 >= 0 ? m->nodes[q2].seq_mask : -9,
          lf_model_error(m));
    /* two different masks: Keras 3 ORs them (the node owns the result); the
     * rule of earlier files refuses them */
    int both = lf_add(m, 2, (int[]){a, e3}, "both");
    CHECK(both >= 0 && m->nodes[both].seq_mask == both, "two masks: the node's own OR (%s)", lf_model_error(m));
    CHECK(lf_set_merge_mask_rule(m, both, LF_MASK_RULE_KEEP) == LF_ERR_SHAPE &&
              strcmp(lf_model_error(m),
                     "Add: its inputs carry the padding masks of two layers ('emb' and 'emb_other'); "
                     "combining masks is not supported by the rule of model files without \"keras_masks\"") == 0,
          "got '%s'", lf_model_error(m));
    CHECK(m->nodes[both].keras_masks && m->nodes[both].seq_mask == both, "a refused rule leaves the node as it was");
    lf_model_free(m);
}

/* Embedding's lookups, the masked poolings by hand, and a row whose every
 * step is padding */
static void test_masked_pooling(void) {
    for (int mask_zero = 0; mask_zero <= 1; mask_zero++)
        for (int max = 0; max <= 1; max++) {
            lf_model *m;
            lf_model_create(&m, 2);
            int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
            int e = lf_embedding(m, ids, 6, 2, mask_zero, "emb");
            int p = max ? lf_global_max_pooling1d(m, e, "pool") : lf_global_average_pooling1d(m, e, "pool");
            CHECK(lf_model_compile(m, p, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
            /* row k of the table: (k, -k / 2) */
            float table[12];
            for (int k = 0; k < 6; k++) table[2 * k] = (float)k, table[2 * k + 1] = 0.0f - 0.5f * (float)k;
            CHECK(lf_set_weights(m, "emb", 0, table, 12) == LF_OK, "set: %s", lf_model_error(m));
            float x[12] = {3, 5, 0, 0, /* 2 padded steps */ 0, 0, 0, 0, /* all padding */ 1, 4, 2, 5};
            float y[6];
            const float *xs[1] = {x};
            CHECK(lf_model_predict(m, xs, 3, y) == LF_OK, "predict");
            float want[2][2][6] = {
                {{2, -1, 0, 0, 3, -1.5f}, {5, 0, 0, 0, 5, -0.5f}},       /* no mask: row 0 averages 3, 5, 0, 0 */
                {{4, -2, 0, 0, 3, -1.5f}, {5, -1.5f, 0, 0, 5, -0.5f}},    /* masked: 3 and 5 only; all padding: 0 */
            };
            CHECK(memcmp(y, want[mask_zero][max], sizeof y) == 0,
                  "mask_zero %d, %s: got %g %g / %g %g / %g %g", mask_zero, max ? "max" : "average", (double)y[0],
                  (double)y[1], (double)y[2], (double)y[3], (double)y[4], (double)y[5]);
            /* gradients: only the rows of the table that an unmasked step read */
            float t[6] = {1, 1, 1, 1, 1, 1};
            double loss;
            CHECK(lf__loss_and_grads(m, xs, t, 3, 1, 0, &loss, NULL) == LF_OK, "grads");
            const float *g = m->grads; /* the table is the only weight */
            int zero0 = g[0] == 0.0f && g[1] == 0.0f;
            CHECK(mask_zero ? zero0 : !zero0, "mask_zero %d, %s: gradient of row 0 (padding) %g %g", mask_zero,
                  max ? "max" : "average", (double)g[0], (double)g[1]);
            lf_model_free(m);
        }
}

/* Concatenate's padding mask, Keras' compute_mask (keras/src/layers/
 * merging/concatenate.py): on the steps, the masks side by side (ones for
 * an input without one); on the features, their OR.  A masked average
 * pooling after it shows which steps count; the file keeps the axis. */
static void test_concat_mask(void) {
    /* row k of each table: (k, -k) / (10 k) */
    float t1[12], t2[6];
    for (int k = 0; k < 6; k++) t1[2 * k] = (float)k, t1[2 * k + 1] = -(float)k, t2[k] = 10.0f * (float)k;
    for (int on_steps = 0; on_steps <= 1; on_steps++) {
        lf_model *m;
        lf_model_create(&m, 5);
        int ids = lf_input_shape(m, 1, (size_t[]){3}, LF_DTYPE_INT32, "ids");
        int ids2 = lf_input_shape(m, 1, (size_t[]){on_steps ? 2 : 3}, LF_DTYPE_INT32, "ids2");
        int e = lf_embedding(m, ids, 6, 2, 1, "emb");
        int e2 = lf_embedding(m, ids2, 6, on_steps ? 2 : 1, !on_steps, "emb2");
        int c = lf_concatenate_axis(m, 2, (int[]){e, e2}, on_steps ? -2 : 2, "cat");
        int p = lf_global_average_pooling1d(m, c, "pool");
        CHECK(lf_model_compile(m, p, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
        CHECK(lf_set_weights(m, "emb", 0, t1, 12) == LF_OK &&
                  lf_set_weights(m, "emb2", 0, on_steps ? t1 : t2, on_steps ? 12 : 6) == LF_OK,
              "set: %s", lf_model_error(m));
        float a[6] = {3, 0, 0, /**/ 0, 0, 0}, b[6] = {4, 0, 2, /**/ 0, 5, 0}, y[6];
        float b2[4] = {0, 5, /**/ 0, 0}; /* emb2 has no mask on the steps */
        const float *xs[2] = {a, on_steps ? b2 : b};
        CHECK(lf_model_predict(m, xs, 2, y) == LF_OK, "predict: %s", lf_model_error(m));
        /* on the steps (emb2 unmasked: ones): row 0 averages emb's (3, -3) and
         * emb2's (0, 0), (5, -5), emb's steps 1 and 2 masked: (3 + 0 + 5) / 3,
         * (-3 + 0 - 5) / 3; row 1: emb all masked, emb2's (0, 0) twice: 0.
         * On the features (OR): row 0 steps 0 and 2 count: ((3, -3, 40) + (0, 0, 20)) / 2;
         * row 1 step 1 only: (0, 0, 50) */
        float want[2][6] = {{1.5f, -1.5f, 30, 0, 0, 50}, {8.0f / 3, -8.0f / 3, 0, 0}};
        size_t n = on_steps ? 4 : 6;
        int same = 1;
        for (size_t j = 0; j < n; j++) same &= fabsf(y[j] - want[on_steps][j]) < 1e-6f;
        CHECK(same, "Concatenate on the %s: pooled %g %g %g / %g %g %g", on_steps ? "steps" : "features",
              (double)y[0], (double)y[1], (double)y[2], (double)y[3], (double)y[4], (double)y[5]);
        char path[128]; /* in the tests' folder: the build folder may be another (make san) */
        snprintf(path, sizeof path, "%s/%s", tmpdir, on_steps ? "cat_steps.lfm" : "cat_features.lfm");
        CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
        lf_model *l;
        lf_model_create(&l, 0);
        CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
        float z[6] = {0};
        CHECK(lf_model_predict(l, xs, 2, z) == LF_OK && memcmp(y, z, n * sizeof *z) == 0,
              "%s: the loaded model predicts differently", path);
        lf_st_file f;
        const char *want_arch[1] = {on_steps ? "\"axis\":-2" : "\"axis\":2"};
        check_arch(path, &f, want_arch, 1);
        lf_st_free(&f);
        remove(path);
        lf_model_free(l);
        lf_model_free(m);
    }
}

/* ids outside [0, input_dim) or not integers: fit and evaluate name the
 * layer, the id and where it is; predict returns LF_ERR_ARG */
static void test_bad_ids(void) {
    lf_model *m;
    lf_model_create(&m, 3);
    int ids = lf_input_shape(m, 1, (size_t[]){3}, LF_DTYPE_INT32, "tokens");
    int e = lf_embedding(m, ids, 7, 2, 1, "emb");
    int o = lf_dense(m, lf_global_average_pooling1d(m, e, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile");
    float bad[3][6] = {{1, 2, 3, 4, 7, 0}, {1, -1, 3, 0, 0, 0}, {1, 2, 3, 4, 2.5f, 0}};
    const char *msg[3] = {
        "fit: Embedding 'emb' got token id 7 at row 1, position 1 of input 'tokens'; ids must be integers in [0, 7)",
        "fit: Embedding 'emb' got token id -1 at row 0, position 1 of input 'tokens'; ids must be integers in [0, 7)",
        "fit: Embedding 'emb' got token id 2.5 at row 1, position 1 of input 'tokens'; ids must be integers in [0, 7)",
    };
    float y[2] = {0, 1}, p[4];
    lf_fit_options fo = lf_fit_defaults();
    for (int k = 0; k < 3; k++) {
        const float *xs[1] = {bad[k]};
        CHECK(lf_model_fit(m, xs, y, 2, &fo) == LF_ERR_ARG && strcmp(lf_model_error(m), msg[k]) == 0,
              "case %d: got '%s'", k, lf_model_error(m));
        CHECK(lf_model_predict(m, xs, 2, p) == LF_ERR_ARG, "predict refuses case %d", k);
    }
    double loss;
    const float *xs[1] = {bad[0]};
    CHECK(lf_model_evaluate(m, xs, y, 2, NULL, &loss, NULL) == LF_ERR_ARG &&
              has(lf_model_error(m), "evaluate: Embedding 'emb' got token id 7 at row 1"),
          "evaluate: got '%s'", lf_model_error(m));
    /* the typed-array calls check the int32 ids the same way */
    int32_t ibad[6] = {1, 2, 3, 4, 7, 0}, igood[6] = {1, 2, 3, 4, 6, 0};
    lf_typed_array ta[1] = {{LF_DTYPE_INT32, ibad}};
    const float *ys[1] = {y};
    float *ps[1] = {p};
    CHECK(lf_model_fit_arrays(m, ta, ys, 2, &fo) == LF_ERR_ARG && strcmp(lf_model_error(m), msg[0]) == 0,
          "fit_arrays: got '%s'", lf_model_error(m));
    CHECK(lf_model_predict_arrays(m, ta, 2, ps) == LF_ERR_ARG, "predict_arrays refuses id 7");
    ta[0].data = igood;
    CHECK(lf_model_predict_arrays(m, ta, 2, ps) == LF_OK, "predict_arrays takes ids in range");
    lf_model_free(m);
}

/* CategoryEncoding by hand, as Keras 3's numerical_utils.encode_categorical_inputs:
 * multi_hot, count and one_hot of the same ids (one_hot squeezes a last
 * axis of 1), the refusal of ids outside [0, num_tokens), the file's
 * fields and predictions after a load, and the build-time refusals */
static void test_category_encoding(void) {
    /* Keras' docstring examples: multi_hot [[0, 1], [0, 0], [1, 2], [3, 1]] */
    static const float ids[8] = {0, 1, 0, 0, 1, 2, 3, 1};
    static const float multi[16] = {1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1};
    static const float count[16] = {1, 1, 0, 0, 2, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 1};
    static const float onehot[32] = {1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,
                                      0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0};
    const float *want[3] = {multi, onehot, count};
    const char *mode[3] = {"multi_hot", "one_hot", "count"};
    char path[128];
    snprintf(path, sizeof path, "%s/cat.lf", tmpdir);
    for (int k = 0; k < 3; k++) {
        lf_model *m;
        lf_model_create(&m, 1);
        int x = lf_input_shape(m, 1, (size_t[]){2}, LF_DTYPE_INT32, "ids");
        int c = lf_category_encoding(m, x, 4, (lf_category_mode)k, "cat");
        size_t D = k == LF_CATEGORY_ONE_HOT ? 8 : 4;
        CHECK(c >= 0 && m->nodes[c].dim == D && m->nodes[c].rank == (k == LF_CATEGORY_ONE_HOT ? 2u : 1u),
              "CategoryEncoding(%s): shape: %s", mode[k], lf_model_error(m));
        int o = k == LF_CATEGORY_ONE_HOT ? lf_flatten(m, c, NULL) : c;
        CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
        float y[32];
        const float *xs[1] = {ids};
        CHECK(lf_model_predict(m, xs, 4, y) == LF_OK, "CategoryEncoding(%s): predict: %s", mode[k],
              lf_model_error(m));
        CHECK(memcmp(y, want[k], 4 * D * sizeof *y) == 0, "CategoryEncoding(%s): outputs differ from Keras'",
              mode[k]);
        CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
        lf_model *l;
        lf_model_create(&l, 0);
        lf_status st = lf_model_load(l, path);
        CHECK(st == LF_OK, "CategoryEncoding(%s): load: %s", mode[k], lf_model_error(l));
        if (st == LF_OK) {
            int cl = lf_node_find(l, "cat");
            float yl[32];
            CHECK(cl >= 0 && l->nodes[cl].mode == k && l->nodes[cl].input_dim == 4, "CategoryEncoding(%s): "
                  "fields after load", mode[k]);
            CHECK(lf_model_predict(l, xs, 4, yl) == LF_OK && memcmp(y, yl, 4 * D * sizeof *y) == 0,
                  "CategoryEncoding(%s): predictions after load", mode[k]);
        }
        lf_model_free(l);
        /* ids outside [0, 4) are refused, as Keras' docstring says */
        float bad[2] = {1, 4}, p[8];
        xs[0] = bad;
        CHECK(lf_model_predict(m, xs, 1, p) == LF_ERR_ARG, "CategoryEncoding(%s): predict takes id 4", mode[k]);
        double loss;
        float t[8] = {0};
        CHECK(lf_model_evaluate(m, xs, t, 1, NULL, &loss, NULL) == LF_ERR_ARG &&
                  has(lf_model_error(m), "evaluate: CategoryEncoding 'cat' got token id 4 at row 0, position 1 "
                                         "of input 'ids'; ids must be integers in [0, 4)"),
              "CategoryEncoding(%s): evaluate: got '%s'", mode[k], lf_model_error(m));
        lf_model_free(m);
    }
    unlink(path);
    /* one id per row: one_hot squeezes it, (B, 1) -> (B, num_tokens) */
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input(m, 1, "ids");
    int c = lf_category_encoding(m, x, 3, LF_CATEGORY_ONE_HOT, "cat");
    CHECK(c >= 0 && m->nodes[c].rank == 1 && m->nodes[c].dim == 3, "one_hot of (B, 1) is (B, 3)");
    lf_model_free(m);
    struct {
        size_t rank, shape[2], tokens;
        int mode;
        const char *msg;
    } refused[] = {
        {1, {2}, 0, LF_CATEGORY_MULTI_HOT, "num_tokens must be in 1.."},
        {1, {2}, 3, 7, "output_mode 7 is none of"},
        {2, {2, 2}, 3, LF_CATEGORY_COUNT, "input 'ids' has shape (None, 2, 2); it takes token ids of rank 2"},
    };
    for (size_t k = 0; k < sizeof refused / sizeof *refused; k++) {
        lf_model_create(&m, 1);
        x = lf_input_shape(m, refused[k].rank, refused[k].shape, LF_DTYPE_FLOAT32, "ids");
        c = lf_category_encoding(m, x, refused[k].tokens, (lf_category_mode)refused[k].mode, NULL);
        CHECK(c < 0 && has(lf_model_error(m), "CategoryEncoding") && has(lf_model_error(m), refused[k].msg),
              "CategoryEncoding refusal %zu: got %d, '%s'", k, c, lf_model_error(m));
        lf_model_free(m);
    }
}

/* a text model of every sequence layer trains, saves and loads: the
 * summary's shapes, the layers' fields in the file, predictions bit for
 * bit (the mask rebuilt from mask_zero) */
static void test_round_trip(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/seq.lf", tmpdir);
    lf_model *m;
    lf_model_create(&m, 4);
    int ids = lf_input_shape(m, 1, (size_t[]){12}, LF_DTYPE_INT32, "tokens");
    int e = lf_embedding(m, ids, 30, 8, 1, NULL);
    int pe = lf_position_embedding(m, e, 16, NULL);
    int h = lf_add(m, 2, (int[]){e, pe}, NULL);
    /* Keras 3 would drop the mask here (PositionEmbedding carries none); the
     * rule of earlier files keeps it, and so does the file (no "keras_masks") */
    CHECK(lf_set_merge_mask_rule(m, h, LF_MASK_RULE_KEEP) == LF_OK, "%s", lf_model_error(m));
    h = lf_layer_normalization(m, h, 1e-3f, 1, 1, NULL);
    int d = lf_dense(m, h, 6, LF_ACT_RELU, 1, NULL);
    d = lf_dropout(m, d, 0.1f, NULL);
    int c = lf_conv1d(m, h, 5, 3, 2, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL);
    int p1 = lf_global_average_pooling1d(m, d, NULL), p2 = lf_global_max_pooling1d(m, c, NULL);
    int ln2 = lf_layer_normalization(m, lf_concatenate(m, 2, (int[]){p1, p2}, NULL), 1e-5f, 0, 1, NULL);
    int o = lf_dense(m, ln2, 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    const char *rows[] = {
        "tokens (InputLayer)                                (None, 12)                    0",
        "embedding (Embedding)                              (None, 12, 8)               240  tokens",
        "position_embedding (PositionEmbedding)             (None, 12, 8)               128  embedding",
        "layer_normalization (LayerNormalization)           (None, 12, 8)                16  add",
        "dense (Dense)                                      (None, 12, 6)                54  layer_normalization",
        "conv1d (Conv1D)                                    (None, 6, 5)                125  layer_normalization",
        "global_average_pooling1d (GlobalAveragePooling1D)  (None, 6)                     0  dropout",
        "global_max_pooling1d (GlobalMaxPooling1D)          (None, 5)                     0  conv1d",
        "layer_normalization_1 (LayerNormalization)         (None, 11)                   11  concatenate",
    };
    check_summary(m, rows, sizeof rows / sizeof rows[0]);
    enum { N = 30, T = 12 };
    float x[N * T], y[N];
    fill_uniform(x, N * T, 0, 30, 9);
    for (int i = 0; i < N * T; i++) x[i] = (i % T) >= 4 + (i / T) % 8 ? 0.0f : floorf(x[i]); /* padded tails */
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
    const float *xs[1] = {x};
    lf_model *l = fit_save_load(m, path, xs, y, N, 3, 3);
    if (l)
        CHECK(l->nodes[1].seq_mask == 1 && l->nodes[5].seq_mask == 1, "the loaded model's mask: %d %d",
              l->nodes[1].seq_mask, l->nodes[5].seq_mask);
    lf_model_free(l);
    const char *want[] = {
        "\"type\":\"Embedding\",\"inbound\":[\"tokens\"],\"input_dim\":30,\"output_dim\":8,\"mask_zero\":true}",
        "\"type\":\"PositionEmbedding\",\"inbound\":[\"embedding\"],\"sequence_length\":16}",
        "\"type\":\"LayerNormalization\",\"inbound\":[\"add\"],\"axis\":-1,\"epsilon\":0.001,\"center\":true,"
        "\"scale\":true}",
        "\"type\":\"Conv1D\",\"inbound\":[\"layer_normalization\"],\"filters\":5,\"kernel_size\":[3],\"strides\":[2],"
        "\"padding\":\"same\",\"activation\":\"relu\",\"use_bias\":true,\"l2\":0}",
        "\"type\":\"GlobalMaxPooling1D\",\"inbound\":[\"conv1d\"]}",
        "\"epsilon\":1e-05,\"center\":false,\"scale\":true}",
    };
    lf_st_file f;
    check_arch(path, &f, want, sizeof want / sizeof want[0]);
    check_tensor(&f, "conv1d.kernel", 3, (size_t[]){3, 8, 5});
    check_tensor(&f, "embedding.embeddings", 2, (size_t[]){30, 8});
    CHECK(lf_st_find(&f, "layer_normalization_1.beta") == NULL && lf_st_find(&f, "layer_normalization_1.gamma"),
          "center=false: no beta");
    lf_st_free(&f);
    lf_model_free(m);
    unlink(path);
}

/* Keras' embeddings_regularizer=l2(x) (lf_set_l2 on an Embedding): the
 * loss is the data loss plus x * sum(table^2) over every row, read or not;
 * the file keeps "l2" (and a table without one keeps its file as before) */
static void test_embedding_l2(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/emb_l2.lf", tmpdir);
    lf_model *m;
    lf_model_create(&m, 5);
    int ids = lf_input_shape(m, 1, (size_t[]){3}, LF_DTYPE_INT32, "ids");
    int e = lf_embedding(m, ids, 5, 2, 0, "emb");
    int p = lf_global_average_pooling1d(m, e, "pool");
    CHECK(lf_set_l2(m, e, 0.25f) == LF_OK && lf_model_compile(m, p, LF_LOSS_MSE, NULL) == LF_OK, "build: %s",
          lf_model_error(m));
    float table[10] = {0.5f, -1, 2, 0.25f, -0.75f, 1.5f, 3, -2, 0.125f, 1}; /* rows 3 and 4: no id reads them */
    CHECK(lf_set_weights(m, "emb", 0, table, 10) == LF_OK, "set: %s", lf_model_error(m));
    float x[6] = {0, 1, 2, 2, 2, 1}, y[4] = {1, -1, 0.5f, 2}, q[4];
    const float *xs[1] = {x};
    double loss = NAN, mse = 0, sq = 0;
    CHECK(lf_model_evaluate(m, xs, y, 2, NULL, &loss, NULL) == LF_OK && lf_model_predict(m, xs, 2, q) == LF_OK,
          "evaluate: %s", lf_model_error(m));
    for (int i = 0; i < 4; i++) mse += ((double)q[i] - y[i]) * ((double)q[i] - y[i]) / 4;
    for (int i = 0; i < 10; i++) sq += (double)table[i] * table[i];
    CHECK(fabs(loss - (mse + 0.25 * sq)) < 1e-5, "loss %.9g, want the mse %.9g + 0.25 x %g", loss, mse, sq);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_st_file f;
    check_arch(path, &f, (const char *[]){"\"output_dim\":2,\"mask_zero\":false,\"l2\":0.25}"}, 1);
    lf_st_free(&f);
    lf_model *l;
    lf_model_create(&l, 0);
    double back = NAN;
    CHECK(lf_model_load(l, path) == LF_OK && lf_model_evaluate(l, xs, y, 2, NULL, &back, NULL) == LF_OK,
          "load: %s", lf_model_error(l));
    CHECK(back == loss, "the loaded model's loss %.9g, the saved one's %.9g", back, loss);
    lf_model_free(l);
    lf_model_free(m);
    unlink(path);
}

/* build-time errors name the layer and the shapes */
static void test_seq_errors(void) {
    struct {
        int what;
        const char *msg;
    } cases[] = {
        {0, "Embedding: input 'vid' has shape (None, 1, 2, 4, 5, 3); token ids have rank 2 (batch, steps) to 5"},
        {1, "Embedding: input_dim and output_dim must be in 1..268435456, got 0 and 4"},
        {2, "PositionEmbedding: input 'seq' has shape (None, 6, 3), longer than sequence_length 5"},
        {3, "PositionEmbedding: input 'v' has shape (None, 12); it needs rank 3 (batch, steps, features)"},
        {4, "Conv1D: input 'seq' of shape (None, 6, 3) is shorter than the kernel 7 with padding 'valid'"},
        {5, "Conv1D: kernel_size and strides must be in 1..1024, got 3 and 0"},
        {6, "Conv1D: input 'img' has shape (None, 4, 5, 3); it needs rank 3 (batch, steps, features)"},
        {7, "GlobalMaxPooling1D: input 'v' has shape (None, 12); it needs rank 3 (batch, steps, features)"},
        {8, "LayerNormalization: epsilon must be finite and > 0, got 0"},
        {9, "Conv1D: filters must be in 1..268435456, got 0"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int img = lf_input_shape(m, 3, (size_t[]){4, 5, 3}, LF_DTYPE_FLOAT32, "img"), v = lf_input(m, 12, "v");
        int seq = lf_input_shape(m, 2, (size_t[]){6, 3}, LF_DTYPE_FLOAT32, "seq");
        switch (cases[c].what) {
        case 0: lf_embedding(m, lf_input_shape(m, 5, (size_t[]){1, 2, 4, 5, 3}, LF_DTYPE_FLOAT32, "vid"), 10, 4, 0, NULL); break;
        case 1: lf_embedding(m, v, 0, 4, 0, NULL); break;
        case 2: lf_position_embedding(m, seq, 5, NULL); break;
        case 3: lf_position_embedding(m, v, 5, NULL); break;
        case 4: lf_conv1d(m, seq, 2, 7, 1, LF_PADDING_VALID, LF_ACT_RELU, 1, NULL); break;
        case 5: lf_conv1d(m, seq, 2, 3, 0, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL); break;
        case 6: lf_conv1d(m, img, 2, 3, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL); break;
        case 7: lf_global_max_pooling1d(m, v, NULL); break;
        case 8: lf_layer_normalization(m, seq, 0.0f, 1, 1, NULL); break;
        default: lf_conv1d(m, seq, 0, 3, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL); break;
        }
        CHECK(strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

/* a categorical loss on a (T, C) output is refused at compile (it would be
 * one distribution over T x C values, not Keras' loss per step); binary
 * cross-entropy, per value, is accepted */
static void test_categorical_on_sequence(void) {
    for (int loss = 0; loss < 3; loss++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int seq = lf_input_shape(m, 2, (size_t[]){6, 3}, LF_DTYPE_FLOAT32, "seq");
        int out = lf_dense(m, seq, 4, loss == 2 ? LF_ACT_SIGMOID : LF_ACT_SOFTMAX, 1, "cls");
        lf_loss l = loss == 0 ? LF_LOSS_CATEGORICAL_CROSSENTROPY
                    : loss == 1 ? LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY : LF_LOSS_BINARY_CROSSENTROPY;
        lf_status st = lf_model_compile(m, out, l, NULL);
        if (loss == 2) {
            CHECK(st == LF_OK, "binary cross-entropy on (6, 4): %s", lf_model_error(m));
        } else {
            const char *want = loss == 0 ? "compile: categorical_crossentropy needs an output of one axis, but "
                                           "'cls' has shape (None, 6, 4) (pool or flatten before the classifier)"
                                         : "compile: sparse_categorical_crossentropy needs an output of one axis, "
                                           "but 'cls' has shape (None, 6, 4) (pool or flatten before the "
                                           "classifier)";
            CHECK(st == LF_ERR_SHAPE && strcmp(lf_model_error(m), want) == 0, "loss %d: got %d '%s'", loss, (int)st,
                  lf_model_error(m));
        }
        lf_model_free(m);
    }
}

/* The worst relative error, over parameters [0, n), of the gradients g
 * against central differences (step 1e-2) of the training loss on xs, t */
static double worst_fd_error(lf_model *m, const float *const *xs, const float *t, size_t NB, size_t n,
                             const float *g) {
    double worst = 0;
    for (size_t j = 0; j < n; j++) {
        float *w = m->params + j, w0 = *w;
        double lp, lm, h = 1e-2;
        *w = w0 + (float)h;
        lf__loss_and_grads(m, xs, t, NB, 1, 0, &lp, NULL);
        *w = w0 - (float)h;
        lf__loss_and_grads(m, xs, t, NB, 1, 0, &lm, NULL);
        *w = w0;
        double num = (lp - lm) / (2 * h), err = fabs(num - g[j]) / (1e-2 + fabs(num));
        worst = err > worst ? err : worst;
    }
    return worst;
}

/* BatchNormalization keeps the padding mask and, in training, takes its
 * statistics over the unmasked steps (Keras 3's masked moments): by hand
 * for the moving statistics and the inference output, and against finite
 * differences for the gradients (the padded steps' outputs, read through
 * Flatten, still depend on the statistics; a row all padding included). */
static void test_masked_batchnorm(void) {
    enum { NB = 4, T = 5, V = 6, D = 3 };
    lf_model *m;
    lf_model_create(&m, 3);
    int ids = lf_input_shape(m, 1, (size_t[]){T}, LF_DTYPE_INT32, "ids");
    int e = lf_embedding(m, ids, V, D, 1, "emb");
    int bn = lf_batch_normalization(m, e, 0.9f, 1e-3f, "bn");
    int gap = lf_global_average_pooling1d(m, bn, "gap");
    int fl = lf_flatten(m, bn, "flat");
    int cat = lf_concatenate(m, 2, (int[]){gap, fl}, "cat");
    int o = lf_dense(m, cat, 2, LF_ACT_LINEAR, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    CHECK(m->nodes[bn].seq_mask == e, "BatchNormalization keeps the padding mask");
    float table[V * D], gb[2 * D];
    fill_uniform(table, V * D, -1, 1, 31);
    fill_uniform(gb, 2 * D, 0.5f, 1.5f, 32);
    CHECK(lf_set_weights(m, "emb", 0, table, V * D) == LF_OK && lf_set_weights(m, "bn", 0, gb, D) == LF_OK &&
              lf_set_weights(m, "bn", 1, gb + D, D) == LF_OK,
          "set weights");
    float x[NB * T] = {3, 1, 2, 0, 0, /* */ 4, 4, 0, 0, 0, /* */ 0, 0, 0, 0, 0, /* */ 1, 2, 3, 5, 1};
    float t[NB * 2];
    fill_uniform(t, NB * 2, -1, 1, 33);
    const float *xs[1] = {x};
    /* the masked statistics by hand */
    double mean[D] = {0}, var[D] = {0}, cnt = 0;
    for (size_t i = 0; i < NB * T; i++)
        if (x[i] != 0) {
            cnt++;
            for (size_t k = 0; k < D; k++) mean[k] += table[(size_t)x[i] * D + k];
        }
    for (size_t k = 0; k < D; k++) mean[k] /= cnt;
    for (size_t i = 0; i < NB * T; i++)
        if (x[i] != 0)
            for (size_t k = 0; k < D; k++) {
                double d = table[(size_t)x[i] * D + k] - mean[k];
                var[k] += d * d / cnt;
            }
    double loss;
    CHECK(lf__loss_and_grads(m, xs, t, NB, 1, 0, &loss, NULL) == LF_OK, "a training pass");
    float mm[D], mv[D];
    lf_get_weights(m, "bn", 2, mm, D);
    lf_get_weights(m, "bn", 3, mv, D);
    int stats_ok = 1;
    for (size_t k = 0; k < D; k++)
        stats_ok &= fabs(mm[k] - 0.1 * mean[k]) < 1e-6 && fabs(mv[k] - (0.9 + 0.1 * var[k])) < 1e-6;
    CHECK(stats_ok, "moving statistics over the unmasked steps: mean %g (want %g), variance %g (want %g)",
          (double)mm[0], 0.1 * mean[0], (double)mv[0], 0.9 + 0.1 * var[0]);
    /* inference: the moving statistics, then the pooling over the unmasked steps */
    float *outs[32] = {0}, py[NB * D];
    outs[gap] = py;
    CHECK(lf__forward_nodes(m, xs, NB, outs) == LF_OK, "forward");
    int pool_ok = 1;
    for (size_t r = 0; r < NB; r++)
        for (size_t k = 0; k < D; k++) {
            double s = 0, c = 0;
            for (size_t j = 0; j < T; j++) {
                size_t id = (size_t)x[r * T + j];
                if (!id) continue;
                s += gb[k] * (table[id * D + k] - mm[k]) / sqrt(mv[k] + 1e-3) + gb[D + k], c++;
            }
            pool_ok &= fabs(py[r * D + k] - (c ? s / c : 0.0)) < 1e-5;
        }
    CHECK(pool_ok, "inference: the pooling of the normalised unmasked steps (row 0: %g)", (double)py[0]);
    /* gradients of the table, gamma and beta against central differences */
    size_t np = lf_model_num_params(m), nw = V * D + 2 * D;
    CHECK(lf__loss_and_grads(m, xs, t, NB, 1, 0, &loss, NULL) == LF_OK, "grads");
    float *g = malloc(np * sizeof *g);
    memcpy(g, m->grads, np * sizeof *g);
    double worst = worst_fd_error(m, xs, t, NB, nw, g); /* the table then gamma and beta lead the parameters */
    CHECK(worst < 2e-2, "masked BatchNormalization's gradients: worst relative error %g", worst);
    free(g);
    lf_model_free(m);
}

/* An output that carries the padding mask: as Keras, the loss is the mean
 * of the unmasked steps' losses (each step's over its values), over the
 * batch in training and over all the rows in evaluate; padded steps get no
 * gradient; a batch with no unmasked step has loss 0.  By hand, and the
 * gradients against finite differences. */
static void test_masked_loss(void) {
    enum { NB = 4, T = 4, V = 5, D = 2, U = 2 };
    lf_model *m;
    lf_model_create(&m, 4);
    int ids = lf_input_shape(m, 1, (size_t[]){T}, LF_DTYPE_INT32, "ids");
    int e = lf_embedding(m, ids, V, D, 1, "emb");
    int o = lf_dense(m, e, U, LF_ACT_LINEAR, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    float table[V * D], k[U * D + U];
    fill_uniform(table, V * D, -1, 1, 41);
    fill_uniform(k, U * D + U, -1, 1, 42);
    CHECK(lf_set_weights(m, "emb", 0, table, V * D) == LF_OK && lf_set_weights(m, "out", 0, k, U * D) == LF_OK &&
              lf_set_weights(m, "out", 1, k + U * D, U) == LF_OK,
          "set weights");
    float x[NB * T] = {1, 2, 0, 0, /* */ 3, 0, 0, 0, /* */ 0, 0, 0, 0, /* */ 4, 1, 2, 3};
    float t[NB * T * U], y[NB * T * U];
    fill_uniform(t, NB * T * U, -1, 1, 43);
    const float *xs[1] = {x};
    CHECK(lf_model_predict(m, xs, NB, y) == LF_OK, "predict");
    /* the mean over the 7 unmasked steps of each step's mean squared error */
    double want = 0, cnt = 0, all = 0;
    for (size_t i = 0; i < NB * T; i++) {
        double l = 0;
        for (size_t j = 0; j < U; j++) l += (y[i * U + j] - t[i * U + j]) * (y[i * U + j] - t[i * U + j]) / U;
        all += l / (NB * T);
        if (x[i] != 0) want += l, cnt++;
    }
    want /= cnt;
    double got;
    CHECK(lf_model_evaluate(m, xs, t, NB, NULL, &got, NULL) == LF_OK, "evaluate: %s", lf_model_error(m));
    CHECK(fabs(got - want) < 1e-6, "evaluate: the masked mean %.7f, got %.7f (the mean over every step: %.7f)", want,
          got, all);
    double loss;
    CHECK(lf__loss_and_grads(m, xs, t, NB, 1, 0, &loss, NULL) == LF_OK, "training loss");
    CHECK(fabs(loss - want) < 1e-6, "training: the masked mean %.7f, got %.7f", want, loss);
    /* the rows of the table read only at padded steps (row 0) get no gradient */
    size_t np = lf_model_num_params(m);
    float *g = malloc(np * sizeof *g);
    memcpy(g, m->grads, np * sizeof *g);
    CHECK(g[0] == 0.0f && g[1] == 0.0f, "the padding row of the table: gradient %g %g", (double)g[0], (double)g[1]);
    double worst = worst_fd_error(m, xs, t, NB, np, g);
    CHECK(worst < 1e-2, "masked loss gradients: worst relative error %g", worst);
    free(g);
    /* a batch of padding only: loss 0, no gradient */
    float pad[T] = {0};
    const float *ps[1] = {pad};
    CHECK(lf__loss_and_grads(m, ps, t, 1, 1, 0, &loss, NULL) == LF_OK && loss == 0.0, "all padding: loss %g", loss);
    int zero = 1;
    for (size_t j = 0; j < np; j++) zero &= m->grads[j] == 0.0f;
    CHECK(zero, "all padding: no gradient");
    lf_model_free(m);

    /* class weights on a per-step output: refused, as Keras refuses them
     * for targets of 3 or more dimensions (the class of a row would be the
     * argmax over all its steps' values) */
    lf_model_create(&m, 4);
    ids = lf_input_shape(m, 1, (size_t[]){T}, LF_DTYPE_INT32, "ids");
    o = lf_dense(m, lf_embedding(m, ids, V, D, 1, "emb"), 1, LF_ACT_SIGMOID, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_BINARY_CROSSENTROPY, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    float cw[T] = {1, 2, 1, 1}, tb[NB * T] = {0};
    lf_fit_options fo = lf_fit_defaults();
    fo.class_weight = cw, fo.n_class_weight = T;
    CHECK(lf_model_fit(m, xs, tb, NB, &fo) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "fit: class weights need an output of one axis; 'out' has shape (None, 4, 1)") ==
                  0,
          "class weights on a sequence output: got '%s'", lf_model_error(m));
    lf_model_free(m);
}

/* LayerNormalization of features whose spread passes float's range in the
 * variance (about 1.8e19): each output is still (x - mean) / std, as in
 * double (float's variance would be inf, 1/std 0 and every output beta),
 * also when x - mean itself passes it (the last row: -3e38 - 1.5e38); a
 * constant row with a tiny epsilon gives exact zeros. */
static void test_layernorm_range(void) {
    enum { D = 4, R = 4 };
    lf_model *m;
    lf_model_create(&m, 41);
    int x = lf_input(m, D, "x");
    int y = lf_layer_normalization(m, x, 1e-30f, 0, 0, "ln");
    CHECK(lf_model_compile(m, y, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    float in[R * D] = {1e34f, -2e34f, 3e34f, 0.0f, 5e19f, -5e19f, 1e19f, 0.0f,
                       7.0f,  7.0f,   7.0f, 7.0f, 3e38f, -3e38f, 3e38f, 3e38f};
    float out[R * D];
    const float *xs[1] = {in};
    CHECK(lf_model_predict(m, xs, R, out) == LF_OK, "predict: %s", lf_model_error(m));
    for (size_t r = 0; r < R; r++) {
        double mean = 0, var = 0;
        for (size_t j = 0; j < D; j++) mean += in[r * D + j] / (double)D;
        for (size_t j = 0; j < D; j++) var += (in[r * D + j] - mean) * (in[r * D + j] - mean) / (double)D;
        for (size_t j = 0; j < D; j++) {
            double want = var > 0 ? (in[r * D + j] - mean) / sqrt(var) : 0.0;
            CHECK(fabs(out[r * D + j] - want) <= 1e-5 + 1e-5 * fabs(want),
                  "LayerNormalization row %zu feature %zu (first value %g): %.9g, want %.9g", r, j, in[r * D],
                  (double)out[r * D + j], want);
        }
    }
    lf_model_free(m);
}

/* MaxPooling1D / AveragePooling1D by hand: valid and same (padded steps
 * take no part: the mean divides by the window's real steps, the max
 * skips them), strides, a NaN in a window; on a masked sequence they pool
 * every step (Keras' poolings take no mask) and end the mask; their
 * shape errors; the summary, the file's fields and predictions bit for
 * bit after save and load */
static void test_pool1d(void) {
    /* x (5, 2): step j is (j + 1, -(j + 1)) except step 2, (-4, 7) */
    float x[10] = {1, -1, 2, -2, -4, 7, 4, -4, 5, -5};
    struct {
        size_t k, s;
        lf_padding pad;
        int max;
        size_t To;
        float want[10];
    } cases[] = {
        {2, 0, LF_PADDING_VALID, 1, 2, {2, -1, 4, 7}},
        {2, 0, LF_PADDING_VALID, 0, 2, {1.5f, -1.5f, 0, 1.5f}},
        /* same, pool 2, stride 2: 1 padding step after: windows {0,1} {2,3} {4} */
        {2, 2, LF_PADDING_SAME, 1, 3, {2, -1, 4, 7, 5, -5}},
        {2, 2, LF_PADDING_SAME, 0, 3, {1.5f, -1.5f, 0, 1.5f, 5, -5}},
        /* same, pool 3, stride 1: one step before, one after */
        {3, 1, LF_PADDING_SAME, 0, 5,
         {1.5f, -1.5f, -1.0f / 3, 4.0f / 3, 2.0f / 3, 1.0f / 3, 5.0f / 3, -2.0f / 3, 4.5f, -4.5f}},
        {3, 1, LF_PADDING_SAME, 1, 5, {2, -1, 2, 7, 4, 7, 5, 7, 5, -4}},
        /* pool 4 stride 3 same: To 2, total padding 2: one before, one after */
        {4, 3, LF_PADDING_SAME, 0, 2, {-1.0f / 3, 4.0f / 3, 5.0f / 3, -2.0f / 3}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 5);
        int in = lf_input_shape(m, 2, (size_t[]){5, 2}, LF_DTYPE_FLOAT32, "x");
        int p = cases[c].max ? lf_max_pooling1d(m, in, cases[c].k, cases[c].s, cases[c].pad, "p")
                             : lf_average_pooling1d(m, in, cases[c].k, cases[c].s, cases[c].pad, "p");
        size_t dims[3] = {0};
        CHECK(p >= 0 && lf_node_shape(m, p, dims) == 2 && dims[0] == cases[c].To && dims[1] == 2,
              "case %zu: shape (%zu, %zu): %s", c, dims[0], dims[1], lf_model_error(m));
        CHECK(lf_model_compile(m, lf_flatten(m, p, "f"), LF_LOSS_MSE, NULL) == LF_OK, "compile: %s",
              lf_model_error(m));
        float y[10];
        const float *xs[1] = {x};
        CHECK(lf_model_predict(m, xs, 1, y) == LF_OK, "predict");
        int ok = 1;
        for (size_t j = 0; j < 2 * cases[c].To; j++) ok &= fabsf(y[j] - cases[c].want[j]) < 1e-6f;
        CHECK(ok, "case %zu (%s, pool %zu, strides %zu, %s): got %g %g %g %g ...", c, cases[c].max ? "max" : "average",
              cases[c].k, cases[c].s, cases[c].pad ? "same" : "valid", (double)y[0], (double)y[1], (double)y[2],
              (double)y[3]);
        /* a NaN is the max of its windows (and the mean's) */
        float xn[10];
        memcpy(xn, x, sizeof xn);
        xn[2] = NAN; /* step 1, feature 0 */
        xs[0] = xn;
        CHECK(lf_model_predict(m, xs, 1, y) == LF_OK, "predict");
        int nan_ok = isnan(y[0]) && !isnan(y[1]);
        CHECK(nan_ok, "case %zu: a NaN at step 1 gives %g %g in the first window", c, (double)y[0], (double)y[1]);
        lf_model_free(m);
    }

    /* a masked sequence: every step pooled, padding too, and no mask after */
    for (int max = 0; max <= 1; max++) {
        lf_model *m;
        lf_model_create(&m, 6);
        int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
        int e = lf_embedding(m, ids, 6, 2, 1, "emb");
        int p = max ? lf_max_pooling1d(m, e, 2, 0, LF_PADDING_VALID, "pool")
                    : lf_average_pooling1d(m, e, 2, 0, LF_PADDING_VALID, "pool");
        int g = lf_global_average_pooling1d(m, p, "gap");
        CHECK(p >= 0 && m->nodes[e].seq_mask == e && m->nodes[p].seq_mask == -1 && m->nodes[g].seq_mask == -1,
              "the pooling ends the mask");
        CHECK(lf_model_compile(m, lf_flatten(m, p, "f"), LF_LOSS_MSE, NULL) == LF_OK, "compile: %s",
              lf_model_error(m));
        float table[12];
        for (int k = 0; k < 6; k++) table[2 * k] = (float)k, table[2 * k + 1] = -2.0f - (float)k;
        CHECK(lf_set_weights(m, "emb", 0, table, 12) == LF_OK, "set");
        float ids_x[4] = {3, 0, 0, 0}, y[4];
        const float *xs[1] = {ids_x};
        CHECK(lf_model_predict(m, xs, 1, y) == LF_OK, "predict");
        /* steps (3, -5) (0, -2) (0, -2) (0, -2): row 0 of the table at the padded steps */
        float want[2][4] = {{1.5f, -3.5f, 0, -2}, {3, -2, 0, -2}};
        CHECK(memcmp(y, want[max], sizeof y) == 0, "%s over a masked sequence: got %g %g %g %g",
              max ? "max" : "average", (double)y[0], (double)y[1], (double)y[2], (double)y[3]);
        lf_model_free(m);
    }

    /* errors name the layer and the shapes */
    struct {
        int what;
        const char *msg;
    } errs[] = {
        {0, "MaxPooling1D: input 'seq' of shape (None, 6, 3) is shorter than the pool 7 with padding 'valid'"},
        {1, "AveragePooling1D: pool_size and strides must be in 1..1024, got 0 and 1"},
        {2, "MaxPooling1D: input 'img' has shape (None, 4, 5, 3); it needs rank 3 (batch, steps, features)"},
        {3, "AveragePooling1D: input 'v' has shape (None, 12); it needs rank 3 (batch, steps, features)"},
        {4, "MaxPooling1D: pool_size and strides must be in 1..1024, got 2 and 1025"},
    };
    for (size_t c = 0; c < sizeof errs / sizeof errs[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int img = lf_input_shape(m, 3, (size_t[]){4, 5, 3}, LF_DTYPE_FLOAT32, "img"), v = lf_input(m, 12, "v");
        int seq = lf_input_shape(m, 2, (size_t[]){6, 3}, LF_DTYPE_FLOAT32, "seq");
        switch (errs[c].what) {
        case 0: lf_max_pooling1d(m, seq, 7, 0, LF_PADDING_VALID, NULL); break;
        case 1: lf_average_pooling1d(m, seq, 0, 1, LF_PADDING_SAME, NULL); break;
        case 2: lf_max_pooling1d(m, img, 2, 0, LF_PADDING_VALID, NULL); break;
        case 3: lf_average_pooling1d(m, v, 2, 0, LF_PADDING_VALID, NULL); break;
        default: lf_max_pooling1d(m, seq, 2, 1025, LF_PADDING_VALID, NULL); break;
        }
        CHECK(strcmp(lf_model_error(m), errs[c].msg) == 0, "error case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }

    /* trains, saves and loads: summary, fields, predictions bit for bit */
    char path[128];
    snprintf(path, sizeof path, "%s/pool1d.lf", tmpdir);
    lf_model *m;
    lf_model_create(&m, 7);
    int in = lf_input_shape(m, 2, (size_t[]){9, 3}, LF_DTYPE_FLOAT32, "seq");
    int c1 = lf_conv1d(m, in, 4, 2, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL);
    int mp = lf_max_pooling1d(m, c1, 3, 2, LF_PADDING_SAME, NULL);
    int ap = lf_average_pooling1d(m, c1, 2, 0, LF_PADDING_VALID, NULL);
    int cat = lf_concatenate(m, 2, (int[]){lf_flatten(m, mp, NULL), lf_flatten(m, ap, NULL)}, NULL);
    int o = lf_dense(m, cat, 2, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    const char *rows[] = {
        "max_pooling1d (MaxPooling1D)",         "(None, 5, 4)                  0  conv1d",
        "average_pooling1d (AveragePooling1D)", "(None, 4, 4)                  0  conv1d",
    };
    check_summary(m, rows, sizeof rows / sizeof rows[0]);
    enum { N = 20 };
    float xr[N * 27], yr[N];
    fill_uniform(xr, N * 27, -1, 1, 11);
    for (int i = 0; i < N; i++) yr[i] = (float)(i % 2);
    const float *xs[1] = {xr};
    lf_model_free(fit_save_load(m, path, xs, yr, N, 2, 2));
    const char *want[] = {
        "\"type\":\"MaxPooling1D\",\"inbound\":[\"conv1d\"],\"pool_size\":[3],\"strides\":[2],\"padding\":\"same\"}",
        "\"type\":\"AveragePooling1D\",\"inbound\":[\"conv1d\"],\"pool_size\":[2],\"strides\":[2],"
        "\"padding\":\"valid\"}",
    };
    lf_st_file f;
    check_arch(path, &f, want, sizeof want / sizeof want[0]);
    lf_st_free(&f);
    lf_model_free(m);
    unlink(path);
}

/* LSTM / GRU: Keras' initial weights (orthogonal recurrent kernel, the
 * forget bias at 1), masked steps repeating the previous output, the save /
 * load round trip predicting the same bits, the file's fields and shapes,
 * and the builder's errors */
static void test_rnn(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/rnn.lf", tmpdir);
    lf_model *m;
    lf_model_create(&m, 5);
    int ids = lf_input_shape(m, 1, (size_t[]){6}, LF_DTYPE_INT32, "tokens");
    int e = lf_embedding(m, ids, 20, 5, 1, NULL);
    int ls = lf_lstm(m, e, 4, 1, 1, 1, 0, NULL);
    int gr = lf_gru(m, ls, 3, 1, 0, 1, NULL);
    int o = lf_dense(m, gr, 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(ls >= 0 && gr >= 0 && lf_set_l2(m, ls, 0.01f) == LF_OK, "build: %s", lf_model_error(m));
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    CHECK(m->nodes[ls].seq_mask == e && m->nodes[gr].seq_mask == -1, "masks: %d %d", m->nodes[ls].seq_mask,
          m->nodes[gr].seq_mask);
    /* initial weights: U U^T = I (rows orthonormal), bias 0 but the forget block's 1 */
    float U[4 * 16], b[16];
    CHECK(lf_get_weights(m, "lstm", 1, U, 64) == LF_OK && lf_get_weights(m, "lstm", 2, b, 16) == LF_OK, "weights");
    double worst = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double d = 0;
            for (int k = 0; k < 16; k++) d += (double)U[i * 16 + k] * U[j * 16 + k];
            worst = fmax(worst, fabs(d - (i == j)));
        }
    CHECK(worst < 1e-5, "recurrent_kernel rows are not orthonormal: %g", worst);
    for (int j = 0; j < 16; j++) CHECK(b[j] == (j >= 4 && j < 8 ? 1.0f : 0.0f), "bias[%d] = %g", j, (double)b[j]);
    /* a masked step repeats the previous output; zeros before the first real step */
    float x2[2 * 6] = {3, 4, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0}, seqo[2 * 6 * 4];
    float *outs[16] = {0};
    outs[ls] = seqo;
    CHECK(lf__forward_nodes(m, (const float *const *)(const float *[]){x2}, 2, outs) == LF_OK, "forward");
    CHECK(memcmp(seqo + 2 * 4, seqo + 1 * 4, 16) == 0 && memcmp(seqo + 5 * 4, seqo + 3 * 4, 16) == 0 &&
              memcmp(seqo + 4 * 4, seqo + 3 * 4, 16) == 0, "masked steps repeat the output");
    for (int j = 0; j < 24; j++) CHECK(seqo[24 + j] == 0.0f, "a fully padded row gives zeros");
    enum { N = 24, T = 6 };
    float x[N * T], y[N];
    fill_uniform(x, N * T, 1, 20, 11);
    for (int i = 0; i < N * T; i++) x[i] = (i % T) >= 2 + (i / T) % 5 ? 0.0f : floorf(x[i]);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
    const float *xs[1] = {x};
    lf_model *l = fit_save_load(m, path, xs, y, N, 2, 3);
    if (l)
        CHECK(l->nodes[2].seq_mask == 1 && l->nodes[3].seq_mask == -1 && l->nodes[2].l2 == 0.01f, "loaded: %d %d",
              l->nodes[2].seq_mask, l->nodes[3].seq_mask);
    lf_model_free(l);
    const char *want[] = {
        "\"type\":\"LSTM\",\"inbound\":[\"embedding\"],\"units\":4,\"activation\":\"tanh\",\"recurrent_activation\":"
        "\"sigmoid\",\"use_bias\":true,\"return_sequences\":true,\"go_backwards\":false,\"unit_forget_bias\":true,"
        "\"l2\":0.01",
        "\"type\":\"GRU\",\"inbound\":[\"lstm\"],\"units\":3,\"activation\":\"tanh\",\"recurrent_activation\":"
        "\"sigmoid\",\"use_bias\":true,\"return_sequences\":false,\"go_backwards\":true,\"reset_after\":true,"
        "\"l2\":0}",
    };
    lf_st_file f;
    check_arch(path, &f, want, sizeof want / sizeof want[0]);
    check_tensor(&f, "lstm.kernel", 2, (size_t[]){5, 16});
    check_tensor(&f, "gru.recurrent_kernel", 2, (size_t[]){3, 9});
    check_tensor(&f, "gru.bias", 2, (size_t[]){2, 9});
    lf_st_free(&f);
    lf_model_free(m);
    unlink(path);
    const char *errs[] = {"LSTM: units must be in 1..67108864, got 0",
                          "GRU: input 'v' has shape (None, 12); it needs rank 3 (batch, steps, features)"};
    for (int c = 0; c < 2; c++) {
        lf_model_create(&m, 2);
        int v = lf_input(m, 12, "v"), sq = lf_input_shape(m, 2, (size_t[]){6, 3}, LF_DTYPE_FLOAT32, "seq");
        if (c == 0) lf_lstm(m, sq, 0, 1, 1, 0, 0, NULL);
        else lf_gru(m, v, 3, 1, 0, 0, NULL);
        CHECK(strcmp(lf_model_error(m), errs[c]) == 0, "case %d: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

/* SimpleRNN: Keras' initial weights (orthogonal recurrent kernel, zero
 * bias), the activation, the save / load round trip predicting the same
 * bits, the file's fields and shapes, and the builder's errors */
static void test_simple_rnn(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/simple_rnn.lf", tmpdir);
    lf_model *m;
    lf_model_create(&m, 6);
    int ids = lf_input_shape(m, 1, (size_t[]){6}, LF_DTYPE_INT32, "tokens");
    int e = lf_embedding(m, ids, 20, 5, 1, NULL);
    int s1 = lf_simple_rnn(m, e, 4, LF_ACT_RELU, 1, 1, 1, NULL);
    int s2 = lf_simple_rnn(m, s1, 3, LF_ACT_TANH, 0, 0, 0, NULL);
    int o = lf_dense(m, s2, 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(s1 >= 0 && s2 >= 0 && lf_set_l2(m, s2, 0.02f) == LF_OK, "build: %s", lf_model_error(m));
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    CHECK(m->nodes[s1].seq_mask == e && m->nodes[s2].seq_mask == -1, "masks: %d %d", m->nodes[s1].seq_mask,
          m->nodes[s2].seq_mask);
    float U[16], b[4] = {1, 1, 1, 1};
    CHECK(lf_get_weights(m, "simple_rnn", 1, U, 16) == LF_OK && lf_get_weights(m, "simple_rnn", 2, b, 4) == LF_OK,
          "weights");
    double worst = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
            double d = 0;
            for (int k = 0; k < 4; k++) d += (double)U[i * 4 + k] * U[j * 4 + k];
            worst = fmax(worst, fabs(d - (i == j)));
        }
    CHECK(worst < 1e-5, "recurrent_kernel is not orthogonal: %g", worst);
    for (int j = 0; j < 4; j++) CHECK(b[j] == 0.0f, "bias[%d] = %g", j, (double)b[j]);
    /* relu: no output below 0 */
    float x2[6] = {3, 4, 0, 5, 7, 1}, seqo[6 * 4];
    float *outs[16] = {0};
    outs[s1] = seqo;
    CHECK(lf__forward_nodes(m, (const float *const *)(const float *[]){x2}, 1, outs) == LF_OK, "forward");
    for (int j = 0; j < 24; j++) CHECK(seqo[j] >= 0.0f, "relu output %g", (double)seqo[j]);
    enum { N = 24, T = 6 };
    float x[N * T], y[N];
    fill_uniform(x, N * T, 1, 20, 12);
    for (int i = 0; i < N * T; i++) x[i] = (i % T) >= 2 + (i / T) % 5 ? 0.0f : floorf(x[i]);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
    const float *xs[1] = {x};
    lf_model *l = fit_save_load(m, path, xs, y, N, 2, 3);
    if (l)
        CHECK(l->nodes[2].act == LF_ACT_RELU && l->nodes[2].go_backwards && l->nodes[3].l2 == 0.02f &&
                  l->nodes[2].seq_mask == 1 && l->nodes[3].seq_mask == -1,
              "loaded fields");
    lf_model_free(l);
    const char *want[] = {
        "\"type\":\"SimpleRNN\",\"inbound\":[\"embedding\"],\"units\":4,\"activation\":\"relu\",\"use_bias\":true,"
        "\"return_sequences\":true,\"go_backwards\":true,\"l2\":0}",
        "\"type\":\"SimpleRNN\",\"inbound\":[\"simple_rnn\"],\"units\":3,\"activation\":\"tanh\",\"use_bias\":false,"
        "\"return_sequences\":false,\"go_backwards\":false,\"l2\":0.02",
    };
    lf_st_file f;
    check_arch(path, &f, want, sizeof want / sizeof want[0]);
    check_tensor(&f, "simple_rnn.kernel", 2, (size_t[]){5, 4});
    check_tensor(&f, "simple_rnn_1.recurrent_kernel", 2, (size_t[]){3, 3});
    CHECK(!lf_st_find(&f, "simple_rnn_1.bias"), "no bias without use_bias");
    lf_st_free(&f);
    lf_model_free(m);
    unlink(path);
    const char *errs[] = {"SimpleRNN: units must be in 1..67108864, got 0", "unknown activation 42"};
    for (int c = 0; c < 2; c++) {
        lf_model_create(&m, 2);
        int sq = lf_input_shape(m, 2, (size_t[]){6, 3}, LF_DTYPE_FLOAT32, "seq");
        CHECK(lf_simple_rnn(m, sq, c ? 2 : 0, c ? (lf_activation)42 : LF_ACT_TANH, 1, 0, 0, NULL) < 0, "refused");
        CHECK(strcmp(lf_model_error(m), errs[c]) == 0, "case %d: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

/* Bidirectional: masked steps give zeros in both halves (Keras' forced
 * zero_output_for_mask), the two copies' weights in Keras' order (the
 * forget bias at 1 in each), the save / load round trip predicting the
 * same bits, the file's fields and tensors, a corrupted file's and the
 * builder's errors */
static void test_bidirectional(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/bidirectional.lf", tmpdir);
    lf_model *m;
    lf_model_create(&m, 7);
    int ids = lf_input_shape(m, 1, (size_t[]){6}, LF_DTYPE_INT32, "tokens");
    int e = lf_embedding(m, ids, 20, 5, 1, NULL);
    int bl = lf_bidirectional(m, e, LF_RNN_LSTM, 4, LF_ACT_TANH, 1, 1, 1, LF_BIDI_CONCAT, NULL);
    int bg = lf_bidirectional(m, bl, LF_RNN_GRU, 3, LF_ACT_TANH, 1, 0, 0, LF_BIDI_AVE, NULL);
    int o = lf_dense(m, bg, 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(bl >= 0 && bg >= 0 && lf_set_l2(m, bl, 0.01f) == LF_OK, "build: %s", lf_model_error(m));
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    CHECK(m->nodes[bl].seq_mask == e && m->nodes[bg].seq_mask == -1, "masks: %d %d", m->nodes[bl].seq_mask,
          m->nodes[bg].seq_mask);
    CHECK(m->nodes[bl].shape[1] == 8 && m->nodes[bg].rank == 1 && m->nodes[bg].shape[0] == 3, "shapes");
    CHECK(lf_layer_num_weights(m, "bidirectional") == 6 && lf_layer_num_weights(m, "bidirectional_1") == 6,
          "six weights");
    float b[2][16];
    CHECK(lf_get_weights(m, "bidirectional", 2, b[0], 16) == LF_OK &&
              lf_get_weights(m, "bidirectional", 5, b[1], 16) == LF_OK, "biases");
    for (int d = 0; d < 2; d++)
        for (int j = 0; j < 16; j++) CHECK(b[d][j] == (j >= 4 && j < 8 ? 1.0f : 0.0f), "bias %d[%d]", d, j);
    /* masked steps: zeros in both halves; real steps: both halves set */
    float x2[2 * 6] = {3, 4, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0}, seqo[2 * 6 * 8];
    float *outs[16] = {0};
    outs[bl] = seqo;
    CHECK(lf__forward_nodes(m, (const float *const *)(const float *[]){x2}, 2, outs) == LF_OK, "forward");
    for (int t = 0; t < 12; t++) {
        int real = t < 6 && x2[t] != 0.0f;
        for (int j = 0; j < 8; j++)
            CHECK((seqo[t * 8 + j] != 0.0f) == real, "row %d step %d out %d: %g", t / 6, t % 6, j,
                  (double)seqo[t * 8 + j]);
    }
    enum { N = 24, T = 6 };
    float x[N * T], y[N];
    fill_uniform(x, N * T, 1, 20, 13);
    for (int i = 0; i < N * T; i++) x[i] = (i % T) >= 2 + (i / T) % 5 ? 0.0f : floorf(x[i]);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
    const float *xs[1] = {x};
    lf_model *l = fit_save_load(m, path, xs, y, N, 2, 3);
    if (l)
        CHECK(l->nodes[2].kind == LF_K_BIDIRECTIONAL && l->nodes[2].cell == LF_RNN_LSTM &&
                  l->nodes[2].merge_mode == LF_BIDI_CONCAT && l->nodes[2].l2 == 0.01f && l->nodes[2].seq_mask == 1 &&
                  l->nodes[3].cell == LF_RNN_GRU && l->nodes[3].merge_mode == LF_BIDI_AVE &&
                  l->nodes[3].seq_mask == -1,
              "loaded fields");
    lf_model_free(l);
    const char *want[] = {
        "\"type\":\"Bidirectional\",\"inbound\":[\"embedding\"],\"merge_mode\":\"concat\",\"layer\":{\"type\":"
        "\"LSTM\",\"units\":4,\"activation\":\"tanh\",\"recurrent_activation\":\"sigmoid\",\"use_bias\":true,"
        "\"return_sequences\":true,\"go_backwards\":false,\"unit_forget_bias\":true,\"l2\":0.01",
        "\"type\":\"Bidirectional\",\"inbound\":[\"bidirectional\"],\"merge_mode\":\"ave\",\"layer\":{\"type\":"
        "\"GRU\",\"units\":3,\"activation\":\"tanh\",\"recurrent_activation\":\"sigmoid\",\"use_bias\":true,"
        "\"return_sequences\":false,\"go_backwards\":false,\"reset_after\":true,\"l2\":0}}",
    };
    lf_st_file f;
    const char *arch = check_arch(path, &f, want, sizeof want / sizeof want[0]);
    check_tensor(&f, "bidirectional.forward.kernel", 2, (size_t[]){5, 16});
    check_tensor(&f, "bidirectional.backward.recurrent_kernel", 2, (size_t[]){4, 16});
    check_tensor(&f, "bidirectional_1.backward.kernel", 2, (size_t[]){8, 9});
    check_tensor(&f, "bidirectional_1.forward.bias", 2, (size_t[]){2, 9});
    /* a corrupted architecture is refused with the layer named */
    struct {
        const char *from, *to, *msg;
    } cases[] = {
        {"\"merge_mode\":\"concat\"", "\"merge_mode\":null",
         "layer 'bidirectional_1': Bidirectional: input 'bidirectional' has 2 outputs (Keras returns a list); "
         "pick one with lf_output_view"},
        {"\"merge_mode\":\"ave\"", "\"merge_mode\":\"max\"",
         "layer 'bidirectional_1': Bidirectional: 'merge_mode' must be \"concat\", \"sum\", \"mul\", \"ave\" or null"},
        {"{\"type\":\"GRU\"", "{\"type\":\"Dense\"", "'layer' must be an object whose 'type' is"},
        {"\"reset_after\":true,", "\"reset_after\":true,\"inbound\":[],",
         "layer 'bidirectional_1': Bidirectional's layer: unknown field 'inbound'"},
        {"\"return_sequences\":false,\"go_backwards\":false", "\"return_sequences\":false,\"go_backwards\":true",
         "layer 'bidirectional_1': Bidirectional's layer: go_backwards must be false"},
        {"\"units\":3", "\"units\":0", "Bidirectional's layer: 'units' must be an integer in 1.."},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *at = strstr(arch, cases[c].from);
        CHECK(at != NULL, "case %zu: pattern", c);
        if (!at) continue;
        size_t n = strlen(arch) + strlen(cases[c].to) + 1;
        char *mod = malloc(n);
        snprintf(mod, n, "%.*s%s%s", (int)(at - arch), arch, cases[c].to, at + strlen(cases[c].from));
        lf_model *bm;
        lf_model_create(&bm, 0);
        lf_err e2;
        lf_status st = lf_model_from_parts(bm, mod, strlen(mod), &f, "", &e2);
        CHECK(st == LF_ERR_FORMAT && strstr(e2.msg, cases[c].msg), "case %zu: %d %s", c, st, e2.msg);
        lf_model_free(bm);
        free(mod);
    }
    lf_st_free(&f);
    lf_model_free(m);
    unlink(path);
    const char *errs[] = {"Bidirectional: units must be in 1..67108864, got 0",
                          "Bidirectional: unknown merge_mode 0 (LF_BIDI_CONCAT, _SUM, _MUL, _AVE or _NONE)",
                          "Bidirectional: unknown wrapped layer 3 (LF_RNN_LSTM, LF_RNN_GRU or LF_RNN_SIMPLE)",
                          "Bidirectional: input 'v' has shape (None, 12); it needs rank 3 (batch, steps, features)",
                          "unknown activation 42"};
    for (int c = 0; c < 5; c++) {
        lf_model_create(&m, 2);
        int v = lf_input(m, 12, "v"), sq = lf_input_shape(m, 2, (size_t[]){6, 3}, LF_DTYPE_FLOAT32, "seq");
        int r = lf_bidirectional(m, c == 3 ? v : sq, c == 2 ? (lf_rnn_cell)3 : c == 4 ? LF_RNN_SIMPLE : LF_RNN_GRU,
                                 c == 0 ? 0 : 2, c == 4 ? (lf_activation)42 : LF_ACT_TANH, 1, 0, 0,
                                 c == 1 ? (lf_bidi_merge)0 : LF_BIDI_SUM, NULL);
        CHECK(r < 0 && strcmp(lf_model_error(m), errs[c]) == 0, "case %d: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

/* One row's recurrent forward in double, as keras/src/layers/rnn/lstm.py,
 * gru.py and simple_rnn.py write their cells (implementation 1 with
 * per-gate masks), with the dropout masks rebuilt from the documented
 * draws: row r's stream (key, node `draw`, r), x_t's masks (k_in of D)
 * from draw `off`, then h's (k_rec of units); each 0 where the draw is
 * below the rate, else 1 / (1 - rate).  w: kernel, recurrent_kernel, bias.
 * Writes the T outputs (return_sequences) at y + p * ystep, p the step
 * run (time_order 0) or its time (1). */
static void rnn_reference(int cell, size_t T, size_t D, size_t u, const float *x, const float *W, const float *U,
                          const float *b, float dp, float rdp, size_t k_in, size_t k_rec, uint64_t key,
                          uint64_t draw, size_t r, size_t off, int back, int time_order, float *y, size_t ystep) {
    size_t gates = cell == 0 ? 4 : cell == 1 ? 3 : 1, G = gates * u;
    double mi[4][8], mr[4][8], h[8] = {0}, c[8] = {0};
    uint64_t st = lf_draw_stream(key, draw, r);
    for (size_t k = 0; k < 4; k++) {
        for (size_t j = 0; j < 8; j++) mi[k][j] = mr[k][j] = 1.0;
        for (size_t j = 0; k < k_in && j < D; j++)
            mi[k][j] = lf_draw_uniform(st, off + k * D + j) < dp ? 0.0 : 1.0 / (1.0 - (double)dp);
        for (size_t j = 0; k < k_rec && j < u; j++)
            mr[k][j] = lf_draw_uniform(st, off + k_in * D + k * u + j) < rdp ? 0.0 : 1.0 / (1.0 - (double)rdp);
    }
    for (size_t s = 0; s < T; s++) {
        size_t t = back ? T - 1 - s : s;
        const float *xt = x + t * D;
        double a[32], q[32], hn[8];
        for (size_t g = 0; g < G; g++) {
            size_t blk = g / u, bi = k_in > 1 ? blk : 0, br = k_rec > 1 ? blk : 0;
            a[g] = b ? b[g] : 0.0, q[g] = cell == 1 && b ? b[G + g] : 0.0;
            for (size_t d = 0; d < D; d++) a[g] += xt[d] * mi[bi][d] * (double)W[d * G + g];
            for (size_t k = 0; k < u; k++) q[g] += h[k] * mr[br][k] * (double)U[k * G + g];
        }
        for (size_t j = 0; j < u; j++) {
            if (cell == 0) {
                double i = 1 / (1 + exp(-(a[j] + q[j]))), f = 1 / (1 + exp(-(a[u + j] + q[u + j])));
                double gg = tanh(a[2 * u + j] + q[2 * u + j]), o = 1 / (1 + exp(-(a[3 * u + j] + q[3 * u + j])));
                c[j] = f * c[j] + i * gg, hn[j] = o * tanh(c[j]);
            } else if (cell == 1) {
                double z = 1 / (1 + exp(-(a[j] + q[j]))), rr = 1 / (1 + exp(-(a[u + j] + q[u + j])));
                double n = tanh(a[2 * u + j] + rr * q[2 * u + j]);
                hn[j] = z * h[j] + (1 - z) * n;
            } else {
                hn[j] = tanh(a[j] + q[j]);
            }
        }
        for (size_t j = 0; j < u; j++) h[j] = hn[j], y[(time_order ? t : s) * ystep + j] = (float)hn[j];
    }
}

/* dropout / recurrent_dropout (lf_set_rnn_dropout): a training pass's
 * output against rnn_reference with the masks rebuilt from the draws (one
 * mask of x_t for every gate without recurrent_dropout, one per gate block
 * with it, as Keras 3), an inference pass against it without masks,
 * Bidirectional's two copies with their own masks; a Dropout after a
 * recurrent layer without dropout keeps draw id 0; the fit's same seed
 * the same bits; the save / load round trip; the setter's errors */
static void test_rnn_dropout(void) {
    enum { B = 3, T = 5, D = 3, U_ = 4 };
    float x[B * T * D];
    fill_uniform(x, B * T * D, -1, 1, 31);
    const float rates[3][2] = {{0.5f, 0.0f}, {0.0f, 0.5f}, {0.5f, 0.4f}};
    lf_draws dr = {0x5eed1234u, 0};
    for (int cell = 0; cell <= 2; cell++)
        for (int rc = 0; rc < 4; rc++) {
            int bidi = rc == 3;
            float dp = rates[bidi ? 2 : rc][0], rdp = rates[bidi ? 2 : rc][1];
            lf_model *m;
            lf_model_create(&m, 40 + 4 * cell + rc);
            int xi = lf_input_shape(m, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x");
            int back = rc == 1;
            int r = bidi ? lf_bidirectional(m, xi, (lf_rnn_cell)cell, U_, LF_ACT_TANH, 1, 1, 1, LF_BIDI_CONCAT, "r")
                    : cell == 0 ? lf_lstm(m, xi, U_, 1, 1, 1, back, "r")
                    : cell == 1 ? lf_gru(m, xi, U_, 1, 1, back, "r")
                                : lf_simple_rnn(m, xi, U_, LF_ACT_TANH, 1, 1, back, "r");
            CHECK(lf_set_rnn_dropout(m, r, dp, rdp) == LF_OK, "set: %s", lf_model_error(m));
            CHECK(lf_model_compile(m, r, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
            size_t gates = cell == 0 ? 4 : cell == 1 ? 3 : 1, G = gates * U_;
            size_t k_in = dp > 0 ? (rdp > 0 ? gates : 1) : 0, k_rec = rdp > 0 ? gates : 0, nm = k_in * D + k_rec * U_;
            size_t width = bidi ? 2 * U_ : U_, nb = (cell == 1 ? 2 : 1) * G;
            float w[6][64];
            for (int k = 0; k < (bidi ? 6 : 3); k++) {
                size_t shape[2], cnt = 0;
                CHECK(lf_layer_weight_shape(m, "r", (size_t)k, shape, &cnt) == LF_OK && cnt <= 64 &&
                          cnt == (k % 3 == 0 ? D * G : k % 3 == 1 ? U_ * G : nb) &&
                          lf_get_weights(m, "r", (size_t)k, w[k], cnt) == LF_OK,
                      "weight %d", k);
            }
            lf_ws ws;
            CHECK(lf_ws_init(&ws, m, B, 0, NULL, 0) == LF_OK, "workspace");
            const float *xs[1] = {x};
            for (int training = 0; training <= 1; training++) {
                lf_graph_forward_drawn(m, &ws, xs, B, training, training ? &dr : NULL);
                float want[B * T * 8];
                for (size_t row = 0; row < B; row++)
                    for (int k = 0; k < (bidi ? 2 : 1); k++)
                        rnn_reference(cell, T, D, U_, x + row * T * D, w[3 * k], w[3 * k + 1], w[3 * k + 2], dp,
                                      rdp, training ? k_in : 0, training ? k_rec : 0, dr.key, 0, row,
                                      (size_t)k * nm, bidi ? k : back, bidi, want + row * T * width + k * U_,
                                      width);
                const float *got = ws.out[r];
                double worst = 0;
                for (size_t i = 0; i < B * T * width; i++) worst = fmax(worst, fabs((double)got[i] - want[i]));
                CHECK(worst < 2e-5, "%s%s dropout %g recurrent %g %s: off the reference by %g",
                      bidi ? "Bidirectional " : "", cell == 0 ? "LSTM" : cell == 1 ? "GRU" : "SimpleRNN",
                      (double)dp, (double)rdp, training ? "training" : "inference", worst);
            }
            lf_ws_free(&ws);
            lf_model_free(m);
        }
    /* a recurrent layer without dropout draws nothing: the Dropout after it is draw 0 */
    {
        lf_model *m;
        lf_model_create(&m, 50);
        int xi = lf_input_shape(m, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x");
        int r = lf_lstm(m, xi, U_, 1, 1, 1, 0, "r");
        int d = lf_dropout(m, r, 0.5f, "d");
        CHECK(lf_model_compile(m, d, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
        lf_ws ws;
        CHECK(lf_ws_init(&ws, m, B, 0, NULL, 0) == LF_OK, "workspace");
        const float *xs[1] = {x};
        lf_graph_forward_drawn(m, &ws, xs, B, 1, &dr);
        size_t bad = 0;
        for (size_t row = 0; row < B; row++) {
            uint64_t st = lf_draw_stream(dr.key, 0, row);
            for (size_t j = 0; j < T * U_; j++) {
                float v = ws.out[r][row * T * U_ + j];
                float want = lf_draw_uniform(st, j) < 0.5f ? 0.0f : v * 2.0f;
                bad += ws.out[d][row * T * U_ + j] != want;
            }
        }
        CHECK(bad == 0, "the Dropout after an LSTM without dropout: %zu values not from draw 0", bad);
        lf_ws_free(&ws);
        lf_model_free(m);
    }
    /* fit: the same seed, the same bits; dropout changes the fit; save / load */
    char path[128];
    snprintf(path, sizeof path, "%s/rnn_dropout.lf", tmpdir);
    enum { N = 24 };
    float xf[N * T * D], y[N];
    fill_uniform(xf, N * T * D, -1, 1, 32);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
    float wts[3][4 * 12];
    for (int run = 0; run < 3; run++) {
        lf_model *m;
        lf_model_create(&m, 60);
        int xi = lf_input_shape(m, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x");
        int g = lf_gru(m, xi, U_, 1, 1, 0, "g");
        int bl = lf_bidirectional(m, g, LF_RNN_LSTM, 3, LF_ACT_TANH, 1, 1, 0, LF_BIDI_SUM, "bl");
        int o = lf_dense(m, bl, 3, LF_ACT_SOFTMAX, 1, "out");
        if (run < 2)
            CHECK(lf_set_rnn_dropout(m, g, 0.25f, 0.5f) == LF_OK && lf_set_rnn_dropout(m, bl, 0.3f, 0.0f) == LF_OK,
                  "set: %s", lf_model_error(m));
        CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
              lf_model_error(m));
        const float *xs[1] = {xf};
        lf_fit_options fo = lf_fit_defaults();
        fo.epochs = 2, fo.batch_size = 8;
        CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
        CHECK(lf_get_weights(m, "bl", 0, wts[run], 4 * 12) == LF_OK, "weights");
        if (run == 0) {
            CHECK(lf_model_save(m, path, LF_SAVE_OPTIMIZER) == LF_OK, "save: %s", lf_model_error(m));
            lf_model *l;
            lf_model_create(&l, 0);
            lf_status ls = lf_model_load(l, path);
            CHECK(ls == LF_OK, "load: %s", lf_model_error(l));
            float p[N * 3], q[N * 3];
            CHECK(lf_model_predict(m, xs, N, p) == LF_OK && lf_model_predict(l, xs, N, q) == LF_OK, "predict");
            CHECK(memcmp(p, q, sizeof p) == 0, "the loaded model predicts differently");
            CHECK(ls == LF_OK && l->nodes[g].rate == 0.25f && l->nodes[g].recurrent_rate == 0.5f &&
                      l->nodes[bl].rate == 0.3f && l->nodes[bl].recurrent_rate == 0.0f,
                  "loaded rates");
            /* the next fit draws the same masks in both: the same bits */
            CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK && lf_model_fit(l, xs, y, N, &fo) == LF_OK, "refit");
            CHECK(lf_model_predict(m, xs, N, p) == LF_OK && lf_model_predict(l, xs, N, q) == LF_OK, "predict");
            CHECK(memcmp(p, q, sizeof p) == 0, "the loaded model trains differently");
            lf_model_free(l);
            lf_st_file f;
            lf_err er;
            CHECK(lf_st_read(path, &f, &er) == LF_OK, "%s", er.msg);
            const char *arch = lf_st_metadata(&f, "architecture");
            const char *want[] = {"\"reset_after\":true,\"dropout\":0.25,\"recurrent_dropout\":0.5,\"l2\":0}",
                                  "\"unit_forget_bias\":true,\"dropout\":0.3,\"l2\":0}}"};
            for (size_t i = 0; i < 2; i++)
                CHECK(has(arch, want[i]), "arch lacks %s:\n%s", want[i], arch ? arch : "(none)");
            /* a rate out of [0, 1) in the file is refused with the layer named */
            const char *from = "\"recurrent_dropout\":0.5", *to = "\"recurrent_dropout\":1";
            const char *at = arch ? strstr(arch, from) : NULL;
            CHECK(at != NULL, "pattern");
            if (at) {
                size_t n = strlen(arch) + 8;
                char *mod = malloc(n);
                snprintf(mod, n, "%.*s%s%s", (int)(at - arch), arch, to, at + strlen(from));
                lf_model *bm;
                lf_model_create(&bm, 0);
                lf_err e2;
                lf_status st = lf_model_from_parts(bm, mod, strlen(mod), &f, "", &e2);
                CHECK(st == LF_ERR_FORMAT && has(e2.msg, "layer 'g'") && has(e2.msg, "recurrent_dropout"),
                      "bad rate: %d %s", st, e2.msg);
                lf_model_free(bm);
                free(mod);
            }
            lf_st_free(&f);
            unlink(path);
        }
        lf_model_free(m);
    }
    CHECK(memcmp(wts[0], wts[1], sizeof wts[0]) == 0, "the same seed fits different weights");
    CHECK(memcmp(wts[0], wts[2], sizeof wts[0]) != 0, "dropout left the fit as it was without");
    /* the setter's errors */
    lf_model *m;
    lf_model_create(&m, 2);
    int xi = lf_input_shape(m, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x");
    int r = lf_simple_rnn(m, xi, 2, LF_ACT_TANH, 1, 0, 0, "s");
    CHECK(lf_set_rnn_dropout(m, xi, 0.1f, 0.0f) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_set_rnn_dropout: node 0 is not an LSTM, GRU, SimpleRNN or "
                                        "Bidirectional layer") == 0, "not recurrent: %s", lf_model_error(m));
    CHECK(lf_set_rnn_dropout(m, r, 0.1f, 1.0f) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_set_rnn_dropout: s: dropout and recurrent_dropout must be in [0, 1), "
                                        "got 0.1 and 1") == 0, "rate 1: %s", lf_model_error(m));
    CHECK(lf_set_rnn_dropout(m, r, -0.1f, 0.0f) == LF_ERR_ARG, "rate < 0");
    CHECK(lf_model_compile(m, r, LF_LOSS_MSE, NULL) == LF_OK, "compile");
    CHECK(lf_set_rnn_dropout(m, r, 0.1f, 0.0f) == LF_ERR_STATE, "after compile");
    lf_model_free(m);
}

/* Keras' return_state / initial_state / Bidirectional(merge_mode=None):
 * the encoder-decoder idiom (`_, h, c = LSTM(4, return_sequences=True,
 * return_state=True)(e); LSTM(4)(e, initial_state=[h, c])`), a
 * Bidirectional GRU with both, Keras' semantics of the returned states
 * under a padding mask (rnn.py: the states of the last real step; with
 * return_sequences false the output is h), the summary's list of shapes
 * and node[0][k] connections, the file (bit-identical predict after fit,
 * save and load), and the errors, each naming the layer */
static void test_rnn_state(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/rnn_state.lf", tmpdir);
    lf_model *m;
    lf_model_create(&m, 11);
    int ids = lf_input_shape(m, 1, (size_t[]){6}, LF_DTYPE_INT32, "tokens");
    int e = lf_embedding(m, ids, 20, 5, 1, "e");
    int enc = lf_lstm(m, e, 4, 1, 1, 1, 0, "enc");
    CHECK(lf_set_rnn_state(m, enc, 1, NULL, 0) == LF_OK, "%s", lf_model_error(m));
    CHECK(lf_node_num_outputs(m, enc) == 3 && lf_node_num_outputs(m, e) == 1, "outputs");
    int ey = lf_output_view(m, enc, 0, NULL), eh = lf_output_view(m, enc, 1, NULL), ec = lf_output_view(m, enc, 2, NULL);
    CHECK(lf_output_view(m, e, 0, NULL) == e, "a node of one output is its own output 0");
    int dec = lf_lstm(m, e, 4, 1, 1, 0, 0, "dec");
    CHECK(lf_set_rnn_state(m, dec, 0, (int[]){eh, ec}, 2) == LF_OK, "%s", lf_model_error(m));
    int bi = lf_bidirectional(m, e, LF_RNN_GRU, 3, LF_ACT_TANH, 1, 0, 0, LF_BIDI_NONE, "bi");
    CHECK(lf_set_rnn_state(m, bi, 1, NULL, 0) == LF_OK, "%s", lf_model_error(m));
    int bv[4];
    for (size_t k = 0; k < 4; k++) bv[k] = lf_output_view(m, bi, k, NULL);
    int cat = lf_concatenate(m, 6, (int[]){dec, lf_global_average_pooling1d(m, ey, "gap"), bv[0], bv[1], bv[2], bv[3]},
                             "cat");
    int o = lf_dense(m, cat, 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    CHECK(m->nodes[ey].seq_mask == e && m->nodes[eh].seq_mask == -1 && m->nodes[bv[0]].seq_mask == -1,
          "masks: the sequence's only (Keras' compute_mask)");
    static const char *const rows[] = {
        "enc (LSTM)                                         [(None, 6, 4), (None, 4), (None, 4)]",
        "bi (Bidirectional)                                 [(None, 3), (None, 3), (None, 3), (None, 3)]",
        "e, enc[0][1], enc[0][2]", "gap (GlobalAveragePooling1D)                       (None, 4)                     0  enc[0][0]",
        "dec, gap, bi[0][0], bi[0][1], bi[0][2], bi[0][3]"};
    check_summary(m, rows, sizeof rows / sizeof *rows);
    /* Keras' states under the mask: h is the output of each row's last real step, and with
     * return_sequences false the output is h (the Bidirectional's forward copy) */
    float x2[2 * 6] = {3, 4, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    float ys[2 * 24], hs[2 * 4], cs[2 * 4], bo[4][2 * 3];
    float *outs[64] = {0};
    outs[ey] = ys, outs[eh] = hs, outs[ec] = cs;
    for (int k = 0; k < 4; k++) outs[bv[k]] = bo[k];
    CHECK(m->n_nodes <= 64 && lf__forward_nodes(m, (const float *const *)(const float *[]){x2}, 2, outs) == LF_OK,
          "forward");
    CHECK(memcmp(hs, ys + 2 * 4, 4 * sizeof *hs) == 0, "h is the state of the last real step (step 2)");
    CHECK(memcmp(ys + 5 * 4, ys + 2 * 4, 4 * sizeof *ys) == 0, "masked steps repeat the output");
    float zero[4] = {0};
    CHECK(memcmp(hs + 4, zero, sizeof zero) == 0 && memcmp(cs + 4, zero, sizeof zero) == 0,
          "a fully padded row keeps the (zero) initial states");
    CHECK(memcmp(bo[0], bo[2], sizeof bo[0]) == 0 && memcmp(bo[1], bo[3], sizeof bo[1]) == 0,
          "each copy's output is its h");
    /* the file keeps it all; the loaded model predicts the same bits */
    enum { N = 24, T = 6 };
    float x[N * T], y[N];
    fill_uniform(x, N * T, 1, 20, 13);
    for (int i = 0; i < N * T; i++) x[i] = (i % T) >= 2 + (i / T) % 5 ? 0.0f : floorf(x[i]);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
    const float *xs[1] = {x};
    lf_model *l = fit_save_load(m, path, xs, y, N, 2, 3);
    CHECK(l && l->n_nodes == m->n_nodes && l->nodes[enc].n_outs == 3 && l->nodes[dec].n_in == 3 &&
              l->nodes[bi].n_outs == 4 && l->nodes[bv[3]].view == 3, "the loaded graph");
    lf_model_free(l);
    static const char *const want[] = {
        "\"name\":\"enc\",\"type\":\"LSTM\",\"inbound\":[\"e\"],\"units\":4", "\"return_state\":true",
        "{\"name\":\"enc.out1\",\"type\":\"OutputView\",\"inbound\":[\"enc\"],\"index\":1}",
        "\"name\":\"dec\",\"type\":\"LSTM\",\"inbound\":[\"e\",\"enc.out1\",\"enc.out2\"]",
        "\"name\":\"bi\",\"type\":\"Bidirectional\",\"inbound\":[\"e\"],\"merge_mode\":null"};
    lf_st_file f;
    check_arch(path, &f, want, sizeof want / sizeof *want);
    lf_st_free(&f);
    unlink(path);
    lf_model_free(m);

    /* errors, each naming the layer, the model left as it was */
    lf_model_create(&m, 2);
    ids = lf_input_shape(m, 1, (size_t[]){6}, LF_DTYPE_INT32, "tokens");
    e = lf_embedding(m, ids, 20, 5, 1, "e");
    int h5 = lf_input(m, 5, "h5");
    enc = lf_lstm(m, e, 4, 1, 1, 0, 0, "enc");
    lf_set_rnn_state(m, enc, 1, NULL, 0);
    eh = lf_output_view(m, enc, 1, NULL);
    dec = lf_lstm(m, e, 4, 1, 1, 0, 0, "dec");
    CHECK(lf_set_rnn_state(m, dec, 0, &eh, 1) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "LSTM 'dec': initial_state has 1 tensors; it needs 2 (h and c)") == 0,
          "count: %s", lf_model_error(m));
    CHECK(lf_set_rnn_state(m, dec, 0, (int[]){h5, eh}, 2) == LF_ERR_SHAPE &&
              strcmp(lf_model_error(m), "LSTM 'dec': initial_state 0 ('h5') has shape (None, 5); it needs (None, 4)") == 0,
          "shape: %s", lf_model_error(m));
    CHECK(lf_set_rnn_state(m, dec, 0, (int[]){enc, eh}, 2) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "LSTM 'dec': initial_state 0 ('enc') has 3 outputs; pick one with "
                                        "lf_output_view") == 0, "several: %s", lf_model_error(m));
    int late = lf_dense(m, h5, 4, LF_ACT_LINEAR, 1, "late");
    CHECK(lf_set_rnn_state(m, dec, 0, (int[]){eh, late}, 2) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "LSTM 'dec': initial_state 1 (id 6) is not a layer added before it") == 0,
          "order: %s", lf_model_error(m));
    CHECK(lf_set_rnn_state(m, enc, 0, NULL, 0) == LF_ERR_STATE &&
              strcmp(lf_model_error(m), "lf_set_rnn_state: LSTM 'enc' is already read by layer 'enc.out1'; set its "
                                        "states before adding the layers that read it") == 0,
          "read: %s", lf_model_error(m));
    CHECK(m->nodes[dec].n_in == 1 && m->nodes[dec].n_outs == 1 && m->sticky == LF_OK, "dec as it was");
    CHECK(lf_set_rnn_state(m, ids, 1, NULL, 0) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_set_rnn_state: node 0 is not an LSTM, GRU, SimpleRNN or Bidirectional "
                                        "layer") == 0, "kind: %s", lf_model_error(m));
    CHECK(lf_model_compile(m, enc, LF_LOSS_MSE, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "compile: output 'enc' has 3 outputs (Keras returns a list); pick one with "
                                        "lf_output_view") == 0, "compile: %s", lf_model_error(m));
    CHECK(lf_output_view(m, enc, 3, NULL) < 0 &&
              strcmp(lf_model_error(m), "OutputView: layer 'enc' has 3 outputs; there is no output 3") == 0,
          "index: %s", lf_model_error(m));
    lf_model_free(m);
    lf_model_create(&m, 2);
    ids = lf_input_shape(m, 1, (size_t[]){6}, LF_DTYPE_INT32, "tokens");
    e = lf_embedding(m, ids, 20, 5, 1, "e");
    enc = lf_lstm(m, e, 4, 1, 1, 0, 0, "enc");
    lf_set_rnn_state(m, enc, 1, NULL, 0);
    CHECK(lf_dense(m, enc, 3, LF_ACT_LINEAR, 1, NULL) < 0 &&
              strcmp(lf_model_error(m), "Dense: input 'enc' has 3 outputs (Keras returns a list); pick one with "
                                        "lf_output_view") == 0, "reader: %s", lf_model_error(m));
    lf_model_free(m);
}

/* Conv1D's dilation_rate and padding 'causal' (Keras' conv1d.py: ops.pad
 * by d (k - 1) before, then 'valid'), Masking(mask_value): output shapes,
 * summary rows, hand values (a causal output step reads no later step; a
 * masked step is zeroed and skipped by the pooling), the refusals word for
 * word, the file's fields and a round trip predicting bit for bit */
static void test_causal_masking(void) {
    lf_model *m;
    lf_model_create(&m, 61);
    int x = lf_input_shape(m, 2, (size_t[]){7, 2}, LF_DTYPE_FLOAT32, "x");
    int c = lf_conv1d_dilated(m, x, 3, 3, 1, LF_PADDING_CAUSAL, 2, LF_ACT_TANH, 1, "causal");
    int d = lf_conv1d_dilated(m, x, 2, 2, 1, LF_PADDING_VALID, 3, LF_ACT_LINEAR, 1, "dil");
    int k = lf_masking(m, x, 0.0f, "masking");
    int g = lf_global_average_pooling1d(m, k, "gap");
    int parts[] = {lf_flatten(m, c, NULL), lf_flatten(m, d, NULL), g};
    int o = lf_dense(m, lf_concatenate(m, 3, parts, NULL), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    static const char *const rows[] = {
        "causal (Conv1D)                                    (None, 7, 3)                 21  x",
        "dil (Conv1D)                                       (None, 4, 2)                 10  x",
        "masking (Masking)                                  (None, 7, 2)                  0  x",
    };
    check_summary(m, rows, 3);
    CHECK(m->nodes[g].kind == LF_K_GAVGPOOL1D && m->nodes[k].seq_mask == k && m->nodes[c].seq_mask == -1,
          "Masking owns its mask; Conv1D carries none");

    /* hand values: x (4, 1) = [1, 2, 3, 4], kernel (2, 1, 1) = [10, 1], causal, dilation 2: y[t] = 10 x[t - 2] +
     * x[t] = [1, 2, 13, 24]; Masking(2) over (4, 1) then the mean over kept steps: (1 + 3 + 4) / 3 */
    {
        lf_model *h;
        lf_model_create(&h, 1);
        int hx = lf_input_shape(h, 2, (size_t[]){4, 1}, LF_DTYPE_FLOAT32, "x");
        int hc = lf_conv1d_dilated(h, hx, 1, 2, 1, LF_PADDING_CAUSAL, 2, LF_ACT_LINEAR, 0, "c");
        int hg = lf_global_average_pooling1d(h, lf_masking(h, hx, 2.0f, NULL), NULL);
        int cat = lf_concatenate(h, 2, (int[]){lf_flatten(h, hc, NULL), hg}, NULL);
        CHECK(lf_model_compile(h, cat, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(h));
        CHECK(lf_set_weights(h, "c", 0, (float[]){10, 1}, 2) == LF_OK, "%s", lf_model_error(h));
        float y[5];
        const float *xs[1] = {(float[]){1, 2, 3, 4}};
        CHECK(lf_model_predict(h, xs, 1, y) == LF_OK, "%s", lf_model_error(h));
        CHECK(y[0] == 1 && y[1] == 2 && y[2] == 13 && y[3] == 24 && y[4] == 8.0f / 3.0f, "hand values: %g %g %g %g %g",
              (double)y[0], (double)y[1], (double)y[2], (double)y[3], (double)y[4]);
        lf_model_free(h);
    }
    /* refusals */
    {
        static const char *const want[] = {
            "Conv1D: strides > 1 not supported in conjunction with dilation_rate > 1, got strides 2 and dilation_rate 2",
            "Conv1D: input 'x' of shape (None, 4, 2) is shorter than the kernel 3 dilated by 2 with padding 'valid'",
            "MaxPooling1D: unknown padding 2",
            "Masking: input 'v' has shape (None, 4); it needs rank 3 or more (batch, steps, features)",
            "Masking: mask_value must be finite, got nan",
        };
        for (int i = 0; i < 5; i++) {
            lf_model *e;
            lf_model_create(&e, 1);
            int ex = lf_input_shape(e, 2, (size_t[]){4, 2}, LF_DTYPE_FLOAT32, "x");
            int r = i == 0   ? lf_conv1d_dilated(e, ex, 2, 3, 2, LF_PADDING_SAME, 2, LF_ACT_LINEAR, 1, NULL)
                    : i == 1 ? lf_conv1d_dilated(e, ex, 2, 3, 1, LF_PADDING_VALID, 2, LF_ACT_LINEAR, 1, NULL)
                    : i == 2 ? lf_max_pooling1d(e, ex, 2, 1, LF_PADDING_CAUSAL, NULL)
                    : i == 3 ? lf_masking(e, lf_input(e, 4, "v"), 0.0f, NULL)
                             : lf_masking(e, ex, NAN, NULL);
            CHECK(r < 0 && strcmp(lf_model_error(e), want[i]) == 0, "refusal %d: %s", i, lf_model_error(e));
            lf_model_free(e);
        }
    }
    enum { N = 16, D = 14 };
    float xin[N * D], y[N];
    fill_uniform(xin, N * D, -1, 1, 62);
    for (int r = 0; r < N; r++) {
        y[r] = (float)(r % 3);
        for (int t = 0; t < 7; t++)
            if ((r + t) % 4 == 0) xin[r * D + 2 * t] = xin[r * D + 2 * t + 1] = 0.0f; /* masked steps */
    }
    const float *xs[1] = {xin};
    char path[128];
    snprintf(path, sizeof path, "%s/causal.lf", tmpdir);
    lf_model *l = fit_save_load(m, path, xs, y, N, 2, 3);
    lf_model_free(l);
    lf_st_file f;
    static const char *const fields[] = {
        ("\"name\":\"causal\",\"type\":\"Conv1D\",\"inbound\":[\"x\"],\"filters\":3,\"kernel_size\":[3],\"strides\":[1],"
         "\"padding\":\"causal\",\"activation\":\"tanh\",\"use_bias\":true,\"l2\":0,\"dilation_rate\":[2]}"),
        "\"padding\":\"valid\",\"activation\":\"linear\",\"use_bias\":true,\"l2\":0,\"dilation_rate\":[3]}",
        "\"name\":\"masking\",\"type\":\"Masking\",\"inbound\":[\"x\"],\"mask_value\":0}",
    };
    check_arch(path, &f, fields, 3);
    lf_st_free(&f);
    unlink(path);
    lf_model_free(m);
}

/* RepeatVector, Permute, UpSampling1D, ZeroPadding1D, Cropping1D (Keras 3's
 * keras/src/layers/reshaping/, one file each): Keras' shapes and summary rows, hand
 * values (the docstrings' examples), the padding mask ending at each (none
 * has compute_mask), Keras' refusals word for word, the file's fields and
 * the loaded model's bits */
static void test_reshaping_layers(void) {
    lf_model *m;
    lf_model_create(&m, 71);
    int x = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "x");
    int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
    int emb = lf_embedding(m, ids, 5, 3, 1, "emb");
    int v = lf_dense(m, lf_flatten(m, x, NULL), 2, LF_ACT_TANH, 1, "v");
    int rv = lf_repeat_vector(m, v, 3, "rv");
    int pm = lf_permute(m, emb, 2, (size_t[]){2, 1}, "pm");
    int up = lf_upsampling1d(m, emb, 2, "up");
    int zp = lf_zero_padding1d(m, x, 1, 2, "zp");
    int cr = lf_cropping1d(m, emb, 1, 2, "cr");
    int parts[] = {lf_flatten(m, rv, NULL), lf_flatten(m, pm, NULL), lf_flatten(m, up, NULL),
                   lf_flatten(m, zp, NULL), lf_flatten(m, cr, NULL)};
    int o = lf_dense(m, lf_concatenate(m, 5, parts, NULL), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s", lf_model_error(m));
    static const char *const rows[] = {
        "rv (RepeatVector)                                  (None, 3, 2)                  0  v",
        "pm (Permute)                                       (None, 3, 4)                  0  emb",
        "up (UpSampling1D)                                  (None, 8, 3)                  0  emb",
        "zp (ZeroPadding1D)                                 (None, 7, 3)                  0  x",
        "cr (Cropping1D)                                    (None, 1, 3)                  0  emb",
    };
    check_summary(m, rows, 5);
    CHECK(m->nodes[emb].seq_mask == emb && m->nodes[pm].seq_mask == -1 && m->nodes[up].seq_mask == -1 &&
              m->nodes[cr].seq_mask == -1,
          "the padding mask ends at Permute / UpSampling1D / Cropping1D");

    /* hand values: x (2, 3) = 0..5 (Keras' docstrings' arange) */
    {
        lf_model *h;
        lf_model_create(&h, 1);
        int hx = lf_input_shape(h, 2, (size_t[]){2, 3}, LF_DTYPE_FLOAT32, "x");
        int hv = lf_input_shape(h, 1, (size_t[]){2}, LF_DTYPE_FLOAT32, "v");
        int hp = lf_input_shape(h, 3, (size_t[]){2, 3, 2}, LF_DTYPE_FLOAT32, "p");
        int outs[] = {lf_flatten(h, lf_zero_padding1d(h, hx, 2, 1, NULL), NULL),
                      lf_flatten(h, lf_upsampling1d(h, hx, 2, NULL), NULL),
                      lf_flatten(h, lf_cropping1d(h, lf_zero_padding1d(h, hx, 1, 0, NULL), 1, 1, NULL), NULL),
                      lf_flatten(h, lf_permute(h, hx, 2, (size_t[]){2, 1}, NULL), NULL),
                      lf_flatten(h, lf_repeat_vector(h, hv, 2, NULL), NULL),
                      lf_flatten(h, lf_permute(h, hp, 3, (size_t[]){3, 1, 2}, NULL), NULL)};
        int cat = lf_concatenate(h, 6, outs, NULL);
        CHECK(lf_model_compile(h, cat, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(h));
        static const float want[] = {
            0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 0, 0, 0, /* ZeroPadding1D((2, 1)) */
            0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5,          /* UpSampling1D(2) */
            0, 1, 2,                                     /* Cropping1D((1, 1)) of one zero step and x */
            0, 3, 1, 4, 2, 5,                            /* Permute((2, 1)) */
            7, 8, 7, 8,                                  /* RepeatVector(2) of [7, 8] */
            0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11,        /* Permute((3, 1, 2)) of 0..11: y[c][i][j] = x[i][j][c] */
        };
        enum { NW = sizeof want / sizeof want[0] };
        float y[NW], pin[12];
        for (int i = 0; i < 12; i++) pin[i] = (float)i;
        const float *xs[3] = {(float[]){0, 1, 2, 3, 4, 5}, (float[]){7, 8}, pin};
        CHECK(h->nodes[cat].dim == NW, "hand model: %zu values, not %d", h->nodes[cat].dim, (int)NW);
        CHECK(lf_model_predict(h, xs, 1, y) == LF_OK, "%s", lf_model_error(h));
        for (int i = 0; i < NW; i++) CHECK(y[i] == want[i], "hand value %d: %g, not %g", i, (double)y[i], (double)want[i]);
        lf_model_free(h);
    }
    /* refusals: Keras' messages (repeat_vector.py, permute.py, up_sampling1d.py, cropping1d.py) */
    {
        static const char *const want[] = {
            "RepeatVector: Argument `n` should be a positive integer. Received: n=0",
            "RepeatVector: input 's' has shape (None, 4, 2); it needs rank 2 (batch, features): add a Flatten",
            "Permute: Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` must be "
            "consecutive and start from 1. Received dims=(1, 3)",
            "Permute: Invalid permutation argument `dims` for Permute Layer. The set of indices in `dims` must be "
            "consecutive and start from 1. Received dims=(2, 2)",
            "Permute: input 's' has shape (None, 4, 2); it needs rank 4 (batch, height, width, channels)",
            "UpSampling1D: Argument `size` should be a positive integer (at most 1024). Received: size=0",
            "Cropping1D: `cropping` parameter of `Cropping1D` layer must be smaller than the input length. Received: "
            "input_shape=(None, 4, 2), cropping=(3, 1)",
            "ZeroPadding1D: input 'v' has shape (None, 4); it needs rank 3 (batch, steps, features)",
        };
        for (int i = 0; i < 8; i++) {
            lf_model *e;
            lf_model_create(&e, 1);
            int es = lf_input_shape(e, 2, (size_t[]){4, 2}, LF_DTYPE_FLOAT32, "s");
            int r = i == 0   ? lf_repeat_vector(e, lf_input(e, 4, "v"), 0, NULL)
                    : i == 1 ? lf_repeat_vector(e, es, 2, NULL)
                    : i == 2 ? lf_permute(e, es, 2, (size_t[]){1, 3}, NULL)
                    : i == 3 ? lf_permute(e, es, 2, (size_t[]){2, 2}, NULL)
                    : i == 4 ? lf_permute(e, es, 3, (size_t[]){1, 3, 2}, NULL)
                    : i == 5 ? lf_upsampling1d(e, es, 0, NULL)
                    : i == 6 ? lf_cropping1d(e, es, 3, 1, NULL)
                             : lf_zero_padding1d(e, lf_input(e, 4, "v"), 1, 1, NULL);
            CHECK(r < 0 && strcmp(lf_model_error(e), want[i]) == 0, "refusal %d: %s", i, lf_model_error(e));
            lf_model_free(e);
        }
    }
    enum { N = 16 };
    float xin[N * 12], idin[N * 4], y[N];
    fill_uniform(xin, N * 12, -1, 1, 72);
    for (int r = 0; r < N; r++) {
        y[r] = (float)(r % 3);
        for (int t = 0; t < 4; t++) idin[r * 4 + t] = (float)((r + t) % 5);
    }
    const float *xs[2] = {xin, idin};
    char path[128];
    snprintf(path, sizeof path, "%s/reshaping.lf", tmpdir);
    lf_model *l = fit_save_load(m, path, xs, y, N, 2, 3);
    lf_model_free(l);
    lf_st_file f;
    static const char *const fields[] = {
        "\"name\":\"rv\",\"type\":\"RepeatVector\",\"inbound\":[\"v\"],\"n\":3}",
        "\"name\":\"pm\",\"type\":\"Permute\",\"inbound\":[\"emb\"],\"dims\":[2,1]}",
        "\"name\":\"up\",\"type\":\"UpSampling1D\",\"inbound\":[\"emb\"],\"size\":2}",
        "\"name\":\"zp\",\"type\":\"ZeroPadding1D\",\"inbound\":[\"x\"],\"padding\":[1,2]}",
        "\"name\":\"cr\",\"type\":\"Cropping1D\",\"inbound\":[\"emb\"],\"cropping\":[1,2]}",
    };
    check_arch(path, &f, fields, 5);
    lf_st_free(&f);
    unlink(path);
    lf_model_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_seq_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_concat_mask();
    test_mask_flow();
    test_masked_pooling();
    test_masked_batchnorm();
    test_layernorm_range();
    test_masked_loss();
    test_bad_ids();
    test_category_encoding();
    test_round_trip();
    test_embedding_l2();
    test_seq_errors();
    test_categorical_on_sequence();
    test_pool1d();
    test_rnn();
    test_simple_rnn();
    test_bidirectional();
    test_rnn_dropout();
    test_rnn_state();
    test_reshaping_layers();
    test_causal_masking();
    CHECK(rmdir(tmpdir) == 0, "the tests' folder %s is left empty: %s", tmpdir, strerror(errno));
    return check_report("test_seq_layers");
}
