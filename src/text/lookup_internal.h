/*
 * lookup_internal.h — the StringLookup / IntegerLookup object shared by
 * lookup.c (options, adapt, vocabulary, transforms) and lookup_io.c (its
 * JSON, file and copy); model_lookup.c keeps one with a model input.
 */
#ifndef LF_LOOKUP_INTERNAL_H
#define LF_LOOKUP_INTERNAL_H

#include "internal.h"
#include "io/json.h"

#define LF_LOOKUP_MAX_VOCAB 100000000u /* entries, reserved ones included */

/* The tokens (reserved entries left out): n strings tok[i] of len[i]
 * bytes (kind STRING) or n ids (kind INTEGER), and an open-addressing
 * index (n_slots, a power of two, of token numbers or SIZE_MAX). */
typedef struct lf_lookup_vocab {
    size_t n;
    char **tok;
    size_t *len;
    int64_t *ids;
    size_t *slots;
    size_t n_slots;
} lf_lookup_vocab;

struct lf_lookup {
    lf_lookup_options opt; /* mask_token, oov_token: mask, oov below */
    char *mask, *oov;
    lf_lookup_vocab vocab;
    int given;             /* the vocabulary was given (Keras' vocabulary=) */
    lf_err err;
};

/* LF_ERR_ARG with Keras' message for options create refuses. */
lf_status lf_lookup_check_options(const lf_lookup_options *o, lf_err *e);
/* A new object with the options o (their strings copied). */
lf_status lf_lookup_new(lf_lookup **out, const lf_lookup_options *o, lf_err *e);
void lf_lookup_vocab_free(lf_lookup_vocab *v);
/* Checks terms as Keras' set_vocabulary does and builds the vocabulary in
 * *v (the strings copied); lk is not changed.  skip_reserved: the reserved
 * entries at the front, in order, are skipped (set_vocabulary; a file's
 * vocabulary holds the tokens only). */
lf_status lf_lookup_vocab_from(const lf_lookup *lk, const char *const *strs, const int64_t *ids, size_t n,
                               int skip_reserved, lf_lookup_vocab *v, lf_err *e);

/* lookup_io.c: the file's "config" and "vocabulary" JSON, and a new object
 * read back from them, every field checked (model_lookup.c keeps a model
 * input's lookup this way). */
void lf_lookup_write_json(const lf_lookup *lk, lf_buf *cfg, lf_buf *voc);
lf_status lf_lookup_from_json(lf_lookup **out, const char *cfg, const char *voc, lf_err *e);

#endif
