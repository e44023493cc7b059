/*
 * test_loss.c — the softmax cross-entropy on logits (lf_loss_eval, fused)
 * against a long double hand computation: loss to 1e-12 relative, every
 * gradient within a float rounding of its terms, sparse and soft targets, row weights,
 * class counts on both sides of a block (1-1500: one row wider than a block
 * takes its own path), batches across block boundaries.  A row's loss and
 * gradient do not depend on its batch or its place in it (bit for bit),
 * logits 1000 apart give exact zeros (no garbage from exp's range), and the
 * loss is the same without gradients asked for.
 */
#include "check.h"
#include "model.h"

#include <stdint.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;
static double uniform(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* the loss sum_r w_r l_r and gradients of rows in long double */
static long double reference(int sparse, const float *z, const float *t, const float *w, size_t B, size_t D,
                             double B_norm, long double *g, long double *scale) {
    long double total = 0;
    for (size_t r = 0; r < B; r++) {
        const float *zr = z + r * D, *tr = t + r * (sparse ? 1 : D);
        long double mx = zr[0], s = 0, tsum = 0, l = 0, wr = w ? w[r] : 1.0L;
        for (size_t j = 1; j < D; j++) mx = zr[j] > mx ? zr[j] : mx;
        for (size_t j = 0; j < D; j++) s += expl((long double)zr[j] - mx);
        long double lse = mx + logl(s);
        for (size_t j = 0; j < D; j++) {
            long double tj = sparse ? (j == (size_t)tr[0]) : tr[j];
            tsum += tj;
            l -= tj * ((long double)zr[j] - lse);
        }
        for (size_t j = 0; j < D; j++) {
            long double tj = sparse ? (j == (size_t)tr[0]) : tr[j];
            g[r * D + j] = wr / B_norm * (expl((long double)zr[j] - lse) * tsum - tj);
            scale[r * D + j] = wr / B_norm * (expl((long double)zr[j] - lse) * tsum + tj);
        }
        total += wr * l;
    }
    return total;
}

static void fill(float *z, float *t, float *w, int sparse, size_t B, size_t D, double spread) {
    for (size_t i = 0; i < B * D; i++) z[i] = (float)((uniform() - 0.5) * spread);
    for (size_t r = 0; r < B; r++) {
        w[r] = (float)(0.25 + uniform());
        if (sparse) t[r] = (float)(size_t)(uniform() * (double)D);
        else /* soft targets summing to about 0.9-1.1, not 1 */
            for (size_t j = 0; j < D; j++) t[r * D + j] = (float)((0.9 + 0.2 * uniform()) * 2.0 * uniform() / (double)D);
    }
}

/* lf_loss_eval against the reference, and against itself row by row */
static void check_case(int sparse, size_t B, size_t D, double spread) {
    size_t tc = sparse ? 1 : D;
    float *z = calloc(B * D, sizeof *z), *t = calloc(B * tc, sizeof *t), *w = calloc(B, sizeof *w);
    float *dy = malloc(B * D * sizeof *dy), *dy1 = malloc(D * sizeof *dy1);
    long double *g = malloc(B * D * sizeof *g), *scale = malloc(B * D * sizeof *scale);
    fill(z, t, w, sparse, B, D, spread);
    lf_loss loss = sparse ? LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY : LF_LOSS_CATEGORICAL_CROSSENTROPY;
    double B_norm = (double)B;
    size_t right = 0, right0 = 0;
    double got = lf_loss_eval(loss, 1, NULL, z, t, w, B, D, B_norm, dy, &right);
    long double want = reference(sparse, z, t, w, B, D, B_norm, g, scale);
    CHECK(fabsl((long double)got - want) <= 1e-12L * fabsl(want) + 1e-300L,
          "%s B=%zu D=%zu spread %g: loss %.17g, by hand %.17Lg", sparse ? "sparse" : "soft", B, D, spread, got,
          want);
    /* p sum(t) - t cancels: the error is measured against its terms' size;
     * exps below FLT_MIN are kept as subnormal floats (2e-45 absolute) */
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < B * D; i++) {
        double e = (double)(fabsl((long double)dy[i] - g[i]) / (scale[i] + 2e-45L / 1.2e-7L));
        if (e > worst) worst = e, at = i;
    }
    CHECK(worst <= 1.2e-7, "%s B=%zu D=%zu: gradient %zu is %.3g off (relative to its terms) the hand value "
          "(%.9g, %.9Lg)", sparse ? "sparse" : "soft", B, D, at, worst, dy[at], g[at]);
    double alone = lf_loss_eval(loss, 1, NULL, z, t, w, B, D, B_norm, NULL, &right0);
    CHECK(alone == got && right0 == right, "B=%zu D=%zu: without gradients the loss is %.17g, not %.17g", B, D,
          alone, got);
    /* every row alone, in a batch of one: the same bits */
    int same = 1;
    double sum = 0;
    size_t right1 = 0;
    for (size_t r = 0; r < B; r++) {
        sum += lf_loss_eval(loss, 1, NULL, z + r * D, t + r * tc, w + r, 1, D, B_norm, dy1, &right1);
        same = same && memcmp(dy1, dy + r * D, D * sizeof *dy1) == 0;
    }
    CHECK(same && right1 == right, "B=%zu D=%zu: a row's gradient depends on its batch", B, D);
    CHECK(fabs(sum - got) <= 1e-13 * fabs(got), "B=%zu D=%zu: rows alone sum to %.17g, the batch %.17g", B, D,
          sum, got);
    free(z), free(t), free(w), free(dy), free(dy1), free(g), free(scale);
}

/* logits 1000 and more apart: the far ones' probabilities are exactly 0 */
static void test_far_logits(void) {
    float z[4] = {0.0f, -1000.0f, 5.0f, -3.0e38f}, t[1] = {2.0f}, dy[4];
    size_t right = 0;
    double l = lf_loss_eval(LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 1, NULL, z, t, NULL, 1, 4, 1.0, dy, &right);
    double want = log1p(exp(-5.0));
    CHECK(fabs(l - want) < 1e-15, "far logits: loss %.17g, by hand %.17g", l, want);
    CHECK(dy[1] == 0.0f && dy[3] == 0.0f, "far logits: gradients %g %g, not exactly 0", dy[1], dy[3]);
    CHECK(fabsf(dy[0] - (float)(exp(-5.0) / (1 + exp(-5.0)))) < 1e-10f, "far logits: gradient %g",
          dy[0]);
    CHECK(right == 1, "far logits: the argmax is class 2");
}

/* lf_model_set_from_logits (Keras' from_logits=True): binary cross-entropy
 * on a linear output's values z, by hand: softplus(z) - t z, gradient
 * (sigmoid(z) - t) / B; and its error paths */
static void test_from_logits(void) {
    lf_model *m;
    lf_model_create(&m, 1);
    int in = lf_input(m, 1, "x");
    int out = lf_dense(m, in, 1, LF_ACT_LINEAR, 1, "z");
    CHECK(lf_model_set_from_logits(m, 0, 1) == LF_ERR_STATE, "from_logits before compile: not refused");
    lf_model_compile(m, out, LF_LOSS_MSE, NULL);
    CHECK(lf_model_set_from_logits(m, 0, 1) == LF_ERR_ARG &&
              strcmp(lf_model_error(m), "from_logits needs a crossentropy loss; output 'z' has mse") == 0,
          "from_logits with mse: %s", lf_model_error(m));
    CHECK(lf_model_set_from_logits(m, 1, 1) == LF_ERR_ARG, "from_logits of output 1 of 1: not refused");
    lf_model_free(m);

    float y[2] = {2.0f, -1.0f}, t[2] = {1.0f, 1.0f}, dy[2];
    double l = lf_loss_eval(LF_LOSS_BINARY_CROSSENTROPY, 2, y, y, t, NULL, 2, 1, 2.0, dy, NULL);
    double want = (log1p(exp(-2.0)) + log1p(exp(1.0)));
    CHECK(fabs(l - want) < 1e-12, "from_logits loss %.17g, by hand %.17g", l, want);
    CHECK(fabsf(dy[0] - (float)((1 / (1 + exp(-2.0)) - 1) / 2)) < 1e-8f &&
              fabsf(dy[1] - (float)((1 / (1 + exp(1.0)) - 1) / 2)) < 1e-8f,
          "from_logits gradients %g %g", dy[0], dy[1]);
}

int main(void) {
    static const size_t Ds[] = {1, 2, 3, 10, 63, 255, 256, 511, 512, 513, 1500};
    static const size_t Bs[] = {1, 7, 52, 64, 200};
    for (size_t i = 0; i < sizeof Ds / sizeof Ds[0]; i++)
        for (size_t k = 0; k < sizeof Bs / sizeof Bs[0]; k++)
            for (int sparse = 0; sparse < 2; sparse++) {
                check_case(sparse, Bs[k], Ds[i], 8.0);
                if (k == 2) check_case(sparse, Bs[k], Ds[i], 90.0);
            }
    test_far_logits();
    test_from_logits();
    return check_report("test_loss");
}
