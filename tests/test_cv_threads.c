/*
 * test_cv_threads.c — compare's and auto's cross-validation on the threads
 * of one process (cv_units.c, cv_threads): the units dealt to workers give
 * the table of one thread to the bit, for every method (the dynamic-
 * selection group included: plan_tasks may cut its folds into tasks of
 * their scoring passes), with calibration, missing rows and the accuracies without
 * each model; auto's file and note are the same bytes; progress tells each
 * item once, in order, and leaves the caller's thread count as it was; a
 * cancel flag set midway (by the progress callback) fails the call
 * cleanly, the events stopping there (a flag set before the call:
 * test_cancel.c); lf_fusion_options.threads sets the team for the call
 * alone (compare's, and the report's page the same bytes for each count);
 * lf_fusion_predict_options.threads likewise for an in-memory predict
 * (knora-e's: on 1 thread the other threads burn no CPU time, on 2 under a
 * caller's 1 they do; the same bits for each count); lf_threads_default
 * is the calling thread's count.
 */
#include "check.h"
#include "fusion_data.h"
#include "latefuse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const char *const names3[3] = {"a", "b", "c"};
#ifdef _OPENMP
enum { OMP = 1 };
#else
enum { OMP = 0 };
#endif

static void set_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

/* every number of two tables equal (names, scores, acc_without) */
static int same_table(const lf_compare_table *a, const lf_compare_table *b, size_t M) {
    if (!a || !b || a->n_rows != b->n_rows) return 0;
    for (size_t r = 0; r < a->n_rows; r++) {
        const lf_score_row *x = &a->rows[r], *y = &b->rows[r];
        if (strcmp(x->name, y->name) || x->kind != y->kind || x->method != y->method ||
            x->calibrated != y->calibrated || memcmp(x->mean, y->mean, sizeof x->mean) ||
            memcmp(x->std, y->std, sizeof x->std) || x->ensemble_weight != y->ensemble_weight ||
            !x->acc_without != !y->acc_without ||
            (x->acc_without && memcmp(x->acc_without, y->acc_without, M * sizeof(double))))
            return 0;
    }
    return 1;
}

typedef struct {
    size_t events, in_order, cancel_at; /* cancel_at: set *flag as that item is told (0: never) */
    volatile int *flag;
} seen;

static void count(void *ctx, const lf_progress *p) {
    seen *s = ctx;
    if (p->event != LF_PROGRESS_METHOD) return;
    s->in_order += p->item == s->events + 1;
    s->events++;
    if (s->cancel_at && p->item == s->cancel_at) __atomic_store_n(s->flag, 1, __ATOMIC_RELAXED); /* as the header asks of a thread */
}

static int max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static void test_compare(void) {
    enum { M = 3, N = 300, C = 3 };
    float *p[M];
    int *y = new_data(p, M, N, C, 11, 1);
    lf_compare_table *t[3] = {NULL, NULL, NULL};
    lf_fusion *f;
    lf_fusion_create(&f);
    for (int cal = 0; cal <= 1; cal++) {
        for (int th = 1; th <= 3; th++) {
            set_threads(th);
            lf_fusion_options o = lf_fusion_defaults();
            o.epochs = 3, o.folds = 4, o.calibrate = cal, o.seed = 5;
            seen s = {0, 0, 0, NULL};
            o.progress = count, o.progress_ctx = &s;
            CHECK(lf_fusion_compare(f, (const float *const *)p, names3, M, N, C, y, NULL, 0, &o, &t[th - 1]) == LF_OK,
                  "compare on %d threads: %s", th, lf_fusion_error(f));
            CHECK(max_threads() == th, "the caller's threads after compare: %d, not %d", max_threads(), th);
            size_t n = (size_t)lf_method_list(NULL, 0);
            CHECK(s.events == n && s.in_order == n, "%d threads: %zu method events, %zu in order (of %zu)", th,
                  s.events, s.in_order, n);
        }
        CHECK(same_table(t[0], t[1], M) && same_table(t[0], t[2], M),
              "calibrate %d: the table on 2 and 3 threads is the one of 1", cal);
        for (int th = 0; th < 3; th++) lf_compare_table_free(t[th]), t[th] = NULL;
    }
    lf_fusion_free(f);
    free_data(p, y, M);
    set_threads(2);
}

/* the largest team the progress callback was told from (it runs on the
 * caller's thread, inside compare's parallel region once that thread has
 * taken a task: almost always, but on an oversubscribed machine the other
 * threads may take them all first, so only "at most" is checked) */
static void team(void *ctx, const lf_progress *p) {
    (void)p;
#ifdef _OPENMP
    int *most = ctx;
    if (omp_get_num_threads() > *most) *most = omp_get_num_threads();
#else
    *(int *)ctx = 1;
#endif
}

static unsigned char *slurp(const char *path, size_t *n);

/* lf_report_options.fusion.threads, under a caller's 3: the page of 1 and
 * 2 threads is the one of the caller's count, byte for byte, the caller's
 * count is its own after each call, and 1025 fails with the exact message
 * and writes no page */
static void test_report_threads(lf_fusion *f, float *const *p, const int *y, const lf_method *ms) {
    enum { M = 3, N = 200, C = 3 };
    char path[3][32] = {"/tmp/latefuse_cvt_XXXXXX", "/tmp/latefuse_cvt_XXXXXX", "/tmp/latefuse_cvt_XXXXXX"};
    unsigned char *bytes[3] = {NULL, NULL, NULL};
    size_t len[3] = {0, 0, 0};
    for (int th = 0; th <= 2; th++) {
        close(mkstemp(path[th]));
        lf_report_options r = lf_report_defaults();
        r.fusion.folds = 3, r.fusion.epochs = 2, r.fusion.threads = (size_t)th;
        r.methods = ms, r.n_methods = 4;
        CHECK(lf_fusion_report(f, (const float *const *)p, names3, M, N, C, y, &r, path[th], 0) == LF_OK,
              "report, threads %d: %s", th, lf_fusion_error(f));
        CHECK(max_threads() == (OMP ? 3 : 1), "report, threads %d: the caller's count after: %d", th,
              max_threads());
        bytes[th] = slurp(path[th], &len[th]);
        unlink(path[th]);
    }
    for (int th = 1; th <= 2; th++)
        CHECK(bytes[0] && bytes[th] && len[0] == len[th] && memcmp(bytes[0], bytes[th], len[0]) == 0,
              "report: the page of %d threads is the one of 3 (%zu and %zu bytes)", th, len[th], len[0]);
    for (int th = 0; th <= 2; th++) free(bytes[th]);
    lf_report_options r = lf_report_defaults();
    r.fusion.threads = 1025;
    char gone[] = "/tmp/latefuse_cvt_report_never.html";
    unlink(gone);
    CHECK(lf_fusion_report(f, (const float *const *)p, names3, M, N, C, y, &r, gone, 0) == LF_ERR_ARG &&
              strstr(lf_fusion_error(f), "threads must be 0 (OpenMP's count) or 1..1024, got 1025") &&
              access(gone, F_OK) != 0,
          "report, threads 1025: '%s'", lf_fusion_error(f));
    CHECK(max_threads() == (OMP ? 3 : 1), "the caller's count after report's error: %d", max_threads());
}

/* lf_fusion_options.threads: compare's team is at most that many (0: the
 * caller's count), the caller's count after the call is its own, the table the same
 * bits for each; out of range, the exact error */
static void test_threads_option(void) {
    enum { M = 3, N = 200, C = 3 };
    float *p[M];
    int *y = new_data(p, M, N, C, 8, 0);
    lf_method ms[4] = {LF_FUSE_MEAN, LF_FUSE_STACK_LR, LF_FUSE_GES_LOG, LF_FUSE_KNORA_U};
    lf_compare_table *t[3] = {NULL, NULL, NULL};
    lf_fusion *f;
    lf_fusion_create(&f);
    set_threads(3);
    for (int th = 0; th <= 2; th++) {
        int most = 0;
        lf_fusion_options o = lf_fusion_defaults();
        o.folds = 3, o.epochs = 2, o.threads = (size_t)th, o.progress = team, o.progress_ctx = &most;
        CHECK(lf_fusion_compare(f, (const float *const *)p, names3, M, N, C, y, ms, 4, &o, &t[th]) == LF_OK,
              "compare, threads %d: %s", th, lf_fusion_error(f));
        CHECK(most >= 1 && most <= (OMP ? (th ? th : 3) : 1), "threads %d: a team of %d threads", th, most);
        CHECK(max_threads() == (OMP ? 3 : 1), "threads %d: the caller's count after: %d", th,
              max_threads());
    }
    CHECK(same_table(t[0], t[1], M) && same_table(t[0], t[2], M), "threads 1 and 2 give the table of 3");
    for (int th = 0; th <= 2; th++) lf_compare_table_free(t[th]);
    lf_fusion_options o = lf_fusion_defaults();
    o.threads = 1025;
    lf_compare_table *bad = NULL;
    CHECK(lf_fusion_compare(f, (const float *const *)p, names3, M, N, C, y, ms, 4, &o, &bad) == LF_ERR_ARG &&
              !bad && strcmp(lf_fusion_error(f), "threads must be 0 (OpenMP's count) or 1..1024, got 1025") == 0,
          "threads 1025: '%s'", lf_fusion_error(f));
    o.method = LF_FUSE_MEAN;
    CHECK(lf_fusion_fit(f, (const float *const *)p, names3, M, N, C, y, &o) == LF_ERR_ARG,
          "fit, threads 1025: '%s'", lf_fusion_error(f));
    CHECK(max_threads() == (OMP ? 3 : 1), "the caller's count after the errors: %d", max_threads());
    test_report_threads(f, p, y, ms);
    lf_fusion_free(f);
    free_data(p, y, M);
    set_threads(2);
}

/* the bytes of a file, *n of them (NULL when unreadable) */
static unsigned char *slurp(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    unsigned char *b = NULL;
    size_t cap = 0;
    *n = 0;
    for (;;) {
        if (*n == cap) {
            unsigned char *nb = realloc(b, cap = cap ? 2 * cap : 65536);
            if (!nb) break;
            b = nb;
        }
        size_t got = fread(b + *n, 1, cap - *n, fp);
        if (!got) break;
        *n += got;
    }
    fclose(fp);
    return b;
}

static void test_auto(void) {
    enum { M = 3, N = 400, C = 3 };
    float *p[M];
    int *y = new_data(p, M, N, C, 2, 0);
    char path[2][32] = {"/tmp/latefuse_cvt_XXXXXX", "/tmp/latefuse_cvt_XXXXXX"};
    unsigned char *bytes[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    char note[2][2048];
    for (int i = 0; i < 2; i++) {
        close(mkstemp(path[i]));
        set_threads(i ? 3 : 1);
        lf_fusion *f;
        lf_fusion_create(&f);
        lf_fusion_options o = lf_fusion_defaults();
        o.method = LF_FUSE_AUTO, o.epochs = 4, o.folds = 4;
        CHECK(lf_fusion_fit(f, (const float *const *)p, names3, M, N, C, y, &o) == LF_OK, "auto: %s",
              lf_fusion_error(f));
        snprintf(note[i], sizeof note[i], "%s", lf_fusion_auto_note(f) ? lf_fusion_auto_note(f) : "(none)");
        CHECK(lf_fusion_save(f, path[i], 0) == LF_OK, "save: %s", lf_fusion_error(f));
        bytes[i] = slurp(path[i], &len[i]);
        lf_fusion_free(f);
        unlink(path[i]);
    }
    CHECK(bytes[0] && bytes[1] && len[0] == len[1] && memcmp(bytes[0], bytes[1], len[0]) == 0,
          "auto's file on 3 threads is the one of 1 (%zu and %zu bytes)", len[0], len[1]);
    CHECK(strcmp(note[0], note[1]) == 0, "the same note: '%s' and '%s'", note[0], note[1]);
    free(bytes[0]), free(bytes[1]);
    free_data(p, y, M);
    set_threads(2);
}

/* the flag set by the progress callback as the third method is told: on
 * 1 and 3 threads, LF_ERR_CANCELLED, no table, the events in order and
 * none after the flag was seen (on 1 thread: 3) */
static void test_cancel_midway(void) {
    enum { M = 3, N = 600, C = 3 };
    float *p[M];
    int *y = new_data(p, M, N, C, 4, 0);
    for (int th = 1; th <= 3; th += 2) {
        set_threads(th);
        volatile int flag = 0;
        seen s = {0, 0, 3, &flag};
        lf_fusion *f;
        lf_fusion_create(&f);
        lf_fusion_options o = lf_fusion_defaults();
        o.folds = 4, o.epochs = 3, o.cancel = &flag, o.progress = count, o.progress_ctx = &s;
        lf_compare_table *t = NULL;
        size_t n = (size_t)lf_method_list(NULL, 0);
        CHECK(lf_fusion_compare(f, (const float *const *)p, names3, M, N, C, y, NULL, 0, &o, &t) ==
                      LF_ERR_CANCELLED &&
                  t == NULL && strcmp(lf_fusion_error(f), "cancelled") == 0,
              "%d threads, cancelled midway: '%s'", th, lf_fusion_error(f));
        CHECK(s.in_order == s.events && s.events >= 3 && s.events < n && (th > 1 || s.events == 3),
              "%d threads: %zu method events (%zu in order) of %zu", th, s.events, s.in_order, n);
        lf_fusion_free(f);
    }
    free_data(p, y, M);
    set_threads(2);
}

static double cpu_s(clockid_t which) {
    struct timespec ts;
    clock_gettime(which, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* knora-e's predict with opt->threads under the caller's count `caller`:
 * the CPU seconds of the calling thread and of the others (*other) */
static double predict_cpu(const lf_fusion *f, const float *const *q, size_t n, size_t threads, int caller,
                          float *out, double *other) {
    set_threads(caller);
    lf_fusion_predict_options po = lf_fusion_predict_defaults();
    po.threads = threads;
    double t0 = cpu_s(CLOCK_THREAD_CPUTIME_ID), p0 = cpu_s(CLOCK_PROCESS_CPUTIME_ID);
    char err[256];
    CHECK(lf_fusion_predict_with(f, q, n, &po, out, err, sizeof err) == LF_OK, "predict, threads %zu: %s", threads,
          err);
    double t = cpu_s(CLOCK_THREAD_CPUTIME_ID) - t0, all = cpu_s(CLOCK_PROCESS_CPUTIME_ID) - p0;
    CHECK(max_threads() == (OMP ? caller : 1), "predict, threads %zu: the caller's count after: %d, not %d",
          threads, max_threads(), caller);
    *other = all - t;
    return t;
}

/* lf_fusion_predict_options.threads: 1 under a caller's 3 keeps the work
 * on the calling thread, 2 under a caller's 1 shares it; the same bits as
 * the caller's count; 1025 is refused with the exact message */
static void test_predict_threads(void) {
    enum { M = 3, NF = 3000, NQ = 60000, C = 4 };
    float *p[M], *q[M];
    int *y = new_data(p, M, NF, C, 31, 0);
    free(new_data(q, M, NQ, C, 32, 1));
    float *a = malloc((size_t)NQ * C * sizeof *a), *b = malloc((size_t)NQ * C * sizeof *b);
    CHECK(a && b, "malloc");
    lf_fusion *f;
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_KNORA_E, o.threads = 1; /* no OpenMP team (whose idle threads may spin) before the first
                                                   measurement: this test runs first */
    CHECK(lf_fusion_create(&f) == LF_OK && lf_fusion_fit(f, (const float *const *)p, names3, M, NF, C, y, &o) == LF_OK,
          "fit knora-e: %s", lf_fusion_error(f));
    const float *const *qq = (const float *const *)q;
    double other1, other2;
    double own1 = predict_cpu(f, qq, NQ, 1, 3, a, &other1);
    double own2 = predict_cpu(f, qq, NQ, 2, 1, b, &other2);
    printf("test_cv_threads: knora-e predict, CPU s of the caller / the others: threads 1 (caller 3) %.3f / %.3f, "
           "threads 2 (caller 1) %.3f / %.3f\n", own1, other1, own2, other2);
    /* slack for idle threads that spin a while (an OpenMP runtime's, a
     * sanitizer's): 0.000 in the runs so far, the fit being on one thread */
    CHECK(other1 <= 0.25 * own1 + 0.02, "threads 1: the other threads took %.3f s of CPU (the caller %.3f)", other1,
          own1);
    CHECK(!OMP || other2 >= 0.2 * (own2 + other2), "threads 2 under a caller's 1: the others took %.3f s (the caller %.3f)",
          other2, own2);
    CHECK(memcmp(a, b, (size_t)NQ * C * sizeof *a) == 0, "threads 1 and 2 give different bits");
    set_threads(3);
    CHECK(lf_fusion_predict(f, qq, NQ, b) == LF_OK && memcmp(a, b, (size_t)NQ * C * sizeof *a) == 0,
          "threads 1 and the caller's 3 give different bits");
    lf_fusion_predict_options po = lf_fusion_predict_defaults();
    po.threads = 1025;
    char err[256];
    CHECK(lf_fusion_predict_with(f, qq, NQ, &po, b, err, sizeof err) == LF_ERR_ARG &&
              strcmp(err, "predict: threads must be 0 (OpenMP's count) or 1..1024, got 1025") == 0,
          "predict, threads 1025: '%s'", err);
    CHECK(max_threads() == (OMP ? 3 : 1), "the caller's count after predict's error: %d", max_threads());
    /* what threads 0 means on this thread */
    CHECK(lf_threads_default() == (OMP ? 3u : 1u), "lf_threads_default under a caller's 3: %zu", lf_threads_default());
    set_threads(2000);
    CHECK(lf_threads_default() == (OMP ? 1024u : 1u), "lf_threads_default under a caller's 2000: %zu",
          lf_threads_default());
    set_threads(2);
    lf_fusion_free(f);
    free_data(p, y, M);
    free_data(q, NULL, M);
    free(a);
    free(b);
}

int main(void) {
    test_predict_threads();
    test_compare();
    test_auto();
    test_cancel_midway();
    test_threads_option();
    return check_report("test_cv_threads");
}
