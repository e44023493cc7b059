/*
 * atomic.h — write a file so that it either appears whole or not at all.
 *
 * Data go to a temporary file beside the target ("<path>.tmp-XXXXXX", the
 * last component cut to stay within NAME_MAX), which commit fsyncs, renames
 * over the target and then fsyncs the folder (both fsyncs are skipped with
 * LF_WRITE_NO_FSYNC).  abort (or any failure) removes the temporary file;
 * the target is never touched until the rename.
 *
 * Targets: a new file gets mode 0666 & ~umask; a replaced regular file
 * keeps its mode (and, where allowed, its owner); a symbolic link is
 * followed and the file it points to replaced (the link stays); a folder is
 * refused at open.  An existing target that is not a regular file (a
 * device such as /dev/null, a FIFO, a socket) and standard output
 * (LF_ATOMIC_STDOUT) are written through, as the data come, never
 * replaced: a failure there cannot be undone, and pwrite needs a seekable
 * target.
 *
 * Data are appended through a stdio stream (lf_atomic_write), or, for
 * several threads filling one file, written at their offsets with pwrite
 * (lf_atomic_pwrite) after the stream is flushed.
 */
#ifndef LF_ATOMIC_H
#define LF_ATOMIC_H

#include "internal.h"
#include <stdint.h>
#include <stdio.h>

/* An lf_atomic_open flag beside the public LF_WRITE_*: write to
 * standard output (a duplicate of descriptor 1); the path only names it in
 * messages. */
#define LF_ATOMIC_STDOUT (1u << 30)

typedef struct lf_atomic_file {
    FILE *f;
    char *path;     /* the target as given (messages) */
    char *target;   /* the file that the rename replaces: path with its links followed */
    char *tmp_path; /* the temporary file (NULL when written through) */
    int through;    /* written straight to the target (no temporary file) */
    int failed;     /* a write failed: commit refuses */
    int finished;   /* lf_atomic_finish succeeded: the file is closed, not yet renamed */
    char *buf;      /* the stream's buffer (owned; may be NULL) */
    unsigned flags; /* LF_WRITE_* of lf_atomic_open */
} lf_atomic_file;

/* Opens the temporary file (or the target written through).  flags: 0 or
 * LF_WRITE_* (latefuse.h), plus LF_ATOMIC_STDOUT; others are LF_ERR_ARG.
 * LF_WRITE_NO_FSYNC keeps the temporary file and the rename (a failed run
 * still leaves no partial file, and readers see the old file or the whole
 * new one) but skips the fsync of the file and of its folder: after a
 * machine crash soon after, the target may hold the old contents or,
 * depending on the file system, an empty or partial file. */
/* The path a save at `path` replaces, as a fresh string: its last
 * component followed through its symbolic links (at most 40), so that the
 * rename replaces the file a link points to and keeps the link; a dangling
 * link gives the path its target would have.  NULL (errno set) on a loop
 * or out of memory.  (lf_output_is_input and lf_outputs_same ask it where
 * an output lands.) */
char *lf_atomic_target(const char *path);

lf_status lf_atomic_open(lf_atomic_file *af, const char *path, unsigned flags, lf_err *e);
/* Says that the file will hold `bytes` bytes, so that the file system
 * allocates its blocks at once (best effort; nothing on failure or where
 * unsupported).  On Linux, fallocate(FALLOC_FL_KEEP_SIZE): the size still
 * grows as data come.  Besides failing early on a full disk, on ext4 it
 * makes the buffered writes cheaper (no per-page delayed-allocation
 * reservation) and the rename over an existing target cheap: ext4
 * (auto_da_alloc) otherwise starts writing the new file's
 * delayed-allocation blocks to disk inside rename(), even with
 * LF_WRITE_NO_FSYNC (measurements in bench/README.md). */
void lf_atomic_reserve(lf_atomic_file *af, uint64_t bytes);
/* Appends n bytes; on failure records it, and commit then fails. */
lf_status lf_atomic_write(lf_atomic_file *af, const void *data, size_t n, lf_err *e);
/* Flushes the stream: what lf_atomic_write appended is in the file.  On
 * failure records it, and commit then fails. */
lf_status lf_atomic_flush(lf_atomic_file *af, lf_err *e);
/* Writes n bytes at offset off of the file, bypassing the stream (flush it
 * first if it wrote anything).  Calls for disjoint ranges may run on
 * several threads at once: af is only read, and a failure is only returned
 * (the caller must then abort). */
lf_status lf_atomic_pwrite(const lf_atomic_file *af, const void *data, size_t n, uint64_t off,
                           lf_err *e);
/* The part of commit that can fail for the data's sake: flush, fsync
 * (unless LF_WRITE_NO_FSYNC), close.  The temporary file stays for
 * commit (or abort) to rename (remove): finishing every output first lets
 * several of them appear together.  On failure the temporary file is
 * removed and af freed. */
lf_status lf_atomic_finish(lf_atomic_file *af, lf_err *e);
/* Finishes (unless done), renames onto the target, fsyncs its folder
 * (unless LF_WRITE_NO_FSYNC); frees af.  On failure the temporary file is
 * removed and the target left as it was. */
lf_status lf_atomic_commit(lf_atomic_file *af, lf_err *e);
/* Discards the temporary file; frees af.  Safe on a zeroed af. */
void lf_atomic_abort(lf_atomic_file *af);

#endif
