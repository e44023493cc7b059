/*
 * util.c — status strings, the error record, checked allocation and the
 * random generator shared by the whole library.
 */
#define _DEFAULT_SOURCE /* madvise's MADV_HUGEPAGE (Linux) */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

const char *lf_status_string(lf_status st) {
    switch (st) {
    case LF_OK: return "success";
    case LF_ERR_NOMEM: return "out of memory";
    case LF_ERR_IO: return "input/output error";
    case LF_ERR_FORMAT: return "malformed or untrusted data";
    case LF_ERR_SHAPE: return "array shapes do not match";
    case LF_ERR_ARG: return "invalid argument";
    case LF_ERR_STATE: return "call not valid in the current state";
    case LF_ERR_NUMERIC: return "non-finite value";
    case LF_ERR_CANCELLED: return "cancelled";
    }
    return "unknown status";
}

lf_status lf_fail(lf_err *e, lf_status st, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return st;
}

lf_status lf_cancel_fail(lf_err *e) { return lf_fail(e, LF_ERR_CANCELLED, "cancelled"); }

int lf_mul_ok(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) {
        *out = 0;
        return 0;
    }
    *out = a * b;
    return 1;
}

int lf_name_valid(const char *s, size_t n) {
    if (!s || n == 0 || n > 63) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

/* With 4 KiB pages, the first touch of a fresh buffer takes a page fault
 * per 4 KiB, and on the virtual machines measured that costs far more than
 * the work done on the memory: reading a 400 MB file into a new buffer took
 * 1.35-1.41 s with 4 KiB pages and 0.06-0.11 s with huge pages
 * (bench/README.md); huge pages are also walked with fewer TLB misses. */
void *lf_alloc_large(size_t bytes) {
    void *p = LF_MALLOC(bytes);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const size_t HUGE_PAGE = (size_t)2 << 20, MIN_BYTES = (size_t)4 << 20;
    if (p && bytes >= MIN_BYTES) {
        uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
        uintptr_t end = ((uintptr_t)p + bytes) & ~(uintptr_t)(HUGE_PAGE - 1);
        if (end > a) (void)madvise((void *)a, end - a, MADV_HUGEPAGE);
    }
#endif
    return p;
}

char *lf_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = LF_MALLOC(n);
    if (d) memcpy(d, s, n);
    return d;
}

void *lf_alloc_array(size_t n, size_t size) {
    size_t bytes;
    if (!lf_mul_ok(n, size, &bytes)) return NULL;
    if (bytes == 0) bytes = 1;
    void *p = lf_alloc_large(bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void lf_rng_seed(lf_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t lf_rng_next(lf_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float lf_rng_uniform(lf_rng *r) { return (float)(lf_rng_next(r) >> 40) * (1.0f / 16777216.0f); }

uint64_t lf_rng_below(lf_rng *r, uint64_t n) {
    /* rejection sampling: discard the top partial range */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = lf_rng_next(r);
    while (x >= limit);
    return x % n;
}

/* splitmix64's finaliser (Stafford's mix 13) */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t lf_draw_key(uint64_t seed, uint64_t epoch, uint64_t step) {
    uint64_t k = mix64(seed + 0x9E3779B97F4A7C15ull);
    k = mix64(k ^ (epoch + 0x6A09E667F3BCC909ull));
    return mix64(k ^ (step + 0xBB67AE8584CAA73Bull));
}

uint64_t lf_draw_stream(uint64_t key, uint64_t node, uint64_t row) {
    return mix64(mix64(key ^ (node + 0x3C6EF372FE94F82Bull)) ^ (row + 0xA54FF53A5F1D36F1ull));
}

/* draw i of a stream: splitmix64's output i + 1 from the stream's state */
float lf_draw_uniform(uint64_t stream, uint64_t i) {
    return (float)(mix64(stream + (i + 1) * 0x9E3779B97F4A7C15ull) >> 40) * (1.0f / 16777216.0f);
}

int lf_ids_alloc(lf_ids *ids, size_t n, uint64_t max_value) {
    ids->wide = max_value > UINT32_MAX;
    ids->p = lf_alloc_array(n ? n : 1, ids->wide ? sizeof(uint64_t) : sizeof(uint32_t));
    return ids->p ? 0 : -1;
}

void lf_ids_free(lf_ids *ids) {
    LF_FREE(ids->p);
    ids->p = NULL;
}

void lf_ids_shuffle(lf_ids a, size_t n, lf_rng *r) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)lf_rng_below(r, i);
        uint64_t tmp = lf_ids_get(a, i - 1);
        lf_ids_set(a, i - 1, lf_ids_get(a, j));
        lf_ids_set(a, j, tmp);
    }
}

int lf_threads_push(size_t n) {
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    if (n > 0) omp_set_num_threads((int)(n < LF_THREADS_MAX ? n : LF_THREADS_MAX));
    return saved;
#else
    (void)n;
    return 1;
#endif
}

size_t lf_threads_default(void) {
#ifdef _OPENMP
    int n = omp_get_max_threads();
    return n < 1 ? 1 : n > LF_THREADS_MAX ? LF_THREADS_MAX : (size_t)n;
#else
    return 1;
#endif
}

lf_status lf_threads_check(lf_err *e, const char *who, size_t n) {
    if (n <= LF_THREADS_MAX) return LF_OK;
    return lf_fail(e, LF_ERR_ARG, "%sthreads must be 0 (OpenMP's count) or 1..%d, got %zu", who, LF_THREADS_MAX, n);
}

void lf_threads_pop(int saved) {
#ifdef _OPENMP
    if (saved > 0 && saved != omp_get_max_threads()) omp_set_num_threads(saved);
#else
    (void)saved;
#endif
}
