/*
 * input.c — InputLayer: a model input.  Its node owns no buffer (its output
 * points at the caller's rows) and it does no work in either pass.
 */
#include "layers/layer.h"

static void input_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"dim\":%zu", nd->dim);
}

static lf_status input_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                            const char *where, lf_err *e) {
    (void)m, (void)n_in;
    if (!lf_json_size(lf_json_get(L, "dim"), &nd->dim) || nd->dim == 0 || nd->dim > LF_ARCH_MAX_DIM)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'dim' must be an integer in 1..%zu", where,
                       LF_ARCH_MAX_DIM);
    return LF_OK;
}

static const char *const input_keys[] = {"name", "type", "dim", NULL};

const lf_layer_type lf_type_input = {
    .type = "InputLayer",
    .prefix = "input",
    .keys = input_keys,
    .is_input = 1,
    .write_json = input_json,
    .read_json = input_read,
};

int lf_input(lf_model *m, size_t dim, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.dim = dim;
    return lf_node_add(m, &lf_type_input, LF_K_INPUT, nd, NULL, 0, name);
}
