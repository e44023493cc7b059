/*
 * conv3d.c — Conv3D, Keras' 3-D convolution over channels-last volumes
 * (videos): x (B, D, H, W, C) -> y (B, Do, Ho, Wo, filters),
 * y = act(conv(x, kernel) + bias) (keras/src/layers/convolutional/conv3d.py).
 *
 * The kernel is Keras' (kd, kh, kw, C, filters) and the bias (filters);
 * glorot_uniform kernel (fan_in = kd kh kw C, fan_out = kd kh kw filters),
 * zero bias.  Strides (sd, sh, sw); padding "valid" or "same" per axis as
 * Conv2D's (lf_conv_out: "same" pads total = max((o - 1) s + k - in, 0),
 * total / 2 before and the rest after, TensorFlow's rule).  dilation_rate
 * (dd, dh, dw) spreads the taps dd frames, dh rows and dw columns apart, the
 * sizes above with the dilated window d (k - 1) + 1 for k (as Conv2D's,
 * keras/src/ops/operation_utils.py compute_conv_output_shape); as Keras,
 * not with strides above 1 too (lf_conv_check).  Only channels_last.
 *
 * Both passes go through the project's sgemm by vol2col, as Conv2D's
 * im2col: every output voxel's receptive field becomes one row of
 * K = kd kh kw C values (the kernel's row order), z (B P, F) = cols (B P, K)
 * x kernel (K, F), P = Do Ho Wo, a chunk of samples at a time (Conv2D's
 * chunking rule, lf_conv_chunk_images / lf_conv_chunks_parallel, OpenMP
 * across the chunks).  The columns live in the node's scratch, kept from
 * forward to backward (training allocates nothing); backward reuses them
 * for d cols = dz kernel^T before scattering them back onto dx (col2vol).
 * With an activation, the scratch holds z and dz (B rows each) first.
 */
#include "kernels.h"
#include "layers/layer.h"

#include <string.h>

/* lf_vol_geom with the filters F and the columns' width K = kd kh kw C */
typedef struct vgeom {
    lf_vol_geom v;
    size_t F, K;
} vgeom;

static const lf_node *conv3d_input(const lf_model *m, const lf_node *nd) { return &m->nodes[nd->in[0]]; }

static vgeom vgeom_of(const lf_node *x, const lf_node *nd) {
    vgeom g;
    g.v = lf_vol_geom_of(x, nd);
    g.F = nd->dim / (g.v.Do * g.v.Ho * g.v.Wo);
    g.K = g.v.kd * g.v.kh * g.v.kw * g.v.C;
    return g;
}

/* cols: (Do Ho Wo, K)  x: (D, H, W, C).  add 0: cols = the receptive
 * fields of x, zeros where the window leaves the volume; add 1: dx (D, H,
 * W, C) += the columns scattered back (the transpose).  Tap (kz, ky, kx) of
 * output voxel (od, oy, ox) reads voxel (od sd + kz dd - pf, oy sh + ky dh
 * - pt, ox sw + kx dw - pl). */
void lf_vol2col(float *restrict cols, float *restrict dx, const float *restrict x, const lf_vol_geom *g, size_t K,
                int add) {
    size_t C = g->C;
    for (size_t od = 0; od < g->Do; od++)
        for (size_t oy = 0; oy < g->Ho; oy++)
            for (size_t ox = 0; ox < g->Wo; ox++) {
                float *row = cols + ((od * g->Ho + oy) * g->Wo + ox) * K;
                for (size_t kz = 0; kz < g->kd; kz++) {
                    size_t iz = od * g->sd + kz * g->dd; /* + pf: unsigned, compared shifted */
                    int zin = iz >= g->pf && iz - g->pf < g->D;
                    for (size_t ky = 0; ky < g->kh; ky++) {
                        size_t iy = oy * g->sh + ky * g->dh;
                        int yin = zin && iy >= g->pt && iy - g->pt < g->H;
                        size_t xs = ox * g->sw; /* the window's first column, padded coordinates */
                        if (yin && g->dw == 1 && xs >= g->pl && xs - g->pl + g->kw <= g->W) {
                            /* the row's kw taps wholly inside: one run of kw C values in x and the
                             * columns alike, copied (added) in a plain loop, in the taps' order */
                            float *restrict v = row + (kz * g->kh + ky) * g->kw * C;
                            size_t n = g->kw * C, at = (((iz - g->pf) * g->H + iy - g->pt) * g->W + xs - g->pl) * C;
                            if (add)
                                for (size_t j = 0; j < n; j++) dx[at + j] += v[j];
                            else
                                for (size_t j = 0; j < n; j++) v[j] = x[at + j];
                            continue;
                        }
                        for (size_t kx = 0; kx < g->kw; kx++) {
                            size_t ix = ox * g->sw + kx * g->dw;
                            float *v = row + ((kz * g->kh + ky) * g->kw + kx) * C;
                            int in = yin && ix >= g->pl && ix - g->pl < g->W;
                            size_t at = in ? (((iz - g->pf) * g->H + iy - g->pt) * g->W + ix - g->pl) * C : 0;
                            if (add) {
                                if (in)
                                    for (size_t ch = 0; ch < C; ch++) dx[at + ch] += v[ch];
                            } else if (in)
                                memcpy(v, x + at, C * sizeof *v);
                            else
                                memset(v, 0, C * sizeof *v);
                        }
                    }
                }
            }
}

static const lf_conv_spec conv3d_spec = {.kn = "Conv3D", .rank = 3, .filters = 1};

/* the builder put filters in nd->dim, kernel, strides, padding, act */
static int conv3d_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    size_t out[3], cols, F = nd->dim;
    const lf_node *x = lf_conv_setup(m, &conv3d_spec, nd, in, n_in, out);
    if (!x) return 0;
    size_t P = out[0] * out[1] * out[2], K = nd->kernel[0] * nd->kernel[1] * nd->kernel[2] * x->shape[3];
    if (!lf_conv_columns(m, "Conv3D", nd, 3, out, P, K, F, &cols)) return 0;
    nd->aux_per_row = cols + (nd->act == LF_ACT_LINEAR ? 0 : 2 * nd->dim); /* columns; z and dz */
    nd->aux_fixed = 0;
    return 1;
}

// x: (r1 - r0, D, H, W, C)  cols: (B P, K)  w: (K, F)  z: (B P, F), rows [r0, r1)
static void conv3d_fwd_chunk(const lf_layer_ctx *c, const vgeom *g, float *cols, float *z, size_t r0, size_t r1) {
    size_t P = g->v.Do * g->v.Ho * g->v.Wo, in = g->v.D * g->v.H * g->v.W * g->v.C;
    for (size_t r = r0; r < r1; r++) lf_vol2col(cols + r * P * g->K, NULL, c->xs[0] + r * in, &g->v, g->K, 0);
    const float *b = c->nd->use_bias ? c->w + g->K * g->F : NULL;
    lf_sgemm_bias_relu(0, 0, (r1 - r0) * P, g->F, g->K, cols + r0 * P * g->K, g->K, c->w, g->F, b, 0,
                       z + r0 * P * g->F, g->F);
}

static void conv3d_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    vgeom g = vgeom_of(conv3d_input(c->m, nd), nd);
    size_t B = c->B, P = g.v.Do * g.v.Ho * g.v.Wo, per = lf_conv_chunk_images(P);
    size_t zz = nd->act == LF_ACT_LINEAR ? 0 : 2 * B * nd->dim;
    float *cols = c->aux + zz;
    float *z = nd->act == LF_ACT_LINEAR ? c->y : c->aux;
    int par = lf_conv_chunks_parallel(B, per, B * P * g.K);
    (void)par; /* without OpenMP */
#pragma omp parallel for if (par) schedule(static)
    for (size_t r0 = 0; r0 < B; r0 += per) conv3d_fwd_chunk(c, &g, cols, z, r0, B - r0 < per ? B : r0 + per);
    /* over the last axis (filters) of every voxel */
    if (nd->act != LF_ACT_LINEAR) lf_act_forward(nd->act, c->y, z, B * P, g.F);
}

// dz: (B P, F)  w: (K, F)  cols: (B P, K) become d cols  dx: (B, D, H, W, C), rows [r0, r1)
static void conv3d_dx_chunk(const lf_layer_ctx *c, const vgeom *g, const float *dz, float *cols, float *dx,
                            size_t r0, size_t r1) {
    size_t P = g->v.Do * g->v.Ho * g->v.Wo, in = g->v.D * g->v.H * g->v.W * g->v.C;
    lf_sgemm(0, 1, (r1 - r0) * P, g->K, g->F, 1.0f, dz + r0 * P * g->F, g->F, c->w, g->F, 0.0f,
             cols + r0 * P * g->K, g->K);
    for (size_t r = r0; r < r1; r++) {
        if (c->dx_fresh) memset(dx + r * in, 0, in * sizeof *dx);
        lf_vol2col(cols + r * P * g->K, dx + r * in, NULL, &g->v, g->K, 1);
    }
}

static void conv3d_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    vgeom g = vgeom_of(conv3d_input(c->m, nd), nd);
    size_t B = c->B, P = g.v.Do * g.v.Ho * g.v.Wo, N = B * P, per = lf_conv_chunk_images(P);
    size_t zz = nd->act == LF_ACT_LINEAR ? 0 : 2 * N * g.F;
    float *cols = c->aux + zz;
    const float *dz = lf_conv_dz(c, c->aux, N, g.F, nd->use_bias ? c->dw + g.K * g.F : NULL);
    lf_sgemm(1, 0, g.K, g.F, N, 1.0f, cols, g.K, dz, g.F, 1.0f, c->dw, g.F);
    float *dx = c->dxs[0];
    if (!dx) return;
    /* the columns are spent: they become d cols */
    int par = lf_conv_chunks_parallel(B, per, N * g.K);
    (void)par;
#pragma omp parallel for if (par) schedule(static)
    for (size_t r0 = 0; r0 < B; r0 += per) conv3d_dx_chunk(c, &g, dz, cols, dx, r0, B - r0 < per ? B : r0 + per);
}

static void conv3d_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_conv_write_json(nd, 3, b);
    lf_conv_write_dilation(nd, 3, b); /* only when not (1, 1, 1): older files keep their bytes */
}

static lf_status conv3d_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                             lf_err *e) {
    (void)m;
    return lf_conv_read_json(L, n_in, 3, "Conv3D", nd, where, e);
}

const lf_layer_type lf_type_conv3d = {
    .type = "Conv3D",
    .prefix = "conv3d",
    .keys = lf_conv_keys,
    .l2 = 1,
    .bias_l2 = 1,
    .activity_reg = 1,
    .dx_assign = 1,
    .infer = conv3d_infer,
    .weights = lf_conv_weights,
    .init = lf_conv_init,
    .forward = conv3d_forward,
    .backward = conv3d_backward,
    .write_json = conv3d_json,
    .read_json = conv3d_read,
};

int lf_conv3d(lf_model *m, int x, size_t filters, size_t kd, size_t kh, size_t kw, size_t sd, size_t sh, size_t sw,
              lf_padding padding, lf_activation act, int use_bias, const char *name) {
    return lf_conv3d_dilated(m, x, filters, kd, kh, kw, sd, sh, sw, padding, 1, 1, 1, act, use_bias, name);
}

int lf_conv3d_dilated(lf_model *m, int x, size_t filters, size_t kd, size_t kh, size_t kw, size_t sd, size_t sh,
                      size_t sw, lf_padding padding, size_t dd, size_t dh, size_t dw, lf_activation act, int use_bias,
                      const char *name) {
    size_t k[3] = {kd, kh, kw}, s[3] = {sd, sh, sw}, d[3] = {dd, dh, dw};
    lf_node nd = lf_conv_node(3, filters, k, s, d, padding, act, use_bias);
    return lf_node_add(m, &lf_type_conv3d, LF_K_CONV3D, nd, &x, 1, name);
}
