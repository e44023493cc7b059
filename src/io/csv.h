/*
 * csv.h — read numeric CSV / whitespace-separated text tables into an
 * lf_array, and write float matrices as CSV.
 *
 * Reading rules (chosen so that both spreadsheet exports and the classic
 * fixed-width UCI files such as mfeat read without options, and so that no
 * row is ever dropped silently):
 *   - a UTF-8 byte order mark at the start is skipped;
 *   - lines end with LF, CRLF or a lone CR (old Mac files);
 *   - the delimiter is ',' when the first non-blank line holds a comma,
 *     otherwise runs of spaces/tabs;
 *   - the first non-blank line is a header, and skipped, when it holds text
 *     and no number (empty fields count for neither); text is a field that
 *     does not start like a number, so a first line that mixes numbers and
 *     text, or holds a malformed number ("0.8O"), is an error naming the
 *     field, never a header;
 *   - numbers are decimal with '.' as decimal point whatever the process
 *     locale, of any length; "nan", "NaN", "NA" and (with ',') empty fields
 *     are NaN; "inf"/"-inf" are +-Inf (callers check finiteness); values
 *     beyond float32 and hexadecimal numbers ("0x1p-3") are errors;
 *   - a comma ending every data row (an empty last field) is no field; one
 *     ending only some rows is an error (judged on the first row holding a
 *     value: a row of empty fields fits either way);
 *   - a missing final newline, leading blank lines and trailing blank
 *     lines are accepted; a blank line between data rows, ragged rows, text
 *     fields and NUL bytes are errors naming the 1-based row (line number
 *     in the file) and column.
 */
#ifndef LF_IO_CSV_H
#define LF_IO_CSV_H

#include "io/array.h"

/* Parses len bytes of text (need not be NUL-terminated).  is_integer is 1
 * when every value is an integer literal of magnitude <= 2^24 (so exact in
 * float32).  `name_for_messages` may be NULL.  On failure *out is zeroed;
 * the status is LF_ERR_FORMAT (malformed content) or LF_ERR_NOMEM. */
lf_status lf_csv_parse(const char *text, size_t len, const char *name_for_messages, lf_array *out,
                       lf_err *e);

/* Reads and parses a file (LF_ERR_IO if it cannot be read). */
lf_status lf_csv_read(const char *path, lf_array *out, lf_err *e);

/* Writes rows x cols values, ',' separated, one row per line, each as
 * "%.9g" (round-trips float32 exactly) with '.' whatever the locale.  No
 * header.  Atomic (see atomic.h). */
lf_status lf_csv_write(const char *path, const float *data, size_t rows, size_t cols, lf_err *e);

/* A stretch of bytes inside a caller's text. */
typedef struct lf_span {
    const char *s;
    size_t n;
} lf_span;

/* The header row of CSV text, as parse_table judges it (the first
 * non-blank line, a header when it holds text and no number): its fields,
 * trimmed, pointing into text, in a fresh array *fields (LF_FREE) of *n;
 * *n = 0 (and *fields NULL) when there is no header. */
lf_status lf_csv_header(const char *text, size_t len, const char *name, lf_span **fields, size_t *n, lf_err *e);

#endif
