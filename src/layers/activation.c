/*
 * activation.c — the activation functions' names and the Activation layer,
 * y = act(x) (the functions themselves are in kernels.c, shared with Dense).
 * Softmax, log_softmax and sparsemax run over the last axis, as Keras': over the
 * channels of each pixel of an image, over the features of a vector.
 */
#include "kernels.h"
#include "layers/layer.h"

#include <string.h>

/* Keras 3's names (keras/src/activations/__init__.py), one per
 * lf_activation in its order */
static const char *const act_names[LF_ACT_COUNT] = {
    "linear",      "relu",         "leaky_relu",     "elu",         "gelu",           "sigmoid",
    "tanh",        "softmax",      "selu",           "softplus",    "softsign",       "silu",
    "relu6",       "hard_sigmoid", "hard_silu",      "mish",        "exponential",    "celu",
    "log_sigmoid", "hard_tanh",    "tanh_shrink",    "squareplus",  "soft_shrink",    "hard_shrink",
    "sparse_plus", "sparse_sigmoid", "log_softmax", "sparsemax"};

/* Keras' other names of the same functions (ALL_OBJECTS_DICT's aliases);
 * lf_activation_name gives the main one, as Keras serialises silu for
 * "swish" */
static const struct {
    const char *name;
    lf_activation act;
} act_aliases[] = {{"swish", LF_ACT_SILU}, {"hard_swish", LF_ACT_HARD_SILU}};

const char *lf_activation_name(lf_activation a) {
    return (unsigned)a < LF_ACT_COUNT ? act_names[a] : NULL;
}

int lf_activation_parse(const char *name) {
    if (!name) return -1;
    for (int a = 0; a < LF_ACT_COUNT; a++)
        if (strcmp(name, act_names[a]) == 0) return a;
    for (size_t k = 0; k < sizeof act_aliases / sizeof act_aliases[0]; k++)
        if (strcmp(name, act_aliases[k].name) == 0) return (int)act_aliases[k].act;
    return -1;
}

static int act_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t, (void)n_in;
    if (!lf_check_act(m, nd->act)) return 0;
    nd->dim = (in[0] >= 0 && (size_t)in[0] < m->n_nodes) ? m->nodes[in[0]].dim : 1;
    /* dz, for the backward pass adding to dx (relu's backward needs none;
     * every other kind, the ones after softmax too, writes dz first) */
    nd->aux_per_row = nd->act == LF_ACT_RELU ? 0 : nd->dim;
    return 1;
}

/* the rows and width an activation runs over: the last axis */
static size_t last_axis(const lf_layer_ctx *c, size_t *rows) {
    size_t w = c->nd->shape[c->nd->rank - 1];
    *rows = c->B * (c->nd->dim / w);
    return w;
}

/* Batches of at least this many values are shared out to the threads by
 * samples; the functions work per value or per row of the last axis, so
 * every value comes out the same on any thread. */
#define ACT_PARALLEL 65536

static void act_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t rows, w = last_axis(c, &rows), D = nd->dim;
    if (c->logits_only && nd->act == LF_ACT_SOFTMAX) return;
    if (c->B * D < ACT_PARALLEL) {
        lf_act_forward(nd->act, c->y, c->xs[0], rows, w);
        return;
    }
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < c->B; r++) lf_act_forward(nd->act, c->y + r * D, c->xs[0] + r * D, D / w, w);
}

/* dx += (z > 0 ? dy : 0): relu's dz added at once (dy read unconditionally,
 * so the loop vectorises) */
LF_CLONES static void relu_grad_add(float *restrict dx, const float *restrict dy, const float *restrict z,
                                    size_t n) {
    for (size_t j = 0; j < n; j++) {
        float g = dy[j];
        dx[j] += z[j] > 0 ? g : 0.0f;
    }
}

/* dx = (z > 0 ? dy : 0): relu_grad_add into a gradient not yet written */
LF_CLONES static void relu_grad_set(float *restrict dx, const float *restrict dy, const float *restrict z,
                                    size_t n) {
    for (size_t j = 0; j < n; j++) {
        float g = dy[j];
        dx[j] = z[j] > 0 ? g : 0.0f;
    }
}

/* samples [r0, r1) of the backward pass (c->dx_fresh: dx written, not
 * added to) */
static void act_backward_rows(const lf_layer_ctx *c, float *restrict dx, size_t r0, size_t r1) {
    const lf_node *nd = c->nd;
    size_t D = nd->dim, w = nd->shape[nd->rank - 1], a = r0 * D, n = (r1 - r0) * D;
    const float *dy = c->dy + a;
    dx += a;
    if (c->fused && c->dx_fresh) {
        memcpy(dx, dy, n * sizeof *dx);
    } else if (c->fused) {
        for (size_t j = 0; j < n; j++) dx[j] += dy[j];
    } else if (nd->act == LF_ACT_RELU && c->dx_fresh) {
        relu_grad_set(dx, dy, c->xs[0] + a, n);
    } else if (nd->act == LF_ACT_RELU) {
        relu_grad_add(dx, dy, c->xs[0] + a, n);
    } else if (c->dx_fresh) {
        lf_act_backward(nd->act, dx, dy, c->xs[0] + a, c->y + a, n / w, w);
    } else {
        float *dz = c->aux + a;
        lf_act_backward(nd->act, dz, dy, c->xs[0] + a, c->y + a, n / w, w);
        for (size_t j = 0; j < n; j++) dx[j] += dz[j];
    }
}

static void act_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    if (c->B * c->nd->dim < ACT_PARALLEL) {
        act_backward_rows(c, dx, 0, c->B);
        return;
    }
#pragma omp parallel for schedule(static)
    for (size_t r = 0; r < c->B; r++) act_backward_rows(c, dx, r, r + 1);
}

static const float *act_logits(const lf_model *m, const lf_ws *ws, int id) {
    return ws->out[m->nodes[id].in[0]];
}

static void act_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"activation\":\"%s\"", lf_activation_name(nd->act));
}

static lf_status act_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                          const char *where, lf_err *e) {
    (void)m;
    int act = lf_activation_parse(lf_arch_str(L, "activation"));
    if (act < 0) return lf_fail(e, LF_ERR_FORMAT, "%s: unknown or missing activation", where);
    nd->act = (lf_activation)act;
    return lf_arch_arity(n_in, 1, "Activation", where, e);
}

static const char *const act_keys[] = {"name", "type", "inbound", "activation", NULL};

const lf_layer_type lf_type_activation = {
    .type = "Activation",
    .prefix = "activation",
    .keys = act_keys,
    .masking = LF_MASKING_KEEP,
    .dx_assign = 1,
    .infer = act_infer,
    .forward = act_forward,
    .backward = act_backward,
    .logits = act_logits,
    .write_json = act_json,
    .read_json = act_read,
};

int lf_activation_layer(lf_model *m, int x, lf_activation act, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.act = act;
    return lf_node_add(m, &lf_type_activation, LF_K_ACTIVATION, nd, &x, 1, name);
}
