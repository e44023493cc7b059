/*
 * test_model_textvec.c — a TextVectorization kept with a model input
 * (lf_model_attach_textvec): the model keeps its own copy, the model file
 * carries it (int and tf_idf modes: vocabulary, settings, idf weights), a
 * loaded model vectorizes texts exactly as the original and predicts the
 * same, and every refusal (of the attach and of a damaged file) has its
 * exact message.
 */
#include "check.h"
#include "latefuse.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

static const char *const corpus[] = {"the cat sat", "the dog sat down", "a cat and a dog", "the end"};
static const char *const probe[] = {"the cat and the unknown dog", "sat sat sat"};

static lf_textvec *make_tv(lf_textvec_mode mode, size_t len) {
    lf_textvec_options o = lf_textvec_defaults();
    o.output_mode = mode;
    o.output_sequence_length = len;
    lf_textvec *tv;
    CHECK(lf_textvec_create(&tv, &o, NULL, 0) == LF_OK, "create");
    return tv;
}

/* in (dim) -> Dense(2, softmax), compiled */
static lf_model *model_for(size_t dim, lf_dtype dtype, int *in) {
    lf_model *m;
    lf_model_create(&m, 1);
    *in = lf_input_shape(m, 1, &dim, dtype, "tok");
    int o = lf_dense(m, *in, 2, LF_ACT_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    return m;
}

static void expect(lf_model *m, lf_status got, lf_status want, const char *msg) {
    CHECK(got == want && strcmp(lf_model_error(m), msg) == 0, "want \"%s\", got %d \"%s\"", msg, (int)got,
          lf_model_error(m));
}

static void round_trip(lf_textvec_mode mode) {
    lf_textvec *tv = make_tv(mode, mode == LF_TEXTVEC_INT ? 5 : 0);
    CHECK(lf_textvec_adapt(tv, corpus, 4) == LF_OK, "adapt");
    size_t dim = mode == LF_TEXTVEC_INT ? 5 : lf_textvec_output_dim(tv);
    int in;
    lf_model *m = model_for(dim, mode == LF_TEXTVEC_INT ? LF_DTYPE_INT32 : LF_DTYPE_FLOAT32, &in);
    CHECK(lf_model_textvec(m, in) == NULL, "nothing attached yet");
    CHECK(lf_model_attach_textvec(m, in, tv) == LF_OK, "attach: %s", lf_model_error(m));
    lf_textvec *mine = lf_model_textvec(m, in);
    CHECK(mine != NULL && mine != tv && lf_textvec_vocabulary_size(mine) == lf_textvec_vocabulary_size(tv),
          "the model keeps a copy");
    float x1[2 * 16], x2[2 * 16];
    if (mode == LF_TEXTVEC_INT) {
        int ids[2 * 5];
        CHECK(lf_textvec_transform_int(mine, probe, 2, 5, ids) == LF_OK, "transform");
        for (size_t i = 0; i < 10; i++) x1[i] = (float)ids[i];
    } else {
        CHECK(dim <= 16 && lf_textvec_transform(mine, probe, 2, x1) == LF_OK, "transform");
    }
    /* re-adapting the caller's object leaves the model's copy alone */
    static const char *const other[] = {"zebra zebra"};
    CHECK(lf_textvec_adapt(tv, other, 1) == LF_OK, "adapt again");
    CHECK(lf_textvec_vocabulary_size(mine) != lf_textvec_vocabulary_size(tv), "the copy is independent");
    char path[128];
    snprintf(path, sizeof path, "%s/tv%d.lf", tmpdir, (int)mode);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *g;
    lf_model_create(&g, 0);
    CHECK(lf_model_load(g, path) == LF_OK, "load: %s", lf_model_error(g));
    int gin = lf_node_find(g, "tok");
    lf_textvec *back = lf_model_textvec(g, gin);
    CHECK(back != NULL, "the loaded model has the vectorizer");
    size_t V = lf_textvec_vocabulary_size(back);
    CHECK(V == lf_textvec_vocabulary_size(mine), "the same vocabulary size (%zu)", V);
    for (size_t i = 0; back && i < V; i++)
        CHECK(strcmp(lf_textvec_vocabulary(back, i), lf_textvec_vocabulary(mine, i)) == 0, "entry %zu", i);
    if (mode == LF_TEXTVEC_TF_IDF)
        CHECK(memcmp(lf_textvec_idf_weights(back), lf_textvec_idf_weights(mine), V * sizeof(float)) == 0,
              "the same idf weights");
    if (mode == LF_TEXTVEC_INT) {
        int ids[2 * 5];
        CHECK(lf_textvec_transform_int(back, probe, 2, 5, ids) == LF_OK, "transform back");
        for (size_t i = 0; i < 10; i++) x2[i] = (float)ids[i];
        CHECK(x1[0] > 1.0f && x1[4] == 1.0f, "known tokens have ids > 1, 'unknown' is [UNK] (1)");
    } else {
        CHECK(lf_textvec_transform(back, probe, 2, x2) == LF_OK, "transform back");
    }
    CHECK(memcmp(x1, x2, 2 * dim * sizeof(float)) == 0, "the loaded vectorizer makes the same rows");
    float p1[4], p2[4];
    const float *a = x1, *b = x2;
    CHECK(lf_model_predict(m, &a, 2, p1) == LF_OK && lf_model_predict(g, &b, 2, p2) == LF_OK, "predict");
    CHECK(memcmp(p1, p2, sizeof p1) == 0, "the loaded model predicts the same");
    lf_model_free(g);
    remove(path);
    lf_model_free(m);
    lf_textvec_free(tv);
}

static void refusals(void) {
    lf_textvec *tv = make_tv(LF_TEXTVEC_INT, 0);
    int in;
    lf_model *m = model_for(5, LF_DTYPE_INT32, &in);
    expect(m, lf_model_attach_textvec(m, in, tv), LF_ERR_STATE,
           "lf_model_attach_textvec: the text vectorizer is not adapted");
    CHECK(lf_textvec_adapt(tv, corpus, 4) == LF_OK, "adapt");
    expect(m, lf_model_attach_textvec(m, 1, tv), LF_ERR_ARG, "lf_model_attach_textvec: node 1 is not an input of this model");
    expect(m, lf_model_attach_textvec(m, in, tv), LF_ERR_ARG,
           "lf_model_attach_textvec: an \"int\" vectorizer needs an output_sequence_length to feed input 'tok'");
    expect(m, lf_model_attach_textvec(m, in, NULL), LF_ERR_ARG, "lf_model_attach_textvec: no text vectorizer given");
    lf_textvec *t6 = make_tv(LF_TEXTVEC_INT, 6);
    CHECK(lf_textvec_adapt(t6, corpus, 4) == LF_OK, "adapt");
    expect(m, lf_model_attach_textvec(m, in, t6), LF_ERR_SHAPE,
           "lf_model_attach_textvec: input 'tok' has shape (None, 5); the vectorizer makes (None, 6)");
    lf_model_free(m);

    /* a damaged file: a key naming no input, a bad vocabulary */
    lf_textvec *t5 = make_tv(LF_TEXTVEC_INT, 5);
    CHECK(lf_textvec_adapt(t5, corpus, 4) == LF_OK, "adapt");
    m = model_for(5, LF_DTYPE_INT32, &in);
    CHECK(lf_model_attach_textvec(m, in, t5) == LF_OK, "attach");
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/good.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save");
    static const struct {
        const char *from, *to, *msg;
    } cases[] = {
        {"textvec:tok.config", "textvec:tox.config", "metadata 'textvec:tox.config' names no input of the model"},
        {"[UNK]", "[UNX]", "text vectorizer of input 'tok': vocabulary: entry 1 must be \"[UNK]\" in int mode"},
        {"textvec:tok.vocabulary", "textvec:tok.vocabularx", "text vectorizer of input 'tok': no 'textvec:tok.vocabulary' metadata"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int edited = check_edit_file(path, bad, cases[c].from, cases[c].to);
        CHECK(edited, "'%s' is in the file", cases[c].from);
        if (!edited) continue;
        lf_model *g;
        lf_model_create(&g, 0);
        char want[512];
        snprintf(want, sizeof want, "'%s': %s", bad, cases[c].msg);
        CHECK(lf_model_load(g, bad) == LF_ERR_FORMAT && strcmp(lf_model_error(g), want) == 0,
              "case %zu: got \"%s\"", c, lf_model_error(g));
        CHECK(lf_model_num_nodes(g) == 0, "a failed load leaves the model empty");
        lf_model_free(g);
    }
    remove(bad);
    remove(path);
    lf_model_free(m);
    lf_textvec_free(tv);
    lf_textvec_free(t6);
    lf_textvec_free(t5);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_mtv_XXXXXX");
    if (!mkdtemp(tmpdir)) return 2;
    round_trip(LF_TEXTVEC_INT);
    round_trip(LF_TEXTVEC_TF_IDF);
    round_trip(LF_TEXTVEC_MULTI_HOT);
    refusals();
    rmdir(tmpdir);
    return check_report("test_model_textvec");
}
