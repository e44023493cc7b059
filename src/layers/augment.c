/*
 * augment.c — Keras' image preprocessing layers.
 *
 * Rescaling(scale, offset): y = x * scale + offset, any shape (e.g. 1/255
 * for uint8 pixels); a padding mask passes through, as in Keras 3.
 *
 * RandomFlip(mode) and RandomTranslation(height_factor, width_factor):
 * train-only augmentation of channels-last images (H, W, C), the identity in
 * evaluate and predict.  In a training pass each row draws from its own
 * stream (lf_draws: a pure function of the fit's seed, epoch and step, the
 * node and the row's global index in the batch, as dropout's masks), so a
 * fit stays reproducible from its seed whatever the number of MPI ranks:
 *  - RandomFlip: "horizontal" mirrors the columns with probability 1/2,
 *    "vertical" the rows, "horizontal_and_vertical" draws both;
 *  - RandomTranslation: a shift of round(u H) rows, u uniform in
 *    [-height_factor, height_factor] (likewise round(v W) columns), the
 *    image moving down / right for a positive shift.  What is supported of
 *    Keras' options: fill_mode "constant" with fill_value 0 and
 *    interpolation "nearest" (integer shifts); Keras' defaults ("reflect",
 *    "bilinear") are not implemented.
 * aux keeps each row's draw for the backward pass, which routes the
 * gradient back through the same map.
 */
#include "layers/layer.h"

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

/* Batches of at least this many values are shared out to the threads (by
 * values here, by rows below): every value is computed the same way on any
 * thread. */
#define AUG_PARALLEL 65536

static void rescale_forward(const lf_layer_ctx *c) {
    size_t n = c->B * c->nd->dim;
    float s = c->nd->scale, o = c->nd->offset;
    const float *x = c->xs[0];
    float *y = c->y;
#pragma omp parallel for if (n >= AUG_PARALLEL) schedule(static)
    for (size_t j = 0; j < n; j++) y[j] = x[j] * s + o;
}

static void rescale_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    size_t n = c->B * c->nd->dim;
    float s = c->nd->scale;
    const float *dy = c->dy;
#pragma omp parallel for if (n >= AUG_PARALLEL) schedule(static)
    for (size_t j = 0; j < n; j++) dx[j] += dy[j] * s;
}

static void rescale_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_puts(b, ",\"scale\":");
    lf_buf_json_float(b, nd->scale);
    lf_buf_puts(b, ",\"offset\":");
    lf_buf_json_float(b, nd->offset);
}

static lf_status rescale_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                              const char *where, lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "Rescaling", where, e);
    if (st == LF_OK) st = lf_arch_float(L, "scale", -1e30f, 1e30f, &nd->scale, where, e);
    if (st == LF_OK) st = lf_arch_float(L, "offset", -1e30f, 1e30f, &nd->offset, where, e);
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

/* ---------------------------------------------- RandomFlip, RandomTranslation */

enum { AUG_FLIP, AUG_TRANSLATE };

static const char *const flip_names[] = {NULL, "horizontal", "vertical", "horizontal_and_vertical"};

static int aug_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 3);
    if (!x) return 0;
    if (t->op == AUG_FLIP && (nd->mode < LF_FLIP_HORIZONTAL || nd->mode > LF_FLIP_HORIZONTAL_AND_VERTICAL))
        return lf_build_fail(m, LF_ERR_ARG, "RandomFlip: unknown mode %d", nd->mode);
    if (t->op == AUG_TRANSLATE && !(nd->scale >= 0.0f && nd->scale <= 1.0f && nd->offset >= 0.0f &&
                                    nd->offset <= 1.0f))
        return lf_build_fail(m, LF_ERR_ARG,
                             "RandomTranslation: height_factor and width_factor must be in [0, 1], got %g and %g",
                             (double)nd->scale, (double)nd->offset);
    if (!lf_shape_set(m, t->type, nd, 3, x->shape)) return 0;
    nd->aux_per_row = 2; /* the row's draw: flips or shifts (rows, columns) */
    return 1;
}

/* Where output row py (W pixels of C values) of a row with draw d (2
 * values) comes from: source row *sy, or none (returns 0: the whole row is
 * translation's constant fill).  A flip reads the row's pixels in reverse
 * order when *mirror; a translation copies output columns [*x0, *x1) from
 * columns px - *shift, and fills the others. */
static int row_map(int op, const float *d, const lf_node *nd, size_t py, size_t *sy, int *mirror,
                   long *shift, size_t *x0, size_t *x1) {
    size_t H = nd->shape[0], W = nd->shape[1];
    *mirror = 0, *shift = 0, *x0 = 0, *x1 = W;
    if (op == AUG_FLIP) {
        *sy = d[0] != 0.0f ? H - 1 - py : py;
        *mirror = d[1] != 0.0f;
        return 1;
    }
    long ly = (long)py - (long)d[0], s = (long)d[1];
    if (ly < 0 || ly >= (long)H || s >= (long)W || -s >= (long)W) return 0;
    *sy = (size_t)ly, *shift = s;
    *x0 = s > 0 ? (size_t)s : 0;
    *x1 = s < 0 ? W - (size_t)-s : W;
    return 1;
}

static void aug_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t D = nd->dim, H = nd->shape[0], W = nd->shape[1], C = nd->shape[2];
    int op = c->t->op;
    for (size_t r = 0; r < c->B; r++) { /* draws 0 and 1 of the row's stream (lf_draws) */
        float *d = c->aux + 2 * r;
        d[0] = d[1] = 0.0f;
        if (c->training && c->draws) {
            uint64_t s = lf_draw_stream(c->draws->key, c->draw_id, c->draws->row0 + r);
            if (op == AUG_FLIP) {
                if (nd->mode & LF_FLIP_VERTICAL) d[0] = lf_draw_uniform(s, 0) < 0.5f;
                if (nd->mode & LF_FLIP_HORIZONTAL) d[1] = lf_draw_uniform(s, 1) < 0.5f;
            } else {
                float u = (2.0f * lf_draw_uniform(s, 0) - 1.0f) * nd->scale;
                float v = (2.0f * lf_draw_uniform(s, 1) - 1.0f) * nd->offset;
                d[0] = floorf(u * (float)H + 0.5f);
                d[1] = floorf(v * (float)W + 0.5f);
            }
        }
    }
    /* a row at a time: a mirrored row pixel by pixel, a shifted one as a
     * run (memcpy) between its fills */
#pragma omp parallel for if (c->B * D >= AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *d = c->aux + 2 * r;
        const float *x = c->xs[0] + r * D;
        float *y = c->y + r * D;
        for (size_t py = 0; py < H; py++) {
            size_t sy, x0, x1;
            int mirror;
            long shift;
            float *yr = y + py * W * C;
            if (!row_map(op, d, nd, py, &sy, &mirror, &shift, &x0, &x1)) {
                memset(yr, 0, W * C * sizeof *yr);
                continue;
            }
            const float *xr = x + sy * W * C;
            if (mirror) {
                for (size_t px = 0; px < W; px++)
                    memcpy(yr + px * C, xr + (W - 1 - px) * C, C * sizeof *yr);
                continue;
            }
            memset(yr, 0, x0 * C * sizeof *yr);
            memcpy(yr + x0 * C, xr + (size_t)((long)x0 - shift) * C, (x1 - x0) * C * sizeof *yr);
            memset(yr + x1 * C, 0, (W - x1) * C * sizeof *yr);
        }
    }
}

static void aug_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    const lf_node *nd = c->nd;
    size_t D = nd->dim, H = nd->shape[0], W = nd->shape[1], C = nd->shape[2];
#pragma omp parallel for if (c->B * D >= AUG_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        const float *d = c->aux + 2 * r, *dy = c->dy + r * D;
        float *dxr = dx + r * D;
        for (size_t py = 0; py < H; py++) {
            size_t sy, x0, x1;
            int mirror;
            long shift;
            if (!row_map(c->t->op, d, nd, py, &sy, &mirror, &shift, &x0, &x1)) continue;
            const float *g = dy + py * W * C;
            float *di = dxr + sy * W * C;
            if (mirror) {
                for (size_t px = 0; px < W; px++)
                    for (size_t ch = 0; ch < C; ch++) di[(W - 1 - px) * C + ch] += g[px * C + ch];
                continue;
            }
            /* output columns [x0, x1) came from x0 - shift.. */
            float *dr = di + (size_t)((long)x0 - shift) * C;
            const float *gr = g + x0 * C;
            for (size_t j = 0; j < (x1 - x0) * C; j++) dr[j] += gr[j];
        }
    }
}

static void flip_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"mode\":\"%s\"", flip_names[nd->mode]);
}

static lf_status flip_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                           lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "RandomFlip", where, e);
    if (st != LF_OK) return st;
    const char *s = lf_arch_str(L, "mode");
    for (int i = 1; i <= 3; i++)
        if (s && strcmp(s, flip_names[i]) == 0) return nd->mode = i, LF_OK;
    return lf_fail(e, LF_ERR_FORMAT,
                   "%s: 'mode' must be \"horizontal\", \"vertical\" or \"horizontal_and_vertical\"", where);
}

static void translate_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_puts(b, ",\"height_factor\":");
    lf_buf_json_float(b, nd->scale);
    lf_buf_puts(b, ",\"width_factor\":");
    lf_buf_json_float(b, nd->offset);
    lf_buf_puts(b, ",\"fill_mode\":\"constant\",\"interpolation\":\"nearest\"");
}

static lf_status translate_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                                const char *where, lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "RandomTranslation", where, e);
    if (st == LF_OK) st = lf_arch_float(L, "height_factor", 0, 1, &nd->scale, where, e);
    if (st == LF_OK) st = lf_arch_float(L, "width_factor", 0, 1, &nd->offset, where, e);
    const char *f = lf_arch_str(L, "fill_mode"), *i = lf_arch_str(L, "interpolation");
    if (st == LF_OK && (!f || strcmp(f, "constant") != 0 || !i || strcmp(i, "nearest") != 0))
        st = lf_fail(e, LF_ERR_FORMAT, "%s: only fill_mode \"constant\" and interpolation \"nearest\" are supported",
                     where);
    return st;
}

static const char *const flip_keys[] = {"name", "type", "inbound", "mode", NULL};
static const char *const translate_keys[] = {"name", "type", "inbound", "height_factor", "width_factor",
                                             "fill_mode", "interpolation", NULL};

const lf_layer_type lf_type_random_flip = {
    .type = "RandomFlip",
    .prefix = "random_flip",
    .keys = flip_keys,
    .op = AUG_FLIP,
    .draws = 1,
    .infer = aug_infer,
    .forward = aug_forward,
    .backward = aug_backward,
    .write_json = flip_json,
    .read_json = flip_read,
};

const lf_layer_type lf_type_random_translation = {
    .type = "RandomTranslation",
    .prefix = "random_translation",
    .keys = translate_keys,
    .op = AUG_TRANSLATE,
    .draws = 1,
    .infer = aug_infer,
    .forward = aug_forward,
    .backward = aug_backward,
    .write_json = translate_json,
    .read_json = translate_read,
};

int lf_random_flip(lf_model *m, int x, lf_flip mode, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.mode = (int)mode;
    return lf_node_add(m, &lf_type_random_flip, LF_K_RANDOM_FLIP, nd, &x, 1, name);
}

int lf_random_translation(lf_model *m, int x, float height_factor, float width_factor, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.scale = height_factor;
    nd.offset = width_factor;
    return lf_node_add(m, &lf_type_random_translation, LF_K_RANDOM_TRANSLATION, nd, &x, 1, name);
}
