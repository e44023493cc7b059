/*
 * masking.c — Keras' Masking(mask_value) (keras/src/layers/core/masking.py):
 * x (B, T, ..., D) -> y of the same shape.  A step (every position but the
 * last axis: lf_mask_steps) whose D features all equal mask_value is
 * masked: y is 0 there (Keras' ops.where(any(x != mask_value), x, 0)), and
 * the layer owns the padding mask of its output (layers/layer.h), 0 at the
 * masked steps and 1 at the others, which the layers that support masking
 * read (the recurrent layers, the 1-D global poolings, MultiHeadAttention,
 * and those that keep it on).  An input's own mask is replaced, as Keras'
 * compute_mask returns the new one alone.  A NaN feature is not equal to
 * mask_value: its step is kept.  Backward: dy where the step is kept, 0
 * where it is masked (the step is found again from x, which the pass
 * reads, so no scratch is kept).
 */
#include "layers/layer.h"

#include <math.h>
#include <string.h>

/* 1 when some feature of the step x (D) differs from v */
static int step_kept(const float *restrict x, size_t D, float v) {
    for (size_t j = 0; j < D; j++)
        if (x[j] != v) return 1;
    return 0;
}

/* the builder put mask_value in nd */
static int masking_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "Masking", in, n_in, 0);
    if (!x) return 0;
    if (x->rank < 2) {
        char s[96];
        lf_shape_str(x, s, sizeof s);
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "Masking: input '%s' has shape %s; it needs rank 3 or more (batch, steps, features)",
                             x->name, s);
    }
    if (!isfinite(nd->mask_value))
        return lf_build_fail(m, LF_ERR_ARG, "Masking: mask_value must be finite, got %g", (double)nd->mask_value);
    if (!lf_shape_set(m, "Masking", nd, x->rank, x->shape)) return 0;
    nd->seq_mask = (int)m->n_nodes; /* the new node's id: it owns its mask */
    return 1;
}

/* y: x where a step is kept, else 0; the mask: 1 / 0 */
static void masking_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = nd->shape[nd->rank - 1], n = c->B * lf_mask_steps(nd);
    for (size_t i = 0; i < n; i++) {
        const float *x = c->xs[0] + i * D;
        int kept = step_kept(x, D, nd->mask_value);
        if (kept) memcpy(c->y + i * D, x, D * sizeof *c->y);
        else memset(c->y + i * D, 0, D * sizeof *c->y);
        if (c->out_mask) c->out_mask[i] = kept ? 1.0f : 0.0f;
    }
}

static void masking_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    float *dx = c->dxs[0];
    if (!dx) return;
    size_t D = nd->shape[nd->rank - 1], n = c->B * lf_mask_steps(nd);
    for (size_t i = 0; i < n; i++) {
        if (!step_kept(c->xs[0] + i * D, D, nd->mask_value)) continue;
        const float *dy = c->dy + i * D;
        float *d = dx + i * D;
        for (size_t j = 0; j < D; j++) d[j] += dy[j];
    }
}

static void masking_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_puts(b, ",\"mask_value\":");
    lf_buf_json_float(b, nd->mask_value);
}

static lf_status masking_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                              lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "Masking", where, e);
    if (st != LF_OK) return st;
    return lf_arch_float_in(L, "mask_value", -INFINITY, INFINITY, LF_ARCH_LO_OPEN | LF_ARCH_HI_OPEN,
                            &nd->mask_value, where, e);
}

static const char *const masking_keys[] = {"name", "type", "inbound", "mask_value", NULL};

const lf_layer_type lf_type_masking = {
    .type = "Masking",
    .prefix = "masking",
    .keys = masking_keys,
    .masking = LF_MASKING_OWN,
    .infer = masking_infer,
    .forward = masking_forward,
    .backward = masking_backward,
    .write_json = masking_json,
    .read_json = masking_read,
};

int lf_masking(lf_model *m, int x, float mask_value, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.mask_value = mask_value;
    return lf_node_add(m, &lf_type_masking, LF_K_MASKING, nd, &x, 1, name);
}
