/*
 * input.c — InputLayer: a model input.  Its node owns no buffer (its output
 * points at the caller's rows) and it does no work in either pass.  Its
 * per-sample shape (rank 1..LF_MAX_RANK, channels last) and dtype are the
 * builder's; the architecture JSON stores "dim" (their product, all that a
 * version-1 file has), "shape" and "dtype".
 */
#include "layers/layer.h"

#include <string.h>

static const char *const dtype_names[] = {"float32", "int32"};

/* the builder (or the JSON reader) put the shape in nd */
static int input_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t, (void)in, (void)n_in;
    if (nd->dtype == LF_DTYPE_UINT8)
        return lf_build_fail(m, LF_ERR_ARG, "InputLayer: an input holds float32 or int32 values; "
                                            "declare a float32 input and give it a uint8 array");
    if ((unsigned)nd->dtype > LF_DTYPE_UINT8)
        return lf_build_fail(m, LF_ERR_ARG, "InputLayer: unknown dtype %d", (int)nd->dtype);
    size_t dims[LF_MAX_RANK];
    memcpy(dims, nd->shape, sizeof dims);
    return lf_shape_set(m, "InputLayer", nd, nd->rank, dims);
}

static void input_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"dim\":%zu,\"shape\":[", nd->dim);
    for (size_t d = 0; d < nd->rank; d++) lf_buf_printf(b, d ? ",%zu" : "%zu", nd->shape[d]);
    lf_buf_printf(b, "],\"dtype\":\"%s\"", dtype_names[nd->dtype]);
}

static lf_status input_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                            const char *where, lf_err *e) {
    (void)m, (void)n_in;
    if (!lf_json_size(lf_json_get(L, "dim"), &nd->dim) || nd->dim == 0 || nd->dim > LF_ARCH_MAX_DIM)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'dim' must be an integer in 1..%zu", where,
                       LF_ARCH_MAX_DIM);
    /* version 1: "dim" only, a flat float input */
    nd->rank = 1;
    nd->shape[0] = nd->dim;
    if (lf_json_get(L, "shape")) {
        lf_status st = lf_arch_sizes(L, "shape", 1, LF_ARCH_MAX_DIM, 1, LF_MAX_RANK, nd->shape,
                                     &nd->rank, where, e);
        if (st != LF_OK) return st;
        size_t prod = 1;
        int fits = 1; /* 4 dims of up to 2^28 pass 2^64: a product that overflows matches no dim */
        for (size_t d = 0; d < nd->rank; d++) fits &= lf_mul_ok(prod, nd->shape[d], &prod);
        if (!fits || prod != nd->dim)
            return lf_fail(e, LF_ERR_FORMAT, "%s: 'shape' holds %zu values but 'dim' is %zu", where, prod,
                           nd->dim);
    }
    const char *dt = lf_arch_str(L, "dtype");
    nd->dtype = LF_DTYPE_FLOAT32;
    if (lf_json_get(L, "dtype")) {
        if (dt && strcmp(dt, "int32") == 0) nd->dtype = LF_DTYPE_INT32;
        else if (!dt || strcmp(dt, "float32") != 0)
            return lf_fail(e, LF_ERR_FORMAT, "%s: 'dtype' must be \"float32\" or \"int32\"", where);
    }
    return LF_OK;
}

static const char *const input_keys[] = {"name", "type", "dim", "shape", "dtype", NULL};

const lf_layer_type lf_type_input = {
    .type = "InputLayer",
    .prefix = "input",
    .keys = input_keys,
    .is_input = 1,
    .infer = input_infer,
    .write_json = input_json,
    .read_json = input_read,
};

int lf_input_shape(lf_model *m, size_t rank, const size_t *dims, lf_dtype dtype,
                   const char *name) {
    lf_node nd = LF_NODE_PROTO;
    if (!m || lf_build_stuck(m)) return -1;
    if (!dims || rank < 1 || rank > LF_MAX_RANK)
        return lf_build_fail(m, LF_ERR_SHAPE, "InputLayer: a shape has 1 to %d dims, got %zu%s",
                             LF_MAX_RANK, rank, dims ? "" : " (no dims given)"),
               -1;
    nd.rank = rank;
    memcpy(nd.shape, dims, rank * sizeof *dims);
    nd.dtype = dtype;
    return lf_node_add(m, &lf_type_input, LF_K_INPUT, nd, NULL, 0, name);
}

int lf_input(lf_model *m, size_t dim, const char *name) {
    return lf_input_shape(m, 1, &dim, LF_DTYPE_FLOAT32, name);
}
