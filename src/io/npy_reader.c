/*
 * npy_reader.c — the streaming .npy reader, lf_npy_reader_* (see npy.h):
 * rows in order or by position, from a read-only memory map of a native
 * float32 file (its consumed pages dropped as it goes) or with read() and
 * pread() and npy_format.c's conversion otherwise.
 */
#define _DEFAULT_SOURCE /* madvise's MADV_* (Linux, the BSDs) */
#include "io/npy_format.h"

#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct lf_npy_reader_impl {
    lf_npy_layout L;
    int fd;
    char *path;
    unsigned char *raw; /* conversion buffer (non-native dtypes) */
    size_t raw_cap;
    float *out;         /* lf_npy_reader_next's buffer when not mapped */
    size_t out_cap;     /* in floats */
    size_t next;        /* rows read so far */
    const unsigned char *map; /* the whole file, read only, or NULL */
    size_t map_len;
    size_t released;    /* bytes at the start of map dropped (page multiple) */
    size_t page;
};

/* reads exactly n bytes (short reads continue); 0 at a premature end */
static lf_status read_full(int fd, void *buf, size_t n, const char *path, lf_err *e) {
    unsigned char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return lf_fail(e, LF_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
        if (r == 0) return lf_fail(e, LF_ERR_IO, "cannot read '%s': it became shorter while being read", path);
        p += r, n -= (size_t)r;
    }
    return LF_OK;
}

/* Maps a native float32 file whole (best effort: 0 leaves the reader on
 * read()). */
static void try_map(struct lf_npy_reader_impl *r, uint64_t file_len) {
    const lf_npy_layout *L = &r->L;
    if (!lf_npy_is_native_f32(&L->dt)) return;
    if (L->count == 0 || L->data_off % sizeof(float) != 0 || file_len > (uint64_t)SIZE_MAX) return;
    long pg = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)file_len;
    void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, r->fd, 0);
    if (m == MAP_FAILED) return;
#ifdef MADV_SEQUENTIAL
    (void)madvise(m, len, MADV_SEQUENTIAL);
#endif
    r->map = m, r->map_len = len, r->page = pg > 0 ? (size_t)pg : 4096;
}

lf_status lf_npy_reader_open(lf_npy_reader *rd, const char *path, unsigned flags, lf_err *e) {
    memset(rd, 0, sizeof *rd);
    const unsigned known = LF_NPY_NO_MMAP | LF_NPY_ANY_ORDER;
    if (flags & ~known)
        return lf_fail(e, LF_ERR_ARG, "unknown reader flags 0x%x for '%s'", flags & ~known, path ? path : "");
    if (!path || !*path) return lf_fail(e, LF_ERR_ARG, "empty input path");
    struct lf_npy_reader_impl *r = LF_CALLOC(1, sizeof *r);
    size_t plen = strlen(path) + 1;
    char *pcopy = LF_MALLOC(plen);
    if (!r || !pcopy) {
        LF_FREE(r), LF_FREE(pcopy);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory opening '%s'", path);
    }
    memcpy(pcopy, path, plen);
    r->path = pcopy;
    struct stat sb;
    lf_status ost = lf_io_open(path, &r->fd, &sb, e);
    if (ost != LF_OK) {
        LF_FREE(r->path), LF_FREE(r);
        return ost;
    }
    rd->impl = r;
    if (!S_ISREG(sb.st_mode)) { /* a pipe: rows cannot be read by position */
        lf_npy_reader_close(rd);
        return lf_fail(e, LF_ERR_IO, "cannot read '%s': it is a pipe or FIFO; .npy inputs must be regular files",
                       path);
    }
    uint64_t file_len = (uint64_t)sb.st_size;
    /* the header: the 12-byte prefix tells its length */
    unsigned char pre[12];
    size_t want = file_len < sizeof pre ? (size_t)file_len : sizeof pre;
    lf_status st = read_full(r->fd, pre, want, path, e);
    size_t hl = 0;
    if (st == LF_OK && want >= 10 && memcmp(pre, LF_NPY_MAGIC, LF_NPY_MAGIC_LEN) == 0)
        hl = (pre[6] == 1 ? 10 : 12) + (size_t)lf_npy_load_uint(pre + 8, pre[6] == 1 ? 2 : 4, 0);
    /* the header whole, or as much of it as the file holds (its parser says how much is missing) */
    size_t head_len = want;
    if (hl > want && hl - want <= LF_NPY_MAX_HEADER + 12) head_len = hl <= file_len ? hl : (size_t)file_len;
    unsigned char *head = st == LF_OK ? LF_MALLOC(head_len ? head_len : 1) : NULL;
    if (st == LF_OK && !head) st = lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", path);
    if (st == LF_OK) {
        memcpy(head, pre, want);
        st = read_full(r->fd, head + want, head_len - want, path, e);
    }
    if (st == LF_OK) st = lf_npy_parse_layout(head, head_len, file_len, path, &r->L, e);
    LF_FREE(head);
    rd->fortran = r->L.h.fortran && r->L.h.ndim == 2 && r->L.cols > 1;
    if (st == LF_OK && rd->fortran && !(flags & LF_NPY_ANY_ORDER))
        st = lf_fail(e, LF_ERR_ARG, "'%s' is in Fortran order: it cannot be read row by row", path);
    if (st != LF_OK) {
        lf_npy_reader_close(rd);
        return st;
    }
    /* the file position is now at the data (the header was read whole) */
    rd->rows = r->L.rows, rd->cols = r->L.cols;
    rd->is_integer = r->L.dt.kind != LF_NPY_FLOAT;
    if (!(flags & LF_NPY_NO_MMAP) && !rd->fortran) try_map(r, file_len);
    rd->mapped = r->map != NULL;
    return LF_OK;
}

/* A mapped file must still hold the whole mapping before its pages are
 * touched (a shorter file would raise SIGBUS). */
static lf_status check_map_size(const struct lf_npy_reader_impl *r, lf_err *e) {
    struct stat sb;
    if (fstat(r->fd, &sb) != 0)
        return lf_fail(e, LF_ERR_IO, "cannot read '%s': %s", r->path, strerror(errno));
    if (sb.st_size < 0 || (uint64_t)sb.st_size < (uint64_t)r->map_len)
        return lf_fail(e, LF_ERR_IO, "cannot read '%s': it became shorter while being read", r->path);
    return LF_OK;
}

/* Asks for the n bytes of the mapping that follow [off, off + n). */
static void map_ahead(const struct lf_npy_reader_impl *r, size_t off, size_t n) {
#ifdef MADV_WILLNEED
    size_t ahead = (off + n) / r->page * r->page;
    if (ahead < r->map_len) {
        size_t len = r->map_len - ahead < n ? r->map_len - ahead : n;
        (void)madvise((void *)(uintptr_t)(r->map + ahead), len, MADV_WILLNEED);
    }
#else
    (void)r, (void)off, (void)n;
#endif
}

/* Mapped reads: the bytes [off, off + n) of the file, after checking that
 * the file still holds them; the pages before off are dropped from the
 * process (not from the page cache) and the next n bytes are asked for. */
static lf_status map_span(struct lf_npy_reader_impl *r, size_t off, size_t n, const unsigned char **p,
                          lf_err *e) {
    lf_status st = check_map_size(r, e);
    if (st != LF_OK) return st;
#ifdef MADV_DONTNEED
    size_t drop = off / r->page * r->page;
    if (drop >= r->released + ((size_t)1 << 20)) { /* every 1 MiB */
        (void)madvise((void *)(uintptr_t)(r->map + r->released), drop - r->released, MADV_DONTNEED);
        r->released = drop;
    }
#endif
    map_ahead(r, off, n);
    *p = r->map + off;
    return LF_OK;
}

static lf_status check_request(struct lf_npy_reader_impl *r, size_t nrows, lf_err *e) {
    if (r->L.h.fortran && r->L.h.ndim == 2 && r->L.cols > 1)
        return lf_fail(e, LF_ERR_ARG, "'%s' is in Fortran order: it cannot be read row by row", r->path);
    if (nrows > r->L.rows - r->next)
        return lf_fail(e, LF_ERR_SHAPE, "'%s' has %zu rows, %zu asked from row %zu", r->path, r->L.rows,
                       nrows, r->next);
    return LF_OK;
}

/* *p holds at least n elements of `size` bytes (*cap of them now): its old
 * contents are not kept, so a too-small block is replaced by a new one
 * (lf_alloc_large: the huge-page hint).  0 when out of memory. */
static int buf_hold(void **p, size_t *cap, size_t n, size_t size) {
    if (*p && *cap >= n) return 1;
    LF_FREE(*p);
    *cap = 0;
    if (!(*p = lf_alloc_large((n ? n : 1) * size))) return 0;
    *cap = n ? n : 1;
    return 1;
}

lf_status lf_npy_reader_rows(lf_npy_reader *rd, float *dst, size_t nrows, lf_err *e) {
    struct lf_npy_reader_impl *r = rd->impl;
    if (!r) return lf_fail(e, LF_ERR_STATE, "the .npy reader is closed");
    lf_status st = check_request(r, nrows, e);
    if (st != LF_OK) return st;
    size_t n = nrows * r->L.cols, bytes = n * r->L.dt.size;
    int native = lf_npy_is_native_f32(&r->L.dt);
    if (r->map) {
        const unsigned char *src;
        st = map_span(r, r->L.data_off + r->next * r->L.cols * sizeof(float), bytes, &src, e);
        if (st == LF_OK && bytes) memcpy(dst, src, bytes);
    } else if (native) {
        st = read_full(r->fd, dst, bytes, r->path, e);
    } else {
        if (!buf_hold((void **)&r->raw, &r->raw_cap, bytes, 1))
            return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", r->path);
        st = read_full(r->fd, r->raw, bytes, r->path, e);
        if (st == LF_OK) st = lf_npy_convert_run(r->raw, &r->L, dst, r->next * r->L.cols, n, r->path, e);
    }
    if (st == LF_OK) r->next += nrows;
    return st;
}

lf_status lf_npy_reader_next(lf_npy_reader *rd, size_t nrows, const float **rows, lf_err *e) {
    struct lf_npy_reader_impl *r = rd ? rd->impl : NULL;
    if (rows) *rows = NULL;
    if (!r) return lf_fail(e, LF_ERR_STATE, "the .npy reader is closed");
    if (!rows) return lf_fail(e, LF_ERR_ARG, "no place for the rows of '%s'", r->path);
    lf_status st = check_request(r, nrows, e);
    if (st != LF_OK) return st;
    size_t n = nrows * r->L.cols;
    if (r->map) {
        const unsigned char *src;
        st = map_span(r, r->L.data_off + r->next * r->L.cols * sizeof(float), n * sizeof(float), &src, e);
        if (st != LF_OK) return st;
        *rows = (const float *)(const void *)src; /* data_off % 4 == 0: aligned */
        r->next += nrows;
        return LF_OK;
    }
    if (!buf_hold((void **)&r->out, &r->out_cap, n, sizeof *r->out))
        return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", r->path);
    st = lf_npy_reader_rows(rd, r->out, nrows, e);
    if (st == LF_OK) *rows = r->out;
    return st;
}

/* pread()s exactly n bytes at off (short reads continue) */
static lf_status pread_full(int fd, void *buf, size_t n, uint64_t off, const char *path, lf_err *e) {
    unsigned char *p = buf;
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return lf_fail(e, LF_ERR_IO, "cannot read '%s': %s", path, strerror(errno));
        if (r == 0) return lf_fail(e, LF_ERR_IO, "cannot read '%s': it became shorter while being read", path);
        p += r, n -= (size_t)r, off += (uint64_t)r;
    }
    return LF_OK;
}

lf_status lf_npy_reader_at(const lf_npy_reader *rd, size_t row0, size_t nrows, lf_npy_buf *buf,
                           const float **rows, lf_err *e) {
    const struct lf_npy_reader_impl *r = rd ? rd->impl : NULL;
    if (rows) *rows = NULL;
    if (!r) return lf_fail(e, LF_ERR_STATE, "the .npy reader is closed");
    if (!rows || !buf) return lf_fail(e, LF_ERR_ARG, "no place for the rows of '%s'", r->path);
    if (row0 > r->L.rows || nrows > r->L.rows - row0)
        return lf_fail(e, LF_ERR_SHAPE, "'%s' has %zu rows, %zu asked from row %zu", r->path, r->L.rows,
                       nrows, row0);
    const lf_npy_layout *L = &r->L;
    if (rd->fortran) return lf_fail(e, LF_ERR_ARG, "'%s' is in Fortran order: it cannot be read row by row", r->path);
    size_t n = nrows * L->cols, k0 = row0 * L->cols; /* within the data: checked at open */
    lf_status st;
    if (r->map) {
        st = check_map_size(r, e);
        if (st != LF_OK) return st;
        size_t off = L->data_off + k0 * sizeof(float);
        map_ahead(r, off, n * sizeof(float));
        *rows = (const float *)(const void *)(r->map + off); /* data_off % 4 == 0: aligned */
        return LF_OK;
    }
    if (!buf_hold((void **)&buf->out, &buf->out_cap, n, sizeof *buf->out))
        return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", r->path);
    size_t bytes = n * L->dt.size;
    uint64_t off = (uint64_t)L->data_off + (uint64_t)k0 * L->dt.size;
    if (lf_npy_is_native_f32(&L->dt)) {
        st = pread_full(r->fd, buf->out, bytes, off, r->path, e);
    } else {
        if (!buf_hold((void **)&buf->raw, &buf->raw_cap, bytes, 1))
            return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", r->path);
        st = pread_full(r->fd, buf->raw, bytes, off, r->path, e);
        if (st == LF_OK) st = lf_npy_convert_run(buf->raw, L, buf->out, k0, n, r->path, e);
    }
    if (st == LF_OK) *rows = buf->out;
    return st;
}

void lf_npy_reader_release(const lf_npy_reader *rd, size_t row0, size_t nrows) {
#ifdef MADV_DONTNEED
    const struct lf_npy_reader_impl *r = rd ? rd->impl : NULL;
    if (!r || !r->map || row0 > r->L.rows || nrows > r->L.rows - row0) return;
    size_t row_bytes = r->L.cols * sizeof(float);
    size_t a = row0 ? (r->L.data_off + row0 * row_bytes) / r->page * r->page : 0;
    size_t b = row0 + nrows == r->L.rows ? r->map_len
                                          : (r->L.data_off + (row0 + nrows) * row_bytes) / r->page * r->page;
    if (b > a) (void)madvise((void *)(uintptr_t)(r->map + a), b - a, MADV_DONTNEED);
#else
    (void)rd, (void)row0, (void)nrows;
#endif
}

void lf_npy_buf_free(lf_npy_buf *b) {
    if (!b) return;
    LF_FREE(b->out);
    LF_FREE(b->raw);
    memset(b, 0, sizeof *b);
}

void lf_npy_reader_close(lf_npy_reader *rd) {
    struct lf_npy_reader_impl *r = rd ? rd->impl : NULL;
    if (r) {
        if (r->map) munmap((void *)(uintptr_t)r->map, r->map_len);
        if (r->fd >= 0) close(r->fd);
        LF_FREE(r->raw);
        LF_FREE(r->out);
        LF_FREE(r->path);
        LF_FREE(r);
    }
    if (rd) memset(rd, 0, sizeof *rd);
}

lf_status lf_npy_reader_load(lf_npy_reader *rd, lf_array *out, lf_err *e) {
    struct lf_npy_reader_impl *r = rd ? rd->impl : NULL;
    if (out) memset(out, 0, sizeof *out);
    if (!r) return lf_fail(e, LF_ERR_STATE, "the .npy reader is closed");
    struct stat sb;
    if (fstat(r->fd, &sb) != 0) return lf_fail(e, LF_ERR_IO, "cannot read '%s': %s", r->path, strerror(errno));
    if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX - 1)
        return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", r->path);
    size_t len = (size_t)sb.st_size;
    unsigned char *buf = lf_alloc_large(len ? len : 1);
    if (!buf) return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", r->path);
    lf_status st = pread_full(r->fd, buf, len, 0, r->path, e);
    if (st == LF_OK) st = lf_npy_parse(buf, len, r->path, out, e);
    LF_FREE(buf);
    return st;
}
