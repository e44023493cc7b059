/*
 * npy_write.c — the .npy writers (see npy.h): float32 matrices and int64
 * vectors, whole (lf_npy_write, lf_npy_write_1d) or streamed
 * (lf_npy_writer_*: appended row by row, or placed by position from
 * several threads), always version 1.0, little-endian, C order, with the
 * data starting at a multiple of 64 bytes, through an atomic file
 * (atomic.h).
 */
#include "io/npy_format.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#define NPY_ALIGN 64

/* Builds magic, version 1.0, header length and the dict padded with spaces
 * and '\n' so that the data start at a multiple of 64.  Returns the total
 * length written into buf (cap >= 256 is always enough here). */
static size_t make_header(unsigned char *buf, size_t cap, const char *descr, const char *shape) {
    char dict[160];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                     descr, shape);
    size_t dlen = (size_t)n;
    size_t total = 10 + dlen + 1; /* +1: the final '\n' */
    total = (total + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    if (total > cap) return 0; /* cannot happen for the shapes written here */
    size_t hlen = total - 10;
    memcpy(buf, LF_NPY_MAGIC, LF_NPY_MAGIC_LEN);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, dict, dlen);
    memset(buf + 10 + dlen, ' ', hlen - dlen - 1);
    buf[total - 1] = '\n';
    return total;
}

/* Both writers: the header (dtype descr, shape text) written, the whole
 * file's blocks reserved. */
static lf_status writer_open(lf_npy_writer *w, const char *path, size_t rows, size_t cols, size_t elem,
                             const char *descr, unsigned flags, lf_err *e) {
    if (!w) return lf_fail(e, LF_ERR_ARG, "no writer given for '%s'", path ? path : "");
    memset(w, 0, sizeof *w);
    size_t n, bytes;
    if (!lf_mul_ok(rows, cols, &n) || !lf_mul_ok(n, elem, &bytes) || bytes > SIZE_MAX - 4096) {
        if (elem == 8)
            return lf_fail(e, LF_ERR_ARG, "shape (%zu,) is too large to write to '%s'", rows, path ? path : "");
        return lf_fail(e, LF_ERR_ARG, "shape (%zu, %zu) is too large to write to '%s'", rows, cols,
                       path ? path : "");
    }
    lf_status st = lf_atomic_open(&w->af, path, flags, e);
    if (st != LF_OK) return st;
    char shape[64];
    if (elem == 8) snprintf(shape, sizeof shape, "(%zu,)", rows);
    else snprintf(shape, sizeof shape, "(%zu, %zu)", rows, cols);
    unsigned char head[256];
    size_t hn = make_header(head, sizeof head, descr, shape);
    lf_atomic_reserve(&w->af, (uint64_t)hn + bytes);
    st = lf_atomic_write(&w->af, head, hn, e);
    if (st != LF_OK) {
        lf_atomic_abort(&w->af);
        memset(w, 0, sizeof *w);
        return st;
    }
    w->rows = rows, w->cols = cols, w->elem = elem, w->data_off = hn;
    return LF_OK;
}

lf_status lf_npy_writer_open(lf_npy_writer *w, const char *path, size_t rows, size_t cols,
                             unsigned flags, lf_err *e) {
    return writer_open(w, path, rows, cols, sizeof(float), "<f4", flags, e);
}

lf_status lf_npy_writer_open_i64(lf_npy_writer *w, const char *path, size_t n, unsigned flags,
                                 lf_err *e) {
    return writer_open(w, path, n, 1, sizeof(int64_t), "<i8", flags, e);
}

/* Writes n values of w->elem bytes as little-endian: appended to the
 * stream, or (at != NULL) at byte offset *at of the file. */
static lf_status put_values(lf_npy_writer *w, const void *data, size_t n, const uint64_t *at, lf_err *e) {
    size_t E = w->elem;
    if (!lf_npy_host_is_big()) /* '<f4' and '<i8' are the host's own layout */
        return at ? lf_atomic_pwrite(&w->af, data, n * E, *at, e) : lf_atomic_write(&w->af, data, n * E, e);
    unsigned char chunk[16384];
    const unsigned char *src = data;
    size_t per = sizeof chunk / E;
    for (size_t k = 0; k < n;) {
        size_t m = n - k < per ? n - k : per;
        for (size_t j = 0; j < m; j++) /* reverse each value's bytes */
            for (size_t b = 0; b < E; b++) chunk[j * E + b] = src[(k + j) * E + E - 1 - b];
        lf_status st = at ? lf_atomic_pwrite(&w->af, chunk, m * E, *at + (uint64_t)k * E, e)
                          : lf_atomic_write(&w->af, chunk, m * E, e);
        if (st != LF_OK) return st;
        k += m;
    }
    return LF_OK;
}

static lf_status append(lf_npy_writer *w, const void *data, size_t nrows, size_t elem, lf_err *e) {
    if (!w || !w->af.f) return lf_fail(e, LF_ERR_STATE, "the .npy writer is not open");
    const char *path = w->af.path;
    if (w->elem != elem)
        return lf_fail(e, LF_ERR_ARG, "'%s' holds %s values", path, w->elem == 8 ? "int64" : "float32");
    if (w->positional) return lf_fail(e, LF_ERR_STATE, "'%s' is being written by position", path);
    if (w->failed) return lf_fail(e, (lf_status)w->failed, "writing '%s' failed earlier", path);
    if (nrows > w->rows - w->written) {
        w->failed = LF_ERR_SHAPE;
        return lf_fail(e, LF_ERR_SHAPE,
                       "'%s' was declared with %zu rows: appending %zu rows after %zu exceeds it", path,
                       w->rows, nrows, w->written);
    }
    size_t n = nrows * w->cols; /* <= rows*cols, checked at open */
    if (n && !data) return lf_fail(e, LF_ERR_ARG, "no data given for '%s'", path);
    lf_status st = put_values(w, data, n, NULL, e);
    if (st != LF_OK) w->failed = st;
    else w->written += nrows;
    return st;
}

lf_status lf_npy_writer_rows(lf_npy_writer *w, const float *data, size_t nrows, lf_err *e) {
    return append(w, data, nrows, sizeof(float), e);
}

lf_status lf_npy_writer_i64(lf_npy_writer *w, const int64_t *data, size_t n, lf_err *e) {
    return append(w, data, n, sizeof(int64_t), e);
}

lf_status lf_npy_writer_positional(lf_npy_writer *w, lf_err *e) {
    if (!w || !w->af.f) return lf_fail(e, LF_ERR_STATE, "the .npy writer is not open");
    if (w->positional || w->written || w->failed)
        return lf_fail(e, LF_ERR_STATE, "'%s' was appended to: it cannot be written by position", w->af.path);
    lf_status st = lf_atomic_flush(&w->af, e); /* the header */
    if (st != LF_OK) {
        w->failed = st;
        return st;
    }
    atomic_store(&w->placed, 0);
    atomic_store(&w->place_failed, 0);
    w->positional = 1;
    return LF_OK;
}

static lf_status place(lf_npy_writer *w, size_t row0, const void *data, size_t nrows, size_t elem,
                       lf_err *e) {
    if (!w || !w->af.f || !w->positional)
        return lf_fail(e, LF_ERR_STATE, "the .npy writer is not open for writing by position");
    const char *path = w->af.path;
    lf_status st = LF_OK;
    if (w->elem != elem)
        st = lf_fail(e, LF_ERR_ARG, "'%s' holds %s values", path, w->elem == 8 ? "int64" : "float32");
    else if (row0 > w->rows || nrows > w->rows - row0)
        st = lf_fail(e, LF_ERR_SHAPE, "'%s' was declared with %zu rows: rows %zu to %zu exceed it", path,
                     w->rows, row0 + 1, row0 + nrows);
    else if (nrows && !data)
        st = lf_fail(e, LF_ERR_ARG, "no data given for '%s'", path);
    else {
        uint64_t at = (uint64_t)w->data_off + (uint64_t)row0 * w->cols * elem;
        st = put_values(w, data, nrows * w->cols, &at, e);
    }
    if (st != LF_OK) atomic_store(&w->place_failed, (int)st);
    else atomic_fetch_add(&w->placed, nrows);
    return st;
}

lf_status lf_npy_writer_rows_at(lf_npy_writer *w, size_t row0, const float *data, size_t nrows,
                                lf_err *e) {
    return place(w, row0, data, nrows, sizeof(float), e);
}

lf_status lf_npy_writer_i64_at(lf_npy_writer *w, size_t i0, const int64_t *data, size_t n, lf_err *e) {
    return place(w, i0, data, n, sizeof(int64_t), e);
}

void lf_npy_writer_abort(lf_npy_writer *w) {
    if (!w) return;
    lf_atomic_abort(&w->af);
    memset(w, 0, sizeof *w);
}

lf_status lf_npy_writer_finish(lf_npy_writer *w, lf_err *e) {
    if (w && w->finished) return LF_OK;
    if (!w || !w->af.f) return lf_fail(e, LF_ERR_STATE, "the .npy writer is not open");
    lf_status st = LF_OK;
    int failed = w->positional ? atomic_load(&w->place_failed) : w->failed;
    size_t got = w->positional ? atomic_load(&w->placed) : w->written;
    if (failed)
        st = lf_fail(e, (lf_status)failed, "writing '%s' failed earlier; nothing was written", w->af.path);
    else if (got != w->rows)
        st = lf_fail(e, LF_ERR_SHAPE, "only %zu of the %zu declared rows were written to '%s'", got,
                     w->rows, w->af.path);
    if (st != LF_OK) {
        lf_npy_writer_abort(w);
        return st;
    }
    st = lf_atomic_finish(&w->af, e);
    if (st != LF_OK) {
        memset(w, 0, sizeof *w); /* the file is removed, af released */
        return st;
    }
    w->finished = 1;
    return LF_OK;
}

lf_status lf_npy_writer_commit(lf_npy_writer *w, lf_err *e) {
    lf_status st = lf_npy_writer_finish(w, e);
    if (st != LF_OK) return st;
    st = lf_atomic_commit(&w->af, e);
    memset(w, 0, sizeof *w);
    return st;
}

lf_status lf_npy_write(const char *path, const float *data, size_t rows, size_t cols, unsigned flags,
                       lf_err *e) {
    lf_npy_writer w;
    lf_status st = lf_npy_writer_open(&w, path, rows, cols, flags, e);
    if (st != LF_OK) return st;
    st = lf_npy_writer_rows(&w, data, rows, e);
    if (st != LF_OK) {
        lf_npy_writer_abort(&w);
        return st;
    }
    return lf_npy_writer_commit(&w, e);
}

lf_status lf_npy_write_1d(const char *path, const int64_t *data, size_t n, unsigned flags, lf_err *e) {
    if (n && !data) return lf_fail(e, LF_ERR_ARG, "no data given for '%s'", path ? path : "");
    lf_npy_writer w;
    lf_status st = lf_npy_writer_open_i64(&w, path, n, flags, e);
    if (st != LF_OK) return st;
    st = lf_npy_writer_i64(&w, data, n, e);
    if (st != LF_OK) {
        lf_npy_writer_abort(&w);
        return st;
    }
    return lf_npy_writer_commit(&w, e);
}

/* ------------------------------------------------- shared by processes */

lf_status lf_npy_writer_join(lf_npy_writer *w, const char *path, const char *file, size_t rows, size_t cols,
                             size_t elem, size_t data_off, unsigned flags, lf_err *e) {
    memset(w, 0, sizeof *w);
    size_t len = strlen(path) + 1;
    char *copy = LF_MALLOC(len);
    if (!copy) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    memcpy(copy, path, len);
    FILE *f = fopen(file, "r+b");
    if (!f) {
        lf_fail(e, LF_ERR_IO, "cannot open the temporary file of '%s' to write: %s", path, strerror(errno));
        LF_FREE(copy);
        return LF_ERR_IO;
    }
    /* written through: abort closes it and removes nothing */
    w->af.f = f, w->af.path = copy, w->af.through = 1, w->af.flags = flags & LF_WRITE_NO_FSYNC;
    w->rows = rows, w->cols = cols, w->elem = elem, w->data_off = data_off;
    atomic_store(&w->placed, 0);
    atomic_store(&w->place_failed, 0);
    w->positional = 1;
    return LF_OK;
}

lf_status lf_npy_writer_leave(lf_npy_writer *w, lf_err *e) {
    if (!w->af.f) return lf_fail(e, LF_ERR_STATE, "the .npy writer is not open");
    lf_status st = LF_OK;
    int failed = atomic_load(&w->place_failed);
    if (failed) st = lf_fail(e, (lf_status)failed, "writing '%s' failed earlier; nothing was written", w->af.path);
    else if (!(w->af.flags & LF_WRITE_NO_FSYNC) && fsync(fileno(w->af.f)) != 0)
        st = lf_fail(e, LF_ERR_IO, "cannot write '%s': %s", w->af.path, strerror(errno));
    if (fclose(w->af.f) != 0 && st == LF_OK)
        st = lf_fail(e, LF_ERR_IO, "cannot write '%s': %s", w->af.path, strerror(errno));
    w->af.f = NULL;
    lf_npy_writer_abort(w);
    return st;
}

void lf_npy_writer_placed_elsewhere(lf_npy_writer *w, size_t n) { atomic_fetch_add(&w->placed, n); }
