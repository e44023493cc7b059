/*
 * test_npy.c — the .npy readers (2-D float32 and N-dimensional) and
 * writers (src/io/npy_*.c), and the
 * bounded whole-file read every reader shares (src/io/file.c).
 *
 * Fixtures are built byte by byte here (magic, version, header length,
 * header text, raw data) so the test needs no Python: every dtype, both byte
 * orders, versions 1-3, Fortran order, and each malformed header / size the
 * reader must reject, with its exact status and a piece of its message.
 * The writers are checked by reading their files back bit for bit and by
 * looking at the header bytes numpy itself would write.
 */
#include "check.h"
#include "io/npy.h"

#include <dirent.h>
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------ fixtures */

/* Builds a .npy image: magic, version major.minor, header length (u16 for
 * major 1, u32 otherwise), the header text as given, then the data. */
static size_t build(unsigned char *out, unsigned major, unsigned minor, const char *header,
                    const void *data, size_t dlen) {
    size_t hl = strlen(header), p = 0;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = (unsigned char)minor;
    p = 8;
    if (major == 1) {
        out[p++] = (unsigned char)(hl & 0xff);
        out[p++] = (unsigned char)(hl >> 8);
    } else {
        for (int k = 0; k < 4; k++) out[p++] = (unsigned char)(hl >> (8 * k));
    }
    memcpy(out + p, header, hl);
    p += hl;
    if (dlen) memcpy(out + p, data, dlen);
    return p + dlen;
}

static unsigned char img[1 << 16];

/* Parses header + data built with version 1.0. */
static lf_status parse_v(unsigned major, const char *header, const void *data, size_t dlen,
                         lf_array *a, lf_err *e) {
    size_t n = build(img, major, 0, header, data, dlen);
    e->msg[0] = '\0';
    return lf_npy_parse(img, n, "t.npy", a, e);
}

static lf_status parse1(const char *header, const void *data, size_t dlen, lf_array *a, lf_err *e) {
    return parse_v(1, header, data, dlen, a, e);
}

static int contains(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

/* Expects a failure with status `want` and `sub` in the message. */
#define EXPECT_FAIL(call, want, sub)                                                        \
    do {                                                                                    \
        lf_array fa_ = {(float *)1, 9, 9, 9};                                               \
        lf_err fe_ = {{0}};                                                                 \
        lf_status fs_ = call(&fa_, &fe_);                                                   \
        CHECK(fs_ == (want), "status %d, want %d (msg: %s)", (int)fs_, (int)(want), fe_.msg); \
        CHECK(contains(fe_.msg, (sub)), "message '%s' lacks '%s'", fe_.msg, (sub));         \
        CHECK(fa_.data == NULL && fa_.rows == 0, "output not cleared on failure");          \
    } while (0)

/* Shorthand for a header with the usual keys. */
static char hbuf[4096];
static const char *hdr(const char *descr, const char *fortran, const char *shape) {
    snprintf(hbuf, sizeof hbuf, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }\n", descr,
             fortran, shape);
    return hbuf;
}

static void put_le(unsigned char *p, uint64_t v, size_t size) {
    for (size_t k = 0; k < size; k++) p[k] = (unsigned char)(v >> (8 * k));
}
static void put_be(unsigned char *p, uint64_t v, size_t size) {
    for (size_t k = 0; k < size; k++) p[k] = (unsigned char)(v >> (8 * (size - 1 - k)));
}
static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static uint64_t dbits(double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static const float F6[6] = {1.0f, -2.5f, 3.25f, 0.0f, 1e-3f, -7.0f};

/* --------------------------------------------------------------- reads */

static void test_versions_and_headers(void) {
    unsigned char d[24];
    for (int k = 0; k < 6; k++) put_le(d + 4 * k, fbits(F6[k]), 4);
    const char *headers[] = {
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }          \n",
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}\n",
        "{'shape': (2,3), 'fortran_order': False, 'descr': '<f4'}",
        "  {  'fortran_order' :False ,'shape':( 2 , 3 , ) ,'descr':'<f4' ,  }  \n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }\n",
    };
    for (unsigned major = 1; major <= 3; major++) {
        for (size_t h = 0; h < sizeof headers / sizeof *headers; h++) {
            lf_array a;
            lf_err e;
            lf_status st = parse_v(major, headers[h], d, sizeof d, &a, &e);
            CHECK(st == LF_OK, "v%u header %zu: %s", major, h, e.msg);
            if (st != LF_OK) continue;
            CHECK(a.rows == 2 && a.cols == 3 && a.is_integer == 0, "shape %zux%zu", a.rows, a.cols);
            CHECK(memcmp(a.data, F6, sizeof F6) == 0, "v%u header %zu values", major, h);
            lf_array_free(&a);
            CHECK(a.data == NULL && a.rows == 0, "free clears");
        }
    }
    lf_array_free(NULL);
}

static void test_float_dtypes(void) {
    lf_array a;
    lf_err e;
    unsigned char d[64];
    /* big-endian float32 */
    for (int k = 0; k < 6; k++) put_be(d + 4 * k, fbits(F6[k]), 4);
    CHECK(parse1(hdr(">f4", "False", "(3, 2)"), d, 24, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.rows == 3 && a.cols == 2 && memcmp(a.data, F6, sizeof F6) == 0, ">f4 values");
    lf_array_free(&a);
    /* native */
    memcpy(d, F6, sizeof F6);
    CHECK(parse1(hdr("=f4", "False", "(6,)"), d, 24, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.rows == 6 && a.cols == 1 && memcmp(a.data, F6, sizeof F6) == 0, "=f4 values");
    lf_array_free(&a);

    /* float64, both orders: rounded to nearest float */
    const double dv[4] = {0.1, -1e-300, 3.0, 1e30};
    const float want[4] = {0.1f, -0.0f, 3.0f, 1e30f};
    for (int big = 0; big <= 1; big++) {
        for (int k = 0; k < 4; k++) (big ? put_be : put_le)(d + 8 * k, dbits(dv[k]), 8);
        CHECK(parse1(hdr(big ? ">f8" : "<f8", "False", "(2, 2)"), d, 32, &a, &e) == LF_OK, "%s",
              e.msg);
        CHECK(a.rows == 2 && a.cols == 2 && !a.is_integer, "f8 shape");
        CHECK(memcmp(a.data, want, sizeof want) == 0, "f8 values %.9g %.9g %.9g %.9g", a.data[0],
              a.data[1], a.data[2], a.data[3]);
        CHECK(signbit(a.data[1]), "-1e-300 rounds to -0");
        lf_array_free(&a);
    }
    /* 3.40282356e38 (just below FLT_MAX + half an ulp) rounds to FLT_MAX;
     * the halfway point 3.4028235677973366e38 itself rounds to infinity */
    put_le(d, dbits(3.40282356e38), 8);
    CHECK(parse1(hdr("<f8", "False", "(1,)"), d, 8, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.data && a.data[0] == FLT_MAX, "near FLT_MAX");
    lf_array_free(&a);
    put_le(d, dbits(3.4028235677973366e38), 8);
    CHECK(parse1(hdr("<f8", "False", "(1,)"), d, 8, &a, &e) == LF_ERR_FORMAT, "halfway overflows");

    /* half: 1, -2, 0x3555, smallest subnormal, +inf, -0, 65504, NaN */
    const uint16_t hv[8] = {0x3C00, 0xC000, 0x3555, 0x0001, 0x7C00, 0x8000, 0x7BFF, 0x7E00};
    const float hw[7] = {1.0f, -2.0f, 0.333251953125f, 5.9604644775390625e-8f, INFINITY, -0.0f,
                         65504.0f};
    for (int big = 0; big <= 1; big++) {
        for (int k = 0; k < 8; k++) (big ? put_be : put_le)(d + 2 * k, hv[k], 2);
        CHECK(parse1(hdr(big ? ">f2" : "<f2", "False", "(8,)"), d, 16, &a, &e) == LF_OK, "%s", e.msg);
        CHECK(a.rows == 8 && a.cols == 1, "f2 shape");
        CHECK(memcmp(a.data, hw, sizeof hw) == 0, "f2 values %.9g %.9g %.9g %.9g", a.data[0],
              a.data[1], a.data[2], a.data[3]);
        CHECK(isnan(a.data[7]), "f2 NaN");
        lf_array_free(&a);
    }
}

static void test_integer_dtypes(void) {
    lf_array a;
    lf_err e;
    unsigned char d[64];
    static const struct {
        const char *descr;
        size_t size;
        int big;
        int64_t v[3];
    } cases[] = {
        {"|i1", 1, 0, {-128, 127, 0}},
        {"|u1", 1, 0, {255, 0, 7}},
        {"<i2", 2, 0, {-300, 32767, -32768}},
        {">i2", 2, 1, {-300, 32767, -32768}},
        {"<u2", 2, 0, {65535, 1, 0}},
        {">u2", 2, 1, {65535, 258, 0}},
        {"<i4", 4, 0, {-16777216, 16777216, -5}},
        {">i4", 4, 1, {-16777216, 16777216, -5}},
        {"=i4", 4, 0, {123456, -1, 2}},
        {"<u4", 4, 0, {16777216, 70000, 3}},
        {">u4", 4, 1, {16777216, 70000, 3}},
        {"<i8", 8, 0, {-16777216, 16777216, -1}},
        {">i8", 8, 1, {-16777216, 16777216, -1}},
        {"<u8", 8, 0, {16777216, 12345, 0}},
        {">u8", 8, 1, {16777216, 12345, 0}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        for (int k = 0; k < 3; k++)
            (cases[c].big ? put_be : put_le)(d + cases[c].size * (size_t)k, (uint64_t)cases[c].v[k],
                                             cases[c].size);
        lf_status st = parse1(hdr(cases[c].descr, "False", "(3,)"), d, 3 * cases[c].size, &a, &e);
        CHECK(st == LF_OK, "%s: %s", cases[c].descr, e.msg);
        if (st != LF_OK) continue;
        CHECK(a.rows == 3 && a.cols == 1 && a.is_integer == 1, "%s shape/is_integer", cases[c].descr);
        for (int k = 0; k < 3; k++)
            CHECK(a.data[k] == (float)cases[c].v[k], "%s [%d] = %.9g, want %lld", cases[c].descr, k,
                  a.data[k], (long long)cases[c].v[k]);
        lf_array_free(&a);
    }
    /* bool */
    const unsigned char b[4] = {0, 1, 1, 0};
    CHECK(parse1(hdr("|b1", "False", "(2, 2)"), b, 4, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.is_integer == 1 && a.data[0] == 0.0f && a.data[1] == 1.0f && a.data[2] == 1.0f &&
              a.data[3] == 0.0f,
          "bool values");
    lf_array_free(&a);
}

static void test_fortran_and_shapes(void) {
    lf_array a;
    lf_err e;
    unsigned char d[64];
    /* logical [[1,2,3],[4,5,6]] stored column by column */
    const float col_major[6] = {1, 4, 2, 5, 3, 6};
    const float row_major[6] = {1, 2, 3, 4, 5, 6};
    for (int k = 0; k < 6; k++) put_le(d + 4 * k, fbits(col_major[k]), 4);
    CHECK(parse1(hdr("<f4", "True", "(2, 3)"), d, 24, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.rows == 2 && a.cols == 3 && memcmp(a.data, row_major, sizeof row_major) == 0,
          "fortran 2x3: %g %g %g / %g %g %g", a.data[0], a.data[1], a.data[2], a.data[3], a.data[4],
          a.data[5]);
    lf_array_free(&a);
    /* fortran int16 big-endian 3x2: logical [[1,2],[3,4],[5,6]] */
    const int16_t cm[6] = {1, 3, 5, 2, 4, 6};
    for (int k = 0; k < 6; k++) put_be(d + 2 * k, (uint16_t)cm[k], 2);
    CHECK(parse1(hdr(">i2", "True", "(3, 2)"), d, 12, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.rows == 3 && a.cols == 2 && memcmp(a.data, row_major, sizeof row_major) == 0,
          "fortran >i2 3x2");
    lf_array_free(&a);
    /* an error in Fortran data names the logical element [row, col] */
    put_be(d + 2 * 3, 0, 2);
    memset(d, 0, 12);
    put_le(d + 4 * 3, 20000000, 4); /* storage index 3 = logical [1, 1] of 2x3 */
    CHECK(parse1(hdr("<i4", "True", "(2, 3)"), d, 24, &a, &e) == LF_ERR_FORMAT, "fortran big int");
    CHECK(contains(e.msg, "element [1, 1] of 't.npy' (20000000) exceeds 2^24"), "%s", e.msg);
    /* 1-D and empty shapes */
    for (int k = 0; k < 4; k++) put_le(d + 4 * k, fbits((float)k + 0.5f), 4);
    CHECK(parse1(hdr("<f4", "False", "(4,)"), d, 16, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.rows == 4 && a.cols == 1 && a.data[3] == 3.5f, "1-D");
    lf_array_free(&a);
    CHECK(parse1(hdr("<f4", "True", "(4,)"), d, 16, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.rows == 4 && a.cols == 1 && a.data[1] == 1.5f, "1-D fortran");
    lf_array_free(&a);
    CHECK(parse1(hdr("<f4", "False", "(0, 3)"), d, 0, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.rows == 0 && a.cols == 3 && a.data != NULL, "empty 0x3");
    lf_array_free(&a);
}

/* ---------------------------------------------------------- rejections */

static unsigned char rd[64];
static const char *rh; /* header used by the current rejection */
static size_t rdl;     /* data length */
static unsigned rmajor = 1;
static lf_status parse_r(lf_array *a, lf_err *e) { return parse_v(rmajor, rh, rd, rdl, a, e); }

#define REJECT(header, dlen, want, sub)                                                     \
    do {                                                                                    \
        rh = (header);                                                                      \
        rdl = (dlen);                                                                       \
        EXPECT_FAIL(parse_r, want, sub);                                                    \
    } while (0)

static size_t raw_len;
static lf_status parse_raw(lf_array *a, lf_err *e) { return lf_npy_parse(img, raw_len, "t.npy", a, e); }

static void test_rejections(void) {
    memset(rd, 0, sizeof rd);
    /* magic, version, header length */
    memcpy(img, "\x93NUMPX\x01\x00\x10\x00", 10);
    raw_len = 10;
    EXPECT_FAIL(parse_raw, LF_ERR_FORMAT, "'t.npy' is not a .npy file");
    memcpy(img, "PK\x03\x04", 4);
    raw_len = 4;
    EXPECT_FAIL(parse_raw, LF_ERR_FORMAT, "not a .npy file");
    raw_len = 0;
    EXPECT_FAIL(parse_raw, LF_ERR_FORMAT, "not a .npy file");
    raw_len = build(img, 4, 0, hdr("<f4", "False", "(1,)"), rd, 4);
    EXPECT_FAIL(parse_raw, LF_ERR_FORMAT, "unsupported .npy version 4.0");
    raw_len = build(img, 0, 9, hdr("<f4", "False", "(1,)"), rd, 4);
    EXPECT_FAIL(parse_raw, LF_ERR_FORMAT, "unsupported .npy version 0.9");
    raw_len = build(img, 1, 1, hdr("<f4", "False", "(1,)"), rd, 4);
    EXPECT_FAIL(parse_raw, LF_ERR_FORMAT, "unsupported .npy version 1.1");
    raw_len = build(img, 1, 0, hdr("<f4", "False", "(1,)"), rd, 0);
    raw_len = 9; /* cut inside the length field */
    EXPECT_FAIL(parse_raw, LF_ERR_FORMAT, "truncated inside the .npy header length");
    raw_len = build(img, 1, 0, hdr("<f4", "False", "(1,)"), rd, 0);
    img[8] = 0xff, img[9] = 0x7f; /* 32767 bytes claimed */
    EXPECT_FAIL(parse_raw, LF_ERR_FORMAT, "header beyond the end of the file");
    raw_len = build(img, 2, 0, hdr("<f4", "False", "(1,)"), rd, 4);
    put_le(img + 8, 0x200000, 4); /* 2 MiB */
    EXPECT_FAIL(parse_raw, LF_ERR_FORMAT, "is 2097152 bytes, more than the 1048576 allowed");
    put_le(img + 8, 0xffffffffu, 4);
    EXPECT_FAIL(parse_raw, LF_ERR_FORMAT, "more than the 1048576 allowed");

    /* header syntax and keys */
    REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", 4, LF_ERR_FORMAT,
           "unknown key 'extra'");
    REJECT("{'descr': '<f4', 'fortran_order': False}", 4, LF_ERR_FORMAT, "missing key 'shape'");
    REJECT("{'shape': (1,), 'fortran_order': False}", 4, LF_ERR_FORMAT, "missing key 'descr'");
    REJECT("{'descr': '<f4', 'shape': (1,)}", 4, LF_ERR_FORMAT, "missing key 'fortran_order'");
    REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'descr': '<f4'}", 4, LF_ERR_FORMAT,
           "duplicate key 'descr'");
    REJECT("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", 4, LF_ERR_FORMAT,
           "'fortran_order' must be True or False");
    REJECT("{'descr': '<f4', 'fortran_order': Falsey, 'shape': (1,)}", 4, LF_ERR_FORMAT,
           "'fortran_order' must be True or False");
    REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4, LF_ERR_FORMAT,
           "found the end of the header");
    REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", 4, LF_ERR_FORMAT,
           "unexpected text after the dict");
    REJECT("['descr', '<f4']", 4, LF_ERR_FORMAT, "expected '{'");
    REJECT("{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", 4, LF_ERR_FORMAT,
           "expected ',' or '}'");
    REJECT("{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}", 4, LF_ERR_FORMAT,
           "expected ':'");
    REJECT("{descr: '<f4', 'fortran_order': False, 'shape': (1,)}", 4, LF_ERR_FORMAT,
           "expected a quoted string");
    REJECT("{'descr: '<f4', 'fortran_order': False, 'shape': (1,)}", 4, LF_ERR_FORMAT,
           "malformed .npy header in 't.npy'");
    REJECT("{'descr': '<f4', 'fortran_order': False, 'shape': (1,),,}", 4, LF_ERR_FORMAT,
           "expected a quoted string");

    /* dtypes */
    static const char *bad_dtypes[] = {"|O", "<U4", "|S3", "<c8", "<c16", "<M8[ns]", "<m8[s]", "|V8",
                                       "<f16", "<f3", "|f4", "f4", "<b2", "<i3", "", "<f4 "};
    for (size_t k = 0; k < sizeof bad_dtypes / sizeof *bad_dtypes; k++) {
        char want[64];
        snprintf(want, sizeof want, "unsupported dtype '%s'", bad_dtypes[k]);
        REJECT(hdr(bad_dtypes[k], "False", "(1,)"), 4, LF_ERR_FORMAT, want);
    }
    REJECT("{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, 'shape': (1,)}", 8,
           LF_ERR_FORMAT, "unsupported dtype '[('a', '<f4'), ('b', '<i4')]'");
    REJECT("{'descr': 4, 'fortran_order': False, 'shape': (1,)}", 4, LF_ERR_FORMAT,
           "unsupported dtype '4'");

    /* shapes */
    REJECT(hdr("<f4", "False", "()"), 4, LF_ERR_FORMAT, "0-d array");
    REJECT(hdr("<f4", "False", "(1, 1, 1)"), 4, LF_ERR_FORMAT, "3-d array");
    REJECT(hdr("<f4", "False", "(-1,)"), 4, LF_ERR_FORMAT, "negative dimension");
    REJECT(hdr("<f4", "False", "(2, -3)"), 4, LF_ERR_FORMAT, "negative dimension");
    REJECT(hdr("<f4", "False", "(1.5,)"), 4, LF_ERR_FORMAT, "non-integer dimension");
    REJECT(hdr("<f4", "False", "(1e3,)"), 4, LF_ERR_FORMAT, "non-integer dimension");
    REJECT(hdr("<f4", "False", "('a',)"), 4, LF_ERR_FORMAT, "non-integer dimension");
    REJECT(hdr("<f4", "False", "(1)"), 4, LF_ERR_FORMAT, "'shape' must be a tuple");
    REJECT(hdr("<f4", "False", "[1]"), 4, LF_ERR_FORMAT, "'shape' must be a tuple");
    REJECT(hdr("<f4", "False", "(1 2)"), 4, LF_ERR_FORMAT, "expected ',' or ')'");
    REJECT(hdr("<f4", "False", "(99999999999999999999999,)"), 4, LF_ERR_FORMAT, "dimension too large");
    /* sizes overflowing 2^63 / 2^64 are refused before any allocation */
    REJECT(hdr("<f4", "False", "(4611686018427387904, 4)"), 4, LF_ERR_FORMAT,
           "(4611686018427387904, 4) of 't.npy' is too large");
    REJECT(hdr("<f8", "False", "(1099511627776, 1099511627776)"), 4, LF_ERR_FORMAT, "is too large");
    REJECT(hdr("<f4", "False", "(2305843009213693953,)"), 4, LF_ERR_FORMAT,
           "(2305843009213693953,) of 't.npy' is too large");
    REJECT(hdr("<f8", "False", "(18446744073709551615,)"), 4, LF_ERR_FORMAT, "is too large");
    /* huge but representable: compared with the bytes present, no allocation */
    REJECT(hdr("<f8", "False", "(1000000000000,)"), 16, LF_ERR_FORMAT,
           "truncated data: expected 8000000000000 bytes, found 16");
    REJECT(hdr("<f4", "False", "(2305843009213693952,)"), 16, LF_ERR_FORMAT,
           "truncated data: expected 9223372036854775808 bytes, found 16");
    REJECT(hdr("<f4", "False", "(2, 3)"), 20, LF_ERR_FORMAT,
           "truncated data: expected 24 bytes, found 20");
    REJECT(hdr("<f4", "False", "(2, 3)"), 0, LF_ERR_FORMAT, "truncated data: expected 24 bytes, found 0");
    REJECT(hdr("<f4", "False", "(2, 3)"), 27, LF_ERR_FORMAT, "3 trailing bytes after the data of 't.npy'");
    REJECT(hdr("<i8", "False", "(0,)"), 1, LF_ERR_FORMAT, "1 trailing bytes");
    rmajor = 3;
    REJECT(hdr("<f4", "False", "(2, 3)"), 25, LF_ERR_FORMAT, "1 trailing bytes");
    rmajor = 1;

    /* values that float32 cannot hold exactly */
    put_le(rd + 4, 16777217, 4);
    REJECT(hdr("<i4", "False", "(3,)"), 12, LF_ERR_FORMAT,
           "element [1] of 't.npy' (16777217) exceeds 2^24 in magnitude");
    memset(rd, 0, sizeof rd);
    put_le(rd + 8, (uint64_t)-16777217, 8);
    REJECT(hdr("<i8", "False", "(1, 2)"), 16, LF_ERR_FORMAT, "element [0, 1] of 't.npy' (-16777217)");
    memset(rd, 0xff, 8);
    REJECT(hdr("<u8", "False", "(1,)"), 8, LF_ERR_FORMAT, "(18446744073709551615) exceeds 2^24");
    REJECT(hdr("<u4", "False", "(1, 1)"), 4, LF_ERR_FORMAT, "element [0, 0] of 't.npy' (4294967295)");
    memset(rd, 0, sizeof rd);
    rd[2] = 2;
    REJECT(hdr("|b1", "False", "(2, 2)"), 4, LF_ERR_FORMAT,
           "element [1, 0] of 't.npy' is not a valid bool (byte 2)");
    rd[2] = 0;
    put_le(rd, dbits(1e39), 8);
    REJECT(hdr("<f8", "False", "(1,)"), 8, LF_ERR_FORMAT, "element [0] of 't.npy' (1e+39) overflows float32");
    put_le(rd, dbits(-3.5e38), 8);
    REJECT(hdr("<f8", "False", "(1,)"), 8, LF_ERR_FORMAT, "overflows float32");
    memset(rd, 0, sizeof rd);
}

/* ---------------------------------------------------------------- files */

static char dir[64];

static char *tpath(const char *name) {
    static char p[4][sizeof dir + 260];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static unsigned char buf[1 << 20];
    *n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static size_t dir_entries(void) {
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static const char *read_path;
static lf_status read_r(lf_array *a, lf_err *e) { return lf_npy_read(read_path, a, e); }

static void test_writer(void) {
    lf_err e = {{0}};
    lf_array a;
    float v[8] = {0.1f, -0.0f, 1e-45f, INFINITY, -INFINITY, FLT_MAX, 0.0f, 1.0f / 3.0f};
    uint32_t nan_bits = 0x7fc00123u;
    memcpy(&v[6], &nan_bits, 4);
    const char *p = tpath("m.npy");
    CHECK(lf_npy_write(p, v, 2, 4, 0, &e) == LF_OK, "%s", e.msg);
    size_t n = 0;
    unsigned char *b = slurp(p, &n);
    CHECK(b != NULL, "file written");
    if (b) {
        size_t off = 10 + (size_t)(b[8] | b[9] << 8);
        CHECK(memcmp(b, "\x93NUMPY\x01\x00", 8) == 0, "magic + version 1.0");
        CHECK(off % 64 == 0 && off == 128, "data offset %zu", off);
        const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }";
        CHECK(memcmp(b + 10, want, strlen(want)) == 0, "header text '%.60s'", (const char *)b + 10);
        CHECK(b[off - 1] == '\n' && b[off - 2] == ' ', "header padded with spaces and '\\n'");
        CHECK(n == off + sizeof v, "file size %zu", n);
        CHECK(b[off] == 0xcd && b[off + 1] == 0xcc && b[off + 2] == 0xcc && b[off + 3] == 0x3d,
              "0.1f stored little-endian");
    }
    CHECK(lf_npy_read(p, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.rows == 2 && a.cols == 4 && !a.is_integer && memcmp(a.data, v, sizeof v) == 0,
          "round trip bit-identical");
    lf_array_free(&a);

    /* a larger matrix crosses the writer's internal chunks */
    size_t rows = 1000, cols = 37;
    float *big = malloc(rows * cols * sizeof *big);
    for (size_t k = 0; k < rows * cols; k++) big[k] = (float)k * 0.37f - 5000.0f;
    CHECK(lf_npy_write(tpath("big.npy"), big, rows, cols, 0, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_read(tpath("big.npy"), &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.rows == rows && a.cols == cols && memcmp(a.data, big, rows * cols * 4) == 0, "big round trip");
    lf_array_free(&a);
    free(big);

    /* int64 vector */
    const int64_t iv[4] = {0, 5, -3, 16777216};
    p = tpath("i.npy");
    CHECK(lf_npy_write_1d(p, iv, 4, 0, &e) == LF_OK, "%s", e.msg);
    b = slurp(p, &n);
    if (b) {
        const char *want = "{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }";
        CHECK(memcmp(b + 10, want, strlen(want)) == 0, "1-D header '%.60s'", (const char *)b + 10);
        CHECK(n == 128 + 32, "1-D file size %zu", n);
        CHECK(b[128 + 16] == 0xfd && b[128 + 23] == 0xff, "-3 little-endian");
    }
    CHECK(lf_npy_read(p, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.rows == 4 && a.cols == 1 && a.is_integer == 1 && a.data[0] == 0.0f && a.data[1] == 5.0f &&
              a.data[2] == -3.0f && a.data[3] == 16777216.0f,
          "1-D values");
    lf_array_free(&a);
    CHECK(lf_npy_write_1d(tpath("empty.npy"), NULL, 0, 0, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_read(tpath("empty.npy"), &a, &e) == LF_OK && a.rows == 0 && a.cols == 1, "%s", e.msg);
    lf_array_free(&a);

    /* streaming writer */
    lf_npy_writer w;
    const float r6[6] = {1, 2, 3, 4, 5, 6};
    p = tpath("s.npy");
    CHECK(lf_npy_writer_open(&w, p, 3, 2, 0, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_writer_rows(&w, r6, 2, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_writer_rows(&w, r6 + 4, 0, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_writer_rows(&w, r6 + 4, 1, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_writer_commit(&w, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_read(p, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.rows == 3 && a.cols == 2 && memcmp(a.data, r6, sizeof r6) == 0, "streamed values");
    lf_array_free(&a);

    size_t before = dir_entries();
    p = tpath("few.npy");
    CHECK(lf_npy_writer_open(&w, p, 3, 2, 0, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_writer_rows(&w, r6, 1, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_writer_commit(&w, &e) == LF_ERR_SHAPE, "too few rows");
    CHECK(contains(e.msg, "only 1 of the 3 declared rows were written to"), "%s", e.msg);
    CHECK(access(p, F_OK) != 0, "nothing left after a short commit");

    p = tpath("many.npy");
    CHECK(lf_npy_writer_open(&w, p, 2, 2, 0, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_writer_rows(&w, r6, 3, &e) == LF_ERR_SHAPE, "too many rows");
    CHECK(contains(e.msg, "declared with 2 rows: appending 3 rows after 0 exceeds it"), "%s", e.msg);
    CHECK(lf_npy_writer_rows(&w, r6, 1, &e) == LF_ERR_SHAPE, "sticky");
    CHECK(lf_npy_writer_commit(&w, &e) == LF_ERR_SHAPE, "commit after overflow");
    CHECK(access(p, F_OK) != 0, "nothing left after a refused commit");

    CHECK(lf_npy_writer_open(&w, tpath("ab.npy"), 2, 2, 0, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_writer_rows(&w, r6, 1, &e) == LF_OK, "%s", e.msg);
    lf_npy_writer_abort(&w);
    lf_npy_writer_abort(&w); /* twice is safe */
    CHECK(dir_entries() == before, "no temporary files left (%zu entries, want %zu)", dir_entries(), before);
    CHECK(lf_npy_writer_commit(&w, &e) == LF_ERR_STATE, "commit after abort");

    CHECK(lf_npy_write(tpath("s.npy"), NULL, 2, 2, 0, &e) == LF_ERR_ARG, "NULL data");
    CHECK(lf_npy_write(tpath("o.npy"), r6, SIZE_MAX / 2, 3, 0, &e) == LF_ERR_ARG, "overflowing shape");
    CHECK(contains(e.msg, "is too large to write"), "%s", e.msg);
    CHECK(lf_npy_write("/nonexistent-folder-lf/x.npy", r6, 1, 1, 0, &e) == LF_ERR_IO, "bad folder");
    CHECK(contains(e.msg, "/nonexistent-folder-lf/x.npy"), "%s", e.msg);
    CHECK(dir_entries() == before, "no temporary files left");

    /* reading files: missing, folder, bad content (the message names the path) */
    read_path = tpath("missing.npy");
    EXPECT_FAIL(read_r, LF_ERR_IO, "missing.npy");
    read_path = dir;
    EXPECT_FAIL(read_r, LF_ERR_IO, "is a folder");
    p = tpath("bad.npy");
    FILE *f = fopen(p, "wb");
    fputs("a,b\n1,2\n", f);
    fclose(f);
    read_path = p;
    EXPECT_FAIL(read_r, LF_ERR_FORMAT, "bad.npy' is not a .npy file");
    unsigned char t[256];
    size_t tn = build(t, 1, 0, hdr("<f4", "False", "(3,)"), rd, 8);
    f = fopen(p, "wb");
    fwrite(t, 1, tn, f);
    fclose(f);
    EXPECT_FAIL(read_r, LF_ERR_FORMAT, "truncated data: expected 12 bytes, found 8 in '");
}

/* the streaming reader gives the same values as the whole-file reader,
 * chunk by chunk, for native and converted dtypes; Fortran order and
 * damaged files are refused at open */
static void write_file(const char *path, const unsigned char *b, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
}

static void test_streaming_reader(void) {
    lf_err e;
    static float big[1000 * 7];
    for (size_t i = 0; i < 1000 * 7; i++) big[i] = (float)i * 0.25f - 100.0f;
    CHECK(lf_npy_write(tpath("s.npy"), big, 1000, 7, 0, &e) == LF_OK, "%s", e.msg);
    lf_npy_reader r;
    CHECK(lf_npy_reader_open(&r, tpath("s.npy"), 0, &e) == LF_OK && r.rows == 1000 && r.cols == 7, "open: %s",
          e.msg);
    static float got[1000 * 7];
    size_t done = 0;
    while (done < 1000) {
        size_t k = 1000 - done < 301 ? 1000 - done : 301;
        CHECK(lf_npy_reader_rows(&r, got + done * 7, k, &e) == LF_OK, "rows: %s", e.msg);
        done += k;
    }
    CHECK(memcmp(got, big, sizeof big) == 0, "streamed rows differ");
    CHECK(lf_npy_reader_rows(&r, got, 1, &e) == LF_ERR_SHAPE && contains(e.msg, "has 1000 rows, 1 asked from row 1000"),
          "past the end: %s", e.msg);
    lf_npy_reader_close(&r);
    lf_npy_reader_close(&r); /* twice is fine */
    /* big-endian float64, converted in chunks */
    unsigned char data[6 * 8];
    for (int k = 0; k < 6; k++) put_be(data + 8 * k, dbits((double)F6[k]), 8);
    size_t n = build(img, 1, 0, hdr(">f8", "False", "(3, 2)"), data, sizeof data);
    write_file(tpath("be.npy"), img, n);
    CHECK(lf_npy_reader_open(&r, tpath("be.npy"), 0, &e) == LF_OK, "open be: %s", e.msg);
    float six[6];
    CHECK(lf_npy_reader_rows(&r, six, 2, &e) == LF_OK && lf_npy_reader_rows(&r, six + 4, 1, &e) == LF_OK,
          "rows be: %s", e.msg);
    CHECK(memcmp(six, F6, sizeof six) == 0, "big-endian float64 streamed wrongly");
    lf_npy_reader_close(&r);
    /* Fortran order with 2 columns: refused; truncated data: refused */
    n = build(img, 1, 0, hdr("<f4", "True", "(3, 2)"), F6, sizeof F6);
    write_file(tpath("f.npy"), img, n);
    CHECK(lf_npy_reader_open(&r, tpath("f.npy"), 0, &e) == LF_ERR_ARG && contains(e.msg, "Fortran order"), "%s",
          e.msg);
    n = build(img, 1, 0, hdr("<f4", "False", "(3, 2)"), F6, sizeof F6 - 4);
    write_file(tpath("t.npy"), img, n);
    CHECK(lf_npy_reader_open(&r, tpath("t.npy"), 0, &e) == LF_ERR_FORMAT &&
              contains(e.msg, "truncated data: expected 24 bytes, found 20"),
          "%s", e.msg);
    CHECK(lf_npy_reader_open(&r, tpath("missing.npy"), 0, &e) == LF_ERR_IO, "missing file");
    /* a header length beyond the end of the file: what the file holds after the prefix is counted */
    n = build(img, 1, 0, hdr("<f4", "False", "(3, 2)"), F6, sizeof F6);
    img[8] = 0x88, img[9] = 0x13; /* 5000 */
    write_file(tpath("h.npy"), img, n);
    char want[96];
    snprintf(want, sizeof want, "claims 5000 bytes but only %zu follow: header beyond the end of the file", n - 10);
    CHECK(lf_npy_reader_open(&r, tpath("h.npy"), 0, &e) == LF_ERR_FORMAT && contains(e.msg, want), "%s", e.msg);
    unlink(tpath("s.npy")), unlink(tpath("be.npy")), unlink(tpath("f.npy")), unlink(tpath("t.npy"));
    unlink(tpath("h.npy"));
}

/* the mapped reader (lf_npy_reader_next without a copy) and the read()
 * reader give the same rows; a misaligned data offset or LF_NPY_NO_MMAP
 * stays on read(); a file that shrinks while mapped is an error, not a
 * crash; LF_WRITE_NO_FSYNC writes the same bytes */
static void test_mapped_reader(void) {
    lf_err e;
    enum { R = 5000, K = 3 };
    static float big[R * K];
    for (size_t i = 0; i < R * K; i++) big[i] = (float)i * 0.5f - 7.0f;
    CHECK(lf_npy_write(tpath("m.npy"), big, R, K, 0, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_write(tpath("m2.npy"), big, R, K, LF_WRITE_NO_FSYNC, &e) == LF_OK, "%s", e.msg);
    unsigned char *b1 = NULL, *b2 = NULL;
    size_t n1 = 0, n2 = 0;
    CHECK(lf_io_read_file(tpath("m.npy"), &b1, &n1, &e) == LF_OK && lf_io_read_file(tpath("m2.npy"), &b2, &n2, &e) == LF_OK &&
              n1 == n2 && memcmp(b1, b2, n1) == 0,
          "--no-fsync writes other bytes");
    LF_FREE(b1), LF_FREE(b2);
    CHECK(lf_npy_write(tpath("m3.npy"), big, R, K, 8u, &e) == LF_ERR_ARG && contains(e.msg, "unknown write flags"),
          "unknown write flag: %s", e.msg);
    lf_npy_reader rm, rr;
    CHECK(lf_npy_reader_open(&rm, tpath("m.npy"), 0, &e) == LF_OK && rm.mapped == 1, "mapped open: %s", e.msg);
    CHECK(lf_npy_reader_open(&rr, tpath("m.npy"), LF_NPY_NO_MMAP, &e) == LF_OK && rr.mapped == 0, "read open: %s",
          e.msg);
    size_t done = 0;
    int same = 1;
    while (done < R) {
        size_t k = R - done < 1777 ? R - done : 1777;
        const float *a = NULL, *b = NULL;
        CHECK(lf_npy_reader_next(&rm, k, &a, &e) == LF_OK && a, "next mapped: %s", e.msg);
        CHECK(lf_npy_reader_next(&rr, k, &b, &e) == LF_OK && b, "next read: %s", e.msg);
        if (!a || !b) break;
        same &= memcmp(a, b, k * K * sizeof *a) == 0 && memcmp(a, big + done * K, k * K * sizeof *a) == 0;
        done += k;
    }
    CHECK(same && done == R, "mapped and read rows differ");
    const float *none = big;
    CHECK(lf_npy_reader_next(&rm, 1, &none, &e) == LF_ERR_SHAPE && none == NULL, "past the end (mapped)");
    lf_npy_reader_close(&rm), lf_npy_reader_close(&rr);
    CHECK(lf_npy_reader_open(&rr, tpath("m.npy"), 2u, &e) == LF_ERR_ARG, "unknown reader flag");
    /* version 2.0 header of odd length: data at an offset that is not a
     * multiple of 4, read() instead of a map, same values */
    unsigned char img2[256];
    size_t hl = 0;
    const char *h = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }\n";
    memcpy(img2, "\x93NUMPY\x02\x00", 8);
    hl = strlen(h) + 1; /* one more space: 12 + hl is odd */
    img2[8] = (unsigned char)hl, img2[9] = img2[10] = img2[11] = 0;
    memcpy(img2 + 12, h, hl - 2);
    img2[12 + hl - 2] = ' ', img2[12 + hl - 1] = '\n';
    memcpy(img2 + 12 + hl, F6, sizeof F6);
    write_file(tpath("odd.npy"), img2, 12 + hl + sizeof F6);
    CHECK((12 + hl) % 4 != 0, "the test file is aligned");
    CHECK(lf_npy_reader_open(&rm, tpath("odd.npy"), 0, &e) == LF_OK && rm.mapped == 0, "odd open: %s", e.msg);
    const float *six = NULL;
    CHECK(lf_npy_reader_next(&rm, 3, &six, &e) == LF_OK && six && memcmp(six, F6, sizeof F6) == 0, "odd rows: %s",
          e.msg);
    lf_npy_reader_close(&rm);
    /* shrinking under the map: the size check before each chunk */
    CHECK(lf_npy_reader_open(&rm, tpath("m.npy"), 0, &e) == LF_OK && rm.mapped, "open: %s", e.msg);
    const float *a = NULL;
    CHECK(lf_npy_reader_next(&rm, 10, &a, &e) == LF_OK, "first rows: %s", e.msg);
    CHECK(truncate(tpath("m.npy"), 1000) == 0, "truncate");
    CHECK(lf_npy_reader_next(&rm, 10, &a, &e) == LF_ERR_IO && contains(e.msg, "became shorter"), "shrunk: %s", e.msg);
    float tmp[30];
    CHECK(lf_npy_reader_rows(&rm, tmp, 10, &e) == LF_ERR_IO && contains(e.msg, "became shorter"), "shrunk: %s", e.msg);
    lf_npy_reader_close(&rm);
    unlink(tpath("m.npy")), unlink(tpath("m2.npy")), unlink(tpath("odd.npy"));
}

/* reading and writing by position (the threads of `latefuse predict`):
 * lf_npy_reader_at gives the rows wherever the reader stands, mapped, on
 * read() and converted; lf_npy_reader_release in any order keeps the rows
 * readable; the positional writers fill a file out of order, refuse rows
 * beyond the shape, and commit only when every row came; finish then commit
 * of two files */
static void test_positional(void) {
    lf_err e;
    enum { R = 3000, K = 5 };
    static float big[R * K];
    for (size_t i = 0; i < R * K; i++) big[i] = (float)i * 0.125f - 3.0f;
    CHECK(lf_npy_write(tpath("p.npy"), big, R, K, 0, &e) == LF_OK, "%s", e.msg);
    unsigned char data[6 * 8];
    for (int k = 0; k < 6; k++) put_be(data + 8 * k, dbits((double)F6[k]), 8);
    size_t n = build(img, 1, 0, hdr(">f8", "False", "(3, 2)"), data, sizeof data);
    write_file(tpath("be.npy"), img, n);
    lf_npy_reader rm, rr, rb;
    CHECK(lf_npy_reader_open(&rm, tpath("p.npy"), 0, &e) == LF_OK && rm.mapped, "%s", e.msg);
    CHECK(lf_npy_reader_open(&rr, tpath("p.npy"), LF_NPY_NO_MMAP, &e) == LF_OK && !rr.mapped, "%s", e.msg);
    CHECK(lf_npy_reader_open(&rb, tpath("be.npy"), 0, &e) == LF_OK && !rb.mapped, "%s", e.msg);
    lf_npy_buf bm, br, bb;
    memset(&bm, 0, sizeof bm), memset(&br, 0, sizeof br), memset(&bb, 0, sizeof bb);
    const size_t starts[] = {2000, 0, 999, 1000, 2999, 1500};
    const size_t counts[] = {999, 999, 1, 500, 1, 500}; /* every row once */
    int same = 1;
    for (int i = 0; i < 6; i++) { /* out of order, each range released after use */
        const float *a = NULL, *b = NULL;
        CHECK(lf_npy_reader_at(&rm, starts[i], counts[i], &bm, &a, &e) == LF_OK && a, "at mapped: %s", e.msg);
        CHECK(lf_npy_reader_at(&rr, starts[i], counts[i], &br, &b, &e) == LF_OK && b, "at read: %s", e.msg);
        if (!a || !b) break;
        same &= memcmp(a, big + starts[i] * K, counts[i] * K * sizeof *a) == 0 &&
                memcmp(b, big + starts[i] * K, counts[i] * K * sizeof *b) == 0;
        lf_npy_reader_release(&rm, starts[i], counts[i]);
        lf_npy_reader_release(&rr, starts[i], counts[i]);
    }
    CHECK(same, "rows by position differ");
    const float *a = NULL;
    CHECK(lf_npy_reader_at(&rm, 0, R, &bm, &a, &e) == LF_OK && a && memcmp(a, big, sizeof big) == 0,
          "all rows again after their release: %s", e.msg);
    CHECK(lf_npy_reader_at(&rm, 2999, 2, &bm, &a, &e) == LF_ERR_SHAPE && !a &&
              contains(e.msg, "has 3000 rows, 2 asked from row 2999"),
          "past the end: %s", e.msg);
    CHECK(lf_npy_reader_at(&rb, 1, 2, &bb, &a, &e) == LF_OK && a && memcmp(a, F6 + 2, 4 * sizeof *a) == 0,
          "big-endian float64 by position: %s", e.msg);
    lf_npy_reader_close(&rm), lf_npy_reader_close(&rr), lf_npy_reader_close(&rb);
    CHECK(lf_npy_reader_at(&rm, 0, 1, &bm, &a, &e) == LF_ERR_STATE, "closed reader");
    lf_npy_buf_free(&bm), lf_npy_buf_free(&br), lf_npy_buf_free(&bb);
    lf_npy_buf_free(&bb); /* twice is safe */

    /* the writers by position: rows out of order give the appended bytes */
    size_t before = dir_entries();
    lf_npy_writer w, wi;
    static int64_t ids[R];
    for (size_t i = 0; i < R; i++) ids[i] = (int64_t)i * 7 - 1000;
    CHECK(lf_npy_writer_open(&w, tpath("q.npy"), R, K, 0, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_writer_open_i64(&wi, tpath("qi.npy"), R, 0, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_writer_positional(&w, &e) == LF_OK && lf_npy_writer_positional(&wi, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_writer_rows(&w, big, 1, &e) == LF_ERR_STATE, "append to a positional writer");
    CHECK(lf_npy_writer_rows_at(&wi, 0, big, 1, &e) == LF_ERR_ARG, "floats to the int64 writer");
    for (int i = 5; i >= 0; i--) {
        if (i == 3) continue; /* rows 1000..1499: last */
        CHECK(lf_npy_writer_rows_at(&w, starts[i], big + starts[i] * K, counts[i], &e) == LF_OK, "%s", e.msg);
        CHECK(lf_npy_writer_i64_at(&wi, starts[i], ids + starts[i], counts[i], &e) == LF_OK, "%s", e.msg);
    }
    CHECK(lf_npy_writer_finish(&w, &e) == LF_ERR_SHAPE && contains(e.msg, "only 2500 of the 3000 declared rows"),
          "finish with rows missing: %s", e.msg);
    CHECK(access(tpath("q.npy"), F_OK) != 0, "nothing left after a short finish");
    lf_npy_writer_abort(&wi);
    CHECK(dir_entries() == before, "no temporary files left");
    CHECK(lf_npy_writer_open(&w, tpath("q.npy"), R, K, 0, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_writer_open_i64(&wi, tpath("qi.npy"), R, LF_WRITE_NO_FSYNC, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_writer_positional(&w, &e) == LF_OK && lf_npy_writer_positional(&wi, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_writer_positional(&w, &e) == LF_ERR_STATE, "positional twice");
    for (int i = 5; i >= 0; i--) {
        CHECK(lf_npy_writer_rows_at(&w, starts[i], big + starts[i] * K, counts[i], &e) == LF_OK, "%s", e.msg);
        CHECK(lf_npy_writer_i64_at(&wi, starts[i], ids + starts[i], counts[i], &e) == LF_OK, "%s", e.msg);
    }
    CHECK(lf_npy_writer_finish(&w, &e) == LF_OK && lf_npy_writer_finish(&wi, &e) == LF_OK, "finish: %s", e.msg);
    CHECK(access(tpath("q.npy"), F_OK) != 0 && access(tpath("qi.npy"), F_OK) != 0, "finish renames nothing");
    CHECK(lf_npy_writer_commit(&w, &e) == LF_OK && lf_npy_writer_commit(&wi, &e) == LF_OK, "commit: %s", e.msg);
    unsigned char *b1 = NULL, *b2 = NULL;
    size_t n1 = 0, n2 = 0;
    CHECK(lf_io_read_file(tpath("p.npy"), &b1, &n1, &e) == LF_OK && lf_io_read_file(tpath("q.npy"), &b2, &n2, &e) == LF_OK &&
              n1 == n2 && memcmp(b1, b2, n1) == 0,
          "the positional writer's bytes differ from the appending writer's");
    LF_FREE(b1), LF_FREE(b2);
    CHECK(lf_npy_write_1d(tpath("pi.npy"), ids, R, 0, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_io_read_file(tpath("pi.npy"), &b1, &n1, &e) == LF_OK && lf_io_read_file(tpath("qi.npy"), &b2, &n2, &e) == LF_OK &&
              n1 == n2 && memcmp(b1, b2, n1) == 0,
          "the positional int64 writer's bytes differ from lf_npy_write_1d's");
    LF_FREE(b1), LF_FREE(b2);
    /* rows beyond the shape: refused, and commit then fails */
    CHECK(lf_npy_writer_open(&w, tpath("q2.npy"), 2, K, 0, &e) == LF_OK && lf_npy_writer_positional(&w, &e) == LF_OK,
          "%s", e.msg);
    CHECK(lf_npy_writer_rows_at(&w, 0, big, 2, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_npy_writer_rows_at(&w, 1, big, 2, &e) == LF_ERR_SHAPE && contains(e.msg, "rows 2 to 3 exceed it"), "%s",
          e.msg);
    CHECK(lf_npy_writer_commit(&w, &e) == LF_ERR_SHAPE && contains(e.msg, "failed earlier"), "%s", e.msg);
    CHECK(access(tpath("q2.npy"), F_OK) != 0, "nothing left after a refused commit");
    /* a folder as the target: refused at open */
    CHECK(lf_npy_writer_open(&w, dir, 2, K, 0, &e) == LF_ERR_IO && contains(e.msg, "it is a folder"), "%s", e.msg);
    unlink(tpath("p.npy")), unlink(tpath("be.npy")), unlink(tpath("q.npy")), unlink(tpath("qi.npy")),
        unlink(tpath("pi.npy"));
    CHECK(dir_entries() == before - 2, "no temporary files left (%zu entries)", dir_entries()); /* p.npy, be.npy gone */
}

/* the whole-file read every reader shares (src/io/file.c): exact bytes;
 * folders and devices refused, also through a symlink; a FIFO without a
 * writer neither hangs nor reads as an empty success; a pipe is read up
 * to the limit and refused beyond it, never truncated */
static void test_read_file(void) {
    lf_err e;
    unsigned char *b;
    size_t n;
    alarm(20); /* a hang fails the test (SIGALRM) instead of stalling it */
    unsigned char bytes[70000];
    for (size_t k = 0; k < sizeof bytes; k++) bytes[k] = (unsigned char)(k * 7 + 1);
    write_file(tpath("r.bin"), bytes, sizeof bytes);
    CHECK(lf_io_read_file(tpath("r.bin"), &b, &n, &e) == LF_OK && n == sizeof bytes &&
              memcmp(b, bytes, n) == 0 && b[n] == 0,
          "regular file: %s", e.msg);
    free(b);
    write_file(tpath("empty.bin"), bytes, 0);
    CHECK(lf_io_read_file(tpath("empty.bin"), &b, &n, &e) == LF_OK && n == 0 && b && b[0] == 0, "empty: %s",
          e.msg);
    free(b);
    char want[600];
    CHECK(lf_io_read_file(dir, &b, &n, &e) == LF_ERR_IO && !b && n == 0, "folder");
    snprintf(want, sizeof want, "cannot read '%s': it is a folder", dir);
    CHECK(strcmp(e.msg, want) == 0, "%s", e.msg);
    CHECK(lf_io_read_file("", &b, &n, &e) == LF_ERR_ARG, "empty path");

    /* a symlink to /dev/zero: refused by every reader, nothing read */
    CHECK(symlink("/dev/zero", tpath("zero.npy")) == 0, "symlink");
    snprintf(want, sizeof want, "cannot read '%s': it is a character device, not a regular file or a pipe",
             tpath("zero.npy"));
    CHECK(lf_io_read_file(tpath("zero.npy"), &b, &n, &e) == LF_ERR_IO && strcmp(e.msg, want) == 0, "%s", e.msg);
    lf_array a;
    CHECK(lf_npy_read(tpath("zero.npy"), &a, &e) == LF_ERR_IO && strcmp(e.msg, want) == 0, "%s", e.msg);
    lf_npy_reader r;
    CHECK(lf_npy_reader_open(&r, tpath("zero.npy"), 0, &e) == LF_ERR_IO && strcmp(e.msg, want) == 0, "%s", e.msg);

    /* a FIFO with no writer: an error at once */
    CHECK(mkfifo(tpath("f.npy"), 0600) == 0, "mkfifo");
    snprintf(want, sizeof want, "cannot read '%s': it is a pipe or FIFO and nothing was written to it",
             tpath("f.npy"));
    CHECK(lf_io_read_file(tpath("f.npy"), &b, &n, &e) == LF_ERR_IO && strcmp(e.msg, want) == 0, "%s", e.msg);
    snprintf(want, sizeof want, "cannot read '%s': it is a pipe or FIFO; .npy inputs must be regular files",
             tpath("f.npy"));
    CHECK(lf_npy_reader_open(&r, tpath("f.npy"), 0, &e) == LF_ERR_IO && strcmp(e.msg, want) == 0, "%s", e.msg);
    /* with a writer (opened before the read, told through `sync`): every
     * byte, across the buffer's growth */
    int sync[2];
    CHECK(pipe(sync) == 0, "pipe");
    int holder = open(tpath("f.npy"), O_RDONLY | O_NONBLOCK); /* lets the writer's open return */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(tpath("f.npy"), O_WRONLY);
        int ok = fd >= 0 && write(sync[1], "x", 1) == 1;
        for (size_t off = 0; ok && off < sizeof bytes;) {
            ssize_t w = write(fd, bytes + off, sizeof bytes - off);
            ok = w > 0;
            off += ok ? (size_t)w : 0;
        }
        _exit(ok && close(fd) == 0 ? 0 : 1);
    }
    char c;
    CHECK(holder >= 0 && pid > 0 && read(sync[0], &c, 1) == 1, "writer started");
    CHECK(lf_io_read_file(tpath("f.npy"), &b, &n, &e) == LF_OK && n == sizeof bytes && memcmp(b, bytes, n) == 0,
          "FIFO with a writer: %s (%zu bytes)", e.msg, n);
    free(b);
    close(holder), close(sync[0]), close(sync[1]);
    int status = -1;
    if (pid > 0) waitpid(pid, &status, 0);
    CHECK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer child");

    /* the limit on a pipe: exactly the limit is read, one byte more refused */
    for (size_t lim = 99; lim <= 100; lim++) {
        int p[2];
        CHECK(pipe(p) == 0 && write(p[1], bytes, 100) == 100, "pipe");
        close(p[1]);
        lf_status st = lf_io_read_fd(p[0], "p.csv", lim, &b, &n, &e);
        close(p[0]);
        if (lim == 100) {
            CHECK(st == LF_OK && n == 100 && memcmp(b, bytes, 100) == 0, "100 bytes at limit 100: %s", e.msg);
            free(b);
        } else {
            CHECK(st == LF_ERR_IO && !b &&
                      strcmp(e.msg, "cannot read 'p.csv': it is not a regular file and holds more than 99 "
                                    "bytes (save it to a file first)") == 0,
                  "100 bytes at limit 99: %s", e.msg);
        }
    }
    alarm(0);
    unlink(tpath("r.bin")), unlink(tpath("empty.bin")), unlink(tpath("zero.npy")), unlink(tpath("f.npy"));
}

/* ------------------------------------------------- N-dimensional reads */

static lf_status parse_nd(const char *header, const void *data, size_t dlen, lf_ndarray *a, lf_err *e) {
    size_t n = build(img, 1, 0, header, data, dlen);
    e->msg[0] = '\0';
    return lf_npy_parse_nd(img, n, "t.npy", a, e);
}

/* Expects lf_npy_parse_nd to fail with LF_ERR_FORMAT and exactly `want`,
 * leaving the output zeroed. */
static void nd_refused(const char *header, const void *data, size_t dlen, const char *want) {
    lf_ndarray a;
    memset(&a, 0x5a, sizeof a);
    lf_err e;
    lf_status st = parse_nd(header, data, dlen, &a, &e);
    CHECK(st == LF_ERR_FORMAT, "%s: status %d", header, (int)st);
    CHECK(strcmp(e.msg, want) == 0, "message '%s', want '%s'", e.msg, want);
    CHECK(a.data == NULL && a.rank == 0 && a.count == 0 && a.source_dtype[0] == '\0', "output not cleared");
}

static void test_nd(void) {
    lf_ndarray a;
    lf_err e;
    /* 4-D uint8 images (2, 2, 3, 2): the bytes as they are */
    unsigned char px[32];
    for (size_t k = 0; k < sizeof px; k++) px[k] = (unsigned char)(k * 11 + 3);
    CHECK(parse_nd(hdr("|u1", "False", "(2, 2, 3, 2)"), px, 24, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.dtype == LF_DTYPE_UINT8 && a.rank == 4 && a.shape[0] == 2 && a.shape[1] == 2 && a.shape[2] == 3 &&
              a.shape[3] == 2 && a.count == 24 && a.row_size == 12 && strcmp(a.source_dtype, "|u1") == 0,
          "u1 shape: rank %zu count %zu row %zu %s", a.rank, a.count, a.row_size, a.source_dtype);
    CHECK(a.data && memcmp(a.data, px, 24) == 0, "u1 values");
    lf_ndarray_free(&a);
    CHECK(a.data == NULL && a.rank == 0, "free clears");
    lf_ndarray_free(NULL);

    /* 3-D float32 (2, 1, 3); the shape beyond the rank is 1 */
    unsigned char f4[24];
    for (int k = 0; k < 6; k++) put_le(f4 + 4 * k, fbits(F6[k]), 4);
    CHECK(parse_nd(hdr("<f4", "False", "(2, 1, 3)"), f4, sizeof f4, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.dtype == LF_DTYPE_FLOAT32 && a.rank == 3 && a.shape[2] == 3 && a.shape[3] == 1 && a.row_size == 3 &&
              memcmp(a.data, F6, sizeof F6) == 0,
          "f4 3-D");
    lf_ndarray_free(&a);

    /* float64 rounded to float32; 1-D in Fortran order is C order */
    const double D3[3] = {0.1, -1e-30, 3.0e38};
    unsigned char f8[24];
    for (int k = 0; k < 3; k++) put_le(f8 + 8 * k, dbits(D3[k]), 8);
    CHECK(parse_nd(hdr("<f8", "True", "(3,)"), f8, sizeof f8, &a, &e) == LF_OK, "%s", e.msg);
    const float *fv = a.data;
    CHECK(a.dtype == LF_DTYPE_FLOAT32 && a.rank == 1 && a.count == 3 && a.row_size == 1 && fv &&
              fv[0] == (float)D3[0] && fv[1] == (float)D3[1] && fv[2] == (float)D3[2] &&
              strcmp(a.source_dtype, "<f8") == 0,
          "f8 rounded");
    lf_ndarray_free(&a);
    put_le(f8 + 16, dbits(-1e39), 8);
    nd_refused(hdr("<f8", "False", "(1, 3, 1)"), f8, sizeof f8, "element [0, 2, 0] of 't.npy' (-1e+39) overflows float32");

    /* int32 as it is, int64 narrowed to int32 within its range */
    const int64_t I4[4] = {INT32_MIN, -1, 0, INT32_MAX};
    unsigned char i4[16], i8[32];
    for (int k = 0; k < 4; k++) put_le(i4 + 4 * k, (uint64_t)I4[k], 4), put_le(i8 + 8 * k, (uint64_t)I4[k], 8);
    for (int w = 0; w < 2; w++) {
        CHECK(parse_nd(hdr(w ? "<i8" : "<i4", "False", "(2, 2)"), w ? i8 : i4, w ? 32 : 16, &a, &e) == LF_OK, "%s",
              e.msg);
        const int32_t *iv = a.data;
        CHECK(a.dtype == LF_DTYPE_INT32 && a.count == 4 && a.row_size == 2 && iv && iv[0] == INT32_MIN &&
                  iv[1] == -1 && iv[2] == 0 && iv[3] == INT32_MAX,
              "i%d values", w ? 8 : 4);
        lf_ndarray_free(&a);
    }
    put_le(i8 + 16, (uint64_t)INT32_MAX + 1, 8);
    nd_refused(hdr("<i8", "False", "(2, 1, 2)"), i8, sizeof i8,
               "element [1, 0, 0] of 't.npy' (2147483648) is outside the int32 range");
    put_le(i8 + 16, (uint64_t)((int64_t)INT32_MIN - 1), 8);
    nd_refused(hdr("<i8", "False", "(4,)"), i8, sizeof i8,
               "element [2] of 't.npy' (-2147483649) is outside the int32 range");

    /* empty arrays: a 0 first dimension keeps the row size */
    CHECK(parse_nd(hdr("|u1", "False", "(0, 64, 64, 3)"), NULL, 0, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.data && a.count == 0 && a.row_size == 12288 && a.shape[0] == 0 && a.shape[3] == 3, "empty images");
    lf_ndarray_free(&a);
    CHECK(parse_nd(hdr("<f4", "False", "(3, 0, 5)"), NULL, 0, &a, &e) == LF_OK && a.count == 0 && a.row_size == 0,
          "zero inner dimension: %s", e.msg);
    lf_ndarray_free(&a);

    /* what is refused, with the exact sentence */
    nd_refused(hdr("<f4", "True", "(2, 3)"), f4, sizeof f4,
               "'t.npy' is in Fortran order; N-dimensional arrays are read in C order only "
               "(numpy: np.ascontiguousarray(a))");
    nd_refused(hdr(">f4", "False", "(6,)"), f4, sizeof f4,
               "'t.npy' holds big-endian data ('>f4'); N-dimensional arrays are read little-endian only "
               "(numpy: a.astype(a.dtype.newbyteorder('<')))");
    static const char *const other[] = {"<f2", "|b1", "|i1", "<i2", "<u2", "<u4", "<u8"};
    for (size_t k = 0; k < sizeof other / sizeof *other; k++) {
        char want[200];
        snprintf(want, sizeof want,
                 "unsupported dtype '%s' in 't.npy' for an N-dimensional array (float32, float64, int32, int64 "
                 "or uint8 expected)",
                 other[k]);
        size_t size = (size_t)(other[k][2] - '0');
        nd_refused(hdr(other[k], "False", "(2,)"), i8, 2 * size, want);
    }
    nd_refused(hdr("<f4", "False", "()"), f4, 4, "'t.npy' holds a 0-d array (a scalar); 1-D to 4-D expected");
    nd_refused(hdr("|u1", "False", "(1, 1, 1, 1, 2)"), px, 2, "'t.npy' holds a 5-d array; 1-D to 4-D expected");
    nd_refused(hdr("|u1", "False", "(2, 2, 3, 2)"), px, 23, "truncated data: expected 24 bytes, found 23 in 't.npy'");
    nd_refused(hdr("|u1", "False", "(2, 2, 3, 2)"), px, 25, "1 trailing bytes after the data of 't.npy'");
    nd_refused(hdr("|u1", "False", "(1099511627776, 1099511627776, 1099511627776)"), px, 24,
               "the shape (1099511627776, 1099511627776, 1099511627776) of 't.npy' is too large");
    /* a 0 first dimension does not hide a row too large; 2^60 + 1 float64
     * elements are more than 2^63 bytes */
    nd_refused(hdr("<f4", "False", "(0, 4611686018427387904, 4)"), NULL, 0,
               "the shape (0, 4611686018427387904, 4) of 't.npy' is too large");
    nd_refused(hdr("<f8", "False", "(1152921504606846977,)"), NULL, 0,
               "the shape (1152921504606846977,) of 't.npy' is too large");
    nd_refused(hdr("<f8", "False", "(1152921504606846976,)"), NULL, 0,
               "truncated data: expected 9223372036854775808 bytes, found 0 in 't.npy'");
}

/* lf_ndarray_read: a file, and the failures of the public call. */
static void test_nd_file(void) {
    unsigned char px[24];
    for (size_t k = 0; k < sizeof px; k++) px[k] = (unsigned char)(255 - k);
    size_t n = build(img, 2, 0, hdr("|u1", "False", "(2, 2, 3, 2)"), px, sizeof px);
    write_file(tpath("nd.npy"), img, n);
    lf_ndarray a;
    char err[300] = "x";
    CHECK(lf_ndarray_read(tpath("nd.npy"), &a, err, sizeof err) == LF_OK && a.count == 24 && a.rank == 4 &&
              memcmp(a.data, px, 24) == 0,
          "read: %s", err);
    lf_typed_array x = {a.dtype, a.data}; /* the model calls' input, as it is */
    CHECK(x.dtype == LF_DTYPE_UINT8 && x.data == a.data && a.shape[0] * a.row_size == a.count, "typed view");
    lf_ndarray_free(&a);
    char want[600];
    snprintf(want, sizeof want, "cannot open '%s': No such file or directory", tpath("none.npy"));
    memset(&a, 0x5a, sizeof a);
    CHECK(lf_ndarray_read(tpath("none.npy"), &a, err, sizeof err) == LF_ERR_IO && strcmp(err, want) == 0 &&
              a.data == NULL && a.count == 0,
          "missing file: %s", err);
    CHECK(lf_ndarray_read(tpath("none.npy"), &a, NULL, 0) == LF_ERR_IO, "err may be NULL");
    CHECK(lf_ndarray_read("", &a, err, sizeof err) == LF_ERR_ARG && strcmp(err, "empty input path") == 0, "%s", err);
    CHECK(lf_ndarray_read(tpath("nd.npy"), NULL, err, sizeof err) == LF_ERR_ARG &&
              strcmp(err, "no array to read into") == 0,
          "%s", err);
    /* a message longer than err is cut, still terminated */
    write_file(tpath("nd.npy"), img, n - 1);
    CHECK(lf_ndarray_read(tpath("nd.npy"), &a, err, 10) == LF_ERR_FORMAT && strlen(err) == 9, "%s", err);
    unlink(tpath("nd.npy"));
}

static void cleanup(void) {
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) unlink(tpath(de->d_name));
    if (d) closedir(d);
    rmdir(dir);
}

int main(void) {
    test_versions_and_headers();
    test_float_dtypes();
    test_integer_dtypes();
    test_fortran_and_shapes();
    test_rejections();
    test_nd();
    strcpy(dir, "/tmp/lf_test_npy_XXXXXX");
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp failed");
        return check_report("test_npy");
    }
    test_writer();
    test_streaming_reader();
    test_mapped_reader();
    test_positional();
    test_read_file();
    test_nd_file();
    cleanup();
    return check_report("test_npy");
}
