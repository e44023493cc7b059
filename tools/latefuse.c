/*
 * latefuse.c — main() of the `latefuse` command-line tool: parses the
 * command line (args.c), prints help/version, and runs the command
 * (cmd_*.c).  Also the helpers every command shares: error printing with
 * the exit-status policy, the examples' seeded generator, terminal test.
 *
 * Exit status: 0 success; 2 bad usage or bad input (unknown option,
 * missing argument, unreadable or malformed input file, library FORMAT /
 * SHAPE / ARG / NUMERIC errors); 1 anything else (out of memory, a file
 * that cannot be written, the standard output among them).
 */
#include "cli.h"

#include <stdio.h>

int main(int argc, char **argv) {
    struct cli_opts o;
    char err[512];
    if (lf_cli_parse(argc, argv, &o, err, sizeof err)) {
        cli_error(err);
        return CLI_EXIT_USAGE;
    }
    if (o.version) {
        printf("latefuse %s\n", LF_VERSION);
        return cli_stdout_status(0);
    }
    if (o.help) {
        fputs(lf_cli_usage(o.command), stdout);
        return cli_stdout_status(0);
    }
    if (o.command == CLI_NONE || o.command >= CLI_NUM_COMMANDS) {
        fputs(lf_cli_usage(CLI_NONE), stderr);
        return CLI_EXIT_USAGE;
    }
    /* an MPI job (the MPI build) before the guard's signal handlers */
    cli_mpi_start(&argc, &argv, &o);
    if (o.command == CLI_COMPARE || o.command == CLI_FIT || o.command == CLI_PREDICT || o.command == CLI_EVAL ||
        o.command == CLI_REPORT) {
        /* before anything is read or written: an output that is also an
         * input (exit 2), an output folder that cannot take the file (exit
         * 1, as when the write fails).  Every rank of an MPI job finds the
         * same; rank 0 says it. */
        int bad = cli_check_outputs_apart(&o, err, sizeof err)     ? CLI_EXIT_USAGE
                  : cli_check_output_folders(&o, err, sizeof err) ? CLI_EXIT_FAIL
                                                                  : 0;
        if (bad) {
            if (o.rank == 0) cli_error(err);
            return cli_mpi_finish(&o, bad);
        }
        cli_guard_start(o.threads);
    } else if (o.command == CLI_SEED_EXAMPLE || o.command == CLI_HEAD_EXAMPLE) {
        /* --history as fit's, before the training (demo checks its own) */
        if (cli_check_output_folders(&o, err, sizeof err)) {
            if (o.rank == 0) cli_error(err);
            return cli_mpi_finish(&o, CLI_EXIT_FAIL);
        }
        cli_guard_start(0);
    } else if (o.command == CLI_DEMO) {
        cli_guard_start(0); /* its --report and --save files, as the fusion commands' outputs */
    }
    int rc = CLI_EXIT_USAGE;
    switch (o.command) {
    case CLI_SEED_EXAMPLE: rc = cli_cmd_seed_example(&o); break;
    case CLI_HEAD_EXAMPLE: rc = cli_cmd_head_example(&o); break;
    case CLI_COMPARE: rc = cli_cmd_compare(&o); break;
    case CLI_FIT: rc = cli_cmd_fit(&o); break;
    case CLI_PREDICT: rc = cli_cmd_predict(&o); break;
    case CLI_EVAL: rc = cli_cmd_eval(&o); break;
    case CLI_INSPECT: rc = cli_cmd_inspect(&o); break;
    case CLI_DEMO: rc = cli_cmd_demo(&o); break;
    case CLI_REPORT: rc = cli_cmd_report(&o); break;
    default: break;
    }
    /* a table, a JSON object or a summary on stdout that could not all be
     * written fails the run (exit 1), as an output file would */
    return cli_mpi_finish(&o, cli_stdout_status(rc));
}
