/*
 * test_noise.c — Keras' noise and regularization layers (noise.c):
 * SpatialDropout1D / 2D, GaussianNoise, GaussianDropout, AlphaDropout and
 * ActivityRegularization.  Each random one: inference the identity bit for
 * bit; its draws the same bits from the same key and in any part of a
 * batch; the statistics of its outputs over many values within bounds
 * computed from Keras' formula (mean and variance, a dropped fraction);
 * the gradient with its draws fixed by central differences (the backward
 * pass uses the forward pass's draws); the model file's round trip and
 * refusals; the builders' exact errors.  SpatialDropout: every step of a
 * dropped channel 0, every value of a kept one x / (1 - rate)'s float.
 * ActivityRegularization: the loss and gradient by hand, its l1 / l2
 * through a file.  No PyTorch golden: torch's Dropout1d/2d and
 * AlphaDropout draw their own masks, which these layers cannot take, so
 * their statistics are checked instead.
 */
#include "check.h"
#include "engine_util.h"
#include "augment_util.h"

#include <stdlib.h>
#include <unistd.h>

static char tmpdir[64];

enum { SP1D, SP2D, GNOISE, GDROP, ALPHA, N_KINDS };
static const char *const kind_name[N_KINDS] = {"SpatialDropout1D", "SpatialDropout2D", "GaussianNoise",
                                               "GaussianDropout", "AlphaDropout"};

/* x of shape (2, 3, 4) for SpatialDropout2D, (6, 4) for SpatialDropout1D,
 * (24) for the others -> the layer "noise" (the output), compiled with the
 * mean squared error; *node is the layer's */
static lf_model *noise_model(int kind, float rate, size_t T, size_t C, int *node) {
    lf_model *m;
    lf_model_create(&m, 3);
    int x = kind == SP2D   ? lf_input_shape(m, 3, (size_t[]){2, T / 2, C}, LF_DTYPE_FLOAT32, "x")
            : kind == SP1D ? lf_input_shape(m, 2, (size_t[]){T, C}, LF_DTYPE_FLOAT32, "x")
                           : lf_input(m, T * C, "x");
    *node = kind == SP1D    ? lf_spatial_dropout1d(m, x, rate, "noise")
            : kind == SP2D  ? lf_spatial_dropout2d(m, x, rate, "noise")
            : kind == GNOISE ? lf_gaussian_noise(m, x, rate, "noise")
            : kind == GDROP ? lf_gaussian_dropout(m, x, rate, "noise")
                            : lf_alpha_dropout(m, x, rate, "noise");
    CHECK(*node > 0 && lf_model_compile(m, *node, LF_LOSS_MSE, NULL) == LF_OK, "%s: build: %s", kind_name[kind],
          lf_model_error(m));
    return m;
}

/* The builders' refusals, word for word. */
static void test_errors(void) {
    static const struct {
        int kind;
        float rate;
        const char *msg;
    } cases[] = {
        {SP1D, 1.0f, "SpatialDropout1D rate must be in [0, 1), got 1"},
        {SP2D, -0.5f, "SpatialDropout2D rate must be in [0, 1), got -0.5"},
        {GNOISE, -1.0f, "GaussianNoise stddev must be in [0, 1], got -1"},
        {GNOISE, 1.5f, "GaussianNoise stddev must be in [0, 1], got 1.5"},
        {GDROP, 1.0f, "GaussianDropout rate must be in [0, 1), got 1"},
        {ALPHA, 1.0f, "AlphaDropout rate must be in [0, 1), got 1"},
        {ALPHA, NAN, "AlphaDropout rate must be in [0, 1), got nan"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        lf_model *m;
        lf_model_create(&m, 1);
        int x = cases[c].kind == SP2D ? lf_input_shape(m, 3, (size_t[]){2, 2, 3}, LF_DTYPE_FLOAT32, "x")
                : cases[c].kind == SP1D ? lf_input_shape(m, 2, (size_t[]){2, 3}, LF_DTYPE_FLOAT32, "x")
                                        : lf_input(m, 4, "x");
        int k = cases[c].kind;
        float r = cases[c].rate;
        int id = k == SP1D    ? lf_spatial_dropout1d(m, x, r, NULL)
                 : k == SP2D  ? lf_spatial_dropout2d(m, x, r, NULL)
                 : k == GNOISE ? lf_gaussian_noise(m, x, r, NULL)
                 : k == GDROP ? lf_gaussian_dropout(m, x, r, NULL)
                              : lf_alpha_dropout(m, x, r, NULL);
        CHECK(id == -1 && strcmp(lf_model_error(m), cases[c].msg) == 0, "case %zu: want \"%s\", got \"%s\"", c,
              cases[c].msg, lf_model_error(m));
        lf_model_free(m);
    }
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input(m, 12, "x");
    CHECK(lf_spatial_dropout1d(m, x, 0.5f, NULL) == -1 &&
              strcmp(lf_model_error(m),
                     "SpatialDropout1D: input 'x' has shape (None, 12); it needs rank 3 (batch, steps, features)") == 0,
          "%s", lf_model_error(m));
    lf_model_free(m);
    lf_model_create(&m, 1);
    x = lf_input_shape(m, 2, (size_t[]){3, 4}, LF_DTYPE_FLOAT32, "x");
    CHECK(lf_spatial_dropout2d(m, x, 0.5f, NULL) == -1 &&
              strcmp(lf_model_error(m), "SpatialDropout2D: input 'x' has shape (None, 3, 4); it needs rank 4 "
                                        "(batch, height, width, channels)") == 0,
          "%s", lf_model_error(m));
    lf_model_free(m);
    lf_model_create(&m, 1);
    x = lf_input(m, 4, "x");
    CHECK(lf_activity_regularization(m, x, -1.0f, 0.0f, NULL) == -1 &&
              strcmp(lf_model_error(m), "ActivityRegularization: l1 and l2 must be finite and >= 0, got -1, 0") == 0,
          "%s", lf_model_error(m));
    lf_model_free(m);
}

/* Inference the identity, the same bits from the same key (and rows 10..
 * alone), and a rate of 0 the identity in training too. */
static void test_identity_and_draws(void) {
    enum { N = 40, T = 6, C = 4, D = T * C };
    float *x = malloc(N * D * sizeof *x);
    fill_uniform(x, N * D, -2, 2, 7);
    lf_draws k = {lf_draw_key(11, 0, 0), 0};
    for (int kind = 0; kind < N_KINDS; kind++) {
        int node;
        lf_model *m = noise_model(kind, 0.3f, T, C, &node);
        aug_check_identity(m, node, x, N, D, kind_name[kind]);
        lf_ws a;
        lf_ws_init(&a, m, N, 0, NULL, 0);
        const float *xs[1] = {x};
        lf_graph_forward_drawn(m, &a, xs, N, 1, &k);
        CHECK(memcmp(a.out[node], x, N * D * sizeof *x) != 0, "%s: training changes the values", kind_name[kind]);
        aug_check_same_draws(m, &a, node, x, N, D, &k, kind_name[kind]);
        lf_ws_free(&a);
        lf_model_free(m);
        /* rate (stddev) 0: the identity while training */
        m = noise_model(kind, 0.0f, T, C, &node);
        lf_ws_init(&a, m, N, 0, NULL, 0);
        lf_graph_forward_drawn(m, &a, xs, N, 1, &k);
        CHECK(memcmp(a.out[node], x, N * D * sizeof *x) == 0, "%s: rate 0 is the identity in training",
              kind_name[kind]);
        lf_ws_free(&a);
        lf_model_free(m);
    }
    free(x);
}

/* SpatialDropout: per row and channel, every step 0 or every step
 * x * (1 / (1 - rate)) (the float Dropout computes); the dropped channels
 * a fraction rate of all, within 4 standard deviations. */
static void test_spatial(void) {
    enum { N = 500, T = 6, C = 8, D = T * C };
    const float rate = 0.4f, keep = 1.0f / (1.0f - rate);
    float *x = malloc(N * D * sizeof *x);
    fill_uniform(x, N * D, 0.5f, 2.0f, 8); /* no zero: a 0 output is a dropped value */
    for (int kind = SP1D; kind <= SP2D; kind++) {
        int node;
        lf_model *m = noise_model(kind, rate, T, C, &node);
        lf_ws a;
        lf_ws_init(&a, m, N, 0, NULL, 0);
        const float *xs[1] = {x};
        lf_draws k = {lf_draw_key(5, 1, 2), 0};
        lf_graph_forward_drawn(m, &a, xs, N, 1, &k);
        size_t dropped = 0, mixed = 0, bad = 0;
        for (size_t r = 0; r < N; r++)
            for (size_t c = 0; c < C; c++) {
                size_t zeros = 0;
                for (size_t t = 0; t < T; t++) {
                    size_t i = (r * T + t) * C + c;
                    float y = a.out[node][i];
                    if (y == 0.0f) zeros++;
                    else if (y != x[i] * keep) bad++;
                }
                if (zeros == T) dropped++;
                else if (zeros) mixed++;
            }
        double frac = dropped / (double)(N * C), sd = sqrt(rate * (1 - rate) / (N * C));
        CHECK(mixed == 0, "%s: %zu channels dropped at some steps only", kind_name[kind], mixed);
        CHECK(bad == 0, "%s: %zu kept values not x / (1 - rate)", kind_name[kind], bad);
        CHECK(fabs(frac - rate) < 4 * sd, "%s: dropped channels %.4f, want %.1f +- %.4f", kind_name[kind], frac,
              (double)rate, 4 * sd);
        lf_ws_free(&a);
        lf_model_free(m);
    }
    free(x);
}

/* The mean and variance of n values (double sums). */
static void moments(const float *y, size_t n, double *mean, double *var) {
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) s += y[i];
    *mean = s / (double)n;
    for (size_t i = 0; i < n; i++) s2 += ((double)y[i] - *mean) * ((double)y[i] - *mean);
    *var = s2 / (double)n;
}

/* The outputs' statistics from the formulas, over N x D = 200000 values:
 * a sample mean within 5 standard errors (sd / sqrt(n)), a sample variance
 * within 5 of its standard errors (var sqrt(2 / n) for a normal; AlphaDropout's
 * two-point-plus-normal mixture: its own fourth moment). */
static void test_statistics(void) {
    enum { N = 2000, D = 100, n = N * D };
    float *x = malloc(n * sizeof *x);
    lf_draws k = {lf_draw_key(21, 3, 4), 0};
    const float *xs[1] = {x};
    /* GaussianNoise(0.7) of zeros: N(0, 0.49) */
    {
        int node;
        lf_model *m = noise_model(GNOISE, 0.7f, 1, D, &node);
        for (size_t i = 0; i < n; i++) x[i] = 0.0f;
        lf_ws a;
        lf_ws_init(&a, m, N, 0, NULL, 0);
        lf_graph_forward_drawn(m, &a, xs, N, 1, &k);
        double mean, var, want = 0.7 * 0.7;
        moments(a.out[node], n, &mean, &var);
        CHECK(fabs(mean) < 5 * 0.7 / sqrt(n), "GaussianNoise: mean %.5f, want 0 +- %.5f", mean, 5 * 0.7 / sqrt(n));
        CHECK(fabs(var - want) < 5 * want * sqrt(2.0 / n), "GaussianNoise: variance %.5f, want %.2f +- %.5f", var,
              want, 5 * want * sqrt(2.0 / n));
        /* normal, not just its two moments: P(|z| < 1) = erf(1 / sqrt 2) = 0.6827 */
        size_t within = 0;
        for (size_t i = 0; i < n; i++) within += fabsf(a.out[node][i]) < 0.7f;
        double f1 = within / (double)n, p1 = erf(1 / sqrt(2.0)), s1 = sqrt(p1 * (1 - p1) / n);
        CHECK(fabs(f1 - p1) < 5 * s1, "GaussianNoise: a fraction %.4f within 1 sd, want %.4f +- %.4f", f1, p1, 5 * s1);
        lf_ws_free(&a);
        lf_model_free(m);
    }
    /* GaussianDropout(0.2) of ones: 1 + N(0, 0.2 / 0.8) */
    {
        int node;
        lf_model *m = noise_model(GDROP, 0.2f, 1, D, &node);
        for (size_t i = 0; i < n; i++) x[i] = 1.0f;
        lf_ws a;
        lf_ws_init(&a, m, N, 0, NULL, 0);
        lf_graph_forward_drawn(m, &a, xs, N, 1, &k);
        double mean, var, want = 0.2 / 0.8;
        moments(a.out[node], n, &mean, &var);
        CHECK(fabs(mean - 1) < 5 * sqrt(want / n), "GaussianDropout: mean %.5f, want 1 +- %.5f", mean,
              5 * sqrt(want / n));
        CHECK(fabs(var - want) < 5 * want * sqrt(2.0 / n), "GaussianDropout: variance %.5f, want %.2f +- %.5f", var,
              want, 5 * want * sqrt(2.0 / n));
        lf_ws_free(&a);
        lf_model_free(m);
    }
    /* AlphaDropout(0.3): of a constant 0.5 every value a 0.5 + b or a alpha' + b,
     * a fraction 0.3 the latter; of x with mean 0 and variance 1 exactly,
     * mean 0 and variance 1 (the self-normalising property the constants
     * are made for: E y = a ((1-p) E x + p alpha') + b = 0, Var y = a^2
     * (1-p) (Var x + p (E x - alpha')^2) = 1) */
    {
        const double p = 0.3, ap = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946;
        const double a_ = pow((1 - p) * (1 + p * ap * ap), -0.5), b_ = -a_ * ap * p;
        int node;
        lf_model *m = noise_model(ALPHA, (float)p, 1, D, &node);
        for (size_t i = 0; i < n; i++) x[i] = 0.5f;
        lf_ws a;
        lf_ws_init(&a, m, N, 0, NULL, 0);
        lf_graph_forward_drawn(m, &a, xs, N, 1, &k);
        size_t dropped = 0, bad = 0;
        for (size_t i = 0; i < n; i++) {
            double y = a.out[node][i];
            if (fabs(y - (a_ * ap + b_)) < 1e-6) dropped++;
            else if (fabs(y - (a_ * 0.5 + b_)) > 1e-6) bad++;
        }
        double frac = dropped / (double)n, sd = sqrt(p * (1 - p) / n);
        CHECK(bad == 0, "AlphaDropout: %zu values neither a x + b nor a alpha' + b", bad);
        CHECK(fabs(frac - p) < 4 * sd, "AlphaDropout: dropped %.4f, want 0.3 +- %.4f", frac, 4 * sd);
        /* x: a standard normal sample, standardised to mean 0, variance 1 */
        uint64_t s = 99;
        for (size_t i = 0; i < n; i += 2) {
            double u1 = (double)((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 11) / 9007199254740992.0;
            double u2 = (double)((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 11) / 9007199254740992.0;
            double rr = sqrt(-2 * log(1 - u1));
            x[i] = (float)(rr * cos(6.283185307179586 * u2)), x[i + 1] = (float)(rr * sin(6.283185307179586 * u2));
        }
        double mx, vx;
        moments(x, n, &mx, &vx);
        for (size_t i = 0; i < n; i++) x[i] = (float)((x[i] - mx) / sqrt(vx));
        lf_graph_forward_drawn(m, &a, xs, N, 1, &k);
        double mean, var;
        moments(a.out[node], n, &mean, &var);
        /* y's variance has a standard error near sqrt((E y^4 - 1) / n) <= sqrt(4 / n) */
        CHECK(fabs(mean) < 5 / sqrt(n), "AlphaDropout: mean %.5f, want 0 +- %.5f", mean, 5 / sqrt(n));
        CHECK(fabs(var - 1) < 5 * sqrt(4.0 / n), "AlphaDropout: variance %.5f, want 1 +- %.5f", var,
              5 * sqrt(4.0 / n));
        lf_ws_free(&a);
        lf_model_free(m);
    }
    free(x);
}

/* <g, y(x)> for the layer's output y under key k (the draws fixed) */
static double dot_out(const lf_model *m, lf_ws *ws, int node, const float *x, size_t N, size_t D, const float *g,
                      const lf_draws *k) {
    const float *xs[1] = {x};
    lf_graph_forward_drawn(m, ws, xs, N, 1, k);
    double s = 0;
    for (size_t i = 0; i < N * D; i++) s += (double)g[i] * (double)ws->out[node][i];
    return s;
}

/* The input gradient of <g, y> with the draws fixed against central
 * differences: each layer is affine in x for fixed draws, so the
 * difference is exact up to rounding; x and g are scaled so that every
 * gradient value (a kept one) stands well above the tolerance. */
static void test_gradients(void) {
    enum { N = 5, T = 6, C = 4, D = T * C };
    float x[N * D], g[N * D];
    fill_uniform(x, N * D, -3, 3, 30);
    fill_uniform(g, N * D, 1, 2, 31);
    lf_draws k = {lf_draw_key(2, 0, 1), 0};
    for (int kind = 0; kind < N_KINDS; kind++) {
        int node;
        lf_model *m = noise_model(kind, 0.4f, T, C, &node);
        lf_ws ws;
        lf_ws_init(&ws, m, N, 1, NULL, 0);
        const float *xs[1] = {x};
        lf_graph_forward_drawn(m, &ws, xs, N, 1, &k);
        memcpy(ws.dout[node], g, sizeof g);
        float dummy[1] = {0};
        lf_graph_backward(m, &ws, m->grads ? m->grads : dummy, N, 1);
        float gx[N * D];
        memcpy(gx, ws.dout[0], sizeof gx);
        double worst = 0, largest = 0;
        const float h = 0.01f;
        for (size_t i = 0; i < N * D; i++) {
            float x0 = x[i];
            x[i] = x0 + h;
            double fp = dot_out(m, &ws, node, x, N, D, g, &k);
            x[i] = x0 - h;
            double fm = dot_out(m, &ws, node, x, N, D, g, &k);
            x[i] = x0;
            double fd = (fp - fm) / (2.0 * (double)h);
            worst = fmax(worst, fabs(fd - (double)gx[i]));
            largest = fmax(largest, fabs(fd));
        }
        CHECK(worst < 2e-3 && largest > 100 * 2e-3, "%s: input gradient off by %.3g (largest %.3g)",
              kind_name[kind], worst, largest);
        lf_ws_free(&ws);
        lf_model_free(m);
    }
}

/* Saved and loaded: the same draws and bits; the file's fields; its
 * refusals of a setting out of range. */
static void test_file(void) {
    enum { N = 20, T = 6, C = 4, D = T * C };
    float x[N * D];
    fill_uniform(x, N * D, -1, 1, 40);
    char path[96], bad[96];
    snprintf(path, sizeof path, "%s/n.lf", tmpdir);
    snprintf(bad, sizeof bad, "%s/bad.lf", tmpdir);
    lf_draws k = {lf_draw_key(9, 0, 0), 0};
    static const char *const want[N_KINDS] = {
        "\"type\":\"SpatialDropout1D\",\"inbound\":[\"x\"],\"rate\":0.25",
        "\"type\":\"SpatialDropout2D\",\"inbound\":[\"x\"],\"rate\":0.25",
        "\"type\":\"GaussianNoise\",\"inbound\":[\"x\"],\"stddev\":0.25",
        "\"type\":\"GaussianDropout\",\"inbound\":[\"x\"],\"rate\":0.25",
        "\"type\":\"AlphaDropout\",\"inbound\":[\"x\"],\"rate\":0.25",
    };
    for (int kind = 0; kind < N_KINDS; kind++) {
        int node;
        lf_model *m = noise_model(kind, 0.25f, T, C, &node);
        size_t aux = kind <= SP2D ? C : kind == GNOISE ? 0 : D;
        aug_check_file(m, node, "noise", path, x, N, D, aux, &k, want[kind], kind_name[kind]);
        lf_model_free(m);
        const char *field = kind == GNOISE ? "stddev\\\":0.25" : "rate\\\":0.25";
        const char *to = kind == GNOISE ? "stddev\\\":1.25" : "rate\\\":1.25";
        const char *msg = kind == GNOISE ? "'stddev' must be a finite number in [0, 1]"
                                           : "'rate' must be a finite number in [0, 1)";
        aug_check_file_refusal(path, bad, "noise", (size_t)kind, field, to, msg, 1);
    }
    remove(path), remove(bad);
}

/* ActivityRegularization(l1, l2): the identity; the loss gains the batch's
 * mean of l1 sum |y_r| + l2 sum y_r^2 (Keras 3's activity penalty over the
 * rows), its gradient by hand; lf_get_regularizer sees l1, l2; a file
 * keeps them. */
static void test_activity_regularization(void) {
    enum { N = 3, D = 4 };
    const float l1 = 0.25f, l2 = 0.5f;
    lf_model *m;
    lf_model_create(&m, 1);
    int x = lf_input(m, D, "x");
    int r = lf_activity_regularization(m, x, l1, l2, "reg");
    CHECK(r > 0 && lf_model_compile(m, r, LF_LOSS_MSE, NULL) == LF_OK, "build: %s", lf_model_error(m));
    float f1 = -1, f2 = -1;
    CHECK(lf_get_regularizer(m, r, LF_REG_ACTIVITY, &f1, &f2) == LF_OK && f1 == l1 && f2 == l2,
          "lf_get_regularizer: %g %g", (double)f1, (double)f2);
    float in[N * D] = {1, -2, 3, -4, 0.5f, 0.5f, -0.5f, 2, 0, 1, -1, 3};
    float t[N * D] = {0};
    const float *xs[1] = {in};
    float gx[N * D] = {0}, *g[1] = {gx};
    double loss;
    CHECK(lf__loss_and_grads(m, xs, t, N, 1, 0, &loss, g) == LF_OK, "%s", lf_model_error(m));
    /* mse over N x D values, plus (1/N) sum_r (l1 |y_r|_1 + l2 |y_r|^2) */
    double mse = 0, pen = 0;
    for (int i = 0; i < N * D; i++) mse += (double)in[i] * in[i], pen += l1 * fabs(in[i]) + l2 * (double)in[i] * in[i];
    double want = mse / (N * D) + pen / N;
    CHECK(fabs(loss - want) < 1e-6 * want, "loss %.9g, want %.9g", loss, want);
    int bad = 0;
    for (int i = 0; i < N * D; i++) {
        double s = in[i] > 0 ? 1 : in[i] < 0 ? -1 : 0;
        double gi = 2.0 * in[i] / (N * D) + (l1 * s + 2 * l2 * in[i]) / N;
        if (fabs(gi - gx[i]) > 1e-6 * (1 + fabs(gi))) bad++;
    }
    CHECK(bad == 0, "%d input gradients differ from the hand-computed ones", bad);
    aug_check_identity(m, r, in, N, D, "ActivityRegularization");
    char path[96];
    snprintf(path, sizeof path, "%s/a.lf", tmpdir);
    CHECK(lf_model_save(m, path, 0) == LF_OK, "save: %s", lf_model_error(m));
    lf_model *l;
    lf_model_create(&l, 0);
    CHECK(lf_model_load(l, path) == LF_OK, "load: %s", lf_model_error(l));
    int rl = lf_node_find(l, "reg");
    f1 = f2 = -1;
    CHECK(rl > 0 && lf_get_regularizer(l, rl, LF_REG_ACTIVITY, &f1, &f2) == LF_OK && f1 == l1 && f2 == l2,
          "loaded: %g %g", (double)f1, (double)f2);
    lf_model_free(l);
    remove(path);
    lf_model_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_noise_XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_errors();
    test_identity_and_draws();
    test_spatial();
    test_statistics();
    test_gradients();
    test_file();
    test_activity_regularization();
    rmdir(tmpdir);
    return check_report("test_noise");
}
