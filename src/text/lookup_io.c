/*
 * lookup_io.c — the StringLookup / IntegerLookup file: a safetensors
 * container (io/safetensors.h) without tensors whose metadata holds
 * format = "latefuse-lookup", format_version = "1", config = Keras'
 * arguments as a JSON object, e.g.
 *   {"class_name":"StringLookup","max_tokens":null,"num_oov_indices":1,
 *    "mask_token":null,"oov_token":"[UNK]","invert":false,
 *    "output_mode":"int","pad_to_max_tokens":false,
 *    "has_input_vocabulary":false}
 * (IntegerLookup: integer or null tokens) and vocabulary = a JSON list of
 * the tokens (strings or integers), the reserved entries left out.
 * Loading checks every field (known keys only, types, the options' rules,
 * the vocabulary as set_vocabulary checks one) before anything is kept.
 * lf_lookup_copy is here too.
 */
#include "text/lookup_internal.h"

#include "io/safetensors.h"

#include <string.h>

#define FORMAT "latefuse-lookup"
#define FORMAT_VERSION "1"

static const char *const MODES[] = {"int", "one_hot", "multi_hot", "count"};
static const char *const CLASSES[] = {"StringLookup", "IntegerLookup"};

void lf_lookup_write_json(const lf_lookup *lk, lf_buf *cfg, lf_buf *voc) {
    const lf_lookup_options *o = &lk->opt;
    const int str = o->kind == LF_LOOKUP_STRING;
    lf_buf_printf(cfg, "{\"class_name\":\"%s\",\"max_tokens\":", CLASSES[o->kind]);
    if (o->max_tokens) lf_buf_printf(cfg, "%zu", o->max_tokens);
    else lf_buf_puts(cfg, "null");
    lf_buf_printf(cfg, ",\"num_oov_indices\":%zu,\"mask_token\":", o->num_oov_indices);
    if (str) lf_buf_json_string(cfg, o->mask_token);
    else if (o->has_int_mask_token) lf_buf_printf(cfg, "%lld", (long long)o->int_mask_token);
    else lf_buf_puts(cfg, "null");
    lf_buf_puts(cfg, ",\"oov_token\":");
    if (str) lf_buf_json_string(cfg, o->oov_token);
    else if (o->has_int_oov_token) lf_buf_printf(cfg, "%lld", (long long)o->int_oov_token);
    else lf_buf_puts(cfg, "null");
    lf_buf_printf(cfg, ",\"invert\":%s,\"output_mode\":\"%s\",\"pad_to_max_tokens\":%s,\"has_input_vocabulary\":%s}",
                  o->invert ? "true" : "false", MODES[o->output_mode], o->pad_to_max_tokens ? "true" : "false",
                  lk->given ? "true" : "false");
    lf_buf_puts(voc, "[");
    for (size_t i = 0; i < lk->vocab.n; i++) {
        if (i) lf_buf_puts(voc, ",");
        if (str) lf_buf_json_string(voc, lk->vocab.tok[i]);
        else lf_buf_printf(voc, "%lld", (long long)lk->vocab.ids[i]);
    }
    lf_buf_puts(voc, "]");
}

/* a token of the config: a string (kind STRING), an integer, or null */
static int get_token(const lf_json *j, int str, const char **s, int *has, int64_t *v) {
    *s = NULL, *has = 0, *v = 0;
    if (lf_json_is(j, LF_JSON_NULL)) return 1;
    if (str) return (*s = lf_json_str(j)) != NULL;
    if (!lf_json_is(j, LF_JSON_NUMBER) || !j->is_int) return 0;
    *has = 1, *v = j->integer;
    return 1;
}

static lf_status parse_config(const char *text, lf_lookup **out, int *given, lf_err *e) {
    lf_json *cfg;
    lf_err pe;
    lf_status ps = lf_json_parse(text, strlen(text), &cfg, &pe);
    if (ps != LF_OK) return lf_fail(e, ps == LF_ERR_NOMEM ? LF_ERR_NOMEM : LF_ERR_FORMAT, "config: %.400s", pe.msg);
    static const char *const keys[] = {"class_name", "max_tokens", "num_oov_indices", "mask_token", "oov_token",
                                       "invert", "output_mode", "pad_to_max_tokens", "has_input_vocabulary", NULL};
    lf_status st = LF_OK;
    lf_lookup_options o;
    char esc[LF_MSG_STR];
    if (!lf_json_is(cfg, LF_JSON_OBJECT)) st = lf_fail(e, LF_ERR_FORMAT, "config: not a JSON object");
    for (size_t i = 0; st == LF_OK && keys[i]; i++)
        if (!lf_json_get(cfg, keys[i])) st = lf_fail(e, LF_ERR_FORMAT, "config: no '%s' field", keys[i]);
    const char *unknown = st == LF_OK ? lf_json_unknown_key(cfg, keys) : NULL;
    if (unknown) st = lf_fail(e, LF_ERR_FORMAT, "config: unknown field '%s'", lf_str_for_msg(esc, unknown));
    if (st == LF_OK) {
        const char *c = lf_json_str(lf_json_get(cfg, "class_name"));
        int kind = c && strcmp(c, CLASSES[0]) == 0 ? 0 : c && strcmp(c, CLASSES[1]) == 0 ? 1 : -1;
        if (kind < 0) st = lf_fail(e, LF_ERR_FORMAT, "config: 'class_name' must be \"StringLookup\" or \"IntegerLookup\"");
        else o = lf_lookup_defaults((lf_lookup_kind)kind);
    }
    if (st == LF_OK) {
        const lf_json *j = lf_json_get(cfg, "max_tokens");
        if (lf_json_is(j, LF_JSON_NULL)) o.max_tokens = 0;
        else if (!lf_json_size(j, &o.max_tokens) || o.max_tokens < 2)
            st = lf_fail(e, LF_ERR_FORMAT, "config: 'max_tokens' must be null or an integer >= 2");
    }
    if (st == LF_OK && !lf_json_size(lf_json_get(cfg, "num_oov_indices"), &o.num_oov_indices))
        st = lf_fail(e, LF_ERR_FORMAT, "config: 'num_oov_indices' must be an integer >= 0");
    if (st == LF_OK) {
        const int str = o.kind == LF_LOOKUP_STRING;
        if (!get_token(lf_json_get(cfg, "mask_token"), str, &o.mask_token, &o.has_int_mask_token, &o.int_mask_token) ||
            !get_token(lf_json_get(cfg, "oov_token"), str, &o.oov_token, &o.has_int_oov_token, &o.int_oov_token))
            st = lf_fail(e, LF_ERR_FORMAT, "config: 'mask_token' and 'oov_token' must be null or %s",
                         str ? "strings" : "integers");
    }
    if (st == LF_OK && (!lf_json_bool(lf_json_get(cfg, "invert"), &o.invert) ||
                        !lf_json_bool(lf_json_get(cfg, "pad_to_max_tokens"), &o.pad_to_max_tokens) ||
                        !lf_json_bool(lf_json_get(cfg, "has_input_vocabulary"), given)))
        st = lf_fail(e, LF_ERR_FORMAT, "config: 'invert', 'pad_to_max_tokens' and 'has_input_vocabulary' must be true "
                     "or false");
    if (st == LF_OK) {
        const char *s = lf_json_str(lf_json_get(cfg, "output_mode"));
        int found = 0;
        for (size_t i = 0; s && i < 4; i++)
            if (strcmp(s, MODES[i]) == 0) o.output_mode = (lf_lookup_mode)i, found = 1;
        if (!found)
            st = lf_fail(e, LF_ERR_FORMAT, "config: 'output_mode' must be \"int\", \"one_hot\", \"multi_hot\" or \"count\"");
    }
    if (st == LF_OK) {
        lf_err ce;
        if (lf_lookup_check_options(&o, &ce) != LF_OK) st = lf_fail(e, LF_ERR_FORMAT, "config: %s", ce.msg);
    }
    if (st == LF_OK) st = lf_lookup_new(out, &o, e); /* copies the strings before cfg goes */
    lf_json_free(cfg);
    return st;
}

static lf_status parse_vocab(const char *text, lf_lookup *lk, lf_err *e) {
    lf_json *arr;
    lf_err pe;
    lf_status ps = lf_json_parse(text, strlen(text), &arr, &pe);
    if (ps != LF_OK) return lf_fail(e, ps == LF_ERR_NOMEM ? LF_ERR_NOMEM : LF_ERR_FORMAT, "vocabulary: %.400s", pe.msg);
    const int str = lk->opt.kind == LF_LOOKUP_STRING;
    const size_t n = lf_json_len(arr);
    lf_status st = LF_OK;
    if (!lf_json_is(arr, LF_JSON_ARRAY)) st = lf_fail(e, LF_ERR_FORMAT, "vocabulary: not a JSON list");
    const char **strs = st == LF_OK && str ? lf_alloc_array(n ? n : 1, sizeof *strs) : NULL;
    int64_t *ids = st == LF_OK && !str ? lf_alloc_array(n ? n : 1, sizeof *ids) : NULL;
    if (st == LF_OK && !strs && !ids) st = lf_fail(e, LF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == LF_OK && i < n; i++) {
        const lf_json *t = lf_json_at(arr, i);
        if (str && lf_json_is(t, LF_JSON_STRING)) strs[i] = t->str;
        else if (!str && lf_json_is(t, LF_JSON_NUMBER) && t->is_int) ids[i] = t->integer;
        else st = lf_fail(e, LF_ERR_FORMAT, "vocabulary: entry %zu is not %s", i, str ? "a string" : "an integer");
    }
    if (st == LF_OK && n) {
        lf_lookup_vocab v;
        lf_err ve;
        st = lf_lookup_vocab_from(lk, str ? strs : NULL, str ? NULL : ids, n, 0, &v, &ve);
        if (st != LF_OK) lf_fail(e, st == LF_ERR_NOMEM ? st : (st = LF_ERR_FORMAT), "vocabulary: %s", ve.msg);
        else lk->vocab = v;
    }
    LF_FREE(strs), LF_FREE(ids);
    lf_json_free(arr);
    return st;
}

lf_status lf_lookup_from_json(lf_lookup **out, const char *cfg, const char *voc, lf_err *e) {
    int given = 0;
    lf_lookup *lk = NULL;
    *out = NULL;
    lf_status st = parse_config(cfg, &lk, &given, e);
    if (st == LF_OK) st = parse_vocab(voc, lk, e);
    if (st != LF_OK) {
        lf_lookup_free(lk);
        return st;
    }
    lk->given = given;
    *out = lk;
    return LF_OK;
}

lf_status lf_lookup_save(lf_lookup *lk, const char *path) {
    if (!lk) return LF_ERR_ARG;
    if (!path) return lf_fail(&lk->err, LF_ERR_ARG, "save: no path given");
    lf_buf cfg, voc;
    lf_buf_init(&cfg);
    lf_buf_init(&voc);
    lf_lookup_write_json(lk, &cfg, &voc);
    lf_status st = LF_OK;
    if (cfg.failed || voc.failed) st = lf_fail(&lk->err, LF_ERR_NOMEM, "save: out of memory");
    if (st == LF_OK) {
        const char *keys[4] = {"format", "format_version", "config", "vocabulary"};
        const char *vals[4] = {FORMAT, FORMAT_VERSION, cfg.data, voc.data};
        lf_err e;
        st = lf_st_write(path, NULL, 0, keys, vals, 4, 0, &e);
        if (st != LF_OK) lf_fail(&lk->err, st, "save: %s", e.msg);
    }
    lf_buf_free(&cfg);
    lf_buf_free(&voc);
    if (st == LF_OK) lk->err.msg[0] = 0;
    return st;
}

lf_status lf_lookup_load(lf_lookup *lk, const char *path) {
    if (!lk) return LF_ERR_ARG;
    if (!path) return lf_fail(&lk->err, LF_ERR_ARG, "load: no path given");
    lf_st_file sf;
    lf_err e;
    lf_status st = lf_st_read(path, &sf, &e);
    if (st != LF_OK) return lf_fail(&lk->err, st, "%s", e.msg);
    const char *fmt = lf_st_metadata(&sf, "format"), *ver = lf_st_metadata(&sf, "format_version");
    const char *cfg = lf_st_metadata(&sf, "config"), *voc = lf_st_metadata(&sf, "vocabulary");
    char esc[LF_MSG_STR];
    lf_lookup *got = NULL;
    if (!fmt || strcmp(fmt, FORMAT) != 0) st = lf_fail(&e, LF_ERR_FORMAT, "not a latefuse lookup");
    else if (!ver || strcmp(ver, FORMAT_VERSION) != 0)
        st = lf_fail(&e, LF_ERR_FORMAT, "unsupported lookup format version '%s'", ver ? lf_str_for_msg(esc, ver) : "(none)");
    else if (!cfg || !voc) st = lf_fail(&e, LF_ERR_FORMAT, "the metadata lacks '%s'", cfg ? "vocabulary" : "config");
    else if (lf_st_metadata_count(&sf) != 4 || lf_st_count(&sf) != 0)
        st = lf_fail(&e, LF_ERR_FORMAT, "the file holds %zu metadata entries and %zu tensors, not 4 and 0",
                     lf_st_metadata_count(&sf), lf_st_count(&sf));
    else st = lf_lookup_from_json(&got, cfg, voc, &e);
    lf_st_free(&sf);
    if (st != LF_OK) return lf_fail(&lk->err, st, "'%s': %s", path, e.msg);
    /* lk takes got's contents; got's shell is freed */
    lf_lookup_vocab_free(&lk->vocab);
    LF_FREE(lk->mask), LF_FREE(lk->oov);
    lk->opt = got->opt, lk->mask = got->mask, lk->oov = got->oov, lk->vocab = got->vocab, lk->given = got->given;
    LF_FREE(got);
    lk->err.msg[0] = 0;
    return LF_OK;
}

lf_status lf_lookup_copy(lf_lookup **out, const lf_lookup *lk) {
    if (!out) return LF_ERR_ARG;
    *out = NULL;
    if (!lk) return LF_ERR_ARG;
    lf_err e;
    lf_lookup *c;
    lf_status st = lf_lookup_new(&c, &lk->opt, &e);
    if (st != LF_OK) return st;
    const size_t n = lk->vocab.n;
    if (n) {
        lf_lookup_vocab v;
        st = lf_lookup_vocab_from(c, (const char *const *)lk->vocab.tok, lk->vocab.ids, n, 0, &v, &e);
        if (st == LF_OK) c->vocab = v;
    }
    if (st != LF_OK) {
        lf_lookup_free(c);
        return st;
    }
    c->given = lk->given;
    *out = c;
    return LF_OK;
}
