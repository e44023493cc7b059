/*
 * methods.c — the table of fusion methods: one slot per method, in the
 * order compare and auto try them, and the public calls that name, list
 * and classify methods.  A method's behaviour lives in its record, in its
 * family's file (fixed.c, classical.c, learned.c); adding a method is its
 * record and one slot here (and, for the public API, one lf_method value).
 */
#include "fusion/method.h"

#include <string.h>

const lf_method_def *const lf_method_table[] = {
    &lf_method_mean,     &lf_method_product,      &lf_method_max,
    &lf_method_min,      &lf_method_median,       &lf_method_vote,
    &lf_method_borda,    &lf_method_acc_weighted, &lf_method_decision_template,
    &lf_method_stack_lr, &lf_method_wavg,         &lf_method_wavg_class,
    &lf_method_loglinear, &lf_method_mlp,         &lf_method_gate,
};
const size_t lf_method_table_len = sizeof lf_method_table / sizeof lf_method_table[0];

static const char AUTO_NAME[] = "auto";

const lf_method_def *lf_method_def_of(lf_method m) {
    for (size_t i = 0; i < lf_method_table_len; i++)
        if (lf_method_table[i]->id == m) return lf_method_table[i];
    return NULL;
}

const char *lf_method_name(lf_method m) {
    if (m == LF_FUSE_AUTO) return AUTO_NAME;
    const lf_method_def *d = lf_method_def_of(m);
    return d ? d->name : NULL;
}

int lf_method_parse(const char *name) {
    if (!name) return -1;
    if (strcmp(name, AUTO_NAME) == 0) return LF_FUSE_AUTO;
    for (size_t i = 0; i < lf_method_table_len; i++)
        if (strcmp(name, lf_method_table[i]->name) == 0) return (int)lf_method_table[i]->id;
    return -1;
}

size_t lf_method_list(lf_method *out, size_t cap) {
    for (size_t i = 0; out && i < cap && i < lf_method_table_len; i++) out[i] = lf_method_table[i]->id;
    return lf_method_table_len;
}

int lf_method_family(lf_method m) {
    const lf_method_def *d = lf_method_def_of(m);
    return d ? (int)d->family : -1;
}
