/*
 * dist.c — the collectives of dist.h: Open MPI (or any MPI) when the
 * library is built with LF_HAVE_MPI (`make MPI=1`), one-rank stand-ins
 * otherwise.  Pure wrappers: no state of their own.
 */
#include "dist.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#ifdef LF_HAVE_MPI
#include <mpi.h>

static MPI_Comm comm_of(const lf_dist *d) { return *(const MPI_Comm *)d->comm; }

static lf_status mpi_failed(lf_err *e, int rc, const char *what) {
    char s[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, s, &len) != MPI_SUCCESS) len = 0;
    s[len < MPI_MAX_ERROR_STRING ? len : MPI_MAX_ERROR_STRING - 1] = '\0';
    return lf_fail(e, LF_ERR_IO, "MPI %s failed: %s", what, len ? s : "unknown error");
}
#endif

int lf_dist_available(void) {
#ifdef LF_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

lf_status lf_dist_open(lf_err *e, const void *mpi_comm, lf_dist *d) {
    d->rank = 0, d->size = 1, d->comm = NULL;
    if (!mpi_comm) return LF_OK;
#ifdef LF_HAVE_MPI
    int init = 0;
    MPI_Initialized(&init);
    if (!init) return lf_fail(e, LF_ERR_ARG, "an MPI communicator was given but MPI_Init has not been called");
    MPI_Comm c = *(const MPI_Comm *)mpi_comm;
    if (c == MPI_COMM_NULL) return lf_fail(e, LF_ERR_ARG, "the MPI communicator given is MPI_COMM_NULL");
    int rc = MPI_Comm_rank(c, &d->rank);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_size(c, &d->size);
    if (rc != MPI_SUCCESS) return mpi_failed(e, rc, "MPI_Comm_rank");
    d->comm = mpi_comm;
    return LF_OK;
#else
    return lf_fail(e, LF_ERR_ARG, "an MPI communicator was given but this build of latefuse has no MPI "
                                  "(build it with make MPI=1)");
#endif
}

lf_status lf_dist_first_failure(const lf_dist *d, size_t first, lf_status st, lf_err *e, void *extra,
                                size_t extra_len) {
    if (!d->comm) return st;
#ifdef LF_HAVE_MPI
    MPI_Comm c = comm_of(d);
    /* (index, rank) pairs: the smallest index, the lowest rank among equals */
    uint64_t mine[2] = {first == SIZE_MAX ? UINT64_MAX : (uint64_t)first, (uint64_t)d->rank}, min[2];
    int rc = MPI_Allreduce(&mine[0], &min[0], 1, MPI_UINT64_T, MPI_MIN, c);
    if (rc != MPI_SUCCESS) return mpi_failed(e, rc, "MPI_Allreduce");
    if (min[0] == UINT64_MAX) return LF_OK;
    if (mine[0] != min[0]) mine[1] = UINT64_MAX;
    rc = MPI_Allreduce(&mine[1], &min[1], 1, MPI_UINT64_T, MPI_MIN, c);
    if (rc != MPI_SUCCESS) return mpi_failed(e, rc, "MPI_Allreduce");
    int root = (int)min[1], code = (int)st;
    rc = MPI_Bcast(&code, 1, MPI_INT, root, c);
    if (rc == MPI_SUCCESS) rc = MPI_Bcast(e->msg, (int)sizeof e->msg, MPI_CHAR, root, c);
    if (rc != MPI_SUCCESS) return mpi_failed(e, rc, "MPI_Bcast");
    e->msg[sizeof e->msg - 1] = '\0';
    if (extra && extra_len) {
        lf_status bst = lf_dist_bcast(d, extra, extra_len, root, e);
        if (bst != LF_OK) return bst;
    }
    return (lf_status)code;
#else
    (void)first, (void)e, (void)extra, (void)extra_len;
    return st;
#endif
}

lf_status lf_dist_agree(const void *mpi_comm, lf_status st, lf_err *e) {
    lf_dist d;
    lf_err oe;
    if (!mpi_comm || lf_dist_open(&oe, mpi_comm, &d) != LF_OK || d.size == 1) return st;
    if (st == LF_OK) e->msg[0] = '\0';
    return lf_dist_first_failure(&d, st != LF_OK ? (size_t)d.rank : SIZE_MAX, st, e, NULL, 0);
}

lf_status lf_dist_same(const lf_dist *d, const lf_dist_arg *a, size_t n, lf_err *e) {
    if (!d->comm || d->size == 1) return LF_OK;
    if (n > LF_DIST_MAX_ARGS) return lf_fail(e, LF_ERR_ARG, "lf_dist_same: %zu arguments, at most %d", n, LF_DIST_MAX_ARGS);
#ifdef LF_HAVE_MPI
    /* the maxima of v and of ~v: the maximum and (complemented) minimum */
    uint64_t mine[2 * LF_DIST_MAX_ARGS] = {0}, max[2 * LF_DIST_MAX_ARGS];
    for (size_t i = 0; i < n; i++) mine[i] = a[i].value, mine[n + i] = ~a[i].value;
    int rc = MPI_Allreduce(mine, max, (int)(2 * n), MPI_UINT64_T, MPI_MAX, comm_of(d));
    if (rc != MPI_SUCCESS) return mpi_failed(e, rc, "MPI_Allreduce");
    for (size_t i = 0; i < n; i++) {
        uint64_t hi = max[i], lo = ~max[n + i];
        if (hi == lo) continue;
        if (a[i].hashed)
            return lf_fail(e, LF_ERR_ARG, "the MPI ranks were given different %s: every rank of a collective call "
                                          "must pass the same data and options", a[i].what);
        return lf_fail(e, LF_ERR_ARG, "the MPI ranks were given different %s (%llu to %llu): every rank of a "
                                      "collective call must pass the same data and options",
                       a[i].what, (unsigned long long)lo, (unsigned long long)hi);
    }
    return LF_OK;
#else
    (void)a, (void)e;
    return LF_OK;
#endif
}

uint64_t lf_dist_digest(uint64_t h, const void *data, size_t n) {
    const unsigned char *b = data;
    if (!h) h = 1469598103934665603ull;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t w;
        memcpy(&w, b + i, 4);
        h = (h ^ w) * 1099511628211ull;
    }
    for (; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

lf_status lf_dist_allgather(const lf_dist *d, const double *mine, size_t n, double *all, lf_err *e) {
    if (!d->comm) {
        if (n) memcpy(all, mine, n * sizeof *mine);
        return LF_OK;
    }
#ifdef LF_HAVE_MPI
    if (n > INT_MAX) return lf_fail(e, LF_ERR_SHAPE, "%zu values are too many for one MPI message", n);
    int rc = MPI_Allgather(mine, (int)n, MPI_DOUBLE, all, (int)n, MPI_DOUBLE, comm_of(d));
    return rc == MPI_SUCCESS ? LF_OK : mpi_failed(e, rc, "MPI_Allgather");
#else
    (void)e;
    return LF_OK;
#endif
}

lf_status lf_dist_allgather_f(const lf_dist *d, const float *mine, size_t n, float *all, lf_err *e) {
    if (!d->comm) {
        if (n) memcpy(all, mine, n * sizeof *mine);
        return LF_OK;
    }
#ifdef LF_HAVE_MPI
    if (n > INT_MAX) return lf_fail(e, LF_ERR_SHAPE, "%zu values are too many for one MPI message", n);
    int rc = MPI_Allgather(mine, (int)n, MPI_FLOAT, all, (int)n, MPI_FLOAT, comm_of(d));
    return rc == MPI_SUCCESS ? LF_OK : mpi_failed(e, rc, "MPI_Allgather");
#else
    (void)e;
    return LF_OK;
#endif
}

lf_status lf_dist_any(const lf_dist *d, int mine, int *any, lf_err *e) {
    *any = mine != 0;
    if (!d->comm) return LF_OK;
#ifdef LF_HAVE_MPI
    int v = mine != 0;
    int rc = MPI_Allreduce(&v, any, 1, MPI_INT, MPI_LOR, comm_of(d));
    return rc == MPI_SUCCESS ? LF_OK : mpi_failed(e, rc, "MPI_Allreduce");
#else
    (void)e;
    return LF_OK;
#endif
}

lf_status lf_dist_bcast(const lf_dist *d, void *buf, size_t n, int root, lf_err *e) {
    if (!d->comm) return LF_OK;
#ifdef LF_HAVE_MPI
    unsigned char *b = buf;
    while (n) { /* counts are ints */
        int part = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        int rc = MPI_Bcast(b, part, MPI_BYTE, root, comm_of(d));
        if (rc != MPI_SUCCESS) return mpi_failed(e, rc, "MPI_Bcast");
        b += part, n -= (size_t)part;
    }
    return LF_OK;
#else
    (void)buf, (void)n, (void)root, (void)e;
    return LF_OK;
#endif
}

lf_status lf_dist_barrier(const lf_dist *d, lf_err *e) {
    if (!d->comm) return LF_OK;
#ifdef LF_HAVE_MPI
    int rc = MPI_Barrier(comm_of(d));
    return rc == MPI_SUCCESS ? LF_OK : mpi_failed(e, rc, "MPI_Barrier");
#else
    (void)e;
    return LF_OK;
#endif
}

lf_status lf_dist_wait_all(const lf_dist *d, lf_err *e) {
    if (!d->comm) return LF_OK;
#ifdef LF_HAVE_MPI
    MPI_Request req;
    int rc = MPI_Ibarrier(comm_of(d), &req), done = 0;
    while (rc == MPI_SUCCESS && !done) {
        rc = MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        if (rc == MPI_SUCCESS && !done) {
            struct timespec nap = {0, 1000000L};
            nanosleep(&nap, NULL);
        }
    }
    return rc == MPI_SUCCESS ? LF_OK : mpi_failed(e, rc, "MPI_Ibarrier");
#else
    (void)e;
    return LF_OK;
#endif
}

/* ------------------------------------------------------------------ engine */

size_t lf_dist_ring_block(size_t n, int P, int q) {
    return n * (size_t)q / (size_t)P;
}

lf_status lf_dist_allreduce_ring_f(const lf_dist *d, float *v, size_t n, float *tmp, lf_err *e) {
    if (!d->comm || d->size == 1) return LF_OK;
#ifdef LF_HAVE_MPI
    MPI_Comm c = comm_of(d);
    int P = d->size, me = d->rank, right = (me + 1) % P, left = (me + P - 1) % P;
    if (n / (size_t)P + 1 > INT_MAX)
        return lf_fail(e, LF_ERR_SHAPE, "%zu values are too many for the ring allreduce's messages", n);
    /* reduce-scatter: at step t rank me sends its partial sum of block
     * me - t and adds its own values to the partial sum of block
     * me - t - 1 received from the left; after P - 1 steps it holds block
     * me + 1 summed over every rank */
    for (int t = 0; t < P - 1; t++) {
        int sb = ((me - t) % P + P) % P, rb = ((me - t - 1) % P + P) % P;
        size_t s0 = lf_dist_ring_block(n, P, sb), s1 = lf_dist_ring_block(n, P, sb + 1);
        size_t r0 = lf_dist_ring_block(n, P, rb), r1 = lf_dist_ring_block(n, P, rb + 1);
        int rc = MPI_Sendrecv(v + s0, (int)(s1 - s0), MPI_FLOAT, right, 17, tmp, (int)(r1 - r0), MPI_FLOAT, left,
                              17, c, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_failed(e, rc, "MPI_Sendrecv");
        for (size_t i = r0; i < r1; i++) v[i] = tmp[i - r0] + v[i];
    }
    /* allgather: the summed blocks passed on around the ring */
    for (int t = 0; t < P - 1; t++) {
        int sb = ((me + 1 - t) % P + P) % P, rb = ((me - t) % P + P) % P;
        size_t s0 = lf_dist_ring_block(n, P, sb), s1 = lf_dist_ring_block(n, P, sb + 1);
        size_t r0 = lf_dist_ring_block(n, P, rb), r1 = lf_dist_ring_block(n, P, rb + 1);
        int rc = MPI_Sendrecv(v + s0, (int)(s1 - s0), MPI_FLOAT, right, 18, v + r0, (int)(r1 - r0), MPI_FLOAT,
                              left, 18, c, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return mpi_failed(e, rc, "MPI_Sendrecv");
    }
    return LF_OK;
#else
    (void)v, (void)n, (void)tmp, (void)e;
    return LF_OK;
#endif
}
