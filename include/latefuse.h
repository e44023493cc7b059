/*
 * latefuse.h — public API of liblatefuse.
 *
 * latefuse builds and trains small Keras-style multi-input networks (the
 * engine) and fuses the decisions of models that are already trained (the
 * fusion tool, built on the engine).  Everything public is prefixed `lf_` /
 * `LF_`; nothing else is exported.
 *
 * Conventions that hold for every function below unless its comment says
 * otherwise:
 *   - Fallible calls return an `lf_status`; `LF_OK` (0) is success.  The
 *     readable message of the last failure on a model is `lf_model_error(m)`
 *     (on a fusion model `lf_fusion_error(f)`).
 *   - A call that only reads its object takes it `const` and keeps nothing
 *     in it: its failures are told by the status alone (lf_status_string),
 *     and it may run from several threads at once (lf_model_predict,
 *     lf_fusion_predict, the getters).  The exceptions take the object
 *     non-const only to store their message, because a status cannot tell
 *     what went wrong: the saves (which file, which system error), the
 *     weight transfers (which layer, which index), lf_model_evaluate and
 *     lf_fusion_compare (which row of the caller's data is invalid).
 *   - Names: functions are lf_<object>_<action>; every enumeration constant
 *     is LF_<TAG>_<NAME> with one tag per enumeration: LF_ERR_ (lf_status,
 *     besides LF_OK), LF_ACT_ (lf_activation), LF_LOSS_ (lf_loss), LF_OPT_
 *     (lf_optimizer_kind), LF_FUSE_ (lf_method), LF_FAMILY_ (lf_family),
 *     LF_METRIC_ (the metrics), LF_ROW_ (lf_row_kind); flags are bits named
 *     after what takes them (LF_WRITE_*, LF_SAVE_*).  No public field holds
 *     a bare number where an enumeration names the values.
 *   - The caller owns what it passes in (arrays are read, never kept); the
 *     model owns what it allocates and frees it in `lf_model_free`.
 *   - Arrays are dense row-major float32: a batch of N rows of D features is
 *     N*D floats, row i at offset i*D.
 *   - No function calls exit() or abort(), whatever the input.
 *   - Thread-safety: a model may be used by one thread at a time, except
 *     `lf_model_predict`, which only reads the model and may run on the same
 *     model from any number of threads at once (as long as no other call
 *     modifies it meanwhile).  Different models are independent.
 */
#ifndef LATEFUSE_H
#define LATEFUSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with -fvisibility=hidden: what this header declares
 * is exported, nothing else (tests/abi_test.sh checks it). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define LF_VERSION "0.1.0"

/* ---------------------------------------------------------------- status */

typedef enum lf_status {
    LF_OK = 0,
    LF_ERR_NOMEM = 1,   /* an allocation failed                              */
    LF_ERR_IO = 2,      /* a file could not be opened, read or written       */
    LF_ERR_FORMAT = 3,  /* a file or string is malformed or not trusted      */
    LF_ERR_SHAPE = 4,   /* array sizes do not fit together                   */
    LF_ERR_ARG = 5,     /* an argument is invalid (NULL, out of range, name) */
    LF_ERR_STATE = 6,   /* the call is not valid now (e.g. not compiled)     */
    LF_ERR_NUMERIC = 7, /* a value is NaN/Inf or training diverged           */
    LF_ERR_CANCELLED = 8 /* the caller's `cancel` flag stopped the call     */
} lf_status;

/* A constant, never-NULL English name for a status ("out of memory", ...). */
const char *lf_status_string(lf_status st);

/* The number of threads a call with `threads` 0 in its options would use
 * if started now on the calling thread: OpenMP's count for that thread
 * (omp_set_num_threads, else OMP_NUM_THREADS, else one per core), at most
 * 1024; 1 in a build without OpenMP.  OpenMP keeps this count per thread,
 * so a caller that runs a call on a thread of its own passes this, read on
 * its own thread, as the options' `threads` to keep its setting. */
size_t lf_threads_default(void);

/* ------------------------------------------------------------- progress */

/* What a long call (fit, a learned fusion method's fit, compare) reports
 * while it runs, through the `progress` callback of its options.  The
 * library never prints and never asks whether stderr is a terminal: the
 * caller decides what to show (the CLI draws a Keras-style bar on a
 * terminal; Python does the same for verbose=1).  The callback runs on the
 * calling thread, between steps; it must not call the library on the same
 * object.  Events:
 *   EPOCH_BEGIN  epoch (1-based) of epochs is starting
 *   STEP         step of steps done in this epoch; seconds, loss and
 *                accuracy so far (NaN without accuracy).  Sent at most
 *                every 0.1 s and at the epoch's last step.
 *   EPOCH_END    the epoch's loss and accuracy, val_loss and val_accuracy
 *                (NaN without validation data), seconds for the epoch
 *   EARLY_STOP   training stops after `epoch`; best_epoch (1-based), and
 *                restored = 1 when the best weights were put back
 *   METHOD       compare: method `item` of `items` (1-based) is starting
 *                (on several threads: the share of the work done has
 *                reached it; told once per method, in order, none after
 *                a failure)
 *   METHODS_DONE compare: every method is done
 *   VAL_STEP     fit with lf_fit_options.progress_validation_steps, at an
 *                epoch's validation (after its last STEP, before its
 *                EPOCH_END): step of steps validation batches measured
 *                (step 0: the validation begins); val_loss and
 *                val_accuracy so far, loss and accuracy the epoch's
 *                training values; no text (lf_progress_format)
 * STEP, METHOD and METHODS_DONE redraw one line ('\r'): show them on a
 * terminal only. */
typedef enum lf_progress_event {
    LF_PROGRESS_EPOCH_BEGIN = 0,
    LF_PROGRESS_STEP,
    LF_PROGRESS_EPOCH_END,
    LF_PROGRESS_EARLY_STOP,
    LF_PROGRESS_METHOD,
    LF_PROGRESS_METHODS_DONE,
    LF_PROGRESS_VAL_STEP
} lf_progress_event;

typedef struct lf_progress {
    lf_progress_event event;
    size_t epoch, epochs;        /* 1-based epoch of the fit's epochs      */
    size_t step, steps;          /* steps done in the epoch, of steps      */
    double seconds;              /* since the epoch began; METHOD: since the
                                    first method began                     */
    double loss, accuracy;       /* so far in the epoch (NaN: not measured) */
    double val_loss, val_accuracy; /* EPOCH_END; NaN otherwise             */
    size_t best_epoch;           /* EARLY_STOP: 1-based                    */
    int restored;                /* EARLY_STOP: best weights put back      */
    size_t item, items;          /* METHOD: 1-based method of items        */
    const char *method;          /* METHOD: its name                       */
} lf_progress;

typedef void (*lf_progress_fn)(void *ctx, const lf_progress *p);

/* The Keras-style text of an event into buf (always terminated; cut to
 * len - 1 bytes): "Epoch 2/10\n", "\r12/40 [=====>....] - ETA: 3s - loss:
 * 0.4321 - accuracy: 0.8800   ", the epoch's final bar line with its time
 * per step and validation metrics, "Early stopping at epoch ...\n",
 * "\r2/21 [==>.....] - ETA: 30s - wavg   " (a METHOD event: item - 1
 * done), a blank line for METHODS_DONE.  Returns
 * the length of the whole text.  Writes nowhere else. */
size_t lf_progress_format(const lf_progress *p, char *buf, size_t len);

/* ----------------------------------------------------------------- model */

typedef struct lf_model lf_model;

/* Creates an empty model.  `seed` seeds the model's own random generator,
 * which draws the initial weights (in layer creation order); fit's
 * shuffling, dropout masks and augmentation draw from lf_fit_options.seed.
 * The same seeds and the same calls give bit-identical results.  Returns LF_ERR_ARG if out is NULL, LF_ERR_NOMEM on failure. */
lf_status lf_model_create(lf_model **out, uint64_t seed);

/* Frees the model and everything it owns.  NULL is allowed. */
void lf_model_free(lf_model *m);

/* The message of the last failed call on `m` ("" if none).  The pointer
 * stays valid until the next call on m.  Never NULL (for m == NULL it is a
 * constant string). */
const char *lf_model_error(const lf_model *m);

/* --------------------------------------------------------------- builder */
/*
 * The builder reads like the Keras functional API.  Each call adds one layer
 * (a node of the graph) and returns its id (>= 0); the arguments name earlier
 * nodes by id, so a node may feed any number of later ones and creation order
 * is a topological order.  Layer names must be unique, 1..63 characters of
 * [A-Za-z0-9_.-]; NULL gives a Keras-style default ("dense", "dense_1", ...).
 *
 * Errors are sticky: a failing builder call returns -1, records the message,
 * and every later builder call and lf_model_compile fail with the first
 * error.  So a model can be built without checking each call.
 *
 * Shapes: a node's per-sample shape has rank 1 to LF_MAX_RANK, channels
 * last like Keras: vectors (D), sequences (T, D), images (H, W, C), videos
 * (T, H, W, C) (frames of images; lf_time_distributed runs image layers on
 * each frame).  Its
 * `dim` is the product of the shape; the values of a batch are always
 * (batch, dim) row-major floats (an image row is H x W x C values, channel
 * fastest), so the arrays given to fit, evaluate and predict are 2-D.
 */

/* 5 since ConvLSTM3D's inputs (T, D, H, W, C); 4 before (videos (T, H, W, C)),
 * 3 before that.  A caller that sizes an
 * lf_node_shape buffer by it must be rebuilt against this header. */
#define LF_MAX_RANK 5

/* What an input holds (lf_input_shape) and what an array holds (lf_typed_array).
 *   LF_DTYPE_FLOAT32  real values;
 *   LF_DTYPE_INT32    integers, e.g. token ids for an Embedding;
 *   LF_DTYPE_UINT8    (arrays only, e.g. image pixels 0..255) bytes.
 * Inside the graph every value is a float32.  The values of an INT32 input
 * reach the layers that consume it as float32 numbers equal to the
 * integers, exactly: an int32 array is accepted only with every value in
 * [-2^24, 2^24] (16777216, the range in which every integer is a float),
 * and converted by the library, batch by batch, as it reads the rows.  So
 * a consumer that needs ids (Embedding) reads float rows and checks that
 * each value is an integer in its range itself (its message names the
 * layer, the row and the value); a consumer of numbers (Dense) sees the
 * numbers, as Keras casts.  An INT32 input may still be given as a float
 * array holding integers (lf_model_fit and friends); an array of any dtype
 * may feed an input of any dtype (lf_typed_array), its values converted exactly.
 * An input cannot be declared LF_DTYPE_UINT8. */
typedef enum lf_dtype { LF_DTYPE_FLOAT32 = 0, LF_DTYPE_INT32, LF_DTYPE_UINT8 } lf_dtype;

/* Keras' padding of convolutions and poolings: "valid" (none) or "same"
 * (output size ceil(in / stride); the extra padding pixel, when the total
 * is odd, goes to the bottom / right); "causal", Conv1D's only: dilation
 * (kernel_size - 1) zero steps before the first, none after. */
typedef enum lf_padding { LF_PADDING_VALID = 0, LF_PADDING_SAME, LF_PADDING_CAUSAL } lf_padding;

typedef enum lf_activation {
    LF_ACT_LINEAR = 0,
    LF_ACT_RELU,
    LF_ACT_LEAKY_RELU, /* x >= 0 ? x : 0.2 x  (Keras' default negative_slope) */
    LF_ACT_ELU,        /* x >= 0 ? x : exp(x) - 1                             */
    LF_ACT_GELU,       /* exact: x * Phi(x), as Keras/PyTorch default         */
    LF_ACT_SIGMOID,
    LF_ACT_TANH,
    LF_ACT_SOFTMAX,    /* over the features of each row                       */
    /* Keras 3's other activations (keras/src/activations/activations.py),
     * appended so that the numbers above keep their values: */
    LF_ACT_SELU,           /* scale (x > 0 ? x : alpha (exp(x) - 1)), alpha
                              1.6732632423543772, scale 1.0507009873554805   */
    LF_ACT_SOFTPLUS,       /* log(1 + exp(x))                                 */
    LF_ACT_SOFTSIGN,       /* x / (1 + |x|)                                   */
    LF_ACT_SILU,           /* x sigmoid(x); "swish" parses to it              */
    LF_ACT_RELU6,          /* min(max(x, 0), 6)                               */
    LF_ACT_HARD_SIGMOID,   /* relu6(x + 3) / 6                                */
    LF_ACT_HARD_SILU,      /* x hard_sigmoid(x); "hard_swish" parses to it    */
    LF_ACT_MISH,           /* x tanh(softplus(x))                             */
    LF_ACT_EXPONENTIAL,    /* exp(x)                                          */
    LF_ACT_CELU,           /* alpha 1: x >= 0 ? x : exp(x) - 1 (elu's values) */
    LF_ACT_LOG_SIGMOID,    /* -softplus(-x)                                   */
    LF_ACT_HARD_TANH,      /* min(max(x, -1), 1)                              */
    LF_ACT_TANH_SHRINK,    /* x - tanh(x)                                     */
    LF_ACT_SQUAREPLUS,     /* (x + sqrt(x^2 + 4)) / 2  (b = 4)                */
    LF_ACT_SOFT_SHRINK,    /* x > .5 ? x - .5 : x < -.5 ? x + .5 : 0          */
    LF_ACT_HARD_SHRINK,    /* |x| > .5 ? x : 0                                */
    LF_ACT_SPARSE_PLUS,    /* x <= -1 ? 0 : x < 1 ? (x + 1)^2 / 4 : x         */
    LF_ACT_SPARSE_SIGMOID, /* x <= -1 ? 0 : x >= 1 ? 1 : (x + 1) / 2          */
    LF_ACT_LOG_SOFTMAX,    /* x - log(sum(exp(x))) over the features of a row */
    LF_ACT_SPARSEMAX,      /* max(x - tau, 0) over the features of a row, tau
                              making them sum to 1 (Martins & Astudillo 2016;
                              Keras 3 after its fix of Aug 2026, PR 23469)   */
    LF_ACT_COUNT           /* the number of activations, not one itself       */
} lf_activation;

/* Returns the Keras spelling ("relu", ...) or NULL for an invalid value
 * (LF_ACT_COUNT included). */
const char *lf_activation_name(lf_activation a);
/* Parses a Keras spelling, Keras' aliases "swish" (LF_ACT_SILU) and
 * "hard_swish" (LF_ACT_HARD_SILU) included; returns -1 if unknown.  Keras'
 * glu (which halves the features) and threshold (which needs arguments) are
 * not available. */
int lf_activation_parse(const char *name);

/* Input(dim).  Inputs are numbered in creation order: that is the order of
 * the `x` arrays given to fit, evaluate and predict. */
int lf_input(lf_model *m, size_t dim, const char *name);

/* Input(shape, dtype): rank 1..LF_MAX_RANK dims, each >= 1, channels last
 * ((H, W, C) for an image, (T, H, W, C) for a video).  lf_input(m, d, name) is lf_input_shape(m, 1,
 * &d, LF_DTYPE_FLOAT32, name). */
int lf_input_shape(lf_model *m, size_t rank, const size_t *dims, lf_dtype dtype,
                   const char *name);

/* Dense(units, activation, use_bias): y = act(x W^T + b).
 * W is stored (units, in) like PyTorch's nn.Linear.weight (the transpose of
 * Keras' kernel); glorot_uniform init, limit sqrt(6/(in+units)); b = 0.
 * Like Keras' Dense it acts on the last axis of x: (T, in) -> (T, units)
 * (the activation too), keeping a sequence's padding mask. */
int lf_dense(lf_model *m, int x, size_t units, lf_activation act, int use_bias,
             const char *name);

/* Activation(act) as a layer of its own. */
int lf_activation_layer(lf_model *m, int x, lf_activation act, const char *name);

/* Keras 3's activation layer classes (keras/src/layers/activations/), each
 * y of x's shape, value by value; the first four keep an input's padding
 * mask.  Their arguments are checked when the node is added (a failed
 * check is the builder's sticky LF_ERR_ARG, its message Keras' where
 * Keras has one).
 *
 * ReLU(max_value, negative_slope, threshold): y = max_value for x >=
 * max_value, x for threshold < x < max_value, negative_slope (x -
 * threshold) for x <= threshold.  max_value INFINITY is Keras' None; all
 * three >= 0, as Keras refuses negative ones (NaN refused too). */
int lf_relu_layer(lf_model *m, int x, float max_value, float negative_slope, float threshold, const char *name);

/* LeakyReLU(negative_slope): y = x for x >= 0, negative_slope x below;
 * negative_slope finite and >= 0 (Keras' default 0.3). */
int lf_leaky_relu(lf_model *m, int x, float negative_slope, const char *name);

/* ELU(alpha): y = x for x > 0, alpha (exp(x) - 1) otherwise; alpha finite
 * (Keras' default 1). */
int lf_elu_layer(lf_model *m, int x, float alpha, const char *name);

/* PReLU(shared_axes): y = x for x > 0, alpha x otherwise, alpha a trainable
 * weight "alpha" (zeros at first, Keras' alpha_initializer "Zeros") shaped
 * as x's per-sample shape with each shared axis 1 (Keras' build).
 * shared_axes: n_shared distinct axes in Keras' numbering, 1 the first
 * axis after the batch (n_shared 0, shared_axes may be NULL: Keras' None);
 * for an image (H, W, C), {1, 2} gives one alpha per channel. */
int lf_prelu(lf_model *m, int x, const int *shared_axes, size_t n_shared, const char *name);

/* Softmax(axis): y = exp(x - max) / sum(exp(x - max)) over each group of
 * values that differ only along the n_axes axes (n_axes >= 1, distinct;
 * Keras' numbering: 1 the first per-sample axis, -1 the last; 0, the
 * batch, refused).  {-1} is Keras' default, Activation(softmax)'s values.
 * An input carrying a padding mask is refused (Keras adds the mask to the
 * values, a broadcast that fits only some shapes). */
int lf_softmax_layer(lf_model *m, int x, const int *axes, size_t n_axes, const char *name);

/* Dropout(rate), 0 <= rate < 1: inverted dropout while training (kept units
 * scaled by 1/(1-rate)), identity in evaluate and predict. */
int lf_dropout(lf_model *m, int x, float rate, const char *name);

/* Flatten(): (batch, d1, ..., dk) -> (batch, d1 * ... * dk).  The values
 * do not move (rows are row-major): its output is a copy of x. */
int lf_flatten(lf_model *m, int x, const char *name);

/* Reshape(target_shape): rank 1..LF_MAX_RANK dims whose product is x's dim;
 * one of them may be LF_INFER (Keras' -1): x's dim over the product of the
 * others, which must divide it.  The values are copied in the same
 * row-major order; the node's shape (lf_node_shape, the model file) is
 * the resolved one. */
#define LF_INFER ((size_t)-1)
int lf_reshape(lf_model *m, int x, size_t rank, const size_t *dims, const char *name);

/* RepeatVector(n): (batch, D) -> (batch, n, D), the row repeated n times
 * (n >= 1; the input must be flat).  Permute(dims): the per-sample axes
 * reordered, output axis i the input's axis dims[i] (1-based: k entries,
 * a permutation of 1..k, k the input's rank; Keras' message otherwise).
 * Neither keeps a padding mask (Keras 3's layers support none). */
int lf_repeat_vector(lf_model *m, int x, size_t n, const char *name);
int lf_permute(lf_model *m, int x, size_t k, const size_t *dims, const char *name);

/* ---- image layers: x is (batch, H, W, C), channels last */

/* Conv2D(filters, kernel_size=(kh, kw), strides=(sh, sw), padding,
 * activation, use_bias): y (batch, Ho, Wo, filters) = act(conv(x) + b), Ho =
 * (H - kh) / sh + 1 with LF_PADDING_VALID, ceil(H / sh) with
 * LF_PADDING_SAME (likewise Wo).  The kernel is Keras' (kh, kw, C, filters),
 * glorot_uniform (fan_in kh kw C, fan_out kh kw filters); b = 0.  An
 * activation applies per pixel over the filters (softmax too). */
int lf_conv2d(lf_model *m, int x, size_t filters, size_t kh, size_t kw, size_t sh, size_t sw,
              lf_padding padding, lf_activation act, int use_bias, const char *name);
/* lf_conv2d with Keras' dilation_rate=(dh, dw): kernel tap (ky, kx) reads
 * input pixel (oy sh + ky dh, ox sw + kx dw) (before padding); the sizes
 * above with the dilated window d (k - 1) + 1 for k.  As Keras, strides and
 * a dilation both above 1 are refused.  lf_conv2d is (1, 1). */
int lf_conv2d_dilated(lf_model *m, int x, size_t filters, size_t kh, size_t kw, size_t sh, size_t sw,
                      lf_padding padding, size_t dh, size_t dw, lf_activation act, int use_bias,
                      const char *name);

/* DepthwiseConv2D(kernel_size=(kh, kw), strides=(sh, sw), padding,
 * depth_multiplier, dilation_rate=(dh, dw), activation, use_bias): each
 * input channel c convolved on its own by depth_multiplier (M) filters:
 * y (batch, Ho, Wo, C M), channel c M + j = act(sum over the window of
 * x[., c] kernel[ky, kx, c, j] + bias[c M + j]); Ho, Wo as Conv2D's.  The
 * kernel is Keras' "kernel" (kh, kw, C, M), glorot_uniform (fan_in kh kw C,
 * fan_out kh kw M), the bias (C M), zeros. */
int lf_depthwise_conv2d(lf_model *m, int x, size_t kh, size_t kw, size_t sh, size_t sw, lf_padding padding,
                        size_t depth_multiplier, size_t dh, size_t dw, lf_activation act, int use_bias,
                        const char *name);
/* SeparableConv2D(filters, kernel_size, strides, padding, depth_multiplier,
 * dilation_rate, activation, use_bias): DepthwiseConv2D without bias or
 * activation, then a 1x1 convolution to filters: y = act(t pointwise +
 * bias).  Keras' weights in Keras' order: "depthwise_kernel" (kh, kw, C,
 * M), "pointwise_kernel" (1, 1, C M, filters), "bias" (filters); both
 * kernels glorot_uniform, the bias zeros. */
int lf_separable_conv2d(lf_model *m, int x, size_t filters, size_t kh, size_t kw, size_t sh, size_t sw,
                        lf_padding padding, size_t depth_multiplier, size_t dh, size_t dw, lf_activation act,
                        int use_bias, const char *name);

/* Conv2DTranspose(filters, kernel_size=(kh, kw), strides=(sh, sw), padding,
 * output_padding, activation, use_bias): Keras' transposed convolution,
 * the transpose of a Conv2D of the same kernel, strides and padding:
 * input pixel i adds x[i] kernel[t] to output pixel i s + t - P (per axis).
 * output_padding: two values (h, w), each below its stride, or NULL for
 * Keras' None.  Per axis of n pixels, as Keras 3 (TensorFlow and JAX):
 * LF_PADDING_VALID: Ho = (n - 1) s + k + op (None: max(k, s) - k), P = 0;
 * LF_PADDING_SAME: Ho = n s (None) or (n - 1) s + k % 2 + op, P = k - 1 -
 * min(ceil(pad / 2), k - 1) with pad = s + k - 2 (None) or k + k % 2 - 2 +
 * op.  The kernel is Keras' (kh, kw, filters, C), glorot_uniform; b = 0. */
int lf_conv2d_transpose(lf_model *m, int x, size_t filters, size_t kh, size_t kw, size_t sh, size_t sw,
                        lf_padding padding, const size_t *output_padding, lf_activation act, int use_bias,
                        const char *name);

/* MaxPooling2D / AveragePooling2D(pool_size=(ph, pw), strides=(sh, sw),
 * padding): the max / mean of each window; strides 0 means Keras' default,
 * the pool size.  With LF_PADDING_SAME padded pixels take no part (the mean
 * divides by the window's real pixels). */
int lf_max_pooling2d(lf_model *m, int x, size_t ph, size_t pw, size_t sh, size_t sw, lf_padding padding,
                     const char *name);
int lf_average_pooling2d(lf_model *m, int x, size_t ph, size_t pw, size_t sh, size_t sw,
                         lf_padding padding, const char *name);
/* GlobalMaxPooling2D / GlobalAveragePooling2D: (batch, H, W, C) -> (batch, C). */
int lf_global_max_pooling2d(lf_model *m, int x, const char *name);
int lf_global_average_pooling2d(lf_model *m, int x, const char *name);

/* BatchNormalization(axis=-1, momentum, epsilon) over the last axis of any
 * shape (Keras' defaults: momentum 0.99, epsilon 1e-3).  Weights gamma,
 * beta (trained), moving_mean, moving_variance (not trained, saved).
 * Training normalises by the batch's mean and biased variance and updates
 * moving = moving * momentum + batch * (1 - momentum) (Keras 3's rule, the
 * biased variance too); evaluate and predict use the moving statistics. */
int lf_batch_normalization(lf_model *m, int x, float momentum, float epsilon, const char *name);
/* The same with Keras' center and scale (lf_batch_normalization: both 1):
 * center = 0 leaves beta out (y has no offset), scale = 0 leaves gamma out
 * (a factor of 1); the weights are then, as Keras', [beta, moving_mean,
 * moving_variance], [gamma, moving_mean, moving_variance] or the moving
 * statistics alone. */
int lf_batch_normalization_opt(lf_model *m, int x, float momentum, float epsilon, int center, int scale,
                               const char *name);

/* Rescaling(scale, offset): y = x * scale + offset, any shape. */
int lf_rescaling(lf_model *m, int x, float scale, float offset, const char *name);

/* Keras' Normalization(axis, mean, variance, invert): the n_axis axes in
 * axis (Keras' numbering: 1 the first axis after the batch, -1 the last;
 * n_axis 0 is axis=None) are kept, each position of them with its own
 * mean and variance, over all the other axes:
 *     y = (x - mean) / max(sqrt(variance), 1e-7)
 * or, invert = 1, y = mean + x * max(sqrt(variance), 1e-7).  mean and
 * variance hold the kept axes' values row-major (one value for axis=None),
 * finite, variance >= 0; both NULL: 0 and 1 (Keras' weights before adapt;
 * set them with lf_set_weights, or the Python layer's adapt()).  They are
 * the layer's weights "mean" and "variance" (shape: the kept axes, (1,)
 * for axis=None), kept in the model file and never trained; the gradient
 * flows to the input.  Axis 0 (the batch) is refused. */
int lf_normalization(lf_model *m, int x, const int *axis, size_t n_axis, const float *mean, const float *variance,
                     int invert, const char *name);

/* Keras' CategoryEncoding(num_tokens, output_mode): x holds token ids
 * (floats holding integers), shape (n,) per row.  LF_CATEGORY_MULTI_HOT
 * (Keras' default): (num_tokens,), 1 at each id in the row;
 * LF_CATEGORY_COUNT: (num_tokens,), how often each id is in the row;
 * LF_CATEGORY_ONE_HOT: (num_tokens,) when n is 1, else (n, num_tokens), one
 * row of num_tokens per id.  Ids must be integers in [0, num_tokens): fit,
 * evaluate and predict refuse others in a model input the layer reads, and
 * elsewhere such an id adds nothing.  No weights, no padding mask, and no
 * gradient flows back to x (ids are not differentiable). */
typedef enum lf_category_mode {
    LF_CATEGORY_MULTI_HOT = 0,
    LF_CATEGORY_ONE_HOT = 1,
    LF_CATEGORY_COUNT = 2
} lf_category_mode;
int lf_category_encoding(lf_model *m, int x, size_t num_tokens, lf_category_mode output_mode, const char *name);

/* RandomFlip(mode): while training, each image is mirrored left-right
 * (horizontal) and/or top-bottom (vertical), each with probability 1/2,
 * drawn from the model's generator; the identity in evaluate and predict. */
typedef enum lf_flip {
    LF_FLIP_HORIZONTAL = 1,
    LF_FLIP_VERTICAL = 2,
    LF_FLIP_HORIZONTAL_AND_VERTICAL = 3
} lf_flip;
int lf_random_flip(lf_model *m, int x, lf_flip mode, const char *name);

/* RandomTranslation(height_factor, width_factor): Keras 3's layer.  While
 * training each image (H, W, C) moves by dy = u H rows and dx = v W columns
 * (down / right when positive; not rounded), u uniform in [height_lower,
 * height_upper] and v in [width_lower, width_upper], drawn per image from
 * the model's generator; the identity in evaluate and predict.  As Keras'
 * affine transform: output pixel (i, j) reads the input at (i - dy, j - dx),
 *  - interpolation LF_INTERP_BILINEAR: the four pixels around that point,
 *    weighted by their distances; LF_INTERP_NEAREST: the pixel at
 *    floor(i - dy + 0.5), floor(j - dx + 0.5);
 *  - pixels outside the image (fill_mode), on a row a b c d:
 *    LF_FILL_REFLECT  d c b a | a b c d | d c b a  (the edge repeated),
 *    LF_FILL_WRAP     a b c d | a b c d | a b c d,
 *    LF_FILL_NEAREST  a a a a | a b c d | d d d d,
 *    LF_FILL_CONSTANT k k k k | a b c d | k k k k  (k = fill_value);
 *    bilinear weights an outside pixel as any other (constant: k).
 * The factors are in [-1, 1], lower <= upper.  lf_translation_defaults(h, w)
 * is Keras' RandomTranslation(h, w): [-|h|, |h|], [-|w|, |w|], reflect,
 * bilinear, fill_value 0. */
typedef enum lf_fill_mode {
    LF_FILL_REFLECT = 0, /* Keras' default */
    LF_FILL_WRAP = 1,
    LF_FILL_NEAREST = 2,
    LF_FILL_CONSTANT = 3
} lf_fill_mode;
typedef enum lf_interpolation {
    LF_INTERP_BILINEAR = 0, /* Keras' default */
    LF_INTERP_NEAREST = 1
} lf_interpolation;
typedef struct lf_translation_options {
    float height_lower, height_upper; /* the vertical shift's range, fractions of H */
    float width_lower, width_upper;   /* the horizontal shift's, fractions of W */
    lf_fill_mode fill_mode;
    lf_interpolation interpolation;
    float fill_value;                 /* LF_FILL_CONSTANT's value */
} lf_translation_options;
lf_translation_options lf_translation_defaults(float height_factor, float width_factor);
int lf_random_translation_opt(lf_model *m, int x, const lf_translation_options *opt, const char *name);

/* The earlier builder, kept for its users and model files: factors in
 * [0, 1], fill_mode constant (0), interpolation nearest, and the shift
 * rounded to whole pixels when drawn: round(u H) rows and round(v W)
 * columns, u, v uniform in [-factor, factor], round(x) = floor(x + 0.5).
 * Keras' nearest rounds each pixel's source instead, which differs only
 * when u H or v W is a whole number and a half. */
int lf_random_translation(lf_model *m, int x, float height_factor, float width_factor,
                          const char *name);

/* RandomZoom(height_factor, width_factor): Keras 3's layer, train-only (the
 * identity in evaluate and predict).  Each image (H, W, C) draws zy = 1 + u,
 * u uniform in [height_lower, height_upper], and zx = 1 + v, v uniform in
 * [width_lower, width_upper], or zx = zy when keep_aspect is nonzero
 * (Keras' width_factor=None: the width range is then unused).  Output pixel
 * (i, j) reads the input at (zy i + (H - 1) / 2 (1 - zy), zx j + (W - 1) / 2
 * (1 - zx)) (Keras' _get_zoom_matrix): about the image's centre, zooming
 * out when z > 1, in when z < 1; interpolation and fill_mode as
 * RandomTranslation's above (the same options: the ranges here are zoom
 * factors, lower <= upper, each in (-1, 1] as Keras' _check_factor_range,
 * or [-1, 1], Keras' RandomZoom(1.0), where a zoom 0 reads the centre).
 * Keras' RandomZoom(h, w) is lf_translation_defaults(h, w) with
 * keep_aspect 0, RandomZoom(h) the same with keep_aspect 1. */
int lf_random_zoom(lf_model *m, int x, const lf_translation_options *opt, int keep_aspect, const char *name);

/* RandomRotation(factor): Keras 3's layer, train-only (the identity in
 * evaluate and predict).  Each image (H, W, C) draws an angle a uniform in
 * [360 lower, 360 upper] degrees (positive: counter-clockwise), and output
 * pixel (i, j) reads the input at (sin(a) (j - cx) + cos(a) (i - cy) + cy,
 * cos(a) (j - cx) - sin(a) (i - cy) + cx), cx = (W - 1) / 2, cy = (H - 1) / 2
 * (Keras' _compute_affine_matrix about the centre, in float32);
 * fill_mode, interpolation and fill_value as RandomTranslation's.  lower
 * and upper are Keras' layer.factor: RandomRotation(f) is [max(-|f|, -1),
 * |f|]; here lower <= upper, lower <= 1, upper >= -1, finite. */
int lf_random_rotation(lf_model *m, int x, float lower, float upper, lf_fill_mode fill_mode,
                       lf_interpolation interpolation, float fill_value, const char *name);

/* RandomContrast and RandomBrightness: Keras 3's layers, train-only (the
 * identity in evaluate and predict; Keras' inference path returns the
 * images unclipped).  lower and upper are Keras' layer.factor, value_low and
 * value_high its value_range; each image (H, W, C) draws one number u
 * uniform in [0, 1) from the model's generator, shared by its pixels and
 * channels.
 *  - lf_random_contrast: factor k = (1 - lower) + u ((1 + upper) -
 *    (1 - lower)), y = clip((x - mean) k + mean, value_low, value_high)
 *    with mean the channel's mean over the image's H x W pixels.  Keras'
 *    RandomContrast(f) is lower 0, upper f (its _set_factor with bounds
 *    (0, 1): lower = max(-f, 0)), so k is in [1, 1 + f]; lower <= upper here,
 *    lower <= 1 and upper >= 0 (Keras sorts a pair, then takes these).
 *  - lf_random_brightness: y = clip(x + d, value_low, value_high), d =
 *    (lower + u (upper - lower)) (value_high - value_low).  Keras'
 *    RandomBrightness(f) is [-|f|, |f|]; lower <= upper, lower <= 1 and
 *    upper >= -1; value_low <= value_high (Keras sorts value_range).
 * clip(v, a, b) = min(max(v, a), b), as numpy's (b when a > b); the gradient
 * passes where a <= v <= b, 0 where clipped.  Every number finite. */
int lf_random_contrast(lf_model *m, int x, float lower, float upper, float value_low, float value_high,
                       const char *name);
int lf_random_brightness(lf_model *m, int x, float lower, float upper, float value_low, float value_high,
                         const char *name);

/* RandomSaturation, RandomHue and RandomColorDegeneration: Keras 3's layers
 * on channels-last RGB images, train-only (the identity in evaluate and
 * predict).  lower and upper are Keras' layer.factor (its _set_factor: a
 * number f is [max(-|f|, bound), |f|], a pair sorted), value_low and
 * value_high its value_range; each image draws from the model's generator
 * a number f = lower + u (upper - lower), u uniform in [0, 1), shared by
 * its pixels.  Each step is Keras' float32 operation (rgb_to_hsv,
 * hsv_to_rgb, rgb_to_grayscale of its numpy backend).
 *  - lf_random_saturation (C = 3): k = f / (1 - f + 1e-7); each pixel's
 *    HSV saturation S becomes clip(S k, value_low, value_high) (Keras
 *    clips S to the value range), back to RGB; f = 0.5 keeps the image,
 *    0 makes it grey, 1 saturates it.  Bound -1; value_low <= value_high.
 *  - lf_random_hue (C = 3): a second draw picks the sign s (-1 when above
 *    0.5), delta = s f / 2; pixels are taken from value_range to [0, 1],
 *    the hue moved by delta (wrapped into [0, 1]), back to RGB, clipped to
 *    [0, 1] and to value_range.  Bound 0; value_range kept as given (not
 *    sorted, as Keras), its ends different.
 *  - lf_random_color_degeneration (C = 1 or 3): y = clip(x + f (gray - x),
 *    value_low, value_high), gray = 0.2989 r + 0.5870 g + 0.1140 b (the
 *    image itself when C = 1).  Bound -1; value_low <= value_high.
 * Here lower <= upper, lower <= 1, upper >= the bound, every number
 * finite; other channel counts are refused.  The gradient follows the
 * same map (hsv.c says how its kinks are treated). */
int lf_random_saturation(lf_model *m, int x, float lower, float upper, float value_low, float value_high,
                         const char *name);
int lf_random_hue(lf_model *m, int x, float lower, float upper, float value_low, float value_high, const char *name);
int lf_random_color_degeneration(lf_model *m, int x, float lower, float upper, float value_low, float value_high,
                                 const char *name);

/* RandomColorJitter: Keras 3's layer on channels-last RGB images,
 * train-only (the identity in evaluate and predict): Keras' sub-layers
 * RandomBrightness, RandomContrast, RandomSaturation, RandomHue applied in
 * that order, each with its own draw, to the previous one's output, all
 * with value_range (value_low, value_high) (brightness and saturation
 * sort it, contrast and hue keep it as given, as Keras' sub-layers).  Each
 * factor is that sub-layer's resolved [lower, upper] (two floats), or NULL
 * for Keras' None: the sub-layer is left out.  The rules and refusals are
 * those of lf_random_brightness, lf_random_contrast, lf_random_saturation
 * and lf_random_hue for the factors given. */
int lf_random_color_jitter(lf_model *m, int x, float value_low, float value_high, const float *brightness,
                           const float *contrast, const float *saturation, const float *hue, const char *name);

/* ---- decoder layers (with Conv2DTranspose above): x is (batch, H, W, C) */

/* UpSampling2D(size=(sh, sw), interpolation): (batch, H, W, C) -> (batch,
 * H sh, W sw, C).  LF_INTERP_NEAREST (Keras' default "nearest") repeats
 * rows and columns; LF_INTERP_BILINEAR is Keras' "bilinear" resize
 * (half-pixel centres, clamped at the edges: PyTorch's bilinear with
 * align_corners=False). */
int lf_upsampling2d(lf_model *m, int x, size_t sh, size_t sw, lf_interpolation interpolation, const char *name);

/* ZeroPadding2D(padding=((top, bottom), (left, right))): zeros around the
 * image, (batch, H + top + bottom, W + left + right, C).
 * Cropping2D(cropping=((top, bottom), (left, right))): x[:, top:H - bottom,
 * left:W - right, :]; a crop of H or W pixels or more is refused. */
int lf_zero_padding2d(lf_model *m, int x, size_t top, size_t bottom, size_t left, size_t right, const char *name);
int lf_cropping2d(lf_model *m, int x, size_t top, size_t bottom, size_t left, size_t right, const char *name);

/* Resizing(height, width, interpolation, crop_to_aspect_ratio): Keras 3's
 * layer, (batch, H, W, C) -> (batch, height, width, C), Keras' half-pixel
 * resize (tf.image.resize, jax.image.resize; antialias off).  Per axis of n
 * pixels resized to m, scale = n / m, output pixel o reads
 *  - LF_INTERP_BILINEAR (Keras' default): the input at (o + 0.5) scale -
 *    0.5, clamped to the image, the two pixels around it weighted by their
 *    distances (PyTorch's bilinear, align_corners=False, for up- and
 *    down-scaling alike);
 *  - LF_INTERP_NEAREST: pixel min(floor((o + 0.5) scale), n - 1)
 *    (PyTorch's "nearest-exact", not its "nearest").
 * crop_to_aspect_ratio nonzero: first the largest centred window of the
 * target's aspect ratio, rows ch = max(min(H, int(W height / width)), 1)
 * from int((H - ch) / 2), columns cw = max(min(W, int(H width / height)), 1)
 * from int((W - cw) / 2), as Keras.  height and width in 1..2^28.  The
 * gradient flows back to x through the same weights (none to the pixels
 * cropped off).  Keras' antialias and the other interpolations are not
 * available. */
int lf_resizing(lf_model *m, int x, size_t height, size_t width, lf_interpolation interpolation,
                int crop_to_aspect_ratio, const char *name);

/* Resizing(height, width, interpolation, pad_to_aspect_ratio=True,
 * fill_value): lf_resizing on the image padded to the target's aspect
 * ratio, as Keras' backends do: ph = max(H, int(W height / width)) and pw =
 * max(W, int(H width / height)); when hs = int((ph - H) / 2) > 0, hs rows
 * of fill_value above and hs below the image, else ws = int((pw - W) / 2)
 * columns left and right (an odd difference leaves the padded image a row
 * or column short of the ratio, as Keras').  fill_value finite.  The
 * gradient reaches the image's pixels only. */
int lf_resizing_pad(lf_model *m, int x, size_t height, size_t width, lf_interpolation interpolation,
                    float fill_value, const char *name);

/* CenterCrop(height, width): Keras 3's layer, (batch, H, W, C) -> (batch,
 * height, width, C).  When H >= height and W >= width: x[:, top:top +
 * height, left:left + width, :], top = (H - height) / 2, left = (W - width)
 * / 2 rounded down (the odd pixel goes below / right).  Otherwise, as
 * Keras' smart_resize: lf_resizing's aspect-ratio window, resized
 * bilinearly to (height, width). */
int lf_center_crop(lf_model *m, int x, size_t height, size_t width, const char *name);

/* RandomCrop(height, width): Keras 3's augmentation layer, (batch, H, W,
 * C) -> (batch, height, width, C); height and width in 1..2^28
 * ("RandomCrop: height and width must be in 1..268435456, got (0, 4)").
 * In a training pass, when H > height and W > width, one window of
 * (height, width) pixels for the whole batch (Keras draws one location a
 * batch) from row int(u (H - height + 1)), column int(v (W - width + 1)),
 * u and v uniform in [0, 1) from the model's seed (the same seed, the same
 * bits, on any number of threads or ranks); otherwise in training Keras'
 * fallback: height x width pixels sliced from the start of lf_resizing's
 * aspect-ratio window (clipped to the image) and, when smaller, resized
 * bilinearly to (height, width).  Evaluate and predict: lf_resizing(height,
 * width, bilinear, crop_to_aspect_ratio) bit for bit (Keras' docstring;
 * Keras 3's code returns the input unchanged there, of another shape
 * unless it is (height, width)).  The gradient flows back to the window's
 * pixels.  Keras' seed is not kept. */
int lf_random_crop(lf_model *m, int x, size_t height, size_t width, const char *name);

/* Keras 3's colour layers on channels-last images (batch, H, W, C)
 * (src/layers/color_ops.c), the output the input's shape.  RandomGrayscale,
 * RandomInvert and Solarization are train-only (the identity in evaluate
 * and predict, as Keras); in a training pass each image draws from the
 * model's seed (the same seed, the same bits on any number of threads or
 * ranks).  Keras' seed is not kept.
 *  - lf_random_grayscale: Keras' RandomGrayscale(factor=0.5): an image
 *    drawing u < factor (u uniform in [0, 1)) becomes 0.2989 r + 0.5870 g
 *    + 0.1140 b in each of its 3 channels (Keras' rgb_to_grayscale); a
 *    1-channel image is kept.  factor in [0, 1]; C must be 1 or 3
 *    ("RandomGrayscale: images need 3 channels (RGB) or 1 (grayscale), got 4").
 *  - lf_random_invert: Keras' RandomInvert(factor, value_range=(0, 255)):
 *    lower and upper are Keras' layer.factor (RandomInvert(f) is [0, f],
 *    its default 1.0 is [0, 1]; a pair sorted, lower <= 1, upper >= 0); an
 *    image draws p uniform in [lower, upper) and t uniform in [0, 1) and,
 *    when t < p, becomes value_high - x (Keras' formula: value_low unused).
 *  - lf_solarization: Keras' Solarization(addition_factor=0.0,
 *    threshold_factor=0.0, value_range=(0, 255)): each factor a range
 *    [lower, upper] in [0, 1] (Solarization(a) is [0, a]); an image draws
 *    addition = uniform(addition_lower, 255 addition_upper) and threshold
 *    = uniform(threshold_lower, 255 threshold_upper) (Keras' bounds: the
 *    lower end not scaled), its values go to (0, 255) (z = (x - low) /
 *    (high - low) 255), r = clip(z + addition, 0, 255), r where r <
 *    threshold else 255 - r, back to [value_low, value_high].  The
 *    gradient is the piecewise one (+-dy where the clip passes, 0 where
 *    clipped; the threshold's step has none).
 *  - lf_auto_contrast: Keras' AutoContrast(value_range=(0, 255)), in
 *    training and inference alike (as Keras): per image and channel,
 *    y = clip((z - min) 255 / (max - min), 0, 255) back in the value
 *    range (z the values in (0, 255)); a constant channel (Keras' NaN)
 *    keeps its values.  The gradient goes through min and max too.
 * value_low < value_high for Solarization and AutoContrast (Keras sorts
 * value_range; equal ends would give NaN or the identity there); every
 * number finite. */
int lf_random_grayscale(lf_model *m, int x, float factor, const char *name);
int lf_random_invert(lf_model *m, int x, float lower, float upper, float value_low, float value_high,
                     const char *name);
int lf_solarization(lf_model *m, int x, float addition_lower, float addition_upper, float threshold_lower,
                    float threshold_upper, float value_low, float value_high, const char *name);
int lf_auto_contrast(lf_model *m, int x, float value_low, float value_high, const char *name);

/* ---- sequence layers: x is (batch, T, D), channels last
 *
 * The padding mask.  Embedding(mask_zero=1) marks every step whose token id
 * is 0 as padding; the mask follows the sequence through the layers that
 * keep it, as Keras' masks do: Dense (on the last axis), Dropout,
 * Activation, the elementwise merges (Add, ...) and LayerNormalization.
 * Any other layer ends it (PositionEmbedding's output, like keras_hub's,
 * carries none: Add it to the sequence, whose mask the sum keeps).  The
 * 1-D global poolings pool over the unmasked steps only. */

/* UpSampling1D(size): (batch, T, D) -> (batch, T size, D), each step
 * repeated size times (1..1024).  ZeroPadding1D(padding=(left, right)):
 * zero steps before and after, (batch, left + T + right, D).
 * Cropping1D(cropping=(left, right)): x[:, left:T - right, :]; a crop of T
 * steps or more is refused with Keras' message.  None keeps a padding mask
 * (Keras 3's layers support none). */
int lf_upsampling1d(lf_model *m, int x, size_t size, const char *name);
int lf_zero_padding1d(lf_model *m, int x, size_t left, size_t right, const char *name);
int lf_cropping1d(lf_model *m, int x, size_t left, size_t right, const char *name);

/* Embedding(input_dim, output_dim, mask_zero): token ids x, of shape (T)
 * or (T1, T2), -> (T, output_dim) (or (T1, T2, output_dim)): row id of the
 * table "embeddings" (input_dim, output_dim), init uniform(-0.05, 0.05).
 * The ids are floats holding integers in [0, input_dim); fit, evaluate and
 * predict refuse any other value in an input that feeds an Embedding
 * (LF_ERR_ARG; fit and evaluate name the layer, the id, its row and
 * position).  mask_zero != 0: id 0 is padding (above). */
int lf_embedding(lf_model *m, int x, size_t input_dim, size_t output_dim, int mask_zero,
                 const char *name);

/* GlobalAveragePooling1D / GlobalMaxPooling1D: (batch, T, D) -> (batch, D),
 * the mean / the max of each feature over the steps; over the unmasked
 * steps only when x carries a padding mask.  A row whose every step is
 * masked gives 0 (and passes no gradient back).  A departure for the max:
 * Keras 3's GlobalMaxPooling1D takes no mask and pools over every step,
 * padding included (its GlobalAveragePooling1D masks, as here). */
int lf_global_average_pooling1d(lf_model *m, int x, const char *name);
int lf_global_max_pooling1d(lf_model *m, int x, const char *name);

/* MaxPooling1D / AveragePooling1D(pool_size, strides, padding): x (batch,
 * T, D) -> (batch, To, D), the max / mean of each feature over each window
 * of pool_size steps; To = (T - pool_size) / strides + 1 with
 * LF_PADDING_VALID, ceil(T / strides) with LF_PADDING_SAME (the odd
 * padding step after).  strides 0 means Keras' default, the pool size.
 * With LF_PADDING_SAME padded steps take no part (the mean divides by the
 * window's real steps), as Keras.  A NaN in a window is the max.  As
 * Keras' (no compute_mask), they pool every step, padding steps of a
 * padding mask included, and end the mask. */
int lf_max_pooling1d(lf_model *m, int x, size_t pool_size, size_t strides, lf_padding padding,
                     const char *name);
int lf_average_pooling1d(lf_model *m, int x, size_t pool_size, size_t strides, lf_padding padding,
                         const char *name);

/* PositionEmbedding(sequence_length), keras_hub's: x (batch, T, D), T <=
 * sequence_length -> the first T rows of a trained table "embeddings"
 * (sequence_length, D), glorot_uniform, the same for every batch row.  As
 * in keras_hub it returns the position embeddings, not x plus them: add
 * them with lf_add (which keeps x's padding mask). */
int lf_position_embedding(lf_model *m, int x, size_t sequence_length, const char *name);

/* Conv1D(filters, kernel_size, strides, padding, activation, use_bias):
 * x (batch, T, C) -> (batch, To, filters), To = (T - kernel_size) / strides
 * + 1 with LF_PADDING_VALID, ceil(T / strides) with LF_PADDING_SAME.  The
 * kernel is Keras' (kernel_size, C, filters), glorot_uniform; b = 0.  The
 * activation applies per step over the filters.  Ends the padding mask
 * (Keras' Conv1D does not support masking). */
int lf_conv1d(lf_model *m, int x, size_t filters, size_t kernel_size, size_t strides, lf_padding padding,
              lf_activation act, int use_bias, const char *name);
/* lf_conv1d with Keras' dilation_rate d: tap j reads step o strides + j d
 * (before padding), the window d (k - 1) + 1 long; and LF_PADDING_CAUSAL:
 * d (k - 1) zero steps before the first (Keras' ops.pad then "valid"), To
 * = ceil(T / strides), output step o sees no input step after o strides.
 * Strides and a dilation both above 1 are refused, as Keras. */
int lf_conv1d_dilated(lf_model *m, int x, size_t filters, size_t kernel_size, size_t strides, lf_padding padding,
                      size_t dilation_rate, lf_activation act, int use_bias, const char *name);

/* ---- the 1-D depthwise, separable and transposed convolutions.
 * Each is its 2-D form (above) on one axis, x (batch, T, C), Keras 3's
 * arguments; padding LF_PADDING_VALID or LF_PADDING_SAME (Keras 3 refuses
 * "causal" for them); strides and a dilation_rate both above 1 refused.
 * Each ends the padding mask.
 *
 * DepthwiseConv1D(kernel_size, strides, padding, depth_multiplier M,
 * dilation_rate, activation, use_bias): y (batch, To, C M), channel c M + j
 * = act(sum_j' x[o strides + j' dilation_rate - pad, c] kernel[j', c, j] +
 * bias[c M + j]), To as Conv1D's.  "kernel" (kernel_size, C, M),
 * glorot_uniform (fan_in kernel_size C, fan_out kernel_size M), "bias"
 * (C M), zeros. */
int lf_depthwise_conv1d(lf_model *m, int x, size_t kernel_size, size_t strides, lf_padding padding,
                        size_t depth_multiplier, size_t dilation_rate, lf_activation act, int use_bias,
                        const char *name);
/* SeparableConv1D(filters, kernel_size, strides, padding, depth_multiplier,
 * dilation_rate, activation, use_bias): DepthwiseConv1D without bias or
 * activation, then a pointwise convolution to filters.  Weights in Keras'
 * order: "depthwise_kernel" (kernel_size, C, M), "pointwise_kernel" (1,
 * C M, filters), "bias" (filters); glorot_uniform kernels, zero bias. */
int lf_separable_conv1d(lf_model *m, int x, size_t filters, size_t kernel_size, size_t strides, lf_padding padding,
                        size_t depth_multiplier, size_t dilation_rate, lf_activation act, int use_bias,
                        const char *name);
/* Conv1DTranspose(filters, kernel_size, strides, padding, output_padding,
 * activation, use_bias): the transpose of a Conv1D of the same kernel,
 * strides and padding; To from T as lf_conv2d_transpose's Ho from H.
 * output_padding: one value below strides, or NULL for Keras' None.  The
 * kernel is Keras' (kernel_size, filters, C), glorot_uniform; b = 0.
 * dilation_rate 1 only (as lf_conv2d_transpose). */
int lf_conv1d_transpose(lf_model *m, int x, size_t filters, size_t kernel_size, size_t strides, lf_padding padding,
                        const size_t *output_padding, lf_activation act, int use_bias, const char *name);

/* Masking(mask_value): Keras' layer over x (batch, T, ..., D): a step
 * whose D features all equal mask_value is masked: its output is 0 (and
 * its gradient), and the layer owns the padding mask of its output (0
 * there, 1 elsewhere), which the layers that support masking read as
 * Embedding(mask_zero)'s (an input's earlier mask is replaced, as
 * Keras' compute_mask).  The other steps pass through. */
int lf_masking(lf_model *m, int x, float mask_value, const char *name);

/* LSTM(units, use_bias, unit_forget_bias, return_sequences, go_backwards)
 * and GRU(units, use_bias, return_sequences, go_backwards), Keras' layers
 * with activation tanh, recurrent_activation sigmoid and (GRU)
 * reset_after: x (batch, T, D) -> (batch, T, units) with return_sequences
 * (every step's output, in the order the steps ran: reversed with
 * go_backwards, as Keras), else (batch, units) (the last step's), from zero
 * states.  Weights in Keras' order and layout, G = 4 units (LSTM, gate
 * blocks i, f, c, o) or 3 units (GRU, blocks z, r, h): kernel (D, G),
 * glorot_uniform; recurrent_kernel (units, G), orthogonal (Keras', gain 1);
 * bias (G) for LSTM, zeros but the forget block, ones with
 * unit_forget_bias; (2, G) for GRU, zeros (row 0 added to x W, row 1 to h
 * U, which the reset gate multiplies).  The LSTM step: i, f, o =
 * sigmoid(.), g = tanh(.) of x W + h U + b, c' = f c + i g, h' = o tanh(c');
 * the GRU step: z = sigmoid(x W_z + b_z + h U_z + b'_z), r likewise, n =
 * tanh(x W_h + b_h + r (h U_h + b'_h)), h' = z h + (1 - z) n.  A padding
 * mask on x (above): a masked step keeps the states and repeats the
 * previous step's output (zeros before the first real step), as Keras'
 * generic loop (zero_output_for_mask False); with return_sequences the
 * output carries x's mask (unreversed, as Keras), else none.  lf_set_l2
 * penalises the kernel (Keras' kernel_regularizer); lf_set_rnn_dropout
 * sets dropout and recurrent_dropout; lf_set_rnn_state Keras' return_state
 * and initial_state.  Not available: stateful, other activations, GRU's
 * reset_after false. */
int lf_lstm(lf_model *m, int x, size_t units, int use_bias, int unit_forget_bias, int return_sequences,
            int go_backwards, const char *name);
int lf_gru(lf_model *m, int x, size_t units, int use_bias, int return_sequences, int go_backwards,
           const char *name);

/* ConvLSTM2D(filters, kernel_size=(kh, kw), strides, padding,
 * dilation_rate, use_bias, unit_forget_bias, return_sequences,
 * go_backwards), Keras 3's layer (keras/src/layers/rnn/conv_lstm.py,
 * channels_last, activation tanh, recurrent_activation sigmoid): an LSTM
 * whose products are convolutions, over videos x (batch, T, H, W, C) ->
 * (batch, T, Ho, Wo, filters) with return_sequences (every step's h, in the
 * order the steps ran: reversed with go_backwards, as Keras), else (batch,
 * Ho, Wo, filters) (the last step's), from zero states.  Ho, Wo as
 * lf_conv2d_dilated's under strides, padding and dilation_rate (not both
 * above 1).  One step: z = conv(x_t, kernel) + b + conv(h, recurrent_kernel)
 * (that one stride 1, padding "same", undilated); i, f, o = sigmoid(.), g =
 * tanh(.) of z's blocks; c' = f c + i g, h' = o tanh(c').  Weights in
 * Keras' order and layout, G = 4 filters in gate blocks i, f, c, o: kernel
 * (kh, kw, C, G) glorot_uniform; recurrent_kernel (kh, kw, filters, G)
 * orthogonal over its (kh kw filters, G) flattening; bias (G) zeros, the
 * forget block ones with unit_forget_bias.  opt NULL: Keras' defaults
 * (lf_conv_lstm_defaults: strides 1, "valid", dilation 1, use_bias and
 * unit_forget_bias on, return_sequences and go_backwards off).  lf_set_l2
 * penalises the kernel, lf_set_regularizer's recurrent one the recurrent
 * kernel.  An x carrying a padding mask is refused (the mask would be per
 * pixel).  Not available: dropout, recurrent_dropout, return_state,
 * initial_state, stateful, other activations, channels_first.
 * lf_conv_lstm1d: ConvLSTM1D, the same over x (batch, T, L, C) with a
 * window of kernel_size steps (strides[0], dilation_rate[0]); kernel
 * (kernel_size, C, G), recurrent_kernel (kernel_size, filters, G). */
typedef struct lf_conv_lstm_options {
    size_t strides[3];       /* (rows, columns); ConvLSTM1D: [0]; ConvLSTM3D: (depth, rows, columns) */
    size_t dilation_rate[3]; /* likewise */
    lf_padding padding;      /* LF_PADDING_VALID or LF_PADDING_SAME */
    int use_bias, unit_forget_bias, return_sequences, go_backwards;
} lf_conv_lstm_options;
lf_conv_lstm_options lf_conv_lstm_defaults(void);
int lf_conv_lstm2d(lf_model *m, int x, size_t filters, size_t kh, size_t kw, const lf_conv_lstm_options *opt,
                   const char *name);
int lf_conv_lstm1d(lf_model *m, int x, size_t filters, size_t kernel_size, const lf_conv_lstm_options *opt,
                   const char *name);
/* ConvLSTM3D(filters, (kd, kh, kw)) (keras/src/layers/rnn/conv_lstm3d.py):
 * lf_conv_lstm2d's cell over sequences of volumes x (batch, T, D, H, W, C),
 * 3-D convolutions with strides[0..2], dilation_rate[0..2] (depth, rows,
 * columns) and padding; output (batch, Do, Ho, Wo, filters), with
 * return_sequences (batch, T, Do, Ho, Wo, filters).  kernel (kd, kh, kw,
 * C, 4 filters) glorot_uniform, recurrent_kernel (kd, kh, kw, filters,
 * 4 filters) orthogonal over its flattening, bias as lf_conv_lstm2d's; the
 * same options, refusals and regularizers.  Returns the node, or -1 with
 * the model's error set (x not of rank 5, a volume smaller than the
 * window under 'valid', strides and dilation both above 1, ...). */
int lf_conv_lstm3d(lf_model *m, int x, size_t filters, size_t kd, size_t kh, size_t kw,
                   const lf_conv_lstm_options *opt, const char *name);

/* SimpleRNN(units, activation, use_bias, return_sequences, go_backwards),
 * Keras' layer (keras/src/layers/rnn/simple_rnn.py; Keras' default
 * activation LF_ACT_TANH): h' = activation(x W + h U + b) from h = 0, over
 * x (batch, T, D) as lf_lstm (return_sequences, go_backwards, the padding
 * mask, the l2 and lf_set_rnn_dropout alike).  Weights: kernel (D, units)
 * glorot_uniform, recurrent_kernel (units, units) orthogonal, bias (units)
 * zeros.  return_state and initial_state: lf_set_rnn_state.  Not available:
 * stateful. */
int lf_simple_rnn(lf_model *m, int x, size_t units, lf_activation act, int use_bias, int return_sequences,
                  int go_backwards, const char *name);

/* Bidirectional(layer, merge_mode), Keras' wrapper
 * (keras/src/layers/rnn/bidirectional.py) around one of the recurrent
 * layers above, `cell`: LSTM(units, use_bias, unit_forget_bias,
 * return_sequences), GRU(units, use_bias, return_sequences) or
 * SimpleRNN(units, act, use_bias, return_sequences) (act is read by
 * SimpleRNN only, unit_forget_bias by LSTM only).  Two copies with their
 * own weights read x (batch, T, D): the forward one (go_backwards false)
 * and the backward one (go_backwards true, its output sequence flipped
 * back to time order with return_sequences); their outputs y, y_rev are
 * merged by merge_mode: LF_BIDI_CONCAT [y, y_rev] on the last axis (2
 * units), LF_BIDI_SUM y + y_rev, LF_BIDI_MUL y * y_rev, LF_BIDI_AVE (y +
 * y_rev) / 2, or LF_BIDI_NONE (Keras' None): two outputs, [y, y_rev], read
 * through lf_output_view.  Output (batch, T, units or 2 units) with return_sequences,
 * else (batch, units or 2 units) (each copy's last step: the backward
 * copy's is at t = 0).  A padding mask on x: a masked step keeps each
 * copy's states; with return_sequences its output is ZEROS in both copies
 * (Keras' Bidirectional forces zero_output_for_mask = return_sequences,
 * unlike a plain recurrent layer, which repeats the previous output) and
 * the output carries x's mask; without, each copy's output is its state
 * after its last real step, and no mask is passed on.  Weights: the
 * forward copy's then the backward copy's, each as its layer above,
 * tensors "<name>.forward.kernel", "<name>.forward.recurrent_kernel",
 * "<name>.forward.bias", "<name>.backward.kernel", ... (Keras'
 * get_weights order).  lf_set_l2 penalises both kernels;
 * lf_set_rnn_dropout sets the wrapped layer's dropout, which each copy
 * draws its own masks of; lf_set_rnn_state the wrapped layer's
 * return_state and Keras' initial_state.  Not available: a separate
 * backward_layer, stateful, and what the wrapped layer does not offer. */
typedef enum lf_rnn_cell { LF_RNN_LSTM = 0, LF_RNN_GRU, LF_RNN_SIMPLE } lf_rnn_cell;
typedef enum lf_bidi_merge {
    LF_BIDI_CONCAT = 1, LF_BIDI_SUM, LF_BIDI_MUL, LF_BIDI_AVE,
    LF_BIDI_NONE /* Keras' merge_mode None: two outputs, [forward, backward] (lf_output_view) */
} lf_bidi_merge;
int lf_bidirectional(lf_model *m, int x, lf_rnn_cell cell, size_t units, lf_activation act, int use_bias,
                     int unit_forget_bias, int return_sequences, lf_bidi_merge merge_mode, const char *name);

/* Keras' dropout and recurrent_dropout (keras/src/layers/rnn/
 * dropout_rnn_cell.py, lstm.py, gru.py, simple_rnn.py) of an LSTM, GRU,
 * SimpleRNN or Bidirectional node: in a training pass each sequence (batch
 * row) draws masks of 0 or 1 / (1 - rate) (from the model's generator, as
 * Dropout's: the same seed, the same masks) that every step reuses:
 * x_t is multiplied by a mask of D (rate dropout) before its kernel, the
 * previous state h by a mask of units (rate recurrent_dropout) before the
 * recurrent kernel (LSTM's carry c is not dropped).  As Keras 3: with
 * recurrent_dropout > 0, LSTM and GRU run implementation 1, each gate
 * block (i, f, c, o; z, r, h) with its own masks of x_t and h; with
 * recurrent_dropout 0, one mask of x_t serves every block; SimpleRNN has
 * one of each.  Bidirectional's copies draw their own.  Inference passes
 * (predict, evaluate, validation) drop nothing.  Both rates in [0, 1)
 * (Keras clamps rates outside [0, 1] and, for LSTM and GRU, ignores 1:
 * refused here, LF_ERR_ARG); before compile (LF_ERR_STATE after).  The
 * model file keeps them as the layer's "dropout" and "recurrent_dropout"
 * (written when not 0). */
lf_status lf_set_rnn_dropout(lf_model *m, int node, float dropout, float recurrent_dropout);

/* Keras' return_state and initial_state of an LSTM, GRU, SimpleRNN or
 * Bidirectional node (keras/src/layers/rnn/rnn.py, bidirectional.py), set
 * before any layer reads it and before compile (LF_ERR_STATE).
 * return_state != 0 makes the node one of several outputs, in Keras'
 * order: the output (with return_sequences false the last step's, so equal
 * to h, as Keras), then the final states: LSTM h, c; GRU and SimpleRNN h;
 * Bidirectional the merged output (with LF_BIDI_NONE the forward and the
 * backward outputs), then the forward copy's states, then the backward
 * copy's.  With a padding mask the states are those after each row's last
 * real step (a masked step keeps them; a row without one: the initial
 * states).  Such a node (and a Bidirectional with LF_BIDI_NONE) is read
 * only through lf_output_view.  initial_state: n_initial node ids added
 * before it (0 and NULL: zero states, Keras' default), in the order of the
 * states above, each of shape (units): the states before the first step;
 * gradients flow into them.  The encoder-decoder idiom `_, h, c =
 * LSTM(64, return_state=True)(x); LSTM(64)(y, initial_state=[h, c])` is
 * lf_lstm + lf_set_rnn_state(m, enc, 1, NULL, 0), two lf_output_view, then
 * lf_lstm + lf_set_rnn_state(m, dec, 0, hc, 2).  Errors name the layer:
 * "LSTM 'dec': initial_state has 1 tensors; it needs 2 (h and c)".  The
 * model file keeps return_state (written when set) and the initial states
 * as the layer's inbound layers after x. */
lf_status lf_set_rnn_state(lf_model *m, int node, int return_state, const int *initial_state, size_t n_initial);

/* Output k of node `node` (Keras' list of a layer's outputs: lf_set_rnn_state,
 * LF_BIDI_NONE) as a node other layers can read: a new OutputView node
 * with that output's shape and padding mask (NULL name: "<node>.out<k>"),
 * whose gradient is added to the node's (a node's outputs used by several
 * layers get their gradients summed).  A node of one output is its own
 * output 0: `node` is returned, no node added.  -1 (sticky) when k is not
 * one of its outputs.  The summary prints no row for a view, and "node[0][k]"
 * where a layer reads it, as Keras. */
int lf_output_view(lf_model *m, int node, size_t k, const char *name);
/* The outputs of a node: 1 for most, more for the nodes above; 0 when node
 * is not one. */
size_t lf_node_num_outputs(const lf_model *m, int node);

/* TimeDistributed(layer) (Keras 3, keras/src/layers/rnn/time_distributed.py):
 * the same layers applied to every step of x (batch, T, ...) with one set
 * of weights.  lf_time_distributed(m, x, name) returns a node of x's shape
 * without its steps axis, (batch, ...): the layers built on it (any kinds,
 * several, a nested model's layers) run on each step, as on a batch of
 * batch x T rows (BatchNormalization's statistics over those rows, as
 * tf.keras 2's reshape did; Keras 3 calls the layer once per step, so its
 * training statistics are per step over the batch and its moving averages
 * move T times a batch: not reproduced); lf_time_distributed_end(m, y, name) on the last of them returns
 * the node (batch, T, y's shape) (NULL names: "time_distributed_input",
 * "time_distributed").  TimeDistributed(Conv2D(8, 3)) on frames (T, H, W,
 * C): s = lf_time_distributed(m, frames, NULL); c = lf_conv2d(m, s, 8, 3,
 * 3, ...); td = lf_time_distributed_end(m, c, "td").  x needs rank >= 2;
 * the result at most LF_MAX_RANK.  A padding mask of x (batch, T, ...) is
 * each step's for the layers on the steps (Keras' mask[i]: an LSTM or a
 * GlobalAveragePooling1D there skips the padded tokens of each step), and
 * the result carries none (Keras 3's TimeDistributed does not support
 * masking: a later layer sees every step).  A layer may not mix
 * inputs on the steps and off them (its message names both); the steps
 * cannot nest; compile refuses an output on the steps.  The summary prints
 * the layers between with Keras' (None, T, ...) shapes.  -1 (sticky) on
 * failure. */
int lf_time_distributed(lf_model *m, int x, const char *name);
int lf_time_distributed_end(lf_model *m, int y, const char *name);

/* GlobalMaxPooling3D() / GlobalAveragePooling3D() (Keras 3): x (batch, T,
 * H, W, C) -> (batch, C), the largest / the mean value of each channel
 * over the T x H x W voxels (the max's gradient to the first largest, in
 * row-major order, as GlobalMaxPooling2D's). */
int lf_global_max_pooling3d(lf_model *m, int x, const char *name);
int lf_global_average_pooling3d(lf_model *m, int x, const char *name);

/* Conv3D(filters, kernel_size=(kd, kh, kw), strides=(sd, sh, sw), padding,
 * activation, use_bias) (Keras 3, channels_last): x
 * (batch, D, H, W, C) -> y (batch, Do, Ho, Wo, filters) = act(conv(x) + b),
 * each output axis as Conv2D's: (D - kd) / sd + 1 with LF_PADDING_VALID,
 * ceil(D / sd) with LF_PADDING_SAME, whose total padding max((Do - 1) sd +
 * kd - D, 0) puts half (rounded down) before and the rest after, as
 * Keras/TensorFlow.  The kernel is Keras' (kd, kh, kw, C, filters),
 * glorot_uniform (fan_in kd kh kw C, fan_out kd kh kw filters); b = 0.
 * Errors name the layer: "Conv3D: input 'x' of shape (None, 2, 8, 8, 3) is
 * smaller than the kernel (3, 3, 3) with padding 'valid'", a rank other
 * than 4, kernel_size or strides outside 1..1024.  -1 (sticky) on failure. */
int lf_conv3d(lf_model *m, int x, size_t filters, size_t kd, size_t kh, size_t kw, size_t sd, size_t sh, size_t sw,
              lf_padding padding, lf_activation act, int use_bias, const char *name);
/* lf_conv3d with Keras' dilation_rate=(dd, dh, dw): kernel tap (kz, ky, kx)
 * reads input voxel (od sd + kz dd, oy sh + ky dh, ox sw + kx dw) (before
 * padding); the sizes and the "same" padding above with the dilated window
 * d (k - 1) + 1 for k (TensorFlow's rule).  As Keras, strides and a
 * dilation both above 1 are refused: "Conv3D: strides > 1 not supported in
 * conjunction with dilation_rate > 1, got strides (2, 1, 1) and
 * dilation_rate (1, 2, 1)"; a dilation outside 1..1024 too.  lf_conv3d is
 * (1, 1, 1); a dilated layer is saved with its dilation_rate. */
int lf_conv3d_dilated(lf_model *m, int x, size_t filters, size_t kd, size_t kh, size_t kw, size_t sd, size_t sh,
                      size_t sw, lf_padding padding, size_t dd, size_t dh, size_t dw, lf_activation act, int use_bias,
                      const char *name);
/* Conv3DTranspose(filters, kernel_size=(kd, kh, kw), strides=(sd, sh, sw),
 * padding, output_padding, activation, use_bias) (Keras 3): x (batch, D, H,
 * W, C) -> (batch, Do, Ho, Wo, filters), the transpose of a Conv3D of the
 * same kernel, strides and padding: input voxel i adds x[i] kernel[t] to
 * output voxel i s + t - P (per axis).  output_padding: three values (d, h,
 * w), each below its stride, or NULL for Keras' None.  Each axis' size and
 * P as lf_conv2d_transpose's (Keras 3's TensorFlow and JAX rule): valid,
 * (n - 1) s + k + op (None: max(k, s) - k); same, n s (None) or (n - 1) s +
 * k % 2 + op.  The kernel is Keras' (kd, kh, kw, filters, C),
 * glorot_uniform (fan_in kd kh kw filters, fan_out kd kh kw C); b = 0.
 * dilation_rate 1 only.  Errors name the layer as Keras: "Conv3DTranspose:
 * `output_padding` must be strictly less than `strides` for all
 * dimensions. At dimension 2, `output_padding` is 2 but `strides` is 2";
 * "Conv3DTranspose: input 'v' of shape (1, 1, 1, 2) gives an output of 0 x
 * 0 x 0 voxels"; a rank other than 4, kernel_size or strides outside
 * 1..1024.  A layer with output_padding is saved with it.  -1 (sticky) on
 * failure. */
int lf_conv3d_transpose(lf_model *m, int x, size_t filters, size_t kd, size_t kh, size_t kw, size_t sd, size_t sh,
                        size_t sw, lf_padding padding, const size_t *output_padding, lf_activation act, int use_bias,
                        const char *name);
/* MaxPooling3D / AveragePooling3D(pool_size=(pd, ph, pw), strides=(sd, sh,
 * sw), padding) (Keras 3): x (batch, D, H, W, C) -> (batch, Do, Ho, Wo, C),
 * the largest / the mean of each window, the sizes as Conv3D's; a stride 0
 * is Keras' None, the pool size.  With LF_PADDING_SAME the padded voxels
 * take no part: the mean divides by the count of the window's real voxels
 * (TensorFlow's rule; torch's count_include_pad=False).  The max's gradient
 * goes to the first largest voxel of the window in row-major order.  -1
 * (sticky) on failure. */
int lf_max_pooling3d(lf_model *m, int x, size_t pd, size_t ph, size_t pw, size_t sd, size_t sh, size_t sw,
                     lf_padding padding, const char *name);
int lf_average_pooling3d(lf_model *m, int x, size_t pd, size_t ph, size_t pw, size_t sd, size_t sh, size_t sw,
                         lf_padding padding, const char *name);

/* UpSampling3D(size=(sd, sh, sw)) (Keras 3): x (batch, D, H, W, C) ->
 * (batch, D sd, H sh, W sw, C), each frame, row and column repeated (Keras'
 * nearest repeat; each factor 1..1024).
 * ZeroPadding3D(padding=((d0, d1), (h0, h1), (w0, w1))): zeros around the
 * volume, (batch, D + d0 + d1, H + h0 + h1, W + w0 + w1, C).
 * Cropping3D(cropping=((d0, d1), (h0, h1), (w0, w1))): x[:, d0:D - d1,
 * h0:H - h1, w0:W - w1, :]; a crop of D, H or W voxels or more is refused
 * with Keras' message.  None keeps a padding mask (Keras 3's support none).
 * -1 (sticky) on failure. */
int lf_upsampling3d(lf_model *m, int x, size_t sd, size_t sh, size_t sw, const char *name);
int lf_zero_padding3d(lf_model *m, int x, size_t d0, size_t d1, size_t h0, size_t h1, size_t w0, size_t w1,
                      const char *name);
int lf_cropping3d(lf_model *m, int x, size_t d0, size_t d1, size_t h0, size_t h1, size_t w0, size_t w1,
                  const char *name);

/* Identity() (Keras 3): y = x, any shape; it keeps x's padding mask (Keras'
 * supports_masking), a placeholder or a ResNet-style shortcut's branch. */
int lf_identity(lf_model *m, int x, const char *name);

/* LayerNormalization(axis=-1, epsilon, center, scale) over the last axis of
 * a rank 1..3 x (Keras' defaults: epsilon 1e-3, center and scale on): each
 * position's features are normalised by their own mean and biased
 * variance, y = gamma (x - mean) / sqrt(var + epsilon) + beta, in training
 * and inference alike.  Weights gamma (ones, when scale) and beta (zeros,
 * when center). */
int lf_layer_normalization(lf_model *m, int x, float epsilon, int center, int scale, const char *name);

/* RMSNormalization(axis=-1, epsilon) (Keras 3.9+; Keras' default epsilon
 * 1e-6) over the last axis of x, any rank: y = x / sqrt(mean(x^2) +
 * epsilon) * scale, the mean over each position's features, in training
 * and inference alike (torch.nn.functional.rms_norm).  One weight "scale"
 * (the last axis' size, ones).  epsilon finite and >= 0
 * ("RMSNormalization: epsilon must be finite and >= 0, got -1").  It keeps
 * x's padding mask.  Keras' other axes are not available. */
int lf_rms_normalization(lf_model *m, int x, float epsilon, const char *name);

/* GroupNormalization(groups, axis=-1, epsilon, center, scale), Keras' layer,
 * on an x of any rank with channels last (Keras' defaults: groups 32,
 * epsilon 1e-3, center and scale on): the C channels are cut into `groups`
 * runs of C / groups, and each sample's group is normalised by the mean and
 * biased variance of all its values (every position, the group's channels),
 * y = gamma (x - mean) / sqrt(var + epsilon) + beta, in training and
 * inference alike.  groups 1 normalises each sample over all its values;
 * groups -1 (Keras' instance normalization) is C.  groups must divide C and
 * be at most C (Keras' messages); epsilon finite and > 0.  Weights gamma (C,
 * ones, when scale) and beta (C, zeros, when center).  The padding mask
 * passes through; the statistics include the padded steps, as Keras'.
 * -1 (sticky) on failure. */
int lf_group_normalization(lf_model *m, int x, int groups, float epsilon, int center, int scale,
                           const char *name);

/* UnitNormalization(axis=-1), Keras' layer: each position's last-axis
 * features of x (any rank) divided by their L2 norm as Keras'
 * ops.normalize, y = x / sqrt(max(sum x^2, 1e-24)) (epsilon 1e-12).  No
 * weights; the padding mask passes through.  -1 (sticky) on failure. */
int lf_unit_normalization(lf_model *m, int x, const char *name);

/* MultiHeadAttention(num_heads, key_dim, value_dim, dropout, use_bias,
 * output_shape), Keras' layer, on sequences: query (batch, T, Dq), value
 * (batch, S, Dv) and key (batch, S, Dk), or key = -1 for the value (Keras'
 * default); self-attention passes the same node as query and value.  Per
 * head h: q = query Wq_h + bq_h, k = key Wk_h + bk_h, v = value Wv_h + bv_h,
 * weights a = softmax(q k^T / sqrt(key_dim)) over the S keys, o_h = a v;
 * y (batch, T, output_dim) = [o_1 .. o_H] Wo + bo.  value_dim 0 means
 * key_dim, output_dim 0 the query's Dq.  Weights in Keras' order and
 * shapes: query.kernel (Dq, H, key_dim), query.bias (H, key_dim), key.*,
 * value.kernel (Dv, H, value_dim), value.bias, attention_output.kernel (H,
 * value_dim, output_dim), attention_output.bias (output_dim) (no biases
 * without use_bias); kernels glorot_uniform with Keras' fans for rank 3,
 * biases 0.  dropout (0 <= rate < 1) drops attention weights while training
 * (from the model's generator).  Padding masks (above): the value's (or
 * the key's) masks the absent keys, whose scores become -inf before the
 * softmax, and the query's masks whole rows; a row left with no key has
 * all-zero weights (Keras 3), so its output is bo.  Otherwise a NaN in the
 * inputs reaching a row's scores of present keys makes the row's weights,
 * so its output, NaN, as in Keras and torch; absent keys' scores are not
 * read (as Keras 3.13 on, which replaces them).  The output carries the
 * query's mask. */
int lf_multi_head_attention(lf_model *m, int query, int value, int key, size_t num_heads,
                            size_t key_dim, size_t value_dim, float dropout, int use_bias,
                            size_t output_dim, const char *name);

/* Keras' call arguments attention_mask and use_causal_mask of the
 * MultiHeadAttention (or GroupedQueryAttention) node `node`
 * (keras/src/layers/attention/multi_head_attention.py
 * _compute_attention_mask), before compile:
 * attention_mask is -1 or a node added before it, of shape (batch, T, S),
 * nonzero where query step t may attend key step s; use_causal_mask != 0
 * lets step t attend keys s <= t only (Keras' lower-triangular mask).  Both
 * are AND-ed with the padding masks; a row left with no key has all-zero
 * weights (Keras' Softmax zeroes the masked weights), so its output is bo.
 * The mask takes no gradient. */
lf_status lf_set_attention_mask(lf_model *m, int node, int attention_mask, int use_causal_mask);

/* Keras' return_attention_scores=True on the MultiHeadAttention (or
 * GroupedQueryAttention) node `node`, before any layer reads it: the node
 * then has two outputs (read them with lf_output_view): 0 the output
 * (batch, T, output_dim), with the query's padding mask, 1 the attention
 * weights (batch, num_heads, T, S) (the
 * softmax, before dropout, as Keras returns them), without a mask; both
 * take gradients. */
lf_status lf_set_return_attention_scores(lf_model *m, int node, int return_attention_scores);

/* GroupedQueryAttention(head_dim, num_query_heads, num_key_value_heads,
 * dropout, use_bias), Keras' layer (keras/src/layers/attention/
 * grouped_query_attention.py), called with use_causal_mask: query (batch,
 * T, D), value (batch, S, D) (the same features D as the query), key
 * (batch, S, Dk) or -1 for the value; output (batch, T, D).  Hq =
 * num_query_heads query heads and Hk = num_key_value_heads key/value heads
 * of head_dim; query head h attends with key/value head h / (Hq / Hk)
 * (Keras repeats each key/value head Hq / Hk times): Hk = Hq is
 * MultiHeadAttention(Hq, head_dim), Hk = 1 multi-query attention.  Per
 * query head: a = softmax(q_h k_g^T / sqrt(head_dim)), o_h = a v_g;
 * y = [o_1 .. o_Hq] Wo + bo.  Weights in Keras' order and shapes:
 * query.kernel (D, Hq, head_dim), query.bias (Hq, head_dim), key.kernel
 * (Dk, Hk, head_dim), key.bias (Hk, head_dim), value.kernel (D, Hk,
 * head_dim), value.bias, attention_output.kernel (Hq, head_dim, D),
 * attention_output.bias (D) (no biases without use_bias); glorot_uniform
 * kernels with Keras' fans, zero biases.  Padding masks, dropout on the
 * weights while training and use_causal_mask != 0 (query step t attends
 * keys s <= t) as lf_multi_head_attention and lf_set_attention_mask; the
 * output carries the query's mask.  Keras' call arguments attention_mask
 * and return_attention_scores through lf_set_attention_mask and
 * lf_set_return_attention_scores, as for MultiHeadAttention (the scores
 * (batch, num_query_heads, T, S)).  Errors (LF_ERR_ARG unless said):
 * head_dim outside 1..65536 or the head counts outside 1..4096;
 * num_query_heads not a multiple of num_key_value_heads ("...
 * `num_query_heads` must be divisible by `num_key_value_heads`. Received:
 * num_query_heads=6, num_key_value_heads=4", Keras' words); dropout outside
 * [0, 1); inputs of rank other than 3, key and value steps or query and
 * value features that differ (LF_ERR_SHAPE).  -1 (sticky) on failure. */
int lf_grouped_query_attention(lf_model *m, int query, int value, int key, size_t head_dim, size_t num_query_heads,
                               size_t num_key_value_heads, float dropout, int use_bias, int use_causal_mask,
                               const char *name);

/* Keras' Attention (Luong dot-product attention, keras/src/layers/attention/
 * attention.py), called as layer([query, value]) or [query, value, key]:
 * query (batch, T, D), value (batch, S, Dv), key (batch, S, D) (key < 0:
 * the value), output (batch, T, Dv).  score_mode LF_SCORE_DOT (Keras'
 * "dot", its default): the scores q . k, times the trainable scalar
 * "scale" with use_scale; LF_SCORE_CONCAT ("concat"):
 * concat_score_weight * sum_d tanh(scale (q_d + k_d)) (scale 1 without
 * use_scale); both weights start at 1.  The model file keeps Keras'
 * strings "dot" / "concat".  Keys whose value step is
 * masked (the value's padding mask) or, with use_causal_mask, after the
 * query step get score - 1e9 before the softmax (as Keras); dropout on the
 * weights while training; the query's masked steps output 0, and the
 * output carries the query's mask.  return_attention_scores != 0: two
 * outputs (lf_output_view): 0 the output, 1 the weights (batch, T, S)
 * after dropout, as Keras returns them.  Errors (LF_ERR_ARG unless said):
 * a score_mode outside the enum ("Attention: unknown score_mode 7"),
 * inputs of rank other than 3 and key and value steps or query and key
 * features that differ (LF_ERR_SHAPE), dropout outside [0, 1). */
typedef enum lf_score_mode { LF_SCORE_DOT = 0, LF_SCORE_CONCAT = 1 } lf_score_mode;
int lf_attention(lf_model *m, int query, int value, int key, int use_scale, lf_score_mode score_mode,
                 float dropout, int use_causal_mask, int return_attention_scores, const char *name);

/* Keras' AdditiveAttention (Bahdanau attention, keras/src/layers/attention/
 * additive_attention.py): lf_attention's inputs, masks, dropout and
 * outputs with the scores sum_d scale_d tanh(q_d + k_d), scale (D) a
 * trainable weight with use_scale (Keras' default; glorot_uniform over
 * (D,): fan_in = fan_out = D), else 1. */
int lf_additive_attention(lf_model *m, int query, int value, int key, int use_scale, float dropout,
                          int use_causal_mask, int return_attention_scores, const char *name);

/* Keras 3's noise and regularization layers (keras/src/layers/
 * regularization/).  The random ones act in training only: evaluate and
 * predict are the identity, bit for bit; their draws come from the model's
 * seed (the same seed, the same bits, on any number of threads or MPI
 * ranks; Keras' own generators draw other numbers from the same
 * distributions).  Each keeps its input's shape and padding mask.
 *  - lf_spatial_dropout1d on (T, C), lf_spatial_dropout2d on (H, W, C),
 *    lf_spatial_dropout3d on (D, H, W, C): Dropout of whole channels
 *    (Keras' noise shape (B, 1, C), (B, 1, 1, C), (B, 1, 1, 1, C)): in each row a channel is dropped (every step or pixel of it 0)
 *    with probability rate, else all its values are scaled by 1/(1-rate).
 *    Errors: an input of another rank ("SpatialDropout1D: input 'x' has
 *    shape (None, 12); it needs rank 3 ..."), rate outside [0, 1)
 *    ("SpatialDropout1D rate must be in [0, 1), got 1").
 *  - lf_gaussian_noise: y = x + stddev z, z standard normal; stddev in
 *    [0, 1] as Keras ("GaussianNoise stddev must be in [0, 1], got -1").
 *  - lf_gaussian_dropout: y = x (1 + sqrt(rate / (1 - rate)) z), rate in
 *    [0, 1) ("GaussianDropout rate must be in [0, 1), got 1").
 *  - lf_alpha_dropout: SELU's alpha dropout: each value dropped with
 *    probability rate to alpha' = -1.6732632 * 1.0507010, then y = a x + b,
 *    a = ((1 - rate)(1 + rate alpha'^2))^-1/2, b = -a alpha' rate (kept:
 *    a x + b, dropped: a alpha' + b); rate in [0, 1).
 *  - lf_activity_regularization: the identity with the activity
 *    regularizer L1L2(l1, l2) on its output (LF_REG_ACTIVITY, which
 *    lf_set_regularizer / lf_get_regularizer reach too); l1, l2 finite and
 *    >= 0 ("ActivityRegularization: l1 and l2 must be finite and >= 0, got
 *    -1, 0").
 * Errors are the builders' (sticky, -1). */
int lf_spatial_dropout1d(lf_model *m, int x, float rate, const char *name);
int lf_spatial_dropout2d(lf_model *m, int x, float rate, const char *name);
int lf_spatial_dropout3d(lf_model *m, int x, float rate, const char *name);
int lf_gaussian_noise(lf_model *m, int x, float stddev, const char *name);
int lf_gaussian_dropout(lf_model *m, int x, float rate, const char *name);
int lf_alpha_dropout(lf_model *m, int x, float rate, const char *name);
int lf_activity_regularization(lf_model *m, int x, float l1, float l2, const char *name);

/* Keras 3's Discretization(bin_boundaries, output_mode) (keras/src/layers/
 * preprocessing/discretization.py): each value becomes the index of its
 * bin, numpy's digitize: the number of boundaries <= x, so the bins
 * (-inf, b0), [b0, b1), ..., [b_{n-1}, inf) are 0..n (a boundary itself is
 * in the bin it opens), -inf is 0, +inf and NaN are n.  Then, as Keras'
 * numerical_utils.encode_categorical_inputs with depth n + 1, by
 * output_mode:
 *  - LF_DISCRETIZATION_INT (lf_discretization's): the index as a float
 *    (Keras': int64), the input's shape.
 *  - LF_DISCRETIZATION_ONE_HOT: each value a row of n + 1 with a 1 at its
 *    bin: a per-sample shape (..., d) gives (..., d, n + 1), and (..., 1)
 *    gives (..., n + 1) (Keras squeezes a last axis of 1).
 *  - LF_DISCRETIZATION_MULTI_HOT: per sample (d,), (n + 1,) with a 1 at
 *    every bin of its values; LF_DISCRETIZATION_COUNT: how many of its
 *    values are in each bin.  Inputs of per-sample rank > 1 are refused
 *    ("Discretization: output_mode \"multi_hot\" takes inputs of shape
 *    (batch, d); input 'x' has shape (None, 2, 3) (Keras 3 reduces such an
 *    input over its axis 1, not its last axis)").
 * The encoded outputs are float32 as Keras' (its floatx).  No gradient
 * flows (bins are not differentiable: backward leaves x's gradient alone)
 * and no padding mask is kept.  bin_boundaries (n >= 1, non-decreasing, no
 * NaN) are copied into the layer's one weight, "bin_boundaries" (n,),
 * fixed (lf_set_weights may replace them; unsorted ones then give some
 * bin, not digitize's).  opt->num_bins is Keras' num_bins when the
 * boundaries came from adapt (lf_discretization_adapt), 0 for Keras'
 * None; opt->epsilon Keras' epsilon (adapt's precision), 0 for its
 * default 0.01: both kept in the model file, they change nothing in the
 * outputs.  opt NULL: LF_DISCRETIZATION_INT, num_bins 0, epsilon 0.01.
 * Errors (sticky, -1): an epsilon outside (0, 1] other than 0
 * ("Discretization: epsilon must be in (0, 1], got 1.5"), n == 0
 * ("Discretization: 0 bin boundaries; it needs 1..268435456"), unsorted
 * ("Discretization: bin_boundaries must be sorted: bin_boundaries[2] = 1
 * < bin_boundaries[1] = 3"), a NaN, an unknown output_mode
 * ("Discretization: output_mode 7 is none of LF_DISCRETIZATION_INT,
 * LF_DISCRETIZATION_ONE_HOT, LF_DISCRETIZATION_MULTI_HOT,
 * LF_DISCRETIZATION_COUNT"), a shape refused above or too large. */
typedef enum lf_discretization_mode {
    LF_DISCRETIZATION_INT = 0, /* Keras' default */
    LF_DISCRETIZATION_ONE_HOT = 1,
    LF_DISCRETIZATION_MULTI_HOT = 2,
    LF_DISCRETIZATION_COUNT = 3
} lf_discretization_mode;
typedef struct lf_discretization_options {
    lf_discretization_mode output_mode;
    size_t num_bins; /* Keras' num_bins, 0: None */
    double epsilon;  /* Keras' epsilon, 0: its default 0.01 */
} lf_discretization_options;
int lf_discretization_opt(lf_model *m, int x, const float *bin_boundaries, size_t n,
                          const lf_discretization_options *opt, const char *name);
/* lf_discretization_opt with opt NULL: output_mode "int", num_bins None, epsilon 0.01 */
int lf_discretization(lf_model *m, int x, const float *bin_boundaries, size_t n, const char *name);

/* Keras 3's Discretization.adapt(data) with num_bins and epsilon, on the n
 * values of x as one array: the boundaries Keras' quantile summary gives
 * (discretize.c spells it out: its summarize and compress_summary, float32
 * and float64 where numpy computes in them), not exact quantiles.  Writes
 * *n_bins boundaries (at most num_bins: bins needs room for num_bins;
 * fewer than num_bins - 1 when x has few values) in non-decreasing order.
 * LF_ERR_ARG (with err) for no values, num_bins < 2, epsilon outside
 * (0, 1], a NaN value, or values that give no boundary (a single one);
 * LF_ERR_NOMEM. */
lf_status lf_discretization_adapt(const float *x, size_t n, size_t num_bins, double epsilon, float *bins,
                                  size_t *n_bins, char *err, size_t errlen);

/* Keras merging layers over n >= 2 inputs (Subtract: exactly 2).  Add,
 * Subtract, Multiply, Average, Maximum, Minimum broadcast as Keras 3's
 * (keras/src/layers/merging/base_merge.py): the per-sample shapes aligned
 * on their last axes, an input's missing leading axes 1, on each axis equal
 * sizes or one of them 1 ((T, D) with (1, D) or (D)); else "Add: Inputs
 * have incompatible shapes. Received shapes (4,) and (5,) (at input 1,
 * 'b')".  A broadcast input's gradient is summed over its broadcast axes.
 * Their padding mask is Keras 3's (LF_MASK_RULE_KERAS, lf_set_merge_mask_rule):
 * the OR of the inputs' masks, none when an input carries none; Multiply
 * reads a masked input's masked steps as 1 (and, every input masked, gives
 * 0 where the OR is 0); Maximum and Minimum read a masked step of the next
 * input as the running output (Keras' _apply_merge_op_and_or_mask).  A masked
 * input broadcast along the steps is refused.
 * Concatenate: inputs of one rank, equal shapes but on the axis joined:
 * lf_concatenate joins the last axis (Keras' default axis=-1: the features;
 * the channels of (H, W, C) maps), lf_concatenate_axis any non-batch axis in
 * Keras' numbering (1..rank of the per-sample shape, or -rank..-1; 0, the
 * batch, is refused).  Its padding mask is Keras' compute_mask: on the last
 * axis the OR of the inputs' masks (none when an input has none), on
 * another the masks side by side (ones for an input without). */
int lf_add(lf_model *m, size_t n, const int *xs, const char *name);
int lf_subtract(lf_model *m, int a, int b, const char *name);
int lf_multiply(lf_model *m, size_t n, const int *xs, const char *name);
int lf_average(lf_model *m, size_t n, const int *xs, const char *name);
int lf_maximum(lf_model *m, size_t n, const int *xs, const char *name);
int lf_minimum(lf_model *m, size_t n, const int *xs, const char *name);

/* The padding-mask rule of an elementwise merge (lf_add ... lf_minimum):
 * LF_MASK_RULE_KERAS, the builders' (above), or LF_MASK_RULE_KEEP, the rule
 * of model files written before it (no "keras_masks" in the layer): the
 * one mask among the inputs is kept (two are refused), values untouched.
 * Set it before any layer reads the node; the model file keeps it. */
typedef enum lf_mask_rule { LF_MASK_RULE_KERAS = 0, LF_MASK_RULE_KEEP = 1 } lf_mask_rule;
lf_status lf_set_merge_mask_rule(lf_model *m, int node, lf_mask_rule rule);
int lf_concatenate(lf_model *m, size_t n, const int *xs, const char *name);
int lf_concatenate_axis(lf_model *m, size_t n, const int *xs, int axis, const char *name);

/* Dot(axes=1): y = <a, b> per row, shape (batch, 1).  With normalize != 0
 * both rows are L2-normalised first (Keras' eps 1e-12): cosine similarity. */
int lf_dot(lf_model *m, int a, int b, int normalize, const char *name);
/* Keras' Dot(axes=(axis_a, axis_b)) on inputs of any rank (keras/src/layers/
 * merging/dot.py, batch_dot): the sum over axis_a of a times axis_b of b
 * (Keras' numbering: 1..rank of the per-sample shape, or -rank..-1; 0 is
 * refused), for every pair of their other positions: the output is a's
 * shape without axis_a, then b's without axis_b ((batch, 1) when nothing is
 * left), e.g. (T, D) . (S, D) on axes (2, 2) -> (T, S).  normalize as
 * lf_dot, along each input's axis. */
int lf_dot_axes(lf_model *m, int a, int b, int axis_a, int axis_b, int normalize, const char *name);

/* WeightedAverage: the seed's layer.  One trainable weight w_k per input
 * (init U(0,1)), a = softmax(w), y = sum_k a_k x_k; inputs of equal dim.
 * `mask` is -1, or the id of a node of dim n holding 1 where input k is
 * present in that row and 0 where it is missing: the softmax then runs over
 * the present inputs only (a row with no input present gives 0). */
int lf_weighted_average(lf_model *m, size_t n, const int *xs, int mask,
                        const char *name);

/* ClassWeightedAverage: one weight per input per feature, W (n, dim), init
 * U(0,1); for every feature c, a_{.c} = softmax over inputs of W_{.c} and
 * y_c = sum_k a_kc x_kc.  `mask` as for lf_weighted_average. */
int lf_class_weighted_average(lf_model *m, size_t n, const int *xs, int mask,
                              const char *name);

/* GatedAverage: sample-dependent weights.  `gate` is a node of dim n (the
 * logits of a gating network); a_r = softmax(gate_r) (over the present inputs
 * when `mask` >= 0), y_r = sum_k a_rk x_rk.  No weights of its own. */
int lf_gated_average(lf_model *m, size_t n, const int *xs, int gate, int mask,
                     const char *name);

/* Adds an L2 penalty l2 * sum(W^2) on a Dense, Conv2D, Conv2DTranspose or Conv1D layer's
 * kernel, on MultiHeadAttention's four kernels (Keras'
 * kernel_regularizer=l2(l2)), on an Embedding's whole table (Keras'
 * embeddings_regularizer=l2(l2): every row, whether the batch reads it or
 * not), or on the weights W of a WeightedAverage / ClassWeightedAverage
 * (which pulls their softmax towards equal weights).  It is part of the
 * training loss.  On the node of a shared layer (lf_share_weights) it is
 * set on the layer whose weights it uses, as lf_set_trainable, and so is
 * lf_set_bias_l2's. */
lf_status lf_set_l2(lf_model *m, int dense_node, float l2);

/* Adds an L2 penalty l2 * sum(b^2) on the bias b of a Dense, Conv2D, Conv2DTranspose or
 * Conv1D layer, on MultiHeadAttention's four biases, on an LSTM, GRU or
 * SimpleRNN bias (Bidirectional: both copies') (Keras'
 * bias_regularizer=l2(l2)), beside lf_set_l2's on
 * its kernel; part of the training loss as that one is, and like it left
 * out while the layer is frozen.  A layer without a bias (use_bias = 0)
 * takes the setting and has nothing to penalise, as Keras.  The model file
 * keeps it as the layer's "bias_l2" (written only when not 0).  l2 must be
 * finite and >= 0; LF_ERR_ARG otherwise or when the node is of another
 * kind. */
lf_status lf_set_bias_l2(lf_model *m, int node, float l2);

/* Keras' L1, L2 and L1L2 regularizers (keras/src/regularizers/
 * regularizers.py) on a layer's weights or output: l1 * sum(|x|) +
 * l2 * sum(x^2), part of the training loss (the gradient of |x| is
 * sign(x), 0 at 0).  The targets, by Keras' argument: */
typedef enum lf_reg_target {
    LF_REG_KERNEL = 0, /* kernel_regularizer (Embedding's embeddings_regularizer):
                          the weights lf_set_l2 penalises; its l2 is lf_set_l2's */
    LF_REG_BIAS,       /* bias_regularizer: lf_set_bias_l2's weights and l2 */
    LF_REG_RECURRENT,  /* recurrent_regularizer: an LSTM, GRU or SimpleRNN's
                          recurrent kernel (Bidirectional: both copies') */
    LF_REG_ACTIVITY,   /* activity_regularizer of a Dense, Conv1D, Conv2D,
                          Embedding, LSTM, GRU, SimpleRNN or Bidirectional
                          (and ActivityRegularization's l1, l2):
                          its output y (every output of a node of several),
                          as Keras 3's Layer.__call__ the batch's penalty
                          divided by its rows, (1/B) sum_r (l1 |y_r| +
                          l2 y_r^2); evaluate averages it over the rows as the
                          loss.  An output with one is not fused with its
                          cross-entropy (the loss reads its probabilities). */
    LF_REG_COUNT
} lf_reg_target;
/* Sets the target's factors (0, 0: none) on node's layer (a shared layer's
 * node: the layer whose weights it uses; its activity penalty applies to
 * each of its calls, as Keras').  The weight penalties are left out while
 * the layer is frozen, as lf_set_l2's; the activity penalty is not (Keras:
 * a loss of the output).  The model file keeps the settings: "l2" and
 * "bias_l2" as before, the rest as the layer's "regularizers" ({"kernel":
 * {"l1"}, "bias": {"l1"}, "recurrent_kernel": {"l1", "l2"}, "activity":
 * {"l1", "l2"}}, each written only when not 0).  LF_ERR_ARG when l1 or l2
 * is not finite and >= 0 ("lf_set_regularizer: activity: l1 and l2 must be
 * finite and >= 0") or the node is of a kind the target does not apply to
 * ("lf_set_regularizer: recurrent_kernel: node 3 is not a LSTM, GRU,
 * SimpleRNN or Bidirectional layer"). */
lf_status lf_set_regularizer(lf_model *m, int node, lf_reg_target target, float l1, float l2);
/* The target's factors on node's layer into *l1, *l2 (either may be NULL);
 * LF_ERR_ARG for a bad node or target. */
lf_status lf_get_regularizer(const lf_model *m, int node, lf_reg_target target, float *l1, float *l2);

/* Keras' weight constraints (keras/src/constraints/constraints.py), set on
 * a layer's weights of one role and applied to them after each optimizer
 * step (fit, lf_model_train_on_batch), after the step's use_ema average,
 * as Keras 3's optimizer.apply assigns variable.constraint(variable) after
 * the update.  With n the Euclidean norm over the constraint's axes (one
 * per index of the other axes; summed in double) and eps = 1e-7 (Keras'
 * backend.epsilon()):
 *   LF_CONSTRAINT_MAX_NORM      w * (clip(n, 0, max_value) / (eps + n))
 *   LF_CONSTRAINT_NON_NEG       max(w, 0)
 *   LF_CONSTRAINT_UNIT_NORM     w / (eps + n)
 *   LF_CONSTRAINT_MIN_MAX_NORM  w * ((rate * clip(n, min_value, max_value)
 *                               + (1 - rate) * n) / (eps + n))
 * Axes are Keras' `axis`, numbered over the weight's Keras shape (Dense's
 * kernel (in, units), the transpose of how the library stores it; every
 * other weight as lf_layer_weight_shape gives it), negative from the end,
 * n_axis 0 for Keras' axis=None (the whole tensor). */
typedef enum lf_constraint_kind {
    LF_CONSTRAINT_NONE = 0,
    LF_CONSTRAINT_MAX_NORM,
    LF_CONSTRAINT_NON_NEG,
    LF_CONSTRAINT_UNIT_NORM,
    LF_CONSTRAINT_MIN_MAX_NORM
} lf_constraint_kind;
#define LF_CONSTRAINT_AXES 4
typedef struct lf_constraint {
    lf_constraint_kind kind;
    float max_value;    /* MaxNorm, MinMaxNorm */
    float min_value;    /* MinMaxNorm */
    float rate;         /* MinMaxNorm */
    int axis[LF_CONSTRAINT_AXES];
    size_t n_axis;      /* 0: every axis (axis=None) */
} lf_constraint;
/* The weights of a layer a constraint is set on, by Keras' argument:
 * kernel_constraint (Dense, Conv1D, Conv2D, MultiHeadAttention's four
 * kernels, the recurrent layers' input kernels; Embedding's
 * embeddings_constraint), recurrent_constraint, bias_constraint (every
 * bias of the layer), gamma_constraint and beta_constraint
 * (BatchNormalization, LayerNormalization).  Bidirectional: both copies. */
typedef enum lf_weight_role {
    LF_ROLE_KERNEL = 0,
    LF_ROLE_RECURRENT_KERNEL,
    LF_ROLE_BIAS,
    LF_ROLE_GAMMA,
    LF_ROLE_BETA,
    LF_ROLE_COUNT
} lf_weight_role;
/* Keras' defaults of a kind: MaxNorm(max_value=2, axis=0), UnitNorm(axis=0),
 * MinMaxNorm(min_value=0, max_value=1, rate=1, axis=0). */
lf_constraint lf_constraint_default(lf_constraint_kind kind);
/* Sets (c->kind LF_CONSTRAINT_NONE or c NULL: removes) the constraint on
 * node's weights of that role; on a shared layer's node, on the layer
 * whose weights it uses.  LF_ERR_ARG, the model untouched, for a node
 * without weights of that role ("lf_set_constraint: layer 'drop'
 * (Dropout) has no bias"), an axis outside one of them ("... axis 2 is out
 * of range for 'dense.bias' of rank 1"), one axis named twice (0 and -2 of
 * a rank-2 weight, as Keras' sum refuses), max_value or min_value not finite
 * and >= 0, min_value > max_value, rate outside [0, 1].  Kept in the model
 * file (the layer's "constraints"). */
lf_status lf_set_constraint(lf_model *m, int node, lf_weight_role role, const lf_constraint *c);
/* The constraint set on node's weights of that role (kind NONE if none);
 * LF_ERR_ARG for a bad node or role. */
lf_status lf_get_constraint(const lf_model *m, int node, lf_weight_role role, lf_constraint *c);

/* Keras' layer.trainable: with trainable = 0 the layer's weights are
 * frozen — fit leaves them bit for bit as they are (no
 * gradient step, no L2 penalty gradient, no optimizer moment change, no
 * moving average of use_ema), the summary counts them as non-trainable,
 * and a frozen BatchNormalization runs in inference mode, normalising by
 * its moving statistics and leaving them unchanged (Keras >= 2.1.3).  The
 * layer still passes gradients to the layers below it.  Its L2 penalty,
 * if any, leaves the loss (fit's, evaluate's), as Keras 3 counts the
 * regularisers of trainable weights only (Keras 2 kept it).  Any node, before or after compile: the flag
 * applies from the next training step on (Keras' guide asks to compile
 * again after changing it; latefuse needs no recompile, as Keras 3's JAX
 * and PyTorch backends).  Saved in the model file ("trainable": false). */
lf_status lf_set_trainable(lf_model *m, int node, int trainable);
/* 1 if the node trains, 0 if it is frozen, -1 for an invalid id. */
int lf_node_trainable(const lf_model *m, int node);

/* Keras' shared layer (one layer object called on several inputs): node
 * `node`, the last node added, uses the weights of node `owner` instead of
 * its own (which are dropped): both must be of the same kind, with weights
 * of the same shapes ("layer 'dense_1' cannot share the weights of 'dense':
 * its kernel would have shape (4, 5), not (4, 3)").  Training sums the
 * gradients of every node that uses the weights; lf_get_weights and the
 * model file hold them once, under the owner's name (the file records
 * "shares": owner).  An owner that itself shares stands for its own owner.
 * The trainable flag is the layer's: lf_set_trainable on any of its nodes
 * sets it (on the owner), lf_node_trainable of any reports it, and a
 * frozen shared BatchNormalization runs in inference mode at each node.  Builder errors are sticky, as the
 * builders'. */
lf_status lf_share_weights(lf_model *m, int node, int owner);

/* Keras' initializers, redrawing one weight tensor of a node from the
 * model's generator (as kernel_initializer= / bias_initializer=).  Fans: a
 * vector (n) has fan_in = fan_out = n, a matrix (out, in) as the library
 * stores Dense's kernel fan_in = in and fan_out = out, a convolution kernel
 * (..., in, out) fan_in = in x field and fan_out = out x field with field
 * the product of the leading dims.  glorot_*: scale 1 over (fan_in +
 * fan_out) / 2; he_*: scale 2 over fan_in; lecun_*: scale 1 over fan_in;
 * *_uniform draw U(-sqrt(3 scale / fan), +...), *_normal a normal truncated
 * at 2 standard deviations with sd sqrt(scale / fan) / 0.8796256610342398;
 * random_normal N(0, 0.05^2), random_uniform U(-0.05, 0.05), zeros, ones. */
typedef enum lf_initializer {
    LF_INIT_GLOROT_UNIFORM = 0,
    LF_INIT_GLOROT_NORMAL,
    LF_INIT_HE_UNIFORM,
    LF_INIT_HE_NORMAL,
    LF_INIT_LECUN_UNIFORM,
    LF_INIT_LECUN_NORMAL,
    LF_INIT_ZEROS,
    LF_INIT_ONES,
    LF_INIT_RANDOM_NORMAL,
    LF_INIT_RANDOM_UNIFORM
} lf_initializer;
/* The Keras spelling ("he_normal"), or NULL; parse returns -1 if unknown. */
const char *lf_initializer_name(lf_initializer init);
int lf_initializer_parse(const char *name);
lf_status lf_initialize(lf_model *m, int node, size_t weight, lf_initializer init);

/* Number of nodes and the output dim of a node (0 for an invalid id). */
size_t lf_model_num_nodes(const lf_model *m);
size_t lf_node_dim(const lf_model *m, int node);
/* The per-sample shape of a node: returns its rank (0 for an invalid id)
 * and, when dims is not NULL, writes that many dims (room for
 * LF_MAX_RANK). */
size_t lf_node_shape(const lf_model *m, int node, size_t *dims);
int lf_node_find(const lf_model *m, const char *name); /* -1 if none */

/* --------------------------------------------------------------- compile */

typedef enum lf_loss {
    LF_LOSS_MSE = 0,
    LF_LOSS_MAE,
    LF_LOSS_BINARY_CROSSENTROPY,      /* targets in [0,1], same dim as y     */
    LF_LOSS_CATEGORICAL_CROSSENTROPY, /* one-hot (or soft) targets           */
    LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, /* one column: the class index  */
    LF_LOSS_NONE /* "none": Keras' loss=None for one output of several
                    (lf_model_compile_outputs): no loss, no targets */
} lf_loss;

const char *lf_loss_name(lf_loss l); /* Keras spelling or NULL */
int lf_loss_parse(const char *name); /* -1 if unknown */

/* (new kinds are appended: the values are the ABI) */
typedef enum lf_optimizer_kind {
    LF_OPT_SGD = 0,
    LF_OPT_ADAM,
    LF_OPT_RMSPROP,
    LF_OPT_ADAGRAD,
    LF_OPT_ADAMAX,
    LF_OPT_NADAM,
    LF_OPT_ADADELTA,
    LF_OPT_LION
} lf_optimizer_kind;

/* Keras 3's learning-rate schedules (keras.optimizers.schedules,
 * keras/src/optimizers/schedules/learning_rate_schedule.py), given to an
 * optimizer as its learning_rate is in Keras: the rate of the optimizer
 * step t (0-based: the model's optimizer iterations before the step, so
 * a model loaded with its optimizer state goes on where it was), with
 * lr the optimizer's learning_rate (Keras' initial_learning_rate):
 *   CONSTANT            lr (the default)
 *   EXPONENTIAL_DECAY   lr decay_rate^p, p = t / decay_steps (staircase:
 *                       floor(p))
 *   INVERSE_TIME_DECAY  lr / (1 + decay_rate p), p as above
 *   POLYNOMIAL_DECAY    (lr - end_learning_rate) (1 - t' / d)^power +
 *                       end_learning_rate, t' = min(t, decay_steps) and
 *                       d = decay_steps; with cycle, t' = t and d =
 *                       decay_steps ceil(t / decay_steps) (decay_steps at
 *                       t = 0)
 *   COSINE_DECAY        lr ((1 - alpha) (1 + cos(pi t' / decay_steps)) / 2
 *                       + alpha), t' = min(t, decay_steps); with
 *                       has_warmup, first a linear warm-up from lr to
 *                       warmup_target over warmup_steps (lr + (target -
 *                       lr) t / warmup_steps), then that decay from
 *                       warmup_target over t - warmup_steps (t capped at
 *                       decay_steps + warmup_steps)
 *   COSINE_DECAY_RESTARTS  SGDR (Loshchilov & Hutter): cosine periods, the
 *                       first decay_steps long (Keras' first_decay_steps),
 *                       each next t_mul times longer and its peak m_mul
 *                       times the previous (alpha's floor not scaled);
 *                       with t_mul < 1 the periods add up to decay_steps /
 *                       (1 - t_mul) steps, and from there the rate is NaN,
 *                       as Keras' (the log of a number <= 0)
 *   PIECEWISE_CONSTANT  values[0] for t <= boundaries[0], values[i] for
 *                       boundaries[i-1] < t <= boundaries[i], values[n]
 *                       after boundaries[n-1] (n = n_boundaries, the
 *                       boundaries increasing); lr is not used
 * Computed in double and rounded to float once per step.  A model
 * compiled with a schedule refuses lf_model_set_learning_rate, as Keras
 * refuses to set such an optimizer's rate; lf_model_learning_rate gives
 * the next step's.  Saved in the model file with the optimizer. */
typedef enum lf_lr_schedule_kind {
    LF_LR_CONSTANT = 0,
    LF_LR_EXPONENTIAL_DECAY,
    LF_LR_INVERSE_TIME_DECAY,
    LF_LR_POLYNOMIAL_DECAY,
    LF_LR_COSINE_DECAY,
    LF_LR_COSINE_DECAY_RESTARTS,
    LF_LR_PIECEWISE_CONSTANT
} lf_lr_schedule_kind;

#define LF_LR_MAX_BOUNDARIES 32

typedef struct lf_lr_schedule {
    lf_lr_schedule_kind kind;
    double decay_steps;       /* > 0 (finite): every decay's length */
    double decay_rate;        /* EXPONENTIAL (> 0), INVERSE_TIME (>= 0) */
    int staircase;            /* EXPONENTIAL, INVERSE_TIME */
    double end_learning_rate; /* POLYNOMIAL: >= 0, default 1e-4 */
    double power;             /* POLYNOMIAL: > 0, default 1 */
    int cycle;                /* POLYNOMIAL */
    double alpha;             /* COSINE*: in [0, 1], default 0 */
    int has_warmup;           /* COSINE_DECAY: warm up to warmup_target */
    double warmup_target;     /* > 0 */
    double warmup_steps;      /* >= 0 */
    double t_mul;             /* RESTARTS: > 0, default 2 */
    double m_mul;             /* RESTARTS: >= 0, default 1 */
    size_t n_boundaries;      /* PIECEWISE: 1..LF_LR_MAX_BOUNDARIES */
    double boundaries[LF_LR_MAX_BOUNDARIES];
    float values[LF_LR_MAX_BOUNDARIES + 1]; /* finite, > 0 */
} lf_lr_schedule;

/* Keras' defaults of kind's schedule (end_learning_rate 1e-4, power 1,
 * t_mul 2, m_mul 1, the rest 0; decay_steps 0 must still be set). */
lf_lr_schedule lf_lr_schedule_default(lf_lr_schedule_kind kind);

/* The rate of optimizer step t (0-based) under schedule s from lr (the
 * optimizer's learning_rate), as the table above; lr for CONSTANT or a
 * NULL s.  Pure; s is assumed valid (lf_model_compile checks it). */
float lf_lr_schedule_rate(const lf_lr_schedule *s, float lr, uint64_t t);

typedef struct lf_optimizer {
    lf_optimizer_kind kind;
    float learning_rate;
    float momentum;   /* sgd, rmsprop */
    int nesterov;     /* sgd */
    float beta_1;     /* adam, adamax, nadam, lion */
    float beta_2;     /* adam, adamax, nadam, lion */
    float epsilon;    /* all but sgd and lion */
    float rho;        /* rmsprop, adadelta */
    int use_ema;      /* all: keep a moving average of the weights during
                         fit and write it into the weights when fit ends */
    float ema_momentum; /* its momentum, in [0, 1) */
    /* Keras' arguments of every optimizer, 0 = off (finite, >= 0; at most
     * one of the three clips set, as Keras).  Before each update, in
     * Keras 3's order: the gradients clipped, then the weights decayed. */
    float weight_decay;   /* w -= w * weight_decay * learning_rate on every
                             weight that trains (decoupled, as AdamW) */
    float clipnorm;       /* each weight's gradient g becomes
                             g * clipnorm / max(|g|, clipnorm) (L2 norm of
                             that weight's whole gradient) */
    float clipvalue;      /* each gradient value clipped to [-v, v] */
    float global_clipnorm;/* every gradient scaled by
                             min(1, global_clipnorm / |all gradients|) (NaN
                             when that norm is not finite, as Keras) */
    int amsgrad;          /* adam: divide by the root of the largest second
                             moment so far, v_hat = max(v_hat, v) (Keras'
                             amsgrad); a third moment kept */
    int centered;         /* rmsprop: divide by sqrt(v - a^2 + eps), a the
                             moving average of the gradients (Keras'
                             centered); a third moment kept */
    float initial_accumulator_value; /* adagrad: the accumulators' start
                                        (finite, >= 0) */
    lf_lr_schedule schedule; /* the rate per step (default CONSTANT:
                             learning_rate); the decay above uses the
                             step's rate too, as Keras */
} lf_optimizer;

/* Keras' defaults: sgd lr 0.01, momentum 0; adam lr 1e-3, beta_1 0.9,
 * beta_2 0.999, epsilon 1e-7, amsgrad 0; rmsprop lr 1e-3, rho 0.9,
 * epsilon 1e-7, centered 0; adagrad lr 1e-3, initial_accumulator_value
 * 0.1, epsilon 1e-7; adamax and nadam lr 1e-3, beta_1 0.9, beta_2 0.999,
 * epsilon 1e-7; adadelta lr 1e-3, rho 0.95, epsilon 1e-7 (Keras' default:
 * the paper's rule is lr 1); lion lr 1e-3, beta_1 0.9, beta_2 0.99;
 * use_ema 0, ema_momentum 0.99; weight_decay and the clips 0 (Keras'
 * AdamW is adam with weight_decay 0.004).  Each kind's update is Keras 3's
 * (keras/src/optimizers/<name>.py), t the step count from 1:
 *   adagrad:  a += g^2;  w -= lr g / sqrt(a + eps)
 *   adamax:   m += (g - m)(1 - b1);  u = max(b2 u, |g|);
 *             w -= lr m / ((1 - b1^t)(u + eps))
 *   nadam:    m, v as adam; u_t = b1 (1 - 0.5 * 0.96^t), P_t = u_1 ... u_t;
 *             w -= lr (u_{t+1} m / (1 - P_t u_{t+1}) + (1 - u_t) g / (1 - P_t))
 *                  / (sqrt(v / (1 - b2^t)) + eps)
 *   adadelta: a = rho a + (1 - rho) g^2;
 *             d = -sqrt(s + eps) g / sqrt(a + eps);
 *             s = rho s + (1 - rho) d^2;  w += lr d
 *   lion:     w -= lr sign(b1 m + (1 - b1) g);  m = b2 m + (1 - b2) g
 * (lion's beta_1 in (0, 1], as Keras; the other kinds' betas in [0, 1)).
 *
 * use_ema follows Keras 3: after every optimizer step of fit,
 * average = m * average + (1 - m) * w, with m = 0 on the model's first step
 * ever (the average starts as the weights) and m = ema_momentum after; when
 * fit ends (also by early stopping) the weights become the average, then
 * restore_best_weights, when set, puts the best epoch's own weights back
 * over it (as Keras 3's EarlyStopping does at the end of training).  A fit
 * that starts from trained weights starts its average from them.  Validation during fit sees the raw
 * weights.  lf_model_train_on_batch does not use it (Keras only writes the
 * average back at the end of fit).
 *
 * A step whose loss is finite but one of whose gradients (after the clip)
 * is finite with a square past float's range (|g| above about 1.8e19) is
 * refused by the kinds that square it (adam, nadam, rmsprop, adagrad,
 * adadelta), where the moment would turn inf and then NaN (Keras 3's adam)
 * or stop the weight for good (PyTorch's): fit and train_on_batch fail
 * with LF_ERR_NUMERIC naming the weight ("fit: at step 12 the gradient of
 * layer 'dense' (kernel, value 3) is 2e+20: the optimizer squares it past
 * float's range ..."), the weights, moments and step count those before
 * the step.  A gradient that is NaN or infinite is not refused: the loss
 * it makes NaN ends the fit (lf_model_stop_training, TerminateOnNaN). */
lf_optimizer lf_optimizer_default(lf_optimizer_kind kind);

/* Model(inputs, output).compile(optimizer, loss).  `output` is the node
 * whose value predict returns.  Fixes the graph: no builder call is accepted
 * afterwards.  With a softmax output and a categorical loss (or a sigmoid
 * output and binary cross-entropy) the loss is computed from the logits
 * (fused log-softmax / log-sigmoid), which is exact and stable. opt may be
 * NULL for adam with defaults. */
lf_status lf_model_compile(lf_model *m, int output, lf_loss loss, const lf_optimizer *opt);

/* The founding question's network (README, "The founding question"): two
 * inputs of `dim` features, Dense(units, relu) on each, their
 * WeightedAverage, Dense(1, linear), compiled with mse and opt (NULL:
 * Keras' Adam) on an empty model.  names: its 6 layer names in that order
 * (the two inputs, the two Dense, the WeightedAverage, the output), or NULL
 * for Keras' ("input_1", "input_2", "dense", "dense_1",
 * "weighted_average", "dense_2").  Returns lf_model_compile's status (a
 * builder error included).  The one definition that the seed-example
 * command, examples/seed.c, the benchmarks and the tests build. */
lf_status lf_seed_network(lf_model *m, size_t dim, size_t units, const char *const *names,
                          const lf_optimizer *opt);

size_t lf_model_num_inputs(const lf_model *m);
size_t lf_model_input_dim(const lf_model *m, size_t i);
size_t lf_model_output_dim(const lf_model *m); /* output 0's with several */
size_t lf_model_num_params(const lf_model *m);

/* Writes a table like Keras' model.summary(): layer (type), output shape,
 * parameters, inputs, and the totals.  Works before compile too. */
lf_status lf_model_summary(const lf_model *m, FILE *out);

/* ------------------------------------------------------------------ fit */

typedef struct lf_fit_options {
    size_t batch_size;        /* default 32 */
    size_t epochs;            /* default 1 */
    int shuffle;              /* default 1: reshuffle every epoch */
    double validation_split;  /* default 0: the last rows, as Keras: the first
                                 floor(N (1 - split)) rows train (their
                                 sample weights go with them into val_loss) */
    const float *const *val_x;/* or explicit validation data (overrides)   */
    const float *val_y;
    size_t val_n;
    size_t patience;          /* 0: no early stopping; else stop after this
                                 many epochs without improvement of the
                                 monitored loss (val_loss if any, else loss;
                                 or the accuracy: monitor_accuracy) */
    float min_delta;          /* improvement needed, default 0 (finite, >= 0) */
    int restore_best_weights; /* with early stopping (patience > 0), default
                                 0: when fit ends, stopped early or not, the
                                 best epoch's weights are put back (over
                                 use_ema's average), as Keras 3 */
    const float *sample_weight;   /* NULL, or N weights >= 0 */
    const float *class_weight;    /* NULL, or one weight per class */
    size_t n_class_weight;
    uint64_t seed;            /* shuffling and dropout draw from a generator
                                 seeded with this (default 0) on a model
                                 that has taken no step since compile;
                                 after, with this mixed with the
                                 optimizer's step count, so that fit
                                 called again shuffles and drops anew (as
                                 Keras' seed generators go on from call to
                                 call), and a model loaded with its
                                 optimizer state (LF_SAVE_OPTIMIZER) draws
                                 what the saved one would have */
    lf_progress_fn progress;  /* NULL (default): silent; else called with
                                 each epoch's and step's progress */
    void *progress_ctx;       /* passed to progress */
    /* lf_model_fit_arrays' explicit validation data (val_x / val_y are
     * lf_model_fit's): one array per input, one target array per output,
     * val_n rows */
    const struct lf_typed_array *val_arrays;
    const float *const *val_ys;
    /* NULL (default): one process.  Else a pointer to an MPI_Comm (the
     * library built with MPI=1), a collective call, data-parallel: rank 0's
     * weights are broadcast first; every batch's rows are split over the
     * ranks (each gathers only its slice), their gradients summed by a ring
     * allreduce in a fixed order (the same bits on every rank), then the
     * same optimizer step.  Every rank passes the same rows and options.
     * Dropout and augmentation draw per row as a function of the seed,
     * epoch, step and the row's place in the whole batch, and
     * BatchNormalization uses the whole batch's statistics (summed over the
     * ranks), so P only changes the rounding of the sums.  Deterministic
     * for a given number of ranks P.  A rank that fails its checks makes
     * every rank return its status and message; ranks given other row
     * counts or options, other models or optimizers (layers, L2
     * penalties, trainable flags, losses, optimizer settings: the model
     * file's architecture), or whose validation losses differ at an
     * epoch's end (other validation rows), all return LF_ERR_ARG naming
     * it.  A
     * build without MPI returns LF_ERR_ARG. */
    const void *mpi_comm;
    /* NULL (default), or a flag that another thread or a signal handler
     * may set to nonzero (as lf_fusion_options.cancel): read before each
     * training step (batch); once
     * set, fit stops there and returns LF_ERR_CANCELLED with the message
     * "fit: cancelled", the weights those of the steps done (the best
     * weights are not restored, the moving average not written back).
     * Over MPI ranks each rank's flag travels with the step's sums, so
     * every rank stops after the same step. */
    const volatile int *cancel;
    size_t threads;           /* 0 (default): OpenMP's thread count of the
                                 calling thread; else at most this many
                                 threads (1..1024) for this call's layers
                                 and products, the caller's count given
                                 back after (as lf_fusion_options.threads).
                                 The weights are the same bits for any
                                 count. */
    const float *val_sample_weight; /* NULL (default), or val_n weights
                                 >= 0 of the explicit validation rows
                                 (val_x or val_arrays): val_loss weighs
                                 them, as Keras' validation_data=(x, y,
                                 sample_weight) */
    int monitor_accuracy;     /* 0 (default): early stopping and the best
                                 epoch watch the loss (val_loss if any,
                                 else loss), lower is better; 1: the
                                 accuracy (val_accuracy if any), higher is
                                 better, as Keras'
                                 EarlyStopping(monitor='val_accuracy');
                                 needs one output with an accuracy (a
                                 crossentropy loss) */
    /* Keras 3's EarlyStopping(start_from_epoch, baseline)
     * (keras/src/callbacks/early_stopping.py).  start_from_epoch (default
     * 0): the epochs before it (0-based) are not watched — they neither
     * count towards patience nor can be the best epoch, nor are their
     * weights kept for restore_best_weights; when every epoch is before
     * it, no weights are put back.  has_baseline (0 default, or 1) with
     * baseline (finite; in the watched value's units: a loss, or an
     * accuracy with monitor_accuracy): an epoch that improves on the best
     * so far becomes the best (its weights kept) but resets the patience
     * count only when it also beats the baseline by more than min_delta
     * (below it for a loss, above for an accuracy); otherwise the count
     * goes on (by one, as for an epoch without improvement), and the fit
     * stops at the next epoch without improvement once the count has
     * reached patience.  The first watched epoch always becomes the best,
     * as Keras (whose on_train_begin forgets the baseline as a best). */
    size_t start_from_epoch;
    int has_baseline;
    double baseline;
    /* 0 (default): LF_PROGRESS_STEP at most every 0.1 s and at an
     * epoch's last step; 1: after every step, for a caller's per-batch
     * hooks (Keras' on_train_batch_end; Python's fit sets it when a
     * callback has one) */
    int progress_every_step;
    /* Keras 3's fit(initial_epoch, validation_freq, steps_per_epoch,
     * validation_steps, validation_batch_size)
     * (keras/src/backend/torch/trainer.py fit, keras/src/trainers/
     * epoch_iterator.py).  initial_epoch (default 0, < epochs): the fit runs
     * epochs initial_epoch..epochs-1 (epochs - initial_epoch of them),
     * numbered so in the progress events, the draws' keys, start_from_epoch,
     * validation_freq and lf_history.best_epoch; the history holds the
     * epochs run, from its index 0.  validation_freq (0 or 1, default:
     * every epoch) N: the validation rows are measured only at the ends of
     * epochs whose 1-based number is a multiple of N; validation_epochs
     * (NULL default, else n_validation_epochs 1-based epoch numbers; over
     * validation_freq): only at those epochs' ends.  An epoch without
     * validation has NaN val_* in the history and its EPOCH_END event, no
     * divergence check of them, and is not watched by early stopping with
     * validation data (as Keras' EarlyStopping skips an epoch whose
     * monitored value is missing).  steps_per_epoch (0 default: every batch
     * of the training rows once per epoch): each epoch takes up to this many
     * batches from one pass over the (shuffled) rows, which goes on across
     * epochs; an epoch that reaches the pass's end stops there (fewer steps;
     * Keras' "ran out of data" warning), and the next epoch starts a new,
     * reshuffled pass.  validation_steps (0 default: every validation row):
     * only the first min(val rows, validation_steps * validation_batch_size)
     * validation rows are measured, validation_batch_size (0 default:
     * batch_size) used for nothing else but progress_validation_steps'
     * batches (without it the library measures the rows in its own
     * chunks) */
    size_t initial_epoch;
    size_t validation_freq;
    const size_t *validation_epochs;
    size_t n_validation_epochs;
    size_t steps_per_epoch;
    size_t validation_steps;
    size_t validation_batch_size;
    /* 0 (default): the validation rows are measured in the library's
     * chunks, silently; 1: in Keras' validation batches
     * (validation_batch_size rows, default batch_size), each reported by
     * an LF_PROGRESS_VAL_STEP event, for a caller's per-batch hooks (Keras
     * 3's fit validates through evaluate(callbacks=): on_test_begin,
     * on_test_batch_begin / on_test_batch_end, on_test_end; Python's fit
     * sets it when a callback has a test batch hook).  The validation
     * loss is then summed batch by batch: its last bits may differ from a
     * fit's without it.  Over MPI ranks every rank measures every
     * validation row (none is split), so each rank with a callback
     * reports every batch; when any rank sets it, every rank measures in
     * these batches (the validation losses stay the same bits on every
     * rank) */
    int progress_validation_steps;
} lf_fit_options;

lf_fit_options lf_fit_defaults(void);

/* Per-epoch history of the last fit; arrays of `epochs` values.  Values not
 * measured are NaN (accuracy for regression losses, val_* without
 * validation data).  Owned by the model, valid until the next fit/free. */
typedef struct lf_history {
    size_t epochs;          /* epochs actually run */
    const double *loss;
    const double *val_loss;
    const double *accuracy;
    const double *val_accuracy;
    size_t best_epoch;      /* 0-based epoch of the best monitored loss (among
                               the epochs from start_from_epoch on; 0 when
                               none was watched), counted as the fit's
                               epochs (from 0, not from initial_epoch) */
    int stopped_early;
    /* Per output (lf_model_compile_outputs; one for lf_model_compile):
     * output k's loss (unweighted) and accuracy at the history's index i
     * are output_loss[k * E + i] and output_accuracy[...], E the epochs
     * asked for (lf_fit_options.epochs - initial_epoch); loss above is
     * sum_k w_k output_loss_k + the L2 penalty, accuracy above is output
     * 0's with one output and NaN with several (as Keras: per output).  An
     * output of loss LF_LOSS_NONE: NaN loss and accuracy. */
    size_t n_outputs;
    const double *output_loss;
    const double *val_output_loss;
    const double *output_accuracy;
    const double *val_output_accuracy;
} lf_history;

/* Trains the compiled model.  x: one array per input (N x input_dim);
 * y: N x output_dim targets (N x 1 class indices, as floats, for sparse
 * categorical cross-entropy).  Inputs and targets must be finite.
 * Deterministic for a given model seed, options and data. */
lf_status lf_model_fit(lf_model *m, const float *const *x, const float *y, size_t n,
                       const lf_fit_options *opt);
const lf_history *lf_model_history(const lf_model *m);

/* Loss (with any L2 penalty, without dropout) and accuracy (NaN for
 * regression losses) over N rows; either out pointer may be NULL. */
lf_status lf_model_evaluate(lf_model *m, const float *const *x, const float *y, size_t n,
                            const float *sample_weight, double *loss, double *accuracy);

/* Inference for any number of rows (worked in chunks): y receives
 * N x output_dim floats.  Thread-safe on one model (see the top). It keeps
 * no message: on failure, lf_status_string(status) describes it.  A value
 * that is not finite in a row (unlike fit and evaluate, which refuse it)
 * makes that row's outputs NaN, and no other row's. */
lf_status lf_model_predict(const lf_model *m, const float *const *x, size_t n, float *y);

/* ------------------------------------------ several outputs, typed arrays */
/*
 * Keras' Model(inputs, [out_1, ..., out_K]).compile(loss=[l_1, ..., l_K],
 * loss_weights=[w_1, ..., w_K]): the training loss is
 *     sum_k w_k loss_k + the L2 penalties,
 * loss_k being output k's loss as lf_model_compile defines it (mean over
 * the rows of its per-row loss, sample weights included).  An output may
 * also feed other layers (a branch's softmax that is both an output and an
 * input of the fusion layer): its gradient is then the sum of its own
 * loss's and the one from the layers above.  Such an output's
 * cross-entropy is computed from its probabilities (clipped as Keras),
 * not fused with its logits.
 *
 * The lf_model_*_arrays calls take the inputs as lf_typed_array (element type
 * and pointer, see lf_dtype: int32 ids and uint8 pixels go in as they are)
 * and one target array per output (float32, as lf_model_fit's y: N x dim_k,
 * or N x 1 class indices for sparse categorical cross-entropy).  They work
 * on single-output models too; lf_model_fit, lf_model_evaluate and
 * lf_model_predict refuse a model with several outputs (LF_ERR_STATE).
 */

/* An input array: N x dim values of type dtype, row-major. */
typedef struct lf_typed_array {
    lf_dtype dtype;
    const void *data;
} lf_typed_array;

/* Compiles with n_outputs >= 1 distinct non-input output nodes, their
 * losses (n_outputs of them; give the same loss n times for "one for
 * all") and loss weights (finite, >= 0; NULL: all 1).  opt as for
 * lf_model_compile.  lf_model_compile(m, o, l, opt) is this with one
 * output of weight 1.  LF_LOSS_NONE (Keras' loss=[None, ...],
 * keras/src/trainers/compile_utils.py CompileLoss, which skips it) leaves
 * an output untrained by its own loss: it adds nothing to the training
 * loss nor to the gradient (it still trains from the layers it feeds),
 * has no accuracy, its history and evaluate losses are NaN, and its
 * target array may be NULL (any other is not read).  At least one output
 * needs a loss (else LF_ERR_ARG). */
lf_status lf_model_compile_outputs(lf_model *m, size_t n_outputs, const int *outputs,
                                   const lf_loss *losses, const float *loss_weights,
                                   const lf_optimizer *opt);
/* Keras' from_logits=True on output k's crossentropy (binary, categorical
 * or sparse categorical; another loss: LF_ERR_ARG), after compile (before:
 * LF_ERR_STATE): the output's values are the logits z, the loss is the
 * log-sigmoid / log-softmax one of z (no clipping), its gradient sigmoid(z)
 * - t or softmax(z) - t, whatever the output's activation (Keras does not
 * look at it); predict returns z.  The accuracy compares the values as
 * Keras 3's does: binary, z > 0.5 (BinaryAccuracy's threshold, on the
 * logits); categorical, the argmax.  Saved in the model file.
 * lf_model_from_logits gives the flag (-1: no such output). */
lf_status lf_model_set_from_logits(lf_model *m, size_t k, int from_logits);
int lf_model_from_logits(const lf_model *m, size_t k);
/* Keras' compile(metrics=..., weighted_metrics=...) by name, kept with the
 * model for its callers (the library counts accuracy itself; Python
 * measures the others): each a JSON text or NULL (none), a list of metric
 * names, nulls or lists of names (one entry per output), or an object of
 * them by output name; names of 1..64 printable ASCII characters, at most
 * 64 entries, 4096 bytes.  After compile (before: LF_ERR_STATE); a bad text
 * is LF_ERR_ARG with the reason, and changes nothing.  Kept as compact JSON
 * until set again, written in the model file ("metrics",
 * "weighted_metrics"; absent when NULL) and read back by lf_model_load.
 * lf_model_metrics gives the kept text (weighted: 0 metrics, 1
 * weighted_metrics), NULL when none or uncompiled. */
lf_status lf_model_set_metrics(lf_model *m, const char *metrics, const char *weighted_metrics);
const char *lf_model_metrics(const lf_model *m, int weighted);
/* Number of outputs and the node id of output k (-1 if there is none):
 * compile's outputs; before compile, those given to lf_model_set_outputs
 * (0 when none were). */
size_t lf_model_num_outputs(const lf_model *m);
int lf_model_output_node(const lf_model *m, size_t k);
/* Keras' Model(inputs, outputs) for a model not (yet) compiled: names its
 * n output nodes (0..1024; each a distinct node that is not an input and
 * not a node of several outputs (lf_output_view picks one); n = 0 forgets
 * them), which lf_model_num_outputs / lf_model_output_node then give and
 * the model file keeps ("model_outputs"), so a loaded uncompiled model
 * knows its outputs (a file without them: none, as before).  Setting again
 * replaces them; compile's outputs take their place (after compile:
 * LF_ERR_STATE).  A refused call (LF_ERR_ARG with the reason) changes
 * nothing. */
lf_status lf_model_set_outputs(lf_model *m, size_t n, const int *outputs);

/* lf_model_fit over typed input arrays (x: one per input) and one target
 * array per output (y: n_outputs of them).  class_weight needs a model
 * with one output (as Keras); sample_weight weighs every output's loss.
 * Validation data: the options' val_arrays, val_ys, val_n (val_x / val_y
 * are refused here), or validation_split. */
lf_status lf_model_fit_arrays(lf_model *m, const lf_typed_array *x, const float *const *y, size_t n,
                              const lf_fit_options *opt);
/* losses (may be NULL) receives 1 + n_outputs values: the total (as
 * lf_model_evaluate's loss: weighted sum plus L2 penalty), then each
 * output's own loss, unweighted; accuracies (may be NULL) receives
 * n_outputs values (NaN for regression losses). */
lf_status lf_model_evaluate_arrays(lf_model *m, const lf_typed_array *x, const float *const *y, size_t n,
                                   const float *sample_weight, double *losses, double *accuracies);
/* y: n_outputs arrays, output k's of N x dim_k floats.  Thread-safe as
 * lf_model_predict; keeps no message (an int32 input beyond +-2^24 is
 * LF_ERR_NUMERIC; a float that is not finite goes to its row's outputs,
 * as in lf_model_predict). */
lf_status lf_model_predict_arrays(const lf_model *m, const lf_typed_array *x, size_t n, float *const *y);

/* ------------------------------------------ learning rate, one batch */

/* Sets the learning rate of the compiled model's optimizer (Keras'
 * model.optimizer.learning_rate = lr): finite and > 0, else LF_ERR_ARG
 * with a message and the rate unchanged; LF_ERR_STATE before compile.
 * Every later optimizer step uses it, also within a fit under way when
 * called from that fit's progress callback (it runs on the fit's thread):
 * set at LF_PROGRESS_EPOCH_BEGIN, the epoch's steps use it; at
 * EPOCH_END, the next epoch's (how Keras' LearningRateScheduler and
 * ReduceLROnPlateau change it); at a STEP, the next step's (a per-batch
 * schedule, with lf_fit_options.progress_every_step).  Not from another thread while a fit or
 * a train_on_batch runs on the model.  lf_model_save writes the rate set
 * last; compiling again takes the optimizer's given to compile. */
lf_status lf_model_set_learning_rate(lf_model *m, float learning_rate);
/* Keras' LearningRateSchedule of the caller's own (a subclass with its
 * own __call__): with fn set, every optimizer step of the compiled model
 * (fit's and train_on_batch's) uses the rate fn(ctx, step), step being
 * the optimizer's step count before it (Keras' schedule(iterations)),
 * called on the calling thread (fit's) before the step's gradients.  A
 * rate that is not finite or is below 0 fails that fit or train_on_batch
 * with LF_ERR_NUMERIC ("fit: the learning rate function gave nan at step
 * 3: a rate must be finite and >= 0"), before the step: the weights are
 * those of the steps done.  fn NULL: the optimizer's own rate again.
 * LF_ERR_STATE before compile; LF_ERR_ARG for an optimizer with a
 * schedule (lf_optimizer.schedule).  The model file does not keep it
 * (it holds compile's rate); set_learning_rate is
 * refused while it is set; a fit over MPI ranks (mpi_comm) refuses it
 * (LF_ERR_ARG). */
typedef double (*lf_rate_fn)(void *ctx, uint64_t step);
lf_status lf_model_set_rate_fn(lf_model *m, lf_rate_fn fn, void *ctx);
/* The learning rate the next optimizer step uses: compile's, the one
 * lf_model_set_learning_rate set last, or the rate function's (which it
 * calls); NaN when m is NULL or not compiled. */
float lf_model_learning_rate(const lf_model *m);
/* The optimizer steps the compiled model has taken (Keras'
 * optimizer.iterations: every fit and train_on_batch step since compile;
 * a loaded model's go on from the saved count, up to 2^63 - 1, Keras'
 * int64, where it stays), which a schedule's rate follows; 0 when m is
 * NULL or not compiled.  Reads only. */
uint64_t lf_model_iterations(const lf_model *m);

/* Keras' model.stop_training = True: asks the fit under way on m to end
 * after the current step, called from that fit's progress callback, as
 * Keras 3's batch loop breaks after on_train_batch_end: at a STEP event the
 * epoch's remaining steps are skipped (its loss and accuracy are those of
 * the steps done), at EPOCH_BEGIN the epoch's first step still runs, and
 * at EPOCH_END the fit ends there.  The stopped epoch then ends as any (its
 * validation metrics, its EPOCH_END, its history entry, early stopping's
 * check) and the fit as after its last epoch: LF_OK, use_ema's average
 * written back, restore_best_weights' best weights put back; also when
 * that epoch's loss is not finite (which otherwise fails the fit with
 * LF_ERR_NUMERIC), as Keras' TerminateOnNaN ends training.  stopped_early
 * stays 0 (early stopping did not stop it).  Each fit starts without the
 * request, and forgets it when it returns; outside a fit's callback it
 * does nothing.  Over MPI ranks, a request on any rank stops every rank
 * at the same step (the ranks exchange the flag after each step when any
 * rank's fit has a progress callback, rank 0's alone included).
 * LF_ERR_ARG for a NULL m. */
lf_status lf_model_stop_training(lf_model *m);

/* Keras' model.train_on_batch(x, y, sample_weight): one optimizer step on
 * these n rows as one batch (typed inputs and one target array per output,
 * as lf_model_fit_arrays), in training mode (dropout draws a new mask at
 * each call from the model's generator, so the model's seed and the calls
 * made fix them; BatchNormalization uses the batch's statistics and moves
 * its moving ones).  sample_weight: NULL or n weights, finite and >= 0
 * (class weights: fold them into the sample weights, as Keras converts
 * them).  Before the step, with the weights as they were: losses (may be
 * NULL) receives 1 + n_outputs values, the batch's total loss (the weighted
 * sum of the outputs' losses plus the L2 penalty, as a fit's loss) then
 * each output's unweighted, and accuracies (may be NULL) n_outputs values
 * (NaN for regression losses), as lf_model_evaluate_arrays.  The step and
 * the optimizer's state (moments, step count) are fit's: frozen layers are
 * left bit for bit; use_ema's moving average is not kept (it belongs to
 * fit); the weights may become non-finite (the loss then says so; fit
 * would refuse to go on).  Inputs and targets are checked as fit checks
 * them (LF_ERR_ARG / LF_ERR_NUMERIC with a message, the model unchanged).
 * Runs on the caller's OpenMP thread count; no MPI.  Touches neither the
 * history nor a fit's options. */
lf_status lf_model_train_on_batch(lf_model *m, const lf_typed_array *x, const float *const *y, size_t n,
                                  const float *sample_weight, double *losses, double *accuracies);

/* -------------------------------------------------------------- weights */
/*
 * Weights by layer name and index, in Keras' order: Dense: 0 kernel
 * (units, in), 1 bias (units); WeightedAverage: 0 W (n); ClassWeighted-
 * Average: 0 W (n, dim).  Shapes are row-major.
 */
size_t lf_layer_num_weights(const lf_model *m, const char *layer);
/* Writes the shape (shape[1] = 1 for vectors) and element count. */
lf_status lf_layer_weight_shape(lf_model *m, const char *layer, size_t idx,
                                size_t shape[2], size_t *count);
lf_status lf_get_weights(lf_model *m, const char *layer, size_t idx, float *out,
                         size_t count);
lf_status lf_set_weights(lf_model *m, const char *layer, size_t idx, const float *in,
                         size_t count);

/* The optimizer's state of a compiled model (Keras' optimizer variables,
 * what lf_model_save's LF_SAVE_OPTIMIZER keeps), by layer weight as
 * lf_get_weights: the number of state arrays (slots) it keeps per weight,
 * 0 when m is NULL or not compiled, else 2 or 3: slot 0 the first moment
 * (SGD's and RMSprop's momentum, Adam's, Adamax's and Nadam's m, Lion's;
 * Adadelta's accumulated updates), 1 the second (Adam's velocity,
 * RMSprop's, Adagrad's accumulator, Adamax's norm, Adadelta's accumulated
 * gradients), 2 amsgrad's velocity_hat or centered RMSprop's average
 * gradient.  A slot the optimizer does not use holds zeros.  Compile
 * resets the state (zeros; Adagrad's accumulator its initial value). */
int lf_model_optimizer_slots(const lf_model *m);
/* Copies / sets slot `slot` of the layer's weight idx (count values, in
 * lf_get_weights' layout).  Set refuses (LF_ERR_NUMERIC, the state
 * unchanged) a value that is not finite, or negative in a slot the
 * optimizer keeps >= 0 (slot 1 but for SGD and Lion; Adadelta's slot 0;
 * amsgrad's slot 2); LF_ERR_STATE when not compiled, LF_ERR_ARG for a slot
 * out of range, LF_ERR_SHAPE for another count. */
lf_status lf_get_optimizer_slot(lf_model *m, const char *layer, size_t idx, int slot, float *out, size_t count);
lf_status lf_set_optimizer_slot(lf_model *m, const char *layer, size_t idx, int slot, const float *in,
                                size_t count);
/* Sets the optimizer steps taken (lf_model_iterations: Adam's bias
 * correction and a schedule's rate follow it), as a resumed Keras
 * optimizer's iterations; LF_ERR_STATE when not compiled, LF_ERR_ARG above
 * 2^63 - 1. */
lf_status lf_model_set_iterations(lf_model *m, uint64_t iterations);

/* ------------------------------------------------------------ save/load */

/* Every save (lf_model_save, lf_fusion_save) writes "<path>.tmp-XXXXXX"
 * (the name cut to NAME_MAX), fsyncs it, renames it over `path` and fsyncs
 * the folder: a symbolic link is followed and the file it points to
 * replaced (the link stays); an existing device, FIFO or socket is written
 * through, not replaced; a new file gets 0666 & ~umask, a replaced one
 * keeps its mode.  The library installs no signal handler: a process
 * killed during a save may leave the temporary file (the latefuse tool
 * blocks its signals around the save).
 *
 * The saves take flags, or-ed together (0: none); an unknown or
 * inapplicable flag is LF_ERR_ARG.
 * LF_WRITE_NO_FSYNC (both): still a temporary file renamed into place (a
 * failed save leaves no partial file, readers see the old file or the
 * whole new one), but without the fsyncs: faster for large files, not
 * durable (after a machine crash the target may be old, empty or
 * partial).
 * LF_SAVE_OPTIMIZER (lf_model_save): the optimizer state too (its moment
 * estimates), so that training resumes where it stopped; the model must be
 * compiled. */
#define LF_WRITE_NO_FSYNC 1u
#define LF_SAVE_OPTIMIZER 2u

/* Saves architecture and weights (and with LF_SAVE_OPTIMIZER the optimizer
 * state) to one safetensors file (schema in README.md), atomically (see
 * above). */
lf_status lf_model_save(lf_model *m, const char *path, unsigned flags);

/* Replaces the contents of an empty model (freshly created) with a saved
 * model.  The file is validated completely before anything is trusted; on
 * failure the model stays empty and lf_model_error(m) names the problem. */
lf_status lf_model_load(lf_model *m, const char *path);


/* ================================================================ fusion */
/*
 * Late fusion of models that are already trained.  The inputs are the
 * outputs of M models for the same N samples: M arrays of N x C class
 * probabilities (or raw scores with `logits`), row-major float32.  A row of
 * NaN means that model's output is missing for that sample; a NULL array
 * means the model is missing for every row.  Labels are N ints in 0..C-1.
 *
 * Inputs are validated before use: every present row finite, probabilities
 * >= 0 summing to 1 within 1e-3; messages name the model, row and value.
 */

/* Fusion methods.  The values are stable (they are not positions in a list):
 * a new method gets a new value, and no code relies on their order; use
 * lf_method_list to enumerate them and lf_method_family to classify them. */
typedef enum lf_method {
    /* fixed rules (renormalised over the models present) */
    LF_FUSE_MEAN = 0,
    LF_FUSE_PRODUCT = 1,      /* geometric mean, renormalised */
    LF_FUSE_MAX = 2,
    LF_FUSE_MIN = 3,
    LF_FUSE_MEDIAN = 4,
    LF_FUSE_VOTE = 5,         /* majority, ties broken by mean probability */
    LF_FUSE_BORDA = 6,
    /* classical combiners, fitted by counting */
    LF_FUSE_ACC_WEIGHTED = 7, /* mean weighted by each model's accuracy */
    LF_FUSE_DECISION_TEMPLATE = 8,
    /* trained with the engine */
    LF_FUSE_STACK_LR = 9,     /* product rule + logistic correction on log p, L2 */
    LF_FUSE_WAVG = 10,        /* the seed's WeightedAverage over models, L2 */
    LF_FUSE_WAVG_CLASS = 11,  /* ClassWeightedAverage: per model, per class */
    LF_FUSE_LOGLINEAR = 12,   /* softmax-weighted sum of log p, renormalised */
    LF_FUSE_MLP = 13,         /* Concatenate -> Dense(128, relu) -> Dropout(0.2)
                                 -> Dense(C, softmax) */
    LF_FUSE_GATE = 14,        /* per-sample softmax weights from a small net, L2 */
    /* not a method: the best one by cross-validated log-loss (fit only) */
    LF_FUSE_AUTO = 15,
    /* greedy ensemble selection (Caruana 2004): weights = selection counts */
    LF_FUSE_GES = 16,         /* over the linear pool */
    LF_FUSE_GES_LOG = 17,     /* over the log-linear (geometric) pool */
    /* dynamic selection: per row, the models competent on its k nearest
     * fitting rows in the space of the models' outputs */
    LF_FUSE_KNORA_E = 18,     /* k-nearest oracles eliminate (Ko et al. 2008) */
    LF_FUSE_KNORA_U = 19,     /* k-nearest oracles union */
    LF_FUSE_OLA = 20,         /* overall local accuracy (Woods et al. 1997) */
    LF_FUSE_LCA = 21,         /* local class accuracy (Woods et al. 1997) */
    /* evidence combination */
    LF_FUSE_DEMPSTER_SHAFER = 22, /* Rogova 1994 over decision templates */
    LF_FUSE_BKS = 23,         /* behaviour-knowledge space (Huang & Suen 1995) */
    /* made by auto only (not a method that compare tries or fit takes):
     * its best candidates pooled with greedy ensemble selection's counts
     * (lf_fusion_ensemble_member) */
    LF_FUSE_ENSEMBLE = 24
} lf_method;

typedef enum lf_family {
    LF_FAMILY_FIXED = 0,      /* fixed rules: nothing is fitted */
    LF_FAMILY_CLASSICAL,      /* fitted by counting (accuracies, templates) */
    LF_FAMILY_LEARNED         /* a network trained with the engine */
} lf_family;

/* The CLI spelling ("mean", ..., "wavg-class", "auto"); NULL if invalid. */
const char *lf_method_name(lf_method m);
/* Parses a spelling (auto included); -1 if unknown. */
int lf_method_parse(const char *name);
/* Every fusion method (auto excluded), in the order compare and auto try
 * them: writes min(count, cap) ids to out (out may be NULL when cap is 0)
 * and returns the count. */
size_t lf_method_list(lf_method *out, size_t cap);
/* The method's lf_family, or -1 for auto and unknown values. */
int lf_method_family(lf_method m);
/* 1 if the method can search a feature space (lf_fusion_options.features:
 * the dynamic-selection methods), else 0 (auto and unknown values too). */
int lf_method_takes_features(lf_method m);

/* The metrics of lf_fusion_metrics and the compare table, by index. */
enum { LF_METRIC_ACCURACY = 0, LF_METRIC_MACRO_F1, LF_METRIC_LOG_LOSS, LF_METRIC_BRIER,
       LF_METRIC_ECE, LF_NUM_METRICS };

typedef struct lf_fusion_options {
    lf_method method;     /* default LF_FUSE_WAVG */
    int calibrate;        /* fit one temperature per model first */
    int logits;           /* inputs are raw scores: softmax applied */
    size_t folds;         /* cross-validation folds (auto, compare); 5 */
    uint64_t seed;        /* folds, initial weights, shuffling; 0 */
    size_t epochs;        /* learned methods; 0 = the method's default */
    float modality_dropout; /* learned methods: share of extra training rows
                               with one present model hidden; default 0.5 */
    lf_progress_fn progress; /* NULL (default): silent; else compare's and
                                the learned methods' training progress */
    void *progress_ctx;   /* passed to progress */
    int metric;           /* what ges and auto optimise: LF_METRIC_LOG_LOSS
                             (default) or LF_METRIC_ACCURACY (for ges the
                             log-loss breaks ties); auto also takes
                             LF_METRIC_MACRO_F1 */
    size_t ensemble_size; /* ges and auto's ensemble: selections, with
                             replacement; 0 = 50 */
    size_t bags;          /* ges and auto's ensemble: selections over random
                             halves of the models, added up; 0 or 1 = one
                             selection over all; ensemble_size x bags
                             at most 16777216 */
    int importance;       /* fit: measure lf_fusion_importance (M + 1
                             predictions of the fitting rows); default 1 */
    size_t k;             /* knora-e, knora-u, ola, lca: neighbours in the
                             region of competence, 1..1000; 0 = 7 */
    const void *mpi_comm; /* NULL (default): one process; else a pointer to
                             an MPI_Comm (the library built with MPI=1):
                             lf_fusion_compare and auto's cross-validation
                             spread their (candidate, fold) work over its
                             ranks (a collective call: every rank calls with
                             the same inputs and gets the same table, the
                             same bits as one process); lf_fusion_fit of a
                             learned method (wavg, wavg-class, gate,
                             stack-lr, mlp, loglinear) trains data-parallel
                             over the ranks as lf_fit_options.mpi_comm does
                             (the same bits on every rank; between numbers
                             of ranks within float rounding).  A rank
                             that fails alone (out of memory) makes every
                             rank return its status and message.  A build
                             without MPI returns LF_ERR_ARG. */
    const float *features; /* NULL (default): knora-e, knora-u, ola and lca
                              search the space of the models' outputs; else
                              N x n_features finite values, row-major, one
                              row per sample (the rows of p): they search
                              these features instead, standardised by the
                              fitting rows' mean and std (stored).  Other
                              methods refuse them; compare and auto give
                              them to those four only. */
    size_t n_features;    /* values per row of features (1..65536) */
    int auto_single;      /* auto: 1 = fit the single candidate it chooses;
                             0 (default): an ensemble of its best candidates
                             instead unless that scores worse by a standard
                             error (see lf_fusion_auto_table) */
    const volatile int *cancel; /* NULL (default), or a flag that another
                             thread or a signal handler may set to nonzero
                             (a volatile sig_atomic_t is an int on Linux;
                             from a thread, a relaxed atomic store,
                             __atomic_store_n(&flag, 1, __ATOMIC_RELAXED),
                             is free of data races: the library reads it
                             so) to stop lf_fusion_fit, lf_fusion_compare
                             or lf_fusion_report early.  Read when the call
                             starts (after the argument checks), before
                             each unit of the cross-validation (a
                             candidate on a fold) and of auto's ensemble
                             step, before each neighbour search of a
                             dynamic-selection fold (one per model left
                             out), between the fits of the ensemble's
                             members, before each training step (batch) of
                             the learned methods and each selection step
                             of ges, ges-log and auto's ensemble, per
                             block of the importance measure, and between
                             the report's parts.  Once set, the call returns
                             LF_ERR_CANCELLED with the message "cancelled"
                             (lf_fusion_error); a fit leaves f unfitted
                             (an earlier fit dropped too), compare makes
                             no table, report writes no page (its
                             temporary file removed): nothing partial is
                             kept.  Work under way when the flag is set
                             is finished first: a training step, a
                             selection step, a fixed or counting method's
                             fold (milliseconds), a neighbour search over
                             a fold's rows (about 0.15 s for 20000 rows
                             among 80000).  With mpi_comm each rank
                             reads its own flag where the ranks agree on
                             it: a rank that sees it set fails its unit
                             as a failing unit does, and the ranks agree
                             on the first failure once each has run its
                             share of the units (so set it on every rank
                             to stop them all promptly); a data-parallel
                             training step carries every rank's flag in
                             its sums, so all stop after the same step.
                             Not at the start, nor in the report's own
                             parts; in the work every rank then repeats
                             alone (auto's final fit, the importance) a
                             rank stops on its own flag, so the ranks'
                             statuses agree when their flags do. */
    size_t threads;       /* 0 (default): OpenMP's thread count
                             (OMP_NUM_THREADS, else one per core); else at
                             most this many threads (1..1024) for
                             lf_fusion_fit, lf_fusion_compare and
                             lf_fusion_report (opt.fusion): their
                             cross-validation units, auto's ensemble step,
                             an ensemble's members and every parallel loop
                             inside; with mpi_comm, per rank.  The calling
                             thread's own OpenMP setting is as it was
                             after the call, and the results' bits do not
                             depend on the count. */
} lf_fusion_options;

lf_fusion_options lf_fusion_defaults(void);

typedef struct lf_fusion lf_fusion;

/* An empty fusion model (also the context that carries error messages). */
lf_status lf_fusion_create(lf_fusion **out);
void lf_fusion_free(lf_fusion *f);
/* Message of the last failed call on f ("" if none); never NULL. */
const char *lf_fusion_error(const lf_fusion *f);

/* Fits the method of `opt` on N labelled samples.  names: M model names
 * (1..63 characters of A-Z a-z 0-9 _ . -, distinct), stored with the model: predict matches
 * inputs by position, the CLI by these names.  Replaces any earlier fit.
 * opt->cancel stops it early (LF_ERR_CANCELLED, f left unfitted). */
lf_status lf_fusion_fit(lf_fusion *f, const float *const *p, const char *const *names, size_t M,
                        size_t N, size_t C, const int *y, const lf_fusion_options *opt);

/* Fused probabilities (N x C) for M arrays in the fitted order (NULL for a
 * model absent from every row, NaN rows for single missing outputs).  The
 * inputs are validated as for fit.  Rows where no model is present get the
 * uniform distribution.  Thread-safe on one fitted model; on failure
 * lf_status_string describes the status. */
lf_status lf_fusion_predict(const lf_fusion *f, const float *const *p, size_t N, float *out);

/* lf_fusion_predict for a fusion fitted with features (lf_fusion_options):
 * features holds N x n_features finite values, the rows of p in the same
 * order; n_features must be the fitted width.  Features given to a
 * dynamic-selection fusion fitted without them (or none to one fitted with
 * them) are refused with LF_ERR_ARG; a fusion whose method does not
 * search features (what auto may choose when given them) checks that they
 * are finite and leaves them (lf_fusion_n_features: 0).
 * lf_fusion_predict is this call with NULL, 0.  On failure the message is
 * in *err when err is not NULL (errlen bytes). */
lf_status lf_fusion_predict_features(const lf_fusion *f, const float *const *p, size_t N, const float *features,
                                     size_t n_features, float *out, char *err, size_t errlen);

/* The rows lf_fusion_predict_with fuses between two looks at its cancel
 * flag. */
#define LF_FUSION_PREDICT_BLOCK 65536

/* Options of lf_fusion_predict_with; lf_fusion_predict_defaults() sets
 * every field to its default (all zero). */
typedef struct lf_fusion_predict_options {
    const float *features;      /* NULL, or N x n_features values, as
                                   lf_fusion_predict_features' */
    size_t n_features;
    size_t threads;             /* 0 (default): OpenMP's thread count of
                                   the calling thread; else at most this
                                   many (1..1024) for the call, the
                                   caller's count given back after (as
                                   lf_fusion_options.threads).  The same
                                   bits for any count. */
    const volatile int *cancel; /* NULL, or a flag that another thread or a
                                   signal handler may set to nonzero: the
                                   rows are then fused in blocks of
                                   LF_FUSION_PREDICT_BLOCK (the same
                                   bits), the flag read before
                                   each; once set, the call returns
                                   LF_ERR_CANCELLED with the message
                                   "cancelled", out holding the blocks
                                   done (the rest unspecified) */
} lf_fusion_predict_options;

lf_fusion_predict_options lf_fusion_predict_defaults(void);

/* lf_fusion_predict_features with options (opt NULL: the defaults): a
 * thread count for the call and a cancel flag.  Thread-safe on one fitted
 * model, as lf_fusion_predict; a thread count out of range is LF_ERR_ARG
 * ("predict: threads must be 0 (OpenMP's count) or 1..1024, got N").
 * Messages name the rows as counted from the first of all N, blocks or
 * not. */
lf_status lf_fusion_predict_with(const lf_fusion *f, const float *const *p, size_t N,
                                 const lf_fusion_predict_options *opt, float *out, char *err, size_t errlen);
/* The feature width a fusion was fitted with (0: none, the outputs' space). */
size_t lf_fusion_n_features(const lf_fusion *f);

/* The neighbours a dynamic-selection fusion (knora-e, knora-u, ola, lca)
 * takes per row, k (at most its fitting rows), or those of an ensemble's
 * dynamic-selection members (auto fits them all with one k); 0 for any
 * other fusion, or one not fitted. */
size_t lf_fusion_neighbors(const lf_fusion *f);
/* The L2 penalty a learned method chose at fit (stack-lr: on its linear
 * correction of the product rule; wavg, wavg-class: on the pool's weight
 * logits; gate: on the gate's output kernel — each pulls the method
 * towards its fixed rule), stored in its file: writes it to *l2 (when not
 * NULL) and returns one sentence saying how it was chosen; NULL for a
 * method without one and for a file written before it was stored. */
const char *lf_fusion_penalty(const lf_fusion *f, float *l2);

/* ------------------------------------------------------- input checks
 *
 * One check of model outputs and labels that the library's own fit,
 * compare and predict use, and that a caller uses to word its errors: the
 * first problem is returned as data (which model, row, column, what, the
 * value), not as text, so that the CLI can name a file and count rows from
 * 1, Python from 0, and the library names the model. */
typedef enum lf_input_problem {
    LF_INPUT_OK = 0,
    LF_INPUT_PARTIAL_NAN,      /* NaN in some columns of a row, not all (a
                                  missing output is NaN in every column);
                                  column: the first NaN */
    LF_INPUT_INF,              /* value +-Inf at (row, column) */
    LF_INPUT_NEGATIVE,         /* a negative probability (without logits) */
    LF_INPUT_SUM,              /* a row of probabilities sums to `sum`
                                  (in double), not 1 within 1e-3 */
    LF_INPUT_LABEL_RANGE,      /* label `value` is not a class in 0..C-1 */
    LF_INPUT_LABEL_NOT_INTEGER,/* label `value` is not a whole number */
    LF_INPUT_LABEL_NOT_ONE_HOT,/* a one-hot row is not exactly one 1 and
                                  the rest 0 */
    LF_INPUT_NOT_PROBABILITY,  /* a one-column (binary) probability `value`
                                  outside 0..1 (lf_outputs_prepare) */
    LF_INPUT_LABEL_NAME        /* a label given by name is not a class name
                                  (lf_labels_from_names) */
} lf_input_problem;

typedef struct lf_input_issue {
    lf_input_problem kind;
    size_t model;         /* index of the array among those checked */
    const char *name;     /* names[model], or NULL without names */
    size_t row, column;   /* 0-based; rows counted from row0 */
    double value;         /* the value at fault */
    double sum;           /* LF_INPUT_SUM: the row's sum */
} lf_input_issue;

/* Checks M model outputs of N rows x C columns (p[k] NULL: model k absent):
 * a row is either NaN in every column (a missing output) or finite, and
 * unless `logits` its values are >= 0 and sum to 1 within 1e-3.  Models in
 * order, rows in order, a row's partial NaN before its columns.  Rows are
 * numbered from row0 (the first row of a block of a larger input).
 * Returns LF_OK with issue->kind LF_INPUT_OK, or LF_ERR_FORMAT with the
 * first problem in *issue (issue may be NULL); LF_ERR_ARG for p NULL. */
lf_status lf_check_outputs(const float *const *p, const char *const *names, size_t M, size_t N,
                           size_t C, int logits, size_t row0, lf_input_issue *issue);

/* Checks N class labels against C classes: LF_OK, or LF_ERR_FORMAT with
 * the first label outside 0..C-1 (LF_INPUT_LABEL_RANGE). */
lf_status lf_check_labels(const int *y, size_t N, size_t C, lf_input_issue *issue);

/* Labels from a numeric matrix of N rows: one column of class indices
 * (whole numbers in 0..C-1) or C one-hot columns (with C > 1).  Writes N
 * labels to y; LF_ERR_FORMAT with the first bad row in *issue
 * (LABEL_NOT_INTEGER, LABEL_RANGE, LABEL_NOT_ONE_HOT); LF_ERR_SHAPE (issue
 * kind OK) when cols is neither 1 nor C. */
lf_status lf_labels_from_matrix(const float *v, size_t N, size_t cols, size_t C, int *y,
                                lf_input_issue *issue);

/* Save (atomic, safetensors layout, schema in README.md; flags 0 or
 * LF_WRITE_NO_FSYNC, see lf_model_save) and load (a load that fails leaves
 * f as it was, with the error). */
lf_status lf_fusion_save(lf_fusion *f, const char *path, unsigned flags);
lf_status lf_fusion_load(lf_fusion *f, const char *path);

/* ------------------------------------------------------- files and folds
 *
 * What a deployer needs around the fusion calls: reading model outputs or
 * labels from files, writing a matrix, and the folds compare uses. */

/* A dense row-major float32 matrix owned by the caller (lf_matrix_free). */
typedef struct lf_matrix {
    float *data;      /* rows * cols values (never NULL after a read) */
    size_t rows, cols;/* a 1-D source gives rows = n, cols = 1 */
    int is_integer;   /* the source held integers (an integer .npy dtype,
                         or CSV whose every value is an integer literal) */
} lf_matrix;

/* Reads a matrix into *out as float32: a .npy (any numeric dtype, C or
 * Fortran order, 1-D or 2-D), one array of a .npz archive ("file.npz" with
 * a single array, or "file.npz:KEY"; deflated ones when built with zlib),
 * or a text table (CSV, or columns separated by spaces or tabs).  The
 * format is told by the content (the .npy and ZIP magic bytes), the
 * extension being the hint for a file that has neither; path "-" reads
 * standard input (any of these forms).  The formats' rules are in
 * README.md.  On failure *out is zeroed and one
 * sentence naming the file goes to err (errlen bytes; err may be NULL). */
lf_status lf_matrix_read(const char *path, lf_matrix *out, char *err, size_t errlen);
void lf_matrix_free(lf_matrix *m); /* NULL and a zeroed matrix are allowed */

/* An N-dimensional array of a .npy file, with its shape, in an element
 * type that the lf_model_*_arrays calls take as it is: images
 * (N, H, W, C) uint8, token ids (N, T) int32, features (N, D) float32.
 * For model input k, x[k] = (lf_typed_array){a.dtype, a.data} holds
 * n = a.shape[0] rows of a.count / n values (a.row_size). */
#define LF_NDARRAY_MAX_RANK 4

typedef struct lf_ndarray {
    lf_dtype dtype;    /* the type of data: FLOAT32, INT32 or UINT8 */
    void *data;        /* count elements, C order; owned (lf_ndarray_free);
                          never NULL after a read, even when count is 0 */
    size_t rank;       /* 1 .. LF_NDARRAY_MAX_RANK */
    size_t shape[LF_NDARRAY_MAX_RANK]; /* shape[k] for k < rank; 1 beyond */
    size_t count;      /* elements: the product of the shape */
    size_t row_size;   /* elements per index of the first dimension */
    char source_dtype[8]; /* the file's dtype, e.g. "<f8" */
} lf_ndarray;

/* Reads a .npy file of rank 1..LF_NDARRAY_MAX_RANK, little-endian, C
 * order, of dtype float32 or float64 (read as FLOAT32; float64 rounded, a
 * finite value beyond the float32 range refused), int32 or int64 (read as
 * INT32; an int64 beyond the int32 range refused) or uint8 (UINT8).
 * The file is read whole into memory, then everything
 * is checked before the array is allocated: the header, the dtype, the
 * shape (the element count and bytes must not overflow), and that the
 * data fill the rest of the file exactly; Fortran order (rank 2
 * and more) and big-endian data are refused with a message saying how to
 * convert them.  On failure *out is zeroed and one sentence naming the
 * file goes to err (errlen bytes; err may be NULL): LF_ERR_FORMAT for the
 * content, LF_ERR_IO when the file cannot be read, LF_ERR_NOMEM. */
lf_status lf_ndarray_read(const char *path, lf_ndarray *out, char *err, size_t errlen);
void lf_ndarray_free(lf_ndarray *a); /* NULL and a zeroed array are allowed */

/* Model outputs as users save them, brought to N x C probabilities before
 * lf_check_outputs (src/fusion/outputs.c has the rules):
 *   - a one-column matrix (a binary model's positive class) becomes two
 *     columns: (1 - p, p), or for logits softmax((0, z));
 *   - LF_OUTPUTS_LOGITS: raw scores, each row through the softmax;
 *   - LF_OUTPUTS_RAW: raw scores kept raw, for a fusion fitted with
 *     `logits` (which applies the softmax itself): only the expansion;
 *   - LF_OUTPUTS_RENORMALIZE: probability rows whose sum is off 1 by more
 *     than 1e-3 are divided by their sum (other rows keep their bits).
 * LOGITS, RAW and RENORMALIZE exclude each other.  Missing rows (NaN)
 * stay missing.  Changes *m in place (cols may become 2); LF_ERR_FORMAT
 * with the row in *issue (issue may be NULL) for a one-column value that
 * cannot be read (inf; a probability outside 0..1), LF_ERR_ARG for bad
 * flags, LF_ERR_NOMEM. */
#define LF_OUTPUTS_LOGITS 1u
#define LF_OUTPUTS_RAW 2u
#define LF_OUTPUTS_RENORMALIZE 4u
lf_status lf_outputs_prepare(lf_matrix *m, unsigned flags, lf_input_issue *issue);

/* 1 when every present row of the N x C outputs p is in 0..1 and sums to 1
 * within 1e-3 (and at least one row is present): rows a user called logits
 * that are probabilities already (softmax would flatten them). */
int lf_outputs_look_like_probabilities(const float *p, size_t N, size_t C);

/* Writes rows x cols float32 as a .npy (version 1.0, '<f4', C order),
 * through a temporary file renamed into place as every save (LF_WRITE_*
 * flags below); "-" is standard output. */
lf_status lf_npy_save(const char *path, const float *data, size_t rows, size_t cols, unsigned flags,
                      char *err, size_t errlen);

/* Whether writing a file at `out` would replace the file an input reads,
 * or the file another output writes: 1 if so, else 0.  `input` is named as
 * lf_matrix_read takes it ("FILE.npz:KEY" reads FILE.npz); `out` and `b`
 * are outputs, named as lf_npy_save takes them.  Each is taken where the
 * write lands: through its symbolic links (a dangling link: the file it
 * would create), the same file by device and inode when it exists, else
 * the same name in the same folder (so "o.npy", "./o.npy" and
 * "d/../o.npy" are one).  An output "-" is standard output, where it
 * leads (a file opened with the shell's >>, say); an input "-", standard
 * input, and NULL are no file: 0.  A program that writes outputs asks before it reads or writes
 * anything, and stops when the answer is 1 (the latefuse tool and
 * lf_predict_files do). */
int lf_output_is_input(const char *out, const char *input);
int lf_outputs_same(const char *out, const char *b);

/* The stratified K-fold split of compare: fold[i] in 0..K-1 for each of N
 * labels in 0..C-1, the same for the same labels, K and seed (the rule is
 * written down in src/fusion/cv.h); fold sizes, and the per-class counts of
 * any two folds, differ by at most one.  LF_ERR_ARG (with err) for K < 2,
 * K > N, C == 0 or a label outside 0..C-1. */
lf_status lf_folds_stratified(const int *y, size_t N, size_t C, size_t K, uint64_t seed, size_t *fold,
                              char *err, size_t errlen);

/* --------------------------------------------- predicting from files
 *
 * lf_fusion_predict_files fuses model outputs stored in files (any form
 * lf_matrix_read reads) into a float32 .npy of N x C probabilities at out_path and, when
 * classes_path is given, an int64 .npy of the N predicted classes.
 *
 * Contract:
 *   - Each input file is opened once.  A C-order .npy is read in chunks of
 *     rows (16384, fewer for rows of more than 16 classes: about 1 MiB of
 *     floats a file) with pread() into per-thread buffers (memory-mapped
 *     instead, when its dtype is native float32, with LF_READ_MMAP), so
 *     memory grows neither with the number of rows nor with the classes
 *     (a few MiB a thread); any other input (text, .npz, standard input, a
 *     Fortran-order .npy, a file with LF_OUTPUTS_* flags or one column) is
 *     read whole.
 *   - names[k] says which of the fusion model's models paths[k] holds; a
 *     stored model given no file is absent (NaN rows, as lf_fusion_predict).
 *     Checked before anything is written: the first file's columns against
 *     the fusion model's classes (and at least 2), every file's rows and
 *     columns against the first's, every name against the stored names.
 *     Every chunk is checked with lf_check_outputs; the first bad row (in
 *     file order) fails the call, reported in res->issue.
 *   - The chunks are shared out to up to 8 threads (OpenMP's count); the
 *     output's bytes do not depend on the thread count, and are those of
 *     lf_fusion_predict on the whole arrays.
 *   - An output that is an input (the same device and inode: hard and
 *     symbolic links too), or out_path and classes_path naming one file
 *     (or both "-"), fails with LF_ERR_ARG before anything is opened.
 *   - Outputs go to temporary files renamed into place (as every save,
 *     above, LF_WRITE_NO_FSYNC honoured), both complete before either is
 *     renamed: a failure leaves neither, nor any temporary file.  "-" is
 *     standard output; "-", an existing FIFO or device is written through
 *     (in order, after everything is fused in memory, so a bad input writes
 *     nothing there); the outputs replaced through a temporary file are
 *     opened first.  Between creating and renaming, a temporary file exists
 *     under a name the caller cannot guess: the library installs no signal
 *     handler, so a caller that wants to remove them when a signal stops the
 *     process passes `temp` (below) and keeps the names it is given.
 *   - An input truncated by another process while it is read fails the
 *     call ("it became shorter while being read").  With LF_READ_MMAP a
 *     mapped input truncated between the size check made before every
 *     chunk and the reads raises SIGBUS instead: a caller that passes it
 *     handles SIGBUS.  read() is the default because it is also the faster
 *     on the machines measured (bench/README.md, B4): a mapping's page
 *     faults and the TLB flushes of releasing used pages cost more than
 *     the copy they save.
 *   - opt->cancel (below) stops the call early: a caller that runs it on a
 *     worker thread sets the flag from the thread that takes Ctrl-C (as
 *     Python's Fusion.predict_files does), or from a signal handler, and
 *     the call returns within a chunk's time, having written nothing.
 * Returns LF_OK with res->rows and res->cols set, or the failure's status
 * with one sentence in res->message; res->input is 1 when an input (a file
 * read, its shape, a name, a value) was at fault, 0 when writing failed
 * or the call was cancelled. */

/* What the call tells `temp` about its temporary files, in this order:
 *   CREATING  a temporary output is about to be created (a signal handler
 *             should be held off from now, e.g. with sigprocmask)
 *   CREATED   it exists: path is its name (NULL when creating failed); the
 *             handler may run again
 *   RENAMING  both outputs are complete and about to be renamed (hold)
 *   RENAMED   ok = 1: both are in place; ok = 0: the rename failed and the
 *             temporary files are gone; forget every name (release)
 *   DISCARDED the call failed before renaming; the temporary files are
 *             gone: forget every name
 * Called on the calling thread only. */
typedef enum lf_temp_event {
    LF_TEMP_CREATING = 0,
    LF_TEMP_CREATED,
    LF_TEMP_RENAMING,
    LF_TEMP_RENAMED,
    LF_TEMP_DISCARDED
} lf_temp_event;

typedef void (*lf_temp_fn)(void *ctx, lf_temp_event ev, const char *path, int ok);

/* One file of lf_npy_save_all: rows x cols float32 at path. */
typedef struct lf_npy_file {
    const char *path;
    const float *data;
    size_t rows, cols;
} lf_npy_file;

/* Writes n .npy files as lf_npy_save does, all or nothing: every one is
 * written whole to its temporary file (and fsynced, unless
 * LF_WRITE_NO_FSYNC) before any is renamed into place, so that a failure
 * on the way (a full disk, a target that is a folder, out of memory) leaves
 * every target as it was and no temporary file.  Only a failed rename
 * itself, after the renames before it succeeded (rare: a folder is refused
 * before anything is written), leaves those files new; the message then
 * names them.  A target that is a device, FIFO or socket is written
 * through (as every save), after the temporary files are complete.  "-"
 * (standard output, which cannot be taken back) and two paths that land on
 * one file (lf_outputs_same) are LF_ERR_ARG, before anything is written.
 * temp (NULL: none) is told about the temporary files as
 * lf_fusion_predict_files tells it: CREATING / CREATED around each one's
 * creation, RENAMING / RENAMED around the renames, DISCARDED when the call
 * fails before them. */
lf_status lf_npy_save_all(const lf_npy_file *files, size_t n, unsigned flags, lf_temp_fn temp, void *temp_ctx,
                          char *err, size_t errlen);

#define LF_READ_NO_MMAP 2u /* lf_predict_files_options.flags: read() every input (the default;
                              wins over LF_READ_MMAP) */
#define LF_READ_MMAP 4u    /* lf_predict_files_options.flags: memory-map native float32 .npy inputs */

typedef struct lf_predict_files_options {
    const char *classes_path; /* NULL, or the class ids' .npy */
    unsigned flags;           /* LF_WRITE_NO_FSYNC | LF_READ_MMAP (| LF_READ_NO_MMAP) */
    lf_temp_fn temp;          /* NULL, or told about the temporary files */
    void *temp_ctx;
    const unsigned *file_flags; /* NULL, or per path: LF_OUTPUTS_* of
                                   lf_outputs_prepare (LOGITS, RENORMALIZE;
                                   for a fusion fitted on logits every file
                                   is RAW); such files, and one-column ones,
                                   are read whole */
    const void *mpi_comm;     /* NULL: one process; else a pointer to an
                                 MPI_Comm (the library built with MPI=1),
                                 a collective call: each rank fuses its
                                 own range of rows (reading only those of
                                 a streamed .npy) and writes them at their
                                 place in rank 0's temporary file, which
                                 rank 0 renames once every rank succeeded;
                                 any rank's failure (the first failing
                                 rows' message, on every rank) removes it.
                                 The same bytes as one process.  Outputs
                                 must be files (not "-" or a FIFO); temp
                                 is told on rank 0 only.  A build without
                                 MPI returns LF_ERR_ARG. */
    const float *features;    /* NULL; or, for a fusion fitted with features
                                 (lf_fusion_predict_features), feature_rows
                                 x n_features values held in memory, the
                                 files' rows in order (feature_rows must be
                                 their row count) */
    size_t n_features, feature_rows;
    const volatile int *cancel; /* NULL, or a flag that another thread or
                                 a signal handler may set to nonzero (a
                                 volatile sig_atomic_t is an int on Linux);
                                 read before each chunk of rows, after the
                                 inputs are opened and before the renames:
                                 once set, the call stops, removes its
                                 temporary files and returns
                                 LF_ERR_CANCELLED with the message
                                 "cancelled" (res->input 0), the existing
                                 outputs untouched.  A chunk already being
                                 fused is finished first (a few ms).  With
                                 mpi_comm each rank reads its own flag: a
                                 rank that sees it set stops taking chunks
                                 and fails there as at a bad row; the ranks
                                 agree on the first failure in row order
                                 once each has stopped or finished its own
                                 rows (so set it on every rank to stop
                                 them all promptly), and rank 0 removes
                                 the temporary files */
    size_t threads;           /* 0 (default): OpenMP's thread count; else
                                 at most this many (1..1024) for the call,
                                 as lf_fusion_options.threads */
} lf_predict_files_options;

typedef struct lf_predict_files_result {
    size_t rows, cols;        /* what was written */
    int input;                /* on failure: 1 an input was at fault */
    size_t file;              /* on failure with an input: its index in paths */
    lf_input_issue issue;     /* a bad value: issue.model is the file's
                                 index in paths; rows 0-based from the
                                 file's start (kind LF_INPUT_OK otherwise) */
    char message[512];        /* on failure: one sentence */
} lf_predict_files_result;

lf_status lf_fusion_predict_files(const lf_fusion *f, const char *const *names, const char *const *paths,
                                  size_t n, const char *out_path, const lf_predict_files_options *opt,
                                  lf_predict_files_result *res);

/* What was fitted; lf_fusion_method is (lf_method)-1 for NULL or an
 * unfitted model. */
lf_method lf_fusion_method(const lf_fusion *f);
int lf_fusion_calibrated(const lf_fusion *f);
int lf_fusion_logits(const lf_fusion *f);
size_t lf_fusion_num_models(const lf_fusion *f);
size_t lf_fusion_num_classes(const lf_fusion *f);
const char *lf_fusion_model_name(const lf_fusion *f, size_t i);
/* Temperature of model i (1 when not calibrated). */
float lf_fusion_temperature(const lf_fusion *f, size_t i);
/* The learned weights over models, as the seed shows them (softmax(W)):
 * M values for acc-weighted, wavg and loglinear, M x C (model-major) for
 * wavg-class; for knora-e, knora-u, ola and lca, M values: each model's
 * mean share of the fused output on the fitting rows (each left out of its
 * own neighbours); rows*cols values are written when cap allows.  Returns
 * the number of values (0 for methods without such weights). */
size_t lf_fusion_weights(const lf_fusion *f, float *out, size_t cap, size_t *rows, size_t *cols);

/* What each model is worth, measured at fit time on the fitting rows (so
 * in-sample for a method that learns; compare's acc_without is the
 * cross-validated counterpart; knora-e, knora-u, ola and lca predict each
 * fitting row left out of its own neighbours): the fused output's log-loss
 * and accuracy with every model (log_loss[0], accuracy[0]) and with model
 * i missing in every row (log_loss[i + 1], accuracy[i + 1]).  Writes M + 1 values to
 * each non-NULL array when cap >= M + 1 and returns M + 1; 0 for a model
 * not fitted.  Stored in the fusion file. */
size_t lf_fusion_importance(const lf_fusion *f, double *log_loss, double *accuracy, size_t cap);
/* (0 also when the fit was told not to measure it: options.importance 0) */

/* ------------------------------------------------------------- compare */

/* What a row of the compare table scores. */
typedef enum lf_row_kind {
    LF_ROW_METHOD = 0,       /* a fusion method */
    LF_ROW_MODEL = 1,        /* one of the input models alone */
    LF_ROW_ORACLE = 2        /* right where any model is right (accuracy only) */
} lf_row_kind;

typedef struct lf_score_row {
    char name[80];           /* method name, or "model:<name>", or "oracle" */
    lf_row_kind kind;
    lf_method method;        /* for LF_ROW_METHOD */
    int calibrated;
    double mean[LF_NUM_METRICS];
    double std[LF_NUM_METRICS];
    double *acc_without;     /* M values: accuracy with model i absent
                                (methods only; NULL otherwise) */
    double ensemble_weight;  /* auto's table: the candidate's share of the
                                ensemble auto kept (0: not in it, or no
                                ensemble kept) */
} lf_score_row;

typedef struct lf_compare_table {
    size_t n_rows;
    lf_score_row *rows;      /* sorted by mean log-loss, best first; the
                                oracle (accuracy only) last */
    size_t n_models;
} lf_compare_table;

/* Stratified K-fold cross-validation (opt->folds, opt->seed) of `methods`
 * (n_methods of them; NULL = every method of lf_method_list), each trained
 * on K-1 folds and scored on the held-out fold, with calibration as
 * opt->calibrate; plus every single model and the oracle.  On success
 * *table is a new table that the caller releases with
 * lf_compare_table_free; f only carries the error message (its fitted
 * model, if any, is left as it was).  opt->cancel stops it early
 * (LF_ERR_CANCELLED, no table). */
lf_status lf_fusion_compare(lf_fusion *f, const float *const *p, const char *const *names,
                            size_t M, size_t N, size_t C, const int *y, const lf_method *methods,
                            size_t n_methods, const lf_fusion_options *opt,
                            lf_compare_table **table);
/* Releases a table made by lf_fusion_compare (NULL is allowed). */
void lf_compare_table_free(lf_compare_table *t);

/* After lf_fusion_fit with method LF_FUSE_AUTO: every candidate auto
 * scored (each method without and with calibration; acc_without NULL),
 * best first by opt->metric, and one sentence saying what it chose and
 * why.  auto takes the best mean cross-validated score, corrected for the
 * number of candidates by the one-standard-error rule: the candidate with
 * the fewest fitted numbers among those within one standard error of the
 * best; on tiny data (fewer than 20 rows per class) it chooses among the
 * methods with at most one fitted number per model.  Then (not on tiny
 * data, nor with opt->auto_single) it scores an ensemble of its 12 best
 * candidates, greedy ensemble selection over their out-of-fold outputs, by
 * a nested split: the row "ensemble" (method LF_FUSE_ENSEMBLE), and it
 * fits that ensemble instead unless its score is worse than the best
 * single candidate's by one standard error of that score or more (the
 * members' rows then carry their ensemble_weight).  NULL for a model
 * fitted otherwise or loaded from a file; owned by f, valid until its next
 * fit, load or free. */
const lf_compare_table *lf_fusion_auto_table(const lf_fusion *f);
const char *lf_fusion_auto_note(const lf_fusion *f);

/* A fusion of method LF_FUSE_ENSEMBLE (auto's ensemble of its best
 * candidates, kept unless its nested cross-validated score is worse than
 * the best single candidate's by a standard error): returns its number of members (0 for any other
 * fusion) and, for i below it, writes member i's method, calibration and
 * weight (its share of the selections; the weights sum to 1) to the
 * non-NULL pointers; *log_linear gets 1 when the members' outputs are
 * pooled log-linearly (weighted geometric mean), 0 for the linear pool. */
size_t lf_fusion_ensemble_member(const lf_fusion *f, size_t i, lf_method *method, int *calibrated, double *weight,
                                 int *log_linear);

/* Member i's temperature for model k in such an ensemble (1 when the
 * member is not calibrated; NaN for a bad i or k or another fusion). */
float lf_fusion_ensemble_member_temperature(const lf_fusion *f, size_t i, size_t k);

/* Metrics of fused probabilities against labels (accuracy, macro-F1,
 * log-loss, Brier score, 15-bin expected calibration error). */
lf_status lf_fusion_metrics(const float *prob, const int *y, size_t N, size_t C,
                            double metrics[LF_NUM_METRICS]);

/* ----------------------------------------- per class, calibration, history
 *
 * What the report draws, as numbers: the confusion matrix and per-class
 * scores of fused (or single-model) probabilities, the reliability bins
 * behind the ECE of lf_fusion_metrics, class names, and the training
 * history of a learned method.  A prediction is the argmax (ties: the
 * lowest index), as for the metrics. */

/* counts: C x C (row: true class, column: predicted), overwritten.
 * LF_ERR_ARG for NULL arrays, N or C zero, a label outside 0..C-1;
 * LF_ERR_NUMERIC for a non-finite probability. */
lf_status lf_fusion_confusion(const float *prob, const int *y, size_t N, size_t C, size_t *counts);

typedef struct lf_class_score {
    double precision;   /* TP / predicted, 0 when never predicted */
    double recall;      /* TP / support, 0 when the class has no row */
    double f1;          /* 2TP / (2TP + FP + FN), 0 when that is 0/0 */
    size_t support;     /* rows of the class */
    size_t predicted;   /* rows predicted as the class */
} lf_class_score;

/* C scores into out (errors as lf_fusion_confusion). */
lf_status lf_fusion_per_class(const float *prob, const int *y, size_t N, size_t C, lf_class_score *out);

/* The 15 equal-width bins of confidence (the largest probability) behind
 * lf_fusion_metrics' ECE: bin i holds (i/15, (i+1)/15], confidence 0 is in
 * bin 0; per bin the rows, their mean confidence and accuracy (NaN for an
 * empty bin); ece = sum over bins of count/N |accuracy - confidence|. */
#define LF_RELIABILITY_BINS 15
typedef struct lf_reliability {
    size_t count[LF_RELIABILITY_BINS];
    double confidence[LF_RELIABILITY_BINS];
    double accuracy[LF_RELIABILITY_BINS];
    double ece;
    size_t rows;
} lf_reliability;

lf_status lf_fusion_reliability(const float *prob, const int *y, size_t N, size_t C, lf_reliability *out);

/* Class names, shown by inspect, eval, the report and Python, and stored in
 * the fusion file: n == the fitted model's classes, each name 1..255 bytes
 * of UTF-8 (no NUL; control characters are allowed, and escaped wherever a
 * name is shown).  names NULL (n 0) removes them; a fit removes them too.
 * LF_ERR_STATE for a model not fitted, LF_ERR_ARG (message in f) else. */
lf_status lf_fusion_set_class_names(lf_fusion *f, const char *const *names, size_t n);
/* Class c's name; NULL when the model has none or c is out of range. */
const char *lf_fusion_class_name(const lf_fusion *f, size_t c);
/* 0 when `name` (len bytes) is a valid class name, else one sentence in
 * err about class `index` (0-based, counted from 1 in the message). */
int lf_class_name_check(const char *name, size_t len, size_t index, char *err, size_t errlen);

/* A list of names read from a file, owned by the caller (lf_names_free). */
typedef struct lf_names {
    char **names;
    size_t n;
} lf_names;

/* One class name per line (LF, CRLF or a lone CR; the last newline
 * optional; a UTF-8 byte order mark skipped; spaces and tabs around a
 * name and blank lines at the end left out), each checked with
 * lf_class_name_check. */
lf_status lf_names_read(const char *path, lf_names *out, char *err, size_t errlen);
/* Labels given by name, one per line, read as lf_names_read reads class
 * names but with repeats allowed (each class is named many times): the
 * lines in order, each checked as a class name; LF_ERR_FORMAT names the
 * line of a bad label, or says the file holds none.  lf_labels_from_names
 * (after lf_names_unique when the classes are not known) makes them
 * indices. */
lf_status lf_label_names_read(const char *path, lf_names *out, char *err, size_t errlen);
/* The header row of a CSV file (the first non-blank line when it holds
 * text and no number, as lf_matrix_read skips it): its fields, trimmed, in
 * order; out->n = 0 when the file has no header, is not a text table (a
 * .npy or .npz by its magic bytes), is standard input ("-") or a pipe (read
 * once, by lf_matrix_read), or cannot be read (lf_matrix_read says why). */
lf_status lf_csv_header_read(const char *path, lf_names *out, char *err, size_t errlen);
void lf_names_free(lf_names *n);  /* NULL and a zeroed list are allowed */

/* Labels given as names (a text column of "car", "dog", ...): y[i] is the
 * index of labels[i] among the C class names (exact bytes).  LF_ERR_FORMAT
 * with the first label that is no class name in *issue (kind
 * LF_INPUT_LABEL_NAME, its row; issue may be NULL), LF_ERR_ARG for NULL
 * arguments. */
lf_status lf_labels_from_names(const char *const *labels, size_t N, const char *const *classes, size_t C,
                               int *y, lf_input_issue *issue);
/* The distinct labels of N, sorted bytewise (strcmp), into out (the class
 * names of labels given by name when no names are given): LF_ERR_NOMEM,
 * LF_ERR_ARG for NULL arguments. */
lf_status lf_names_unique(const char *const *labels, size_t N, lf_names *out);

/* The history of a learned method's fit (the engine's, lf_model_history),
 * kept in the fusion file; NULL for another method, a file written
 * without it, or NULL f. */
const lf_history *lf_fusion_history(const lf_fusion *f);

/* Writes a history as CSV ("epoch,loss,val_loss,accuracy,val_accuracy",
 * epochs from 1, each value the shortest decimal that reads back as the
 * same double, "nan" where not measured) or, when the
 * path ends in .json (any case), as one JSON object of arrays (null where
 * not measured) plus best_epoch (1-based) and stopped_early; atomic, flags
 * as every save.  LF_ERR_ARG for no history or path. */
lf_status lf_history_save(const lf_history *h, const char *path, unsigned flags, char *err, size_t errlen);

/* ------------------------------------------------------------- report
 *
 * lf_fusion_report writes one self-contained HTML page (inline SVG and CSS,
 * no script, nothing fetched) that shows what fusion does on labelled
 * model outputs: the compare table (lf_fusion_compare, best first), the
 * reliability diagram and confidence histogram of every model and of the
 * fused output before and after calibration, the confusion matrices and a
 * per-class table, the learned weights, the training curves of a learned
 * method, the accuracy without each model, the data and the command.
 *
 * The fused output: with opt->fitted, that fitted model's output on these
 * rows (its inputs in the order of its models, raw scores when it was
 * fitted on them, whatever opt->fusion.logits says); without, the compare
 * table's best method, its out-of-fold output (the same folds), without
 * and with calibration, and the method fitted on every row for its weights
 * and training curves.  A model's diagrams and matrix cover the rows where
 * it is present.  With more than 30 classes the matrices are summarised
 * (the most frequent confusions) and with more than 60 the per-class table
 * shows the 60 worst classes by F1.  With opt->fusion.logits the outputs
 * are raw scores, shown as their softmax.  Every name is escaped.  Written
 * atomically (flags as every save); errors in lf_fusion_error(f).
 * opt->fusion.cancel stops it early (LF_ERR_CANCELLED, no page written,
 * its temporary file removed). */
typedef struct lf_report_options {
    lf_fusion_options fusion;     /* folds, seed, calibrate (the compare
                                     table's), logits, ges and neighbour
                                     settings, threads; progress is
                                     compare's */
    const lf_method *methods;     /* compare's methods; NULL = every one */
    size_t n_methods;
    const lf_fusion *fitted;      /* a fitted model to report on, or NULL */
    const char *const *class_names; /* C names, or NULL: fitted's, else 0..C-1;
                                       checked as lf_fusion_set_class_names
                                       checks them (valid, distinct) */
    const char *title;            /* NULL: "latefuse report" */
    const char *command;          /* the command line shown, or NULL */
    lf_temp_fn temp;              /* NULL, or told about the page's
                                     temporary file as by
                                     lf_fusion_predict_files (one file) */
    void *temp_ctx;
} lf_report_options;

lf_report_options lf_report_defaults(void);

lf_status lf_fusion_report(lf_fusion *f, const float *const *p, const char *const *names, size_t M, size_t N,
                           size_t C, const int *y, const lf_report_options *opt, const char *path,
                           unsigned flags);

/* ======================================================= text vectorization */
/*
 * TextVectorization, as Keras' layer of that name: a preprocessing object
 * (not trained by gradient) that maps texts to token ids or to bag-of-token
 * vectors over a vocabulary learned by lf_textvec_adapt.  Steps per text:
 *
 *  1. The text must be valid UTF-8 (RFC 3629); else LF_ERR_FORMAT naming
 *     the text (1-based), the line inside it and the bad byte.
 *  2. standardize: lower-case (ASCII as Keras; also Latin-1, Latin
 *     Extended-A, Greek and Cyrillic capitals, one to one, no locale) and/or
 *     remove punctuation (Keras' 32 ASCII characters, plus the fullwidth and
 *     CJK punctuation ，。！？、；：“”《》（） and General Punctuation; the
 *     list is in src/text/text.h).  Removed, not replaced by a space: "don't"
 *     becomes "dont", as in Keras.
 *  3. split: "whitespace" cuts at runs of Unicode white space; with
 *     split_cjk (on by default; Keras has no such option) every CJK
 *     ideograph, kana and Hangul syllable is a token of its own, so
 *     "2019年花展" gives "2019", "年", "花", "展".  LF_TEXTVEC_SPLIT_NONE
 *     keeps the whole standardized text as one token (none if empty).
 *  4. ngrams (Keras' integer `ngrams`, n >= 2): the tokens are replaced by
 *     all 1-grams, then all 2-grams, ..., n-grams of the token sequence,
 *     joined by one space ("a b c", n = 2: a, b, c, "a b", "b c").
 *     Or character n-grams (char_ngram_min..char_ngram_max, an extension;
 *     not with ngrams): each whitespace-separated word (CJK characters are
 *     not split off first) gives its substrings of n code points for n from
 *     min to max, n ascending, then left to right ("abc", 1..2: a, b, c, ab,
 *     bc); a word shorter than n gives no n-gram.  With split "none" the
 *     whole standardized text is the one word.
 *  5. lookup.  The vocabulary (lf_textvec_vocabulary) is, in "int" mode,
 *     index 0 = "" (padding), 1 = "[UNK]" (every token not in it), then the
 *     learned tokens; in the other modes index 0 = "[UNK]", then the learned
 *     tokens.  adapt counts every token of the corpus and orders them by
 *     count, descending, ties broken by the token's bytes compared as
 *     unsigned bytes, descending ("b", "abc", "ab", "a"), exactly as Keras'
 *     np.lexsort((tokens, counts))[::-1]; max_tokens (when > 0) counts the reserved
 *     entries and keeps the first max_tokens - reserved tokens.
 *  6. output: "int": the ids of the tokens, truncated or padded with 0 to
 *     the sequence length; "multi_hot": 1 where a vocabulary entry occurs;
 *     "count": its number of occurrences; "tf_idf": count * idf, with
 *     idf = ln(1 + D / (1 + d)) (D documents in adapt, d of them holding the
 *     token; Keras 3's formula) and the idf of "[UNK]" the mean idf of the
 *     learned tokens.  Dense outputs have vocabulary_size columns, or
 *     max_tokens with pad_to_max_tokens (extra columns 0).
 */
typedef struct lf_textvec lf_textvec;

typedef enum lf_textvec_standardize {
    LF_TEXTVEC_LOWER_AND_STRIP_PUNCTUATION = 0, /* Keras' default */
    LF_TEXTVEC_LOWER,
    LF_TEXTVEC_STRIP_PUNCTUATION,
    LF_TEXTVEC_STANDARDIZE_NONE
} lf_textvec_standardize;

typedef enum lf_textvec_split { LF_TEXTVEC_SPLIT_WHITESPACE = 0, LF_TEXTVEC_SPLIT_NONE } lf_textvec_split;

typedef enum lf_textvec_mode {
    LF_TEXTVEC_INT = 0,
    LF_TEXTVEC_MULTI_HOT,
    LF_TEXTVEC_COUNT,
    LF_TEXTVEC_TF_IDF
} lf_textvec_mode;

typedef struct lf_textvec_options {
    size_t max_tokens;              /* 0: no limit (Keras None); else >= 2,
                                       the reserved entries (2 int, 1 others)
                                       included */
    lf_textvec_standardize standardize;
    lf_textvec_split split;
    int split_cjk;                  /* default 1 */
    size_t ngrams;                  /* 0 (None) or 1: none; n: 1..n-grams */
    size_t char_ngram_min, char_ngram_max; /* 0, 0: off; else 1 <= min <= max <= 16 */
    lf_textvec_mode output_mode;    /* default LF_TEXTVEC_INT */
    size_t output_sequence_length;  /* "int" only; 0 (None): the caller
                                       chooses per call (lf_textvec_max_length) */
    int pad_to_max_tokens;          /* needs max_tokens; pads the dense
                                       modes' rows, int mode ignores it */
} lf_textvec_options;

lf_textvec_options lf_textvec_defaults(void);

/* Checks the options (LF_ERR_ARG with a message in *msg, if msg != NULL,
 * NUL-terminated within msg_size) and creates an unadapted object.  opt
 * may be NULL for the defaults. */
lf_status lf_textvec_create(lf_textvec **out, const lf_textvec_options *opt, char *msg,
                            size_t msg_size);
void lf_textvec_free(lf_textvec *tv);
/* Message of the last failed call on tv ("" if none); never NULL. */
const char *lf_textvec_error(const lf_textvec *tv);
lf_textvec_options lf_textvec_get_options(const lf_textvec *tv);

/* Learns the vocabulary (and the idf weights in "tf_idf" mode) from n
 * texts (NUL-terminated), replacing any earlier one.  Every text is
 * validated first; on failure the object is unchanged.  A corpus without a
 * single token is LF_ERR_ARG. */
lf_status lf_textvec_adapt(lf_textvec *tv, const char *const *texts, size_t n);
/* Keras' set_vocabulary(vocabulary, idf_weights) (a Keras file's
 * vocabulary): n terms (valid UTF-8), which may start with the reserved
 * entries ("" and "[UNK]" in int mode, "[UNK]" in the others; then
 * skipped; otherwise a term "[UNK]" is a term like any other, found at its
 * own index, as Keras 3's index_lookup.py); idf: in tf_idf mode (only there, where it is required) n
 * finite weights, one per term given, the reserved entries' their mean
 * when the terms do not start with them.  Refused (LF_ERR_ARG, Keras'
 * words; the object unchanged): an empty list, "" after the reserved
 * entries, a repeated term, more entries than max_tokens. */
lf_status lf_textvec_set_vocabulary(lf_textvec *tv, const char *const *terms, size_t n, const float *idf);
int lf_textvec_adapted(const lf_textvec *tv);

/* Vocabulary entries, reserved ones included (0 before adapt), and entry
 * i (NULL when out of range). */
size_t lf_textvec_vocabulary_size(const lf_textvec *tv);
const char *lf_textvec_vocabulary(const lf_textvec *tv, size_t i);
/* "tf_idf": the vocabulary_size idf weights; NULL otherwise. */
const float *lf_textvec_idf_weights(const lf_textvec *tv);
/* Columns of a dense output ("multi_hot", "count", "tf_idf"); 0 in "int"
 * mode or before adapt. */
size_t lf_textvec_output_dim(const lf_textvec *tv);

/* Dense modes: writes n rows of lf_textvec_output_dim floats. */
lf_status lf_textvec_transform(lf_textvec *tv, const char *const *texts, size_t n, float *out);
/* "int" mode: writes n rows of seq_len token ids (int32), truncated or
 * padded with 0.  seq_len must equal output_sequence_length when that is
 * set (LF_ERR_SHAPE otherwise); with it unset, Keras pads to the longest
 * text of the batch: pass lf_textvec_max_length's answer. */
lf_status lf_textvec_transform_int(lf_textvec *tv, const char *const *texts, size_t n, size_t seq_len,
                                   int32_t *out);
/* The largest number of tokens of one of the n texts (after n-grams). */
lf_status lf_textvec_max_length(lf_textvec *tv, const char *const *texts, size_t n, size_t *len);

/* Reads a text file of one text per line ("\n" or "\r\n" line ends; a last
 * line without an end counts; empty lines are empty texts).  Invalid UTF-8
 * or a NUL byte is LF_ERR_FORMAT naming the path and the 1-based line.  On
 * success *lines holds *n NUL-terminated texts and a NULL after them, all
 * in one allocation released with lf_textvec_lines_free.  tv only carries
 * the message. */
lf_status lf_textvec_read_lines(lf_textvec *tv, const char *path, char ***lines, size_t *n);
void lf_textvec_lines_free(char **lines);

/* Saves the options, the vocabulary and the idf weights (atomic, a
 * safetensors file: metadata format = "latefuse-textvec", format_version
 * = "1", config = the options as JSON with Keras' argument names,
 * vocabulary = a JSON list of strings; tensor "idf_weights" F32
 * [vocabulary_size] in "tf_idf" mode only).  Needs an adapted object.
 * The header holding the vocabulary is at most 100 MB: a vocabulary past
 * about 7 million short entries is refused (LF_ERR_ARG, saying the size). */
lf_status lf_textvec_save(lf_textvec *tv, const char *path);
/* Replaces tv's options and vocabulary with a saved object's; every field
 * is checked first, and on failure tv is unchanged. */
lf_status lf_textvec_load(lf_textvec *tv, const char *path);

/* A copy of tv, adapted or not (*out NULL on failure). */
lf_status lf_textvec_copy(lf_textvec **out, const lf_textvec *tv);

/* A model input fed by a TextVectorization (Keras: the vectorizer called
 * on a string Input): m keeps a copy of tv (adapted) with input node
 * `input`; lf_model_save writes it into the model file (metadata
 * "textvec:<input>.config" and "textvec:<input>.vocabulary", as in
 * lf_textvec_save's file, and in tf_idf mode the tensor
 * "textvec:<input>.idf_weights"), lf_model_load restores it.  The input
 * must take what tv makes: in "int" mode a fixed output_sequence_length L
 * and an input of shape (L) (token ids: int32 or float32), in the dense
 * modes an input of shape (lf_textvec_output_dim).  Attaching again
 * replaces the copy; an input fed by a lookup (lf_model_attach_lookup) is
 * refused. */
lf_status lf_model_attach_textvec(lf_model *m, int input, const lf_textvec *tv);
/* The vectorizer attached to node `input`, or NULL: owned by m (valid
 * until m is freed or loaded again), to transform texts into that input's
 * rows; from one thread at a time. */
lf_textvec *lf_model_textvec(const lf_model *m, int input);

/* ================================================================ lookups */
/*
 * StringLookup and IntegerLookup, as Keras 3's layers of those names
 * (keras/src/layers/preprocessing/index_lookup.py, string_lookup.py,
 * integer_lookup.py): a preprocessing object that maps strings (UTF-8) or
 * int64 ids to vocabulary indices, or back (invert).
 *
 *  - The vocabulary is [mask_token] (only when it is set and output_mode is
 *    "int"), then num_oov_indices OOV entries, then the tokens;
 *    lf_lookup_vocabulary_size counts them all, lf_lookup_token_start is
 *    the index of the first token.
 *  - adapt counts every value, drops mask_token and oov_token, orders by
 *    count, high to low, ties by the token, high to low (strings by their
 *    bytes as unsigned bytes, which is code point order; ints by value):
 *    Keras' np.lexsort((tokens, counts))[::-1]; it keeps the first
 *    max_tokens - token_start.  n = 0 values keep the vocabulary (Keras'
 *    finalize_state).  After lf_lookup_set_vocabulary(..., given = 1)
 *    (Keras' vocabulary= argument) adapt is refused.
 *  - lf_lookup_set_vocabulary: the terms may start with the reserved
 *    entries in that order (then skipped); repeated terms, the mask token
 *    elsewhere, the OOV token elsewhere with invert and more than
 *    max_tokens entries are refused with Keras' messages.
 *  - lookup: mask_token -> 0 in "int" mode (dropped from the other modes),
 *    a token -> its index, any other value -> the OOV index
 *    (num_oov_indices 1), value floormod num_oov_indices + the first OOV
 *    index (integers, num_oov_indices > 1), or refused (num_oov_indices 0,
 *    LF_ERR_ARG listing the values).
 *  - "one_hot", "multi_hot", "count": over lf_lookup_output_dim columns
 *    (the vocabulary size, or max_tokens with pad_to_max_tokens).
 *  - invert ("int" only): index 0 -> mask_token when set, a token's index
 *    -> the token, anything else -> oov_token.
 * Not available: "tf_idf", StringLookup with num_oov_indices > 1 (Keras
 * hashes with FarmHash), oov_method "farmhash", salt.
 */
typedef struct lf_lookup lf_lookup;

typedef enum lf_lookup_kind { LF_LOOKUP_STRING = 0, LF_LOOKUP_INTEGER } lf_lookup_kind;

typedef enum lf_lookup_mode {
    LF_LOOKUP_INT = 0,
    LF_LOOKUP_ONE_HOT,
    LF_LOOKUP_MULTI_HOT,
    LF_LOOKUP_COUNT
} lf_lookup_mode;

typedef struct lf_lookup_options {
    lf_lookup_kind kind;
    size_t max_tokens;              /* 0: no limit (None); else >= 2, reserved
                                       entries included */
    size_t num_oov_indices;         /* default 1; strings: 0 or 1 */
    /* the mask and OOV tokens: strings (kind STRING; copied by create; NULL:
     * none) or integers (kind INTEGER; has_*: whether set) */
    const char *mask_token;         /* default NULL */
    const char *oov_token;          /* default "[UNK]" */
    int has_int_mask_token;         /* default 0 */
    int64_t int_mask_token;
    int has_int_oov_token;          /* default 1 */
    int64_t int_oov_token;          /* default -1 */
    int invert;                     /* needs output_mode INT */
    lf_lookup_mode output_mode;     /* default LF_LOOKUP_INT */
    int pad_to_max_tokens;          /* needs max_tokens */
} lf_lookup_options;

/* Keras' defaults for StringLookup (kind STRING) or IntegerLookup. */
lf_lookup_options lf_lookup_defaults(lf_lookup_kind kind);
/* Checks the options (LF_ERR_ARG with Keras' message in msg, if given)
 * and creates an object with no vocabulary.  A mask or OOV string must be
 * valid UTF-8. */
lf_status lf_lookup_create(lf_lookup **out, const lf_lookup_options *opt, char *msg, size_t msg_size);
void lf_lookup_free(lf_lookup *lk);
/* Message of the last failed call on lk ("" if none); never NULL. */
const char *lf_lookup_error(const lf_lookup *lk);
/* The options; mask_token and oov_token point into lk. */
lf_lookup_options lf_lookup_get_options(const lf_lookup *lk);

/* The values of the calls below are strs (kind STRING: n NUL-terminated
 * UTF-8 strings; invalid UTF-8 is LF_ERR_FORMAT naming the 0-based value
 * and byte) or ids (kind INTEGER: n int64); the other pointer is NULL.
 * On failure lk's vocabulary is unchanged. */
lf_status lf_lookup_adapt(lf_lookup *lk, const char *const *strs, const int64_t *ids, size_t n);
/* given = 1: Keras' vocabulary= (adapt refused afterwards); 0: a vocabulary
 * restored from an adapted object. */
lf_status lf_lookup_set_vocabulary(lf_lookup *lk, const char *const *strs, const int64_t *ids, size_t n,
                                   int given);
/* Whether the vocabulary was given (set_vocabulary with given = 1). */
int lf_lookup_vocabulary_given(const lf_lookup *lk);

/* Entries, reserved ones included; the index of the first token. */
size_t lf_lookup_vocabulary_size(const lf_lookup *lk);
size_t lf_lookup_token_start(const lf_lookup *lk);
/* Entry i: a string (kind STRING; NULL when out of range or a reserved
 * entry whose token is none) or an integer (returns 1 and sets *v, or 0). */
const char *lf_lookup_string(const lf_lookup *lk, size_t i);
int lf_lookup_int(const lf_lookup *lk, size_t i, int64_t *v);
/* Columns of the one_hot / multi_hot / count outputs; 0 in "int" mode. */
size_t lf_lookup_output_dim(const lf_lookup *lk);

/* "int" mode, not invert: the n values' indices. */
lf_status lf_lookup_transform_int(lf_lookup *lk, const char *const *strs, const int64_t *ids, size_t n,
                                  int64_t *out);
/* The other modes: rows x cols values, row-major.  "multi_hot" and "count"
 * write rows rows of lf_lookup_output_dim floats (each over its row's
 * cols values); "one_hot" writes rows * cols rows, one per value. */
lf_status lf_lookup_transform(lf_lookup *lk, const char *const *strs, const int64_t *ids, size_t rows,
                              size_t cols, float *out);
/* invert: n indices back to tokens: strs (kind STRING; pointers into lk,
 * valid until its vocabulary changes; NULL where the token is none) or
 * ids (kind INTEGER; none, if given, is set to 1 where the token is none,
 * with ids 0 there). */
lf_status lf_lookup_invert(lf_lookup *lk, const int64_t *indices, size_t n, const char **strs, int64_t *ids,
                           unsigned char *none);

/* Saves the options and vocabulary (atomic; a safetensors file without
 * tensors: metadata format = "latefuse-lookup", format_version = "1",
 * config = Keras' arguments as JSON, vocabulary = a JSON list of the
 * tokens, reserved entries left out).  Loading checks every field (as
 * set_vocabulary checks a vocabulary) and leaves lk unchanged on failure. */
lf_status lf_lookup_save(lf_lookup *lk, const char *path);
lf_status lf_lookup_load(lf_lookup *lk, const char *path);
/* A copy of lk (*out NULL on failure). */
lf_status lf_lookup_copy(lf_lookup **out, const lf_lookup *lk);

/* A model input fed by a lookup (Keras: the lookup called on a string or
 * integer Input): m keeps a copy of lk with input node `input`, written in
 * the model file as metadata "lookup:<input>.config" and
 * "lookup:<input>.vocabulary" (lf_lookup_save's JSON) and restored by
 * lf_model_load.  The input must be rank 1, of any width in "int" mode
 * (one index per value), of lf_lookup_output_dim in the other modes; an
 * inverting lookup is refused, as is an input fed by a text vectorizer
 * (lf_model_attach_textvec).  Attaching again replaces the copy. */
lf_status lf_model_attach_lookup(lf_model *m, int input, const lf_lookup *lk);
/* The lookup attached to node `input`, or NULL: owned by m. */
lf_lookup *lf_model_lookup(const lf_model *m, int input);

/* ================================================================= images */
/*
 * PNG and JPEG images, decoded through libpng and libjpeg(-turbo) when the
 * library was built with them (the Makefile finds them; lf_image_formats
 * says which).  Every image becomes RGB (grey expanded, alpha and 16-bit
 * precision dropped, palettes expanded, a palette's transparency (tRNS)
 * ignored; CMYK JPEG is refused; JPEG through the fast integer inverse
 * DCT, as TensorFlow's decode_image) and is
 * resized to height x width as Keras' image_dataset_from_directory does:
 * tf.image.resize bilinear, half-pixel centres, no antialiasing; the
 * float result is rounded to the nearest integer (Keras keeps the floats).
 * Output is uint8, row-major height x width x 3 (NHWC for a batch).
 *
 * Images larger than LF_IMAGE_MAX_SIDE on a side or LF_IMAGE_MAX_PIXELS in
 * all are refused before any pixel memory is allocated.  Corrupt or
 * truncated data (including what libjpeg only warns about, e.g. "Premature
 * end of JPEG file") are LF_ERR_FORMAT; the decoders' errors come back by
 * longjmp, never exit.  Messages go to msg (msg_size bytes, NUL-terminated;
 * msg may be NULL); the file functions' messages start with the path.
 */
#define LF_IMAGE_MAX_SIDE 16384u
#define LF_IMAGE_MAX_PIXELS 67108864u /* 2^26: 192 MiB as RGB */
enum { LF_IMAGE_PNG = 1, LF_IMAGE_JPEG = 2 };
/* LF_IMAGE_PNG | LF_IMAGE_JPEG for the decoders this build has. */
int lf_image_formats(void);

/* Decodes a PNG or JPEG held in memory (the format is told by its first
 * bytes) into out (height * width * 3 bytes).  1 <= height, width <=
 * LF_IMAGE_MAX_SIDE.  A format this build lacks is LF_ERR_STATE ("latefuse
 * was built without libpng: install libpng-dev and rebuild"). */
lf_status lf_image_decode(const void *data, size_t len, size_t height, size_t width, uint8_t *out,
                          char *msg, size_t msg_size);
/* The same for a file. */
lf_status lf_image_load(const char *path, size_t height, size_t width, uint8_t *out, char *msg,
                        size_t msg_size);

/* A folder of images, one sub-folder per class, as
 * keras.utils.image_dataset_from_directory(labels="inferred"): the class
 * names are the sub-folders' names sorted (bytes, as Python sorts them),
 * label i for class_names[i]; sub-folders whose names start with '.'
 * (".ipynb_checkpoints", ".git") are not classes, as in Keras; inside a class the files whose names end in
 * .png, .jpg or .jpeg (any case) are taken from the class folder and its
 * sub-folders (a class folder may be a link; links to folders inside it
 * are not followed, as Keras' follow_links=False), folders sorted by path
 * and files by name as Keras' walk; other files are ignored, except .bmp
 * and .gif, which are refused (not supported here).  No shuffling: the
 * order above. */
typedef struct lf_image_set {
    size_t n, height, width; /* n images of height x width x 3 */
    uint8_t *images;         /* n * height * width * 3 bytes, NHWC, RGB */
    int32_t *labels;         /* n class indices */
    size_t n_classes;
    char **class_names;      /* n_classes names, sorted */
    char **paths;            /* the file of each image */
} lf_image_set;

/* Loads every image of `dir` into *out (zeroed on failure; the message
 * names the file that failed).  At least one class folder and one image
 * are needed. */
lf_status lf_image_folder_load(const char *dir, size_t height, size_t width, lf_image_set *out,
                               char *msg, size_t msg_size);
void lf_image_set_free(lf_image_set *s);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif
#ifdef __cplusplus
}
#endif
#endif /* LATEFUSE_H */
