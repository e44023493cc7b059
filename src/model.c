/*
 * model.c — the model object's lifetime (create, reset, free) and its error
 * record.  Building a graph is builder.c's and the layer records' work;
 * loading one is model_io.c's, which empties a model through lf_model_reset
 * when a load fails.
 */
#include "model.h"

#include <stdio.h>
#include <string.h>

lf_status lf_model_create(lf_model **out, uint64_t seed) {
    if (!out) return LF_ERR_ARG;
    lf_model *m = LF_CALLOC(1, sizeof *m);
    *out = m;
    if (!m) return LF_ERR_NOMEM;
    lf_rng_seed(&m->rng, seed);
    m->output = -1;
    return LF_OK;
}

void lf_model_reset(lf_model *m) {
    lf_rng rng = m->rng;
    for (size_t i = 0; i < m->n_nodes; i++) LF_FREE(m->nodes[i].in);
    LF_FREE(m->nodes);
    LF_FREE(m->inputs);
    LF_FREE(m->params);
    LF_FREE(m->grads);
    LF_FREE(m->m1);
    LF_FREE(m->m2);
    LF_FREE(m->m3);
    LF_FREE(m->hist);
    LF_FREE(m->outs);
    LF_FREE(m->decl_outs);
    for (size_t i = 0; i < m->n_textvec; i++) lf_textvec_free(m->textvec[i]);
    LF_FREE(m->textvec);
    for (size_t i = 0; i < m->n_lookup; i++) lf_lookup_free(m->lookup[i]);
    LF_FREE(m->lookup);
    LF_FREE(m->metrics[0]);
    LF_FREE(m->metrics[1]);
    lf_ws_free(&m->train_ws);
    lf_err err = m->err;
    memset(m, 0, sizeof *m);
    m->err = err;
    m->rng = rng;
    m->output = -1;
}

void lf_model_free(lf_model *m) {
    if (!m) return;
    lf_model_reset(m);
    LF_FREE(m);
}

const char *lf_model_error(const lf_model *m) {
    return m ? m->err.msg : "no model (NULL)";
}

lf_status lf_model_fail(lf_model *m, lf_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->err.msg, sizeof m->err.msg, fmt, ap);
    va_end(ap);
    return st;
}
