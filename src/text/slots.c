/*
 * slots.c — the open-addressing index the vocabularies share
 * (TextVectorization's in textvec.c, StringLookup / IntegerLookup's in
 * lookup.c): FNV-1a hashing of a token's bytes and a table of 2^k slots
 * holding entry numbers, LF_SLOT_EMPTY when free, probed linearly (see
 * text.h).  Each caller compares its own entries.
 */
#include "internal.h"
#include "text/text.h"

uint64_t lf_text_hash(const void *p, size_t n) {
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

size_t *lf_text_slots_new(size_t entries, size_t *n_slots) {
    size_t n = 16;
    while (n < 2 * entries + 2) n *= 2;
    size_t *s = lf_alloc_array(n, sizeof *s);
    if (!s) return NULL;
    for (size_t i = 0; i < n; i++) s[i] = LF_SLOT_EMPTY;
    *n_slots = n;
    return s;
}
