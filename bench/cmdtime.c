/*
 * cmdtime.c — times a command (the `latefuse` CLI in B4 and B6) and
 * measures its peak memory, so that a whole process is measured the way a
 * user runs it: reading its .npy files, working, writing its output.
 *
 *   cmdtime KEY RUNS WARMUP -- COMMAND [ARG ...]
 *
 * Runs COMMAND WARMUP untimed times, then RUNS timed times, each in a child
 * process (fork + execvp); the wall time of each run is taken around
 * fork..wait4, and the child's peak resident memory is the ru_maxrss that
 * wait4 returns for it (KiB on Linux).  The command's stdout goes to
 * /dev/null (its stderr stays), so that this program's stdout holds only
 * its results:
 *
 *   RESULT KEY.runs N
 *   RESULT KEY.median_s / KEY.min_s     wall time of the timed runs
 *   RESULT KEY.cpu_s                    user + system time, median
 *   RESULT KEY.maxrss_kib               the largest peak over all runs
 *
 * Exit status 1 (and no results) when a run fails: the harness records the
 * step as failed.
 */
#define _DEFAULT_SOURCE
#include "timing.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* One run: returns 0 and fills wall, cpu and peak (KiB), or -1. */
static int run_once(char **cmd, double *wall, double *cpu, long *peak) {
    fflush(NULL);
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        perror("cmdtime: fork");
        return -1;
    }
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 1);
        execvp(cmd[0], cmd);
        fprintf(stderr, "cmdtime: cannot run '%s'\n", cmd[0]);
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0) {
        perror("cmdtime: wait4");
        return -1;
    }
    *wall = now_s() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "cmdtime: '%s' failed (status %d)\n", cmd[0],
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    *cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
    *peak = ru.ru_maxrss;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 6 || strcmp(argv[4], "--") != 0) {
        fprintf(stderr, "usage: cmdtime KEY RUNS WARMUP -- COMMAND [ARG ...]\n");
        return 2;
    }
    const char *key = argv[1];
    long runs = strtol(argv[2], NULL, 10), warm = strtol(argv[3], NULL, 10);
    if (runs < 1 || runs > 1000 || warm < 0 || warm > 1000) {
        fprintf(stderr, "cmdtime: RUNS must be 1..1000 and WARMUP 0..1000\n");
        return 2;
    }
    char **cmd = argv + 5;
    double *wall = malloc((size_t)runs * sizeof *wall), *cpu = malloc((size_t)runs * sizeof *cpu);
    if (!wall || !cpu) {
        fprintf(stderr, "cmdtime: out of memory\n");
        free(wall);
        free(cpu);
        return 1;
    }
    long peak = 0;
    for (long r = -warm; r < runs; r++) {
        double w, c;
        long p;
        if (run_once(cmd, &w, &c, &p) != 0) {
            free(wall);
            free(cpu);
            return 1;
        }
        if (p > peak) peak = p;
        if (r >= 0) wall[r] = w, cpu[r] = c;
        fprintf(stderr, "cmdtime: %s %s %.3f s, peak %ld KiB\n", key, r < 0 ? "warm-up" : "run", w, p);
    }
    double mn = wall[0];
    for (long r = 1; r < runs; r++) mn = wall[r] < mn ? wall[r] : mn;
    printf("RESULT %s.runs %ld\n", key, runs);
    printf("RESULT %s.median_s %.6g\n", key, median(wall, (size_t)runs));
    printf("RESULT %s.min_s %.6g\n", key, mn);
    printf("RESULT %s.cpu_s %.6g\n", key, median(cpu, (size_t)runs));
    printf("RESULT %s.maxrss_kib %ld\n", key, peak);
    free(wall);
    free(cpu);
    return 0;
}
