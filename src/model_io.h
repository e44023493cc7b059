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

/* Copies tensor `name` of f into dst, requiring F32 of exactly the given
 * shape (ndim 1 or 2) and finite values; LF_ERR_FORMAT otherwise. */
lf_status lf_load_tensor(const lf_st_file *f, const char *name, float *dst, size_t ndim,
                         const size_t *shape, lf_err *e);

#endif
