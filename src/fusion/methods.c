/*
 * methods.c — the table of fusion methods: the families' lists (fixed.c,
 * classical.c, learned.c) joined in the order compare and auto try them,
 * and the public calls that name, list and classify methods (auto and
 * auto's ensemble, ensemble.c, are named here but are not in the table).  A method's
 * behaviour lives in its record, in its family's file; adding one touches
 * that file and its lf_method value in latefuse.h, nothing here.
 */
#include "fusion/ensemble.h"
#include "fusion/method.h"

#include <string.h>

/* the families, in table order */
static const lf_method_def *const *const families[] = {lf_fixed_methods,     lf_classical_methods,
                                                        lf_learned_methods,   lf_selection_methods,
                                                        lf_dynamic_methods,   lf_evidence_methods};

size_t lf_method_count(void) {
    size_t n = 0;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const lf_method_def *const *d = families[f]; *d; d++) n++;
    return n;
}

const lf_method_def *lf_method_at(size_t i) {
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        for (const lf_method_def *const *d = families[f]; *d; d++)
            if (i-- == 0) return *d;
    return NULL;
}

static const char AUTO_NAME[] = "auto";

const lf_method_def *lf_method_def_of(lf_method m) {
    const lf_method_def *d;
    for (size_t i = 0; (d = lf_method_at(i)); i++)
        if (d->id == m) return d;
    return NULL;
}

const char *lf_method_name(lf_method m) {
    if (m == LF_FUSE_AUTO) return AUTO_NAME;
    if (m == LF_FUSE_ENSEMBLE) return LF_ENSEMBLE_NAME; /* made by auto, read from files; not parsed */
    const lf_method_def *d = lf_method_def_of(m);
    return d ? d->name : NULL;
}

int lf_method_parse(const char *name) {
    if (!name) return -1;
    if (strcmp(name, AUTO_NAME) == 0) return LF_FUSE_AUTO;
    const lf_method_def *d;
    for (size_t i = 0; (d = lf_method_at(i)); i++)
        if (strcmp(name, d->name) == 0) return (int)d->id;
    return -1;
}

size_t lf_method_list(lf_method *out, size_t cap) {
    const lf_method_def *d;
    size_t n = 0;
    for (; (d = lf_method_at(n)); n++)
        if (out && n < cap) out[n] = d->id;
    return n;
}

int lf_method_family(lf_method m) {
    const lf_method_def *d = lf_method_def_of(m);
    return d ? (int)d->family : -1;
}

int lf_method_takes_features(lf_method m) {
    const lf_method_def *d = lf_method_def_of(m);
    return d ? d->takes_features : 0;
}
