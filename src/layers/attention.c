/*
 * attention.c — MultiHeadAttention, Keras' layer: scaled dot-product
 * attention of H heads between a query sequence x_q (B, T, Dq) and a value
 * sequence x_v (B, S, Dv) (the keys are projected from the value, or from
 * a third input x_k (B, S, Dk)), y (B, T, Dout).
 *
 * Weights, Keras' order and layout (EinsumDense kernels):
 *   query.kernel (Dq, H, kd)   query.bias (H, kd)
 *   key.kernel   (Dk, H, kd)   key.bias   (H, kd)
 *   value.kernel (Dv, H, vd)   value.bias (H, vd)
 *   attention_output.kernel (H, vd, Dout)   attention_output.bias (Dout)
 * (no biases with use_bias false).  Kernels are glorot_uniform with Keras'
 * fans for a kernel of rank 3, (a, b, c): fan_in = a b, fan_out = a c;
 * biases are zero.
 *
 *   q = x_q Wq + bq, k = x_k Wk + bk, v = x_v Wv + bv      (per head h)
 *   p_h = softmax(q_h k_h^T / sqrt(kd)) over the keys      (T, S)
 *   o_h = dropout(p_h) v_h,  y = [o_1 .. o_H] Wo + bo
 *
 * A key mask (B, S) (the value's padding mask) and a query mask (B, T)
 * (the query's), 1 where present, mask the scores of absent keys to -inf
 * before the softmax, as Keras combines them into its attention mask; a row
 * with no key left (a masked query, or only masked keys) has all-zero
 * weights, as in Keras 3 (its Softmax multiplies by the mask), so its
 * output is the output bias.  Otherwise a NaN or +inf score of a present
 * key (a NaN in the inputs) gives the row NaN weights, so NaN outputs, as
 * in Keras and torch; an absent key's score is not read (Keras 3.13 on
 * replaces it; torch, which adds -inf to it, would give NaN).  The masks
 * are the inputs' padding masks (layer.h): the query's, and the value's (or the key's) for the keys; the
 * output carries the query's.  Keras' use_causal_mask (keys s <= t) and an
 * attention_mask input (B, T, S) (lf_set_attention_mask) are AND-ed with
 * them into one (B, T, S) mask, per row as above.  Dropout (rate `dropout`) applies to the
 * attention weights while training, drawn per row as dropout draws (lf_draws).
 *
 * GroupedQueryAttention (gqa.c) runs this record with fewer key/value
 * heads, nd->kv_heads (0 here: H): k and v then have Hk heads and query
 * head h reads key/value head h / (H / Hk); the backward sums the group's
 * gradients into its key/value head.  With Hk = H every product is the
 * same as before.
 *
 * Speed: the four projections are one sgemm each over all B T (or B S)
 * rows; per (sample, head) the scores and the weighted sum are sgemms on
 * strided views of q, k, v (no copies), and OpenMP spreads the B H pairs
 * over the cores above a work threshold (each pair is computed the same
 * way on any thread: results do not depend on the thread count).  Every
 * intermediate lives in the node's scratch (aux), so training allocates
 * nothing.
 */
#include "layers/layers.h"
#include "layers/layer.h"
#include "kernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------ kernels */

/* below this many multiply-adds, the (sample, head) loop runs on one thread */
#define ATT_PARALLEL_WORK ((size_t)1 << 18)

/* Sums and maxima run in SL independent lanes, combined in a fixed tree:
 * the compiler vectorises them (a single running sum would be a serial
 * chain it may not reorder), and every clone gives the same bits. */
#define SL 8

static inline double lanes_total(double *l) {
    for (int w = SL / 2; w > 0; w /= 2)
        for (int i = 0; i < w; i++) l[i] += l[i + w];
    return l[0];
}

/* the largest of a row's scores of present keys (km: 1 present, 0
 * absent; NULL: all present); NaN if one of them is NaN */
LF_CLONES static float row_max(const float *restrict row, const float *restrict km, size_t S) {
    float mxl[SL];
    for (int l = 0; l < SL; l++) mxl[l] = -INFINITY;
    size_t sf = S - S % SL;
    if (km)
        for (size_t s = 0; s < sf; s += SL)
            for (int l = 0; l < SL; l++) {
                float v = km[s + l] != 0.0f ? row[s + l] : -INFINITY;
                mxl[l] = v > mxl[l] || v != v ? v : mxl[l];
            }
    else
        for (size_t s = 0; s < sf; s += SL)
            for (int l = 0; l < SL; l++) {
                float v = row[s + l];
                mxl[l] = v > mxl[l] || v != v ? v : mxl[l];
            }
    for (size_t s = sf; s < S; s++) {
        float v = !km || km[s] != 0.0f ? row[s] : -INFINITY;
        mxl[s - sf] = v > mxl[s - sf] || v != v ? v : mxl[s - sf];
    }
    for (int w = SL / 2; w > 0; w /= 2)
        for (int l = 0; l < w; l++) mxl[l] = mxl[l + w] > mxl[l] || mxl[l + w] != mxl[l + w] ? mxl[l + w] : mxl[l];
    return mxl[0];
}

/* exp x for x in [-87, 0], in float: x = n ln 2 + r, |r| <= ln 2 / 2 (ln 2 in two parts,
 * the first with trailing zero bits, so n ln2_hi is exact), exp r by its
 * Taylor series to r^7, times 2^n from the bits.  Within 1.03 ulp of the
 * exact value over [-87, 0]; no branch, so loops over it vectorise. */
static inline float exp_nonpos(float x) {
    const float shift = 0x1.8p23f; /* adding it rounds |v| < 2^22 to an integer */
    float t = x * 0x1.715476p0f + shift;
    float n = t - shift;
    float r = (x - n * 0x1.62e4p-1f) - n * 0x1.7f7d1cp-20f;
    float p = 1.0f / 5040;
    p = p * r + 1.0f / 720;
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r * r + r;
    uint32_t tb, sb;
    memcpy(&tb, &t, sizeof tb);
    sb = (tb + 127u) << 23; /* the low bits of t hold n (two's complement) */
    float scale;
    memcpy(&scale, &sb, sizeof scale);
    return scale + scale * p;
}

/* row[s] = exp(row[s] - mx), 0 for absent keys (km 0); returns their sum
 * (in double, in lanes).  The exponents are clamped to [-87, 0] (an absent
 * key's score may pass mx; exp -87 is below 2^-125) in a loop of their
 * own: with the branches beside it, the exp loop would not vectorise. */
LF_CLONES static double row_exp(float *restrict row, const float *restrict km, size_t S, float mx) {
    for (size_t s = 0; s < S; s++) {
        float d = row[s] - mx;
        d = d < 0.0f ? d : 0.0f;
        row[s] = d > -87.0f ? d : -87.0f;
    }
    for (size_t s = 0; s < S; s++) row[s] = exp_nonpos(row[s]);
    if (km)
        for (size_t s = 0; s < S; s++) row[s] = km[s] != 0.0f ? row[s] : 0.0f;
    double sum[SL] = {0};
    size_t sf = S - S % SL;
    for (size_t s = 0; s < sf; s += SL)
        for (int l = 0; l < SL; l++) sum[l] += row[s + l];
    for (size_t s = sf; s < S; s++) sum[s - sf] += row[s];
    return lanes_total(sum);
}

/* T rows of S scores -> softmax weights over the present keys (kmask: 1
 * present, 0 absent, or NULL; kstride 0: the same keys for every row, S:
 * row t's own, kmask + t S), in place; rows whose qmask is 0, or with
 * no key present, become all zero.  As Keras 3's Softmax (3.13 on), which
 * replaces the absent keys' scores by -1e9 and zeroes their weights after
 * the softmax: a NaN or +inf score of a present key makes the row's
 * weights NaN, an absent key's score is not read, and present scores all
 * -inf give NaN weights when no key is absent (softmax's 0 / 0), else
 * zero weights. */
LF_CLONES static void softmax_rows(float *restrict p, size_t T, size_t S, const float *restrict kmask0,
                                   size_t kstride, const float *restrict qmask) {
    size_t n_on = S;
    for (size_t t = 0; t < T; t++) {
        float *restrict row = p + t * S;
        const float *restrict kmask = kmask0 ? kmask0 + t * kstride : NULL;
        if (kmask && (t == 0 || kstride)) {
            n_on = 0;
            for (size_t s = 0; s < S; s++) n_on += kmask[s] != 0.0f;
        }
        if (n_on == 0 || (qmask && qmask[t] == 0.0f)) { /* no key, or a masked row: no weights */
            memset(row, 0, S * sizeof *row);
            continue;
        }
        float mx = row_max(row, kmask, S);
        if (!(mx < INFINITY) || (mx == -INFINITY && n_on == S)) { /* NaN or +inf, or every score -inf */
            for (size_t s = 0; s < S; s++) row[s] = NAN;
            continue;
        }
        if (mx == -INFINITY) { /* Keras' weights go to the absent keys' -1e9, then its mask zeroes them */
            memset(row, 0, S * sizeof *row);
            continue;
        }
        double sum = row_exp(row, kmask, S, mx);
        float inv = (float)(1.0 / sum);
        for (size_t s = 0; s < S; s++) row[s] *= inv;
    }
}

/* the softmax's backward over T rows: d score = p (d p - <d p, p>), in
 * place in dp */
LF_CLONES static void softmax_rows_backward(float *restrict dp, const float *restrict p, size_t T, size_t S) {
    for (size_t t = 0; t < T; t++) {
        float *restrict r = dp + t * S;
        const float *restrict pr = p + t * S;
        double dot[SL] = {0};
        size_t sf = S - S % SL;
        for (size_t s = 0; s < sf; s += SL)
            for (int l = 0; l < SL; l++) dot[l] += (double)r[s + l] * pr[s + l];
        for (size_t s = sf; s < S; s++) dot[s - sf] += (double)r[s] * pr[s];
        float d = (float)lanes_total(dot);
        for (size_t s = 0; s < S; s++) r[s] = pr[s] * (r[s] - d);
    }
}

// q: (B, T, H, kd)  k: (B, S, Hk, kd)  v: (B, S, Hk, vd)   (Hk divides H:
// query head h reads key/value head h / (H / Hk), Keras' ops.repeat of the
// key and value heads in GroupedQueryAttention; Hk = H: MultiHeadAttention)
// qmask: (B, T) or NULL  kmask: (B, S) or NULL   (1 present, 0 absent)
// drop: (B, H, T, S) or NULL: dropout multipliers, 0 or 1/(1-rate)
// -> prob: (B, H, T, S) softmax weights, att: (B, H, T, S) prob * drop
//    (written only with drop; NULL without), out: (B, T, H, vd)
// amask: (B, T, S) or NULL: Keras' combined attention mask (then qmask and
// kmask are not read)
void lf_attention_forward_grouped(float *restrict out, float *restrict prob, float *restrict att,
                                  const float *restrict q, const float *restrict k,
                                  const float *restrict v, const float *restrict qmask,
                                  const float *restrict kmask, const float *restrict amask,
                                  const float *restrict drop, size_t B, size_t T, size_t S, size_t H,
                                  size_t Hk, size_t kd, size_t vd) {
    float scale = 1.0f / sqrtf((float)kd);
    size_t HK = H * kd, HV = H * vd, G = B * H, rep = H / Hk, KK = Hk * kd, KV = Hk * vd;
    size_t work = G * T * S * (kd + vd);
    (void)work; /* read only by the OpenMP clause */
#pragma omp parallel for if (work > ATT_PARALLEL_WORK) schedule(static)
    for (size_t g = 0; g < G; g++) {
        size_t b = g / H, h = g % H, hk = h / rep;
        float *p = prob + g * T * S;
        const float *qb = q + b * T * HK + h * kd, *kb = k + b * S * KK + hk * kd;
        // scores (T, S) = q_h (T, kd) k_h^T (kd, S) / sqrt(kd)
        lf_sgemm(0, 1, T, S, kd, scale, qb, HK, kb, KK, 0.0f, p, S);
        if (amask) softmax_rows(p, T, S, amask + b * T * S, S, NULL);
        else softmax_rows(p, T, S, kmask ? kmask + b * S : NULL, 0, qmask ? qmask + b * T : NULL);
        const float *a = p;
        if (drop) {
            float *ad = att + g * T * S;
            const float *dr = drop + g * T * S;
            for (size_t i = 0; i < T * S; i++) ad[i] = p[i] * dr[i];
            a = ad;
        }
        // out_h (T, vd) = a (T, S) v_h (S, vd)
        lf_sgemm(0, 0, T, vd, S, 1.0f, a, S, v + b * S * KV + hk * vd, KV, 0.0f,
                 out + b * T * HV + h * vd, HV);
    }
}

void lf_attention_forward_masked(float *restrict out, float *restrict prob, float *restrict att,
                                 const float *restrict q, const float *restrict k,
                                 const float *restrict v, const float *restrict qmask,
                                 const float *restrict kmask, const float *restrict amask,
                                 const float *restrict drop, size_t B, size_t T, size_t S, size_t H,
                                 size_t kd, size_t vd) {
    lf_attention_forward_grouped(out, prob, att, q, k, v, qmask, kmask, amask, drop, B, T, S, H, H, kd, vd);
}

void lf_attention_forward(float *restrict out, float *restrict prob, float *restrict att,
                          const float *restrict q, const float *restrict k,
                          const float *restrict v, const float *restrict qmask,
                          const float *restrict kmask, const float *restrict drop, size_t B,
                          size_t T, size_t S, size_t H, size_t kd, size_t vd) {
    lf_attention_forward_masked(out, prob, att, q, k, v, qmask, kmask, NULL, drop, B, T, S, H, kd, vd);
}

// dout: (B, T, H, vd); prob, att, drop, q, k, v as the forward pass left them
// (k, v: Hk heads, as lf_attention_forward_grouped)
// -> dq (B, T, H, kd), dk (B, S, Hk, kd), dv (B, S, Hk, vd), written: the
//    sums over the H / Hk query heads of a key/value head are kept in one
//    (sample, key/value head) pair, its heads added in order, the first
//    written; dscore: (B, H, T, S) scratch
// dprob: NULL, or the gradient of the softmax weights as an output of their
// own (Keras' return_attention_scores): sample b's (H, T, S) at dprob + b ld
static void attention_backward(float *restrict dq, float *restrict dk, float *restrict dv,
                               float *restrict dscore, const float *restrict dout,
                               const float *restrict prob, const float *restrict att,
                               const float *restrict drop, const float *restrict dprob, size_t ld,
                               const float *restrict q, const float *restrict k, const float *restrict v,
                               size_t B, size_t T, size_t S, size_t H, size_t Hk, size_t kd, size_t vd) {
    float scale = 1.0f / sqrtf((float)kd);
    size_t HK = H * kd, HV = H * vd, rep = H / Hk, KK = Hk * kd, KV = Hk * vd, GK = B * Hk;
    size_t work = B * H * T * S * (kd + vd);
    (void)work; /* read only by the OpenMP clause */
#pragma omp parallel for if (work > ATT_PARALLEL_WORK) schedule(static)
    for (size_t gk = 0; gk < GK; gk++) {
        size_t b = gk / Hk, hk = gk % Hk;
        for (size_t r = 0; r < rep; r++) {
            size_t h = hk * rep + r, g = b * H + h;
            float beta = r ? 1.0f : 0.0f; /* the group's first head writes dk, dv */
            const float *p = prob + g * T * S, *a = drop ? att + g * T * S : p;
            const float *dob = dout + b * T * HV + h * vd;
            float *ds = dscore + g * T * S;
            // dv_hk (S, vd) (+)= a^T (S, T) dout_h (T, vd)
            lf_sgemm(1, 0, S, vd, T, 1.0f, a, S, dob, HV, beta, dv + b * S * KV + hk * vd, KV);
            // d a (T, S) = dout_h (T, vd) v_hk^T (vd, S)
            lf_sgemm(0, 1, T, S, vd, 1.0f, dob, HV, v + b * S * KV + hk * vd, KV, 0.0f, ds, S);
            if (drop) {
                const float *dr = drop + g * T * S;
                for (size_t i = 0; i < T * S; i++) ds[i] *= dr[i];
            }
            if (dprob) { /* the weights' own output (before dropout, as Keras returns them) */
                const float *dp = dprob + b * ld + h * T * S;
                for (size_t i = 0; i < T * S; i++) ds[i] += dp[i];
            }
            // d score = p (d p - <d p, p>) per row (0 where p is 0)
            softmax_rows_backward(ds, p, T, S);
            const float *qb = q + b * T * HK + h * kd, *kb = k + b * S * KK + hk * kd;
            // dq_h (T, kd) = d score (T, S) k_hk (S, kd) / sqrt(kd)
            lf_sgemm(0, 0, T, kd, S, scale, ds, S, kb, KK, 0.0f, dq + b * T * HK + h * kd, HK);
            // dk_hk (S, kd) (+)= d score^T (S, T) q_h (T, kd) / sqrt(kd)
            lf_sgemm(1, 0, S, kd, T, scale, ds, S, qb, HK, beta, dk + b * S * KK + hk * kd, KK);
        }
    }
}

void lf_attention_backward(float *restrict dq, float *restrict dk, float *restrict dv,
                           float *restrict dscore, const float *restrict dout,
                           const float *restrict prob, const float *restrict att,
                           const float *restrict drop, const float *restrict q,
                           const float *restrict k, const float *restrict v, size_t B, size_t T,
                           size_t S, size_t H, size_t kd, size_t vd) {
    attention_backward(dq, dk, dv, dscore, dout, prob, att, drop, NULL, 0, q, k, v, B, T, S, H, H, kd, vd);
}

/* ---------------------------------------------------------------- record */

/* A node's sizes: inputs query (T, Dq), value (S, Dv), key (S, Dk) (the
 * value unless a third input), H heads of kd / vd, output (T, Dout); the
 * weights' offsets from the node's first parameter (bias offsets are
 * meaningless without biases); the scratch arrays' offsets in aux, counted
 * in floats over the whole batch. */
typedef struct mha_geom {
    size_t T, S, Dq, Dk, Dv, Do, H, kd, vd, HK, HV;
    size_t Hk, KK, KV; /* key/value heads (H but in GroupedQueryAttention), Hk kd, Hk vd */
    size_t wq, bq, wk, bk, wv, bv, wo, bo, n_params;
} mha_geom;

static mha_geom geom_of(const lf_model *m, const lf_node *nd) {
    mha_geom g;
    const lf_node *xq = &m->nodes[nd->in[0]], *xv = &m->nodes[nd->in[1]];
    const lf_node *xk = nd->n_in > 2 ? &m->nodes[nd->in[2]] : xv;
    g.T = xq->shape[0], g.Dq = xq->shape[1];
    g.S = xv->shape[0], g.Dv = xv->shape[1], g.Dk = xk->shape[1];
    g.H = nd->heads, g.kd = nd->key_dim, g.vd = nd->value_dim;
    g.HK = g.H * g.kd, g.HV = g.H * g.vd;
    g.Hk = nd->kv_heads ? nd->kv_heads : g.H, g.KK = g.Hk * g.kd, g.KV = g.Hk * g.vd;
    g.Do = nd->units;
    size_t nb = nd->use_bias != 0;
    g.wq = 0, g.bq = g.Dq * g.HK;
    g.wk = g.bq + nb * g.HK, g.bk = g.wk + g.Dk * g.KK;
    g.wv = g.bk + nb * g.KK, g.bv = g.wv + g.Dv * g.KV;
    g.wo = g.bv + nb * g.KV, g.bo = g.wo + g.HV * g.Do;
    g.n_params = g.bo + nb * g.Do;
    return g;
}

/* the scratch of B rows: q k v o, the softmax weights and the scores'
 * gradient, the dropout multipliers and dropped weights (rate > 0), then
 * dq dk dv do, then (use_causal_mask or an attention_mask) Keras'
 * combined attention mask */
typedef struct mha_aux {
    float *q, *k, *v, *o, *prob, *ds, *drop, *att, *dq, *dk, *dv, *dout, *amask;
} mha_aux;

static mha_aux aux_of(float *aux, const mha_geom *g, size_t B, int dropout) {
    mha_aux a;
    size_t nq = B * g->T * g->HK, nk = B * g->S * g->KK, nv = B * g->S * g->KV, no = B * g->T * g->HV;
    size_t np = B * g->H * g->T * g->S;
    a.q = aux, a.k = a.q + nq, a.v = a.k + nk, a.o = a.v + nv;
    a.prob = a.o + no, a.ds = a.prob + np;
    float *p = a.ds + np;
    a.drop = dropout ? p : NULL, a.att = dropout ? p + np : NULL;
    p += dropout ? 2 * np : 0;
    a.dq = p, a.dk = a.dq + nq, a.dv = a.dk + nk, a.dout = a.dv + nv;
    a.amask = a.dout + no; /* (B, T, S), only with the causal mask or an attention_mask */
    return a;
}

static int mha_fail_shape(lf_model *m, const char *who, const char *what, const lf_node *x) {
    char s[96];
    lf_shape_str(x, s, sizeof s);
    return lf_build_fail(m, LF_ERR_SHAPE,
                         "%s: the %s '%s' has shape %s; it needs rank 3 "
                         "(batch, sequence, features)",
                         who, what, x->name, s);
}

/* Keras' return_attention_scores: the node's row holds the output (T, Do)
 * then the softmax weights (H, T, S); OutputView nodes read them
 * (mha_outputs) */
static void mha_two_outputs(lf_node *nd, size_t T, size_t hts) {
    nd->n_outs = 2;
    nd->rank = 1;
    memset(nd->shape, 0, sizeof nd->shape);
    nd->dim = nd->shape[0] = T * nd->units + hts;
    nd->seq_mask = -1; /* the output's view carries the query's */
}

static size_t mha_outputs(const lf_model *m, const lf_node *nd, lf_out_view *v) {
    const lf_node *xq = &m->nodes[nd->in[0]], *xv = &m->nodes[nd->in[1]];
    size_t T = xq->shape[0], S = xv->shape[0];
    memset(v, 0, 2 * sizeof *v);
    v[0].off = 0, v[0].rank = 2, v[0].shape[0] = T, v[0].shape[1] = nd->units, v[0].seq_mask = xq->seq_mask;
    v[1].off = T * nd->units, v[1].rank = 3, v[1].shape[0] = nd->heads, v[1].shape[1] = T, v[1].shape[2] = S;
    v[1].seq_mask = -1; /* Keras' scores carry no mask */
    return 2;
}

/* 1 when the attention_mask x is not (T, S); then its shape in sh */
static int mask_shape_wrong(const lf_node *x, size_t T, size_t S, char sh[96]) {
    if (x->rank == 2 && x->shape[0] == T && x->shape[1] == S) return 0;
    lf_shape_str(x, sh, 96);
    return 1;
}

/* an attention_mask node (or -1): an earlier node of shape (T, S) */
static int mha_mask_ok(lf_model *m, const char *who, int mask, size_t T, size_t S) {
    if (mask == -1) return 1;
    if (mask < 0 || (size_t)mask >= m->n_nodes)
        return lf_build_fail(m, LF_ERR_ARG, "%s: the attention_mask is not a node of this model (id %d)", who,
                             mask);
    const lf_node *x = &m->nodes[mask];
    char sh[96];
    if (mask_shape_wrong(x, T, S, sh)) {
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "%s: the attention_mask '%s' has shape %s; it needs (None, %zu, %zu) "
                             "(batch, query steps, key steps)",
                             who, x->name, sh, T, S);
    }
    return 1;
}

/* the builder put heads, key_dim, value_dim, rate, use_bias and the
 * output's features (0: the query's) in nd; an attention_mask node in
 * nd->mask and use_causal_mask in nd->causal */
static int mha_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const char *who = t->type; /* MultiHeadAttention, or GroupedQueryAttention (gqa.c) */
    static const char *const what[3] = {"query", "value", "key"};
    if (n_in < 2 || n_in > 3)
        return lf_build_fail(m, LF_ERR_ARG, "%s takes a query, a value and an optional key, "
                                            "got %zu inputs", who, n_in);
    for (size_t i = 0; i < n_in; i++) {
        if (in[i] < 0 || (size_t)in[i] >= m->n_nodes)
            return lf_build_fail(m, LF_ERR_ARG, "%s: the %s is not a node of this model (id %d)",
                                 who, what[i], in[i]);
        if (m->nodes[in[i]].rank != 2) return mha_fail_shape(m, who, what[i], &m->nodes[in[i]]);
    }
    const lf_node *xq = &m->nodes[in[0]], *xv = &m->nodes[in[1]];
    if (n_in > 2 && m->nodes[in[2]].shape[0] != xv->shape[0])
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "%s: the key '%s' has %zu steps and the value '%s' %zu; they "
                             "must be equal",
                             who, m->nodes[in[2]].name, m->nodes[in[2]].shape[0], xv->name, xv->shape[0]);
    if (nd->heads == 0 || nd->heads > 4096 || nd->key_dim == 0 || nd->key_dim > 65536 || nd->value_dim == 0 ||
        nd->value_dim > 65536)
        return lf_build_fail(m, LF_ERR_ARG,
                             "%s: num_heads must be in 1..4096 and key_dim and value_dim in "
                             "1..65536, got %zu, %zu and %zu",
                             who, nd->heads, nd->key_dim, nd->value_dim);
    if (!(nd->rate >= 0.0f && nd->rate < 1.0f))
        return lf_build_fail(m, LF_ERR_ARG, "%s: dropout must be in [0, 1), got %g",
                             who, (double)nd->rate);
    size_t Do = nd->dim ? nd->dim : xq->shape[1];
    size_t out[2] = {xq->shape[0], Do};
    if (!lf_shape_set(m, who, nd, 2, out)) return 0;
    nd->units = Do;
    /* every size below is checked against overflow before it is used */
    size_t T = xq->shape[0], S = xv->shape[0], HK = nd->heads * nd->key_dim, HV = nd->heads * nd->value_dim;
    size_t ts, hts, wmax = xq->shape[1] > xv->shape[1] ? xq->shape[1] : xv->shape[1];
    wmax = n_in > 2 && m->nodes[in[2]].shape[1] > wmax ? m->nodes[in[2]].shape[1] : wmax;
    wmax = Do > wmax ? Do : wmax;
    size_t hmax = HK > HV ? HK : HV, wsz, seq;
    if (!lf_mul_ok(T, S, &ts) || !lf_mul_ok(ts, nd->heads, &hts) || hts > LF_ARCH_MAX_DIM ||
        !lf_mul_ok(wmax, hmax, &wsz) || wsz > LF_ARCH_MAX_DIM || !lf_mul_ok(T + S, hmax, &seq) ||
        seq > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG,
                             "%s: %zu heads over %zu x %zu steps, or weights of %zu x %zu, "
                             "are too many",
                             who, nd->heads, T, S, wmax, hmax);
    /* the padding masks: the keys take the value's, or the key's; the
     * output carries the query's (Keras; LF_MASKING_FIRST) */
    int mv = xv->seq_mask, mk = n_in > 2 ? m->nodes[in[2]].seq_mask : -1;
    if (mv >= 0 && mk >= 0 && mv != mk)
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "%s: the value and the key carry the padding masks of two "
                             "layers ('%s' and '%s'); combining masks is not supported",
                             who, m->nodes[mv].name, m->nodes[mk].name);
    if (!mha_mask_ok(m, who, nd->mask, T, S)) return 0;
    int dropout = nd->rate > 0.0f;
    nd->aux_per_row = 2 * (T * HK + S * HK + S * HV + T * HV) + (2 + 2 * (size_t)dropout) * hts +
                      (nd->causal || nd->mask >= 0 ? ts : 0);
    if (nd->return_scores) mha_two_outputs(nd, T, hts);
    return 1;
}

static size_t mha_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    mha_geom g = geom_of(m, nd);
    size_t n = 0;
    w[n++] = (lf_weight){"query.kernel", g.wq, 3, {g.Dq, g.H, g.kd}, 1, 0, 0, 0};
    if (nd->use_bias) w[n++] = (lf_weight){"query.bias", g.bq, 2, {g.H, g.kd}, 0, 0, 1, 0};
    w[n++] = (lf_weight){"key.kernel", g.wk, 3, {g.Dk, g.Hk, g.kd}, 1, 0, 0, 0};
    if (nd->use_bias) w[n++] = (lf_weight){"key.bias", g.bk, 2, {g.Hk, g.kd}, 0, 0, 1, 0};
    w[n++] = (lf_weight){"value.kernel", g.wv, 3, {g.Dv, g.Hk, g.vd}, 1, 0, 0, 0};
    if (nd->use_bias) w[n++] = (lf_weight){"value.bias", g.bv, 2, {g.Hk, g.vd}, 0, 0, 1, 0};
    w[n++] = (lf_weight){"attention_output.kernel", g.wo, 3, {g.H, g.vd, g.Do}, 1, 0, 0, 0};
    if (nd->use_bias) w[n++] = (lf_weight){"attention_output.bias", g.bo, 1, {g.Do}, 0, 0, 1, 0};
    return n;
}

/* glorot_uniform over a kernel (a, b, c) with Keras' fans: a b in, a c out */
static void glorot3(lf_model *m, float *w, size_t a, size_t b, size_t c) {
    float limit = sqrtf(6.0f / (float)(a * b + a * c));
    for (size_t i = 0; i < a * b * c; i++) w[i] = (2.0f * lf_rng_uniform(&m->rng) - 1.0f) * limit;
}

static void mha_init(lf_model *m, lf_node *nd) {
    mha_geom g = geom_of(m, nd);
    float *w = m->params + nd->param_off;
    memset(w, 0, g.n_params * sizeof *w); /* the biases */
    glorot3(m, w + g.wq, g.Dq, g.H, g.kd);
    glorot3(m, w + g.wk, g.Dk, g.Hk, g.kd);
    glorot3(m, w + g.wv, g.Dv, g.Hk, g.vd);
    glorot3(m, w + g.wo, g.H, g.vd, g.Do);
}

static const float *key_input(const lf_layer_ctx *c) { return c->xs[c->nd->n_in > 2 ? 2 : 1]; }

static void mha_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    mha_geom g = geom_of(c->m, nd);
    size_t B = c->B;
    int dropout = nd->rate > 0.0f;
    mha_aux a = aux_of(c->aux, &g, B, dropout);
    const float *w = c->w;
    int nb = nd->use_bias;
    lf_sgemm_bias_relu(0, 0, B * g.T, g.HK, g.Dq, c->xs[0], g.Dq, w + g.wq, g.HK, nb ? w + g.bq : NULL, 0,
                       a.q, g.HK);
    lf_sgemm_bias_relu(0, 0, B * g.S, g.KK, g.Dk, key_input(c), g.Dk, w + g.wk, g.KK, nb ? w + g.bk : NULL,
                       0, a.k, g.KK);
    lf_sgemm_bias_relu(0, 0, B * g.S, g.KV, g.Dv, c->xs[1], g.Dv, w + g.wv, g.KV, nb ? w + g.bv : NULL, 0,
                       a.v, g.KV);
    const float *drop = NULL;
    if (dropout && c->training) {
        /* row b's H x T x S multipliers: draws of its global row's stream
         * (lf_draws; none drawn: all kept) */
        size_t n = g.H * g.T * g.S;
        float keep = 1.0f / (1.0f - nd->rate);
        uint64_t node = c->draw_id;
        for (size_t b = 0; b < B; b++) {
            float *db = a.drop + b * n;
            uint64_t s = c->draws ? lf_draw_stream(c->draws->key, node, c->draws->row0 + b) : 0;
            for (size_t i = 0; i < n; i++) db[i] = !c->draws ? 1.0f : lf_draw_uniform(s, i) < nd->rate ? 0.0f : keep;
        }
        drop = a.drop;
    }
    const float *kmask = c->in_masks[1] ? c->in_masks[1] : nd->n_in > 2 ? c->in_masks[2] : NULL;
    const float *amask = NULL;
    if (nd->causal || c->mask) {
        /* Keras' _compute_attention_mask: query mask (B, T, 1) & key mask
         * (B, 1, S) & the causal mask (T, S): key s <= query t &
         * attention_mask (B, T, S) (nonzero: attend) */
        const float *qm = c->in_masks[0];
        for (size_t b = 0; b < B; b++)
            for (size_t t = 0; t < g.T; t++) {
                float *r = a.amask + (b * g.T + t) * g.S;
                const float *am = c->mask ? c->mask + (b * g.T + t) * g.S : NULL;
                int qon = !qm || qm[b * g.T + t] != 0.0f;
                for (size_t s = 0; s < g.S; s++)
                    r[s] = qon && (!kmask || kmask[b * g.S + s] != 0.0f) && (!nd->causal || s <= t) &&
                           (!am || am[s] != 0.0f);
            }
        amask = a.amask;
    }
    lf_attention_forward_grouped(a.o, a.prob, a.att, a.q, a.k, a.v, c->in_masks[0], kmask, amask, drop, B, g.T,
                                 g.S, g.H, g.Hk, g.kd, g.vd);
    if (!nd->return_scores) {
        lf_sgemm_bias_relu(0, 0, B * g.T, g.Do, g.HV, a.o, g.HV, w + g.wo, g.Do, nb ? w + g.bo : NULL, 0, c->y,
                           g.Do);
        return;
    }
    /* two outputs: each row (T, Do) then the weights (H, T, S) */
    size_t row = nd->dim, hts = g.H * g.T * g.S;
    for (size_t b = 0; b < B; b++) {
        float *yb = c->y + b * row;
        lf_sgemm_bias_relu(0, 0, g.T, g.Do, g.HV, a.o + b * g.T * g.HV, g.HV, w + g.wo, g.Do, nb ? w + g.bo : NULL,
                           0, yb, g.Do);
        memcpy(yb + g.T * g.Do, a.prob + b * hts, hts * sizeof *yb);
    }
}

/* db (n) += the column sums of x (rows, n) */
static void add_col_sums(float *restrict db, const float *restrict x, size_t rows, size_t n) {
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < n; j++) db[j] += x[r * n + j];
}

/* the gradients of one projection y (rows, n) = x (rows, in) W (in, n) + b
 * from dy: dW +=, db += (when use_bias), dx += (when dx) */
static void projection_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                                const float *w, size_t rows, size_t in, size_t n) {
    lf_sgemm(1, 0, in, n, rows, 1.0f, x, in, dy, n, 1.0f, dw, n);
    if (db) add_col_sums(db, dy, rows, n);
    if (dx) lf_sgemm(0, 1, rows, in, n, 1.0f, dy, n, w, n, 1.0f, dx, in);
}

static void mha_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    mha_geom g = geom_of(c->m, nd);
    size_t B = c->B;
    int dropout = nd->rate > 0.0f;
    mha_aux a = aux_of(c->aux, &g, B, dropout);
    const float *w = c->w;
    float *dw = c->dw;
    int nb = nd->use_bias;
    /* y = o Wo + bo (with the scores: each row's first T Do values) */
    size_t ld = nd->return_scores ? nd->dim : g.T * g.Do;
    for (size_t b = 0, nb_ = nd->return_scores ? B : 1; b < nb_; b++) {
        size_t rows = nd->return_scores ? g.T : B * g.T;
        const float *ob = a.o + b * g.T * g.HV, *dyb = c->dy + b * ld;
        lf_sgemm(1, 0, g.HV, g.Do, rows, 1.0f, ob, g.HV, dyb, g.Do, 1.0f, dw + g.wo, g.Do);
        if (nb) add_col_sums(dw + g.bo, dyb, rows, g.Do);
        lf_sgemm(0, 1, rows, g.HV, g.Do, 1.0f, dyb, g.Do, w + g.wo, g.Do, 0.0f, a.dout + b * g.T * g.HV, g.HV);
    }
    const float *drop = dropout && c->training ? a.drop : NULL;
    attention_backward(a.dq, a.dk, a.dv, a.ds, a.dout, a.prob, a.att, drop,
                       nd->return_scores ? c->dy + g.T * g.Do : NULL, ld, a.q, a.k, a.v, B, g.T, g.S, g.H, g.Hk,
                       g.kd, g.vd);
    int ik = nd->n_in > 2 ? 2 : 1;
    projection_backward(c->dxs[0], dw + g.wq, nb ? dw + g.bq : NULL, a.dq, c->xs[0], w + g.wq, B * g.T,
                        g.Dq, g.HK);
    /* the key bias adds q . bk to every score of a row, which the softmax
     * ignores: its gradient is exactly 0 (the sums of dk would give
     * rounding noise, on which Adam would take full steps) */
    projection_backward(c->dxs[ik], dw + g.wk, NULL, a.dk, c->xs[ik], w + g.wk, B * g.S, g.Dk, g.KK);
    projection_backward(c->dxs[1], dw + g.wv, nb ? dw + g.bv : NULL, a.dv, c->xs[1], w + g.wv, B * g.S,
                        g.Dv, g.KV);
}

static void mha_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    lf_buf_printf(b, ",\"num_heads\":%zu,\"key_dim\":%zu,\"value_dim\":%zu,\"dropout\":", nd->heads,
                  nd->key_dim, nd->value_dim);
    lf_buf_json_float(b, nd->rate);
    lf_buf_printf(b, ",\"use_bias\":%s,\"output_shape\":%zu,\"l2\":", nd->use_bias ? "true" : "false",
                  nd->units);
    lf_buf_json_float(b, nd->l2);
    lf_arch_write_bias_l2(nd, b);
    lf_mha_write_call(m, nd, b);
}

/* written only when set, so that other files stay as they were */
void lf_mha_write_call(const lf_model *m, const lf_node *nd, lf_buf *b) {
    if (nd->causal) lf_buf_puts(b, ",\"use_causal_mask\":true");
    if (nd->mask >= 0) lf_buf_puts(b, ",\"attention_mask\":"), lf_buf_json_string(b, m->nodes[nd->mask].name);
    if (nd->return_scores) lf_buf_puts(b, ",\"return_attention_scores\":true");
}

lf_status lf_mha_read_call(const lf_model *m, const lf_json *L, lf_node *nd, const char *where, lf_err *e) {
    lf_status st;
    if (lf_json_get(L, "use_causal_mask") && (st = lf_arch_bool(L, "use_causal_mask", &nd->causal, where, e)))
        return st;
    if (lf_json_get(L, "return_attention_scores") &&
        (st = lf_arch_bool(L, "return_attention_scores", &nd->return_scores, where, e)))
        return st;
    const lf_json *am = lf_json_get(L, "attention_mask");
    if (am && (nd->mask = lf_arch_node(m, am)) < 0)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'attention_mask' does not name an earlier layer", where);
    return LF_OK;
}

static lf_status mha_size(const lf_json *L, const char *key, size_t hi, size_t *out, const char *where,
                          lf_err *e) {
    if (!lf_json_size(lf_json_get(L, key), out) || *out == 0 || *out > hi)
        return lf_fail(e, LF_ERR_FORMAT, "%s: '%s' must be an integer in 1..%zu", where, key, hi);
    return LF_OK;
}

static lf_status mha_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    if (n_in < 2 || n_in > 3)
        return lf_fail(e, LF_ERR_FORMAT, "%s: MultiHeadAttention takes 2 or 3 inbound layers", where);
    lf_status st;
    if ((st = mha_size(L, "num_heads", 4096, &nd->heads, where, e)) ||
        (st = mha_size(L, "key_dim", 65536, &nd->key_dim, where, e)) ||
        (st = mha_size(L, "value_dim", 65536, &nd->value_dim, where, e)) ||
        (st = mha_size(L, "output_shape", LF_ARCH_MAX_DIM, &nd->dim, where, e)) ||
        (st = lf_arch_float_in(L, "dropout", 0, 1, LF_ARCH_HI_OPEN, &nd->rate, where, e)) ||
        (st = lf_arch_bool(L, "use_bias", &nd->use_bias, where, e)))
        return st;
    if (lf_json_get(L, "l2") && (st = lf_arch_float_in(L, "l2", 0, INFINITY, 0, &nd->l2, where, e)) != LF_OK) return st;
    if ((st = lf_mha_read_call(m, L, nd, where, e))) return st;
    return lf_arch_read_bias_l2(L, nd, where, e);
}

static const char *const mha_keys[] = {"name",     "type",     "inbound",      "num_heads", "key_dim",
                                       "value_dim", "dropout", "use_bias", "output_shape", "l2",
                                       "bias_l2",   "use_causal_mask", "attention_mask", "return_attention_scores",
                                       NULL};

const lf_layer_type lf_type_mha = {
    .type = "MultiHeadAttention",
    .prefix = "multi_head_attention",
    .keys = mha_keys,
    .l2 = 1,
    .bias_l2 = 1,
    .masking = LF_MASKING_FIRST, /* the query's mask */
    .draws = 1, /* its attention dropout */
    .outputs = mha_outputs, /* return_attention_scores */
    .infer = mha_infer,
    .weights = mha_weights,
    .init = mha_init,
    .forward = mha_forward,
    .backward = mha_backward,
    .write_json = mha_json,
    .read_json = mha_read,
};

int lf_multi_head_attention(lf_model *m, int query, int value, int key, size_t num_heads, size_t key_dim,
                            size_t value_dim, float dropout, int use_bias, size_t output_dim,
                            const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.heads = num_heads;
    nd.key_dim = key_dim;
    nd.value_dim = value_dim ? value_dim : key_dim;
    nd.rate = dropout;
    nd.use_bias = use_bias != 0;
    nd.dim = output_dim;
    int in[3] = {query, value, key};
    return lf_node_add(m, &lf_type_mha, LF_K_MHA, nd, in, key >= 0 ? 3 : 2, name);
}

/* node: a MultiHeadAttention or GroupedQueryAttention (which runs this record) */
static int is_mha(const lf_model *m, int node) {
    return node >= 0 && (size_t)node < m->n_nodes &&
           (m->nodes[node].kind == LF_K_MHA || m->nodes[node].kind == LF_K_GQA);
}

lf_status lf_set_attention_mask(lf_model *m, int node, int attention_mask, int use_causal_mask) {
    if (!m) return LF_ERR_ARG;
    if (lf_build_stuck(m)) return m->sticky;
    if (m->compiled) return lf_model_fail(m, LF_ERR_STATE, "lf_set_attention_mask: the model is already compiled");
    if (!is_mha(m, node))
        return lf_model_fail(m, LF_ERR_ARG,
                             "lf_set_attention_mask: node %d is not a MultiHeadAttention or GroupedQueryAttention "
                             "layer", node);
    lf_node *nd = &m->nodes[node];
    if (attention_mask != -1 && (attention_mask < 0 || attention_mask >= node))
        return lf_model_fail(m, LF_ERR_ARG,
                             "lf_set_attention_mask: the attention_mask of '%s' must be a layer added before it "
                             "(id %d)", nd->name, attention_mask);
    mha_geom g = geom_of(m, nd);
    const lf_node *x = attention_mask >= 0 ? &m->nodes[attention_mask] : NULL;
    char sh[96];
    if (x && mask_shape_wrong(x, g.T, g.S, sh))
        return lf_model_fail(m, LF_ERR_SHAPE,
                             "%s '%s': the attention_mask '%s' has shape %s; it needs (None, %zu, "
                             "%zu) (batch, query steps, key steps)",
                             lf_type_of(nd)->type, nd->name, x->name, sh, g.T, g.S);
    size_t ts = g.T * g.S, had = nd->causal || nd->mask >= 0 ? ts : 0;
    nd->mask = attention_mask, nd->causal = use_causal_mask != 0;
    nd->aux_per_row += (nd->causal || nd->mask >= 0 ? ts : 0) - had; /* the combined mask's room, as infer */
    return LF_OK;
}

lf_status lf_set_return_attention_scores(lf_model *m, int node, int return_attention_scores) {
    if (!m) return LF_ERR_ARG;
    if (lf_build_stuck(m)) return m->sticky;
    if (m->compiled)
        return lf_model_fail(m, LF_ERR_STATE, "lf_set_return_attention_scores: the model is already compiled");
    if (!is_mha(m, node))
        return lf_model_fail(m, LF_ERR_ARG, "lf_set_return_attention_scores: node %d is not a MultiHeadAttention "
                             "or GroupedQueryAttention layer", node);
    lf_node *nd = &m->nodes[node];
    if (!return_attention_scores == !nd->return_scores) return LF_OK;
    if (!return_attention_scores)
        return lf_model_fail(m, LF_ERR_ARG, "lf_set_return_attention_scores: '%s' already returns its scores",
                             nd->name);
    /* its outputs change: nothing may read it yet */
    for (size_t i = (size_t)node + 1; i < m->n_nodes; i++) {
        const lf_node *o = &m->nodes[i];
        int reads = o->gate == node || o->mask == node;
        for (size_t j = 0; j < o->n_in; j++) reads |= o->in[j] == node;
        if (reads)
            return lf_model_fail(m, LF_ERR_STATE, "lf_set_return_attention_scores: %s '%s' is "
                                 "already read by layer '%s'; set it before adding the layers that read it",
                                 lf_type_of(nd)->type, nd->name, o->name);
    }
    mha_geom g = geom_of(m, nd);
    nd->return_scores = 1;
    mha_two_outputs(nd, g.T, g.H * g.T * g.S);
    return LF_OK;
}
