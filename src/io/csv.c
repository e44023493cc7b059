/*
 * csv.c — numeric text tables in and out (see csv.h for the rules).
 *
 * Fields are validated by a small hand-written grammar first (so strtof's
 * extras — hex floats, "nan(...)", leading junk — are never accepted) and
 * only then converted with strtof, correctly rounded, under a private "C"
 * locale installed for the calling thread with uselocale(): the decimal
 * point is '.' whatever setlocale() the program made, and no global state
 * is touched.
 */
#include "io/csv.h"
#include "io/atomic.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define FIELD_MAX 256              /* longer fields cannot be numbers we want */
#define EXACT_INT_LIMIT 16777216.0 /* 2^24 */

typedef enum { F_NUMBER, F_NOT_NUMBER, F_OVERFLOW } field_kind;

static int is_space(char c) { return c == ' ' || c == '\t'; }
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static int equals_nocase(const char *s, size_t n, const char *word) {
    size_t m = strlen(word);
    if (n != m) return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(s[i]) != word[i]) return 0;
    return 1;
}

/* Classifies one trimmed field and converts it.  Needs the "C" numeric
 * locale to be current (see lf_csv_parse). */
static field_kind parse_field(const char *s, size_t n, float *out, int *is_int) {
    *is_int = 0;
    if (n == 0) { /* empty field: missing value */
        *out = NAN;
        return F_NUMBER;
    }
    if (n == 2 && s[0] == 'N' && s[1] == 'A') {
        *out = NAN;
        return F_NUMBER;
    }
    size_t i = 0;
    int neg = 0;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (equals_nocase(s + i, n - i, "nan")) {
        *out = NAN;
        return F_NUMBER;
    }
    if (equals_nocase(s + i, n - i, "inf") || equals_nocase(s + i, n - i, "infinity")) {
        *out = neg ? -INFINITY : INFINITY;
        return F_NUMBER;
    }
    /* [+-] (digits [. digits*] | . digits) [(e|E) [+-] digits] */
    size_t digits = 0;
    int integer = 1;
    while (i < n && is_digit(s[i])) i++, digits++;
    if (i < n && s[i] == '.') {
        integer = 0;
        i++;
        while (i < n && is_digit(s[i])) i++, digits++;
    }
    if (digits == 0) return F_NOT_NUMBER;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        integer = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t ed = 0;
        while (i < n && is_digit(s[i])) i++, ed++;
        if (ed == 0) return F_NOT_NUMBER;
    }
    if (i != n) return F_NOT_NUMBER;
    if (n >= FIELD_MAX) return F_NOT_NUMBER;
    char buf[FIELD_MAX];
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    float v = strtof(buf, &end);
    if (end != buf + n) return F_NOT_NUMBER; /* cannot happen after the checks */
    if (isinf(v)) return F_OVERFLOW;          /* the text is finite: ERANGE */
    *out = v;
    /* exactness is judged on the text's value (16777217 rounds to 2^24) */
    *is_int = integer && fabs(strtod(buf, NULL)) <= EXACT_INT_LIMIT;
    return F_NUMBER;
}

/* One line of the text: [s, s+n) without its '\n' and a final '\r'. */
typedef struct line_ref {
    const char *s;
    size_t n;
} line_ref;

/* Field splitter: `delim` is ',' or 0 for runs of spaces/tabs.  Returns 0
 * when the line has no more fields; fields come back trimmed. */
typedef struct splitter {
    line_ref line;
    size_t pos;
    char delim;
    int done;
} splitter;

static int next_field(splitter *sp, const char **fs, size_t *fn) {
    const char *s = sp->line.s;
    size_t n = sp->line.n;
    if (sp->done) return 0;
    if (sp->delim == 0) {
        while (sp->pos < n && is_space(s[sp->pos])) sp->pos++;
        if (sp->pos >= n) {
            sp->done = 1;
            return 0;
        }
        size_t start = sp->pos;
        while (sp->pos < n && !is_space(s[sp->pos])) sp->pos++;
        *fs = s + start;
        *fn = sp->pos - start;
        return 1;
    }
    size_t start = sp->pos, end = start;
    while (end < n && s[end] != sp->delim) end++;
    if (end >= n) sp->done = 1;
    sp->pos = end + 1;
    while (start < end && is_space(s[start])) start++;
    while (end > start && is_space(s[end - 1])) end--;
    *fs = s + start;
    *fn = end - start;
    return 1;
}

static int is_blank(line_ref l) {
    for (size_t i = 0; i < l.n; i++)
        if (!is_space(l.s[i])) return 0;
    return 1;
}

/* Returns the line starting at *pos and advances *pos past its '\n'. */
static line_ref next_line(const char *text, size_t len, size_t *pos) {
    line_ref l = {text + *pos, 0};
    const char *nl = memchr(text + *pos, '\n', len - *pos);
    size_t end = nl ? (size_t)(nl - text) : len;
    l.n = end - *pos;
    if (l.n && l.s[l.n - 1] == '\r') l.n--;
    *pos = nl ? end + 1 : len;
    return l;
}

typedef struct table {
    float *data;
    size_t n, cap;
} table;

static int table_push(table *t, float v) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024, bytes;
        if (cap < t->cap || !lf_mul_ok(cap, sizeof(float), &bytes)) return 0;
        float *d = LF_REALLOC(t->data, bytes);
        if (!d) return 0;
        t->data = d;
        t->cap = cap;
    }
    t->data[t->n++] = v;
    return 1;
}

/* Quotes at most 40 characters of a field in messages. */
#define SHOWN(n) ((int)((n) > 40 ? 40 : (n)))

static lf_status parse_table(const char *text, size_t len, const char *name, lf_array *out,
                             lf_err *e) {
    const char *nul = len ? memchr(text, '\0', len) : NULL;
    if (nul) {
        size_t row = 1;
        for (const char *p = text; p < nul; p++) row += *p == '\n';
        return lf_fail(e, LF_ERR_FORMAT, "'%s' contains a NUL byte at row %zu (not a text file?)", name,
                       row);
    }
    size_t pos = 0, row = 0;
    line_ref line = {text, 0};
    int found = 0;
    while (pos < len) { /* leading blank lines */
        line = next_line(text, len, &pos);
        row++;
        if (!is_blank(line)) {
            found = 1;
            break;
        }
    }
    if (!found) return lf_fail(e, LF_ERR_FORMAT, "'%s' holds no data", name);
    char delim = memchr(line.s, ',', line.n) ? ',' : 0;

    /* header: any field of the first line that is not a number */
    int header = 0;
    splitter sp = {line, 0, delim, 0};
    const char *fs;
    size_t fn;
    while (next_field(&sp, &fs, &fn)) {
        float v;
        int is_int;
        if (parse_field(fs, fn, &v, &is_int) == F_NOT_NUMBER) header = 1;
    }

    table t = {NULL, 0, 0};
    size_t rows = 0, cols = 0, blank_row = 0;
    int all_int = 1;
    lf_status st = LF_OK;
    int have_line = !header; /* the first line is data unless it is a header */
    for (;;) {
        if (!have_line) {
            if (pos >= len) break;
            line = next_line(text, len, &pos);
            row++;
        }
        have_line = 0;
        if (is_blank(line)) {
            if (!blank_row) blank_row = row;
            continue;
        }
        if (blank_row) {
            st = lf_fail(e, LF_ERR_FORMAT,
                         "blank line at row %zu of '%s' between data rows (row %zu has data)", blank_row,
                         name, row);
            goto fail;
        }
        size_t nf = 0;
        sp = (splitter){line, 0, delim, 0};
        while (next_field(&sp, &fs, &fn)) nf++;
        if (rows == 0) cols = nf;
        else if (nf != cols) {
            st = lf_fail(e, LF_ERR_FORMAT, "row %zu has %zu fields, expected %zu in '%s'", row, nf, cols,
                         name);
            goto fail;
        }
        sp = (splitter){line, 0, delim, 0};
        for (size_t c = 1; next_field(&sp, &fs, &fn); c++) {
            float v = 0;
            int is_int;
            field_kind k = parse_field(fs, fn, &v, &is_int);
            if (k == F_NOT_NUMBER) {
                st = lf_fail(e, LF_ERR_FORMAT, "'%.*s%s' at row %zu, column %zu is not a number in '%s'",
                             SHOWN(fn), fs, fn > 40 ? "..." : "", row, c, name);
                goto fail;
            }
            if (k == F_OVERFLOW) {
                st = lf_fail(e, LF_ERR_FORMAT,
                             "value '%.*s' at row %zu, column %zu overflows float32 in '%s'", SHOWN(fn),
                             fs, row, c, name);
                goto fail;
            }
            all_int &= is_int;
            if (!table_push(&t, v)) {
                st = lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s' at row %zu", name, row);
                goto fail;
            }
        }
        rows++;
    }
    if (rows == 0) return lf_fail(e, LF_ERR_FORMAT, "'%s' holds no data (only a header)", name);
    if (t.n < t.cap) { /* give back the slack; failure just keeps it */
        float *d = LF_REALLOC(t.data, t.n * sizeof(float));
        if (d) t.data = d;
    }
    out->data = t.data;
    out->rows = rows;
    out->cols = cols;
    out->is_integer = all_int;
    return LF_OK;
fail:
    LF_FREE(t.data);
    return st;
}

lf_status lf_csv_parse(const char *text, size_t len, const char *name_for_messages, lf_array *out,
                       lf_err *e) {
    const char *name = name_for_messages ? name_for_messages : "<memory>";
    if (!out) return lf_fail(e, LF_ERR_ARG, "no output array for '%s'", name);
    memset(out, 0, sizeof *out);
    if (!text && len) return lf_fail(e, LF_ERR_ARG, "no text for '%s'", name);
    if (!text) text = "";
    locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c_loc == (locale_t)0) return lf_fail(e, LF_ERR_NOMEM, "cannot create the C locale to read '%s'", name);
    locale_t old = uselocale(c_loc);
    lf_status st = parse_table(text, len, name, out, e);
    uselocale(old);
    freelocale(c_loc);
    return st;
}

lf_status lf_csv_read(const char *path, lf_array *out, lf_err *e) {
    if (out) memset(out, 0, sizeof *out);
    unsigned char *buf;
    size_t len;
    lf_status st = lf_io_read_file(path, &buf, &len, e);
    if (st != LF_OK) return st;
    st = lf_csv_parse((const char *)buf, len, path, out, e);
    LF_FREE(buf);
    return st;
}

static lf_status write_rows(lf_atomic_file *af, const float *data, size_t rows, size_t cols,
                            lf_err *e) {
    char buf[65536];
    size_t used = 0;
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            if (sizeof buf - used < 64) {
                lf_status st = lf_atomic_write(af, buf, used, e);
                if (st != LF_OK) return st;
                used = 0;
            }
            int k = snprintf(buf + used, sizeof buf - used, "%s%.9g", c ? "," : "",
                             (double)data[r * cols + c]);
            if (k < 0 || (size_t)k >= sizeof buf - used)
                return lf_fail(e, LF_ERR_IO, "cannot format a value for '%s'", af->path);
            used += (size_t)k;
        }
        if (sizeof buf - used < 2) {
            lf_status st = lf_atomic_write(af, buf, used, e);
            if (st != LF_OK) return st;
            used = 0;
        }
        buf[used++] = '\n';
    }
    return lf_atomic_write(af, buf, used, e);
}

lf_status lf_csv_write(const char *path, const float *data, size_t rows, size_t cols, lf_err *e) {
    size_t n;
    if (!lf_mul_ok(rows, cols, &n))
        return lf_fail(e, LF_ERR_ARG, "shape (%zu, %zu) is too large to write to '%s'", rows, cols,
                       path ? path : "");
    if (n && !data) return lf_fail(e, LF_ERR_ARG, "no data given for '%s'", path ? path : "");
    locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c_loc == (locale_t)0)
        return lf_fail(e, LF_ERR_NOMEM, "cannot create the C locale to write '%s'", path ? path : "");
    lf_atomic_file af;
    lf_status st = lf_atomic_open(&af, path, e);
    if (st == LF_OK) {
        locale_t old = uselocale(c_loc);
        st = write_rows(&af, data, rows, cols, e);
        uselocale(old);
        if (st == LF_OK) st = lf_atomic_commit(&af, e);
        else lf_atomic_abort(&af);
    }
    freelocale(c_loc);
    return st;
}
