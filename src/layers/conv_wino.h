/*
 * conv_wino.h — Winograd F(4x4, 3x3) for Conv2D's 3x3 stride-1
 * convolutions (conv_wino.c); internal to the Conv2D kind (conv.c).
 *
 * The output is cut into 4x4 tiles, T = ceil(Ho / 4) ceil(Wo / 4) per image;
 * tile t of a batch of B images (t in [0, B T), image-major, then tile rows)
 * reads the 6x6 input patch at (4 ty - pt, 4 tx - pl), zeros outside the
 * image.  Per position xi of the 36 of the transformed 6x6 tile:
 *   V[xi] (B T, C)  the transformed input patches,
 *   U[xi] (C, F)    the transformed kernel,
 *   M[xi] (B T, F) = V[xi] U[xi], transformed back into the 2x2 outputs.
 * Backward is the exact adjoint of that computation: dM from dz, the
 * kernel's gradient from dU[xi] = V[xi]^T dM[xi] (a chunk of images at a
 * time, the chunks' parts added in order), the input's from dV[xi] =
 * dM[xi] U[xi]^T (kept as UT).  Each V[xi] and M[xi]
 * is one (B T)-row matrix: matrix xi starts at xi B T C (V) or xi B T F (M).
 */
#ifndef LF_CONV_WINO_H
#define LF_CONV_WINO_H

#include <stddef.h>

#define LF_WINO_TILE 4   /* output tile side */
#define LF_WINO_PATCH 6  /* input patch side */
#define LF_WINO_XI 36    /* positions of a transformed tile */

typedef struct lf_wino {
    size_t H, W, C, Ho, Wo, pt, pl, F;
    size_t tw, T; /* tiles per tile row, tiles per image */
    size_t BT;    /* tiles of the batch (rows of each V[xi] and M[xi]) */
} lf_wino;

/* the geometry of one batch of B images */
lf_wino lf_wino_geom(size_t H, size_t W, size_t C, size_t Ho, size_t Wo, size_t pt, size_t pl, size_t F,
                     size_t B);

/* U (36, C, F) of the Keras kernel w (3, 3, C, F), and UT (36, F, C) its
 * transposes */
void lf_wino_kernel(const lf_wino *g, float *restrict U, float *restrict UT, const float *restrict w);

/* Forward of images [r0, r1) of x (B, H, W, C): their V and M rows and
 * their outputs y (B, Ho, Wo, F) (plus bias, or none when NULL).  par:
 * share the work out to the threads (the caller is not in a parallel
 * region); the bits are the same either way (also for the backward). */
void lf_wino_forward(const lf_wino *g, const float *x, const float *U, const float *bias, float *V, float *M,
                     float *y, size_t r0, size_t r1, int par);

/* Backward of images [r0, r1) given dz (B, Ho, Wo, F): their dM rows (in
 * M), dU (36, C, F) = their part of the kernel's gradient in the Winograd
 * domain, and, unless dx is NULL, dx (B, H, W, C) += their input gradient
 * (their V rows are overwritten by dV); dx_fresh: dx's rows hold no values
 * yet (each is zeroed just before its gradient is added). */
void lf_wino_backward(const lf_wino *g, const float *dz, const float *UT, float *V, float *M, float *dU, float *dx,
                      int dx_fresh, size_t r0, size_t r1, int par);

/* dw (3, 3, C, F) += the kernel's gradient from the n parts dU (n, 36, C,
 * F) of lf_wino_backward, added in order (dU[0] is overwritten) */
void lf_wino_dw(const lf_wino *g, float *dU, size_t n, float *dw);

#endif
