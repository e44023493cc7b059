/*
 * rules.c — the fixed fusion rules (mean, product, max, min, median, vote,
 * borda), decision templates and per-model accuracies.  See rules.h for the
 * exact semantics of each rule.
 *
 * Every rule walks the rows once; per row it first finds the models present
 * (first value not NaN) and their renormalised weights, then streams each
 * present model's row into a small double accumulator of C values, so the
 * hot loops of mean and product are contiguous, branch-free and
 * vectorisable.  Scratch memory is allocated once per call.
 */
#include "fusion/rules.h"
#include "kernels.h"
#include "vmath.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* The product rule's log and exp: vmath.h's double kernels, which loops
 * vectorise.  lf_log_d needs x positive, finite and normal (the rule's
 * products of up to 16 values >= 1e-12: >= 1e-192); lf_exp_d |x| <= 708
 * (the rule's exponents, weighted means of logs of floats in [1e-12,
 * FLT_MAX], lie in [-27.7, 88.8]). */

static const char *const rule_names[LF_RULE_COUNT] = {"mean",   "product", "max",  "min",
                                                      "median", "vote",    "borda"};

const char *lf_rule_name(lf_rule r) {
    if ((int)r < 0 || (int)r >= LF_RULE_COUNT) return NULL;
    return rule_names[r];
}

int lf_rule_parse(const char *name) {
    if (!name) return -1;
    for (int i = 0; i < LF_RULE_COUNT; i++)
        if (strcmp(name, rule_names[i]) == 0) return i;
    return -1;
}

/* The checks every function here shares: arrays present, M and C positive,
 * N*C and M*C*C representable. */
static lf_status check_common(const char *fn, const float *const *p, size_t M, size_t N,
                              size_t C, const void *out, lf_err *e) {
    size_t nc, mc, mcc;
    if (!p) return lf_fail(e, LF_ERR_ARG, "%s: the model probability list is NULL", fn);
    if (!out) return lf_fail(e, LF_ERR_ARG, "%s: the output array is NULL", fn);
    if (M == 0) return lf_fail(e, LF_ERR_ARG, "%s: no models given (M = 0)", fn);
    if (C == 0) return lf_fail(e, LF_ERR_ARG, "%s: no classes given (C = 0)", fn);
    for (size_t k = 0; k < M; k++)
        if (!p[k]) return lf_fail(e, LF_ERR_ARG, "%s: probabilities of model %zu are NULL", fn, k);
    if (!lf_mul_ok(N, C, &nc) || !lf_mul_ok(M, C, &mc) || !lf_mul_ok(mc, C, &mcc) ||
        nc > SIZE_MAX / sizeof(double) || mcc > SIZE_MAX / sizeof(double))
        return lf_fail(e, LF_ERR_SHAPE, "%s: %zu models x %zu rows x %zu classes is too large",
                       fn, M, N, C);
    return LF_OK;
}

static lf_status check_labels(const char *fn, const int *y, size_t N, size_t C, lf_err *e) {
    if (!y && N > 0) return lf_fail(e, LF_ERR_ARG, "%s: the label array is NULL", fn);
    for (size_t i = 0; i < N; i++)
        if (y[i] < 0 || (size_t)y[i] >= C)
            return lf_fail(e, LF_ERR_ARG, "%s: label of row %zu is %d, outside 0..%zu", fn, i,
                           y[i], C - 1);
    return LF_OK;
}

static void fill_uniform(float *row, size_t C) {
    float u = (float)(1.0 / (double)C);
    for (size_t c = 0; c < C; c++) row[c] = u;
}

/* Writes acc / sum into row, or uniform when the sum is not positive. */
static void write_normalised(float *row, const double *acc, size_t C) {
    double s = 0.0;
    for (size_t c = 0; c < C; c++) s += acc[c];
    if (!(s > 0.0)) {
        fill_uniform(row, C);
        return;
    }
    double inv = 1.0 / s;
    for (size_t c = 0; c < C; c++) row[c] = (float)(acc[c] * inv);
}

/* Sorts v[0..n) ascending (n is the number of models: small). */
static void insertion_sort(double *v, size_t n) {
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

typedef struct rank_item {
    float v;
    size_t c;
} rank_item;

/* Descending by value, then ascending by class: a total order, so the
 * result does not depend on qsort's algorithm. */
static int rank_cmp(const void *a, const void *b) {
    const rank_item *x = a, *y = b;
    if (x->v > y->v) return -1;
    if (x->v < y->v) return 1;
    return (x->c > y->c) - (x->c < y->c);
}

/* Adds w * (Borda points of row) to acc; items is scratch of C entries. */
static void borda_add(const float *row, size_t C, double w, rank_item *items, double *acc) {
    for (size_t c = 0; c < C; c++) items[c].v = row[c], items[c].c = c;
    if (C <= 32) {
        for (size_t a = 1; a < C; a++) {
            rank_item x = items[a];
            size_t b = a;
            while (b > 0 && rank_cmp(&items[b - 1], &x) > 0) {
                items[b] = items[b - 1];
                b--;
            }
            items[b] = x;
        }
    } else {
        qsort(items, C, sizeof *items, rank_cmp);
    }
    size_t r0 = 0;
    while (r0 < C) {
        size_t r1 = r0 + 1;
        while (r1 < C && items[r1].v == items[r0].v) r1++;
        /* ranks r0..r1-1 share the mean points C-1-(r0+r1-1)/2 */
        double pts = (double)(C - 1) - 0.5 * (double)(r0 + r1 - 1);
        for (size_t j = r0; j < r1; j++) acc[items[j].c] += w * pts;
        r0 = r1;
    }
}

/* out[j] = (sum_k wk p_k[off + j]) * invw over n values, in blocks so that
 * each pass over a model vectorises; per value the sum runs over k in
 * order. */
LF_CLONES static void flat_mean(const float *const *p, size_t M, size_t off, size_t n, double wk,
                                double invw, float *out) {
    enum { BLOCK = 512 };
    double acc[BLOCK];
    for (size_t j0 = 0; j0 < n; j0 += BLOCK) {
        size_t m = n - j0 < BLOCK ? n - j0 : BLOCK;
        for (size_t j = 0; j < m; j++) acc[j] = 0.0;
        for (size_t k = 0; k < M; k++) {
            const float *pk = p[k] + off + j0;
            for (size_t j = 0; j < m; j++) acc[j] += wk * (double)pk[j];
        }
        for (size_t j = 0; j < m; j++) out[j0 + j] = (float)(acc[j] * invw);
    }
}

/* x is not in [0, FLT_MAX] (NaN included); & not &&: no branch, so loops vectorise */
static inline int not_prob(float x) { return !((x >= 0.0f) & (x <= FLT_MAX)); }

/* Probabilities: every value in [0, FLT_MAX] and each row's float sum, in
 * class order, within 0.999e-3 of 1; logits: every value finite.  One pass
 * over the rows, 8 at a time (their values checked, then their sums as 8
 * independent chains of adds: the sums of one row after another, bit for
 * bit). */
LF_CLONES static int looks_valid(const float *v, size_t N, size_t C, int logits) {
    int odd = 0;
    if (logits) {
        for (size_t i = 0; i < N * C; i++) odd |= !(fabsf(v[i]) <= FLT_MAX);
        return !odd;
    }
    size_t r = 0;
    for (; !odd && r + 8 <= N; r += 8) {
        const float *b = v + r * C;
        for (size_t i = 0; i < 8 * C; i++) odd |= not_prob(b[i]);
        float s8[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (size_t c = 0; c < C; c++)
            for (size_t j = 0; j < 8; j++) s8[j] += b[j * C + c];
        for (size_t j = 0; j < 8; j++) odd |= !(fabsf(s8[j] - 1.0f) <= 0.999e-3f);
    }
    for (; !odd && r < N; r++) {
        float s0 = 0;
        for (size_t c = 0; c < C; c++) odd |= not_prob(v[r * C + c]), s0 += v[r * C + c];
        odd |= !(fabsf(s0 - 1.0f) <= 0.999e-3f);
    }
    return !odd;
}

int lf_probs_look_valid(const float *v, size_t N, size_t C, int logits) {
    return looks_valid(v, N, C, logits);
}

/* ------------------------------------------------ fused mean / product
 *
 * One pass per block of rows that both checks the inputs (looks_valid, the
 * fast check lf_inputs_validate makes too: every value in [0, FLT_MAX], every row's float sum
 * within 0.999e-3 of 1, so no NaN, i.e. no missing row) and fuses them with
 * exactly the operations, in the same order, of lf_rule_apply's row loop
 * for equal weights and every model present, so the output has the same
 * bits.  The arrays of a block fit in L1/L2 (FUSED_VALUES doubles each), and
 * each loop over a block's values is flat, so it vectorises. */
#define FUSED_VALUES 2048
#define FUSED_PARALLEL_VALUES (1 << 16) /* below this many input values, one thread */

LF_CLONES static int fused_block(int product, const float *const *p, size_t M, size_t C, size_t i0,
                                 size_t n, float *out) {
    double L[FUSED_VALUES], Q[FUSED_VALUES];
    size_t tot = n * C;
    for (size_t k = 0; k < M; k++)
        if (!looks_valid(p[k] + i0 * C, n, C, 0)) return 0;
    float *o = out + i0 * C;
    if (!product) { /* lf_rule_apply's mean with equal weights */
        flat_mean(p, M, i0 * C, tot, 1.0, 1.0 / (1.0 * (double)M), o);
        return 1;
    }
    /* product, equal weights: log of products of up to 16 clipped values */
    for (size_t j = 0; j < tot; j++) L[j] = 0.0;
    for (size_t k0 = 0; k0 < M; k0 += 16) {
        size_t k1 = k0 + 16 < M ? k0 + 16 : M;
        for (size_t j = 0; j < tot; j++) Q[j] = 1.0;
        for (size_t k = k0; k < k1; k++) {
            const float *v = p[k] + i0 * C;
            for (size_t j = 0; j < tot; j++) {
                /* max(v, 1e-12) in double, for every float v >= 0
                 * (validated above; -0.0 included): (double)v > 1e-12
                 * exactly when v >= 0x1.19799ap-40f, the first float above
                 * 1e-12, and as int32 the bits of floats >= +0.0 order like
                 * the floats (-0.0's are negative); an integer comparison
                 * and a select by masks vectorise (GCC keeps a branch for
                 * ?: here) */
                int32_t b;
                memcpy(&b, v + j, sizeof b);
                uint64_t keep = (uint64_t)0 - (uint64_t)(b >= 0x2b8cbccd); /* all ones or 0 */
                uint64_t vd = lf_d2u((double)v[j]), lo = lf_d2u(1e-12);
                Q[j] *= lf_u2d((vd & keep) | (lo & ~keep));
            }
        }
        for (size_t j = 0; j < tot; j++) L[j] += lf_log_d(Q[j]);
    }
    double invn = 1.0 / (double)M;
    for (size_t j = 0; j < tot; j++) Q[j] = lf_exp_d(L[j] * invn);
    for (size_t r = 0; r < n; r++) {
        const double *e = Q + r * C;
        double s = 0.0;
        for (size_t c = 0; c < C; c++) s += e[c];
        double inv = 1.0 / s;
        for (size_t c = 0; c < C; c++) o[r * C + c] = (float)(e[c] * inv);
    }
    return 1;
}

int lf_rule_fused(lf_rule r, const float *const *p, size_t M, size_t N, size_t C, float *out) {
    if ((r != LF_RULE_MEAN && r != LF_RULE_PRODUCT) || !p || !out || M < 2 || C == 0 ||
        C > FUSED_VALUES)
        return 0;
    for (size_t k = 0; k < M; k++)
        if (!p[k]) return 0;
    size_t nc, values;
    if (!lf_mul_ok(N, C, &nc) || !lf_mul_ok(nc, M, &values)) return 0;
    size_t B = FUSED_VALUES / C; /* rows per block */
    size_t nb = N / B + (N % B != 0);
    int product = r == LF_RULE_PRODUCT, bad = 0;
    long long nbl = (long long)nb;
#pragma omp parallel for schedule(static) reduction(| : bad) if (values >= FUSED_PARALLEL_VALUES && nb > 1)
    for (long long b = 0; b < nbl; b++) {
        size_t i0 = (size_t)b * B, n = N - i0 < B ? N - i0 : B;
        bad |= !fused_block(product, p, M, C, i0, n, out);
    }
    return !bad;
}

/* ------------------------------------------------ the rules, row by row
 *
 * lf_rule_apply finds the models present in a row (with their weights) and
 * hands the row to its rule: one function per rule, each writing out row o
 * from the np present models (np >= 1). */
typedef struct rule_row {
    const float *const *p;
    size_t i, C;          /* the row, the classes */
    size_t np;            /* models present (and weighted) in the row */
    const size_t *present;
    const double *w;      /* their weights, and 1 / their sum */
    double invw;
    int equal_w;          /* all weights equal (or none given) */
    double *acc, *acc2;   /* scratch of C each */
    double *med;          /* scratch of M */
    rank_item *items;     /* scratch of C (borda) */
} rule_row;

static const float *row_of(const rule_row *x, size_t j) { return x->p[x->present[j]] + x->i * x->C; }

static void mean_row(const rule_row *x, float *o) {
    size_t C = x->C;
    double *acc = x->acc;
    memset(acc, 0, C * sizeof *acc);
    for (size_t j = 0; j < x->np; j++) {
        const float *row = row_of(x, j);
        double wk = x->w[j];
        for (size_t c = 0; c < C; c++) acc[c] += wk * (double)row[c];
    }
    for (size_t c = 0; c < C; c++) o[c] = (float)(acc[c] * x->invw);
    /* (no renormalisation: the rows sum to 1) */
}

static void product_row(const rule_row *x, float *o) {
    size_t C = x->C, np = x->np;
    double *acc = x->acc, *acc2 = x->acc2;
    memset(acc, 0, C * sizeof *acc);
    if (x->equal_w) {
        /* equal weights: sum_k log p_kc / np = log(prod_k p_kc) / np, one
         * log per class instead of one per value; products of up to 16
         * values >= 1e-12 cannot underflow a double */
        for (size_t j0 = 0; j0 < np; j0 += 16) {
            size_t j1 = j0 + 16 < np ? j0 + 16 : np;
            for (size_t c = 0; c < C; c++) acc2[c] = 1.0;
            for (size_t j = j0; j < j1; j++) {
                const float *row = row_of(x, j);
                for (size_t c = 0; c < C; c++) acc2[c] *= row[c] > 1e-12f ? (double)row[c] : 1e-12;
            }
            for (size_t c = 0; c < C; c++) acc[c] += lf_log_d(acc2[c]);
        }
        double invn = 1.0 / (double)np;
        for (size_t c = 0; c < C; c++) acc[c] *= invn;
    } else {
        for (size_t j = 0; j < np; j++) {
            const float *row = row_of(x, j);
            double wk = x->w[j] * x->invw;
            for (size_t c = 0; c < C; c++) {
                double v = row[c] > 1e-12f ? (double)row[c] : 1e-12;
                acc[c] += wk * lf_log_d(v);
            }
        }
    }
    /* the exponents lie in [log 1e-12, log FLT_MAX] = [-27.7, 88.8]: in
     * double their exp neither overflows nor underflows, and needs no
     * maximum subtracted */
    double s = 0.0;
    for (size_t c = 0; c < C; c++) s += (acc[c] = lf_exp_d(acc[c]));
    double inv = 1.0 / s; /* s >= 1e-12 */
    for (size_t c = 0; c < C; c++) o[c] = (float)(acc[c] * inv);
}

static void max_row(const rule_row *x, float *o) {
    size_t C = x->C;
    const float *row0 = row_of(x, 0);
    for (size_t c = 0; c < C; c++) x->acc[c] = row0[c];
    for (size_t j = 1; j < x->np; j++) {
        const float *row = row_of(x, j);
        for (size_t c = 0; c < C; c++) x->acc[c] = row[c] > x->acc[c] ? row[c] : x->acc[c];
    }
    write_normalised(o, x->acc, C);
}

static void min_row(const rule_row *x, float *o) {
    size_t C = x->C;
    const float *row0 = row_of(x, 0);
    for (size_t c = 0; c < C; c++) x->acc[c] = row0[c];
    for (size_t j = 1; j < x->np; j++) {
        const float *row = row_of(x, j);
        for (size_t c = 0; c < C; c++) x->acc[c] = row[c] < x->acc[c] ? row[c] : x->acc[c];
    }
    write_normalised(o, x->acc, C);
}

static void median_row(const rule_row *x, float *o) {
    size_t C = x->C, np = x->np;
    for (size_t c = 0; c < C; c++) {
        for (size_t j = 0; j < np; j++) x->med[j] = row_of(x, j)[c];
        insertion_sort(x->med, np);
        x->acc[c] = (np & 1) ? x->med[np / 2] : 0.5 * (x->med[np / 2 - 1] + x->med[np / 2]);
    }
    write_normalised(o, x->acc, C);
}

/* vote and borda: acc the (weighted) votes or points, acc2 the weighted
 * mean, which breaks ties */
static void vote_or_borda_row(const rule_row *x, float *o, int borda) {
    size_t C = x->C;
    double *acc = x->acc, *acc2 = x->acc2;
    memset(acc, 0, 2 * C * sizeof *acc); /* acc and acc2 */
    for (size_t j = 0; j < x->np; j++) {
        const float *row = row_of(x, j);
        double wk = x->w[j] * x->invw;
        for (size_t c = 0; c < C; c++) acc2[c] += wk * (double)row[c];
        if (borda) borda_add(row, C, wk, x->items, acc);
        else acc[lf_argmax_f(row, C)] += wk;
    }
    if (borda && C == 1) acc[0] = 1.0;
    for (size_t c = 0; c < C; c++) acc[c] += LF_RULE_TIE_EPS * acc2[c];
    write_normalised(o, acc, C);
}

static void vote_row(const rule_row *x, float *o) { vote_or_borda_row(x, o, 0); }
static void borda_row(const rule_row *x, float *o) { vote_or_borda_row(x, o, 1); }

static void (*const rule_rows[LF_RULE_COUNT])(const rule_row *, float *) = {
    [LF_RULE_MEAN] = mean_row,     [LF_RULE_PRODUCT] = product_row, [LF_RULE_MAX] = max_row,
    [LF_RULE_MIN] = min_row,       [LF_RULE_MEDIAN] = median_row,   [LF_RULE_VOTE] = vote_row,
    [LF_RULE_BORDA] = borda_row,
};

static lf_status check_weights(const float *weights, size_t M, lf_err *e) {
    double total = 0.0;
    for (size_t k = 0; k < M; k++) {
        if (!isfinite(weights[k]) || weights[k] < 0.0f)
            return lf_fail(e, LF_ERR_ARG,
                           "fusion rule: weight of model %zu is %g; weights must be finite and >= 0", k,
                           (double)weights[k]);
        total += weights[k];
    }
    if (!(total > 0.0)) return lf_fail(e, LF_ERR_ARG, "fusion rule: all %zu model weights are zero", M);
    return LF_OK;
}

lf_status lf_rule_apply(lf_rule r, const float *const *p, size_t M, size_t N, size_t C,
                        const float *weights, float *out, lf_err *e) {
    static const char fn[] = "fusion rule";
    lf_status st = check_common(fn, p, M, N, C, out, e);
    if (st != LF_OK) return st;
    if ((int)r < 0 || (int)r >= LF_RULE_COUNT)
        return lf_fail(e, LF_ERR_ARG, "fusion rule: unknown rule number %d", (int)r);
    if (weights && (st = check_weights(weights, M, e)) != LF_OK) return st;

    /* all weights equal (or none given): the product can skip most logs */
    int equal_w = 1;
    for (size_t k = 1; weights && k < M; k++) equal_w &= weights[k] == weights[0];
    /* the mean with equal weights and no missing output: one flat loop over
     * all values (the same sums, in the same order, as the row loop) */
    int all_present = r == LF_RULE_MEAN && equal_w && M > 1;
    for (size_t i = 0; all_present && i < N; i++)
        for (size_t k = 0; k < M; k++) all_present &= !lf_row_missing(p[k], i, C);
    if (all_present) {
        double wk = weights ? (double)weights[0] : 1.0, invw = 1.0 / (wk * (double)M);
        flat_mean(p, M, 0, N * C, wk, invw, out);
        return LF_OK;
    }

    /* scratch: acc (C), acc2 (C), w (M), med (M), present (M), items (C) */
    double *acc = lf_alloc_array(2 * C + 2 * M, sizeof(double));
    size_t *present = lf_alloc_array(M, sizeof(size_t));
    rank_item *items = r == LF_RULE_BORDA ? lf_alloc_array(C, sizeof(rank_item)) : NULL;
    if (!acc || !present || (r == LF_RULE_BORDA && !items)) {
        LF_FREE(acc);
        LF_FREE(present);
        LF_FREE(items);
        return lf_fail(e, LF_ERR_NOMEM, "fusion rule: out of memory for %zu classes", C);
    }
    double *w = acc + 2 * C;
    rule_row x = {p, 0, C, 0, present, w, 0.0, equal_w, acc, acc + C, w + M, items};
    const int weighted = r == LF_RULE_MEAN || r == LF_RULE_PRODUCT || r == LF_RULE_VOTE ||
                         r == LF_RULE_BORDA;
    for (size_t i = 0; i < N; i++) {
        float *o = out + i * C;
        size_t np = 0;
        double wsum = 0.0;
        for (size_t k = 0; k < M; k++) {
            if (lf_row_missing(p[k], i, C)) continue;
            double wk = weights ? (double)weights[k] : 1.0;
            if (weighted && wk == 0.0) continue; /* contributes nothing */
            present[np] = k;
            w[np++] = wk;
            wsum += wk;
        }
        int fallback = np == 0 && weighted; /* the models present all have weight 0: their equal-weight rule */
        for (size_t k = 0; fallback && k < M; k++)
            if (!lf_row_missing(p[k], i, C)) present[np] = k, w[np++] = 1.0, wsum += 1.0;
        if (np == 0) {
            fill_uniform(o, C);
        } else if (np == 1 && r != LF_RULE_VOTE && r != LF_RULE_BORDA) {
            /* one model: each of these rules returns its row as it is */
            memcpy(o, p[present[0]] + i * C, C * sizeof *o);
        } else {
            x.i = i, x.np = np, x.invw = 1.0 / wsum, x.equal_w = equal_w || fallback;
            rule_rows[r](&x, o);
        }
    }
    LF_FREE(acc);
    LF_FREE(present);
    LF_FREE(items);
    return LF_OK;
}

lf_status lf_decision_templates_fit(const float *const *p, size_t M, size_t N, size_t C,
                                    const int *y, float *templates, lf_err *e) {
    static const char fn[] = "decision templates";
    lf_status st = check_common(fn, p, M, N, C, templates, e);
    if (st == LF_OK) st = check_labels(fn, y, N, C, e);
    if (st != LF_OK) return st;
    size_t MC = M * C;
    double *sum = lf_alloc_array(C * MC, sizeof(double));
    size_t *cnt = lf_alloc_array(C * M, sizeof(size_t));
    if (!sum || !cnt) {
        LF_FREE(sum);
        LF_FREE(cnt);
        return lf_fail(e, LF_ERR_NOMEM, "decision templates: out of memory for %zu x %zu values",
                       C, MC);
    }
    for (size_t i = 0; i < N; i++) {
        size_t c = (size_t)y[i];
        for (size_t k = 0; k < M; k++) {
            if (lf_row_missing(p[k], i, C)) continue;
            const float *row = p[k] + i * C;
            double *s = sum + c * MC + k * C;
            for (size_t j = 0; j < C; j++) s[j] += row[j];
            cnt[c * M + k]++;
        }
    }
    float u = (float)(1.0 / (double)C);
    for (size_t c = 0; c < C; c++)
        for (size_t k = 0; k < M; k++) {
            size_t n = cnt[c * M + k];
            float *t = templates + c * MC + k * C;
            const double *s = sum + c * MC + k * C;
            for (size_t j = 0; j < C; j++) t[j] = n ? (float)(s[j] / (double)n) : u;
        }
    LF_FREE(sum);
    LF_FREE(cnt);
    return LF_OK;
}

lf_status lf_decision_templates_apply(const float *templates, const float *const *p, size_t M,
                                      size_t N, size_t C, float *out, lf_err *e) {
    static const char fn[] = "decision templates";
    lf_status st = check_common(fn, p, M, N, C, out, e);
    if (st != LF_OK) return st;
    if (!templates) return lf_fail(e, LF_ERR_ARG, "decision templates: the templates are NULL");
    size_t MC = M * C;
    for (size_t t = 0; t < C * MC; t++)
        if (!isfinite(templates[t]))
            return lf_fail(e, LF_ERR_NUMERIC,
                           "decision templates: template of class %zu, model %zu, class %zu is "
                           "%g (not finite)",
                           t / MC, (t % MC) / C, t % C, (double)templates[t]);
    double *S = lf_alloc_array(C, sizeof(double));
    size_t *present = lf_alloc_array(M, sizeof(size_t));
    if (!S || !present) {
        LF_FREE(S);
        LF_FREE(present);
        return lf_fail(e, LF_ERR_NOMEM, "decision templates: out of memory for %zu classes", C);
    }
    for (size_t i = 0; i < N; i++) {
        float *o = out + i * C;
        size_t np = 0;
        for (size_t k = 0; k < M; k++)
            if (!lf_row_missing(p[k], i, C)) present[np++] = k;
        if (np == 0) {
            fill_uniform(o, C);
            continue;
        }
        double scale = 1.0 / ((double)np * (double)C);
        for (size_t c = 0; c < C; c++) {
            double d = 0.0;
            for (size_t j = 0; j < np; j++) {
                size_t k = present[j];
                const float *row = p[k] + i * C;
                const float *t = templates + c * MC + k * C;
                for (size_t q = 0; q < C; q++) {
                    double diff = (double)row[q] - (double)t[q];
                    d += diff * diff;
                }
            }
            double s = 1.0 - d * scale;
            S[c] = s > 0.0 ? s : 0.0;
        }
        write_normalised(o, S, C);
    }
    LF_FREE(S);
    LF_FREE(present);
    return LF_OK;
}

lf_status lf_model_accuracies(const float *const *p, size_t M, size_t N, size_t C,
                              const int *y, double *acc, lf_err *e) {
    static const char fn[] = "model accuracies";
    lf_status st = check_common(fn, p, M, N, C, acc, e);
    if (st == LF_OK) st = check_labels(fn, y, N, C, e);
    if (st != LF_OK) return st;
    for (size_t k = 0; k < M; k++) {
        size_t n = 0, right = 0;
        for (size_t i = 0; i < N; i++) {
            if (lf_row_missing(p[k], i, C)) continue;
            n++;
            right += lf_argmax_f(p[k] + i * C, C) == (size_t)y[i];
        }
        acc[k] = n ? (double)right / (double)n : 0.0;
    }
    return LF_OK;
}
