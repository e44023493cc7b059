/*
 * graph.c — the driver that moves a batch through the compiled graph:
 * workspace layout, the forward pass in creation (= topological) order and
 * the backward pass in reverse order.  Each node's work is done by the pure
 * kernels of layers/ and kernels.c; this file only wires buffers.
 *
 * Per node the workspace holds out (B x dim), dout (B x dim, training only)
 * and aux (B x aux_per_row): Dense with an activation keeps z (not for relu,
 * see relu_in_place) and dz there,
 * Dropout its mask, Dot the norms, weighted layers the weights they used.
 * Input nodes own no buffer: their out points into the caller's rows.
 */
#include "kernels.h"
#include "layers/layers.h"
#include "model.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

void lf_ws_free(lf_ws *ws) {
    if (ws->owned) LF_FREE(ws->mem);
    memset(ws, 0, sizeof *ws);
}

/* One block holds everything: the per-node pointer arrays, the scratch
 * pointer arrays, the dims, then the floats (aligned to 64 bytes).  It is
 * carved from the caller's buffer when that is large enough (predict of a
 * few rows allocates nothing), else allocated once. */
lf_status lf_ws_init(lf_ws *ws, const lf_model *m, size_t batch, int with_grads, void *buf,
                     size_t buf_bytes) {
    memset(ws, 0, sizeof *ws);
    size_t n = m->n_nodes, total = 0;
    for (size_t i = 0; i < n; i++) {
        const lf_node *nd = &m->nodes[i];
        size_t per_row = nd->aux_per_row + (nd->kind == LF_K_INPUT ? 0 : nd->dim) +
                         (with_grads ? nd->dim : 0);
        size_t sz;
        if (!lf_mul_ok(per_row, batch, &sz) || sz > SIZE_MAX / 8 - total) return LF_ERR_NOMEM;
        total += sz;
    }
    size_t fan_in = 2;
    for (size_t i = 0; i < n; i++) fan_in = m->nodes[i].n_in > fan_in ? m->nodes[i].n_in : fan_in;
    size_t n_ptrs = 3 * n + 2 * fan_in + m->n_inputs;
    size_t head = n_ptrs * sizeof(float *) + fan_in * sizeof(size_t);
    head = (head + 63) & ~(size_t)63;
    if (total > (SIZE_MAX - head - 64) / sizeof(float)) return LF_ERR_NOMEM;
    size_t bytes = head + total * sizeof(float) + 64;
    char *mem = buf;
    if (!buf || buf_bytes < bytes) {
        mem = LF_MALLOC(bytes);
        if (!mem) return LF_ERR_NOMEM;
        ws->owned = 1;
    }
    ws->mem = mem;
    char *base = (char *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);
    float **ptrs = (float **)base;
    memset(ptrs, 0, n_ptrs * sizeof *ptrs);
    ws->out = ptrs;
    ws->dout = ptrs + n;
    ws->aux = ptrs + 2 * n;
    ws->xs = (const float **)(ptrs + 3 * n);
    ws->ds = ptrs + 3 * n + fan_in;
    ws->xin = (const float **)(ptrs + 3 * n + 2 * fan_in);
    ws->dims = (size_t *)(ptrs + n_ptrs);
    ws->block = (float *)(base + head);
    float *p = ws->block;
    for (size_t i = 0; i < n; i++) {
        const lf_node *nd = &m->nodes[i];
        if (nd->kind != LF_K_INPUT) ws->out[i] = p, p += batch * nd->dim;
        if (with_grads) ws->dout[i] = p, p += batch * nd->dim;
        if (nd->aux_per_row) ws->aux[i] = p, p += batch * nd->aux_per_row;
    }
    ws->batch = batch;
    ws->n_nodes = n;
    ws->with_grads = with_grads;
    return LF_OK;
}

static lf_merge_op merge_op(lf_kind k) {
    switch (k) {
    case LF_K_SUBTRACT: return LF_MERGE_SUB;
    case LF_K_MULTIPLY: return LF_MERGE_MUL;
    case LF_K_AVERAGE: return LF_MERGE_AVG;
    case LF_K_MAXIMUM: return LF_MERGE_MAX;
    case LF_K_MINIMUM: return LF_MERGE_MIN;
    default: return LF_MERGE_ADD;
    }
}

/* The inputs of a node (and, for backward, where their gradients go) into
 * the workspace's scratch arrays.  Gradients of model inputs are skipped
 * unless asked for. */
static void gather(const lf_model *m, lf_ws *ws, const lf_node *nd, int want_grads,
                   int input_grads) {
    for (size_t i = 0; i < nd->n_in; i++) {
        int src = nd->in[i];
        ws->xs[i] = ws->out[src];
        ws->dims[i] = m->nodes[src].dim;
        int is_input = m->nodes[src].kind == LF_K_INPUT;
        ws->ds[i] = (want_grads && (!is_input || input_grads)) ? ws->dout[src] : NULL;
    }
}

/* A relu Dense (other than the output, whose pre-activation the losses may
 * read) writes max(z, 0) straight from the sgemm's epilogue and keeps no z:
 * its backward pass takes relu' from y. */
static int relu_in_place(const lf_model *m, const lf_node *nd, size_t id) {
    return nd->act == LF_RELU && (int)id != m->output;
}

/* The output's softmax, when the caller needs only the logits (training
 * with a fused cross-entropy: the loss and its gradient come from them). */
static int skip_softmax(const lf_model *m, const lf_ws *ws, size_t id) {
    return ws->logits_only && m->fused && (int)id == m->output && m->nodes[id].act == LF_SOFTMAX;
}

void lf_graph_forward(const lf_model *m, lf_ws *ws, const float *const *x, size_t B,
                      int training, lf_rng *rng) {
    for (size_t i = 0; i < m->n_inputs; i++) ws->out[m->inputs[i]] = (float *)x[i];
    ws->training = training;
    for (size_t id = 0; id < m->n_nodes; id++) {
        const lf_node *nd = &m->nodes[id];
        if (!nd->needed || nd->kind == LF_K_INPUT) continue;
        float *y = ws->out[id], *aux = ws->aux[id];
        const float *w = m->params + nd->param_off;
        const float *x0 = nd->n_in ? ws->out[nd->in[0]] : NULL;
        size_t in0 = nd->n_in ? m->nodes[nd->in[0]].dim : 0;
        const float *mask = nd->mask >= 0 ? ws->out[nd->mask] : NULL;
        switch (nd->kind) {
        case LF_K_DENSE: {
            const float *b = nd->use_bias ? w + nd->dim * in0 : NULL;
            if (relu_in_place(m, nd, id)) {
                lf_dense_forward(y, x0, w, b, B, in0, nd->dim, 1);
                break;
            }
            float *z = nd->act == LF_LINEAR ? y : aux;
            lf_dense_forward(z, x0, w, b, B, in0, nd->dim, 0);
            if (nd->act != LF_LINEAR && !skip_softmax(m, ws, id)) lf_act_forward(nd->act, y, z, B, nd->dim);
            break;
        }
        case LF_K_ACTIVATION:
            if (!skip_softmax(m, ws, id)) lf_act_forward(nd->act, y, x0, B, nd->dim);
            break;
        case LF_K_DROPOUT:
            if (training && nd->rate > 0.0f) lf_dropout_forward(y, aux, x0, B * nd->dim, nd->rate, rng);
            else memcpy(y, x0, B * nd->dim * sizeof *y);
            break;
        case LF_K_CONCATENATE:
        case LF_K_WAVG:
        case LF_K_CWAVG:
        case LF_K_GATED:
        case LF_K_ADD: case LF_K_SUBTRACT: case LF_K_MULTIPLY:
        case LF_K_AVERAGE: case LF_K_MAXIMUM: case LF_K_MINIMUM:
            gather(m, ws, nd, 0, 0);
            if (nd->kind == LF_K_CONCATENATE) lf_concat_forward(y, ws->xs, ws->dims, nd->n_in, B);
            else if (nd->kind == LF_K_WAVG) lf_wavg_forward(y, aux, ws->xs, w, mask, nd->n_in, B, nd->dim);
            else if (nd->kind == LF_K_CWAVG) lf_cwavg_forward(y, aux, ws->xs, w, mask, nd->n_in, B, nd->dim);
            else if (nd->kind == LF_K_GATED)
                lf_gated_forward(y, aux, ws->xs, ws->out[nd->gate], mask, nd->n_in, B, nd->dim);
            else lf_merge_forward(merge_op(nd->kind), y, ws->xs, nd->n_in, B, nd->dim);
            break;
        case LF_K_DOT:
            lf_dot_forward(y, aux, x0, ws->out[nd->in[1]], B, in0, nd->normalize);
            break;
        case LF_K_INPUT:
        case LF_K_COUNT:
            break;
        }
    }
}

const float *lf_graph_logits(const lf_model *m, const lf_ws *ws) {
    const lf_node *nd = &m->nodes[m->output];
    if (nd->kind == LF_K_DENSE) return nd->act == LF_LINEAR ? ws->out[m->output] : ws->aux[m->output];
    if (nd->kind == LF_K_ACTIVATION) return ws->out[nd->in[0]];
    return ws->out[m->output];
}

void lf_graph_backward(const lf_model *m, lf_ws *ws, float *grads, size_t B, int input_grads) {
    /* zero every gradient buffer that backward adds to: all but the
     * output's (set by the loss) and the inputs' unless asked for */
    for (size_t id = 0; id < m->n_nodes; id++) {
        const lf_node *nd = &m->nodes[id];
        if (nd->needed && (int)id != m->output && ws->dout[id] &&
            (nd->kind != LF_K_INPUT || input_grads))
            memset(ws->dout[id], 0, B * nd->dim * sizeof(float));
    }
    for (size_t id = (size_t)m->output + 1; id-- > 0;) {
        const lf_node *nd = &m->nodes[id];
        if (!nd->needed || nd->kind == LF_K_INPUT) continue;
        const float *dy = ws->dout[id], *y = ws->out[id];
        float *aux = ws->aux[id];
        float *gw = grads + nd->param_off;
        const float *w = m->params + nd->param_off;
        int fused_here = m->fused && (int)id == m->output;
        gather(m, ws, nd, 1, input_grads);
        float *dx0 = nd->n_in ? ws->ds[0] : NULL;
        const float *x0 = nd->n_in ? ws->xs[0] : NULL;
        size_t in0 = nd->n_in ? ws->dims[0] : 0;
        switch (nd->kind) {
        case LF_K_DENSE: {
            const float *dz = dy;
            if (nd->act != LF_LINEAR && !fused_here) {
                float *dzb = aux + B * nd->dim;
                /* relu' from y = max(z, 0) when z was not kept: y > 0 iff z > 0 */
                const float *z = relu_in_place(m, nd, id) ? y : aux;
                lf_act_backward(nd->act, dzb, dy, z, y, B, nd->dim);
                dz = dzb;
            }
            lf_dense_backward(dx0, gw, nd->use_bias ? gw + nd->dim * in0 : NULL, dz, x0, w, B, in0,
                              nd->dim);
            break;
        }
        case LF_K_ACTIVATION:
            if (!dx0) break;
            if (fused_here) {
                for (size_t j = 0; j < B * nd->dim; j++) dx0[j] += dy[j];
            } else {
                lf_act_backward(nd->act, aux, dy, x0, y, B, nd->dim);
                for (size_t j = 0; j < B * nd->dim; j++) dx0[j] += aux[j];
            }
            break;
        case LF_K_DROPOUT:
            if (!dx0) break;
            if (ws->training && nd->rate > 0.0f) lf_dropout_backward(dx0, dy, aux, B * nd->dim);
            else for (size_t j = 0; j < B * nd->dim; j++) dx0[j] += dy[j];
            break;
        case LF_K_CONCATENATE:
            lf_concat_backward(ws->ds, dy, ws->dims, nd->n_in, B);
            break;
        case LF_K_WAVG:
            lf_wavg_backward(ws->ds, gw, dy, ws->xs, aux, nd->n_in, B, nd->dim);
            break;
        case LF_K_CWAVG:
            lf_cwavg_backward(ws->ds, gw, dy, ws->xs, aux, nd->n_in, B, nd->dim);
            break;
        case LF_K_GATED: {
            int g = nd->gate;
            float *dgate = (m->nodes[g].kind != LF_K_INPUT || input_grads) ? ws->dout[g] : NULL;
            lf_gated_backward(ws->ds, dgate, dy, ws->xs, aux, nd->n_in, B, nd->dim);
            break;
        }
        case LF_K_DOT:
            lf_dot_backward(dx0, ws->ds[1], dy, x0, ws->xs[1], aux, B, in0, nd->normalize);
            break;
        case LF_K_ADD: case LF_K_SUBTRACT: case LF_K_MULTIPLY:
        case LF_K_AVERAGE: case LF_K_MAXIMUM: case LF_K_MINIMUM:
            lf_merge_backward(merge_op(nd->kind), ws->ds, dy, ws->xs, y, nd->n_in, B, nd->dim);
            break;
        case LF_K_INPUT:
        case LF_K_COUNT:
            break;
        }
    }
}
