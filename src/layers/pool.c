/*
 * pool.c — Keras' pooling layers over channels-last images x (B, H, W, C):
 *
 * MaxPooling2D / AveragePooling2D (pool_size, strides = pool_size by
 * default, padding "valid" or "same" as Conv2D's): y (B, Ho, Wo, C), the
 * largest / the mean value of each window.  With "same", padded pixels
 * take no part: the max is over the window's real pixels and the mean
 * divides by their count (TensorFlow's and Keras' rule).  Max keeps in aux
 * the index of the pixel it chose (ties: the first in row-major window
 * order), through which the gradient flows back.  When its input is a
 * relu folded into a BatchNormalization and it is that relu's one reader
 * (lf_layer_ctx.relu_masked), its backward applies the relu's gradient:
 * a chosen pixel gets dy where the output is > 0, else 0.
 *
 * GlobalAveragePooling2D / GlobalMaxPooling2D: y (B, C), the mean / the
 * largest value of each channel over all H x W pixels.
 * GlobalAveragePooling3D / GlobalMaxPooling3D: the same over the T x H x W
 * voxels of x (B, T, H, W, C) (videos), run as the 2-D ones on the
 * (T H, W, C) image of the same row-major values.
 *
 * MaxPooling1D / AveragePooling1D (pool_size, strides = pool_size by
 * default, padding) over sequences x (B, T, D): y (B, To, D), To as
 * Conv1D's, with the 2-D kinds' rules; they run as those on (T, 1, D)
 * images with windows (pool_size, 1).  Like Keras' (BasePooling has no
 * compute_mask), they pool every step, padding steps included, and their
 * output carries no padding mask.
 */
#include "kernels.h"
#include "layers/layer.h"

#include <math.h>
#include <string.h>

enum { POOL_MAX, POOL_AVG, POOL_GMAX, POOL_GAVG };

typedef struct pgeom {
    size_t H, W, C, Ho, Wo, kh, kw, sh, sw, pt, pl;
} pgeom;

/* a 1-D kind: (T, D) pooled as a (T, 1, D) image, its windows (k, 1) */
static int pool_1d(const lf_node *nd) { return nd->kind == LF_K_MAXPOOL1D || nd->kind == LF_K_AVGPOOL1D; }

/* a 3-D global kind: (T, H, W, C) pooled as a (T H, W, C) image */
static int pool_3d(const lf_node *nd) { return nd->kind == LF_K_GMAXPOOL3D || nd->kind == LF_K_GAVGPOOL3D; }

static pgeom pgeom_of(const lf_node *x, const lf_node *nd) {
    pgeom g;
    if (pool_1d(nd)) g.H = x->shape[0], g.W = 1, g.C = x->shape[1];
    else if (pool_3d(nd)) g.H = x->shape[0] * x->shape[1], g.W = x->shape[2], g.C = x->shape[3];
    else g.H = x->shape[0], g.W = x->shape[1], g.C = x->shape[2];
    if (nd->kind == LF_K_GMAXPOOL2D || nd->kind == LF_K_GAVGPOOL2D || pool_3d(nd)) {
        g.kh = g.H, g.kw = g.W, g.sh = g.H, g.sw = g.W, g.pt = g.pl = 0, g.Ho = g.Wo = 1;
        return g;
    }
    g.kh = nd->kernel[0], g.kw = nd->kernel[1], g.sh = nd->strides[0], g.sw = nd->strides[1];
    g.Ho = lf_conv_out(g.H, g.kh, g.sh, nd->padding, &g.pt);
    g.Wo = lf_conv_out(g.W, g.kw, g.sw, nd->padding, &g.pl);
    return g;
}

/* the window of output pixel (oy, ox) clipped to the image: [y0, y1) x [x0, x1) */
static void window(const pgeom *g, size_t oy, size_t ox, size_t *y0, size_t *y1, size_t *x0, size_t *x1) {
    size_t ys = oy * g->sh, xs = ox * g->sw; /* in padded coordinates */
    *y0 = ys > g->pt ? ys - g->pt : 0;
    *y1 = ys + g->kh > g->pt ? ys + g->kh - g->pt : 0;
    *y1 = *y1 < g->H ? *y1 : g->H;
    *x0 = xs > g->pl ? xs - g->pl : 0;
    *x1 = xs + g->kw > g->pl ? xs + g->kw - g->pl : 0;
    *x1 = *x1 < g->W ? *x1 : g->W;
}

static const lf_node *pool_input(const lf_model *m, const lf_node *nd) { return &m->nodes[nd->in[0]]; }

/* Batches of at least this many input values are shared out to the threads
 * by rows (each row's values are computed the same way on any thread). */
#define POOL_PARALLEL 65536

/* One row: every output pixel's C channels side by side, so the loops over
 * the channels (innermost) vectorise; each channel still visits its
 * window's pixels in row-major order (the first of equal maxima wins, the
 * mean adds in that order), as the per-channel loop did. */
LF_CLONES static void pool_row(const pgeom *g, int avg, const float *restrict x, float *restrict y,
                               uint32_t *restrict arg) {
    size_t C = g->C;
    for (size_t oy = 0; oy < g->Ho; oy++)
        for (size_t ox = 0; ox < g->Wo; ox++) {
            size_t y0, y1, x0, x1;
            window(g, oy, ox, &y0, &y1, &x0, &x1);
            float *restrict yo = y + (oy * g->Wo + ox) * C;
            if (avg) {
                for (size_t ch = 0; ch < C; ch++) yo[ch] = 0.0f;
                for (size_t iy = y0; iy < y1; iy++)
                    for (size_t ix = x0; ix < x1; ix++) {
                        const float *restrict xi = x + (iy * g->W + ix) * C;
                        for (size_t ch = 0; ch < C; ch++) yo[ch] += xi[ch];
                    }
                float n = (float)((y1 - y0) * (x1 - x0));
                for (size_t ch = 0; ch < C; ch++) yo[ch] /= n;
                continue;
            }
            uint32_t *restrict ao = arg + (oy * g->Wo + ox) * C;
            uint32_t first = (uint32_t)((y0 * g->W + x0) * C);
            for (size_t ch = 0; ch < C; ch++) yo[ch] = -INFINITY, ao[ch] = first + (uint32_t)ch;
            for (size_t iy = y0; iy < y1; iy++)
                for (size_t ix = x0; ix < x1; ix++) {
                    uint32_t base = (uint32_t)((iy * g->W + ix) * C);
                    const float *restrict xi = x + base;
                    for (size_t ch = 0; ch < C; ch++) { /* branch-free: it vectorises */
                        float v = xi[ch], cur = yo[ch];
                        int gt = v > cur || v != v; /* a NaN is taken: it propagates */
                        yo[ch] = gt ? v : cur;
                        ao[ch] = gt ? base + (uint32_t)ch : ao[ch];
                    }
                }
        }
}

/* The windows tile the image: every pixel lies in exactly one window. */
static int windows_tile(const pgeom *g) {
    return g->pt == 0 && g->pl == 0 && g->sh == g->kh && g->sw == g->kw && g->Ho * g->kh == g->H &&
           g->Wo * g->kw == g->W;
}

/* pool_row's max for 2 x 2 windows that tile the image: the four pixels
 * of each window compared in one pass over the channels, in pool_row's
 * order and with its rule (start at -inf and the first pixel, take a
 * pixel only when larger, or NaN), so the values and chosen pixels are the
 * same */
LF_CLONES static void pool_max2(const pgeom *g, const float *restrict x, float *restrict y,
                                uint32_t *restrict arg) {
    size_t C = g->C, W = g->W;
    for (size_t oy = 0; oy < g->Ho; oy++)
        for (size_t ox = 0; ox < g->Wo; ox++) {
            uint32_t b0 = (uint32_t)((2 * oy * W + 2 * ox) * C), b1 = b0 + (uint32_t)C;
            uint32_t b2 = b0 + (uint32_t)(W * C), b3 = b2 + (uint32_t)C;
            const float *restrict x0 = x + b0, *restrict x1 = x + b1, *restrict x2 = x + b2,
                                  *restrict x3 = x + b3;
            float *restrict yo = y + (oy * g->Wo + ox) * C;
            uint32_t *restrict ao = arg + (oy * g->Wo + ox) * C;
            for (size_t ch = 0; ch < C; ch++) {
                uint32_t k = (uint32_t)ch, a = b0 + k;
                float cur = -INFINITY, v = x0[ch];
                int gt = v > cur || v != v;
                a = gt ? b0 + k : a, cur = gt ? v : cur;
                v = x1[ch], gt = v > cur || v != v;
                a = gt ? b1 + k : a, cur = gt ? v : cur;
                v = x2[ch], gt = v > cur || v != v;
                a = gt ? b2 + k : a, cur = gt ? v : cur;
                v = x3[ch], gt = v > cur || v != v;
                a = gt ? b3 + k : a, cur = gt ? v : cur;
                yo[ch] = cur, ao[ch] = a;
            }
        }
}

/* pool_row's average for 2 x 2 windows that tile the image: the same sums
 * in the same order (0, then the window's pixels in row-major order),
 * without the per-window bounds */
LF_CLONES static void pool_avg2(const pgeom *g, const float *restrict x, float *restrict y) {
    size_t C = g->C, W = g->W;
    for (size_t oy = 0; oy < g->Ho; oy++)
        for (size_t ox = 0; ox < g->Wo; ox++) {
            const float *restrict x0 = x + (2 * oy * W + 2 * ox) * C, *restrict x1 = x0 + C,
                                  *restrict x2 = x0 + W * C, *restrict x3 = x2 + C;
            float *restrict yo = y + (oy * g->Wo + ox) * C;
            for (size_t ch = 0; ch < C; ch++)
                yo[ch] = ((((0.0f + x0[ch]) + x1[ch]) + x2[ch]) + x3[ch]) / 4.0f;
        }
}

static void pool_forward(const lf_layer_ctx *c) {
    pgeom g = pgeom_of(pool_input(c->m, c->nd), c->nd);
    int avg = c->t->op == POOL_AVG || c->t->op == POOL_GAVG;
    int two = g.kh == 2 && g.kw == 2 && windows_tile(&g);
    size_t in = g.H * g.W * g.C, out = c->nd->dim;
#pragma omp parallel for if (c->B * in >= POOL_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        uint32_t *arg = avg ? NULL : (uint32_t *)(void *)(c->aux + r * out);
        if (two && avg)
            pool_avg2(&g, c->xs[0] + r * in, c->y + r * out);
        else if (two)
            pool_max2(&g, c->xs[0] + r * in, c->y + r * out, arg);
        else
            pool_row(&g, avg, c->xs[0] + r * in, c->y + r * out, arg);
    }
}

/* One row's gradient d (H, W, C) written whole when the windows tile the
 * image: the chosen pixel's dy and 0 beside it (max), or dy over the
 * window's size (average), the values the adding path leaves on zeros.
 * py (max only; NULL: none): the pooling's output, a folded relu's
 * gradient applied (lf_layer_ctx.relu_masked): dy only where py > 0. */
LF_CLONES static void pool_grad_set(const pgeom *g, int avg, const float *restrict dy,
                                    const uint32_t *restrict arg, const float *restrict py, float *restrict d) {
    size_t C = g->C;
    float inv = 1.0f / (float)(g->kh * g->kw);
    if (!avg && g->kh == 2 && g->kw == 2) { /* the four pixels in one pass, as pool_max2 */
        for (size_t oy = 0; oy < g->Ho; oy++)
            for (size_t ox = 0; ox < g->Wo; ox++) {
                const float *restrict dyo = dy + (oy * g->Wo + ox) * C;
                const uint32_t *restrict ao = arg + (oy * g->Wo + ox) * C;
                uint32_t b0 = (uint32_t)((2 * oy * g->W + 2 * ox) * C), b1 = b0 + (uint32_t)C;
                uint32_t b2 = b0 + (uint32_t)(g->W * C), b3 = b2 + (uint32_t)C;
                float *restrict d0 = d + b0, *restrict d1 = d + b1, *restrict d2 = d + b2, *restrict d3 = d + b3;
                for (size_t ch = 0; ch < C; ch++) {
                    uint32_t a = ao[ch], k = (uint32_t)ch;
                    float v = dyo[ch];
                    if (py) v = py[(oy * g->Wo + ox) * C + ch] > 0 ? v : 0.0f;
                    d0[ch] = a == b0 + k ? v : 0.0f;
                    d1[ch] = a == b1 + k ? v : 0.0f;
                    d2[ch] = a == b2 + k ? v : 0.0f;
                    d3[ch] = a == b3 + k ? v : 0.0f;
                }
            }
        return;
    }
    for (size_t oy = 0; oy < g->Ho; oy++)
        for (size_t ox = 0; ox < g->Wo; ox++) {
            const float *restrict dyo = dy + (oy * g->Wo + ox) * C;
            const uint32_t *restrict ao = arg ? arg + (oy * g->Wo + ox) * C : NULL; /* NULL: average */
            for (size_t iy = oy * g->kh; iy < (oy + 1) * g->kh; iy++)
                for (size_t ix = ox * g->kw; ix < (ox + 1) * g->kw; ix++) {
                    uint32_t base = (uint32_t)((iy * g->W + ix) * C);
                    float *restrict di = d + base;
                    if (avg)
                        for (size_t ch = 0; ch < C; ch++) di[ch] = dyo[ch] * inv;
                    else if (py) {
                        const float *restrict po = py + (oy * g->Wo + ox) * C;
                        for (size_t ch = 0; ch < C; ch++)
                            di[ch] = ao[ch] == base + (uint32_t)ch && po[ch] > 0 ? dyo[ch] : 0.0f;
                    } else
                        for (size_t ch = 0; ch < C; ch++) di[ch] = ao[ch] == base + (uint32_t)ch ? dyo[ch] : 0.0f;
                }
        }
}

static void pool_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    pgeom g = pgeom_of(pool_input(c->m, c->nd), c->nd);
    int avg = c->t->op == POOL_AVG || c->t->op == POOL_GAVG, set = c->dx_fresh && windows_tile(&g);
    /* the folded relu's gradient (graph.c): the chosen pixel's value is the
     * output, dy passes where it is > 0 (what the relu would keep) */
    int masked = c->relu_masked && !avg;
    size_t in = g.H * g.W * g.C, out = c->nd->dim;
#pragma omp parallel for if (c->B * in >= POOL_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        float *d = dx + r * in;
        const float *dy = c->dy + r * out;
        const uint32_t *arg = avg ? NULL : (const uint32_t *)(const void *)(c->aux + r * out);
        const float *py = masked ? c->y + r * out : NULL;
        if (set) {
            pool_grad_set(&g, avg, dy, arg, py, d);
            continue;
        }
        if (c->dx_fresh) memset(d, 0, in * sizeof *d); /* then added to */
        if (py) {
            for (size_t j = 0; j < out; j++) d[arg[j]] += py[j] > 0 ? dy[j] : 0.0f;
            continue;
        }
        if (!avg) {
            for (size_t j = 0; j < out; j++) d[arg[j]] += dy[j];
            continue;
        }
        for (size_t oy = 0; oy < g.Ho; oy++)
            for (size_t ox = 0; ox < g.Wo; ox++) {
                size_t y0, y1, x0, x1;
                window(&g, oy, ox, &y0, &y1, &x0, &x1);
                const float *dyo = dy + (oy * g.Wo + ox) * g.C;
                float inv = 1.0f / (float)((y1 - y0) * (x1 - x0));
                for (size_t iy = y0; iy < y1; iy++)
                    for (size_t ix = x0; ix < x1; ix++) {
                        float *di = d + (iy * g.W + ix) * g.C;
                        for (size_t ch = 0; ch < g.C; ch++) di[ch] += dyo[ch] * inv;
                    }
            }
    }
}

/* the builder put pool_size, strides and padding in nd (not for the
 * global kinds; the 1-D kinds' second values are 1) */
static int pool_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    int one = pool_1d(nd);
    const lf_node *x = lf_input_node(m, t->type, in, n_in, one ? 2 : pool_3d(nd) ? 4 : 3);
    if (!x) return 0;
    int global = t->op == POOL_GMAX || t->op == POOL_GAVG;
    if (!global) {
        if ((unsigned)nd->padding > LF_PADDING_SAME)
            return lf_build_fail(m, LF_ERR_ARG, "%s: unknown padding %d", t->type, (int)nd->padding);
        if (one && (nd->kernel[0] == 0 || nd->kernel[0] > 1024 || nd->strides[0] == 0 || nd->strides[0] > 1024))
            return lf_build_fail(m, LF_ERR_ARG, "%s: pool_size and strides must be in 1..1024, got %zu and %zu",
                                 t->type, nd->kernel[0], nd->strides[0]);
        for (int a = 0; a < 2; a++)
            if (nd->kernel[a] == 0 || nd->kernel[a] > 1024 || nd->strides[a] == 0 || nd->strides[a] > 1024)
                return lf_build_fail(m, LF_ERR_ARG,
                                     "%s: pool_size and strides must be in 1..1024, got (%zu, %zu) and (%zu, %zu)",
                                     t->type, nd->kernel[0], nd->kernel[1], nd->strides[0], nd->strides[1]);
    }
    pgeom g = pgeom_of(x, nd);
    if (one && g.Ho == 0) {
        char s[96];
        lf_shape_str(x, s, sizeof s);
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "%s: input '%s' of shape %s is shorter than the pool %zu with padding 'valid'", t->type,
                             x->name, s, g.kh);
    }
    if (g.Ho == 0 || g.Wo == 0) {
        char s[96];
        lf_shape_str(x, s, sizeof s);
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "%s: input '%s' of shape %s is smaller than the pool (%zu, %zu) with padding 'valid'",
                             t->type, x->name, s, g.kh, g.kw);
    }
    size_t out[3] = {g.Ho, g.Wo, g.C}, out1[2] = {g.Ho, g.C};
    if (!(global ? lf_shape_set(m, t->type, nd, 1, &g.C)
          : one  ? lf_shape_set(m, t->type, nd, 2, out1)
                 : lf_shape_set(m, t->type, nd, 3, out)))
        return 0;
    nd->aux_per_row = (t->op == POOL_MAX || t->op == POOL_GMAX) ? nd->dim : 0; /* the chosen pixels */
    return 1;
}

static void pool_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    if (pool_1d(nd)) {
        lf_buf_printf(b, ",\"pool_size\":[%zu],\"strides\":[%zu],\"padding\":\"%s\"", nd->kernel[0], nd->strides[0],
                      nd->padding == LF_PADDING_SAME ? "same" : "valid");
        return;
    }
    lf_buf_printf(b, ",\"pool_size\":[%zu,%zu],\"strides\":[%zu,%zu],\"padding\":\"%s\"", nd->kernel[0],
                  nd->kernel[1], nd->strides[0], nd->strides[1], nd->padding == LF_PADDING_SAME ? "same" : "valid");
}

/* a pooling record's fields: pool_size and strides of `dims` sizes each,
 * and padding */
static lf_status pool_fields(const lf_json *L, size_t n_in, lf_node *nd, size_t dims, const char *where,
                             lf_err *e) {
    lf_status st = lf_arch_arity(n_in, 1, "a pooling layer", where, e);
    if (st != LF_OK) return st;
    if ((st = lf_arch_sizes(L, "pool_size", 1, 1024, dims, dims, nd->kernel, NULL, where, e)) ||
        (st = lf_arch_sizes(L, "strides", 1, 1024, dims, dims, nd->strides, NULL, where, e)) ||
        (st = lf_arch_padding(L, &nd->padding, where, e)))
        return st;
    return LF_OK;
}

static lf_status pool_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                           const char *where, lf_err *e) {
    (void)m;
    return pool_fields(L, n_in, nd, 2, where, e);
}

/* the 1-D kinds: pool_size [k], strides [s] (Keras' one-element tuples) */
static lf_status pool1_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                            const char *where, lf_err *e) {
    (void)m;
    lf_status st = pool_fields(L, n_in, nd, 1, where, e);
    if (st != LF_OK) return st;
    nd->kernel[1] = nd->strides[1] = 1;
    return LF_OK;
}

static lf_status gpool_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                            const char *where, lf_err *e) {
    (void)m, (void)L, (void)nd;
    return lf_arch_arity(n_in, 1, "a pooling layer", where, e);
}

static const char *const pool_keys[] = {"name", "type", "inbound", "pool_size", "strides", "padding", NULL};
static const char *const gpool_keys[] = {"name", "type", "inbound", NULL};

#define POOL_RECORD(rec, Type, pfx, o, key_list, json, read)                                           \
    const lf_layer_type rec = {                                                                    \
        .type = Type,                                                                              \
        .prefix = pfx,                                                                             \
        .keys = key_list,                                                                          \
        .op = o,                                                                                   \
        .dx_assign = 1,                                                                            \
        .infer = pool_infer,                                                                       \
        .forward = pool_forward,                                                                   \
        .backward = pool_backward,                                                                 \
        .write_json = json,                                                                        \
        .read_json = read,                                                                         \
    };
POOL_RECORD(lf_type_maxpool2d, "MaxPooling2D", "max_pooling2d", POOL_MAX, pool_keys, pool_json, pool_read)
POOL_RECORD(lf_type_avgpool2d, "AveragePooling2D", "average_pooling2d", POOL_AVG, pool_keys, pool_json, pool_read)
POOL_RECORD(lf_type_gmaxpool2d, "GlobalMaxPooling2D", "global_max_pooling2d", POOL_GMAX, gpool_keys, NULL,
            gpool_read)
POOL_RECORD(lf_type_gavgpool2d, "GlobalAveragePooling2D", "global_average_pooling2d", POOL_GAVG, gpool_keys,
            NULL, gpool_read)
POOL_RECORD(lf_type_maxpool1d, "MaxPooling1D", "max_pooling1d", POOL_MAX, pool_keys, pool_json, pool1_read)
POOL_RECORD(lf_type_gmaxpool3d, "GlobalMaxPooling3D", "global_max_pooling3d", POOL_GMAX, gpool_keys, NULL,
            gpool_read)
POOL_RECORD(lf_type_gavgpool3d, "GlobalAveragePooling3D", "global_average_pooling3d", POOL_GAVG, gpool_keys,
            NULL, gpool_read)
POOL_RECORD(lf_type_avgpool1d, "AveragePooling1D", "average_pooling1d", POOL_AVG, pool_keys, pool_json, pool1_read)

static int pool_add(lf_model *m, const lf_layer_type *t, lf_kind k, int x, size_t ph, size_t pw, size_t sh,
                    size_t sw, lf_padding padding, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.kernel[0] = ph, nd.kernel[1] = pw;
    /* strides 0: Keras' default, the pool size */
    nd.strides[0] = sh ? sh : ph, nd.strides[1] = sw ? sw : pw;
    nd.padding = padding;
    return lf_node_add(m, t, k, nd, &x, 1, name);
}

int lf_max_pooling2d(lf_model *m, int x, size_t ph, size_t pw, size_t sh, size_t sw, lf_padding padding,
                     const char *name) {
    return pool_add(m, &lf_type_maxpool2d, LF_K_MAXPOOL2D, x, ph, pw, sh, sw, padding, name);
}

int lf_average_pooling2d(lf_model *m, int x, size_t ph, size_t pw, size_t sh, size_t sw, lf_padding padding,
                         const char *name) {
    return pool_add(m, &lf_type_avgpool2d, LF_K_AVGPOOL2D, x, ph, pw, sh, sw, padding, name);
}

int lf_global_max_pooling2d(lf_model *m, int x, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    return lf_node_add(m, &lf_type_gmaxpool2d, LF_K_GMAXPOOL2D, nd, &x, 1, name);
}

int lf_global_average_pooling2d(lf_model *m, int x, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    return lf_node_add(m, &lf_type_gavgpool2d, LF_K_GAVGPOOL2D, nd, &x, 1, name);
}

int lf_max_pooling1d(lf_model *m, int x, size_t pool_size, size_t strides, lf_padding padding, const char *name) {
    return pool_add(m, &lf_type_maxpool1d, LF_K_MAXPOOL1D, x, pool_size, 1, strides, 1, padding, name);
}

int lf_average_pooling1d(lf_model *m, int x, size_t pool_size, size_t strides, lf_padding padding,
                         const char *name) {
    return pool_add(m, &lf_type_avgpool1d, LF_K_AVGPOOL1D, x, pool_size, 1, strides, 1, padding, name);
}

int lf_global_max_pooling3d(lf_model *m, int x, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    return lf_node_add(m, &lf_type_gmaxpool3d, LF_K_GMAXPOOL3D, nd, &x, 1, name);
}

int lf_global_average_pooling3d(lf_model *m, int x, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    return lf_node_add(m, &lf_type_gavgpool3d, LF_K_GAVGPOOL3D, nd, &x, 1, name);
}
