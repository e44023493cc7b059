/*
 * file.c — opening and reading input files with bounds (see file.h).
 *
 * The open uses O_NONBLOCK so that a FIFO without a writer cannot hang the
 * process, and switches the descriptor back to blocking reads once fstat
 * has said what it is.  Only open() and read() touch the file, so the
 * fault-injection build (tests/fault) reaches every failure path.
 */
#include "io/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* What a refused file is, for messages; NULL for what may be read. */
static const char *refused_kind(mode_t mode) {
    if (S_ISREG(mode) || S_ISFIFO(mode)) return NULL;
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

lf_status lf_io_open(const char *path, int *fd, struct stat *sb, lf_err *e) {
    *fd = -1;
    if (!path || !*path) return lf_fail(e, LF_ERR_ARG, "empty input path");
    int f = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (f < 0) return lf_fail(e, LF_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    if (fstat(f, sb) != 0) {
        int err = errno;
        close(f);
        return lf_fail(e, LF_ERR_IO, "cannot read '%s': %s", path, strerror(err));
    }
    const char *kind = refused_kind(sb->st_mode);
    if (kind) {
        close(f);
        if (S_ISDIR(sb->st_mode)) return lf_fail(e, LF_ERR_IO, "cannot read '%s': it is a folder", path);
        return lf_fail(e, LF_ERR_IO, "cannot read '%s': it is %s, not a regular file or a pipe", path, kind);
    }
    int fl = fcntl(f, F_GETFL);
    if (fl < 0 || fcntl(f, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        int err = errno;
        close(f);
        return lf_fail(e, LF_ERR_IO, "cannot read '%s': %s", path, strerror(err));
    }
    *fd = f;
    return LF_OK;
}

lf_status lf_io_read_fd(int fd, const char *name, size_t stream_max, unsigned char **buf, size_t *len,
                        lf_err *e) {
    *buf = NULL;
    *len = 0;
    struct stat st;
    if (fstat(fd, &st) != 0) return lf_fail(e, LF_ERR_IO, "cannot read '%s': %s", name, strerror(errno));
    int regular = S_ISREG(st.st_mode);
    size_t cap; /* bytes of the buffer, one more than the data it may hold */
    if (regular) {
        if (st.st_size < 0 || (uintmax_t)st.st_size >= (uintmax_t)SIZE_MAX)
            return lf_fail(e, LF_ERR_IO, "cannot read '%s': the file is too large", name);
        cap = (size_t)st.st_size + 1;
    } else {
        cap = stream_max < 65536 ? stream_max + 1 : 65536;
    }
    unsigned char *b = lf_alloc_large(cap);
    if (!b) return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s' (%zu bytes)", name, cap - 1);
    size_t n = 0;
    lf_status fail = LF_OK;
    for (;;) {
        if (n == cap - 1) {
            /* full: see whether more follows before growing */
            unsigned char probe;
            ssize_t r = read(fd, &probe, 1);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) goto read_error;
            if (r == 0) break;
            if (!regular && n >= stream_max) {
                fail = lf_fail(e, LF_ERR_IO,
                               "cannot read '%s': it is not a regular file and holds more than %zu bytes "
                               "(save it to a file first)",
                               name, stream_max);
                break;
            }
            if (cap > SIZE_MAX / 2) {
                fail = lf_fail(e, LF_ERR_IO, "cannot read '%s': the file is too large", name);
                break;
            }
            size_t ncap = cap * 2;
            if (!regular && ncap > stream_max + 1) ncap = stream_max + 1; /* > n + 1: see above */
            unsigned char *nb = LF_REALLOC(b, ncap);
            if (!nb) {
                fail = lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", name);
                break;
            }
            b = nb;
            cap = ncap;
            b[n++] = probe;
            continue;
        }
        ssize_t r = read(fd, b + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) goto read_error;
        if (r == 0) break;
        n += (size_t)r;
    }
    if (!fail && n == 0 && S_ISFIFO(st.st_mode))
        fail = lf_fail(e, LF_ERR_IO, "cannot read '%s': it is a pipe or FIFO and nothing was written to it",
                       name);
    if (fail) {
        LF_FREE(b);
        return fail;
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return LF_OK;
read_error: {
    int err = errno;
    LF_FREE(b);
    return lf_fail(e, LF_ERR_IO, "cannot read '%s': %s", name, strerror(err));
}
}

lf_status lf_io_read_file(const char *path, unsigned char **buf, size_t *len, lf_err *e) {
    *buf = NULL;
    *len = 0;
    int fd;
    struct stat sb;
    lf_status st = lf_io_open(path, &fd, &sb, e);
    if (st != LF_OK) return st;
    st = lf_io_read_fd(fd, path, LF_IO_STREAM_MAX, buf, len, e);
    close(fd);
    return st;
}
