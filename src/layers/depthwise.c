/*
 * depthwise.c — Keras' depthwise and separable 2-D convolutions over
 * channels-last images x (B, H, W, C):
 *
 * DepthwiseConv2D(kernel_size, strides, padding, depth_multiplier M,
 * dilation_rate, activation, use_bias)
 * (keras/src/layers/convolutional/base_depthwise_conv.py): every input
 * channel convolved on its own by M filters, y (B, Ho, Wo, C M),
 *   y[oy, ox, c M + j] = act(sum_{ky, kx} x[oy sh + ky dh - pt, ox sw + kx dw - pl, c]
 *                                      kernel[ky, kx, c, j] + bias[c M + j])
 * (TensorFlow's depthwise_conv2d order of the output channels; PyTorch's
 * conv2d with groups = C).  Weights "kernel" (kh, kw, C, M) and "bias"
 * (C M); Ho, Wo and the padding as Conv2D's (conv.c, dilation included).
 *
 * SeparableConv2D(filters, kernel_size, strides, padding, depth_multiplier,
 * dilation_rate, activation, use_bias) (base_separable_conv.py): the
 * depthwise convolution above without bias or activation, t (B, Ho, Wo,
 * C M), then a 1x1 convolution y = act(t pointwise + bias).  Weights in
 * Keras' order: "depthwise_kernel" (kh, kw, C, M), "pointwise_kernel"
 * (1, 1, C M, filters), "bias" (filters).
 *
 * Glorot-uniform kernels with Keras' fans (compute_fans: the receptive
 * field kh kw times the last two axes: fan_in kh kw C, fan_out kh kw M;
 * the pointwise kernel's C M and filters), zero biases.
 *
 * The depthwise part is a direct loop (it is memory-bound: C M kh kw
 * products per pixel against K F for a Conv2D, no sgemm to gain), the
 * channels innermost where x, the kernel and y are contiguous; forward and
 * the input gradient run the batch's images on OpenMP's threads, the
 * kernel's gradient its taps (each thread owns the gradient of its taps and
 * adds the whole batch in order: the bits do not depend on the thread
 * count).  The pointwise part is one sgemm over the batch.  Scratch (aux,
 * per row): z and dz with an activation; SeparableConv2D's t before them,
 * kept from forward to backward and reused for its gradient dt.  Training
 * allocates nothing.
 */
#include "kernels.h"
#include "layers/layer.h"

#include <math.h>
#include <string.h>

/* ------------------------------------------------ the depthwise kernel */

typedef struct dgeom {
    size_t H, W, C, M, CM, Ho, Wo, kh, kw, sh, sw, dh, dw, pt, pl;
} dgeom;

#define DW_PARALLEL 65536 /* products of a batch below which one thread works */

static dgeom dgeom_of(const lf_node *x, const lf_node *nd) {
    dgeom g;
    lf_conv_hwc(x, &g.H, &g.W, &g.C);
    g.M = nd->depth_multiplier, g.CM = g.C * g.M;
    g.kh = nd->kernel[0], g.kw = nd->kernel[1], g.sh = nd->strides[0], g.sw = nd->strides[1];
    g.dh = nd->dilation[0], g.dw = nd->dilation[1];
    g.Ho = lf_conv_out_dilated(g.H, g.kh, g.sh, g.dh, nd->padding, &g.pt);
    g.Wo = lf_conv_out_dilated(g.W, g.kw, g.sw, g.dw, nd->padding, &g.pl);
    return g;
}

/* the input pixel of tap (ky, kx) of output pixel (oy, ox), or SIZE_MAX
 * when it lies in the padding */
static size_t tap_pixel(const dgeom *g, size_t oy, size_t ox, size_t ky, size_t kx) {
    size_t iy = oy * g->sh + ky * g->dh, ix = ox * g->sw + kx * g->dw; /* + pt, + pl */
    if (iy < g->pt || iy - g->pt >= g->H || ix < g->pl || ix - g->pl >= g->W) return (size_t)-1;
    return (iy - g->pt) * g->W + ix - g->pl;
}

/* y (Ho, Wo, C M) = the depthwise convolution of one image x (H, W, C)
 * by w (kh, kw, C, M), plus bias (C M) unless NULL */
static void dw_forward1(float *restrict y, const float *restrict x, const float *restrict w,
                        const float *restrict bias, const dgeom *g) {
    size_t C = g->C, M = g->M, CM = g->CM;
    for (size_t oy = 0; oy < g->Ho; oy++)
        for (size_t ox = 0; ox < g->Wo; ox++) {
            float *restrict yp = y + (oy * g->Wo + ox) * CM;
            if (bias) memcpy(yp, bias, CM * sizeof *yp);
            else memset(yp, 0, CM * sizeof *yp);
            for (size_t ky = 0; ky < g->kh; ky++)
                for (size_t kx = 0; kx < g->kw; kx++) {
                    size_t p = tap_pixel(g, oy, ox, ky, kx);
                    if (p == (size_t)-1) continue;
                    const float *restrict xp = x + p * C, *restrict wp = w + (ky * g->kw + kx) * CM;
                    if (M == 1)
                        for (size_t c = 0; c < C; c++) yp[c] += xp[c] * wp[c];
                    else
                        for (size_t c = 0; c < C; c++)
                            for (size_t j = 0; j < M; j++) yp[c * M + j] += xp[c] * wp[c * M + j];
                }
        }
}

/* dx (H, W, C) += the input gradient of one image from dy (Ho, Wo, C M) */
static void dw_dx1(float *restrict dx, const float *restrict dy, const float *restrict w, const dgeom *g) {
    size_t C = g->C, M = g->M, CM = g->CM;
    for (size_t oy = 0; oy < g->Ho; oy++)
        for (size_t ox = 0; ox < g->Wo; ox++) {
            const float *restrict dyp = dy + (oy * g->Wo + ox) * CM;
            for (size_t ky = 0; ky < g->kh; ky++)
                for (size_t kx = 0; kx < g->kw; kx++) {
                    size_t p = tap_pixel(g, oy, ox, ky, kx);
                    if (p == (size_t)-1) continue;
                    float *restrict dxp = dx + p * C;
                    const float *restrict wp = w + (ky * g->kw + kx) * CM;
                    if (M == 1)
                        for (size_t c = 0; c < C; c++) dxp[c] += wp[c] * dyp[c];
                    else
                        for (size_t c = 0; c < C; c++) {
                            float s = 0.0f;
                            for (size_t j = 0; j < M; j++) s += wp[c * M + j] * dyp[c * M + j];
                            dxp[c] += s;
                        }
                }
        }
}

/* dw (kh, kw, C, M) += the kernel's gradient over a batch of B images x
 * (B, H, W, C) and dy (B, Ho, Wo, C M): tap by tap */
static void dw_dw(float *restrict dw, const float *restrict x, const float *restrict dy, size_t B, const dgeom *g) {
    size_t C = g->C, M = g->M, CM = g->CM, taps = g->kh * g->kw, in = g->H * g->W * C, P = g->Ho * g->Wo;
    int par = B * P * CM * taps > DW_PARALLEL && taps > 1;
    (void)par; /* without OpenMP */
#pragma omp parallel for if (par) schedule(static)
    for (size_t t = 0; t < taps; t++) {
        size_t ky = t / g->kw, kx = t % g->kw;
        float *restrict d = dw + t * CM;
        for (size_t r = 0; r < B; r++)
            for (size_t oy = 0; oy < g->Ho; oy++)
                for (size_t ox = 0; ox < g->Wo; ox++) {
                    size_t p = tap_pixel(g, oy, ox, ky, kx);
                    if (p == (size_t)-1) continue;
                    const float *restrict xp = x + r * in + p * C, *restrict dyp = dy + (r * P + oy * g->Wo + ox) * CM;
                    if (M == 1)
                        for (size_t c = 0; c < C; c++) d[c] += xp[c] * dyp[c];
                    else
                        for (size_t c = 0; c < C; c++)
                            for (size_t j = 0; j < M; j++) d[c * M + j] += xp[c] * dyp[c * M + j];
                }
    }
}

/* whether the batch's images go to OpenMP's threads (forward, input
 * gradient) */
static int batch_parallel(size_t B, const dgeom *g) {
    return B > 1 && B * g->Ho * g->Wo * g->CM * g->kh * g->kw > DW_PARALLEL;
}

/* the batch's forward, y (B, Ho, Wo, C M) */
static void dw_forward(float *y, const float *x, const float *w, const float *bias, size_t B, const dgeom *g) {
    size_t in = g->H * g->W * g->C, out = g->Ho * g->Wo * g->CM;
    int par = batch_parallel(B, g);
    (void)par;
#pragma omp parallel for if (par) schedule(static)
    for (size_t r = 0; r < B; r++) dw_forward1(y + r * out, x + r * in, w, bias, g);
}

/* the batch's input gradient: dx (B, H, W, C) (= when fresh, else +=) */
static void dw_dx(float *dx, const float *dy, const float *w, size_t B, int fresh, const dgeom *g) {
    size_t in = g->H * g->W * g->C, out = g->Ho * g->Wo * g->CM;
    int par = batch_parallel(B, g);
    (void)par;
#pragma omp parallel for if (par) schedule(static)
    for (size_t r = 0; r < B; r++) {
        if (fresh) memset(dx + r * in, 0, in * sizeof *dx);
        dw_dx1(dx + r * in, dy + r * out, w, g);
    }
}


/* ---------------------------------------------- the records' shared part */

static const lf_node *dw_input(const lf_model *m, const lf_node *nd) { return &m->nodes[nd->in[0]]; }

/* kn's input, settings and output (Ho, Wo, F: C M for DepthwiseConv2D);
 * aux_per_row: `extra` values per output pixel before z and dz */
static int dw_infer_common(lf_model *m, const char *kn, size_t rank, lf_node *nd, const int *in, size_t n_in,
                           int separable) {
    lf_conv_spec spec = {.kn = kn, .rank = rank, .filters = separable, .depthwise = 1, .dilation_said = 1};
    size_t o[2];
    const lf_node *x = lf_conv_setup(m, &spec, nd, in, n_in, o);
    if (!x) return 0;
    dgeom g = dgeom_of(x, nd);
    size_t CM, nw, t;
    if (!lf_mul_ok(g.C, g.M, &CM) || !lf_mul_ok(CM, g.kh * g.kw, &nw) || nw > LF_ARCH_MAX_DIM ||
        (separable && (!lf_mul_ok(CM, nd->dim, &nw) || nw > LF_ARCH_MAX_DIM)) || !lf_mul_ok(g.Ho * g.Wo, CM, &t) ||
        t > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG, "%s: %zu channels times depth_multiplier %zu make too many values", kn,
                             g.C, g.M);
    size_t F = separable ? nd->dim : CM, out[3] = {g.Ho, rank == 1 ? F : g.Wo, F};
    if (!lf_shape_set(m, kn, nd, rank + 1, out)) return 0;
    nd->aux_per_row = (separable ? t : 0) + (nd->act == LF_ACT_LINEAR ? 0 : 2 * nd->dim);
    return 1;
}

static const char *const pad_names[] = {"valid", "same"};

/* a list of rank sizes: ",\"key\":[a,b]" */
static void write_sizes(lf_buf *b, const char *key, const size_t *v, size_t rank) {
    lf_buf_printf(b, ",\"%s\":[", key);
    for (size_t i = 0; i < rank; i++) lf_buf_printf(b, "%s%zu", i ? "," : "", v[i]);
    lf_buf_puts(b, "]");
}

/* the fields of a node of rank spatial axes */
static void dw_write_common(const lf_node *nd, size_t rank, lf_buf *b) {
    write_sizes(b, "kernel_size", nd->kernel, rank);
    write_sizes(b, "strides", nd->strides, rank);
    lf_buf_printf(b, ",\"padding\":\"%s\",\"depth_multiplier\":%zu", pad_names[nd->padding], nd->depth_multiplier);
    lf_buf_printf(b, ",\"activation\":\"%s\",\"use_bias\":%s,\"l2\":", lf_activation_name(nd->act),
                  nd->use_bias ? "true" : "false");
    lf_buf_json_float(b, nd->l2);
    lf_arch_write_bias_l2(nd, b);
    lf_conv_write_dilation(nd, rank, b);
}

static lf_status dw_read_common(const lf_json *L, size_t n_in, size_t rank, const char *type, lf_node *nd,
                                const char *where, lf_err *e) {
    lf_status st = lf_arch_arity(n_in, 1, type, where, e);
    if (st != LF_OK) return st;
    int act = lf_activation_parse(lf_arch_str(L, "activation"));
    if (act < 0) return lf_fail(e, LF_ERR_FORMAT, "%s: unknown or missing activation", where);
    nd->act = (lf_activation)act;
    if (!lf_json_size(lf_json_get(L, "depth_multiplier"), &nd->depth_multiplier) || nd->depth_multiplier == 0 ||
        nd->depth_multiplier > LF_ARCH_MAX_DIM)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'depth_multiplier' must be an integer in 1..%zu", where,
                       LF_ARCH_MAX_DIM);
    nd->kernel[1] = nd->strides[1] = 1; /* a 1-D layer's second axis */
    if ((st = lf_arch_sizes(L, "kernel_size", 1, 1024, rank, rank, nd->kernel, NULL, where, e)) ||
        (st = lf_arch_sizes(L, "strides", 1, 1024, rank, rank, nd->strides, NULL, where, e)) ||
        (st = lf_conv_read_dilation(L, rank, nd, where, e)) || (st = lf_arch_padding(L, &nd->padding, where, e)) ||
        (st = lf_arch_bool(L, "use_bias", &nd->use_bias, where, e)))
        return st;
    if (lf_json_get(L, "l2") && (st = lf_arch_float_in(L, "l2", 0, INFINITY, 0, &nd->l2, where, e)) != LF_OK)
        return st;
    return lf_arch_read_bias_l2(L, nd, where, e);
}

/* the spatial axes of a node: its output's rank less the channels */
static size_t rank_of(const lf_node *nd) { return nd->rank - 1; }

/* the input's channels */
static size_t in_channels(const lf_model *m, const lf_node *nd) {
    const lf_node *x = &m->nodes[nd->in[0]];
    return x->shape[x->rank - 1];
}

/* ------------------------------------------------------ DepthwiseConv2D */

static int dwc_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    return dw_infer_common(m, "DepthwiseConv2D", 2, nd, in, n_in, 0);
}

static size_t dwc_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    size_t C = in_channels(m, nd), M = nd->depth_multiplier;
    size_t n = lf_conv_kernel(&w[0], "kernel", 0, rank_of(nd), nd->kernel, C, M);
    if (!nd->use_bias) return 1;
    lf_conv_bias(&w[1], n, C * M);
    return 2;
}

static void dwc_init(lf_model *m, lf_node *nd) {
    size_t C = in_channels(m, nd), M = nd->depth_multiplier, rf = nd->kernel[0] * nd->kernel[1];
    float *w = m->params + nd->param_off;
    lf_conv_glorot(m, w, rf * C * M, rf * C, rf * M);
    if (nd->use_bias) memset(w + rf * C * M, 0, C * M * sizeof *w);
}

static void dwc_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    dgeom g = dgeom_of(dw_input(c->m, nd), nd);
    float *z = nd->act == LF_ACT_LINEAR ? c->y : c->aux;
    const float *bias = nd->use_bias ? c->w + g.kh * g.kw * g.CM : NULL;
    dw_forward(z, c->xs[0], c->w, bias, c->B, &g);
    /* over the last axis (the channels) of every pixel */
    if (nd->act != LF_ACT_LINEAR) lf_act_forward(nd->act, c->y, z, c->B * g.Ho * g.Wo, g.CM);
}

static void dwc_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    dgeom g = dgeom_of(dw_input(c->m, nd), nd);
    size_t nk = g.kh * g.kw * g.CM;
    const float *dz = lf_conv_dz(c, c->aux, c->B * g.Ho * g.Wo, g.CM, nd->use_bias ? c->dw + nk : NULL);
    dw_dw(c->dw, c->xs[0], dz, c->B, &g);
    if (c->dxs[0]) dw_dx(c->dxs[0], dz, c->w, c->B, c->dx_fresh, &g);
}

static void dwc_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    dw_write_common(nd, rank_of(nd), b);
}

static lf_status dwc_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    (void)m;
    return dw_read_common(L, n_in, 2, "DepthwiseConv2D", nd, where, e);
}

static const char *const dwc_keys[] = {"name",       "type",     "inbound", "kernel_size", "strides",
                                       "padding",    "depth_multiplier", "activation", "use_bias", "l2",
                                       "bias_l2",    "dilation_rate", NULL};

const lf_layer_type lf_type_depthwise_conv2d = {
    .type = "DepthwiseConv2D",
    .prefix = "depthwise_conv2d",
    .keys = dwc_keys,
    .l2 = 1,
    .bias_l2 = 1,
    .dx_assign = 1,
    .infer = dwc_infer,
    .weights = dwc_weights,
    .init = dwc_init,
    .forward = dwc_forward,
    .backward = dwc_backward,
    .write_json = dwc_json,
    .read_json = dwc_read,
};

/* the builders' settings (filters: SeparableConv2D's; 0, as the proto, for
 * DepthwiseConv2D) */
static lf_node dw_node(size_t filters, size_t kh, size_t kw, size_t sh, size_t sw, lf_padding padding,
                       size_t depth_multiplier, size_t dh, size_t dw, lf_activation act, int use_bias) {
    size_t k[2] = {kh, kw}, s[2] = {sh, sw}, d[2] = {dh, dw};
    lf_node nd = lf_conv_node(2, filters, k, s, d, padding, act, use_bias);
    nd.depth_multiplier = depth_multiplier;
    return nd;
}

int lf_depthwise_conv2d(lf_model *m, int x, size_t kh, size_t kw, size_t sh, size_t sw, lf_padding padding,
                        size_t depth_multiplier, size_t dh, size_t dw, lf_activation act, int use_bias,
                        const char *name) {
    lf_node nd = dw_node(0, kh, kw, sh, sw, padding, depth_multiplier, dh, dw, act, use_bias);
    return lf_node_add(m, &lf_type_depthwise_conv2d, LF_K_DEPTHWISE_CONV2D, nd, &x, 1, name);
}

/* ------------------------------------------------------ SeparableConv2D */

static int sep_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    return dw_infer_common(m, "SeparableConv2D", 2, nd, in, n_in, 1);
}

static size_t sep_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    size_t C = in_channels(m, nd), M = nd->depth_multiplier, F = nd->shape[rank_of(nd)];
    static const size_t one[2] = {1, 1};
    size_t nd_ = lf_conv_kernel(&w[0], "depthwise_kernel", 0, rank_of(nd), nd->kernel, C, M);
    size_t np = lf_conv_kernel(&w[1], "pointwise_kernel", nd_, rank_of(nd), one, C * M, F);
    if (!nd->use_bias) return 2;
    lf_conv_bias(&w[2], nd_ + np, F);
    return 3;
}

static void sep_init(lf_model *m, lf_node *nd) {
    size_t C = in_channels(m, nd), M = nd->depth_multiplier, F = nd->shape[rank_of(nd)];
    size_t rf = nd->kernel[0] * nd->kernel[1], nd_ = rf * C * M;
    float *w = m->params + nd->param_off;
    lf_conv_glorot(m, w, nd_, rf * C, rf * M);
    lf_conv_glorot(m, w + nd_, C * M * F, C * M, F);
    if (nd->use_bias) memset(w + nd_ + C * M * F, 0, F * sizeof *w);
}

/* aux: t (B, Ho Wo C M), then z and dz with an activation */
static void sep_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    dgeom g = dgeom_of(dw_input(c->m, nd), nd);
    size_t N = c->B * g.Ho * g.Wo, F = nd->shape[rank_of(nd)], nk = g.kh * g.kw * g.CM;
    float *t = c->aux, *z = nd->act == LF_ACT_LINEAR ? c->y : t + N * g.CM;
    const float *pw = c->w + nk, *bias = nd->use_bias ? pw + g.CM * F : NULL;
    dw_forward(t, c->xs[0], c->w, NULL, c->B, &g);
    lf_sgemm_bias_relu(0, 0, N, F, g.CM, t, g.CM, pw, F, bias, 0, z, F);
    if (nd->act != LF_ACT_LINEAR) lf_act_forward(nd->act, c->y, z, N, F);
}

static void sep_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    dgeom g = dgeom_of(dw_input(c->m, nd), nd);
    size_t N = c->B * g.Ho * g.Wo, F = nd->shape[rank_of(nd)], nk = g.kh * g.kw * g.CM;
    float *t = c->aux;
    const float *pw = c->w + nk;
    const float *dz = lf_conv_dz(c, t + N * g.CM, N, F, nd->use_bias ? c->dw + nk + g.CM * F : NULL);
    lf_sgemm(1, 0, g.CM, F, N, 1.0f, t, g.CM, dz, F, 1.0f, c->dw + nk, F); /* d pointwise += t^T dz */
    /* t is spent: it becomes dt = dz pointwise^T */
    lf_sgemm(0, 1, N, g.CM, F, 1.0f, dz, F, pw, F, 0.0f, t, g.CM);
    dw_dw(c->dw, c->xs[0], t, c->B, &g);
    if (c->dxs[0]) dw_dx(c->dxs[0], t, c->w, c->B, c->dx_fresh, &g);
}

static void sep_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"filters\":%zu", nd->shape[rank_of(nd)]);
    dw_write_common(nd, rank_of(nd), b);
}

static lf_status sep_read_rank(const lf_json *L, size_t n_in, size_t rank, const char *type, lf_node *nd,
                               const char *where, lf_err *e) {
    if (!lf_json_size(lf_json_get(L, "filters"), &nd->dim) || nd->dim == 0 || nd->dim > LF_ARCH_MAX_DIM)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'filters' must be an integer in 1..%zu", where, LF_ARCH_MAX_DIM);
    return dw_read_common(L, n_in, rank, type, nd, where, e);
}

static lf_status sep_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    (void)m;
    return sep_read_rank(L, n_in, 2, "SeparableConv2D", nd, where, e);
}

static const char *const sep_keys[] = {"name",    "type",        "inbound",          "filters",    "kernel_size",
                                       "strides", "padding",     "depth_multiplier", "activation", "use_bias",
                                       "l2",      "bias_l2",     "dilation_rate",    NULL};

const lf_layer_type lf_type_separable_conv2d = {
    .type = "SeparableConv2D",
    .prefix = "separable_conv2d",
    .keys = sep_keys,
    .l2 = 1,
    .bias_l2 = 1,
    .dx_assign = 1,
    .infer = sep_infer,
    .weights = sep_weights,
    .init = sep_init,
    .forward = sep_forward,
    .backward = sep_backward,
    .write_json = sep_json,
    .read_json = sep_read,
};

int lf_separable_conv2d(lf_model *m, int x, size_t filters, size_t kh, size_t kw, size_t sh, size_t sw,
                        lf_padding padding, size_t depth_multiplier, size_t dh, size_t dw, lf_activation act,
                        int use_bias, const char *name) {
    lf_node nd = dw_node(filters, kh, kw, sh, sw, padding, depth_multiplier, dh, dw, act, use_bias);
    return lf_node_add(m, &lf_type_separable_conv2d, LF_K_SEPARABLE_CONV2D, nd, &x, 1, name);
}

/* ------------------------------- DepthwiseConv1D, SeparableConv1D
 * (keras/src/layers/convolutional/depthwise_conv1d.py, separable_conv1d.py):
 * a sequence x (B, T, C) run as the image (B, T, 1, C) through the 2-D
 * kinds' functions above, the node's kernel (k, 1), strides (s, 1) and
 * dilation (d, 1); the weights in Keras' 1-D shapes, the same values:
 * "kernel" / "depthwise_kernel" (k, C, M), "pointwise_kernel" (1, C M,
 * filters).  Padding "valid" or "same" (Keras 3 refuses "causal" here). */

static int dwc1_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    return dw_infer_common(m, "DepthwiseConv1D", 1, nd, in, n_in, 0);
}

static lf_status dwc1_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                           lf_err *e) {
    (void)m;
    return dw_read_common(L, n_in, 1, "DepthwiseConv1D", nd, where, e);
}

const lf_layer_type lf_type_depthwise_conv1d = {
    .type = "DepthwiseConv1D",
    .prefix = "depthwise_conv1d",
    .keys = dwc_keys,
    .l2 = 1,
    .bias_l2 = 1,
    .dx_assign = 1,
    .infer = dwc1_infer,
    .weights = dwc_weights,
    .init = dwc_init,
    .forward = dwc_forward,
    .backward = dwc_backward,
    .write_json = dwc_json,
    .read_json = dwc1_read,
};

int lf_depthwise_conv1d(lf_model *m, int x, size_t kernel_size, size_t strides, lf_padding padding,
                        size_t depth_multiplier, size_t dilation_rate, lf_activation act, int use_bias,
                        const char *name) {
    lf_node nd = lf_conv_node(1, 0, &kernel_size, &strides, &dilation_rate, padding, act, use_bias);
    nd.depth_multiplier = depth_multiplier;
    return lf_node_add(m, &lf_type_depthwise_conv1d, LF_K_DEPTHWISE_CONV1D, nd, &x, 1, name);
}

static int sep1_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    return dw_infer_common(m, "SeparableConv1D", 1, nd, in, n_in, 1);
}

static lf_status sep1_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                           lf_err *e) {
    (void)m;
    return sep_read_rank(L, n_in, 1, "SeparableConv1D", nd, where, e);
}

const lf_layer_type lf_type_separable_conv1d = {
    .type = "SeparableConv1D",
    .prefix = "separable_conv1d",
    .keys = sep_keys,
    .l2 = 1,
    .bias_l2 = 1,
    .dx_assign = 1,
    .infer = sep1_infer,
    .weights = sep_weights,
    .init = sep_init,
    .forward = sep_forward,
    .backward = sep_backward,
    .write_json = sep_json,
    .read_json = sep1_read,
};

int lf_separable_conv1d(lf_model *m, int x, size_t filters, size_t kernel_size, size_t strides, lf_padding padding,
                        size_t depth_multiplier, size_t dilation_rate, lf_activation act, int use_bias,
                        const char *name) {
    lf_node nd = lf_conv_node(1, filters, &kernel_size, &strides, &dilation_rate, padding, act, use_bias);
    nd.depth_multiplier = depth_multiplier;
    return lf_node_add(m, &lf_type_separable_conv1d, LF_K_SEPARABLE_CONV1D, nd, &x, 1, name);
}
