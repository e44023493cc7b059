/*
 * layers.h — forward/backward kernels of every layer family, as plain
 * functions of arrays and dimensions (the graph driver in graph.c owns the
 * buffers and calls them).  Backward functions ACCUMULATE (+=) into the
 * gradients of their inputs and weights, so a node that feeds several others
 * sums its gradients; a NULL input gradient means "not needed".
 * Shapes are given as (rows, features), B = batch rows.
 */
#ifndef LF_LAYERS_H
#define LF_LAYERS_H

#include "internal.h"

/* ---- dense.c: y = x w^T + b (then max(y, 0) when relu)
 * x: (B, in)  w: (out, in)  b: (out) or NULL  y: (B, out) */
void lf_dense_forward(float *restrict y, const float *restrict x, const float *restrict w,
                      const float *restrict b, size_t B, size_t in, size_t out, int relu);
/* dz: (B, out) -> dx (B, in) +=, dw (out, in) +=, db (out) += */
void lf_dense_backward(float *restrict dx, float *restrict dw, float *restrict db,
                       const float *restrict dz, const float *restrict x,
                       const float *restrict w, size_t B, size_t in, size_t out);

/* ---- dropout.c: inverted dropout
 * mask: (B, D) receives 0 or 1/(1-rate), value j of row r from draw j of
 * row d->row0 + r's stream of node `node`; y = x * mask */
void lf_dropout_forward(float *restrict y, float *restrict mask, const float *restrict x,
                        size_t B, size_t D, float rate, const lf_draws *d, uint64_t node);
void lf_dropout_backward(float *restrict dx, const float *restrict dy,
                         const float *restrict mask, size_t n);

/* ---- merge.c: Keras merging layers over k inputs xs[i]: (B, D) */
typedef enum { LF_MERGE_ADD, LF_MERGE_SUB, LF_MERGE_MUL, LF_MERGE_AVG, LF_MERGE_MAX,
               LF_MERGE_MIN } lf_merge_op;
void lf_merge_forward(lf_merge_op op, float *restrict y, const float *const *xs, size_t k,
                      size_t B, size_t D);
/* dxs[i] may be NULL; y is the forward output (max/min route to the first
 * input equal to it). */
void lf_merge_backward(lf_merge_op op, float *const *dxs, const float *restrict dy,
                       const float *const *xs, const float *restrict y, size_t k, size_t B,
                       size_t D);
/* Concatenate along an axis: each row of input i is `outer` chunks of
 * dims[i] / outer values (the axis and the axes after it), joined chunk by
 * chunk: xs[i]: (B, outer, dims[i] / outer) -> y: (B, outer, sum dims / outer);
 * outer 1: along the features */
void lf_concat_forward(float *restrict y, const float *const *xs, const size_t *dims, size_t k,
                       size_t B, size_t outer);
void lf_concat_backward(float *const *dxs, const float *restrict dy, const size_t *dims,
                        size_t k, size_t B, size_t outer);
/* Dot(axes=1): a, b: (B, D) -> y: (B, 1); normalize: cosine similarity
 * (norms sqrt(max(|a_r|^2, 1e-12)), likewise b_r), with aux (B, 10) floats
 * that forward fills and backward reads (merge.c: the sums of squares, the
 * norms and the inner product, as doubles).  da and db may be one buffer
 * (a and b one node). */
void lf_dot_forward(float *restrict y, float *restrict aux, const float *restrict a,
                    const float *restrict b, size_t B, size_t D, int normalize);
void lf_dot_backward(float *da, float *db, const float *restrict dy,
                     const float *restrict a, const float *restrict b,
                     const float *restrict aux, size_t B, size_t D, int normalize);

/* ---- weighted.c: softmax-weighted averages over k inputs xs[i]: (B, D)
 * WeightedAverage   w: (k)      a: (B, k) per-row weights (masked softmax)
 * ClassWeighted     w: (k, D)   a: (B, k, D)
 * Gated             gate: (B, k) logits, a: (B, k)
 * mask: (B, k) of 0/1 or NULL (all present). */
void lf_wavg_forward(float *restrict y, float *restrict a, const float *const *xs,
                     const float *restrict w, const float *restrict mask, size_t k, size_t B,
                     size_t D);
void lf_wavg_backward(float *const *dxs, float *restrict dw, const float *restrict dy,
                      const float *const *xs, const float *restrict a, size_t k, size_t B,
                      size_t D);
void lf_cwavg_forward(float *restrict y, float *restrict a, const float *const *xs,
                      const float *restrict w, const float *restrict mask, size_t k, size_t B,
                      size_t D);
void lf_cwavg_backward(float *const *dxs, float *restrict dw, const float *restrict dy,
                       const float *const *xs, const float *restrict a, size_t k, size_t B,
                       size_t D);
void lf_gated_forward(float *restrict y, float *restrict a, const float *const *xs,
                      const float *restrict gate, const float *restrict mask, size_t k,
                      size_t B, size_t D);
/* dgate: (B, k) += */
void lf_gated_backward(float *const *dxs, float *restrict dgate, const float *restrict dy,
                       const float *const *xs, const float *restrict a, size_t k, size_t B,
                       size_t D);

/* ---- attention.c: scaled dot-product attention of H heads (MultiHeadAttention)
 * q: (B, T, H, kd)  k: (B, S, H, kd)  v: (B, S, H, vd)
 * qmask (B, T), kmask (B, S): 1 present, 0 absent, or NULL (all present):
 * absent keys score -inf; a row with no key left gets all-zero weights.
 * drop: (B, H, T, S) dropout multipliers or NULL.
 * -> prob (B, H, T, S) softmax weights, att (B, H, T, S) = prob * drop (only
 *    with drop, else unused), out (B, T, H, vd) */
void lf_attention_forward(float *restrict out, float *restrict prob, float *restrict att,
                          const float *restrict q, const float *restrict k,
                          const float *restrict v, const float *restrict qmask,
                          const float *restrict kmask, const float *restrict drop, size_t B,
                          size_t T, size_t S, size_t H, size_t kd, size_t vd);
/* the same with amask (B, T, S): which key each query row may attend
 * (nonzero: it may), Keras' combined attention mask; qmask and kmask are
 * then not read (amask holds them) */
void lf_attention_forward_masked(float *restrict out, float *restrict prob, float *restrict att,
                                 const float *restrict q, const float *restrict k,
                                 const float *restrict v, const float *restrict qmask,
                                 const float *restrict kmask, const float *restrict amask,
                                 const float *restrict drop, size_t B, size_t T, size_t S, size_t H,
                                 size_t kd, size_t vd);
/* the same with Hk key/value heads, Hk dividing H: k (B, S, Hk, kd), v (B, S,
 * Hk, vd), query head h reading key/value head h / (H / Hk) (Keras'
 * GroupedQueryAttention); Hk = H is lf_attention_forward_masked */
void lf_attention_forward_grouped(float *restrict out, float *restrict prob, float *restrict att,
                                  const float *restrict q, const float *restrict k,
                                  const float *restrict v, const float *restrict qmask,
                                  const float *restrict kmask, const float *restrict amask,
                                  const float *restrict drop, size_t B, size_t T, size_t S, size_t H,
                                  size_t Hk, size_t kd, size_t vd);
/* dout (B, T, H, vd) -> dq, dk, dv, written (=, not +=: every value
 * belongs to one sample and head); dscore (B, H, T, S) is scratch */
void lf_attention_backward(float *restrict dq, float *restrict dk, float *restrict dv,
                           float *restrict dscore, const float *restrict dout,
                           const float *restrict prob, const float *restrict att,
                           const float *restrict drop, const float *restrict q,
                           const float *restrict k, const float *restrict v, size_t B, size_t T,
                           size_t S, size_t H, size_t kd, size_t vd);

/* ---- noise.c: Keras' noise layers (their draws as lf_dropout_forward's)
 * SpatialDropout: x, y (B, S, C), S the steps or pixels; mask (B, C)
 * receives 0 or 1/(1-rate), channel c of row r from draw c */
void lf_spatial_dropout_forward(float *restrict y, float *restrict mask, const float *restrict x, size_t B,
                                size_t S, size_t C, float rate, const lf_draws *d, uint64_t node);
void lf_spatial_dropout_backward(float *restrict dx, const float *restrict dy, const float *restrict mask,
                                 size_t B, size_t S, size_t C);
/* GaussianNoise: y = x + stddev z; GaussianDropout: mult = 1 + sqrt(rate /
 * (1 - rate)) z, y = x mult; AlphaDropout: y = a x + b kept, a alpha' + b
 * dropped, slope a or 0 (noise.c); all (B, D), z standard normal */
void lf_gaussian_noise_forward(float *restrict y, const float *restrict x, size_t B, size_t D, float stddev,
                               const lf_draws *d, uint64_t node);
void lf_gaussian_dropout_forward(float *restrict y, float *restrict mult, const float *restrict x, size_t B,
                                 size_t D, float rate, const lf_draws *d, uint64_t node);
void lf_alpha_dropout_forward(float *restrict y, float *restrict slope, const float *restrict x, size_t B,
                              size_t D, float rate, const lf_draws *d, uint64_t node);

/* ---- discretize.c: Discretization, numpy's digitize: y = the number of
 * boundaries b[k] <= x (NaN: n); x, y: (B, D), b: (n) non-decreasing */
void lf_discretize_forward(float *restrict y, const float *restrict x, size_t B, size_t D, const float *restrict b,
                           size_t n);
/* and its output modes: one_hot (B, D, n + 1), else (B, n + 1): multi_hot
 * (count 0) or count (count 1) */
void lf_discretize_encode_forward(float *restrict y, const float *restrict x, size_t B, size_t D,
                                  const float *restrict b, size_t n, int one_hot, int count);

/* ---- resizing.c: Resizing and CenterCrop's passes (RandomCrop's too)
 * A window (top, rows, left, cols) of each image x (H, W, C) — W, C and
 * in = H W C given — resized to (Ho, Wo) (out = Ho Wo C values a row),
 * bilinear or nearest, with half-pixel centres (resizing.c's top) */
typedef struct lf_resize_geom {
    size_t W, C, top, rows, left, cols, Ho, Wo, in, out;
    int nearest;
    size_t H, pad_top, pad_left; /* Resizing's pad_to_aspect_ratio (resizing.c): the window */
    float fill;                  /* in an image padded with fill; 0 for the kernels below */
} lf_resize_geom;
// x: (B, H, W, C)  y: (B, Ho, Wo, C)
void lf_resize_forward(float *restrict y, const float *restrict x, size_t B, const lf_resize_geom *g);
// dy: (B, Ho, Wo, C)  dx: (B, H, W, C), added to
void lf_resize_backward(float *restrict dx, const float *restrict dy, size_t B, const lf_resize_geom *g);
/* Keras' aspect-ratio window of an H x W image for a th x tw target (its
 * crop_to_aspect_ratio, smart_resize): win = (top, rows, left, columns) */
void lf_aspect_window(size_t H, size_t W, size_t th, size_t tw, size_t *win);

#endif
