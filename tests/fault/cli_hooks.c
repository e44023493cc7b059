/*
 * cli_hooks.c — allocation faults for the `latefuse` tool itself (see
 * fault_test.sh).  Linked with -Wl,--wrap=malloc,calloc,realloc into a
 * build of the tool and the library, it makes the n-th of those calls fail
 * (errno ENOMEM, as malloc), n from the environment variable
 * LF_FAULT_ALLOC_AT (unset or 0: none), and creates the file named by
 * LF_FAULT_MARK when it does, so that the sweep knows the run met its
 * fault.  The tool must then exit 1 with one sentence, or succeed with its
 * whole output: never exit 0 with a part left out.  One thread (the build
 * has no OpenMP): the n-th call is the same in every run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static long fault_at = -1, calls;

static int hit(void) {
    if (fault_at < 0) {
        const char *s = getenv("LF_FAULT_ALLOC_AT"); /* getenv allocates nothing */
        fault_at = s ? strtol(s, NULL, 10) : 0;
    }
    if (fault_at <= 0 || ++calls != fault_at) return 0;
    const char *mark = getenv("LF_FAULT_MARK");
    if (mark) {
        int fd = open(mark, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) close(fd);
    }
    errno = ENOMEM;
    return 1;
}

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
void *__wrap_malloc(size_t n) { return hit() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t s) { return hit() ? NULL : __real_calloc(n, s); }
void *__wrap_realloc(void *p, size_t n) { return hit() ? NULL : __real_realloc(p, n); }
