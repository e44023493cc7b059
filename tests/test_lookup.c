/*
 * test_lookup.c — StringLookup / IntegerLookup in C (src/text/lookup.c)
 * against hand-computed vocabularies and outputs of Keras 3's rules
 * (keras/src/layers/preprocessing/index_lookup.py, string_lookup.py and
 * integer_lookup.py: their docstring examples, the OOV and mask indices,
 * frequency ties high to low, max_tokens, floormod OOV buckets, invert),
 * every refusal with its exact message, the lookup file's round trip and
 * damaged files, and a lookup kept with a model input through
 * lf_model_save / lf_model_load (and a model file without one).
 */
#include "check.h"
#include "latefuse.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

static lf_lookup *make(lf_lookup_options o) {
    lf_lookup *lk = NULL;
    char msg[512];
    CHECK(lf_lookup_create(&lk, &o, msg, sizeof msg) == LF_OK, "create: %s", msg);
    return lk;
}

static lf_lookup *strings(void) { return make(lf_lookup_defaults(LF_LOOKUP_STRING)); }

/* the vocabulary as one string, entries joined by '|' ("~" for none) */
static const char *vocab_str(const lf_lookup *lk) {
    static char buf[512];
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < lf_lookup_vocabulary_size(lk); i++) {
        int64_t v;
        const char *s = lf_lookup_string(lk, i);
        if (lf_lookup_get_options(lk).kind == LF_LOOKUP_INTEGER)
            at += (size_t)(lf_lookup_int(lk, i, &v) ? snprintf(buf + at, sizeof buf - at, "%s%lld", i ? "|" : "",
                                                              (long long)v)
                                                    : snprintf(buf + at, sizeof buf - at, "%s~", i ? "|" : ""));
        else at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s", i ? "|" : "", s ? s : "~");
    }
    return buf;
}

static int same_i64(const int64_t *a, const int64_t *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static void expect_msg(lf_status got, lf_status want, const char *msg, const char *have) {
    CHECK(got == want && strcmp(have, msg) == 0, "want %d \"%s\", got %d \"%s\"", (int)want, msg, (int)got, have);
}

static void string_keras_examples(void) {
    /* string_lookup.py: vocabulary ["a", "b", "c", "d"], data [["a", "c", "d"], ["d", "z", "b"]] */
    const char *vocab[] = {"a", "b", "c", "d"};
    const char *data[] = {"a", "c", "d", "d", "z", "b"};
    lf_lookup *lk = strings();
    CHECK(lf_lookup_set_vocabulary(lk, vocab, NULL, 4, 1) == LF_OK, "set: %s", lf_lookup_error(lk));
    int64_t got[6];
    const int64_t want[] = {1, 3, 4, 4, 0, 2};
    CHECK(lf_lookup_transform_int(lk, data, NULL, 6, got) == LF_OK && same_i64(got, want, 6), "given vocabulary");
    CHECK(strcmp(vocab_str(lk), "[UNK]|a|b|c|d") == 0 && lf_lookup_token_start(lk) == 1, "%s", vocab_str(lk));
    expect_msg(lf_lookup_adapt(lk, data, NULL, 6), LF_ERR_STATE,
               "Cannot adapt after setting a static vocabulary via `vocabulary` argument or `set_vocabulary()` method.",
               lf_lookup_error(lk));
    lf_lookup_free(lk);

    /* adapt: d twice first; the ties a, b, c, z high to low */
    lk = strings();
    CHECK(lf_lookup_adapt(lk, data, NULL, 6) == LF_OK, "adapt");
    CHECK(strcmp(vocab_str(lk), "[UNK]|d|z|c|b|a") == 0, "adapted: %s", vocab_str(lk));
    const int64_t want2[] = {5, 3, 1, 1, 2, 4};
    CHECK(lf_lookup_transform_int(lk, data, NULL, 6, got) == LF_OK && same_i64(got, want2, 6), "adapted lookup");
    CHECK(lf_lookup_adapt(lk, NULL, NULL, 0) == LF_OK && lf_lookup_vocabulary_size(lk) == 6, "no data: kept");
    /* ties by UTF-8 bytes, high to low: "é" (C3 A9) after "z" (7A) in byte order, so first */
    const char *utf[] = {"z", "\xc3\xa9", "y", "y"};
    CHECK(lf_lookup_adapt(lk, utf, NULL, 4) == LF_OK && strcmp(vocab_str(lk), "[UNK]|y|\xc3\xa9|z") == 0, "%s",
          vocab_str(lk));
    lf_lookup_free(lk);

    /* one_hot, multi_hot, count */
    lf_lookup_options o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.output_mode = LF_LOOKUP_ONE_HOT;
    lk = make(o);
    CHECK(lf_lookup_set_vocabulary(lk, vocab, NULL, 4, 1) == LF_OK, "set");
    const char *five[] = {"a", "b", "c", "d", "z"};
    float oh[5 * 5];
    CHECK(lf_lookup_output_dim(lk) == 5 && lf_lookup_transform(lk, five, NULL, 1, 5, oh) == LF_OK, "one_hot");
    const int hot[] = {1, 2, 3, 4, 0};
    int ok = 1;
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 5; j++) ok &= oh[i * 5 + j] == (j == hot[i] ? 1.0f : 0.0f);
    CHECK(ok, "one_hot rows");
    lf_lookup_free(lk);
    const char *rows[] = {"a", "c", "d", "d", "d", "z", "b", "z"};
    for (int mode = LF_LOOKUP_MULTI_HOT; mode <= LF_LOOKUP_COUNT; mode++) {
        o.output_mode = (lf_lookup_mode)mode;
        lk = make(o);
        CHECK(lf_lookup_set_vocabulary(lk, vocab, NULL, 4, 1) == LF_OK, "set");
        float out[2 * 5];
        const float mh[] = {0, 1, 0, 1, 1, 1, 0, 1, 0, 1}, ct[] = {0, 1, 0, 1, 2, 2, 0, 1, 0, 1};
        CHECK(lf_lookup_transform(lk, rows, NULL, 2, 4, out) == LF_OK &&
                  memcmp(out, mode == LF_LOOKUP_COUNT ? ct : mh, sizeof out) == 0,
              "mode %d", mode);
        lf_lookup_free(lk);
    }
    /* invert */
    o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.invert = 1;
    lk = make(o);
    CHECK(lf_lookup_set_vocabulary(lk, vocab, NULL, 4, 1) == LF_OK, "set");
    const int64_t idx[] = {1, 3, 4, 4, 0, 2, 9, -1};
    const char *back[8];
    const char *wantb[] = {"a", "c", "d", "d", "[UNK]", "b", "[UNK]", "[UNK]"};
    CHECK(lf_lookup_invert(lk, idx, 8, back, NULL, NULL) == LF_OK, "invert");
    for (int i = 0; i < 8; i++) CHECK(strcmp(back[i], wantb[i]) == 0, "invert %d: %s", i, back[i]);
    lf_lookup_free(lk);
}

static void integer_keras_examples(void) {
    const int64_t vocab[] = {12, 36, 1138, 42};
    const int64_t data[] = {12, 1138, 42, 42, 1000, 36};
    lf_lookup_options o = lf_lookup_defaults(LF_LOOKUP_INTEGER);
    lf_lookup *lk = make(o);
    int64_t got[8];
    CHECK(lf_lookup_adapt(lk, NULL, data, 6) == LF_OK, "adapt");
    CHECK(strcmp(vocab_str(lk), "-1|42|1138|1000|36|12") == 0, "%s", vocab_str(lk));
    const int64_t want[] = {5, 2, 1, 1, 3, 4};
    CHECK(lf_lookup_transform_int(lk, NULL, data, 6, got) == LF_OK && same_i64(got, want, 6), "adapted");
    lf_lookup_free(lk);
    /* num_oov_indices = 2: OOV values floormod 2 (-3 -> 1, as Python's %) */
    o.num_oov_indices = 2;
    lk = make(o);
    CHECK(lf_lookup_set_vocabulary(lk, NULL, vocab, 4, 1) == LF_OK, "set");
    const int64_t two[] = {12, 1138, 42, 37, 1000, 36, -3, -4};
    const int64_t want2[] = {2, 4, 5, 1, 0, 3, 1, 0};
    CHECK(lf_lookup_transform_int(lk, NULL, two, 8, got) == LF_OK && same_i64(got, want2, 8), "floormod");
    CHECK(strcmp(vocab_str(lk), "-1|-1|12|36|1138|42") == 0, "%s", vocab_str(lk));
    lf_lookup_free(lk);
    /* mask 0, invert: 0 is the mask, the OOV and out-of-range indices -1 */
    o = lf_lookup_defaults(LF_LOOKUP_INTEGER);
    o.has_int_mask_token = 1, o.int_mask_token = 0, o.invert = 1;
    lk = make(o);
    const int64_t v79[] = {7, 9}, idx[] = {0, 1, 2, 3, 4, -3};
    const int64_t wantb[] = {0, -1, 7, 9, -1, -1};
    CHECK(lf_lookup_set_vocabulary(lk, NULL, v79, 2, 1) == LF_OK, "set");
    CHECK(lf_lookup_invert(lk, idx, 6, NULL, got, NULL) == LF_OK && same_i64(got, wantb, 6), "invert");
    lf_lookup_free(lk);
    /* no oov token: invert says none */
    o.has_int_oov_token = 0;
    lk = make(o);
    unsigned char none[6];
    CHECK(lf_lookup_set_vocabulary(lk, NULL, v79, 2, 1) == LF_OK, "set");
    CHECK(lf_lookup_invert(lk, idx, 6, NULL, got, none) == LF_OK && none[0] == 0 && none[1] == 1 && none[2] == 0 &&
              none[5] == 1 && got[1] == 0 && got[2] == 7,
          "invert without an oov token");
    lf_lookup_free(lk);
    /* adapt leaves the mask and OOV tokens out; max_tokens with ties */
    o = lf_lookup_defaults(LF_LOOKUP_INTEGER);
    o.has_int_mask_token = 1, o.int_mask_token = 0;
    lk = make(o);
    const int64_t ad[] = {0, 0, 0, -1, -1, 5, 6, 6};
    CHECK(lf_lookup_adapt(lk, NULL, ad, 8) == LF_OK && strcmp(vocab_str(lk), "0|-1|6|5") == 0, "%s", vocab_str(lk));
    lf_lookup_free(lk);
    o = lf_lookup_defaults(LF_LOOKUP_INTEGER);
    o.max_tokens = 2, o.num_oov_indices = 0;
    lk = make(o);
    const int64_t ties[] = {3, 1, 2, 2, 1};
    CHECK(lf_lookup_adapt(lk, NULL, ties, 5) == LF_OK && strcmp(vocab_str(lk), "2|1") == 0, "%s", vocab_str(lk));
    lf_lookup_free(lk);
}

static void mask_and_max_tokens(void) {
    lf_lookup_options o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.mask_token = "";
    lf_lookup *lk = make(o);
    const char *ab[] = {"a", "b"}, *data[] = {"a", "", "z", "b", "b", ""};
    int64_t got[6];
    const int64_t want[] = {2, 0, 1, 3, 3, 0};
    CHECK(lf_lookup_set_vocabulary(lk, ab, NULL, 2, 1) == LF_OK && strcmp(vocab_str(lk), "|[UNK]|a|b") == 0, "%s",
          vocab_str(lk));
    CHECK(lf_lookup_transform_int(lk, data, NULL, 6, got) == LF_OK && same_i64(got, want, 6), "mask 0, OOV 1");
    /* the reserved entries at the front are skipped */
    const char *full[] = {"", "[UNK]", "a", "b"};
    CHECK(lf_lookup_set_vocabulary(lk, full, NULL, 4, 1) == LF_OK && strcmp(vocab_str(lk), "|[UNK]|a|b") == 0, "%s",
          vocab_str(lk));
    lf_lookup_free(lk);
    /* count: no mask entry, the mask dropped */
    o.output_mode = LF_LOOKUP_COUNT;
    lk = make(o);
    const char *row[] = {"a", "", "z", "a"};
    float out[3];
    const float cw[] = {1, 2, 0};
    CHECK(lf_lookup_set_vocabulary(lk, ab, NULL, 2, 1) == LF_OK && strcmp(vocab_str(lk), "[UNK]|a|b") == 0, "%s",
          vocab_str(lk));
    CHECK(lf_lookup_transform(lk, row, NULL, 1, 4, out) == LF_OK && memcmp(out, cw, sizeof out) == 0, "count");
    lf_lookup_free(lk);
    /* max_tokens: b 3, then the ties d, c, a (2 each); [UNK] + 3 */
    o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.max_tokens = 4;
    lk = make(o);
    const char *txt[] = {"a", "b", "c", "d", "e", "b", "b", "a", "c", "d"};
    CHECK(lf_lookup_adapt(lk, txt, NULL, 10) == LF_OK && strcmp(vocab_str(lk), "[UNK]|b|d|c") == 0, "%s",
          vocab_str(lk));
    lf_lookup_free(lk);
    /* pad_to_max_tokens: the encoding's width is max_tokens */
    o.pad_to_max_tokens = 1, o.max_tokens = 5, o.output_mode = LF_LOOKUP_MULTI_HOT;
    lk = make(o);
    const char *x[] = {"x"}, *xq[] = {"x", "q"};
    float p[5];
    const float pw[] = {1, 1, 0, 0, 0};
    CHECK(lf_lookup_set_vocabulary(lk, x, NULL, 1, 1) == LF_OK && lf_lookup_output_dim(lk) == 5, "pad");
    CHECK(lf_lookup_transform(lk, xq, NULL, 1, 2, p) == LF_OK && memcmp(p, pw, sizeof p) == 0, "padded");
    lf_lookup_free(lk);
}

static void refusals(void) {
    char msg[512];
    lf_lookup *lk = NULL;
    lf_lookup_options o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.max_tokens = 1;
    expect_msg(lf_lookup_create(&lk, &o, msg, sizeof msg), LF_ERR_ARG,
               "If set, `max_tokens` must be greater than 1. Received: max_tokens=1", msg);
    o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.pad_to_max_tokens = 1;
    expect_msg(lf_lookup_create(&lk, &o, msg, sizeof msg), LF_ERR_ARG,
               "If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens=None", msg);
    o = lf_lookup_defaults(LF_LOOKUP_INTEGER);
    o.invert = 1, o.output_mode = LF_LOOKUP_COUNT;
    expect_msg(lf_lookup_create(&lk, &o, msg, sizeof msg), LF_ERR_ARG,
               "`output_mode` must be `'int'` when `invert` is true. Received: output_mode=count", msg);
    o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.num_oov_indices = 2;
    expect_msg(lf_lookup_create(&lk, &o, msg, sizeof msg), LF_ERR_ARG,
               "StringLookup: num_oov_indices > 1 is not supported (Keras hashes OOV strings with FarmHash); got "
               "num_oov_indices=2", msg);
    o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.mask_token = "\xff";
    expect_msg(lf_lookup_create(&lk, &o, msg, sizeof msg), LF_ERR_ARG, "StringLookup: mask_token is not valid UTF-8",
               msg);
    CHECK(lk == NULL, "no object after a refusal");

    lk = strings();
    const char *rep[] = {"a", "b", "a", "c", "b", "a"};
    expect_msg(lf_lookup_set_vocabulary(lk, rep, NULL, 6, 1), LF_ERR_ARG,
               "The passed vocabulary has at least one repeated term. Please uniquify your dataset. The repeated "
               "terms are: ['a', 'b']", lf_lookup_error(lk));
    CHECK(lf_lookup_vocabulary_size(lk) == 1 && !lf_lookup_vocabulary_given(lk), "a refused vocabulary changes nothing");
    expect_msg(lf_lookup_set_vocabulary(lk, NULL, NULL, 0, 1), LF_ERR_ARG,
               "Cannot set an empty vocabulary. Received: vocabulary=[]", lf_lookup_error(lk));
    const char *badutf[] = {"a", "b\xc3"};
    expect_msg(lf_lookup_adapt(lk, badutf, NULL, 2), LF_ERR_FORMAT, "value 1: invalid UTF-8 (byte 0xC3 at byte 1)",
               lf_lookup_error(lk));
    const char *abc[] = {"a", "b", "c"};
    int64_t ids[4]; /* az below: 4 values */
    float f[3 * 4];
    expect_msg(lf_lookup_transform_int(lk, NULL, ids, 1, ids), LF_ERR_ARG, "a string lookup takes string values",
               lf_lookup_error(lk));
    expect_msg(lf_lookup_transform(lk, abc, NULL, 1, 3, f), LF_ERR_STATE,
               "transform: the lookup is in \"int\" mode: use lf_lookup_transform_int", lf_lookup_error(lk));
    lf_lookup_free(lk);

    o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.max_tokens = 3;
    lk = make(o);
    expect_msg(lf_lookup_set_vocabulary(lk, abc, NULL, 3, 1), LF_ERR_ARG,
               "Attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary size is 4; "
               "`max_tokens` is 3.", lf_lookup_error(lk));
    lf_lookup_free(lk);
    o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.mask_token = "";
    lk = make(o);
    const char *amask[] = {"a", ""};
    expect_msg(lf_lookup_set_vocabulary(lk, amask, NULL, 2, 1), LF_ERR_ARG,
               "Found reserved mask token at unexpected location in `vocabulary`. Note that passed `vocabulary` does "
               "not need to include the OOV and mask tokens. Either remove all mask and OOV tokens, or include them "
               "only at the start of the vocabulary in precisely this order: ['', '[UNK]']. Received: mask_token= at "
               "vocabulary index 1", lf_lookup_error(lk));
    lf_lookup_free(lk);
    o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.invert = 1;
    lk = make(o);
    const char *aunk[] = {"a", "[UNK]"};
    expect_msg(lf_lookup_set_vocabulary(lk, aunk, NULL, 2, 1), LF_ERR_ARG,
               "Found reserved OOV token at unexpected location in `vocabulary`. Note that passed `vocabulary` does "
               "not need to include the OOV and mask tokens. Either remove all mask and OOV tokens, or include them "
               "only at the start of the vocabulary in precisely this order: ['[UNK]']. Received: oov_token=[UNK] at "
               "vocabulary index 1", lf_lookup_error(lk));
    lf_lookup_free(lk);
    o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.num_oov_indices = 0;
    lk = make(o);
    const char *a[] = {"a"}, *az[] = {"a", "z", "a", "y"};
    CHECK(lf_lookup_set_vocabulary(lk, a, NULL, 1, 1) == LF_OK, "set");
    expect_msg(lf_lookup_transform_int(lk, az, NULL, 4, ids), LF_ERR_ARG,
               "When `num_oov_indices=0` all inputs should be in vocabulary, found OOV values ['z', 'y'], consider "
               "setting `num_oov_indices=1`.", lf_lookup_error(lk));
    lf_lookup_free(lk);
    o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.output_mode = LF_LOOKUP_MULTI_HOT;
    lk = make(o);
    const char *grid[] = {"a", "b", "c", "d\x80"};
    expect_msg(lf_lookup_transform(lk, grid, NULL, 2, 2, f), LF_ERR_FORMAT,
               "row 1, value 1: invalid UTF-8 (byte 0x80 at byte 1)", lf_lookup_error(lk));
    lf_lookup_free(lk);
}

static void file_round_trip(void) {
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/words.lookup", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lookup", tmpdir);
    lf_lookup_options o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.mask_token = "[PAD]";
    lf_lookup *lk = make(o);
    const char *data[] = {"x", "y", "y", "z", "y", "[PAD]", "\xc3\xa9t\xc3\xa9"};
    CHECK(lf_lookup_adapt(lk, data, NULL, 7) == LF_OK, "adapt");
    CHECK(lf_lookup_save(lk, path) == LF_OK, "save: %s", lf_lookup_error(lk));
    lf_lookup *back = strings();
    CHECK(lf_lookup_load(back, path) == LF_OK, "load: %s", lf_lookup_error(back));
    CHECK(strcmp(vocab_str(back), "[PAD]|[UNK]|y|\xc3\xa9t\xc3\xa9|z|x") == 0, "%s", vocab_str(back));
    CHECK(strcmp(lf_lookup_get_options(back).mask_token, "[PAD]") == 0 && !lf_lookup_vocabulary_given(back),
          "options back");
    const char *probe[] = {"y", "[PAD]", "q", "x"};
    int64_t a[4], b[4];
    CHECK(lf_lookup_transform_int(lk, probe, NULL, 4, a) == LF_OK &&
              lf_lookup_transform_int(back, probe, NULL, 4, b) == LF_OK && same_i64(a, b, 4) && b[0] == 2 &&
              b[1] == 0 && b[2] == 1,
          "the same lookups");
    CHECK(lf_lookup_adapt(back, probe, NULL, 1) == LF_OK, "an adapted lookup adapts again after loading");
    /* damaged files: each refused with its message, back unchanged */
    static const struct {
        const char *from, *to, *msg;
    } cases[] = {
        {"\\\"max_tokens\\\":null", "\\\"max_tokens\\\":1   ", "config: 'max_tokens' must be null or an integer >= 2"},
        {"\\\"invert\\\":false", "\\\"invert\\\":0    ", "config: 'invert', 'pad_to_max_tokens' and 'has_input_vocabulary' must be true or false"},
        {"\\\"z\\\"", "\\\"y\\\"", "vocabulary: The passed vocabulary has at least one repeated term. Please uniquify your dataset. The repeated terms are: ['y']"},
        {"StringLookup", "StringLookuq", "config: 'class_name' must be \"StringLookup\" or \"IntegerLookup\""},
        {"latefuse-lookup", "latefuse-lookuq", "not a latefuse lookup"},
        {"\\\"output_mode\\\"", "\\\"output_modf\\\"", "config: no 'output_mode' field"},
        {"\\\"num_oov_indices\\\":1", "\\\"num_oov_indices\\\":2", "config: StringLookup: num_oov_indices > 1 is not supported (Keras hashes OOV strings with FarmHash); got num_oov_indices=2"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int edited = check_edit_file(path, bad, cases[c].from, cases[c].to);
        CHECK(edited, "'%s' is in the file", cases[c].from);
        if (!edited) continue;
        char want[600];
        snprintf(want, sizeof want, "'%s': %s", bad, cases[c].msg);
        expect_msg(lf_lookup_load(back, bad), LF_ERR_FORMAT, want, lf_lookup_error(back));
        CHECK(lf_lookup_vocabulary_size(back) == 3, "a refused file leaves the lookup as it was");
    }
    remove(bad);
    remove(path);
    lf_lookup_free(lk);
    lf_lookup_free(back);

    /* an integer lookup with a given vocabulary, one_hot, num_oov 2 */
    o = lf_lookup_defaults(LF_LOOKUP_INTEGER);
    o.output_mode = LF_LOOKUP_ONE_HOT, o.num_oov_indices = 2, o.max_tokens = 9, o.pad_to_max_tokens = 1;
    lk = make(o);
    const int64_t v[] = {-1, -1, 3, 4, INT64_MIN, INT64_MAX};
    CHECK(lf_lookup_set_vocabulary(lk, NULL, v, 6, 1) == LF_OK, "set: %s", lf_lookup_error(lk));
    CHECK(lf_lookup_save(lk, path) == LF_OK, "save");
    lf_lookup *ib = strings();
    CHECK(lf_lookup_load(ib, path) == LF_OK && lf_lookup_get_options(ib).kind == LF_LOOKUP_INTEGER &&
              lf_lookup_vocabulary_given(ib) && lf_lookup_output_dim(ib) == 9,
          "integer load: %s", lf_lookup_error(ib));
    CHECK(strcmp(vocab_str(ib), "-1|-1|3|4|-9223372036854775808|9223372036854775807") == 0, "%s", vocab_str(ib));
    lf_lookup *cp;
    CHECK(lf_lookup_copy(&cp, ib) == LF_OK && strcmp(vocab_str(cp), vocab_str(ib)) == 0, "copy");
    lf_lookup_free(cp);
    remove(path);
    lf_lookup_free(lk);
    lf_lookup_free(ib);
}

/* in (dim, int32) -> Dense(2, softmax), compiled */
static lf_model *model_for(size_t dim, int *in) {
    lf_model *m;
    lf_model_create(&m, 1);
    *in = lf_input_shape(m, 1, &dim, LF_DTYPE_INT32, "ids");
    int o = lf_dense(m, *in, 2, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    return m;
}

static void model_file(void) {
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/m.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    int in;
    lf_model *m = model_for(3, &in);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save without a lookup");
    lf_model *g;
    lf_model_create(&g, 0);
    CHECK(lf_model_load(g, path) == LF_OK && lf_model_lookup(g, 0) == NULL, "a file without a lookup loads as before");
    lf_model_free(g);

    lf_lookup *lk = strings();
    const char *data[] = {"red", "green", "green", "blue", "blue", "blue"};
    CHECK(lf_lookup_adapt(lk, data, NULL, 6) == LF_OK, "adapt");
    CHECK(lf_model_lookup(m, in) == NULL && lf_model_attach_lookup(m, in, lk) == LF_OK, "attach: %s",
          lf_model_error(m));
    lf_lookup *mine = lf_model_lookup(m, in);
    CHECK(mine && mine != lk, "the model keeps a copy");
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model_create(&g, 0);
    CHECK(lf_model_load(g, path) == LF_OK, "load: %s", lf_model_error(g));
    lf_lookup *back = lf_model_lookup(g, lf_node_find(g, "ids"));
    CHECK(back && strcmp(vocab_str(back), "[UNK]|blue|green|red") == 0, "the lookup back: %s",
          back ? vocab_str(back) : "none");
    /* predictions from raw strings: the same through both models */
    const char *rows[] = {"blue", "red", "pink", "green", "green", "blue"};
    int64_t i1[6], i2[6];
    CHECK(lf_lookup_transform_int(mine, rows, NULL, 6, i1) == LF_OK && lf_lookup_transform_int(back, rows, NULL, 6, i2) == LF_OK &&
              same_i64(i1, i2, 6) && i1[2] == 0,
          "the same indices");
    float x[6], p1[4], p2[4];
    for (int i = 0; i < 6; i++) x[i] = (float)i1[i];
    const float *xs[1] = {x};
    CHECK(lf_model_predict(m, xs, 2, p1) == LF_OK && lf_model_predict(g, xs, 2, p2) == LF_OK &&
              memcmp(p1, p2, sizeof p1) == 0,
          "the same predictions");
    lf_model_free(g);

    /* damaged model files */
    static const struct {
        const char *from, *to, *msg;
    } cases[] = {
        {"lookup:ids.config", "lookup:idx.config", "metadata 'lookup:idx.config' names no input of the model"},
        {"lookup:ids.vocabulary", "lookup:ids.vocabularx", "lookup of input 'ids': no 'lookup:ids.vocabulary' metadata"},
        {"\\\"green\\\"", "\\\"blue\\\" ", "lookup of input 'ids': vocabulary: The passed vocabulary has at least one repeated term. Please uniquify your dataset. The repeated terms are: ['blue']"},
        {"\\\"max_tokens\\\":null", "\\\"max_tokens\\\":2   ", "lookup of input 'ids': vocabulary: Attempted to set a vocabulary larger than the maximum vocab size. Received vocabulary size is 4; `max_tokens` is 2."},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int edited = check_edit_file(path, bad, cases[c].from, cases[c].to);
        CHECK(edited, "'%s' is in the file", cases[c].from);
        if (!edited) continue;
        lf_model_create(&g, 0);
        char want[600];
        snprintf(want, sizeof want, "'%s': %s", bad, cases[c].msg);
        CHECK(lf_model_load(g, bad) == LF_ERR_FORMAT && strcmp(lf_model_error(g), want) == 0, "case %zu: got \"%s\"", c,
              lf_model_error(g));
        CHECK(lf_model_num_nodes(g) == 0, "a failed load leaves the model empty");
        lf_model_free(g);
    }
    remove(bad);
    remove(path);

    /* refusals of the attach */
    expect_msg(lf_model_attach_lookup(m, 1, lk), LF_ERR_ARG, "lf_model_attach_lookup: node 1 is not an input of this model",
               lf_model_error(m));
    lf_lookup_options o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.invert = 1;
    lf_lookup *inv = make(o);
    expect_msg(lf_model_attach_lookup(m, in, inv), LF_ERR_ARG,
               "lf_model_attach_lookup: an inverting lookup gives tokens, not an input for 'ids'", lf_model_error(m));
    o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.output_mode = LF_LOOKUP_MULTI_HOT;
    lf_lookup *mh = make(o);
    CHECK(lf_lookup_adapt(mh, data, NULL, 6) == LF_OK, "adapt");
    expect_msg(lf_model_attach_lookup(m, in, mh), LF_ERR_SHAPE,
               "lf_model_attach_lookup: input 'ids' has shape (None, 3); the lookup makes (None, 4)", lf_model_error(m));
    /* one input, one feeder: a text vectorizer on the input that has the
     * lookup is refused (else the file it saves would not load: the
     * lookup's input would be fed by the vectorizer restored first) */
    lf_textvec_options to = lf_textvec_defaults();
    to.output_sequence_length = 3;
    lf_textvec *tv;
    const char *texts[] = {"red green", "blue"};
    CHECK(lf_textvec_create(&tv, &to, NULL, 0) == LF_OK && lf_textvec_adapt(tv, texts, 2) == LF_OK, "textvec");
    CHECK(lf_model_attach_lookup(m, in, lk) == LF_OK, "attach again: %s", lf_model_error(m));
    expect_msg(lf_model_attach_textvec(m, in, tv), LF_ERR_ARG,
               "lf_model_attach_textvec: input 'ids' is fed by a lookup already", lf_model_error(m));
    CHECK(lf_model_textvec(m, in) == NULL, "the refused vectorizer is not kept");
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model_create(&g, 0);
    CHECK(lf_model_load(g, path) == LF_OK && lf_model_lookup(g, 0) != NULL, "the saved model loads: %s",
          lf_model_error(g));
    lf_model_free(g);
    remove(path);
    /* a lookup on input "ab" beside an input "b": "lookup:ab.vocabulary"
     * is no text vectorizer's ("textvec:" is 8 bytes, "lookup:a" too) */
    lf_model *two;
    lf_model_create(&two, 1);
    size_t d3 = 3;
    int ins[2] = {lf_input_shape(two, 1, &d3, LF_DTYPE_INT32, "ab"), lf_input_shape(two, 1, &d3, LF_DTYPE_INT32, "b")};
    int o2 = lf_dense(two, lf_concatenate(two, 2, ins, "cat"), 2, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(two, o2, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK &&
              lf_model_attach_lookup(two, ins[0], lk) == LF_OK && lf_model_save(two, path, 0) == LF_OK,
          "a lookup on 'ab': %s", lf_model_error(two));
    lf_model_create(&g, 0);
    CHECK(lf_model_load(g, path) == LF_OK && lf_model_lookup(g, lf_node_find(g, "ab")) != NULL &&
              lf_model_lookup(g, lf_node_find(g, "b")) == NULL,
          "a lookup on 'ab' beside an input 'b' loads: %s", lf_model_error(g));
    lf_model_free(g);
    lf_model_free(two);
    remove(path);
    lf_textvec_free(tv);
    lf_lookup_free(inv);
    lf_lookup_free(mh);
    lf_lookup_free(lk);
    lf_model_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_lookup_XXXXXX");
    if (!mkdtemp(tmpdir)) return 2;
    string_keras_examples();
    integer_keras_examples();
    mask_and_max_tokens();
    refusals();
    file_round_trip();
    model_file();
    rmdir(tmpdir);
    return check_report("test_lookup");
}
