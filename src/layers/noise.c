/*
 * noise.c — Keras 3's noise and regularization layers: SpatialDropout1D,
 * SpatialDropout2D, SpatialDropout3D, GaussianNoise, GaussianDropout, AlphaDropout and
 * ActivityRegularization (keras/src/layers/regularization/).
 *
 * The random ones act only in a training pass that draws (as Dropout,
 * dropout.c): inference, and a training pass without draws, is the
 * identity, bit for bit.  Their draws are a pure function of the pass's key,
 * the node's draw id and the row's global index (lf_draws), so the same seed
 * gives the same bits whatever the MPI ranks or threads.  Keras' `seed`
 * argument is not kept: the draws come from the model's seed.
 *
 *   SpatialDropout1D(rate) on (T, C), SpatialDropout2D(rate) on (H, W, C),
 *     SpatialDropout3D(rate) on (D, H, W, C), channels last
 *     (spatial_dropout.py: noise shape (B, 1, C), (B, 1, 1, C), (B, 1, 1, 1, C)):
 *     per row, channel c is dropped when draw c < rate, else every one of its
 *     values is scaled by 1/(1-rate); mask (B, C) in the node's scratch.
 *   GaussianNoise(stddev) (gaussian_noise.py): y = x + stddev z.
 *   GaussianDropout(rate) (gaussian_dropout.py): y = x (1 + s z),
 *     s = sqrt(rate / (1 - rate)); the multipliers (B, D) are kept.
 *   AlphaDropout(rate) (alpha_dropout.py): alpha' = -1.6732632... *
 *     1.0507009... (SELU's negative saturation), value i kept when its draw
 *     >= rate, a = ((1 - rate)(1 + rate alpha'^2))^-1/2, b = -a alpha' rate,
 *     y = a x + b where kept, a alpha' + b where dropped; the scratch keeps
 *     a where kept, 0 where dropped (the gradient).
 *   ActivityRegularization(l1, l2) (activity_regularization.py): the
 *     identity, with the activity regularizer L1L2(l1, l2) on its output
 *     (regularizer.c: the node's act_l1 / act_l2, lf_set_regularizer's).
 *
 * z is a standard normal draw by Box-Muller from draws 2j and 2j+1 of the
 * row's stream (u1 = 1 - draw 2j in (0, 1], 24-bit uniforms: |z| <= 5.8),
 * computed in double and rounded to float.  Keras' own generators give other
 * numbers: the distributions are the same, the bits are not.
 *
 * Settings: nd->rate is the rate, and GaussianNoise's stddev.  Keras
 * accepts rate = 1 (GaussianDropout's s and AlphaDropout's a are then
 * infinite); here, as Dropout, rate is in [0, 1).  GaussianNoise's stddev
 * is in [0, 1], Keras' range.  Every kind keeps its input's padding mask
 * (Keras' supports_masking).
 */
#include "layers/layer.h"

#include <math.h>
#include <string.h>

#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946

/* the record's op */
enum { NOISE_SPATIAL1D, NOISE_SPATIAL2D, NOISE_GAUSSIAN, NOISE_GDROPOUT, NOISE_ALPHA, NOISE_ACTREG, NOISE_SPATIAL3D };

static int noise_spatial(int op) { return op == NOISE_SPATIAL1D || op == NOISE_SPATIAL2D || op == NOISE_SPATIAL3D; }

/* A standard normal number from the draws 2j and 2j+1 of stream s. */
static float normal_draw(uint64_t s, size_t j) {
    double u1 = 1.0 - (double)lf_draw_uniform(s, 2 * (uint64_t)j);
    double u2 = (double)lf_draw_uniform(s, 2 * (uint64_t)j + 1);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* ---------------------------------------------------------------- kernels */

// x, y: (B, S, C)  mask: (B, C)
void lf_spatial_dropout_forward(float *restrict y, float *restrict mask, const float *restrict x, size_t B,
                                size_t S, size_t C, float rate, const lf_draws *d, uint64_t node) {
    float keep = 1.0f / (1.0f - rate);
    for (size_t r = 0; r < B; r++) {
        uint64_t s = lf_draw_stream(d->key, node, d->row0 + r);
        float *mr = mask + r * C;
        for (size_t c = 0; c < C; c++) mr[c] = lf_draw_uniform(s, c) < rate ? 0.0f : keep;
        for (size_t t = 0; t < S; t++)
            for (size_t c = 0; c < C; c++) y[(r * S + t) * C + c] = x[(r * S + t) * C + c] * mr[c];
    }
}

// dy, dx: (B, S, C)  mask: (B, C)
void lf_spatial_dropout_backward(float *restrict dx, const float *restrict dy, const float *restrict mask,
                                 size_t B, size_t S, size_t C) {
    for (size_t r = 0; r < B; r++)
        for (size_t t = 0; t < S; t++)
            for (size_t c = 0; c < C; c++) dx[(r * S + t) * C + c] += dy[(r * S + t) * C + c] * mask[r * C + c];
}

// x, y: (B, D)
void lf_gaussian_noise_forward(float *restrict y, const float *restrict x, size_t B, size_t D, float stddev,
                               const lf_draws *d, uint64_t node) {
    for (size_t r = 0; r < B; r++) {
        uint64_t s = lf_draw_stream(d->key, node, d->row0 + r);
        for (size_t j = 0; j < D; j++) y[r * D + j] = x[r * D + j] + stddev * normal_draw(s, j);
    }
}

// x, y, mult: (B, D)
void lf_gaussian_dropout_forward(float *restrict y, float *restrict mult, const float *restrict x, size_t B,
                                 size_t D, float rate, const lf_draws *d, uint64_t node) {
    float sd = (float)sqrt((double)rate / (1.0 - (double)rate));
    for (size_t r = 0; r < B; r++) {
        uint64_t s = lf_draw_stream(d->key, node, d->row0 + r);
        for (size_t j = 0; j < D; j++) {
            size_t i = r * D + j;
            mult[i] = 1.0f + sd * normal_draw(s, j);
            y[i] = x[i] * mult[i];
        }
    }
}

/* AlphaDropout's constants for a rate: a, b and alpha' in float. */
static void alpha_consts(float rate, float *a, float *b, float *alpha_p) {
    double ap = -SELU_ALPHA * SELU_SCALE, p = rate;
    double ad = pow((1.0 - p) * (1.0 + p * ap * ap), -0.5);
    *a = (float)ad, *b = (float)(-ad * ap * p), *alpha_p = (float)ap;
}

// x, y, slope: (B, D)
void lf_alpha_dropout_forward(float *restrict y, float *restrict slope, const float *restrict x, size_t B,
                              size_t D, float rate, const lf_draws *d, uint64_t node) {
    float a, b, ap;
    alpha_consts(rate, &a, &b, &ap);
    float dropped = a * ap + b;
    for (size_t r = 0; r < B; r++) {
        uint64_t s = lf_draw_stream(d->key, node, d->row0 + r);
        for (size_t j = 0; j < D; j++) {
            size_t i = r * D + j;
            int kept = lf_draw_uniform(s, j) >= rate;
            slope[i] = kept ? a : 0.0f;
            y[i] = kept ? a * x[i] + b : dropped;
        }
    }
}

/* dx += dy * g, all (n) */
static void scale_backward(float *restrict dx, const float *restrict dy, const float *restrict g, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] += dy[i] * g[i];
}

/* ---------------------------------------------------------------- records */

static const char *noise_what(int op) {
    return op == NOISE_GAUSSIAN ? "GaussianNoise stddev" : op == NOISE_SPATIAL1D ? "SpatialDropout1D rate"
           : op == NOISE_SPATIAL2D                        ? "SpatialDropout2D rate"
           : op == NOISE_SPATIAL3D                        ? "SpatialDropout3D rate"
           : op == NOISE_GDROPOUT                         ? "GaussianDropout rate"
                                                          : "AlphaDropout rate";
}

static int noise_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    int op = t->op;
    size_t rank = op == NOISE_SPATIAL1D ? 2 : op == NOISE_SPATIAL2D ? 3 : op == NOISE_SPATIAL3D ? 4 : 0;
    const lf_node *x = lf_input_node(m, t->type, in, n_in, rank);
    if (!x) return 0;
    if (op == NOISE_GAUSSIAN && !(nd->rate >= 0.0f && nd->rate <= 1.0f))
        return lf_build_fail(m, LF_ERR_ARG, "GaussianNoise stddev must be in [0, 1], got %g", (double)nd->rate);
    if (op != NOISE_GAUSSIAN && op != NOISE_ACTREG && !(nd->rate >= 0.0f && nd->rate < 1.0f))
        return lf_build_fail(m, LF_ERR_ARG, "%s must be in [0, 1), got %g", noise_what(op), (double)nd->rate);
    nd->dim = x->dim;
    nd->aux_per_row = rank ? x->shape[rank - 1] : op == NOISE_GDROPOUT || op == NOISE_ALPHA ? x->dim : 0;
    return lf_shape_set(m, t->type, nd, x->rank, x->shape);
}

/* the pass draws and the setting is not 0 */
static int noise_on(const lf_layer_ctx *c) { return c->training && c->draws && c->nd->rate > 0.0f; }

static void noise_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t B = c->B, D = nd->dim;
    if (!noise_on(c)) {
        memcpy(c->y, c->xs[0], B * D * sizeof *c->y);
        /* a training pass without draws is the identity: its multipliers 1 */
        for (size_t i = 0; c->training && i < B * nd->aux_per_row; i++) c->aux[i] = 1.0f;
        return;
    }
    switch (c->t->op) {
    case NOISE_SPATIAL1D:
    case NOISE_SPATIAL2D:
    case NOISE_SPATIAL3D: {
        size_t C = nd->shape[nd->rank - 1];
        lf_spatial_dropout_forward(c->y, c->aux, c->xs[0], B, D / C, C, nd->rate, c->draws, c->draw_id);
        break;
    }
    case NOISE_GAUSSIAN: lf_gaussian_noise_forward(c->y, c->xs[0], B, D, nd->rate, c->draws, c->draw_id); break;
    case NOISE_GDROPOUT:
        lf_gaussian_dropout_forward(c->y, c->aux, c->xs[0], B, D, nd->rate, c->draws, c->draw_id);
        break;
    default: lf_alpha_dropout_forward(c->y, c->aux, c->xs[0], B, D, nd->rate, c->draws, c->draw_id); break;
    }
}

static void noise_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    const lf_node *nd = c->nd;
    size_t n = c->B * nd->dim;
    int op = c->t->op;
    /* the forward pass's multipliers: the gradient of every kind but
     * GaussianNoise (additive: dy passes) in a training pass */
    if (c->training && nd->aux_per_row && noise_spatial(op)) {
        size_t C = nd->shape[nd->rank - 1];
        lf_spatial_dropout_backward(dx, c->dy, c->aux, c->B, nd->dim / C, C);
    } else if (c->training && nd->aux_per_row) {
        scale_backward(dx, c->dy, c->aux, n);
    } else {
        for (size_t i = 0; i < n; i++) dx[i] += c->dy[i];
    }
}

static void noise_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_puts(b, lf_type_of(nd)->op == NOISE_GAUSSIAN ? ",\"stddev\":" : ",\"rate\":");
    lf_buf_json_float(b, nd->rate);
}

/* the one field: "rate" in [0, 1), GaussianNoise's "stddev" in [0, 1] */
static lf_status noise_read(const char *type, int op, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                            lf_err *e) {
    lf_status st = lf_arch_arity(n_in, 1, type, where, e);
    if (st != LF_OK) return st;
    if (op == NOISE_GAUSSIAN) return lf_arch_float_in(L, "stddev", 0, 1, 0, &nd->rate, where, e);
    return lf_arch_float_in(L, "rate", 0, 1, LF_ARCH_HI_OPEN, &nd->rate, where, e);
}

static const char *const rate_keys[] = {"name", "type", "inbound", "rate", NULL};
static const char *const stddev_keys[] = {"name", "type", "inbound", "stddev", NULL};

#define NOISE_RECORD(rec, ty, pre, o, k)                                                                           \
    static lf_status rec##_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,   \
                                lf_err *e) {                                                                       \
        (void)m;                                                                                                   \
        return noise_read(ty, o, L, n_in, nd, where, e);                                                           \
    }                                                                                                              \
    const lf_layer_type rec = {                                                                                    \
        .type = ty,                                                                                                \
        .prefix = pre,                                                                                             \
        .keys = k,                                                                                                 \
        .op = o,                                                                                                   \
        .masking = LF_MASKING_KEEP,                                                                                \
        .draws = 1,                                                                                                \
        .infer = noise_infer,                                                                                      \
        .forward = noise_forward,                                                                                  \
        .backward = noise_backward,                                                                                \
        .write_json = noise_json,                                                                                  \
        .read_json = rec##_read,                                                                                   \
    }

NOISE_RECORD(lf_type_spatial_dropout1d, "SpatialDropout1D", "spatial_dropout1d", NOISE_SPATIAL1D, rate_keys);
NOISE_RECORD(lf_type_spatial_dropout2d, "SpatialDropout2D", "spatial_dropout2d", NOISE_SPATIAL2D, rate_keys);
NOISE_RECORD(lf_type_gaussian_noise, "GaussianNoise", "gaussian_noise", NOISE_GAUSSIAN, stddev_keys);
NOISE_RECORD(lf_type_gaussian_dropout, "GaussianDropout", "gaussian_dropout", NOISE_GDROPOUT, rate_keys);
NOISE_RECORD(lf_type_alpha_dropout, "AlphaDropout", "alpha_dropout", NOISE_ALPHA, rate_keys);
NOISE_RECORD(lf_type_spatial_dropout3d, "SpatialDropout3D", "spatial_dropout3d", NOISE_SPATIAL3D, rate_keys);

static int noise_add(lf_model *m, const lf_layer_type *t, lf_kind kind, int x, float rate, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.rate = rate;
    return lf_node_add(m, t, kind, nd, &x, 1, name);
}

int lf_spatial_dropout1d(lf_model *m, int x, float rate, const char *name) {
    return noise_add(m, &lf_type_spatial_dropout1d, LF_K_SPATIAL_DROPOUT1D, x, rate, name);
}
int lf_spatial_dropout2d(lf_model *m, int x, float rate, const char *name) {
    return noise_add(m, &lf_type_spatial_dropout2d, LF_K_SPATIAL_DROPOUT2D, x, rate, name);
}
int lf_spatial_dropout3d(lf_model *m, int x, float rate, const char *name) {
    return noise_add(m, &lf_type_spatial_dropout3d, LF_K_SPATIAL_DROPOUT3D, x, rate, name);
}
int lf_gaussian_noise(lf_model *m, int x, float stddev, const char *name) {
    return noise_add(m, &lf_type_gaussian_noise, LF_K_GAUSSIAN_NOISE, x, stddev, name);
}
int lf_gaussian_dropout(lf_model *m, int x, float rate, const char *name) {
    return noise_add(m, &lf_type_gaussian_dropout, LF_K_GAUSSIAN_DROPOUT, x, rate, name);
}
int lf_alpha_dropout(lf_model *m, int x, float rate, const char *name) {
    return noise_add(m, &lf_type_alpha_dropout, LF_K_ALPHA_DROPOUT, x, rate, name);
}

/* ------------------------------------------------- ActivityRegularization */

static void identity_forward(const lf_layer_ctx *c) {
    memcpy(c->y, c->xs[0], c->B * c->nd->dim * sizeof *c->y);
}

static void identity_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    size_t n = c->B * c->nd->dim;
    for (size_t i = 0; dx && i < n; i++) dx[i] += c->dy[i];
}

static lf_status actreg_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                             lf_err *e) {
    (void)m, (void)L, (void)nd;
    return lf_arch_arity(n_in, 1, "ActivityRegularization", where, e);
}

/* l1 and l2 are the node's activity regularizer: the model file keeps them
 * in the layer's "regularizers" (regularizer.c), as any layer's */
static const char *const actreg_keys[] = {"name", "type", "inbound", NULL};

const lf_layer_type lf_type_activity_regularization = {
    .type = "ActivityRegularization",
    .prefix = "activity_regularization",
    .keys = actreg_keys,
    .op = NOISE_ACTREG,
    .activity_reg = 1,
    .masking = LF_MASKING_KEEP,
    .infer = noise_infer,
    .forward = identity_forward,
    .backward = identity_backward,
    .read_json = actreg_read,
};

int lf_activity_regularization(lf_model *m, int x, float l1, float l2, const char *name) {
    if (!m) return -1;
    if (lf_build_stuck(m)) return -1;
    if (!(l1 >= 0.0f) || !isfinite(l1) || !(l2 >= 0.0f) || !isfinite(l2)) {
        lf_build_fail(m, LF_ERR_ARG, "ActivityRegularization: l1 and l2 must be finite and >= 0, got %g, %g",
                      (double)l1, (double)l2);
        return -1;
    }
    lf_node nd = LF_NODE_PROTO;
    nd.act_l1 = l1, nd.act_l2 = l2;
    return lf_node_add(m, &lf_type_activity_regularization, LF_K_ACTIVITY_REGULARIZATION, nd, &x, 1, name);
}
