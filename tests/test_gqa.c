/*
 * test_gqa.c — GroupedQueryAttention (src/layers/gqa.c; Keras'
 * keras/src/layers/attention/grouped_query_attention.py): as many key/value
 * heads as query heads against MultiHeadAttention with the same weights;
 * 1 key/value head (multi-query) and 2 of 4 against a double-precision
 * reference (Keras' ops.repeat of the key/value heads, query head h on
 * key/value head h / (Hq / Hk)); a tiny case by hand; Embedding(mask_zero)
 * padding masks and use_causal_mask against the reference, masked rows
 * giving the output bias and later steps not changing earlier ones; the
 * weights' names, shapes and glorot limits; the builder's and the file's
 * refusals by their exact messages; a trained model's file round trip
 * predicting the same bits, with only the non-default fields written.
 * (Gradients: test_grad.c; PyTorch's numbers: test_golden.c.)
 */
#include "check.h"
#include "engine_util.h"
#include "layers/layer.h"
#include "io/safetensors.h"
#include "model_checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

/* one weight tensor of layer `name` (index k) */
static const float *weight(lf_model *m, int node, size_t k) {
    lf_weight w[LF_MAX_WEIGHTS];
    lf_node_weights(m, &m->nodes[node], w);
    return m->params + m->nodes[node].param_off + w[k].off;
}

/* The layer in double, element by element, as Keras' call: projections,
 * key/value heads repeated (query head h reads h / (Hq / Hk)), scores /
 * sqrt(hd), softmax over the keys a row may attend (the query's and the
 * value's masks, 1 present, and the causal mask; a row with none: zero
 * weights), output projection.  x: (B, T, D) the query and the value,
 * qm: (B, T) or NULL, am: Keras' attention_mask (B, T, T) or NULL;
 * prob: the weights (B, Hq, T, T) or NULL */
static void reference(double *y, double *prob, lf_model *m, int node, const float *x, const float *qm,
                      const float *am, size_t B, size_t T, size_t D, size_t Hq, size_t Hk, size_t hd, int bias,
                      int causal) {
    size_t k = 0;
    const float *wq = weight(m, node, k++), *bq = bias ? weight(m, node, k++) : NULL;
    const float *wk = weight(m, node, k++), *bk = bias ? weight(m, node, k++) : NULL;
    const float *wv = weight(m, node, k++), *bv = bias ? weight(m, node, k++) : NULL;
    const float *wo = weight(m, node, k++), *bo = bias ? weight(m, node, k++) : NULL;
    double *q = calloc(T * Hq * hd, sizeof *q), *kk = calloc(T * Hk * hd, sizeof *kk),
           *v = calloc(T * Hk * hd, sizeof *v), *o = calloc(T * Hq * hd, sizeof *o);
    for (size_t b = 0; b < B; b++) {
        const float *xb = x + b * T * D;
        for (size_t t = 0; t < T; t++) {
            for (size_t j = 0; j < Hq * hd; j++) {
                double s = bq ? bq[j] : 0;
                for (size_t d = 0; d < D; d++) s += (double)xb[t * D + d] * wq[d * Hq * hd + j];
                q[t * Hq * hd + j] = s;
            }
            for (size_t j = 0; j < Hk * hd; j++) {
                double s = bk ? bk[j] : 0, u = bv ? bv[j] : 0;
                for (size_t d = 0; d < D; d++) {
                    s += (double)xb[t * D + d] * wk[d * Hk * hd + j];
                    u += (double)xb[t * D + d] * wv[d * Hk * hd + j];
                }
                kk[t * Hk * hd + j] = s, v[t * Hk * hd + j] = u;
            }
        }
        for (size_t h = 0; h < Hq; h++) {
            size_t g = h / (Hq / Hk);
            for (size_t t = 0; t < T; t++) {
                double sc[64], mx = -INFINITY, sum = 0;
                int on[64];
                for (size_t s = 0; s < T; s++) {
                    on[s] = (!qm || (qm[b * T + t] != 0 && qm[b * T + s] != 0)) && (!causal || s <= t) &&
                            (!am || am[(b * T + t) * T + s] != 0);
                    double d = 0;
                    for (size_t i = 0; i < hd; i++) d += q[(t * Hq + h) * hd + i] * kk[(s * Hk + g) * hd + i];
                    sc[s] = d / sqrt((double)hd);
                    if (on[s] && sc[s] > mx) mx = sc[s];
                }
                for (size_t s = 0; s < T; s++) sc[s] = on[s] ? exp(sc[s] - mx) : 0, sum += sc[s];
                for (size_t s = 0; prob && s < T; s++) prob[((b * Hq + h) * T + t) * T + s] = sum > 0 ? sc[s] / sum : 0;
                for (size_t i = 0; i < hd; i++) {
                    double acc = 0;
                    for (size_t s = 0; s < T; s++) acc += (sum > 0 ? sc[s] / sum : 0) * v[(s * Hk + g) * hd + i];
                    o[(t * Hq + h) * hd + i] = acc;
                }
            }
        }
        for (size_t t = 0; t < T; t++)
            for (size_t d = 0; d < D; d++) {
                double s = bo ? bo[d] : 0;
                for (size_t j = 0; j < Hq * hd; j++) s += o[t * Hq * hd + j] * wo[j * D + d];
                y[(b * T + t) * D + d] = s;
            }
    }
    free(q), free(kk), free(v), free(o);
}

static void check_ref(const char *what, const float *got, const double *want, size_t n) {
    float *w = malloc(n * sizeof *w);
    for (size_t i = 0; i < n; i++) w[i] = (float)want[i];
    CHECK_CLOSE(what, got, w, n, 1e-5, 1e-4);
    free(w);
}

/* num_key_value_heads == num_query_heads: MultiHeadAttention(Hq, hd) with
 * the same weights (the same layout) */
static void test_equals_mha(void) {
    enum { B = 3, T = 5, D = 6 };
    for (int bias = 0; bias < 2; bias++) {
        lf_model *g, *h;
        lf_model_create(&g, 41), lf_model_create(&h, 42);
        int xg = lf_input_shape(g, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x");
        int xh = lf_input_shape(h, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x");
        int a = lf_grouped_query_attention(g, xg, xg, -1, 4, 3, 3, 0.0f, bias, 0, "att");
        int b = lf_multi_head_attention(h, xh, xh, -1, 3, 4, 0, 0.0f, bias, 0, "att");
        CHECK(a >= 0 && b >= 0 && lf_model_compile(g, a, LF_LOSS_MSE, NULL) == LF_OK &&
                  lf_model_compile(h, b, LF_LOSS_MSE, NULL) == LF_OK,
              "built: %s %s", lf_model_error(g), lf_model_error(h));
        CHECK(g->nodes[a].n_params == h->nodes[b].n_params, "the same parameters: %zu and %zu",
              g->nodes[a].n_params, h->nodes[b].n_params);
        fill_uniform(g->params + g->nodes[a].param_off, g->nodes[a].n_params, -1, 1, 43);
        memcpy(h->params + h->nodes[b].param_off, g->params + g->nodes[a].param_off,
               g->nodes[a].n_params * sizeof(float));
        float x[B * T * D], y1[B * T * D], y2[B * T * D];
        fill_uniform(x, B * T * D, -2, 2, 44);
        const float *xs[1] = {x};
        lf_model_predict(g, xs, B, y1);
        lf_model_predict(h, xs, B, y2);
        CHECK_CLOSE(bias ? "Hk = Hq is MultiHeadAttention" : "Hk = Hq is MultiHeadAttention (no bias)", y1, y2,
                    B * T * D, 1e-6, 1e-6);
        lf_model_free(g), lf_model_free(h);
    }
}

/* 1 and 2 key/value heads of 4 query heads against the reference, with and
 * without bias */
static void test_grouped(void) {
    enum { B = 3, T = 5, D = 6 };
    size_t hks[3] = {1, 2, 4};
    for (int c = 0; c < 6; c++) {
        size_t Hk = hks[c % 3];
        int bias = c < 3;
        lf_model *m;
        lf_model_create(&m, 50 + c);
        int x = lf_input_shape(m, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x");
        int a = lf_grouped_query_attention(m, x, x, -1, 3, 4, Hk, 0.0f, bias, 0, NULL);
        CHECK(a >= 0 && lf_model_compile(m, a, LF_LOSS_MSE, NULL) == LF_OK, "built: %s", lf_model_error(m));
        fill_uniform(m->params + m->nodes[a].param_off, m->nodes[a].n_params, -1, 1, 60 + c);
        float xv[B * T * D], y[B * T * D];
        double want[B * T * D];
        fill_uniform(xv, B * T * D, -2, 2, 70 + c);
        const float *xs[1] = {xv};
        lf_model_predict(m, xs, B, y);
        reference(want, NULL, m, a, xv, NULL, NULL, B, T, D, 4, Hk, 3, bias, 0);
        char what[80];
        snprintf(what, sizeof what, "4 query heads on %zu key/value heads%s", Hk, bias ? "" : ", no bias");
        check_ref(what, y, want, B * T * D);
        lf_model_free(m);
    }
}

/* T = 2, D = 1, 2 query heads on 1 key/value head of 1, no bias: Wq =
 * (1, 2), Wk = Wv = 1, Wo = (1, 1); x = (0, 1).  k = v = x.  Step 0's
 * scores are 0 and 0: weights 1/2, each head 0.5.  Step 1: head 0 scores
 * (0, 1), head 1 (0, 2): e / (1 + e) and e^2 / (1 + e^2). */
static void test_by_hand(void) {
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input_shape(m, 2, (size_t[]){2, 1}, LF_DTYPE_FLOAT32, "x");
    int a = lf_grouped_query_attention(m, x, x, -1, 1, 2, 1, 0.0f, 0, 0, "gqa");
    CHECK(a >= 0 && lf_model_compile(m, a, LF_LOSS_MSE, NULL) == LF_OK, "built: %s", lf_model_error(m));
    float wq[2] = {1, 2}, one[1] = {1}, wo[2] = {1, 1};
    CHECK(lf_set_weights(m, "gqa", 0, wq, 2) == LF_OK && lf_set_weights(m, "gqa", 1, one, 1) == LF_OK &&
              lf_set_weights(m, "gqa", 2, one, 1) == LF_OK && lf_set_weights(m, "gqa", 3, wo, 2) == LF_OK,
          "set weights: %s", lf_model_error(m));
    float xv[2] = {0, 1}, y[2];
    const float *xs[1] = {xv};
    lf_model_predict(m, xs, 1, y);
    double e = exp(1.0);
    float want[2] = {1.0f, (float)(e / (1 + e) + e * e / (1 + e * e))};
    CHECK_CLOSE("by hand", y, want, 2, 1e-6, 1e-6);
    lf_model_free(m);
}

/* Embedding(mask_zero) -> GroupedQueryAttention (self): the reference with
 * the padding mask, then with use_causal_mask; the output carries the
 * embedding's mask, a masked query row outputs the output bias exactly, a
 * padded step changes no other row; with the causal mask a later step
 * changes no earlier step's output */
static void test_masks(void) {
    enum { B = 3, T = 5, D = 4 };
    for (int causal = 0; causal < 2; causal++) {
        lf_model *m;
        lf_model_create(&m, 80 + causal);
        int ids = lf_input_shape(m, 1, (size_t[]){T}, LF_DTYPE_INT32, "ids");
        int e = lf_embedding(m, ids, 7, D, 1, "emb");
        int a = lf_grouped_query_attention(m, e, e, -1, 2, 4, 2, 0.0f, 1, causal, "gqa");
        CHECK(a >= 0 && m->nodes[a].seq_mask == e, "the output carries the embedding's mask: %s", lf_model_error(m));
        CHECK(lf_model_compile(m, a, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
        fill_uniform(m->params + m->nodes[a].param_off, m->nodes[a].n_params, -1, 1, 90 + causal);
        float tok[B * T] = {1, 2, 0, 0, 0, 3, 4, 5, 6, 1, 0, 0, 0, 0, 0};
        float emb[B * T * D], qm[B * T], y[B * T * D], y2[B * T * D];
        const float *table = m->params + m->nodes[e].param_off;
        for (size_t i = 0; i < B * T; i++) {
            qm[i] = tok[i] != 0;
            memcpy(emb + i * D, table + (size_t)tok[i] * D, D * sizeof(float));
        }
        const float *xs[1] = {tok};
        lf_model_predict(m, xs, B, y);
        double want[B * T * D];
        reference(want, NULL, m, a, emb, qm, NULL, B, T, D, 4, 2, 2, 1, causal);
        check_ref(causal ? "padding and causal masks" : "padding mask", y, want, B * T * D);
        const float *bo = weight(m, a, 7);
        int bias = 1;
        for (size_t t = 2; t < T; t++)
            for (size_t d = 0; d < D; d++) bias &= y[t * D + d] == bo[d] && y[(2 * T + t) * D + d] == bo[d];
        CHECK(bias, "masked rows output the output bias");
        /* row 1's step 3 changed: with the causal mask, steps 0..2 keep their bits */
        float tok2[B * T];
        memcpy(tok2, tok, sizeof tok);
        tok2[T + 3] = 2;
        const float *xs2[1] = {tok2};
        lf_model_predict(m, xs2, B, y2);
        int before = memcmp(y + T * D, y2 + T * D, 3 * D * sizeof(float)) == 0;
        int rows02 = memcmp(y, y2, T * D * sizeof(float)) == 0 &&
                     memcmp(y + 2 * T * D, y2 + 2 * T * D, T * D * sizeof(float)) == 0;
        CHECK(rows02, "another row's step changes no row");
        CHECK(before == causal, "a later step %s the earlier steps (causal %d)", before ? "keeps" : "changes",
              causal);
        lf_model_free(m);
    }
}

/* Keras' call arguments attention_mask and return_attention_scores
 * (lf_set_attention_mask, lf_set_return_attention_scores): x (T, D) and a
 * (T, T) mask input, with and without the causal mask; the output and the
 * weights (B, Hq, T, T) against the reference (2 of 4 query heads per
 * key/value head), a query row whose keys are all masked giving zero
 * weights and the output bias; the model file keeps both arguments and
 * predicts the same bits when loaded; the setters' refusals name the layer */
static void test_call_args(void) {
    enum { B = 2, T = 4, D = 6, Hq = 4, Hk = 2, hd = 3 };
    char path[128];
    snprintf(path, sizeof path, "%s/gqa_args.lf", tmpdir);
    for (int causal = 0; causal < 2; causal++) {
        lf_model *m;
        lf_model_create(&m, 120 + causal);
        int x = lf_input_shape(m, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x");
        int am = lf_input_shape(m, 2, (size_t[]){T, T}, LF_DTYPE_FLOAT32, "am");
        int a = lf_grouped_query_attention(m, x, x, -1, hd, Hq, Hk, 0.0f, 1, 0, "gqa");
        CHECK(lf_set_attention_mask(m, a, am, causal) == LF_OK && lf_set_return_attention_scores(m, a, 1) == LF_OK,
              "set: %s", lf_model_error(m));
        int y = lf_output_view(m, a, 0, NULL), sc = lf_output_view(m, a, 1, NULL);
        CHECK(sc >= 0 && m->nodes[sc].rank == 3 && m->nodes[sc].shape[0] == Hq && m->nodes[sc].shape[1] == T &&
                  m->nodes[sc].shape[2] == T && m->nodes[y].rank == 2 && m->nodes[y].shape[1] == D,
              "the views' shapes (Hq, T, T) and (T, D)");
        lf_loss l2[2] = {LF_LOSS_MSE, LF_LOSS_MSE};
        CHECK(lf_model_compile_outputs(m, 2, (int[]){y, sc}, l2, NULL, NULL) == LF_OK, "compile: %s",
              lf_model_error(m));
        fill_uniform(m->params + m->nodes[a].param_off, m->nodes[a].n_params, -1, 1, 130 + causal);
        float xv[B * T * D], mask[B * T * T], yo[B * T * D], ys[B * Hq * T * T];
        fill_uniform(xv, B * T * D, -2, 2, 140 + causal);
        for (size_t i = 0; i < B * T * T; i++) mask[i] = (i * 7 + 3) % 5 != 0; /* some keys off */
        for (size_t s = 0; s < T; s++) mask[(1 * T + 2) * T + s] = 0;            /* sample 1, query 2: none */
        lf_typed_array xa[2] = {{LF_DTYPE_FLOAT32, xv}, {LF_DTYPE_FLOAT32, mask}};
        float *outs[2] = {yo, ys};
        CHECK(lf_model_predict_arrays(m, xa, B, outs) == LF_OK, "predict: %s", lf_model_error(m));
        double want[B * T * D], wp[B * Hq * T * T];
        reference(want, wp, m, a, xv, NULL, mask, B, T, D, Hq, Hk, hd, 1, causal);
        check_ref(causal ? "attention_mask and causal: output" : "attention_mask: output", yo, want, B * T * D);
        check_ref(causal ? "attention_mask and causal: scores" : "attention_mask: scores", ys, wp, B * Hq * T * T);
        const float *bo = weight(m, a, 7);
        int none = 1;
        for (size_t h = 0; h < Hq; h++)
            for (size_t s = 0; s < T; s++) none &= ys[((1 * Hq + h) * T + 2) * T + s] == 0.0f;
        for (size_t d = 0; d < D; d++) none &= yo[(1 * T + 2) * D + d] == bo[d];
        CHECK(none, "a row with every key masked: zero weights, the output bias");
        if (causal) { /* one output for the file round trip */
            lf_model *r;
            lf_model_create(&r, 150);
            int rx = lf_input_shape(r, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x");
            int ram = lf_input_shape(r, 2, (size_t[]){T, T}, LF_DTYPE_FLOAT32, "am");
            int ra = lf_grouped_query_attention(r, rx, rx, -1, hd, Hq, Hk, 0.0f, 1, 0, "gqa");
            lf_set_attention_mask(r, ra, ram, 1);
            lf_set_return_attention_scores(r, ra, 1);
            int o1 = lf_dense(r, lf_flatten(r, lf_output_view(r, ra, 0, NULL), NULL), 2, LF_ACT_LINEAR, 1, "o1");
            int o2 = lf_dense(r, lf_flatten(r, lf_output_view(r, ra, 1, NULL), NULL), 2, LF_ACT_LINEAR, 1, "o2");
            int o = lf_add(r, 2, (int[]){o1, o2}, "out");
            CHECK(lf_model_compile(r, o, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(r));
            const float *xs[2] = {xv, mask};
            lf_model_free(check_reload(r, xs, B, 2, path, "attention_mask and scores"));
            const char *want_arch = "\"num_key_value_heads\":2,\"use_causal_mask\":true,\"attention_mask\":\"am\","
                                    "\"return_attention_scores\":true}";
            check_arch_fields(path, &want_arch, 1, "attention_mask and scores");
            lf_model_free(r);
        }
        lf_model_free(m);
    }
    unlink(path);
    lf_model *m;
    lf_model_create(&m, 160);
    int x = lf_input_shape(m, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x");
    int bad = lf_input_shape(m, 2, (size_t[]){T, T + 1}, LF_DTYPE_FLOAT32, "bad");
    int a = lf_grouped_query_attention(m, x, x, -1, hd, Hq, Hk, 0.0f, 1, 0, "gqa");
    CHECK(lf_set_attention_mask(m, a, bad, 0) == LF_ERR_SHAPE &&
              strcmp(lf_model_error(m), "GroupedQueryAttention 'gqa': the attention_mask 'bad' has shape (None, 4, "
                                        "5); it needs (None, 4, 4) (batch, query steps, key steps)") == 0,
          "a mask of the wrong shape: %s", lf_model_error(m));
    lf_dense(m, a, 2, LF_ACT_LINEAR, 1, "reader");
    CHECK(lf_set_return_attention_scores(m, a, 1) == LF_ERR_STATE &&
              strcmp(lf_model_error(m), "lf_set_return_attention_scores: GroupedQueryAttention 'gqa' is already "
                                        "read by layer 'reader'; set it before adding the layers that read it") == 0,
          "a read node: %s", lf_model_error(m));
    lf_model_free(m);
}

/* the weights: Keras' names, shapes (query (D, Hq, hd), key / value (D,
 * Hk, hd), attention_output (Hq, hd, D)), glorot limits, zero biases */
static void test_weights(void) {
    lf_model *m;
    lf_model_create(&m, 5);
    int x = lf_input_shape(m, 2, (size_t[]){7, 16}, LF_DTYPE_FLOAT32, "x");
    int y = lf_grouped_query_attention(m, x, x, -1, 8, 4, 2, 0.1f, 1, 0, NULL);
    CHECK(y >= 0, "built: %s", lf_model_error(m));
    const lf_node *nd = &m->nodes[y];
    CHECK(strcmp(nd->name, "grouped_query_attention") == 0 && nd->rank == 2 && nd->shape[0] == 7 &&
              nd->shape[1] == 16,
          "name %s, shape (%zu, %zu)", nd->name, nd->shape[0], nd->shape[1]);
    lf_weight w[LF_MAX_WEIGHTS];
    size_t nw = lf_node_weights(m, nd, w);
    static const char *const names[8] = {"query.kernel", "query.bias", "key.kernel", "key.bias",
                                         "value.kernel", "value.bias", "attention_output.kernel",
                                         "attention_output.bias"};
    static const size_t shapes[8][3] = {{16, 4, 8}, {4, 8}, {16, 2, 8}, {2, 8}, {16, 2, 8}, {2, 8}, {4, 8, 16}, {16}};
    static const float lims[8] = {0.1767767f /* sqrt(6 / (16 4 + 16 8)) */, 0, 0.1936492f /* sqrt(6 / (32 + 128)) */,
                                  0, 0.1936492f, 0, 0.25f /* sqrt(6 / (32 + 64)) */, 0};
    CHECK(nw == 8, "8 weight tensors, got %zu", nw);
    size_t off = 0;
    for (size_t k = 0; k < nw && k < 8; k++) {
        int ok = strcmp(w[k].suffix, names[k]) == 0 && w[k].off == off && w[k].ndim == (k == 7 ? 1 : k % 2 ? 2 : 3);
        for (size_t d = 0; d < w[k].ndim; d++) ok &= w[k].shape[d] == shapes[k][d];
        CHECK(ok, "weight %zu: %s at %zu", k, w[k].suffix, w[k].off);
        const float *p = m->params + nd->param_off + w[k].off;
        size_t cnt = lf_weight_count(&w[k]);
        float mx = 0;
        for (size_t j = 0; j < cnt; j++) mx = fabsf(p[j]) > mx ? fabsf(p[j]) : mx;
        if (k % 2) CHECK(mx == 0.0f, "%s starts at 0", names[k]);
        else CHECK(mx <= lims[k] * 1.000001f && mx > 0.8f * lims[k], "%s: max |w| %g within the glorot limit %g",
                   names[k], (double)mx, (double)lims[k]);
        off += cnt;
    }
    CHECK(nd->n_params == off && off == 16 * 32 + 32 + 2 * (16 * 16 + 16) + 32 * 16 + 16, "%zu parameters",
          nd->n_params);
    lf_model_free(m);
}

static void test_errors(void) {
    static const char *const msgs[] = {
        "GroupedQueryAttention: `num_query_heads` must be divisible by `num_key_value_heads`. Received: "
        "num_query_heads=6, num_key_value_heads=4",
        "GroupedQueryAttention: head_dim must be in 1..65536 and num_query_heads and num_key_value_heads in "
        "1..4096, got 0, 4 and 2",
        "GroupedQueryAttention: head_dim must be in 1..65536 and num_query_heads and num_key_value_heads in "
        "1..4096, got 8, 4 and 0",
        "GroupedQueryAttention: dropout must be in [0, 1), got 1",
        "GroupedQueryAttention: the query 'v' has shape (None, 12); it needs rank 3 (batch, sequence, features)",
        "GroupedQueryAttention: the last dimension of the query 'x' and the value 'w' must be equal, but are 16, 8",
        "GroupedQueryAttention: the key 'k' has 5 steps and the value 'x' 7; they must be equal",
        "GroupedQueryAttention: the value is not a node of this model (id 9)",
    };
    for (int c = 0; c < 8; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int x = lf_input_shape(m, 2, (size_t[]){7, 16}, LF_DTYPE_FLOAT32, "x"), v = lf_input(m, 12, "v");
        int k = lf_input_shape(m, 2, (size_t[]){5, 16}, LF_DTYPE_FLOAT32, "k");
        int w = lf_input_shape(m, 2, (size_t[]){7, 8}, LF_DTYPE_FLOAT32, "w");
        int r = 0;
        switch (c) {
        case 0: r = lf_grouped_query_attention(m, x, x, -1, 8, 6, 4, 0, 1, 0, NULL); break;
        case 1: r = lf_grouped_query_attention(m, x, x, -1, 0, 4, 2, 0, 1, 0, NULL); break;
        case 2: r = lf_grouped_query_attention(m, x, x, -1, 8, 4, 0, 0, 1, 0, NULL); break;
        case 3: r = lf_grouped_query_attention(m, x, x, -1, 8, 4, 2, 1.0f, 1, 0, NULL); break;
        case 4: r = lf_grouped_query_attention(m, v, x, -1, 8, 4, 2, 0, 1, 0, NULL); break;
        case 5: r = lf_grouped_query_attention(m, x, w, -1, 8, 4, 2, 0, 1, 0, NULL); break;
        case 6: r = lf_grouped_query_attention(m, x, x, k, 8, 4, 2, 0, 1, 0, NULL); break;
        default: r = lf_grouped_query_attention(m, x, 9, -1, 8, 4, 2, 0, 1, 0, NULL); break;
        }
        CHECK(r == -1 && strcmp(lf_model_error(m), msgs[c]) == 0, "case %d: got %d '%s'", c, r, lf_model_error(m));
        lf_model_free(m);
    }
}

/* trains (dropout on), saves and loads: the same predictions bit for bit;
 * the file holds the non-default fields only; a file whose heads do not
 * divide, or with an unknown field, is refused */
static void test_round_trip(void) {
    char path[128], bad[160];
    snprintf(path, sizeof path, "%s/gqa.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/gqa_bad.lf", tmpdir);
    for (int c = 0; c < 2; c++) {
        lf_model *m;
        lf_model_create(&m, 9 + c);
        int ids = lf_input_shape(m, 1, (size_t[]){6}, LF_DTYPE_INT32, "ids");
        int e = lf_embedding(m, ids, 9, 8, 1, "emb");
        int a = c ? lf_grouped_query_attention(m, e, e, -1, 4, 4, 2, 0.1f, 0, 1, "att")
                  : lf_grouped_query_attention(m, e, e, -1, 3, 2, 1, 0.0f, 1, 0, "att");
        int o = lf_dense(m, lf_global_average_pooling1d(m, a, NULL), 3, LF_ACT_SOFTMAX, 1, "out");
        CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
              lf_model_error(m));
        enum { N = 24 };
        float tok[N * 6], y[N];
        fill_uniform(tok, N * 6, 0, 9, 8);
        for (int i = 0; i < N * 6; i++) tok[i] = floorf(tok[i]);
        for (int i = 0; i < N; i++) y[i] = (float)(i % 3), tok[i * 6] = 1 + (float)(i % 8);
        const float *xs[1] = {tok};
        lf_fit_options fo = lf_fit_defaults();
        fo.epochs = 2, fo.batch_size = 8;
        CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
        char what[16];
        snprintf(what, sizeof what, "case %d", c);
        lf_model_free(check_reload(m, xs, N, 3, path, what));
        const char *want = c ? "\"type\":\"GroupedQueryAttention\",\"inbound\":[\"emb\",\"emb\"],\"head_dim\":4,"
                               "\"num_query_heads\":4,\"num_key_value_heads\":2,\"dropout\":0.1,\"use_bias\":false,"
                               "\"use_causal_mask\":true}"
                             : "\"type\":\"GroupedQueryAttention\",\"inbound\":[\"emb\",\"emb\"],\"head_dim\":3,"
                               "\"num_query_heads\":2,\"num_key_value_heads\":1}";
        check_arch_fields(path, &want, 1, what);
        lf_st_file f;
        lf_err err;
        CHECK(lf_st_read(path, &f, &err) == LF_OK, "%s", err.msg);
        const lf_st_tensor *t = lf_st_find(&f, c ? "att.key.kernel" : "att.value.bias");
        CHECK(t && (c ? t->ndim == 3 && t->shape[0] == 8 && t->shape[1] == 2 && t->shape[2] == 4
                      : t->ndim == 2 && t->shape[0] == 1 && t->shape[1] == 3),
              "case %d: the key/value heads' tensor shape", c);
        lf_st_free(&f);
        if (c == 0) {
            check_edit_refused(path, bad, "\\\"num_key_value_heads\\\":1", "\\\"num_key_value_heads\\\":3",
                               "GroupedQueryAttention: `num_query_heads` must be divisible by "
                               "`num_key_value_heads`. Received: num_query_heads=2, num_key_value_heads=3");
            check_edit_refused(path, bad, "\\\"num_key_value_heads\\\":1", "\\\"num_key_value_heads\\\":0",
                               "'num_key_value_heads' must be an integer in 1..4096");
            check_edit_refused(path, bad, "\\\"head_dim\\\":3", "\\\"use_gate\\\":1", "use_gate");
        }
        lf_model_free(m);
    }
    unlink(path);
    unlink(bad);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_gqa_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_equals_mha();
    test_grouped();
    test_by_hand();
    test_masks();
    test_call_args();
    test_weights();
    test_errors();
    test_round_trip();
    rmdir(tmpdir);
    return check_report("test_gqa");
}
