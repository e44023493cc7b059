/*
 * model.h — the inside of an lf_model: the graph of nodes, the flat blocks
 * of parameters / gradients / optimizer moments, and the workspace in which
 * a batch flows forward and backward.  Shared by builder.c, graph.c,
 * loss.c, fit.c and model_io.c; nothing outside the library sees it.
 */
#ifndef LF_MODEL_H
#define LF_MODEL_H

#include "internal.h"

/* The layer table: one line per layer kind, its enum value and its record
 * (src/layers/layer.h: name, JSON type, weights, forward, backward, ...),
 * defined in the kind's layer-family file under src/layers/.  The order is
 * the enum's; a new kind goes at the end. */
#define LF_LAYER_TABLE(X)                       \
    X(LF_K_INPUT, lf_type_input)                \
    X(LF_K_DENSE, lf_type_dense)                \
    X(LF_K_ACTIVATION, lf_type_activation)      \
    X(LF_K_DROPOUT, lf_type_dropout)            \
    X(LF_K_ADD, lf_type_add)                    \
    X(LF_K_SUBTRACT, lf_type_subtract)          \
    X(LF_K_MULTIPLY, lf_type_multiply)          \
    X(LF_K_AVERAGE, lf_type_average)            \
    X(LF_K_MAXIMUM, lf_type_maximum)            \
    X(LF_K_MINIMUM, lf_type_minimum)            \
    X(LF_K_CONCATENATE, lf_type_concatenate)    \
    X(LF_K_DOT, lf_type_dot)                    \
    X(LF_K_WAVG, lf_type_wavg)                  \
    X(LF_K_CWAVG, lf_type_cwavg)                \
    X(LF_K_GATED, lf_type_gated)                \
    X(LF_K_FLATTEN, lf_type_flatten)            \
    X(LF_K_RESHAPE, lf_type_reshape)            \
    X(LF_K_CONV2D, lf_type_conv2d)              \
    X(LF_K_MAXPOOL2D, lf_type_maxpool2d)        \
    X(LF_K_AVGPOOL2D, lf_type_avgpool2d)        \
    X(LF_K_GMAXPOOL2D, lf_type_gmaxpool2d)      \
    X(LF_K_GAVGPOOL2D, lf_type_gavgpool2d)      \
    X(LF_K_BATCHNORM, lf_type_batchnorm)        \
    X(LF_K_RESCALING, lf_type_rescaling)        \
    X(LF_K_RANDOM_FLIP, lf_type_random_flip)    \
    X(LF_K_RANDOM_TRANSLATION, lf_type_random_translation) \
    X(LF_K_EMBEDDING, lf_type_embedding)        \
    X(LF_K_GAVGPOOL1D, lf_type_gavgpool1d)      \
    X(LF_K_GMAXPOOL1D, lf_type_gmaxpool1d)      \
    X(LF_K_POSITION_EMBEDDING, lf_type_position_embedding) \
    X(LF_K_CONV1D, lf_type_conv1d)              \
    X(LF_K_LAYERNORM, lf_type_layernorm) \
    X(LF_K_MHA, lf_type_mha)                    \
    X(LF_K_MAXPOOL1D, lf_type_maxpool1d)        \
    X(LF_K_AVGPOOL1D, lf_type_avgpool1d)        \
    X(LF_K_LSTM, lf_type_lstm)                  \
    X(LF_K_GRU, lf_type_gru)                    \
    X(LF_K_SIMPLE_RNN, lf_type_simple_rnn)      \
    X(LF_K_NORMALIZATION, lf_type_normalization) \
    X(LF_K_BIDIRECTIONAL, lf_type_bidirectional) \
    X(LF_K_RANDOM_CONTRAST, lf_type_random_contrast) \
    X(LF_K_RANDOM_BRIGHTNESS, lf_type_random_brightness) \
    X(LF_K_RANDOM_ZOOM, lf_type_random_zoom) \
    X(LF_K_RANDOM_ROTATION, lf_type_random_rotation) \
    X(LF_K_CATEGORY_ENCODING, lf_type_category_encoding) \
    X(LF_K_OUTPUT_VIEW, lf_type_output_view) \
    X(LF_K_CONV2D_TRANSPOSE, lf_type_conv2d_transpose) \
    X(LF_K_UPSAMPLING2D, lf_type_upsampling2d) \
    X(LF_K_ZERO_PADDING2D, lf_type_zero_padding2d) \
    X(LF_K_CROPPING2D, lf_type_cropping2d) \
    X(LF_K_DEPTHWISE_CONV2D, lf_type_depthwise_conv2d) \
    X(LF_K_SEPARABLE_CONV2D, lf_type_separable_conv2d) \
    X(LF_K_MASKING, lf_type_masking) \
    X(LF_K_REPEAT_VECTOR, lf_type_repeat_vector) \
    X(LF_K_PERMUTE, lf_type_permute) \
    X(LF_K_UPSAMPLING1D, lf_type_upsampling1d) \
    X(LF_K_ZERO_PADDING1D, lf_type_zero_padding1d) \
    X(LF_K_CROPPING1D, lf_type_cropping1d) \
    X(LF_K_ATTENTION, lf_type_attention) \
    X(LF_K_ADDITIVE_ATTENTION, lf_type_additive_attention) \
    /* the 1-D depthwise, separable and transposed convolutions */ \
    X(LF_K_DEPTHWISE_CONV1D, lf_type_depthwise_conv1d) \
    X(LF_K_SEPARABLE_CONV1D, lf_type_separable_conv1d) \
    X(LF_K_CONV1D_TRANSPOSE, lf_type_conv1d_transpose) \
    /* the noise and regularization layers */ \
    X(LF_K_SPATIAL_DROPOUT1D, lf_type_spatial_dropout1d) \
    X(LF_K_SPATIAL_DROPOUT2D, lf_type_spatial_dropout2d) \
    X(LF_K_GAUSSIAN_NOISE, lf_type_gaussian_noise) \
    X(LF_K_GAUSSIAN_DROPOUT, lf_type_gaussian_dropout) \
    X(LF_K_ALPHA_DROPOUT, lf_type_alpha_dropout) \
    X(LF_K_ACTIVITY_REGULARIZATION, lf_type_activity_regularization) \
    X(LF_K_DISCRETIZATION, lf_type_discretization) \
    /* TimeDistributed */ \
    X(LF_K_TD_INPUT, lf_type_td_input) \
    X(LF_K_TIME_DISTRIBUTED, lf_type_time_distributed) \
    X(LF_K_GMAXPOOL3D, lf_type_gmaxpool3d) \
    X(LF_K_GAVGPOOL3D, lf_type_gavgpool3d) \
    X(LF_K_CONV3D, lf_type_conv3d) \
    X(LF_K_MAXPOOL3D, lf_type_maxpool3d) \
    X(LF_K_AVGPOOL3D, lf_type_avgpool3d) \
    /* Keras' activation layers (activation_layers.c) */ \
    X(LF_K_RELU, lf_type_relu) \
    X(LF_K_LEAKY_RELU, lf_type_leaky_relu) \
    X(LF_K_ELU, lf_type_elu) \
    X(LF_K_PRELU, lf_type_prelu) \
    X(LF_K_SOFTMAX, lf_type_softmax) \
    X(LF_K_RESIZING, lf_type_resizing) \
    X(LF_K_CENTER_CROP, lf_type_center_crop) \
    X(LF_K_GROUP_NORM, lf_type_group_norm) \
    X(LF_K_UNIT_NORM, lf_type_unit_norm) \
    X(LF_K_CONV3D_TRANSPOSE, lf_type_conv3d_transpose) \
    /* the 3-D decoder layers (spatial3d.c), Identity (identity.c) */ \
    X(LF_K_UPSAMPLING3D, lf_type_upsampling3d) \
    X(LF_K_ZERO_PADDING3D, lf_type_zero_padding3d) \
    X(LF_K_CROPPING3D, lf_type_cropping3d) \
    X(LF_K_IDENTITY, lf_type_identity) \
    X(LF_K_GQA, lf_type_gqa) \
    X(LF_K_SPATIAL_DROPOUT3D, lf_type_spatial_dropout3d) \
    X(LF_K_RMS_NORM, lf_type_rms_norm) \
    X(LF_K_RANDOM_CROP, lf_type_random_crop) \
    /* ConvLSTM2D, ConvLSTM1D, ConvLSTM3D (conv_lstm.c) */ \
    X(LF_K_CONV_LSTM2D, lf_type_conv_lstm2d) \
    X(LF_K_CONV_LSTM1D, lf_type_conv_lstm1d) \
    X(LF_K_CONV_LSTM3D, lf_type_conv_lstm3d) \
    /* RandomGrayscale, RandomInvert, Solarization, AutoContrast (color_ops.c) */ \
    X(LF_K_RANDOM_GRAYSCALE, lf_type_random_grayscale) \
    X(LF_K_RANDOM_INVERT, lf_type_random_invert) \
    X(LF_K_SOLARIZATION, lf_type_solarization) \
    X(LF_K_AUTO_CONTRAST, lf_type_auto_contrast) \
    /* RandomSaturation, RandomHue, RandomColorDegeneration, RandomColorJitter (hsv.c) */ \
    X(LF_K_RANDOM_SATURATION, lf_type_random_saturation) \
    X(LF_K_RANDOM_HUE, lf_type_random_hue) \
    X(LF_K_RANDOM_COLOR_DEGENERATION, lf_type_random_color_degeneration) \
    X(LF_K_RANDOM_COLOR_JITTER, lf_type_random_color_jitter)

#define LF_KIND_ENUM_(kind, record) kind,
typedef enum lf_kind { LF_LAYER_TABLE(LF_KIND_ENUM_) LF_K_COUNT } lf_kind;
#undef LF_KIND_ENUM_

/* Stable Keras-style type names: what the model file stores. */
const char *lf_kind_name(lf_kind k);
int lf_kind_parse(const char *name); /* -1 if unknown */

#define LF_NAME_MAX 64

/* A node of the graph.  Beside the fields every node has, a kind keeps its
 * own settings here (act, use_bias, normalize, rate, gate, mask, l2, bias_l2: set by
 * its builder and its JSON reader, read by its record's functions). */
typedef struct lf_node {
    lf_kind kind;
    char name[LF_NAME_MAX];
    size_t dim;          /* output features: the product of shape[0..rank) */
    size_t rank;         /* per-sample shape, channels last: images (H, W, C), */
    size_t shape[LF_MAX_RANK]; /* sequences (T, D), vectors (D); rows stay (B, dim) */
    lf_dtype dtype;      /* InputLayer: what the caller's values are */
    size_t n_in;         /* merged inputs (xs) */
    int *in;             /* their node ids */
    int gate, mask;      /* extra inputs of weighted layers, -1 if none */
    int seq_mask;        /* the node whose workspace holds the padding mask
                            of this node's output, -1 if none (layer.h) */
    size_t input_dim;    /* Embedding: the vocabulary size; PositionEmbedding:
                            sequence_length; CategoryEncoding: num_tokens */
    int mask_zero;       /* Embedding: id 0 is padding */
    lf_activation act;   /* Dense, Activation */
    int use_bias;        /* Dense, Conv1D/2D; LayerNormalization's and BatchNormalization's center */
    int normalize;       /* Dot */
    int keras_masks;     /* Add ... Minimum: Keras 3's padding-mask rule (merge.c; the
                            builders'); 0: the rule of model files without "keras_masks" */
    int axis;            /* Concatenate: the axis joined, Keras' numbering as given
                            (1..rank, or -rank..-1 from the end; 0 is the batch) */
    size_t cat_axis;     /* Concatenate: that axis in the per-sample shape (infer) */
    int dot_axes[2];     /* Dot: the axis of each input, Keras' numbering as given (both 0:
                            Keras' axes=1 of flat inputs) */
    size_t dot_ax[2];    /* Dot: those axes in the per-sample shapes (infer) */
    float rate;          /* Dropout; MultiHeadAttention's and the recurrent
                            layers' dropout */
    float recurrent_rate; /* LSTM, GRU, SimpleRNN, Bidirectional: recurrent_dropout */
    float l2;            /* penalty on the weights the record marks l2 */
    float bias_l2;       /* penalty on the weights it marks bias_l2 (lf_set_bias_l2) */
    float l1, bias_l1;   /* L1 factors on those (lf_set_regularizer, regularizer.c) */
    float rec_l1, rec_l2; /* on the weights it marks recurrent (recurrent_regularizer) */
    float act_l1, act_l2; /* on the output (activity_regularizer) */
    lf_constraint con[LF_ROLE_COUNT]; /* Keras' constraints, by weight role (lf_set_constraint) */
    size_t kernel[3];    /* Conv2D kernel_size, pooling pool_size (h, w); Conv1D's (k, 1); UpSampling2D's size;
                            Resizing's and CenterCrop's (height, width);
                            Conv3D's, MaxPooling3D's, AveragePooling3D's (d, h, w);
                            UpSampling1D's (size, 1); UpSampling3D's (sd, sh, sw);
                            RepeatVector's n */
    size_t strides[3];   /* Conv2D, Conv3D, pooling */
    size_t dilation[3];  /* Conv1D/2D (Conv3D: 1), DepthwiseConv2D, SeparableConv2D: dilation_rate (Conv1D's (d, 1)) */
    size_t depth_multiplier; /* DepthwiseConv2D, SeparableConv2D */
    float mask_value;    /* Masking */
    lf_padding padding;  /* Conv2D, pooling */
    size_t out_pad[3];   /* Conv2DTranspose: output_padding (h, w), Conv3DTranspose (d, h, w);
                            LF_INFER for Keras' None */
    size_t perm[LF_MAX_RANK]; /* Permute: dims (1-based, Keras' numbering), */
    size_t n_perm;       /* their count, the input's rank */
    size_t crop[6];      /* ZeroPadding2D's padding, Cropping2D's cropping: top, bottom, left, right;
                            the 1-D ones' (left, right, 0, 0); the 3-D ones' (d0, d1, h0, h1, w0, w1);
                            Resizing's and CenterCrop's window of the input (top, rows, left,
                            columns, Resizing's padding rows, columns), set by infer */
    float momentum, epsilon; /* BatchNormalization; LayerNormalization's epsilon */
    int groups;          /* GroupNormalization: groups (-1 from the builder: the channels) */
    float scale, offset; /* Rescaling */
    lf_translation_options tr; /* RandomTranslation's settings */
    int whole_pixels;    /* RandomTranslation: the shift rounded when drawn
                            (lf_random_translation and its files) */
    int keep_aspect;     /* RandomZoom: width_factor None, the width's zoom the height's draw
                            (tr's width range unused); Resizing: 1 crop_to_aspect_ratio,
                            2 pad_to_aspect_ratio (its fill_value in tr.fill_value) */
    float factor[2];     /* RandomContrast, RandomBrightness, RandomRotation: Keras' self.factor (lower, upper) */
    float value_range[2]; /* and value_range, as the layer keeps it */
    int norm_axis[LF_MAX_RANK]; /* Normalization: the axes kept, as given (Keras' */
    size_t n_norm_axis;  /* numbering: 0 the batch axis); 0 axes: axis=None */
    unsigned norm_keep;  /* Normalization: bit a set: per-sample axis a kept (infer) */
    int invert;          /* Normalization: the inverse map */
    int mode;            /* RandomFlip: LF_FLIP_*; LayerNormalization's and BatchNormalization's scale;
                            CategoryEncoding: lf_category_mode; UpSampling2D, Resizing: lf_interpolation;
                            Discretization: lf_discretization_mode */
    float act_arg[3];    /* ReLU: max_value (INFINITY: None), negative_slope, threshold;
                            LeakyReLU: negative_slope in [1]; ELU: alpha in [0] */
    int act_axis[LF_MAX_RANK]; /* PReLU: shared_axes; Softmax: axis (Keras' numbering, */
    size_t n_act_axis;   /* as given: 1.. or negative, 0 the batch) */
    unsigned act_axes;   /* those axes resolved (infer): bit a, per-sample axis a */
    size_t num_bins;     /* Discretization: Keras' num_bins, 0 for None (kept, not used) */
    double bins_epsilon; /* Discretization: Keras' epsilon, 0 for its default 0.01 (kept, not used) */
    int shares;          /* Keras' shared layer: 1 + the id of the node whose
                            weights this one uses (lf_share_weights); 0: its own */
    size_t heads, key_dim, value_dim; /* MultiHeadAttention */
    int causal;          /* MultiHeadAttention: Keras' use_causal_mask (its
                            attention_mask input is `mask`) */
    int return_scores;   /* MultiHeadAttention: Keras' return_attention_scores (two
                            outputs; its output features are then `units`); Attention,
                            AdditiveAttention: the same (score_attention.c) */
    int use_scale;       /* Attention, AdditiveAttention: Keras' use_scale (their
                            score_mode is `mode`, causal their use_causal_mask) */
    int return_sequences, go_backwards; /* LSTM, GRU */
    int unit_forget_bias; /* LSTM: the forget gate's bias starts at 1 */
    int cell;            /* Bidirectional: the wrapped layer, LF_RNN_* */
    int merge_mode;      /* Bidirectional: LF_BIDI_* */
    int return_state;    /* LSTM, GRU, SimpleRNN, Bidirectional: Keras' return_state */
    size_t units;        /* LSTM, GRU, SimpleRNN, Bidirectional: units (infer) */
    size_t n_outs;       /* outputs of the node: 0 or 1 one (its shape), more: views
                            into its one buffer (its record's `outputs`), read
                            only through OutputView nodes (layers/view.c) */
    size_t view;         /* OutputView: the output it views */
    size_t param_off;    /* offset into the flat parameter block */
    size_t n_params;
    size_t aux_per_row;  /* scratch floats per batch row (see graph.c) */
    size_t aux_fixed;    /* scratch floats of the node whatever the batch, after them */
    int needed;          /* an ancestor of an output (set by compile) */
    int frozen;          /* Keras' trainable = False (lf_set_trainable) */
    int out_k;           /* its index among the outputs, -1 if none (compile) */
    int grad_needed;     /* backward reaches it: it or an ancestor has weights
                            that train (lf_graph_plan) */
    int sole_user;       /* the one node that reads it, as its only input and
                            through no other edge, or -1 (lf_graph_plan) */
    /* TimeDistributed (layers/time_distributed.c): a node computed on the
     * steps of one, between its TimeDistributedInput and its TimeDistributed
     * node, runs on B * td_steps rows of its per-step shape */
    int td;              /* 1 + the id of that TimeDistributedInput; 0: none */
    size_t td_steps;     /* its steps T (the rows per sample); 0 when td is 0 */
    size_t kv_heads;     /* GroupedQueryAttention: num_key_value_heads (its query heads
                            are `heads`); 0: MultiHeadAttention, as many as `heads` */
    float threshold_factor[2]; /* Solarization (its addition_factor: factor) */
    int jitter_on;       /* RandomColorJitter (hsv.c): which sub-layers apply, bits
                            1 brightness, 2 contrast, 4 saturation, 8 hue */
    float jitter[8];     /* their factors' [lower, upper], in that order */
} lf_node;

/* Rows per sample of a node's workspace buffers: T on a TimeDistributed's
 * steps, else 1. */
static inline size_t lf_node_rows(const lf_node *nd) { return nd->td_steps ? nd->td_steps : 1; }

/* One output of a compiled model: Keras' compile(loss=[...],
 * loss_weights=[...]) entry for it. */
typedef struct lf_output {
    int node;
    lf_loss loss;
    float weight;        /* its loss weight */
    int fused;           /* its loss is computed from its logits */
    int from_logits;     /* Keras' from_logits=True: its values are the logits
                          * (lf_model_set_from_logits); fused is then unused */
} lf_output;

/* Buffers for one batch size: per node, its output, its gradient and its
 * scratch, all carved from one block. */
/* Sums over the ranks of a data-parallel fit (fit.c): sum(ctx, v, n)
 * replaces v[0..n) by its sum over every rank, added in rank order, so
 * every rank gets the same bits.  A failed collective call is recorded by
 * the owner (the fit fails after the step); v is then left as it was.
 * buf: room for cap doubles that a layer may use for v (no allocation in a
 * step); cap is at least 2 C + 1 for every BatchNormalization of C
 * channels. */
typedef struct lf_reduce {
    void (*sum)(void *ctx, double *v, size_t n);
    void *ctx;
    double *buf;
    size_t cap;
} lf_reduce;

typedef struct lf_ws {
    size_t batch;        /* rows the buffers hold */
    size_t n_nodes;
    void *mem;           /* the one block everything is carved from */
    int owned;           /* mem was allocated (else the caller's buffer) */
    float *block;
    float **out, **dout, **aux;
    float **seq_mask;    /* per node: its padding mask (B x steps) when the
                            node owns one (nd->seq_mask == its id), else NULL */
    const float **xmask; /* scratch: the padding masks of one node's inputs */
    const float **xs;    /* scratch: the inputs of one node (max fan-in) */
    float **ds;          /* their gradients */
    size_t *dims;        /* their dims */
    const float **xin;   /* scratch: one pointer per model input */
    int with_grads;
    int training;        /* the last forward pass drew dropout masks */
    int logits_only;     /* set by the caller: forward may leave the output's
                            softmax undone (a fused loss reads the logits) */
    const lf_reduce *reduce; /* set by the caller: sums over MPI ranks, or NULL */
    float act_scale;     /* set by the caller: backward adds this times the
                            activity regularizers' gradient (1 / the batch's
                            rows); 0: none */
} lf_ws;

struct lf_model {
    lf_err err;
    lf_status sticky;        /* first builder error, LF_OK if none */
    lf_err sticky_err;       /* its message (err may be overwritten since: lf_build_stuck puts it back) */
    lf_rng rng;              /* init, dropout, shuffling */
    lf_node *nodes;
    size_t n_nodes, cap_nodes;
    int *inputs;             /* node ids of the inputs, in creation order */
    size_t n_inputs;

    float *params;           /* flat blocks, n_params each */
    float *grads, *m1, *m2;  /* allocated by compile */
    float *m3;               /* the third moment (lf_optim_third), or NULL */
    size_t n_params, cap_params;
    /* while a file is loaded (model_io.c): the weights its tensors store;
     * a layer whose weights, with the earlier layers', pass that by more
     * than LF_LOAD_SLACK floats is refused before they are allocated, so a
     * small file cannot make the loader allocate gigabytes.  The slack
     * lets a file missing a tensor or two be reported by the tensor's
     * name.  0 outside a load: no limit. */
    int load_limited;
    size_t load_stored;
    uint64_t step;           /* optimizer steps taken */

    int compiled;
    int output;              /* outs[0]'s node, loss and fusion: the one */
    lf_loss loss;            /* output of a single-output model */
    lf_optimizer opt;
    int fused;               /* loss computed from the output's logits */
    lf_output *outs;         /* the outputs, n_outputs of them (compile) */
    size_t n_outputs;
    int *decl_outs;          /* lf_model_set_outputs: an uncompiled model's
                              * output nodes (n_decl_outs; compile's win) */
    size_t n_decl_outs;

    /* lf_model_attach_textvec: the TextVectorization that feeds input node
     * i is textvec[i] (n_textvec entries; NULL where none) */
    lf_textvec **textvec;
    size_t n_textvec;
    /* lf_model_attach_lookup: the StringLookup / IntegerLookup that feeds
     * input node i is lookup[i] (n_lookup entries; NULL where none) */
    lf_lookup **lookup;
    size_t n_lookup;

    lf_ws train_ws;          /* reused across fits */
    double *hist;            /* (4 + 4 n_outputs) x epochs: loss, val_loss,
                                acc, val_acc, then per output the same */
    lf_history history;
    int stop_requested;      /* lf_model_stop_training during the fit under way */
    char *metrics[2];        /* lf_model_set_metrics: compile's metrics and
                              * weighted_metrics as JSON (NULL: none) */
    lf_rate_fn rate_fn;      /* lf_model_set_rate_fn (NULL: the optimizer's rate) */
    void *rate_ctx;
    float step_rate;         /* rate_fn's rate of the next step (rate_checked) */
};

#define LF_LOAD_SLACK ((size_t)1 << 20)

/* builder.c: *out = j as lf_model_set_metrics keeps it (compact JSON,
 * LF_FREE it) if j is a list or object of metric names, else LF_ERR_ARG
 * with a sentence naming it `what` */
struct lf_json;
lf_status lf_metrics_json(const char *what, const struct lf_json *j, char **out, lf_err *e);

/* ---- model.c: the model's lifetime and errors */
/* Frees the graph and weights, leaving an empty model (seed and message
 * kept). */
void lf_model_reset(lf_model *m);

/* Records an error on the model and returns st. */
lf_status lf_model_fail(lf_model *m, lf_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Workspace for `batch` rows (with gradient buffers when with_grads),
 * carved from buf when it has buf_bytes enough (buf may be NULL). */
lf_status lf_ws_init(lf_ws *ws, const lf_model *m, size_t batch, int with_grads, void *buf,
                     size_t buf_bytes);
void lf_ws_free(lf_ws *ws);

/* Forward pass of B rows.  x[i] points at the first of B rows of input i
 * (the input nodes' outputs point there, nothing is copied).  With
 * training != 0 and rng, dropout and augmentation draw from a key taken
 * from rng (one value; the batch's rows are rows 0..B-1). */
void lf_graph_forward(const lf_model *m, lf_ws *ws, const float *const *x, size_t B,
                      int training, lf_rng *rng);
/* The same with the draws given (NULL: none), as a fit step makes them. */
void lf_graph_forward_drawn(const lf_model *m, lf_ws *ws, const float *const *x, size_t B,
                            int training, const lf_draws *draws);

/* Backward pass: ws->dout of every output must hold dL/d(output) (or dL/dz
 * of its pre-activation when it is fused).  Accumulates into grads (which
 * the caller zeroes) for the nodes that train; skips the nodes backward
 * need not reach (no weights that train at or below them).  With
 * input_grads, also fills ws->dout of inputs. */
void lf_graph_backward(const lf_model *m, lf_ws *ws, float *grads, size_t B, int input_grads);

/* Pre-activation of output node `id` (the logits) for the fused losses. */
const float *lf_graph_logits(const lf_model *m, const lf_ws *ws, int id);

/* Sets every node's grad_needed from the frozen flags, and its sole_user
 * (compile and lf_set_trainable call it). */
void lf_graph_plan(lf_model *m);

/* The runs of parameters that train (trains != 0: not frozen, not fixed)
 * or that do not (trains == 0), in order, adjacent ones merged when merge
 * is set (else one run per weight): writes at most cap (offset, count)
 * pairs into runs and returns how many runs there are (n_nodes *
 * LF_MAX_WEIGHTS always suffice). */
size_t lf_param_runs(const lf_model *m, int trains, int merge, size_t *runs, size_t cap);

/* ---- fit.c: training from rows the caller assembles (no copy of the
 * data set).  gather fills, for n row ids, the inputs' rows (x[i]: n x
 * dim_i) and the targets (t: n x target columns; with several outputs,
 * output k's n x cols_k block follows output k-1's).  Rows [0, n): the
 * last n_val of them validate when n_val > 0 (the options' validation_split
 * must then be 0), else the options' validation_split is taken from the
 * end, as lf_model_fit does. */
typedef struct lf_row_source {
    size_t n;
    void (*gather)(void *ctx, const size_t *rows, size_t n, float *const *x, float *t);
    void *ctx;
    /* optional (may be NULL): called with the next batch's row ids before
     * the current batch trains, to start fetching rows scattered over a
     * large input; it must not change anything the gather reads */
    void (*prefetch)(void *ctx, const size_t *rows, size_t n);
    size_t n_val; /* 0, or how many of the last rows are validation rows */
} lf_row_source;
lf_status lf_model_fit_source(lf_model *m, const lf_row_source *src, const lf_fit_options *opt);

/* ---- layers/seq.c: the token ids of n rows of the inputs x that feed an
 * Embedding or a CategoryEncoding, checked to be integers in [0, input_dim)
 * (CategoryEncoding's num_tokens): LF_ERR_ARG with "<what>: Embedding 'e'
 * got token id ..." (or "CategoryEncoding 'c' ...") in e (may be NULL) at
 * the first bad one. */
lf_status lf_token_ids_check(const lf_model *m, const float *const *x, size_t n, const char *what, lf_err *e);
/* The same over typed input arrays (lf_model_*_arrays). */
lf_status lf_token_ids_check_typed(const lf_model *m, const lf_typed_array *x, size_t n, const char *what,
                                   lf_err *e);

/* ---- loss.c */
/* Fills dy (B x D) with d(batch loss)/d(output) — or d/d(logits) when
 * fused is 1 (fused 2: from_logits, z = y are the logits, dy is d/dy) —
 * where batch loss = sum_r w_r l_r / B_norm, and returns
 * sum_r w_r l_r.  Counts correct predictions into *correct (may be NULL). */
double lf_loss_eval(lf_loss loss, int fused, const float *y, const float *z, const float *t,
                    const float *w, size_t B, size_t D, double B_norm, float *dy,
                    size_t *correct);
/* Number of target columns the loss expects for an output of dim D. */
size_t lf_loss_target_cols(lf_loss loss, size_t D);
int lf_loss_has_accuracy(lf_loss loss);
/* ---- regularizer.c: the weight penalties, sum over the layers that train
 * of l1 sum|W| + l2 sum W^2 over their regularized weights; adds their
 * gradient into grads if non-NULL */
double lf_weight_penalty(const lf_model *m, float *grads);
/* sum over the needed nodes with an activity regularizer of their
 * l1 sum|y| + l2 sum y^2 over the B rows of ws's last forward pass */
double lf_activity_penalty(const lf_model *m, const lf_ws *ws, size_t B);
/* dy (B x nd->dim) += scale * (l1 sign(y) + 2 l2 y) of nd's activity regularizer */
void lf_activity_grad(const lf_model *m, const lf_node *nd, const float *restrict y, float *restrict dy, size_t B,
                      float scale);
/* node id (or the layer it shares) has an activity regularizer */
int lf_node_has_activity(const lf_model *m, int id);

/* ---- constraint.c: every constraint set, applied to the weights of the
 * layers that train (after each optimizer step) */
void lf_constraints_apply(lf_model *m);

/* ---- optim.c: one update of the flat blocks (step t >= 1).  The gradient
 * is consumed: g is left all zero, ready for the next backward pass to add
 * into (zeroing it in the update's own loop costs nothing: the loop waits on
 * its divisions, not on memory).  Every weight and moment it stores is
 * flushed to zero below FLT_MIN (subnormals are slow on x86). */
void lf_optim_step(const lf_optimizer *o, float *restrict w, float *restrict g, float *restrict m1,
                   float *restrict m2, float *restrict m3, size_t n, uint64_t t);
/* The name of the optimizer's third moment ("velocity_hat" of adam with
 * amsgrad, "average_gradient" of centered rmsprop, Keras' names), NULL for
 * an optimizer that keeps two (m3 is then NULL) */
const char *lf_optim_third(const lf_optimizer *o);
/* Whether the state array `slot` (0: m1, 1: m2, 2: m3) is >= 0 in every
 * state the updates leave (second moments, accumulators, adamax's norm,
 * amsgrad's maximum; adadelta's both). */
int lf_optim_nonneg(const lf_optimizer *o, int slot);
/* Keras 3's gradient clipping (the one clip of o that is set; none: nothing)
 * of the gradients g of the n_vars weights at (offset, count) pairs vars
 * (each weight one variable: clipnorm is per weight, global_clipnorm over
 * them all).  Norms are summed in double, in order. */
void lf_optim_clip(const lf_optimizer *o, float *g, const size_t *vars, size_t n_vars);
/* Keras 3's decoupled weight decay, w -= w * weight_decay * learning_rate,
 * on the n_runs (offset, count) runs of w (nothing when it is 0). */
void lf_optim_decay(const lf_optimizer *o, float *w, const size_t *runs, size_t n_runs);
/* Whether o's update squares the gradient into a moment (adam, nadam,
 * rmsprop, adagrad, adadelta: a float gradient above sqrt(FLT_MAX), about
 * 1.8e19, makes that moment inf, and Keras 3's v += (g^2 - v)(1 - b2) then
 * NaN at the next step). */
int lf_optim_squares(const lf_optimizer *o);
/* When o squares the gradient: the index of the first of the n gradients
 * g that is finite and whose square is not (it would make o's moment inf,
 * which no loss shows), n when there is none; n always when o does not
 * square it (NaN and infinite gradients are not looked for: the loss that
 * they make NaN ends the fit, Keras' TerminateOnNaN). */
size_t lf_optim_overflows(const lf_optimizer *o, const float *g, size_t n);
/* avg = momentum * avg + (1 - momentum) * w (Keras' use_ema), flushed to
 * zero below FLT_MIN */
void lf_ema_update(float *restrict avg, const float *restrict w, size_t n, float momentum);

#endif
