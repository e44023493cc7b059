/*
 * npy_nd.c — the N-dimensional .npy reader, lf_ndarray_read (latefuse.h)
 * and lf_npy_parse_nd (npy.h): an array of rank 1..LF_NDARRAY_MAX_RANK
 * with its shape, its elements in the type the model calls take as they
 * are (lf_typed_array): float32 (from float32 or float64), int32 (from
 * int32 or int64) or uint8.  The header, the shape and the size checks are
 * npy_format.c's; this file narrows the dtypes, refuses Fortran order and
 * big-endian data, and converts.
 */
#include "io/npy_format.h"

#include <math.h>
#include <stdio.h>

/* The index "[i, j, k]" of element k (C order) of L, for messages. */
static void element_index(char *buf, size_t cap, size_t k, const lf_npy_layout *L) {
    size_t idx[LF_NDARRAY_MAX_RANK];
    size_t rank = L->h.ndim;
    for (size_t d = rank; d-- > 0;) {
        size_t n = (size_t)L->h.dims[d];
        idx[d] = n ? k % n : 0;
        k = n ? k / n : 0;
    }
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (size_t d = 0; d < rank && len < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%zu", d ? ", " : "", idx[d]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
}

/* The dtype of the output for the file's dtype, or a failure saying why
 * it cannot be read. */
static lf_status output_dtype(const lf_npy_layout *L, const char *name, lf_dtype *out, lf_err *e) {
    const lf_npy_dtype *dt = &L->dt;
    if (dt->big)
        return lf_fail(e, LF_ERR_FORMAT,
                       "'%s' holds big-endian data ('%s'); N-dimensional arrays are read little-endian only "
                       "(numpy: a.astype(a.dtype.newbyteorder('<')))",
                       name, L->h.descr);
    if (dt->kind == LF_NPY_FLOAT && (dt->size == 4 || dt->size == 8)) *out = LF_DTYPE_FLOAT32;
    else if (dt->kind == LF_NPY_INT && (dt->size == 4 || dt->size == 8)) *out = LF_DTYPE_INT32;
    else if (dt->kind == LF_NPY_UINT && dt->size == 1) *out = LF_DTYPE_UINT8;
    else
        return lf_fail(e, LF_ERR_FORMAT,
                       "unsupported dtype '%s' in '%s' for an N-dimensional array (float32, float64, int32, "
                       "int64 or uint8 expected)",
                       L->h.descr, name);
    if (L->h.fortran && L->h.ndim >= 2)
        return lf_fail(e, LF_ERR_FORMAT,
                       "'%s' is in Fortran order; N-dimensional arrays are read in C order only "
                       "(numpy: np.ascontiguousarray(a))",
                       name);
    return LF_OK;
}

/* Converts the L->count elements at src into out (of type `to`). */
static lf_status convert_nd(const unsigned char *src, const lf_npy_layout *L, lf_dtype to, void *out,
                            const char *name, lf_err *e) {
    const size_t size = L->dt.size, n = L->count;
    char where[96];
    /* the same width as the output on a little-endian host: a copy */
    if (size == (to == LF_DTYPE_UINT8 ? 1 : 4) && (size == 1 || !lf_npy_host_is_big())) {
        if (n) memcpy(out, src, n * size);
        return LF_OK;
    }
    for (size_t k = 0; k < n; k++) {
        uint64_t u = lf_npy_load_uint(src + k * size, size, 0);
        if (to == LF_DTYPE_FLOAT32 && size == 4) {
            uint32_t b = (uint32_t)u;
            memcpy((float *)out + k, &b, sizeof b);
        } else if (to == LF_DTYPE_FLOAT32) {
            double d;
            memcpy(&d, &u, sizeof d);
            /* values at or beyond FLT_MAX + half an ulp round to infinity */
            if (isfinite(d) && fabs(d) >= 0x1.ffffffp+127) {
                element_index(where, sizeof where, k, L);
                return lf_fail(e, LF_ERR_FORMAT, "element %s of '%s' (%g) overflows float32", where, name, d);
            }
            ((float *)out)[k] = (float)d;
        } else if (size == 4) {
            int32_t v;
            uint32_t b = (uint32_t)u;
            memcpy(&v, &b, sizeof v);
            ((int32_t *)out)[k] = v;
        } else {
            int64_t v;
            memcpy(&v, &u, sizeof v);
            if (v < INT32_MIN || v > INT32_MAX) {
                element_index(where, sizeof where, k, L);
                return lf_fail(e, LF_ERR_FORMAT, "element %s of '%s' (%lld) is outside the int32 range", where,
                               name, (long long)v);
            }
            ((int32_t *)out)[k] = (int32_t)v;
        }
    }
    return LF_OK;
}

lf_status lf_npy_parse_nd(const unsigned char *buf, size_t len, const char *name_for_messages, lf_ndarray *out,
                          lf_err *e) {
    const char *name = name_for_messages ? name_for_messages : "<memory>";
    if (!out) return lf_fail(e, LF_ERR_ARG, "no output array for '%s'", name);
    memset(out, 0, sizeof *out);
    if (!buf && len) return lf_fail(e, LF_ERR_ARG, "no buffer for '%s'", name);
    lf_npy_layout L;
    lf_status st = lf_npy_parse_layout_nd(buf, len, len, name, &L, e);
    lf_dtype to = LF_DTYPE_FLOAT32;
    if (st == LF_OK) st = output_dtype(&L, name, &to, e);
    if (st != LF_OK) return st;
    size_t esize = to == LF_DTYPE_UINT8 ? 1 : 4; /* count * 4 fits: checked by the layout */
    void *data = lf_alloc_large(L.count ? L.count * esize : 1);
    if (!data)
        return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s' (%zu elements)", name, L.count);
    st = convert_nd(buf + L.data_off, &L, to, data, name, e);
    if (st != LF_OK) {
        LF_FREE(data);
        return st;
    }
    out->dtype = to;
    out->data = data;
    out->rank = L.h.ndim;
    for (size_t d = 0; d < LF_NDARRAY_MAX_RANK; d++) out->shape[d] = d < L.h.ndim ? (size_t)L.h.dims[d] : 1;
    out->count = L.count;
    out->row_size = L.cols;
    /* a known dtype's descr is 3 characters (npy_format.c's parse_dtype) */
    for (size_t c = 0; c + 1 < sizeof out->source_dtype && L.h.descr[c]; c++) out->source_dtype[c] = L.h.descr[c];
    return LF_OK;
}

lf_status lf_ndarray_read(const char *path, lf_ndarray *out, char *err, size_t errlen) {
    lf_err e = {{0}};
    lf_status st;
    if (out) memset(out, 0, sizeof *out);
    if (!out) st = lf_fail(&e, LF_ERR_ARG, "no array to read into");
    else if (!path || !*path) st = lf_fail(&e, LF_ERR_ARG, "empty input path");
    else {
        unsigned char *buf;
        size_t len;
        st = lf_io_read_file(path, &buf, &len, &e);
        if (st == LF_OK) {
            st = lf_npy_parse_nd(buf, len, path, out, &e);
            LF_FREE(buf);
        }
    }
    if (st != LF_OK && err && errlen) snprintf(err, errlen, "%s", e.msg[0] ? e.msg : lf_status_string(st));
    return st;
}

void lf_ndarray_free(lf_ndarray *a) {
    if (!a) return;
    LF_FREE(a->data);
    memset(a, 0, sizeof *a);
}
