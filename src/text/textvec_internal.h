/*
 * textvec_internal.h — the TextVectorization object shared by textvec.c
 * (tokenizer, adapt, transform) and textvec_io.c (save, load).
 */
#ifndef LF_TEXTVEC_INTERNAL_H
#define LF_TEXTVEC_INTERNAL_H

#include "internal.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "text/text.h"

#define LF_TEXTVEC_MAX_VOCAB 100000000u   /* entries, reserved ones included */
#define LF_TEXTVEC_MAX_NGRAM 16
#define LF_TEXTVEC_MAX_SEQUENCE 100000000u

/* The vocabulary: n NUL-terminated tokens (lens[i] bytes each), the idf
 * weights in tf_idf mode (else NULL) and an open-addressing index over the
 * tokens (n_slots, a power of two, of entry indices or SIZE_MAX). */
typedef struct lf_textvec_vocab {
    size_t n;
    char **tokens;
    size_t *lens;
    float *idf;
    size_t *slots;
    size_t n_slots;
} lf_textvec_vocab;

struct lf_textvec {
    lf_textvec_options opt;
    lf_textvec_vocab vocab; /* n == 0: not adapted */
    lf_err err;
};

/* Reserved entries at the front of the vocabulary: 2 ("", "[UNK]") in int
 * mode, 1 ("[UNK]") in the others. */
size_t lf_textvec_reserved(lf_textvec_mode mode);
/* LF_ERR_ARG with a message for options that create refuses. */
lf_status lf_textvec_check_options(const lf_textvec_options *o, lf_err *e);
/* Builds v's index, whose first `reserved` entries are the reserved ones
 * (lf_textvec_reserved; v->n >= reserved): a token of the same string as a
 * reserved entry is found at its own index; LF_ERR_FORMAT when a token
 * appears twice. */
lf_status lf_textvec_vocab_index(lf_textvec_vocab *v, size_t reserved, lf_err *e);
void lf_textvec_vocab_free(lf_textvec_vocab *v);

/* textvec_io.c: the file format's "config" and "vocabulary" JSON of an
 * adapted object, and a new adapted object read back from them (and, in
 * tf_idf mode, from its idf tensor; NULL otherwise), every field checked as
 * lf_textvec_load checks a file.  The model file stores a model input's
 * vectorizer this way (model_io.c). */
void lf_textvec_write_json(const lf_textvec *tv, lf_buf *cfg, lf_buf *voc);
lf_status lf_textvec_from_json(lf_textvec **out, const char *cfg, const char *voc, const lf_st_tensor *idf,
                               lf_err *e);

#endif
