/*
 * model_io.h — a model as safetensors tensors + architecture JSON, shared by
 * lf_model_save/lf_model_load and the fusion model file (which stores its
 * network under a name prefix beside its own settings).
 */
#ifndef LF_MODEL_IO_H
#define LF_MODEL_IO_H

#include "io/json.h"
#include "io/safetensors.h"
#include "model.h"

/* The tensors of a model: "<prefix><layer>.kernel|bias|W", and with_opt
 * "<prefix>optimizer.m" / ".v" (flat moments).  *outs and *names are
 * allocated (LF_FREE both); the data point into the model. */
lf_status lf_model_tensors(const lf_model *m, const char *prefix, int with_opt, lf_st_out **outs,
                           size_t *n, char **names, lf_err *e);

/* Appends the architecture JSON object (layers, inputs, output, loss,
 * optimizer). */
void lf_model_arch_json(const lf_model *m, lf_buf *b);

/* Rebuilds an empty model from an architecture JSON string and the tensors
 * of f under `prefix`.  Every field is checked; unknown fields, layer
 * types or tensors are errors.  On failure the model is left empty. */
lf_status lf_model_from_parts(lf_model *m, const char *arch, size_t arch_len,
                              const lf_st_file *f, const char *prefix, lf_err *e);

/* lf_model_load's body after its format checks (and the fuzz target's):
 * lf_model_from_parts with f's architecture arch, then the vectorizers and
 * lookups attached to its inputs (model_textvec.c, model_lookup.c); on
 * failure the model is left empty. */
lf_status lf_model_from_file(lf_model *m, const char *arch, const lf_st_file *f, lf_err *e);

/* Copies tensor `name` of f into dst, requiring F32 of exactly the given
 * shape (ndim 1 or 2) and finite values; LF_ERR_FORMAT otherwise. */
lf_status lf_load_tensor(const lf_st_file *f, const char *name, float *dst, size_t ndim,
                         const size_t *shape, lf_err *e);

/* The input named by metadata key "<prefix><name><suffix>", or -1 (the
 * entries model_textvec.c and model_lookup.c keep with an input). */
int lf_model_input_of_key(const lf_model *m, const char *key, const char *prefix, const char *suffix);

/* model_textvec.c: the metadata and tensors of the text vectorizers
 * attached to a model's inputs, for lf_model_save (keys/vals: 2 n metadata
 * entries; idf: n_idf tensors), and their restoring by lf_model_load. */
typedef struct lf_textvec_parts {
    size_t n, n_idf;
    lf_buf *json;           /* config, vocabulary per vectorizer */
    char (*names)[96];      /* config, vocabulary, idf_weights names */
    const char **keys, **vals;
    lf_st_out *idf;
} lf_textvec_parts;
lf_status lf_model_textvec_parts(const lf_model *m, lf_textvec_parts *p, lf_err *e);
void lf_textvec_parts_free(lf_textvec_parts *p);
lf_status lf_textvec_restore(lf_model *m, const lf_st_file *f, lf_err *e);

/* model_lookup.c: the metadata of the lookups attached to a model's inputs
 * (2 n entries, "lookup:<input>.config" and ".vocabulary"), and their
 * restoring by lf_model_load. */
typedef struct lf_lookup_parts {
    size_t n;
    lf_buf *json;           /* config, vocabulary per lookup */
    char (*names)[96];      /* config, vocabulary names */
    const char **keys, **vals;
} lf_lookup_parts;
lf_status lf_model_lookup_parts(const lf_model *m, lf_lookup_parts *p, lf_err *e);
void lf_lookup_parts_free(lf_lookup_parts *p);
lf_status lf_lookup_restore(lf_model *m, const lf_st_file *f, lf_err *e);

#endif
