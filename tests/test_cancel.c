/*
 * test_cancel.c — lf_fusion_options.cancel and lf_fit_options.cancel: the
 * caller's flag stops the long calls early.
 *
 * A flag already set: lf_fusion_fit (auto, mlp, mean), lf_fusion_compare
 * and lf_fusion_report return LF_ERR_CANCELLED with the message
 * "cancelled" at once; the fit leaves its fusion unfitted (an earlier fit
 * dropped too), compare makes no table, report writes no page and leaves
 * no temporary file.  lf_model_fit with its own flag set returns
 * LF_ERR_CANCELLED ("fit: cancelled") having run no step.
 *
 * Set by the progress callback as the cross-validation's candidates are
 * done: auto's ensemble step, and the report's parts after its compare,
 * stop at their first unit (LF_ERR_CANCELLED in a tenth of the time that
 * work takes without the flag, no progress event after it).
 *
 * A flag set by another thread after a delay: an auto fit of 20000 rows
 * (186 s to its end on one thread of a loaded machine; test_cancel prints
 * the times) and an mlp fit of 100 epochs stop within 2 s of the flag (a
 * unit's time, milliseconds here), the fusion left unfitted; a compare of
 * methods fitted without training steps (ges-log, dempster-shafer, ...;
 * 2 s to its end), which only the cross-validation's own look at the flag
 * stops, likewise.  A flag left at 0 changes nothing: the same bits as a
 * fit without one.
 *
 * lf_fusion_predict_with's flag (the rows fused in blocks of 65536): at 0,
 * the same bits as lf_fusion_predict for a fixed rule, a learned method
 * and dynamic selection over 4.5 blocks (and dynamic selection fitted with
 * features), and the same message, counting the rows from the first, for
 * a bad value in the third block (with a model missing in some rows, and
 * without: the mean's blocks then check themselves); set
 * before, LF_ERR_CANCELLED ("cancelled") at once; set by another thread
 * during a knora-e predict of 8 blocks, the call returns early.
 */
#include "check.h"
#include "fusion_data.h"
#include "latefuse.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum { M = 3 };
static const char *const names3[M] = {"a", "b", "c"};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* f holds no fit: predict refuses it */
static int unfitted(const lf_fusion *f, const float *const *p, size_t C) {
    float out[4 * 8];
    return C <= 8 && lf_fusion_predict(f, p, 4, out) == LF_ERR_STATE;
}

/* A flag that a thread sets `delay` seconds after it starts. */
typedef struct setter {
    volatile int flag;
    double delay, set_at;
    pthread_t th;
} setter;

static void *set_later(void *arg) {
    setter *s = arg;
    struct timespec d = {(time_t)s->delay, (long)((s->delay - (double)(time_t)s->delay) * 1e9)};
    nanosleep(&d, NULL);
    s->set_at = now_s();
    __atomic_store_n(&s->flag, 1, __ATOMIC_RELAXED); /* as the library reads it: no data race */
    return NULL;
}

static int start_setter(setter *s, double delay) {
    memset(s, 0, sizeof *s);
    s->delay = delay;
    return pthread_create(&s->th, NULL, set_later, s) == 0;
}

/* ------------------------------------------------------- already set */

static void already_set(void) {
    enum { N = 600, C = 4 };
    float *p[M];
    int *y = new_data(p, M, N, C, 11, 0);
    const float *const *pp = (const float *const *)p;
    lf_fusion *f;
    CHECK(lf_fusion_create(&f) == LF_OK, "create");
    volatile int one = 1;
    /* fits: an earlier fit is dropped, nothing is kept */
    static const lf_method methods[] = {LF_FUSE_AUTO, LF_FUSE_MLP, LF_FUSE_MEAN};
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        lf_fusion_options o = lf_fusion_defaults();
        o.method = LF_FUSE_MEAN;
        CHECK(lf_fusion_fit(f, pp, names3, M, N, C, y, &o) == LF_OK, "the earlier fit: %s", lf_fusion_error(f));
        o.method = methods[i], o.cancel = &one;
        double t0 = now_s();
        lf_status st = lf_fusion_fit(f, pp, names3, M, N, C, y, &o);
        double dt = now_s() - t0;
        CHECK(st == LF_ERR_CANCELLED && strcmp(lf_fusion_error(f), "cancelled") == 0, "fit %s set before: %d '%s'",
              lf_method_name(methods[i]), (int)st, lf_fusion_error(f));
        CHECK(dt < 0.5, "fit %s set before: %.3f s to return", lf_method_name(methods[i]), dt);
        CHECK(unfitted(f, pp, C), "fit %s set before: the fusion is still fitted", lf_method_name(methods[i]));
        CHECK(lf_fusion_auto_table(f) == NULL && lf_fusion_history(f) == NULL, "fit %s: a table or history kept",
              lf_method_name(methods[i]));
    }
    /* compare: no table */
    {
        lf_fusion_options o = lf_fusion_defaults();
        o.cancel = &one;
        lf_compare_table dummy, *t = &dummy; /* set NULL by the call */
        double t0 = now_s();
        lf_status st = lf_fusion_compare(f, pp, names3, M, N, C, y, NULL, 0, &o, &t);
        double dt = now_s() - t0;
        CHECK(st == LF_ERR_CANCELLED && t == NULL && strcmp(lf_fusion_error(f), "cancelled") == 0,
              "compare set before: %d '%s'", (int)st, lf_fusion_error(f));
        CHECK(dt < 0.5, "compare set before: %.3f s to return", dt);
    }
    /* report: no page, no temporary file */
    {
        char dir[] = "/tmp/latefuse_cancel.XXXXXX", path[64];
        CHECK(mkdtemp(dir) != NULL, "mkdtemp");
        snprintf(path, sizeof path, "%s/r.html", dir);
        lf_report_options ro = lf_report_defaults();
        ro.fusion.cancel = &one;
        lf_status st = lf_fusion_report(f, pp, names3, M, N, C, y, &ro, path, LF_WRITE_NO_FSYNC);
        CHECK(st == LF_ERR_CANCELLED && strcmp(lf_fusion_error(f), "cancelled") == 0, "report set before: %d '%s'",
              (int)st, lf_fusion_error(f));
        CHECK(access(path, F_OK) != 0 && rmdir(dir) == 0, "report set before: a file was left in %s", dir);
    }
    /* the engine's own flag */
    {
        lf_model *m;
        CHECK(lf_model_create(&m, 1) == LF_OK && lf_seed_network(m, 4, 8, NULL, NULL) == LF_OK, "the network");
        enum { R = 64 };
        float x[R * 4], t[R];
        for (size_t i = 0; i < R * 4; i++) x[i] = (float)(i % 7) / 7.0f;
        for (size_t i = 0; i < R; i++) t[i] = (float)(i % 3);
        const float *xs[2] = {x, x};
        lf_fit_options fo = lf_fit_defaults();
        fo.epochs = 3, fo.cancel = &one;
        lf_status st = lf_model_fit(m, xs, t, R, &fo);
        CHECK(st == LF_ERR_CANCELLED && strcmp(lf_model_error(m), "fit: cancelled") == 0 &&
                  lf_model_history(m)->epochs == 0,
              "lf_model_fit set before: %d '%s', %zu epochs", (int)st, lf_model_error(m), lf_model_history(m)->epochs);
        volatile int zero = 0;
        fo.cancel = &zero;
        CHECK(lf_model_fit(m, xs, t, R, &fo) == LF_OK && lf_model_history(m)->epochs == 3, "lf_model_fit at 0: %s",
              lf_model_error(m));
        lf_model_free(m);
    }
    /* a flag at 0: the same bits as none */
    {
        volatile int zero = 0;
        lf_fusion *g;
        CHECK(lf_fusion_create(&g) == LF_OK, "create");
        lf_fusion_options o = lf_fusion_defaults();
        o.method = LF_FUSE_MLP, o.epochs = 2;
        float a[N * C], b[N * C];
        CHECK(lf_fusion_fit(f, pp, names3, M, N, C, y, &o) == LF_OK, "fit: %s", lf_fusion_error(f));
        o.cancel = &zero;
        CHECK(lf_fusion_fit(g, pp, names3, M, N, C, y, &o) == LF_OK, "fit at 0: %s", lf_fusion_error(g));
        CHECK(lf_fusion_predict(f, pp, N, a) == LF_OK && lf_fusion_predict(g, pp, N, b) == LF_OK &&
                  memcmp(a, b, sizeof a) == 0,
              "a flag at 0 changed the fit");
        lf_fusion_free(g);
    }
    lf_fusion_free(f);
    free_data(p, y, M);
}

/* -------------------------------------------- set at the end of the CV */

/* Notes when the cross-validation's candidates are done (METHODS_DONE),
 * sets its flag then when armed, and counts the events after it. */
typedef struct at_done {
    volatile int flag;
    int armed, after;
    double when;
} at_done;

static void on_progress(void *ctx, const lf_progress *pr) {
    at_done *d = ctx;
    if (d->when > 0) d->after++;
    if (pr->event != LF_PROGRESS_METHODS_DONE) return;
    d->when = now_s();
    if (d->armed) d->flag = 1;
}

/* auto (report = 0) or the report of mean and wavg, armed or not: the
 * seconds from the end of the cross-validation to the return */
static double after_the_cv(lf_fusion *f, const float *const *pp, size_t N, size_t C, const int *y, int report,
                           int armed, at_done *d, const char *path, lf_status *st) {
    static const lf_method few[] = {LF_FUSE_MEAN, LF_FUSE_WAVG};
    memset(d, 0, sizeof *d);
    d->armed = armed;
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_AUTO, o.epochs = 2, o.cancel = &d->flag;
    o.progress = on_progress, o.progress_ctx = d;
    if (report) {
        lf_report_options ro = lf_report_defaults();
        ro.fusion = o, ro.methods = few, ro.n_methods = 2;
        *st = lf_fusion_report(f, pp, names3, M, N, C, y, &ro, path, LF_WRITE_NO_FSYNC);
    } else {
        *st = lf_fusion_fit(f, pp, names3, M, N, C, y, &o);
    }
    return now_s() - d->when;
}

/* Set as the cross-validation ends (read there too): auto's ensemble step
 * (N >= 20 C rows), and the report's parts after its compare (the best
 * method's out-of-fold outputs, its fit, the calibrated models' outputs),
 * stop at their first unit: the time to return a small share of the time
 * that work takes when the flag stays 0, no progress event after it. */
static void set_after_the_cv(void) {
    enum { N = 1000, C = 3 };
    float *p[M];
    int *y = new_data(p, M, N, C, 13, 0);
    const float *const *pp = (const float *const *)p;
    lf_fusion *f;
    CHECK(lf_fusion_create(&f) == LF_OK, "create");
    for (int report = 0; report < 2; report++) {
        const char *what = report ? "report" : "auto";
        char dir[] = "/tmp/latefuse_cancel.XXXXXX", path[64];
        CHECK(mkdtemp(dir) != NULL, "mkdtemp");
        snprintf(path, sizeof path, "%s/r.html", dir);
        at_done d;
        lf_status st;
        double whole = after_the_cv(f, pp, N, C, y, report, 0, &d, path, &st);
        CHECK(st == LF_OK && d.when > 0, "%s: %s", what, lf_fusion_error(f));
        remove(path);
        double stop = after_the_cv(f, pp, N, C, y, report, 1, &d, path, &st);
        printf("test_cancel: %s, %d rows: %.3f s from the end of the cross-validation to the return, %.3f s with "
               "the flag set there\n", what, (int)N, whole, stop);
        CHECK(d.flag && st == LF_ERR_CANCELLED && strcmp(lf_fusion_error(f), "cancelled") == 0,
              "%s set after the cross-validation: %d '%s'", what, (int)st, lf_fusion_error(f));
        CHECK(stop < whole / 10, "%s: %.3f s to return after the flag, %.3f s without it", what, stop, whole);
        CHECK(d.after == 0, "%s: %d progress events after the flag", what, d.after);
        CHECK(report || unfitted(f, pp, C), "auto set after the cross-validation: the fusion is fitted");
        CHECK(access(path, F_OK) != 0 && rmdir(dir) == 0, "a file was left in %s", dir);
    }
    lf_fusion_free(f);
    free_data(p, y, M);
}

/* --------------------------------------------------- set while running */

/* fit (method) or compare (stepless methods), the flag set `delay`
 * seconds in: returns the seconds from the flag to the return (negative:
 * the call ended first) */
static double stop_after(lf_fusion *f, const float *const *pp, size_t N, size_t C, const int *y, lf_method method,
                         int compare, double delay, lf_status *st_out) {
    setter s;
    lf_fusion_options o = lf_fusion_defaults();
    o.method = method;
    if (method == LF_FUSE_MLP) o.epochs = 100; /* about 10 s to its end: the steps must stop it */
    if (compare) o.folds = 20; /* a few seconds on two threads: the flag comes well before its end */
    *st_out = LF_ERR_STATE;
    if (!start_setter(&s, delay)) return -1e9;
    o.cancel = &s.flag;
    double t0 = now_s();
    lf_compare_table *t = NULL;
    /* compare: methods fitted without training steps, so that only the
     * cross-validation's own look at the flag stops it */
    static const lf_method stepless[] = {LF_FUSE_GES_LOG, LF_FUSE_DEMPSTER_SHAFER, LF_FUSE_BKS,
                                         LF_FUSE_DECISION_TEMPLATE, LF_FUSE_MEDIAN, LF_FUSE_GES};
    lf_status st = compare ? lf_fusion_compare(f, pp, names3, M, N, C, y, stepless, 6, &o, &t)
                           : lf_fusion_fit(f, pp, names3, M, N, C, y, &o);
    double end = now_s();
    pthread_join(s.th, NULL);
    lf_compare_table_free(t);
    *st_out = st;
    printf("test_cancel: %s %s, %zu rows: flag set %.2f s in, returned %.3f s after it (%s)\n",
           compare ? "compare" : "fit", compare ? "ges-log, dempster-shafer, ..." : lf_method_name(method), N,
           s.set_at - t0, end - s.set_at, lf_status_string(st));
    return st == LF_ERR_CANCELLED ? end - s.set_at : -(end - t0);
}

static void while_running(void) {
    enum { N = 20000, C = 5 };
    float *p[M];
    int *y = new_data(p, M, N, C, 12, 0);
    const float *const *pp = (const float *const *)p;
    lf_fusion *f;
    CHECK(lf_fusion_create(&f) == LF_OK, "create");
#ifdef _OPENMP
    int threads = omp_get_max_threads();
    omp_set_num_threads(2); /* the cross-validation's units on two threads, whatever the machine's cores */
#endif
    /* auto: its cross-validation (0.5 s in), later in it (3 s in); mlp's
     * training; compare.  The bound: a unit's time with room for a loaded
     * machine (or ThreadSanitizer), far below the whole call */
    static const struct { lf_method method; int compare; double delay; } runs[] = {
        {LF_FUSE_AUTO, 0, 0.5}, {LF_FUSE_AUTO, 0, 3.0}, {LF_FUSE_MLP, 0, 0.3}, {LF_FUSE_MEAN, 1, 0.5}};
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        lf_status st;
        double after = stop_after(f, pp, N, C, y, runs[i].method, runs[i].compare, runs[i].delay, &st);
        CHECK(st == LF_ERR_CANCELLED && after >= 0 && after < 2.0,
              "%s %s set %.1f s in: %s, %.3f s after the flag (negative: the call's whole time)",
              runs[i].compare ? "compare" : "fit", lf_method_name(runs[i].method), runs[i].delay,
              lf_status_string(st), after);
        CHECK(strcmp(lf_fusion_error(f), "cancelled") == 0, "message '%s'", lf_fusion_error(f));
        if (!runs[i].compare) CHECK(unfitted(f, pp, C), "%s: the fusion is fitted", lf_method_name(runs[i].method));
    }
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    lf_fusion_free(f);
    free_data(p, y, M);
}

/* ------------------------------------------------ in-memory predict */

static void predict_flag(void) {
    enum { N = 600, C = 4, NP = 4 * 65536 + 32768 };
    float *p[M], *q[M];
    int *y = new_data(p, M, N, C, 21, 0);
    float *q2[M];
    free(new_data(q, M, NP, C, 22, 1)); /* some rows missing a model */
    free(new_data(q2, M, NP, C, 25, 0)); /* none */
    const float *const *pp = (const float *const *)p, *const *qq = (const float *const *)q;
    float *a = malloc((size_t)NP * C * sizeof *a), *b = malloc((size_t)NP * C * sizeof *b);
    CHECK(a && b, "malloc");
    lf_fusion *f;
    CHECK(lf_fusion_create(&f) == LF_OK, "create");
    volatile int zero = 0, one = 1;
    static const lf_method methods[] = {LF_FUSE_MEAN, LF_FUSE_STACK_LR, LF_FUSE_KNORA_E};
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        lf_fusion_options o = lf_fusion_defaults();
        o.method = methods[i], o.epochs = 3;
        CHECK(lf_fusion_fit(f, pp, names3, M, N, C, y, &o) == LF_OK, "fit %s: %s", lf_method_name(methods[i]),
              lf_fusion_error(f));
        lf_fusion_predict_options po = lf_fusion_predict_defaults();
        po.cancel = &zero;
        char err[256];
        CHECK(lf_fusion_predict(f, qq, NP, a) == LF_OK && lf_fusion_predict_with(f, qq, NP, &po, b, err, sizeof err) == LF_OK &&
                  memcmp(a, b, (size_t)NP * C * sizeof *a) == 0,
              "predict %s in blocks: not the bits of one call (%s)", lf_method_name(methods[i]), err);
        po.cancel = &one;
        double t0 = now_s();
        lf_status st = lf_fusion_predict_with(f, qq, NP, &po, b, err, sizeof err);
        CHECK(st == LF_ERR_CANCELLED && strcmp(err, "cancelled") == 0 && now_s() - t0 < 0.5,
              "predict %s, set before: %d '%s'", lf_method_name(methods[i]), (int)st, err);
        /* a bad value in the third block: the message of one call (the rows
         * counted from the first), also where each block checks its own */
        for (int clean = 0; clean < 2; clean++) {
            float *const *qs = clean ? q2 : q;
            float *at = &qs[1][(size_t)(2 * 65536 + 7) * C + 2], keep = *at;
            *at = -0.5f;
            char e1[256], e2[256];
            const char *want = "model 1: row 131079, class 2 is a negative probability (-0.5)";
            lf_fusion_predict_options po1 = lf_fusion_predict_defaults();
            lf_status s1 = lf_fusion_predict_with(f, (const float *const *)qs, NP, &po1, a, e1, sizeof e1);
            po1.cancel = &zero;
            lf_status s2 = lf_fusion_predict_with(f, (const float *const *)qs, NP, &po1, b, e2, sizeof e2);
            CHECK(s1 == LF_ERR_FORMAT && s2 == s1 && strcmp(e1, want) == 0 && strcmp(e2, want) == 0,
                  "%s, a bad value in the third block (%s): %d '%s', in blocks %d '%s'", lf_method_name(methods[i]),
                  clean ? "no row missing" : "rows missing", (int)s1, e1, (int)s2, e2);
            *at = keep;
        }
    }
    /* knora-e fitted with features: the features of each block's rows */
    {
        enum { FW = 3 };
        float *fx = malloc((size_t)NP * FW * sizeof *fx);
        CHECK(fx != NULL, "malloc");
        for (size_t i = 0; i < (size_t)NP * FW; i++) fx[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
        lf_fusion_options o = lf_fusion_defaults();
        o.method = LF_FUSE_KNORA_E, o.features = fx + (size_t)1000 * FW, o.n_features = FW;
        CHECK(lf_fusion_fit(f, pp, names3, M, N, C, y, &o) == LF_OK, "fit knora-e with features: %s",
              lf_fusion_error(f));
        lf_fusion_predict_options po = lf_fusion_predict_defaults();
        po.features = fx, po.n_features = FW;
        char err[256];
        CHECK(lf_fusion_predict_features(f, qq, NP, fx, FW, a, err, sizeof err) == LF_OK, "with features: %s", err);
        po.cancel = &zero;
        CHECK(lf_fusion_predict_with(f, qq, NP, &po, b, err, sizeof err) == LF_OK &&
                  memcmp(a, b, (size_t)NP * C * sizeof *a) == 0,
              "knora-e with features in blocks: not the bits of one call (%s)", err);
        free(fx);
    }
    free_data(p, y, M);
    free_data(q, NULL, M);
    free_data(q2, NULL, M);
    /* set by another thread: knora-e over 2000 fitting rows, 8 blocks */
    {
        enum { NF = 2000, NB = 8 * 65536 };
        float *r[M], *s8[M];
        int *yr = new_data(r, M, NF, C, 23, 0);
        free(new_data(s8, M, NB, C, 24, 0));
        float *out = malloc((size_t)NB * C * sizeof *out);
        CHECK(out != NULL, "malloc");
        lf_fusion_options o = lf_fusion_defaults();
        o.method = LF_FUSE_KNORA_E;
        CHECK(lf_fusion_fit(f, (const float *const *)r, names3, M, NF, C, yr, &o) == LF_OK, "fit knora-e: %s",
              lf_fusion_error(f));
        double t0 = now_s();
        CHECK(lf_fusion_predict(f, (const float *const *)s8, NB, out) == LF_OK, "knora-e predict");
        double whole = now_s() - t0;
        setter set;
        CHECK(start_setter(&set, whole / 8), "pthread_create");
        lf_fusion_predict_options po = lf_fusion_predict_defaults();
        po.cancel = &set.flag;
        char err[256];
        t0 = now_s();
        lf_status st = lf_fusion_predict_with(f, (const float *const *)s8, NB, &po, out, err, sizeof err);
        double dt = now_s() - t0;
        pthread_join(set.th, NULL);
        printf("test_cancel: knora-e predict of %d rows %.2f s; flag at %.2f s, returned at %.2f s\n", NB, whole,
               set.set_at - t0, dt);
        CHECK(st == LF_ERR_CANCELLED && strcmp(err, "cancelled") == 0, "knora-e predict, set during: %d '%s'",
              (int)st, err);
        CHECK(dt < 0.6 * whole, "knora-e predict, set after %.2f s: returned after %.2f s (%.2f s in all)",
              whole / 8, dt, whole);
        free(out);
        free_data(r, yr, M);
        free_data(s8, NULL, M);
    }
    lf_fusion_free(f);
    free(a);
    free(b);
}

int main(void) {
    predict_flag();
    already_set();
    set_after_the_cv();
    while_running();
    return check_report("test_cancel");
}
