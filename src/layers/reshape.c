/*
 * reshape.c — layers that change a tensor's shape, not its values.  Rows
 * are (batch, dim) row-major whatever the shape, so both are a copy.
 *
 * Flatten: Keras' Flatten, (batch, d1, ..., dk) -> (batch, d1 * ... * dk).
 * Reshape: Keras' Reshape(target_shape), any shape of the same number of
 * values (row-major order, as Keras' channels-last tensors); one entry may
 * be LF_INFER (Keras' -1), the size that makes the count match.
 * RepeatVector(n): (batch, D) -> (batch, n, D), the row n times
 * (keras/src/layers/reshaping/repeat_vector.py); backward sums the copies.
 * Permute(dims): (batch, d1, ..., dk) -> the axes in the order dims (1-based,
 * a permutation of 1..k: keras/src/layers/reshaping/permute.py, ops.transpose
 * with the batch axis first); backward scatters dy back.
 * None of them supports masking (Keras 3: no compute_mask), so a padding
 * mask ends at each (LF_MASKING_NONE).
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

/* ------------------------------------------------------------ RepeatVector */

/* nd->kernel[0]: n */
static int repeat_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "RepeatVector", in, n_in, 1);
    if (!x) return 0;
    if (nd->kernel[0] == 0 || nd->kernel[0] > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG, "RepeatVector: Argument `n` should be a positive integer. Received: n=%zu",
                             nd->kernel[0]);
    size_t out[2] = {nd->kernel[0], x->dim};
    return lf_shape_set(m, "RepeatVector", nd, 2, out);
}

/* y (B, n, D): each of the n rows a copy of x's (B, D) row */
static void repeat_forward(const lf_layer_ctx *c) {
    size_t D = c->dims[0], n = c->nd->kernel[0];
    for (size_t r = 0; r < c->B; r++)
        for (size_t k = 0; k < n; k++) memcpy(c->y + (r * n + k) * D, c->xs[0] + r * D, D * sizeof *c->y);
}

static void repeat_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    size_t D = c->dims[0], n = c->nd->kernel[0];
    for (size_t r = 0; r < c->B; r++)
        for (size_t k = 0; k < n; k++) {
            const float *g = c->dy + (r * n + k) * D;
            for (size_t j = 0; j < D; j++) dx[r * D + j] += g[j];
        }
}

static void repeat_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"n\":%zu", nd->kernel[0]);
}

static lf_status repeat_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                             lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "RepeatVector", where, e);
    if (st != LF_OK) return st;
    if (!lf_json_size(lf_json_get(L, "n"), &nd->kernel[0]) || nd->kernel[0] == 0 ||
        nd->kernel[0] > LF_ARCH_MAX_DIM)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'n' must be an integer in 1..%zu", where, LF_ARCH_MAX_DIM);
    return LF_OK;
}

static const char *const repeat_keys[] = {"name", "type", "inbound", "n", NULL};

const lf_layer_type lf_type_repeat_vector = {
    .type = "RepeatVector",
    .prefix = "repeat_vector",
    .keys = repeat_keys,
    .infer = repeat_infer,
    .forward = repeat_forward,
    .backward = repeat_backward,
    .write_json = repeat_json,
    .read_json = repeat_read,
};

int lf_repeat_vector(lf_model *m, int x, size_t n, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.kernel[0] = n;
    return lf_node_add(m, &lf_type_repeat_vector, LF_K_REPEAT_VECTOR, nd, &x, 1, name);
}

/* ----------------------------------------------------------------- Permute */

/* "(2, 1)": dims as Keras prints the tuple */
static void dims_str(const size_t *d, size_t k, char *out, size_t cap) {
    size_t n = (size_t)snprintf(out, cap, "(");
    for (size_t i = 0; i < k && n < cap; i++) n += (size_t)snprintf(out + n, cap - n, i ? ", %zu" : "%zu", d[i]);
    if (n < cap) snprintf(out + n, cap - n, k == 1 ? ",)" : ")");
}

/* nd->perm[0..nd->n_perm): dims, 1-based */
static int permute_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    size_t k = nd->n_perm, seen = 0;
    int ok = k >= 1 && k <= LF_MAX_RANK;
    for (size_t i = 0; ok && i < k; i++) {
        ok = nd->perm[i] >= 1 && nd->perm[i] <= k && !(seen >> nd->perm[i] & 1);
        seen |= (size_t)1 << (ok ? nd->perm[i] : 0);
    }
    if (!ok) {
        char s[96];
        dims_str(nd->perm, k <= LF_MAX_RANK ? k : LF_MAX_RANK, s, sizeof s);
        return lf_build_fail(m, LF_ERR_ARG,
                             "Permute: Invalid permutation argument `dims` for Permute Layer. The set of indices in "
                             "`dims` must be consecutive and start from 1. Received dims=%s",
                             s);
    }
    const lf_node *x = lf_input_node(m, "Permute", in, n_in, k);
    if (!x) return 0;
    size_t out[LF_MAX_RANK];
    for (size_t i = 0; i < k; i++) out[i] = x->shape[nd->perm[i] - 1];
    return lf_shape_set(m, "Permute", nd, k, out);
}

/* Output element o (row-major over y's shape) reads x at sum_i o_i sx[perm_i - 1]:
 * one walk over y's indices, scatter (backward) or gather (forward) */
static void permute_walk(const lf_layer_ctx *c, int back) {
    const lf_node *nd = c->nd, *xn = &c->m->nodes[nd->in[0]];
    size_t k = nd->rank, sx[LF_MAX_RANK], st[LF_MAX_RANK], D = nd->dim;
    sx[k - 1] = 1;
    for (size_t i = k - 1; i > 0; i--) sx[i - 1] = sx[i] * xn->shape[i];
    for (size_t i = 0; i < k; i++) st[i] = sx[nd->perm[i] - 1];
    for (size_t r = 0; r < c->B; r++) {
        size_t idx[LF_MAX_RANK] = {0}, at = 0;
        const float *x = back ? NULL : c->xs[0] + r * D;
        float *y = back ? NULL : c->y + r * D, *dx = back ? c->dxs[0] + r * D : NULL;
        const float *dy = back ? c->dy + r * D : NULL;
        for (size_t o = 0; o < D; o++) {
            if (back) dx[at] += dy[o];
            else y[o] = x[at];
            for (size_t i = k; i-- > 0;) { /* the next index of y, and its place in x */
                at += st[i];
                if (++idx[i] < nd->shape[i]) break;
                at -= st[i] * idx[i], idx[i] = 0;
            }
        }
    }
}

static void permute_forward(const lf_layer_ctx *c) { permute_walk(c, 0); }

static void permute_backward(const lf_layer_ctx *c) {
    if (c->dxs[0]) permute_walk(c, 1);
}

static void permute_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_puts(b, ",\"dims\":[");
    for (size_t i = 0; i < nd->n_perm; i++) lf_buf_printf(b, i ? ",%zu" : "%zu", nd->perm[i]);
    lf_buf_puts(b, "]");
}

static lf_status permute_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                              lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "Permute", where, e);
    if (st != LF_OK) return st;
    return lf_arch_sizes(L, "dims", 1, LF_MAX_RANK, 1, LF_MAX_RANK, nd->perm, &nd->n_perm, where, e);
}

static const char *const permute_keys[] = {"name", "type", "inbound", "dims", NULL};

const lf_layer_type lf_type_permute = {
    .type = "Permute",
    .prefix = "permute",
    .keys = permute_keys,
    .infer = permute_infer,
    .forward = permute_forward,
    .backward = permute_backward,
    .write_json = permute_json,
    .read_json = permute_read,
};

int lf_permute(lf_model *m, int x, size_t k, const size_t *dims, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    if (!m || lf_build_stuck(m)) return -1;
    if (!dims || k < 1 || k > LF_MAX_RANK)
        return lf_build_fail(m, LF_ERR_ARG, "Permute: dims has 1 to %d entries (the input's rank), got %zu%s",
                             LF_MAX_RANK, k, dims ? "" : " (no dims given)"),
               -1;
    nd.n_perm = k;
    memcpy(nd.perm, dims, k * sizeof *dims);
    return lf_node_add(m, &lf_type_permute, LF_K_PERMUTE, nd, &x, 1, name);
}
