/*
 * identity.c — Keras' Identity layer (keras/src/layers/core/identity.py):
 * y = x, any shape, the placeholder of ResNet-style shortcuts.  It keeps
 * its input's padding mask, as Keras' (supports_masking = True).
 */
#include "layers/layer.h"

#include <string.h>

static int identity_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "Identity", in, n_in, 0);
    if (!x) return 0;
    return lf_shape_set(m, "Identity", nd, x->rank, x->shape);
}

/* y, x: (B, dim) */
static void identity_forward(const lf_layer_ctx *c) {
    memcpy(c->y, c->xs[0], c->B * c->nd->dim * sizeof *c->y);
}

/* dx: (B, dim) += dy */
static void identity_backward(const lf_layer_ctx *c) {
    float *restrict dx = c->dxs[0];
    if (!dx) return;
    const float *restrict dy = c->dy;
    for (size_t i = 0, n = c->B * c->nd->dim; i < n; i++) dx[i] += dy[i];
}

static lf_status identity_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                               lf_err *e) {
    (void)m, (void)L, (void)nd;
    return lf_arch_arity(n_in, 1, "Identity", where, e);
}

static const char *const identity_keys[] = {"name", "type", "inbound", NULL};

const lf_layer_type lf_type_identity = {
    .type = "Identity",
    .prefix = "identity",
    .keys = identity_keys,
    .masking = LF_MASKING_KEEP,
    .infer = identity_infer,
    .forward = identity_forward,
    .backward = identity_backward,
    .read_json = identity_read,
};

int lf_identity(lf_model *m, int x, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    return lf_node_add(m, &lf_type_identity, LF_K_IDENTITY, nd, &x, 1, name);
}
