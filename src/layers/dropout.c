/*
 * dropout.c — inverted dropout (Keras' Dropout): while training each unit
 * is kept with probability 1-rate and scaled by 1/(1-rate), so inference is
 * the identity.  The mask is a pure function of the pass's key, the node and
 * the row's global index (lf_draws: the same whatever the number of MPI
 * ranks or threads), kept in the node's workspace for the backward pass.
 */
#include "layers/layers.h"
#include "layers/layer.h"

#include <string.h>

// x, y, mask: (B, D)
void lf_dropout_forward(float *restrict y, float *restrict mask, const float *restrict x,
                        size_t B, size_t D, float rate, const lf_draws *d, uint64_t node) {
    float keep = 1.0f / (1.0f - rate);
    for (size_t r = 0; r < B; r++) {
        uint64_t s = lf_draw_stream(d->key, node, d->row0 + r);
        for (size_t j = 0; j < D; j++) {
            size_t i = r * D + j;
            mask[i] = lf_draw_uniform(s, j) < rate ? 0.0f : keep;
            y[i] = x[i] * mask[i];
        }
    }
}

void lf_dropout_backward(float *restrict dx, const float *restrict dy,
                         const float *restrict mask, size_t n) {
    for (size_t i = 0; i < n; i++) dx[i] += dy[i] * mask[i];
}

/* ---------------------------------------------------------------- record */

static int dropout_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t, (void)n_in;
    if (!(nd->rate >= 0.0f && nd->rate < 1.0f))
        return lf_build_fail(m, LF_ERR_ARG, "Dropout rate must be in [0, 1), got %g", (double)nd->rate);
    nd->dim = (in[0] >= 0 && (size_t)in[0] < m->n_nodes) ? m->nodes[in[0]].dim : 1;
    nd->aux_per_row = nd->dim; /* mask */
    return 1;
}

static void dropout_forward(const lf_layer_ctx *c) {
    size_t n = c->B * c->nd->dim;
    if (c->training && c->draws && c->nd->rate > 0.0f) {
        lf_dropout_forward(c->y, c->aux, c->xs[0], c->B, c->nd->dim, c->nd->rate, c->draws,
                           c->draw_id);
        return;
    }
    memcpy(c->y, c->xs[0], n * sizeof *c->y);
    /* a training pass without draws keeps every unit */
    for (size_t i = 0; c->training && c->nd->rate > 0.0f && i < n; i++) c->aux[i] = 1.0f;
}

static void dropout_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    size_t n = c->B * c->nd->dim;
    if (c->training && c->nd->rate > 0.0f) lf_dropout_backward(dx, c->dy, c->aux, n);
    else for (size_t j = 0; j < n; j++) dx[j] += c->dy[j];
}

static void dropout_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_puts(b, ",\"rate\":");
    lf_buf_json_float(b, nd->rate);
}

static lf_status dropout_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                              const char *where, lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "Dropout", where, e);
    if (st != LF_OK) return st;
    return lf_arch_float_in(L, "rate", 0, 1, LF_ARCH_HI_OPEN, &nd->rate, where, e);
}

static const char *const dropout_keys[] = {"name", "type", "inbound", "rate", NULL};

const lf_layer_type lf_type_dropout = {
    .type = "Dropout",
    .prefix = "dropout",
    .keys = dropout_keys,
    .masking = LF_MASKING_KEEP,
    .draws = 1,
    .infer = dropout_infer,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .write_json = dropout_json,
    .read_json = dropout_read,
};

int lf_dropout(lf_model *m, int x, float rate, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.rate = rate;
    return lf_node_add(m, &lf_type_dropout, LF_K_DROPOUT, nd, &x, 1, name);
}
