/*
 * preprocess.c — Keras' Normalization layer.
 *
 * Normalization(axis=-1, mean=None, variance=None, invert=False), as Keras 3
 * (keras/src/layers/preprocessing/normalization.py): the axes in `axis`
 * (Keras' numbering, 0 the batch axis, negatives from the end; an empty
 * list is Keras' axis=None) are kept, and each position of them has its
 * own mean and variance, shared over the other axes.  The output is
 *     y = (x - mean) / max(sqrt(variance), 1e-7)
 * (Keras' backend.epsilon()), or with invert y = mean + x * max(sqrt(
 * variance), 1e-7); each step in float, as Keras computes it, so a NaN
 * stays NaN (numpy's maximum).  mean and variance are fixed weights of the
 * shape of the kept axes ((1,) for axis=None, where Keras' is ()): never
 * trained, set by the builder, lf_set_weights or the Python layer's
 * adapt(); the gradient flows to the input only.  Keras' adapted layer
 * also keeps a `count` weight that adapt() of an array leaves 0: it is not
 * kept here.  A padding mask passes through (Keras' supports_masking).
 *
 * CategoryEncoding(num_tokens, output_mode="multi_hot"), as Keras 3
 * (keras/src/layers/preprocessing/category_encoding.py and
 * numerical_utils.encode_categorical_inputs): token ids (B, n), floats
 * holding integers, to "multi_hot" (B, num_tokens), 1 at every id of the
 * row; "count" (B, num_tokens), how many times each id is in the row; or
 * "one_hot" (B, num_tokens) when n is 1 (Keras squeezes a last axis of
 * 1), else (B, n, num_tokens).  Keras' docstring says every id must be in
 * [0, num_tokens) "or an error will be thrown": fit, evaluate and predict
 * refuse other ids in a model input it reads (lf_token_ids_check), and
 * elsewhere such an id adds nothing (numpy's one_hot).  No weights, no
 * mask (Keras' layer does not support masking) and no gradient: the ids
 * are not differentiable.  count_weights and sparse are not available.
 */
#include "layers/layer.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define NORM_EPSILON 1e-7f /* keras.config.epsilon()'s default */

/* Batches of at least this many values are shared out to the threads. */
#define NORM_PARALLEL 65536

/* The values of the kept axes: the size of mean and of variance. */
static size_t norm_size(const lf_node *nd) {
    size_t n = 1;
    for (size_t a = 0; a < nd->rank; a++)
        if (nd->norm_keep >> a & 1u) n *= nd->shape[a];
    return n;
}

static int norm_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 0);
    if (!x) return 0;
    long nd_all = (long)x->rank + 1; /* Keras' ndim, the batch axis included */
    if (nd->n_norm_axis > LF_MAX_RANK)
        return lf_build_fail(m, LF_ERR_ARG, "Normalization: %zu axes given; at most %d (the input's own axes)",
                             nd->n_norm_axis, LF_MAX_RANK);
    nd->norm_keep = 0;
    for (size_t i = 0; i < nd->n_norm_axis; i++) {
        long a = nd->norm_axis[i], d = a < 0 ? a + nd_all : a;
        if (d < 0 || d >= nd_all)
            return lf_build_fail(m, LF_ERR_ARG,
                                 "Normalization: axis %ld is out of range for inputs of rank %ld (batch "
                                 "included): all axis values must be in [-%ld, %ld)",
                                 a, nd_all, nd_all, nd_all);
        if (d == 0)
            return lf_build_fail(m, LF_ERR_ARG,
                                 "Normalization: axis %ld is the batch axis, whose size is not known; "
                                 "keep the input's own axes (1..%ld or negative)",
                                 a, nd_all - 1);
        if (nd->norm_keep >> (d - 1) & 1u)
            return lf_build_fail(m, LF_ERR_ARG, "Normalization: axis %ld is given twice", d);
        nd->norm_keep |= 1u << (d - 1);
    }
    if (nd->invert != 0 && nd->invert != 1)
        return lf_build_fail(m, LF_ERR_ARG, "Normalization: invert must be 0 or 1, got %d", nd->invert);
    return lf_shape_set(m, t->type, nd, x->rank, x->shape);
}

static size_t norm_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    (void)m;
    lf_weight one = {"mean", 0, 0, {0}, 0, 1, 0, 0};
    for (size_t a = 0; a < nd->rank; a++)
        if (nd->norm_keep >> a & 1u) one.shape[one.ndim++] = nd->shape[a];
    if (one.ndim == 0) one.ndim = 1, one.shape[0] = 1; /* axis=None: one value */
    w[0] = one;
    w[1] = one, w[1].suffix = "variance", w[1].off = norm_size(nd);
    return 2;
}

static void norm_init(lf_model *m, lf_node *nd) { /* Keras' initial weights: zeros, ones */
    size_t n = norm_size(nd);
    float *w = m->params + nd->param_off;
    for (size_t k = 0; k < n; k++) w[k] = 0.0f, w[n + k] = 1.0f;
}

/* The index in mean and variance of value j of a row. */
static size_t norm_index(const lf_node *nd, size_t j) {
    size_t k = 0, stride = 1;
    for (size_t a = nd->rank; a-- > 0;) {
        size_t c = j % nd->shape[a];
        j /= nd->shape[a];
        if (nd->norm_keep >> a & 1u) k += c * stride, stride *= nd->shape[a];
    }
    return k;
}

/* max(sqrt(variance), epsilon) as numpy's maximum: NaN stays NaN. */
static float norm_scale(float variance) {
    float s = sqrtf(variance);
    return s < NORM_EPSILON ? NORM_EPSILON : s;
}

static void norm_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = nd->dim, n = norm_size(nd);
    const float *mean = c->w, *var = c->w + n;
    int inv = nd->invert;
#pragma omp parallel for if (c->B * D >= NORM_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *x = c->xs[0] + r * D;
        float *y = c->y + r * D;
        for (size_t j = 0; j < D; j++) {
            size_t k = n == 1 ? 0 : norm_index(nd, j);
            float s = norm_scale(var[k]);
            y[j] = inv ? mean[k] + x[j] * s : (x[j] - mean[k]) / s;
        }
    }
}

static void norm_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    const lf_node *nd = c->nd;
    size_t D = nd->dim, n = norm_size(nd);
    const float *var = c->w + n;
    int inv = nd->invert;
#pragma omp parallel for if (c->B * D >= NORM_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *dy = c->dy + r * D;
        float *d = dx + r * D;
        for (size_t j = 0; j < D; j++) {
            float s = norm_scale(var[n == 1 ? 0 : norm_index(nd, j)]);
            d[j] += inv ? dy[j] * s : dy[j] / s;
        }
    }
}

/* Keras' config: "axis" a list ([] for None), "invert"; the axes written
 * as Keras numbers them from the front (1 the first axis after the batch). */
static void norm_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_puts(b, ",\"axis\":[");
    int first = 1;
    for (size_t a = 0; a < nd->rank; a++)
        if (nd->norm_keep >> a & 1u) lf_buf_printf(b, "%s%zu", first ? "" : ",", a + 1), first = 0;
    lf_buf_printf(b, "],\"invert\":%s", nd->invert ? "true" : "false");
}

static lf_status norm_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                           lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "Normalization", where, e);
    if (st != LF_OK) return st;
    const lf_json *a = lf_json_get(L, "axis");
    size_t n = lf_json_len(a);
    int ok = lf_json_is(a, LF_JSON_NULL) || (lf_json_is(a, LF_JSON_ARRAY) && n <= LF_MAX_RANK);
    for (size_t i = 0; ok && lf_json_is(a, LF_JSON_ARRAY) && i < n; i++) {
        double v;
        ok = lf_json_num(lf_json_at(a, i), &v) && v == floor(v) && fabs(v) <= LF_MAX_RANK + 1;
        if (ok) nd->norm_axis[i] = (int)v;
    }
    if (!ok)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'axis' must be null or a list of at most %d axis numbers", where,
                       LF_MAX_RANK);
    nd->n_norm_axis = lf_json_is(a, LF_JSON_ARRAY) ? n : 0;
    nd->invert = 0;
    if (lf_json_get(L, "invert")) st = lf_arch_bool(L, "invert", &nd->invert, where, e);
    return st;
}

static const char *const norm_keys[] = {"name", "type", "inbound", "axis", "invert", NULL};

const lf_layer_type lf_type_normalization = {
    .type = "Normalization",
    .prefix = "normalization",
    .keys = norm_keys,
    .masking = LF_MASKING_KEEP, /* Keras 3's supports_masking */
    .infer = norm_infer,
    .weights = norm_weights,
    .init = norm_init,
    .forward = norm_forward,
    .backward = norm_backward,
    .write_json = norm_json,
    .read_json = norm_read,
};

int lf_normalization(lf_model *m, int x, const int *axis, size_t n_axis, const float *mean, const float *variance,
                     int invert, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    if (!m || lf_build_stuck(m)) return -1;
    if (n_axis && !axis) return lf_build_fail(m, LF_ERR_ARG, "Normalization: %zu axes but axis is NULL", n_axis), -1;
    if (n_axis > LF_MAX_RANK)
        return lf_build_fail(m, LF_ERR_ARG, "Normalization: %zu axes given; at most %d (the input's own axes)",
                             n_axis, LF_MAX_RANK),
               -1;
    if (!mean != !variance)
        return lf_build_fail(m, LF_ERR_ARG,
                             "Normalization: when setting values directly, both mean and variance must be set "
                             "(mean is %s, variance is %s)",
                             mean ? "set" : "NULL", variance ? "set" : "NULL"),
               -1;
    for (size_t i = 0; i < n_axis; i++) nd.norm_axis[i] = axis[i];
    nd.n_norm_axis = n_axis;
    nd.invert = invert;
    int id = lf_node_add(m, &lf_type_normalization, LF_K_NORMALIZATION, nd, &x, 1, name);
    if (id < 0 || !mean) return id;
    const lf_node *p = &m->nodes[id];
    size_t n = norm_size(p);
    for (size_t k = 0; k < n; k++)
        if (!isfinite(mean[k]) || !isfinite(variance[k]) || variance[k] < 0.0f)
            return lf_build_fail(m, LF_ERR_ARG,
                                 "Normalization '%s': mean[%zu] = %g and variance[%zu] = %g; each mean must be "
                                 "finite and each variance finite and >= 0",
                                 p->name, k, (double)mean[k], k, (double)variance[k]),
                   -1;
    float *w = m->params + p->param_off;
    memcpy(w, mean, n * sizeof *w);
    memcpy(w + n, variance, n * sizeof *w);
    return id;
}

/* ----------------------------------------------------- CategoryEncoding */

static const char *const cat_modes[] = {"multi_hot", "one_hot", "count"}; /* lf_category_mode's order */

static int cat_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 0);
    if (!x) return 0;
    size_t V = nd->input_dim, n = x->dim, out;
    if (V == 0 || V > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG, "CategoryEncoding: num_tokens must be in 1..%zu, got %zu",
                             LF_ARCH_MAX_DIM, V);
    if (nd->mode < LF_CATEGORY_MULTI_HOT || nd->mode > LF_CATEGORY_COUNT)
        return lf_build_fail(m, LF_ERR_ARG,
                             "CategoryEncoding: output_mode %d is none of LF_CATEGORY_MULTI_HOT, "
                             "LF_CATEGORY_ONE_HOT, LF_CATEGORY_COUNT",
                             nd->mode);
    if (x->rank != 1) {
        char s[96];
        lf_shape_str(x, s, sizeof s);
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "CategoryEncoding: input '%s' has shape %s; it takes token ids of rank 2 "
                             "(batch, ids)",
                             x->name, s);
    }
    if (nd->mode == LF_CATEGORY_ONE_HOT && n != 1) {
        if (!lf_mul_ok(n, V, &out) || out > LF_ARCH_MAX_DIM)
            return lf_build_fail(m, LF_ERR_ARG, "CategoryEncoding: an output of %zu x %zu values is too large", n,
                                 V);
        size_t shape[2] = {n, V};
        return lf_shape_set(m, t->type, nd, 2, shape);
    }
    return lf_shape_set(m, t->type, nd, 1, &V);
}

/* the token an id names, or V when it names none */
static size_t cat_token(float v, size_t V) {
    return (v >= 0.0f && v < (float)V && v == floorf(v)) ? (size_t)v : V;
}

static void cat_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t V = nd->input_dim, n = c->dims[0], D = nd->dim;
    memset(c->y, 0, c->B * D * sizeof *c->y);
    for (size_t r = 0; r < c->B; r++) {
        const float *x = c->xs[0] + r * n;
        float *y = c->y + r * D;
        for (size_t j = 0; j < n; j++) {
            size_t k = cat_token(x[j], V);
            if (k == V) continue;
            if (nd->mode == LF_CATEGORY_ONE_HOT) y[j * V + k] = 1.0f;
            else if (nd->mode == LF_CATEGORY_COUNT) y[k] += 1.0f;
            else y[k] = 1.0f;
        }
    }
}

static void cat_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"num_tokens\":%zu,\"output_mode\":\"%s\"", nd->input_dim, cat_modes[nd->mode]);
}

static lf_status cat_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "CategoryEncoding", where, e);
    if (st != LF_OK) return st;
    if (!lf_json_size(lf_json_get(L, "num_tokens"), &nd->input_dim) || nd->input_dim == 0 ||
        nd->input_dim > LF_ARCH_MAX_DIM)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'num_tokens' must be an integer in 1..%zu", where, LF_ARCH_MAX_DIM);
    const char *mode = lf_arch_str(L, "output_mode");
    for (int i = 0; mode && i < 3; i++)
        if (strcmp(mode, cat_modes[i]) == 0) return nd->mode = i, LF_OK;
    return lf_fail(e, LF_ERR_FORMAT, "%s: 'output_mode' must be \"multi_hot\", \"one_hot\" or \"count\"", where);
}

static const char *const cat_keys[] = {"name", "type", "inbound", "num_tokens", "output_mode", NULL};

const lf_layer_type lf_type_category_encoding = {
    .type = "CategoryEncoding",
    .prefix = "category_encoding",
    .keys = cat_keys,
    .infer = cat_infer,
    .forward = cat_forward,
    .write_json = cat_json,
    .read_json = cat_read,
};

int lf_category_encoding(lf_model *m, int x, size_t num_tokens, lf_category_mode output_mode, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.input_dim = num_tokens;
    nd.mode = (int)output_mode;
    return lf_node_add(m, &lf_type_category_encoding, LF_K_CATEGORY_ENCODING, nd, &x, 1, name);
}
