/*
 * test_evidence.c — evidence combination (dempster-shafer, bks).  Cases
 * small enough to follow by hand (two classes, where Rogova's rule reduces
 * to a product of squared proximity ratios; a behaviour-knowledge space
 * of a few cells, with a tie, a missing model and an unseen tuple; a row
 * with no model present, uniform); both
 * against independent, naive implementations of the documented formulas on
 * random data with missing rows; the file round trip, bit for bit; files
 * with a bad value or shape rejected with their message.
 */
#include "check.h"
#include "io/safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NaN ((float)NAN)

static const char *const names3[3] = {"a", "b", "c"};

static lf_fusion *fit(lf_method m, const float *const *p, size_t M, size_t N, size_t C, const int *y) {
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = m;
    lf_status st = lf_fusion_fit(f, p, names3, M, N, C, y, &o);
    CHECK(st == LF_OK, "fit %s: %s", lf_method_name(m), lf_fusion_error(f));
    return f;
}

static void test_ds_by_hand(void) {
    /* A: (.8 .2) y0, (.6 .4) y0, (.3 .7) y1, (.1 .9) y1 -> templates
     *    DT_0 = (.7 .3), DT_1 = (.2 .8);
     * B: (.6 .4) y0, (.4 .6) y0, (.2 .8) y1, (.4 .6) y1 -> DT_0 = (.5 .5),
     *    DT_1 = (.3 .7).
     * Query: A (.6 .4), B (.45 .55).  Squared distances: A .02 and .32,
     * B .005 and .045.  With two classes 1 - Φ_1 = Φ_0, so
     * b_0 = Φ_0² / (1 - Φ_0 Φ_1), b_1 = Φ_1² / (same), and
     * μ_0 / μ_1 = prod_k (Φ_0k / Φ_1k)² = (1.32/1.02)² (1.045/1.005)². */
    float a[8] = {.8f, .2f, .6f, .4f, .3f, .7f, .1f, .9f}, b[8] = {.6f, .4f, .4f, .6f, .2f, .8f, .4f, .6f};
    int y[4] = {0, 0, 1, 1};
    const float *p[2] = {a, b};
    lf_fusion *f = fit(LF_FUSE_DEMPSTER_SHAFER, p, 2, 4, 2, y);
    float qa[4] = {.6f, .4f, .6f, .4f}, qb[4] = {.45f, .55f, NaN, NaN}, out[4];
    const float *q[2] = {qa, qb};
    CHECK(lf_fusion_predict(f, q, 2, out) == LF_OK, "predict");
    double R = pow(1.32 / 1.02, 2) * pow(1.045 / 1.005, 2), RA = pow(1.32 / 1.02, 2);
    CHECK(fabs(out[0] - R / (1 + R)) < 1e-6 && fabs(out[1] - 1 / (1 + R)) < 1e-6, "dempster-shafer %g %g, by hand %g",
          out[0], out[1], R / (1 + R));
    /* B missing in row 1: A's evidence alone */
    CHECK(fabs(out[2] - RA / (1 + RA)) < 1e-6, "A alone: %g, by hand %g", out[2], RA / (1 + RA));
    lf_fusion_free(f);
}

/* Rogova's rule as documented, written out plainly (products, no logs) */
static void ref_ds(const float *const *fp, size_t M, size_t N, size_t C, const int *y, const float *const *q, size_t r,
                   double *mu) {
    double T[4][4][4]; /* [model][class][value] */
    for (size_t k = 0; k < M; k++)
        for (size_t j = 0; j < C; j++) {
            double n = 0;
            for (size_t c = 0; c < C; c++) T[k][j][c] = 0;
            for (size_t i = 0; i < N; i++)
                if ((size_t)y[i] == j && !isnan(fp[k][i * C])) {
                    n++;
                    for (size_t c = 0; c < C; c++) T[k][j][c] += fp[k][i * C + c];
                }
            for (size_t c = 0; c < C; c++) T[k][j][c] = n ? T[k][j][c] / n : 1.0 / (double)C;
        }
    for (size_t j = 0; j < C; j++) mu[j] = 1;
    int any = 0;
    for (size_t k = 0; k < M; k++) {
        const float *d = q[k] + r * C;
        if (isnan(d[0])) continue;
        any = 1;
        double phi[4], z = 0;
        for (size_t j = 0; j < C; j++) {
            double s = 0;
            for (size_t c = 0; c < C; c++) s += (T[k][j][c] - d[c]) * (T[k][j][c] - d[c]);
            z += phi[j] = 1 / (1 + s);
        }
        for (size_t j = 0; j < C; j++) phi[j] /= z;
        for (size_t j = 0; j < C; j++) {
            double prod = 1;
            for (size_t t = 0; t < C; t++)
                if (t != j) prod *= 1 - phi[t];
            mu[j] *= phi[j] * prod / (1 - phi[j] * (1 - prod));
        }
    }
    double s = 0;
    for (size_t j = 0; j < C; j++) s += any ? mu[j] : (mu[j] = 1);
    for (size_t j = 0; j < C; j++) mu[j] /= s;
}

static void test_bks_by_hand(void) {
    /* 3 classes; the tuples (A's class, B's class; 3 = missing):
     *   (0,0) labels 0, 0, 1 -> counts 2 1 0
     *   (1,0) label 1        -> 0 1 0
     *   (1,3) label 2        -> 0 0 1  (B missing)
     *   (2,1) labels 0, 1    -> 1 1 0  (a tie) */
    float a[7 * 3] = {.8f, .1f, .1f, .7f, .2f, .1f, .6f, .3f, .1f, .2f, .7f, .1f, .1f, .8f, .1f, .1f, .1f, .8f, .2f, .2f, .6f};
    float b[7 * 3] = {.5f, .3f, .2f, .6f, .2f, .2f, .4f, .3f, .3f, .5f, .4f, .1f, NaN, NaN, NaN, .1f, .8f, .1f, .3f, .4f, .3f};
    int y[7] = {0, 0, 1, 1, 2, 0, 1};
    const float *p[2] = {a, b};
    lf_fusion *f = fit(LF_FUSE_BKS, p, 2, 7, 3, y);
    /* queries: (0,0); (1,3); (2,1) tie split by the mean; (2,2) unseen;
     * (0,3) unseen (A 0, B missing) */
    float qa[15] = {.5f, .3f, .2f, .2f, .5f, .3f, .3f, .3f, .4f, .1f, .1f, .8f, .9f, .05f, .05f};
    float qb[15] = {.4f, .3f, .3f, NaN, NaN, NaN, .2f, .5f, .3f, .2f, .2f, .6f, NaN, NaN, NaN};
    const float *q[2] = {qa, qb};
    float out[15];
    CHECK(lf_fusion_predict(f, q, 5, out) == LF_OK, "predict");
    double want[15] = {
        /* (0,0): (n_c + .5 m_c) / 3.5, m = (.45 .3 .25) */
        (2 + .5 * .45) / 3.5, (1 + .5 * .3) / 3.5, (0 + .5 * .25) / 3.5,
        /* (1,3): m = A's row */
        (.5 * .2) / 1.5, (.5 * .5) / 1.5, (1 + .5 * .3) / 1.5,
        /* (2,1): counts 1 1 0, m = (.25 .4 .35): class 1 wins the tie */
        (1 + .5 * .25) / 2.5, (1 + .5 * .4) / 2.5, (.5 * .35) / 2.5,
        /* unseen: the mean rule */
        .15, .15, .7, .9, .05, .05};
    int ok = 1;
    for (int i = 0; i < 15; i++) ok &= fabs(out[i] - want[i]) < 1e-6;
    CHECK(ok, "bks by hand: %g %g %g | %g %g %g | %g %g %g | %g %g %g | %g %g %g", out[0], out[1], out[2], out[3],
          out[4], out[5], out[6], out[7], out[8], out[9], out[10], out[11], out[12], out[13], out[14]);
    CHECK(out[7] > out[6], "the tie goes to the class the mean prefers");
    lf_fusion_free(f);
}

/* A row with no model present gets the uniform distribution, as every
 * method gives it (lf_fusion_predict), even when fitting rows with no
 * model present filled the all-missing tuple's cell with their labels. */
static void test_bks_no_model_present(void) {
    float a[4 * 3] = {.8f, .1f, .1f, NaN, NaN, NaN, NaN, NaN, NaN, .1f, .1f, .8f};
    float b[4 * 3] = {.6f, .2f, .2f, NaN, NaN, NaN, NaN, NaN, NaN, .2f, .2f, .6f};
    int y[4] = {0, 1, 1, 2}; /* the all-missing cell (3,3): counts 0 2 0 */
    const float *p[2] = {a, b};
    lf_fusion *f = fit(LF_FUSE_BKS, p, 2, 4, 3, y);
    float qa[3] = {NaN, NaN, NaN}, qb[3] = {NaN, NaN, NaN}, out[3];
    const float *q[2] = {qa, qb};
    CHECK(lf_fusion_predict(f, q, 1, out) == LF_OK, "predict: %s", lf_fusion_error(f));
    CHECK(out[0] == 1.0f / 3 && out[1] == 1.0f / 3 && out[2] == 1.0f / 3,
          "bks, no model present: %g %g %g, want the uniform distribution", out[0], out[1], out[2]);
    const float *none[2] = {NULL, NULL}; /* every model left out */
    CHECK(lf_fusion_predict(f, none, 1, out) == LF_OK && out[1] == 1.0f / 3,
          "bks, every model left out: %g %g %g, want the uniform distribution", out[0], out[1], out[2]);
    lf_fusion_free(f);
}

static int ref_class(const float *row, size_t C) {
    if (isnan(row[0])) return (int)C;
    size_t b = 0;
    for (size_t c = 1; c < C; c++)
        if (row[c] > row[b]) b = c;
    return (int)b;
}

/* behaviour-knowledge space as documented, by a scan of the fitting rows */
static void ref_bks(const float *const *fp, size_t M, size_t N, size_t C, const int *y, const float *const *q, size_t r,
                    double *out) {
    double n[4] = {0}, tot = 0, mean[4] = {0};
    size_t np = 0;
    for (size_t i = 0; i < N; i++) {
        int same = 1;
        for (size_t k = 0; k < M; k++) same &= ref_class(fp[k] + i * C, C) == ref_class(q[k] + r * C, C);
        if (same) n[y[i]]++, tot++;
    }
    for (size_t k = 0; k < M; k++) {
        if (isnan(q[k][r * C])) continue;
        np++;
        for (size_t c = 0; c < C; c++) mean[c] += q[k][r * C + c];
    }
    for (size_t c = 0; c < C; c++) {
        double m = np ? mean[c] / (double)np : 1.0 / (double)C;
        out[c] = tot && np ? (n[c] + 0.5 * m) / (tot + 0.5) : m; /* no model present: uniform */
    }
}

static double urand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static void random_outputs(float (*p)[3], size_t N, int *y, uint64_t *s) {
    enum { M = 3, C = 3 };
    for (size_t r = 0; r < N; r++) {
        y[r] = (int)(urand(s) * C);
        for (size_t k = 0; k < M; k++) {
            float *row = p[k * N + r];
            if ((k == 1 && urand(s) < 0.15) || (k == 2 && urand(s) < 0.05)) {
                for (size_t c = 0; c < C; c++) row[c] = NaN;
                continue;
            }
            double z = 0, e[C];
            for (size_t c = 0; c < C; c++) z += e[c] = exp(2.0 * urand(s) + ((int)c == y[r] ? 0.5 + 0.4 * (double)k : 0));
            for (size_t c = 0; c < C; c++) row[c] = (float)(e[c] / z);
        }
    }
}

static void test_against_reference(void) {
    enum { M = 3, C = 3, NF = 300, NQ = 200 };
    static float pf[M * NF][C], pq[M * NQ][C];
    static int yf[NF], yq[NQ];
    uint64_t s = 77;
    random_outputs(pf, NF, yf, &s);
    random_outputs(pq, NQ, yq, &s);
    const float *fp[M] = {pf[0], pf[NF], pf[2 * NF]}, *qp[M] = {pq[0], pq[NQ], pq[2 * NQ]};
    static float out[NQ * C], out2[NQ * C];
    const lf_method ms[2] = {LF_FUSE_DEMPSTER_SHAFER, LF_FUSE_BKS};
    for (int m = 0; m < 2; m++) {
        lf_fusion *f = fit(ms[m], fp, M, NF, C, yf);
        CHECK(lf_fusion_predict(f, qp, NQ, out) == LF_OK, "predict");
        size_t bad = 0, argmax_not_mean = 0;
        double worst = 0;
        for (size_t r = 0; r < NQ; r++) {
            double want[C], mean[C];
            if (ms[m] == LF_FUSE_BKS) ref_bks(fp, M, NF, C, yf, qp, r, want);
            else ref_ds(fp, M, NF, C, yf, qp, r, want);
            /* how often the method's choice differs from the mean rule's */
            size_t np = 0;
            for (size_t c = 0; c < C; c++) mean[c] = 0;
            for (size_t k = 0; k < M; k++)
                if (!isnan(qp[k][r * C])) {
                    np++;
                    for (size_t c = 0; c < C; c++) mean[c] += qp[k][r * C + c];
                }
            size_t bw = 0, bm = 0;
            for (size_t c = 1; c < C; c++) bw = want[c] > want[bw] ? c : bw, bm = mean[c] > mean[bm] ? c : bm;
            argmax_not_mean += np && bw != bm;
            for (size_t c = 0; c < C; c++) {
                double err = fabs(out[r * C + c] - want[c]);
                worst = err > worst ? err : worst;
                bad += err > 1e-6;
            }
        }
        CHECK(bad == 0, "%s: %zu values off the reference (worst %g)", lf_method_name(ms[m]), bad, worst);
        CHECK(argmax_not_mean >= 5, "%s: the choice differs from the mean rule's in %zu rows", lf_method_name(ms[m]),
              argmax_not_mean);
        CHECK(lf_fusion_weights(f, NULL, 0, NULL, NULL) == 0, "no weights over models");

        char path[] = "/tmp/latefuse_ev_XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0, "mkstemp");
        close(fd);
        CHECK(lf_fusion_save(f, path, 0) == LF_OK, "save: %s", lf_fusion_error(f));
        lf_fusion *g;
        lf_fusion_create(&g);
        CHECK(lf_fusion_load(g, path) == LF_OK, "load: %s", lf_fusion_error(g));
        CHECK(lf_fusion_predict(g, qp, NQ, out2) == LF_OK && memcmp(out, out2, sizeof out) == 0 &&
                  lf_fusion_method(g) == ms[m],
              "%s: round trip", lf_method_name(ms[m]));
        lf_fusion_free(g);
        unlink(path);
        lf_fusion_free(f);
    }
}

/* Rewrites a fusion file with the value at index i of tensor `name` set
 * to v. */
static void rewrite(const char *path, const char *name, size_t i, float v) {
    lf_st_file sf;
    lf_err e;
    CHECK(lf_st_read(path, &sf, &e) == LF_OK, "read back: %s", e.msg);
    size_t n = lf_st_count(&sf);
    lf_st_out outs[8];
    float *data[8];
    for (size_t t = 0; t < n && t < 8; t++) {
        const lf_st_tensor *st = lf_st_at(&sf, t);
        data[t] = malloc(st->nbytes ? st->nbytes : 1);
        memcpy(data[t], st->data, st->nbytes);
        if (strcmp(st->name, name) == 0) data[t][i] = v;
        outs[t] = (lf_st_out){st->name, data[t], st->ndim, {0}};
        memcpy(outs[t].shape, st->shape, sizeof st->shape);
    }
    const char *keys[3] = {"format", "format_version", "fusion"};
    const char *vals[3] = {lf_st_metadata(&sf, "format"), lf_st_metadata(&sf, "format_version"),
                           lf_st_metadata(&sf, "fusion")};
    CHECK(lf_st_write(path, outs, n, keys, vals, 3, 0, &e) == LF_OK, "write: %s", e.msg);
    for (size_t t = 0; t < n; t++) free(data[t]);
    lf_st_free(&sf);
}

static void test_bad_files(void) {
    /* the bks case of test_bks_by_hand: tuples (0,0) (1,0) (1,3) (2,1) */
    float a[7 * 3] = {.8f, .1f, .1f, .7f, .2f, .1f, .6f, .3f, .1f, .2f, .7f, .1f, .1f, .8f, .1f, .1f, .1f, .8f, .2f, .2f, .6f};
    float b[7 * 3] = {.5f, .3f, .2f, .6f, .2f, .2f, .4f, .3f, .3f, .5f, .4f, .1f, NaN, NaN, NaN, .1f, .8f, .1f, .3f, .4f, .3f};
    int y[7] = {0, 0, 1, 1, 2, 0, 1};
    const float *p[2] = {a, b};
    char path[] = "/tmp/latefuse_ev_bad_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    struct {
        lf_method m;
        const char *tensor;
        size_t i;
        float v;
        const char *msg;
    } cases[] = {
        {LF_FUSE_BKS, "fusion.tuples", 3, 4.0f, "tensor 'fusion.tuples' of bks must hold classes 0..3 (3: missing)"},
        {LF_FUSE_BKS, "fusion.tuples", 2, 0.0f, "tensor 'fusion.tuples' of bks must be sorted, each tuple once"},
        {LF_FUSE_BKS, "fusion.counts", 1, 0.5f, "tensor 'fusion.counts' of bks must hold whole numbers >= 0"},
        {LF_FUSE_BKS, "fusion.counts", 2 * 3 + 2, 0.0f, "tensor 'fusion.counts' of bks has a tuple with no rows"},
        {LF_FUSE_DEMPSTER_SHAFER, "fusion.templates", 5, 1.5f,
         "tensor 'fusion.templates' of dempster-shafer must hold probabilities"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_fusion *f = fit(cases[c].m, p, 2, 7, 3, y);
        CHECK(lf_fusion_save(f, path, 0) == LF_OK, "save");
        lf_fusion_free(f);
        rewrite(path, cases[c].tensor, cases[c].i, cases[c].v);
        lf_fusion *g;
        lf_fusion_create(&g);
        CHECK(lf_fusion_load(g, path) == LF_ERR_FORMAT && strstr(lf_fusion_error(g), cases[c].msg), "case %zu: %s", c,
              lf_fusion_error(g));
        CHECK(lf_fusion_method(g) == (lf_method)-1, "nothing loaded");
        lf_fusion_free(g);
    }
    /* shapes that do not fit the settings: a bks file of one model read as
     * two, a dempster-shafer file likewise */
    const lf_method ms[2] = {LF_FUSE_BKS, LF_FUSE_DEMPSTER_SHAFER};
    const char *msgs[2] = {"bks needs tensors 'fusion.tuples' (U, 2) and 'fusion.counts' (U, 3), U in 1..16777215",
                           "tensor 'fusion.templates' must be F32 of shape (3, 6)"};
    for (int m = 0; m < 2; m++) {
        lf_fusion *f = fit(ms[m], p, 1, 7, 3, y);
        CHECK(lf_fusion_save(f, path, 0) == LF_OK, "save");
        lf_fusion_free(f);
        lf_st_file sf;
        lf_err e;
        CHECK(lf_st_read(path, &sf, &e) == LF_OK, "read");
        lf_st_out outs[2];
        float *data[2];
        size_t n = lf_st_count(&sf);
        for (size_t t = 0; t < n; t++) {
            const lf_st_tensor *st = lf_st_at(&sf, t);
            data[t] = malloc(st->nbytes);
            memcpy(data[t], st->data, st->nbytes);
            outs[t] = (lf_st_out){st->name, data[t], st->ndim, {st->shape[0], st->shape[1]}};
        }
        char js[200];
        snprintf(js, sizeof js,
                 "{\"method\":\"%s\",\"calibrated\":false,\"logits\":false,\"classes\":3,\"models\":[\"a\",\"b\"],"
                 "\"temperatures\":[1,1]}",
                 lf_method_name(ms[m]));
        const char *keys[3] = {"format", "format_version", "fusion"}, *vals[3] = {"latefuse-fusion", "1", js};
        CHECK(lf_st_write(path, outs, n, keys, vals, 3, 0, &e) == LF_OK, "write: %s", e.msg);
        for (size_t t = 0; t < n; t++) free(data[t]);
        lf_st_free(&sf);
        lf_fusion *g;
        lf_fusion_create(&g);
        CHECK(lf_fusion_load(g, path) == LF_ERR_FORMAT && strstr(lf_fusion_error(g), msgs[m]), "%s: %s",
              lf_method_name(ms[m]), lf_fusion_error(g));
        lf_fusion_free(g);
    }
    unlink(path);
}

int main(void) {
    test_ds_by_hand();
    test_bks_by_hand();
    test_bks_no_model_present();
    test_against_reference();
    test_bad_files();
    return check_report("test_evidence");
}
