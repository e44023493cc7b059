/*
 * conv_wino.c — Winograd F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for
 * Convolutional Neural Networks", CVPR 2016) for Conv2D's 3x3 stride-1
 * convolutions: 16 products of (tiles, C) x (C, F) instead of one of (4
 * tiles, 9 C) x (9 C, F), 2.25 times fewer multiply-adds, in the forward
 * pass, the input gradient and the kernel gradient alike.  The layout is in
 * conv_wino.h.
 *
 * With d a 4x4 input patch, g a 3x3 kernel and Y the 2x2 output tile:
 *   Y = A^T [(G g G^T) . (B^T d B)] A,
 *   B^T = | 1  0 -1  0 |   G = | 1    0    0  |   A^T = | 1  1  1  0 |
 *         | 0  1  1  0 |       | 1/2  1/2  1/2|         | 0  1 -1 -1 |
 *         | 0 -1  1  0 |       | 1/2 -1/2  1/2|
 *         | 0  1  0 -1 |       | 0    0    1  |
 * and backward applies the transposed transforms in reverse: dM = A dY A^T,
 * dg = G^T (sum over tiles of V . dM) G, dd = B (dM U) B^T scattered back
 * onto the overlapping patches.  Every transform is a pair of 1-D passes
 * (rows, then columns) vectorised over the channels, a block of WB channels
 * at a time; the products are the project's sgemm.  Results are the same
 * whatever the thread count (each tile's numbers are computed alike, and
 * lf_sgemm's are).
 */
#include "layers/conv_wino.h"
#include "kernels.h"

#ifdef __clang__
/* `#pragma omp simd` below is a request: clang warns when it cannot honour
 * it (under AddressSanitizer, say), which is no fault of the code */
#pragma clang diagnostic ignored "-Wpass-failed"
#endif

#include <string.h>

#define WB 64 /* channels of a transform block */

lf_wino lf_wino_geom(size_t H, size_t W, size_t C, size_t Ho, size_t Wo, size_t pt, size_t pl, size_t F,
                     size_t B) {
    lf_wino g = {.H = H, .W = W, .C = C, .Ho = Ho, .Wo = Wo, .pt = pt, .pl = pl, .F = F};
    g.tw = (Wo + 1) / 2;
    g.T = (Ho + 1) / 2 * g.tw;
    g.BT = B * g.T;
    return g;
}

/* The input pixel of patch coordinate 2 t + i (t a tile row or column),
 * or -1 outside the image of n pixels with pad p before it. */
static long patch_pixel(size_t t, size_t i, size_t p, size_t n) {
    size_t v = 2 * t + i;
    return v < p || v - p >= n ? -1 : (long)(v - p);
}

/* ------------------------------------------------------------ kernel */

LF_CLONES static void kernel_block(const lf_wino *g, float *restrict U, const float *restrict w, size_t c) {
    size_t C = g->C, F = g->F, CF = C * F;
    for (size_t f = 0; f < F; f++) {
        float k[9], a[12];
        for (size_t i = 0; i < 9; i++) k[i] = w[i * CF + c * F + f];
        /* G g: rows */
        for (size_t j = 0; j < 3; j++) {
            a[j] = k[j];
            a[3 + j] = 0.5f * (k[j] + k[3 + j] + k[6 + j]);
            a[6 + j] = 0.5f * (k[j] - k[3 + j] + k[6 + j]);
            a[9 + j] = k[6 + j];
        }
        /* (G g) G^T: columns */
        for (size_t r = 0; r < 4; r++) {
            const float *s = a + 3 * r;
            float *u = U + 4 * r * CF + c * F + f;
            u[0] = s[0];
            u[CF] = 0.5f * (s[0] + s[1] + s[2]);
            u[2 * CF] = 0.5f * (s[0] - s[1] + s[2]);
            u[3 * CF] = s[2];
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
        for (size_t xi = 0; xi < 16; xi++) kernel_transpose(g, UT, U, xi);
    }
}

/* --------------------------------------------------------- transforms */

/* V rows of a tile whose 4x4 patch lies inside the image (read in place,
 * pixel (i, j) at p + i rs + j C): the transforms of input_tiles below,
 * each value computed alike, in one pass (written out: the vectoriser
 * takes no inner loops here) */
LF_CLONES static void input_tiles_inner(const float *restrict p, size_t rs, size_t C, float *restrict v,
                                        size_t ld) {
    const float *restrict p0 = p, *restrict p1 = p + rs, *restrict p2 = p + 2 * rs, *restrict p3 = p + 3 * rs;
    size_t c1 = C, c2 = 2 * C, c3 = 3 * C;
#pragma omp simd
    for (size_t k = 0; k < C; k++) {
        /* B^T d: t_i,j for the patch's columns j */
#define WINO_ROWS(j, cj)                                                                                    \
    float d0##j = p0[cj + k], d1##j = p1[cj + k], d2##j = p2[cj + k], d3##j = p3[cj + k];               \
    float t0##j = d0##j - d2##j, t1##j = d1##j + d2##j, t2##j = d2##j - d1##j, t3##j = d1##j - d3##j;
        WINO_ROWS(0, 0)
        WINO_ROWS(1, c1)
        WINO_ROWS(2, c2)
        WINO_ROWS(3, c3)
#undef WINO_ROWS
        /* (B^T d) B: row i of t gives V[4 i .. 4 i + 3] */
#define WINO_COLS(i)                                                                                        \
    v[(4 * i) * ld + k] = t##i##0 - t##i##2, v[(4 * i + 1) * ld + k] = t##i##1 + t##i##2,                   \
    v[(4 * i + 2) * ld + k] = t##i##2 - t##i##1, v[(4 * i + 3) * ld + k] = t##i##1 - t##i##3;
        WINO_COLS(0)
        WINO_COLS(1)
        WINO_COLS(2)
        WINO_COLS(3)
#undef WINO_COLS
    }
}

/* V rows of one image's tiles: V[xi][tile][c] = (B^T d B)[xi] */
LF_CLONES static void input_tiles(const lf_wino *g, const float *restrict x, float *restrict V, size_t t0) {
    size_t C = g->C, ld = g->BT * C;
    float d[16][WB], tr[16][WB];
    for (size_t t = 0; t < g->T; t++) {
        size_t ty = t / g->tw, tx = t % g->tw;
        float *v = V + (t0 + t) * C;
        long iy0 = patch_pixel(ty, 0, g->pt, g->H), iy3 = patch_pixel(ty, 3, g->pt, g->H);
        long ix0 = patch_pixel(tx, 0, g->pl, g->W), ix3 = patch_pixel(tx, 3, g->pl, g->W);
        if (iy0 >= 0 && iy3 >= 0 && ix0 >= 0 && ix3 >= 0) {
            input_tiles_inner(x + ((size_t)iy0 * g->W + (size_t)ix0) * C, g->W * C, C, v, ld);
            continue;
        }
        for (size_t c0 = 0; c0 < C; c0 += WB) {
            size_t nc = C - c0 < WB ? C - c0 : WB;
            for (size_t i = 0; i < 4; i++) {
                long iy = patch_pixel(ty, i, g->pt, g->H);
                for (size_t j = 0; j < 4; j++) {
                    long ix = patch_pixel(tx, j, g->pl, g->W);
                    if (iy < 0 || ix < 0)
                        memset(d[4 * i + j], 0, nc * sizeof(float));
                    else
                        memcpy(d[4 * i + j], x + ((size_t)iy * g->W + (size_t)ix) * C + c0, nc * sizeof(float));
                }
            }
            for (size_t j = 0; j < 4; j++) /* B^T d: rows of the patch */
                for (size_t k = 0; k < nc; k++) {
                    float d0 = d[j][k], d1 = d[4 + j][k], d2 = d[8 + j][k], d3 = d[12 + j][k];
                    tr[j][k] = d0 - d2;
                    tr[4 + j][k] = d1 + d2;
                    tr[8 + j][k] = d2 - d1;
                    tr[12 + j][k] = d1 - d3;
                }
            for (size_t i = 0; i < 4; i++) { /* (B^T d) B: columns */
                float *restrict v0 = v + 4 * i * ld + c0, *restrict v1 = v0 + ld, *restrict v2 = v1 + ld,
                                *restrict v3 = v2 + ld;
                for (size_t k = 0; k < nc; k++) {
                    float s0 = tr[4 * i][k], s1 = tr[4 * i + 1][k], s2 = tr[4 * i + 2][k], s3 = tr[4 * i + 3][k];
                    v0[k] = s0 - s2;
                    v1[k] = s1 + s2;
                    v2[k] = s2 - s1;
                    v3[k] = s1 - s3;
                }
            }
        }
    }
}

/* one image's outputs y (Ho, Wo, F) = A^T M A (+ bias) */
LF_CLONES static void output_tiles(const lf_wino *g, const float *restrict M, const float *restrict bias,
                                   float *restrict y, size_t t0) {
    size_t F = g->F, ld = g->BT * F;
    float s[8][WB], o[4][WB];
    for (size_t t = 0; t < g->T; t++) {
        size_t ty = t / g->tw, tx = t % g->tw;
        const float *m = M + (t0 + t) * F;
        for (size_t f0 = 0; f0 < F; f0 += WB) {
            size_t nf = F - f0 < WB ? F - f0 : WB;
            for (size_t j = 0; j < 4; j++) { /* A^T M: rows */
                const float *restrict m0 = m + j * ld + f0, *restrict m1 = m0 + 4 * ld, *restrict m2 = m1 + 4 * ld,
                                      *restrict m3 = m2 + 4 * ld;
                for (size_t k = 0; k < nf; k++) {
                    s[j][k] = m0[k] + m1[k] + m2[k];
                    s[4 + j][k] = m1[k] - m2[k] - m3[k];
                }
            }
            for (size_t r = 0; r < 2; r++) /* (A^T M) A: columns */
                for (size_t k = 0; k < nf; k++) {
                    float b = bias ? bias[f0 + k] : 0.0f;
                    o[2 * r][k] = s[4 * r][k] + s[4 * r + 1][k] + s[4 * r + 2][k] + b;
                    o[2 * r + 1][k] = s[4 * r + 1][k] - s[4 * r + 2][k] - s[4 * r + 3][k] + b;
                }
            for (size_t r = 0; r < 2; r++)
                for (size_t q = 0; q < 2; q++) {
                    size_t oy = 2 * ty + r, ox = 2 * tx + q;
                    if (oy < g->Ho && ox < g->Wo) memcpy(y + (oy * g->Wo + ox) * F + f0, o[2 * r + q], nf * sizeof(float));
                }
        }
    }
}

/* dM rows of a tile inside the output (its 2x2 dY read in place): the
 * transforms of output_grads below, each value computed alike, in one pass */
LF_CLONES static void output_grads_inner(const float *restrict e0, const float *restrict e1,
                                         const float *restrict e2, const float *restrict e3, float *restrict dm,
                                         size_t ld, size_t F) {
#pragma omp simd
    for (size_t k = 0; k < F; k++) {
        /* A dY: rows u[4 i + q] */
        float u0 = e0[k], u1 = e1[k], u4 = e0[k] + e2[k], u5 = e1[k] + e3[k];
        float u8 = e0[k] - e2[k], u9 = e1[k] - e3[k], u12 = -e2[k], u13 = -e3[k];
        /* (A dY) A^T: columns */
        dm[k] = u0, dm[ld + k] = u0 + u1, dm[2 * ld + k] = u0 - u1, dm[3 * ld + k] = -u1;
        dm[4 * ld + k] = u4, dm[5 * ld + k] = u4 + u5, dm[6 * ld + k] = u4 - u5, dm[7 * ld + k] = -u5;
        dm[8 * ld + k] = u8, dm[9 * ld + k] = u8 + u9, dm[10 * ld + k] = u8 - u9, dm[11 * ld + k] = -u9;
        dm[12 * ld + k] = u12, dm[13 * ld + k] = u12 + u13, dm[14 * ld + k] = u12 - u13, dm[15 * ld + k] = -u13;
    }
}

/* one image's dM rows: dM = A dY A^T, dY the 2x2 tile of dz (zero outside) */
LF_CLONES static void output_grads(const lf_wino *g, const float *restrict dz, float *restrict dM, size_t t0) {
    size_t F = g->F, ld = g->BT * F;
    float e[4][WB], u[16][WB];
    for (size_t t = 0; t < g->T; t++) {
        size_t ty = t / g->tw, tx = t % g->tw;
        float *dm = dM + (t0 + t) * F;
        if (2 * ty + 1 < g->Ho && 2 * tx + 1 < g->Wo) {
            const float *e0 = dz + (2 * ty * g->Wo + 2 * tx) * F, *e2 = e0 + g->Wo * F;
            output_grads_inner(e0, e0 + F, e2, e2 + F, dm, ld, F);
            continue;
        }
        for (size_t f0 = 0; f0 < F; f0 += WB) {
            size_t nf = F - f0 < WB ? F - f0 : WB;
            for (size_t r = 0; r < 2; r++)
                for (size_t q = 0; q < 2; q++) {
                    size_t oy = 2 * ty + r, ox = 2 * tx + q;
                    if (oy < g->Ho && ox < g->Wo)
                        memcpy(e[2 * r + q], dz + (oy * g->Wo + ox) * F + f0, nf * sizeof(float));
                    else
                        memset(e[2 * r + q], 0, nf * sizeof(float));
                }
            for (size_t q = 0; q < 2; q++) /* A dY: rows */
                for (size_t k = 0; k < nf; k++) {
                    float a = e[q][k], b = e[2 + q][k];
                    u[q][k] = a;
                    u[4 + q][k] = a + b;
                    u[8 + q][k] = a - b;
                    u[12 + q][k] = -b;
                }
            for (size_t i = 0; i < 4; i++) { /* (A dY) A^T: columns */
                float *restrict d0 = dm + 4 * i * ld + f0, *restrict d1 = d0 + ld, *restrict d2 = d1 + ld,
                                *restrict d3 = d2 + ld;
                for (size_t k = 0; k < nf; k++) {
                    float a = u[4 * i][k], b = u[4 * i + 1][k];
                    d0[k] = a;
                    d1[k] = a + b;
                    d2[k] = a - b;
                    d3[k] = -b;
                }
            }
        }
    }
}

/* one image's dx (H, W, C) += B dV B^T scattered onto the patches */
LF_CLONES static void input_grads(const lf_wino *g, const float *restrict dV, float *restrict dx, size_t t0) {
    size_t C = g->C, ld = g->BT * C;
    float s[16][WB], dd[16][WB];
    for (size_t t = 0; t < g->T; t++) {
        size_t ty = t / g->tw, tx = t % g->tw;
        const float *dv = dV + (t0 + t) * C;
        for (size_t c0 = 0; c0 < C; c0 += WB) {
            size_t nc = C - c0 < WB ? C - c0 : WB;
            for (size_t j = 0; j < 4; j++) { /* B X: rows */
                const float *restrict x0 = dv + j * ld + c0, *restrict x1 = x0 + 4 * ld, *restrict x2 = x1 + 4 * ld,
                                      *restrict x3 = x2 + 4 * ld;
                for (size_t k = 0; k < nc; k++) {
                    s[j][k] = x0[k];
                    s[4 + j][k] = x1[k] - x2[k] + x3[k];
                    s[8 + j][k] = x2[k] - x0[k] + x1[k];
                    s[12 + j][k] = -x3[k];
                }
            }
            for (size_t i = 0; i < 4; i++) /* (B X) B^T: columns */
                for (size_t k = 0; k < nc; k++) {
                    float a0 = s[4 * i][k], a1 = s[4 * i + 1][k], a2 = s[4 * i + 2][k], a3 = s[4 * i + 3][k];
                    dd[4 * i][k] = a0;
                    dd[4 * i + 1][k] = a1 - a2 + a3;
                    dd[4 * i + 2][k] = a2 - a0 + a1;
                    dd[4 * i + 3][k] = -a3;
                }
            for (size_t i = 0; i < 4; i++) {
                long iy = patch_pixel(ty, i, g->pt, g->H);
                if (iy < 0) continue;
                for (size_t j = 0; j < 4; j++) {
                    long ix = patch_pixel(tx, j, g->pl, g->W);
                    if (ix < 0) continue;
                    float *restrict p = dx + ((size_t)iy * g->W + (size_t)ix) * C + c0;
                    for (size_t k = 0; k < nc; k++) p[k] += dd[4 * i + j][k];
                }
            }
        }
    }
}

/* dw += G^T dU G for input channel c */
LF_CLONES static void kernel_grad(const lf_wino *g, const float *restrict dU, float *restrict dw, size_t c) {
    size_t C = g->C, F = g->F, CF = C * F;
    for (size_t f = 0; f < F; f++) {
        float x[16], p[12];
        for (size_t i = 0; i < 16; i++) x[i] = dU[i * CF + c * F + f];
        for (size_t j = 0; j < 4; j++) { /* G^T X: rows */
            float h = 0.5f * (x[4 + j] + x[8 + j]);
            p[j] = x[j] + h;
            p[4 + j] = 0.5f * (x[4 + j] - x[8 + j]);
            p[8 + j] = h + x[12 + j];
        }
        for (size_t r = 0; r < 3; r++) { /* (G^T X) G: columns */
            const float *q = p + 4 * r;
            float h = 0.5f * (q[1] + q[2]);
            float *o = dw + 3 * r * CF + c * F + f;
            o[0] += q[0] + h;
            o[CF] += 0.5f * (q[1] - q[2]);
            o[2 * CF] += h + q[3];
        }
    }
}

/* ------------------------------------------------------------ passes */

void lf_wino_forward(const lf_wino *g, const float *x, const float *U, const float *bias, float *V, float *M,
                     float *y, size_t r0, size_t r1) {
    size_t C = g->C, F = g->F, T = g->T, in = g->H * g->W * C, out = g->Ho * g->Wo * F;
    for (size_t r = r0; r < r1; r++) input_tiles(g, x + r * in, V, r * T);
    for (size_t xi = 0; xi < 16; xi++)
        lf_sgemm(0, 0, (r1 - r0) * T, F, C, 1.0f, V + xi * g->BT * C + r0 * T * C, C, U + xi * C * F, F, 0.0f,
                 M + xi * g->BT * F + r0 * T * F, F);
    for (size_t r = r0; r < r1; r++) output_tiles(g, M, bias, y + r * out, r * T);
}

void lf_wino_backward(const lf_wino *g, const float *dz, const float *UT, float *V, float *M, float *dU, float *dx,
                      int dx_fresh, size_t r0, size_t r1) {
    size_t C = g->C, F = g->F, T = g->T, in = g->H * g->W * C, out = g->Ho * g->Wo * F;
    for (size_t r = r0; r < r1; r++) output_grads(g, dz + r * out, M, r * T);
    for (size_t xi = 0; xi < 16; xi++)
        lf_sgemm(1, 0, C, F, (r1 - r0) * T, 1.0f, V + xi * g->BT * C + r0 * T * C, C, M + xi * g->BT * F + r0 * T * F,
                 F, 0.0f, dU + xi * C * F, F);
    if (!dx) return;
    for (size_t xi = 0; xi < 16; xi++)
        lf_sgemm(0, 0, (r1 - r0) * T, C, F, 1.0f, M + xi * g->BT * F + r0 * T * F, F, UT + xi * F * C, C, 0.0f,
                 V + xi * g->BT * C + r0 * T * C, C);
    for (size_t r = r0; r < r1; r++) {
        if (dx_fresh) memset(dx + r * in, 0, in * sizeof *dx);
        input_grads(g, V, dx + r * in, r * T);
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
    size_t len = 16 * g->C * g->F;
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
