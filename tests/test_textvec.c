/*
 * test_textvec.c — TextVectorization (lf_textvec_*), every expected value
 * computed by hand: the vocabulary order (count descending, ties by bytes
 * descending as Keras' lexsort), the reserved entries, OOV, padding and
 * truncation; Chinese captions split into characters with their
 * punctuation stripped; lower-casing beyond ASCII; word and character
 * n-grams; multi_hot, count and tf_idf values (idf = ln(1 + D/(1 + d)),
 * OOV = the mean); max_tokens and pad_to_max_tokens; invalid UTF-8 with the
 * exact messages (texts and files); option checks; a save/load round trip
 * and tampered files that must fail and leave the object as it was.
 */
#include "check.h"
#include "latefuse.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

static lf_textvec *make(lf_textvec_options o) {
    lf_textvec *tv = NULL;
    char msg[256];
    lf_status st = lf_textvec_create(&tv, &o, msg, sizeof msg);
    CHECK(st == LF_OK && tv, "create: %s", msg);
    return tv;
}

/* Checks the whole vocabulary against `want` (n entries). */
static void check_vocab(const lf_textvec *tv, const char *const *want, size_t n, const char *what) {
    CHECK(lf_textvec_vocabulary_size(tv) == n, "%s: vocabulary size %zu, want %zu", what,
          lf_textvec_vocabulary_size(tv), n);
    for (size_t i = 0; i < n && i < lf_textvec_vocabulary_size(tv); i++)
        CHECK(strcmp(lf_textvec_vocabulary(tv, i), want[i]) == 0, "%s: entry %zu is '%s', want '%s'", what, i,
              lf_textvec_vocabulary(tv, i), want[i]);
}

static void check_ints(const int32_t *got, const int32_t *want, size_t n, const char *what) {
    int ok = 1;
    for (size_t i = 0; i < n; i++) ok &= got[i] == want[i];
    CHECK(ok, "%s: ids differ", what);
    if (!ok)
        for (size_t i = 0; i < n; i++) fprintf(stderr, "  [%zu] got %d want %d\n", i, got[i], want[i]);
}

static void test_int_mode(void) {
    lf_textvec *tv = make(lf_textvec_defaults());
    const char *corpus[] = {"The cat sat.", "the CAT, the hat!"};
    CHECK(lf_textvec_adapt(tv, corpus, 2) == LF_OK, "adapt: %s", lf_textvec_error(tv));
    /* the 3, cat 2, then sat and hat (1 each: "sat" > "hat") */
    const char *want[] = {"", "[UNK]", "the", "cat", "sat", "hat"};
    check_vocab(tv, want, 6, "int");
    const char *x[] = {"the dog sat", "Hat", "the cat sat hat the"};
    int32_t out[12];
    CHECK(lf_textvec_transform_int(tv, x, 3, 4, out) == LF_OK, "transform: %s", lf_textvec_error(tv));
    const int32_t w4[] = {2, 1, 4, 0, 5, 0, 0, 0, 2, 3, 4, 5};
    check_ints(out, w4, 12, "padded/truncated to 4");
    size_t len = 0;
    CHECK(lf_textvec_max_length(tv, x, 3, &len) == LF_OK && len == 5, "max_length %zu, want 5", len);
    float dense[6];
    CHECK(lf_textvec_transform(tv, x, 1, dense) == LF_ERR_STATE &&
              strcmp(lf_textvec_error(tv), "transform: the output_mode is int: use lf_textvec_transform_int") == 0,
          "dense transform in int mode: %s", lf_textvec_error(tv));
    CHECK(lf_textvec_output_dim(tv) == 0, "int mode has no dense dim");
    lf_textvec_free(tv);

    /* output_sequence_length fixes seq_len */
    lf_textvec_options o = lf_textvec_defaults();
    o.output_sequence_length = 2;
    tv = make(o);
    CHECK(lf_textvec_transform_int(tv, x, 1, 2, out) == LF_ERR_STATE &&
              strcmp(lf_textvec_error(tv), "transform: the text vectorizer is not adapted") == 0,
          "before adapt: %s", lf_textvec_error(tv));
    CHECK(lf_textvec_adapt(tv, corpus, 2) == LF_OK, "adapt");
    CHECK(lf_textvec_transform_int(tv, x, 1, 3, out) == LF_ERR_SHAPE &&
              strcmp(lf_textvec_error(tv), "transform: seq_len is 3 but output_sequence_length is 2") == 0,
          "seq_len: %s", lf_textvec_error(tv));
    CHECK(lf_textvec_transform_int(tv, x + 2, 1, 2, out) == LF_OK && out[0] == 2 && out[1] == 3, "truncated: %d %d",
          out[0], out[1]);
    lf_textvec_free(tv);
}

static void test_chinese(void) {
    lf_textvec *tv = make(lf_textvec_defaults());
    /* 种 2, 子 2 (E7.. > E5..), then 衣 (E8) > 的 (E7) > 包 (E5); ，。 stripped */
    const char *corpus[] = {"种子包衣，的种子。"};
    CHECK(lf_textvec_adapt(tv, corpus, 1) == LF_OK, "adapt: %s", lf_textvec_error(tv));
    const char *want[] = {"", "[UNK]", "种", "子", "衣", "的", "包"};
    check_vocab(tv, want, 7, "chinese");
    /* digits and Latin stay words; every ideograph is a token; the ideographic
     * space U+3000 separates; punctuation is removed, not replaced by a
     * space (as Keras does with "a,b"), so "Hello，World" is one token */
    const char *x[] = {"2019年种子、包衣　Hello，World！？"};
    size_t len = 0;
    CHECK(lf_textvec_max_length(tv, x, 1, &len) == LF_OK && len == 7, "mixed text: %zu tokens, want 7", len);
    int32_t out[8];
    CHECK(lf_textvec_transform_int(tv, x, 1, 8, out) == LF_OK, "transform");
    const int32_t w[] = {1, 1, 2, 3, 6, 4, 1, 0}; /* 2019 年 种 子 包 衣 helloworld, padding */
    check_ints(out, w, 8, "mixed text");
    lf_textvec_free(tv);

    /* without split_cjk a run of ideographs is one token */
    lf_textvec_options o = lf_textvec_defaults();
    o.split_cjk = 0;
    tv = make(o);
    CHECK(lf_textvec_adapt(tv, corpus, 1) == LF_OK, "adapt");
    const char *want2[] = {"", "[UNK]", "种子包衣的种子"};
    check_vocab(tv, want2, 3, "split_cjk off");
    lf_textvec_free(tv);

    /* punctuation of several scripts, and Hiragana/Katakana/Hangul */
    tv = make(lf_textvec_defaults());
    const char *p[] = {"don't (stop) — “now”《书》；：（好） ひらがなカナ 한국"};
    CHECK(lf_textvec_adapt(tv, p, 1) == LF_OK, "adapt");
    CHECK(lf_textvec_max_length(tv, p, 1, &len) == LF_OK && len == 13, "punctuation text: %zu tokens, want 13", len);
    /* dont stop now 书 好 ひ ら が な カ ナ 한 국, counts 1 each; sorted by bytes descending: 한 (ED 95 9C) > 국 (EA B5 AD)
     * > 好 (E5) > 书 (E4) > カ ナ (E3 82/83..) > ... > stop > now > dont */
    const char *last3[] = {"stop", "now", "dont"};
    size_t n = lf_textvec_vocabulary_size(tv);
    for (size_t i = 0; i < 3 && n == 15; i++)
        CHECK(strcmp(lf_textvec_vocabulary(tv, n - 3 + i), last3[i]) == 0, "entry %zu: %s", n - 3 + i,
              lf_textvec_vocabulary(tv, n - 3 + i));
    CHECK(n == 15 && strcmp(lf_textvec_vocabulary(tv, 2), "한") == 0 && strcmp(lf_textvec_vocabulary(tv, 3), "국") == 0 &&
              strcmp(lf_textvec_vocabulary(tv, 4), "好") == 0 && strcmp(lf_textvec_vocabulary(tv, 5), "书") == 0,
          "punctuation vocabulary: %zu entries, [2] = %s", n, lf_textvec_vocabulary(tv, 2));
    lf_textvec_free(tv);
}

static void test_lower(void) {
    lf_textvec_options o = lf_textvec_defaults();
    o.standardize = LF_TEXTVEC_LOWER;
    lf_textvec *tv = make(o);
    /* one token per word, so the vocabulary shows each lower-cased word */
    const char *c[] = {"ÀÉÎ ΆΣΩ ПРИВЕТ Ёж Łódź İ Ÿ x.y"};
    CHECK(lf_textvec_adapt(tv, c, 1) == LF_OK, "adapt");
    const char *words[] = {"àéî", "άσω", "привет", "ёж", "łódź", "İ", "ÿ", "x.y"};
    for (size_t w = 0; w < 8; w++) {
        int found = 0;
        for (size_t i = 2; i < lf_textvec_vocabulary_size(tv); i++)
            found |= strcmp(lf_textvec_vocabulary(tv, i), words[w]) == 0;
        CHECK(found, "lower: '%s' is not in the vocabulary", words[w]);
    }
    CHECK(lf_textvec_vocabulary_size(tv) == 10, "lower: %zu entries", lf_textvec_vocabulary_size(tv));
    lf_textvec_free(tv);

    /* none: nothing changes; split none: the whole text is one token */
    o.standardize = LF_TEXTVEC_STANDARDIZE_NONE;
    o.split = LF_TEXTVEC_SPLIT_NONE;
    tv = make(o);
    const char *d[] = {"A b, C", "A b, C", ""};
    CHECK(lf_textvec_adapt(tv, d, 3) == LF_OK, "adapt");
    const char *want[] = {"", "[UNK]", "A b, C"};
    check_vocab(tv, want, 3, "no standardize, no split");
    lf_textvec_free(tv);
}

static void test_ngrams(void) {
    lf_textvec_options o = lf_textvec_defaults();
    o.ngrams = 2;
    lf_textvec *tv = make(o);
    const char *c[] = {"a b c"};
    CHECK(lf_textvec_adapt(tv, c, 1) == LF_OK, "adapt");
    const char *want[] = {"", "[UNK]", "c", "b c", "b", "a b", "a"};
    check_vocab(tv, want, 7, "word bigrams");
    int32_t out[6];
    CHECK(lf_textvec_transform_int(tv, c, 1, 6, out) == LF_OK, "transform");
    const int32_t w[] = {6, 4, 2, 5, 3, 0}; /* a b c, then "a b" "b c" */
    check_ints(out, w, 6, "word bigrams");
    lf_textvec_free(tv);

    /* character 1..2-grams per word, count mode */
    o = lf_textvec_defaults();
    o.char_ngram_min = 1, o.char_ngram_max = 2;
    o.output_mode = LF_TEXTVEC_COUNT;
    tv = make(o);
    const char *c2[] = {"abc ab"}; /* a b c ab bc | a b ab */
    CHECK(lf_textvec_adapt(tv, c2, 1) == LF_OK, "adapt");
    const char *want2[] = {"[UNK]", "b", "ab", "a", "c", "bc"};
    check_vocab(tv, want2, 6, "char n-grams");
    const char *x[] = {"ABD!"}; /* a b d ab bd: d and bd are OOV */
    float got[6];
    const float wc[] = {2, 1, 1, 1, 0, 0};
    CHECK(lf_textvec_transform(tv, x, 1, got) == LF_OK, "transform: %s", lf_textvec_error(tv));
    CHECK_CLOSE("char n-gram counts", got, wc, 6, 0, 0);
    lf_textvec_free(tv);

    /* on Chinese: pairs of adjacent characters, the word not split first */
    o.output_mode = LF_TEXTVEC_INT;
    tv = make(o);
    const char *c3[] = {"种子包衣"};
    CHECK(lf_textvec_adapt(tv, c3, 1) == LF_OK, "adapt");
    size_t len = 0;
    CHECK(lf_textvec_max_length(tv, c3, 1, &len) == LF_OK && len == 7, "Chinese 1..2-grams: %zu, want 7", len);
    int32_t ids[7];
    CHECK(lf_textvec_transform_int(tv, c3, 1, 7, ids) == LF_OK, "transform");
    char seq[128] = "";
    for (size_t i = 0; i < 7; i++) {
        strcat(seq, lf_textvec_vocabulary(tv, (size_t)ids[i]));
        strcat(seq, "|");
    }
    CHECK(strcmp(seq, "种|子|包|衣|种子|子包|包衣|") == 0, "Chinese 1..2-grams in order: %s", seq);
    lf_textvec_free(tv);
}

static void test_dense_modes(void) {
    const char *c[] = {"a b", "a a c", "b d"};
    const char *x[] = {"a a e c", ""};
    const double l2 = log(2.0), l25 = log(2.5), mean = (l2 + l25) / 2;
    lf_textvec_options o = lf_textvec_defaults();
    o.output_mode = LF_TEXTVEC_TF_IDF;
    lf_textvec *tv = make(o);
    CHECK(lf_textvec_adapt(tv, c, 3) == LF_OK, "adapt");
    /* a 3, b 2, d 1, c 1 (d > c); documents: a 2, b 2, c 1, d 1 of 3 */
    const char *want[] = {"[UNK]", "a", "b", "d", "c"};
    check_vocab(tv, want, 5, "tf_idf");
    const float idf[] = {(float)mean, (float)l2, (float)l2, (float)l25, (float)l25};
    CHECK(lf_textvec_idf_weights(tv) != NULL, "idf weights");
    if (lf_textvec_idf_weights(tv)) CHECK_CLOSE("idf = ln(1 + 3/(1 + d))", lf_textvec_idf_weights(tv), idf, 5, 0, 1e-6);
    CHECK(lf_textvec_output_dim(tv) == 5, "dim %zu", lf_textvec_output_dim(tv));
    float got[10];
    const float wt[] = {(float)mean, (float)(2 * l2), 0, 0, (float)l25, 0, 0, 0, 0, 0};
    CHECK(lf_textvec_transform(tv, x, 2, got) == LF_OK, "transform");
    CHECK_CLOSE("tf_idf", got, wt, 10, 0, 1e-6);
    lf_textvec_free(tv);

    o.output_mode = LF_TEXTVEC_MULTI_HOT;
    tv = make(o);
    CHECK(lf_textvec_adapt(tv, c, 3) == LF_OK && lf_textvec_idf_weights(tv) == NULL, "adapt multi_hot");
    const float wm[] = {1, 1, 0, 0, 1, 0, 0, 0, 0, 0};
    CHECK(lf_textvec_transform(tv, x, 2, got) == LF_OK, "transform");
    CHECK_CLOSE("multi_hot", got, wm, 10, 0, 0);
    lf_textvec_free(tv);

    o.output_mode = LF_TEXTVEC_COUNT;
    o.max_tokens = 7, o.pad_to_max_tokens = 1;
    tv = make(o);
    CHECK(lf_textvec_adapt(tv, c, 3) == LF_OK, "adapt count");
    CHECK(lf_textvec_output_dim(tv) == 7, "padded dim %zu", lf_textvec_output_dim(tv));
    float g7[7];
    const float w7[] = {1, 2, 0, 0, 1, 0, 0};
    CHECK(lf_textvec_transform(tv, x, 1, g7) == LF_OK, "transform");
    CHECK_CLOSE("count, padded to max_tokens", g7, w7, 7, 0, 0);
    lf_textvec_free(tv);

    /* max_tokens = 3 keeps [UNK], a, b; the OOV idf is then the mean of a, b */
    o.output_mode = LF_TEXTVEC_TF_IDF;
    o.max_tokens = 3, o.pad_to_max_tokens = 0;
    tv = make(o);
    CHECK(lf_textvec_adapt(tv, c, 3) == LF_OK, "adapt");
    const char *want3[] = {"[UNK]", "a", "b"};
    check_vocab(tv, want3, 3, "max_tokens 3");
    const char *y[] = {"a d"};
    float g3[3];
    const float w3[] = {(float)l2, (float)l2, 0};
    CHECK(lf_textvec_transform(tv, y, 1, g3) == LF_OK, "transform");
    CHECK_CLOSE("tf_idf with max_tokens", g3, w3, 3, 0, 1e-6);
    lf_textvec_free(tv);

    /* int mode, as Keras: max_tokens = 2 leaves only the padding and OOV
     * entries (every token is 1), pad_to_max_tokens is ignored; and such a
     * vocabulary is saved and read back */
    o.output_mode = LF_TEXTVEC_INT;
    o.max_tokens = 2, o.pad_to_max_tokens = 1;
    tv = make(o);
    CHECK(lf_textvec_adapt(tv, c, 3) == LF_OK, "adapt int, max_tokens 2: %s", lf_textvec_error(tv));
    const char *want2[] = {"", "[UNK]"};
    check_vocab(tv, want2, 2, "int, max_tokens 2");
    int32_t ids[5];
    const int32_t wid[5] = {1, 1, 1, 1, 0}; /* "a a e c", padded */
    CHECK(lf_textvec_transform_int(tv, x, 1, 5, ids) == LF_OK && memcmp(ids, wid, sizeof ids) == 0,
          "int, max_tokens 2: %d %d %d %d %d", ids[0], ids[1], ids[2], ids[3], ids[4]);
    char path[] = "/tmp/latefuse_tv2_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    lf_textvec *back = make(lf_textvec_defaults());
    CHECK(lf_textvec_save(tv, path) == LF_OK && lf_textvec_load(back, path) == LF_OK, "save and load: %s / %s",
          lf_textvec_error(tv), lf_textvec_error(back));
    check_vocab(back, want2, 2, "int, max_tokens 2, read back");
    unlink(path);
    lf_textvec_free(back);
    lf_textvec_free(tv);
}

/* counts are integers until they become floats (Keras' int64 bincount):
 * 2^24 + 3 occurrences of one token count 16777220 (the float nearest to
 * 16777219), not the 16777216 a float sum stops at (tf_idf scales the same
 * integer count; count mode only here: 2^24 tokens take seconds) */
static void test_large_counts(void) {
    const size_t reps = ((size_t)1 << 24) + 3;
    char *big = malloc(2 * reps + 2);
    if (!big) return;
    for (size_t i = 0; i < reps; i++) big[2 * i] = 'a', big[2 * i + 1] = ' ';
    memcpy(big + 2 * reps, "b", 2);
    const char *c[] = {"a b"};
    const char *x[] = {big};
    lf_textvec_options o = lf_textvec_defaults();
    o.output_mode = LF_TEXTVEC_COUNT;
    lf_textvec *tv = make(o);
    CHECK(lf_textvec_adapt(tv, c, 1) == LF_OK && lf_textvec_output_dim(tv) == 3, "adapt");
    float got[3] = {0};
    CHECK(lf_textvec_transform(tv, x, 1, got) == LF_OK, "transform");
    /* the vocabulary: [UNK], b, a (equal counts: bytes descending) */
    CHECK(got[0] == 0 && got[1] == 1 && got[2] == 16777220.0f, "count of 2^24 + 3 a's and one b: %.9g %.9g %.9g",
          got[0], got[1], got[2]);
    lf_textvec_free(tv);
    free(big);
}

static void test_bad_input(void) {
    lf_textvec *tv = make(lf_textvec_defaults());
    const char *bad[] = {"ok", "line one\nbad \xff here"};
    CHECK(lf_textvec_adapt(tv, bad, 2) == LF_ERR_FORMAT &&
              strcmp(lf_textvec_error(tv), "text 2, line 2: invalid UTF-8 (byte 0xFF at byte 5 of the line)") == 0,
          "bad byte: %s", lf_textvec_error(tv));
    CHECK(!lf_textvec_adapted(tv), "a failed adapt keeps nothing");
    const char *forms[][1] = {{"x\xc0\xaf"}, {"\xed\xa0\x80"}, {"ab\xe4\xb8"}, {"\xf4\x90\x80\x80"}, {"\x80"}};
    const char *msgs[] = {"text 1, line 1: invalid UTF-8 (byte 0xC0 at byte 2 of the line)",
                          "text 1, line 1: invalid UTF-8 (byte 0xED at byte 1 of the line)",
                          "text 1, line 1: invalid UTF-8 (byte 0xE4 at byte 3 of the line)",
                          "text 1, line 1: invalid UTF-8 (byte 0xF4 at byte 1 of the line)",
                          "text 1, line 1: invalid UTF-8 (byte 0x80 at byte 1 of the line)"};
    for (size_t i = 0; i < 5; i++)
        CHECK(lf_textvec_adapt(tv, forms[i], 1) == LF_ERR_FORMAT && strcmp(lf_textvec_error(tv), msgs[i]) == 0,
              "form %zu (overlong, surrogate, truncated, > U+10FFFF, lone continuation): %s", i, lf_textvec_error(tv));
    const char *good[] = {"a \xf0\x9f\x98\x80 b"}; /* a 4-byte emoji is fine */
    CHECK(lf_textvec_adapt(tv, good, 1) == LF_OK && lf_textvec_vocabulary_size(tv) == 5, "emoji: %s",
          lf_textvec_error(tv));
    const char *nul[] = {"a", NULL};
    CHECK(lf_textvec_adapt(tv, nul, 2) == LF_ERR_ARG && strcmp(lf_textvec_error(tv), "text 2 is NULL") == 0, "NULL: %s",
          lf_textvec_error(tv));
    const char *empty[] = {"...", " ， "};
    CHECK(lf_textvec_adapt(tv, empty, 2) == LF_ERR_ARG &&
              strcmp(lf_textvec_error(tv), "adapt: the 2 texts hold no token") == 0,
          "no token: %s", lf_textvec_error(tv));
    CHECK(lf_textvec_vocabulary_size(tv) == 5, "the emoji vocabulary stays after failed adapts");
    int32_t out[2];
    const char *bx[] = {"\xfe"};
    CHECK(lf_textvec_transform_int(tv, bx, 1, 2, out) == LF_ERR_FORMAT, "transform validates too");
    lf_textvec_free(tv);

    /* a file of lines: the message names the file and the line */
    char path[128];
    snprintf(path, sizeof path, "%s/lines.txt", tmpdir);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "fopen");
    if (!f) return;
    fputs("first\r\nsecond\n\n\xe4\xb8\xad\xe6\x96\x87\nlast", f);
    fclose(f);
    tv = make(lf_textvec_defaults());
    char **lines = NULL;
    size_t n = 0;
    CHECK(lf_textvec_read_lines(tv, path, &lines, &n) == LF_OK && n == 5, "read_lines: %zu lines, %s", n,
          lf_textvec_error(tv));
    if (lines && n == 5)
        CHECK(strcmp(lines[0], "first") == 0 && strcmp(lines[1], "second") == 0 && lines[2][0] == 0 &&
                  strcmp(lines[3], "中文") == 0 && strcmp(lines[4], "last") == 0 && lines[5] == NULL,
              "line contents");
    lf_textvec_lines_free(lines);
    f = fopen(path, "wb");
    if (!f) return;
    fputs("ok\nfine\nx\xe4\xb8\n", f);
    fclose(f);
    char want[256];
    snprintf(want, sizeof want, "%s:3: invalid UTF-8 (byte 0xE4 at byte 2 of the line)", path);
    CHECK(lf_textvec_read_lines(tv, path, &lines, &n) == LF_ERR_FORMAT && strcmp(lf_textvec_error(tv), want) == 0 &&
              lines == NULL && n == 0,
          "bad file line: %s", lf_textvec_error(tv));
    lf_textvec_free(tv);
}

static void test_options(void) {
    lf_textvec_options o = lf_textvec_defaults();
    lf_textvec *tv = NULL;
    char msg[256];
    o.max_tokens = 1;
    CHECK(lf_textvec_create(&tv, &o, msg, sizeof msg) == LF_ERR_ARG && !tv &&
              strcmp(msg, "max_tokens must be 0 (no limit) or in 2..100000000, got 1") == 0,
          "max_tokens: %s", msg);
    o = lf_textvec_defaults();
    o.output_mode = LF_TEXTVEC_TF_IDF, o.output_sequence_length = 10;
    CHECK(lf_textvec_create(&tv, &o, msg, sizeof msg) == LF_ERR_ARG &&
              strcmp(msg, "output_sequence_length is only valid in int mode") == 0,
          "output_sequence_length: %s", msg);
    o = lf_textvec_defaults();
    o.ngrams = 2, o.char_ngram_min = 1, o.char_ngram_max = 3;
    CHECK(lf_textvec_create(&tv, &o, msg, sizeof msg) == LF_ERR_ARG &&
              strcmp(msg, "ngrams and char_ngrams cannot both be set") == 0,
          "both n-grams: %s", msg);
    o = lf_textvec_defaults();
    o.char_ngram_min = 3, o.char_ngram_max = 2;
    CHECK(lf_textvec_create(&tv, &o, msg, sizeof msg) == LF_ERR_ARG &&
              strcmp(msg, "char_ngrams must be (min, max) with 1 <= min <= max <= 16, got (3, 2)") == 0,
          "char_ngrams: %s", msg);
    o = lf_textvec_defaults();
    o.pad_to_max_tokens = 1;
    CHECK(lf_textvec_create(&tv, &o, msg, sizeof msg) == LF_ERR_ARG &&
              strcmp(msg, "pad_to_max_tokens needs max_tokens") == 0,
          "pad_to_max_tokens: %s", msg);
    CHECK(lf_textvec_create(&tv, NULL, NULL, 0) == LF_OK && tv, "defaults");
    lf_textvec_free(tv);
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) free(b), b = NULL;
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Writes `bytes` with the first occurrence of `from` replaced by `to` (same
 * length) to path; returns 0 if `from` is not there. */
static int write_tampered(const char *path, const unsigned char *bytes, size_t len, const char *from, const char *to) {
    unsigned char *b = malloc(len);
    if (!b) return 0;
    memcpy(b, bytes, len);
    size_t fl = strlen(from);
    int done = 0;
    for (size_t i = 0; i + fl <= len && !done; i++)
        if (memcmp(b + i, from, fl) == 0) memcpy(b + i, to, fl), done = 1;
    FILE *f = fopen(path, "wb");
    if (f) fwrite(b, 1, len, f), fclose(f);
    free(b);
    return done && f;
}

static void test_save_load(void) {
    lf_textvec_options o = lf_textvec_defaults();
    o.output_mode = LF_TEXTVEC_TF_IDF;
    o.char_ngram_min = 1, o.char_ngram_max = 2;
    o.max_tokens = 40;
    lf_textvec *tv = make(o);
    const char *c[] = {"南宁青秀山郁金香盛开", "彩色包衣的蔬菜种子", "捷克馆展示的玻璃 \"quoted\\\" x\x01y"};
    CHECK(lf_textvec_adapt(tv, c, 3) == LF_OK, "adapt");
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/tv.safetensors", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.safetensors", tmpdir);
    CHECK(lf_textvec_save(tv, path) == LF_OK, "save: %s", lf_textvec_error(tv));
    lf_textvec *tl = make(lf_textvec_defaults());
    CHECK(lf_textvec_load(tl, path) == LF_OK, "load: %s", lf_textvec_error(tl));
    lf_textvec_options lo = lf_textvec_get_options(tl);
    CHECK(memcmp(&lo, &o, sizeof o) == 0, "options round trip");
    size_t V = lf_textvec_vocabulary_size(tv);
    CHECK(V == 40 && lf_textvec_vocabulary_size(tl) == V, "vocabulary sizes %zu %zu", V, lf_textvec_vocabulary_size(tl));
    int same = 1;
    for (size_t i = 0; i < V; i++) same &= strcmp(lf_textvec_vocabulary(tv, i), lf_textvec_vocabulary(tl, i)) == 0;
    CHECK(same, "vocabulary round trip");
    const char *x[] = {"青秀山的玻璃种子", "x\x01y \"quoted\\\""};
    float a[80], b[80];
    CHECK(lf_textvec_transform(tv, x, 2, a) == LF_OK && lf_textvec_transform(tl, x, 2, b) == LF_OK, "transforms");
    CHECK(memcmp(a, b, sizeof a) == 0, "transform after load is bit-identical");
    CHECK(a[0] > 0, "OOV column used");

    size_t len;
    unsigned char *bytes = slurp(path, &len);
    CHECK(bytes != NULL, "read back");
    struct {
        const char *from, *to, *msg;
    } t[] = {
        {"tf_idf", "tf_idX", "config: 'output_mode' must be \"int\", \"multi_hot\", \"count\" or \"tf_idf\""},
        {"[\\\"[UNK]\\\"", "[\\\"[UNX]\\\"", "vocabulary: entry 0 must be \"[UNK]\" in tf_idf mode"},
        {"\\\"max_tokens\\\":40", "\\\"max_tokens\\\":39", "vocabulary: 40 entries, more than max_tokens = 39"},
        {"\\\"split_cjk\\\":true", "\\\"split_cjk\\\":1   ", "config: 'split_cjk' and 'pad_to_max_tokens' must be true or false"},
        {"latefuse-textvec", "latefuse-textvex", "not a latefuse text vectorizer"},
        {"\\\"char_ngrams\\\":[1,2]", "\\\"char_ngrams\\\":[2,1]",
         "config: char_ngrams must be (min, max) with 1 <= min <= max <= 16, got (2, 1)"},
        {"\\\"ngrams\\\":null", "\\\"ngramz\\\":null", "config: no 'ngrams' field"},
    };
    /* a vectorizer in int mode; a failed load must leave it exactly so */
    lf_textvec *keep = make(lf_textvec_defaults());
    CHECK(lf_textvec_adapt(keep, c, 1) == LF_OK, "adapt keep");
    size_t keepV = lf_textvec_vocabulary_size(keep);
    for (size_t i = 0; bytes && i < sizeof t / sizeof t[0]; i++) {
        CHECK(write_tampered(bad, bytes, len, t[i].from, t[i].to), "tamper %zu: '%s' not found", i, t[i].from);
        char want[512];
        snprintf(want, sizeof want, "'%s': %s", bad, t[i].msg);
        CHECK(lf_textvec_load(keep, bad) == LF_ERR_FORMAT && strcmp(lf_textvec_error(keep), want) == 0,
              "tamper %zu: %s", i, lf_textvec_error(keep));
        CHECK(lf_textvec_vocabulary_size(keep) == keepV && lf_textvec_get_options(keep).output_mode == LF_TEXTVEC_INT,
              "tamper %zu: the object is unchanged", i);
    }
    /* a duplicate token: the second entry made equal to the first learned one */
    if (bytes) {
        const char *v1 = lf_textvec_vocabulary(tv, 1), *v2 = lf_textvec_vocabulary(tv, 2);
        char from[64], to[64];
        snprintf(from, sizeof from, "\\\"%s\\\",\\\"%s\\\"", v1, v2);
        snprintf(to, sizeof to, "\\\"%s\\\",\\\"%s\\\"", v1, v1);
        if (strlen(v1) == strlen(v2)) {
            CHECK(write_tampered(bad, bytes, len, from, to), "duplicate tamper");
            CHECK(lf_textvec_load(keep, bad) == LF_ERR_FORMAT && strstr(lf_textvec_error(keep), "twice (entries 1 and 2)"),
                  "duplicate: %s", lf_textvec_error(keep));
        }
    }
    free(bytes);
    lf_textvec *un = make(lf_textvec_defaults());
    CHECK(lf_textvec_save(un, path) == LF_ERR_STATE, "an unadapted object is not saved");
    lf_textvec_free(un);
    lf_textvec_free(keep);
    lf_textvec_free(tl);
    lf_textvec_free(tv);
}

/* lf_textvec_set_vocabulary (Keras' set_vocabulary, index_lookup.py): the
 * reserved entries skipped when they lead, the ids of the terms in order,
 * tf_idf's reserved weight the mean, the refusals in Keras' words leaving
 * the object as it was */
static void test_set_vocabulary(void) {
    lf_textvec_options o = lf_textvec_defaults();
    o.output_sequence_length = 4;
    lf_textvec *tv = make(o);
    const char *v1[] = {"the", "cat", "sat"}, *v2[] = {"", "[UNK]", "the", "cat", "sat"};
    const char *texts[] = {"The cat SAT on", "dog"};
    int32_t ids[8];
    for (int k = 0; k < 2; k++) {
        CHECK(lf_textvec_set_vocabulary(tv, k ? v2 : v1, k ? 5 : 3, NULL) == LF_OK, "%s", lf_textvec_error(tv));
        CHECK(lf_textvec_vocabulary_size(tv) == 5 && strcmp(lf_textvec_vocabulary(tv, 1), "[UNK]") == 0 &&
                  strcmp(lf_textvec_vocabulary(tv, 4), "sat") == 0,
              "vocabulary %d", k);
        CHECK(lf_textvec_transform_int(tv, texts, 2, 4, ids) == LF_OK, "%s", lf_textvec_error(tv));
        const int32_t want[8] = {2, 3, 4, 1, 1, 0, 0, 0};
        CHECK(memcmp(ids, want, sizeof want) == 0, "ids %d: %d %d %d %d", k, ids[0], ids[1], ids[2], ids[3]);
    }
    const char *dup[] = {"a", "b", "a"}, *mask[] = {"a", ""}, *bad_utf8[] = {"a", "\xff"};
    struct { const char *const *t; size_t n; const float *idf; const char *msg; } bad[] = {
        {v1, 0, NULL, "Cannot set an empty vocabulary."},
        {dup, 3, NULL, "the vocabulary holds 'a' twice (entries 2 and 4)"},
        {mask, 2, NULL, "Found reserved mask token at unexpected location in `vocabulary`: entry 1 is the empty "
                        "string; the reserved entries may only lead the vocabulary, in this order: ['', '[UNK]']"},
        {v1, 3, (const float[]){1, 2, 3}, "`idf_weights` should only be set if output_mode is `'tf_idf'`."},
        {bad_utf8, 2, NULL, "text 2, line 1: invalid UTF-8 (byte 0xFF at byte 1 of the line)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lf_status st = lf_textvec_set_vocabulary(tv, bad[i].t, bad[i].n, bad[i].idf);
        CHECK((st == LF_ERR_ARG || st == LF_ERR_FORMAT) && strcmp(lf_textvec_error(tv), bad[i].msg) == 0,
              "refusal %zu: %s", i, lf_textvec_error(tv));
    }
    CHECK(lf_textvec_vocabulary_size(tv) == 5 && strcmp(lf_textvec_vocabulary(tv, 2), "the") == 0,
          "a refused vocabulary changed the object");
    lf_textvec_free(tv);
    o = lf_textvec_defaults();
    o.output_mode = LF_TEXTVEC_TF_IDF;
    o.max_tokens = 3;
    tv = make(o);
    CHECK(lf_textvec_set_vocabulary(tv, v1, 2, NULL) == LF_ERR_ARG &&
              strcmp(lf_textvec_error(tv), "`idf_weights` must be set if output_mode is 'tf_idf'.") == 0,
          "%s", lf_textvec_error(tv));
    CHECK(lf_textvec_set_vocabulary(tv, v1, 3, (const float[]){1, 2, 3}) == LF_ERR_ARG &&
              strcmp(lf_textvec_error(tv), "Attempted to set a vocabulary larger than the maximum vocab size. "
                                           "Received vocabulary size is 4; `max_tokens` is 3.") == 0,
          "%s", lf_textvec_error(tv));
    CHECK(lf_textvec_set_vocabulary(tv, v1, 2, (const float[]){0.5f, 1.5f}) == LF_OK, "%s", lf_textvec_error(tv));
    const float *w = lf_textvec_idf_weights(tv);
    CHECK(w && w[0] == 1.0f && w[1] == 0.5f && w[2] == 1.5f, "idf: the reserved entry's the mean");
    const char *v3[] = {"[UNK]", "the", "cat"};
    CHECK(lf_textvec_set_vocabulary(tv, v3, 3, (const float[]){0.25f, 0.5f, 1.5f}) == LF_OK, "%s", lf_textvec_error(tv));
    w = lf_textvec_idf_weights(tv);
    CHECK(lf_textvec_vocabulary_size(tv) == 3 && w && w[0] == 0.25f && w[2] == 1.5f, "idf with the reserved entry");
    float out[3];
    CHECK(lf_textvec_transform(tv, (const char *[]){"cat cat dog"}, 1, out) == LF_OK && out[0] == 0.25f &&
              out[1] == 0 && out[2] == 3.0f,
          "tf_idf: %g %g %g", out[0], out[1], out[2]);
    lf_textvec_free(tv);
}

/* A vocabulary with "[UNK]" among its terms, as Keras 3 takes it
 * (keras/src/layers/preprocessing/index_lookup.py set_vocabulary: the
 * reserved entries are skipped only when they lead in order, ['', '[UNK]']
 * in int mode, ['[UNK]'] in the others; otherwise "[UNK]" is a term like any
 * other, found at its own index, and only the mask token is refused): int
 * and multi_hot, and the file's round trip of such a vocabulary */
static void test_set_vocabulary_unk_term(void) {
    lf_textvec_options o = lf_textvec_defaults();
    o.standardize = LF_TEXTVEC_STANDARDIZE_NONE; /* "[UNK]" reaches the lookup as it is */
    o.output_sequence_length = 4;
    lf_textvec *tv = make(o);
    const char *v[] = {"[UNK]", "a", "b"}, *texts[] = {"a [UNK] zz b"};
    CHECK(lf_textvec_set_vocabulary(tv, v, 3, NULL) == LF_OK, "int: %s", lf_textvec_error(tv));
    const char *want_v[] = {"", "[UNK]", "[UNK]", "a", "b"};
    int same = lf_textvec_vocabulary_size(tv) == 5;
    for (size_t i = 0; same && i < 5; i++) same = strcmp(lf_textvec_vocabulary(tv, i), want_v[i]) == 0;
    CHECK(same, "int: the vocabulary is '', '[UNK]', then the three terms");
    int32_t ids[4] = {0};
    CHECK(lf_textvec_transform_int(tv, texts, 1, 4, ids) == LF_OK, "%s", lf_textvec_error(tv));
    CHECK(ids[0] == 3 && ids[1] == 2 && ids[2] == 1 && ids[3] == 4, "int ids %d %d %d %d", ids[0], ids[1], ids[2],
          ids[3]);
    char path[160];
    snprintf(path, sizeof path, "%s/unk.safetensors", tmpdir);
    lf_textvec *back = make(lf_textvec_defaults());
    CHECK(lf_textvec_save(tv, path) == LF_OK && lf_textvec_load(back, path) == LF_OK, "save and load: %s / %s",
          lf_textvec_error(tv), lf_textvec_error(back));
    int32_t ids2[4] = {0};
    CHECK(lf_textvec_transform_int(back, texts, 1, 4, ids2) == LF_OK && memcmp(ids, ids2, sizeof ids) == 0,
          "the loaded copy's ids %d %d %d %d", ids2[0], ids2[1], ids2[2], ids2[3]);
    const char *twice[] = {"a", "[UNK]", "[UNK]"};
    CHECK(lf_textvec_set_vocabulary(tv, twice, 3, NULL) == LF_ERR_ARG &&
              strcmp(lf_textvec_error(tv), "the vocabulary holds '[UNK]' twice (entries 3 and 4)") == 0,
          "a repeated '[UNK]' term: %s", lf_textvec_error(tv));
    lf_textvec_free(back);
    lf_textvec_free(tv);
    o.output_mode = LF_TEXTVEC_MULTI_HOT;
    o.output_sequence_length = 0;
    tv = make(o);
    const char *m[] = {"a", "[UNK]", "b"};
    CHECK(lf_textvec_set_vocabulary(tv, m, 3, NULL) == LF_OK && lf_textvec_vocabulary_size(tv) == 4 &&
              strcmp(lf_textvec_vocabulary(tv, 2), "[UNK]") == 0,
          "multi_hot: %s", lf_textvec_error(tv));
    float out[4] = {0};
    CHECK(lf_textvec_transform(tv, (const char *[]){"[UNK] zz"}, 1, out) == LF_OK && out[0] == 1 && out[1] == 0 &&
              out[2] == 1 && out[3] == 0,
          "multi_hot: %g %g %g %g", out[0], out[1], out[2], out[3]);
    lf_textvec_free(tv);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_textvec_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_int_mode();
    test_chinese();
    test_lower();
    test_ngrams();
    test_dense_modes();
    test_large_counts();
    test_bad_input();
    test_options();
    test_save_load();
    test_set_vocabulary();
    test_set_vocabulary_unk_term();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_report("textvec");
}
