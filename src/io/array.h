/*
 * array.h — the dense 2-D float32 array that the file readers (.npy, CSV)
 * return; file.h (included) has the whole-file read they share.
 *
 * Every reader converts its input to row-major float32 so that the rest of
 * the library handles one type only; `is_integer` remembers whether the
 * source held integers (e.g. class labels), which float32 keeps exactly up to
 * 2^24 — the readers reject anything larger.
 */
#ifndef LF_IO_ARRAY_H
#define LF_IO_ARRAY_H

#include "internal.h"
#include "io/file.h" /* lf_io_read_file: every reader's whole-file read */

typedef struct lf_array {
    float *data;     /* rows*cols floats, row-major, owned (LF_FREE)         */
    size_t rows, cols; /* a 1-D source gives rows = n, cols = 1              */
    int is_integer;  /* 1: the source dtype was integer/bool (npy), or every
                        value was an integer literal (CSV)                   */
} lf_array;

/* Frees a->data and zeroes *a.  NULL and a zeroed array are allowed. */
void lf_array_free(lf_array *a);

#endif
