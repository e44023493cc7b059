/*
 * pool3d.c — Keras' MaxPooling3D / AveragePooling3D over channels-last
 * volumes x (B, D, H, W, C) (keras/src/layers/pooling/max_pooling3d.py,
 * average_pooling3d.py): pool_size (pd, ph, pw), strides = pool_size by
 * default, padding "valid" or "same" per axis as Conv3D's (lf_conv_out:
 * "same" pads total / 2 before, the rest after): y (B, Do, Ho, Wo, C), the
 * largest / the mean value of each window.
 *
 * With "same", padded voxels take no part (TensorFlow's rule, which Keras'
 * ops.average_pool follows on its TensorFlow backend and torch's
 * avg_pool3d(count_include_pad=False) matches): the max is over the
 * window's real voxels and the mean divides by their count, not by the
 * window's size.  Max keeps in its scratch the index of the voxel it chose
 * (ties: the first in the window's row-major order; a NaN is taken), through
 * which the gradient flows back.
 */
#include "layers/layer.h"

#include <math.h>
#include <string.h>

enum { P3_MAX, P3_AVG };

/* one axis' window of output o clipped to the input: [*a, *b) */
static void span(size_t o, size_t s, size_t k, size_t pad, size_t n, size_t *a, size_t *b) {
    size_t st = o * s; /* in padded coordinates */
    *a = st > pad ? st - pad : 0;
    *b = st + k > pad ? st + k - pad : 0;
    *b = *b < n ? *b : n;
}

/* the window of output voxel (od, oy, ox): [z0, z1) x [y0, y1) x [x0, x1) */
typedef struct box { size_t z0, z1, y0, y1, x0, x1; } box;

static box window3(const lf_vol_geom *g, size_t od, size_t oy, size_t ox) {
    box b;
    span(od, g->sd, g->kd, g->pf, g->D, &b.z0, &b.z1);
    span(oy, g->sh, g->kh, g->pt, g->H, &b.y0, &b.y1);
    span(ox, g->sw, g->kw, g->pl, g->W, &b.x0, &b.x1);
    return b;
}

static const lf_node *p3_input(const lf_model *m, const lf_node *nd) { return &m->nodes[nd->in[0]]; }

#define P3_PARALLEL 65536 /* input values of a batch below which one thread works */

// x: (D, H, W, C)  y: (Do, Ho, Wo, C)  arg: (Do, Ho, Wo, C) the chosen voxels (max; NULL: average)
static void p3_row(const lf_vol_geom *g, const float *restrict x, float *restrict y, uint32_t *restrict arg) {
    size_t C = g->C;
    for (size_t od = 0; od < g->Do; od++)
        for (size_t oy = 0; oy < g->Ho; oy++)
            for (size_t ox = 0; ox < g->Wo; ox++) {
                box b = window3(g, od, oy, ox);
                size_t o = ((od * g->Ho + oy) * g->Wo + ox) * C;
                float *restrict yo = y + o;
                uint32_t *restrict ao = arg ? arg + o : NULL;
                for (size_t ch = 0; ch < C; ch++) yo[ch] = arg ? -INFINITY : 0.0f;
                if (ao) {
                    uint32_t first = (uint32_t)(((b.z0 * g->H + b.y0) * g->W + b.x0) * C);
                    for (size_t ch = 0; ch < C; ch++) ao[ch] = first + (uint32_t)ch;
                }
                for (size_t iz = b.z0; iz < b.z1; iz++)
                    for (size_t iy = b.y0; iy < b.y1; iy++)
                        for (size_t ix = b.x0; ix < b.x1; ix++) {
                            uint32_t base = (uint32_t)(((iz * g->H + iy) * g->W + ix) * C);
                            const float *restrict xi = x + base;
                            if (!ao) {
                                for (size_t ch = 0; ch < C; ch++) yo[ch] += xi[ch];
                                continue;
                            }
                            for (size_t ch = 0; ch < C; ch++) {
                                float v = xi[ch], cur = yo[ch];
                                int gt = v > cur || v != v; /* a NaN is taken: it propagates */
                                yo[ch] = gt ? v : cur;
                                ao[ch] = gt ? base + (uint32_t)ch : ao[ch];
                            }
                        }
                if (!ao) {
                    float n = (float)((b.z1 - b.z0) * (b.y1 - b.y0) * (b.x1 - b.x0));
                    for (size_t ch = 0; ch < C; ch++) yo[ch] /= n;
                }
            }
}

static void p3_forward(const lf_layer_ctx *c) {
    lf_vol_geom g = lf_vol_geom_of(p3_input(c->m, c->nd), c->nd);
    int avg = c->t->op == P3_AVG;
    size_t in = g.D * g.H * g.W * g.C, out = c->nd->dim;
#pragma omp parallel for if (c->B * in >= P3_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++)
        p3_row(&g, c->xs[0] + r * in, c->y + r * out, avg ? NULL : (uint32_t *)(void *)(c->aux + r * out));
}

// dy: (Do, Ho, Wo, C) -> d: (D, H, W, C) +=, through the chosen voxels (max) or spread over the window (average)
static void p3_row_backward(const lf_vol_geom *g, const float *restrict dy, const uint32_t *restrict arg,
                            float *restrict d, size_t out) {
    if (arg) {
        for (size_t j = 0; j < out; j++) d[arg[j]] += dy[j];
        return;
    }
    size_t C = g->C;
    for (size_t od = 0; od < g->Do; od++)
        for (size_t oy = 0; oy < g->Ho; oy++)
            for (size_t ox = 0; ox < g->Wo; ox++) {
                box b = window3(g, od, oy, ox);
                const float *dyo = dy + ((od * g->Ho + oy) * g->Wo + ox) * C;
                float inv = 1.0f / (float)((b.z1 - b.z0) * (b.y1 - b.y0) * (b.x1 - b.x0));
                for (size_t iz = b.z0; iz < b.z1; iz++)
                    for (size_t iy = b.y0; iy < b.y1; iy++)
                        for (size_t ix = b.x0; ix < b.x1; ix++) {
                            float *di = d + ((iz * g->H + iy) * g->W + ix) * C;
                            for (size_t ch = 0; ch < C; ch++) di[ch] += dyo[ch] * inv;
                        }
            }
}

static void p3_backward(const lf_layer_ctx *c) {
    float *dx = c->dxs[0];
    if (!dx) return;
    lf_vol_geom g = lf_vol_geom_of(p3_input(c->m, c->nd), c->nd);
    int avg = c->t->op == P3_AVG;
    size_t in = g.D * g.H * g.W * g.C, out = c->nd->dim;
#pragma omp parallel for if (c->B * in >= P3_PARALLEL) schedule(static)
    for (size_t r = 0; r < c->B; r++) {
        float *d = dx + r * in;
        if (c->dx_fresh) memset(d, 0, in * sizeof *d); /* then added to */
        p3_row_backward(&g, c->dy + r * out, avg ? NULL : (const uint32_t *)(const void *)(c->aux + r * out), d, out);
    }
}

/* the builder put pool_size, strides and padding in nd */
static int p3_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 4);
    if (!x) return 0;
    if ((unsigned)nd->padding > LF_PADDING_SAME)
        return lf_build_fail(m, LF_ERR_ARG, "%s: unknown padding %d", t->type, (int)nd->padding);
    for (int a = 0; a < 3; a++)
        if (nd->kernel[a] == 0 || nd->kernel[a] > 1024 || nd->strides[a] == 0 || nd->strides[a] > 1024)
            return lf_build_fail(m, LF_ERR_ARG,
                                 "%s: pool_size and strides must be in 1..1024, got (%zu, %zu, %zu) and (%zu, %zu, "
                                 "%zu)",
                                 t->type, nd->kernel[0], nd->kernel[1], nd->kernel[2], nd->strides[0], nd->strides[1],
                                 nd->strides[2]);
    lf_vol_geom g = lf_vol_geom_of(x, nd);
    if (g.Do == 0 || g.Ho == 0 || g.Wo == 0) {
        char s[96];
        lf_shape_str(x, s, sizeof s);
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "%s: input '%s' of shape %s is smaller than the pool (%zu, %zu, %zu) with padding 'valid'",
                             t->type, x->name, s, g.kd, g.kh, g.kw);
    }
    size_t out[4] = {g.Do, g.Ho, g.Wo, g.C};
    if (!lf_shape_set(m, t->type, nd, 4, out)) return 0;
    nd->aux_per_row = t->op == P3_MAX ? nd->dim : 0; /* the chosen voxels */
    return 1;
}

static void p3_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"pool_size\":[%zu,%zu,%zu],\"strides\":[%zu,%zu,%zu],\"padding\":\"%s\"", nd->kernel[0],
                  nd->kernel[1], nd->kernel[2], nd->strides[0], nd->strides[1], nd->strides[2],
                  nd->padding == LF_PADDING_SAME ? "same" : "valid");
}

static lf_status p3_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                         lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "a pooling layer", where, e);
    if (st != LF_OK) return st;
    if ((st = lf_arch_sizes(L, "pool_size", 1, 1024, 3, 3, nd->kernel, NULL, where, e)) ||
        (st = lf_arch_sizes(L, "strides", 1, 1024, 3, 3, nd->strides, NULL, where, e)))
        return st;
    return lf_arch_padding(L, &nd->padding, where, e);
}

static const char *const p3_keys[] = {"name", "type", "inbound", "pool_size", "strides", "padding", NULL};

#define P3_RECORD(rec, Type, pfx, o)                                                                                  \
    const lf_layer_type rec = {                                                                                      \
        .type = Type,                                                                                                \
        .prefix = pfx,                                                                                               \
        .keys = p3_keys,                                                                                             \
        .op = o,                                                                                                     \
        .dx_assign = 1,                                                                                              \
        .infer = p3_infer,                                                                                           \
        .forward = p3_forward,                                                                                       \
        .backward = p3_backward,                                                                                     \
        .write_json = p3_json,                                                                                       \
        .read_json = p3_read,                                                                                        \
    };
P3_RECORD(lf_type_maxpool3d, "MaxPooling3D", "max_pooling3d", P3_MAX)
P3_RECORD(lf_type_avgpool3d, "AveragePooling3D", "average_pooling3d", P3_AVG)

static int p3_add(lf_model *m, const lf_layer_type *t, lf_kind k, int x, const size_t *pool, const size_t *strides,
                  lf_padding padding, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    for (int a = 0; a < 3; a++) /* strides 0: Keras' default, the pool size */
        nd.kernel[a] = pool[a], nd.strides[a] = strides[a] ? strides[a] : pool[a];
    nd.padding = padding;
    return lf_node_add(m, t, k, nd, &x, 1, name);
}

int lf_max_pooling3d(lf_model *m, int x, size_t pd, size_t ph, size_t pw, size_t sd, size_t sh, size_t sw,
                     lf_padding padding, const char *name) {
    size_t p[3] = {pd, ph, pw}, s[3] = {sd, sh, sw};
    return p3_add(m, &lf_type_maxpool3d, LF_K_MAXPOOL3D, x, p, s, padding, name);
}

int lf_average_pooling3d(lf_model *m, int x, size_t pd, size_t ph, size_t pw, size_t sd, size_t sh, size_t sw,
                         lf_padding padding, const char *name) {
    size_t p[3] = {pd, ph, pw}, s[3] = {sd, sh, sw};
    return p3_add(m, &lf_type_avgpool3d, LF_K_AVGPOOL3D, x, p, s, padding, name);
}
