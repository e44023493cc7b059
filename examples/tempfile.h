/*
 * tempfile.h — the examples' temporary output file: mfeat.c and webnews.c
 * write their tables and CSV files into a new file beside the named
 * output and rename it into place when it is whole, as the library does
 * for its own outputs; a write past the file size limit (ulimit -f) is a
 * write error like a full disk (write_errors_not_signals).  Header-only, included by each example (one
 * program per file, built against the public header alone).
 */
#ifndef LF_EXAMPLES_TEMPFILE_H
#define LF_EXAMPLES_TEMPFILE_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* A new temporary file beside `path` ("<path>.tmp-XXXXXX", its name into
 * tmp), never one of the user's files, with the mode a new file gets
 * (0666 & ~umask; mkstemp's is 0600).  NULL (errno set) on failure, with
 * nothing left. */
static FILE *open_temp(const char *path, char *tmp, size_t len) {
    snprintf(tmp, len, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) return NULL;
    mode_t um = umask(0);
    umask(um);
    FILE *f = fchmod(fd, 0666 & ~um) == 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int err = errno;
        close(fd);
        unlink(tmp);
        errno = err;
    }
    return f;
}

/* A write past the file size limit (ulimit -f) fails with EFBIG ("File
 * too large") instead of raising SIGXFSZ, whose default action ends the
 * process where it writes and leaves its temporary file behind: the
 * example then reports "cannot write 'FILE': File too large", removes the
 * temporary file and leaves the old output whole, as after a full disk
 * (the library's own outputs likewise).  Called first in main. */
static void write_errors_not_signals(void) { signal(SIGXFSZ, SIG_IGN); }

#endif
