/*
 * augment.c — Keras' image preprocessing layers.
 *
 * Rescaling(scale, offset): y = x * scale + offset, any shape (e.g. 1/255
 * for uint8 pixels); a padding mask passes through, as in Keras 3.
 *
 * RandomFlip(mode), RandomTranslation(height_factor, width_factor),
 * RandomZoom(height_factor, width_factor), RandomRotation(factor),
 * RandomContrast and RandomBrightness(factor, value_range): train-only
 * augmentation of channels-last images (H, W, C), the identity in evaluate
 * and predict.  In a training pass each row draws from its own
 * stream (lf_draws: a pure function of the fit's seed, epoch and step, the
 * node and the row's global index in the batch, as dropout's masks), so a
 * fit stays reproducible from its seed whatever the number of MPI ranks:
 *  - RandomFlip: "horizontal" mirrors the columns with probability 1/2,
 *    "vertical" the rows, "horizontal_and_vertical" draws both;
 *  - RandomTranslation: Keras 3's affine transform with a translation:
 *    output pixel (i, j) reads the input at (i - dy, j - dx), dy = u H and
 *    dx = v W (not rounded), u and v uniform in the factors' ranges;
 *    bilinear or nearest, points outside the image by fill_mode (reflect,
 *    wrap, nearest, constant), as Keras' numpy backend computes them
 *    (np.pad, then scipy's map_coordinates: reflect repeats the edge
 *    pixel, "d c b a | a b c d").  lf_random_translation's form rounds
 *    the shift when drawn (then constant 0, nearest: whole-pixel moves).
 *  - RandomZoom: Keras 3's affine transform with a zoom about the centre:
 *    output pixel (i, j) reads the input at (zy i + (H - 1) / 2 (1 - zy),
 *    zx j + (W - 1) / 2 (1 - zx)), zy and zx 1 + uniform in the factors'
 *    ranges (zx = zy for width_factor None), taps and fill as above;
 *  - RandomRotation: the same transform with a rotation by an angle
 *    uniform in 360 times the factor's range (degrees, counter-clockwise)
 *    about the centre ((W - 1) / 2, (H - 1) / 2);
 *  - RandomContrast: y = clip((x - mean) k + mean, value_range), the mean
 *    per channel over the image, k uniform in [1 - lower, 1 + upper];
 *  - RandomBrightness: y = clip(x + d, value_range), d = uniform in
 *    [lower, upper] times the value range's width (Keras 3's rules; the
 *    identity, unclipped, in evaluate and predict).
 * aux keeps each row's draw for the backward pass, which routes the
 * gradient back through the same map.
 */
#include "layers/layer.h"
#include "testing.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------------- Rescaling */

static int rescale_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "Rescaling", in, n_in, 0);
    if (!x) return 0;
    if (!isfinite(nd->scale) || !isfinite(nd->offset))
        return lf_build_fail(m, LF_ERR_ARG, "Rescaling: scale and offset must be finite");
    return lf_shape_set(m, "Rescaling", nd, x->rank, x->shape);
}

static void rescale_forward(const lf_layer_ctx *c) {
    size_t n = c->B * c->nd->dim;
    float s = c->nd->scale, o = c->nd->offset;
    const float *x = c->xs[0];
    float *y = c->y;
#pragma omp parallel for if (n >= LF_AUG_PARALLEL) schedule(static)
    for (size_t j = 0; j < n; j++) y[j] = x[j] * s + o;
}

static void rescale_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    size_t n = c->B * c->nd->dim;
    float s = c->nd->scale;
    const float *dy = c->dy;
#pragma omp parallel for if (n >= LF_AUG_PARALLEL) schedule(static)
    for (size_t j = 0; j < n; j++) dx[j] += dy[j] * s;
}

static void rescale_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_puts(b, ",\"scale\":");
    lf_buf_json_float(b, nd->scale);
    lf_buf_puts(b, ",\"offset\":");
    lf_buf_json_float(b, nd->offset);
}

/* The number under key as a finite float: the builders take any finite
 * value, so the file may hold any. */
static lf_status rescale_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                              const char *where, lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "Rescaling", where, e);
    if (st == LF_OK) st = lf_arch_float_in(L, "scale", -INFINITY, INFINITY, 0, &nd->scale, where, e);
    if (st == LF_OK) st = lf_arch_float_in(L, "offset", -INFINITY, INFINITY, 0, &nd->offset, where, e);
    return st;
}

static const char *const rescale_keys[] = {"name", "type", "inbound", "scale", "offset", NULL};

const lf_layer_type lf_type_rescaling = {
    .type = "Rescaling",
    .prefix = "rescaling",
    .keys = rescale_keys,
    .masking = LF_MASKING_KEEP, /* Keras 3's supports_masking */
    .infer = rescale_infer,
    .forward = rescale_forward,
    .backward = rescale_backward,
    .write_json = rescale_json,
    .read_json = rescale_read,
};

int lf_rescaling(lf_model *m, int x, float scale, float offset, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.scale = scale;
    nd.offset = offset;
    return lf_node_add(m, &lf_type_rescaling, LF_K_RESCALING, nd, &x, 1, name);
}

/* ------------------------------------------------------------ RandomFlip */

static const char *const flip_names[] = {NULL, "horizontal", "vertical", "horizontal_and_vertical"};

static int flip_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 3);
    if (!x) return 0;
    if (nd->mode < LF_FLIP_HORIZONTAL || nd->mode > LF_FLIP_HORIZONTAL_AND_VERTICAL)
        return lf_build_fail(m, LF_ERR_ARG, "RandomFlip: unknown mode %d", nd->mode);
    if (!lf_shape_set(m, t->type, nd, 3, x->shape)) return 0;
    nd->aux_per_row = 2; /* the row's draw: flip rows, flip columns */
    return 1;
}

/* The row's stream of draws (lf_draws) in a training pass, else 0. */
static int row_stream(const lf_layer_ctx *c, size_t r, uint64_t *s) {
    if (!c->training || !c->draws) return 0;
    *s = lf_draw_stream(c->draws->key, c->draw_id, c->draws->row0 + r);
    return 1;
}

static void flip_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = nd->dim, H = nd->shape[0], W = nd->shape[1], C = nd->shape[2];
    for (size_t r = 0; r < c->B; r++) { /* draws 0 and 1 of the row's stream */
        float *d = c->aux + 2 * r;
        uint64_t s;
        d[0] = d[1] = 0.0f;
        if (!row_stream(c, r, &s)) continue;
        if (nd->mode & LF_FLIP_VERTICAL) d[0] = lf_draw_uniform(s, 0) < 0.5f;
        if (nd->mode & LF_FLIP_HORIZONTAL) d[1] = lf_draw_uniform(s, 1) < 0.5f;
    }
#pragma omp parallel for if (c->B * D >= LF_AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *d = c->aux + 2 * r;
        const float *x = c->xs[0] + r * D;
        float *y = c->y + r * D;
        for (size_t py = 0; py < H; py++) {
            const float *xr = x + (d[0] != 0.0f ? H - 1 - py : py) * W * C;
            float *yr = y + py * W * C;
            if (d[1] == 0.0f) {
                memcpy(yr, xr, W * C * sizeof *yr);
                continue;
            }
            for (size_t px = 0; px < W; px++) /* a loop: C is small (3), a call would cost more than the copy */
                for (size_t ch = 0; ch < C; ch++) yr[px * C + ch] = xr[(W - 1 - px) * C + ch];
        }
    }
}

static void flip_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    const lf_node *nd = c->nd;
    size_t D = nd->dim, H = nd->shape[0], W = nd->shape[1], C = nd->shape[2];
#pragma omp parallel for if (c->B * D >= LF_AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *d = c->aux + 2 * r, *dy = c->dy + r * D;
        float *dxr = dx + r * D;
        for (size_t py = 0; py < H; py++) {
            const float *g = dy + py * W * C;
            float *di = dxr + (d[0] != 0.0f ? H - 1 - py : py) * W * C;
            for (size_t px = 0; px < W; px++) {
                size_t sx = d[1] != 0.0f ? W - 1 - px : px;
                for (size_t ch = 0; ch < C; ch++) di[sx * C + ch] += g[px * C + ch];
            }
        }
    }
}

static void flip_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"mode\":\"%s\"", flip_names[nd->mode]);
}

/* The index of s among n names, or -1. */
static int name_index(const char *s, const char *const *names, int n) {
    for (int i = 0; s && i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

static lf_status flip_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                           lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "RandomFlip", where, e);
    if (st != LF_OK) return st;
    int i = name_index(lf_arch_str(L, "mode"), flip_names + 1, 3); /* flip_names[0] is no mode */
    if (i >= 0) return nd->mode = i + 1, LF_OK;
    return lf_fail(e, LF_ERR_FORMAT,
                   "%s: 'mode' must be \"horizontal\", \"vertical\" or \"horizontal_and_vertical\"", where);
}

static const char *const flip_keys[] = {"name", "type", "inbound", "mode", NULL};

const lf_layer_type lf_type_random_flip = {
    .type = "RandomFlip",
    .prefix = "random_flip",
    .keys = flip_keys,
    .draws = 1,
    .infer = flip_infer,
    .forward = flip_forward,
    .backward = flip_backward,
    .write_json = flip_json,
    .read_json = flip_read,
};

int lf_random_flip(lf_model *m, int x, lf_flip mode, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.mode = (int)mode;
    return lf_node_add(m, &lf_type_random_flip, LF_K_RANDOM_FLIP, nd, &x, 1, name);
}

/* ----------------------------------------------------- RandomTranslation */

/* Keras' names, indexed by lf_fill_mode and lf_interpolation. */
static const char *const fill_names[] = {"reflect", "wrap", "nearest", "constant"};
static const char *const interp_names[] = {"bilinear", "nearest"};

/* A factor's range [lo, hi] in [-1, 1], else a refusal naming it. */
static int range_ok(lf_model *m, const char *factor, float lo, float hi) {
    if (lo >= -1.0f && lo <= hi && hi <= 1.0f) return 1;
    return lf_build_fail(m, LF_ERR_ARG, "RandomTranslation: %s must be a range [lower, upper] in [-1, 1], got [%g, %g]",
                         factor, (double)lo, (double)hi);
}

/* The resampling layers' fill_mode, interpolation and fill_value (a
 * build error naming the layer when one is out of range). */
static int fill_ok(lf_model *m, const char *type, const lf_translation_options *o) {
    if ((unsigned)o->fill_mode > LF_FILL_CONSTANT)
        return lf_build_fail(m, LF_ERR_ARG, "%s: unknown fill_mode %d", type, (int)o->fill_mode);
    if ((unsigned)o->interpolation > LF_INTERP_NEAREST)
        return lf_build_fail(m, LF_ERR_ARG, "%s: unknown interpolation %d", type, (int)o->interpolation);
    if (!isfinite(o->fill_value)) return lf_build_fail(m, LF_ERR_ARG, "%s: fill_value must be finite", type);
    return 1;
}

static int translate_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 3);
    if (!x) return 0;
    const lf_translation_options *o = &nd->tr;
    if (nd->whole_pixels) {
        if (!(o->height_upper >= 0.0f && o->height_upper <= 1.0f && o->width_upper >= 0.0f &&
              o->width_upper <= 1.0f))
            return lf_build_fail(m, LF_ERR_ARG,
                                 "RandomTranslation: height_factor and width_factor must be in [0, 1], got %g and %g",
                                 (double)o->height_upper, (double)o->width_upper);
    } else {
        if (!range_ok(m, "height_factor", o->height_lower, o->height_upper) ||
            !range_ok(m, "width_factor", o->width_lower, o->width_upper))
            return 0;
        if (!fill_ok(m, t->type, o)) return 0;
    }
    if (!lf_shape_set(m, t->type, nd, 3, x->shape)) return 0;
    nd->aux_per_row = 2; /* the row's draw: the shift (dy, dx) in pixels */
    return 1;
}

/* Where index i (any integer) of an axis of n pixels reads under the fill
 * mode: an index in [0, n), or -1 for constant's fill value.  These are
 * np.pad's modes as Keras' numpy backend maps them: reflect is "symmetric"
 * (the edge pixel repeated, period 2n), wrap period n, nearest "edge". */
static long extend(long i, long n, lf_fill_mode mode) {
    if (i >= 0 && i < n) return i;
    switch (mode) {
    case LF_FILL_CONSTANT: return -1;
    case LF_FILL_NEAREST: return i < 0 ? 0 : n - 1;
    case LF_FILL_WRAP: {
        long k = i % n;
        return k < 0 ? k + n : k;
    }
    case LF_FILL_REFLECT:
    default: {
        long p = 2 * n, k = i % p;
        if (k < 0) k += p;
        return k < n ? k : p - 1 - k;
    }
    }
}

/* One axis of the map for a shift s (pixels): output index o reads the
 * input at o - s.  Bilinear: taps o + k and o + k + 1 weighted 1 - t and t,
 * k = floor(-s), t = -s - k; nearest: the one tap o + k, k = floor(0.5 - s)
 * (scipy's order 0: floor(o - s + 0.5)).  o - s is exact in double (s is a
 * float), so k and t are the same for every o, as Keras' per-pixel ones. */
typedef struct axis_map {
    long k;
    double t;
    int taps;
} axis_map;

static axis_map axis_of(float s, lf_interpolation interp) {
    axis_map a;
    if (interp == LF_INTERP_NEAREST) {
        a.k = (long)floor(0.5 - (double)s), a.t = 0.0, a.taps = 1;
    } else {
        double f = floor(-(double)s);
        a.k = (long)f, a.t = -(double)s - f, a.taps = 2;
    }
    return a;
}

/* The taps of output index o along an axis of n pixels: their indices
 * (-1: the fill value) and weights; returns how many. */
static int taps_of(const axis_map *a, long o, long n, lf_fill_mode mode, long *idx, double *w) {
    idx[0] = extend(o + a->k, n, mode), w[0] = 1.0 - a->t;
    if (a->taps == 1) return 1;
    idx[1] = extend(o + a->k + 1, n, mode), w[1] = a->t;
    return 2;
}

/* One image (H, W, C) moved by d = (dy, dx) pixels into y: the map of
 * translate_forward, a pure function (testing.h). */
void lf__translate_image(const lf_translation_options *o, size_t H, size_t W, size_t C, const float *d,
                         const float *x, float *y) {
    if (d[0] == 0.0f && d[1] == 0.0f) { /* no shift (evaluate, predict): the identity, as Keras */
        memcpy(y, x, H * W * C * sizeof *y);
        return;
    }
    axis_map ay = axis_of(d[0], o->interpolation), ax = axis_of(d[1], o->interpolation);
    float fill = o->fill_value;
    if (ay.taps == 1 && ax.taps == 1 && o->fill_mode == LF_FILL_CONSTANT) {
        /* nearest with a constant fill: each row a shifted run of an input
         * row, the fill around it (the map below, a row at a time) */
        long kx = ax.k, w = (long)W; /* columns [p0, p1) read column px + kx, p0 <= p1 */
        size_t p0 = kx < 0 ? (size_t)(kx < -w ? w : -kx) : 0, p1 = kx > 0 ? (size_t)(kx > w ? 0 : w - kx) : W;
        for (size_t py = 0; py < H; py++) {
            long iy = (long)py + ay.k;
            float *yr = y + py * W * C;
            if (iy < 0 || iy >= (long)H) {
                for (size_t i = 0; i < W * C; i++) yr[i] = fill;
                continue;
            }
            for (size_t i = 0; i < p0 * C; i++) yr[i] = fill;
            if (p1 > p0)
                memcpy(yr + p0 * C, x + ((size_t)iy * W + (size_t)((long)p0 + kx)) * C, (p1 - p0) * C * sizeof *yr);
            for (size_t i = p1 * C; i < W * C; i++) yr[i] = fill;
        }
        return;
    }
    for (size_t py = 0; py < H; py++) {
        long iy[2], ix[2];
        double wy[2], wx[2];
        int ny = taps_of(&ay, (long)py, (long)H, o->fill_mode, iy, wy);
        for (size_t px = 0; px < W; px++) {
            int nx = taps_of(&ax, (long)px, (long)W, o->fill_mode, ix, wx);
            float *yp = y + (py * W + px) * C;
            if (ny == 1 && nx == 1) { /* nearest: a copy */
                if (iy[0] < 0 || ix[0] < 0)
                    for (size_t ch = 0; ch < C; ch++) yp[ch] = fill;
                else /* a loop, as in flip_forward */
                    for (size_t ch = 0; ch < C; ch++) yp[ch] = x[((size_t)iy[0] * W + (size_t)ix[0]) * C + ch];
                continue;
            }
            for (size_t ch = 0; ch < C; ch++) { /* in double, as scipy, rounded once */
                double acc = 0.0;
                for (int a = 0; a < ny; a++)
                    for (int b = 0; b < nx; b++) {
                        double v = iy[a] < 0 || ix[b] < 0 ? (double)fill
                                                          : (double)x[((size_t)iy[a] * W + (size_t)ix[b]) * C + ch];
                        acc += wy[a] * wx[b] * v;
                    }
                yp[ch] = (float)acc;
            }
        }
    }
}

/* The transpose of lf__translate_image's map, added to dx: each output
 * pixel's gradient g goes back to its taps, weighted as they were (the fill
 * value takes none). */
void lf__translate_image_grad(const lf_translation_options *o, size_t H, size_t W, size_t C, const float *d,
                              const float *g, float *dx) {
    if (d[0] == 0.0f && d[1] == 0.0f) {
        for (size_t j = 0; j < H * W * C; j++) dx[j] += g[j];
        return;
    }
    axis_map ay = axis_of(d[0], o->interpolation), ax = axis_of(d[1], o->interpolation);
    for (size_t py = 0; py < H; py++) {
        long iy[2], ix[2];
        double wy[2], wx[2];
        int ny = taps_of(&ay, (long)py, (long)H, o->fill_mode, iy, wy);
        for (size_t px = 0; px < W; px++) {
            int nx = taps_of(&ax, (long)px, (long)W, o->fill_mode, ix, wx);
            const float *gp = g + (py * W + px) * C;
            for (int a = 0; a < ny; a++)
                for (int b = 0; b < nx; b++) {
                    if (iy[a] < 0 || ix[b] < 0) continue;
                    float *di = dx + ((size_t)iy[a] * W + (size_t)ix[b]) * C;
                    if (ny == 1 && nx == 1) { /* nearest: weight 1 */
                        for (size_t ch = 0; ch < C; ch++) di[ch] += gp[ch];
                        continue;
                    }
                    double w = wy[a] * wx[b];
                    for (size_t ch = 0; ch < C; ch++) di[ch] += (float)(w * (double)gp[ch]);
                }
        }
    }
}

static void translate_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    const lf_translation_options *o = &nd->tr;
    size_t D = nd->dim, H = nd->shape[0], W = nd->shape[1], C = nd->shape[2];
    /* u = mid + (2 U - 1) half: for a range [-f, f] the bits of
     * lf_random_translation's (2 U - 1) f */
    float hm = 0.5f * (o->height_lower + o->height_upper), hh = 0.5f * (o->height_upper - o->height_lower);
    float wm = 0.5f * (o->width_lower + o->width_upper), wh = 0.5f * (o->width_upper - o->width_lower);
    for (size_t r = 0; r < c->B; r++) { /* draws 0 and 1 of the row's stream */
        float *d = c->aux + 2 * r;
        uint64_t s;
        d[0] = d[1] = 0.0f;
        if (!row_stream(c, r, &s)) continue;
        float u = hm + (2.0f * lf_draw_uniform(s, 0) - 1.0f) * hh;
        float v = wm + (2.0f * lf_draw_uniform(s, 1) - 1.0f) * wh;
        d[0] = u * (float)H, d[1] = v * (float)W;
        if (nd->whole_pixels) d[0] = floorf(d[0] + 0.5f), d[1] = floorf(d[1] + 0.5f);
    }
#pragma omp parallel for if (c->B * D >= LF_AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) lf__translate_image(o, H, W, C, c->aux + 2 * r, c->xs[0] + r * D, c->y + r * D);
}

static void translate_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    const lf_node *nd = c->nd;
    size_t D = nd->dim, H = nd->shape[0], W = nd->shape[1], C = nd->shape[2];
#pragma omp parallel for if (c->B * D >= LF_AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++)
        lf__translate_image_grad(&nd->tr, H, W, C, c->aux + 2 * r, c->dy + r * D, dx + r * D);
}

/* lf_random_translation's form is written as before (single factors,
 * constant, nearest), so that older readers still take it; the other as
 * Keras' config with each factor a [lower, upper] pair and fill_value. */
static void translate_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    const lf_translation_options *o = &nd->tr;
    if (nd->whole_pixels) {
        lf_buf_puts(b, ",\"height_factor\":");
        lf_buf_json_float(b, o->height_upper);
        lf_buf_puts(b, ",\"width_factor\":");
        lf_buf_json_float(b, o->width_upper);
        lf_buf_puts(b, ",\"fill_mode\":\"constant\",\"interpolation\":\"nearest\"");
        return;
    }
    lf_arch_write_pair(b, "height_factor", o->height_lower, o->height_upper);
    lf_arch_write_pair(b, "width_factor", o->width_lower, o->width_upper);
    lf_buf_printf(b, ",\"fill_mode\":\"%s\",\"interpolation\":\"%s\",\"fill_value\":", fill_names[o->fill_mode],
                  interp_names[o->interpolation]);
    lf_buf_json_float(b, o->fill_value);
}

/* A [lower, upper] pair under key: in (-1, 1], or [-1, 1] (zoom_range_keras). */
static lf_status read_range(const lf_json *L, const char *key, float *lo, float *hi, const char *where, lf_err *e) {
    const lf_json *a = lf_json_get(L, key);
    double v[2];
    if (!lf_json_is(a, LF_JSON_ARRAY) || lf_json_len(a) != 2 || !lf_json_num(lf_json_at(a, 0), &v[0]) ||
        !lf_json_num(lf_json_at(a, 1), &v[1]) || !(v[0] >= -1.0 && v[0] <= v[1] && v[1] <= 1.0))
        return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be a number in [0, 1] or a pair [lower, upper] in [-1, 1]",
                       where, key);
    *lo = (float)v[0], *hi = (float)v[1];
    return LF_OK;
}

/* The resampling layers' fill_mode, interpolation and fill_value (Keras'
 * names) into o. */
static lf_status read_fill(const lf_json *L, lf_translation_options *o, const char *where, lf_err *e) {
    int fm = name_index(lf_arch_str(L, "fill_mode"), fill_names, 4);
    int im = name_index(lf_arch_str(L, "interpolation"), interp_names, 2);
    if (fm < 0)
        return lf_fail(e, LF_ERR_FORMAT,
                       "%s: 'fill_mode' must be \"reflect\", \"wrap\", \"nearest\" or \"constant\"", where);
    if (im < 0) return lf_fail(e, LF_ERR_FORMAT, "%s: 'interpolation' must be \"bilinear\" or \"nearest\"", where);
    o->fill_mode = (lf_fill_mode)fm, o->interpolation = (lf_interpolation)im;
    return lf_arch_float_in(L, "fill_value", -INFINITY, INFINITY, 0, &o->fill_value, where, e);
}

static lf_status translate_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                                const char *where, lf_err *e) {
    (void)m;
    lf_translation_options *o = &nd->tr;
    lf_status st = lf_arch_arity(n_in, 1, "RandomTranslation", where, e);
    if (st != LF_OK) return st;
    const char *f = lf_arch_str(L, "fill_mode"), *i = lf_arch_str(L, "interpolation");
    if (!lf_json_is(lf_json_get(L, "height_factor"), LF_JSON_ARRAY)) { /* lf_random_translation's form */
        float h, w;
        st = lf_arch_float(L, "height_factor", 0, 1, &h, where, e);
        if (st == LF_OK) st = lf_arch_float(L, "width_factor", 0, 1, &w, where, e);
        if (st == LF_OK && (!f || strcmp(f, "constant") != 0 || !i || strcmp(i, "nearest") != 0 ||
                            lf_json_get(L, "fill_value")))
            st = lf_fail(e, LF_ERR_FORMAT,
                         "%s: single factors go with fill_mode \"constant\", interpolation \"nearest\" and no "
                         "fill_value (the factors as [lower, upper] pairs take Keras' settings)",
                         where);
        if (st != LF_OK) return st;
        *o = lf_translation_defaults(h, w);
        o->fill_mode = LF_FILL_CONSTANT, o->interpolation = LF_INTERP_NEAREST;
        nd->whole_pixels = 1;
        return LF_OK;
    }
    st = read_range(L, "height_factor", &o->height_lower, &o->height_upper, where, e);
    if (st == LF_OK) st = read_range(L, "width_factor", &o->width_lower, &o->width_upper, where, e);
    if (st != LF_OK) return st;
    return read_fill(L, o, where, e);
}

static const char *const translate_keys[] = {"name", "type", "inbound", "height_factor", "width_factor",
                                             "fill_mode", "interpolation", "fill_value", NULL};

const lf_layer_type lf_type_random_translation = {
    .type = "RandomTranslation",
    .prefix = "random_translation",
    .keys = translate_keys,
    .draws = 1,
    .infer = translate_infer,
    .forward = translate_forward,
    .backward = translate_backward,
    .write_json = translate_json,
    .read_json = translate_read,
};

lf_translation_options lf_translation_defaults(float height_factor, float width_factor) {
    lf_translation_options o = {0};
    o.height_lower = -fabsf(height_factor), o.height_upper = fabsf(height_factor);
    o.width_lower = -fabsf(width_factor), o.width_upper = fabsf(width_factor);
    o.fill_mode = LF_FILL_REFLECT, o.interpolation = LF_INTERP_BILINEAR, o.fill_value = 0.0f;
    return o;
}

int lf_random_translation_opt(lf_model *m, int x, const lf_translation_options *opt, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    if (!m || lf_build_stuck(m)) return -1;
    if (!opt) return lf_build_fail(m, LF_ERR_ARG, "RandomTranslation: no options given (opt is NULL)"), -1;
    nd.tr = *opt;
    return lf_node_add(m, &lf_type_random_translation, LF_K_RANDOM_TRANSLATION, nd, &x, 1, name);
}

int lf_random_translation(lf_model *m, int x, float height_factor, float width_factor, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    /* [-f, f] as given (a negative f fails in translate_infer, naming it) */
    nd.tr.height_lower = -height_factor, nd.tr.height_upper = height_factor;
    nd.tr.width_lower = -width_factor, nd.tr.width_upper = width_factor;
    nd.tr.fill_mode = LF_FILL_CONSTANT, nd.tr.interpolation = LF_INTERP_NEAREST, nd.tr.fill_value = 0.0f;
    nd.whole_pixels = 1;
    return lf_node_add(m, &lf_type_random_translation, LF_K_RANDOM_TRANSLATION, nd, &x, 1, name);
}

/* ------------------------------------- RandomContrast, RandomBrightness */

/* numpy's clip: min(max(v, lo), hi) (hi when lo > hi) */
static float clip_to(float v, const float *vr) { return fminf(fmaxf(v, vr[0]), vr[1]); }

/* the gradient of clip_to at v passes (1) or is 0 */
static int clip_passes(float v, const float *vr) { return v >= vr[0] && v <= vr[1]; }

/* Channel ch's mean over an image's HW pixels of C channels, summed in
 * double, rounded once. */
static float channel_mean(size_t HW, size_t C, size_t ch, const float *x) {
    double s = 0.0;
    for (size_t p = 0; p < HW; p++) s += (double)x[p * C + ch];
    return (float)(s / (double)HW);
}

/* RandomContrast's map of one image for factor k (testing.h):
 * clip((x - mean) k + mean), a channel at a time. */
void lf__contrast_image(size_t H, size_t W, size_t C, float k, const float *vr, const float *x, float *y) {
    size_t HW = H * W;
    for (size_t ch = 0; ch < C; ch++) {
        float mu = channel_mean(HW, C, ch, x);
        for (size_t p = 0; p < HW; p++) y[p * C + ch] = clip_to((x[p * C + ch] - mu) * k + mu, vr);
    }
}

/* Its transpose: with g' = g where the clip passes, 0 elsewhere, pixel i of
 * a channel gets k g'_i + (1 - k) / HW sum_j g'_j (the mean's share). */
void lf__contrast_image_grad(size_t H, size_t W, size_t C, float k, const float *vr, const float *x,
                             const float *g, float *dx) {
    size_t HW = H * W;
    for (size_t ch = 0; ch < C; ch++) {
        float mu = channel_mean(HW, C, ch, x);
        double sum = 0.0;
        for (size_t p = 0; p < HW; p++)
            if (clip_passes((x[p * C + ch] - mu) * k + mu, vr)) sum += (double)g[p * C + ch];
        float share = (float)((1.0 - (double)k) * sum / (double)HW);
        for (size_t p = 0; p < HW; p++) {
            size_t j = p * C + ch;
            dx[j] += (clip_passes((x[j] - mu) * k + mu, vr) ? k * g[j] : 0.0f) + share;
        }
    }
}

/* RandomBrightness' map of one image of D values for delta d (testing.h),
 * and its transpose. */
void lf__brightness_image(size_t D, float d, const float *vr, const float *x, float *y) {
    for (size_t j = 0; j < D; j++) y[j] = clip_to(x[j] + d, vr);
}

void lf__brightness_image_grad(size_t D, float d, const float *vr, const float *x, const float *g, float *dx) {
    for (size_t j = 0; j < D; j++)
        if (clip_passes(x[j] + d, vr)) dx[j] += g[j];
}

/* Which of the two layers a node is: its record's type. */
static int is_contrast(const lf_layer_type *t) { return t == &lf_type_random_contrast; }

static int color_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 3);
    if (!x) return 0;
    float lo = nd->factor[0], hi = nd->factor[1], bound = is_contrast(t) ? 0.0f : -1.0f;
    if (!(lo <= hi && lo <= 1.0f && hi >= bound && isfinite(lo) && isfinite(hi)))
        return lf_build_fail(m, LF_ERR_ARG, "%s: factor must be a range [lower, upper] with lower <= 1 and upper >= %g, "
                             "got [%g, %g]", t->type, (double)bound, (double)lo, (double)hi);
    const float *vr = nd->value_range;
    if (!isfinite(vr[0]) || !isfinite(vr[1]))
        return lf_build_fail(m, LF_ERR_ARG, "%s: value_range must be two finite numbers, got [%g, %g]", t->type,
                             (double)vr[0], (double)vr[1]);
    if (!is_contrast(t) && vr[0] > vr[1])
        return lf_build_fail(m, LF_ERR_ARG, "RandomBrightness: value_range must be [low, high] with low <= high "
                             "(Keras sorts it), got [%g, %g]", (double)vr[0], (double)vr[1]);
    if (!lf_shape_set(m, t->type, nd, 3, x->shape)) return 0;
    nd->aux_per_row = 2; /* the row's draw: applied (1) or the identity (0), and k or d */
    return 1;
}

static void color_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = nd->dim, H = nd->shape[0], W = nd->shape[1], C = nd->shape[2];
    int contrast = is_contrast(c->t);
    float lo = nd->factor[0], hi = nd->factor[1];
    /* Keras' uniform(minval, maxval): minval + (maxval - minval) u */
    float a = contrast ? 1.0f - lo : lo, b = contrast ? 1.0f + hi : hi;
    float span = nd->value_range[1] - nd->value_range[0];
    for (size_t r = 0; r < c->B; r++) { /* draw 0 of the row's stream */
        float *d = c->aux + 2 * r;
        uint64_t s;
        d[0] = d[1] = 0.0f;
        if (!row_stream(c, r, &s)) continue;
        float v = a + (b - a) * lf_draw_uniform(s, 0);
        d[0] = 1.0f, d[1] = contrast ? v : v * span;
    }
#pragma omp parallel for if (c->B * D >= LF_AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *d = c->aux + 2 * r, *x = c->xs[0] + r * D;
        float *y = c->y + r * D;
        if (d[0] == 0.0f)
            memcpy(y, x, D * sizeof *y);
        else if (contrast)
            lf__contrast_image(H, W, C, d[1], nd->value_range, x, y);
        else
            lf__brightness_image(D, d[1], nd->value_range, x, y);
    }
}

static void color_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    const lf_node *nd = c->nd;
    size_t D = nd->dim, H = nd->shape[0], W = nd->shape[1], C = nd->shape[2];
    int contrast = is_contrast(c->t);
#pragma omp parallel for if (c->B * D >= LF_AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *d = c->aux + 2 * r, *x = c->xs[0] + r * D, *g = c->dy + r * D;
        float *dxr = dx + r * D;
        if (d[0] == 0.0f)
            for (size_t j = 0; j < D; j++) dxr[j] += g[j];
        else if (contrast)
            lf__contrast_image_grad(H, W, C, d[1], nd->value_range, x, g, dxr);
        else
            lf__brightness_image_grad(D, d[1], nd->value_range, x, g, dxr);
    }
}

static void color_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_arch_write_pair(b, "factor", nd->factor[0], nd->factor[1]);
    lf_arch_write_pair(b, "value_range", nd->value_range[0], nd->value_range[1]);
}

/* The file's pairs, in the ranges the builders take. */
static lf_status color_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                            lf_err *e) {
    (void)m;
    const char *type = lf_json_str(lf_json_get(L, "type"));
    lf_status st = lf_arch_arity(n_in, 1, type ? type : "RandomContrast", where, e);
    if (st == LF_OK) st = lf_arch_float_pair(L, "factor", nd->factor, where, e);
    if (st == LF_OK) st = lf_arch_float_pair(L, "value_range", nd->value_range, where, e);
    if (st != LF_OK) return st;
    int contrast = type && strcmp(type, "RandomContrast") == 0;
    float lo = nd->factor[0], hi = nd->factor[1];
    if (!(lo <= hi && lo <= 1.0f && hi >= (contrast ? 0.0f : -1.0f)))
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'factor' must be a pair [lower, upper] with lower <= 1 and upper >= %s",
                       where, contrast ? "0" : "-1");
    if (!contrast && nd->value_range[0] > nd->value_range[1])
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'value_range' must be a pair [low, high] with low <= high", where);
    return LF_OK;
}

static const char *const color_keys[] = {"name", "type", "inbound", "factor", "value_range", NULL};

const lf_layer_type lf_type_random_contrast = {
    .type = "RandomContrast",
    .prefix = "random_contrast",
    .keys = color_keys,
    .draws = 1,
    .infer = color_infer,
    .forward = color_forward,
    .backward = color_backward,
    .write_json = color_json,
    .read_json = color_read,
};

const lf_layer_type lf_type_random_brightness = {
    .type = "RandomBrightness",
    .prefix = "random_brightness",
    .keys = color_keys,
    .draws = 1,
    .infer = color_infer,
    .forward = color_forward,
    .backward = color_backward,
    .write_json = color_json,
    .read_json = color_read,
};

int lf_factor_layer_add(lf_model *m, const lf_layer_type *t, int k, int x, float lower, float upper, float value_low,
                        float value_high, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.factor[0] = lower, nd.factor[1] = upper;
    nd.value_range[0] = value_low, nd.value_range[1] = value_high;
    return lf_node_add(m, t, (lf_kind)k, nd, &x, 1, name);
}

int lf_random_contrast(lf_model *m, int x, float lower, float upper, float value_low, float value_high,
                       const char *name) {
    return lf_factor_layer_add(m, &lf_type_random_contrast, LF_K_RANDOM_CONTRAST, x, lower, upper, value_low,
                               value_high, name);
}

int lf_random_brightness(lf_model *m, int x, float lower, float upper, float value_low, float value_high,
                         const char *name) {
    return lf_factor_layer_add(m, &lf_type_random_brightness, LF_K_RANDOM_BRIGHTNESS, x, lower, upper, value_low,
                               value_high, name);
}

/* ------------------------------------------------------------ RandomZoom */

/* Keras 3's RandomZoom (random_zoom.py): each image draws height_zoom =
 * uniform(1 + height_lower, 1 + height_upper) and width_zoom likewise (or
 * the height's when width_factor is None), and _get_zoom_matrix's affine
 * transform [zx, 0, (W - 1) / 2 (1 - zx), 0, zy, (H - 1) / 2 (1 - zy), 0, 0]
 * maps output pixel (i, j) to the input point (zy i + oy, zx j + ox): a
 * zoom about the image's centre, out when z > 1.  The offsets are float32
 * as Keras computes them, the point in double as numpy's einsum; then the
 * taps of lf__translate_image (scipy's map_coordinates on np.pad's
 * extension): bilinear floor(p) and floor(p) + 1 weighted 1 - t and t,
 * nearest floor(p + 0.5). */

/* The taps of the input point p along an axis of n pixels: their indices
 * (-1: the fill value) and weights; returns how many. */
static int point_taps(double p, long n, const lf_translation_options *o, long *idx, double *w) {
    if (o->interpolation == LF_INTERP_NEAREST) {
        idx[0] = extend((long)floor(p + 0.5), n, o->fill_mode), w[0] = 1.0;
        return 1;
    }
    double f = floor(p);
    idx[0] = extend((long)f, n, o->fill_mode), w[0] = 1.0 - (p - f);
    idx[1] = extend((long)f + 1, n, o->fill_mode), w[1] = p - f;
    return 2;
}

/* One image (H, W, C) through Keras' affine transform t = (a0, a1, a2, b0,
 * b1, b2): output pixel (i, j) reads the input at the point (b0 j + b1 i +
 * b2, a0 j + a1 i + a2) (row, column), in double as numpy's einsum, then
 * point_taps on each axis (the fill value where a tap is outside, in
 * constant mode); sums in double, rounded once, as scipy. */
static void affine_image(const lf_translation_options *o, size_t H, size_t W, size_t C, const double *t,
                         const float *x, float *y) {
    float fill = o->fill_value;
    for (size_t py = 0; py < H; py++)
        for (size_t px = 0; px < W; px++) {
            long iy[2], ix[2];
            double wy[2], wx[2], i = (double)py, j = (double)px;
            int ny = point_taps(t[3] * j + t[4] * i + t[5], (long)H, o, iy, wy);
            int nx = point_taps(t[0] * j + t[1] * i + t[2], (long)W, o, ix, wx);
            float *yp = y + (py * W + px) * C;
            for (size_t ch = 0; ch < C; ch++) {
                double acc = 0.0;
                for (int a = 0; a < ny; a++)
                    for (int b = 0; b < nx; b++) {
                        double v = iy[a] < 0 || ix[b] < 0 ? (double)fill
                                                          : (double)x[((size_t)iy[a] * W + (size_t)ix[b]) * C + ch];
                        acc += wy[a] * wx[b] * v;
                    }
                yp[ch] = (float)acc;
            }
        }
}

/* The transpose of affine_image's map, added to dx (the fill value takes
 * no gradient). */
static void affine_image_grad(const lf_translation_options *o, size_t H, size_t W, size_t C, const double *t,
                              const float *g, float *dx) {
    for (size_t py = 0; py < H; py++)
        for (size_t px = 0; px < W; px++) {
            long iy[2], ix[2];
            double wy[2], wx[2], i = (double)py, j = (double)px;
            int ny = point_taps(t[3] * j + t[4] * i + t[5], (long)H, o, iy, wy);
            int nx = point_taps(t[0] * j + t[1] * i + t[2], (long)W, o, ix, wx);
            const float *gp = g + (py * W + px) * C;
            for (int a = 0; a < ny; a++)
                for (int b = 0; b < nx; b++) {
                    if (iy[a] < 0 || ix[b] < 0) continue;
                    float *di = dx + ((size_t)iy[a] * W + (size_t)ix[b]) * C;
                    double w = wy[a] * wx[b];
                    for (size_t ch = 0; ch < C; ch++) di[ch] += (float)(w * (double)gp[ch]);
                }
        }
}

/* The affine layers' transform of one row from its draw d (aux_per_row
 * floats, d[0] 1 when applied; the parameters after it). */
typedef void (*affine_of)(const lf_node *nd, const float *d, double *t);

/* RandomZoom's and RandomRotation's rows after their draws: a row whose
 * draw is not applied (d[0] 0: inference) is copied, the others go through
 * their transform. */
static void affine_rows(const lf_layer_ctx *c, affine_of affine) {
    const lf_node *nd = c->nd;
    size_t D = nd->dim, H = nd->shape[0], W = nd->shape[1], C = nd->shape[2], A = nd->aux_per_row;
#pragma omp parallel for if (c->B * D >= LF_AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *d = c->aux + A * r, *x = c->xs[0] + r * D;
        float *y = c->y + r * D;
        double t[6];
        if (d[0] == 0.0f) {
            memcpy(y, x, D * sizeof *y);
        } else {
            affine(nd, d, t);
            affine_image(&nd->tr, H, W, C, t, x, y);
        }
    }
}

/* affine_rows' gradient, added to dx */
static void affine_rows_grad(const lf_layer_ctx *c, affine_of affine) {
    float *dx = c->dxs[0];
    if (!dx) return;
    const lf_node *nd = c->nd;
    size_t D = nd->dim, H = nd->shape[0], W = nd->shape[1], C = nd->shape[2], A = nd->aux_per_row;
#pragma omp parallel for if (c->B * D >= LF_AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *d = c->aux + A * r, *g = c->dy + r * D;
        float *dxr = dx + r * D;
        double t[6];
        if (d[0] == 0.0f) {
            for (size_t j = 0; j < D; j++) dxr[j] += g[j];
        } else {
            affine(nd, d, t);
            affine_image_grad(&nd->tr, H, W, C, t, g, dxr);
        }
    }
}

/* _get_zoom_matrix's transform for z = (zy, zx): the offsets (n - 1) / 2
 * (1 - z) in float32, as Keras computes them. */
static void zoom_matrix(size_t H, size_t W, const float *z, double *t) {
    float hx = ((float)W - 1.0f) / 2.0f, hy = ((float)H - 1.0f) / 2.0f;
    t[0] = z[1], t[1] = 0.0, t[2] = hx * (1.0f - z[1]);
    t[3] = 0.0, t[4] = z[0], t[5] = hy * (1.0f - z[0]);
}

/* a RandomZoom row's draw (applied, zy, zx) */
static void zoom_affine(const lf_node *nd, const float *d, double *t) {
    zoom_matrix(nd->shape[0], nd->shape[1], d + 1, t);
}

void lf__zoom_image(const lf_translation_options *o, size_t H, size_t W, size_t C, const float *z, const float *x,
                    float *y) {
    double t[6];
    zoom_matrix(H, W, z, t);
    affine_image(o, H, W, C, t, x, y);
}

void lf__zoom_image_grad(const lf_translation_options *o, size_t H, size_t W, size_t C, const float *z,
                         const float *g, float *dx) {
    double t[6];
    zoom_matrix(H, W, z, t);
    affine_image_grad(o, H, W, C, t, g, dx);
}

/* Whether [lo, hi] is a range Keras' RandomZoom can hold: its
 * _check_factor_range takes a pair's ends in (-1, 1] and a number f in
 * (-1, 1], made [-|f|, |f|], so the ranges are those in (-1, 1] and
 * RandomZoom(1.0)'s [-1, 1] (a zoom 0 reads the centre). */
static int zoom_range_keras(double lo, double hi) {
    return (lo > -1.0 && lo <= hi && hi <= 1.0) || (lo == -1.0 && hi == 1.0);
}

static int zoom_range_ok(lf_model *m, const char *factor, float lo, float hi) {
    if (zoom_range_keras(lo, hi)) return 1;
    return lf_build_fail(m, LF_ERR_ARG,
                         "RandomZoom: %s must be a range [lower, upper] in (-1, 1], or [-1, 1] (Keras' "
                         "RandomZoom(1.0)), got [%g, %g]",
                         factor, (double)lo, (double)hi);
}

static int zoom_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 3);
    if (!x) return 0;
    const lf_translation_options *o = &nd->tr;
    if (!zoom_range_ok(m, "height_factor", o->height_lower, o->height_upper) ||
        (!nd->keep_aspect && !zoom_range_ok(m, "width_factor", o->width_lower, o->width_upper)))
        return 0;
    if (!fill_ok(m, t->type, o)) return 0;
    if (!lf_shape_set(m, t->type, nd, 3, x->shape)) return 0;
    nd->aux_per_row = 3; /* the row's draw: applied (1) or the identity (0), zy, zx */
    return 1;
}

static void zoom_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    const lf_translation_options *o = &nd->tr;
    /* Keras' uniform(minval, maxval): minval + (maxval - minval) u */
    float ha = 1.0f + o->height_lower, hb = 1.0f + o->height_upper;
    float wa = 1.0f + o->width_lower, wb = 1.0f + o->width_upper;
    for (size_t r = 0; r < c->B; r++) { /* draws 0 and 1 of the row's stream */
        float *d = c->aux + 3 * r;
        uint64_t s;
        d[0] = 0.0f, d[1] = d[2] = 1.0f;
        if (!row_stream(c, r, &s)) continue;
        d[0] = 1.0f;
        d[1] = ha + (hb - ha) * lf_draw_uniform(s, 0);
        d[2] = nd->keep_aspect ? d[1] : wa + (wb - wa) * lf_draw_uniform(s, 1);
    }
    affine_rows(c, zoom_affine);
}

static void zoom_backward(const lf_layer_ctx *c) { affine_rows_grad(c, zoom_affine); }

/* Keras' config: each factor a [lower, upper] pair (width_factor null:
 * the height's draw), fill_mode, interpolation, fill_value. */
static void zoom_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    const lf_translation_options *o = &nd->tr;
    lf_arch_write_pair(b, "height_factor", o->height_lower, o->height_upper);
    if (nd->keep_aspect)
        lf_buf_puts(b, ",\"width_factor\":null");
    else
        lf_arch_write_pair(b, "width_factor", o->width_lower, o->width_upper);
    lf_buf_printf(b, ",\"fill_mode\":\"%s\",\"interpolation\":\"%s\",\"fill_value\":", fill_names[o->fill_mode],
                  interp_names[o->interpolation]);
    lf_buf_json_float(b, o->fill_value);
}

/* A [lower, upper] pair under key: in (-1, 1], or [-1, 1] (zoom_range_keras). */
static lf_status read_zoom_range(const lf_json *L, const char *key, float *lo, float *hi, const char *where,
                                 lf_err *e) {
    const lf_json *a = lf_json_get(L, key);
    double v[2];
    if (!lf_json_is(a, LF_JSON_ARRAY) || lf_json_len(a) != 2 || !lf_json_num(lf_json_at(a, 0), &v[0]) ||
        !lf_json_num(lf_json_at(a, 1), &v[1]) || !zoom_range_keras(v[0], v[1]))
        return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be a pair [lower, upper] in (-1, 1], or [-1, 1]", where, key);
    *lo = (float)v[0], *hi = (float)v[1];
    return LF_OK;
}

static lf_status zoom_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                           lf_err *e) {
    (void)m;
    lf_translation_options *o = &nd->tr;
    lf_status st = lf_arch_arity(n_in, 1, "RandomZoom", where, e);
    if (st == LF_OK) st = read_zoom_range(L, "height_factor", &o->height_lower, &o->height_upper, where, e);
    if (st != LF_OK) return st;
    const lf_json *wf = lf_json_get(L, "width_factor");
    if (lf_json_is(wf, LF_JSON_NULL)) {
        nd->keep_aspect = 1, o->width_lower = o->height_lower, o->width_upper = o->height_upper;
    } else {
        st = read_zoom_range(L, "width_factor", &o->width_lower, &o->width_upper, where, e);
        if (st != LF_OK) return st;
    }
    return read_fill(L, o, where, e);
}


const lf_layer_type lf_type_random_zoom = {
    .type = "RandomZoom",
    .prefix = "random_zoom",
    .keys = translate_keys, /* the same fields */
    .draws = 1,
    .infer = zoom_infer,
    .forward = zoom_forward,
    .backward = zoom_backward,
    .write_json = zoom_json,
    .read_json = zoom_read,
};

int lf_random_zoom(lf_model *m, int x, const lf_translation_options *opt, int keep_aspect, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    if (!m || lf_build_stuck(m)) return -1;
    if (!opt) return lf_build_fail(m, LF_ERR_ARG, "RandomZoom: no options given (opt is NULL)"), -1;
    nd.tr = *opt;
    nd.keep_aspect = keep_aspect != 0;
    if (nd.keep_aspect) nd.tr.width_lower = opt->height_lower, nd.tr.width_upper = opt->height_upper;
    return lf_node_add(m, &lf_type_random_zoom, LF_K_RANDOM_ZOOM, nd, &x, 1, name);
}

/* -------------------------------------------------------- RandomRotation */

/* Keras 3's RandomRotation (random_rotation.py): each image draws an angle
 * uniform(lower 360, upper 360) degrees (positive: counter-clockwise), and
 * _compute_affine_matrix (base_image_preprocessing_layer.py) with the
 * centre (0.5 (W - 1), 0.5 (H - 1)), no translation, shear or scale builds
 * [cos, -sin, cx - cx cos + cy sin, sin, cos, cy - cx sin - cy cos, 0, 0],
 * all in float32 (the angle in radians angle * float32(pi / 180)). */
static void rotation_matrix(size_t H, size_t W, float degrees, double *t) {
    float rad = degrees * (float)(3.14159265358979323846 / 180.0); /* float32(math.pi / 180) */
    float c = cosf(rad), s = sinf(rad);
    float cx = 0.5f * ((float)W - 1.0f), cy = 0.5f * ((float)H - 1.0f);
    float a0 = c, a1 = -s, b0 = s, b1 = c;
    t[0] = a0, t[1] = a1, t[2] = cx - cx * a0 - cy * a1;
    t[3] = b0, t[4] = b1, t[5] = cy - cx * b0 - cy * b1;
}

/* a RandomRotation row's draw (applied, degrees) */
static void rotate_affine(const lf_node *nd, const float *d, double *t) {
    rotation_matrix(nd->shape[0], nd->shape[1], d[1], t);
}

void lf__rotate_image(const lf_translation_options *o, size_t H, size_t W, size_t C, float degrees, const float *x,
                      float *y) {
    double t[6];
    rotation_matrix(H, W, degrees, t);
    affine_image(o, H, W, C, t, x, y);
}

void lf__rotate_image_grad(const lf_translation_options *o, size_t H, size_t W, size_t C, float degrees,
                           const float *g, float *dx) {
    double t[6];
    rotation_matrix(H, W, degrees, t);
    affine_image_grad(o, H, W, C, t, g, dx);
}

static int rotate_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 3);
    if (!x) return 0;
    float lo = nd->factor[0], hi = nd->factor[1];
    if (!(lo <= hi && lo <= 1.0f && hi >= -1.0f && isfinite(lo) && isfinite(hi)))
        return lf_build_fail(m, LF_ERR_ARG, "RandomRotation: factor must be a range [lower, upper] with lower <= 1 "
                             "and upper >= -1, got [%g, %g]", (double)lo, (double)hi);
    const lf_translation_options *o = &nd->tr;
    if (!fill_ok(m, t->type, o)) return 0;
    if (!lf_shape_set(m, t->type, nd, 3, x->shape)) return 0;
    nd->aux_per_row = 2; /* the row's draw: applied (1) or the identity (0), the angle in degrees */
    return 1;
}

static void rotate_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    float a = nd->factor[0] * 360.0f, b = nd->factor[1] * 360.0f;
    for (size_t r = 0; r < c->B; r++) { /* draw 0 of the row's stream */
        float *d = c->aux + 2 * r;
        uint64_t s;
        d[0] = d[1] = 0.0f;
        if (!row_stream(c, r, &s)) continue;
        d[0] = 1.0f, d[1] = a + (b - a) * lf_draw_uniform(s, 0);
    }
    affine_rows(c, rotate_affine);
}

static void rotate_backward(const lf_layer_ctx *c) { affine_rows_grad(c, rotate_affine); }

/* Keras' config: factor (the resolved [lower, upper] pair), fill_mode,
 * interpolation, fill_value. */
static void rotate_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    const lf_translation_options *o = &nd->tr;
    lf_arch_write_pair(b, "factor", nd->factor[0], nd->factor[1]);
    lf_buf_printf(b, ",\"fill_mode\":\"%s\",\"interpolation\":\"%s\",\"fill_value\":", fill_names[o->fill_mode],
                  interp_names[o->interpolation]);
    lf_buf_json_float(b, o->fill_value);
}

static lf_status rotate_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                             lf_err *e) {
    (void)m;
    lf_translation_options *o = &nd->tr;
    lf_status st = lf_arch_arity(n_in, 1, "RandomRotation", where, e);
    if (st == LF_OK) st = lf_arch_float_pair(L, "factor", nd->factor, where, e);
    if (st != LF_OK) return st;
    if (!(nd->factor[0] <= nd->factor[1] && nd->factor[0] <= 1.0f && nd->factor[1] >= -1.0f))
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'factor' must be a pair [lower, upper] with lower <= 1 and upper >= -1",
                       where);
    return read_fill(L, o, where, e);
}

static const char *const rotate_keys[] = {"name", "type", "inbound", "factor", "fill_mode", "interpolation",
                                          "fill_value", NULL};

const lf_layer_type lf_type_random_rotation = {
    .type = "RandomRotation",
    .prefix = "random_rotation",
    .keys = rotate_keys,
    .draws = 1,
    .infer = rotate_infer,
    .forward = rotate_forward,
    .backward = rotate_backward,
    .write_json = rotate_json,
    .read_json = rotate_read,
};

int lf_random_rotation(lf_model *m, int x, float lower, float upper, lf_fill_mode fill_mode,
                       lf_interpolation interpolation, float fill_value, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.factor[0] = lower, nd.factor[1] = upper;
    nd.tr = lf_translation_defaults(0.0f, 0.0f);
    nd.tr.fill_mode = fill_mode, nd.tr.interpolation = interpolation, nd.tr.fill_value = fill_value;
    return lf_node_add(m, &lf_type_random_rotation, LF_K_RANDOM_ROTATION, nd, &x, 1, name);
}
