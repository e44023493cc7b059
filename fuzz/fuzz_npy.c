/*
 * fuzz_npy.c — libFuzzer target for lf_npy_parse and lf_npy_parse_nd (src/io/npy.h):
 * the .npy readers, 2-D float32 and N-dimensional, on the same bytes.
 * The body is fz_run_npy in targets.c, shared with tests/test_corpus.c,
 * which replays fuzz/corpus/npy/ and fuzz/crashes/npy/ in `make test`.
 * Build and run: make fuzz FUZZ_SECONDS=60 (see fuzz/README.md).
 */
#include "targets.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fz_run_npy(data, size) == FZ_BROKEN) __builtin_trap(); /* reported as a crash */
    return 0;
}
