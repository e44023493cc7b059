/*
 * test_files.c — hostile fusion and model files (issue 11): JSON of the
 * wrong type anywhere a file is walked (an array where the fusion settings
 * belong crashed the loader), sizes declared far beyond the tensors stored
 * (checked before anything is allocated), names that could carry control
 * characters to a terminal, and a fusion file of 1 class.
 *
 * The files are built in memory (lf_st_serialize) from the settings and
 * tensors of real fitted models and loaded with lf_fusion_load_bytes (the
 * body of lf_fusion_load) or lf_model_from_parts (that of lf_model_load).
 */
#include "check.h"

#include "fusion/fusion_internal.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "latefuse.h"
#include "model_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { M = 2, N = 12, C = 3 };

static const char *const NAMES[M] = {"image", "text"};

/* A fitted fusion model of `method` on N rows of M models x C classes. */
static lf_fusion *fitted(lf_method method) {
    static float p[M][N * C];
    int y[N];
    for (int i = 0; i < N; i++) {
        y[i] = i % C;
        for (int k = 0; k < M; k++)
            for (int c = 0; c < C; c++) p[k][i * C + c] = c == y[i] ? 0.6f - 0.1f * (float)k : 0.2f + 0.05f * (float)k;
    }
    const float *ps[M] = {p[0], p[1]};
    lf_fusion *f = NULL;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = method;
    o.epochs = 1;
    lf_status st = lf_fusion_fit(f, ps, NAMES, M, N, C, y, &o);
    CHECK(st == LF_OK, "fit %s: %s", lf_method_name(method), lf_fusion_error(f));
    return f;
}

/* Loads a fusion file whose metadata are those of the fitted `method` with
 * "fusion" (and "architecture", unless NULL) replaced; returns the status,
 * the message in msg. */
static lf_status load_with(lf_method method, const char *fusion, const char *arch, char *msg, size_t cap) {
    char path[] = "/tmp/lf_files_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) close(fd);
    lf_fusion *f = fitted(method);
    lf_status st = lf_fusion_save(f, path, 0);
    CHECK(st == LF_OK, "save: %s", lf_fusion_error(f));
    lf_st_file sf;
    lf_err e;
    st = lf_st_read(path, &sf, &e);
    CHECK(st == LF_OK, "read back: %s", e.msg);
    remove(path);
    size_t n = lf_st_count(&sf);
    lf_st_out outs[16];
    float *data[16];
    CHECK(n <= 16, "%zu tensors", n);
    for (size_t i = 0; i < n && i < 16; i++) {
        const lf_st_tensor *t = lf_st_at(&sf, i);
        data[i] = malloc(t->count * sizeof(float));
        lf_st_tensor_f32(t, data[i], t->count, &e);
        outs[i] = (lf_st_out){t->name, data[i], t->ndim, {t->shape[0], t->shape[1]}};
    }
    const char *keys[4] = {"format", "format_version", "fusion", "architecture"};
    const char *vals[4] = {"latefuse-fusion", "1", fusion, arch ? arch : lf_st_metadata(&sf, "architecture")};
    unsigned char *buf = NULL;
    size_t len = 0;
    st = lf_st_serialize(outs, n, keys, vals, vals[3] ? 4 : 3, &buf, &len, &e);
    CHECK(st == LF_OK, "serialize: %s", e.msg);
    clock_t t0 = clock();
    st = lf_fusion_load_bytes(f, buf, len, "x.lff");
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(secs < 2, "loading took %.1f s of CPU", secs);
    snprintf(msg, cap, "%s", lf_fusion_error(f));
    CHECK(st != LF_OK || lf_fusion_num_models(f) == M, "loaded");
    LF_FREE(buf);
    for (size_t i = 0; i < n && i < 16; i++) free(data[i]);
    lf_st_free(&sf);
    lf_fusion_free(f);
    return st;
}

static void expect(lf_method method, const char *fusion, const char *arch, const char *want) {
    char msg[600];
    lf_status st = load_with(method, fusion, arch, msg, sizeof msg);
    CHECK(st == LF_ERR_FORMAT, "%s: status %d (%s)", fusion, st, msg);
    CHECK(strcmp(msg, want) == 0, "%.80s:\n  got  '%s'\n  want '%s'", fusion, msg, want);
}

#define SETTINGS(method, classes, models) \
    "{\"method\":\"" method "\",\"calibrated\":false,\"logits\":false,\"classes\":" classes \
    ",\"models\":[" models "],\"temperatures\":[1,1]}"

/* A fusion settings document of 1024 models and `classes` classes. */
static char *big_settings(const char *method, size_t classes) {
    char *s = malloc(1024 * 12 + 200), *b = s;
    b += sprintf(b, "{\"method\":\"%s\",\"calibrated\":false,\"logits\":false,\"classes\":%zu,\"models\":[",
                 method, classes);
    for (int k = 0; k < 1024; k++) b += sprintf(b, "%s\"m%d\"", k ? "," : "", k);
    b += sprintf(b, "],\"temperatures\":[");
    for (int k = 0; k < 1024; k++) b += sprintf(b, "%s1", k ? "," : "");
    sprintf(b, "]}");
    return s;
}

/* Item 1: the fusion settings (and every object of either format) of
 * another JSON type are a clear error, not a crash. */
static void test_wrong_types(void) {
    static const char *const not_objects[] = {"[\"method\",\"mean\"]", "[]", "\"mean\"", "3", "null", "true"};
    for (size_t i = 0; i < sizeof not_objects / sizeof *not_objects; i++)
        expect(LF_FUSE_MEAN, not_objects[i], NULL, "'x.lff': fusion settings: not a JSON object");
    /* the same file loaded correctly: the helper itself is sound */
    char msg[600];
    CHECK(load_with(LF_FUSE_MEAN, SETTINGS("mean", "3", "\"image\",\"text\""), NULL, msg, sizeof msg) == LF_OK,
          "the unmodified settings load: %s", msg);
    expect(LF_FUSE_MEAN, "{\"method\":\"mean\",\"calibrated\":false,\"logits\":false,\"classes\":3,"
           "\"models\":{\"a\":\"image\",\"b\":\"text\"},\"temperatures\":[1,1]}", NULL,
           "'x.lff': fusion settings: 'models' and 'temperatures' must be lists of 1..1024 entries of equal length");
    expect(LF_FUSE_MEAN, "{\"method\":[\"mean\"],\"calibrated\":false}", NULL,
           "'x.lff': fusion settings: unknown or missing method");
    /* a penalty (the L2 a learned method chose) on a method without a network */
    expect(LF_FUSE_MEAN, "{\"method\":\"mean\",\"calibrated\":false,\"logits\":false,\"classes\":3,"
           "\"models\":[\"image\",\"text\"],\"temperatures\":[1,1],\"penalty\":{\"l2\":0.1,\"chosen_by\":\"cv\"}}",
           NULL, "'x.lff': fusion settings: the mean method trains no network and has no 'penalty'");
    /* the architecture of a learned method */
    expect(LF_FUSE_WAVG, SETTINGS("wavg", "3", "\"image\",\"text\""), "[{\"layers\":[]}]",
           "'x.lff': architecture: not a JSON object");
    expect(LF_FUSE_WAVG, SETTINGS("wavg", "3", "\"image\",\"text\""), "{\"layers\":[[\"name\",\"p0\"]]}",
           "'x.lff': architecture: layer 0 is not an object");
    expect(LF_FUSE_WAVG, SETTINGS("wavg", "3", "\"image\",\"text\""), "{\"layers\":{\"name\":\"p0\"}}",
           "'x.lff': architecture: 'layers' must be a list of 1..100000 layers");
    expect(LF_FUSE_WAVG, SETTINGS("wavg", "3", "\"image\",\"text\""),
           "{\"layers\":[{\"name\":\"p0\",\"type\":\"InputLayer\",\"dim\":3}],\"output\":\"p0\",\"loss\":\"mse\","
           "\"optimizer\":[\"adam\"]}",
           "'x.lff': architecture: optimizer must be an object");

    /* the JSON helper itself: keys only of objects */
    lf_json *j = NULL;
    lf_err e;
    static const char *const allowed[] = {"a", "b", NULL};
    CHECK(lf_json_parse("[\"x\",\"y\"]", 9, &j, &e) == LF_OK, "parse");
    CHECK(lf_json_unknown_key(j, allowed) == NULL && lf_json_key_at(j, 0) == NULL, "an array has no keys");
    lf_json_free(j);
    CHECK(lf_json_parse("{\"a\":1,\"c\":2}", 13, &j, &e) == LF_OK, "parse");
    CHECK(lf_json_unknown_key(j, allowed) != NULL && strcmp(lf_json_unknown_key(j, allowed), "c") == 0,
          "the unknown key");
    CHECK(lf_json_unknown_key(lf_json_get(j, "a"), allowed) == NULL && lf_json_unknown_key(NULL, allowed) == NULL,
          "scalars and NULL");
    lf_json_free(j);
}

/* Item 6: declared sizes are compared with the stored tensors before
 * anything is allocated (these took 53 s and 8 GB, or failed as "out of
 * memory", exit 1, before). */
static void test_sizes(void) {
    char *s = big_settings("decision-template", 16000);
    expect(LF_FUSE_DECISION_TEMPLATE, s, NULL,
           "'x.lff': tensor 'fusion.templates' must be F32 of shape (16000, 16384000)");
    free(s);
    s = big_settings("mlp", 16000);
    expect(LF_FUSE_MLP, s, NULL,
           "'x.lff': the network has 1539 weights, the mlp method builds 2099347200 for 1024 models and 16000 classes");
    free(s);
    s = big_settings("acc-weighted", 16000);
    expect(LF_FUSE_ACC_WEIGHTED, s, NULL, "'x.lff': tensor 'fusion.weights' must be F32 of shape (1024)");
    free(s);
    /* a network whose layers declare more weights than the file stores */
    expect(LF_FUSE_WAVG, SETTINGS("wavg", "3", "\"image\",\"text\""),
           "{\"layers\":[{\"name\":\"a\",\"type\":\"InputLayer\",\"dim\":268435456},"
           "{\"name\":\"d\",\"type\":\"Dense\",\"inbound\":[\"a\"],\"units\":4096,\"activation\":\"linear\","
           "\"use_bias\":true}]}",
           "'x.lff': architecture: layer 'd': needs more weights than the file stores (2 floats)");
    expect(LF_FUSE_WAVG, SETTINGS("wavg", "3", "\"image\",\"text\""),
           "{\"layers\":[{\"name\":\"a\",\"type\":\"InputLayer\",\"dim\":268435456},"
           "{\"name\":\"b\",\"type\":\"InputLayer\",\"dim\":268435456},"
           "{\"name\":\"w\",\"type\":\"ClassWeightedAverage\",\"inbound\":[\"a\",\"b\"],\"mask\":null}]}",
           "'x.lff': architecture: layer 'w': needs more weights than the file stores (2 floats)");

    /* the same for a model file, through lf_model_from_parts */
    const char *arch = "{\"layers\":[{\"name\":\"x\",\"type\":\"InputLayer\",\"dim\":268435456},"
                       "{\"name\":\"h\",\"type\":\"Dense\",\"inbound\":[\"x\"],\"units\":128,"
                       "\"activation\":\"relu\",\"use_bias\":true}]}";
    const char *keys[3] = {"format", "format_version", "architecture"};
    const char *vals[3] = {"latefuse", "1", arch};
    unsigned char *buf = NULL;
    size_t len = 0;
    lf_err e;
    CHECK(lf_st_serialize(NULL, 0, keys, vals, 3, &buf, &len, &e) == LF_OK, "serialize: %s", e.msg);
    lf_st_file sf;
    CHECK(lf_st_parse(buf, len, &sf, &e) == LF_OK, "parse: %s", e.msg);
    lf_model *m = NULL;
    lf_model_create(&m, 0);
    lf_status st = lf_model_from_parts(m, arch, strlen(arch), &sf, "", &e);
    CHECK(st == LF_ERR_FORMAT && strcmp(e.msg, "architecture: layer 'h': needs more weights than the file stores (0 floats)") == 0,
          "model: %d %s", st, e.msg);
    CHECK(lf_model_num_params(m) == 0, "nothing was built");
    lf_model_free(m);
    lf_st_free(&sf);
    LF_FREE(buf);
}

/* Item 7: names from files are of the -m NAME set; nothing read from a
 * file reaches a message unescaped. */
static void test_names(void) {
    expect(LF_FUSE_MEAN, SETTINGS("mean", "3", "\"image\",\"\\u001b[2J\""), NULL,
           "'x.lff': fusion settings: model name 1 must be a string of 1..63 letters, digits, '_', '.' or '-'");
    expect(LF_FUSE_MEAN, SETTINGS("mean", "3", "\"image\",\"my model\""), NULL,
           "'x.lff': fusion settings: model name 1 must be a string of 1..63 letters, digits, '_', '.' or '-'");
    expect(LF_FUSE_MEAN, "{\"method\":\"mean\",\"\\u0007bell\\r\":1}", NULL,
           "'x.lff': fusion settings: unknown field '\\x07bell\\x0d'");
    expect(LF_FUSE_WAVG, SETTINGS("wavg", "3", "\"image\",\"text\""),
           "{\"layers\":[{\"name\":\"p\\u001b]0;x\\u0007\",\"type\":\"InputLayer\",\"dim\":3}]}",
           "'x.lff': architecture: layer 0: the name 'p\\x1b]0;x\\x07' is not 1-63 characters of A-Z a-z 0-9 _ . -");
    expect(LF_FUSE_WAVG, SETTINGS("wavg", "3", "\"image\",\"text\""),
           "{\"layers\":[{\"name\":\"p0\",\"type\":\"Conv\\u001b\",\"dim\":3}]}",
           "'x.lff': architecture: layer 'p0': unknown layer type 'Conv\\x1b'");
    expect(LF_FUSE_WAVG, SETTINGS("wavg", "3", "\"image\",\"text\""),
           "{\"layers\":[{\"name\":\"p0\",\"type\":\"InputLayer\",\"dim\":3,\"\\n\":1}]}",
           "'x.lff': architecture: layer 'p0': unknown field '\\x0a'");
    /* fit refuses what load would refuse, so that a saved model always loads */
    lf_fusion *f = NULL;
    lf_fusion_create(&f);
    float p[C] = {0.2f, 0.3f, 0.5f};
    const float *ps[M] = {p, p};
    const char *bad[M] = {"image", "my model"};
    int y[1] = {2};
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_MEAN;
    lf_status st = lf_fusion_fit(f, ps, bad, M, 1, C, y, &o);
    CHECK(st == LF_ERR_ARG && strcmp(lf_fusion_error(f), "model name 1 must have 1 to 63 characters of A-Z a-z 0-9 _ . -") == 0,
          "fit with a name outside the set: %d %s", st, lf_fusion_error(f));
    lf_fusion_free(f);
    CHECK(lf_name_valid("a.B-9_z", 7) && !lf_name_valid("", 0) && !lf_name_valid("a b", 3) &&
              !lf_name_valid("\xc3\xa9", 2) && lf_name_valid("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 63) &&
              !lf_name_valid("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 64),
          "lf_name_valid");
}

/* Strings of the container (format version, tensor names) are escaped in
 * messages too. */
static void test_container_strings(void) {
    float w[2] = {0.5f, 0.5f};
    lf_st_out extra = {"stray\x1b[2J", w, 1, {2}};
    const char *keys[3] = {"format", "format_version", "fusion"};
    const char *vals[3] = {"latefuse-fusion", "1\x1b[2J", SETTINGS("mean", "3", "\"image\",\"text\"")};
    unsigned char *buf = NULL;
    size_t len = 0;
    lf_err e;
    lf_fusion *f = NULL;
    lf_fusion_create(&f);
    CHECK(lf_st_serialize(NULL, 0, keys, vals, 3, &buf, &len, &e) == LF_OK, "serialize: %s", e.msg);
    CHECK(lf_fusion_load_bytes(f, buf, len, "v.lff") == LF_ERR_FORMAT &&
              strcmp(lf_fusion_error(f), "'v.lff': unsupported fusion format version '1\\x1b[2J' (this latefuse reads "
                     "version 1; a newer one may have written it)") == 0,
          "version: %s", lf_fusion_error(f));
    LF_FREE(buf);
    vals[1] = "1";
    CHECK(lf_st_serialize(&extra, 1, keys, vals, 3, &buf, &len, &e) == LF_OK, "serialize: %s", e.msg);
    CHECK(lf_fusion_load_bytes(f, buf, len, "t.lff") == LF_ERR_FORMAT &&
              strcmp(lf_fusion_error(f), "'t.lff': the file holds 1 tensors, the mean method has 0") == 0,
          "stray tensor, fixed rule: %s", lf_fusion_error(f));
    LF_FREE(buf);
    lf_fusion_free(f);

    /* a model file: an unexpected tensor's name */
    const char *arch = "{\"layers\":[{\"name\":\"x\",\"type\":\"InputLayer\",\"dim\":2}]}";
    const char *mkeys[3] = {"format", "format_version", "architecture"};
    const char *mvals[3] = {"latefuse", "1", arch};
    CHECK(lf_st_serialize(&extra, 1, mkeys, mvals, 3, &buf, &len, &e) == LF_OK, "serialize: %s", e.msg);
    lf_st_file sf;
    CHECK(lf_st_parse(buf, len, &sf, &e) == LF_OK, "parse: %s", e.msg);
    lf_model *m = NULL;
    lf_model_create(&m, 0);
    lf_status st = lf_model_from_parts(m, arch, strlen(arch), &sf, "", &e);
    CHECK(st == LF_ERR_FORMAT && strcmp(e.msg, "unexpected tensor 'stray\\x1b[2J'") == 0, "model: %d %s",
          st, e.msg);
    lf_model_free(m);
    lf_st_free(&sf);
    LF_FREE(buf);
    /* and through lf_model_load, the version */
    char path[] = "/tmp/lf_files_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd >= 0) close(fd);
    mvals[1] = "2\x07";
    CHECK(lf_st_write(path, NULL, 0, mkeys, mvals, 3, 0, &e) == LF_OK, "write: %s", e.msg);
    lf_model_create(&m, 0);
    char want[400];
    snprintf(want, sizeof want, "'%s': unsupported latefuse format version '2\\x07' (this latefuse reads "
             "versions 1 and 2; a newer one may have written it)", path);
    CHECK(lf_model_load(m, path) == LF_ERR_FORMAT && strcmp(lf_model_error(m), want) == 0, "model version: %s",
          lf_model_error(m));
    lf_model_free(m);
    remove(path);
}

/* Item 9: a fusion file of 1 class is refused at load. */
static void test_one_class(void) {
    expect(LF_FUSE_MEAN, SETTINGS("mean", "1", "\"image\",\"text\""), NULL,
           "'x.lff': fusion settings: 'classes' must be an integer in 2..1048576");
}

int main(void) {
    test_wrong_types();
    test_sizes();
    test_names();
    test_container_strings();
    test_one_class();
    return check_report("test_files");
}
