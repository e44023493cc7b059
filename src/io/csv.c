/*
 * csv.c — numeric text tables in and out (see csv.h for the rules).
 *
 * Fields are validated by a small hand-written grammar first (so strtof's
 * extras — hex floats, "nan(...)", leading junk — are never accepted; hex
 * floats get an error of their own) and only then converted with strtof,
 * correctly rounded, under a private "C" locale installed for the calling
 * thread with uselocale(): the decimal point is '.' whatever setlocale()
 * the program made, and no global state is touched.
 */
#include "io/csv.h"
#include "io/atomic.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define FIELD_MAX 256              /* longer numbers are copied to the heap */
#define EXACT_INT_LIMIT 16777216.0 /* 2^24 */

/* What a trimmed field is.  F_NUMBER also covers "nan", "NA" and "inf";
 * F_MALFORMED starts like a number ([+-] then a digit, or '.' and a digit)
 * but is not one ("0.8O", "1e", "1,5"), so it is never a header's name;
 * F_HEX is C's hexadecimal notation ("0x1p-3"), which the reader refuses. */
typedef enum { F_NUMBER, F_EMPTY, F_OVERFLOW, F_HEX, F_MALFORMED, F_TEXT, F_NOMEM } field_kind;

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

/* Not a number: malformed, hexadecimal or text (see field_kind). */
static field_kind not_number(const char *s, size_t n) {
    size_t i = n && (s[0] == '+' || s[0] == '-');
    if (i + 2 < n && s[i] == '0' && lower(s[i + 1]) == 'x' &&
        (is_digit(s[i + 2]) || (lower(s[i + 2]) >= 'a' && lower(s[i + 2]) <= 'f') || s[i + 2] == '.'))
        return F_HEX;
    if (i < n && (is_digit(s[i]) || (s[i] == '.' && i + 1 < n && is_digit(s[i + 1])))) return F_MALFORMED;
    return F_TEXT;
}

/* Classifies one trimmed field and converts it.  Needs the "C" numeric
 * locale to be current (see lf_csv_parse). */
static field_kind parse_field(const char *s, size_t n, float *out, int *is_int) {
    *is_int = 0;
    if (n == 0) { /* empty field: missing value */
        *out = NAN;
        return F_EMPTY;
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
    if (digits == 0) return not_number(s, n);
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        integer = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t ed = 0;
        while (i < n && is_digit(s[i])) i++, ed++;
        if (ed == 0) return not_number(s, n);
    }
    if (i != n) return not_number(s, n);
    /* strtof needs a terminated copy; a long number goes to the heap */
    char small[FIELD_MAX], *buf = small;
    if (n >= sizeof small && !(buf = LF_MALLOC(n + 1))) return F_NOMEM;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    float v = strtof(buf, &end);
    field_kind k = F_NUMBER;
    if (end != buf + n) k = F_MALFORMED; /* cannot happen after the checks */
    else if (isinf(v)) k = F_OVERFLOW;   /* the text is finite: ERANGE */
    if (k == F_NUMBER) {
        *out = v;
        /* exactness is judged on the text's value (16777217 rounds to 2^24) */
        *is_int = integer && fabs(strtod(buf, NULL)) <= EXACT_INT_LIMIT;
    }
    if (buf != small) LF_FREE(buf);
    return k;
}

/* One line of the text: [s, s+n) without its line break. */
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

/* Returns the line starting at *pos and advances *pos past its line break:
 * "\n", "\r\n" or a lone "\r" (old Mac files), so a CR-only file is never
 * read as one long line. */
static line_ref next_line(const char *text, size_t len, size_t *pos) {
    line_ref l = {text + *pos, 0};
    size_t end = *pos;
    while (end < len && text[end] != '\n' && text[end] != '\r') end++;
    l.n = end - *pos;
    if (end < len && text[end] == '\r' && end + 1 < len && text[end + 1] == '\n') end++;
    *pos = end < len ? end + 1 : len;
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
#define MORE(n) ((n) > 40 ? "..." : "")

/* The first non-blank line: a header (skipped) when it holds a text field
 * and no number; empty fields count for neither.  `why` explains in
 * messages why a first line holding text is not a header. */
typedef struct first_line {
    int header;
    char why[96];
} first_line;

static lf_status classify_first(line_ref line, char delim, size_t row, const char *name, first_line *fl,
                                lf_err *e) {
    splitter sp = {line, 0, delim, 0};
    const char *fs;
    size_t fn, text = 0, numeric = 0;
    field_kind numeric_kind = F_NUMBER;
    for (size_t c = 1; next_field(&sp, &fs, &fn); c++) {
        float v;
        int is_int;
        field_kind k = parse_field(fs, fn, &v, &is_int);
        if (k == F_NOMEM) return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s' at row %zu", name, row);
        if (k == F_TEXT) {
            if (!text) text = c;
        } else if (k != F_EMPTY && !numeric) {
            numeric = c;
            numeric_kind = k;
        }
    }
    fl->header = text && !numeric;
    fl->why[0] = '\0';
    if (text && numeric)
        snprintf(fl->why, sizeof fl->why, " (row %zu is not a header: column %zu %s)", row, numeric,
                 numeric_kind == F_MALFORMED || numeric_kind == F_HEX ? "starts like a number"
                                                                      : "holds a number");
    return LF_OK;
}

/* Whether the data rows end with a trailing comma (*trailing), judged on
 * the first data row that holds a value: a row of empty fields (a missing
 * output) fits either way.  `line` is the first data row (number `row`),
 * `pos` where the next one starts.  Returns the number of the row judged. */
static size_t trailing_from(const char *text, size_t len, size_t pos, line_ref line, size_t row, char delim,
                            int *trailing) {
    *trailing = 0;
    if (delim != ',') return row;
    for (size_t judged = row;; judged++) {
        splitter sp = {line, 0, delim, 0};
        const char *fs;
        size_t fn, nf = 0;
        int last_empty = 0, any = 0;
        while (next_field(&sp, &fs, &fn)) nf++, last_empty = fn == 0, any |= fn != 0;
        if (any) {
            *trailing = nf >= 2 && last_empty;
            return judged;
        }
        if (pos >= len) return row;
        line = next_line(text, len, &pos);
    }
}

static lf_status parse_table(const char *text, size_t len, const char *name, lf_array *out,
                             lf_err *e) {
    const char *nul = len ? memchr(text, '\0', len) : NULL;
    if (nul) {
        size_t row = 0, at = 0;
        while (at <= (size_t)(nul - text) && at < len) next_line(text, len, &at), row++;
        return lf_fail(e, LF_ERR_FORMAT, "'%s' contains a NUL byte at row %zu (not a text file?)", name,
                       row);
    }
    size_t pos = 0, row = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) pos = 3; /* UTF-8 byte order mark */
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
    size_t first_row = row;
    first_line fl;
    lf_status st = classify_first(line, delim, row, name, &fl, e);
    if (st != LF_OK) return st;
    /* Messages number the rows as every input message does (docs/cli.md):
     * from 1, not counting a header, so that a bad cell and a bad row sum
     * (lf_check_outputs) on the same line name the same row.  Lines before
     * the header (blank) go with it; a file without a header counts its
     * lines as they are. */
    size_t skip = fl.header ? first_row : 0;

    table t = {NULL, 0, 0};
    size_t rows = 0, cols = 0, blank_row = 0;
    int all_int = 1;
    /* A comma ending the first data row (an empty last field) must end
     * every row, and is then no field (see trailing_from). */
    int trailing = 0;
    size_t trailing_row = 0;
    int have_line = !fl.header; /* the first line is data unless it is a header */
    const char *fs;
    size_t fn;
    splitter sp;
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
                         "blank line at row %zu of '%s' between data rows (row %zu has data)",
                         blank_row - skip, name, row - skip);
            goto fail;
        }
        size_t nf = 0;
        int last_empty = 0;
        sp = (splitter){line, 0, delim, 0};
        while (next_field(&sp, &fs, &fn)) nf++, last_empty = fn == 0;
        int ends_comma = delim == ',' && nf >= 2 && last_empty;
        if (rows == 0) {
            trailing_row = trailing_from(text, len, pos, line, row, delim, &trailing);
            cols = nf - (size_t)trailing;
        } else if (trailing && !ends_comma) {
            st = lf_fail(e, LF_ERR_FORMAT,
                         "row %zu of '%s' does not end with a comma but row %zu does (a trailing comma must "
                         "end every row or none)",
                         row - skip, name, trailing_row - skip);
            goto fail;
        } else if (!trailing && ends_comma && nf == cols + 1) {
            st = lf_fail(e, LF_ERR_FORMAT,
                         "row %zu of '%s' ends with a comma but row %zu does not (a trailing comma must end "
                         "every row or none)",
                         row - skip, name, trailing_row - skip);
            goto fail;
        }
        if (nf - (size_t)trailing != cols) {
            st = lf_fail(e, LF_ERR_FORMAT, "row %zu has %zu fields, expected %zu in '%s'", row - skip,
                         nf - (size_t)trailing, cols, name);
            goto fail;
        }
        const char *why = row == first_row ? fl.why : "";
        sp = (splitter){line, 0, delim, 0};
        for (size_t c = 1; c <= cols && next_field(&sp, &fs, &fn); c++) {
            float v = 0;
            int is_int;
            field_kind k = parse_field(fs, fn, &v, &is_int);
            if (k == F_MALFORMED || k == F_TEXT) {
                st = lf_fail(e, LF_ERR_FORMAT, "'%.*s%s' at row %zu, column %zu is not a number in '%s'%s",
                             SHOWN(fn), fs, MORE(fn), row - skip, c, name, why);
                goto fail;
            }
            if (k == F_HEX) {
                st = lf_fail(e, LF_ERR_FORMAT,
                             "'%.*s%s' at row %zu, column %zu is a hexadecimal number in '%s'; write numbers "
                             "in decimal",
                             SHOWN(fn), fs, MORE(fn), row - skip, c, name);
                goto fail;
            }
            if (k == F_OVERFLOW) {
                st = lf_fail(e, LF_ERR_FORMAT,
                             "value '%.*s%s' at row %zu, column %zu overflows float32 in '%s'", SHOWN(fn),
                             fs, MORE(fn), row - skip, c, name);
                goto fail;
            }
            all_int &= is_int;
            if (k == F_NOMEM || !table_push(&t, v)) {
                st = lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s' at row %zu", name, row - skip);
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
    lf_status st = lf_atomic_open(&af, path, 0, e);
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

lf_status lf_csv_header(const char *text, size_t len, const char *name, lf_span **fields, size_t *n, lf_err *e) {
    *fields = NULL, *n = 0;
    size_t pos = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) pos = 3; /* as parse_table */
    line_ref line = {text, 0};
    size_t row = 0;
    int found = 0;
    while (!found && pos < len) {
        line = next_line(text, len, &pos);
        row++;
        found = !is_blank(line);
    }
    if (!found) return LF_OK;
    char delim = memchr(line.s, ',', line.n) ? ',' : 0;
    first_line fl;
    lf_status st = classify_first(line, delim, row, name, &fl, e);
    if (st != LF_OK || !fl.header) return st;
    splitter sp = {line, 0, delim, 0};
    const char *fs;
    size_t fn, count = 0;
    while (next_field(&sp, &fs, &fn)) count++;
    if (!(*fields = lf_alloc_array(count ? count : 1, sizeof **fields)))
        return lf_fail(e, LF_ERR_NOMEM, "out of memory reading the header of '%s'", name);
    splitter again = {line, 0, delim, 0};
    while (next_field(&again, &fs, &fn)) (*fields)[(*n)++] = (lf_span){fs, fn};
    return LF_OK;
}
