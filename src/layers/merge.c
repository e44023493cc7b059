/*
 * merge.c — Keras' merging layers: Add, Subtract, Multiply, Average,
 * Maximum, Minimum (elementwise over inputs of equal shape), Concatenate
 * (along any non-batch axis, Keras' default the last) and Dot (Keras'
 * batch_dot over one axis of each input: on two rows their inner product;
 * optionally cosine): their kernels, then their records (none has weights;
 * Dot keeps the norms of every fiber for the backward pass).
 */
#include "layers/layers.h"
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

// xs[i]: (B, D)  y: (B, D)
void lf_merge_forward(lf_merge_op op, float *restrict y, const float *const *xs, size_t k,
                      size_t B, size_t D) {
    size_t n = B * D;
    memcpy(y, xs[0], n * sizeof *y);
    for (size_t i = 1; i < k; i++) {
        const float *x = xs[i];
        switch (op) {
        case LF_MERGE_ADD:
        case LF_MERGE_AVG:
            for (size_t j = 0; j < n; j++) y[j] += x[j];
            break;
        case LF_MERGE_SUB:
            for (size_t j = 0; j < n; j++) y[j] -= x[j];
            break;
        case LF_MERGE_MUL:
            for (size_t j = 0; j < n; j++) y[j] *= x[j];
            break;
        case LF_MERGE_MAX:
            for (size_t j = 0; j < n; j++) y[j] = x[j] > y[j] ? x[j] : y[j];
            break;
        case LF_MERGE_MIN:
            for (size_t j = 0; j < n; j++) y[j] = x[j] < y[j] ? x[j] : y[j];
            break;
        }
    }
    if (op == LF_MERGE_AVG) {
        float inv = 1.0f / (float)k;
        for (size_t j = 0; j < n; j++) y[j] *= inv;
    }
}

void lf_merge_backward(lf_merge_op op, float *const *dxs, const float *restrict dy,
                       const float *const *xs, const float *restrict y, size_t k, size_t B,
                       size_t D) {
    size_t n = B * D;
    for (size_t i = 0; i < k; i++) {
        float *dx = dxs[i];
        if (!dx) continue;
        switch (op) {
        case LF_MERGE_ADD:
            for (size_t j = 0; j < n; j++) dx[j] += dy[j];
            break;
        case LF_MERGE_AVG: {
            float inv = 1.0f / (float)k;
            for (size_t j = 0; j < n; j++) dx[j] += dy[j] * inv;
            break;
        }
        case LF_MERGE_SUB:
            for (size_t j = 0; j < n; j++) dx[j] += i == 0 ? dy[j] : -dy[j];
            break;
        case LF_MERGE_MUL:
            for (size_t j = 0; j < n; j++) {
                float p = dy[j];
                for (size_t o = 0; o < k; o++)
                    if (o != i) p *= xs[o][j];
                dx[j] += p;
            }
            break;
        case LF_MERGE_MAX:
        case LF_MERGE_MIN:
            /* the gradient goes to the first input that equals the output */
            for (size_t j = 0; j < n; j++) {
                size_t first = 0;
                while (first < k && xs[first][j] != y[j]) first++;
                if (first == i) dx[j] += dy[j];
            }
            break;
        }
    }
}

// xs[i]: (B, outer, dims[i] / outer)  y: (B, outer, sum dims / outer)
void lf_concat_forward(float *restrict y, const float *const *xs, const size_t *dims, size_t k,
                       size_t B, size_t outer) {
    size_t total = 0;
    for (size_t i = 0; i < k; i++) total += dims[i];
    for (size_t r = 0; r < B; r++) {
        float *yr = y + r * total;
        for (size_t o = 0; o < outer; o++)
            for (size_t i = 0; i < k; i++) {
                size_t c = dims[i] / outer;
                memcpy(yr, xs[i] + r * dims[i] + o * c, c * sizeof *yr);
                yr += c;
            }
    }
}

void lf_concat_backward(float *const *dxs, const float *restrict dy, const size_t *dims,
                        size_t k, size_t B, size_t outer) {
    size_t total = 0;
    for (size_t i = 0; i < k; i++) total += dims[i];
    for (size_t r = 0; r < B; r++) {
        const float *dyr = dy + r * total;
        for (size_t o = 0; o < outer; o++)
            for (size_t i = 0; i < k; i++) {
                size_t c = dims[i] / outer;
                if (dxs[i]) {
                    float *dx = dxs[i] + r * dims[i] + o * c;
                    for (size_t j = 0; j < c; j++) dx[j] += dyr[j];
                }
                dyr += c;
            }
    }
}

#define DOT_EPS 1e-12 /* Keras' l2_normalize: x / sqrt(max(sum x^2, eps)) */

/* One input of a Dot: each row (pre, K, post) around the axis summed over;
 * fiber f = p post + q holds the K values at p K post + k post + q. */
typedef struct lf_dot_side {
    size_t pre, post;
} lf_dot_side;

static inline size_t dot_at(lf_dot_side s, size_t K, size_t f, size_t k) {
    return f / s.post * K * s.post + k * s.post + f % s.post;
}

/* Dot(normalize=True)'s aux, per row, doubles held two floats each (the
 * buffer is floats, its doubles not aligned: read and written by memcpy):
 * sq (Fa + Fb), each fiber's sum of squares; nrm (Fa + Fb), its norm
 * sqrt(max(sq, eps)); ab (Fa Fb), each pair's inner product.  Forward
 * computes them once; backward reads them instead of summing again. */
static inline size_t dot_aux_doubles(size_t Fa, size_t Fb) { return 2 * (Fa + Fb) + Fa * Fb; }
static inline void dot_put(float *p, size_t i, double v) { memcpy(p + 2 * i, &v, sizeof v); }
static inline double dot_get(const float *p, size_t i) {
    double v;
    memcpy(&v, p + 2 * i, sizeof v);
    return v;
}

// a: (B, Fa K)  b: (B, Fb K)  y: (B, Fa, Fb)  aux: (B, 2 dot_aux_doubles) when normalize
// (Fa = pre post of a; Fa = Fb = 1: the inner product of two rows)
static void lf_dot_forward_axes(float *restrict y, float *restrict aux, const float *restrict a,
                         const float *restrict b, size_t B, size_t K, lf_dot_side sa, lf_dot_side sb,
                         int normalize) {
    size_t Fa = sa.pre * sa.post, Fb = sb.pre * sb.post, F = Fa + Fb;
    for (size_t r = 0; r < B; r++) {
        const float *ar = a + r * Fa * K, *br = b + r * Fb * K;
        float *yr = y + r * Fa * Fb;
        if (!normalize) {
            for (size_t fa = 0; fa < Fa; fa++)
                for (size_t fb = 0; fb < Fb; fb++) {
                    double ab = 0;
                    for (size_t k = 0; k < K; k++) ab += (double)ar[dot_at(sa, K, fa, k)] * br[dot_at(sb, K, fb, k)];
                    yr[fa * Fb + fb] = (float)ab;
                }
            continue;
        }
        float *xr = aux + 2 * r * dot_aux_doubles(Fa, Fb), *nrm = xr + 2 * F, *abr = xr + 4 * F;
        for (size_t f = 0; f < F; f++) {
            const float *x = f < Fa ? ar : br;
            lf_dot_side s = f < Fa ? sa : sb;
            size_t g = f < Fa ? f : f - Fa;
            double xx = 0;
            for (size_t k = 0; k < K; k++) xx += (double)x[dot_at(s, K, g, k)] * x[dot_at(s, K, g, k)];
            dot_put(xr, f, xx);
            dot_put(nrm, f, sqrt(xx > DOT_EPS ? xx : DOT_EPS));
        }
        for (size_t fa = 0; fa < Fa; fa++)
            for (size_t fb = 0; fb < Fb; fb++) {
                double ab = 0;
                for (size_t k = 0; k < K; k++) ab += (double)ar[dot_at(sa, K, fa, k)] * br[dot_at(sb, K, fb, k)];
                dot_put(abr, fa * Fb + fb, ab);
                yr[fa * Fb + fb] = (float)(ab / (dot_get(nrm, fa) * dot_get(nrm, Fa + fb)));
            }
    }
}

/* da and db may be one buffer (one node on both sides, Dot(axes=2)([x, x])):
 * not restrict, so that each += reads what the other wrote */
static void lf_dot_backward_axes(float *da, float *db, const float *restrict dy,
                          const float *restrict a, const float *restrict b, const float *restrict aux,
                          size_t B, size_t K, lf_dot_side sa, lf_dot_side sb, int normalize) {
    size_t Fa = sa.pre * sa.post, Fb = sb.pre * sb.post, F = Fa + Fb;
    for (size_t r = 0; r < B; r++) {
        const float *ar = a + r * Fa * K, *br = b + r * Fb * K;
        const float *xr = normalize ? aux + 2 * r * dot_aux_doubles(Fa, Fb) : NULL;
        const float *nrm = xr ? xr + 2 * F : NULL, *abr = xr ? xr + 4 * F : NULL;
        float *dar = da ? da + r * Fa * K : NULL, *dbr = db ? db + r * Fb * K : NULL;
        for (size_t fa = 0; fa < Fa; fa++)
            for (size_t fb = 0; fb < Fb; fb++) {
                float g = dy[r * Fa * Fb + fa * Fb + fb];
                if (!normalize) {
                    for (size_t k = 0; k < K; k++) {
                        size_t ia = dot_at(sa, K, fa, k), ib = dot_at(sb, K, fb, k);
                        if (dar) dar[ia] += g * br[ib];
                        if (dbr) dbr[ib] += g * ar[ia];
                    }
                    continue;
                }
                /* y = <a/na, b/nb>; d/da = (b/nb - y a/na) / na when |a|^2 > eps
                 * (below eps the norm is the constant sqrt(eps): d/da = b/(na nb));
                 * na, nb the norms in float (as forward's y rounds them not) */
                double na = (float)dot_get(nrm, fa), nb = (float)dot_get(nrm, Fa + fb);
                double y = dot_get(abr, fa * Fb + fb) / (na * nb);
                int a_clamped = dot_get(xr, fa) <= DOT_EPS, b_clamped = dot_get(xr, Fa + fb) <= DOT_EPS;
                for (size_t k = 0; k < K; k++) {
                    size_t ia = dot_at(sa, K, fa, k), ib = dot_at(sb, K, fb, k);
                    if (dar) {
                        double t = br[ib] / nb - (a_clamped ? 0.0 : y * ar[ia] / na);
                        dar[ia] += (float)(g * t / na);
                    }
                    if (dbr) {
                        double t = ar[ia] / na - (b_clamped ? 0.0 : y * br[ib] / nb);
                        dbr[ib] += (float)(g * t / nb);
                    }
                }
            }
    }
}

// a, b: (B, D)  y: (B, 1)  aux: (B, 10) when normalize
void lf_dot_forward(float *restrict y, float *restrict aux, const float *restrict a,
                    const float *restrict b, size_t B, size_t D, int normalize) {
    lf_dot_side one = {1, 1};
    lf_dot_forward_axes(y, aux, a, b, B, D, one, one, normalize);
}

void lf_dot_backward(float *da, float *db, const float *restrict dy,
                     const float *restrict a, const float *restrict b,
                     const float *restrict aux, size_t B, size_t D, int normalize) {
    lf_dot_side one = {1, 1};
    lf_dot_backward_axes(da, db, dy, a, b, aux, B, D, one, one, normalize);
}

/* --------------------------------------------------------------- records */

/* Inputs of a merge: n >= min_n, all nodes; equal dims unless concatenated.
 * *dim is the common dim (or the sum). */
int lf_merge_dims(lf_model *m, const char *kn, size_t n, const int *xs, size_t min_n, int equal,
                  size_t *dim) {
    if (!xs) return lf_build_fail(m, LF_ERR_ARG, "%s: no inputs given", kn);
    if (n < min_n) return lf_build_fail(m, LF_ERR_ARG, "%s needs at least %zu inputs, got %zu", kn, min_n, n);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (xs[i] < 0 || (size_t)xs[i] >= m->n_nodes)
            return lf_build_fail(m, LF_ERR_ARG, "%s: input %zu is not a node of this model (id %d)", kn, i,
                                 xs[i]);
        size_t d = m->nodes[xs[i]].dim;
        const lf_node *a = &m->nodes[xs[0]], *b = &m->nodes[xs[i]];
        if (equal && d == a->dim && (b->rank != a->rank || memcmp(a->shape, b->shape, a->rank * sizeof *a->shape))) {
            char sa[96], sb[96];
            lf_shape_str(a, sa, sizeof sa), lf_shape_str(b, sb, sizeof sb);
            return lf_build_fail(m, LF_ERR_SHAPE, "%s: inputs must have equal shapes, got %s ('%s') and %s ('%s')",
                                 kn, sa, a->name, sb, b->name);
        }
        if (!equal && b->rank != 1 && !lf_input_node(m, kn, &xs[i], 1, 1)) return 0;
        if (equal && d != m->nodes[xs[0]].dim)
            return lf_build_fail(m, LF_ERR_SHAPE,
                                 "%s: inputs must have equal shapes, got %zu ('%s') and %zu ('%s')", kn,
                                 m->nodes[xs[0]].dim, m->nodes[xs[0]].name, d, m->nodes[xs[i]].name);
        if (total > SIZE_MAX / 2) return lf_build_fail(m, LF_ERR_ARG, "%s: too many features", kn);
        total += d;
    }
    *dim = equal ? m->nodes[xs[0]].dim : total;
    return 1;
}

/* Add, Subtract, Multiply, Average, Maximum, Minimum (t->op is the
 * lf_merge_op), as Keras 3's keras/src/layers/merging/base_merge.py and
 * add.py ... minimum.py.
 *
 * Shapes: Keras' broadcasting (Merge._compute_elemwise_op_output_shape,
 * folded over the inputs in order, and call's expand_dims at axis 1 of an
 * input of lower rank): the per-sample shapes are aligned on their last
 * axes, an input's missing leading axes count as 1, and on each axis the
 * sizes agree or one of them is 1: (T, D) with (1, D) or (D), (H, W, C)
 * with (1, 1, C).  An input of fewer values than the output is read through
 * stride 0 on its broadcast axes (a bview); its gradient is the output's
 * summed over them.
 *
 * Padding masks, Keras 3's rule (nd->keras_masks, set by the builders):
 * - the output's mask is Merge.compute_mask's: the OR of the inputs' masks,
 *   none when an input carries none;
 * - Add, Subtract and Average leave the values as they are; Multiply
 *   (multiply.py's _merge_function) reads a masked input as 1 at its
 *   masked steps and, when every input carries a mask, writes 0 where the
 *   OR is 0; Maximum and Minimum (Merge._apply_merge_op_and_or_mask) fold
 *   the inputs in order, a masked step of the next input reading as the
 *   running output, and, while every input so far carries a mask, a step
 *   masked in all of them taking the next input's value before the op.
 * A masked input broadcast along the output's steps (not only its last
 * axis) is refused.  Model files written before this rule hold no
 * "keras_masks" (nd->keras_masks 0): their merges keep the one mask among
 * the inputs (two masks are refused) and the values are never replaced, as
 * when they were written; lf_set_merge_mask_rule gives a node that rule. */

/* Where the value of output element j (of one row) lies in input x: x's
 * axes aligned on the output's last ones, stride 0 where x is broadcast. */
typedef struct bview {
    size_t r, n[LF_MAX_RANK], str[LF_MAX_RANK], dim;
    int same; /* x is laid out as the output (no axis broadcast) */
} bview;

static bview bview_of(const lf_node *x, const lf_node *y) {
    bview v = {.r = y->rank, .dim = x->dim, .same = x->dim == y->dim};
    size_t off = y->rank - x->rank, s = 1;
    for (size_t d = y->rank; d-- > 0;) {
        size_t xd = d >= off ? x->shape[d - off] : 1;
        v.n[d] = y->shape[d];
        v.str[d] = xd == 1 ? 0 : s;
        s *= xd;
    }
    return v;
}

static inline size_t bview_at(const bview *v, size_t j) {
    if (v->same) return j;
    size_t at = 0;
    for (size_t d = v->r; d-- > 0;) {
        at += j % v->n[d] * v->str[d];
        j /= v->n[d];
    }
    return at;
}

/* mask value of input i at a step: 1, 0, or -1 where it carries none */
static inline int mask_at(const float *m, size_t at) { return m ? m[at] != 0.0f : -1; }

/* The values an input contributes at element j: Multiply reads masked
 * steps as 1 under Keras' rule (sub_mask: its mask, else NULL). */
static inline float elem_in(const float *x, const bview *v, size_t r, size_t j, const float *sub_mask, size_t step) {
    if (sub_mask && sub_mask[step] == 0.0f) return 1.0f;
    return x[r * v->dim + bview_at(v, j)];
}

// xs[i]: (B, dims[i]) broadcast to y: (B, N); masks[i]: (B, S) or NULL; src: (B, N) scratch
// (Maximum / Minimum: the input each output value comes from); om: (B, S) scratch
static void elementwise_general_forward(const lf_layer_ctx *c, int subst) {
    const lf_model *m = c->m;
    const lf_node *nd = c->nd;
    lf_merge_op op = (lf_merge_op)c->t->op;
    size_t k = nd->n_in, B = c->B, N = nd->dim, D = nd->shape[nd->rank - 1], S = N / D;
    float *y = c->y, *src = c->aux, *om = c->aux ? c->aux + B * N : NULL;
    int om_valid = subst && c->in_masks[0] != NULL;
    for (size_t i = 0; i < k; i++) {
        bview v = bview_of(&m->nodes[nd->in[i]], nd);
        const float *x = c->xs[i], *mk = subst ? c->in_masks[i] : NULL;
        for (size_t r = 0; r < B; r++)
            for (size_t j = 0; j < N; j++) {
                size_t st = r * S + j / D;
                float *yj = &y[r * N + j];
                if (op == LF_MERGE_MUL) {
                    float u = elem_in(x, &v, r, j, mk, st);
                    *yj = i == 0 ? u : *yj * u;
                    continue;
                }
                float u = x[r * v.dim + bview_at(&v, j)];
                if (i == 0) {
                    *yj = u;
                    if (src) src[r * N + j] = 0.0f;
                    continue;
                }
                switch (op) {
                case LF_MERGE_ADD:
                case LF_MERGE_AVG: *yj += u; break;
                case LF_MERGE_SUB: *yj -= u; break;
                case LF_MERGE_MUL: break;
                case LF_MERGE_MAX:
                case LF_MERGE_MIN: {
                    float from = (float)i, *sj = &src[r * N + j];
                    if (mask_at(mk, st) == 0) u = *yj, from = *sj;
                    if (om_valid && om[st] == 0.0f) *yj = u, *sj = from;
                    if (op == LF_MERGE_MAX ? u > *yj : u < *yj) *yj = u, *sj = from;
                    break;
                }
                }
            }
        /* Maximum / Minimum: the OR of the masks so far, while all have one */
        if (op == LF_MERGE_MAX || op == LF_MERGE_MIN) {
            if (om_valid && mk) {
                for (size_t s = 0; s < B * S; s++) om[s] = i == 0 ? mk[s] != 0.0f : om[s] != 0.0f || mk[s] != 0.0f;
            } else if (i > 0) {
                om_valid = 0;
            }
        }
    }
    if (op == LF_MERGE_AVG)
        for (size_t j = 0; j < B * N; j++) y[j] *= 1.0f / (float)k;
    /* Multiply with every input masked: 0 where no input is unmasked */
    if (op == LF_MERGE_MUL && subst && nd->seq_mask >= 0) {
        const float *or = c->out_mask ? c->out_mask : c->in_masks[0];
        for (size_t j = 0; j < B * N; j++)
            if (or[j / D] == 0.0f) y[j] = 0.0f;
    }
}

static void elementwise_general_backward(const lf_layer_ctx *c, int subst) {
    const lf_model *m = c->m;
    const lf_node *nd = c->nd;
    lf_merge_op op = (lf_merge_op)c->t->op;
    size_t k = nd->n_in, B = c->B, N = nd->dim, D = nd->shape[nd->rank - 1], S = N / D;
    const float *or = NULL; /* Multiply: the output's mask where it zeroes the product */
    if (op == LF_MERGE_MUL && subst && nd->seq_mask >= 0) or = c->out_mask ? c->out_mask : c->in_masks[0];
    float *g = c->aux; /* Multiply: the product of the other inputs, times dy */
    for (size_t i = 0; i < k; i++) {
        float *dx = c->dxs[i];
        if (!dx) continue;
        bview v = bview_of(&m->nodes[nd->in[i]], nd);
        const float *mk = subst ? c->in_masks[i] : NULL;
        if (op == LF_MERGE_MUL) {
            memcpy(g, c->dy, B * N * sizeof *g);
            for (size_t o = 0; o < k; o++) {
                if (o == i) continue;
                bview w = bview_of(&m->nodes[nd->in[o]], nd);
                const float *xo = c->xs[o], *mo = subst ? c->in_masks[o] : NULL;
                for (size_t r = 0; r < B; r++)
                    for (size_t j = 0; j < N; j++) g[r * N + j] *= elem_in(xo, &w, r, j, mo, r * S + j / D);
            }
        }
        for (size_t r = 0; r < B; r++)
            for (size_t j = 0; j < N; j++) {
                size_t at = r * v.dim + bview_at(&v, j), st = r * S + j / D;
                float d = c->dy[r * N + j];
                switch (op) {
                case LF_MERGE_ADD: dx[at] += d; break;
                case LF_MERGE_AVG: dx[at] += d * (1.0f / (float)k); break;
                case LF_MERGE_SUB: dx[at] += i == 0 ? d : -d; break;
                case LF_MERGE_MUL:
                    if ((!mk || mk[st] != 0.0f) && (!or || or[st] != 0.0f)) dx[at] += g[r * N + j];
                    break;
                case LF_MERGE_MAX:
                case LF_MERGE_MIN:
                    if (c->aux[r * N + j] == (float)i) dx[at] += d;
                    break;
                }
            }
    }
}

/* whether x has the output's steps: its axes but the last are the output's */
static int same_steps(const lf_node *x, const lf_node *y) {
    if (x->rank != y->rank) return 0;
    for (size_t d = 0; d + 1 < y->rank; d++)
        if (x->shape[d] != y->shape[d]) return 0;
    return 1;
}

/* Keras' rule substitutes masked values: Multiply, Maximum, Minimum over an
 * input that carries a mask */
static int elementwise_substitutes(const lf_model *m, const lf_node *nd, lf_merge_op op) {
    if (!nd->keras_masks || (op != LF_MERGE_MUL && op != LF_MERGE_MAX && op != LF_MERGE_MIN)) return 0;
    for (size_t i = 0; i < nd->n_in; i++)
        if (m->nodes[nd->in[i]].seq_mask >= 0) return 1;
    return 0;
}

/* the output's padding mask under the node's rule (above); self: the
 * node's id.  Sets nd->seq_mask, and the scratch the general path needs. */
static int elementwise_masks(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in,
                             int self, int sticky) {
    const char *kn = t->type;
    char msg[512];
    int owner = -1, other = -1;
    size_t masked = 0;
    for (size_t i = 0; i < n_in; i++) {
        const lf_node *x = &m->nodes[in[i]];
        int s = x->seq_mask;
        if (s < 0) continue;
        if (nd->keras_masks && !same_steps(x, nd)) {
            char sx[96], sy[96];
            lf_shape_str(x, sx, sizeof sx), lf_shape_str(nd, sy, sizeof sy);
            snprintf(msg, sizeof msg,
                     "%s: input '%s' of shape %s carries a padding mask but is broadcast along the steps of "
                     "the output %s; a broadcast padding mask is not supported",
                     kn, x->name, sx, sy);
            return sticky ? lf_build_fail(m, LF_ERR_SHAPE, "%s", msg) : !lf_model_fail(m, LF_ERR_SHAPE, "%s", msg);
        }
        if (masked++ && s != owner && other < 0) other = s;
        if (masked == 1) owner = s;
    }
    if (!nd->keras_masks) { /* the rule of earlier files: the one mask, kept */
        if (other >= 0)
        {
            snprintf(msg, sizeof msg,
                     "%s: its inputs carry the padding masks of two layers ('%s' and '%s'); combining masks "
                     "is not supported by the rule of model files without \"keras_masks\"",
                     kn, m->nodes[owner].name, m->nodes[other].name);
            return sticky ? lf_build_fail(m, LF_ERR_SHAPE, "%s", msg) : !lf_model_fail(m, LF_ERR_SHAPE, "%s", msg);
        }
        nd->seq_mask = masked && lf_mask_steps(&m->nodes[owner]) == lf_mask_steps(nd) ? owner : -1;
    } else {
        nd->seq_mask = masked < n_in ? -1 : other < 0 ? owner : self;
    }
    /* the general path's scratch: Maximum / Minimum's sources and the OR so
     * far, Multiply's products in backward */
    int bcast = 0;
    for (size_t i = 0; i < n_in; i++) bcast |= m->nodes[in[i]].dim != nd->dim;
    lf_merge_op op = (lf_merge_op)t->op;
    nd->aux_per_row = 0;
    if ((bcast || (nd->keras_masks && masked)) && (op == LF_MERGE_MUL || op == LF_MERGE_MAX || op == LF_MERGE_MIN))
        nd->aux_per_row = nd->dim + (op == LF_MERGE_MUL ? 0 : lf_mask_steps(nd));
    return 1;
}

/* a per-sample shape as Keras prints it: (4,), (5, 3) */
static void tuple_str(const size_t *s, size_t r, char *buf, size_t cap) {
    size_t used = (size_t)snprintf(buf, cap, "(");
    for (size_t d = 0; d < r && used < cap; d++)
        used += (size_t)snprintf(buf + used, cap - used, d ? ", %zu" : "%zu", s[d]);
    if (used < cap) snprintf(buf + used, cap - used, r == 1 ? ",)" : ")");
}

static int elementwise_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in,
                             size_t n_in) {
    const char *kn = t->type;
    if (!in) return lf_build_fail(m, LF_ERR_ARG, "%s: no inputs given", kn);
    if (n_in < 2) return lf_build_fail(m, LF_ERR_ARG, "%s needs at least 2 inputs, got %zu", kn, n_in);
    for (size_t i = 0; i < n_in; i++)
        if (in[i] < 0 || (size_t)in[i] >= m->n_nodes)
            return lf_build_fail(m, LF_ERR_ARG, "%s: input %zu is not a node of this model (id %d)", kn, i, in[i]);
    /* Merge.build: output_shape = f(output_shape, shape_i), input by input */
    size_t out[LF_MAX_RANK], r = m->nodes[in[0]].rank;
    memcpy(out, m->nodes[in[0]].shape, sizeof out);
    for (size_t i = 1; i < n_in; i++) {
        const lf_node *b = &m->nodes[in[i]];
        size_t s1[LF_MAX_RANK], s2[LF_MAX_RANK], r1 = r, r2 = b->rank, res[LF_MAX_RANK];
        memcpy(s1, out, sizeof s1), memcpy(s2, b->shape, sizeof s2);
        if (r1 < r2) { /* f(shape2, shape1) */
            memcpy(s1, b->shape, sizeof s1), memcpy(s2, out, sizeof s2);
            r1 = b->rank, r2 = r;
        }
        memcpy(res, s1, sizeof res);
        for (size_t d = 0; d < r2; d++) {
            size_t p = s1[r1 - r2 + d], q = s2[d];
            if (p != q && p != 1 && q != 1) {
                char a1[96], a2[96];
                tuple_str(s1, r1, a1, sizeof a1), tuple_str(s2, r2, a2, sizeof a2);
                return lf_build_fail(m, LF_ERR_SHAPE,
                                     "%s: Inputs have incompatible shapes. Received shapes %s and %s (at input "
                                     "%zu, '%s')",
                                     kn, a1, a2, i, b->name);
            }
            res[r1 - r2 + d] = p == 1 ? q : p;
        }
        memcpy(out, res, sizeof out);
        r = r1;
    }
    if (!lf_shape_set(m, kn, nd, r, out)) return 0;
    return elementwise_masks(m, t, nd, in, n_in, (int)m->n_nodes, 1);
}

static void elementwise_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    if (c->out_mask) { /* the OR of the inputs' masks (several owners) */
        size_t n = c->B * lf_mask_steps(nd);
        memcpy(c->out_mask, c->in_masks[0], n * sizeof *c->out_mask);
        for (size_t i = 1; i < nd->n_in; i++)
            for (size_t j = 0; j < n; j++) c->out_mask[j] = c->out_mask[j] != 0.0f || c->in_masks[i][j] != 0.0f;
    }
    int subst = elementwise_substitutes(c->m, nd, (lf_merge_op)c->t->op), bcast = 0;
    for (size_t i = 0; i < nd->n_in; i++) bcast |= c->dims[i] != nd->dim;
    if (subst || bcast) elementwise_general_forward(c, subst);
    else lf_merge_forward((lf_merge_op)c->t->op, c->y, c->xs, nd->n_in, c->B, nd->dim);
}

static void elementwise_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    int subst = elementwise_substitutes(c->m, nd, (lf_merge_op)c->t->op), bcast = 0;
    for (size_t i = 0; i < nd->n_in; i++) bcast |= c->dims[i] != nd->dim;
    if (subst || bcast) elementwise_general_backward(c, subst);
    else lf_merge_backward((lf_merge_op)c->t->op, c->dxs, c->dy, c->xs, c->y, nd->n_in, c->B, nd->dim);
}

/* "keras_masks": true when the node follows Keras 3's rule and an input
 * carries a mask (the only case where the rules differ), so that the files
 * of models without masks stay as they were */
static void elementwise_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    for (size_t i = 0; nd->keras_masks && i < nd->n_in; i++)
        if (m->nodes[nd->in[i]].seq_mask >= 0) {
            lf_buf_printf(b, ",\"keras_masks\":true");
            return;
        }
}

static lf_status elementwise_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                                  const char *where, lf_err *e) {
    (void)m, (void)n_in;
    nd->keras_masks = 0; /* absent: the rule the file was written under */
    return lf_json_get(L, "keras_masks") ? lf_arch_bool(L, "keras_masks", &nd->keras_masks, where, e) : LF_OK;
}

static lf_status subtract_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                               const char *where, lf_err *e) {
    lf_status st = lf_arch_arity(n_in, 2, "Subtract", where, e);
    return st != LF_OK ? st : elementwise_read(m, L, n_in, nd, where, e);
}

static const char *const merge_keys[] = {"name", "type", "inbound", "keras_masks", NULL};

#define ELEMENTWISE(Type, pfx, merge_op, read)                                                   \
    {.type = Type, .prefix = pfx, .keys = merge_keys, .op = merge_op, .masking = LF_MASKING_OWN, \
     .infer = elementwise_infer, .forward = elementwise_forward,                                \
     .backward = elementwise_backward, .write_json = elementwise_json, .read_json = read}
const lf_layer_type lf_type_add = ELEMENTWISE("Add", "add", LF_MERGE_ADD, elementwise_read);
const lf_layer_type lf_type_subtract = ELEMENTWISE("Subtract", "subtract", LF_MERGE_SUB, subtract_read);
const lf_layer_type lf_type_multiply = ELEMENTWISE("Multiply", "multiply", LF_MERGE_MUL, elementwise_read);
const lf_layer_type lf_type_average = ELEMENTWISE("Average", "average", LF_MERGE_AVG, elementwise_read);
const lf_layer_type lf_type_maximum = ELEMENTWISE("Maximum", "maximum", LF_MERGE_MAX, elementwise_read);
const lf_layer_type lf_type_minimum = ELEMENTWISE("Minimum", "minimum", LF_MERGE_MIN, elementwise_read);
#undef ELEMENTWISE

static int merge(lf_model *m, const lf_layer_type *t, lf_kind kind, size_t n, const int *xs,
                 const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.keras_masks = 1;
    return lf_node_add(m, t, kind, nd, xs, n, name);
}

static int is_elementwise(lf_kind k) {
    return k == LF_K_ADD || k == LF_K_SUBTRACT || k == LF_K_MULTIPLY || k == LF_K_AVERAGE || k == LF_K_MAXIMUM ||
           k == LF_K_MINIMUM;
}

lf_status lf_set_merge_mask_rule(lf_model *m, int node, lf_mask_rule rule) {
    if (!m) return LF_ERR_ARG;
    if (lf_build_stuck(m)) return m->sticky;
    if (m->compiled) return lf_model_fail(m, LF_ERR_STATE, "lf_set_merge_mask_rule: the model is already compiled");
    if (node < 0 || (size_t)node >= m->n_nodes || !is_elementwise(m->nodes[node].kind))
        return lf_model_fail(m, LF_ERR_ARG,
                             "lf_set_merge_mask_rule: node %d is not an Add, Subtract, Multiply, Average, Maximum "
                             "or Minimum layer", node);
    if (rule != LF_MASK_RULE_KERAS && rule != LF_MASK_RULE_KEEP)
        return lf_model_fail(m, LF_ERR_ARG, "lf_set_merge_mask_rule: unknown rule %d", (int)rule);
    lf_node *nd = &m->nodes[node];
    for (size_t j = (size_t)node + 1; j < m->n_nodes; j++)
        for (size_t i = 0; i < m->nodes[j].n_in; i++)
            if (m->nodes[j].in[i] == node)
                return lf_model_fail(m, LF_ERR_STATE,
                                     "lf_set_merge_mask_rule: layer '%s' is already read by '%s'; set the rule "
                                     "before adding its readers", nd->name, m->nodes[j].name);
    lf_node tmp = *nd;
    tmp.keras_masks = rule == LF_MASK_RULE_KERAS;
    if (!elementwise_masks(m, lf_type_of(nd), &tmp, nd->in, nd->n_in, node, 0)) return LF_ERR_SHAPE;
    *nd = tmp;
    return LF_OK;
}

int lf_add(lf_model *m, size_t n, const int *xs, const char *name) {
    return merge(m, &lf_type_add, LF_K_ADD, n, xs, name);
}
int lf_subtract(lf_model *m, int a, int b, const char *name) {
    int xs[2] = {a, b};
    return merge(m, &lf_type_subtract, LF_K_SUBTRACT, 2, xs, name);
}
int lf_multiply(lf_model *m, size_t n, const int *xs, const char *name) {
    return merge(m, &lf_type_multiply, LF_K_MULTIPLY, n, xs, name);
}
int lf_average(lf_model *m, size_t n, const int *xs, const char *name) {
    return merge(m, &lf_type_average, LF_K_AVERAGE, n, xs, name);
}
int lf_maximum(lf_model *m, size_t n, const int *xs, const char *name) {
    return merge(m, &lf_type_maximum, LF_K_MAXIMUM, n, xs, name);
}
int lf_minimum(lf_model *m, size_t n, const int *xs, const char *name) {
    return merge(m, &lf_type_minimum, LF_K_MINIMUM, n, xs, name);
}

/* Keras' axis of inputs (None, d0 .. d(r-1)) — 1..r, or -r..-1 from the
 * end; 0 is the batch — as an index into the node's r dims in *ax; 0 when
 * it is no such axis (*ax untouched) */
static int keras_axis(int axis, size_t r, size_t *ax) {
    if (axis == 0 || axis > (int)r || axis < -(int)r) return 0;
    *ax = axis > 0 ? (size_t)axis - 1 : r - (size_t)(-axis);
    return 1;
}

/* Concatenate (keras/src/layers/merging/concatenate.py): inputs of one
 * rank whose shapes agree but on the axis joined, any non-batch axis
 * (Keras' default -1: the features; on (H, W, C) feature maps, the
 * channels).  Model files before the axis was kept only hold inputs of
 * rank 1 (the builder refused others), whose one axis is -1: a file without
 * "axis" reads as -1.
 *
 * The padding mask, as Keras' compute_mask: each input's mask (all ones
 * for an input without one) joined along the axis, then any() over the
 * features.  Joined on the features, that is the OR of the masks, and
 * nothing is masked when an input carries none: no mask; one owner's
 * mask stays that owner's; masks of several owners are OR-ed into the
 * node's own.  Joined on another axis (a sequence's steps), the node owns
 * the masks laid side by side along it. */
static int concat_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in,
                        size_t n_in) {
    const char *kn = t->type;
    if (!in) return lf_build_fail(m, LF_ERR_ARG, "%s: no inputs given", kn);
    if (n_in < 2) return lf_build_fail(m, LF_ERR_ARG, "%s needs at least 2 inputs, got %zu", kn, n_in);
    for (size_t i = 0; i < n_in; i++)
        if (in[i] < 0 || (size_t)in[i] >= m->n_nodes)
            return lf_build_fail(m, LF_ERR_ARG, "%s: input %zu is not a node of this model (id %d)", kn, i,
                                 in[i]);
    const lf_node *a = &m->nodes[in[0]];
    size_t r = a->rank, ax;
    if (!keras_axis(nd->axis, r, &ax))
        return lf_build_fail(m, LF_ERR_ARG,
                             "%s: axis %d is not an axis of inputs of shape (None, ...) of rank %zu: use 1..%zu "
                             "or -%zu..-1 (0 is the batch axis)",
                             kn, nd->axis, r + 1, r, r);
    size_t out[LF_MAX_RANK];
    memcpy(out, a->shape, sizeof out);
    for (size_t i = 1; i < n_in; i++) {
        const lf_node *b = &m->nodes[in[i]];
        int ok = b->rank == r;
        for (size_t d = 0; ok && d < r; d++) ok = d == ax || b->shape[d] == a->shape[d];
        if (!ok) {
            char sa[96], sb[96];
            lf_shape_str(a, sa, sizeof sa), lf_shape_str(b, sb, sizeof sb);
            return lf_build_fail(m, LF_ERR_SHAPE,
                                 "%s: inputs must have matching shapes except for the concatenation axis %d, "
                                 "got %s ('%s') and %s ('%s')",
                                 kn, nd->axis, sa, a->name, sb, b->name);
        }
        if (out[ax] > LF_ARCH_MAX_DIM) return lf_build_fail(m, LF_ERR_ARG, "%s: too many features", kn);
        out[ax] += b->shape[ax];
    }
    nd->cat_axis = ax;
    if (!lf_shape_set(m, kn, nd, r, out)) return 0;
    /* the padding mask (above) */
    int owner = -1, masked = 0, same = 1;
    for (size_t i = 0; i < n_in; i++) {
        int s = m->nodes[in[i]].seq_mask;
        if (s < 0) continue;
        if (masked++ && s != owner) same = 0;
        owner = s;
    }
    if (!masked || (ax == r - 1 && masked < (int)n_in)) nd->seq_mask = -1;
    else if (ax == r - 1 && same) nd->seq_mask = owner;
    else nd->seq_mask = (int)m->n_nodes;
    return 1;
}

/* the node's own padding mask (concat_infer): the OR of the inputs' masks,
 * or their masks (ones where an input has none) side by side along the axis */
static void concat_mask(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t r = nd->rank, ax = nd->cat_axis, k = nd->n_in, steps = lf_mask_steps(nd);
    float *om = c->out_mask;
    if (ax == r - 1) {
        memcpy(om, c->in_masks[0], c->B * steps * sizeof *om);
        for (size_t i = 1; i < k; i++)
            for (size_t j = 0; j < c->B * steps; j++) om[j] = om[j] != 0.0f || c->in_masks[i][j] != 0.0f;
        return;
    }
    size_t outer = 1, inner = 1;
    for (size_t d = 0; d < ax; d++) outer *= nd->shape[d];
    for (size_t d = ax + 1; d + 1 < r; d++) inner *= nd->shape[d];
    for (size_t b = 0; b < c->B; b++)
        for (size_t o = 0; o < outer; o++)
            for (size_t i = 0; i < k; i++) {
                const lf_node *x = &c->m->nodes[nd->in[i]];
                size_t n = x->shape[ax] * inner, xs = lf_mask_steps(x);
                const float *src = c->in_masks[i] ? c->in_masks[i] + b * xs + o * n : NULL;
                for (size_t j = 0; j < n; j++) *om++ = src ? src[j] : 1.0f;
            }
}

/* the rows of every input are `outer` chunks: the axes before the one
 * joined */
static size_t concat_outer(const lf_node *nd) {
    size_t outer = 1;
    for (size_t d = 0; d < nd->cat_axis; d++) outer *= nd->shape[d];
    return outer;
}

static void concat_forward(const lf_layer_ctx *c) {
    lf_concat_forward(c->y, c->xs, c->dims, c->nd->n_in, c->B, concat_outer(c->nd));
    if (c->out_mask) concat_mask(c);
}

static void concat_backward(const lf_layer_ctx *c) {
    lf_concat_backward(c->dxs, c->dy, c->dims, c->nd->n_in, c->B, concat_outer(c->nd));
}

/* "axis" only for inputs of rank > 1 (as given, Keras' numbering), so that
 * the files of flat concatenations stay as they were */
static void concat_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    if (nd->rank > 1) lf_buf_printf(b, ",\"axis\":%d", nd->axis);
}

static lf_status concat_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                             const char *where, lf_err *e) {
    (void)m, (void)n_in;
    const lf_json *j = lf_json_get(L, "axis");
    nd->axis = -1;
    if (!j) return LF_OK;
    double v;
    if (!lf_json_num(j, &v) || v != (double)(int)v || v < -LF_MAX_RANK || v > LF_MAX_RANK || v == 0)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'axis' must be a non-zero integer in -%d..%d", where,
                       LF_MAX_RANK, LF_MAX_RANK);
    nd->axis = (int)v;
    return LF_OK;
}

static const char *const concat_keys[] = {"name", "type", "inbound", "axis", NULL};

const lf_layer_type lf_type_concatenate = {
    .type = "Concatenate",
    .prefix = "concatenate",
    .keys = concat_keys,
    .masking = LF_MASKING_OWN,
    .infer = concat_infer,
    .forward = concat_forward,
    .backward = concat_backward,
    .write_json = concat_json,
    .read_json = concat_read,
};

int lf_concatenate_axis(lf_model *m, size_t n, const int *xs, int axis, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.axis = axis;
    return lf_node_add(m, &lf_type_concatenate, LF_K_CONCATENATE, nd, xs, n, name);
}

int lf_concatenate(lf_model *m, size_t n, const int *xs, const char *name) {
    return lf_concatenate_axis(m, n, xs, -1, name);
}

/* Dot(axes) of two inputs (keras/src/layers/merging/dot.py, its
 * batch_dot): the sum over axis a0 of the first times axis a1 of the
 * second, for every pair of the other positions: the output's shape is the
 * first's dims but a0, then the second's but a1 ((1) when none is left:
 * Keras' axes=1 of two (batch, features) rows, the inner product).
 * normalize L2-normalises both along their axes first (cosine similarity).
 * Axes in Keras' numbering (1..rank, or -rank..-1); dot_axes both 0 is
 * the earlier builder's axes=1 of flat inputs, the only Dot of the model
 * files before the axes were kept (they have no "axes"). */
static int dot_axis(lf_model *m, const char *kn, int axis, const lf_node *x, size_t *ax) {
    size_t r = x->rank;
    if (!keras_axis(axis, r, ax))
        return lf_build_fail(m, LF_ERR_ARG,
                             "%s: axis %d is not an axis of input '%s' of rank %zu: use 1..%zu or -%zu..-1 (0 is "
                             "the batch axis)",
                             kn, axis, x->name, r + 1, r, r);
    return 1;
}

static lf_dot_side dot_side(const lf_node *x, size_t ax) {
    lf_dot_side s = {1, 1};
    for (size_t d = 0; d < x->rank; d++) {
        if (d < ax) s.pre *= x->shape[d];
        if (d > ax) s.post *= x->shape[d];
    }
    return s;
}

static int dot_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in,
                     size_t n_in) {
    const char *kn = t->type;
    if (!in) return lf_build_fail(m, LF_ERR_ARG, "%s: no inputs given", kn);
    if (n_in != 2) return lf_build_fail(m, LF_ERR_ARG, "%s needs 2 inputs, got %zu", kn, n_in);
    for (size_t i = 0; i < 2; i++)
        if (in[i] < 0 || (size_t)in[i] >= m->n_nodes)
            return lf_build_fail(m, LF_ERR_ARG, "%s: input %zu is not a node of this model (id %d)", kn, i, in[i]);
    const lf_node *a = &m->nodes[in[0]], *b = &m->nodes[in[1]];
    int given = nd->dot_axes[0] || nd->dot_axes[1];
    if (!given && (a->rank != 1 || b->rank != 1)) /* lf_dot: Keras' axes=1 of (batch, features) rows */
        for (size_t i = 0; i < 2; i++)
            if (!lf_input_node(m, kn, &in[i], 1, 1)) return 0;
    size_t ax[2] = {0, 0};
    if (given && (!dot_axis(m, kn, nd->dot_axes[0], a, &ax[0]) || !dot_axis(m, kn, nd->dot_axes[1], b, &ax[1])))
        return 0;
    if (a->shape[ax[0]] != b->shape[ax[1]]) {
        char sa[96], sb[96];
        lf_shape_str(a, sa, sizeof sa), lf_shape_str(b, sb, sizeof sb);
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "%s: incompatible input shapes: axis values %zu (at axis %zu) != %zu (at axis %zu). "
                             "Full input shapes: %s, %s",
                             kn, a->shape[ax[0]], ax[0] + 1, b->shape[ax[1]], ax[1] + 1, sa, sb);
    }
    size_t out[2 * LF_MAX_RANK], r = 0;
    for (size_t d = 0; d < a->rank; d++)
        if (d != ax[0]) out[r++] = a->shape[d];
    for (size_t d = 0; d < b->rank; d++)
        if (d != ax[1]) out[r++] = b->shape[d];
    if (r == 0) out[r++] = 1;
    if (r > LF_MAX_RANK)
        return lf_build_fail(m, LF_ERR_SHAPE, "%s: the output would have rank %zu; at most %d (batch aside)", kn,
                             r + 1, LF_MAX_RANK);
    nd->dot_ax[0] = ax[0], nd->dot_ax[1] = ax[1];
    if (!lf_shape_set(m, kn, nd, r, out)) return 0;
    size_t K = a->shape[ax[0]], Fa = a->dim / K, Fb = b->dim / K;
    nd->aux_per_row = nd->normalize ? 2 * dot_aux_doubles(Fa, Fb) : 0; /* what backward reads */
    return 1;
}

static void dot_forward(const lf_layer_ctx *c) {
    const lf_model *m = c->m;
    const lf_node *nd = c->nd, *a = &m->nodes[nd->in[0]], *b = &m->nodes[nd->in[1]];
    lf_dot_forward_axes(c->y, c->aux, c->xs[0], c->xs[1], c->B, a->shape[nd->dot_ax[0]], dot_side(a, nd->dot_ax[0]),
                        dot_side(b, nd->dot_ax[1]), nd->normalize);
}

static void dot_backward(const lf_layer_ctx *c) {
    const lf_model *m = c->m;
    const lf_node *nd = c->nd, *a = &m->nodes[nd->in[0]], *b = &m->nodes[nd->in[1]];
    lf_dot_backward_axes(c->dxs[0], c->dxs[1], c->dy, c->xs[0], c->xs[1], c->aux, c->B, a->shape[nd->dot_ax[0]],
                         dot_side(a, nd->dot_ax[0]), dot_side(b, nd->dot_ax[1]), nd->normalize);
}

/* "axes" (Keras' numbering, resolved) only when given, so that the files of
 * lf_dot stay as they were */
static void dot_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"normalize\":%s", nd->normalize ? "true" : "false");
    if (nd->dot_axes[0] || nd->dot_axes[1])
        lf_buf_printf(b, ",\"axes\":[%zu,%zu]", nd->dot_ax[0] + 1, nd->dot_ax[1] + 1);
}

static lf_status dot_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                          const char *where, lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 2, "Dot", where, e);
    if (st != LF_OK) return st;
    if (lf_json_get(L, "axes")) {
        size_t ax[2];
        if ((st = lf_arch_sizes(L, "axes", 1, LF_MAX_RANK, 2, 2, ax, NULL, where, e)) != LF_OK) return st;
        nd->dot_axes[0] = (int)ax[0], nd->dot_axes[1] = (int)ax[1];
    }
    return lf_arch_bool(L, "normalize", &nd->normalize, where, e);
}

static const char *const dot_keys[] = {"name", "type", "inbound", "normalize", "axes", NULL};

const lf_layer_type lf_type_dot = {
    .type = "Dot",
    .prefix = "dot",
    .keys = dot_keys,
    .infer = dot_infer,
    .forward = dot_forward,
    .backward = dot_backward,
    .write_json = dot_json,
    .read_json = dot_read,
};

int lf_dot_axes(lf_model *m, int a, int b, int axis_a, int axis_b, int normalize, const char *name) {
    int xs[2] = {a, b};
    lf_node nd = LF_NODE_PROTO;
    nd.normalize = normalize != 0;
    if (m && !lf_build_stuck(m) && (axis_a == 0 || axis_b == 0))
        return lf_build_fail(m, LF_ERR_ARG, "Dot: axes (%d, %d) include the batch axis 0", axis_a, axis_b), -1;
    nd.dot_axes[0] = axis_a, nd.dot_axes[1] = axis_b;
    return lf_node_add(m, &lf_type_dot, LF_K_DOT, nd, xs, 2, name);
}

int lf_dot(lf_model *m, int a, int b, int normalize, const char *name) {
    int xs[2] = {a, b};
    lf_node nd = LF_NODE_PROTO;
    nd.normalize = normalize != 0;
    return lf_node_add(m, &lf_type_dot, LF_K_DOT, nd, xs, 2, name);
}
