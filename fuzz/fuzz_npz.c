/*
 * fuzz_npz.c — libFuzzer target for lf_npz_parse (src/io/npz.h): the .npz reader.
 * The body is fz_run_npz in targets.c, shared with tests/test_corpus.c,
 * which replays fuzz/corpus/npz/ and fuzz/crashes/npz/ in `make test`.
 * Build and run: make fuzz FUZZ_SECONDS=60 (see fuzz/README.md).
 */
#include "targets.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fz_run_npz(data, size) == FZ_BROKEN) __builtin_trap(); /* reported as a crash */
    return 0;
}
