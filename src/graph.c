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
 * Independent small nodes (the towers of a multi-input network) run side by
 * side on the OpenMP threads: see "independent nodes" below.
 */
#include "kernels.h"
#include "layers/layers.h"
#include "model.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

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

/* Where a node reads its inputs (xs, dims) and, for backward, writes their
 * gradients (ds): the workspace's scratch arrays for a node run alone, the
 * thread's own for nodes run side by side (see the runs below). */
typedef struct node_io {
    const float **xs;
    float **ds;
    size_t *dims;
} node_io;

/* The inputs of a node (and, for backward, where their gradients go) into
 * io.  Gradients of model inputs are skipped unless asked for. */
static void gather(const lf_model *m, const lf_ws *ws, const lf_node *nd, int want_grads,
                   int input_grads, node_io io) {
    for (size_t i = 0; i < nd->n_in; i++) {
        int src = nd->in[i];
        io.xs[i] = ws->out[src];
        io.dims[i] = m->nodes[src].dim;
        int is_input = m->nodes[src].kind == LF_K_INPUT;
        io.ds[i] = (want_grads && (!is_input || input_grads)) ? ws->dout[src] : NULL;
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

/* One node's forward pass over B rows. */
static void forward_node(const lf_model *m, lf_ws *ws, size_t id, size_t B, int training,
                         lf_rng *rng, node_io io) {
    const lf_node *nd = &m->nodes[id];
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
        gather(m, ws, nd, 0, 0, io);
        if (nd->kind == LF_K_CONCATENATE) lf_concat_forward(y, io.xs, io.dims, nd->n_in, B);
        else if (nd->kind == LF_K_WAVG) lf_wavg_forward(y, aux, io.xs, w, mask, nd->n_in, B, nd->dim);
        else if (nd->kind == LF_K_CWAVG) lf_cwavg_forward(y, aux, io.xs, w, mask, nd->n_in, B, nd->dim);
        else if (nd->kind == LF_K_GATED)
            lf_gated_forward(y, aux, io.xs, ws->out[nd->gate], mask, nd->n_in, B, nd->dim);
        else lf_merge_forward(merge_op(nd->kind), y, io.xs, nd->n_in, B, nd->dim);
        break;
    case LF_K_DOT:
        lf_dot_forward(y, aux, x0, ws->out[nd->in[1]], B, in0, nd->normalize);
        break;
    case LF_K_INPUT:
    case LF_K_COUNT:
        break;
    }
}

const float *lf_graph_logits(const lf_model *m, const lf_ws *ws) {
    const lf_node *nd = &m->nodes[m->output];
    if (nd->kind == LF_K_DENSE) return nd->act == LF_LINEAR ? ws->out[m->output] : ws->aux[m->output];
    if (nd->kind == LF_K_ACTIVATION) return ws->out[nd->in[0]];
    return ws->out[m->output];
}

/* One node's backward pass over B rows: gradients of its parameters into
 * grads, of its inputs added to their dout. */
static void backward_node(lf_model *m, lf_ws *ws, size_t id, float *grads, size_t B,
                          int input_grads, uint64_t step, node_io io) {
    const lf_node *nd = &m->nodes[id];
    const float *dy = ws->dout[id], *y = ws->out[id];
    float *aux = ws->aux[id];
    float *gw = grads + nd->param_off;
    const float *w = m->params + nd->param_off;
    int fused_here = m->fused && (int)id == m->output;
    gather(m, ws, nd, 1, input_grads, io);
    float *dx0 = nd->n_in ? io.ds[0] : NULL;
    const float *x0 = nd->n_in ? io.xs[0] : NULL;
    size_t in0 = nd->n_in ? io.dims[0] : 0;
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
        lf_concat_backward(io.ds, dy, io.dims, nd->n_in, B);
        break;
    case LF_K_WAVG:
        lf_wavg_backward(io.ds, gw, dy, io.xs, aux, nd->n_in, B, nd->dim);
        break;
    case LF_K_CWAVG:
        lf_cwavg_backward(io.ds, gw, dy, io.xs, aux, nd->n_in, B, nd->dim);
        break;
    case LF_K_GATED: {
        int g = nd->gate;
        float *dgate = (m->nodes[g].kind != LF_K_INPUT || input_grads) ? ws->dout[g] : NULL;
        lf_gated_backward(io.ds, dgate, dy, io.xs, aux, nd->n_in, B, nd->dim);
        break;
    }
    case LF_K_DOT:
        lf_dot_backward(dx0, io.ds[1], dy, x0, io.xs[1], aux, B, in0, nd->normalize);
        break;
    case LF_K_ADD: case LF_K_SUBTRACT: case LF_K_MULTIPLY:
    case LF_K_AVERAGE: case LF_K_MAXIMUM: case LF_K_MINIMUM:
        lf_merge_backward(merge_op(nd->kind), io.ds, dy, io.xs, y, nd->n_in, B, nd->dim);
        break;
    case LF_K_INPUT:
    case LF_K_COUNT:
        break;
    }
    if (step) lf_optim_node(m, id, step);
}

/* ------------------------------------------------- independent nodes
 *
 * Small networks leave the second core idle: a Dense of a few thousand
 * weights on a batch of 32 is a few hundred thousand FLOPs, which the
 * sgemm runs on one thread (splitting it would cost more than it saves).
 * But the branches of a multi-input network are independent: the seed's
 * two Dense(32) towers can run at the same time, one per thread.
 *
 * lf_graph_plan groups consecutive nodes (in creation order, skipping the
 * inputs and the nodes the output does not need) into runs in which no node
 * reads another's output and no two nodes share an input, so that in the
 * backward pass no two of them add to the same gradient buffer.  Dropout
 * (which draws from the model's generator in node order), Gated (its gate
 * gradient may be shared) and the output (read by the losses) always run
 * alone.  At run time a run goes to the OpenMP threads when at least two
 * of its nodes have enough work to repay the hand-off and none is large
 * enough for its sgemm to use the threads itself.  Every node is computed
 * by one thread exactly as it would be alone, so the results are the same
 * bits whatever the number of threads.
 *
 * The k-th node of a run always goes to thread k mod T, forward and
 * backward, and takes its optimizer step there (lf_graph_backward's step):
 * its weights, gradients and moments stay in that core's cache.  Without
 * that affinity, moving ~40 KB between the cores every step made the seed's
 * fit slower on two threads than on one (6.7 ms against 4.7 ms); with it,
 * 4.4 ms (2-core Zen 4 VM). */
#define RUN_FAN_IN 8          /* most inputs of a node in a run (stack arrays) */
#define RUN_MAX 16            /* most nodes in a run */
#define RUN_MIN_FLOPS 65536.0 /* a node worth handing to another thread */

static int may_run_beside(const lf_model *m, size_t id) {
    const lf_node *nd = &m->nodes[id];
    if ((int)id == m->output || nd->n_in > RUN_FAN_IN || nd->gate >= 0) return 0;
    return nd->kind != LF_K_INPUT && nd->kind != LF_K_DROPOUT && nd->kind != LF_K_GATED;
}

/* b reads a's output, or the two share an input */
static int depends(const lf_node *a, int a_id, const lf_node *b) {
    if (b->mask == a_id) return 1;
    for (size_t i = 0; i < b->n_in; i++) {
        if (b->in[i] == a_id) return 1;
        for (size_t j = 0; j < a->n_in; j++)
            if (b->in[i] == a->in[j]) return 1;
    }
    return 0;
}

static void close_run(lf_model *m, const int *run, size_t n) {
    for (size_t k = 0; n >= 2 && k < n; k++) {
        m->nodes[run[k]].run_first = run[0];
        m->nodes[run[k]].run_last = run[n - 1];
    }
}

void lf_graph_plan(lf_model *m) {
    int run[RUN_MAX];
    size_t n = 0;
    for (size_t id = 0; id < m->n_nodes; id++) m->nodes[id].run_first = m->nodes[id].run_last = -1;
    for (size_t id = 0; id < m->n_nodes; id++) {
        const lf_node *nd = &m->nodes[id];
        if (!nd->needed || nd->kind == LF_K_INPUT) continue;
        int joins = may_run_beside(m, id) && n < RUN_MAX;
        for (size_t k = 0; joins && k < n; k++)
            if (depends(&m->nodes[run[k]], run[k], nd)) joins = 0;
        if (!joins) {
            close_run(m, run, n);
            n = 0;
            if (!may_run_beside(m, id)) continue;
        }
        run[n++] = (int)id;
    }
    close_run(m, run, n);
}

/* the FLOPs of one node's forward pass over B rows (the largest product
 * its backward pass does is the same size) */
static double node_flops(const lf_model *m, const lf_node *nd, size_t B) {
    double f = (double)B * (double)nd->dim;
    if (nd->kind == LF_K_DENSE) return 2.0 * f * (double)m->nodes[nd->in[0]].dim;
    return f * (double)(nd->n_in ? nd->n_in : 1);
}

/* The active nodes of the run [first, last] into ids; returns their number
 * when the run should go to the threads, else 0. */
static size_t run_members(const lf_model *m, int first, int last, size_t B, int *ids) {
#ifdef _OPENMP
    if (first < 0 || omp_get_max_threads() < 2 || omp_in_parallel()) return 0;
    size_t n = 0, worth = 0;
    for (int id = first; id <= last; id++) {
        const lf_node *nd = &m->nodes[id];
        if (!nd->needed || nd->kind == LF_K_INPUT) continue;
        double f = node_flops(m, nd, B);
        if (f >= (double)LF_SGEMM_PARALLEL_FLOPS) return 0;
        worth += f >= RUN_MIN_FLOPS;
        ids[n++] = id;
    }
    return worth >= 2 ? n : 0;
#else
    (void)m, (void)first, (void)last, (void)B, (void)ids;
    return 0;
#endif
}

static node_io ws_io(lf_ws *ws) {
    node_io io = {ws->xs, ws->ds, ws->dims};
    return io;
}

void lf_graph_forward(const lf_model *m, lf_ws *ws, const float *const *x, size_t B,
                      int training, lf_rng *rng) {
    for (size_t i = 0; i < m->n_inputs; i++) ws->out[m->inputs[i]] = (float *)x[i];
    ws->training = training;
    for (size_t id = 0; id < m->n_nodes; id++) {
        const lf_node *nd = &m->nodes[id];
        if (!nd->needed || nd->kind == LF_K_INPUT) continue;
        int ids[RUN_MAX];
        size_t n = nd->run_first == (int)id ? run_members(m, nd->run_first, nd->run_last, B, ids) : 0;
        if (!n) {
            forward_node(m, ws, id, B, training, rng, ws_io(ws));
            continue;
        }
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 1) num_threads(n < (size_t)omp_get_max_threads() ? (int)n : omp_get_max_threads())
#endif
        for (size_t k = 0; k < n; k++) {
            const float *xs[RUN_FAN_IN];
            float *ds[RUN_FAN_IN];
            size_t dims[RUN_FAN_IN];
            node_io io = {xs, ds, dims};
            forward_node(m, ws, (size_t)ids[k], B, training, NULL, io);
        }
        id = (size_t)nd->run_last;
    }
}

void lf_graph_backward(lf_model *m, lf_ws *ws, float *grads, size_t B, int input_grads,
                       uint64_t step) {
    /* zero every gradient buffer but the output's (set by the loss) */
    for (size_t id = 0; id < m->n_nodes; id++)
        if (m->nodes[id].needed && (int)id != m->output && ws->dout[id])
            memset(ws->dout[id], 0, B * m->nodes[id].dim * sizeof(float));
    for (size_t id = (size_t)m->output + 1; id-- > 0;) {
        const lf_node *nd = &m->nodes[id];
        if (!nd->needed || nd->kind == LF_K_INPUT) continue;
        int ids[RUN_MAX];
        size_t n = nd->run_last == (int)id ? run_members(m, nd->run_first, nd->run_last, B, ids) : 0;
        if (!n) {
            backward_node(m, ws, id, grads, B, input_grads, step, ws_io(ws));
            continue;
        }
#ifdef _OPENMP
#pragma omp parallel for schedule(static, 1) num_threads(n < (size_t)omp_get_max_threads() ? (int)n : omp_get_max_threads())
#endif
        for (size_t k = 0; k < n; k++) {
            const float *xs[RUN_FAN_IN];
            float *ds[RUN_FAN_IN];
            size_t dims[RUN_FAN_IN];
            node_io io = {xs, ds, dims};
            backward_node(m, ws, (size_t)ids[k], grads, B, input_grads, step, io);
        }
        id = (size_t)nd->run_first;
    }
}
