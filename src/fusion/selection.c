/*
 * selection.c — greedy ensemble selection (Caruana, Niculescu-Mizil, Crew
 * & Ksikes, "Ensemble Selection from Libraries of Models", ICML 2004), the
 * combiner AutoGluon and auto-sklearn end with:
 *
 *   ges      the linear pool: sum_k w_k p_k over the models present
 *   ges-log  the log-linear (geometric) pool: prod_k p_k^w_k, renormalised
 *            (the product rule's weighted form)
 *
 * with w_k = how often model k was selected / the selections of the models
 * present in the row; a row where no selected model is present gets the
 * pool of the models present with equal weights (rules.c's fallback: with
 * a missing modality the unselected models still speak), the uniform
 * distribution where none is.  Fitting: sorted initialisation (the models sorted by
 * their own score; the best n of them, n chosen by the ensemble's score on
 * the fitting rows), then forward selection with replacement, one model per
 * step, the one whose addition gives the best score, until the ensemble
 * holds opt->ensemble_size selections (ties: the lower model index).  The
 * score is the log-loss (probabilities clipped at 1e-15, as the metrics do)
 * or, with opt->metric = LF_METRIC_ACCURACY, the accuracy with the log-loss
 * breaking ties.  With opt->bags = B > 1, the selection is run B times,
 * each time over a random half of the models (at least one; seeded by
 * opt->seed), and the counts are added up (Caruana's bagged selection).
 *
 * On multi-view data the log-loss-optimal linear pool tends to pile its
 * weight on one confident model, and selection over it by log-loss falls
 * into the same trap; over the geometric pool it does not (the mfeat
 * example's table, examples/mfeat-results.md, shows both).
 *
 * State: M selection counts, saved as "fusion.weights" (M); predict is the
 * weighted mean (ges) or weighted product (ges-log) rule of rules.c.
 */
#include "fusion/method.h"
#include "fusion/rules.h"
#include "model_io.h"
#include "vmath.h"

#include <math.h>
#include <string.h>

#define LL_CLIP 1e-15  /* the metrics' clipping of a probability */
#define LOG_FLOOR 1e-12 /* the product rule's floor (rules.c) */

typedef struct ges_params {
    int geometric; /* 0: linear pool, 1: log-linear pool */
} ges_params;

/* The pooled ensemble on the fitting rows.  The linear pool scored by
 * log-loss needs only the label's column: num (N) and the labels'
 * probabilities py; the accuracy and the geometric pool need every class:
 * sum (N x C). */
typedef struct pool {
    const lf_probs *pr;
    const int *y;
    int geometric, accuracy, full;
    double *sum;   /* full: N x C sums over selections of p (linear) or log max(p, 1e-12) */
    double *num;   /* not full: N sums of the label's p */
    float *py;     /* not full: (M + 1) x N label probabilities (0 where
                      missing; the last row all 0) */
    float *pres;   /* not full: (M + 1) x N, 1 where the model is present */
    double *den;   /* N: the selections of the models present in the row */
    double *fb;    /* N: the label's probability where den = 0 (pool_fallback) */
    unsigned char *fb_right; /* full: N, whether that fallback's argmax is the label */
    double *cand;  /* (M + 1) x C scratch: one row per candidate, the last for k < 0 */
    double *cand_ll; /* 2 M: the candidates' scores */
    double *part;  /* not full: ceil(N / BLOCK) x M blocks' log-loss sums */
    double *logp;  /* geometric, or NULL: M x N x C logs of max(p, 1e-12), each made once
                      instead of at every step (see fill_logs) */
    const volatile int *cancel; /* the caller's flag, read before each selection */
} pool;

#define BLOCK 1024

/* sum of -log(clip(q)) over a block, in four fixed lanes (the same result
 * whatever the vector width) */
LF_CLONES static double block_neg_log(double *q, size_t n) {
    for (size_t j = 0; j < n; j++) q[j] = lf_log_d(q[j]);
    double s[4] = {0, 0, 0, 0};
    size_t j = 0;
    for (; j + 4 <= n; j += 4) s[0] -= q[j], s[1] -= q[j + 1], s[2] -= q[j + 2], s[3] -= q[j + 3];
    for (; j < n; j++) s[0] -= q[j];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* -log(clip(q)) summed over rows r0..r0+n of the linear pool's label
 * probability with one more selection of model kk (kk = M: none) */
LF_CLONES static double block_linear(const pool *pl, size_t kk, size_t r0, size_t n) {
    size_t N = pl->pr->N;
    double q[BLOCK];
    const double *num = pl->num + r0, *den = pl->den + r0, *fb = pl->fb + r0;
    const float *pv = pl->py + kk * N + r0, *pp = pl->pres + kk * N + r0;
    /* branch-free (integer selects on the bits of doubles >= 0, which order
     * like the values), so that the loop vectorises: a row with no selected
     * model present (d = 0) is divided by 1 and replaced by its fallback */
    int64_t one = (int64_t)lf_d2u(1.0), lo = (int64_t)lf_d2u(LL_CLIP);
    for (size_t j = 0; j < n; j++) {
        double d = den[j] + (double)pp[j], a = num[j] + (double)pv[j];
        int64_t db = (int64_t)lf_d2u(d), z = -(int64_t)(db == 0);
        int64_t xb = (int64_t)lf_d2u(a / lf_u2d((uint64_t)(db | (one & z))));
        xb = (xb & ~z) | ((int64_t)lf_d2u(fb[j]) & z);
        xb = xb < lo ? lo : xb;
        q[j] = lf_u2d((uint64_t)(xb > one ? one : xb));
    }
    return block_neg_log(q, n);
}

/* log-loss of the linear pool with one more selection of model k (k < 0:
 * as it is), from the label's column only: the blocks' sums added in
 * order */
static double linear_log_loss(const pool *pl, long k) {
    size_t N = pl->pr->N, kk = k >= 0 ? (size_t)k : pl->pr->M;
    double ll = 0.0;
    for (size_t r0 = 0; r0 < N; r0 += BLOCK) ll += block_linear(pl, kk, r0, N - r0 < BLOCK ? N - r0 : BLOCK);
    return ll / (double)N;
}

/* linear_log_loss of every candidate with use[k] set, into ll[k]: one
 * pass over the rows, blocks across the threads, each block's sums kept
 * and added in block order, so the results are linear_log_loss's bits
 * whatever the thread count */
static void linear_log_losses(const pool *pl, const unsigned char *use, double *ll) {
    size_t N = pl->pr->N, M = pl->pr->M, nb = (N + BLOCK - 1) / BLOCK;
    double *part = pl->part; /* nb x M */
    long long nbl = (long long)nb;
#pragma omp parallel for schedule(static) if (N * M >= 100000)
    for (long long b = 0; b < nbl; b++) {
        size_t r0 = (size_t)b * BLOCK, n = N - r0 < BLOCK ? N - r0 : BLOCK;
        for (size_t k = 0; k < M; k++)
            if (use[k]) part[(size_t)b * M + k] = block_linear(pl, k, r0, n);
    }
    for (size_t k = 0; k < M; k++) {
        if (!use[k]) continue;
        double s = 0.0;
        for (size_t b = 0; b < nb; b++) s += part[b * M + k];
        ll[k] = s / (double)N;
    }
}

/* log max(p, 1e-12): the geometric pool's term of a probability */
static inline double floor_log(double p) { return lf_log_d(p > LOG_FLOOR ? p : LOG_FLOOR); }

/* the term of model k, row r, class c */
static inline double log_term(const pool *pl, size_t k, size_t r, size_t c) {
    const lf_probs *pr = pl->pr;
    return pl->logp ? pl->logp[(k * pr->N + r) * pr->C + c] : floor_log(pr->p[k][r * pr->C + c]);
}

/* Every model's log terms, made once: a selection step scores every model
 * on every row, so without them each step takes M N C logs again.  Within
 * LOG_CACHE_BYTES, else (or out of memory) NULL, and log_term makes them
 * as needed; the same values either way. */
#define LOG_CACHE_BYTES (256.0 * 1024 * 1024)
static double *fill_logs(const lf_probs *pr) {
    size_t M = pr->M, N = pr->N, C = pr->C;
    if ((double)M * (double)N * (double)C * sizeof(double) > LOG_CACHE_BYTES) return NULL;
    double *l = lf_alloc_array(M * N, C * sizeof *l);
    for (size_t k = 0; l && k < M; k++)
        for (size_t i = 0; i < N * C; i++) l[k * N * C + i] = floor_log(pr->p[k][i]);
    return l;
}

/* log-loss and accuracy of the pool with one more selection of model k
 * (k < 0: as it is) */
static void score_with(const pool *pl, long k, double *ll_out, double *acc_out) {
    if (!pl->full) {
        *ll_out = linear_log_loss(pl, k);
        *acc_out = 0.0;
        return;
    }
    const lf_probs *pr = pl->pr;
    size_t N = pr->N, C = pr->C;
    const float *pk = k >= 0 ? pr->p[k] : NULL;
    double *cand = pl->cand + (k >= 0 ? (size_t)k : pr->M) * C; /* the candidate's own scratch */
    double ll = 0.0;
    size_t right = 0;
    for (size_t r = 0; r < N; r++) {
        const double *s = pl->sum + r * C;
        const float *pkr = pk && !isnan(pk[r * C]) ? pk + r * C : NULL;
        double d = pl->den[r] + (pkr ? 1.0 : 0.0);
        size_t t = (size_t)pl->y[r];
        double q;        /* the label's pooled probability */
        size_t best = 0; /* the pooled argmax (ties: the lower class) */
        if (d == 0.0) {
            q = pl->fb[r];
            best = pl->fb_right[r] ? t : C; /* C: no class, so not the label */
        } else if (!pl->geometric) {
            double *v = cand;
            for (size_t c = 0; c < C; c++) v[c] = s[c] + (pkr ? (double)pkr[c] : 0.0);
            q = v[t] / d;
            for (size_t c = 1; c < C; c++) best = v[c] > v[best] ? c : best;
        } else {
            double *v = cand, mx = -INFINITY;
            for (size_t c = 0; c < C; c++) {
                double a = pkr ? log_term(pl, (size_t)k, r, c) : 0.0;
                v[c] = (s[c] + a) / d;
                if (v[c] > mx) mx = v[c], best = c;
            }
            double z = 0.0;
            for (size_t c = 0; c < C; c++) z += lf_exp_d(v[c] - mx);
            q = lf_exp_d(v[t] - mx) / z;
        }
        q = q < LL_CLIP ? LL_CLIP : q > 1.0 ? 1.0 : q;
        ll -= log(q);
        right += best == t;
    }
    *ll_out = ll / (double)N;
    *acc_out = (double)right / (double)N;
}

static void clear_pool(pool *pl) {
    size_t N = pl->pr->N, C = pl->pr->C;
    if (pl->full) memset(pl->sum, 0, N * C * sizeof *pl->sum);
    else memset(pl->num, 0, N * sizeof *pl->num);
    memset(pl->den, 0, N * sizeof *pl->den);
}

static void add_selection(pool *pl, size_t k) {
    const lf_probs *pr = pl->pr;
    size_t N = pr->N, C = pr->C;
    const float *pk = pr->p[k];
    if (!pl->full) {
        const float *py = pl->py + k * N, *pp = pl->pres + k * N;
        for (size_t r = 0; r < N; r++) pl->num[r] += (double)py[r], pl->den[r] += (double)pp[r];
        return;
    }
    for (size_t r = 0; r < N; r++) {
        if (isnan(pk[r * C])) continue;
        {
            double *s = pl->sum + r * C;
            for (size_t c = 0; c < C; c++) s[c] += pl->geometric ? log_term(pl, k, r, c) : (double)pk[r * C + c];
        }
        pl->den[r] += 1.0;
    }
}

/* a better than b: by accuracy then log-loss, or by log-loss alone */
static int better(const pool *pl, double ll_a, double acc_a, double ll_b, double acc_b) {
    if (pl->accuracy && acc_a != acc_b) return acc_a > acc_b;
    return ll_a < ll_b;
}

/* One selection over the models with use[k] set, adding to counts; 0
 * when the caller's flag stopped it (a selection scores every candidate
 * on every row: seconds for the log-linear pool on 10^5 rows). */
static int select_once(pool *pl, const unsigned char *use, size_t size, float *counts) {
    size_t M = pl->pr->M;
    clear_pool(pl);
    /* sorted initialisation: the models by their own score, best first */
    size_t order[1024], n = 0;
    double own_ll[1024], own_acc[1024];
    for (size_t k = 0; k < M; k++) {
        if (!use[k]) continue;
        score_with(pl, (long)k, &own_ll[k], &own_acc[k]);
        size_t j = n++;
        while (j > 0 && better(pl, own_ll[k], own_acc[k], own_ll[order[j - 1]], own_acc[order[j - 1]]))
            order[j] = order[j - 1], j--;
        order[j] = k;
    }
    /* the best prefix of that order, scored as pools */
    size_t n_init = 1;
    double best_ll = INFINITY, best_acc = -1.0;
    for (size_t i = 0; i < n && i < size; i++) {
        add_selection(pl, order[i]);
        double ll, acc;
        score_with(pl, -1, &ll, &acc);
        if (better(pl, ll, acc, best_ll, best_acc)) best_ll = ll, best_acc = acc, n_init = i + 1;
    }
    clear_pool(pl);
    for (size_t i = 0; i < n_init; i++) {
        add_selection(pl, order[i]);
        counts[order[i]] += 1.0f;
    }
    /* forward selection with replacement: the candidates are scored side
     * by side (each score is computed the same way on any thread) */
    double *cll = pl->cand_ll, *cacc = cll + M;
    long long MM = (long long)M;
    for (size_t step = n_init; step < size; step++) {
        if (lf_cancelled(pl->cancel)) return 0;
        if (!pl->full) {
            linear_log_losses(pl, use, cll);
        } else {
#pragma omp parallel for schedule(dynamic, 1) if (pl->pr->N * M >= 100000)
            for (long long k = 0; k < MM; k++)
                if (use[k]) score_with(pl, (long)k, &cll[k], &cacc[k]);
        }
        long pick = -1;
        for (size_t k = 0; k < M; k++)
            if (use[k] && (pick < 0 || better(pl, cll[k], cacc[k], cll[pick], cacc[pick]))) pick = (long)k;
        add_selection(pl, (size_t)pick);
        counts[pick] += 1.0f;
    }
    return 1;
}

/* The pool where no selected model is present in a row: the equal-weight
 * rule of the models present (mean or product: lf_rule_apply's fallback,
 * so fit scores what predict gives), uniform where none is; into fb the
 * label's probability, into fb_right (full) whether its argmax (ties: the
 * lower class) is the label.  Only rows with a model missing can need it:
 * without any, fb is 1/C and nothing more is computed. */
static lf_status pool_fallback(pool *pl, lf_err *e) {
    const lf_probs *pr = pl->pr;
    size_t M = pr->M, N = pr->N, C = pr->C;
    int missing = 0;
    for (size_t r = 0; r < N; r++) {
        pl->fb[r] = 1.0 / (double)C;
        if (pl->full) pl->fb_right[r] = pl->y[r] == 0;
        for (size_t k = 0; k < M; k++) missing |= lf_row_missing(pr->p[k], r, C);
    }
    if (!missing) return LF_OK;
    float *out = lf_alloc_array(N, C * sizeof *out);
    if (!out) return LF_ERR_NOMEM;
    lf_status st = lf_rule_apply(pl->geometric ? LF_RULE_PRODUCT : LF_RULE_MEAN, (const float *const *)pr->p, M, N,
                                 C, NULL, out, e);
    for (size_t r = 0; st == LF_OK && r < N; r++) {
        size_t t = (size_t)pl->y[r];
        pl->fb[r] = out[r * C + t];
        if (pl->full) pl->fb_right[r] = lf_argmax_f(out + r * C, C) == t;
    }
    LF_FREE(out);
    return st;
}

static lf_status ges_fit(lf_fusion *f, const lf_probs *pr, const int *y, const lf_fusion_options *o) {
    size_t M = pr->M, N = pr->N, C = pr->C;
    const ges_params *gp = f->def->params;
    static const char *const metric_names[LF_NUM_METRICS] = {"accuracy", "macro-F1 (auto alone chooses by it)",
                                                             "log-loss", "Brier score", "ECE"};
    if (o->metric != LF_METRIC_LOG_LOSS && o->metric != LF_METRIC_ACCURACY) {
        if (o->metric >= 0 && o->metric < LF_NUM_METRICS)
            return lf_fail(&f->err, LF_ERR_ARG, "%s optimises the log-loss or the accuracy, not the %s", f->def->name,
                           metric_names[o->metric]);
        return lf_fail(&f->err, LF_ERR_ARG, "%s optimises the log-loss or the accuracy, not metric %d", f->def->name,
                       o->metric);
    }
    size_t size = o->ensemble_size ? o->ensemble_size : 50, bags = o->bags ? o->bags : 1;
    if (size > 100000 || bags > 10000)
        return lf_fail(&f->err, LF_ERR_ARG, "%s: ensemble size %zu (at most 100000) or bags %zu (at most 10000) too large",
                       f->def->name, size, bags);
    float *counts = lf_alloc_array(M, sizeof *counts);
    unsigned char *use = lf_alloc_array(M, 1);
    pool pl = {.pr = pr, .y = y, .geometric = gp->geometric, .accuracy = o->metric == LF_METRIC_ACCURACY,
               .cancel = o->cancel};
    pl.full = pl.geometric || pl.accuracy;
    if (pl.full) pl.sum = lf_alloc_array(N, C * sizeof(double));
    else pl.num = lf_alloc_array(N, sizeof(double)), pl.py = LF_CALLOC(M + 1, N * sizeof(float)),
         pl.pres = LF_CALLOC(M + 1, N * sizeof(float));
    pl.den = lf_alloc_array(N, sizeof(double));
    pl.fb = lf_alloc_array(N, sizeof(double));
    if (pl.full) pl.fb_right = lf_alloc_array(N, 1);
    pl.cand = lf_alloc_array(M + 1, C * sizeof(double));
    pl.cand_ll = lf_alloc_array(M, 2 * sizeof(double));
    if (!pl.full) pl.part = lf_alloc_array((N + BLOCK - 1) / BLOCK, M * sizeof(double));
    if (pl.geometric) pl.logp = fill_logs(pr);
    int ok = counts && use && pl.den && pl.fb && (!pl.full || pl.fb_right) && pl.cand && pl.cand_ll && (pl.full ? pl.sum != NULL : pl.num && pl.py && pl.pres && pl.part);
    for (size_t k = 0; ok && !pl.full && k < M; k++) /* the labels' column, 0 where missing */
        for (size_t r = 0; r < N; r++) {
            float v = pr->p[k][r * C + (size_t)y[r]];
            pl.pres[k * N + r] = isnan(v) ? 0.0f : 1.0f;
            pl.py[k * N + r] = isnan(v) ? 0.0f : v;
        }
    lf_status st = LF_OK;
    if (!ok || (st = pool_fallback(&pl, &f->err)) == LF_ERR_NOMEM) {
        st = lf_fail(&f->err, LF_ERR_NOMEM, "out of memory for %s on %zu rows", f->def->name, N);
    } else if (st == LF_OK) {
        memset(counts, 0, M * sizeof *counts);
        lf_rng rng;
        lf_rng_seed(&rng, o->seed ^ 0x676573ull);
        for (size_t b = 0; st == LF_OK && b < bags; b++) {
            size_t n_use = 0;
            for (size_t k = 0; k < M; k++) n_use += use[k] = bags == 1 || lf_rng_uniform(&rng) < 0.5;
            if (n_use == 0) use[lf_rng_below(&rng, M)] = 1;
            if (!select_once(&pl, use, size, counts)) st = lf_cancel_fail(&f->err);
        }
    }
    LF_FREE(use), LF_FREE(pl.sum), LF_FREE(pl.num), LF_FREE(pl.py), LF_FREE(pl.pres), LF_FREE(pl.den), LF_FREE(pl.fb),
        LF_FREE(pl.fb_right), LF_FREE(pl.cand), LF_FREE(pl.cand_ll), LF_FREE(pl.part), LF_FREE(pl.logp);
    if (st != LF_OK) LF_FREE(counts);
    else f->state = counts;
    return st;
}

static lf_status ges_predict(const lf_fusion *f, const lf_probs *pr, float *out) {
    const ges_params *gp = f->def->params;
    lf_err own;
    return lf_rule_apply(gp->geometric ? LF_RULE_PRODUCT : LF_RULE_MEAN, (const float *const *)pr->p, pr->M,
                         pr->N, pr->C, f->state, out, pr->err ? pr->err : &own);
}

static lf_status ges_load(lf_fusion *f, const lf_st_file *sf, const char *arch, lf_err *e) {
    return lf_weights_load(f, sf, arch, 1, e);
}

/* the counts as weights summing to 1 */
static size_t ges_weights(const lf_fusion *f, float *out, size_t cap, size_t *rows, size_t *cols) {
    const float *c = f->state;
    if (out && cap >= f->M) {
        double s = 0;
        for (size_t k = 0; k < f->M; k++) s += c[k];
        for (size_t k = 0; k < f->M; k++) out[k] = (float)(c[k] / s);
    }
    if (rows) *rows = f->M;
    if (cols) *cols = 1;
    return f->M;
}

static void free_counts(void *state) { LF_FREE(state); }

static size_t per_model(size_t M, size_t C, size_t N) { return (void)C, (void)N, M; }

static const ges_params linear = {0}, geometric = {1};

static const lf_method_def ges = {
    .id = LF_FUSE_GES, .name = "ges", .family = LF_FAMILY_CLASSICAL,
    .summary = "greedy ensemble selection (Caruana 2004) over the linear pool",
    .fit = ges_fit, .predict = ges_predict, .save = lf_weights_save, .load = ges_load,
    .weights = ges_weights, .free_state = free_counts, .n_params = per_model, .params = &linear, .rule = -1};

static const lf_method_def ges_log = {
    .id = LF_FUSE_GES_LOG, .name = "ges-log", .family = LF_FAMILY_CLASSICAL,
    .summary = "greedy ensemble selection over the log-linear (geometric) pool",
    .fit = ges_fit, .predict = ges_predict, .save = lf_weights_save, .load = ges_load,
    .weights = ges_weights, .free_state = free_counts, .n_params = per_model, .params = &geometric,
    .rule = -1};

const lf_method_def *const lf_selection_methods[] = {&ges, &ges_log, NULL};
