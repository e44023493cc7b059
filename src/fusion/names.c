/*
 * names.c — class names: the rule a name follows, a fusion model's names
 * (set, read, kept in the fusion file by fusion_io.c), and the two places
 * they come from, a file of one name per line and the header row of a CSV
 * file of model outputs.
 *
 * A class name is shown in HTML, in JSON and on terminals, so it is
 * checked where it comes in (UTF-8, bounded) and escaped where it goes out
 * (the report's svg.c, the tool's printers); control characters are kept,
 * not refused, so that a name read from a file shows as it is.
 */
#include "fusion/fusion_internal.h"
#include "io/csv.h"
#include "io/file.h"
#include "io/json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLASS_NAME_MAX 255
#define HEADER_CHUNK ((size_t)1 << 16) /* the first read of a CSV header */
#define HEADER_MAX ((size_t)1 << 24)   /* 16 MiB: 65536 names of 255 bytes, with room */

/* What is wrong with `name` (len bytes) as a name ("is empty", ...), or
 * NULL: nothing */
static const char *name_problem(const char *name, size_t len) {
    if (!name || len == 0) return "is empty";
    if (len > CLASS_NAME_MAX) return "is longer than 255 bytes";
    if (memchr(name, '\0', len)) return "holds a NUL byte";
    if (!lf_utf8_valid(name, len)) return "is not valid UTF-8";
    return NULL;
}

int lf_class_name_check(const char *name, size_t len, size_t index, char *err, size_t errlen) {
    const char *why = name_problem(name, len);
    if (!why) return 0;
    if (err && errlen) snprintf(err, errlen, "class name %zu %s", index + 1, why);
    return 1;
}

/* A name and its place, sorted by name, then place. */
typedef struct named {
    const char *s;
    size_t i;
} named;

static int cmp_named(const void *a, const void *b) {
    const named *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

lf_status lf_class_names_distinct(const char *const *names, size_t n, size_t *first, size_t *second) {
    *first = *second = 0;
    if (n < 2) return LF_OK;
    named *v = lf_alloc_array(n, sizeof *v);
    if (!v) return LF_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) v[i].s = names[i], v[i].i = i;
    qsort(v, n, sizeof *v, cmp_named);
    lf_status st = LF_OK;
    for (size_t i = 1; i < n; i++) {
        if (strcmp(v[i - 1].s, v[i].s) != 0) continue;
        /* the earliest second occurrence over all repeated names */
        if (st == LF_OK || v[i].i < *second) *first = v[i - 1].i, *second = v[i].i;
        st = LF_ERR_FORMAT;
        while (i + 1 < n && strcmp(v[i].s, v[i + 1].s) == 0) i++; /* the rest of this name's run */
    }
    LF_FREE(v);
    return st;
}

void lf_class_names_free(lf_fusion *f) {
    if (f->class_names)
        for (size_t c = 0; c < f->C; c++) LF_FREE(f->class_names[c]);
    LF_FREE(f->class_names);
    f->class_names = NULL;
}

lf_status lf_fusion_set_class_names(lf_fusion *f, const char *const *names, size_t n) {
    if (!f) return LF_ERR_ARG;
    if (!f->fitted) return lf_fail(&f->err, LF_ERR_STATE, "class names: the fusion model is not fitted");
    if (!names) {
        lf_class_names_free(f);
        return LF_OK;
    }
    if (n != f->C)
        return lf_fail(&f->err, LF_ERR_ARG, "%zu class names given for a model of %zu classes", n, f->C);
    char msg[128];
    for (size_t c = 0; c < n; c++)
        if (lf_class_name_check(names[c], names[c] ? strlen(names[c]) : 0, c, msg, sizeof msg))
            return lf_fail(&f->err, LF_ERR_ARG, "%s", msg);
    size_t a, b;
    lf_status st = lf_class_names_distinct(names, n, &a, &b);
    if (st == LF_ERR_NOMEM) return lf_fail(&f->err, st, "out of memory for %zu class names", n);
    if (st != LF_OK)
        return lf_fail(&f->err, LF_ERR_ARG, "class names %zu and %zu are the same: each class needs its own", a + 1,
                       b + 1);
    char **copy = lf_alloc_array(n, sizeof *copy);
    for (size_t c = 0; copy && c < n; c++) {
        size_t len = strlen(names[c]);
        if (!(copy[c] = LF_MALLOC(len + 1))) {
            for (size_t j = 0; j < c; j++) LF_FREE(copy[j]);
            LF_FREE(copy);
            copy = NULL;
            break;
        }
        memcpy(copy[c], names[c], len + 1);
    }
    if (!copy) return lf_fail(&f->err, LF_ERR_NOMEM, "out of memory for %zu class names", n);
    lf_class_names_free(f);
    f->class_names = copy;
    return LF_OK;
}

const char *lf_fusion_class_name(const lf_fusion *f, size_t c) {
    return f && f->class_names && c < f->C ? f->class_names[c] : NULL;
}

void lf_names_free(lf_names *n) {
    if (!n) return;
    for (size_t i = 0; n->names && i < n->n; i++) LF_FREE(n->names[i]);
    LF_FREE(n->names);
    n->names = NULL, n->n = 0;
}

/* Copies the spans into out, each checked as a class name (and, when
 * `distinct`, the names against each other; else they are labels, and
 * the messages say so); `what` and the path word the message. */
static lf_status names_from_spans(const lf_span *sp, size_t n, const char *path, const char *what,
                                  int distinct, lf_names *out, lf_err *e) {
    if (!(out->names = lf_alloc_array(n ? n : 1, sizeof *out->names)))
        return lf_fail(e, LF_ERR_NOMEM, "out of memory for %zu %s", n, distinct ? "class names" : "labels");
    for (size_t i = 0; i < n; i++) {
        const char *why = name_problem(sp[i].s, sp[i].n);
        if (why && distinct) /* lf_class_name_check's words */
            return lf_fail(e, LF_ERR_FORMAT, "'%s': class name %zu %s (%s %zu)", path, i + 1, why, what, i + 1);
        if (why) return lf_fail(e, LF_ERR_FORMAT, "'%s': a label %s (%s %zu)", path, why, what, i + 1);
        if (!(out->names[i] = LF_MALLOC(sp[i].n + 1))) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
        memcpy(out->names[i], sp[i].s, sp[i].n);
        out->names[i][sp[i].n] = '\0';
        out->n = i + 1;
    }
    if (!distinct) return LF_OK;
    size_t a, b;
    lf_status st = lf_class_names_distinct((const char *const *)out->names, n, &a, &b);
    if (st == LF_ERR_NOMEM) return lf_fail(e, st, "out of memory for %zu class names", n);
    if (st != LF_OK)
        return lf_fail(e, st, "'%s': class names %zu and %zu are the same (%ss %zu and %zu): each class needs its own",
                       path, a + 1, b + 1, what, a + 1, b + 1);
    return LF_OK;
}

/* the message of lf_err into the caller's buffer */
static lf_status give(lf_status st, const lf_err *e, char *err, size_t errlen) {
    if (st != LF_OK && err && errlen) snprintf(err, errlen, "%s", e->msg);
    return st;
}

/* The line of t[0..len) that starts at *pos, spaces and tabs trimmed at
 * both ends, as a span; *pos moves to the next line's start (past len at
 * the end).  A line ends at LF, CRLF or a lone CR. */
static lf_span next_line(const char *t, size_t len, size_t *pos) {
    size_t a = *pos, end = a;
    while (end < len && t[end] != '\n' && t[end] != '\r') end++;
    *pos = end + (end + 1 < len && t[end] == '\r' && t[end + 1] == '\n' ? 2 : 1);
    size_t b = end;
    while (a < b && (t[a] == ' ' || t[a] == '\t')) a++;
    while (b > a && (t[b - 1] == ' ' || t[b - 1] == '\t')) b--;
    return (lf_span){t + a, b - a};
}

/* The lines of path as names (lf_names_read), distinct or not (labels). */
static lf_status names_read(const char *path, int distinct, lf_names *out, char *err, size_t errlen) {
    lf_err e;
    const char *what = distinct ? "class name" : "label";
    if (!out || !path) return give(lf_fail(&e, LF_ERR_ARG, "%ss: no path or no output given", what), &e, err, errlen);
    memset(out, 0, sizeof *out);
    unsigned char *buf;
    size_t len;
    lf_status st = lf_io_read_file(path, &buf, &len, &e);
    if (st != LF_OK) return give(st, &e, err, errlen);
    const char *t = (const char *)buf;
    size_t start = len >= 3 && memcmp(t, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0, pos = start, n = 0, lines = 0;
    while (pos < len) { /* n: the lines up to the last that is not blank */
        lines++;
        if (next_line(t, len, &pos).n > 0) n = lines;
    }
    lf_span *sp = lf_alloc_array(n ? n : 1, sizeof *sp);
    if (!sp) st = lf_fail(&e, LF_ERR_NOMEM, "out of memory reading '%s'", path);
    pos = start;
    for (size_t i = 0; st == LF_OK && i < n; i++) sp[i] = next_line(t, len, &pos);
    if (st == LF_OK && n == 0) st = lf_fail(&e, LF_ERR_FORMAT, "'%s' holds no %s", path, what);
    if (st == LF_OK) st = names_from_spans(sp, n, path, "line", distinct, out, &e);
    LF_FREE(sp);
    LF_FREE(buf);
    if (st != LF_OK) lf_names_free(out);
    return give(st, &e, err, errlen);
}

lf_status lf_names_read(const char *path, lf_names *out, char *err, size_t errlen) {
    return names_read(path, 1, out, err, errlen);
}

lf_status lf_label_names_read(const char *path, lf_names *out, char *err, size_t errlen) {
    return names_read(path, 0, out, err, errlen);
}

/* Where the first non-blank line of a CSV text ends: the scan of
 * buf[0..len) from *at (0 at first), *text set once that line holds more
 * than spaces and tabs (the CSV reader's blank); 1 when a line break ends
 * such a line, 0 when more bytes are needed.  A byte order mark (3 bytes,
 * skipped as lf_csv_header skips it) is only judged once 3 bytes are in. */
static int header_line_ends(const unsigned char *buf, size_t len, int eof, size_t *at, int *text) {
    if (*at == 0) {
        if (len < 3 && !eof) return 0;
        if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) *at = 3;
    }
    for (; *at < len; (*at)++) {
        unsigned char c = buf[*at];
        if (c == '\n' || c == '\r') {
            if (*text) return 1;
        } else if (c != ' ' && c != '\t') {
            *text = 1;
        }
    }
    return 0;
}

/* The bytes of the regular file path up to the end of its first non-blank
 * line (all of it when it ends sooner), in a fresh buffer: all that
 * lf_csv_header reads, so a large file costs no more than its header.
 * *full is 0 when HEADER_MAX bytes were read without that line's end.
 * LF_ERR_IO when the file cannot be read (the matrix reader says why). */
static lf_status header_bytes(const char *path, unsigned char **out, size_t *len, int *full, lf_err *e) {
    int fd;
    struct stat sb;
    *out = NULL, *len = 0, *full = 1;
    lf_status st = lf_io_open(path, &fd, &sb, e);
    if (st != LF_OK) return st;
    size_t cap = 0, at = 0;
    int text = 0, eof = 0;
    unsigned char *buf = NULL;
    while (st == LF_OK && !eof && !header_line_ends(buf, *len, eof, &at, &text)) {
        if (*len == cap) {
            if (cap == HEADER_MAX) {
                *full = 0;
                break;
            }
            size_t grown = cap ? (cap * 4 < HEADER_MAX ? cap * 4 : HEADER_MAX) : HEADER_CHUNK;
            unsigned char *b = LF_REALLOC(buf, grown);
            if (!b) {
                st = lf_fail(e, LF_ERR_NOMEM, "out of memory reading the header of '%s'", path);
                break;
            }
            buf = b, cap = grown;
        }
        ssize_t r = read(fd, buf + *len, cap - *len);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) st = lf_fail(e, LF_ERR_IO, "reading '%s': %s", path, strerror(errno));
        else if (r == 0) eof = 1;
        else *len += (size_t)r;
    }
    close(fd);
    if (st != LF_OK) LF_FREE(buf);
    else *out = buf;
    return st;
}

lf_status lf_csv_header_read(const char *path, lf_names *out, char *err, size_t errlen) {
    lf_err e;
    if (!out || !path) return give(lf_fail(&e, LF_ERR_ARG, "CSV header: no path or no output given"), &e, err, errlen);
    memset(out, 0, sizeof *out);
    /* only a regular file holding text has a header to read: standard
     * input and pipes are read once, by the matrix reader; .npy and .npz
     * (told by their magic bytes) have none; a file that cannot be read is
     * the matrix reader's to report */
    struct stat sb;
    if (strcmp(path, "-") == 0 || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return LF_OK;
    unsigned char *buf;
    size_t len;
    int full;
    lf_status st = header_bytes(path, &buf, &len, &full, &e);
    if (st == LF_ERR_IO) return LF_OK;
    if (st != LF_OK) return give(st, &e, err, errlen);
    if ((len >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0) || (len >= 2 && buf[0] == 'P' && buf[1] == 'K')) {
        LF_FREE(buf);
        return LF_OK;
    }
    lf_span *sp = NULL;
    size_t n = 0;
    st = lf_csv_header(buf ? (const char *)buf : "", len, path, &sp, &n, &e);
    /* a first line past the cap: a header of text, cut there, is refused
     * (its end is unknown); a row holding a number is no header */
    if (st == LF_OK && n && !full)
        st = lf_fail(&e, LF_ERR_FORMAT, "'%s': the first line is longer than %zu MiB, too long for a header row",
                     path, HEADER_MAX >> 20);
    if (st == LF_OK && n) st = names_from_spans(sp, n, path, "header column", 1, out, &e);
    LF_FREE(sp);
    LF_FREE(buf);
    if (st != LF_OK) lf_names_free(out);
    return give(st, &e, err, errlen);
}

/* ------------------------------------------------------ labels by name */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

lf_status lf_names_unique(const char *const *labels, size_t N, lf_names *out) {
    if (!out) return LF_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!labels && N) return LF_ERR_ARG;
    const char **v = lf_alloc_array(N ? N : 1, sizeof *v);
    if (!v) return LF_ERR_NOMEM;
    memcpy(v, labels, N * sizeof *v);
    qsort(v, N, sizeof *v, cmp_str);
    size_t n = 0;
    for (size_t i = 0; i < N; i++)
        if (i == 0 || strcmp(v[i], v[i - 1]) != 0) v[n++] = v[i];
    out->names = LF_CALLOC(n ? n : 1, sizeof *out->names);
    lf_status st = out->names ? LF_OK : LF_ERR_NOMEM;
    for (size_t i = 0; st == LF_OK && i < n; i++, out->n = i) {
        size_t len = strlen(v[i]);
        if (!(out->names[i] = LF_MALLOC(len + 1))) st = LF_ERR_NOMEM;
        else memcpy(out->names[i], v[i], len + 1);
    }
    LF_FREE(v);
    if (st != LF_OK) lf_names_free(out);
    return st;
}

lf_status lf_labels_from_names(const char *const *labels, size_t N, const char *const *classes, size_t C,
                               int *y, lf_input_issue *issue) {
    if (issue) memset(issue, 0, sizeof *issue);
    if ((!labels && N) || !classes || !y) return LF_ERR_ARG;
    for (size_t i = 0; i < N; i++) {
        size_t c = 0;
        while (c < C && strcmp(labels[i], classes[c]) != 0) c++;
        if (c == C) {
            if (issue) issue->kind = LF_INPUT_LABEL_NAME, issue->row = i;
            return LF_ERR_FORMAT;
        }
        y[i] = (int)c;
    }
    return LF_OK;
}
