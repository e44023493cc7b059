/*
 * dense.c — the fully connected layer, y = act(x w^T + b), on top of the one
 * sgemm interface (kernels.h).  w is (out, in) like PyTorch's nn.Linear.
 * Its record: weights "kernel" (units, in) and "bias" (units), glorot_uniform
 * initial kernel and zero bias; with an activation the workspace keeps z
 * and dz per row (a relu Dense other than the output keeps neither, see
 * relu_in_place).
 *
 * Like Keras' Dense it acts on the last axis: a (T, D) input is T rows of D
 * features each, giving (T, units), and its padding mask passes through.
 */
#include "layers/layers.h"
#include "layers/layer.h"
#include "kernels.h"

#include <math.h>
#include <string.h>

// x: (B, in)  w: (out, in)  b: (out)  y: (B, out); relu: y = max(y, 0),
// applied with the bias while each tile of y is in registers
void lf_dense_forward(float *restrict y, const float *restrict x, const float *restrict w,
                      const float *restrict b, size_t B, size_t in, size_t out, int relu) {
    lf_sgemm_bias_relu(0, 1, B, out, in, x, in, w, in, b, relu, y, out);
}

// dz: (B, out)  x: (B, in)  w: (out, in)
// dx (B, in) += dz w;  dw (out, in) += dz^T x;  db (out) += sum_rows dz
void lf_dense_backward(float *restrict dx, float *restrict dw, float *restrict db,
                       const float *restrict dz, const float *restrict x,
                       const float *restrict w, size_t B, size_t in, size_t out) {
    if (dx) lf_sgemm(0, 0, B, in, out, 1.0f, dz, out, w, in, 1.0f, dx, in);
    if (dw) lf_sgemm(1, 0, out, in, B, 1.0f, dz, out, x, in, 1.0f, dw, in);
    if (db)
        for (size_t r = 0; r < B; r++)
            for (size_t j = 0; j < out; j++) db[j] += dz[r * out + j];
}

/* ---------------------------------------------------------------- record */

/* the input's last axis: the features each of its rows has */
static size_t in_dim(const lf_model *m, const lf_node *nd) {
    const lf_node *x = &m->nodes[nd->in[0]];
    return x->shape[x->rank - 1];
}

/* nd->dim holds the units the builder asked for */
static int dense_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    if (!lf_check_act(m, nd->act)) return 0;
    int x = in[0];
    if (x < 0 || (size_t)x >= m->n_nodes)
        return lf_build_fail(m, LF_ERR_ARG, "Dense: input is not a node of this model (id %d)", x);
    (void)n_in;
    const lf_node *xn = &m->nodes[x];
    size_t units = nd->dim, in_f = xn->shape[xn->rank - 1], nw, out[LF_MAX_RANK];
    if (!lf_mul_ok(units, in_f, &nw) || nw > SIZE_MAX / 8 - units)
        return lf_build_fail(m, LF_ERR_ARG, "Dense: %zu x %zu weights overflow", units, in_f);
    memcpy(out, xn->shape, sizeof out);
    out[xn->rank - 1] = units;
    if (!lf_shape_set(m, "Dense", nd, xn->rank, out)) return 0;
    nd->aux_per_row = nd->act == LF_ACT_LINEAR ? 0 : 2 * nd->dim; /* z and dz */
    return 1;
}

static size_t dense_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    size_t in = in_dim(m, nd), units = nd->shape[nd->rank - 1];
    w[0] = (lf_weight){"kernel", 0, 2, {units, in}, 1, 0, 0, 0};
    if (!nd->use_bias) return 1;
    w[1] = (lf_weight){"bias", units * in, 1, {units}, 0, 0, 1, 0};
    return 2;
}

/* glorot_uniform kernel, zero bias */
static void dense_init(lf_model *m, lf_node *nd) {
    size_t in = in_dim(m, nd), units = nd->shape[nd->rank - 1], nw = units * in;
    float *w = m->params + nd->param_off;
    float limit = sqrtf(6.0f / (float)(in + units));
    for (size_t i = 0; i < nw; i++) w[i] = (2.0f * lf_rng_uniform(&m->rng) - 1.0f) * limit;
    if (nd->use_bias) memset(w + nw, 0, units * sizeof *w);
}

/* A relu Dense (other than the output, whose pre-activation the losses may
 * read) writes max(z, 0) straight from the sgemm's epilogue and keeps no z:
 * its backward pass takes relu' from y. */
static int relu_in_place(const lf_layer_ctx *c) { return c->nd->act == LF_ACT_RELU && !c->is_output; }

/* the rows (batch rows x steps) and features of the input's last axis */
static size_t rows_in(const lf_layer_ctx *c, size_t *in) {
    const lf_node *x = &c->m->nodes[c->nd->in[0]];
    *in = x->shape[x->rank - 1];
    return c->B * (x->dim / *in);
}

static void dense_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t in, R = rows_in(c, &in), units = nd->shape[nd->rank - 1];
    const float *b = nd->use_bias ? c->w + units * in : NULL;
    if (relu_in_place(c)) {
        lf_dense_forward(c->y, c->xs[0], c->w, b, R, in, units, 1);
        return;
    }
    float *z = nd->act == LF_ACT_LINEAR ? c->y : c->aux;
    lf_dense_forward(z, c->xs[0], c->w, b, R, in, units, 0);
    /* (the output's softmax is left undone when the loss reads the logits) */
    if (nd->act != LF_ACT_LINEAR && !(c->logits_only && nd->act == LF_ACT_SOFTMAX))
        lf_act_forward(nd->act, c->y, z, R, units);
}

/* relu's gradient and the bias' in one pass over the rows (for a relu
 * Dense that kept no z): dz = dy where y > 0 (y = max(z, 0) > 0 iff z > 0),
 * else 0; db (n, or NULL) += the column sums of dz, row by row in order
 * (the sums lf_dense_backward would make) */
LF_CLONES static void relu_backward_bias(float *restrict dz, float *restrict db, const float *restrict dy,
                                         const float *restrict y, size_t R, size_t n) {
    for (size_t r = 0; r < R; r++) {
        const float *restrict dyr = dy + r * n, *restrict yr = y + r * n;
        float *restrict dzr = dz + r * n;
        for (size_t j = 0; j < n; j++) {
            float g = dyr[j]; /* read unconditionally, so the loop vectorises */
            dzr[j] = yr[j] > 0 ? g : 0.0f;
        }
        if (db)
            for (size_t j = 0; j < n; j++) db[j] += dzr[j];
    }
}

static void dense_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t in, R = rows_in(c, &in), units = nd->shape[nd->rank - 1];
    const float *dz = c->dy;
    if (relu_in_place(c) && !c->fused) {
        float *dzb = c->aux + c->B * nd->dim;
        relu_backward_bias(dzb, nd->use_bias ? c->dw + units * in : NULL, c->dy, c->y, R, units);
        lf_dense_backward(c->dxs[0], c->dw, NULL, dzb, c->xs[0], c->w, R, in, units);
        return;
    }
    if (nd->act != LF_ACT_LINEAR && !c->fused) {
        float *dzb = c->aux + c->B * nd->dim;
        /* relu' from y = max(z, 0) when z was not kept: y > 0 iff z > 0 */
        const float *z = relu_in_place(c) ? c->y : c->aux;
        lf_act_backward(nd->act, dzb, c->dy, z, c->y, R, units);
        dz = dzb;
    }
    lf_dense_backward(c->dxs[0], c->dw, nd->use_bias ? c->dw + units * in : NULL, dz, c->xs[0], c->w, R, in,
                      units);
}

static const float *dense_logits(const lf_model *m, const lf_ws *ws, int id) {
    return m->nodes[id].act == LF_ACT_LINEAR ? ws->out[id] : ws->aux[id];
}

static void dense_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"units\":%zu,\"activation\":\"%s\",\"use_bias\":%s,\"l2\":", nd->shape[nd->rank - 1],
                  lf_activation_name(nd->act), nd->use_bias ? "true" : "false");
    lf_buf_json_float(b, nd->l2);
    lf_arch_write_bias_l2(nd, b);
}

static lf_status dense_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                            const char *where, lf_err *e) {
    (void)m;
    int act = lf_activation_parse(lf_arch_str(L, "activation"));
    if (act < 0) return lf_fail(e, LF_ERR_FORMAT, "%s: unknown or missing activation", where);
    nd->act = (lf_activation)act;
    lf_status st = lf_arch_arity(n_in, 1, "Dense", where, e);
    if (st != LF_OK) return st;
    if (!lf_json_size(lf_json_get(L, "units"), &nd->dim) || nd->dim == 0 || nd->dim > LF_ARCH_MAX_DIM)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'units' must be an integer in 1..%zu", where,
                       LF_ARCH_MAX_DIM);
    if ((st = lf_arch_bool(L, "use_bias", &nd->use_bias, where, e)) != LF_OK) return st;
    /* "l2" is optional: absent means no penalty */
    if (lf_json_get(L, "l2") && (st = lf_arch_float_in(L, "l2", 0, INFINITY, 0, &nd->l2, where, e)) != LF_OK)
        return st;
    return lf_arch_read_bias_l2(L, nd, where, e);
}

static const char *const dense_keys[] = {"name", "type", "inbound", "units", "activation",
                                         "use_bias", "l2", "bias_l2", NULL};

const lf_layer_type lf_type_dense = {
    .type = "Dense",
    .prefix = "dense",
    .keys = dense_keys,
    .l2 = 1,
    .bias_l2 = 1,
    .activity_reg = 1,
    .masking = LF_MASKING_KEEP,
    .infer = dense_infer,
    .weights = dense_weights,
    .init = dense_init,
    .forward = dense_forward,
    .backward = dense_backward,
    .logits = dense_logits,
    .write_json = dense_json,
    .read_json = dense_read,
};

int lf_dense(lf_model *m, int x, size_t units, lf_activation act, int use_bias,
             const char *name) {
    if (!m || lf_build_stuck(m)) return -1;
    if (units == 0) return lf_build_fail(m, LF_ERR_ARG, "Dense: units must be at least 1, got 0"), -1;
    lf_node nd = LF_NODE_PROTO;
    nd.dim = units;
    nd.act = act;
    nd.use_bias = use_bias != 0;
    return lf_node_add(m, &lf_type_dense, LF_K_DENSE, nd, &x, 1, name);
}
