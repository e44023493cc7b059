/*
 * test_regularizer.c — Keras' L1, L2 and L1L2 regularizers
 * (keras/src/regularizers/regularizers.py: l1 * sum(|x|) + l2 * sum(x^2))
 * through lf_set_regularizer, against values worked out by hand: on a
 * Dense kernel and bias, on a SimpleRNN's recurrent kernel, and Keras 3's
 * activity regularizer (keras/src/layers/layer.py: the output's penalty
 * divided by the batch's rows) in evaluate, train_on_batch and on a softmax
 * output (which then reads its probabilities); the gradient of |w| at 0
 * (0, as TF's sign); a frozen layer (weights' penalty out, activity's in);
 * a shared layer used through its second call only (its penalties kept);
 * the model file round trip and its refusals; the builder's refusals, word
 * for word.  The finite-difference gradients are in test_grad.
 */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "check.h"
#include "latefuse.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

/* Dense(2) on 2 features, kernel stored (units, in) = [[3, -4], [0, 0.5]],
 * bias [-1, 2]; rows x = (1, 0), (0, 1) give y = (2, 2), (-5, 2.5) */
static const float K0[4] = {3, -4, 0, 0.5f}, B0[2] = {-1, 2}, X[4] = {1, 0, 0, 1}, T0[4] = {0, 0, 0, 0};

static lf_model *dense_model(int *d, lf_activation act, lf_loss loss, const lf_optimizer *o) {
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input(m, 2, "x");
    *d = lf_dense(m, x, 2, act, 1, "dense");
    CHECK(lf_model_compile(m, *d, loss, o) == LF_OK, "compile: %s", lf_model_error(m));
    lf_set_weights(m, "dense", 0, K0, 4), lf_set_weights(m, "dense", 1, B0, 2);
    return m;
}

static double eval(lf_model *m, const float *x, const float *t, size_t n) {
    double l = NAN;
    const float *xs[1] = {x};
    CHECK(lf_model_evaluate(m, xs, t, n, NULL, &l, NULL) == LF_OK, "evaluate: %s", lf_model_error(m));
    return l;
}

static void test_hand_values(void) {
    int d;
    lf_model *m = dense_model(&d, LF_ACT_LINEAR, LF_LOSS_MSE, NULL);
    /* mse on zero targets: rows (4 + 4) / 2 = 4 and (25 + 6.25) / 2 = 15.625 */
    double base = eval(m, X, T0, 2);
    CHECK(fabs(base - 9.8125) < 1e-6, "mse by hand: %.9g", base);
    /* L1(0.1) on the kernel: 0.1 * (3 + 4 + 0 + 0.5) */
    CHECK(lf_set_regularizer(m, d, LF_REG_KERNEL, 0.1f, 0.0f) == LF_OK, "L1: %s", lf_model_error(m));
    CHECK(fabs(eval(m, X, T0, 2) - (base + 0.75)) < 1e-6, "kernel L1: %.9g", eval(m, X, T0, 2) - base);
    /* L1L2(0.1, 0.2): + 0.2 * (9 + 16 + 0 + 0.25); lf_set_l2 sets the same l2 */
    CHECK(lf_set_regularizer(m, d, LF_REG_KERNEL, 0.1f, 0.2f) == LF_OK, "L1L2: %s", lf_model_error(m));
    CHECK(fabs(eval(m, X, T0, 2) - (base + 5.8)) < 1e-6, "kernel L1L2: %.9g", eval(m, X, T0, 2) - base);
    float l1 = -1, l2 = -1;
    CHECK(lf_set_l2(m, d, 0.2f) == LF_OK && lf_get_regularizer(m, d, LF_REG_KERNEL, &l1, &l2) == LF_OK &&
              l1 == 0.1f && l2 == 0.2f,
          "lf_set_l2 keeps l1: %g %g", (double)l1, (double)l2);
    CHECK(lf_set_regularizer(m, d, LF_REG_KERNEL, 0, 0) == LF_OK, "off");
    /* L1(0.3) on the bias: 0.3 * (1 + 2) */
    CHECK(lf_set_regularizer(m, d, LF_REG_BIAS, 0.3f, 0) == LF_OK, "bias: %s", lf_model_error(m));
    CHECK(fabs(eval(m, X, T0, 2) - (base + 0.9)) < 1e-6, "bias L1: %.9g", eval(m, X, T0, 2) - base);
    CHECK(lf_set_regularizer(m, d, LF_REG_BIAS, 0, 0) == LF_OK, "off");
    /* activity L1L2(0.1, 0.2): row 0 0.1 * 4 + 0.2 * 8 = 2, row 1 0.1 * 7.5 +
     * 0.2 * 31.25 = 7; divided by the batch's 2 rows: 4.5 */
    CHECK(lf_set_regularizer(m, d, LF_REG_ACTIVITY, 0.1f, 0.2f) == LF_OK, "activity: %s", lf_model_error(m));
    CHECK(fabs(eval(m, X, T0, 2) - (base + 4.5)) < 1e-6, "activity: %.9g", eval(m, X, T0, 2) - base);
    /* a batch's mean: row 0 alone adds 2, row 1 alone 7 */
    CHECK(fabs(eval(m, X, T0, 1) - (4 + 2.0)) < 1e-6 && fabs(eval(m, X + 2, T0, 1) - (15.625 + 7.0)) < 1e-6,
          "activity of one row: %.9g %.9g", eval(m, X, T0, 1), eval(m, X + 2, T0, 1));
    /* train_on_batch reports the loss before its step: the same sum */
    double tl[2] = {NAN, NAN}; /* 1 + n_outputs values: the total, then the output's (without the penalty) */
    lf_typed_array xa = {LF_DTYPE_FLOAT32, X};
    const float *ts[1] = {T0};
    CHECK(lf_model_train_on_batch(m, &xa, ts, 2, NULL, tl, NULL) == LF_OK, "step: %s", lf_model_error(m));
    CHECK(fabs(tl[0] - (base + 4.5)) < 1e-6 && fabs(tl[1] - base) < 1e-6, "train_on_batch's losses: %.9g %.9g",
          tl[0], tl[1]);
    lf_model_free(m);

    /* a frozen layer: its kernel's penalty is out (Keras 3: trainable
     * weights' only), its activity's is in (a loss of its output) */
    m = dense_model(&d, LF_ACT_LINEAR, LF_LOSS_MSE, NULL);
    lf_set_regularizer(m, d, LF_REG_KERNEL, 0.1f, 0.0f), lf_set_regularizer(m, d, LF_REG_ACTIVITY, 0.1f, 0.2f);
    CHECK(lf_set_trainable(m, d, 0) == LF_OK, "freeze");
    CHECK(fabs(eval(m, X, T0, 2) - (base + 4.5)) < 1e-6, "frozen: %.9g", eval(m, X, T0, 2) - base);
    lf_model_free(m);
}

/* SimpleRNN(2, linear, no bias) over 2 steps of 1 feature, recurrent kernel
 * [[1, -2], [0.5, 0]]: recurrent_regularizer L1L2(0.1, 0.2) adds 0.1 * 3.5 +
 * 0.2 * 5.25 = 1.4; the input kernel takes none of it */
static void test_recurrent(void) {
    lf_model *m;
    lf_model_create(&m, 2);
    int x = lf_input_shape(m, 2, (size_t[]){2, 1}, LF_DTYPE_FLOAT32, "x");
    int r = lf_simple_rnn(m, x, 2, LF_ACT_LINEAR, 0, 0, 0, "rnn");
    CHECK(lf_model_compile(m, r, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    const float u[4] = {1, -2, 0.5f, 0}, k[2] = {7, -9}, xr[2] = {0, 0}, t[2] = {0, 0};
    lf_set_weights(m, "rnn", 0, k, 2), lf_set_weights(m, "rnn", 1, u, 4);
    double base = eval(m, xr, t, 1);
    CHECK(base == 0.0, "zero inputs, zero loss: %g", base);
    CHECK(lf_set_regularizer(m, r, LF_REG_RECURRENT, 0.1f, 0.2f) == LF_OK, "recurrent: %s", lf_model_error(m));
    CHECK(fabs(eval(m, xr, t, 1) - 1.4) < 1e-6, "recurrent L1L2: %.9g", eval(m, xr, t, 1));
    lf_model_free(m);
}

/* The gradient of the L1 term by hand: inputs 0 and targets 0 give the
 * kernel no data gradient (dW = dy x^T = 0), so one SGD step at rate 1
 * moves it by -l1 sign(w): 0 stays 0 (TF's sign(0) = 0) */
static void test_l1_step(void) {
    lf_optimizer o = lf_optimizer_default(LF_OPT_SGD);
    o.learning_rate = 1.0f;
    int d;
    lf_model *m = dense_model(&d, LF_ACT_LINEAR, LF_LOSS_MSE, &o);
    CHECK(lf_set_regularizer(m, d, LF_REG_KERNEL, 0.125f, 0) == LF_OK, "L1: %s", lf_model_error(m));
    const float zx[2] = {0, 0}, bt[2] = {-1, 2}; /* the targets are the outputs: no bias gradient either */
    lf_typed_array xa = {LF_DTYPE_FLOAT32, zx};
    const float *ts[1] = {bt};
    CHECK(lf_model_train_on_batch(m, &xa, ts, 1, NULL, NULL, NULL) == LF_OK, "step: %s", lf_model_error(m));
    float k[4];
    lf_get_weights(m, "dense", 0, k, 4);
    CHECK(k[0] == 2.875f && k[1] == -3.875f && k[2] == 0.0f && k[3] == 0.375f, "after the step: %g %g %g %g",
          (double)k[0], (double)k[1], (double)k[2], (double)k[3]);
    lf_model_free(m);
}

/* a softmax output with an activity regularizer and a cross-entropy: the
 * loss reads its probabilities, both by hand from predict's output */
static void test_softmax_output(void) {
    int d;
    lf_model *m = dense_model(&d, LF_ACT_SOFTMAX, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL);
    CHECK(lf_set_regularizer(m, d, LF_REG_ACTIVITY, 0.5f, 2.0f) == LF_OK, "set: %s", lf_model_error(m));
    const float t[2] = {0, 1};
    float p[4];
    const float *xs[1] = {X};
    CHECK(lf_model_predict(m, xs, 2, p) == LF_OK, "predict");
    double want = 0;
    for (int r = 0; r < 2; r++) {
        want -= log(p[2 * r + (int)t[r]]) / 2;
        for (int j = 0; j < 2; j++) want += (0.5 * p[2 * r + j] + 2.0 * p[2 * r + j] * p[2 * r + j]) / 2;
    }
    CHECK(fabs(eval(m, X, t, 2) - want) < 1e-5, "softmax output: %.9g, by hand %.9g", eval(m, X, t, 2), want);
    lf_model_free(m);
}

static void test_file(void) {
    lf_model *m;
    lf_model_create(&m, 3);
    int x = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
    int e = lf_embedding(m, x, 9, 3, 1, "emb");
    int r = lf_lstm(m, e, 2, 1, 1, 0, 0, "lstm");
    int d = lf_dense(m, r, 2, LF_ACT_SOFTMAX, 1, "dense");
    struct {
        int node;
        lf_reg_target t;
        float l1, l2;
    } set[] = {{e, LF_REG_KERNEL, 0.01f, 0.02f},    {e, LF_REG_ACTIVITY, 0.03f, 0},
               {r, LF_REG_RECURRENT, 0.04f, 0.05f}, {r, LF_REG_BIAS, 0.06f, 0.07f},
               {r, LF_REG_ACTIVITY, 0, 0.08f},      {d, LF_REG_ACTIVITY, 0.09f, 0.1f}};
    size_t ns = sizeof set / sizeof set[0];
    for (size_t i = 0; i < ns; i++)
        CHECK(lf_set_regularizer(m, set[i].node, set[i].t, set[i].l1, set[i].l2) == LF_OK, "set %zu: %s", i,
              lf_model_error(m));
    CHECK(lf_model_compile(m, d, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    const float ids[8] = {1, 2, 3, 0, 4, 5, 0, 0}, t[2] = {0, 1};
    double l0 = eval(m, ids, t, 2);
    char path[128], bad[128];
    snprintf(path, sizeof path, "%s/m.lf", tmpdir);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *b;
    lf_model_create(&b, 4);
    CHECK(lf_model_load(b, path) == LF_OK, "load: %s", lf_model_error(b));
    for (size_t i = 0; i < ns; i++) {
        float l1 = -1, l2 = -1;
        lf_get_regularizer(b, set[i].node, set[i].t, &l1, &l2);
        CHECK(l1 == set[i].l1 && l2 == set[i].l2, "setting %zu back: %g %g", i, (double)l1, (double)l2);
    }
    double l1 = eval(b, ids, t, 2);
    CHECK(l1 == l0, "the loaded model's loss: %.17g, saved %.17g", l1, l0);
    lf_model_free(b);
    /* the loader's checks */
    struct {
        const char *from, *to, *msg;
    } edits[] = {
        {"\\\"recurrent_kernel\\\":{", "\\\"recurrent_kernex\\\":{",
         "architecture: layer 'lstm': 'regularizers' must be an object over kernel, bias, recurrent_kernel, "
         "activity, not recurrent_kernex"},
        {"\\\"kernel\\\":{\\\"l1\\\"", "\\\"kernel\\\":{\\\"l2\\\"",
         "architecture: layer 'emb': regularizer 'kernel' must be an object {\"l1\"}"},
        {"\\\"activity\\\":{\\\"l1\\\":0.09", "\\\"activity\\\":{\\\"l1\\\":-9e2",
         "architecture: layer 'dense': regularizer 'activity': 'l1' must be"},
    };
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        CHECK(check_edit_file(path, bad, edits[i].from, edits[i].to), "edit %zu", i);
        lf_model_create(&b, 1);
        CHECK(lf_model_load(b, bad) == LF_ERR_FORMAT && strstr(lf_model_error(b), edits[i].msg), "edit %zu: %s", i,
              lf_model_error(b));
        lf_model_free(b);
    }
    lf_model_free(m);
}

/* A shared layer whose own node feeds no output (its weights trained
 * through the node sharing them: Model(x, dense(activation(x))) after
 * dense(x)): Keras' model.losses still hold its weights' penalties, and the
 * gradient step moves them by l1 sign(w) */
static void test_shared_unused_owner(void) {
    lf_optimizer o = lf_optimizer_default(LF_OPT_SGD);
    o.learning_rate = 1.0f;
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input(m, 2, "x"), owner = lf_dense(m, x, 2, LF_ACT_LINEAR, 1, "dense");
    int a = lf_activation_layer(m, x, LF_ACT_LINEAR, "a"), d = lf_dense(m, a, 2, LF_ACT_LINEAR, 1, "dense_2");
    CHECK(lf_share_weights(m, d, owner) == LF_OK, "share: %s", lf_model_error(m));
    CHECK(lf_model_compile(m, d, LF_LOSS_MSE, &o) == LF_OK, "compile: %s", lf_model_error(m));
    lf_set_weights(m, "dense", 0, K0, 4), lf_set_weights(m, "dense", 1, B0, 2);
    double base = eval(m, X, T0, 2);
    CHECK(fabs(base - 9.8125) < 1e-6, "mse by hand: %.9g", base);
    /* L1L2(0.1, 0.2) on the kernel: 0.75 + 5.05; L2(0.5) on the bias: 2.5 */
    CHECK(lf_set_regularizer(m, d, LF_REG_KERNEL, 0.1f, 0.2f) == LF_OK, "L1L2: %s", lf_model_error(m));
    CHECK(lf_set_bias_l2(m, owner, 0.5f) == LF_OK, "bias l2: %s", lf_model_error(m));
    double l = eval(m, X, T0, 2);
    CHECK(fabs(l - (base + 5.8 + 2.5)) < 1e-6, "penalties of a shared layer through its second node: %.9g", l - base);
    /* zero inputs, the outputs as targets: the step is the penalties' alone */
    const float zx[2] = {0, 0}, bt[2] = {-1, 2};
    lf_typed_array xa = {LF_DTYPE_FLOAT32, zx};
    const float *ts[1] = {bt};
    CHECK(lf_set_regularizer(m, d, LF_REG_KERNEL, 0.125f, 0) == LF_OK && lf_set_bias_l2(m, owner, 0) == LF_OK,
          "L1 only: %s", lf_model_error(m));
    CHECK(lf_model_train_on_batch(m, &xa, ts, 1, NULL, NULL, NULL) == LF_OK, "step: %s", lf_model_error(m));
    float k[4];
    lf_get_weights(m, "dense", 0, k, 4);
    CHECK(k[0] == 2.875f && k[1] == -3.875f && k[2] == 0.0f && k[3] == 0.375f, "after the step: %g %g %g %g",
          (double)k[0], (double)k[1], (double)k[2], (double)k[3]);
    lf_model_free(m);
}

static void test_refusals(void) {
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input(m, 3, "x"), d = lf_dense(m, x, 2, LF_ACT_LINEAR, 1, "dense");
    CHECK(lf_set_regularizer(m, d, LF_REG_RECURRENT, 0.1f, 0) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_set_regularizer: recurrent_kernel: node 1 is not a LSTM, GRU, SimpleRNN, "
                                        "Bidirectional, ConvLSTM2D, ConvLSTM1D or ConvLSTM3D layer") == 0,
          "recurrent on a Dense: %s", lf_model_error(m));
    CHECK(lf_set_regularizer(m, x, LF_REG_ACTIVITY, 0.1f, 0) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_set_regularizer: activity: node 0 is not a Dense, Conv2D, Embedding, "
                                        "Conv1D, LSTM, GRU, SimpleRNN, Bidirectional, ActivityRegularization, Conv3D, "
                                        "Conv3DTranspose, ConvLSTM2D, ConvLSTM1D or ConvLSTM3D layer") == 0,
          "activity on an input: %s", lf_model_error(m));
    CHECK(lf_set_regularizer(m, d, LF_REG_ACTIVITY, -0.1f, 0) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_set_regularizer: activity: l1 and l2 must be finite and >= 0") == 0,
          "negative: %s", lf_model_error(m));
    CHECK(lf_set_regularizer(m, d, LF_REG_KERNEL, 0, INFINITY) == LF_ERR_ARG, "infinite");
    CHECK(lf_set_regularizer(m, d, (lf_reg_target)7, 0.1f, 0) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_set_regularizer: unknown target 7") == 0,
          "target: %s", lf_model_error(m));
    CHECK(lf_get_regularizer(m, 9, LF_REG_KERNEL, NULL, NULL) == LF_ERR_ARG, "get on no node");
    lf_model_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_regularizer_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_hand_values();
    test_recurrent();
    test_l1_step();
    test_softmax_output();
    test_file();
    test_shared_unused_owner();
    test_refusals();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0) return 1;
    return check_report("regularizer");
}
