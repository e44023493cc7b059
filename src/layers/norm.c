/*
 * norm.c — BatchNormalization over the last axis (Keras' axis=-1): each of
 * the C channels is normalised over the batch and every other axis (N = B x
 * dim / C values per channel).
 *
 * Weights, in Keras' order: gamma (C, ones) and beta (C, zeros), trained;
 * moving_mean (C, zeros) and moving_variance (C, ones), not trained by the
 * optimizer (their gradient stays 0; the summary counts them as
 * non-trainable) but saved in the model file.
 *
 * Training (a training forward pass): the batch's mean and biased variance
 * normalise, y = gamma (x - mean) / sqrt(var + epsilon) + beta, and the
 * forward pass itself updates the moving statistics as Keras 3 does:
 * moving = moving * momentum + batch * (1 - momentum), with the batch's
 * biased variance (Keras' ops.moments; PyTorch would use the unbiased one).
 * So a training forward pass writes to the model's parameters: the one
 * place a kind's forward does.  Inference uses the moving statistics.
 * Defaults (Keras'): momentum 0.99, epsilon 1e-3.
 *
 * aux: xhat (B x dim) then 1 / sqrt(var + epsilon) per channel.
 */
#include "layers/layer.h"

#include <math.h>
#include <string.h>

static size_t channels(const lf_node *nd) { return nd->shape[nd->rank - 1]; }

static int bn_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "BatchNormalization", in, n_in, 0);
    if (!x) return 0;
    if (!(nd->momentum >= 0.0f && nd->momentum <= 1.0f))
        return lf_build_fail(m, LF_ERR_ARG, "BatchNormalization: momentum must be in [0, 1], got %g",
                             (double)nd->momentum);
    if (!(nd->epsilon > 0.0f) || !isfinite(nd->epsilon))
        return lf_build_fail(m, LF_ERR_ARG, "BatchNormalization: epsilon must be finite and > 0, got %g",
                             (double)nd->epsilon);
    if (!lf_shape_set(m, "BatchNormalization", nd, x->rank, x->shape)) return 0;
    /* xhat, then per channel 1/std (room for it in every row: at least one row) */
    nd->aux_per_row = nd->dim + channels(nd);
    return 1;
}

static size_t bn_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    (void)m;
    size_t C = channels(nd);
    w[0] = (lf_weight){"gamma", 0, 1, {C}, 0, 0};
    w[1] = (lf_weight){"beta", C, 1, {C}, 0, 0};
    w[2] = (lf_weight){"moving_mean", 2 * C, 1, {C}, 0, 1};
    w[3] = (lf_weight){"moving_variance", 3 * C, 1, {C}, 0, 1};
    return 4;
}

static void bn_init(lf_model *m, lf_node *nd) {
    size_t C = channels(nd);
    float *w = m->params + nd->param_off;
    for (size_t c = 0; c < C; c++) w[c] = 1.0f, w[C + c] = 0.0f, w[2 * C + c] = 0.0f, w[3 * C + c] = 1.0f;
}

/* Channels are processed in blocks of CB: each pass over the rows reads them
 * in memory order and keeps the block's sums (in double) on the stack; every
 * channel's sums still add its values in row order. */
#define CB 64

static void bn_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t C = channels(nd), N = c->B * nd->dim / C;
    const float *x = c->xs[0], *gamma = c->w, *beta = c->w + C;
    float *xhat = c->aux, *inv = c->aux + c->B * nd->dim;
    if (!c->training) {
        const float *mm = c->w + 2 * C, *mv = c->w + 3 * C;
        for (size_t ch = 0; ch < C; ch++) inv[ch] = 1.0f / sqrtf(mv[ch] + nd->epsilon);
        for (size_t r = 0; r < N; r++)
            for (size_t ch = 0; ch < C; ch++) {
                float h = (x[r * C + ch] - mm[ch]) * inv[ch];
                xhat[r * C + ch] = h;
                c->y[r * C + ch] = gamma[ch] * h + beta[ch];
            }
        return;
    }
    /* the moving statistics: the model's parameters, updated here */
    float *mm = (float *)c->w + 2 * C, *mv = (float *)c->w + 3 * C;
    for (size_t c0 = 0; c0 < C; c0 += CB) {
        size_t nc = C - c0 < CB ? C - c0 : CB;
        double s[CB] = {0}, ss[CB] = {0};
        float mean[CB];
        for (size_t r = 0; r < N; r++)
            for (size_t k = 0; k < nc; k++) s[k] += x[r * C + c0 + k];
        for (size_t k = 0; k < nc; k++) mean[k] = (float)(s[k] / (double)N);
        for (size_t r = 0; r < N; r++)
            for (size_t k = 0; k < nc; k++) {
                double d = (double)x[r * C + c0 + k] - mean[k];
                ss[k] += d * d;
            }
        for (size_t k = 0; k < nc; k++) {
            size_t ch = c0 + k;
            float var = (float)(ss[k] / (double)N);
            inv[ch] = 1.0f / sqrtf(var + nd->epsilon);
            mm[ch] = mm[ch] * nd->momentum + mean[k] * (1.0f - nd->momentum);
            mv[ch] = mv[ch] * nd->momentum + var * (1.0f - nd->momentum);
        }
        for (size_t r = 0; r < N; r++)
            for (size_t k = 0; k < nc; k++) {
                size_t ch = c0 + k;
                float h = (x[r * C + ch] - mean[k]) * inv[ch];
                xhat[r * C + ch] = h;
                c->y[r * C + ch] = gamma[ch] * h + beta[ch];
            }
    }
}

static void bn_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t C = channels(nd), N = c->B * nd->dim / C;
    const float *gamma = c->w, *xhat = c->aux, *inv = c->aux + c->B * nd->dim, *dy = c->dy;
    float *dgamma = c->dw, *dbeta = c->dw + C, *dx = c->dxs[0];
    for (size_t c0 = 0; c0 < C; c0 += CB) {
        size_t nc = C - c0 < CB ? C - c0 : CB;
        double sdy[CB] = {0}, sdyh[CB] = {0};
        for (size_t r = 0; r < N; r++)
            for (size_t k = 0; k < nc; k++) {
                size_t i = r * C + c0 + k;
                sdy[k] += dy[i];
                sdyh[k] += (double)dy[i] * xhat[i];
            }
        float kk[CB], mdy[CB], mdyh[CB];
        for (size_t k = 0; k < nc; k++) {
            size_t ch = c0 + k;
            dgamma[ch] += (float)sdyh[k];
            dbeta[ch] += (float)sdy[k];
            kk[k] = gamma[ch] * inv[ch];
            /* in inference the statistics are constants */
            mdy[k] = c->training ? (float)(sdy[k] / (double)N) : 0.0f;
            mdyh[k] = c->training ? (float)(sdyh[k] / (double)N) : 0.0f;
        }
        if (!dx) continue;
        for (size_t r = 0; r < N; r++)
            for (size_t k = 0; k < nc; k++) {
                size_t i = r * C + c0 + k;
                dx[i] += kk[k] * (dy[i] - mdy[k] - xhat[i] * mdyh[k]);
            }
    }
}

static void bn_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_puts(b, ",\"axis\":-1,\"momentum\":");
    lf_buf_json_float(b, nd->momentum);
    lf_buf_puts(b, ",\"epsilon\":");
    lf_buf_json_float(b, nd->epsilon);
}

static lf_status bn_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                         lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "BatchNormalization", where, e);
    double axis;
    if (st == LF_OK && (!lf_json_num(lf_json_get(L, "axis"), &axis) || axis != -1))
        st = lf_fail(e, LF_ERR_FORMAT, "%s: 'axis' must be -1", where);
    if (st == LF_OK) st = lf_arch_float(L, "momentum", 0, 1, &nd->momentum, where, e);
    if (st == LF_OK) st = lf_arch_float(L, "epsilon", 1e-30f, 1e6f, &nd->epsilon, where, e);
    return st;
}

static const char *const bn_keys[] = {"name", "type", "inbound", "axis", "momentum", "epsilon", NULL};

const lf_layer_type lf_type_batchnorm = {
    .type = "BatchNormalization",
    .prefix = "batch_normalization",
    .keys = bn_keys,
    .frozen_infers = 1,
    .infer = bn_infer,
    .weights = bn_weights,
    .init = bn_init,
    .forward = bn_forward,
    .backward = bn_backward,
    .write_json = bn_json,
    .read_json = bn_read,
};

int lf_batch_normalization(lf_model *m, int x, float momentum, float epsilon, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.momentum = momentum;
    nd.epsilon = epsilon;
    return lf_node_add(m, &lf_type_batchnorm, LF_K_BATCHNORM, nd, &x, 1, name);
}
