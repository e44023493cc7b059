/*
 * shared.c — what a layer's weights may be besides their record's default:
 * shared with another node (Keras' shared layer: one layer object called
 * on several inputs) and drawn by a named Keras initializer.
 *
 * Sharing: the node keeps its own buffers in the workspace but its
 * param_off points at the owner's weights and it has no parameters of its
 * own (lf_node_weights gives none, so the model file, lf_get_weights and
 * the L2 penalty see the weights once, under the owner's name).  Every
 * record's backward pass adds into its weight gradient, so the gradients
 * of all the nodes that use the weights are summed in the owner's slot
 * and one optimizer step updates them.
 *
 * Initializers follow Keras 3 (keras.initializers): fans from the weight's
 * shape as the library stores it — a vector (n): fan_in = fan_out = n; a
 * matrix (out, in) (Dense's kernel, PyTorch's layout): fan_in = in,
 * fan_out = out; rank 3 or 4 (convolution kernels, Keras' layout (..., in,
 * out)): receptive field = the product of the leading dims, fan_in = in x
 * field, fan_out = out x field.  The normal variance-scaling ones draw a
 * normal truncated at 2 standard deviations (redrawn beyond), with the
 * standard deviation divided by 0.87962566103423978 as Keras does.
 */
#include "layers/layer.h"

#include <math.h>
#include <string.h>

lf_status lf_share_weights(lf_model *m, int node, int owner) {
    if (!m) return LF_ERR_ARG;
    if (lf_build_stuck(m)) return m->sticky;
    if (m->compiled) return lf_model_fail(m, LF_ERR_STATE, "lf_share_weights: the model is already compiled");
    if (node < 0 || (size_t)node + 1 != m->n_nodes)
        return lf_model_fail(m, LF_ERR_ARG, "lf_share_weights: node %d is not the last node added", node);
    lf_node *nd = &m->nodes[node];
    if (owner >= 0 && owner < node && m->nodes[owner].shares) owner = m->nodes[owner].shares - 1;
    if (owner == node)
        return lf_model_fail(m, LF_ERR_ARG, "lf_share_weights: node %d cannot share its own weights", node);
    if (!lf_share_check(m, nd, owner)) return m->sticky;
    /* the node is the last one: its weights are the end of the block */
    m->n_params -= nd->n_params;
    nd->param_off = m->nodes[owner].param_off;
    nd->n_params = 0;
    nd->shares = owner + 1;
    return LF_OK;
}

/* ------------------------------------------------------------ initializers */

static const char *const init_names[] = {"glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                                         "lecun_uniform", "lecun_normal", "zeros", "ones",
                                         "random_normal", "random_uniform"};
#define N_INIT (sizeof init_names / sizeof init_names[0])

const char *lf_initializer_name(lf_initializer init) {
    return (unsigned)init < N_INIT ? init_names[init] : NULL;
}

int lf_initializer_parse(const char *name) {
    for (size_t i = 0; name && i < N_INIT; i++)
        if (strcmp(name, init_names[i]) == 0) return (int)i;
    return -1;
}

/* a standard normal (Box-Muller on two 24-bit uniforms, u1 in (0, 1]) */
static double std_normal(lf_rng *r) {
    double u1 = 1.0 - lf_rng_uniform(r), u2 = lf_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static void fans(const lf_weight *w, double *fan_in, double *fan_out) {
    if (w->ndim == 1) {
        *fan_in = *fan_out = (double)w->shape[0];
    } else if (w->ndim == 2) {
        *fan_in = (double)w->shape[1], *fan_out = (double)w->shape[0];
    } else {
        double field = 1;
        for (size_t d = 0; d + 2 < w->ndim; d++) field *= (double)w->shape[d];
        *fan_in = (double)w->shape[w->ndim - 2] * field, *fan_out = (double)w->shape[w->ndim - 1] * field;
    }
}

/* fills w[0..n) by init (a valid value) with fans fi, fo */
static void draw(float *w, size_t n, lf_initializer init, double fi, double fo, lf_rng *r) {
    double scale = 1, fan = fi;
    int uniform = 1;
    switch (init) {
    case LF_INIT_ZEROS:
    case LF_INIT_ONES:
        for (size_t i = 0; i < n; i++) w[i] = init == LF_INIT_ONES ? 1.0f : 0.0f;
        return;
    case LF_INIT_RANDOM_UNIFORM:
        for (size_t i = 0; i < n; i++) w[i] = (float)(0.1 * lf_rng_uniform(r) - 0.05);
        return;
    case LF_INIT_RANDOM_NORMAL:
        for (size_t i = 0; i < n; i++) w[i] = (float)(0.05 * std_normal(r));
        return;
    case LF_INIT_GLOROT_UNIFORM: fan = (fi + fo) / 2; break;
    case LF_INIT_GLOROT_NORMAL: fan = (fi + fo) / 2, uniform = 0; break;
    case LF_INIT_HE_UNIFORM: scale = 2; break;
    case LF_INIT_HE_NORMAL: scale = 2, uniform = 0; break;
    case LF_INIT_LECUN_UNIFORM: break;
    case LF_INIT_LECUN_NORMAL: uniform = 0; break;
    }
    if (fan < 1) fan = 1;
    if (uniform) {
        double limit = sqrt(3.0 * scale / fan);
        for (size_t i = 0; i < n; i++) w[i] = (float)((2.0 * lf_rng_uniform(r) - 1.0) * limit);
        return;
    }
    double sd = sqrt(scale / fan) / 0.87962566103423978;
    for (size_t i = 0; i < n; i++) {
        double z;
        do z = std_normal(r);
        while (fabs(z) > 2.0);
        w[i] = (float)(z * sd);
    }
}

lf_status lf_initialize(lf_model *m, int node, size_t weight, lf_initializer init) {
    if (!m) return LF_ERR_ARG;
    if (node < 0 || (size_t)node >= m->n_nodes)
        return lf_model_fail(m, LF_ERR_ARG, "lf_initialize: node %d is not a node of this model", node);
    const lf_node *nd = &m->nodes[node];
    if ((unsigned)init >= N_INIT)
        return lf_model_fail(m, LF_ERR_ARG, "lf_initialize: unknown initializer %d", (int)init);
    lf_weight w[LF_MAX_WEIGHTS];
    size_t nw = lf_node_weights(m, nd, w);
    if (weight >= nw)
        return lf_model_fail(m, LF_ERR_ARG, "lf_initialize: layer '%s' has %zu weight tensors, index %zu asked",
                             nd->name, nw, weight);
    double fi, fo;
    fans(&w[weight], &fi, &fo);
    draw(m->params + nd->param_off + w[weight].off, lf_weight_count(&w[weight]), init, fi, fo, &m->rng);
    return LF_OK;
}
