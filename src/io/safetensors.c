/*
 * safetensors.c — validating reader and F32 writer of the safetensors
 * container (see safetensors.h for the format and the rules checked).
 *
 * The reader parses the header with the strict JSON parser, checks every
 * entry, then sorts the tensors by offset to prove they tile the byte
 * buffer; only then does it hand out pointers into the data.  Bytes are
 * assembled explicitly as little-endian, so the code is independent of the
 * host byte order and of alignment.
 */
#include "io/safetensors.h"
#include "io/array.h"

#include "io/atomic.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
    const char *name;
    size_t size;
} dtypes[LF_ST_NUM_DTYPES] = {
    [LF_ST_F64] = {"F64", 8},       [LF_ST_F32] = {"F32", 4},         [LF_ST_F16] = {"F16", 2},
    [LF_ST_BF16] = {"BF16", 2},     [LF_ST_I64] = {"I64", 8},         [LF_ST_I32] = {"I32", 4},
    [LF_ST_I16] = {"I16", 2},       [LF_ST_I8] = {"I8", 1},           [LF_ST_U64] = {"U64", 8},
    [LF_ST_U32] = {"U32", 4},       [LF_ST_U16] = {"U16", 2},         [LF_ST_U8] = {"U8", 1},
    [LF_ST_BOOL] = {"BOOL", 1},     [LF_ST_F8_E4M3] = {"F8_E4M3", 1}, [LF_ST_F8_E5M2] = {"F8_E5M2", 1},
};

const char *lf_st_dtype_name(lf_st_dtype d) {
    return ((unsigned)d < LF_ST_NUM_DTYPES) ? dtypes[d].name : NULL;
}

size_t lf_st_dtype_size(lf_st_dtype d) {
    return ((unsigned)d < LF_ST_NUM_DTYPES) ? dtypes[d].size : 0;
}

int lf_st_dtype_parse(const char *name) {
    if (!name) return -1;
    for (int d = 0; d < LF_ST_NUM_DTYPES; d++)
        if (strcmp(dtypes[d].name, name) == 0) return d;
    return -1;
}

static uint64_t get_u64le(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* The product of the dims.  Stricter than needed: the product of the
 * non-zero dims must fit too, so that no consumer multiplying the dims in
 * another order can overflow even when one dim is 0. */
static int shape_count(const size_t *shape, size_t ndim, size_t *count) {
    size_t nz = 1;
    int zero = 0;
    for (size_t i = 0; i < ndim; i++) {
        if (shape[i] == 0) zero = 1;
        else if (!lf_mul_ok(nz, shape[i], &nz)) return 0;
    }
    *count = zero ? 0 : nz;
    return 1;
}

/* ------------------------------------------------------------- reader */

void lf_st_free(lf_st_file *f) {
    if (!f) return;
    LF_FREE(f->tensors);
    LF_FREE(f->by_name);
    lf_json_free(f->header);
    LF_FREE(f->owned);
    memset(f, 0, sizeof *f);
}

/* Fills t from the header entry j (named t->name); checks all but tiling. */
static lf_status parse_entry(const lf_json *j, lf_st_tensor *t, size_t data_len, lf_err *e) {
    char nm[80], tmp[80];
    lf_str_for_msg(nm, t->name);
    if (!lf_json_is(j, LF_JSON_OBJECT))
        return lf_fail(e, LF_ERR_FORMAT, "tensor '%s': entry is not a JSON object", nm);
    static const char *const fields[4] = {"dtype", "shape", "data_offsets", NULL};
    const char *k = lf_json_unknown_key(j, fields);
    if (k) return lf_fail(e, LF_ERR_FORMAT, "tensor '%s': unexpected field '%s'", nm, lf_str_for_msg(tmp, k));
    for (int i = 0; i < 3; i++)
        if (!lf_json_get(j, fields[i]))
            return lf_fail(e, LF_ERR_FORMAT, "tensor '%s': missing field '%s'", nm, fields[i]);

    const char *dt = lf_json_str(lf_json_get(j, "dtype"));
    if (!dt) return lf_fail(e, LF_ERR_FORMAT, "tensor '%s': dtype is not a string", nm);
    int d = lf_st_dtype_parse(dt);
    if (d < 0) return lf_fail(e, LF_ERR_FORMAT, "tensor '%s': unknown dtype '%s'", nm, lf_str_for_msg(tmp, dt));
    t->dtype = (lf_st_dtype)d;

    const lf_json *shape = lf_json_get(j, "shape");
    if (!lf_json_is(shape, LF_JSON_ARRAY))
        return lf_fail(e, LF_ERR_FORMAT, "tensor '%s': shape is not an array", nm);
    if (shape->n > LF_ST_MAX_DIMS)
        return lf_fail(e, LF_ERR_FORMAT, "tensor '%s': shape has %zu dimensions, more than %d", nm,
                       shape->n, LF_ST_MAX_DIMS);
    t->ndim = shape->n;
    for (size_t i = 0; i < shape->n; i++)
        if (!lf_json_size(shape->items[i], &t->shape[i]))
            return lf_fail(e, LF_ERR_FORMAT, "tensor '%s': shape[%zu] is not a non-negative integer",
                           nm, i);
    if (!shape_count(t->shape, t->ndim, &t->count))
        return lf_fail(e, LF_ERR_FORMAT, "tensor '%s': the element count of its shape overflows", nm);
    size_t need;
    if (!lf_mul_ok(t->count, lf_st_dtype_size(t->dtype), &need))
        return lf_fail(e, LF_ERR_FORMAT, "tensor '%s': the byte size of its shape overflows", nm);

    const lf_json *off = lf_json_get(j, "data_offsets");
    if (!lf_json_is(off, LF_JSON_ARRAY) || off->n != 2)
        return lf_fail(e, LF_ERR_FORMAT, "tensor '%s': data_offsets is not an array of two integers", nm);
    size_t begin, end;
    if (!lf_json_size(off->items[0], &begin) || !lf_json_size(off->items[1], &end))
        return lf_fail(e, LF_ERR_FORMAT,
                       "tensor '%s': data_offsets are not two non-negative integers", nm);
    if (begin > end)
        return lf_fail(e, LF_ERR_FORMAT, "tensor '%s': data_offsets begin %zu is after end %zu", nm,
                       begin, end);
    if (end - begin != need)
        return lf_fail(e, LF_ERR_FORMAT,
                       "tensor '%s': data_offsets span %zu bytes but %zu elements of %s need %zu", nm,
                       end - begin, t->count, dtypes[t->dtype].name, need);
    if (end > data_len)
        return lf_fail(e, LF_ERR_FORMAT,
                       "tensor '%s': data_offsets end %zu is beyond the %zu-byte data buffer", nm, end,
                       data_len);
    t->offset = begin;
    t->nbytes = need;
    return LF_OK;
}

/* qsort contexts are not portable: sort index arrays through a pointer
 * pair (index, tensor array). */
typedef struct idx_ref {
    size_t i;
    const lf_st_tensor *t;
} idx_ref;

static int by_offset(const void *a, const void *b) {
    const idx_ref *x = a, *y = b;
    const lf_st_tensor *s = x->t + x->i, *t = y->t + y->i;
    if (s->offset != t->offset) return s->offset < t->offset ? -1 : 1;
    if (s->nbytes != t->nbytes) return s->nbytes < t->nbytes ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

static int by_name(const void *a, const void *b) {
    const idx_ref *x = a, *y = b;
    return strcmp(x->t[x->i].name, y->t[y->i].name);
}

static lf_status check_tiling(const lf_st_tensor *ts, size_t n, const idx_ref *order, size_t data_len,
                              lf_err *e) {
    char a[80], b[80];
    size_t expected = 0;
    const lf_st_tensor *prev = NULL;
    for (size_t k = 0; k < n; k++) {
        const lf_st_tensor *t = &ts[order[k].i];
        if (t->offset > expected)
            return lf_fail(e, LF_ERR_FORMAT,
                           "bytes %zu..%zu of the data buffer belong to no tensor (a hole before tensor '%s')",
                           expected, t->offset, lf_str_for_msg(a, t->name));
        if (t->offset < expected)
            return lf_fail(e, LF_ERR_FORMAT,
                           "tensor '%s' (bytes %zu..%zu) overlaps tensor '%s' (bytes %zu..%zu)",
                           lf_str_for_msg(a, t->name), t->offset, t->offset + t->nbytes,
                           lf_str_for_msg(b, prev->name), prev->offset, prev->offset + prev->nbytes);
        if (t->nbytes > 0 || !prev) prev = t;
        expected = t->offset + t->nbytes;
    }
    if (expected != data_len)
        return lf_fail(e, LF_ERR_FORMAT, "the data buffer has %zu trailing bytes after the last tensor",
                       data_len - expected);
    return LF_OK;
}

static lf_status parse_into(const unsigned char *buf, size_t len, lf_st_file *out, lf_err *e) {
    char nm[80];
    if (len < 8)
        return lf_fail(e, LF_ERR_FORMAT,
                       "the data is %zu bytes long, shorter than the 8-byte header length field", len);
    uint64_t hn = get_u64le(buf);
    if (hn > LF_ST_MAX_HEADER)
        return lf_fail(e, LF_ERR_FORMAT, "header length %" PRIu64 " exceeds the limit of %u bytes", hn,
                       LF_ST_MAX_HEADER);
    if (hn > (uint64_t)(len - 8))
        return lf_fail(e, LF_ERR_FORMAT,
                       "header length %" PRIu64 " exceeds the %zu bytes after the length field", hn,
                       len - 8);
    size_t hlen = (size_t)hn;
    lf_err je;
    lf_status st = lf_json_parse((const char *)buf + 8, hlen, &out->header, &je);
    if (st == LF_ERR_NOMEM) return lf_fail(e, st, "out of memory reading the header");
    if (st) return lf_fail(e, st, "invalid header JSON: %s", je.msg);
    const lf_json *h = out->header;
    if (!lf_json_is(h, LF_JSON_OBJECT)) return lf_fail(e, LF_ERR_FORMAT, "the header is not a JSON object");
    out->data_len = len - 8 - hlen;
    const unsigned char *data = buf + 8 + hlen;

    size_t n = h->n;
    const lf_json *meta = lf_json_get(h, "__metadata__");
    if (meta) {
        n--;
        if (!lf_json_is(meta, LF_JSON_OBJECT))
            return lf_fail(e, LF_ERR_FORMAT, "__metadata__ is not a JSON object");
        for (size_t i = 0; i < meta->n; i++)
            if (!lf_json_is(meta->items[i], LF_JSON_STRING))
                return lf_fail(e, LF_ERR_FORMAT, "__metadata__ value of key '%s' is not a string",
                               lf_str_for_msg(nm, meta->items[i]->key));
        out->metadata = meta;
    }
    out->tensors = lf_alloc_array(n, sizeof *out->tensors);
    out->by_name = lf_alloc_array(n, sizeof *out->by_name);
    idx_ref *order = lf_alloc_array(n, sizeof *order);
    if (!out->tensors || !out->by_name || !order) {
        LF_FREE(order);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory indexing %zu tensors", n);
    }
    size_t k = 0;
    for (size_t i = 0; i < h->n; i++) {
        const lf_json *m = h->items[i];
        if (m == meta) continue;
        size_t nl = strlen(m->key);
        if (nl == 0) st = lf_fail(e, LF_ERR_FORMAT, "a tensor name is empty");
        else if (nl > LF_ST_MAX_NAME)
            st = lf_fail(e, LF_ERR_FORMAT, "tensor name '%s' is %zu bytes long, over the %d-byte limit",
                         lf_str_for_msg(nm, m->key), nl, LF_ST_MAX_NAME);
        else {
            lf_st_tensor *t = &out->tensors[k];
            t->name = m->key;
            st = parse_entry(m, t, out->data_len, e);
            t->data = data + t->offset;
        }
        if (st) {
            LF_FREE(order);
            return st;
        }
        order[k].i = k;
        order[k].t = out->tensors;
        k++;
    }
    out->n_tensors = n;
    qsort(order, n, sizeof *order, by_offset);
    st = check_tiling(out->tensors, n, order, out->data_len, e);
    if (st == LF_OK) {
        qsort(order, n, sizeof *order, by_name);
        for (size_t i = 0; i < n; i++) out->by_name[i] = order[i].i;
    }
    LF_FREE(order);
    return st;
}

lf_status lf_st_parse(const unsigned char *buf, size_t len, lf_st_file *out, lf_err *e) {
    if (!out) return lf_fail(e, LF_ERR_ARG, "lf_st_parse: NULL output");
    memset(out, 0, sizeof *out);
    if (!buf && len) return lf_fail(e, LF_ERR_ARG, "lf_st_parse: NULL buffer");
    lf_status st = parse_into(buf, len, out, e);
    if (st) lf_st_free(out);
    return st;
}

lf_status lf_st_read(const char *path, lf_st_file *out, lf_err *e) {
    if (!out) return lf_fail(e, LF_ERR_ARG, "lf_st_read: NULL output");
    memset(out, 0, sizeof *out);
    if (!path || !*path) return lf_fail(e, LF_ERR_ARG, "lf_st_read: empty path");
    unsigned char *data;
    size_t size;
    lf_status st = lf_io_read_file(path, &data, &size, e);
    if (st != LF_OK) return st;
    lf_err pe;
    st = lf_st_parse(data, size, out, &pe);
    if (st) {
        LF_FREE(data);
        if (st == LF_ERR_FORMAT)
            return lf_fail(e, st, "'%s' is not a valid safetensors file: %s", path, pe.msg);
        return lf_fail(e, st, "reading '%s': %s", path, pe.msg);
    }
    out->owned = data;
    return LF_OK;
}

size_t lf_st_count(const lf_st_file *f) { return f ? f->n_tensors : 0; }

const lf_st_tensor *lf_st_at(const lf_st_file *f, size_t i) {
    return (f && i < f->n_tensors) ? &f->tensors[i] : NULL;
}

const lf_st_tensor *lf_st_find(const lf_st_file *f, const char *name) {
    if (!f || !name) return NULL;
    size_t lo = 0, hi = f->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const lf_st_tensor *t = &f->tensors[f->by_name[mid]];
        int c = strcmp(name, t->name);
        if (c == 0) return t;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

const char *lf_st_metadata(const lf_st_file *f, const char *key) {
    return f ? lf_json_str(lf_json_get(f->metadata, key)) : NULL;
}

size_t lf_st_metadata_count(const lf_st_file *f) { return f ? lf_json_len(f->metadata) : 0; }

const char *lf_st_metadata_key(const lf_st_file *f, size_t i) {
    return f ? lf_json_key_at(f->metadata, i) : NULL;
}

const char *lf_st_metadata_value(const lf_st_file *f, size_t i) {
    return f ? lf_json_str(lf_json_at(f->metadata, i)) : NULL;
}

lf_status lf_st_tensor_f32(const lf_st_tensor *t, float *out, size_t count, lf_err *e) {
    char nm[80];
    if (!t || (!out && count)) return lf_fail(e, LF_ERR_ARG, "lf_st_tensor_f32: NULL argument");
    lf_str_for_msg(nm, t->name);
    if (count != t->count)
        return lf_fail(e, LF_ERR_SHAPE, "tensor '%s' has %zu elements, not %zu", nm, t->count, count);
    if (t->dtype == LF_ST_F32) {
        for (size_t i = 0; i < count; i++) {
            const unsigned char *p = t->data + 4 * i;
            uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            float v;
            memcpy(&v, &u, sizeof v);
            if (!isfinite(v))
                return lf_fail(e, LF_ERR_FORMAT, "tensor '%s' holds a non-finite value at element %zu",
                               nm, i);
            out[i] = v;
        }
        return LF_OK;
    }
    if (t->dtype == LF_ST_F64) {
        for (size_t i = 0; i < count; i++) {
            uint64_t u = get_u64le(t->data + 8 * i);
            double v;
            memcpy(&v, &u, sizeof v);
            if (!isfinite(v))
                return lf_fail(e, LF_ERR_FORMAT, "tensor '%s' holds a non-finite value at element %zu",
                               nm, i);
            if (fabs(v) > FLT_MAX)
                return lf_fail(e, LF_ERR_FORMAT,
                               "tensor '%s' holds %g at element %zu, beyond the float range", nm, v, i);
            out[i] = (float)v;
        }
        return LF_OK;
    }
    return lf_fail(e, LF_ERR_FORMAT, "tensor '%s' has dtype %s; only F32 and F64 convert to float", nm,
                   dtypes[t->dtype].name);
}

/* ------------------------------------------------------------- writer */

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Finds a duplicate among n strings (NULL if none); may allocate. */
static lf_status find_dup(const char *const *names, size_t n, const char **dup, lf_err *e) {
    *dup = NULL;
    if (n < 2) return LF_OK;
    const char **tmp = lf_alloc_array(n, sizeof *tmp);
    if (!tmp) return lf_fail(e, LF_ERR_NOMEM, "out of memory checking %zu names", n);
    memcpy(tmp, names, n * sizeof *tmp);
    qsort(tmp, n, sizeof *tmp, cmp_str_ptr);
    for (size_t i = 1; i < n && !*dup; i++)
        if (strcmp(tmp[i], tmp[i - 1]) == 0) *dup = tmp[i];
    LF_FREE(tmp);
    return LF_OK;
}

/* Validates the arguments and builds the padded header; *data_len is the
 * size of the byte buffer. */
static lf_status build_header(const lf_st_out *ts, size_t n, const char *const *mk,
                              const char *const *mv, size_t nm, lf_buf *hdr, size_t *data_len,
                              lf_err *e) {
    char s[80];
    if (n && !ts) return lf_fail(e, LF_ERR_ARG, "safetensors writer: NULL tensor list");
    if (nm && (!mk || !mv)) return lf_fail(e, LF_ERR_ARG, "safetensors writer: NULL metadata list");
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const lf_st_out *t = &ts[i];
        if (!t->name) return lf_fail(e, LF_ERR_ARG, "tensor %zu has no name", i);
        size_t l = strlen(t->name);
        if (l == 0) return lf_fail(e, LF_ERR_ARG, "tensor %zu has an empty name", i);
        if (l > LF_ST_MAX_NAME)
            return lf_fail(e, LF_ERR_ARG, "tensor name '%s' is %zu bytes long, over the %d-byte limit",
                           lf_str_for_msg(s, t->name), l, LF_ST_MAX_NAME);
        if (strcmp(t->name, "__metadata__") == 0)
            return lf_fail(e, LF_ERR_ARG, "'__metadata__' is reserved and cannot name a tensor");
        if (!lf_utf8_valid(t->name, l))
            return lf_fail(e, LF_ERR_ARG, "tensor name '%s' is not valid UTF-8", lf_str_for_msg(s, t->name));
        if (t->ndim > LF_ST_MAX_DIMS)
            return lf_fail(e, LF_ERR_ARG, "tensor '%s' has %zu dimensions, more than %d",
                           lf_str_for_msg(s, t->name), t->ndim, LF_ST_MAX_DIMS);
        size_t count, bytes;
        if (!shape_count(t->shape, t->ndim, &count))
            return lf_fail(e, LF_ERR_ARG, "tensor '%s': the element count of its shape overflows",
                           lf_str_for_msg(s, t->name));
        if (!lf_mul_ok(count, 4, &bytes) || bytes > SIZE_MAX - total)
            return lf_fail(e, LF_ERR_ARG, "tensor '%s' is too large to write", lf_str_for_msg(s, t->name));
        if (count && !t->data) return lf_fail(e, LF_ERR_ARG, "tensor '%s' has no data", lf_str_for_msg(s, t->name));
        for (size_t k = 0; k < count; k++)
            if (!isfinite(t->data[k]))
                return lf_fail(e, LF_ERR_NUMERIC, "tensor '%s' holds a non-finite value at element %zu",
                               lf_str_for_msg(s, t->name), k);
        total += bytes;
    }
    for (size_t i = 0; i < nm; i++) {
        if (!mk[i] || !mv[i]) return lf_fail(e, LF_ERR_ARG, "metadata entry %zu is NULL", i);
        if (!lf_utf8_valid(mk[i], strlen(mk[i])) || !lf_utf8_valid(mv[i], strlen(mv[i])))
            return lf_fail(e, LF_ERR_ARG, "metadata entry '%s' is not valid UTF-8", lf_str_for_msg(s, mk[i]));
    }
    const char *dup;
    const char **names = lf_alloc_array(n, sizeof *names);
    if (!names) return lf_fail(e, LF_ERR_NOMEM, "out of memory checking %zu tensor names", n);
    for (size_t i = 0; i < n; i++) names[i] = ts[i].name;
    lf_status st = find_dup(names, n, &dup, e);
    LF_FREE(names);
    if (st) return st;
    if (dup) return lf_fail(e, LF_ERR_ARG, "duplicate tensor name '%s'", lf_str_for_msg(s, dup));
    st = find_dup(mk, nm, &dup, e);
    if (st) return st;
    if (dup) return lf_fail(e, LF_ERR_ARG, "duplicate metadata key '%s'", lf_str_for_msg(s, dup));

    lf_buf_puts(hdr, "{");
    if (nm) {
        lf_buf_puts(hdr, "\"__metadata__\":{");
        for (size_t i = 0; i < nm; i++) {
            if (i) lf_buf_puts(hdr, ",");
            lf_buf_json_string(hdr, mk[i]);
            lf_buf_puts(hdr, ":");
            lf_buf_json_string(hdr, mv[i]);
        }
        lf_buf_puts(hdr, "}");
    }
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const lf_st_out *t = &ts[i];
        size_t count = 1;
        for (size_t d = 0; d < t->ndim; d++) count *= t->shape[d];
        if (i || nm) lf_buf_puts(hdr, ",");
        lf_buf_json_string(hdr, t->name);
        lf_buf_puts(hdr, ":{\"dtype\":\"F32\",\"shape\":[");
        for (size_t d = 0; d < t->ndim; d++) lf_buf_printf(hdr, d ? ",%zu" : "%zu", t->shape[d]);
        lf_buf_printf(hdr, "],\"data_offsets\":[%zu,%zu]}", off, off + count * 4);
        off += count * 4;
    }
    lf_buf_puts(hdr, "}");
    while ((8 + hdr->len) % 8 != 0 && !hdr->failed) lf_buf_puts(hdr, " ");
    if (hdr->failed) return lf_fail(e, LF_ERR_NOMEM, "out of memory building the safetensors header");
    if (hdr->len > LF_ST_MAX_HEADER)
        return lf_fail(e, LF_ERR_ARG, "the safetensors header would be %zu bytes, over the limit of %u",
                       hdr->len, LF_ST_MAX_HEADER);
    *data_len = total;
    return LF_OK;
}

static void put_u64le(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put_f32le(unsigned char *p, const float *src, size_t count) {
    for (size_t i = 0; i < count; i++) {
        uint32_t u;
        memcpy(&u, &src[i], sizeof u);
        p[4 * i] = (unsigned char)u;
        p[4 * i + 1] = (unsigned char)(u >> 8);
        p[4 * i + 2] = (unsigned char)(u >> 16);
        p[4 * i + 3] = (unsigned char)(u >> 24);
    }
}

static size_t out_count(const lf_st_out *t) {
    size_t c = 1;
    for (size_t d = 0; d < t->ndim; d++) c *= t->shape[d]; /* checked by build_header */
    return c;
}

lf_status lf_st_serialize(const lf_st_out *tensors, size_t n, const char *const *meta_keys,
                          const char *const *meta_values, size_t n_meta, unsigned char **buf,
                          size_t *len, lf_err *e) {
    if (!buf || !len) return lf_fail(e, LF_ERR_ARG, "lf_st_serialize: NULL output");
    *buf = NULL;
    *len = 0;
    lf_buf hdr;
    lf_buf_init(&hdr);
    size_t data_len = 0;
    lf_status st = build_header(tensors, n, meta_keys, meta_values, n_meta, &hdr, &data_len, e);
    if (st) {
        lf_buf_free(&hdr);
        return st;
    }
    if (data_len > SIZE_MAX - 8 - hdr.len) {
        lf_buf_free(&hdr);
        return lf_fail(e, LF_ERR_ARG, "the safetensors data are too large");
    }
    size_t total = 8 + hdr.len + data_len;
    unsigned char *out = LF_MALLOC(total);
    if (!out) {
        lf_buf_free(&hdr);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory serializing %zu bytes of safetensors", total);
    }
    put_u64le(out, hdr.len);
    memcpy(out + 8, hdr.data, hdr.len);
    unsigned char *p = out + 8 + hdr.len;
    for (size_t i = 0; i < n; i++) {
        size_t c = out_count(&tensors[i]);
        put_f32le(p, tensors[i].data, c);
        p += 4 * c;
    }
    lf_buf_free(&hdr);
    *buf = out;
    *len = total;
    return LF_OK;
}

lf_status lf_st_write(const char *path, const lf_st_out *tensors, size_t n,
                      const char *const *meta_keys, const char *const *meta_values, size_t n_meta,
                      unsigned flags, lf_err *e) {
    enum { CHUNK = 16384 };
    lf_buf hdr;
    lf_buf_init(&hdr);
    size_t data_len = 0;
    lf_status st = build_header(tensors, n, meta_keys, meta_values, n_meta, &hdr, &data_len, e);
    if (st) {
        lf_buf_free(&hdr);
        return st;
    }
    unsigned char *stage = LF_MALLOC(4 * CHUNK);
    if (!stage) {
        lf_buf_free(&hdr);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory writing '%s'", path ? path : "");
    }
    lf_atomic_file af;
    st = lf_atomic_open(&af, path, flags, e);
    if (st == LF_OK) {
        unsigned char len8[8];
        put_u64le(len8, hdr.len);
        st = lf_atomic_write(&af, len8, 8, e);
        if (!st) st = lf_atomic_write(&af, hdr.data, hdr.len, e);
        for (size_t i = 0; i < n && !st; i++) {
            size_t c = out_count(&tensors[i]);
            for (size_t k = 0; k < c && !st; k += CHUNK) {
                size_t m = c - k < CHUNK ? c - k : CHUNK;
                put_f32le(stage, tensors[i].data + k, m);
                st = lf_atomic_write(&af, stage, 4 * m, e);
            }
        }
        if (st) lf_atomic_abort(&af);
        else st = lf_atomic_commit(&af, e);
    }
    LF_FREE(stage);
    lf_buf_free(&hdr);
    return st;
}
