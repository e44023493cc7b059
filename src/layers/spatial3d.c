/*
 * spatial3d.c — layers that move the voxels of channels-last volumes
 * x (B, D, H, W, C) without weights: Keras' UpSampling3D, ZeroPadding3D
 * and Cropping3D, the decoder side of 3-D U-Nets and C3D's padding
 * (spatial.c holds their 2-D and 1-D forms).
 *
 * UpSampling3D(size=(sd, sh, sw)): y (B, D sd, H sh, W sw, C), each frame
 * repeated sd times, each row sh times, each column sw times
 * (keras/src/layers/reshaping/up_sampling3d.py: ops.repeat on axes 1, 2,
 * 3; nearest only, as Keras).
 * ZeroPadding3D(padding=((d0, d1), (h0, h1), (w0, w1))): y (B, D + d0 + d1,
 * H + h0 + h1, W + w0 + w1, C), zeros around x (zero_padding3d.py).
 * Cropping3D(cropping=((d0, d1), (h0, h1), (w0, w1))): y = x[:, d0:D - d1,
 * h0:H - h1, w0:W - w1, :] (cropping3d.py; a crop that leaves no voxel on
 * an axis is refused with Keras' message).
 * Backward passes add dy back onto dx: the repeats' sums, the voxels kept.
 * None supports masking in Keras 3 (no compute_mask): a padding mask ends
 * at each.
 */
#include "layers/layer.h"

#include <string.h>

/* ------------------------------------------------------------ UpSampling3D */

static int up3_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "UpSampling3D", in, n_in, 4);
    if (!x) return 0;
    const size_t *s = nd->kernel;
    for (int a = 0; a < 3; a++)
        if (s[a] == 0 || s[a] > 1024)
            return lf_build_fail(m, LF_ERR_ARG, "UpSampling3D: size must be in 1..1024, got (%zu, %zu, %zu)", s[0],
                                 s[1], s[2]);
    size_t out[4] = {x->shape[0] * s[0], x->shape[1] * s[1], x->shape[2] * s[2], x->shape[3]};
    return lf_shape_set(m, "UpSampling3D", nd, 4, out);
}

/* y: (D sd, H sh, W sw, C)  x: (D, H, W, C); one sample.  Voxel (od, oy,
 * ox) of y is voxel (od / sd, oy / sh, ox / sw) of x. */
static void upsampling3d_forward(float *restrict y, const float *restrict x, size_t D, size_t H, size_t W, size_t C,
                                 const size_t *s) {
    size_t Do = D * s[0], Ho = H * s[1], Wo = W * s[2];
    for (size_t od = 0; od < Do; od++)
        for (size_t oy = 0; oy < Ho; oy++)
            for (size_t ox = 0; ox < Wo; ox++)
                memcpy(y + ((od * Ho + oy) * Wo + ox) * C, x + (((od / s[0]) * H + oy / s[1]) * W + ox / s[2]) * C,
                       C * sizeof *y);
}

/* dx: (D, H, W, C) += the sums of dy (D sd, H sh, W sw, C) over each
 * voxel's repeats */
static void upsampling3d_backward(float *restrict dx, const float *restrict dy, size_t D, size_t H, size_t W,
                                  size_t C, const size_t *s) {
    size_t Do = D * s[0], Ho = H * s[1], Wo = W * s[2];
    for (size_t od = 0; od < Do; od++)
        for (size_t oy = 0; oy < Ho; oy++)
            for (size_t ox = 0; ox < Wo; ox++) {
                const float *g = dy + ((od * Ho + oy) * Wo + ox) * C;
                float *d = dx + (((od / s[0]) * H + oy / s[1]) * W + ox / s[2]) * C;
                for (size_t ch = 0; ch < C; ch++) d[ch] += g[ch];
            }
}

static void up3_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd, *xn = &c->m->nodes[nd->in[0]];
    const size_t *sh = xn->shape;
    for (size_t r = 0; r < c->B; r++)
        upsampling3d_forward(c->y + r * nd->dim, c->xs[0] + r * xn->dim, sh[0], sh[1], sh[2], sh[3], nd->kernel);
}

static void up3_backward(const lf_layer_ctx *c) {
    if (!c->dxs[0]) return;
    const lf_node *nd = c->nd, *xn = &c->m->nodes[nd->in[0]];
    const size_t *sh = xn->shape;
    for (size_t r = 0; r < c->B; r++)
        upsampling3d_backward(c->dxs[0] + r * xn->dim, c->dy + r * nd->dim, sh[0], sh[1], sh[2], sh[3], nd->kernel);
}

static void up3_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"size\":[%zu,%zu,%zu]", nd->kernel[0], nd->kernel[1], nd->kernel[2]);
}

static lf_status up3_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "UpSampling3D", where, e);
    if (st != LF_OK) return st;
    return lf_arch_sizes(L, "size", 1, 1024, 3, 3, nd->kernel, NULL, where, e);
}

static const char *const up3_keys[] = {"name", "type", "inbound", "size", NULL};

const lf_layer_type lf_type_upsampling3d = {
    .type = "UpSampling3D",
    .prefix = "up_sampling3d",
    .keys = up3_keys,
    .infer = up3_infer,
    .forward = up3_forward,
    .backward = up3_backward,
    .write_json = up3_json,
    .read_json = up3_read,
};

int lf_upsampling3d(lf_model *m, int x, size_t sd, size_t sh, size_t sw, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.kernel[0] = sd, nd.kernel[1] = sh, nd.kernel[2] = sw;
    return lf_node_add(m, &lf_type_upsampling3d, LF_K_UPSAMPLING3D, nd, &x, 1, name);
}

/* ------------------------------------------- ZeroPadding3D and Cropping3D */

/* nd->crop: (d0, d1, h0, h1, w0, w1) voxels added (ZeroPadding3D) or
 * removed (Cropping3D, the record's op 1) before and after each axis */
static int edge3_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 4);
    if (!x) return 0;
    const size_t *p = nd->crop;
    for (int k = 0; k < 6; k++)
        if (p[k] > LF_ARCH_MAX_DIM)
            return lf_build_fail(m, LF_ERR_ARG, "%s: %s must be in 0..%zu, got ((%zu, %zu), (%zu, %zu), (%zu, %zu))",
                                 t->type, t->op ? "cropping" : "padding", LF_ARCH_MAX_DIM, p[0], p[1], p[2], p[3],
                                 p[4], p[5]);
    size_t out[4] = {x->shape[0], x->shape[1], x->shape[2], x->shape[3]};
    for (int a = 0; a < 3; a++) {
        if (!t->op) {
            out[a] += p[2 * a] + p[2 * a + 1];
        } else if (p[2 * a] + p[2 * a + 1] >= out[a]) {
            /* Keras' message (cropping3d.py compute_output_shape) */
            char s[96];
            lf_shape_str(x, s, sizeof s);
            return lf_build_fail(m, LF_ERR_SHAPE,
                                 "Cropping3D: Values in `cropping` argument should be smaller than the corresponding "
                                 "spatial dimension of the input. Received: input_shape=%s, cropping=((%zu, %zu), "
                                 "(%zu, %zu), (%zu, %zu))",
                                 s, p[0], p[1], p[2], p[3], p[4], p[5]);
        } else {
            out[a] -= p[2 * a] + p[2 * a + 1];
        }
    }
    return lf_shape_set(m, t->type, nd, 4, out);
}

/* The padded volume (ZeroPadding3D's y, Cropping3D's x) is (Dp, Hp, Wp, C),
 * the inner one (Di, Hi, Wi, C); voxel (i, j, k) of the inner volume is
 * voxel (i + d0, j + h0, k + w0) of the padded one. */
typedef struct edge3_geom {
    size_t Dp, Hp, Wp, Di, Hi, Wi, C, d0, h0, w0;
} edge3_geom;

static edge3_geom edge3_of(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd, *xn = &c->m->nodes[nd->in[0]];
    const size_t *big = c->t->op ? xn->shape : nd->shape, *small = c->t->op ? nd->shape : xn->shape;
    edge3_geom g = {.Dp = big[0], .Hp = big[1], .Wp = big[2], .Di = small[0], .Hi = small[1], .Wi = small[2],
                    .C = big[3], .d0 = nd->crop[0], .h0 = nd->crop[2], .w0 = nd->crop[4]};
    return g;
}

/* dst, src: one sample's inner volume (Di, Hi, Wi, C) and padded volume
 * (Dp, Hp, Wp, C), dst the inner one when to_inner.  The inner voxels of
 * src are copied (add: added) onto those of dst: to_inner is Cropping3D's
 * forward and ZeroPadding3D's backward, !to_inner ZeroPadding3D's forward
 * (after zeroing dst) and Cropping3D's backward. */
static void edge3_move(float *restrict dst, const float *restrict src, const edge3_geom *g, int to_inner, int add) {
    size_t run = g->Wi * g->C;
    for (size_t i = 0; i < g->Di; i++)
        for (size_t j = 0; j < g->Hi; j++) {
            size_t a = (i * g->Hi + j) * run, p = (((i + g->d0) * g->Hp + j + g->h0) * g->Wp + g->w0) * g->C;
            float *d = dst + (to_inner ? a : p);
            const float *s = src + (to_inner ? p : a);
            if (add)
                for (size_t k = 0; k < run; k++) d[k] += s[k];
            else
                memcpy(d, s, run * sizeof *d);
        }
}

static void edge3_forward(const lf_layer_ctx *c) {
    edge3_geom g = edge3_of(c);
    size_t big = g.Dp * g.Hp * g.Wp * g.C, small = g.Di * g.Hi * g.Wi * g.C;
    for (size_t r = 0; r < c->B; r++) {
        const float *x = c->xs[0] + r * (c->t->op ? big : small);
        float *y = c->y + r * (c->t->op ? small : big);
        if (!c->t->op) memset(y, 0, big * sizeof *y);
        edge3_move(y, x, &g, c->t->op, 0);
    }
}

static void edge3_backward(const lf_layer_ctx *c) {
    float *dxs = c->dxs[0];
    if (!dxs) return;
    edge3_geom g = edge3_of(c);
    size_t big = g.Dp * g.Hp * g.Wp * g.C, small = g.Di * g.Hi * g.Wi * g.C;
    for (size_t r = 0; r < c->B; r++) {
        float *dx = dxs + r * (c->t->op ? big : small);
        const float *dy = c->dy + r * (c->t->op ? small : big);
        edge3_move(dx, dy, &g, !c->t->op, 1);
    }
}

static void edge3_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    const lf_layer_type *t = lf_type_of(nd);
    const size_t *p = nd->crop;
    lf_buf_printf(b, ",\"%s\":[[%zu,%zu],[%zu,%zu],[%zu,%zu]]", t->op ? "cropping" : "padding", p[0], p[1], p[2],
                  p[3], p[4], p[5]);
}

/* (the node's kind is not set yet: t names it) */
static lf_status edge3_read(const lf_layer_type *t, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                            lf_err *e) {
    const char *key = t->op ? "cropping" : "padding";
    lf_status st = lf_arch_arity(n_in, 1, t->type, where, e);
    if (st != LF_OK) return st;
    const lf_json *a = lf_json_get(L, key);
    int ok = lf_json_is(a, LF_JSON_ARRAY) && lf_json_len(a) == 3;
    for (size_t k = 0; ok && k < 3; k++) {
        const lf_json *pair = lf_json_at(a, k);
        ok = lf_json_is(pair, LF_JSON_ARRAY) && lf_json_len(pair) == 2;
        for (size_t j = 0; ok && j < 2; j++)
            ok = lf_json_size(lf_json_at(pair, j), &nd->crop[2 * k + j]) && nd->crop[2 * k + j] <= LF_ARCH_MAX_DIM;
    }
    if (!ok)
        return lf_fail(e, LF_ERR_FORMAT,
                       "%s: '%s' must be [[d0, d1], [h0, h1], [w0, w1]], integers in 0..%zu", where, key,
                       LF_ARCH_MAX_DIM);
    return LF_OK;
}

static lf_status pad3_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                           lf_err *e) {
    (void)m;
    return edge3_read(&lf_type_zero_padding3d, L, n_in, nd, where, e);
}

static lf_status crop3_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                            lf_err *e) {
    (void)m;
    return edge3_read(&lf_type_cropping3d, L, n_in, nd, where, e);
}

static const char *const pad3_keys[] = {"name", "type", "inbound", "padding", NULL};
static const char *const crop3_keys[] = {"name", "type", "inbound", "cropping", NULL};

const lf_layer_type lf_type_zero_padding3d = {
    .type = "ZeroPadding3D",
    .prefix = "zero_padding3d",
    .keys = pad3_keys,
    .op = 0,
    .infer = edge3_infer,
    .forward = edge3_forward,
    .backward = edge3_backward,
    .write_json = edge3_json,
    .read_json = pad3_read,
};

const lf_layer_type lf_type_cropping3d = {
    .type = "Cropping3D",
    .prefix = "cropping3d",
    .keys = crop3_keys,
    .op = 1,
    .infer = edge3_infer,
    .forward = edge3_forward,
    .backward = edge3_backward,
    .write_json = edge3_json,
    .read_json = crop3_read,
};

static int edge3_add(lf_model *m, const lf_layer_type *t, lf_kind kind, int x, const size_t p[6], const char *name) {
    lf_node nd = LF_NODE_PROTO;
    memcpy(nd.crop, p, 6 * sizeof *p);
    return lf_node_add(m, t, kind, nd, &x, 1, name);
}

int lf_zero_padding3d(lf_model *m, int x, size_t d0, size_t d1, size_t h0, size_t h1, size_t w0, size_t w1,
                      const char *name) {
    const size_t p[6] = {d0, d1, h0, h1, w0, w1};
    return edge3_add(m, &lf_type_zero_padding3d, LF_K_ZERO_PADDING3D, x, p, name);
}

int lf_cropping3d(lf_model *m, int x, size_t d0, size_t d1, size_t h0, size_t h1, size_t w0, size_t w1,
                  const char *name) {
    const size_t p[6] = {d0, d1, h0, h1, w0, w1};
    return edge3_add(m, &lf_type_cropping3d, LF_K_CROPPING3D, x, p, name);
}
