/*
 * check.h — the tiny assertion kit of the C tests.  Each CHECK counts a pass
 * or prints the failure with its location; CHECK_CLOSE compares arrays with
 * an absolute + relative tolerance and prints the worst element.  A test
 * program ends with `return check_report("name");`, which prints
 * "name: N passed, N failed" (", K skipped" added when checks were skipped)
 * and returns non-zero on any failure.  CHECK_SKIP(...) records a check
 * that cannot run here (a missing dependency or data folder) with its
 * reason; under CI=true it is a failure instead.  check_edit_file copies a
 * file with one string replaced, how the tests hand a loader a bad field.
 */
#ifndef LF_CHECK_H
#define LF_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_pass_, check_fail_, check_skipped_;

/* A skipped check: counted and said; a failure under CI=true. */
#define CHECK_SKIP(...) check_skip_(__FILE__, __LINE__, __VA_ARGS__)
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline void check_skip_(const char *file, int line, const char *fmt, ...) {
    const char *ci = getenv("CI");
    int fail = ci && strcmp(ci, "true") == 0;
    fprintf(stderr, "%s:%d: %s: ", file, line, fail ? "FAIL (skipped under CI=true)" : "SKIP");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (fail) check_fail_++;
    else check_skipped_++;
}

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (cond) {                                                             \
            check_pass_++;                                                      \
        } else {                                                                \
            check_fail_++;                                                      \
            fprintf(stderr, "%s:%d: FAIL (%s): ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

/* Checks |got-want| <= atol + rtol*|want| elementwise; NaN in either fails. */
#define CHECK_CLOSE(what, got, want, n, atol, rtol)                             \
    check_close_((what), (got), (want), (n), (atol), (rtol), __FILE__, __LINE__)

static inline int check_close_(const char *what, const float *got, const float *want, size_t n,
                               double atol, double rtol, const char *file, int line) {
    size_t worst = 0;
    double worst_excess = -1e300;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        double err = fabs(g - w), tol = atol + rtol * fabs(w);
        double excess = (g != g || w != w) ? 1e300 : err - tol;
        if (excess > worst_excess) worst_excess = excess, worst = i;
        if (excess > 0) bad = 1;
    }
    if (!bad) {
        check_pass_++;
        return 1;
    }
    check_fail_++;
    fprintf(stderr, "%s:%d: FAIL %s: worst element [%zu] got %.9g want %.9g (|diff| %.3g, tol %.3g)\n",
            file, line, what, worst, (double)got[worst], (double)want[worst],
            fabs((double)got[worst] - (double)want[worst]), atol + rtol * fabs((double)want[worst]));
    return 0;
}

/* Writes to `copy` the file at `path` (under 1 MiB) with its first `from`
 * replaced by `to`, which must have the same length (a model file's
 * offsets and lengths stay right).  Returns 0 when the file cannot be read
 * or written, is too large, or holds no `from`. */
static inline int check_edit_file(const char *path, const char *copy, const char *from, const char *to) {
    enum { CAP = 1 << 20 };
    size_t len = strlen(from), n = 0;
    char *bytes = malloc(CAP), *at = NULL;
    FILE *f = bytes && len > 0 && strlen(to) == len ? fopen(path, "rb") : NULL;
    if (f) {
        n = fread(bytes, 1, CAP, f);
        fclose(f);
    }
    for (size_t i = 0; n < CAP && i + len <= n && !at; i++)
        if (memcmp(bytes + i, from, len) == 0) at = bytes + i;
    int ok = 0;
    if (at && (f = fopen(copy, "wb")) != NULL) {
        memcpy(at, to, len);
        ok = fwrite(bytes, 1, n, f) == n;
        ok &= fclose(f) == 0;
    }
    free(bytes);
    return ok;
}

static inline int check_report(const char *name) {
    if (check_skipped_)
        printf("%s: %d passed, %d failed, %d skipped\n", name, check_pass_, check_fail_, check_skipped_);
    else printf("%s: %d passed, %d failed\n", name, check_pass_, check_fail_);
    return check_fail_ != 0;
}

#endif
