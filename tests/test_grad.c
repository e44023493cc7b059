/*
 * test_grad.c — finite-difference gradient checks of every layer,
 * activation and loss: the analytic gradient of the batch loss w.r.t. every
 * parameter and every input element is compared with a central difference
 * computed in double-checked float32 steps.  A wrong backward formula gives
 * O(1) relative errors; the tolerance (2e-3 + 2e-2 |fd|) sits far below that.
 * So that a zero gradient cannot pass under the absolute tolerance, every
 * checked tensor's largest |finite difference| must reach 10 x 2e-3 (the
 * inputs and kernels are scaled for it).  BatchNormalization, whose float32
 * losses are the noisiest, is checked with a wider step and a fourth-order
 * difference (fd_at).  With a mask input (not
 * differentiable) the other inputs' gradients are checked too.
 */
#include "check.h"
#include "engine_util.h"
#include "kernels.h"
#include "layers/layer.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAXIN 8

/* The loss of a pass; a training pass (batch statistics, augmentation)
 * starts from the generator state *rng so that every pass draws the same */
static double loss_at(lf_model *m, const float *const *x, const float *t, size_t n, int training,
                      const lf_rng *rng) {
    double l = 0;
    if (training) m->rng = *rng;
    lf__loss_and_grads(m, x, t, n, training, 0, &l, NULL);
    return l;
}

#define ATOL 2e-3
#define RTOL 2e-2

/* Compares an analytic gradient with its finite differences; and, so that a
 * zero gradient cannot pass under the absolute tolerance, asks that the
 * largest |finite difference| stand at least 10 x ATOL (inputs are scaled
 * to make it so). */
static void compare_grads(const char *label, const float *ana, const float *num, size_t cnt) {
    CHECK_CLOSE(label, ana, num, cnt, ATOL, RTOL);
    float big = 0;
    for (size_t j = 0; j < cnt; j++) big = fabsf(num[j]) > big ? fabsf(num[j]) : big;
    CHECK(big >= 10 * ATOL, "%s: the largest finite difference is %.3g, below 10 x the tolerance %g",
          label, (double)big, 10 * ATOL);
}

/* The finite difference of the loss along *v (a parameter or an input
 * value) with step h: wide 0, the central difference (l(v + h) - l(v - h))
 * / 2h; wide 1, the fourth-order one (8 (l(v + h) - l(v - h)) - (l(v + 2h)
 * - l(v - 2h))) / 12h, whose truncation error is O(h^4) instead of O(h^2),
 * so that a 30 times wider step (FD_WIDE) keeps it small while the float32
 * rounding noise of the losses (about eps |l| / h) drops 30-fold.  (For
 * BatchNormalization in training the plain difference's noise reached a
 * third to a half of the tolerance, and more was seen on other builds;
 * the wide one's worst error is a few hundredths of it.) */
#define FD_WIDE 3e-2f
static float fd_at(lf_model *m, float **x, const float *t, size_t n, int training, const lf_rng *rng, float *v,
                   float h, int wide) {
    float w = *v;
    double d[2];
    for (int k = 0; k < 1 + wide; k++) {
        float s = (float)(k + 1) * h;
        *v = w + s;
        double lp = loss_at(m, (const float *const *)x, t, n, training, rng);
        *v = w - s;
        double lm = loss_at(m, (const float *const *)x, t, n, training, rng);
        d[k] = lp - lm;
    }
    *v = w;
    return wide ? (float)((8.0 * d[0] - d[1]) / (12.0 * h)) : (float)(d[0] / (2.0 * h));
}

/* checks all parameter gradients and the gradients of every input but
 * `skip` (-1: none; a mask input is not differentiable); wide: a 30 times
 * wider step with the fourth-order difference (fd_at) */
static void fd_check_wide(const char *what, lf_model *m, float **x, const float *t, size_t n, int skip,
                          int training, int wide);

static void fd_check_mode(const char *what, lf_model *m, float **x, const float *t, size_t n, int skip,
                          int training) {
    fd_check_wide(what, m, x, t, n, skip, training, 0);
}

static void fd_check_wide(const char *what, lf_model *m, float **x, const float *t, size_t n, int skip,
                          int training, int wide) {
    size_t ni = lf_model_num_inputs(m), np = m->n_params;
    float *ig[MAXIN];
    for (size_t i = 0; i < ni; i++) ig[i] = calloc(n * lf_model_input_dim(m, i), sizeof(float));
    double l0;
    lf_rng rng0 = m->rng;
    lf_status st = lf__loss_and_grads(m, (const float *const *)x, t, n, training, 0, &l0, ig);
    CHECK(st == LF_OK, "%s: loss_and_grads failed", what);
    float *ana = malloc((np ? np : 1) * sizeof *ana), *num = malloc((np ? np : 1) * sizeof *num);
    memcpy(ana, m->grads, np * sizeof *ana);
    for (size_t j = 0; j < np; j++) {
        float w = m->params[j], h = (wide ? FD_WIDE : 1e-3f) * (fabsf(w) > 1 ? fabsf(w) : 1);
        num[j] = fd_at(m, x, t, n, training, &rng0, &m->params[j], h, wide);
    }
    /* weights not trained (moving statistics) have no gradient: in an
     * inference pass the loss still moves with them */
    for (size_t i = 0; i < m->n_nodes; i++) {
        lf_weight w[LF_MAX_WEIGHTS];
        size_t nw = lf_node_weights(m, &m->nodes[i], w);
        for (size_t k = 0; k < nw; k++)
            if (w[k].fixed)
                for (size_t j = 0; j < lf_weight_count(&w[k]); j++) {
                    size_t at = m->nodes[i].param_off + w[k].off + j;
                    CHECK(ana[at] == 0.0f, "%s: a weight not trained has gradient %g", what, (double)ana[at]);
                    num[at] = 0.0f;
                }
    }
    char label[200];
    snprintf(label, sizeof label, "%s: parameter gradients", what);
    compare_grads(label, ana, num, np);
    for (size_t i = 0; i < ni; i++) {
        if ((int)i == skip || m->nodes[m->inputs[i]].dtype == LF_DTYPE_INT32) { /* token ids: no gradient */
            free(ig[i]);
            continue;
        }
        size_t cnt = n * lf_model_input_dim(m, i);
        float *numi = malloc(cnt * sizeof *numi);
        for (size_t j = 0; j < cnt; j++) {
            numi[j] = fd_at(m, x, t, n, training, &rng0, &x[i][j], wide ? FD_WIDE : 1e-3f, wide);
        }
        snprintf(label, sizeof label, "%s: gradient of input %zu", what, i);
        compare_grads(label, ig[i], numi, cnt);
        free(numi);
        free(ig[i]);
    }
    free(ana);
    free(num);
}

static void fd_check_skip(const char *what, lf_model *m, float **x, const float *t, size_t n, int skip) {
    fd_check_mode(what, m, x, t, n, skip, 0);
}

static void fd_check(const char *what, lf_model *m, float **x, const float *t, size_t n) {
    fd_check_skip(what, m, x, t, n, -1);
}

/* random inputs for a model, targets suited to its loss */
typedef struct {
    float *x[MAXIN];
    float *t;
} data;

static data make_data(lf_model *m, size_t n, lf_loss loss, uint64_t seed) {
    data d;
    memset(&d, 0, sizeof d);
    for (size_t i = 0; i < lf_model_num_inputs(m); i++) {
        size_t cnt = n * lf_model_input_dim(m, i);
        d.x[i] = malloc(cnt * sizeof(float));
        fill_uniform(d.x[i], cnt, -1, 1, seed + i);
    }
    size_t D = lf_model_output_dim(m);
    size_t tc = loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ? 1 : D;
    d.t = malloc(n * tc * sizeof(float));
    fill_uniform(d.t, n * tc, 0, 1, seed + 99);
    if (loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY)
        for (size_t r = 0; r < n; r++) d.t[r] = (float)(r % D);
    if (loss == LF_LOSS_CATEGORICAL_CROSSENTROPY)
        for (size_t r = 0; r < n; r++)
            for (size_t j = 0; j < D; j++) d.t[r * D + j] = j == (r * 7) % D;
    if (loss == LF_LOSS_MSE || loss == LF_LOSS_MAE)
        for (size_t j = 0; j < n * tc; j++) d.t[j] = d.t[j] * 4 - 2;
    return d;
}

/* multiplies a layer's kernel (weight 0) by s: larger weights after an
 * input make its gradient stand well above the tolerance */
static void scale_kernel(lf_model *m, const char *layer, float s) {
    size_t shape[2], cnt;
    CHECK(lf_layer_weight_shape(m, layer, 0, shape, &cnt) == LF_OK, "no layer %s", layer);
    float *k = malloc(cnt * sizeof *k);
    lf_get_weights(m, layer, 0, k, cnt);
    for (size_t j = 0; j < cnt; j++) k[j] *= s;
    CHECK(lf_set_weights(m, layer, 0, k, cnt) == LF_OK, "set %s", layer);
    free(k);
}

static void free_data(data *d) {
    for (int i = 0; i < MAXIN; i++) free(d->x[i]);
    free(d->t);
}

static void run(const char *what, lf_model *m, int out, lf_loss loss, size_t n, uint64_t seed) {
    lf_status st = lf_model_compile(m, out, loss, NULL);
    CHECK(st == LF_OK, "%s: compile: %s", what, lf_model_error(m));
    if (st != LF_OK) return;
    data d = make_data(m, n, loss, seed);
    fd_check(what, m, d.x, d.t, n);
    free_data(&d);
}

/* the kinks (or jumps) of an activation, where no derivative exists: a
 * finite difference across one means nothing */
static size_t act_kinks(lf_activation a, float k[3]) {
    switch (a) {
    case LF_ACT_RELU6: k[0] = 0, k[1] = 6; return 2;
    case LF_ACT_HARD_SIGMOID: case LF_ACT_HARD_SILU: k[0] = -3, k[1] = 3; return 2;
    case LF_ACT_HARD_TANH: case LF_ACT_SPARSE_SIGMOID: case LF_ACT_SPARSE_PLUS: k[0] = -1, k[1] = 1; return 2;
    case LF_ACT_SOFT_SHRINK: case LF_ACT_HARD_SHRINK: k[0] = -0.5f, k[1] = 0.5f; return 2;
    case LF_ACT_RELU: case LF_ACT_LEAKY_RELU: case LF_ACT_ELU: case LF_ACT_SELU: case LF_ACT_CELU:
        k[0] = 0; return 1;
    default: return 0;
    }
}

/* sparsemax's kinks move with the row: its threshold tau (sum_j max(z_j -
 * tau, 0) = 1), by the paper's sort (Martins & Astudillo 2016, Algorithm
 * 1), an independent way from the kernel's */
static double sparsemax_tau_sorted(const float *z, size_t D) {
    double s[16], cum = 0, tau = 0;
    for (size_t j = 0; j < D; j++) { /* insertion sort, descending */
        size_t i = j;
        for (; i > 0 && s[i - 1] < z[j]; i--) s[i] = s[i - 1];
        s[i] = z[j];
    }
    for (size_t k = 1; k <= D; k++) {
        cum += s[k - 1];
        if (1.0 + (double)k * s[k - 1] > cum) tau = (cum - 1.0) / (double)k;
    }
    return tau;
}

/* the distance of the nearest of the n x (5 -> 4) pre-activations x W^T of
 * the Dense layer "h" (its bias still the initial zeros) to a kink of a */
static float kink_margin(lf_model *m, lf_activation a, const float *x, size_t n) {
    float k[3], W[20], best = INFINITY;
    size_t nk = act_kinks(a, k);
    CHECK(lf_get_weights(m, "h", 0, W, 20) == LF_OK, "kernel of h");
    for (size_t r = 0; r < n; r++) {
        float z[4];
        for (size_t u = 0; u < 4; u++) {
            z[u] = 0;
            for (size_t i = 0; i < 5; i++) z[u] += x[r * 5 + i] * W[u * 5 + i];
            for (size_t j = 0; j < nk; j++) best = fminf(best, fabsf(z[u] - k[j]));
        }
        if (a == LF_ACT_SPARSEMAX) {
            double tau = sparsemax_tau_sorted(z, 4);
            for (size_t u = 0; u < 4; u++) best = fminf(best, (float)fabs(z[u] - tau));
        }
    }
    return best;
}

static void run_act(const char *what, lf_model *m, int out, lf_activation a, size_t n, uint64_t seed) {
    lf_status st = lf_model_compile(m, out, LF_LOSS_MSE, NULL);
    CHECK(st == LF_OK, "%s: compile: %s", what, lf_model_error(m));
    if (st != LF_OK) return;
    /* the steps move a pre-activation by up to about 2e-3 (1e-3 on a weight
     * times an input within 1, or on an input times a weight within 2): the
     * first of 50 draws of the data whose pre-activations all lie 2e-2 or
     * more from a kink */
    data d;
    float margin = 0;
    for (int k = 0; k < 50 && margin <= 2e-2f; k++) {
        if (k) free_data(&d);
        d = make_data(m, n, LF_LOSS_MSE, seed + 1000 * (uint64_t)k);
        margin = kink_margin(m, a, d.x[0], n);
    }
    CHECK(margin > 2e-2f, "%s: a pre-activation lies %g from a kink", what, (double)margin);
    fd_check(what, m, d.x, d.t, n);
    free_data(&d);
}

static void test_activations(void) {
    for (int a = LF_ACT_LINEAR; a < LF_ACT_COUNT; a++) {
        lf_model *m;
        lf_model_create(&m, 10 + a);
        int x = lf_input(m, 5, "x");
        int h = lf_dense(m, x, 4, a, 1, "h");
        int o = lf_dense(m, h, 3, LF_ACT_LINEAR, 1, "o");
        char what[64];
        snprintf(what, sizeof what, "Dense(4, %s)", lf_activation_name(a));
        if (a <= LF_ACT_SOFTMAX) { /* as before the later kinds came */
            run(what, m, o, LF_LOSS_MSE, 6, 100 + a);
        } else {
            /* kernel x 2: pre-activations over about (-3, 3), past the
             * kinks at -1, -0.5, 0.5, 1 (the kernel-level check below
             * reaches +-3 and 6) */
            scale_kernel(m, "h", 2.0f);
            run_act(what, m, o, a, 6, 100 + a);
        }
        lf_model_free(m);
        /* the same activation as a layer of its own */
        lf_model_create(&m, 20 + a);
        x = lf_input(m, 5, "x");
        h = lf_dense(m, x, 4, LF_ACT_LINEAR, 0, "h");
        int act = lf_activation_layer(m, h, a, "act");
        o = lf_dense(m, act, 2, LF_ACT_LINEAR, 1, "o");
        snprintf(what, sizeof what, "Activation(%s)", lf_activation_name(a));
        if (a <= LF_ACT_SOFTMAX) {
            run(what, m, o, LF_LOSS_MSE, 6, 200 + a);
        } else {
            scale_kernel(m, "h", 2.0f);
            run_act(what, m, o, a, 6, 200 + a);
        }
        lf_model_free(m);
    }
}

/* lf_act_backward of a on R rows of D values z (R D <= 32), dy = w,
 * against central differences of the loss sum_i w_i act(z)_i (step 1e-3,
 * summed in double) */
static void act_fd_check(lf_activation a, const float *z, const float *w, size_t R, size_t D) {
    enum { NMAX = 32 };
    size_t N = R * D;
    float y[NMAX], dz[NMAX], num[NMAX], zp[NMAX], yp[NMAX];
    const float h = 1e-3f;
    CHECK(N <= NMAX, "act_fd_check: %zu values", N);
    if (N > NMAX) return;
    lf_act_forward(a, y, z, R, D);
    lf_act_backward(a, dz, w, z, y, R, D);
    for (size_t i = 0; i < N; i++) {
        double l[2];
        for (int s = 0; s < 2; s++) {
            memcpy(zp, z, N * sizeof *zp);
            zp[i] += s ? -h : h;
            lf_act_forward(a, yp, zp, R, D);
            l[s] = 0;
            for (size_t j = 0; j < N; j++) l[s] += (double)w[j] * yp[j];
        }
        num[i] = (float)((l[0] - l[1]) / (2.0 * (double)h));
    }
    char label[96];
    snprintf(label, sizeof label, "%s: lf_act_backward against finite differences", lf_activation_name(a));
    compare_grads(label, dz, num, N);
}

/* Each activation after softmax on its own: the loss sum_i w_i act(z)_i
 * (w_i in (0.5, 1.5), signs alternating) of 6 rows of 5 values spread over
 * (-5.9, 6.8), each at least 0.05 (in fact 0.09) from a kink; lf_act_backward with dy = w
 * against central differences (step 1e-3, the loss summed in double) */
static void test_activation_kernels(void) {
    enum { R = 6, D = 5, N = R * D };
    float z[N], w[N];
    for (size_t i = 0; i < N; i++) {
        z[i] = -5.9f + 0.437f * (float)((i * 7) % N); /* every row spread out */
        w[i] = (0.5f + (float)((i * 5) % 11) / 10.0f) * (i % 2 ? -1.0f : 1.0f);
    }
    for (int a = LF_ACT_SOFTMAX + 1; a < LF_ACT_COUNT; a++) {
        float k[3];
        size_t nk = act_kinks((lf_activation)a, k);
        float margin = INFINITY;
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < nk; j++) margin = fminf(margin, fabsf(z[i] - k[j]));
        CHECK(margin >= 0.05f, "%s: an input lies %g from a kink", lf_activation_name(a), (double)margin);
        act_fd_check((lf_activation)a, z, w, R, D);
    }
}

/* sparsemax by hand (each row sums to 1, the support by the paper's test)
 * and its Jacobian product against central differences on rows whose
 * support holds 1 to 4 of the 5 values, each value at least 0.05 from its
 * row's threshold; a row holding a NaN gives NaNs (not a hang, nor the NaN
 * dropped) */
static void test_sparsemax(void) {
    float z1[3] = {0.0f, 0.5f, 1.0f}, y1[3];
    lf_act_forward(LF_ACT_SPARSEMAX, y1, z1, 1, 3); /* tau = (1.5 - 1) / 2 */
    CHECK(y1[0] == 0.0f && fabsf(y1[1] - 0.25f) < 1e-7f && fabsf(y1[2] - 0.75f) < 1e-7f,
          "sparsemax(0, .5, 1) = (%g, %g, %g), not (0, .25, .75)", y1[0], y1[1], y1[2]);
    float z2[4] = {2.0f, 2.0f, 2.0f, 2.0f}, y2[4], z3[1] = {-7.0f}, y3[1];
    lf_act_forward(LF_ACT_SPARSEMAX, y2, z2, 1, 4);
    lf_act_forward(LF_ACT_SPARSEMAX, y3, z3, 1, 1);
    CHECK(y2[0] == 0.25f && y2[3] == 0.25f && y3[0] == 1.0f, "a flat row: %g, one value: %g", y2[0], y3[0]);
    float z4[3] = {1.0f, NAN, 0.0f}, y4[3];
    lf_act_forward(LF_ACT_SPARSEMAX, y4, z4, 1, 3);
    CHECK(isnan(y4[0]) && isnan(y4[1]) && isnan(y4[2]), "a row with a NaN: (%g, %g, %g), not all NaN", y4[0],
          y4[1], y4[2]);

    enum { R = 4, D = 5, N = R * D };
    static const float z[N] = {0.9f,  -0.05f, -0.6f, 0.35f, -1.2f, /* support 2 */
                               0.2f,  0.3f, 0.1f,  -0.1f, 0.25f, /* 4 */
                               3.0f,  0.5f, -1.0f, 0.2f,  1.1f,  /* 1 */
                               -0.4f, 0.5f, 0.45f, -0.2f, 0.15f}; /* 3 */
    float w[N], y[N];
    size_t sizes[R];
    float margin = INFINITY;
    for (size_t r = 0; r < R; r++) {
        double tau = sparsemax_tau_sorted(z + r * D, D);
        sizes[r] = 0;
        for (size_t j = 0; j < D; j++) {
            margin = fminf(margin, (float)fabs(z[r * D + j] - tau));
            sizes[r] += z[r * D + j] > tau;
        }
    }
    CHECK(margin >= 0.05f && sizes[0] == 2 && sizes[1] == 4 && sizes[2] == 1 && sizes[3] == 3,
          "the rows: margin %g, supports %zu %zu %zu %zu", (double)margin, sizes[0], sizes[1], sizes[2], sizes[3]);
    for (size_t i = 0; i < N; i++) w[i] = (0.5f + (float)((i * 5) % 11) / 10.0f) * (i % 2 ? -1.0f : 1.0f);
    lf_act_forward(LF_ACT_SPARSEMAX, y, z, R, D);
    for (size_t r = 0; r < R; r++) {
        double sum = 0, tau = sparsemax_tau_sorted(z + r * D, D);
        for (size_t j = 0; j < D; j++) {
            sum += y[r * D + j];
            double want = z[r * D + j] > tau ? z[r * D + j] - tau : 0.0;
            CHECK(fabs(y[r * D + j] - want) < 1e-6, "sparsemax row %zu value %zu: %g, by hand %g", r, j,
                  (double)y[r * D + j], want);
        }
        CHECK(fabs(sum - 1.0) < 1e-6, "sparsemax row %zu sums to %.9g", r, sum);
    }
    act_fd_check(LF_ACT_SPARSEMAX, z, w, R, D);
}

static void test_losses(void) {
    struct {
        const char *what;
        lf_activation act;
        lf_loss loss;
        int act_layer;
    } cases[] = {
        {"mse", LF_ACT_LINEAR, LF_LOSS_MSE, 0},
        {"mae", LF_ACT_LINEAR, LF_LOSS_MAE, 0},
        {"binary_crossentropy (fused sigmoid)", LF_ACT_SIGMOID, LF_LOSS_BINARY_CROSSENTROPY, 0},
        {"binary_crossentropy (softmax output)", LF_ACT_SOFTMAX, LF_LOSS_BINARY_CROSSENTROPY, 0},
        {"categorical_crossentropy (fused softmax)", LF_ACT_SOFTMAX, LF_LOSS_CATEGORICAL_CROSSENTROPY, 0},
        {"categorical_crossentropy (fused, Activation layer)", LF_ACT_SOFTMAX,
         LF_LOSS_CATEGORICAL_CROSSENTROPY, 1},
        {"categorical_crossentropy (sigmoid output)", LF_ACT_SIGMOID, LF_LOSS_CATEGORICAL_CROSSENTROPY, 0},
        {"sparse_categorical_crossentropy (fused)", LF_ACT_SOFTMAX,
         LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 0},
        {"sparse_categorical_crossentropy (sigmoid output)", LF_ACT_SIGMOID,
         LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lf_model *m;
        lf_model_create(&m, 300 + c);
        int x = lf_input(m, 4, "x");
        int h = lf_dense(m, x, 5, LF_ACT_TANH, 1, "h");
        int o = cases[c].act_layer
                    ? lf_activation_layer(m, lf_dense(m, h, 3, LF_ACT_LINEAR, 1, "logits"), cases[c].act, "o")
                    : lf_dense(m, h, 3, cases[c].act, 1, "o");
        run(cases[c].what, m, o, cases[c].loss, 4, 400 + c);
        lf_model_free(m);
    }
}

/* two inputs, a shared Dense feeding two branches, then a merge */
static void test_merges(void) {
    for (int k = LF_K_ADD; k <= LF_K_DOT; k++) {
        for (int norm = 0; norm <= (k == LF_K_DOT); norm++) {
            lf_model *m;
            lf_model_create(&m, 500 + k);
            int a = lf_input(m, 3, "a"), b = lf_input(m, 4, "b");
            int shared = lf_dense(m, a, 4, LF_ACT_TANH, 1, "shared"); /* feeds two branches */
            int b1 = lf_dense(m, shared, 4, LF_ACT_ELU, 1, "b1");
            int b2 = lf_dense(m, b, 4, LF_ACT_TANH, 1, "b2");
            int xs[3] = {shared, b1, b2}, mg;
            switch (k) {
            case LF_K_ADD: mg = lf_add(m, 3, xs, "merge"); break;
            case LF_K_SUBTRACT: mg = lf_subtract(m, shared, b2, "merge"); break;
            case LF_K_MULTIPLY: mg = lf_multiply(m, 3, xs, "merge"); break;
            case LF_K_AVERAGE: mg = lf_average(m, 3, xs, "merge"); break;
            case LF_K_MAXIMUM: mg = lf_maximum(m, 3, xs, "merge"); break;
            case LF_K_MINIMUM: mg = lf_minimum(m, 3, xs, "merge"); break;
            case LF_K_CONCATENATE: mg = lf_concatenate(m, 3, xs, "merge"); break;
            default: mg = lf_dot(m, b1, b2, norm, "merge"); break;
            }
            int o = lf_dense(m, mg, 2, LF_ACT_LINEAR, 1, "o");
            char what[80];
            snprintf(what, sizeof what, "%s%s with a shared node", lf_kind_name(k),
                     norm ? "(normalize)" : "");
            run(what, m, o, LF_LOSS_MSE, 5, 600 + k);
            lf_model_free(m);
        }
    }
}

static void test_weighted(void) {
    for (int kind = 0; kind < 3; kind++) {
        for (int masked = 0; masked <= 1; masked++) {
            lf_model *m;
            lf_model_create(&m, 700 + kind * 2 + masked);
            int a = lf_input(m, 4, "a"), b = lf_input(m, 3, "b"), c = lf_input(m, 4, "c");
            int mask = masked ? lf_input(m, 3, "mask") : -1;
            int xa = lf_dense(m, a, 3, LF_ACT_TANH, 1, "xa");
            int xb = lf_dense(m, b, 3, LF_ACT_SIGMOID, 1, "xb");
            int xc = lf_dense(m, c, 3, LF_ACT_LINEAR, 1, "xc");
            int xs[3] = {xa, xb, xc}, w;
            if (kind == 0) w = lf_weighted_average(m, 3, xs, mask, "fuse");
            else if (kind == 1) w = lf_class_weighted_average(m, 3, xs, mask, "fuse");
            else {
                int cat = lf_concatenate(m, 3, xs, "cat");
                int gate = lf_dense(m, cat, 3, LF_ACT_LINEAR, 1, "gate");
                w = lf_gated_average(m, 3, xs, gate, mask, "fuse");
            }
            int o = lf_dense(m, w, 2, LF_ACT_SOFTMAX, 1, "o");
            lf_status st = lf_model_compile(m, o, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL);
            CHECK(st == LF_OK, "compile weighted: %s", lf_model_error(m));
            data d = make_data(m, 6, LF_LOSS_CATEGORICAL_CROSSENTROPY, 800 + kind);
            scale_kernel(m, "o", 4);
            scale_kernel(m, "xb", 3);
            if (masked) {
                /* rows with 3, 2, 1 and 0 inputs present */
                static const float mk[6][3] = {{1, 1, 1}, {1, 0, 1}, {0, 1, 0}, {0, 0, 0}, {1, 1, 0}, {0, 1, 1}};
                memcpy(d.x[3], mk, sizeof mk);
            }
            const char *names[3] = {"WeightedAverage", "ClassWeightedAverage", "GatedAverage"};
            char what[80];
            snprintf(what, sizeof what, "%s%s", names[kind], masked ? " with a mask" : "");
            /* the mask is not differentiable: parameters and the real inputs
             * (a missing input's finite differences are exactly 0) */
            fd_check_skip(what, m, d.x, d.t, 6, masked ? 3 : -1);
            if (masked) {
                double l0;
                float *ig[4];
                for (int i = 0; i < 4; i++) ig[i] = calloc(6 * lf_model_input_dim(m, i), sizeof(float));
                lf__loss_and_grads(m, (const float *const *)d.x, d.t, 6, 0, 0, &l0, ig);
                /* a missing input gets no gradient at all: b (3 columns) in
                 * rows 1 and 3 (in row 1 GatedAverage's gate still reads b) */
                int silent = 1;
                for (size_t j = 0; j < 3; j++)
                    silent &= (kind == 2 || ig[1][1 * 3 + j] == 0.0f) && ig[1][3 * 3 + j] == 0.0f;
                CHECK(silent, "%s: input b is missing but has a gradient", what);
                for (int i = 0; i < 4; i++) free(ig[i]);
            }
            free_data(&d);
            lf_model_free(m);
        }
    }
}

static void test_l2(void) {
    lf_model *m;
    lf_model_create(&m, 900);
    int x = lf_input(m, 4, "x");
    int h = lf_dense(m, x, 3, LF_ACT_RELU, 1, "h");
    int o = lf_dense(m, h, 3, LF_ACT_SOFTMAX, 1, "o");
    CHECK(lf_set_l2(m, o, 0.05f) == LF_OK, "set_l2");
    CHECK(lf_set_l2(m, x, 0.05f) == LF_ERR_ARG, "set_l2 on an input must fail");
    run("Dense with an L2 penalty", m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 5, 901);
    lf_model_free(m);
    /* on the weights of the weighted averages */
    for (int cls = 0; cls <= 1; cls++) {
        lf_model_create(&m, 902 + cls);
        int a = lf_input(m, 3, "a"), b = lf_input(m, 3, "b");
        int xs[2] = {lf_dense(m, a, 3, LF_ACT_TANH, 1, NULL), lf_dense(m, b, 3, LF_ACT_TANH, 1, NULL)};
        int w = cls ? lf_class_weighted_average(m, 2, xs, -1, "w") : lf_weighted_average(m, 2, xs, -1, "w");
        CHECK(lf_set_l2(m, w, 0.3f) == LF_OK, "set_l2 on a weighted average");
        run(cls ? "ClassWeightedAverage with an L2 penalty" : "WeightedAverage with an L2 penalty", m,
            lf_dense(m, w, 2, LF_ACT_LINEAR, 1, NULL), LF_LOSS_MSE, 4, 903);
        lf_model_free(m);
    }
}

/* an image input (H, W, C) -> the layer under test -> Flatten -> Dense(2) */
static lf_model *image_model(uint64_t seed, size_t H, size_t W, size_t C, int *x) {
    lf_model *m;
    lf_model_create(&m, seed);
    *x = lf_input_shape(m, 3, (size_t[]){H, W, C}, LF_DTYPE_FLOAT32, "img");
    return m;
}

static void image_run_wide(const char *what, lf_model *m, int h, uint64_t seed, float kscale, int training,
                           int wide) {
    int o = lf_dense(m, lf_flatten(m, h, NULL), 2, LF_ACT_LINEAR, 1, "o");
    lf_status st = lf_model_compile(m, o, LF_LOSS_MSE, NULL);
    CHECK(st == LF_OK, "%s: compile: %s", what, lf_model_error(m));
    if (st != LF_OK) return;
    if (kscale != 1.0f) scale_kernel(m, "o", kscale);
    data d = make_data(m, 3, LF_LOSS_MSE, seed);
    fd_check_wide(what, m, d.x, d.t, 3, -1, training, wide);
    free_data(&d);
}

static void image_run(const char *what, lf_model *m, int h, uint64_t seed, float kscale, int training) {
    image_run_wide(what, m, h, seed, kscale, training, 0);
}

static void test_conv(void) {
    struct {
        size_t H, W, C, F, kh, kw, sh, sw;
        lf_padding pad;
        lf_activation act;
        int bias;
    } cases[] = {
        {5, 6, 2, 3, 3, 2, 1, 1, LF_PADDING_VALID, LF_ACT_TANH, 1},
        {5, 7, 2, 2, 3, 3, 2, 3, LF_PADDING_SAME, LF_ACT_ELU, 1},   /* odd padding: the extra pixel after */
        {6, 6, 3, 2, 2, 2, 2, 2, LF_PADDING_SAME, LF_ACT_LINEAR, 0}, /* no padding needed */
        {4, 5, 1, 2, 4, 1, 3, 2, LF_PADDING_VALID, LF_ACT_SIGMOID, 1},
        {3, 4, 2, 3, 1, 1, 1, 1, LF_PADDING_SAME, LF_ACT_SOFTMAX, 1}, /* softmax over the filters */
        /* Winograd F(4x4, 3x3) (3x3, stride 1, >= 16 channels and filters): odd sizes cut the last tiles */
        {5, 7, 16, 16, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_TANH, 1},
        {6, 5, 17, 16, 3, 3, 1, 1, LF_PADDING_VALID, LF_ACT_LINEAR, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int x;
        lf_model *m = image_model(1000 + k, cases[k].H, cases[k].W, cases[k].C, &x);
        int h = lf_conv2d(m, x, cases[k].F, cases[k].kh, cases[k].kw, cases[k].sh, cases[k].sw, cases[k].pad,
                          cases[k].act, cases[k].bias, "conv");
        char what[96];
        snprintf(what, sizeof what, "Conv2D case %zu (%s, %s)", k, cases[k].pad ? "same" : "valid",
                 lf_activation_name(cases[k].act));
        if (h >= 0) scale_kernel(m, "conv", 2);
        /* Winograd's float32 outputs are a few 1e-6 off the exact sum, and
         * that error moves with every input: the plain difference's noise
         * (about 1e-6 |y| / h summed over the outputs) nears the tolerance,
         * so these take the wide fourth-order difference, as
         * BatchNormalization does */
        int wino = cases[k].kh == 3 && cases[k].kw == 3 && cases[k].sh == 1 && cases[k].sw == 1 &&
                   cases[k].C >= 16 && cases[k].F >= 16;
        image_run_wide(what, m, h, 1100 + k, 3, 0, wino);
        lf_model_free(m);
    }
}

/* Conv2DTranspose (conv_transpose.c): strides 1 and 2, both paddings,
 * output_padding None and given, an activation; the input's gradient is
 * the layer's dx */
static void test_conv_transpose(void) {
    struct {
        size_t H, W, C, F, kh, kw, sh, sw;
        lf_padding pad;
        int op; /* output_padding (op_h, op_w) below, else None */
        size_t oph, opw;
        lf_activation act;
        int bias;
    } cases[] = {
        {3, 4, 2, 3, 3, 2, 1, 1, LF_PADDING_VALID, 0, 0, 0, LF_ACT_TANH, 1},
        {3, 3, 2, 2, 3, 3, 2, 2, LF_PADDING_SAME, 0, 0, 0, LF_ACT_LINEAR, 1},  /* Ho = 2 H */
        {3, 2, 1, 2, 4, 2, 2, 2, LF_PADDING_SAME, 0, 0, 0, LF_ACT_ELU, 0},     /* even kernel: P = 1 */
        {2, 3, 2, 2, 3, 2, 2, 3, LF_PADDING_VALID, 1, 1, 2, LF_ACT_SIGMOID, 1}, /* output_padding */
        {3, 2, 2, 3, 3, 4, 2, 2, LF_PADDING_SAME, 1, 1, 0, LF_ACT_LINEAR, 1},   /* same + output_padding */
        {2, 2, 2, 2, 1, 2, 3, 3, LF_PADDING_VALID, 0, 0, 0, LF_ACT_LINEAR, 1},  /* stride > kernel: gaps */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int x;
        lf_model *m = image_model(1400 + k, cases[k].H, cases[k].W, cases[k].C, &x);
        size_t op[2] = {cases[k].oph, cases[k].opw};
        int h = lf_conv2d_transpose(m, x, cases[k].F, cases[k].kh, cases[k].kw, cases[k].sh, cases[k].sw,
                                    cases[k].pad, cases[k].op ? op : NULL, cases[k].act, cases[k].bias, "tconv");
        CHECK(h >= 0, "Conv2DTranspose case %zu: %s", k, lf_model_error(m));
        char what[96];
        snprintf(what, sizeof what, "Conv2DTranspose case %zu (%s, %s)", k, cases[k].pad ? "same" : "valid",
                 lf_activation_name(cases[k].act));
        if (h >= 0) scale_kernel(m, "tconv", 2);
        image_run(what, m, h, 1500 + k, 3, 0);
        lf_model_free(m);
    }
}

/* UpSampling2D (nearest, bilinear), ZeroPadding2D, Cropping2D after a
 * Conv2D, so that their dx reaches a weight as well as the input */
static void test_decoder_layers(void) {
    for (int kind = 0; kind < 5; kind++) {
        int x;
        lf_model *m = image_model(1600 + kind, 4, 5, 2, &x);
        int c = lf_conv2d(m, x, 2, 2, 2, 1, 1, LF_PADDING_SAME, LF_ACT_TANH, 1, "conv");
        int h;
        const char *what;
        switch (kind) {
        case 0: h = lf_upsampling2d(m, c, 2, 3, LF_INTERP_NEAREST, NULL), what = "UpSampling2D nearest"; break;
        case 1: h = lf_upsampling2d(m, c, 2, 2, LF_INTERP_BILINEAR, NULL), what = "UpSampling2D bilinear (2, 2)"; break;
        case 2: h = lf_upsampling2d(m, c, 3, 1, LF_INTERP_BILINEAR, NULL), what = "UpSampling2D bilinear (3, 1)"; break;
        case 3: h = lf_zero_padding2d(m, c, 1, 2, 0, 3, NULL), what = "ZeroPadding2D"; break;
        default: h = lf_cropping2d(m, c, 1, 0, 2, 1, NULL), what = "Cropping2D"; break;
        }
        CHECK(h >= 0, "%s: %s", what, lf_model_error(m));
        image_run(what, m, h, 1700 + kind, 3, 0);
        lf_model_free(m);
    }
}

/* Resizing (bilinear and nearest, up and down, non-integer ratios,
 * crop_to_aspect_ratio, pad_to_aspect_ratio) and CenterCrop (a crop, a resize of a smaller
 * input) on the input: the input's gradient through each */
static void test_resizing_layers(void) {
    static const struct {
        size_t H, W, th, tw;
        int kind; /* 0 Resizing bilinear, 1 nearest, 2 bilinear crop_to_aspect_ratio, 3 CenterCrop,
                     4 bilinear pad_to_aspect_ratio, 5 nearest pad_to_aspect_ratio (fill_value 0.7) */
        const char *what;
    } cases[] = {
        {4, 5, 7, 8, 0, "Resizing bilinear 4x5 -> 7x8"},  {5, 7, 3, 4, 0, "Resizing bilinear 5x7 -> 3x4"},
        {4, 5, 6, 9, 1, "Resizing nearest 4x5 -> 6x9"},   {5, 7, 2, 3, 1, "Resizing nearest 5x7 -> 2x3"},
        {5, 7, 3, 3, 2, "Resizing crop_to_aspect_ratio 5x7 -> 3x3"},
        {5, 7, 2, 4, 3, "CenterCrop 5x7 -> 2x4"},         {3, 4, 5, 5, 3, "CenterCrop 3x4 -> 5x5"},
        {3, 6, 4, 4, 4, "Resizing pad_to_aspect_ratio 3x6 -> 4x4 (rows padded)"},
        {6, 3, 2, 2, 5, "Resizing pad_to_aspect_ratio nearest 6x3 -> 2x2 (columns padded)"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int x;
        lf_model *m = image_model(1800 + k, cases[k].H, cases[k].W, 2, &x);
        lf_interpolation ip = cases[k].kind == 1 || cases[k].kind == 5 ? LF_INTERP_NEAREST : LF_INTERP_BILINEAR;
        int h = cases[k].kind == 3   ? lf_center_crop(m, x, cases[k].th, cases[k].tw, NULL)
                : cases[k].kind >= 4 ? lf_resizing_pad(m, x, cases[k].th, cases[k].tw, ip, 0.7f, NULL)
                                     : lf_resizing(m, x, cases[k].th, cases[k].tw, ip, cases[k].kind == 2, NULL);
        CHECK(h >= 0, "%s: %s", cases[k].what, lf_model_error(m));
        image_run(cases[k].what, m, h, 1900 + k, 3, 0);
        lf_model_free(m);
    }
}

static void test_pool(void) {
    for (int kind = 0; kind < 6; kind++) {
        int x;
        lf_model *m = image_model(1200 + kind, 5, 7, 2, &x);
        int h;
        const char *what;
        switch (kind) {
        case 0: h = lf_max_pooling2d(m, x, 2, 2, 0, 0, LF_PADDING_VALID, NULL), what = "MaxPooling2D valid"; break;
        case 1: h = lf_max_pooling2d(m, x, 3, 2, 2, 3, LF_PADDING_SAME, NULL), what = "MaxPooling2D same"; break;
        case 2: h = lf_average_pooling2d(m, x, 2, 3, 1, 2, LF_PADDING_VALID, NULL), what = "AveragePooling2D valid"; break;
        case 3: h = lf_average_pooling2d(m, x, 3, 3, 2, 2, LF_PADDING_SAME, NULL), what = "AveragePooling2D same"; break;
        case 4: h = lf_global_max_pooling2d(m, x, NULL), what = "GlobalMaxPooling2D"; break;
        default: h = lf_global_average_pooling2d(m, x, NULL), what = "GlobalAveragePooling2D"; break;
        }
        image_run(what, m, h, 1300 + kind, kind >= 4 ? 6 : 3, 0);
        lf_model_free(m);
    }
}

static void test_norm_augment(void) {
    for (int training = 0; training <= 1; training++) {
        int x;
        lf_model *m = image_model(1400 + training, 3, 2, 3, &x);
        /* a conv first, so that the input's gradient goes through both */
        /* (no conv bias: BatchNormalization takes the mean out, so its
         * gradient is 0 and its finite differences only rounding noise) */
        int c = lf_conv2d(m, x, 2, 2, 2, 1, 1, LF_PADDING_SAME, LF_ACT_LINEAR, 0, "conv");
        int h = lf_batch_normalization(m, c, 0.99f, 1e-3f, "bn");
        /* gamma, beta and the moving statistics away from 1, 0, 0, 1 */
        float g[2] = {1.5f, -0.7f}, b[2] = {0.3f, -0.2f}, mm[2] = {0.1f, -0.3f}, mv[2] = {0.5f, 2.0f};
        lf_set_weights(m, "bn", 0, g, 2), lf_set_weights(m, "bn", 1, b, 2);
        lf_set_weights(m, "bn", 2, mm, 2), lf_set_weights(m, "bn", 3, mv, 2);
        image_run_wide(training ? "BatchNormalization (training)" : "BatchNormalization (inference)", m, h,
                       1500 + training, 3, training, 1);
        lf_model_free(m);
    }
    /* center = 0 (no beta) and / or scale = 0 (no gamma): the weights that
     * are left, in Keras' order, and the input's gradient */
    for (int cs = 0; cs < 6; cs++) {
        int training = cs & 1, center = cs >= 4, scale = cs >= 2 && cs < 4;
        int x;
        lf_model *m = image_model(1480 + cs, 3, 2, 3, &x);
        int c = lf_conv2d(m, x, 2, 2, 2, 1, 1, LF_PADDING_SAME, LF_ACT_LINEAR, 0, "conv");
        int h = lf_batch_normalization_opt(m, c, 0.99f, 1e-3f, center, scale, "bn");
        float g[2] = {1.5f, -0.7f}, b[2] = {0.3f, -0.2f}, mm[2] = {0.1f, -0.3f}, mv[2] = {0.5f, 2.0f};
        size_t k = 0;
        if (scale) lf_set_weights(m, "bn", k++, g, 2);
        if (center) lf_set_weights(m, "bn", k++, b, 2);
        lf_set_weights(m, "bn", k++, mm, 2), lf_set_weights(m, "bn", k, mv, 2);
        char what[96];
        snprintf(what, sizeof what, "BatchNormalization(center=%d, scale=%d) (%s)", center, scale,
                 training ? "training" : "inference");
        image_run_wide(what, m, h, 1490 + cs, 3, training, 1);
        lf_model_free(m);
    }
    /* Activation(softmax) on an image: over the channels of each pixel */
    {
        int x;
        lf_model *m = image_model(1450, 3, 2, 4, &x);
        int c = lf_conv2d(m, x, 3, 2, 2, 1, 1, LF_PADDING_SAME, LF_ACT_LINEAR, 1, "conv");
        int h = lf_activation_layer(m, c, LF_ACT_SOFTMAX, "act");
        if (c >= 0) scale_kernel(m, "conv", 3);
        image_run("Activation(softmax) over channels", m, h, 1460, 6, 0);
        lf_model_free(m);
    }
    /* augmentation in a training pass (each pass draws the same), then a
     * conv so that the gradient is not just a permutation */
    for (int kind = 0; kind < 12; kind++) {
        int x;
        lf_model *m = image_model(1600 + kind, 4, 5, 2, &x);
        int h;
        const char *what;
        lf_translation_options tr = lf_translation_defaults(0.5f, 0.5f);
        if (kind == 5 || kind == 9)
            tr.height_lower = -1.0f, tr.width_upper = 0.9f, tr.fill_mode = LF_FILL_CONSTANT, tr.fill_value = 0.3f;
        if (kind == 9) tr.height_lower = -0.9f; /* a zoom's range is in (-1, 1] */
        switch (kind) {
        case 4: h = lf_random_translation_opt(m, x, &tr, NULL), what = "RandomTranslation (reflect, bilinear)"; break;
        case 5: h = lf_random_translation_opt(m, x, &tr, NULL), what = "RandomTranslation (constant 0.3, bilinear)"; break;
        case 0: h = lf_rescaling(m, x, 1.5f, -0.25f, NULL), what = "Rescaling"; break;
        case 1: h = lf_random_flip(m, x, LF_FLIP_HORIZONTAL_AND_VERTICAL, NULL), what = "RandomFlip"; break;
        case 2: h = lf_random_translation(m, x, 0.5f, 0.5f, NULL), what = "RandomTranslation"; break;
        /* inputs in [-1, 1]: some values clipped */
        case 6: h = lf_random_contrast(m, x, 0.5f, 0.5f, -0.7f, 0.8f, NULL), what = "RandomContrast (clipped)"; break;
        case 7: h = lf_random_brightness(m, x, -0.3f, 0.3f, -0.6f, 0.7f, NULL), what = "RandomBrightness (clipped)"; break;
        case 8: h = lf_random_zoom(m, x, &tr, 0, NULL), what = "RandomZoom (reflect, bilinear)"; break;
        case 9:
            h = lf_random_zoom(m, x, &tr, 1, NULL), what = "RandomZoom (constant 0.3, bilinear, keep_aspect)";
            break;
        case 10:
            h = lf_random_rotation(m, x, -0.5f, 0.5f, LF_FILL_REFLECT, LF_INTERP_BILINEAR, 0.0f, NULL);
            what = "RandomRotation (reflect, bilinear)";
            break;
        case 11:
            h = lf_random_rotation(m, x, -0.2f, 0.3f, LF_FILL_CONSTANT, LF_INTERP_BILINEAR, 0.3f, NULL);
            what = "RandomRotation (constant 0.3, bilinear)";
            break;
        default: h = lf_random_flip(m, x, LF_FLIP_HORIZONTAL, NULL), what = "RandomFlip (horizontal)"; break;
        }
        h = lf_conv2d(m, h, 2, 2, 2, 1, 1, LF_PADDING_VALID, LF_ACT_TANH, 1, "conv");
        if (h >= 0) scale_kernel(m, "conv", 2);
        image_run(what, m, h, 1700 + kind, 3, 1);
        lf_model_free(m);
    }
    /* Normalization (fixed mean and variance: the gradient flows to the
     * input only), its axes kept in several ways, and inverted */
    for (int kind = 0; kind < 4; kind++) {
        int x;
        lf_model *m = image_model(1650 + kind, 3, 4, 2, &x);
        static const int last[] = {-1}, hc[] = {1, 3};
        static const float mean[] = {0.5f, -1.0f, 2.0f, 0.25f, -0.5f, 1.5f}, var[] = {4.0f, 0.25f, 1.0f, 9.0f, 0.5f, 2.0f};
        const char *what;
        int h;
        switch (kind) {
        case 0: h = lf_normalization(m, x, last, 1, mean, var, 0, "norm"), what = "Normalization(axis=-1)"; break;
        case 1: h = lf_normalization(m, x, hc, 2, mean, var, 0, "norm"), what = "Normalization(axis=(1, 3))"; break;
        case 2: h = lf_normalization(m, x, NULL, 0, mean, var, 0, "norm"), what = "Normalization(axis=None)"; break;
        default: h = lf_normalization(m, x, last, 1, mean, var, 1, "norm"), what = "Normalization(invert=True)"; break;
        }
        h = lf_conv2d(m, h, 2, 2, 2, 1, 1, LF_PADDING_VALID, LF_ACT_TANH, 1, "conv");
        if (h >= 0) scale_kernel(m, "conv", kind == 3 ? 0.5f : 2);
        image_run(what, m, h, 1750 + kind, 3, 1);
        lf_model_free(m);
    }
}

/* The B7 network's blocks: Conv2D (Winograd) -> BatchNormalization ->
 * relu -> MaxPooling2D, twice, -> GlobalAveragePooling2D -> Dense, each
 * node its input's one reader, so backward writes every gradient whole
 * (lf_layer_ctx.dx_fresh) instead of adding to zeros, and each relu is
 * folded into its BatchNormalization (lf_layer_ctx.fused_relu).  Not a
 * finite-difference check (through two relu and max pooling blocks float32
 * differences cross kinks; each layer has its own check above): the
 * gradients must equal, value for value, those of the adding path (every
 * buffer zeroed first, the relu a pass of its own), and keep their bits after a pass on other rows
 * (the buffers recycled, holding its values) and with the input's gradient
 * array full of NaN.  Likewise with overlapping pooling windows (the adding
 * path of MaxPooling2D's backward, where it applies the folded relu's
 * gradient: lf_layer_ctx.relu_masked). */
static lf_model *block_model(int overlap) {
    lf_model *m;
    int x;
    m = image_model(1800 + (uint64_t)overlap, 6, 8, 16, &x);
    int h = x;
    for (int b = 0; b < 2; b++) {
        h = lf_conv2d(m, h, 16, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_LINEAR, 0, NULL);
        h = lf_batch_normalization(m, h, 0.99f, 1e-3f, NULL);
        h = lf_activation_layer(m, h, LF_ACT_RELU, NULL);
        /* overlap: 3 x 3 windows at stride 2, whose gradients add up */
        h = overlap ? lf_max_pooling2d(m, h, 3, 3, 2, 2, LF_PADDING_SAME, NULL)
                    : lf_max_pooling2d(m, h, 2, 2, 0, 0, LF_PADDING_VALID, NULL);
    }
    h = lf_global_average_pooling2d(m, h, NULL);
    int o = lf_dense(m, h, 3, LF_ACT_SOFTMAX, 1, "o");
    lf_status st = lf_model_compile(m, o, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL);
    CHECK(st == LF_OK, "block model: compile: %s", lf_model_error(m));
    if (st != LF_OK) return lf_model_free(m), NULL;
    return m;
}

/* value for value (-0 equals 0: adding to a zero makes +0 of -0) */
static size_t count_unequal(const float *a, const float *b, size_t n) {
    size_t bad = 0;
    for (size_t j = 0; j < n; j++) bad += !(a[j] == b[j]);
    return bad;
}

static void test_whole_writes_of(int overlap) {
    lf_model *m = block_model(overlap);
    if (!m) return;
    const char *ov = overlap ? " (overlapping pools)" : "";
    size_t n = 2, D = lf_model_input_dim(m, 0), np = m->n_params;
    data d = make_data(m, n, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1810);
    data e = make_data(m, n, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1820);
    size_t fresh = 0;
    for (size_t i = 0; i < m->n_nodes; i++) fresh += m->nodes[i].sole_user >= 0;
    CHECK(fresh == 10, "blocks%s: %zu nodes have one reader, want 10", ov, fresh);
    float *g[3], *ig[3], *ige = calloc(n * D, sizeof *ige);
    double l[3], le;
    lf_rng rng0 = m->rng;
    for (int k = 0; k < 3; k++) {
        g[k] = malloc(np * sizeof *g[k]);
        ig[k] = malloc(n * D * sizeof *ig[k]);
        for (size_t j = 0; j < n * D; j++) ig[k][j] = k == 1 ? NAN : 0.0f;
        if (k == 1) lf__loss_and_grads(m, (const float *const *)e.x, e.t, n, 1, 0, &le, &ige);
        if (k == 2) /* the adding path */
            for (size_t i = 0; i < m->n_nodes; i++) m->nodes[i].sole_user = -1;
        m->rng = rng0; /* the same draws */
        lf__loss_and_grads(m, (const float *const *)d.x, d.t, n, 1, 0, &l[k], &ig[k]);
        memcpy(g[k], m->grads, np * sizeof *g[k]);
    }
    CHECK(l[0] == l[1] && l[0] == l[2] && le != l[0], "blocks%s: losses %.17g, %.17g, %.17g (other rows %.17g)",
          ov, l[0], l[1], l[2], le);
    for (int k = 1; k < 3; k++) {
        const char *what = k == 1 ? "after a pass on other rows" : "on the adding path";
        size_t bp = count_unequal(g[0], g[k], np), bi = count_unequal(ig[0], ig[k], n * D);
        CHECK(bp == 0, "blocks%s: %zu of %zu parameter gradients differ %s", ov, bp, np, what);
        CHECK(bi == 0, "blocks%s: %zu of %zu input gradients differ %s", ov, bi, n * D, what);
    }
    for (int k = 0; k < 3; k++) free(g[k]), free(ig[k]);
    free(ige);
    free_data(&d), free_data(&e);
    lf_model_free(m);
}

static void test_whole_writes(void) {
    test_whole_writes_of(0);
    test_whole_writes_of(1);
}

/* MaxPooling2D's 2 x 2 path for windows that tile the image (pool.c's
 * pool_max2) against the general one: the same windows of a 4 x 6 image
 * (tiled) and of a 5 x 7 one (its last row and column in no window, so the
 * general path) give the same bits, forward and through the chosen pixels
 * backward, with ties, -inf, NaN and -FLT_MAX in the windows. */
static void test_max2(void) {
    const size_t n = 2, C = 3, Hs[2] = {4, 5}, Ws[2] = {6, 7}, D = 2 * 3 * C;
    float *y[2], *ig[2], t[2 * 2 * 3 * 3];
    for (size_t j = 0; j < n * D; j++) t[j] = (float)(j % 5) * 0.25f;
    for (int k = 0; k < 2; k++) {
        size_t H = Hs[k], W = Ws[k];
        int in;
        lf_model *m = image_model(1900, H, W, C, &in);
        int p = lf_max_pooling2d(m, in, 2, 2, 0, 0, LF_PADDING_VALID, NULL);
        CHECK(lf_model_compile(m, p, LF_LOSS_MSE, NULL) == LF_OK, "max2: compile: %s", lf_model_error(m));
        float *x = malloc(n * H * W * C * sizeof *x);
        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < H; i++)
                for (size_t j = 0; j < W; j++)
                    for (size_t c = 0; c < C; c++) {
                        /* small integers: many ties; the specials in chosen windows */
                        float v = (float)((r * 7 + i * 5 + j * 3 + c * 11 + i * j) % 3);
                        if (c == 1 && i < 2 && j >= 2 && j < 4) v = -INFINITY;
                        if (c == 2 && i >= 2 && j < 2) v = NAN;
                        if (c == 2 && i == 0 && j == 4) v = NAN; /* then finite */
                        if (c == 0 && i >= 2 && j >= 4 && j < 6) v = -FLT_MAX;
                        x[((r * H + i) * W + j) * C + c] = v;
                    }
        y[k] = malloc(n * D * sizeof *y[k]);
        CHECK(lf_model_predict(m, (const float *const *)&x, n, y[k]) == LF_OK, "max2: predict");
        ig[k] = calloc(n * H * W * C, sizeof *ig[k]);
        double l;
        lf__loss_and_grads(m, (const float *const *)&x, t, n, 0, 0, &l, &ig[k]);
        free(x);
        lf_model_free(m);
    }
    CHECK(memcmp(y[0], y[1], n * D * sizeof *y[0]) == 0, "max2: the tiled path's outputs differ from the general one's");
    size_t bad = 0, extra = 0;
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < Hs[1]; i++)
            for (size_t j = 0; j < Ws[1]; j++)
                for (size_t c = 0; c < C; c++) {
                    float g1 = ig[1][((r * Hs[1] + i) * Ws[1] + j) * C + c];
                    if (i >= Hs[0] || j >= Ws[0]) {
                        extra += g1 != 0.0f;
                        continue;
                    }
                    float g0 = ig[0][((r * Hs[0] + i) * Ws[0] + j) * C + c];
                    bad += memcmp(&g0, &g1, sizeof g0) != 0;
                }
    CHECK(bad == 0 && extra == 0, "max2: %zu input gradients differ, %zu outside the windows are not 0", bad, extra);
    for (int k = 0; k < 2; k++) free(y[k]), free(ig[k]);
}

/* ---- sequence layers */

/* sets weight `idx` of a layer to uniform values in [lo, hi) */
static void fill_weight(lf_model *m, const char *layer, size_t idx, float lo, float hi, uint64_t seed) {
    size_t cnt;
    CHECK(lf_layer_weight_shape(m, layer, idx, NULL, &cnt) == LF_OK, "no weight %zu in %s", idx, layer);
    float *w = malloc(cnt * sizeof *w);
    fill_uniform(w, cnt, lo, hi, seed);
    CHECK(lf_set_weights(m, layer, idx, w, cnt) == LF_OK, "set %s", layer);
    free(w);
}

/* token ids (n x T) in [0, V): row r has r % (T + 1) trailing zeros
 * (padding) and no zero before them, so every mask pattern from none to a
 * fully masked row comes up */
static void fill_ids(float *ids, size_t n, size_t T, size_t V, uint64_t seed) {
    fill_uniform(ids, n * T, 1, (float)V, seed);
    for (size_t r = 0; r < n; r++)
        for (size_t t = 0; t < T; t++) ids[r * T + t] = t + r % (T + 1) >= T ? 0.0f : floorf(ids[r * T + t]);
}

static void seq_run(const char *what, lf_model *m, int h, uint64_t seed, int skip) {
    int o = lf_dense(m, h, 2, LF_ACT_LINEAR, 1, "o");
    lf_status st = lf_model_compile(m, o, LF_LOSS_MSE, NULL);
    CHECK(st == LF_OK, "%s: compile: %s", what, lf_model_error(m));
    if (st != LF_OK) return;
    scale_kernel(m, "o", 3);
    enum { N = 5 };
    data d = make_data(m, N, LF_LOSS_MSE, seed);
    for (size_t i = 0; i < lf_model_num_inputs(m); i++)
        if (m->nodes[m->inputs[i]].dtype == LF_DTYPE_INT32)
            fill_ids(d.x[i], N, lf_model_input_dim(m, i), 9, seed + 7);
    fd_check_mode(what, m, d.x, d.t, N, skip, 0);
    free_data(&d);
}

/* The elementwise merges under Keras 3's mask rule (merge.c; base_merge.py,
 * multiply.py): Embeddings masked by two id inputs of different padding,
 * an unmasked Dense over x; each op on a masked and an unmasked input (no
 * mask; Multiply, Maximum, Minimum substitute at the masked steps), on two
 * masks (the OR), on three inputs (Maximum / Minimum's fold through an
 * unmasked one), then Dense(tanh) and a pooling over the output's mask */
static void test_merge_masks(void) {
    typedef int (*merge_fn)(lf_model *, size_t, const int *, const char *);
    static const struct {
        const char *name;
        merge_fn f;
    } ops[] = {{"Add", lf_add}, {"Subtract", NULL}, {"Multiply", lf_multiply},
               {"Average", lf_average}, {"Maximum", lf_maximum}, {"Minimum", lf_minimum}};
    enum { N = 5, T = 4, D = 3 };
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        for (int cs = 0; cs < 4; cs++) {
            if (!ops[k].f && cs == 2) continue; /* Subtract takes 2 */
            lf_model *m;
            lf_model_create(&m, 3600 + 10 * k + cs);
            /* only the inputs the case reads (compile refuses the others):
             * ids, then ids2, then x */
            int two = cs != 0, flt = cs == 0 || cs == 2;
            int ids = lf_input_shape(m, 1, (size_t[]){T}, LF_DTYPE_INT32, "ids");
            int ids2 = two ? lf_input_shape(m, 1, (size_t[]){T}, LF_DTYPE_INT32, "ids2") : -1;
            int x = flt ? lf_input_shape(m, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x") : -1;
            int e1 = lf_embedding(m, ids, 9, D, 1, "e1"), e2 = two ? lf_embedding(m, ids2, 9, D, 1, "e2") : -1;
            int hx = flt ? lf_dense(m, x, D, LF_ACT_LINEAR, 1, "hx") : -1;
            int in[4][3] = {{e1, hx}, {e1, e2}, {e1, hx, e2}, {e2, e1}};
            size_t n = cs == 2 ? 3 : 2;
            int s = ops[k].f ? ops[k].f(m, n, in[cs], "merge") : lf_subtract(m, in[cs][0], in[cs][1], "merge");
            int want = cs == 1 || cs == 3 ? s : -1;
            CHECK(s >= 0 && m->nodes[s].seq_mask == want, "%s case %d: the output's mask %d, want %d (%s)",
                  ops[k].name, cs, s >= 0 ? m->nodes[s].seq_mask : -9, want, lf_model_error(m));
            int h = lf_dense(m, s, 3, LF_ACT_TANH, 1, "dense");
            int p = lf_global_average_pooling1d(m, h, "pool");
            int o = lf_dense(m, p, 2, LF_ACT_LINEAR, 1, "o");
            char what[96];
            snprintf(what, sizeof what, "%s (Keras 3's masks), case %d", ops[k].name, cs);
            lf_status st = lf_model_compile(m, o, LF_LOSS_MSE, NULL);
            CHECK(st == LF_OK, "%s: compile: %s", what, lf_model_error(m));
            if (st != LF_OK) {
                lf_model_free(m);
                continue;
            }
            fill_weight(m, "e1", 0, -1.5f, 1.5f, 3700 + k);
            if (two) fill_weight(m, "e2", 0, -1.5f, 1.5f, 3710 + k);
            if (flt) scale_kernel(m, "hx", 2);
            scale_kernel(m, "o", 3);
            data d = make_data(m, N, LF_LOSS_MSE, 3720 + 10 * k + cs);
            fill_ids(d.x[0], N, T, 9, 3730 + k);
            /* ids2: padding elsewhere (a step padded in both, one in neither) */
            for (size_t r = 0; two && r < N; r++)
                for (size_t t = 0; t < T; t++) d.x[1][r * T + t] = (t + r) % 3 == 0 ? 0.0f : (float)(1 + (r * T + t) % 8);
            fd_check(what, m, d.x, d.t, N);
            free_data(&d);
            lf_model_free(m);
        }
}

/* Keras' broadcasting in the elementwise merges: (T, D) with (1, D), (D)
 * and (T, 1), three inputs of three shapes, (H, W, C) with (1, 1, C); the
 * gradient of a broadcast input is summed over its broadcast axes; and a
 * masked (T, D) with an unmasked (D) under Keras' rule (Multiply and
 * Maximum substitute at the masked steps) */
static void test_merge_broadcast(void) {
    typedef int (*merge_fn)(lf_model *, size_t, const int *, const char *);
    static const merge_fn ops[] = {lf_add, NULL, lf_multiply, lf_average, lf_maximum, lf_minimum};
    static const char *const names[] = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"};
    for (size_t k = 0; k < 6; k++)
        for (int cs = 0; cs < 5; cs++) {
            if (!ops[k] && cs == 2) continue;
            lf_model *m;
            lf_model_create(&m, 3800 + 10 * k + cs);
            int a, b, c = -1, ids = -1;
            if (cs == 3) {
                a = lf_input_shape(m, 3, (size_t[]){2, 3, 2}, LF_DTYPE_FLOAT32, "a");
                b = lf_input_shape(m, 3, (size_t[]){1, 1, 2}, LF_DTYPE_FLOAT32, "b");
            } else if (cs == 4) {
                ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
                a = lf_embedding(m, ids, 9, 3, 1, "e");
                b = lf_input(m, 3, "b");
            } else {
                a = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "a");
                b = cs == 0 ? lf_input_shape(m, 2, (size_t[]){1, 3}, LF_DTYPE_FLOAT32, "b") : lf_input(m, 3, "b");
                if (cs == 2) c = lf_input_shape(m, 2, (size_t[]){4, 1}, LF_DTYPE_FLOAT32, "c");
            }
            int xs[3] = {b, a, c};
            int s = ops[k] ? ops[k](m, c >= 0 ? 3 : 2, xs, "merge") : lf_subtract(m, b, a, "merge");
            CHECK(s >= 0, "%s case %d: %s", names[k], cs, lf_model_error(m));
            int h = lf_dense(m, s, 2, LF_ACT_TANH, 1, "dense");
            h = cs == 3 ? lf_flatten(m, h, NULL) : lf_global_average_pooling1d(m, h, "pool");
            int o = lf_dense(m, h, 2, LF_ACT_LINEAR, 1, "o");
            char what[96];
            snprintf(what, sizeof what, "%s broadcast, case %d", names[k], cs);
            lf_status st = lf_model_compile(m, o, LF_LOSS_MSE, NULL);
            CHECK(st == LF_OK, "%s: compile: %s", what, lf_model_error(m));
            if (st != LF_OK) {
                lf_model_free(m);
                continue;
            }
            scale_kernel(m, "o", 3);
            scale_kernel(m, "dense", 2);
            if (cs == 4) fill_weight(m, "e", 0, -1.5f, 1.5f, 3900 + k);
            data d = make_data(m, 5, LF_LOSS_MSE, 3910 + 10 * k + cs);
            /* no two inputs' values within 0.004 (the step is 1e-3): on a
             * grid of 1/32, each input shifted by its own 0.004 multiple */
            for (size_t i = 0; i < lf_model_num_inputs(m); i++)
                for (size_t j = 0; j < 5 * lf_model_input_dim(m, i); j++)
                    d.x[i][j] = roundf(d.x[i][j] * 32) / 32 + 0.004f * (float)(i + 1);
            if (cs == 4) fill_ids(d.x[0], 5, 4, 9, 3920 + k);
            fd_check(what, m, d.x, d.t, 5);
            free_data(&d);
            lf_model_free(m);
        }
}

static void test_conv1d(void) {
    struct {
        size_t T, C, F, k, s;
        lf_padding pad;
        lf_activation act;
        int bias;
    } cases[] = {
        {7, 2, 3, 3, 1, LF_PADDING_VALID, LF_ACT_TANH, 1},
        {7, 3, 2, 4, 2, LF_PADDING_SAME, LF_ACT_ELU, 1},    /* odd padding: the extra step after */
        {8, 2, 2, 2, 3, LF_PADDING_SAME, LF_ACT_LINEAR, 0},
        {6, 1, 3, 2, 2, LF_PADDING_VALID, LF_ACT_SIGMOID, 1},
        {5, 2, 3, 1, 1, LF_PADDING_SAME, LF_ACT_SOFTMAX, 1}, /* softmax over the filters */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lf_model *m;
        lf_model_create(&m, 2000 + k);
        int x = lf_input_shape(m, 2, (size_t[]){cases[k].T, cases[k].C}, LF_DTYPE_FLOAT32, "x");
        int h = lf_conv1d(m, x, cases[k].F, cases[k].k, cases[k].s, cases[k].pad, cases[k].act, cases[k].bias,
                          "conv");
        if (h >= 0) scale_kernel(m, "conv", 2);
        if (h >= 0 && cases[k].bias) fill_weight(m, "conv", 1, -0.5f, 0.5f, 2050 + k);
        char what[96];
        snprintf(what, sizeof what, "Conv1D case %zu (%s, stride %zu, %s)", k, cases[k].pad ? "same" : "valid",
                 cases[k].s, lf_activation_name(cases[k].act));
        seq_run(what, m, lf_flatten(m, h, NULL), 2100 + k, -1);
        lf_model_free(m);
    }
}

/* MaxPooling1D / AveragePooling1D, valid and same (odd padding: the extra
 * step after), strides below, at and above the pool size; on the input
 * itself (the adding path of backward) or behind a Conv1D whose one
 * reader they are (the path that writes dx whole, when the windows tile
 * the sequence) */
static void test_pool1d(void) {
    struct {
        size_t T, D, k, s;
        lf_padding pad;
        int max, conv;
    } cases[] = {
        {7, 3, 2, 0, LF_PADDING_VALID, 1, 0}, /* strides 0: the pool size */
        {7, 3, 3, 2, LF_PADDING_SAME, 1, 0},
        {8, 2, 3, 1, LF_PADDING_SAME, 1, 1},
        {8, 2, 2, 2, LF_PADDING_VALID, 1, 1}, /* the windows tile the steps */
        {7, 3, 2, 0, LF_PADDING_VALID, 0, 0},
        {7, 3, 3, 2, LF_PADDING_SAME, 0, 0},
        {6, 2, 4, 3, LF_PADDING_SAME, 0, 1},
        {9, 2, 3, 3, LF_PADDING_VALID, 0, 1},
        {5, 2, 2, 4, LF_PADDING_SAME, 1, 0}, /* strides above the pool: steps left out */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lf_model *m;
        lf_model_create(&m, 2600 + k);
        int h = lf_input_shape(m, 2, (size_t[]){cases[k].T, cases[k].D}, LF_DTYPE_FLOAT32, "x");
        if (cases[k].conv) h = lf_conv1d(m, h, cases[k].D, 2, 1, LF_PADDING_SAME, LF_ACT_TANH, 1, "conv");
        if (cases[k].conv && h >= 0) scale_kernel(m, "conv", 2);
        h = cases[k].max ? lf_max_pooling1d(m, h, cases[k].k, cases[k].s, cases[k].pad, "pool")
                         : lf_average_pooling1d(m, h, cases[k].k, cases[k].s, cases[k].pad, "pool");
        char what[128];
        snprintf(what, sizeof what, "%s case %zu (pool %zu, strides %zu, %s%s)",
                 cases[k].max ? "MaxPooling1D" : "AveragePooling1D", k, cases[k].k, cases[k].s,
                 cases[k].pad ? "same" : "valid", cases[k].conv ? ", behind a Conv1D" : "");
        seq_run(what, m, lf_flatten(m, h, NULL), 2700 + k, -1);
        lf_model_free(m);
    }
}

static void test_layernorm(void) {
    struct {
        size_t rank, shape[3];
        int center, scale;
    } cases[] = {
        {2, {4, 5}, 1, 1}, {1, {6}, 1, 1}, {3, {2, 3, 4}, 1, 1}, {2, {3, 4}, 0, 1}, {2, {3, 4}, 1, 0}, {2, {3, 4}, 0, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lf_model *m;
        lf_model_create(&m, 2200 + k);
        int x = lf_input_shape(m, cases[k].rank, cases[k].shape, LF_DTYPE_FLOAT32, "x");
        /* a Dense first, so that the input's gradient goes through both */
        int h = lf_dense(m, x, 4, LF_ACT_LINEAR, 1, "pre");
        h = lf_layer_normalization(m, h, 1e-3f, cases[k].center, cases[k].scale, "ln");
        size_t nw = lf_layer_num_weights(m, "ln");
        CHECK(nw == (size_t)(cases[k].center + cases[k].scale), "LayerNormalization case %zu: %zu weights", k, nw);
        for (size_t w = 0; w < nw; w++) fill_weight(m, "ln", w, -1.5f, 1.5f, 2250 + k + 10 * w);
        char what[96];
        snprintf(what, sizeof what, "LayerNormalization case %zu (rank %zu, center %d, scale %d)", k,
                 cases[k].rank, cases[k].center, cases[k].scale);
        seq_run(what, m, cases[k].rank > 1 ? lf_flatten(m, h, NULL) : h, 2300 + k, -1);
        lf_model_free(m);
    }
}

/* GroupNormalization (groups over a vector, a sequence, an image, with and
 * without center / scale; groups 1 and C) and UnitNormalization behind a
 * Dense, so that the input's gradient goes through both */
static void test_group_unit_norm(void) {
    struct {
        size_t rank, shape[3], units;
        int groups, center, scale; /* groups 0: UnitNormalization */
    } cases[] = {
        {1, {6}, 6, 3, 1, 1},     {2, {4, 5}, 4, 2, 1, 1},  {3, {2, 3, 4}, 6, 3, 1, 1}, {2, {3, 4}, 4, 1, 0, 1},
        {2, {3, 4}, 4, 4, 1, 0},  {3, {2, 2, 3}, 4, 2, 0, 0}, {2, {4, 5}, 4, 0, 0, 0}, {1, {6}, 5, 0, 0, 0},
        {3, {2, 3, 4}, 3, 0, 0, 0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lf_model *m;
        lf_model_create(&m, 2270 + k);
        int x = lf_input_shape(m, cases[k].rank, cases[k].shape, LF_DTYPE_FLOAT32, "x");
        int h = lf_dense(m, x, cases[k].units, LF_ACT_LINEAR, 1, "pre");
        h = cases[k].groups ? lf_group_normalization(m, h, cases[k].groups, 1e-3f, cases[k].center, cases[k].scale, "gn")
                            : lf_unit_normalization(m, h, "gn");
        size_t nw = lf_layer_num_weights(m, "gn");
        CHECK(nw == (size_t)(cases[k].center + cases[k].scale), "GroupNormalization case %zu: %zu weights", k, nw);
        for (size_t w = 0; w < nw; w++) fill_weight(m, "gn", w, -1.5f, 1.5f, 2280 + k + 10 * w);
        char what[112];
        if (cases[k].groups)
            snprintf(what, sizeof what, "GroupNormalization case %zu (rank %zu, groups %d, center %d, scale %d)", k,
                     cases[k].rank, cases[k].groups, cases[k].center, cases[k].scale);
        else snprintf(what, sizeof what, "UnitNormalization case %zu (rank %zu)", k, cases[k].rank);
        seq_run(what, m, cases[k].rank > 1 ? lf_flatten(m, h, NULL) : h, 2290 + k, -1);
        lf_model_free(m);
    }
}

/* Add of a masked Embedding and unmasked inputs under the rule of earlier
 * model files (lf_set_merge_mask_rule): the sum keeps the Embedding's mask,
 * a masked sequence whose values take gradients */
static void keep_mask(lf_model *m, int s) {
    CHECK(lf_set_merge_mask_rule(m, s, LF_MASK_RULE_KEEP) == LF_OK, "keep_mask: %s", lf_model_error(m));
}

/* Embedding, PositionEmbedding, Dense on (T, D) and the 1-D poolings, with
 * and without the padding mask */
static void test_sequence(void) {
    for (int mask_zero = 0; mask_zero <= 1; mask_zero++)
        for (int max = 0; max <= 1; max++) {
            lf_model *m;
            lf_model_create(&m, 2400 + 2 * mask_zero + max);
            int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
            int x = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "x");
            int e = lf_embedding(m, ids, 9, 3, mask_zero, "emb");
            int pe = lf_position_embedding(m, e, 6, "pos");
            int s = lf_add(m, 3, (int[]){e, pe, x}, "sum");
            keep_mask(m, s); /* the mask on x's values too (Keras 3 would drop it: x has none) */
            int ln = lf_layer_normalization(m, s, 1e-3f, 1, 1, "ln");
            int d = lf_dense(m, ln, 3, LF_ACT_TANH, 1, "dense");
            int p = max ? lf_global_max_pooling1d(m, d, "pool") : lf_global_average_pooling1d(m, d, "pool");
            CHECK(m->nodes[d].seq_mask == (mask_zero ? e : -1), "the mask reaches the pooling");
            fill_weight(m, "emb", 0, -1, 1, 2450);
            fill_weight(m, "pos", 0, -1, 1, 2451);
            fill_weight(m, "ln", 0, 0.5f, 1.5f, 2452);
            fill_weight(m, "ln", 1, -0.5f, 0.5f, 2453);
            scale_kernel(m, "dense", 2);
            char what[96];
            snprintf(what, sizeof what, "Embedding(mask_zero=%d) + PositionEmbedding + %s", mask_zero,
                     max ? "GlobalMaxPooling1D" : "GlobalAveragePooling1D");
            seq_run(what, m, p, 2500 + 2 * mask_zero + max, 0);
            lf_model_free(m);
        }
}

/* seq_run for the recurrent layers: ids with trailing padding (fill_ids)
 * and, in row 0, a padded step between real ones */
static void rnn_run_mode(const char *what, lf_model *m, int h, uint64_t seed, int training);
static void rnn_run(const char *what, lf_model *m, int h, uint64_t seed) { rnn_run_mode(what, m, h, seed, 0); }

/* training 1: a training pass, whose dropout masks every pass redraws the
 * same (fd_check's generator state) */
static void rnn_run_scaled(const char *what, lf_model *m, int h, uint64_t seed, int training, float scale);
static void rnn_run_mode(const char *what, lf_model *m, int h, uint64_t seed, int training) {
    rnn_run_scaled(what, m, h, seed, training, 3);
}

/* the head's kernel scaled by `scale`; above 3, the fourth-order
 * difference (fd_check_wide), whose float32 noise stays below the
 * tolerance at that scale */
static void rnn_run_scaled(const char *what, lf_model *m, int h, uint64_t seed, int training, float scale) {
    int o = lf_dense(m, h, 2, LF_ACT_LINEAR, 1, "o");
    lf_status st = lf_model_compile(m, o, LF_LOSS_MSE, NULL);
    CHECK(st == LF_OK, "%s: compile: %s", what, lf_model_error(m));
    if (st != LF_OK) return;
    scale_kernel(m, "o", scale);
    enum { N = 5, T = 4 };
    data d = make_data(m, N, LF_LOSS_MSE, seed);
    fill_ids(d.x[0], N, T, 9, seed + 7);
    d.x[0][1] = 0.0f;
    fd_check_wide(what, m, d.x, d.t, N, 0, training, scale > 3);
    free_data(&d);
}

/* LSTM, GRU and SimpleRNN (tanh; sigmoid without bias): with and without
 * a padding mask (trailing padding, a padded step inside a row, a fully
 * padded row), return_sequences both
 * ways (the sequence pooled over its mask, or flattened: the repeated
 * outputs of masked steps), go_backwards both ways, with and without bias */
static void test_rnn(void) {
    for (int kind = 0; kind <= 2; kind++)
        for (int k = 0; k < 16; k++) {
            int gru = kind == 1;
            int mask_zero = k & 1, seqs = (k >> 1) & 1, back = (k >> 2) & 1, bias = !((k >> 3) & 1);
            lf_model *m;
            lf_model_create(&m, 2800 + 16 * kind + k);
            int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
            int x = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "x");
            int e = lf_embedding(m, ids, 9, 3, mask_zero, "emb");
            int s = lf_add(m, 2, (int[]){e, x}, "sum");
            keep_mask(m, s); /* the mask on x's values too (Keras 3 would drop it: x has none) */
            lf_activation act = bias ? LF_ACT_TANH : LF_ACT_SIGMOID;
            int r = kind == 2 ? lf_simple_rnn(m, s, 3, act, bias, seqs, back, "rnn")
                    : gru     ? lf_gru(m, s, 3, bias, seqs, back, "rnn")
                              : lf_lstm(m, s, 3, bias, 1, seqs, back, "rnn");
            CHECK(r >= 0, "rnn: %s", lf_model_error(m));
            CHECK(m->nodes[r].seq_mask == (mask_zero && seqs ? e : -1), "the mask passes with return_sequences only");
            int h = r;
            if (seqs) h = back ? lf_flatten(m, r, NULL) : lf_global_average_pooling1d(m, r, NULL);
            fill_weight(m, "emb", 0, -1, 1, 2850);
            fill_weight(m, "rnn", 0, -1, 1, 2851 + k);
            fill_weight(m, "rnn", 1, -1, 1, 2852 + k);
            if (bias) fill_weight(m, "rnn", 2, -0.5f, 0.5f, 2853 + k);
            char what[128];
            snprintf(what, sizeof what, "%s(mask %d, return_sequences %d, go_backwards %d, use_bias %d)",
                     kind == 2 ? "SimpleRNN" : gru ? "GRU" : "LSTM", mask_zero, seqs, back, bias);
            rnn_run(what, m, h, 2900 + 16 * kind + k);
            lf_model_free(m);
        }
}

/* Bidirectional over LSTM, GRU and SimpleRNN, every merge mode, with and
 * without a padding mask (masked steps' outputs are zeros with
 * return_sequences, flattened so that each step's output counts) and
 * return_sequences; every weight of both copies, an L2 penalty on the
 * kernels in some */
static void test_bidirectional(void) {
    for (int cell = 0; cell <= 2; cell++)
        for (int mode = LF_BIDI_CONCAT; mode <= LF_BIDI_AVE; mode++)
            for (int k = 0; k < 4; k++) {
                int mask_zero = k & 1, seqs = (k >> 1) & 1, bias = !(cell == 2 && mode == LF_BIDI_MUL);
                lf_model *m;
                lf_model_create(&m, 3000 + 16 * cell + 4 * mode + k);
                int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
                int x = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "x");
                int e = lf_embedding(m, ids, 9, 3, mask_zero, "emb");
                int s = lf_add(m, 2, (int[]){e, x}, "sum");
                keep_mask(m, s); /* the mask on x's values too (Keras 3 would drop it: x has none) */
                int r = lf_bidirectional(m, s, (lf_rnn_cell)cell, 3, LF_ACT_TANH, bias, 1, seqs,
                                         (lf_bidi_merge)mode, "bi");
                CHECK(r >= 0, "bidirectional: %s", lf_model_error(m));
                if (r < 0) {
                    lf_model_free(m);
                    continue;
                }
                CHECK(m->nodes[r].seq_mask == (mask_zero && seqs ? e : -1), "the mask passes with return_sequences");
                CHECK(m->nodes[r].shape[m->nodes[r].rank - 1] == (mode == LF_BIDI_CONCAT ? 6u : 3u), "width");
                if (k == 3) CHECK(lf_set_l2(m, r, 0.05f) == LF_OK, "l2: %s", lf_model_error(m));
                int h = seqs ? lf_flatten(m, r, NULL) : r;
                fill_weight(m, "emb", 0, -1, 1, 3050);
                for (int w = 0; w < (bias ? 6 : 4); w++)
                    fill_weight(m, "bi", w, w % 3 == 2 ? -0.5f : -1.0f, w % 3 == 2 ? 0.5f : 1.0f, 3051 + 7 * k + w);
                char what[160];
                snprintf(what, sizeof what, "Bidirectional(%s, merge_mode %d, mask %d, return_sequences %d, bias %d)",
                         cell == 2 ? "SimpleRNN" : cell == 1 ? "GRU" : "LSTM", mode, mask_zero, seqs, bias);
                rnn_run(what, m, h, 3100 + 16 * cell + 4 * mode + k);
                lf_model_free(m);
            }
}

/* Keras' return_state and initial_state (lf_set_rnn_state, lf_output_view):
 * an encoder (LSTM, GRU or SimpleRNN over the masked sum, return_state,
 * return_sequences and go_backwards both ways) whose output and final
 * states all reach the loss, its states the initial states of a decoder
 * over a second sequence; in some cases the decoder's initial states are
 * model inputs instead (their gradients checked as inputs).  Gradients
 * arrive at every output of the encoder node: through its views, and
 * through the decoder's initial states.  Bidirectional (merge_mode None,
 * return_state) likewise, its four or two states the initial states of a
 * second Bidirectional */
static void test_rnn_state(void) {
    for (int bidi = 0; bidi <= 1; bidi++)
        for (int cell = 0; cell <= 2; cell++)
            for (int k = 0; k < 8; k++) {
                int mask_zero = k & 1, seqs = (k >> 1) & 1, back = !bidi && ((k >> 2) & 1);
                int from_inputs = bidi && ((k >> 2) & 1);
                size_t n_st = (cell == 0 ? 2 : 1) * (bidi ? 2 : 1);
                lf_model *m;
                lf_model_create(&m, 5000 + 64 * bidi + 8 * cell + k);
                int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
                int x = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "x");
                int x2 = lf_input_shape(m, 2, (size_t[]){2, 2}, LF_DTYPE_FLOAT32, "x2");
                int s0[4] = {-1, -1, -1, -1};
                for (size_t i = 0; from_inputs && i < n_st; i++) {
                    char nm[24];
                    snprintf(nm, sizeof nm, "s%zu", i);
                    s0[i] = lf_input(m, 3, nm);
                }
                int e = lf_embedding(m, ids, 9, 3, mask_zero, "emb");
                int s = lf_add(m, 2, (int[]){e, x}, "sum");
                keep_mask(m, s); /* the mask on x's values too (Keras 3 would drop it: x has none) */
                int enc = bidi ? lf_bidirectional(m, s, (lf_rnn_cell)cell, 3, LF_ACT_TANH, 1, 1, seqs, LF_BIDI_NONE, "enc")
                          : cell == 2 ? lf_simple_rnn(m, s, 3, LF_ACT_TANH, 1, seqs, back, "enc")
                          : cell == 1 ? lf_gru(m, s, 3, 1, seqs, back, "enc")
                                      : lf_lstm(m, s, 3, 1, 1, seqs, back, "enc");
                CHECK(lf_set_rnn_state(m, enc, 1, NULL, 0) == LF_OK, "%s", lf_model_error(m));
                size_t n_y = bidi ? 2 : 1, n_out = n_y + n_st;
                CHECK(lf_node_num_outputs(m, enc) == n_out, "outputs: %zu", lf_node_num_outputs(m, enc));
                int v[8], parts[12], np = 0;
                for (size_t i = 0; i < n_out; i++) v[i] = lf_output_view(m, enc, i, NULL);
                for (size_t i = 0; i < n_y; i++) parts[np++] = seqs ? lf_flatten(m, v[i], NULL) : v[i];
                for (size_t i = 0; i < n_st; i++) {
                    parts[np++] = v[n_y + i];
                    if (!from_inputs) s0[i] = v[n_y + i];
                }
                /* with the padding mask, the decoder reads the masked sequence: a masked step, and a
                 * fully padded row, keep its initial states */
                int di = mask_zero ? s : x2;
                if (mask_zero) parts[np++] = lf_flatten(m, x2, NULL); /* x2 reaches the loss another way */
                int dec = bidi ? lf_bidirectional(m, di, (lf_rnn_cell)cell, 3, LF_ACT_TANH, 1, 1, 0, LF_BIDI_CONCAT, "dec")
                          : cell == 2 ? lf_simple_rnn(m, di, 3, LF_ACT_TANH, 1, 0, 0, "dec")
                          : cell == 1 ? lf_gru(m, di, 3, 1, 0, 0, "dec")
                                      : lf_lstm(m, di, 3, 1, 1, 0, 0, "dec");
                CHECK(lf_set_rnn_state(m, dec, 0, s0, n_st) == LF_OK, "%s", lf_model_error(m));
                parts[np++] = dec;
                int h = lf_concatenate(m, (size_t)np, parts, "cat");
                for (int w = 0; w < (bidi ? 6 : 3); w++) {
                    fill_weight(m, "enc", (size_t)w, w % 3 == 2 ? -0.5f : -1.0f, w % 3 == 2 ? 0.5f : 1.0f,
                                5100 + 7 * (uint64_t)k + (uint64_t)w);
                    fill_weight(m, "dec", (size_t)w, w % 3 == 2 ? -0.5f : -1.0f, w % 3 == 2 ? 0.5f : 1.0f,
                                5200 + 7 * (uint64_t)k + (uint64_t)w);
                }
                fill_weight(m, "emb", 0, -1, 1, 5150);
                char what[120];
                snprintf(what, sizeof what, "%s%s(return_state, mask %d, return_sequences %d, go_backwards %d; "
                         "initial states: %s)", bidi ? "Bidirectional " : "",
                         cell == 2 ? "SimpleRNN" : cell == 1 ? "GRU" : "LSTM", mask_zero, seqs, back,
                         from_inputs ? "inputs" : "encoder");
                /* the head scaled up: the initial c's gradient through two forget gates stands above
                 * the tolerance */
                rnn_run_scaled(what, m, h, 5300 + 64 * bidi + 8 * cell + k, 0, 6);
                lf_model_free(m);
            }
}

/* dropout and recurrent_dropout (lf_set_rnn_dropout) in a training pass,
 * the masks fixed: LSTM, GRU and SimpleRNN with dropout only (one mask of
 * x_t for every gate block), recurrent_dropout only and both (a mask per
 * gate block), with a padding mask, return_sequences and go_backwards
 * both ways; Bidirectional with both rates.  The loss differs from the
 * inference pass's, so that the masks are seen to drop */
static void test_rnn_dropout(void) {
    const float rates[3][2] = {{0.4f, 0.0f}, {0.0f, 0.4f}, {0.4f, 0.3f}};
    for (int cell = 0; cell <= 2; cell++)
        for (int k = 0; k < 4; k++) {
            int bidi = k == 3, rc = bidi ? 2 : k, seqs = k & 1, back = k == 2;
            lf_model *m;
            lf_model_create(&m, 3200 + 4 * cell + k);
            int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
            int x = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "x");
            int e = lf_embedding(m, ids, 9, 3, 1, "emb");
            int s = lf_add(m, 2, (int[]){e, x}, "sum");
            keep_mask(m, s); /* the mask on x's values too (Keras 3 would drop it: x has none) */
            int r = bidi        ? lf_bidirectional(m, s, (lf_rnn_cell)cell, 3, LF_ACT_TANH, 1, 1, seqs, LF_BIDI_CONCAT,
                                                   "rnn")
                    : cell == 2 ? lf_simple_rnn(m, s, 3, LF_ACT_TANH, 1, seqs, back, "rnn")
                    : cell == 1 ? lf_gru(m, s, 3, 1, seqs, back, "rnn")
                                : lf_lstm(m, s, 3, 1, 1, seqs, back, "rnn");
            CHECK(lf_set_rnn_dropout(m, r, rates[rc][0], rates[rc][1]) == LF_OK, "%s", lf_model_error(m));
            int h = seqs ? lf_flatten(m, r, NULL) : r;
            fill_weight(m, "emb", 0, -1, 1, 3250);
            for (int w = 0; w < (bidi ? 6 : 3); w++)
                fill_weight(m, "rnn", (size_t)w, w % 3 == 2 ? -0.5f : -1.0f, w % 3 == 2 ? 0.5f : 1.0f,
                            3251 + 7 * (uint64_t)k + (uint64_t)w);
            char what[160];
            snprintf(what, sizeof what, "%s%s(dropout %g, recurrent_dropout %g, return_sequences %d, go_backwards %d)",
                     bidi ? "Bidirectional " : "", cell == 2 ? "SimpleRNN" : cell == 1 ? "GRU" : "LSTM",
                     (double)rates[rc][0], (double)rates[rc][1], seqs, back);
            rnn_run_mode(what, m, h, 3300 + 4 * cell + k, 1);
            /* the training pass drops: its loss is not the inference one's */
            enum { N = 5 };
            data d = make_data(m, N, LF_LOSS_MSE, 3400 + k);
            fill_ids(d.x[0], N, 4, 9, 3410 + k);
            lf_rng rng0 = m->rng;
            double l0 = loss_at(m, (const float *const *)d.x, d.t, N, 0, &rng0);
            double l1 = loss_at(m, (const float *const *)d.x, d.t, N, 1, &rng0);
            CHECK(l0 != l1, "%s: the training pass dropped nothing", what);
            free_data(&d);
            lf_model_free(m);
        }
}

/* Bidirectional stacked on Bidirectional after Normalization (which passes
 * Embedding's mask on), the second shared by two nodes (lf_share_weights),
 * L2 penalties on both; the fourth-order difference (fd_check_wide): with
 * the shared layer's outputs added, the plain one's float32 noise passes
 * the tolerance.  RandomContrast on 1 x 1 images (the mean is the pixel:
 * the identity) and one channel, RandomBrightness in value_range (0, 1). */
static void test_bidirectional_stacked(void) {
    for (int k = 0; k < 3; k++) {
        lf_model *m;
        lf_model_create(&m, 4000 + k);
        int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
        int x = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "x");
        int e = lf_embedding(m, ids, 9, 3, 1, "emb");
        int s = lf_add(m, 2, (int[]){e, x}, "sum");
        keep_mask(m, s); /* the mask on x's values too (Keras 3 would drop it: x has none) */
        static const int last[] = {-1};
        static const float mean[] = {0.5f, -0.2f, 0.1f}, var[] = {2.0f, 0.5f, 1.5f};
        int nrm = lf_normalization(m, s, last, 1, mean, var, 0, "norm");
        CHECK(nrm >= 0 && m->nodes[nrm].seq_mask == e, "Normalization passes the mask");
        lf_rnn_cell c2 = (lf_rnn_cell)((k + 1) % 3);
        lf_bidi_merge mm = k == 0 ? LF_BIDI_MUL : LF_BIDI_SUM;
        int seqs = k != 1;
        int r1 = lf_bidirectional(m, nrm, (lf_rnn_cell)k, 2, LF_ACT_TANH, 1, 1, 1, LF_BIDI_CONCAT, "bi1");
        int r2 = lf_bidirectional(m, r1, c2, 2, LF_ACT_TANH, 1, 1, seqs, mm, "bi2");
        int r3 = lf_bidirectional(m, r1, c2, 2, LF_ACT_TANH, 1, 1, seqs, mm, "bi3");
        CHECK(lf_share_weights(m, r3, r2) == LF_OK, "share: %s", lf_model_error(m));
        CHECK(lf_set_l2(m, r1, 0.03f) == LF_OK && lf_set_l2(m, r3, 0.07f) == LF_OK, "l2: %s", lf_model_error(m));
        int a = lf_add(m, 2, (int[]){r2, r3}, "add");
        int o = lf_dense(m, seqs ? lf_flatten(m, a, NULL) : a, 2, LF_ACT_LINEAR, 1, "o");
        lf_status st = lf_model_compile(m, o, LF_LOSS_MSE, NULL);
        CHECK(st == LF_OK, "stacked Bidirectional: compile: %s", lf_model_error(m));
        if (st == LF_OK) {
            fill_weight(m, "emb", 0, -1, 1, 4050);
            for (int w = 0; w < 6; w++) fill_weight(m, "bi1", w, -1, 1, 4051 + w);
            for (int w = 0; w < 6; w++) fill_weight(m, "bi2", w, -1, 1, 4061 + w);
            scale_kernel(m, "o", 3);
            data d = make_data(m, 5, LF_LOSS_MSE, 4100 + k);
            fill_ids(d.x[0], 5, 4, 9, 4107 + k);
            d.x[0][1] = 0.0f;
            char what[96];
            snprintf(what, sizeof what, "Bidirectional stacked, shared, after Normalization (%d)", k);
            fd_check_wide(what, m, d.x, d.t, 5, 0, 0, 1);
            free_data(&d);
        }
        lf_model_free(m);
    }
    for (int kind = 0; kind < 6; kind++) {
        int x;
        size_t H = kind < 2 ? 1 : 3, W = kind < 2 ? 1 : 2, C = kind % 2 ? 1 : 3;
        lf_model *m = image_model(4200 + kind, H, W, C, &x);
        int h = kind < 4 ? lf_random_contrast(m, x, 0.9f, 0.9f, kind < 2 ? -0.7f : -0.3f, 0.8f, NULL)
                         : lf_random_brightness(m, x, -0.5f, 0.5f, 0.0f, 1.0f, NULL);
        h = lf_dense(m, lf_flatten(m, h, NULL), 3, LF_ACT_TANH, 1, "d1");
        char what[96];
        snprintf(what, sizeof what, "%s on %zu x %zu x %zu images", kind < 4 ? "RandomContrast" : "RandomBrightness",
                 H, W, C);
        image_run(what, m, h, 4300 + kind, 3, 1);
        lf_model_free(m);
    }
}

/* Embedding's L2 penalty (Keras' embeddings_regularizer=l2(x)) on the
 * whole table: the rows no id reads (here the ids stop at 8 of 12) take
 * the penalty's gradient only */
static void test_embedding_l2(void) {
    lf_model *m;
    lf_model_create(&m, 2560);
    int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
    int e = lf_embedding(m, ids, 12, 3, 1, "emb");
    CHECK(lf_set_l2(m, e, 0.3f) == LF_OK, "set_l2 on an Embedding: %s", lf_model_error(m));
    fill_weight(m, "emb", 0, -1, 1, 2561);
    seq_run("Embedding with an L2 penalty", m, lf_global_average_pooling1d(m, e, "pool"), 2562, 0);
    lf_model_free(m);
}

/* Keras' bias_regularizer=l2(x) (lf_set_bias_l2) beside a kernel penalty:
 * Dense, Conv2D and Conv1D, biases away from 0 so that the penalty's
 * gradient 2 x b counts; and a kind without a bias penalty refuses it */
static void test_bias_l2(void) {
    lf_model *m;
    lf_model_create(&m, 2570);
    int x = lf_input(m, 4, "x");
    int h = lf_dense(m, x, 3, LF_ACT_TANH, 1, "h");
    CHECK(lf_set_bias_l2(m, h, 0.4f) == LF_OK && lf_set_l2(m, h, 0.1f) == LF_OK, "set: %s", lf_model_error(m));
    CHECK(lf_set_bias_l2(m, x, 0.4f) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "lf_set_bias_l2: node 0 is not a Dense, Conv2D, Conv1D, "
                                        "MultiHeadAttention, LSTM, GRU, SimpleRNN, Bidirectional, Conv2DTranspose, "
                                        "DepthwiseConv2D, SeparableConv2D, DepthwiseConv1D, SeparableConv1D, "
                                        "Conv1DTranspose, Conv3D, Conv3DTranspose, ConvLSTM2D, ConvLSTM1D or "
                                        "ConvLSTM3D layer") == 0,
          "on an input: %s", lf_model_error(m));
    fill_weight(m, "h", 1, -1, 1, 2571);
    run("Dense with an L2 penalty on its bias", m, lf_dense(m, h, 2, LF_ACT_LINEAR, 1, "o"), LF_LOSS_MSE, 5, 2572);
    lf_model_free(m);
    int img;
    m = image_model(2573, 4, 5, 2, &img);
    h = lf_conv2d(m, img, 3, 2, 2, 1, 1, LF_PADDING_SAME, LF_ACT_TANH, 1, "conv");
    CHECK(lf_set_bias_l2(m, h, 0.5f) == LF_OK, "set on a Conv2D: %s", lf_model_error(m));
    scale_kernel(m, "conv", 2);
    fill_weight(m, "conv", 1, -1, 1, 2574);
    image_run("Conv2D with an L2 penalty on its bias", m, h, 2575, 3, 0);
    lf_model_free(m);
    lf_model_create(&m, 2576);
    int s = lf_input_shape(m, 2, (size_t[]){6, 2}, LF_DTYPE_FLOAT32, "x");
    h = lf_conv1d(m, s, 3, 2, 1, LF_PADDING_VALID, LF_ACT_TANH, 1, "conv");
    CHECK(lf_set_bias_l2(m, h, 0.5f) == LF_OK, "set on a Conv1D: %s", lf_model_error(m));
    scale_kernel(m, "conv", 2);
    fill_weight(m, "conv", 1, -1, 1, 2577);
    seq_run("Conv1D with an L2 penalty on its bias", m, lf_flatten(m, h, NULL), 2578, -1);
    lf_model_free(m);
    /* MultiHeadAttention's four biases, an LSTM's and a Bidirectional GRU's */
    lf_model_create(&m, 2579);
    s = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "x");
    h = lf_multi_head_attention(m, s, s, -1, 2, 2, 2, 0.0f, 1, 0, "att");
    CHECK(lf_set_bias_l2(m, h, 0.5f) == LF_OK, "set on a MultiHeadAttention: %s", lf_model_error(m));
    for (size_t k = 1; k < 8; k += 2) fill_weight(m, "att", k, -1, 1, 2580 + k);
    int r = lf_lstm(m, h, 3, 1, 1, 1, 0, "lstm");
    CHECK(lf_set_bias_l2(m, r, 0.3f) == LF_OK, "set on an LSTM: %s", lf_model_error(m));
    fill_weight(m, "lstm", 2, -1, 1, 2590);
    int b = lf_bidirectional(m, r, LF_RNN_GRU, 2, LF_ACT_TANH, 1, 0, 0, LF_BIDI_CONCAT, "bi");
    CHECK(lf_set_bias_l2(m, b, 0.4f) == LF_OK, "set on a Bidirectional: %s", lf_model_error(m));
    fill_weight(m, "bi", 2, -1, 1, 2591), fill_weight(m, "bi", 5, -1, 1, 2592);
    seq_run("MultiHeadAttention, LSTM and Bidirectional with L2 penalties on their biases", m, b, 2593, -1);
    lf_model_free(m);
}

/* Keras' L1 / L1L2 (lf_set_regularizer) on kernels, biases and recurrent
 * kernels, and activity regularizers (the output's penalty over the batch's
 * rows, Keras 3's layer.py) on hidden layers, a shared layer's two calls
 * and a softmax output under a cross-entropy (not fused: the penalty reads
 * the probabilities).  Weights are drawn away from 0, where |w| has no
 * derivative, and the seeds leave no output within a step of 0 (seed 4112
 * put an LSTM output at -1e-4: its finite difference straddled the kink). */
static void test_regularizers(void) {
    lf_model *m;
    lf_model_create(&m, 4100);
    int x = lf_input(m, 4, "x");
    int h = lf_dense(m, x, 3, LF_ACT_TANH, 1, "h");
    CHECK(lf_set_regularizer(m, h, LF_REG_KERNEL, 0.3f, 0.1f) == LF_OK &&
              lf_set_regularizer(m, h, LF_REG_BIAS, 0.2f, 0.4f) == LF_OK &&
              lf_set_regularizer(m, h, LF_REG_ACTIVITY, 0.5f, 0.25f) == LF_OK,
          "set: %s", lf_model_error(m));
    fill_weight(m, "h", 1, 0.2f, 1, 4101);
    int o = lf_dense(m, h, 3, LF_ACT_SOFTMAX, 1, "o");
    CHECK(lf_set_regularizer(m, o, LF_REG_ACTIVITY, 0.0f, 2.0f) == LF_OK, "set: %s", lf_model_error(m));
    run("Dense with L1L2 on kernel and bias, activity L1L2, a softmax output with activity L2", m, o,
        LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 5, 4102);
    lf_model_free(m);
    /* the same layer called twice (lf_share_weights): its activity penalty on each call */
    lf_model_create(&m, 4103);
    int a = lf_input(m, 3, "a"), b = lf_input(m, 3, "b");
    int d1 = lf_dense(m, a, 2, LF_ACT_LINEAR, 1, "shared");
    int d2 = lf_dense(m, b, 2, LF_ACT_LINEAR, 1, "shared_b");
    CHECK(lf_share_weights(m, d2, d1) == LF_OK && lf_set_regularizer(m, d2, LF_REG_ACTIVITY, 0.4f, 0.3f) == LF_OK, "set: %s", lf_model_error(m));
    run("a shared Dense with an activity L1L2 on both calls", m, lf_add(m, 2, (int[]){d1, d2}, NULL), LF_LOSS_MSE, 4,
        4104);
    lf_model_free(m);
    /* Embedding (L1 table, activity), Conv1D (activity), LSTM (L1L2
     * recurrent kernel, activity on its sequences), Bidirectional GRU
     * (both copies' recurrent kernels, activity) */
    lf_model_create(&m, 4105);
    int s = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
    int e = lf_embedding(m, s, 9, 3, 1, "emb");
    CHECK(lf_set_regularizer(m, e, LF_REG_KERNEL, 0.05f, 0) == LF_OK &&
              lf_set_regularizer(m, e, LF_REG_ACTIVITY, 0.2f, 0.1f) == LF_OK,
          "set: %s", lf_model_error(m));
    int r = lf_lstm(m, e, 3, 1, 1, 1, 0, "lstm");
    CHECK(lf_set_regularizer(m, r, LF_REG_RECURRENT, 0.3f, 0.2f) == LF_OK &&
              lf_set_regularizer(m, r, LF_REG_ACTIVITY, 0.3f, 0.4f) == LF_OK,
          "set: %s", lf_model_error(m));
    fill_weight(m, "emb", 0, 0.3f, 1, 4113), fill_weight(m, "lstm", 1, 0.1f, 1, 4106);
    int g = lf_bidirectional(m, r, LF_RNN_GRU, 2, LF_ACT_TANH, 1, 0, 0, LF_BIDI_CONCAT, "bi");
    CHECK(lf_set_regularizer(m, g, LF_REG_RECURRENT, 0.2f, 0.3f) == LF_OK &&
              lf_set_regularizer(m, g, LF_REG_ACTIVITY, 0.5f, 0.5f) == LF_OK,
          "set: %s", lf_model_error(m));
    fill_weight(m, "bi", 1, -1, -0.1f, 4107), fill_weight(m, "bi", 4, 0.1f, 1, 4108);
    rnn_run("Embedding, LSTM and Bidirectional GRU with L1L2 recurrent and activity regularizers", m, g, 4109);
    lf_model_free(m);
    lf_model_create(&m, 4110);
    s = lf_input_shape(m, 2, (size_t[]){5, 2}, LF_DTYPE_FLOAT32, "x");
    int c = lf_conv1d(m, s, 3, 2, 1, LF_PADDING_VALID, LF_ACT_TANH, 1, "conv");
    CHECK(lf_set_regularizer(m, c, LF_REG_ACTIVITY, 0.3f, 0.6f) == LF_OK &&
              lf_set_regularizer(m, c, LF_REG_KERNEL, 0.2f, 0) == LF_OK,
          "set: %s", lf_model_error(m));
    seq_run("Conv1D with an activity L1L2 and a kernel L1", m, lf_flatten(m, c, NULL), 4111, -1);
    lf_model_free(m);
}

/* dilation_rate on Conv2D (the im2col path, whatever the shape: a dilated
 * 3x3 of 16 channels and filters is Winograd's undilated) and Conv1D,
 * causal padding; DepthwiseConv2D and SeparableConv2D over strides,
 * paddings, dilations, depth multipliers and activations */
static void test_dilated_depthwise(void) {
    struct {
        int kind; /* 0 Conv2D, 1 DepthwiseConv2D, 2 SeparableConv2D */
        size_t H, W, C, F, kh, kw, sh, sw, M, dh, dw;
        lf_padding pad;
        lf_activation act;
        int bias;
    } cases[] = {
        {0, 6, 5, 2, 3, 3, 2, 1, 1, 1, 2, 1, LF_PADDING_VALID, LF_ACT_TANH, 1},
        {0, 5, 6, 2, 2, 2, 3, 1, 1, 1, 2, 2, LF_PADDING_SAME, LF_ACT_LINEAR, 0}, /* odd padding after */
        {0, 5, 5, 16, 16, 3, 3, 1, 1, 1, 2, 2, LF_PADDING_SAME, LF_ACT_LINEAR, 1},
        {1, 5, 6, 3, 0, 3, 3, 1, 1, 1, 1, 1, LF_PADDING_VALID, LF_ACT_TANH, 1},
        {1, 5, 6, 2, 0, 3, 2, 1, 1, 2, 1, 2, LF_PADDING_SAME, LF_ACT_LINEAR, 1},
        {1, 6, 7, 2, 0, 2, 2, 2, 3, 1, 1, 1, LF_PADDING_SAME, LF_ACT_ELU, 0},
        {1, 6, 6, 2, 0, 3, 3, 1, 1, 3, 2, 2, LF_PADDING_VALID, LF_ACT_SIGMOID, 1},
        {2, 5, 5, 2, 3, 3, 3, 1, 1, 2, 1, 1, LF_PADDING_SAME, LF_ACT_TANH, 1},
        {2, 6, 6, 3, 2, 2, 2, 1, 1, 1, 2, 2, LF_PADDING_VALID, LF_ACT_LINEAR, 0},
        {2, 6, 5, 2, 2, 3, 3, 2, 2, 3, 1, 1, LF_PADDING_SAME, LF_ACT_SOFTMAX, 1},
    };
    static const char *const kinds[] = {"Conv2D", "DepthwiseConv2D", "SeparableConv2D"};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int x, h;
        lf_model *m = image_model(3000 + k, cases[k].H, cases[k].W, cases[k].C, &x);
        if (cases[k].kind == 0)
            h = lf_conv2d_dilated(m, x, cases[k].F, cases[k].kh, cases[k].kw, cases[k].sh, cases[k].sw, cases[k].pad,
                                  cases[k].dh, cases[k].dw, cases[k].act, cases[k].bias, "conv");
        else if (cases[k].kind == 1)
            h = lf_depthwise_conv2d(m, x, cases[k].kh, cases[k].kw, cases[k].sh, cases[k].sw, cases[k].pad,
                                    cases[k].M, cases[k].dh, cases[k].dw, cases[k].act, cases[k].bias, "conv");
        else
            h = lf_separable_conv2d(m, x, cases[k].F, cases[k].kh, cases[k].kw, cases[k].sh, cases[k].sw,
                                    cases[k].pad, cases[k].M, cases[k].dh, cases[k].dw, cases[k].act, cases[k].bias,
                                    "conv");
        CHECK(h >= 0, "%s case %zu: %s", kinds[cases[k].kind], k, lf_model_error(m));
        char what[128];
        snprintf(what, sizeof what, "%s case %zu (%s, strides (%zu, %zu), dilation (%zu, %zu), M %zu, %s)",
                 kinds[cases[k].kind], k, cases[k].pad ? "same" : "valid", cases[k].sh, cases[k].sw, cases[k].dh,
                 cases[k].dw, cases[k].M, lf_activation_name(cases[k].act));
        if (h >= 0) {
            scale_kernel(m, "conv", 2);
            if (cases[k].kind == 2) fill_weight(m, "conv", 1, -1.2f, 1.2f, 3050 + k);
            if (cases[k].bias) fill_weight(m, "conv", cases[k].kind == 2 ? 2 : 1, -0.5f, 0.5f, 3060 + k);
        }
        image_run(what, m, h, 3100 + k, 3, 0);
        lf_model_free(m);
    }
    struct {
        size_t T, C, F, k, s, d;
        lf_padding pad;
        lf_activation act;
        int bias;
    } c1[] = {
        {8, 2, 3, 3, 1, 2, LF_PADDING_VALID, LF_ACT_TANH, 1},
        {7, 2, 2, 3, 1, 1, LF_PADDING_CAUSAL, LF_ACT_ELU, 1},
        {7, 3, 2, 2, 1, 3, LF_PADDING_CAUSAL, LF_ACT_LINEAR, 0},
        {7, 2, 2, 3, 2, 1, LF_PADDING_CAUSAL, LF_ACT_SIGMOID, 1}, /* strides: To = ceil(T / s) */
        {8, 2, 3, 2, 1, 3, LF_PADDING_SAME, LF_ACT_LINEAR, 1},
    };
    for (size_t k = 0; k < sizeof c1 / sizeof c1[0]; k++) {
        lf_model *m;
        lf_model_create(&m, 3200 + k);
        int x = lf_input_shape(m, 2, (size_t[]){c1[k].T, c1[k].C}, LF_DTYPE_FLOAT32, "x");
        int h = lf_conv1d_dilated(m, x, c1[k].F, c1[k].k, c1[k].s, c1[k].pad, c1[k].d, c1[k].act, c1[k].bias, "conv");
        CHECK(h >= 0, "Conv1D dilated case %zu: %s", k, lf_model_error(m));
        if (h >= 0) scale_kernel(m, "conv", 2);
        if (h >= 0 && c1[k].bias) fill_weight(m, "conv", 1, -0.5f, 0.5f, 3250 + k);
        static const char *const pads[] = {"valid", "same", "causal"};
        char what[128];
        snprintf(what, sizeof what, "Conv1D case %zu (%s, stride %zu, dilation %zu, %s)", k, pads[c1[k].pad], c1[k].s,
                 c1[k].d, lf_activation_name(c1[k].act));
        seq_run(what, m, lf_flatten(m, h, NULL), 3300 + k, -1);
        lf_model_free(m);
    }
}

/* DepthwiseConv1D, SeparableConv1D and Conv1DTranspose: every
 * parameter's and the input's gradient by finite differences, with
 * strides, dilation, both paddings, depth multipliers and output_padding */
static void test_conv1d_kinds(void) {
    struct {
        int kind; /* 0 DepthwiseConv1D, 1 SeparableConv1D, 2 Conv1DTranspose */
        size_t T, C, F, k, s, M, d, op;
        lf_padding pad;
        lf_activation act;
        int bias;
    } cases[] = {
        {0, 8, 2, 0, 3, 1, 1, 1, 0, LF_PADDING_VALID, LF_ACT_TANH, 1},
        {0, 7, 2, 0, 3, 2, 3, 1, 0, LF_PADDING_SAME, LF_ACT_LINEAR, 1}, /* odd padding after */
        {0, 8, 3, 0, 2, 1, 2, 3, 0, LF_PADDING_SAME, LF_ACT_ELU, 0},
        {0, 9, 2, 0, 3, 1, 1, 2, 0, LF_PADDING_VALID, LF_ACT_SIGMOID, 1},
        {1, 8, 2, 3, 3, 1, 2, 1, 0, LF_PADDING_SAME, LF_ACT_TANH, 1},
        {1, 9, 3, 2, 2, 2, 1, 1, 0, LF_PADDING_VALID, LF_ACT_LINEAR, 0},
        {1, 9, 2, 2, 3, 1, 2, 2, 0, LF_PADDING_SAME, LF_ACT_LINEAR, 1},
        {2, 5, 2, 3, 3, 2, 0, 1, LF_INFER, LF_PADDING_VALID, LF_ACT_TANH, 1},
        {2, 5, 3, 2, 4, 2, 0, 1, LF_INFER, LF_PADDING_SAME, LF_ACT_LINEAR, 1},
        {2, 4, 2, 2, 3, 3, 0, 1, 2, LF_PADDING_SAME, LF_ACT_LINEAR, 0},
        {2, 4, 2, 3, 2, 3, 0, 1, 1, LF_PADDING_VALID, LF_ACT_ELU, 1},
    };
    static const char *const kinds[] = {"DepthwiseConv1D", "SeparableConv1D", "Conv1DTranspose"};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lf_model *m;
        lf_model_create(&m, 3700 + k);
        int x = lf_input_shape(m, 2, (size_t[]){cases[k].T, cases[k].C}, LF_DTYPE_FLOAT32, "x"), h;
        if (cases[k].kind == 0)
            h = lf_depthwise_conv1d(m, x, cases[k].k, cases[k].s, cases[k].pad, cases[k].M, cases[k].d, cases[k].act,
                                    cases[k].bias, "conv");
        else if (cases[k].kind == 1)
            h = lf_separable_conv1d(m, x, cases[k].F, cases[k].k, cases[k].s, cases[k].pad, cases[k].M, cases[k].d,
                                    cases[k].act, cases[k].bias, "conv");
        else
            h = lf_conv1d_transpose(m, x, cases[k].F, cases[k].k, cases[k].s, cases[k].pad,
                                    cases[k].op == LF_INFER ? NULL : &cases[k].op, cases[k].act, cases[k].bias,
                                    "conv");
        CHECK(h >= 0, "%s case %zu: %s", kinds[cases[k].kind], k, lf_model_error(m));
        char what[128];
        snprintf(what, sizeof what, "%s case %zu (%s, stride %zu, dilation %zu, M %zu, %s)", kinds[cases[k].kind],
                 k, cases[k].pad ? "same" : "valid", cases[k].s, cases[k].d, cases[k].M,
                 lf_activation_name(cases[k].act));
        if (h >= 0) {
            scale_kernel(m, "conv", 2);
            if (cases[k].kind == 1) fill_weight(m, "conv", 1, -1.2f, 1.2f, 3750 + k);
            if (cases[k].bias) fill_weight(m, "conv", cases[k].kind == 1 ? 2 : 1, -0.5f, 0.5f, 3760 + k);
            seq_run(what, m, lf_flatten(m, h, NULL), 3800 + k, -1);
        }
        lf_model_free(m);
    }
}

/* Masking(mask_value) before an LSTM and a GlobalAveragePooling1D: the
 * parameters' gradients by finite differences; the input's: the finite
 * differences of the values of kept steps, and exactly 0 at masked steps
 * (moving a masked value unmasks its step: no difference there) */
static void test_masking(void) {
    enum { N = 4, T = 5, D = 3 };
    const float mv = 0.25f;
    lf_model *m;
    lf_model_create(&m, 3400);
    int x = lf_input_shape(m, 2, (size_t[]){T, D}, LF_DTYPE_FLOAT32, "x");
    int mk = lf_masking(m, x, mv, "masking");
    int l = lf_lstm(m, mk, 3, 1, 1, 0, 0, "lstm");
    int g = lf_global_average_pooling1d(m, lf_dense(m, mk, 3, LF_ACT_TANH, 1, "dense"), "gap");
    int o = lf_dense(m, lf_concatenate(m, 2, (int[]){l, g}, "cat"), 2, LF_ACT_LINEAR, 1, "o");
    CHECK(m->nodes[l].kind == LF_K_LSTM && m->nodes[mk].seq_mask == mk, "Masking owns its mask");
    CHECK(lf_model_compile(m, o, LF_LOSS_MSE, NULL) == LF_OK, "compile: %s", lf_model_error(m));
    scale_kernel(m, "o", 3);
    fill_weight(m, "lstm", 0, -1, 1, 3401);
    data d = make_data(m, N, LF_LOSS_MSE, 3402);
    /* masked steps: row 1's last two, row 2 all, row 3's step 1; row 0's
     * step 2 has two features at mv (kept) */
    int masked[N][T] = {{0}, {0, 0, 0, 1, 1}, {1, 1, 1, 1, 1}, {0, 1, 0, 0, 0}};
    for (size_t r = 0; r < N; r++)
        for (size_t t = 0; t < T; t++)
            for (size_t j = 0; j < D; j++)
                if (masked[r][t] || (r == 0 && t == 2 && j < 2)) d.x[0][(r * T + t) * D + j] = mv;
    fd_check_skip("Masking: parameters", m, d.x, d.t, N, 0);
    float *ig = calloc(N * T * D, sizeof *ig);
    double l0;
    CHECK(lf__loss_and_grads(m, (const float *const *)d.x, d.t, N, 0, 0, &l0, &ig) == LF_OK, "grads");
    size_t nz = 0, nk = 0;
    float *ana = malloc(N * T * D * sizeof *ana), *num = malloc(N * T * D * sizeof *num);
    lf_rng rng0 = m->rng;
    for (size_t r = 0; r < N; r++)
        for (size_t t = 0; t < T; t++)
            for (size_t j = 0; j < D; j++) {
                size_t at = (r * T + t) * D + j;
                if (masked[r][t]) {
                    nz += ig[at] != 0.0f;
                    continue;
                }
                ana[nk] = ig[at];
                num[nk++] = fd_at(m, d.x, d.t, N, 0, &rng0, &d.x[0][at], 1e-3f, 0);
            }
    CHECK(nz == 0, "Masking: %zu gradients of masked values are not 0", nz);
    compare_grads("Masking: gradient of the kept steps' values", ana, num, nk);
    /* the forward values: x where kept, 0 where masked */
    float *outs[16] = {0};
    outs[mk] = malloc(N * T * D * sizeof(float));
    CHECK(lf__forward_nodes(m, (const float *const *)d.x, N, outs) == LF_OK, "forward");
    size_t bad = 0;
    for (size_t r = 0; r < N; r++)
        for (size_t t = 0; t < T; t++)
            for (size_t j = 0; j < D; j++) {
                size_t at = (r * T + t) * D + j;
                bad += outs[mk][at] != (masked[r][t] ? 0.0f : d.x[0][at]);
            }
    CHECK(bad == 0, "Masking: %zu output values differ from x where kept, 0 where masked", bad);
    free(outs[mk]), free(ana), free(num), free(ig);
    free_data(&d);
    lf_model_free(m);
}

/* Concatenate along each axis of (H, W, C) maps (keras/src/layers/merging/
 * concatenate.py: shapes equal but on the axis), 1x1 convolutions before it
 * so that its gradient reaches weights; and of masked sequences, on the
 * steps (the node's own mask: the masks side by side) and on the features
 * (two owners: the OR), read by a masked GlobalAveragePooling1D */
static void test_concat_axes(void) {
    struct {
        int axis;
        size_t a[3], b[3];
    } cases[] = {
        {-1, {3, 2, 2}, {3, 2, 3}}, {3, {3, 2, 1}, {3, 2, 2}}, {1, {2, 3, 2}, {1, 3, 2}},
        {-3, {1, 2, 2}, {3, 2, 2}}, {2, {2, 1, 2}, {2, 3, 2}}, {-2, {2, 2, 2}, {2, 1, 2}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lf_model *m;
        lf_model_create(&m, 3300 + k);
        int a = lf_input_shape(m, 3, cases[k].a, LF_DTYPE_FLOAT32, "a");
        int b = lf_input_shape(m, 3, cases[k].b, LF_DTYPE_FLOAT32, "b");
        int ca = lf_conv2d(m, a, cases[k].a[2], 1, 1, 1, 1, LF_PADDING_VALID, LF_ACT_TANH, 1, "ca");
        int cb = lf_conv2d(m, b, cases[k].b[2], 1, 1, 1, 1, LF_PADDING_VALID, LF_ACT_LINEAR, 1, "cb");
        int c = lf_concatenate_axis(m, 2, (int[]){ca, cb, 0}, cases[k].axis, "cat");
        char what[96];
        snprintf(what, sizeof what, "Concatenate(axis=%d) of (H, W, C) maps", cases[k].axis);
        image_run(what, m, c, 3350 + k, 2, 0);
        lf_model_free(m);
    }
    for (int on_steps = 0; on_steps <= 1; on_steps++)
        for (int second = 0; second <= 2; second++) { /* the second input: no mask, the first's, its own */
            lf_model *m;
            lf_model_create(&m, 3400 + 3 * on_steps + second);
            int ids = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "ids");
            int e = lf_embedding(m, ids, 9, 3, 1, "emb");
            int o;
            if (second == 2) {
                int ids2 = lf_input_shape(m, 1, (size_t[]){on_steps ? 3 : 4}, LF_DTYPE_INT32, "ids2");
                o = lf_embedding(m, ids2, 9, 2 + on_steps, 1, "emb2");
            } else if (second == 1) {
                o = lf_dense(m, e, 3, LF_ACT_TANH, 1, "other");
            } else {
                int x = lf_input_shape(m, 2, (size_t[]){on_steps ? 2 : 4, 3}, LF_DTYPE_FLOAT32, "x");
                o = lf_dense(m, x, 3, LF_ACT_TANH, 1, "other");
            }
            int c = lf_concatenate_axis(m, 2, (int[]){e, o}, on_steps ? 1 : -1, "cat");
            int want = second == 0 && !on_steps ? -1 : second == 1 && !on_steps ? e : c;
            CHECK(c >= 0 && m->nodes[c].seq_mask == want, "Concatenate on the %s, second input %d: mask of node %d, "
                  "not %d", on_steps ? "steps" : "features", second, c >= 0 ? m->nodes[c].seq_mask : -2, want);
            int d = lf_dense(m, c, 3, LF_ACT_TANH, 1, "dense");
            int p = lf_global_average_pooling1d(m, d, "pool");
            fill_weight(m, "emb", 0, -1, 1, 3450);
            if (second == 2) fill_weight(m, "emb2", 0, -1, 1, 3451);
            scale_kernel(m, "dense", 2);
            char what[96];
            snprintf(what, sizeof what, "Concatenate(axis=%d) of masked sequences, second input %d",
                     on_steps ? 1 : -1, second);
            seq_run(what, m, p, 3460 + 3 * on_steps + second, 0);
            lf_model_free(m);
        }
}

/* Keras' Dot(axes) on sequences and maps (keras/src/layers/merging/dot.py
 * batch_dot): (T, D) . (S, D) on the features -> (T, S), on the steps ->
 * (D, E), a vector against a sequence, a map against a vector; with and
 * without normalize; Dense layers before it so that weights take its
 * gradient */
static void test_dot_axes(void) {
    struct {
        size_t ra, a[3], rb, b[3];
        int xa, xb;
        size_t out;
    } cases[] = {
        {2, {3, 4}, 2, {2, 4}, 2, 2, 6}, {2, {3, 4}, 2, {3, 2}, 1, -2, 8}, {1, {4}, 2, {3, 4}, 1, 2, 3},
        {3, {2, 3, 2}, 2, {2, 3}, 2, 2, 8}, /* the middle axis of a map: fibers before and after it */
        {3, {2, 2, 3}, 1, {3}, -1, 1, 4}, {2, {3, 4}, 2, {4, 2}, -1, 1, 6},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int norm = 0; norm <= 1; norm++) {
            lf_model *m;
            lf_model_create(&m, 3500 + 2 * k + norm);
            int a = lf_input_shape(m, cases[k].ra, cases[k].a, LF_DTYPE_FLOAT32, "a");
            int b = lf_input_shape(m, cases[k].rb, cases[k].b, LF_DTYPE_FLOAT32, "b");
            int da = lf_dense(m, a, cases[k].a[cases[k].ra - 1], LF_ACT_TANH, 1, "da");
            int db = lf_dense(m, b, cases[k].b[cases[k].rb - 1], LF_ACT_LINEAR, 1, "db");
            int d = lf_dot_axes(m, da, db, cases[k].xa, cases[k].xb, norm, "dot");
            CHECK(d >= 0 && m->nodes[d].dim == cases[k].out, "Dot case %zu: %zu values, not %zu: %s", k,
                  d >= 0 ? m->nodes[d].dim : 0, cases[k].out, lf_model_error(m));
            char what[96];
            snprintf(what, sizeof what, "Dot(axes=(%d, %d)%s) case %zu", cases[k].xa, cases[k].xb,
                     norm ? ", normalize" : "", k);
            if (d >= 0) image_run(what, m, d, 3550 + 2 * k + norm, 2, 0);
            lf_model_free(m);
        }
    /* one node on both sides (Keras' Dot(axes=2)([x, x]): a sequence's Gram
     * matrix; lf_dot(x, x): its squared norm): both gradients add into the
     * one buffer (the cosine of a row with itself is 1: no gradient to check) */
    for (int axes = 0; axes <= 1; axes++)
        for (int norm = 0; norm <= axes; norm++) {
            lf_model *m;
            lf_model_create(&m, 3570 + 2 * axes + norm);
            size_t sh[2] = {3, 4};
            int a = lf_input_shape(m, axes ? 2 : 1, axes ? sh : sh + 1, LF_DTYPE_FLOAT32, "a");
            int da = lf_dense(m, a, 4, LF_ACT_TANH, 1, "da");
            int d = axes ? lf_dot_axes(m, da, da, 2, 2, norm, "dot") : lf_dot(m, da, da, norm, "dot");
            char what[96];
            snprintf(what, sizeof what, "%s of one node with itself%s", axes ? "Dot(axes=(2, 2))" : "Dot",
                     norm ? ", normalize" : "");
            CHECK(d >= 0, "%s: %s", what, lf_model_error(m));
            if (d >= 0) image_run(what, m, d, 3580 + 2 * axes + norm, 2, 0);
            lf_model_free(m);
        }
}

/* Keras' reshaping layers without weights (keras/src/layers/reshaping/:
 * repeat_vector.py, permute.py, up_sampling1d.py, zero_padding1d.py,
 * cropping1d.py) after a Dense, so that their dx reaches its weights */
static void test_reshaping_layers(void) {
    struct {
        size_t rank, in[3];
        int kind; /* 0 RepeatVector, 1 Permute, 2 UpSampling1D, 3 ZeroPadding1D, 4 Cropping1D */
        size_t a, b, dims[3];
        size_t out;
    } cases[] = {
        {1, {4}, 0, 3, 0, {0}, 12},          {2, {3, 4}, 1, 2, 0, {2, 1}, 12},
        {3, {2, 3, 2}, 1, 3, 0, {3, 1, 2}, 12}, {3, {2, 3, 2}, 1, 3, 0, {2, 3, 1}, 12},
        {3, {2, 3, 2}, 1, 3, 0, {1, 3, 2}, 12}, {2, {3, 2}, 2, 3, 0, {0}, 18},
        {2, {3, 2}, 3, 1, 2, {0}, 12},       {2, {4, 2}, 4, 1, 2, {0}, 2},
        {2, {4, 2}, 4, 0, 1, {0}, 6},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lf_model *m;
        lf_model_create(&m, 3600 + k);
        int x = lf_input_shape(m, cases[k].rank, cases[k].in, LF_DTYPE_FLOAT32, "x");
        int d = lf_dense(m, x, cases[k].in[cases[k].rank - 1], LF_ACT_TANH, 1, "d"), h;
        const char *names[] = {"RepeatVector", "Permute", "UpSampling1D", "ZeroPadding1D", "Cropping1D"};
        switch (cases[k].kind) {
        case 0: h = lf_repeat_vector(m, d, cases[k].a, NULL); break;
        case 1: h = lf_permute(m, d, cases[k].a, cases[k].dims, NULL); break;
        case 2: h = lf_upsampling1d(m, d, cases[k].a, NULL); break;
        case 3: h = lf_zero_padding1d(m, d, cases[k].a, cases[k].b, NULL); break;
        default: h = lf_cropping1d(m, d, cases[k].a, cases[k].b, NULL); break;
        }
        CHECK(h >= 0 && m->nodes[h].dim == cases[k].out, "%s case %zu: %zu values, not %zu: %s",
              names[cases[k].kind], k, h >= 0 ? m->nodes[h].dim : 0, cases[k].out, lf_model_error(m));
        /* a Dense on the result's last axis, so that a wrong layout shows
         * as a wrong gradient even where Flatten would sum it alike */
        int e = h >= 0 ? lf_dense(m, h, 2, LF_ACT_TANH, 1, "e") : -1;
        char what[96];
        snprintf(what, sizeof what, "%s case %zu", names[cases[k].kind], k);
        if (e >= 0) image_run(what, m, e, 3650 + k, 2, 0);
        lf_model_free(m);
    }
}

/* Keras' Attention and AdditiveAttention (score_attention.c;
 * keras/src/layers/attention/attention.py, additive_attention.py):
 * score_mode dot / concat, the additive scores, with and without use_scale, a
 * separate key, use_causal_mask, return_attention_scores (both outputs
 * joined, so the weights' own gradient is checked), the padding masks of
 * Embedding(mask_zero=True) query and value (no value row fully padded: its
 * scores - 1e9 lose their float32 bits, so finite differences see none of
 * the gradient Keras' autodiff gives), and dropout in a training pass */
static void att_run(const char *what, lf_model *m, int h, uint64_t seed, int training) {
    int o = lf_dense(m, h, 2, LF_ACT_LINEAR, 1, "o");
    lf_status st = lf_model_compile(m, o, LF_LOSS_MSE, NULL);
    CHECK(st == LF_OK, "%s: compile: %s", what, lf_model_error(m));
    if (st != LF_OK) return;
    scale_kernel(m, "o", 3);
    enum { N = 5 };
    data d = make_data(m, N, LF_LOSS_MSE, seed);
    for (size_t i = 0; i < lf_model_num_inputs(m); i++) {
        size_t T = lf_model_input_dim(m, i);
        if (m->nodes[m->inputs[i]].dtype != LF_DTYPE_INT32) continue;
        fill_ids(d.x[i], N, T, 9, seed + 7 + i); /* row r: r % (T + 1) trailing pads */
        if (i > 0) /* the value: at most T - 1 of them */
            for (size_t r = 0; r < N; r++) d.x[i][r * T] = 1.0f + (float)(r % 3);
    }
    fd_check_mode(what, m, d.x, d.t, N, -1, training);
    free_data(&d);
}

static void test_attention(void) {
    struct {
        const char *mode;
        int scale, key, causal, scores, masked;
        float dropout;
    } cases[] = {
        {"dot", 0, 0, 0, 0, 0, 0.0f},    {"dot", 1, 1, 0, 1, 0, 0.0f},   {"dot", 1, 0, 1, 0, 1, 0.0f},
        {"concat", 0, 0, 0, 0, 0, 0.0f}, {"concat", 1, 1, 1, 1, 0, 0.0f}, {"concat", 1, 0, 0, 1, 1, 0.0f},
        {"dot", 1, 0, 0, 1, 1, 0.4f},
        /* AdditiveAttention (additive_attention.py): its per-feature scale */
        {"additive", 1, 0, 0, 0, 0, 0.0f}, {"additive", 0, 1, 1, 1, 0, 0.0f}, {"additive", 1, 0, 1, 1, 1, 0.0f},
        {"additive", 1, 1, 0, 0, 0, 0.3f},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lf_model *m;
        lf_model_create(&m, 3700 + k);
        int q, v, key = -1;
        if (cases[k].masked) {
            int iq = lf_input_shape(m, 1, (size_t[]){4}, LF_DTYPE_INT32, "iq");
            int iv = lf_input_shape(m, 1, (size_t[]){5}, LF_DTYPE_INT32, "iv");
            q = lf_embedding(m, iq, 9, 3, 1, "eq");
            v = lf_embedding(m, iv, 9, 3, 1, "ev");
            fill_weight(m, "eq", 0, -1.5f, 1.5f, 3720 + k);
            fill_weight(m, "ev", 0, -1.5f, 1.5f, 3730 + k);
        } else {
            int xq = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "xq");
            int xv = lf_input_shape(m, 2, (size_t[]){5, 2}, LF_DTYPE_FLOAT32, "xv");
            q = lf_dense(m, xq, 3, LF_ACT_TANH, 1, "dq");
            v = lf_dense(m, xv, 3, LF_ACT_TANH, 1, "dv");
            scale_kernel(m, "dq", 3), scale_kernel(m, "dv", 3);
            if (cases[k].key) {
                int xk = lf_input_shape(m, 2, (size_t[]){5, 2}, LF_DTYPE_FLOAT32, "xk");
                key = lf_dense(m, xk, 3, LF_ACT_TANH, 1, "dk");
                scale_kernel(m, "dk", 3);
            }
        }
        int additive = strcmp(cases[k].mode, "additive") == 0;
        int a = additive ? lf_additive_attention(m, q, v, key, cases[k].scale, cases[k].dropout, cases[k].causal,
                                                 cases[k].scores, "att")
                         : lf_attention(m, q, v, key, cases[k].scale,
                                        strcmp(cases[k].mode, "concat") == 0 ? LF_SCORE_CONCAT : LF_SCORE_DOT,
                                        cases[k].dropout, cases[k].causal, cases[k].scores, "att");
        CHECK(a >= 0, "Attention case %zu: %s", k, lf_model_error(m));
        if (a < 0) {
            lf_model_free(m);
            continue;
        }
        if (cases[k].scale) fill_weight(m, "att", 0, 1.3f, 1.7f, 3740 + k); /* away from its start */
        int h = a;
        if (cases[k].scores) {
            int v0 = lf_output_view(m, a, 0, NULL), v1 = lf_output_view(m, a, 1, NULL);
            h = lf_concatenate(m, 2, (int[]){v0, v1}, NULL);
        }
        char what[128];
        snprintf(what, sizeof what, "Attention(score_mode=%s, use_scale=%d)%s%s%s%s%s", cases[k].mode,
                 cases[k].scale, cases[k].key ? " with a key" : "", cases[k].causal ? ", causal" : "",
                 cases[k].scores ? ", with its scores" : "", cases[k].masked ? ", masked" : "",
                 cases[k].dropout > 0 ? ", dropout" : "");
        att_run(what, m, h, 3750 + k, cases[k].dropout > 0);
        lf_model_free(m);
    }
}

/* TimeDistributed (time_distributed.c): a video (T, H, W, C) through
 * TimeDistributed(Conv2D -> MaxPooling2D -> Flatten -> Dense) -> Flatten
 * -> Dense, every step on one set of weights; then with
 * BatchNormalization in training (statistics over the B T rows: the wide
 * difference, as test_norm_augment) -> AveragePooling2D ->
 * GlobalAveragePooling2D */
static void test_time_distributed(void) {
    for (int bn = 0; bn <= 1; bn++) {
        lf_model *m;
        lf_model_create(&m, 2100 + (uint64_t)bn);
        int x = lf_input_shape(m, 4, (size_t[]){3, 5, 4, 2}, LF_DTYPE_FLOAT32, "video");
        int s = lf_time_distributed(m, x, "steps");
        int h = lf_conv2d(m, s, 3, 3, 3, 1, 1, LF_PADDING_SAME, bn ? LF_ACT_LINEAR : LF_ACT_TANH, !bn, "conv");
        if (bn) {
            h = lf_batch_normalization(m, h, 0.9f, 1e-3f, "bn");
            h = lf_average_pooling2d(m, h, 2, 2, 2, 2, LF_PADDING_SAME, NULL);
            h = lf_global_average_pooling2d(m, h, NULL);
        } else {
            h = lf_max_pooling2d(m, h, 2, 2, 2, 2, LF_PADDING_VALID, NULL);
            h = lf_dense(m, lf_flatten(m, h, NULL), 3, LF_ACT_TANH, 1, "per_step");
        }
        int td = lf_time_distributed_end(m, h, "td");
        int o = lf_dense(m, lf_flatten(m, td, NULL), 2, LF_ACT_LINEAR, 1, "o");
        lf_status st = lf_model_compile(m, o, LF_LOSS_MSE, NULL);
        CHECK(st == LF_OK, "TimeDistributed: compile: %s", lf_model_error(m));
        if (st == LF_OK) {
            scale_kernel(m, "conv", 2);
            scale_kernel(m, "o", 3);
            if (bn) {
                float g[3] = {1.5f, -0.7f, 1.1f}, b[3] = {0.3f, -0.2f, 0.1f};
                lf_set_weights(m, "bn", 0, g, 3), lf_set_weights(m, "bn", 1, b, 3);
            }
            data d = make_data(m, 3, LF_LOSS_MSE, 2200 + (uint64_t)bn);
            fd_check_wide(bn ? "TimeDistributed(Conv2D, BatchNormalization (training), pools)"
                             : "TimeDistributed(Conv2D, MaxPooling2D, Flatten, Dense)",
                          m, d.x, d.t, 3, -1, bn, bn);
            free_data(&d);
        }
        lf_model_free(m);
    }
}

/* A padding mask through TimeDistributed: token ids (T, S) -> Embedding
 * (mask_zero) -> TimeDistributed(LSTM (return_sequences) ->
 * GlobalAveragePooling1D), each step's mask skipping its padded tokens in
 * the LSTM and the pooling, backward as forward -> Flatten -> Dense */
static void test_time_distributed_mask(void) {
    enum { N = 3, T = 3, S = 4 };
    lf_model *m;
    lf_model_create(&m, 2150);
    int x = lf_input_shape(m, 2, (size_t[]){T, S}, LF_DTYPE_INT32, "ids");
    int s = lf_time_distributed(m, lf_embedding(m, x, 6, 3, 1, "emb"), "steps");
    int h = lf_global_average_pooling1d(m, lf_lstm(m, s, 3, 1, 1, 1, 0, "lstm"), NULL);
    int o = lf_dense(m, lf_flatten(m, lf_time_distributed_end(m, h, "td"), NULL), 2, LF_ACT_LINEAR, 1, "o");
    lf_status st = lf_model_compile(m, o, LF_LOSS_MSE, NULL);
    CHECK(st == LF_OK, "TimeDistributed with a mask: compile: %s", lf_model_error(m));
    if (st == LF_OK) {
        scale_kernel(m, "lstm", 2);
        scale_kernel(m, "o", 3);
        data d = make_data(m, N, LF_LOSS_MSE, 2250);
        /* padding inside and after, a step of padding only, none */
        static const float ids[N * T * S] = {3, 0, 5, 0, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 2, 4, 4, 0, 1,
                                             5, 1, 0, 0, 2, 0, 0, 3, 1, 1, 1, 1, 0, 5, 5, 0};
        memcpy(d.x[0], ids, sizeof ids);
        fd_check_skip("TimeDistributed(LSTM, GlobalAveragePooling1D) with each step's padding mask", m, d.x, d.t, N,
                      -1);
        free_data(&d);
    }
    lf_model_free(m);
}

/* GlobalMaxPooling3D and GlobalAveragePooling3D of a video (T, H, W, C) */
static void test_global_pool3d(void) {
    lf_model *m;
    lf_model_create(&m, 2300);
    int x = lf_input_shape(m, 4, (size_t[]){3, 4, 3, 2}, LF_DTYPE_FLOAT32, "video");
    int a = lf_global_max_pooling3d(m, x, NULL), b = lf_global_average_pooling3d(m, x, NULL);
    int o = lf_dense(m, lf_concatenate(m, 2, (int[]){a, b}, NULL), 2, LF_ACT_LINEAR, 1, "o");
    lf_status st = lf_model_compile(m, o, LF_LOSS_MSE, NULL);
    CHECK(st == LF_OK, "global 3-D poolings: compile: %s", lf_model_error(m));
    if (st == LF_OK) {
        scale_kernel(m, "o", 30); /* the mean's gradient is 1/72 of the output's: large weights lift it */
        data d = make_data(m, 3, LF_LOSS_MSE, 2400);
        fd_check("GlobalMaxPooling3D, GlobalAveragePooling3D", m, d.x, d.t, 3);
        free_data(&d);
    }
    lf_model_free(m);
}

/* a video input (D, H, W, C) -> the layer under test -> Flatten -> Dense(2) */
static lf_model *video_model(uint64_t seed, size_t D, size_t H, size_t W, size_t C, int *x) {
    lf_model *m;
    lf_model_create(&m, seed);
    *x = lf_input_shape(m, 4, (size_t[]){D, H, W, C}, LF_DTYPE_FLOAT32, "video");
    return m;
}

/* Conv3D (conv3d.c): both paddings, strides above 1 (odd "same" padding:
 * the extra voxel after), an activation, no bias; dilated, both paddings
 * (the "same" one odd over the dilated window) */
static void test_conv3d(void) {
    struct {
        size_t D, H, W, C, F, kd, kh, kw, sd, sh, sw, dd, dh, dw;
        lf_padding pad;
        lf_activation act;
        int bias;
    } cases[] = {
        {3, 4, 4, 2, 3, 2, 3, 2, 1, 1, 1, 1, 1, 1, LF_PADDING_VALID, LF_ACT_TANH, 1},
        {3, 5, 4, 2, 2, 3, 3, 2, 2, 2, 3, 1, 1, 1, LF_PADDING_SAME, LF_ACT_LINEAR, 1},
        {4, 4, 5, 1, 2, 2, 2, 3, 2, 1, 2, 1, 1, 1, LF_PADDING_VALID, LF_ACT_ELU, 0},
        {2, 3, 3, 2, 2, 2, 2, 2, 1, 2, 2, 1, 1, 1, LF_PADDING_SAME, LF_ACT_SIGMOID, 1},
        {4, 5, 5, 2, 2, 2, 2, 2, 1, 1, 1, 2, 1, 3, LF_PADDING_VALID, LF_ACT_TANH, 1},
        {3, 5, 4, 2, 3, 2, 2, 3, 1, 1, 1, 1, 2, 2, LF_PADDING_SAME, LF_ACT_LINEAR, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int x;
        lf_model *m = video_model(2500 + k, cases[k].D, cases[k].H, cases[k].W, cases[k].C, &x);
        int h = lf_conv3d_dilated(m, x, cases[k].F, cases[k].kd, cases[k].kh, cases[k].kw, cases[k].sd, cases[k].sh,
                                  cases[k].sw, cases[k].pad, cases[k].dd, cases[k].dh, cases[k].dw, cases[k].act,
                                  cases[k].bias, "conv");
        CHECK(h >= 0, "Conv3D case %zu: %s", k, lf_model_error(m));
        char what[96];
        snprintf(what, sizeof what, "Conv3D case %zu (%s, %s, dilation %zu %zu %zu)", k,
                 cases[k].pad ? "same" : "valid", lf_activation_name(cases[k].act), cases[k].dd, cases[k].dh,
                 cases[k].dw);
        if (h >= 0) scale_kernel(m, "conv", 2);
        image_run(what, m, h, 2600 + k, 3, 0);
        lf_model_free(m);
    }
}

/* Conv3DTranspose (conv3d_transpose.c): strides 1 and 2, both paddings
 * (an even kernel's "same" crop), output_padding None and given, an
 * activation, no bias, a stride above the kernel (gaps); the input's
 * gradient is the layer's dx, the kernel's and bias' its dw */
static void test_conv3d_transpose(void) {
    struct {
        size_t D, H, W, C, F, kd, kh, kw, sd, sh, sw;
        lf_padding pad;
        int op; /* output_padding below, else None */
        size_t opd, oph, opw;
        lf_activation act;
        int bias;
    } cases[] = {
        {2, 3, 2, 2, 3, 2, 3, 2, 1, 1, 1, LF_PADDING_VALID, 0, 0, 0, 0, LF_ACT_TANH, 1},
        {2, 2, 3, 2, 2, 3, 2, 3, 1, 1, 1, LF_PADDING_SAME, 0, 0, 0, 0, LF_ACT_LINEAR, 1},
        {2, 2, 2, 2, 2, 3, 3, 2, 2, 2, 2, LF_PADDING_SAME, 0, 0, 0, 0, LF_ACT_ELU, 0},   /* Do = 2 D; even kw */
        {2, 2, 2, 1, 2, 2, 3, 2, 2, 2, 1, LF_PADDING_VALID, 1, 1, 1, 0, LF_ACT_SIGMOID, 1}, /* output_padding */
        {2, 2, 2, 2, 2, 3, 4, 2, 2, 2, 2, LF_PADDING_SAME, 1, 1, 0, 1, LF_ACT_LINEAR, 1},   /* same + op */
        {2, 2, 2, 2, 2, 1, 2, 1, 2, 3, 2, LF_PADDING_VALID, 0, 0, 0, 0, LF_ACT_LINEAR, 1},  /* stride > kernel */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int x;
        lf_model *m = video_model(2700 + k, cases[k].D, cases[k].H, cases[k].W, cases[k].C, &x);
        size_t op[3] = {cases[k].opd, cases[k].oph, cases[k].opw};
        int h = lf_conv3d_transpose(m, x, cases[k].F, cases[k].kd, cases[k].kh, cases[k].kw, cases[k].sd,
                                    cases[k].sh, cases[k].sw, cases[k].pad, cases[k].op ? op : NULL, cases[k].act,
                                    cases[k].bias, "tconv");
        CHECK(h >= 0, "Conv3DTranspose case %zu: %s", k, lf_model_error(m));
        char what[96];
        snprintf(what, sizeof what, "Conv3DTranspose case %zu (%s, %s)", k, cases[k].pad ? "same" : "valid",
                 lf_activation_name(cases[k].act));
        if (h >= 0) scale_kernel(m, "tconv", 2);
        image_run(what, m, h, 2800 + k, 3, 0);
        lf_model_free(m);
    }
}

/* MaxPooling3D / AveragePooling3D (pool3d.c): valid and same, strides
 * other than the pool */
static void test_pool3d(void) {
    for (int kind = 0; kind < 4; kind++) {
        int x;
        lf_model *m = video_model(2700 + (uint64_t)kind, 3, 5, 4, 2, &x);
        int h;
        const char *what;
        switch (kind) {
        case 0: h = lf_max_pooling3d(m, x, 2, 2, 2, 0, 0, 0, LF_PADDING_VALID, NULL), what = "MaxPooling3D valid"; break;
        case 1: h = lf_max_pooling3d(m, x, 2, 3, 2, 2, 2, 3, LF_PADDING_SAME, NULL), what = "MaxPooling3D same"; break;
        case 2: h = lf_average_pooling3d(m, x, 2, 2, 3, 1, 2, 1, LF_PADDING_VALID, NULL), what = "AveragePooling3D valid"; break;
        default: h = lf_average_pooling3d(m, x, 2, 3, 3, 2, 2, 2, LF_PADDING_SAME, NULL), what = "AveragePooling3D same"; break;
        }
        CHECK(h >= 0, "%s: %s", what, lf_model_error(m));
        image_run(what, m, h, 2800 + (uint64_t)kind, kind >= 2 ? 10 : 3, 0);
        lf_model_free(m);
    }
}

/* UpSampling3D, ZeroPadding3D, Cropping3D (spatial3d.c) and Identity
 * (identity.c): on the input itself (its gradient straight through the
 * layer), then after a Conv3D so that their dx reaches a weight too;
 * asymmetric sides and factors */
static void test_spatial3d(void) {
    for (int kind = 0; kind < 8; kind++) {
        int x;
        lf_model *m = video_model(6100 + (uint64_t)kind, 3, 4, 3, 2, &x);
        int c = x;
        if (kind >= 4) {
            c = lf_conv3d(m, x, 2, 2, 2, 2, 1, 1, 1, LF_PADDING_SAME, LF_ACT_TANH, 1, "conv");
            if (c >= 0) scale_kernel(m, "conv", 2);
        }
        int h;
        const char *what;
        switch (kind % 4) {
        case 0: h = lf_upsampling3d(m, c, 2, 1, 3, NULL), what = "UpSampling3D (2, 1, 3)"; break;
        case 1: h = lf_zero_padding3d(m, c, 1, 0, 2, 1, 0, 3, NULL), what = "ZeroPadding3D ((1, 0), (2, 1), (0, 3))"; break;
        case 2: h = lf_cropping3d(m, c, 1, 1, 0, 2, 1, 0, NULL), what = "Cropping3D ((1, 1), (0, 2), (1, 0))"; break;
        default: h = lf_identity(m, c, NULL), what = "Identity"; break;
        }
        CHECK(h >= 0, "%s: %s", what, lf_model_error(m));
        char label[96];
        snprintf(label, sizeof label, "%s%s", what, kind >= 4 ? " after Conv3D" : "");
        image_run(label, m, h, 6200 + (uint64_t)kind, 3, 0);
        lf_model_free(m);
    }
}

/* Keras' activation layers (activation_layers.c) on x (3, 4), each then
 * flattened into a Dense(4) (its kernel x 3, so that Softmax's gradients
 * stand above the tolerance), mse: the input gradients through the layer,
 * PReLU's alpha.  x in [-2.5, 2.5] moved 0.1 away from the kinks (ReLU's
 * 0.5 and 1.5, 0), so that the step 1e-3 never crosses one. */
static void test_activation_layers(void) {
    enum { N = 3, T = 3, C = 4 };
    const char *what[] = {"ReLU(1.5, 0.2, 0.5)", "ReLU(max_value=1.5)", "LeakyReLU(0.3)", "ELU(0.7)",
                          "PReLU(shared_axes=[1])", "PReLU()", "Softmax()", "Softmax(axis=1)", "Softmax(axis=[1, 2])"};
    const float kinks[] = {0.0f, 0.5f, 1.5f};
    for (int k = 0; k < 9; k++) {
        lf_model *m;
        lf_model_create(&m, 3700 + (uint64_t)k);
        int x = lf_input_shape(m, 2, (size_t[]){T, C}, LF_DTYPE_FLOAT32, "x"), one = 1;
        int y = k == 0   ? lf_relu_layer(m, x, 1.5f, 0.2f, 0.5f, "act")
                : k == 1 ? lf_relu_layer(m, x, 1.5f, 0.0f, 0.0f, "act")
                : k == 2 ? lf_leaky_relu(m, x, 0.3f, "act")
                : k == 3 ? lf_elu_layer(m, x, 0.7f, "act")
                : k == 4 ? lf_prelu(m, x, &one, 1, "act")
                : k == 5 ? lf_prelu(m, x, NULL, 0, "act")
                : k == 6 ? lf_softmax_layer(m, x, (int[]){-1}, 1, "act")
                : k == 7 ? lf_softmax_layer(m, x, &one, 1, "act")
                         : lf_softmax_layer(m, x, (int[]){1, 2}, 2, "act");
        if (k == 4 || k == 5) fill_weight(m, "act", 0, -1.0f, 1.0f, 3750 + (uint64_t)k);
        int out = lf_dense(m, lf_flatten(m, y, NULL), 4, LF_ACT_LINEAR, 1, "out");
        scale_kernel(m, "out", 3.0f);
        CHECK(lf_model_compile(m, out, LF_LOSS_MSE, NULL) == LF_OK, "%s: compile: %s", what[k], lf_model_error(m));
        data d = make_data(m, N, LF_LOSS_MSE, 3760 + (uint64_t)k);
        for (size_t j = 0; j < N * T * C; j++) {
            float v = d.x[0][j] * 2.5f;
            for (size_t q = 0; q < sizeof kinks / sizeof *kinks; q++)
                if (fabsf(v - kinks[q]) < 0.1f) v = kinks[q] + (v < kinks[q] ? -0.1f : 0.1f);
            d.x[0][j] = v;
        }
        fd_check(what[k], m, d.x, d.t, N);
        free_data(&d);
        lf_model_free(m);
    }
}

/* GroupedQueryAttention (gqa.c): every weight tensor and every float input
 * by finite differences; 4 query heads on 2 and on 1 key/value heads (the
 * key/value gradients summed over each group), self-attention of
 * Embedding(mask_zero) sequences (the padding mask, and the causal mask),
 * cross-attention with a key of its own, no bias, dropout in training; an
 * attention_mask input (ids, their trailing zeros masking keys), and
 * return_attention_scores (the output and the scores flattened and
 * concatenated: the gradient reaches the grouped keys through both) */
static void test_gqa(void) {
    struct {
        size_t hq, hk;
        int masked, key, causal, bias;
        float dropout;
        int amask, scores;
    } cases[] = {
        {4, 2, 1, 0, 0, 1, 0.0f, 0, 0}, {4, 1, 1, 0, 1, 1, 0.0f, 0, 0}, {4, 2, 0, 1, 0, 1, 0.0f, 0, 0},
        {2, 1, 0, 0, 1, 0, 0.0f, 0, 0}, {4, 2, 1, 0, 0, 1, 0.3f, 0, 0}, {4, 2, 0, 0, 0, 1, 0.0f, 1, 1},
        {4, 1, 1, 0, 1, 1, 0.0f, 1, 1}, {2, 1, 0, 1, 0, 0, 0.3f, 0, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lf_model *m;
        lf_model_create(&m, 3900 + k);
        int q, key = -1;
        if (cases[k].masked) {
            int iq = lf_input_shape(m, 1, (size_t[]){5}, LF_DTYPE_INT32, "iq");
            q = lf_embedding(m, iq, 9, 3, 1, "eq");
            fill_weight(m, "eq", 0, -1.5f, 1.5f, 3920 + k);
        } else {
            int xq = lf_input_shape(m, 2, (size_t[]){4, 3}, LF_DTYPE_FLOAT32, "xq");
            q = lf_dense(m, xq, 3, LF_ACT_TANH, 1, "dq");
            scale_kernel(m, "dq", 3);
            if (cases[k].key) {
                int xk = lf_input_shape(m, 2, (size_t[]){4, 2}, LF_DTYPE_FLOAT32, "xk");
                key = lf_dense(m, xk, 2, LF_ACT_TANH, 1, "dk");
                scale_kernel(m, "dk", 3);
            }
        }
        size_t T = cases[k].masked ? 5 : 4;
        int am = cases[k].amask ? lf_input_shape(m, 2, (size_t[]){T, T}, LF_DTYPE_INT32, "am") : -1;
        int a = lf_grouped_query_attention(m, q, q, key, 2, cases[k].hq, cases[k].hk, cases[k].dropout,
                                           cases[k].bias, cases[k].causal, "gqa");
        if (a >= 0 && am >= 0 && lf_set_attention_mask(m, a, am, cases[k].causal) != LF_OK) a = -1;
        int h = a;
        if (a >= 0 && cases[k].scores) {
            if (lf_set_return_attention_scores(m, a, 1) != LF_OK) a = -1;
            int y = lf_flatten(m, lf_output_view(m, a, 0, NULL), NULL);
            int sc = lf_flatten(m, lf_output_view(m, a, 1, NULL), NULL);
            h = lf_concatenate(m, 2, (int[]){y, sc}, NULL);
        }
        CHECK(a >= 0 && h >= 0, "GroupedQueryAttention case %zu: %s", k, lf_model_error(m));
        if (a < 0 || h < 0) {
            lf_model_free(m);
            continue;
        }
        for (size_t w = 0; w < lf_layer_num_weights(m, "gqa"); w++) /* biases away from 0 too */
            fill_weight(m, "gqa", w, -1.0f, 1.0f, 3940 + 10 * k + w);
        char what[128];
        snprintf(what, sizeof what, "GroupedQueryAttention(%zu, %zu)%s%s%s%s%s%s%s", cases[k].hq, cases[k].hk,
                 cases[k].masked ? ", masked" : "", cases[k].key ? " with a key" : "",
                 cases[k].causal ? ", causal" : "", cases[k].bias ? "" : ", no bias",
                 cases[k].dropout > 0 ? ", dropout" : "", cases[k].amask ? ", attention_mask" : "",
                 cases[k].scores ? ", scores" : "");
        att_run(what, m, h, 3960 + k, cases[k].dropout > 0);
        lf_model_free(m);
    }
}

/* RMSNormalization behind a Dense (so that the input's gradient goes
 * through both; scale filled away from ones), and RandomCrop's window in a
 * training pass (each pass draws the same: a slice), its fallback (Keras':
 * a slice resized) and its inference (Resizing with crop_to_aspect_ratio) */
static void test_rms_random_crop(void) {
    struct {
        size_t rank, shape[3];
        float eps;
    } cases[] = {{1, {6}, 1e-6f}, {2, {4, 5}, 1e-6f}, {3, {2, 3, 4}, 0.1f}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lf_model *m;
        lf_model_create(&m, 2500 + k);
        int x = lf_input_shape(m, cases[k].rank, cases[k].shape, LF_DTYPE_FLOAT32, "x");
        int h = lf_dense(m, x, 4, LF_ACT_LINEAR, 1, "pre");
        h = lf_rms_normalization(m, h, cases[k].eps, "rms");
        fill_weight(m, "rms", 0, -1.5f, 1.5f, 2510 + k);
        char what[96];
        snprintf(what, sizeof what, "RMSNormalization case %zu (rank %zu, epsilon %g)", k, cases[k].rank,
                 (double)cases[k].eps);
        seq_run(what, m, cases[k].rank > 1 ? lf_flatten(m, h, NULL) : h, 2520 + k, -1);
        lf_model_free(m);
    }
    static const struct {
        size_t H, W, th, tw;
        int training;
        const char *what;
    } crops[] = {
        {6, 7, 3, 4, 1, "RandomCrop 6x7 -> 3x4 (training: a drawn window)"},
        {5, 4, 6, 3, 1, "RandomCrop 5x4 -> 6x3 (training: Keras' fallback, a slice resized)"},
        {6, 7, 3, 4, 0, "RandomCrop 6x7 -> 3x4 (inference: the aspect window resized)"},
    };
    for (size_t k = 0; k < sizeof crops / sizeof crops[0]; k++) {
        int x;
        lf_model *m = image_model(2530 + k, crops[k].H, crops[k].W, 2, &x);
        int h = lf_random_crop(m, x, crops[k].th, crops[k].tw, NULL);
        h = lf_conv2d(m, h, 2, 2, 2, 1, 1, LF_PADDING_VALID, LF_ACT_TANH, 1, "conv");
        if (h >= 0) scale_kernel(m, "conv", 2);
        image_run(crops[k].what, m, h, 2540 + k, 3, crops[k].training);
        lf_model_free(m);
    }
}

/* ConvLSTM2D / ConvLSTM1D (conv_lstm.c): both paddings, strides, a
 * dilation, return_sequences, go_backwards, no bias, 1-D; the kernel,
 * recurrent kernel, bias and input gradients through time */
static void test_conv_lstm(void) {
    struct {
        size_t T, H, W, C, F, kh, kw, sh, sw, dh, dw;
        lf_padding pad;
        int bias, seq, back;
    } cases[] = {
        {3, 4, 4, 2, 2, 3, 3, 1, 1, 1, 1, LF_PADDING_SAME, 1, 1, 0},
        {3, 5, 4, 2, 2, 2, 3, 2, 1, 1, 1, LF_PADDING_VALID, 1, 0, 1},
        {2, 5, 5, 1, 3, 2, 2, 2, 2, 1, 1, LF_PADDING_SAME, 0, 1, 1},
        {3, 5, 5, 2, 2, 2, 2, 1, 1, 2, 1, LF_PADDING_VALID, 1, 1, 0},
        {4, 6, 1, 2, 2, 3, 1, 2, 1, 1, 1, LF_PADDING_SAME, 1, 1, 1}, /* ConvLSTM1D */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lf_model *m;
        lf_model_create(&m, 2700 + k);
        lf_conv_lstm_options o = lf_conv_lstm_defaults();
        o.strides[0] = cases[k].sh, o.strides[1] = cases[k].sw;
        o.dilation_rate[0] = cases[k].dh, o.dilation_rate[1] = cases[k].dw, o.padding = cases[k].pad;
        o.use_bias = cases[k].bias, o.return_sequences = cases[k].seq, o.go_backwards = cases[k].back;
        int one_d = cases[k].W == 1, h;
        if (one_d) {
            int x = lf_input_shape(m, 3, (size_t[]){cases[k].T, cases[k].H, cases[k].C}, LF_DTYPE_FLOAT32, "seq");
            h = lf_conv_lstm1d(m, x, cases[k].F, cases[k].kh, &o, "cl");
        } else {
            int x = lf_input_shape(m, 4, (size_t[]){cases[k].T, cases[k].H, cases[k].W, cases[k].C},
                                   LF_DTYPE_FLOAT32, "video");
            h = lf_conv_lstm2d(m, x, cases[k].F, cases[k].kh, cases[k].kw, &o, "cl");
        }
        CHECK(h >= 0, "ConvLSTM case %zu: %s", k, lf_model_error(m));
        char what[96];
        snprintf(what, sizeof what, "ConvLSTM%s case %zu (%s)", one_d ? "1D" : "2D", k,
                 cases[k].pad ? "same" : "valid");
        if (h >= 0) {
            scale_kernel(m, "cl", 2);
            if (cases[k].bias) fill_weight(m, "cl", 2, -1, 1, 2800 + k);
        }
        image_run(what, m, h, 2900 + k, 3, 0);
        lf_model_free(m);
    }
}

/* RandomGrayscale, RandomInvert, Solarization (color_ops.c) in a training
 * pass (each pass draws the same; factors 1: every image mapped), and
 * AutoContrast (through the channel's min and max too), then a conv.
 * Solarization's threshold step has no derivative: its cases keep every
 * value on one side (threshold 0: all solarized) or leave the draws' kink
 * away from the data, and AutoContrast's data no near tie for a min or max
 * (seeds 3110..: at 3105 two minima lay 5e-5 apart, inside the step). */
static void test_color_ops(void) {
    for (int kind = 0; kind < 6; kind++) {
        int x;
        lf_model *m = image_model(3000 + kind, 4, 5, 3, &x);
        int h;
        const char *what;
        switch (kind) {
        case 0: h = lf_random_grayscale(m, x, 1.0f, NULL), what = "RandomGrayscale (factor 1)"; break;
        case 1: h = lf_random_invert(m, x, 1.0f, 1.0f, -1.0f, 1.5f, NULL), what = "RandomInvert (factor 1)"; break;
        case 2:
            h = lf_solarization(m, x, 0.0f, 0.0f, 0.0f, 0.0f, -2.0f, 2.0f, NULL);
            what = "Solarization (threshold 0: all solarized)";
            break;
        case 3:
            h = lf_solarization(m, x, 0.1f, 0.1f, 0.0f, 0.0f, -1.0f, 1.0f, NULL);
            what = "Solarization (addition 0.1 .. 25.5: some clipped)";
            break;
        case 4: h = lf_auto_contrast(m, x, -1.0f, 1.0f, NULL), what = "AutoContrast (-1, 1)"; break;
        default: h = lf_auto_contrast(m, x, 0.0f, 2.0f, NULL), what = "AutoContrast (0, 2)"; break;
        }
        h = lf_conv2d(m, h, 2, 2, 2, 1, 1, LF_PADDING_VALID, LF_ACT_TANH, 1, "conv");
        if (h >= 0) scale_kernel(m, "conv", 2);
        image_run(what, m, h, 3110 + kind, 3, 1);
        lf_model_free(m);
    }
}

/* ConvLSTM3D (conv_lstm.c through conv3d.c's vol2col): both paddings, a
 * stride, a dilation, return_sequences, go_backwards, no bias; the kernel,
 * recurrent kernel, bias and input gradients through time */
static void test_conv_lstm3d(void) {
    struct {
        size_t T, D, H, W, C, F, k[3], s[3], d[3];
        lf_padding pad;
        int bias, seq, back;
    } cases[] = {
        {3, 3, 3, 2, 2, 2, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, LF_PADDING_SAME, 1, 1, 0},
        {2, 3, 4, 3, 1, 2, {2, 3, 2}, {1, 2, 1}, {1, 1, 1}, LF_PADDING_VALID, 1, 0, 1},
        {2, 4, 3, 3, 2, 2, {2, 2, 2}, {1, 1, 1}, {2, 1, 1}, LF_PADDING_VALID, 0, 1, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lf_model *m;
        lf_model_create(&m, 3700 + k);
        lf_conv_lstm_options o = lf_conv_lstm_defaults();
        for (size_t a = 0; a < 3; a++) o.strides[a] = cases[k].s[a], o.dilation_rate[a] = cases[k].d[a];
        o.padding = cases[k].pad, o.use_bias = cases[k].bias, o.return_sequences = cases[k].seq;
        o.go_backwards = cases[k].back;
        int x = lf_input_shape(m, 5, (size_t[]){cases[k].T, cases[k].D, cases[k].H, cases[k].W, cases[k].C},
                               LF_DTYPE_FLOAT32, "vol");
        int h = lf_conv_lstm3d(m, x, cases[k].F, cases[k].k[0], cases[k].k[1], cases[k].k[2], &o, "cl");
        CHECK(h >= 0, "ConvLSTM3D case %zu: %s", k, lf_model_error(m));
        char what[96];
        snprintf(what, sizeof what, "ConvLSTM3D case %zu (%s)", k, cases[k].pad ? "same" : "valid");
        if (h >= 0) {
            scale_kernel(m, "cl", 2);
            if (cases[k].bias) fill_weight(m, "cl", 2, -1, 1, 3800 + k);
        }
        image_run(what, m, h, 3900 + k, 3, 0);
        lf_model_free(m);
    }
}

/* RandomSaturation, RandomHue, RandomColorDegeneration in a training pass
 * (each pass draws the same), then a conv.  Fixed draws (a one-point
 * factor range; the hue's sign drawn) and pixels in [0.05, 0.95] whose
 * channels differ by 0.1 or more and whose shifted hue keeps 0.1 / 6 from
 * hsv_to_rgb's ramp corners for either sign: the differences cross no kink
 * of the maps (hsv.c); saturation k = 0.6 / 0.4 = 1.5 and value_range (0,
 * 1) clip some S, the degeneration's (0.2, 0.9) some values. */
static int hsv_pixel_ok(const float *p) {
    double v = fmax(fmax(p[0], p[1]), p[2]), mn = fmin(fmin(p[0], p[1]), p[2]);
    if (fabs(p[0] - p[1]) < 0.1 || fabs(p[1] - p[2]) < 0.1 || fabs(p[0] - p[2]) < 0.1) return 0;
    double h = v == p[0] ? (p[1] - p[2]) / (6 * (v - mn))
               : v == p[1] ? (p[2] - p[0]) / (6 * (v - mn)) + 2.0 / 6 : (p[0] - p[1]) / (6 * (v - mn)) + 4.0 / 6;
    if (fabs(1.5 * (v - mn) / v - 1.0) < 0.05) return 0; /* the saturation's clip */
    for (int s = -1; s <= 1; s += 2) {
        double dh = 6 * (h + s * 0.1);
        dh -= 6 * floor(dh / 6);
        if (fabs(dh - floor(dh + 0.5)) < 0.1) return 0;
    }
    return 1;
}

static void test_hsv_layers(void) {
    for (int kind = 0; kind < 6; kind++) {
        int x;
        size_t C = kind == 3 ? 1 : 3;
        lf_model *m = image_model(4400 + kind, 3, 2, C, &x);
        static const char *const what[] = {"RandomSaturation (clipped)", "RandomHue", "RandomColorDegeneration (clipped)",
                                           "RandomColorDegeneration (one channel)", "RandomColorJitter (all four)",
                                           "RandomColorJitter (brightness, hue)"};
        /* the jitter: its draws random per row (the same each pass); the
         * contrast's and brightness' clips in value_range (-4, 4) cut nothing */
        static const float jb[2] = {-0.05f, 0.05f}, jc[2] = {0.1f, 0.3f}, js[2] = {0.55f, 0.6f}, jh[2] = {0.2f, 0.2f};
        int h = kind == 0   ? lf_random_saturation(m, x, 0.6f, 0.6f, 0.0f, 1.0f, NULL)
                : kind == 1 ? lf_random_hue(m, x, 0.2f, 0.2f, 0.0f, 1.0f, NULL)
                : kind == 2 || kind == 3 ? lf_random_color_degeneration(m, x, 0.7f, 0.7f, 0.2f, 0.9f, NULL)
                : kind == 4 ? lf_random_color_jitter(m, x, -4.0f, 4.0f, jb, jc, js, jh, NULL)
                            : lf_random_color_jitter(m, x, -4.0f, 4.0f, jb, NULL, NULL, jh, NULL);
        h = lf_conv2d(m, h, 2, 2, 2, 1, 1, LF_PADDING_VALID, LF_ACT_TANH, 1, "conv");
        int o = lf_dense(m, lf_flatten(m, h, NULL), 2, LF_ACT_LINEAR, 1, "o");
        lf_status st = lf_model_compile(m, o, LF_LOSS_MSE, NULL);
        CHECK(st == LF_OK, "%s: compile: %s", what[kind], lf_model_error(m));
        if (st == LF_OK) {
            scale_kernel(m, "conv", 2), scale_kernel(m, "o", 3);
            data d = make_data(m, 3, LF_LOSS_MSE, 4450 + kind);
            uint64_t seed = 4460 + kind;
            for (size_t i = 0; i < 3 * 6; i++) { /* the pixels of 3 rows of 3 x 2 */
                float p[3];
                do {
                    fill_uniform(p, 3, 0.05f, 0.95f, seed++);
                } while (!hsv_pixel_ok(p));
                for (size_t c = 0; c < C; c++) d.x[0][i * C + c] = p[c];
            }
            fd_check_mode(what[kind], m, d.x, d.t, 3, -1, 1);
            free_data(&d);
        }
        lf_model_free(m);
    }
}

int main(void) {
    test_activations();
    test_activation_kernels();
    test_sparsemax();
    test_losses();
    test_merges();
    test_merge_masks();
    test_merge_broadcast();
    test_weighted();
    test_l2();
    test_conv();
    test_pool();
    test_conv_transpose();
    test_decoder_layers();
    test_resizing_layers();
    test_norm_augment();
    test_whole_writes();
    test_max2();
    test_conv1d();
    test_pool1d();
    test_layernorm();
    test_group_unit_norm();
    test_sequence();
    test_rnn();
    test_bidirectional();
    test_bidirectional_stacked();
    test_rnn_dropout();
    test_rnn_state();
    test_embedding_l2();
    test_bias_l2();
    test_regularizers();
    test_dilated_depthwise();
    test_conv1d_kinds();
    test_masking();
    test_concat_axes();
    test_dot_axes();
    test_reshaping_layers();
    test_attention();
    test_time_distributed();
    test_time_distributed_mask();
    test_global_pool3d();
    test_conv3d();
    test_conv3d_transpose();
    test_pool3d();
    test_spatial3d();
    test_activation_layers();
    test_gqa();
    test_rms_random_crop();
    test_conv_lstm();
    test_color_ops();
    test_conv_lstm3d();
    test_hsv_layers();
    return check_report("test_grad");
}
