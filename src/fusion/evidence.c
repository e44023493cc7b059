/*
 * evidence.c — evidence combination:
 *
 *   dempster-shafer  Rogova's (1994) combination over decision templates,
 *                    as Kuncheva, "Combining Pattern Classifiers" (2nd ed.,
 *                    §5.3) describes it.  DT_j^k: model k's mean output on
 *                    the fitting rows of class j (rules.c's decision
 *                    templates).  For a row, model k's output d_k:
 *                      proximity  Φ_jk = (1 + ||DT_j^k - d_k||²)^-1 /
 *                                        sum_t (1 + ||DT_t^k - d_k||²)^-1
 *                      belief     b_jk = Φ_jk prod_{t≠j} (1 - Φ_tk) /
 *                                        (1 - Φ_jk [1 - prod_{t≠j} (1 - Φ_tk)])
 *                      support    μ_j ∝ prod over the models present of b_jk
 *                    (Dempster's rule), normalised to sum 1; computed in
 *                    double, the product as a sum of logs.  No model
 *                    present: uniform.  State: the templates, C x (M C),
 *                    saved as "fusion.templates" (C, M*C).
 *
 *   bks              the behaviour-knowledge space (Huang & Suen 1995): each
 *                    fitting row's tuple of labels (the argmax of each
 *                    model, ties to the lower class; a missing model is the
 *                    value C, "missing", so rows with the same models
 *                    missing share cells) and the class counts n_c of each
 *                    tuple seen.  A row whose tuple was seen gets
 *                      out_c = (n_c + 0.5 m_c) / (n + 0.5)
 *                    with n = sum_c n_c and m the mean rule over the models
 *                    present: the most frequent class of the cell wins (a
 *                    count ahead outweighs the prior's half count), equal
 *                    counts are split by the mean rule, and a class the
 *                    models give some probability never gets 0, so the
 *                    log-loss stays finite.  An unseen tuple gets the mean
 *                    rule, and a row with no model present the uniform
 *                    distribution, as in every method (the cell of the
 *                    fitting rows with no model present, kept in the file,
 *                    is not used: its counts are the class prior of those
 *                    rows, not what the models say).  State: the U tuples seen, sorted, as
 *                    "fusion.tuples" (U, M) and their counts
 *                    "fusion.counts" (U, C); at most 2^24 fitting rows (the
 *                    counts are exact in float).  Loading checks the shapes
 *                    against the settings before allocating, then that the
 *                    tuples are strictly increasing, their values in 0..C
 *                    and the counts whole numbers with a positive sum.
 */
#include "fusion/method.h"
#include "fusion/rules.h"
#include "kernels.h"
#include "model_io.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ dempster-shafer */

static void free_floats(void *state) { LF_FREE(state); }

static lf_status ds_predict(const lf_fusion *f, const lf_probs *pr, float *out) {
    size_t M = pr->M, N = pr->N, C = pr->C, MC = M * C;
    const float *T = f->state;
    double *prox = lf_alloc_array(C, 2 * sizeof(double));
    lf_err own; /* the caller's message: predict writes nothing shared */
    if (!prox)
        return lf_fail(pr->err ? pr->err : &own, LF_ERR_NOMEM, "dempster-shafer: out of memory for %zu classes", C);
    double *logmu = prox + C;
    for (size_t i = 0; i < N; i++) {
        float *o = out + i * C;
        size_t np = 0;
        for (size_t c = 0; c < C; c++) logmu[c] = 0;
        for (size_t k = 0; k < M; k++) {
            const float *d = pr->p[k] + i * C;
            if (isnan(d[0])) continue;
            np++;
            double z = 0, all = 0; /* all: sum of log(1 - Φ_t) */
            for (size_t j = 0; j < C; j++) {
                const float *t = T + j * MC + k * C;
                double s = 0;
                for (size_t c = 0; c < C; c++) s += ((double)t[c] - d[c]) * ((double)t[c] - d[c]);
                z += prox[j] = 1.0 / (1.0 + s);
            }
            for (size_t j = 0; j < C; j++) {
                prox[j] /= z;
                all += log1p(-prox[j]);
            }
            for (size_t j = 0; j < C; j++) {
                double rest = exp(all - log1p(-prox[j])); /* prod_{t≠j} (1 - Φ_t) */
                logmu[j] += log(prox[j] * rest) - log(1.0 - prox[j] * (1.0 - rest));
            }
        }
        if (np == 0) {
            for (size_t c = 0; c < C; c++) o[c] = (float)(1.0 / (double)C);
            continue;
        }
        double mx = -INFINITY, s = 0;
        for (size_t c = 0; c < C; c++) mx = logmu[c] > mx ? logmu[c] : mx;
        for (size_t c = 0; c < C; c++) s += logmu[c] = exp(logmu[c] - mx);
        for (size_t c = 0; c < C; c++) o[c] = (float)(logmu[c] / s);
    }
    LF_FREE(prox);
    return LF_OK;
}

static size_t ds_n_params(size_t M, size_t C, size_t N) { return (void)N, C * M * C; }

static const lf_method_def dempster_shafer = {
    .id = LF_FUSE_DEMPSTER_SHAFER, .name = "dempster-shafer", .family = LF_FAMILY_CLASSICAL,
    .summary = "Dempster-Shafer combination over decision templates (Rogova)",
    .fit = lf_templates_fit, .predict = ds_predict, .save = lf_templates_save, .load = lf_templates_load,
    .free_state = free_floats, .n_params = ds_n_params, .rule = -1};

/* ----------------------------------------------------------------- bks */

typedef struct bks_state {
    size_t U;      /* tuples seen */
    float *tuples; /* U x M, sorted, strictly increasing */
    float *counts; /* U x C */
} bks_state;

static void bks_free(void *state) {
    bks_state *s = state;
    if (!s) return;
    LF_FREE(s->tuples), LF_FREE(s->counts), LF_FREE(s);
}

/* the tuple of row r: each model's class, C when missing */
static void tuple_of(const lf_probs *pr, size_t r, float *t) {
    for (size_t k = 0; k < pr->M; k++) {
        const float *p = pr->p[k] + r * pr->C;
        t[k] = isnan(p[0]) ? (float)pr->C : (float)lf_argmax_f(p, pr->C);
    }
}

static int tuple_cmp(const float *a, const float *b, size_t M) {
    for (size_t k = 0; k < M; k++)
        if (a[k] != b[k]) return a[k] < b[k] ? -1 : 1;
    return 0;
}

/* qsort has no context argument: the items carry their tuple's address */
typedef struct tuple_ref {
    const float *t;
    size_t M, r;
} tuple_ref;

static int ref_cmp(const void *a, const void *b) {
    const tuple_ref *x = a, *y = b;
    int c = tuple_cmp(x->t, y->t, x->M);
    return c ? c : (x->r > y->r) - (x->r < y->r);
}

static lf_status bks_fit(lf_fusion *f, const lf_probs *pr, const int *y, const lf_fusion_options *o) {
    (void)o;
    size_t M = pr->M, N = pr->N, C = pr->C;
    if (N >= (1u << 24))
        return lf_fail(&f->err, LF_ERR_ARG, "bks: %zu fitting rows, at most 16777215 (counts are kept in float)", N);
    float *all = lf_alloc_array(N, M * sizeof *all);
    tuple_ref *refs = lf_alloc_array(N, sizeof *refs);
    bks_state *s = LF_CALLOC(1, sizeof *s);
    lf_status st = LF_OK;
    if (!all || !refs || !s) {
        st = lf_fail(&f->err, LF_ERR_NOMEM, "out of memory for bks on %zu rows", N);
        goto done;
    }
    for (size_t r = 0; r < N; r++) {
        tuple_of(pr, r, all + r * M);
        refs[r] = (tuple_ref){all + r * M, M, r};
    }
    qsort(refs, N, sizeof *refs, ref_cmp);
    size_t U = 0;
    for (size_t i = 0; i < N; i++) U += i == 0 || tuple_cmp(refs[i].t, refs[i - 1].t, M) != 0;
    s->U = U;
    s->tuples = lf_alloc_array(U, M * sizeof(float));
    s->counts = LF_CALLOC(U, C * sizeof(float));
    if (!s->tuples || !s->counts) {
        st = lf_fail(&f->err, LF_ERR_NOMEM, "out of memory for bks on %zu rows", N);
        goto done;
    }
    for (size_t i = 0, u = 0; i < N; i++) {
        if (i > 0 && tuple_cmp(refs[i].t, refs[i - 1].t, M) != 0) u++;
        memcpy(s->tuples + u * M, refs[i].t, M * sizeof(float));
        s->counts[u * C + (size_t)y[refs[i].r]] += 1.0f;
    }
done:
    LF_FREE(all), LF_FREE(refs);
    if (st != LF_OK) bks_free(s);
    else f->state = s;
    return st;
}

static lf_status bks_predict(const lf_fusion *f, const lf_probs *pr, float *out) {
    const bks_state *s = f->state;
    size_t M = pr->M, N = pr->N, C = pr->C;
    lf_err own, *e = pr->err ? pr->err : &own; /* the caller's message: predict writes nothing shared */
    lf_status st = lf_rule_apply(LF_RULE_MEAN, (const float *const *)pr->p, M, N, C, NULL, out, e);
    if (st != LF_OK) return st;
    float *t = lf_alloc_array(M, sizeof *t);
    if (!t) return lf_fail(e, LF_ERR_NOMEM, "bks: out of memory for %zu models", M);
    for (size_t r = 0; r < N; r++) {
        tuple_of(pr, r, t);
        size_t np = 0;
        for (size_t k = 0; k < M; k++) np += t[k] != (float)C;
        if (np == 0) continue; /* no model present: uniform, as every method (not the cell's class counts) */
        size_t lo = 0, hi = s->U; /* binary search among the sorted tuples */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (tuple_cmp(s->tuples + mid * M, t, M) < 0) lo = mid + 1;
            else hi = mid;
        }
        if (lo == s->U || tuple_cmp(s->tuples + lo * M, t, M) != 0) continue; /* unseen: the mean rule */
        const float *n = s->counts + lo * C;
        float *o = out + r * C;
        double tot = 0;
        for (size_t c = 0; c < C; c++) tot += n[c];
        for (size_t c = 0; c < C; c++) o[c] = (float)(((double)n[c] + 0.5 * (double)o[c]) / (tot + 0.5));
    }
    LF_FREE(t);
    return LF_OK;
}

static void bks_save(const lf_fusion *f, lf_method_save *sv) {
    const bks_state *s = f->state;
    sv->tensors[sv->n_tensors++] = (lf_st_out){"fusion.tuples", s->tuples, 2, {s->U, f->M}};
    sv->tensors[sv->n_tensors++] = (lf_st_out){"fusion.counts", s->counts, 2, {s->U, f->C}};
}

static lf_status bks_load(lf_fusion *f, const lf_st_file *sf, const char *arch, lf_err *e) {
    size_t M = f->M, C = f->C;
    if (arch) return lf_fail(e, LF_ERR_FORMAT, "the bks method has no network, but the file holds an architecture");
    if (lf_st_count(sf) != 2)
        return lf_fail(e, LF_ERR_FORMAT, "the file holds %zu tensors, the bks method has 2", lf_st_count(sf));
    const lf_st_tensor *tt = lf_st_find(sf, "fusion.tuples"), *tc = lf_st_find(sf, "fusion.counts");
    if (!tt || !tc || tt->ndim != 2 || tc->ndim != 2 || tt->shape[1] != M || tc->shape[1] != C ||
        tt->shape[0] != tc->shape[0] || tt->shape[0] == 0 || tt->shape[0] >= (1u << 24))
        return lf_fail(e, LF_ERR_FORMAT,
                       "bks needs tensors 'fusion.tuples' (U, %zu) and 'fusion.counts' (U, %zu), U in 1..16777215", M, C);
    size_t U = tt->shape[0];
    bks_state *s = LF_CALLOC(1, sizeof *s);
    if (!s) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    f->state = s;
    s->U = U;
    s->tuples = lf_alloc_array(U, M * sizeof(float));
    s->counts = lf_alloc_array(U, C * sizeof(float));
    if (!s->tuples || !s->counts) return lf_fail(e, LF_ERR_NOMEM, "out of memory for %zu tuples", U);
    lf_status st = lf_load_tensor(sf, "fusion.tuples", s->tuples, 2, (size_t[]){U, M}, e);
    if (st == LF_OK) st = lf_load_tensor(sf, "fusion.counts", s->counts, 2, (size_t[]){U, C}, e);
    if (st != LF_OK) return st;
    for (size_t u = 0; u < U; u++) {
        const float *t = s->tuples + u * M, *n = s->counts + u * C;
        for (size_t k = 0; k < M; k++)
            if (!(t[k] >= 0 && t[k] <= (float)C && t[k] == floorf(t[k])))
                return lf_fail(e, LF_ERR_FORMAT, "tensor 'fusion.tuples' of bks must hold classes 0..%zu (%zu: missing)", C, C);
        if (u > 0 && tuple_cmp(t - M, t, M) >= 0)
            return lf_fail(e, LF_ERR_FORMAT, "tensor 'fusion.tuples' of bks must be sorted, each tuple once");
        double tot = 0;
        for (size_t c = 0; c < C; c++) {
            if (!(n[c] >= 0 && n[c] < 16777216.0f && n[c] == floorf(n[c])))
                return lf_fail(e, LF_ERR_FORMAT, "tensor 'fusion.counts' of bks must hold whole numbers >= 0");
            tot += n[c];
        }
        if (!(tot > 0)) return lf_fail(e, LF_ERR_FORMAT, "tensor 'fusion.counts' of bks has a tuple with no rows");
    }
    return LF_OK;
}

/* at most one tuple (M labels) and its C counts per fitting row */
static size_t bks_n_params(size_t M, size_t C, size_t N) { return N * (M + C); }

static const lf_method_def bks = {
    .id = LF_FUSE_BKS, .name = "bks", .family = LF_FAMILY_CLASSICAL,
    .summary = "behaviour-knowledge space: class counts per tuple of labels, else mean",
    .fit = bks_fit, .predict = bks_predict, .save = bks_save, .load = bks_load,
    .free_state = bks_free, .n_params = bks_n_params, .rule = -1};

const lf_method_def *const lf_evidence_methods[] = {&dempster_shafer, &bks, NULL};
