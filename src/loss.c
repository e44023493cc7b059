/*
 * loss.c — the training losses, with Keras' reductions: the loss of a row is
 * averaged over its features (mse, mae, binary cross-entropy) or summed over
 * classes (categorical), and the batch loss is sum_r w_r l_r / B.
 *
 * With a softmax output and a categorical loss (or sigmoid and binary
 * cross-entropy) the loss is computed from the logits z — log-softmax /
 * log-sigmoid, stable for any z — and the gradient is returned w.r.t. z:
 * (p - t) w_r / B.  Otherwise, as Keras does, categorical outputs are
 * first divided by their sum (so an unnormalised output, e.g. a per-class
 * weighted average, is a distribution) and probabilities are clipped to
 * [1e-7, 1 - 1e-7].
 */
#include "kernels.h"
#include "layers/layer.h"

#include <math.h>

#define CLIP_EPS 1e-7

size_t lf_loss_target_cols(lf_loss loss, size_t D) {
    return loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ? 1 : D;
}

int lf_loss_has_accuracy(lf_loss loss) { return loss >= LF_LOSS_BINARY_CROSSENTROPY; }

/* log(1 + exp(x)) without overflow */
static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

double lf_loss_eval(lf_loss loss, int fused, const float *y, const float *z, const float *t,
                    const float *w, size_t B, size_t D, double B_norm, float *dy,
                    size_t *correct) {
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
                    double zj = zr[j];
                    l += softplus(zj) - tj * zj;
                    if (dr) dr[j] = (float)(g * ((double)yr[j] - tj) / (double)D);
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
        case LF_LOSS_CATEGORICAL_CROSSENTROPY:
        case LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY: {
            int sparse = loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY;
            size_t label = sparse ? (size_t)tr[0] : 0;
            if (fused) {
                /* one exp per class: e_j = exp(z_j - max) (kept in dr),
                 * log-sum-exp = max + log sum e, softmax p_j = e_j / sum e */
                double mx = zr[0], s = 0;
                for (size_t j = 1; j < D; j++) mx = zr[j] > mx ? zr[j] : mx;
                for (size_t j = 0; j < D; j++) {
                    double e = exp((double)zr[j] - mx);
                    s += e;
                    if (dr) dr[j] = (float)e;
                }
                double lse = mx + log(s), inv = 1.0 / s, tsum = 1.0;
                if (dr && !sparse) {
                    /* soft targets need not sum to 1: d/dz = p*sum(t) - t */
                    tsum = 0;
                    for (size_t q = 0; q < D; q++) tsum += tr[q];
                }
                for (size_t j = 0; j < D; j++) {
                    double tj = sparse ? (j == label) : tr[j];
                    if (tj != 0) l -= tj * ((double)zr[j] - lse);
                    if (dr) dr[j] = (float)(g * ((double)dr[j] * inv * tsum - tj));
                }
            } else {
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
                for (size_t j = 0; j < D; j++) {
                    double tj = sparse ? (j == label) : tr[j];
                    double q = S > 0 ? yr[j] / S : 0;
                    int clipped = q < CLIP_EPS || q > 1 - CLIP_EPS;
                    q = q < CLIP_EPS ? CLIP_EPS : q > 1 - CLIP_EPS ? 1 - CLIP_EPS : q;
                    if (tj != 0) l -= tj * log(q);
                    if (!clipped) tsum += tj;
                }
                for (size_t j = 0; dr && j < D; j++) {
                    double tj = sparse ? (j == label) : tr[j];
                    double q = S > 0 ? yr[j] / S : 0;
                    int clipped = q < CLIP_EPS || q > 1 - CLIP_EPS;
                    dr[j] = S > 0 ? (float)(g * (tsum - (clipped ? 0.0 : tj / q)) / S) : 0.0f;
                }
            }
            /* (fused: the softmax output may not be computed; its argmax
             * is the logits') */
            if (correct) right += lf_argmax_f(fused ? zr : yr, D) == (sparse ? label : lf_argmax_f(tr, D));
            break;
        }
        }
        total += wr * l;
    }
    if (correct) *correct += right;
    return total;
}

double lf_l2_penalty(const lf_model *m, float *grads) {
    double pen = 0;
    for (size_t i = 0; i < m->n_nodes; i++) {
        const lf_node *nd = &m->nodes[i];
        if (nd->l2 == 0.0f || !nd->needed) continue;
        /* the weights the kind's record marks (Dense: the kernel, not the bias) */
        lf_weight wt[LF_MAX_WEIGHTS];
        size_t nt = lf_node_weights(m, nd, wt);
        double s = 0;
        for (size_t k = 0; k < nt; k++) {
            if (!wt[k].l2) continue;
            const float *w = m->params + nd->param_off + wt[k].off;
            size_t nw = lf_weight_count(&wt[k]);
            for (size_t j = 0; j < nw; j++) s += (double)w[j] * w[j];
        }
        pen += nd->l2 * s;
        for (size_t k = 0; grads && k < nt; k++) {
            if (!wt[k].l2) continue;
            const float *w = m->params + nd->param_off + wt[k].off;
            float *g = grads + nd->param_off + wt[k].off;
            size_t nw = lf_weight_count(&wt[k]);
            for (size_t j = 0; j < nw; j++) g[j] += 2.0f * nd->l2 * w[j];
        }
    }
    return pen;
}
