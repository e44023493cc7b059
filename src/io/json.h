/*
 * json.h — a strict, bounded JSON (RFC 8259) reader and the small writer
 * helpers the library uses for safetensors headers and model configs.
 *
 * Why our own: the model file header is untrusted input, so the parser must
 * reject everything RFC 8259 rejects, never recurse (nesting is capped at
 * LF_JSON_MAX_DEPTH and handled with an explicit stack), report the byte
 * offset of every problem, and read numbers the same way whatever the
 * process locale is.  The writer side is a growable byte buffer with
 * JSON-aware helpers that likewise ignore the locale.
 *
 * Deliberate strictness beyond RFC 8259 (allowed by its section 4/8):
 *   - duplicate keys in an object are an error;
 *   - "\u0000" inside a string is an error (strings are handed out as C
 *     strings, so an embedded NUL would silently truncate a name);
 *   - a byte-order mark is not skipped;
 *   - a number literal that overflows a double is an error (underflow
 *     rounds to 0 or a subnormal, as strtod does).
 */
#ifndef LF_JSON_H
#define LF_JSON_H

#include "internal.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define LF_JSON_MAX_DEPTH 64

typedef enum lf_json_type {
    LF_JSON_NULL = 0,
    LF_JSON_BOOL,
    LF_JSON_NUMBER,
    LF_JSON_STRING,
    LF_JSON_ARRAY,
    LF_JSON_OBJECT
} lf_json_type;

/* One node of a parsed document.  The whole tree lives in one arena owned
 * by the root; read it through the accessors below (the fields are public
 * for convenience, not for modification). */
typedef struct lf_json {
    lf_json_type type;
    int boolean;           /* LF_JSON_BOOL: 0 or 1                              */
    int is_int;            /* NUMBER: the literal had no fraction/exponent and
                              its value fits int64_t (then `integer` holds it) */
    int64_t integer;
    double number;         /* NUMBER: correctly rounded value                   */
    const char *str;       /* STRING: NUL-terminated UTF-8 (no embedded NUL)    */
    size_t str_len;        /* STRING: bytes, without the NUL                    */
    const char *key;       /* member of an OBJECT: its key; otherwise NULL      */
    size_t n;              /* ARRAY/OBJECT: number of items                     */
    struct lf_json **items;/* ARRAY/OBJECT: the items, in document order        */
    size_t offset;         /* byte offset of the value in the input             */
    size_t key_offset;     /* byte offset of the key (members of objects)       */
    void *arena_;          /* root only: the allocation that owns the tree      */
} lf_json;

/* Parses exactly `len` bytes of `text` (no NUL needed; a NUL byte inside is
 * an error).  On success *out is the root, to be freed with lf_json_free.
 * Errors: LF_ERR_FORMAT with a message ending in "at byte N", LF_ERR_NOMEM,
 * LF_ERR_ARG for NULL arguments.  *out is NULL on failure. */
lf_status lf_json_parse(const char *text, size_t len, lf_json **out, lf_err *e);
/* Frees a tree returned by lf_json_parse (the root only).  NULL is allowed. */
void lf_json_free(lf_json *root);

/* Accessors; all accept NULL and then return NULL / 0. */
int lf_json_is(const lf_json *j, lf_json_type t);
/* The member named `key` of an object (NULL if absent or j not an object).
 * Linear in the number of members. */
const lf_json *lf_json_get(const lf_json *obj, const char *key);
/* Items of an array or members of an object; 0 for scalars. */
size_t lf_json_len(const lf_json *j);
/* Item i of an array or object (NULL if out of range or a scalar). */
const lf_json *lf_json_at(const lf_json *arr, size_t i);
/* Key of member i of an object (NULL if out of range or not an object). */
const char *lf_json_key_at(const lf_json *obj, size_t i);
/* The first key of object `obj` that is not in `allowed` (a NULL-terminated
 * list), or NULL when every key is allowed.  Safe on any node: NULL for
 * anything but an object, so callers check the type first (a document that
 * holds an array where an object belongs has keys nowhere). */
const char *lf_json_unknown_key(const lf_json *obj, const char *const *allowed);
/* The string's bytes (NULL if not a string). */
const char *lf_json_str(const lf_json *j);
/* Returns 1 and the value of a number, else 0. */
int lf_json_num(const lf_json *j, double *out);
/* Returns 1 if j is an integer literal >= 0 that fits size_t, else 0. */
int lf_json_size(const lf_json *j, size_t *out);
/* Returns 1 if j is an integer literal in 0..INT64_MAX (exact), else 0. */
int lf_json_u63(const lf_json *j, uint64_t *out);
/* Returns 1 and 0/1 for true/false, else 0. */
int lf_json_bool(const lf_json *j, int *out);

/* A string from a file made safe to quote in a message: printable ASCII
 * is kept, every other byte and '\\' become \xHH, and more than about 60
 * characters end in "...".  Writes buf (LF_MSG_STR bytes) and returns it. */
#define LF_MSG_STR 80
const char *lf_str_for_msg(char buf[LF_MSG_STR], const char *s);

/* Returns 1 if the n bytes are valid UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF), else 0. */
int lf_utf8_valid(const char *s, size_t n);
/* The length of the valid UTF-8 sequence that starts s[0..n) (1 for
 * ASCII), or 0 when the bytes there are not one.  The bytes after the
 * lead are read in order, each only while those before it are
 * continuation bytes, so a NUL-terminated string is never read past its
 * NUL (with n 4). */
size_t lf_utf8_len(const char *s, size_t n);

/* Locale-independent, correctly rounded decimal-to-double conversion of a
 * NUL-terminated string in C syntax (as strtod under the "C" locale).
 * Returns 0 (and *out = 0) if the C locale cannot be obtained or `s` is not
 * entirely a number; ERANGE results are returned as strtod gives them. */
int lf_strtod_c(const char *s, double *out);

/* ------------------------------------------------------------- writer */

/* A growable byte buffer.  data is always NUL-terminated when non-NULL.
 * An allocation failure sets `failed`, after which appends do nothing:
 * callers check `failed` once at the end. */
typedef struct lf_buf {
    char *data;
    size_t len, cap;
    int failed;
} lf_buf;

void lf_buf_init(lf_buf *b);
void lf_buf_free(lf_buf *b);
void lf_buf_append(lf_buf *b, const void *p, size_t n);
void lf_buf_puts(lf_buf *b, const char *s);
/* printf-style; uses the current locale (so never format floats with it:
 * use lf_buf_json_float / lf_buf_json_double). */
void lf_buf_printf(lf_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void lf_buf_vprintf(lf_buf *b, const char *fmt, va_list ap);
/* Writes s as a quoted JSON string: '"' and '\\' escaped, control characters
 * as \n \t \r \b \f or \u00XX, UTF-8 passed through.  Bytes that are not
 * valid UTF-8 are written as U+FFFD (validate with lf_utf8_valid first when
 * that matters).  NULL writes null. */
void lf_buf_json_string(lf_buf *b, const char *s);
/* Writes a number that reads back as the same float: when v is exactly a
 * float, the shortest %.Ng (N <= 9) whose value rounds to that float (so
 * 0.1f is written "0.1"); otherwise as lf_buf_json_double.  Always '.'
 * whatever the locale; NaN and infinities write null. */
void lf_buf_json_float(lf_buf *b, double v);
/* Writes the shortest %.Ng (N <= 17) that reads back as exactly v. */
void lf_buf_json_double(lf_buf *b, double v);

#endif
