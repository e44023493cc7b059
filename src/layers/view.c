/*
 * view.c — OutputView: output k of a node that has several (Keras' layer
 * call that returns a list: LSTM / GRU / SimpleRNN with return_state,
 * Bidirectional with merge_mode None or return_state).
 *
 * The design: a node of several outputs keeps one buffer, (B, dim) with its
 * outputs side by side in each row (its record's `outputs` says where:
 * lf_out_view); the graph driver, the workspace and the losses know nothing
 * of it.  Other layers read one of its outputs through an OutputView node,
 * which copies that slice of each row into its own (B, dim_k) buffer, with
 * the output's shape and padding mask, and adds its gradient back into the
 * slice: a node's outputs that several readers use get their gradients
 * summed by the driver as for any node.  lf_node_add refuses any other
 * reader of a node of several outputs, compile refuses one as an output.
 *
 * In the model file an OutputView is a layer {"type": "OutputView",
 * "inbound": [<the node>], "index": k}; the summary prints no row for it
 * and names it "<node>[0][k]" where a layer reads it, as Keras' summary.
 */
#include "layers/layer.h"

#include <stdio.h>
#include <string.h>

/* the outputs of node src (a node of one output: its own shape) */
static size_t outputs_of(const lf_model *m, const lf_node *src, lf_out_view *v) {
    const lf_layer_type *t = lf_type_of(src);
    if (src->n_outs > 1 && t->outputs) return t->outputs(m, src, v);
    v[0].off = 0, v[0].rank = src->rank, v[0].seq_mask = src->seq_mask;
    memcpy(v[0].shape, src->shape, sizeof v[0].shape);
    return 1;
}

/* the builder put the index in nd->view */
static int view_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *src = lf_input_node(m, t->type, in, n_in, 0);
    if (!src) return 0;
    lf_out_view v[LF_MAX_OUTS];
    size_t n = outputs_of(m, src, v);
    if (nd->view >= n)
        return lf_build_fail(m, LF_ERR_ARG, "%s: layer '%s' has %zu output%s; there is no output %zu", t->type,
                             src->name, n, n == 1 ? "" : "s", nd->view);
    if (!lf_shape_set(m, t->type, nd, v[nd->view].rank, v[nd->view].shape)) return 0;
    nd->seq_mask = v[nd->view].seq_mask;
    nd->aux_per_row = 0;
    return 1;
}

static size_t view_off(const lf_layer_ctx *c) {
    lf_out_view v[LF_MAX_OUTS];
    outputs_of(c->m, &c->m->nodes[c->nd->in[0]], v);
    return v[c->nd->view].off;
}

// x: (B, dims[0])  y: (B, dim), y[r] = x[r][off, off + dim)
static void view_forward(const lf_layer_ctx *c) {
    size_t off = view_off(c), D = c->dims[0], n = c->nd->dim;
    for (size_t r = 0; r < c->B; r++) memcpy(c->y + r * n, c->xs[0] + r * D + off, n * sizeof *c->y);
}

static void view_backward(const lf_layer_ctx *c) {
    if (!c->dxs[0]) return;
    size_t off = view_off(c), D = c->dims[0], n = c->nd->dim;
    for (size_t r = 0; r < c->B; r++) {
        float *restrict dx = c->dxs[0] + r * D + off;
        const float *restrict dy = c->dy + r * n;
        for (size_t j = 0; j < n; j++) dx[j] += dy[j];
    }
}

static void view_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"index\":%zu", nd->view);
}

static lf_status view_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                           lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "OutputView", where, e);
    if (st != LF_OK) return st;
    if (!lf_json_size(lf_json_get(L, "index"), &nd->view) || nd->view >= LF_MAX_OUTS)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'index' must be an integer in 0..%d", where, LF_MAX_OUTS - 1);
    return LF_OK;
}

static const char *const view_keys[] = {"name", "type", "inbound", "index", NULL};

const lf_layer_type lf_type_output_view = {
    .type = "OutputView",
    .prefix = "output_view",
    .keys = view_keys,
    .views = 1,
    .masking = LF_MASKING_OWN, /* the viewed output's mask, set by infer */
    .infer = view_infer,
    .forward = view_forward,
    .backward = view_backward,
    .write_json = view_json,
    .read_json = view_read,
};

int lf_output_view(lf_model *m, int node, size_t k, const char *name) {
    if (!m || lf_build_stuck(m)) return -1;
    if (node < 0 || (size_t)node >= m->n_nodes)
        return lf_build_fail(m, LF_ERR_ARG, "lf_output_view: node %d is not a node of this model", node), -1;
    const lf_node *src = &m->nodes[node];
    if (src->n_outs <= 1 && k == 0) return node; /* a node of one output is its own output 0 */
    char buf[LF_NAME_MAX];
    if (!name) { /* "<node>.out<k>" when it fits and is free, else output_view, output_view_1, ... */
        int w = snprintf(buf, sizeof buf, "%s.out%zu", src->name, k);
        if (w > 0 && (size_t)w < sizeof buf && lf_node_find(m, buf) < 0) name = buf;
    }
    lf_node nd = LF_NODE_PROTO;
    nd.view = k;
    return lf_node_add(m, &lf_type_output_view, LF_K_OUTPUT_VIEW, nd, &node, 1, name);
}

size_t lf_node_num_outputs(const lf_model *m, int node) {
    if (!m || node < 0 || (size_t)node >= m->n_nodes) return 0;
    return m->nodes[node].n_outs > 1 ? m->nodes[node].n_outs : 1;
}
