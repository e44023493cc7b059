/*
 * text.h — the character-level pieces of text preprocessing: strict UTF-8
 * decoding and the small, locale-free character classes that
 * TextVectorization (textvec.c) standardises and splits with.
 *
 * Every class below is a fixed table of code point ranges (no locale, no
 * libc ctype), listed in utf8.c with the reason for each range.  Last, the
 * open-addressing index the vocabularies share (slots.c).
 */
#ifndef LF_TEXT_H
#define LF_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one code point from s[0..n) (n >= 1): returns its length in bytes
 * (1..4) and stores it in *cp, or returns 0 when the bytes there are not
 * valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF, no truncated sequence). */
size_t lf_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Encodes a valid code point into out; returns its length (1..4). */
size_t lf_utf8_encode(uint32_t cp, unsigned char out[4]);

/* The offset of the first byte of s[0..n) that does not start a valid
 * sequence, or n when all of it is valid UTF-8. */
size_t lf_utf8_check(const unsigned char *s, size_t n);

/* Simple one-to-one lower-casing: ASCII, Latin-1, Latin Extended-A, Greek
 * and Cyrillic capitals; every other code point is returned unchanged. */
uint32_t lf_text_lower(uint32_t cp);

/* Unicode White_Space: ASCII \t \n \v \f \r and space, U+0085, U+00A0,
 * U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. */
int lf_text_is_space(uint32_t cp);

/* Punctuation removed by "strip_punctuation": the 32 ASCII punctuation
 * characters (Keras' set), Latin-1's ¡ § « ¶ · » ¿, General Punctuation
 * (U+2010..U+2027, U+2030..U+205E), the punctuation of CJK Symbols and
 * Punctuation (、。〃〈〉《》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〽) and the katakana
 * middle dot ・, the CJK vertical, compatibility and small forms
 * (U+FE10..U+FE19, U+FE30..U+FE6B) and the fullwidth/halfwidth forms of
 * ASCII punctuation and CJK punctuation (！＂＃…，．／：；？＠［＼］＾＿｀｛｜｝～
 * and U+FF5F..U+FF65). */
int lf_text_is_punct(uint32_t cp);

/* Characters that are tokens of their own: CJK Unified Ideographs (U+4E00..
 * U+9FFF, Extension A U+3400..U+4DBF, Extensions B..F and the compatibility
 * supplement U+20000..U+2FA1F, Extension G+ U+30000..U+323AF), CJK
 * Compatibility Ideographs U+F900..U+FAFF, Hiragana U+3040..U+309F,
 * Katakana U+30A0..U+30FF and U+31F0..U+31FF, Hangul syllables
 * U+AC00..U+D7AF. */
int lf_text_is_cjk(uint32_t cp);

/* ------------------------------------------------- vocabulary indexes */

/* A free slot of an index: slots hold entry numbers, a table of 2^k
 * slots is kept at most half full and probed from hash & (2^k - 1) on. */
#define LF_SLOT_EMPTY SIZE_MAX

/* FNV-1a over the n bytes at p, its high bits folded in. */
uint64_t lf_text_hash(const void *p, size_t n);

/* A table of 16 or more slots (a power of two, at least 2 entries + 2),
 * all free, its size in *n_slots; NULL when out of memory. */
size_t *lf_text_slots_new(size_t entries, size_t *n_slots);

#endif
