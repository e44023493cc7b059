/*
 * lookup.c — StringLookup and IntegerLookup (latefuse.h documents the
 * semantics; Keras 3's keras/src/layers/preprocessing/index_lookup.py is
 * what they follow): the options' checks, adapt (counting with an
 * open-addressing table, Keras' order), set_vocabulary's checks, and the
 * int, dense and inverse transforms.  The file form is in lookup_io.c.
 */
#include "text/lookup_internal.h"
#include "text/text.h"

#include <string.h>

lf_lookup_options lf_lookup_defaults(lf_lookup_kind kind) {
    lf_lookup_options o;
    memset(&o, 0, sizeof o);
    o.kind = kind;
    o.num_oov_indices = 1;
    o.oov_token = kind == LF_LOOKUP_STRING ? "[UNK]" : NULL;
    o.has_int_oov_token = kind == LF_LOOKUP_INTEGER;
    o.int_oov_token = -1;
    o.output_mode = LF_LOOKUP_INT;
    return o;
}

static const char *const MODE_NAMES[] = {"int", "one_hot", "multi_hot", "count"};

lf_status lf_lookup_check_options(const lf_lookup_options *o, lf_err *e) {
    if ((unsigned)o->kind > LF_LOOKUP_INTEGER) return lf_fail(e, LF_ERR_ARG, "kind must be string or integer");
    if ((unsigned)o->output_mode > LF_LOOKUP_COUNT)
        return lf_fail(e, LF_ERR_ARG, "output_mode must be one of int, one_hot, multi_hot, count");
    if (o->max_tokens == 1 || o->max_tokens > LF_LOOKUP_MAX_VOCAB)
        return lf_fail(e, LF_ERR_ARG, "If set, `max_tokens` must be greater than 1. Received: max_tokens=%zu",
                       o->max_tokens);
    if (o->pad_to_max_tokens != 0 && o->pad_to_max_tokens != 1) return lf_fail(e, LF_ERR_ARG, "pad_to_max_tokens must be 0 or 1");
    if (o->invert != 0 && o->invert != 1) return lf_fail(e, LF_ERR_ARG, "invert must be 0 or 1");
    if (o->pad_to_max_tokens && !o->max_tokens)
        return lf_fail(e, LF_ERR_ARG, "If pad_to_max_tokens is True, must set `max_tokens`. Received: max_tokens=None");
    if (o->num_oov_indices > LF_LOOKUP_MAX_VOCAB)
        return lf_fail(e, LF_ERR_ARG, "num_oov_indices must be at most %u, got %zu", LF_LOOKUP_MAX_VOCAB,
                       o->num_oov_indices);
    if (o->invert && o->output_mode != LF_LOOKUP_INT)
        return lf_fail(e, LF_ERR_ARG, "`output_mode` must be `'int'` when `invert` is true. Received: output_mode=%s",
                       MODE_NAMES[o->output_mode]);
    if (o->kind == LF_LOOKUP_STRING) {
        if (o->num_oov_indices > 1)
            return lf_fail(e, LF_ERR_ARG, "StringLookup: num_oov_indices > 1 is not supported (Keras hashes OOV strings "
                           "with FarmHash); got num_oov_indices=%zu", o->num_oov_indices);
        const char *tok[2] = {o->mask_token, o->oov_token}, *what[2] = {"mask_token", "oov_token"};
        for (int i = 0; i < 2; i++)
            if (tok[i] && lf_utf8_check((const unsigned char *)tok[i], strlen(tok[i])) != strlen(tok[i]))
                return lf_fail(e, LF_ERR_ARG, "StringLookup: %s is not valid UTF-8", what[i]);
    } else if ((o->has_int_mask_token != 0 && o->has_int_mask_token != 1) ||
               (o->has_int_oov_token != 0 && o->has_int_oov_token != 1)) {
        return lf_fail(e, LF_ERR_ARG, "has_int_mask_token and has_int_oov_token must be 0 or 1");
    }
    return LF_OK;
}

lf_status lf_lookup_new(lf_lookup **out, const lf_lookup_options *o, lf_err *e) {
    *out = NULL;
    lf_lookup *lk = LF_CALLOC(1, sizeof *lk);
    if (!lk) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    lk->opt = *o;
    int str = o->kind == LF_LOOKUP_STRING;
    lk->mask = str && o->mask_token ? lf_strdup(o->mask_token) : NULL;
    lk->oov = str && o->oov_token ? lf_strdup(o->oov_token) : NULL;
    if ((str && o->mask_token && !lk->mask) || (str && o->oov_token && !lk->oov)) {
        lf_lookup_free(lk);
        return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    }
    lk->opt.mask_token = lk->mask, lk->opt.oov_token = lk->oov;
    if (!str) lk->opt.mask_token = lk->opt.oov_token = NULL;
    *out = lk;
    return LF_OK;
}

lf_status lf_lookup_create(lf_lookup **out, const lf_lookup_options *opt, char *msg, size_t msg_size) {
    lf_err e = {{0}};
    lf_status st = LF_OK;
    lf_lookup_options o = opt ? *opt : lf_lookup_defaults(LF_LOOKUP_STRING);
    if (!out) st = lf_fail(&e, LF_ERR_ARG, "no output pointer given");
    if (st == LF_OK) st = lf_lookup_check_options(&o, &e);
    if (st == LF_OK) st = lf_lookup_new(out, &o, &e);
    if (msg && msg_size) snprintf(msg, msg_size, "%s", st == LF_OK ? "" : e.msg);
    return st;
}

void lf_lookup_vocab_free(lf_lookup_vocab *v) {
    if (!v) return;
    if (v->tok)
        for (size_t i = 0; i < v->n; i++) LF_FREE(v->tok[i]);
    LF_FREE(v->tok), LF_FREE(v->len), LF_FREE(v->ids), LF_FREE(v->slots);
    memset(v, 0, sizeof *v);
}

void lf_lookup_free(lf_lookup *lk) {
    if (!lk) return;
    lf_lookup_vocab_free(&lk->vocab);
    LF_FREE(lk->mask), LF_FREE(lk->oov);
    LF_FREE(lk);
}

const char *lf_lookup_error(const lf_lookup *lk) { return lk ? lk->err.msg : "no lookup given"; }
lf_lookup_options lf_lookup_get_options(const lf_lookup *lk) {
    return lk ? lk->opt : lf_lookup_defaults(LF_LOOKUP_STRING);
}
int lf_lookup_vocabulary_given(const lf_lookup *lk) { return lk && lk->given; }

/* Keras' _oov_start_index and _token_start_index */
static size_t oov_start(const lf_lookup_options *o) {
    int mask = o->kind == LF_LOOKUP_STRING ? o->mask_token != NULL : o->has_int_mask_token;
    return mask && o->output_mode == LF_LOOKUP_INT ? 1 : 0;
}
static size_t token_start(const lf_lookup_options *o) { return oov_start(o) + o->num_oov_indices; }

size_t lf_lookup_token_start(const lf_lookup *lk) { return lk ? token_start(&lk->opt) : 0; }
size_t lf_lookup_vocabulary_size(const lf_lookup *lk) { return lk ? token_start(&lk->opt) + lk->vocab.n : 0; }
size_t lf_lookup_output_dim(const lf_lookup *lk) {
    if (!lk || lk->opt.output_mode == LF_LOOKUP_INT) return 0;
    return lk->opt.pad_to_max_tokens ? lk->opt.max_tokens : lf_lookup_vocabulary_size(lk);
}

const char *lf_lookup_string(const lf_lookup *lk, size_t i) {
    if (!lk || lk->opt.kind != LF_LOOKUP_STRING || i >= lf_lookup_vocabulary_size(lk)) return NULL;
    size_t o = oov_start(&lk->opt), t = token_start(&lk->opt);
    return i < o ? lk->mask : i < t ? lk->oov : lk->vocab.tok[i - t];
}

int lf_lookup_int(const lf_lookup *lk, size_t i, int64_t *v) {
    if (!lk || !v || lk->opt.kind != LF_LOOKUP_INTEGER || i >= lf_lookup_vocabulary_size(lk)) return 0;
    size_t o = oov_start(&lk->opt), t = token_start(&lk->opt);
    if (i < o) return *v = lk->opt.int_mask_token, 1;
    if (i < t) return lk->opt.has_int_oov_token ? (*v = lk->opt.int_oov_token, 1) : 0;
    *v = lk->vocab.ids[i - t];
    return 1;
}

/* --------------------------------------------------------------- values */

/* one value of a call: a string (s, len) or an id */
typedef struct val {
    const char *s;
    size_t len;
    int64_t id;
} val;

static val val_at(const char *const *strs, const int64_t *ids, size_t i) {
    val v = {NULL, 0, 0};
    if (strs) v.s = strs[i], v.len = strlen(strs[i]);
    else v.id = ids[i];
    return v;
}

/* strings: their bytes; ids: their 8 bytes, least significant first */
static uint64_t val_hash(val v) {
    if (v.s) return lf_text_hash(v.s, v.len);
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(((uint64_t)v.id >> (8 * i)) & 0xFF);
    return lf_text_hash(b, sizeof b);
}

static int val_eq(val a, val b) { return a.s ? a.len == b.len && memcmp(a.s, b.s, a.len) == 0 : a.id == b.id; }

/* a > b: 1, a < b: -1 (strings as unsigned bytes, a prefix first) */
static int val_cmp(val a, val b) {
    if (!a.s) return a.id == b.id ? 0 : a.id > b.id ? 1 : -1;
    size_t l = a.len < b.len ? a.len : b.len;
    int c = memcmp(a.s, b.s, l);
    if (c) return c > 0 ? 1 : -1;
    return a.len == b.len ? 0 : a.len > b.len ? 1 : -1;
}

static val vocab_val(const lf_lookup_vocab *v, size_t k) {
    val x = {NULL, 0, 0};
    if (v->tok) x.s = v->tok[k], x.len = v->len[k];
    else x.id = v->ids[k];
    return x;
}

static int is_mask(const lf_lookup_options *o, val v) {
    if (v.s) return o->mask_token && strlen(o->mask_token) == v.len && memcmp(o->mask_token, v.s, v.len) == 0;
    return o->has_int_mask_token && v.id == o->int_mask_token;
}
static int is_oov_token(const lf_lookup_options *o, val v) {
    if (v.s) return o->oov_token && strlen(o->oov_token) == v.len && memcmp(o->oov_token, v.s, v.len) == 0;
    return o->has_int_oov_token && v.id == o->int_oov_token;
}

/* Checks the values' pointers and, for strings, their UTF-8; the message
 * names the value (0-based; with cols > 0, its row and column). */
static lf_status check_values(const lf_lookup *lk, const char *const *strs, const int64_t *ids, size_t n,
                              size_t cols, lf_err *e) {
    const int str = lk->opt.kind == LF_LOOKUP_STRING;
    if ((str && ids) || (!str && strs))
        return lf_fail(e, LF_ERR_ARG, "a %s lookup takes %s values", str ? "string" : "integer", str ? "string" : "int64");
    if (n && !(str ? (const void *)strs : (const void *)ids)) return lf_fail(e, LF_ERR_ARG, "no values given");
    for (size_t i = 0; str && i < n; i++) {
        char where[64];
        if (cols) snprintf(where, sizeof where, "row %zu, value %zu", i / cols, i % cols);
        else snprintf(where, sizeof where, "value %zu", i);
        if (!strs[i]) return lf_fail(e, LF_ERR_ARG, "%s is NULL", where);
        size_t len = strlen(strs[i]), bad = lf_utf8_check((const unsigned char *)strs[i], len);
        if (bad != len)
            return lf_fail(e, LF_ERR_FORMAT, "%s: invalid UTF-8 (byte 0x%02X at byte %zu)", where,
                           (unsigned char)strs[i][bad], bad);
    }
    return LF_OK;
}

/* --------------------------------------------------------------- tables */

/* Builds v's index; the number of a token met twice in *dup (else SIZE_MAX). */
static lf_status vocab_index(lf_lookup_vocab *v, size_t *dup) {
    size_t ns;
    size_t *s = lf_text_slots_new(v->n, &ns);
    *dup = SIZE_MAX;
    if (!s) return LF_ERR_NOMEM;
    for (size_t i = 0; i < v->n; i++) {
        val x = vocab_val(v, i);
        size_t j = val_hash(x) & (ns - 1);
        while (s[j] != LF_SLOT_EMPTY && !val_eq(vocab_val(v, s[j]), x)) j = (j + 1) & (ns - 1);
        if (s[j] != LF_SLOT_EMPTY) {
            if (*dup == SIZE_MAX) *dup = i;
            continue;
        }
        s[j] = i;
    }
    LF_FREE(v->slots);
    v->slots = s, v->n_slots = ns;
    return LF_OK;
}

/* the token number of x, or SIZE_MAX */
static size_t vocab_find(const lf_lookup_vocab *v, val x) {
    if (!v->n) return SIZE_MAX;
    size_t j = val_hash(x) & (v->n_slots - 1);
    while (v->slots[j] != LF_SLOT_EMPTY) {
        if (val_eq(vocab_val(v, v->slots[j]), x)) return v->slots[j];
        j = (j + 1) & (v->n_slots - 1);
    }
    return SIZE_MAX;
}

/* v holds the n values xs (strings copied) and their index */
static lf_status vocab_fill(lf_lookup_vocab *v, int str, const val *xs, size_t n, size_t *dup) {
    memset(v, 0, sizeof *v);
    v->n = n;
    if (str) {
        v->tok = lf_alloc_array(n ? n : 1, sizeof *v->tok);
        v->len = lf_alloc_array(n ? n : 1, sizeof *v->len);
        if (!v->tok || !v->len) return LF_ERR_NOMEM;
        for (size_t i = 0; i < n; i++) {
            if (!(v->tok[i] = LF_MALLOC(xs[i].len + 1))) return LF_ERR_NOMEM;
            memcpy(v->tok[i], xs[i].s, xs[i].len);
            v->tok[i][xs[i].len] = 0, v->len[i] = xs[i].len;
        }
    } else {
        v->ids = lf_alloc_array(n ? n : 1, sizeof *v->ids);
        if (!v->ids) return LF_ERR_NOMEM;
        for (size_t i = 0; i < n; i++) v->ids[i] = xs[i].id;
    }
    return vocab_index(v, dup);
}

/* ---------------------------------------------------------- vocabulary */

/* Appends value x to b as Python's repr would (a quoted string, a number,
 * None); `none` when x is not set. */
static void put_repr(lf_buf *b, val x, int none) {
    if (none) lf_buf_puts(b, "None");
    else if (x.s) lf_buf_printf(b, "'%.*s'", (int)(x.len > 60 ? 60 : x.len), x.s);
    else lf_buf_printf(b, "%lld", (long long)x.id);
}

static val mask_val(const lf_lookup_options *o) {
    val v = {o->mask_token, o->mask_token ? strlen(o->mask_token) : 0, o->int_mask_token};
    return v;
}
static val oov_val(const lf_lookup_options *o) {
    val v = {o->oov_token, o->oov_token ? strlen(o->oov_token) : 0, o->int_oov_token};
    return v;
}

/* the reserved entries' list, Python's repr: ['', '[UNK]'] */
static void put_special(lf_buf *b, const lf_lookup_options *o) {
    const int str = o->kind == LF_LOOKUP_STRING;
    lf_buf_puts(b, "[");
    size_t os = oov_start(o), ts = token_start(o);
    for (size_t i = 0; i < ts && i < 8; i++) {
        if (i) lf_buf_puts(b, ", ");
        if (i < os) put_repr(b, mask_val(o), 0);
        else put_repr(b, oov_val(o), str ? o->oov_token == NULL : !o->has_int_oov_token);
    }
    lf_buf_puts(b, ts > 8 ? ", ...]" : "]");
}

static int special_eq(const lf_lookup_options *o, size_t i, val x) {
    if (i < oov_start(o)) return is_mask(o, x);
    return is_oov_token(o, x);
}

lf_status lf_lookup_vocab_from(const lf_lookup *lk, const char *const *strs, const int64_t *ids, size_t n,
                               int skip_reserved, lf_lookup_vocab *v, lf_err *e) {
    const lf_lookup_options *o = &lk->opt;
    const int str = o->kind == LF_LOOKUP_STRING;
    memset(v, 0, sizeof *v);
    lf_status st = check_values(lk, strs, ids, n, 0, e);
    if (st != LF_OK) return st;
    if (!n) return lf_fail(e, LF_ERR_ARG, "Cannot set an empty vocabulary. Received: vocabulary=[]");
    /* the reserved entries at the front, in order, are skipped */
    const size_t ts = token_start(o);
    size_t skip = skip_reserved && n >= ts ? ts : 0;
    for (size_t i = 0; i < skip; i++)
        if (!special_eq(o, i, val_at(strs, ids, i))) skip = 0;
    const size_t m = n - skip;
    val *xs = lf_alloc_array(m ? m : 1, sizeof *xs);
    if (!xs) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < m; i++) xs[i] = val_at(strs, ids, skip + i);
    size_t dup;
    st = vocab_fill(v, str, xs, m, &dup);
    lf_buf b;
    lf_buf_init(&b);
    size_t *cnt = st == LF_OK && dup != SIZE_MAX ? lf_alloc_array(m, sizeof *cnt) : NULL;
    if (st != LF_OK || (dup != SIZE_MAX && !cnt)) {
        st = lf_fail(e, LF_ERR_NOMEM, "out of memory");
    } else if (dup != SIZE_MAX) {
        /* Keras lists each repeated term once, in the order first seen (the
         * index holds each term's first position) */
        for (size_t i = 0; i < m; i++) cnt[vocab_find(v, xs[i])]++;
        lf_buf_puts(&b, "[");
        size_t shown = 0;
        for (size_t i = 0; i < m && shown < 8; i++) {
            if (cnt[i] < 2) continue;
            if (shown++) lf_buf_puts(&b, ", ");
            put_repr(&b, xs[i], 0);
        }
        lf_buf_puts(&b, "]");
        st = lf_fail(e, LF_ERR_ARG, "The passed vocabulary has at least one repeated term. Please uniquify your "
                     "dataset. The repeated terms are: %s", b.failed ? "" : b.data);
    }
    LF_FREE(cnt);
    for (int which = 0; st == LF_OK && which < 2; which++) {
        /* the mask anywhere among the tokens; the OOV token there with invert */
        int set = which == 0 ? (str ? o->mask_token != NULL : o->has_int_mask_token)
                             : o->invert && (str ? o->oov_token != NULL : o->has_int_oov_token);
        if (!set) continue;
        val t = which == 0 ? mask_val(o) : oov_val(o);
        if (vocab_find(v, t) == SIZE_MAX) continue;
        size_t last = 0;
        for (size_t i = 0; i < n; i++)
            if (val_eq(val_at(strs, ids, i), t)) last = i;
        lf_buf_free(&b);
        lf_buf_init(&b);
        put_special(&b, o);
        lf_buf s2;
        lf_buf_init(&s2);
        if (str) lf_buf_printf(&s2, "%.60s", t.s);
        else lf_buf_printf(&s2, "%lld", (long long)t.id);
        st = lf_fail(e, LF_ERR_ARG, "Found reserved %s token at unexpected location in `vocabulary`. Note that passed "
                     "`vocabulary` does not need to include the OOV and mask tokens. Either remove all mask and OOV "
                     "tokens, or include them only at the start of the vocabulary in precisely this order: %s. "
                     "Received: %s=%s at vocabulary index %zu", which ? "OOV" : "mask", b.failed ? "" : b.data,
                     which ? "oov_token" : "mask_token", s2.failed ? "" : s2.data, last);
        lf_buf_free(&s2);
    }
    if (st == LF_OK && o->max_tokens && ts + m > o->max_tokens)
        st = lf_fail(e, LF_ERR_ARG, "Attempted to set a vocabulary larger than the maximum vocab size. Received "
                     "vocabulary size is %zu; `max_tokens` is %zu.", ts + m, o->max_tokens);
    if (st == LF_OK && ts + m > LF_LOOKUP_MAX_VOCAB)
        st = lf_fail(e, LF_ERR_ARG, "the vocabulary has %zu entries, more than %u", ts + m, LF_LOOKUP_MAX_VOCAB);
    lf_buf_free(&b);
    LF_FREE(xs);
    if (st != LF_OK) lf_lookup_vocab_free(v);
    return st;
}

lf_status lf_lookup_set_vocabulary(lf_lookup *lk, const char *const *strs, const int64_t *ids, size_t n,
                                   int given) {
    if (!lk) return LF_ERR_ARG;
    lf_lookup_vocab v;
    lf_status st = lf_lookup_vocab_from(lk, strs, ids, n, 1, &v, &lk->err);
    if (st != LF_OK) return st;
    lf_lookup_vocab_free(&lk->vocab);
    lk->vocab = v, lk->given = given != 0;
    lk->err.msg[0] = 0;
    return LF_OK;
}

/* --------------------------------------------------------------- adapt */

typedef struct count_entry {
    val v;
    uint64_t count;
} count_entry;

/* Keras' np.lexsort((tokens, counts))[::-1]: count, then token, descending */
static int entry_order(const void *pa, const void *pb) {
    const count_entry *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    return -val_cmp(a->v, b->v);
}

lf_status lf_lookup_adapt(lf_lookup *lk, const char *const *strs, const int64_t *ids, size_t n) {
    if (!lk) return LF_ERR_ARG;
    if (lk->given)
        return lf_fail(&lk->err, LF_ERR_STATE, "Cannot adapt after setting a static vocabulary via `vocabulary` "
                       "argument or `set_vocabulary()` method.");
    lf_status st = check_values(lk, strs, ids, n, 0, &lk->err);
    if (st != LF_OK) return st;
    if (!n) return LF_OK; /* Keras' finalize_state: nothing counted, nothing changes */
    const lf_lookup_options *o = &lk->opt;
    count_entry *ent = lf_alloc_array(n, sizeof *ent);
    size_t n_ent = 0, ns;
    size_t *slots = lf_text_slots_new(n, &ns);
    if (!ent || !slots) {
        LF_FREE(ent), LF_FREE(slots);
        return lf_fail(&lk->err, LF_ERR_NOMEM, "adapt: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        val x = val_at(strs, ids, i);
        if (is_mask(o, x) || is_oov_token(o, x)) continue; /* Keras drops both from the counts */
        size_t j = val_hash(x) & (ns - 1);
        while (slots[j] != LF_SLOT_EMPTY && !val_eq(ent[slots[j]].v, x)) j = (j + 1) & (ns - 1);
        if (slots[j] == LF_SLOT_EMPTY) ent[n_ent].v = x, slots[j] = n_ent++;
        ent[slots[j]].count++;
    }
    LF_FREE(slots);
    qsort(ent, n_ent, sizeof *ent, entry_order);
    const size_t ts = token_start(o);
    size_t keep = n_ent;
    if (o->max_tokens) keep = o->max_tokens > ts ? (keep < o->max_tokens - ts ? keep : o->max_tokens - ts) : 0;
    if (ts + keep > LF_LOOKUP_MAX_VOCAB) keep = ts < LF_LOOKUP_MAX_VOCAB ? LF_LOOKUP_MAX_VOCAB - ts : 0;
    val *xs = lf_alloc_array(keep ? keep : 1, sizeof *xs);
    lf_lookup_vocab v;
    memset(&v, 0, sizeof v);
    size_t dup;
    st = xs ? LF_OK : LF_ERR_NOMEM;
    for (size_t i = 0; st == LF_OK && i < keep; i++) xs[i] = ent[i].v;
    if (st == LF_OK) st = vocab_fill(&v, o->kind == LF_LOOKUP_STRING, xs, keep, &dup);
    LF_FREE(xs), LF_FREE(ent);
    if (st != LF_OK) {
        lf_lookup_vocab_free(&v);
        return lf_fail(&lk->err, LF_ERR_NOMEM, "adapt: out of memory");
    }
    lf_lookup_vocab_free(&lk->vocab);
    lk->vocab = v;
    lk->err.msg[0] = 0;
    return LF_OK;
}

/* ----------------------------------------------------------- transform */

/* The index of each value (-1: the mask outside "int" mode, dropped;
 * SIZE_MAX-like -2: OOV with no OOV index), Keras' lookup. */
static int64_t index_of(const lf_lookup *lk, val x) {
    const lf_lookup_options *o = &lk->opt;
    if (is_mask(o, x)) return o->output_mode == LF_LOOKUP_INT ? 0 : -1;
    size_t k = vocab_find(&lk->vocab, x);
    if (k != SIZE_MAX) return (int64_t)(token_start(o) + k);
    const int64_t os = (int64_t)oov_start(o), no = (int64_t)o->num_oov_indices;
    if (no == 1) return os;
    if (no > 1) { /* integers only: Keras' floormod */
        int64_t r = x.id % no;
        return os + (r < 0 ? r + no : r);
    }
    return -2;
}

/* The indices of n values into out; the OOV values named when there is no
 * OOV index. */
static lf_status indices(lf_lookup *lk, const char *const *strs, const int64_t *ids, size_t n, int64_t *out) {
    size_t bad = 0;
    lf_buf b;
    lf_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        val x = val_at(strs, ids, i);
        out[i] = index_of(lk, x);
        if (out[i] != -2) continue;
        if (bad < 8) {
            lf_buf_puts(&b, bad ? ", " : "[");
            put_repr(&b, x, 0);
        }
        bad++;
    }
    if (!bad) return LF_OK;
    lf_buf_puts(&b, bad > 8 ? ", ...]" : "]");
    lf_status st = lf_fail(&lk->err, LF_ERR_ARG, "When `num_oov_indices=0` all inputs should be in vocabulary, found "
                           "OOV values %s, consider setting `num_oov_indices=1`.", b.failed ? "" : b.data);
    lf_buf_free(&b);
    return st;
}

lf_status lf_lookup_transform_int(lf_lookup *lk, const char *const *strs, const int64_t *ids, size_t n,
                                  int64_t *out) {
    if (!lk) return LF_ERR_ARG;
    if (lk->opt.output_mode != LF_LOOKUP_INT || lk->opt.invert)
        return lf_fail(&lk->err, LF_ERR_STATE, "transform_int: the lookup %s",
                       lk->opt.invert ? "inverts: use lf_lookup_invert" : "is not in \"int\" mode: use lf_lookup_transform");
    if (n && !out) return lf_fail(&lk->err, LF_ERR_ARG, "transform_int: no output array given");
    lf_status st = check_values(lk, strs, ids, n, 0, &lk->err);
    if (st == LF_OK) st = indices(lk, strs, ids, n, out);
    if (st == LF_OK) lk->err.msg[0] = 0;
    return st;
}

lf_status lf_lookup_transform(lf_lookup *lk, const char *const *strs, const int64_t *ids, size_t rows, size_t cols,
                              float *out) {
    if (!lk) return LF_ERR_ARG;
    const lf_lookup_mode mode = lk->opt.output_mode;
    if (mode == LF_LOOKUP_INT)
        return lf_fail(&lk->err, LF_ERR_STATE, "transform: the lookup is in \"int\" mode: use lf_lookup_transform_int");
    size_t n, out_rows, total;
    const size_t dim = lf_lookup_output_dim(lk);
    if (!lf_mul_ok(rows, cols, &n) || !lf_mul_ok(mode == LF_LOOKUP_ONE_HOT ? n : rows, dim, &total))
        return lf_fail(&lk->err, LF_ERR_SHAPE, "transform: %zu x %zu values overflow", rows, cols);
    out_rows = mode == LF_LOOKUP_ONE_HOT ? n : rows;
    if (out_rows && !out) return lf_fail(&lk->err, LF_ERR_ARG, "transform: no output array given");
    lf_status st = check_values(lk, strs, ids, n, cols, &lk->err);
    if (st != LF_OK) return st;
    int64_t *idx = lf_alloc_array(n ? n : 1, sizeof *idx);
    if (!idx) return lf_fail(&lk->err, LF_ERR_NOMEM, "transform: out of memory");
    st = indices(lk, strs, ids, n, idx);
    if (st == LF_OK) {
        memset(out, 0, total * sizeof *out);
        for (size_t i = 0; i < n; i++) {
            const int64_t k = idx[i];
            if (k < 0 || (uint64_t)k >= dim) continue; /* the mask: dropped */
            float *row = out + (mode == LF_LOOKUP_ONE_HOT ? i : i / cols) * dim;
            if (mode == LF_LOOKUP_COUNT) row[k] += 1;
            else row[k] = 1;
        }
        lk->err.msg[0] = 0;
    }
    LF_FREE(idx);
    return st;
}

lf_status lf_lookup_invert(lf_lookup *lk, const int64_t *indices_in, size_t n, const char **strs, int64_t *ids,
                           unsigned char *none) {
    if (!lk) return LF_ERR_ARG;
    const lf_lookup_options *o = &lk->opt;
    const int str = o->kind == LF_LOOKUP_STRING;
    if (!o->invert) return lf_fail(&lk->err, LF_ERR_STATE, "invert: the lookup was not created with invert");
    if (n && (!indices_in || (str ? !strs : !ids)))
        return lf_fail(&lk->err, LF_ERR_ARG, "invert: no %s array given", indices_in ? "output" : "index");
    const int64_t ts = (int64_t)token_start(o), nt = (int64_t)lk->vocab.n;
    const int mask = str ? o->mask_token != NULL : o->has_int_mask_token;
    for (size_t i = 0; i < n; i++) {
        const int64_t k = indices_in[i];
        int is_none = 0;
        int64_t id = 0;
        const char *s = NULL;
        if (mask && k == 0) s = o->mask_token, id = o->int_mask_token;
        else if (k >= ts && k - ts < nt) {
            if (str) s = lk->vocab.tok[k - ts];
            else id = lk->vocab.ids[k - ts];
        } else {
            s = o->oov_token, id = o->int_oov_token;
            is_none = !str && !o->has_int_oov_token;
            if (is_none) id = 0;
        }
        if (str) strs[i] = s;
        else ids[i] = id;
        if (none && !str) none[i] = (unsigned char)is_none;
    }
    lk->err.msg[0] = 0;
    return LF_OK;
}
