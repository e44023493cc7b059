/*
 * weighted.c — softmax-weighted averages of k inputs of equal shape: the
 * heart of learned late fusion.
 *
 *   WeightedAverage       a = softmax(w), w: (k)        y = sum_i a_i x_i
 *   ClassWeightedAverage  a_.c = softmax(w_.c), w: (k, D), per feature c
 *   GatedAverage          a_r = softmax(gate_r), gate: (B, k) from a network
 *
 * An optional mask (B, k) of 0/1 marks which inputs are present in a row;
 * the softmax then runs over the present inputs only, which is exactly the
 * "renormalise over the models present" rule for a missing modality.  The
 * weights actually used, per row, are kept in `a` for the backward pass:
 *   dx_i = a_i dy,  g_i = <dy, x_i>,  dw_j = a_j (g_j - sum_i a_i g_i).
 *
 * The records follow the kernels: weights "W" of shape (k) or (k, D), drawn
 * U(0, 1) like the seed's, with an optional L2 penalty.
 */
#include "layers/layers.h"
#include "layers/layer.h"
#include "kernels.h"

#include <math.h>
#include <string.h>

/* a[i*stride] = masked softmax of logits[i*stride] over i < k */
static void masked_softmax(float *restrict a, const float *restrict logits, size_t stride,
                           const float *restrict mask, size_t k) {
    float mx = -INFINITY;
    for (size_t i = 0; i < k; i++)
        if (!mask || mask[i] > 0) mx = logits[i * stride] > mx ? logits[i * stride] : mx;
    double s = 0;
    for (size_t i = 0; i < k; i++) {
        float e = (!mask || mask[i] > 0) ? expf(logits[i * stride] - mx) : 0.0f;
        a[i * stride] = e;
        s += e;
    }
    float inv = s > 0 ? (float)(1.0 / s) : 0.0f;
    for (size_t i = 0; i < k; i++) a[i * stride] *= inv;
}

/* Row r needs its own softmax unless it has the same mask as row r-1 (or
 * there is no mask at all): then its weights are a copy of the previous
 * row's — the same numbers, without the exps (most rows have every input
 * present). */
static int new_weights(const float *mask, size_t r, size_t k) {
    if (r == 0) return 1;
    if (!mask) return 0;
    return memcmp(mask + r * k, mask + (r - 1) * k, k * sizeof *mask) != 0;
}

/* y (n) = sum_i a_i x_i[off .. off + n) over the inputs with a_i != 0,
 * summed in input order from 0 */
LF_CLONES static void weighted_sum(float *restrict y, const float *restrict a,
                                   const float *const *xs, size_t off, size_t k, size_t n) {
    memset(y, 0, n * sizeof *y);
    for (size_t i = 0; i < k; i++) {
        float ai = a[i];
        if (ai == 0.0f) continue; /* a missing input may hold anything */
        const float *restrict x = xs[i] + off;
        for (size_t c = 0; c < n; c++) y[c] += ai * x[c];
    }
}

// xs[i]: (B, D)  w: (k)  mask: (B, k)|NULL  a: (B, k)  y: (B, D)
void lf_wavg_forward(float *restrict y, float *restrict a, const float *const *xs,
                     const float *restrict w, const float *restrict mask, size_t k, size_t B,
                     size_t D) {
    if (!mask) { /* one set of weights for every row: the whole block at once */
        if (B == 0) return;
        masked_softmax(a, w, 1, NULL, k);
        for (size_t r = 1; r < B; r++)
            for (size_t i = 0; i < k; i++) a[r * k + i] = a[i];
        weighted_sum(y, a, xs, 0, k, B * D);
        return;
    }
    for (size_t r = 0; r < B; r++) {
        float *ar = a + r * k;
        if (new_weights(mask, r, k)) masked_softmax(ar, w, 1, mask + r * k, k);
        else memcpy(ar, ar - k, k * sizeof *ar);
        weighted_sum(y + r * D, ar, xs, r * D, k, D);
    }
}

/* <dy, x> over D features in double, in four interleaved partial sums
 * (independent chains: the loop is not one long dependent chain) */
static inline __attribute__((always_inline)) double dot_d(const float *restrict dy,
                                                         const float *restrict x, size_t D) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t c = 0;
    for (; c + 4 <= D; c += 4) {
        s0 += (double)dy[c] * x[c], s1 += (double)dy[c + 1] * x[c + 1];
        s2 += (double)dy[c + 2] * x[c + 2], s3 += (double)dy[c + 3] * x[c + 3];
    }
    for (; c < D; c++) s0 += (double)dy[c] * x[c];
    return (s0 + s1) + (s2 + s3);
}

#define WB_K 16 /* inputs whose g_i are kept on the stack; more are recomputed */

/* Shared backward of the per-row-weight layers: dlogits[r*row_stride + i]
 * += a_ri (g_ri - sum_j a_rj g_rj).  row_stride 0 accumulates every row into
 * one weight vector (WeightedAverage), k gives per-row logits (Gated). */
LF_CLONES static void weights_backward(float *const *dxs, float *restrict dlogits, size_t row_stride,
                             const float *restrict dy, const float *const *xs,
                             const float *restrict a, size_t k, size_t B, size_t D) {
    double g[WB_K];
    for (size_t r = 0; r < B; r++) {
        const float *ar = a + r * k, *dyr = dy + r * D;
        double gbar = 0;
        if (dlogits)
            for (size_t i = 0; i < k; i++) {
                if (ar[i] == 0.0f) continue; /* a missing input may hold anything */
                double gi = dot_d(dyr, xs[i] + r * D, D);
                if (i < WB_K) g[i] = gi;
                gbar += ar[i] * gi;
            }
        for (size_t i = 0; i < k; i++) {
            if (dxs[i]) {
                float *dx = dxs[i] + r * D;
                for (size_t c = 0; c < D; c++) dx[c] += ar[i] * dyr[c];
            }
            if (dlogits && ar[i] != 0.0f) {
                double gi = i < WB_K ? g[i] : dot_d(dyr, xs[i] + r * D, D);
                dlogits[r * row_stride + i] += (float)(ar[i] * (gi - gbar));
            }
        }
    }
}

void lf_wavg_backward(float *const *dxs, float *restrict dw, const float *restrict dy,
                      const float *const *xs, const float *restrict a, size_t k, size_t B,
                      size_t D) {
    weights_backward(dxs, dw, 0, dy, xs, a, k, B, D);
}

// xs[i]: (B, D)  w: (k, D)  mask: (B, k)|NULL  a: (B, k, D)  y: (B, D)
void lf_cwavg_forward(float *restrict y, float *restrict a, const float *const *xs,
                      const float *restrict w, const float *restrict mask, size_t k, size_t B,
                      size_t D) {
    for (size_t r = 0; r < B; r++) {
        float *ar = a + r * k * D;
        if (new_weights(mask, r, k)) {
            const float *mr = mask ? mask + r * k : NULL;
            for (size_t c = 0; c < D; c++) masked_softmax(ar + c, w + c, D, mr, k);
        } else {
            memcpy(ar, ar - k * D, k * D * sizeof *ar);
        }
        float *yr = y + r * D;
        memset(yr, 0, D * sizeof *yr);
        for (size_t i = 0; i < k; i++) {
            const float *x = xs[i] + r * D, *ai = ar + i * D;
            if (mask && !(mask[r * k + i] > 0)) continue;
            for (size_t c = 0; c < D; c++) yr[c] += ai[c] * x[c];
        }
    }
}

void lf_cwavg_backward(float *const *dxs, float *restrict dw, const float *restrict dy,
                       const float *const *xs, const float *restrict a, size_t k, size_t B,
                       size_t D) {
    for (size_t r = 0; r < B; r++) {
        const float *ar = a + r * k * D, *dyr = dy + r * D;
        for (size_t c = 0; c < D; c++) {
            double gbar = 0;
            for (size_t i = 0; i < k; i++) {
                float aic = ar[i * D + c];
                if (aic != 0.0f) gbar += (double)aic * dyr[c] * xs[i][r * D + c];
            }
            for (size_t i = 0; i < k; i++) {
                float aic = ar[i * D + c];
                if (dxs[i]) dxs[i][r * D + c] += aic * dyr[c];
                if (dw && aic != 0.0f) {
                    double gi = (double)dyr[c] * xs[i][r * D + c];
                    dw[i * D + c] += (float)(aic * (gi - gbar));
                }
            }
        }
    }
}

// xs[i]: (B, D)  gate: (B, k)  mask: (B, k)|NULL  a: (B, k)  y: (B, D)
void lf_gated_forward(float *restrict y, float *restrict a, const float *const *xs,
                      const float *restrict gate, const float *restrict mask, size_t k,
                      size_t B, size_t D) {
    for (size_t r = 0; r < B; r++) {
        float *ar = a + r * k;
        masked_softmax(ar, gate + r * k, 1, mask ? mask + r * k : NULL, k);
        float *yr = y + r * D;
        memset(yr, 0, D * sizeof *yr);
        for (size_t i = 0; i < k; i++) {
            if (ar[i] == 0.0f) continue;
            const float *x = xs[i] + r * D;
            for (size_t c = 0; c < D; c++) yr[c] += ar[i] * x[c];
        }
    }
}

void lf_gated_backward(float *const *dxs, float *restrict dgate, const float *restrict dy,
                       const float *const *xs, const float *restrict a, size_t k, size_t B,
                       size_t D) {
    weights_backward(dxs, dgate, k, dy, xs, a, k, B, D);
}

/* --------------------------------------------------------------- records */

enum { W_AVG, W_CLASS, W_GATED }; /* t->op */

/* WeightedAverage / ClassWeightedAverage / GatedAverage share their checks */
static int weighted_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *xs,
                          size_t n) {
    if (!lf_merge_dims(m, t->type, n, xs, 1, 1, &nd->dim)) return 0;
    const char *kn = t->type;
    if (n > 1024) return lf_build_fail(m, LF_ERR_ARG, "%s: at most 1024 inputs, got %zu", kn, n);
    int mask = nd->mask, gate = nd->gate;
    if (mask != -1) {
        if (mask < 0 || (size_t)mask >= m->n_nodes)
            return lf_build_fail(m, LF_ERR_ARG, "%s: mask is not a node of this model (id %d)", kn, mask);
        if (m->nodes[mask].dim != n)
            return lf_build_fail(m, LF_ERR_SHAPE,
                                 "%s: the mask must have %zu features (one per input), got %zu", kn, n,
                                 m->nodes[mask].dim);
    }
    if (t->op == W_GATED) {
        if (gate < 0 || (size_t)gate >= m->n_nodes)
            return lf_build_fail(m, LF_ERR_ARG, "%s: gate is not a node of this model (id %d)", kn, gate);
        if (m->nodes[gate].dim != n)
            return lf_build_fail(m, LF_ERR_SHAPE,
                                 "%s: the gate must have %zu features (one per input), got %zu", kn, n,
                                 m->nodes[gate].dim);
    }
    nd->aux_per_row = t->op == W_CLASS ? n * nd->dim : n; /* the weights used, per row */
    return 1;
}

static size_t wavg_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    (void)m;
    w[0] = (lf_weight){"W", 0, 1, {nd->n_in}, 1, 0, 0, 0};
    return 1;
}

static size_t cwavg_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    (void)m;
    w[0] = (lf_weight){"W", 0, 2, {nd->n_in, nd->dim}, 1, 0, 0, 0};
    return 1;
}

/* U(0, 1), as the seed */
static void weighted_init(lf_model *m, lf_node *nd) {
    float *w = m->params + nd->param_off;
    for (size_t i = 0; i < nd->n_params; i++) w[i] = lf_rng_uniform(&m->rng);
}

static void wavg_forward(const lf_layer_ctx *c) {
    lf_wavg_forward(c->y, c->aux, c->xs, c->w, c->mask, c->nd->n_in, c->B, c->nd->dim);
}
static void wavg_backward(const lf_layer_ctx *c) {
    lf_wavg_backward(c->dxs, c->dw, c->dy, c->xs, c->aux, c->nd->n_in, c->B, c->nd->dim);
}
static void cwavg_forward(const lf_layer_ctx *c) {
    lf_cwavg_forward(c->y, c->aux, c->xs, c->w, c->mask, c->nd->n_in, c->B, c->nd->dim);
}
static void cwavg_backward(const lf_layer_ctx *c) {
    lf_cwavg_backward(c->dxs, c->dw, c->dy, c->xs, c->aux, c->nd->n_in, c->B, c->nd->dim);
}
static void gated_forward(const lf_layer_ctx *c) {
    lf_gated_forward(c->y, c->aux, c->xs, c->gate, c->mask, c->nd->n_in, c->B, c->nd->dim);
}
static void gated_backward(const lf_layer_ctx *c) {
    lf_gated_backward(c->dxs, c->dgate, c->dy, c->xs, c->aux, c->nd->n_in, c->B, c->nd->dim);
}

static void mask_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    lf_buf_puts(b, ",\"mask\":");
    if (nd->mask >= 0) lf_buf_json_string(b, m->nodes[nd->mask].name);
    else lf_buf_puts(b, "null");
}

static void wavg_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    lf_buf_puts(b, ",\"l2\":");
    lf_buf_json_float(b, nd->l2);
    mask_json(m, nd, b);
}

static void gated_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    lf_buf_puts(b, ",\"gate\":");
    lf_buf_json_string(b, m->nodes[nd->gate].name);
    mask_json(m, nd, b);
}

static lf_status mask_read(const lf_model *m, const lf_json *L, lf_node *nd, const char *where,
                           lf_err *e) {
    const lf_json *mj = lf_json_get(L, "mask");
    if (!mj) return lf_fail(e, LF_ERR_FORMAT, "%s: 'mask' is missing", where);
    if (!lf_json_is(mj, LF_JSON_NULL) && (nd->mask = lf_arch_node(m, mj)) < 0)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'mask' does not name an earlier layer", where);
    return LF_OK;
}

static lf_status wavg_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                           const char *where, lf_err *e) {
    (void)n_in;
    lf_status st = mask_read(m, L, nd, where, e);
    if (st != LF_OK) return st;
    if (lf_json_get(L, "l2") && (st = lf_arch_float_in(L, "l2", 0, INFINITY, 0, &nd->l2, where, e)) != LF_OK)
        return st;
    return LF_OK;
}

static lf_status gated_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                            const char *where, lf_err *e) {
    (void)n_in;
    lf_status st = mask_read(m, L, nd, where, e);
    if (st != LF_OK) return st;
    nd->gate = lf_arch_node(m, lf_json_get(L, "gate"));
    if (nd->gate < 0) return lf_fail(e, LF_ERR_FORMAT, "%s: 'gate' does not name an earlier layer", where);
    return LF_OK;
}

static const char *const wavg_keys[] = {"name", "type", "inbound", "mask", "l2", NULL};
static const char *const gated_keys[] = {"name", "type", "inbound", "gate", "mask", NULL};

const lf_layer_type lf_type_wavg = {
    .type = "WeightedAverage",
    .prefix = "weighted_average",
    .keys = wavg_keys,
    .op = W_AVG,
    .l2 = 1,
    .infer = weighted_infer,
    .weights = wavg_weights,
    .init = weighted_init,
    .forward = wavg_forward,
    .backward = wavg_backward,
    .write_json = wavg_json,
    .read_json = wavg_read,
};

const lf_layer_type lf_type_cwavg = {
    .type = "ClassWeightedAverage",
    .prefix = "class_weighted_average",
    .keys = wavg_keys,
    .op = W_CLASS,
    .l2 = 1,
    .infer = weighted_infer,
    .weights = cwavg_weights,
    .init = weighted_init,
    .forward = cwavg_forward,
    .backward = cwavg_backward,
    .write_json = wavg_json,
    .read_json = wavg_read,
};

const lf_layer_type lf_type_gated = {
    .type = "GatedAverage",
    .prefix = "gated_average",
    .keys = gated_keys,
    .op = W_GATED,
    .infer = weighted_infer,
    .forward = gated_forward,
    .backward = gated_backward,
    .write_json = gated_json,
    .read_json = gated_read,
};

static int weighted(lf_model *m, const lf_layer_type *t, lf_kind kind, size_t n, const int *xs,
                    int gate, int mask, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.gate = gate;
    nd.mask = mask;
    return lf_node_add(m, t, kind, nd, xs, n, name);
}

int lf_weighted_average(lf_model *m, size_t n, const int *xs, int mask, const char *name) {
    return weighted(m, &lf_type_wavg, LF_K_WAVG, n, xs, -1, mask, name);
}
int lf_class_weighted_average(lf_model *m, size_t n, const int *xs, int mask, const char *name) {
    return weighted(m, &lf_type_cwavg, LF_K_CWAVG, n, xs, -1, mask, name);
}
int lf_gated_average(lf_model *m, size_t n, const int *xs, int gate, int mask, const char *name) {
    return weighted(m, &lf_type_gated, LF_K_GATED, n, xs, gate, mask, name);
}
