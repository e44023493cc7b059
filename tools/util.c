/*
 * util.c — helpers every command of `latefuse` shares: error printing with
 * the exit-status policy, the examples' seeded generator, and the progress
 * display (the library reports progress through a callback; this prints
 * it on stderr).
 *
 * Exit status: 0 success; 2 bad usage or bad input (unknown option,
 * missing argument, unreadable or malformed input file, library FORMAT /
 * SHAPE / ARG / NUMERIC errors); 1 anything else (out of memory, a file
 * that cannot be written).
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

lf_status cli_set(cli_err *e, lf_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return st;
}

size_t cli_argmax(const float *v, size_t n) {
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* the MPI rank messages name (set once by cli_mpi_start); 0 otherwise */
static int error_rank;

void cli_error_rank(int rank) { error_rank = rank; }

void cli_error(const char *msg) {
    if (error_rank > 0) fprintf(stderr, "latefuse: rank %d: %s\n", error_rank, msg && *msg ? msg : "unknown error");
    else fprintf(stderr, "latefuse: %s\n", msg && *msg ? msg : "unknown error");
}

int cli_fail(lf_status st, const char *msg, int input) {
    char buf[600];
    if (!msg || !*msg) {
        snprintf(buf, sizeof buf, "%s", lf_status_string(st));
        msg = buf;
    }
    cli_error(msg);
    return cli_exit_status(st, input);
}

int cli_exit_status(lf_status st, int input) {
    switch (st) {
    case LF_ERR_FORMAT:
    case LF_ERR_SHAPE:
    case LF_ERR_ARG:
    case LF_ERR_NUMERIC: return CLI_EXIT_USAGE;
    case LF_ERR_IO: return input ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    default: return CLI_EXIT_FAIL;
    }
}

int cli_stdout_status(int rc) {
    errno = 0;
    int flushed = fflush(stdout) == 0, err = errno;
    if (rc != 0 || (flushed && !ferror(stdout))) return rc;
    char msg[160];
    snprintf(msg, sizeof msg, "cannot write the standard output: %s",
             !flushed && err ? strerror(err) : "a write to it failed");
    cli_error(msg);
    return CLI_EXIT_FAIL;
}

uint64_t cli_rng_next(cli_rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double cli_rng_uniform(cli_rng *r) { return (double)(cli_rng_next(r) >> 11) * 0x1.0p-53; }

double cli_rng_normal(cli_rng *r) {
    double u = cli_rng_uniform(r), v = cli_rng_uniform(r);
    return sqrt(-2.0 * log(1.0 - u)) * cos(6.283185307179586 * v);
}

int cli_stderr_tty(void) { return isatty(2); }

/* lf_progress_format's text on stderr; the redrawn lines (a step's bar,
 * compare's method) only when ctx is non-NULL (a terminal). */
static void print_progress(void *ctx, const lf_progress *p) {
    int redraw = p->event == LF_PROGRESS_STEP || p->event == LF_PROGRESS_METHOD ||
                 p->event == LF_PROGRESS_METHODS_DONE;
    if (redraw && !ctx) return;
    char line[512];
    lf_progress_format(p, line, sizeof line);
    fputs(line, stderr);
}

void cli_progress_fit(lf_fit_options *o, int quiet) {
    static int bar = 1;
    o->progress = quiet ? NULL : print_progress;
    o->progress_ctx = cli_stderr_tty() ? &bar : NULL;
}

void cli_progress_fusion(lf_fusion_options *o, int quiet) {
    static int bar = 1;
    o->progress = cli_stderr_tty() && !quiet ? print_progress : NULL;
    o->progress_ctx = &bar;
}

