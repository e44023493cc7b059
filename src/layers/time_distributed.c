/*
 * time_distributed.c — Keras' TimeDistributed(layer)
 * (keras/src/layers/rnn/time_distributed.py: the input (B, T, ...) reshaped
 * to (B T, ...), the layer applied, the result reshaped to (B, T, ...)).
 *
 * The design: the rows of a (B, T, rest) batch are, value for value, B T
 * rows of `rest`.  So a TimeDistributed is two nodes around ordinary ones:
 * a TimeDistributedInput node (lf_time_distributed) whose per-step shape
 * is x's without its first axis, and a TimeDistributed node
 * (lf_time_distributed_end) that puts the steps axis back.  Every node
 * built between them — any kind, a nested model inlined, several layers —
 * is "on the steps" (lf_node.td, td_steps, set by lf_node_add from its
 * inputs): the workspace gives it B T rows and the graph driver runs its
 * record with a batch of B T rows (graph.c), so one set of weights serves
 * every step, and BatchNormalization's statistics run over the B T rows
 * (tf.keras 2's reshape; Keras 3 calls the layer once per step, whose
 * training statistics are then per step over B rows: not reproduced).
 * Both nodes copy their rows (forward) and add the gradient back
 * (backward).  lf_node_add refuses a node whose inputs are on different
 * steps (one inside, one outside), compile an output on the steps.
 *
 * A padding mask of x (B, T s) is, value for value, (B T) rows of s: the
 * TimeDistributedInput node carries x's mask owner (LF_MASKING_OWN), so the
 * layers on the steps read each step's mask (Keras' call passes mask[i] to
 * the wrapped layer) from the owner's buffer, and the TimeDistributed node
 * carries none (Keras 3: supports_masking False, the mask ends there).
 *
 * Not here: nesting (a TimeDistributed on the steps of another).  The
 * model file keeps both nodes as layers {"type": "TimeDistributedInput"}
 * and {"type": "TimeDistributed"} with no field of their own; what lies
 * between them is derived from the inbound layers again when the file is
 * read.
 */
#include "layers/layer.h"

#include <string.h>

static int td_input_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "TimeDistributed", in, n_in, 0);
    if (!x) return 0;
    char s[96];
    lf_shape_str(x, s, sizeof s);
    if (x->rank < 2)
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "TimeDistributed: input '%s' has shape %s; it needs rank 3 or more (batch, steps, ...)",
                             x->name, s);
    if (x->td)
        return lf_build_fail(m, LF_ERR_ARG,
                             "TimeDistributed: input '%s' is on the steps of TimeDistributed '%s' already; "
                             "nesting them is not supported",
                             x->name, m->nodes[x->td - 1].name);
    if (!lf_shape_set(m, "TimeDistributed", nd, x->rank - 1, x->shape + 1)) return 0;
    /* x's padding mask, B x (T s) values, is (B T) x s: each step's mask
     * (Keras' mask[i]) for the layers on the steps, in the owner's buffer */
    nd->seq_mask = x->seq_mask;
    nd->td = (int)m->n_nodes + 1; /* the new node's id */
    nd->td_steps = x->shape[0];
    return 1;
}

static int td_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "TimeDistributed", in, n_in, 0);
    if (!x) return 0;
    if (!x->td)
        return lf_build_fail(m, LF_ERR_ARG,
                             "TimeDistributed: input '%s' is not on the steps of a TimeDistributed (open them "
                             "with lf_time_distributed)",
                             x->name);
    size_t out[LF_MAX_RANK];
    if (x->rank + 1 > LF_MAX_RANK) {
        char s[96];
        lf_shape_str(x, s, sizeof s);
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "TimeDistributed: the steps' output '%s' has shape %s; with the steps axis that is "
                             "rank %zu, above %d (batch included: %d)",
                             x->name, s, x->rank + 2, LF_MAX_RANK, LF_MAX_RANK + 1);
    }
    out[0] = x->td_steps;
    memcpy(out + 1, x->shape, x->rank * sizeof *out);
    if (!lf_shape_set(m, "TimeDistributed", nd, x->rank + 1, out)) return 0;
    nd->td = 0, nd->td_steps = 0;
    return 1;
}

// x: (B, dims[0])  y: (B, dim), the same B dims[0] values (one side counts B T rows)
static void td_copy_forward(const lf_layer_ctx *c) {
    memcpy(c->y, c->xs[0], c->B * c->nd->dim * sizeof *c->y);
}

static void td_copy_backward(const lf_layer_ctx *c) {
    if (!c->dxs[0]) return;
    float *restrict dx = c->dxs[0];
    const float *restrict dy = c->dy;
    for (size_t i = 0, n = c->B * c->nd->dim; i < n; i++) dx[i] += dy[i];
}

static lf_status td_input_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                               lf_err *e) {
    (void)m, (void)L, (void)nd;
    return lf_arch_arity(n_in, 1, "TimeDistributedInput", where, e);
}

static lf_status td_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                         lf_err *e) {
    (void)m, (void)L, (void)nd;
    return lf_arch_arity(n_in, 1, "TimeDistributed", where, e);
}

static const char *const td_keys[] = {"name", "type", "inbound", NULL};

const lf_layer_type lf_type_td_input = {
    .type = "TimeDistributedInput",
    .prefix = "time_distributed_input",
    .keys = td_keys,
    .infer = td_input_infer,
    .masking = LF_MASKING_OWN, /* x's mask, per step: set by infer */
    .forward = td_copy_forward,
    .backward = td_copy_backward,
    .read_json = td_input_read,
};

const lf_layer_type lf_type_time_distributed = {
    .type = "TimeDistributed",
    .prefix = "time_distributed",
    .keys = td_keys,
    .infer = td_infer,
    .forward = td_copy_forward,
    .backward = td_copy_backward,
    .read_json = td_read,
};

int lf_time_distributed(lf_model *m, int x, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    return lf_node_add(m, &lf_type_td_input, LF_K_TD_INPUT, nd, &x, 1, name);
}

int lf_time_distributed_end(lf_model *m, int y, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    return lf_node_add(m, &lf_type_time_distributed, LF_K_TIME_DISTRIBUTED, nd, &y, 1, name);
}
