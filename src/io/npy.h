/*
 * npy.h — numpy's .npy format: read any 1-D or 2-D numeric array, write
 * float32 matrices (whole or streamed row by row) and int64 vectors.
 *
 * The format is documented at
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html:
 * "\x93NUMPY", a version byte pair (1.0, 2.0, 3.0), a little-endian header
 * length (u16 for 1.0, u32 otherwise), a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded with
 * spaces and a final '\n', then the raw data.  The reader parses the header
 * itself, strictly, and trusts nothing: sizes are checked against the file
 * before anything is allocated.
 */
#ifndef LF_IO_NPY_H
#define LF_IO_NPY_H

#include "io/array.h"
#include "io/atomic.h"

#include <stdint.h>

/* Parses a .npy image held in memory.  Accepted dtypes: '<f2' '<f4' '<f8',
 * '|b1' '|i1' '|u1', '<i2' '<u2' '<i4' '<u4' '<i8' '<u8' and their '>' and
 * '=' (native) forms; all are converted to float32 (float64 is rounded;
 * integers beyond 2^24 in magnitude are rejected).  Shapes (n,) give n x 1,
 * (n, c) give n x c; fortran_order is honoured.  `name_for_messages` (may be
 * NULL) names the source in error messages.  On failure *out is zeroed and
 * the status is LF_ERR_FORMAT (malformed or unsupported content) or
 * LF_ERR_NOMEM. */
lf_status lf_npy_parse(const unsigned char *buf, size_t len, const char *name_for_messages,
                       lf_array *out, lf_err *e);

/* Reads and parses a .npy file (LF_ERR_IO if it cannot be read). */
lf_status lf_npy_read(const char *path, lf_array *out, lf_err *e);

/* Writes rows x cols float32 as version 1.0, '<f4', C order, shape
 * (rows, cols), with the data starting at a multiple of 64 bytes.  Atomic. */
lf_status lf_npy_write(const char *path, const float *data, size_t rows, size_t cols, lf_err *e);
/* The same with LF_WRITE_* flags (lf_atomic_open_flags). */
lf_status lf_npy_write_flags(const char *path, const float *data, size_t rows, size_t cols,
                             unsigned flags, lf_err *e);

/* Writes n int64 values as shape (n,), dtype '<i8' (e.g. predicted class
 * indices).  Atomic. */
lf_status lf_npy_write_1d(const char *path, const int64_t *data, size_t n, lf_err *e);
lf_status lf_npy_write_1d_flags(const char *path, const int64_t *data, size_t n, unsigned flags,
                                lf_err *e);

/* Streaming writer: the header (shape (rows, cols), '<f4') is written at
 * open; rows are appended; commit checks that exactly `rows` rows came and
 * renames the file into place.  After a failed open nothing is held (abort
 * is still safe).  After a failed append the writer must still be given to
 * commit (which then refuses) or abort; both release it and may be called
 * again harmlessly. */
/* A streaming reader: the header is checked at open (as lf_npy_parse does,
 * against the file's size), then rows are read in order, chunk by chunk, so
 * a file of any size is fused in bounded memory.  Fortran order with more
 * than one column cannot be read by rows: open returns LF_ERR_ARG (read the
 * whole file with lf_npy_read instead). */
typedef struct lf_npy_reader {
    size_t rows, cols;
    int is_integer;
    struct lf_npy_reader_impl *impl;
} lf_npy_reader;

lf_status lf_npy_reader_open(lf_npy_reader *r, const char *path, lf_err *e);
/* The next nrows rows as float32 (nrows * cols values). */
lf_status lf_npy_reader_rows(lf_npy_reader *r, float *dst, size_t nrows, lf_err *e);
void lf_npy_reader_close(lf_npy_reader *r); /* safe on a zeroed or closed reader */

typedef struct lf_npy_writer {
    lf_atomic_file af;
    size_t rows, cols;  /* declared shape */
    size_t written;     /* rows appended so far */
    int failed;         /* 0, or the lf_status of a failed append: commit refuses */
} lf_npy_writer;

lf_status lf_npy_writer_open(lf_npy_writer *w, const char *path, size_t rows, size_t cols,
                             lf_err *e);
lf_status lf_npy_writer_open_flags(lf_npy_writer *w, const char *path, size_t rows, size_t cols,
                                   unsigned flags, lf_err *e);
/* Appends nrows rows (nrows*cols floats).  More rows than declared in total
 * is LF_ERR_SHAPE (and makes commit fail). */
lf_status lf_npy_writer_rows(lf_npy_writer *w, const float *data, size_t nrows, lf_err *e);
/* Fewer rows than declared is LF_ERR_SHAPE; the target is then untouched. */
lf_status lf_npy_writer_commit(lf_npy_writer *w, lf_err *e);
void lf_npy_writer_abort(lf_npy_writer *w);

#endif
