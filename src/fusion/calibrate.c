/*
 * calibrate.c — temperature scaling: fitting T by a safeguarded Newton
 * iteration on s = 1/T (the NLL is convex in s), and applying it.
 *
 * With z = log(max(p, 1e-12)) and q = softmax(s z), one row contributes
 *   NLL  = logsumexp(s z) - s z_y,
 *   dNLL/ds   = E_q[z] - z_y,
 *   d2NLL/ds2 = Var_q[z] >= 0,
 * all computed with the maximum subtracted, so any s in range is safe.
 * The logs are recomputed on every pass instead of stored: no N x C
 * buffer, and Newton needs only a handful of passes.
 */
#include "fusion/calibrate.h"

#include <math.h>
#include <string.h>

#define TEMP_TOL 1e-6
#define TEMP_MAX_ITER 200

static int row_missing(const float *row) { return row[0] != row[0]; }

static double logit(float v) { return log(v > 1e-12f ? (double)v : 1e-12); }

/* Mean gradient and curvature of the NLL at s over the present rows; z is
 * scratch for one row's C logits (one log per value per pass). */
static void nll_derivs(const float *p, const int *y, size_t N, size_t C, double s, double *z,
                       double *g, double *h) {
    double gs = 0.0, hs = 0.0;
    size_t n = 0;
    for (size_t i = 0; i < N; i++) {
        const float *row = p + i * C;
        if (row_missing(row)) continue;
        double zmax = -HUGE_VAL;
        for (size_t c = 0; c < C; c++) {
            z[c] = logit(row[c]);
            zmax = z[c] > zmax ? z[c] : zmax;
        }
        double m = s * zmax; /* s > 0: the largest of s z */
        double Z = 0.0, E = 0.0, E2 = 0.0;
        for (size_t c = 0; c < C; c++) {
            double q = exp(s * z[c] - m);
            Z += q;
            E += q * z[c];
            E2 += q * z[c] * z[c];
        }
        E /= Z;
        E2 /= Z;
        double var = E2 - E * E;
        gs += E - z[y[i]];
        hs += var > 0.0 ? var : 0.0;
        n++;
    }
    *g = gs / (double)n;
    *h = hs / (double)n;
}

lf_status lf_fit_temperature(const float *p, const int *y, size_t N, size_t C, float *T,
                             lf_err *e) {
    size_t nc;
    if (!T) return lf_fail(e, LF_ERR_ARG, "temperature fit: the output T is NULL");
    if (C == 0) return lf_fail(e, LF_ERR_ARG, "temperature fit: no classes given (C = 0)");
    if (N > 0 && (!p || !y))
        return lf_fail(e, LF_ERR_ARG, "temperature fit: the %s array is NULL",
                       !p ? "probability" : "label");
    if (!lf_mul_ok(N, C, &nc))
        return lf_fail(e, LF_ERR_SHAPE, "temperature fit: %zu rows x %zu classes is too large",
                       N, C);
    /* validate, and see whether T matters at all: it does not when every
     * present row has all its logits equal */
    size_t present = 0;
    int flat = 1;
    for (size_t i = 0; i < N; i++) {
        const float *row = p + i * C;
        if (row_missing(row)) continue;
        if (y[i] < 0 || (size_t)y[i] >= C)
            return lf_fail(e, LF_ERR_ARG,
                           "temperature fit: label of row %zu is %d, outside 0..%zu", i, y[i],
                           C - 1);
        present++;
        for (size_t c = 1; c < C && flat; c++)
            if (logit(row[c]) != logit(row[0])) flat = 0;
    }
    if (present == 0 || flat) {
        *T = 1.0f;
        return LF_OK;
    }

    double *z = lf_alloc_array(C, sizeof(double));
    if (!z) return lf_fail(e, LF_ERR_NOMEM, "temperature fit: out of memory for %zu classes", C);
    double lo = 1.0 / LF_TEMP_MAX, hi = 1.0 / LF_TEMP_MIN, g, h;
    nll_derivs(p, y, N, C, lo, z, &g, &h);
    if (g >= 0.0) { /* increasing already at the smallest s: T = 20 */
        LF_FREE(z);
        *T = LF_TEMP_MAX;
        return LF_OK;
    }
    nll_derivs(p, y, N, C, hi, z, &g, &h);
    if (g <= 0.0) { /* still decreasing at the largest s: T = 0.05 */
        LF_FREE(z);
        *T = LF_TEMP_MIN;
        return LF_OK;
    }
    /* root of g in (lo, hi), g increasing: Newton from s = 1, falling back
     * to the geometric midpoint of the bracket when a step leaves it */
    double s = 1.0;
    for (int it = 0; it < TEMP_MAX_ITER; it++) {
        nll_derivs(p, y, N, C, s, z, &g, &h);
        if (g == 0.0) break;
        if (g < 0.0)
            lo = s;
        else
            hi = s;
        double next = h > 0.0 ? s - g / h : -1.0;
        if (!(next > lo && next < hi)) next = sqrt(lo * hi);
        double step = fabs(next - s);
        s = next;
        if (step <= TEMP_TOL * s || hi - lo <= TEMP_TOL * s) break;
    }
    LF_FREE(z);
    double t = 1.0 / s;
    t = t < LF_TEMP_MIN ? LF_TEMP_MIN : t > LF_TEMP_MAX ? LF_TEMP_MAX : t;
    *T = (float)t;
    return LF_OK;
}

void lf_apply_temperature(const float *p, size_t N, size_t C, float T, float *out) {
    if (!p || !out || N == 0 || C == 0) return;
    if (T == 1.0f || !(T > 0.0f) || !isfinite(T)) {
        if (out != p) memmove(out, p, N * C * sizeof *out);
        return;
    }
    double inv = 1.0 / (double)T;
    for (size_t i = 0; i < N; i++) {
        const float *row = p + i * C;
        float *o = out + i * C;
        if (row_missing(row)) {
            if (o != row) memmove(o, row, C * sizeof *o);
            continue;
        }
        double m = -HUGE_VAL;
        for (size_t c = 0; c < C; c++) {
            double v = inv * logit(row[c]);
            m = v > m ? v : m;
        }
        /* o[c] is written only after row[c] is read, so in place works */
        double Z = 0.0;
        for (size_t c = 0; c < C; c++) {
            double q = exp(inv * logit(row[c]) - m);
            Z += q;
            o[c] = (float)q;
        }
        double invZ = 1.0 / Z;
        for (size_t c = 0; c < C; c++) o[c] = (float)((double)o[c] * invZ);
    }
}
