/*
 * test_corpus.c — replays the fuzzing corpus in the normal test build: every
 * file of fuzz/corpus/<target>/ and fuzz/crashes/<target>/ goes through the
 * same target body as the libFuzzer driver (fuzz/targets.c), so `make test`
 * and `make san` prove that no input ever found crashes, leaks or breaks a
 * parser's promises — without needing clang or libFuzzer.
 *
 * The hand-made seeds carry their expected outcome in their names: ok_*
 * must give LF_OK, bad_* must give LF_ERR_FORMAT.  A few of them are also
 * read through the public/file-level readers to check the exact message,
 * and every model seed is loaded with lf_model_load, which must agree with
 * the fuzz target.  Runs from the repository root.
 */
#include "check.h"
#include "targets.h"

#include "io/csv.h"
#include "io/json.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "model.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

/* Reads a whole file (NULL on failure; *len 0 and a 1-byte buffer for an
 * empty one, so that the target gets a valid pointer). */
static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        unsigned char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The regular files of a folder, sorted (NULL-terminated; NULL if the folder
 * does not exist). */
static char **list_dir(const char *dir, size_t *n) {
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    size_t cap = 64;
    char **names = malloc(cap * sizeof *names);
    struct dirent *ent;
    while (names && (ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.') continue;
        if (*n + 1 >= cap) {
            char **nn = realloc(names, 2 * cap * sizeof *names);
            if (!nn) break;
            names = nn;
            cap *= 2;
        }
        size_t l = strlen(ent->d_name);
        names[*n] = malloc(l + 1);
        if (!names[*n]) break;
        memcpy(names[*n], ent->d_name, l + 1);
        (*n)++;
    }
    closedir(d);
    if (!names) return NULL;
    names[*n] = NULL;
    qsort(names, *n, sizeof *names, cmp_str);
    return names;
}

static void free_list(char **names, size_t n) {
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

/* Whether this build decodes the image seed `name` (by its extension:
 * .png needs libpng, .jpg libjpeg; anything else is decodable as an error). */
static int image_format_built(const char *name) {
    size_t n = strlen(name);
    if (n > 4 && strcmp(name + n - 4, ".png") == 0) return (lf_image_formats() & LF_IMAGE_PNG) != 0;
    if (n > 4 && strcmp(name + n - 4, ".jpg") == 0) return (lf_image_formats() & LF_IMAGE_JPEG) != 0;
    return 1;
}

typedef struct tally {
    size_t files, ok_seeds, bad_seeds;
} tally;

/* Replays one folder through one target. */
static void replay(const fz_target *t, const char *dir, int is_seed_dir, tally *tl) {
    size_t n;
    char **names = list_dir(dir, &n);
    for (size_t i = 0; i < n; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len = 0;
        unsigned char *data = slurp(path, &len);
        CHECK(data != NULL, "cannot read %s", path);
        if (!data) continue;
        if (strcmp(t->name, "image") == 0 && !image_format_built(names[i])) {
            CHECK_SKIP("%s: latefuse was built without the decoder of this format", path);
            free(data);
            continue;
        }
        int r = t->run(data, len);
        CHECK(r >= LF_OK && r <= LF_ERR_NUMERIC, "%s: %s gives %d (broken promise or bad status)",
              t->name, path, r);
        if (is_seed_dir && starts_with(names[i], "ok_")) {
            CHECK(r == LF_OK, "%s: %s must parse, got %d", t->name, path, r);
            tl->ok_seeds++;
        } else if (is_seed_dir && starts_with(names[i], "bad_")) {
            /* the CLI parser's failure is the usage exit status, 2 */
            int want = strcmp(t->name, "cli") == 0 ? 2 : LF_ERR_FORMAT;
            CHECK(r == want, "%s: %s must fail with %d, got %d", t->name, path, want, r);
            tl->bad_seeds++;
        }
        if (is_seed_dir && strcmp(t->name, "model") == 0 &&
            (starts_with(names[i], "ok_") || starts_with(names[i], "bad_"))) {
            /* the public loader agrees with the fuzz target's verdict */
            lf_model *m = NULL;
            CHECK(lf_model_create(&m, 0) == LF_OK, "create");
            lf_status st = lf_model_load(m, path);
            CHECK((int)st == r, "lf_model_load(%s) gives %d, the target %d: %s", path, st, r,
                  lf_model_error(m));
            if (st != LF_OK) CHECK(strstr(lf_model_error(m), path) != NULL,
                                   "the message names the file: %s", lf_model_error(m));
            lf_model_free(m);
        }
        if (is_seed_dir && strcmp(t->name, "fusion") == 0 &&
            (starts_with(names[i], "ok_") || starts_with(names[i], "bad_"))) {
            /* lf_fusion_load of the file agrees with the target's verdict */
            lf_fusion *f = NULL;
            CHECK(lf_fusion_create(&f) == LF_OK, "create");
            lf_status st = lf_fusion_load(f, path);
            CHECK((int)st == r, "lf_fusion_load(%s) gives %d, the target %d: %s", path, st, r,
                  lf_fusion_error(f));
            if (st != LF_OK) CHECK(strstr(lf_fusion_error(f), path) != NULL,
                                   "the message names the file: %s", lf_fusion_error(f));
            lf_fusion_free(f);
        }
        tl->files++;
        free(data);
    }
    free_list(names, n);
}

/* The message a reader gives for one seed file. */
static lf_status message_of(const char *target, const char *file, char *msg, size_t cap) {
    char path[512];
    snprintf(path, sizeof path, "fuzz/corpus/%s/%s", target, file);
    lf_err e;
    e.msg[0] = 0;
    lf_status st;
    if (strcmp(target, "npy") == 0 || strcmp(target, "csv") == 0) {
        lf_array a;
        st = target[0] == 'n' ? lf_npy_read(path, &a, &e) : lf_csv_read(path, &a, &e);
        if (st == LF_OK) lf_array_free(&a);
    } else if (strcmp(target, "safetensors") == 0) {
        lf_st_file f;
        st = lf_st_read(path, &f, &e);
        lf_st_free(&f);
    } else if (strcmp(target, "json") == 0) {
        size_t len = 0;
        unsigned char *data = slurp(path, &len);
        lf_json *root = NULL;
        st = data ? lf_json_parse((const char *)data, len, &root, &e) : LF_ERR_IO;
        lf_json_free(root);
        free(data);
    } else if (strcmp(target, "fusion") == 0) {
        lf_fusion *f = NULL;
        if (lf_fusion_create(&f) != LF_OK) return LF_ERR_NOMEM;
        st = lf_fusion_load(f, path);
        snprintf(e.msg, sizeof e.msg, "%s", lf_fusion_error(f));
        lf_fusion_free(f);
    } else if (strcmp(target, "image") == 0) {
        uint8_t px[8 * 8 * 3];
        st = lf_image_load(path, 8, 8, px, e.msg, sizeof e.msg);
    } else {
        lf_model *m = NULL;
        if (lf_model_create(&m, 0) != LF_OK) return LF_ERR_NOMEM;
        st = lf_model_load(m, path);
        snprintf(e.msg, sizeof e.msg, "%s", lf_model_error(m));
        lf_model_free(m);
    }
    snprintf(msg, cap, "%s", e.msg);
    return st;
}

/* Whether the n bytes at buf hold the string needle. */
static int holds(const unsigned char *buf, size_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (buf[i] == (unsigned char)needle[0] && memcmp(buf + i, needle, k) == 0) return 1;
    return 0;
}

/* Every layer kind and every activation appears in a model seed of
 * fuzz/corpus/model/ok_*.lfm (in the architecture JSON, escaped inside the
 * metadata string), so that the replay above and the fuzzer load, predict,
 * train and save each of them: a new kind or activation needs a seed
 * (fuzz/make_model_seeds.c). */
static void check_seed_coverage(void) {
    size_t n;
    char **names = list_dir("fuzz/corpus/model", &n);
    unsigned char *all = NULL;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (!starts_with(names[i], "ok_")) continue;
        char path[1024];
        snprintf(path, sizeof path, "fuzz/corpus/model/%s", names[i]);
        size_t l = 0;
        unsigned char *data = slurp(path, &l);
        unsigned char *grown = data ? realloc(all, len + l) : NULL;
        CHECK(grown != NULL, "cannot read %s", path);
        if (grown) memcpy(grown + len, data, l), all = grown, len += l;
        free(data);
    }
    free_list(names, n);
    char needle[128];
    for (int k = 0; k < LF_K_COUNT; k++) {
        snprintf(needle, sizeof needle, "\\\"type\\\":\\\"%s\\\"", lf_kind_name((lf_kind)k));
        CHECK(holds(all, len, needle), "no model seed has a layer of type %s (add one to fuzz/make_model_seeds.c)",
              lf_kind_name((lf_kind)k));
    }
    for (int a = 0; a < LF_ACT_COUNT; a++) {
        snprintf(needle, sizeof needle, "\\\"activation\\\":\\\"%s\\\"", lf_activation_name((lf_activation)a));
        CHECK(holds(all, len, needle), "no model seed has the activation %s (add one to fuzz/make_model_seeds.c)",
              lf_activation_name((lf_activation)a));
    }
    free(all);
}

/* fuzz/model.dict lists every layer type and activation name (as "Name"
 * or "\"Name\""), so that the fuzzer can write any of them into a seed's
 * architecture */
static void check_dictionary(void) {
    size_t len = 0;
    unsigned char *dict = slurp("fuzz/model.dict", &len);
    CHECK(dict != NULL, "cannot read fuzz/model.dict (run from the repository root)");
    if (!dict) return;
    char plain[128], quoted[128];
    for (int k = 0; k < LF_K_COUNT + LF_ACT_COUNT; k++) {
        const char *name = k < LF_K_COUNT ? lf_kind_name((lf_kind)k) : lf_activation_name((lf_activation)(k - LF_K_COUNT));
        snprintf(plain, sizeof plain, "\"%s\"", name);
        snprintf(quoted, sizeof quoted, "\\\"%s\\\"", name);
        CHECK(holds(dict, len, plain) || holds(dict, len, quoted), "fuzz/model.dict lacks the %s name \"%s\"",
              k < LF_K_COUNT ? "layer type" : "activation", name);
    }
    free(dict);
}

int main(void) {
    tally all = {0, 0, 0};
    for (size_t k = 0; k < fz_num_targets; k++) {
        const fz_target *t = &fz_targets[k];
        char dir[256];
        tally tl = {0, 0, 0};
        snprintf(dir, sizeof dir, "fuzz/corpus/%s", t->name);
        replay(t, dir, 1, &tl);
        /* (image seeds of a format this build lacks are skipped above) */
        int images_skipped = strcmp(t->name, "image") == 0 && lf_image_formats() != (LF_IMAGE_PNG | LF_IMAGE_JPEG);
        CHECK(images_skipped || (tl.ok_seeds >= 3 && tl.bad_seeds >= 3),
              "%s: the seed corpus is missing (%zu ok_, %zu bad_ seeds; run from the repository root)",
              t->name, tl.ok_seeds, tl.bad_seeds);
        snprintf(dir, sizeof dir, "fuzz/crashes/%s", t->name);
        replay(t, dir, 0, &tl);
        all.files += tl.files;
        all.ok_seeds += tl.ok_seeds;
        all.bad_seeds += tl.bad_seeds;
    }

    /* the exact message of every hostile seed (read through the file-level
     * readers and lf_model_load: the message also names the file) */
    static const struct {
        const char *target, *file, *want;
    } msgs[] = {
        {"npy", "bad_fortran_not_bool.npy", "'fortran_order' must be True or False at offset 34, found '0,"},
        {"npy", "bad_header_len_huge_v2.npy", "is 4294967295 bytes, more than the 1048576 allowed"},
        {"npy", "bad_int_beyond_2_24.npy", "(33554432) exceeds 2^24 in magnitude and would not be exact as float32"},
        {"npy", "bad_magic.npy", "is not a .npy file (no \\x93NUMPY magic)"},
        {"npy", "bad_object_dtype.npy", "unsupported dtype '|O' in"},
        {"npy", "bad_shape_3d.npy", "holds a 3-d array; 1-D or 2-D expected"},
        {"npy", "bad_shape_negative.npy", "negative dimension in the shape of"},
        {"npy", "bad_shape_overflow.npy", "the shape (4294967296, 4294967296) of"},
        {"npy", "bad_string_dtype.npy", "unsupported dtype '<U3' in"},
        {"npy", "bad_structured_dtype.npy", "unsupported dtype '[('a', '<f4'), ('b', '<i4')]' in"},
        {"npy", "bad_trailing_bytes.npy", "4 trailing bytes after the data of"},
        {"npy", "bad_truncated_data.npy", "truncated data: expected 24 bytes, found 19 in"},
        {"npy", "bad_truncated_header.npy", "claims 118 bytes but only 30 follow: header beyond the end of the file"},
        {"npy", "bad_version_4.npy", "unsupported .npy version 4.0 in"},
        {"csv", "bad_beyond_float.csv", "value '1e39' at row 2, column 2 overflows float32 in"},
        {"csv", "bad_blank_between.csv", "between data rows (row 3 has data)"},
        {"csv", "bad_comma_decimal.txt", "'5;2' at row 1, column 2 is not a number"},
        {"csv", "bad_empty.csv", "holds no data"},
        {"csv", "bad_nul.csv", "contains a NUL byte at row 2 (not a text file?)"},
        {"csv", "bad_ragged.csv", "row 2 has 2 fields, expected 3 in"},
        {"csv", "bad_text_field.csv", "'abc' at row 2, column 2 is not a number in"},
        {"json", "bad_bom.json", "unexpected byte 0xef at byte 0"},
        {"json", "bad_deep_1000.json", "JSON nesting deeper than 64 levels at byte 64"},
        {"json", "bad_duplicate_key.json", "duplicate key 'a' in JSON object at byte 7"},
        {"json", "bad_escaped_nul.json", "\\u0000 (NUL) in string is not supported at byte 3"},
        {"json", "bad_invalid_utf8.json", "invalid UTF-8 in string at byte 2"},
        {"json", "bad_leading_zero.json", "number with a leading zero at byte 1"},
        {"json", "bad_lone_surrogate.json", "unpaired surrogate \\uD800 in string at byte 2"},
        {"json", "bad_number_overflow.json", "number out of range of a double at byte 1"},
        {"json", "bad_trailing_comma.json", "trailing comma before ']' at byte 5"},
        {"json", "bad_two_values.json", "unexpected character '{', trailing data after the JSON value at byte 3"},
        {"json", "bad_unterminated.json", "unexpected end of JSON input, expected ',' or ']' at byte 9"},
        {"safetensors", "bad_9_dims.safetensors", "is not a valid safetensors file: tensor 'w': shape has 9 dimensions,"},
        {"safetensors", "bad_deep_header.safetensors", "is not a valid safetensors file: invalid header JSON: JSON nesting"},
        {"safetensors", "bad_duplicate_key.safetensors", "is not a valid safetensors file: invalid header JSON: duplicate key"},
        {"safetensors", "bad_extra_field.safetensors", "is not a valid safetensors file: tensor 'w': unexpected field 'extra'"},
        {"safetensors", "bad_header_len_2_63.safetensors", "is not a valid safetensors file: header length 9223372036854775808"},
        {"safetensors", "bad_header_len_beyond_file.safetensors", "is not a valid safetensors file: header length 4096 exceeds the 80"},
        {"safetensors", "bad_hole.safetensors", "is not a valid safetensors file: bytes 8..12 of the data buffer"},
        {"safetensors", "bad_metadata_not_string.safetensors", "is not a valid safetensors file: __metadata__ value of key 'a' is not"},
        {"safetensors", "bad_name_256.safetensors", "is not a valid safetensors file: tensor name"},
        {"safetensors", "bad_not_object.safetensors", "is not a valid safetensors file: the header is not a JSON object"},
        {"safetensors", "bad_out_of_bounds.safetensors", "is not a valid safetensors file: tensor 'w': data_offsets end 32 is"},
        {"safetensors", "bad_overlap.safetensors", "is not a valid safetensors file: tensor 'b' (bytes 8..24) overlaps"},
        {"safetensors", "bad_short.safetensors", "is not a valid safetensors file: the data is 4 bytes long, shorter"},
        {"safetensors", "bad_size_mismatch.safetensors", "is not a valid safetensors file: tensor 'w': data_offsets span 16"},
        {"safetensors", "bad_trailing_byte.safetensors", "is not a valid safetensors file: the data buffer has 1 trailing bytes"},
        {"safetensors", "bad_unknown_dtype.safetensors", "is not a valid safetensors file: tensor 'w': unknown dtype 'F128'"},
        {"model", "bad_arch_deep.lfm", "architecture: JSON nesting deeper than 64 levels at byte 64"},
        {"model", "bad_arch_duplicate_key.lfm", "architecture: duplicate key 'layers' in JSON object at byte 13"},
        {"model", "bad_arch_not_json.lfm", "architecture: unexpected character 'i' at byte 0"},
        {"model", "bad_extra_tensor.lfm", "unexpected tensor 'stray'"},
        {"model", "bad_inbound_later_layer.lfm", "architecture: layer 'dense': inbound 0 does not name an earlier layer"},
        {"model", "bad_missing_tensor.lfm", "tensor 'dense.kernel' is missing"},
        {"model", "bad_nan_weight.lfm", "tensor 'dense.kernel' holds a non-finite value at element 0"},
        {"model", "bad_no_architecture.lfm", "the metadata has no architecture"},
        {"model", "bad_units_beyond_max.lfm", "architecture: layer 'dense': 'units' must be an integer in"},
        {"model", "bad_unknown_field.lfm", "architecture: layer 'in_a': unknown field 'exec'"},
        {"model", "bad_unknown_layer_type.lfm", "architecture: layer 'dense_1': unknown layer type 'ConvLSTM4D'"},
        {"model", "bad_wrong_tensor_shape.lfm", "tensor 'dense.kernel' must be F32 of shape (4, 3)"},
        {"model", "bad_schedule_values_count.lfm", "architecture: optimizer: the PiecewiseConstantDecay schedule's "
                                                   "'boundaries' must be a list of 1 to 32 numbers and its 'values' a "
                                                   "list of one more"},
        {"model", "bad_schedule_decay_steps_0.lfm", "architecture: optimizer: the schedule's decay_steps must be finite and > 0"},
        {"model", "bad_velocity_hat_without_amsgrad.lfm", "unexpected tensor 'optimizer.velocity_hat'"},
        {"model", "bad_amsgrad_without_velocity_hat.lfm", "tensor 'optimizer.velocity_hat' is missing"},
        {"model", "bad_negative_accumulator.lfm", "tensor 'optimizer.v' holds a negative value at element 0 (adagrad keeps it >= 0)"},
        {"model", "bad_category_num_tokens_2p62.lfm", "architecture: layer 'category_encoding': 'num_tokens' must be an integer in 1..268435456"},
        {"model", "bad_rnn_dropout_rounds_to_1.lfm", "architecture: layer 'lstm': 'dropout' must be a finite number in [0, 1)"},
        {"model", "bad_zoom_range_below_minus_1.lfm", "architecture: layer 'random_zoom': 'height_factor' must be a pair [lower, upper] in (-1, 1], or [-1, 1]"},
        {"fusion", "bad_mlp_1024x16000.lff", "the network has 1539 weights, the mlp method builds 2099347200 for 1024 models"},
        {"fusion", "bad_name_escape.lff", "model name 1 must be a string of 1..63 letters, digits, '_', '.' or '-'"},
        {"fusion", "bad_one_class.lff", "fusion settings: 'classes' must be an integer in 2..1048576"},
        {"fusion", "bad_settings_array.lff", "fusion settings: not a JSON object"},
        {"fusion", "bad_settings_string.lff", "fusion settings: not a JSON object"},
        {"fusion", "bad_templates_1024x16000.lff", "tensor 'fusion.templates' must be F32 of shape (16000, 16384000)"},
        {"fusion", "bad_unknown_field.lff", "fusion settings: unknown field '\\x07bell'"},
        {"image", "bad_crc.png", "bad_crc.png: corrupt or truncated PNG: IDAT: incorrect data check"},
        {"image", "bad_huge.jpg", "bad_huge.jpg: the JPEG is 65000 x 65000 pixels (width x height), more than"},
        {"image", "bad_huge.png", "bad_huge.png: the PNG is 65535 x 65535 pixels (width x height), more than"},
        {"image", "bad_not_image.bin", "bad_not_image.bin: not a PNG or JPEG image (its first bytes are neither"},
        {"image", "bad_truncated.jpg", "bad_truncated.jpg: corrupt or truncated JPEG: Premature end of JPEG file"},
        {"image", "bad_truncated.png", "bad_truncated.png: corrupt or truncated PNG: the data end early"},
    };
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        char msg[600];
        if (strcmp(msgs[i].target, "image") == 0 && !image_format_built(msgs[i].file)) continue;
        lf_status st = message_of(msgs[i].target, msgs[i].file, msg, sizeof msg);
        CHECK(st == LF_ERR_FORMAT, "%s: status %d", msgs[i].file, st);
        CHECK(strstr(msg, msgs[i].want) != NULL, "%s: message '%s' lacks '%s'", msgs[i].file, msg,
              msgs[i].want);
    }
    check_seed_coverage();
    check_dictionary();
    printf("test_corpus: replayed %zu files (%zu ok_ and %zu bad_ seeds)\n", all.files,
           all.ok_seeds, all.bad_seeds);
    return check_report("test_corpus");
}
