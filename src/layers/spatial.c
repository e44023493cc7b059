/*
 * spatial.c — layers that move the pixels of channels-last images
 * x (B, H, W, C) without weights: Keras' UpSampling2D, ZeroPadding2D and
 * Cropping2D, the decoder side of autoencoders and U-Nets.
 *
 * UpSampling2D(size=(sh, sw), interpolation): y (B, H sh, W sw, C)
 * (keras/src/layers/reshaping/up_sampling2d.py).  "nearest" repeats each
 * row sh times and each column sw times (Keras' ops.repeat); "bilinear"
 * is Keras' ops.image.resize (jax.image.resize, tf.image.resize: half-pixel
 * centres): output pixel o of an axis reads the input at
 * (o + 0.5) / s - 0.5, clamped to the image, as the two pixels around it
 * weighted by their distances (PyTorch's bilinear, align_corners=False).
 * ZeroPadding2D(padding=((top, bottom), (left, right))): y (B, H + top +
 * bottom, W + left + right, C), zeros around x (zero_padding2d.py).
 * Cropping2D(cropping=((top, bottom), (left, right))): y = x[:, top:H -
 * bottom, left:W - right, :] (cropping2d.py; a crop that leaves no pixel
 * is refused with Keras' message).
 * Backward passes add dy back onto dx: the repeats' sums, the bilinear
 * weights, the pixels kept.
 *
 * Their 1-D forms on sequences x (B, T, C) are the same passes over a
 * (T, 1, C) image: UpSampling1D(size) repeats each step size times
 * (up_sampling1d.py, ops.repeat on axis 1), ZeroPadding1D(padding=(a, b))
 * adds a zero steps before and b after (zero_padding1d.py),
 * Cropping1D(cropping=(a, b)) keeps x[:, a:T - b, :] (cropping1d.py,
 * Keras' message when nothing is left).  None supports masking in Keras 3
 * (no compute_mask): a padding mask ends at each.
 */
#include "layers/layer.h"

#include <math.h>
#include <string.h>

/* (H, W, C) of an image node, (T, 1, C) of a sequence node */
static void hwc(const lf_node *n, size_t *H, size_t *W, size_t *C) {
    *H = n->shape[0], *W = n->rank == 3 ? n->shape[1] : 1, *C = n->shape[n->rank - 1];
}

/* ------------------------------------------------------------ UpSampling2D */

static const char *const interp_names[] = {"bilinear", "nearest"}; /* by lf_interpolation */

static int up_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "UpSampling2D", in, n_in, 3);
    if (!x) return 0;
    if (nd->kernel[0] == 0 || nd->kernel[1] == 0 || nd->kernel[0] > 1024 || nd->kernel[1] > 1024)
        return lf_build_fail(m, LF_ERR_ARG, "UpSampling2D: size must be in 1..1024, got (%zu, %zu)", nd->kernel[0],
                             nd->kernel[1]);
    if ((unsigned)nd->mode > LF_INTERP_NEAREST)
        return lf_build_fail(m, LF_ERR_ARG, "UpSampling2D: unknown interpolation %d", nd->mode);
    size_t out[3] = {x->shape[0] * nd->kernel[0], x->shape[1] * nd->kernel[1], x->shape[2]};
    return lf_shape_set(m, "UpSampling2D", nd, 3, out);
}

/* One axis of the bilinear resize: output o of an axis of n pixels scaled
 * by s reads (1 - *w) of pixel *i0 and *w of pixel *i1 */
static void lin_at(size_t o, size_t n, size_t s, size_t *i0, size_t *i1, float *w) {
    double src = ((double)o + 0.5) / (double)s - 0.5;
    if (src < 0) src = 0;
    size_t i = (size_t)src;
    if (i > n - 1) i = n - 1;
    *i0 = i, *i1 = i + 1 < n ? i + 1 : n - 1;
    *w = (float)(src - (double)i);
}

static void up_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd, *xn = &c->m->nodes[nd->in[0]];
    size_t H, W, C, sh = nd->kernel[0], sw = nd->kernel[1];
    hwc(xn, &H, &W, &C);
    size_t Ho = H * sh, Wo = W * sw;
    for (size_t r = 0; r < c->B; r++) {
        const float *x = c->xs[0] + r * xn->dim;
        float *y = c->y + r * nd->dim;
        for (size_t oy = 0; oy < Ho; oy++)
            for (size_t ox = 0; ox < Wo; ox++) {
                float *yp = y + (oy * Wo + ox) * C;
                if (nd->mode == LF_INTERP_NEAREST) {
                    memcpy(yp, x + ((oy / sh) * W + ox / sw) * C, C * sizeof *yp);
                    continue;
                }
                size_t y0, y1, x0, x1;
                float wy, wx;
                lin_at(oy, H, sh, &y0, &y1, &wy);
                lin_at(ox, W, sw, &x0, &x1, &wx);
                const float *a = x + (y0 * W + x0) * C, *b = x + (y0 * W + x1) * C;
                const float *p = x + (y1 * W + x0) * C, *q = x + (y1 * W + x1) * C;
                for (size_t ch = 0; ch < C; ch++)
                    yp[ch] = (1 - wy) * ((1 - wx) * a[ch] + wx * b[ch]) + wy * ((1 - wx) * p[ch] + wx * q[ch]);
            }
    }
}

static void up_backward(const lf_layer_ctx *c) {
    float *dxs = c->dxs[0];
    if (!dxs) return;
    const lf_node *nd = c->nd, *xn = &c->m->nodes[nd->in[0]];
    size_t H, W, C, sh = nd->kernel[0], sw = nd->kernel[1];
    hwc(xn, &H, &W, &C);
    size_t Ho = H * sh, Wo = W * sw;
    for (size_t r = 0; r < c->B; r++) {
        float *dx = dxs + r * xn->dim;
        const float *dy = c->dy + r * nd->dim;
        for (size_t oy = 0; oy < Ho; oy++)
            for (size_t ox = 0; ox < Wo; ox++) {
                const float *g = dy + (oy * Wo + ox) * C;
                if (nd->mode == LF_INTERP_NEAREST) {
                    float *d = dx + ((oy / sh) * W + ox / sw) * C;
                    for (size_t ch = 0; ch < C; ch++) d[ch] += g[ch];
                    continue;
                }
                size_t y0, y1, x0, x1;
                float wy, wx;
                lin_at(oy, H, sh, &y0, &y1, &wy);
                lin_at(ox, W, sw, &x0, &x1, &wx);
                float *a = dx + (y0 * W + x0) * C, *b = dx + (y0 * W + x1) * C;
                float *p = dx + (y1 * W + x0) * C, *q = dx + (y1 * W + x1) * C;
                for (size_t ch = 0; ch < C; ch++) {
                    float gy0 = (1 - wy) * g[ch], gy1 = wy * g[ch];
                    a[ch] += (1 - wx) * gy0, b[ch] += wx * gy0;
                    p[ch] += (1 - wx) * gy1, q[ch] += wx * gy1;
                }
            }
    }
}

static void up_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"size\":[%zu,%zu],\"interpolation\":\"%s\"", nd->kernel[0], nd->kernel[1],
                  interp_names[nd->mode]);
}

static lf_status up_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                         lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "UpSampling2D", where, e);
    if (st != LF_OK || (st = lf_arch_sizes(L, "size", 1, 1024, 2, 2, nd->kernel, NULL, where, e)) != LF_OK)
        return st;
    const char *s = lf_arch_str(L, "interpolation");
    for (int i = 0; i < 2; i++)
        if (s && strcmp(s, interp_names[i]) == 0) return nd->mode = i, LF_OK;
    return lf_fail(e, LF_ERR_FORMAT, "%s: 'interpolation' must be \"nearest\" or \"bilinear\"", where);
}

static const char *const up_keys[] = {"name", "type", "inbound", "size", "interpolation", NULL};

const lf_layer_type lf_type_upsampling2d = {
    .type = "UpSampling2D",
    .prefix = "up_sampling2d",
    .keys = up_keys,
    .infer = up_infer,
    .forward = up_forward,
    .backward = up_backward,
    .write_json = up_json,
    .read_json = up_read,
};

int lf_upsampling2d(lf_model *m, int x, size_t sh, size_t sw, lf_interpolation interpolation, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.kernel[0] = sh, nd.kernel[1] = sw;
    nd.mode = (int)interpolation;
    return lf_node_add(m, &lf_type_upsampling2d, LF_K_UPSAMPLING2D, nd, &x, 1, name);
}

/* ------------------------------------------- ZeroPadding2D and Cropping2D */

/* nd->crop: (top, bottom, left, right) pixels added (ZeroPadding2D) or
 * removed (Cropping2D, the record's op 1) */
static int edge_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 3);
    if (!x) return 0;
    const size_t *p = nd->crop;
    for (int k = 0; k < 4; k++)
        if (p[k] > LF_ARCH_MAX_DIM)
            return lf_build_fail(m, LF_ERR_ARG, "%s: %s must be in 0..%zu, got ((%zu, %zu), (%zu, %zu))", t->type,
                                 t->op ? "cropping" : "padding", LF_ARCH_MAX_DIM, p[0], p[1], p[2], p[3]);
    size_t out[3] = {x->shape[0], x->shape[1], x->shape[2]};
    if (t->op) {
        if (p[0] + p[1] >= out[0] || p[2] + p[3] >= out[1]) {
            /* Keras' message (cropping2d.py compute_output_shape) */
            char s[96];
            lf_shape_str(x, s, sizeof s);
            return lf_build_fail(m, LF_ERR_SHAPE,
                                 "Cropping2D: Values in `cropping` argument should be smaller than the corresponding "
                                 "spatial dimension of the input. Received: input_shape=%s, cropping=((%zu, %zu), "
                                 "(%zu, %zu))",
                                 s, p[0], p[1], p[2], p[3]);
        }
        out[0] -= p[0] + p[1], out[1] -= p[2] + p[3];
    } else {
        out[0] += p[0] + p[1], out[1] += p[2] + p[3];
    }
    return lf_shape_set(m, t->type, nd, 3, out);
}

/* The rows of the padded image (ZeroPadding2D's y, Cropping2D's x) and of
 * the inner one: row i of the inner image is row i + top of the padded one
 * from column left on */
typedef struct edge_geom {
    size_t Hp, Wp, Hi, Wi, C, top, left;
} edge_geom;

static edge_geom edge_of(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd, *xn = &c->m->nodes[nd->in[0]];
    const lf_node *big = c->t->op ? xn : nd, *small = c->t->op ? nd : xn;
    edge_geom g = {.top = nd->crop[0], .left = nd->crop[2]};
    hwc(big, &g.Hp, &g.Wp, &g.C);
    hwc(small, &g.Hi, &g.Wi, &g.C);
    return g;
}

static void edge_forward(const lf_layer_ctx *c) {
    edge_geom g = edge_of(c);
    size_t big = g.Hp * g.Wp * g.C, small = g.Hi * g.Wi * g.C, run = g.Wi * g.C;
    for (size_t r = 0; r < c->B; r++) {
        const float *x = c->xs[0] + r * (c->t->op ? big : small);
        float *y = c->y + r * (c->t->op ? small : big);
        if (!c->t->op) memset(y, 0, big * sizeof *y);
        for (size_t i = 0; i < g.Hi; i++) {
            size_t at = ((i + g.top) * g.Wp + g.left) * g.C;
            if (c->t->op) memcpy(y + i * run, x + at, run * sizeof *y);
            else memcpy(y + at, x + i * run, run * sizeof *y);
        }
    }
}

static void edge_backward(const lf_layer_ctx *c) {
    float *dxs = c->dxs[0];
    if (!dxs) return;
    edge_geom g = edge_of(c);
    size_t big = g.Hp * g.Wp * g.C, small = g.Hi * g.Wi * g.C, run = g.Wi * g.C;
    for (size_t r = 0; r < c->B; r++) {
        float *dx = dxs + r * (c->t->op ? big : small);
        const float *dy = c->dy + r * (c->t->op ? small : big);
        for (size_t i = 0; i < g.Hi; i++) {
            size_t at = ((i + g.top) * g.Wp + g.left) * g.C;
            float *d = c->t->op ? dx + at : dx + i * run;
            const float *s = c->t->op ? dy + i * run : dy + at;
            for (size_t j = 0; j < run; j++) d[j] += s[j];
        }
    }
}

static void edge_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    const lf_layer_type *t = lf_type_of(nd);
    lf_buf_printf(b, ",\"%s\":[[%zu,%zu],[%zu,%zu]]", t->op ? "cropping" : "padding", nd->crop[0], nd->crop[1],
                  nd->crop[2], nd->crop[3]);
}

/* (the node's kind is not set yet: t names it) */
static lf_status edge_read(const lf_layer_type *t, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                           lf_err *e) {
    const char *key = t->op ? "cropping" : "padding";
    lf_status st = lf_arch_arity(n_in, 1, t->type, where, e);
    if (st != LF_OK) return st;
    const lf_json *a = lf_json_get(L, key);
    int ok = lf_json_is(a, LF_JSON_ARRAY) && lf_json_len(a) == 2;
    for (size_t k = 0; ok && k < 2; k++) {
        const lf_json *pair = lf_json_at(a, k);
        ok = lf_json_is(pair, LF_JSON_ARRAY) && lf_json_len(pair) == 2;
        for (size_t j = 0; ok && j < 2; j++)
            ok = lf_json_size(lf_json_at(pair, j), &nd->crop[2 * k + j]) && nd->crop[2 * k + j] <= LF_ARCH_MAX_DIM;
    }
    if (!ok)
        return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be [[top, bottom], [left, right]], integers in 0..%zu", where,
                       key, LF_ARCH_MAX_DIM);
    return LF_OK;
}

static lf_status pad_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    (void)m;
    return edge_read(&lf_type_zero_padding2d, L, n_in, nd, where, e);
}

static lf_status crop_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                           lf_err *e) {
    (void)m;
    return edge_read(&lf_type_cropping2d, L, n_in, nd, where, e);
}

static const char *const pad_keys[] = {"name", "type", "inbound", "padding", NULL};
static const char *const crop_keys[] = {"name", "type", "inbound", "cropping", NULL};

const lf_layer_type lf_type_zero_padding2d = {
    .type = "ZeroPadding2D",
    .prefix = "zero_padding2d",
    .keys = pad_keys,
    .op = 0,
    .infer = edge_infer,
    .forward = edge_forward,
    .backward = edge_backward,
    .write_json = edge_json,
    .read_json = pad_read,
};

const lf_layer_type lf_type_cropping2d = {
    .type = "Cropping2D",
    .prefix = "cropping2d",
    .keys = crop_keys,
    .op = 1,
    .infer = edge_infer,
    .forward = edge_forward,
    .backward = edge_backward,
    .write_json = edge_json,
    .read_json = crop_read,
};

static int edge_add(lf_model *m, const lf_layer_type *t, lf_kind kind, int x, size_t top, size_t bottom,
                    size_t left, size_t right, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.crop[0] = top, nd.crop[1] = bottom, nd.crop[2] = left, nd.crop[3] = right;
    return lf_node_add(m, t, kind, nd, &x, 1, name);
}

int lf_zero_padding2d(lf_model *m, int x, size_t top, size_t bottom, size_t left, size_t right, const char *name) {
    return edge_add(m, &lf_type_zero_padding2d, LF_K_ZERO_PADDING2D, x, top, bottom, left, right, name);
}

int lf_cropping2d(lf_model *m, int x, size_t top, size_t bottom, size_t left, size_t right, const char *name) {
    return edge_add(m, &lf_type_cropping2d, LF_K_CROPPING2D, x, top, bottom, left, right, name);
}

/* ------------------------------- UpSampling1D, ZeroPadding1D, Cropping1D */

/* UpSampling1D: nd->kernel = (size, 1), nearest; ZeroPadding1D / Cropping1D:
 * nd->crop = (a, b, 0, 0).  The records' op as the 2-D ones'. */
static int seq_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 2);
    if (!x) return 0;
    size_t T = x->shape[0], a = nd->crop[0], b = nd->crop[1];
    if (t == &lf_type_upsampling1d) {
        if (nd->kernel[0] == 0 || nd->kernel[0] > 1024)
            return lf_build_fail(m, LF_ERR_ARG,
                                 "UpSampling1D: Argument `size` should be a positive integer (at most 1024). "
                                 "Received: size=%zu",
                                 nd->kernel[0]);
        T *= nd->kernel[0];
    } else if (a > LF_ARCH_MAX_DIM || b > LF_ARCH_MAX_DIM) {
        return lf_build_fail(m, LF_ERR_ARG, "%s: %s must be in 0..%zu, got (%zu, %zu)", t->type,
                             t->op ? "cropping" : "padding", LF_ARCH_MAX_DIM, a, b);
    } else if (t->op) {
        if (a + b >= T) {
            char s[96];
            lf_shape_str(x, s, sizeof s);
            /* Keras' message (cropping1d.py compute_output_shape) */
            return lf_build_fail(m, LF_ERR_SHAPE,
                                 "Cropping1D: `cropping` parameter of `Cropping1D` layer must be smaller than the "
                                 "input length. Received: input_shape=%s, cropping=(%zu, %zu)",
                                 s, a, b);
        }
        T -= a + b;
    } else {
        T += a + b;
    }
    size_t out[2] = {T, x->shape[1]};
    return lf_shape_set(m, t->type, nd, 2, out);
}

static void seq_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    const lf_layer_type *t = lf_type_of(nd);
    if (t == &lf_type_upsampling1d) lf_buf_printf(b, ",\"size\":%zu", nd->kernel[0]);
    else lf_buf_printf(b, ",\"%s\":[%zu,%zu]", t->op ? "cropping" : "padding", nd->crop[0], nd->crop[1]);
}

static lf_status seq_read(const lf_layer_type *t, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    lf_status st = lf_arch_arity(n_in, 1, t->type, where, e);
    if (st != LF_OK) return st;
    if (t == &lf_type_upsampling1d) {
        nd->kernel[1] = 1, nd->mode = LF_INTERP_NEAREST;
        if (!lf_json_size(lf_json_get(L, "size"), &nd->kernel[0]) || nd->kernel[0] == 0 || nd->kernel[0] > 1024)
            return lf_fail(e, LF_ERR_FORMAT, "%s: 'size' must be an integer in 1..1024", where);
        return LF_OK;
    }
    const char *key = t->op ? "cropping" : "padding";
    const lf_json *a = lf_json_get(L, key);
    int ok = lf_json_is(a, LF_JSON_ARRAY) && lf_json_len(a) == 2;
    for (size_t j = 0; ok && j < 2; j++)
        ok = lf_json_size(lf_json_at(a, j), &nd->crop[j]) && nd->crop[j] <= LF_ARCH_MAX_DIM;
    if (!ok)
        return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be [%s, %s], integers in 0..%zu", where, key,
                       t->op ? "left_crop" : "left_pad", t->op ? "right_crop" : "right_pad", LF_ARCH_MAX_DIM);
    return LF_OK;
}

static lf_status up1_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    (void)m;
    return seq_read(&lf_type_upsampling1d, L, n_in, nd, where, e);
}

static lf_status pad1_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                           lf_err *e) {
    (void)m;
    return seq_read(&lf_type_zero_padding1d, L, n_in, nd, where, e);
}

static lf_status crop1_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                            lf_err *e) {
    (void)m;
    return seq_read(&lf_type_cropping1d, L, n_in, nd, where, e);
}

static const char *const up1_keys[] = {"name", "type", "inbound", "size", NULL};

const lf_layer_type lf_type_upsampling1d = {
    .type = "UpSampling1D",
    .prefix = "up_sampling1d",
    .keys = up1_keys,
    .infer = seq_infer,
    .forward = up_forward,
    .backward = up_backward,
    .write_json = seq_json,
    .read_json = up1_read,
};

const lf_layer_type lf_type_zero_padding1d = {
    .type = "ZeroPadding1D",
    .prefix = "zero_padding1d",
    .keys = pad_keys,
    .op = 0,
    .infer = seq_infer,
    .forward = edge_forward,
    .backward = edge_backward,
    .write_json = seq_json,
    .read_json = pad1_read,
};

const lf_layer_type lf_type_cropping1d = {
    .type = "Cropping1D",
    .prefix = "cropping1d",
    .keys = crop_keys,
    .op = 1,
    .infer = seq_infer,
    .forward = edge_forward,
    .backward = edge_backward,
    .write_json = seq_json,
    .read_json = crop1_read,
};

int lf_upsampling1d(lf_model *m, int x, size_t size, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.kernel[0] = size, nd.kernel[1] = 1;
    nd.mode = LF_INTERP_NEAREST;
    return lf_node_add(m, &lf_type_upsampling1d, LF_K_UPSAMPLING1D, nd, &x, 1, name);
}

int lf_zero_padding1d(lf_model *m, int x, size_t left, size_t right, const char *name) {
    return edge_add(m, &lf_type_zero_padding1d, LF_K_ZERO_PADDING1D, x, left, right, 0, 0, name);
}

int lf_cropping1d(lf_model *m, int x, size_t left, size_t right, const char *name) {
    return edge_add(m, &lf_type_cropping1d, LF_K_CROPPING1D, x, left, right, 0, 0, name);
}
