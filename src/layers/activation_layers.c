/*
 * activation_layers.c — Keras 3's activation layer classes
 * (keras/src/layers/activations/): ReLU(max_value, negative_slope,
 * threshold), LeakyReLU(negative_slope), ELU(alpha), PReLU(shared_axes) and
 * Softmax(axis).  Each maps x to y of the same shape, value by value
 * (Softmax: over the values of one group, those that differ only along its
 * axes), with its forward and backward kernels here:
 *   ReLU       y = min(x > t ? x : 0, max_value) - s max(t - x, 0)
 *              (keras/src/activations/activations.py ReLU.static_call:
 *              x for t < x < max_value, max_value above it, s (x - t)
 *              at or below t);
 *   LeakyReLU  y = x >= 0 ? x : s x;
 *   ELU        y = x > 0 ? x : alpha (exp(x) - 1);
 *   PReLU      y = max(x, 0) - alpha max(-x, 0), alpha a trainable weight
 *              of the input's shape with the shared axes 1 (Keras' build),
 *              zeros at first;
 *   Softmax    y = exp(x - max) / sum exp(x - max) over each group.
 * The first four keep an input's padding mask (Keras' supports_masking);
 * Softmax refuses an input that carries one (Keras adds that mask to the
 * values, which broadcasts only for some shapes).  At a kink the gradient
 * is that of the side the formula's comparison selects (ReLU: 0 at x = t
 * and from x = max_value on; LeakyReLU: 1 at 0; ELU: alpha at 0; PReLU: 1
 * at 0, and alpha's 0).
 */
#include "kernels.h"
#include "layers/layer.h"

#include <math.h>
#include <string.h>

/* ---- kernels (n values each; dx is added to) */

// x, y: (n)
static void relu_forward(float *restrict y, const float *restrict x, size_t n, float max_value, float slope,
                         float threshold) {
    for (size_t i = 0; i < n; i++) {
        float v = x[i] > threshold ? x[i] : 0.0f;
        if (v > max_value) v = max_value;
        float neg = threshold - x[i];
        y[i] = neg > 0.0f ? v - slope * neg : v;
    }
}

// x, dy, dx: (n)
static void relu_backward(float *restrict dx, const float *restrict dy, const float *restrict x, size_t n,
                          float max_value, float slope, float threshold) {
    for (size_t i = 0; i < n; i++) {
        float g = x[i] > threshold && x[i] < max_value ? 1.0f : 0.0f;
        if (threshold - x[i] > 0.0f) g += slope;
        dx[i] += g * dy[i];
    }
}

// x, y: (n)
static void leaky_relu_forward(float *restrict y, const float *restrict x, size_t n, float slope) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] >= 0.0f ? x[i] : slope * x[i];
}

// x, dy, dx: (n)
static void leaky_relu_backward(float *restrict dx, const float *restrict dy, const float *restrict x, size_t n,
                                float slope) {
    for (size_t i = 0; i < n; i++) dx[i] += x[i] >= 0.0f ? dy[i] : slope * dy[i];
}

// x, y: (n)
static void elu_forward(float *restrict y, const float *restrict x, size_t n, float alpha) {
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : alpha * expm1f(x[i]);
}

// x, y, dy, dx: (n); below 0, y' = alpha exp(x) = y + alpha
static void elu_backward(float *restrict dx, const float *restrict dy, const float *restrict x,
                         const float *restrict y, size_t n, float alpha) {
    for (size_t i = 0; i < n; i++) dx[i] += x[i] > 0.0f ? dy[i] : dy[i] * (y[i] + alpha);
}

/* The index of value i of one sample of nd's shape in that shape with the
 * axes in `axes` (bit a: axis a) left out: i's entry in PReLU's alpha (the
 * shared axes left out), the number of i's Softmax group (its axes left
 * out). */
static size_t collapse(const lf_node *nd, unsigned axes, size_t i) {
    size_t k = 0, stride = 1;
    for (size_t a = nd->rank; a-- > 0;) {
        size_t n = nd->shape[a], coord = i % n;
        i /= n;
        if (axes >> a & 1u) continue;
        k += coord * stride;
        stride *= n;
    }
    return k;
}

// x, y: (B, D)  alpha: D values collapsed over the shared axes (collapse)
static void prelu_forward(float *restrict y, const float *restrict x, const float *restrict alpha,
                          const lf_node *nd, size_t B) {
    size_t D = nd->dim;
    for (size_t j = 0; j < D; j++) {
        float a = alpha[collapse(nd, nd->act_axes, j)];
        for (size_t b = 0; b < B; b++) {
            float v = x[b * D + j]; /* Keras' relu(x) - alpha relu(-x): +0 at x <= 0 when alpha is 0 */
            y[b * D + j] = (v > 0.0f ? v : 0.0f) - a * (v < 0.0f ? -v : 0.0f);
        }
    }
}

// x, dy, dx: (B, D)  alpha, dalpha: as prelu_forward's (dx may be NULL)
static void prelu_backward(float *restrict dx, float *restrict dalpha, const float *restrict dy,
                           const float *restrict x, const float *restrict alpha, const lf_node *nd, size_t B) {
    size_t D = nd->dim;
    for (size_t j = 0; j < D; j++) {
        size_t k = collapse(nd, nd->act_axes, j);
        float a = alpha[k], da = 0.0f;
        for (size_t b = 0; b < B; b++) {
            float v = x[b * D + j], g = dy[b * D + j];
            if (dx) dx[b * D + j] += v > 0.0f ? g : a * g;
            if (v < 0.0f) da += g * v;
        }
        if (dalpha) dalpha[k] += da;
    }
}

// x, y: (D) one sample  scratch: (2 D), per group (by its number) its max and sum
static void softmax_groups_forward(float *restrict y, const float *restrict x, float *restrict scratch,
                                   const lf_node *nd) {
    size_t D = nd->dim;
    float *mx = scratch, *sum = scratch + D;
    for (size_t i = 0; i < D; i++) mx[i] = -INFINITY, sum[i] = 0.0f;
    for (size_t i = 0; i < D; i++) {
        size_t g = collapse(nd, nd->act_axes, i);
        if (x[i] > mx[g]) mx[g] = x[i];
    }
    for (size_t i = 0; i < D; i++) {
        size_t g = collapse(nd, nd->act_axes, i);
        y[i] = expf(x[i] - mx[g]);
        sum[g] += y[i];
    }
    for (size_t i = 0; i < D; i++) y[i] /= sum[collapse(nd, nd->act_axes, i)];
}

// y, dy, dx: (D) one sample  scratch: (D), per group sum(dy y); dx += y (dy - that sum)
static void softmax_groups_backward(float *restrict dx, const float *restrict dy, const float *restrict y,
                                    float *restrict scratch, const lf_node *nd) {
    size_t D = nd->dim;
    for (size_t i = 0; i < D; i++) scratch[i] = 0.0f;
    for (size_t i = 0; i < D; i++) scratch[collapse(nd, nd->act_axes, i)] += dy[i] * y[i];
    for (size_t i = 0; i < D; i++) dx[i] += y[i] * (dy[i] - scratch[collapse(nd, nd->act_axes, i)]);
}

/* ---- the records */

/* Resolves nd's act_axis (Keras' numbering: 1.. the per-sample axes, or
 * negative from the end; 0 the batch) against x's rank into nd->act_axes;
 * `what` names the argument.  0 after lf_build_fail. */
static int resolve_axes(lf_model *m, const char *kn, const char *what, lf_node *nd, const lf_node *x,
                        int negative) {
    long ndim = (long)x->rank + 1;
    if (nd->n_act_axis > LF_MAX_RANK)
        return lf_build_fail(m, LF_ERR_ARG, "%s: %zu %s given; at most %d (the input's own axes)", kn,
                             nd->n_act_axis, what, LF_MAX_RANK);
    nd->act_axes = 0;
    for (size_t i = 0; i < nd->n_act_axis; i++) {
        long a = nd->act_axis[i], d = a < 0 && negative ? a + ndim : a;
        if (d < 0 || d >= ndim)
            return lf_build_fail(m, LF_ERR_ARG, "%s: %s %ld is out of range for inputs of rank %ld (batch included)",
                                 kn, what, a, ndim);
        if (d == 0) return lf_build_fail(m, LF_ERR_ARG, "%s: %s %ld is the batch axis", kn, what, a);
        if (nd->act_axes >> (d - 1) & 1u)
            return lf_build_fail(m, LF_ERR_ARG, "%s: %s %ld is given twice", kn, what, a);
        nd->act_axes |= 1u << (d - 1);
    }
    return 1;
}

static int one_input(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in,
                     const lf_node **xp) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 0);
    if (!x) return 0;
    *xp = x;
    return lf_shape_set(m, t->type, nd, x->rank, x->shape);
}

static int relu_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const float *a = nd->act_arg;
    /* keras/src/layers/activations/relu.py's checks (NaN refused too) */
    if (!(a[0] >= 0.0f))
        return lf_build_fail(m, LF_ERR_ARG,
                             "max_value of a ReLU layer cannot be a negative value. Received: max_value=%g",
                             (double)a[0]);
    if (!(a[1] >= 0.0f && a[1] < INFINITY))
        return lf_build_fail(m, LF_ERR_ARG,
                             "negative_slope of a ReLU layer cannot be a negative value. Received: "
                             "negative_slope=%g",
                             (double)a[1]);
    if (!(a[2] >= 0.0f && a[2] < INFINITY))
        return lf_build_fail(m, LF_ERR_ARG,
                             "threshold of a ReLU layer cannot be a negative value. Received: threshold=%g",
                             (double)a[2]);
    const lf_node *x;
    return one_input(m, t, nd, in, n_in, &x);
}

static int leaky_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    float s = nd->act_arg[1];
    if (!(s >= 0.0f && s < INFINITY)) /* keras/src/layers/activations/leaky_relu.py */
        return lf_build_fail(m, LF_ERR_ARG,
                             "The negative_slope value of a Leaky ReLU layer cannot be None or negative value. "
                             "Expected a float. Received: negative_slope=%g",
                             (double)s);
    const lf_node *x;
    return one_input(m, t, nd, in, n_in, &x);
}

static int elu_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    if (!isfinite(nd->act_arg[0]))
        return lf_build_fail(m, LF_ERR_ARG, "ELU: alpha must be a finite number, got %g", (double)nd->act_arg[0]);
    const lf_node *x;
    return one_input(m, t, nd, in, n_in, &x);
}

static int prelu_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x;
    if (!one_input(m, t, nd, in, n_in, &x)) return 0;
    /* Keras' build sets param_shape[i - 1] = 1: i counts from the batch;
     * a negative i would name another axis than the user meant, refused */
    return resolve_axes(m, "PReLU", "shared axis", nd, x, 0);
}

static int softmax_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x;
    if (!one_input(m, t, nd, in, n_in, &x)) return 0;
    if (nd->n_act_axis == 0) return lf_build_fail(m, LF_ERR_ARG, "Softmax: axis needs at least one axis");
    if (x->seq_mask >= 0)
        return lf_build_fail(m, LF_ERR_ARG,
                             "Softmax: input '%s' carries a padding mask, which Keras' Softmax adds to its "
                             "values; that is not supported",
                             x->name);
    if (!resolve_axes(m, "Softmax", "axis", nd, x, 1)) return 0;
    nd->aux_per_row = 2 * nd->dim; /* dz, or the groups' max and sum */
    return 1;
}

static size_t prelu_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    (void)m;
    lf_weight a = {"alpha", 0, nd->rank, {0}, 0, 0, 0, 0};
    for (size_t d = 0; d < nd->rank; d++) a.shape[d] = nd->act_axes >> d & 1u ? 1 : nd->shape[d];
    w[0] = a;
    return 1;
}

static void prelu_init(lf_model *m, lf_node *nd) { /* Keras' alpha_initializer "Zeros" */
    memset(m->params + nd->param_off, 0, nd->n_params * sizeof *m->params);
}

/* the node's values: B rows of its dim */
static size_t values(const lf_layer_ctx *c) { return c->B * c->nd->dim; }

static void relu_fwd(const lf_layer_ctx *c) {
    const float *a = c->nd->act_arg;
    relu_forward(c->y, c->xs[0], values(c), a[0], a[1], a[2]);
}

static void relu_bwd(const lf_layer_ctx *c) {
    const float *a = c->nd->act_arg;
    if (c->dxs[0]) relu_backward(c->dxs[0], c->dy, c->xs[0], values(c), a[0], a[1], a[2]);
}

static void leaky_fwd(const lf_layer_ctx *c) { leaky_relu_forward(c->y, c->xs[0], values(c), c->nd->act_arg[1]); }

static void leaky_bwd(const lf_layer_ctx *c) {
    if (c->dxs[0]) leaky_relu_backward(c->dxs[0], c->dy, c->xs[0], values(c), c->nd->act_arg[1]);
}

static void elu_fwd(const lf_layer_ctx *c) { elu_forward(c->y, c->xs[0], values(c), c->nd->act_arg[0]); }

static void elu_bwd(const lf_layer_ctx *c) {
    if (c->dxs[0]) elu_backward(c->dxs[0], c->dy, c->xs[0], c->y, values(c), c->nd->act_arg[0]);
}

static void prelu_fwd(const lf_layer_ctx *c) { prelu_forward(c->y, c->xs[0], c->w, c->nd, c->B); }

static void prelu_bwd(const lf_layer_ctx *c) {
    prelu_backward(c->dxs[0], c->dw, c->dy, c->xs[0], c->w, c->nd, c->B);
}

/* Softmax over the last axis alone runs Activation(softmax)'s kernels */
static int softmax_last(const lf_node *nd) { return nd->act_axes == 1u << (nd->rank - 1); }

static void softmax_fwd(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = nd->dim;
    if (softmax_last(nd)) {
        size_t w = nd->shape[nd->rank - 1];
        lf_act_forward(LF_ACT_SOFTMAX, c->y, c->xs[0], c->B * (D / w), w);
        return;
    }
    for (size_t b = 0; b < c->B; b++) softmax_groups_forward(c->y + b * D, c->xs[0] + b * D, c->aux + b * 2 * D, nd);
}

static void softmax_bwd(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = nd->dim;
    float *dx = c->dxs[0];
    if (!dx) return;
    if (softmax_last(nd)) {
        size_t w = nd->shape[nd->rank - 1], n = c->B * D;
        lf_act_backward(LF_ACT_SOFTMAX, c->aux, c->dy, c->xs[0], c->y, n / w, w);
        for (size_t j = 0; j < n; j++) dx[j] += c->aux[j];
        return;
    }
    for (size_t b = 0; b < c->B; b++)
        softmax_groups_backward(dx + b * D, c->dy + b * D, c->y + b * D, c->aux + b * 2 * D, nd);
}

/* ---- the model file: each field only when not Keras' default */

static void float_field(lf_buf *b, const char *key, float v) {
    lf_buf_printf(b, ",\"%s\":", key);
    lf_buf_json_float(b, v);
}

static void relu_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    if (nd->act_arg[0] < INFINITY) float_field(b, "max_value", nd->act_arg[0]);
    if (nd->act_arg[1] != 0.0f) float_field(b, "negative_slope", nd->act_arg[1]);
    if (nd->act_arg[2] != 0.0f) float_field(b, "threshold", nd->act_arg[2]);
}

static void leaky_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    if (nd->act_arg[1] != 0.3f) float_field(b, "negative_slope", nd->act_arg[1]);
}

static void elu_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    if (nd->act_arg[0] != 1.0f) float_field(b, "alpha", nd->act_arg[0]);
}

/* the axes as given: Softmax's a number when one (absent: -1 alone),
 * PReLU's a list (absent: none) */
static void axes_json(const lf_node *nd, const char *key, int list, lf_buf *b) {
    lf_buf_printf(b, ",\"%s\":%s", key, list || nd->n_act_axis != 1 ? "[" : "");
    for (size_t i = 0; i < nd->n_act_axis; i++) lf_buf_printf(b, "%s%d", i ? "," : "", nd->act_axis[i]);
    if (list || nd->n_act_axis != 1) lf_buf_puts(b, "]");
}

static void prelu_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    if (nd->n_act_axis) axes_json(nd, "shared_axes", 1, b);
}

static void softmax_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    if (!(nd->n_act_axis == 1 && nd->act_axis[0] == -1)) axes_json(nd, "axis", 0, b);
}

/* An optional number (absent: def; null too when null_def) */
static lf_status opt_float(const lf_json *L, const char *key, float def, int null_def, float *out, const char *where,
                           lf_err *e) {
    const lf_json *j = lf_json_get(L, key);
    *out = def;
    if (!j || (null_def && lf_json_is(j, LF_JSON_NULL))) return LF_OK;
    return lf_arch_float_in(L, key, -INFINITY, INFINITY, LF_ARCH_LO_OPEN | LF_ARCH_HI_OPEN, out, where, e);
}

static lf_status relu_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                           lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "ReLU", where, e);
    if (st == LF_OK) st = opt_float(L, "max_value", INFINITY, 1, &nd->act_arg[0], where, e);
    if (st == LF_OK) st = opt_float(L, "negative_slope", 0.0f, 0, &nd->act_arg[1], where, e);
    if (st == LF_OK) st = opt_float(L, "threshold", 0.0f, 0, &nd->act_arg[2], where, e);
    return st;
}

static lf_status leaky_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                            lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "LeakyReLU", where, e);
    return st == LF_OK ? opt_float(L, "negative_slope", 0.3f, 0, &nd->act_arg[1], where, e) : st;
}

static lf_status elu_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "ELU", where, e);
    return st == LF_OK ? opt_float(L, "alpha", 1.0f, 0, &nd->act_arg[0], where, e) : st;
}

/* "key": an integer or a list of up to LF_MAX_RANK (absent: def_n values def) */
static lf_status axes_read(const lf_json *L, const char *key, int def, size_t def_n, lf_node *nd, const char *where,
                           lf_err *e) {
    const lf_json *a = lf_json_get(L, key);
    nd->n_act_axis = def_n, nd->act_axis[0] = def;
    if (!a || lf_json_is(a, LF_JSON_NULL)) return LF_OK;
    int list = lf_json_is(a, LF_JSON_ARRAY);
    size_t n = list ? lf_json_len(a) : 1;
    int ok = n >= 1 && n <= LF_MAX_RANK;
    for (size_t i = 0; ok && i < n; i++) {
        double v;
        ok = lf_json_num(list ? lf_json_at(a, i) : a, &v) && v == floor(v) && fabs(v) <= LF_MAX_RANK + 1;
        if (ok) nd->act_axis[i] = (int)v;
    }
    if (!ok)
        return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be an axis number or a list of 1 to %d of them", where, key,
                       LF_MAX_RANK);
    nd->n_act_axis = n;
    return LF_OK;
}

static lf_status prelu_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                            lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "PReLU", where, e);
    return st == LF_OK ? axes_read(L, "shared_axes", 0, 0, nd, where, e) : st;
}

static lf_status softmax_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                              lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "Softmax", where, e);
    return st == LF_OK ? axes_read(L, "axis", -1, 1, nd, where, e) : st;
}

static const char *const relu_keys[] = {"name", "type", "inbound", "max_value", "negative_slope", "threshold", NULL};
static const char *const leaky_keys[] = {"name", "type", "inbound", "negative_slope", NULL};
static const char *const elu_keys[] = {"name", "type", "inbound", "alpha", NULL};
static const char *const prelu_keys[] = {"name", "type", "inbound", "shared_axes", NULL};
static const char *const softmax_keys[] = {"name", "type", "inbound", "axis", NULL};

const lf_layer_type lf_type_relu = {
    .type = "ReLU", .prefix = "re_lu", .keys = relu_keys, .masking = LF_MASKING_KEEP,
    .infer = relu_infer, .forward = relu_fwd, .backward = relu_bwd,
    .write_json = relu_json, .read_json = relu_read,
};

const lf_layer_type lf_type_leaky_relu = {
    .type = "LeakyReLU", .prefix = "leaky_re_lu", .keys = leaky_keys, .masking = LF_MASKING_KEEP,
    .infer = leaky_infer, .forward = leaky_fwd, .backward = leaky_bwd,
    .write_json = leaky_json, .read_json = leaky_read,
};

const lf_layer_type lf_type_elu = {
    .type = "ELU", .prefix = "elu", .keys = elu_keys, .masking = LF_MASKING_KEEP,
    .infer = elu_infer, .forward = elu_fwd, .backward = elu_bwd,
    .write_json = elu_json, .read_json = elu_read,
};

const lf_layer_type lf_type_prelu = {
    .type = "PReLU", .prefix = "p_re_lu", .keys = prelu_keys, .masking = LF_MASKING_KEEP,
    .infer = prelu_infer, .weights = prelu_weights, .init = prelu_init,
    .forward = prelu_fwd, .backward = prelu_bwd,
    .write_json = prelu_json, .read_json = prelu_read,
};

const lf_layer_type lf_type_softmax = {
    .type = "Softmax", .prefix = "softmax", .keys = softmax_keys,
    .infer = softmax_infer, .forward = softmax_fwd, .backward = softmax_bwd,
    .write_json = softmax_json, .read_json = softmax_read,
};

/* ---- builders */

int lf_relu_layer(lf_model *m, int x, float max_value, float negative_slope, float threshold, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.act_arg[0] = max_value, nd.act_arg[1] = negative_slope, nd.act_arg[2] = threshold;
    return lf_node_add(m, &lf_type_relu, LF_K_RELU, nd, &x, 1, name);
}

int lf_leaky_relu(lf_model *m, int x, float negative_slope, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.act_arg[1] = negative_slope;
    return lf_node_add(m, &lf_type_leaky_relu, LF_K_LEAKY_RELU, nd, &x, 1, name);
}

int lf_elu_layer(lf_model *m, int x, float alpha, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.act_arg[0] = alpha;
    return lf_node_add(m, &lf_type_elu, LF_K_ELU, nd, &x, 1, name);
}

/* the axes given, checked for count (the rest in infer) */
static int take_axes(lf_model *m, const char *kn, lf_node *nd, const int *axes, size_t n) {
    if (n > LF_MAX_RANK)
        return lf_build_fail(m, LF_ERR_ARG, "%s: %zu axes given; at most %d (the input's own axes)", kn, n,
                             LF_MAX_RANK);
    if (n && !axes) return lf_build_fail(m, LF_ERR_ARG, "%s: %zu axes but no array", kn, n);
    for (size_t i = 0; i < n; i++) nd->act_axis[i] = axes[i];
    nd->n_act_axis = n;
    return 1;
}

int lf_prelu(lf_model *m, int x, const int *shared_axes, size_t n_shared, const char *name) {
    if (lf_build_stuck(m)) return -1;
    lf_node nd = LF_NODE_PROTO;
    if (!take_axes(m, "PReLU", &nd, shared_axes, n_shared)) return -1;
    return lf_node_add(m, &lf_type_prelu, LF_K_PRELU, nd, &x, 1, name);
}

int lf_softmax_layer(lf_model *m, int x, const int *axes, size_t n_axes, const char *name) {
    if (lf_build_stuck(m)) return -1;
    lf_node nd = LF_NODE_PROTO;
    if (!take_axes(m, "Softmax", &nd, axes, n_axes)) return -1;
    return lf_node_add(m, &lf_type_softmax, LF_K_SOFTMAX, nd, &x, 1, name);
}
