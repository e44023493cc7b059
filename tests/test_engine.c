/*
 * test_engine.c — behaviour of the engine beyond single gradients: builder
 * errors and names, summary, weights by name, dropout statistics, train vs
 * inference mode, predict in chunks, fit (learning, determinism, validation
 * split, sample and class weights, early stopping with restored weights,
 * the learning rate set between epochs, a fit stopped from its callback,
 * train_on_batch as a fit's step,
 * the rows reshuffled every epoch, bit-identical for 1, 2, 3 and 8 threads),
 * and the model file (round trip bit for bit, with and without optimizer
 * state, corrupted files rejected with their exact error).
 */
#include "check.h"
#include "engine_util.h"
#include "io/safetensors.h"
#include "model_io.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static char tmpdir[64];

static lf_model *seed_model(uint64_t seed) {
    lf_model *m;
    lf_model_create(&m, seed);
    int in1 = lf_input(m, 100, NULL), in2 = lf_input(m, 100, NULL);
    int x1 = lf_dense(m, in1, 32, LF_ACT_RELU, 1, NULL), x2 = lf_dense(m, in2, 32, LF_ACT_RELU, 1, NULL);
    int w = lf_weighted_average(m, 2, (int[]){x1, x2}, -1, NULL);
    int out = lf_dense(m, w, 1, LF_ACT_LINEAR, 1, NULL);
    lf_model_compile(m, out, LF_LOSS_MSE, NULL);
    return m;
}

static void test_builder(void) {
    lf_model *m = seed_model(1);
    /* Keras-style default names */
    CHECK(lf_node_find(m, "input") == 0 && lf_node_find(m, "input_1") == 1, "input names");
    CHECK(lf_node_find(m, "dense") == 2 && lf_node_find(m, "dense_1") == 3 && lf_node_find(m, "dense_2") == 5,
          "dense names");
    CHECK(lf_node_find(m, "weighted_average") == 4, "wavg name");
    CHECK(lf_model_num_params(m) == 2 * (100 * 32 + 32) + 2 + 33, "params %zu", lf_model_num_params(m));
    /* summary */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(lf_model_summary(m, f) == LF_OK, "summary");
    fclose(f);
    CHECK(strstr(buf, "weighted_average (WeightedAverage)") != NULL, "summary row:\n%s", buf);
    CHECK(strstr(buf, "(None, 32)") != NULL && strstr(buf, "Total params: 6499") != NULL,
          "summary totals:\n%s", buf);
    CHECK(strstr(buf, "dense, dense_1") != NULL, "summary connections:\n%s", buf);
    free(buf);
    /* weights by name */
    size_t shape[2], cnt;
    CHECK(lf_layer_weight_shape(m, "dense", 0, shape, &cnt) == LF_OK && shape[0] == 32 && shape[1] == 100,
          "kernel shape");
    CHECK(lf_layer_num_weights(m, "weighted_average") == 1, "wavg weights");
    float w2[2] = {0.25f, -1.5f}, back[2];
    CHECK(lf_set_weights(m, "weighted_average", 0, w2, 2) == LF_OK, "set");
    CHECK(lf_get_weights(m, "weighted_average", 0, back, 2) == LF_OK && back[0] == 0.25f && back[1] == -1.5f,
          "get");
    CHECK(lf_set_weights(m, "weighted_average", 0, w2, 3) == LF_ERR_SHAPE, "count");
    CHECK(strcmp(lf_model_error(m), "layer 'weighted_average' weight 0 holds 2 values, 3 given") == 0, "%s",
          lf_model_error(m));
    CHECK(lf_get_weights(m, "nope", 0, back, 2) == LF_ERR_ARG && strcmp(lf_model_error(m), "no layer named 'nope'") == 0,
          "%s", lf_model_error(m));
    float bad[2] = {NAN, 0};
    CHECK(lf_set_weights(m, "weighted_average", 0, bad, 2) == LF_ERR_NUMERIC, "nan weight");
    /* initial WeightedAverage weights are U(0,1), glorot limit respected */
    lf_model *m2 = seed_model(7);
    float wv[2], k[3200];
    lf_get_weights(m2, "weighted_average", 0, wv, 2);
    CHECK(wv[0] >= 0 && wv[0] < 1 && wv[1] >= 0 && wv[1] < 1, "U(0,1) init %g %g", wv[0], wv[1]);
    lf_get_weights(m2, "dense", 0, k, 3200);
    float lim = sqrtf(6.0f / 132.0f), mx = 0;
    for (int i = 0; i < 3200; i++) mx = fabsf(k[i]) > mx ? fabsf(k[i]) : mx;
    CHECK(mx <= lim && mx > 0.95f * lim, "glorot limit %g vs %g", mx, lim);
    lf_model_free(m2);
    /* adding after compile */
    CHECK(lf_input(m, 3, "late") == -1, "no build after compile");
    lf_model_free(m);

    /* sticky errors, exact messages */
    lf_model_create(&m, 0);
    int a = lf_input(m, 4, "a");
    int b = lf_input(m, 5, "b");
    CHECK(lf_add(m, 2, (int[]){a, b}, "sum") == -1, "shape mismatch");
    CHECK(strcmp(lf_model_error(m), "Add: Inputs have incompatible shapes. Received shapes (4,) and (5,) (at input 1, 'b')") == 0, "%s",
          lf_model_error(m));
    CHECK(lf_dense(m, a, 3, LF_ACT_RELU, 1, "d") == -1, "sticky");
    CHECK(lf_model_compile(m, a, LF_LOSS_MSE, NULL) == LF_ERR_SHAPE, "compile reports the first error");
    lf_model *u;
    lf_model_create(&u, 0);
    CHECK(lf_dense(u, lf_input(u, 4, "x"), 0, LF_ACT_RELU, 1, NULL) == -1 &&
              strcmp(lf_model_error(u), "Dense: units must be at least 1, got 0") == 0,
          "Dense(0): %s", lf_model_error(u));
    lf_model_free(u);
    /* another failure in between (fit before compile) does not take the first error's message */
    float zx[5] = {0}, zy[1] = {0};
    const float *zxs[2] = {zx, zx};
    CHECK(lf_model_fit(m, zxs, zy, 1, NULL) != LF_OK, "fit before compile");
    CHECK(lf_dense(m, a, 3, LF_ACT_RELU, 1, "d2") == -1 &&
              strcmp(lf_model_error(m), "Add: Inputs have incompatible shapes. Received shapes (4,) and (5,) (at input 1, 'b')") == 0,
          "the builder's sticky message after another failure: %s", lf_model_error(m));
    CHECK(lf_model_compile(m, a, LF_LOSS_MSE, NULL) == LF_ERR_SHAPE &&
              strcmp(lf_model_error(m), "Add: Inputs have incompatible shapes. Received shapes (4,) and (5,) (at input 1, 'b')") == 0,
          "compile's sticky message after another failure: %s", lf_model_error(m));
    lf_model_free(m);
    lf_model_create(&m, 0);
    a = lf_input(m, 4, "a");
    CHECK(lf_dense(m, a, 3, LF_ACT_RELU, 1, "a") == -1 && strcmp(lf_model_error(m), "layer name 'a' is used twice") == 0,
          "%s", lf_model_error(m));
    lf_model_free(m);
    lf_model_create(&m, 0);
    a = lf_input(m, 4, "a");
    CHECK(lf_dense(m, 7, 3, LF_ACT_RELU, 1, NULL) == -1 &&
              strcmp(lf_model_error(m), "Dense: input is not a node of this model (id 7)") == 0,
          "%s", lf_model_error(m));
    lf_model_free(m);
    lf_model_create(&m, 0);
    a = lf_input(m, 4, "a");
    lf_input(m, 4, "b");
    int d = lf_dense(m, a, 2, LF_ACT_SOFTMAX, 1, "d");
    CHECK(lf_model_compile(m, d, LF_LOSS_MSE, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "compile: input 'b' is not connected to the output") == 0,
          "%s", lf_model_error(m));
    CHECK(lf_dropout(m, a, 1.0f, NULL) == -1 && strstr(lf_model_error(m), "Dropout rate must be in [0, 1)"),
          "%s", lf_model_error(m));
    lf_model_free(m);
    lf_model_create(&m, 0);
    a = lf_input(m, 4, "bad name!");
    CHECK(a == -1 && strstr(lf_model_error(m), "invalid layer name 'bad name!'"), "%s", lf_model_error(m));
    lf_model_free(m);
    /* fit before compile */
    lf_model_create(&m, 0);
    a = lf_input(m, 1, "a");
    float one = 1;
    const float *xs[1] = {&one};
    CHECK(lf_model_fit(m, xs, &one, 1, NULL) == LF_ERR_STATE &&
              strcmp(lf_model_error(m), "fit: the model is not compiled (call lf_model_compile)") == 0,
          "%s", lf_model_error(m));
    float y1;
    CHECK(lf_model_predict(m, xs, 1, &y1) == LF_ERR_STATE, "predict before compile");
    lf_model_free(m);
}

static void test_dropout(void) {
    lf_model *m;
    lf_model_create(&m, 3);
    int x = lf_input(m, 1000, "x");
    int d = lf_dropout(m, x, 0.3f, "drop");
    lf_model_compile(m, d, LF_LOSS_MSE, NULL);
    float *in = malloc(1000 * 20 * sizeof *in), *out[2] = {0};
    for (int i = 0; i < 20000; i++) in[i] = 1.0f + (float)(i % 7);
    const float *xs[1] = {in};
    float *outs[2] = {NULL, malloc(20000 * sizeof(float))};
    /* training mode: a fraction 0.3 dropped, the rest scaled by 1/0.7 */
    float *g[1] = {calloc(20000, sizeof(float))};
    double loss;
    float *t = calloc(20000, sizeof(float));
    lf__loss_and_grads(m, xs, t, 20, 1, 0, &loss, g);
    /* the gradient of mse w.r.t. x is 2 y mask / (B D) -> zero where dropped */
    size_t zeros = 0, bad = 0;
    for (int i = 0; i < 20000; i++) {
        if (g[0][i] == 0.0f) zeros++;
        else {
            float expect = 2.0f * in[i] / 0.7f / 0.7f / 20000.0f;
            if (fabsf(g[0][i] - expect) > 1e-6f * expect + 1e-12f) bad++;
        }
    }
    double frac = zeros / 20000.0, sd = sqrt(0.3 * 0.7 / 20000.0);
    CHECK(fabs(frac - 0.3) < 4 * sd, "dropped fraction %.4f, expected 0.3 +- %.4f", frac, 4 * sd);
    CHECK(bad == 0, "%zu kept units not scaled by 1/(1-rate)", bad);
    /* inference: identity */
    CHECK(lf__forward_nodes(m, xs, 20, outs) == LF_OK, "forward");
    CHECK(memcmp(outs[1], in, 20000 * sizeof(float)) == 0, "dropout is the identity in inference");
    float *p = malloc(20000 * sizeof *p);
    CHECK(lf_model_predict(m, xs, 20, p) == LF_OK && memcmp(p, in, 20000 * sizeof(float)) == 0,
          "predict has no dropout");
    free(in), free(outs[1]), free(g[0]), free(t), free(p);
    (void)out;
    lf_model_free(m);
}

/* a learnable 2-class task: label = (x0 + x1 > x2 + x3) */
static void make_task(float *x, float *y, size_t n, uint64_t seed) {
    fill_uniform(x, n * 4, -1, 1, seed);
    for (size_t r = 0; r < n; r++) y[r] = x[r * 4] + x[r * 4 + 1] > x[r * 4 + 2] + x[r * 4 + 3];
}

static lf_model *clf_model(uint64_t seed, float dropout) {
    lf_model *m;
    lf_model_create(&m, seed);
    int x = lf_input(m, 4, "x");
    int h = lf_dense(m, x, 16, LF_ACT_RELU, 1, "h");
    int dr = lf_dropout(m, h, dropout, "drop");
    int o = lf_dense(m, dr, 2, LF_ACT_SOFTMAX, 1, "o");
    lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL);
    return m;
}

static void test_fit(void) {
    size_t n = 600;
    float *x = malloc(n * 4 * sizeof *x), *y = malloc(n * sizeof *y);
    make_task(x, y, n, 11);
    const float *xs[1] = {x};
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 30;
    o.validation_split = 0.25;
    o.seed = 5;
    lf_model *m = clf_model(1, 0.1f);
    CHECK(lf_model_fit(m, xs, y, n, &o) == LF_OK, "fit: %s", lf_model_error(m));
    const lf_history *h = lf_model_history(m);
    CHECK(h->epochs == 30, "epochs %zu", h->epochs);
    CHECK(h->loss[29] < h->loss[0] * 0.5, "loss %g -> %g", h->loss[0], h->loss[29]);
    CHECK(h->val_accuracy[29] > 0.9, "val accuracy %g", h->val_accuracy[29]);
    /* validation = the last 25 % of rows, as Keras: evaluate gives the same */
    double vl, va;
    const float *vx[1] = {x + 450 * 4};
    CHECK(lf_model_evaluate(m, vx, y + 450, 150, NULL, &vl, &va) == LF_OK, "evaluate");
    CHECK(fabs(vl - h->val_loss[29]) < 1e-9 && fabs(va - h->val_accuracy[29]) < 1e-12,
          "val_loss %g vs evaluate %g", h->val_loss[29], vl);
    /* determinism: same seeds -> bit-identical weights */
    lf_model *m2 = clf_model(1, 0.1f);
    lf_model_fit(m2, xs, y, n, &o);
    size_t np = lf_model_num_params(m);
    CHECK(memcmp(m->params, m2->params, np * sizeof(float)) == 0, "fit is not bit-reproducible");
    lf_model *m3 = clf_model(1, 0.1f);
    o.seed = 6;
    lf_model_fit(m3, xs, y, n, &o);
    CHECK(memcmp(m->params, m3->params, np * sizeof(float)) != 0, "another seed changes nothing");
    lf_model_free(m2), lf_model_free(m3);

    /* predict in chunks = predict row by row */
    float *p = malloc(n * 2 * sizeof *p), p1[2];
    CHECK(lf_model_predict(m, xs, n, p) == LF_OK, "predict");
    int same = 1;
    for (size_t r = 0; r < n; r += 37) {
        const float *xr[1] = {x + r * 4};
        lf_model_predict(m, xr, 1, p1);
        same &= p1[0] == p[r * 2] && p1[1] == p[r * 2 + 1];
    }
    CHECK(same, "chunked predict differs from single rows");
    CHECK(fabsf(p[0] + p[1] - 1.0f) < 1e-6f, "softmax rows sum to 1");

    /* sample weights: evaluate with 0/1 weights = mean over the kept rows * share */
    float *sw = malloc(n * sizeof *sw);
    for (size_t r = 0; r < n; r++) sw[r] = r < 100;
    double lw, l100;
    lf_model_evaluate(m, xs, y, n, sw, &lw, NULL);
    lf_model_evaluate(m, xs, y, 100, NULL, &l100, NULL);
    CHECK(fabs(lw - l100 * 100.0 / n) < 1e-7, "weighted loss %g vs %g", lw, l100 * 100.0 / n);
    /* zero class weight for class 1: training only on class 0 drives every
     * prediction to class 0 */
    lf_model *mc = clf_model(2, 0.0f);
    float cw[2] = {1, 0};
    lf_fit_options oc = lf_fit_defaults();
    oc.epochs = 20;
    oc.class_weight = cw;
    oc.n_class_weight = 2;
    CHECK(lf_model_fit(mc, xs, y, n, &oc) == LF_OK, "class weights: %s", lf_model_error(mc));
    lf_model_predict(mc, xs, n, p);
    size_t zero_class = 0;
    for (size_t r = 0; r < n; r++) zero_class += p[r * 2] > p[r * 2 + 1];
    CHECK(zero_class == n, "%zu of %zu rows predicted class 0", zero_class, n);
    oc.n_class_weight = 1;
    CHECK(lf_model_fit(mc, xs, y, n, &oc) == LF_ERR_ARG &&
              strcmp(lf_model_error(mc), "fit: 1 class weights given, the output has 2 classes") == 0,
          "%s", lf_model_error(mc));
    lf_model_free(mc);
    /* bad targets */
    float ybad = 2;
    CHECK(lf_model_fit(m, xs, &ybad, 1, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "fit: label 2 at row 0 is not a class in 0..1") == 0,
          "%s", lf_model_error(m));
    x[5] = INFINITY;
    CHECK(lf_model_fit(m, xs, y, n, NULL) == LF_ERR_NUMERIC &&
              strcmp(lf_model_error(m), "fit: input 'x' holds a non-finite value at row 1, column 1") == 0,
          "%s", lf_model_error(m));
    x[5] = 0;
    free(sw), free(p);
    lf_model_free(m);

    /* early stopping: validation targets are the opposite labels, so the
     * validation loss rises as training succeeds */
    float *vy = malloc(200 * sizeof *vy);
    for (size_t r = 0; r < 200; r++) vy[r] = 1 - y[r];
    const float *vxs[1] = {x};
    lf_fit_options oe = lf_fit_defaults();
    oe.epochs = 50;
    oe.val_x = vxs, oe.val_y = vy, oe.val_n = 200;
    oe.patience = 3;
    oe.restore_best_weights = 1;
    lf_model *me = clf_model(4, 0.0f);
    CHECK(lf_model_fit(me, xs, y, n, &oe) == LF_OK, "fit: %s", lf_model_error(me));
    h = lf_model_history(me);
    CHECK(h->stopped_early && h->epochs == h->best_epoch + 4, "stopped %d after %zu epochs, best %zu",
          h->stopped_early, h->epochs, h->best_epoch);
    double best = h->val_loss[h->best_epoch];
    for (size_t e = 0; e < h->epochs; e++) CHECK(h->val_loss[e] >= best, "best is the minimum");
    double restored;
    lf_model_evaluate(me, vxs, vy, 200, NULL, &restored, NULL);
    CHECK(fabs(restored - best) < 1e-9, "restored weights give val_loss %g, best was %g", restored, best);
    lf_model_free(me);
    free(vy), free(x), free(y);
}

/* 1 when the two files hold the same bytes (and both can be read). */
static int same_bytes(const char *a, const char *b) {
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        if (ca != cb) same = 0;
        if (ca == EOF || cb == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

static void test_save_load(void) {
    char path[128], path2[128];
    snprintf(path, sizeof path, "%s/seed.lf", tmpdir);
    snprintf(path2, sizeof path2, "%s/bad.lf", tmpdir);
    lf_model *m = seed_model(9);
    float *x1 = malloc(50 * 100 * sizeof *x1), *x2 = malloc(50 * 100 * sizeof *x2), y[50];
    fill_uniform(x1, 5000, 0, 1, 1), fill_uniform(x2, 5000, 0, 1, 2), fill_uniform(y, 50, 0, 1, 3);
    const float *xs[2] = {x1, x2};
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 2;
    lf_model_fit(m, xs, y, 50, &o);
    CHECK(lf_model_save(m, path, LF_SAVE_OPTIMIZER) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *l;
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
    float p1[50], p2[50];
    lf_model_predict(m, xs, 50, p1);
    lf_model_predict(l, xs, 50, p2);
    CHECK(memcmp(p1, p2, sizeof p1) == 0, "loaded model predicts differently");
    CHECK(memcmp(m->m1, l->m1, m->n_params * sizeof(float)) == 0 && l->step == m->step,
          "optimizer state restored (step %llu vs %llu)", (unsigned long long)l->step,
          (unsigned long long)m->step);
    /* training goes on identically from the loaded state */
    lf_model_fit(m, xs, y, 50, &o);
    lf_model_fit(l, xs, y, 50, &o);
    CHECK(memcmp(m->params, l->params, m->n_params * sizeof(float)) == 0, "resumed training differs");
    CHECK(lf_model_load(l, path) == LF_ERR_STATE, "load into a non-empty model");
    lf_model_free(l);

    /* the file opens as plain safetensors with the expected tensors */
    lf_st_file f;
    lf_err e;
    CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
    const lf_st_tensor *t = lf_st_find(&f, "dense.kernel");
    CHECK(t && t->ndim == 2 && t->shape[0] == 32 && t->shape[1] == 100, "dense.kernel (32, 100)");
    CHECK(lf_st_find(&f, "weighted_average.W") && lf_st_find(&f, "optimizer.v"), "W and moments");
    CHECK(strcmp(lf_st_metadata(&f, "format"), "latefuse") == 0, "format");
    const char *arch = lf_st_metadata(&f, "architecture");
    CHECK(strstr(arch, "\"type\":\"WeightedAverage\"") != NULL, "arch: %s", arch);

    /* corrupted architectures and tensors: rebuild with modified parts */
    struct {
        const char *from, *to, *msg;
    } cases[] = {
        {"\"type\":\"WeightedAverage\"", "\"type\":\"Lambda\"", "unknown layer type 'Lambda'"},
        {"\"units\":32", "\"units\":-32", "'units' must be an integer in 1.."},
        {"\"activation\":\"relu\"", "\"activation\":\"relu\",\"code\":\"x\"", "unknown field 'code'"},
        {"\"inbound\":[\"input\"]", "\"inbound\":[\"dense_2\"]", "inbound 0 does not name an earlier layer"},
        {"\"loss\":\"mse\"", "\"loss\":\"eval\"", "unknown or missing loss"},
        {"{\"layers\"", "{\"layers\":[],\"layers\"", "duplicate key 'layers'"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const char *at = strstr(arch, cases[c].from);
        CHECK(at != NULL, "case %zu: pattern", c);
        if (!at) continue;
        size_t n = strlen(arch) + strlen(cases[c].to) + 1;
        char *mod = malloc(n);
        snprintf(mod, n, "%.*s%s%s", (int)(at - arch), arch, cases[c].to, at + strlen(cases[c].from));
        lf_model *b;
        lf_model_create(&b, 0);
        lf_err e2;
        lf_status st = lf_model_from_parts(b, mod, strlen(mod), &f, "", &e2);
        CHECK(st == LF_ERR_FORMAT && strstr(e2.msg, cases[c].msg), "case %zu: %d %s", c, st, e2.msg);
        CHECK(lf_model_num_nodes(b) == 0, "case %zu: the model is left empty", c);
        lf_model_free(b);
        free(mod);
    }
    /* a tensor of the wrong shape, a missing one, an extra one, a NaN */
    lf_st_out *outs;
    char *names;
    size_t n;
    CHECK(lf_model_tensors(m, "", 0, &outs, &n, &names, &e) == LF_OK, "tensors");
    const char *keys[3] = {"format", "format_version", "architecture"};
    const char *vals[3] = {"latefuse", "1", arch};
    struct {
        int mode;
        const char *msg;
    } tc[] = {{0, "tensor 'dense.kernel' must be F32 of shape (32, 100)"},
              {1, "tensor 'dense_2.bias' is missing"},
              {2, "unexpected tensor 'extra'"},
              {3, "non-finite"}};
    float nanv[32 * 100];
    for (int i = 0; i < 3200; i++) nanv[i] = 0;
    nanv[17] = 12345.0f; /* patched into a NaN in the file bytes below */
    for (size_t c = 0; c < 4; c++) {
        lf_st_out mod[16];
        memcpy(mod, outs, n * sizeof *outs);
        size_t k = n;
        if (tc[c].mode == 0) mod[0].shape[0] = 16;
        if (tc[c].mode == 1) k--;
        if (tc[c].mode == 2) mod[k++] = (lf_st_out){"extra", nanv, 1, {2}};
        if (tc[c].mode == 3) mod[0].data = nanv;
        unsigned char *bytes;
        size_t blen;
        CHECK(lf_st_serialize(mod, k, keys, vals, 3, &bytes, &blen, &e) == LF_OK, "write: %s", e.msg);
        if (tc[c].mode == 3) {
            float marker = 12345.0f, qnan = NAN;
            for (size_t i = 0; i + 4 <= blen; i++)
                if (memcmp(bytes + i, &marker, 4) == 0) memcpy(bytes + i, &qnan, 4);
        }
        FILE *fw = fopen(path2, "wb");
        fwrite(bytes, 1, blen, fw);
        fclose(fw);
        free(bytes);
        lf_model *b;
        lf_model_create(&b, 0);
        lf_status st = lf_model_load(b, path2);
        CHECK(st == LF_ERR_FORMAT && strstr(lf_model_error(b), tc[c].msg), "tensor case %zu: %s", c,
              lf_model_error(b));
        lf_model_free(b);
    }
    free(outs), free(names);
    lf_st_free(&f);
    /* not a latefuse file; missing file */
    const char *k1[1] = {"format"}, *v1[1] = {"other"};
    lf_st_write(path2, NULL, 0, k1, v1, 1, 0, &e);
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, path2) == LF_ERR_FORMAT && strstr(lf_model_error(l), "not a latefuse model"), "%s",
          lf_model_error(l));
    CHECK(lf_model_load(l, "/nonexistent/x.lf") == LF_ERR_IO, "missing file");
    lf_model_free(l);
    /* a failed save leaves the old file intact */
    CHECK(lf_model_save(m, "/nonexistent-dir/x.lf", 0) == LF_ERR_IO, "save into a missing folder");
    /* the flags: LF_WRITE_NO_FSYNC writes the same bytes, the optimizer
     * state makes the file larger, an unknown bit is refused */
    CHECK(lf_model_save(m, path, LF_SAVE_OPTIMIZER) == LF_OK &&
              lf_model_save(m, path2, LF_SAVE_OPTIMIZER | LF_WRITE_NO_FSYNC) == LF_OK && same_bytes(path, path2),
          "save without fsync: %s", lf_model_error(m));
    CHECK(lf_model_save(m, path2, 0) == LF_OK && !same_bytes(path, path2), "save without the optimizer");
    CHECK(lf_model_save(m, path2, 4u) == LF_ERR_ARG && strcmp(lf_model_error(m), "save: unknown flags 0x4") == 0,
          "%s", lf_model_error(m));
    lf_model_free(m);
    free(x1), free(x2);
    unlink(path), unlink(path2);
}

/* Every value the builders and lf_model_compile accept is read back from
 * the file lf_model_save writes (the reader once kept narrower ranges:
 * Dropout(0.9995), epsilon 1e7, SGD momentum 0.99995, a learning rate of
 * 1e-13 or Adam's epsilon 2 saved a file that load refused); a value
 * outside them is refused with the range. */
static void test_save_load_ranges(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/ranges.lf", tmpdir);
    for (int k = 0; k <= LF_OPT_LION; k++) {
        lf_model *m;
        lf_model_create(&m, 31);
        int x = lf_input_shape(m, 2, (size_t[]){3, 4}, LF_DTYPE_FLOAT32, "x");
        int h = lf_dropout(m, x, 0.9995f, "drop");
        h = lf_layer_normalization(m, h, 1e7f, 1, 1, "ln");
        h = lf_batch_normalization(m, h, 0.99f, 1e7f, "bn");
        h = lf_multi_head_attention(m, h, h, -1, 1, 2, 0, 0.9995f, 1, 0, "mha");
        h = lf_dense(m, lf_flatten(m, h, NULL), 2, LF_ACT_LINEAR, 1, "out");
        lf_set_l2(m, h, 2e6f);
        lf_optimizer o = lf_optimizer_default((lf_optimizer_kind)k);
        o.learning_rate = 1e-13f, o.momentum = 0.99995f, o.beta_1 = 0.99999994f, o.beta_2 = 0.99999994f;
        o.epsilon = 2.0f, o.rho = 0.99999994f, o.use_ema = 1, o.ema_momentum = 0.99999994f;
        o.initial_accumulator_value = 3e38f, o.amsgrad = 1, o.centered = 1;
        CHECK(lf_model_compile(m, h, LF_LOSS_MSE, &o) == LF_OK, "ranges %d: compile: %s", k, lf_model_error(m));
        CHECK(lf_model_save(m, path, LF_SAVE_OPTIMIZER) == LF_OK, "ranges %d: save: %s", k, lf_model_error(m));
        lf_model *l;
        lf_model_create(&l, 0);
        CHECK(lf_model_load(l, path) == LF_OK, "ranges %d: a saved model does not load: %s", k, lf_model_error(l));
        lf_model_free(l);
        /* a rate of 1 (which lf_dropout refuses) is refused, the range named */
        lf_st_file f;
        lf_err e;
        CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
        const char *arch = lf_st_metadata(&f, "architecture"), *at = strstr(arch, "\"rate\":0.9995");
        CHECK(at != NULL, "ranges %d: the rate in %s", k, arch);
        if (at) {
            size_t n = strlen(arch) + 8;
            char *mod = malloc(n);
            snprintf(mod, n, "%.*s\"rate\":1%s", (int)(at - arch), arch, at + strlen("\"rate\":0.9995"));
            lf_model *b;
            lf_model_create(&b, 0);
            lf_status st = lf_model_from_parts(b, mod, strlen(mod), &f, "", &e);
            CHECK(st == LF_ERR_FORMAT && strstr(e.msg, "'rate' must be a finite number in [0, 1)"), "ranges %d: %s",
                  k, e.msg);
            lf_model_free(b);
            free(mod);
        }
        lf_st_free(&f);
        lf_model_free(m);
    }
    unlink(path);
}

/* fit gives bit-identical weights whatever the number of threads (the
 * sgemm splits columns, never the k-sum): 8, 3, 2 and 1 threads */
static void test_threads_determinism(void) {
#ifdef _OPENMP
    size_t n = 256, d = 600;
    /* the largest team first: LLVM's libomp 14 leaks (LeakSanitizer) when
     * a team grows past an earlier one of two or more threads */
    static const int threads[4] = {8, 3, 2, 1};
    int initial = omp_get_max_threads();
    omp_set_num_threads(initial > 8 ? initial : 8);
#pragma omp parallel
    {
        (void)0;
    }
    float *x = malloc(n * d * sizeof *x), *y = malloc(n * sizeof *y);
    fill_uniform(x, n * d, -1, 1, 21);
    for (size_t r = 0; r < n; r++) y[r] = (float)(r % 10);
    float *w[4];
    for (int t = 0; t < 4; t++) {
        omp_set_num_threads(threads[t]);
        lf_model *m;
        lf_model_create(&m, 5);
        int in = lf_input(m, d, "x");
        int h = lf_dense(m, in, 512, LF_ACT_RELU, 1, "h");
        lf_model_compile(m, lf_dense(m, h, 10, LF_ACT_SOFTMAX, 1, "o"), LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL);
        lf_fit_options o = lf_fit_defaults();
        o.epochs = 2, o.batch_size = 128;
        const float *xs[1] = {x};
        CHECK(lf_model_fit(m, xs, y, n, &o) == LF_OK, "fit");
        w[t] = malloc(m->n_params * sizeof(float));
        memcpy(w[t], m->params, m->n_params * sizeof(float));
        if (t > 0)
            CHECK(memcmp(w[0], w[t], m->n_params * sizeof(float)) == 0, "8 and %d threads differ", threads[t]);
        lf_model_free(m);
    }
    omp_set_num_threads(initial);
    for (int t = 0; t < 4; t++) free(w[t]);
    free(x), free(y);
#else
    CHECK_SKIP("built without OpenMP: thread-count determinism not tested");
#endif
}

/* fit draws a new order of the training rows every epoch: the rows the
 * batches gather are, epoch after epoch, the Fisher-Yates permutations
 * (i = n..2: swap i-1 with lf_rng_below(i)) of one generator seeded with
 * the fit's seed and carried over from epoch to epoch (the model has no
 * dropout, so nothing else draws from it); without shuffle, 0..n-1 */
#define ORDER_ROWS 40
#define ORDER_EPOCHS 4
typedef struct {
    size_t seen[ORDER_ROWS * ORDER_EPOCHS + 1];
    size_t n_seen;
} order_log;

static void gather_logged(void *ctx, const size_t *rows, size_t n, float *const *x, float *t) {
    order_log *c = ctx;
    for (size_t i = 0; i < n; i++) {
        if (c->n_seen < ORDER_ROWS * ORDER_EPOCHS + 1) c->seen[c->n_seen++] = rows[i];
        x[0][2 * i] = (float)(rows[i] % 5) - 2.0f;
        x[0][2 * i + 1] = (float)rows[i] / ORDER_ROWS;
        t[i] = (float)(rows[i] % 2);
    }
}

static void test_reshuffle(void) {
    for (int shuffle = 0; shuffle <= 1; shuffle++) {
        lf_model *m;
        lf_model_create(&m, 3);
        int in = lf_input(m, 2, "x");
        lf_model_compile(m, lf_dense(m, in, 2, LF_ACT_SOFTMAX, 1, "o"), LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                         NULL);
        order_log log;
        memset(&log, 0, sizeof log);
        lf_row_source src = {ORDER_ROWS, gather_logged, &log, NULL, 0};
        lf_fit_options o = lf_fit_defaults();
        o.epochs = ORDER_EPOCHS, o.batch_size = 16, o.seed = 11, o.shuffle = shuffle;
        CHECK(lf_model_fit_source(m, &src, &o) == LF_OK, "fit: %s", lf_model_error(m));
        CHECK(log.n_seen == ORDER_ROWS * ORDER_EPOCHS, "%zu rows gathered, expected %d", log.n_seen,
              ORDER_ROWS * ORDER_EPOCHS);
        size_t want[ORDER_ROWS * ORDER_EPOCHS], perm[ORDER_ROWS];
        for (size_t r = 0; r < ORDER_ROWS; r++) perm[r] = r;
        lf_rng rng;
        lf_rng_seed(&rng, o.seed);
        for (size_t e = 0; e < ORDER_EPOCHS; e++) {
            for (size_t i = ORDER_ROWS; shuffle && i > 1; i--) {
                size_t j = (size_t)lf_rng_below(&rng, i), tmp = perm[i - 1];
                perm[i - 1] = perm[j], perm[j] = tmp;
            }
            memcpy(want + e * ORDER_ROWS, perm, sizeof perm);
        }
        CHECK(memcmp(log.seen, want, sizeof want) == 0, "shuffle %d: the batches gathered other rows than "
              "the documented order (first row of epoch 2: %zu, expected %zu)", shuffle,
              log.seen[ORDER_ROWS], want[ORDER_ROWS]);
        /* and, shuffled, no two epochs see the rows in the same order */
        int distinct = 1;
        for (size_t e = 1; e < ORDER_EPOCHS; e++)
            for (size_t f = 0; f < e; f++)
                distinct &= memcmp(log.seen + e * ORDER_ROWS, log.seen + f * ORDER_ROWS,
                                   ORDER_ROWS * sizeof(size_t)) != 0;
        CHECK(distinct == shuffle, "shuffle %d: epochs in %s order", shuffle, distinct ? "distinct" : "equal");
        lf_model_free(m);
    }
}

/* x (8) -> Dropout(0.5) -> Dense(1, linear, no bias), plain SGD: on one row
 * of ones (batch 1, target 0) a step moves exactly the kernel weights of
 * the units the mask kept */
static lf_model *mask_model(const lf_optimizer *sgd) {
    lf_model *m;
    lf_model_create(&m, 8);
    int x = lf_input(m, 8, "x");
    int o = lf_dense(m, lf_dropout(m, x, 0.5f, "drop"), 1, LF_ACT_LINEAR, 0, "o");
    lf_model_compile(m, o, LF_LOSS_MSE, sgd);
    return m;
}

/* the kernel weights a one-epoch fit moved, as a bit set */
static unsigned mask_fit(lf_model *m, const lf_fit_options *o) {
    float before[8], one[8] = {1, 1, 1, 1, 1, 1, 1, 1}, t = 0;
    const float *xs[1] = {one};
    memcpy(before, m->params, sizeof before);
    CHECK(lf_model_fit(m, xs, &t, 1, o) == LF_OK, "fit: %s", lf_model_error(m));
    unsigned bits = 0;
    for (int i = 0; i < 8; i++) bits |= (unsigned)(m->params[i] != before[i]) << i;
    return bits;
}

/* fit called again goes on drawing, as Keras' seed generators do: its
 * shuffle and dropout masks are not the first call's again (a Keras loop
 * of fit(epochs=1) would otherwise see one order and one mask per row in
 * every epoch); a model saved with its optimizer state and loaded draws
 * what the saved one draws. */
static void test_refit_draws(void) {
    lf_model *m;
    lf_model_create(&m, 3);
    int in = lf_input(m, 2, "x");
    lf_model_compile(m, lf_dense(m, in, 2, LF_ACT_SOFTMAX, 1, "o"), LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL);
    order_log log;
    memset(&log, 0, sizeof log);
    lf_row_source src = {ORDER_ROWS, gather_logged, &log, NULL, 0};
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 1, o.batch_size = 16, o.seed = 11;
    CHECK(lf_model_fit_source(m, &src, &o) == LF_OK, "fit: %s", lf_model_error(m));
    CHECK(lf_model_fit_source(m, &src, &o) == LF_OK, "fit again: %s", lf_model_error(m));
    CHECK(log.n_seen == 2 * ORDER_ROWS, "%zu rows gathered", log.n_seen);
    CHECK(memcmp(log.seen, log.seen + ORDER_ROWS, ORDER_ROWS * sizeof(size_t)) != 0,
          "fit called again shuffled the rows in the first call's order");
    lf_model_free(m);

    char path[160];
    snprintf(path, sizeof path, "%s/refit.lf", tmpdir);
    lf_optimizer sgd = lf_optimizer_default(LF_OPT_SGD);
    lf_fit_options one = lf_fit_defaults();
    one.seed = 5;
    unsigned masks[4];
    lf_model *a = mask_model(&sgd);
    for (int k = 0; k < 4; k++) masks[k] = mask_fit(a, &one);
    CHECK(masks[0] != masks[1] || masks[1] != masks[2] || masks[2] != masks[3],
          "four fit calls dropped the same units (mask %#x)", masks[0]);
    /* saved after call 2 with the optimizer's step count, loaded: call 3's mask */
    lf_model *b = mask_model(&sgd);
    mask_fit(b, &one), mask_fit(b, &one);
    CHECK(lf_model_save(b, path, LF_SAVE_OPTIMIZER) == LF_OK, "save: %s", lf_model_error(b));
    lf_model *l;
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
    unsigned lm = mask_fit(l, &one);
    CHECK(lm == masks[2], "the loaded model's next fit dropped %#x, the saved one's %#x", lm, masks[2]);
    lf_model_free(a), lf_model_free(b), lf_model_free(l);
    remove(path);
}

/* a row source gathering from arrays trains exactly as lf_model_fit */
typedef struct {
    const float *x, *y;
} rows_ctx;

static void gather_task(void *ctx, const size_t *rows, size_t n, float *const *x, float *t) {
    const rows_ctx *c = ctx;
    for (size_t i = 0; i < n; i++) {
        memcpy(x[0] + i * 4, c->x + rows[i] * 4, 4 * sizeof(float));
        t[i] = c->y[rows[i]];
    }
}

/* validation_split as Keras: the first floor(n (1 - split)) rows train (140
 * of 200 at 0.3; a float's 0.3f, 0.30000001, left 139), the rest validate, and their
 * sample weights go with them into val_loss: the epoch's val_loss is the
 * final weights' weighted loss on rows 140..199 */
static void test_validation_split_rows(void) {
    size_t n = 200;
    float *x = malloc(n * 4 * sizeof *x), *y = malloc(n * sizeof *y), *w = malloc(n * sizeof *w);
    make_task(x, y, n, 23);
    for (size_t r = 0; r < n; r++) w[r] = 0.25f + (float)(r % 7);
    const float *xs[1] = {x}, *xv[1] = {x + 140 * 4};
    for (int weighted = 0; weighted < 2; weighted++) {
        lf_fit_options o = lf_fit_defaults();
        o.epochs = 1, o.validation_split = 0.3, o.seed = 5, o.sample_weight = weighted ? w : NULL;
        lf_model *a = clf_model(8, 0.2f);
        CHECK(lf_model_fit(a, xs, y, n, &o) == LF_OK, "fit: %s", lf_model_error(a));
        double loss140 = NAN, loss141 = NAN;
        CHECK(lf_model_evaluate(a, xv, y + 140, 60, weighted ? w + 140 : NULL, &loss140, NULL) == LF_OK &&
                  lf_model_evaluate(a, (const float *const[]){x + 139 * 4}, y + 139, 61, weighted ? w + 139 : NULL,
                                    &loss141, NULL) == LF_OK,
              "evaluate");
        double vl = lf_model_history(a)->val_loss[0];
        CHECK(fabs(vl - loss140) <= 1e-9 * fabs(loss140) && fabs(vl - loss141) > 1e-6,
              "weighted %d: val_loss %.9g, the weighted loss of rows 140.. %.9g, of rows 139.. %.9g", weighted, vl,
              loss140, loss141);
        if (weighted) { /* the same with the weights left out of val_loss: far from it */
            double plain = NAN;
            lf_model_evaluate(a, xv, y + 140, 60, NULL, &plain, NULL);
            CHECK(fabs(vl - plain) > 1e-3, "the sample weights count in val_loss: %.9g vs unweighted %.9g", vl, plain);
        }
        lf_model_free(a);
    }
    /* validation data given apart, with their own weights (Keras'
     * validation_data=(x, y, sample_weight)): val_loss is evaluate's
     * weighted loss of those rows, not the unweighted one */
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 1, o.seed = 5, o.val_x = xv, o.val_y = y + 140, o.val_n = 60, o.val_sample_weight = w + 140;
    lf_model *a = clf_model(8, 0.2f);
    CHECK(lf_model_fit(a, xs, y, 140, &o) == LF_OK, "fit: %s", lf_model_error(a));
    double weighted = NAN, plain = NAN, vl = lf_model_history(a)->val_loss[0];
    lf_model_evaluate(a, xv, y + 140, 60, w + 140, &weighted, NULL);
    lf_model_evaluate(a, xv, y + 140, 60, NULL, &plain, NULL);
    CHECK(fabs(vl - weighted) <= 1e-9 * fabs(weighted) && fabs(vl - plain) > 1e-3,
          "val_sample_weight: val_loss %.9g, weighted %.9g, unweighted %.9g", vl, weighted, plain);
    w[150] = -1.0f;
    CHECK(lf_model_fit(a, xs, y, 140, &o) == LF_ERR_ARG &&
              strcmp(lf_model_error(a), "fit: validation sample weight -1 at row 10 must be finite and >= 0") == 0,
          "a negative validation weight: %s", lf_model_error(a));
    o.val_x = NULL, o.val_y = NULL, o.val_n = 0, o.validation_split = 0.3;
    CHECK(lf_model_fit(a, xs, y, n, &o) == LF_ERR_ARG &&
              strcmp(lf_model_error(a), "fit: val_sample_weight weighs explicit validation data (val_x or "
                                        "val_arrays), and none is given") == 0,
          "val_sample_weight without validation data: %s", lf_model_error(a));
    lf_model_free(a);
    free(x), free(y), free(w);
}

/* options and inputs that would lose the weights or give NaN quietly */
static void test_fit_refusals(void) {
    size_t n = 40;
    float *x = malloc(n * 4 * sizeof *x), *y = malloc(n * sizeof *y);
    make_task(x, y, n, 29);
    const float *xs[1] = {x};
    lf_model *m = clf_model(4, 0.0f);
    float first = m->params[0];
    const float bad_delta[3] = {NAN, INFINITY, -0.5f};
    for (int i = 0; i < 3; i++) {
        lf_fit_options o = lf_fit_defaults();
        o.epochs = 3, o.patience = 1, o.restore_best_weights = 1, o.min_delta = bad_delta[i];
        char want[80];
        snprintf(want, sizeof want, "fit: min_delta must be finite and >= 0, got %g", (double)bad_delta[i]);
        CHECK(lf_model_fit(m, xs, y, n, &o) == LF_ERR_ARG && strcmp(lf_model_error(m), want) == 0 &&
                  m->params[0] == first,
              "min_delta %g: %s", (double)bad_delta[i], lf_model_error(m));
    }
    /* predict_arrays takes a NaN input as predict does (its header says so; test_edge: the row's own outputs) */
    float out2[4], out4[4];
    x[5] = NAN;
    lf_typed_array ta = {LF_DTYPE_FLOAT32, x};
    float *ys[1] = {out2};
    CHECK(lf_model_predict_arrays(m, &ta, 2, ys) == LF_OK && lf_model_predict(m, xs, 2, out4) == LF_OK &&
              memcmp(out2, out4, sizeof out2) == 0,
          "predict_arrays of a NaN row: %g %g %g %g", out2[0], out2[1], out2[2], out2[3]);
    /* a row count whose values a size_t cannot count is refused before any
     * row is read (the buffers are small: a read or write past them crashes) */
    size_t huge = SIZE_MAX / 4 + 1;
    CHECK(lf_model_predict(m, xs, huge, out4) == LF_ERR_ARG, "predict of SIZE_MAX / 4 + 1 rows of 4");
    CHECK(lf_model_predict_arrays(m, &ta, huge, ys) == LF_ERR_ARG, "predict_arrays of SIZE_MAX / 4 + 1 rows");
    char want[96];
    snprintf(want, sizeof want, "evaluate: %zu rows hold more values than memory can address", huge);
    CHECK(lf_model_evaluate(m, xs, y, huge, NULL, NULL, NULL) == LF_ERR_ARG && strcmp(lf_model_error(m), want) == 0,
          "evaluate of SIZE_MAX / 4 + 1 rows: %s", lf_model_error(m));
    lf_model_free(m);
    free(x), free(y);
}

/* restore_best_weights as Keras 3: the best epoch's weights at the end of
 * fit, stopped early or not, and over use_ema's average.  Validation rows
 * whose labels are flipped: their loss rises as training goes, so the best
 * epoch comes early; the reference is the same model trained best + 1
 * epochs without early stopping (the same seed: the same steps). */
static void test_restore_best(void) {
    size_t n = 200, nv = 60;
    float *x = malloc(n * 4 * sizeof *x), *y = malloc(n * sizeof *y), *yv = malloc(nv * sizeof *yv);
    make_task(x, y, n, 31);
    for (size_t r = 0; r < nv; r++) yv[r] = 1.0f - y[r];
    const float *xs[1] = {x};
    for (int ema = 0; ema < 2; ema++) {
        lf_fit_options o = lf_fit_defaults();
        o.epochs = 6, o.patience = 10, o.restore_best_weights = 1, o.seed = 2;
        o.val_x = xs, o.val_y = yv, o.val_n = nv;
        lf_model *a = clf_model(12, 0.0f), *b = clf_model(12, 0.0f);
        a->opt.use_ema = b->opt.use_ema = ema; /* (the average changes no step: the raw weights are compared) */
        CHECK(lf_model_fit(a, xs, y, n, &o) == LF_OK, "fit: %s", lf_model_error(a));
        const lf_history *h = lf_model_history(a);
        size_t best = h->best_epoch;
        CHECK(!h->stopped_early && h->epochs == 6 && best + 1 < 6, "ema %d: best epoch %zu of %zu", ema, best + 1,
              h->epochs);
        lf_fit_options ob = o;
        ob.patience = 0, ob.restore_best_weights = 0, ob.epochs = best + 1;
        b->opt.use_ema = 0;
        CHECK(lf_model_fit(b, xs, y, n, &ob) == LF_OK, "fit b: %s", lf_model_error(b));
        CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0,
              "ema %d: the weights after fit are not those of the best epoch %zu", ema, best + 1);
        lf_model_free(a), lf_model_free(b);
    }
    free(x), free(y), free(yv);
}

/* A fit whose val_loss follows a script: y = w x without bias, one row x =
 * 1, y = 0 (the validation row the same), SGD, one step an epoch: the step
 * makes w (1 - 2 lr), so the learning rate set at each epoch's start takes
 * w to (-1)^(e+1) sqrt(t[e]) (the sign alternating keeps lr > 0), and
 * val_loss at epoch e's end is t[e].  w_at[e]: w after epoch e. */
typedef struct {
    lf_model *m;
    const double *t;
    float w_at[16];
} scripted;

static void scripted_lr(void *ctx, const lf_progress *p) {
    scripted *s = ctx;
    size_t e = p->epoch - 1;
    if (p->event == LF_PROGRESS_EPOCH_END) s->w_at[e] = s->m->params[0];
    if (p->event != LF_PROGRESS_EPOCH_BEGIN) return;
    double w = s->m->params[0], target = (e % 2 ? 1 : -1) * sqrt(s->t[e]);
    lf_model_set_learning_rate(s->m, (float)((1.0 - target / w) / 2.0));
}

/* The scripted fit from o.initial_epoch (t indexed by the absolute
 * epoch); with unvalidated, epochs without validation (NaN val_loss, as
 * validation_freq leaves them) are not checked against the script, and
 * every other epoch's val_loss is. */
static lf_model *fit_scripted(const double *t, lf_fit_options o, scripted *s, int unvalidated) {
    lf_optimizer sgd = lf_optimizer_default(LF_OPT_SGD);
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input(m, 1, "x");
    int w = lf_dense(m, x, 1, LF_ACT_LINEAR, 0, "w");
    float one = 1.0f;
    CHECK(lf_model_compile(m, w, LF_LOSS_MSE, &sgd) == LF_OK && lf_set_weights(m, "w", 0, &one, 1) == LF_OK,
          "build: %s", lf_model_error(m));
    static const float xv[1] = {1}, yv[1] = {0};
    const float *xs[1] = {xv};
    s->m = m, s->t = t;
    o.val_x = xs, o.val_y = yv, o.val_n = 1, o.progress = scripted_lr, o.progress_ctx = s;
    CHECK(lf_model_fit(m, xs, yv, 1, &o) == LF_OK, "fit: %s", lf_model_error(m));
    const lf_history *h = lf_model_history(m);
    for (size_t e = 0; e < h->epochs; e++)
        if (!unvalidated || !isnan(h->val_loss[e]))
            CHECK(fabs(h->val_loss[e] - t[e + o.initial_epoch]) < 1e-5, "the script: val_loss %g at epoch %zu, "
                  "want %g", h->val_loss[e], e, t[e + o.initial_epoch]);
    return m;
}

/* Keras 3's fit(validation_freq, initial_epoch) (keras/src/backend/torch/
 * trainer.py fit; keras/src/trainers/trainer.py _should_eval; Keras'
 * EarlyStopping skips an epoch without its monitored value): the scripted
 * val_loss t3 at the validated epochs only, worked out by hand. */
static void test_validation_freq_initial_epoch(void) {
    static const double t3[8] = {0.5, 0.9, 0.1, 0.8, 0.2, 0.85, 0.3, 0.7};
    /* validation_freq 2: epochs 1, 3, 5 (0-based) validated, 0.9 0.8 0.85:
     * patience 1 stops after epoch 5, best 3 (every epoch validated: 0.5
     * then 0.9 would stop after epoch 1) */
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 8, o.patience = 1, o.restore_best_weights = 1, o.validation_freq = 2;
    scripted s;
    lf_model *m = fit_scripted(t3, o, &s, 1);
    const lf_history *h = lf_model_history(m);
    CHECK(h->epochs == 6 && h->best_epoch == 3 && h->stopped_early && m->params[0] == s.w_at[3],
          "validation_freq 2: ran %zu, best %zu, stopped %d; want 6, 3, 1", h->epochs, h->best_epoch,
          h->stopped_early);
    for (size_t e = 0; e < h->epochs; e++)
        CHECK(e % 2 ? fabs(h->val_loss[e] - t3[e]) < 1e-5 : isnan(h->val_loss[e]) && isnan(h->val_output_loss[e]),
              "validation_freq 2: val_loss %g at epoch %zu", h->val_loss[e], e);
    lf_model_free(m);
    /* validation_epochs {2, 4} (1-based): epochs 1 and 3 only, no stop */
    static const size_t at[2] = {2, 4};
    o = lf_fit_defaults();
    o.epochs = 5, o.patience = 1, o.validation_epochs = at, o.n_validation_epochs = 2;
    m = fit_scripted(t3, o, &s, 1);
    h = lf_model_history(m);
    CHECK(h->epochs == 5 && h->best_epoch == 3 && !h->stopped_early && isnan(h->val_loss[4]) &&
              fabs(h->val_loss[3] - t3[3]) < 1e-5 && isnan(h->val_loss[0]),
          "validation_epochs {2, 4}: ran %zu, best %zu", h->epochs, h->best_epoch);
    lf_model_free(m);
    /* initial_epoch 2: epochs 2.. run, numbered so (the script reads the
     * progress' epoch): 0.1 then 0.8 stops; the history from its index 0,
     * best_epoch counted as the fit's epochs */
    o = lf_fit_defaults();
    o.epochs = 8, o.patience = 1, o.restore_best_weights = 1, o.initial_epoch = 2;
    m = fit_scripted(t3, o, &s, 1);
    h = lf_model_history(m);
    CHECK(h->epochs == 2 && h->best_epoch == 2 && h->stopped_early && fabs(h->val_loss[0] - 0.1) < 1e-5 &&
              fabs(h->val_loss[1] - 0.8) < 1e-5 && m->params[0] == s.w_at[2],
          "initial_epoch 2: ran %zu, best %zu, val %g %g", h->epochs, h->best_epoch, h->val_loss[0], h->val_loss[1]);
    /* refused: initial_epoch not below epochs, a count without its list */
    const float xv[1] = {1}, yv[1] = {0};
    const float *xs[1] = {xv};
    o = lf_fit_defaults();
    o.epochs = 3, o.initial_epoch = 3;
    CHECK(lf_model_fit(m, xs, yv, 1, &o) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "fit: initial_epoch 3 must be below epochs (3)") == 0,
          "initial_epoch 3 of 3: %s", lf_model_error(m));
    o.initial_epoch = 0, o.n_validation_epochs = 1;
    CHECK(lf_model_fit(m, xs, yv, 1, &o) == LF_ERR_ARG && strstr(lf_model_error(m), "validation_epochs is NULL"),
          "n_validation_epochs without a list: %s", lf_model_error(m));
    lf_model_free(m);
}

/* Keras 3's EarlyStopping baseline and start_from_epoch
 * (keras/src/callbacks/early_stopping.py, on_epoch_end): wait += 1 every
 * watched epoch; an improvement becomes the best and resets wait only when
 * it beats the baseline too; an epoch without one stops the fit once wait
 * >= patience; epochs < start_from_epoch are not watched.  Each case's
 * stopping epoch and best epoch are worked out by those rules by hand. */
static void test_baseline_start(void) {
    static const double t1[8] = {1.0, 0.9, 0.8, 0.85, 0.7, 0.75, 0.76, 0.6};
    struct {
        int has_baseline;
        double baseline;
        size_t start, patience, epochs, ran, best;
        int stopped;
    } cases[] = {
        /* no baseline: waits 0 0 0 1 0 1 2: stops after epoch 6 (0-based), best 4 */
        {0, 0, 0, 2, 8, 7, 4, 1},
        /* baseline 0.5, never beaten: waits 1 2 3 (improving, not reset) 4: stops after epoch 3, best 2 */
        {1, 0.5, 0, 2, 8, 4, 2, 1},
        /* baseline 0.95: epoch 0 misses it (wait 1), epoch 1 beats it (0): as without one */
        {1, 0.95, 0, 2, 8, 7, 4, 1},
        /* baseline 0.75 (0.7 beats it at epoch 4): waits 1 2 3 4 (stop: no improvement at 3) */
        {1, 0.75, 0, 3, 8, 4, 2, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lf_fit_options o = lf_fit_defaults();
        o.epochs = cases[k].epochs, o.patience = cases[k].patience, o.restore_best_weights = 1;
        o.has_baseline = cases[k].has_baseline, o.baseline = cases[k].baseline;
        o.start_from_epoch = cases[k].start;
        scripted s;
        lf_model *m = fit_scripted(t1, o, &s, 0);
        const lf_history *h = lf_model_history(m);
        CHECK(h->epochs == cases[k].ran && h->best_epoch == cases[k].best && h->stopped_early == cases[k].stopped,
              "case %zu: ran %zu epochs, best %zu, stopped %d; want %zu, %zu, %d", k, h->epochs, h->best_epoch,
              h->stopped_early, cases[k].ran, cases[k].best, cases[k].stopped);
        CHECK(m->params[0] == s.w_at[cases[k].best], "case %zu: w %g, the best epoch's %g", k, (double)m->params[0],
              (double)s.w_at[cases[k].best]);
        lf_model_free(m);
    }
    /* start_from_epoch 2: epochs 0 and 1 (the lowest losses) are not
     * watched; 0.9, 0.8 improve, 0.85 does not: patience 1 stops after
     * epoch 4, and the weights put back are epoch 3's, not epoch 0's */
    static const double t2[8] = {0.1, 0.2, 0.9, 0.8, 0.85, 0.5, 0.4, 0.3};
    for (size_t start = 0; start <= 2; start += 2) {
        lf_fit_options o = lf_fit_defaults();
        o.epochs = 8, o.patience = 1, o.restore_best_weights = 1, o.start_from_epoch = start;
        scripted s;
        lf_model *m = fit_scripted(t2, o, &s, 0);
        const lf_history *h = lf_model_history(m);
        size_t ran = start ? 5 : 2, best = start ? 3 : 0;
        CHECK(h->epochs == ran && h->best_epoch == best && h->stopped_early,
              "start_from_epoch %zu: ran %zu epochs, best %zu; want %zu, %zu", start, h->epochs, h->best_epoch, ran,
              best);
        CHECK(m->params[0] == s.w_at[best], "start_from_epoch %zu: w %g, epoch %zu's %g", start,
              (double)m->params[0], best, (double)s.w_at[best]);
        lf_model_free(m);
    }
    /* every epoch before start_from_epoch: nothing watched, nothing put
     * back (Keras: best_weights stays None), best_epoch 0 */
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 3, o.patience = 1, o.restore_best_weights = 1, o.start_from_epoch = 5;
    scripted s;
    lf_model *m = fit_scripted(t2, o, &s, 0);
    CHECK(lf_model_history(m)->epochs == 3 && lf_model_history(m)->best_epoch == 0 && m->params[0] == s.w_at[2],
          "start_from_epoch past the end: w %g, the last epoch's %g", (double)m->params[0], (double)s.w_at[2]);
    /* a baseline must be finite, has_baseline 0 or 1 */
    const float xv[1] = {1}, yv[1] = {0};
    const float *xs[1] = {xv};
    o.has_baseline = 1, o.baseline = NAN;
    CHECK(lf_model_fit(m, xs, yv, 1, &o) == LF_ERR_ARG && strcmp(lf_model_error(m), "fit: baseline must be finite, got nan") == 0,
          "got '%s'", lf_model_error(m));
    o.has_baseline = 2, o.baseline = 0;
    CHECK(lf_model_fit(m, xs, yv, 1, &o) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "fit: has_baseline must be 0 or 1, got 2") == 0,
          "got '%s'", lf_model_error(m));
    lf_model_free(m);
}

/* monitor_accuracy: the best epoch is the first of the highest validation
 * accuracy (Keras' EarlyStopping(monitor='val_accuracy'), mode max), the
 * loss's when off; patience counts epochs without a higher one; a model
 * without an accuracy is refused */
static void test_monitor_accuracy(void) {
    size_t n = 200;
    float *x = malloc(n * 4 * sizeof *x), *y = malloc(n * sizeof *y);
    make_task(x, y, n, 37);
    for (size_t r = 150; r < n; r += 3) y[r] = 1.0f - y[r]; /* noisy validation rows */
    const float *xs[1] = {x};
    for (int acc = 0; acc < 2; acc++) {
        lf_fit_options o = lf_fit_defaults();
        o.epochs = 12, o.patience = 100, o.validation_split = 0.25, o.seed = 3, o.monitor_accuracy = acc;
        lf_model *a = clf_model(14, 0.0f);
        CHECK(lf_model_fit(a, xs, y, n, &o) == LF_OK, "fit: %s", lf_model_error(a));
        const lf_history *h = lf_model_history(a);
        size_t want = 0;
        for (size_t e = 1; e < h->epochs; e++)
            if (acc ? h->val_accuracy[e] > h->val_accuracy[want] : h->val_loss[e] < h->val_loss[want]) want = e;
        CHECK(h->best_epoch == want, "monitor_accuracy %d: best epoch %zu, want %zu", acc, h->best_epoch, want);
        lf_model_free(a);
    }
    /* patience 2 on the accuracy: stops two epochs after its best */
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 40, o.patience = 2, o.validation_split = 0.25, o.seed = 3, o.monitor_accuracy = 1;
    lf_model *a = clf_model(14, 0.0f);
    CHECK(lf_model_fit(a, xs, y, n, &o) == LF_OK, "fit: %s", lf_model_error(a));
    const lf_history *h = lf_model_history(a);
    CHECK(!h->stopped_early || h->epochs == h->best_epoch + 3, "patience 2: stopped after epoch %zu, best %zu",
          h->epochs, h->best_epoch + 1);
    lf_model_free(a);
    lf_model *r;
    lf_model_create(&r, 1);
    int in = lf_input(r, 4, "x");
    lf_model_compile(r, lf_dense(r, in, 1, LF_ACT_LINEAR, 1, "o"), LF_LOSS_MSE, NULL);
    CHECK(lf_model_fit(r, xs, y, n, &o) == LF_ERR_ARG &&
              strcmp(lf_model_error(r), "fit: monitor_accuracy needs a model with one output and a crossentropy "
                                        "loss (its accuracy is watched)") == 0,
          "monitor_accuracy with mse: %s", lf_model_error(r));
    lf_model_free(r);
    free(x), free(y);
}

/* a frozen layer's L2 penalty leaves the loss, as Keras 3 counts trainable
 * weights' regularisers only: evaluate is then the plain mean squared error */
static void test_frozen_penalty(void) {
    lf_model *m;
    lf_model_create(&m, 3);
    int x = lf_input(m, 2, "x");
    int d = lf_dense(m, x, 4, LF_ACT_LINEAR, 1, "d");
    int o = lf_dense(m, d, 1, LF_ACT_LINEAR, 1, "o");
    CHECK(lf_set_l2(m, d, 0.5f) == LF_OK && lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "build: %s",
          lf_model_error(m));
    float xv[8] = {0.5f, -1, 1, 2, -0.5f, 0.25f, 1.5f, -2}, yv[4] = {1, -1, 0.5f, 2}, p[4];
    const float *xs[1] = {xv};
    double with = NAN, without = NAN, mse = 0;
    CHECK(lf_model_evaluate(m, xs, yv, 4, NULL, &with, NULL) == LF_OK && lf_set_trainable(m, d, 0) == LF_OK &&
              lf_model_evaluate(m, xs, yv, 4, NULL, &without, NULL) == LF_OK && lf_model_predict(m, xs, 4, p) == LF_OK,
          "evaluate: %s", lf_model_error(m));
    for (int i = 0; i < 4; i++) mse += ((double)p[i] - yv[i]) * ((double)p[i] - yv[i]) / 4;
    CHECK(fabs(without - mse) < 1e-6 && with > without + 0.01, "frozen: %g, the mse %g; trainable: %g", without, mse,
          with);
    lf_model_free(m);
}

/* Keras' bias_regularizer=l2(b) beside kernel_regularizer=l2(k) on a
 * Dense: the loss is the mse + k sum(W^2) + b sum(bias^2); the file keeps
 * "bias_l2", a layer without one writes none (files as before), and a
 * bad value in a file is refused naming the layer */
static void test_bias_penalty(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/bias_l2.lf", tmpdir);
    lf_model *m;
    lf_model_create(&m, 4);
    int x = lf_input(m, 2, "x");
    int d = lf_dense(m, x, 2, LF_ACT_LINEAR, 1, "d");
    int o = lf_dense(m, d, 1, LF_ACT_LINEAR, 1, "o");
    CHECK(lf_set_l2(m, d, 0.5f) == LF_OK && lf_set_bias_l2(m, d, 0.25f) == LF_OK &&
              lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK,
          "build: %s", lf_model_error(m));
    float k[4] = {1, -2, 0.5f, 1.5f}, b[2] = {0.5f, -3}, ko[2] = {1, -1}, bo[1] = {2};
    CHECK(lf_set_weights(m, "d", 0, k, 4) == LF_OK && lf_set_weights(m, "d", 1, b, 2) == LF_OK &&
              lf_set_weights(m, "o", 0, ko, 2) == LF_OK && lf_set_weights(m, "o", 1, bo, 1) == LF_OK,
          "set: %s", lf_model_error(m));
    float xv[4] = {0.5f, -1, 1, 2}, yv[2] = {1, -1}, p[2];
    const float *xs[1] = {xv};
    double loss = NAN, mse = 0;
    CHECK(lf_model_evaluate(m, xs, yv, 2, NULL, &loss, NULL) == LF_OK && lf_model_predict(m, xs, 2, p) == LF_OK,
          "evaluate: %s", lf_model_error(m));
    for (int i = 0; i < 2; i++) mse += ((double)p[i] - yv[i]) * ((double)p[i] - yv[i]) / 2;
    /* 0.5 (1 + 4 + 0.25 + 2.25) + 0.25 (0.25 + 9) */
    CHECK(fabs(loss - (mse + 0.5 * 7.5 + 0.25 * 9.25)) < 1e-5, "loss %.9g, want the mse %.9g + 3.75 + 2.3125", loss,
          mse);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *l;
    lf_model_create(&l, 0);
    double back = NAN;
    CHECK(lf_model_load(l, path) == LF_OK && lf_model_evaluate(l, xs, yv, 2, NULL, &back, NULL) == LF_OK,
          "load: %s", lf_model_error(l));
    CHECK(back == loss, "the loaded model's loss %.9g, the saved one's %.9g", back, loss);
    lf_model_free(l);
    lf_st_file f;
    lf_err er;
    CHECK(lf_st_read(path, &f, &er) == LF_OK, "%s", er.msg);
    const char *arch = lf_st_metadata(&f, "architecture");
    CHECK(arch && strstr(arch, "\"use_bias\":true,\"l2\":0.5,\"bias_l2\":0.25}") &&
              strstr(arch, "\"name\":\"o\",\"type\":\"Dense\",\"inbound\":[\"d\"],\"units\":1,"
                           "\"activation\":\"linear\",\"use_bias\":true,\"l2\":0}"),
          "architecture: %s", arch ? arch : "(none)");
    lf_st_free(&f);
    lf_model_free(m);
    unlink(path);
}

/* lf_set_l2 / lf_set_bias_l2 on the node of a shared layer's second call
 * (Keras: one layer, one regularizer) penalise the weights it shares, as
 * on the owner's node: the loss is the same (before: LF_OK and no
 * penalty, the shared node holding no weights of its own) */
static void test_shared_penalty(void) {
    double loss[2];
    for (int on_shared = 0; on_shared <= 1; on_shared++) {
        lf_model *m;
        lf_model_create(&m, 5);
        int a = lf_input(m, 2, "a"), b = lf_input(m, 2, "b");
        int da = lf_dense(m, a, 2, LF_ACT_LINEAR, 1, "d");
        int db = lf_dense(m, b, 2, LF_ACT_LINEAR, 1, "d2");
        CHECK(lf_share_weights(m, db, da) == LF_OK, "share: %s", lf_model_error(m));
        int o = lf_dense(m, lf_add(m, 2, (int[]){da, db}, "s"), 1, LF_ACT_LINEAR, 0, "o");
        int at = on_shared ? db : da;
        CHECK(lf_set_l2(m, at, 0.5f) == LF_OK && lf_set_bias_l2(m, at, 0.25f) == LF_OK &&
                  lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK,
              "build: %s", lf_model_error(m));
        float k[4] = {1, -2, 0.5f, 1.5f}, bias[2] = {0.5f, -3}, xv[2] = {1, -1}, yv[1] = {0.5f};
        const float *xs[2] = {xv, xv};
        CHECK(lf_set_weights(m, "d", 0, k, 4) == LF_OK && lf_set_weights(m, "d", 1, bias, 2) == LF_OK &&
                  lf_model_evaluate(m, xs, yv, 1, NULL, &loss[on_shared], NULL) == LF_OK,
              "evaluate: %s", lf_model_error(m));
        lf_model_free(m);
    }
    CHECK(loss[1] == loss[0], "penalties set on the shared node: loss %.9g, set on the owner's %.9g", loss[1],
          loss[0]);
}

static void test_fit_source(void) {
    size_t n = 300;
    float *x = malloc(n * 4 * sizeof *x), *y = malloc(n * sizeof *y);
    make_task(x, y, n, 17);
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 5, o.validation_split = 0.2, o.patience = 2, o.restore_best_weights = 1, o.seed = 3;
    lf_model *a = clf_model(8, 0.2f), *b = clf_model(8, 0.2f);
    const float *xs[1] = {x};
    CHECK(lf_model_fit(a, xs, y, n, &o) == LF_OK, "fit");
    rows_ctx c = {x, y};
    lf_row_source src = {n, gather_task, &c, NULL, 0};
    CHECK(lf_model_fit_source(b, &src, &o) == LF_OK, "fit_source: %s", lf_model_error(b));
    CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0, "row source differs from arrays");
    CHECK(lf_model_history(a)->epochs == lf_model_history(b)->epochs &&
              lf_model_history(a)->val_loss[0] == lf_model_history(b)->val_loss[0],
          "histories differ");
    /* the source's own validation rows: the last n_val, as a split of as
     * many (0.2 of 300 leaves 240 = floor(300 (1 - 0.2)) to train) */
    lf_model *v = clf_model(8, 0.2f);
    src.n_val = 60, o.validation_split = 0;
    CHECK(lf_model_fit_source(v, &src, &o) == LF_OK, "fit_source with n_val: %s", lf_model_error(v));
    CHECK(memcmp(a->params, v->params, a->n_params * sizeof(float)) == 0 &&
              lf_model_history(a)->val_loss[0] == lf_model_history(v)->val_loss[0],
          "the row source's 60 validation rows differ from a split of 0.2");
    o.validation_split = 0.2;
    CHECK(lf_model_fit_source(v, &src, &o) == LF_ERR_ARG &&
              strcmp(lf_model_error(v),
                     "fit: the row source has its validation rows; validation_split must be 0") == 0,
          "n_val and validation_split: %s", lf_model_error(v));
    src.n_val = n, o.validation_split = 0;
    CHECK(lf_model_fit_source(v, &src, &o) == LF_ERR_ARG &&
              strcmp(lf_model_error(v), "fit: 300 validation rows of 300 leave no training row") == 0,
          "n_val = n: %s", lf_model_error(v));
    src.n_val = 0, o.validation_split = 0.2;
    lf_model_free(v);
    o.sample_weight = y;
    CHECK(lf_model_fit_source(b, &src, &o) == LF_ERR_ARG, "sample weights refused with a row source");
    lf_model_free(a), lf_model_free(b);
    free(x), free(y);
}

/* lf_fit_options.threads, under a caller's 3: the progress callback (on
 * the calling thread, inside the fit) sees OpenMP's count set to that many
 * (0: the caller's 3), for lf_model_fit, _arrays and _source alike; the
 * weights are the same bits; the caller's count is its own after each
 * call, an error's too; 1025 is refused with the exact message */
static void max_threads_seen(void *ctx, const lf_progress *p) {
    (void)p;
#ifdef _OPENMP
    int *seen = ctx;
    if (omp_get_max_threads() > *seen) *seen = omp_get_max_threads();
#else
    *(int *)ctx = 1;
#endif
}

static void test_threads_option(void) {
#ifdef _OPENMP
    int initial = omp_get_max_threads();
    omp_set_num_threads(3);
    size_t n = 300;
    float *x = malloc(n * 4 * sizeof *x), *y = malloc(n * sizeof *y);
    make_task(x, y, n, 17);
    const float *xs[1] = {x};
    const float *ys[1] = {y};
    lf_typed_array xa[1] = {{LF_DTYPE_FLOAT32, x}};
    rows_ctx c = {x, y};
    lf_row_source src = {n, gather_task, &c, NULL, 0};
    float *ref = NULL;
    for (int way = 0; way < 3; way++)
        for (int th = 0; th <= 2; th++) {
            int seen = 0;
            lf_fit_options o = lf_fit_defaults();
            o.epochs = 2, o.seed = 3, o.threads = (size_t)th, o.progress = max_threads_seen, o.progress_ctx = &seen;
            lf_model *m = clf_model(8, 0.2f);
            lf_status st = way == 0 ? lf_model_fit(m, xs, y, n, &o)
                           : way == 1 ? lf_model_fit_arrays(m, xa, ys, n, &o)
                                      : lf_model_fit_source(m, &src, &o);
            CHECK(st == LF_OK, "fit way %d, threads %d: %s", way, th, lf_model_error(m));
            CHECK(seen == (th ? th : 3), "fit way %d, threads %d: OpenMP's count %d inside the fit", way, th, seen);
            CHECK(omp_get_max_threads() == 3, "fit way %d, threads %d: the caller's count after: %d", way, th,
                  omp_get_max_threads());
            if (!ref) {
                ref = malloc(m->n_params * sizeof *ref);
                memcpy(ref, m->params, m->n_params * sizeof *ref);
            } else
                CHECK(memcmp(ref, m->params, m->n_params * sizeof *ref) == 0, "fit way %d, threads %d: other weights",
                      way, th);
            lf_model_free(m);
        }
    for (int way = 0; way < 3; way++) {
        lf_fit_options o = lf_fit_defaults();
        o.threads = 1025;
        lf_model *m = clf_model(8, 0.2f);
        lf_status st = way == 0 ? lf_model_fit(m, xs, y, n, &o)
                       : way == 1 ? lf_model_fit_arrays(m, xa, ys, n, &o)
                                  : lf_model_fit_source(m, &src, &o);
        CHECK(st == LF_ERR_ARG &&
                  strcmp(lf_model_error(m), "fit: threads must be 0 (OpenMP's count) or 1..1024, got 1025") == 0,
              "fit way %d, threads 1025: %d '%s'", way, st, lf_model_error(m));
        CHECK(omp_get_max_threads() == 3, "fit way %d: the caller's count after the error: %d", way,
              omp_get_max_threads());
        lf_model_free(m);
    }
    free(ref), free(x), free(y);
    omp_set_num_threads(initial);
#else
    CHECK_SKIP("built without OpenMP: lf_fit_options.threads not tested");
#endif
}

/* use_ema: the weights after fit are Keras' moving average of the weights
 * after each step, which a model without it shows one step at a time */
static void test_ema(void) {
    size_t n = 300, B = 100;
    float *x = malloc(n * 4 * sizeof *x), *y = malloc(n * sizeof *y);
    make_task(x, y, n, 23);
    lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
    opt.learning_rate = 0.05f;
    lf_model *a, *b;
    lf_model_create(&a, 4), lf_model_create(&b, 4);
    lf_model *both[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        int in = lf_input(both[k], 4, "x");
        int h = lf_dense(both[k], in, 8, LF_ACT_TANH, 1, "h");
        int o = lf_dense(both[k], h, 2, LF_ACT_SOFTMAX, 1, "o");
        opt.use_ema = k == 0, opt.ema_momentum = 0.9f;
        CHECK(lf_model_compile(both[k], o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &opt) == LF_OK, "compile");
    }
    size_t P = a->n_params;
    float *avg = calloc(P, sizeof *avg);
    lf_fit_options o = lf_fit_defaults();
    o.batch_size = B, o.shuffle = 0, o.epochs = 1;
    for (size_t s = 0; s < 6; s++) { /* b: one step per fit, rows in order */
        const float *xs[1] = {x + (s % 3) * B * 4};
        CHECK(lf_model_fit(b, xs, y + (s % 3) * B, B, &o) == LF_OK, "step %zu", s);
        float mom = s == 0 ? 0.0f : 0.9f;
        for (size_t i = 0; i < P; i++) avg[i] = mom * avg[i] + (1.0f - mom) * b->params[i];
    }
    const float *xs[1] = {x};
    o.epochs = 2;
    CHECK(lf_model_fit(a, xs, y, n, &o) == LF_OK, "fit with use_ema: %s", lf_model_error(a));
    CHECK(memcmp(a->params, avg, P * sizeof(float)) == 0, "weights after fit are not the moving average");
    CHECK(memcmp(a->params, b->params, P * sizeof(float)) != 0, "the average equals the last weights");
    /* it is saved and loaded with the optimizer */
    char path[96];
    snprintf(path, sizeof path, "%s/ema.safetensors", tmpdir);
    lf_model *c = NULL;
    lf_model_create(&c, 0);
    CHECK(lf_model_save(a, path, 0) == LF_OK, "save");
    CHECK(lf_model_load(c, path) == LF_OK && c->opt.use_ema == 1 && c->opt.ema_momentum == 0.9f,
          "use_ema not loaded: %s", lf_model_error(c));
    remove(path);
    lf_model_free(c);
    /* a momentum of 1 would never move */
    lf_model *d;
    lf_model_create(&d, 1);
    int in = lf_input(d, 4, "x"), out = lf_dense(d, in, 2, LF_ACT_SOFTMAX, 1, "o");
    opt.use_ema = 1, opt.ema_momentum = 1.0f;
    CHECK(lf_model_compile(d, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &opt) == LF_ERR_ARG &&
              strstr(lf_model_error(d), "ema_momentum in [0, 1)"),
          "ema_momentum 1 accepted: %s", lf_model_error(d));
    lf_model_free(a), lf_model_free(b), lf_model_free(d);
    free(x), free(y), free(avg);
}

/* the learning rates of a schedule, set from the progress callback at
 * each epoch's begin (as Keras' LearningRateScheduler) */
typedef struct lr_schedule {
    lf_model *m;
    const float *rates;
    int failed;
} lr_schedule;

static void set_rate_at_begin(void *ctx, const lf_progress *p) {
    lr_schedule *s = ctx;
    if (p->event == LF_PROGRESS_EPOCH_BEGIN && lf_model_set_learning_rate(s->m, s->rates[p->epoch - 1]) != LF_OK)
        s->failed = 1;
}

/* lf_model_set_learning_rate: set from the progress callback at each
 * epoch's begin, a fit of 3 epochs takes the same steps, bit for bit, as
 * 3 fits of one epoch with the rate set before each (and not those of the
 * compiled rate); lf_model_learning_rate reads it, the model file keeps
 * it; a rate that is not finite and > 0, or a model not compiled, is
 * refused with the rate unchanged */
static void test_set_learning_rate(void) {
    size_t n = 60;
    float *x = malloc(n * 4 * sizeof *x), *y = malloc(n * sizeof *y);
    make_task(x, y, n, 37);
    const float *xs[1] = {x};
    const float rates[3] = {0.5f, 0.05f, 0.005f};
    lf_model *a = clf_model(14, 0.0f), *b = clf_model(14, 0.0f), *c = clf_model(14, 0.0f);
    CHECK(lf_model_learning_rate(a) == 1e-3f, "compiled rate %g, want Adam's 1e-3", (double)lf_model_learning_rate(a));
    lr_schedule sched = {a, rates, 0};
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 3, o.batch_size = 16, o.seed = 3;
    o.progress = set_rate_at_begin, o.progress_ctx = &sched;
    CHECK(lf_model_fit(a, xs, y, n, &o) == LF_OK && !sched.failed, "fit with a schedule: %s", lf_model_error(a));
    CHECK(lf_model_learning_rate(a) == 0.005f, "rate after fit %g, want 0.005", (double)lf_model_learning_rate(a));
    lf_fit_options ob = lf_fit_defaults();
    ob.epochs = 1, ob.batch_size = 16, ob.seed = 3, ob.shuffle = 0;
    o.progress = NULL, o.shuffle = 0;
    sched.m = b;
    o.progress = set_rate_at_begin, o.progress_ctx = &sched;
    CHECK(lf_model_fit(b, xs, y, n, &o) == LF_OK, "fit b: %s", lf_model_error(b));
    for (int e = 0; e < 3; e++) { /* c: the same rates, one fit per epoch, rows in order as b's */
        CHECK(lf_model_set_learning_rate(c, rates[e]) == LF_OK, "set %g: %s", (double)rates[e], lf_model_error(c));
        CHECK(lf_model_fit(c, xs, y, n, &ob) == LF_OK, "fit c: %s", lf_model_error(c));
    }
    CHECK(memcmp(b->params, c->params, b->n_params * sizeof(float)) == 0,
          "the rates set from the callback are not those the steps used");
    lf_model *d = clf_model(14, 0.0f); /* the compiled rate throughout: other weights */
    for (int e = 0; e < 3; e++) lf_model_fit(d, xs, y, n, &ob);
    CHECK(memcmp(d->params, c->params, d->n_params * sizeof(float)) != 0, "the rate set changed nothing");
    const float bad[3] = {0.0f, -1.0f, NAN};
    for (int i = 0; i < 3; i++) {
        char want[96];
        snprintf(want, sizeof want, "set_learning_rate: the learning rate must be finite and > 0, got %g",
                 (double)bad[i]);
        CHECK(lf_model_set_learning_rate(c, bad[i]) == LF_ERR_ARG && strcmp(lf_model_error(c), want) == 0 &&
                  lf_model_learning_rate(c) == 0.005f,
              "rate %g: %s", (double)bad[i], lf_model_error(c));
    }
    CHECK(lf_model_set_learning_rate(c, INFINITY) == LF_ERR_ARG && lf_model_set_learning_rate(NULL, 1.0f) == LF_ERR_ARG,
          "an infinite rate or a NULL model accepted");
    char path[96];
    snprintf(path, sizeof path, "%s/lr.safetensors", tmpdir);
    lf_model *e;
    lf_model_create(&e, 0);
    CHECK(lf_model_save(c, path, 0) == LF_OK && lf_model_load(e, path) == LF_OK && lf_model_learning_rate(e) == 0.005f,
          "the rate set is not the one saved: %g", (double)lf_model_learning_rate(e));
    remove(path);
    lf_model *u;
    lf_model_create(&u, 0);
    lf_input(u, 2, NULL);
    CHECK(lf_model_set_learning_rate(u, 0.1f) == LF_ERR_STATE && isnan(lf_model_learning_rate(u)) &&
              isnan(lf_model_learning_rate(NULL)),
          "an uncompiled model: %s", lf_model_error(u));
    lf_model_free(a), lf_model_free(b), lf_model_free(c), lf_model_free(d), lf_model_free(e), lf_model_free(u);
    free(x), free(y);
}

/* stops the fit at the end of epoch `at` (1-based), or of the first
 * epoch whose loss is not finite (at 0) */
typedef struct stop_at {
    lf_model *m;
    size_t at;
} stop_at;

static void stop_at_end(void *ctx, const lf_progress *p) {
    stop_at *s = ctx;
    if (p->event == LF_PROGRESS_EPOCH_END && (s->at ? p->epoch == s->at : !isfinite(p->loss)))
        lf_model_stop_training(s->m);
}

/* lf_model_stop_training from the progress callback: the fit ends after
 * that epoch with the weights of a fit of that many epochs, LF_OK, not
 * stopped early; a loss that is not finite, which fails a fit, ends it
 * with LF_OK when the callback asks (Keras' TerminateOnNaN); the next fit
 * runs all its epochs */
static void test_stop_training(void) {
    size_t n = 60;
    float *x = malloc(n * 4 * sizeof *x), *y = malloc(n * sizeof *y);
    make_task(x, y, n, 43);
    const float *xs[1] = {x};
    lf_model *a = clf_model(17, 0.0f), *b = clf_model(17, 0.0f);
    stop_at s = {a, 2};
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 5, o.batch_size = 16, o.seed = 4, o.progress = stop_at_end, o.progress_ctx = &s;
    CHECK(lf_model_fit(a, xs, y, n, &o) == LF_OK, "fit: %s", lf_model_error(a));
    const lf_history *h = lf_model_history(a);
    CHECK(h->epochs == 2 && !h->stopped_early, "%zu epochs run (stopped early %d), want 2", h->epochs,
          h->stopped_early);
    lf_fit_options ob = o;
    ob.epochs = 2, ob.progress = NULL;
    CHECK(lf_model_fit(b, xs, y, n, &ob) == LF_OK, "fit b: %s", lf_model_error(b));
    CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0, "not the weights of 2 epochs");
    s.at = 99; /* never: the request does not outlive its fit */
    CHECK(lf_model_fit(a, xs, y, n, &o) == LF_OK && lf_model_history(a)->epochs == 5, "the next fit ran %zu epochs",
          lf_model_history(a)->epochs);
    /* a learning rate that makes the loss overflow */
    lf_optimizer sgd = lf_optimizer_default(LF_OPT_SGD);
    sgd.learning_rate = 1e30f;
    for (int ask = 0; ask < 2; ask++) {
        lf_model *c;
        lf_model_create(&c, 3);
        int in = lf_input(c, 4, "x"), out = lf_dense(c, in, 1, LF_ACT_LINEAR, 1, "o");
        lf_model_compile(c, out, LF_LOSS_MSE, &sgd);
        stop_at sn = {c, 0};
        lf_fit_options on = lf_fit_defaults();
        on.epochs = 6, on.batch_size = 4;
        if (ask) on.progress = stop_at_end, on.progress_ctx = &sn;
        lf_status st = lf_model_fit(c, xs, y, n, &on);
        const lf_history *hc = lf_model_history(c);
        if (ask)
            CHECK(st == LF_OK && hc->epochs >= 1 && hc->epochs < 6 && !isfinite(hc->loss[hc->epochs - 1]),
                  "stopped on a non-finite loss: status %d, %zu epochs: %s", (int)st, hc->epochs, lf_model_error(c));
        else
            CHECK(st == LF_ERR_NUMERIC && strstr(lf_model_error(c), "training diverged"), "diverged: %s",
                  lf_model_error(c));
        lf_model_free(c);
    }
    CHECK(lf_model_stop_training(NULL) == LF_ERR_ARG, "NULL model");
    lf_model_free(a), lf_model_free(b);
    free(x), free(y);
}

/* counts the STEP events; asks to stop at step `step` of epoch `epoch`
 * (lf_model_stop_training), or sets the cancel flag there */
typedef struct stop_step {
    lf_model *m;
    size_t epoch, step, steps_seen;
    double loss_there;
    volatile int *cancel;
} stop_step;

static void stop_at_step(void *ctx, const lf_progress *p) {
    stop_step *s = ctx;
    if (p->event != LF_PROGRESS_STEP) return;
    s->steps_seen++;
    if (p->epoch == s->epoch && p->step == s->step) {
        s->loss_there = p->loss;
        if (s->cancel)
            *s->cancel = 1;
        else
            lf_model_stop_training(s->m);
    }
}

/* progress_every_step reports each step; lf_model_stop_training at a STEP
 * event ends the epoch after that step (Keras 3's batch loop): the weights
 * of the steps done (those of a fit cancelled before the next step), the
 * epoch's loss in the history that of the steps done (the running loss the
 * event reported), LF_OK */
static void test_stop_training_step(void) {
    size_t n = 60;
    float *x = malloc(n * 4 * sizeof *x), *y = malloc(n * sizeof *y);
    make_task(x, y, n, 44);
    const float *xs[1] = {x};
    lf_model *a = clf_model(18, 0.0f), *b = clf_model(18, 0.0f);
    stop_step s = {a, 2, 2, 0, NAN, NULL};
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 5, o.batch_size = 16, o.seed = 5, o.progress = stop_at_step, o.progress_ctx = &s;
    o.progress_every_step = 1;
    CHECK(lf_model_fit(a, xs, y, n, &o) == LF_OK, "fit: %s", lf_model_error(a));
    const lf_history *h = lf_model_history(a);
    CHECK(h->epochs == 2 && !h->stopped_early, "%zu epochs run (stopped early %d), want 2", h->epochs,
          h->stopped_early);
    CHECK(s.steps_seen == 4 + 2, "%zu STEP events, want every step: 4 + 2", s.steps_seen);
    CHECK(h->epochs == 2 && h->loss[1] == s.loss_there && isfinite(h->loss[1]),
          "the stopped epoch's loss %g is not that of its 2 steps %g", h->loss[1], s.loss_there);
    volatile int cancel = 0;
    stop_step sb = {b, 2, 2, 0, NAN, &cancel};
    lf_fit_options ob = o;
    ob.progress_ctx = &sb, ob.cancel = &cancel;
    CHECK(lf_model_fit(b, xs, y, n, &ob) == LF_ERR_CANCELLED, "cancelled fit: %s", lf_model_error(b));
    CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0, "not the weights of 4 + 2 steps");
    lf_model_free(a), lf_model_free(b);
    free(x), free(y);
}

/* records the events of a fit (up to 64): their kinds, steps and values;
 * asks to stop at VAL_STEP `stop_at` (0: never) */
typedef struct val_log {
    lf_model *m;
    size_t n, stop_at;
    lf_progress ev[64];
} val_log;

static void log_events(void *ctx, const lf_progress *p) {
    val_log *v = ctx;
    if (v->n < 64) v->ev[v->n++] = *p;
    if (p->event == LF_PROGRESS_VAL_STEP && v->stop_at && p->step == v->stop_at) lf_model_stop_training(v->m);
}

/* progress_validation_steps: Keras 3's fit validates through
 * evaluate(callbacks=) (keras/src/backend/torch/trainer.py fit and
 * evaluate: on_test_begin, on_test_batch_begin/end per batch of
 * validation_batch_size rows, on_test_end, then on_epoch_end).  The events
 * VAL_STEP 0..4 come after the epoch's last STEP and before its EPOCH_END;
 * each reports the loss (with the L2 penalty) and accuracy of the
 * validation batches so far, as evaluate of each batch alone at the fit's
 * final weights gives them (rows 8, 8, 8, 1); the last is the history's
 * val_loss, bit for bit.  The training is the same bits with or without
 * the events, the val_loss within rounding; a stop asked at a VAL_STEP
 * ends the fit after that epoch, whose validation still measures every
 * batch (Keras checks stop_training after on_epoch_end) */
static void test_validation_steps(void) {
    size_t n = 40, nv = 25;
    float *x = malloc(n * 4 * sizeof *x), *y = malloc(n * sizeof *y);
    float *vx = malloc(nv * 4 * sizeof *vx), *vy = malloc(nv * sizeof *vy);
    make_task(x, y, n, 45), make_task(vx, vy, nv, 46);
    const float *xs[1] = {x}, *vxs[1] = {vx};
    lf_model *a = clf_model(19, 0.0f), *b = clf_model(19, 0.0f), *c = clf_model(19, 0.0f);
    lf_set_l2(a, lf_node_find(a, "h"), 0.01f), lf_set_l2(b, lf_node_find(b, "h"), 0.01f);
    lf_set_l2(c, lf_node_find(c, "h"), 0.01f);
    val_log v;
    memset(&v, 0, sizeof v);
    v.m = a;
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 1, o.batch_size = 16, o.seed = 3, o.val_x = vxs, o.val_y = vy, o.val_n = nv;
    o.validation_batch_size = 8, o.progress = log_events, o.progress_ctx = &v;
    o.progress_validation_steps = 1;
    CHECK(lf_model_fit(a, xs, y, n, &o) == LF_OK, "fit: %s", lf_model_error(a));
    /* EPOCH_BEGIN, STEP (3 steps: reported at most every 0.1 s and at the
     * last), VAL_STEP 0..4, EPOCH_END */
    size_t first = 0;
    while (first < v.n && v.ev[first].event != LF_PROGRESS_VAL_STEP) first++;
    CHECK(first >= 2 && v.ev[first - 1].event == LF_PROGRESS_STEP && v.ev[first - 1].step == 3 &&
              first + 6 == v.n && v.ev[v.n - 1].event == LF_PROGRESS_EPOCH_END && v.ev[v.n - 1].steps == 3,
          "events: %zu, the first VAL_STEP at %zu", v.n, first);
    const lf_history *h = lf_model_history(a);
    double sum = 0, right = 0;
    for (size_t k = 0; k <= 4 && first + k < v.n; k++) {
        const lf_progress *p = &v.ev[first + k];
        CHECK(p->event == LF_PROGRESS_VAL_STEP && p->step == k && p->steps == 4 && p->epoch == 1 &&
                  p->loss == h->loss[0] && p->accuracy == h->accuracy[0],
              "VAL_STEP %zu: event %d step %zu of %zu", k, (int)p->event, p->step, p->steps);
        if (k == 0) {
            CHECK(isnan(p->val_loss) && isnan(p->val_accuracy), "VAL_STEP 0 has values");
            continue;
        }
        size_t r0 = 8 * (k - 1), nb = nv - r0 < 8 ? nv - r0 : 8;
        const float *bx[1] = {vx + r0 * 4};
        double l, acc;
        CHECK(lf_model_evaluate(a, bx, vy + r0, nb, NULL, &l, &acc) == LF_OK, "evaluate: %s", lf_model_error(a));
        double pen = lf_weight_penalty(a, NULL);
        sum += (l - pen) * (double)nb, right += acc * (double)nb;
        double want = sum / (double)(r0 + nb) + pen, want_acc = right / (double)(r0 + nb);
        CHECK(fabs(p->val_loss - want) <= 1e-12 * fabs(want) && fabs(p->val_accuracy - want_acc) <= 1e-12,
              "VAL_STEP %zu: val_loss %.17g accuracy %.17g, evaluate's batches %.17g %.17g", k, p->val_loss,
              p->val_accuracy, want, want_acc);
    }
    CHECK(v.ev[v.n - 2].val_loss == h->val_loss[0] && v.ev[v.n - 2].val_accuracy == h->val_accuracy[0] &&
              v.ev[v.n - 1].val_loss == h->val_loss[0],
          "the last VAL_STEP's %.17g is not the history's %.17g", v.ev[v.n - 2].val_loss, h->val_loss[0]);
    char buf[8] = "x";
    CHECK(lf_progress_format(&v.ev[first], buf, sizeof buf) == 0 && buf[0] == '\0', "VAL_STEP has a text");
    /* without the events: none, the training the same bits */
    double val_a = h->val_loss[0], loss_a = h->loss[0];
    val_log vb;
    memset(&vb, 0, sizeof vb);
    lf_fit_options ob = o;
    ob.progress_ctx = &vb, ob.progress_validation_steps = 0;
    CHECK(lf_model_fit(b, xs, y, n, &ob) == LF_OK, "fit: %s", lf_model_error(b));
    const lf_history *hb = lf_model_history(b);
    for (size_t i = 0; i < vb.n; i++)
        CHECK(vb.ev[i].event != LF_PROGRESS_VAL_STEP, "a VAL_STEP without progress_validation_steps");
    CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0 && hb->loss[0] == loss_a &&
              fabs(hb->val_loss[0] - val_a) <= 1e-12 * val_a,
          "the events changed the fit: loss %.17g %.17g val_loss %.17g %.17g", loss_a, hb->loss[0], val_a,
          hb->val_loss[0]);
    /* a stop asked at a validation batch: that epoch ends the fit, measured whole */
    memset(&v, 0, sizeof v);
    v.m = c, v.stop_at = 2;
    o.epochs = 3;
    CHECK(lf_model_fit(c, xs, y, n, &o) == LF_OK, "fit: %s", lf_model_error(c));
    h = lf_model_history(c);
    CHECK(h->epochs == 1 && v.ev[v.n - 1].event == LF_PROGRESS_EPOCH_END && v.ev[v.n - 2].step == 4 &&
              h->val_loss[0] == val_a,
          "stop at VAL_STEP 2: %zu epochs, last VAL_STEP %zu", h->epochs, v.ev[v.n - 2].step);
    /* validation_steps: its batches only */
    memset(&v, 0, sizeof v);
    v.m = c;
    o.epochs = 1, o.validation_steps = 2;
    CHECK(lf_model_fit(c, xs, y, n, &o) == LF_OK && v.ev[v.n - 2].event == LF_PROGRESS_VAL_STEP &&
              v.ev[v.n - 2].step == 2 && v.ev[v.n - 2].steps == 2,
          "validation_steps 2: %s", lf_model_error(c));
    o.progress_validation_steps = 2;
    CHECK(lf_model_fit(c, xs, y, n, &o) == LF_ERR_ARG &&
              strcmp(lf_model_error(c), "fit: progress_validation_steps must be 0 or 1, got 2") == 0,
          "progress_validation_steps 2: %s", lf_model_error(c));
    lf_model_free(a), lf_model_free(b), lf_model_free(c);
    free(x), free(y), free(vx), free(vy);
}

/* lf_model_train_on_batch is a fit of one epoch of one batch holding every
 * row, rows in order: the same weights bit for bit, its loss and accuracy
 * those of the history (measured before the step), with sample weights;
 * over two outputs the losses are evaluate's before the step; bad targets
 * are refused with the model unchanged */
static void test_train_on_batch(void) {
    size_t n = 50;
    float *x = malloc(n * 4 * sizeof *x), *y = malloc(n * sizeof *y), *w = malloc(n * sizeof *w);
    make_task(x, y, n, 41);
    for (size_t r = 0; r < n; r++) w[r] = (float)(r % 3);
    const float *xs[1] = {x}, *ys[1] = {y};
    lf_typed_array ta = {LF_DTYPE_FLOAT32, x};
    for (int weighted = 0; weighted < 2; weighted++) {
        lf_model *a = clf_model(15, 0.0f), *b = clf_model(15, 0.0f);
        lf_set_l2(a, lf_node_find(a, "h"), 0.01f), lf_set_l2(b, lf_node_find(b, "h"), 0.01f);
        lf_fit_options o = lf_fit_defaults();
        o.batch_size = n, o.shuffle = 0, o.sample_weight = weighted ? w : NULL;
        for (int s = 0; s < 3; s++) { /* the optimizer's state carries over as in fit */
            double losses[2] = {0, 0}, acc = 0;
            CHECK(lf_model_train_on_batch(a, &ta, ys, n, weighted ? w : NULL, losses, &acc) == LF_OK,
                  "train_on_batch: %s", lf_model_error(a));
            CHECK(lf_model_fit(b, xs, y, n, &o) == LF_OK, "fit: %s", lf_model_error(b));
            const lf_history *h = lf_model_history(b);
            CHECK(losses[0] == h->loss[0] && acc == h->accuracy[0] && losses[1] == h->output_loss[0],
                  "weighted %d step %d: loss %.17g acc %.17g, fit's %.17g %.17g", weighted, s, losses[0], acc,
                  h->loss[0], h->accuracy[0]);
            CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0,
                  "weighted %d step %d: not fit's step", weighted, s);
        }
        lf_model_free(a), lf_model_free(b);
    }
    lf_model *m = clf_model(16, 0.0f);
    float *before = malloc(m->n_params * sizeof *before);
    memcpy(before, m->params, m->n_params * sizeof *before);
    y[7] = 2.0f; /* not a class of 2 */
    CHECK(lf_model_train_on_batch(m, &ta, ys, n, NULL, NULL, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "train_on_batch: label 2 at row 7 is not a class in 0..1") == 0 &&
              memcmp(before, m->params, m->n_params * sizeof *before) == 0,
          "a bad label: %s", lf_model_error(m));
    y[7] = 1.0f, w[3] = -1.0f;
    CHECK(lf_model_train_on_batch(m, &ta, ys, n, w, NULL, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "train_on_batch: sample weight -1 at row 3 must be finite and >= 0") == 0,
          "a negative weight: %s", lf_model_error(m));
    CHECK(lf_model_train_on_batch(m, &ta, ys, 0, NULL, NULL, NULL) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "train_on_batch: no rows") == 0,
          "no rows: %s", lf_model_error(m));
    lf_model_free(m);
    free(x), free(y), free(w), free(before);
}

/* clf_model's layers compiled with opt */
static lf_model *opt_model(uint64_t seed, const lf_optimizer *opt) {
    lf_model *m;
    lf_model_create(&m, seed);
    int x = lf_input(m, 4, "x");
    int h = lf_dense(m, x, 16, LF_ACT_RELU, 1, "h");
    int o = lf_dense(m, h, 2, LF_ACT_SOFTMAX, 1, "o");
    lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, opt);
    return m;
}

/* Keras 3's clipnorm (per weight), global_clipnorm, clipvalue and
 * decoupled weight decay, one SGD step each, against the rule computed in
 * double from the same gradient (lf__loss_and_grads leaves it in grads);
 * the limits are set between the weights' norms, so that some weights are
 * clipped and others not */
static void test_clip_decay(void) {
    enum { N = 40, CAP = 64 };
    float x[N * 4], y[N];
    make_task(x, y, N, 43);
    const float *xs[1] = {x};
    lf_optimizer o = lf_optimizer_default(LF_OPT_SGD);
    o.learning_rate = 0.5f;
    lf_model *ref = opt_model(17, &o);
    size_t vars[2 * CAP], nv = lf_param_runs(ref, 1, 0, vars, CAP), P = ref->n_params;
    CHECK(nv == 4, "4 weights, got %zu", nv);
    float *g = malloc(P * sizeof *g), *w0 = malloc(P * sizeof *w0);
    memcpy(w0, ref->params, P * sizeof *w0);
    double loss;
    CHECK(lf__loss_and_grads(ref, xs, y, N, 0, 0, &loss, NULL) == LF_OK, "gradients");
    memcpy(g, ref->grads, P * sizeof *g);
    double norms[4], total = 0, gmax = 0;
    for (size_t v = 0; v < nv; v++) {
        double ss = 0;
        for (size_t i = vars[2 * v]; i < vars[2 * v] + vars[2 * v + 1]; i++) {
            ss += (double)g[i] * g[i];
            gmax = fmax(gmax, fabs(g[i]));
        }
        norms[v] = sqrt(ss), total += ss;
    }
    double lo = fmin(fmin(norms[0], norms[1]), fmin(norms[2], norms[3]));
    double hi = fmax(fmax(norms[0], norms[1]), fmax(norms[2], norms[3]));
    CHECK(hi > 1.2 * lo && lo > 1e-3, "weights' gradient norms %g .. %g", lo, hi);
    for (int c = 0; c < 4; c++) {
        lf_optimizer oc = o;
        double limit = c == 0 ? sqrt(lo * hi) : c == 1 ? 0.5 * sqrt(total) : c == 2 ? 0.5 * gmax : 0.1;
        if (c == 0) oc.clipnorm = (float)limit;
        if (c == 1) oc.global_clipnorm = (float)limit;
        if (c == 2) oc.clipvalue = (float)limit;
        if (c == 3) oc.weight_decay = (float)limit;
        lf_model *m = opt_model(17, &oc);
        CHECK(memcmp(m->params, w0, P * sizeof *w0) == 0, "case %d: the same initial weights", c);
        CHECK(lf__loss_and_grads(m, xs, y, N, 0, 1, &loss, NULL) == LF_OK, "case %d: step", c);
        size_t clipped = 0;
        for (size_t v = 0; v < nv; v++)
            for (size_t i = vars[2 * v]; i < vars[2 * v] + vars[2 * v + 1]; i++) {
                double gi = g[i], wi = w0[i];
                if (c == 0) gi *= (float)limit / fmax(norms[v], (float)limit), clipped += norms[v] > limit;
                if (c == 1) gi *= (float)limit / sqrt(total);
                if (c == 2) gi = fmax(-(float)limit, fmin((float)limit, gi)), clipped += fabs(g[i]) > limit;
                if (c == 3) wi -= wi * (float)limit * 0.5;
                double want = wi - 0.5 * gi;
                CHECK(fabs(m->params[i] - want) <= 1e-6 * (1 + fabs(want)),
                      "case %d: weight %zu value %zu: %.9g, want %.9g (unclipped %.9g)", c, v, i,
                      (double)m->params[i], want, w0[i] - 0.5 * g[i]);
            }
        if (c == 0) CHECK(clipped > 0 && clipped < P, "clipnorm clips some weights (%zu values)", clipped);
        if (c == 2) CHECK(clipped > 0 && clipped < P, "clipvalue clips some values (%zu)", clipped);
        /* a saved model keeps them */
        char path[96];
        snprintf(path, sizeof path, "%s/clip%d.lfm", tmpdir, c);
        lf_model *back = NULL;
        lf_model_create(&back, 0);
        CHECK(lf_model_save(m, path, LF_WRITE_NO_FSYNC) == LF_OK && lf_model_load(back, path) == LF_OK,
              "case %d: save and load", c);
        CHECK(back && back->opt.clipnorm == oc.clipnorm && back->opt.global_clipnorm == oc.global_clipnorm &&
                  back->opt.clipvalue == oc.clipvalue && back->opt.weight_decay == oc.weight_decay,
              "case %d: the loaded optimizer's clips and decay", c);
        lf_model_free(back), lf_model_free(m);
        unlink(path);
    }
    /* Keras refuses two clips at once; each finite and >= 0 */
    const char *want = "compile: weight_decay, clipnorm, clipvalue and global_clipnorm must be finite and >= 0, "
                       "and at most one of clipnorm, clipvalue and global_clipnorm set (as Keras)";
    for (int c = 0; c < 3; c++) {
        lf_optimizer ob = o;
        if (c == 0) ob.clipnorm = 1.0f, ob.clipvalue = 1.0f;
        if (c == 1) ob.weight_decay = -0.1f;
        if (c == 2) ob.global_clipnorm = INFINITY;
        lf_model *m = opt_model(17, &ob);
        CHECK(strcmp(lf_model_error(m), want) == 0, "refusal %d: '%s'", c, lf_model_error(m));
        lf_model_free(m);
    }
    lf_model_free(ref);
    free(g), free(w0);
}

/* One update of Keras 3's rule for o (keras/src/optimizers/<name>.py) in
 * double, after the decay, on value i: w and the moments m1, m2, m3 as
 * lf_optim_step keeps them, t the step from 1, up Nadam's product u_1 ...
 * u_t (kept as Keras keeps it, multiplied once a step) */
static void keras_rule(const lf_optimizer *o, double *w, double *m1, double *m2, double *m3, double g, uint64_t t,
                       double up) {
    double lr = o->learning_rate, b1 = o->beta_1, b2 = o->beta_2, eps = o->epsilon, rho = o->rho;
    double tt = (double)t;
    *w -= *w * o->weight_decay * lr;
    switch (o->kind) {
    case LF_OPT_ADAM: {
        *m1 += (g - *m1) * (1 - b1), *m2 += (g * g - *m2) * (1 - b2);
        double v = *m2;
        if (o->amsgrad) v = *m3 = fmax(*m3, *m2);
        *w -= *m1 * (lr * sqrt(1 - pow(b2, tt)) / (1 - pow(b1, tt))) / (sqrt(v) + eps);
        break;
    }
    case LF_OPT_RMSPROP: {
        *m2 = rho * *m2 + (1 - rho) * g * g;
        double den = *m2 + eps;
        if (o->centered) *m3 = rho * *m3 + (1 - rho) * g, den = *m2 - *m3 * *m3 + eps;
        double inc = lr * g / sqrt(den);
        if (o->momentum > 0) *m1 = o->momentum * *m1 + inc, *w -= *m1;
        else *w -= inc;
        break;
    }
    case LF_OPT_ADAGRAD: *m2 += g * g, *w -= lr * g / sqrt(*m2 + eps); break;
    case LF_OPT_ADAMAX:
        *m1 += (g - *m1) * (1 - b1), *m2 = fmax(b2 * *m2, fabs(g));
        *w -= lr * *m1 / ((1 - pow(b1, tt)) * (*m2 + eps));
        break;
    case LF_OPT_NADAM: {
        double u_t = b1 * (1 - 0.5 * pow(0.96, tt)), u_t1 = b1 * (1 - 0.5 * pow(0.96, tt + 1));
        *m1 += (g - *m1) * (1 - b1), *m2 += (g * g - *m2) * (1 - b2);
        double m_hat = u_t1 * *m1 / (1 - up * u_t1) + (1 - u_t) * g / (1 - up);
        *w -= m_hat * lr / (sqrt(*m2 / (1 - pow(b2, tt))) + eps);
        break;
    }
    case LF_OPT_ADADELTA: {
        *m2 = rho * *m2 + (1 - rho) * g * g;
        double d = -(sqrt(*m1 + eps) * g / sqrt(*m2 + eps));
        *m1 = rho * *m1 + (1 - rho) * d * d, *w += lr * d;
        break;
    }
    case LF_OPT_LION: {
        double c = *m1 * b1 + g * (1 - b1);
        *w -= lr * (c > 0 ? 1 : c < 0 ? -1 : 0), *m1 = *m1 * b2 + g * (1 - b2);
        break;
    }
    default: CHECK(0, "keras_rule: kind %d", (int)o->kind);
    }
}

/* Adam's amsgrad, RMSprop's centered (with and without momentum), Adagrad,
 * Adamax, Nadam, Adadelta and Lion: 5 steps on other rows each (so that
 * the gradients shrink and grow: amsgrad's maximum differs from v) against
 * Keras 3's rule in double, weights and moments; saved with the optimizer
 * state after 3 steps and loaded, the next steps and a fit are bit for bit
 * the uninterrupted model's; the settings refused with their message */
static void test_keras_optimizers(void) {
    enum { B = 40, K = 5, CFG = 10 };
    float x[K * B * 4], y[K * B];
    make_task(x, y, K * B, 47);
    for (size_t i = 0; i < K * B * 4; i++) x[i] *= (float)(1 + i / (B * 4)); /* each step's rows scaled */
    lf_optimizer cfg[CFG];
    for (int c = 0; c < CFG; c++) {
        static const lf_optimizer_kind kinds[CFG] = {LF_OPT_ADAM,    LF_OPT_ADAM,   LF_OPT_RMSPROP, LF_OPT_RMSPROP,
                                                     LF_OPT_ADAGRAD, LF_OPT_ADAMAX, LF_OPT_NADAM,   LF_OPT_ADADELTA,
                                                     LF_OPT_LION,    LF_OPT_NADAM};
        cfg[c] = lf_optimizer_default(kinds[c]);
        cfg[c].learning_rate = 0.02f;
    }
    cfg[0].amsgrad = 1, cfg[0].beta_2 = 0.5f;
    cfg[1].amsgrad = 1, cfg[1].beta_2 = 0.5f, cfg[1].weight_decay = 0.5f; /* AdamW's */
    cfg[2].centered = 1;
    cfg[3].centered = 1, cfg[3].momentum = 0.9f;
    cfg[7].learning_rate = 1.0f; /* the paper's */
    cfg[9].beta_1 = 0.5f, cfg[9].beta_2 = 0.8f, cfg[9].clipvalue = 0.05f;
    /* Keras' defaults */
    CHECK(cfg[4].initial_accumulator_value == 0.1f && cfg[4].epsilon == 1e-7f && cfg[7].rho == 0.95f &&
              cfg[8].beta_1 == 0.9f && cfg[8].beta_2 == 0.99f && cfg[5].beta_2 == 0.999f && cfg[6].epsilon == 1e-7f &&
              lf_optimizer_default(LF_OPT_ADADELTA).learning_rate == 1e-3f && !cfg[2].amsgrad && !cfg[0].centered,
          "defaults");
    for (int c = 0; c < CFG; c++) {
        const lf_optimizer *o = &cfg[c];
        lf_model *m = opt_model(19, o), *r = opt_model(19, o);
        CHECK(m->compiled && r->compiled, "cfg %d: compile: %s", c, lf_model_error(m));
        if (!m->compiled || !r->compiled) continue;
        size_t P = m->n_params;
        CHECK((m->m3 != NULL) == (c <= 3), "cfg %d: a third moment only for amsgrad and centered", c);
        double *w = malloc(P * sizeof *w), *s1 = calloc(P, sizeof *s1), *s2 = calloc(P, sizeof *s2),
               *s3 = calloc(P, sizeof *s3);
        for (size_t i = 0; i < P; i++) w[i] = m->params[i], s2[i] = o->kind == LF_OPT_ADAGRAD ? 0.1f : 0.0f;
        double up = 1, worst = 0, tol = 2e-5;
        size_t hat = 0;
        char path[96];
        snprintf(path, sizeof path, "%s/kopt%d.lfm", tmpdir, c);
        lf_model *l = NULL;
        for (uint64_t t = 1; t <= K; t++) {
            const float *xs[1] = {x + (t - 1) * B * 4};
            double loss;
            CHECK(lf__loss_and_grads(m, xs, y + (t - 1) * B, B, 0, 1, &loss, NULL) == LF_OK, "cfg %d step", c);
            CHECK(lf__loss_and_grads(r, xs, y + (t - 1) * B, B, 0, 1, &loss, NULL) == LF_OK, "cfg %d step", c);
            if (l) CHECK(lf__loss_and_grads(l, xs, y + (t - 1) * B, B, 0, 1, &loss, NULL) == LF_OK, "cfg %d", c);
            up *= o->beta_1 * (1 - 0.5 * pow(0.96, (double)t));
            double cv = o->clipvalue;
            for (size_t i = 0; i < P; i++) {
                double g = m->grads[i];
                if (cv > 0) g = fmax(-cv, fmin(cv, g));
                keras_rule(o, &w[i], &s1[i], &s2[i], &s3[i], g, t, up);
                double d = fabs(m->params[i] - w[i]) / (1e-3 + fabs(w[i]));
                d = fmax(d, fabs(m->m1[i] - s1[i]) / (1e-3 + fabs(s1[i])));
                d = fmax(d, fabs(m->m2[i] - s2[i]) / (1e-3 + fabs(s2[i])));
                if (m->m3) d = fmax(d, fabs(m->m3[i] - s3[i]) / (1e-3 + fabs(s3[i])));
                if (d > worst) worst = d;
                hat += m->m3 && o->amsgrad && m->m3[i] > m->m2[i] * 1.01f;
            }
            if (t == 3) { /* saved and loaded here: the same next steps */
                CHECK(lf_model_save(r, path, LF_SAVE_OPTIMIZER | LF_WRITE_NO_FSYNC) == LF_OK, "cfg %d save: %s", c,
                      lf_model_error(r));
                lf_model_create(&l, 0);
                CHECK(lf_model_load(l, path) == LF_OK, "cfg %d load: %s", c, lf_model_error(l));
            }
        }
        CHECK(worst < tol, "cfg %d (%d): relative difference %.3g from Keras' rule", c, (int)o->kind, worst);
        if (o->amsgrad) CHECK(hat > 0, "cfg %d: v_hat never above v", c);
        CHECK(l && l->opt.kind == o->kind && l->opt.amsgrad == o->amsgrad && l->opt.centered == o->centered &&
                  l->opt.initial_accumulator_value == o->initial_accumulator_value && l->opt.rho == o->rho &&
                  l->opt.beta_1 == o->beta_1 && l->opt.beta_2 == o->beta_2,
              "cfg %d: the loaded settings", c);
        if (l) {
            CHECK(memcmp(l->params, m->params, P * sizeof(float)) == 0 && memcmp(l->m1, m->m1, P * sizeof(float)) == 0 &&
                      memcmp(l->m2, m->m2, P * sizeof(float)) == 0 &&
                      (!m->m3 || memcmp(l->m3, m->m3, P * sizeof(float)) == 0),
                  "cfg %d: steps after save and load differ", c);
            /* and a fit from there */
            lf_fit_options fo = lf_fit_defaults();
            fo.batch_size = 16, fo.seed = 3;
            const float *xs[1] = {x};
            CHECK(lf_model_fit(l, xs, y, K * B, &fo) == LF_OK && lf_model_fit(m, xs, y, K * B, &fo) == LF_OK,
                  "cfg %d: fit", c);
            CHECK(memcmp(l->params, m->params, P * sizeof(float)) == 0, "cfg %d: a resumed fit differs", c);
        }
        lf_model_free(l), lf_model_free(m), lf_model_free(r);
        unlink(path);
        free(w), free(s1), free(s2), free(s3);
    }

    /* a file whose optimizer lost amsgrad keeps a tensor it does not expect;
     * a negative accumulator start is refused with the range */
    char path[96];
    snprintf(path, sizeof path, "%s/kopt.lfm", tmpdir);
    lf_model *m = opt_model(19, &cfg[0]);
    CHECK(lf_model_save(m, path, LF_SAVE_OPTIMIZER | LF_WRITE_NO_FSYNC) == LF_OK, "save");
    lf_st_file f;
    lf_err e;
    CHECK(lf_st_read(path, &f, &e) == LF_OK, "%s", e.msg);
    const char *arch = lf_st_metadata(&f, "architecture"), *at = strstr(arch, ",\"amsgrad\":true");
    CHECK(at != NULL, "amsgrad in %s", arch);
    if (at) {
        size_t n = strlen(arch) + 64;
        char *mod = malloc(n);
        snprintf(mod, n, "%.*s%s", (int)(at - arch), arch, at + strlen(",\"amsgrad\":true"));
        lf_model *b;
        lf_model_create(&b, 0);
        CHECK(lf_model_from_parts(b, mod, strlen(mod), &f, "", &e) == LF_ERR_FORMAT &&
                  strcmp(e.msg, "unexpected tensor 'optimizer.velocity_hat'") == 0,
              "without amsgrad: '%s'", e.msg);
        lf_model_free(b);
        const char *name = strstr(arch, "\"name\":\"adam\""), *after = name + strlen("\"name\":\"adam\"");
        CHECK(name != NULL && name < at, "the optimizer's name in %s", arch);
        if (!name || name > at) name = after = at; /* (reported above) */
        snprintf(mod, n, "%.*s\"name\":\"adagrad\"%.*s,\"initial_accumulator_value\":-1%s", (int)(name - arch), arch,
                 (int)(at - after), after, at + strlen(",\"amsgrad\":true"));
        lf_model_create(&b, 0);
        CHECK(lf_model_from_parts(b, mod, strlen(mod), &f, "", &e) == LF_ERR_FORMAT &&
                  strcmp(e.msg, "architecture: optimizer: 'initial_accumulator_value' must be a finite number in "
                                "[0, inf)") == 0,
              "negative accumulator: '%s'", e.msg);
        lf_model_free(b);
        /* a kind's own field on another kind: refused, not ignored */
        snprintf(mod, n, "%.*s,\"initial_accumulator_value\":0.5%s", (int)(at - arch), arch, at);
        lf_model_create(&b, 0);
        CHECK(lf_model_from_parts(b, mod, strlen(mod), &f, "", &e) == LF_ERR_FORMAT &&
                  strcmp(e.msg, "architecture: optimizer: 'initial_accumulator_value' is adagrad's field, not "
                                "adam's") == 0,
              "adagrad's field on adam: '%s'", e.msg);
        lf_model_free(b);
        snprintf(mod, n, "%.*s\"name\":\"sgd\"%s", (int)(name - arch), arch, after);
        lf_model_create(&b, 0);
        CHECK(lf_model_from_parts(b, mod, strlen(mod), &f, "", &e) == LF_ERR_FORMAT &&
                  strcmp(e.msg, "architecture: optimizer: 'amsgrad' is adam's field, not sgd's") == 0,
              "amsgrad on sgd: '%s'", e.msg);
        lf_model_free(b);
        free(mod);
    }
    lf_st_free(&f);
    lf_model_free(m);
    /* a moment the updates keep >= 0 (a second moment, an accumulator,
     * amsgrad's maximum, adadelta's both) negative in the file: refused, as
     * the first step would take its root; a first moment may be negative */
    static const struct {
        int cfg, which;
        const char *msg;
    } neg[] = {
        {0, 2, "tensor 'optimizer.v' holds a negative value at element 1 (adam keeps it >= 0)"},
        {0, 3, "tensor 'optimizer.velocity_hat' holds a negative value at element 1 (adam keeps it >= 0)"},
        {4, 2, "tensor 'optimizer.v' holds a negative value at element 1 (adagrad keeps it >= 0)"},
        {7, 1, "tensor 'optimizer.m' holds a negative value at element 1 (adadelta keeps it >= 0)"},
        {0, 1, NULL}, {2, 3, NULL}, {8, 1, NULL}, {8, 2, NULL},
    };
    for (size_t k = 0; k < sizeof neg / sizeof *neg; k++) {
        m = opt_model(19, &cfg[neg[k].cfg]);
        float *state = neg[k].which == 1 ? m->m1 : neg[k].which == 2 ? m->m2 : m->m3;
        state[1] = -0.5f;
        CHECK(lf_model_save(m, path, LF_SAVE_OPTIMIZER | LF_WRITE_NO_FSYNC) == LF_OK, "save");
        lf_model *b;
        lf_model_create(&b, 0);
        lf_status st = lf_model_load(b, path);
        if (neg[k].msg)
            CHECK(st == LF_ERR_FORMAT && strstr(lf_model_error(b), neg[k].msg), "negative moment %zu: %s", k,
                  lf_model_error(b));
        else
            CHECK(st == LF_OK, "a negative moment %zu that may be: %s", k, lf_model_error(b));
        lf_model_free(b), lf_model_free(m);
    }
    unlink(path);
    const char *want = "compile: invalid optimizer settings (a known kind; learning rate and epsilon must be > 0, "
                       "momentum, rho, betas and ema_momentum in [0, 1) (lion's beta_1 in (0, 1]), "
                       "initial_accumulator_value finite and >= 0)";
    for (int c = 0; c < 4; c++) {
        lf_optimizer ob = lf_optimizer_default(c == 0 ? LF_OPT_LION : LF_OPT_ADAGRAD);
        if (c == 0) ob.beta_1 = 0.0f;
        if (c == 1) ob.initial_accumulator_value = -0.1f;
        if (c == 2) ob.initial_accumulator_value = INFINITY;
        if (c == 3) ob.kind = (lf_optimizer_kind)(LF_OPT_LION + 1);
        lf_model *mb = opt_model(17, &ob);
        CHECK(strcmp(lf_model_error(mb), want) == 0, "refusal %d: '%s'", c, lf_model_error(mb));
        lf_model_free(mb);
    }
    lf_optimizer lion1 = lf_optimizer_default(LF_OPT_LION);
    lion1.beta_1 = 1.0f; /* Keras' range ends at 1 */
    m = opt_model(17, &lion1);
    CHECK(m->compiled, "lion beta_1 = 1: %s", lf_model_error(m));
    lf_model_free(m);
}

static int subnormal(float v) { return v != 0.0f && fabsf(v) < FLT_MIN; }

/* Every value the optimizers store is flushed to zero below FLT_MIN
 * (optim.c): each rule's update of a value into the subnormal range, then
 * a network whose weights shrink under a strong L2 penalty (the gate of
 * the fusion method `gate` at its strongest shrinkage: every weight pulled
 * to zero, through the subnormals) ends with none in its weights, moments
 * or moving average. */
static void test_subnormal_flush(void) {
    const float tiny = 5e-39f; /* subnormal */
    CHECK(subnormal(tiny), "5e-39 is not subnormal here");
    lf_optimizer sgd = lf_optimizer_default(LF_OPT_SGD);
    sgd.learning_rate = 1.0f;
    float w[2] = {2e-38f, 1.0f}, g[2] = {1.5e-38f, 0.5f}, m1[2] = {0, 0}, m2[2] = {0, 0};
    lf_optim_step(&sgd, w, g, m1, m2, NULL, 2, 1);
    CHECK(w[0] == 0.0f && w[1] == 0.5f, "sgd: %g %g, want 0 (from 5e-39) and 0.5", w[0], w[1]);
    sgd.momentum = 0.5f;
    float wm[2] = {1.0f, 1.0f}, gm[2] = {1e-38f, 0.5f}, mm[2] = {0, 0};
    lf_optim_step(&sgd, wm, gm, mm, m2, NULL, 2, 1); /* m = -lr g: -1e-38 (subnormal) and -0.5 */
    CHECK(mm[0] == 0.0f && mm[1] == -0.5f && wm[0] == 1.0f && wm[1] == 0.5f,
          "sgd with momentum: m %g %g w %g %g", mm[0], mm[1], wm[0], wm[1]);
    lf_optimizer adam = lf_optimizer_default(LF_OPT_ADAM);
    float wa[2] = {tiny, 0.25f}, ga[2] = {1e-37f, 0}, a1[2] = {0, 0}, a2[2] = {0, 0};
    lf_optim_step(&adam, wa, ga, a1, a2, NULL, 2, 1); /* m1 = 0.1 g = 1e-38, subnormal */
    CHECK(a1[0] == 0.0f && a2[0] == 0.0f && wa[0] == 0.0f && wa[1] == 0.25f,
          "adam: m1 %g m2 %g w %g %g", a1[0], a2[0], wa[0], wa[1]);
    lf_optimizer rms = lf_optimizer_default(LF_OPT_RMSPROP);
    float wr[1] = {tiny}, gr[1] = {0}, r1[1] = {0}, r2[1] = {1e-37f};
    lf_optim_step(&rms, wr, gr, r1, r2, NULL, 1, 1); /* v = 0.9 * 1e-37, then 0.9 of that ... */
    CHECK(wr[0] == 0.0f && !subnormal(r2[0]), "rmsprop: w %g v %g", wr[0], r2[0]);
    /* Keras 3's rule, epsilon inside the root: with a gradient of 1e-4,
     * v = 0.1 g^2 = 1e-9 and eps = 1e-7 weigh alike, and sqrt(v) + eps
     * would give a step 10 times larger */
    float wk[2] = {1.0f, 1.0f}, gk[2] = {1e-4f, 2.0f}, k1[2] = {0, 0}, k2[2] = {0, 0};
    lf_optim_step(&rms, wk, gk, k1, k2, NULL, 2, 1);
    double want0 = 1.0 - 1e-3 * 1e-4 / sqrt(0.1 * 1e-8 + 1e-7), want1 = 1.0 - 1e-3 * 2.0 / sqrt(0.1 * 4.0 + 1e-7);
    CHECK(fabs(wk[0] - want0) < 1e-7 && fabs(wk[1] - want1) < 1e-6 && rms.epsilon == 1e-7f &&
              rms.learning_rate == 1e-3f && rms.rho == 0.9f,
          "rmsprop step: %.9g %.9g, want %.9g %.9g", wk[0], wk[1], want0, want1);
    float avg[1] = {1e-38f}, cur[1] = {0};
    lf_ema_update(avg, cur, 1, 0.5f);
    CHECK(avg[0] == 0.0f, "moving average: %g, want 0 (from 5e-39)", avg[0]);

    /* a feature that is always 0: its weights get no gradient from the
     * data, only the penalty's, and shrink geometrically (Adam's second
     * moment remembers the early, larger gradients); unflushed they end
     * stuck at a subnormal value (about -1e-43), where the update rounds
     * to nothing */
    size_t n = 2000;
    float *x = malloc(n * 4 * sizeof *x), *y = malloc(n * sizeof *y);
    make_task(x, y, n, 31);
    for (size_t r = 0; r < n; r++) x[r * 4 + 3] = 0.0f;
    lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
    opt.learning_rate = 3e-3f;
    lf_model *m;
    lf_model_create(&m, 5);
    int in = lf_input(m, 4, "x");
    int h = lf_dense(m, in, 16, LF_ACT_RELU, 1, "h");
    int o = lf_dense(m, h, 2, LF_ACT_SOFTMAX, 1, "o");
    lf_set_l2(m, h, 1.0f);
    CHECK(lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &opt) == LF_OK, "compile");
    lf_fit_options fo = lf_fit_defaults();
    fo.batch_size = 32, fo.epochs = 60;
    const float *xs[1] = {x};
    CHECK(lf_model_fit(m, xs, y, n, &fo) == LF_OK, "fit: %s", lf_model_error(m));
    size_t sub = 0, zeros = 0, small = 0;
    for (size_t i = 0; i < m->n_params; i++)
        sub += subnormal(m->params[i]) + subnormal(m->m1[i]) + subnormal(m->m2[i]);
    const float *k = m->params + m->nodes[h].param_off; /* h's kernel: (16, 4) */
    for (size_t j = 0; j < 16; j++) zeros += k[j * 4 + 3] == 0.0f, small += fabsf(k[j * 4 + 3]) < 1e-37f;
    CHECK(sub == 0, "%zu subnormal weights or moments after the fit", sub);
    CHECK(small == 16 && zeros >= 8, "the zero feature's 16 weights: %zu below 1e-37, %zu zero", small, zeros);
    lf_model_free(m);
    free(x), free(y);
}

/* A model x (4) -> Dense "o" (1, linear) under MSE and optimizer o, its
 * kernel (1, 0, 0, 0) and bias 0 */
static lf_model *overflow_model(const lf_optimizer *o) {
    lf_model *m;
    lf_model_create(&m, 7);
    int in = lf_input(m, 4, "x"), out = lf_dense(m, in, 1, LF_ACT_LINEAR, 1, "o");
    CHECK(lf_model_compile(m, out, LF_LOSS_MSE, o) == LF_OK, "compile: %s", lf_model_error(m));
    float k[4] = {1, 0, 0, 0}, b = 0;
    lf_set_weights(m, "o", 0, k, 4), lf_set_weights(m, "o", 1, &b, 1);
    return m;
}

/* A finite gradient whose square overflows float (the kernel's 2e20 from
 * the row (1e10, 0, 0, 0), target 0: y = 1e10, dL/dy = 2e10, the loss 1e20
 * finite): Adam's v += (g^2 - v)(1 - b2) is inf after it and NaN at the
 * next step (shown on lf_optim_step itself); train_on_batch, fit and
 * testing.h's step refuse it with a message that names the weight, the
 * weights, moments and step count as they were, for every optimizer that
 * squares the gradient; those that do not (sgd, adamax, lion) take it, and
 * clipvalue before the check lets it through. */
static void test_moment_overflow(void) {
    /* the reason: Adam's second moment after the gradient, then a sane one */
    lf_optimizer adam = lf_optimizer_default(LF_OPT_ADAM);
    float w = 1, g = 2e20f, m1 = 0, m2 = 0;
    lf_optim_step(&adam, &w, &g, &m1, &m2, NULL, 1, 1);
    CHECK(isinf(m2) && isfinite(w), "step 1: v %g, w %g", (double)m2, (double)w);
    g = 1;
    lf_optim_step(&adam, &w, &g, &m1, &m2, NULL, 1, 2);
    CHECK(isnan(m2) && isnan(w), "step 2: v %g, w %g (Keras 3's form: inf - inf)", (double)m2, (double)w);

    float x[4] = {1e10f, 0, 0, 0}, t = 0, xs_ok[4] = {0.5f, -1, 0.25f, 2}, t_ok = 1;
    const float *xs[1] = {x}, *ys[1] = {&t}, *yo[1] = {&t_ok};
    lf_typed_array ta = {LF_DTYPE_FLOAT32, x}, tok = {LF_DTYPE_FLOAT32, xs_ok};
    float big = 2e10f * 1e10f; /* the kernel's gradient */
    char want[512];
    static const lf_optimizer_kind kinds[] = {LF_OPT_ADAM, LF_OPT_NADAM, LF_OPT_RMSPROP, LF_OPT_ADAGRAD,
                                              LF_OPT_ADADELTA, LF_OPT_SGD, LF_OPT_ADAMAX, LF_OPT_LION};
    for (size_t q = 0; q < sizeof kinds / sizeof *kinds; q++) {
        lf_optimizer o = lf_optimizer_default(kinds[q]);
        int squares = q < 5;
        lf_model *a = overflow_model(&o), *b = overflow_model(&o);
        float k0[5], k1[5];
        lf_get_weights(a, "o", 0, k0, 4), lf_get_weights(a, "o", 1, k0 + 4, 1);
        double losses[2];
        lf_status st = lf_model_train_on_batch(a, &ta, ys, 1, NULL, losses, NULL);
        lf_get_weights(a, "o", 0, k1, 4), lf_get_weights(a, "o", 1, k1 + 4, 1);
        if (!squares) {
            CHECK(st == LF_OK && lf_model_iterations(a) == 1, "optimizer %zu: %s", q, lf_model_error(a));
        } else {
            snprintf(want, sizeof want,
                     "train_on_batch: at step 1 the gradient of layer 'o' (kernel, value 0) is %g: the optimizer "
                     "squares it past float's range (|g| above 1.8e19); the step was not taken; try a smaller "
                     "learning rate, clipnorm or clipvalue",
                     (double)big);
            CHECK(st == LF_ERR_NUMERIC && strcmp(lf_model_error(a), want) == 0, "optimizer %zu: %d %s", q, (int)st,
                  lf_model_error(a));
            CHECK(memcmp(k0, k1, sizeof k0) == 0 && lf_model_iterations(a) == 0, "optimizer %zu: weights moved",
                  q);
            /* nothing lost: a sane batch then steps as on a fresh model */
            CHECK(lf_model_train_on_batch(a, &tok, yo, 1, NULL, NULL, NULL) == LF_OK &&
                      lf_model_train_on_batch(b, &tok, yo, 1, NULL, NULL, NULL) == LF_OK,
                  "sane batch: %s", lf_model_error(a));
            CHECK(memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0 &&
                      memcmp(a->m2, b->m2, a->n_params * sizeof(float)) == 0,
                  "optimizer %zu: the step after the refused one differs from a fresh model's", q);
        }
        lf_model_free(a), lf_model_free(b);
    }
    /* fit: the same refusal, the weights of the step before */
    lf_model *f = overflow_model(&adam);
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 3, fo.batch_size = 1, fo.shuffle = 0;
    float xf[8] = {0.5f, -1, 0.25f, 2, 1e10f, 0, 0, 0}, tf[2] = {1, 0};
    const float *xfs[1] = {xf};
    /* its value follows from step 1's weights: the text around it */
    const char *head = "fit: at step 2 the gradient of layer 'o' (kernel, value 0) is ",
               *tail = ": the optimizer squares it past float's range (|g| above 1.8e19); the step was not taken; "
                       "try a smaller learning rate, clipnorm or clipvalue";
    lf_status st = lf_model_fit(f, xfs, tf, 2, &fo);
    float kf[4], k1[4];
    lf_get_weights(f, "o", 0, kf, 4);
    const char *msg = lf_model_error(f);
    CHECK(st == LF_ERR_NUMERIC && strncmp(msg, head, strlen(head)) == 0 && strlen(msg) > strlen(tail) &&
              strcmp(msg + strlen(msg) - strlen(tail), tail) == 0 && lf_model_iterations(f) == 1,
          "fit: %d %s (%llu steps)", (int)st, msg, (unsigned long long)lf_model_iterations(f));
    lf_model *f1 = overflow_model(&adam);
    CHECK(lf_model_train_on_batch(f1, &tok, yo, 1, NULL, NULL, NULL) == LF_OK, "one step");
    lf_get_weights(f1, "o", 0, k1, 4);
    CHECK(memcmp(kf, k1, sizeof kf) == 0 && isfinite(kf[0]), "fit left the weights of its step 1");
    lf_model_free(f), lf_model_free(f1);
    /* testing.h's step: refused, the gradients still there to read */
    lf_model *h = overflow_model(&adam);
    double loss;
    CHECK(lf__loss_and_grads(h, xs, &t, 1, 1, 1, &loss, NULL) == LF_ERR_NUMERIC && h->grads[0] == big &&
              loss == 1e20 && lf_model_iterations(h) == 0,
          "lf__loss_and_grads: %s, gradient %g, loss %g", lf_model_error(h), (double)h->grads[0], loss);
    lf_model_free(h);
    /* clipped first (Keras 3's order): the step is taken */
    lf_optimizer clipped = adam;
    clipped.clipvalue = 1.0f;
    lf_model *c = overflow_model(&clipped);
    CHECK(lf_model_train_on_batch(c, &ta, ys, 1, NULL, NULL, NULL) == LF_OK && lf_model_iterations(c) == 1 &&
              isfinite(c->m2[0]),
          "clipvalue: %s", lf_model_error(c));
    lf_model_free(c);
}

/* every activation's Keras name parses back to it, Keras' aliases to their
 * function, anything else to -1; a number past the last is refused with its
 * message; a model of a few new ones saves and loads to the same bits */
static void test_activation_names(void) {
    for (int a = 0; a < LF_ACT_COUNT; a++) {
        const char *n = lf_activation_name((lf_activation)a);
        CHECK(n && lf_activation_parse(n) == a, "activation %d: name %s", a, n ? n : "(null)");
        for (int b = 0; b < a && n; b++) CHECK(strcmp(n, lf_activation_name((lf_activation)b)) != 0, "%s twice", n);
    }
    CHECK(LF_ACT_SOFTMAX == 7 && LF_ACT_LOG_SOFTMAX == 26 && LF_ACT_SPARSEMAX == 27,
          "the numbers of the first kinds kept");
    CHECK(lf_activation_parse("swish") == LF_ACT_SILU && lf_activation_parse("hard_swish") == LF_ACT_HARD_SILU,
          "Keras' aliases");
    CHECK(strcmp(lf_activation_name(LF_ACT_HARD_SIGMOID), "hard_sigmoid") == 0, "hard_sigmoid");
    CHECK(!lf_activation_name(LF_ACT_COUNT) && !lf_activation_name((lf_activation)-1), "no name past the end");
    CHECK(lf_activation_parse("glu") == -1 && lf_activation_parse("Swish") == -1 && lf_activation_parse("") == -1 &&
              lf_activation_parse(NULL) == -1,
          "unknown names");
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input(m, 3, "x");
    CHECK(lf_dense(m, x, 2, LF_ACT_COUNT, 1, NULL) < 0 && strcmp(lf_model_error(m), "unknown activation 28") == 0,
          "got '%s'", lf_model_error(m));
    lf_model_free(m);

    char path[160];
    snprintf(path, sizeof path, "%s/acts.lf", tmpdir);
    lf_model_create(&m, 5);
    x = lf_input(m, 4, "x");
    int h = lf_dense(m, x, 5, LF_ACT_SELU, 1, "h");
    h = lf_activation_layer(m, h, LF_ACT_SQUAREPLUS, "sq");
    h = lf_dense(m, h, 4, LF_ACT_HARD_SILU, 1, "g");
    int o = lf_dense(m, h, 3, LF_ACT_LOG_SOFTMAX, 1, "out");
    CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "%s", lf_model_error(m));
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *l;
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
    float in[6 * 4], p1[6 * 3], p2[6 * 3];
    fill_uniform(in, 24, -3, 3, 8);
    const float *xs[1] = {in};
    lf_model_predict(m, xs, 6, p1);
    lf_model_predict(l, xs, 6, p2);
    CHECK(memcmp(p1, p2, sizeof p1) == 0, "the loaded model predicts differently");
    for (size_t k = 0; k < l->n_nodes; k++)
        CHECK(l->nodes[k].act == m->nodes[k].act, "node %zu: activation %d, saved %d", k, (int)l->nodes[k].act,
              (int)m->nodes[k].act);
    lf_model_free(l);
    lf_model_free(m);
    unlink(path);
}

int main(void) {
    test_validation_freq_initial_epoch();
    test_subnormal_flush();
    test_threads_determinism();
    test_reshuffle();
    test_fit_source();
    test_validation_split_rows();
    test_fit_refusals();
    test_restore_best();
    test_baseline_start();
    test_monitor_accuracy();
    test_frozen_penalty();
    test_bias_penalty();
    test_shared_penalty();
    test_threads_option();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_engine_XXXXXX");
    if (!mkdtemp(tmpdir)) return 2;
    test_builder();
    test_activation_names();
    test_dropout();
    test_fit();
    test_save_load();
    test_save_load_ranges();
    test_refit_draws();
    test_ema();
    test_set_learning_rate();
    test_train_on_batch();
    test_clip_decay();
    test_keras_optimizers();
    test_stop_training();
    test_stop_training_step();
    test_validation_steps();
    test_moment_overflow();
    rmdir(tmpdir);
    return check_report("test_engine");
}
