/*
 * dynamic.c — dynamic selection: for each row, the models that were
 * competent on its region of competence, the k nearest fitting rows
 * (k = opt->k, 7 by default, at most the number of fitting rows):
 *
 *   knora-e  k-nearest oracles eliminate (Ko, Sabourin & Britto 2008): the
 *            models right on all k neighbours; when none is, the region
 *            shrinks (the farthest neighbour dropped) until some model is
 *            right on all that remain, i.e. the models with the longest run
 *            of right answers from the nearest neighbour on.  Fused: the
 *            mean of the selected models.
 *   knora-u  k-nearest oracles union: every model right on at least one
 *            neighbour, weighted by the number of neighbours it gets right
 *            (DESlib's votes): sum_k n_k p_k / sum_k n_k.
 *   ola      overall local accuracy (Woods, Kegelmeyer & Bowyer 1997): the
 *            model with the most neighbours right; its row is the output.
 *            Models that tie are all selected and their rows averaged
 *            (DESlib's selection_method "all"), so that the output does
 *            not depend on the order the models are given in: with the
 *            lower index taking a tie, a region where every model is right
 *            went to the first model, however weak elsewhere.
 *   lca      local class accuracy (Woods et al. 1997): for a model that
 *            predicts class l for the row, the share of the neighbours it
 *            assigns to l whose label is l (0 when it assigns none to l);
 *            the best model's row is the output (ties: as ola's, averaged).
 *            This is Woods' definition; DESlib's code takes instead the
 *            share of the neighbours labelled l that the model gets right.
 *
 * A model missing in the row cannot be selected.  A model missing in a
 * neighbour counts as wrong on it.  When no present model is competent
 * (every count 0), the output is the mean of the models present; no model
 * present gives the uniform distribution.
 *
 * The space of the neighbours (KNOP-style, Cavalin et al.): a row is the
 * concatenation of the M models' probability vectors (zeros for a missing
 * model) followed by M presence indicators (1 present, 0 missing), D = M C
 * + M values; squared Euclidean distance over the models present in the
 * query: their C values and presence indicators (a fitting row missing
 * one of them is far by its ||q_k||^2 + 1).  A model missing in the query
 * is left out of its distance: its zeros would add each fitting row's
 * ||x_k||^2 and draw the query to the rows where that model was least
 * sure, the hard ones (on the mfeat example with 30 % of the outputs of
 * fitting and test rows missing at random, knora-e's error was 3.44 %
 * that way against 2.66 % over the present models, ola's 3.11 against
 * 2.55).  The queries are grouped by the models present in them; a group
 * with some missing is searched with an index of the fitting rows'
 * projection onto its models' columns, built for the call (des_space).
 * Or, given features
 * (lf_fusion_options.features: F values per row, e.g. the samples' inputs,
 * from another file), the space of the features standardised by the
 * fitting rows (per value: minus their mean, over their std in double,
 * both rounded to float and stored; a constant value gets std 1), the
 * same formula for the fitting rows and the queries so that a fitting row
 * given again is found at distance 0.  The search is exact (knn.c): the key is
 * the squared distance in double (knn.h), equal keys to the lower
 * fitting row, so the neighbours are those of a plain scan; an 8-bit copy
 * of the fitting rows (AVX-512 VNNI where the CPU has it; for features,
 * over the range of the standardised fitting rows) bounds each
 * distance and only the rows that can still be among the k nearest get
 * their exact key.  Blocks of 1024 query rows go to the threads (OpenMP),
 * each row's result independent of the thread
 * count.  Fitted on the same rows, the four methods hold the same fitting
 * rows: lf_des_predict_shared serves several from one search (compare and
 * auto cross-validate them together).
 *
 * Weights (lf_fusion_weights): each model's mean share of the fused output
 * over up to 2048 fitting rows (evenly spaced), each with itself left out
 * of its neighbours; computed at fit and saved.
 *
 * File: "fusion.rows" (n, D) the fitting rows as above, "fusion.labels"
 * (n) their labels, "fusion.k" (1) and "fusion.weights" (M); with
 * features also "fusion.features" (n, F) the standardised features of the
 * fitting rows and "fusion.feature_scale" (2, F) their mean and std.
 * Every shape is checked against the settings before anything is
 * allocated, then every value (classes, indicators, probabilities, k,
 * shares, finite features, std > 0).
 */
#include "fusion/ensemble.h"
#include "fusion/knn.h"
#include "fusion/method.h"
#include "kernels.h"
#include "model_io.h"

#include <math.h>
#include <string.h>

#define QB 1024        /* query rows per block (the search streams the fitting rows once per block) */
#define K_DEFAULT 7
#define K_MAX 1000
#define WEIGHT_ROWS 2048 /* fitting rows that the weights are measured on */
#define F_MAX 65536      /* feature width at most (as lf_fusion_options) */

typedef enum des_kind { KNORA_E, KNORA_U, OLA, LCA } des_kind;

typedef struct des_params {
    des_kind kind;
} des_params;

typedef struct des_state {
    size_t n, D, k;  /* fitting rows, their width M C + M, neighbours */
    float *rows;     /* n x D (saved) */
    float *labels_f; /* n labels (saved as floats) */
    float *weights;  /* M shares (saved) */
    float k_f;       /* k (saved) */
    size_t F;        /* feature width; 0: the search is over rows */
    float *feat;     /* n x F standardised features (saved), or NULL */
    float *scale;    /* 2 x F: the features' mean, then std (saved), or NULL */
    lf_knn knn;      /* the neighbour search over rows, or over feat */
    int *labels;     /* n */
    int *pred;       /* n x M: each model's class on the row, -1 missing */
} des_state;

static void des_free(void *state) {
    des_state *s = state;
    if (!s) return;
    lf_knn_free(&s->knn);
    LF_FREE(s->rows), LF_FREE(s->labels_f), LF_FREE(s->weights), LF_FREE(s->labels), LF_FREE(s->pred);
    LF_FREE(s->feat), LF_FREE(s->scale);
    LF_FREE(s);
}

/* A row of the neighbour space from row r of prepared probabilities. */
static void profile(const lf_probs *pr, size_t r, float *x) {
    size_t M = pr->M, C = pr->C;
    for (size_t k = 0; k < M; k++) {
        const float *p = pr->p[k] + r * C;
        int present = !isnan(p[0]);
        for (size_t c = 0; c < C; c++) x[k * C + c] = present ? p[c] : 0.0f;
        x[M * C + k] = present ? 1.0f : 0.0f;
    }
}

/* the width of the rows searched: the features, or the profiles */
static size_t search_width(const des_state *s) { return s->F ? s->F : s->D; }

/* a row x of F raw features standardised with scale (mean, then std) */
static void standardise(const float *x, const float *scale, size_t F, float *z) {
    for (size_t d = 0; d < F; d++) z[d] = (float)(((double)x[d] - (double)scale[d]) / (double)scale[F + d]);
}

/* each model's class on a profile (-1 missing) */
static void classes_of(const float *x, size_t M, size_t C, int *out) {
    for (size_t k = 0; k < M; k++) out[k] = x[M * C + k] != 0.0f ? (int)lf_argmax_f(x + k * C, C) : -1;
}

/* the search index, integer labels and classes from rows and labels_f */
static lf_status derive(des_state *s, size_t M, size_t C, lf_err *e) {
    s->labels = lf_alloc_array(s->n, sizeof *s->labels);
    s->pred = lf_alloc_array(s->n, M * sizeof *s->pred);
    lf_status st = LF_ERR_NOMEM;
    if (s->labels && s->pred && !s->F) {
        st = lf_knn_build(&s->knn, s->rows, s->n, s->D, s->D);
    } else if (s->labels && s->pred) { /* the filter spans the standardised features' range */
        float lo = s->feat[0], hi = s->feat[0];
        for (size_t i = 1; i < s->n * s->F; i++) {
            if (s->feat[i] < lo) lo = s->feat[i];
            if (s->feat[i] > hi) hi = s->feat[i];
        }
        st = lf_knn_build_range(&s->knn, s->feat, s->n, s->F, s->F, (double)lo, (double)hi);
    }
    if (st != LF_OK) return lf_fail(e, LF_ERR_NOMEM, "out of memory for %zu fitting rows", s->n);
    for (size_t j = 0; j < s->n; j++) {
        const float *x = s->rows + j * s->D;
        s->labels[j] = (int)s->labels_f[j];
        classes_of(x, M, C, s->pred + j * M);
    }
    return LF_OK;
}

/* The selection weights w (M, not normalised; all 0 when no model is
 * present) of one row with classes qp (-1 missing) and neighbours nb (K). */
static void select_row(const des_state *s, des_kind kind, size_t M, const int *qp, const size_t *nb, size_t K,
                       double *w) {
    double best = 0;
    for (size_t k = 0; k < M; k++) {
        w[k] = 0;
        if (qp[k] < 0) continue;
        double comp = 0;
        if (kind == KNORA_E) {
            size_t run = 0;
            while (run < K && s->pred[nb[run] * M + k] == s->labels[nb[run]]) run++;
            comp = (double)run;
        } else if (kind == LCA) {
            size_t num = 0, den = 0;
            for (size_t j = 0; j < K; j++)
                if (s->pred[nb[j] * M + k] == qp[k]) den++, num += s->labels[nb[j]] == qp[k];
            comp = den ? (double)num / (double)den : 0.0;
        } else {
            for (size_t j = 0; j < K; j++) comp += s->pred[nb[j] * M + k] == s->labels[nb[j]];
        }
        w[k] = comp;
        if (comp > best) best = comp;
    }
    for (size_t k = 0; k < M; k++) {
        if (qp[k] < 0) continue;
        if (best == 0) w[k] = 1; /* nobody competent: the mean of those present */
        else if (kind != KNORA_U) w[k] = w[k] == best; /* the best, ties all of them */
    }
}

/* The space a group of queries is searched in.  A query with every model
 * present (or any query, in the feature space) is searched over the whole
 * rows with the state's index; a query with models missing over the
 * columns of the models present in it (their C values and presence flags),
 * with an index of that projection of the fitting rows built for its
 * group: a missing model's zeros would otherwise add the fitting row's
 * ||x_k||^2 to its distance and draw the query to the rows where model k
 * was least sure, the hard ones. */
typedef struct des_space {
    const lf_knn *knn; /* the index searched */
    size_t width;      /* its rows' width */
    size_t *cols;      /* the profile columns it keeps (width of them), NULL: the rows as they are */
    float *rows;       /* n x width: the fitting rows' projection (owned), or NULL */
    lf_knn own;        /* the projection's index */
} des_space;

static void space_free(des_space *sp) {
    if (sp->rows) lf_knn_free(&sp->own);
    LF_FREE(sp->cols), LF_FREE(sp->rows);
}

/* the space of the queries with present models pat (M flags, some 0, some 1) */
static lf_status space_build(const des_state *s, size_t M, size_t C, const unsigned char *pat, des_space *sp) {
    size_t np = 0, w = 0;
    for (size_t k = 0; k < M; k++) np += pat[k];
    *sp = (des_space){.width = np * (C + 1)};
    sp->cols = lf_alloc_array(sp->width, sizeof *sp->cols);
    sp->rows = lf_alloc_array(s->n, sp->width * sizeof *sp->rows);
    if (!sp->cols || !sp->rows) {
        LF_FREE(sp->cols), LF_FREE(sp->rows);
        return LF_ERR_NOMEM;
    }
    for (size_t k = 0; k < M; k++) {
        if (!pat[k]) continue;
        for (size_t c = 0; c < C; c++) sp->cols[w++] = k * C + c;
        sp->cols[w++] = M * C + k;
    }
    for (size_t j = 0; j < s->n; j++)
        for (size_t i = 0; i < sp->width; i++) sp->rows[j * sp->width + i] = s->rows[j * s->D + sp->cols[i]];
    if (lf_knn_build(&sp->own, sp->rows, s->n, sp->width, sp->width) != LF_OK) {
        LF_FREE(sp->cols), LF_FREE(sp->rows);
        return LF_ERR_NOMEM;
    }
    sp->knn = &sp->own;
    return LF_OK;
}

/* The queries grouped by the models present in them: order holds the
 * queries 0..n-1 sorted by pattern (then by position), group g is
 * order[start[g] .. start[g + 1]); pat holds each query's M flags. */
typedef struct des_groups {
    size_t *order, *start, ng;
    unsigned char *pat;
} des_groups;

/* qsort has no context argument: the items carry their pattern's address */
typedef struct pat_ref {
    const unsigned char *p;
    size_t M, q;
} pat_ref;

static int pat_cmp(const void *a, const void *b) {
    const pat_ref *x = a, *y = b;
    int c = memcmp(y->p, x->p, x->M); /* every model present first */
    return c ? c : (x->q > y->q) - (x->q < y->q);
}

static void groups_free(des_groups *g) { LF_FREE(g->order), LF_FREE(g->start), LF_FREE(g->pat); }

/* Groups n queries whose patterns are in g->pat already. */
static lf_status groups_build(des_groups *g, size_t n, size_t M) {
    g->order = lf_alloc_array(n ? n : 1, sizeof *g->order);
    g->start = lf_alloc_array(n + 1, sizeof *g->start);
    if (!g->order || !g->start) return LF_ERR_NOMEM;
    int same = 1; /* the usual case, one pattern: the rows in order, no sort */
    for (size_t q = 1; same && q < n; q++) same = memcmp(g->pat + q * M, g->pat, M) == 0;
    if (same) {
        for (size_t q = 0; q < n; q++) g->order[q] = q;
        g->ng = n > 0, g->start[0] = 0, g->start[g->ng] = n;
        return LF_OK;
    }
    pat_ref *refs = lf_alloc_array(n, sizeof *refs);
    if (!refs) return LF_ERR_NOMEM;
    for (size_t q = 0; q < n; q++) refs[q] = (pat_ref){g->pat + q * M, M, q};
    qsort(refs, n, sizeof *refs, pat_cmp);
    g->ng = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || memcmp(refs[i].p, refs[i - 1].p, M) != 0) g->start[g->ng++] = i;
        g->order[i] = refs[i].q;
    }
    g->start[g->ng] = n;
    LF_FREE(refs);
    return LF_OK;
}

typedef struct scratch {
    size_t *bi;    /* QB x k: the neighbours */
    size_t *cnt;   /* QB */
    float *x;      /* QB x width: the queries in the space searched */
    float *full;   /* D: a query's whole profile */
    int *qp;       /* QB x M: the queries' classes */
    double *w;     /* QB x M: selection weights */
    size_t *excl;  /* QB: the fitting row each query leaves out (the weights' queries) */
    lf_knn_work kw;
} scratch;

static void scratch_free(scratch *sc) {
    LF_FREE(sc->bi), LF_FREE(sc->cnt), LF_FREE(sc->x), LF_FREE(sc->full), LF_FREE(sc->qp), LF_FREE(sc->w),
        LF_FREE(sc->excl);
    lf_knn_work_free(&sc->kw);
}

static int scratch_alloc(scratch *sc, const des_state *s, const des_space *sp, size_t M) {
    size_t k = s->k ? s->k : 1;
    sc->bi = lf_alloc_array(QB, k * sizeof(size_t));
    sc->cnt = lf_alloc_array(QB, sizeof(size_t));
    sc->x = lf_alloc_array(QB, (sp->width ? sp->width : 1) * sizeof(float));
    sc->full = lf_alloc_array(s->D, sizeof(float));
    sc->qp = lf_alloc_array(QB, M * sizeof(int));
    sc->w = lf_alloc_array(QB, M * sizeof(double));
    sc->excl = lf_alloc_array(QB, sizeof(size_t));
    return sc->bi && sc->cnt && sc->x && sc->full && sc->qp && sc->w && sc->excl &&
           lf_knn_work_alloc(&sc->kw, sp->knn, QB, k);
}

/* Query q of a block into the space: row r of pr (predict), or, pr NULL,
 * fitting row r (the weights).  Its classes into qp. */
static void put_query(const des_state *s, const des_space *sp, const lf_probs *pr, size_t r, size_t M, size_t C,
                      float *x, int *qp, float *full) {
    if (s->F) {
        for (size_t k = 0; k < M; k++) {
            const float *p = pr ? pr->p[k] + r * C : NULL;
            qp[k] = pr ? (isnan(p[0]) ? -1 : (int)lf_argmax_f(p, C)) : s->pred[r * M + k];
        }
        if (pr) standardise(pr->feat + r * s->F, s->scale, s->F, x);
        else memcpy(x, s->feat + r * s->F, s->F * sizeof *x);
        return;
    }
    float *dst = sp->cols ? full : x; /* a query's whole profile, made here */
    const float *prof = pr ? dst : s->rows + r * s->D;
    if (pr) profile(pr, r, dst);
    classes_of(prof, M, C, qp);
    if (!sp->cols) {
        if (prof != x) memcpy(x, prof, s->D * sizeof *x);
    } else {
        for (size_t i = 0; i < sp->width; i++) x[i] = prof[sp->cols[i]];
    }
}

/* The selection weights (sc->w) of the nq queries in sc->x and sc->qp,
 * searched in sp; excl: whether each leaves out the fitting row sc->excl[q]
 * (then K = k, at most n - 1). */
static void block_weights(const des_state *s, const des_space *sp, des_kind kind, size_t M, size_t nq, int excl,
                          scratch *sc) {
    size_t K = excl ? (s->k < s->n ? s->k : s->n - 1) : s->k;
    lf_knn_search(sp->knn, sc->x, nq, K, excl ? sc->excl : NULL, sc->bi, sc->cnt, &sc->kw, LF_KNN_BEST);
    for (size_t q = 0; q < nq; q++) select_row(s, kind, M, sc->qp + q * M, sc->bi + q * K, sc->cnt[q], sc->w + q * M);
}

/* The queries' groups.  pr: predict's rows (features: one group); pr NULL:
 * the fitting rows rows[0..n). */
static lf_status group_queries(const des_state *s, const lf_probs *pr, const size_t *rows, size_t n, size_t M,
                               size_t C, des_groups *g) {
    *g = (des_groups){0};
    g->pat = lf_alloc_array(n ? n : 1, M);
    if (!g->pat) return LF_ERR_NOMEM;
    for (size_t q = 0; q < n; q++)
        for (size_t k = 0; k < M; k++)
            g->pat[q * M + k] = s->F ? 1
                                : pr ? !isnan(pr->p[k][q * C])
                                     : s->rows[rows[q] * s->D + M * C + k] != 0.0f;
    lf_status st = groups_build(g, n, M);
    if (st != LF_OK) groups_free(g);
    return st;
}

/* The space of group gi, built when it has models missing (one group at a
 * time: a projection holds n x width floats); sp->knn NULL when no model
 * is present (no search). */
static lf_status group_space(const des_state *s, const des_groups *g, size_t gi, size_t M, size_t C, des_space *sp) {
    const unsigned char *pat = g->pat + g->order[g->start[gi]] * M;
    size_t np = 0;
    for (size_t k = 0; k < M; k++) np += pat[k];
    *sp = (des_space){0};
    if (np == M) *sp = (des_space){.knn = &s->knn, .width = search_width(s)};
    else if (np) return space_build(s, M, C, pat, sp);
    return LF_OK;
}

/* The outputs of the nk selection rules kinds[i] into outs[i] from one
 * neighbour search per block of rows of a group (each output the bits of
 * its rule's predict alone).  excl0 < SIZE_MAX: the rows are the fitting
 * rows from excl0 on, row r left out of its own neighbours (K = k, at most
 * n - 1), as the weights are measured. */
/* cancel: read before each block of QB queries (NULL: none); a set flag
 * skips the blocks left and returns LF_ERR_CANCELLED, the outputs then
 * partly written */
static lf_status des_predict_kinds(const des_state *s, const des_kind *kinds, size_t nk, const lf_probs *pr,
                                   size_t excl0, float *const *outs, const volatile int *cancel) {
    size_t N = pr->N, M = pr->M, C = pr->C;
    if (s->F && (!pr->feat || pr->F != s->F)) return LF_ERR_ARG; /* lf_fusion_predict_features says why */
    int excl = excl0 != SIZE_MAX;
    size_t K = excl ? (s->k < s->n ? s->k : s->n - 1) : s->k;
    des_groups g;
    if (group_queries(s, pr, NULL, N, M, C, &g) != LF_OK) return LF_ERR_NOMEM;
    int failed = 0, stopped = 0;
    for (size_t gi = 0; gi < g.ng && !failed && !stopped; gi++) {
        des_space space, *sp = &space;
        if (group_space(s, &g, gi, M, C, sp) != LF_OK) {
            failed = 1;
            break;
        }
        const size_t *rows = g.order + g.start[gi];
        size_t ng = g.start[gi + 1] - g.start[gi];
        if (!sp->knn) { /* no model present: uniform */
            for (size_t i = 0; i < nk; i++)
                for (size_t q = 0; q < ng; q++)
                    for (size_t c = 0; c < C; c++) outs[i][rows[q] * C + c] = (float)(1.0 / (double)C);
            continue;
        }
        long long blocks = (long long)((ng + QB - 1) / QB);
#pragma omp parallel if (ng > QB && (double)ng * (double)s->n >= 1e6)
        {
            scratch sc = {0};
            int ok = scratch_alloc(&sc, s, sp, M);
#pragma omp for schedule(dynamic, 1)
            for (long long b = 0; b < blocks; b++) {
                if (!ok) {
#pragma omp atomic write
                    failed = 1;
                    continue;
                }
                if (lf_cancelled(cancel)) {
#pragma omp atomic write
                    stopped = 1;
                    continue;
                }
                size_t q0 = (size_t)b * QB, nq = ng - q0 < QB ? ng - q0 : QB;
                for (size_t q = 0; q < nq; q++) {
                    put_query(s, sp, pr, rows[q0 + q], M, C, sc.x + q * sp->width, sc.qp + q * M, sc.full);
                    sc.excl[q] = excl0 + rows[q0 + q];
                }
                lf_knn_search(sp->knn, sc.x, nq, K, excl ? sc.excl : NULL, sc.bi, sc.cnt, &sc.kw, LF_KNN_BEST);
                for (size_t i = 0; i < nk; i++)
                    for (size_t q = 0; q < nq; q++) {
                        size_t r = rows[q0 + q];
                        double *w = sc.w + q * M;
                        select_row(s, kinds[i], M, sc.qp + q * M, sc.bi + q * K, sc.cnt[q], w);
                        float *o = outs[i] + r * C;
                        double W = 0;
                        for (size_t k = 0; k < M; k++) W += w[k];
                        if (W == 0) {
                            for (size_t c = 0; c < C; c++) o[c] = (float)(1.0 / (double)C);
                            continue;
                        }
                        for (size_t c = 0; c < C; c++) {
                            double a = 0;
                            for (size_t k = 0; k < M; k++)
                                if (w[k] != 0) a += w[k] * (double)pr->p[k][r * C + c];
                            o[c] = (float)(a / W);
                        }
                    }
            }
            scratch_free(&sc);
        }
        space_free(sp);
    }
    groups_free(&g);
    return failed ? LF_ERR_NOMEM : stopped ? LF_ERR_CANCELLED : LF_OK;
}

static lf_status des_predict(const lf_fusion *f, const lf_probs *pr, float *out) {
    des_kind kind = ((const des_params *)f->def->params)->kind;
    return des_predict_kinds(f->state, &kind, 1, pr, SIZE_MAX, &out, pr->cancel);
}

static lf_status des_predict_fitting(const lf_fusion *f, const lf_probs *pr, size_t r0, float *out) {
    const des_state *s = f->state;
    if (r0 > s->n || pr->N > s->n - r0) return des_predict(f, pr, out); /* not the fitting rows */
    des_kind kind = ((const des_params *)f->def->params)->kind;
    return des_predict_kinds(s, &kind, 1, pr, r0, &out, pr->cancel);
}
int lf_des_predict_shared(const lf_fusion *const *fs, size_t n, const lf_probs *pr, float *const *outs,
                          lf_status *st) {
    des_kind kinds[4];
    if (n == 0 || n > 4) return 0;
    const des_state *s0 = fs[0]->state;
    for (size_t i = 0; i < n; i++) {
        const des_state *s = fs[i]->state;
        if (fs[i]->def->predict != des_predict || !s || s->n != s0->n || s->D != s0->D || s->k != s0->k ||
            s->F != s0->F ||
            (s != s0 && s->F && (memcmp(s->feat, s0->feat, s->n * s->F * sizeof *s->feat) != 0 ||
                                 memcmp(s->scale, s0->scale, 2 * s->F * sizeof *s->scale) != 0)) ||
            fs[i]->M != fs[0]->M || fs[i]->C != fs[0]->C ||
            memcmp(fs[i]->temps, fs[0]->temps, fs[0]->M * sizeof *fs[0]->temps) != 0 ||
            (s != s0 && (memcmp(s->rows, s0->rows, s->n * s->D * sizeof *s->rows) != 0 ||
                         memcmp(s->labels, s0->labels, s->n * sizeof *s->labels) != 0)))
            return 0;
        kinds[i] = ((const des_params *)fs[i]->def->params)->kind;
    }
    *st = des_predict_kinds(s0, kinds, n, pr, SIZE_MAX, outs, pr->cancel);
    return 1;
}

/* each model's mean share of the fused output over up to WEIGHT_ROWS
 * fitting rows, each left out of its own neighbours and searched as a
 * query with its models (des_space) */
static lf_status measure_weights(des_state *s, des_kind kind, size_t M, size_t C, const volatile int *cancel,
                                 lf_err *e) {
    size_t n_eval = s->n < WEIGHT_ROWS ? s->n : WEIGHT_ROWS;
    double *share = LF_CALLOC(M, sizeof *share);
    size_t *idx = lf_alloc_array(n_eval, sizeof *idx);
    des_groups g = {0};
    if (!share || !idx) {
        LF_FREE(share), LF_FREE(idx);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    }
    for (size_t q = 0; q < n_eval; q++) idx[q] = (size_t)(((unsigned long long)q * s->n) / n_eval);
    if (group_queries(s, NULL, idx, n_eval, M, C, &g) != LF_OK) {
        LF_FREE(share), LF_FREE(idx);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    }
    size_t rows_counted = 0;
    int failed = 0, stopped = 0;
    for (size_t gi = 0; gi < g.ng && !failed && !stopped; gi++) {
        des_space space, *sp = &space;
        if (group_space(s, &g, gi, M, C, sp) != LF_OK) {
            failed = 1;
            break;
        }
        const size_t *qs = g.order + g.start[gi];
        size_t ng = g.start[gi + 1] - g.start[gi];
        if (!sp->knn) continue; /* no model present: no share */
        long long blocks = (long long)((ng + QB - 1) / QB);
#pragma omp parallel if ((double)ng * (double)s->n >= 1e6)
        {
            scratch sc = {0};
            int ok = scratch_alloc(&sc, s, sp, M);
            size_t counted = 0;
            double *mine = LF_CALLOC(M, sizeof *mine);
#pragma omp for schedule(dynamic, 1)
            for (long long b = 0; b < blocks; b++) {
                if (!ok || !mine) {
#pragma omp atomic write
                    failed = 1;
                    continue;
                }
                if (lf_cancelled(cancel)) { /* each block searches every fitting row */
#pragma omp atomic write
                    stopped = 1;
                    continue;
                }
                size_t q0 = (size_t)b * QB, nq = ng - q0 < QB ? ng - q0 : QB;
                for (size_t q = 0; q < nq; q++) {
                    sc.excl[q] = idx[qs[q0 + q]];
                    put_query(s, sp, NULL, sc.excl[q], M, C, sc.x + q * sp->width, sc.qp + q * M, sc.full);
                }
                block_weights(s, sp, kind, M, nq, 1, &sc);
                for (size_t q = 0; q < nq; q++) {
                    const double *w = sc.w + q * M;
                    double W = 0;
                    for (size_t k = 0; k < M; k++) W += w[k];
                    if (W == 0) continue;
                    for (size_t k = 0; k < M; k++) mine[k] += w[k] / W;
                    counted++;
                }
            }
#pragma omp critical
            {
                for (size_t k = 0; mine && k < M; k++) share[k] += mine[k];
                rows_counted += counted;
            }
            LF_FREE(mine);
            scratch_free(&sc);
        }
        space_free(sp);
    }
    groups_free(&g);
    for (size_t k = 0; k < M; k++)
        s->weights[k] = rows_counted ? (float)(share[k] / (double)rows_counted) : (float)(1.0 / (double)M);
    LF_FREE(share), LF_FREE(idx);
    return failed ? lf_fail(e, LF_ERR_NOMEM, "out of memory") : stopped ? lf_cancel_fail(e) : LF_OK;
}

/* the features of the fitting rows standardised by their own mean and std
 * (rounded to float; a std that rounds to 0 becomes 1) */
static lf_status fit_features(des_state *s, const lf_probs *pr, lf_err *e) {
    size_t n = s->n, F = pr->F, nf;
    if (!lf_mul_ok(n, F, &nf) || nf > SIZE_MAX / sizeof(float))
        return lf_fail(e, LF_ERR_ARG, "%zu fitting rows of %zu features are too many", n, F);
    s->F = F;
    s->feat = lf_alloc_array(n, F * sizeof(float));
    s->scale = lf_alloc_array(2, F * sizeof(float));
    if (!s->feat || !s->scale) return lf_fail(e, LF_ERR_NOMEM, "out of memory for %zu rows of %zu features", n, F);
    for (size_t d = 0; d < F; d++) {
        double sum = 0, ss = 0;
        for (size_t r = 0; r < n; r++) sum += (double)pr->feat[r * F + d];
        double mean = sum / (double)n;
        for (size_t r = 0; r < n; r++) {
            double t = (double)pr->feat[r * F + d] - mean;
            ss += t * t;
        }
        float sd = (float)sqrt(ss / (double)n);
        s->scale[d] = (float)mean;
        s->scale[F + d] = sd > 0 && isfinite(sd) ? sd : 1.0f;
    }
    for (size_t r = 0; r < n; r++) standardise(pr->feat + r * F, s->scale, F, s->feat + r * F);
    return LF_OK;
}

static lf_status des_fit(lf_fusion *f, const lf_probs *pr, const int *y, const lf_fusion_options *o) {
    size_t M = pr->M, N = pr->N, C = pr->C, D = M * C + M, nd;
    size_t k = o->k ? o->k : K_DEFAULT;
    if (k > K_MAX)
        return lf_fail(&f->err, LF_ERR_ARG, "%s: k = %zu neighbours, at most %d", f->def->name, k, K_MAX);
    if (!lf_mul_ok(N, D, &nd) || nd > SIZE_MAX / sizeof(float) || N >= (1u << 24))
        return lf_fail(&f->err, LF_ERR_ARG, "%s: %zu fitting rows of %zu values are too many", f->def->name, N, D);
    des_state *s = LF_CALLOC(1, sizeof *s);
    if (!s) return lf_fail(&f->err, LF_ERR_NOMEM, "out of memory");
    f->state = s;
    s->n = N, s->D = D, s->k = k < N ? k : N, s->k_f = (float)s->k;
    s->rows = lf_alloc_array(N, D * sizeof(float));
    s->labels_f = lf_alloc_array(N, sizeof(float));
    s->weights = lf_alloc_array(M, sizeof(float));
    if (!s->rows || !s->labels_f || !s->weights)
        return lf_fail(&f->err, LF_ERR_NOMEM, "out of memory for %s on %zu rows", f->def->name, N);
    for (size_t r = 0; r < N; r++) {
        profile(pr, r, s->rows + r * D);
        s->labels_f[r] = (float)y[r];
    }
    lf_status st = pr->feat ? fit_features(s, pr, &f->err) : LF_OK;
    f->n_features = s->F;
    if (st == LF_OK) st = derive(s, M, C, &f->err);
    /* over MPI ranks the flag is read only where they agree on it (fusion.c): not here */
    if (st == LF_OK)
        st = measure_weights(s, ((const des_params *)f->def->params)->kind, M, C, o->mpi_comm ? NULL : o->cancel,
                             &f->err);
    return st;
}

static void des_save(const lf_fusion *f, lf_method_save *sv) {
    const des_state *s = f->state;
    sv->tensors[sv->n_tensors++] = (lf_st_out){"fusion.rows", s->rows, 2, {s->n, s->D}};
    sv->tensors[sv->n_tensors++] = (lf_st_out){"fusion.labels", s->labels_f, 1, {s->n}};
    sv->tensors[sv->n_tensors++] = (lf_st_out){"fusion.k", &s->k_f, 1, {1}};
    sv->tensors[sv->n_tensors++] = (lf_st_out){"fusion.weights", s->weights, 1, {f->M}};
    if (s->F) {
        sv->tensors[sv->n_tensors++] = (lf_st_out){"fusion.features", s->feat, 2, {s->n, s->F}};
        sv->tensors[sv->n_tensors++] = (lf_st_out){"fusion.feature_scale", s->scale, 2, {2, s->F}};
    }
}

static lf_status des_load(lf_fusion *f, const lf_st_file *sf, const char *arch, lf_err *e) {
    const char *name = f->def->name;
    size_t M = f->M, C = f->C, D = M * C + M;
    if (arch) return lf_fail(e, LF_ERR_FORMAT, "the %s method has no network, but the file holds an architecture", name);
    size_t nt = lf_st_count(sf);
    if (nt != 4 && nt != 6)
        return lf_fail(e, LF_ERR_FORMAT, "the file holds %zu tensors, the %s method has 4 (6 with features)", nt, name);
    const lf_st_tensor *t = lf_st_find(sf, "fusion.rows");
    if (!t || t->ndim != 2 || t->shape[1] != D || t->shape[0] == 0 || t->shape[0] >= (1u << 24))
        return lf_fail(e, LF_ERR_FORMAT, "tensor 'fusion.rows' of %s must be F32 of shape (n, %zu), n in 1..16777215",
                       name, D);
    size_t n = t->shape[0], F = 0;
    if (nt == 6) {
        const lf_st_tensor *tf = lf_st_find(sf, "fusion.features"), *ts = lf_st_find(sf, "fusion.feature_scale");
        if (!tf || tf->ndim != 2 || tf->shape[0] != n || tf->shape[1] == 0 || tf->shape[1] > F_MAX)
            return lf_fail(e, LF_ERR_FORMAT, "tensor 'fusion.features' of %s must be F32 of shape (%zu, F), F in 1..%d",
                           name, n, F_MAX);
        F = tf->shape[1];
        if (!ts || ts->ndim != 2 || ts->shape[0] != 2 || ts->shape[1] != F)
            return lf_fail(e, LF_ERR_FORMAT, "tensor 'fusion.feature_scale' of %s must be F32 of shape (2, %zu)", name,
                           F);
    }
    des_state *s = LF_CALLOC(1, sizeof *s);
    if (!s) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    f->state = s;
    s->n = n, s->D = D, s->F = F;
    if (F) {
        s->feat = lf_alloc_array(n, F * sizeof(float));
        s->scale = lf_alloc_array(2, F * sizeof(float));
        if (!s->feat || !s->scale) return lf_fail(e, LF_ERR_NOMEM, "out of memory for %zu rows of %zu features", n, F);
    }
    s->rows = lf_alloc_array(n, D * sizeof(float));
    s->labels_f = lf_alloc_array(n, sizeof(float));
    s->weights = lf_alloc_array(M, sizeof(float));
    if (!s->rows || !s->labels_f || !s->weights) return lf_fail(e, LF_ERR_NOMEM, "out of memory for %zu fitting rows", n);
    lf_status st = lf_load_tensor(sf, "fusion.rows", s->rows, 2, (size_t[]){n, D}, e);
    if (st == LF_OK) st = lf_load_tensor(sf, "fusion.labels", s->labels_f, 1, (size_t[]){n}, e);
    if (st == LF_OK) st = lf_load_tensor(sf, "fusion.k", &s->k_f, 1, (size_t[]){1}, e);
    if (st == LF_OK) st = lf_load_tensor(sf, "fusion.weights", s->weights, 1, (size_t[]){M}, e);
    if (st == LF_OK && F) st = lf_load_tensor(sf, "fusion.features", s->feat, 2, (size_t[]){n, F}, e);
    if (st == LF_OK && F) st = lf_load_tensor(sf, "fusion.feature_scale", s->scale, 2, (size_t[]){2, F}, e);
    if (st != LF_OK) return st;
    for (size_t d = 0; d < F; d++)
        if (!(s->scale[F + d] > 0))
            return lf_fail(e, LF_ERR_FORMAT, "tensor 'fusion.feature_scale' of %s must hold stds > 0 in its second row",
                           name);
    f->n_features = F;
    size_t kmax = n < K_MAX ? n : K_MAX;
    if (!(s->k_f >= 1 && s->k_f <= (float)kmax && s->k_f == floorf(s->k_f)))
        return lf_fail(e, LF_ERR_FORMAT, "tensor 'fusion.k' of %s must hold an integer in 1..%zu", name, kmax);
    s->k = (size_t)s->k_f;
    for (size_t j = 0; j < n; j++) {
        float l = s->labels_f[j];
        if (!(l >= 0 && l < (float)C && l == floorf(l)))
            return lf_fail(e, LF_ERR_FORMAT, "tensor 'fusion.labels' of %s must hold classes 0..%zu", name, C - 1);
        const float *x = s->rows + j * D;
        for (size_t k = 0; k < M; k++) {
            float ind = x[M * C + k];
            int ok = ind == 0.0f || ind == 1.0f;
            for (size_t c = 0; ok && c < C; c++) ok = x[k * C + c] >= 0.0f && x[k * C + c] <= ind;
            if (!ok)
                return lf_fail(e, LF_ERR_FORMAT,
                               "tensor 'fusion.rows' of %s: row %zu, model %zu is not probabilities with indicator 1 "
                               "or zeros with indicator 0",
                               name, j, k);
        }
    }
    double sum = 0;
    for (size_t k = 0; k < M; k++) sum += s->weights[k] >= 0 ? s->weights[k] : NAN;
    if (!(fabs(sum - 1) <= 1e-3))
        return lf_fail(e, LF_ERR_FORMAT, "tensor 'fusion.weights' of %s must hold shares >= 0 summing to 1", name);
    return derive(s, M, C, e);
}

static size_t des_weights(const lf_fusion *f, float *out, size_t cap, size_t *rows, size_t *cols) {
    const des_state *s = f->state;
    if (out && cap >= f->M) memcpy(out, s->weights, f->M * sizeof *out);
    if (rows) *rows = f->M;
    if (cols) *cols = 1;
    return f->M;
}

/* the file stores every fitting row (M C outputs and M presence flags),
 * its label, k and M weights */
static size_t des_n_params(size_t M, size_t C, size_t N) { return N * (M * C + M + 1) + 1 + M; }

static const des_params p_knora_e = {KNORA_E}, p_knora_u = {KNORA_U}, p_ola = {OLA}, p_lca = {LCA};

#define DES_METHOD(var, ID, NAME, SUMMARY, PARAMS)                                                              \
    static const lf_method_def var = {                                                                         \
        .id = ID, .name = NAME, .family = LF_FAMILY_CLASSICAL, .summary = SUMMARY, .fit = des_fit,             \
        .predict = des_predict, .predict_fitting = des_predict_fitting, .save = des_save, .load = des_load,    \
        .weights = des_weights, .free_state = des_free, .n_params = des_n_params, .params = PARAMS, .rule = -1, \
        .takes_features = 1}

DES_METHOD(knora_e, LF_FUSE_KNORA_E, "knora-e", "dynamic selection: the models right on all k nearest rows (shrinking)",
           &p_knora_e);
DES_METHOD(knora_u, LF_FUSE_KNORA_U, "knora-u", "dynamic selection: models weighted by the k nearest rows they get right",
           &p_knora_u);
DES_METHOD(ola, LF_FUSE_OLA, "ola", "dynamic selection: the model most accurate on the k nearest rows", &p_ola);
DES_METHOD(lca, LF_FUSE_LCA, "lca", "dynamic selection: the model most accurate locally for the class it predicts",
           &p_lca);

const lf_method_def *const lf_dynamic_methods[] = {&knora_e, &knora_u, &ola, &lca, NULL};

size_t lf_fusion_neighbors(const lf_fusion *f) {
    if (!f || !f->fitted) return 0;
    if (f->def->predict == des_predict) return ((const des_state *)f->state)->k;
    for (size_t i = 0, n = lf_fusion_ensemble_member(f, 0, NULL, NULL, NULL, NULL); i < n; i++) {
        const lf_fusion *m = lf_ensemble_member_fusion(f, i);
        if (m->def->predict == des_predict) return ((const des_state *)m->state)->k;
    }
    return 0;
}
