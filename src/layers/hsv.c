/*
 * hsv.c — Keras 3's colour augmentation layers RandomSaturation, RandomHue
 * and RandomColorDegeneration(factor, value_range=(0, 255)), and
 * RandomColorJitter (at the end of the file): train-only
 * maps of channels-last images (H, W, C), the identity in evaluate and
 * predict (keras/src/layers/preprocessing/image_preprocessing/
 * random_saturation.py, random_hue.py, random_color_degeneration.py; the
 * colour conversions of keras/src/backend/numpy/image.py: rgb_to_hsv,
 * hsv_to_rgb, rgb_to_grayscale).  Each row draws from its own stream
 * (lf_draws), as augment.c's layers:
 *  - RandomSaturation (C = 3): f = uniform(lower, upper) (draw 0), k =
 *    f / (1 - f + 1e-7) (Keras' epsilon); the pixel goes to HSV, S becomes
 *    clip(S k, value_range) (Keras clips the saturation to the value
 *    range, whatever the pixels' range), and back to RGB.  The RGB values
 *    are not rescaled (S does not depend on their scale);
 *  - RandomHue (C = 3): delta = s f / 2, s = -1 when draw 0 > 0.5 else 1,
 *    f = uniform(lower, upper) (draw 1); the pixel is taken from
 *    value_range to [0, 1], to HSV, H becomes H + delta (less 1 above 1,
 *    plus 1 below 0), back to RGB, clipped to [0, 1] and taken back to
 *    value_range (Keras' _transform_value_range, skipped for (0, 1));
 *  - RandomColorDegeneration (C = 1 or 3): k = uniform(lower, upper),
 *    y = clip(x + k (gray - x), value_range), gray = 0.2989 r + 0.5870 g +
 *    0.1140 b (Keras' weights; the image itself when C = 1).
 * RandomColorJitter(value_range, brightness_factor, contrast_factor,
 * saturation_factor, hue_factor) (random_color_jitter.py): Keras'
 * sub-layers RandomBrightness, RandomContrast (augment.c's maps),
 * RandomSaturation, RandomHue in that order, each given factor its own
 * draw; a factor None leaves its sub-layer out.
 * Every step is Keras' float32 operation in its order (rgb_to_hsv first
 * sets values below float32's epsilon in magnitude to 0).
 *
 * aux keeps each row's draw (applied or not, and k or delta) for the
 * backward pass, which routes the gradient back through the same map: the
 * chain rule through rgb_to_hsv, the change of H or S and hsv_to_rgb, each
 * a piecewise-smooth function whose derivative is that of the branch
 * Keras' code takes at the pixel.  Where channels tie for the maximum (or
 * the minimum), V's and H's derivatives are those of the first such
 * channel in the order r, g, b, as Keras' np.where chooses H's formula; a
 * pixel of zero saturation (r = g = b) has H = 0, a constant: no gradient
 * reaches it through H, nor through S (a one-sided 0); values below
 * epsilon, set to 0, pass no gradient; the wrap of H and the kinks of
 * hsv_to_rgb's clipped ramps take the derivative of the side the value
 * is on (0 at a ramp's ends); a clip passes the gradient where its value
 * is within the range, ends included.  Finite differences (tests) keep
 * away from these kinks.
 */
#include "layers/layer.h"
#include "testing.h"

#include <float.h>
#include <math.h>
#include <string.h>

static const float gray_w[3] = {LF_GRAY_R, LF_GRAY_G, LF_GRAY_B};

/* ---------------------------------------------------------------- a pixel */

/* numpy's clip: min(max(v, lo), hi) */
static float clipf(float v, float lo, float hi) { return fminf(fmaxf(v, lo), hi); }

/* the gradient of clipf at v passes (1) or is 0 */
static int passes(float v, float lo, float hi) { return v >= lo && v <= hi; }

/* Keras' rgb_to_hsv of one pixel p (r, g, b), in float32 as numpy; p's
 * values below epsilon in magnitude become 0 in place.  *top: the
 * channel whose hue formula applies (r first, then g, then b). */
static void rgb_to_hsv(float *p, float *hsv, int *top) {
    for (int c = 0; c < 3; c++)
        if (fabsf(p[c]) < FLT_EPSILON) p[c] = 0.0f;
    float r = p[0], g = p[1], b = p[2];
    float v = fmaxf(fmaxf(r, g), b), mn = fminf(fminf(r, g), b), range = v - mn;
    float safe_v = v > 0.0f ? v : 1.0f, safe_range = range > 0.0f ? range : 1.0f;
    float s = v > 0.0f ? range / safe_v : 0.0f;
    float norm = 1.0f / (6.0f * safe_range), h;
    if (v == r)
        h = norm * (g - b), *top = 0;
    else if (v == g)
        h = norm * (b - r) + (float)(2.0 / 6.0), *top = 1;
    else
        h = norm * (r - g) + (float)(4.0 / 6.0), *top = 2;
    hsv[0] = (range > 0.0f ? h : 0.0f) + (h < 0.0f ? 1.0f : 0.0f);
    hsv[1] = s;
    hsv[2] = v;
}

/* numpy's mod(h, 1.0) */
static float mod1(float h) {
    float m = fmodf(h, 1.0f);
    return m != 0.0f ? (m < 0.0f ? m + 1.0f : m) : 0.0f;
}

/* hsv_to_rgb's ramps d (r, g, b) of dh = 6 mod(h, 1) and their slopes in dh */
static void ramps(float dh, float *d, float *slope) {
    float t[3] = {fabsf(dh - 3.0f) - 1.0f, 2.0f - fabsf(dh - 2.0f), 2.0f - fabsf(dh - 4.0f)};
    float sg[3] = {dh > 3.0f ? 1.0f : -1.0f, dh > 2.0f ? -1.0f : 1.0f, dh > 4.0f ? -1.0f : 1.0f};
    for (int c = 0; c < 3; c++) {
        d[c] = clipf(t[c], 0.0f, 1.0f);
        slope[c] = t[c] > 0.0f && t[c] < 1.0f ? sg[c] : 0.0f;
    }
}

/* Keras' hsv_to_rgb of one pixel, in float32 as numpy */
static void hsv_to_rgb(const float *hsv, float *rgb) {
    float d[3], slope[3];
    ramps(mod1(hsv[0]) * 6.0f, d, slope);
    float s = hsv[1], v = hsv[2], oms = 1.0f - s;
    for (int c = 0; c < 3; c++) rgb[c] = v * (oms + s * d[c]);
}

/* J[i][c] = d hsv_i / d p_c of rgb_to_hsv at p (after its zeroing),
 * the branch Keras takes (the top of this file) */
static void rgb_to_hsv_jac(const float *p0, double J[3][3]) {
    float p[3] = {p0[0], p0[1], p0[2]}, hsv[3];
    int top;
    rgb_to_hsv(p, hsv, &top);
    int bot = 0;
    for (int c = 1; c < 3; c++)
        if (p[c] < p[bot]) bot = c;
    double v = p[top], range = v - (double)p[bot];
    double dv[3] = {0}, dr[3] = {0};
    dv[top] = 1.0, dr[top] += 1.0, dr[bot] -= 1.0;
    memset(J, 0, 9 * sizeof(double));
    if (range > 0.0) {
        int a = (top + 1) % 3, b = (top + 2) % 3; /* h = (p_a - p_b) / (6 range) + top / 3 */
        double num = (double)p[a] - (double)p[b];
        for (int c = 0; c < 3; c++)
            J[0][c] = ((c == a) - (c == b)) / (6.0 * range) - num * dr[c] / (6.0 * range * range);
    }
    for (int c = 0; c < 3; c++) {
        if (v > 0.0) J[1][c] = (dr[c] * v - range * dv[c]) / (v * v);
        J[2][c] = dv[c];
    }
    for (int c = 0; c < 3; c++)
        if (p[c] == 0.0f) J[0][c] = J[1][c] = J[2][c] = 0.0; /* zeroed (or 0): a constant */
}

/* K[c][i] = d rgb_c / d hsv_i of hsv_to_rgb at hsv */
static void hsv_to_rgb_jac(const float *hsv, double K[3][3]) {
    float d[3], slope[3];
    ramps(mod1(hsv[0]) * 6.0f, d, slope);
    double s = hsv[1], v = hsv[2];
    for (int c = 0; c < 3; c++) {
        K[c][0] = v * s * 6.0 * slope[c];
        K[c][1] = v * ((double)d[c] - 1.0);
        K[c][2] = 1.0 - s + s * (double)d[c];
    }
}

/* ------------------------------------------------------------ the maps */

/* RandomSaturation's pixel: x (r, g, b) -> y for k, the saturation clipped
 * to vr; hsv_out the changed HSV */
static void saturate_px(const float *x, float k, const float *vr, float *y, float *hsv) {
    float p[3] = {x[0], x[1], x[2]};
    int top;
    rgb_to_hsv(p, hsv, &top);
    hsv[1] = clipf(hsv[1] * k, vr[0], vr[1]);
    hsv_to_rgb(hsv, y);
}

/* RandomHue's pixel: x in value_range vr -> y, hue moved by delta; also
 * hsv_to_rgb's output before the clip (pre) and the changed HSV */
static int unit_range(const float *vr) { return vr[0] == 0.0f && vr[1] == 1.0f; }

static void hue_px(const float *x, float delta, const float *vr, float *y, float *pre, float *hsv) {
    int unit = unit_range(vr), top;
    float p[3];
    for (int c = 0; c < 3; c++) p[c] = unit ? x[c] : (x[c] - vr[0]) / (vr[1] - vr[0]);
    rgb_to_hsv(p, hsv, &top);
    float h = hsv[0] + delta;
    h = h > 1.0f ? h - 1.0f : h;
    hsv[0] = h < 0.0f ? h + 1.0f : h;
    hsv_to_rgb(hsv, pre);
    for (int c = 0; c < 3; c++) {
        float u = clipf(pre[c], 0.0f, 1.0f);
        y[c] = unit ? u : u * (vr[1] - vr[0]) + vr[0];
    }
}

void lf__hsv_image(lf_hsv_op op, size_t HW, size_t C, float k, const float *vr, const float *x, float *y) {
    for (size_t i = 0; i < HW; i++) {
        const float *xp = x + i * C;
        float *yp = y + i * C, hsv[3], pre[3];
        if (op == LF_HSV_SATURATION)
            saturate_px(xp, k, vr, yp, hsv);
        else if (op == LF_HSV_HUE)
            hue_px(xp, k, vr, yp, pre, hsv);
        else if (C == 3) { /* degeneration: x + k (gray - x), clipped */
            float gray = xp[0] * gray_w[0] + xp[1] * gray_w[1] + xp[2] * gray_w[2];
            for (size_t c = 0; c < 3; c++) yp[c] = clipf(xp[c] + k * (gray - xp[c]), vr[0], vr[1]);
        } else
            yp[0] = clipf(xp[0] + k * (xp[0] - xp[0]), vr[0], vr[1]);
    }
}

/* The transpose of lf__hsv_image's map, added to dx: per pixel dx += J^T g,
 * J the chain of the steps' Jacobians (double). */
void lf__hsv_image_grad(lf_hsv_op op, size_t HW, size_t C, float k, const float *vr, const float *x, const float *g,
                        float *dx) {
    for (size_t i = 0; i < HW; i++) {
        const float *xp = x + i * C, *gp = g + i * C;
        float *dp = dx + i * C, y[3], hsv[3], rgb[3];
        if (op == LF_HSV_DEGENERATION) {
            if (C == 1) {
                if (passes(xp[0] + k * (xp[0] - xp[0]), vr[0], vr[1])) dp[0] += gp[0];
                continue;
            }
            float gray = xp[0] * gray_w[0] + xp[1] * gray_w[1] + xp[2] * gray_w[2];
            double gc[3], sum = 0.0;
            for (int c = 0; c < 3; c++) {
                gc[c] = passes(xp[c] + k * (gray - xp[c]), vr[0], vr[1]) ? gp[c] : 0.0;
                sum += gc[c];
            }
            for (int c = 0; c < 3; c++) dp[c] += (float)((1.0 - k) * gc[c] + (double)k * gray_w[c] * sum);
            continue;
        }
        /* the gradient at hsv_to_rgb's output, in its [0, 1] or raw units */
        double go[3], in_scale = 1.0;
        float p[3];
        if (op == LF_HSV_SATURATION) {
            saturate_px(xp, k, vr, y, hsv);
            for (int c = 0; c < 3; c++) go[c] = gp[c], p[c] = xp[c];
        } else {
            hue_px(xp, k, vr, y, rgb, hsv);
            double span = unit_range(vr) ? 1.0 : (double)vr[1] - (double)vr[0];
            in_scale = 1.0 / span;
            for (int c = 0; c < 3; c++) {
                go[c] = passes(rgb[c], 0.0f, 1.0f) ? gp[c] * span : 0.0;
                p[c] = unit_range(vr) ? xp[c] : (xp[c] - vr[0]) / (vr[1] - vr[0]);
            }
        }
        double K[3][3], J[3][3], gh[3] = {0};
        hsv_to_rgb_jac(hsv, K);
        for (int j = 0; j < 3; j++)
            for (int c = 0; c < 3; c++) gh[j] += K[c][j] * go[c];
        if (op == LF_HSV_SATURATION) { /* S' = clip(S k): the pre-clip S */
            float q[3] = {xp[0], xp[1], xp[2]}, s0[3];
            int top;
            rgb_to_hsv(q, s0, &top);
            gh[1] = passes(s0[1] * k, vr[0], vr[1]) ? gh[1] * k : 0.0;
        }
        rgb_to_hsv_jac(p, J);
        for (int c = 0; c < 3; c++)
            dp[c] += (float)(in_scale * (J[0][c] * gh[0] + J[1][c] * gh[1] + J[2][c] * gh[2]));
    }
}

/* ------------------------------------------------------------ the layers */

static lf_hsv_op op_of(const lf_layer_type *t) {
    return t == &lf_type_random_saturation ? LF_HSV_SATURATION
           : t == &lf_type_random_hue     ? LF_HSV_HUE
                                          : LF_HSV_DEGENERATION;
}

/* the factor's lower bound: Keras' _FACTOR_BOUNDS[0] (RandomHue (0, 1),
 * the others the base layer's (-1, 1)) */
static float factor_bound(lf_hsv_op op) { return op == LF_HSV_HUE ? 0.0f : -1.0f; }

static int hsv_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 3);
    if (!x) return 0;
    lf_hsv_op op = op_of(t);
    float lo = nd->factor[0], hi = nd->factor[1], bound = factor_bound(op);
    if (!(lo <= hi && lo <= 1.0f && hi >= bound && isfinite(lo) && isfinite(hi)))
        return lf_build_fail(m, LF_ERR_ARG, "%s: factor must be a range [lower, upper] with lower <= 1 and upper >= %g, "
                             "got [%g, %g]", t->type, (double)bound, (double)lo, (double)hi);
    const float *vr = nd->value_range;
    if (!isfinite(vr[0]) || !isfinite(vr[1]))
        return lf_build_fail(m, LF_ERR_ARG, "%s: value_range must be two finite numbers, got [%g, %g]", t->type,
                             (double)vr[0], (double)vr[1]);
    if (op != LF_HSV_HUE && vr[0] > vr[1])
        return lf_build_fail(m, LF_ERR_ARG, "%s: value_range must be [low, high] with low <= high (Keras sorts it), "
                             "got [%g, %g]", t->type, (double)vr[0], (double)vr[1]);
    if (op == LF_HSV_HUE && vr[0] == vr[1])
        return lf_build_fail(m, LF_ERR_ARG, "RandomHue: value_range must have two different ends, got [%g, %g]",
                             (double)vr[0], (double)vr[1]);
    size_t C = x->shape[2];
    if (op == LF_HSV_DEGENERATION ? (C != 1 && C != 3) : C != 3)
        return lf_build_fail(m, LF_ERR_ARG, "%s: the images need %s channels (RGB, channels_last), got %zu", t->type,
                             op == LF_HSV_DEGENERATION ? "1 or 3" : "3", C);
    if (!lf_shape_set(m, t->type, nd, 3, x->shape)) return 0;
    nd->aux_per_row = 2; /* the row's draw: applied (1) or the identity (0), and k or delta */
    return 1;
}

static void hsv_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = nd->dim, HW = nd->shape[0] * nd->shape[1], C = nd->shape[2];
    lf_hsv_op op = op_of(c->t);
    float lo = nd->factor[0], hi = nd->factor[1];
    for (size_t r = 0; r < c->B; r++) {
        float *d = c->aux + 2 * r;
        d[0] = d[1] = 0.0f;
        if (!c->training || !c->draws) continue;
        uint64_t s = lf_draw_stream(c->draws->key, c->draw_id, c->draws->row0 + r);
        d[0] = 1.0f;
        if (op == LF_HSV_HUE) { /* Keras draws invert, then factor */
            float invert = lf_draw_uniform(s, 0) > 0.5f ? -1.0f : 1.0f;
            float f = lo + (hi - lo) * lf_draw_uniform(s, 1);
            d[1] = invert * f * 0.5f;
        } else {
            float f = lo + (hi - lo) * lf_draw_uniform(s, 0);
            d[1] = op == LF_HSV_SATURATION ? f / (1.0f - f + 1e-7f) : f;
        }
    }
#pragma omp parallel for if (c->B * D >= LF_AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *d = c->aux + 2 * r, *x = c->xs[0] + r * D;
        float *y = c->y + r * D;
        if (d[0] == 0.0f)
            memcpy(y, x, D * sizeof *y);
        else
            lf__hsv_image(op, HW, C, d[1], nd->value_range, x, y);
    }
}

static void hsv_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    const lf_node *nd = c->nd;
    size_t D = nd->dim, HW = nd->shape[0] * nd->shape[1], C = nd->shape[2];
    lf_hsv_op op = op_of(c->t);
#pragma omp parallel for if (c->B * D >= LF_AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *d = c->aux + 2 * r, *x = c->xs[0] + r * D, *g = c->dy + r * D;
        float *dxr = dx + r * D;
        if (d[0] == 0.0f)
            for (size_t j = 0; j < D; j++) dxr[j] += g[j];
        else
            lf__hsv_image_grad(op, HW, C, d[1], nd->value_range, x, g, dxr);
    }
}

/* factor always; value_range when not Keras' default (0, 255) */
static void hsv_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_arch_write_pair(b, "factor", nd->factor[0], nd->factor[1]);
    if (nd->value_range[0] != 0.0f || nd->value_range[1] != 255.0f)
        lf_arch_write_pair(b, "value_range", nd->value_range[0], nd->value_range[1]);
}

static lf_status hsv_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    (void)m;
    const char *type = lf_json_str(lf_json_get(L, "type"));
    lf_hsv_op op = type && strcmp(type, "RandomHue") == 0            ? LF_HSV_HUE
                   : type && strcmp(type, "RandomSaturation") == 0 ? LF_HSV_SATURATION
                                                                    : LF_HSV_DEGENERATION;
    lf_status st = lf_arch_arity(n_in, 1, type ? type : "RandomSaturation", where, e);
    if (st == LF_OK) st = lf_arch_float_pair(L, "factor", nd->factor, where, e);
    nd->value_range[0] = 0.0f, nd->value_range[1] = 255.0f;
    if (st == LF_OK && lf_json_get(L, "value_range"))
        st = lf_arch_float_pair(L, "value_range", nd->value_range, where, e);
    if (st != LF_OK) return st;
    float lo = nd->factor[0], hi = nd->factor[1];
    if (!(lo <= hi && lo <= 1.0f && hi >= factor_bound(op)))
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'factor' must be a pair [lower, upper] with lower <= 1 and upper >= %s",
                       where, op == LF_HSV_HUE ? "0" : "-1");
    if (op != LF_HSV_HUE && nd->value_range[0] > nd->value_range[1])
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'value_range' must be a pair [low, high] with low <= high", where);
    if (op == LF_HSV_HUE && nd->value_range[0] == nd->value_range[1])
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'value_range' must have two different ends", where);
    return LF_OK;
}

static const char *const hsv_keys[] = {"name", "type", "inbound", "factor", "value_range", NULL};

const lf_layer_type lf_type_random_saturation = {
    .type = "RandomSaturation",
    .prefix = "random_saturation",
    .keys = hsv_keys,
    .draws = 1,
    .infer = hsv_infer,
    .forward = hsv_forward,
    .backward = hsv_backward,
    .write_json = hsv_json,
    .read_json = hsv_read,
};

const lf_layer_type lf_type_random_hue = {
    .type = "RandomHue",
    .prefix = "random_hue",
    .keys = hsv_keys,
    .draws = 1,
    .infer = hsv_infer,
    .forward = hsv_forward,
    .backward = hsv_backward,
    .write_json = hsv_json,
    .read_json = hsv_read,
};

const lf_layer_type lf_type_random_color_degeneration = {
    .type = "RandomColorDegeneration",
    .prefix = "random_color_degeneration",
    .keys = hsv_keys,
    .draws = 1,
    .infer = hsv_infer,
    .forward = hsv_forward,
    .backward = hsv_backward,
    .write_json = hsv_json,
    .read_json = hsv_read,
};


int lf_random_saturation(lf_model *m, int x, float lower, float upper, float value_low, float value_high,
                         const char *name) {
    return lf_factor_layer_add(m, &lf_type_random_saturation, LF_K_RANDOM_SATURATION, x, lower, upper, value_low,
                               value_high, name);
}

int lf_random_hue(lf_model *m, int x, float lower, float upper, float value_low, float value_high, const char *name) {
    return lf_factor_layer_add(m, &lf_type_random_hue, LF_K_RANDOM_HUE, x, lower, upper, value_low, value_high, name);
}

int lf_random_color_degeneration(lf_model *m, int x, float lower, float upper, float value_low, float value_high,
                                 const char *name) {
    return lf_factor_layer_add(m, &lf_type_random_color_degeneration, LF_K_RANDOM_COLOR_DEGENERATION, x, lower,
                               upper, value_low, value_high, name);
}

/* ----------------------------------------------------- RandomColorJitter */

/* Keras 3's RandomColorJitter (random_color_jitter.py): its sub-layers in
 * Keras' order, each on the previous one's output, with augment.c's
 * brightness and contrast maps and this file's saturation and hue.  Each
 * row draws from its stream: brightness draw 0, contrast 1, saturation 2,
 * hue 3 (the sign) and 4.  aux per row: [applied, brightness delta,
 * contrast k, saturation k, hue delta, 0, 0, 0], then the inputs of the
 * second, third and fourth stages (D values each) for the backward pass,
 * then two images of scratch for the gradient between the stages. */

enum { JIT_B = 1, JIT_C = 2, JIT_S = 4, JIT_H = 8, JIT_HEAD = 8 };

static const char *const jitter_keys[] = {"name",           "type",        "inbound",           "value_range",
                                          "brightness_factor", "contrast_factor", "saturation_factor",
                                          "hue_factor",     NULL};

/* the factor keys, the bits and the sub-layers' lower bounds, in order */
static const char *const jitter_names[4] = {"brightness_factor", "contrast_factor", "saturation_factor", "hue_factor"};
static const float jitter_bound[4] = {-1.0f, 0.0f, -1.0f, 0.0f};

static void sorted_range(const float *vr, float *s) {
    s[0] = fminf(vr[0], vr[1]), s[1] = fmaxf(vr[0], vr[1]);
}

static int jitter_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 3);
    if (!x) return 0;
    for (int i = 0; i < 4; i++) {
        if (!(nd->jitter_on >> i & 1)) continue;
        float lo = nd->jitter[2 * i], hi = nd->jitter[2 * i + 1];
        if (!(lo <= hi && lo <= 1.0f && hi >= jitter_bound[i] && isfinite(lo) && isfinite(hi)))
            return lf_build_fail(m, LF_ERR_ARG, "RandomColorJitter: %s must be a range [lower, upper] with lower <= 1 "
                                 "and upper >= %g, got [%g, %g]", jitter_names[i], (double)jitter_bound[i],
                                 (double)lo, (double)hi);
    }
    const float *vr = nd->value_range;
    if (!isfinite(vr[0]) || !isfinite(vr[1]))
        return lf_build_fail(m, LF_ERR_ARG, "RandomColorJitter: value_range must be two finite numbers, got [%g, %g]",
                             (double)vr[0], (double)vr[1]);
    if ((nd->jitter_on & JIT_H) && vr[0] == vr[1])
        return lf_build_fail(m, LF_ERR_ARG, "RandomColorJitter: value_range must have two different ends with a "
                             "hue_factor, got [%g, %g]", (double)vr[0], (double)vr[1]);
    if ((nd->jitter_on & (JIT_S | JIT_H)) && x->shape[2] != 3)
        return lf_build_fail(m, LF_ERR_ARG, "RandomColorJitter: the images need 3 channels (RGB, channels_last) with "
                             "a saturation_factor or hue_factor, got %zu", x->shape[2]);
    if (!lf_shape_set(m, t->type, nd, 3, x->shape)) return 0;
    nd->aux_per_row = JIT_HEAD + 5 * nd->dim;
    return 1;
}

/* stage i (0 brightness .. 3 hue) of one image x -> y with its draw v */
static void jitter_stage(const lf_node *nd, int i, float v, const float *x, float *y) {
    size_t H = nd->shape[0], W = nd->shape[1], C = nd->shape[2];
    float s[2];
    sorted_range(nd->value_range, s);
    if (i == 0)
        lf__brightness_image(nd->dim, v, s, x, y);
    else if (i == 1)
        lf__contrast_image(H, W, C, v, nd->value_range, x, y);
    else if (i == 2)
        lf__hsv_image(LF_HSV_SATURATION, H * W, C, v, s, x, y);
    else
        lf__hsv_image(LF_HSV_HUE, H * W, C, v, nd->value_range, x, y);
}

/* its transpose: g at y -> added to dx */
static void jitter_stage_grad(const lf_node *nd, int i, float v, const float *x, const float *g, float *dx) {
    size_t H = nd->shape[0], W = nd->shape[1], C = nd->shape[2];
    float s[2];
    sorted_range(nd->value_range, s);
    if (i == 0)
        lf__brightness_image_grad(nd->dim, v, s, x, g, dx);
    else if (i == 1)
        lf__contrast_image_grad(H, W, C, v, nd->value_range, x, g, dx);
    else if (i == 2)
        lf__hsv_image_grad(LF_HSV_SATURATION, H * W, C, v, s, x, g, dx);
    else
        lf__hsv_image_grad(LF_HSV_HUE, H * W, C, v, nd->value_range, x, g, dx);
}

static void jitter_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = nd->dim, A = nd->aux_per_row;
    const float *f = nd->jitter;
    float s[2];
    sorted_range(nd->value_range, s);
    for (size_t r = 0; r < c->B; r++) {
        float *d = c->aux + A * r;
        memset(d, 0, JIT_HEAD * sizeof *d);
        if (!c->training || !c->draws) continue;
        uint64_t st = lf_draw_stream(c->draws->key, c->draw_id, c->draws->row0 + r);
        d[0] = 1.0f;
        /* the sub-layers' draws, as their own layers make them (augment.c, above) */
        d[1] = (f[0] + (f[1] - f[0]) * lf_draw_uniform(st, 0)) * (s[1] - s[0]);
        float a = 1.0f - f[2], b = 1.0f + f[3];
        d[2] = a + (b - a) * lf_draw_uniform(st, 1);
        float v = f[4] + (f[5] - f[4]) * lf_draw_uniform(st, 2);
        d[3] = v / (1.0f - v + 1e-7f);
        float invert = lf_draw_uniform(st, 3) > 0.5f ? -1.0f : 1.0f;
        d[4] = invert * (f[6] + (f[7] - f[6]) * lf_draw_uniform(st, 4)) * 0.5f;
    }
#pragma omp parallel for if (c->B * D >= LF_AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *d = c->aux + A * r, *x = c->xs[0] + r * D;
        float *y = c->y + r * D, *keep = c->aux + A * r + JIT_HEAD;
        if (d[0] == 0.0f || !nd->jitter_on) {
            memcpy(y, x, D * sizeof *y);
            continue;
        }
        const float *cur = x;
        int last = 0;
        for (int i = 0; i < 4; i++)
            if (nd->jitter_on >> i & 1) last = i;
        for (int i = 0, k = 0; i < 4; i++) {
            if (!(nd->jitter_on >> i & 1)) continue;
            float *out = i == last ? y : keep + (size_t)k++ * D; /* the next stage's input, kept */
            jitter_stage(nd, i, d[1 + i], cur, out);
            cur = out;
        }
    }
}

static void jitter_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    const lf_node *nd = c->nd;
    size_t D = nd->dim, A = nd->aux_per_row;
#pragma omp parallel for if (c->B * D >= LF_AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *d = c->aux + A * r, *x = c->xs[0] + r * D, *g = c->dy + r * D;
        float *keep = c->aux + A * r + JIT_HEAD, *scratch[2] = {keep + 3 * D, keep + 4 * D};
        float *dxr = dx + r * D;
        if (d[0] == 0.0f || !nd->jitter_on) {
            for (size_t j = 0; j < D; j++) dxr[j] += g[j];
            continue;
        }
        int stages[4], n = 0;
        for (int i = 0; i < 4; i++)
            if (nd->jitter_on >> i & 1) stages[n++] = i;
        const float *gin = g; /* the gradient at the output of stage k */
        for (int k = n - 1; k >= 0; k--) {
            const float *in = k == 0 ? x : keep + (size_t)(k - 1) * D;
            float *gout = k == 0 ? dxr : scratch[k % 2];
            if (k > 0) memset(gout, 0, D * sizeof *gout);
            jitter_stage_grad(nd, stages[k], d[1 + stages[k]], in, gin, gout);
            gin = gout;
        }
    }
}

/* value_range when not (0, 255); the factors given (Keras writes null for
 * the others) */
static void jitter_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    if (nd->value_range[0] != 0.0f || nd->value_range[1] != 255.0f)
        lf_arch_write_pair(b, "value_range", nd->value_range[0], nd->value_range[1]);
    for (int i = 0; i < 4; i++)
        if (nd->jitter_on >> i & 1) lf_arch_write_pair(b, jitter_names[i], nd->jitter[2 * i], nd->jitter[2 * i + 1]);
}

static lf_status jitter_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                             lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "RandomColorJitter", where, e);
    nd->value_range[0] = 0.0f, nd->value_range[1] = 255.0f;
    if (st == LF_OK && lf_json_get(L, "value_range"))
        st = lf_arch_float_pair(L, "value_range", nd->value_range, where, e);
    for (int i = 0; st == LF_OK && i < 4; i++) {
        const lf_json *v = lf_json_get(L, jitter_names[i]);
        if (!v || lf_json_is(v, LF_JSON_NULL)) continue;
        st = lf_arch_float_pair(L, jitter_names[i], nd->jitter + 2 * i, where, e);
        if (st != LF_OK) break;
        float lo = nd->jitter[2 * i], hi = nd->jitter[2 * i + 1];
        if (!(lo <= hi && lo <= 1.0f && hi >= jitter_bound[i]))
            return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be a pair [lower, upper] with lower <= 1 and upper >= %s",
                           where, jitter_names[i], jitter_bound[i] < 0 ? "-1" : "0");
        nd->jitter_on |= 1 << i;
    }
    if (st == LF_OK && (nd->jitter_on & JIT_H) && nd->value_range[0] == nd->value_range[1])
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'value_range' must have two different ends", where);
    return st;
}

const lf_layer_type lf_type_random_color_jitter = {
    .type = "RandomColorJitter",
    .prefix = "random_color_jitter",
    .keys = jitter_keys,
    .draws = 1,
    .infer = jitter_infer,
    .forward = jitter_forward,
    .backward = jitter_backward,
    .write_json = jitter_json,
    .read_json = jitter_read,
};

int lf_random_color_jitter(lf_model *m, int x, float value_low, float value_high, const float *brightness,
                           const float *contrast, const float *saturation, const float *hue, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.value_range[0] = value_low, nd.value_range[1] = value_high;
    const float *f[4] = {brightness, contrast, saturation, hue};
    for (int i = 0; i < 4; i++)
        if (f[i]) nd.jitter_on |= 1 << i, nd.jitter[2 * i] = f[i][0], nd.jitter[2 * i + 1] = f[i][1];
    return lf_node_add(m, &lf_type_random_color_jitter, LF_K_RANDOM_COLOR_JITTER, nd, &x, 1, name);
}
