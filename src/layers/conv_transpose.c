/*
 * conv_transpose.c — Conv2DTranspose, Keras' transposed 2-D convolution over
 * channels-last images: x (B, H, W, C) -> y (B, Ho, Wo, filters),
 * y = act(conv_transpose(x, kernel) + bias).
 *
 * The kernel is Keras' (kh, kw, filters, C) and the bias (filters);
 * glorot_uniform kernel (limit sqrt(6 / (kh kw (C + filters)))), zero bias.
 * Each input pixel i spreads x[i] kernel[t] onto the output pixel
 * o = i s + t - P (per axis; t the kernel tap, s the stride, P the pixels
 * cropped before the first): the transpose of a Conv2D with the same
 * kernel, strides and padding from (Ho, Wo, filters) back to (H, W, C).
 * Per axis, as keras/src/backend/common/backend_utils.py
 * (_get_output_shape_given_tf_padding for the size, and
 * _convert_conv_transpose_padding_args_from_keras_to_jax for P, JAX's and
 * TensorFlow's padding; Keras' torch backend crops one pixel more in some
 * 'same' cases, its own warning says so), output_padding op (None: LF_INFER):
 *   valid:        Ho = (H - 1) s + k + op, op None = max(k, s) - k;  P = 0
 *   same, None:   Ho = H s,                    pad = s + k - 2
 *   same, op:     Ho = (H - 1) s + k % 2 + op,   pad = k + k % 2 - 2 + op
 *   same:         P = k - 1 - min(ceil(pad / 2), k - 1)
 * (keras/src/layers/convolutional/base_conv_transpose.py: op < s.)
 *
 * Through the project's sgemm, the other way round from Conv2D (conv.c's
 * im2col / col2im on the geometry of that Conv2D, g below): forward, the
 * columns (B H W, kh kw filters) = x kernel^T, one row per input pixel,
 * added back onto y by col2im; backward, dy's columns by im2col, then
 * dx = cols kernel and d kernel += cols^T x.  The columns live in the
 * node's scratch (aux, after z and dz when there is an activation), so
 * training allocates nothing; chunks of images, on OpenMP's threads above
 * Conv2D's threshold (lf_conv_chunks_parallel), give the same bits on any
 * thread count.
 */
#include "layers/layer.h"
#include "kernels.h"

#include <math.h>
#include <string.h>

size_t lf_tconv_out(size_t in, size_t k, size_t s, lf_padding p, size_t op, size_t *crop) {
    if (p == LF_PADDING_VALID) {
        *crop = 0;
        return (in - 1) * s + k + (op == LF_INFER ? (k > s ? k : s) - k : op);
    }
    size_t pad = op == LF_INFER ? s + k - 2 : k + k % 2 - 2 + op, left = pad / 2 + pad % 2;
    *crop = k - 1 - (left < k - 1 ? left : k - 1);
    return op == LF_INFER ? in * s : (in - 1) * s + k % 2 + op;
}

/* The Conv2D that this layer transposes: from y (Ho, Wo, filters) to x */
static lf_conv_geom tgeom(const lf_node *x, const lf_node *nd, size_t filters) {
    lf_conv_geom g;
    size_t H, W, C;
    lf_conv_hwc(x, &H, &W, &C);
    g.kh = nd->kernel[0], g.kw = nd->kernel[1], g.sh = nd->strides[0], g.sw = nd->strides[1];
    g.dh = g.dw = 1;
    g.H = lf_tconv_out(H, g.kh, g.sh, nd->padding, nd->out_pad[0], &g.pt);
    g.W = lf_tconv_out(W, g.kw, g.sw, nd->padding, nd->out_pad[1], &g.pl);
    g.C = filters;
    g.Ho = H, g.Wo = W;
    g.F = C; /* the input's channels */
    g.K = g.kh * g.kw * g.C;
    return g;
}

static const lf_node *tconv_input(const lf_model *m, const lf_node *nd) { return &m->nodes[nd->in[0]]; }

/* the spatial axes of a node (its output's rank less the channels), the
 * input's channels */
static size_t rank_of(const lf_node *nd) { return nd->rank - 1; }
static size_t in_channels(const lf_model *m, const lf_node *nd) {
    const lf_node *x = tconv_input(m, nd);
    return x->shape[x->rank - 1];
}

static size_t tconv_axis(const lf_node *nd, size_t a, size_t in, size_t *crop) {
    return lf_tconv_out(in, nd->kernel[a], nd->strides[a], nd->padding, nd->out_pad[a], crop);
}

static const lf_conv_spec tconv2d_spec = {
    .kn = "Conv2DTranspose", .rank = 2, .filters = 1, .transpose = 1, .axis_out = tconv_axis};

/* the builder put filters in nd->dim, kernel, strides, padding, out_pad, act */
static int tconv_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    size_t out[2], cols;
    const lf_node *x = lf_conv_setup(m, &tconv2d_spec, nd, in, n_in, out);
    if (!x) return 0;
    lf_conv_geom g = tgeom(x, nd, nd->dim);
    if (!lf_conv_columns(m, "Conv2DTranspose", nd, 2, out, g.Ho * g.Wo, g.K, g.F, &cols)) return 0;
    nd->aux_per_row = cols + (nd->act == LF_ACT_LINEAR ? 0 : 2 * nd->dim); /* z and dz, then the columns */
    return 1;
}

static size_t tconv_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    size_t C = in_channels(m, nd), F = nd->shape[rank_of(nd)];
    size_t n = lf_conv_kernel(&w[0], "kernel", 0, rank_of(nd), nd->kernel, F, C);
    if (!nd->use_bias) return 1;
    lf_conv_bias(&w[1], n, F);
    return 2;
}

static void tconv_init(lf_model *m, lf_node *nd) {
    size_t C = in_channels(m, nd), F = nd->shape[rank_of(nd)], rf = nd->kernel[0] * nd->kernel[1];
    size_t nw = rf * F * C;
    float *w = m->params + nd->param_off;
    lf_conv_glorot(m, w, nw, rf * F, rf * C);
    if (nd->use_bias) memset(w + nw, 0, F * sizeof *w);
}

/* forward of images [r0, r1): the columns (their H W rows) = x kernel^T,
 * then each image's z = col2im(columns) + bias */
static void tconv_fwd_chunk(const lf_layer_ctx *c, const lf_conv_geom *g, float *cols, float *z, size_t r0,
                            size_t r1) {
    size_t P = g->Ho * g->Wo, out = g->H * g->W * g->C;
    /* cols (rows, K) = x (rows, C_in) kernel^T, kernel (K, C_in) */
    lf_sgemm(0, 1, (r1 - r0) * P, g->K, g->F, 1.0f, c->xs[0] + r0 * P * g->F, g->F, c->w, g->F, 0.0f,
             cols + r0 * P * g->K, g->K);
    const float *b = c->nd->use_bias ? c->w + g->K * g->F : NULL;
    for (size_t r = r0; r < r1; r++) {
        float *zr = z + r * out;
        memset(zr, 0, out * sizeof *zr);
        lf_col2im(zr, cols + r * P * g->K, g);
        if (b)
            for (size_t p = 0; p < g->H * g->W; p++)
                for (size_t f = 0; f < g->C; f++) zr[p * g->C + f] += b[f];
    }
}

static void tconv_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    lf_conv_geom g = tgeom(tconv_input(c->m, nd), nd, nd->shape[rank_of(nd)]);
    size_t B = c->B, per = lf_conv_chunk_images(g.Ho * g.Wo);
    size_t zz = nd->act == LF_ACT_LINEAR ? 0 : 2 * B * nd->dim;
    float *cols = c->aux + zz, *z = nd->act == LF_ACT_LINEAR ? c->y : c->aux;
    int par = lf_conv_chunks_parallel(B, per, B * g.Ho * g.Wo * g.K);
    (void)par; /* without OpenMP */
#pragma omp parallel for if (par) schedule(static)
    for (size_t r0 = 0; r0 < B; r0 += per) tconv_fwd_chunk(c, &g, cols, z, r0, B - r0 < per ? B : r0 + per);
    /* over the last axis (filters) of every pixel */
    if (nd->act != LF_ACT_LINEAR) lf_act_forward(nd->act, c->y, z, B * g.H * g.W, g.C);
}

/* backward of images [r0, r1): dz's columns, then dx = cols kernel */
static void tconv_dx_chunk(const lf_layer_ctx *c, const lf_conv_geom *g, const float *dz, float *cols, float *dx,
                           size_t r0, size_t r1) {
    size_t P = g->Ho * g->Wo, out = g->H * g->W * g->C;
    for (size_t r = r0; r < r1; r++) lf_im2col(cols + r * P * g->K, dz + r * out, g);
    if (dx)
        lf_sgemm(0, 0, (r1 - r0) * P, g->F, g->K, 1.0f, cols + r0 * P * g->K, g->K, c->w, g->F,
                 c->dx_fresh ? 0.0f : 1.0f, dx + r0 * P * g->F, g->F);
}

static void tconv_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    lf_conv_geom g = tgeom(tconv_input(c->m, nd), nd, nd->shape[rank_of(nd)]);
    size_t B = c->B, N = B * g.H * g.W, per = lf_conv_chunk_images(g.Ho * g.Wo);
    size_t zz = nd->act == LF_ACT_LINEAR ? 0 : 2 * B * nd->dim;
    float *cols = c->aux + zz;
    const float *dz = lf_conv_dz(c, c->aux, N, g.C, nd->use_bias ? c->dw + g.K * g.F : NULL);
    float *dx = c->dxs[0];
    int par = lf_conv_chunks_parallel(B, per, B * g.Ho * g.Wo * g.K);
    (void)par;
#pragma omp parallel for if (par) schedule(static)
    for (size_t r0 = 0; r0 < B; r0 += per) tconv_dx_chunk(c, &g, dz, cols, dx, r0, B - r0 < per ? B : r0 + per);
    /* d kernel (K, C_in) += cols^T (K, B H W) x (B H W, C_in) */
    lf_sgemm(1, 0, g.K, g.F, B * g.Ho * g.Wo, 1.0f, cols, g.K, c->xs[0], g.F, 1.0f, c->dw, g.F);
}

static void tconv_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_conv_write_json(nd, rank_of(nd), b);
    if (nd->out_pad[0] == LF_INFER) lf_buf_puts(b, ",\"output_padding\":null");
    else if (rank_of(nd) == 1) lf_buf_printf(b, ",\"output_padding\":[%zu]", nd->out_pad[0]);
    else lf_buf_printf(b, ",\"output_padding\":[%zu,%zu]", nd->out_pad[0], nd->out_pad[1]);
}

static lf_status tconv_read_rank(const lf_json *L, size_t n_in, size_t rank, const char *type, lf_node *nd,
                                 const char *where, lf_err *e) {
    lf_status st;
    /* lf_conv_read_json takes Conv1D's "causal" for rank 1: Keras'
     * Conv1DTranspose does not */
    if (rank == 1 && (st = lf_arch_padding(L, &nd->padding, where, e)) != LF_OK) return st;
    if ((st = lf_conv_read_json(L, n_in, rank, type, nd, where, e)) != LF_OK) return st;
    if (rank == 1) nd->kernel[1] = nd->strides[1] = 1; /* a 1-D layer's second axis */
    const lf_json *op = lf_json_get(L, "output_padding");
    nd->out_pad[0] = nd->out_pad[1] = LF_INFER;
    if (!op || lf_json_is(op, LF_JSON_NULL)) return LF_OK;
    return lf_arch_sizes(L, "output_padding", 0, 1023, rank, rank, nd->out_pad, NULL, where, e);
}

static lf_status tconv_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                            lf_err *e) {
    (void)m;
    return tconv_read_rank(L, n_in, 2, "Conv2DTranspose", nd, where, e);
}

static const char *const tconv_keys[] = {"name",       "type",    "inbound", "filters", "kernel_size",
                                         "strides",    "padding", "activation", "use_bias", "l2",
                                         "bias_l2",    "output_padding", NULL};

const lf_layer_type lf_type_conv2d_transpose = {
    .type = "Conv2DTranspose",
    .prefix = "conv2d_transpose",
    .keys = tconv_keys,
    .l2 = 1,
    .bias_l2 = 1,
    .dx_assign = 1,
    .infer = tconv_infer,
    .weights = tconv_weights,
    .init = tconv_init,
    .forward = tconv_forward,
    .backward = tconv_backward,
    .write_json = tconv_json,
    .read_json = tconv_read,
};

int lf_conv2d_transpose(lf_model *m, int x, size_t filters, size_t kh, size_t kw, size_t sh, size_t sw,
                        lf_padding padding, const size_t *output_padding, lf_activation act, int use_bias,
                        const char *name) {
    size_t k[2] = {kh, kw}, s[2] = {sh, sw};
    lf_node nd = lf_conv_node(2, filters, k, s, NULL, padding, act, use_bias);
    nd.out_pad[0] = output_padding ? output_padding[0] : LF_INFER;
    nd.out_pad[1] = output_padding ? output_padding[1] : LF_INFER;
    return lf_node_add(m, &lf_type_conv2d_transpose, LF_K_CONV2D_TRANSPOSE, nd, &x, 1, name);
}

/* ------------------------------------------------------- Conv1DTranspose
 * (keras/src/layers/convolutional/conv1d_transpose.py): a sequence x
 * (B, T, C) run as the image (B, T, 1, C) through the functions above,
 * the node's kernel (k, 1), strides (s, 1) and output_padding (op, None);
 * the kernel in Keras' shape (k, filters, C), the same values.  Padding
 * "valid" or "same"; dilation_rate 1 only (as Conv2DTranspose here). */

static const lf_conv_spec tconv1d_spec = {
    .kn = "Conv1DTranspose", .rank = 1, .filters = 1, .transpose = 1, .axis_out = tconv_axis};

static int tconv1_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    size_t out[2], cols;
    const lf_node *x = lf_conv_setup(m, &tconv1d_spec, nd, in, n_in, out);
    if (!x) return 0;
    lf_conv_geom g = tgeom(x, nd, nd->dim);
    if (!lf_conv_columns(m, "Conv1DTranspose", nd, 1, out, g.Ho * g.Wo, g.K, g.F, &cols)) return 0;
    nd->aux_per_row = cols + (nd->act == LF_ACT_LINEAR ? 0 : 2 * nd->dim); /* z and dz, then the columns */
    return 1;
}

static lf_status tconv1_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                             lf_err *e) {
    (void)m;
    return tconv_read_rank(L, n_in, 1, "Conv1DTranspose", nd, where, e);
}

const lf_layer_type lf_type_conv1d_transpose = {
    .type = "Conv1DTranspose",
    .prefix = "conv1d_transpose",
    .keys = tconv_keys,
    .l2 = 1,
    .bias_l2 = 1,
    .dx_assign = 1,
    .infer = tconv1_infer,
    .weights = tconv_weights,
    .init = tconv_init,
    .forward = tconv_forward,
    .backward = tconv_backward,
    .write_json = tconv_json,
    .read_json = tconv1_read,
};

int lf_conv1d_transpose(lf_model *m, int x, size_t filters, size_t kernel_size, size_t strides, lf_padding padding,
                        const size_t *output_padding, lf_activation act, int use_bias, const char *name) {
    lf_node nd = lf_conv_node(1, filters, &kernel_size, &strides, NULL, padding, act, use_bias);
    nd.out_pad[0] = output_padding ? output_padding[0] : LF_INFER;
    nd.out_pad[1] = LF_INFER;
    return lf_node_add(m, &lf_type_conv1d_transpose, LF_K_CONV1D_TRANSPOSE, nd, &x, 1, name);
}
