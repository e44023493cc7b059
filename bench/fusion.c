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
 * Each timed run fits a fresh lf_fusion; median of RUNS.  The last fit
 * predicts the test rows; their log-loss and accuracy come from
 * lf_fusion_metrics.  Output: "RESULT <key> <value>" lines.
 */
#define _POSIX_C_SOURCE 200809L
#include "latefuse.h"
#include "io/npy.h"

#include "timing.h"
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
        lf_fusion *f = NULL;
        for (size_t r = 0; r < runs; r++) {
            lf_fusion_free(f);
            f = NULL;
            if (lf_fusion_create(&f) != LF_OK) goto out;
            double t0 = now_s();
            lf_status st = lf_fusion_fit(f, (const float *const *)tr.p, names, NMODELS, tr.n, tr.c,
                                         tr.y, &o);
            t[r] = now_s() - t0;
            if (st != LF_OK) {
                fprintf(stderr, "fusion: fitting %s failed: %s\n", mn, lf_fusion_error(f));
                lf_fusion_free(f);
                goto out;
            }
            fprintf(stderr, "fusion: B5 %s fit %.3f s\n", mn, t[r]);
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
        printf("RESULT b5.%s.latefuse.median_s %.6g\n", mn, median(t, runs));
        printf("RESULT b5.%s.latefuse.min_s %.6g\n", mn, t[0]);
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

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "b5") == 0)
        return bench_b5(argv[2], arg_size(argc, argv, 3, 3), arg_size(argc, argv, 4, 3));
    fprintf(stderr, "usage: fusion b5 DIR [epochs] [runs]\n");
    return 2;
}
