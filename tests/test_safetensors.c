/*
 * test_safetensors.c — the safetensors reader and writer (io/safetensors.h):
 * a bit-exact round trip with awkward metadata, the byte layout checked by
 * hand, interoperability with an independent pure-Python reader/writer,
 * one test per validation rule (exact status and message), the writer's
 * argument checks, and truncated/corrupted inputs that must fail cleanly.
 */
#include "check.h"
#include "io/safetensors.h"

#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];

static void path_in(char *out, size_t cap, const char *name) { snprintf(out, cap, "%s/%s", tmpdir, name); }

/* 8-byte length + header + dlen data bytes (value i & 0xff at byte i). */
static unsigned char *make_raw(const char *header, size_t dlen, size_t *len) {
    size_t hl = strlen(header);
    *len = 8 + hl + dlen;
    unsigned char *b = malloc(*len);
    if (!b) return NULL;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, header, hl);
    for (size_t i = 0; i < dlen; i++) b[8 + hl + i] = (unsigned char)i;
    return b;
}

/* Parses a raw file made of header + dlen bytes; expects `want` and, on
 * failure, a message containing `sub`. */
static void expect_raw(const char *header, size_t dlen, lf_status want, const char *sub) {
    size_t len;
    unsigned char *b = make_raw(header, dlen, &len);
    lf_st_file f;
    lf_err e = {{0}};
    lf_status st = lf_st_parse(b, len, &f, &e);
    CHECK(st == want, "header %.80s: status %d, want %d (%s)", header, st, want, e.msg);
    if (want != LF_OK)
        CHECK(strstr(e.msg, sub) != NULL, "header %.80s: message '%s', want '%s'", header, e.msg, sub);
    CHECK(st != LF_OK || lf_st_count(&f) > 0 || dlen == 0, "parsed");
    lf_st_free(&f);
    free(b);
}

static void bad_raw(const char *header, size_t dlen, const char *sub) {
    expect_raw(header, dlen, LF_ERR_FORMAT, sub);
}

/* Raw bytes with an explicit 8-byte length field. */
static void bad_len_field(uint64_t n, size_t total, const char *sub) {
    unsigned char *b = calloc(1, total);
    for (int i = 0; i < 8 && i < (int)total; i++) b[i] = (unsigned char)(n >> (8 * i));
    lf_st_file f;
    lf_err e = {{0}};
    lf_status st = lf_st_parse(b, total, &f, &e);
    CHECK(st == LF_ERR_FORMAT, "length field %llu: status %d (%s)", (unsigned long long)n, st, e.msg);
    CHECK(strstr(e.msg, sub) != NULL, "length field %llu: '%s', want '%s'", (unsigned long long)n, e.msg, sub);
    CHECK(f.n_tensors == 0 && f.tensors == NULL && f.header == NULL, "output left empty");
    free(b);
}

static int same_bits(const float *a, const float *b, size_t n) { return n == 0 || memcmp(a, b, n * 4) == 0; }

static void test_round_trip(void) {
    float k[6] = {1.0f, -2.0f, 0.1f, FLT_MAX, -0.0f, 1e-45f};
    float bias[3] = {0.5f, -1e-30f, 3.0e38f};
    float scalar = 42.0f;
    lf_st_out ts[4] = {
        {"dense/kernel", k, 2, {2, 3}},
        {"dense.bias", bias, 1, {3}},
        {"scalar", &scalar, 0, {0}},
        {"empty \xC3\xA9", NULL, 2, {0, 5}},
    };
    const char *mk[] = {"format", "config", "tab\tkey"};
    const char *mv[] = {"pt", "{\"a\": \"q\\\"uote\"}\nline2 caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80",
                        "a\tb\x01\\"};
    char path[128];
    path_in(path, sizeof path, "rt.safetensors");
    lf_err e = {{0}};
    lf_status st = lf_st_write(path, ts, 4, mk, mv, 3, 0, &e);
    CHECK(st == LF_OK, "write: %s", e.msg);
    lf_st_file f;
    st = lf_st_read(path, &f, &e);
    CHECK(st == LF_OK, "read: %s", e.msg);
    if (st) return;
    CHECK(lf_st_count(&f) == 4, "4 tensors, got %zu", lf_st_count(&f));
    for (size_t i = 0; i < 4 && i < lf_st_count(&f); i++) {
        const lf_st_tensor *t = lf_st_at(&f, i);
        CHECK(strcmp(t->name, ts[i].name) == 0, "order: %s", t->name);
        CHECK(t == lf_st_find(&f, ts[i].name), "find %s", ts[i].name);
        CHECK(t->dtype == LF_ST_F32 && t->ndim == ts[i].ndim, "dtype/ndim of %s", t->name);
        size_t count = 1;
        for (size_t d = 0; d < t->ndim; d++) {
            CHECK(t->shape[d] == ts[i].shape[d], "shape of %s", t->name);
            count *= ts[i].shape[d];
        }
        CHECK(t->count == count && t->nbytes == 4 * count, "count of %s", t->name);
        float got[8];
        memset(got, 0x55, sizeof got);
        st = lf_st_tensor_f32(t, got, count, &e);
        CHECK(st == LF_OK, "convert %s: %s", t->name, e.msg);
        CHECK(same_bits(got, ts[i].data, count), "bits of %s", t->name);
    }
    CHECK(lf_st_find(&f, "nope") == NULL && lf_st_find(&f, "dense") == NULL && lf_st_at(&f, 4) == NULL,
          "absent tensors");
    CHECK(lf_st_metadata_count(&f) == 3, "3 metadata entries");
    for (size_t i = 0; i < 3; i++) {
        const char *v = lf_st_metadata(&f, mk[i]);
        CHECK(v && strcmp(v, mv[i]) == 0, "metadata %s = '%s'", mk[i], v ? v : "(null)");
        CHECK(strcmp(lf_st_metadata_key(&f, i), mk[i]) == 0 && strcmp(lf_st_metadata_value(&f, i), mv[i]) == 0,
              "metadata order");
    }
    CHECK(lf_st_metadata(&f, "missing") == NULL && lf_st_metadata_key(&f, 3) == NULL, "absent metadata");
    lf_st_free(&f);
    lf_st_free(&f); /* idempotent on a freed (zeroed) file */

    /* the file holds exactly what lf_st_serialize produces */
    unsigned char *mem = NULL;
    size_t mlen = 0;
    st = lf_st_serialize(ts, 4, mk, mv, 3, &mem, &mlen, &e);
    CHECK(st == LF_OK, "serialize: %s", e.msg);
    FILE *fp = fopen(path, "rb");
    unsigned char *disk = malloc(mlen + 16);
    size_t dl = fp ? fread(disk, 1, mlen + 16, fp) : 0;
    if (fp) fclose(fp);
    CHECK(dl == mlen && memcmp(disk, mem, mlen) == 0, "file bytes == serialized bytes (%zu vs %zu)", dl, mlen);
    free(disk);
    LF_FREE(mem);

    /* no metadata, no tensors: "{}" padded to 8 */
    st = lf_st_serialize(NULL, 0, NULL, NULL, 0, &mem, &mlen, &e);
    CHECK(st == LF_OK && mlen == 16 && memcmp(mem + 8, "{}      ", 8) == 0 && mem[0] == 8, "empty file");
    lf_st_file f2;
    CHECK(lf_st_parse(mem, mlen, &f2, &e) == LF_OK && lf_st_count(&f2) == 0 && lf_st_metadata_count(&f2) == 0,
          "empty file parses");
    lf_st_free(&f2);
    LF_FREE(mem);
}

static void test_layout(void) {
    float a[2] = {1.0f, 2.0f};
    float c[1] = {-0.5f};
    lf_st_out ts[2] = {{"a", a, 1, {2}}, {"c", c, 2, {1, 1}}};
    const char *mk[] = {"k"}, *mv[] = {"v"};
    unsigned char *b = NULL;
    size_t len = 0;
    lf_err e;
    CHECK(lf_st_serialize(ts, 2, mk, mv, 1, &b, &len, &e) == LF_OK, "serialize: %s", e.msg);
    if (!b) return;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | b[i];
    const char *want = "{\"__metadata__\":{\"k\":\"v\"},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                       "\"c\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[8,12]}}";
    size_t wl = strlen(want);
    CHECK(b[8] == '{', "header starts with '{'");
    CHECK((8 + n) % 8 == 0, "data start %llu is a multiple of 8", (unsigned long long)(8 + n));
    CHECK(n >= wl && n < wl + 8 && memcmp(b + 8, want, wl) == 0, "header text: %.*s", (int)n, (const char *)b + 8);
    int spaces = 1;
    for (size_t i = wl; i < n; i++) spaces &= b[8 + i] == ' ';
    CHECK(spaces, "padding is spaces");
    CHECK(len == 8 + n + 12, "total length %zu", len);
    static const unsigned char data[12] = {0, 0, 0x80, 0x3F, 0, 0, 0, 0x40, 0, 0, 0, 0xBF};
    CHECK(len == 8 + n + 12 && memcmp(b + 8 + n, data, 12) == 0, "little-endian F32 data");
    LF_FREE(b);
}

/* Writes with our writer, checks with a pure-Python reader; then reads a
 * file written by a pure-Python writer (F64/I64/F16, unsorted offsets). */
static void test_python_interop(void) {
    if (access("/usr/bin/python3", X_OK) != 0) {
        printf("notice: /usr/bin/python3 not found; interop test skipped\n");
        return;
    }
    float w[6] = {0.25f, -1.5f, 3.0f, 1e-20f, -0.0f, 7.0f};
    lf_st_out ts[2] = {{"layer.w", w, 2, {3, 2}}, {"b", w, 1, {1}}};
    const char *mk[] = {"note"}, *mv[] = {"he said \"hi\"\n\xC3\xA9"};
    char path[128], py[128], out2[128], cmd[512];
    path_in(path, sizeof path, "py.safetensors");
    path_in(py, sizeof py, "check.py");
    path_in(out2, sizeof out2, "from_py.safetensors");
    lf_err e;
    CHECK(lf_st_write(path, ts, 2, mk, mv, 1, 0, &e) == LF_OK, "write: %s", e.msg);
    FILE *f = fopen(py, "w");
    if (!f) return;
    fputs("import json, struct, sys\n"
          "raw = open(sys.argv[1], 'rb').read()\n"
          "n = struct.unpack('<Q', raw[:8])[0]\n"
          "assert (8 + n) % 8 == 0\n"
          "h = json.loads(raw[8:8 + n].decode('utf-8'))\n"
          "assert h['__metadata__'] == {'note': 'he said \"hi\"\\n\\u00e9'}, h\n"
          "data = raw[8 + n:]\n"
          "t = h['layer.w']\n"
          "assert t['dtype'] == 'F32' and t['shape'] == [3, 2], t\n"
          "b, e = t['data_offsets']\n"
          "v = struct.unpack('<6f', data[b:e])\n"
          "assert list(v) == [0.25, -1.5, 3.0, struct.unpack('<f', struct.pack('<f', 1e-20))[0], -0.0, 7.0], v\n"
          "assert h['b']['data_offsets'] == [24, 28] and len(data) == 28\n"
          "# a file written the reference way: sorted by dtype size, then name\n"
          "ts = [('z64', 'F64', [2], struct.pack('<2d', 1.5, -2.25)),\n"
          "      ('i', 'I64', [1], struct.pack('<q', -7)),\n"
          "      ('a32', 'F32', [2], struct.pack('<2f', 0.5, 4.0)),\n"
          "      ('h', 'F16', [3], b'\\x00\\x3c' * 3)]\n"
          "hdr, off, blob = {'__metadata__': {'format': 'pt'}}, 0, b''\n"
          "for name, dt, shape, by in ts:\n"
          "    hdr[name] = {'dtype': dt, 'shape': shape, 'data_offsets': [off, off + len(by)]}\n"
          "    off += len(by); blob += by\n"
          "hb = json.dumps(dict(sorted(hdr.items())), separators=(',', ':')).encode()\n"
          "hb += b' ' * ((8 - len(hb) % 8) % 8)\n"
          "open(sys.argv[2], 'wb').write(struct.pack('<Q', len(hb)) + hb + blob)\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s' '%s'", py, path, out2);
    int rc = system(cmd);
    CHECK(rc == 0, "python check failed (rc %d)", rc);
    if (rc != 0) return;
    lf_st_file sf;
    CHECK(lf_st_read(out2, &sf, &e) == LF_OK, "read python file: %s", e.msg);
    if (sf.tensors == NULL) return;
    CHECK(lf_st_count(&sf) == 4 && strcmp(lf_st_at(&sf, 0)->name, "a32") == 0, "python file order");
    CHECK(strcmp(lf_st_metadata(&sf, "format"), "pt") == 0, "python metadata");
    const lf_st_tensor *z = lf_st_find(&sf, "z64"), *i = lf_st_find(&sf, "i"), *h = lf_st_find(&sf, "h");
    const lf_st_tensor *a = lf_st_find(&sf, "a32");
    float got[2];
    CHECK(z && z->dtype == LF_ST_F64 && z->offset == 0 && z->nbytes == 16, "z64 entry");
    CHECK(z && lf_st_tensor_f32(z, got, 2, &e) == LF_OK && got[0] == 1.5f && got[1] == -2.25f, "F64 values");
    CHECK(a && a->offset == 24 && lf_st_tensor_f32(a, got, 2, &e) == LF_OK && got[0] == 0.5f && got[1] == 4.0f,
          "F32 values");
    CHECK(i && i->dtype == LF_ST_I64 && i->nbytes == 8, "I64 entry");
    CHECK(h && h->dtype == LF_ST_F16 && h->nbytes == 6 && h->count == 3, "F16 entry");
    CHECK(i && lf_st_tensor_f32(i, got, 1, &e) == LF_ERR_FORMAT &&
              strstr(e.msg, "tensor 'i' has dtype I64; only F32 and F64 convert to float"),
          "I64 does not convert: %s", e.msg);
    lf_st_free(&sf);
}

#define T(name, dt, shape, off) "\"" name "\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" off "}"

static void test_validation(void) {
    /* valid baselines */
    expect_raw("{" T("a", "F32", "[2]", "[0,8]") "}", 8, LF_OK, "");
    expect_raw("{}", 0, LF_OK, "");
    expect_raw("{\"__metadata__\":{}}", 0, LF_OK, "");
    expect_raw("  {" T("b", "F32", "[1]", "[4,8]") "," T("a", "F32", "[]", "[0,4]") "}   ", 8, LF_OK, "");
    expect_raw("{" T("z", "U8", "[0]", "[4,4]") "," T("a", "I32", "[1]", "[0,4]") "," T("y", "BOOL", "[3,0]",
                                                                                          "[0,0]") "}",
               4, LF_OK, "");

    /* lengths */
    bad_len_field(0, 5, "the data is 5 bytes long, shorter than the 8-byte header length field");
    bad_len_field(0, 0, "the data is 0 bytes long");
    bad_len_field(100000001ull, 64, "header length 100000001 exceeds the limit of 100000000 bytes");
    bad_len_field(1ull << 63, 64, "header length 9223372036854775808 exceeds the limit of 100000000 bytes");
    bad_len_field(UINT64_MAX, 64, "header length 18446744073709551615 exceeds the limit");
    bad_len_field(100, 20, "header length 100 exceeds the 12 bytes after the length field");
    bad_len_field(13, 20, "header length 13 exceeds the 12 bytes after the length field");
    bad_len_field(0, 8, "invalid header JSON: unexpected end of JSON input at byte 0");

    /* header JSON */
    bad_raw("{\"a\":", 0, "invalid header JSON: unexpected end of JSON input at byte 5");
    bad_raw("{\"a\":1}x", 0, "invalid header JSON: unexpected character 'x', trailing data");
    {
        char deep[200];
        memset(deep, '[', 100);
        deep[100] = 0;
        bad_raw(deep, 0, "invalid header JSON: JSON nesting deeper than 64 levels at byte 64");
    }
    bad_raw("[]", 0, "the header is not a JSON object");
    bad_raw("\"x\"", 0, "the header is not a JSON object");
    bad_raw("{" T("a", "F32", "[1]", "[0,4]") "," T("a", "F32", "[1]", "[4,8]") "}", 8,
            "invalid header JSON: duplicate key 'a' in JSON object at byte 54");
    bad_raw("{\"__metadata__\":[]}", 0, "__metadata__ is not a JSON object");
    bad_raw("{\"__metadata__\":{\"k\":\"v\",\"n\":1}}", 0, "__metadata__ value of key 'n' is not a string");
    bad_raw("{\"__metadata__\":{\"k\":null}}", 0, "__metadata__ value of key 'k' is not a string");

    /* tensor entries */
    bad_raw("{\"a\":[]}", 0, "tensor 'a': entry is not a JSON object");
    bad_raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[]}}", 0, "tensor 'a': missing field 'data_offsets'");
    bad_raw("{\"a\":{\"shape\":[],\"data_offsets\":[0,4]}}", 4, "tensor 'a': missing field 'dtype'");
    bad_raw("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "tensor 'a': missing field 'shape'");
    bad_raw("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"foo\":1}}", 4,
            "tensor 'a': unexpected field 'foo'");
    bad_raw("{" T("a", "F32", "[1]", "[0,4]") "," T("b\\u00e9", "F32", "[1]", "[4,8]") "," T("c", "F32", "[1]",
                                                                                               "[8,12]") "}",
            8, "tensor 'c': data_offsets end 12 is beyond the 8-byte data buffer");
    bad_raw("{\"a\":{\"dtype\":1,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a': dtype is not a string");
    bad_raw("{" T("a", "F128", "[1]", "[0,16]") "}", 16, "tensor 'a': unknown dtype 'F128'");
    bad_raw("{" T("a", "f32", "[1]", "[0,4]") "}", 4, "tensor 'a': unknown dtype 'f32'");
    bad_raw("{" T("a", "F32", "3", "[0,12]") "}", 12, "tensor 'a': shape is not an array");
    bad_raw("{" T("a", "F32", "[1,1,1,1,1,1,1,1,1]", "[0,4]") "}", 4,
            "tensor 'a': shape has 9 dimensions, more than 8");
    expect_raw("{" T("a", "F32", "[1,1,1,1,1,1,1,1]", "[0,4]") "}", 4, LF_OK, "");
    bad_raw("{" T("a", "F32", "[2,-1]", "[0,4]") "}", 4, "tensor 'a': shape[1] is not a non-negative integer");
    bad_raw("{" T("a", "F32", "[1.5]", "[0,4]") "}", 4, "tensor 'a': shape[0] is not a non-negative integer");
    bad_raw("{" T("a", "F32", "[1e0]", "[0,4]") "}", 4, "tensor 'a': shape[0] is not a non-negative integer");
    bad_raw("{" T("a", "F32", "[\"1\"]", "[0,4]") "}", 4, "tensor 'a': shape[0] is not a non-negative integer");
    bad_raw("{" T("a", "F32", "[18446744073709551616]", "[0,4]") "}", 4,
            "tensor 'a': shape[0] is not a non-negative integer");
    if (sizeof(size_t) == 8) {
        bad_raw("{" T("a", "U8", "[4294967296,4294967296]", "[0,0]") "}", 0,
                "tensor 'a': the element count of its shape overflows");
        bad_raw("{" T("a", "F32", "[4611686018427387904]", "[0,0]") "}", 0,
                "tensor 'a': the byte size of its shape overflows");
        bad_raw("{" T("a", "U8", "[0,4294967296,4294967296]", "[0,0]") "}", 0,
                "tensor 'a': the element count of its shape overflows");
    }
    bad_raw("{" T("a", "F32", "[1]", "4") "}", 4, "tensor 'a': data_offsets is not an array of two integers");
    bad_raw("{" T("a", "F32", "[1]", "[4]") "}", 4, "tensor 'a': data_offsets is not an array of two integers");
    bad_raw("{" T("a", "F32", "[1]", "[0,4,8]") "}", 4, "tensor 'a': data_offsets is not an array of two integers");
    bad_raw("{" T("a", "F32", "[1]", "[-4,0]") "}", 4, "tensor 'a': data_offsets are not two non-negative integers");
    bad_raw("{" T("a", "F32", "[1]", "[0,4.0]") "}", 4, "tensor 'a': data_offsets are not two non-negative integers");
    bad_raw("{" T("a", "F32", "[1]", "[8,4]") "}", 8, "tensor 'a': data_offsets begin 8 is after end 4");
    bad_raw("{" T("a", "F32", "[1]", "[0,8]") "}", 8,
            "tensor 'a': data_offsets span 8 bytes but 1 elements of F32 need 4");
    bad_raw("{" T("a", "BF16", "[2,3]", "[0,10]") "}", 10,
            "tensor 'a': data_offsets span 10 bytes but 6 elements of BF16 need 12");
    bad_raw("{" T("a", "F32", "[1]", "[4,8]") "}", 4, "tensor 'a': data_offsets end 8 is beyond the 4-byte data buffer");

    /* tiling */
    bad_raw("{" T("a", "F32", "[1]", "[4,8]") "}", 8,
            "bytes 0..4 of the data buffer belong to no tensor (a hole before tensor 'a')");
    bad_raw("{" T("a", "F32", "[1]", "[0,4]") "," T("b", "F32", "[1]", "[8,12]") "}", 12,
            "bytes 4..8 of the data buffer belong to no tensor (a hole before tensor 'b')");
    bad_raw("{" T("a", "F32", "[2]", "[0,8]") "," T("b", "F32", "[2]", "[4,12]") "}", 12,
            "tensor 'b' (bytes 4..12) overlaps tensor 'a' (bytes 0..8)");
    bad_raw("{" T("a", "F32", "[1]", "[0,4]") "," T("b", "F32", "[1]", "[0,4]") "}", 4,
            "tensor 'b' (bytes 0..4) overlaps tensor 'a' (bytes 0..4)");
    bad_raw("{" T("a", "F32", "[2]", "[0,8]") "," T("z", "U8", "[0]", "[4,4]") "}", 8,
            "tensor 'z' (bytes 4..4) overlaps tensor 'a' (bytes 0..8)");
    bad_raw("{" T("a", "F32", "[1]", "[0,4]") "}", 8, "the data buffer has 4 trailing bytes after the last tensor");
    bad_raw("{}", 3, "the data buffer has 3 trailing bytes after the last tensor");

    /* names */
    bad_raw("{" T("", "F32", "[1]", "[0,4]") "}", 4, "a tensor name is empty");
    {
        char name[300], hdr[600];
        memset(name, 'n', 256);
        name[256] = 0;
        snprintf(hdr, sizeof hdr, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", name);
        bad_raw(hdr, 4, "is 256 bytes long, over the 255-byte limit");
        name[255] = 0;
        snprintf(hdr, sizeof hdr, "{\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", name);
        expect_raw(hdr, 4, LF_OK, "");
    }

    /* every dtype parses and sizes */
    expect_raw("{" T("f64", "F64", "[1]", "[0,8]") "," T("f32", "F32", "[1]", "[8,12]") "," T("f16", "F16", "[1]",
                                                                                               "[12,14]") "," T("bf16", "BF16", "[1]", "[14,16]") "," T("i64", "I64", "[1]", "[16,24]") "," T("i32", "I32", "[1]", "[24,28]") "," T("i16", "I16", "[1]", "[28,30]") "," T("i8", "I8", "[1]", "[30,31]") "," T("u8", "U8", "[1]", "[31,32]") "," T("bool", "BOOL", "[1]", "[32,33]") "," T("u16", "U16", "[1]", "[33,35]") "," T("u32", "U32", "[1]", "[35,39]") "," T("u64", "U64", "[1]", "[39,47]") "," T("e4", "F8_E4M3", "[1]", "[47,48]") "," T("e5", "F8_E5M2", "[1]", "[48,49]") "}",
               49, LF_OK, "");
    CHECK(lf_st_dtype_size(LF_ST_BF16) == 2 && lf_st_dtype_size(LF_ST_I64) == 8 && lf_st_dtype_size(LF_ST_BOOL) == 1,
          "dtype sizes");
    CHECK(lf_st_dtype_parse("BF16") == LF_ST_BF16 && lf_st_dtype_parse("bf16") == -1 &&
              strcmp(lf_st_dtype_name(LF_ST_U8), "U8") == 0 && lf_st_dtype_name(LF_ST_NUM_DTYPES) == NULL,
          "dtype names");
}

static void test_conversion(void) {
    /* F64: 1.5, -2.25, 1e300, NaN; F32: 1, NaN */
    unsigned char data[48];
    double d[4] = {1.5, -2.25, 1e300, NAN};
    float f[2] = {1.0f, NAN};
    for (int i = 0; i < 4; i++) {
        uint64_t u;
        memcpy(&u, &d[i], 8);
        for (int k = 0; k < 8; k++) data[8 * i + k] = (unsigned char)(u >> (8 * k));
    }
    for (int i = 0; i < 2; i++) {
        uint32_t u;
        memcpy(&u, &f[i], 4);
        for (int k = 0; k < 4; k++) data[32 + 4 * i + k] = (unsigned char)(u >> (8 * k));
    }
    lf_st_tensor t = {0};
    t.name = "x";
    t.dtype = LF_ST_F64;
    t.ndim = 1;
    t.data = data + 1 - 1;
    float out[4];
    lf_err e;
    t.shape[0] = t.count = 2;
    t.nbytes = 16;
    CHECK(lf_st_tensor_f32(&t, out, 2, &e) == LF_OK && out[0] == 1.5f && out[1] == -2.25f, "F64 ok");
    CHECK(lf_st_tensor_f32(&t, out, 3, &e) == LF_ERR_SHAPE && strstr(e.msg, "tensor 'x' has 2 elements, not 3"),
          "count mismatch: %s", e.msg);
    t.shape[0] = t.count = 3;
    CHECK(lf_st_tensor_f32(&t, out, 3, &e) == LF_ERR_FORMAT &&
              strstr(e.msg, "tensor 'x' holds 1e+300 at element 2, beyond the float range"),
          "F64 beyond float: %s", e.msg);
    t.data = data + 8;
    CHECK(lf_st_tensor_f32(&t, out, 3, &e) == LF_ERR_FORMAT &&
              strstr(e.msg, "tensor 'x' holds 1e+300 at element 1"), "offset data: %s", e.msg);
    t.data = data + 16;
    t.shape[0] = t.count = 2;
    CHECK(lf_st_tensor_f32(&t, out, 2, &e) == LF_ERR_FORMAT, "status");
    t.data = data + 24;
    t.shape[0] = t.count = 1;
    CHECK(lf_st_tensor_f32(&t, out, 1, &e) == LF_ERR_FORMAT &&
              strstr(e.msg, "tensor 'x' holds a non-finite value at element 0"), "F64 NaN: %s", e.msg);
    t.dtype = LF_ST_F32;
    t.data = data + 32;
    t.shape[0] = t.count = 2;
    CHECK(lf_st_tensor_f32(&t, out, 2, &e) == LF_ERR_FORMAT &&
              strstr(e.msg, "tensor 'x' holds a non-finite value at element 1"), "F32 NaN: %s", e.msg);
    t.count = 1;
    CHECK(lf_st_tensor_f32(&t, out, 1, &e) == LF_OK && out[0] == 1.0f, "F32 ok");
    /* unaligned F32 source */
    unsigned char un[9] = {0xAA, 0, 0, 0xC0, 0x3F, 0, 0, 0x20, 0x41};
    t.data = un + 1;
    t.count = 2;
    CHECK(lf_st_tensor_f32(&t, out, 2, &e) == LF_OK && out[0] == 1.5f && out[1] == 10.0f, "unaligned F32");
    t.count = 0;
    CHECK(lf_st_tensor_f32(&t, NULL, 0, &e) == LF_OK, "empty tensor, NULL out");
    t.dtype = LF_ST_BF16;
    t.count = 1;
    CHECK(lf_st_tensor_f32(&t, out, 1, &e) == LF_ERR_FORMAT &&
              strstr(e.msg, "tensor 'x' has dtype BF16; only F32 and F64 convert to float"), "BF16: %s", e.msg);
}

static void test_files(void) {
    char path[128], msg_path[256];
    lf_st_file f;
    lf_err e;
    path_in(path, sizeof path, "missing.safetensors");
    CHECK(lf_st_read(path, &f, &e) == LF_ERR_IO, "missing file status");
    snprintf(msg_path, sizeof msg_path, "cannot open '%s': No such file or directory", path);
    CHECK(strstr(e.msg, msg_path) != NULL, "missing file message: %s", e.msg);
    CHECK(lf_st_read(tmpdir, &f, &e) == LF_ERR_IO && strstr(e.msg, "it is a folder"), "folder: %s", e.msg);

    path_in(path, sizeof path, "short.safetensors");
    FILE *fp = fopen(path, "wb");
    if (fp) {
        fwrite("\x05\0\0\0", 1, 4, fp);
        fclose(fp);
    }
    CHECK(lf_st_read(path, &f, &e) == LF_ERR_FORMAT, "short file status");
    snprintf(msg_path, sizeof msg_path, "'%s' is not a valid safetensors file: the data is 4 bytes long", path);
    CHECK(strstr(e.msg, msg_path) != NULL, "short file message: %s", e.msg);
    CHECK(f.tensors == NULL && f.owned == NULL, "nothing kept");

    /* writer argument errors: ARG, and no file (nor temporary) left */
    float v[4] = {1, 2, 3, 4}, nan4[2] = {1, NAN};
    char longname[300];
    memset(longname, 'x', 256);
    longname[256] = 0;
    struct {
        lf_st_out t[2];
        size_t n;
        lf_status want;
        const char *sub;
    } cases[] = {
        {{{"w", v, 1, {2}}, {"w", v, 1, {2}}}, 2, LF_ERR_ARG, "duplicate tensor name 'w'"},
        {{{"", v, 1, {2}}}, 1, LF_ERR_ARG, "tensor 0 has an empty name"},
        {{{"a", v, 1, {2}}, {NULL, v, 1, {2}}}, 2, LF_ERR_ARG, "tensor 1 has no name"},
        {{{longname, v, 1, {2}}}, 1, LF_ERR_ARG, "is 256 bytes long, over the 255-byte limit"},
        {{{"__metadata__", v, 1, {2}}}, 1, LF_ERR_ARG, "'__metadata__' is reserved"},
        {{{"bad\xC3", v, 1, {2}}}, 1, LF_ERR_ARG, "tensor name 'bad\\xc3' is not valid UTF-8"},
        {{{"a", v, 9, {1, 1, 1, 1, 1, 1, 1, 1}}}, 1, LF_ERR_ARG, "tensor 'a' has 9 dimensions, more than 8"},
        {{{"a", NULL, 1, {2}}}, 1, LF_ERR_ARG, "tensor 'a' has no data"},
        {{{"a", v, 3, {0, (size_t)1 << 40, (size_t)1 << 40}}}, 1, LF_ERR_ARG,
         "tensor 'a': the element count of its shape overflows"},
        {{{"a", nan4, 1, {2}}}, 1, LF_ERR_NUMERIC, "tensor 'a' holds a non-finite value at element 1"},
    };
    path_in(path, sizeof path, "bad.safetensors");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        e.msg[0] = 0;
        lf_status st = lf_st_write(path, cases[i].t, cases[i].n, NULL, NULL, 0, 0, &e);
        CHECK(st == cases[i].want && strstr(e.msg, cases[i].sub), "writer case %zu: %d '%s'", i, st, e.msg);
        unsigned char *b = (unsigned char *)1;
        size_t len = 7;
        st = lf_st_serialize(cases[i].t, cases[i].n, NULL, NULL, 0, &b, &len, &e);
        CHECK(st == cases[i].want && b == NULL && len == 0, "serialize case %zu", i);
    }
    CHECK(access(path, F_OK) != 0, "no file after failed writes");
    lf_st_out one = {"a", v, 1, {4}};
    const char *mk[] = {"k", "k"}, *mv[] = {"1", "2"}, *mnull[] = {"1", NULL}, *mbad[] = {"\xFF", "x"};
    CHECK(lf_st_write(path, &one, 1, mk, mv, 2, 0, &e) == LF_ERR_ARG && strstr(e.msg, "duplicate metadata key 'k'"),
          "dup meta: %s", e.msg);
    CHECK(lf_st_write(path, &one, 1, mk, mnull, 2, 0, &e) == LF_ERR_ARG && strstr(e.msg, "metadata entry 1 is NULL"),
          "NULL meta: %s", e.msg);
    CHECK(lf_st_write(path, &one, 1, mbad, mv, 1, 0, &e) == LF_ERR_ARG && strstr(e.msg, "is not valid UTF-8"),
          "bad meta: %s", e.msg);
    CHECK(lf_st_write(path, &one, 1, NULL, NULL, 1, 0, &e) == LF_ERR_ARG, "NULL meta lists");
    CHECK(access(path, F_OK) != 0, "still no file");
    path_in(path, sizeof path, "no/such/dir/x.safetensors");
    CHECK(lf_st_write(path, &one, 1, NULL, NULL, 0, 0, &e) == LF_ERR_IO && strstr(e.msg, "cannot create a temporary file"),
          "bad folder: %s", e.msg);

    /* an overwrite replaces the file atomically */
    path_in(path, sizeof path, "over.safetensors");
    CHECK(lf_st_write(path, &one, 1, NULL, NULL, 0, 0, &e) == LF_OK, "first write");
    one.shape[0] = 2;
    CHECK(lf_st_write(path, &one, 1, NULL, NULL, 0, 0, &e) == LF_OK, "second write");
    CHECK(lf_st_read(path, &f, &e) == LF_OK && lf_st_find(&f, "a") && lf_st_find(&f, "a")->count == 2,
          "overwritten");
    lf_st_free(&f);
}

/* Every truncation and many single-byte corruptions of a valid file must
 * fail (or succeed) cleanly; the sanitizers watch the memory accesses. */
static void test_corruption(void) {
    float v[6] = {1, 2, 3, 4, 5, 6};
    lf_st_out ts[2] = {{"x", v, 2, {2, 2}}, {"y", v + 4, 1, {2}}};
    const char *mk[] = {"m"}, *mv[] = {"\xE6\x97\xA5"};
    unsigned char *b = NULL;
    size_t len = 0;
    lf_err e;
    if (lf_st_serialize(ts, 2, mk, mv, 1, &b, &len, &e) != LF_OK) {
        CHECK(0, "serialize: %s", e.msg);
        return;
    }
    int wrong = 0;
    for (size_t n = 0; n < len; n++) {
        unsigned char *c = malloc(n ? n : 1);
        memcpy(c, b, n);
        lf_st_file f;
        if (lf_st_parse(c, n, &f, &e) != LF_ERR_FORMAT) wrong++;
        lf_st_free(&f);
        free(c);
    }
    CHECK(wrong == 0, "%d truncations were not rejected", wrong);
    static const unsigned char subst[] = {0, '"', '{', '}', '[', ']', ',', ':', '9', '-', ' ', 0x80, 0xFF, 'e'};
    size_t accepted = 0;
    unsigned char *c = malloc(len);
    for (size_t pos = 0; pos < len; pos++)
        for (size_t s = 0; s < sizeof subst; s++) {
            memcpy(c, b, len);
            c[pos] = subst[s];
            lf_st_file f;
            lf_status st = lf_st_parse(c, len, &f, &e);
            if (st == LF_OK) {
                accepted++;
                float out[4];
                for (size_t i = 0; i < lf_st_count(&f); i++) {
                    const lf_st_tensor *t = lf_st_at(&f, i);
                    if (t->count <= 4) (void)lf_st_tensor_f32(t, out, t->count, &e);
                }
            } else if (st != LF_ERR_FORMAT) {
                wrong++;
            }
            lf_st_free(&f);
        }
    free(c);
    CHECK(wrong == 0, "%d corruptions gave a status other than LF_ERR_FORMAT", wrong);
    CHECK(accepted > 0, "some corruptions (data bytes, padding) are still valid files");
    LF_FREE(b);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_st_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        printf("cannot create a temporary folder\n");
        return 1;
    }
    test_round_trip();
    test_layout();
    test_python_interop();
    test_validation();
    test_conversion();
    test_files();
    test_corruption();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_report("test_safetensors");
}
