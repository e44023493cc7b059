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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define ATOMIC_BUF ((size_t)1 << 20)

static void release(lf_atomic_file *af) {
    LF_FREE(af->buf); /* the stream is closed by now */
    LF_FREE(af->path);
    LF_FREE(af->tmp_path);
    LF_FREE(af->target);
    memset(af, 0, sizeof *af);
}

/* (atomic.h) */
char *lf_atomic_target(const char *path) {
    char *p = lf_strdup(path);
    for (int hops = 0; p && hops < 40; hops++) {
        struct stat sb;
        if (lstat(p, &sb) != 0 || !S_ISLNK(sb.st_mode)) return p;
        size_t cap = sb.st_size > 0 ? (size_t)sb.st_size + 1 : 256;
        char *link = LF_MALLOC(cap);
        ssize_t n = link ? readlink(p, link, cap) : -1;
        if (n < 0 || (size_t)n >= cap) { /* changed under us: give up on it */
            LF_FREE(link);
            LF_FREE(p);
            errno = n < 0 ? errno : EAGAIN;
            return NULL;
        }
        link[n] = '\0';
        char *slash = strrchr(p, '/');
        if (link[0] == '/' || !slash) {
            LF_FREE(p);
            p = link;
            continue;
        }
        size_t dn = (size_t)(slash - p) + 1; /* keeps the '/' */
        char *q = LF_MALLOC(dn + (size_t)n + 1);
        if (q) {
            memcpy(q, p, dn);
            memcpy(q + dn, link, (size_t)n + 1);
        }
        LF_FREE(link);
        LF_FREE(p);
        p = q;
    }
    if (p) {
        LF_FREE(p);
        errno = ELOOP;
    }
    return NULL;
}

/* A name for the temporary file beside `target`: "<target>.tmp-XXXXXX",
 * with the last component cut so that it stays within NAME_MAX (255) bytes
 * whatever the target's length; XXXXXX from the clock, the process and the
 * attempt.  Created with O_EXCL and mode 0666, so that the umask applies as
 * for any new file. */
#define TMP_SUFFIX ".tmp-XXXXXX"
#define NAME_LIMIT 255
static int create_temp(const char *target, char *tmp) {
    const char *base = strrchr(target, '/');
    size_t dn = base ? (size_t)(base - target) + 1 : 0;
    size_t bn = strlen(target) - dn, sn = sizeof TMP_SUFFIX - 1;
    if (bn > NAME_LIMIT - sn) bn = NAME_LIMIT - sn;
    memcpy(tmp, target, dn + bn);
    char *x = tmp + dn + bn;
    memcpy(x, TMP_SUFFIX, sn + 1);
    x += 5; /* the XXXXXX */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t r = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 12) ^
                 (uint64_t)(uintptr_t)tmp;
    static const char digits[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t z = (r += 0x9E3779B97F4A7C15ull); /* splitmix64 */
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        for (int i = 0; i < 6; i++, z /= 62) x[i] = digits[z % 62];
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

/* Opens an existing target that is not a regular file (a character or
 * block device, a FIFO, a socket) for writing through it. */
static int open_through(const char *path, const struct stat *sb) {
    int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0 || !S_ISSOCK(sb->st_mode)) return fd;
    struct sockaddr_un sa;
    if (strlen(path) >= sizeof sa.sun_path) return errno = ENAMETOOLONG, -1;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (const struct sockaddr *)&sa, sizeof sa) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

lf_status lf_atomic_open(lf_atomic_file *af, const char *path, unsigned flags, lf_err *e) {
    memset(af, 0, sizeof *af);
    const unsigned known = (unsigned)LF_WRITE_NO_FSYNC | LF_ATOMIC_STDOUT;
    if (flags & ~known)
        return lf_fail(e, LF_ERR_ARG, "unknown write flags 0x%x for '%s'", flags & ~known, path ? path : "");
    if (!path || !*path) return lf_fail(e, LF_ERR_ARG, "empty output path");
    struct stat sb;
    int fd = -1, exists = !(flags & LF_ATOMIC_STDOUT) && stat(path, &sb) == 0;
    if (exists && S_ISDIR(sb.st_mode)) /* found now, not at the rename */
        return lf_fail(e, LF_ERR_IO, "cannot replace '%s': it is a folder", path);
    af->path = lf_strdup(path);
    if (!af->path) return lf_fail(e, LF_ERR_NOMEM, "out of memory opening '%s'", path);
    af->flags = flags;
    if ((flags & LF_ATOMIC_STDOUT) || (exists && !S_ISREG(sb.st_mode))) {
        /* standard output, a device, a FIFO, a socket: written through */
        af->through = 1;
        fd = (flags & LF_ATOMIC_STDOUT) ? fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3) : open_through(path, &sb);
        if (fd < 0) {
            int err = errno;
            release(af);
            return lf_fail(e, LF_ERR_IO, "cannot open '%s' for writing: %s", path, strerror(err));
        }
    } else {
        char *target = lf_atomic_target(path); /* a symbolic link: its target is replaced */
        if (!target) {
            int err = errno;
            release(af);
            if (err == ENOMEM) return lf_fail(e, LF_ERR_NOMEM, "out of memory opening '%s'", path);
            return lf_fail(e, LF_ERR_IO, "cannot follow the link '%s': %s", path, strerror(err));
        }
        af->target = target;
        af->tmp_path = LF_MALLOC(strlen(target) + sizeof TMP_SUFFIX);
        if (!af->tmp_path) {
            release(af);
            return lf_fail(e, LF_ERR_NOMEM, "out of memory opening '%s'", path);
        }
        fd = create_temp(target, af->tmp_path);
        if (fd < 0) {
            int err = errno;
            lf_status st = lf_fail(e, LF_ERR_IO, "cannot create a temporary file beside '%s': %s", path,
                                   strerror(err));
            release(af); /* nothing was created */
            return st;
        }
        /* a replaced file keeps its permissions (and, best effort, owner) */
        if (exists && fchmod(fd, sb.st_mode & 07777) != 0) {
            int err = errno;
            close(fd);
            unlink(af->tmp_path);
            release(af);
            return lf_fail(e, LF_ERR_IO, "cannot give the new '%s' the old one's permissions: %s", path,
                           strerror(err));
        }
        if (exists && (sb.st_uid != geteuid() || sb.st_gid != getegid())) {
            (void)!fchown(fd, sb.st_uid, sb.st_gid);
            (void)fchmod(fd, sb.st_mode & 07777); /* chown clears set-id bits */
        }
    }
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        close(fd);
        if (af->tmp_path) unlink(af->tmp_path);
        release(af);
        return lf_fail(e, LF_ERR_NOMEM, "cannot open a stream on the output file '%s'", path);
    }
    /* large outputs: 1 MiB writes instead of stdio's 4 KiB (best effort;
     * glibc ignores the size unless it is given the buffer) */
    af->buf = LF_MALLOC(ATOMIC_BUF);
    if (af->buf) setvbuf(af->f, af->buf, _IOFBF, ATOMIC_BUF);
    return LF_OK;
}

void lf_atomic_reserve(lf_atomic_file *af, uint64_t bytes) {
#if defined(__linux__) && defined(FALLOC_FL_KEEP_SIZE)
    if (af->f && !af->through && bytes > 0 && bytes <= (uint64_t)INT64_MAX)
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
    else if (fflush(af->f) != 0 || (!(af->flags & LF_WRITE_NO_FSYNC) && !af->through && fsync(fileno(af->f)) != 0))
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
    if (af->through) { /* written as it came: nothing to rename */
        release(af);
        return LF_OK;
    }
    if (rename(af->tmp_path, af->target) != 0) {
        st = lf_fail(e, LF_ERR_IO, "cannot replace '%s': %s", af->path, strerror(errno));
        lf_atomic_abort(af);
        return st;
    }
    if (af->flags & LF_WRITE_NO_FSYNC) {
        release(af);
        return LF_OK;
    }
    /* make the rename durable: fsync the folder (best effort) */
    char *slash = strrchr(af->target, '/');
    const char *dir = ".";
    if (slash) {
        if (slash == af->target) dir = "/";
        else {
            *slash = '\0';
            dir = af->target;
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
