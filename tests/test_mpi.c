/*
 * test_mpi.c — the library built without MPI (the default build) given an
 * MPI communicator: lf_fusion_compare and lf_fusion_fit with
 * opt.mpi_comm set fail with LF_ERR_ARG and say how to build with MPI, and
 * with mpi_comm NULL they run as before; so does lf_model_fit with
 * lf_fit_options.mpi_comm set.  (The MPI build itself is tested
 * under mpirun by tests/mpi_test.sh.)
 */
#include "check.h"
#include "latefuse.h"

#include <string.h>

#define WANT "an MPI communicator was given but this build of latefuse has no MPI (build it with make MPI=1)"

int main(void) {
    enum { N = 20, C = 2 };
    float a[N * C], b[N * C];
    int y[N];
    for (int i = 0; i < N; i++) {
        y[i] = i % 2;
        a[i * C + y[i]] = 0.8f, a[i * C + 1 - y[i]] = 0.2f;
        b[i * C + y[i]] = i % 3 ? 0.6f : 0.3f, b[i * C + 1 - y[i]] = i % 3 ? 0.4f : 0.7f;
    }
    const float *p[2] = {a, b};
    const char *names[2] = {"a", "b"};
    lf_fusion *f = NULL;
    CHECK(lf_fusion_create(&f) == LF_OK, "create");
    lf_fusion_options o = lf_fusion_defaults();
    int dummy = 0; /* stands for an MPI_Comm: never read */
    o.mpi_comm = &dummy;
    lf_compare_table *t = NULL;
    lf_status st = lf_fusion_compare(f, p, names, 2, N, C, y, NULL, 0, &o, &t);
    CHECK(st == LF_ERR_ARG && t == NULL, "compare with a communicator: LF_ERR_ARG, got %d", (int)st);
    CHECK(strcmp(lf_fusion_error(f), WANT) == 0, "compare's message: '%s'", lf_fusion_error(f));
    o.method = LF_FUSE_AUTO;
    st = lf_fusion_fit(f, p, names, 2, N, C, y, &o);
    CHECK(st == LF_ERR_ARG, "fit auto with a communicator: LF_ERR_ARG, got %d", (int)st);
    CHECK(strcmp(lf_fusion_error(f), WANT) == 0, "fit's message: '%s'", lf_fusion_error(f));
    o.mpi_comm = NULL;
    st = lf_fusion_compare(f, p, names, 2, N, C, y, NULL, 0, &o, &t);
    CHECK(st == LF_OK && t && t->n_rows == lf_method_list(NULL, 0) + 3, "compare without: %d, %zu rows", (int)st,
          t ? t->n_rows : 0);
    lf_compare_table_free(t);
    lf_fusion_free(f);

    lf_model *m = NULL;
    CHECK(lf_model_create(&m, 1) == LF_OK, "model");
    CHECK(lf_seed_network(m, 3, 4, NULL, NULL) == LF_OK, "seed network");
    float x1[3 * N], x2[3 * N], yy[N];
    for (int i = 0; i < 3 * N; i++) x1[i] = (float)(i % 7) / 7.0f, x2[i] = (float)(i % 5) / 5.0f;
    for (int i = 0; i < N; i++) yy[i] = (float)(i % 2);
    const float *x[2] = {x1, x2};
    lf_fit_options fo = lf_fit_defaults();
    fo.mpi_comm = &dummy;
    st = lf_model_fit(m, x, yy, N, &fo);
    CHECK(st == LF_ERR_ARG, "fit with a communicator: LF_ERR_ARG, got %d", (int)st);
    CHECK(strcmp(lf_model_error(m), WANT) == 0, "fit's message: '%s'", lf_model_error(m));
    fo.mpi_comm = NULL;
    st = lf_model_fit(m, x, yy, N, &fo);
    CHECK(st == LF_OK && lf_model_history(m)->epochs == 1, "fit without: %d", (int)st);
    lf_model_free(m);
    return check_report("test_mpi");
}
