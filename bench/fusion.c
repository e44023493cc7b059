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

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { NMODELS = 3 };

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* A minimal reader of the .npy files gendata.py writes: version 1 or 2,
 * C order, '<f4' (float32) or '<i4' (int32), 1 or 2 dimensions.  Returns the
 * data (malloc'd) and its shape, or NULL with a message on stderr. */
static void *read_npy(const char *path, const char *want, size_t *rows, size_t *cols) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "fusion: cannot open '%s'\n", path);
        return NULL;
    }
    unsigned char pre[12];
    char *hdr = NULL;
    void *data = NULL;
    size_t hlen = 0;
    if (fread(pre, 1, 10, fp) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) goto bad;
    if (pre[6] == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else {
        if (fread(pre + 10, 1, 2, fp) != 2) goto bad;
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    }
    if (!(hdr = calloc(hlen + 1, 1)) || fread(hdr, 1, hlen, fp) != hlen) goto bad;
    char descr[16];
    snprintf(descr, sizeof descr, "'%s'", want);
    const char *shape = strstr(hdr, "'shape': (");
    if (!strstr(hdr, descr) || !strstr(hdr, "'fortran_order': False") || !shape) goto bad;
    char *end;
    *rows = (size_t)strtoull(shape + 10, &end, 10);
    *cols = 1;
    if (*end == ',' && end[1] == ' ' && end[2] != ')') *cols = (size_t)strtoull(end + 2, &end, 10);
    size_t n = *rows * *cols;
    if (!(data = malloc(n ? 4 * n : 1)) || fread(data, 4, n, fp) != n) goto bad;
    free(hdr);
    fclose(fp);
    return data;
bad:
    fprintf(stderr, "fusion: '%s' is not a C-order %s .npy file this reader knows\n", path, want);
    free(hdr);
    free(data);
    fclose(fp);
    return NULL;
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
        if (!(s->p[k] = read_npy(path, "<f4", &r, &c))) return 1;
        if (k > 0 && (r != s->n || c != s->c)) {
            fprintf(stderr, "fusion: '%s' has a different shape\n", path);
            return 1;
        }
        s->n = r, s->c = c;
    }
    snprintf(path, sizeof path, "%s/%s_y.npy", dir, part);
    if (!(s->y = read_npy(path, "<i4", &r, &c))) return 1;
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
        o.verbose = 0;
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
