/*
 * safetensors.h — read and write the safetensors container
 * (https://github.com/huggingface/safetensors), the file format of saved
 * models.
 *
 * Layout: an 8-byte little-endian u64 N, then N bytes of a UTF-8 JSON
 * object (the header), then the byte buffer.  Each header key except
 * "__metadata__" names a tensor: {"dtype": "F32", "shape": [2, 3],
 * "data_offsets": [begin, end]}, offsets relative to the byte buffer.
 * "__metadata__" maps strings to strings.
 *
 * The reader trusts nothing: every rule below is checked before a tensor is
 * handed out, each with its own message (LF_ERR_FORMAT):
 *   - at least 8 bytes; N <= LF_ST_MAX_HEADER and N <= bytes after the
 *     length field;
 *   - the header is strict JSON (json.h: depth <= 64, no duplicate keys)
 *     and an object; "__metadata__", if present, an object of strings;
 *   - a tensor entry has exactly the fields dtype (a known name), shape
 *     (0..8 non-negative integers whose product and byte size do not
 *     overflow) and data_offsets (two non-negative integers, begin <= end,
 *     end - begin == elements * dtype size, end within the buffer);
 *   - names are 1..255 bytes;
 *   - sorted by begin, the tensors' ranges tile the byte buffer exactly:
 *     no hole, no overlap, no trailing byte.
 * The writer writes F32 tensors only, with the header padded by spaces so
 * that the byte buffer starts at a multiple of 8 (as the reference
 * implementation does).
 */
#ifndef LF_SAFETENSORS_H
#define LF_SAFETENSORS_H

#include "internal.h"
#include "io/json.h"

#define LF_ST_MAX_HEADER 100000000u /* bytes, as the reference reader */
#define LF_ST_MAX_DIMS 8
#define LF_ST_MAX_NAME 255

typedef enum lf_st_dtype {
    LF_ST_F64 = 0,
    LF_ST_F32,
    LF_ST_F16,
    LF_ST_BF16,
    LF_ST_I64,
    LF_ST_I32,
    LF_ST_I16,
    LF_ST_I8,
    LF_ST_U64,
    LF_ST_U32,
    LF_ST_U16,
    LF_ST_U8,
    LF_ST_BOOL,
    LF_ST_F8_E4M3,
    LF_ST_F8_E5M2,
    LF_ST_NUM_DTYPES
} lf_st_dtype;

/* "F32", ... (NULL for an invalid value) and the size of one element. */
const char *lf_st_dtype_name(lf_st_dtype d);
size_t lf_st_dtype_size(lf_st_dtype d);
/* Returns the dtype of a name, or -1 if unknown. */
int lf_st_dtype_parse(const char *name);

typedef struct lf_st_tensor {
    const char *name;           /* NUL-terminated, 1..255 bytes of UTF-8    */
    lf_st_dtype dtype;
    size_t ndim;                /* 0 (a scalar) .. 8                         */
    size_t shape[LF_ST_MAX_DIMS];
    size_t count;               /* product of the shape (1 for a scalar)    */
    const unsigned char *data;  /* nbytes raw little-endian bytes; not aligned */
    size_t nbytes;
    size_t offset;              /* begin, relative to the byte buffer       */
} lf_st_tensor;

typedef struct lf_st_file {
    size_t n_tensors;
    lf_st_tensor *tensors;      /* in header order                          */
    size_t *by_name;            /* indices sorted by name (for lf_st_find)   */
    const lf_json *metadata;    /* the "__metadata__" object, or NULL        */
    lf_json *header;            /* the parsed header (owns names/strings)   */
    unsigned char *owned;       /* file bytes read by lf_st_read, else NULL */
    size_t data_len;            /* size of the byte buffer                  */
} lf_st_file;

/* Parses and validates len bytes.  The tensors' data point into buf, which
 * must outlive *out.  On failure *out is empty (safe to lf_st_free). */
lf_status lf_st_parse(const unsigned char *buf, size_t len, lf_st_file *out, lf_err *e);
/* Reads a whole file into memory and parses it.  LF_ERR_IO if it cannot be
 * opened/read, LF_ERR_FORMAT if invalid; messages name the path. */
lf_status lf_st_read(const char *path, lf_st_file *out, lf_err *e);
void lf_st_free(lf_st_file *f);

size_t lf_st_count(const lf_st_file *f);
const lf_st_tensor *lf_st_at(const lf_st_file *f, size_t i); /* header order */
const lf_st_tensor *lf_st_find(const lf_st_file *f, const char *name); /* O(log n) */
/* The metadata value of `key`, or NULL if absent. */
const char *lf_st_metadata(const lf_st_file *f, const char *key);
size_t lf_st_metadata_count(const lf_st_file *f);
/* Key/value of metadata entry i (in header order); NULL if out of range. */
const char *lf_st_metadata_key(const lf_st_file *f, size_t i);
const char *lf_st_metadata_value(const lf_st_file *f, size_t i);

/* Converts an F32 or F64 tensor to `count` floats (count must equal the
 * element count: LF_ERR_SHAPE otherwise).  Other dtypes, non-finite values
 * and F64 values beyond the float range are LF_ERR_FORMAT. */
lf_status lf_st_tensor_f32(const lf_st_tensor *t, float *out, size_t count, lf_err *e);

/* One tensor to write: `ndim` (0..8) sizes in `shape`, data holds their
 * product of floats (row-major). */
typedef struct lf_st_out {
    const char *name;
    const float *data;
    size_t ndim;
    size_t shape[LF_ST_MAX_DIMS];
} lf_st_out;

/* Builds the file bytes in memory (*buf from LF_MALLOC, to LF_FREE).
 * Tensors are written as F32 in the given order; metadata as
 * "__metadata__" first when n_meta > 0.  LF_ERR_ARG for invalid or
 * duplicate names (empty, > 255 bytes, "__metadata__", not UTF-8), bad
 * shapes, NULL data or a NULL/duplicate/non-UTF-8 metadata key or value;
 * LF_ERR_NUMERIC if a tensor holds NaN or an infinity. */
lf_status lf_st_serialize(const lf_st_out *tensors, size_t n, const char *const *meta_keys,
                          const char *const *meta_values, size_t n_meta, unsigned char **buf,
                          size_t *len, lf_err *e);
/* Writes the same bytes to `path` atomically (atomic.h); flags: 0 or
 * LF_WRITE_* (lf_atomic_open). */
lf_status lf_st_write(const char *path, const lf_st_out *tensors, size_t n,
                      const char *const *meta_keys, const char *const *meta_values,
                      size_t n_meta, unsigned flags, lf_err *e);

#endif
