/*
 * check.h — the tiny assertion kit of the C tests.  Each CHECK counts a pass
 * or prints the failure with its location; CHECK_CLOSE compares arrays with
 * an absolute + relative tolerance and prints the worst element.  A test
 * program ends with `return check_report("name");`, which prints
 * "name: N passed, N failed" and returns non-zero on any failure.
 */
#ifndef LF_CHECK_H
#define LF_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_pass_, check_fail_;

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

static inline int check_report(const char *name) {
    printf("%s: %d passed, %d failed\n", name, check_pass_, check_fail_);
    return check_fail_ != 0;
}

#endif
