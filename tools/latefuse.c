/*
 * latefuse.c — main() of the `latefuse` command-line tool: parses the
 * command line (args.c), prints help/version, and runs the command
 * (cmd_*.c).  Also the helpers every command shares: error printing with
 * the exit-status policy, the examples' seeded generator, terminal test.
 *
 * Exit status: 0 success; 2 bad usage or bad input (unknown option,
 * missing argument, unreadable or malformed input file, library FORMAT /
 * SHAPE / ARG / NUMERIC errors); 1 anything else (out of memory, a file
 * that cannot be written).
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
        return 0;
    }
    if (o.help) {
        fputs(lf_cli_usage(o.command), stdout);
        return 0;
    }
    if (o.command == CLI_COMPARE || o.command == CLI_FIT || o.command == CLI_PREDICT || o.command == CLI_EVAL ||
        o.command == CLI_REPORT) {
        /* before anything is read or written */
        if (cli_check_outputs_apart(&o, err, sizeof err)) {
            cli_error(err);
            return CLI_EXIT_USAGE;
        }
        cli_guard_start();
    }
    switch (o.command) {
    case CLI_SEED_EXAMPLE: return cli_cmd_seed_example(&o);
    case CLI_HEAD_EXAMPLE: return cli_cmd_head_example(&o);
    case CLI_COMPARE: return cli_cmd_compare(&o);
    case CLI_FIT: return cli_cmd_fit(&o);
    case CLI_PREDICT: return cli_cmd_predict(&o);
    case CLI_EVAL: return cli_cmd_eval(&o);
    case CLI_INSPECT: return cli_cmd_inspect(&o);
    case CLI_DEMO: return cli_cmd_demo(&o);
    case CLI_REPORT: return cli_cmd_report(&o);
    default: break;
    }
    fputs(lf_cli_usage(CLI_NONE), stderr);
    return CLI_EXIT_USAGE;
}
