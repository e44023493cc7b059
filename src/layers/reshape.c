/*
 * reshape.c — layers that change a tensor's shape, not its values.
 *
 * Flatten: Keras' Flatten, (batch, d1, ..., dk) -> (batch, d1 * ... * dk).
 * Every tensor is (batch, features) today, so it is the identity (its
 * output is a copy of its input); it is here so that models written for
 * Keras keep their Flatten, and for the rank-2 and rank-3 tensors to come.
 */
#include "layers/layer.h"

#include <string.h>

static int flatten_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in,
                         size_t n_in) {
    (void)t, (void)n_in;
    nd->dim = (in[0] >= 0 && (size_t)in[0] < m->n_nodes) ? m->nodes[in[0]].dim : 1;
    return 1;
}

static void flatten_forward(const lf_layer_ctx *c) {
    memcpy(c->y, c->xs[0], c->B * c->nd->dim * sizeof *c->y);
}

static void flatten_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    for (size_t j = 0; j < c->B * c->nd->dim; j++) dx[j] += c->dy[j];
}

static lf_status flatten_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                              const char *where, lf_err *e) {
    (void)m, (void)L, (void)nd;
    return lf_arch_arity(n_in, 1, "Flatten", where, e);
}

static const char *const flatten_keys[] = {"name", "type", "inbound", NULL};

const lf_layer_type lf_type_flatten = {
    .type = "Flatten",
    .prefix = "flatten",
    .keys = flatten_keys,
    .infer = flatten_infer,
    .forward = flatten_forward,
    .backward = flatten_backward,
    .read_json = flatten_read,
};

int lf_flatten(lf_model *m, int x, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    return lf_node_add(m, &lf_type_flatten, LF_K_FLATTEN, nd, &x, 1, name);
}
