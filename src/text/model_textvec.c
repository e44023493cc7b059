/*
 * model_textvec.c — a TextVectorization kept with a model input
 * (lf_model_attach_textvec), so that the model file carries the
 * vocabulary and settings its text input was vectorized with.
 *
 * In the model file (model_io.c writes and reads the rest) a vectorizer of
 * input "<in>" is the metadata "textvec:<in>.config" and
 * "textvec:<in>.vocabulary" — the JSON of lf_textvec_save's file — and, in
 * tf_idf mode, the tensor "textvec:<in>.idf_weights".  ':' is not allowed
 * in layer names, so these names never meet a layer's tensors.  Loading
 * checks them as lf_textvec_load checks its file, and every "textvec:"
 * entry must belong to an input with a config.
 */
#include "layers/layer.h"
#include "model_io.h"
#include "text/textvec_internal.h"

#include <stdio.h>
#include <string.h>

#define PREFIX "textvec:"
#define PREFIX_LEN 8

/* checks that tv can feed input node id (messages start with `what`) */
static lf_status fits(lf_model *m, int id, const lf_textvec *tv, const char *what) {
    if (id < 0 || (size_t)id >= m->n_nodes || !lf_type_of(&m->nodes[id])->is_input)
        return lf_model_fail(m, LF_ERR_ARG, "%s: node %d is not an input of this model", what, id);
    const lf_node *nd = &m->nodes[id];
    /* one feeder per input (model_lookup.c refuses the other order) */
    if (lf_model_lookup(m, id))
        return lf_model_fail(m, LF_ERR_ARG, "%s: input '%s' is fed by a lookup already", what, nd->name);
    if (!lf_textvec_adapted(tv)) return lf_model_fail(m, LF_ERR_STATE, "%s: the text vectorizer is not adapted", what);
    size_t want = tv->opt.output_mode == LF_TEXTVEC_INT ? tv->opt.output_sequence_length : lf_textvec_output_dim(tv);
    if (!want)
        return lf_model_fail(m, LF_ERR_ARG,
                             "%s: an \"int\" vectorizer needs an output_sequence_length to feed input '%s'", what,
                             nd->name);
    if (nd->rank != 1 || nd->dim != want) {
        char s[96];
        lf_shape_str(nd, s, sizeof s);
        return lf_model_fail(m, LF_ERR_SHAPE, "%s: input '%s' has shape %s; the vectorizer makes (None, %zu)", what,
                             nd->name, s, want);
    }
    return LF_OK;
}

/* keeps tv (owned from now on) with node id */
static lf_status keep(lf_model *m, int id, lf_textvec *tv) {
    if ((size_t)id >= m->n_textvec) {
        lf_textvec **t = LF_REALLOC(m->textvec, m->n_nodes * sizeof *t);
        if (!t) {
            lf_textvec_free(tv);
            return lf_model_fail(m, LF_ERR_NOMEM, "out of memory attaching a text vectorizer");
        }
        for (size_t i = m->n_textvec; i < m->n_nodes; i++) t[i] = NULL;
        m->textvec = t, m->n_textvec = m->n_nodes;
    }
    lf_textvec_free(m->textvec[id]);
    m->textvec[id] = tv;
    return LF_OK;
}

lf_status lf_model_attach_textvec(lf_model *m, int input, const lf_textvec *tv) {
    if (!m) return LF_ERR_ARG;
    if (!tv) return lf_model_fail(m, LF_ERR_ARG, "lf_model_attach_textvec: no text vectorizer given");
    lf_status st = fits(m, input, tv, "lf_model_attach_textvec");
    if (st != LF_OK) return st;
    lf_textvec *c;
    if (lf_textvec_copy(&c, tv) != LF_OK)
        return lf_model_fail(m, LF_ERR_NOMEM, "out of memory copying a text vectorizer");
    return keep(m, input, c);
}

lf_textvec *lf_model_textvec(const lf_model *m, int input) {
    return m && input >= 0 && (size_t)input < m->n_textvec ? m->textvec[input] : NULL;
}

/* ------------------------------------------------------------------ file */

void lf_textvec_parts_free(lf_textvec_parts *p) {
    for (size_t i = 0; i < p->n; i++) lf_buf_free(&p->json[2 * i]), lf_buf_free(&p->json[2 * i + 1]);
    LF_FREE(p->json), LF_FREE(p->names), LF_FREE(p->keys), LF_FREE(p->vals), LF_FREE(p->idf);
    memset(p, 0, sizeof *p);
}

lf_status lf_model_textvec_parts(const lf_model *m, lf_textvec_parts *p, lf_err *e) {
    memset(p, 0, sizeof *p);
    size_t n = 0;
    for (size_t i = 0; i < m->n_textvec; i++) n += m->textvec[i] != NULL;
    if (!n) return LF_OK;
    p->json = lf_alloc_array(2 * n, sizeof *p->json);
    p->names = lf_alloc_array(3 * n, sizeof *p->names);
    p->keys = lf_alloc_array(2 * n, sizeof *p->keys);
    p->vals = lf_alloc_array(2 * n, sizeof *p->vals);
    p->idf = lf_alloc_array(n, sizeof *p->idf);
    if (!p->json || !p->names || !p->keys || !p->vals || !p->idf) {
        lf_textvec_parts_free(p);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory writing the text vectorizers");
    }
    int failed = 0;
    for (size_t i = 0; i < m->n_textvec; i++) {
        const lf_textvec *tv = m->textvec[i];
        if (!tv) continue;
        size_t k = p->n++;
        const char *in = m->nodes[i].name;
        snprintf(p->names[3 * k], sizeof p->names[0], PREFIX "%s.config", in);
        snprintf(p->names[3 * k + 1], sizeof p->names[0], PREFIX "%s.vocabulary", in);
        snprintf(p->names[3 * k + 2], sizeof p->names[0], PREFIX "%s.idf_weights", in);
        lf_buf_init(&p->json[2 * k]), lf_buf_init(&p->json[2 * k + 1]);
        lf_textvec_write_json(tv, &p->json[2 * k], &p->json[2 * k + 1]);
        failed |= p->json[2 * k].failed | p->json[2 * k + 1].failed;
        p->keys[2 * k] = p->names[3 * k], p->vals[2 * k] = p->json[2 * k].data;
        p->keys[2 * k + 1] = p->names[3 * k + 1], p->vals[2 * k + 1] = p->json[2 * k + 1].data;
        if (tv->vocab.idf)
            p->idf[p->n_idf++] = (lf_st_out){.name = p->names[3 * k + 2], .data = tv->vocab.idf, .ndim = 1,
                                             .shape = {tv->vocab.n}};
    }
    if (failed) {
        lf_textvec_parts_free(p);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory writing the text vectorizers");
    }
    return LF_OK;
}

/* the input named by key "textvec:<name><suffix>" (suffix included), or -1 */
static int input_of(const lf_model *m, const char *key, const char *suffix) {
    return lf_model_input_of_key(m, key, PREFIX, suffix);
}

lf_status lf_textvec_restore(lf_model *m, const lf_st_file *f, lf_err *e) {
    size_t configs = 0, with_idf = 0;
    char esc[LF_MSG_STR];
    for (size_t i = 0; i < lf_st_metadata_count(f); i++) {
        const char *key = lf_st_metadata_key(f, i);
        if (strncmp(key, PREFIX, PREFIX_LEN) != 0) continue;
        int is_cfg = input_of(m, key, ".config") >= 0;
        if (!is_cfg && input_of(m, key, ".vocabulary") < 0)
            return lf_fail(e, LF_ERR_FORMAT, "metadata '%s' names no input of the model", lf_str_for_msg(esc, key));
        if (!is_cfg) continue;
        int id = input_of(m, key, ".config");
        const char *in = m->nodes[id].name;
        char vk[LF_NAME_MAX + 32], ik[LF_NAME_MAX + 32];
        snprintf(vk, sizeof vk, PREFIX "%s.vocabulary", in);
        snprintf(ik, sizeof ik, PREFIX "%s.idf_weights", in);
        const char *voc = lf_st_metadata(f, vk);
        if (!voc) return lf_fail(e, LF_ERR_FORMAT, "text vectorizer of input '%s': no '%s' metadata", in, vk);
        const lf_st_tensor *idf = lf_st_find(f, ik);
        lf_textvec *tv;
        lf_err te;
        lf_status st = lf_textvec_from_json(&tv, lf_st_metadata_value(f, i), voc, idf, &te);
        if (st != LF_OK) return lf_fail(e, st, "text vectorizer of input '%s': %s", in, te.msg);
        configs++, with_idf += idf != NULL;
        if ((st = fits(m, id, tv, "text vectorizer")) != LF_OK) {
            lf_textvec_free(tv);
            return lf_fail(e, LF_ERR_FORMAT, "%s", m->err.msg);
        }
        if ((st = keep(m, id, tv)) != LF_OK) return lf_fail(e, st, "%s", m->err.msg);
    }
    size_t vocs = 0, tensors = 0;
    for (size_t i = 0; i < lf_st_metadata_count(f); i++)
        vocs += input_of(m, lf_st_metadata_key(f, i), ".vocabulary") >= 0;
    for (size_t i = 0; i < lf_st_count(f); i++) tensors += strncmp(lf_st_at(f, i)->name, PREFIX, PREFIX_LEN) == 0;
    if (vocs != configs) return lf_fail(e, LF_ERR_FORMAT, "a text vectorizer's vocabulary has no config");
    if (tensors != with_idf)
        return lf_fail(e, LF_ERR_FORMAT, "a \"textvec:\" tensor belongs to no tf_idf text vectorizer");
    return LF_OK;
}
