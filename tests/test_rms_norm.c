/*
 * test_rms_norm.c — Keras 3's RMSNormalization (src/layers/layernorm.c)
 * against values computed by hand: y = x / sqrt(mean(x^2) + epsilon) *
 * scale over the last axis, for vectors and for each step of a sequence;
 * its one weight "scale" (ones) by name; the builder's exact messages; a
 * .lf round trip that predicts the same bits, epsilon written only when not
 * Keras' 1e-6, and the loader's refusal of a bad one.  Gradients:
 * test_grad.c; PyTorch (F.rms_norm): test_golden.c.
 */
#include "check.h"
#include "engine_util.h"
#include "io/safetensors.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

/* x (rank, shape) -> RMSNormalization(epsilon) "rms", compiled */
static lf_model *rms_model(size_t rank, const size_t *shape, float epsilon) {
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input_shape(m, rank, shape, LF_DTYPE_FLOAT32, "x");
    int r = lf_rms_normalization(m, x, epsilon, "rms");
    CHECK(r > 0 && lf_model_compile(m, r, LF_LOSS_MSE, NULL) == LF_OK, "RMSNormalization: %s", lf_model_error(m));
    return m;
}

static void test_hand_values(void) {
    /* x = (3, 4), epsilon 0: mean square 12.5, r = 1/sqrt(12.5) = 0.28284271; scale (2, -1) */
    lf_model *m = rms_model(1, (size_t[]){2}, 0.0f);
    size_t shape[2], count;
    CHECK(lf_layer_num_weights(m, "rms") == 1 && lf_layer_weight_shape(m, "rms", 0, shape, &count) == LF_OK &&
              count == 2,
          "one weight of 2 values");
    float w[2];
    CHECK(lf_get_weights(m, "rms", 0, w, 2) == LF_OK && w[0] == 1.0f && w[1] == 1.0f, "scale starts at ones");
    const float x[4] = {3, 4, -1, 0}, *xs[1] = {x};
    float y[4];
    CHECK(lf_model_predict(m, xs, 2, y) == LF_OK, "%s", lf_model_error(m));
    /* row 2: (-1, 0): mean square 0.5, r = sqrt(2) */
    CHECK_CLOSE("RMSNormalization (3, 4), (-1, 0)", y, ((float[]){0.84852814f, 1.1313708f, -1.4142135f, 0.0f}), 4,
                1e-6, 1e-6);
    CHECK(lf_set_weights(m, "rms", 0, (float[]){2, -1}, 2) == LF_OK, "%s", lf_model_error(m));
    CHECK(lf_model_predict(m, xs, 2, y) == LF_OK, "%s", lf_model_error(m));
    CHECK_CLOSE("RMSNormalization with scale (2, -1)", y, ((float[]){1.6970563f, -1.1313708f, -2.8284271f, -0.0f}),
                4, 1e-6, 1e-6);
    lf_model_free(m);
    /* a sequence (2, 3), Keras' epsilon 1e-6: each step on its own; step (1, 2, 2): mean square 3, step
     * (0, 0, 0): r = 1/sqrt(1e-6) = 1000, y 0 */
    m = rms_model(2, (size_t[]){2, 3}, 1e-6f);
    const float xq[6] = {1, 2, 2, 0, 0, 0}, *xq_s[1] = {xq};
    float yq[6];
    CHECK(lf_model_predict(m, xq_s, 1, yq) == LF_OK, "%s", lf_model_error(m));
    double r = 1.0 / sqrt(3.0 + 1e-6);
    CHECK_CLOSE("RMSNormalization per step", yq, ((float[]){(float)r, (float)(2 * r), (float)(2 * r), 0, 0, 0}), 6,
                1e-6, 1e-6);
    lf_model_free(m);
}

static void test_errors(void) {
    static const struct {
        float eps;
        const char *msg;
    } cases[] = {
        {-1.0f, "RMSNormalization: epsilon must be finite and >= 0, got -1"},
        {NAN, "RMSNormalization: epsilon must be finite and >= 0, got nan"},
        {INFINITY, "RMSNormalization: epsilon must be finite and >= 0, got inf"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        lf_model *m;
        lf_model_create(&m, 1);
        int x = lf_input(m, 4, "x");
        CHECK(lf_rms_normalization(m, x, cases[c].eps, NULL) == -1 && strcmp(lf_model_error(m), cases[c].msg) == 0,
              "case %zu: want \"%s\", got \"%s\"", c, cases[c].msg, lf_model_error(m));
        lf_model_free(m);
    }
}

/* fit, save, load: the same predictions; the architecture's fields */
static void test_file(void) {
    enum { N = 32, D = 6 };
    float x[N * D], t[N];
    fill_uniform(x, N * D, -2, 2, 4);
    for (int i = 0; i < N; i++) t[i] = x[i * D] > 0 ? 1.0f : -1.0f;
    char path[96], bad[96];
    snprintf(path, sizeof path, "%s/rms.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    static const float eps[2] = {1e-6f, 0.25f};
    static const char *const want[2] = {"\"type\":\"RMSNormalization\",\"inbound\":[\"x\"]}",
                                        "\"type\":\"RMSNormalization\",\"inbound\":[\"x\"],\"epsilon\":0.25}"};
    for (int k = 0; k < 2; k++) {
        lf_model *m;
        lf_model_create(&m, 2);
        int in = lf_input(m, D, "x");
        int h = lf_rms_normalization(m, in, eps[k], "rms");
        int o = lf_dense(m, h, 1, LF_ACT_LINEAR, 1, "o");
        CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
        lf_fit_options fo = lf_fit_defaults();
        fo.epochs = 2, fo.batch_size = 8, fo.seed = 3;
        const float *xs[1] = {x};
        CHECK(lf_model_fit(m, xs, t, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
        float w[D];
        CHECK(lf_get_weights(m, "rms", 0, w, D) == LF_OK && w[0] != 1.0f, "the fit trains scale");
        CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
        lf_model *l;
        lf_model_create(&l, 0);
        float p1[N], p2[N];
        CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
        CHECK(lf_model_predict(m, xs, N, p1) == LF_OK && lf_model_predict(l, xs, N, p2) == LF_OK &&
                  memcmp(p1, p2, sizeof p1) == 0,
              "epsilon %g: the loaded model predicts other bits", (double)eps[k]);
        lf_model_free(l);
        lf_st_file f;
        lf_err e;
        CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
        const char *arch = lf_st_metadata(&f, "architecture");
        CHECK(arch && strstr(arch, want[k]), "the file holds %s:\n%s", want[k], arch ? arch : "(none)");
        lf_st_free(&f);
        lf_model_free(m);
    }
    /* the last file (epsilon 0.25) with epsilon -1.0: refused */
    CHECK(check_edit_file(path, bad, "epsilon\\\":0.25", "epsilon\\\":-1.0"), "epsilon in the file");
    lf_model *l;
    lf_model_create(&l, 0);
    char msg[256];
    snprintf(msg, sizeof msg, "'%s': architecture: layer 'rms': 'epsilon' must be a finite number in [0, inf)", bad);
    CHECK(lf_model_load(l, bad) == LF_ERR_FORMAT && strcmp(lf_model_error(l), msg) == 0, "want \"%s\", got \"%s\"",
          msg, lf_model_error(l));
    lf_model_free(l);
    remove(path), remove(bad);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_rms_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_hand_values();
    test_errors();
    test_file();
    rmdir(tmpdir);
    return check_report("test_rms_norm");
}
