/*
 * test_outputs.c — models with several outputs and loss weights, frozen
 * layers, and typed (int32, uint8) input arrays:
 *   - the gradients of sum_k w_k loss_k against finite differences, with
 *     outputs that also feed the fusion layer and outputs fused with their
 *     logits; evaluate's total and per-output losses; predict per output;
 *   - one output of weight 1 through lf_model_compile_outputs trains bit
 *     for bit as lf_model_compile; the model file keeps outputs, losses and
 *     loss weights; the errors of the single-output calls and of compile;
 *   - a frozen layer (Dense, BatchNormalization) is bit-identical after fit,
 *     its optimizer moments stay zero, it counts as non-trainable, a frozen
 *     BatchNormalization normalises by its moving statistics in training,
 *     freezing after compile works, the flag is saved;
 *   - use_ema leaves BatchNormalization's moving statistics as training
 *     left them;
 *   - int32 and uint8 arrays give bit-identical results to the same values
 *     as floats, and out-of-range int32 values are refused;
 *   - LF_LOSS_NONE (Keras' loss=None for one output): gradients, the same
 *     bits as loss weight 0, NULL targets, NaN losses, the file.
 */
#include "check.h"
#include "engine_util.h"
#include "io/safetensors.h"
#include "layers/layer.h"
#include "model_io.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

/* ------------------------------------------------ finite differences */

#define ATOL 2e-3
#define RTOL 2e-2

static double loss_at(lf_model *m, const float *const *x, const float *t, size_t n) {
    double l = 0;
    lf__loss_and_grads(m, x, t, n, 0, 0, &l, NULL);
    return l;
}

/* every parameter's gradient and every input's against central differences;
 * the largest difference must stand well above the tolerance */
static void fd_check(const char *what, lf_model *m, float **x, const float *t, size_t n) {
    size_t ni = lf_model_num_inputs(m), np = m->n_params;
    float *ig[4];
    for (size_t i = 0; i < ni; i++) ig[i] = calloc(n * lf_model_input_dim(m, i), sizeof(float));
    double l0;
    CHECK(lf__loss_and_grads(m, (const float *const *)x, t, n, 0, 0, &l0, ig) == LF_OK, "%s: loss_and_grads", what);
    float *ana = malloc(np * sizeof *ana), *num = malloc(np * sizeof *num);
    memcpy(ana, m->grads, np * sizeof *ana);
    for (size_t j = 0; j < np; j++) {
        float w = m->params[j], h = 1e-3f * (fabsf(w) > 1 ? fabsf(w) : 1);
        m->params[j] = w + h;
        double lp = loss_at(m, (const float *const *)x, t, n);
        m->params[j] = w - h;
        double lm = loss_at(m, (const float *const *)x, t, n);
        m->params[j] = w;
        num[j] = (float)((lp - lm) / (2.0 * h));
    }
    char label[160];
    snprintf(label, sizeof label, "%s: parameter gradients", what);
    CHECK_CLOSE(label, ana, num, np, ATOL, RTOL);
    float big = 0;
    for (size_t j = 0; j < np; j++) big = fabsf(num[j]) > big ? fabsf(num[j]) : big;
    CHECK(big >= 10 * ATOL, "%s: largest finite difference %.3g too small", what, (double)big);
    for (size_t i = 0; i < ni; i++) {
        size_t cnt = n * lf_model_input_dim(m, i);
        float *numi = malloc(cnt * sizeof *numi);
        for (size_t j = 0; j < cnt; j++) {
            float v = x[i][j], h = 1e-3f;
            x[i][j] = v + h;
            double lp = loss_at(m, (const float *const *)x, t, n);
            x[i][j] = v - h;
            double lm = loss_at(m, (const float *const *)x, t, n);
            x[i][j] = v;
            numi[j] = (float)((lp - lm) / (2.0 * h));
        }
        snprintf(label, sizeof label, "%s: gradient of input %zu", what, i);
        CHECK_CLOSE(label, ig[i], numi, cnt, ATOL, RTOL);
        free(numi);
        free(ig[i]);
    }
    free(ana), free(num);
}

/* ------------------------------------------------ the two-branch model */

#define NA 6
#define NB 5
#define C 3

/* Two branches, each ending in Dense(3, softmax) ("out_a", "out_b"),
 * their WeightedAverage ("fused"); outputs fused, out_a, out_b with loss
 * weights 1, .5, .5 (the branches' outputs also feed the fusion layer). */
static lf_model *two_branch(uint64_t seed, const float *weights, int compile) {
    lf_model *m;
    lf_model_create(&m, seed);
    int a = lf_input(m, NA, "a"), b = lf_input(m, NB, "b");
    int ha = lf_dense(m, a, 8, LF_ACT_TANH, 1, "ha"), hb = lf_dense(m, b, 8, LF_ACT_RELU, 1, "hb");
    int oa = lf_dense(m, ha, C, LF_ACT_SOFTMAX, 1, "out_a"), ob = lf_dense(m, hb, C, LF_ACT_SOFTMAX, 1, "out_b");
    int f = lf_weighted_average(m, 2, (int[]){oa, ob}, -1, "fused");
    if (compile) {
        lf_loss losses[3] = {LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                             LF_LOSS_CATEGORICAL_CROSSENTROPY};
        float w[3] = {1.0f, 0.5f, 0.5f};
        lf_status st = lf_model_compile_outputs(m, 3, (int[]){f, oa, ob}, losses, weights ? weights : w, NULL);
        CHECK(st == LF_OK, "compile: %s", lf_model_error(m));
    }
    return m;
}

/* inputs (scaled so that gradients stand above the tolerance), labels and
 * their one-hot form; targets laid out as lf__loss_and_grads reads them:
 * output 0's n x 1, output 1's n x 1, output 2's n x C */
typedef struct task {
    size_t n;
    float *a, *b, *lab, *onehot, *t;
} task;

static task make_task(size_t n, uint64_t seed) {
    task k = {n, malloc(n * NA * sizeof(float)), malloc(n * NB * sizeof(float)), malloc(n * sizeof(float)),
              calloc(n * C, sizeof(float)), malloc(n * (2 + C) * sizeof(float))};
    fill_uniform(k.a, n * NA, -2, 2, seed);
    fill_uniform(k.b, n * NB, -2, 2, seed + 1);
    for (size_t r = 0; r < n; r++) {
        size_t c = (k.a[r * NA] + k.b[r * NB + 1] > 0) + (k.a[r * NA + 2] > 0.5f);
        k.lab[r] = (float)c;
        k.onehot[r * C + c] = 1.0f;
    }
    memcpy(k.t, k.lab, n * sizeof(float));
    memcpy(k.t + n, k.lab, n * sizeof(float));
    memcpy(k.t + 2 * n, k.onehot, n * C * sizeof(float));
    return k;
}

static void free_task(task *k) { free(k->a), free(k->b), free(k->lab), free(k->onehot), free(k->t); }

static void test_gradients(void) {
    task k = make_task(7, 5);
    lf_model *m = two_branch(3, NULL, 1);
    CHECK(lf_model_num_outputs(m) == 3 && lf_model_output_node(m, 1) == lf_node_find(m, "out_a") &&
              lf_model_output_node(m, 3) == -1,
          "outputs listed");
    /* out_a and out_b feed the fusion layer: not fused with their logits */
    CHECK(!m->outs[1].fused && !m->outs[2].fused, "an output that feeds another layer is fused");
    /* the branch weights get gradient from two losses; scaled x3 so the
     * weighted average's W stands above the tolerance */
    for (size_t j = 0; j < m->n_params; j++) m->params[j] *= 3.0f;
    float *x[2] = {k.a, k.b};
    fd_check("three outputs, weights 1 .5 .5", m, x, k.t, k.n);
    lf_set_l2(m, lf_node_find(m, "ha"), 0.01f);
    fd_check("three outputs with an L2 penalty", m, x, k.t, k.n);
    lf_model_free(m);

    /* outputs fused with their logits (softmax + cross-entropy, sigmoid +
     * binary) beside a regression output, weights 0.3, 2, 0.7 */
    lf_model_create(&m, 9);
    int a = lf_input(m, NA, "a");
    int h = lf_dense(m, a, 6, LF_ACT_GELU, 1, "h");
    int o1 = lf_dense(m, h, C, LF_ACT_SOFTMAX, 1, "cls");
    int o2 = lf_dense(m, h, 2, LF_ACT_LINEAR, 1, "reg");
    int o3 = lf_dense(m, h, 1, LF_ACT_SIGMOID, 1, "bin");
    lf_loss losses[3] = {LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LF_LOSS_MSE, LF_LOSS_BINARY_CROSSENTROPY};
    CHECK(lf_model_compile_outputs(m, 3, (int[]){o1, o2, o3}, losses, (float[]){0.3f, 2.0f, 0.7f}, NULL) == LF_OK,
          "compile: %s", lf_model_error(m));
    CHECK(m->outs[0].fused && !m->outs[1].fused && m->outs[2].fused, "fused outputs");
    size_t n = k.n;
    float *t = malloc(n * 4 * sizeof *t);
    memcpy(t, k.lab, n * sizeof *t);
    for (size_t r = 0; r < n; r++) {
        t[n + 2 * r] = k.a[r * NA + 1], t[n + 2 * r + 1] = -k.a[r * NA + 3];
        t[3 * n + r] = k.a[r * NA + 4] > 0;
    }
    for (size_t j = 0; j < m->n_params; j++) m->params[j] *= 2.0f;
    float *x1[1] = {k.a};
    fd_check("fused and regression outputs, weights .3 2 .7", m, x1, t, n);
    /* the total is sum_k w_k loss_k: each loss alone from evaluate */
    double losses_out[4], accs[3], total;
    lf_typed_array xa[1] = {{LF_DTYPE_FLOAT32, k.a}};
    const float *ys[3] = {t, t + n, t + 3 * n};
    CHECK(lf_model_evaluate_arrays(m, xa, ys, n, NULL, losses_out, accs) == LF_OK, "evaluate: %s", lf_model_error(m));
    lf__loss_and_grads(m, (const float *const *)x1, t, n, 0, 0, &total, NULL);
    double sum = (double)0.3f * losses_out[1] + 2.0 * losses_out[2] + (double)0.7f * losses_out[3];
    CHECK(fabs(losses_out[0] - sum) < 1e-12 * fabs(sum) && fabs(losses_out[0] - total) < 1e-12 * fabs(sum),
          "total %.17g, sum of weighted losses %.17g, training loss %.17g", losses_out[0], sum, total);
    CHECK(isnan(accs[1]) && !isnan(accs[0]) && !isnan(accs[2]), "accuracy NaN for the regression output only");
    /* each output's loss as a single-output model computes it */
    lf_model *s;
    lf_model_create(&s, 9);
    a = lf_input(s, NA, "a");
    h = lf_dense(s, a, 6, LF_ACT_GELU, 1, "h");
    o2 = lf_dense(s, h, 2, LF_ACT_LINEAR, 1, "reg");
    lf_model_compile(s, o2, LF_LOSS_MSE, NULL);
    for (int w = 0; w < 2; w++) {
        const char *ln[2] = {"h", "reg"};
        float buf[64];
        size_t cnt;
        lf_layer_weight_shape(m, ln[0], (size_t)w, NULL, &cnt);
        for (int l = 0; l < 2; l++) {
            lf_layer_weight_shape(m, ln[l], (size_t)w, NULL, &cnt);
            lf_get_weights(m, ln[l], (size_t)w, buf, cnt);
            lf_set_weights(s, ln[l], (size_t)w, buf, cnt);
        }
    }
    double ls;
    const float *xs1[1] = {k.a};
    CHECK(lf_model_evaluate(s, xs1, t + n, n, NULL, &ls, NULL) == LF_OK, "evaluate single");
    CHECK(ls == losses_out[2], "output 'reg' loss %.17g, alone %.17g", losses_out[2], ls);
    /* predict: every output, as the forward pass computes it */
    float *p[3] = {malloc(n * C * sizeof(float)), malloc(n * 2 * sizeof(float)), malloc(n * sizeof(float))};
    CHECK(lf_model_predict_arrays(m, xa, n, p) == LF_OK, "predict");
    float *nodes[8] = {0};
    for (int i = 2; i < 5; i++) nodes[i] = malloc(n * C * sizeof(float));
    lf__forward_nodes(m, (const float *const *)x1, n, nodes);
    CHECK(memcmp(p[0], nodes[2], n * C * sizeof(float)) == 0 && memcmp(p[1], nodes[3], n * 2 * sizeof(float)) == 0 &&
              memcmp(p[2], nodes[4], n * sizeof(float)) == 0,
          "predict_arrays differs from the forward pass");
    for (int i = 0; i < 3; i++) free(p[i]);
    for (int i = 2; i < 5; i++) free(nodes[i]);
    free(t);
    lf_model_free(m), lf_model_free(s);
    free_task(&k);
}

/* one output of weight 1 through lf_model_compile_outputs and the _arrays
 * calls: the same bits as lf_model_compile and lf_model_fit */
static void test_single_same(void) {
    task k = make_task(64, 21);
    lf_model *m[2];
    for (int v = 0; v < 2; v++) {
        lf_model_create(&m[v], 4);
        int a = lf_input(m[v], NA, "a");
        int h = lf_dense(m[v], a, 8, LF_ACT_RELU, 1, "h");
        int o = lf_dense(m[v], h, C, LF_ACT_SOFTMAX, 1, "o");
        lf_loss l = LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
        if (v == 0) lf_model_compile(m[v], o, l, NULL);
        else CHECK(lf_model_compile_outputs(m[v], 1, &o, &l, (float[]){1.0f}, NULL) == LF_OK, "compile");
    }
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 3, o.batch_size = 16, o.validation_split = 0.25f;
    const float *xs[1] = {k.a};
    lf_typed_array xa[1] = {{LF_DTYPE_FLOAT32, k.a}};
    const float *ys[1] = {k.lab};
    CHECK(lf_model_fit(m[0], xs, k.lab, k.n, &o) == LF_OK, "fit");
    CHECK(lf_model_fit_arrays(m[1], xa, ys, k.n, &o) == LF_OK, "fit_arrays: %s", lf_model_error(m[1]));
    CHECK(memcmp(m[0]->params, m[1]->params, m[0]->n_params * sizeof(float)) == 0, "weights differ");
    const lf_history *h0 = lf_model_history(m[0]), *h1 = lf_model_history(m[1]);
    CHECK(h1->n_outputs == 1 && h0->loss[2] == h1->loss[2] && h0->val_accuracy[2] == h1->val_accuracy[2] &&
              h1->output_accuracy[2] == h1->accuracy[2] && h1->val_output_loss[2] == h1->val_loss[2],
          "history differs");
    lf_model_free(m[0]), lf_model_free(m[1]);
    free_task(&k);
}

static void test_fit_and_file(void) {
    task k = make_task(120, 31);
    lf_model *m = two_branch(7, NULL, 1);
    lf_typed_array xa[2] = {{LF_DTYPE_FLOAT32, k.a}, {LF_DTYPE_FLOAT32, k.b}};
    const float *ys[3] = {k.lab, k.lab, k.onehot};
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 30, o.batch_size = 20, o.validation_split = 0.25f;
    double before[4], after[4], acc[3];
    CHECK(lf_model_evaluate_arrays(m, xa, ys, k.n, NULL, before, NULL) == LF_OK, "evaluate");
    CHECK(lf_model_fit_arrays(m, xa, ys, k.n, &o) == LF_OK, "fit: %s", lf_model_error(m));
    CHECK(lf_model_evaluate_arrays(m, xa, ys, k.n, NULL, after, acc) == LF_OK, "evaluate");
    CHECK(after[0] < 0.8 * before[0] && after[1] < before[1] && after[2] < before[2] && after[3] < before[3],
          "training lowered the losses: %.4f %.4f %.4f %.4f -> %.4f %.4f %.4f %.4f", before[0], before[1],
          before[2], before[3], after[0], after[1], after[2], after[3]);
    const lf_history *h = lf_model_history(m);
    size_t E = h->epochs;
    CHECK(h->n_outputs == 3 && isnan(h->accuracy[0]) && !isnan(h->output_accuracy[2 * E + E - 1]) &&
              !isnan(h->val_output_loss[E - 1]),
          "per-output history");
    double w_sum = h->output_loss[E - 1] + 0.5 * h->output_loss[E + E - 1] + 0.5 * h->output_loss[2 * E + E - 1];
    CHECK(fabs(h->loss[E - 1] - w_sum) < 1e-9, "epoch loss %.12g, weighted sum of output losses %.12g",
          h->loss[E - 1], w_sum);
    /* the file keeps outputs, losses and weights: the same evaluation */
    char path[96];
    snprintf(path, sizeof path, "%s/multi.safetensors", tmpdir);
    CHECK(lf_model_save(m, path, LF_SAVE_OPTIMIZER) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *c;
    lf_model_create(&c, 0);
    CHECK(lf_model_load(c, path) == LF_OK, "load: %s", lf_model_error(c));
    double again[4];
    CHECK(lf_model_num_outputs(c) == 3 && c->outs[1].weight == 0.5f && c->outs[2].loss == LF_LOSS_CATEGORICAL_CROSSENTROPY,
          "outputs loaded");
    CHECK(lf_model_evaluate_arrays(c, xa, ys, k.n, NULL, again, NULL) == LF_OK &&
              memcmp(again, after, sizeof again) == 0,
          "loaded model evaluates differently");
    remove(path);
    lf_model_free(c);

    /* errors: the single-output calls, bad compiles */
    const float *xs[2] = {k.a, k.b};
    CHECK(lf_model_fit(m, xs, k.lab, k.n, NULL) == LF_ERR_STATE &&
              strcmp(lf_model_error(m), "fit: the model has 3 outputs; give one target array per output with "
                                        "lf_model_fit_arrays") == 0,
          "fit on 3 outputs: %s", lf_model_error(m));
    CHECK(lf_model_evaluate(m, xs, k.lab, k.n, NULL, NULL, NULL) == LF_ERR_STATE, "evaluate on 3 outputs");
    float *p = malloc(k.n * C * sizeof *p);
    CHECK(lf_model_predict(m, xs, k.n, p) == LF_ERR_STATE, "predict on 3 outputs");
    free(p);
    o.class_weight = (float[]){1, 1, 1}, o.n_class_weight = 3;
    CHECK(lf_model_fit_arrays(m, xa, ys, k.n, &o) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "fit: class weights need a model with one output (use sample weights "
                                        "with several outputs)") == 0,
          "class weights: %s", lf_model_error(m));
    float *lab = malloc(k.n * sizeof *lab);
    memcpy(lab, k.lab, k.n * sizeof *lab);
    lab[4] = 3.0f;
    const float *bad[3] = {k.lab, lab, k.onehot};
    CHECK(lf_model_fit_arrays(m, xa, bad, k.n, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "fit: output 'out_a': label 3 at row 4 is not a class in 0..2") == 0,
          "wrong targets: %s", lf_model_error(m));
    free(lab);
    lf_model_free(m);
    lf_model *e = two_branch(1, NULL, 0);
    int oa = lf_node_find(e, "out_a");
    lf_loss l2[2] = {LF_LOSS_MSE, LF_LOSS_MSE};
    CHECK(lf_model_compile_outputs(e, 2, (int[]){oa, oa + 1}, l2, (float[]){1, -0.5f}, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(e), "compile: the loss weight of output 'out_b' must be finite and >= 0") == 0,
          "negative weight: %s", lf_model_error(e));
    CHECK(lf_model_compile_outputs(e, 2, (int[]){oa, oa}, l2, NULL, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(e), "compile: 'out_a' is listed twice as an output") == 0,
          "twice: %s", lf_model_error(e));
    CHECK(lf_model_compile_outputs(e, 2, (int[]){oa, 0}, l2, NULL, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(e), "compile: output 'a' is an input layer") == 0,
          "input as output: %s", lf_model_error(e));
    CHECK(lf_model_compile_outputs(e, 1, &oa, l2, NULL, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(e), "compile: input 'b' is not connected to the output") == 0,
          "disconnected: %s", lf_model_error(e));
    lf_model_free(e);
    free_task(&k);
}

/* ------------------------------------------------ frozen layers */

static lf_model *bn_model(uint64_t seed, int use_ema) {
    lf_model *m;
    lf_model_create(&m, seed);
    int a = lf_input(m, NA, "a");
    int h = lf_dense(m, a, 8, LF_ACT_RELU, 1, "h");
    int bn = lf_batch_normalization(m, h, 0.9f, 1e-3f, "bn");
    int o = lf_dense(m, bn, C, LF_ACT_SOFTMAX, 1, "o");
    lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
    opt.learning_rate = 0.01f, opt.use_ema = use_ema, opt.ema_momentum = 0.9f;
    lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &opt);
    return m;
}

/* the values of a layer's weight idx */
static float *weights_of(lf_model *m, const char *layer, size_t idx, size_t *cnt) {
    lf_layer_weight_shape(m, layer, idx, NULL, cnt);
    float *w = malloc(*cnt * sizeof *w);
    lf_get_weights(m, layer, idx, w, *cnt);
    return w;
}

static int same_weights(lf_model *a, lf_model *b, const char *layer) {
    int same = 1;
    for (size_t i = 0; i < lf_layer_num_weights(a, layer); i++) {
        size_t n1, n2;
        float *w1 = weights_of(a, layer, i, &n1), *w2 = weights_of(b, layer, i, &n2);
        same &= n1 == n2 && memcmp(w1, w2, n1 * sizeof *w1) == 0;
        free(w1), free(w2);
    }
    return same;
}

static void test_frozen(void) {
    task k = make_task(96, 41);
    const float *xs[1] = {k.a};
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 4, o.batch_size = 16;
    /* h and bn frozen after compile; o trains */
    lf_model *m = bn_model(5, 0), *ref = bn_model(5, 0);
    int h = lf_node_find(m, "h"), bn = lf_node_find(m, "bn");
    CHECK(lf_set_trainable(m, h, 0) == LF_OK && lf_set_trainable(m, bn, 0) == LF_OK, "set_trainable");
    CHECK(lf_node_trainable(m, h) == 0 && lf_node_trainable(m, 3) == 1 && lf_node_trainable(m, 9) == -1,
          "lf_node_trainable");
    CHECK(lf_set_trainable(m, 9, 0) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_set_trainable: node 9 is not a node of this model") == 0,
          "bad node: %s", lf_model_error(m));
    CHECK(lf_model_fit(m, xs, k.lab, k.n, &o) == LF_OK, "fit: %s", lf_model_error(m));
    CHECK(same_weights(m, ref, "h") && same_weights(m, ref, "bn"), "a frozen layer's weights changed");
    CHECK(!same_weights(m, ref, "o"), "the trainable layer did not train");
    int moments_zero = 1;
    for (size_t j = 0; j < m->nodes[3].param_off; j++) moments_zero &= m->m1[j] == 0 && m->m2[j] == 0;
    CHECK(moments_zero, "a frozen layer's optimizer moments moved");
    /* a frozen BatchNormalization normalises by its moving statistics in
     * training: the training pass gives what the inference pass gives */
    size_t n = k.n;
    float *tr = malloc(n * 8 * sizeof(float)), *inf = malloc(n * 8 * sizeof(float));
    lf_ws ws;
    lf_ws_init(&ws, m, n, 1, NULL, 0);
    lf_graph_forward(m, &ws, xs, n, 1, &m->rng);
    memcpy(tr, ws.out[bn], n * 8 * sizeof(float));
    lf_graph_forward(m, &ws, xs, n, 0, NULL);
    memcpy(inf, ws.out[bn], n * 8 * sizeof(float));
    lf_ws_free(&ws);
    CHECK(memcmp(tr, inf, n * 8 * sizeof(float)) == 0, "a frozen BatchNormalization used batch statistics");
    free(tr), free(inf);
    /* summary: the frozen weights are non-trainable (h 6*8+8, bn 4*8) */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    lf_model_summary(m, f);
    fclose(f);
    CHECK(strstr(text, " Trainable params: 27 (0.11 KB)") && strstr(text, " Non-trainable params: 88 (0.34 KB)"),
          "summary:\n%s", text);
    free(text);
    /* the flag is saved; the loaded model trains the same way */
    char path[96];
    snprintf(path, sizeof path, "%s/frozen.safetensors", tmpdir);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save");
    lf_model *c;
    lf_model_create(&c, 0);
    CHECK(lf_model_load(c, path) == LF_OK, "load: %s", lf_model_error(c));
    CHECK(lf_node_trainable(c, h) == 0 && lf_node_trainable(c, bn) == 0 && lf_node_trainable(c, 3) == 1,
          "trainable flags loaded");
    CHECK(lf_model_fit(c, xs, k.lab, k.n, &o) == LF_OK && same_weights(c, ref, "h") && same_weights(c, ref, "bn"),
          "the loaded frozen layers trained");
    remove(path);
    lf_model_free(c);
    /* with use_ema too: the average leaves a frozen layer alone (m w +
     * (1 - m) w need not round back to w) */
    lf_model *e = bn_model(5, 1);
    lf_set_trainable(e, h, 0);
    CHECK(lf_model_fit(e, xs, k.lab, k.n, &o) == LF_OK && same_weights(e, ref, "h"),
          "use_ema moved a frozen layer");
    lf_model_free(e);
    /* unfrozen again: it trains */
    lf_set_trainable(m, h, 1);
    CHECK(lf_model_fit(m, xs, k.lab, k.n, &o) == LF_OK && !same_weights(m, ref, "h") && same_weights(m, ref, "bn"),
          "unfreezing");
    lf_model_free(m), lf_model_free(ref);

    /* a whole branch frozen in a multi-output model, before compile */
    lf_model *t = two_branch(11, NULL, 0), *r = two_branch(11, NULL, 1);
    lf_set_trainable(t, lf_node_find(t, "ha"), 0);
    lf_set_trainable(t, lf_node_find(t, "out_a"), 0);
    lf_loss losses[3] = {LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                         LF_LOSS_CATEGORICAL_CROSSENTROPY};
    lf_model_compile_outputs(t, 3, (int[]){lf_node_find(t, "fused"), lf_node_find(t, "out_a"), lf_node_find(t, "out_b")},
                             losses, (float[]){1, 0.5f, 0.5f}, NULL);
    lf_set_l2(t, lf_node_find(t, "ha"), 0.1f); /* no penalty gradient either */
    lf_typed_array xa[2] = {{LF_DTYPE_FLOAT32, k.a}, {LF_DTYPE_FLOAT32, k.b}};
    const float *ys[3] = {k.lab, k.lab, k.onehot};
    CHECK(lf_model_fit_arrays(t, xa, ys, k.n, &o) == LF_OK, "fit: %s", lf_model_error(t));
    CHECK(same_weights(t, r, "ha") && same_weights(t, r, "out_a") && !same_weights(t, r, "hb") &&
              !same_weights(t, r, "fused"),
          "frozen branch");
    /* nothing below a frozen branch trains: backward never reaches it */
    CHECK(!t->nodes[lf_node_find(t, "ha")].grad_needed && t->nodes[lf_node_find(t, "hb")].grad_needed,
          "backward plan");
    lf_model_free(t), lf_model_free(r);
    free_task(&k);
}

/* use_ema averages the weights that train, not the moving statistics,
 * which stay as training left them (and training is the same with or
 * without the average: it is written back when fit ends) */
static void test_ema_fixed(void) {
    task k = make_task(96, 51);
    const float *xs[1] = {k.a};
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 3, o.batch_size = 16;
    lf_model *plain = bn_model(6, 0), *ema = bn_model(6, 1);
    CHECK(lf_model_fit(plain, xs, k.lab, k.n, &o) == LF_OK && lf_model_fit(ema, xs, k.lab, k.n, &o) == LF_OK, "fit");
    size_t n1, n2;
    for (size_t i = 2; i < 4; i++) {
        float *a = weights_of(plain, "bn", i, &n1), *b = weights_of(ema, "bn", i, &n2);
        CHECK(memcmp(a, b, n1 * sizeof *a) == 0, "moving statistic %zu averaged by use_ema", i);
        free(a), free(b);
    }
    float *a = weights_of(plain, "bn", 0, &n1), *b = weights_of(ema, "bn", 0, &n2);
    CHECK(memcmp(a, b, n1 * sizeof *a) != 0, "gamma not averaged");
    free(a), free(b);
    lf_model_free(plain), lf_model_free(ema);
    free_task(&k);
}

/* ------------------------------------------------ typed arrays */

static void test_typed(void) {
    size_t n = 80, D = 4;
    int32_t *ids = malloc(n * D * sizeof *ids);
    uint8_t *px = malloc(n * D * sizeof *px);
    float *fi = malloc(n * D * sizeof *fi), *fp = malloc(n * D * sizeof *fp), *y = malloc(n * sizeof *y);
    lf_rng r;
    lf_rng_seed(&r, 3);
    for (size_t j = 0; j < n * D; j++) {
        ids[j] = (int32_t)lf_rng_below(&r, 2000) - 1000;
        px[j] = (uint8_t)lf_rng_below(&r, 256);
        fi[j] = (float)ids[j], fp[j] = (float)px[j];
    }
    ids[5] = 16777216, fi[5] = 16777216.0f; /* 2^24: still exact */
    for (size_t i = 0; i < n; i++) y[i] = (float)((ids[i * D] > 0) + (px[i * D + 1] > 128));
    lf_model *m[2];
    for (int v = 0; v < 2; v++) {
        lf_model_create(&m[v], 8);
        size_t d = D;
        int a = lf_input_shape(m[v], 1, &d, LF_DTYPE_INT32, "ids");
        int b = lf_input(m[v], D, "pixels");
        int sa = lf_rescaling(m[v], a, 1e-3f, 0, "sa"), sb = lf_rescaling(m[v], b, 1.0f / 255, 0, "sb");
        int c = lf_concatenate(m[v], 2, (int[]){sa, sb}, "cat");
        int o = lf_dense(m[v], c, C, LF_ACT_SOFTMAX, 1, "o");
        lf_model_compile(m[v], o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL);
    }
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 3, o.batch_size = 16, o.validation_split = 0.2f;
    lf_typed_array typed[2] = {{LF_DTYPE_INT32, ids}, {LF_DTYPE_UINT8, px}};
    const float *xs[2] = {fi, fp}, *ys[1] = {y};
    CHECK(lf_model_fit(m[0], xs, y, n, &o) == LF_OK, "fit floats");
    CHECK(lf_model_fit_arrays(m[1], typed, ys, n, &o) == LF_OK, "fit typed: %s", lf_model_error(m[1]));
    CHECK(memcmp(m[0]->params, m[1]->params, m[0]->n_params * sizeof(float)) == 0,
          "int32/uint8 arrays train differently from the same values as floats");
    double l0, a0, l1[2], a1;
    CHECK(lf_model_evaluate(m[0], xs, y, n, NULL, &l0, &a0) == LF_OK &&
              lf_model_evaluate_arrays(m[1], typed, ys, n, NULL, l1, &a1) == LF_OK && l0 == l1[0] && a0 == a1,
          "evaluate differs");
    float *p0 = malloc(n * C * sizeof *p0), *p1 = malloc(n * C * sizeof *p1);
    CHECK(lf_model_predict(m[0], xs, n, p0) == LF_OK && lf_model_predict_arrays(m[1], typed, n, &p1) == LF_OK &&
              memcmp(p0, p1, n * C * sizeof *p0) == 0,
          "predict differs");
    /* beyond 2^24 an int32 is not exact as a float: refused */
    ids[7 * D + 2] = -16777217;
    CHECK(lf_model_fit_arrays(m[1], typed, ys, n, &o) == LF_ERR_NUMERIC &&
              strcmp(lf_model_error(m[1]), "fit: input 'ids' holds -16777217 at row 7, column 2, outside "
                                           "[-2^24, 2^24] (an int32 value must be exact as a float32)") == 0,
          "out of range: %s", lf_model_error(m[1]));
    CHECK(lf_model_predict_arrays(m[1], typed, n, &p1) == LF_ERR_NUMERIC, "predict out of range");
    ids[7 * D + 2] = 0;
    typed[1].dtype = (lf_dtype)7;
    CHECK(lf_model_evaluate_arrays(m[1], typed, ys, n, NULL, NULL, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(m[1]), "evaluate: input 1 ('pixels') has an unknown dtype 7") == 0,
          "bad dtype: %s", lf_model_error(m[1]));
    lf_model *u;
    lf_model_create(&u, 1);
    size_t d = 3;
    CHECK(lf_input_shape(u, 1, &d, LF_DTYPE_UINT8, "u") < 0 &&
              strcmp(lf_model_error(u), "InputLayer: an input holds float32 or int32 values; declare a float32 "
                                        "input and give it a uint8 array") == 0,
          "uint8 input: %s", lf_model_error(u));
    lf_model_free(u);
    free(p0), free(p1);
    lf_model_free(m[0]), lf_model_free(m[1]);
    free(ids), free(px), free(fi), free(fp), free(y);
}

/* lf_model_set_metrics: compile's metric names kept as compact JSON, in
 * the file and back; refusals word for word, a refused text changing
 * nothing */
static void test_metrics_kept(void) {
    lf_model *m, *c;
    lf_model_create(&m, 1);
    int in = lf_input(m, 3, "x");
    int a = lf_dense(m, in, 2, LF_ACT_SOFTMAX, 1, "a"), b = lf_dense(m, in, 1, LF_ACT_LINEAR, 1, "b");
    CHECK(lf_model_set_metrics(m, "[\"accuracy\"]", NULL) == LF_ERR_STATE &&
              strcmp(lf_model_error(m), "lf_model_set_metrics: compile the model first") == 0,
          "metrics before compile: %s", lf_model_error(m));
    int outs[2] = {a, b};
    lf_loss losses[2] = {LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LF_LOSS_MSE};
    float ws[2] = {1, 1};
    lf_model_compile_outputs(m, 2, outs, losses, ws, NULL);
    CHECK(lf_model_metrics(m, 0) == NULL && lf_model_metrics(m, 1) == NULL, "no metrics after compile");
    CHECK(lf_model_set_metrics(m, " { \"a\" : [ \"accuracy\", \"AUC\" ], \"b\": null } ", "[\"mae\"]") == LF_OK,
          "set: %s", lf_model_error(m));
    CHECK(strcmp(lf_model_metrics(m, 0), "{\"a\":[\"accuracy\",\"AUC\"],\"b\":null}") == 0 &&
              strcmp(lf_model_metrics(m, 1), "[\"mae\"]") == 0,
          "kept: %s %s", lf_model_metrics(m, 0), lf_model_metrics(m, 1));
    static const char *const bad[] = {"[[\"acc\", 3]]", "\"accuracy\"", "[\"\"]", "[\"a\\nb\"]", "[[[\"mae\"]]]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(lf_model_set_metrics(m, "[\"mse\"]", bad[i]) == LF_ERR_ARG &&
                  strcmp(lf_model_error(m), "lf_model_set_metrics: weighted_metrics must be a list of at most 64 metric "
                                            "names (1..64 printable ASCII characters), nulls or lists of names, or an "
                                            "object of them by output name") == 0,
              "bad %s: %s", bad[i], lf_model_error(m));
    CHECK(lf_model_set_metrics(m, "[\"mse\"", NULL) == LF_ERR_ARG &&
              strncmp(lf_model_error(m), "lf_model_set_metrics: metrics is not JSON (", 43) == 0,
          "not JSON: %s", lf_model_error(m));
    char big[5000];
    memset(big, ' ', sizeof big - 1), big[sizeof big - 1] = 0, big[0] = '[', big[sizeof big - 2] = ']';
    CHECK(lf_model_set_metrics(m, big, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_model_set_metrics: metrics is 4999 bytes, at most 4096") == 0,
          "too long: %s", lf_model_error(m));
    CHECK(strcmp(lf_model_metrics(m, 0), "{\"a\":[\"accuracy\",\"AUC\"],\"b\":null}") == 0 &&
              strcmp(lf_model_metrics(m, 1), "[\"mae\"]") == 0,
          "a refused text changed the kept ones");
    char path[96];
    snprintf(path, sizeof path, "%s/metrics.safetensors", tmpdir);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model_create(&c, 0);
    CHECK(lf_model_load(c, path) == LF_OK, "load: %s", lf_model_error(c));
    CHECK(lf_model_metrics(c, 0) && strcmp(lf_model_metrics(c, 0), lf_model_metrics(m, 0)) == 0 &&
              lf_model_metrics(c, 1) && strcmp(lf_model_metrics(c, 1), "[\"mae\"]") == 0,
          "loaded: %s %s", lf_model_metrics(c, 0), lf_model_metrics(c, 1));
    lf_model_free(c);
    CHECK(lf_model_set_metrics(m, NULL, NULL) == LF_OK && lf_model_metrics(m, 0) == NULL, "cleared");
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model_create(&c, 0);
    CHECK(lf_model_load(c, path) == LF_OK && lf_model_metrics(c, 0) == NULL && lf_model_metrics(c, 1) == NULL,
          "a file without metrics loads without: %s", lf_model_error(c));
    lf_model_free(c);
    remove(path);
    lf_model_free(m);
}

/* an uncompiled model's outputs (lf_model_set_outputs, Keras' Model(x,
 * [y, h, c]) of the return_state idiom): asked before compile, kept by
 * the model file ("model_outputs") in their order, replaced by compile's;
 * the refusals word for word change nothing; a file without the key (an
 * older one) loads with none; a bad key is refused */
static void test_uncompiled_outputs(void) {
    lf_model *m, *c;
    lf_model_create(&m, 4);
    int ids = lf_input_shape(m, 1, (size_t[]){5}, LF_DTYPE_INT32, "tokens");
    int e = lf_embedding(m, ids, 12, 3, 1, "e");
    int enc = lf_lstm(m, e, 4, 1, 1, 0, 0, "enc");
    lf_set_rnn_state(m, enc, 1, NULL, 0);
    int y = lf_output_view(m, enc, 0, "y"), h = lf_output_view(m, enc, 1, "h"), cs = lf_output_view(m, enc, 2, "c");
    int head = lf_dense(m, y, 2, LF_ACT_SOFTMAX, 1, "head");
    CHECK(lf_model_num_outputs(m) == 0 && lf_model_output_node(m, 0) == -1, "no outputs before they are given");
    int outs[3] = {h, head, cs};
    CHECK(lf_model_set_outputs(m, 3, outs) == LF_OK, "set: %s", lf_model_error(m));
    CHECK(lf_model_num_outputs(m) == 3 && lf_model_output_node(m, 0) == h && lf_model_output_node(m, 1) == head &&
              lf_model_output_node(m, 2) == cs && lf_model_output_node(m, 3) == -1,
          "the outputs before compile");
    struct { int ids[2]; size_t n; const char *msg; } bad[] = {
        {{h, h}, 2, "lf_model_set_outputs: 'h' is listed twice as an output"},
        {{ids, h}, 2, "lf_model_set_outputs: output 'tokens' is an input layer"},
        {{h, 99}, 2, "lf_model_set_outputs: output 1 (99) is not a node of this model"},
        {{enc, h}, 2, "lf_model_set_outputs: output 'enc' has 3 outputs (Keras returns a list); pick one with "
                      "lf_output_view"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(lf_model_set_outputs(m, bad[i].n, bad[i].ids) == LF_ERR_ARG && strcmp(lf_model_error(m), bad[i].msg) == 0,
              "refusal %zu: %s", i, lf_model_error(m));
    CHECK(lf_model_num_outputs(m) == 3 && lf_model_output_node(m, 2) == cs, "a refused call changed the outputs");
    char path[96];
    snprintf(path, sizeof path, "%s/uncompiled.safetensors", tmpdir);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model_create(&c, 0);
    CHECK(lf_model_load(c, path) == LF_OK, "load: %s", lf_model_error(c));
    CHECK(lf_model_num_outputs(c) == 3 && lf_model_output_node(c, 0) == lf_node_find(c, "h") &&
              lf_model_output_node(c, 1) == lf_node_find(c, "head") && lf_model_output_node(c, 2) == lf_node_find(c, "c"),
          "loaded uncompiled outputs: %zu", lf_model_num_outputs(c));
    /* compile's outputs take their place, and after compile they are compile's */
    lf_loss ls[2] = {LF_LOSS_MSE, LF_LOSS_MSE};
    CHECK(lf_model_compile_outputs(c, 2, (int[]){lf_node_find(c, "c"), lf_node_find(c, "h")}, ls, NULL, NULL) == LF_OK,
          "compile: %s", lf_model_error(c));
    CHECK(lf_model_num_outputs(c) == 2 && lf_model_output_node(c, 0) == lf_node_find(c, "c"), "compile's outputs");
    CHECK(lf_model_set_outputs(c, 1, outs) == LF_ERR_STATE &&
              strcmp(lf_model_error(c), "lf_model_set_outputs: the model is compiled: its outputs are compile's") == 0,
          "after compile: %s", lf_model_error(c));
    char cpath[96];
    snprintf(cpath, sizeof cpath, "%s/compiled.safetensors", tmpdir);
    CHECK(lf_model_save(c, cpath, 0) == LF_OK, "save compiled: %s", lf_model_error(c));
    lf_model_free(c);
    lf_st_file cf;
    lf_err ce;
    CHECK(lf_st_read(cpath, &cf, &ce) == LF_OK, "%s", ce.msg);
    const char *carch = lf_st_metadata(&cf, "architecture");
    CHECK(carch && !strstr(carch, "model_outputs"), "a compiled model's file has no model_outputs");
    if (carch) { /* a compiled model's file with the key: refused */
        size_t n = strlen(carch) + 64;
        char *mod = malloc(n);
        snprintf(mod, n, "%.*s,\"model_outputs\":[\"h\"]}", (int)strlen(carch) - 1, carch);
        lf_model_create(&c, 0);
        CHECK(lf_model_from_parts(c, mod, strlen(mod), &cf, "", &ce) == LF_ERR_FORMAT &&
                  strcmp(ce.msg, "architecture: 'model_outputs' is for an uncompiled model; a compiled model's "
                                 "outputs are 'output' or 'outputs'") == 0,
              "model_outputs on a compiled model: %s", ce.msg);
        lf_model_free(c);
        free(mod);
    }
    lf_st_free(&cf);
    remove(cpath);
    /* the file's key: refused where it does not fit */
    lf_st_file f;
    lf_err er;
    CHECK(lf_st_read(path, &f, &er) == LF_OK, "%s", er.msg);
    const char *arch = lf_st_metadata(&f, "architecture"), *at = arch ? strstr(arch, ",\"model_outputs\":[\"h\",\"head\",\"c\"]") : NULL;
    CHECK(at != NULL, "model_outputs in %s", arch ? arch : "(none)");
    if (at) {
        size_t n = strlen(arch) + 64, cut = strlen(",\"model_outputs\":[\"h\",\"head\",\"c\"]");
        char *mod = malloc(n);
        static const char *const repl[] = {"", ",\"model_outputs\":[\"h\",\"nope\"]", ",\"model_outputs\":[]",
                                           ",\"model_outputs\":[\"h\",\"h\"]"};
        static const char *const want[] = {NULL, "architecture: model output 1 does not name a layer",
                                           "architecture: 'model_outputs' must be a list of 1..1024 layer names",
                                           "architecture: lf_model_set_outputs: 'h' is listed twice as an output"};
        for (size_t i = 0; i < 4; i++) {
            snprintf(mod, n, "%.*s%s%s", (int)(at - arch), arch, repl[i], at + cut);
            lf_model_create(&c, 0);
            lf_status st = lf_model_from_parts(c, mod, strlen(mod), &f, "", &er);
            if (!want[i])
                CHECK(st == LF_OK && lf_model_num_outputs(c) == 0, "a file without model_outputs: %s",
                      st == LF_OK ? "outputs" : er.msg);
            else
                CHECK(st == LF_ERR_FORMAT && strcmp(er.msg, want[i]) == 0, "bad model_outputs %zu: %s", i, er.msg);
            lf_model_free(c);
        }
        free(mod);
    }
    lf_st_free(&f);
    remove(path);
    lf_model_free(m);
}

/* Keras' loss=[..., None, ...] (keras/src/trainers/compile_utils.py
 * CompileLoss._build_nested skips a None loss): LF_LOSS_NONE adds nothing
 * to the loss; out_a (which also feeds the fusion layer) then trains from
 * the fusion layer's loss only.  Its gradients against finite differences
 * and the same loss and gradient bits as loss weight 0 on that output;
 * its target array may be NULL in fit and evaluate; NaN loss and accuracy
 * for it in evaluate and the history; the file keeps "none"; every loss
 * none is refused. */
static void test_loss_none(void) {
    task k = make_task(60, 41);
    lf_model *m = two_branch(11, NULL, 0), *z = two_branch(11, NULL, 0);
    int f = lf_node_find(m, "fused"), oa = lf_node_find(m, "out_a"), ob = lf_node_find(m, "out_b");
    lf_loss none[3] = {LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LF_LOSS_NONE, LF_LOSS_CATEGORICAL_CROSSENTROPY};
    lf_loss zero[3] = {LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                       LF_LOSS_CATEGORICAL_CROSSENTROPY};
    float wn[3] = {1.0f, 0.5f, 0.5f}, wz[3] = {1.0f, 0.0f, 0.5f};
    CHECK(lf_model_compile_outputs(m, 3, (int[]){f, oa, ob}, none, wn, NULL) == LF_OK, "compile: %s",
          lf_model_error(m));
    CHECK(lf_model_compile_outputs(z, 3, (int[]){f, oa, ob}, zero, wz, NULL) == LF_OK, "compile: %s",
          lf_model_error(z));
    CHECK(!m->outs[1].fused, "a loss-less output is fused");
    /* the targets as lf__loss_and_grads reads them: output 1 has no columns */
    size_t n = k.n;
    float *tn = malloc(n * (1 + C) * sizeof *tn);
    memcpy(tn, k.lab, n * sizeof *tn);
    memcpy(tn + n, k.onehot, n * C * sizeof *tn);
    for (size_t j = 0; j < m->n_params; j++) m->params[j] *= 3.0f, z->params[j] *= 3.0f;
    float *x[2] = {k.a, k.b};
    fd_check("loss none on out_a", m, x, tn, 7);
    double ln = 0, lz = 0;
    CHECK(lf__loss_and_grads(m, (const float *const *)x, tn, n, 0, 0, &ln, NULL) == LF_OK &&
              lf__loss_and_grads(z, (const float *const *)x, k.t, n, 0, 0, &lz, NULL) == LF_OK,
          "loss_and_grads");
    CHECK(ln == lz && memcmp(m->grads, z->grads, m->n_params * sizeof(float)) == 0,
          "loss none: loss %.17g and gradients, weight 0: %.17g", ln, lz);
    /* evaluate and fit with a NULL target for out_a */
    lf_typed_array xa[2] = {{LF_DTYPE_FLOAT32, k.a}, {LF_DTYPE_FLOAT32, k.b}};
    const float *ys[3] = {k.lab, NULL, k.onehot}, *yz[3] = {k.lab, k.lab, k.onehot};
    double le[4], lze[4], acc[3];
    CHECK(lf_model_evaluate_arrays(m, xa, ys, n, NULL, le, acc) == LF_OK, "evaluate: %s", lf_model_error(m));
    CHECK(lf_model_evaluate_arrays(z, xa, yz, n, NULL, lze, NULL) == LF_OK, "evaluate: %s", lf_model_error(z));
    CHECK(le[0] == lze[0] && le[1] == lze[1] && le[3] == lze[3] && isnan(le[2]) && isnan(acc[1]) && !isnan(acc[2]),
          "evaluate: %.17g %.17g %g %.17g (acc %g), weight 0: %.17g", le[0], le[1], le[2], le[3], acc[1], lze[0]);
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 3, o.batch_size = 16, o.validation_split = 0.25f;
    CHECK(lf_model_fit_arrays(m, xa, ys, n, &o) == LF_OK, "fit: %s", lf_model_error(m));
    CHECK(lf_model_fit_arrays(z, xa, yz, n, &o) == LF_OK, "fit: %s", lf_model_error(z));
    CHECK(memcmp(m->params, z->params, m->n_params * sizeof(float)) == 0, "fit: loss none and weight 0 differ");
    const lf_history *h = lf_model_history(m), *hz = lf_model_history(z);
    size_t E = h->epochs;
    CHECK(E == 3 && h->loss[2] == hz->loss[2] && h->val_loss[2] == hz->val_loss[2] && isnan(h->output_loss[E + 2]) &&
              isnan(h->val_output_loss[E + 2]) && isnan(h->output_accuracy[E + 2]) &&
              h->output_loss[2 * E + 2] == hz->output_loss[2 * E + 2],
          "history with loss none");
    /* the file keeps it */
    char path[96];
    snprintf(path, sizeof path, "%s/none.safetensors", tmpdir);
    CHECK(lf_model_save(m, path, LF_SAVE_OPTIMIZER) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *c;
    lf_model_create(&c, 0);
    CHECK(lf_model_load(c, path) == LF_OK, "load: %s", lf_model_error(c));
    double again[4];
    CHECK(c->outs[1].loss == LF_LOSS_NONE && lf_model_evaluate_arrays(c, xa, ys, n, NULL, again, NULL) == LF_OK &&
              isnan(again[2]),
          "loaded: %s", lf_model_error(c));
    double now[4];
    lf_model_evaluate_arrays(m, xa, ys, n, NULL, now, NULL);
    CHECK(now[0] == again[0] && now[1] == again[1] && now[3] == again[3], "loaded model evaluates differently");
    remove(path);
    lf_model_free(c);
    CHECK(strcmp(lf_loss_name(LF_LOSS_NONE), "none") == 0 && lf_loss_parse("none") == LF_LOSS_NONE, "loss name");
    /* every loss none; a NULL target of an output with a loss */
    lf_model *e = two_branch(11, NULL, 0);
    lf_loss all[3] = {LF_LOSS_NONE, LF_LOSS_NONE, LF_LOSS_NONE};
    CHECK(lf_model_compile_outputs(e, 3, (int[]){f, oa, ob}, all, NULL, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(e), "compile: every output's loss is none: give at least one output a loss") == 0,
          "all none: %s", lf_model_error(e));
    CHECK(lf_model_compile(e, f, LF_LOSS_NONE, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(e), "compile: the output's loss is none: give it a loss") == 0,
          "one none: %s", lf_model_error(e));
    const float *bad[3] = {k.lab, NULL, NULL};
    CHECK(lf_model_evaluate_arrays(m, xa, bad, n, NULL, le, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "evaluate: output 'out_b': the targets are NULL") == 0,
          "NULL targets: %s", lf_model_error(m));
    lf_model_free(e), lf_model_free(m), lf_model_free(z);
    free(tn);
    free_task(&k);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_outputs_XXXXXX");
    if (!mkdtemp(tmpdir)) return 2;
    test_gradients();
    test_single_same();
    test_fit_and_file();
    test_frozen();
    test_ema_fixed();
    test_typed();
    test_metrics_kept();
    test_uncompiled_outputs();
    test_loss_none();
    rmdir(tmpdir);
    return check_report("test_outputs");
}
