/*
 * npy_read.c — the whole-array .npy reader (see npy.h): a file or a buffer
 * in memory becomes one row-major float32 lf_array.  The header and the
 * conversion are npy_format.c's; the file is read by file.c's bounded
 * whole-file read.
 */
#include "io/npy_format.h"

lf_status lf_npy_parse(const unsigned char *buf, size_t len, const char *name_for_messages,
                       lf_array *out, lf_err *e) {
    const char *name = name_for_messages ? name_for_messages : "<memory>";
    if (!out) return lf_fail(e, LF_ERR_ARG, "no output array for '%s'", name);
    memset(out, 0, sizeof *out);
    if (!buf && len) return lf_fail(e, LF_ERR_ARG, "no buffer for '%s'", name);
    lf_npy_layout L;
    lf_status st = lf_npy_parse_layout(buf, len, len, name, &L, e);
    if (st != LF_OK) return st;
    size_t n = L.count, bytes = n * sizeof(float);
    float *data = lf_alloc_large(bytes ? bytes : 1);
    if (!data) return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s' (%zu floats)", name, n);
    st = lf_npy_convert_all(buf + L.data_off, &L, data, name, e);
    if (st != LF_OK) {
        LF_FREE(data);
        return st;
    }
    out->data = data;
    out->rows = L.rows;
    out->cols = L.cols;
    out->is_integer = L.dt.kind != LF_NPY_FLOAT;
    return LF_OK;
}

lf_status lf_npy_read(const char *path, lf_array *out, lf_err *e) {
    if (out) memset(out, 0, sizeof *out);
    unsigned char *buf;
    size_t len;
    lf_status st = lf_io_read_file(path, &buf, &len, e);
    if (st != LF_OK) return st;
    st = lf_npy_parse(buf, len, path, out, e);
    LF_FREE(buf);
    return st;
}
