/*
 * graph.c — the driver that moves a batch through the compiled graph:
 * workspace layout, the forward pass in creation (= topological) order and
 * the backward pass in reverse order.  Each node's work is done by its
 * kind's record (layers/layer.h); this file only wires buffers.
 *
 * Per node the workspace holds out (B x dim), dout (B x dim, training only)
 * and aux (B x aux_per_row, then aux_fixed whatever the batch), which the kind uses as it likes (Dense keeps z
 * and dz there, Dropout its mask, Dot the norms, weighted layers the
 * weights they used), and for a node that owns a padding mask the mask
 * (B x steps, layers/layer.h).  Input nodes own no buffer: their out points
 * into the caller's rows.
 *
 * In a training workspace an Activation(relu) that is the one reader of a
 * BatchNormalization is folded into it (lf_layer_ctx.fused_relu): the relu
 * shares the normalisation's out and dout, which hold relu(y) and the
 * relu's output gradient, and its own passes are skipped; the values are
 * those of the two passes apart.  When that relu's one reader is a
 * MaxPooling2D, the pooling's backward applies the relu's gradient as it
 * writes dx (lf_layer_ctx.relu_masked), the same values again.
 */
#include "layers/layer.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

void lf_ws_free(lf_ws *ws) {
    if (ws->owned) LF_FREE(ws->mem);
    memset(ws, 0, sizeof *ws);
}

/* Node id is an Activation(relu) folded into the BatchNormalization it
 * alone reads (the top of this file); with_grads: the workspace is a
 * training one, where the folding is done. */
static int folds_relu(const lf_model *m, size_t id, int with_grads) {
    const lf_node *nd = &m->nodes[id];
    if (!with_grads || nd->kind != LF_K_ACTIVATION || nd->act != LF_ACT_RELU || nd->n_in != 1 || !nd->needed ||
        nd->out_k >= 0)
        return 0;
    const lf_node *bn = &m->nodes[nd->in[0]];
    return bn->kind == LF_K_BATCHNORM && bn->sole_user == (int)id && bn->out_k < 0 && bn->needed;
}

/* In workspace ws, node id is such a folded relu: it shares its input's
 * buffers */
static int folded(const lf_model *m, const lf_ws *ws, size_t id) {
    const lf_node *nd = &m->nodes[id];
    return nd->n_in == 1 && ws->out[id] && ws->out[id] == ws->out[nd->in[0]];
}

/* In workspace ws, node id is such a folded relu whose one reader is a
 * MaxPooling2D: the pooling's backward applies the relu's gradient (a
 * chosen pixel's gradient where its value is > 0) and the normalisation
 * takes its dy as it is */
static int relu_masked_by_pool(const lf_model *m, const lf_ws *ws, size_t id) {
    int u = m->nodes[id].sole_user;
    return folded(m, ws, id) && u >= 0 && m->nodes[u].kind == LF_K_MAXPOOL2D;
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
        int fold = folds_relu(m, i, with_grads);
        size_t per_row = nd->aux_per_row + (lf_type_of(nd)->is_input || fold ? 0 : nd->dim) +
                         (with_grads && !fold ? nd->dim : 0) + (nd->seq_mask == (int)i ? lf_mask_steps(nd) : 0);
        size_t sz, rows;
        /* a node on a TimeDistributed's steps: T rows a sample */
        if (!lf_mul_ok(batch, lf_node_rows(nd), &rows) || !lf_mul_ok(per_row, rows, &sz) || sz > SIZE_MAX / 8 - nd->aux_fixed ||
            (sz += nd->aux_fixed) > SIZE_MAX / 8 - total)
            return LF_ERR_NOMEM;
        total += sz;
    }
    size_t fan_in = 2;
    for (size_t i = 0; i < n; i++) fan_in = m->nodes[i].n_in > fan_in ? m->nodes[i].n_in : fan_in;
    size_t n_ptrs = 4 * n + 3 * fan_in + m->n_inputs;
    size_t head = n_ptrs * sizeof(float *) + fan_in * sizeof(size_t);
    head = (head + 63) & ~(size_t)63;
    if (total > (SIZE_MAX - head - 64) / sizeof(float)) return LF_ERR_NOMEM;
    size_t bytes = head + total * sizeof(float) + 64;
    char *mem = buf;
    if (!buf || buf_bytes < bytes) {
        mem = lf_alloc_large(bytes); /* a training fit's: ~300 MB for the Web_News CNN */
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
    ws->seq_mask = ptrs + 3 * n + 2 * fan_in + m->n_inputs;
    ws->xmask = (const float **)(ptrs + 4 * n + 2 * fan_in + m->n_inputs);
    ws->dims = (size_t *)(ptrs + n_ptrs);
    ws->block = (float *)(base + head);
    float *p = ws->block;
    for (size_t i = 0; i < n; i++) {
        const lf_node *nd = &m->nodes[i];
        size_t rows = batch * lf_node_rows(nd);
        if (folds_relu(m, i, with_grads)) {
            ws->out[i] = ws->out[nd->in[0]], ws->dout[i] = ws->dout[nd->in[0]];
        } else {
            if (!lf_type_of(nd)->is_input) ws->out[i] = p, p += rows * nd->dim;
            if (with_grads) ws->dout[i] = p, p += rows * nd->dim;
        }
        if (nd->aux_per_row || nd->aux_fixed) ws->aux[i] = p, p += rows * nd->aux_per_row + nd->aux_fixed;
        if (nd->seq_mask == (int)i) ws->seq_mask[i] = p, p += rows * lf_mask_steps(nd);
    }
    ws->batch = batch;
    ws->n_nodes = n;
    ws->with_grads = with_grads;
    return LF_OK;
}

/* a gradient buffer backward fills: not a model input's unless asked for,
 * nor, unless they are, one of a node below which nothing trains */
static float *grad_of(const lf_model *m, lf_ws *ws, int src, int input_grads) {
    const lf_node *nd = &m->nodes[src];
    if (lf_type_of(nd)->is_input) return input_grads ? ws->dout[src] : NULL;
    return nd->grad_needed || input_grads ? ws->dout[src] : NULL;
}

/* Whether a node is frozen: its own flag, or, for a node that shares a
 * layer's weights, that layer's (its owner's) */
static int node_frozen(const lf_model *m, const lf_node *nd) {
    return nd->frozen || (nd->shares && m->nodes[nd->shares - 1].frozen);
}

/* The inputs of a node (and, for backward, where their gradients go) into
 * the workspace's scratch arrays, and the rest of what its record works on,
 * written field by field into *c (a by-value struct built and copied per
 * node cost store-forwarding stalls on every call of a small network) */
static void node_ctx(lf_layer_ctx *c, const lf_model *m, lf_ws *ws, size_t id, size_t B, int backward,
                     int input_grads) {
    const lf_node *nd = &m->nodes[id];
    for (size_t i = 0; i < nd->n_in; i++) {
        int src = nd->in[i];
        ws->xs[i] = ws->out[src];
        ws->dims[i] = m->nodes[src].dim;
        ws->ds[i] = backward ? grad_of(m, ws, src, input_grads) : NULL;
        ws->xmask[i] = m->nodes[src].seq_mask >= 0 ? ws->seq_mask[m->nodes[src].seq_mask] : NULL;
    }
    int is_output = nd->out_k >= 0, fused = is_output && m->outs[nd->out_k].fused && !m->outs[nd->out_k].from_logits;
    c->m = m;
    c->t = lf_type_of(nd);
    c->nd = nd;
    c->B = B;
    c->xs = ws->xs;
    c->dims = ws->dims;
    c->dxs = ws->ds;
    c->dx_fresh = 0;
    c->fused_relu = nd->sole_user >= 0 && folded(m, ws, (size_t)nd->sole_user);
    c->relu_masked = nd->kind == LF_K_MAXPOOL2D
                         ? nd->n_in == 1 && m->nodes[nd->in[0]].sole_user == (int)id &&
                               relu_masked_by_pool(m, ws, (size_t)nd->in[0])
                         : c->fused_relu && relu_masked_by_pool(m, ws, (size_t)nd->sole_user);
    c->y = ws->out[id];
    c->dy = backward ? ws->dout[id] : NULL;
    c->aux = ws->aux[id];
    c->w = m->params + nd->param_off;
    c->dw = NULL;
    c->mask = nd->mask >= 0 ? ws->out[nd->mask] : NULL;
    c->in_masks = ws->xmask;
    c->out_mask = nd->seq_mask == (int)id ? ws->seq_mask[id] : NULL;
    c->gate = nd->gate >= 0 ? ws->out[nd->gate] : NULL;
    c->dgate = backward && nd->gate >= 0 ? grad_of(m, ws, nd->gate, input_grads) : NULL;
    c->is_output = is_output;
    /* training with a fused cross-entropy: the loss reads the logits */
    c->logits_only = ws->logits_only && fused;
    c->fused = fused;
    /* a frozen BatchNormalization runs in inference mode (Keras) */
    c->training = ws->training && !(node_frozen(m, nd) && c->t->frozen_infers);
    c->draws = NULL;
    c->draw_id = 0;
    c->reduce = ws->reduce;
}

void lf_graph_forward(const lf_model *m, lf_ws *ws, const float *const *x, size_t B,
                      int training, lf_rng *rng) {
    lf_draws d = {training && rng ? lf_rng_next(rng) : 0, 0};
    lf_graph_forward_drawn(m, ws, x, B, training, training && rng ? &d : NULL);
}

void lf_graph_forward_drawn(const lf_model *m, lf_ws *ws, const float *const *x, size_t B,
                            int training, const lf_draws *draws) {
    for (size_t i = 0; i < m->n_inputs; i++) ws->out[m->inputs[i]] = (float *)x[i];
    ws->training = training;
    uint64_t drawing = 0; /* the kinds that draw, counted in node order */
    for (size_t id = 0; id < m->n_nodes; id++) {
        const lf_node *nd = &m->nodes[id];
        const lf_layer_type *t = lf_type_of(nd);
        uint64_t draw_id = lf_node_draws(nd) ? drawing++ : 0;
        if (!nd->needed || !t->forward || folded(m, ws, id)) continue;
        lf_layer_ctx c;
        size_t rows = lf_node_rows(nd);
        node_ctx(&c, m, ws, id, B * rows, 0, 0);
        /* on a TimeDistributed's steps, row r of sample b is b T + r: the
         * draws' global rows likewise */
        lf_draws d_steps = draws ? *draws : (lf_draws){0, 0};
        d_steps.row0 *= rows;
        c.draws = draws && rows > 1 ? &d_steps : draws;
        c.draw_id = draw_id;
        t->forward(&c);
    }
}

const float *lf_graph_logits(const lf_model *m, const lf_ws *ws, int id) {
    const lf_layer_type *t = lf_type_of(&m->nodes[id]);
    return t->logits ? t->logits(m, ws, id) : ws->out[id];
}

/* the backward pass of node id runs */
static int runs_backward(const lf_model *m, size_t id, int input_grads) {
    const lf_node *nd = &m->nodes[id];
    return nd->needed && lf_type_of(nd)->backward && (nd->grad_needed || input_grads);
}

/* Node src's gradient is written whole by its one reader (a kind that can,
 * lf_layer_ctx.dx_fresh), so it needs no zeroing: not an output (the loss
 * set its gradient, to be added to) */
static int written_whole(const lf_model *m, int src, int input_grads) {
    int u = m->nodes[src].sole_user;
    return m->nodes[src].out_k < 0 && u >= 0 && lf_type_of(&m->nodes[u])->dx_assign &&
           runs_backward(m, (size_t)u, input_grads);
}

void lf_graph_backward(const lf_model *m, lf_ws *ws, float *grads, size_t B, int input_grads) {
    /* zero every gradient buffer that backward adds to: all but the
     * outputs' (set by the loss), the inputs' unless asked for, and those
     * their one reader writes whole */
    size_t last = 0;
    for (size_t id = 0; id < m->n_nodes; id++) {
        const lf_node *nd = &m->nodes[id];
        if (nd->out_k >= 0) last = id;
        if (nd->needed && nd->out_k < 0 && grad_of(m, ws, (int)id, input_grads) &&
            !written_whole(m, (int)id, input_grads))
            memset(ws->dout[id], 0, B * lf_node_rows(nd) * nd->dim * sizeof(float));
    }
    for (size_t id = last + 1; id-- > 0;) {
        const lf_node *nd = &m->nodes[id];
        const lf_layer_type *t = lf_type_of(nd);
        if (!runs_backward(m, id, input_grads) || folded(m, ws, id)) continue;
        lf_layer_ctx c;
        size_t rows = B * lf_node_rows(nd);
        node_ctx(&c, m, ws, id, rows, 1, input_grads);
        c.dw = grads + nd->param_off;
        c.dx_fresh = t->dx_assign && nd->n_in == 1 && m->nodes[nd->in[0]].sole_user == (int)id &&
                     c.dxs[0] && written_whole(m, nd->in[0], input_grads);
        /* its readers have all added to dy: the activity regularizer's term
         * (regularizer.c; such an output is not fused, dy is d/dy) */
        if (ws->act_scale != 0.0f && lf_node_has_activity(m, (int)id))
            lf_activity_grad(m, nd, ws->out[id], ws->dout[id], rows, ws->act_scale);
        t->backward(&c);
    }
}

/* A node's weights train when it is not frozen and some of them are not
 * fixed (a shared node's weights are its owner's: it trains them when the
 * owner does); backward must reach a node when it or an ancestor has such
 * weights (creation order is topological: one pass). */
void lf_graph_plan(lf_model *m) {
    /* sole_user: -1 unread, -2 read more than once or not as an only input */
    for (size_t id = 0; id < m->n_nodes; id++) m->nodes[id].sole_user = -1;
    for (size_t id = 0; id < m->n_nodes; id++) {
        const lf_node *nd = &m->nodes[id];
        for (size_t j = 0; j < nd->n_in; j++) {
            lf_node *src = &m->nodes[nd->in[j]];
            src->sole_user = src->sole_user == -1 && nd->n_in == 1 ? (int)id : -2;
        }
        if (nd->gate >= 0) m->nodes[nd->gate].sole_user = -2;
        if (nd->mask >= 0) m->nodes[nd->mask].sole_user = -2;
    }
    for (size_t id = 0; id < m->n_nodes; id++)
        if (m->nodes[id].sole_user < -1) m->nodes[id].sole_user = -1;
    for (size_t id = 0; id < m->n_nodes; id++) {
        lf_node *nd = &m->nodes[id];
        const lf_node *wn = nd->shares ? &m->nodes[nd->shares - 1] : nd;
        int need = 0;
        if (!node_frozen(m, nd) && wn->n_params) {
            lf_weight w[LF_MAX_WEIGHTS];
            size_t nw = lf_node_weights(m, wn, w);
            for (size_t k = 0; k < nw; k++) need |= !w[k].fixed;
        }
        for (size_t j = 0; j < nd->n_in; j++) need |= m->nodes[nd->in[j]].grad_needed;
        if (nd->gate >= 0) need |= m->nodes[nd->gate].grad_needed;
        if (nd->mask >= 0) need |= m->nodes[nd->mask].grad_needed;
        nd->grad_needed = need;
    }
}

size_t lf_param_runs(const lf_model *m, int trains, int merge, size_t *runs, size_t cap) {
    size_t n = 0;
    for (size_t id = 0; id < m->n_nodes; id++) {
        const lf_node *nd = &m->nodes[id];
        if (!nd->n_params) continue;
        lf_weight w[LF_MAX_WEIGHTS];
        size_t nw = lf_node_weights(m, nd, w);
        for (size_t k = 0; k < nw; k++) {
            if ((!nd->frozen && !w[k].fixed) != !!trains) continue;
            size_t off = nd->param_off + w[k].off, cnt = lf_weight_count(&w[k]);
            if (merge && n && n <= cap && runs[2 * (n - 1)] + runs[2 * (n - 1) + 1] == off) {
                runs[2 * (n - 1) + 1] += cnt; /* continues the last run */
            } else {
                if (n < cap) runs[2 * n] = off, runs[2 * n + 1] = cnt;
                n++;
            }
        }
    }
    return n;
}
