/*
 * testing.h — the library's hooks for its own tests, and only for them:
 * internal entry points that the gradient, golden and kernel tests call
 * to reach what the public API does not show (a batch's gradients, every
 * node's output, one micro-kernel).  They are compiled into the static
 * library that the tests link, hidden from the shared library
 * (-fvisibility=hidden: tests/abi_test.sh checks that the .so exports the
 * public header only), and declared here once, so that their definitions
 * and their callers are checked against the same prototypes.
 */
#ifndef LF_TESTING_H
#define LF_TESTING_H

#include "latefuse.h"

/* fit.c: the batch loss (mean + L2) and gradients of n rows in one batch,
 * optionally taking an optimizer step (fit's: LF_ERR_NUMERIC where fit's
 * would refuse it, the gradients still written).  input_grads: NULL or one
 * array per input. */
lf_status lf__loss_and_grads(lf_model *m, const float *const *x, const float *t, size_t n,
                             int training, int step, double *loss, float **input_grads);

/* fit.c: the inference-mode output of every node for n rows (out[id] NULL
 * to skip a node; a node on TimeDistributed steps has n T rows). */
lf_status lf__forward_nodes(const lf_model *m, const float *const *x, size_t n, float **out);

/* kernels.c: the packed sgemm path with a given micro-kernel (isa 0
 * portable, 1 AVX2, 2 AVX-512), with the bias/relu epilogue; returns 0 when
 * this CPU lacks that ISA. */
int lf__sgemm_isa(int isa, int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
                  const float *A, size_t lda, const float *B, size_t ldb, float beta, float *C,
                  size_t ldc, const float *bias, int relu);

/* learned.c: the network inputs of a log-input learned method for the N
 * rows of p (x[k]: N x C per model, x[M]: the N x M mask), model `hide`
 * (or -1) hidden in every row: taken per batch of `batch` rows, as
 * training takes them when the inputs are large (table 0), or read from
 * the logs taken once for the whole fit (table 1). */
lf_status lf__learned_inputs(const float *const *p, size_t M, size_t N, size_t C, long hide, int table,
                             size_t batch, float *const *x);

/* augment.c: RandomTranslation's map of one image (H, W, C) for a shift
 * d = (dy, dx) pixels, and its transpose (added to dx). */
void lf__translate_image(const lf_translation_options *o, size_t H, size_t W, size_t C, const float *d,
                         const float *x, float *y);
void lf__translate_image_grad(const lf_translation_options *o, size_t H, size_t W, size_t C, const float *d,
                              const float *g, float *dx);

/* augment.c: RandomContrast's and RandomBrightness' map of one image (H, W,
 * C) for its drawn number k (the contrast factor, or the brightness delta
 * d), value_range vr, and its transpose (added to dx; x the input). */
void lf__contrast_image(size_t H, size_t W, size_t C, float k, const float *vr, const float *x, float *y);
void lf__contrast_image_grad(size_t H, size_t W, size_t C, float k, const float *vr, const float *x,
                             const float *g, float *dx);
void lf__brightness_image(size_t D, float d, const float *vr, const float *x, float *y);
void lf__brightness_image_grad(size_t D, float d, const float *vr, const float *x, const float *g, float *dx);

/* augment.c: RandomZoom's map of one image (H, W, C) for its drawn zooms
 * z = (zy, zx) (Keras' height_zoom, width_zoom: 1 + the factor's draw), the
 * fill and interpolation of o, and its transpose (added to dx). */
void lf__zoom_image(const lf_translation_options *o, size_t H, size_t W, size_t C, const float *z, const float *x,
                    float *y);
void lf__zoom_image_grad(const lf_translation_options *o, size_t H, size_t W, size_t C, const float *z,
                         const float *g, float *dx);

/* augment.c: RandomRotation's map of one image for its drawn angle (degrees,
 * counter-clockwise), and its transpose (added to dx). */
void lf__rotate_image(const lf_translation_options *o, size_t H, size_t W, size_t C, float degrees, const float *x,
                      float *y);
void lf__rotate_image_grad(const lf_translation_options *o, size_t H, size_t W, size_t C, float degrees,
                           const float *g, float *dx);

/* hsv.c: RandomSaturation's, RandomHue's and RandomColorDegeneration's map
 * of one image of HW pixels of C channels for its drawn number k (the
 * saturation factor, the hue delta, the blend factor), value_range vr,
 * and its transpose (added to dx; x the input). */
typedef enum { LF_HSV_SATURATION, LF_HSV_HUE, LF_HSV_DEGENERATION } lf_hsv_op;
void lf__hsv_image(lf_hsv_op op, size_t HW, size_t C, float k, const float *vr, const float *x, float *y);
void lf__hsv_image_grad(lf_hsv_op op, size_t HW, size_t C, float k, const float *vr, const float *x, const float *g,
                        float *dx);

#endif
