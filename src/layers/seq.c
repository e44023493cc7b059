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
 * its output (layers/layer.h): 0 where the id is 0.
 *
 * GlobalAveragePooling1D / GlobalMaxPooling1D: (B, T, D) -> (B, D), the
 * mean / the largest value of each feature over the steps, and over the
 * unmasked steps only when the input carries a padding mask.  A row whose
 * every step is masked pools to 0 (no gradient flows back); Keras' mean
 * would divide 0 by 0 there.  Max keeps in aux the step it chose (ties:
 * the first), through which the gradient flows back.
 */
#include "layers/layer.h"

#include <float.h>
#include <math.h>
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
                             "Embedding: input '%s' has shape %s; token ids have rank 2 (batch, steps) or 3",
                             x->name, s);
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
    w[0] = (lf_weight){"embeddings", 0, 2, {nd->input_dim, nd->shape[nd->rank - 1]}, 0, 0};
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
    return lf_arch_bool(L, "mask_zero", &nd->mask_zero, where, e);
}

static const char *const emb_keys[] = {"name", "type", "inbound", "input_dim", "output_dim", "mask_zero", NULL};

const lf_layer_type lf_type_embedding = {
    .type = "Embedding",
    .prefix = "embedding",
    .keys = emb_keys,
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

lf_status lf_token_ids_check(const lf_model *m, const float *const *x, size_t n, const char *what, lf_err *e) {
    for (size_t i = 0; i < m->n_inputs; i++) {
        const lf_node *in = &m->nodes[m->inputs[i]];
        for (size_t k = 0; k < m->n_nodes; k++) {
            const lf_node *nd = &m->nodes[k];
            if (nd->kind != LF_K_EMBEDDING || nd->in[0] != m->inputs[i] || !nd->needed) continue;
            for (size_t j = 0; j < n * in->dim; j++)
                if (token_row(x[i][j], nd->input_dim) == nd->input_dim)
                    return lf_fail(e, LF_ERR_ARG,
                                   "%s: Embedding '%s' got token id %g at row %zu, position %zu of input '%s'; "
                                   "ids must be integers in [0, %zu)",
                                   what, nd->name, (double)x[i][j], j / in->dim, j % in->dim, in->name,
                                   nd->input_dim);
        }
    }
    return LF_OK;
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
                if (arg[j] == NO_STEP || x[s * D + j] > y[j]) y[j] = x[s * D + j], arg[j] = (uint32_t)s;
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
