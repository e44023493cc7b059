/*
 * atomic.h — write a file so that it either appears whole or not at all.
 *
 * Data go to a temporary file beside the target ("<path>.tmp-XXXXXX"),
 * which commit fsyncs, renames over the target and then fsyncs the folder
 * (both fsyncs are skipped with LF_WRITE_NO_FSYNC).
 * abort (or any failure) removes the temporary file; the target is never
 * touched until the rename.
 */
#ifndef LF_ATOMIC_H
#define LF_ATOMIC_H

#include "internal.h"
#include <stdio.h>

typedef struct lf_atomic_file {
    FILE *f;
    char *path;     /* the target */
    char *tmp_path; /* the temporary file */
    int failed;     /* a write failed: commit refuses */
    char *buf;      /* the stream's buffer (owned; may be NULL) */
    unsigned flags; /* LF_WRITE_* of lf_atomic_open_flags */
} lf_atomic_file;

lf_status lf_atomic_open(lf_atomic_file *af, const char *path, lf_err *e);
/* The same with LF_WRITE_* flags (latefuse.h): LF_WRITE_NO_FSYNC keeps the
 * temporary file and the rename (a failed run still leaves no partial
 * file, and readers see the old file or the whole new one) but skips the
 * fsync of the file and of its folder: after a machine crash soon after,
 * the target may hold the old contents or, depending on the file system,
 * an empty or partial file. */
lf_status lf_atomic_open_flags(lf_atomic_file *af, const char *path, unsigned flags, lf_err *e);
/* Appends n bytes; on failure records it, and commit then fails. */
lf_status lf_atomic_write(lf_atomic_file *af, const void *data, size_t n, lf_err *e);
/* Flushes, fsyncs, renames onto the target; frees af.  On failure the
 * temporary file is removed and the target left as it was. */
lf_status lf_atomic_commit(lf_atomic_file *af, lf_err *e);
/* Discards the temporary file; frees af.  Safe on a zeroed af. */
void lf_atomic_abort(lf_atomic_file *af);

#endif
