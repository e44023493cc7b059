/*
 * test_fusion.c — the fusion API end to end: every method on small inputs
 * computed by hand (or by a property that only the right answer has),
 * missing outputs, logits, calibration, what learned methods learn,
 * how learned methods train (their rows with modality dropout and the moving
 * average of the weights, replayed step by step; stack-lr's L2 penalty),
 * cross-validation without leakage, the comparison table, the fusion file
 * (round trip bit for bit for every method, tampering rejected), and the
 * exact input-validation messages.
 */
#include "check.h"
#include "fusion/method.h"
#include "latefuse.h"
#include "model.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *names2[2] = {"image", "text"};

static unsigned long long rs = 1;
static float urand(void) {
    rs = rs * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)(rs >> 40) / 16777216.0f;
}

/* two models over C classes, each sharp on its own half of the classes;
 * every 10th row has one model missing */
static void make_task(float **p, int *y, size_t N, size_t C, int with_missing) {
    for (size_t r = 0; r < N; r++) {
        y[r] = (int)(r % C);
        for (int k = 0; k < 2; k++) {
            float *row = p[k] + r * C;
            int good = k == 0 ? (size_t)y[r] < C / 2 : (size_t)y[r] >= C / 2;
            double s = 0;
            for (size_t c = 0; c < C; c++) {
                row[c] = urand() + ((int)c == y[r] ? (good ? 3.0f : 0.3f) : 0.0f);
                s += row[c];
            }
            for (size_t c = 0; c < C; c++) row[c] = (float)(row[c] / s);
        }
        if (with_missing && r % 10 == 3)
            for (size_t c = 0; c < C; c++) p[(r / 10) % 2][r * C + c] = NAN;
    }
}

/* each model confidently names the wrong class of a pair (0-1, 2-3, ...)
 * where it does not know the class (C even): the mean rule errs on about
 * half the rows, a pool that weights each model by class on none; so the
 * inner cross-validation must choose a weak penalty */
static void mislead(float **p, const int *y, size_t N, size_t C) {
    for (size_t r = 0; r < N; r++)
        for (int k = 0; k < 2; k++) {
            float *row = p[k] + r * C;
            int good = k == 0 ? (size_t)y[r] < C / 2 : (size_t)y[r] >= C / 2;
            if (good || isnan(row[0])) continue;
            double s = 0;
            for (size_t c = 0; c < C; c++) s += row[c] = urand() + ((int)c == (y[r] ^ 1) ? 3.0f : 0.0f);
            for (size_t c = 0; c < C; c++) row[c] = (float)(row[c] / s);
        }
}

static lf_fusion *fit(lf_method m, const float *const *p, size_t M, size_t N, size_t C, const int *y,
                      int calibrate, int logits) {
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = m, o.calibrate = calibrate, o.logits = logits;
    lf_status st = lf_fusion_fit(f, p, names2, M, N, C, y, &o);
    CHECK(st == LF_OK, "fit %s: %s", lf_method_name(m), lf_fusion_error(f));
    return f;
}

static void test_names(void) {
    lf_method ms[64];
    size_t n = lf_method_list(ms, 64);
    CHECK(n == 23 && ms[0] == LF_FUSE_MEAN && ms[14] == LF_FUSE_GATE && ms[16] == LF_FUSE_GES_LOG &&
              ms[17] == LF_FUSE_KNORA_E && ms[20] == LF_FUSE_LCA && ms[22] == LF_FUSE_BKS,
          "%zu methods", n);
    for (size_t i = 0; i < n; i++) CHECK(lf_method_parse(lf_method_name(ms[i])) == (int)ms[i], "name %d", ms[i]);
    CHECK(lf_method_parse("auto") == LF_FUSE_AUTO && lf_method_family(LF_FUSE_AUTO) == -1, "auto");
    CHECK(lf_method_family(LF_FUSE_BORDA) == LF_FAMILY_FIXED &&
              lf_method_family(LF_FUSE_DECISION_TEMPLATE) == LF_FAMILY_CLASSICAL &&
              lf_method_family(LF_FUSE_STACK_LR) == LF_FAMILY_LEARNED, "families");
    /* exactly the four dynamic-selection methods search features */
    size_t searching = 0;
    for (size_t i = 0; i < n; i++) searching += (size_t)lf_method_takes_features(ms[i]);
    CHECK(searching == 4 && lf_method_takes_features(LF_FUSE_KNORA_E) && lf_method_takes_features(LF_FUSE_KNORA_U) &&
              lf_method_takes_features(LF_FUSE_OLA) && lf_method_takes_features(LF_FUSE_LCA) &&
              !lf_method_takes_features(LF_FUSE_AUTO) && !lf_method_takes_features((lf_method)99),
          "methods that take features: %zu", searching);
    CHECK(strcmp(lf_method_name(LF_FUSE_WAVG_CLASS), "wavg-class") == 0, "wavg-class");
    CHECK(strcmp(lf_method_name(LF_FUSE_DECISION_TEMPLATE), "decision-template") == 0, "d-t");
    CHECK(lf_method_parse("WAVG") == -1 && lf_method_name((lf_method)99) == NULL, "unknown");
}

/* the fixed rules through the API, against hand computation */
static void test_rules_by_hand(void) {
    /* 2 models x 2 rows x 3 classes */
    float a[6] = {0.5f, 0.3f, 0.2f, 0.1f, 0.1f, 0.8f};
    float b[6] = {0.2f, 0.6f, 0.2f, NAN, NAN, NAN};
    const float *p[2] = {a, b};
    int y[2] = {1, 2};
    float out[6];
    lf_fusion *f = fit(LF_FUSE_MEAN, p, 2, 2, 3, y, 0, 0);
    CHECK(lf_fusion_predict(f, p, 2, out) == LF_OK, "predict");
    float want_mean[6] = {0.35f, 0.45f, 0.2f, 0.1f, 0.1f, 0.8f}; /* row 2: only model a */
    CHECK_CLOSE("mean", out, want_mean, 6, 1e-6, 0);
    lf_fusion_free(f);
    f = fit(LF_FUSE_PRODUCT, p, 2, 2, 3, y, 0, 0);
    lf_fusion_predict(f, p, 2, out);
    double g0 = sqrt(0.5 * 0.2), g1 = sqrt(0.3 * 0.6), g2 = sqrt(0.2 * 0.2), s = g0 + g1 + g2;
    float want_prod[6] = {(float)(g0 / s), (float)(g1 / s), (float)(g2 / s), 0.1f, 0.1f, 0.8f};
    CHECK_CLOSE("product", out, want_prod, 6, 1e-6, 0);
    /* a model missing everywhere (NULL): the other model's output */
    const float *only_a[2] = {a, NULL};
    lf_fusion_predict(f, only_a, 2, out);
    CHECK_CLOSE("product without text", out, a, 6, 1e-6, 0);
    /* no model present: uniform */
    const float *none[2] = {NULL, NULL};
    lf_fusion_predict(f, none, 1, out);
    float unif[3] = {1.0f / 3, 1.0f / 3, 1.0f / 3};
    CHECK_CLOSE("no model present", out, unif, 3, 1e-7, 0);
    lf_fusion_free(f);
    f = fit(LF_FUSE_MAX, p, 2, 2, 3, y, 0, 0);
    lf_fusion_predict(f, p, 1, out);
    float want_max[3] = {0.5f / 1.3f, 0.6f / 1.3f, 0.2f / 1.3f};
    CHECK_CLOSE("max", out, want_max, 3, 1e-6, 0);
    lf_fusion_free(f);
    /* logits: softmax first */
    float la[3] = {0, 1, 2}, lb[3] = {2, 1, 0};
    const float *pl[2] = {la, lb};
    f = fit(LF_FUSE_MEAN, pl, 2, 1, 3, y, 0, 1);
    lf_fusion_predict(f, pl, 1, out);
    const double E = exp(1.0), e0 = 1 / (1 + E + E * E);
    float want_l[3] = {(float)((e0 + e0 * E * E) / 2), (float)(e0 * E), (float)((e0 + e0 * E * E) / 2)};
    CHECK_CLOSE("mean of softmax(logits)", out, want_l, 3, 1e-6, 0);
    CHECK(lf_fusion_logits(f) == 1, "logits stored");
    lf_fusion_free(f);
    /* acc-weighted: model a right on both rows, b right on 1 of its 1 row */
    float a2[6] = {0.2f, 0.7f, 0.1f, 0.1f, 0.1f, 0.8f}, b2[6] = {0.6f, 0.3f, 0.1f, 0.1f, 0.1f, 0.8f};
    const float *p2[2] = {a2, b2};
    f = fit(LF_FUSE_ACC_WEIGHTED, p2, 2, 2, 3, y, 0, 0);
    float w[2];
    size_t rows, cols;
    CHECK(lf_fusion_weights(f, w, 2, &rows, &cols) == 2 && rows == 2 && cols == 1, "weights count");
    float want_w[2] = {1.0f / 1.5f, 0.5f / 1.5f};
    CHECK_CLOSE("acc-weighted weights", w, want_w, 2, 1e-6, 0);
    lf_fusion_predict(f, p2, 1, out);
    float want_aw[3] = {0.2f * 2 / 3 + 0.6f / 3, 0.7f * 2 / 3 + 0.3f / 3, 0.1f};
    CHECK_CLOSE("acc-weighted output", out, want_aw, 3, 1e-6, 0);
    lf_fusion_free(f);
}

static void test_learned(void) {
    size_t N = 800, C = 4;
    float *p[2] = {malloc(N * C * sizeof(float)), malloc(N * C * sizeof(float))};
    int *y = malloc(N * sizeof *y);
    make_task(p, y, N, C, 1);
    mislead(p, y, N, C);
    float *out = malloc(N * C * sizeof *out);
    /* wavg-class: image trusted on classes 0-1, text on 2-3 (each misleads
     * on the others: the penalty must be weak for the weights to move) */
    lf_fusion *f = fit(LF_FUSE_WAVG_CLASS, (const float *const *)p, 2, N, C, y, 0, 0);
    float w[8];
    size_t rows, cols;
    CHECK(lf_fusion_weights(f, w, 8, &rows, &cols) == 8 && rows == 2 && cols == 4, "wavg-class shape");
    CHECK(w[0] > 0.8f && w[1] > 0.8f && w[6] > 0.8f && w[7] > 0.8f,
          "wavg-class weights image %.3f %.3f %.3f %.3f", w[0], w[1], w[2], w[3]);
    CHECK(fabsf(w[0] + w[4] - 1) < 1e-6f, "per-class weights sum to 1");
    CHECK(lf_fusion_predict(f, (const float *const *)p, N, out) == LF_OK, "predict");
    double m[LF_NUM_METRICS];
    lf_fusion_metrics(out, y, N, C, m);
    CHECK(m[LF_METRIC_ACCURACY] > 0.9, "wavg-class accuracy %.3f", m[LF_METRIC_ACCURACY]);
    double s = 0;
    for (size_t c = 0; c < C; c++) s += out[c];
    CHECK(fabs(s - 1) < 1e-5, "rows sum to 1: %g", s);
    float l2 = -1;
    CHECK(lf_fusion_penalty(f, &l2) && strstr(lf_fusion_penalty(f, NULL), "cross-validation") && l2 <= 0.01f,
          "wavg-class: the penalty %g (%s), expected a weak one by cross-validation", (double)l2,
          lf_fusion_penalty(f, NULL) ? lf_fusion_penalty(f, NULL) : "none");
    lf_fusion_free(f);
    /* wavg: the informative model gets the weight when the other is
     * confidently wrong in every row (the penalty, weaker than the
     * strongest, still pulls the weights towards 1/2) */
    for (size_t r = 0; r < N; r++) {
        float *row = p[1] + r * C;
        double sum = 0;
        for (size_t c = 0; c < C; c++) sum += row[c] = urand() + ((int)c == (y[r] + 1) % (int)C ? 3.0f : 0.0f);
        for (size_t c = 0; c < C; c++) row[c] = (float)(row[c] / sum);
    }
    f = fit(LF_FUSE_WAVG, (const float *const *)p, 2, N, C, y, 0, 0);
    CHECK(lf_fusion_weights(f, w, 2, &rows, &cols) == 2 && w[0] > 0.65f && fabsf(w[0] + w[1] - 1) < 1e-6f &&
              lf_fusion_penalty(f, &l2) && l2 < 1.0f,
          "wavg weights %.3f %.3f (penalty %g)", w[0], w[1], lf_fusion_penalty(f, &l2) ? (double)l2 : -1.0);
    lf_fusion_free(f);
    /* every learned method copes with a modality absent at prediction */
    for (int mth = LF_FUSE_STACK_LR; mth <= LF_FUSE_GATE; mth++) {
        make_task(p, y, N, C, 1);
        f = fit(mth, (const float *const *)p, 2, N, C, y, 0, 0);
        const float *only_image[2] = {p[0], NULL};
        CHECK(lf_fusion_predict(f, only_image, N, out) == LF_OK, "%s predict", lf_method_name(mth));
        lf_fusion_metrics(out, y, N, C, m);
        /* image alone is right on classes 0-1 (half the rows) and about
         * 1/2 on the others: ~0.6-0.75 */
        CHECK(m[LF_METRIC_ACCURACY] > 0.55 && m[LF_METRIC_ACCURACY] < 0.95,
              "%s with the text model absent: accuracy %.3f", lf_method_name(mth), m[LF_METRIC_ACCURACY]);
        lf_fusion_predict(f, (const float *const *)p, N, out);
        lf_fusion_metrics(out, y, N, C, m);
        CHECK(m[LF_METRIC_ACCURACY] > 0.9, "%s accuracy %.3f", lf_method_name(mth), m[LF_METRIC_ACCURACY]);
        lf_fusion_free(f);
    }
    free(p[0]), free(p[1]), free(y), free(out);
}

/* ------------------------------------------ how the learned methods train */

/* The replay of a learned method's training rows: code = row << 2 |
 * (hidden model + 1), two models, both present in every row. */
typedef struct replay_rows {
    const float *const *p;
    const int *y;
    const size_t *code;
    size_t C;
} replay_rows;

static void replay_gather(void *ctx, const size_t *ids, size_t n, float *const *x, float *t) {
    const replay_rows *rr = ctx;
    size_t C = rr->C;
    for (size_t i = 0; i < n; i++) {
        size_t row = rr->code[ids[i]] >> 2;
        long hide = (long)(rr->code[ids[i]] & 3) - 1;
        for (size_t k = 0; k < 2; k++) {
            int present = (long)k != hide;
            x[2][i * 2 + k] = present ? 1.0f : 0.0f;
            for (size_t c = 0; c < C; c++) x[k][i * C + c] = present ? rr->p[k][row * C + c] : 0.0f;
        }
        t[i] = (float)rr->y[row];
    }
}

/* A learned method's training written out on a small task (both models in
 * every row, 30 epochs, seed 5; under 100 rows no validation split):
 *  - the rows: each row, and with probability 0.5 (modality_dropout) a copy
 *    with one of its two models hidden (lf_rng_uniform < 0.5, then
 *    lf_rng_below(2) picks the model), drawn from a generator seeded with
 *    seed ^ 0x6c66757365, which then shuffles them (Fisher-Yates);
 *  - the network: lf_learned_build on a model seeded with `seed`, fit in
 *    the method's batches (wavg 64, gate 32: one batch per epoch here)
 *    with the fit's seed;
 *  - the weights kept: the moving average of the weights after each step,
 *    momentum 1 - 10 / steps (0 at the first step, as Keras' use_ema).
 * The fitted network's weights must be exactly that average: without the
 * average they would be the last step's, without modality dropout the
 * network would have trained on other rows. */
static void replay_learned(lf_method method, size_t N, size_t batch, float strongest) {
    enum { C = 3, E = 30 };
    const uint64_t seed = 5;
    float *p[2] = {malloc(N * C * sizeof(float)), malloc(N * C * sizeof(float))};
    int *y = malloc(N * sizeof *y);
    size_t *code = malloc(2 * N * sizeof *code), n = 0, copies = 0;
    make_task(p, y, N, C, 0);
    /* the training rows */
    lf_rng rng;
    lf_rng_seed(&rng, seed ^ 0x6c66757365ull);
    for (size_t r = 0; r < N; r++) {
        code[n++] = r << 2;
        if (lf_rng_uniform(&rng) < 0.5f) code[n++] = r << 2 | (size_t)(lf_rng_below(&rng, 2) + 1), copies++;
    }
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)lf_rng_below(&rng, i), tmp = code[i - 1];
        code[i - 1] = code[j], code[j] = tmp;
    }
    const char *name = lf_method_name(method);
    CHECK(copies >= N / 4 && n <= batch, "%s: the task needs copies and one batch per epoch: %zu rows, %zu copies",
          name, n, copies);
    /* the weights after each step, by fits of 1..E epochs from scratch */
    replay_rows rr = {(const float *const *)p, y, code, C};
    lf_row_source src = {n, replay_gather, &rr, NULL, 0};
    const float mom = (float)(1.0 - 10.0 / E);
    float *avg = NULL;
    size_t P = 0;
    for (size_t k = 1; k <= E; k++) {
        lf_model *net;
        lf_model_create(&net, seed);
        /* fewer than 50 rows: the strongest penalty of the method's grid */
        CHECK(lf_learned_build(net, method, 2, C, strongest) == LF_OK, "%s: build: %s", name, lf_model_error(net));
        lf_fit_options fo = lf_fit_defaults();
        fo.batch_size = batch, fo.epochs = k, fo.seed = seed;
        CHECK(lf_model_fit_source(net, &src, &fo) == LF_OK, "%s: replay: %s", name, lf_model_error(net));
        if (!avg) P = net->n_params, avg = calloc(P, sizeof *avg);
        float m = k == 1 ? 0.0f : mom;
        for (size_t i = 0; i < P; i++) avg[i] = m * avg[i] + (1.0f - m) * net->params[i];
        lf_model_free(net);
    }
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = method, o.epochs = E, o.seed = seed;
    CHECK(o.modality_dropout == 0.5f, "default modality dropout %g", (double)o.modality_dropout);
    CHECK(lf_fusion_fit(f, (const float *const *)p, names2, 2, N, C, y, &o) == LF_OK, "%s: fit: %s", name,
          lf_fusion_error(f));
    float l2 = -1;
    const char *how = lf_fusion_penalty(f, &l2);
    CHECK(how && strstr(how, "fewer than 50") && l2 == strongest, "%s on %zu rows: the penalty %g (%s), expected %g",
          name, N, (double)l2, how ? how : "none", (double)strongest);
    CHECK(((lf_model *)f->state) && ((lf_model *)f->state)->opt.use_ema == 1 && ((lf_model *)f->state)->opt.ema_momentum == mom,
          "%s: the network keeps no moving average of momentum %g", name, (double)mom);
    size_t diff = 0;
    for (size_t i = 0; ((lf_model *)f->state) && ((lf_model *)f->state)->n_params == P && i < P; i++) diff += ((lf_model *)f->state)->params[i] != avg[i];
    CHECK(((lf_model *)f->state) && ((lf_model *)f->state)->n_params == P && diff == 0,
          "%s: %zu of %zu weights are not the moving average of the replayed steps (weight 0: %.9g, expected "
          "%.9g)", name, diff, P, ((lf_model *)f->state) ? (double)((lf_model *)f->state)->params[0] : 0.0, (double)avg[0]);
    lf_fusion_free(f);
    free(avg), free(p[0]), free(p[1]), free(y), free(code);
}

/* The learned methods' training list with a validation split: the
 * validation rows are whole rows, their modality-dropout copies on their
 * side, so early stopping never scores a row trained on in another form */
static void test_learned_rows(void) {
    enum { N = 500, C = 4, M = 3 };
    float *p[M];
    for (size_t k = 0; k < M; k++) p[k] = malloc(N * C * sizeof(float));
    int y[N];
    make_task(p, y, N, C, 1); /* models 0 and 1; every 10th row lacks one */
    for (size_t r = 0; r < N * C; r++) p[2][r] = p[0][r];
    for (size_t r = 5; r < N; r += 50) /* and no model at all in ten rows */
        for (size_t k = 0; k < M; k++)
            for (size_t c = 0; c < C; c++) p[k][r * C + c] = NAN;
    lf_probs pr = {.M = M, .N = N, .C = C, .p = p};
    const unsigned shift = 2;
    lf_ids code;
    CHECK(lf_ids_alloc(&code, 2 * N, (uint64_t)(N - 1) << shift | M) == 0, "ids");
    size_t n = 0, n_val = 0, R = 0, side[N], originals[N] = {0}, val_originals = 0, bad_copies = 0;
    CHECK(lf_learned_rows(&pr, 0.5f, 9, shift, code, &n, &n_val) == LF_OK, "lf_learned_rows");
    for (size_t r = 0; r < N; r++) side[r] = 2, R += r % 50 != 5;
    size_t split_rows = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t c = lf_ids_get(code, i);
        size_t r = (size_t)(c >> shift), hide = (size_t)(c & 3), s = i >= n - n_val;
        if (!hide) originals[r]++, val_originals += s;
        else bad_copies += hide > M || isnan(p[hide - 1][r * C]); /* a copy hides a present model */
        if (side[r] == 2) side[r] = s;
        split_rows += side[r] != s;
    }
    size_t once = 0;
    for (size_t r = 0; r < N; r++) once += originals[r] == (r % 50 != 5);
    CHECK(n > R + R / 3 && n < R + 2 * R / 3 && bad_copies == 0 && once == N,
          "%zu codes for %zu rows with a model (copies with a model hidden: %zu bad); %zu rows listed once",
          n, R, bad_copies, once);
    size_t want = R - (size_t)((double)R * (1.0 - (double)0.1f)); /* as lf_model_fit's split 0.1f */
    CHECK(val_originals == want && n_val >= val_originals && n_val < 2 * val_originals,
          "%zu validation codes, %zu of them rows (expected %zu of %zu rows)", n_val, val_originals, want, R);
    CHECK(split_rows == 0, "%zu codes of a row on the other side of the validation split than its first", split_rows);
    /* without modality dropout: the rows with a model, shuffled (Fisher-Yates
     * from the generator seeded with seed ^ 0x6c66757365) and split as
     * lf_model_fit splits them */
    size_t plain[N], np = 0;
    for (size_t r = 0; r < N; r++)
        if (r % 50 != 5) plain[np++] = r;
    lf_rng rng;
    lf_rng_seed(&rng, 9 ^ 0x6c66757365ull);
    for (size_t i = np; i > 1; i--) {
        size_t j = (size_t)lf_rng_below(&rng, i), tmp = plain[i - 1];
        plain[i - 1] = plain[j], plain[j] = tmp;
    }
    CHECK(lf_learned_rows(&pr, 0.0f, 9, shift, code, &n, &n_val) == LF_OK && n == np && n_val == want,
          "no modality dropout: %zu codes, %zu validating (expected %zu, %zu)", n, n_val, np, want);
    size_t same = 0;
    for (size_t i = 0; i < n && i < np; i++) same += lf_ids_get(code, i) == (uint64_t)plain[i] << shift;
    CHECK(same == np, "no modality dropout: %zu of %zu codes in the plain shuffle's order", same, np);
    /* under LEARNED_VAL_MIN codes: no validation rows */
    pr.N = 40;
    CHECK(lf_learned_rows(&pr, 0.5f, 9, shift, code, &n, &n_val) == LF_OK && n < LEARNED_VAL_MIN && n_val == 0,
          "40 rows: %zu codes, %zu validating", n, n_val);
    lf_ids_free(&code);
    for (size_t k = 0; k < M; k++) free(p[k]);
}

static void test_learned_replay(void) {
    replay_learned(LF_FUSE_WAVG, 40, 64, 1.0f);
    replay_learned(LF_FUSE_GATE, 20, 32, 100.0f);
}

/* stack-lr's loss carries the L2 penalty it chose times the sum of its
 * correction kernel's squares: evaluate's loss less the cross-entropy of
 * its predictions */
static void test_stack_lr_l2(void) {
    enum { N = 200, C = 3 };
    float *p[2] = {malloc(N * C * sizeof(float)), malloc(N * C * sizeof(float))};
    int y[N];
    float yf[N], mask[2 * N], out[N * C];
    make_task(p, y, N, C, 0);
    lf_fusion *f = fit(LF_FUSE_STACK_LR, (const float *const *)p, 2, N, C, y, 0, 0);
    lf_model *net = ((lf_model *)f->state);
    size_t shape[2], cnt = 0;
    CHECK(net && lf_layer_weight_shape(net, "correction", 0, shape, &cnt) == LF_OK && cnt == C * (2 * C + 2),
          "stack-lr kernel: %zu values", cnt);
    float *k = malloc((cnt ? cnt : 1) * sizeof *k), l2 = 0;
    lf_get_weights(net, "correction", 0, k, cnt);
    CHECK(lf_fusion_penalty(f, &l2) && l2 >= 0.003f && l2 <= 0.1f, "stack-lr's penalty %g", (double)l2);
    double pen = 0;
    for (size_t j = 0; j < cnt; j++) pen += (double)k[j] * k[j];
    pen *= l2;
    /* any inputs do: the network's own (log p, mask) */
    float *lp[2] = {malloc(N * C * sizeof(float)), malloc(N * C * sizeof(float))};
    for (size_t i = 0; i < N * C; i++) lp[0][i] = logf(p[0][i]), lp[1][i] = logf(p[1][i]);
    for (size_t i = 0; i < 2 * N; i++) mask[i] = 1;
    for (size_t r = 0; r < N; r++) yf[r] = (float)y[r];
    const float *x[3] = {lp[0], lp[1], mask};
    double loss = 0, ce = 0;
    CHECK(lf_model_evaluate(net, x, yf, N, NULL, &loss, NULL) == LF_OK, "evaluate: %s", lf_model_error(net));
    CHECK(lf_model_predict(net, x, N, out) == LF_OK, "predict");
    for (size_t r = 0; r < N; r++) ce -= log((double)out[r * C + (size_t)y[r]]);
    ce /= N;
    CHECK(pen > 1e-5 && fabs(loss - ce - pen) < 1e-2 * pen,
          "stack-lr: loss %.9g - cross-entropy %.9g = %.3g, expected the L2 penalty %.3g", loss, ce, loss - ce,
          pen);
    lf_fusion_free(f);
    free(k), free(p[0]), free(p[1]), free(lp[0]), free(lp[1]);
}

static void test_calibration(void) {
    /* a model whose outputs are softmax(3 * log q) of calibrated q */
    size_t N = 3000, C = 3;
    float *p = malloc(N * C * sizeof *p);
    int *y = malloc(N * sizeof *y);
    for (size_t r = 0; r < N; r++) {
        float q[3] = {0.6f, 0.3f, 0.1f};
        size_t rot = r % 3;
        double z[3], s = 0;
        for (size_t c = 0; c < 3; c++) z[c] = exp(3.0 * log(q[(c + rot) % 3])), s += z[c];
        for (size_t c = 0; c < 3; c++) p[r * 3 + c] = (float)(z[c] / s);
        /* labels in the calibrated proportions 6:3:1 per block of 10 */
        size_t j = (r / 3) % 10, cls = j < 6 ? 0 : j < 9 ? 1 : 2;
        y[r] = (int)((cls + 3 - rot) % 3);
    }
    const float *pp[2] = {p, p};
    lf_fusion *f = fit(LF_FUSE_MEAN, pp, 2, N, C, y, 1, 0);
    CHECK(lf_fusion_calibrated(f) && fabsf(lf_fusion_temperature(f, 0) - 3.0f) < 0.01f,
          "temperature %g, expected 3", lf_fusion_temperature(f, 0));
    float out[3];
    lf_fusion_predict(f, pp, 1, out);
    float want[3] = {0.6f, 0.3f, 0.1f};
    CHECK_CLOSE("calibrated output", out, want, 3, 2e-3, 0);
    lf_fusion_free(f);
    free(p), free(y);
}

static void test_compare(void) {
    size_t N = 400, C = 4;
    float *p[2] = {malloc(N * C * sizeof(float)), malloc(N * C * sizeof(float))};
    int *y = malloc(N * sizeof *y);
    make_task(p, y, N, C, 1);
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    lf_compare_table *t;
    lf_method ms[4] = {LF_FUSE_MEAN, LF_FUSE_VOTE, LF_FUSE_WAVG, LF_FUSE_STACK_LR};
    CHECK(lf_fusion_compare(f, (const float *const *)p, names2, 2, N, C, y, ms, 4, &o, &t) == LF_OK, "%s",
          lf_fusion_error(f));
    CHECK(t->n_rows == 4 + 2 + 1 && t->n_models == 2, "rows %zu", t->n_rows);
    CHECK(strcmp(t->rows[t->n_rows - 1].name, "oracle") == 0, "oracle last");
    for (size_t i = 0; i + 2 < t->n_rows; i++)
        CHECK(t->rows[i].mean[LF_METRIC_LOG_LOSS] <= t->rows[i + 1].mean[LF_METRIC_LOG_LOSS], "sorted");
    int seen_models = 0;
    for (size_t i = 0; i < t->n_rows; i++) {
        const lf_score_row *r = &t->rows[i];
        CHECK(r->std[LF_METRIC_ACCURACY] >= 0, "std");
        if (r->kind == LF_ROW_MODEL) seen_models++;
        if (r->kind == LF_ROW_METHOD && r->method == LF_FUSE_MEAN) {
            /* with image absent, the mean is the text model: equal accuracy */
            const lf_score_row *text = NULL;
            for (size_t j = 0; j < t->n_rows; j++)
                if (strcmp(t->rows[j].name, "model:text") == 0) text = &t->rows[j];
            CHECK(text && fabs(r->acc_without[0] - text->mean[LF_METRIC_ACCURACY]) < 0.03,
                  "mean without image %.3f vs text alone %.3f", r->acc_without[0],
                  text ? text->mean[LF_METRIC_ACCURACY] : -1);
        }
    }
    CHECK(seen_models == 2, "single-model rows");
    lf_compare_table_free(t);
    /* the same seed gives the same table; leakage-free CV on random data:
     * an MLP cannot beat chance on held-out folds */
    for (size_t r = 0; r < N; r++) {
        y[r] = (int)(urand() * C);
        for (int k = 0; k < 2; k++) {
            double s = 0;
            for (size_t c = 0; c < C; c++) s += p[k][r * C + c] = urand();
            for (size_t c = 0; c < C; c++) p[k][r * C + c] = (float)(p[k][r * C + c] / s);
        }
    }
    lf_method mlp = LF_FUSE_MLP;
    o.epochs = 200;
    CHECK(lf_fusion_compare(f, (const float *const *)p, names2, 2, N, C, y, &mlp, 1, &o, &t) == LF_OK, "%s",
          lf_fusion_error(f));
    double cv_acc = t->rows[0].mean[LF_METRIC_ACCURACY];
    CHECK(cv_acc < 0.36, "cross-validated accuracy on random labels %.3f (chance 0.25)", cv_acc);
    lf_compare_table_free(t);
    lf_fusion_free(f);
    free(p[0]), free(p[1]), free(y);
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
    size_t N = 300, C = 4;
    float *p[2] = {malloc(N * C * sizeof(float)), malloc(N * C * sizeof(float))};
    int *y = malloc(N * sizeof *y);
    make_task(p, y, N, C, 1);
    float *o1 = malloc(N * C * sizeof *o1), *o2 = malloc(N * C * sizeof *o2);
    char dir[] = "/tmp/lf_fusion_XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/f.lf", dir);
    for (int m = 0; m < LF_FUSE_AUTO; m++) {
        lf_fusion *f = fit(m, (const float *const *)p, 2, N, C, y, m % 2, 0);
        CHECK(lf_fusion_save(f, path, 0) == LF_OK, "save %s: %s", lf_method_name(m), lf_fusion_error(f));
        lf_fusion *g;
        lf_fusion_create(&g);
        CHECK(lf_fusion_load(g, path) == LF_OK, "load %s: %s", lf_method_name(m), lf_fusion_error(g));
        CHECK((int)lf_fusion_method(g) == m && lf_fusion_num_models(g) == 2 && lf_fusion_num_classes(g) == C &&
                  strcmp(lf_fusion_model_name(g, 1), "text") == 0 && lf_fusion_calibrated(g) == m % 2 &&
                  lf_fusion_temperature(g, 0) == lf_fusion_temperature(f, 0),
              "%s: settings after load", lf_method_name(m));
        lf_fusion_predict(f, (const float *const *)p, N, o1);
        lf_fusion_predict(g, (const float *const *)p, N, o2);
        CHECK(memcmp(o1, o2, N * C * sizeof *o1) == 0, "%s: loaded model predicts differently",
              lf_method_name(m));
        lf_fusion_free(f), lf_fusion_free(g);
    }
    /* the flags: LF_WRITE_NO_FSYNC writes the same bytes; the optimizer
     * flag is the network's and refused here, as any unknown bit */
    {
        char path2[80];
        snprintf(path2, sizeof path2, "%s/f2.lf", dir);
        lf_fusion *f = fit(LF_FUSE_WAVG, (const float *const *)p, 2, N, C, y, 0, 0);
        CHECK(lf_fusion_save(f, path, 0) == LF_OK && lf_fusion_save(f, path2, LF_WRITE_NO_FSYNC) == LF_OK &&
                  same_bytes(path, path2),
              "save without fsync: %s", lf_fusion_error(f));
        CHECK(lf_fusion_save(f, path2, LF_SAVE_OPTIMIZER) == LF_ERR_ARG &&
                  strcmp(lf_fusion_error(f),
                         "save: unknown flags 0x2 (a fusion model takes LF_WRITE_NO_FSYNC only)") == 0,
              "%s", lf_fusion_error(f));
        CHECK(lf_fusion_save(f, path2, 0x10) == LF_ERR_ARG &&
                  strcmp(lf_fusion_error(f),
                         "save: unknown flags 0x10 (a fusion model takes LF_WRITE_NO_FSYNC only)") == 0,
              "%s", lf_fusion_error(f));
        lf_fusion_free(f);
        unlink(path2);
    }
    /* an engine model file is not a fusion model */
    lf_model *net;
    lf_model_create(&net, 0);
    int x = lf_input(net, 2, "x");
    lf_model_compile(net, lf_dense(net, x, 2, LF_ACT_SOFTMAX, 1, "o"), LF_LOSS_MSE, NULL);
    lf_model_save(net, path, 0);
    lf_model_free(net);
    lf_fusion *g;
    lf_fusion_create(&g);
    CHECK(lf_fusion_load(g, path) == LF_ERR_FORMAT &&
              strstr(lf_fusion_error(g), "': not a latefuse fusion model but a network model (as lf_model_save"),
          "%s", lf_fusion_error(g));
    {   /* a load that fails leaves a fitted fusion as it was */
        lf_fusion *h;
        lf_fusion_create(&h);
        lf_fusion_options ho = lf_fusion_defaults();
        ho.method = LF_FUSE_PRODUCT;
        float hp[4] = {0.9f, 0.1f, 0.3f, 0.7f}, hq[4], hr[4];
        const float *hps[1] = {hp};
        const char *hn[1] = {"m"};
        int hy[2] = {0, 1};
        CHECK(lf_fusion_fit(h, hps, hn, 1, 2, 2, hy, &ho) == LF_OK && lf_fusion_predict(h, hps, 2, hq) == LF_OK, "fit");
        CHECK(lf_fusion_load(h, path) == LF_ERR_FORMAT && strstr(lf_fusion_error(h), "not a latefuse fusion model") &&
                  lf_fusion_load(h, "/nonexistent/x.lf") == LF_ERR_IO && lf_fusion_method(h) == LF_FUSE_PRODUCT &&
                  lf_fusion_predict(h, hps, 2, hr) == LF_OK && memcmp(hq, hr, sizeof hq) == 0,
              "a failed load kept the fit: %s", lf_fusion_error(h));
        /* and a fusion model's file is not a network's */
        char fpath[160];
        snprintf(fpath, sizeof fpath, "%s.fusion", path);
        lf_model *nm;
        lf_model_create(&nm, 0);
        CHECK(lf_fusion_save(h, fpath, LF_WRITE_NO_FSYNC) == LF_OK && lf_model_load(nm, fpath) == LF_ERR_FORMAT &&
                  strstr(lf_model_error(nm), "' is a latefuse fusion model, not a network model"),
              "%s", lf_model_error(nm));
        lf_model_free(nm);
        unlink(fpath);
        ho.method = LF_FUSE_ENSEMBLE;
        CHECK(lf_fusion_fit(h, hps, hn, 1, 2, 2, hy, &ho) == LF_ERR_ARG &&
                  strcmp(lf_fusion_error(h), "an ensemble is made by method auto, not fitted as a method of its own") == 0,
              "fit ensemble: %s", lf_fusion_error(h));
        double mt[LF_NUM_METRICS];
        CHECK(lf_fusion_metrics(hq, hy, 2, 2, NULL) == LF_ERR_ARG && lf_fusion_metrics(hq, hy, 2, 2, mt) == LF_OK,
              "lf_fusion_metrics without an output");
        lf_fusion_free(h);
    }
    float z[4] = {0.5f, 0.5f, 0.5f, 0.5f};
    const float *pz[1] = {z};
    CHECK(lf_fusion_predict(g, pz, 1, o1) == LF_ERR_STATE, "predict on an unfitted model");
    CHECK(lf_fusion_save(g, path, 0) == LF_ERR_STATE, "save an unfitted model");
    lf_fusion_free(g);
    unlink(path);
    rmdir(dir);
    free(p[0]), free(p[1]), free(y), free(o1), free(o2);
}

static void expect_error(const char *what, const float *const *p, size_t M, size_t N, size_t C,
                         const int *y, const char *const *names, lf_status want, const char *msg) {
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_MEAN;
    lf_status st = lf_fusion_fit(f, p, names, M, N, C, y, &o);
    CHECK(st == want && strcmp(lf_fusion_error(f), msg) == 0, "%s: got %d '%s'", what, st, lf_fusion_error(f));
    lf_fusion_free(f);
}

static void test_errors(void) {
    float a[6] = {0.5f, 0.3f, 0.2f, 0.1f, 0.1f, 0.8f}, b[6];
    const float *p[2] = {a, b};
    int y[2] = {0, 1};
    memcpy(b, a, sizeof b);
    b[4] = 0.2f;
    expect_error("row sum", p, 2, 2, 3, y, names2, LF_ERR_FORMAT,
                 "model 'text': row 1 sums to 1.1, not 1 (tolerance 1e-3; raw scores need the logits option)");
    memcpy(b, a, sizeof b);
    b[0] = -0.1f, b[1] = 0.9f;
    expect_error("negative", p, 2, 2, 3, y, names2, LF_ERR_FORMAT,
                 "model 'text': row 0, class 0 is a negative probability (-0.1)");
    memcpy(b, a, sizeof b);
    b[2] = INFINITY;
    expect_error("inf", p, 2, 2, 3, y, names2, LF_ERR_FORMAT, "model 'text': row 0, class 2 is +Inf");
    memcpy(b, a, sizeof b);
    b[3] = NAN;
    expect_error("partial NaN", p, 2, 2, 3, y, names2, LF_ERR_FORMAT,
                 "model 'text': row 1 is partly NaN (a missing output must be NaN in every column)");
    memcpy(b, a, sizeof b);
    int ybad[2] = {0, 3};
    expect_error("label", p, 2, 2, 3, ybad, names2, LF_ERR_FORMAT, "label 3 at row 1 is not a class in 0..2");
    const char *dup[2] = {"x", "x"};
    expect_error("names", p, 2, 2, 3, y, dup, LF_ERR_ARG, "model name 'x' is given twice");
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.folds = 5;
    lf_compare_table *t;
    CHECK(lf_fusion_compare(f, p, names2, 2, 2, 3, y, NULL, 0, &o, &t) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f), "5 folds need at least 5 samples, got 2") == 0,
          "%s", lf_fusion_error(f));
    lf_fusion_free(f);
    double m[LF_NUM_METRICS];
    float pr[4] = {0.8f, 0.2f, 0.4f, 0.6f};
    int yy[2] = {0, 0};
    CHECK(lf_fusion_metrics(pr, yy, 2, 2, m) == LF_OK, "metrics");
    CHECK(fabs(m[LF_METRIC_ACCURACY] - 0.5) < 1e-12 &&
              fabs(m[LF_METRIC_LOG_LOSS] - (-(log(0.8) + log(0.4)) / 2)) < 1e-6 &&
              fabs(m[LF_METRIC_BRIER] - (0.04 + 0.04 + 0.36 + 0.36) / 2) < 1e-6,
          "metrics by hand: acc %g ll %g brier %g", m[0], m[2], m[3]);
}

int main(void) {
    test_names();
    test_rules_by_hand();
    test_learned();
    test_learned_rows();
    test_learned_replay();
    test_stack_lr_l2();
    test_calibration();
    test_compare();
    test_save_load();
    test_errors();
    return check_report("test_fusion");
}
