/*
 * loss.c — the training losses, with Keras' reductions: the loss of a row is
 * averaged over its features (mse, mae, binary cross-entropy) or summed over
 * classes (categorical), and the batch loss is sum_r w_r l_r / B.
 *
 * With a softmax output and a categorical loss (or sigmoid and binary
 * cross-entropy) the loss is computed from the logits z — log-softmax /
 * log-sigmoid, stable for any z — and the gradient is returned w.r.t. z:
 * (p - t) w_r / B.  With from_logits (fused == 2, Keras' from_logits=True)
 * the output's own values are those logits, and the gradient, the same
 * (p - t) w_r / B, is w.r.t. them.  Otherwise, as Keras does, categorical outputs are
 * first divided by their sum (so an unnormalised output, e.g. a per-class
 * weighted average, is a distribution) and probabilities are clipped to
 * [1e-7, 1 - 1e-7].
 *
 * The softmax cross-entropy on logits, the loss of every classifier and of
 * the learned fusion methods, works on blocks of rows so its exp and log
 * vectorise (vmath.h, below 1e-12 relative): the row maxima, then the
 * shifted logits' exps in one flat pass, each row's sum in class order,
 * then the log of every row's sum in one pass.  No result depends on the
 * vector width or on the block size.
 */
#include "kernels.h"
#include "layers/layer.h"
#include "vmath.h"

#include <math.h>

#define CLIP_EPS 1e-7

/* values in one block of the softmax cross-entropy's exps */
enum { CE_BLOCK = 512 };

/* d[i] = exp(d[i]), in place, d[i] in [-700, 0] */
LF_CLONES static void exp_block(double *d, size_t n) {
    for (size_t i = 0; i < n; i++) d[i] = lf_exp_d(d[i]);
}

/* lse[r] = mx[r] + log s[r]: s[r] >= 1 (the row's maximum contributes 1) */
LF_CLONES static void lse_block(const double *restrict mx, const double *restrict s, double *restrict lse,
                                size_t n) {
    for (size_t r = 0; r < n; r++) lse[r] = mx[r] + lf_log_d(s[r]);
}

/* d[j] = z[j] - mx, exact in double, j < n; below -700 the exp rounds to
 * float 0 all the same */
static void shift_logits(const float *z, double mx, double *d, size_t n) {
    for (size_t j = 0; j < n; j++) {
        double v = (double)z[j] - mx;
        d[j] = v < -700.0 ? -700.0 : v;
    }
}

static float row_max(const float *z, size_t D) {
    float m = z[0];
    for (size_t j = 1; j < D; j++) m = z[j] > m ? z[j] : m;
    return m;
}

/* The end of one row, given lse = log sum_j exp(z_j) and s = sum_j
 * exp(z_j - max): returns its loss -sum_j t_j (z_j - lse); with dr, which
 * holds e_j = exp(z_j - max) as floats, turns it into the gradient
 * g (e_j / s sum(t) - t_j) (soft targets need not sum to 1). */
static double ce_row_end(int sparse, const float *zr, const float *tr, size_t D, double lse, double s, double g,
                         float *dr, size_t *right) {
    size_t label = sparse ? (size_t)tr[0] : 0;
    double inv = 1.0 / s, tsum = 1.0, l = 0;
    if (dr && !sparse) {
        tsum = 0;
        for (size_t q = 0; q < D; q++) tsum += tr[q];
    }
    for (size_t j = 0; j < D; j++) {
        double tj = sparse ? (j == label) : tr[j];
        if (tj != 0) l -= tj * ((double)zr[j] - lse);
        if (dr) dr[j] = (float)(g * ((double)dr[j] * inv * tsum - tj));
    }
    /* the softmax output may not be computed: its argmax is the logits' */
    if (right) *right += lf_argmax_f(zr, D) == (sparse ? label : lf_argmax_f(tr, D));
    return l;
}

/* rows [r0, r0 + n) whose values fill at most one block (n x D <= CE_BLOCK):
 * their exps in one pass, kept as floats in dy's rows for ce_row_end (with
 * no dy only the loss is wanted, which needs the sums alone). */
static double ce_block(int sparse, const float *z, const float *t, const float *w, size_t r0, size_t n, size_t D,
                       double B_norm, float *dy, size_t *right) {
    double d[CE_BLOCK], mx[CE_BLOCK], s[CE_BLOCK], lse[CE_BLOCK], total = 0;
    size_t tc = sparse ? 1 : D;
    for (size_t r = 0; r < n; r++) {
        mx[r] = row_max(z + (r0 + r) * D, D);
        shift_logits(z + (r0 + r) * D, mx[r], d + r * D, D);
    }
    exp_block(d, n * D);
    for (size_t r = 0; r < n; r++) {
        double sr = 0;
        for (size_t j = 0; j < D; j++) sr += d[r * D + j];
        s[r] = sr;
        if (dy)
            for (size_t j = 0; j < D; j++) dy[(r0 + r) * D + j] = (float)d[r * D + j];
    }
    lse_block(mx, s, lse, n);
    for (size_t r = 0; r < n; r++) {
        double wr = w ? w[r0 + r] : 1.0;
        float *dr = dy ? dy + (r0 + r) * D : NULL;
        total += wr * ce_row_end(sparse, z + (r0 + r) * D, t + (r0 + r) * tc, D, lse[r], s[r], wr / B_norm, dr,
                                 right);
    }
    return total;
}

/* one row wider than a block: its exps block by block, the same values */
static double ce_wide_row(int sparse, const float *zr, const float *tr, double wr, size_t D, double B_norm,
                          float *dr, size_t *right) {
    double d[CE_BLOCK], mx = row_max(zr, D), s = 0, lse;
    for (size_t j0 = 0; j0 < D; j0 += CE_BLOCK) {
        size_t n = D - j0 < CE_BLOCK ? D - j0 : CE_BLOCK;
        shift_logits(zr + j0, mx, d, n);
        exp_block(d, n);
        for (size_t j = 0; j < n; j++) {
            s += d[j];
            if (dr) dr[j0 + j] = (float)d[j];
        }
    }
    lse_block(&mx, &s, &lse, 1);
    return wr * ce_row_end(sparse, zr, tr, D, lse, s, wr / B_norm, dr, right);
}

/* The softmax cross-entropy on logits (fused) of B rows: as many rows as
 * fill a block at a time */
static double softmax_ce(int sparse, const float *z, const float *t, const float *w, size_t B, size_t D,
                         double B_norm, float *dy, size_t *right) {
    double total = 0;
    size_t tc = sparse ? 1 : D;
    if (D > CE_BLOCK) {
        for (size_t r = 0; r < B; r++)
            total += ce_wide_row(sparse, z + r * D, t + r * tc, w ? w[r] : 1.0, D, B_norm, dy ? dy + r * D : NULL,
                                 right);
        return total;
    }
    size_t per = CE_BLOCK / D;
    for (size_t r0 = 0; r0 < B; r0 += per)
        total += ce_block(sparse, z, t, w, r0, B - r0 < per ? B - r0 : per, D, B_norm, dy, right);
    return total;
}

size_t lf_loss_target_cols(lf_loss loss, size_t D) {
    return loss == LF_LOSS_NONE ? 0 : loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ? 1 : D;
}

int lf_loss_has_accuracy(lf_loss loss) {
    return loss >= LF_LOSS_BINARY_CROSSENTROPY && loss <= LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
}

/* log(1 + exp(x)) without overflow */
static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

double lf_loss_eval(lf_loss loss, int fused, const float *y, const float *z, const float *t,
                    const float *w, size_t B, size_t D, double B_norm, float *dy,
                    size_t *correct) {
    int categorical = loss == LF_LOSS_CATEGORICAL_CROSSENTROPY || loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
    if (fused && categorical)
        return D ? softmax_ce(loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, z, t, w, B, D, B_norm, dy, correct)
                 : 0.0;
    double total = 0;
    size_t right = 0;
    for (size_t r = 0; r < B; r++) {
        const float *yr = y + r * D, *zr = z ? z + r * D : NULL;
        const float *tr = t + r * lf_loss_target_cols(loss, D);
        float *dr = dy ? dy + r * D : NULL;
        double wr = w ? w[r] : 1.0, l = 0, g = wr / B_norm;
        switch (loss) {
        case LF_LOSS_MSE:
            for (size_t j = 0; j < D; j++) {
                double d = (double)yr[j] - tr[j];
                l += d * d;
                if (dr) dr[j] = (float)(g * 2.0 * d / (double)D);
            }
            l /= (double)D;
            break;
        case LF_LOSS_MAE:
            for (size_t j = 0; j < D; j++) {
                double d = (double)yr[j] - tr[j];
                l += fabs(d);
                if (dr) dr[j] = (float)(g * (d > 0 ? 1.0 : d < 0 ? -1.0 : 0.0) / (double)D);
            }
            l /= (double)D;
            break;
        case LF_LOSS_BINARY_CROSSENTROPY:
            for (size_t j = 0; j < D; j++) {
                double tj = tr[j];
                if (fused) {
                    /* -t log s(z) - (1-t) log(1-s(z)) = softplus(z) - t z */
                    double zj = zr[j], pj = fused == 2 ? 1.0 / (1.0 + exp(-zj)) : (double)yr[j];
                    l += softplus(zj) - tj * zj;
                    if (dr) dr[j] = (float)(g * (pj - tj) / (double)D);
                } else {
                    double p = yr[j];
                    p = p < CLIP_EPS ? CLIP_EPS : p > 1 - CLIP_EPS ? 1 - CLIP_EPS : p;
                    l += -(tj * log(p) + (1 - tj) * log(1 - p));
                    int clipped = yr[j] < CLIP_EPS || yr[j] > 1 - CLIP_EPS;
                    if (dr) dr[j] = clipped ? 0.0f : (float)(g * (p - tj) / (p * (1 - p)) / (double)D);
                }
                if (correct) right += ((yr[j] > 0.5f) == (tr[j] > 0.5f));
            }
            l /= (double)D;
            break;
        case LF_LOSS_NONE: /* outputs_loss skips such an output */
            break;
        case LF_LOSS_CATEGORICAL_CROSSENTROPY:
        case LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY: {
            int sparse = loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
            size_t label = sparse ? (size_t)tr[0] : 0;
            /* Keras: q = y / sum(y), clipped to [eps, 1-eps];
             * l = -sum t log q;  dl/dy_j = (sum_i t_i [q_i unclipped]
             * - t_j [q_j unclipped] / q_j) / S */
            double S = 0, tsum = 0;
            for (size_t j = 0; j < D; j++) S += yr[j];
            if (sparse) {
                /* the same arithmetic with t one-hot: only the label's
                 * q enters; every other class gets g sum(t) / S */
                double q = S > 0 ? yr[label] / S : 0;
                int clipped = q < CLIP_EPS || q > 1 - CLIP_EPS;
                double qc = q < CLIP_EPS ? CLIP_EPS : q > 1 - CLIP_EPS ? 1 - CLIP_EPS : q;
                l -= log(qc);
                tsum = clipped ? 0.0 : 1.0;
                if (dr) {
                    float rest = S > 0 ? (float)(g * tsum / S) : 0.0f;
                    for (size_t j = 0; j < D; j++) dr[j] = rest;
                    dr[label] = S > 0 ? (float)(g * (tsum - (clipped ? 0.0 : 1.0 / q)) / S) : 0.0f;
                }
                if (correct) right += lf_argmax_f(yr, D) == label;
                break;
            }
            for (size_t j = 0; j < D; j++) { /* soft or one-hot targets */
                double tj = tr[j];
                double q = S > 0 ? yr[j] / S : 0;
                int clipped = q < CLIP_EPS || q > 1 - CLIP_EPS;
                q = q < CLIP_EPS ? CLIP_EPS : q > 1 - CLIP_EPS ? 1 - CLIP_EPS : q;
                if (tj != 0) l -= tj * log(q);
                if (!clipped) tsum += tj;
            }
            for (size_t j = 0; dr && j < D; j++) {
                double tj = tr[j];
                double q = S > 0 ? yr[j] / S : 0;
                int clipped = q < CLIP_EPS || q > 1 - CLIP_EPS;
                dr[j] = S > 0 ? (float)(g * (tsum - (clipped ? 0.0 : tj / q)) / S) : 0.0f;
            }
            if (correct) right += lf_argmax_f(yr, D) == lf_argmax_f(tr, D);
            break;
        }
        }
        total += wr * l;
    }
    if (correct) *correct += right;
    return total;
}
