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
 * aux: per channel the mean that normalised (the batch's, or the moving one)
 * and 1 / sqrt(var + epsilon); backward recomputes xhat = (x - mean) / std
 * from them and the input, bit for bit as forward had it.
 */
#include "kernels.h"
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
    /* per channel the mean and 1/std (room for them in every row: at least one row) */
    nd->aux_per_row = 2 * channels(nd);
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

/* Channels are processed in blocks of CB: each pass over the rows reads the
 * block's part of them in memory order and keeps its sums (in double) in
 * registers; every channel's sums add its values in row order.  Large
 * batches share the blocks out to the threads: a channel's numbers are the
 * same on any thread, and so whatever the thread count. */
#define CB 16
#define BN_PARALLEL 65536 /* values of a batch below which one thread works */

/* What one block of channels [c0, c0 + nc) of a pass works on. */
typedef struct bn_args {
    const float *x, *dy, *gamma, *beta;
    float *y, *dx, *mean, *inv, *mm, *mv;
    size_t N, C;
    float momentum, epsilon;
    int training;
} bn_args;

/* Forward, training, of one block: the batch's statistics, the moving ones
 * updated, y = gamma xhat + beta.  nc is CB in the hot call (a constant
 * once inlined: the sums stay in registers). */
static inline __attribute__((always_inline)) void bn_fwd_block(const bn_args *a, size_t c0, size_t nc) {
    const float *restrict x = a->x + c0;
    float *restrict y = a->y + c0;
    size_t N = a->N, C = a->C;
    double s[CB] = {0}, ss[CB] = {0};
    float mean[CB], inv[CB], g[CB], b[CB];
    for (size_t r = 0; r < N; r++)
        for (size_t k = 0; k < nc; k++) s[k] += x[r * C + k];
    for (size_t k = 0; k < nc; k++) mean[k] = (float)(s[k] / (double)N);
    for (size_t r = 0; r < N; r++)
        for (size_t k = 0; k < nc; k++) {
            double d = (double)x[r * C + k] - mean[k];
            ss[k] += d * d;
        }
    for (size_t k = 0; k < nc; k++) {
        size_t ch = c0 + k;
        float var = (float)(ss[k] / (double)N);
        inv[k] = 1.0f / sqrtf(var + a->epsilon);
        a->mean[ch] = mean[k], a->inv[ch] = inv[k];
        a->mm[ch] = a->mm[ch] * a->momentum + mean[k] * (1.0f - a->momentum);
        a->mv[ch] = a->mv[ch] * a->momentum + var * (1.0f - a->momentum);
        g[k] = a->gamma[ch], b[k] = a->beta[ch];
    }
    for (size_t r = 0; r < N; r++)
        for (size_t k = 0; k < nc; k++) {
            float h = (x[r * C + k] - mean[k]) * inv[k];
            y[r * C + k] = g[k] * h + b[k];
        }
}

LF_CLONES static void bn_fwd_blocks(const bn_args *a, size_t c0) {
    size_t nc = a->C - c0 < CB ? a->C - c0 : CB;
    if (nc == CB) bn_fwd_block(a, c0, CB);
    else bn_fwd_block(a, c0, nc);
}

/* Backward of one block: gamma's and beta's gradients (the caller adds
 * them), and dx += gamma / std (dy - mean(dy) - xhat mean(dy xhat)) in
 * training (the statistics depend on x), gamma / std dy in inference. */
static inline __attribute__((always_inline)) void bn_bwd_block(const bn_args *a, size_t c0, size_t nc,
                                                                double *restrict sdy, double *restrict sdyh) {
    const float *restrict x = a->x + c0, *restrict dy = a->dy + c0;
    size_t N = a->N, C = a->C;
    float mean[CB], inv[CB], kk[CB], mdy[CB], mdyh[CB];
    double s1[CB] = {0}, s2[CB] = {0};
    for (size_t k = 0; k < nc; k++) mean[k] = a->mean[c0 + k], inv[k] = a->inv[c0 + k];
    for (size_t r = 0; r < N; r++)
        for (size_t k = 0; k < nc; k++) {
            size_t i = r * C + k;
            float h = (x[i] - mean[k]) * inv[k];
            s1[k] += dy[i];
            s2[k] += (double)dy[i] * h;
        }
    for (size_t k = 0; k < nc; k++) {
        sdy[k] = s1[k], sdyh[k] = s2[k];
        kk[k] = a->gamma[c0 + k] * inv[k];
        /* in inference the statistics are constants */
        mdy[k] = a->training ? (float)(s1[k] / (double)N) : 0.0f;
        mdyh[k] = a->training ? (float)(s2[k] / (double)N) : 0.0f;
    }
    if (!a->dx) return;
    float *restrict dx = a->dx + c0;
    for (size_t r = 0; r < N; r++)
        for (size_t k = 0; k < nc; k++) {
            size_t i = r * C + k;
            float h = (x[i] - mean[k]) * inv[k];
            dx[i] += kk[k] * (dy[i] - mdy[k] - h * mdyh[k]);
        }
}

LF_CLONES static void bn_bwd_blocks(const bn_args *a, size_t c0, double *sdy, double *sdyh) {
    size_t nc = a->C - c0 < CB ? a->C - c0 : CB;
    if (nc == CB) bn_bwd_block(a, c0, CB, sdy, sdyh);
    else bn_bwd_block(a, c0, nc, sdy, sdyh);
}

static bn_args bn_args_of(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t C = channels(nd);
    float *w = (float *)c->w; /* training forward: the moving statistics are updated */
    bn_args a = {.x = c->xs[0], .dy = c->dy, .gamma = w, .beta = w + C, .y = c->y,
                 .dx = c->dxs ? c->dxs[0] : NULL, .mean = c->aux, .inv = c->aux + C,
                 .mm = w + 2 * C, .mv = w + 3 * C, .N = c->B * nd->dim / C, .C = C,
                 .momentum = nd->momentum, .epsilon = nd->epsilon, .training = c->training};
    return a;
}

static void bn_forward(const lf_layer_ctx *c) {
    bn_args a = bn_args_of(c);
    size_t C = a.C, N = a.N;
    if (!c->training) {
        const float *restrict x = a.x, *restrict gamma = a.gamma, *restrict beta = a.beta;
        float *restrict y = a.y, *restrict inv = a.inv;
        for (size_t ch = 0; ch < C; ch++) a.mean[ch] = a.mm[ch], inv[ch] = 1.0f / sqrtf(a.mv[ch] + a.epsilon);
        const float *restrict mm = a.mean;
#pragma omp parallel for if (N * C >= BN_PARALLEL) schedule(static)
        for (size_t r = 0; r < N; r++)
            for (size_t ch = 0; ch < C; ch++) {
                float h = (x[r * C + ch] - mm[ch]) * inv[ch];
                y[r * C + ch] = gamma[ch] * h + beta[ch];
            }
        return;
    }
#pragma omp parallel for if (N * C >= BN_PARALLEL) schedule(static)
    for (size_t c0 = 0; c0 < C; c0 += CB) bn_fwd_blocks(&a, c0);
}

static void bn_backward(const lf_layer_ctx *c) {
    bn_args a = bn_args_of(c);
    size_t C = a.C, N = a.N;
    float *dgamma = c->dw, *dbeta = c->dw + C;
#pragma omp parallel for if (N * C >= BN_PARALLEL) schedule(static)
    for (size_t c0 = 0; c0 < C; c0 += CB) {
        double sdy[CB], sdyh[CB];
        bn_bwd_blocks(&a, c0, sdy, sdyh);
        for (size_t k = 0; k < CB && c0 + k < C; k++) {
            dgamma[c0 + k] += (float)sdyh[k];
            dbeta[c0 + k] += (float)sdy[k];
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
