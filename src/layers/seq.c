/*
 * seq.c — Keras' sequence layers over channels-last sequences x (B, T, D):
 *
 * Embedding(input_dim, output_dim, mask_zero): token ids (B, ...) ->
 * (B, ..., output_dim), row id of the table "embeddings" (input_dim,
 * output_dim), uniform(-0.05, 0.05) like Keras.  The ids arrive as floats
 * holding integers; an id outside [0, input_dim) gives a zero vector (and
 * no gradient) instead of a read outside the table, and fit, evaluate and
 * predict refuse such ids in their inputs before they run
 * (lf_token_ids_check).  With mask_zero the layer owns the padding mask of
 * its output (layers/layer.h): 0 where the id is 0.  lf_set_l2 puts Keras'
 * embeddings_regularizer=l2(x) on the whole table (every row, read or
 * not, as Keras' x * sum(embeddings^2)); its file field "l2" is written
 * only when the penalty is not 0.
 *
 * PositionEmbedding(sequence_length) (keras_hub's): x (B, T, D) -> the
 * first T rows of its table "embeddings" (sequence_length, D), the same for
 * every batch row (glorot_uniform, fan_in sequence_length, fan_out D).
 * Like keras_hub's it returns the position embeddings without adding x,
 * whose values it does not read: a model adds them, Add([x, p]), and the
 * sum keeps x's padding mask (this layer, like keras_hub's, carries none).
 *
 * Conv1D(filters, kernel_size, strides, padding, activation, use_bias):
 * x (B, T, C) -> (B, To, filters) with Conv2D's rules on one axis (To =
 * (T - k) / s + 1 "valid", ceil(T / s) "same", the odd padding step after).
 * dilation_rate d puts the taps d steps apart (the window d (k - 1) + 1
 * long); padding "causal" pads d (k - 1) steps before and none after
 * (keras/src/layers/convolutional/conv1d.py: ops.pad, then "valid"), so
 * To = ceil(T / s) and step o reads no step after o s.
 * Kernel (k, C, filters) as Keras', glorot_uniform (fan_in k C, fan_out k
 * filters), zero bias.  Both passes go through the sgemm by im2col, as
 * Conv2D's (conv.c): aux holds z and dz (with an activation), then the
 * columns (To, k C) of every row, reused for their gradients.
 *
 * GlobalAveragePooling1D / GlobalMaxPooling1D: (B, T, D) -> (B, D), the
 * mean / the largest value of each feature over the steps, and over the
 * unmasked steps only when the input carries a padding mask.  A row whose
 * every step is masked pools to 0 (no gradient flows back); Keras' mean
 * would divide 0 by 0 there.  Max keeps in aux the step it chose (ties:
 * the first), through which the gradient flows back.
 */
#include "kernels.h"
#include "layers/layer.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------ Embedding */

/* the row of the table that id v names, or input_dim when v is none */
static size_t token_row(float v, size_t input_dim) {
    return (v >= 0.0f && v < (float)input_dim && v == floorf(v)) ? (size_t)v : input_dim;
}

/* the builder put input_dim, output_dim (nd->dim) and mask_zero in nd */
static int emb_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "Embedding", in, n_in, 0);
    if (!x) return 0;
    size_t D = nd->dim, nw;
    if (nd->input_dim == 0 || nd->input_dim > LF_ARCH_MAX_DIM || D == 0 || D > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG, "Embedding: input_dim and output_dim must be in 1..%zu, got %zu and %zu",
                             LF_ARCH_MAX_DIM, nd->input_dim, D);
    if (!lf_mul_ok(nd->input_dim, D, &nw) || nw > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG, "Embedding: a table of %zu x %zu weights is too large", nd->input_dim, D);
    if (x->rank >= LF_MAX_RANK) {
        char s[96];
        lf_shape_str(x, s, sizeof s);
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "Embedding: input '%s' has shape %s; token ids have rank 2 (batch, steps) to %d",
                             x->name, s, LF_MAX_RANK);
    }
    size_t out[LF_MAX_RANK];
    memcpy(out, x->shape, x->rank * sizeof *out);
    out[x->rank] = D;
    if (!lf_shape_set(m, "Embedding", nd, x->rank + 1, out)) return 0;
    nd->seq_mask = nd->mask_zero ? (int)m->n_nodes : -1; /* the new node's id */
    return 1;
}

static size_t emb_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    (void)m;
    w[0] = (lf_weight){"embeddings", 0, 2, {nd->input_dim, nd->shape[nd->rank - 1]}, 1, 0, 0, 0};
    return 1;
}

/* uniform(-0.05, 0.05), Keras' default */
static void emb_init(lf_model *m, lf_node *nd) {
    float *w = m->params + nd->param_off;
    for (size_t i = 0; i < nd->n_params; i++) w[i] = (2.0f * lf_rng_uniform(&m->rng) - 1.0f) * 0.05f;
}

static void emb_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = nd->shape[nd->rank - 1], n = c->B * c->dims[0], V = nd->input_dim;
    const float *ids = c->xs[0];
    for (size_t i = 0; i < n; i++) {
        size_t row = token_row(ids[i], V);
        if (row < V) memcpy(c->y + i * D, c->w + row * D, D * sizeof *c->y);
        else memset(c->y + i * D, 0, D * sizeof *c->y);
        if (c->out_mask) c->out_mask[i] = ids[i] != 0.0f ? 1.0f : 0.0f;
    }
}

/* the ids take no gradient: only the rows of the table that were read */
static void emb_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = nd->shape[nd->rank - 1], n = c->B * c->dims[0], V = nd->input_dim;
    for (size_t i = 0; i < n; i++) {
        size_t row = token_row(c->xs[0][i], V);
        if (row == V) continue;
        float *dw = c->dw + row * D;
        const float *dy = c->dy + i * D;
        for (size_t j = 0; j < D; j++) dw[j] += dy[j];
    }
}

static void emb_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"input_dim\":%zu,\"output_dim\":%zu,\"mask_zero\":%s", nd->input_dim,
                  nd->shape[nd->rank - 1], nd->mask_zero ? "true" : "false");
    /* only when set: the files of tables without a penalty stay as they were */
    if (nd->l2 != 0.0f) {
        lf_buf_puts(b, ",\"l2\":");
        lf_buf_json_float(b, nd->l2);
    }
}

static lf_status emb_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "Embedding", where, e);
    if (st != LF_OK) return st;
    if (!lf_json_size(lf_json_get(L, "input_dim"), &nd->input_dim) || nd->input_dim == 0 ||
        nd->input_dim > LF_ARCH_MAX_DIM || !lf_json_size(lf_json_get(L, "output_dim"), &nd->dim) ||
        nd->dim == 0 || nd->dim > LF_ARCH_MAX_DIM)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'input_dim' and 'output_dim' must be integers in 1..%zu", where,
                       LF_ARCH_MAX_DIM);
    if ((st = lf_arch_bool(L, "mask_zero", &nd->mask_zero, where, e)) != LF_OK) return st;
    /* "l2" is optional: absent means no penalty */
    if (lf_json_get(L, "l2") && (st = lf_arch_float_in(L, "l2", 0, INFINITY, 0, &nd->l2, where, e)) != LF_OK)
        return st;
    return LF_OK;
}

static const char *const emb_keys[] = {"name", "type", "inbound", "input_dim", "output_dim", "mask_zero", "l2",
                                       NULL};

const lf_layer_type lf_type_embedding = {
    .type = "Embedding",
    .prefix = "embedding",
    .keys = emb_keys,
    .l2 = 1,
    .activity_reg = 1,
    .masking = LF_MASKING_OWN,
    .infer = emb_infer,
    .weights = emb_weights,
    .init = emb_init,
    .forward = emb_forward,
    .backward = emb_backward,
    .write_json = emb_json,
    .read_json = emb_read,
};

int lf_embedding(lf_model *m, int x, size_t input_dim, size_t output_dim, int mask_zero, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.input_dim = input_dim;
    nd.dim = output_dim;
    nd.mask_zero = mask_zero != 0;
    return lf_node_add(m, &lf_type_embedding, LF_K_EMBEDDING, nd, &x, 1, name);
}

/* value j of input i: a float array, or a typed one */
static float input_value(const float *const *x, const lf_typed_array *t, size_t i, size_t j) {
    if (x) return x[i][j];
    switch (t[i].dtype) {
    case LF_DTYPE_INT32: return (float)((const int32_t *)t[i].data)[j];
    case LF_DTYPE_UINT8: return (float)((const uint8_t *)t[i].data)[j];
    default: return ((const float *)t[i].data)[j];
    }
}

static lf_status ids_check(const lf_model *m, const float *const *x, const lf_typed_array *t, size_t n,
                           const char *what, lf_err *e) {
    for (size_t i = 0; i < m->n_inputs; i++) {
        const lf_node *in = &m->nodes[m->inputs[i]];
        for (size_t k = 0; k < m->n_nodes; k++) {
            const lf_node *nd = &m->nodes[k];
            /* CategoryEncoding keeps num_tokens in input_dim: the same rule */
            int ids = nd->kind == LF_K_EMBEDDING || nd->kind == LF_K_CATEGORY_ENCODING;
            if (!ids || nd->in[0] != m->inputs[i] || !nd->needed) continue;
            for (size_t j = 0; j < n * in->dim; j++) {
                float v = input_value(x, t, i, j);
                if (token_row(v, nd->input_dim) == nd->input_dim)
                    return lf_fail(e, LF_ERR_ARG,
                                   "%s: %s '%s' got token id %g at row %zu, position %zu of input '%s'; "
                                   "ids must be integers in [0, %zu)",
                                   what, lf_type_of(nd)->type, nd->name, (double)v, j / in->dim, j % in->dim,
                                   in->name, nd->input_dim);
            }
        }
    }
    return LF_OK;
}

lf_status lf_token_ids_check(const lf_model *m, const float *const *x, size_t n, const char *what, lf_err *e) {
    return ids_check(m, x, NULL, n, what, e);
}

lf_status lf_token_ids_check_typed(const lf_model *m, const lf_typed_array *x, size_t n, const char *what,
                                   lf_err *e) {
    return ids_check(m, NULL, x, n, what, e);
}

/* ---------------------------------------------------- PositionEmbedding */

/* the builder put sequence_length in nd->input_dim */
static int pos_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "PositionEmbedding", in, n_in, 2);
    if (!x) return 0;
    if (nd->input_dim == 0 || nd->input_dim > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG, "PositionEmbedding: sequence_length must be in 1..%zu, got %zu",
                             LF_ARCH_MAX_DIM, nd->input_dim);
    if (x->shape[0] > nd->input_dim) {
        char s[96];
        lf_shape_str(x, s, sizeof s);
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "PositionEmbedding: input '%s' has shape %s, longer than sequence_length %zu", x->name,
                             s, nd->input_dim);
    }
    size_t nw;
    if (!lf_mul_ok(nd->input_dim, x->shape[1], &nw) || nw > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG, "PositionEmbedding: a table of %zu x %zu weights is too large",
                             nd->input_dim, x->shape[1]);
    return lf_shape_set(m, "PositionEmbedding", nd, 2, x->shape);
}

static size_t pos_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    (void)m;
    w[0] = (lf_weight){"embeddings", 0, 2, {nd->input_dim, nd->shape[1]}, 0, 0, 0, 0};
    return 1;
}

static void pos_init(lf_model *m, lf_node *nd) {
    float *w = m->params + nd->param_off;
    float limit = sqrtf(6.0f / (float)(nd->input_dim + nd->shape[1]));
    for (size_t i = 0; i < nd->n_params; i++) w[i] = (2.0f * lf_rng_uniform(&m->rng) - 1.0f) * limit;
}

static void pos_forward(const lf_layer_ctx *c) {
    size_t n = c->nd->dim; /* the first T rows of the table */
    for (size_t r = 0; r < c->B; r++) memcpy(c->y + r * n, c->w, n * sizeof *c->y);
}

static void pos_backward(const lf_layer_ctx *c) {
    size_t n = c->nd->dim;
    for (size_t r = 0; r < c->B; r++)
        for (size_t j = 0; j < n; j++) c->dw[j] += c->dy[r * n + j];
}

static void pos_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"sequence_length\":%zu", nd->input_dim);
}

static lf_status pos_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "PositionEmbedding", where, e);
    if (st != LF_OK) return st;
    if (!lf_json_size(lf_json_get(L, "sequence_length"), &nd->input_dim) || nd->input_dim == 0 ||
        nd->input_dim > LF_ARCH_MAX_DIM)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'sequence_length' must be an integer in 1..%zu", where,
                       LF_ARCH_MAX_DIM);
    return LF_OK;
}

static const char *const pos_keys[] = {"name", "type", "inbound", "sequence_length", NULL};

const lf_layer_type lf_type_position_embedding = {
    .type = "PositionEmbedding",
    .prefix = "position_embedding",
    .keys = pos_keys,
    .infer = pos_infer,
    .weights = pos_weights,
    .init = pos_init,
    .forward = pos_forward,
    .backward = pos_backward,
    .write_json = pos_json,
    .read_json = pos_read,
};

int lf_position_embedding(lf_model *m, int x, size_t sequence_length, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.input_dim = sequence_length;
    return lf_node_add(m, &lf_type_position_embedding, LF_K_POSITION_EMBEDDING, nd, &x, 1, name);
}

/* --------------------------------------------------------------- Conv1D */

typedef struct geom1 {
    size_t T, C, To, k, s, d, pad, F, K;
} geom1;

static geom1 geom1_of(const lf_node *x, const lf_node *nd) {
    geom1 g;
    g.T = x->shape[0], g.C = x->shape[1], g.k = nd->kernel[0], g.s = nd->strides[0], g.d = nd->dilation[0];
    g.To = lf_conv_out_dilated(g.T, g.k, g.s, g.d, nd->padding, &g.pad);
    g.F = nd->shape[nd->rank - 1];
    g.K = g.k * g.C;
    return g;
}

/* cols (To, k C) of one sequence x (T, C); zeros where the window leaves it */
static void im2col1(float *restrict cols, const float *restrict x, const geom1 *g) {
    for (size_t o = 0; o < g->To; o++)
        for (size_t j = 0; j < g->k; j++) {
            size_t t = o * g->s + j * g->d; /* + pad: unsigned, compared shifted */
            float *dst = cols + o * g->K + j * g->C;
            if (t < g->pad || t - g->pad >= g->T) memset(dst, 0, g->C * sizeof *dst);
            else memcpy(dst, x + (t - g->pad) * g->C, g->C * sizeof *dst);
        }
}

/* dx (T, C) += the columns' gradients scattered back */
static void col2im1(float *restrict dx, const float *restrict dcols, const geom1 *g) {
    for (size_t o = 0; o < g->To; o++)
        for (size_t j = 0; j < g->k; j++) {
            size_t t = o * g->s + j * g->d;
            if (t < g->pad || t - g->pad >= g->T) continue;
            const float *src = dcols + o * g->K + j * g->C;
            float *d = dx + (t - g->pad) * g->C;
            for (size_t ch = 0; ch < g->C; ch++) d[ch] += src[ch];
        }
}

static const lf_node *conv1_input(const lf_model *m, const lf_node *nd) { return &m->nodes[nd->in[0]]; }

static const lf_conv_spec conv1d_spec = {.kn = "Conv1D", .rank = 1, .filters = 1, .causal = 1};

/* the builder put filters in nd->dim, kernel[0], strides[0], padding, act */
static int conv1_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    size_t out[2], cols;
    const lf_node *x = lf_conv_setup(m, &conv1d_spec, nd, in, n_in, out);
    if (!x) return 0;
    size_t K = nd->kernel[0] * x->shape[1];
    if (!lf_conv_columns(m, "Conv1D", nd, 1, out, out[0], K, nd->dim, &cols)) return 0;
    nd->aux_per_row = cols + (nd->act == LF_ACT_LINEAR ? 0 : 2 * nd->dim); /* columns, z and dz */
    return 1;
}

static void conv1_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    geom1 g = geom1_of(conv1_input(c->m, nd), nd);
    size_t B = c->B, in = g.T * g.C;
    size_t zz = nd->act == LF_ACT_LINEAR ? 0 : 2 * B * nd->dim;
    float *cols = c->aux + zz;
    const float *x = c->xs[0];
#pragma omp parallel for if (B * g.To * g.K > 65536) schedule(static)
    for (size_t r = 0; r < B; r++) im2col1(cols + r * g.To * g.K, x + r * in, &g);
    const float *b = nd->use_bias ? c->w + g.K * g.F : NULL;
    float *z = nd->act == LF_ACT_LINEAR ? c->y : c->aux;
    lf_sgemm_bias_relu(0, 0, B * g.To, g.F, g.K, cols, g.K, c->w, g.F, b, 0, z, g.F);
    /* over the last axis (filters) of every step */
    if (nd->act != LF_ACT_LINEAR) lf_act_forward(nd->act, c->y, z, B * g.To, g.F);
}

static void conv1_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    geom1 g = geom1_of(conv1_input(c->m, nd), nd);
    size_t B = c->B, N = B * g.To, in = g.T * g.C;
    size_t zz = nd->act == LF_ACT_LINEAR ? 0 : 2 * N * g.F;
    float *cols = c->aux + zz;
    const float *dz = lf_conv_dz(c, c->aux, N, g.F, nd->use_bias ? c->dw + g.K * g.F : NULL);
    lf_sgemm(1, 0, g.K, g.F, N, 1.0f, cols, g.K, dz, g.F, 1.0f, c->dw, g.F);
    float *dx = c->dxs[0];
    if (!dx) return;
    /* the columns are spent: they become d cols */
    lf_sgemm(0, 1, N, g.K, g.F, 1.0f, dz, g.F, c->w, g.F, 0.0f, cols, g.K);
#pragma omp parallel for if (N * g.K > 65536) schedule(static)
    for (size_t r = 0; r < B; r++) col2im1(dx + r * in, cols + r * g.To * g.K, &g);
}

static void conv1_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_conv_write_json(nd, 1, b);
    lf_conv_write_dilation(nd, 1, b);
}

static lf_status conv1_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                            lf_err *e) {
    (void)m;
    return lf_conv_read_json(L, n_in, 1, "Conv1D", nd, where, e);
}

const lf_layer_type lf_type_conv1d = {
    .type = "Conv1D",
    .prefix = "conv1d",
    .keys = lf_conv_keys,
    .l2 = 1,
    .bias_l2 = 1,
    .activity_reg = 1,
    .infer = conv1_infer,
    .weights = lf_conv_weights,
    .init = lf_conv_init,
    .forward = conv1_forward,
    .backward = conv1_backward,
    .write_json = conv1_json,
    .read_json = conv1_read,
};

int lf_conv1d(lf_model *m, int x, size_t filters, size_t kernel_size, size_t strides, lf_padding padding,
              lf_activation act, int use_bias, const char *name) {
    return lf_conv1d_dilated(m, x, filters, kernel_size, strides, padding, 1, act, use_bias, name);
}

int lf_conv1d_dilated(lf_model *m, int x, size_t filters, size_t kernel_size, size_t strides, lf_padding padding,
                      size_t dilation_rate, lf_activation act, int use_bias, const char *name) {
    lf_node nd = lf_conv_node(1, filters, &kernel_size, &strides, &dilation_rate, padding, act, use_bias);
    return lf_node_add(m, &lf_type_conv1d, LF_K_CONV1D, nd, &x, 1, name);
}

/* ------------------------------------------------ global 1-D poolings */

enum { POOL1_AVG, POOL1_MAX };

#define NO_STEP UINT32_MAX /* max over no step: nothing to route back to */

static int gpool1_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 2);
    if (!x) return 0;
    if (!lf_shape_set(m, t->type, nd, 1, &x->shape[1])) return 0;
    nd->aux_per_row = t->op == POOL1_MAX ? nd->dim : 0; /* the chosen steps */
    return 1;
}

static void gpool1_forward(const lf_layer_ctx *c) {
    size_t D = c->nd->dim, T = c->dims[0] / D;
    const float *mask = c->in_masks[0];
    int avg = c->t->op == POOL1_AVG;
    for (size_t r = 0; r < c->B; r++) {
        const float *x = c->xs[0] + r * T * D, *mk = mask ? mask + r * T : NULL;
        float *y = c->y + r * D;
        if (avg) {
            float count = 0.0f;
            memset(y, 0, D * sizeof *y);
            for (size_t s = 0; s < T; s++) {
                if (mk && mk[s] == 0.0f) continue;
                count += 1.0f;
                for (size_t j = 0; j < D; j++) y[j] += x[s * D + j];
            }
            float inv = count > 0.0f ? 1.0f / count : 0.0f;
            for (size_t j = 0; j < D; j++) y[j] *= inv;
            continue;
        }
        uint32_t *arg = (uint32_t *)(void *)(c->aux + r * D);
        for (size_t j = 0; j < D; j++) y[j] = 0.0f, arg[j] = NO_STEP;
        for (size_t s = 0; s < T; s++) {
            if (mk && mk[s] == 0.0f) continue;
            for (size_t j = 0; j < D; j++)
                if (arg[j] == NO_STEP || x[s * D + j] > y[j] || x[s * D + j] != x[s * D + j])
                    y[j] = x[s * D + j], arg[j] = (uint32_t)s; /* a NaN is taken: it propagates */
        }
    }
}

static void gpool1_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    size_t D = c->nd->dim, T = c->dims[0] / D;
    const float *mask = c->in_masks[0];
    for (size_t r = 0; r < c->B; r++) {
        const float *dy = c->dy + r * D, *mk = mask ? mask + r * T : NULL;
        float *d = dx + r * T * D;
        if (c->t->op == POOL1_MAX) {
            const uint32_t *arg = (const uint32_t *)(const void *)(c->aux + r * D);
            for (size_t j = 0; j < D; j++)
                if (arg[j] != NO_STEP) d[arg[j] * D + j] += dy[j];
            continue;
        }
        float count = 0.0f;
        for (size_t s = 0; s < T; s++) count += (!mk || mk[s] != 0.0f) ? 1.0f : 0.0f;
        if (count == 0.0f) continue;
        float inv = 1.0f / count;
        for (size_t s = 0; s < T; s++) {
            if (mk && mk[s] == 0.0f) continue;
            for (size_t j = 0; j < D; j++) d[s * D + j] += dy[j] * inv;
        }
    }
}

static lf_status gpool1_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                             lf_err *e) {
    (void)m, (void)L, (void)nd;
    return lf_arch_arity(n_in, 1, "a pooling layer", where, e);
}

static const char *const gpool1_keys[] = {"name", "type", "inbound", NULL};

const lf_layer_type lf_type_gavgpool1d = {
    .type = "GlobalAveragePooling1D",
    .prefix = "global_average_pooling1d",
    .keys = gpool1_keys,
    .op = POOL1_AVG,
    .infer = gpool1_infer,
    .forward = gpool1_forward,
    .backward = gpool1_backward,
    .read_json = gpool1_read,
};

const lf_layer_type lf_type_gmaxpool1d = {
    .type = "GlobalMaxPooling1D",
    .prefix = "global_max_pooling1d",
    .keys = gpool1_keys,
    .op = POOL1_MAX,
    .infer = gpool1_infer,
    .forward = gpool1_forward,
    .backward = gpool1_backward,
    .read_json = gpool1_read,
};

int lf_global_average_pooling1d(lf_model *m, int x, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    return lf_node_add(m, &lf_type_gavgpool1d, LF_K_GAVGPOOL1D, nd, &x, 1, name);
}

int lf_global_max_pooling1d(lf_model *m, int x, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    return lf_node_add(m, &lf_type_gmaxpool1d, LF_K_GMAXPOOL1D, nd, &x, 1, name);
}
