/*
 * conv3d_transpose.c — Conv3DTranspose, Keras' transposed 3-D convolution
 * over channels-last volumes (keras/src/layers/convolutional/
 * conv3d_transpose.py, base_conv_transpose.py): x (B, D, H, W, C) ->
 * y (B, Do, Ho, Wo, filters), y = act(conv_transpose(x, kernel) + bias).
 *
 * The kernel is Keras' (kd, kh, kw, filters, C) and the bias (filters);
 * glorot_uniform kernel (Keras' fans of that shape: fan_in = kd kh kw
 * filters, fan_out = kd kh kw C), zero bias.  Each input voxel i spreads
 * x[i] kernel[t] onto the output voxel o = i s + t - P per axis: the
 * transpose of a Conv3D with the same kernel, strides and padding from
 * (Do, Ho, Wo, filters) back to (D, H, W, C).  The output size and P of
 * each axis are Conv2DTranspose's (lf_tconv_out, conv_transpose.c's top:
 * Keras' TensorFlow and JAX backends, output_padding below its stride).
 * dilation_rate 1 only.
 *
 * Through the project's sgemm, conv3d.c's vol2col on the geometry of that
 * Conv3D (g below: its input the output here, its output the input here),
 * as conv_transpose.c runs conv.c's im2col the other way round: forward,
 * the columns (B D H W, kd kh kw filters) = x kernel^T, one row per input
 * voxel, scattered onto z by col2vol (lf_vol2col's add); backward, dz's
 * columns by vol2col, then dx = cols kernel and d kernel += cols^T x.  The
 * columns live in the node's scratch (after z and dz when there is an
 * activation), so training allocates nothing; chunks of samples, on
 * OpenMP's threads above Conv2D's threshold (lf_conv_chunks_parallel), give
 * the same bits on any thread count.
 */
#include "kernels.h"
#include "layers/layer.h"

#include <string.h>

/* the Conv3D this layer transposes (from y to x), with the input's
 * channels Ci and the columns' width K = kd kh kw filters */
typedef struct tgeom {
    lf_vol_geom v;
    size_t Ci, K;
} tgeom;

static const lf_node *t3_input(const lf_model *m, const lf_node *nd) { return &m->nodes[nd->in[0]]; }

static size_t t3_axis(const lf_node *nd, size_t a, size_t in, size_t *crop) {
    return lf_tconv_out(in, nd->kernel[a], nd->strides[a], nd->padding, nd->out_pad[a], crop);
}

static tgeom tgeom_of(const lf_node *x, const lf_node *nd, size_t filters) {
    tgeom g;
    lf_vol_geom *v = &g.v;
    v->Do = x->shape[0], v->Ho = x->shape[1], v->Wo = x->shape[2];
    v->kd = nd->kernel[0], v->kh = nd->kernel[1], v->kw = nd->kernel[2];
    v->sd = nd->strides[0], v->sh = nd->strides[1], v->sw = nd->strides[2];
    v->dd = v->dh = v->dw = 1;
    v->D = t3_axis(nd, 0, v->Do, &v->pf);
    v->H = t3_axis(nd, 1, v->Ho, &v->pt);
    v->W = t3_axis(nd, 2, v->Wo, &v->pl);
    v->C = filters;
    g.Ci = x->shape[3];
    g.K = v->kd * v->kh * v->kw * filters;
    return g;
}

static const lf_conv_spec t3_spec = {
    .kn = "Conv3DTranspose", .rank = 3, .filters = 1, .transpose = 1, .axis_out = t3_axis};

/* the builder put filters in nd->dim, kernel, strides, padding, out_pad, act */
static int t3_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    size_t out[3], cols;
    const lf_node *x = lf_conv_setup(m, &t3_spec, nd, in, n_in, out);
    if (!x) return 0;
    tgeom g = tgeom_of(x, nd, nd->dim);
    size_t P = g.v.Do * g.v.Ho * g.v.Wo;
    if (!lf_conv_columns(m, "Conv3DTranspose", nd, 3, out, P, g.K, g.Ci, &cols)) return 0;
    nd->aux_per_row = cols + (nd->act == LF_ACT_LINEAR ? 0 : 2 * nd->dim); /* z and dz, then the columns */
    return 1;
}

static size_t t3_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    size_t C = t3_input(m, nd)->shape[3], F = nd->shape[3];
    size_t n = lf_conv_kernel(&w[0], "kernel", 0, 3, nd->kernel, F, C);
    if (!nd->use_bias) return 1;
    lf_conv_bias(&w[1], n, F);
    return 2;
}

static void t3_init(lf_model *m, lf_node *nd) {
    size_t C = t3_input(m, nd)->shape[3], F = nd->shape[3], rf = nd->kernel[0] * nd->kernel[1] * nd->kernel[2];
    size_t nw = rf * F * C;
    float *w = m->params + nd->param_off;
    lf_conv_glorot(m, w, nw, rf * F, rf * C);
    if (nd->use_bias) memset(w + nw, 0, F * sizeof *w);
}

// x: (B P, Ci)  w: (K, Ci)  cols: (B P, K)  z: (B, D, H, W, F), samples [r0, r1)
static void t3_fwd_chunk(const lf_layer_ctx *c, const tgeom *g, float *cols, float *z, size_t r0, size_t r1) {
    size_t P = g->v.Do * g->v.Ho * g->v.Wo, V = g->v.D * g->v.H * g->v.W, F = g->v.C, out = V * F;
    lf_sgemm(0, 1, (r1 - r0) * P, g->K, g->Ci, 1.0f, c->xs[0] + r0 * P * g->Ci, g->Ci, c->w, g->Ci, 0.0f,
             cols + r0 * P * g->K, g->K);
    const float *b = c->nd->use_bias ? c->w + g->K * g->Ci : NULL;
    for (size_t r = r0; r < r1; r++) {
        float *zr = z + r * out;
        memset(zr, 0, out * sizeof *zr);
        lf_vol2col(cols + r * P * g->K, zr, NULL, &g->v, g->K, 1);
        if (b)
            for (size_t p = 0; p < V; p++)
                for (size_t f = 0; f < F; f++) zr[p * F + f] += b[f];
    }
}

static void t3_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    tgeom g = tgeom_of(t3_input(c->m, nd), nd, nd->shape[3]);
    size_t B = c->B, P = g.v.Do * g.v.Ho * g.v.Wo, per = lf_conv_chunk_images(P);
    size_t zz = nd->act == LF_ACT_LINEAR ? 0 : 2 * B * nd->dim;
    float *cols = c->aux + zz, *z = nd->act == LF_ACT_LINEAR ? c->y : c->aux;
    int par = lf_conv_chunks_parallel(B, per, B * P * g.K);
    (void)par; /* without OpenMP */
#pragma omp parallel for if (par) schedule(static)
    for (size_t r0 = 0; r0 < B; r0 += per) t3_fwd_chunk(c, &g, cols, z, r0, B - r0 < per ? B : r0 + per);
    /* over the last axis (filters) of every voxel */
    if (nd->act != LF_ACT_LINEAR) lf_act_forward(nd->act, c->y, z, B * g.v.D * g.v.H * g.v.W, g.v.C);
}

// dz: (B, D, H, W, F)  cols: (B P, K)  w: (K, Ci)  dx: (B P, Ci), samples [r0, r1)
static void t3_dx_chunk(const lf_layer_ctx *c, const tgeom *g, const float *dz, float *cols, float *dx, size_t r0,
                        size_t r1) {
    size_t P = g->v.Do * g->v.Ho * g->v.Wo, out = g->v.D * g->v.H * g->v.W * g->v.C;
    for (size_t r = r0; r < r1; r++) lf_vol2col(cols + r * P * g->K, NULL, dz + r * out, &g->v, g->K, 0);
    if (dx)
        lf_sgemm(0, 0, (r1 - r0) * P, g->Ci, g->K, 1.0f, cols + r0 * P * g->K, g->K, c->w, g->Ci,
                 c->dx_fresh ? 0.0f : 1.0f, dx + r0 * P * g->Ci, g->Ci);
}

static void t3_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    tgeom g = tgeom_of(t3_input(c->m, nd), nd, nd->shape[3]);
    size_t B = c->B, P = g.v.Do * g.v.Ho * g.v.Wo, per = lf_conv_chunk_images(P);
    size_t zz = nd->act == LF_ACT_LINEAR ? 0 : 2 * B * nd->dim;
    float *cols = c->aux + zz;
    const float *dz =
        lf_conv_dz(c, c->aux, B * g.v.D * g.v.H * g.v.W, g.v.C, nd->use_bias ? c->dw + g.K * g.Ci : NULL);
    float *dx = c->dxs[0];
    int par = lf_conv_chunks_parallel(B, per, B * P * g.K);
    (void)par;
#pragma omp parallel for if (par) schedule(static)
    for (size_t r0 = 0; r0 < B; r0 += per) t3_dx_chunk(c, &g, dz, cols, dx, r0, B - r0 < per ? B : r0 + per);
    /* d kernel (K, Ci) += cols^T (K, B P) x (B P, Ci) */
    lf_sgemm(1, 0, g.K, g.Ci, B * P, 1.0f, cols, g.K, c->xs[0], g.Ci, 1.0f, c->dw, g.Ci);
}

/* output_padding only when given (Keras' None: no field) */
static void t3_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_conv_write_json(nd, 3, b);
    if (nd->out_pad[0] != LF_INFER)
        lf_buf_printf(b, ",\"output_padding\":[%zu,%zu,%zu]", nd->out_pad[0], nd->out_pad[1], nd->out_pad[2]);
}

static lf_status t3_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                         lf_err *e) {
    (void)m;
    lf_status st = lf_conv_read_json(L, n_in, 3, "Conv3DTranspose", nd, where, e);
    if (st != LF_OK) return st;
    const lf_json *op = lf_json_get(L, "output_padding");
    nd->out_pad[0] = nd->out_pad[1] = nd->out_pad[2] = LF_INFER;
    if (!op || lf_json_is(op, LF_JSON_NULL)) return LF_OK;
    return lf_arch_sizes(L, "output_padding", 0, 1023, 3, 3, nd->out_pad, NULL, where, e);
}

static const char *const t3_keys[] = {"name",    "type",       "inbound",  "filters", "kernel_size",
                                      "strides", "padding",    "activation", "use_bias", "l2",
                                      "bias_l2", "output_padding", NULL};

const lf_layer_type lf_type_conv3d_transpose = {
    .type = "Conv3DTranspose",
    .prefix = "conv3d_transpose",
    .keys = t3_keys,
    .l2 = 1,
    .bias_l2 = 1,
    .activity_reg = 1,
    .dx_assign = 1,
    .infer = t3_infer,
    .weights = t3_weights,
    .init = t3_init,
    .forward = t3_forward,
    .backward = t3_backward,
    .write_json = t3_json,
    .read_json = t3_read,
};

int lf_conv3d_transpose(lf_model *m, int x, size_t filters, size_t kd, size_t kh, size_t kw, size_t sd, size_t sh,
                        size_t sw, lf_padding padding, const size_t *output_padding, lf_activation act, int use_bias,
                        const char *name) {
    size_t k[3] = {kd, kh, kw}, s[3] = {sd, sh, sw};
    lf_node nd = lf_conv_node(3, filters, k, s, NULL, padding, act, use_bias);
    for (size_t a = 0; a < 3; a++) nd.out_pad[a] = output_padding ? output_padding[a] : LF_INFER;
    return lf_node_add(m, &lf_type_conv3d_transpose, LF_K_CONV3D_TRANSPOSE, nd, &x, 1, name);
}
