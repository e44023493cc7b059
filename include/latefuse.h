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
    LF_ERR_NUMERIC = 7  /* a value is NaN/Inf or training diverged           */
} lf_status;

/* A constant, never-NULL English name for a status ("out of memory", ...). */
const char *lf_status_string(lf_status st);

/* ----------------------------------------------------------------- model */

typedef struct lf_model lf_model;

/* Creates an empty model.  `seed` seeds the model's own random generator,
 * which draws the initial weights (in layer creation order), dropout masks
 * and shuffling: the same seed and the same calls give bit-identical
 * results.  Returns LF_ERR_ARG if out is NULL, LF_ERR_NOMEM on failure. */
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
 * last like Keras: vectors (D), sequences (T, D), images (H, W, C).  Its
 * `dim` is the product of the shape; the values of a batch are always
 * (batch, dim) row-major floats (an image row is H x W x C values, channel
 * fastest), so the arrays given to fit, evaluate and predict are 2-D.
 */

#define LF_MAX_RANK 3

/* What an input holds.  LF_DTYPE_INT32: integer token ids, given today as floats
 * holding integers (the rows stay float arrays). */
typedef enum lf_dtype { LF_DTYPE_FLOAT32 = 0, LF_DTYPE_INT32 } lf_dtype;

/* Keras' padding of convolutions and poolings: "valid" (none) or "same"
 * (output size ceil(in / stride); the extra padding pixel, when the total
 * is odd, goes to the bottom / right). */
typedef enum lf_padding { LF_PADDING_VALID = 0, LF_PADDING_SAME } lf_padding;

typedef enum lf_activation {
    LF_ACT_LINEAR = 0,
    LF_ACT_RELU,
    LF_ACT_LEAKY_RELU, /* x >= 0 ? x : 0.2 x  (Keras' default negative_slope) */
    LF_ACT_ELU,        /* x >= 0 ? x : exp(x) - 1                             */
    LF_ACT_GELU,       /* exact: x * Phi(x), as Keras/PyTorch default         */
    LF_ACT_SIGMOID,
    LF_ACT_TANH,
    LF_ACT_SOFTMAX     /* over the features of each row                       */
} lf_activation;

/* Returns the Keras spelling ("relu", ...) or NULL for an invalid value. */
const char *lf_activation_name(lf_activation a);
/* Parses a Keras spelling; returns -1 if unknown. */
int lf_activation_parse(const char *name);

/* Input(dim).  Inputs are numbered in creation order: that is the order of
 * the `x` arrays given to fit, evaluate and predict. */
int lf_input(lf_model *m, size_t dim, const char *name);

/* Input(shape, dtype): rank 1..LF_MAX_RANK dims, each >= 1, channels last
 * ((H, W, C) for an image).  lf_input(m, d, name) is lf_input_shape(m, 1,
 * &d, LF_DTYPE_FLOAT32, name). */
int lf_input_shape(lf_model *m, size_t rank, const size_t *dims, lf_dtype dtype,
                   const char *name);

/* Dense(units, activation, use_bias): y = act(x W^T + b).
 * W is stored (units, in) like PyTorch's nn.Linear.weight (the transpose of
 * Keras' kernel); glorot_uniform init, limit sqrt(6/(in+units)); b = 0. */
int lf_dense(lf_model *m, int x, size_t units, lf_activation act, int use_bias,
             const char *name);

/* Activation(act) as a layer of its own. */
int lf_activation_layer(lf_model *m, int x, lf_activation act, const char *name);

/* Dropout(rate), 0 <= rate < 1: inverted dropout while training (kept units
 * scaled by 1/(1-rate)), identity in evaluate and predict. */
int lf_dropout(lf_model *m, int x, float rate, const char *name);

/* Flatten(): (batch, d1, ..., dk) -> (batch, d1 * ... * dk).  The values
 * do not move (rows are row-major): its output is a copy of x. */
int lf_flatten(lf_model *m, int x, const char *name);

/* Reshape(target_shape): rank 1..LF_MAX_RANK dims whose product is x's dim
 * (no -1 entry); the values are copied in the same row-major order. */
int lf_reshape(lf_model *m, int x, size_t rank, const size_t *dims, const char *name);

/* ---- image layers: x is (batch, H, W, C), channels last */

/* Conv2D(filters, kernel_size=(kh, kw), strides=(sh, sw), padding,
 * activation, use_bias): y (batch, Ho, Wo, filters) = act(conv(x) + b), Ho =
 * (H - kh) / sh + 1 with LF_PADDING_VALID, ceil(H / sh) with
 * LF_PADDING_SAME (likewise Wo).  The kernel is Keras' (kh, kw, C, filters),
 * glorot_uniform (fan_in kh kw C, fan_out kh kw filters); b = 0.  An
 * activation applies per pixel over the filters (softmax too). */
int lf_conv2d(lf_model *m, int x, size_t filters, size_t kh, size_t kw, size_t sh, size_t sw,
              lf_padding padding, lf_activation act, int use_bias, const char *name);

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

/* Rescaling(scale, offset): y = x * scale + offset, any shape. */
int lf_rescaling(lf_model *m, int x, float scale, float offset, const char *name);

/* RandomFlip(mode): while training, each image is mirrored left-right
 * (horizontal) and/or top-bottom (vertical), each with probability 1/2,
 * drawn from the model's generator; the identity in evaluate and predict. */
typedef enum lf_flip {
    LF_FLIP_HORIZONTAL = 1,
    LF_FLIP_VERTICAL = 2,
    LF_FLIP_HORIZONTAL_AND_VERTICAL = 3
} lf_flip;
int lf_random_flip(lf_model *m, int x, lf_flip mode, const char *name);

/* RandomTranslation(height_factor, width_factor), factors in [0, 1]: while
 * training, each image shifts by round(u H) rows and round(v W) columns, u
 * and v uniform in [-factor, factor], from the model's generator; pixels
 * shifted in are 0.  Supported: Keras' fill_mode="constant" (fill_value 0)
 * with interpolation="nearest" only.  The identity in evaluate and
 * predict. */
int lf_random_translation(lf_model *m, int x, float height_factor, float width_factor,
                          const char *name);

/* Keras merging layers over n >= 2 inputs of equal dim (Subtract: exactly 2;
 * Concatenate: any dims, joined along features). */
int lf_add(lf_model *m, size_t n, const int *xs, const char *name);
int lf_subtract(lf_model *m, int a, int b, const char *name);
int lf_multiply(lf_model *m, size_t n, const int *xs, const char *name);
int lf_average(lf_model *m, size_t n, const int *xs, const char *name);
int lf_maximum(lf_model *m, size_t n, const int *xs, const char *name);
int lf_minimum(lf_model *m, size_t n, const int *xs, const char *name);
int lf_concatenate(lf_model *m, size_t n, const int *xs, const char *name);

/* Dot(axes=1): y = <a, b> per row, shape (batch, 1).  With normalize != 0
 * both rows are L2-normalised first (Keras' eps 1e-12): cosine similarity. */
int lf_dot(lf_model *m, int a, int b, int normalize, const char *name);

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

/* Adds an L2 penalty l2 * sum(W^2) on a Dense layer's kernel (Keras'
 * kernel_regularizer=l2(l2)), or on the weights W of a WeightedAverage /
 * ClassWeightedAverage (which pulls their softmax towards equal weights).
 * It is part of the training loss. */
lf_status lf_set_l2(lf_model *m, int dense_node, float l2);

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
    LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY /* one column: the class index   */
} lf_loss;

const char *lf_loss_name(lf_loss l); /* Keras spelling or NULL */
int lf_loss_parse(const char *name); /* -1 if unknown */

typedef enum lf_optimizer_kind { LF_OPT_SGD = 0, LF_OPT_ADAM, LF_OPT_RMSPROP } lf_optimizer_kind;

typedef struct lf_optimizer {
    lf_optimizer_kind kind;
    float learning_rate;
    float momentum;   /* sgd, rmsprop */
    int nesterov;     /* sgd */
    float beta_1;     /* adam */
    float beta_2;     /* adam */
    float epsilon;    /* adam, rmsprop */
    float rho;        /* rmsprop */
    int use_ema;      /* all: keep a moving average of the weights during
                         fit and write it into the weights when fit ends */
    float ema_momentum; /* its momentum, in [0, 1) */
} lf_optimizer;

/* Keras' defaults: sgd lr 0.01, momentum 0; adam lr 1e-3, beta_1 0.9,
 * beta_2 0.999, epsilon 1e-7; rmsprop lr 1e-3, rho 0.9, epsilon 1e-7;
 * use_ema 0, ema_momentum 0.99.
 *
 * use_ema follows Keras 3: after every optimizer step of fit,
 * average = m * average + (1 - m) * w, with m = 0 on the model's first step
 * ever (the average starts as the weights) and m = ema_momentum after; when
 * fit ends (also by early stopping, after any restore of the best weights)
 * the weights become the average.  A fit that starts from trained weights
 * starts its average from them.  Validation during fit sees the raw
 * weights.  lf_model_train_on_batch does not use it (Keras only writes the
 * average back at the end of fit). */
lf_optimizer lf_optimizer_default(lf_optimizer_kind kind);

/* Model(inputs, output).compile(optimizer, loss).  `output` is the node
 * whose value predict returns.  Fixes the graph: no builder call is accepted
 * afterwards.  With a softmax output and a categorical loss (or a sigmoid
 * output and binary cross-entropy) the loss is computed from the logits
 * (fused log-softmax / log-sigmoid), which is exact and stable. opt may be
 * NULL for adam with defaults. */
lf_status lf_model_compile(lf_model *m, int output, lf_loss loss, const lf_optimizer *opt);

size_t lf_model_num_inputs(const lf_model *m);
size_t lf_model_input_dim(const lf_model *m, size_t i);
size_t lf_model_output_dim(const lf_model *m);
size_t lf_model_num_params(const lf_model *m);

/* Writes a table like Keras' model.summary(): layer (type), output shape,
 * parameters, inputs, and the totals.  Works before compile too. */
lf_status lf_model_summary(const lf_model *m, FILE *out);

/* ------------------------------------------------------------------ fit */

typedef struct lf_fit_options {
    size_t batch_size;        /* default 32 */
    size_t epochs;            /* default 1 */
    int shuffle;              /* default 1: reshuffle every epoch */
    float validation_split;   /* default 0: last fraction of rows, as Keras */
    const float *const *val_x;/* or explicit validation data (overrides)   */
    const float *val_y;
    size_t val_n;
    size_t patience;          /* 0: no early stopping; else stop after this
                                 many epochs without improvement of the
                                 monitored loss (val_loss if any, else loss) */
    float min_delta;          /* improvement needed, default 0 */
    int restore_best_weights; /* with early stopping, default 0 */
    const float *sample_weight;   /* NULL, or N weights >= 0 */
    const float *class_weight;    /* NULL, or one weight per class */
    size_t n_class_weight;
    uint64_t seed;            /* shuffling and dropout draw from a generator
                                 seeded with this (default 0) */
    int verbose;              /* 0 silent; 1 progress bar on stderr when it
                                 is a terminal plus a line per epoch;
                                 2 one line per epoch on stderr */
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
    size_t best_epoch;      /* 0-based epoch of the best monitored loss */
    int stopped_early;
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
 * no message: on failure, lf_status_string(status) describes it. */
lf_status lf_model_predict(const lf_model *m, const float *const *x, size_t n, float *y);

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
    LF_FUSE_STACK_LR = 9,     /* multinomial logistic regression on log p, L2 */
    LF_FUSE_WAVG = 10,        /* the seed's WeightedAverage over models */
    LF_FUSE_WAVG_CLASS = 11,  /* ClassWeightedAverage: per model, per class */
    LF_FUSE_LOGLINEAR = 12,   /* softmax-weighted sum of log p, renormalised */
    LF_FUSE_MLP = 13,         /* Concatenate -> Dense(128, relu) -> Dropout(0.2)
                                 -> Dense(C, softmax) */
    LF_FUSE_GATE = 14,        /* per-sample softmax weights from a small net */
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
    LF_FUSE_BKS = 23          /* behaviour-knowledge space (Huang & Suen 1995) */
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
    int verbose;          /* progress on stderr when it is a terminal */
    int metric;           /* what ges and auto optimise: LF_METRIC_LOG_LOSS
                             (default) or LF_METRIC_ACCURACY (for ges the
                             log-loss breaks ties); auto also takes
                             LF_METRIC_MACRO_F1 */
    size_t ensemble_size; /* ges: selections, with replacement; 0 = 50 */
    size_t bags;          /* ges: selections over random halves of the models,
                             added up; 0 or 1 = one selection over all */
    int importance;       /* fit: measure lf_fusion_importance (M + 1
                             predictions of the fitting rows); default 1 */
    size_t k;             /* knora-e, knora-u, ola, lca: neighbours in the
                             region of competence, 1..1000; 0 = 7 */
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
 * inputs by position, the CLI by these names.  Replaces any earlier fit. */
lf_status lf_fusion_fit(lf_fusion *f, const float *const *p, const char *const *names, size_t M,
                        size_t N, size_t C, const int *y, const lf_fusion_options *opt);

/* Fused probabilities (N x C) for M arrays in the fitted order (NULL for a
 * model absent from every row, NaN rows for single missing outputs).  The
 * inputs are validated as for fit.  Rows where no model is present get the
 * uniform distribution.  Thread-safe on one fitted model; on failure
 * lf_status_string describes the status. */
lf_status lf_fusion_predict(const lf_fusion *f, const float *const *p, size_t N, float *out);

/* Save (atomic, safetensors layout, schema in README.md; flags 0 or
 * LF_WRITE_NO_FSYNC, see lf_model_save) and load. */
lf_status lf_fusion_save(lf_fusion *f, const char *path, unsigned flags);
lf_status lf_fusion_load(lf_fusion *f, const char *path);

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
 * cross-validated counterpart): the fused output's log-loss and accuracy
 * with every model (log_loss[0], accuracy[0]) and with model i missing in
 * every row (log_loss[i + 1], accuracy[i + 1]).  Writes M + 1 values to
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
 * model, if any, is left as it was). */
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
 * methods with at most one fitted number per model.  NULL for a model
 * fitted otherwise or loaded from a file; owned by f, valid until its next
 * fit, load or free. */
const lf_compare_table *lf_fusion_auto_table(const lf_fusion *f);
const char *lf_fusion_auto_note(const lf_fusion *f);

/* Metrics of fused probabilities against labels (accuracy, macro-F1,
 * log-loss, Brier score, 15-bin expected calibration error). */
lf_status lf_fusion_metrics(const float *prob, const int *y, size_t N, size_t C,
                            double metrics[LF_NUM_METRICS]);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif
#ifdef __cplusplus
}
#endif
#endif /* LATEFUSE_H */
