/*
 * test_check.c — the public input check (lf_check_outputs, lf_check_labels,
 * lf_labels_from_matrix): every kind of problem with its model, name, row,
 * column, value and sum; rows counted from row0; the order of the checks
 * (models, then rows, a row's partial NaN before its columns); clean input
 * and missing rows pass.
 */
#include "check.h"
#include "latefuse.h"

#include <math.h>
#include <string.h>

#define NaN ((float)NAN)

static void test_outputs(void) {
    const float good[6] = {0.2f, 0.8f, NaN, NaN, 0.5f, 0.5f};
    const float *p[2] = {good, good};
    const char *names[2] = {"a", "b"};
    lf_input_issue is;
    CHECK(lf_check_outputs(p, names, 2, 3, 2, 0, 0, &is) == LF_OK && is.kind == LF_INPUT_OK, "clean");
    CHECK(lf_check_outputs(NULL, names, 2, 3, 2, 0, 0, &is) == LF_ERR_ARG, "NULL arrays");
    const float *absent[2] = {NULL, good};
    CHECK(lf_check_outputs(absent, NULL, 2, 3, 2, 0, 0, NULL) == LF_OK, "an absent model");

    /* row 1: negative first, NaN later: the partial NaN is reported */
    float bad[6] = {0.2f, 0.8f, -0.5f, NaN, 0.5f, 0.5f};
    p[1] = bad;
    CHECK(lf_check_outputs(p, names, 2, 3, 2, 0, 10, &is) == LF_ERR_FORMAT && is.kind == LF_INPUT_PARTIAL_NAN &&
              is.model == 1 && strcmp(is.name, "b") == 0 && is.row == 11 && is.column == 1,
          "partial NaN: kind %d model %zu row %zu col %zu", (int)is.kind, is.model, is.row, is.column);
    bad[3] = 1.5f;
    CHECK(lf_check_outputs(p, NULL, 2, 3, 2, 0, 0, &is) == LF_ERR_FORMAT && is.kind == LF_INPUT_NEGATIVE &&
              is.name == NULL && is.row == 1 && is.column == 0 && is.value == -0.5,
          "negative: kind %d row %zu col %zu value %g", (int)is.kind, is.row, is.column, is.value);
    CHECK(lf_check_outputs(p, NULL, 2, 3, 2, 1, 0, &is) == LF_OK, "logits take negative values");
    bad[3] = INFINITY;
    CHECK(lf_check_outputs(p, NULL, 2, 3, 2, 1, 0, &is) == LF_ERR_FORMAT && is.kind == LF_INPUT_INF &&
              is.column == 1 && is.value > 0,
          "inf: kind %d col %zu", (int)is.kind, is.column);
    bad[2] = 0.25f, bad[3] = 0.5f;
    CHECK(lf_check_outputs(p, NULL, 2, 3, 2, 0, 0, &is) == LF_ERR_FORMAT && is.kind == LF_INPUT_SUM &&
              is.row == 1 && is.sum == 0.75,
          "sum: kind %d row %zu sum %g", (int)is.kind, is.row, is.sum);
    bad[3] = 0.755f; /* 1.005: not within 1e-3 */
    CHECK(lf_check_outputs(p, NULL, 2, 3, 2, 0, 0, &is) == LF_ERR_FORMAT && fabs(is.sum - 1.005) < 1e-6,
          "a sum 5e-3 off: kind %d sum %.9g", (int)is.kind, is.sum);
    bad[3] = 0.7505f; /* 1.0005: within 1e-3 */
    CHECK(lf_check_outputs(p, NULL, 2, 3, 2, 0, 0, &is) == LF_OK, "a sum within 1e-3: kind %d", (int)is.kind);
}

static void test_labels(void) {
    lf_input_issue is;
    const int y[3] = {0, 2, 3};
    CHECK(lf_check_labels(y, 2, 3, &is) == LF_OK, "in range");
    CHECK(lf_check_labels(y, 3, 3, &is) == LF_ERR_FORMAT && is.kind == LF_INPUT_LABEL_RANGE && is.row == 2 &&
              is.value == 3,
          "range: row %zu value %g", is.row, is.value);
    int out[3];
    const float idx[3] = {1, 0, 2};
    CHECK(lf_labels_from_matrix(idx, 3, 1, 3, out, &is) == LF_OK && out[0] == 1 && out[2] == 2, "indices");
    const float frac[3] = {1, 1.5f, 2};
    CHECK(lf_labels_from_matrix(frac, 3, 1, 3, out, &is) == LF_ERR_FORMAT &&
              is.kind == LF_INPUT_LABEL_NOT_INTEGER && is.row == 1 && is.value == 1.5,
          "fraction: kind %d row %zu", (int)is.kind, is.row);
    const float neg[3] = {1, 0, -1};
    CHECK(lf_labels_from_matrix(neg, 3, 1, 3, out, &is) == LF_ERR_FORMAT && is.kind == LF_INPUT_LABEL_RANGE &&
              is.row == 2 && is.value == -1,
          "negative label: kind %d", (int)is.kind);
    const float hot[6] = {0, 1, 1, 0, 1, 1};
    CHECK(lf_labels_from_matrix(hot, 2, 2, 2, out, &is) == LF_OK && out[0] == 1 && out[1] == 0, "one-hot");
    CHECK(lf_labels_from_matrix(hot, 3, 2, 2, out, &is) == LF_ERR_FORMAT &&
              is.kind == LF_INPUT_LABEL_NOT_ONE_HOT && is.row == 2,
          "not one-hot: kind %d row %zu", (int)is.kind, is.row);
    CHECK(lf_labels_from_matrix(hot, 2, 3, 2, out, &is) == LF_ERR_SHAPE, "3 columns for 2 classes");
}

int main(void) {
    test_outputs();
    test_labels();
    return check_report("check");
}
