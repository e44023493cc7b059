/*
 * mpi_ring.c — a test program of tests/mpi_test.sh (built there with mpicc
 * against the MPI build): lf_dist_allreduce_ring_f (src/dist.c) on every
 * rank of MPI_COMM_WORLD.
 *
 *   mpi_ring check     n = 0, 1, 2, 5, 7 and 1000 values (blocks of unequal
 *                      size, blocks with no value): the exact sums of
 *                      integer-valued floats on every rank, and, for values
 *                      whose sums round, the additions in the documented
 *                      order (block q's sum starts with rank q's value and
 *                      goes on around the ring); prints "ring ok" (rank 0)
 *   mpi_ring time N R  N floats, R times: the seconds per call of the ring
 *                      and of the gather-and-add-in-rank-order it replaces
 *                      (MPI_Allgather), and the bytes each rank sends
 * Exit 1 with "mpi_ring: MESSAGE" (rank 0) on a failure.
 */
#include "dist.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* rank q's value i */
static float value(int q, size_t i, int rounding) {
    if (!rounding) return (float)((int)(i % 13) * (q + 1) - 5);
    return 1.0f / (float)(3 + q) + (float)i * 1e-3f * (float)(q % 2 ? -1 : 1) + (q == 0 ? 1e4f : 0.0f);
}

static int check(const lf_dist *d) {
    static const size_t ns[] = {0, 1, 2, 5, 7, 1000};
    int P = d->size, bad = 0;
    for (size_t t = 0; t < sizeof ns / sizeof *ns; t++)
        for (int rounding = 0; rounding <= 1; rounding++) {
            size_t n = ns[t];
            float *v = malloc((n + 1) * sizeof *v), *tmp = malloc((n / (size_t)P + 2) * sizeof *tmp);
            for (size_t i = 0; i < n; i++) v[i] = value(d->rank, i, rounding);
            lf_err e;
            if (lf_dist_allreduce_ring_f(d, v, n, tmp, &e) != LF_OK) {
                printf("mpi_ring: %s\n", e.msg);
                return 1;
            }
            for (size_t i = 0; i < n; i++) {
                int q0 = 0; /* the block of value i: its sum starts at rank q0 */
                while (lf_dist_ring_block(n, P, q0 + 1) <= i) q0++;
                float want = value(q0, i, rounding);
                for (int k = 1; k < P; k++) want = want + value((q0 + k) % P, i, rounding);
                if (v[i] != want) {
                    if (!bad) printf("mpi_ring: rank %d, n %zu, value %zu: %.9g, wanted %.9g\n", d->rank, n, i,
                                     (double)v[i], (double)want);
                    bad = 1;
                }
            }
            free(v), free(tmp);
        }
    return bad;
}

static int timing(const lf_dist *d, size_t n, int reps) {
    int P = d->size;
    float *v = malloc(n * sizeof *v), *all = malloc((size_t)P * n * sizeof *all),
          *tmp = malloc((n / (size_t)P + 2) * sizeof *tmp);
    if (!v || !all || !tmp) return 1;
    lf_err e;
    double ring = 1e30, gather = 1e30;
    for (int r = 0; r < reps; r++) {
        for (size_t i = 0; i < n; i++) v[i] = (float)i;
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = now_s();
        if (lf_dist_allreduce_ring_f(d, v, n, tmp, &e) != LF_OK) return 1;
        double t1 = now_s();
        MPI_Barrier(MPI_COMM_WORLD);
        double t2 = now_s();
        if (lf_dist_allgather_f(d, v, n, all, &e) != LF_OK) return 1;
        for (size_t i = 0; i < n; i++) {
            float g = all[i];
            for (int q = 1; q < P; q++) g += all[(size_t)q * n + i];
            v[i] = g;
        }
        double t3 = now_s();
        if (t1 - t0 < ring) ring = t1 - t0;
        if (t3 - t2 < gather) gather = t3 - t2;
    }
    if (d->rank == 0)
        printf("ranks %d floats %zu: ring %.6f s (sends %zu bytes per rank), allgather+add %.6f s (sends %zu bytes "
               "per rank), best of %d\n", P, n, ring, 2 * (size_t)(P - 1) * (n / (size_t)P) * 4, gather,
               (size_t)(P - 1) * n * 4, reps);
    free(v), free(all), free(tmp);
    return 0;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm world = MPI_COMM_WORLD;
    lf_dist d;
    lf_err e;
    int rc = 2;
    if (lf_dist_open(&e, &world, &d) != LF_OK) {
        printf("mpi_ring: %s\n", e.msg);
        rc = 1;
    } else if (argc > 1 && strcmp(argv[1], "check") == 0) {
        int bad = check(&d), any = 0;
        MPI_Allreduce(&bad, &any, 1, MPI_INT, MPI_LOR, world);
        if (d.rank == 0 && !any) printf("ring ok\n");
        rc = any;
    } else if (argc > 3 && strcmp(argv[1], "time") == 0) {
        rc = timing(&d, strtoul(argv[2], NULL, 10), atoi(argv[3]));
    }
    MPI_Finalize();
    return rc;
}
