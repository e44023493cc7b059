/*
 * resizing.c — Keras 3's Resizing and CenterCrop image layers on
 * channels-last images x (B, H, W, C), no weights: both take a window of
 * the image (the whole image, or a centred crop) and resize it to
 * (height, width), so one pair of passes serves both.
 *
 * Resizing(height, width, interpolation, crop_to_aspect_ratio)
 * (keras/src/layers/preprocessing/image_preprocessing/resizing.py, whose
 * ops.image.resize is tf.image.resize / jax.image.resize with half-pixel
 * centres and antialias=False).  Per axis, an input of n pixels resized to
 * m, scale = n / m in float (TF's CalculateResizeScale, PyTorch's
 * area_pixel_compute_scale), output pixel o reads
 *  - "bilinear": the input at s = (o + 0.5) scale - 0.5, clamped below at 0
 *    (TF's HalfPixelScaler; TF's clamp of floor and ceil to the image gives
 *    the same value): (1 - l) of pixel i = floor(s) and l = s - i of pixel
 *    min(i + 1, n - 1); PyTorch's F.interpolate(mode="bilinear",
 *    align_corners=False, antialias=False), for up- and down-scaling;
 *  - "nearest": pixel min(floor((o + 0.5) scale), n - 1) (TF's
 *    HalfPixelScalerForNN then floor, tensorflow/core/kernels/image/
 *    resize_nearest_neighbor_op.cc; jax.image.resize's nearest; PyTorch's
 *    mode="nearest-exact", which Keras' torch backend maps "nearest" to,
 *    keras/src/backend/torch/image.py RESIZE_INTERPOLATIONS).
 * crop_to_aspect_ratio first keeps the largest centred window of the
 * target's aspect ratio (keras/src/backend/tensorflow/image.py resize):
 * ch = max(min(H, int(W height / width)), 1), cw = max(min(W, int(H width /
 * height)), 1), from row int((H - ch) / 2) and column int((W - cw) / 2).
 *
 * CenterCrop(height, width) (center_crop.py): when H >= height and W >=
 * width, x[:, (H - height) // 2 : + height, (W - width) // 2 : + width, :]
 * (Keras' integer division: the odd pixel goes after); otherwise Keras'
 * smart_resize (keras/src/utils/image_utils.py): the same aspect-ratio
 * crop as above, then a bilinear resize.
 *
 * pad_to_aspect_ratio (lf_resizing_pad) instead pads the image with
 * fill_value to the target's aspect ratio before the resize (Keras' numpy
 * and TF backends): ph = max(H, int(W height / width)), pw = max(W, int(H
 * width / height)); hs = int((ph - H) / 2) rows of fill_value above and
 * below the image when hs > 0, else ws = int((pw - W) / 2) columns left
 * and right (an odd difference loses a row or column, as Keras').
 *
 * The window is set once, in infer: nd->crop = (top, rows, left, columns,
 * pad rows, pad columns); nd->kernel = (height, width); nd->mode =
 * lf_interpolation; nd->keep_aspect the aspect rule (ASPECT_*).  Backward
 * adds dy back onto dx through the same weights (TF's ResizeBilinearGrad
 * and ResizeNearestNeighborGrad): pixels outside the window get none, the
 * padding's share is dropped.  The other interpolations and antialias are
 * not supported (the Python layer refuses them).
 */
#include "layers/layer.h"
#include "layers/layers.h"

#include <math.h>
#include <string.h>

static const char *const interp_names[] = {"bilinear", "nearest"}; /* by lf_interpolation */

/* Resizing's nd->keep_aspect: stretch, crop_to_aspect_ratio, pad_to_aspect_ratio */
enum { ASPECT_STRETCH, ASPECT_CROP, ASPECT_PAD };

void lf_aspect_window(size_t H, size_t W, size_t th, size_t tw, size_t *win) {
    size_t ch = (size_t)((double)(W * th) / (double)tw), cw = (size_t)((double)(H * tw) / (double)th);
    ch = ch < H ? ch : H, cw = cw < W ? cw : W;
    ch = ch ? ch : 1, cw = cw ? cw : 1;
    win[0] = (H - ch) / 2, win[1] = ch, win[2] = (W - cw) / 2, win[3] = cw;
}

static int resize_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 3);
    if (!x) return 0;
    size_t th = nd->kernel[0], tw = nd->kernel[1], H = x->shape[0], W = x->shape[1];
    if (th == 0 || tw == 0 || th > LF_ARCH_MAX_DIM || tw > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG, "%s: height and width must be in 1..%zu, got (%zu, %zu)", t->type,
                             LF_ARCH_MAX_DIM, th, tw);
    if ((unsigned)nd->mode > LF_INTERP_NEAREST)
        return lf_build_fail(m, LF_ERR_ARG, "%s: unknown interpolation %d", t->type, nd->mode);
    if (!isfinite(nd->tr.fill_value))
        return lf_build_fail(m, LF_ERR_ARG, "%s: fill_value must be finite", t->type);
    size_t *win = nd->crop;
    win[0] = 0, win[1] = H, win[2] = 0, win[3] = W, win[4] = win[5] = 0;
    if (t->op) { /* CenterCrop */
        if (H >= th && W >= tw) win[0] = (H - th) / 2, win[1] = th, win[2] = (W - tw) / 2, win[3] = tw;
        else lf_aspect_window(H, W, th, tw, win);
    } else if (nd->keep_aspect == ASPECT_CROP) {
        lf_aspect_window(H, W, th, tw, win);
    } else if (nd->keep_aspect == ASPECT_PAD) {
        size_t ph = (size_t)((double)(W * th) / (double)tw), pw = (size_t)((double)(H * tw) / (double)th);
        size_t hs = ph > H ? (ph - H) / 2 : 0, ws = pw > W ? (pw - W) / 2 : 0;
        if (hs > 0) win[1] = H + 2 * hs, win[4] = hs;
        else if (ws > 0) win[3] = W + 2 * ws, win[5] = ws;
    }
    size_t out[3] = {th, tw, x->shape[2]};
    return lf_shape_set(m, t->type, nd, 3, out);
}

/* One axis: output o of an axis of n pixels resized to m reads (1 - *w) of
 * pixel *i0 and *w of pixel *i1 (nearest: *i0 alone, *w 0) */
static void axis_at(size_t o, size_t n, size_t m, int nearest, size_t *i0, size_t *i1, float *w) {
    float scale = (float)n / (float)m;
    if (nearest) {
        size_t i = (size_t)(((float)o + 0.5f) * scale);
        *i0 = *i1 = i < n ? i : n - 1, *w = 0;
        return;
    }
    float s = scale * ((float)o + 0.5f) - 0.5f;
    if (s < 0) s = 0;
    size_t i = (size_t)s;
    if (i > n - 1) i = n - 1;
    *i0 = i, *i1 = i + 1 < n ? i + 1 : n - 1;
    *w = s - (float)i;
}

/* The geometry of node nd over its input xn: the window nd->crop of the
 * input (H, W, C), resized to nd's (Ho, Wo) */
static lf_resize_geom geom_of(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd, *xn = &c->m->nodes[nd->in[0]];
    lf_resize_geom g = {.W = xn->shape[1], .C = xn->shape[2], .top = nd->crop[0], .rows = nd->crop[1],
                        .left = nd->crop[2], .cols = nd->crop[3], .Ho = nd->shape[0], .Wo = nd->shape[1],
                        .in = xn->dim, .out = nd->dim, .nearest = nd->mode == LF_INTERP_NEAREST,
                        .H = xn->shape[0], .pad_top = nd->crop[4], .pad_left = nd->crop[5],
                        .fill = nd->tr.fill_value};
    return g;
}

/* Pixel (py, px) of the padded window: a pointer to its C values in image
 * x, or NULL in the padding */
static const float *padded_at(const float *x, const lf_resize_geom *g, size_t py, size_t px) {
    if (py < g->pad_top || py - g->pad_top >= g->H || px < g->pad_left || px - g->pad_left >= g->W) return NULL;
    return x + ((py - g->pad_top) * g->W + px - g->pad_left) * g->C;
}

// x: (B, H, W, C)  y: (B, Ho, Wo, C): the window (top, rows, left, cols)
// of x padded by pad_top rows and pad_left columns of fill on each side
static void resize_pad_forward(float *restrict ys, const float *restrict xs, size_t B, const lf_resize_geom *g) {
    size_t C = g->C;
    for (size_t r = 0; r < B; r++) {
        const float *x = xs + r * g->in;
        float *y = ys + r * g->out;
        for (size_t oy = 0; oy < g->Ho; oy++) {
            size_t y0, y1;
            float ly;
            axis_at(oy, g->rows, g->Ho, g->nearest, &y0, &y1, &ly);
            for (size_t ox = 0; ox < g->Wo; ox++) {
                float *yp = y + (oy * g->Wo + ox) * C;
                size_t x0, x1;
                float lx;
                axis_at(ox, g->cols, g->Wo, g->nearest, &x0, &x1, &lx);
                const float *a = padded_at(x, g, y0, x0), *b = padded_at(x, g, y0, x1);
                const float *p = padded_at(x, g, y1, x0), *q = padded_at(x, g, y1, x1);
                for (size_t ch = 0; ch < C; ch++) {
                    float va = a ? a[ch] : g->fill, vb = b ? b[ch] : g->fill;
                    float vp = p ? p[ch] : g->fill, vq = q ? q[ch] : g->fill;
                    yp[ch] = g->nearest ? va : (1 - ly) * ((1 - lx) * va + lx * vb) + ly * ((1 - lx) * vp + lx * vq);
                }
            }
        }
    }
}

// dy: (B, Ho, Wo, C)  dx: (B, H, W, C), added to (the padding's share dropped)
static void resize_pad_backward(float *restrict dxs, const float *restrict dys, size_t B, const lf_resize_geom *g) {
    size_t C = g->C;
    for (size_t r = 0; r < B; r++) {
        float *dx = dxs + r * g->in;
        const float *dy = dys + r * g->out;
        for (size_t oy = 0; oy < g->Ho; oy++) {
            size_t y0, y1;
            float ly;
            axis_at(oy, g->rows, g->Ho, g->nearest, &y0, &y1, &ly);
            for (size_t ox = 0; ox < g->Wo; ox++) {
                const float *gp = dy + (oy * g->Wo + ox) * C;
                size_t x0, x1;
                float lx;
                axis_at(ox, g->cols, g->Wo, g->nearest, &x0, &x1, &lx);
                float *a = (float *)padded_at(dx, g, y0, x0), *b = (float *)padded_at(dx, g, y0, x1);
                float *p = (float *)padded_at(dx, g, y1, x0), *q = (float *)padded_at(dx, g, y1, x1);
                for (size_t ch = 0; ch < C; ch++) {
                    if (g->nearest) {
                        if (a) a[ch] += gp[ch];
                        continue;
                    }
                    float g0 = (1 - ly) * gp[ch], g1 = ly * gp[ch];
                    if (a) a[ch] += (1 - lx) * g0;
                    if (b) b[ch] += lx * g0;
                    if (p) p[ch] += (1 - lx) * g1;
                    if (q) q[ch] += lx * g1;
                }
            }
        }
    }
}

// x: (B, H, W, C)  y: (B, Ho, Wo, C)
void lf_resize_forward(float *restrict ys, const float *restrict xs, size_t B, const lf_resize_geom *geom) {
    lf_resize_geom g = *geom;
    size_t C = g.C;
    for (size_t r = 0; r < B; r++) {
        const float *x = xs + r * g.in;
        float *y = ys + r * g.out;
        for (size_t oy = 0; oy < g.Ho; oy++) {
            size_t y0, y1;
            float ly;
            axis_at(oy, g.rows, g.Ho, g.nearest, &y0, &y1, &ly);
            const float *row0 = x + ((g.top + y0) * g.W + g.left) * C, *row1 = x + ((g.top + y1) * g.W + g.left) * C;
            for (size_t ox = 0; ox < g.Wo; ox++) {
                float *yp = y + (oy * g.Wo + ox) * C;
                size_t x0, x1;
                float lx;
                axis_at(ox, g.cols, g.Wo, g.nearest, &x0, &x1, &lx);
                if (g.nearest) {
                    memcpy(yp, row0 + x0 * C, C * sizeof *yp);
                    continue;
                }
                const float *a = row0 + x0 * C, *b = row0 + x1 * C, *p = row1 + x0 * C, *q = row1 + x1 * C;
                for (size_t ch = 0; ch < C; ch++)
                    yp[ch] = (1 - ly) * ((1 - lx) * a[ch] + lx * b[ch]) + ly * ((1 - lx) * p[ch] + lx * q[ch]);
            }
        }
    }
}

// dy: (B, Ho, Wo, C)  dx: (B, H, W, C), added to
void lf_resize_backward(float *restrict dxs, const float *restrict dys, size_t B, const lf_resize_geom *geom) {
    lf_resize_geom g = *geom;
    size_t C = g.C;
    for (size_t r = 0; r < B; r++) {
        float *dx = dxs + r * g.in;
        const float *dy = dys + r * g.out;
        for (size_t oy = 0; oy < g.Ho; oy++) {
            size_t y0, y1;
            float ly;
            axis_at(oy, g.rows, g.Ho, g.nearest, &y0, &y1, &ly);
            float *row0 = dx + ((g.top + y0) * g.W + g.left) * C, *row1 = dx + ((g.top + y1) * g.W + g.left) * C;
            for (size_t ox = 0; ox < g.Wo; ox++) {
                const float *gp = dy + (oy * g.Wo + ox) * C;
                size_t x0, x1;
                float lx;
                axis_at(ox, g.cols, g.Wo, g.nearest, &x0, &x1, &lx);
                if (g.nearest) {
                    float *d = row0 + x0 * C;
                    for (size_t ch = 0; ch < C; ch++) d[ch] += gp[ch];
                    continue;
                }
                float *a = row0 + x0 * C, *b = row0 + x1 * C, *p = row1 + x0 * C, *q = row1 + x1 * C;
                for (size_t ch = 0; ch < C; ch++) {
                    float g0 = (1 - ly) * gp[ch], g1 = ly * gp[ch];
                    a[ch] += (1 - lx) * g0, b[ch] += lx * g0;
                    p[ch] += (1 - lx) * g1, q[ch] += lx * g1;
                }
            }
        }
    }
}

static void resize_forward(const lf_layer_ctx *c) {
    lf_resize_geom g = geom_of(c);
    if (g.pad_top || g.pad_left) resize_pad_forward(c->y, c->xs[0], c->B, &g);
    else lf_resize_forward(c->y, c->xs[0], c->B, &g);
}

static void resize_backward(const lf_layer_ctx *c) {
    if (!c->dxs[0]) return;
    lf_resize_geom g = geom_of(c);
    if (g.pad_top || g.pad_left) resize_pad_backward(c->dxs[0], c->dy, c->B, &g);
    else lf_resize_backward(c->dxs[0], c->dy, c->B, &g);
}

/* "height", "width" always; Resizing's "interpolation" and
 * "crop_to_aspect_ratio" only when not Keras' defaults */
static void resize_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"height\":%zu,\"width\":%zu", nd->kernel[0], nd->kernel[1]);
    if (lf_type_of(nd)->op) return;
    if (nd->mode != LF_INTERP_BILINEAR) lf_buf_printf(b, ",\"interpolation\":\"%s\"", interp_names[nd->mode]);
    if (nd->keep_aspect == ASPECT_CROP) lf_buf_printf(b, ",\"crop_to_aspect_ratio\":true");
    if (nd->keep_aspect == ASPECT_PAD) {
        lf_buf_printf(b, ",\"pad_to_aspect_ratio\":true");
        if (nd->tr.fill_value != 0.0f) lf_buf_puts(b, ",\"fill_value\":"), lf_buf_json_float(b, nd->tr.fill_value);
    }
}

lf_status lf_arch_height_width(const lf_json *L, size_t n_in, lf_node *nd, const char *type, const char *where,
                               lf_err *e) {
    lf_status st = lf_arch_arity(n_in, 1, type, where, e);
    if (st != LF_OK) return st;
    const char *keys[] = {"height", "width"};
    for (int k = 0; k < 2; k++)
        if (!lf_json_size(lf_json_get(L, keys[k]), &nd->kernel[k]) || nd->kernel[k] == 0 ||
            nd->kernel[k] > LF_ARCH_MAX_DIM)
            return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be an integer in 1..%zu", where, keys[k],
                           LF_ARCH_MAX_DIM);
    return LF_OK;
}

static lf_status resize_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                             lf_err *e) {
    (void)m;
    lf_status st = lf_arch_height_width(L, n_in, nd, "Resizing", where, e);
    if (st != LF_OK) return st;
    nd->mode = LF_INTERP_BILINEAR;
    if (lf_json_get(L, "interpolation")) {
        const char *s = lf_arch_str(L, "interpolation");
        nd->mode = -1;
        for (int i = 0; i < 2; i++)
            if (s && strcmp(s, interp_names[i]) == 0) nd->mode = i;
        if (nd->mode < 0)
            return lf_fail(e, LF_ERR_FORMAT, "%s: 'interpolation' must be \"bilinear\" or \"nearest\"", where);
    }
    int crop = 0, pad = 0;
    if ((lf_json_get(L, "crop_to_aspect_ratio") && (st = lf_arch_bool(L, "crop_to_aspect_ratio", &crop, where, e))) ||
        (lf_json_get(L, "pad_to_aspect_ratio") && (st = lf_arch_bool(L, "pad_to_aspect_ratio", &pad, where, e))))
        return st;
    if (crop && pad)
        return lf_fail(e, LF_ERR_FORMAT, "%s: Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be "
                       "`True`.", where);
    nd->keep_aspect = crop ? ASPECT_CROP : pad ? ASPECT_PAD : ASPECT_STRETCH;
    nd->tr.fill_value = 0;
    if (lf_json_get(L, "fill_value")) {
        if (!pad) return lf_fail(e, LF_ERR_FORMAT, "%s: 'fill_value' without pad_to_aspect_ratio", where);
        if ((st = lf_arch_float_in(L, "fill_value", -INFINITY, INFINITY, 0, &nd->tr.fill_value, where, e)))
            return st;
    }
    return LF_OK;
}

static lf_status crop_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                           lf_err *e) {
    (void)m;
    nd->mode = LF_INTERP_BILINEAR;
    return lf_arch_height_width(L, n_in, nd, "CenterCrop", where, e);
}

static const char *const resize_keys[] = {"name",         "type", "inbound", "height", "width", "interpolation",
                                          "crop_to_aspect_ratio", "pad_to_aspect_ratio", "fill_value", NULL};
static const char *const crop_keys[] = {"name", "type", "inbound", "height", "width", NULL};

const lf_layer_type lf_type_resizing = {
    .type = "Resizing",
    .prefix = "resizing",
    .keys = resize_keys,
    .op = 0,
    .infer = resize_infer,
    .forward = resize_forward,
    .backward = resize_backward,
    .write_json = resize_json,
    .read_json = resize_read,
};

const lf_layer_type lf_type_center_crop = {
    .type = "CenterCrop",
    .prefix = "center_crop",
    .keys = crop_keys,
    .op = 1,
    .infer = resize_infer,
    .forward = resize_forward,
    .backward = resize_backward,
    .write_json = resize_json,
    .read_json = crop_read,
};

int lf_resizing(lf_model *m, int x, size_t height, size_t width, lf_interpolation interpolation,
                int crop_to_aspect_ratio, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.kernel[0] = height, nd.kernel[1] = width;
    nd.mode = (int)interpolation;
    nd.keep_aspect = crop_to_aspect_ratio != 0 ? ASPECT_CROP : ASPECT_STRETCH;
    return lf_node_add(m, &lf_type_resizing, LF_K_RESIZING, nd, &x, 1, name);
}

int lf_resizing_pad(lf_model *m, int x, size_t height, size_t width, lf_interpolation interpolation,
                    float fill_value, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.kernel[0] = height, nd.kernel[1] = width;
    nd.mode = (int)interpolation;
    nd.keep_aspect = ASPECT_PAD;
    nd.tr.fill_value = fill_value;
    return lf_node_add(m, &lf_type_resizing, LF_K_RESIZING, nd, &x, 1, name);
}

int lf_center_crop(lf_model *m, int x, size_t height, size_t width, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.kernel[0] = height, nd.kernel[1] = width;
    nd.mode = LF_INTERP_BILINEAR;
    return lf_node_add(m, &lf_type_center_crop, LF_K_CENTER_CROP, nd, &x, 1, name);
}
