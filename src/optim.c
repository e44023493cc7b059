/*
 * optim.c — sgd (momentum, nesterov), adam and rmsprop, each one loop over
 * the flat parameter block, with Keras 3's exact update rules:
 *   sgd:     v = mu v - lr g;  w += v  (nesterov: w += mu v - lr g)
 *   adam:    m += (g - m)(1 - b1);  v += (g^2 - v)(1 - b2);
 *            w -= lr sqrt(1 - b2^t)/(1 - b1^t) * m / (sqrt(v) + eps)
 *   rmsprop: v = rho v + (1 - rho) g^2;  w -= lr g / sqrt(v + eps)
 *            (with momentum: m = mu m + lr g / sqrt(v + eps); w -= m;
 *            eps inside the root, as Keras 3: PyTorch and Keras 2 add it
 *            to the root)
 * and the moving average of the weights of use_ema (fit.c applies it);
 * before an update, Keras 3's gradient clipping (clipnorm per weight,
 * global_clipnorm, clipvalue) and decoupled weight decay (AdamW's).
 *
 * Every value these loops store (weights, moments, averages) is flushed to
 * zero when it falls below FLT_MIN: a weight that decays under an L2
 * penalty (a dead unit's, a shrunk gate's) otherwise ends subnormal, and on
 * many x86 cores each arithmetic operation on a subnormal takes a
 * microcode assist of about a hundred cycles, in every product that reads
 * the weight afterwards (the fusion method `gate`, whose strongest penalty
 * pulls its whole network to zero, fitted several times slower).  The
 * flush is per value, in plain code, so it is the same in every thread and
 * on every CPU, and it changes no result above 1.2e-38 (kernels.c flushes
 * inside the products too).
 */
#include "kernels.h"
#include "model.h"

#include <float.h>
#include <math.h>

/* x, or 0 where |x| is subnormal (a compare and a blend once vectorised) */
static inline float flush(float x) { return fabsf(x) < FLT_MIN ? 0.0f : x; }

LF_CLONES static void step(const lf_optimizer *o, float *restrict w, float *restrict g,
                          float *restrict m1, float *restrict m2, size_t n, uint64_t t) {
    float lr = o->learning_rate;
    switch (o->kind) {
    case LF_OPT_SGD:
        if (o->momentum == 0.0f) {
            for (size_t i = 0; i < n; i++) w[i] = flush(w[i] - lr * g[i]), g[i] = 0.0f;
        } else {
            float mu = o->momentum;
            for (size_t i = 0; i < n; i++) {
                m1[i] = flush(mu * m1[i] - lr * g[i]);
                w[i] = flush(w[i] + (o->nesterov ? mu * m1[i] - lr * g[i] : m1[i]));
                g[i] = 0.0f;
            }
        }
        break;
    case LF_OPT_ADAM: {
        double b1 = o->beta_1, b2 = o->beta_2;
        float alpha = (float)(lr * sqrt(1.0 - pow(b2, (double)t)) / (1.0 - pow(b1, (double)t)));
        float c1 = 1.0f - o->beta_1, c2 = 1.0f - o->beta_2, eps = o->epsilon;
        for (size_t i = 0; i < n; i++) {
            m1[i] = flush(m1[i] + (g[i] - m1[i]) * c1);
            m2[i] = flush(m2[i] + (g[i] * g[i] - m2[i]) * c2);
            w[i] = flush(w[i] - alpha * m1[i] / (sqrtf(m2[i]) + eps));
            g[i] = 0.0f;
        }
        break;
    }
    case LF_OPT_RMSPROP: {
        float rho = o->rho, eps = o->epsilon, mu = o->momentum;
        for (size_t i = 0; i < n; i++) {
            m2[i] = flush(rho * m2[i] + (1.0f - rho) * g[i] * g[i]);
            float step = lr * g[i] / sqrtf(m2[i] + eps);
            g[i] = 0.0f;
            if (mu > 0.0f) {
                m1[i] = flush(mu * m1[i] + step);
                w[i] = flush(w[i] - m1[i]);
            } else {
                w[i] = flush(w[i] - step);
            }
        }
        break;
    }
    }
}

/* Each parameter's update reads only its own w, g, m1, m2: threads take
 * fixed chunks of the block (above a size where that pays), and the result
 * is the same whatever their number. */
#define OPT_CHUNK ((size_t)1 << 15)
#define OPT_PARALLEL ((size_t)1 << 17)

void lf_optim_step(const lf_optimizer *o, float *restrict w, float *restrict g,
                   float *restrict m1, float *restrict m2, size_t n, uint64_t t) {
#ifdef _OPENMP
    if (n >= OPT_PARALLEL) {
        size_t chunks = (n + OPT_CHUNK - 1) / OPT_CHUNK;
#pragma omp parallel for schedule(static)
        for (size_t c = 0; c < chunks; c++) {
            size_t off = c * OPT_CHUNK, len = n - off < OPT_CHUNK ? n - off : OPT_CHUNK;
            step(o, w + off, g + off, m1 ? m1 + off : NULL, m2 ? m2 + off : NULL, len, t);
        }
        return;
    }
#endif
    step(o, w, g, m1, m2, n, t);
}

void lf_optim_clip(const lf_optimizer *o, float *g, const size_t *vars, size_t n_vars) {
    if (o->clipnorm > 0) { /* g * c / max(|g|, c), weight by weight */
        float c = o->clipnorm;
        for (size_t v = 0; v < n_vars; v++) {
            float *gv = g + vars[2 * v];
            size_t n = vars[2 * v + 1];
            double ss = 0;
            for (size_t i = 0; i < n; i++) ss += (double)gv[i] * gv[i];
            float norm = (float)sqrt(ss), d = norm > c ? norm : c;
            if (isnan(norm)) d = norm; /* max() of a NaN norm: NaN, as Keras' maximum */
            for (size_t i = 0; i < n; i++) gv[i] = gv[i] * c / d;
        }
    } else if (o->global_clipnorm > 0) { /* c * min(1/|g|, 1/c), NaN for a norm not finite */
        double ss = 0;
        for (size_t v = 0; v < n_vars; v++)
            for (size_t i = 0; i < vars[2 * v + 1]; i++) ss += (double)g[vars[2 * v] + i] * g[vars[2 * v] + i];
        float c = o->global_clipnorm, norm = (float)sqrt(ss), inv = 1.0f / norm, invc = 1.0f / c;
        float scale = c * (inv < invc ? inv : invc) + (norm - norm);
        for (size_t v = 0; v < n_vars; v++)
            for (size_t i = 0; i < vars[2 * v + 1]; i++) g[vars[2 * v] + i] *= scale;
    } else if (o->clipvalue > 0) {
        float c = o->clipvalue;
        for (size_t v = 0; v < n_vars; v++)
            for (size_t i = 0; i < vars[2 * v + 1]; i++) {
                float *x = &g[vars[2 * v] + i];
                *x = *x > c ? c : *x < -c ? -c : *x; /* NaN stays NaN */
            }
    }
}

void lf_optim_decay(const lf_optimizer *o, float *w, const size_t *runs, size_t n_runs) {
    if (!(o->weight_decay > 0)) return;
    float wd = o->weight_decay, lr = o->learning_rate;
    for (size_t r = 0; r < n_runs; r++)
        for (size_t i = runs[2 * r]; i < runs[2 * r] + runs[2 * r + 1]; i++) w[i] = flush(w[i] - w[i] * wd * lr);
}

void lf_ema_update(float *restrict avg, const float *restrict w, size_t n, float momentum) {
    float rest = 1.0f - momentum;
    for (size_t i = 0; i < n; i++) avg[i] = flush(momentum * avg[i] + rest * w[i]);
}
