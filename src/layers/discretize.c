/*
 * discretize.c — Keras 3's Discretization layer (keras/src/layers/
 * preprocessing/discretization.py), its four output modes, and its adapt().
 *
 * Each value x becomes the index of its bin, numpy's digitize(x, b) with
 * the boundaries b (non-decreasing, n >= 1): the number of boundaries
 * <= x, so bins (-inf, b0), [b0, b1), ..., [b_{n-1}, inf) are 0..n; a NaN
 * is n (numpy sorts NaN last).  Keras' call then encodes the indices with
 * numerical_utils.encode_categorical_inputs (keras/src/utils/
 * numerical_utils.py) at depth n + 1:
 *  - "int": the index, written as a float (the engine's one type; Keras'
 *    is int64); the output keeps the input's shape.
 *  - "one_hot": nn.one_hot of the indices after a last axis of 1 is
 *    squeezed: per-sample (..., 1) -> (..., n + 1), (..., d) -> (..., d,
 *    n + 1).
 *  - "multi_hot" (nn.multi_hot) and "count" (the sum of the one_hot): the
 *    one_hot reduced over axis 1, which for a batch (B, d) is the last
 *    axis: (n + 1,) per sample.  For per-sample ranks > 1 Keras reduces over
 *    axis 1 all the same (its docstring says the last axis): refused here.
 * Float32 outputs as Keras' floatx.  No gradient flows (the index is not
 * differentiable: the record has no backward, so x gets none) and the
 * padding mask is not kept (Keras' layer does not support masking).  The
 * boundaries are a fixed weight "bin_boundaries" (n,): never trained, set
 * by the builder or lf_set_weights, kept in the model file as tensors are
 * (the architecture holds their count, "num_boundaries", and, when not
 * Keras' defaults, "output_mode", "num_bins" and "epsilon").
 *
 * lf_discretization_adapt computes the boundaries from data as Keras 3's
 * adapt() of one array does (summarize, then compress_summary at epsilon,
 * then at 1 / num_bins, its first values but the last): sort; take every
 * int(step)-th value from int(increment) on, increment = n epsilon,
 * step = max(increment, 1), each weighing step (float32); a summary of m
 * points with m * eps >= 1 is replaced by the np.interp of its values and
 * cumulative weights (float32 cumsum, divided by the total in float32) at
 * eps, 2 eps, ..., ceil(1 / eps) eps (float64), rounded to float32.  The
 * result is Keras' own (its quantile summary, not exact quantiles: the
 * boundaries of 0..999 in 4 bins are 247.5, 495, 742.5, numpy's
 * quantiles 249.75, 499.5, 749.25), and like it may give fewer than
 * num_bins - 1 boundaries when the summary is small (fewer than num_bins
 * values).  Keras' adapt of a dataset merges one summary per batch: here
 * the whole array is one batch.
 */
#include "layers/layer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- kernel */

/* v's bin in 0..n: the number of boundaries b[0..n) <= v, n for a NaN */
static size_t disc_bin(float v, const float *restrict b, size_t n) {
    size_t lo = 0, hi = n; /* the first boundary > v: upper_bound */
    if (isnan(v)) lo = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b[mid] <= v) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

// x, y: (B, D)  b: (n) non-decreasing
void lf_discretize_forward(float *restrict y, const float *restrict x, size_t B, size_t D, const float *restrict b,
                           size_t n) {
    for (size_t i = 0; i < B * D; i++) y[i] = (float)disc_bin(x[i], b, n);
}

// x: (B, D)  y: (B, D, n + 1) zeros but a 1 at each value's bin
//   (one_hot), or (B, n + 1): a 1 at every bin of the row (multi_hot, count
//   0) or how many values of the row are in each bin (count 1)
//   b: (n) non-decreasing
void lf_discretize_encode_forward(float *restrict y, const float *restrict x, size_t B, size_t D,
                                  const float *restrict b, size_t n, int one_hot, int count) {
    size_t depth = n + 1;
    memset(y, 0, (one_hot ? B * D * depth : B * depth) * sizeof *y);
    for (size_t r = 0; r < B; r++)
        for (size_t j = 0; j < D; j++) {
            size_t at = disc_bin(x[r * D + j], b, n);
            if (one_hot) y[(r * D + j) * depth + at] = 1.0f;
            else if (count) y[r * depth + at] += 1.0f;
            else y[r * depth + at] = 1.0f;
        }
}

/* ---------------------------------------------------------------- record */

static const char *const disc_modes[] = {"int", "one_hot", "multi_hot", "count"}; /* lf_discretization_mode's */

static int disc_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in, 0);
    if (!x) return 0;
    if (nd->input_dim == 0 || nd->input_dim > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG, "Discretization: %zu bin boundaries; it needs 1..%zu", nd->input_dim,
                             LF_ARCH_MAX_DIM);
    if (nd->mode < LF_DISCRETIZATION_INT || nd->mode > LF_DISCRETIZATION_COUNT)
        return lf_build_fail(m, LF_ERR_ARG,
                             "Discretization: output_mode %d is none of LF_DISCRETIZATION_INT, "
                             "LF_DISCRETIZATION_ONE_HOT, LF_DISCRETIZATION_MULTI_HOT, LF_DISCRETIZATION_COUNT",
                             nd->mode);
    size_t depth = nd->input_dim + 1, shape[LF_MAX_RANK], rank = x->rank, out;
    memcpy(shape, x->shape, sizeof shape);
    if (nd->mode == LF_DISCRETIZATION_INT) return lf_shape_set(m, t->type, nd, rank, shape);
    if (nd->mode == LF_DISCRETIZATION_ONE_HOT) {
        if (shape[rank - 1] == 1) rank--; /* Keras squeezes a last axis of 1 */
        if (rank == LF_MAX_RANK || !lf_mul_ok(x->dim, depth, &out) || out > LF_ARCH_MAX_DIM) {
            char s[96];
            lf_shape_str(x, s, sizeof s);
            return lf_build_fail(m, LF_ERR_SHAPE,
                                 "Discretization: output_mode \"one_hot\" of input '%s' of shape %s in %zu bins is "
                                 "too large (rank at most %d, %zu values)",
                                 x->name, s, depth, LF_MAX_RANK, LF_ARCH_MAX_DIM);
        }
        shape[rank++] = depth;
        return lf_shape_set(m, t->type, nd, rank, shape);
    }
    if (rank != 1) {
        char s[96];
        lf_shape_str(x, s, sizeof s);
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "Discretization: output_mode \"%s\" takes inputs of shape (batch, d); input '%s' has shape "
                             "%s (Keras 3 reduces such an input over its axis 1, not its last axis)",
                             disc_modes[nd->mode], x->name, s);
    }
    return lf_shape_set(m, t->type, nd, 1, &depth);
}

static size_t disc_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    (void)m;
    w[0] = (lf_weight){"bin_boundaries", 0, 1, {nd->input_dim}, 0, 1, 0, 0};
    return 1;
}

static void disc_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    if (nd->mode == LF_DISCRETIZATION_INT)
        lf_discretize_forward(c->y, c->xs[0], c->B, nd->dim, c->w, nd->input_dim);
    else
        lf_discretize_encode_forward(c->y, c->xs[0], c->B, c->dims[0], c->w, nd->input_dim,
                                     nd->mode == LF_DISCRETIZATION_ONE_HOT, nd->mode == LF_DISCRETIZATION_COUNT);
}

static void disc_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_printf(b, ",\"num_boundaries\":%zu", nd->input_dim);
    if (nd->mode != LF_DISCRETIZATION_INT) lf_buf_printf(b, ",\"output_mode\":\"%s\"", disc_modes[nd->mode]);
    if (nd->num_bins) lf_buf_printf(b, ",\"num_bins\":%zu", nd->num_bins);
    if (nd->bins_epsilon != 0 && nd->bins_epsilon != 0.01) lf_buf_printf(b, ",\"epsilon\":%.17g", nd->bins_epsilon);
}

static lf_status disc_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                           lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "Discretization", where, e);
    if (st != LF_OK) return st;
    if (!lf_json_size(lf_json_get(L, "num_boundaries"), &nd->input_dim) || nd->input_dim == 0 ||
        nd->input_dim > LF_ARCH_MAX_DIM)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'num_boundaries' must be an integer in 1..%zu", where, LF_ARCH_MAX_DIM);
    const lf_json *nb = lf_json_get(L, "num_bins"); /* absent: None (files before it) */
    if (nb && (!lf_json_size(nb, &nd->num_bins) || nd->num_bins == 0 || nd->num_bins > LF_ARCH_MAX_DIM))
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'num_bins' must be an integer in 1..%zu", where, LF_ARCH_MAX_DIM);
    const lf_json *eps = lf_json_get(L, "epsilon"); /* absent: 0.01 */
    if (eps && (!lf_json_num(eps, &nd->bins_epsilon) || !(nd->bins_epsilon > 0 && nd->bins_epsilon <= 1)))
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'epsilon' must be a number in (0, 1]", where);
    nd->mode = LF_DISCRETIZATION_INT; /* absent: "int" (files before it) */
    if (lf_json_get(L, "output_mode")) {
        const char *mode = lf_arch_str(L, "output_mode");
        int i = 0;
        while (mode && i < 4 && strcmp(mode, disc_modes[i]) != 0) i++;
        if (!mode || i == 4)
            return lf_fail(e, LF_ERR_FORMAT,
                           "%s: 'output_mode' must be \"int\", \"one_hot\", \"multi_hot\" or \"count\"", where);
        nd->mode = i;
    }
    return LF_OK;
}

static const char *const disc_keys[] = {"name",        "type",     "inbound", "num_boundaries",
                                        "output_mode", "num_bins", "epsilon", NULL};

const lf_layer_type lf_type_discretization = {
    .type = "Discretization",
    .prefix = "discretization",
    .keys = disc_keys,
    .infer = disc_infer,
    .weights = disc_weights,
    .forward = disc_forward,
    .write_json = disc_json,
    .read_json = disc_read,
};

/* "" when b[0..n) are numbers in non-decreasing order, else the reason in msg */
static int bins_ok(const float *b, size_t n, char *msg, size_t cap) {
    for (size_t i = 0; i < n; i++) {
        if (isnan(b[i])) {
            snprintf(msg, cap, "bin_boundaries[%zu] is NaN", i);
            return 0;
        }
        if (i && b[i] < b[i - 1]) {
            snprintf(msg, cap, "bin_boundaries must be sorted: bin_boundaries[%zu] = %g < bin_boundaries[%zu] = %g",
                     i, (double)b[i], i - 1, (double)b[i - 1]);
            return 0;
        }
    }
    return 1;
}

int lf_discretization(lf_model *m, int x, const float *bin_boundaries, size_t n, const char *name) {
    return lf_discretization_opt(m, x, bin_boundaries, n, NULL, name);
}

int lf_discretization_opt(lf_model *m, int x, const float *bin_boundaries, size_t n,
                          const lf_discretization_options *opt, const char *name) {
    if (!m || lf_build_stuck(m)) return -1;
    char msg[160];
    if (n && !bin_boundaries)
        return lf_build_fail(m, LF_ERR_ARG, "Discretization: %zu bin boundaries but bin_boundaries is NULL", n), -1;
    if (n && !bins_ok(bin_boundaries, n, msg, sizeof msg))
        return lf_build_fail(m, LF_ERR_ARG, "Discretization: %s", msg), -1;
    if (opt && opt->num_bins > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG, "Discretization: num_bins %zu; it must be at most %zu", opt->num_bins,
                             LF_ARCH_MAX_DIM),
               -1;
    if (opt && opt->epsilon != 0 && !(opt->epsilon > 0 && opt->epsilon <= 1))
        return lf_build_fail(m, LF_ERR_ARG, "Discretization: epsilon must be in (0, 1], got %g", opt->epsilon), -1;
    lf_node nd = LF_NODE_PROTO;
    nd.input_dim = n;
    nd.mode = opt ? (int)opt->output_mode : LF_DISCRETIZATION_INT;
    nd.num_bins = opt ? opt->num_bins : 0;
    nd.bins_epsilon = opt ? opt->epsilon : 0;
    int id = lf_node_add(m, &lf_type_discretization, LF_K_DISCRETIZATION, nd, &x, 1, name);
    if (id >= 0) memcpy(m->params + m->nodes[id].param_off, bin_boundaries, n * sizeof(float));
    return id;
}

/* ---------------------------------------------------------------- adapt */

/* numpy's interp(x, xp, fp) at one x (xp non-decreasing, len >= 1): fp[0]
 * left of xp, fp[len-1] right of it and at its end, fp[j] at xp[j] == x,
 * else the line through (xp[j], fp[j]), (xp[j+1], fp[j+1]), j the last
 * index with xp[j] <= x (numpy's compiled arr_interp) */
static double interp1(double x, const double *xp, const double *fp, size_t len) {
    if (x < xp[0]) return fp[0];
    if (x >= xp[len - 1]) return fp[len - 1];
    size_t lo = 0, hi = len; /* the first xp > x */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (xp[mid] <= x) lo = mid + 1;
        else hi = mid;
    }
    size_t j = lo - 1;
    if (xp[j] == x) return fp[j];
    double slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    double r = slope * (x - xp[j]) + fp[j];
    if (isnan(r)) {
        r = slope * (x - xp[j + 1]) + fp[j + 1];
        if (isnan(r) && fp[j] == fp[j + 1]) r = fp[j];
    }
    return r;
}

/* Keras' compress_summary: the summary (v, w) of *m points at eps, in place
 * (room for max(*m, ceil(1 / eps)) points); -1 out of memory */
static int compress(float *v, float *w, size_t *m, double eps) {
    if ((double)*m * eps < 1) return 0;
    size_t k = (size_t)ceil(1.0 / eps), M = *m; /* numpy's arange(0.0, 1.0, eps) length */
    double *xp = malloc(M * sizeof *xp), *fv = malloc(M * sizeof *fv), *fc = malloc(M * sizeof *fc);
    if (!xp || !fv || !fc) {
        free(xp), free(fv), free(fc);
        return -1;
    }
    float cum = 0.0f;
    for (size_t i = 0; i < M; i++) cum += w[i], fc[i] = cum; /* float32 cumsum */
    for (size_t i = 0; i < M; i++) xp[i] = (double)((float)fc[i] / cum), fv[i] = v[i];
    double prev = 0;
    for (size_t i = 0; i < k; i++) {
        double p = eps + (double)i * eps;
        double nv = interp1(p, xp, fv, M), nc = interp1(p, xp, fc, M);
        v[i] = (float)nv, w[i] = (float)(nc - prev);
        prev = nc;
    }
    *m = k;
    free(xp), free(fv), free(fc);
    return 0;
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

lf_status lf_discretization_adapt(const float *x, size_t n, size_t num_bins, double epsilon, float *bins,
                                  size_t *n_bins, char *err, size_t errlen) {
    char tmp[8];
    if (!err || !errlen) err = tmp, errlen = sizeof tmp;
    err[0] = '\0';
    if (!x || !bins || !n_bins || n == 0) {
        snprintf(err, errlen, "Discretization.adapt: no data (%zu values)", n);
        return LF_ERR_ARG;
    }
    if (num_bins < 2) {
        snprintf(err, errlen, "Discretization.adapt: num_bins must be >= 2 (a boundary between two bins), got %zu",
                 num_bins);
        return LF_ERR_ARG;
    }
    if (!(epsilon > 0 && epsilon <= 1)) {
        snprintf(err, errlen, "Discretization.adapt: epsilon must be in (0, 1], got %g", epsilon);
        return LF_ERR_ARG;
    }
    for (size_t i = 0; i < n; i++)
        if (isnan(x[i])) {
            snprintf(err, errlen, "Discretization.adapt: value %zu is NaN", i);
            return LF_ERR_ARG;
        }
    /* the summary's points: n at most, then ceil(1 / eps) and ceil(1 / (1 / num_bins)) */
    size_t k1 = (size_t)ceil(1.0 / epsilon) + 1, cap = n > k1 ? n : k1;
    cap = cap > num_bins + 1 ? cap : num_bins + 1;
    float *v = malloc(n * sizeof *v), *sv = malloc(cap * sizeof *sv), *sw = malloc(cap * sizeof *sw);
    if (!v || !sv || !sw) {
        free(v), free(sv), free(sw);
        snprintf(err, errlen, "Discretization.adapt: out of memory");
        return LF_ERR_NOMEM;
    }
    memcpy(v, x, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_float);
    /* summarize: values[int(start)::int(step)], each weighing step */
    double increment = (double)n / (1.0 / epsilon), step = increment > 1 ? increment : 1;
    size_t start = (size_t)increment, by = (size_t)step, m = 0;
    for (size_t i = start; i < n; i += by) sv[m] = v[i], sw[m] = (float)step, m++;
    lf_status st = LF_OK;
    if (compress(sv, sw, &m, epsilon) < 0 || compress(sv, sw, &m, 1.0 / (double)num_bins) < 0) {
        snprintf(err, errlen, "Discretization.adapt: out of memory");
        st = LF_ERR_NOMEM;
    } else if (m < 2) {
        snprintf(err, errlen, "Discretization.adapt: %zu values give no bin boundary (Keras' summary of them has "
                 "one point)", n);
        st = LF_ERR_ARG;
    } else {
        *n_bins = m - 1; /* get_bin_boundaries: all but the last */
        memcpy(bins, sv, (m - 1) * sizeof *bins);
    }
    free(v), free(sv), free(sw);
    return st;
}
