/*
 * npy.c — reader and writers for numpy's .npy format (see npy.h), plus
 * lf_array_free (see array.h).
 *
 * The header is a Python dict literal; rather than trusting a general
 * evaluator it is parsed here by a small strict recursive-descent parser
 * that knows exactly the three keys numpy writes.  Every size read from the
 * file is checked against the bytes actually present before any allocation,
 * so a hostile header cannot make us allocate (or read) more than the file.
 */
#define _DEFAULT_SOURCE /* madvise's MADV_* (Linux, the BSDs) */
#include "io/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_MAX_HEADER ((size_t)1 << 20) /* numpy's default is 10000 bytes */
#define NPY_ALIGN 64
#define EXACT_INT_LIMIT 16777216.0 /* 2^24: float32 holds every integer up to this */

/* ------------------------------------------------------------ lf_array */

void lf_array_free(lf_array *a) {
    if (!a) return;
    LF_FREE(a->data);
    memset(a, 0, sizeof *a);
}

/* ------------------------------------------------------- header parsing */

typedef struct hdr_cur {
    const char *s;    /* header text (not NUL-terminated) */
    size_t n, i;      /* length, position */
    const char *name; /* for messages */
    lf_err *e;
} hdr_cur;

typedef struct npy_header {
    char descr[64];
    int have_descr, have_fortran, have_shape;
    int fortran;
    size_t ndim;
    uint64_t dims[2]; /* the first two dimensions */
} npy_header;

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

static lf_status parse_descr(hdr_cur *c, npy_header *h) {
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
static lf_status parse_shape(hdr_cur *c, npy_header *h) {
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
        if (h->ndim < 2) h->dims[h->ndim] = d;
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

static lf_status parse_header(hdr_cur *c, npy_header *h) {
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

typedef enum { K_FLOAT, K_INT, K_UINT, K_BOOL } npy_kind;

typedef struct npy_dtype {
    npy_kind kind;
    size_t size;   /* bytes per element */
    int big;       /* stored big-endian */
} npy_dtype;

static int host_is_big(void) {
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 0;
}

static lf_status parse_dtype(const char *descr, const char *name, npy_dtype *dt, lf_err *e) {
    if (strlen(descr) == 3 && strchr("<>=|", descr[0]) && descr[2] >= '1' && descr[2] <= '8') {
        char order = descr[0], kind = descr[1];
        size_t size = (size_t)(descr[2] - '0');
        int any4 = size == 1 || size == 2 || size == 4 || size == 8;
        int ok = 0;
        if (kind == 'f') {
            ok = size == 2 || size == 4 || size == 8;
            dt->kind = K_FLOAT;
        } else if (kind == 'i' || kind == 'u') {
            ok = any4;
            dt->kind = kind == 'i' ? K_INT : K_UINT;
        } else if (kind == 'b') {
            ok = size == 1;
            dt->kind = K_BOOL;
        }
        if (order == '|' && size != 1) ok = 0; /* byte order is required for wider types */
        if (ok) {
            dt->size = size;
            dt->big = order == '>' || (order == '=' && host_is_big());
            return LF_OK;
        }
    }
    return lf_fail(e, LF_ERR_FORMAT, "unsupported dtype '%s' in '%s'", descr, name);
}

static uint64_t load_uint(const unsigned char *p, size_t size, int big) {
    uint64_t v = 0;
    for (size_t k = 0; k < size; k++) {
        size_t idx = big ? k : size - 1 - k;
        v = (v << 8) | p[idx];
    }
    return v;
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
static void element_name(char *buf, size_t cap, size_t k, const npy_header *h, size_t rows,
                         size_t cols) {
    if (h->ndim == 1) snprintf(buf, cap, "[%zu]", k);
    else if (h->fortran) snprintf(buf, cap, "[%zu, %zu]", k % rows, k / rows);
    else snprintf(buf, cap, "[%zu, %zu]", k / cols, k % cols);
}

/* Converts one element; fails for integers beyond 2^24, invalid bools and
 * float64 values beyond the float32 range. */
static lf_status convert(const unsigned char *p, const npy_dtype *dt, float *out, size_t k,
                         const npy_header *h, size_t rows, size_t cols, const char *name, lf_err *e) {
    uint64_t u = load_uint(p, dt->size, dt->big);
    char where[64];
    switch (dt->kind) {
    case K_FLOAT:
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
    case K_BOOL:
        if (u > 1) {
            element_name(where, sizeof where, k, h, rows, cols);
            return lf_fail(e, LF_ERR_FORMAT, "element %s of '%s' is not a valid bool (byte %u)", where,
                           name, (unsigned)u);
        }
        *out = (float)u;
        return LF_OK;
    case K_INT: {
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
    case K_UINT:
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

/* ------------------------------------------------------------- reader */

/* What the header and the file size say: dtype, shape, where the data
 * start.  `head` holds the first head_len bytes of a file of file_len bytes
 * (the whole file for lf_npy_parse, its beginning for the streaming
 * reader); the data must fill the rest of the file exactly. */
typedef struct npy_layout {
    npy_header h;
    npy_dtype dt;
    size_t rows, cols, count, data_off;
} npy_layout;

static lf_status parse_layout(const unsigned char *head, size_t head_len, uint64_t file_len,
                              const char *name, npy_layout *L, lf_err *e) {
    if (head_len < NPY_MAGIC_LEN + 2 || memcmp(head, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return lf_fail(e, LF_ERR_FORMAT, "'%s' is not a .npy file (no \\x93NUMPY magic)", name);
    unsigned major = head[6], minor = head[7];
    if (minor != 0 || major < 1 || major > 3)
        return lf_fail(e, LF_ERR_FORMAT, "unsupported .npy version %u.%u in '%s' (1.0, 2.0, 3.0 known)",
                       major, minor, name);
    size_t prefix = major == 1 ? 10 : 12;
    if (head_len < prefix)
        return lf_fail(e, LF_ERR_FORMAT, "'%s' is truncated inside the .npy header length", name);
    size_t hlen = (size_t)load_uint(head + 8, prefix - 8, 0);
    if (hlen > NPY_MAX_HEADER)
        return lf_fail(e, LF_ERR_FORMAT, "the .npy header of '%s' is %zu bytes, more than the %zu allowed",
                       name, hlen, NPY_MAX_HEADER);
    if (hlen > head_len - prefix)
        return lf_fail(e, LF_ERR_FORMAT,
                       "the .npy header of '%s' claims %zu bytes but only %zu follow: header beyond the "
                       "end of the file",
                       name, hlen, head_len - prefix);

    hdr_cur cur = {(const char *)head + prefix, hlen, 0, name, e};
    npy_header *h = &L->h;
    lf_status st = parse_header(&cur, h);
    if (st != LF_OK) return st;
    L->dt = (npy_dtype){K_FLOAT, 4, 0};
    st = parse_dtype(h->descr, name, &L->dt, e);
    if (st != LF_OK) return st;
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
    size_t data_off = prefix + hlen;
    uint64_t avail = file_len - data_off;
    if (avail < nbytes)
        return lf_fail(e, LF_ERR_FORMAT, "truncated data: expected %llu bytes, found %llu in '%s'",
                       (unsigned long long)nbytes, (unsigned long long)avail, name);
    if (avail > nbytes)
        return lf_fail(e, LF_ERR_FORMAT, "%llu trailing bytes after the data of '%s'",
                       (unsigned long long)(avail - nbytes), name);
    L->rows = (size_t)d0, L->cols = (size_t)d1, L->count = (size_t)count, L->data_off = data_off;
    return LF_OK;
}

/* Converts elements k0..k0+n-1 (file order) from src into out; a float32
 * of the host's byte order is copied as it is. */
static lf_status convert_run(const unsigned char *src, const npy_layout *L, float *out, size_t k0,
                             size_t n, const char *name, lf_err *e) {
    const npy_dtype *dt = &L->dt;
    if (dt->kind == K_FLOAT && dt->size == 4 && dt->big == host_is_big()) {
        if (n) memcpy(out, src, n * sizeof *out);
        return LF_OK;
    }
    for (size_t k = 0; k < n; k++) {
        lf_status st = convert(src + k * dt->size, dt, &out[k], k0 + k, &L->h, L->rows, L->cols, name, e);
        if (st != LF_OK) return st;
    }
    return LF_OK;
}

lf_status lf_npy_parse(const unsigned char *buf, size_t len, const char *name_for_messages,
                       lf_array *out, lf_err *e) {
    const char *name = name_for_messages ? name_for_messages : "<memory>";
    if (!out) return lf_fail(e, LF_ERR_ARG, "no output array for '%s'", name);
    memset(out, 0, sizeof *out);
    if (!buf && len) return lf_fail(e, LF_ERR_ARG, "no buffer for '%s'", name);
    npy_layout L;
    lf_status st = parse_layout(buf, len, len, name, &L, e);
    if (st != LF_OK) return st;
    size_t rows = L.rows, cols = L.cols, n = L.count, bytes = n * sizeof(float);
    float *data = LF_MALLOC(bytes ? bytes : 1);
    if (!data) return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s' (%zu floats)", name, n);
    const unsigned char *src = buf + L.data_off;
    if (L.h.fortran && L.h.ndim == 2) {
        for (size_t k = 0; k < n && st == LF_OK; k++)
            st = convert(src + k * L.dt.size, &L.dt, &data[(k % rows) * cols + k / rows], k, &L.h, rows,
                         cols, name, e);
    } else {
        st = convert_run(src, &L, data, 0, n, name, e);
    }
    if (st != LF_OK) {
        LF_FREE(data);
        return st;
    }
    out->data = data;
    out->rows = rows;
    out->cols = cols;
    out->is_integer = L.dt.kind != K_FLOAT;
    return LF_OK;
}

/* ---------------------------------------------------- streaming reader */

struct lf_npy_reader_impl {
    npy_layout L;
    int fd;
    char *path;
    unsigned char *raw; /* conversion buffer (non-native dtypes) */
    size_t raw_cap;
    float *out;         /* lf_npy_reader_next's buffer when not mapped */
    size_t out_cap;     /* in floats */
    size_t next;        /* rows read so far */
    const unsigned char *map; /* the whole file, read only, or NULL */
    size_t map_len;
    size_t released;    /* bytes at the start of map dropped (page multiple) */
    size_t page;
};

/* reads exactly n bytes (short reads continue); 0 at a premature end */
static lf_status read_full(int fd, void *buf, size_t n, const char *path, lf_err *e) {
    unsigned char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return lf_fail(e, LF_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
        if (r == 0) return lf_fail(e, LF_ERR_IO, "cannot read '%s': it became shorter while being read", path);
        p += r, n -= (size_t)r;
    }
    return LF_OK;
}

lf_status lf_npy_reader_open(lf_npy_reader *rd, const char *path, lf_err *e) {
    return lf_npy_reader_open_flags(rd, path, 0, e);
}

/* Maps a native float32 file whole (best effort: 0 leaves the reader on
 * read()). */
static void try_map(struct lf_npy_reader_impl *r, uint64_t file_len) {
    const npy_layout *L = &r->L;
    if (!(L->dt.kind == K_FLOAT && L->dt.size == 4 && L->dt.big == host_is_big())) return;
    if (L->count == 0 || L->data_off % sizeof(float) != 0 || file_len > (uint64_t)SIZE_MAX) return;
    long pg = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)file_len;
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, r->fd, 0);
    if (m == MAP_FAILED) return;
#ifdef MADV_SEQUENTIAL
    (void)madvise(m, len, MADV_SEQUENTIAL);
#endif
    r->map = m, r->map_len = len, r->page = pg > 0 ? (size_t)pg : 4096;
}

lf_status lf_npy_reader_open_flags(lf_npy_reader *rd, const char *path, unsigned flags, lf_err *e) {
    memset(rd, 0, sizeof *rd);
    const unsigned known = LF_NPY_NO_MMAP | LF_NPY_ANY_ORDER;
    if (flags & ~known)
        return lf_fail(e, LF_ERR_ARG, "unknown reader flags 0x%x for '%s'", flags & ~known, path ? path : "");
    if (!path || !*path) return lf_fail(e, LF_ERR_ARG, "empty input path");
    struct lf_npy_reader_impl *r = LF_CALLOC(1, sizeof *r);
    size_t plen = strlen(path) + 1;
    char *pcopy = LF_MALLOC(plen);
    if (!r || !pcopy) {
        LF_FREE(r), LF_FREE(pcopy);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory opening '%s'", path);
    }
    memcpy(pcopy, path, plen);
    r->path = pcopy;
    struct stat sb;
    lf_status ost = lf_io_open(path, &r->fd, &sb, e);
    if (ost != LF_OK) {
        LF_FREE(r->path), LF_FREE(r);
        return ost;
    }
    rd->impl = r;
    if (!S_ISREG(sb.st_mode)) { /* a pipe: rows cannot be read by position */
        lf_npy_reader_close(rd);
        return lf_fail(e, LF_ERR_IO, "cannot read '%s': it is a pipe or FIFO; .npy inputs must be regular files",
                       path);
    }
    uint64_t file_len = (uint64_t)sb.st_size;
    /* the header: the 12-byte prefix tells its length */
    unsigned char pre[12];
    size_t want = file_len < sizeof pre ? (size_t)file_len : sizeof pre;
    lf_status st = read_full(r->fd, pre, want, path, e);
    size_t hl = 0;
    if (st == LF_OK && want >= 10 && memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) == 0)
        hl = (pre[6] == 1 ? 10 : 12) + (size_t)load_uint(pre + 8, pre[6] == 1 ? 2 : 4, 0);
    size_t head_len = hl > want && hl - want <= NPY_MAX_HEADER + 12 && hl <= file_len ? hl : want;
    unsigned char *head = st == LF_OK ? LF_MALLOC(head_len ? head_len : 1) : NULL;
    if (st == LF_OK && !head) st = lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", path);
    if (st == LF_OK) {
        memcpy(head, pre, want);
        st = read_full(r->fd, head + want, head_len - want, path, e);
    }
    if (st == LF_OK) st = parse_layout(head, head_len, file_len, path, &r->L, e);
    LF_FREE(head);
    rd->fortran = r->L.h.fortran && r->L.h.ndim == 2 && r->L.cols > 1;
    if (st == LF_OK && rd->fortran && !(flags & LF_NPY_ANY_ORDER))
        st = lf_fail(e, LF_ERR_ARG, "'%s' is in Fortran order: it cannot be read row by row", path);
    if (st != LF_OK) {
        lf_npy_reader_close(rd);
        return st;
    }
    /* the file position is now at the data (the header was read whole) */
    rd->rows = r->L.rows, rd->cols = r->L.cols;
    rd->is_integer = r->L.dt.kind != K_FLOAT;
    if (!(flags & LF_NPY_NO_MMAP) && !rd->fortran) try_map(r, file_len);
    rd->mapped = r->map != NULL;
    return LF_OK;
}

/* Mapped reads: the bytes [off, off + n) of the file, after checking that
 * the file still holds them; the pages before off are dropped from the
 * process (not from the page cache) and the next n bytes are asked for. */
/* A mapped file must still hold the whole mapping before its pages are
 * touched (a shorter file would raise SIGBUS). */
static lf_status check_map_size(const struct lf_npy_reader_impl *r, lf_err *e) {
    struct stat sb;
    if (fstat(r->fd, &sb) != 0)
        return lf_fail(e, LF_ERR_IO, "cannot read '%s': %s", r->path, strerror(errno));
    if (sb.st_size < 0 || (uint64_t)sb.st_size < (uint64_t)r->map_len)
        return lf_fail(e, LF_ERR_IO, "cannot read '%s': it became shorter while being read", r->path);
    return LF_OK;
}

/* Asks for the n bytes of the mapping that follow [off, off + n). */
static void map_ahead(const struct lf_npy_reader_impl *r, size_t off, size_t n) {
#ifdef MADV_WILLNEED
    size_t ahead = (off + n) / r->page * r->page;
    if (ahead < r->map_len) {
        size_t len = r->map_len - ahead < n ? r->map_len - ahead : n;
        (void)madvise((void *)(uintptr_t)(r->map + ahead), len, MADV_WILLNEED);
    }
#else
    (void)r, (void)off, (void)n;
#endif
}

static lf_status map_span(struct lf_npy_reader_impl *r, size_t off, size_t n, const unsigned char **p,
                          lf_err *e) {
    lf_status st = check_map_size(r, e);
    if (st != LF_OK) return st;
#ifdef MADV_DONTNEED
    size_t drop = off / r->page * r->page;
    if (drop >= r->released + ((size_t)1 << 20)) { /* every 1 MiB */
        (void)madvise((void *)(uintptr_t)(r->map + r->released), drop - r->released, MADV_DONTNEED);
        r->released = drop;
    }
#endif
    map_ahead(r, off, n);
    *p = r->map + off;
    return LF_OK;
}

static lf_status check_request(struct lf_npy_reader_impl *r, size_t nrows, lf_err *e) {
    if (r->L.h.fortran && r->L.h.ndim == 2 && r->L.cols > 1)
        return lf_fail(e, LF_ERR_ARG, "'%s' is in Fortran order: it cannot be read row by row", r->path);
    if (nrows > r->L.rows - r->next)
        return lf_fail(e, LF_ERR_SHAPE, "'%s' has %zu rows, %zu asked from row %zu", r->path, r->L.rows,
                       nrows, r->next);
    return LF_OK;
}

lf_status lf_npy_reader_rows(lf_npy_reader *rd, float *dst, size_t nrows, lf_err *e) {
    struct lf_npy_reader_impl *r = rd->impl;
    if (!r) return lf_fail(e, LF_ERR_STATE, "the .npy reader is closed");
    lf_status st = check_request(r, nrows, e);
    if (st != LF_OK) return st;
    size_t n = nrows * r->L.cols, bytes = n * r->L.dt.size;
    int native = r->L.dt.kind == K_FLOAT && r->L.dt.size == 4 && r->L.dt.big == host_is_big();
    if (r->map) {
        const unsigned char *src;
        st = map_span(r, r->L.data_off + r->next * r->L.cols * sizeof(float), bytes, &src, e);
        if (st == LF_OK && bytes) memcpy(dst, src, bytes);
    } else if (native) {
        st = read_full(r->fd, dst, bytes, r->path, e);
    } else {
        if (r->raw_cap < bytes) {
            unsigned char *nb = LF_REALLOC(r->raw, bytes);
            if (!nb) return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", r->path);
            r->raw = nb, r->raw_cap = bytes;
        }
        st = read_full(r->fd, r->raw, bytes, r->path, e);
        if (st == LF_OK) st = convert_run(r->raw, &r->L, dst, r->next * r->L.cols, n, r->path, e);
    }
    if (st == LF_OK) r->next += nrows;
    return st;
}

lf_status lf_npy_reader_next(lf_npy_reader *rd, size_t nrows, const float **rows, lf_err *e) {
    struct lf_npy_reader_impl *r = rd ? rd->impl : NULL;
    if (rows) *rows = NULL;
    if (!r) return lf_fail(e, LF_ERR_STATE, "the .npy reader is closed");
    if (!rows) return lf_fail(e, LF_ERR_ARG, "no place for the rows of '%s'", r->path);
    lf_status st = check_request(r, nrows, e);
    if (st != LF_OK) return st;
    size_t n = nrows * r->L.cols;
    if (r->map) {
        const unsigned char *src;
        st = map_span(r, r->L.data_off + r->next * r->L.cols * sizeof(float), n * sizeof(float), &src, e);
        if (st != LF_OK) return st;
        *rows = (const float *)(const void *)src; /* data_off % 4 == 0: aligned */
        r->next += nrows;
        return LF_OK;
    }
    if (r->out_cap < n || !r->out) {
        float *nb = LF_REALLOC(r->out, (n ? n : 1) * sizeof *nb);
        if (!nb) return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", r->path);
        r->out = nb, r->out_cap = n ? n : 1;
    }
    st = lf_npy_reader_rows(rd, r->out, nrows, e);
    if (st == LF_OK) *rows = r->out;
    return st;
}

/* pread()s exactly n bytes at off (short reads continue) */
static lf_status pread_full(int fd, void *buf, size_t n, uint64_t off, const char *path, lf_err *e) {
    unsigned char *p = buf;
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return lf_fail(e, LF_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
        if (r == 0) return lf_fail(e, LF_ERR_IO, "cannot read '%s': it became shorter while being read", path);
        p += r, n -= (size_t)r, off += (uint64_t)r;
    }
    return LF_OK;
}

lf_status lf_npy_reader_at(const lf_npy_reader *rd, size_t row0, size_t nrows, lf_npy_buf *buf,
                           const float **rows, lf_err *e) {
    const struct lf_npy_reader_impl *r = rd ? rd->impl : NULL;
    if (rows) *rows = NULL;
    if (!r) return lf_fail(e, LF_ERR_STATE, "the .npy reader is closed");
    if (!rows || !buf) return lf_fail(e, LF_ERR_ARG, "no place for the rows of '%s'", r->path);
    if (row0 > r->L.rows || nrows > r->L.rows - row0)
        return lf_fail(e, LF_ERR_SHAPE, "'%s' has %zu rows, %zu asked from row %zu", r->path, r->L.rows,
                       nrows, row0);
    const npy_layout *L = &r->L;
    if (rd->fortran) return lf_fail(e, LF_ERR_ARG, "'%s' is in Fortran order: it cannot be read row by row", r->path);
    size_t n = nrows * L->cols, k0 = row0 * L->cols; /* within the data: checked at open */
    lf_status st;
    if (r->map) {
        st = check_map_size(r, e);
        if (st != LF_OK) return st;
        size_t off = L->data_off + k0 * sizeof(float);
        map_ahead(r, off, n * sizeof(float));
        *rows = (const float *)(const void *)(r->map + off); /* data_off % 4 == 0: aligned */
        return LF_OK;
    }
    if (buf->out_cap < n || !buf->out) {
        float *nb = LF_REALLOC(buf->out, (n ? n : 1) * sizeof *nb);
        if (!nb) return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", r->path);
        buf->out = nb, buf->out_cap = n ? n : 1;
    }
    size_t bytes = n * L->dt.size;
    uint64_t off = (uint64_t)L->data_off + (uint64_t)k0 * L->dt.size;
    if (L->dt.kind == K_FLOAT && L->dt.size == 4 && L->dt.big == host_is_big()) {
        st = pread_full(r->fd, buf->out, bytes, off, r->path, e);
    } else {
        if (buf->raw_cap < bytes || !buf->raw) {
            unsigned char *nb = LF_REALLOC(buf->raw, bytes ? bytes : 1);
            if (!nb) return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", r->path);
            buf->raw = nb, buf->raw_cap = bytes ? bytes : 1;
        }
        st = pread_full(r->fd, buf->raw, bytes, off, r->path, e);
        if (st == LF_OK) st = convert_run(buf->raw, L, buf->out, k0, n, r->path, e);
    }
    if (st == LF_OK) *rows = buf->out;
    return st;
}

void lf_npy_reader_release(const lf_npy_reader *rd, size_t row0, size_t nrows) {
#ifdef MADV_DONTNEED
    const struct lf_npy_reader_impl *r = rd ? rd->impl : NULL;
    if (!r || !r->map || row0 > r->L.rows || nrows > r->L.rows - row0) return;
    size_t row_bytes = r->L.cols * sizeof(float);
    size_t a = row0 ? (r->L.data_off + row0 * row_bytes) / r->page * r->page : 0;
    size_t b = row0 + nrows == r->L.rows ? r->map_len
                                          : (r->L.data_off + (row0 + nrows) * row_bytes) / r->page * r->page;
    if (b > a) (void)madvise((void *)(uintptr_t)(r->map + a), b - a, MADV_DONTNEED);
#else
    (void)rd, (void)row0, (void)nrows;
#endif
}

void lf_npy_buf_free(lf_npy_buf *b) {
    if (!b) return;
    LF_FREE(b->out);
    LF_FREE(b->raw);
    memset(b, 0, sizeof *b);
}

void lf_npy_reader_close(lf_npy_reader *rd) {
    struct lf_npy_reader_impl *r = rd ? rd->impl : NULL;
    if (r) {
        if (r->map) munmap((void *)(uintptr_t)r->map, r->map_len);
        if (r->fd >= 0) close(r->fd);
        LF_FREE(r->raw);
        LF_FREE(r->out);
        LF_FREE(r->path);
        LF_FREE(r);
    }
    if (rd) memset(rd, 0, sizeof *rd);
}

lf_status lf_npy_reader_load(lf_npy_reader *rd, lf_array *out, lf_err *e) {
    struct lf_npy_reader_impl *r = rd ? rd->impl : NULL;
    if (out) memset(out, 0, sizeof *out);
    if (!r) return lf_fail(e, LF_ERR_STATE, "the .npy reader is closed");
    struct stat sb;
    if (fstat(r->fd, &sb) != 0) return lf_fail(e, LF_ERR_IO, "cannot read '%s': %s", r->path, strerror(errno));
    if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX - 1)
        return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", r->path);
    size_t len = (size_t)sb.st_size;
    unsigned char *buf = LF_MALLOC(len ? len : 1);
    if (!buf) return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", r->path);
    lf_status st = pread_full(r->fd, buf, len, 0, r->path, e);
    if (st == LF_OK) st = lf_npy_parse(buf, len, r->path, out, e);
    LF_FREE(buf);
    return st;
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

/* ------------------------------------------------------------- writers */

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
    memcpy(buf, NPY_MAGIC, NPY_MAGIC_LEN);
    buf[6] = 1;
    buf[7] = 0;
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, dict, dlen);
    memset(buf + 10 + dlen, ' ', hlen - dlen - 1);
    buf[total - 1] = '\n';
    return total;
}

lf_status lf_npy_writer_open(lf_npy_writer *w, const char *path, size_t rows, size_t cols,
                             lf_err *e) {
    return lf_npy_writer_open_flags(w, path, rows, cols, 0, e);
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
    lf_status st = lf_atomic_open_flags(&w->af, path, flags, e);
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

lf_status lf_npy_writer_open_flags(lf_npy_writer *w, const char *path, size_t rows, size_t cols,
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
    if (!host_is_big()) /* '<f4' and '<i8' are the host's own layout */
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

lf_status lf_npy_write(const char *path, const float *data, size_t rows, size_t cols, lf_err *e) {
    return lf_npy_write_flags(path, data, rows, cols, 0, e);
}

lf_status lf_npy_write_flags(const char *path, const float *data, size_t rows, size_t cols,
                             unsigned flags, lf_err *e) {
    lf_npy_writer w;
    lf_status st = lf_npy_writer_open_flags(&w, path, rows, cols, flags, e);
    if (st != LF_OK) return st;
    st = lf_npy_writer_rows(&w, data, rows, e);
    if (st != LF_OK) {
        lf_npy_writer_abort(&w);
        return st;
    }
    return lf_npy_writer_commit(&w, e);
}

lf_status lf_npy_write_1d(const char *path, const int64_t *data, size_t n, lf_err *e) {
    return lf_npy_write_1d_flags(path, data, n, 0, e);
}

lf_status lf_npy_write_1d_flags(const char *path, const int64_t *data, size_t n, unsigned flags,
                                lf_err *e) {
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
