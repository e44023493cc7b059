/*
 * test_image.c — shapes and the image layers beyond their gradients
 * (test_grad.c) and PyTorch's numbers (test_golden.c): per-sample shapes and
 * their build-time errors, the summary's shapes, model files of version 2
 * (shapes stored) and of version 1 (still loading), hand-computed outputs of
 * the layers, BatchNormalization's moving statistics against Keras' update
 * rule, the augmentation layers, and save/load round trips of a CNN.
 */
#include "check.h"
#include "engine_util.h"
#include "io/safetensors.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

static int has(const char *hay, const char *needle) { return hay && strstr(hay, needle) != NULL; }

static void test_shapes(void) {
    lf_model *m;
    lf_model_create(&m, 1);
    size_t img[3] = {6, 5, 3}, dims[LF_MAX_RANK] = {0};
    int x = lf_input_shape(m, 3, img, LF_FLOAT32, "img");
    CHECK(x == 0 && lf_node_dim(m, x) == 90, "image input: id %d dim %zu", x, lf_node_dim(m, x));
    CHECK(lf_node_shape(m, x, dims) == 3 && dims[0] == 6 && dims[1] == 5 && dims[2] == 3, "image shape");
    CHECK(lf_node_shape(m, 7, dims) == 0, "no node 7");
    int r = lf_reshape(m, x, 2, (size_t[]){30, 3}, "seq");
    CHECK(lf_node_shape(m, r, dims) == 2 && dims[0] == 30 && dims[1] == 3, "Reshape (30, 3)");
    int a = lf_activation_layer(m, r, LF_RELU, "act");
    CHECK(lf_node_shape(m, a, dims) == 2 && dims[0] == 30, "an activation keeps its input's shape");
    int f = lf_flatten(m, a, "flat");
    CHECK(lf_node_shape(m, f, dims) == 1 && dims[0] == 90, "Flatten (90)");
    int o = lf_dense(m, f, 2, LF_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    lf_model_summary(m, mf);
    fclose(mf);
    CHECK(has(buf, "img (InputLayer)                   (None, 6, 5, 3)"), "summary input row:\n%s", buf);
    CHECK(has(buf, "seq (Reshape)                      (None, 30, 3)"), "summary Reshape row:\n%s", buf);
    CHECK(has(buf, "flat (Flatten)                     (None, 90)"), "summary Flatten row:\n%s", buf);
    free(buf);
    /* Flatten, Reshape and Dense rows: the values do not move */
    float in[2 * 90], out[2 * 2];
    fill_uniform(in, 180, -1, 1, 3);
    const float *xs[1] = {in};
    CHECK(lf_model_predict(m, xs, 2, out) == LF_OK, "predict");
    lf_model_free(m);

    /* build-time errors name the layer and the shapes */
    struct {
        int what;
        const char *msg;
    } cases[] = {
        {0, "Dense: input 'img' has shape (None, 6, 5, 3); it needs rank 2 (batch, features): add a Flatten"},
        {1, "Reshape: input 'img' of shape (None, 6, 5, 3) (90 values) cannot become (None, 7, 13) (91 values)"},
        {2, "InputLayer: a shape has 1 to 3 dims, got 4"},
        {3, "InputLayer: dim 1 of the shape is 0; dims must be >= 1 and their product at most 268435456"},
        {4, "Add: inputs must have equal shapes, got (None, 6, 5, 3) ('img') and (None, 90) ('flat')"},
        {5, "Concatenate: input 'img' has shape (None, 6, 5, 3); it needs rank 2 (batch, features): add a Flatten"},
        {6, "InputLayer: unknown dtype 7"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model_create(&m, 2);
        x = lf_input_shape(m, 3, img, LF_FLOAT32, "img");
        int fl = lf_flatten(m, x, "flat");
        switch (cases[c].what) {
        case 0: lf_dense(m, x, 3, LF_RELU, 1, NULL); break;
        case 1: lf_reshape(m, x, 2, (size_t[]){7, 13}, NULL); break;
        case 2: lf_input_shape(m, 4, (size_t[]){1, 2, 3, 4}, LF_FLOAT32, NULL); break;
        case 3: lf_input_shape(m, 2, (size_t[]){4, 0}, LF_FLOAT32, NULL); break;
        case 4: lf_add(m, 2, (int[]){x, fl}, NULL); break;
        case 5: lf_concatenate(m, 2, (int[]){x, fl}, NULL); break;
        default: lf_input_shape(m, 1, (size_t[]){4}, (lf_dtype)7, NULL); break;
        }
        CHECK(strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: got '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
}

/* a model file stores shapes and dtypes (version 2); a version-1 file (a
 * "dim" per input, no "shape") still loads */
static void test_file_versions(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/v.lf", tmpdir);
    lf_model *m;
    lf_model_create(&m, 3);
    int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_INT32, "ids");
    int img = lf_input_shape(m, 3, (size_t[]){2, 2, 3}, LF_FLOAT32, "img");
    int fl = lf_flatten(m, img, NULL);
    int cat = lf_concatenate(m, 2, (int[]){ids, fl}, NULL);
    int o = lf_dense(m, cat, 2, LF_SOFTMAX, 1, "out");
    lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_st_file f;
    lf_err e;
    CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
    const char *arch = lf_st_metadata(&f, "architecture");
    CHECK(strcmp(lf_st_metadata(&f, "format_version"), "2") == 0, "version 2");
    CHECK(has(arch, "{\"name\":\"img\",\"type\":\"InputLayer\",\"dim\":12,\"shape\":[2,2,3],\"dtype\":\"float32\"}"),
          "arch: %s", arch ? arch : "(none)");
    CHECK(has(arch, "\"shape\":[4],\"dtype\":\"int32\""), "arch: %s", arch ? arch : "(none)");
    lf_st_free(&f);
    lf_model *l;
    lf_model_create(&l, 0);
    size_t dims[3];
    CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
    CHECK(lf_node_shape(l, 1, dims) == 3 && dims[0] == 2 && dims[2] == 3 && l->nodes[0].dtype == LF_INT32,
          "shapes and dtypes loaded");
    lf_model_free(l);
    lf_model_free(m);

    /* version 1, as latefuse wrote it before shapes */
    lf_model_create(&m, 4);
    o = lf_dense(m, lf_input(m, 3, "x"), 2, LF_LINEAR, 1, "out");
    lf_model_compile(m, o, LF_LOSS_MSE, NULL);
    const char *v1 = "{\"layers\":[{\"name\":\"x\",\"type\":\"InputLayer\",\"dim\":3},"
                     "{\"name\":\"out\",\"type\":\"Dense\",\"inbound\":[\"x\"],\"units\":2,"
                     "\"activation\":\"linear\",\"use_bias\":true,\"l2\":0}],\"output\":\"out\","
                     "\"loss\":\"mse\",\"optimizer\":{\"name\":\"adam\",\"learning_rate\":0.001,"
                     "\"momentum\":0,\"nesterov\":false,\"beta_1\":0.9,\"beta_2\":0.999,"
                     "\"epsilon\":1e-07,\"rho\":0.9,\"iterations\":0}}";
    float k[6] = {1, 2, 3, 4, 5, 6}, b[2] = {0.5f, -0.5f};
    lf_st_out t[2] = {{.name = "out.kernel", .data = k, .ndim = 2, .shape = {2, 3}},
                      {.name = "out.bias", .data = b, .ndim = 1, .shape = {2}}};
    const char *keys[3] = {"format", "format_version", "architecture"}, *vals[3] = {"latefuse", "1", v1};
    CHECK(lf_st_write(path, t, 2, keys, vals, 3, &e) == LF_OK, "%s", e.msg);
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, path) == LF_OK, "version 1 loads: %s", lf_model_error(l));
    float xin[3] = {1, 0, -1}, y[2];
    const float *xs[1] = {xin};
    CHECK(lf_model_predict(l, xs, 1, y) == LF_OK && y[0] == -1.5f && y[1] == -2.5f, "v1 predicts %g %g",
          (double)y[0], (double)y[1]);
    CHECK(lf_node_shape(l, 0, dims) == 1 && dims[0] == 3, "v1 input shape (3)");
    lf_model_free(l);
    vals[1] = "3";
    CHECK(lf_st_write(path, t, 2, keys, vals, 3, &e) == LF_OK, "%s", e.msg);
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, path) == LF_ERR_FORMAT && has(lf_model_error(l), "unsupported latefuse format version '3'"),
          "version 3: %s", lf_model_error(l));
    lf_model_free(l);
    lf_model_free(m);
    unlink(path);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_image_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_shapes();
    test_file_versions();
    rmdir(tmpdir);
    return check_report("test_image");
}
