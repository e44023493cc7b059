/*
 * ensemble.c — the fusion that auto makes of its best candidates, as
 * AutoGluon's WeightedEnsemble_L2 and auto-sklearn end: greedy ensemble
 * selection (Caruana et al., ICML 2004; selection.c) over the candidates'
 * out-of-fold outputs, each candidate then fitted on every row.  Its
 * members are whole fusions over the same models (a method, its own
 * calibration, its state); predict runs each member on the inputs (its
 * own temperatures applied) and pools their outputs with the selection
 * counts as weights: the linear pool sum_i w_i q_i or the log-linear pool
 * prod_i q_i^w_i, renormalised (lf_rule_apply's weighted mean and
 * product).  A row where a model is missing is each member's own business
 * (every method handles missing rows); a member's missing row (no model
 * present) is missing in the pool too.  On its own fitting rows (the
 * importance, importance.c) a member that keeps them (dynamic selection)
 * predicts each row left out of them, as it does alone.
 *
 * File (fusion_io.c): the settings carry "ensemble": {"pool": "linear" or
 * "log-linear", "members": [{"method", "calibrated", "temperatures": [M],
 * "count": selections, and for a member with a network "architecture":
 * its JSON as a string}]}; member i's tensors are what its method keeps
 * (method.h) under the prefix "member<i>.".  The ensemble's own
 * temperatures are 1 and it is not calibrated: its members are.
 */
#include "fusion/ensemble.h"

#include "fusion/calibrate.h"
#include "fusion/cv.h"
#include "fusion/rules.h"
#include "model_io.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define ENS_BLOCK 8192    /* rows per block of predict */

typedef struct ens_state {
    size_t n;           /* members */
    lf_fusion *members; /* n fitted fusions over f's models */
    float *counts;      /* n selection counts, > 0 */
    int geometric;      /* 0: linear pool, 1: log-linear pool */
} ens_state;

static void ens_free(void *state) {
    ens_state *s = state;
    if (!s) return;
    for (size_t i = 0; s->members && i < s->n; i++) lf_fusion_clear(&s->members[i]);
    LF_FREE(s->members), LF_FREE(s->counts), LF_FREE(s);
}

static ens_state *ens_new(size_t n) {
    ens_state *s = LF_CALLOC(1, sizeof *s);
    if (!s) return NULL;
    s->members = lf_alloc_array(n, sizeof *s->members);
    s->counts = lf_alloc_array(n, sizeof *s->counts);
    if (!s->members || !s->counts) {
        ens_free(s);
        return NULL;
    }
    s->n = n;
    return s;
}

/* ------------------------------------------------------------ predict */

/* fit0 < SIZE_MAX: the rows are the fitting rows from fit0 on, and a
 * member that keeps its fitting rows predicts each left out of them
 * (its predict_fitting), as it would alone (importance.c) */
static lf_status ens_predict_rows(const lf_fusion *f, const lf_probs *pr, size_t fit0, float *out) {
    const ens_state *s = f->state;
    size_t N = pr->N, C = pr->C, M = pr->M, n = s->n, B = N < ENS_BLOCK ? N : ENS_BLOCK;
    if (B == 0) return LF_OK;
    int scaled = 0; /* a member with a temperature: its inputs are scaled into cal */
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < M; k++) scaled |= s->members[i].temps[k] != 1.0f;
    float *outs = lf_alloc_array(n * B, C * sizeof *outs);
    float *cal = scaled ? lf_alloc_array(M * B, C * sizeof *cal) : NULL;
    float **pp = lf_alloc_array(M, sizeof *pp);
    const float **q = lf_alloc_array(n, sizeof *q);
    lf_err e = {0};
    lf_status st = LF_OK;
    if (!outs || (scaled && !cal) || !pp || !q)
        st = lf_fail(&e, LF_ERR_NOMEM, "ensemble: out of memory for its %zu members' outputs", n);
    for (size_t r0 = 0; st == LF_OK && r0 < N; r0 += B) {
        size_t nb = N - r0 < B ? N - r0 : B;
        for (size_t i = 0; st == LF_OK && i < n; i++) {
            const lf_fusion *m = &s->members[i];
            for (size_t k = 0; k < M; k++) { /* the member's own temperatures */
                const float *src = pr->p[k] + r0 * C;
                if (m->temps[k] == 1.0f) {
                    pp[k] = (float *)src; /* read only: predict does not write its inputs */
                } else {
                    pp[k] = cal + k * B * C;
                    lf_apply_temperature(src, nb, C, m->temps[k], pp[k]);
                }
            }
            lf_err me = {0};
            lf_probs v = {.M = M, .N = nb, .C = C, .p = pp, .F = pr->F, .feat = pr->feat ? pr->feat + r0 * pr->F : NULL,
                          .err = &me};
            float *o = outs + i * B * C;
            st = fit0 != SIZE_MAX && m->def->predict_fitting ? m->def->predict_fitting(m, &v, fit0 + r0, o)
                                                             : lf_fusion_predict_core(m, &v, o);
            if (st != LF_OK)
                lf_fail(&e, st, "ensemble member %zu (%s%s): %s", i, m->def->name, m->calibrated ? " +calibrate" : "",
                        me.msg[0] ? me.msg : lf_status_string(st));
            q[i] = o;
        }
        if (st == LF_OK)
            st = lf_rule_apply(s->geometric ? LF_RULE_PRODUCT : LF_RULE_MEAN, q, n, nb, C, s->counts, out + r0 * C, &e);
    }
    LF_FREE(outs), LF_FREE(cal), LF_FREE(pp), LF_FREE(q);
    if (st != LF_OK && pr->err) *pr->err = e;
    return st;
}

static lf_status ens_predict(const lf_fusion *f, const lf_probs *pr, float *out) {
    return ens_predict_rows(f, pr, SIZE_MAX, out);
}

static lf_status ens_predict_fitting(const lf_fusion *f, const lf_probs *pr, size_t r0, float *out) {
    return ens_predict_rows(f, pr, r0, out);
}

const lf_method_def lf_ensemble_method = {
    .id = LF_FUSE_ENSEMBLE, .name = LF_ENSEMBLE_NAME, .family = LF_FAMILY_CLASSICAL,
    .summary = "auto's ensemble of its best candidates, weighted by greedy ensemble selection",
    .predict = ens_predict, .predict_fitting = ens_predict_fitting, .free_state = ens_free, .rule = -1};

/* ---------------------------------------------------------- selection */

lf_status lf_ensemble_select(lf_err *e, const float *const *outs, size_t L, size_t C, const int *y,
                             const size_t *idx, size_t n, const lf_fusion_options *o, int geometric, float *counts) {
    lf_fusion g;
    memset(&g, 0, sizeof g);
    g.def = lf_method_def_of(geometric ? LF_FUSE_GES_LOG : LF_FUSE_GES);
    g.M = L, g.C = C;
    lf_probs pr;
    int *yy = lf_alloc_array(n ? n : 1, sizeof *yy);
    if (!yy) return lf_fail(e, LF_ERR_NOMEM, "out of memory for the ensemble selection");
    for (size_t i = 0; i < n; i++) yy[i] = y[idx ? idx[i] : i];
    lf_status st = lf_probs_prepare(e, outs, L, C, 0, NULL, idx, n, &pr);
    if (st == LF_OK) {
        st = g.def->fit(&g, &pr, yy, o);
        if (st != LF_OK) lf_fail(e, st, "ensemble selection: %s", g.err.msg);
        else memcpy(counts, g.state, L * sizeof *counts);
        lf_probs_free(&pr);
    }
    if (g.state) g.def->free_state(g.state);
    LF_FREE(yy);
    return st;
}

lf_status lf_ensemble_pool(lf_err *e, const float *const *outs, size_t L, size_t C, const size_t *idx, size_t n,
                           const float *counts, int geometric, float *out) {
    lf_probs pr;
    lf_status st = lf_probs_prepare(e, outs, L, C, 0, NULL, idx, n, &pr);
    if (st != LF_OK) return st;
    st = lf_rule_apply(geometric ? LF_RULE_PRODUCT : LF_RULE_MEAN, (const float *const *)pr.p, L, n, C, counts, out, e);
    lf_probs_free(&pr);
    return st;
}

/* ---------------------------------------------------------------- fit */

/* f's common settings: names, temperatures 1, sizes; the ensemble's record */
static lf_status common(lf_fusion *f, const char *const *names, size_t M, size_t C, int logits) {
    f->def = &lf_ensemble_method; /* first: a failure below still frees the state (lf_fusion_clear) */
    f->names = lf_alloc_array(M, sizeof *f->names);
    f->temps = lf_alloc_array(M, sizeof *f->temps);
    if (!f->names || !f->temps) return lf_fail(&f->err, LF_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < M; k++) {
        snprintf(f->names[k], LF_FUSION_NAME_MAX, "%s", names[k]);
        f->temps[k] = 1.0f;
    }
    f->M = M, f->C = C, f->logits = logits, f->calibrated = 0;
    return LF_OK;
}

lf_status lf_ensemble_fit(lf_fusion *f, const float *const *p, const char *const *names, size_t M, size_t N,
                          size_t C, const int *y, const lf_fusion_options *o, const lf_method *methods,
                          const int *calibrate, const float *counts, size_t n, int geometric) {
    lf_fusion_clear(f);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) used += counts[i] > 0;
    if (used == 0 || used > LF_ENSEMBLE_MAX)
        return lf_fail(&f->err, LF_ERR_ARG, "an ensemble has 1..%d members, got %zu", LF_ENSEMBLE_MAX, used);
    for (size_t i = 0; i < n; i++) /* what the file can hold */
        if (!(counts[i] <= 0 || (counts[i] <= LF_ENSEMBLE_COUNT_MAX && counts[i] == floorf(counts[i]))))
            return lf_fail(&f->err, LF_ERR_ARG, "ensemble count %zu must be an integer in 1..%d, got %.9g", i,
                           LF_ENSEMBLE_COUNT_MAX, (double)counts[i]);
    ens_state *s = ens_new(used);
    size_t *idx = lf_alloc_array(used, sizeof *idx); /* member j: candidate idx[j] */
    if (!s || !idx) {
        ens_free(s), LF_FREE(idx);
        return lf_fail(&f->err, LF_ERR_NOMEM, "out of memory");
    }
    s->geometric = geometric;
    lf_status st = common(f, names, M, C, o->logits);
    f->state = s; /* from here lf_fusion_clear releases it */
    for (size_t i = 0, j = 0; i < n; i++)
        if (counts[i] > 0) s->counts[j] = counts[i], idx[j++] = i;
    /* the members' fits: on W threads (lf_cv_threads), each fit on one
     * thread (the bits of one thread) and quiet; one at a time with their
     * progress told.  After a failing member, the members after it are
     * not fitted: the first failure in member order is the message. */
    long long nm = st == LF_OK ? (long long)used : 0;
    int W = (int)lf_cv_threads(N, M, C, used);
    size_t stop = SIZE_MAX; /* the first failing member so far, and its status */
    lf_status stop_st = LF_OK;
    lf_fusion_options mo = *o;
    if (W > 1) mo.progress = NULL;
#pragma omp parallel for num_threads(W) schedule(dynamic, 1) if (W > 1)
    for (long long jj = 0; jj < nm; jj++) {
        size_t j = (size_t)jj, i = idx[j], low;
#ifdef _OPENMP
        if (W > 1) omp_set_num_threads(1); /* the fit's own loops on this thread */
#endif
#pragma omp critical(lf_ens_stop)
        low = stop;
        if (j > low) continue; /* not fitted: an earlier member failed */
        lf_status ms = lf_cancelled(o->cancel) ? lf_cancel_fail(&s->members[j].err) /* between the members' fits */
                                               : lf_fusion_fit_rows(&s->members[j], p, names, M, C, y, NULL, N, &mo,
                                                                    methods[i], calibrate[i]);
        if (ms != LF_OK) {
#pragma omp critical(lf_ens_stop)
            if (j < stop) stop = j, stop_st = ms;
        }
    }
    if (st == LF_OK && stop < (size_t)nm) {
        size_t i = idx[stop];
        st = lf_fail(&f->err, stop_st, "ensemble member %s%s: %s", lf_method_name(methods[i]),
                     calibrate[i] ? " +calibrate" : "", s->members[stop].err.msg);
    }
    for (size_t j = 0; st == LF_OK && j < (size_t)nm; j++)
        if (s->members[j].n_features) f->n_features = s->members[j].n_features;
    LF_FREE(idx);
    return lf_fusion_fit_end(f, st);
}

/* ---------------------------------------------------------------- file */

void lf_ensemble_tensors_free(lf_st_out *outs, size_t n) {
    for (size_t i = 0; outs && i < n; i++) LF_FREE((char *)outs[i].name);
    LF_FREE(outs);
}

/* appends t under the name "member<i>.<its name>" (prefixed: its name
 * already carries the prefix) */
static lf_status add_tensor(lf_st_out **outs, size_t *n, size_t *cap, const lf_st_out *t, size_t i, int prefixed) {
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        lf_st_out *g = lf_alloc_array(nc, sizeof *g);
        if (!g) return LF_ERR_NOMEM;
        if (*n) memcpy(g, *outs, *n * sizeof *g);
        LF_FREE(*outs);
        *outs = g, *cap = nc;
    }
    char pre[32];
    snprintf(pre, sizeof pre, "member%zu.", i);
    size_t len = (prefixed ? 0 : strlen(pre)) + strlen(t->name) + 1;
    char *name = LF_MALLOC(len);
    if (!name) return LF_ERR_NOMEM;
    snprintf(name, len, "%s%s", prefixed ? "" : pre, t->name);
    (*outs)[*n] = *t;
    (*outs)[(*n)++].name = name;
    return LF_OK;
}

lf_status lf_ensemble_save(const lf_fusion *f, lf_buf *js, lf_st_out **outs, size_t *n, lf_err *e) {
    const ens_state *s = f->state;
    size_t cap = 0;
    *outs = NULL, *n = 0;
    lf_status st = LF_OK;
    lf_buf_printf(js, ",\"ensemble\":{\"pool\":\"%s\",\"members\":[", s->geometric ? "log-linear" : "linear");
    for (size_t i = 0; st == LF_OK && i < s->n; i++) {
        const lf_fusion *m = &s->members[i];
        lf_buf_printf(js, "%s{\"method\":\"%s\",\"calibrated\":%s,\"count\":%zu,\"temperatures\":[", i ? "," : "",
                      m->def->name, m->calibrated ? "true" : "false", (size_t)s->counts[i]);
        for (size_t k = 0; k < m->M; k++) {
            if (k) lf_buf_puts(js, ",");
            lf_buf_json_float(js, m->temps[k]);
        }
        lf_buf_puts(js, "]");
        lf_penalty_json(m, js);
        lf_method_save ms = {.n_tensors = 0};
        if (m->def->save) m->def->save(m, &ms);
        for (size_t t = 0; st == LF_OK && t < ms.n_tensors; t++)
            if (add_tensor(outs, n, &cap, &ms.tensors[t], i, 0) != LF_OK) st = lf_fail(e, LF_ERR_NOMEM, "save: out of memory");
        if (st == LF_OK && ms.net) {
            lf_buf arch;
            lf_buf_init(&arch);
            lf_model_arch_json(ms.net, &arch);
            lf_buf_puts(js, ",\"architecture\":");
            if (!arch.failed) lf_buf_json_string(js, arch.data);
            else st = lf_fail(e, LF_ERR_NOMEM, "save: out of memory");
            lf_buf_free(&arch);
            char pre[48], *names = NULL;
            lf_st_out *net = NULL;
            size_t nn = 0;
            snprintf(pre, sizeof pre, "member%zu.net.", i);
            if (st == LF_OK) st = lf_model_tensors(ms.net, pre, 0, &net, &nn, &names, e);
            for (size_t t = 0; st == LF_OK && t < nn; t++)
                if (add_tensor(outs, n, &cap, &net[t], i, 1) != LF_OK) st = lf_fail(e, LF_ERR_NOMEM, "save: out of memory");
            LF_FREE(net), LF_FREE(names);
        }
        lf_buf_puts(js, "}");
    }
    lf_buf_puts(js, "]}");
    if (st != LF_OK) {
        lf_ensemble_tensors_free(*outs, *n);
        *outs = NULL, *n = 0;
    }
    return st;
}

/* the tensors of sf named "<pre>...", as a file of their own whose names
 * lack the prefix (pointing into sf's names; sf's order by name is kept:
 * names sharing a prefix sort as their rests do) */
static lf_status sub_file(const lf_st_file *sf, const char *pre, lf_st_file *out, lf_err *e) {
    memset(out, 0, sizeof *out);
    size_t len = strlen(pre), n = 0, N = lf_st_count(sf);
    out->tensors = lf_alloc_array(N ? N : 1, sizeof *out->tensors);
    out->by_name = lf_alloc_array(N ? N : 1, sizeof *out->by_name);
    if (!out->tensors || !out->by_name) {
        LF_FREE(out->tensors), LF_FREE(out->by_name);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    }
    for (size_t j = 0; j < N; j++) {
        const lf_st_tensor *t = &sf->tensors[sf->by_name[j]];
        if (strncmp(t->name, pre, len) != 0 || t->name[len] == '\0') continue;
        out->tensors[n] = *t;
        out->tensors[n].name = t->name + len;
        out->by_name[n] = n;
        n++;
    }
    out->n_tensors = n;
    out->data_len = sf->data_len;
    return LF_OK;
}

/* one member's settings from its entry j: method, calibration, temperatures */
static lf_status read_member(const lf_fusion *f, lf_fusion *m, const lf_json *j, size_t i, float *count,
                             const char **arch, lf_err *e) {
    static const char *const keys[] = {"method", "calibrated", "count", "temperatures", "architecture", "penalty", NULL};
    char esc[LF_MSG_STR];
    const char *unknown = lf_json_unknown_key(j, keys);
    const char *name = lf_json_str(lf_json_get(j, "method"));
    int method = lf_method_parse(name);
    const lf_json *temps = lf_json_get(j, "temperatures"), *a = lf_json_get(j, "architecture");
    size_t c;
    if (!lf_json_is(j, LF_JSON_OBJECT))
        return lf_fail(e, LF_ERR_FORMAT, "fusion settings: ensemble member %zu is not a JSON object", i);
    if (unknown)
        return lf_fail(e, LF_ERR_FORMAT, "fusion settings: ensemble member %zu has an unknown field '%s'", i,
                       lf_str_for_msg(esc, unknown));
    if (method < 0 || !lf_method_def_of((lf_method)method))
        return lf_fail(e, LF_ERR_FORMAT, "fusion settings: ensemble member %zu has an unknown or missing method", i);
    if (!lf_json_bool(lf_json_get(j, "calibrated"), &m->calibrated))
        return lf_fail(e, LF_ERR_FORMAT, "fusion settings: ensemble member %zu: 'calibrated' must be true or false", i);
    if (!lf_json_size(lf_json_get(j, "count"), &c) || c < 1 || c > LF_ENSEMBLE_COUNT_MAX)
        return lf_fail(e, LF_ERR_FORMAT, "fusion settings: ensemble member %zu: 'count' must be an integer in 1..%d", i,
                       LF_ENSEMBLE_COUNT_MAX);
    if (!lf_json_is(temps, LF_JSON_ARRAY) || lf_json_len(temps) != f->M)
        return lf_fail(e, LF_ERR_FORMAT, "fusion settings: ensemble member %zu: 'temperatures' must be a list of %zu numbers",
                       i, f->M);
    if (a && !lf_json_is(a, LF_JSON_STRING))
        return lf_fail(e, LF_ERR_FORMAT, "fusion settings: ensemble member %zu: 'architecture' must be a string", i);
    *count = (float)c, *arch = a ? lf_json_str(a) : NULL;
    m->names = lf_alloc_array(f->M, sizeof *m->names);
    m->temps = lf_alloc_array(f->M, sizeof *m->temps);
    if (!m->names || !m->temps) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    memcpy(m->names, f->names, f->M * sizeof *m->names);
    for (size_t k = 0; k < f->M; k++) {
        double T;
        if (!lf_json_num(lf_json_at(temps, k), &T) || !(T >= 0.01 && T <= 100))
            return lf_fail(e, LF_ERR_FORMAT,
                           "fusion settings: ensemble member %zu: temperature %zu must be a number in [0.01, 100]", i, k);
        m->temps[k] = (float)T;
        if (!m->calibrated && m->temps[k] != 1.0f) /* as the ensemble's own (lf_ensemble_load) */
            return lf_fail(e, LF_ERR_FORMAT,
                           "fusion settings: ensemble member %zu is not calibrated, so its temperatures must be 1, "
                           "temperature %zu is %g", i, k, (double)m->temps[k]);
    }
    m->def = lf_method_def_of((lf_method)method);
    if (lf_json_get(j, "penalty")) {
        char who[64];
        snprintf(who, sizeof who, "fusion settings: ensemble member %zu", i);
        lf_status st = lf_penalty_read(m, m->def, lf_json_get(j, "penalty"), who, e);
        if (st != LF_OK) return st;
    }
    m->M = f->M, m->C = f->C, m->logits = f->logits;
    return LF_OK;
}

/* member i's state from its tensors (those under "member<i>.") */
static lf_status load_member(lf_fusion *m, const lf_st_file *sf, const char *arch, size_t i, size_t *claimed,
                             lf_err *e) {
    char pre[32];
    snprintf(pre, sizeof pre, "member%zu.", i);
    lf_st_file sub;
    lf_status st = sub_file(sf, pre, &sub, e);
    if (st != LF_OK) return st;
    *claimed += sub.n_tensors;
    lf_err me = {0};
    if (m->def->load)
        st = m->def->load(m, &sub, arch, &me);
    else if (arch)
        st = lf_fail(&me, LF_ERR_FORMAT, "the %s method has no network, but the member holds an architecture",
                     m->def->name);
    else if (sub.n_tensors)
        st = lf_fail(&me, LF_ERR_FORMAT, "the member holds %zu tensors, the %s method has 0", sub.n_tensors,
                     m->def->name);
    LF_FREE(sub.tensors), LF_FREE(sub.by_name);
    if (st != LF_OK) return lf_fail(e, st, "ensemble member %zu (%s): %s", i, m->def->name, me.msg);
    m->fitted = 1;
    return LF_OK;
}

lf_status lf_ensemble_load(lf_fusion *f, const lf_json *j, const lf_st_file *sf, const char *arch, lf_err *e) {
    static const char *const keys[] = {"pool", "members", NULL};
    char esc[LF_MSG_STR];
    if (arch)
        return lf_fail(e, LF_ERR_FORMAT, "an ensemble keeps its members' networks in their entries, but the file "
                       "holds an architecture of its own");
    if (f->calibrated) return lf_fail(e, LF_ERR_FORMAT, "fusion settings: an ensemble is not calibrated itself (its members are)");
    for (size_t k = 0; k < f->M; k++)
        if (f->temps[k] != 1.0f)
            return lf_fail(e, LF_ERR_FORMAT, "fusion settings: an ensemble's own temperatures must be 1 (its members "
                           "keep theirs), temperature %zu is %g", k, (double)f->temps[k]);
    const char *unknown = lf_json_unknown_key(j, keys), *pool = lf_json_str(lf_json_get(j, "pool"));
    const lf_json *members = lf_json_get(j, "members");
    size_t n = lf_json_len(members);
    if (!lf_json_is(j, LF_JSON_OBJECT))
        return lf_fail(e, LF_ERR_FORMAT, "fusion settings: 'ensemble' must be a JSON object");
    if (unknown)
        return lf_fail(e, LF_ERR_FORMAT, "fusion settings: 'ensemble' has an unknown field '%s'",
                       lf_str_for_msg(esc, unknown));
    if (!pool || (strcmp(pool, "linear") != 0 && strcmp(pool, "log-linear") != 0))
        return lf_fail(e, LF_ERR_FORMAT, "fusion settings: the ensemble's 'pool' must be \"linear\" or \"log-linear\"");
    if (!lf_json_is(members, LF_JSON_ARRAY) || n < 1 || n > LF_ENSEMBLE_MAX)
        return lf_fail(e, LF_ERR_FORMAT, "fusion settings: the ensemble's 'members' must be a list of 1..%d entries",
                       LF_ENSEMBLE_MAX);
    ens_state *s = ens_new(n);
    if (!s) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    s->geometric = strcmp(pool, "log-linear") == 0;
    f->state = s; /* lf_fusion_clear releases it (f->def is the ensemble's record) */
    f->def = &lf_ensemble_method;
    size_t claimed = 0;
    lf_status st = LF_OK;
    for (size_t i = 0; st == LF_OK && i < n; i++) {
        const char *march = NULL;
        st = read_member(f, &s->members[i], lf_json_at(members, i), i, &s->counts[i], &march, e);
        if (st == LF_OK) st = load_member(&s->members[i], sf, march, i, &claimed, e);
        if (st == LF_OK && s->members[i].n_features) {
            if (f->n_features && f->n_features != s->members[i].n_features)
                st = lf_fail(e, LF_ERR_FORMAT, "ensemble member %zu was fitted with %zu features a row, another with %zu",
                             i, s->members[i].n_features, f->n_features);
            f->n_features = s->members[i].n_features;
        }
    }
    for (size_t t = 0; st == LF_OK && claimed != lf_st_count(sf) && t < lf_st_count(sf); t++) {
        const char *tn = lf_st_at(sf, t)->name; /* a tensor no member has */
        int ours = 0;
        for (size_t i = 0; !ours && i < n; i++) {
            char pre[32];
            snprintf(pre, sizeof pre, "member%zu.", i);
            ours = strncmp(tn, pre, strlen(pre)) == 0 && tn[strlen(pre)] != '\0';
        }
        if (!ours)
            st = lf_fail(e, LF_ERR_FORMAT, "the file holds tensor '%s', which no ensemble member has",
                         lf_str_for_msg(esc, tn));
    }
    return st;
}

size_t lf_fusion_ensemble_member(const lf_fusion *f, size_t i, lf_method *method, int *calibrated, double *weight,
                                 int *log_linear) {
    if (!f || !f->fitted || f->def != &lf_ensemble_method) return 0;
    const ens_state *s = f->state;
    if (i < s->n) {
        double sum = 0;
        for (size_t j = 0; j < s->n; j++) sum += s->counts[j];
        if (method) *method = s->members[i].def->id;
        if (calibrated) *calibrated = s->members[i].calibrated;
        if (weight) *weight = s->counts[i] / sum;
        if (log_linear) *log_linear = s->geometric;
    }
    return s->n;
}

const lf_fusion *lf_ensemble_member_fusion(const lf_fusion *f, size_t i) {
    const ens_state *s = f->state;
    return &s->members[i];
}

float lf_fusion_ensemble_member_temperature(const lf_fusion *f, size_t i, size_t k) {
    if (!f || !f->fitted || f->def != &lf_ensemble_method) return NAN;
    const ens_state *s = f->state;
    return i < s->n && k < s->members[i].M ? s->members[i].temps[k] : NAN;
}
