/*
 * fuzz_cli.c — libFuzzer target for lf_cli_parse (tools/args.c), the
 * command-line parser of `latefuse`: the input is the argument list,
 * separated by NUL bytes.  The body is fz_run_cli in targets.c, shared with
 * tests/test_corpus.c.  Build and run: make fuzz (see fuzz/README.md).
 */
#include "targets.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fz_run_cli(data, size) == FZ_BROKEN) __builtin_trap(); /* reported as a crash */
    return 0;
}
