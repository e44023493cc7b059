/*
 * test_calibrate.c — temperature scaling.  The main case is built so that
 * the exact optimum is known: groups of rows share calibrated probabilities
 * q with rational entries and carry labels in exactly the proportions q,
 * while the model reports the overconfident p = softmax(3 log q); the NLL
 * gradient then vanishes at T = 3 exactly.  Also: a large sampled case
 * checked by optimality (derivative ~0, larger NLL at T +- 1%), NaN rows
 * skipped, T = 1 identity bit for bit, clamping at the range ends, and the
 * errors with their messages.
 */
#include "check.h"
#include "fusion/calibrate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NaN ((float)NAN)

/* Mean NLL and its derivative in s = 1/T, by the direct formula. */
static double nll(const float *p, const int *y, size_t N, size_t C, double T, double *dnll) {
    double s = 1.0 / T, tot = 0.0, g = 0.0;
    size_t n = 0;
    for (size_t i = 0; i < N; i++) {
        const float *r = p + i * C;
        if (isnan(r[0])) continue;
        double Z = 0.0, E = 0.0, m = -1e300;
        for (size_t c = 0; c < C; c++) m = fmax(m, s * log(fmax(r[c], 1e-12)));
        for (size_t c = 0; c < C; c++) {
            double z = log(fmax(r[c], 1e-12)), q = exp(s * z - m);
            Z += q;
            E += q * z;
        }
        tot += m + log(Z) - s * log(fmax(r[y[i]], 1e-12));
        g += E / Z - log(fmax(r[y[i]], 1e-12));
        n++;
    }
    if (dnll) *dnll = g / (double)n;
    return tot / (double)n;
}

/* q rows (C = 3) and label counts per group, in tenths / quarters */
static size_t build_exact(float *p, int *y, size_t cap, int with_nan) {
    static const double q[4][3] = {
        {0.5, 0.3, 0.2}, {0.7, 0.2, 0.1}, {0.25, 0.25, 0.5}, {0.1, 0.6, 0.3}};
    static const int reps[4] = {10, 10, 4, 10};
    size_t n = 0;
    for (int g = 0; g < 4; g++) {
        double s = 0, p3[3];
        for (int c = 0; c < 3; c++) s += (p3[c] = pow(q[g][c], 3));
        for (int c = 0; c < 3; c++) {
            int count = (int)lround(q[g][c] * reps[g]);
            for (int j = 0; j < count && n < cap; j++, n++) {
                for (int k = 0; k < 3; k++) p[n * 3 + k] = (float)(p3[k] / s);
                y[n] = c;
                if (with_nan && n % 7 == 3) { /* a missing row, label ignored */
                    n++;
                    for (int k = 0; k < 3; k++) p[n * 3 + k] = NaN;
                    y[n] = 99;
                }
            }
        }
    }
    return n;
}

static void test_exact_optimum(void) {
    float p[200 * 3];
    int y[200];
    size_t N = build_exact(p, y, 150, 0);
    CHECK(N == 34, "34 rows built, got %zu", N);
    double g;
    nll(p, y, N, 3, 3.0, &g);
    CHECK(fabs(g) < 1e-6, "the gradient vanishes at T = 3: %g", g);
    float T = 0;
    lf_err e = {{0}};
    CHECK(lf_fit_temperature(p, y, N, 3, &T, &e) == LF_OK, "fit: %s", e.msg);
    CHECK(fabs(T - 3.0) < 3e-5, "T = %.9g, want 3 to 1e-5 relative", T);
    CHECK(fabs(T - 3.0) < 0.03, "T = %.7g within 1%% of 3", T);
    double f0 = nll(p, y, N, 3, T, &g);
    CHECK(fabs(g) < 1e-5, "derivative at the fitted T is %g", g);
    CHECK(nll(p, y, N, 3, T * 1.01, NULL) > f0, "NLL larger at T*1.01");
    CHECK(nll(p, y, N, 3, T / 1.01, NULL) > f0, "NLL larger at T/1.01");

    /* applying T = 3 gives back the calibrated q */
    float out[200 * 3];
    lf_apply_temperature(p, N, 3, 3.0f, out);
    static const float q0[3] = {0.5f, 0.3f, 0.2f}, q3[3] = {0.1f, 0.6f, 0.3f};
    CHECK_CLOSE("T = 3 recovers q (group 0)", out, q0, 3, 1e-6, 0);
    CHECK_CLOSE("T = 3 recovers q (group 3)", out + (N - 1) * 3, q3, 3, 1e-6, 0);
    /* in place gives the same */
    float inplace[200 * 3];
    memcpy(inplace, p, N * 3 * sizeof(float));
    lf_apply_temperature(inplace, N, 3, 3.0f, inplace);
    CHECK(memcmp(inplace, out, N * 3 * sizeof(float)) == 0, "in place = out of place");

    /* NaN rows (with any label) are skipped: same T */
    float pn[200 * 3];
    int yn[200];
    size_t Nn = build_exact(pn, yn, 190, 1);
    CHECK(Nn > N, "rows with NaN added (%zu)", Nn);
    float Tn = 0;
    CHECK(lf_fit_temperature(pn, yn, Nn, 3, &Tn, &e) == LF_OK, "fit with NaN rows: %s", e.msg);
    CHECK(fabs(Tn - T) < 1e-6 * T, "NaN rows skipped: %.9g vs %.9g", Tn, T);
    lf_apply_temperature(pn, Nn, 3, 3.0f, out);
    int nan_kept = 1;
    for (size_t i = 0; i < Nn; i++)
        if (isnan(pn[i * 3])) nan_kept &= isnan(out[i * 3]) && isnan(out[i * 3 + 2]);
    CHECK(nan_kept, "NaN rows stay NaN");
}

static void test_sampled(void) {
    /* 20000 rows, 4 classes: true logits z, labels drawn from softmax(z),
     * the model reports softmax(3 z) */
    enum { N = 20000, C = 4 };
    float *p = malloc(sizeof(float) * N * C);
    int *y = malloc(sizeof(int) * N);
    lf_rng r;
    lf_rng_seed(&r, 2024);
    for (size_t i = 0; i < N; i++) {
        double z[C], q[C], s = 0, s3 = 0, m = -1e300;
        for (size_t c = 0; c < C; c++) z[c] = 2.0 * lf_rng_uniform(&r) - 1.0, m = fmax(m, z[c]);
        for (size_t c = 0; c < C; c++) s += (q[c] = exp(z[c] - m));
        for (size_t c = 0; c < C; c++) s3 += exp(3 * (z[c] - m));
        double u = lf_rng_uniform(&r) * s, acc = 0;
        y[i] = C - 1;
        for (size_t c = 0; c < C; c++) {
            acc += q[c];
            if (u < acc) {
                y[i] = (int)c;
                break;
            }
        }
        for (size_t c = 0; c < C; c++) p[i * C + c] = (float)(exp(3 * (z[c] - m)) / s3);
    }
    float T = 0;
    lf_err e = {{0}};
    CHECK(lf_fit_temperature(p, y, N, C, &T, &e) == LF_OK, "fit: %s", e.msg);
    double g, f0 = nll(p, y, N, C, T, &g);
    CHECK(fabs(g) < 1e-5, "sampled: derivative at T = %.6g is %g", T, g);
    CHECK(nll(p, y, N, C, T * 1.01, NULL) > f0, "sampled: NLL larger at T*1.01");
    CHECK(nll(p, y, N, C, T / 1.01, NULL) > f0, "sampled: NLL larger at T/1.01");
    CHECK(fabs(T - 3.0) < 0.3, "sampled: T = %.6g near 3", T);
    free(p);
    free(y);
}

static void test_identity_and_ends(void) {
    float p[9] = {0.7f, 0.2f, 0.1f, NaN, NaN, NaN, 0.0f, 1.0f, 0.0f};
    float out[9];
    memset(out, 0xab, sizeof out);
    lf_apply_temperature(p, 3, 3, 1.0f, out);
    CHECK(memcmp(p, out, sizeof p) == 0, "T = 1 copies bit for bit");
    lf_apply_temperature(p, 3, 3, -2.0f, out);
    CHECK(memcmp(p, out, sizeof p) == 0, "an invalid T copies");
    /* T = 2: softmax(log p / 2) = sqrt(p) normalised */
    lf_apply_temperature(p, 3, 3, 2.0f, out);
    double a = sqrt(0.7), b = sqrt(0.2), c = sqrt(0.1), s = a + b + c;
    float want[3] = {(float)(a / s), (float)(b / s), (float)(c / s)};
    CHECK_CLOSE("T = 2 row 0", out, want, 3, 1e-7, 0);
    float w2[3] = {(float)(1e-6 / (1 + 2e-6)), (float)(1 / (1 + 2e-6)),
                   (float)(1e-6 / (1 + 2e-6))};
    CHECK_CLOSE("T = 2 row with zeros (1e-12 -> 1e-6)", out + 6, w2, 3, 1e-12, 1e-6);

    lf_err e = {{0}};
    float T = 0;
    /* always right and confident: sharpen as far as allowed */
    static const float right[4] = {0.8f, 0.2f, 0.3f, 0.7f};
    static const int yr[2] = {0, 1};
    CHECK(lf_fit_temperature(right, yr, 2, 2, &T, &e) == LF_OK, "fit right");
    CHECK(T == 0.05f, "always right: T = %g", T);
    /* always confidently wrong: flatten as far as allowed */
    static const int yw[2] = {1, 0};
    CHECK(lf_fit_temperature(right, yw, 2, 2, &T, &e) == LF_OK, "fit wrong");
    CHECK(T == 20.0f, "always wrong: T = %g", T);
    /* uniform rows: T does not matter, 1 */
    static const float flat[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    CHECK(lf_fit_temperature(flat, yr, 2, 2, &T, &e) == LF_OK && T == 1.0f, "flat: T = %g", T);
    /* no present row: 1 */
    float none[4] = {NaN, NaN, NaN, NaN};
    CHECK(lf_fit_temperature(none, yr, 2, 2, &T, &e) == LF_OK && T == 1.0f, "none: T = %g", T);
    CHECK(lf_fit_temperature(NULL, NULL, 0, 2, &T, &e) == LF_OK && T == 1.0f, "N = 0");

    static const int yb[2] = {0, 2};
    CHECK(lf_fit_temperature(right, yb, 2, 2, &T, &e) == LF_ERR_ARG, "bad label");
    CHECK(strcmp(e.msg, "temperature fit: label of row 1 is 2, outside 0..1") == 0, "msg: %s",
          e.msg);
    CHECK(lf_fit_temperature(right, yr, 2, 0, &T, &e) == LF_ERR_ARG, "C = 0");
    CHECK(strcmp(e.msg, "temperature fit: no classes given (C = 0)") == 0, "msg: %s", e.msg);
    CHECK(lf_fit_temperature(right, yr, 2, 2, NULL, &e) == LF_ERR_ARG, "NULL T");
    CHECK(strcmp(e.msg, "temperature fit: the output T is NULL") == 0, "msg: %s", e.msg);
    CHECK(lf_fit_temperature(right, NULL, 2, 2, &T, &e) == LF_ERR_ARG, "NULL y");
    CHECK(strcmp(e.msg, "temperature fit: the label array is NULL") == 0, "msg: %s", e.msg);
}

int main(void) {
    test_exact_optimum();
    test_sampled();
    test_identity_and_ends();
    return check_report("test_calibrate");
}
