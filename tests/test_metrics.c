/*
 * test_metrics.c — accuracy, macro-F1, log-loss, Brier, ECE, oracle
 * accuracy and fold mean/std against values computed by hand (and checked
 * once against scikit-learn 1.2: accuracy_score, f1_score(average='macro');
 * log-loss/Brier/ECE by their formulas in float64 over the same float32
 * inputs), plus argument errors with their messages.
 */
#include "check.h"
#include "fusion/metrics.h"

#include <math.h>
#include <string.h>

#define NaN ((float)NAN)
#define CHECK_NEAR(got, want, tol)                                                      \
    CHECK(fabs((double)(got) - (double)(want)) <= (tol), "%s = %.12g, want %.12g", #got, \
          (double)(got), (double)(want))

/* six rows, four classes; class 3 is neither a label nor predicted */
static const float P[24] = {
    0.7f, 0.2f, 0.1f, 0.0f, /* y 0, pred 0, right, conf .7          */
    0.1f, 0.6f, 0.3f, 0.0f, /* y 1, pred 1, right, conf .6          */
    0.3f, 0.3f, 0.4f, 0.0f, /* y 1, pred 2, wrong, conf .4          */
    0.5f, 0.5f, 0.0f, 0.0f, /* y 1, pred 0 (tie -> lowest), wrong   */
    0.2f, 0.2f, 0.6f, 0.0f, /* y 2, pred 2, right, conf .6          */
    0.0f, 1.0f, 0.0f, 0.0f, /* y 2, pred 1, wrong, p_true 0 -> 1e-15 */
};
static const int Y[6] = {0, 1, 1, 1, 2, 2};

static void test_hand_case(void) {
    lf_metrics m;
    lf_err e = {{0}};
    CHECK(lf_metrics_compute(P, Y, 6, 4, &m, &e) == LF_OK, "compute: %s", e.msg);
    CHECK_NEAR(m.accuracy, 0.5, 1e-15);
    /* F1: class 0 TP1 FP1 FN0 -> 2/3; class 1 TP1 FP1 FN2 -> 2/5;
     * class 2 TP1 FP1 FN1 -> 1/2; class 3 left out */
    CHECK_NEAR(m.macro_f1, (2.0 / 3 + 0.4 + 0.5) / 3, 1e-15);
    CHECK_NEAR(m.macro_f1, 0.5222222222222223, 1e-15);
    /* -(ln .7 + ln .6 + ln .3 + ln .5 + ln .6 + ln 1e-15) / 6 */
    CHECK_NEAR(m.log_loss, 6.302370411514648, 1e-9);
    /* (.14 + .26 + .74 + .5 + .24 + 2) / 6 */
    CHECK_NEAR(m.brier, 3.88 / 6, 1e-7);
    CHECK_NEAR(m.brier, 0.6466666625936829, 1e-12);
    /* ECE bins: .7 -> bin 10 (right): .3; .6f (just above 9/15) -> bin 9,
     * two right: 2 * .4; .4f -> bin 6 (wrong): .4; .5 -> bin 7: .5;
     * 1.0 -> bin 14 (wrong): 1; total 3.0 / 6 */
    CHECK_NEAR(m.ece, 0.5, 1e-7);
    CHECK_NEAR(m.ece, 0.49999999503294623, 1e-12);
}

static void test_simple_cases(void) {
    lf_metrics m;
    lf_err e;
    /* perfect one-hot predictions */
    static const float hot[6] = {1, 0, 0, 1, 1, 0};
    static const int yh[3] = {0, 1, 0};
    CHECK(lf_metrics_compute(hot, yh, 3, 2, &m, &e) == LF_OK, "perfect");
    CHECK(m.accuracy == 1.0 && m.macro_f1 == 1.0 && m.brier == 0.0 && m.ece == 0.0,
          "perfect: acc %g f1 %g brier %g ece %g", m.accuracy, m.macro_f1, m.brier, m.ece);
    CHECK_NEAR(m.log_loss, 0.0, 1e-15);
    /* ECE with mixed correctness inside one bin: confidences .7 (right) and
     * .72 (wrong) both in (10/15, 11/15]: acc .5, conf .71 -> |.5 - .71|;
     * plus a row of all zeros: confidence 0 goes to bin 0, argmax class 0
     * (wrong, y 1): |0 - 0|.  ECE = (2 * .21 + 0) / 3 */
    static const float q[6] = {0.7f, 0.3f, 0.28f, 0.72f, 0.0f, 0.0f};
    static const int yq[3] = {0, 0, 1};
    CHECK(lf_metrics_compute(q, yq, 3, 2, &m, &e) == LF_OK, "ece case");
    CHECK_NEAR(m.ece, 2 * fabs(0.5 - (0.7 + (double)0.72f) / 2) / 3, 1e-7);
    CHECK_NEAR(m.accuracy, 1.0 / 3, 1e-15);
    /* row 1 y 0 pred 1: class 0 FN, class 1 FP; row 2 y 1 pred 0: class 0 FP,
     * class 1 FN.  class 0: TP1 FP1 FN1 -> 1/2; class 1: TP0 FP1 FN1 -> 0 */
    CHECK_NEAR(m.macro_f1, 0.25, 1e-15);
    /* log-loss: -(ln .7 + ln .28 + ln 1e-15) / 3, p not renormalised */
    CHECK_NEAR(m.log_loss, -(log((double)0.7f) + log((double)0.28f) + log(1e-15)) / 3, 1e-12);
    /* Brier: .09+.09, (.72)^2*2, 0+1 */
    double b = 2 * pow(0.3, 2) + 2 * pow((double)0.72f, 2) + 1.0;
    CHECK_NEAR(m.brier, b / 3, 1e-7);
    /* probabilities above 1 are clipped to 1 in the log-loss */
    static const float big[2] = {1.5f, 0.0f};
    static const int y0[1] = {0};
    CHECK(lf_metrics_compute(big, y0, 1, 2, &m, &e) == LF_OK, "p > 1");
    CHECK(m.log_loss == 0.0, "log-loss of p = 1.5 is %g", m.log_loss);
}

static void test_errors(void) {
    lf_metrics m;
    lf_err e = {{0}};
    CHECK(lf_metrics_compute(P, Y, 0, 4, &m, &e) == LF_ERR_ARG, "N = 0");
    CHECK(strcmp(e.msg, "metrics: no rows to score (N = 0)") == 0, "msg: %s", e.msg);
    CHECK(lf_metrics_compute(P, Y, 6, 0, &m, &e) == LF_ERR_ARG, "C = 0");
    CHECK(strcmp(e.msg, "metrics: no classes given (C = 0)") == 0, "msg: %s", e.msg);
    CHECK(lf_metrics_compute(NULL, Y, 6, 4, &m, &e) == LF_ERR_ARG, "NULL prob");
    CHECK(strcmp(e.msg, "metrics: the probability array is NULL") == 0, "msg: %s", e.msg);
    CHECK(lf_metrics_compute(P, NULL, 6, 4, &m, &e) == LF_ERR_ARG, "NULL y");
    CHECK(strcmp(e.msg, "metrics: the label array is NULL") == 0, "msg: %s", e.msg);
    static const int yb[6] = {0, 1, 1, 4, 2, 2};
    CHECK(lf_metrics_compute(P, yb, 6, 4, &m, &e) == LF_ERR_ARG, "bad label");
    CHECK(strcmp(e.msg, "metrics: label of row 3 is 4, outside 0..3") == 0, "msg: %s", e.msg);
    float Pn[24];
    memcpy(Pn, P, sizeof Pn);
    Pn[6] = NaN;
    CHECK(lf_metrics_compute(Pn, Y, 6, 4, &m, &e) == LF_ERR_NUMERIC, "NaN prob");
    CHECK(strcmp(e.msg, "metrics: probability of row 1, class 2 is nan") == 0, "msg: %s", e.msg);
}

/* lf_metrics_log_loss_accuracy: lf_metrics_compute's bits and errors */
static void test_log_loss_accuracy(void) {
    lf_metrics m;
    lf_err e = {{0}}, e2 = {{0}};
    double ll = -1, acc = -1;
    CHECK(lf_metrics_compute(P, Y, 6, 4, &m, &e) == LF_OK &&
              lf_metrics_log_loss_accuracy(P, Y, 6, 4, &ll, &acc, &e) == LF_OK,
          "hand case");
    CHECK(memcmp(&ll, &m.log_loss, sizeof ll) == 0 && memcmp(&acc, &m.accuracy, sizeof acc) == 0,
          "hand case: %.17g %.17g, lf_metrics_compute %.17g %.17g", ll, acc, m.log_loss, m.accuracy);
    CHECK_NEAR(acc, 0.5, 0);
    float R[300 * 7];
    int yr[300];
    unsigned s = 7;
    for (int i = 0; i < 300; i++) {
        double z = 0;
        for (int c = 0; c < 7; c++) {
            s = s * 1103515245u + 12345u;
            z += R[i * 7 + c] = (i % 11 == 0 && c > 0) ? 0.0f : (float)((s >> 8) % 1000) / 1000.0f + 1e-3f;
        }
        for (int c = 0; c < 7; c++) R[i * 7 + c] = (float)(R[i * 7 + c] / z);
        yr[i] = (int)((s >> 4) % 7);
    }
    CHECK(lf_metrics_compute(R, yr, 300, 7, &m, &e) == LF_OK &&
              lf_metrics_log_loss_accuracy(R, yr, 300, 7, &ll, &acc, &e) == LF_OK &&
              memcmp(&ll, &m.log_loss, sizeof ll) == 0 && memcmp(&acc, &m.accuracy, sizeof acc) == 0,
          "random rows (some clipped at 1e-15): %.17g %.17g, lf_metrics_compute %.17g %.17g", ll, acc, m.log_loss,
          m.accuracy);
    static const int yb[6] = {0, 1, 1, 4, 2, 2};
    float Pn[24];
    memcpy(Pn, P, sizeof Pn);
    Pn[6] = NaN;
    CHECK(lf_metrics_log_loss_accuracy(P, yb, 6, 4, &ll, &acc, &e) == LF_ERR_ARG &&
              lf_metrics_compute(P, yb, 6, 4, &m, &e2) == LF_ERR_ARG && strcmp(e.msg, e2.msg) == 0,
          "bad label: %s", e.msg);
    CHECK(lf_metrics_log_loss_accuracy(Pn, Y, 6, 4, &ll, &acc, &e) == LF_ERR_NUMERIC &&
              strcmp(e.msg, "metrics: probability of row 1, class 2 is nan") == 0,
          "NaN: %s", e.msg);
    CHECK(lf_metrics_log_loss_accuracy(P, Y, 0, 4, &ll, &acc, &e) == LF_ERR_ARG &&
              strcmp(e.msg, "metrics: no rows to score (N = 0)") == 0,
          "N = 0: %s", e.msg);
}

static void test_oracle(void) {
    /* 2 models, 4 rows, 2 classes */
    static const float a[8] = {0.9f, 0.1f, 0.8f, 0.2f, 0.4f, 0.6f, 0.5f, 0.5f};
    float b[8] = {0.3f, 0.7f, 0.1f, 0.9f, NaN, NaN, 0.6f, 0.4f};
    const float *p[2] = {a, b};
    float none[8] = {NaN, NaN, NaN, NaN, NaN, NaN, NaN, NaN};
    const float *pn[2] = {none, none};
    /* row 0 y 1: a wrong, b right; row 1 y 0: a right; row 2 y 0: a wrong,
     * b missing, scored as the uniform row (class 0): right, as compare
     * scores b alone there; row 3 y 1: a's tie -> 0 wrong, b -> 0 wrong.
     * 3 of 4 */
    static const int y[4] = {1, 0, 0, 1};
    double acc = -1;
    lf_err e = {{0}};
    CHECK(lf_oracle_accuracy(p, 2, 4, 2, y, &acc, &e) == LF_OK, "oracle: %s", e.msg);
    CHECK(acc == 0.75, "oracle accuracy %g", acc);
    CHECK(lf_oracle_accuracy(p, 1, 4, 2, y, &acc, &e) == LF_OK, "oracle of a alone");
    CHECK(acc == 0.25, "oracle of a alone %g", acc);
    CHECK(lf_oracle_accuracy(pn, 2, 4, 2, y, &acc, &e) == LF_OK, "nobody present");
    CHECK(acc == 0.5, "oracle with no model present: the rows of class 0, %g", acc);
    static const int yb[4] = {1, 0, 2, 1};
    CHECK(lf_oracle_accuracy(p, 2, 4, 2, yb, &acc, &e) == LF_ERR_ARG, "bad label");
    CHECK(strcmp(e.msg, "oracle accuracy: label of row 2 is 2, outside 0..1") == 0, "msg: %s",
          e.msg);
    const float *pnull[2] = {a, NULL};
    CHECK(lf_oracle_accuracy(pnull, 2, 4, 2, y, &acc, &e) == LF_ERR_ARG, "NULL model");
    CHECK(strcmp(e.msg, "oracle accuracy: probabilities of model 1 are NULL") == 0, "msg: %s",
          e.msg);
    CHECK(lf_oracle_accuracy(p, 0, 4, 2, y, &acc, &e) == LF_ERR_ARG, "M = 0");
    CHECK(strcmp(e.msg, "oracle accuracy: empty input (0 models, 4 rows, 2 classes)") == 0,
          "msg: %s", e.msg);
}

static void test_mean_std(void) {
    lf_metrics f[3] = {{0.5, 0.4, 1.0, 0.2, 0.1}, {0.6, 0.4, 2.0, 0.3, 0.1},
                       {0.7, 0.4, 4.0, 0.7, 0.4}};
    lf_metrics mu, sd;
    lf_metrics_mean_std(f, 3, &mu, &sd);
    CHECK_NEAR(mu.accuracy, 0.6, 1e-15);
    CHECK_NEAR(sd.accuracy, 0.1, 1e-15);
    CHECK_NEAR(mu.macro_f1, 0.4, 1e-15);
    CHECK_NEAR(sd.macro_f1, 0.0, 1e-15);
    CHECK_NEAR(mu.log_loss, 7.0 / 3, 1e-15);
    /* deviations -4/3, -1/3, 5/3: (16+1+25)/9 / 2 = 7/3 */
    CHECK_NEAR(sd.log_loss, sqrt(7.0 / 3), 1e-15);
    CHECK_NEAR(mu.brier, 0.4, 1e-15);
    CHECK_NEAR(sd.brier, sqrt((0.04 + 0.01 + 0.09) / 2), 1e-15);
    CHECK_NEAR(mu.ece, 0.2, 1e-15);
    CHECK_NEAR(sd.ece, sqrt((0.01 + 0.01 + 0.04) / 2), 1e-15);
    lf_metrics_mean_std(f + 2, 1, &mu, &sd);
    CHECK(mu.log_loss == 4.0 && sd.log_loss == 0.0 && sd.accuracy == 0.0, "K = 1");
    lf_metrics_mean_std(f, 0, &mu, NULL);
    CHECK(isnan(mu.accuracy) && isnan(mu.ece), "K = 0 gives NaN");
}

int main(void) {
    test_hand_case();
    test_simple_cases();
    test_errors();
    test_log_loss_accuracy();
    test_oracle();
    test_mean_std();
    return check_report("test_metrics");
}
