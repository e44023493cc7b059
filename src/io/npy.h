/*
 * npy.h — numpy's .npy format: read any 1-D or 2-D numeric array as a
 * float32 matrix, or an array of rank 1..4 as float32, int32 or uint8 (see
 * lf_ndarray_read), write float32 matrices (whole or streamed row by row)
 * and int64 vectors.
 *
 * The format is documented at
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html:
 * "\x93NUMPY", a version byte pair (1.0, 2.0, 3.0), a little-endian header
 * length (u16 for 1.0, u32 otherwise), a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded with
 * spaces and a final '\n', then the raw data.  The reader parses the header
 * itself, strictly, and trusts nothing: sizes are checked against the file
 * before anything is allocated.
 *
 * One file per job: npy_format.c (header, dtypes, conversion to float32;
 * npy_format.h, shared by the others), npy_read.c (the whole-array reader),
 * npy_nd.c (the N-dimensional reader),
 * npy_reader.c (the streaming, memory-mapped reader), npy_write.c (the
 * writers, whole and streaming).
 */
#ifndef LF_IO_NPY_H
#define LF_IO_NPY_H

#include "io/array.h"
#include "io/atomic.h"

#include <stdatomic.h>
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

/* Parses a .npy image held in memory into an N-dimensional array as
 * lf_ndarray_read does (npy_nd.c); `name_for_messages` as for
 * lf_npy_parse.  On failure *out is zeroed. */
lf_status lf_npy_parse_nd(const unsigned char *buf, size_t len, const char *name_for_messages,
                          lf_ndarray *out, lf_err *e);

/* Writes rows x cols float32 as version 1.0, '<f4', C order, shape
 * (rows, cols), with the data starting at a multiple of 64 bytes.  Atomic;
 * flags: 0 or LF_WRITE_* (lf_atomic_open). */
lf_status lf_npy_write(const char *path, const float *data, size_t rows, size_t cols, unsigned flags,
                       lf_err *e);

/* Writes n int64 values as shape (n,), dtype '<i8' (e.g. predicted class
 * indices).  Atomic; flags as for lf_npy_write. */
lf_status lf_npy_write_1d(const char *path, const int64_t *data, size_t n, unsigned flags, lf_err *e);

/* A streaming reader: the header is checked at open (as lf_npy_parse does,
 * against the file's size), then rows are read in order, chunk by chunk, so
 * a file of any size is fused in bounded memory.  Fortran order with more
 * than one column cannot be read by rows: open returns LF_ERR_ARG (read the
 * whole file with lf_npy_read instead).
 *
 * A little-endian float32 file whose data start at a multiple of 4 bytes
 * is memory-mapped read-only at open (unless LF_NPY_NO_MMAP is given):
 * lf_npy_reader_next then hands out pointers into the mapping, without a
 * copy, and the pages already consumed are dropped from the process's
 * memory as it goes (the page cache keeps them), so the resident memory
 * stays flat.  Where mmap fails (a pipe, a special file system, no address
 * space) the reader falls back to read() with the same results.  The file
 * size is checked again before every chunk ("it became shorter while being
 * read"); a file truncated by another process between that check and the
 * use of its pages would raise SIGBUS, as with any memory map: pass
 * LF_NPY_NO_MMAP where files may shrink while read (the library's callers
 * do, unless the caller of lf_fusion_predict_files asks for LF_READ_MMAP,
 * the CLI's --mmap). */
typedef struct lf_npy_reader {
    size_t rows, cols;
    int is_integer;
    int mapped; /* the data are read through a memory map */
    int fortran; /* Fortran order with more than one column (LF_NPY_ANY_ORDER) */
    struct lf_npy_reader_impl *impl;
} lf_npy_reader;

#define LF_NPY_NO_MMAP 1u /* lf_npy_reader_open: always read() */
/* lf_npy_reader_open: a Fortran-order file opens too (r->fortran set); its
 * rows cannot be read by position: read it whole with lf_npy_reader_load,
 * through the descriptor already open. */
#define LF_NPY_ANY_ORDER 4u

/* flags: 0, LF_NPY_NO_MMAP, LF_NPY_ANY_ORDER; others are LF_ERR_ARG. */
lf_status lf_npy_reader_open(lf_npy_reader *r, const char *path, unsigned flags, lf_err *e);
/* The next nrows rows as float32 (nrows * cols values). */
lf_status lf_npy_reader_rows(lf_npy_reader *r, float *dst, size_t nrows, lf_err *e);
/* The next nrows rows as float32 without a copy where the file is mapped:
 * *rows points into the mapping, or into a buffer of the reader (grown to
 * nrows * cols floats) otherwise.  Valid until the next call on r or its
 * close; read only.  On failure *rows is NULL. */
lf_status lf_npy_reader_next(lf_npy_reader *r, size_t nrows, const float **rows, lf_err *e);
void lf_npy_reader_close(lf_npy_reader *r); /* safe on a zeroed or closed reader */
/* The whole file of an open reader (either order) as lf_npy_read gives it,
 * read again from its start through the reader's descriptor (the file is
 * not opened again; its size is checked again). */
lf_status lf_npy_reader_load(lf_npy_reader *r, lf_array *out, lf_err *e);
/* The whole file of an open reader (either order) as lf_npy_read gives it,
 * read again from its start through the reader's descriptor (the file is
 * not opened again; its size is checked again). */
lf_status lf_npy_reader_load(lf_npy_reader *r, lf_array *out, lf_err *e);

/* Reading by position, for several threads sharing one reader: rows
 * [row0, row0 + nrows) as float32, wherever the reader stands (its own
 * position is neither used nor moved).  Where the file is mapped, *rows
 * points into the mapping (after the size check of lf_npy_reader_next);
 * otherwise the rows are read with pread() into buf, which the caller owns
 * (zeroed at first, grown as needed, freed with lf_npy_buf_free) and gives
 * to one thread at a time.  Calls on the same reader may run concurrently.
 * Valid until the next call with buf, or the reader's close. */
typedef struct lf_npy_buf {
    float *out;          /* the rows (nrows * cols floats) */
    size_t out_cap;      /* in floats */
    unsigned char *raw;  /* the file's bytes of a non-native dtype */
    size_t raw_cap;
} lf_npy_buf;

lf_status lf_npy_reader_at(const lf_npy_reader *r, size_t row0, size_t nrows, lf_npy_buf *buf,
                           const float **rows, lf_err *e);
/* The rows [row0, row0 + nrows) are done with: where the file is mapped,
 * its pages from the one holding the first of their bytes up to the one
 * holding the first byte after them (to the end for the last rows) are
 * dropped from the process (the page cache keeps them), so the resident
 * memory stays flat.  Releasing each row range once, in any order and from
 * any thread, releases every page; a page that another thread still reads
 * is simply mapped again.  No-op for a reader on read(). */
void lf_npy_reader_release(const lf_npy_reader *r, size_t row0, size_t nrows);
void lf_npy_buf_free(lf_npy_buf *b);

/* Streaming writer: the header (shape (rows, cols), '<f4'; or (rows,),
 * '<i8' for lf_npy_writer_open_i64) is written at open, and the blocks of
 * the whole file are reserved (lf_atomic_reserve); rows are appended;
 * commit checks that exactly `rows` rows came and renames the file into
 * place.  After a failed open nothing is held (abort is still safe).  After
 * a failed append the writer must still be given to commit (which then
 * refuses) or abort; both release it and may be called again harmlessly.
 *
 * Instead of appending, several threads may fill the file by position:
 * after lf_npy_writer_positional, lf_npy_writer_rows_at (lf_npy_writer_i64_at)
 * writes rows at their place, concurrently for disjoint rows, each row
 * once; commit then checks that `rows` rows were placed and none failed. */
typedef struct lf_npy_writer {
    lf_atomic_file af;
    size_t rows, cols;  /* declared shape; cols is 1 for the int64 vector */
    size_t elem;        /* bytes per value: 4 ('<f4') or 8 ('<i8') */
    size_t data_off;    /* the header's length: where row 0 starts */
    size_t written;     /* rows appended so far */
    int failed;         /* 0, or the lf_status of a failed append: commit refuses */
    int positional;     /* lf_npy_writer_positional was called */
    int finished;       /* lf_npy_writer_finish succeeded */
    atomic_size_t placed;  /* rows written by position so far */
    atomic_int place_failed; /* 0, or the lf_status of a failed positional write */
} lf_npy_writer;

/* flags: 0 or LF_WRITE_* (lf_atomic_open, LF_ATOMIC_STDOUT included). */
lf_status lf_npy_writer_open(lf_npy_writer *w, const char *path, size_t rows, size_t cols,
                             unsigned flags, lf_err *e);
/* An int64 vector of n values, shape (n,), '<i8' (e.g. class indices). */
lf_status lf_npy_writer_open_i64(lf_npy_writer *w, const char *path, size_t n, unsigned flags,
                                 lf_err *e);
/* Appends nrows rows (nrows*cols floats).  More rows than declared in total
 * is LF_ERR_SHAPE (and makes commit fail). */
lf_status lf_npy_writer_rows(lf_npy_writer *w, const float *data, size_t nrows, lf_err *e);
/* Appends n values to an int64 writer. */
lf_status lf_npy_writer_i64(lf_npy_writer *w, const int64_t *data, size_t n, lf_err *e);
/* Switches to writing by position (before any append; once). */
lf_status lf_npy_writer_positional(lf_npy_writer *w, lf_err *e);
/* Writes rows [row0, row0 + nrows) at their place; thread-safe for
 * disjoint rows.  A failure (or rows beyond the declared shape) makes
 * commit fail. */
lf_status lf_npy_writer_rows_at(lf_npy_writer *w, size_t row0, const float *data, size_t nrows,
                                lf_err *e);
lf_status lf_npy_writer_i64_at(lf_npy_writer *w, size_t i0, const int64_t *data, size_t n, lf_err *e);
/* Checks the rows and does everything of commit but the rename
 * (lf_atomic_finish): finishing every output before committing any makes a
 * late failure leave none of them.  On failure the writer is released. */
lf_status lf_npy_writer_finish(lf_npy_writer *w, lf_err *e);
/* Fewer rows than declared is LF_ERR_SHAPE; the target is then untouched. */
lf_status lf_npy_writer_commit(lf_npy_writer *w, lf_err *e);
void lf_npy_writer_abort(lf_npy_writer *w);

/* Another process's part of a file written by position (a sharded
 * predict over MPI ranks): join opens `file`, the temporary file of a
 * writer that another process opened with this shape (element size elem,
 * its header data_off bytes long), to place rows with
 * lf_npy_writer_rows_at / lf_npy_writer_i64_at; leave flushes them (fsync
 * unless LF_WRITE_NO_FSYNC is in flags) and closes the file, which stays
 * where it is: its owner renames or removes it.  abort also leaves it
 * (closed, not removed).  path names the target in messages. */
lf_status lf_npy_writer_join(lf_npy_writer *w, const char *path, const char *file, size_t rows, size_t cols,
                             size_t elem, size_t data_off, unsigned flags, lf_err *e);
lf_status lf_npy_writer_leave(lf_npy_writer *w, lf_err *e);
/* The owner's side: n rows were placed by the other processes (and they
 * have left), so that finish counts them. */
void lf_npy_writer_placed_elsewhere(lf_npy_writer *w, size_t n);

#endif
