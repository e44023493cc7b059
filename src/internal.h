/*
 * internal.h — what every source file of liblatefuse shares and nothing
 * outside the library sees: the error record, overridable allocation, the
 * seeded random generator.
 */
#ifndef LF_INTERNAL_H
#define LF_INTERNAL_H

#include "latefuse.h"
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>

/* Allocation goes through these so that a build can substitute its own
 * allocator (e.g. the fault-injection test build), as stb libraries do. */
#ifndef LF_MALLOC
#define LF_MALLOC(n) malloc(n)
#define LF_CALLOC(n, s) calloc((n), (s))
#define LF_REALLOC(p, n) realloc((p), (n))
#define LF_FREE(p) free(p)
#endif

/* A readable message for the last failure.  Internal functions take an
 * `lf_err *` (never NULL) and fill it through lf_fail. */
typedef struct lf_err {
    char msg[512];
} lf_err;

/* Formats the message into e (printf-style) and returns st. */
lf_status lf_fail(lf_err *e, lf_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The caller's cancel flag (the `cancel` of lf_fusion_options,
 * lf_fit_options, lf_predict_files_options): nonzero once set.  A volatile
 * read (the flag changes under the call, set by another thread or a
 * signal handler), atomic where the compiler says so, so that a thread's
 * atomic store to it is no data race (ThreadSanitizer).  NULL is never
 * set. */
static inline int lf_cancelled(const volatile int *flag) {
#if defined(__GNUC__)
    return flag && __atomic_load_n(flag, __ATOMIC_RELAXED) != 0;
#else
    return flag && *flag != 0;
#endif
}
/* LF_ERR_CANCELLED with the message "cancelled" in e. */
lf_status lf_cancel_fail(lf_err *e);

/* The calling thread's OpenMP thread count for one call of the library
 * (lf_fusion_options.threads, lf_predict_files_options.threads):
 * lf_threads_push(n) sets n (0: leaves it) and returns what
 * lf_threads_pop must be given back when the call ends.  A no-op without
 * OpenMP. */
#define LF_THREADS_MAX 1024
int lf_threads_push(size_t n);
void lf_threads_pop(int saved);
/* LF_OK for a thread count of an options struct (0 or 1..LF_THREADS_MAX),
 * else LF_ERR_ARG with the message "<who>threads must be ...". */
lf_status lf_threads_check(lf_err *e, const char *who, size_t n);

/* n*size with overflow check: returns 0 (and sets *out = 0) on overflow. */
int lf_mul_ok(size_t a, size_t b, size_t *out);
/* 1 if the n bytes at s are a valid name: 1..63 characters of A-Z a-z 0-9
 * _ . - (the names of layers, of fused models, and of `-m NAME`), so that a
 * name read from a file can never carry a control character to a terminal. */
int lf_name_valid(const char *s, size_t n);

/* Allocates n*size bytes (zeroed) with overflow check; NULL on failure.
 * Through lf_alloc_large. */
void *lf_alloc_array(size_t n, size_t size);
/* A copy of the string s (LF_MALLOC; LF_FREE it); NULL when out of memory. */
char *lf_strdup(const char *s);
/* LF_MALLOC(bytes), not zeroed, for buffers that may be large (a file, an
 * array, a workspace): a block of 4 MiB and more asks the kernel for
 * transparent huge pages on its 2 MiB-aligned part (madvise MADV_HUGEPAGE,
 * Linux; nothing elsewhere), as numpy does for its large arrays.  A hint:
 * the values, and so every result, do not depend on it.  NULL on failure. */
void *lf_alloc_large(size_t bytes);

/* ------------------------------------------------------------------ RNG */
/* xoshiro256** seeded by splitmix64: small, fast, good, and its whole state
 * lives in the owner (no global state). */
typedef struct lf_rng {
    uint64_t s[4];
} lf_rng;

void lf_rng_seed(lf_rng *r, uint64_t seed);
uint64_t lf_rng_next(lf_rng *r);
/* Uniform in [0, 1) with 24 random bits (exactly representable float). */
float lf_rng_uniform(lf_rng *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t lf_rng_below(lf_rng *r, uint64_t n);

/* Counter-based draws: the random numbers of a training pass as a pure
 * function of (key, node, row, i), so that a row's dropout mask or flip is
 * the same whichever process, thread or batch position computes it.  key
 * names the pass (fit: the seed, epoch and step); row0 is the global index
 * of the pass's first row within its batch (its rank's offset under MPI). */
typedef struct lf_draws {
    uint64_t key;
    size_t row0;
} lf_draws;

/* The key of step `step` of epoch `epoch` of a fit seeded with `seed`. */
uint64_t lf_draw_key(uint64_t seed, uint64_t epoch, uint64_t step);
/* The stream of one (key, node, global row): draw i of it is
 * lf_draw_uniform(stream, i). */
uint64_t lf_draw_stream(uint64_t key, uint64_t node, uint64_t row);
/* Uniform in [0, 1) with 24 random bits, like lf_rng_uniform. */
float lf_draw_uniform(uint64_t stream, uint64_t i);

/* ------------------------------------------------------------ row ids */
/* An array of row numbers (training orders, shuffles) that takes 4 bytes
 * per entry when every value fits in 32 bits and 8 otherwise: for the large
 * inputs these arrays are a sizeable share of a fit's memory. */
typedef struct lf_ids {
    void *p;
    int wide;
} lf_ids;

/* Room for n ids, each at most max_value, zeroed; 0 on success, -1 when
 * out of memory (ids->p is then NULL). */
int lf_ids_alloc(lf_ids *ids, size_t n, uint64_t max_value);
void lf_ids_free(lf_ids *ids);
static inline uint64_t lf_ids_get(lf_ids a, size_t i) {
    return a.wide ? ((const uint64_t *)a.p)[i] : ((const uint32_t *)a.p)[i];
}
static inline void lf_ids_set(lf_ids a, size_t i, uint64_t v) {
    if (a.wide) ((uint64_t *)a.p)[i] = v;
    else ((uint32_t *)a.p)[i] = (uint32_t)v;
}
/* Fisher-Yates over the first n ids; draws the same random numbers
 * whatever the width. */
void lf_ids_shuffle(lf_ids a, size_t n, lf_rng *r);

#endif
