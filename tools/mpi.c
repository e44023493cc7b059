/*
 * mpi.c — the tool's MPI job (a build with LF_HAVE_MPI, `make MPI=1`):
 * MPI_Init before a command runs, the rank and the number of ranks in the
 * options, one exit status agreed by every rank, MPI_Finalize.  In a
 * build without MPI every call is one process (rank 0 of 1).
 *
 * Under `mpirun -n P` compare and auto spread their cross-validation over
 * the ranks (the library's mpi_comm), predict writes its rows in shards;
 * only rank 0 prints results and writes files (the standard output of
 * the others goes to /dev/null).  Messages of a rank other than 0 start
 * "rank R: ".  A failure seen by some ranks is agreed on
 * (cli_mpi_agree) before the next collective call, so that no rank waits
 * for one that gave up.
 */
#include "cli.h"

#ifdef LF_HAVE_MPI
#include <mpi.h>

/* the communicator the library is given: MPI_COMM_WORLD, set once by
 * cli_mpi_start before any command runs and never changed after */
static MPI_Comm world_comm;
#endif

void cli_mpi_start(int *argc, char ***argv, struct cli_opts *o) {
    o->rank = 0, o->ranks = 1, o->mpi_comm = NULL;
#ifdef LF_HAVE_MPI
    if (MPI_Init(argc, argv) != MPI_SUCCESS) return;
    world_comm = MPI_COMM_WORLD;
    MPI_Comm_rank(world_comm, &o->rank);
    MPI_Comm_size(world_comm, &o->ranks);
    o->mpi_comm = o->ranks > 1 ? (const void *)&world_comm : NULL;
    cli_error_rank(o->rank);
    cli_guard_rank(o->rank);
    /* only rank 0 prints, whatever the command (errors stay on stderr) */
    if (o->rank > 0) {
        FILE *quiet = freopen("/dev/null", "w", stdout);
        (void)quiet; /* without /dev/null the rank prints too: no harm done */
    }
#else
    (void)argc, (void)argv;
#endif
}

int cli_mpi_agree(const struct cli_opts *o, int rc) {
#ifdef LF_HAVE_MPI
    if (o->ranks > 1) {
        int worst = 0;
        if (MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, world_comm) != MPI_SUCCESS) return CLI_EXIT_FAIL;
        return worst;
    }
#else
    (void)o;
#endif
    return rc;
}

int cli_mpi_finish(const struct cli_opts *o, int rc) {
#ifdef LF_HAVE_MPI
    int init = 0, done = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&done);
    if (o->ranks > 1) {
        /* the command is over and its temporary files are gone: when a
         * rank exits non-zero mpirun stops the others with SIGTERM, which
         * now ends them quietly (the guard would say "stopped") */
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
    }
    if (init && !done) MPI_Finalize();
#endif
    (void)o;
    return rc;
}
