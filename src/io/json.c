/*
 * json.c — strict, bounded JSON parser (RFC 8259) and writer helpers.
 *
 * The parser is iterative: containers being read sit on a fixed stack of
 * LF_JSON_MAX_DEPTH frames, and the finished items of every open container
 * wait on one shared "pending" vector until their container closes, when
 * they are copied into the tree.  All nodes, strings and item arrays come
 * from one arena, so freeing a document is freeing a short chunk list.
 * Numbers are converted under a thread-local "C" locale (uselocale), which
 * keeps glibc's correctly rounded strtod while ignoring LC_NUMERIC.
 * See json.h for the contract.
 */
#include "io/json.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------- arena */

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
} chunk;

#define ARENA_ALIGN 16u
#define CHUNK_HDR ((sizeof(chunk) + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN)

typedef struct arena {
    chunk *head;
    size_t next_cap;
} arena;

static void *arena_alloc(arena *a, size_t n) {
    if (n > SIZE_MAX - ARENA_ALIGN - CHUNK_HDR) return NULL;
    n = (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    if (n == 0) n = ARENA_ALIGN;
    chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = a->next_cap ? a->next_cap : 4096;
        if (cap < n) cap = n;
        c = LF_MALLOC(CHUNK_HDR + cap);
        if (!c) return NULL;
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
        if (a->next_cap < ((size_t)1 << 20)) a->next_cap = a->next_cap ? a->next_cap * 2 : 8192;
    }
    void *p = (char *)c + CHUNK_HDR + c->used;
    c->used += n;
    return p;
}

static void arena_release(chunk *c) {
    while (c) {
        chunk *next = c->next;
        LF_FREE(c);
        c = next;
    }
}

/* ------------------------------------------------------ C-locale numbers */

/* The "C" numeric locale, obtained once per parse or write (lazily). */
typedef struct cloc {
    locale_t loc;
    int tried;
} cloc;

static int cloc_get(cloc *c) {
    if (!c->tried) {
        c->tried = 1;
        c->loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    }
    return c->loc != (locale_t)0;
}

static void cloc_release(cloc *c) {
    if (c->loc != (locale_t)0) freelocale(c->loc);
    c->loc = (locale_t)0;
}

/* strtod under locale `loc`; returns 1 if the whole string was consumed. */
static int strtod_in(locale_t loc, const char *s, double *out) {
    locale_t old = uselocale(loc);
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    int saved = errno;
    uselocale(old);
    errno = saved;
    *out = v;
    return end != s && *end == '\0';
}

int lf_strtod_c(const char *s, double *out) {
    cloc c = {0};
    *out = 0;
    if (!s || !cloc_get(&c)) return 0;
    int ok = strtod_in(c.loc, s, out);
    int saved = errno;
    cloc_release(&c);
    errno = saved;
    if (!ok) *out = 0;
    return ok;
}

/* ------------------------------------------------------------- UTF-8 */

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3;
    else if (c >= 0xF0 && c <= 0xF4) len = 4;
    else return 0; /* continuation byte, overlong lead C0/C1, or > U+10FFFF */
    if (c == 0xE0) lo = 0xA0;      /* no overlong 3-byte forms      */
    else if (c == 0xED) hi = 0x9F; /* no UTF-16 surrogates          */
    else if (c == 0xF0) lo = 0x90; /* no overlong 4-byte forms      */
    else if (c == 0xF4) hi = 0x8F; /* nothing above U+10FFFF        */
    if (n < len) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
}

size_t lf_utf8_len(const char *s, size_t n) { return utf8_seq((const unsigned char *)s, n); }

int lf_utf8_valid(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(u + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

static size_t utf8_put(char *d, uint32_t cp) {
    if (cp < 0x80) {
        d[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        d[0] = (char)(0xC0 | (cp >> 6));
        d[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        d[0] = (char)(0xE0 | (cp >> 12));
        d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        d[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (cp >> 18));
    d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ------------------------------------------------------------- parser */

typedef struct frame {
    lf_json *node;   /* the open container                               */
    size_t first;    /* index of its first finished item in `pend`       */
    const char *key; /* object: key of the member being read, else NULL  */
    size_t key_off;
} frame;

typedef struct parser {
    const char *s;
    size_t len, pos;
    arena ar;
    lf_json **pend;
    size_t npend, cappend;
    frame stack[LF_JSON_MAX_DEPTH];
    size_t depth;
    cloc cl;
    lf_err *e;
} parser;

static lf_status nomem(parser *p) {
    return lf_fail(p->e, LF_ERR_NOMEM, "out of memory parsing JSON at byte %zu", p->pos);
}

/* Describes the byte at p->pos (or the end) for an error message. */
static lf_status unexpected(parser *p, const char *what) {
    if (p->pos >= p->len)
        return lf_fail(p->e, LF_ERR_FORMAT, "unexpected end of JSON input%s%s at byte %zu",
                       what ? ", " : "", what ? what : "", p->pos);
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c > 0x20 && c < 0x7F)
        return lf_fail(p->e, LF_ERR_FORMAT, "unexpected character '%c'%s%s at byte %zu", c,
                       what ? ", " : "", what ? what : "", p->pos);
    return lf_fail(p->e, LF_ERR_FORMAT, "unexpected byte 0x%02x%s%s at byte %zu", c,
                   what ? ", " : "", what ? what : "", p->pos);
}

static void skip_ws(parser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

/* Writes a key into buf for a message: printable ASCII kept, other bytes
 * as \xNN, cut at ~60 characters with "...". */
static void key_for_msg(char *buf, size_t cap, const char *k) {
    size_t o = 0;
    for (const unsigned char *u = (const unsigned char *)k; *u; u++) {
        if (o + 8 >= cap || o > 60) {
            memcpy(buf + o, "...", 4);
            return;
        }
        if (*u >= 0x20 && *u < 0x7F && *u != '\\') buf[o++] = (char)*u;
        else o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", *u);
    }
    buf[o] = '\0';
}

static lf_json *new_node(parser *p, lf_json_type t) {
    lf_json *j = arena_alloc(&p->ar, sizeof *j);
    if (!j) return NULL;
    memset(j, 0, sizeof *j);
    j->type = t;
    j->offset = p->pos;
    if (p->depth > 0) {
        frame *f = &p->stack[p->depth - 1];
        if (f->node->type == LF_JSON_OBJECT) {
            j->key = f->key;
            j->key_offset = f->key_off;
        }
    }
    return j;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads 4 hex digits at s[i..i+4) (i+4 <= end checked by the caller). */
static long hex4(const char *s) {
    long v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(s[k]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Parses the string at p->pos (which is '"'), leaving pos after it. */
static lf_status parse_string(parser *p, const char **out, size_t *out_len) {
    const char *s = p->s;
    size_t start = p->pos, i = start + 1, end;
    /* pass 1: find the closing quote */
    for (;;) {
        if (i >= p->len)
            return lf_fail(p->e, LF_ERR_FORMAT, "unterminated string starting at byte %zu", start);
        if (s[i] == '"') break;
        i += s[i] == '\\' ? 2 : 1;
    }
    end = i;
    /* every escape decodes to at most its own length: raw length bounds it */
    char *d = arena_alloc(&p->ar, end - start);
    if (!d) return nomem(p);
    size_t o = 0;
    i = start + 1;
    while (i < end) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20)
            return lf_fail(p->e, LF_ERR_FORMAT,
                           "unescaped control character 0x%02x in string at byte %zu", c, i);
        if (c >= 0x80) {
            size_t k = utf8_seq((const unsigned char *)s + i, end - i);
            if (!k) return lf_fail(p->e, LF_ERR_FORMAT, "invalid UTF-8 in string at byte %zu", i);
            memcpy(d + o, s + i, k);
            o += k;
            i += k;
            continue;
        }
        if (c != '\\') {
            d[o++] = (char)c;
            i++;
            continue;
        }
        char x = s[i + 1];
        switch (x) {
        case '"': d[o++] = '"'; break;
        case '\\': d[o++] = '\\'; break;
        case '/': d[o++] = '/'; break;
        case 'b': d[o++] = '\b'; break;
        case 'f': d[o++] = '\f'; break;
        case 'n': d[o++] = '\n'; break;
        case 'r': d[o++] = '\r'; break;
        case 't': d[o++] = '\t'; break;
        case 'u': {
            long cp = end - i >= 6 ? hex4(s + i + 2) : -1;
            if (cp < 0)
                return lf_fail(p->e, LF_ERR_FORMAT, "invalid \\u escape in string at byte %zu", i);
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return lf_fail(p->e, LF_ERR_FORMAT,
                               "unpaired surrogate \\u%04lX in string at byte %zu", cp, i);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                long lo = (end - i >= 12 && s[i + 6] == '\\' && s[i + 7] == 'u') ? hex4(s + i + 8) : -1;
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return lf_fail(p->e, LF_ERR_FORMAT,
                                   "unpaired surrogate \\u%04lX in string at byte %zu", cp, i);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            if (cp == 0)
                return lf_fail(p->e, LF_ERR_FORMAT,
                               "\\u0000 (NUL) in string is not supported at byte %zu", i);
            o += utf8_put(d + o, (uint32_t)cp);
            i += 6;
            continue;
        }
        default:
            return lf_fail(p->e, LF_ERR_FORMAT, "invalid escape '\\%c' in string at byte %zu",
                           (x > 0x20 && x < 0x7F) ? x : '?', i);
        }
        i += 2;
    }
    d[o] = '\0';
    *out = d;
    *out_len = o;
    p->pos = end + 1;
    return LF_OK;
}

static lf_status parse_number(parser *p, lf_json *j) {
    const char *s = p->s;
    size_t start = p->pos, i = start;
    int neg = 0, integral = 1;
    if (s[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= p->len || s[i] < '0' || s[i] > '9') {
        p->pos = i;
        return unexpected(p, "expected a digit in number");
    }
    if (s[i] == '0') {
        i++;
        if (i < p->len && s[i] >= '0' && s[i] <= '9')
            return lf_fail(p->e, LF_ERR_FORMAT, "number with a leading zero at byte %zu", start);
    } else {
        while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
    }
    size_t int_end = i;
    if (i < p->len && s[i] == '.') {
        integral = 0;
        i++;
        if (i >= p->len || s[i] < '0' || s[i] > '9') {
            p->pos = i;
            return unexpected(p, "expected a digit after '.'");
        }
        while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
        integral = 0;
        i++;
        if (i < p->len && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= p->len || s[i] < '0' || s[i] > '9') {
            p->pos = i;
            return unexpected(p, "expected a digit in exponent");
        }
        while (i < p->len && s[i] >= '0' && s[i] <= '9') i++;
    }
    size_t n = i - start;
    if (integral) {
        /* exact int64 when it fits */
        uint64_t mag = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        int fits = 1;
        for (size_t k = start + (size_t)neg; k < int_end; k++) {
            unsigned dgt = (unsigned)(s[k] - '0');
            if (mag > (lim - dgt) / 10) {
                fits = 0;
                break;
            }
            mag = mag * 10 + dgt;
        }
        if (fits) {
            j->is_int = 1;
            j->integer = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag)
                             : (int64_t)mag;
            if (mag <= ((uint64_t)1 << 53)) { /* exact as a double */
                j->number = neg ? -(double)mag : (double)mag;
                p->pos = i;
                return LF_OK;
            }
        }
    }
    char small[96];
    char *buf = n < sizeof small ? small : LF_MALLOC(n + 1);
    if (!buf) return nomem(p);
    memcpy(buf, s + start, n);
    buf[n] = '\0';
    double v = 0;
    int ok = cloc_get(&p->cl);
    int range = 0;
    if (ok) {
        ok = strtod_in(p->cl.loc, buf, &v);
        range = errno == ERANGE;
    }
    if (buf != small) LF_FREE(buf);
    if (!p->cl.loc)
        return lf_fail(p->e, LF_ERR_NOMEM, "cannot obtain the C locale to read a number at byte %zu",
                       start);
    if (!ok)
        return lf_fail(p->e, LF_ERR_FORMAT, "invalid number at byte %zu", start);
    if (range && isinf(v))
        return lf_fail(p->e, LF_ERR_FORMAT, "number out of range of a double at byte %zu", start);
    j->number = v;
    p->pos = i;
    return LF_OK;
}

static int cmp_key(const void *a, const void *b) {
    const lf_json *x = *(lf_json *const *)a, *y = *(lf_json *const *)b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    return (x->key_offset > y->key_offset) - (x->key_offset < y->key_offset);
}

/* Rejects duplicate keys among items[0..n): O(n log n), reporting the
 * duplicate that comes first in the document. */
static lf_status check_dups(parser *p, lf_json **items, size_t n) {
    const lf_json *dup = NULL;
    if (n < 2) return LF_OK;
    if (n <= 16) {
        for (size_t a = 1; a < n; a++)
            for (size_t b = 0; b < a; b++)
                if (strcmp(items[a]->key, items[b]->key) == 0 && (!dup || items[a]->key_offset < dup->key_offset))
                    dup = items[a];
    } else {
        lf_json **tmp = lf_alloc_array(n, sizeof *tmp);
        if (!tmp) return nomem(p);
        memcpy(tmp, items, n * sizeof *tmp);
        qsort(tmp, n, sizeof *tmp, cmp_key);
        for (size_t a = 1; a < n; a++)
            if (strcmp(tmp[a]->key, tmp[a - 1]->key) == 0 && (!dup || tmp[a]->key_offset < dup->key_offset))
                dup = tmp[a];
        LF_FREE(tmp);
    }
    if (!dup) return LF_OK;
    char k[80];
    key_for_msg(k, sizeof k, dup->key);
    return lf_fail(p->e, LF_ERR_FORMAT, "duplicate key '%s' in JSON object at byte %zu", k,
                   dup->key_offset);
}

static lf_status push_pending(parser *p, lf_json *j) {
    if (p->npend == p->cappend) {
        size_t cap = p->cappend ? p->cappend * 2 : 64;
        if (cap > SIZE_MAX / sizeof *p->pend) return nomem(p);
        lf_json **np = LF_REALLOC(p->pend, cap * sizeof *np);
        if (!np) return nomem(p);
        p->pend = np;
        p->cappend = cap;
    }
    p->pend[p->npend++] = j;
    return LF_OK;
}

/* Reads `"key" :` at p->pos into the top frame. */
static lf_status parse_key(parser *p) {
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != '"') return unexpected(p, "expected a string key");
    frame *f = &p->stack[p->depth - 1];
    size_t klen;
    f->key_off = p->pos;
    lf_status st = parse_string(p, &f->key, &klen);
    if (st) return st;
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != ':') return unexpected(p, "expected ':' after key");
    p->pos++;
    return LF_OK;
}

/* Closes the top container: moves its pending items into it. */
static lf_status close_container(parser *p, lf_json **done) {
    frame *f = &p->stack[p->depth - 1];
    lf_json *c = f->node;
    size_t n = p->npend - f->first;
    lf_json **src = n ? p->pend + f->first : NULL;
    if (c->type == LF_JSON_OBJECT) {
        lf_status st = check_dups(p, src, n);
        if (st) return st;
    }
    if (n) {
        c->items = arena_alloc(&p->ar, n * sizeof *c->items);
        if (!c->items) return nomem(p);
        memcpy(c->items, src, n * sizeof *c->items);
    }
    c->n = n;
    p->npend = f->first;
    p->depth--;
    p->pos++; /* the closing bracket */
    *done = c;
    return LF_OK;
}

static lf_status open_container(parser *p, lf_json_type t, lf_json **opened) {
    if (p->depth >= LF_JSON_MAX_DEPTH)
        return lf_fail(p->e, LF_ERR_FORMAT, "JSON nesting deeper than %d levels at byte %zu",
                       LF_JSON_MAX_DEPTH, p->pos);
    lf_json *c = new_node(p, t);
    if (!c) return nomem(p);
    frame *f = &p->stack[p->depth++];
    f->node = c;
    f->first = p->npend;
    f->key = NULL;
    f->key_off = 0;
    p->pos++;
    *opened = c;
    return LF_OK;
}

static int match_word(parser *p, const char *w) {
    size_t n = strlen(w);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, w, n) != 0) return 0;
    p->pos += n;
    return 1;
}

static lf_status parse_doc(parser *p, lf_json **root) {
    lf_status st;
    for (;;) {
        /* ---- read one value at p->pos ---- */
        lf_json *v = NULL;
        skip_ws(p);
        if (p->pos >= p->len) return unexpected(p, NULL);
        char c = p->s[p->pos];
        if (c == '{' || c == '[') {
            lf_json *opened;
            int obj = c == '{';
            st = open_container(p, obj ? LF_JSON_OBJECT : LF_JSON_ARRAY, &opened);
            if (st) return st;
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == (obj ? '}' : ']')) {
                st = close_container(p, &v);
                if (st) return st;
            } else if (obj) {
                st = parse_key(p);
                if (st) return st;
                continue;
            } else {
                continue;
            }
        } else {
            v = new_node(p, LF_JSON_NULL);
            if (!v) return nomem(p);
            if (c == '"') {
                v->type = LF_JSON_STRING;
                st = parse_string(p, &v->str, &v->str_len);
                if (st) return st;
            } else if (c == '-' || (c >= '0' && c <= '9')) {
                v->type = LF_JSON_NUMBER;
                st = parse_number(p, v);
                if (st) return st;
            } else if (match_word(p, "true")) {
                v->type = LF_JSON_BOOL;
                v->boolean = 1;
            } else if (match_word(p, "false")) {
                v->type = LF_JSON_BOOL;
            } else if (!match_word(p, "null")) {
                return unexpected(p, NULL);
            }
        }
        /* ---- v is complete: attach it, then close containers as needed ---- */
        for (;;) {
            if (p->depth == 0) {
                skip_ws(p);
                if (p->pos != p->len) return unexpected(p, "trailing data after the JSON value");
                *root = v;
                return LF_OK;
            }
            st = push_pending(p, v);
            if (st) return st;
            int obj = p->stack[p->depth - 1].node->type == LF_JSON_OBJECT;
            char close = obj ? '}' : ']';
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == close) {
                st = close_container(p, &v);
                if (st) return st;
                continue;
            }
            if (p->pos >= p->len || p->s[p->pos] != ',')
                return unexpected(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
            p->pos++;
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == close)
                return lf_fail(p->e, LF_ERR_FORMAT, "trailing comma before '%c' at byte %zu", close,
                               p->pos);
            if (obj) {
                st = parse_key(p);
                if (st) return st;
            }
            break; /* read the next value */
        }
    }
}

lf_status lf_json_parse(const char *text, size_t len, lf_json **out, lf_err *e) {
    if (!out) return lf_fail(e, LF_ERR_ARG, "lf_json_parse: NULL output");
    *out = NULL;
    if (!text && len) return lf_fail(e, LF_ERR_ARG, "lf_json_parse: NULL text");
    parser *p = LF_CALLOC(1, sizeof *p);
    if (!p) return lf_fail(e, LF_ERR_NOMEM, "out of memory parsing JSON");
    p->s = text ? text : "";
    p->len = len;
    p->e = e;
    lf_json *root = NULL;
    lf_status st = parse_doc(p, &root);
    LF_FREE(p->pend);
    cloc_release(&p->cl);
    if (st == LF_OK) {
        root->arena_ = p->ar.head;
        *out = root;
    } else {
        arena_release(p->ar.head);
    }
    LF_FREE(p);
    return st;
}

void lf_json_free(lf_json *root) {
    if (root) arena_release(root->arena_);
}

/* ---------------------------------------------------------- accessors */

int lf_json_is(const lf_json *j, lf_json_type t) { return j && j->type == t; }

const lf_json *lf_json_get(const lf_json *obj, const char *key) {
    if (!obj || obj->type != LF_JSON_OBJECT || !key) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->items[i]->key, key) == 0) return obj->items[i];
    return NULL;
}

size_t lf_json_len(const lf_json *j) {
    return (j && (j->type == LF_JSON_ARRAY || j->type == LF_JSON_OBJECT)) ? j->n : 0;
}

const lf_json *lf_json_at(const lf_json *arr, size_t i) {
    return i < lf_json_len(arr) ? arr->items[i] : NULL;
}

const char *lf_json_key_at(const lf_json *obj, size_t i) {
    return (lf_json_is(obj, LF_JSON_OBJECT) && i < obj->n) ? obj->items[i]->key : NULL;
}

const char *lf_json_unknown_key(const lf_json *obj, const char *const *allowed) {
    if (!lf_json_is(obj, LF_JSON_OBJECT) || !allowed) return NULL;
    for (size_t i = 0; i < obj->n; i++) {
        const char *k = obj->items[i]->key;
        size_t a = 0;
        while (allowed[a] && strcmp(k, allowed[a]) != 0) a++;
        if (!allowed[a]) return k;
    }
    return NULL;
}

const char *lf_str_for_msg(char buf[LF_MSG_STR], const char *s) {
    size_t o = 0;
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        if (o > 60) {
            memcpy(buf + o, "...", 4);
            return buf;
        }
        if (*u >= 0x20 && *u < 0x7F && *u != '\\') buf[o++] = (char)*u;
        else o += (size_t)snprintf(buf + o, LF_MSG_STR - o, "\\x%02x", *u);
    }
    buf[o] = '\0';
    return buf;
}

const char *lf_json_str(const lf_json *j) { return lf_json_is(j, LF_JSON_STRING) ? j->str : NULL; }

int lf_json_num(const lf_json *j, double *out) {
    if (!lf_json_is(j, LF_JSON_NUMBER)) return 0;
    *out = j->number;
    return 1;
}

int lf_json_size(const lf_json *j, size_t *out) {
    if (!lf_json_is(j, LF_JSON_NUMBER) || !j->is_int || j->integer < 0) return 0;
    if ((uint64_t)j->integer > (uint64_t)SIZE_MAX) return 0;
    *out = (size_t)j->integer;
    return 1;
}

int lf_json_u63(const lf_json *j, uint64_t *out) {
    if (!lf_json_is(j, LF_JSON_NUMBER) || !j->is_int || j->integer < 0) return 0;
    *out = (uint64_t)j->integer;
    return 1;
}

int lf_json_bool(const lf_json *j, int *out) {
    if (!lf_json_is(j, LF_JSON_BOOL)) return 0;
    *out = j->boolean;
    return 1;
}

/* ------------------------------------------------------------- writer */

void lf_buf_init(lf_buf *b) { memset(b, 0, sizeof *b); }

void lf_buf_free(lf_buf *b) {
    LF_FREE(b->data);
    memset(b, 0, sizeof *b);
}

/* Makes room for n more bytes plus the NUL. */
static int buf_reserve(lf_buf *b, size_t n) {
    if (b->failed) return 0;
    if (n > SIZE_MAX - b->len - 1) {
        b->failed = 1;
        return 0;
    }
    size_t need = b->len + n + 1;
    if (need <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *d = LF_REALLOC(b->data, cap);
    if (!d) {
        b->failed = 1;
        return 0;
    }
    b->data = d;
    b->cap = cap;
    return 1;
}

void lf_buf_append(lf_buf *b, const void *p, size_t n) {
    if (!buf_reserve(b, n)) return;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void lf_buf_puts(lf_buf *b, const char *s) { lf_buf_append(b, s, strlen(s)); }

void lf_buf_vprintf(lf_buf *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (!buf_reserve(b, (size_t)n)) return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void lf_buf_printf(lf_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    lf_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void lf_buf_json_string(lf_buf *b, const char *s) {
    if (!s) {
        lf_buf_puts(b, "null");
        return;
    }
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0, run = 0;
    lf_buf_append(b, "\"", 1);
    while (i < n) {
        unsigned char c = u[i];
        const char *esc = NULL;
        char tmp[8];
        size_t k = 1;
        if (c == '"') esc = "\\\"";
        else if (c == '\\') esc = "\\\\";
        else if (c == '\n') esc = "\\n";
        else if (c == '\r') esc = "\\r";
        else if (c == '\t') esc = "\\t";
        else if (c == '\b') esc = "\\b";
        else if (c == '\f') esc = "\\f";
        else if (c < 0x20) {
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            esc = tmp;
        } else if (c >= 0x80) {
            k = utf8_seq(u + i, n - i);
            if (!k) {
                esc = "\xEF\xBF\xBD"; /* U+FFFD */
                k = 1;
            }
        }
        if (esc) {
            lf_buf_append(b, s + i - run, run);
            run = 0;
            lf_buf_puts(b, esc);
        } else {
            run += k;
        }
        i += k;
    }
    lf_buf_append(b, s + i - run, run);
    lf_buf_append(b, "\"", 1);
}

/* Shortest %.Ng text of v that reads back as v (as a float when
 * as_float: then its double value must also stay within +-FLT_MAX, so that
 * a reader range-checking in double accepts it; if no such text exists the
 * double form is used).  Among precisions that work, the shortest text
 * wins ("100" rather than "1e+02"). */
static void put_number(lf_buf *b, double v, int as_float) {
    if (!isfinite(v)) {
        lf_buf_puts(b, "null");
        return;
    }
    if (as_float && !(fabs(v) <= FLT_MAX && (double)(float)v == v)) as_float = 0;
    cloc c = {0};
    if (!cloc_get(&c)) {
        b->failed = 1;
        return;
    }
    locale_t old = uselocale(c.loc);
    char tmp[40], best[40] = "";
    for (int pass = as_float ? 0 : 1; pass < 2 && !best[0]; pass++) {
        int maxp = pass == 0 ? 9 : 17;
        for (int prec = 1; prec <= maxp; prec++) {
            snprintf(tmp, sizeof tmp, "%.*g", prec, v);
            double back = strtod(tmp, NULL);
            int ok = pass == 0 ? (fabs(back) <= FLT_MAX && (float)back == (float)v) : back == v;
            if (ok && (!best[0] || strlen(tmp) < strlen(best))) memcpy(best, tmp, sizeof tmp);
        }
    }
    uselocale(old);
    cloc_release(&c);
    lf_buf_puts(b, best);
}

void lf_buf_json_float(lf_buf *b, double v) { put_number(b, v, 1); }

void lf_buf_json_double(lf_buf *b, double v) { put_number(b, v, 0); }
