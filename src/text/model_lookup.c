/*
 * model_lookup.c — a StringLookup / IntegerLookup kept with a model input
 * (lf_model_attach_lookup), so that the model file carries the vocabulary
 * and settings its raw strings or ids are looked up with.
 *
 * In the model file (model_io.c writes and reads the rest) the lookup of
 * input "<in>" is the metadata "lookup:<in>.config" and
 * "lookup:<in>.vocabulary", the JSON of lf_lookup_save's file.  ':' is not
 * allowed in layer names, so these never meet a layer's entries.  Loading
 * checks them as lf_lookup_load checks its file; every "lookup:" entry
 * must belong to an input, with both parts.  A file without them (older
 * ones) loads as before.
 */
#include "layers/layer.h"
#include "model_io.h"
#include "text/lookup_internal.h"

#include <stdio.h>
#include <string.h>

#define PREFIX "lookup:"
#define PREFIX_LEN 7

/* checks that lk can feed input node id (messages start with `what`) */
static lf_status fits(lf_model *m, int id, const lf_lookup *lk, const char *what) {
    if (id < 0 || (size_t)id >= m->n_nodes || !lf_type_of(&m->nodes[id])->is_input)
        return lf_model_fail(m, LF_ERR_ARG, "%s: node %d is not an input of this model", what, id);
    const lf_node *nd = &m->nodes[id];
    if (lf_model_textvec(m, id))
        return lf_model_fail(m, LF_ERR_ARG, "%s: input '%s' is fed by a text vectorizer already", what, nd->name);
    if (lk->opt.invert)
        return lf_model_fail(m, LF_ERR_ARG, "%s: an inverting lookup gives tokens, not an input for '%s'", what,
                             nd->name);
    const size_t dim = lf_lookup_output_dim(lk);
    if (nd->rank != 1 || (dim && nd->dim != dim)) {
        char s[96];
        lf_shape_str(nd, s, sizeof s);
        if (dim)
            return lf_model_fail(m, LF_ERR_SHAPE, "%s: input '%s' has shape %s; the lookup makes (None, %zu)", what,
                                 nd->name, s, dim);
        return lf_model_fail(m, LF_ERR_SHAPE, "%s: input '%s' has shape %s; an \"int\" lookup makes (None, n)", what,
                             nd->name, s);
    }
    return LF_OK;
}

/* keeps lk (owned from now on) with node id */
static lf_status keep(lf_model *m, int id, lf_lookup *lk) {
    if ((size_t)id >= m->n_lookup) {
        lf_lookup **t = LF_REALLOC(m->lookup, m->n_nodes * sizeof *t);
        if (!t) {
            lf_lookup_free(lk);
            return lf_model_fail(m, LF_ERR_NOMEM, "out of memory attaching a lookup");
        }
        for (size_t i = m->n_lookup; i < m->n_nodes; i++) t[i] = NULL;
        m->lookup = t, m->n_lookup = m->n_nodes;
    }
    lf_lookup_free(m->lookup[id]);
    m->lookup[id] = lk;
    return LF_OK;
}

lf_status lf_model_attach_lookup(lf_model *m, int input, const lf_lookup *lk) {
    if (!m) return LF_ERR_ARG;
    if (!lk) return lf_model_fail(m, LF_ERR_ARG, "lf_model_attach_lookup: no lookup given");
    lf_status st = fits(m, input, lk, "lf_model_attach_lookup");
    if (st != LF_OK) return st;
    lf_lookup *c;
    if (lf_lookup_copy(&c, lk) != LF_OK) return lf_model_fail(m, LF_ERR_NOMEM, "out of memory copying a lookup");
    return keep(m, input, c);
}

lf_lookup *lf_model_lookup(const lf_model *m, int input) {
    return m && input >= 0 && (size_t)input < m->n_lookup ? m->lookup[input] : NULL;
}

/* ------------------------------------------------------------------ file */

void lf_lookup_parts_free(lf_lookup_parts *p) {
    for (size_t i = 0; i < p->n; i++) lf_buf_free(&p->json[2 * i]), lf_buf_free(&p->json[2 * i + 1]);
    LF_FREE(p->json), LF_FREE(p->names), LF_FREE(p->keys), LF_FREE(p->vals);
    memset(p, 0, sizeof *p);
}

lf_status lf_model_lookup_parts(const lf_model *m, lf_lookup_parts *p, lf_err *e) {
    memset(p, 0, sizeof *p);
    size_t n = 0;
    for (size_t i = 0; i < m->n_lookup; i++) n += m->lookup[i] != NULL;
    if (!n) return LF_OK;
    p->json = lf_alloc_array(2 * n, sizeof *p->json);
    p->names = lf_alloc_array(2 * n, sizeof *p->names);
    p->keys = lf_alloc_array(2 * n, sizeof *p->keys);
    p->vals = lf_alloc_array(2 * n, sizeof *p->vals);
    if (!p->json || !p->names || !p->keys || !p->vals) {
        lf_lookup_parts_free(p);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory writing the lookups");
    }
    int failed = 0;
    for (size_t i = 0; i < m->n_lookup; i++) {
        const lf_lookup *lk = m->lookup[i];
        if (!lk) continue;
        size_t k = p->n++;
        snprintf(p->names[2 * k], sizeof p->names[0], PREFIX "%s.config", m->nodes[i].name);
        snprintf(p->names[2 * k + 1], sizeof p->names[0], PREFIX "%s.vocabulary", m->nodes[i].name);
        lf_buf_init(&p->json[2 * k]), lf_buf_init(&p->json[2 * k + 1]);
        lf_lookup_write_json(lk, &p->json[2 * k], &p->json[2 * k + 1]);
        failed |= p->json[2 * k].failed | p->json[2 * k + 1].failed;
        for (size_t j = 0; j < 2; j++) p->keys[2 * k + j] = p->names[2 * k + j], p->vals[2 * k + j] = p->json[2 * k + j].data;
    }
    if (failed) {
        lf_lookup_parts_free(p);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory writing the lookups");
    }
    return LF_OK;
}

/* the input named by key "lookup:<name><suffix>", or -1 */
static int input_of(const lf_model *m, const char *key, const char *suffix) {
    return lf_model_input_of_key(m, key, PREFIX, suffix);
}

lf_status lf_lookup_restore(lf_model *m, const lf_st_file *f, lf_err *e) {
    size_t configs = 0, vocs = 0;
    char esc[LF_MSG_STR];
    for (size_t i = 0; i < lf_st_metadata_count(f); i++) {
        const char *key = lf_st_metadata_key(f, i);
        if (strncmp(key, PREFIX, PREFIX_LEN) != 0) continue;
        int id = input_of(m, key, ".config");
        if (id < 0 && input_of(m, key, ".vocabulary") < 0)
            return lf_fail(e, LF_ERR_FORMAT, "metadata '%s' names no input of the model", lf_str_for_msg(esc, key));
        if (id < 0) {
            vocs++;
            continue;
        }
        const char *in = m->nodes[id].name;
        char vk[LF_NAME_MAX + 32];
        snprintf(vk, sizeof vk, PREFIX "%s.vocabulary", in);
        const char *voc = lf_st_metadata(f, vk);
        if (!voc) return lf_fail(e, LF_ERR_FORMAT, "lookup of input '%s': no '%s' metadata", in, vk);
        lf_lookup *lk;
        lf_err le;
        lf_status st = lf_lookup_from_json(&lk, lf_st_metadata_value(f, i), voc, &le);
        if (st != LF_OK) return lf_fail(e, st, "lookup of input '%s': %s", in, le.msg);
        configs++;
        if (fits(m, id, lk, "lookup") != LF_OK) {
            lf_lookup_free(lk);
            return lf_fail(e, LF_ERR_FORMAT, "%s", m->err.msg);
        }
        if ((st = keep(m, id, lk)) != LF_OK) return lf_fail(e, st, "%s", m->err.msg);
    }
    if (vocs != configs) return lf_fail(e, LF_ERR_FORMAT, "a lookup's vocabulary has no config");
    return LF_OK;
}
