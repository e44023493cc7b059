/*
 * conv.c — Conv2D, Keras' 2-D convolution over channels-last images:
 * x (B, H, W, C) -> y (B, Ho, Wo, filters), y = act(conv(x, kernel) + bias).
 *
 * The kernel is Keras' (kh, kw, C, filters) and the bias (filters);
 * glorot_uniform kernel (fan_in = kh kw C, fan_out = kh kw filters), zero
 * bias.  Strides (sh, sw); padding "valid" (Ho = (H - kh) / sh + 1) or
 * "same" (Ho = ceil(H / sh), padded by max((Ho - 1) sh + kh - H, 0) rows of
 * zeros of which the odd one goes to the bottom, likewise for the columns).
 * dilation_rate (dh, dw) spreads the kernel's taps dh rows and dw columns
 * apart (keras/src/layers/convolutional/base_conv.py; the sizes as
 * keras/src/ops/operation_utils.py's compute_conv_output_shape, with the
 * window dh (kh - 1) + 1 rows); as Keras, not with strides above 1 too.
 *
 * Both passes go through the project's sgemm by im2col: every output pixel's
 * receptive field becomes one row of K = kh kw C values (the kernel's row
 * order), so for the whole batch z (B Ho Wo, F) = cols (B Ho Wo, K) x
 * kernel (K, F), computed a chunk of images at a time (see CHUNK_ROWS).
 * The columns live in the node's scratch (aux), kept from forward to
 * backward, so training allocates nothing; the backward pass reuses them
 * for d cols = dz kernel^T before scattering those back onto dx (col2im).
 * With an activation, aux holds z and dz (B rows each) before the columns.
 * A 3x3 stride-1 convolution of at least WINO_MIN input channels and
 * filters goes through Winograd F(4x4, 3x3) instead (conv_wino.c): aux
 * holds its transformed inputs V and products M in place of the columns,
 * and the node's batch-independent scratch (aux_fixed) the transformed
 * kernel U, its transposes UT and its gradient dU.
 * Its activation is per pixel, so a loss never reads its logits (no fused
 * cross-entropy: the record has no logits).
 */
#include "layers/conv_wino.h"
#include "layers/layer.h"
#include "kernels.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

size_t lf_conv_out(size_t in, size_t k, size_t s, lf_padding p, size_t *pad) {
    if (p == LF_PADDING_SAME) {
        size_t o = (in + s - 1) / s, need = (o - 1) * s + k;
        *pad = need > in ? (need - in) / 2 : 0;
        return o;
    }
    *pad = 0;
    return in >= k ? (in - k) / s + 1 : 0;
}

size_t lf_conv_out_dilated(size_t in, size_t k, size_t s, size_t d, lf_padding p, size_t *pad) {
    size_t ek = d * (k - 1) + 1;
    if (p == LF_PADDING_CAUSAL) { /* ops.pad by d (k - 1) before, then "valid" */
        *pad = ek - 1;
        return (in - 1) / s + 1;
    }
    return lf_conv_out(in, ek, s, p, pad);
}

typedef lf_conv_geom geom;

static geom geom_of(const lf_node *x, const lf_node *nd, size_t F) {
    geom g;
    g.H = x->shape[0], g.W = x->shape[1], g.C = x->shape[2];
    g.kh = nd->kernel[0], g.kw = nd->kernel[1], g.sh = nd->strides[0], g.sw = nd->strides[1];
    g.dh = nd->dilation[0], g.dw = nd->dilation[1];
    g.Ho = lf_conv_out_dilated(g.H, g.kh, g.sh, g.dh, nd->padding, &g.pt);
    g.Wo = lf_conv_out_dilated(g.W, g.kw, g.sw, g.dw, nd->padding, &g.pl);
    g.F = F;
    g.K = g.kh * g.kw * g.C;
    return g;
}

/* The kernel columns kx in [*k0, *k1) whose input column ox sw + kx - pl
 * lies in the image: consecutive kx read consecutive pixels, so the
 * receptive field's row ky is one run of (*k1 - *k0) C values in x and in
 * the column row alike. */
static void kx_range(const geom *g, size_t ox, size_t *k0, size_t *k1) {
    size_t xs = ox * g->sw; /* the window's first column, padded coordinates */
    *k0 = xs < g->pl ? g->pl - xs : 0;
    size_t end = g->W + g->pl - xs; /* kx < end: inside (W + pl > xs always) */
    *k1 = end < g->kw ? end : g->kw;
    if (*k1 < *k0) *k1 = *k0;
}

/* The dilated taps: pixel (oy sh + ky dh - pt, ox sw + kx dw - pl) per
 * tap, C values each, zeros outside the image (dx: added back, when add) */
static void im2col_dilated(float *restrict cols, float *restrict dx, const float *restrict x, const geom *g,
                           int add) {
    size_t C = g->C;
    for (size_t oy = 0; oy < g->Ho; oy++)
        for (size_t ox = 0; ox < g->Wo; ox++) {
            float *row = cols + (oy * g->Wo + ox) * g->K;
            for (size_t ky = 0; ky < g->kh; ky++) {
                size_t iy = oy * g->sh + ky * g->dh; /* + pt: unsigned, compared shifted */
                for (size_t kx = 0; kx < g->kw; kx++) {
                    size_t ix = ox * g->sw + kx * g->dw;
                    float *v = row + (ky * g->kw + kx) * C;
                    int in = iy >= g->pt && iy - g->pt < g->H && ix >= g->pl && ix - g->pl < g->W;
                    size_t at = in ? ((iy - g->pt) * g->W + ix - g->pl) * C : 0;
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

/* cols (Ho Wo, K) of one image x (H, W, C).  A window wholly inside the
 * image (most of them) is kh runs of kw C values copied in a plain loop;
 * one at an edge is cut by kx_range and zero-filled. */
void lf_im2col(float *restrict cols, const float *restrict x, const geom *g) {
    if (g->dh != 1 || g->dw != 1) {
        im2col_dilated(cols, NULL, x, g, 0);
        return;
    }
    size_t C = g->C, run = g->kw * C;
    for (size_t oy = 0; oy < g->Ho; oy++) {
        size_t iy0 = oy * g->sh; /* the window's first row, padded coordinates */
        int rows_in = iy0 >= g->pt && iy0 + g->kh <= g->H + g->pt;
        for (size_t ox = 0; ox < g->Wo; ox++) {
            float *restrict row = cols + (oy * g->Wo + ox) * g->K;
            size_t k0, k1;
            kx_range(g, ox, &k0, &k1);
            if (rows_in && k0 == 0 && k1 == g->kw) {
                const float *restrict src = x + ((iy0 - g->pt) * g->W + ox * g->sw - g->pl) * C;
                for (size_t ky = 0; ky < g->kh; ky++)
                    for (size_t j = 0; j < run; j++) row[ky * run + j] = src[ky * g->W * C + j];
                continue;
            }
            for (size_t ky = 0; ky < g->kh; ky++) {
                size_t iy = oy * g->sh + ky; /* + pt: unsigned, compared shifted */
                float *dst = row + ky * run;
                if (iy < g->pt || iy - g->pt >= g->H) {
                    memset(dst, 0, run * sizeof *dst);
                    continue;
                }
                const float *src = x + ((iy - g->pt) * g->W + ox * g->sw + k0 - g->pl) * C;
                memset(dst, 0, k0 * C * sizeof *dst);
                memcpy(dst + k0 * C, src, (k1 - k0) * C * sizeof *dst);
                memset(dst + k1 * C, 0, (g->kw - k1) * C * sizeof *dst);
            }
        }
    }
}

/* dx (H, W, C) += the columns' gradients scattered back */
void lf_col2im(float *restrict dx, const float *restrict dcols, const geom *g) {
    if (g->dh != 1 || g->dw != 1) {
        im2col_dilated((float *)dcols, dx, NULL, g, 1);
        return;
    }
    size_t C = g->C, run = g->kw * C;
    for (size_t oy = 0; oy < g->Ho; oy++)
        for (size_t ox = 0; ox < g->Wo; ox++) {
            const float *row = dcols + (oy * g->Wo + ox) * g->K;
            size_t k0, k1;
            kx_range(g, ox, &k0, &k1);
            for (size_t ky = 0; ky < g->kh; ky++) {
                size_t iy = oy * g->sh + ky;
                if (iy < g->pt || iy - g->pt >= g->H) continue;
                const float *restrict src = row + ky * run + k0 * C;
                float *restrict d = dx + ((iy - g->pt) * g->W + ox * g->sw + k0 - g->pl) * C;
                for (size_t j = 0, n = (k1 - k0) * C; j < n; j++) d[j] += src[j];
            }
        }
}

/* Winograd F(4x4, 3x3) for 3x3 stride-1 convolutions with at least
 * WINO_MIN input channels and filters (below, its small products lose to
 * im2col's one product of K = 9 C) */
#define WINO_MIN 16
#define WINO_TILES 32 /* tiles of a chunk of images, at least */

static int use_wino(const geom *g) {
    return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 && g->C >= WINO_MIN &&
           g->F >= WINO_MIN;
}

static lf_wino wino_geom(const geom *g, size_t B) {
    return lf_wino_geom(g->H, g->W, g->C, g->Ho, g->Wo, g->pt, g->pl, g->F, B);
}

/* images per chunk */
static size_t wino_chunk(const lf_wino *w) { return w->T >= WINO_TILES ? 1 : (WINO_TILES + w->T - 1) / w->T; }

/* ---------------------------------------------------------------- record */

static const lf_node *conv_input(const lf_model *m, const lf_node *nd) { return &m->nodes[nd->in[0]]; }

int lf_conv_check(lf_model *m, const char *kn, const lf_node *nd, size_t rank, int causal) {
    if ((unsigned)nd->padding > (causal ? LF_PADDING_CAUSAL : LF_PADDING_SAME))
        return lf_build_fail(m, LF_ERR_ARG, "%s: unknown padding %d%s", kn, (int)nd->padding,
                             nd->padding == LF_PADDING_CAUSAL ? " ('causal' is Conv1D's only)" : "");
    int bad = 0, dilated = 0, strided = 0;
    for (size_t a = 0; a < rank; a++) {
        bad |= nd->kernel[a] == 0 || nd->kernel[a] > 1024 || nd->strides[a] == 0 || nd->strides[a] > 1024;
        bad |= 2 * (nd->dilation[a] == 0 || nd->dilation[a] > 1024);
        dilated |= nd->dilation[a] > 1, strided |= nd->strides[a] > 1;
    }
    if (rank == 3) { /* Conv3D */
        if (bad & 1)
            return lf_build_fail(m, LF_ERR_ARG,
                                 "%s: kernel_size and strides must be in 1..1024, got (%zu, %zu, %zu) and (%zu, %zu, %zu)",
                                 kn, nd->kernel[0], nd->kernel[1], nd->kernel[2], nd->strides[0], nd->strides[1],
                                 nd->strides[2]);
        if (bad & 2)
            return lf_build_fail(m, LF_ERR_ARG, "%s: dilation_rate must be in 1..1024, got (%zu, %zu, %zu)", kn,
                                 nd->dilation[0], nd->dilation[1], nd->dilation[2]);
        if (dilated && strided)
            return lf_build_fail(m, LF_ERR_ARG,
                                 "%s: strides > 1 not supported in conjunction with dilation_rate > 1, got strides "
                                 "(%zu, %zu, %zu) and dilation_rate (%zu, %zu, %zu)",
                                 kn, nd->strides[0], nd->strides[1], nd->strides[2], nd->dilation[0],
                                 nd->dilation[1], nd->dilation[2]);
        return 1;
    }
    if (rank == 1) {
        if (bad & 1)
            return lf_build_fail(m, LF_ERR_ARG, "%s: kernel_size and strides must be in 1..1024, got %zu and %zu", kn,
                                 nd->kernel[0], nd->strides[0]);
        if (bad & 2) return lf_build_fail(m, LF_ERR_ARG, "%s: dilation_rate must be in 1..1024, got %zu", kn, nd->dilation[0]);
        if (dilated && strided)
            return lf_build_fail(m, LF_ERR_ARG,
                                 "%s: strides > 1 not supported in conjunction with dilation_rate > 1, got strides "
                                 "%zu and dilation_rate %zu",
                                 kn, nd->strides[0], nd->dilation[0]);
        return 1;
    }
    if (bad & 1)
        return lf_build_fail(m, LF_ERR_ARG, "%s: kernel_size and strides must be in 1..1024, got (%zu, %zu) and (%zu, %zu)",
                             kn, nd->kernel[0], nd->kernel[1], nd->strides[0], nd->strides[1]);
    if (bad & 2)
        return lf_build_fail(m, LF_ERR_ARG, "%s: dilation_rate must be in 1..1024, got (%zu, %zu)", kn,
                             nd->dilation[0], nd->dilation[1]);
    if (dilated && strided)
        return lf_build_fail(m, LF_ERR_ARG,
                             "%s: strides > 1 not supported in conjunction with dilation_rate > 1, got strides "
                             "(%zu, %zu) and dilation_rate (%zu, %zu)",
                             kn, nd->strides[0], nd->strides[1], nd->dilation[0], nd->dilation[1]);
    return 1;
}

static const lf_conv_spec conv2d_spec = {.kn = "Conv2D", .rank = 2, .filters = 1};

/* the builder put filters in nd->dim, kernel, strides, dilation, padding, act */
static int conv_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    size_t out[2], cols, F = nd->dim;
    const lf_node *x = lf_conv_setup(m, &conv2d_spec, nd, in, n_in, out);
    if (!x) return 0;
    geom g = geom_of(x, nd, F);
    if (!lf_conv_columns(m, "Conv2D", nd, 2, out, g.Ho * g.Wo, g.K, F, &cols)) return 0;
    size_t zz = nd->act == LF_ACT_LINEAR ? 0 : 2 * nd->dim; /* z and dz */
    nd->aux_per_row = cols + zz;
    nd->aux_fixed = 0;
    if (use_wino(&g)) {
        lf_wino w = wino_geom(&g, 1);
        size_t per = wino_chunk(&w), part = (LF_WINO_XI * g.C * F + per - 1) / per;
        /* V and M, and room for each chunk's part of dU (one more in aux_fixed) */
        nd->aux_per_row = LF_WINO_XI * w.T * (g.C + F) + part + zz;
        nd->aux_fixed = 3 * LF_WINO_XI * g.C * F; /* the last part of dU, U, its transposes UT */
    }
    return 1;
}

/* Images are worked on in chunks of at least CHUNK_ROWS output pixels (a
 * whole number of images): a chunk's columns are made and multiplied (or,
 * backward, multiplied and scattered) while they are still in the core's
 * cache.  With at least two chunks per thread the chunks are shared out to
 * the threads, each product on one thread; else the products use every
 * thread (Winograd: each chunk's images and 36 products are shared out).
 * A chunk's values are the same either way (lf_sgemm computes every element
 * alike whatever the split), so results do not depend on the thread count. */
#define CHUNK_ROWS 256
#define CONV_PARALLEL 65536 /* values of a batch's columns below which one thread works */

size_t lf_conv_chunk_images(size_t P) { return P >= CHUNK_ROWS ? 1 : (CHUNK_ROWS + P - 1) / P; }

static size_t chunk_images(const geom *g) { return lf_conv_chunk_images(g->Ho * g->Wo); }

int lf_conv_chunks_parallel(size_t B, size_t per, size_t values) {
#ifdef _OPENMP
    size_t chunks = (B + per - 1) / per;
    return values >= CONV_PARALLEL && chunks >= 2 * (size_t)omp_get_max_threads();
#else
    (void)B, (void)per, (void)values;
    return 0;
#endif
}

/* forward of images [r0, r1): their columns, then z = cols kernel + bias */
static void conv_fwd_chunk(const lf_layer_ctx *c, const geom *g, float *cols, float *z, size_t r0, size_t r1) {
    size_t P = g->Ho * g->Wo, in = g->H * g->W * g->C;
    for (size_t r = r0; r < r1; r++) lf_im2col(cols + r * P * g->K, c->xs[0] + r * in, g);
    const float *b = c->nd->use_bias ? c->w + g->K * g->F : NULL;
    lf_sgemm_bias_relu(0, 0, (r1 - r0) * P, g->F, g->K, cols + r0 * P * g->K, g->K, c->w, g->F, b, 0,
                       z + r0 * P * g->F, g->F);
}

/* The Winograd buffers of a batch: V, M and the chunks' parts of dU (one
 * 36 C F block per chunk) after z and dz, running on into the
 * batch-independent part, which then holds U and UT */
typedef struct wino_bufs {
    lf_wino g;
    size_t per, chunks; /* images per chunk, chunks */
    float *V, *M, *dU, *U, *UT;
} wino_bufs;

static wino_bufs wino_bufs_of(const lf_layer_ctx *c, const geom *g, size_t zz) {
    wino_bufs b;
    b.g = wino_geom(g, c->B);
    b.per = wino_chunk(&b.g);
    b.chunks = (c->B + b.per - 1) / b.per;
    b.V = c->aux + zz;
    b.M = b.V + LF_WINO_XI * b.g.BT * g->C;
    b.dU = b.M + LF_WINO_XI * b.g.BT * g->F;
    b.U = c->aux + c->B * c->nd->aux_per_row + LF_WINO_XI * g->C * g->F;
    b.UT = b.U + LF_WINO_XI * g->C * g->F;
    return b;
}

static void conv_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    geom g = geom_of(conv_input(c->m, nd), nd, nd->shape[2]);
    size_t B = c->B, P = g.Ho * g.Wo, per = chunk_images(&g);
    size_t zz = nd->act == LF_ACT_LINEAR ? 0 : 2 * B * nd->dim;
    float *cols = c->aux + zz;
    float *z = nd->act == LF_ACT_LINEAR ? c->y : c->aux;
    if (use_wino(&g)) {
        wino_bufs wb = wino_bufs_of(c, &g, zz);
        const float *b = nd->use_bias ? c->w + g.K * g.F : NULL;
        lf_wino_kernel(&wb.g, wb.U, wb.UT, c->w);
        size_t values = LF_WINO_XI * wb.g.BT * g.C;
        if (lf_conv_chunks_parallel(B, wb.per, values)) {
#pragma omp parallel for schedule(static)
            for (size_t r0 = 0; r0 < B; r0 += wb.per)
                lf_wino_forward(&wb.g, c->xs[0], wb.U, b, wb.V, wb.M, z, r0, B - r0 < wb.per ? B : r0 + wb.per, 0);
        } else { /* not inside a parallel region: a nested one would start its own threads */
            for (size_t r0 = 0; r0 < B; r0 += wb.per)
                lf_wino_forward(&wb.g, c->xs[0], wb.U, b, wb.V, wb.M, z, r0, B - r0 < wb.per ? B : r0 + wb.per,
                                values >= CONV_PARALLEL);
        }
    } else {
        int par = lf_conv_chunks_parallel(B, per, B * P * g.K);
        (void)par; /* without OpenMP */
#pragma omp parallel for if (par) schedule(static)
        for (size_t r0 = 0; r0 < B; r0 += per) conv_fwd_chunk(c, &g, cols, z, r0, B - r0 < per ? B : r0 + per);
    }
    /* over the last axis (filters) of every pixel */
    if (nd->act != LF_ACT_LINEAR) lf_act_forward(nd->act, c->y, z, B * P, g.F);
}

/* backward to the input of images [r0, r1): d cols = dz kernel^T over the
 * spent columns, scattered back onto dx */
static void conv_dx_chunk(const lf_layer_ctx *c, const geom *g, const float *dz, float *cols, float *dx,
                          size_t r0, size_t r1) {
    size_t P = g->Ho * g->Wo, in = g->H * g->W * g->C;
    lf_sgemm(0, 1, (r1 - r0) * P, g->K, g->F, 1.0f, dz + r0 * P * g->F, g->F, c->w, g->F, 0.0f,
             cols + r0 * P * g->K, g->K);
    for (size_t r = r0; r < r1; r++) {
        if (c->dx_fresh) memset(dx + r * in, 0, in * sizeof *dx);
        lf_col2im(dx + r * in, cols + r * P * g->K, g);
    }
}

static void conv_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    geom g = geom_of(conv_input(c->m, nd), nd, nd->shape[2]);
    size_t B = c->B, P = g.Ho * g.Wo, N = B * P, per = chunk_images(&g);
    size_t zz = nd->act == LF_ACT_LINEAR ? 0 : 2 * N * g.F;
    float *cols = c->aux + zz;
    const float *dz = lf_conv_dz(c, c->aux, N, g.F, nd->use_bias ? c->dw + g.K * g.F : NULL);
    float *dx = c->dxs[0];
    if (use_wino(&g)) {
        wino_bufs wb = wino_bufs_of(c, &g, zz);
        size_t part = LF_WINO_XI * g.C * g.F;
        size_t values = LF_WINO_XI * wb.g.BT * g.C;
        if (lf_conv_chunks_parallel(B, wb.per, values)) {
#pragma omp parallel for schedule(static)
            for (size_t k = 0; k < wb.chunks; k++) {
                size_t r0 = k * wb.per, r1 = B - r0 < wb.per ? B : r0 + wb.per;
                lf_wino_backward(&wb.g, dz, wb.UT, wb.V, wb.M, wb.dU + k * part, dx, c->dx_fresh, r0, r1, 0);
            }
        } else {
            for (size_t k = 0; k < wb.chunks; k++) {
                size_t r0 = k * wb.per, r1 = B - r0 < wb.per ? B : r0 + wb.per;
                lf_wino_backward(&wb.g, dz, wb.UT, wb.V, wb.M, wb.dU + k * part, dx, c->dx_fresh, r0, r1,
                                 values >= CONV_PARALLEL);
            }
        }
        lf_wino_dw(&wb.g, wb.dU, wb.chunks, c->dw);
        return;
    }
    lf_sgemm(1, 0, g.K, g.F, N, 1.0f, cols, g.K, dz, g.F, 1.0f, c->dw, g.F);
    if (!dx) return;
    /* the columns are spent: they become d cols */
    int par = lf_conv_chunks_parallel(B, per, N * g.K);
    (void)par;
#pragma omp parallel for if (par) schedule(static)
    for (size_t r0 = 0; r0 < B; r0 += per) conv_dx_chunk(c, &g, dz, cols, dx, r0, B - r0 < per ? B : r0 + per);
}

static const char *const pad_names[] = {"valid", "same", "causal"};

void lf_conv_write_json(const lf_node *nd, size_t rank, lf_buf *b) {
    lf_buf_printf(b, ",\"filters\":%zu,\"kernel_size\":[", nd->shape[rank]);
    for (size_t i = 0; i < rank; i++) lf_buf_printf(b, "%s%zu", i ? "," : "", nd->kernel[i]);
    lf_buf_puts(b, "],\"strides\":[");
    for (size_t i = 0; i < rank; i++) lf_buf_printf(b, "%s%zu", i ? "," : "", nd->strides[i]);
    lf_buf_printf(b, "],\"padding\":\"%s\",\"activation\":\"%s\",\"use_bias\":%s,\"l2\":", pad_names[nd->padding],
                  lf_activation_name(nd->act), nd->use_bias ? "true" : "false");
    lf_buf_json_float(b, nd->l2);
    lf_arch_write_bias_l2(nd, b);
}

void lf_conv_write_dilation(const lf_node *nd, size_t rank, lf_buf *b) {
    int dilated = 0;
    for (size_t i = 0; i < rank; i++) dilated |= nd->dilation[i] != 1;
    if (!dilated) return; /* the files of undilated layers stay as they were */
    lf_buf_puts(b, ",\"dilation_rate\":[");
    for (size_t i = 0; i < rank; i++) lf_buf_printf(b, "%s%zu", i ? "," : "", nd->dilation[i]);
    lf_buf_puts(b, "]");
}

lf_status lf_conv_read_dilation(const lf_json *L, size_t rank, lf_node *nd, const char *where, lf_err *e) {
    nd->dilation[0] = nd->dilation[1] = nd->dilation[2] = 1;
    if (!lf_json_get(L, "dilation_rate")) return LF_OK;
    return lf_arch_sizes(L, "dilation_rate", 1, 1024, rank, rank, nd->dilation, NULL, where, e);
}

static void conv_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_conv_write_json(nd, 2, b);
    lf_conv_write_dilation(nd, 2, b);
}

lf_status lf_arch_padding(const lf_json *L, lf_padding *p, const char *where, lf_err *e) {
    const char *s = lf_arch_str(L, "padding");
    for (int i = 0; i < 2; i++)
        if (s && strcmp(s, pad_names[i]) == 0) return *p = (lf_padding)i, LF_OK;
    return lf_fail(e, LF_ERR_FORMAT, "%s: 'padding' must be \"valid\" or \"same\"", where);
}

lf_status lf_conv_read_json(const lf_json *L, size_t n_in, size_t rank, const char *type, lf_node *nd,
                            const char *where, lf_err *e) {
    lf_status st = lf_arch_arity(n_in, 1, type, where, e);
    if (st != LF_OK) return st;
    int act = lf_activation_parse(lf_arch_str(L, "activation"));
    if (act < 0) return lf_fail(e, LF_ERR_FORMAT, "%s: unknown or missing activation", where);
    nd->act = (lf_activation)act;
    if (!lf_json_size(lf_json_get(L, "filters"), &nd->dim) || nd->dim == 0 || nd->dim > LF_ARCH_MAX_DIM)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'filters' must be an integer in 1..%zu", where, LF_ARCH_MAX_DIM);
    if ((st = lf_arch_sizes(L, "kernel_size", 1, 1024, rank, rank, nd->kernel, NULL, where, e)) ||
        (st = lf_arch_sizes(L, "strides", 1, 1024, rank, rank, nd->strides, NULL, where, e)) ||
        (st = lf_conv_read_dilation(L, rank, nd, where, e)) ||
        (st = lf_arch_bool(L, "use_bias", &nd->use_bias, where, e)))
        return st;
    const char *pad = lf_arch_str(L, "padding");
    if (rank == 1 && pad && strcmp(pad, "causal") == 0) nd->padding = LF_PADDING_CAUSAL;
    else if (rank == 1 && (st = lf_arch_padding(L, &nd->padding, where, e)) != LF_OK)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'padding' must be \"valid\", \"same\" or \"causal\"", where);
    else if (rank != 1 && (st = lf_arch_padding(L, &nd->padding, where, e)) != LF_OK)
        return st;
    if (lf_json_get(L, "l2") && (st = lf_arch_float_in(L, "l2", 0, INFINITY, 0, &nd->l2, where, e)) != LF_OK) return st;
    return lf_arch_read_bias_l2(L, nd, where, e);
}

static lf_status conv_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                           const char *where, lf_err *e) {
    (void)m;
    return lf_conv_read_json(L, n_in, 2, "Conv2D", nd, where, e);
}

const char *const lf_conv_keys[] = {"name", "type", "inbound", "filters", "kernel_size", "strides",
                                    "padding", "activation", "use_bias", "l2", "bias_l2", "dilation_rate", NULL};

const lf_layer_type lf_type_conv2d = {
    .type = "Conv2D",
    .prefix = "conv2d",
    .keys = lf_conv_keys,
    .l2 = 1,
    .bias_l2 = 1,
    .activity_reg = 1,
    .dx_assign = 1,
    .infer = conv_infer,
    .weights = lf_conv_weights,
    .init = lf_conv_init,
    .forward = conv_forward,
    .backward = conv_backward,
    .write_json = conv_json,
    .read_json = conv_read,
};

int lf_conv2d(lf_model *m, int x, size_t filters, size_t kh, size_t kw, size_t sh, size_t sw,
              lf_padding padding, lf_activation act, int use_bias, const char *name) {
    return lf_conv2d_dilated(m, x, filters, kh, kw, sh, sw, padding, 1, 1, act, use_bias, name);
}

int lf_conv2d_dilated(lf_model *m, int x, size_t filters, size_t kh, size_t kw, size_t sh, size_t sw,
                      lf_padding padding, size_t dh, size_t dw, lf_activation act, int use_bias,
                      const char *name) {
    size_t k[2] = {kh, kw}, s[2] = {sh, sw}, d[2] = {dh, dw};
    lf_node nd = lf_conv_node(2, filters, k, s, d, padding, act, use_bias);
    return lf_node_add(m, &lf_type_conv2d, LF_K_CONV2D, nd, &x, 1, name);
}
