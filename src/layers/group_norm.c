/*
 * group_norm.c — Keras' GroupNormalization and UnitNormalization over the
 * last axis (axis=-1) of a per-sample input of any rank (vectors (C),
 * sequences (T, C), images (H, W, C), volumes (D, H, W, C)).
 *
 * GroupNormalization(groups, epsilon, center, scale): the C channels are cut
 * into `groups` runs of Cg = C / groups; the statistics of group g of one
 * sample run over every position and the group's channels (S positions x
 * Cg values: keras/src/layers/normalization/group_normalization.py reduces
 * over all axes but the batch and the group axis), with the biased variance:
 * y = gamma (x - mean) / sqrt(var + epsilon) + beta.  groups 1 is a
 * LayerNormalization over all axes, groups C an InstanceNormalization.
 * Weights, in Keras' order: gamma (C, ones) when scale, beta (C, zeros) when
 * center.  Defaults (Keras'): groups 32, epsilon 1e-3, center and scale on;
 * the builder's groups -1 is C (Keras' instance normalization), kept as C.
 *
 * UnitNormalization: each position's C features divided by their L2 norm as
 * Keras' ops.normalize(order=2, epsilon=1e-12) (keras/src/ops/nn.py):
 * y = x rsqrt(max(sum x^2, epsilon^2)).  No weights.
 *
 * Both keep the padding mask (Keras' supports_masking); GroupNormalization's
 * statistics include the padded steps, as Keras' call, which takes no mask.
 * Sums run in double, in order.
 *
 * aux: GroupNormalization xhat (dim) then 1 / sqrt(var + epsilon) per group;
 * UnitNormalization the inverse norm per position (dim / C).
 */
#include "layers/layer.h"

#include <limits.h>
#include <math.h>
#include <string.h>

static size_t channels(const lf_node *nd) { return nd->shape[nd->rank - 1]; }

/* ---- GroupNormalization */

/* the builder put groups (-1: C), epsilon, center (use_bias), scale (mode) in nd */
static int gn_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "GroupNormalization", in, n_in, 0);
    if (!x) return 0;
    size_t C = x->shape[x->rank - 1];
    if (nd->groups == -1) nd->groups = C > INT_MAX ? INT_MAX : (int)C;
    if (nd->groups <= 0)
        return lf_build_fail(m, LF_ERR_ARG,
                             "GroupNormalization: Received an invalid value for argument `groups`, expected a "
                             "positive integer (or `-1` for instance normalization). Received: groups=%d",
                             nd->groups);
    if (!(nd->epsilon > 0.0f) || !isfinite(nd->epsilon))
        return lf_build_fail(m, LF_ERR_ARG, "GroupNormalization: epsilon must be finite and > 0, got %g",
                             (double)nd->epsilon);
    /* Keras' two messages (build), the second as Keras words it */
    if ((size_t)nd->groups > C)
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "GroupNormalization: Number of groups (%d) cannot be more than the number of "
                             "channels (%zu).",
                             nd->groups, C);
    if (C % (size_t)nd->groups != 0)
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "GroupNormalization: Number of groups (%d) must be a multiple of the number of "
                             "channels (%zu).",
                             nd->groups, C);
    if (!lf_shape_set(m, "GroupNormalization", nd, x->rank, x->shape)) return 0;
    nd->aux_per_row = nd->dim + (size_t)nd->groups; /* xhat, 1/std per group */
    return 1;
}

static size_t gn_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    (void)m;
    size_t C = channels(nd), n = 0;
    if (nd->mode) w[n++] = (lf_weight){"gamma", 0, 1, {C}, 0, 0, 0, 0};
    if (nd->use_bias) w[n++] = (lf_weight){"beta", nd->mode ? C : 0, 1, {C}, 0, 0, 0, 0};
    return n;
}

static void gn_init(lf_model *m, lf_node *nd) {
    size_t C = channels(nd);
    float *w = m->params + nd->param_off;
    if (nd->mode)
        for (size_t j = 0; j < C; j++) w[j] = 1.0f;
    if (nd->use_bias) memset(w + (nd->mode ? C : 0), 0, C * sizeof *w);
}

/* One sample: x (S, C), groups G of Cg = C / G channels.  Writes xhat (S, C),
 * inv (G) and y (S, C); gamma, beta (C) or NULL. */
static void group_norm_forward(float *restrict y, float *restrict xhat, float *restrict inv,
                               const float *restrict x, const float *restrict gamma, const float *restrict beta,
                               size_t S, size_t C, size_t G, float epsilon) {
    // x: (S, C)  gamma, beta: (C)  inv: (G)
    size_t Cg = C / G;
    double n = (double)(S * Cg);
    for (size_t g = 0; g < G; g++) {
        size_t c0 = g * Cg;
        double s = 0.0, ss = 0.0;
        for (size_t p = 0; p < S; p++)
            for (size_t j = c0; j < c0 + Cg; j++) s += x[p * C + j];
        double mean = s / n;
        for (size_t p = 0; p < S; p++)
            for (size_t j = c0; j < c0 + Cg; j++) {
                double d = (double)x[p * C + j] - mean;
                ss += d * d;
            }
        double iv = 1.0 / sqrt(ss / n + (double)epsilon);
        inv[g] = (float)iv;
        for (size_t p = 0; p < S; p++)
            for (size_t j = c0; j < c0 + Cg; j++) {
                float h = (float)(((double)x[p * C + j] - mean) * iv);
                xhat[p * C + j] = h;
                float v = gamma ? gamma[j] * h : h;
                y[p * C + j] = beta ? v + beta[j] : v + 0.0f;
            }
    }
}

static void gn_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t C = channels(nd), S = nd->dim / C, G = (size_t)nd->groups;
    const float *gamma = nd->mode ? c->w : NULL, *beta = nd->use_bias ? c->w + (nd->mode ? C : 0) : NULL;
    float *inv = c->aux + c->B * nd->dim;
    for (size_t b = 0; b < c->B; b++)
        group_norm_forward(c->y + b * nd->dim, c->aux + b * nd->dim, inv + b * G, c->xs[0] + b * nd->dim, gamma,
                           beta, S, C, G, nd->epsilon);
}

/* One sample: dx += inv (g - mean(g) - xhat mean(g xhat)) over each group's
 * S x Cg values, g = dy gamma (dx NULL: none); dgamma += dy xhat, dbeta +=
 * dy (each NULL: none). */
static void group_norm_backward(float *restrict dx, float *restrict dgamma, float *restrict dbeta,
                                const float *restrict dy, const float *restrict xhat, const float *restrict inv,
                                const float *restrict gamma, size_t S, size_t C, size_t G) {
    // dy, xhat, dx: (S, C)  gamma, dgamma, dbeta: (C)  inv: (G)
    size_t Cg = C / G;
    for (size_t p = 0; p < S; p++)
        for (size_t j = 0; j < C; j++) {
            if (dgamma) dgamma[j] += dy[p * C + j] * xhat[p * C + j];
            if (dbeta) dbeta[j] += dy[p * C + j];
        }
    if (!dx) return;
    double n = (double)(S * Cg);
    for (size_t g = 0; g < G; g++) {
        size_t c0 = g * Cg;
        double sg = 0.0, sgh = 0.0;
        for (size_t p = 0; p < S; p++)
            for (size_t j = c0; j < c0 + Cg; j++) {
                float gv = gamma ? dy[p * C + j] * gamma[j] : dy[p * C + j];
                sg += gv;
                sgh += (double)gv * xhat[p * C + j];
            }
        float mg = (float)(sg / n), mgh = (float)(sgh / n), iv = inv[g];
        for (size_t p = 0; p < S; p++)
            for (size_t j = c0; j < c0 + Cg; j++) {
                float gv = gamma ? dy[p * C + j] * gamma[j] : dy[p * C + j];
                dx[p * C + j] += iv * (gv - mg - xhat[p * C + j] * mgh);
            }
    }
}

static void gn_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t C = channels(nd), S = nd->dim / C, G = (size_t)nd->groups;
    const float *gamma = nd->mode ? c->w : NULL;
    float *dgamma = nd->mode ? c->dw : NULL, *dbeta = nd->use_bias ? c->dw + (nd->mode ? C : 0) : NULL;
    const float *inv = c->aux + c->B * nd->dim;
    for (size_t b = 0; b < c->B; b++)
        group_norm_backward(c->dxs[0] ? c->dxs[0] + b * nd->dim : NULL, dgamma, dbeta, c->dy + b * nd->dim,
                            c->aux + b * nd->dim, inv + b * G, gamma, S, C, G);
}

/* only the fields that differ from Keras' defaults (groups 32, epsilon
 * 1e-3, center and scale on); absent ones read as those */
static void gn_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    if (nd->groups != 32) lf_buf_printf(b, ",\"groups\":%d", nd->groups);
    if (nd->epsilon != 1e-3f) {
        lf_buf_puts(b, ",\"epsilon\":");
        lf_buf_json_float(b, nd->epsilon);
    }
    if (!nd->use_bias) lf_buf_puts(b, ",\"center\":false");
    if (!nd->mode) lf_buf_puts(b, ",\"scale\":false");
}

/* "axis", when present, must be -1 */
static lf_status norm_axis(const lf_json *L, const char *where, lf_err *e) {
    const lf_json *a = lf_json_get(L, "axis");
    double axis;
    if (a && (!lf_json_num(a, &axis) || axis != -1)) return lf_fail(e, LF_ERR_FORMAT, "%s: 'axis' must be -1", where);
    return LF_OK;
}

static lf_status gn_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                         lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "GroupNormalization", where, e);
    const lf_json *gj = lf_json_get(L, "groups");
    double groups = 32;
    if (st == LF_OK && gj && (!lf_json_num(gj, &groups) || groups != floor(groups) || groups < 1 ||
                              groups > (double)LF_ARCH_MAX_DIM))
        st = lf_fail(e, LF_ERR_FORMAT, "%s: 'groups' must be an integer in 1..%zu", where, LF_ARCH_MAX_DIM);
    if (st == LF_OK) nd->groups = (int)groups;
    if (st == LF_OK) st = norm_axis(L, where, e);
    nd->epsilon = 1e-3f;
    nd->use_bias = nd->mode = 1;
    if (st == LF_OK && lf_json_get(L, "epsilon"))
        st = lf_arch_float_in(L, "epsilon", 0, INFINITY, LF_ARCH_LO_OPEN, &nd->epsilon, where, e);
    if (st == LF_OK && lf_json_get(L, "center")) st = lf_arch_bool(L, "center", &nd->use_bias, where, e);
    if (st == LF_OK && lf_json_get(L, "scale")) st = lf_arch_bool(L, "scale", &nd->mode, where, e);
    return st;
}

static const char *const gn_keys[] = {"name", "type", "inbound", "groups", "axis", "epsilon", "center", "scale",
                                      NULL};

const lf_layer_type lf_type_group_norm = {
    .type = "GroupNormalization",
    .prefix = "group_normalization",
    .keys = gn_keys,
    .masking = LF_MASKING_KEEP,
    .infer = gn_infer,
    .weights = gn_weights,
    .init = gn_init,
    .forward = gn_forward,
    .backward = gn_backward,
    .write_json = gn_json,
    .read_json = gn_read,
};

int lf_group_normalization(lf_model *m, int x, int groups, float epsilon, int center, int scale,
                           const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.groups = groups;
    nd.epsilon = epsilon;
    nd.use_bias = center != 0;
    nd.mode = scale != 0;
    return lf_node_add(m, &lf_type_group_norm, LF_K_GROUP_NORM, nd, &x, 1, name);
}

/* ---- UnitNormalization */

/* Keras' ops.normalize: epsilon 1e-12, the squared norm clamped at its square */
#define UN_EPS2 1e-24

static int un_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "UnitNormalization", in, n_in, 0);
    if (!x) return 0;
    if (!lf_shape_set(m, "UnitNormalization", nd, x->rank, x->shape)) return 0;
    nd->aux_per_row = nd->dim / channels(nd); /* the inverse norm per position */
    return 1;
}

/* P positions of C features: y = x inv, inv = rsqrt(max(sum x^2, 1e-24)) */
static void unit_norm_forward(float *restrict y, float *restrict inv, const float *restrict x, size_t P,
                              size_t C) {
    // x, y: (P, C)  inv: (P)
    for (size_t p = 0; p < P; p++) {
        double ss = 0.0;
        for (size_t j = 0; j < C; j++) ss += (double)x[p * C + j] * x[p * C + j];
        float iv = (float)(1.0 / sqrt(ss > UN_EPS2 ? ss : UN_EPS2));
        inv[p] = iv;
        for (size_t j = 0; j < C; j++) y[p * C + j] = x[p * C + j] * iv;
    }
}

/* dx += inv (dy - y sum(dy y)) where the norm is not clamped, dx += inv dy
 * where it is (the clamp's constant) */
static void unit_norm_backward(float *restrict dx, const float *restrict dy, const float *restrict x,
                               const float *restrict y, const float *restrict inv, size_t P, size_t C) {
    // dy, x, y, dx: (P, C)  inv: (P)
    for (size_t p = 0; p < P; p++) {
        double ss = 0.0, sdy = 0.0;
        for (size_t j = 0; j < C; j++) {
            ss += (double)x[p * C + j] * x[p * C + j];
            sdy += (double)dy[p * C + j] * y[p * C + j];
        }
        float iv = inv[p], k = ss > UN_EPS2 ? (float)sdy : 0.0f;
        for (size_t j = 0; j < C; j++) dx[p * C + j] += iv * (dy[p * C + j] - y[p * C + j] * k);
    }
}

static void un_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t C = channels(nd);
    unit_norm_forward(c->y, c->aux, c->xs[0], c->B * (nd->dim / C), C);
}

static void un_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t C = channels(nd);
    if (c->dxs[0]) unit_norm_backward(c->dxs[0], c->dy, c->xs[0], c->y, c->aux, c->B * (nd->dim / C), C);
}

static lf_status un_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                         lf_err *e) {
    (void)m;
    (void)nd;
    lf_status st = lf_arch_arity(n_in, 1, "UnitNormalization", where, e);
    return st == LF_OK ? norm_axis(L, where, e) : st;
}

static const char *const un_keys[] = {"name", "type", "inbound", "axis", NULL};

const lf_layer_type lf_type_unit_norm = {
    .type = "UnitNormalization",
    .prefix = "unit_normalization",
    .keys = un_keys,
    .masking = LF_MASKING_KEEP,
    .infer = un_infer,
    .forward = un_forward,
    .backward = un_backward,
    .read_json = un_read,
};

int lf_unit_normalization(lf_model *m, int x, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    return lf_node_add(m, &lf_type_unit_norm, LF_K_UNIT_NORM, nd, &x, 1, name);
}
