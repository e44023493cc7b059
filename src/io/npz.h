/*
 * npz.h — reading one array of a NumPy .npz archive (npz.c has the rules).
 */
#ifndef LF_IO_NPZ_H
#define LF_IO_NPZ_H

#include "io/array.h"

/* Parses the .npz archive in b[0..len) and reads its array `key` (the
 * member "key.npy"; NULL: the only array, an error naming the keys when
 * there are several) into out as float32, like lf_npy_parse.  `name`
 * names the archive in messages. */
lf_status lf_npz_parse(const unsigned char *b, size_t len, const char *key, const char *name, lf_array *out,
                       lf_err *e);

#endif
