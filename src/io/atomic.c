/*
 * atomic.c — temporary file + fsync + rename, so that a crash or an error
 * while saving never leaves a half-written file (see atomic.h).
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* fallocate */
#endif
#include "io/atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ATOMIC_BUF ((size_t)1 << 20)

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = LF_MALLOC(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void release(lf_atomic_file *af) {
    LF_FREE(af->buf); /* the stream is closed by now */
    LF_FREE(af->path);
    LF_FREE(af->tmp_path);
    memset(af, 0, sizeof *af);
}

lf_status lf_atomic_open(lf_atomic_file *af, const char *path, lf_err *e) {
    return lf_atomic_open_flags(af, path, 0, e);
}

lf_status lf_atomic_open_flags(lf_atomic_file *af, const char *path, unsigned flags, lf_err *e) {
    memset(af, 0, sizeof *af);
    if (flags & ~(unsigned)LF_WRITE_NO_FSYNC)
        return lf_fail(e, LF_ERR_ARG, "unknown write flags 0x%x for '%s'", flags & ~(unsigned)LF_WRITE_NO_FSYNC,
                       path ? path : "");
    if (!path || !*path) return lf_fail(e, LF_ERR_ARG, "empty output path");
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) /* found now, not at the rename */
        return lf_fail(e, LF_ERR_IO, "cannot replace '%s': it is a folder", path);
    size_t n = strlen(path);
    af->path = dup_str(path);
    af->tmp_path = LF_MALLOC(n + 16);
    if (!af->path || !af->tmp_path) {
        release(af);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory opening '%s'", path);
    }
    memcpy(af->tmp_path, path, n);
    memcpy(af->tmp_path + n, ".tmp-XXXXXX", 12);
    int fd = mkstemp(af->tmp_path);
    if (fd < 0) {
        int err = errno;
        lf_status st = lf_fail(e, LF_ERR_IO, "cannot create a temporary file beside '%s': %s", path,
                               strerror(err));
        release(af);
        return st;
    }
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        close(fd);
        unlink(af->tmp_path);
        release(af);
        return lf_fail(e, LF_ERR_NOMEM, "cannot open a stream on the temporary file for '%s'", path);
    }
    /* large outputs: 1 MiB writes instead of stdio's 4 KiB (best effort;
     * glibc ignores the size unless it is given the buffer) */
    af->buf = LF_MALLOC(ATOMIC_BUF);
    if (af->buf) setvbuf(af->f, af->buf, _IOFBF, ATOMIC_BUF);
    af->flags = flags;
    return LF_OK;
}

void lf_atomic_reserve(lf_atomic_file *af, uint64_t bytes) {
#if defined(__linux__) && defined(FALLOC_FL_KEEP_SIZE)
    if (af->f && bytes > 0 && bytes <= (uint64_t)INT64_MAX)
        (void)fallocate(fileno(af->f), FALLOC_FL_KEEP_SIZE, 0, (off_t)bytes);
#else
    (void)af, (void)bytes;
#endif
}

lf_status lf_atomic_write(lf_atomic_file *af, const void *data, size_t n, lf_err *e) {
    if (af->failed) return lf_fail(e, LF_ERR_IO, "writing '%s' failed earlier", af->path);
    if (n && fwrite(data, 1, n, af->f) != n) {
        af->failed = 1;
        return lf_fail(e, LF_ERR_IO, "cannot write '%s': %s", af->path, strerror(errno));
    }
    return LF_OK;
}

lf_status lf_atomic_flush(lf_atomic_file *af, lf_err *e) {
    if (af->failed) return lf_fail(e, LF_ERR_IO, "writing '%s' failed earlier", af->path);
    if (fflush(af->f) != 0) {
        af->failed = 1;
        return lf_fail(e, LF_ERR_IO, "cannot write '%s': %s", af->path, strerror(errno));
    }
    return LF_OK;
}

lf_status lf_atomic_pwrite(const lf_atomic_file *af, const void *data, size_t n, uint64_t off,
                           lf_err *e) {
    const unsigned char *p = data;
    int fd = fileno(af->f);
    while (n) {
        if (n > (uint64_t)INT64_MAX || off > (uint64_t)INT64_MAX - n)
            return lf_fail(e, LF_ERR_IO, "cannot write '%s': offset too large", af->path);
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return lf_fail(e, LF_ERR_IO, "cannot write '%s': %s", af->path, strerror(errno));
        if (w == 0) return lf_fail(e, LF_ERR_IO, "cannot write '%s': no byte was written", af->path);
        p += w, n -= (size_t)w, off += (uint64_t)w;
    }
    return LF_OK;
}

void lf_atomic_abort(lf_atomic_file *af) {
    if (af->f) fclose(af->f);
    if (af->tmp_path) unlink(af->tmp_path);
    release(af);
}

lf_status lf_atomic_finish(lf_atomic_file *af, lf_err *e) {
    lf_status st = LF_OK;
    if (af->finished) return LF_OK;
    if (!af->f) return lf_fail(e, LF_ERR_STATE, "the output file is not open");
    if (af->failed)
        st = lf_fail(e, LF_ERR_IO, "writing '%s' failed", af->path);
    else if (fflush(af->f) != 0 || (!(af->flags & LF_WRITE_NO_FSYNC) && fsync(fileno(af->f)) != 0))
        st = lf_fail(e, LF_ERR_IO, "cannot write '%s': %s", af->path, strerror(errno));
    if (st != LF_OK) {
        lf_atomic_abort(af);
        return st;
    }
    int rc = fclose(af->f);
    af->f = NULL;
    if (rc != 0) {
        st = lf_fail(e, LF_ERR_IO, "cannot write '%s': %s", af->path, strerror(errno));
        lf_atomic_abort(af);
        return st;
    }
    af->finished = 1;
    return LF_OK;
}

lf_status lf_atomic_commit(lf_atomic_file *af, lf_err *e) {
    lf_status st = lf_atomic_finish(af, e);
    if (st != LF_OK) return st;
    if (rename(af->tmp_path, af->path) != 0) {
        st = lf_fail(e, LF_ERR_IO, "cannot replace '%s': %s", af->path, strerror(errno));
        lf_atomic_abort(af);
        return st;
    }
    if (af->flags & LF_WRITE_NO_FSYNC) {
        release(af);
        return LF_OK;
    }
    /* make the rename durable: fsync the folder (best effort) */
    char *slash = strrchr(af->path, '/');
    const char *dir = ".";
    if (slash) {
        if (slash == af->path) dir = "/";
        else {
            *slash = '\0';
            dir = af->path;
        }
    }
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    release(af);
    return LF_OK;
}
