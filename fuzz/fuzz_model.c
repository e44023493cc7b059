/*
 * fuzz_model.c — libFuzzer target for the model-file loader: lf_st_parse, then lf_model_from_file (src/model_io.h:
 * lf_model_load's lf_model_from_parts with the "architecture" metadata, then the lookups and text vectorizers
 * kept with the inputs), then predict and an in-memory save/load.
 * The body is fz_run_model in targets.c, shared with tests/test_corpus.c,
 * which replays fuzz/corpus/model/ and fuzz/crashes/model/ in `make test`.
 * Build and run: make fuzz FUZZ_SECONDS=60 (see fuzz/README.md).
 */
#include "targets.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fz_run_model(data, size) == FZ_BROKEN) __builtin_trap(); /* reported as a crash */
    return 0;
}
