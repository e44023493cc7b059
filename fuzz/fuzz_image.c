/*
 * fuzz_image.c — libFuzzer target for lf_image_decode (src/image/decode.c): the PNG and
 * JPEG decoders (libpng, libjpeg) behind one entry point, from memory.
 * The body is fz_run_image in targets.c, shared with tests/test_corpus.c,
 * which replays fuzz/corpus/image/ and fuzz/crashes/image/ in `make test`.
 * Build and run: make fuzz FUZZ_SECONDS=60 (see fuzz/README.md).
 */
#include "targets.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fz_run_image(data, size) == FZ_BROKEN) __builtin_trap(); /* reported as a crash */
    return 0;
}
