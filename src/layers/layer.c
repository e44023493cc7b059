/*
 * layer.c — what the layer records and their builders share: adding a node
 * to the graph (name, input and shape checks, the weight layout, initial
 * weights), finding a node by name, sticky builder errors, and readers of
 * the architecture JSON's fields.  It reaches a kind only through the
 * record it is given (never through the table).
 */
#include "layers/layer.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int lf_build_fail(lf_model *m, lf_status st, const char *fmt, ...) {
    if (m->sticky == LF_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(m->sticky_err.msg, sizeof m->sticky_err.msg, fmt, ap);
        va_end(ap);
        m->sticky = st;
    }
    memcpy(m->err.msg, m->sticky_err.msg, sizeof m->err.msg);
    return 0;
}

int lf_build_stuck(lf_model *m) {
    if (m->sticky == LF_OK) return 0;
    memcpy(m->err.msg, m->sticky_err.msg, sizeof m->err.msg);
    return 1;
}

int lf_check_act(lf_model *m, lf_activation act) {
    if ((unsigned)act >= LF_ACT_COUNT) return lf_build_fail(m, LF_ERR_ARG, "unknown activation %d", (int)act);
    return 1;
}

int lf_node_find(const lf_model *m, const char *name) {
    if (!m || !name) return -1;
    for (size_t i = 0; i < m->n_nodes; i++)
        if (strcmp(m->nodes[i].name, name) == 0) return (int)i;
    return -1;
}

size_t lf_weight_count(const lf_weight *w) {
    size_t n = 1;
    for (size_t d = 0; d < w->ndim; d++) n *= w->shape[d];
    return n;
}

static int grow_params(lf_model *m, size_t extra) {
    if (extra > SIZE_MAX / sizeof(float) - m->n_params) return 0;
    size_t need = m->n_params + extra;
    /* the block always exists once a node does, so that param_off
     * arithmetic is valid even for layers without weights */
    if (need <= m->cap_params && m->params) return 1;
    size_t cap = m->cap_params ? m->cap_params : 256;
    while (cap < need) cap = cap > SIZE_MAX / 2 / sizeof(float) ? need : cap * 2;
    float *p = LF_REALLOC(m->params, cap * sizeof *p);
    if (!p) return 0;
    m->params = p;
    m->cap_params = cap;
    return 1;
}

/* The padding mask of a new node's output (layer.h): none, its inputs'
 * (which must not be two different ones), its first input's, or its own
 * (set by infer). */
static int seq_mask_of(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in,
                       const char *name) {
    if (t->masking == LF_MASKING_OWN) return 1;
    nd->seq_mask = -1;
    if (t->masking != LF_MASKING_KEEP && t->masking != LF_MASKING_FIRST) return 1;
    for (size_t i = 0; i < (t->masking == LF_MASKING_FIRST && n_in ? 1 : n_in); i++) {
        int s = m->nodes[in[i]].seq_mask;
        if (s < 0 || s == nd->seq_mask) continue;
        if (nd->seq_mask >= 0)
            return lf_build_fail(m, LF_ERR_SHAPE,
                                 "%s '%s': its inputs carry the padding masks of two layers ('%s' and "
                                 "'%s'); combining masks is not supported",
                                 t->type, name, m->nodes[nd->seq_mask].name, m->nodes[s].name);
        /* the input's steps, not the owner's: on a TimeDistributed's steps
         * the owner's T s steps are s per row of B T */
        if (lf_mask_steps(&m->nodes[in[i]]) != lf_mask_steps(nd))
            return 1; /* the steps changed (a Dense over a flat input): no mask */
        nd->seq_mask = s;
    }
    return 1;
}

/* The TimeDistributed steps node nd is computed on (nd->td, td_steps:
 * time_distributed.c): its inputs' (gate and mask included), which must
 * all be the same; the two TimeDistributed kinds set their own in infer.
 * 0 after lf_build_fail. */
static int td_of(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in, const char *name) {
    if (nd->kind == LF_K_TD_INPUT || nd->kind == LF_K_TIME_DISTRIBUTED) return 1;
    int first = -1;
    nd->td = 0, nd->td_steps = 0;
    for (size_t i = 0; i < n_in + 2; i++) {
        int src = i < n_in ? in[i] : i == n_in ? nd->gate : nd->mask;
        if (src < 0 || (size_t)src >= m->n_nodes) continue;
        const lf_node *s = &m->nodes[src];
        if (first < 0) {
            first = src, nd->td = s->td, nd->td_steps = s->td_steps;
        } else if (s->td != nd->td) {
            const lf_node *in_td = s->td ? s : &m->nodes[first], *out_td = s->td ? &m->nodes[first] : s;
            if (in_td->td && out_td->td)
                return lf_build_fail(m, LF_ERR_ARG,
                                     "%s '%s': input '%s' is on the steps of TimeDistributed '%s' and input '%s' "
                                     "on those of '%s'; a layer reads the steps of one",
                                     t->type, name, m->nodes[first].name, m->nodes[m->nodes[first].td - 1].name,
                                     s->name, m->nodes[s->td - 1].name);
            return lf_build_fail(m, LF_ERR_ARG,
                                 "%s '%s': input '%s' is on the steps of TimeDistributed '%s' and input '%s' is "
                                 "not; close the steps with lf_time_distributed_end first",
                                 t->type, name, in_td->name, m->nodes[in_td->td - 1].name, out_td->name);
        }
    }
    return 1;
}

int lf_node_add(lf_model *m, const lf_layer_type *t, lf_kind kind, lf_node proto, const int *in,
                size_t n_in, const char *name) {
    if (!m || lf_build_stuck(m)) return -1;
    proto.kind = kind;
    /* a node of several outputs is read through its views only (view.c) */
    for (size_t i = 0; i < n_in + 2 && !t->views; i++) {
        int src = i < n_in ? in[i] : i == n_in ? proto.gate : proto.mask;
        if (src >= 0 && (size_t)src < m->n_nodes && m->nodes[src].n_outs > 1)
            return lf_build_fail(m, LF_ERR_ARG,
                                 "%s: input '%s' has %zu outputs (Keras returns a list); pick one with "
                                 "lf_output_view", t->type, m->nodes[src].name, m->nodes[src].n_outs),
                   -1;
    }
    if (t->infer && !t->infer(m, t, &proto, in, n_in)) return -1;
    /* a kind that sets no shape keeps its first input's when its dim is the
     * same (activations, dropout, elementwise merges), else is flat */
    if (proto.rank == 0) {
        if (n_in && in[0] >= 0 && (size_t)in[0] < m->n_nodes && m->nodes[in[0]].dim == proto.dim) {
            proto.rank = m->nodes[in[0]].rank;
            memcpy(proto.shape, m->nodes[in[0]].shape, sizeof proto.shape);
        } else {
            proto.rank = 1;
            proto.shape[0] = proto.dim;
        }
    }
    if (m->compiled)
        return lf_build_fail(m, LF_ERR_STATE, "cannot add layer '%s': the model is already compiled",
                             name ? name : t->prefix),
               -1;
    char buf[LF_NAME_MAX];
    if (name) {
        if (!lf_name_valid(name, strlen(name)))
            return lf_build_fail(m, LF_ERR_ARG,
                                 "invalid layer name '%.80s': use 1-63 characters of A-Z a-z 0-9 _ . -",
                                 name),
                   -1;
        if (lf_node_find(m, name) >= 0)
            return lf_build_fail(m, LF_ERR_ARG, "layer name '%s' is used twice", name), -1;
        snprintf(buf, sizeof buf, "%s", name);
    } else {
        snprintf(buf, sizeof buf, "%s", t->prefix);
        for (unsigned i = 1; lf_node_find(m, buf) >= 0; i++) snprintf(buf, sizeof buf, "%s_%u", t->prefix, i);
    }
    for (size_t i = 0; i < n_in; i++)
        if (in[i] < 0 || (size_t)in[i] >= m->n_nodes)
            return lf_build_fail(m, LF_ERR_ARG, "layer '%s': input %zu is not a node of this model (id %d)",
                                 buf, i, in[i]),
                   -1;
    if (proto.dim == 0) return lf_build_fail(m, LF_ERR_SHAPE, "layer '%s' would have 0 features", buf), -1;
    if (!td_of(m, t, &proto, in, n_in, buf)) return -1;
    if (!seq_mask_of(m, t, &proto, in, n_in, buf)) return -1;
    if (m->n_nodes >= (size_t)0x7fffffff) return lf_build_fail(m, LF_ERR_ARG, "too many layers"), -1;
    if (t->is_input) {
        int *ins = LF_REALLOC(m->inputs, (m->n_inputs + 1) * sizeof *ins);
        if (!ins) return lf_build_fail(m, LF_ERR_NOMEM, "out of memory adding an input"), -1;
        m->inputs = ins;
    }
    if (m->n_nodes == m->cap_nodes) {
        size_t cap = m->cap_nodes ? 2 * m->cap_nodes : 16;
        lf_node *nn = LF_REALLOC(m->nodes, cap * sizeof *nn);
        if (!nn) return lf_build_fail(m, LF_ERR_NOMEM, "out of memory adding layer '%s'", buf), -1;
        m->nodes = nn;
        m->cap_nodes = cap;
    }
    int *ins = NULL;
    if (n_in) {
        ins = LF_MALLOC(n_in * sizeof *ins);
        if (!ins) return lf_build_fail(m, LF_ERR_NOMEM, "out of memory adding layer '%s'", buf), -1;
        memcpy(ins, in, n_in * sizeof *ins);
    }
    lf_node *nd = &m->nodes[m->n_nodes];
    *nd = proto;
    nd->kind = kind;
    memcpy(nd->name, buf, sizeof buf);
    nd->n_in = n_in;
    nd->in = ins;
    nd->needed = 0;
    if (nd->shares) { /* a shared layer read from a model file: no weights of its own */
        if (!lf_share_check(m, nd, nd->shares - 1)) {
            LF_FREE(ins);
            return -1;
        }
        nd->param_off = m->nodes[nd->shares - 1].param_off;
        nd->n_params = 0;
        return (int)m->n_nodes++;
    }
    /* the weights, laid out by the record, follow the earlier nodes' */
    lf_weight w[LF_MAX_WEIGHTS];
    size_t nw = t->weights ? t->weights(m, nd, w) : 0, n_params = 0;
    for (size_t j = 0; j < nw; j++) n_params += lf_weight_count(&w[j]);
    size_t limit = m->load_stored + LF_LOAD_SLACK;
    if (m->load_limited && (m->n_params > limit || n_params > limit - m->n_params)) {
        LF_FREE(ins);
        return lf_build_fail(m, LF_ERR_FORMAT, "needs more weights than the file stores (%zu floats)",
                             m->load_stored),
               -1;
    }
    if (!grow_params(m, n_params)) {
        LF_FREE(ins);
        return lf_build_fail(m, LF_ERR_NOMEM, "out of memory for the %zu weights of layer '%s'",
                             n_params, buf),
               -1;
    }
    nd->param_off = m->n_params;
    nd->n_params = n_params;
    m->n_params += n_params;
    int id = (int)m->n_nodes++;
    if (t->is_input) m->inputs[m->n_inputs++] = id;
    if (t->init) t->init(m, nd);
    return id;
}

int lf_weights_used(const lf_model *m, size_t i) {
    if (m->nodes[i].needed) return 1;
    for (size_t j = i + 1; j < m->n_nodes; j++)
        if ((size_t)m->nodes[j].shares == i + 1 && m->nodes[j].needed) return 1;
    return 0;
}

int lf_share_check(lf_model *m, const lf_node *nd, int owner) {
    if (owner < 0 || (size_t)owner >= m->n_nodes)
        return lf_build_fail(m, LF_ERR_ARG, "layer '%s' cannot share the weights of node %d: not a node of "
                             "this model", nd->name, owner);
    const lf_node *o = &m->nodes[owner];
    const lf_layer_type *t = lf_type_of(nd);
    if (o->kind != nd->kind || o->shares || t->is_input)
        return lf_build_fail(m, LF_ERR_ARG, "layer '%s' (%s) cannot share the weights of '%s' (%s)%s",
                             nd->name, t->type, o->name, lf_type_of(o)->type,
                             t->is_input || lf_type_of(o)->is_input ? ": inputs have no weights"
                             : o->shares ? ": it shares another layer's weights itself"
                                         : ": the kinds differ");
    lf_weight wn[LF_MAX_WEIGHTS], wo[LF_MAX_WEIGHTS];
    size_t nn = t->weights ? t->weights(m, nd, wn) : 0, no = lf_node_weights(m, o, wo);
    for (size_t j = 0; j < nn && nn == no; j++) {
        int same = wn[j].ndim == wo[j].ndim;
        for (size_t d = 0; same && d < wn[j].ndim; d++) same = wn[j].shape[d] == wo[j].shape[d];
        if (!same) {
            char a[96] = "", b[96] = "";
            size_t ua = 0, ub = 0;
            for (size_t d = 0; d < wn[j].ndim; d++) {
                ua += (size_t)snprintf(a + ua, sizeof a - ua, d ? ", %zu" : "%zu", wn[j].shape[d]);
                ub += (size_t)snprintf(b + ub, sizeof b - ub, d ? ", %zu" : "%zu", wo[j].shape[d]);
            }
            return lf_build_fail(m, LF_ERR_SHAPE,
                                 "layer '%s' cannot share the weights of '%s': its %s would have shape "
                                 "(%s), not (%s)",
                                 nd->name, o->name, wn[j].suffix, a, b);
        }
    }
    if (nn != no)
        return lf_build_fail(m, LF_ERR_SHAPE, "layer '%s' cannot share the weights of '%s': %zu weight "
                             "tensors, not %zu", nd->name, o->name, nn, no);
    return 1;
}

void lf_shape_str(const lf_node *nd, char *buf, size_t cap) {
    size_t used = (size_t)snprintf(buf, cap, "(None");
    for (size_t d = 0; d < nd->rank && used < cap; d++)
        used += (size_t)snprintf(buf + used, cap - used, ", %zu", nd->shape[d]);
    if (used < cap) snprintf(buf + used, cap - used, ")");
}

int lf_shape_set(lf_model *m, const char *kn, lf_node *nd, size_t rank, const size_t *dims) {
    size_t dim = 1;
    if (rank < 1 || rank > LF_MAX_RANK)
        return lf_build_fail(m, LF_ERR_SHAPE, "%s: a shape has 1 to %d dims, got %zu", kn, LF_MAX_RANK,
                             rank);
    for (size_t d = 0; d < rank; d++) {
        if (dims[d] == 0 || dims[d] > LF_ARCH_MAX_DIM || !lf_mul_ok(dim, dims[d], &dim) ||
            dim > LF_ARCH_MAX_DIM)
            return lf_build_fail(m, LF_ERR_SHAPE,
                                 "%s: dim %zu of the shape is %zu; dims must be >= 1 and their product "
                                 "at most %zu",
                                 kn, d, dims[d], LF_ARCH_MAX_DIM);
        nd->shape[d] = dims[d];
    }
    nd->rank = rank;
    nd->dim = dim;
    return 1;
}

const lf_node *lf_input_node(lf_model *m, const char *kn, const int *in, size_t n_in, size_t rank) {
    if (n_in != 1 || in[0] < 0 || (size_t)in[0] >= m->n_nodes)
        return lf_build_fail(m, LF_ERR_ARG, "%s: the input is not a node of this model (id %d)", kn,
                             n_in ? in[0] : -1),
               NULL;
    const lf_node *x = &m->nodes[in[0]];
    if (rank && x->rank != rank) {
        char s[96];
        lf_shape_str(x, s, sizeof s);
        return lf_build_fail(m, LF_ERR_SHAPE, "%s: input '%s' has shape %s; it needs rank %zu%s", kn,
                             x->name, s, rank + 1,
                             rank == 4   ? " (batch, frames, height, width, channels)"
                             : rank == 3 ? " (batch, height, width, channels)"
                             : rank == 2 ? " (batch, steps, features)"
                             : rank == 1 ? " (batch, features): add a Flatten"
                                         : ""),
               NULL;
    }
    return x;
}

/* ------------------------------------------------- architecture fields */

const char *lf_arch_str(const lf_json *obj, const char *key) {
    return lf_json_str(lf_json_get(obj, key));
}

int lf_arch_node(const lf_model *m, const lf_json *j) {
    const char *s = lf_json_str(j);
    return s ? lf_node_find(m, s) : -1;
}

lf_status lf_arch_float(const lf_json *obj, const char *key, float lo, float hi, float *out,
                        const char *where, lf_err *e) {
    double v;
    if (!lf_json_num(lf_json_get(obj, key), &v) || !(v >= lo && v <= hi))
        return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be a number in [%g, %g]", where, key,
                       (double)lo, (double)hi);
    *out = (float)v;
    return LF_OK;
}

lf_status lf_arch_float_in(const lf_json *obj, const char *key, float lo, float hi, int open, float *out,
                           const char *where, lf_err *e) {
    double v;
    int ok = lf_json_num(lf_json_get(obj, key), &v) && fabs(v) <= FLT_MAX;
    float f = ok ? (float)v : 0.0f; /* compared as the builder compares it */
    ok = ok && isfinite(f) && ((open & LF_ARCH_LO_OPEN) ? f > lo : f >= lo) &&
         ((open & LF_ARCH_HI_OPEN) ? f < hi : f <= hi);
    if (!ok && isinf(lo) && isinf(hi))
        return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be a finite number", where, key);
    if (!ok)
        return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be a finite number in %c%g, %g%c", where, key,
                       (open & LF_ARCH_LO_OPEN) ? '(' : '[', (double)lo, (double)hi,
                       (open & LF_ARCH_HI_OPEN) || isinf(hi) ? ')' : ']');
    *out = f;
    return LF_OK;
}

void lf_arch_write_pair(lf_buf *b, const char *key, float lo, float hi) {
    lf_buf_printf(b, ",\"%s\":[", key);
    lf_buf_json_float(b, lo);
    lf_buf_puts(b, ",");
    lf_buf_json_float(b, hi);
    lf_buf_puts(b, "]");
}

lf_status lf_arch_float_pair(const lf_json *L, const char *key, float *v, const char *where, lf_err *e) {
    const lf_json *a = lf_json_get(L, key);
    double d[2];
    if (!lf_json_is(a, LF_JSON_ARRAY) || lf_json_len(a) != 2 || !lf_json_num(lf_json_at(a, 0), &d[0]) ||
        !lf_json_num(lf_json_at(a, 1), &d[1]) || !(fabs(d[0]) <= FLT_MAX) || !(fabs(d[1]) <= FLT_MAX))
        return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be a pair of finite numbers", where, key);
    v[0] = (float)d[0], v[1] = (float)d[1];
    return LF_OK;
}

lf_status lf_arch_bool(const lf_json *obj, const char *key, int *out, const char *where,
                       lf_err *e) {
    if (!lf_json_bool(lf_json_get(obj, key), out))
        return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be true or false", where, key);
    return LF_OK;
}

void lf_arch_write_bias_l2(const lf_node *nd, lf_buf *b) {
    if (nd->bias_l2 == 0.0f) return;
    lf_buf_puts(b, ",\"bias_l2\":");
    lf_buf_json_float(b, nd->bias_l2);
}

lf_status lf_arch_read_bias_l2(const lf_json *obj, lf_node *nd, const char *where, lf_err *e) {
    if (!lf_json_get(obj, "bias_l2")) return LF_OK;
    return lf_arch_float_in(obj, "bias_l2", 0, INFINITY, 0, &nd->bias_l2, where, e);
}

lf_status lf_arch_sizes(const lf_json *obj, const char *key, size_t lo, size_t hi, size_t min_n,
                        size_t max_n, size_t *out, size_t *n, const char *where, lf_err *e) {
    const lf_json *a = lf_json_get(obj, key);
    size_t len = lf_json_len(a);
    int ok = lf_json_is(a, LF_JSON_ARRAY) && len >= min_n && len <= max_n;
    for (size_t i = 0; ok && i < len; i++)
        ok = lf_json_size(lf_json_at(a, i), &out[i]) && out[i] >= lo && out[i] <= hi;
    if (!ok)
        return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be a list of %zu..%zu integers in %zu..%zu", where,
                       key, min_n, max_n, lo, hi);
    if (n) *n = len;
    return LF_OK;
}

lf_status lf_arch_arity(size_t n_in, size_t want, const char *type, const char *where,
                        lf_err *e) {
    if (n_in == want) return LF_OK;
    return lf_fail(e, LF_ERR_FORMAT, "%s: %s takes %zu inbound layer%s", where, type, want,
                   want == 1 ? "" : "s");
}
