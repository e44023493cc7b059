/*
 * test_importance.c — lf_fusion_importance: what each model is worth,
 * measured at fit time on the fitting rows.  A mean-rule case by hand
 * (without a model the mean is the other model's row); a case larger than
 * one block of rows against lf_fusion_predict + lf_fusion_metrics on the
 * whole input; the fusion file round trip; a file with a bad importance;
 * the same bits on one thread as on all, and a model that ges leaves out
 * worth exactly nothing.
 */
#include "check.h"
#include "io/safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const char *const names3[3] = {"a", "b", "c"};

static void test_by_hand(void) {
    /* 3 rows, 2 classes, labels 0 1 0.  A: .9 .1 / .6 .4 / .8 .2 (right,
     * wrong, right); B: .5 .5 / .2 .8 / .3 .7 (argmax 0 by the tie rule,
     * right, wrong).  Mean: .7 .3 / .4 .6 / .55 .45: all right. */
    float a[6] = {0.9f, 0.1f, 0.6f, 0.4f, 0.8f, 0.2f}, b[6] = {0.5f, 0.5f, 0.2f, 0.8f, 0.3f, 0.7f};
    const float *p[2] = {a, b};
    int y[3] = {0, 1, 0};
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_MEAN;
    CHECK(lf_fusion_fit(f, p, names3, 2, 3, 2, y, &o) == LF_OK, "fit: %s", lf_fusion_error(f));
    double ll[3], acc[3];
    CHECK(lf_fusion_importance(f, ll, acc, 3) == 3, "M + 1 values");
    double all = -(log(0.7) + log(0.6) + log(0.55)) / 3, no_a = -(log(0.5) + log(0.8) + log(0.3)) / 3,
           no_b = -(log(0.9) + log(0.4) + log(0.8)) / 3;
    CHECK(fabs(ll[0] - all) < 1e-6 && fabs(ll[1] - no_a) < 1e-6 && fabs(ll[2] - no_b) < 1e-6,
          "log-loss %g %g %g, by hand %g %g %g", ll[0], ll[1], ll[2], all, no_a, no_b);
    CHECK(fabs(acc[0] - 1.0) < 1e-12 && fabs(acc[1] - 2.0 / 3) < 1e-12 && fabs(acc[2] - 2.0 / 3) < 1e-12,
          "accuracy %g %g %g, by hand 1 2/3 2/3", acc[0], acc[1], acc[2]);
    CHECK(lf_fusion_importance(f, ll, acc, 2) == 3, "cap too small: the count, nothing written");

    /* the file keeps it; a bad one is refused */
    char path[] = "/tmp/latefuse_imp_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK(lf_fusion_save(f, path, 0) == LF_OK, "save: %s", lf_fusion_error(f));
    lf_fusion *g;
    lf_fusion_create(&g);
    double ll2[3], acc2[3];
    CHECK(lf_fusion_load(g, path) == LF_OK && lf_fusion_importance(g, ll2, acc2, 3) == 3 &&
              memcmp(ll, ll2, sizeof ll) == 0 && memcmp(acc, acc2, sizeof acc) == 0,
          "round trip: %s", lf_fusion_error(g));
    lf_st_file sf;
    lf_err e;
    CHECK(lf_st_read(path, &sf, &e) == LF_OK, "read back");
    const char *keys[3] = {"format", "format_version", "fusion"};
    const char *vals[3] = {lf_st_metadata(&sf, "format"), lf_st_metadata(&sf, "format_version"),
                           "{\"method\":\"mean\",\"calibrated\":false,\"logits\":false,\"classes\":2,"
                           "\"models\":[\"a\",\"b\"],\"temperatures\":[1,1],"
                           "\"importance\":{\"log_loss\":[0.1,0.2],\"accuracy\":[1,1]}}"};
    CHECK(lf_st_write(path, NULL, 0, keys, vals, 3, 0, &e) == LF_OK, "write: %s", e.msg);
    CHECK(lf_fusion_load(g, path) == LF_ERR_FORMAT &&
              strstr(lf_fusion_error(g),
                     "fusion settings: 'importance' must be {\"log_loss\": [...], \"accuracy\": [...]} with 3 numbers each"),
          "%s", lf_fusion_error(g));
    vals[2] = "{\"method\":\"mean\",\"calibrated\":false,\"logits\":false,\"classes\":2,"
              "\"models\":[\"a\",\"b\"],\"temperatures\":[1,1],"
              "\"importance\":{\"log_loss\":[0.1,0.2,0.3],\"accuracy\":[1,1.5,1]}}";
    CHECK(lf_st_write(path, NULL, 0, keys, vals, 3, 0, &e) == LF_OK, "write: %s", e.msg);
    CHECK(lf_fusion_load(g, path) == LF_ERR_FORMAT &&
              strstr(lf_fusion_error(g),
                     "fusion settings: importance 1 must be a log-loss in [0, 1e6) and an accuracy in [0, 1]"),
          "%s", lf_fusion_error(g));
    lf_st_free(&sf);
    unlink(path);
    lf_fusion_free(g);
    lf_fusion_free(f);
}

enum { M = 3, N = 40000, NT = 70000, C = 4 }; /* NT: rows for test_threads (5 blocks) */
static float p[M][NT * C], out[N * C];
static int y[NT];

/* more rows than one block, a learned method, missing rows */
static void test_blocks(void) {
    uint64_t s = 3;
    for (size_t r = 0; r < NT; r++) { /* the first N rows: test_blocks' */
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        y[r] = (int)((s >> 33) % C);
        for (size_t k = 0; k < M; k++) {
            float *row = p[k] + r * C;
            if (k == 1 && r % 7 == 0) {
                for (size_t c = 0; c < C; c++) row[c] = (float)NAN;
                continue;
            }
            double z = 0;
            for (size_t c = 0; c < C; c++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                z += row[c] = (float)exp(2.0 * (double)(s >> 11) / 9007199254740992.0 + ((int)c == y[r] ? 0.5 * (double)k : 0));
            }
            for (size_t c = 0; c < C; c++) row[c] = (float)(row[c] / z);
        }
    }
    const float *pp[M] = {p[0], p[1], p[2]};
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_WAVG, o.epochs = 2;
    CHECK(lf_fusion_fit(f, pp, names3, M, N, C, y, &o) == LF_OK, "fit: %s", lf_fusion_error(f));
    double ll[M + 1], acc[M + 1];
    CHECK(lf_fusion_importance(f, ll, acc, M + 1) == M + 1, "M + 1 values");
    for (size_t drop = 0; drop <= M; drop++) {
        const float *qq[M];
        for (size_t k = 0; k < M; k++) qq[k] = drop == k + 1 ? NULL : p[k];
        double met[LF_NUM_METRICS];
        CHECK(lf_fusion_predict(f, qq, N, out) == LF_OK && lf_fusion_metrics(out, y, N, C, met) == LF_OK, "predict");
        CHECK(fabs(ll[drop] - met[LF_METRIC_LOG_LOSS]) < 1e-9 && fabs(acc[drop] - met[LF_METRIC_ACCURACY]) < 1e-12,
              "without model %zu: %.9f %.6f, whole input %.9f %.6f", drop, ll[drop], acc[drop],
              met[LF_METRIC_LOG_LOSS], met[LF_METRIC_ACCURACY]);
    }
    CHECK(ll[3] > ll[0] + 0.01 && acc[3] < acc[0], "the strongest model matters: %g -> %g", ll[0], ll[3]);

    lf_fusion_free(f);
}

/* test_blocks' data, NT rows (enough blocks for two threads to take them
 * in turn): every method's importance the same bits on one thread as on
 * two; ges's weightless model (the first, with no margin on the label)
 * changes nothing */
static void test_threads(void) {
    const float *pp[M] = {p[0], p[1], p[2]};
    static const lf_method ms[] = {LF_FUSE_MEAN, LF_FUSE_GES, LF_FUSE_WAVG, LF_FUSE_DEMPSTER_SHAFER, LF_FUSE_BKS};
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++) {
        double ll[2][M + 1], acc[2][M + 1];
        float w[M];
        for (int one = 0; one <= 1; one++) {
#ifdef _OPENMP
            int keep = omp_get_max_threads();
            omp_set_num_threads(one ? 1 : 2);
#endif
            lf_fusion *f;
            lf_fusion_create(&f);
            lf_fusion_options o = lf_fusion_defaults();
            o.method = ms[i], o.epochs = 2;
            CHECK(lf_fusion_fit(f, pp, names3, M, NT, C, y, &o) == LF_OK, "fit: %s", lf_fusion_error(f));
            CHECK(lf_fusion_importance(f, ll[one], acc[one], M + 1) == M + 1, "M + 1 values");
            if (ms[i] == LF_FUSE_GES) lf_fusion_weights(f, w, M, NULL, NULL);
            lf_fusion_free(f);
#ifdef _OPENMP
            omp_set_num_threads(keep);
#endif
        }
        CHECK(memcmp(ll[0], ll[1], sizeof ll[0]) == 0 && memcmp(acc[0], acc[1], sizeof acc[0]) == 0,
              "%s: the importance on one thread differs", lf_method_name(ms[i]));
        if (ms[i] == LF_FUSE_GES)
            CHECK(w[0] == 0.0f && w[2] > 0.5f && ll[1][1] == ll[1][0] && acc[1][1] == acc[1][0] &&
                      ll[1][3] > ll[1][0] + 0.01,
                  "ges: weights %g %g %g; without the first %.17g %.17g, with all %.17g %.17g", w[0], w[1], w[2],
                  ll[1][1], acc[1][1], ll[1][0], acc[1][0]);
    }
}

int main(void) {
    test_by_hand();
    test_blocks();
    test_threads();
    return check_report("test_importance");
}
