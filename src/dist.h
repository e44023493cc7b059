/*
 * dist.h — the library's few collective operations over an MPI
 * communicator, and their one-process stand-ins.
 *
 * Why here: the public header never includes mpi.h; a caller passes a
 * pointer to its MPI_Comm (the `mpi_comm` field of the options structs,
 * NULL = one process).  lf_dist_open turns that pointer into an lf_dist;
 * every other call works the same on a build without MPI (one rank), so
 * the distributed code paths have no #ifdef of their own.  A build without
 * MPI given a communicator fails with LF_ERR_ARG.
 *
 * Every collective is a reduction or gather whose result is the same bits
 * on every rank and does not depend on timing: sums are done in rank order
 * on gathered blocks, or in the ring allreduce's fixed order (the engine's
 * gradients), never by MPI's own reduction of floating point.  No
 * call aborts the job: an MPI error becomes an lf_status (Open MPI's
 * default handler aborts the job on an MPI error, which the library does
 * not change; the caller may set MPI_ERRORS_RETURN on its communicator).
 */
#ifndef LF_DIST_H
#define LF_DIST_H

#include "internal.h"

#include <stddef.h>
#include <stdint.h>

typedef struct lf_dist {
    int rank, size;        /* 0 and 1 without a communicator */
    const void *comm;      /* the caller's MPI_Comm *, or NULL */
} lf_dist;

/* One process (rank 0 of 1) for mpi_comm NULL; else the communicator's
 * rank and size.  LF_ERR_ARG when this build has no MPI. */
lf_status lf_dist_open(lf_err *e, const void *mpi_comm, lf_dist *d);

/* Whether the library was built with MPI (LF_HAVE_MPI). */
int lf_dist_available(void);

/* Agrees on the first failure: `first` is this rank's smallest failing
 * work index (SIZE_MAX: none) with its status `st` and message in e.  On
 * return every rank holds the status and message of the rank that failed
 * at the smallest index (the lowest such rank), and `extra_len` bytes of
 * its `extra` (NULL: none; details of the failure), and returns that
 * status (LF_OK if none failed).  Without a communicator it returns st. */
lf_status lf_dist_first_failure(const lf_dist *d, size_t first, lf_status st, lf_err *e, void *extra,
                                size_t extra_len);

/* A status every rank agrees on, with no work index: each rank passes its
 * own st (its message in e); every rank returns the status and message of
 * the lowest rank that failed (LF_OK when none did).  One call of
 * lf_dist_first_failure, the failing ranks' index their rank: a rank that
 * fails before a collective section calls this where the others make
 * their first agreement (lf_model_fit's, the learned fusion methods'),
 * so that none waits for it.  st without a communicator, or when the
 * communicator cannot be opened (the caller sees that failure there). */
lf_status lf_dist_agree(const void *mpi_comm, lf_status st, lf_err *e);

/* One argument of a collective call, for lf_dist_same: what it is (for
 * the message: "rows", "labels") and its value on this rank; `hashed` when
 * the value is a digest of data (lf_dist_digest), whose numbers mean
 * nothing to a reader. */
typedef struct lf_dist_arg {
    const char *what;
    uint64_t value;
    int hashed;
} lf_dist_arg;

/* Whether every rank was given the same arguments (a collective call's
 * contract): the n values are compared over the ranks (their minimum and
 * maximum, one allreduce) and every rank returns LF_ERR_ARG naming the
 * first that differs ("the MPI ranks were given different rows (1500 to
 * 2000) ...") or LF_OK.  Call it where every rank arrives with nothing
 * failed (after an agreement on failure), before the collective calls
 * whose sizes the arguments set.  n <= LF_DIST_MAX_ARGS.  LF_OK without a
 * communicator. */
#define LF_DIST_MAX_ARGS 24
lf_status lf_dist_same(const lf_dist *d, const lf_dist_arg *a, size_t n, lf_err *e);

/* A 64-bit digest of n bytes (FNV-1a over 4-byte words, the tail bytewise)
 * continuing h (start with 0): to compare data over ranks without sending
 * it. */
uint64_t lf_dist_digest(uint64_t h, const void *data, size_t n);

/* Every rank's n doubles, concatenated in rank order into all
 * (size * n doubles) on every rank. */
lf_status lf_dist_allgather(const lf_dist *d, const double *mine, size_t n, double *all, lf_err *e);

/* The same for floats. */
lf_status lf_dist_allgather_f(const lf_dist *d, const float *mine, size_t n, float *all, lf_err *e);

/* Bitwise OR of an int flag over ranks (any failed), on every rank. */
lf_status lf_dist_any(const lf_dist *d, int mine, int *any, lf_err *e);

/* Rank root's n bytes to every rank. */
lf_status lf_dist_bcast(const lf_dist *d, void *buf, size_t n, int root, lf_err *e);

/* Waits for every rank. */
lf_status lf_dist_barrier(const lf_dist *d, lf_err *e);

/* Waits for every rank like lf_dist_barrier, but politely: a rank that
 * arrives first sleeps between checks (about a millisecond) instead of
 * polling, so that it leaves its core to the ranks still working (Open
 * MPI's blocking calls poll at full speed). */
lf_status lf_dist_wait_all(const lf_dist *d, lf_err *e);
/* ---- the engine's (fit.c) */

/* The values of the ring allreduce's block q of n over P ranks:
 * [n q / P, n (q + 1) / P). */
size_t lf_dist_ring_block(size_t n, int P, int q);

/* Sum of v[0..n) over the ranks, in place on every rank, by a ring
 * allreduce: the n values in P blocks, P - 1 steps of reduce-scatter
 * (block q's partial sum travels q + 1, q + 2, ... around the ring, each
 * rank adding its own values to what it received) then P - 1 steps of
 * allgather, point to point with each neighbour.  Each rank sends and
 * receives 2 (P - 1) / P of the 4 n bytes.  The order of the additions is
 * fixed for a given P (the same bits run to run and on every rank; with
 * P = 2 every sum has two terms, the same as rank order).  tmp: room for
 * the largest block, n / P + 1 floats.  Without a communicator: nothing
 * to do. */
lf_status lf_dist_allreduce_ring_f(const lf_dist *d, float *v, size_t n, float *tmp, lf_err *e);

#endif
