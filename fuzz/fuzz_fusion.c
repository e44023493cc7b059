/*
 * fuzz_fusion.c — libFuzzer target for the fusion-file loader:
 * lf_fusion_load_bytes (the body of lf_fusion_load), then a prediction.
 * The body is fz_run_fusion in targets.c, shared with tests/test_corpus.c,
 * which replays fuzz/corpus/fusion/ and fuzz/crashes/fusion/ in `make test`.
 * Build and run: make fuzz FUZZ_SECONDS=60 (see fuzz/README.md).
 */
#include "targets.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fz_run_fusion(data, size) == FZ_BROKEN) __builtin_trap(); /* reported as a crash */
    return 0;
}
