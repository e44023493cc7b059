/*
 * textvec_io.c — the TextVectorization file: a safetensors container
 * (io/safetensors.h) whose metadata holds format = "latefuse-textvec",
 * format_version = "1", config = the options as a JSON object with Keras'
 * argument names, e.g.
 *   {"max_tokens":null,"standardize":"lower_and_strip_punctuation",
 *    "split":"whitespace","split_cjk":true,"ngrams":null,"char_ngrams":[1,2],
 *    "output_mode":"tf_idf","output_sequence_length":null,
 *    "pad_to_max_tokens":false}
 * and vocabulary = a JSON list of every entry, reserved ones first; in
 * tf_idf mode the tensor "idf_weights" (F32, [vocabulary size]) holds the
 * weights, and there is no tensor otherwise.  Loading checks every field
 * (known keys only, types, ranges, the options' rules, the reserved
 * entries, distinct non-empty tokens, a vocabulary within max_tokens, idf
 * weights finite and >= 0 of the vocabulary's length) before anything is
 * kept; all sizes come from the parsed file, which is already in memory.
 */
#include "text/textvec_internal.h"

#include "io/json.h"
#include "io/safetensors.h"

#include <math.h>
#include <string.h>

#define FORMAT "latefuse-textvec"
#define FORMAT_VERSION "1"

static const char *const STANDARDIZE[] = {"lower_and_strip_punctuation", "lower", "strip_punctuation"};
static const char *const MODES[] = {"int", "multi_hot", "count", "tf_idf"};

static void put_size(lf_buf *b, size_t v) {
    if (v) lf_buf_printf(b, "%zu", v);
    else lf_buf_puts(b, "null");
}

void lf_textvec_write_json(const lf_textvec *tv, lf_buf *cfg, lf_buf *voc) {
    const lf_textvec_options *o = &tv->opt;
    lf_buf_puts(cfg, "{\"max_tokens\":");
    put_size(cfg, o->max_tokens);
    lf_buf_puts(cfg, ",\"standardize\":");
    if (o->standardize == LF_TEXTVEC_STANDARDIZE_NONE) lf_buf_puts(cfg, "null");
    else lf_buf_json_string(cfg, STANDARDIZE[o->standardize]);
    lf_buf_printf(cfg, ",\"split\":%s,\"split_cjk\":%s,\"ngrams\":",
                  o->split == LF_TEXTVEC_SPLIT_NONE ? "null" : "\"whitespace\"", o->split_cjk ? "true" : "false");
    put_size(cfg, o->ngrams);
    if (o->char_ngram_min) lf_buf_printf(cfg, ",\"char_ngrams\":[%zu,%zu]", o->char_ngram_min, o->char_ngram_max);
    else lf_buf_puts(cfg, ",\"char_ngrams\":null");
    lf_buf_printf(cfg, ",\"output_mode\":\"%s\",\"output_sequence_length\":", MODES[o->output_mode]);
    put_size(cfg, o->output_sequence_length);
    lf_buf_printf(cfg, ",\"pad_to_max_tokens\":%s}", o->pad_to_max_tokens ? "true" : "false");
    lf_buf_puts(voc, "[");
    for (size_t i = 0; i < tv->vocab.n; i++) {
        if (i) lf_buf_puts(voc, ",");
        lf_buf_json_string(voc, tv->vocab.tokens[i]);
    }
    lf_buf_puts(voc, "]");
}

lf_status lf_textvec_save(lf_textvec *tv, const char *path) {
    if (!tv) return LF_ERR_ARG;
    if (!path) return lf_fail(&tv->err, LF_ERR_ARG, "save: no path given");
    if (!tv->vocab.n) return lf_fail(&tv->err, LF_ERR_STATE, "save: the text vectorizer is not adapted");
    lf_buf cfg, voc;
    lf_buf_init(&cfg);
    lf_buf_init(&voc);
    lf_textvec_write_json(tv, &cfg, &voc);
    lf_status st = LF_OK;
    if (cfg.failed || voc.failed) st = lf_fail(&tv->err, LF_ERR_NOMEM, "save: out of memory");
    if (st == LF_OK) {
        const char *keys[4] = {"format", "format_version", "config", "vocabulary"};
        const char *vals[4] = {FORMAT, FORMAT_VERSION, cfg.data, voc.data};
        lf_st_out idf = {.name = "idf_weights", .data = tv->vocab.idf, .ndim = 1, .shape = {tv->vocab.n}};
        lf_err e;
        st = lf_st_write(path, &idf, tv->vocab.idf ? 1 : 0, keys, vals, 4, 0, &e);
        if (st != LF_OK) lf_fail(&tv->err, st, "save: %s", e.msg);
    }
    lf_buf_free(&cfg);
    lf_buf_free(&voc);
    if (st == LF_OK) tv->err.msg[0] = 0;
    return st;
}

/* An optional count: null (0) or an integer in 1..max. */
static int get_count(const lf_json *cfg, const char *key, size_t max, size_t *out) {
    const lf_json *j = lf_json_get(cfg, key);
    if (lf_json_is(j, LF_JSON_NULL)) {
        *out = 0;
        return 1;
    }
    return lf_json_size(j, out) && *out >= 1 && *out <= max;
}

static lf_status parse_config(const char *text, lf_textvec_options *o, lf_err *e) {
    lf_json *cfg;
    lf_err pe;
    lf_status ps = lf_json_parse(text, strlen(text), &cfg, &pe);
    if (ps != LF_OK) return lf_fail(e, ps == LF_ERR_NOMEM ? LF_ERR_NOMEM : LF_ERR_FORMAT, "config: %.400s", pe.msg);
    static const char *const keys[] = {"max_tokens", "standardize", "split", "split_cjk", "ngrams",
                                       "char_ngrams", "output_mode", "output_sequence_length",
                                       "pad_to_max_tokens"};
    const size_t n_keys = sizeof keys / sizeof keys[0];
    lf_status st = LF_OK;
    *o = lf_textvec_defaults();
    if (!lf_json_is(cfg, LF_JSON_OBJECT)) st = lf_fail(e, LF_ERR_FORMAT, "config: not a JSON object");
    for (size_t i = 0; st == LF_OK && i < n_keys; i++)
        if (!lf_json_get(cfg, keys[i])) st = lf_fail(e, LF_ERR_FORMAT, "config: no '%s' field", keys[i]);
    for (size_t i = 0; st == LF_OK && i < lf_json_len(cfg); i++) {
        const char *k = lf_json_key_at(cfg, i);
        int known = 0;
        for (size_t j = 0; j < n_keys; j++) known |= strcmp(k, keys[j]) == 0;
        if (!known) st = lf_fail(e, LF_ERR_FORMAT, "config: unknown field '%.60s'", k);
    }
    if (st == LF_OK && !get_count(cfg, "max_tokens", LF_TEXTVEC_MAX_VOCAB, &o->max_tokens))
        st = lf_fail(e, LF_ERR_FORMAT, "config: 'max_tokens' must be null or an integer in 1..%u", LF_TEXTVEC_MAX_VOCAB);
    if (st == LF_OK) {
        const lf_json *j = lf_json_get(cfg, "standardize");
        const char *s = lf_json_str(j);
        int found = lf_json_is(j, LF_JSON_NULL);
        if (found) o->standardize = LF_TEXTVEC_STANDARDIZE_NONE;
        for (size_t i = 0; s && i < 3; i++)
            if (strcmp(s, STANDARDIZE[i]) == 0) o->standardize = (lf_textvec_standardize)i, found = 1;
        if (!found)
            st = lf_fail(e, LF_ERR_FORMAT, "config: 'standardize' must be null, \"lower_and_strip_punctuation\", \"lower\" or \"strip_punctuation\"");
    }
    if (st == LF_OK) {
        const lf_json *j = lf_json_get(cfg, "split");
        const char *s = lf_json_str(j);
        if (lf_json_is(j, LF_JSON_NULL)) o->split = LF_TEXTVEC_SPLIT_NONE;
        else if (s && strcmp(s, "whitespace") == 0) o->split = LF_TEXTVEC_SPLIT_WHITESPACE;
        else st = lf_fail(e, LF_ERR_FORMAT, "config: 'split' must be null or \"whitespace\"");
    }
    if (st == LF_OK && (!lf_json_bool(lf_json_get(cfg, "split_cjk"), &o->split_cjk) ||
                        !lf_json_bool(lf_json_get(cfg, "pad_to_max_tokens"), &o->pad_to_max_tokens)))
        st = lf_fail(e, LF_ERR_FORMAT, "config: 'split_cjk' and 'pad_to_max_tokens' must be true or false");
    if (st == LF_OK && !get_count(cfg, "ngrams", LF_TEXTVEC_MAX_NGRAM, &o->ngrams))
        st = lf_fail(e, LF_ERR_FORMAT, "config: 'ngrams' must be null or an integer in 1..%d", LF_TEXTVEC_MAX_NGRAM);
    if (st == LF_OK) {
        const lf_json *j = lf_json_get(cfg, "char_ngrams");
        if (!lf_json_is(j, LF_JSON_NULL) &&
            !(lf_json_is(j, LF_JSON_ARRAY) && lf_json_len(j) == 2 && lf_json_size(lf_json_at(j, 0), &o->char_ngram_min) &&
              lf_json_size(lf_json_at(j, 1), &o->char_ngram_max) && o->char_ngram_min >= 1))
            st = lf_fail(e, LF_ERR_FORMAT, "config: 'char_ngrams' must be null or [min, max]");
    }
    if (st == LF_OK) {
        const char *s = lf_json_str(lf_json_get(cfg, "output_mode"));
        int found = 0;
        for (size_t i = 0; s && i < 4; i++)
            if (strcmp(s, MODES[i]) == 0) o->output_mode = (lf_textvec_mode)i, found = 1;
        if (!found)
            st = lf_fail(e, LF_ERR_FORMAT, "config: 'output_mode' must be \"int\", \"multi_hot\", \"count\" or \"tf_idf\"");
    }
    if (st == LF_OK && !get_count(cfg, "output_sequence_length", LF_TEXTVEC_MAX_SEQUENCE, &o->output_sequence_length))
        st = lf_fail(e, LF_ERR_FORMAT, "config: 'output_sequence_length' must be null or an integer in 1..%u",
                     LF_TEXTVEC_MAX_SEQUENCE);
    lf_json_free(cfg);
    if (st == LF_OK) {
        lf_err ce;
        if (lf_textvec_check_options(o, &ce) != LF_OK) st = lf_fail(e, LF_ERR_FORMAT, "config: %s", ce.msg);
    }
    return st;
}

static lf_status parse_vocab(const char *text, const lf_textvec_options *o, lf_textvec_vocab *v, lf_err *e) {
    lf_json *arr;
    lf_err pe;
    lf_status ps = lf_json_parse(text, strlen(text), &arr, &pe);
    if (ps != LF_OK) return lf_fail(e, ps == LF_ERR_NOMEM ? LF_ERR_NOMEM : LF_ERR_FORMAT, "vocabulary: %.400s", pe.msg);
    const size_t r = lf_textvec_reserved(o->output_mode), n = lf_json_len(arr);
    lf_status st = LF_OK;
    if (!lf_json_is(arr, LF_JSON_ARRAY)) st = lf_fail(e, LF_ERR_FORMAT, "vocabulary: not a JSON list");
    else if (n < r || (n == r && o->max_tokens != r)) /* only max_tokens = 2 in int mode leaves no token */
        st = lf_fail(e, LF_ERR_FORMAT, "vocabulary: %zu entries, fewer than the %zu reserved ones and one token", n, r);
    else if (o->max_tokens && n > o->max_tokens)
        st = lf_fail(e, LF_ERR_FORMAT, "vocabulary: %zu entries, more than max_tokens = %zu", n, o->max_tokens);
    for (size_t i = 0; st == LF_OK && i < n; i++) {
        const lf_json *t = lf_json_at(arr, i);
        if (!lf_json_is(t, LF_JSON_STRING)) {
            st = lf_fail(e, LF_ERR_FORMAT, "vocabulary: entry %zu is not a string", i);
            break;
        }
        const char *want = i < r ? ((r == 2 && i == 0) ? "" : "[UNK]") : NULL;
        if (want && strcmp(t->str, want) != 0)
            st = lf_fail(e, LF_ERR_FORMAT, "vocabulary: entry %zu must be \"%s\" in %s mode", i, want, MODES[o->output_mode]);
        else if (!want && t->str_len == 0) /* a token "[UNK]" is one (Keras 3's set_vocabulary keeps it) */
            st = lf_fail(e, LF_ERR_FORMAT, "vocabulary: entry %zu is empty", i);
    }
    if (st == LF_OK) {
        v->tokens = lf_alloc_array(n, sizeof *v->tokens);
        v->lens = lf_alloc_array(n, sizeof *v->lens);
        if (!v->tokens || !v->lens) st = lf_fail(e, LF_ERR_NOMEM, "out of memory");
        else v->n = n;
    }
    for (size_t i = 0; st == LF_OK && i < n; i++) {
        const lf_json *t = lf_json_at(arr, i);
        v->tokens[i] = LF_MALLOC(t->str_len + 1);
        if (!v->tokens[i]) st = lf_fail(e, LF_ERR_NOMEM, "out of memory");
        else memcpy(v->tokens[i], t->str, t->str_len + 1), v->lens[i] = t->str_len;
    }
    lf_json_free(arr);
    if (st == LF_OK) {
        lf_err ie;
        st = lf_textvec_vocab_index(v, r, &ie);
        if (st != LF_OK) lf_fail(e, st, "vocabulary: %s", ie.msg);
    }
    return st;
}

/* The idf weights of vocabulary v from tensor t (NULL: missing). */
static lf_status load_idf(const lf_st_tensor *t, lf_textvec_vocab *v, lf_err *e) {
    if (!t || t->ndim != 1 || t->shape[0] != v->n)
        return lf_fail(e, LF_ERR_FORMAT, "'idf_weights' must be a tensor of shape [%zu], the vocabulary size", v->n);
    v->idf = lf_alloc_array(v->n, sizeof *v->idf);
    if (!v->idf) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    lf_status st = lf_st_tensor_f32(t, v->idf, v->n, e);
    if (st != LF_OK) return st;
    for (size_t i = 0; i < v->n; i++)
        if (!(v->idf[i] >= 0)) return lf_fail(e, LF_ERR_FORMAT, "idf weight %zu is negative", i);
    return LF_OK;
}

static lf_status parse_file(const lf_st_file *sf, lf_textvec_options *o, lf_textvec_vocab *v, lf_err *e) {
    const char *fmt = lf_st_metadata(sf, "format"), *ver = lf_st_metadata(sf, "format_version");
    const char *cfg = lf_st_metadata(sf, "config"), *voc = lf_st_metadata(sf, "vocabulary");
    if (!fmt || strcmp(fmt, FORMAT) != 0) return lf_fail(e, LF_ERR_FORMAT, "not a latefuse text vectorizer");
    if (!ver || strcmp(ver, FORMAT_VERSION) != 0)
        return lf_fail(e, LF_ERR_FORMAT, "unsupported text vectorizer format version '%.20s'", ver ? ver : "(none)");
    if (!cfg || !voc) return lf_fail(e, LF_ERR_FORMAT, "the metadata lacks '%s'", cfg ? "vocabulary" : "config");
    if (lf_st_metadata_count(sf) != 4) return lf_fail(e, LF_ERR_FORMAT, "the metadata has %zu entries, not 4", lf_st_metadata_count(sf));
    lf_status st = parse_config(cfg, o, e);
    if (st == LF_OK) st = parse_vocab(voc, o, v, e);
    if (st != LF_OK) return st;
    const int tfidf = o->output_mode == LF_TEXTVEC_TF_IDF;
    if (lf_st_count(sf) != (size_t)tfidf)
        return lf_fail(e, LF_ERR_FORMAT, "the file holds %zu tensors, %s mode has %d", lf_st_count(sf),
                       MODES[o->output_mode], tfidf);
    return tfidf ? load_idf(lf_st_find(sf, "idf_weights"), v, e) : LF_OK;
}

lf_status lf_textvec_load(lf_textvec *tv, const char *path) {
    if (!tv) return LF_ERR_ARG;
    if (!path) return lf_fail(&tv->err, LF_ERR_ARG, "load: no path given");
    lf_st_file sf;
    lf_err e;
    lf_status st = lf_st_read(path, &sf, &e);
    if (st != LF_OK) return lf_fail(&tv->err, st, "%s", e.msg);
    lf_textvec_options o;
    lf_textvec_vocab v;
    memset(&v, 0, sizeof v);
    st = parse_file(&sf, &o, &v, &e);
    lf_st_free(&sf);
    if (st != LF_OK) {
        lf_textvec_vocab_free(&v);
        return lf_fail(&tv->err, st, "'%s': %s", path, e.msg);
    }
    lf_textvec_vocab_free(&tv->vocab);
    tv->vocab = v, tv->opt = o;
    tv->err.msg[0] = 0;
    return LF_OK;
}

lf_status lf_textvec_from_json(lf_textvec **out, const char *cfg, const char *voc, const lf_st_tensor *idf,
                               lf_err *e) {
    lf_textvec_options o;
    lf_textvec_vocab v;
    memset(&v, 0, sizeof v);
    *out = NULL;
    lf_status st = parse_config(cfg, &o, e);
    if (st == LF_OK) st = parse_vocab(voc, &o, &v, e);
    if (st == LF_OK && o.output_mode == LF_TEXTVEC_TF_IDF) st = load_idf(idf, &v, e);
    else if (st == LF_OK && idf)
        st = lf_fail(e, LF_ERR_FORMAT, "'idf_weights' given in %s mode (tf_idf only)", MODES[o.output_mode]);
    lf_textvec *tv = NULL;
    if (st == LF_OK && !(tv = LF_CALLOC(1, sizeof *tv))) st = lf_fail(e, LF_ERR_NOMEM, "out of memory");
    if (st != LF_OK) {
        lf_textvec_vocab_free(&v);
        return st;
    }
    tv->opt = o, tv->vocab = v;
    *out = tv;
    return LF_OK;
}

lf_status lf_textvec_copy(lf_textvec **out, const lf_textvec *tv) {
    if (!out) return LF_ERR_ARG;
    *out = NULL;
    if (!tv) return LF_ERR_ARG;
    lf_textvec *c = LF_CALLOC(1, sizeof *c);
    if (!c) return LF_ERR_NOMEM;
    c->opt = tv->opt;
    lf_textvec_vocab *v = &c->vocab;
    const size_t n = tv->vocab.n;
    lf_status st = LF_OK;
    if (n) {
        v->tokens = lf_alloc_array(n, sizeof *v->tokens);
        v->lens = lf_alloc_array(n, sizeof *v->lens);
        v->idf = tv->vocab.idf ? lf_alloc_array(n, sizeof *v->idf) : NULL;
        if (!v->tokens || !v->lens || (tv->vocab.idf && !v->idf)) st = LF_ERR_NOMEM;
        else v->n = n;
        for (size_t i = 0; st == LF_OK && i < n; i++) {
            v->tokens[i] = LF_MALLOC(tv->vocab.lens[i] + 1);
            if (!v->tokens[i]) st = LF_ERR_NOMEM;
            else memcpy(v->tokens[i], tv->vocab.tokens[i], tv->vocab.lens[i] + 1), v->lens[i] = tv->vocab.lens[i];
        }
        if (st == LF_OK && v->idf) memcpy(v->idf, tv->vocab.idf, n * sizeof *v->idf);
        lf_err e;
        if (st == LF_OK) st = lf_textvec_vocab_index(v, lf_textvec_reserved(c->opt.output_mode), &e);
    }
    if (st != LF_OK) {
        lf_textvec_free(c);
        return st;
    }
    *out = c;
    return LF_OK;
}
