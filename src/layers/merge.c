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

// a: (B, Fa K)  b: (B, Fb K)  y: (B, Fa, Fb)  norms: (B, Fa + Fb)
// (Fa = pre post of a; Fa = Fb = 1: the inner product of two rows)
static void lf_dot_forward_axes(float *restrict y, float *restrict norms, const float *restrict a,
                         const float *restrict b, size_t B, size_t K, lf_dot_side sa, lf_dot_side sb,
                         int normalize) {
    size_t Fa = sa.pre * sa.post, Fb = sb.pre * sb.post;
    for (size_t r = 0; r < B; r++) {
        const float *ar = a + r * Fa * K, *br = b + r * Fb * K;
        float *yr = y + r * Fa * Fb, *nr = norms + r * (Fa + Fb);
        if (normalize) {
            for (size_t f = 0; f < Fa + Fb; f++) {
                const float *x = f < Fa ? ar : br;
                lf_dot_side s = f < Fa ? sa : sb;
                size_t g = f < Fa ? f : f - Fa;
                double xx = 0;
                for (size_t k = 0; k < K; k++) xx += (double)x[dot_at(s, K, g, k)] * x[dot_at(s, K, g, k)];
                nr[f] = (float)sqrt(xx > DOT_EPS ? xx : DOT_EPS);
            }
        }
        for (size_t fa = 0; fa < Fa; fa++)
            for (size_t fb = 0; fb < Fb; fb++) {
                double ab = 0, aa = 0, bb = 0;
                for (size_t k = 0; k < K; k++) {
                    float u = ar[dot_at(sa, K, fa, k)], v = br[dot_at(sb, K, fb, k)];
                    ab += (double)u * v;
                    aa += (double)u * u;
                    bb += (double)v * v;
                }
                if (normalize) {
                    double na = sqrt(aa > DOT_EPS ? aa : DOT_EPS), nb = sqrt(bb > DOT_EPS ? bb : DOT_EPS);
                    yr[fa * Fb + fb] = (float)(ab / (na * nb));
                } else {
                    yr[fa * Fb + fb] = (float)ab;
                }
            }
    }
}

/* da and db may be one buffer (one node on both sides, Dot(axes=2)([x, x])):
 * not restrict, so that each += reads what the other wrote */
static void lf_dot_backward_axes(float *da, float *db, const float *restrict dy,
                          const float *restrict a, const float *restrict b, const float *restrict norms,
                          size_t B, size_t K, lf_dot_side sa, lf_dot_side sb, int normalize) {
    size_t Fa = sa.pre * sa.post, Fb = sb.pre * sb.post;
    for (size_t r = 0; r < B; r++) {
        const float *ar = a + r * Fa * K, *br = b + r * Fb * K, *nr = norms + r * (Fa + Fb);
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
                 * (below eps the norm is the constant sqrt(eps): d/da = b/(na nb)) */
                double na = nr[fa], nb = nr[Fa + fb], y = 0, aa = 0, bb = 0;
                for (size_t k = 0; k < K; k++) {
                    float u = ar[dot_at(sa, K, fa, k)], v = br[dot_at(sb, K, fb, k)];
                    y += (double)u * v;
                    aa += (double)u * u;
                    bb += (double)v * v;
                }
                y /= na * nb;
                int a_clamped = aa <= DOT_EPS, b_clamped = bb <= DOT_EPS;
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

// a, b: (B, D)  y: (B, 1)  norms: (B, 2)
void lf_dot_forward(float *restrict y, float *restrict norms, const float *restrict a,
                    const float *restrict b, size_t B, size_t D, int normalize) {
    lf_dot_side one = {1, 1};
    lf_dot_forward_axes(y, norms, a, b, B, D, one, one, normalize);
}

void lf_dot_backward(float *da, float *db, const float *restrict dy,
                     const float *restrict a, const float *restrict b,
                     const float *restrict norms, size_t B, size_t D, int normalize) {
    lf_dot_side one = {1, 1};
    lf_dot_backward_axes(da, db, dy, a, b, norms, B, D, one, one, normalize);
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

/* Add, Subtract, Multiply, Average, Maximum, Minimum: t->op is the
 * lf_merge_op */
static int elementwise_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in,
                             size_t n_in) {
    return lf_merge_dims(m, t->type, n_in, in, 2, 1, &nd->dim);
}

static void elementwise_forward(const lf_layer_ctx *c) {
    lf_merge_forward((lf_merge_op)c->t->op, c->y, c->xs, c->nd->n_in, c->B, c->nd->dim);
}

static void elementwise_backward(const lf_layer_ctx *c) {
    lf_merge_backward((lf_merge_op)c->t->op, c->dxs, c->dy, c->xs, c->y, c->nd->n_in, c->B, c->nd->dim);
}

static lf_status subtract_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                               const char *where, lf_err *e) {
    (void)m, (void)L, (void)nd;
    return lf_arch_arity(n_in, 2, "Subtract", where, e);
}

static const char *const merge_keys[] = {"name", "type", "inbound", NULL};

#define ELEMENTWISE(Type, pfx, merge_op, read)                                                   \
    {.type = Type, .prefix = pfx, .keys = merge_keys, .op = merge_op, .masking = LF_MASKING_KEEP, \
     .infer = elementwise_infer, .forward = elementwise_forward,                                \
     .backward = elementwise_backward, .read_json = read}
const lf_layer_type lf_type_add = ELEMENTWISE("Add", "add", LF_MERGE_ADD, NULL);
const lf_layer_type lf_type_subtract = ELEMENTWISE("Subtract", "subtract", LF_MERGE_SUB, subtract_read);
const lf_layer_type lf_type_multiply = ELEMENTWISE("Multiply", "multiply", LF_MERGE_MUL, NULL);
const lf_layer_type lf_type_average = ELEMENTWISE("Average", "average", LF_MERGE_AVG, NULL);
const lf_layer_type lf_type_maximum = ELEMENTWISE("Maximum", "maximum", LF_MERGE_MAX, NULL);
const lf_layer_type lf_type_minimum = ELEMENTWISE("Minimum", "minimum", LF_MERGE_MIN, NULL);
#undef ELEMENTWISE

static int merge(lf_model *m, const lf_layer_type *t, lf_kind kind, size_t n, const int *xs,
                 const char *name) {
    lf_node nd = LF_NODE_PROTO;
    return lf_node_add(m, t, kind, nd, xs, n, name);
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
    size_t r = a->rank;
    if (nd->axis == 0 || nd->axis > (int)r || nd->axis < -(int)r)
        return lf_build_fail(m, LF_ERR_ARG,
                             "%s: axis %d is not an axis of inputs of shape (None, ...) of rank %zu: use 1..%zu "
                             "or -%zu..-1 (0 is the batch axis)",
                             kn, nd->axis, r + 1, r, r);
    size_t ax = nd->axis > 0 ? (size_t)nd->axis - 1 : r - (size_t)(-nd->axis);
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
    if (axis == 0 || axis > (int)r || axis < -(int)r)
        return lf_build_fail(m, LF_ERR_ARG,
                             "%s: axis %d is not an axis of input '%s' of rank %zu: use 1..%zu or -%zu..-1 (0 is "
                             "the batch axis)",
                             kn, axis, x->name, r + 1, r, r);
    *ax = axis > 0 ? (size_t)axis - 1 : r - (size_t)(-axis);
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
    size_t K = a->shape[ax[0]];
    nd->aux_per_row = a->dim / K + b->dim / K; /* the norms of every fiber */
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
