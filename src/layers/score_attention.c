/*
 * score_attention.c — Keras' Attention (Luong, dot-product) and
 * AdditiveAttention (Bahdanau): attention without projections between a
 * query x_q (B, T, D) and a value x_v (B, S, Dv), the keys x_k (B, S, D)
 * (the value unless a third input), y (B, T, Dv).  As
 * keras/src/layers/attention/attention.py and additive_attention.py:
 *
 *   Attention, score_mode "dot":    score = c (q_t . k_s)     c: scale, or 1
 *   Attention, score_mode "concat": score = w sum_d tanh(c (q_td + k_sd))
 *                                   w: concat_score_weight, c: scale or 1
 *   AdditiveAttention:              score = sum_d a_d tanh(q_td + k_sd)
 *                                   a: scale (D), or 1
 *   scores of masked keys -= 1e9 (Keras' _apply_scores, float32: a row with
 *   every key masked gets Keras' near-uniform weights), p = softmax(score)
 *   over the keys, a = dropout(p) (training), y_t = sum_s a_ts v_s, and
 *   y_t = 0 where the query's mask is 0.
 *
 * A key s is masked where the value's padding mask is 0 (Keras reads
 * mask[1], the value's, also when a key is given) or, with use_causal_mask,
 * where s > t.  The output carries the query's mask (Keras' compute_mask).
 * Weights (Keras' build, in its order): Attention's "scale" () and
 * "concat_score_weight" () (score_mode "concat"), both starting at 1, kept
 * as (1,) tensors; AdditiveAttention's "scale" (D), glorot_uniform with
 * Keras' fans of a 1-D shape (D in, D out).  return_attention_scores: two
 * outputs side by side in each row, y (T, Dv) then the weights (T, S)
 * after dropout (Keras returns the dropped ones), the first with the
 * query's mask, read through OutputView nodes (view.c).
 */
#include "layers/layers.h"
#include "layers/layer.h"
#include "kernels.h"

#include <math.h>
#include <string.h>

/* nd->mode: Attention's score_mode, an lf_score_mode (LF_SCORE_DOT for
 * AdditiveAttention); the file keeps Keras' strings "dot" / "concat" */

/* A node's sizes and the scratch of one batch row (offsets into it). */
typedef struct sa_geom {
    size_t T, S, D, Dv;
    int additive, concat, tanh_mode; /* the score's form */
    size_t n_params;
    size_t sc, p, ds, dyz, drop, att, u, per_row; /* aux offsets per row */
} sa_geom;

/* the record's op: 1 AdditiveAttention, 0 Attention */
static int is_additive(const lf_node *nd) { return lf_type_of(nd)->op; }

/* the sizes of a node nd of query xq and value xv */
static sa_geom geom_from(const lf_node *xq, const lf_node *xv, const lf_node *nd) {
    sa_geom g;
    g.T = xq->shape[0], g.D = xq->shape[1], g.S = xv->shape[0], g.Dv = xv->shape[1];
    g.additive = is_additive(nd);
    g.concat = !g.additive && nd->mode == LF_SCORE_CONCAT;
    g.tanh_mode = g.additive || g.concat;
    g.n_params = g.additive ? (nd->use_scale ? g.D : 0) : (size_t)(nd->use_scale != 0) + (size_t)g.concat;
    size_t ts = g.T * g.S;
    g.sc = 0, g.p = ts, g.ds = 2 * ts, g.dyz = 3 * ts;
    size_t o = g.dyz + g.T * g.Dv;
    g.drop = g.att = o;
    if (nd->rate > 0.0f) g.att = o + ts, o += 2 * ts;
    g.u = o;
    if (g.tanh_mode) o += ts * g.D;
    g.per_row = o;
    return g;
}

static sa_geom geom_of(const lf_model *m, const lf_node *nd) {
    return geom_from(&m->nodes[nd->in[0]], &m->nodes[nd->in[1]], nd);
}

static int sa_fail_shape(lf_model *m, const char *kn, const char *what, const lf_node *x) {
    char s[96];
    lf_shape_str(x, s, sizeof s);
    return lf_build_fail(m, LF_ERR_SHAPE, "%s: the %s '%s' has shape %s; it needs rank 3 (batch, steps, features)",
                         kn, what, x->name, s);
}

/* Keras' return_attention_scores: y (T, Dv) then the weights (T, S) */
static size_t sa_outputs(const lf_model *m, const lf_node *nd, lf_out_view *v) {
    const lf_node *xq = &m->nodes[nd->in[0]], *xv = &m->nodes[nd->in[1]];
    size_t T = xq->shape[0], S = xv->shape[0];
    memset(v, 0, 2 * sizeof *v);
    v[0].off = 0, v[0].rank = 2, v[0].shape[0] = T, v[0].shape[1] = xv->shape[1], v[0].seq_mask = xq->seq_mask;
    v[1].off = T * xv->shape[1], v[1].rank = 2, v[1].shape[0] = T, v[1].shape[1] = S;
    v[1].seq_mask = -1; /* Keras' compute_mask gives one mask: the first output's */
    return 2;
}

/* the builder put use_scale, mode (score_mode), rate, causal and
 * return_scores in nd */
static int sa_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    static const char *const what[3] = {"query", "value", "key"};
    const char *kn = t->type;
    if (n_in < 2 || n_in > 3)
        return lf_build_fail(m, LF_ERR_ARG, "%s layer accepts inputs list of length 2 or 3, namely [query, value] "
                             "or [query, value, key]. Received length: %zu.", kn, n_in);
    for (size_t i = 0; i < n_in; i++) {
        if (in[i] < 0 || (size_t)in[i] >= m->n_nodes)
            return lf_build_fail(m, LF_ERR_ARG, "%s: the %s is not a node of this model (id %d)", kn, what[i], in[i]);
        if (m->nodes[in[i]].rank != 2) return sa_fail_shape(m, kn, what[i], &m->nodes[in[i]]);
    }
    const lf_node *xq = &m->nodes[in[0]], *xv = &m->nodes[in[1]], *xk = &m->nodes[in[n_in > 2 ? 2 : 1]];
    if (xk->shape[0] != xv->shape[0])
        return lf_build_fail(m, LF_ERR_SHAPE, "%s: the key '%s' has %zu steps and the value '%s' %zu; they must be "
                             "equal", kn, xk->name, xk->shape[0], xv->name, xv->shape[0]);
    if (xk->shape[1] != xq->shape[1])
        return lf_build_fail(m, LF_ERR_SHAPE, "%s: the query '%s' has %zu features and the %s '%s' %zu; the scores "
                             "need them equal", kn, xq->name, xq->shape[1], n_in > 2 ? "key" : "value (the key)",
                             xk->name, xk->shape[1]);
    if (!(nd->rate >= 0.0f && nd->rate < 1.0f))
        return lf_build_fail(m, LF_ERR_ARG, "%s: dropout must be in [0, 1), got %g", kn, (double)nd->rate);
    if (nd->mode != LF_SCORE_DOT && nd->mode != LF_SCORE_CONCAT)
        return lf_build_fail(m, LF_ERR_ARG, "%s: unknown score_mode %d", kn, nd->mode);
    size_t T = xq->shape[0], S = xv->shape[0], D = xq->shape[1], Dv = xv->shape[1], ts, tsd;
    if (!lf_mul_ok(T, S, &ts) || ts > LF_ARCH_MAX_DIM || !lf_mul_ok(ts, D + 6, &tsd) || tsd > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG, "%s: %zu x %zu steps of %zu features are too many", kn, T, S, D);
    size_t out[2] = {T, Dv};
    if (!lf_shape_set(m, kn, nd, 2, out)) return 0;
    nd->aux_per_row = geom_from(xq, xv, nd).per_row;
    if (nd->return_scores) {
        nd->n_outs = 2;
        nd->rank = 1;
        memset(nd->shape, 0, sizeof nd->shape);
        nd->dim = nd->shape[0] = T * Dv + ts;
    }
    return 1;
}

static size_t sa_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    sa_geom g = geom_of(m, nd);
    size_t n = 0;
    if (g.additive) {
        if (nd->use_scale) w[n++] = (lf_weight){"scale", 0, 1, {g.D}, 0, 0, 0, 0};
        return n;
    }
    if (nd->use_scale) w[n++] = (lf_weight){"scale", 0, 1, {1}, 0, 0, 0, 0};
    size_t off = n;
    if (g.concat) w[n++] = (lf_weight){"concat_score_weight", off, 1, {1}, 0, 0, 0, 0};
    return n;
}

static void sa_init(lf_model *m, lf_node *nd) {
    sa_geom g = geom_of(m, nd);
    float *w = m->params + nd->param_off;
    if (g.additive) { /* glorot_uniform of shape (D,): fan_in = fan_out = D */
        float limit = sqrtf(6.0f / (float)(2 * g.D));
        for (size_t i = 0; i < g.n_params; i++) w[i] = (2.0f * lf_rng_uniform(&m->rng) - 1.0f) * limit;
        return;
    }
    for (size_t i = 0; i < g.n_params; i++) w[i] = 1.0f; /* Keras' "ones" */
}

/* the weights' roles: c the scale inside (dot, concat), cw the concat
 * weight outside, a the per-feature scale (additive, NULL: all 1) */
typedef struct sa_w {
    float c, cw;
    const float *a;
} sa_w;

static sa_w weights_of(const lf_node *nd, const sa_geom *g, const float *w) {
    sa_w r = {1.0f, 1.0f, NULL};
    if (g->additive) {
        if (nd->use_scale) r.a = w;
    } else {
        if (nd->use_scale) r.c = w[0];
        if (g->concat) r.cw = w[nd->use_scale ? 1 : 0];
    }
    return r;
}

// q (T, D), k (S, D) -> sc (T, S) raw scores (dot: q.k; tanh modes: the sum
// over d of a_d u), u (T, S, D) tanh values (tanh modes), score (T, S)
static void scores_of(float *restrict sc, float *restrict score, float *restrict u, const float *q, const float *k,
                      const sa_geom *g, sa_w W) {
    size_t T = g->T, S = g->S, D = g->D;
    if (!g->tanh_mode) {
        lf_sgemm(0, 1, T, S, D, 1.0f, q, D, k, D, 0.0f, sc, S);
        for (size_t i = 0; i < T * S; i++) score[i] = W.c * sc[i];
        return;
    }
    float c = g->concat ? W.c : 1.0f;
    for (size_t t = 0; t < T; t++)
        for (size_t s = 0; s < S; s++) {
            float *ur = u + (t * S + s) * D;
            const float *qt = q + t * D, *ks = k + s * D;
            float acc = 0.0f;
            for (size_t d = 0; d < D; d++) {
                ur[d] = tanhf(c * (qt[d] + ks[d]));
                acc += (W.a ? W.a[d] : 1.0f) * ur[d];
            }
            sc[t * S + s] = acc;
            score[t * S + s] = W.cw * acc;
        }
}

/* Keras' _apply_scores: masked keys' scores - 1e9, then softmax per row */
static void masked_softmax(float *restrict p, const float *restrict vmask, int causal, size_t T, size_t S) {
    for (size_t t = 0; t < T; t++) {
        float *r = p + t * S;
        for (size_t s = 0; s < S; s++)
            if ((vmask && vmask[s] == 0.0f) || (causal && s > t)) r[s] = r[s] - 1.0e9f;
        float mx = -INFINITY;
        for (size_t s = 0; s < S; s++) mx = r[s] > mx || r[s] != r[s] ? r[s] : mx;
        double sum = 0.0;
        for (size_t s = 0; s < S; s++) r[s] = expf(r[s] - mx), sum += r[s];
        float inv = (float)(1.0 / sum);
        for (size_t s = 0; s < S; s++) r[s] *= inv;
    }
}

static const float *key_of(const lf_layer_ctx *c) { return c->xs[c->nd->n_in > 2 ? 2 : 1]; }

static void sa_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    sa_geom g = geom_of(c->m, nd);
    sa_w W = weights_of(nd, &g, c->w);
    size_t T = g.T, S = g.S, D = g.D, Dv = g.Dv, ts = T * S;
    const float *xq = c->xs[0], *xv = c->xs[1], *xk = key_of(c);
    const float *qm = c->in_masks[0], *vm = c->in_masks[1];
    int dropout = nd->rate > 0.0f && c->training;
    float keep = nd->rate > 0.0f ? 1.0f / (1.0f - nd->rate) : 1.0f;
    for (size_t b = 0; b < c->B; b++) {
        float *ax = c->aux + b * g.per_row;
        float *p = ax + g.p;
        scores_of(ax + g.sc, p, ax + g.u, xq + b * T * D, xk + b * S * D, &g, W);
        masked_softmax(p, vm ? vm + b * S : NULL, nd->causal, T, S);
        const float *a = p;
        if (dropout) { /* row b's T x S multipliers: its global row's stream (lf_draws) */
            float *dr = ax + g.drop, *at = ax + g.att;
            uint64_t st = c->draws ? lf_draw_stream(c->draws->key, c->draw_id, c->draws->row0 + b) : 0;
            for (size_t i = 0; i < ts; i++) {
                dr[i] = !c->draws ? 1.0f : lf_draw_uniform(st, i) < nd->rate ? 0.0f : keep;
                at[i] = p[i] * dr[i];
            }
            a = at;
        }
        float *yb = c->y + b * nd->dim;
        // y (T, Dv) = a (T, S) v (S, Dv)
        lf_sgemm(0, 0, T, Dv, S, 1.0f, a, S, xv + b * S * Dv, Dv, 0.0f, yb, Dv);
        if (qm)
            for (size_t t = 0; t < T; t++)
                if (qm[b * T + t] == 0.0f) memset(yb + t * Dv, 0, Dv * sizeof *yb);
        if (nd->return_scores) memcpy(yb + T * Dv, a, ts * sizeof *yb);
    }
}

static void sa_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    sa_geom g = geom_of(c->m, nd);
    sa_w W = weights_of(nd, &g, c->w);
    size_t T = g.T, S = g.S, D = g.D, Dv = g.Dv, ts = T * S;
    const float *xq = c->xs[0], *xv = c->xs[1], *xk = key_of(c);
    const float *qm = c->in_masks[0];
    int dropout = nd->rate > 0.0f && c->training;
    float *dq = c->dxs[0], *dv = c->dxs[1], *dk = c->dxs[nd->n_in > 2 ? 2 : 1];
    float *dw = c->dw;
    double dc = 0.0, dcw = 0.0;
    for (size_t b = 0; b < c->B; b++) {
        float *ax = c->aux + b * g.per_row;
        const float *p = ax + g.p, *sc = ax + g.sc, *u = ax + g.u, *a = dropout ? ax + g.att : p;
        float *ds = ax + g.ds, *dyz = ax + g.dyz;
        const float *dyb = c->dy + b * nd->dim;
        /* the query's masked rows output 0: no gradient through them */
        memcpy(dyz, dyb, T * Dv * sizeof *dyz);
        if (qm)
            for (size_t t = 0; t < T; t++)
                if (qm[b * T + t] == 0.0f) memset(dyz + t * Dv, 0, Dv * sizeof *dyz);
        const float *vb = xv + b * S * Dv;
        // dv (S, Dv) += a^T (S, T) dyz (T, Dv)
        if (dv) lf_sgemm(1, 0, S, Dv, T, 1.0f, a, S, dyz, Dv, 1.0f, dv + b * S * Dv, Dv);
        // d a (T, S) = dyz (T, Dv) v^T (Dv, S) (+ the scores' own gradient)
        lf_sgemm(0, 1, T, S, Dv, 1.0f, dyz, Dv, vb, Dv, 0.0f, ds, S);
        if (nd->return_scores)
            for (size_t i = 0; i < ts; i++) ds[i] += dyb[T * Dv + i];
        if (dropout)
            for (size_t i = 0; i < ts; i++) ds[i] *= ax[g.drop + i];
        // softmax: d score = p (d p - <d p, p>) per row
        for (size_t t = 0; t < T; t++) {
            float *r = ds + t * S;
            const float *pr = p + t * S;
            double dot = 0.0;
            for (size_t s = 0; s < S; s++) dot += (double)r[s] * pr[s];
            for (size_t s = 0; s < S; s++) r[s] = pr[s] * (r[s] - (float)dot);
        }
        const float *qb = xq + b * T * D, *kb = xk + b * S * D;
        for (size_t i = 0; i < ts; i++) *(g.tanh_mode ? &dcw : &dc) += (double)ds[i] * sc[i];
        if (!g.tanh_mode) {
            /* score = c q.k: d(q.k) = c d score */
            if (dq) lf_sgemm(0, 0, T, D, S, W.c, ds, S, kb, D, 1.0f, dq + b * T * D, D);
            if (dk) lf_sgemm(1, 0, S, D, T, W.c, ds, S, qb, D, 1.0f, dk + b * S * D, D);
            continue;
        }
        float ci = g.concat ? W.c : 1.0f;
        for (size_t t = 0; t < T; t++)
            for (size_t s = 0; s < S; s++) {
                float gs = ds[t * S + s] * W.cw;
                const float *ur = u + (t * S + s) * D;
                for (size_t d = 0; d < D; d++) {
                    float ad = W.a ? W.a[d] : 1.0f;
                    float dpre = gs * ad * (1.0f - ur[d] * ur[d]); /* d / d (c (q + k)) */
                    if (dq) dq[b * T * D + t * D + d] += ci * dpre;
                    if (dk) dk[b * S * D + s * D + d] += ci * dpre;
                    if (g.additive && nd->use_scale) dw[d] += gs * ur[d];
                    if (g.concat && nd->use_scale) dc += (double)dpre * (qb[t * D + d] + kb[s * D + d]);
                }
            }
    }
    if (g.additive) return;
    if (nd->use_scale) dw[0] += (float)dc;
    if (g.concat) dw[nd->use_scale ? 1 : 0] += (float)dcw;
}

static void sa_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"use_scale\":%s", nd->use_scale ? "true" : "false");
    if (!is_additive(nd))
        lf_buf_printf(b, ",\"score_mode\":\"%s\"", nd->mode == LF_SCORE_CONCAT ? "concat" : "dot");
    lf_buf_puts(b, ",\"dropout\":");
    lf_buf_json_float(b, nd->rate);
    if (nd->causal) lf_buf_puts(b, ",\"use_causal_mask\":true");
    if (nd->return_scores) lf_buf_puts(b, ",\"return_attention_scores\":true");
}

/* additive: the record read (nd->kind is not set yet) */
static lf_status sa_read(const lf_json *L, size_t n_in, lf_node *nd, int additive, const char *where, lf_err *e) {
    const char *kn = additive ? "AdditiveAttention" : "Attention";
    if (n_in < 2 || n_in > 3) return lf_fail(e, LF_ERR_FORMAT, "%s: %s takes 2 or 3 inbound layers", where, kn);
    lf_status st;
    if ((st = lf_arch_bool(L, "use_scale", &nd->use_scale, where, e)) ||
        (st = lf_arch_float_in(L, "dropout", 0, 1, LF_ARCH_HI_OPEN, &nd->rate, where, e)))
        return st;
    if (!additive) {
        const char *sm = lf_arch_str(L, "score_mode");
        if (!sm || (strcmp(sm, "dot") != 0 && strcmp(sm, "concat") != 0))
            return lf_fail(e, LF_ERR_FORMAT, "%s: 'score_mode' must be \"dot\" or \"concat\"", where);
        nd->mode = strcmp(sm, "concat") == 0 ? LF_SCORE_CONCAT : LF_SCORE_DOT;
    }
    if (lf_json_get(L, "use_causal_mask") && (st = lf_arch_bool(L, "use_causal_mask", &nd->causal, where, e)))
        return st;
    if (lf_json_get(L, "return_attention_scores") &&
        (st = lf_arch_bool(L, "return_attention_scores", &nd->return_scores, where, e)))
        return st;
    return LF_OK;
}

static lf_status attention_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                                lf_err *e) {
    (void)m;
    return sa_read(L, n_in, nd, 0, where, e);
}

static lf_status additive_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                               lf_err *e) {
    (void)m;
    return sa_read(L, n_in, nd, 1, where, e);
}

static const char *const attention_keys[] = {"name", "type", "inbound", "use_scale", "score_mode", "dropout",
                                              "use_causal_mask", "return_attention_scores", NULL};

const lf_layer_type lf_type_attention = {
    .type = "Attention",
    .prefix = "attention",
    .keys = attention_keys,
    .masking = LF_MASKING_FIRST, /* the query's mask */
    .draws = 1,                  /* its dropout */
    .outputs = sa_outputs,
    .infer = sa_infer,
    .weights = sa_weights,
    .init = sa_init,
    .forward = sa_forward,
    .backward = sa_backward,
    .write_json = sa_json,
    .read_json = attention_read,
};

static const char *const additive_keys[] = {"name", "type", "inbound", "use_scale", "dropout",
                                             "use_causal_mask", "return_attention_scores", NULL};

const lf_layer_type lf_type_additive_attention = {
    .type = "AdditiveAttention",
    .prefix = "additive_attention",
    .keys = additive_keys,
    .op = 1, /* is_additive */
    .masking = LF_MASKING_FIRST,
    .draws = 1,
    .outputs = sa_outputs,
    .infer = sa_infer,
    .weights = sa_weights,
    .init = sa_init,
    .forward = sa_forward,
    .backward = sa_backward,
    .write_json = sa_json,
    .read_json = additive_read,
};

/* the settings both builders share */
static int sa_add(lf_model *m, const lf_layer_type *t, lf_kind kind, int query, int value, int key, int use_scale,
                  int mode, float dropout, int use_causal_mask, int return_attention_scores, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.use_scale = use_scale != 0;
    nd.mode = mode;
    nd.rate = dropout;
    nd.causal = use_causal_mask != 0;
    nd.return_scores = return_attention_scores != 0;
    int in[3] = {query, value, key};
    return lf_node_add(m, t, kind, nd, in, key >= 0 ? 3 : 2, name);
}

int lf_attention(lf_model *m, int query, int value, int key, int use_scale, lf_score_mode score_mode, float dropout,
                 int use_causal_mask, int return_attention_scores, const char *name) {
    if (!m || lf_build_stuck(m)) return -1;
    if (score_mode != LF_SCORE_DOT && score_mode != LF_SCORE_CONCAT) /* before the inputs, as Keras' __init__ */
        return lf_build_fail(m, LF_ERR_ARG, "Attention: unknown score_mode %d", (int)score_mode), -1;
    return sa_add(m, &lf_type_attention, LF_K_ATTENTION, query, value, key, use_scale, (int)score_mode, dropout,
                  use_causal_mask, return_attention_scores, name);
}

int lf_additive_attention(lf_model *m, int query, int value, int key, int use_scale, float dropout,
                          int use_causal_mask, int return_attention_scores, const char *name) {
    return sa_add(m, &lf_type_additive_attention, LF_K_ADDITIVE_ATTENTION, query, value, key, use_scale, LF_SCORE_DOT,
                  dropout, use_causal_mask, return_attention_scores, name);
}
