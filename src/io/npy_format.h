/*
 * npy_format.h — what the .npy readers and writer share, internal to
 * src/io/npy_*.c: the format's constants, the parsed header and the
 * conversion of the stored elements to float32 (npy_format.c).
 *
 * A file is "\x93NUMPY", a version byte pair, a little-endian header
 * length (u16 for 1.0, u32 for 2.0 and 3.0), the header (a Python dict
 * literal), then the raw data, which must fill the rest of the file
 * exactly (see npy.h for the link to numpy's description).
 */
#ifndef LF_IO_NPY_FORMAT_H
#define LF_IO_NPY_FORMAT_H

#include "io/npy.h"

#include <stdint.h>
#include <string.h>

#define LF_NPY_MAGIC "\x93NUMPY"
#define LF_NPY_MAGIC_LEN 6
#define LF_NPY_MAX_HEADER ((size_t)1 << 20) /* numpy's default is 10000 bytes */

/* The header's three keys, as parsed. */
typedef struct lf_npy_header {
    char descr[64];
    int have_descr, have_fortran, have_shape;
    int fortran;
    size_t ndim;
    uint64_t dims[LF_NDARRAY_MAX_RANK]; /* the first dimensions (ndim may be larger) */
} lf_npy_header;

typedef enum { LF_NPY_FLOAT, LF_NPY_INT, LF_NPY_UINT, LF_NPY_BOOL } lf_npy_kind;

typedef struct lf_npy_dtype {
    lf_npy_kind kind;
    size_t size;   /* bytes per element */
    int big;       /* stored big-endian */
} lf_npy_dtype;

/* What the header and the file size say: dtype, shape, where the data
 * start. */
typedef struct lf_npy_layout {
    lf_npy_header h;
    lf_npy_dtype dt;
    size_t rows, cols, count, data_off;
} lf_npy_layout;

static inline int lf_npy_host_is_big(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 0;
}

/* The unsigned integer of `size` bytes at p, stored big- or little-endian. */
static inline uint64_t lf_npy_load_uint(const unsigned char *p, size_t size, int big) {
    uint64_t v = 0;
    for (size_t k = 0; k < size; k++) {
        size_t idx = big ? k : size - 1 - k;
        v = (v << 8) | p[idx];
    }
    return v;
}

/* float32 in the host's byte order: the data can be used as they are. */
static inline int lf_npy_is_native_f32(const lf_npy_dtype *dt) {
    return dt->kind == LF_NPY_FLOAT && dt->size == 4 && dt->big == lf_npy_host_is_big();
}

/* Parses the prefix and header and checks the shape against the file.
 * `head` holds the first head_len bytes of a file of file_len bytes (the
 * whole file for lf_npy_parse, its beginning for the streaming reader);
 * the data must fill the rest of the file exactly.  LF_ERR_FORMAT with a
 * message naming `name` on any problem. */
lf_status lf_npy_parse_layout(const unsigned char *head, size_t head_len, uint64_t file_len,
                              const char *name, lf_npy_layout *L, lf_err *e);

/* The same for an array of rank 1..LF_NDARRAY_MAX_RANK (any dtype the
 * header parser knows; the N-dimensional reader narrows them): the shape
 * is L->h.ndim and L->h.dims, the element count L->count; L->rows is
 * dims[0] and L->cols the count of one row.  The shape's element and byte
 * counts must fit in size_t (also as float32 and int32 elements). */
lf_status lf_npy_parse_layout_nd(const unsigned char *head, size_t head_len, uint64_t file_len,
                                 const char *name, lf_npy_layout *L, lf_err *e);

/* Converts elements k0..k0+n-1 (file order) from src into out; a float32
 * of the host's byte order is copied as it is.  Fails for integers beyond
 * 2^24, invalid bools and float64 values beyond the float32 range, naming
 * the element. */
lf_status lf_npy_convert_run(const unsigned char *src, const lf_npy_layout *L, float *out, size_t k0,
                             size_t n, const char *name, lf_err *e);

/* Converts the whole data (L->count elements at src) into out, row-major:
 * a 2-D Fortran-order array is transposed on the way. */
lf_status lf_npy_convert_all(const unsigned char *src, const lf_npy_layout *L, float *out,
                             const char *name, lf_err *e);

#endif
