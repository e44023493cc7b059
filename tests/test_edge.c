/*
 * test_edge.c — numerical edge cases, each with its defined behaviour:
 * NaN and ±Inf in inputs, logits of ±1e30, all-zero probability rows, a
 * single class, a single sample, more classes than samples, a class absent
 * from the training labels, a model missing for every row; and predict from
 * 8 threads at once on one model (bit-identical to a serial run).
 */
#include "check.h"
#include "latefuse.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *names[2] = {"a", "b"};

static lf_status try_fit(lf_fusion *f, lf_method m, const float *const *p, size_t N, size_t C,
                         const int *y, int logits) {
    lf_fusion_options o = lf_fusion_defaults();
    o.method = m, o.logits = logits;
    return lf_fusion_fit(f, p, names, 2, N, C, y, &o);
}

static void test_values(void) {
    lf_fusion *f;
    lf_fusion_create(&f);
    /* logits of +-1e30: softmax is one-hot, every method stays finite */
    float a[6] = {1e30f, -1e30f, 0, -1e30f, 1e30f, 0}, b[6] = {0, 0, 1e30f, 1e30f, 0, -1e30f};
    const float *p[2] = {a, b};
    int y[2] = {0, 1};
    float out[6];
    for (int m = 0; m < LF_FUSE_AUTO; m++) {
        lf_status st = try_fit(f, m, p, 2, 3, y, 1);
        CHECK(st == LF_OK, "%s on logits of 1e30: %s", lf_method_name(m), lf_fusion_error(f));
        CHECK(lf_fusion_predict(f, p, 2, out) == LF_OK, "%s predict", lf_method_name(m));
        int finite = 1;
        double s0 = 0;
        for (int i = 0; i < 6; i++) finite &= isfinite(out[i]) && out[i] >= 0;
        for (int i = 0; i < 3; i++) s0 += out[i];
        CHECK(finite && fabs(s0 - 1) < 1e-5, "%s: output finite and normalised (sum %g)", lf_method_name(m), s0);
    }
    /* NaN / Inf inside a present row: rejected with the exact message */
    float c[6] = {0.5f, 0.5f, 0, 0.2f, 0.3f, 0.5f};
    const float *pc[2] = {c, c};
    c[1] = -INFINITY;
    CHECK(try_fit(f, LF_FUSE_MEAN, pc, 2, 3, y, 1) == LF_ERR_FORMAT &&
              strcmp(lf_fusion_error(f), "model 'a': row 0, class 1 is -Inf") == 0, "%s", lf_fusion_error(f));
    c[1] = 0.5f;
    /* an all-zero probability row */
    float z[6] = {0, 0, 0, 0.2f, 0.3f, 0.5f};
    const float *pz[2] = {z, c};
    CHECK(try_fit(f, LF_FUSE_MEAN, pz, 2, 3, y, 0) == LF_ERR_FORMAT &&
              strcmp(lf_fusion_error(f),
                     "model 'a': row 0 sums to 0, not 1 (tolerance 1e-3; raw scores need the logits option)") == 0,
          "%s", lf_fusion_error(f));
    /* predict rejects the same inputs by status */
    CHECK(try_fit(f, LF_FUSE_MEAN, pc, 2, 3, y, 0) == LF_OK, "fit");
    CHECK(lf_fusion_predict(f, pz, 2, out) == LF_ERR_FORMAT, "predict on an all-zero row");
    /* a single class is not a classification problem */
    float one[2] = {1, 1};
    const float *p1[2] = {one, one};
    int y0[2] = {0, 0};
    CHECK(try_fit(f, LF_FUSE_MEAN, p1, 2, 1, y0, 0) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f), "fusion needs at least 2 classes, got 1") == 0, "%s", lf_fusion_error(f));
    lf_fusion_free(f);
}

static void test_shapes(void) {
    lf_fusion *f;
    lf_fusion_create(&f);
    /* a single sample; more classes (10) than samples; classes 2..9 never
     * seen in training: every method fits and predicts a distribution */
    float a[10] = {0.55f, 0.05f, 0.05f, 0.05f, 0.05f, 0.05f, 0.05f, 0.05f, 0.05f, 0.05f};
    float b[10] = {0.05f, 0.55f, 0.05f, 0.05f, 0.05f, 0.05f, 0.05f, 0.05f, 0.05f, 0.05f};
    const float *p[2] = {a, b};
    int y[1] = {0};
    float out[10];
    for (int m = 0; m < LF_FUSE_AUTO; m++) {
        lf_fusion_options o = lf_fusion_defaults();
        o.method = m;
        lf_status st = lf_fusion_fit(f, p, names, 2, 1, 10, y, &o);
        CHECK(st == LF_OK, "%s on one sample: %s", lf_method_name(m), lf_fusion_error(f));
        CHECK(lf_fusion_predict(f, p, 1, out) == LF_OK, "predict");
        double s = 0;
        for (int c = 0; c < 10; c++) s += out[c];
        CHECK(fabs(s - 1) < 1e-5, "%s: sums to %g", lf_method_name(m), s);
    }
    /* cross-validation needs as many samples as folds */
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_AUTO;
    CHECK(lf_fusion_fit(f, p, names, 2, 1, 10, y, &o) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f), "5 folds need at least 5 samples, got 1") == 0, "%s", lf_fusion_error(f));
    /* a model missing for every row, given as NULL or as NaN rows: the
     * same answer, the other model's output (mean rule) */
    float nan10[10];
    for (int c = 0; c < 10; c++) nan10[c] = NAN;
    const float *pn[2] = {a, nan10}, *pnull[2] = {a, NULL};
    float o1[10], o2[10];
    o.method = LF_FUSE_MEAN;
    CHECK(lf_fusion_fit(f, pn, names, 2, 1, 10, y, &o) == LF_OK, "fit with a model absent");
    lf_fusion_predict(f, pn, 1, o1);
    lf_fusion_predict(f, pnull, 1, o2);
    CHECK(memcmp(o1, o2, sizeof o1) == 0, "NULL and NaN rows agree");
    CHECK_CLOSE("mean with b absent", o1, a, 10, 1e-7, 0);
    lf_fusion_free(f);
}

/* the engine: NaN in predict propagates to that row only */
static void test_engine_nan(void) {
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input(m, 3, "x");
    int o = lf_dense(m, x, 2, LF_ACT_SOFTMAX, 1, "o");
    lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL);
    float in[6] = {1, 2, 3, NAN, 0, 0}, out[4];
    const float *xs[1] = {in};
    CHECK(lf_model_predict(m, xs, 2, out) == LF_OK, "predict");
    CHECK(isfinite(out[0]) && isfinite(out[1]) && isnan(out[2]) && isnan(out[3]),
          "NaN stays in its own row: %g %g %g %g", out[0], out[1], out[2], out[3]);
    lf_model_free(m);
}

/* ------------------------------------------------------------- threads */

typedef struct {
    const lf_fusion *f;
    const lf_model *m;
    const float *const *p;
    const float *const *x;
    size_t N;
    float *out, *mout;
    lf_status st;
} job;

static void *worker(void *arg) {
    job *j = arg;
    for (int rep = 0; rep < 5 && j->st == LF_OK; rep++) {
        j->st = lf_fusion_predict(j->f, j->p, j->N, j->out);
        if (j->st == LF_OK) j->st = lf_model_predict(j->m, j->x, j->N, j->mout);
    }
    return NULL;
}

static void test_threads(void) {
    size_t N = 2000, C = 5;
    float *a = malloc(N * C * sizeof *a), *b = malloc(N * C * sizeof *b);
    int *y = malloc(N * sizeof *y);
    unsigned long long s = 7;
    for (size_t r = 0; r < N; r++) {
        y[r] = (int)(r % C);
        double sa = 0, sb = 0;
        for (size_t c = 0; c < C; c++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            a[r * C + c] = (float)(s >> 40) / 16777216.0f + (c == (size_t)y[r]);
            b[r * C + c] = (float)((s >> 20) & 0xfffff) / 1048576.0f + 0.5f * (c == (size_t)y[r]);
            sa += a[r * C + c], sb += b[r * C + c];
        }
        for (size_t c = 0; c < C; c++) a[r * C + c] /= (float)sa, b[r * C + c] /= (float)sb;
    }
    const float *p[2] = {a, b};
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_MLP;
    CHECK(lf_fusion_fit(f, p, names, 2, N, C, y, &o) == LF_OK, "%s", lf_fusion_error(f));
    lf_model *m;
    lf_model_create(&m, 3);
    int xa = lf_input(m, C, "a"), xb = lf_input(m, C, "b");
    int h = lf_dense(m, lf_concatenate(m, 2, (int[]){xa, xb}, NULL), 256, LF_ACT_RELU, 1, NULL);
    lf_model_compile(m, lf_dense(m, h, C, LF_ACT_SOFTMAX, 1, NULL), LF_LOSS_MSE, NULL);
    float *ref = malloc(N * C * sizeof *ref), *mref = malloc(N * C * sizeof *mref);
    lf_fusion_predict(f, p, N, ref);
    lf_model_predict(m, p, N, mref);
    job jobs[8];
    pthread_t th[8];
    for (int t = 0; t < 8; t++) {
        jobs[t] = (job){f, m, p, p, N, malloc(N * C * sizeof(float)), malloc(N * C * sizeof(float)), LF_OK};
        pthread_create(&th[t], NULL, worker, &jobs[t]);
    }
    for (int t = 0; t < 8; t++) {
        pthread_join(th[t], NULL);
        CHECK(jobs[t].st == LF_OK, "thread %d failed", t);
        CHECK(memcmp(jobs[t].out, ref, N * C * sizeof *ref) == 0, "thread %d: fusion differs from serial", t);
        CHECK(memcmp(jobs[t].mout, mref, N * C * sizeof *ref) == 0, "thread %d: model differs from serial", t);
        free(jobs[t].out), free(jobs[t].mout);
    }
    lf_fusion_free(f);
    lf_model_free(m);
    free(a), free(b), free(y), free(ref), free(mref);
}

int main(void) {
    test_values();
    test_shapes();
    test_engine_nan();
    test_threads();
    return check_report("test_edge");
}
