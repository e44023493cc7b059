/*
 * layernorm.c — LayerNormalization over the last axis (Keras' axis=-1) of a
 * rank-1..3 input: each position's D features (a vector's, a step's, a
 * pixel's) are normalised by their own mean and biased variance,
 * y = gamma (x - mean) / sqrt(var + epsilon) + beta, the same in training
 * and inference.  Weights, in Keras' order: gamma (D, ones) when scale,
 * beta (D, zeros) when center.  Defaults (Keras'): epsilon 1e-3, center and
 * scale on.  The padding mask passes through.
 *
 * aux: xhat (dim) then 1 / sqrt(var + epsilon) per position (dim / D).
 *
 * Speed: the per-position sums run in vectorised double lanes (a fixed
 * tree, the same bits on every clone and thread count).
 *
 * RMSNormalization(axis=-1, epsilon=1e-6) (Keras 3.9+,
 * keras/src/layers/normalization/rms_normalization.py, ops.rms_normalization
 * in keras/src/ops/nn.py): y = x rsqrt(mean(x^2) + epsilon) scale over the
 * last axis, no centring, the same lanes; one weight "scale" (D, ones).
 * Keras also takes other axes (and lists of them); here the last only.
 * aux as LayerNormalization's: xhat = x r (dim), then r per position.
 */
#include "layers/layer.h"
#include "kernels.h"

#include <float.h>
#include <math.h>
#include <string.h>

static size_t features(const lf_node *nd) { return nd->shape[nd->rank - 1]; }

/* the builder put epsilon, center (use_bias) and scale (mode) in nd */
static int ln_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "LayerNormalization", in, n_in, 0);
    if (!x) return 0;
    if (!(nd->epsilon > 0.0f) || !isfinite(nd->epsilon))
        return lf_build_fail(m, LF_ERR_ARG, "LayerNormalization: epsilon must be finite and > 0, got %g",
                             (double)nd->epsilon);
    if (!lf_shape_set(m, "LayerNormalization", nd, x->rank, x->shape)) return 0;
    nd->aux_per_row = nd->dim + nd->dim / features(nd); /* xhat, 1/std per position */
    return 1;
}

static size_t ln_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    (void)m;
    size_t D = features(nd), n = 0;
    if (nd->mode) w[n++] = (lf_weight){"gamma", 0, 1, {D}, 0, 0, 0, 0};
    if (nd->use_bias) w[n++] = (lf_weight){"beta", nd->mode ? D : 0, 1, {D}, 0, 0, 0, 0};
    return n;
}

static void ln_init(lf_model *m, lf_node *nd) {
    size_t D = features(nd);
    float *w = m->params + nd->param_off;
    if (nd->mode)
        for (size_t j = 0; j < D; j++) w[j] = 1.0f;
    if (nd->use_bias) memset(w + (nd->mode ? D : 0), 0, D * sizeof *w);
}

/* Sums over a position's D features run in LN_L independent double lanes
 * (lane l takes the features j = l mod LN_L, in order), added in a fixed
 * tree: the compiler vectorises them (one running sum would be a serial
 * chain it may not reorder), and every clone gives the same bits. */
#define LN_L 8

static inline double ln_lanes_total(double *l) {
    for (int w = LN_L / 2; w > 0; w /= 2)
        for (int i = 0; i < w; i++) l[i] += l[i + w];
    return l[0];
}

/* P positions of D features: xhat, inv (1/std per position) and y */
LF_CLONES static void ln_forward_rows(float *restrict y, float *restrict xhat, float *restrict inv,
                                      const float *restrict x0, const float *restrict gamma,
                                      const float *restrict beta, size_t P, size_t D, float epsilon) {
    size_t Df = D - D % LN_L;
    for (size_t p = 0; p < P; p++) {
        const float *restrict x = x0 + p * D;
        double s[LN_L] = {0}, ss[LN_L] = {0};
        for (size_t j = 0; j < Df; j += LN_L)
            for (int l = 0; l < LN_L; l++) s[l] += x[j + l];
        for (size_t j = Df; j < D; j++) s[j - Df] += x[j];
        float mean = (float)(ln_lanes_total(s) / (double)D);
        for (size_t j = 0; j < Df; j += LN_L)
            for (int l = 0; l < LN_L; l++) {
                double d = (double)x[j + l] - mean;
                ss[l] += d * d;
            }
        for (size_t j = Df; j < D; j++) {
            double d = (double)x[j] - mean;
            ss[j - Df] += d * d;
        }
        /* 1/std in float; a variance beyond float's range (a spread of the
         * features above about 1.8e19) in double, where float's would be
         * inf and 1/std 0, every output beta; there xhat too, as x - mean
         * may itself pass float's range (features of both signs near
         * FLT_MAX) */
        double var = ln_lanes_total(ss) / (double)D;
        float *restrict h = xhat + p * D, *restrict yp = y + p * D;
        if (var < FLT_MAX) {
            float iv = 1.0f / sqrtf((float)var + epsilon);
            inv[p] = iv;
            for (size_t j = 0; j < D; j++) h[j] = (x[j] - mean) * iv;
        } else {
            double ivd = 1.0 / sqrt(var + epsilon);
            inv[p] = (float)ivd;
            for (size_t j = 0; j < D; j++) h[j] = (float)(((double)x[j] - mean) * ivd);
        }
        if (gamma && beta)
            for (size_t j = 0; j < D; j++) yp[j] = gamma[j] * h[j] + beta[j];
        else if (gamma)
            for (size_t j = 0; j < D; j++) yp[j] = gamma[j] * h[j] + 0.0f;
        else if (beta)
            for (size_t j = 0; j < D; j++) yp[j] = h[j] + beta[j];
        else
            for (size_t j = 0; j < D; j++) yp[j] = h[j] + 0.0f;
    }
}

static void ln_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = features(nd), P = c->B * (nd->dim / D);
    const float *gamma = nd->mode ? c->w : NULL, *beta = nd->use_bias ? c->w + (nd->mode ? D : 0) : NULL;
    ln_forward_rows(c->y, c->aux, c->aux + c->B * nd->dim, c->xs[0], gamma, beta, P, D, nd->epsilon);
}

/* dx += inv (g - mean(g) - xhat mean(g xhat)), g = dy gamma, over P
 * positions (dx NULL: none); dgamma += dy xhat, dbeta += dy (each NULL:
 * none), summed over the positions in order */
LF_CLONES static void ln_backward_rows(float *restrict dx, float *restrict dgamma, float *restrict dbeta,
                                       const float *restrict dy0, const float *restrict xhat,
                                       const float *restrict inv, const float *restrict gamma, size_t P,
                                       size_t D) {
    size_t Df = D - D % LN_L;
    for (size_t p = 0; p < P; p++) {
        const float *restrict dy = dy0 + p * D, *restrict h = xhat + p * D;
        if (dgamma)
            for (size_t j = 0; j < D; j++) dgamma[j] += dy[j] * h[j];
        if (dbeta)
            for (size_t j = 0; j < D; j++) dbeta[j] += dy[j];
        if (!dx) continue;
        double sg[LN_L] = {0}, sgh[LN_L] = {0};
        for (size_t j = 0; j < Df; j += LN_L)
            for (int l = 0; l < LN_L; l++) {
                float g = gamma ? dy[j + l] * gamma[j + l] : dy[j + l];
                sg[l] += g;
                sgh[l] += (double)g * h[j + l];
            }
        for (size_t j = Df; j < D; j++) {
            float g = gamma ? dy[j] * gamma[j] : dy[j];
            sg[j - Df] += g;
            sgh[j - Df] += (double)g * h[j];
        }
        float mg = (float)(ln_lanes_total(sg) / (double)D), mgh = (float)(ln_lanes_total(sgh) / (double)D);
        float *restrict d = dx + p * D;
        float iv = inv[p];
        for (size_t j = 0; j < D; j++) {
            float g = gamma ? dy[j] * gamma[j] : dy[j];
            d[j] += iv * (g - mg - h[j] * mgh);
        }
    }
}

static void ln_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = features(nd), P = c->B * (nd->dim / D);
    const float *gamma = nd->mode ? c->w : NULL;
    float *dgamma = nd->mode ? c->dw : NULL, *dbeta = nd->use_bias ? c->dw + (nd->mode ? D : 0) : NULL;
    ln_backward_rows(c->dxs[0], dgamma, dbeta, c->dy, c->aux, c->aux + c->B * nd->dim, gamma, P, D);
}

static void ln_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_puts(b, ",\"axis\":-1,\"epsilon\":");
    lf_buf_json_float(b, nd->epsilon);
    lf_buf_printf(b, ",\"center\":%s,\"scale\":%s", nd->use_bias ? "true" : "false", nd->mode ? "true" : "false");
}

static lf_status ln_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                         lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "LayerNormalization", where, e);
    double axis;
    if (st == LF_OK && (!lf_json_num(lf_json_get(L, "axis"), &axis) || axis != -1))
        st = lf_fail(e, LF_ERR_FORMAT, "%s: 'axis' must be -1", where);
    if (st == LF_OK) st = lf_arch_float_in(L, "epsilon", 0, INFINITY, LF_ARCH_LO_OPEN, &nd->epsilon, where, e);
    if (st == LF_OK) st = lf_arch_bool(L, "center", &nd->use_bias, where, e);
    if (st == LF_OK) st = lf_arch_bool(L, "scale", &nd->mode, where, e);
    return st;
}

static const char *const ln_keys[] = {"name", "type", "inbound", "axis", "epsilon", "center", "scale", NULL};

const lf_layer_type lf_type_layernorm = {
    .type = "LayerNormalization",
    .prefix = "layer_normalization",
    .keys = ln_keys,
    .masking = LF_MASKING_KEEP,
    .infer = ln_infer,
    .weights = ln_weights,
    .init = ln_init,
    .forward = ln_forward,
    .backward = ln_backward,
    .write_json = ln_json,
    .read_json = ln_read,
};

int lf_layer_normalization(lf_model *m, int x, float epsilon, int center, int scale, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.epsilon = epsilon;
    nd.use_bias = center != 0;
    nd.mode = scale != 0;
    return lf_node_add(m, &lf_type_layernorm, LF_K_LAYERNORM, nd, &x, 1, name);
}

/* ------------------------------------------------------- RMSNormalization */

static int rms_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "RMSNormalization", in, n_in, 0);
    if (!x) return 0;
    if (!(nd->epsilon >= 0.0f) || !isfinite(nd->epsilon))
        return lf_build_fail(m, LF_ERR_ARG, "RMSNormalization: epsilon must be finite and >= 0, got %g",
                             (double)nd->epsilon);
    if (!lf_shape_set(m, "RMSNormalization", nd, x->rank, x->shape)) return 0;
    nd->aux_per_row = nd->dim + nd->dim / features(nd); /* xhat, r per position */
    return 1;
}

static size_t rms_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    (void)m;
    w[0] = (lf_weight){"scale", 0, 1, {features(nd)}, 0, 0, 0, 0};
    return 1;
}

static void rms_init(lf_model *m, lf_node *nd) {
    float *w = m->params + nd->param_off;
    for (size_t j = 0; j < features(nd); j++) w[j] = 1.0f;
}

/* P positions of D features: r = 1 / sqrt(mean(x^2) + epsilon) (inv, one a
 * position; the mean of squares in double lanes), xhat = x r, y = scale xhat
 * (x0, y, xhat: (P, D)  scale: (D)  inv: (P)) */
LF_CLONES static void rms_forward_rows(float *restrict y, float *restrict xhat, float *restrict inv,
                                       const float *restrict x0, const float *restrict scale, size_t P, size_t D,
                                       float epsilon) {
    size_t Df = D - D % LN_L;
    for (size_t p = 0; p < P; p++) {
        const float *restrict x = x0 + p * D;
        double ss[LN_L] = {0};
        for (size_t j = 0; j < Df; j += LN_L)
            for (int l = 0; l < LN_L; l++) ss[l] += (double)x[j + l] * x[j + l];
        for (size_t j = Df; j < D; j++) ss[j - Df] += (double)x[j] * x[j];
        double ms = ln_lanes_total(ss) / (double)D;
        float *restrict h = xhat + p * D, *restrict yp = y + p * D;
        /* a mean square beyond float's range in double (as LayerNormalization) */
        if (ms < FLT_MAX) {
            float iv = 1.0f / sqrtf((float)ms + epsilon);
            inv[p] = iv;
            for (size_t j = 0; j < D; j++) h[j] = x[j] * iv;
        } else {
            double ivd = 1.0 / sqrt(ms + epsilon);
            inv[p] = (float)ivd;
            for (size_t j = 0; j < D; j++) h[j] = (float)((double)x[j] * ivd);
        }
        for (size_t j = 0; j < D; j++) yp[j] = h[j] * scale[j];
    }
}

/* dx += r (g - xhat mean(g xhat)), g = dy scale (dx NULL: none); dscale +=
 * dy xhat summed over the positions in order (dy0, xhat, dx: (P, D)
 * scale, dscale: (D)  inv: (P)) */
LF_CLONES static void rms_backward_rows(float *restrict dx, float *restrict dscale, const float *restrict dy0,
                                        const float *restrict xhat, const float *restrict inv,
                                        const float *restrict scale, size_t P, size_t D) {
    size_t Df = D - D % LN_L;
    for (size_t p = 0; p < P; p++) {
        const float *restrict dy = dy0 + p * D, *restrict h = xhat + p * D;
        if (dscale)
            for (size_t j = 0; j < D; j++) dscale[j] += dy[j] * h[j];
        if (!dx) continue;
        double sgh[LN_L] = {0};
        for (size_t j = 0; j < Df; j += LN_L)
            for (int l = 0; l < LN_L; l++) sgh[l] += (double)(dy[j + l] * scale[j + l]) * h[j + l];
        for (size_t j = Df; j < D; j++) sgh[j - Df] += (double)(dy[j] * scale[j]) * h[j];
        float mgh = (float)(ln_lanes_total(sgh) / (double)D);
        float *restrict d = dx + p * D;
        float iv = inv[p];
        for (size_t j = 0; j < D; j++) d[j] += iv * (dy[j] * scale[j] - h[j] * mgh);
    }
}

static void rms_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = features(nd), P = c->B * (nd->dim / D);
    rms_forward_rows(c->y, c->aux, c->aux + c->B * nd->dim, c->xs[0], c->w, P, D, nd->epsilon);
}

static void rms_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = features(nd), P = c->B * (nd->dim / D);
    rms_backward_rows(c->dxs[0], c->dw, c->dy, c->aux, c->aux + c->B * nd->dim, c->w, P, D);
}

/* "epsilon" only when not Keras' 1e-6 (the axis is always the last) */
static void rms_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    if (nd->epsilon == 1e-6f) return;
    lf_buf_puts(b, ",\"epsilon\":");
    lf_buf_json_float(b, nd->epsilon);
}

static lf_status rms_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "RMSNormalization", where, e);
    nd->epsilon = 1e-6f;
    if (st == LF_OK && lf_json_get(L, "epsilon"))
        st = lf_arch_float_in(L, "epsilon", 0, INFINITY, 0, &nd->epsilon, where, e);
    return st;
}

static const char *const rms_keys[] = {"name", "type", "inbound", "epsilon", NULL};

const lf_layer_type lf_type_rms_norm = {
    .type = "RMSNormalization",
    .prefix = "rms_normalization",
    .keys = rms_keys,
    .masking = LF_MASKING_KEEP,
    .infer = rms_infer,
    .weights = rms_weights,
    .init = rms_init,
    .forward = rms_forward,
    .backward = rms_backward,
    .write_json = rms_json,
    .read_json = rms_read,
};

int lf_rms_normalization(lf_model *m, int x, float epsilon, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.epsilon = epsilon;
    return lf_node_add(m, &lf_type_rms_norm, LF_K_RMS_NORM, nd, &x, 1, name);
}
