/*
 * layer.h — the record of a layer kind, and what the records share.
 *
 * Every kind of layer is described once, by an lf_layer_type record defined
 * in its layer-family file (dense.c, merge.c, ...) and listed in the layer
 * table (LF_LAYER_TABLE in model.h).  The rest of the engine reaches a kind
 * only through its record: the builder (shape inference, weights by name),
 * graph.c (forward and backward), model_io.c (the architecture JSON and the
 * tensors of the model file) and loss.c (the L2 penalty).
 *
 * To add a kind: write its record (and its public builder function, which
 * fills a node and calls lf_node_add) in its family file, add one line to
 * LF_LAYER_TABLE, declare the builder in include/latefuse.h, and add its
 * Python class (python/latefuse/layers.py).  docs/layout.md says the
 * same with an example.
 *
 * The sequence padding mask (Keras' mask_zero) — not the float `mask` of
 * lf_layer_ctx, which is a weighted layer's modality mask input.  A node
 * whose output is a sequence may carry a padding mask: per batch row, one
 * float per step (1 a real step, 0 padding), `steps` = the product of the
 * output's shape but its last axis ((T, D): T).  Only a mask-making node
 * stores one: Embedding(mask_zero=True) writes, in its forward pass, 0
 * where the token id is 0; Masking (masking.c) 0 where a step's features
 * all equal mask_value.  The mask lives in the workspace,
 * ws->seq_mask[owner] (B x steps, row-major), and every node records in
 * nd->seq_mask which node owns the mask of its output (-1: none), so
 * nothing is copied from layer to layer.  lf_node_add sets nd->seq_mask
 * from the record's `masking`:
 *   LF_MASKING_NONE  (0, the default) the output has no mask: Keras' layers
 *                    that do not support masking destroy it (Conv1D,
 *                    Flatten, PositionEmbedding, ...) and the poolings
 *                    consume it;
 *   LF_MASKING_KEEP  the output carries its inputs' mask (Dense on (T, D),
 *                    Dropout, Activation, Identity,
 *                    LayerNormalization, BatchNormalization,
 *                    GroupNormalization, UnitNormalization,
 *                    Rescaling, Normalization): the one mask
 *                    among the inputs (inputs masked by two different
 *                    owners are refused at build time);
 *   LF_MASKING_FIRST the output carries its first input's mask, whatever
 *                    the others carry (MultiHeadAttention: the query's);
 *   LF_MASKING_OWN   the node owns a mask: its infer sets nd->seq_mask to
 *                    the new node's id (m->n_nodes) when it makes one, and
 *                    its forward writes c->out_mask (or sets it to an
 *                    input's owner: Concatenate and the elementwise merges,
 *                    merge.c, choose between both).
 * A kind that uses masks reads c->in_masks[i], the padding mask of input i
 * (B x steps of that input), or NULL when input i carries none
 * (MultiHeadAttention: query and key/value masks; the 1-D global poolings:
 * the steps to pool over).  The mask is read in the backward pass from the
 * same workspace the forward pass wrote it to.
 */
#ifndef LF_LAYER_H
#define LF_LAYER_H

#include "io/json.h"
#include "model.h"

/* One weight tensor of a node, as the model file and lf_get_weights see
 * it: its slice of the node's parameters and its row-major shape. */
#define LF_MAX_WEIGHTS 8   /* weight tensors of one node */
#define LF_WEIGHT_DIMS 5   /* dimensions of one weight tensor (Conv3D's kernel: 5) */
typedef struct lf_weight {
    const char *suffix;    /* tensor "<layer>.<suffix>": "kernel", "bias", "W" */
    size_t off;            /* first value, counted from the node's param_off */
    size_t ndim;           /* 1 .. LF_WEIGHT_DIMS */
    size_t shape[LF_WEIGHT_DIMS];
    int l2;                /* the node's l2 penalty applies to it */
    int fixed;             /* not trained: no gradient, "non-trainable" in the
                              summary (BatchNormalization's moving statistics) */
    int bias_l2;           /* the node's bias_l2 penalty applies to it */
    int recurrent;         /* the node's recurrent_regularizer applies to it */
} lf_weight;

/* One output of a node with several (Keras' layer that returns a list:
 * LSTM(return_state=True), Bidirectional(merge_mode=None)): the node's one
 * buffer (B, nd->dim) holds them side by side in each row, output k the
 * values [off, off + its dim) of the row, shaped shape[0..rank); seq_mask
 * the node owning its padding mask, -1 if none (Keras' compute_mask). */
#define LF_MAX_OUTS 8
typedef struct lf_out_view {
    size_t off, rank, shape[LF_MAX_RANK];
    int seq_mask;
} lf_out_view;

/* What a forward or backward pass of one node works on.  graph.c fills it:
 * the buffers of the node and of its inputs (in the order of nd->in) and
 * the graph-level facts a kind may need. */
typedef struct lf_layer_type lf_layer_type;
typedef struct lf_layer_ctx {
    const lf_model *m;
    const lf_layer_type *t;    /* the node's record */
    const lf_node *nd;
    size_t B;                  /* batch rows */
    const float *const *xs;    /* inputs: xs[i] is (B, dims[i]) */
    const size_t *dims;
    float *const *dxs;         /* backward: their gradients (+=), NULL where not needed */
    int dx_fresh;              /* backward, only for a kind whose record sets
                                  dx_assign: dxs[0] holds no values yet, and
                                  the pass writes (=) every one of them
                                  instead of adding (the node is its input's
                                  only reader, so graph.c skips zeroing it) */
    float *y;                  /* output (B, nd->dim) */
    int fused_relu;            /* BatchNormalization: its one reader, an
                                  Activation(relu), is folded into it
                                  (graph.c): forward writes relu of its
                                  output to y, and backward's dy is the
                                  relu's output gradient, 0 where y is */
    int relu_masked;           /* the folded relu's gradient is applied by
                                  its one reader, a MaxPooling2D (graph.c):
                                  in that BatchNormalization, dy already
                                  has it; in that MaxPooling2D, backward
                                  writes dx only where its own output (the
                                  chosen relu output) is > 0, 0 elsewhere */
    const float *dy;           /* backward: d loss / d y (d / d logits when fused) */
    float *aux;                /* B x nd->aux_per_row scratch kept from forward to backward */
    const float *w;            /* the node's parameters (param_off) */
    float *dw;                 /* backward: their gradients (+=) */
    const float *mask;         /* rows of the node's mask input, or NULL */
    const float *const *in_masks; /* in_masks[i]: padding mask (B x steps) of
                                     input i, or NULL (the top of this file) */
    float *out_mask;           /* LF_MASKING_OWN: the mask this node writes, or NULL */
    const float *gate;         /* rows of the node's gate input, or NULL */
    float *dgate;              /* backward: its gradient (+=), or NULL */
    int is_output;             /* the node is the model's output */
    int logits_only;           /* forward: the output's softmax may be left undone */
    int fused;                 /* backward: dy is d loss / d logits of the output */
    int training;              /* a training pass (the forward one drew dropout masks) */
    uint64_t draw_id;          /* a kind that draws: the node's place among the
                                  model's such nodes (0, 1, ... in node order),
                                  which names its streams: the same in any
                                  build of the same layers (ids would differ
                                  where a builder adds other nodes) */
    const lf_draws *draws;     /* a training pass's random draws (dropout,
                                  augmentation), or NULL: none are drawn */
    const lf_reduce *reduce;   /* a data-parallel fit over P > 1 ranks: sums
                                  over the ranks (BatchNormalization's
                                  statistics), else NULL */
} lf_layer_ctx;

/* The record's `masking`: how a node's output gets its padding mask (the
 * top of this file). */
enum { LF_MASKING_NONE = 0, LF_MASKING_KEEP, LF_MASKING_FIRST, LF_MASKING_OWN };

/* The padding-mask steps of a node's output: its dim over its last axis. */
static inline size_t lf_mask_steps(const lf_node *nd) { return nd->dim / nd->shape[nd->rank - 1]; }

/* The record of one layer kind.  Functions that a kind does not need are
 * NULL.  Builder errors are reported through lf_build_fail (sticky). */
struct lf_layer_type {
    const char *type;          /* Keras class name: the JSON "type" */
    const char *prefix;        /* default layer names: prefix, prefix_1, ... */
    const char *const *keys;   /* the JSON fields a layer of this kind may have */
    int is_input;              /* a model input: no inbound layers, fed by the caller */
    int op;                    /* a variant shared functions switch on (merge ops) */
    int l2;                    /* lf_set_l2 applies (to the weights marked l2) */
    int bias_l2;               /* lf_set_bias_l2 applies (to the weights marked bias_l2) */
    int recurrent_reg;         /* LF_REG_RECURRENT applies (to the weights marked recurrent) */
    int activity_reg;          /* LF_REG_ACTIVITY applies (to the output) */
    int frozen_infers;         /* trainable = False runs it in inference mode
                                  (BatchNormalization, as Keras) */
    int masking;               /* LF_MASKING_*: what the output's padding mask is */
    int draws;                 /* draws random numbers in training (lf_layer_ctx.draw_id) */
    /* When not NULL, whether a node of the kind draws (instead of `draws`):
     * the recurrent layers draw only with dropout set, so that adding the
     * option left the other nodes' draw ids, and their bits, as they were */
    int (*draws_if)(const lf_node *nd);
    /* When not NULL and nd->n_outs > 1: fills v (room for LF_MAX_OUTS)
     * with the node's outputs and returns their count, nd->n_outs.  Only an
     * OutputView node (layers/view.c) reads such a node: lf_node_add
     * refuses any other reader, compile refuses it as a model output. */
    size_t (*outputs)(const lf_model *m, const lf_node *nd, lf_out_view *v);
    int views;                 /* the kind may read a node of several outputs
                                  (OutputView) */
    int dx_assign;             /* one input, whose gradient backward can write
                                  whole (lf_layer_ctx.dx_fresh) */

    /* Shape inference and validation: checks the inputs `in` (ids, not yet
     * checked to be nodes unless the kind does it) and the settings the
     * builder put in nd, then sets nd->dim and nd->aux_per_row, and the
     * shape (lf_shape_set) unless lf_node_add's default fits: the first
     * input's shape when the dim is the same, else flat.  Returns 0 after
     * lf_build_fail.  t is the record itself (a family's shared
     * function names its kind by t->type). */
    int (*infer)(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in);
    /* The weight tensors of a node whose inputs are set: fills w (room for
     * LF_MAX_WEIGHTS) and returns their count.  The one place a kind's
     * weight layout is written: n_params, lf_get_weights, the model file
     * and the L2 penalty all follow it. */
    size_t (*weights)(const lf_model *m, const lf_node *nd, lf_weight *w);
    /* Initial weights of a new node (draws from m->rng, in creation order). */
    void (*init)(lf_model *m, lf_node *nd);

    void (*forward)(const lf_layer_ctx *c);
    void (*backward)(const lf_layer_ctx *c);
    /* For kinds that end in nd->act: the pre-activation of node `id` (the
     * logits a fused loss reads).  NULL: the kind has no activation. */
    const float *(*logits)(const lf_model *m, const lf_ws *ws, int id);

    /* Appends the kind's own JSON fields (",\"units\":3,..."). */
    void (*write_json)(const lf_model *m, const lf_node *nd, lf_buf *b);
    /* Reads them into nd (n_in: the inbound layers given); on failure
     * returns the status with a message "<where>: ..." in e. */
    lf_status (*read_json)(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd,
                           const char *where, lf_err *e);
};

/* The table: lf_layer_types[kind] is the record of that kind. */
#define LF_TYPE_DECLARE_(kind, record) extern const lf_layer_type record;
LF_LAYER_TABLE(LF_TYPE_DECLARE_)
#undef LF_TYPE_DECLARE_
extern const lf_layer_type *const lf_layer_types[LF_K_COUNT];

static inline const lf_layer_type *lf_type_of(const lf_node *nd) {
    return lf_layer_types[nd->kind];
}

/* A node draws random numbers in training (its record's draws_if or draws). */
static inline int lf_node_draws(const lf_node *nd) {
    const lf_layer_type *t = lf_type_of(nd);
    return t->draws_if ? t->draws_if(nd) : t->draws;
}

/* table.c: the weight tensors of node nd (its record's layout); returns
 * their count (0 for a node that shares another's weights). */
size_t lf_node_weights(const lf_model *m, const lf_node *nd, lf_weight *w);

/* ---- layer.c: what the records and their builders share */

/* A node's settings before it is added: no gate, no mask. */
#define LF_NODE_PROTO {.gate = -1, .mask = -1, .seq_mask = -1, .sole_user = -1}

/* Adds a node of kind `kind` (record t) with the settings in proto: runs
 * the record's infer, checks the name and the inputs, lays out and
 * initialises the weights.  Returns the node id, or -1 (sticky error). */
int lf_node_add(lf_model *m, const lf_layer_type *t, lf_kind kind, lf_node proto, const int *in,
                size_t n_in, const char *name);

/* Checks that node nd (its inputs set) may use the weights of node
 * owner: the same kind and weight tensors of the same shapes.  0 after
 * lf_build_fail. */
int lf_share_check(lf_model *m, const lf_node *nd, int owner);

/* Whether node i's weights get gradients once compiled: it or a node
 * sharing its weights (lf_share_weights) feeds an output.  Keras' optimizer
 * skips the variables without a gradient (their constraints too), while
 * the weights of a layer some call of which the model uses keep their
 * regularizers' penalties (constraint.c, regularizer.c). */
int lf_weights_used(const lf_model *m, size_t i);

/* 1 when a builder error is pending (m->sticky), its message put back in
 * m->err (another call may have replaced it since): the early exit of
 * every builder call and of compile. */
int lf_build_stuck(lf_model *m);

/* A sticky builder failure: records the first message (kept apart in
 * m->sticky_err, and in m->err), returns 0. */
int lf_build_fail(lf_model *m, lf_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* "(None, 64, 64, 3)": a node's shape as Keras' summary prints it. */
void lf_shape_str(const lf_node *nd, char *buf, size_t cap);
/* Sets nd's shape (rank dims) and dim, their product; 0 after
 * lf_build_fail (a dim of 0, a rank outside 1..LF_MAX_RANK, too large). */
int lf_shape_set(lf_model *m, const char *kn, lf_node *nd, size_t rank, const size_t *dims);
/* The single input of a one-input kind kn, checked to be a node and, when
 * rank != 0, to have that per-sample rank ("Conv2D: input 'x' has shape
 * (None, 12); it needs rank 4 (batch, height, width, channels)"); NULL
 * after lf_build_fail. */
const lf_node *lf_input_node(lf_model *m, const char *kn, const int *in, size_t n_in, size_t rank);

/* Values in weight w. */
size_t lf_weight_count(const lf_weight *w);

/* Inputs of a merge (merge.c): n >= min_n nodes, of equal dims unless not
 * `equal`; *dim is the common dim (or their sum).  0 after lf_build_fail,
 * whose message starts with the kind's name kn. */
int lf_merge_dims(lf_model *m, const char *kn, size_t n, const int *xs, size_t min_n, int equal,
                  size_t *dim);

/* Checks an activation value; 0 after lf_build_fail. */
int lf_check_act(lf_model *m, lf_activation act);

/* Architecture JSON fields, for the records' read_json. */
const char *lf_arch_str(const lf_json *obj, const char *key);
int lf_arch_node(const lf_model *m, const lf_json *j); /* an earlier layer by name, or -1 */
lf_status lf_arch_float(const lf_json *obj, const char *key, float lo, float hi, float *out,
                        const char *where, lf_err *e);
/* A number that, as a float, is finite and in [lo, hi], the ends left out
 * by the flags (hi INFINITY: no upper bound; lo -INFINITY and hi INFINITY:
 * any finite number, "'<key>' must be a finite number"): the range the builder or
 * lf_model_compile accepts, so that every file they let a model write is
 * read back. */
enum { LF_ARCH_LO_OPEN = 1, LF_ARCH_HI_OPEN = 2 };
lf_status lf_arch_float_in(const lf_json *obj, const char *key, float lo, float hi, int open, float *out,
                           const char *where, lf_err *e);
lf_status lf_arch_bool(const lf_json *obj, const char *key, int *out, const char *where,
                       lf_err *e);
/* ,"key":[lo,hi] (the augmentation layers' factor and value_range pairs) */
void lf_arch_write_pair(lf_buf *b, const char *key, float lo, float hi);
/* A pair of finite numbers under key into v[0..2) ("'<key>' must be a pair
 * of finite numbers") */
lf_status lf_arch_float_pair(const lf_json *L, const char *key, float *v, const char *where, lf_err *e);
/* augment.c: a node of kind k with factor (lower, upper) and value_range
 * (value_low, value_high): RandomContrast, RandomBrightness and hsv.c's
 * layers */
int lf_factor_layer_add(lf_model *m, const lf_layer_type *t, int k, int x, float lower, float upper, float value_low,
                        float value_high, const char *name);
/* The optional field "bias_l2" (lf_set_bias_l2): written only when not 0,
 * so that the files of layers without one stay as they were; absent reads
 * as 0. */
void lf_arch_write_bias_l2(const lf_node *nd, lf_buf *b);
lf_status lf_arch_read_bias_l2(const lf_json *obj, lf_node *nd, const char *where, lf_err *e);
/* regularizer.c: the optional field "regularizers" any layer may have
 * (written only when set; read after the node is added, through
 * lf_set_regularizer's checks) */
void lf_arch_write_regularizers(const lf_node *nd, lf_buf *b);
lf_status lf_arch_read_regularizers(lf_model *m, int id, const lf_json *L, const char *where, lf_err *e);
/* A list of min_n..max_n integers in lo..hi into out; *n its length (n
 * may be NULL). */
lf_status lf_arch_sizes(const lf_json *obj, const char *key, size_t lo, size_t hi, size_t min_n,
                        size_t max_n, size_t *out, size_t *n, const char *where, lf_err *e);
/* conv.c: the output size of one spatial axis of `in` pixels under a
 * window k, stride s and padding p (0: the window does not fit), and in
 * *pad the padding before the first pixel (Keras: the odd one after). */
size_t lf_conv_out(size_t in, size_t k, size_t s, lf_padding p, size_t *pad);
/* conv.c: the geometry of a 2-D convolution of one image x (H, W, C) into
 * (Ho, Wo, F) under a window (kh, kw), strides (sh, sw) and the padding pt
 * rows above, pl columns left (those below / right: whatever the sizes
 * leave), dilations (dh, dw); K = kh kw C.  lf_im2col writes the columns (Ho Wo, K) of x, a
 * row per output pixel, zeros where the window leaves the image;
 * lf_col2im adds such columns back onto x's (H, W, C) values (the
 * transpose).  Conv2D's passes use them, and Conv2DTranspose
 * (conv_transpose.c) the other way round. */
typedef struct lf_conv_geom {
    size_t H, W, C, Ho, Wo, kh, kw, sh, sw, pt, pl, F, K;
    size_t dh, dw; /* dilation_rate: tap (ky, kx) at (ky dh, kx dw) */
} lf_conv_geom;
void lf_im2col(float *restrict cols, const float *restrict x, const lf_conv_geom *g);
void lf_col2im(float *restrict dx, const float *restrict dcols, const lf_conv_geom *g);
/* conv.c: images per chunk for P output pixels an image, and whether the
 * chunks of a batch of B go to OpenMP's threads (values: the batch's
 * columns), the rule Conv2D follows */
size_t lf_conv_chunk_images(size_t P);
int lf_conv_chunks_parallel(size_t B, size_t per, size_t values);
/* conv.c: the JSON fields Conv1D (rank 1) and Conv2D (rank 2) share —
 * filters (nd->shape[rank]), kernel_size and strides (rank values each),
 * padding ("causal" for rank 1), activation, use_bias, l2, bias_l2 —
 * written, and read into nd with the optional dilation_rate (absent: 1)
 * (type names the kind in messages).  Conv1D and Conv2D write
 * dilation_rate after them (lf_conv_write_dilation). */
void lf_conv_write_json(const lf_node *nd, size_t rank, lf_buf *b);
extern const char *const lf_conv_keys[]; /* those fields, with name, type, inbound */
/* the optional "dilation_rate" alone, written when not 1 and read (absent: 1) */
void lf_conv_write_dilation(const lf_node *nd, size_t rank, lf_buf *b);
lf_status lf_conv_read_dilation(const lf_json *L, size_t rank, lf_node *nd, const char *where, lf_err *e);
lf_status lf_conv_read_json(const lf_json *L, size_t n_in, size_t rank, const char *type, lf_node *nd,
                            const char *where, lf_err *e);
/* conv.c: lf_conv_out for a window of k taps d apart (Keras'
 * dilation_rate): the window d (k - 1) + 1 long; LF_PADDING_CAUSAL pads
 * d (k - 1) before */
size_t lf_conv_out_dilated(size_t in, size_t k, size_t s, size_t d, lf_padding p, size_t *pad);
/* conv.c: checks a convolution's kernel_size, strides and dilation_rate
 * (rank values each: 1..1024, strides and dilation not both above 1, as
 * Keras' base_conv.py) and its padding (causal only when `causal`); 0
 * after lf_build_fail, whose message starts with kn */
int lf_conv_check(lf_model *m, const char *kn, const lf_node *nd, size_t rank, int causal);
/* ---- conv_setup.c: the node set-up the convolution kinds share */
typedef struct lf_conv_spec {
    const char *kn;     /* the kind's name, first in every message */
    size_t rank;        /* spatial axes: 1 (x (T, C)), 2 (x (H, W, C)) or 3 (x (D, H, W, C)) */
    int filters;        /* nd->dim holds filters (1..LF_ARCH_MAX_DIM) */
    int depthwise;      /* nd->depth_multiplier (1..LF_ARCH_MAX_DIM) */
    int causal;         /* padding "causal" allowed (Conv1D) */
    int transpose;      /* a transposed convolution: output_padding below strides */
    int dilation_said;  /* the too-small message names the dilation even when 1 */
    /* an axis' output size (NULL: lf_conv_out_dilated) and its padding */
    size_t (*axis_out)(const lf_node *nd, size_t a, size_t in, size_t *pad);
} lf_conv_spec;
/* Checks nd's input (rank + 1 dims), activation and settings as s says and
 * puts the output's spatial sizes in out[0], out[1] (1 for rank 1), and
 * out[2] for rank 3;
 * returns the input node, or NULL after lf_build_fail */
const lf_node *lf_conv_setup(lf_model *m, const lf_conv_spec *s, const lf_node *nd, const int *in, size_t n_in,
                             size_t *out);
/* sets nd's shape (out[0..rank), nd->dim) and checks the columns (P, K)
 * of an im2col and the weights (K, F) (Conv1D, Conv2D, the transposed
 * ones); *cols is P K.  0 after lf_build_fail */
int lf_conv_columns(lf_model *m, const char *kn, lf_node *nd, size_t rank, const size_t *out, size_t P, size_t K,
                    size_t F, size_t *cols);
/* backward's start: dz, the gradient of the pre-activation z (N rows of F
 * values, z in the node's scratch with dz after it, B nd->dim values each)
 * or dy without an activation; and db += dz summed over the rows unless
 * db is NULL */
const float *lf_conv_dz(const lf_layer_ctx *c, float *z, size_t N, size_t F, float *db);
/* The geometry of a 3-D window over one volume x (D, H, W, C) under nd's
 * kernel (kd, kh, kw), strides and padding (pf, pt, pl before the first
 * voxel of each axis; the odd one after): output (Do, Ho, Wo).  Conv3D
 * (conv3d.c) and the 3-D poolings (pool3d.c). */
typedef struct lf_vol_geom {
    size_t D, H, W, C, Do, Ho, Wo, kd, kh, kw, sd, sh, sw, dd, dh, dw, pf, pt, pl;
} lf_vol_geom;
lf_vol_geom lf_vol_geom_of(const lf_node *x, const lf_node *nd);
/* conv3d.c: cols (Do Ho Wo, K = kd kh kw C) and one volume (D, H, W, C) of
 * geometry g.  add 0: cols = x's receptive fields (zeros outside the
 * volume); add 1: dx += cols scattered back (the transpose).  Conv3D's
 * passes, and Conv3DTranspose (conv3d_transpose.c) the other way round. */
void lf_vol2col(float *restrict cols, float *restrict dx, const float *restrict x, const lf_vol_geom *g, size_t K,
                int add);
/* conv_transpose.c: a transposed convolution's output size of one axis of
 * `in` pixels under kernel k, stride s, padding p and output_padding op
 * (LF_INFER: Keras' None), 0 when none; *crop the pixels cropped before the
 * first (Keras' rule: conv_transpose.c's top) */
size_t lf_tconv_out(size_t in, size_t k, size_t s, lf_padding p, size_t op, size_t *crop);
/* a convolution input's (H, W, C); a sequence (T, C) is (T, 1, C) */
void lf_conv_hwc(const lf_node *x, size_t *H, size_t *W, size_t *C);
/* a builder's node: rank values of kernel, strides and dilation (NULL: 1),
 * the axes after them 1 */
lf_node lf_conv_node(size_t rank, size_t filters, const size_t *kernel, const size_t *strides,
                     const size_t *dilation, lf_padding padding, lf_activation act, int use_bias);
/* w: the kernel `name` (window[0..rank), a, b) at off (l2 applies);
 * returns its count of values */
size_t lf_conv_kernel(lf_weight *w, const char *name, size_t off, size_t rank, const size_t *window, size_t a,
                      size_t b);
/* w: "bias" (n) at off (bias_l2 applies) */
void lf_conv_bias(lf_weight *w, size_t off, size_t n);
/* n glorot_uniform values (limit sqrt(6 / (fan_in + fan_out))) from m->rng */
void lf_conv_glorot(lf_model *m, float *w, size_t n, size_t fan_in, size_t fan_out);
/* The weights records and the initialisation of a convolution with
 * Keras' kernel (window..., C, F) and bias (F): Conv1D, Conv2D, Conv3D.
 * The node's rank less one is the window's; C is the input's last axis.
 * The kernel is glorot_uniform (fan_in = window C, fan_out = window F),
 * the bias 0. */
size_t lf_conv_weights(const lf_model *m, const lf_node *nd, lf_weight *w);
void lf_conv_init(lf_model *m, lf_node *nd);
/* "padding": "valid" or "same" (conv.c) */
lf_status lf_arch_padding(const lf_json *L, lf_padding *p, const char *where, lf_err *e);
/* The inbound count a kind requires: "<where>: Dense takes 1 inbound layer" */
lf_status lf_arch_arity(size_t n_in, size_t want, const char *type, const char *where,
                        lf_err *e);
/* resizing.c: one inbound layer and the fields "height" and "width", each
 * an integer in 1..LF_ARCH_MAX_DIM, into nd->kernel[0..2) (Resizing,
 * CenterCrop, RandomCrop) */
lf_status lf_arch_height_width(const lf_json *L, size_t n_in, lf_node *nd, const char *type, const char *where,
                               lf_err *e);

/* attention.c: MultiHeadAttention's call arguments in a model file, which
 * GroupedQueryAttention shares: "use_causal_mask", "attention_mask" (the
 * mask's layer name) and "return_attention_scores", each written only when
 * set */
void lf_mha_write_call(const lf_model *m, const lf_node *nd, lf_buf *b);
lf_status lf_mha_read_call(const lf_model *m, const lf_json *L, lf_node *nd, const char *where, lf_err *e);

/* rnn.c: Keras' Orthogonal (gain 1) for a (rows, cols) weight drawn from
 * r: orthonormal rows when rows <= cols (the recurrent layers' recurrent
 * kernel), else orthonormal columns (ConvLSTM's (kh kw F, 4 F)) */
void lf_orthogonal(float *w, size_t rows, size_t cols, lf_rng *r);

/* ---- constraint.c: Keras' weight constraints (lf_set_constraint) */

/* The role of weight w (lf_weight_role, from its Keras name: "kernel" and
 * "embeddings", "recurrent_kernel", "bias", "gamma", "beta"), or -1. */
int lf_weight_role_of(const lf_weight *w);
/* The layer's optional field "constraints" ({"kernel": {"type":
 * "MaxNorm", "max_value": 2, "axis": [0]}, ...}): written only when one is
 * set, so that other files stay as they were; read after the node is
 * added (id), through lf_set_constraint's checks. */
void lf_arch_write_constraints(const lf_node *nd, lf_buf *b);
lf_status lf_arch_read_constraints(lf_model *m, int id, const lf_json *L, const char *where, lf_err *e);

/* The image augmentation layers (augment.c, color_ops.c, hsv.c): batches of
 * at least this many values are shared out to the threads, each value or
 * row computed the same way on any thread */
#define LF_AUG_PARALLEL 65536
/* Keras' rgb_to_grayscale weights (tf.image.rgb_to_grayscale's): r, g, b */
#define LF_GRAY_R 0.2989f
#define LF_GRAY_G 0.5870f
#define LF_GRAY_B 0.1140f

#define LF_ARCH_MAX_DIM ((size_t)1 << 28)

#endif
