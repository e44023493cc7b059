/*
 * test_shrinkage.c — the L2 shrinkage of the learned fusion methods
 * (learned.c, issue 14): the penalty reaches the loss and the gradient of
 * exactly the layer that it pulls towards the fixed rule (a hand check
 * against the same network without it), stack-lr starts at the product
 * rule, the inner cross-validation picks the strong penalty where a weak
 * one overfits and a weak one where the fixed rule is wrong, the
 * one-standard-error rule against hand numbers, the rules for
 * fewer than 50 and more than 20000 rows, the penalty's way through
 * the file, and the log-input methods' logs taken once per fit giving the
 * per-batch logs' bits.
 */
#include "check.h"
#include "fusion/method.h"
#include "fusion/metrics.h"
#include "latefuse.h"
#include "model.h"
#include "testing.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const names[6] = {"a", "b", "c", "d", "e", "f"};

static unsigned long long rs = 14;
static double urand(void) {
    rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rs >> 11) / 9007199254740992.0;
}
static double nrand(void) { /* Box-Muller */
    double u = urand(), v = urand();
    return sqrt(-2.0 * log(u > 1e-300 ? u : 1e-300)) * cos(6.283185307179586 * v);
}

/* p[k] = softmax(signal on the true class + noise * N(0, 1)) for M
 * models of C classes; y[r] = r % C.  shift[k]: model k names class
 * (y + shift[k]) % C instead (0: the true one). */
static void make_views(float **p, int *y, size_t M, size_t N, size_t C, double signal, double noise,
                       const int *shift) {
    for (size_t r = 0; r < N; r++) {
        y[r] = (int)(r % C);
        for (size_t k = 0; k < M; k++) {
            double z[16], s = 0;
            size_t named = (size_t)(y[r] + (shift ? shift[k] : 0)) % C;
            for (size_t c = 0; c < C; c++) s += z[c] = exp((c == named ? signal : 0.0) + noise * nrand());
            for (size_t c = 0; c < C; c++) p[k][r * C + c] = (float)(z[c] / s);
        }
    }
}

static float **new_views(size_t M, size_t N, size_t C) {
    float **p = calloc(M, sizeof *p);
    for (size_t k = 0; k < M; k++) p[k] = malloc(N * C * sizeof(float));
    return p;
}

static void free_views(float **p, size_t M) {
    for (size_t k = 0; k < M; k++) free(p[k]);
    free(p);
}

static lf_fusion *fit(lf_method m, float **p, size_t M, size_t N, size_t C, const int *y, size_t epochs) {
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = m, o.epochs = epochs, o.importance = 0;
    CHECK(lf_fusion_fit(f, (const float *const *)p, names, M, N, C, y, &o) == LF_OK, "fit %s on %zu rows: %s",
          lf_method_name(m), N, lf_fusion_error(f));
    return f;
}

/* The gradient and loss of a network with penalty l2 against the same
 * network (same weights, same rows) without it: they differ by exactly
 * 2 l2 W and l2 sum W^2 on the penalised kernels W, and nowhere else. */
static void test_gradient(void) {
    static const struct { lf_method m; const char *layer[2]; } cases[] = {
        {LF_FUSE_STACK_LR, {"correction", NULL}}, {LF_FUSE_WAVG, {"fuse", NULL}},
        {LF_FUSE_WAVG_CLASS, {"fuse", NULL}}, {LF_FUSE_GATE, {"gate_hidden", "gate"}}};
    enum { M = 3, C = 4, N = 6 };
    const float l2 = 0.37f;
    float x[M + 1][N * C], t[N];
    for (size_t k = 0; k < M; k++)
        for (size_t i = 0; i < N * C; i++) x[k][i] = (float)(0.05 + urand());
    for (size_t i = 0; i < N * M; i++) x[M][i] = (i % 5 == 3) ? 0.0f : 1.0f; /* some models missing */
    for (size_t r = 0; r < N; r++) t[r] = (float)(r % C);
    const float *xs[M + 1] = {x[0], x[1], x[2], x[3]};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *name = lf_method_name(cases[i].m);
        lf_model *a, *b;
        lf_model_create(&a, 11), lf_model_create(&b, 11);
        CHECK(lf_learned_build(a, cases[i].m, M, C, 0) == LF_OK && lf_learned_build(b, cases[i].m, M, C, l2) == LF_OK &&
                  a->n_params == b->n_params,
              "%s: build", name);
        for (size_t j = 0; j < b->n_params; j++) a->params[j] = b->params[j] = (float)(0.5 * sin(1.3 * (double)j + 0.2));
        double la = 0, lb = 0;
        CHECK(lf__loss_and_grads(a, xs, t, N, 0, 0, &la, NULL) == LF_OK &&
                  lf__loss_and_grads(b, xs, t, N, 0, 0, &lb, NULL) == LF_OK,
              "%s: gradients", name);
        /* the penalised kernels' places in the weights */
        char *in = calloc(b->n_params, 1);
        size_t cnt_all = 0;
        for (int l = 0; l < 2 && cases[i].layer[l]; l++) {
            size_t shape[2], cnt = 0, off = b->n_params;
            CHECK(lf_layer_weight_shape(b, cases[i].layer[l], 0, shape, &cnt) == LF_OK && cnt > 0, "%s: layer %s",
                  name, cases[i].layer[l]);
            float *w = malloc((cnt ? cnt : 1) * sizeof *w);
            lf_get_weights(b, cases[i].layer[l], 0, w, cnt);
            for (size_t j = 0; j + cnt <= b->n_params && off == b->n_params; j++)
                if (memcmp(b->params + j, w, cnt * sizeof *w) == 0) off = j;
            CHECK(off < b->n_params, "%s: the kernel's place in the weights", name);
            for (size_t j = 0; off < b->n_params && j < cnt; j++) in[off + j] = 1;
            cnt_all += cnt;
            free(w);
        }
        size_t wrong = 0, outside = 0;
        double pen = 0;
        for (size_t j = 0; j < b->n_params; j++) {
            double d = (double)b->grads[j] - (double)a->grads[j];
            if (in[j]) {
                double want = 2.0 * l2 * (double)b->params[j];
                wrong += fabs(d - want) > 1e-6 * (1.0 + fabs(want));
                pen += (double)l2 * b->params[j] * b->params[j];
            } else {
                outside += d != 0.0;
            }
        }
        CHECK(wrong == 0 && outside == 0, "%s: the gradients differ by 2 l2 W in %zu of %zu kernel weights, and "
              "%zu weights outside the kernels differ", name, cnt_all - wrong, cnt_all, outside);
        CHECK(fabs((lb - la) - pen) <= 1e-6 * pen, "%s: the losses differ by %.9g, the penalty is %.9g", name, lb - la,
              pen);
        free(in);
        lf_model_free(a), lf_model_free(b);
    }
}

/* Before any training stack-lr is the product rule over the present
 * models: softmax of the mean of their log p (rows with a model missing
 * included). */
static void test_product_start(void) {
    enum { M = 3, C = 4, N = 8 };
    float p[M][N * C], x[M + 1][N * C], out[N * C];
    for (size_t r = 0; r < N; r++)
        for (size_t k = 0; k < M; k++) {
            double s = 0;
            for (size_t c = 0; c < C; c++) s += p[k][r * C + c] = (float)(0.01 + urand());
            for (size_t c = 0; c < C; c++) p[k][r * C + c] = (float)(p[k][r * C + c] / s);
            int present = (r + k) % 4 != 1;
            x[M][r * M + k] = present ? 1.0f : 0.0f;
            for (size_t c = 0; c < C; c++) x[k][r * C + c] = present ? logf(p[k][r * C + c]) : 0.0f;
        }
    lf_model *net;
    lf_model_create(&net, 5);
    CHECK(lf_learned_build(net, LF_FUSE_STACK_LR, M, C, 0.01f) == LF_OK, "stack-lr: build");
    const float *xs[M + 1] = {x[0], x[1], x[2], x[3]};
    CHECK(lf_model_predict(net, xs, N, out) == LF_OK, "stack-lr: predict %s", lf_model_error(net));
    float want[N * C];
    for (size_t r = 0; r < N; r++) {
        double g[C], s = 0;
        size_t n = 0;
        for (size_t k = 0; k < M; k++) n += x[M][r * M + k] > 0;
        for (size_t c = 0; c < C; c++) {
            double l = 0;
            for (size_t k = 0; k < M; k++)
                if (x[M][r * M + k] > 0) l += log((double)p[k][r * C + c]);
            s += g[c] = exp(l / (double)n);
        }
        for (size_t c = 0; c < C; c++) want[r * C + c] = (float)(g[c] / s);
    }
    CHECK_CLOSE("untrained stack-lr = the product rule", out, want, N * C, 1e-6, 0);
    lf_model_free(net);
}

/* The inner cross-validation: six models that all output nearly the same
 * calibrated posterior (softmax(a s) of scores s = a e_y + N(0, 1), each
 * with a little noise of its own), on 100 rows, where the mean and product
 * rules are the best one can do and a weakly penalised stack-lr (185
 * weights) or wavg-class (30) overfits: the strongest penalty.  Two models, one naming the wrong
 * class in every row, on 600 rows: the fixed rule is wrong, and a weaker
 * penalty is chosen (were the choice not made by cross-validation, one of
 * the two would fail). */
static void test_cv_choice(void) {
    enum { N = 100, C = 5 };
    float **p = new_views(6, N, C);
    int y[600];
    for (size_t r = 0; r < N; r++) {
        double sc[C];
        y[r] = (int)(r % C);
        for (size_t c = 0; c < C; c++) sc[c] = ((int)c == y[r] ? 1.5 : 0.0) + nrand();
        for (size_t k = 0; k < 6; k++) {
            double z[C], sum = 0;
            for (size_t c = 0; c < C; c++) sum += z[c] = exp(1.5 * sc[c] + 0.1 * nrand());
            for (size_t c = 0; c < C; c++) p[k][r * C + c] = (float)(z[c] / sum);
        }
    }
    static const lf_method ms[2] = {LF_FUSE_STACK_LR, LF_FUSE_WAVG_CLASS};
    static const float strongest[2] = {0.1f, 1.0f};
    for (int i = 0; i < 2; i++) {
        lf_fusion *f = fit(ms[i], p, 6, N, C, y, 0);
        float l2 = -1;
        const char *how = lf_fusion_penalty(f, &l2);
        CHECK(how && strstr(how, "cross-validation") && l2 == strongest[i],
              "%s on six equal models: the penalty %g (%s), expected %g", lf_method_name(ms[i]), (double)l2,
              how ? how : "none", (double)strongest[i]);
        lf_fusion_free(f);
    }
    free_views(p, 6);
    enum { N2 = 600, C2 = 3 };
    p = new_views(2, N2, C2);
    make_views(p, y, 2, N2, C2, 2.5, 0.7, (const int[]){1, 0});
    /* model a: right but shifted; b: noisier and unshifted */
    for (size_t r = 0; r < N2; r++) {
        double s = 0;
        float *row = p[1] + r * C2;
        for (size_t c = 0; c < C2; c++) s += row[c] = (float)exp(((int)c == y[r] ? 0.8 : 0.0) + 1.0 * nrand());
        for (size_t c = 0; c < C2; c++) row[c] = (float)(row[c] / s);
    }
    lf_fusion *f = fit(LF_FUSE_STACK_LR, p, 2, N2, C2, y, 0);
    float l2 = -1;
    const char *how = lf_fusion_penalty(f, &l2);
    CHECK(how && strstr(how, "cross-validation") && l2 < 0.1f,
          "stack-lr with a model that names the wrong class: the penalty %g (%s), expected below 0.1", (double)l2,
          how ? how : "none");
    lf_fusion_free(f);
    free_views(p, 2);
}

/* Fewer than 50 rows: the strongest penalty; more than 20000: the weakest
 * x 20000 / rows (0 for the pools, whose weakest is 0); no CV either way. */
static void test_rules(void) {
    enum { C = 3 };
    size_t Ns[3] = {49, 50, 25000};
    for (int i = 0; i < 3; i++) {
        size_t N = Ns[i];
        float **p = new_views(2, N, C);
        int *y = malloc(N * sizeof *y);
        make_views(p, y, 2, N, C, 1.0, 1.0, NULL);
        lf_fusion *f = fit(LF_FUSE_STACK_LR, p, 2, N, C, y, N > 1000 ? 1 : 0);
        float l2 = -1, want = N < 50 ? 0.1f : N > 20000 ? (float)(0.003 * 20000 / (double)N) : -1;
        const char *how = lf_fusion_penalty(f, &l2), *why = N < 50 ? "fewer than 50" : N > 20000 ? "more than 20000"
                                                                                                 : "cross-validation";
        CHECK(how && strstr(how, why) && (want < 0 || l2 == want), "stack-lr on %zu rows: the penalty %g (%s)", N,
              (double)l2, how ? how : "none");
        lf_fusion_free(f);
        if (N > 20000) {
            f = fit(LF_FUSE_WAVG, p, 2, N, C, y, 1);
            how = lf_fusion_penalty(f, &l2);
            CHECK(how && strstr(how, "more than 20000") && l2 == 0.0f, "wavg on %zu rows: the penalty %g (%s)", N,
                  (double)l2, how ? how : "none");
            lf_fusion_free(f);
        }
        free_views(p, 2);
        free(y);
    }
    /* methods without a penalty say so */
    float **p = new_views(2, 60, C);
    int y[60];
    make_views(p, y, 2, 60, C, 1.0, 1.0, NULL);
    lf_fusion *f = fit(LF_FUSE_LOGLINEAR, p, 2, 60, C, y, 0);
    CHECK(lf_fusion_penalty(f, NULL) == NULL, "loglinear has no penalty");
    lf_fusion_free(f);
    free_views(p, 2);
}

/* The penalty and how it was chosen survive the file; a penalty given to a
 * method without one, or malformed, is refused. */
static void test_file(void) {
    enum { N = 60, C = 3 };
    float **p = new_views(2, N, C);
    int y[N];
    make_views(p, y, 2, N, C, 1.0, 1.0, NULL);
    char path[] = "/tmp/latefuse_shrink_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    for (int m = LF_FUSE_STACK_LR; m <= LF_FUSE_GATE; m++) {
        if (m == LF_FUSE_LOGLINEAR || m == LF_FUSE_MLP) continue;
        lf_fusion *f = fit((lf_method)m, p, 2, N, C, y, 0), *g;
        lf_fusion_create(&g);
        float a = -1, b = -2;
        const char *ha = lf_fusion_penalty(f, &a), *hb = NULL;
        CHECK(lf_fusion_save(f, path, LF_WRITE_NO_FSYNC) == LF_OK && lf_fusion_load(g, path) == LF_OK,
              "%s: round trip: %s", lf_method_name((lf_method)m), lf_fusion_error(g));
        hb = lf_fusion_penalty(g, &b);
        CHECK(ha && hb && strcmp(ha, hb) == 0 && a == b, "%s: the penalty %g (%s) read back as %g (%s)",
              lf_method_name((lf_method)m), (double)a, ha ? ha : "none", (double)b, hb ? hb : "none");
        lf_fusion_free(f), lf_fusion_free(g);
    }
    unlink(path);
    free_views(p, 2);
}

/* The choice among the grid's CV scores, against hand numbers (G = 3
 * penalties, strongest first; K = 5 folds).  Errors: penalty 0 0.20 in
 * every fold, penalty 1 0.185, penalty 2 0.17 on average with folds 0.12,
 * 0.22, 0.12, 0.22, 0.17: sample std sqrt(4 * 0.05^2 / 4) = 0.05, standard
 * error 0.05 / sqrt(5) = 0.02236, so the limit is 0.19236: penalty 1 is
 * within it, penalty 0 not.  Log-losses 0.50, 0.45, 0.40. */
static void test_pick(void) {
    enum { G = 3, K = 5 };
    static const double acc2[K] = {0.88, 0.78, 0.88, 0.78, 0.83};
    static const double ll[G] = {0.50, 0.45, 0.40};
    lf_metrics per[G * K];
    memset(per, 0, sizeof per);
    for (size_t k = 0; k < K; k++) {
        per[0 * K + k].accuracy = 0.80, per[1 * K + k].accuracy = 0.815, per[2 * K + k].accuracy = acc2[k];
        for (size_t g = 0; g < G; g++) per[g * K + k].log_loss = ll[g];
    }
    CHECK(lf_penalty_pick(per, G, K, 0) == 1, "error, one-standard-error rule: penalty %zu, expected 1",
          lf_penalty_pick(per, G, K, 0));
    CHECK(lf_penalty_pick(per, G, K, 1) == 2, "log-loss: penalty %zu, expected 2 (the lowest)",
          lf_penalty_pick(per, G, K, 1));
    /* penalty 1's error 0.1925, just beyond the limit: the best itself */
    for (size_t k = 0; k < K; k++) per[1 * K + k].accuracy = 0.8075;
    CHECK(lf_penalty_pick(per, G, K, 0) == 2, "error 0.1925 > 0.19236: penalty %zu, expected 2",
          lf_penalty_pick(per, G, K, 0));
    /* ties go to the stronger: every penalty the same */
    for (size_t i = 0; i < G * K; i++) per[i].accuracy = 0.9, per[i].log_loss = 0.3;
    CHECK(lf_penalty_pick(per, G, K, 0) == 0 && lf_penalty_pick(per, G, K, 1) == 0, "ties: penalties %zu, %zu",
          lf_penalty_pick(per, G, K, 0), lf_penalty_pick(per, G, K, 1));
}

/* The log-input methods take the logs of their inputs once per fit
 * (learned.c, log_table) where they used to take them per batch, epoch
 * after epoch: the network must see the same bits either way.  Rows of 3
 * models with missing rows, values below the floor (1e-7), zeros, ones,
 * subnormals, a model missing everywhere; batches of 7 and 300 rows (the
 * per-batch logs go in blocks of 256 values: specials send a block to
 * libm), a model hidden or not. */
static void test_log_table(void) {
    enum { M = 3, N = 301, C = 5 };
    float *p[M], *x[2][M + 1];
    for (size_t k = 0; k < M; k++) p[k] = malloc(sizeof(float) * N * C);
    for (size_t r = 0; r < N; r++)
        for (size_t k = 0; k < M; k++) {
            float *row = p[k] + r * C;
            double s = 0;
            for (size_t c = 0; c < C; c++) s += row[c] = (float)urand();
            for (size_t c = 0; c < C; c++) row[c] = (float)(row[c] / s);
            if (r % 11 == k) row[r % C] = 0.0f;             /* a zero */
            if (r % 13 == k) row[(r + 1) % C] = 3e-8f;       /* below the floor */
            if (r % 17 == k) row[(r + 2) % C] = 1e-40f;      /* subnormal */
            if (r % 19 == k) row[(r + 3) % C] = 1.0f;
            if (r % 7 == 2 * k + 1)
                for (size_t c = 0; c < C; c++) row[c] = (float)NAN; /* missing */
        }
    for (size_t r = 0; r < N * C; r++) p[2][r] = (float)NAN; /* model 2 missing everywhere */
    for (int t = 0; t < 2; t++)
        for (size_t k = 0; k <= M; k++) x[t][k] = malloc(sizeof(float) * N * (k < M ? C : M));
    const size_t batches[2] = {7, 300};
    for (long hide = -1; hide < 2; hide++)
        for (int b = 0; b < 2; b++) {
            int ok = lf__learned_inputs((const float *const *)p, M, N, C, hide, 0, batches[b], x[0]) == LF_OK &&
                     lf__learned_inputs((const float *const *)p, M, N, C, hide, 1, 0, x[1]) == LF_OK;
            for (size_t k = 0; ok && k <= M; k++)
                ok = memcmp(x[0][k], x[1][k], sizeof(float) * N * (k < M ? C : M)) == 0;
            CHECK(ok, "hidden %ld, batches of %zu: the log table gives the per-batch logs' bits", hide,
                  batches[b]);
        }
    /* the last call: hide 1, the table; row 2 of model 0 plain, row 0 a
     * zero (the floor), row 1 missing; model 1 hidden */
    float want = logf(p[0][2 * C]), got = x[1][0][2 * C], floor_log = logf(1e-7f);
    CHECK(fabsf(got - want) <= 1e-6f * fabsf(want) && fabsf(x[1][0][0] - floor_log) <= 1e-6f * fabsf(floor_log),
          "logs %g (libm %g), a zero at the floor's %g", (double)got, (double)want, (double)x[1][0][0]);
    CHECK(x[1][0][C] == 0.0f && x[1][M][M] == 0.0f && x[1][1][C] == 0.0f && x[1][M][M + 1] == 0.0f &&
              x[1][M][0] == 1.0f,
          "missing and hidden: 0 and mask 0 (%g %g %g %g), present mask 1 (%g)", (double)x[1][0][C],
          (double)x[1][M][M], (double)x[1][1][C], (double)x[1][M][M + 1], (double)x[1][M][0]);
    for (int t = 0; t < 2; t++)
        for (size_t k = 0; k <= M; k++) free(x[t][k]);
    for (size_t k = 0; k < M; k++) free(p[k]);
}

int main(void) {
    test_pick();
    test_gradient();
    test_product_start();
    test_cv_choice();
    test_rules();
    test_file();
    test_log_table();
    return check_report("test_shrinkage");
}
