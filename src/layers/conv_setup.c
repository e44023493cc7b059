/*
 * conv_setup.c — the node set-up every convolution kind shares: Conv1D
 * (seq.c), Conv2D (conv.c), Conv1DTranspose / Conv2DTranspose
 * (conv_transpose.c), DepthwiseConv1D / DepthwiseConv2D and
 * SeparableConv1D / SeparableConv2D (depthwise.c), Conv3D (conv3d.c),
 * Conv3DTranspose (conv3d_transpose.c).
 *
 * lf_conv_setup checks a node's input, activation, filters,
 * depth_multiplier, padding, kernel_size, strides, dilation_rate and
 * output_padding in that order and computes the output size of every
 * spatial axis (a rank-3 kind's input is (D, H, W, C); each kind's
 * messages as they were before the kinds shared it); lf_conv_node fills a
 * builder's node; lf_conv_kernel / lf_conv_bias write the weight records
 * (Keras' shapes: the window's axes, then two channel axes),
 * lf_conv_glorot draws a glorot_uniform kernel, and lf_conv_weights /
 * lf_conv_init are the weights and initialisation of Conv1D, Conv2D and
 * Conv3D; lf_vol_geom_of gives a 3-D window's geometry (Conv3D, its
 * dilation too, and the 3-D poolings).  A 1-D kind keeps (k, 1), (s, 1) and (d, 1) in the node, so
 * that the 2-D kernels run it as an image (T, 1, C) (lf_conv_hwc).
 */
#include "kernels.h"
#include "layers/layer.h"

#include <math.h>
#include <string.h>

void lf_conv_hwc(const lf_node *x, size_t *H, size_t *W, size_t *C) {
    *H = x->shape[0];
    *W = x->rank == 2 ? 1 : x->shape[1];
    *C = x->shape[x->rank - 1];
}

lf_vol_geom lf_vol_geom_of(const lf_node *x, const lf_node *nd) {
    lf_vol_geom g;
    g.D = x->shape[0], g.H = x->shape[1], g.W = x->shape[2], g.C = x->shape[3];
    g.kd = nd->kernel[0], g.kh = nd->kernel[1], g.kw = nd->kernel[2];
    g.sd = nd->strides[0], g.sh = nd->strides[1], g.sw = nd->strides[2];
    /* a pooling's node leaves its dilation 0: undilated */
    g.dd = nd->dilation[0] ? nd->dilation[0] : 1;
    g.dh = nd->dilation[1] ? nd->dilation[1] : 1;
    g.dw = nd->dilation[2] ? nd->dilation[2] : 1;
    g.Do = lf_conv_out_dilated(g.D, g.kd, g.sd, g.dd, nd->padding, &g.pf);
    g.Ho = lf_conv_out_dilated(g.H, g.kh, g.sh, g.dh, nd->padding, &g.pt);
    g.Wo = lf_conv_out_dilated(g.W, g.kw, g.sw, g.dw, nd->padding, &g.pl);
    return g;
}

static size_t axis_out(const lf_conv_spec *s, const lf_node *nd, size_t a, size_t in, size_t *pad) {
    if (s->axis_out) return s->axis_out(nd, a, in, pad);
    return lf_conv_out_dilated(in, nd->kernel[a], nd->strides[a], nd->dilation[a], nd->padding, pad);
}

/* the message of an output with no pixel (axis sizes out) */
static int too_small(lf_model *m, const lf_conv_spec *s, const lf_node *x, const lf_node *nd, const size_t *out) {
    char sh[96];
    lf_shape_str(x, sh, sizeof sh);
    if (s->transpose) {
        if (s->rank == 3)
            return lf_build_fail(m, LF_ERR_SHAPE,
                                 "%s: input '%s' of shape %s gives an output of %zu x %zu x %zu voxels", s->kn,
                                 x->name, sh, out[0], out[1], out[2]);
        if (s->rank == 1)
            return lf_build_fail(m, LF_ERR_SHAPE, "%s: input '%s' of shape %s gives an output of %zu steps", s->kn,
                                 x->name, sh, out[0]);
        return lf_build_fail(m, LF_ERR_SHAPE, "%s: input '%s' of shape %s gives an output of %zu x %zu pixels",
                             s->kn, x->name, sh, out[0], out[1]);
    }
    if (s->rank == 3 && (nd->dilation[0] > 1 || nd->dilation[1] > 1 || nd->dilation[2] > 1))
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "%s: input '%s' of shape %s is smaller than the kernel (%zu, %zu, %zu) dilated by "
                             "(%zu, %zu, %zu) with padding 'valid'",
                             s->kn, x->name, sh, nd->kernel[0], nd->kernel[1], nd->kernel[2], nd->dilation[0],
                             nd->dilation[1], nd->dilation[2]);
    if (s->rank == 3)
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "%s: input '%s' of shape %s is smaller than the kernel (%zu, %zu, %zu) with padding "
                             "'valid'",
                             s->kn, x->name, sh, nd->kernel[0], nd->kernel[1], nd->kernel[2]);
    int dilated = s->dilation_said || nd->dilation[0] > 1 || (s->rank == 2 && nd->dilation[1] > 1);
    if (s->rank == 1 && dilated)
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "%s: input '%s' of shape %s is shorter than the kernel %zu dilated by %zu with padding "
                             "'valid'",
                             s->kn, x->name, sh, nd->kernel[0], nd->dilation[0]);
    if (s->rank == 1)
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "%s: input '%s' of shape %s is shorter than the kernel %zu with padding 'valid'", s->kn,
                             x->name, sh, nd->kernel[0]);
    if (dilated)
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "%s: input '%s' of shape %s is smaller than the kernel (%zu, %zu) dilated by (%zu, %zu) "
                             "with padding 'valid'",
                             s->kn, x->name, sh, nd->kernel[0], nd->kernel[1], nd->dilation[0], nd->dilation[1]);
    return lf_build_fail(m, LF_ERR_SHAPE,
                         "%s: input '%s' of shape %s is smaller than the kernel (%zu, %zu) with padding 'valid'",
                         s->kn, x->name, sh, nd->kernel[0], nd->kernel[1]);
}

const lf_node *lf_conv_setup(lf_model *m, const lf_conv_spec *s, const lf_node *nd, const int *in, size_t n_in,
                             size_t *out) {
    const char *kn = s->kn;
    const lf_node *x = lf_input_node(m, kn, in, n_in, s->rank + 1);
    if (!x || !lf_check_act(m, nd->act)) return NULL;
    if (s->filters && (nd->dim == 0 || nd->dim > LF_ARCH_MAX_DIM)) {
        lf_build_fail(m, LF_ERR_ARG, "%s: filters must be in 1..%zu, got %zu", kn, LF_ARCH_MAX_DIM, nd->dim);
        return NULL;
    }
    if (s->depthwise && (nd->depth_multiplier == 0 || nd->depth_multiplier > LF_ARCH_MAX_DIM)) {
        lf_build_fail(m, LF_ERR_ARG, "%s: depth_multiplier must be in 1..%zu, got %zu", kn, LF_ARCH_MAX_DIM,
                      nd->depth_multiplier);
        return NULL;
    }
    if (s->transpose && (unsigned)nd->padding > LF_PADDING_SAME) {
        lf_build_fail(m, LF_ERR_ARG, "%s: unknown padding %d", kn, (int)nd->padding);
        return NULL;
    }
    if (!lf_conv_check(m, kn, nd, s->rank, s->causal)) return NULL;
    for (size_t a = 0; s->transpose && a < s->rank; a++)
        if (nd->out_pad[a] != LF_INFER && nd->out_pad[a] >= nd->strides[a]) {
            /* Keras' message (base_conv_transpose.py) */
            lf_build_fail(m, LF_ERR_ARG,
                          "%s: `output_padding` must be strictly less than `strides` for all dimensions. "
                          "At dimension %zu, `output_padding` is %zu but `strides` is %zu",
                          kn, a, nd->out_pad[a], nd->strides[a]);
            return NULL;
        }
    size_t pad, none = 0;
    if (s->rank == 3) { /* x (D, H, W, C) */
        for (size_t a = 0; a < 3; a++) out[a] = axis_out(s, nd, a, x->shape[a], &pad), none |= out[a] == 0;
        if (none) return too_small(m, s, x, nd, out), NULL;
        return x;
    }
    size_t H, W, C;
    lf_conv_hwc(x, &H, &W, &C);
    out[0] = axis_out(s, nd, 0, H, &pad);
    out[1] = s->rank == 1 ? 1 : axis_out(s, nd, 1, W, &pad);
    if (out[0] == 0 || out[1] == 0) return too_small(m, s, x, nd, out), NULL;
    return x;
}

lf_node lf_conv_node(size_t rank, size_t filters, const size_t *kernel, const size_t *strides,
                     const size_t *dilation, lf_padding padding, lf_activation act, int use_bias) {
    lf_node nd = LF_NODE_PROTO;
    nd.dim = filters;
    for (size_t a = 0; a < 3; a++) {
        nd.kernel[a] = a < rank ? kernel[a] : 1;
        nd.strides[a] = a < rank ? strides[a] : 1;
        nd.dilation[a] = a < rank && dilation ? dilation[a] : 1;
    }
    nd.padding = padding;
    nd.act = act;
    nd.use_bias = use_bias != 0;
    return nd;
}

size_t lf_conv_kernel(lf_weight *w, const char *name, size_t off, size_t rank, const size_t *window, size_t a,
                      size_t b) {
    *w = (lf_weight){name, off, rank + 2, {0}, 1, 0, 0, 0};
    size_t n = 1;
    for (size_t i = 0; i < rank; i++) w->shape[i] = window[i], n *= window[i];
    w->shape[rank] = a, w->shape[rank + 1] = b;
    return n * a * b;
}

void lf_conv_bias(lf_weight *w, size_t off, size_t n) { *w = (lf_weight){"bias", off, 1, {n}, 0, 0, 1, 0}; }

void lf_conv_glorot(lf_model *m, float *w, size_t n, size_t fan_in, size_t fan_out) {
    float limit = sqrtf(6.0f / (float)(fan_in + fan_out));
    for (size_t i = 0; i < n; i++) w[i] = (2.0f * lf_rng_uniform(&m->rng) - 1.0f) * limit;
}

size_t lf_conv_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    const lf_node *x = &m->nodes[nd->in[0]];
    size_t rank = nd->rank - 1, F = nd->shape[rank];
    size_t n = lf_conv_kernel(&w[0], "kernel", 0, rank, nd->kernel, x->shape[x->rank - 1], F);
    if (!nd->use_bias) return 1;
    lf_conv_bias(&w[1], n, F);
    return 2;
}

void lf_conv_init(lf_model *m, lf_node *nd) {
    const lf_node *x = &m->nodes[nd->in[0]];
    size_t rank = nd->rank - 1, F = nd->shape[rank], C = x->shape[x->rank - 1], rf = 1;
    for (size_t a = 0; a < rank; a++) rf *= nd->kernel[a];
    size_t nw = rf * C * F;
    float *w = m->params + nd->param_off;
    lf_conv_glorot(m, w, nw, rf * C, rf * F);
    if (nd->use_bias) memset(w + nw, 0, F * sizeof *w);
}

int lf_conv_columns(lf_model *m, const char *kn, lf_node *nd, size_t rank, const size_t *out, size_t P, size_t K,
                    size_t F, size_t *cols) {
    size_t shape[4], nw;
    for (size_t a = 0; a < rank; a++) shape[a] = out[a];
    shape[rank] = nd->dim;
    if (!lf_shape_set(m, kn, nd, rank + 1, shape)) return 0;
    if (!lf_mul_ok(P, K, cols) || *cols > LF_ARCH_MAX_DIM || !lf_mul_ok(K, F, &nw) || nw > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG, "%s: %zu x %zu columns or %zu x %zu weights are too many", kn, P, K, K,
                             F);
    return 1;
}

const float *lf_conv_dz(const lf_layer_ctx *c, float *z, size_t N, size_t F, float *db) {
    const lf_node *nd = c->nd;
    const float *dz = c->dy;
    if (nd->act != LF_ACT_LINEAR) {
        float *dzb = z + c->B * nd->dim;
        lf_act_backward(nd->act, dzb, c->dy, z, c->y, N, F);
        dz = dzb;
    }
    if (db)
        for (size_t r = 0; r < N; r++)
            for (size_t f = 0; f < F; f++) db[f] += dz[r * F + f];
    return dz;
}
