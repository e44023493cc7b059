/*
 * gqa.c — GroupedQueryAttention, Keras' layer (keras/src/layers/attention/
 * grouped_query_attention.py; Ainslie et al. 2023): attention of
 * num_query_heads query heads of head_dim over num_key_value_heads key/value
 * heads, each key/value head shared by a group of num_query_heads /
 * num_key_value_heads consecutive query heads (Keras' ops.repeat(key,
 * num_repeats, axis=2)).  query (B, T, D), value (B, S, D), key (B, S, Dk)
 * (the value unless a third input), output (B, T, D), D the query's
 * features.
 *
 * Weights, Keras' order and layout (EinsumDense kernels), Hq query and Hk
 * key/value heads of hd:
 *   query.kernel (D, Hq, hd)   query.bias (Hq, hd)
 *   key.kernel   (Dk, Hk, hd)  key.bias   (Hk, hd)
 *   value.kernel (D, Hk, hd)   value.bias (Hk, hd)
 *   attention_output.kernel (Hq, hd, D)   attention_output.bias (D)
 * glorot_uniform kernels (Keras' fans of a rank-3 kernel), zero biases.
 *
 * It is MultiHeadAttention with fewer key/value heads: a node holds Hq in
 * `heads`, hd in `key_dim` and `value_dim`, Hk in `kv_heads`, and runs
 * attention.c's record (its projections, masks, dropout and scratch;
 * lf_attention_forward_grouped reads key/value head h / (Hq / Hk) for
 * query head h).  Scores scaled by 1/sqrt(head_dim); the padding masks of
 * the query and the value (or key), use_causal_mask and dropout on the
 * weights in training as MultiHeadAttention; Keras' call arguments
 * attention_mask and return_attention_scores through MultiHeadAttention's
 * lf_set_attention_mask and lf_set_return_attention_scores (the scores
 * (B, num_query_heads, T, S)).
 */
#include "layers/layers.h"
#include "layers/layer.h"

#define GQA "GroupedQueryAttention"

/* the builder put head_dim in key_dim and value_dim, num_query_heads in
 * heads and num_key_value_heads in kv_heads */
static int gqa_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    if (nd->key_dim == 0 || nd->key_dim > 65536 || nd->heads == 0 || nd->heads > 4096 || nd->kv_heads == 0 ||
        nd->kv_heads > 4096)
        return lf_build_fail(m, LF_ERR_ARG,
                             GQA ": head_dim must be in 1..65536 and num_query_heads and num_key_value_heads "
                                 "in 1..4096, got %zu, %zu and %zu",
                             nd->key_dim, nd->heads, nd->kv_heads);
    if (nd->heads % nd->kv_heads != 0)
        return lf_build_fail(m, LF_ERR_ARG,
                             GQA ": `num_query_heads` must be divisible by `num_key_value_heads`. "
                                 "Received: num_query_heads=%zu, num_key_value_heads=%zu",
                             nd->heads, nd->kv_heads);
    nd->value_dim = nd->key_dim;
    nd->dim = 0; /* the query's features */
    if (!lf_type_mha.infer(m, t, nd, in, n_in)) return 0;
    const lf_node *xq = &m->nodes[in[0]], *xv = &m->nodes[in[1]];
    if (xq->shape[1] != xv->shape[1]) /* Keras' compute_output_shape */
        return lf_build_fail(m, LF_ERR_SHAPE,
                             GQA ": the last dimension of the query '%s' and the value '%s' must be equal, "
                                 "but are %zu, %zu",
                             xq->name, xv->name, xq->shape[1], xv->shape[1]);
    return 1;
}

static size_t gqa_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    return lf_type_mha.weights(m, nd, w);
}

static void gqa_init(lf_model *m, lf_node *nd) { lf_type_mha.init(m, nd); }

static void gqa_forward(const lf_layer_ctx *c) { lf_type_mha.forward(c); }

static void gqa_backward(const lf_layer_ctx *c) { lf_type_mha.backward(c); }

static size_t gqa_outputs(const lf_model *m, const lf_node *nd, lf_out_view *v) {
    return lf_type_mha.outputs(m, nd, v);
}

/* Keras' settings; the defaults (dropout 0, use_bias true, no causal mask)
 * are not written.  (No L2: Keras' kernel_regularizer is not taken.) */
static void gqa_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    lf_buf_printf(b, ",\"head_dim\":%zu,\"num_query_heads\":%zu,\"num_key_value_heads\":%zu", nd->key_dim,
                  nd->heads, nd->kv_heads);
    if (nd->rate != 0.0f) lf_buf_puts(b, ",\"dropout\":"), lf_buf_json_float(b, nd->rate);
    if (!nd->use_bias) lf_buf_puts(b, ",\"use_bias\":false");
    lf_mha_write_call(m, nd, b);
}

static lf_status gqa_size(const lf_json *L, const char *key, size_t hi, size_t *out, const char *where,
                          lf_err *e) {
    if (!lf_json_size(lf_json_get(L, key), out) || *out == 0 || *out > hi)
        return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be an integer in 1..%zu", where, key, hi);
    return LF_OK;
}

static lf_status gqa_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    if (n_in < 2 || n_in > 3) return lf_fail(e, LF_ERR_FORMAT, "%s: " GQA " takes 2 or 3 inbound layers", where);
    lf_status st;
    nd->use_bias = 1;
    if ((st = gqa_size(L, "head_dim", 65536, &nd->key_dim, where, e)) ||
        (st = gqa_size(L, "num_query_heads", 4096, &nd->heads, where, e)) ||
        (st = gqa_size(L, "num_key_value_heads", 4096, &nd->kv_heads, where, e)))
        return st;
    if (lf_json_get(L, "dropout") &&
        (st = lf_arch_float_in(L, "dropout", 0, 1, LF_ARCH_HI_OPEN, &nd->rate, where, e)))
        return st;
    if (lf_json_get(L, "use_bias") && (st = lf_arch_bool(L, "use_bias", &nd->use_bias, where, e))) return st;
    return lf_mha_read_call(m, L, nd, where, e);
}

static const char *const gqa_keys[] = {"name",    "type",     "inbound",         "head_dim", "num_query_heads",
                                       "num_key_value_heads", "dropout", "use_bias", "use_causal_mask",
                                       "attention_mask", "return_attention_scores", NULL};

const lf_layer_type lf_type_gqa = {
    .type = GQA,
    .prefix = "grouped_query_attention",
    .keys = gqa_keys,
    .masking = LF_MASKING_FIRST, /* the query's mask */
    .draws = 1,                  /* its attention dropout */
    .outputs = gqa_outputs,      /* return_attention_scores */
    .infer = gqa_infer,
    .weights = gqa_weights,
    .init = gqa_init,
    .forward = gqa_forward,
    .backward = gqa_backward,
    .write_json = gqa_json,
    .read_json = gqa_read,
};

int lf_grouped_query_attention(lf_model *m, int query, int value, int key, size_t head_dim, size_t num_query_heads,
                               size_t num_key_value_heads, float dropout, int use_bias, int use_causal_mask,
                               const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.key_dim = head_dim;
    nd.heads = num_query_heads;
    nd.kv_heads = num_key_value_heads;
    nd.rate = dropout;
    nd.use_bias = use_bias != 0;
    nd.causal = use_causal_mask != 0;
    int in[3] = {query, value, key};
    return lf_node_add(m, &lf_type_gqa, LF_K_GQA, nd, in, key >= 0 ? 3 : 2, name);
}
