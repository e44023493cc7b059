/*
 * test_attention.c — MultiHeadAttention: the attention kernels against a
 * plain double-precision reference (with query and key masks, fully masked
 * rows and dropout multipliers), their backward pass against finite
 * differences, the layer's gradients (every weight tensor and every input,
 * with and without bias, cross-attention with a separate key, dropout in a
 * training pass) against finite differences, NaN inputs giving NaN outputs
 * (as Keras and torch), the builder's errors, Attention's score_mode enum,
 * and a save/load round trip.
 *
 * Finite differences: central, step 1e-3, in float32 with the loss summed
 * in double; tolerance 2e-3 + 2e-2 |fd| (test_grad.c's).  So that a zero
 * gradient cannot pass under the absolute tolerance, each checked tensor's
 * largest |fd| must reach 10 x 2e-3 (inputs and weights are scaled for it).
 */
#include "check.h"
#include "engine_util.h"
#include "layers/layer.h"
#include "layers/layers.h"
#include "model_checks.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define ATOL 2e-3
#define RTOL 2e-2

static char tmpdir[64];

static void compare_fd(const char *label, const float *ana, const float *num, size_t n) {
    CHECK_CLOSE(label, ana, num, n, ATOL, RTOL);
    float big = 0;
    for (size_t j = 0; j < n; j++) big = fabsf(num[j]) > big ? fabsf(num[j]) : big;
    CHECK(big >= 10 * ATOL, "%s: the largest finite difference is %.3g, below 10 x the tolerance %g", label,
          (double)big, 10 * ATOL);
}

/* ------------------------------------------------------------ kernels */

enum { KB = 2, KT = 3, KS = 4, KH = 2, KD = 3, VD = 2 };

/* the reference: the same definition, in double, element by element */
static void reference(double *out, double *prob, const float *q, const float *k, const float *v,
                      const float *qmask, const float *kmask, const float *drop) {
    for (size_t b = 0; b < KB; b++)
        for (size_t h = 0; h < KH; h++)
            for (size_t t = 0; t < KT; t++) {
                double s[KS], mx = -INFINITY, sum = 0;
                int any = 0;
                for (size_t j = 0; j < KS; j++) {
                    int on = qmask[b * KT + t] != 0 && kmask[b * KS + j] != 0;
                    s[j] = -INFINITY;
                    if (!on) continue;
                    any = 1;
                    double d = 0;
                    for (size_t c = 0; c < KD; c++)
                        d += (double)q[((b * KT + t) * KH + h) * KD + c] * k[((b * KS + j) * KH + h) * KD + c];
                    s[j] = d / sqrt((double)KD);
                    mx = s[j] > mx ? s[j] : mx;
                }
                double *p = prob + ((b * KH + h) * KT + t) * KS;
                for (size_t j = 0; j < KS; j++) sum += p[j] = any && s[j] > -INFINITY ? exp(s[j] - mx) : 0;
                for (size_t j = 0; j < KS; j++) p[j] = any ? p[j] / sum : 0;
                for (size_t c = 0; c < VD; c++) {
                    double o = 0;
                    for (size_t j = 0; j < KS; j++) {
                        double a = p[j] * (drop ? drop[((b * KH + h) * KT + t) * KS + j] : 1.0);
                        o += a * v[((b * KS + j) * KH + h) * VD + c];
                    }
                    out[((b * KT + t) * KH + h) * VD + c] = o;
                }
            }
}

/* sample 0: query 1 and key 2 absent; sample 1: every key absent */
static const float qmask[KB * KT] = {1, 0, 1, 1, 1, 1};
static const float kmask[KB * KS] = {1, 1, 0, 1, 0, 0, 0, 0};
static const float nomask_q[KB * KT] = {1, 1, 1, 1, 1, 1};
static const float nomask_k[KB * KS] = {1, 1, 1, 1, 1, 1, 1, 1};

static void test_kernel_forward(void) {
    float q[KB * KT * KH * KD], k[KB * KS * KH * KD], v[KB * KS * KH * VD], drop[KB * KH * KT * KS];
    fill_uniform(q, sizeof q / sizeof *q, -2, 2, 1);
    fill_uniform(k, sizeof k / sizeof *k, -2, 2, 2);
    fill_uniform(v, sizeof v / sizeof *v, -2, 2, 3);
    lf_rng r;
    lf_rng_seed(&r, 4);
    for (size_t i = 0; i < sizeof drop / sizeof *drop; i++) drop[i] = lf_rng_uniform(&r) < 0.3f ? 0.0f : 2.0f;
    double want_o[KB * KT * KH * VD], want_p[KB * KH * KT * KS];
    float out[KB * KT * KH * VD], prob[KB * KH * KT * KS], att[KB * KH * KT * KS], wo[KB * KT * KH * VD],
        wp[KB * KH * KT * KS];
    for (int masked = 0; masked < 2; masked++)
        for (int dropped = 0; dropped < 2; dropped++) {
            const float *qm = masked ? qmask : NULL, *km = masked ? kmask : NULL;
            reference(want_o, want_p, q, k, v, masked ? qmask : nomask_q, masked ? kmask : nomask_k,
                      dropped ? drop : NULL);
            memset(out, 0x7f, sizeof out); /* NaN-free garbage: every value must be written */
            lf_attention_forward(out, prob, att, q, k, v, qm, km, dropped ? drop : NULL, KB, KT, KS, KH, KD, VD);
            for (size_t i = 0; i < sizeof out / sizeof *out; i++) wo[i] = (float)want_o[i];
            for (size_t i = 0; i < sizeof prob / sizeof *prob; i++) wp[i] = (float)want_p[i];
            char label[64];
            snprintf(label, sizeof label, "forward (mask %d, dropout %d): weights", masked, dropped);
            CHECK_CLOSE(label, prob, wp, sizeof prob / sizeof *prob, 1e-6, 1e-5);
            snprintf(label, sizeof label, "forward (mask %d, dropout %d): output", masked, dropped);
            CHECK_CLOSE(label, out, wo, sizeof out / sizeof *out, 1e-6, 1e-5);
        }
    /* the masked cases exactly: absent keys weigh 0, rows without a key are
     * all 0 and so is their output (sample 0 query 1; sample 1 everything) */
    lf_attention_forward(out, prob, att, q, k, v, qmask, kmask, NULL, KB, KT, KS, KH, KD, VD);
    int exact = 1;
    for (size_t h = 0; h < KH; h++)
        for (size_t t = 0; t < KT; t++) {
            exact &= prob[((0 * KH + h) * KT + t) * KS + 2] == 0.0f;
            for (size_t j = 0; j < KS; j++) {
                exact &= prob[((0 * KH + h) * KT + 1) * KS + j] == 0.0f;
                exact &= prob[((1 * KH + h) * KT + t) * KS + j] == 0.0f;
            }
        }
    for (size_t h = 0; h < KH; h++)
        for (size_t c = 0; c < VD; c++) {
            exact &= out[((0 * KT + 1) * KH + h) * VD + c] == 0.0f;
            for (size_t t = 0; t < KT; t++) exact &= out[((1 * KT + t) * KH + h) * VD + c] == 0.0f;
        }
    CHECK(exact, "masked keys and fully masked rows have weight and output exactly 0");
    float rs = 0;
    for (size_t j = 0; j < KS; j++) rs += prob[(0 * KT + 0) * KS + j];
    CHECK(fabsf(rs - 1.0f) < 1e-6f, "a row with keys left sums to 1 (%.9g)", (double)rs);
}

/* sum(out * R) in double, for the finite differences */
static double kernel_loss(const float *q, const float *k, const float *v, const float *qm, const float *km,
                          const float *drop, const float *R) {
    float out[KB * KT * KH * VD], prob[KB * KH * KT * KS], att[KB * KH * KT * KS];
    lf_attention_forward(out, prob, att, q, k, v, qm, km, drop, KB, KT, KS, KH, KD, VD);
    double l = 0;
    for (size_t i = 0; i < sizeof out / sizeof *out; i++) l += (double)out[i] * R[i];
    return l;
}

static void test_kernel_backward(void) {
    float q[KB * KT * KH * KD], k[KB * KS * KH * KD], v[KB * KS * KH * VD], drop[KB * KH * KT * KS];
    float R[KB * KT * KH * VD];
    fill_uniform(q, sizeof q / sizeof *q, -2, 2, 11);
    fill_uniform(k, sizeof k / sizeof *k, -2, 2, 12);
    fill_uniform(v, sizeof v / sizeof *v, -2, 2, 13);
    fill_uniform(R, sizeof R / sizeof *R, -2, 2, 14);
    lf_rng r;
    lf_rng_seed(&r, 15);
    for (size_t i = 0; i < sizeof drop / sizeof *drop; i++) drop[i] = lf_rng_uniform(&r) < 0.3f ? 0.0f : 1.25f;
    for (int masked = 0; masked < 2; masked++)
        for (int dropped = 0; dropped < 2; dropped++) {
            const float *qm = masked ? qmask : NULL, *km = masked ? kmask : NULL, *dr = dropped ? drop : NULL;
            float out[KB * KT * KH * VD], prob[KB * KH * KT * KS], att[KB * KH * KT * KS], ds[KB * KH * KT * KS];
            lf_attention_forward(out, prob, att, q, k, v, qm, km, dr, KB, KT, KS, KH, KD, VD);
            float dq[sizeof q / sizeof *q], dk[sizeof k / sizeof *k], dv[sizeof v / sizeof *v];
            /* written, not added to: what was there (NaN) does not matter */
            for (size_t i = 0; i < sizeof dq / sizeof *dq; i++) dq[i] = NAN;
            for (size_t i = 0; i < sizeof dk / sizeof *dk; i++) dk[i] = NAN;
            for (size_t i = 0; i < sizeof dv / sizeof *dv; i++) dv[i] = NAN;
            lf_attention_backward(dq, dk, dv, ds, R, prob, att, dr, q, k, v, KB, KT, KS, KH, KD, VD);
            float *xs[3] = {q, k, v}, *ds3[3] = {dq, dk, dv};
            size_t ns[3] = {sizeof q / sizeof *q, sizeof k / sizeof *k, sizeof v / sizeof *v};
            static const char *const names[3] = {"q", "k", "v"};
            for (int a = 0; a < 3; a++) {
                float num[KB * KS * KH * KD];
                for (size_t i = 0; i < ns[a]; i++) {
                    float x0 = xs[a][i], h = 1e-3f;
                    xs[a][i] = x0 + h;
                    double lp = kernel_loss(q, k, v, qm, km, dr, R);
                    xs[a][i] = x0 - h;
                    double lm = kernel_loss(q, k, v, qm, km, dr, R);
                    xs[a][i] = x0;
                    num[i] = (float)((lp - lm) / (2.0 * h));
                }
                char label[80];
                snprintf(label, sizeof label, "backward (mask %d, dropout %d): d%s", masked, dropped, names[a]);
                compare_fd(label, ds3[a], num, ns[a]);
            }
            if (!masked) continue;
            /* nothing flows through an absent key or a masked row: exactly 0 */
            int zero = 1;
            for (size_t h = 0; h < KH; h++) {
                for (size_t c = 0; c < KD; c++) {
                    zero &= dq[((0 * KT + 1) * KH + h) * KD + c] == 0.0f; /* masked query */
                    zero &= dk[((0 * KS + 2) * KH + h) * KD + c] == 0.0f; /* absent key */
                    for (size_t t = 0; t < KT; t++) zero &= dq[((1 * KT + t) * KH + h) * KD + c] == 0.0f;
                }
                for (size_t c = 0; c < VD; c++) zero &= dv[((0 * KS + 2) * KH + h) * VD + c] == 0.0f;
            }
            CHECK(zero, "dropout %d: absent keys and masked rows get gradient exactly 0", dropped);
        }
}

/* -------------------------------------------------------------- layer */

/* every weight tensor's and every input's gradient against finite
 * differences of the batch loss (training: the pass draws dropout from the
 * same generator state every time) */
static void fd_layer(const char *what, lf_model *m, float **x, const float *t, size_t n, int training) {
    size_t ni = lf_model_num_inputs(m), np = m->n_params;
    float *ig[3];
    for (size_t i = 0; i < ni; i++) ig[i] = calloc(n * lf_model_input_dim(m, i), sizeof(float));
    lf_rng rng0 = m->rng;
    double l0;
    CHECK(lf__loss_and_grads(m, (const float *const *)x, t, n, training, 0, &l0, ig) == LF_OK, "%s: grads", what);
    float *ana = malloc(np * sizeof *ana), *num = malloc(np * sizeof *num);
    memcpy(ana, m->grads, np * sizeof *ana);
    for (size_t j = 0; j < np; j++) {
        float w = m->params[j], h = 1e-3f;
        double lp, lm;
        m->params[j] = w + h, m->rng = rng0;
        lf__loss_and_grads(m, (const float *const *)x, t, n, training, 0, &lp, NULL);
        m->params[j] = w - h, m->rng = rng0;
        lf__loss_and_grads(m, (const float *const *)x, t, n, training, 0, &lm, NULL);
        m->params[j] = w;
        num[j] = (float)((lp - lm) / (2.0 * h));
    }
    for (size_t id = 0; id < m->n_nodes; id++) {
        lf_weight w[LF_MAX_WEIGHTS];
        size_t nw = lf_node_weights(m, &m->nodes[id], w);
        for (size_t k = 0; k < nw; k++) {
            size_t off = m->nodes[id].param_off + w[k].off;
            char label[160];
            snprintf(label, sizeof label, "%s: %s.%s", what, m->nodes[id].name, w[k].suffix);
            if (strcmp(w[k].suffix, "key.bias") == 0) {
                /* it adds q . bk to every score of a row: the softmax does
                 * not move, the gradient is 0 (the layer says so exactly) */
                CHECK_CLOSE(label, ana + off, num + off, lf_weight_count(&w[k]), ATOL, RTOL);
                float big = 0;
                for (size_t j = 0; j < lf_weight_count(&w[k]); j++)
                    big = fabsf(ana[off + j]) > big ? fabsf(ana[off + j]) : big;
                CHECK(big == 0.0f, "%s: |gradient| up to %g, not 0", label, (double)big);
            } else {
                compare_fd(label, ana + off, num + off, lf_weight_count(&w[k]));
            }
        }
    }
    for (size_t i = 0; i < ni; i++) {
        size_t cnt = n * lf_model_input_dim(m, i);
        int a_mask = 0; /* an attention_mask: 0 or 1, it takes no gradient */
        for (size_t id = 0; id < m->n_nodes; id++) a_mask |= m->nodes[id].mask == m->inputs[i];
        if (m->nodes[m->inputs[i]].dtype == LF_DTYPE_INT32 || a_mask) { /* token ids, masks */
            free(ig[i]);
            continue;
        }
        float *numi = malloc(cnt * sizeof *numi);
        for (size_t j = 0; j < cnt; j++) {
            float v = x[i][j], h = 1e-3f;
            double lp, lm;
            x[i][j] = v + h, m->rng = rng0;
            lf__loss_and_grads(m, (const float *const *)x, t, n, training, 0, &lp, NULL);
            x[i][j] = v - h, m->rng = rng0;
            lf__loss_and_grads(m, (const float *const *)x, t, n, training, 0, &lm, NULL);
            x[i][j] = v;
            numi[j] = (float)((lp - lm) / (2.0 * h));
        }
        char label[160];
        snprintf(label, sizeof label, "%s: input %zu", what, i);
        compare_fd(label, ig[i], numi, cnt);
        free(numi);
        free(ig[i]);
    }
    free(ana);
    free(num);
}

/* scales every weight of the model by s (glorot weights of these small
 * layers leave some gradients near the tolerance) and sets the biases */
static void scale_weights(lf_model *m, float s) {
    for (size_t id = 0; id < m->n_nodes; id++) {
        lf_weight w[LF_MAX_WEIGHTS];
        size_t nw = lf_node_weights(m, &m->nodes[id], w);
        for (size_t k = 0; k < nw; k++) {
            float *p = m->params + m->nodes[id].param_off + w[k].off;
            size_t cnt = lf_weight_count(&w[k]);
            if (strstr(w[k].suffix, "bias")) fill_uniform(p, cnt, -0.5f, 0.5f, 100 + id * 8 + k);
            else
                for (size_t j = 0; j < cnt; j++) p[j] *= s;
        }
    }
}

enum { LB = 3, LT = 4, LS = 5, LD = 6 };

/* self-attention, then cross-attention with a separate key, without bias,
 * then dropout in a training pass */
static void test_layer_grads(void) {
    for (int c = 0; c < 3; c++) {
        lf_model *m;
        lf_model_create(&m, 21 + (uint64_t)c);
        int xq = lf_input_shape(m, 2, (size_t[]){LT, LD}, LF_DTYPE_FLOAT32, "xq");
        int xv = c == 1 ? lf_input_shape(m, 2, (size_t[]){LS, 4}, LF_DTYPE_FLOAT32, "xv") : xq;
        int xk = c == 1 ? lf_input_shape(m, 2, (size_t[]){LS, 3}, LF_DTYPE_FLOAT32, "xk") : -1;
        int out = c == 1 ? lf_multi_head_attention(m, xq, xv, xk, 2, 3, 4, 0.0f, 0, 5, "mha")
                  : lf_multi_head_attention(m, xq, xv, xk, 2, 3, 0, c == 2 ? 0.3f : 0.0f, 1, 0, "mha");
        CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
        scale_weights(m, 3.0f);
        size_t ni = lf_model_num_inputs(m), od = lf_model_output_dim(m);
        float *x[3], *t = malloc(LB * od * sizeof *t);
        for (size_t i = 0; i < ni; i++) {
            x[i] = malloc(LB * lf_model_input_dim(m, i) * sizeof(float));
            fill_uniform(x[i], LB * lf_model_input_dim(m, i), -1, 1, 30 + i);
        }
        fill_uniform(t, LB * od, -3, 3, 40);
        static const char *const what[3] = {"self-attention", "cross-attention, key, no bias",
                                            "self-attention, dropout 0.3, training"};
        fd_layer(what[c], m, x, t, LB, c == 2);
        for (size_t i = 0; i < ni; i++) free(x[i]);
        free(t);
        lf_model_free(m);
    }
}

/* with a padding mask: tokens -> Embedding(mask_zero) + x -> self-attention.
 * Row 0 has one padded step, row 1 only padding, row 2 none. */
static void test_layer_mask(void) {
    lf_model *m;
    lf_model_create(&m, 31);
    int ids = lf_input_shape(m, 1, (size_t[]){LT}, LF_DTYPE_INT32, "ids");
    int x = lf_input_shape(m, 2, (size_t[]){LT, LD}, LF_DTYPE_FLOAT32, "x");
    int e = lf_embedding(m, ids, 5, LD, 1, "emb");
    int s = lf_add(m, 2, (int[]){e, x}, "sum");
    /* the reference carries the Embedding's mask through the sum: the rule of
     * earlier model files (Keras 3's drops it, x carrying none) */
    lf_set_merge_mask_rule(m, s, LF_MASK_RULE_KEEP);
    int out = lf_multi_head_attention(m, s, s, -1, 2, 3, 0, 0.0f, 1, 0, "mha");
    CHECK(out >= 0 && m->nodes[out].seq_mask == e, "the output carries the embedding's mask: %s", lf_model_error(m));
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    scale_weights(m, 3.0f);
    float tok[LB * LT] = {1, 2, 0, 3, 0, 0, 0, 0, 4, 1, 2, 3};
    float *xv = malloc(LB * LT * LD * sizeof *xv), t[LB * LT * LD];
    fill_uniform(xv, LB * LT * LD, -1, 1, 32);
    fill_uniform(t, LB * LT * LD, -3, 3, 33);
    float *xs[2] = {tok, xv};
    fd_layer("self-attention, padding mask", m, xs, t, LB, 0);
    /* a padded step is no key: changing it leaves the other rows' outputs
     * bit for bit; masked rows output the output bias exactly */
    float y1[LB * LT * LD], y2[LB * LT * LD];
    CHECK(lf_model_predict(m, (const float *const *)xs, LB, y1) == LF_OK, "predict: %s", lf_model_error(m));
    for (size_t d = 0; d < LD; d++) xv[(0 * LT + 2) * LD + d] += 0.5f;
    lf_model_predict(m, (const float *const *)xs, LB, y2);
    int same = 1, bias = 1;
    for (size_t i = 0; i < LB * LT * LD; i++) {
        size_t r = i / (LT * LD), step = i / LD % LT;
        if (r == 0 && step == 2) continue;
        same &= y1[i] == y2[i];
    }
    const float *bo = m->params + m->nodes[out].param_off + m->nodes[out].n_params - LD;
    for (size_t d = 0; d < LD; d++) {
        bias &= y2[(0 * LT + 2) * LD + d] == bo[d];
        for (size_t step = 0; step < LT; step++) bias &= y2[(1 * LT + step) * LD + d] == bo[d];
    }
    CHECK(same, "a padded step changes no other row's output");
    CHECK(bias, "masked rows output the output bias");
    free(xv);
    lf_model_free(m);
    /* a query without a mask attending to a padded value: the output has
     * no mask (the query's), the padded keys are still left out */
    lf_model_create(&m, 32);
    ids = lf_input_shape(m, 1, (size_t[]){LT}, LF_DTYPE_INT32, "ids");
    x = lf_input_shape(m, 2, (size_t[]){3, LD}, LF_DTYPE_FLOAT32, "x");
    e = lf_embedding(m, ids, 5, LD, 1, "emb");
    out = lf_multi_head_attention(m, x, e, -1, 2, 3, 0, 0.0f, 1, 0, "mha");
    CHECK(out >= 0 && m->nodes[out].seq_mask == -1, "the output carries the query's (no) mask: %s",
          lf_model_error(m));
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    float xq[LB * 3 * LD], z1[LB * 3 * LD], z2[LB * 3 * LD];
    fill_uniform(xq, LB * 3 * LD, -1, 1, 34);
    const float *xs2[2] = {tok, xq};
    lf_model_predict(m, xs2, LB, z1);
    float *table = m->params + m->nodes[e].param_off; /* the padding id's row */
    for (size_t d = 0; d < LD; d++) table[d] += 1.0f;
    lf_model_predict(m, xs2, LB, z2);
    int row0 = memcmp(z1, z2, 3 * LD * sizeof(float)) == 0, row2 = memcmp(z1 + 6 * LD, z2 + 6 * LD, 3 * LD * sizeof(float)) == 0;
    CHECK(row0 && row2, "the padding id's embedding changes no row (rows 0 and 2: %d %d)", row0, row2);
    lf_model_free(m);
}

/* A NaN in the inputs gives NaN outputs, as in Keras and torch (a NaN
 * score makes its row's softmax NaN), whichever present key holds it; a
 * padded key's score is not read (Keras 3.13 on replaces it by -1e9); the
 * other rows keep their bits; a row with no key present still outputs the
 * output bias (Keras 3's zero weights).  Scores of the present keys all
 * -inf: NaN weights when no key is padded (softmax's 0 / 0), else zero
 * weights (Keras' weights go to the padded keys' -1e9, then its mask
 * zeroes them).  Query (B, 3, LD), key (B, 4, LD) apart from the value (an
 * Embedding with mask_zero: the keys' mask). */
static void test_layer_nan(void) {
    enum { B = 3, T = 3, S = 4 };
    lf_model *m;
    lf_model_create(&m, 41);
    int xq = lf_input_shape(m, 2, (size_t[]){T, LD}, LF_DTYPE_FLOAT32, "q");
    int ids = lf_input_shape(m, 1, (size_t[]){S}, LF_DTYPE_INT32, "ids");
    int xk = lf_input_shape(m, 2, (size_t[]){S, LD}, LF_DTYPE_FLOAT32, "k");
    int e = lf_embedding(m, ids, 5, LD, 1, "emb");
    int out = lf_multi_head_attention(m, xq, e, xk, 2, 3, 0, 0.0f, 1, 0, "mha");
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    float tok[B * S] = {1, 2, 0, 3, 4, 1, 2, 3, 0, 0, 0, 0}; /* row 0: key 2 padded; row 2: all */
    float q[B * T * LD], k[B * S * LD], y0[B * T * LD], y[B * T * LD];
    fill_uniform(q, B * T * LD, -1, 1, 42);
    fill_uniform(k, B * S * LD, -1, 1, 43);
    const float *xs[3] = {q, tok, k};
    CHECK(lf_model_predict(m, xs, B, y0) == LF_OK, "predict: %s", lf_model_error(m));
    int finite = 1;
    for (size_t i = 0; i < B * T * LD; i++) finite &= isfinite(y0[i]);
    CHECK(finite, "finite inputs: finite outputs");
    const float *bo = m->params + m->nodes[out].param_off + m->nodes[out].n_params - LD;
    /* what the sample holding the NaN outputs; the other samples keep
     * their bits */
    enum { ROW_NAN, SAMPLE_NAN, BIAS, SAME };
    /* case 0: a NaN in query (1, step 1): that row; 1: in key (1, 2), a
     * present key: all of sample 1; 2: in key (0, 2), a padded key: sample
     * 0 as before; 3: in key (2, 0): sample 2 has no key, the bias */
    static const struct {
        int in_key;
        size_t at, sample, row; /* the NaN's place, its sample and row */
        int want;
    } cases[] = {{0, (1 * T + 1) * LD, 1, 1, ROW_NAN},
                 {1, (1 * S + 2) * LD + 1, 1, 0, SAMPLE_NAN},
                 {1, (0 * S + 2) * LD, 0, 0, SAME},
                 {1, (2 * S + 0) * LD, 2, 0, BIAS}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float *x = cases[c].in_key ? k : q, keep = x[cases[c].at];
        x[cases[c].at] = NAN;
        lf_model_predict(m, xs, B, y);
        x[cases[c].at] = keep;
        int want = 1, kind = cases[c].want;
        for (size_t i = 0; i < B * T * LD; i++) {
            size_t b = i / (T * LD), t = i / LD % T;
            int mine = b == cases[c].sample;
            if (mine && kind == BIAS) want &= y[i] == bo[i % LD];
            else if (mine && (kind == SAMPLE_NAN || (kind == ROW_NAN && t == cases[c].row))) want &= isnan(y[i]);
            else want &= memcmp(&y[i], &y0[i], sizeof y[i]) == 0;
        }
        CHECK(want, "case %zu: sample %zu's outputs (%s) and the others' bits", c, cases[c].sample,
              kind == ROW_NAN ? "row NaN" : kind == SAMPLE_NAN ? "NaN" : kind == BIAS ? "the bias" : "unchanged");
    }

    /* scores of -inf: the query and key kernels all 1, their biases 0, so
     * every score of a sample is (sum q) (sum k) 3 / sqrt(3) per head; a
     * query of 1e20s and present keys of -1e20s overflow it to -inf, a key
     * of small values keeps it finite.  Sample 0 (key 2 padded, small):
     * zero weights, the bias; sample 1 (every key present): NaN */
    lf_weight w[LF_MAX_WEIGHTS];
    lf_node_weights(m, &m->nodes[out], w);
    float *pw = m->params + m->nodes[out].param_off;
    for (int j = 0; j < 4; j++) { /* query.kernel, query.bias, key.kernel, key.bias */
        size_t n = 1;
        for (size_t d = 0; d < w[j].ndim; d++) n *= w[j].shape[d];
        for (size_t i = 0; i < n; i++) pw[w[j].off + i] = j % 2 ? 0.0f : 1.0f;
    }
    for (size_t b = 0; b < 2; b++) {
        for (size_t i = 0; i < T * LD; i++) q[b * T * LD + i] = 1e20f;
        for (size_t s = 0; s < S; s++)
            for (size_t d = 0; d < LD; d++) k[(b * S + s) * LD + d] = tok[b * S + s] != 0 ? -1e20f : 0.25f;
    }
    lf_model_predict(m, xs, B, y);
    int zero = 1, nan = 1;
    for (size_t i = 0; i < T * LD; i++) zero &= y[i] == bo[i % LD], nan &= isnan(y[T * LD + i]);
    CHECK(zero && nan, "present scores all -inf: the bias with a padded key (%d), NaN with none (%d)", zero, nan);
    lf_model_free(m);
}

/* weights: Keras' names, shapes and order; glorot limits with Keras' fans */
static void test_layer_weights(void) {
    lf_model *m;
    lf_model_create(&m, 5);
    int x = lf_input_shape(m, 2, (size_t[]){7, 16}, LF_DTYPE_FLOAT32, "x");
    int y = lf_multi_head_attention(m, x, x, -1, 4, 8, 0, 0.1f, 1, 0, NULL);
    CHECK(y >= 0, "built: %s", lf_model_error(m));
    const lf_node *nd = &m->nodes[y];
    CHECK(strcmp(nd->name, "multi_head_attention") == 0 && nd->rank == 2 && nd->shape[0] == 7 &&
              nd->shape[1] == 16,
          "name %s, shape (%zu, %zu)", nd->name, nd->shape[0], nd->shape[1]);
    lf_weight w[LF_MAX_WEIGHTS];
    size_t nw = lf_node_weights(m, nd, w);
    static const char *const names[8] = {"query.kernel", "query.bias", "key.kernel", "key.bias",
                                         "value.kernel", "value.bias", "attention_output.kernel",
                                         "attention_output.bias"};
    static const size_t shapes[8][3] = {{16, 4, 8}, {4, 8}, {16, 4, 8}, {4, 8},
                                        {16, 4, 8}, {4, 8}, {4, 8, 16}, {16}};
    CHECK(nw == 8, "8 weight tensors, got %zu", nw);
    size_t off = 0;
    for (size_t k = 0; k < nw && k < 8; k++) {
        int ok = strcmp(w[k].suffix, names[k]) == 0 && w[k].off == off;
        for (size_t d = 0; d < w[k].ndim; d++) ok &= w[k].shape[d] == shapes[k][d];
        CHECK(ok, "weight %zu: %s at %zu", k, w[k].suffix, w[k].off);
        const float *p = m->params + nd->param_off + w[k].off;
        size_t cnt = lf_weight_count(&w[k]);
        float lim = k == 6 ? sqrtf(6.0f / (4 * 8 + 4 * 16)) : sqrtf(6.0f / (16 * 4 + 16 * 8)), mx = 0;
        for (size_t j = 0; j < cnt; j++) mx = fabsf(p[j]) > mx ? fabsf(p[j]) : mx;
        if (k % 2) CHECK(mx == 0.0f, "%s starts at 0", names[k]);
        else CHECK(mx <= lim && mx > 0.8f * lim, "%s: max |w| %g within the glorot limit %g", names[k], (double)mx, (double)lim);
        off += cnt;
    }
    CHECK(nd->n_params == off && off == 3 * (16 * 32 + 32) + 32 * 16 + 16, "%zu parameters", nd->n_params);
    lf_model_free(m);
}

/* build-time errors name the layer's argument and the shapes */
/* Keras' use_causal_mask and attention_mask (keras/src/layers/attention/
 * multi_head_attention.py _compute_attention_mask: AND-ed with the padding
 * masks): finite-difference gradients through every combination; with the
 * causal mask a later step changes no earlier step's output; a row whose
 * attention_mask is all 0 outputs the output bias exactly (Keras' Softmax
 * zeroes masked weights); an attention_mask holding the lower triangle
 * gives use_causal_mask's bits; the file keeps both; the setter's errors */
static void test_layer_causal(void) {
    float tok[LB * LT] = {1, 2, 0, 3, 0, 0, 0, 0, 4, 1, 2, 3};
    float am[LB * LT * LT];
    fill_uniform(am, LB * LT * LT, 0, 1, 50);
    for (size_t i = 0; i < LB * LT * LT; i++) am[i] = am[i] < 0.3f ? 0.0f : 1.0f;
    for (size_t s = 0; s < LT; s++) am[(2 * LT + 1) * LT + s] = 0.0f; /* row 2, query step 1: no key */
    for (int c = 0; c < 6; c++) {
        int causal = c & 1, with_mask = (c >> 1) & 1, padded = c >= 4;
        lf_model *m;
        lf_model_create(&m, 60 + (uint64_t)c);
        int ids = lf_input_shape(m, 1, (size_t[]){LT}, LF_DTYPE_INT32, "ids");
        int x = lf_input_shape(m, 2, (size_t[]){LT, LD}, LF_DTYPE_FLOAT32, "x");
        int a = with_mask ? lf_input_shape(m, 2, (size_t[]){LT, LT}, LF_DTYPE_FLOAT32, "am") : -1;
        int s = lf_add(m, 2, (int[]){lf_embedding(m, ids, 5, LD, padded, "emb"), x}, "sum");
        /* the reference carries the Embedding's mask through the sum: the rule of
         * earlier model files (Keras 3's drops it, x carrying none) */
        lf_set_merge_mask_rule(m, s, LF_MASK_RULE_KEEP);
        int out = lf_multi_head_attention(m, s, s, -1, 2, 3, 0, 0.0f, 1, 0, "mha");
        CHECK(lf_set_attention_mask(m, out, a, causal) == LF_OK, "set: %s", lf_model_error(m));
        CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
        scale_weights(m, 3.0f);
        float *xv = malloc(LB * LT * LD * sizeof *xv), t[LB * LT * LD];
        fill_uniform(xv, LB * LT * LD, -1, 1, 61);
        fill_uniform(t, LB * LT * LD, -3, 3, 62);
        float *xs[3] = {tok, xv, am};
        char what[96];
        snprintf(what, sizeof what, "self-attention, use_causal_mask %d, attention_mask %d, padding %d", causal,
                 with_mask, padded);
        fd_layer(what, m, xs, t, LB, 0);
        float y1[LB * LT * LD], y2[LB * LT * LD];
        CHECK(lf_model_predict(m, (const float *const *)xs, LB, y1) == LF_OK, "predict: %s", lf_model_error(m));
        const float *bo = m->params + m->nodes[out].param_off + m->nodes[out].n_params - LD;
        if (with_mask) {
            int bias = 1;
            for (size_t d = 0; d < LD; d++) bias &= y1[(2 * LT + 1) * LD + d] == bo[d];
            CHECK(bias, "%s: a query row with no key outputs the output bias", what);
        }
        if (causal && !with_mask && !padded) {
            /* the last step of row 0 changes its own output only */
            for (size_t d = 0; d < LD; d++) xv[(LT - 1) * LD + d] += 0.5f;
            lf_model_predict(m, (const float *const *)xs, LB, y2);
            int before = memcmp(y1, y2, (LT - 1) * LD * sizeof *y1) == 0;
            int last = memcmp(y1 + (LT - 1) * LD, y2 + (LT - 1) * LD, LD * sizeof *y1) != 0;
            CHECK(before && last, "causal: a later step changes no earlier output (%d) but its own (%d)", before,
                  last);
            for (size_t d = 0; d < LD; d++) xv[(LT - 1) * LD + d] -= 0.5f;
            /* the lower triangle as an attention_mask: the same bits */
            lf_model *l;
            lf_model_create(&l, 60 + (uint64_t)c);
            ids = lf_input_shape(l, 1, (size_t[]){LT}, LF_DTYPE_INT32, "ids");
            x = lf_input_shape(l, 2, (size_t[]){LT, LD}, LF_DTYPE_FLOAT32, "x");
            a = lf_input_shape(l, 2, (size_t[]){LT, LT}, LF_DTYPE_FLOAT32, "am");
            s = lf_add(l, 2, (int[]){lf_embedding(l, ids, 5, LD, 0, "emb"), x}, "sum");
            int o2 = lf_multi_head_attention(l, s, s, -1, 2, 3, 0, 0.0f, 1, 0, "mha");
            CHECK(lf_set_attention_mask(l, o2, a, 0) == LF_OK && lf_model_compile(l, o2, LF_LOSS_MSE, NULL) == LF_OK,
                  "tril model: %s", lf_model_error(l));
            memcpy(l->params, m->params, m->n_params * sizeof *m->params);
            float tril[LB * LT * LT], *xs2[3] = {tok, xv, tril};
            for (size_t i = 0; i < LB * LT * LT; i++) tril[i] = i % LT <= i / LT % LT;
            lf_model_predict(l, (const float *const *)xs2, LB, y2);
            CHECK(memcmp(y1, y2, sizeof y1) == 0, "the lower triangle as attention_mask gives use_causal_mask's bits");
            lf_model_free(l);
        }
        if (c == 3 || c == 5) { /* save / load */
            char path[128];
            snprintf(path, sizeof path, "%s/causal.lf", tmpdir);
            CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
            lf_model *l;
            lf_model_create(&l, 0);
            CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
            lf_model_predict(l, (const float *const *)xs, LB, y2);
            CHECK(memcmp(y1, y2, sizeof y1) == 0, "%s: the loaded model predicts differently", what);
            lf_st_file f;
            lf_err e;
            CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
            const char *arch = lf_st_metadata(&f, "architecture");
            CHECK(has(arch, with_mask ? "\"use_causal_mask\":true,\"attention_mask\":\"am\"" : "\"use_causal_mask\":true}"),
                  "arch: %s", arch ? arch : "");
            lf_st_free(&f);
            lf_model_free(l);
            unlink(path);
        }
        free(xv);
        lf_model_free(m);
    }
    /* the setter's errors, word for word; none is sticky */
    lf_model *m;
    lf_model_create(&m, 70);
    int x = lf_input_shape(m, 2, (size_t[]){LT, LD}, LF_DTYPE_FLOAT32, "x");
    int a = lf_dense(m, x, LT + 1, LF_ACT_LINEAR, 1, "am");
    int a2 = lf_dense(m, x, LT, LF_ACT_SIGMOID, 1, "am2");
    int out = lf_multi_head_attention(m, x, x, -1, 2, 3, 0, 0.0f, 1, 0, "mha");
    struct {
        int node, mask;
        lf_status st;
        const char *msg;
    } cases[] = {
        {out, a, LF_ERR_SHAPE, "MultiHeadAttention 'mha': the attention_mask 'am' has shape (None, 4, 5); it needs "
                               "(None, 4, 4) (batch, query steps, key steps)"},
        {x, -1, LF_ERR_ARG, "lf_set_attention_mask: node 0 is not a MultiHeadAttention or GroupedQueryAttention layer"},
        {out, out, LF_ERR_ARG, "lf_set_attention_mask: the attention_mask of 'mha' must be a layer added before it "
                               "(id 3)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lf_status st = lf_set_attention_mask(m, cases[k].node, cases[k].mask, 1);
        CHECK(st == cases[k].st && strcmp(lf_model_error(m), cases[k].msg) == 0, "case %zu: %d '%s'", k, st,
              lf_model_error(m));
    }
    CHECK(lf_set_attention_mask(m, out, a2, 1) == LF_OK, "set: %s", lf_model_error(m));
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "compiles after the refusals: %s", lf_model_error(m));
    CHECK(lf_set_attention_mask(m, out, -1, 1) == LF_ERR_STATE &&
              strcmp(lf_model_error(m), "lf_set_attention_mask: the model is already compiled") == 0,
          "after compile: %s", lf_model_error(m));
    lf_model_free(m);
}

/* the model of test_layer_scores: ids, x -> Embedding + x ->
 * MultiHeadAttention (case c: plain, padded and causal, dropout) with
 * return_attention_scores (unless plain), its two outputs through Dense
 * heads, added; *y and *sc the views, *h the attention node */
static int scores_model(lf_model *m, int c, int scores, int *h, int *y, int *sc) {
    int ids = lf_input_shape(m, 1, (size_t[]){LT}, LF_DTYPE_INT32, "ids");
    int x = lf_input_shape(m, 2, (size_t[]){LT, LD}, LF_DTYPE_FLOAT32, "x");
    int s = lf_add(m, 2, (int[]){lf_embedding(m, ids, 5, LD, c == 1, "emb"), x}, "sum");
    /* the reference carries the Embedding's mask through the sum: the rule of
     * earlier model files (Keras 3's drops it, x carrying none) */
    lf_set_merge_mask_rule(m, s, LF_MASK_RULE_KEEP);
    *h = lf_multi_head_attention(m, s, s, -1, 2, 3, 0, c == 2 ? 0.3f : 0.0f, 1, 5, "mha");
    if (c == 1) lf_set_attention_mask(m, *h, -1, 1);
    if (!scores) return *h;
    CHECK(lf_set_return_attention_scores(m, *h, 1) == LF_OK, "set: %s", lf_model_error(m));
    *y = lf_output_view(m, *h, 0, NULL), *sc = lf_output_view(m, *h, 1, NULL);
    int o1 = lf_dense(m, lf_flatten(m, *y, NULL), 2, LF_ACT_LINEAR, 1, "o1");
    int o2 = lf_dense(m, lf_flatten(m, *sc, NULL), 2, LF_ACT_LINEAR, 1, "o2");
    return lf_add(m, 2, (int[]){o1, o2}, "out");
}

/* Keras' return_attention_scores (lf_set_return_attention_scores): two
 * outputs read through OutputViews: the output, its bits those of the same
 * layer without the scores, and the softmax weights, rows summing to 1 (0
 * for padded keys, future keys under the causal mask, and padded query
 * rows); finite-difference gradients through both, with a padding mask and
 * the causal mask, and with dropout in a training pass (the scores are the
 * weights before dropout, as Keras'); the file keeps it; the setter's
 * refusals */
#define SCORES_SCALE 1.5f /* 3 (as the other tests) leaves float rounding in the differences above the tolerance */
static void test_layer_scores(void) {
    float tok[LB * LT] = {1, 2, 0, 3, 0, 0, 0, 0, 4, 1, 2, 3};
    enum { TS = 2 * LT * LT };
    for (int c = 0; c < 3; c++) {
        lf_model *m, *v, *p;
        lf_model_create(&m, 80 + (uint64_t)c), lf_model_create(&v, 80 + (uint64_t)c);
        lf_model_create(&p, 80 + (uint64_t)c);
        int h, y, sc, hv, yv, scv, hp;
        int out = scores_model(m, c, 1, &h, &y, &sc);
        scores_model(v, c, 1, &hv, &yv, &scv);
        int plain = scores_model(p, c, 0, &hp, &yv, &yv);
        yv = lf_node_find(v, "mha.out0"), scv = lf_node_find(v, "mha.out1");
        CHECK(lf_node_num_outputs(m, h) == 2 && m->nodes[sc].rank == 3 && m->nodes[sc].shape[0] == 2 &&
                  m->nodes[sc].shape[1] == LT && m->nodes[sc].shape[2] == LT && m->nodes[y].dim == LT * 5,
              "case %d: the views' shapes", c);
        CHECK(m->nodes[y].seq_mask == (c == 1 ? 2 : -1) && m->nodes[sc].seq_mask == -1,
              "case %d: the output keeps the query's mask (%d), the scores none (%d)", c, m->nodes[y].seq_mask,
              m->nodes[sc].seq_mask);
        CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
        lf_loss l2[2] = {LF_LOSS_MSE, LF_LOSS_MSE};
        CHECK(lf_model_compile_outputs(v, 2, (int[]){yv, scv}, l2, NULL, NULL) == LF_OK, "compile: %s",
              lf_model_error(v));
        CHECK(lf_model_compile(p, plain, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(p));
        scale_weights(m, SCORES_SCALE);
        memcpy(v->params, m->params, m->n_params * sizeof *m->params);
        /* p's weights: the embedding, then the attention's, as in m */
        memcpy(p->params + p->nodes[2].param_off, m->params + m->nodes[2].param_off,
               m->nodes[2].n_params * sizeof *m->params);
        memcpy(p->params + p->nodes[hp].param_off, m->params + m->nodes[h].param_off,
               m->nodes[h].n_params * sizeof *m->params);
        float *xv = malloc(LB * LT * LD * sizeof *xv), t[LB * 2];
        fill_uniform(xv, LB * LT * LD, -1, 1, 81);
        fill_uniform(t, LB * 2, -3, 3, 82);
        float *xs[2] = {tok, xv};
        float yo[LB * LT * 5], ys[LB * TS], yp[LB * LT * 5];
        lf_typed_array xa[2] = {{LF_DTYPE_FLOAT32, tok}, {LF_DTYPE_FLOAT32, xv}};
        float *outs[2] = {yo, ys};
        CHECK(lf_model_predict_arrays(v, xa, LB, outs) == LF_OK, "predict: %s", lf_model_error(v));
        CHECK(lf_model_predict(p, (const float *const *)xs, LB, yp) == LF_OK, "predict: %s", lf_model_error(p));
        CHECK(memcmp(yo, yp, sizeof yo) == 0, "case %d: the output's bits are the plain layer's", c);
        int sums = 1, zeros = 1;
        for (size_t b = 0; b < LB; b++)
            for (size_t r = 0; r < 2 * LT; r++) {
                size_t tq = r % LT;
                double sum = 0;
                for (size_t k = 0; k < LT; k++) {
                    float w = ys[b * TS + r * LT + k];
                    int off = c == 1 && (tok[b * LT + k] == 0 || k > tq);
                    zeros &= !off || w == 0.0f;
                    sum += w;
                }
                int none = c == 1 && (tok[b * LT + tq] == 0);
                sums &= fabs(sum - (none ? 0.0 : 1.0)) < 1e-5;
            }
        CHECK(sums && zeros, "case %d: the weights' rows sum to 1 (%d), 0 where masked (%d)", c, sums, zeros);
        static const char *const what[3] = {"return_attention_scores", "return_attention_scores, padding, causal",
                                            "return_attention_scores, dropout 0.3, training"};
        fd_layer(what[c], m, xs, t, LB, c == 2);
        if (c == 1) { /* save / load */
            char path[128];
            snprintf(path, sizeof path, "%s/scores.lf", tmpdir);
            CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
            lf_model *l;
            lf_model_create(&l, 0);
            CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
            float a1[LB * 2], a2[LB * 2];
            lf_model_predict(m, (const float *const *)xs, LB, a1);
            lf_model_predict(l, (const float *const *)xs, LB, a2);
            CHECK(memcmp(a1, a2, sizeof a1) == 0, "the loaded model predicts differently");
            lf_st_file f;
            lf_err e;
            CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
            const char *arch = lf_st_metadata(&f, "architecture");
            CHECK(has(arch, "\"use_causal_mask\":true,\"return_attention_scores\":true"), "arch: %s", arch ? arch : "");
            lf_st_free(&f);
            lf_model_free(l);
            unlink(path);
        }
        free(xv);
        lf_model_free(p), lf_model_free(v), lf_model_free(m);
    }
    /* refusals, word for word */
    lf_model *m;
    lf_model_create(&m, 90);
    int x = lf_input_shape(m, 2, (size_t[]){LT, LD}, LF_DTYPE_FLOAT32, "x");
    int h = lf_multi_head_attention(m, x, x, -1, 2, 3, 0, 0.0f, 1, 0, "mha");
    lf_dense(m, h, 2, LF_ACT_LINEAR, 1, "reader");
    CHECK(lf_set_return_attention_scores(m, h, 1) == LF_ERR_STATE &&
              strcmp(lf_model_error(m), "lf_set_return_attention_scores: MultiHeadAttention 'mha' is already read "
                                        "by layer 'reader'; set it before adding the layers that read it") == 0,
          "a read node: %s", lf_model_error(m));
    CHECK(lf_set_return_attention_scores(m, x, 1) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_set_return_attention_scores: node 0 is not a MultiHeadAttention or "
                                        "GroupedQueryAttention layer") == 0,
          "not an attention layer: %s", lf_model_error(m));
    int h2 = lf_multi_head_attention(m, x, x, -1, 2, 3, 0, 0.0f, 1, 0, "mha2");
    CHECK(lf_set_return_attention_scores(m, h2, 1) == LF_OK, "set: %s", lf_model_error(m));
    CHECK(lf_dense(m, h2, 2, LF_ACT_LINEAR, 1, NULL) < 0 &&
              strcmp(lf_model_error(m), "Dense: input 'mha2' has 2 outputs (Keras returns a list); pick one with "
                                        "lf_output_view") == 0,
          "a direct reader: %s", lf_model_error(m));
    lf_model_free(m);
}

static void test_errors(void) {
    static const char *const msgs[] = {
        "MultiHeadAttention: the query 'v' has shape (None, 12); it needs rank 3 (batch, sequence, features)",
        "MultiHeadAttention: the key 'k' has 5 steps and the value 'x' 7; they must be equal",
        "MultiHeadAttention: num_heads must be in 1..4096 and key_dim and value_dim in 1..65536, got 0, 8 and 8",
        "MultiHeadAttention: dropout must be in [0, 1), got 1",
        "MultiHeadAttention: the value is not a node of this model (id 9)",
    };
    for (int c = 0; c < 5; c++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int x = lf_input_shape(m, 2, (size_t[]){7, 16}, LF_DTYPE_FLOAT32, "x"), v = lf_input(m, 12, "v");
        int k = lf_input_shape(m, 2, (size_t[]){5, 16}, LF_DTYPE_FLOAT32, "k");
        switch (c) {
        case 0: lf_multi_head_attention(m, v, x, -1, 2, 8, 0, 0, 1, 0, NULL); break;
        case 1: lf_multi_head_attention(m, x, x, k, 2, 8, 0, 0, 1, 0, NULL); break;
        case 2: lf_multi_head_attention(m, x, x, -1, 0, 8, 0, 0, 1, 0, NULL); break;
        case 3: lf_multi_head_attention(m, x, x, -1, 2, 8, 0, 1.0f, 1, 0, NULL); break;
        default: lf_multi_head_attention(m, x, 9, -1, 2, 8, 0, 0, 1, 0, NULL); break;
        }
        CHECK(strcmp(lf_model_error(m), msgs[c]) == 0, "case %d: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

/* lf_attention's score_mode (score_attention.c; Keras' Attention,
 * keras/src/layers/attention/attention.py, whose string check lives in the
 * Python class): the two enum values build, any other is LF_ERR_ARG
 * naming it, checked before the inputs, and sticky as every builder error */
static void test_score_mode(void) {
    for (int c = 0; c < 4; c++) {
        lf_model *m;
        lf_model_create(&m, 3);
        int q = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "q");
        int v = lf_input_shape(m, 2, (size_t[]){5, 3}, LF_DTYPE_FLOAT32, "v");
        lf_score_mode mode = c == 0 ? LF_SCORE_DOT : c == 1 ? LF_SCORE_CONCAT : c == 2 ? (lf_score_mode)2
                                                                                       : (lf_score_mode)-1;
        /* case 3: an input that is not a node too; the score_mode is named */
        int a = lf_attention(m, q, c == 3 ? 99 : v, -1, 1, mode, 0.0f, 0, 0, "att");
        if (c < 2) {
            CHECK(a >= 0 && lf_model_compile(m, a, LF_LOSS_MSE, NULL) == LF_OK, "score_mode %d: %s", c,
                  lf_model_error(m));
        } else {
            const char *want = c == 2 ? "Attention: unknown score_mode 2" : "Attention: unknown score_mode -1";
            CHECK(a == -1 && strcmp(lf_model_error(m), want) == 0 &&
                      lf_model_compile(m, q, LF_LOSS_MSE, NULL) == LF_ERR_ARG && strcmp(lf_model_error(m), want) == 0,
                  "score_mode %d: got %d '%s'", c, a, lf_model_error(m));
        }
        lf_model_free(m);
    }
}

/* trains, saves and loads: the same predictions bit for bit; the file's
 * architecture fields and tensor shapes */
static void test_round_trip(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/mha.lf", tmpdir);
    lf_model *m;
    lf_model_create(&m, 9);
    int x = lf_input_shape(m, 2, (size_t[]){6, 8}, LF_DTYPE_FLOAT32, "x");
    int a = lf_multi_head_attention(m, x, x, -1, 2, 4, 3, 0.1f, 1, 5, "att");
    int o = lf_dense(m, lf_flatten(m, a, NULL), 3, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    enum { N = 24, D = 48 };
    float *xin = malloc(N * D * sizeof *xin), y[N];
    fill_uniform(xin, N * D, -1, 1, 8);
    for (int i = 0; i < N; i++) y[i] = (float)(i % 3);
    const float *xs[1] = {xin};
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 2, fo.batch_size = 8;
    CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    lf_model *l = check_reload(m, xs, N, 3, path, "the loaded model");
    lf_model_free(l);
    lf_st_file f;
    lf_err e;
    CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
    const char *arch = lf_st_metadata(&f, "architecture");
    const char *want = "\"type\":\"MultiHeadAttention\",\"inbound\":[\"x\",\"x\"],\"num_heads\":2,\"key_dim\":4,"
                       "\"value_dim\":3,\"dropout\":0.1,\"use_bias\":true,\"output_shape\":5,\"l2\":0";
    CHECK(has(arch, want), "arch lacks %s:\n%s", want, arch ? arch : "(none)");
    const lf_st_tensor *t = lf_st_find(&f, "att.attention_output.kernel");
    CHECK(t && t->ndim == 3 && t->shape[0] == 2 && t->shape[1] == 3 && t->shape[2] == 5,
          "att.attention_output.kernel (2, 3, 5)");
    t = lf_st_find(&f, "att.value.bias");
    CHECK(t && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3, "att.value.bias (2, 3)");
    lf_st_free(&f);
    lf_model_free(m);
    free(xin);
    unlink(path);
}

#ifdef _OPENMP
/* the model a thread test trains: its output node, compiled */
typedef int (*build_fn)(lf_model *m, size_t T, size_t D);

/* Trains build's model on N rows of (T, D) values (seed `seed`, labels
 * r % 3) for `epochs` epochs of `batch` rows on 4, 3, 2 and 1 threads
 * (the largest team first, as test_engine.c) and checks the weights are
 * bit-identical. */
static void fits_same_on_threads(const char *what, build_fn build, size_t N, size_t T, size_t D, uint64_t seed,
                                 size_t epochs, size_t batch) {
    static const int threads[4] = {4, 3, 2, 1};
    int initial = omp_get_max_threads();
    omp_set_num_threads(initial > 4 ? initial : 4);
#pragma omp parallel
    {
        (void)0;
    }
    float *x = malloc(N * T * D * sizeof *x), *y = malloc(N * sizeof *y), *w[4] = {NULL};
    fill_uniform(x, N * T * D, -1, 1, seed);
    for (size_t r = 0; r < N; r++) y[r] = (float)(r % 3);
    for (int t = 0; t < 4; t++) {
        omp_set_num_threads(threads[t]);
        lf_model *m;
        lf_model_create(&m, 6);
        int o = build(m, T, D);
        CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "%s: compile: %s",
              what, lf_model_error(m));
        lf_fit_options fo = lf_fit_defaults();
        fo.epochs = epochs, fo.batch_size = batch;
        const float *xs[1] = {x};
        CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK, "%s: fit: %s", what, lf_model_error(m));
        size_t np = m->n_params;
        w[t] = malloc(np * sizeof(float));
        memcpy(w[t], m->params, np * sizeof(float));
        if (t > 0) CHECK(memcmp(w[0], w[t], np * sizeof(float)) == 0, "%s: 4 and %d threads differ", what, threads[t]);
        lf_model_free(m);
    }
    omp_set_num_threads(initial);
    for (int t = 0; t < 4; t++) free(w[t]);
    free(x);
    free(y);
}

/* attention with dropout, pooled, a softmax Dense */
static int build_attention(lf_model *m, size_t T, size_t D) {
    int in = lf_input_shape(m, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x");
    int a = lf_multi_head_attention(m, in, in, -1, 4, 8, 0, 0.2f, 1, 0, NULL);
    return lf_dense(m, lf_global_average_pooling1d(m, a, NULL), 3, LF_ACT_SOFTMAX, 1, NULL);
}

/* an encoder block (B8's layers: MultiHeadAttention, Add,
 * LayerNormalization, a relu Dense and a Dense on (T, D) rows) */
static int build_encoder(lf_model *m, size_t T, size_t D) {
    enum { FF = 128 };
    int in = lf_input_shape(m, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x");
    int a = lf_multi_head_attention(m, in, in, -1, 2, D / 2, 0, 0.0f, 1, 0, NULL);
    int h = lf_layer_normalization(m, lf_add(m, 2, (int[]){in, a}, NULL), 1e-3f, 1, 1, NULL);
    int f = lf_dense(m, lf_dense(m, h, FF, LF_ACT_RELU, 1, NULL), D, LF_ACT_LINEAR, 1, NULL);
    h = lf_layer_normalization(m, lf_add(m, 2, (int[]){h, f}, NULL), 1e-3f, 1, 1, NULL);
    return lf_dense(m, lf_global_average_pooling1d(m, h, NULL), 3, LF_ACT_SOFTMAX, 1, NULL);
}

/* causal attention with dropout returning its scores: both outputs reach
 * the loss (the scores' gradient joins the weights' per sample) */
static int build_causal_scores(lf_model *m, size_t T, size_t D) {
    int in = lf_input_shape(m, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x");
    int a = lf_multi_head_attention(m, in, in, -1, 4, 8, 0, 0.2f, 1, 0, NULL);
    if (lf_set_attention_mask(m, a, -1, 1) != LF_OK || lf_set_return_attention_scores(m, a, 1) != LF_OK) return -1;
    int o = lf_global_average_pooling1d(m, lf_output_view(m, a, 0, NULL), NULL);
    int s = lf_dense(m, lf_flatten(m, lf_output_view(m, a, 1, NULL), NULL), D, LF_ACT_LINEAR, 1, NULL);
    return lf_dense(m, lf_add(m, 2, (int[]){o, s}, NULL), 3, LF_ACT_SOFTMAX, 1, NULL);
}
#endif

/* fit (dropout on) gives bit-identical weights on 4, 3, 2 and 1 threads:
 * the (sample, head) pairs above the threshold, and every sgemm, compute
 * each value the same way on any thread; the same for an encoder block,
 * sizes over the sgemm's and the attention's thread thresholds, and for
 * causal attention returning its scores */
static void test_threads(void) {
#ifdef _OPENMP
    fits_same_on_threads("attention", build_attention, 16, 32, 32, 41, 2, 8);
    fits_same_on_threads("encoder", build_encoder, 32, 64, 64, 43, 1, 16);
    fits_same_on_threads("causal attention with its scores", build_causal_scores, 16, 32, 32, 47, 2, 8);
#else
    CHECK_SKIP("built without OpenMP: thread-count determinism not tested");
#endif
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_attention_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_kernel_forward();
    test_kernel_backward();
    test_layer_weights();
    test_layer_grads();
    test_layer_mask();
    test_layer_nan();
    test_layer_causal();
    test_layer_scores();
    test_errors();
    test_score_mode();
    test_round_trip();
    test_threads();
    rmdir(tmpdir);
    return check_report("test_attention");
}
