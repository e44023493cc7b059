/*
 * optim.c — sgd (momentum, nesterov), adam (amsgrad), rmsprop (centered),
 * adagrad, adamax, nadam, adadelta and lion, each one loop over the flat
 * parameter block, with Keras 3's exact update rules
 * (keras/src/optimizers/<name>.py):
 *   sgd:     v = mu v - lr g;  w += v  (nesterov: w += mu v - lr g)
 *   adam:    m += (g - m)(1 - b1);  v += (g^2 - v)(1 - b2);
 *            w -= lr sqrt(1 - b2^t)/(1 - b1^t) * m / (sqrt(v) + eps)
 *            (amsgrad: vh = max(vh, v) in place of v in the root)
 *   rmsprop: v = rho v + (1 - rho) g^2;  w -= lr g / sqrt(v + eps)
 *            (with momentum: m = mu m + lr g / sqrt(v + eps); w -= m;
 *            eps inside the root, as Keras 3: PyTorch and Keras 2 add it
 *            to the root; centered: a = rho a + (1 - rho) g and the root
 *            of v - a^2 + eps)
 *   adagrad, adamax, nadam, adadelta, lion: as latefuse.h's
 *            lf_optimizer_default says.
 * The state: m1 (momentum, first moment; adadelta's accumulated updates),
 * m2 (second moment, velocity, adagrad's accumulator, adamax's norm,
 * adadelta's accumulated gradients), m3 (amsgrad's v_hat, centered's
 * average gradient; NULL otherwise).  Nadam's product of the momentum
 * schedule, a variable in Keras, is a function of the step count here
 * (nadam_product), so a resumed fit needs nothing more than t.
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

/* Nadam's u_1 u_2 ... u_t, u_s = b1 (1 - 0.5 * 0.96^s), in double: once
 * 0.5 * 0.96^s is below half an ulp of 1 (s about 900) every later factor
 * is b1, so the product costs at most that many multiplications whatever
 * t is (Keras keeps it in a float32 variable, multiplied once a step) */
static double nadam_product(double b1, uint64_t t) {
    double p = 1.0, d = 1.0;
    uint64_t s = 1;
    for (; s <= t; s++) {
        d *= 0.96;
        double f = 1.0 - 0.5 * d;
        if (f == 1.0) break;
        p *= b1 * f;
    }
    return s <= t ? p * pow(b1, (double)(t - s + 1)) : p;
}

/* the step's scalars, once for all chunks */
typedef struct coefs {
    float alpha;      /* adam: lr sqrt(1 - b2^t) / (1 - b1^t); adamax: 1 - b1^t */
    float u_t, u_next, den_next, den_t, den_v; /* nadam */
} coefs;

static coefs coefs_of(const lf_optimizer *o, uint64_t t) {
    coefs c = {0};
    double b1 = o->beta_1, b2 = o->beta_2;
    if (o->kind == LF_OPT_ADAM)
        c.alpha = (float)(o->learning_rate * sqrt(1.0 - pow(b2, (double)t)) / (1.0 - pow(b1, (double)t)));
    if (o->kind == LF_OPT_ADAMAX) c.alpha = (float)(1.0 - pow(b1, (double)t));
    if (o->kind == LF_OPT_NADAM) {
        double u_t = b1 * (1.0 - 0.5 * pow(0.96, (double)t)), u_next = b1 * (1.0 - 0.5 * pow(0.96, (double)t + 1));
        double p = nadam_product(b1, t);
        c.u_t = (float)u_t, c.u_next = (float)u_next;
        c.den_next = (float)(1.0 - p * u_next), c.den_t = (float)(1.0 - p);
        c.den_v = (float)(1.0 - pow(b2, (double)t));
    }
    return c;
}

LF_CLONES static void step(const lf_optimizer *o, const coefs *k, float *restrict w, float *restrict g,
                          float *restrict m1, float *restrict m2, float *restrict m3, size_t n) {
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
        float alpha = k->alpha, c1 = 1.0f - o->beta_1, c2 = 1.0f - o->beta_2, eps = o->epsilon;
        for (size_t i = 0; i < n; i++) {
            m1[i] = flush(m1[i] + (g[i] - m1[i]) * c1);
            m2[i] = flush(m2[i] + (g[i] * g[i] - m2[i]) * c2);
            float v = m2[i];
            if (o->amsgrad) v = m3[i] = m3[i] > v ? m3[i] : v;
            w[i] = flush(w[i] - alpha * m1[i] / (sqrtf(v) + eps));
            g[i] = 0.0f;
        }
        break;
    }
    case LF_OPT_RMSPROP: {
        float rho = o->rho, eps = o->epsilon, mu = o->momentum;
        for (size_t i = 0; i < n; i++) {
            m2[i] = flush(rho * m2[i] + (1.0f - rho) * g[i] * g[i]);
            float den = m2[i] + eps;
            if (o->centered) {
                m3[i] = flush(rho * m3[i] + (1.0f - rho) * g[i]);
                den = m2[i] - m3[i] * m3[i] + eps;
            }
            float step = lr * g[i] / sqrtf(den);
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
    case LF_OPT_ADAGRAD: {
        float eps = o->epsilon;
        for (size_t i = 0; i < n; i++) {
            m2[i] = flush(m2[i] + g[i] * g[i]);
            w[i] = flush(w[i] - lr * g[i] / sqrtf(m2[i] + eps));
            g[i] = 0.0f;
        }
        break;
    }
    case LF_OPT_ADAMAX: {
        float c1 = 1.0f - o->beta_1, b2 = o->beta_2, eps = o->epsilon, bias = k->alpha;
        for (size_t i = 0; i < n; i++) {
            m1[i] = flush(m1[i] + (g[i] - m1[i]) * c1);
            float u = b2 * m2[i], a = fabsf(g[i]);
            m2[i] = flush(u > a || u != u ? u : a); /* NaN in, NaN out, as Keras' maximum */
            w[i] = flush(w[i] - lr * m1[i] / (bias * (m2[i] + eps)));
            g[i] = 0.0f;
        }
        break;
    }
    case LF_OPT_NADAM: {
        float c1 = 1.0f - o->beta_1, c2 = 1.0f - o->beta_2, eps = o->epsilon;
        float u_next = k->u_next, rest = 1.0f - k->u_t, den_next = k->den_next, den_t = k->den_t, den_v = k->den_v;
        for (size_t i = 0; i < n; i++) {
            m1[i] = flush(m1[i] + (g[i] - m1[i]) * c1);
            m2[i] = flush(m2[i] + (g[i] * g[i] - m2[i]) * c2);
            float m_hat = u_next * m1[i] / den_next + rest * g[i] / den_t;
            w[i] = flush(w[i] - m_hat * lr / (sqrtf(m2[i] / den_v) + eps));
            g[i] = 0.0f;
        }
        break;
    }
    case LF_OPT_ADADELTA: {
        float rho = o->rho, eps = o->epsilon;
        for (size_t i = 0; i < n; i++) {
            m2[i] = flush(rho * m2[i] + (1.0f - rho) * (g[i] * g[i]));
            float d = -(sqrtf(m1[i] + eps) * g[i] / sqrtf(m2[i] + eps));
            m1[i] = flush(rho * m1[i] + (1.0f - rho) * (d * d));
            w[i] = flush(w[i] + lr * d);
            g[i] = 0.0f;
        }
        break;
    }
    case LF_OPT_LION: {
        float b1 = o->beta_1, b2 = o->beta_2;
        for (size_t i = 0; i < n; i++) {
            float c = m1[i] * b1 + g[i] * (1.0f - b1);
            float s = c > 0.0f ? 1.0f : c < 0.0f ? -1.0f : c; /* sign: 0 stays 0, NaN NaN */
            w[i] = flush(w[i] - lr * s);
            m1[i] = flush(m1[i] * b2 + g[i] * (1.0f - b2));
            g[i] = 0.0f;
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

void lf_optim_step(const lf_optimizer *o, float *restrict w, float *restrict g, float *restrict m1,
                   float *restrict m2, float *restrict m3, size_t n, uint64_t t) {
    coefs k = coefs_of(o, t);
#ifdef _OPENMP
    if (n >= OPT_PARALLEL) {
        size_t chunks = (n + OPT_CHUNK - 1) / OPT_CHUNK;
#pragma omp parallel for schedule(static)
        for (size_t c = 0; c < chunks; c++) {
            size_t off = c * OPT_CHUNK, len = n - off < OPT_CHUNK ? n - off : OPT_CHUNK;
            step(o, &k, w + off, g + off, m1 ? m1 + off : NULL, m2 ? m2 + off : NULL, m3 ? m3 + off : NULL, len);
        }
        return;
    }
#endif
    step(o, &k, w, g, m1, m2, m3, n);
}

int lf_optim_nonneg(const lf_optimizer *o, int slot) {
    switch (slot) {
    case 0: return o->kind == LF_OPT_ADADELTA;
    case 1: return o->kind != LF_OPT_SGD && o->kind != LF_OPT_LION;
    case 2: return o->kind == LF_OPT_ADAM && o->amsgrad;
    default: return 0;
    }
}

int lf_optim_squares(const lf_optimizer *o) {
    switch (o->kind) {
    case LF_OPT_ADAM:
    case LF_OPT_RMSPROP:
    case LF_OPT_ADAGRAD:
    case LF_OPT_NADAM:
    case LF_OPT_ADADELTA:
        return 1;
    default:
        return 0;
    }
}

/* g: (n)  1 when a value is finite and its square is not: one pass that
 * ORs two compares, which vectorises; the caller looks for which one after */
LF_CLONES static int any_overflows(const float *restrict g, size_t n) {
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad |= (g[i] * g[i] > FLT_MAX) & (fabsf(g[i]) <= FLT_MAX);
    return bad;
}

size_t lf_optim_overflows(const lf_optimizer *o, const float *g, size_t n) {
    if (!lf_optim_squares(o) || !any_overflows(g, n)) return n;
    size_t i = 0;
    while (i < n && !any_overflows(g + i, 1)) i++;
    return i;
}

const char *lf_optim_third(const lf_optimizer *o) {
    if (o->kind == LF_OPT_ADAM && o->amsgrad) return "velocity_hat";
    if (o->kind == LF_OPT_RMSPROP && o->centered) return "average_gradient";
    return NULL;
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
