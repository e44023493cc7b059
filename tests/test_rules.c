/*
 * test_rules.c — the fixed fusion rules, decision templates and per-model
 * accuracies against values computed by hand (2-3 models x 2 rows x 3
 * classes), missing-row handling, weights, argument errors, and properties
 * (rows sum to 1, model order does not matter) on random data.
 */
#include "check.h"
#include "fusion/rules.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NaN ((float)NAN)

/* two rows, three classes */
static const float A[6] = {0.7f, 0.2f, 0.1f, 0.1f, 0.3f, 0.6f};
static const float B[6] = {0.4f, 0.4f, 0.2f, 0.2f, 0.5f, 0.3f};
static const float Cm[6] = {0.1f, 0.1f, 0.8f, 0.3f, 0.3f, 0.4f};

static lf_status run(lf_rule r, const float *const *p, size_t M, size_t N, const float *w,
                     float *out) {
    lf_err e = {{0}};
    lf_status st = lf_rule_apply(r, p, M, N, 3, w, out, &e);
    if (st != LF_OK) fprintf(stderr, "unexpected failure: %s\n", e.msg);
    return st;
}

static void test_names(void) {
    const char *want[] = {"mean", "product", "max", "min", "median", "vote", "borda"};
    for (int i = 0; i < LF_RULE_COUNT; i++) {
        CHECK(strcmp(lf_rule_name((lf_rule)i), want[i]) == 0, "name of rule %d", i);
        CHECK(lf_rule_parse(want[i]) == i, "parse %s", want[i]);
    }
    CHECK(lf_rule_name((lf_rule)7) == NULL, "name of an invalid rule");
    CHECK(lf_rule_name((lf_rule)-1) == NULL, "name of a negative rule");
    CHECK(lf_rule_parse("MEAN") == -1, "parse is case-sensitive");
    CHECK(lf_rule_parse("") == -1, "parse empty");
    CHECK(lf_rule_parse(NULL) == -1, "parse NULL");
    CHECK(lf_rule_parse("average") == -1, "parse unknown");
}

static void test_two_models(void) {
    const float *p[2] = {A, B};
    float out[6];
    /* mean: (A+B)/2 */
    static const float mean[6] = {0.55f, 0.3f, 0.15f, 0.15f, 0.4f, 0.45f};
    CHECK(run(LF_RULE_MEAN, p, 2, 2, NULL, out) == LF_OK, "mean runs");
    CHECK_CLOSE("mean", out, mean, 6, 1e-6, 0);
    /* product: sqrt(A*B) renormalised, e.g. row 0: sqrt(.28), sqrt(.08),
     * sqrt(.02) = .5291503, .2828427, .1414214, sum .9534144 */
    static const float prod[6] = {0.5550055679f, 0.2966629547f, 0.1483314774f,
                                  0.1483984956f, 0.4064060177f, 0.4451954868f};
    CHECK(run(LF_RULE_PRODUCT, p, 2, 2, NULL, out) == LF_OK, "product runs");
    CHECK_CLOSE("product", out, prod, 6, 1e-6, 0);
    /* max: row 0 (.7,.4,.2)/1.3, row 1 (.2,.5,.6)/1.3 */
    static const float mx[6] = {7.f / 13, 4.f / 13, 2.f / 13, 2.f / 13, 5.f / 13, 6.f / 13};
    CHECK(run(LF_RULE_MAX, p, 2, 2, NULL, out) == LF_OK, "max runs");
    CHECK_CLOSE("max", out, mx, 6, 1e-6, 0);
    /* min: row 0 (.4,.2,.1)/.7, row 1 (.1,.3,.3)/.7 */
    static const float mn[6] = {4.f / 7, 2.f / 7, 1.f / 7, 1.f / 7, 3.f / 7, 3.f / 7};
    CHECK(run(LF_RULE_MIN, p, 2, 2, NULL, out) == LF_OK, "min runs");
    CHECK_CLOSE("min", out, mn, 6, 1e-6, 0);
    /* median of two = their mean */
    CHECK(run(LF_RULE_MEDIAN, p, 2, 2, NULL, out) == LF_OK, "median runs");
    CHECK_CLOSE("median of two", out, mean, 6, 1e-6, 0);
    /* vote: row 0 both vote 0 (B's tie .4/.4 goes to class 0): votes (1,0,0);
     * row 1 A votes 2, B votes 1: votes (0,.5,.5), the tie broken by the mean
     * (.15,.4,.45); out = (votes + 1e-3 mean) / 1.001 */
    static const float vote[6] = {1.00055f / 1.001f, 0.0003f / 1.001f, 0.00015f / 1.001f,
                                  0.00015f / 1.001f, 0.5004f / 1.001f, 0.50045f / 1.001f};
    CHECK(run(LF_RULE_VOTE, p, 2, 2, NULL, out) == LF_OK, "vote runs");
    CHECK_CLOSE("vote", out, vote, 6, 1e-7, 0);
    CHECK(out[5] > out[4], "vote tie broken by the mean probability: %g > %g", out[5], out[4]);
    /* borda: row 0 A ranks 0,1,2 -> points (2,1,0); B ties classes 0 and 1
     * -> (1.5,1.5,0); mean points (1.75,1.25,0).  Row 1: A (0,1,2), B (0,2,1)
     * -> (0,1.5,1.5).  out = (points + 1e-3 mean) / 3.001 */
    static const float borda[6] = {1.75055f / 3.001f, 1.2503f / 3.001f, 0.00015f / 3.001f,
                                   0.00015f / 3.001f, 1.5004f / 3.001f, 1.50045f / 3.001f};
    CHECK(run(LF_RULE_BORDA, p, 2, 2, NULL, out) == LF_OK, "borda runs");
    CHECK_CLOSE("borda", out, borda, 6, 1e-7, 0);
}

static void test_three_models(void) {
    const float *p[3] = {A, B, Cm};
    float out[6];
    /* median: row 0 per class med(.7,.4,.1)=.4, med(.2,.4,.1)=.2,
     * med(.1,.2,.8)=.2 -> /.8; row 1 .2, .3, .4 -> /.9 */
    static const float med[6] = {0.5f, 0.25f, 0.25f, 2.f / 9, 3.f / 9, 4.f / 9};
    CHECK(run(LF_RULE_MEDIAN, p, 3, 2, NULL, out) == LF_OK, "median 3 runs");
    CHECK_CLOSE("median of three", out, med, 6, 1e-6, 0);
    static const float prod[6] = {0.4018549158f, 0.2646752125f, 0.3334698717f,
                                  0.1905900978f, 0.3730675033f, 0.4363423989f};
    CHECK(run(LF_RULE_PRODUCT, p, 3, 2, NULL, out) == LF_OK, "product 3 runs");
    CHECK_CLOSE("product of three", out, prod, 6, 1e-6, 0);
    /* vote row 0: A->0, B->0, C->2: votes (2/3, 0, 1/3); mean (.4,.7/3,1.1/3) */
    CHECK(run(LF_RULE_VOTE, p, 3, 2, NULL, out) == LF_OK, "vote 3 runs");
    float v0[3] = {(float)((2.0 / 3 + 1e-3 * 0.4) / 1.001), (float)((1e-3 * 0.7 / 3) / 1.001),
                   (float)((1.0 / 3 + 1e-3 * 1.1 / 3) / 1.001)};
    CHECK_CLOSE("vote of three, row 0", out, v0, 3, 1e-7, 0);
}

static void test_weights(void) {
    const float *p[2] = {A, B};
    const float w[2] = {3.0f, 1.0f}; /* normalised .75, .25 */
    float out[6];
    static const float mean[6] = {0.625f, 0.25f, 0.125f, 0.125f, 0.35f, 0.525f};
    CHECK(run(LF_RULE_MEAN, p, 2, 2, w, out) == LF_OK, "weighted mean runs");
    CHECK_CLOSE("weighted mean", out, mean, 6, 1e-6, 0);
    /* exp(.75 log a + .25 log b) renormalised */
    static const float prod[6] = {0.6304405216f, 0.2463729856f, 0.1231864928f,
                                  0.1233202386f, 0.3534762994f, 0.523203462f};
    CHECK(run(LF_RULE_PRODUCT, p, 2, 2, w, out) == LF_OK, "weighted product runs");
    CHECK_CLOSE("weighted product", out, prod, 6, 1e-6, 0);
    /* vote row 1: A (.75) votes 2, B (.25) votes 1 */
    CHECK(run(LF_RULE_VOTE, p, 2, 2, w, out) == LF_OK, "weighted vote runs");
    float v1[3] = {(float)(1e-3 * 0.125 / 1.001), (float)((0.25 + 1e-3 * 0.35) / 1.001),
                   (float)((0.75 + 1e-3 * 0.525) / 1.001)};
    CHECK_CLOSE("weighted vote, row 1", out + 3, v1, 3, 1e-7, 0);
    /* borda row 1: .75 (0,1,2) + .25 (0,2,1) = (0, 1.25, 1.75) */
    CHECK(run(LF_RULE_BORDA, p, 2, 2, w, out) == LF_OK, "weighted borda runs");
    float b1[3] = {(float)(1e-3 * 0.125 / 3.001), (float)((1.25 + 1e-3 * 0.35) / 3.001),
                   (float)((1.75 + 1e-3 * 0.525) / 3.001)};
    CHECK_CLOSE("weighted borda, row 1", out + 3, b1, 3, 1e-7, 0);
    /* max/min/median ignore the weights */
    float o2[6];
    CHECK(run(LF_RULE_MAX, p, 2, 2, w, out) == LF_OK && run(LF_RULE_MAX, p, 2, 2, NULL, o2) == 0,
          "max runs");
    CHECK(memcmp(out, o2, sizeof out) == 0, "max ignores weights");
    /* a zero weight: that model is left out of the weighted rules */
    const float w0[2] = {0.0f, 2.0f};
    CHECK(run(LF_RULE_MEAN, p, 2, 2, w0, out) == LF_OK, "zero-weight mean runs");
    CHECK_CLOSE("mean with weight (0, 2) is model B", out, B, 6, 0, 0);
    /* the present model has weight 0 in row 1: the present models with
     * equal weights (here A alone: A's row, bit for bit), not uniform */
    float Bm[6] = {0.4f, 0.4f, 0.2f, NaN, NaN, NaN};
    const float *pm[2] = {A, Bm};
    const float wz[2] = {0.0f, 1.0f};
    for (int r = LF_RULE_MEAN; r <= LF_RULE_PRODUCT; r++) {
        CHECK(run((lf_rule)r, pm, 2, 2, wz, out) == LF_OK, "rule %d runs", r);
        CHECK(memcmp(out + 3, A + 3, 3 * sizeof(float)) == 0, "rule %d, no weighted model present: A's row (%g %g %g)",
              r, (double)out[3], (double)out[4], (double)out[5]);
        CHECK(memcmp(out, Bm, 3 * sizeof(float)) == 0, "rule %d, row 0: B's row", r);
    }
    /* two present, both of weight 0: their equal-weight mean */
    const float C0[6] = {0.2f, 0.2f, 0.6f, 0.2f, 0.2f, 0.6f};
    const float *p3[3] = {A, C0, Bm};
    const float w3[3] = {0.0f, 0.0f, 1.0f};
    CHECK(run(LF_RULE_MEAN, p3, 3, 2, w3, out) == LF_OK, "mean of three runs");
    float m1[3];
    for (int c = 0; c < 3; c++) m1[c] = (float)(((double)A[3 + c] + (double)C0[3 + c]) / 2);
    CHECK_CLOSE("weights 0, 0 present: their mean", out + 3, m1, 3, 1e-7, 0);
}

static void test_missing(void) {
    /* B misses row 1; in row 1 every rule except vote/borda gives A's row */
    float Bm[6] = {0.4f, 0.4f, 0.2f, NaN, NaN, NaN};
    const float *p[2] = {A, Bm};
    const float w[2] = {3.0f, 1.0f};
    float out[6];
    lf_rule rules[5] = {LF_RULE_MEAN, LF_RULE_PRODUCT, LF_RULE_MAX, LF_RULE_MIN, LF_RULE_MEDIAN};
    for (int i = 0; i < 5; i++) {
        CHECK(run(rules[i], p, 2, 2, NULL, out) == LF_OK, "%s runs", lf_rule_name(rules[i]));
        CHECK(memcmp(out + 3, A + 3, 3 * sizeof(float)) == 0, "%s of one model is A's row",
              lf_rule_name(rules[i]));
        CHECK(run(rules[i], p, 2, 2, w, out) == LF_OK, "%s weighted runs",
              lf_rule_name(rules[i]));
        CHECK(memcmp(out + 3, A + 3, 3 * sizeof(float)) == 0,
              "weighted %s of one model is A's row", lf_rule_name(rules[i]));
    }
    CHECK(run(LF_RULE_MEAN, p, 2, 2, NULL, out) == LF_OK, "mean runs");
    CHECK(memcmp(out + 3, A + 3, 3 * sizeof(float)) == 0, "mean of one model is bit-exact");
    static const float row0[3] = {0.55f, 0.3f, 0.15f};
    CHECK_CLOSE("row 0 unaffected", out, row0, 3, 1e-6, 0);
    /* vote with only A: votes (0,0,1) */
    CHECK(run(LF_RULE_VOTE, p, 2, 2, NULL, out) == LF_OK, "vote runs");
    float v[3] = {(float)(1e-4 / 1.001), (float)(3e-4 / 1.001), (float)(1.0006 / 1.001)};
    CHECK_CLOSE("vote, one model", out + 3, v, 3, 1e-7, 0);
    /* borda with only A: points (0,1,2) */
    CHECK(run(LF_RULE_BORDA, p, 2, 2, NULL, out) == LF_OK, "borda runs");
    float b[3] = {(float)(1e-4 / 3.001), (float)(1.0003 / 3.001), (float)(2.0006 / 3.001)};
    CHECK_CLOSE("borda, one model", out + 3, b, 3, 1e-7, 0);

    /* nobody present in row 1: uniform for every rule */
    float Am[6] = {0.7f, 0.2f, 0.1f, NaN, NaN, NaN};
    const float *q[2] = {Am, Bm};
    static const float u[3] = {1.f / 3, 1.f / 3, 1.f / 3};
    for (int r = 0; r < LF_RULE_COUNT; r++) {
        CHECK(run((lf_rule)r, q, 2, 2, w, out) == LF_OK, "rule %d runs", r);
        CHECK_CLOSE(lf_rule_name((lf_rule)r), out + 3, u, 3, 0, 0);
    }
}

static void test_edge_values(void) {
    /* zeros are clipped to 1e-12 in the product */
    static const float Z1[3] = {1.0f, 0.0f, 0.0f}, Z2[3] = {0.5f, 0.5f, 0.0f};
    const float *p[2] = {Z1, Z2};
    float out[3];
    CHECK(run(LF_RULE_PRODUCT, p, 2, 1, NULL, out) == LF_OK, "product with zeros runs");
    double a = sqrt(0.5), b = sqrt(0.5e-12), c = 1e-12, s = a + b + c;
    float want[3] = {(float)(a / s), (float)(b / s), (float)(c / s)};
    CHECK_CLOSE("product with zeros", out, want, 3, 1e-12, 1e-6);
    /* min of disjoint one-hot rows is all zero: uniform */
    static const float O1[3] = {1, 0, 0}, O2[3] = {0, 1, 0};
    const float *o[2] = {O1, O2};
    CHECK(run(LF_RULE_MIN, o, 2, 1, NULL, out) == LF_OK, "min runs");
    static const float u[3] = {1.f / 3, 1.f / 3, 1.f / 3};
    CHECK_CLOSE("min all zero: uniform", out, u, 3, 0, 0);
    CHECK(run(LF_RULE_MEDIAN, o, 2, 1, NULL, out) == LF_OK, "median runs");
    static const float half[3] = {0.5f, 0.5f, 0.0f};
    CHECK_CLOSE("median of one-hots", out, half, 3, 0, 0);
    /* borda with all classes tied: every class 1 point */
    static const float U[3] = {1.f / 3, 1.f / 3, 1.f / 3};
    const float *pu[1] = {U};
    CHECK(run(LF_RULE_BORDA, pu, 1, 1, NULL, out) == LF_OK, "borda runs");
    CHECK_CLOSE("borda all tied", out, u, 3, 1e-7, 0);
    /* one class */
    static const float one[2] = {1.0f, 1.0f};
    const float *p1[1] = {one};
    float o1[2];
    lf_err e;
    for (int r = 0; r < LF_RULE_COUNT; r++) {
        CHECK(lf_rule_apply((lf_rule)r, p1, 1, 2, 1, NULL, o1, &e) == LF_OK, "C=1 rule %d", r);
        CHECK(o1[0] == 1.0f && o1[1] == 1.0f, "C=1 rule %d gives 1: %g %g", r, o1[0], o1[1]);
    }
    /* N = 0 is fine and writes nothing */
    CHECK(lf_rule_apply(LF_RULE_MEAN, p, 2, 0, 3, NULL, out, &e) == LF_OK, "N=0");
}

static void test_errors(void) {
    const float *p[2] = {A, B};
    const float *pn[2] = {A, NULL};
    float out[6];
    lf_err e = {{0}};
    CHECK(lf_rule_apply(LF_RULE_MEAN, NULL, 2, 2, 3, NULL, out, &e) == LF_ERR_ARG, "NULL p");
    CHECK(strstr(e.msg, "model probability list is NULL") != NULL, "msg: %s", e.msg);
    CHECK(lf_rule_apply(LF_RULE_MEAN, p, 2, 2, 3, NULL, NULL, &e) == LF_ERR_ARG, "NULL out");
    CHECK(strstr(e.msg, "output array is NULL") != NULL, "msg: %s", e.msg);
    CHECK(lf_rule_apply(LF_RULE_MEAN, pn, 2, 2, 3, NULL, out, &e) == LF_ERR_ARG, "NULL p[1]");
    CHECK(strcmp(e.msg, "fusion rule: probabilities of model 1 are NULL") == 0, "msg: %s",
          e.msg);
    CHECK(lf_rule_apply(LF_RULE_MEAN, p, 0, 2, 3, NULL, out, &e) == LF_ERR_ARG, "M=0");
    CHECK(strcmp(e.msg, "fusion rule: no models given (M = 0)") == 0, "msg: %s", e.msg);
    CHECK(lf_rule_apply(LF_RULE_MEAN, p, 2, 2, 0, NULL, out, &e) == LF_ERR_ARG, "C=0");
    CHECK(strcmp(e.msg, "fusion rule: no classes given (C = 0)") == 0, "msg: %s", e.msg);
    CHECK(lf_rule_apply((lf_rule)42, p, 2, 2, 3, NULL, out, &e) == LF_ERR_ARG, "bad rule");
    CHECK(strcmp(e.msg, "fusion rule: unknown rule number 42") == 0, "msg: %s", e.msg);
    const float wneg[2] = {1.0f, -1.0f}, wnan[2] = {NaN, 1.0f}, wzero[2] = {0.0f, 0.0f};
    CHECK(lf_rule_apply(LF_RULE_MEAN, p, 2, 2, 3, wneg, out, &e) == LF_ERR_ARG, "neg weight");
    CHECK(strcmp(e.msg, "fusion rule: weight of model 1 is -1; weights must be finite and >= 0") ==
              0,
          "msg: %s", e.msg);
    CHECK(lf_rule_apply(LF_RULE_MEAN, p, 2, 2, 3, wnan, out, &e) == LF_ERR_ARG, "NaN weight");
    CHECK(strstr(e.msg, "weight of model 0 is nan") != NULL, "msg: %s", e.msg);
    CHECK(lf_rule_apply(LF_RULE_MEDIAN, p, 2, 2, 3, wzero, out, &e) == LF_ERR_ARG, "zero wts");
    CHECK(strcmp(e.msg, "fusion rule: all 2 model weights are zero") == 0, "msg: %s", e.msg);
    CHECK(lf_rule_apply(LF_RULE_MEAN, p, 2, SIZE_MAX / 2, 3, NULL, out, &e) == LF_ERR_SHAPE,
          "overflow");
    CHECK(strstr(e.msg, "is too large") != NULL, "msg: %s", e.msg);
}

static void test_templates(void) {
    /* training: 3 rows, classes 0, 0, 1; class 2 has no rows; B misses row 1 */
    static const float TA[9] = {0.8f, 0.2f, 0.0f, 0.6f, 0.3f, 0.1f, 0.2f, 0.7f, 0.1f};
    float TB[9] = {0.9f, 0.1f, 0.0f, NaN, NaN, NaN, 0.3f, 0.6f, 0.1f};
    const int y[3] = {0, 0, 1};
    const float *p[2] = {TA, TB};
    float T[3 * 6];
    lf_err e = {{0}};
    CHECK(lf_decision_templates_fit(p, 2, 3, 3, y, T, &e) == LF_OK, "fit: %s", e.msg);
    const float u = 1.f / 3;
    const float want[18] = {0.7f, 0.25f, 0.05f, 0.9f, 0.1f, 0.0f, /* class 0 */
                            0.2f, 0.7f, 0.1f, 0.3f, 0.6f, 0.1f,   /* class 1 */
                            u, u, u, u, u, u};                    /* class 2 */
    CHECK_CLOSE("templates", T, want, 18, 1e-7, 0);

    /* apply to: both present; only A present; none present */
    float XB[9] = {0.6f, 0.3f, 0.1f, NaN, NaN, NaN, NaN, NaN, NaN};
    float XA2[9] = {0.5f, 0.4f, 0.1f, 0.5f, 0.4f, 0.1f, NaN, NaN, NaN};
    const float *x[2] = {XA2, XB};
    float out[9];
    CHECK(lf_decision_templates_apply(want, x, 2, 3, 3, out, &e) == LF_OK, "apply: %s", e.msg);
    /* row 0: squared distances to class 0: A .065 + B .14 = .205;
     * class 1: .18 + .18 = .36; class 2: .0866667 + .1266667 = .2133333;
     * S = 1 - d/6 */
    double s0 = 1 - 0.205 / 6, s1 = 1 - 0.36 / 6, s2 = 1 - (0.26 / 3 + 0.38 / 3) / 6;
    double ss = s0 + s1 + s2;
    float r0[3] = {(float)(s0 / ss), (float)(s1 / ss), (float)(s2 / ss)};
    CHECK_CLOSE("templates row 0", out, r0, 3, 1e-6, 0);
    /* row 1: only A: S = 1 - d/3 */
    s0 = 1 - 0.065 / 3, s1 = 1 - 0.18 / 3, s2 = 1 - (0.26 / 3) / 3, ss = s0 + s1 + s2;
    float r1[3] = {(float)(s0 / ss), (float)(s1 / ss), (float)(s2 / ss)};
    CHECK_CLOSE("templates row 1 (B missing)", out + 3, r1, 3, 1e-6, 0);
    const float uu[3] = {u, u, u};
    CHECK_CLOSE("templates row 2 (none present)", out + 6, uu, 3, 0, 0);

    /* errors */
    const int ybad[3] = {0, 0, 5};
    CHECK(lf_decision_templates_fit(p, 2, 3, 3, ybad, T, &e) == LF_ERR_ARG, "bad label");
    CHECK(strcmp(e.msg, "decision templates: label of row 2 is 5, outside 0..2") == 0,
          "msg: %s", e.msg);
    CHECK(lf_decision_templates_fit(p, 2, 3, 3, NULL, T, &e) == LF_ERR_ARG, "NULL labels");
    CHECK(strcmp(e.msg, "decision templates: the label array is NULL") == 0, "msg: %s", e.msg);
    float Tbad[18];
    memcpy(Tbad, want, sizeof Tbad);
    Tbad[7] = NaN;
    CHECK(lf_decision_templates_apply(Tbad, x, 2, 3, 3, out, &e) == LF_ERR_NUMERIC, "NaN tpl");
    CHECK(strcmp(e.msg, "decision templates: template of class 1, model 0, class 1 is nan "
                        "(not finite)") == 0,
          "msg: %s", e.msg);
    CHECK(lf_decision_templates_apply(NULL, x, 2, 3, 3, out, &e) == LF_ERR_ARG, "NULL tpl");
    CHECK(strcmp(e.msg, "decision templates: the templates are NULL") == 0, "msg: %s", e.msg);
}

static void test_accuracies(void) {
    float Bm[6] = {0.4f, 0.4f, 0.2f, NaN, NaN, NaN};
    float Nm[6] = {NaN, NaN, NaN, NaN, NaN, NaN};
    const float *p[4] = {A, B, Bm, Nm};
    const int y[2] = {0, 1};
    double acc[4];
    lf_err e = {{0}};
    CHECK(lf_model_accuracies(p, 4, 2, 3, y, acc, &e) == LF_OK, "accuracies: %s", e.msg);
    /* A: argmax 0, 2 -> 1/2; B: 0 (tie to lowest), 1 -> 2/2; Bm: 1/1; Nm: 0 */
    CHECK(acc[0] == 0.5 && acc[1] == 1.0 && acc[2] == 1.0 && acc[3] == 0.0,
          "accuracies %g %g %g %g", acc[0], acc[1], acc[2], acc[3]);
    const int ybad[2] = {0, -1};
    CHECK(lf_model_accuracies(p, 4, 2, 3, ybad, acc, &e) == LF_ERR_ARG, "bad label");
    CHECK(strcmp(e.msg, "model accuracies: label of row 1 is -1, outside 0..2") == 0, "msg: %s",
          e.msg);
    static const float tie[4] = {0.5f, 0.5f, 0.2f, 0.2f};
    CHECK(lf_argmax_f(tie, 4) == 0 && lf_argmax_f(tie + 1, 3) == 0 && lf_argmax_f(A + 3, 3) == 2,
          "argmax ties to the lowest index");
}

/* random rows that sum to 1, with some rows missing */
static void random_probs(float *p, size_t N, size_t C, unsigned *seed, double miss) {
    for (size_t i = 0; i < N; i++) {
        *seed = *seed * 1103515245u + 12345u;
        if ((double)((*seed >> 8) % 1000) / 1000.0 < miss) {
            for (size_t c = 0; c < C; c++) p[i * C + c] = NaN;
            continue;
        }
        double s = 0;
        for (size_t c = 0; c < C; c++) {
            *seed = *seed * 1103515245u + 12345u;
            double v = (double)((*seed >> 8) % 1000) + 1.0;
            v = v * v;
            p[i * C + c] = (float)v;
            s += v;
        }
        for (size_t c = 0; c < C; c++) p[i * C + c] = (float)(p[i * C + c] / s);
    }
}

static void test_properties(void) {
    enum { M = 4, N = 300, C = 5 };
    static float buf[M][N * C], out[N * C], out2[N * C], ref[N * C];
    unsigned seed = 7;
    for (int k = 0; k < M; k++) random_probs(buf[k], N, C, &seed, 0.2);
    const float *p[M] = {buf[0], buf[1], buf[2], buf[3]};
    const float *rev[M] = {buf[3], buf[2], buf[1], buf[0]};
    const float w[M] = {1.0f, 2.0f, 0.5f, 4.0f}, wrev[M] = {4.0f, 0.5f, 2.0f, 1.0f};
    lf_err e;
    for (int r = 0; r < LF_RULE_COUNT; r++) {
        CHECK(lf_rule_apply((lf_rule)r, p, M, N, C, w, out, &e) == LF_OK, "rule %d", r);
        CHECK(lf_rule_apply((lf_rule)r, rev, M, N, C, wrev, out2, &e) == LF_OK, "rule %d", r);
        CHECK_CLOSE("model order does not matter", out, out2, N * C, 1e-6, 0);
        int sums_ok = 1, finite = 1;
        for (size_t i = 0; i < N; i++) {
            double s = 0;
            for (size_t c = 0; c < C; c++) {
                s += out[i * C + c];
                finite &= isfinite(out[i * C + c]) && out[i * C + c] >= 0.0f;
            }
            sums_ok &= fabs(s - 1.0) < 1e-5;
        }
        CHECK(sums_ok && finite, "rule %s: rows are probabilities", lf_rule_name((lf_rule)r));
    }
    /* mean and product against a direct reference */
    for (size_t i = 0; i < N; i++) {
        double ws = 0, m[C] = {0}, l[C] = {0};
        for (int k = 0; k < M; k++) {
            if (isnan(p[k][i * C])) continue;
            ws += w[k];
            for (size_t c = 0; c < C; c++) {
                m[c] += w[k] * p[k][i * C + c];
                l[c] += w[k] * log(fmax(p[k][i * C + c], 1e-12));
            }
        }
        double s = 0;
        for (size_t c = 0; c < C; c++) s += exp(l[c] / (ws > 0 ? ws : 1));
        for (size_t c = 0; c < C; c++) {
            ref[i * C + c] = ws > 0 ? (float)(m[c] / ws) : 1.0f / C;
            out2[i * C + c] = ws > 0 ? (float)(exp(l[c] / ws) / s) : 1.0f / C;
        }
    }
    CHECK(lf_rule_apply(LF_RULE_MEAN, p, M, N, C, w, out, &e) == LF_OK, "mean");
    CHECK_CLOSE("mean vs reference", out, ref, N * C, 1e-6, 0);
    CHECK(lf_rule_apply(LF_RULE_PRODUCT, p, M, N, C, w, out, &e) == LF_OK, "product");
    CHECK_CLOSE("product vs reference", out, out2, N * C, 1e-6, 0);
    /* equal weights (the product's one-log-per-class path) */
    for (size_t i = 0; i < N; i++) {
        double n = 0, l[C] = {0}, s = 0;
        for (int k = 0; k < M; k++) {
            if (isnan(p[k][i * C])) continue;
            n++;
            for (size_t c = 0; c < C; c++) l[c] += log(fmax(p[k][i * C + c], 1e-12));
        }
        for (size_t c = 0; c < C; c++) s += exp(l[c] / (n > 0 ? n : 1));
        for (size_t c = 0; c < C; c++)
            ref[i * C + c] = n > 0 ? (float)(exp(l[c] / n) / s) : 1.0f / C;
    }
    const float weq[M] = {2.5f, 2.5f, 2.5f, 2.5f};
    CHECK(lf_rule_apply(LF_RULE_PRODUCT, p, M, N, C, NULL, out, &e) == LF_OK, "product");
    CHECK_CLOSE("equal-weight product vs reference", out, ref, N * C, 1e-6, 0);
    CHECK(lf_rule_apply(LF_RULE_PRODUCT, p, M, N, C, weq, out2, &e) == LF_OK, "product");
    CHECK_CLOSE("weights (2.5,...) = no weights", out2, out, N * C, 0, 0);
}

static void test_many_models(void) {
    /* 40 models with one-hot rows: a plain product of the clipped zeros
     * (1e-12^40) would underflow; the geometric mean is (1, 1e-12, 1e-12) */
    enum { M = 40 };
    static const float hot[3] = {1.0f, 0.0f, 0.0f}, soft[3] = {0.98f, 0.01f, 0.01f};
    const float *p[M], *q[M];
    for (int k = 0; k < M; k++) p[k] = hot, q[k] = soft;
    float out[3];
    lf_err e;
    CHECK(lf_rule_apply(LF_RULE_PRODUCT, p, M, 1, 3, NULL, out, &e) == LF_OK, "40 one-hots");
    float want[3] = {(float)(1 / (1 + 2e-12)), 1e-12f, 1e-12f};
    CHECK_CLOSE("product of 40 one-hots", out, want, 3, 1e-18, 1e-6);
    CHECK(lf_rule_apply(LF_RULE_PRODUCT, q, M, 1, 3, NULL, out, &e) == LF_OK, "40 rows");
    CHECK_CLOSE("geometric mean of 40 equal rows", out, soft, 3, 1e-7, 0);
    CHECK(lf_rule_apply(LF_RULE_MEDIAN, q, M, 1, 3, NULL, out, &e) == LF_OK, "40 rows");
    CHECK_CLOSE("median of 40 equal rows", out, soft, 3, 1e-7, 0);
}

/* The fused fast path (lf_rule_fused) gives lf_rule_apply's bits, and the
 * product (branch-free log/exp) stays within 1e-7 of a long double
 * reference on hostile values: zeros, -0.0, values below, at and just above
 * the 1e-12 clip, near-one values; a missing row or a row that does not sum
 * to 1 sends the caller to the general path. */
static void test_fused(void) {
    enum { M = 3, N = 3001, NC = 7 };
    static float a[M][N * NC], of[N * NC], og[N * NC];
    unsigned long long s = 11;
    const float hostile[] = {0.0f, -0.0f, 1e-30f, 1e-12f, 1.0000001e-12f, 1e-7f};
    for (size_t k = 0; k < M; k++)
        for (size_t i = 0; i < N; i++) {
            float *row = a[k] + i * NC;
            double sum = 0;
            for (size_t c = 1; c < NC; c++) {
                s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                unsigned pick = (unsigned)(s >> 60); /* 0..15: hostile in 6 of 16 */
                row[c] = pick < 6 && i % 3 ? hostile[pick] : (float)((s >> 40) & 0xffffff) / 16777216.0f / NC;
                if (i % 7 == 3) row[c] = hostile[pick % 6]; /* every class hostile: row[0] near 1 */
                sum += row[c];
            }
            row[0] = (float)(1.0 - sum); /* >= 1/NC */
        }
    const float *p[M] = {a[0], a[1], a[2]};
    lf_err e;
    for (int r = 0; r < 2; r++) {
        lf_rule rule = r ? LF_RULE_PRODUCT : LF_RULE_MEAN;
        CHECK(lf_rule_fused(rule, p, M, N, NC, of) == 1, "fused %s refused valid rows", lf_rule_name(rule));
        CHECK(lf_rule_apply(rule, p, M, N, NC, NULL, og, &e) == LF_OK, "%s", e.msg);
        size_t bad = 0;
        while (bad < (size_t)N * NC && !memcmp(&of[bad], &og[bad], sizeof *of)) bad++;
        CHECK(bad == (size_t)N * NC, "fused %s differs from the row loop at %zu: %g vs %g", lf_rule_name(rule), bad,
              bad < (size_t)N * NC ? (double)of[bad] : 0.0, bad < (size_t)N * NC ? (double)og[bad] : 0.0);
    }
    double worst = 0;
    for (size_t i = 0; i < N; i++) {
        long double g[NC], tot = 0;
        for (size_t c = 0; c < NC; c++) {
            long double l = 0;
            for (size_t k = 0; k < M; k++) {
                float v = p[k][i * NC + c];
                l += logl(v > 1e-12f ? (long double)v : 1e-12L);
            }
            tot += g[c] = expl(l / M);
        }
        for (size_t c = 0; c < NC; c++) {
            double d = fabs((double)(g[c] / tot) - (double)of[i * NC + c]);
            worst = d > worst ? d : worst;
        }
    }
    CHECK(worst <= 1e-7, "product vs long double reference: %g", worst);
    /* a missing row: refused by the fast path; the row loop fuses the two
     * models left (their geometric mean) */
    for (size_t c = 0; c < NC; c++) a[1][5 * NC + c] = NaN;
    CHECK(lf_rule_fused(LF_RULE_PRODUCT, p, M, N, NC, of) == 0, "fused took a missing row");
    CHECK(lf_rule_apply(LF_RULE_PRODUCT, p, M, N, NC, NULL, og, &e) == LF_OK, "%s", e.msg);
    long double g[NC], tot = 0;
    for (size_t c = 0; c < NC; c++) {
        float u = a[0][5 * NC + c], v = a[2][5 * NC + c];
        tot += g[c] = sqrtl((u > 1e-12f ? (long double)u : 1e-12L) * (v > 1e-12f ? (long double)v : 1e-12L));
    }
    worst = 0;
    for (size_t c = 0; c < NC; c++) {
        double d = fabs((double)(g[c] / tot) - (double)og[5 * NC + c]);
        worst = d > worst ? d : worst;
    }
    CHECK(worst <= 1e-7, "product with a missing model: %g off", worst);
    /* a row that does not sum to 1, and a negative value: refused */
    for (size_t c = 0; c < NC; c++) a[1][5 * NC + c] = 0.1f;
    CHECK(lf_rule_fused(LF_RULE_MEAN, p, M, N, NC, of) == 0, "fused took a row summing to 0.7");
    a[1][5 * NC] = 0.4f, a[1][5 * NC + 1] = -0.1f, a[1][5 * NC + 2] = 0.2f;
    CHECK(lf_rule_fused(LF_RULE_MEAN, p, M, N, NC, of) == 0, "fused took a negative value");
    /* what it does not handle: one model, other rules, NULL models */
    CHECK(lf_rule_fused(LF_RULE_MEAN, p, 1, N, NC, of) == 0, "one model");
    CHECK(lf_rule_fused(LF_RULE_MAX, p, M, N, NC, of) == 0, "max");
    const float *pn[M] = {a[0], NULL, a[2]};
    CHECK(lf_rule_fused(LF_RULE_MEAN, pn, M, N, NC, of) == 0, "a NULL model");
}

/* lf_probs_look_valid takes rows 8 at a time and then one by one: a row
 * summing to 0.7, a negative value or a NaN in any row of a block or of
 * the rest is found, for row counts around 8 and an odd class count. */
static void test_look_valid(void) {
    enum { C = 7, NMAX = 25 };
    static const size_t ns[] = {1, 7, 8, 9, 16, 17, 25};
    float v[NMAX * C];
    int all = 1;
#define LV(cond, ...)                                                                                          \
    do {                                                                                                       \
        if (!(cond)) { CHECK(0, __VA_ARGS__); all = 0; }                                                       \
    } while (0)
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
        size_t n = ns[a];
        for (size_t i = 0; i < n * C; i++) v[i] = (i % C == 0) ? 0.4f : 0.1f; /* rows sum to 1 */
        LV(lf_probs_look_valid(v, n, C, 0), "%zu valid rows refused", n);
        for (size_t r = 0; r < n; r++) {
            float keep = v[r * C];
            v[r * C] = 0.1f; /* sums to 0.7 */
            LV(!lf_probs_look_valid(v, n, C, 0), "%zu rows: row %zu summing to 0.7 taken", n, r);
            v[r * C] = 0.6f, v[r * C + 3] = -0.1f; /* sums to 1, one value negative */
            LV(!lf_probs_look_valid(v, n, C, 0), "%zu rows: row %zu with a negative value taken", n, r);
            v[r * C] = keep, v[r * C + 3] = 0.1f;
            v[r * C + C - 1] = NAN;
            LV(!lf_probs_look_valid(v, n, C, 0), "%zu rows: row %zu with a NaN taken", n, r);
            LV(!lf_probs_look_valid(v, n, C, 1), "%zu rows: logits, row %zu with a NaN taken", n, r);
            v[r * C + C - 1] = 0.1f;
        }
    }
    CHECK(all, "the fast check over row counts around its blocks of 8");
#undef LV
}

int main(void) {
    test_look_valid();
    test_names();
    test_two_models();
    test_three_models();
    test_weights();
    test_missing();
    test_edge_values();
    test_errors();
    test_templates();
    test_accuracies();
    test_properties();
    test_many_models();
    test_fused();
    return check_report("test_rules");
}
