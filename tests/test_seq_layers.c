/*
 * test_seq_layers.c — the sequence layers beyond their gradients
 * (test_grad.c) and PyTorch's numbers (test_golden.c): the padding mask
 * (which layers carry it, the masked poolings by hand, a row with every
 * step masked), Embedding's lookups and its refusal of bad token ids,
 * shapes and their build-time errors, the summary, and save/load round
 * trips.
 */
#include "check.h"
#include "engine_util.h"
#include "io/safetensors.h"
#include "layers/layer.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

static int has(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }

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
    int f = lf_flatten(m, s, "flat");
    int p = lf_global_average_pooling1d(m, s, "gap");
    CHECK(m->nodes[e].seq_mask == e && m->nodes[d].seq_mask == e && m->nodes[dr].seq_mask == e &&
              m->nodes[a].seq_mask == e && m->nodes[s].seq_mask == e,
          "Embedding(mask_zero) owns the mask; Dense, Dropout, Activation and Add keep it");
    CHECK(m->nodes[ids].seq_mask == -1 && m->nodes[e2].seq_mask == -1 && m->nodes[f].seq_mask == -1 &&
              m->nodes[p].seq_mask == -1,
          "no mask on the input, an Embedding without mask_zero, Flatten and the pooling");
    size_t dims[3];
    CHECK(lf_node_shape(m, d, dims) == 2 && dims[0] == 5 && dims[1] == 3, "Dense on (5, 4) gives (5, 3)");
    CHECK(lf_node_shape(m, p, dims) == 1 && dims[0] == 3, "the pooling gives (3)");
    /* two different masks cannot be merged */
    int e3 = lf_embedding(m, ids, 10, 3, 1, "emb_other");
    CHECK(lf_add(m, 2, (int[]){a, e3}, "bad") == -1 &&
              strcmp(lf_model_error(m),
                     "Add 'bad': its inputs carry the padding masks of two layers ('emb' and 'emb_other'); "
                     "combining masks is not supported") == 0,
          "got '%s'", lf_model_error(m));
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
    lf_model_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_seq_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_mask_flow();
    test_masked_pooling();
    test_bad_ids();
    rmdir(tmpdir);
    return check_report("test_seq_layers");
}
