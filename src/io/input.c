/*
 * input.c — one matrix input, in any of the forms users have (input.h).
 *
 * Naming: "-" is standard input; a name that exists is that file, even
 * with a ':' in it; otherwise "PATH:KEY" whose PATH exists is the array
 * KEY of the .npz archive PATH.
 *
 * Format, by content: a .npy starts with "\x93NUMPY", a .npz (a ZIP
 * archive) with "PK\3\4" (or "PK\5\6" when empty); anything else is a
 * text table (io/csv.c: commas, or runs of spaces and tabs, so .tsv and
 * whitespace .txt files read too).  The extension is the hint for what
 * the content does not settle: a file named .npy or .npz that does not
 * start with its magic gets that format's own error rather than being
 * read as text.  A regular .npy file is left to the streaming reader
 * (lf_npy_reader_open: row chunks); everything else is
 * read whole, a pipe or standard input up to LF_IO_STREAM_MAX bytes.
 */
#include "io/input.h"
#include "io/csv.h"
#include "io/npy.h"
#include "io/npy_format.h"
#include "io/npz.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#define STDIN_NAME "standard input"

static int has_ext(const char *path, size_t n, const char *ext) {
    size_t k = strlen(ext);
    if (n <= k) return 0;
    for (size_t i = 0; i < k; i++)
        if (tolower((unsigned char)path[n - k + i]) != ext[i]) return 0;
    return 1;
}

static int is_npy(const unsigned char *b, size_t n) {
    return n >= LF_NPY_MAGIC_LEN && memcmp(b, LF_NPY_MAGIC, LF_NPY_MAGIC_LEN) == 0;
}

static int is_zip(const unsigned char *b, size_t n) {
    return n >= 4 && b[0] == 'P' && b[1] == 'K' && ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6));
}

static int exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Splits spec into the file to open (*path, a fresh copy) and an .npz key
 * (*key, pointing into *path's buffer, or NULL). */
static lf_status split(const char *spec, char **path, const char **key, lf_err *e) {
    *key = NULL;
    size_t n = strlen(spec);
    char *p = LF_MALLOC(n + 1);
    if (!p) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    memcpy(p, spec, n + 1);
    char *colon = strrchr(p, ':');
    if (!exists(spec) && colon && colon != p && colon[1]) {
        *colon = 0;
        if (exists(p)) *key = colon + 1;
        else *colon = ':';
    }
    *path = p;
    return LF_OK;
}

char *lf_input_file(const char *spec) {
    char *path = NULL;
    const char *key;
    lf_err e = {{0}};
    return spec && split(spec, &path, &key, &e) == LF_OK ? path : NULL;
}

/* The bytes of one input, whole: by their magic, else by the name's
 * extension, else a text table. */
static lf_status parse(const unsigned char *b, size_t len, const char *name, size_t name_len, const char *key,
                       const char *label, lf_array *out, lf_err *e) {
    if (is_zip(b, len) || (!is_npy(b, len) && has_ext(name, name_len, ".npz")))
        return lf_npz_parse(b, len, key, label, out, e);
    if (key)
        return lf_fail(e, LF_ERR_ARG, "'%s' is not a .npz archive, so ':%s' names no array in it", label, key);
    if (is_npy(b, len) || has_ext(name, name_len, ".npy")) return lf_npy_parse(b, len, label, out, e);
    return lf_csv_parse((const char *)b, len, label, out, e);
}

int lf_input_streams_npy(const char *spec) {
    if (!spec || strcmp(spec, "-") == 0) return 0;
    size_t n = strlen(spec);
    struct stat sb;
    if (stat(spec, &sb) != 0) return has_ext(spec, n, ".npy") && !strchr(spec, ':'); /* the reader's error */
    if (!S_ISREG(sb.st_mode)) return 0; /* a pipe: read whole (folders and devices are refused there) */
    int fd;
    lf_err e = {{0}};
    if (lf_io_open(spec, &fd, &sb, &e) != LF_OK) return has_ext(spec, n, ".npy");
    unsigned char head[LF_NPY_MAGIC_LEN];
    ssize_t r;
    do r = pread(fd, head, sizeof head, 0);
    while (r < 0 && errno == EINTR);
    close(fd);
    if (r == (ssize_t)sizeof head) return is_npy(head, sizeof head);
    return has_ext(spec, n, ".npy");
}

lf_status lf_input_read(const char *spec, lf_array *out, lf_err *e) {
    memset(out, 0, sizeof *out);
    if (!spec || !*spec) return lf_fail(e, LF_ERR_ARG, "empty input path");
    unsigned char *buf;
    size_t len;
    lf_status st;
    if (strcmp(spec, "-") == 0) {
        st = lf_io_read_fd(STDIN_FILENO, STDIN_NAME, LF_IO_STREAM_MAX, &buf, &len, e);
        if (st != LF_OK) return st;
        st = parse(buf, len, "", 0, NULL, STDIN_NAME, out, e);
        LF_FREE(buf);
        return st;
    }
    char *path = NULL;
    const char *key = NULL;
    st = split(spec, &path, &key, e);
    if (st != LF_OK) return st;
    st = lf_io_read_file(path, &buf, &len, e);
    if (st == LF_OK) {
        st = parse(buf, len, path, strlen(path), key, path, out, e);
        LF_FREE(buf);
    }
    LF_FREE(path);
    return st;
}
