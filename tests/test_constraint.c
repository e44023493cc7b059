/*
 * test_constraint.c — Keras' weight constraints (lf_set_constraint):
 * MaxNorm, NonNeg, UnitNorm and MinMaxNorm against values worked out by
 * hand from keras/src/constraints/constraints.py (eps 1e-7, axis over the
 * kernel's Keras shape: Dense's (in, units)), applied after a step whose
 * update is nil (SGD at 1e-30); that they hold after a fit that pulls the
 * weights past them (and that the same fit without them does not); each
 * role (Conv1D's axes [0, 1], LSTM's recurrent kernel, BatchNormalization's
 * gamma, MultiHeadAttention's four kernels); the model file round trip and
 * its refusals; the builder's refusals, word for word.
 */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "check.h"
#include "latefuse.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

static lf_optimizer nil_sgd(void) {
    lf_optimizer o = lf_optimizer_default(LF_OPT_SGD);
    o.learning_rate = 1e-30f; /* w - 1e-30 g == w: the step leaves only the constraint */
    return o;
}

/* one nil step of a compiled one-input, one-output model on rows x */
static void nil_step(lf_model *m, const float *x, size_t n, size_t out) {
    float y[64] = {0};
    const float *ys[1] = {y};
    lf_typed_array xa = {LF_DTYPE_FLOAT32, x};
    (void)out;
    CHECK(lf_model_train_on_batch(m, &xa, ys, n, NULL, NULL, NULL) == LF_OK, "step: %s", lf_model_error(m));
}

/* Dense(2) on 2 features, kernel stored (units, in) = [[3, 4], [0, 0.5]]
 * (Keras' (in, units) kernel [[3, 0], [4, 0.5]]), bias [-1, 2]; c on the
 * role, one nil step; the kernel and bias after it */
static void dense_after(const lf_constraint *c, lf_weight_role role, float *k, float *b) {
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input(m, 2, "x"), d = lf_dense(m, x, 2, LF_ACT_LINEAR, 1, "dense");
    lf_optimizer o = nil_sgd();
    CHECK(lf_set_constraint(m, d, role, c) == LF_OK, "set: %s", lf_model_error(m));
    CHECK(lf_model_compile(m, d, LF_LOSS_MSE, &o) == LF_OK, "compile: %s", lf_model_error(m));
    const float k0[4] = {3, 4, 0, 0.5f}, b0[2] = {-1, 2}, xr[2] = {0, 0};
    lf_set_weights(m, "dense", 0, k0, 4), lf_set_weights(m, "dense", 1, b0, 2);
    nil_step(m, xr, 1, 2);
    lf_get_weights(m, "dense", 0, k, 4), lf_get_weights(m, "dense", 1, b, 2);
    lf_model_free(m);
}

static void test_hand_values(void) {
    float k[4], b[2];
    /* MaxNorm(2, axis=0): per unit, over the inputs: unit 0 (3, 4) has norm
     * 5 -> times 2 / (5 + 1e-7); unit 1 (0, 0.5) stays (0.5 / (0.5 + 1e-7)) */
    lf_constraint c = lf_constraint_default(LF_CONSTRAINT_MAX_NORM);
    CHECK(c.max_value == 2.0f && c.n_axis == 1 && c.axis[0] == 0, "MaxNorm's defaults");
    dense_after(&c, LF_ROLE_KERNEL, k, b);
    float f0 = 2.0f / (5.0f + 1e-7f), f1 = 0.5f / (0.5f + 1e-7f);
    float want[4] = {3 * f0, 4 * f0, 0, 0.5f * f1};
    CHECK_CLOSE("MaxNorm axis 0", k, want, 4, 0, 1e-6);
    CHECK(b[0] == -1.0f && b[1] == 2.0f, "the bias is left: %g %g", b[0], b[1]);

    /* axis=1 (Keras' rows: per input): input 0 (3, 0) norm 3 -> 2/3; input
     * 1 (4, 0.5) norm sqrt(16.25) -> 2 / that */
    c.axis[0] = 1;
    dense_after(&c, LF_ROLE_KERNEL, k, b);
    float g0 = 2.0f / 3.0f, g1 = 2.0f / sqrtf(16.25f);
    float want1[4] = {3 * g0, 4 * g1, 0, 0.5f * g1};
    CHECK_CLOSE("MaxNorm axis 1", k, want1, 4, 0, 1e-6);

    /* axis=None (n_axis 0): the whole kernel, norm sqrt(25.25) */
    c.n_axis = 0;
    dense_after(&c, LF_ROLE_KERNEL, k, b);
    float h = 2.0f / sqrtf(25.25f), want2[4] = {3 * h, 4 * h, 0, 0.5f * h};
    CHECK_CLOSE("MaxNorm axis None", k, want2, 4, 0, 1e-6);

    /* UnitNorm(axis=-1): Keras' last axis (units), per input */
    c = lf_constraint_default(LF_CONSTRAINT_UNIT_NORM);
    c.axis[0] = -1;
    dense_after(&c, LF_ROLE_KERNEL, k, b);
    float want3[4] = {1, 4 / sqrtf(16.25f), 0, 0.5f / sqrtf(16.25f)};
    CHECK_CLOSE("UnitNorm axis -1", k, want3, 4, 0, 1e-6);

    /* MinMaxNorm(1, 2, rate 0.5, axis 0): unit 0 norm 5 -> 0.5 * 2 + 0.5 *
     * 5 = 3.5; unit 1 norm 0.5 -> 0.5 * 1 + 0.25 = 0.75 */
    c = lf_constraint_default(LF_CONSTRAINT_MIN_MAX_NORM);
    CHECK(c.min_value == 0.0f && c.max_value == 1.0f && c.rate == 1.0f, "MinMaxNorm's defaults");
    c.min_value = 1, c.max_value = 2, c.rate = 0.5f;
    dense_after(&c, LF_ROLE_KERNEL, k, b);
    float want4[4] = {3 * 3.5f / 5, 4 * 3.5f / 5, 0, 0.75f};
    CHECK_CLOSE("MinMaxNorm", k, want4, 4, 0, 1e-6);

    /* NonNeg on the bias */
    c = lf_constraint_default(LF_CONSTRAINT_NON_NEG);
    dense_after(&c, LF_ROLE_BIAS, k, b);
    CHECK(b[0] == 0.0f && b[1] == 2.0f && k[0] == 3.0f, "NonNeg bias: %g %g, kernel %g", b[0], b[1], k[0]);
}

/* x (n x d) in [-1, 1], targets 10 x the sum: the weights must grow */
static void data(float *x, float *y, size_t n, size_t d) {
    unsigned s = 7;
    for (size_t i = 0; i < n; i++) {
        y[i] = 0;
        for (size_t j = 0; j < d; j++) {
            s = s * 1103515245u + 12345u;
            x[i * d + j] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
            y[i] += 10.0f * x[i * d + j];
        }
    }
}

/* the largest norm of a unit's incoming weights (stored rows) of a (units, in) kernel */
static float max_row_norm(const float *k, size_t units, size_t in) {
    float worst = 0;
    for (size_t u = 0; u < units; u++) {
        double s = 0;
        for (size_t j = 0; j < in; j++) s += (double)k[u * in + j] * k[u * in + j];
        worst = fmaxf(worst, (float)sqrt(s));
    }
    return worst;
}

static void test_fit_holds(void) {
    enum { N = 64, D = 4 };
    float x[N * D], y[N], k[D];
    data(x, y, N, D);
    const float *xs[1] = {x};
    for (int con = 0; con <= 1; con++) {
        lf_model *m;
        lf_model_create(&m, 3);
        int in = lf_input(m, D, "x"), d = lf_dense(m, in, 1, LF_ACT_LINEAR, 1, "dense");
        lf_constraint c = lf_constraint_default(LF_CONSTRAINT_MAX_NORM);
        c.max_value = 1.5f;
        if (con) CHECK(lf_set_constraint(m, d, LF_ROLE_KERNEL, &c) == LF_OK, "%s", lf_model_error(m));
        lf_optimizer o = lf_optimizer_default(LF_OPT_ADAM);
        o.learning_rate = 0.1f;
        lf_model_compile(m, d, LF_LOSS_MSE, &o);
        lf_fit_options fo = lf_fit_defaults();
        fo.epochs = 20, fo.batch_size = 16;
        CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
        lf_get_weights(m, "dense", 0, k, D);
        float norm = max_row_norm(k, 1, D);
        if (con) CHECK(norm <= 1.5f * (1 + 1e-6f) && norm > 1.4f, "MaxNorm(1.5) after fit: norm %g", norm);
        else CHECK(norm > 3.0f, "without the constraint the fit goes past it: norm %g", norm);
        lf_model_free(m);
    }
}

/* A shared layer whose first call feeds no output (Keras: the layer called
 * twice, the model built on the second call): its weights train through
 * the second node, so the constraint holds them as test_fit_holds' */
static void test_shared_unused_owner(void) {
    enum { N = 64, D = 4 };
    float x[N * D], y[N], k[D];
    data(x, y, N, D);
    const float *xs[1] = {x};
    lf_model *m;
    lf_model_create(&m, 3);
    int in = lf_input(m, D, "x"), owner = lf_dense(m, in, 1, LF_ACT_LINEAR, 1, "dense");
    int a = lf_activation_layer(m, in, LF_ACT_LINEAR, "a"), d = lf_dense(m, a, 1, LF_ACT_LINEAR, 1, "dense_2");
    CHECK(lf_share_weights(m, d, owner) == LF_OK, "share: %s", lf_model_error(m));
    lf_constraint c = lf_constraint_default(LF_CONSTRAINT_MAX_NORM);
    c.max_value = 1.5f;
    CHECK(lf_set_constraint(m, d, LF_ROLE_KERNEL, &c) == LF_OK, "%s", lf_model_error(m));
    lf_optimizer o = lf_optimizer_default(LF_OPT_ADAM);
    o.learning_rate = 0.1f;
    CHECK(lf_model_compile(m, d, LF_LOSS_MSE, &o) == LF_OK, "compile: %s", lf_model_error(m));
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 20, fo.batch_size = 16;
    CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    lf_get_weights(m, "dense", 0, k, D);
    float norm = max_row_norm(k, 1, D);
    CHECK(norm <= 1.5f * (1 + 1e-6f) && norm > 1.4f, "MaxNorm(1.5) on a shared layer used by its second node: norm %g",
          norm);
    lf_model_free(m);
}

/* each role on its layer, after fits of a few steps */
static void test_roles(void) {
    enum { N = 16, T = 3, D = 4 };
    float x[N * T * D], y[N];
    data(x, y, N, T * D);
    const float *xs[1] = {x};
    lf_model *m;
    lf_model_create(&m, 5);
    size_t sh[2] = {T, D};
    int in = lf_input_shape(m, 2, sh, LF_DTYPE_FLOAT32, "x");
    int cv = lf_conv1d(m, in, 2, 2, 1, LF_PADDING_SAME, LF_ACT_LINEAR, 1, "conv");
    int bn = lf_batch_normalization(m, cv, 0.9f, 1e-3f, "bn");
    int at = lf_multi_head_attention(m, bn, bn, -1, 2, 3, 3, 0.0f, 1, 0, "mha");
    int ls = lf_lstm(m, at, 3, 1, 1, 0, 0, "lstm");
    int out = lf_dense(m, ls, 1, LF_ACT_LINEAR, 1, "out");
    lf_constraint unit = lf_constraint_default(LF_CONSTRAINT_UNIT_NORM);
    lf_constraint per_filter = unit; /* Keras' Conv advice: axis [0, 1] (kernel_size, channels) */
    per_filter.axis[1] = 1, per_filter.n_axis = 2;
    lf_constraint nonneg = lf_constraint_default(LF_CONSTRAINT_NON_NEG);
    lf_constraint maxn = lf_constraint_default(LF_CONSTRAINT_MAX_NORM);
    maxn.max_value = 0.5f;
    CHECK(lf_set_constraint(m, cv, LF_ROLE_KERNEL, &per_filter) == LF_OK, "%s", lf_model_error(m));
    CHECK(lf_set_constraint(m, bn, LF_ROLE_GAMMA, &nonneg) == LF_OK, "%s", lf_model_error(m));
    CHECK(lf_set_constraint(m, at, LF_ROLE_KERNEL, &maxn) == LF_OK, "%s", lf_model_error(m));
    CHECK(lf_set_constraint(m, ls, LF_ROLE_RECURRENT_KERNEL, &unit) == LF_OK, "%s", lf_model_error(m));
    lf_optimizer o = lf_optimizer_default(LF_OPT_ADAM);
    o.learning_rate = 0.3f;
    lf_model_compile(m, out, LF_LOSS_MSE, &o);
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 3, fo.batch_size = 8;
    CHECK(lf_model_fit(m, xs, y, N, &fo) == LF_OK, "fit: %s", lf_model_error(m));

    float w[256];
    lf_get_weights(m, "conv", 0, w, 2 * D * 2); /* (2, 4, 2): per filter over the first two axes */
    for (int f = 0; f < 2; f++) {
        double s = 0;
        for (int i = 0; i < 2 * D; i++) s += (double)w[i * 2 + f] * w[i * 2 + f];
        CHECK(fabs(sqrt(s) - 1) < 1e-5, "Conv1D filter %d: norm %g", f, sqrt(s));
    }
    lf_get_weights(m, "bn", 0, w, 2);
    float gmin = fminf(w[0], w[1]);
    CHECK(gmin >= 0.0f, "BatchNormalization gamma >= 0: %g", gmin);
    /* MHA: the four kernels, each column over axis 0 */
    static const size_t rows[4] = {2, 2, 2, 2}, cols[4] = {6, 6, 6, 6};
    for (size_t k = 0; k < 4; k++) {
        lf_get_weights(m, "mha", 2 * k, w, rows[k] * cols[k]);
        for (size_t c = 0; c < cols[k]; c++) {
            double s = 0;
            for (size_t r = 0; r < rows[k]; r++) s += (double)w[r * cols[k] + c] * w[r * cols[k] + c];
            CHECK(sqrt(s) <= 0.5 * (1 + 1e-6), "MHA kernel %zu column %zu: norm %g", k, c, sqrt(s));
        }
    }
    lf_get_weights(m, "lstm", 1, w, 3 * 12); /* (3, 12): each column over the 3 units */
    for (size_t c = 0; c < 12; c++) {
        double s = 0;
        for (size_t r = 0; r < 3; r++) s += (double)w[r * 12 + c] * w[r * 12 + c];
        CHECK(fabs(sqrt(s) - 1) < 1e-5, "LSTM recurrent kernel column %zu: norm %g", c, sqrt(s));
    }

    /* the model file: the constraints back, training on them */
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/m.lf", tmpdir);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *r;
    lf_model_create(&r, 9);
    CHECK(lf_model_load(r, path) == LF_OK, "load: %s", lf_model_error(r));
    lf_constraint a, b;
    int ids[4] = {cv, bn, at, ls}, role[4] = {LF_ROLE_KERNEL, LF_ROLE_GAMMA, LF_ROLE_KERNEL, LF_ROLE_RECURRENT_KERNEL};
    for (int i = 0; i < 4; i++) {
        lf_get_constraint(m, ids[i], (lf_weight_role)role[i], &a);
        lf_get_constraint(r, ids[i], (lf_weight_role)role[i], &b);
        CHECK(memcmp(&a, &b, sizeof a) == 0 && a.kind != LF_CONSTRAINT_NONE, "constraint %d back from the file", i);
    }
    lf_get_constraint(r, out, LF_ROLE_KERNEL, &b);
    CHECK(b.kind == LF_CONSTRAINT_NONE, "none where none was set");
    /* the loader's checks: an unknown type, an axis out of range */
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    CHECK(check_edit_file(path, bad, "\\\"type\\\":\\\"UnitNorm\\\"", "\\\"type\\\":\\\"UnitNorX\\\""), "edit");
    lf_model *e;
    lf_model_create(&e, 1);
    CHECK(lf_model_load(e, bad) == LF_ERR_FORMAT &&
              strstr(lf_model_error(e), "layer 'conv': constraint 'kernel' must be an object {\"type\": MaxNorm, "
                                        "NonNeg, UnitNorm or MinMaxNorm, max_value, min_value, rate, axis}"),
          "unknown type: %s", lf_model_error(e));
    lf_model_free(e);
    CHECK(check_edit_file(path, bad, "\\\"axis\\\":[0,1]", "\\\"axis\\\":[0,3]"), "edit");
    lf_model_create(&e, 1);
    CHECK(lf_model_load(e, bad) == LF_ERR_FORMAT &&
              strstr(lf_model_error(e), "architecture: layer 'conv': lf_set_constraint: axis 3 is out of range "
                                        "for 'conv.kernel' of rank 3"),
          "axis: %s", lf_model_error(e));
    lf_model_free(e);
    lf_model_free(r), lf_model_free(m);
}

static void test_refusals(void) {
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input(m, 3, "x"), dr = lf_dropout(m, x, 0.5f, "drop"), d = lf_dense(m, dr, 2, LF_ACT_LINEAR, 0, "dense");
    lf_constraint c = lf_constraint_default(LF_CONSTRAINT_MAX_NORM);
    struct {
        int node;
        lf_weight_role role;
        float max_value, min_value, rate;
        int axis;
        lf_constraint_kind kind;
        const char *msg;
    } cases[] = {
        {dr, LF_ROLE_BIAS, 2, 0, 1, 0, LF_CONSTRAINT_MAX_NORM, "lf_set_constraint: layer 'drop' (Dropout) has no bias"},
        {d, LF_ROLE_RECURRENT_KERNEL, 2, 0, 1, 0, LF_CONSTRAINT_MAX_NORM,
         "lf_set_constraint: layer 'dense' (Dense) has no recurrent kernel"},
        {d, LF_ROLE_KERNEL, 2, 0, 1, 2, LF_CONSTRAINT_MAX_NORM,
         "lf_set_constraint: axis 2 is out of range for 'dense.kernel' of rank 2"},
        {d, LF_ROLE_KERNEL, -1, 0, 1, 0, LF_CONSTRAINT_MAX_NORM,
         "lf_set_constraint: max_value must be finite and >= 0, got -1"},
        {d, LF_ROLE_KERNEL, 1, 2, 1, 0, LF_CONSTRAINT_MIN_MAX_NORM,
         "lf_set_constraint: min_value must be finite, >= 0 and <= max_value 1, got 2"},
        {d, LF_ROLE_KERNEL, 1, 0, 1.5f, 0, LF_CONSTRAINT_MIN_MAX_NORM, "lf_set_constraint: rate must be in [0, 1], got 1.5"},
        {7, LF_ROLE_KERNEL, 1, 0, 1, 0, LF_CONSTRAINT_MAX_NORM, "lf_set_constraint: node 7 is not a node of the model"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        c.kind = cases[i].kind, c.max_value = cases[i].max_value, c.min_value = cases[i].min_value;
        c.rate = cases[i].rate, c.axis[0] = cases[i].axis;
        lf_status st = lf_set_constraint(m, cases[i].node, cases[i].role, &c);
        CHECK(st == LF_ERR_ARG && strcmp(lf_model_error(m), cases[i].msg) == 0, "case %zu: %s", i, lf_model_error(m));
    }
    /* two numbers of one axis (Keras' sum over them fails: "dim 0 appears
     * multiple times"), the literal repeat too */
    c = lf_constraint_default(LF_CONSTRAINT_MAX_NORM);
    c.n_axis = 2, c.axis[0] = 0, c.axis[1] = -2;
    CHECK(lf_set_constraint(m, d, LF_ROLE_KERNEL, &c) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_set_constraint: axes 0 and -2 are the same axis of 'dense.kernel' of rank 2") == 0,
          "same axis: %s", lf_model_error(m));
    c.axis[1] = 0;
    CHECK(lf_set_constraint(m, d, LF_ROLE_KERNEL, &c) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_set_constraint: axis 0 is given twice") == 0,
          "axis twice: %s", lf_model_error(m));
    CHECK(lf_get_constraint(m, d, LF_ROLE_KERNEL, &c) == LF_OK && c.kind == LF_CONSTRAINT_NONE, "none set");
    /* a Dense without a bias takes bias_constraint, as Keras; NULL removes it */
    c = lf_constraint_default(LF_CONSTRAINT_NON_NEG);
    CHECK(lf_set_constraint(m, d, LF_ROLE_BIAS, &c) == LF_OK, "use_bias=False: %s", lf_model_error(m));
    CHECK(lf_set_constraint(m, d, LF_ROLE_BIAS, NULL) == LF_OK && lf_get_constraint(m, d, LF_ROLE_BIAS, &c) == LF_OK &&
              c.kind == LF_CONSTRAINT_NONE,
          "removed");
    lf_model_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_constraint_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_hand_values();
    test_fit_holds();
    test_shared_unused_owner();
    test_roles();
    test_refusals();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return check_report("constraint");
}
