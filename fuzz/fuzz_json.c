/*
 * fuzz_json.c — libFuzzer target for lf_json_parse (src/io/json.h): the strict JSON reader, with a write/re-read round trip.
 * The body is fz_run_json in targets.c, shared with tests/test_corpus.c,
 * which replays fuzz/corpus/json/ and fuzz/crashes/json/ in `make test`.
 * Build and run: make fuzz FUZZ_SECONDS=60 (see fuzz/README.md).
 */
#include "targets.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fz_run_json(data, size) == FZ_BROKEN) __builtin_trap(); /* reported as a crash */
    return 0;
}
