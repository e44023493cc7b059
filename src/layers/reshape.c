/*
 * reshape.c — layers that change a tensor's shape, not its values.  Rows
 * are (batch, dim) row-major whatever the shape, so both are a copy.
 *
 * Flatten: Keras' Flatten, (batch, d1, ..., dk) -> (batch, d1 * ... * dk).
 * Reshape: Keras' Reshape(target_shape), any shape of the same number of
 * values (row-major order, as Keras' channels-last tensors); one entry may
 * be LF_INFER (Keras' -1), the size that makes the count match.
 */
#include "layers/layer.h"

#include <stdio.h>
#include <string.h>

static int flatten_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in,
                         size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "Flatten", in, n_in, 0);
    if (!x) return 0;
    return lf_shape_set(m, "Flatten", nd, 1, &x->dim);
}

/* A target shape as Keras prints it, LF_INFER as -1: "(None, 7, -1)". */
static void target_str(const size_t *dims, size_t rank, char *out, size_t cap) {
    size_t n = (size_t)snprintf(out, cap, "(None");
    for (size_t d = 0; d < rank && n < cap; d++)
        n += dims[d] == LF_INFER ? (size_t)snprintf(out + n, cap - n, ", -1")
                                 : (size_t)snprintf(out + n, cap - n, ", %zu", dims[d]);
    if (n < cap) snprintf(out + n, cap - n, ")");
}

/* the builder (or the JSON reader) put the target shape in nd; one
 * LF_INFER entry (Keras' -1) becomes the input's size over the others'
 * product, and the node keeps (and its file holds) the resolved shape */
static int reshape_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in,
                         size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "Reshape", in, n_in, 0);
    if (!x) return 0;
    size_t dims[LF_MAX_RANK], known = 1, n_infer = 0, at = 0;
    int fits = 1;
    memcpy(dims, nd->shape, sizeof dims);
    for (size_t d = 0; d < nd->rank && d < LF_MAX_RANK; d++) {
        if (dims[d] == LF_INFER) n_infer++, at = d;
        else fits &= lf_mul_ok(known, dims[d], &known);
    }
    if (n_infer) {
        char sx[96], sy[96];
        target_str(dims, nd->rank, sy, sizeof sy);
        if (n_infer > 1)
            return lf_build_fail(m, LF_ERR_SHAPE, "Reshape: target shape %s has more than one -1", sy);
        if (!fits || known == 0) {
            dims[at] = 1; /* lf_shape_set names the bad dim */
        } else if (x->dim % known != 0) {
            lf_shape_str(x, sx, sizeof sx);
            return lf_build_fail(m, LF_ERR_SHAPE,
                                 "Reshape: input '%s' of shape %s (%zu values) cannot become %s: %zu is not a "
                                 "multiple of %zu",
                                 x->name, sx, x->dim, sy, x->dim, known);
        } else {
            dims[at] = x->dim / known;
        }
    }
    if (!lf_shape_set(m, "Reshape", nd, nd->rank, dims)) return 0;
    if (nd->dim != x->dim) {
        char sx[96], sy[96];
        lf_shape_str(x, sx, sizeof sx), lf_shape_str(nd, sy, sizeof sy);
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "Reshape: input '%s' of shape %s (%zu values) cannot become %s (%zu values)",
                             x->name, sx, x->dim, sy, nd->dim);
    }
    return 1;
}

static void copy_forward(const lf_layer_ctx *c) {
    memcpy(c->y, c->xs[0], c->B * c->nd->dim * sizeof *c->y);
}

static void copy_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    for (size_t j = 0; j < c->B * c->nd->dim; j++) dx[j] += c->dy[j];
}

static lf_status flatten_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                              const char *where, lf_err *e) {
    (void)m, (void)L, (void)nd;
    return lf_arch_arity(n_in, 1, "Flatten", where, e);
}

static void reshape_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_puts(b, ",\"target_shape\":[");
    for (size_t d = 0; d < nd->rank; d++) lf_buf_printf(b, d ? ",%zu" : "%zu", nd->shape[d]);
    lf_buf_puts(b, "]");
}

static lf_status reshape_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                              const char *where, lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "Reshape", where, e);
    if (st != LF_OK) return st;
    return lf_arch_sizes(L, "target_shape", 1, LF_ARCH_MAX_DIM, 1, LF_MAX_RANK, nd->shape, &nd->rank,
                         where, e);
}

static const char *const flatten_keys[] = {"name", "type", "inbound", NULL};
static const char *const reshape_keys[] = {"name", "type", "inbound", "target_shape", NULL};

const lf_layer_type lf_type_flatten = {
    .type = "Flatten",
    .prefix = "flatten",
    .keys = flatten_keys,
    .infer = flatten_infer,
    .forward = copy_forward,
    .backward = copy_backward,
    .read_json = flatten_read,
};

const lf_layer_type lf_type_reshape = {
    .type = "Reshape",
    .prefix = "reshape",
    .keys = reshape_keys,
    .infer = reshape_infer,
    .forward = copy_forward,
    .backward = copy_backward,
    .write_json = reshape_json,
    .read_json = reshape_read,
};

int lf_flatten(lf_model *m, int x, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    return lf_node_add(m, &lf_type_flatten, LF_K_FLATTEN, nd, &x, 1, name);
}

int lf_reshape(lf_model *m, int x, size_t rank, const size_t *dims, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    if (!m || lf_build_stuck(m)) return -1;
    if (!dims || rank < 1 || rank > LF_MAX_RANK)
        return lf_build_fail(m, LF_ERR_SHAPE, "Reshape: a target shape has 1 to %d dims, got %zu%s",
                             LF_MAX_RANK, rank, dims ? "" : " (no dims given)"),
               -1;
    nd.rank = rank;
    memcpy(nd.shape, dims, rank * sizeof *dims);
    return lf_node_add(m, &lf_type_reshape, LF_K_RESHAPE, nd, &x, 1, name);
}
