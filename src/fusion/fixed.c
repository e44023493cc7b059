/*
 * fixed.c — the fixed rules as fusion methods: mean, product, max, min,
 * median, vote and borda (rules.c computes them).  They learn nothing and
 * keep no state; the file holds only the common settings.
 */
#include "fusion/method.h"
#include "fusion/rules.h"

static lf_status rule_predict(const lf_fusion *f, const lf_probs *pr, float *out) {
    lf_err own; /* the caller's message, else dropped: predict writes nothing shared */
    return lf_rule_apply((lf_rule)f->def->rule, (const float *const *)pr->p, pr->M, pr->N, pr->C, NULL,
                         out, pr->err ? pr->err : &own);
}

#define FIXED_RULE(var, ID, NAME, RULE, SUMMARY)                                                  \
    static const lf_method_def var = {.id = ID, .name = NAME, .family = LF_FAMILY_FIXED,                 \
                               .summary = SUMMARY, .predict = rule_predict, .rule = RULE}

FIXED_RULE(rule_mean, LF_FUSE_MEAN, "mean", LF_RULE_MEAN, "mean of the models present");
FIXED_RULE(rule_product, LF_FUSE_PRODUCT, "product", LF_RULE_PRODUCT,
           "geometric mean of the models present, renormalised");
FIXED_RULE(rule_max, LF_FUSE_MAX, "max", LF_RULE_MAX, "per-class maximum, renormalised");
FIXED_RULE(rule_min, LF_FUSE_MIN, "min", LF_RULE_MIN, "per-class minimum, renormalised");
FIXED_RULE(rule_median, LF_FUSE_MEDIAN, "median", LF_RULE_MEDIAN, "per-class median, renormalised");
FIXED_RULE(rule_vote, LF_FUSE_VOTE, "vote", LF_RULE_VOTE,
           "majority vote, ties broken by the mean probability");
FIXED_RULE(rule_borda, LF_FUSE_BORDA, "borda", LF_RULE_BORDA, "Borda count of the class ranks");

const lf_method_def *const lf_fixed_methods[] = {&rule_mean, &rule_product, &rule_max,
                                                  &rule_min,  &rule_median,  &rule_vote,
                                                  &rule_borda, NULL};
