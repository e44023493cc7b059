/*
 * fusion.c — the latefuse side of benchmark B5 (see bench/README.md):
 * fitting the learned fusion methods wavg, wavg-class and stack-lr with the
 * public C API (lf_fusion_fit), then scoring each on held-out rows.
 * bench/torch_peer.py (b5) trains the same networks in PyTorch and
 * bench/sklearn_peer.py fits scikit-learn's LogisticRegression for stack-lr.
 *
 *   fusion b5 DIR EPOCHS RUNS
 *
 * DIR holds train_{a,b,c,y}.npy and test_{a,b,c,y}.npy (bench/gendata.py
 * b5: float32 N x C outputs of 3 models, int32 labels).  The options are
 * set explicitly so the work is exactly defined: EPOCHS epochs, no modality
 * dropout (every training row once), seed 0, no calibration.  The library
 * also holds out the last 10 % of the shuffled rows for validation (one
 * evaluation per epoch, early stopping with patience 8), as the peer does.
 * Each fit is of a fresh lf_fusion: one warm-up fit, then RUNS timed ones
 * (median, min and max), as the peers do.  The last fit predicts the test
 * rows; their log-loss and accuracy come from lf_fusion_metrics.
 *
 *   fusion b9 ROWS FIT_ROWS RUNS
 *
 * B9: greedy ensemble selection (ges) fitted on ROWS rows of 5 models x 10
 * classes (one warm-up, then RUNS timed fits: median, min and max; then
 * RUNS more with fit's default importance measurement), and
 * dynamic selection (knora-e) fitted on FIT_ROWS rows and predicting ROWS
 * rows (one timed run), and auto's fit (every method with and without
 * calibration cross-validated, then its ensemble step) on the first
 * FIT_ROWS / 10 of those rows (one timed run); the data are drawn here
 * (seeded; each model right about 60 to 75 % of the time).
 *
 * Output: "RESULT <key> <value>" lines.
 */
#define _POSIX_C_SOURCE 200809L
#include "latefuse.h"
#include "io/npy.h"

#include "b9_data.h"
#include "timing.h"
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { NMODELS = 3 };

/* The .npy files gendata.py writes, through the library's reader (float32
 * model outputs; int32 labels, which it converts exactly to float). */
static float *read_npy(const char *path, size_t *rows, size_t *cols) {
    lf_array arr;
    lf_err e;
    if (lf_npy_read(path, &arr, &e) != LF_OK) {
        fprintf(stderr, "fusion: %s\n", e.msg);
        return NULL;
    }
    *rows = arr.rows, *cols = arr.cols;
    return arr.data;
}

typedef struct split {
    float *p[NMODELS];
    int *y;
    size_t n, c;
} split;

static int load_split(const char *dir, const char *part, split *s) {
    char path[4096];
    size_t r, c;
    memset(s, 0, sizeof *s);
    for (int k = 0; k < NMODELS; k++) {
        snprintf(path, sizeof path, "%s/%s_%c.npy", dir, part, 'a' + k);
        if (!(s->p[k] = read_npy(path, &r, &c))) return 1;
        if (k > 0 && (r != s->n || c != s->c)) {
            fprintf(stderr, "fusion: '%s' has a different shape\n", path);
            return 1;
        }
        s->n = r, s->c = c;
    }
    snprintf(path, sizeof path, "%s/%s_y.npy", dir, part);
    float *yf = read_npy(path, &r, &c);
    if (!yf) return 1;
    s->y = malloc((r ? r : 1) * sizeof *s->y);
    for (size_t i = 0; s->y && i < r; i++) s->y[i] = (int)yf[i];
    LF_FREE(yf);
    if (!s->y) return 1;
    if (r != s->n) {
        fprintf(stderr, "fusion: '%s' has %zu labels for %zu rows\n", path, r, s->n);
        return 1;
    }
    return 0;
}

static void free_split(split *s) {
    for (int k = 0; k < NMODELS; k++) free(s->p[k]);
    free(s->y);
}

/* RESULT <bench>.<what>.<side>.{median_s,min_s,max_s} of n times */
static void print_times(const char *bench, const char *what, const char *side, const double *t, size_t n) {
    double lo = t[0], hi = t[0];
    for (size_t i = 1; i < n; i++) lo = t[i] < lo ? t[i] : lo, hi = t[i] > hi ? t[i] : hi;
    double *s = malloc(n * sizeof *s);
    if (!s) return;
    memcpy(s, t, n * sizeof *s);
    printf("RESULT %s.%s.%s.median_s %.6g\n", bench, what, side, median(s, n));
    printf("RESULT %s.%s.%s.min_s %.6g\nRESULT %s.%s.%s.max_s %.6g\n", bench, what, side, lo, bench, what,
           side, hi);
    free(s);
}

static int bench_b5(const char *dir, size_t epochs, size_t runs) {
    static const char *const names[NMODELS] = {"a", "b", "c"};
    static const lf_method methods[] = {LF_FUSE_WAVG, LF_FUSE_WAVG_CLASS, LF_FUSE_STACK_LR};
    split tr, te;
    memset(&tr, 0, sizeof tr);
    memset(&te, 0, sizeof te);
    int rc = 1;
    double *t = malloc(runs * sizeof *t);
    float *prob = NULL;
    if (!t || load_split(dir, "train", &tr) || load_split(dir, "test", &te)) goto out;
    if (!(prob = malloc(te.n * te.c * sizeof *prob))) goto out;
    printf("RESULT b5.rows %zu\nRESULT b5.test_rows %zu\nRESULT b5.epochs %zu\n", tr.n, te.n, epochs);
    for (size_t mi = 0; mi < sizeof methods / sizeof *methods; mi++) {
        const char *mn = lf_method_name(methods[mi]);
        lf_fusion_options o = lf_fusion_defaults();
        o.method = methods[mi];
        o.epochs = epochs;
        o.modality_dropout = 0.0f;
        o.seed = 0;
        o.importance = 0; /* the peers measure no importance */
        lf_fusion *f = NULL;
        for (size_t r = 0; r <= runs; r++) { /* r = 0: the warm-up */
            lf_fusion_free(f);
            f = NULL;
            if (lf_fusion_create(&f) != LF_OK) goto out;
            double t0 = now_s();
            lf_status st = lf_fusion_fit(f, (const float *const *)tr.p, names, NMODELS, tr.n, tr.c,
                                         tr.y, &o);
            double dt = now_s() - t0;
            if (st != LF_OK) {
                fprintf(stderr, "fusion: fitting %s failed: %s\n", mn, lf_fusion_error(f));
                lf_fusion_free(f);
                goto out;
            }
            fprintf(stderr, "fusion: B5 %s fit %.3f s%s\n", mn, dt, r ? "" : " (warm-up)");
            if (r) t[r - 1] = dt;
        }
        double met[LF_NUM_METRICS];
        lf_status st = lf_fusion_predict(f, (const float *const *)te.p, te.n, prob);
        if (st == LF_OK) st = lf_fusion_metrics(prob, te.y, te.n, te.c, met);
        if (st != LF_OK) {
            fprintf(stderr, "fusion: scoring %s failed: %s\n", mn, lf_status_string(st));
            lf_fusion_free(f);
            goto out;
        }
        printf("RESULT b5.%s.latefuse.runs %zu\n", mn, runs);
        print_times("b5", mn, "latefuse", t, runs);
        printf("RESULT b5.%s.latefuse.logloss %.6g\n", mn, met[LF_METRIC_LOG_LOSS]);
        printf("RESULT b5.%s.latefuse.accuracy %.6g\n", mn, met[LF_METRIC_ACCURACY]);
        fflush(stdout);
        lf_fusion_free(f);
    }
    rc = 0;
out:
    free_split(&tr);
    free_split(&te);
    free(prob);
    free(t);
    return rc;
}

static size_t arg_size(int argc, char **argv, int i, size_t def) {
    if (argc <= i) return def;
    char *end;
    unsigned long long v = strtoull(argv[i], &end, 10);
    return (*end || v == 0) ? def : (size_t)v;
}

static int bench_b9(size_t n, size_t n_fit, size_t runs) {
    enum { M = 5, C = 10 };
    static const char *const names[M] = {"a", "b", "c", "d", "e"};
    float *p[M], *q[M], *out = malloc(n * C * sizeof *out);
    int *y = malloc(n * sizeof *y), *yq = malloc(n_fit * sizeof *yq), rc = 1;
    double *t = malloc(runs * sizeof *t);
    for (int k = 0; k < M; k++) p[k] = malloc(n * C * sizeof(float)), q[k] = malloc(n_fit * C * sizeof(float));
    for (int k = 0; k < M; k++)
        if (!p[k] || !q[k]) goto out;
    if (!out || !y || !yq || !t) goto out;
    b9_draw(1, n, M, C, p, C, y);
    b9_draw(2, n_fit, M, C, q, C, yq);
    printf("RESULT b9.rows %zu\nRESULT b9.fit_rows %zu\nRESULT b9.models %d\nRESULT b9.classes %d\n", n, n_fit,
           M, C);
    /* ges: fit on n rows */
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_GES;
    /* the selection itself: fit's importance (M + 1 predictions of the
     * rows, on by default) is timed apart, as b9.importance */
    o.importance = 0;
    for (size_t r = 0; r <= runs; r++) {
        lf_fusion *f;
        if (lf_fusion_create(&f) != LF_OK) goto out;
        double t0 = now_s(), c0 = cpu_s();
        lf_status st = lf_fusion_fit(f, (const float *const *)p, names, M, n, C, y, &o);
        double dt = now_s() - t0;
        if (st != LF_OK) {
            fprintf(stderr, "fusion: B9 ges fit failed: %s\n", lf_fusion_error(f));
            lf_fusion_free(f);
            goto out;
        }
        fprintf(stderr, "fusion: B9 ges fit %.3f s (CPU %.3f s)%s\n", dt, cpu_s() - c0, r ? "" : " (warm-up)");
        if (r) t[r - 1] = dt;
        lf_fusion_free(f);
    }
    print_times("b9", "ges_fit", "latefuse", t, runs);
    o.importance = 1; /* the fit as a user gets it: RUNS timed fits more */
    for (size_t r = 0; r < runs; r++) {
        lf_fusion *f;
        if (lf_fusion_create(&f) != LF_OK) goto out;
        double t0 = now_s(), c0 = cpu_s();
        lf_status st = lf_fusion_fit(f, (const float *const *)p, names, M, n, C, y, &o);
        t[r] = now_s() - t0;
        lf_fusion_free(f);
        if (st != LF_OK) goto out;
        fprintf(stderr, "fusion: B9 ges fit with importance %.3f s (CPU %.3f s)\n", t[r], cpu_s() - c0);
    }
    print_times("b9", "ges_fit_with_importance", "latefuse", t, runs);
    o.importance = 0;
    /* dynamic selection: fit on n_fit rows, predict n rows; knora-e only
     * (the others find the same neighbours), one run and no warm-up: at
     * full size a run takes minutes */
    static const char *const des[] = {"knora-e"};
    runs = 1;
    for (size_t d = 0; d < sizeof des / sizeof *des; d++) {
        int id = lf_method_parse(des[d]);
        if (id < 0) {
            printf("RESULT b9.%s.missing 1\n", des[d]);
            continue;
        }
        lf_fusion *f;
        if (lf_fusion_create(&f) != LF_OK) goto out;
        o.method = (lf_method)id;
        lf_status st = lf_fusion_fit(f, (const float *const *)q, names, M, n_fit, C, yq, &o);
        double cpu = 0;
        for (size_t r = 0; st == LF_OK && r < runs; r++) {
            double t0 = now_s(), c0 = cpu_s();
            st = lf_fusion_predict(f, (const float *const *)p, n, out);
            double dt = now_s() - t0;
            cpu = cpu_s() - c0;
            fprintf(stderr, "fusion: B9 %s predict %.3f s (CPU %.3f s)\n", des[d], dt, cpu);
            t[r] = dt;
        }
        if (st != LF_OK) {
            fprintf(stderr, "fusion: B9 %s failed: %s\n", des[d], lf_fusion_error(f));
            lf_fusion_free(f);
            goto out;
        }
        lf_fusion_free(f);
        char what[32];
        snprintf(what, sizeof what, "%s_predict", des[d]);
        print_times("b9", what, "latefuse", t, runs);
        printf("RESULT b9.%s.latefuse.cpu_s %.6g\n", what, cpu);
    }
    /* auto, as a user gets it (the default options) */
    lf_fusion_options ao = lf_fusion_defaults();
    ao.method = LF_FUSE_AUTO;
    size_t n_auto = n_fit / 10;
    lf_fusion *f;
    if (lf_fusion_create(&f) != LF_OK) goto out;
    double t0 = now_s(), c0 = cpu_s();
    lf_status st = lf_fusion_fit(f, (const float *const *)q, names, M, n_auto, C, yq, &ao);
    t[0] = now_s() - t0;
    double cpu = cpu_s() - c0;
    if (st != LF_OK) fprintf(stderr, "fusion: B9 auto fit failed: %s\n", lf_fusion_error(f));
    else fprintf(stderr, "fusion: B9 auto fit, %zu rows: %.3f s (CPU %.3f s)\n", n_auto, t[0], cpu);
    lf_fusion_free(f);
    if (st != LF_OK) goto out;
    printf("RESULT b9.auto_rows %zu\n", n_auto);
    print_times("b9", "auto_fit", "latefuse", t, 1);
    printf("RESULT b9.auto_fit.latefuse.cpu_s %.6g\n", cpu);
    rc = 0;
out:
    for (int k = 0; k < M; k++) free(p[k]), free(q[k]);
    free(out), free(y), free(yq), free(t);
    return rc;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "b5") == 0)
        return bench_b5(argv[2], arg_size(argc, argv, 3, 3), arg_size(argc, argv, 4, 3));
    if (argc >= 2 && strcmp(argv[1], "b9") == 0)
        return bench_b9(arg_size(argc, argv, 2, 1000000), arg_size(argc, argv, 3, 100000),
                        arg_size(argc, argv, 4, 3));
    fprintf(stderr, "usage: fusion b5 DIR [epochs] [runs] | fusion b9 [rows] [fit_rows] [runs]\n");
    return 2;
}
