/*
 * npy_format.c — what a .npy file says about itself: the header, parsed by
 * a small strict recursive-descent parser that knows exactly the three keys
 * numpy writes (rather than a general Python evaluator), the dtype, and
 * the conversion of the stored elements to float32 (see npy_format.h).
 * Every size read from the file is checked against the bytes actually
 * present before anything is allocated, so a hostile header cannot make a
 * reader allocate (or read) more than the file.
 */
#include "io/npy_format.h"

#include <float.h>
#include <math.h>
#include <stdio.h>

#define EXACT_INT_LIMIT 16777216.0 /* 2^24: float32 holds every integer up to this */

/* ------------------------------------------------------- header parsing */

typedef struct hdr_cur {
    const char *s;    /* header text (not NUL-terminated) */
    size_t n, i;      /* length, position */
    const char *name; /* for messages */
    lf_err *e;
} hdr_cur;

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_ident(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static void skip_ws(hdr_cur *c) {
    while (c->i < c->n && is_ws(c->s[c->i])) c->i++;
}

static int peek(const hdr_cur *c) { return c->i < c->n ? (unsigned char)c->s[c->i] : -1; }

static lf_status syntax(hdr_cur *c, const char *what) {
    if (c->i >= c->n)
        return lf_fail(c->e, LF_ERR_FORMAT, "malformed .npy header in '%s': %s, found the end of the header",
                       c->name, what);
    /* the header is not NUL-terminated: never show more than what is left */
    size_t left = c->n - c->i < 12 ? c->n - c->i : 12;
    return lf_fail(c->e, LF_ERR_FORMAT, "malformed .npy header in '%s': %s at offset %zu, found '%.*s'",
                   c->name, what, c->i, (int)left, c->s + c->i);
}

/* A Python string literal in single or double quotes, without escapes. */
static lf_status parse_string(hdr_cur *c, char *out, size_t cap) {
    int q = peek(c);
    if (q != '\'' && q != '"') return syntax(c, "expected a quoted string");
    size_t start = ++c->i;
    while (c->i < c->n && c->s[c->i] != (char)q) {
        char ch = c->s[c->i];
        if (ch == '\\' || ch == '\n' || ch == '\0') return syntax(c, "unsupported character in a string");
        c->i++;
    }
    if (c->i >= c->n) return syntax(c, "unterminated string");
    size_t len = c->i - start;
    c->i++; /* closing quote */
    if (len >= cap) len = cap - 1; /* long strings are truncated: they never match anyway */
    memcpy(out, c->s + start, len);
    out[len] = '\0';
    return LF_OK;
}

/* Skips any Python value up to the ',' or '}' that ends it (brackets and
 * quotes balanced), copying its text into out for messages. */
static lf_status skip_value(hdr_cur *c, char *out, size_t cap) {
    size_t start = c->i;
    int depth = 0;
    while (c->i < c->n) {
        char ch = c->s[c->i];
        if (ch == '\'' || ch == '"') {
            size_t j = c->i + 1;
            while (j < c->n && c->s[j] != ch) j++;
            if (j >= c->n) return syntax(c, "unterminated string");
            c->i = j + 1;
            continue;
        }
        if (ch == '(' || ch == '[' || ch == '{') depth++;
        else if (ch == ')' || ch == ']' || ch == '}') {
            if (depth == 0) break;
            depth--;
        } else if (ch == ',' && depth == 0)
            break;
        c->i++;
    }
    if (depth != 0) return syntax(c, "unbalanced brackets");
    size_t end = c->i;
    while (end > start && is_ws(c->s[end - 1])) end--;
    size_t len = end - start;
    if (len >= cap) len = cap - 1;
    memcpy(out, c->s + start, len);
    out[len] = '\0';
    return LF_OK;
}

static lf_status parse_descr(hdr_cur *c, lf_npy_header *h) {
    int p = peek(c);
    if (p == '\'' || p == '"') return parse_string(c, h->descr, sizeof h->descr);
    /* a list (structured dtype) or anything else: unsupported */
    char raw[64];
    lf_status st = skip_value(c, raw, sizeof raw);
    if (st != LF_OK) return st;
    return lf_fail(c->e, LF_ERR_FORMAT, "unsupported dtype '%s' in '%s'", raw, c->name);
}

static lf_status parse_bool(hdr_cur *c, int *out) {
    const char *rest = c->s + c->i;
    size_t left = c->n - c->i;
    if (left >= 4 && memcmp(rest, "True", 4) == 0 && (left == 4 || !is_ident(rest[4]))) {
        *out = 1;
        c->i += 4;
        return LF_OK;
    }
    if (left >= 5 && memcmp(rest, "False", 5) == 0 && (left == 5 || !is_ident(rest[5]))) {
        *out = 0;
        c->i += 5;
        return LF_OK;
    }
    return syntax(c, "'fortran_order' must be True or False");
}

static lf_status parse_dim(hdr_cur *c, uint64_t *out) {
    if (peek(c) == '-')
        return lf_fail(c->e, LF_ERR_FORMAT, "negative dimension in the shape of '%s'", c->name);
    if (peek(c) < '0' || peek(c) > '9')
        return lf_fail(c->e, LF_ERR_FORMAT, "non-integer dimension '%.*s' in the shape of '%s'",
                       (int)(c->n - c->i < 12 ? c->n - c->i : 12), c->s + c->i, c->name);
    uint64_t v = 0;
    while (peek(c) >= '0' && peek(c) <= '9') {
        unsigned d = (unsigned)(peek(c) - '0');
        if (v > (UINT64_MAX - d) / 10)
            return lf_fail(c->e, LF_ERR_FORMAT, "dimension too large in the shape of '%s'", c->name);
        v = v * 10 + d;
        c->i++;
    }
    if (peek(c) == 'L') c->i++; /* Python 2 long suffix, still in old files */
    int p = peek(c);
    if (p == '.' || p == 'e' || p == 'E' || (p >= 0 && is_ident((char)p)))
        return lf_fail(c->e, LF_ERR_FORMAT, "non-integer dimension in the shape of '%s'", c->name);
    *out = v;
    return LF_OK;
}

/* A tuple of non-negative integers: (), (n,), (n, m), (n, m, ...), with an
 * optional trailing comma when it holds two or more. */
static lf_status parse_shape(hdr_cur *c, lf_npy_header *h) {
    if (peek(c) != '(') return syntax(c, "'shape' must be a tuple");
    c->i++;
    skip_ws(c);
    h->ndim = 0;
    if (peek(c) == ')') {
        c->i++;
        return LF_OK;
    }
    int had_comma = 0;
    for (;;) {
        uint64_t d = 0;
        lf_status st = parse_dim(c, &d);
        if (st != LF_OK) return st;
        if (h->ndim < LF_NDARRAY_MAX_RANK) h->dims[h->ndim] = d;
        h->ndim++;
        skip_ws(c);
        if (peek(c) == ',') {
            had_comma = 1;
            c->i++;
            skip_ws(c);
            if (peek(c) == ')') {
                c->i++;
                return LF_OK;
            }
            continue;
        }
        if (peek(c) == ')') {
            if (h->ndim == 1 && !had_comma) return syntax(c, "'shape' must be a tuple (missing ',')");
            c->i++;
            return LF_OK;
        }
        return syntax(c, "expected ',' or ')' in 'shape'");
    }
}

static lf_status parse_header(hdr_cur *c, lf_npy_header *h) {
    memset(h, 0, sizeof *h);
    skip_ws(c);
    if (peek(c) != '{') return syntax(c, "expected '{'");
    c->i++;
    for (;;) {
        skip_ws(c);
        if (peek(c) == '}') {
            c->i++;
            break;
        }
        char key[32];
        lf_status st = parse_string(c, key, sizeof key);
        if (st != LF_OK) return st;
        skip_ws(c);
        if (peek(c) != ':') return syntax(c, "expected ':'");
        c->i++;
        skip_ws(c);
        int *seen;
        if (strcmp(key, "descr") == 0) seen = &h->have_descr;
        else if (strcmp(key, "fortran_order") == 0) seen = &h->have_fortran;
        else if (strcmp(key, "shape") == 0) seen = &h->have_shape;
        else
            return lf_fail(c->e, LF_ERR_FORMAT, "unknown key '%s' in the .npy header of '%s'", key,
                           c->name);
        if (*seen)
            return lf_fail(c->e, LF_ERR_FORMAT, "duplicate key '%s' in the .npy header of '%s'", key,
                           c->name);
        *seen = 1;
        if (seen == &h->have_descr) st = parse_descr(c, h);
        else if (seen == &h->have_fortran) st = parse_bool(c, &h->fortran);
        else st = parse_shape(c, h);
        if (st != LF_OK) return st;
        skip_ws(c);
        if (peek(c) == ',') {
            c->i++;
            continue;
        }
        if (peek(c) == '}') {
            c->i++;
            break;
        }
        return syntax(c, "expected ',' or '}'");
    }
    skip_ws(c);
    if (c->i != c->n) return syntax(c, "unexpected text after the dict");
    static const char *const keys[3] = {"descr", "fortran_order", "shape"};
    const int have[3] = {h->have_descr, h->have_fortran, h->have_shape};
    for (int k = 0; k < 3; k++)
        if (!have[k])
            return lf_fail(c->e, LF_ERR_FORMAT, "missing key '%s' in the .npy header of '%s'",
                           keys[k], c->name);
    return LF_OK;
}

/* ------------------------------------------------------------- dtypes */

static lf_status parse_dtype(const char *descr, const char *name, lf_npy_dtype *dt, lf_err *e) {
    if (strlen(descr) == 3 && strchr("<>=|", descr[0]) && descr[2] >= '1' && descr[2] <= '8') {
        char order = descr[0], kind = descr[1];
        size_t size = (size_t)(descr[2] - '0');
        int any4 = size == 1 || size == 2 || size == 4 || size == 8;
        int ok = 0;
        if (kind == 'f') {
            ok = size == 2 || size == 4 || size == 8;
            dt->kind = LF_NPY_FLOAT;
        } else if (kind == 'i' || kind == 'u') {
            ok = any4;
            dt->kind = kind == 'i' ? LF_NPY_INT : LF_NPY_UINT;
        } else if (kind == 'b') {
            ok = size == 1;
            dt->kind = LF_NPY_BOOL;
        }
        if (order == '|' && size != 1) ok = 0; /* byte order is required for wider types */
        if (ok) {
            dt->size = size;
            dt->big = order == '>' || (order == '=' && lf_npy_host_is_big());
            return LF_OK;
        }
    }
    return lf_fail(e, LF_ERR_FORMAT, "unsupported dtype '%s' in '%s'", descr, name);
}

/* IEEE half to float: exact for every value (subnormals, Inf, NaN). */
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float f;
    if (exp == 0) {
        f = ldexpf((float)mant, -24); /* zero or subnormal: mant * 2^-24 */
        return sign ? -f : f;
    }
    uint32_t bits;
    if (exp == 31) bits = sign | 0x7f800000u | (mant << 13);
    else bits = sign | ((exp + 112) << 23) | (mant << 13);
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Names element k (storage order) of the array for messages. */
static void element_name(char *buf, size_t cap, size_t k, const lf_npy_header *h, size_t rows,
                         size_t cols) {
    if (h->ndim == 1) snprintf(buf, cap, "[%zu]", k);
    else if (h->fortran) snprintf(buf, cap, "[%zu, %zu]", k % rows, k / rows);
    else snprintf(buf, cap, "[%zu, %zu]", k / cols, k % cols);
}

/* Converts one element; fails for integers beyond 2^24, invalid bools and
 * float64 values beyond the float32 range. */
static lf_status convert(const unsigned char *p, const lf_npy_dtype *dt, float *out, size_t k,
                         const lf_npy_header *h, size_t rows, size_t cols, const char *name, lf_err *e) {
    uint64_t u = lf_npy_load_uint(p, dt->size, dt->big);
    char where[64];
    switch (dt->kind) {
    case LF_NPY_FLOAT:
        if (dt->size == 2) *out = half_to_float((uint16_t)u);
        else if (dt->size == 4) {
            uint32_t b = (uint32_t)u;
            memcpy(out, &b, sizeof *out);
        } else {
            double d;
            memcpy(&d, &u, sizeof d);
            /* values at or beyond FLT_MAX + half an ulp round to infinity */
            if (isfinite(d) && fabs(d) >= 0x1.ffffffp+127) {
                element_name(where, sizeof where, k, h, rows, cols);
                return lf_fail(e, LF_ERR_FORMAT, "element %s of '%s' (%g) overflows float32", where,
                               name, d);
            }
            *out = (float)d;
        }
        return LF_OK;
    case LF_NPY_BOOL:
        if (u > 1) {
            element_name(where, sizeof where, k, h, rows, cols);
            return lf_fail(e, LF_ERR_FORMAT, "element %s of '%s' is not a valid bool (byte %u)", where,
                           name, (unsigned)u);
        }
        *out = (float)u;
        return LF_OK;
    case LF_NPY_INT: {
        int64_t v;
        if (dt->size < 8 && (u >> (8 * dt->size - 1)) & 1) /* sign-extend */
            u |= ~(uint64_t)0 << (8 * dt->size);
        memcpy(&v, &u, sizeof v);
        if (v > (int64_t)EXACT_INT_LIMIT || v < -(int64_t)EXACT_INT_LIMIT) {
            element_name(where, sizeof where, k, h, rows, cols);
            return lf_fail(e, LF_ERR_FORMAT,
                           "element %s of '%s' (%lld) exceeds 2^24 in magnitude and would not be exact "
                           "as float32",
                           where, name, (long long)v);
        }
        *out = (float)v;
        return LF_OK;
    }
    case LF_NPY_UINT:
        if (u > (uint64_t)EXACT_INT_LIMIT) {
            element_name(where, sizeof where, k, h, rows, cols);
            return lf_fail(e, LF_ERR_FORMAT,
                           "element %s of '%s' (%llu) exceeds 2^24 in magnitude and would not be exact "
                           "as float32",
                           where, name, (unsigned long long)u);
        }
        *out = (float)u;
        return LF_OK;
    }
    return lf_fail(e, LF_ERR_FORMAT, "unsupported dtype in '%s'", name);
}

/* ------------------------------------------------------------- layout */

/* The prefix, the header and the dtype: L->h, L->dt and L->data_off. */
static lf_status parse_head(const unsigned char *head, size_t head_len, const char *name, lf_npy_layout *L,
                            lf_err *e) {
    if (head_len < LF_NPY_MAGIC_LEN + 2 || memcmp(head, LF_NPY_MAGIC, LF_NPY_MAGIC_LEN) != 0)
        return lf_fail(e, LF_ERR_FORMAT, "'%s' is not a .npy file (no \\x93NUMPY magic)", name);
    unsigned major = head[6], minor = head[7];
    if (minor != 0 || major < 1 || major > 3)
        return lf_fail(e, LF_ERR_FORMAT, "unsupported .npy version %u.%u in '%s' (1.0, 2.0, 3.0 known)",
                       major, minor, name);
    size_t prefix = major == 1 ? 10 : 12;
    if (head_len < prefix)
        return lf_fail(e, LF_ERR_FORMAT, "'%s' is truncated inside the .npy header length", name);
    size_t hlen = (size_t)lf_npy_load_uint(head + 8, prefix - 8, 0);
    if (hlen > LF_NPY_MAX_HEADER)
        return lf_fail(e, LF_ERR_FORMAT, "the .npy header of '%s' is %zu bytes, more than the %zu allowed",
                       name, hlen, LF_NPY_MAX_HEADER);
    if (hlen > head_len - prefix)
        return lf_fail(e, LF_ERR_FORMAT,
                       "the .npy header of '%s' claims %zu bytes but only %zu follow: header beyond the "
                       "end of the file",
                       name, hlen, head_len - prefix);

    hdr_cur cur = {(const char *)head + prefix, hlen, 0, name, e};
    lf_npy_header *h = &L->h;
    lf_status st = parse_header(&cur, h);
    if (st != LF_OK) return st;
    L->dt = (lf_npy_dtype){LF_NPY_FLOAT, 4, 0};
    L->data_off = prefix + hlen;
    return parse_dtype(h->descr, name, &L->dt, e);
}

/* The data (nbytes of them) must fill the rest of the file exactly. */
static lf_status check_data_size(const lf_npy_layout *L, uint64_t nbytes, uint64_t file_len, const char *name,
                                 lf_err *e) {
    uint64_t avail = file_len - L->data_off;
    if (avail < nbytes)
        return lf_fail(e, LF_ERR_FORMAT, "truncated data: expected %llu bytes, found %llu in '%s'",
                       (unsigned long long)nbytes, (unsigned long long)avail, name);
    if (avail > nbytes)
        return lf_fail(e, LF_ERR_FORMAT, "%llu trailing bytes after the data of '%s'",
                       (unsigned long long)(avail - nbytes), name);
    return LF_OK;
}

lf_status lf_npy_parse_layout(const unsigned char *head, size_t head_len, uint64_t file_len,
                              const char *name, lf_npy_layout *L, lf_err *e) {
    lf_status st = parse_head(head, head_len, name, L, e);
    if (st != LF_OK) return st;
    const lf_npy_header *h = &L->h;
    if (h->ndim == 0)
        return lf_fail(e, LF_ERR_FORMAT, "'%s' holds a 0-d array (a scalar); 1-D or 2-D expected", name);
    if (h->ndim > 2)
        return lf_fail(e, LF_ERR_FORMAT, "'%s' holds a %zu-d array; 1-D or 2-D expected", name, h->ndim);

    uint64_t d0 = h->dims[0], d1 = h->ndim == 2 ? h->dims[1] : 1;
    const uint64_t limit = (uint64_t)1 << 63;
    uint64_t count = 0, nbytes = 0;
    int fits = !(d1 != 0 && d0 > UINT64_MAX / d1);
    if (fits) {
        count = d0 * d1;
        fits = count <= limit / L->dt.size;
    }
    if (fits) {
        nbytes = count * L->dt.size;
        fits = nbytes <= (uint64_t)SIZE_MAX && count <= (uint64_t)SIZE_MAX / sizeof(float);
    }
    if (!fits) {
        if (h->ndim == 1)
            return lf_fail(e, LF_ERR_FORMAT, "the shape (%llu,) of '%s' is too large", (unsigned long long)d0,
                           name);
        return lf_fail(e, LF_ERR_FORMAT, "the shape (%llu, %llu) of '%s' is too large",
                       (unsigned long long)d0, (unsigned long long)d1, name);
    }
    st = check_data_size(L, nbytes, file_len, name, e);
    if (st != LF_OK) return st;
    L->rows = (size_t)d0, L->cols = (size_t)d1, L->count = (size_t)count;
    return LF_OK;
}

/* "(2, 3, 4)" or "(5,)" into buf, for messages. */
static void shape_text(const lf_npy_header *h, char *buf, size_t cap) {
    size_t len = (size_t)snprintf(buf, cap, "(");
    for (size_t k = 0; k < h->ndim && len < cap; k++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%llu", k ? ", " : "", (unsigned long long)h->dims[k]);
    if (len < cap) snprintf(buf + len, cap - len, h->ndim == 1 ? ",)" : ")");
}

lf_status lf_npy_parse_layout_nd(const unsigned char *head, size_t head_len, uint64_t file_len,
                                 const char *name, lf_npy_layout *L, lf_err *e) {
    lf_status st = parse_head(head, head_len, name, L, e);
    if (st != LF_OK) return st;
    const lf_npy_header *h = &L->h;
    if (h->ndim == 0)
        return lf_fail(e, LF_ERR_FORMAT, "'%s' holds a 0-d array (a scalar); 1-D to %d-D expected", name,
                       LF_NDARRAY_MAX_RANK);
    if (h->ndim > LF_NDARRAY_MAX_RANK)
        return lf_fail(e, LF_ERR_FORMAT, "'%s' holds a %zu-d array; 1-D to %d-D expected", name, h->ndim,
                       LF_NDARRAY_MAX_RANK);
    /* the element count, the count of one row (dimensions 1.., which a
     * 0 in the first does not make 0) and their bytes, in the file and as
     * float32 (the widest element the reader gives), must fit in size_t
     * and 2^63; so must the product of the non-zero dimensions (a 0 does
     * not make a shape like (2^33, 2^33, 0) safe to multiply out) */
    const uint64_t limit = (uint64_t)1 << 63;
    size_t wide = L->dt.size > sizeof(float) ? L->dt.size : sizeof(float);
    uint64_t row = 1, count = 0, nonzero = 1;
    int fits = 1;
    for (size_t k = 0; k < h->ndim && fits; k++) {
        uint64_t d = h->dims[k];
        fits = d == 0 || nonzero <= limit / wide / d;
        if (fits && d) nonzero *= d;
    }
    for (size_t k = 1; k < h->ndim && fits; k++) {
        uint64_t d = h->dims[k];
        fits = d == 0 || row <= limit / wide / d;
        if (fits) row *= d;
    }
    fits = fits && (row == 0 || h->dims[0] <= limit / wide / row);
    if (fits) {
        count = h->dims[0] * row;
        fits = count * wide <= (uint64_t)SIZE_MAX;
    }
    if (!fits) {
        char shape[160];
        shape_text(h, shape, sizeof shape);
        return lf_fail(e, LF_ERR_FORMAT, "the shape %s of '%s' is too large", shape, name);
    }
    st = check_data_size(L, count * L->dt.size, file_len, name, e);
    if (st != LF_OK) return st;
    L->rows = (size_t)h->dims[0], L->cols = (size_t)row, L->count = (size_t)count;
    return LF_OK;
}

lf_status lf_npy_convert_run(const unsigned char *src, const lf_npy_layout *L, float *out, size_t k0,
                             size_t n, const char *name, lf_err *e) {
    const lf_npy_dtype *dt = &L->dt;
    if (lf_npy_is_native_f32(dt)) {
        if (n) memcpy(out, src, n * sizeof *out);
        return LF_OK;
    }
    for (size_t k = 0; k < n; k++) {
        lf_status st = convert(src + k * dt->size, dt, &out[k], k0 + k, &L->h, L->rows, L->cols, name, e);
        if (st != LF_OK) return st;
    }
    return LF_OK;
}

lf_status lf_npy_convert_all(const unsigned char *src, const lf_npy_layout *L, float *out,
                             const char *name, lf_err *e) {
    if (!(L->h.fortran && L->h.ndim == 2)) return lf_npy_convert_run(src, L, out, 0, L->count, name, e);
    size_t rows = L->rows, cols = L->cols;
    lf_status st = LF_OK;
    for (size_t k = 0; k < L->count && st == LF_OK; k++)
        st = convert(src + k * L->dt.size, &L->dt, &out[(k % rows) * cols + k / rows], k, &L->h, rows, cols,
                     name, e);
    return st;
}
