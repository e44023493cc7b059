/*
 * textvec.c — TextVectorization (latefuse.h documents the semantics): the
 * tokenizer (standardize, split, n-grams), adapt (counting with an
 * open-addressing hash table, Keras' vocabulary order, idf weights), the
 * int and dense transforms, and reading a file of one text per line.
 * Saving and loading are in textvec_io.c.
 */
#include "text/textvec_internal.h"

#include "io/file.h"

#include <math.h>
#include <string.h>

lf_textvec_options lf_textvec_defaults(void) {
    lf_textvec_options o;
    memset(&o, 0, sizeof o);
    o.standardize = LF_TEXTVEC_LOWER_AND_STRIP_PUNCTUATION;
    o.split = LF_TEXTVEC_SPLIT_WHITESPACE;
    o.split_cjk = 1;
    o.output_mode = LF_TEXTVEC_INT;
    return o;
}

size_t lf_textvec_reserved(lf_textvec_mode mode) { return mode == LF_TEXTVEC_INT ? 2 : 1; }

lf_status lf_textvec_check_options(const lf_textvec_options *o, lf_err *e) {
    if ((unsigned)o->standardize > LF_TEXTVEC_STANDARDIZE_NONE)
        return lf_fail(e, LF_ERR_ARG, "standardize must be one of lower_and_strip_punctuation, lower, strip_punctuation, none");
    if ((unsigned)o->split > LF_TEXTVEC_SPLIT_NONE)
        return lf_fail(e, LF_ERR_ARG, "split must be whitespace or none");
    if ((unsigned)o->output_mode > LF_TEXTVEC_TF_IDF)
        return lf_fail(e, LF_ERR_ARG, "output_mode must be one of int, multi_hot, count, tf_idf");
    if (o->split_cjk != 0 && o->split_cjk != 1) return lf_fail(e, LF_ERR_ARG, "split_cjk must be 0 or 1");
    if (o->pad_to_max_tokens != 0 && o->pad_to_max_tokens != 1)
        return lf_fail(e, LF_ERR_ARG, "pad_to_max_tokens must be 0 or 1");
    /* as Keras: at least 2 (in int mode 2 leaves room for no token but the
     * padding and OOV entries) */
    if (o->max_tokens != 0 && (o->max_tokens < 2 || o->max_tokens > LF_TEXTVEC_MAX_VOCAB))
        return lf_fail(e, LF_ERR_ARG, "max_tokens must be 0 (no limit) or in 2..%u, got %zu", LF_TEXTVEC_MAX_VOCAB,
                       o->max_tokens);
    if (o->ngrams > LF_TEXTVEC_MAX_NGRAM)
        return lf_fail(e, LF_ERR_ARG, "ngrams must be at most %d, got %zu", LF_TEXTVEC_MAX_NGRAM, o->ngrams);
    if (o->char_ngram_min || o->char_ngram_max) {
        if (o->char_ngram_min < 1 || o->char_ngram_min > o->char_ngram_max ||
            o->char_ngram_max > LF_TEXTVEC_MAX_NGRAM)
            return lf_fail(e, LF_ERR_ARG, "char_ngrams must be (min, max) with 1 <= min <= max <= %d, got (%zu, %zu)",
                           LF_TEXTVEC_MAX_NGRAM, o->char_ngram_min, o->char_ngram_max);
        if (o->ngrams > 1) return lf_fail(e, LF_ERR_ARG, "ngrams and char_ngrams cannot both be set");
    }
    if (o->output_mode != LF_TEXTVEC_INT && o->output_sequence_length)
        return lf_fail(e, LF_ERR_ARG, "output_sequence_length is only valid in int mode");
    if (o->output_sequence_length > LF_TEXTVEC_MAX_SEQUENCE)
        return lf_fail(e, LF_ERR_ARG, "output_sequence_length must be at most %u", LF_TEXTVEC_MAX_SEQUENCE);
    /* as Keras: it pads the multi_hot, count and tf_idf outputs, and int
     * mode ignores it */
    if (o->pad_to_max_tokens && !o->max_tokens)
        return lf_fail(e, LF_ERR_ARG, "pad_to_max_tokens needs max_tokens");
    return LF_OK;
}

lf_status lf_textvec_create(lf_textvec **out, const lf_textvec_options *opt, char *msg, size_t msg_size) {
    lf_err e = {{0}};
    lf_status st = LF_OK;
    lf_textvec_options o = opt ? *opt : lf_textvec_defaults();
    if (!out) st = lf_fail(&e, LF_ERR_ARG, "no output pointer given");
    else *out = NULL;
    if (st == LF_OK) st = lf_textvec_check_options(&o, &e);
    lf_textvec *tv = NULL;
    if (st == LF_OK) {
        tv = LF_CALLOC(1, sizeof *tv);
        if (!tv) st = lf_fail(&e, LF_ERR_NOMEM, "out of memory");
    }
    if (st != LF_OK) {
        if (msg && msg_size) snprintf(msg, msg_size, "%s", e.msg);
        return st;
    }
    tv->opt = o;
    if (msg && msg_size) msg[0] = 0;
    *out = tv;
    return LF_OK;
}

void lf_textvec_vocab_free(lf_textvec_vocab *v) {
    if (!v) return;
    if (v->tokens)
        for (size_t i = 0; i < v->n; i++) LF_FREE(v->tokens[i]);
    LF_FREE(v->tokens), LF_FREE(v->lens), LF_FREE(v->idf), LF_FREE(v->slots);
    memset(v, 0, sizeof *v);
}

void lf_textvec_free(lf_textvec *tv) {
    if (!tv) return;
    lf_textvec_vocab_free(&tv->vocab);
    LF_FREE(tv);
}

const char *lf_textvec_error(const lf_textvec *tv) { return tv ? tv->err.msg : "no text vectorizer given"; }

lf_textvec_options lf_textvec_get_options(const lf_textvec *tv) {
    return tv ? tv->opt : lf_textvec_defaults();
}

int lf_textvec_adapted(const lf_textvec *tv) { return tv && tv->vocab.n > 0; }
size_t lf_textvec_vocabulary_size(const lf_textvec *tv) { return tv ? tv->vocab.n : 0; }
const char *lf_textvec_vocabulary(const lf_textvec *tv, size_t i) {
    return (tv && i < tv->vocab.n) ? tv->vocab.tokens[i] : NULL;
}
const float *lf_textvec_idf_weights(const lf_textvec *tv) { return tv && tv->vocab.n ? tv->vocab.idf : NULL; }

size_t lf_textvec_output_dim(const lf_textvec *tv) {
    if (!tv || !tv->vocab.n || tv->opt.output_mode == LF_TEXTVEC_INT) return 0;
    return tv->opt.pad_to_max_tokens ? tv->opt.max_tokens : tv->vocab.n;
}

/* ------------------------------------------------------------- hashing */

/* the index over the tokens (its table: text.h, slots.c) */
lf_status lf_textvec_vocab_index(lf_textvec_vocab *v, size_t reserved, lf_err *e) {
    size_t ns;
    size_t *s = lf_text_slots_new(v->n, &ns);
    if (!s) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    /* the tokens first, then the reserved entries where no token has their
     * string: a token "[UNK]" (Keras 3 keeps one that does not lead the
     * vocabulary, index_lookup.py set_vocabulary) is found at its own index */
    for (size_t q = 0; q < v->n; q++) {
        const size_t i = q < v->n - reserved ? reserved + q : q - (v->n - reserved);
        size_t j = lf_text_hash(v->tokens[i], v->lens[i]) & (ns - 1);
        int seen = 0;
        while (s[j] != LF_SLOT_EMPTY) {
            const size_t k = s[j];
            if (v->lens[k] == v->lens[i] && memcmp(v->tokens[k], v->tokens[i], v->lens[i]) == 0) {
                if (i < reserved) {
                    seen = 1;
                    break;
                }
                LF_FREE(s);
                return lf_fail(e, LF_ERR_FORMAT, "the vocabulary holds '%.80s' twice (entries %zu and %zu)",
                               v->tokens[i], k, i);
            }
            j = (j + 1) & (ns - 1);
        }
        if (!seen) s[j] = i;
    }
    LF_FREE(v->slots);
    v->slots = s, v->n_slots = ns;
    return LF_OK;
}

/* The vocabulary index of a token, or `oov` when it is not there. */
static size_t vocab_find(const lf_textvec_vocab *v, const char *tok, size_t len, size_t oov) {
    size_t j = lf_text_hash(tok, len) & (v->n_slots - 1);
    while (v->slots[j] != LF_SLOT_EMPTY) {
        const size_t k = v->slots[j];
        if (v->lens[k] == len && memcmp(v->tokens[k], tok, len) == 0) return k;
        j = (j + 1) & (v->n_slots - 1);
    }
    return oov;
}

/* ---------------------------------------------------------- tokenizer */

/* Tokens of one text: their bytes back to back in buf, token i at
 * buf + off[i], len[i] bytes.  The buffers grow and are reused from text
 * to text; `failed` records an allocation failure. */
typedef struct toks {
    char *buf;
    size_t blen, bcap;
    size_t *off, *len;
    size_t n, cap;
    char *std;       /* the standardized text */
    size_t std_cap;
    size_t *uoff, *ulen; /* units after splitting: offsets into std */
    size_t un, ucap;
    size_t *cpos;    /* code point offsets inside one word (char n-grams) */
    size_t cpos_cap;
    int failed;
} toks;

static void toks_free(toks *t) {
    LF_FREE(t->buf), LF_FREE(t->off), LF_FREE(t->len), LF_FREE(t->std), LF_FREE(t->uoff), LF_FREE(t->ulen),
        LF_FREE(t->cpos);
    memset(t, 0, sizeof *t);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 1;
    size_t c = *cap ? *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem) return 0;
        c *= 2;
    }
    void *q = LF_REALLOC(*p, c * elem);
    if (!q) return 0;
    *p = q, *cap = c;
    return 1;
}

/* Appends a token made of `parts` pieces of std joined by single spaces. */
static void emit(toks *t, const size_t *poff, const size_t *plen, size_t parts) {
    if (t->failed) return;
    size_t bytes = parts - 1;
    for (size_t i = 0; i < parts; i++) bytes += plen[i];
    size_t cap_off = t->cap;
    if (!grow((void **)&t->buf, &t->bcap, t->blen + bytes + 1, 1) ||
        !grow((void **)&t->off, &cap_off, t->n + 1, sizeof(size_t)) ||
        !grow((void **)&t->len, &t->cap, t->n + 1, sizeof(size_t))) {
        t->failed = 1;
        return;
    }
    size_t at = t->blen;
    for (size_t i = 0; i < parts; i++) {
        if (i) t->buf[t->blen++] = ' ';
        memcpy(t->buf + t->blen, t->std + poff[i], plen[i]);
        t->blen += plen[i];
    }
    t->off[t->n] = at, t->len[t->n] = bytes;
    t->n++;
}

static void add_unit(toks *t, size_t off, size_t len) {
    if (t->failed || len == 0) return;
    size_t cap_off = t->ucap;
    if (!grow((void **)&t->uoff, &cap_off, t->un + 1, sizeof(size_t)) ||
        !grow((void **)&t->ulen, &t->ucap, t->un + 1, sizeof(size_t))) {
        t->failed = 1;
        return;
    }
    t->uoff[t->un] = off, t->ulen[t->un] = len;
    t->un++;
}

/* Tokenizes one valid UTF-8 text of n bytes into t (cleared first). */
static void tokenize(const lf_textvec_options *o, const char *text, size_t n, toks *t) {
    t->n = t->blen = t->un = 0;
    if (t->failed) return;
    /* 1. standardize (4 bytes per input byte bound any re-encoding; the
     * lower-case mappings in fact keep each code point's length) */
    if (n > SIZE_MAX / 4 - 1 || !grow((void **)&t->std, &t->std_cap, 4 * n + 1, 1)) {
        t->failed = 1;
        return;
    }
    const int lower = o->standardize == LF_TEXTVEC_LOWER || o->standardize == LF_TEXTVEC_LOWER_AND_STRIP_PUNCTUATION;
    const int strip = o->standardize == LF_TEXTVEC_STRIP_PUNCTUATION ||
                      o->standardize == LF_TEXTVEC_LOWER_AND_STRIP_PUNCTUATION;
    const unsigned char *s = (const unsigned char *)text;
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = lf_utf8_decode(s + i, n - i, &cp);
        if (!k) k = 1, cp = 0xFFFD; /* not reached: texts are validated first */
        i += k;
        if (strip && lf_text_is_punct(cp)) continue;
        if (lower) cp = lf_text_lower(cp);
        m += lf_utf8_encode(cp, (unsigned char *)t->std + m);
    }
    t->std[m] = 0;
    /* 2. split into units */
    const int chars = o->char_ngram_min > 0;
    if (o->split == LF_TEXTVEC_SPLIT_NONE) {
        add_unit(t, 0, m);
    } else {
        const int cjk = o->split_cjk && !chars;
        const unsigned char *u = (const unsigned char *)t->std;
        size_t start = 0;
        for (size_t i = 0; i < m;) {
            uint32_t cp;
            size_t k = lf_utf8_decode(u + i, m - i, &cp);
            if (lf_text_is_space(cp)) {
                add_unit(t, start, i - start);
                start = i + k;
            } else if (cjk && lf_text_is_cjk(cp)) {
                add_unit(t, start, i - start);
                add_unit(t, i, k);
                start = i + k;
            }
            i += k;
        }
        add_unit(t, start, m - start);
    }
    if (t->failed) return;
    /* 3. tokens */
    if (chars) {
        const unsigned char *u = (const unsigned char *)t->std;
        for (size_t w = 0; w < t->un && !t->failed; w++) {
            /* code point starts of the word, plus its end */
            size_t nc = 0, a = t->uoff[w], b = a + t->ulen[w];
            for (size_t i = a; i < b; nc++) {
                if (!grow((void **)&t->cpos, &t->cpos_cap, nc + 2, sizeof(size_t))) {
                    t->failed = 1;
                    return;
                }
                t->cpos[nc] = i;
                uint32_t cp;
                i += lf_utf8_decode(u + i, b - i, &cp);
            }
            t->cpos[nc] = b;
            for (size_t g = o->char_ngram_min; g <= o->char_ngram_max && g <= nc; g++)
                for (size_t p = 0; p + g <= nc; p++) {
                    size_t off = t->cpos[p], len = t->cpos[p + g] - t->cpos[p];
                    emit(t, &off, &len, 1);
                }
        }
    } else {
        size_t top = o->ngrams > 1 ? o->ngrams : 1;
        for (size_t g = 1; g <= top; g++)
            for (size_t p = 0; p + g <= t->un; p++) emit(t, t->uoff + p, t->ulen + p, g);
    }
}

/* ---------------------------------------------------------- validation */

/* Checks that every text is present and valid UTF-8; the message names the
 * 1-based text, the line inside it and the byte. */
static lf_status check_texts(const char *const *texts, size_t n, lf_err *e) {
    if (n && !texts) return lf_fail(e, LF_ERR_ARG, "no texts given");
    for (size_t i = 0; i < n; i++) {
        if (!texts[i]) return lf_fail(e, LF_ERR_ARG, "text %zu is NULL", i + 1);
        const unsigned char *s = (const unsigned char *)texts[i];
        size_t len = strlen(texts[i]), bad = lf_utf8_check(s, len);
        if (bad == len) continue;
        size_t line = 1, line_start = 0;
        for (size_t j = 0; j < bad; j++)
            if (s[j] == '\n') line++, line_start = j + 1;
        return lf_fail(e, LF_ERR_FORMAT, "text %zu, line %zu: invalid UTF-8 (byte 0x%02X at byte %zu of the line)",
                       i + 1, line, s[bad], bad - line_start + 1);
    }
    return LF_OK;
}

/* --------------------------------------------------------------- adapt */

typedef struct count_entry {
    char *tok;
    size_t len;
    uint64_t count, docs, last_doc;
} count_entry;

static int entry_order(const void *pa, const void *pb) {
    const count_entry *a = pa, *b = pb;
    if (a->count != b->count) return a->count > b->count ? -1 : 1;
    size_t l = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->tok, b->tok, l);
    if (c) return c > 0 ? -1 : 1;
    return a->len == b->len ? 0 : (a->len > b->len ? -1 : 1);
}

lf_status lf_textvec_adapt(lf_textvec *tv, const char *const *texts, size_t n) {
    if (!tv) return LF_ERR_ARG;
    lf_status st = check_texts(texts, n, &tv->err);
    if (st != LF_OK) return st;
    count_entry *ent = NULL;
    size_t n_ent = 0, cap_ent = 0, n_slots = 0;
    size_t *slots = lf_text_slots_new(0, &n_slots);
    toks t;
    memset(&t, 0, sizeof t);
    lf_textvec_vocab v;
    memset(&v, 0, sizeof v);
    if (!slots) st = LF_ERR_NOMEM;
    for (size_t d = 0; st == LF_OK && d < n; d++) {
        tokenize(&tv->opt, texts[d], strlen(texts[d]), &t);
        if (t.failed) st = LF_ERR_NOMEM;
        for (size_t i = 0; st == LF_OK && i < t.n; i++) {
            const char *tok = t.buf + t.off[i];
            size_t len = t.len[i], j = lf_text_hash(tok, len) & (n_slots - 1);
            while (slots[j] != LF_SLOT_EMPTY) {
                const count_entry *c = &ent[slots[j]];
                if (c->len == len && memcmp(c->tok, tok, len) == 0) break;
                j = (j + 1) & (n_slots - 1);
            }
            if (slots[j] == LF_SLOT_EMPTY) {
                if (!grow((void **)&ent, &cap_ent, n_ent + 1, sizeof *ent)) {
                    st = LF_ERR_NOMEM;
                    break;
                }
                count_entry *c = &ent[n_ent];
                memset(c, 0, sizeof *c);
                c->tok = LF_MALLOC(len + 1);
                if (!c->tok) {
                    st = LF_ERR_NOMEM;
                    break;
                }
                memcpy(c->tok, tok, len);
                c->tok[len] = 0, c->len = len;
                slots[j] = n_ent++;
                if (2 * n_ent + 2 > n_slots) { /* rehash into twice the slots */
                    size_t ns;
                    size_t *s2 = lf_text_slots_new(n_ent, &ns);
                    if (!s2) {
                        st = LF_ERR_NOMEM;
                        break;
                    }
                    for (size_t k = 0; k < n_ent; k++) {
                        size_t q = lf_text_hash(ent[k].tok, ent[k].len) & (ns - 1);
                        while (s2[q] != LF_SLOT_EMPTY) q = (q + 1) & (ns - 1);
                        s2[q] = k;
                    }
                    LF_FREE(slots);
                    slots = s2, n_slots = ns;
                    j = SIZE_MAX; /* the entry is the last one */
                }
            }
            count_entry *c = &ent[j == SIZE_MAX ? n_ent - 1 : slots[j]];
            c->count++;
            if (c->last_doc != d + 1) c->docs++, c->last_doc = d + 1;
        }
    }
    if (st == LF_ERR_NOMEM) lf_fail(&tv->err, st, "adapt: out of memory");
    /* "[UNK]" is reserved (Keras removes it from the counts) */
    size_t kept = 0;
    for (size_t i = 0; st == LF_OK && i < n_ent; i++) {
        if (ent[i].len == 5 && memcmp(ent[i].tok, "[UNK]", 5) == 0) LF_FREE(ent[i].tok);
        else ent[kept++] = ent[i];
    }
    if (st == LF_OK) n_ent = kept;
    if (st == LF_OK && n_ent == 0)
        st = lf_fail(&tv->err, LF_ERR_ARG, "adapt: the %zu texts hold no token", n);
    if (st == LF_OK) {
        qsort(ent, n_ent, sizeof *ent, entry_order);
        const size_t r = lf_textvec_reserved(tv->opt.output_mode);
        size_t learned = n_ent;
        if (tv->opt.max_tokens && learned > tv->opt.max_tokens - r) learned = tv->opt.max_tokens - r;
        v.n = r + learned;
        v.tokens = lf_alloc_array(v.n, sizeof *v.tokens);
        v.lens = lf_alloc_array(v.n, sizeof *v.lens);
        if (tv->opt.output_mode == LF_TEXTVEC_TF_IDF) v.idf = lf_alloc_array(v.n, sizeof *v.idf);
        if (!v.tokens || !v.lens || (tv->opt.output_mode == LF_TEXTVEC_TF_IDF && !v.idf))
            st = lf_fail(&tv->err, LF_ERR_NOMEM, "adapt: out of memory");
        if (st == LF_OK) {
            const char *res[2] = {"", "[UNK]"};
            for (size_t i = 0; i < r && st == LF_OK; i++) {
                const char *tok = res[i + 2 - r];
                v.lens[i] = strlen(tok);
                v.tokens[i] = LF_MALLOC(v.lens[i] + 1);
                if (!v.tokens[i]) st = lf_fail(&tv->err, LF_ERR_NOMEM, "adapt: out of memory");
                else memcpy(v.tokens[i], tok, v.lens[i] + 1);
            }
            double sum = 0;
            for (size_t i = 0; i < learned && st == LF_OK; i++) {
                v.tokens[r + i] = ent[i].tok, v.lens[r + i] = ent[i].len;
                ent[i].tok = NULL;
                if (v.idf) {
                    v.idf[r + i] = (float)log(1.0 + (double)n / (1.0 + (double)ent[i].docs));
                    sum += v.idf[r + i];
                }
            }
            if (v.idf && st == LF_OK)
                for (size_t i = 0; i < r; i++) v.idf[i] = (float)(sum / (double)learned);
        }
        if (st == LF_OK) st = lf_textvec_vocab_index(&v, r, &tv->err);
    }
    for (size_t i = 0; i < n_ent; i++) LF_FREE(ent[i].tok);
    LF_FREE(ent), LF_FREE(slots);
    toks_free(&t);
    if (st != LF_OK) {
        lf_textvec_vocab_free(&v);
        return st;
    }
    lf_textvec_vocab_free(&tv->vocab);
    tv->vocab = v;
    tv->err.msg[0] = 0;
    return LF_OK;
}

/* Keras' TextVectorization.set_vocabulary (keras/src/layers/preprocessing/
 * index_lookup.py set_vocabulary, the StringLookup under it having
 * mask_token "" and oov_token "[UNK]"): the reserved entries may lead the
 * terms and are then skipped; tf_idf's weights are as many as the terms
 * given, the reserved entries' their mean when the terms do not hold them */
lf_status lf_textvec_set_vocabulary(lf_textvec *tv, const char *const *terms, size_t n, const float *idf) {
    if (!tv) return LF_ERR_ARG;
    lf_err *e = &tv->err;
    const int tfidf = tv->opt.output_mode == LF_TEXTVEC_TF_IDF;
    const size_t r = lf_textvec_reserved(tv->opt.output_mode);
    const char *res[2] = {"", "[UNK]"};
    if (tfidf && !idf) return lf_fail(e, LF_ERR_ARG, "`idf_weights` must be set if output_mode is 'tf_idf'.");
    if (!tfidf && idf)
        return lf_fail(e, LF_ERR_ARG, "`idf_weights` should only be set if output_mode is `'tf_idf'`.");
    if (n == 0 || !terms) return lf_fail(e, LF_ERR_ARG, "Cannot set an empty vocabulary.");
    lf_status st = check_texts(terms, n, e);
    if (st != LF_OK) return st;
    size_t skip = n >= r ? r : 0;
    for (size_t i = 0; i < skip; i++)
        if (strcmp(terms[i], res[i + 2 - r]) != 0) skip = 0;
    for (size_t i = skip; i < n; i++)
        if (!terms[i][0])
            return lf_fail(e, LF_ERR_ARG, "Found reserved mask token at unexpected location in `vocabulary`: entry %zu "
                           "is the empty string; the reserved entries may only lead the vocabulary, in this order: %s",
                           i, r == 2 ? "['', '[UNK]']" : "['[UNK]']");
    const size_t total = r + n - skip;
    if (tv->opt.max_tokens && total > tv->opt.max_tokens)
        return lf_fail(e, LF_ERR_ARG, "Attempted to set a vocabulary larger than the maximum vocab size. Received "
                       "vocabulary size is %zu; `max_tokens` is %zu.", total, tv->opt.max_tokens);
    if (total > LF_TEXTVEC_MAX_VOCAB) return lf_fail(e, LF_ERR_ARG, "the vocabulary has more than %u entries",
                                                     LF_TEXTVEC_MAX_VOCAB);
    for (size_t i = 0; idf && i < n; i++)
        if (!isfinite(idf[i])) return lf_fail(e, LF_ERR_ARG, "idf weight %zu is not finite", i);
    lf_textvec_vocab v;
    memset(&v, 0, sizeof v);
    v.tokens = lf_alloc_array(total, sizeof *v.tokens);
    v.lens = lf_alloc_array(total, sizeof *v.lens);
    v.idf = idf ? lf_alloc_array(total, sizeof *v.idf) : NULL;
    if (!v.tokens || !v.lens || (idf && !v.idf)) st = lf_fail(e, LF_ERR_NOMEM, "set_vocabulary: out of memory");
    else {
        memset(v.tokens, 0, total * sizeof *v.tokens);
        v.n = total;
    }
    double sum = 0;
    for (size_t i = 0; st == LF_OK && i < total; i++) {
        const char *tok = i < r ? res[i + 2 - r] : terms[skip + i - r];
        v.lens[i] = strlen(tok);
        if (!(v.tokens[i] = LF_MALLOC(v.lens[i] + 1))) st = lf_fail(e, LF_ERR_NOMEM, "set_vocabulary: out of memory");
        else memcpy(v.tokens[i], tok, v.lens[i] + 1);
    }
    if (st == LF_OK && idf) {
        for (size_t i = 0; i < n; i++) sum += idf[i];
        for (size_t i = 0; i < total; i++)
            v.idf[i] = i >= r ? idf[skip + i - r] : skip ? idf[i] : (float)(sum / (double)n);
    }
    if (st == LF_OK) st = lf_textvec_vocab_index(&v, r, e);
    if (st != LF_OK) {
        lf_textvec_vocab_free(&v);
        return st == LF_ERR_FORMAT ? LF_ERR_ARG : st; /* a repeated term */
    }
    lf_textvec_vocab_free(&tv->vocab);
    tv->vocab = v;
    tv->err.msg[0] = 0;
    return LF_OK;
}

/* ----------------------------------------------------------- transform */

static lf_status ready(lf_textvec *tv, const char *const *texts, size_t n, const void *out, int want_int,
                       const char *what) {
    if (!tv) return LF_ERR_ARG;
    if (!tv->vocab.n) return lf_fail(&tv->err, LF_ERR_STATE, "%s: the text vectorizer is not adapted", what);
    if ((tv->opt.output_mode == LF_TEXTVEC_INT) != want_int)
        return lf_fail(&tv->err, LF_ERR_STATE, "%s: the output_mode is %s: use lf_textvec_transform%s", what,
                       tv->opt.output_mode == LF_TEXTVEC_INT ? "int" : "dense", want_int ? "" : "_int");
    if (n && !out) return lf_fail(&tv->err, LF_ERR_ARG, "%s: no output array given", what);
    return check_texts(texts, n, &tv->err);
}

lf_status lf_textvec_transform(lf_textvec *tv, const char *const *texts, size_t n, float *out) {
    lf_status st = ready(tv, texts, n, out, 0, "transform");
    if (st != LF_OK) return st;
    const size_t dim = lf_textvec_output_dim(tv);
    size_t total;
    if (!lf_mul_ok(n, dim, &total)) return lf_fail(&tv->err, LF_ERR_SHAPE, "transform: %zu x %zu outputs overflow", n, dim);
    toks t;
    memset(&t, 0, sizeof t);
    const lf_textvec_mode mode = tv->opt.output_mode;
    /* count and tf_idf: the vocabulary ids of a row's tokens and an integer
     * count per entry (as Keras' int64 bincount: a float would stop at
     * 2^24), turned into the row's float once per entry present (a pass
     * over the tokens, not over the vocabulary) and reset */
    size_t *ids = NULL, ids_cap = 0;
    uint64_t *cnt = mode != LF_TEXTVEC_MULTI_HOT ? LF_CALLOC(tv->vocab.n, sizeof *cnt) : NULL;
    if (mode != LF_TEXTVEC_MULTI_HOT && !cnt) t.failed = 1;
    for (size_t d = 0; d < n && !t.failed; d++) {
        float *row = out + d * dim;
        memset(row, 0, dim * sizeof *row);
        tokenize(&tv->opt, texts[d], strlen(texts[d]), &t);
        if (t.failed) break;
        if (cnt && !grow((void **)&ids, &ids_cap, t.n + 1, sizeof *ids)) {
            t.failed = 1;
            break;
        }
        for (size_t i = 0; i < t.n; i++) {
            size_t k = vocab_find(&tv->vocab, t.buf + t.off[i], t.len[i], 0);
            if (!cnt) row[k] = 1;
            else ids[i] = k, cnt[k]++;
        }
        for (size_t i = 0; cnt && i < t.n; i++) {
            size_t k = ids[i];
            if (!cnt[k]) continue; /* done: a token seen earlier in the row */
            row[k] = (float)cnt[k];
            if (mode == LF_TEXTVEC_TF_IDF) row[k] *= tv->vocab.idf[k];
            cnt[k] = 0;
        }
    }
    int failed = t.failed;
    toks_free(&t);
    LF_FREE(ids), LF_FREE(cnt);
    if (failed) return lf_fail(&tv->err, LF_ERR_NOMEM, "transform: out of memory");
    tv->err.msg[0] = 0;
    return LF_OK;
}

lf_status lf_textvec_transform_int(lf_textvec *tv, const char *const *texts, size_t n, size_t seq_len,
                                   int32_t *out) {
    lf_status st = ready(tv, texts, n, out, 1, "transform");
    if (st != LF_OK) return st;
    if (tv->opt.output_sequence_length && seq_len != tv->opt.output_sequence_length)
        return lf_fail(&tv->err, LF_ERR_SHAPE, "transform: seq_len is %zu but output_sequence_length is %zu", seq_len,
                       tv->opt.output_sequence_length);
    size_t total;
    if (!lf_mul_ok(n, seq_len, &total))
        return lf_fail(&tv->err, LF_ERR_SHAPE, "transform: %zu x %zu outputs overflow", n, seq_len);
    toks t;
    memset(&t, 0, sizeof t);
    for (size_t d = 0; d < n; d++) {
        int32_t *row = out + d * seq_len;
        tokenize(&tv->opt, texts[d], strlen(texts[d]), &t);
        if (t.failed) break;
        for (size_t i = 0; i < seq_len; i++)
            row[i] = i < t.n ? (int32_t)vocab_find(&tv->vocab, t.buf + t.off[i], t.len[i], 1) : 0;
    }
    int failed = t.failed;
    toks_free(&t);
    if (failed) return lf_fail(&tv->err, LF_ERR_NOMEM, "transform: out of memory");
    tv->err.msg[0] = 0;
    return LF_OK;
}

lf_status lf_textvec_max_length(lf_textvec *tv, const char *const *texts, size_t n, size_t *len) {
    if (!tv) return LF_ERR_ARG;
    if (!len) return lf_fail(&tv->err, LF_ERR_ARG, "max_length: no output pointer given");
    lf_status st = check_texts(texts, n, &tv->err);
    if (st != LF_OK) return st;
    toks t;
    memset(&t, 0, sizeof t);
    size_t best = 0;
    for (size_t d = 0; d < n && !t.failed; d++) {
        tokenize(&tv->opt, texts[d], strlen(texts[d]), &t);
        if (t.n > best) best = t.n;
    }
    int failed = t.failed;
    toks_free(&t);
    if (failed) return lf_fail(&tv->err, LF_ERR_NOMEM, "max_length: out of memory");
    *len = best;
    return LF_OK;
}

/* ---------------------------------------------------------------- lines */

lf_status lf_textvec_read_lines(lf_textvec *tv, const char *path, char ***lines, size_t *n) {
    if (!tv) return LF_ERR_ARG;
    if (!path || !lines || !n) return lf_fail(&tv->err, LF_ERR_ARG, "read_lines: NULL argument");
    *lines = NULL, *n = 0;
    unsigned char *buf;
    size_t len;
    lf_status st = lf_io_read_file(path, &buf, &len, &tv->err);
    if (st != LF_OK) return st;
    size_t count = 0;
    for (size_t i = 0; i < len; i++) count += buf[i] == '\n';
    if (len && buf[len - 1] != '\n') count++;
    /* one block: count + 1 pointers, then the text with NULs for line ends */
    size_t head;
    char **block = NULL;
    if (lf_mul_ok(count + 1, sizeof(char *), &head) && head <= SIZE_MAX - len - 1)
        block = LF_MALLOC(head + len + 1);
    if (!block) {
        LF_FREE(buf);
        return lf_fail(&tv->err, LF_ERR_NOMEM, "'%s': out of memory for %zu lines", path, count);
    }
    char *text = (char *)block + head;
    memcpy(text, buf, len);
    text[len] = 0;
    LF_FREE(buf);
    size_t line = 0, start = 0;
    for (size_t i = 0; i <= len && line < count; i++) {
        if (i < len && text[i] != '\n') continue;
        size_t end = i;
        if (end > start && text[end - 1] == '\r') end--;
        const unsigned char *s = (const unsigned char *)text + start;
        const void *nul = memchr(s, 0, end - start);
        size_t bad = lf_utf8_check(s, end - start);
        if (nul) st = lf_fail(&tv->err, LF_ERR_FORMAT, "%s:%zu: the line holds a NUL byte", path, line + 1);
        else if (bad != end - start)
            st = lf_fail(&tv->err, LF_ERR_FORMAT, "%s:%zu: invalid UTF-8 (byte 0x%02X at byte %zu of the line)", path,
                         line + 1, s[bad], bad + 1);
        if (st != LF_OK) {
            LF_FREE(block);
            return st;
        }
        text[end] = 0;
        block[line++] = text + start;
        start = i + 1;
    }
    block[count] = NULL;
    *lines = block, *n = count;
    return LF_OK;
}

void lf_textvec_lines_free(char **lines) { LF_FREE(lines); }
