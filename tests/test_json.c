/*
 * test_json.c — the strict JSON parser and the writer helpers (io/json.h):
 * every value type, escapes and surrogates, each rejection with its status
 * and message (including the byte offset), the depth limit, a deep-nesting
 * attack, locale independence (with a comma-decimal locale when one can
 * be found or built) and float/double round trips of the writer.
 */
#include "check.h"
#include "locale_util.h"
#include "io/json.h"

#include <float.h>
#include <locale.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Parses a NUL-terminated text; NULL (and a printed failure) on error. */
static lf_json *ok_parse(const char *text) {
    lf_json *j = NULL;
    lf_err e = {{0}};
    lf_status st = lf_json_parse(text, strlen(text), &j, &e);
    CHECK(st == LF_OK && j, "parse of '%s' failed: %s", text, e.msg);
    return j;
}

/* Expects parsing of n bytes to fail with `want` and a message containing
 * `sub`. */
static void bad_n(const char *text, size_t n, lf_status want, const char *sub) {
    lf_json *j = (lf_json *)1;
    lf_err e = {{0}};
    lf_status st = lf_json_parse(text, n, &j, &e);
    CHECK(st == want, "parse of '%.40s' gave status %d, want %d (%s)", text, st, want, e.msg);
    CHECK(j == NULL, "output not NULL after failure for '%.40s'", text);
    CHECK(strstr(e.msg, sub) != NULL, "message for '%.40s' is '%s', want '%s'", text, e.msg, sub);
    if (st == LF_OK) lf_json_free(j);
}

static void bad(const char *text, const char *sub) { bad_n(text, strlen(text), LF_ERR_FORMAT, sub); }

static double num_of(const char *text) {
    lf_json *j = ok_parse(text);
    double v = -12345;
    if (j) CHECK(lf_json_num(j, &v), "'%s' is not a number", text);
    lf_json_free(j);
    return v;
}

static void test_scalars(void) {
    lf_json *j = ok_parse(" null ");
    CHECK(lf_json_is(j, LF_JSON_NULL), "null");
    lf_json_free(j);
    int b = -1;
    j = ok_parse("true");
    CHECK(lf_json_bool(j, &b) && b == 1, "true");
    lf_json_free(j);
    j = ok_parse("\t\r\nfalse\n");
    CHECK(lf_json_bool(j, &b) && b == 0, "false");
    CHECK(lf_json_str(j) == NULL && lf_json_len(j) == 0, "false is no string/container");
    lf_json_free(j);
    j = ok_parse("\"hi\"");
    CHECK(lf_json_str(j) && strcmp(lf_json_str(j), "hi") == 0 && j->str_len == 2, "string");
    double d;
    CHECK(!lf_json_num(j, &d) && !lf_json_bool(j, &b), "a string is no number/bool");
    lf_json_free(j);

    j = ok_parse("42");
    size_t sz = 0;
    CHECK(j && j->is_int && j->integer == 42 && j->number == 42.0, "42");
    CHECK(lf_json_size(j, &sz) && sz == 42, "size 42");
    lf_json_free(j);
    j = ok_parse("-0");
    CHECK(j && j->is_int && j->integer == 0 && j->number == 0 && signbit(j->number), "-0");
    lf_json_free(j);
    j = ok_parse("9223372036854775807");
    CHECK(j && j->is_int && j->integer == INT64_MAX, "int64 max");
    CHECK(j && j->number == 9223372036854775808.0, "int64 max as double");
    lf_json_free(j);
    j = ok_parse("-9223372036854775808");
    CHECK(j && j->is_int && j->integer == INT64_MIN, "int64 min");
    lf_json_free(j);
    j = ok_parse("9223372036854775808");
    CHECK(j && !j->is_int && j->number == 9223372036854775808.0, "beyond int64 is a double");
    CHECK(!lf_json_size(j, &sz), "beyond int64 is not a size");
    lf_json_free(j);
    j = ok_parse("9007199254740993"); /* 2^53 + 1: exact int, double rounds to even */
    CHECK(j && j->is_int && j->integer == 9007199254740993LL && j->number == 9007199254740992.0,
          "2^53+1");
    lf_json_free(j);

    /* sizes: only non-negative integer literals */
    const char *not_size[] = {"-1", "1.0", "1e2", "0.5", "\"3\"", "true", "null", "[]"};
    for (size_t i = 0; i < sizeof not_size / sizeof *not_size; i++) {
        j = ok_parse(not_size[i]);
        CHECK(!lf_json_size(j, &sz), "'%s' must not be a size", not_size[i]);
        lf_json_free(j);
    }
    j = ok_parse("0");
    CHECK(lf_json_size(j, &sz) && sz == 0, "0 is a size");
    lf_json_free(j);

    /* correctly rounded conversions */
    CHECK(num_of("0.1") == 0.1, "0.1");
    CHECK(num_of("1e-7") == 1e-7, "1e-7");
    CHECK(num_of("3.4028234663852886e38") == 3.4028234663852886e38, "FLT_MAX as double");
    CHECK(num_of("3.4028234663852886e38") == (double)FLT_MAX, "FLT_MAX exact");
    CHECK(num_of("-1.25E-2") == -0.0125, "-1.25E-2");
    CHECK(num_of("1E+3") == 1000.0, "1E+3");
    CHECK(num_of("2.2250738585072014e-308") == DBL_MIN, "DBL_MIN");
    CHECK(num_of("1.7976931348623157e308") == DBL_MAX, "DBL_MAX");
    CHECK(num_of("5e-324") == 4.9406564584124654e-324, "smallest subnormal");
    CHECK(num_of("1e-400") == 0.0, "underflow rounds to 0");
    CHECK(num_of("0.30000000000000004") == 0.1 + 0.2, "0.1+0.2");
    CHECK(num_of("123456789012345678901234567890") == 1.2345678901234568e29, "long integer");
    /* 1 + 2^-53 is halfway between 1 and the next double: ties go to even */
    CHECK(num_of("1.00000000000000011102230246251565404236316680908203125") == 1.0,
          "halfway rounds to even (down)");
    CHECK(num_of("1.000000000000000111022302462515654042363166809082031251") == 1.0000000000000002,
          "just above halfway rounds up");
    CHECK(num_of("1.00000000000000033306690738754696212708950042724609375") == 1.0000000000000004,
          "halfway between odd and even rounds to even (up)");
    j = ok_parse("1.5");
    CHECK(j && !j->is_int, "1.5 is not an integer literal");
    lf_json_free(j);
}

static void test_number_rejections(void) {
    bad("01", "number with a leading zero at byte 0");
    bad("-012", "number with a leading zero at byte 0");
    bad("+1", "unexpected character '+' at byte 0");
    bad("NaN", "unexpected character 'N' at byte 0");
    bad("Infinity", "unexpected character 'I' at byte 0");
    bad("-Infinity", "unexpected character 'I', expected a digit in number at byte 1");
    bad("0x10", "unexpected character 'x', trailing data after the JSON value at byte 1");
    bad(".5", "unexpected character '.' at byte 0");
    bad("1.", "unexpected end of JSON input, expected a digit after '.' at byte 2");
    bad("1.e5", "expected a digit after '.' at byte 2");
    bad("1e", "expected a digit in exponent at byte 2");
    bad("1e+", "expected a digit in exponent at byte 3");
    bad("-", "expected a digit in number at byte 1");
    bad("--1", "expected a digit in number at byte 1");
    bad("[1e309]", "number out of range of a double at byte 1");
    bad("-1e400", "number out of range of a double at byte 0");
    bad("1 2", "unexpected character '2', trailing data after the JSON value at byte 2");
}

static void test_strings(void) {
    lf_json *j = ok_parse("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"");
    CHECK(j && strcmp(j->str, "a\"b\\c/d\be\ff\ng\rh\ti") == 0 && j->str_len == 17, "simple escapes");
    lf_json_free(j);
    j = ok_parse("\"\\u00e9\\u20AC\\uD83D\\uDE00x\"");
    CHECK(j && strcmp(j->str, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80x") == 0 && j->str_len == 10,
          "\\u escapes and a surrogate pair");
    lf_json_free(j);
    j = ok_parse("\"\\uDBFF\\uDFFF\"");
    CHECK(j && strcmp(j->str, "\xF4\x8F\xBF\xBF") == 0, "U+10FFFF from surrogates");
    lf_json_free(j);
    j = ok_parse("\"caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80 \x7F\"");
    CHECK(j && strcmp(j->str, "caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80 \x7F") == 0, "raw UTF-8 and DEL");
    lf_json_free(j);
    j = ok_parse("\"\"");
    CHECK(j && j->str && j->str[0] == 0 && j->str_len == 0, "empty string");
    lf_json_free(j);

    bad("\"\\uD800\"", "unpaired surrogate \\uD800 in string at byte 1");
    bad("\"ab\\uDC00\"", "unpaired surrogate \\uDC00 in string at byte 3");
    bad("\"\\uD800\\u0041\"", "unpaired surrogate \\uD800 in string at byte 1");
    bad("\"\\uD800x\"", "unpaired surrogate \\uD800");
    bad("\"\\uD800\\uD800\"", "unpaired surrogate \\uD800");
    bad("\"a\x01\"", "unescaped control character 0x01 in string at byte 2");
    bad("\"a\nb\"", "unescaped control character 0x0a in string at byte 2");
    bad("\"\xC0\x80\"", "invalid UTF-8 in string at byte 1");          /* overlong NUL   */
    bad("\"\xE0\x80\xAF\"", "invalid UTF-8 in string at byte 1");      /* overlong '/'   */
    bad("\"\xED\xA0\x80\"", "invalid UTF-8 in string at byte 1");      /* surrogate      */
    bad("\"\xF4\x90\x80\x80\"", "invalid UTF-8 in string at byte 1");  /* > U+10FFFF     */
    bad("\"x\xE2\x82\"", "invalid UTF-8 in string at byte 2");         /* truncated      */
    bad("\"\x80\"", "invalid UTF-8 in string at byte 1");              /* lone continuation */
    bad("\"\xFF\"", "invalid UTF-8 in string at byte 1");
    bad("\"\\u0000\"", "\\u0000 (NUL) in string is not supported at byte 1");
    bad("\"\\x41\"", "invalid escape '\\x' in string at byte 1");
    bad("\"\\u12G4\"", "invalid \\u escape in string at byte 1");
    bad("\"\\u12\"", "invalid \\u escape in string at byte 1");
    bad("\"abc", "unterminated string starting at byte 0");
    bad("[\"abc\\\"]", "unterminated string starting at byte 1");
    bad("\xEF\xBB\xBF{}", "unexpected byte 0xef at byte 0"); /* no BOM */
    bad_n("[1]\0", 4, LF_ERR_FORMAT, "unexpected byte 0x00, trailing data after the JSON value at byte 3");
    bad_n("\"a\0b\"", 5, LF_ERR_FORMAT, "unescaped control character 0x00 in string at byte 2");

    CHECK(lf_utf8_valid("a\xC3\xA9", 3) && !lf_utf8_valid("\xC3", 1) && lf_utf8_valid("", 0),
          "lf_utf8_valid");
}

static void test_containers(void) {
    lf_json *j = ok_parse(" { \"a\" : [1, 2.5, {\"b\": null}, []], \"c\": \"d\", \"e\": {} } ");
    if (!j) return;
    CHECK(lf_json_is(j, LF_JSON_OBJECT) && lf_json_len(j) == 3, "object of 3");
    CHECK(strcmp(lf_json_key_at(j, 0), "a") == 0 && strcmp(lf_json_key_at(j, 1), "c") == 0 &&
              strcmp(lf_json_key_at(j, 2), "e") == 0 && lf_json_key_at(j, 3) == NULL,
          "keys in order");
    const lf_json *a = lf_json_get(j, "a");
    CHECK(lf_json_is(a, LF_JSON_ARRAY) && lf_json_len(a) == 4, "a is an array of 4");
    double d = 0;
    CHECK(lf_json_num(lf_json_at(a, 1), &d) && d == 2.5, "a[1] = 2.5");
    CHECK(lf_json_at(a, 4) == NULL && lf_json_key_at(a, 0) == NULL, "array bounds / no keys");
    CHECK(lf_json_is(lf_json_get(lf_json_at(a, 2), "b"), LF_JSON_NULL), "a[2].b is null");
    CHECK(lf_json_len(lf_json_at(a, 3)) == 0 && lf_json_is(lf_json_at(a, 3), LF_JSON_ARRAY), "empty array");
    CHECK(strcmp(lf_json_str(lf_json_get(j, "c")), "d") == 0, "c = d");
    CHECK(lf_json_is(lf_json_get(j, "e"), LF_JSON_OBJECT) && lf_json_len(lf_json_get(j, "e")) == 0,
          "empty object");
    CHECK(lf_json_get(j, "zz") == NULL && lf_json_get(a, "a") == NULL && lf_json_get(NULL, "a") == NULL,
          "absent keys");
    CHECK(lf_json_get(j, "a")->offset == 9 && lf_json_get(j, "a")->key_offset == 3, "offsets");
    CHECK(lf_json_len(NULL) == 0 && lf_json_at(NULL, 0) == NULL && lf_json_str(NULL) == NULL,
          "NULL accessors");
    lf_json_free(j);
    lf_json_free(NULL);

    /* same key in different objects is fine */
    j = ok_parse("{\"x\":{\"x\":1},\"y\":{\"x\":2}}");
    lf_json_free(j);

    bad("", "unexpected end of JSON input at byte 0");
    bad("   ", "unexpected end of JSON input at byte 3");
    bad("[", "unexpected end of JSON input at byte 1");
    bad("[1", "unexpected end of JSON input, expected ',' or ']' at byte 2");
    bad("{\"a\":", "unexpected end of JSON input at byte 5");
    bad("{\"a\":1", "expected ',' or '}' at byte 6");
    bad("[1,]", "trailing comma before ']' at byte 3");
    bad("{\"a\":1,}", "trailing comma before '}' at byte 7");
    bad("{\"a\" 1}", "unexpected character '1', expected ':' after key at byte 5");
    bad("{1:2}", "unexpected character '1', expected a string key at byte 1");
    bad("[1 2]", "unexpected character '2', expected ',' or ']' at byte 3");
    bad("[1,2,x]", "unexpected character 'x' at byte 5");
    bad("[,1]", "unexpected character ',' at byte 1");
    bad("{\"a\":1]", "expected ',' or '}' at byte 6");
    bad("[}", "unexpected character '}' at byte 1");
    bad("tru", "unexpected character 't' at byte 0");
    bad("nul", "unexpected character 'n' at byte 0");
    bad("[truex]", "expected ',' or ']' at byte 5");

    /* duplicates: small and large objects, nested, first duplicate reported */
    bad("{\"x\":1,\"x\":2}", "duplicate key 'x' in JSON object at byte 7");
    bad("{\"a\":{\"q\":1,\"r\":2,\"q\":3}}", "duplicate key 'q' in JSON object at byte 18");
    bad("{\"b\":1,\"a\":2,\"a\":3,\"b\":4}", "duplicate key 'a' in JSON object at byte 13");
    {
        lf_buf b;
        lf_buf_init(&b);
        lf_buf_puts(&b, "{");
        for (int i = 0; i < 40; i++) lf_buf_printf(&b, "\"k%02d\":%d,", i, i);
        size_t at = b.len;
        lf_buf_puts(&b, "\"k17\":0,\"k03\":1}");
        CHECK(!b.failed, "buffer");
        char want[80];
        snprintf(want, sizeof want, "duplicate key 'k17' in JSON object at byte %zu", at);
        bad(b.data, want);
        lf_buf_free(&b);
    }
    bad("{\"a\\nb\":1,\"a\\nb\":2}", "duplicate key 'a\\x0ab' in JSON object");
}

static void test_depth(void) {
    char buf[300];
    /* 64 levels of arrays are fine, 65 are not */
    memset(buf, '[', 64);
    memset(buf + 64, ']', 64);
    lf_json *j = NULL;
    lf_err e;
    CHECK(lf_json_parse(buf, 128, &j, &e) == LF_OK, "depth 64: %s", e.msg);
    const lf_json *p = j;
    int depth = 0;
    while (lf_json_is(p, LF_JSON_ARRAY)) {
        depth++;
        p = lf_json_at(p, 0);
    }
    CHECK(depth == 64, "walked %d levels", depth);
    lf_json_free(j);
    memset(buf, '[', 65);
    memset(buf + 65, ']', 65);
    bad_n(buf, 130, LF_ERR_FORMAT, "JSON nesting deeper than 64 levels at byte 64");

    /* objects count too: {"a":{"a":...1...}} */
    lf_buf b;
    lf_buf_init(&b);
    for (int i = 0; i < 64; i++) lf_buf_puts(&b, "{\"a\":");
    lf_buf_puts(&b, "1");
    for (int i = 0; i < 64; i++) lf_buf_puts(&b, "}");
    j = NULL;
    CHECK(!b.failed && lf_json_parse(b.data, b.len, &j, &e) == LF_OK, "object depth 64: %s", e.msg);
    lf_json_free(j);
    lf_buf_free(&b);
    lf_buf_init(&b);
    for (int i = 0; i < 65; i++) lf_buf_puts(&b, "[{\"a\":");
    bad_n(b.data, b.len, LF_ERR_FORMAT, "JSON nesting deeper than 64 levels at byte 192");
    lf_buf_free(&b);

    /* the attack: 100000 '[' fails at once, without recursion */
    size_t n = 100000;
    char *deep = malloc(n);
    if (deep) {
        memset(deep, '[', n);
        clock_t t0 = clock();
        bad_n(deep, n, LF_ERR_FORMAT, "JSON nesting deeper than 64 levels at byte 64");
        double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
        CHECK(secs < 0.5, "100000 '[' took %.3f s", secs);
        free(deep);
    }

    /* a wide document is fine: 100000 items in one array */
    lf_buf_init(&b);
    lf_buf_puts(&b, "[");
    for (int i = 0; i < 100000; i++) lf_buf_printf(&b, i ? ",%d" : "%d", i);
    lf_buf_puts(&b, "]");
    j = NULL;
    CHECK(!b.failed && lf_json_parse(b.data, b.len, &j, &e) == LF_OK, "wide array: %s", e.msg);
    CHECK(lf_json_len(j) == 100000 && lf_json_at(j, 99999)->integer == 99999, "wide array items");
    lf_json_free(j);
    lf_buf_free(&b);

    CHECK(lf_json_parse("1", 1, NULL, &e) == LF_ERR_ARG, "NULL out");
    CHECK(lf_json_parse(NULL, 3, &j, &e) == LF_ERR_ARG && j == NULL, "NULL text");
}

/* Writes v with the float writer and returns the text (static buffer). */
static const char *wfloat(double v, int as_double) {
    static char out[64];
    lf_buf b;
    lf_buf_init(&b);
    if (as_double) lf_buf_json_double(&b, v);
    else lf_buf_json_float(&b, v);
    snprintf(out, sizeof out, "%s", b.failed || !b.data ? "<failed>" : b.data);
    lf_buf_free(&b);
    return out;
}

static void test_writer(void) {
    lf_buf b;
    lf_buf_init(&b);
    lf_buf_puts(&b, "ab");
    lf_buf_append(&b, "cdef", 2);
    lf_buf_printf(&b, "-%d-%s-%zu", 7, "x", (size_t)12);
    CHECK(!b.failed && b.len == 11 && strcmp(b.data, "abcd-7-x-12") == 0, "buf: '%s'", b.data);
    lf_buf_free(&b);
    CHECK(b.data == NULL && b.len == 0, "freed");

    /* strings: escapes, UTF-8 kept, invalid bytes replaced, round trip */
    const char *s = "q\"b\\s/\n\r\t\b\f\x01\x1f caf\xC3\xA9 \xF0\x9F\x98\x80";
    lf_buf_init(&b);
    lf_buf_json_string(&b, s);
    CHECK(strcmp(b.data, "\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f caf\xC3\xA9 \xF0\x9F\x98\x80\"") == 0,
          "escaped: %s", b.data);
    lf_json *j = ok_parse(b.data);
    CHECK(j && strcmp(lf_json_str(j), s) == 0, "string round trip");
    lf_json_free(j);
    lf_buf_free(&b);
    lf_buf_init(&b);
    lf_buf_json_string(&b, "a\xFF\xC3z");
    lf_buf_puts(&b, " ");
    lf_buf_json_string(&b, NULL);
    CHECK(strcmp(b.data, "\"a\xEF\xBF\xBD\xEF\xBF\xBDz\" null") == 0, "invalid UTF-8 -> U+FFFD: %s", b.data);
    lf_buf_free(&b);

    /* numbers */
    CHECK(strcmp(wfloat(0.1f, 0), "0.1") == 0, "0.1f -> %s", wfloat(0.1f, 0));
    CHECK(strcmp(wfloat(0.1f, 1), "0.10000000149011612") == 0, "0.1f as double -> %s", wfloat(0.1f, 1));
    CHECK(strcmp(wfloat(0.1, 0), "0.1") == 0, "0.1 -> %s", wfloat(0.1, 0));
    CHECK(strcmp(wfloat(0.5, 0), "0.5") == 0, "0.5");
    CHECK(strcmp(wfloat(100, 0), "100") == 0, "100");
    CHECK(strcmp(wfloat(-0.0, 0), "-0") == 0, "-0");
    CHECK(strcmp(wfloat(1e-7f, 0), "1e-07") == 0, "1e-7f -> %s", wfloat(1e-7f, 0));
    /* "3.4028235e+38" would round to FLT_MAX as a float, but its double
     * value exceeds FLT_MAX: the exact double form is written instead */
    CHECK(strcmp(wfloat(FLT_MAX, 0), "3.4028234663852886e+38") == 0, "FLT_MAX -> %s", wfloat(FLT_MAX, 0));
    CHECK(strcmp(wfloat(-FLT_MAX, 1), "-3.4028234663852886e+38") == 0, "-FLT_MAX");
    CHECK(strcmp(wfloat(3.0e38f, 0), "3e+38") == 0, "3e38f -> %s", wfloat(3.0e38f, 0));
    CHECK(strcmp(wfloat(1.0 / 3.0, 0), "0.3333333333333333") == 0, "1/3 -> %s", wfloat(1.0 / 3, 0));
    CHECK(strcmp(wfloat(1.0f / 3.0f, 0), "0.33333334") == 0, "1/3f -> %s", wfloat(1.0f / 3, 0));
    CHECK(strcmp(wfloat(1e21, 1), "1e+21") == 0, "1e21");
    CHECK(strcmp(wfloat(123456789.0, 1), "123456789") == 0, "123456789");
    CHECK(strcmp(wfloat(1e300, 0), "1e+300") == 0, "1e300");
    CHECK(strcmp(wfloat(NAN, 0), "null") == 0 && strcmp(wfloat(INFINITY, 1), "null") == 0 &&
              strcmp(wfloat(-INFINITY, 0), "null") == 0,
          "non-finite -> null");
    CHECK(strcmp(wfloat(DBL_MAX, 1), "1.7976931348623157e+308") == 0, "DBL_MAX");
    CHECK(strcmp(wfloat(5e-324, 1), "5e-324") == 0, "min subnormal -> %s", wfloat(5e-324, 1));

    /* random round trips through the parser */
    lf_rng r;
    lf_rng_seed(&r, 42);
    int bad_f = 0, bad_d = 0;
    for (int i = 0; i < 2000; i++) {
        uint32_t u32 = (uint32_t)lf_rng_next(&r);
        float f;
        memcpy(&f, &u32, 4);
        uint64_t u64 = lf_rng_next(&r);
        double dv;
        memcpy(&dv, &u64, 8);
        if (isfinite(f)) {
            lf_json *jf = NULL;
            const char *t = wfloat(f, 0);
            double back;
            if (lf_json_parse(t, strlen(t), &jf, NULL) != LF_OK || !lf_json_num(jf, &back) ||
                (float)back != f)
                bad_f++;
            lf_json_free(jf);
        }
        if (isfinite(dv)) {
            lf_json *jd = NULL;
            const char *t = wfloat(dv, 1);
            double back;
            if (lf_json_parse(t, strlen(t), &jd, NULL) != LF_OK || !lf_json_num(jd, &back) || back != dv)
                bad_d++;
            lf_json_free(jd);
        }
    }
    CHECK(bad_f == 0, "%d floats did not round-trip", bad_f);
    CHECK(bad_d == 0, "%d doubles did not round-trip", bad_d);

    double v;
    CHECK(lf_strtod_c("2.5", &v) && v == 2.5, "lf_strtod_c");
    CHECK(!lf_strtod_c("2.5x", &v) && v == 0, "lf_strtod_c rejects junk");
}

static void test_locale(void) {
    char tmpl[] = "/tmp/lf_json_XXXXXX";
    const char *dir = mkdtemp(tmpl);
    if (!set_comma_locale(dir, LC_NUMERIC)) {
        CHECK_SKIP("no comma-decimal locale could be found or built (install the locales package)");
    } else {
        char probe[16];
        snprintf(probe, sizeof probe, "%.1f", 0.5);
        CHECK(strcmp(probe, "0,5") == 0, "the locale is active: %s", probe);
        CHECK(num_of("0.5") == 0.5, "0.5 under a comma locale");
        CHECK(num_of("-1.25e2") == -125.0, "-1.25e2 under a comma locale");
        CHECK(num_of("0.1") == 0.1, "0.1 under a comma locale");
        bad("0,5", "trailing data after the JSON value at byte 1");
        CHECK(strcmp(wfloat(0.5, 0), "0.5") == 0, "writer 0.5 -> %s", wfloat(0.5, 0));
        CHECK(strcmp(wfloat(0.1f, 0), "0.1") == 0, "writer 0.1f -> %s", wfloat(0.1f, 0));
        CHECK(strcmp(wfloat(1.0 / 3, 1), "0.3333333333333333") == 0, "writer 1/3");
        double v;
        CHECK(lf_strtod_c("2.5", &v) && v == 2.5, "lf_strtod_c under a comma locale");
        setlocale(LC_NUMERIC, "C");
    }
    if (dir) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    }
}

int main(void) {
    test_scalars();
    test_number_rejections();
    test_strings();
    test_containers();
    test_depth();
    test_writer();
    test_locale();
    return check_report("test_json");
}
