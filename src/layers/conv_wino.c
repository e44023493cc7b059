/*
 * conv_wino.c — Winograd F(4x4, 3x3) (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", CVPR 2016) for Conv2D's 3x3 stride-1
 * convolutions: 36 products of (tiles, C) x (C, F) instead of one of (16
 * tiles, 9 C) x (9 C, F), four times fewer multiply-adds, in the forward
 * pass, the input gradient and the kernel gradient alike.  The layout is in
 * conv_wino.h.
 *
 * With d a 6x6 input patch, g a 3x3 kernel and Y the 4x4 output tile
 * (interpolation points 0, 1, -1, 2, -2 and infinity):
 *   Y = A^T [(G g G^T) . (B^T d B)] A,
 *   B^T = | 4  0 -5  0  1  0 |   G = |  1/4     0     0  |   A^T = | 1  1  1  1  1  0 |
 *         | 0 -4 -4  1  1  0 |       | -1/6  -1/6  -1/6  |         | 0  1 -1  2 -2  0 |
 *         | 0  4 -4 -1  1  0 |       | -1/6   1/6  -1/6  |         | 0  1  1  4  4  0 |
 *         | 0 -2 -1  2  1  0 |       |  1/24  1/12  1/6  |         | 0  1 -1  8 -8  1 |
 *         | 0  2 -1 -2  1  0 |       |  1/24 -1/12  1/6  |
 *         | 0  4  0 -5  0  1 |       |  0     0     1    |
 * and backward applies the transposed transforms in reverse: dM = A dY A^T,
 * dg = G^T (sum over tiles of V . dM) G, dd = B (dM U) B^T scattered back
 * onto the overlapping patches.  The kernel's transforms (once a batch) are
 * computed in double and rounded once.  Every other transform is a pair of
 * 1-D passes (rows, then columns) vectorised over the channels, a block of
 * WB channels at a time; the products are the project's sgemm.  Numerics:
 * the larger transform coefficients cost accuracy against F(2x2, 3x3) —
 * outputs of order 1 are within about 1e-5 of the double sum over 128
 * channels, against about 1e-6 — the usual trade of Winograd libraries
 * (NNPACK, cuDNN).  Results are the same whatever the thread count (each
 * tile's numbers are computed alike, and lf_sgemm's are).
 */
#include "layers/conv_wino.h"
#include "kernels.h"

#ifdef __clang__
/* `#pragma omp simd` below is a request: clang warns when it cannot honour
 * it (under AddressSanitizer, say), which is no fault of the code */
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

#include <string.h>

#define WB 64            /* channels of a transform block */
#define NP LF_WINO_PATCH /* patch side (6) */
#define NO LF_WINO_TILE  /* output tile side (4) */
#define NX LF_WINO_XI    /* positions of a transformed tile (36) */

lf_wino lf_wino_geom(size_t H, size_t W, size_t C, size_t Ho, size_t Wo, size_t pt, size_t pl, size_t F,
                     size_t B) {
    lf_wino g = {.H = H, .W = W, .C = C, .Ho = Ho, .Wo = Wo, .pt = pt, .pl = pl, .F = F};
    g.tw = (Wo + NO - 1) / NO;
    g.T = (Ho + NO - 1) / NO * g.tw;
    g.BT = B * g.T;
    return g;
}

/* The input pixel of patch coordinate NO t + i (t a tile row or column),
 * or -1 outside the image of n pixels with pad p before it. */
static long patch_pixel(size_t t, size_t i, size_t p, size_t n) {
    size_t v = NO * t + i;
    return v < p || v - p >= n ? -1 : (long)(v - p);
}

/* ------------------------------------------------------- 1-D passes
 *
 * Each pass maps a few vectors of n channels (vector i at in + i is) to a
 * few others (vector i at out + i os), the same arithmetic per channel. */

/* out = B^T in: 6 vectors to 6 */
static inline void pass_bt(const float *restrict in, size_t is, float *restrict out, size_t os, size_t n) {
    const float *d0 = in, *d1 = in + is, *d2 = in + 2 * is, *d3 = in + 3 * is, *d4 = in + 4 * is, *d5 = in + 5 * is;
    float *o0 = out, *o1 = out + os, *o2 = out + 2 * os, *o3 = out + 3 * os, *o4 = out + 4 * os, *o5 = out + 5 * os;
#pragma omp simd
    for (size_t k = 0; k < n; k++) {
        float a = d3[k] + d4[k], b = d1[k] + d2[k], c = d4[k] - d3[k], e = d1[k] - d2[k];
        float h = d4[k] - d2[k], j = d3[k] - d1[k];
        o0[k] = (4.0f * d0[k] - 5.0f * d2[k]) + d4[k];
        o1[k] = a - 4.0f * b;
        o2[k] = c + 4.0f * e;
        o3[k] = h + 2.0f * j;
        o4[k] = h - 2.0f * j;
        o5[k] = (4.0f * d1[k] - 5.0f * d3[k]) + d5[k];
    }
}

/* out = B in (the adjoint of pass_bt): 6 vectors to 6 */
static inline void pass_b(const float *restrict in, size_t is, float *restrict out, size_t os, size_t n) {
    const float *t0 = in, *t1 = in + is, *t2 = in + 2 * is, *t3 = in + 3 * is, *t4 = in + 4 * is, *t5 = in + 5 * is;
    float *o0 = out, *o1 = out + os, *o2 = out + 2 * os, *o3 = out + 3 * os, *o4 = out + 4 * os, *o5 = out + 5 * os;
#pragma omp simd
    for (size_t k = 0; k < n; k++) {
        float p = t1[k] + t2[k], q = t2[k] - t1[k], r = t3[k] + t4[k], s = t3[k] - t4[k];
        o0[k] = 4.0f * t0[k];
        o1[k] = (4.0f * q - 2.0f * s) + 4.0f * t5[k];
        o2[k] = (-5.0f * t0[k] - 4.0f * p) - r;
        o3[k] = (2.0f * s - q) - 5.0f * t5[k];
        o4[k] = (t0[k] + p) + r;
        o5[k] = t5[k];
    }
}

/* out = A^T in: 6 vectors to 4 */
static inline void pass_at(const float *restrict in, size_t is, float *restrict out, size_t os, size_t n) {
    const float *m0 = in, *m1 = in + is, *m2 = in + 2 * is, *m3 = in + 3 * is, *m4 = in + 4 * is, *m5 = in + 5 * is;
    float *o0 = out, *o1 = out + os, *o2 = out + 2 * os, *o3 = out + 3 * os;
#pragma omp simd
    for (size_t k = 0; k < n; k++) {
        float a = m1[k] + m2[k], b = m1[k] - m2[k], c = m3[k] + m4[k], e = m3[k] - m4[k];
        o0[k] = (m0[k] + a) + c;
        o1[k] = b + 2.0f * e;
        o2[k] = a + 4.0f * c;
        o3[k] = (b + 8.0f * e) + m5[k];
    }
}

/* out = A in (the adjoint of pass_at): 4 vectors to 6 */
static inline void pass_a(const float *restrict in, size_t is, float *restrict out, size_t os, size_t n) {
    const float *e0 = in, *e1 = in + is, *e2 = in + 2 * is, *e3 = in + 3 * is;
    float *o0 = out, *o1 = out + os, *o2 = out + 2 * os, *o3 = out + 3 * os, *o4 = out + 4 * os, *o5 = out + 5 * os;
#pragma omp simd
    for (size_t k = 0; k < n; k++) {
        float a = e0[k] + e2[k], b = e1[k] + e3[k], c = e0[k] + 4.0f * e2[k], d = 2.0f * e1[k] + 8.0f * e3[k];
        o0[k] = e0[k];
        o1[k] = a + b;
        o2[k] = a - b;
        o3[k] = c + d;
        o4[k] = c - d;
        o5[k] = e3[k];
    }
}

/* ------------------------------------------------------------ kernel */

static const double Gm[NP][3] = {{1.0 / 4, 0, 0},           {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                 {-1.0 / 6, 1.0 / 6, -1.0 / 6}, {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                 {1.0 / 24, -1.0 / 12, 1.0 / 6}, {0, 0, 1}};

/* U[xi] rows of input channel c: G g G^T in double, rounded once; FB
 * filters at a time, vectorised over them */
#define FB 16
LF_CLONES static void kernel_block(const lf_wino *g, float *restrict U, const float *restrict w, size_t c) {
    size_t C = g->C, F = g->F, CF = C * F;
    for (size_t f0 = 0; f0 < F; f0 += FB) {
        size_t nf = F - f0 < FB ? F - f0 : FB;
        double k[9][FB], a[NP][3][FB];
        for (size_t i = 0; i < 9; i++)
            for (size_t l = 0; l < nf; l++) k[i][l] = w[i * CF + c * F + f0 + l];
        for (size_t r = 0; r < NP; r++) /* G g: rows */
            for (size_t j = 0; j < 3; j++)
                for (size_t l = 0; l < nf; l++)
                    a[r][j][l] = Gm[r][0] * k[j][l] + Gm[r][1] * k[3 + j][l] + Gm[r][2] * k[6 + j][l];
        for (size_t r = 0; r < NP; r++) /* (G g) G^T: columns */
            for (size_t q = 0; q < NP; q++) {
                float *restrict u = U + (NP * r + q) * CF + c * F + f0;
                for (size_t l = 0; l < nf; l++)
                    u[l] = (float)(Gm[q][0] * a[r][0][l] + Gm[q][1] * a[r][1][l] + Gm[q][2] * a[r][2][l]);
            }
    }
}

/* UT[xi] = U[xi]^T, so that the input gradient's products read it in place */
LF_CLONES static void kernel_transpose(const lf_wino *g, float *restrict UT, const float *restrict U, size_t xi) {
    size_t C = g->C, F = g->F;
    for (size_t f = 0; f < F; f++)
        for (size_t c = 0; c < C; c++) UT[(xi * F + f) * C + c] = U[(xi * C + c) * F + f];
}

/* The kernel's transforms (here and in lf_wino_dw) are shared out to the
 * threads by input channel, the sum of dU's parts by runs of SUM_RUN
 * values: every value is computed by one thread in the same order, so the
 * bits do not depend on the thread count.  Below WINO_PAR_CF kernel values
 * one thread works. */
#define WINO_PAR_CF 8192
#define SUM_RUN 16384

void lf_wino_kernel(const lf_wino *g, float *restrict U, float *restrict UT, const float *restrict w) {
    int par = g->C * g->F >= WINO_PAR_CF;
    (void)par; /* without OpenMP */
#pragma omp parallel if (par)
    {
#pragma omp for schedule(static)
        for (size_t c = 0; c < g->C; c++) kernel_block(g, U, w, c);
#pragma omp for schedule(static)
        for (size_t xi = 0; xi < NX; xi++) kernel_transpose(g, UT, U, xi);
    }
}

/* --------------------------------------------------------- transforms */

/* V rows of one image's tiles: V[xi][tile][c] = (B^T d B)[xi].  A patch
 * inside the image is read in place; one at an edge is copied with zeros
 * outside first. */
LF_CLONES static void input_tiles(const lf_wino *g, const float *restrict x, float *restrict V, size_t t0) {
    size_t C = g->C, ld = g->BT * C, rs = g->W * C;
    float d[NX][WB], tr[NX][WB];
    for (size_t t = 0; t < g->T; t++) {
        size_t ty = t / g->tw, tx = t % g->tw;
        float *v = V + (t0 + t) * C;
        long iy0 = patch_pixel(ty, 0, g->pt, g->H), iy5 = patch_pixel(ty, NP - 1, g->pt, g->H);
        long ix0 = patch_pixel(tx, 0, g->pl, g->W), ix5 = patch_pixel(tx, NP - 1, g->pl, g->W);
        int inside = iy0 >= 0 && iy5 >= 0 && ix0 >= 0 && ix5 >= 0;
        for (size_t c0 = 0; c0 < C; c0 += WB) {
            size_t nc = C - c0 < WB ? C - c0 : WB;
            if (inside) { /* B^T d: the patch's columns j, read in place */
                const float *p = x + ((size_t)iy0 * g->W + (size_t)ix0) * C + c0;
                for (size_t j = 0; j < NP; j++) pass_bt(p + j * C, rs, tr[j], NP * WB, nc);
            } else {
                for (size_t i = 0; i < NP; i++) {
                    long iy = patch_pixel(ty, i, g->pt, g->H);
                    for (size_t j = 0; j < NP; j++) {
                        long ix = patch_pixel(tx, j, g->pl, g->W);
                        if (iy < 0 || ix < 0)
                            memset(d[NP * i + j], 0, nc * sizeof(float));
                        else
                            memcpy(d[NP * i + j], x + ((size_t)iy * g->W + (size_t)ix) * C + c0, nc * sizeof(float));
                    }
                }
                for (size_t j = 0; j < NP; j++) pass_bt(d[j], NP * WB, tr[j], NP * WB, nc);
            }
            for (size_t i = 0; i < NP; i++) /* (B^T d) B: row i gives V[6 i .. 6 i + 5] */
                pass_bt(tr[NP * i], WB, v + NP * i * ld + c0, ld, nc);
        }
    }
}

/* one image's outputs y (Ho, Wo, F) = A^T M A (+ bias) */
LF_CLONES static void output_tiles(const lf_wino *g, const float *restrict M, const float *restrict bias,
                                   float *restrict y, size_t t0) {
    size_t F = g->F, ld = g->BT * F;
    float s[NO * NP][WB], o[NO * NO][WB];
    for (size_t t = 0; t < g->T; t++) {
        size_t ty = t / g->tw, tx = t % g->tw;
        const float *m = M + (t0 + t) * F;
        for (size_t f0 = 0; f0 < F; f0 += WB) {
            size_t nf = F - f0 < WB ? F - f0 : WB;
            for (size_t j = 0; j < NP; j++) /* A^T M: columns j of the tile */
                pass_at(m + j * ld + f0, NP * ld, s[j], NP * WB, nf);
            for (size_t r = 0; r < NO; r++) /* (A^T M) A: rows */
                pass_at(s[NP * r], WB, o[NO * r], WB, nf);
            for (size_t r = 0; r < NO; r++)
                for (size_t q = 0; q < NO; q++) {
                    size_t oy = NO * ty + r, ox = NO * tx + q;
                    if (oy >= g->Ho || ox >= g->Wo) continue;
                    float *restrict dst = y + (oy * g->Wo + ox) * F + f0;
                    const float *restrict src = o[NO * r + q];
                    if (bias)
                        for (size_t k = 0; k < nf; k++) dst[k] = src[k] + bias[f0 + k];
                    else
                        memcpy(dst, src, nf * sizeof(float));
                }
        }
    }
}

/* one image's dM rows: dM = A dY A^T, dY the 4x4 tile of dz (zero outside) */
LF_CLONES static void output_grads(const lf_wino *g, const float *restrict dz, float *restrict dM, size_t t0) {
    size_t F = g->F, ld = g->BT * F, rs = g->Wo * F;
    float e[NO * NO][WB], u[NP * NO][WB];
    for (size_t t = 0; t < g->T; t++) {
        size_t ty = t / g->tw, tx = t % g->tw;
        float *dm = dM + (t0 + t) * F;
        int inside = NO * ty + NO - 1 < g->Ho && NO * tx + NO - 1 < g->Wo;
        for (size_t f0 = 0; f0 < F; f0 += WB) {
            size_t nf = F - f0 < WB ? F - f0 : WB;
            if (inside) { /* A dY: the tile's columns q, read in place */
                const float *p = dz + (NO * ty * g->Wo + NO * tx) * F + f0;
                for (size_t q = 0; q < NO; q++) pass_a(p + q * F, rs, u[q], NO * WB, nf);
            } else {
                for (size_t r = 0; r < NO; r++)
                    for (size_t q = 0; q < NO; q++) {
                        size_t oy = NO * ty + r, ox = NO * tx + q;
                        if (oy < g->Ho && ox < g->Wo)
                            memcpy(e[NO * r + q], dz + (oy * g->Wo + ox) * F + f0, nf * sizeof(float));
                        else
                            memset(e[NO * r + q], 0, nf * sizeof(float));
                    }
                for (size_t q = 0; q < NO; q++) pass_a(e[q], NO * WB, u[q], NO * WB, nf);
            }
            for (size_t i = 0; i < NP; i++) /* (A dY) A^T: row i gives dM[6 i .. 6 i + 5] */
                pass_a(u[NO * i], WB, dm + NP * i * ld + f0, ld, nf);
        }
    }
}

/* one image's dx (H, W, C) += B dV B^T scattered onto the patches */
LF_CLONES static void input_grads(const lf_wino *g, const float *restrict dV, float *restrict dx, size_t t0) {
    size_t C = g->C, ld = g->BT * C;
    float s[NX][WB], dd[NX][WB];
    for (size_t t = 0; t < g->T; t++) {
        size_t ty = t / g->tw, tx = t % g->tw;
        const float *dv = dV + (t0 + t) * C;
        for (size_t c0 = 0; c0 < C; c0 += WB) {
            size_t nc = C - c0 < WB ? C - c0 : WB;
            for (size_t j = 0; j < NP; j++) /* B X: columns j */
                pass_b(dv + j * ld + c0, NP * ld, s[j], NP * WB, nc);
            for (size_t i = 0; i < NP; i++) /* (B X) B^T: rows */
                pass_b(s[NP * i], WB, dd[NP * i], WB, nc);
            for (size_t i = 0; i < NP; i++) {
                long iy = patch_pixel(ty, i, g->pt, g->H);
                if (iy < 0) continue;
                for (size_t j = 0; j < NP; j++) {
                    long ix = patch_pixel(tx, j, g->pl, g->W);
                    if (ix < 0) continue;
                    float *restrict p = dx + ((size_t)iy * g->W + (size_t)ix) * C + c0;
                    const float *restrict q = dd[NP * i + j];
                    for (size_t k = 0; k < nc; k++) p[k] += q[k];
                }
            }
        }
    }
}

/* dw += G^T dU G for input channel c, in double, rounded once; FB
 * filters at a time, vectorised over them */
LF_CLONES static void kernel_grad(const lf_wino *g, const float *restrict dU, float *restrict dw, size_t c) {
    size_t C = g->C, F = g->F, CF = C * F;
    for (size_t f0 = 0; f0 < F; f0 += FB) {
        size_t nf = F - f0 < FB ? F - f0 : FB;
        double x[NX][FB], p[3][NP][FB];
        for (size_t i = 0; i < NX; i++)
            for (size_t l = 0; l < nf; l++) x[i][l] = dU[i * CF + c * F + f0 + l];
        for (size_t a = 0; a < 3; a++) /* G^T X: rows */
            for (size_t j = 0; j < NP; j++)
                for (size_t l = 0; l < nf; l++) {
                    double s = 0;
                    for (size_t i = 0; i < NP; i++) s += Gm[i][a] * x[NP * i + j][l];
                    p[a][j][l] = s;
                }
        for (size_t a = 0; a < 3; a++) /* (G^T X) G: columns */
            for (size_t b = 0; b < 3; b++) {
                float *restrict o = dw + (3 * a + b) * CF + c * F + f0;
                for (size_t l = 0; l < nf; l++) {
                    double s = 0;
                    for (size_t j = 0; j < NP; j++) s += Gm[j][b] * p[a][j][l];
                    o[l] += (float)s;
                }
            }
    }
}

/* ------------------------------------------------------------ passes */

/* With par, one chunk's work is shared out to the threads: its images'
 * transforms by image, its 36 products by position; every value is
 * computed as on one thread (the same bits). */
void lf_wino_forward(const lf_wino *g, const float *x, const float *U, const float *bias, float *V, float *M,
                     float *y, size_t r0, size_t r1, int par) {
    size_t C = g->C, F = g->F, T = g->T, in = g->H * g->W * C, out = g->Ho * g->Wo * F;
    (void)par; /* without OpenMP */
#pragma omp parallel if (par)
    {
#pragma omp for schedule(static)
        for (size_t r = r0; r < r1; r++) input_tiles(g, x + r * in, V, r * T);
#pragma omp for schedule(static)
        for (size_t xi = 0; xi < NX; xi++)
            lf_sgemm(0, 0, (r1 - r0) * T, F, C, 1.0f, V + xi * g->BT * C + r0 * T * C, C, U + xi * C * F, F,
                     0.0f, M + xi * g->BT * F + r0 * T * F, F);
#pragma omp for schedule(static)
        for (size_t r = r0; r < r1; r++) output_tiles(g, M, bias, y + r * out, r * T);
    }
}

void lf_wino_backward(const lf_wino *g, const float *dz, const float *UT, float *V, float *M, float *dU, float *dx,
                      int dx_fresh, size_t r0, size_t r1, int par) {
    size_t C = g->C, F = g->F, T = g->T, in = g->H * g->W * C, out = g->Ho * g->Wo * F;
    (void)par;
#pragma omp parallel if (par)
    {
#pragma omp for schedule(static)
        for (size_t r = r0; r < r1; r++) output_grads(g, dz + r * out, M, r * T);
#pragma omp for schedule(static)
        for (size_t xi = 0; xi < NX; xi++) {
            lf_sgemm(1, 0, C, F, (r1 - r0) * T, 1.0f, V + xi * g->BT * C + r0 * T * C, C,
                     M + xi * g->BT * F + r0 * T * F, F, 0.0f, dU + xi * C * F, F);
            if (dx) /* dV[xi] over V[xi], which the line above has read */
                lf_sgemm(0, 0, (r1 - r0) * T, C, F, 1.0f, M + xi * g->BT * F + r0 * T * F, F, UT + xi * F * C, C,
                         0.0f, V + xi * g->BT * C + r0 * T * C, C);
        }
        if (dx) {
#pragma omp for schedule(static)
            for (size_t r = r0; r < r1; r++) {
                if (dx_fresh) memset(dx + r * in, 0, in * sizeof *dx);
                input_grads(g, V, dx + r * in, r * T);
            }
        }
    }
}

/* dU[i] += dU[k len + i] for k = 1 .. n - 1, in that order, for i in [i0, i1) */
LF_CLONES static void sum_partials(float *restrict dU, size_t n, size_t len, size_t i0, size_t i1) {
    for (size_t k = 1; k < n; k++) {
        const float *restrict p = dU + k * len;
        for (size_t i = i0; i < i1; i++) dU[i] += p[i];
    }
}

void lf_wino_dw(const lf_wino *g, float *dU, size_t n, float *dw) {
    if (n == 0) return; /* no rows here (an MPI rank's empty share): nothing to add */
    size_t len = NX * g->C * g->F;
    int par = g->C * g->F >= WINO_PAR_CF;
    (void)par;
#pragma omp parallel if (par)
    {
#pragma omp for schedule(static)
        for (size_t i0 = 0; i0 < len; i0 += SUM_RUN)
            sum_partials(dU, n, len, i0, len - i0 < SUM_RUN ? len : i0 + SUM_RUN);
#pragma omp for schedule(static)
        for (size_t c = 0; c < g->C; c++) kernel_grad(g, dU, dw, c);
    }
}
