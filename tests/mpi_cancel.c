/*
 * mpi_cancel.c — a test program of tests/mpi_test.sh (built there with
 * mpicc against the MPI build): lf_fusion_predict_files over
 * MPI_COMM_WORLD with lf_predict_files_options.cancel, each rank its own
 * flag.  Rank 0 writes two model outputs (4 chunks of 16384 rows, 3
 * classes) to a.npy and b.npy; every rank fits the same mean fusion and
 * predicts them into out.npy (classes into cls.npy):
 *   mpi_cancel none    no flag set: every rank succeeds
 *   mpi_cancel rank1   rank 1's flag set before the call, the others' not
 *   mpi_cancel all     every rank's flag set before the call
 *   mpi_cancel late0   rank 0's flag set by its temp callback once both
 *                      temporary outputs exist (the other ranks go on)
 * And lf_fusion_options.cancel over the ranks, on the first 3000 rows:
 *   mpi_cancel auto-rank1     rank 1's flag set before an auto fit: rank 1
 *                             fails its first cross-validation unit
 *   mpi_cancel mlp-rank1      rank 1's flag set before a data-parallel mlp
 *                             fit: every rank stops after the first step
 *   mpi_cancel compare-all    every rank's flag set before compare
 * And a failure rank 1 alone meets before the collective calls (a
 * negative probability in its rows only, as an allocation that fails
 * there would): every rank returns its status and one message, none waits
 *   mpi_cancel compare-bad1   compare
 *   mpi_cancel auto-bad1      an auto fit
 *   mpi_cancel mlp-bad1       a data-parallel mlp fit
 * And arguments that differ between the ranks (a collective call's
 * contract): every rank returns LF_ERR_ARG and one message naming what
 * differs, none waits and none returns another problem's result
 *   mpi_cancel compare-rows1  compare, rank 1 given one row fewer
 *   mpi_cancel auto-rows1     an auto fit, the same
 *   mpi_cancel mlp-rows1      a data-parallel mlp fit, the same
 *   mpi_cancel compare-labels1  compare, rank 1 given one other label
 *   mpi_cancel auto-labels1   an auto fit, the same
 *   mpi_cancel mlp-labels1    a data-parallel mlp fit, the same
 * Rank 0 prints one line a rank, "R STATUS MESSAGE" (the message empty on
 * success); the script checks that every rank returned the same, and
 * what was left in the folder.  Exit 0 unless MPI or writing the inputs
 * failed.
 */
#include "latefuse.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 4 * 16384, C = 3, FIT = 300 };

typedef struct flag_at {
    volatile int flag;
    int created, at; /* set the flag at the at-th created temporary file (0: never) */
} flag_at;

static void on_temp(void *ctx, lf_temp_event ev, const char *path, int ok) {
    flag_at *k = ctx;
    (void)path;
    if (ev == LF_TEMP_CREATED && ok && ++k->created == k->at) k->flag = 1;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    MPI_Comm world = MPI_COMM_WORLD;
    int rank, size;
    MPI_Comm_rank(world, &rank);
    MPI_Comm_size(world, &size);
    const char *mode = argc > 1 ? argv[1] : "none";
    float *a = malloc(sizeof(float) * N * C), *b = malloc(sizeof(float) * N * C);
    int *y = malloc(sizeof(int) * N);
    if (!a || !b || !y) MPI_Abort(world, 1);
    for (size_t i = 0; i < N; i++) { /* rows that sum to 1; a right 2 rows in 3, b every other row */
        y[i] = (int)(i % C);
        for (size_t c = 0; c < C; c++) a[i * C + c] = b[i * C + c] = 0.25f;
        a[i * C + (i % 3 ? (size_t)y[i] : (i + 1) % C)] = 0.5f;
        b[i * C + (i % 2 ? (size_t)y[i] : (i + 2) % C)] = 0.5f;
    }
    int wrote = 1;
    if (rank == 0) {
        char err[256];
        wrote = lf_npy_save("a.npy", a, N, C, LF_WRITE_NO_FSYNC, err, sizeof err) == LF_OK &&
                lf_npy_save("b.npy", b, N, C, LF_WRITE_NO_FSYNC, err, sizeof err) == LF_OK;
        if (!wrote) fprintf(stderr, "mpi_cancel: %s\n", err);
    }
    MPI_Bcast(&wrote, 1, MPI_INT, 0, world);
    if (!wrote) MPI_Abort(world, 1);

    lf_fusion *f = NULL;
    lf_fusion_options fo = lf_fusion_defaults();
    fo.method = LF_FUSE_MEAN;
    const float *p[2] = {a, b};
    const char *names[2] = {"a", "b"}, *paths[2] = {"a.npy", "b.npy"};
    if (lf_fusion_create(&f) != LF_OK || lf_fusion_fit(f, p, names, 2, FIT, C, y, &fo) != LF_OK) MPI_Abort(world, 1);

    flag_at k;
    memset(&k, 0, sizeof k);
    if (strcmp(mode, "all") == 0 || (strcmp(mode, "rank1") == 0 && rank == 1)) k.flag = 1;
    if (strcmp(mode, "late0") == 0) k.at = 2;
    lf_predict_files_options o;
    memset(&o, 0, sizeof o);
    o.flags = LF_WRITE_NO_FSYNC, o.classes_path = "cls.npy";
    o.temp = on_temp, o.temp_ctx = &k, o.cancel = &k.flag;
    o.mpi_comm = &world;
    lf_predict_files_result res;
    int st;
    if (strncmp(mode, "auto-", 5) == 0 || strncmp(mode, "mlp-", 4) == 0 || strncmp(mode, "compare-", 8) == 0) {
        k.flag = strstr(mode, "-all") != NULL || (strstr(mode, "-rank1") != NULL && rank == 1);
        if (strstr(mode, "-bad1") && rank == 1) a[5 * C] = -0.5f;
        size_t rows = strstr(mode, "-rows1") && rank == 1 ? 2999 : 3000;
        if (strstr(mode, "-labels1") && rank == 1) y[7] = (y[7] + 1) % C;
        lf_fusion_options co = lf_fusion_defaults();
        co.method = mode[0] == 'a' ? LF_FUSE_AUTO : LF_FUSE_MLP;
        co.mpi_comm = &world, co.cancel = &k.flag;
        lf_compare_table *t = NULL;
        st = mode[0] == 'c' ? (int)lf_fusion_compare(f, p, names, 2, rows, C, y, NULL, 0, &co, &t)
                            : (int)lf_fusion_fit(f, p, names, 2, rows, C, y, &co);
        lf_compare_table_free(t);
        snprintf(res.message, sizeof res.message, "%s", lf_fusion_error(f));
    } else {
        st = (int)lf_fusion_predict_files(f, names, paths, 2, "out.npy", &o, &res);
    }

    enum { MSG = sizeof res.message };
    char mine[MSG] = {0}, *all = rank == 0 ? calloc((size_t)size, MSG) : NULL;
    int *sts = rank == 0 ? calloc((size_t)size, sizeof *sts) : NULL;
    snprintf(mine, sizeof mine, "%s", st ? res.message : "");
    MPI_Gather(&st, 1, MPI_INT, sts, 1, MPI_INT, 0, world);
    MPI_Gather(mine, MSG, MPI_CHAR, all, MSG, MPI_CHAR, 0, world);
    if (rank == 0)
        for (int r = 0; r < size; r++) printf("%d %d %s\n", r, sts[r], all + (size_t)r * MSG);
    free(all), free(sts), free(a), free(b), free(y);
    lf_fusion_free(f);
    MPI_Finalize();
    return 0;
}
