/*
 * norm.c — BatchNormalization over the last axis (Keras' axis=-1): each of
 * the C channels is normalised over the batch and every other axis (N = B x
 * dim / C values per channel).
 *
 * Weights, in Keras' order: gamma (C, ones) when scale and beta (C,
 * zeros) when center, trained; moving_mean (C, zeros) and moving_variance
 * (C, ones), not trained by the optimizer (their gradient stays 0; the
 * summary counts them as non-trainable) but saved in the model file.
 * Without scale gamma is 1, without center beta is 0 (Keras' center=False,
 * scale=False: the weights are not made).
 *
 * Training (a training forward pass): the batch's mean and biased variance
 * normalise, y = gamma (x - mean) / sqrt(var + epsilon) + beta, and the
 * forward pass itself updates the moving statistics as Keras 3 does:
 * moving = moving * momentum + batch * (1 - momentum), with the batch's
 * biased variance (Keras' ops.moments; PyTorch would use the unbiased one).
 * So a training forward pass writes to the model's parameters: the one
 * place a kind's forward does.  Inference uses the moving statistics.
 * Defaults (Keras'): momentum 0.99, epsilon 1e-3.
 *
 * The padding mask (layers/layer.h) passes through, and in training the
 * batch's statistics are over the unmasked positions only, as Keras 3's
 * masked moments: mean = sum m x / M, var = sum m (x - mean)^2 / M, M the
 * unmasked positions (M = 0: mean and variance 0, as Keras' sums over
 * M + 1e-7 give; Keras' 1e-7 is otherwise left out).  Every position,
 * masked or not, is normalised by them, so backward's sums of dy and
 * dy xhat still run over every position, divided by M, and reach dx
 * through the statistics at the unmasked positions only.
 * The batch's statistics come from one pass over x: per channel the sums
 * (in double) of x - shift and (x - shift)^2, shift the batch's first value
 * of the channel, give mean = shift + s / N and var = ss / N - (s / N)^2.
 * Huge activations (1e20) keep a variance that float holds right (the
 * squares are never floats); one past float's range (a spread above about
 * 1.8e19) still normalises right, its 1 / std taken in double (bn_inv_std),
 * while the float moving variance is then inf.
 *
 * In a fit over P > 1 MPI ranks (c->reduce) the statistics are the whole
 * batch's (synchronised BatchNormalization): each rank's per-channel sums
 * and row count are summed over the ranks (lf_reduce: in double, in rank
 * order) for the mean, then the squared deviations from it for the
 * variance; backward sums its two per-channel sums the same way (gamma's
 * and beta's gradients stay the rank's own: the fit sums those).  Every
 * rank then holds the same statistics and moving statistics.
 *
 * aux: per channel the mean that normalised (the batch's, or the moving one)
 * and 1 / sqrt(var + epsilon), and what backward's two phases share;
 * backward recomputes xhat = (x - mean) / std from them and the input, bit
 * for bit as forward had it.
 *
 * With a relu folded in (lf_layer_ctx.fused_relu, a training workspace
 * whose relu reads only this layer) forward writes max(y, 0) and backward
 * takes dy where that output is > 0 and 0 elsewhere: the relu's own
 * passes, done while the values are at hand.  When the relu's one reader is
 * a MaxPooling2D (lf_layer_ctx.relu_masked) the pooling's backward has
 * already done that, and dy is taken as it is.
 */
#include "kernels.h"
#include "layers/layer.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* aux: per channel, the mean that normalised, 1 / std, and for backward
 * mean(dy) and mean(dy xhat) (0 in inference) and gamma / std; gamma's
 * ones without scale, beta's zeros without center */
enum { AUX_MEAN, AUX_INV, AUX_MDY, AUX_MDYH, AUX_KK, AUX_ONES, AUX_ZEROS, AUX_N };

static size_t channels(const lf_node *nd) { return nd->shape[nd->rank - 1]; }

/* where gamma (scale: nd->mode), beta (center: nd->use_bias) and the
 * moving statistics start among the node's parameters, in C-value units */
static size_t off_beta(const lf_node *nd) { return nd->mode ? 1 : 0; }
static size_t off_moving(const lf_node *nd) { return (size_t)(nd->mode != 0) + (size_t)(nd->use_bias != 0); }

static int bn_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    (void)t;
    const lf_node *x = lf_input_node(m, "BatchNormalization", in, n_in, 0);
    if (!x) return 0;
    if (!(nd->momentum >= 0.0f && nd->momentum <= 1.0f))
        return lf_build_fail(m, LF_ERR_ARG, "BatchNormalization: momentum must be in [0, 1], got %g",
                             (double)nd->momentum);
    if (!(nd->epsilon > 0.0f) || !isfinite(nd->epsilon))
        return lf_build_fail(m, LF_ERR_ARG, "BatchNormalization: epsilon must be finite and > 0, got %g",
                             (double)nd->epsilon);
    if (!lf_shape_set(m, "BatchNormalization", nd, x->rank, x->shape)) return 0;
    /* per channel what the passes share (room for it in every row: at least one row) */
    nd->aux_per_row = AUX_N * channels(nd);
    return 1;
}

static size_t bn_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    (void)m;
    size_t C = channels(nd), n = 0, mo = off_moving(nd) * C;
    if (nd->mode) w[n++] = (lf_weight){"gamma", 0, 1, {C}, 0, 0, 0, 0};
    if (nd->use_bias) w[n++] = (lf_weight){"beta", off_beta(nd) * C, 1, {C}, 0, 0, 0, 0};
    w[n++] = (lf_weight){"moving_mean", mo, 1, {C}, 0, 1, 0, 0};
    w[n++] = (lf_weight){"moving_variance", mo + C, 1, {C}, 0, 1, 0, 0};
    return n;
}

static void bn_init(lf_model *m, lf_node *nd) {
    size_t C = channels(nd);
    float *w = m->params + nd->param_off, *mm = w + off_moving(nd) * C;
    for (size_t c = 0; c < C; c++) {
        if (nd->mode) w[c] = 1.0f;
        if (nd->use_bias) w[off_beta(nd) * C + c] = 0.0f;
        mm[c] = 0.0f, mm[C + c] = 1.0f;
    }
}

/* Each pass works in two phases.  The per-channel sums: channels in blocks
 * of CB, each block's sums (in double) adding its channels' values in row
 * order, the block reading its part of every row in memory order (a whole
 * row for up to CB channels); large batches share the blocks out to the
 * threads.  Then the per-value part, shared out by rows.  Every number is
 * computed the same way on any thread, and so whatever the thread count. */
#define CB 64
#define BN_PARALLEL 65536 /* values of a batch below which one thread works */

typedef struct bn_args {
    const float *x, *dy;
    const float *ry; /* a folded relu's output (the layer's): dy counts where ry > 0; NULL: none */
    const float *gamma, *beta; /* the weights, or aux's ones / zeros without scale / center */
    float *mm, *mv;            /* moving mean and variance (updated in training) */
    float *aux;                /* AUX_N x C */
    float *dgamma, *dbeta;     /* their gradients, NULL without scale / center */
    const float *mask; /* training: the padding mask, one value per row (0: masked); NULL: none */
    size_t N, C;
    float momentum, epsilon;
    int training;
} bn_args;

/* A folded relu's gradient: dy where its output y is > 0, else 0 (a bit
 * mask, which vectorises in the double sums where a select does not) */
static inline float relu_grad(float dy, float y) {
    uint32_t u;
    memcpy(&u, &dy, sizeof u);
    u &= -(uint32_t)(y > 0);
    memcpy(&dy, &u, sizeof dy);
    return dy;
}

/* Sums over rows [r0, r1) of channels [c0, c0 + nc) (nc <= CB), added
 * into s and ss: of x - shift and of (x - shift)^2, one pass over x */
LF_CLONES static void bn_row_sums(const bn_args *a, const float *restrict shift, size_t c0, size_t nc, size_t r0,
                                  size_t r1, double *restrict s, double *restrict ss) {
    const float *restrict x = a->x + c0;
    size_t C = a->C;
    for (size_t r = r0; r < r1; r++)
        for (size_t k = 0; k < nc; k++) {
            double d = (double)x[r * C + k] - shift[k];
            s[k] += d;
            ss[k] += d * d;
        }
}

/* The shift of channels [c0, c0 + nc): the first row's values, close
 * enough to the mean that (x - shift)^2's sum keeps the variance's digits
 * (the textbook one-pass formula, shift 0, would lose them to cancellation
 * when the mean is large against the spread) */
static void bn_shift(const bn_args *a, size_t c0, size_t nc, float *shift) {
    for (size_t k = 0; k < nc; k++) shift[k] = a->N ? a->x[c0 + k] : 0.0f;
}

/* 1 / sqrt(var + epsilon) of a batch's variance, vd in double and var its
 * float: in float (Keras' float32), except where var overflowed (vd above
 * FLT_MAX: a spread of values above about 1.8e19), where the float root
 * made it 0 and every normalised value 0; from vd in double there, as the
 * normalised values are well inside float's range (their variance is 1) */
static inline float bn_inv_std(double vd, float var, float epsilon) {
    return isinf(var) ? (float)(1.0 / sqrt(vd + epsilon)) : 1.0f / sqrtf(var + epsilon);
}

/* The statistics of channels [c0, c0 + nc) from the sums s of x - shift
 * and ss of (x - shift)^2 over the n (unmasked) rows of the batch, and the
 * moving ones updated: mean = shift + s / n, var = ss / n - (s / n)^2 (in
 * double; no rows: s = ss = 0 and shift 0, mean and var 0) */
static void bn_stats_finish(const bn_args *a, size_t c0, size_t nc, const float *shift, const double *s,
                            const double *ss, double n) {
    size_t C = a->C;
    n = n > 0 ? n : 1.0;
    float *mm = a->mm, *mv = a->mv;
    for (size_t k = 0; k < nc; k++) {
        size_t ch = c0 + k;
        double m = s[k] / n, vd = ss[k] / n - m * m;
        vd = vd > 0 ? vd : 0.0;
        float mean = (float)(shift[k] + m), var = (float)vd;
        a->aux[AUX_MEAN * C + ch] = mean;
        a->aux[AUX_INV * C + ch] = bn_inv_std(vd, var, a->epsilon);
        mm[ch] = mm[ch] * a->momentum + mean * (1.0f - a->momentum);
        mv[ch] = mv[ch] * a->momentum + var * (1.0f - a->momentum);
    }
}

/* Forward, training: the batch's statistics of channels [c0, c0 + nc) and
 * the moving ones updated, the rows in order */
static void bn_stats(const bn_args *a, size_t c0, size_t nc) {
    double s[CB] = {0}, ss[CB] = {0};
    float shift[CB];
    bn_shift(a, c0, nc, shift);
    bn_row_sums(a, shift, c0, nc, 0, a->N, s, ss);
    bn_stats_finish(a, c0, nc, shift, s, ss, (double)a->N);
}

/* The number of unmasked rows */
static size_t bn_unmasked(const bn_args *a) {
    size_t M = 0;
    for (size_t r = 0; r < a->N; r++) M += a->mask[r] != 0.0f;
    return M;
}

/* Forward, training with a padding mask: bn_stats over the unmasked rows
 * (all channels, the rows in order, the shift the first unmasked row's) */
static void bn_stats_masked(const bn_args *a) {
    size_t N = a->N, C = a->C, first = N;
    for (size_t r = 0; r < N && first == N; r++)
        if (a->mask[r] != 0.0f) first = r;
    for (size_t c0 = 0; c0 < C; c0 += CB) {
        size_t nc = C - c0 < CB ? C - c0 : CB;
        double s[CB] = {0}, ss[CB] = {0};
        float shift[CB];
        for (size_t k = 0; k < nc; k++) shift[k] = first < N ? a->x[first * C + c0 + k] : 0.0f;
        for (size_t r = first; r < N; r++)
            if (a->mask[r] != 0.0f) bn_row_sums(a, shift, c0, nc, r, r + 1, s, ss);
        bn_stats_finish(a, c0, nc, shift, s, ss, (double)bn_unmasked(a));
    }
}

/* Sums over rows [r0, r1) of dy (s1) and dy xhat (s2) for channels [c0,
 * c0 + nc), added in */
LF_CLONES static void bn_grad_rows(const bn_args *a, size_t c0, size_t nc, size_t r0, size_t r1, double *restrict s1,
                                   double *restrict s2) {
    const float *restrict x = a->x + c0, *restrict dy = a->dy + c0, *restrict ry = a->ry ? a->ry + c0 : NULL;
    const float *restrict mean = a->aux + AUX_MEAN * a->C + c0, *restrict inv = a->aux + AUX_INV * a->C + c0;
    size_t C = a->C;
    if (ry)
        for (size_t r = r0; r < r1; r++)
            for (size_t k = 0; k < nc; k++) {
                size_t i = r * C + k;
                float h = (x[i] - mean[k]) * inv[k], g = relu_grad(dy[i], ry[i]);
                s1[k] += g;
                s2[k] += (double)g * h;
            }
    else
        for (size_t r = r0; r < r1; r++)
            for (size_t k = 0; k < nc; k++) {
                size_t i = r * C + k;
                float h = (x[i] - mean[k]) * inv[k];
                s1[k] += dy[i];
                s2[k] += (double)dy[i] * h;
            }
}

/* gamma's and beta's gradients and what dx needs, for channels [c0, c0 +
 * nc), from the batch's sums s1 of dy and s2 of dy xhat (over every row)
 * and the rows the statistics were over (all, or the unmasked ones) */
static void bn_grad_finish(const bn_args *a, size_t c0, size_t nc, const double *s1, const double *s2) {
    size_t C = a->C;
    double n = (double)(a->mask ? bn_unmasked(a) : a->N);
    n = n > 0 ? n : 1.0; /* no unmasked row: s1 and s2 reach no dx */
    const float *inv = a->aux + AUX_INV * C + c0;
    for (size_t k = 0; k < nc; k++) {
        size_t ch = c0 + k;
        if (a->dgamma) a->dgamma[ch] += (float)s2[k];
        if (a->dbeta) a->dbeta[ch] += (float)s1[k];
        a->aux[AUX_KK * C + ch] = a->gamma[ch] * inv[k];
        /* in inference the statistics are constants */
        a->aux[AUX_MDY * C + ch] = a->training ? (float)(s1[k] / n) : 0.0f;
        a->aux[AUX_MDYH * C + ch] = a->training ? (float)(s2[k] / n) : 0.0f;
    }
}

/* Backward: the sums over the rows of dy and dy xhat for channels [c0,
 * c0 + nc), the rows in order */
static void bn_grad_sums(const bn_args *a, size_t c0, size_t nc) {
    double s1[CB] = {0}, s2[CB] = {0};
    bn_grad_rows(a, c0, nc, 0, a->N, s1, s2);
    bn_grad_finish(a, c0, nc, s1, s2);
}

/* A layer of at most CB channels and many rows (the first blocks of a CNN)
 * has one channel block: its sums are cut by rows instead, into
 * BN_CHUNKS(N) parts of BN_CHUNK_ROWS(N) rows whose partial sums are added
 * in part order.  The cut depends on N only, so the bits do not depend on
 * the thread count (they differ from the rows-in-order sums of the same
 * values by rounding). */
#define BN_MAX_CHUNKS 64
#define BN_CHUNK_MIN 4096
#define BN_CHUNK_ROWS(N) ((N) / BN_MAX_CHUNKS + 1 > BN_CHUNK_MIN ? (N) / BN_MAX_CHUNKS + 1 : BN_CHUNK_MIN)
#define BN_CHUNKS(N) (((N) + BN_CHUNK_ROWS(N) - 1) / BN_CHUNK_ROWS(N))

/* the end of part q's rows: (q + 1) rc, the last part's N */
static size_t bn_part_end(size_t N, size_t rc, size_t q) { return N < (q + 1) * rc ? N : (q + 1) * rc; }

/* s[k] += part[q][k] for channels k < C, the parts q < nch in part order */
static void bn_parts_sum(double (*part)[CB], size_t nch, size_t C, double *s) {
    for (size_t q = 0; q < nch; q++)
        for (size_t k = 0; k < C; k++) s[k] += part[q][k];
}

static void bn_stats_chunked(const bn_args *a) {
    size_t N = a->N, C = a->C, rc = BN_CHUNK_ROWS(N), nch = BN_CHUNKS(N);
    double p1[BN_MAX_CHUNKS][CB], p2[BN_MAX_CHUNKS][CB], s[CB] = {0}, ss[CB] = {0};
    float shift[CB];
    bn_shift(a, 0, C, shift);
    memset(p1, 0, sizeof p1), memset(p2, 0, sizeof p2);
#pragma omp parallel for schedule(static)
    for (size_t q = 0; q < nch; q++) bn_row_sums(a, shift, 0, C, q * rc, bn_part_end(N, rc, q), p1[q], p2[q]);
    bn_parts_sum(p1, nch, C, s); /* each sum on its own: the same additions in the same order */
    bn_parts_sum(p2, nch, C, ss);
    bn_stats_finish(a, 0, C, shift, s, ss, (double)N);
}

static void bn_grad_sums_chunked(const bn_args *a) {
    size_t N = a->N, C = a->C, rc = BN_CHUNK_ROWS(N), nch = BN_CHUNKS(N);
    double p1[BN_MAX_CHUNKS][CB], p2[BN_MAX_CHUNKS][CB], s1[CB] = {0}, s2[CB] = {0};
    memset(p1, 0, sizeof p1), memset(p2, 0, sizeof p2);
#pragma omp parallel for schedule(static)
    for (size_t q = 0; q < nch; q++) bn_grad_rows(a, 0, C, q * rc, bn_part_end(N, rc, q), p1[q], p2[q]);
    bn_parts_sum(p1, nch, C, s1); /* each sum on its own: the same additions in the same order */
    bn_parts_sum(p2, nch, C, s2);
    bn_grad_finish(a, 0, C, s1, s2);
}

/* y = gamma xhat + beta for rows [r0, r1) (relu: max(., 0)) */
LF_CLONES static void bn_apply(const bn_args *a, float *restrict y, size_t r0, size_t r1, int relu) {
    size_t C = a->C;
    const float *restrict x = a->x, *restrict gamma = a->gamma, *restrict beta = a->beta;
    const float *restrict mean = a->aux + AUX_MEAN * C, *restrict inv = a->aux + AUX_INV * C;
    for (size_t r = r0; r < r1; r++)
        for (size_t ch = 0; ch < C; ch++) {
            float h = (x[r * C + ch] - mean[ch]) * inv[ch];
            float v = gamma[ch] * h + beta[ch];
            y[r * C + ch] = relu ? (v > 0 ? v : 0.0f) : v;
        }
}

/* dx += gamma / std (dy - mean(dy) - xhat mean(dy xhat)) for rows [r0, r1)
 * (set: dx = ..., dx not yet written); a masked row's x took no part in
 * the statistics: dx = gamma / std dy there */
LF_CLONES static void bn_dx(const bn_args *a, float *restrict dx, size_t r0, size_t r1, int set) {
    size_t C = a->C;
    const float *restrict x = a->x, *restrict dy = a->dy, *restrict ry = a->ry, *restrict mean = a->aux + AUX_MEAN * C;
    const float *restrict inv = a->aux + AUX_INV * C, *restrict kk = a->aux + AUX_KK * C;
    const float *restrict mdy = a->aux + AUX_MDY * C, *restrict mdyh = a->aux + AUX_MDYH * C;
    for (size_t r = r0; r < r1; r++) {
        if (a->mask && a->mask[r] == 0.0f) {
            for (size_t ch = 0; ch < C; ch++) {
                size_t i = r * C + ch;
                float v = kk[ch] * (ry ? relu_grad(dy[i], ry[i]) : dy[i]);
                dx[i] = set ? v : dx[i] + v;
            }
            continue;
        }
        for (size_t ch = 0; ch < C; ch++) {
            size_t i = r * C + ch;
            float h = (x[i] - mean[ch]) * inv[ch], g = ry ? relu_grad(dy[i], ry[i]) : dy[i];
            float v = kk[ch] * (g - mdy[ch] - h * mdyh[ch]);
            dx[i] = set ? v : dx[i] + v;
        }
    }
}

/* Forward, training over the ranks (c->reduce): the whole batch's
 * statistics from every rank's sums, and the moving ones updated */
static void bn_stats_sync(const bn_args *a, const lf_reduce *red) {
    const float *restrict x = a->x, *restrict mk = a->mask;
    size_t N = a->N, C = a->C;
    double *v = red->buf;
    memset(v, 0, (C + 1) * sizeof *v);
    for (size_t r = 0; r < N; r++)
        if (!mk || mk[r] != 0.0f)
            for (size_t ch = 0; ch < C; ch++) v[ch] += x[r * C + ch];
    v[C] = (double)(mk ? bn_unmasked(a) : N);
    red->sum(red->ctx, v, C + 1);
    double Ng = v[C] > 0 ? v[C] : 1;
    float *mean = a->aux + AUX_MEAN * C;
    for (size_t ch = 0; ch < C; ch++) mean[ch] = (float)(v[ch] / Ng);
    memset(v, 0, C * sizeof *v);
    for (size_t r = 0; r < N; r++)
        if (!mk || mk[r] != 0.0f)
            for (size_t ch = 0; ch < C; ch++) {
                double d = (double)x[r * C + ch] - mean[ch];
                v[ch] += d * d;
            }
    red->sum(red->ctx, v, C);
    float *mm = a->mm, *mv = a->mv;
    for (size_t ch = 0; ch < C; ch++) {
        float var = (float)(v[ch] / Ng);
        a->aux[AUX_INV * C + ch] = bn_inv_std(v[ch] / Ng, var, a->epsilon);
        mm[ch] = mm[ch] * a->momentum + mean[ch] * (1.0f - a->momentum);
        mv[ch] = mv[ch] * a->momentum + var * (1.0f - a->momentum);
    }
}

/* Backward, training over the ranks: gamma's and beta's gradients from
 * this rank's rows, the means of dy and dy xhat over the whole batch */
static void bn_grad_sums_sync(const bn_args *a, const lf_reduce *red) {
    const float *restrict x = a->x, *restrict dy = a->dy, *restrict ry = a->ry;
    size_t N = a->N, C = a->C;
    const float *restrict mean = a->aux + AUX_MEAN * C, *restrict inv = a->aux + AUX_INV * C;
    double *v = red->buf; /* sums of dy, of dy xhat, the rows */
    memset(v, 0, (2 * C + 1) * sizeof *v);
    for (size_t r = 0; r < N; r++)
        for (size_t ch = 0; ch < C; ch++) {
            size_t i = r * C + ch;
            float h = (x[i] - mean[ch]) * inv[ch], g = ry ? relu_grad(dy[i], ry[i]) : dy[i];
            v[ch] += g;
            v[C + ch] += (double)g * h;
        }
    v[2 * C] = (double)(a->mask ? bn_unmasked(a) : N);
    for (size_t ch = 0; ch < C; ch++) {
        if (a->dgamma) a->dgamma[ch] += (float)v[C + ch];
        if (a->dbeta) a->dbeta[ch] += (float)v[ch];
        a->aux[AUX_KK * C + ch] = a->gamma[ch] * inv[ch];
    }
    red->sum(red->ctx, v, 2 * C + 1);
    double Ng = v[2 * C] > 0 ? v[2 * C] : 1;
    for (size_t ch = 0; ch < C; ch++) {
        a->aux[AUX_MDY * C + ch] = (float)(v[ch] / Ng);
        a->aux[AUX_MDYH * C + ch] = (float)(v[C + ch] / Ng);
    }
}

/* rows per task of the per-value phases */
#define BN_ROWS(C) ((BN_PARALLEL / 4 + (C) - 1) / (C))

static bn_args bn_args_of(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    size_t C = channels(nd), ob = off_beta(nd) * C, om = off_moving(nd) * C;
    float *w = (float *)c->w; /* a training forward pass updates the moving statistics */
    bn_args a = {.x = c->xs[0], .dy = c->dy, .ry = c->fused_relu && !c->relu_masked ? c->y : NULL,
                 .gamma = nd->mode ? w : c->aux + AUX_ONES * C,
                 .beta = nd->use_bias ? w + ob : c->aux + AUX_ZEROS * C, .mm = w + om, .mv = w + om + C,
                 .aux = c->aux, .dgamma = nd->mode && c->dw ? c->dw : NULL,
                 .dbeta = nd->use_bias && c->dw ? c->dw + ob : NULL, .mask = c->training ? c->in_masks[0] : NULL,
                 .N = c->B * nd->dim / C, .C = C, .momentum = nd->momentum, .epsilon = nd->epsilon,
                 .training = c->training};
    return a;
}

static void bn_forward(const lf_layer_ctx *c) {
    bn_args a = bn_args_of(c);
    size_t C = a.C, N = a.N, step = BN_ROWS(C);
    int par = N * C >= BN_PARALLEL;
    (void)par; /* without OpenMP */
    for (size_t ch = 0; ch < C; ch++) a.aux[AUX_ONES * C + ch] = 1.0f, a.aux[AUX_ZEROS * C + ch] = 0.0f;
    if (c->training && c->reduce) {
        bn_stats_sync(&a, c->reduce);
    } else if (a.mask) {
        bn_stats_masked(&a);
    } else if (c->training && par && C <= CB) {
        bn_stats_chunked(&a);
    } else if (c->training) {
#pragma omp parallel for if (par && C > CB) schedule(static)
        for (size_t c0 = 0; c0 < C; c0 += CB) bn_stats(&a, c0, C - c0 < CB ? C - c0 : CB);
    } else {
        for (size_t ch = 0; ch < C; ch++) {
            a.aux[AUX_MEAN * C + ch] = a.mm[ch];
            a.aux[AUX_INV * C + ch] = 1.0f / sqrtf(a.mv[ch] + a.epsilon);
        }
    }
#pragma omp parallel for if (par) schedule(static)
    for (size_t r0 = 0; r0 < N; r0 += step) bn_apply(&a, c->y, r0, N - r0 < step ? N : r0 + step, c->fused_relu);
}

static void bn_backward(const lf_layer_ctx *c) {
    bn_args a = bn_args_of(c);
    size_t C = a.C, N = a.N, step = BN_ROWS(C);
    int par = N * C >= BN_PARALLEL;
    (void)par; /* without OpenMP */
    if (c->training && c->reduce) {
        bn_grad_sums_sync(&a, c->reduce);
    } else if (par && C <= CB) {
        bn_grad_sums_chunked(&a);
    } else {
#pragma omp parallel for if (par && C > CB) schedule(static)
        for (size_t c0 = 0; c0 < C; c0 += CB) bn_grad_sums(&a, c0, C - c0 < CB ? C - c0 : CB);
    }
    float *dx = c->dxs[0];
    if (!dx) return;
#pragma omp parallel for if (par) schedule(static)
    for (size_t r0 = 0; r0 < N; r0 += step) bn_dx(&a, dx, r0, N - r0 < step ? N : r0 + step, c->dx_fresh);
}

static void bn_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    lf_buf_puts(b, ",\"axis\":-1,\"momentum\":");
    lf_buf_json_float(b, nd->momentum);
    lf_buf_puts(b, ",\"epsilon\":");
    lf_buf_json_float(b, nd->epsilon);
    /* Keras' defaults (true) are left out: such a file reads as before */
    if (!nd->use_bias) lf_buf_puts(b, ",\"center\":false");
    if (!nd->mode) lf_buf_puts(b, ",\"scale\":false");
}

static lf_status bn_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                         lf_err *e) {
    (void)m;
    lf_status st = lf_arch_arity(n_in, 1, "BatchNormalization", where, e);
    double axis;
    if (st == LF_OK && (!lf_json_num(lf_json_get(L, "axis"), &axis) || axis != -1))
        st = lf_fail(e, LF_ERR_FORMAT, "%s: 'axis' must be -1", where);
    if (st == LF_OK) st = lf_arch_float(L, "momentum", 0, 1, &nd->momentum, where, e);
    if (st == LF_OK) st = lf_arch_float_in(L, "epsilon", 0, INFINITY, LF_ARCH_LO_OPEN, &nd->epsilon, where, e);
    /* center and scale: true when absent (every file before them) */
    nd->use_bias = nd->mode = 1;
    if (st == LF_OK && lf_json_get(L, "center")) st = lf_arch_bool(L, "center", &nd->use_bias, where, e);
    if (st == LF_OK && lf_json_get(L, "scale")) st = lf_arch_bool(L, "scale", &nd->mode, where, e);
    return st;
}

static const char *const bn_keys[] = {"name", "type", "inbound", "axis", "momentum", "epsilon", "center", "scale",
                                      NULL};

const lf_layer_type lf_type_batchnorm = {
    .type = "BatchNormalization",
    .prefix = "batch_normalization",
    .keys = bn_keys,
    .frozen_infers = 1,
    .dx_assign = 1,
    .masking = LF_MASKING_KEEP,
    .infer = bn_infer,
    .weights = bn_weights,
    .init = bn_init,
    .forward = bn_forward,
    .backward = bn_backward,
    .write_json = bn_json,
    .read_json = bn_read,
};

int lf_batch_normalization_opt(lf_model *m, int x, float momentum, float epsilon, int center, int scale,
                               const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.momentum = momentum;
    nd.epsilon = epsilon;
    nd.use_bias = center != 0;
    nd.mode = scale != 0;
    return lf_node_add(m, &lf_type_batchnorm, LF_K_BATCHNORM, nd, &x, 1, name);
}

int lf_batch_normalization(lf_model *m, int x, float momentum, float epsilon, const char *name) {
    return lf_batch_normalization_opt(m, x, momentum, epsilon, 1, 1, name);
}
