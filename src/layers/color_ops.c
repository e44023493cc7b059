/*
 * color_ops.c — Keras 3's per-pixel colour layers on channels-last images
 * (H, W, C): RandomGrayscale, RandomInvert, Solarization, AutoContrast.
 *
 * The three random ones are train-only (the identity in evaluate and
 * predict, as Keras' transform_images returns the images when not
 * training).  In a training pass each row draws from its own stream
 * (lf_draws, as augment.c's layers: the same seed, the same bits on any
 * number of threads or ranks); aux keeps the row's draws for the backward
 * pass, which routes the gradient back through the same map:
 *  - RandomGrayscale(factor) (keras/src/layers/preprocessing/
 *    image_preprocessing/random_grayscale.py): u < factor converts the
 *    image to Keras' rgb_to_grayscale, g = 0.2989 r + 0.5870 g + 0.1140 b
 *    (keras/src/backend/numpy/image.py), broadcast back to the 3 channels
 *    (Keras' numpy.where of the (H, W, 1) gray against the image); a
 *    1-channel image is copied.  Gradient: dx_c += w_c sum_k dy_k.
 *  - RandomInvert(factor, value_range) (random_invert.py): p uniform in
 *    factor's range (draw 0), t uniform in [0, 1) (draw 1), t < p gives
 *    y = value_range[1] - x (Keras' formula, the low end unused).
 *    Gradient: -dy.
 *  - Solarization(addition_factor, threshold_factor, value_range)
 *    (solarization.py): additions = uniform(a0, 255 a1) (draw 0) and
 *    thresholds = uniform(t0, 255 t1) (draw 1) — Keras' own bounds, the
 *    lower end not scaled by 255 —; the image taken to (0, 255) (Keras'
 *    _transform_value_range, skipped when value_range is (0, 255)),
 *    r = clip(z + addition, 0, 255), r where r < threshold else 255 - r,
 *    and back to value_range.  The threshold has no derivative: the
 *    piecewise one is used, dx = dy where the clip passes and r < threshold,
 *    -dy where it passes and r >= threshold, 0 where clipped (the value
 *    range's two scales cancel).
 * AutoContrast(value_range) (auto_contrast.py) draws nothing and runs in
 * training and inference alike, as Keras ("active at both training and
 * inference time"): per image and channel, z = the image in (0, 255), low
 * and high its min and max over the H x W pixels, scale = 255 / (high -
 * low), y = clip(z scale - low scale, 0, 255) back in value_range, and
 * where that is NaN (a constant channel: 0 times infinity) the input
 * value.  Its gradient goes through the map and through low and high (to
 * the first pixel holding the min and the max): in x's units, with d =
 * max - min and R = the value range's width, dy_i/dx_i = R / d, dy_i/dmin
 * = R ((x_i - min) / d - 1) / d, dy_i/dmax = -R (x_i - min) / d^2; a
 * constant channel passes dy through.
 * Keras' seed argument is not kept (the model's seed draws).
 */
#include "layers/layer.h"

#include <float.h>
#include <math.h>
#include <string.h>

static const float gray_w[3] = {LF_GRAY_R, LF_GRAY_G, LF_GRAY_B};

/* The row's stream in a training pass that draws; 0: none (identity). */
static int color_stream(const lf_layer_ctx *c, size_t r, uint64_t *s) {
    if (!c->training || !c->draws) return 0;
    *s = lf_draw_stream(c->draws->key, c->draw_id, c->draws->row0 + r);
    return 1;
}

static int finite2(const float *v) { return isfinite(v[0]) && isfinite(v[1]); }

/* The value range is (0, 255): Keras' _transform_value_range returns the
 * images as they are. */
static int is_0_255(const float *vr) { return vr[0] == 0.0f && vr[1] == 255.0f; }

/* ------------------------------------------------------- RandomGrayscale */

/* x: (HW, C) -> y: (HW, C), C 1 or 3 */
static void gray_image(size_t HW, size_t C, const float *restrict x, float *restrict y) {
    if (C == 1) {
        memcpy(y, x, HW * sizeof *y);
        return;
    }
    for (size_t p = 0; p < HW; p++) {
        const float *v = x + 3 * p;
        float g = v[0] * gray_w[0] + v[1] * gray_w[1] + v[2] * gray_w[2];
        y[3 * p] = y[3 * p + 1] = y[3 * p + 2] = g;
    }
}

/* dy: (HW, C) -> dx: (HW, C) (+=) */
static void gray_image_grad(size_t HW, size_t C, const float *restrict dy, float *restrict dx) {
    if (C == 1) {
        for (size_t p = 0; p < HW; p++) dx[p] += dy[p];
        return;
    }
    for (size_t p = 0; p < HW; p++) {
        const float *g = dy + 3 * p;
        float s = g[0] + g[1] + g[2];
        for (size_t k = 0; k < 3; k++) dx[3 * p + k] += gray_w[k] * s;
    }
}

/* --------------------------------------------------------- Solarization */

/* x: (D,) -> y: (D,) under one row's addition a and threshold t */
static void solarize(size_t D, float a, float t, const float *vr, const float *restrict x, float *restrict y) {
    int scaled = !is_0_255(vr);
    float lo = vr[0], w = vr[1] - vr[0];
    for (size_t j = 0; j < D; j++) {
        float z = scaled ? (x[j] - lo) / w * 255.0f + 0.0f : x[j];
        float r = fminf(fmaxf(z + a, 0.0f), 255.0f);
        r = r < t ? r : 255.0f - r;
        y[j] = scaled ? r / 255.0f * w + lo : r;
    }
}

/* its piecewise derivative: dx += +-dy where the clip passes */
static void solarize_grad(size_t D, float a, float t, const float *vr, const float *restrict x,
                          const float *restrict dy, float *restrict dx) {
    int scaled = !is_0_255(vr);
    float lo = vr[0], w = vr[1] - vr[0];
    for (size_t j = 0; j < D; j++) {
        float z = scaled ? (x[j] - lo) / w * 255.0f + 0.0f : x[j];
        float v = z + a;
        if (!(v >= 0.0f && v <= 255.0f)) continue;
        dx[j] += v < t ? dy[j] : -dy[j];
    }
}

/* ---------------------------------------------------------- AutoContrast */

/* x: (HW, C) -> y: (HW, C) */
static void autocontrast_image(size_t HW, size_t C, const float *vr, const float *restrict x,
                               float *restrict y) {
    int scaled = !is_0_255(vr);
    float lo = vr[0], w = vr[1] - vr[0];
    for (size_t ch = 0; ch < C; ch++) {
        float low = INFINITY, high = -INFINITY;
        for (size_t p = 0; p < HW; p++) {
            float v = x[p * C + ch];
            float z = scaled ? (v - lo) / w * 255.0f + 0.0f : v;
            low = fminf(low, z), high = fmaxf(high, z);
        }
        float scale = 255.0f / (high - low), offset = -low * scale;
        for (size_t p = 0; p < HW; p++) {
            size_t j = p * C + ch;
            float z = scaled ? (x[j] - lo) / w * 255.0f + 0.0f : x[j];
            float r = fminf(fmaxf(z * scale + offset, 0.0f), 255.0f);
            if (isnan(z * scale + offset)) r = NAN; /* numpy's clip keeps a NaN */
            float v = scaled ? r / 255.0f * w + lo : r;
            y[j] = isnan(v) ? x[j] : v;
        }
    }
}

/* dy: (HW, C) -> dx (+=), the top of the file's derivative */
static void autocontrast_image_grad(size_t HW, size_t C, const float *vr, const float *restrict x,
                                    const float *restrict dy, float *restrict dx) {
    double R = (double)vr[1] - (double)vr[0];
    for (size_t ch = 0; ch < C; ch++) {
        size_t pmin = 0, pmax = 0;
        for (size_t p = 1; p < HW; p++) {
            if (x[p * C + ch] < x[pmin * C + ch]) pmin = p;
            if (x[p * C + ch] > x[pmax * C + ch]) pmax = p;
        }
        double mn = x[pmin * C + ch], d = (double)x[pmax * C + ch] - mn;
        if (!(d > 0.0) || !(R > 0.0)) {
            for (size_t p = 0; p < HW; p++) dx[p * C + ch] += dy[p * C + ch];
            continue;
        }
        double gmin = 0.0, gmax = 0.0;
        for (size_t p = 0; p < HW; p++) {
            size_t j = p * C + ch;
            double t = ((double)x[j] - mn) / d, g = (double)dy[j];
            dx[j] += (float)(g * R / d);
            gmin += g * R * (t - 1.0) / d;
            gmax -= g * R * t / d;
        }
        dx[pmin * C + ch] += (float)gmin;
        dx[pmax * C + ch] += (float)gmax;
    }
}

/* ------------------------------------------------------------ the record */

enum { OP_GRAY = 1, OP_INVERT, OP_SOLAR, OP_AUTO };

/* aux per row: [applied, addition, threshold] (Solarization), [applied] */
static size_t aux_of(int op) { return op == OP_SOLAR ? 3 : op == OP_AUTO ? 0 : 1; }

/* factor pair (lower, upper) in [lo_bound .. 1] ranges as Keras checks them */
static int pair_ok(const float *f, float lo_min, float hi_min) {
    return isfinite(f[0]) && isfinite(f[1]) && f[0] <= f[1] && f[0] >= lo_min && f[0] <= 1.0f && f[1] >= hi_min &&
           (lo_min < 0.0f || f[1] <= 1.0f);
}

static int cop_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 3);
    if (!x) return 0;
    const float *vr = nd->value_range;
    switch (t->op) {
    case OP_GRAY:
        if (!(nd->factor[0] >= 0.0f && nd->factor[0] <= 1.0f))
            return lf_build_fail(m, LF_ERR_ARG, "RandomGrayscale: factor must be in [0, 1], got %g",
                                 (double)nd->factor[0]);
        if (x->shape[2] != 1 && x->shape[2] != 3)
            return lf_build_fail(m, LF_ERR_ARG, "RandomGrayscale: images need 3 channels (RGB) or 1 (grayscale), "
                                 "got %zu", x->shape[2]);
        break;
    case OP_INVERT:
        /* Keras' _set_factor with bounds (0, 1): a pair sorted, lower <= 1, upper >= 0 */
        if (!pair_ok(nd->factor, -INFINITY, 0.0f))
            return lf_build_fail(m, LF_ERR_ARG, "RandomInvert: factor must be a range [lower, upper] with lower <= "
                                 "upper, lower <= 1 and upper >= 0, got [%g, %g]", (double)nd->factor[0],
                                 (double)nd->factor[1]);
        if (!finite2(vr))
            return lf_build_fail(m, LF_ERR_ARG, "RandomInvert: value_range must be two finite numbers, got [%g, %g]",
                                 (double)vr[0], (double)vr[1]);
        break;
    case OP_SOLAR:
        if (!pair_ok(nd->factor, 0.0f, 0.0f) || !pair_ok(nd->threshold_factor, 0.0f, 0.0f))
            return lf_build_fail(m, LF_ERR_ARG, "Solarization: addition_factor and threshold_factor must be ranges "
                                 "[lower, upper] with 0 <= lower <= upper <= 1, got [%g, %g] and [%g, %g]",
                                 (double)nd->factor[0], (double)nd->factor[1], (double)nd->threshold_factor[0],
                                 (double)nd->threshold_factor[1]);
        break;
    default: break;
    }
    if ((t->op == OP_SOLAR || t->op == OP_AUTO) && !(finite2(vr) && vr[0] < vr[1]))
        return lf_build_fail(m, LF_ERR_ARG, "%s: value_range must be [low, high] with low < high "
                             "(Keras sorts it), got [%g, %g]", t->type, (double)vr[0], (double)vr[1]);
    if (!lf_shape_set(m, t->type, nd, 3, x->shape)) return 0;
    nd->aux_per_row = aux_of(t->op);
    return 1;
}

/* the row's draws into d (aux_of(op) floats); d[0] = 0: the identity */
static void cop_draw(const lf_layer_ctx *c, size_t r, float *d) {
    const lf_node *nd = c->nd;
    uint64_t s;
    memset(d, 0, aux_of(c->t->op) * sizeof *d);
    if (!color_stream(c, r, &s)) return;
    const float *f = nd->factor, *tf = nd->threshold_factor;
    switch (c->t->op) {
    case OP_GRAY: d[0] = lf_draw_uniform(s, 0) < f[0]; break;
    case OP_INVERT: { /* Keras: uniform(factor[0], factor[1]), then uniform(0, 1) */
        float p = f[0] + (f[1] - f[0]) * lf_draw_uniform(s, 0);
        d[0] = lf_draw_uniform(s, 1) < p;
        break;
    }
    case OP_SOLAR: { /* Keras' uniform(minval, maxval): minval + (maxval - minval) u */
        float a_hi = f[1] * 255.0f, t_hi = tf[1] * 255.0f;
        d[0] = 1.0f;
        d[1] = f[0] + (a_hi - f[0]) * lf_draw_uniform(s, 0);
        d[2] = tf[0] + (t_hi - tf[0]) * lf_draw_uniform(s, 1);
        break;
    }
    default: break;
    }
}

static void cop_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = nd->dim, HW = nd->shape[0] * nd->shape[1], C = nd->shape[2], A = aux_of(c->t->op);
    int op = c->t->op;
    for (size_t r = 0; r < c->B && A; r++) cop_draw(c, r, c->aux + A * r);
#pragma omp parallel for if (c->B * D >= LF_AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *x = c->xs[0] + r * D, *d = A ? c->aux + A * r : NULL;
        float *y = c->y + r * D;
        if (op == OP_AUTO)
            autocontrast_image(HW, C, nd->value_range, x, y);
        else if (d[0] == 0.0f)
            memcpy(y, x, D * sizeof *y);
        else if (op == OP_GRAY)
            gray_image(HW, C, x, y);
        else if (op == OP_INVERT)
            for (size_t j = 0; j < D; j++) y[j] = nd->value_range[1] - x[j];
        else
            solarize(D, d[1], d[2], nd->value_range, x, y);
    }
}

static void cop_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    const lf_node *nd = c->nd;
    size_t D = nd->dim, HW = nd->shape[0] * nd->shape[1], C = nd->shape[2], A = aux_of(c->t->op);
    int op = c->t->op;
#pragma omp parallel for if (c->B * D >= LF_AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *x = c->xs[0] + r * D, *g = c->dy + r * D, *d = A ? c->aux + A * r : NULL;
        float *dxr = dx + r * D;
        if (op == OP_AUTO)
            autocontrast_image_grad(HW, C, nd->value_range, x, g, dxr);
        else if (d[0] == 0.0f)
            for (size_t j = 0; j < D; j++) dxr[j] += g[j];
        else if (op == OP_GRAY)
            gray_image_grad(HW, C, g, dxr);
        else if (op == OP_INVERT)
            for (size_t j = 0; j < D; j++) dxr[j] -= g[j];
        else
            solarize_grad(D, d[1], d[2], nd->value_range, x, g, dxr);
    }
}

/* ------------------------------------------------------------ the files */

/* Keras' defaults, which the file leaves out */
static const float def_vr[2] = {0.0f, 255.0f};

static void put_pair(lf_buf *b, const char *key, const float *v, const float *def) {
    if (v[0] != def[0] || v[1] != def[1]) lf_arch_write_pair(b, key, v[0], v[1]);
}

static void cop_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    static const float zero[2] = {0.0f, 0.0f}, one[2] = {0.0f, 1.0f};
    switch (lf_type_of(nd)->op) {
    case OP_GRAY:
        if (nd->factor[0] != 0.5f) {
            lf_buf_puts(b, ",\"factor\":");
            lf_buf_json_float(b, nd->factor[0]);
        }
        break;
    case OP_INVERT: put_pair(b, "factor", nd->factor, one); break;
    case OP_SOLAR:
        put_pair(b, "addition_factor", nd->factor, zero);
        put_pair(b, "threshold_factor", nd->threshold_factor, zero);
        break;
    default: break;
    }
    if (lf_type_of(nd)->op != OP_GRAY) put_pair(b, "value_range", nd->value_range, def_vr);
}

/* An optional pair of finite numbers under key (absent: def). */
static lf_status get_pair(const lf_json *L, const char *key, const float *def, float *v, const char *where,
                          lf_err *e) {
    if (lf_json_get(L, key)) return lf_arch_float_pair(L, key, v, where, e);
    v[0] = def[0], v[1] = def[1];
    return LF_OK;
}

/* The file's fields, in the ranges the builders take (cop_infer's checks,
 * as a file error). */
static lf_status cop_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    (void)m;
    const char *type = lf_json_str(lf_json_get(L, "type"));
    lf_status st = lf_arch_arity(n_in, 1, type ? type : "RandomGrayscale", where, e);
    if (st != LF_OK) return st;
    static const float zero[2] = {0.0f, 0.0f}, one[2] = {0.0f, 1.0f};
    int op = type && !strcmp(type, "RandomInvert") ? OP_INVERT
             : type && !strcmp(type, "Solarization") ? OP_SOLAR
             : type && !strcmp(type, "AutoContrast") ? OP_AUTO
                                                      : OP_GRAY;
    if (op == OP_GRAY) {
        const lf_json *f = lf_json_get(L, "factor");
        double v = 0.5;
        if (f && (!lf_json_num(f, &v) || !(v >= 0.0 && v <= 1.0)))
            return lf_fail(e, LF_ERR_FORMAT, "%s: 'factor' must be a number in [0, 1]", where);
        nd->factor[0] = (float)v;
        return LF_OK;
    }
    st = get_pair(L, "value_range", def_vr, nd->value_range, where, e);
    if (st == LF_OK && op == OP_INVERT) st = get_pair(L, "factor", one, nd->factor, where, e);
    if (st == LF_OK && op == OP_SOLAR) st = get_pair(L, "addition_factor", zero, nd->factor, where, e);
    if (st == LF_OK && op == OP_SOLAR) st = get_pair(L, "threshold_factor", zero, nd->threshold_factor, where, e);
    if (st != LF_OK) return st;
    if (op == OP_INVERT && !pair_ok(nd->factor, -INFINITY, 0.0f))
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'factor' must be a pair [lower, upper] with lower <= upper, "
                       "lower <= 1 and upper >= 0", where);
    if (op == OP_SOLAR && (!pair_ok(nd->factor, 0.0f, 0.0f) || !pair_ok(nd->threshold_factor, 0.0f, 0.0f)))
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'addition_factor' and 'threshold_factor' must be pairs [lower, upper] "
                       "with 0 <= lower <= upper <= 1", where);
    if (op != OP_INVERT && !(nd->value_range[0] < nd->value_range[1]))
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'value_range' must be a pair [low, high] with low < high", where);
    return LF_OK;
}

static const char *const gray_keys[] = {"name", "type", "inbound", "factor", NULL};
static const char *const invert_keys[] = {"name", "type", "inbound", "factor", "value_range", NULL};
static const char *const solar_keys[] = {"name",           "type",           "inbound",
                                         "addition_factor", "threshold_factor", "value_range",
                                         NULL};
static const char *const auto_keys[] = {"name", "type", "inbound", "value_range", NULL};

#define COLOR_OP_RECORD(op_, type_, prefix_, keys_, draws_)                                                    \
    {                                                                                                          \
        .type = type_, .prefix = prefix_, .keys = keys_, .op = op_, .draws = draws_, .infer = cop_infer,      \
        .forward = cop_forward, .backward = cop_backward, .write_json = cop_json, .read_json = cop_read,      \
    }

const lf_layer_type lf_type_random_grayscale =
    COLOR_OP_RECORD(OP_GRAY, "RandomGrayscale", "random_grayscale", gray_keys, 1);
const lf_layer_type lf_type_random_invert = COLOR_OP_RECORD(OP_INVERT, "RandomInvert", "random_invert", invert_keys, 1);
const lf_layer_type lf_type_solarization = COLOR_OP_RECORD(OP_SOLAR, "Solarization", "solarization", solar_keys, 1);
const lf_layer_type lf_type_auto_contrast = COLOR_OP_RECORD(OP_AUTO, "AutoContrast", "auto_contrast", auto_keys, 0);

/* ------------------------------------------------------------ builders */

int lf_random_grayscale(lf_model *m, int x, float factor, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.factor[0] = factor;
    return lf_node_add(m, &lf_type_random_grayscale, LF_K_RANDOM_GRAYSCALE, nd, &x, 1, name);
}

int lf_random_invert(lf_model *m, int x, float lower, float upper, float value_low, float value_high,
                     const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.factor[0] = lower, nd.factor[1] = upper;
    nd.value_range[0] = value_low, nd.value_range[1] = value_high;
    return lf_node_add(m, &lf_type_random_invert, LF_K_RANDOM_INVERT, nd, &x, 1, name);
}

int lf_solarization(lf_model *m, int x, float addition_lower, float addition_upper, float threshold_lower,
                    float threshold_upper, float value_low, float value_high, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.factor[0] = addition_lower, nd.factor[1] = addition_upper;
    nd.threshold_factor[0] = threshold_lower, nd.threshold_factor[1] = threshold_upper;
    nd.value_range[0] = value_low, nd.value_range[1] = value_high;
    return lf_node_add(m, &lf_type_solarization, LF_K_SOLARIZATION, nd, &x, 1, name);
}

int lf_auto_contrast(lf_model *m, int x, float value_low, float value_high, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.value_range[0] = value_low, nd.value_range[1] = value_high;
    return lf_node_add(m, &lf_type_auto_contrast, LF_K_AUTO_CONTRAST, nd, &x, 1, name);
}
