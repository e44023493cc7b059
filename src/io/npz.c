/*
 * npz.c — one array of a NumPy .npz archive (np.savez, np.savez_compressed).
 *
 * An .npz is a ZIP archive whose members are .npy files named "<key>.npy".
 * The central directory is the authority (numpy writes ZIP64 records with
 * force_zip64, so its 32-bit fields may be 0xFFFFFFFF and the real sizes
 * and offsets sit in the ZIP64 extra field); the local header only tells
 * where the member's bytes begin.  Every offset and size is checked
 * against the buffer before it is used, the member's CRC-32 is verified,
 * and the member's bytes are then parsed by lf_npy_parse like any .npy.
 *
 * Members stored (np.savez) are read everywhere; deflated members
 * (np.savez_compressed) need zlib (LF_HAVE_ZLIB, found by the build) and
 * are otherwise refused with a message saying so.  Encrypted members,
 * multi-disk archives and other methods are refused.
 */
#include "io/npz.h"
#include "io/npy.h"

#include <stdint.h>
#include <string.h>
#ifdef LF_HAVE_ZLIB
#include <zlib.h>
#endif

#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_LOCAL 0x04034b50u

static uint32_t u16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t u32(const unsigned char *p) { return u16(p) | u16(p + 2) << 16; }
static uint64_t u64(const unsigned char *p) { return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32; }

/* The CRC-32 of ZIP (reflected polynomial 0xEDB88320), bit by bit. */
static uint32_t crc32_of(const unsigned char *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* One member, from its central directory record. */
typedef struct member {
    const unsigned char *name;
    size_t name_len;
    uint32_t flags, method, crc;
    uint64_t csize, usize, local;
} member;

/* Whether `name` (a member's) names array `key`: "key.npy" or "key". */
static int names_key(const member *m, const char *key) {
    size_t k = strlen(key);
    if (m->name_len == k + 4 && memcmp(m->name, key, k) == 0 && memcmp(m->name + k, ".npy", 4) == 0) return 1;
    return m->name_len == k && memcmp(m->name, key, k) == 0;
}

/* The member's key as numpy shows it: its name without ".npy". */
static void key_of(const member *m, char *out, size_t cap) {
    size_t n = m->name_len;
    if (n >= 4 && memcmp(m->name + n - 4, ".npy", 4) == 0) n -= 4;
    if (n >= cap) n = cap - 1;
    memcpy(out, m->name, n);
    out[n] = 0;
    for (size_t i = 0; i < n; i++) /* a message must stay printable */
        if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] == 0x7f) out[i] = '?';
}

/* Reads the central record at *pos into m and moves *pos past it. */
static int read_central(const unsigned char *b, size_t len, size_t *pos, member *m) {
    size_t p = *pos;
    if (p > len || len - p < 46 || u32(b + p) != SIG_CENTRAL) return 0;
    size_t n = u16(b + p + 28), x = u16(b + p + 30), c = u16(b + p + 32);
    if (len - p - 46 < n + x + c) return 0;
    m->flags = u16(b + p + 8), m->method = u16(b + p + 10), m->crc = u32(b + p + 16);
    m->csize = u32(b + p + 20), m->usize = u32(b + p + 24), m->local = u32(b + p + 42);
    m->name = b + p + 46, m->name_len = n;
    /* ZIP64 extra field: the 64-bit values of the fields that are all ones */
    const unsigned char *ex = b + p + 46 + n;
    for (size_t q = 0; q + 4 <= x;) {
        size_t id = u16(ex + q), sz = u16(ex + q + 2), at = q + 4;
        if (q + 4 + sz > x) return 0;
        if (id == 1) {
            uint64_t *f[3] = {&m->usize, &m->csize, &m->local};
            for (int i = 0; i < 3; i++)
                if (*f[i] == 0xFFFFFFFFu) {
                    if (at + 8 > q + 4 + sz) return 0;
                    *f[i] = u64(ex + at);
                    at += 8;
                }
        }
        q += 4 + sz;
    }
    *pos = p + 46 + n + x + c;
    return 1;
}

/* Where the central directory is, and its entry count. */
static lf_status find_directory(const unsigned char *b, size_t len, const char *name, uint64_t *cd,
                                uint64_t *count, lf_err *e) {
    if (len < 22) return lf_fail(e, LF_ERR_FORMAT, "'%s' is not a .npz archive (too short for a ZIP file)", name);
    size_t lo = len - 22 > 65535 ? len - 22 - 65535 : 0, p = len - 22 + 1;
    do { /* the end record, searched backwards over a possible comment */
        p--;
        if (u32(b + p) == SIG_EOCD && p + 22 + u16(b + p + 20) == len) break;
    } while (p > lo);
    if (u32(b + p) != SIG_EOCD || p + 22 + u16(b + p + 20) != len)
        return lf_fail(e, LF_ERR_FORMAT, "'%s' is not a .npz archive (no ZIP end-of-directory record)", name);
    if (u16(b + p + 4) != 0 || u16(b + p + 6) != 0)
        return lf_fail(e, LF_ERR_FORMAT, "'%s' is a multi-part ZIP archive, which is not supported", name);
    *count = u16(b + p + 10);
    *cd = u32(b + p + 16);
    if (p >= 20 && u32(b + p - 20) == SIG_LOC64) { /* ZIP64 */
        uint64_t r = u64(b + p - 20 + 8);
        if (r > len || len - r < 56 || u32(b + r) != SIG_EOCD64)
            return lf_fail(e, LF_ERR_FORMAT, "'%s' has a broken ZIP64 end-of-directory record", name);
        *count = u64(b + r + 32);
        *cd = u64(b + r + 48);
    }
    if (*cd > len) return lf_fail(e, LF_ERR_FORMAT, "'%s' has a ZIP directory outside the file", name);
    return LF_OK;
}

/* The bytes of member m, inflated when deflated, into *out (owned: *own
 * set when they were allocated). */
static lf_status member_bytes(const unsigned char *b, size_t len, const member *m, const char *name,
                              const char *key, const unsigned char **out, unsigned char **own, lf_err *e) {
    *own = NULL;
    uint64_t p = m->local;
    if (p > len || len - p < 30 || u32(b + p) != SIG_LOCAL)
        return lf_fail(e, LF_ERR_FORMAT, "'%s': array '%s' has a broken ZIP local header", name, key);
    uint64_t data = p + 30 + u16(b + p + 26) + u16(b + p + 28);
    if (data > len || len - data < m->csize)
        return lf_fail(e, LF_ERR_FORMAT, "'%s': array '%s' is truncated", name, key);
    if (m->flags & 1u) return lf_fail(e, LF_ERR_FORMAT, "'%s': array '%s' is encrypted", name, key);
    if (m->method == 0) {
        if (m->csize != m->usize)
            return lf_fail(e, LF_ERR_FORMAT, "'%s': array '%s' has inconsistent stored sizes", name, key);
        *out = b + data;
    } else if (m->method == 8) {
#ifdef LF_HAVE_ZLIB
        /* deflate expands at most 1032:1, so a larger size is a lie (and
         * must not size an allocation) */
        if (m->usize / 1032 > m->csize + 1 || m->usize >= SIZE_MAX)
            return lf_fail(e, LF_ERR_FORMAT, "'%s': array '%s' claims %llu bytes from %llu compressed ones", name,
                           key, (unsigned long long)m->usize, (unsigned long long)m->csize);
        unsigned char *u = LF_MALLOC(m->usize ? (size_t)m->usize : 1);
        if (!u) return lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", name);
        z_stream z;
        memset(&z, 0, sizeof z);
        int ok = inflateInit2(&z, -MAX_WBITS) == Z_OK;
        const unsigned char *in = b + data;
        uint64_t in_left = m->csize, out_done = 0;
        int r = Z_OK;
        while (ok && r == Z_OK) { /* uInt chunks: sizes may pass 4 GiB */
            uInt ci = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
            uint64_t room = m->usize - out_done;
            uInt co = room > (1u << 30) ? (1u << 30) : (uInt)room;
            z.next_in = (Bytef *)(uintptr_t)in, z.avail_in = ci;
            z.next_out = u + out_done, z.avail_out = co;
            r = inflate(&z, Z_NO_FLUSH);
            in += ci - z.avail_in, in_left -= ci - z.avail_in;
            out_done += co - z.avail_out;
            if (r == Z_OK && ci == z.avail_in && co == z.avail_out) r = Z_DATA_ERROR; /* no progress */
        }
        if (ok) inflateEnd(&z);
        if (!ok || r != Z_STREAM_END || out_done != m->usize) {
            LF_FREE(u);
            return lf_fail(e, LF_ERR_FORMAT, "'%s': array '%s' does not inflate (corrupt deflate data)", name, key);
        }
        *out = *own = u;
#else
        return lf_fail(e, LF_ERR_FORMAT,
                       "'%s': array '%s' is compressed (np.savez_compressed) and this build has no zlib; save "
                       "it with np.savez, or rebuild with zlib (Debian: zlib1g-dev)",
                       name, key);
#endif
    } else {
        return lf_fail(e, LF_ERR_FORMAT, "'%s': array '%s' uses ZIP method %u (only stored and deflated are read)",
                       name, key, (unsigned)m->method);
    }
    if (crc32_of(*out, (size_t)m->usize) != m->crc) {
        LF_FREE(*own);
        return lf_fail(e, LF_ERR_FORMAT, "'%s': array '%s' fails its CRC-32 check (the file is corrupt)", name, key);
    }
    return LF_OK;
}

lf_status lf_npz_parse(const unsigned char *b, size_t len, const char *key, const char *name, lf_array *out,
                       lf_err *e) {
    memset(out, 0, sizeof *out);
    uint64_t cd = 0, count = 0;
    lf_status st = find_directory(b, len, name, &cd, &count, e);
    if (st != LF_OK) return st;
    member m, found = {0};
    size_t pos = (size_t)cd, n = 0;
    char keys[256] = "";
    int have = 0;
    for (uint64_t i = 0; i < count; i++) {
        if (!read_central(b, len, &pos, &m))
            return lf_fail(e, LF_ERR_FORMAT, "'%s' has a broken ZIP directory (entry %llu)", name,
                           (unsigned long long)i + 1);
        if (m.name_len && m.name[m.name_len - 1] == '/') continue; /* a folder entry */
        n++;
        char k[64];
        key_of(&m, k, sizeof k);
        size_t kl = strlen(keys);
        if (kl + strlen(k) + 8 < sizeof keys) snprintf(keys + kl, sizeof keys - kl, "%s%s", kl ? ", " : "", k);
        if (key ? names_key(&m, key) : !have) found = m, have = 1;
    }
    if (n == 0) return lf_fail(e, LF_ERR_FORMAT, "'%s' holds no arrays", name);
    if (key && !have) return lf_fail(e, LF_ERR_ARG, "'%s' has no array '%s' (it has %s)", name, key, keys);
    if (!key && n > 1)
        return lf_fail(e, LF_ERR_ARG, "'%s' holds %zu arrays (%s); name one as '%s:KEY'", name, n, keys, name);
    char k[64];
    key_of(&found, k, sizeof k);
    const unsigned char *bytes = NULL;
    unsigned char *own = NULL;
    st = member_bytes(b, len, &found, name, k, &bytes, &own, e);
    if (st != LF_OK) return st;
    char label[1200];
    snprintf(label, sizeof label, "%s:%s", name, k);
    st = lf_npy_parse(bytes, (size_t)found.usize, label, out, e);
    LF_FREE(own);
    return st;
}
