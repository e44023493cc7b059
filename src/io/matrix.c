/*
 * matrix.c — the public file calls for deployers: lf_matrix_read (any input
 * io/input.h reads: .npy, .npz member, text table, standard input),
 * lf_npy_save, lf_npy_save_all (several files, all or nothing), and
 * lf_folds_stratified (cv.c's split): thin wrappers over io/input.h,
 * io/npy.h and fusion/cv.h that copy the message into the
 * caller's buffer; and lf_output_is_input / lf_outputs_same, where an
 * output lands (the target atomic.c's rename replaces) against where an
 * input reads (io/input.h's naming).
 */
#include "fusion/cv.h"
#include "io/atomic.h"
#include "io/input.h"
#include "io/npy.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static lf_status give(lf_status st, const lf_err *e, char *err, size_t errlen) {
    if (st != LF_OK && err && errlen) snprintf(err, errlen, "%s", e->msg[0] ? e->msg : lf_status_string(st));
    return st;
}

/* A .npy opened once: a C-order file read() straight into the floats,
 * chunk by chunk (no copy of the file's bytes beside them, and no mapping:
 * its page faults would only add to the one copy), a Fortran-order one
 * whole through the same descriptor. */
static lf_status read_npy(const char *path, lf_array *out, lf_err *e) {
    lf_npy_reader r;
    lf_status st = lf_npy_reader_open(&r, path, LF_NPY_ANY_ORDER | LF_NPY_NO_MMAP, e);
    if (st != LF_OK) return st;
    if (r.fortran) {
        st = lf_npy_reader_load(&r, out, e);
        lf_npy_reader_close(&r);
        return st;
    }
    size_t cells, bytes;
    float *data = NULL; /* every value read before use: not zeroed first */
    if (!lf_mul_ok(r.rows, r.cols, &cells) || !lf_mul_ok(cells ? cells : 1, sizeof *data, &bytes) ||
        !(data = lf_alloc_large(bytes)))
        st = lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", path);
    for (size_t r0 = 0; st == LF_OK && r0 < r.rows; r0 += 65536) {
        size_t n = r.rows - r0 < 65536 ? r.rows - r0 : 65536;
        st = lf_npy_reader_rows(&r, data + r0 * r.cols, n, e);
    }
    if (st == LF_OK) *out = (lf_array){data, r.rows, r.cols, r.is_integer};
    else LF_FREE(data);
    lf_npy_reader_close(&r);
    return st;
}

lf_status lf_matrix_read(const char *path, lf_matrix *out, char *err, size_t errlen) {
    lf_err e = {{0}};
    if (!out) return give(lf_fail(&e, LF_ERR_ARG, "no matrix to read into"), &e, err, errlen);
    memset(out, 0, sizeof *out);
    if (!path || !*path) return give(lf_fail(&e, LF_ERR_ARG, "empty input path"), &e, err, errlen);
    lf_array a = {0};
    /* a .npy file opened once: rows as they come for C order, whole otherwise */
    lf_status st = lf_input_streams_npy(path) ? read_npy(path, &a, &e) : lf_input_read(path, &a, &e);
    if (st != LF_OK) return give(st, &e, err, errlen);
    out->data = a.data, out->rows = a.rows, out->cols = a.cols, out->is_integer = a.is_integer;
    return LF_OK;
}

void lf_matrix_free(lf_matrix *m) {
    if (!m) return;
    LF_FREE(m->data);
    memset(m, 0, sizeof *m);
}

lf_status lf_npy_save(const char *path, const float *data, size_t rows, size_t cols, unsigned flags,
                      char *err, size_t errlen) {
    lf_err e = {{0}};
    if (!path || (!data && rows && cols)) return give(lf_fail(&e, LF_ERR_ARG, "no path or data"), &e, err, errlen);
    if (flags & ~LF_WRITE_NO_FSYNC) return give(lf_fail(&e, LF_ERR_ARG, "unknown flags 0x%x", flags), &e, err, errlen);
    unsigned f = flags | (strcmp(path, "-") == 0 ? LF_ATOMIC_STDOUT : 0);
    return give(lf_npy_write(path, data, rows, cols, f, &e), &e, err, errlen);
}

/* a target written as the data come, not replaced (atomic.h): an existing
 * device, FIFO or socket */
static int written_through(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode);
}

/* The files lf_npy_save_all renamed before a rename failed, after the
 * message in e: "; 'a' and 'b' were replaced before it, the others were
 * not". */
static void name_renamed(lf_err *e, const lf_npy_file *files, const size_t *order, size_t done) {
    size_t len = strlen(e->msg);
    for (size_t k = 0; k < done && len < sizeof e->msg; k++)
        len += (size_t)snprintf(e->msg + len, sizeof e->msg - len, "%s'%s'",
                                k == 0 ? "; " : k + 1 < done ? ", " : " and ", files[order[k]].path);
    if (done && len < sizeof e->msg)
        snprintf(e->msg + len, sizeof e->msg - len, " %s replaced before it, the others were not",
                 done > 1 ? "were" : "was");
}

static lf_status save_all(const lf_npy_file *files, size_t n, unsigned flags, lf_temp_fn temp, void *ctx,
                          lf_err *e) {
    if (n && !files) return lf_fail(e, LF_ERR_ARG, "no files given");
    if (flags & ~LF_WRITE_NO_FSYNC) return lf_fail(e, LF_ERR_ARG, "unknown flags 0x%x", flags);
    for (size_t k = 0; k < n; k++) {
        const lf_npy_file *f = &files[k];
        if (!f->path || !*f->path || (!f->data && f->rows && f->cols))
            return lf_fail(e, LF_ERR_ARG, "file %zu of %zu has no path or no data", k + 1, n);
        if (strcmp(f->path, "-") == 0)
            return lf_fail(e, LF_ERR_ARG, "file %zu of %zu is '-': standard output cannot be taken back if "
                                          "another file fails", k + 1, n);
        for (size_t j = 0; j < k; j++)
            if (lf_outputs_same(f->path, files[j].path))
                return lf_fail(e, LF_ERR_ARG, "'%s' and '%s' are the same file", files[j].path, f->path);
    }
    lf_npy_writer *w = LF_CALLOC(n ? n : 1, sizeof *w);
    size_t *order = LF_MALLOC((n ? n : 1) * sizeof *order); /* the files in the order they are opened */
    if (!w || !order) {
        LF_FREE(w), LF_FREE(order);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory writing %zu files", n);
    }
    /* the files replaced through a temporary file first, complete, then
     * those written through (which cannot be taken back) */
    size_t opened = 0;
    lf_status st = LF_OK;
    for (int pass = 0; pass < 2 && st == LF_OK; pass++)
        for (size_t k = 0; k < n && st == LF_OK; k++) {
            const lf_npy_file *f = &files[k];
            int thru = written_through(f->path);
            if (thru != pass) continue;
            if (!thru && temp) temp(ctx, LF_TEMP_CREATING, f->path, 0);
            st = lf_npy_writer_open(&w[k], f->path, f->rows, f->cols, flags, e);
            if (!thru && temp) temp(ctx, LF_TEMP_CREATED, st == LF_OK ? w[k].af.tmp_path : NULL, st == LF_OK);
            if (st != LF_OK) break;
            order[opened++] = k;
            st = lf_npy_writer_rows(&w[k], f->data, f->rows, e);
            if (st == LF_OK) st = lf_npy_writer_finish(&w[k], e); /* on failure: removed, released */
        }
    int renaming = st == LF_OK;
    if (renaming) {
        if (temp) temp(ctx, LF_TEMP_RENAMING, NULL, 0);
        size_t done = 0;
        while (done < opened && (st = lf_npy_writer_commit(&w[order[done]], e)) == LF_OK) done++;
        if (st != LF_OK) name_renamed(e, files, order, done);
    }
    for (size_t k = 0; k < n; k++) lf_npy_writer_abort(&w[k]); /* the temporary files left, if any */
    if (temp) temp(ctx, renaming ? LF_TEMP_RENAMED : LF_TEMP_DISCARDED, NULL, st == LF_OK);
    LF_FREE(w), LF_FREE(order);
    return st;
}

lf_status lf_npy_save_all(const lf_npy_file *files, size_t n, unsigned flags, lf_temp_fn temp, void *temp_ctx,
                          char *err, size_t errlen) {
    lf_err e = {{0}};
    return give(save_all(files, n, flags, temp, temp_ctx, &e), &e, err, errlen);
}

lf_status lf_folds_stratified(const int *y, size_t N, size_t C, size_t K, uint64_t seed, size_t *fold,
                              char *err, size_t errlen) {
    lf_err e = {{0}};
    return give(lf_stratified_kfold(y, N, C, K, seed, fold, &e), &e, err, errlen);
}

/* ------------------------------------------- where an output lands */

/* Where a write at `path` lands (through its links): the file's device
 * and inode when it exists ("-": standard output's), else its folder's
 * and its last name (in l->name: freed by the caller).  0 when that
 * cannot be told (a loop, a missing folder, no memory). */
typedef struct landing {
    int exists;
    dev_t dev;
    ino_t ino;
    char *name;
} landing;

static int land(const char *path, landing *l) {
    memset(l, 0, sizeof *l);
    struct stat sb;
    if (!path) return 0;
    if (strcmp(path, "-") == 0) { /* standard output: what it is open on */
        if (fstat(STDOUT_FILENO, &sb) != 0) return 0;
        l->exists = 1, l->dev = sb.st_dev, l->ino = sb.st_ino;
        return 1;
    }
    if (stat(path, &sb) == 0) { /* through every link (/dev/stdout's too, whose target is no path) */
        l->exists = 1, l->dev = sb.st_dev, l->ino = sb.st_ino;
        return 1;
    }
    char *p = lf_atomic_target(path); /* not there: the file a save would create */
    if (!p) return 0;
    char *slash = strrchr(p, '/');
    int ok;
    if (!slash) {
        ok = stat(".", &sb) == 0;
        l->name = p;
    } else {
        l->name = lf_strdup(slash + 1);
        if (slash == p) slash++; /* "/name": the root */
        char keep = *slash;
        *slash = '\0';
        ok = l->name && stat(p, &sb) == 0;
        *slash = keep;
        LF_FREE(p);
    }
    if (!ok) {
        LF_FREE(l->name);
        return 0;
    }
    l->dev = sb.st_dev, l->ino = sb.st_ino;
    return 1;
}

static int same_landing(const char *a, const char *b) {
    landing x, y;
    int ka = land(a, &x), kb = ka && land(b, &y);
    int same = ka && kb && x.exists == y.exists && x.dev == y.dev && x.ino == y.ino &&
               (x.exists || strcmp(x.name, y.name) == 0);
    if (ka) LF_FREE(x.name);
    if (kb) LF_FREE(y.name);
    return same;
}

int lf_outputs_same(const char *out, const char *b) { return same_landing(out, b); }

int lf_output_is_input(const char *out, const char *input) {
    if (!out || !input || strcmp(input, "-") == 0) return 0;
    char *file = lf_input_file(input);
    int same = file && same_landing(out, file);
    LF_FREE(file);
    return same;
}
