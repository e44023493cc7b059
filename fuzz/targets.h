/*
 * targets.h — the bodies of the libFuzzer targets, shared by the fuzz
 * drivers (fuzz/fuzz_*.c, built with clang -fsanitize=fuzzer) and by
 * tests/test_corpus.c, which replays the committed corpus and every crash
 * ever found through exactly the same code in the normal test build.
 *
 * Each function feeds one input to one parser, checks the parser's promises
 * (a valid lf_status; on failure a zeroed result and a message; on success
 * a result whose sizes, pointers and values are consistent, and which
 * survives a write/re-read round trip where the library can write the
 * format), frees everything, and returns the parser's lf_status — or
 * FZ_BROKEN, after printing the reason on stderr, when a promise is broken.
 * The fuzz drivers turn FZ_BROKEN into a crash; the test turns it into a
 * failed CHECK.
 */
#ifndef LF_FUZZ_TARGETS_H
#define LF_FUZZ_TARGETS_H

#include <stddef.h>

#define FZ_BROKEN (-1)

/* lf_npy_parse and lf_npy_parse_nd of the bytes. */
int fz_run_npy(const unsigned char *data, size_t len);
int fz_run_npz(const unsigned char *data, size_t len);
/* lf_csv_parse of the bytes. */
int fz_run_csv(const unsigned char *data, size_t len);
/* lf_json_parse of the bytes, plus a serialise/re-parse round trip. */
int fz_run_json(const unsigned char *data, size_t len);
/* lf_st_parse of the bytes, every accessor, F32 conversion, and a
 * serialise/re-parse round trip when every tensor is finite F32. */
int fz_run_safetensors(const unsigned char *data, size_t len);
/* The model loader: lf_st_parse, the "architecture" metadata (missing:
 * LF_ERR_FORMAT), lf_model_from_parts; a loaded, compiled model must
 * predict a few rows, and predict the same after an in-memory save/load. */
int fz_run_model(const unsigned char *data, size_t len);

/* The fusion-file loader (lf_fusion_load_bytes); a loaded model must
 * predict probability rows. */
int fz_run_fusion(const unsigned char *data, size_t len);
/* lf_image_decode of the bytes (PNG or JPEG) at two output sizes, which
 * must agree on the status; a failure has a message, a success none. */
int fz_run_image(const unsigned char *data, size_t len);

/* The command-line parser (tools/args.c): NUL-separated arguments. */
int fz_run_cli(const unsigned char *data, size_t len);

/* The targets by name ("npy", "csv", "json", "safetensors", "model", "image",
 * "cli", "fusion"). */
typedef int (*fz_target_fn)(const unsigned char *data, size_t len);
typedef struct fz_target {
    const char *name;
    fz_target_fn run;
} fz_target;
extern const fz_target fz_targets[];
extern const size_t fz_num_targets;

#endif
