/*
 * rnn.c — Keras' recurrent layers over sequences x (B, T, D): LSTM(units)
 * and GRU(units) with reset_after (Keras 3's default), tanh activation and
 * sigmoid recurrent activation (keras/src/layers/rnn/lstm.py, gru.py), and
 * SimpleRNN(units, activation) (simple_rnn.py, any activation of
 * lf_activation, tanh Keras' default).
 *
 * Weights, Keras' names, order and layout (G = 4 u for LSTM, 3 u for GRU,
 * u for SimpleRNN):
 *   kernel (D, G)   recurrent_kernel (u, G)   bias (G) LSTM, SimpleRNN,
 *   (2, G) GRU
 * the gate blocks of G in Keras' order: LSTM i, f, c, o; GRU z, r, h (GRU's
 * bias row 0 is the input bias, row 1 the recurrent one).  No bias with
 * use_bias false.  kernel glorot_uniform (fan_in D, fan_out G), the
 * recurrent kernel orthogonal (Keras' Orthogonal, gain 1: a normal (G, u)
 * matrix's QR factor Q, signed so that R's diagonal is positive,
 * transposed: rows orthonormal), biases zero but LSTM's forget block, ones
 * with unit_forget_bias.
 *
 * One step from state h (c for LSTM), input x_t (sigma the sigmoid):
 *   LSTM  z = x_t W + h U + b;  i, f, o = sigma(z_i, z_f, z_o), g = tanh(z_c)
 *         c' = f c + i g,  h' = o tanh(c')
 *   GRU   a = x_t W + b_x,  q = h U + b_h
 *         z = sigma(a_z + q_z), r = sigma(a_r + q_r), n = tanh(a_h + r q_h)
 *         h' = z h + (1 - z) n
 *   SimpleRNN  z = x_t W + h U + b,  h' = activation(z)
 * from zero states.  go_backwards runs the steps from t = T - 1 down to 0.
 * The output is h' of every step in the order the steps ran (reversed with
 * go_backwards, as Keras) with return_sequences, (B, T, u), else the last
 * one's, (B, u).
 *
 * A padding mask on x (layer.h): a masked step keeps the states, and its
 * output is the previous step's (zeros before the first unmasked step), as
 * Keras' backend rnn with zero_output_for_mask False, the RNN layer's
 * default (keras/src/backend/tensorflow/rnn.py, `tf.where(mask_t, output,
 * prev_output)`); the output without return_sequences is so the state after
 * the last unmasked step.  With return_sequences the output carries x's
 * mask, unreversed even with go_backwards, as Keras' RNN.compute_mask;
 * without, none.  (TensorFlow's cuDNN path writes zeros at masked steps
 * instead; the generic loop's rule, which every backend runs, is the one
 * followed.)
 *
 * dropout and recurrent_dropout (lf_set_rnn_dropout; nd->rate and
 * nd->recurrent_rate), Keras 3's (keras/src/layers/rnn/dropout_rnn_cell.py:
 * masks drawn once per call and cached for every step; lstm.py, gru.py:
 * recurrent_dropout != 0 sets implementation 1, whose dropout_mask_count
 * of 4 / 3 gives each gate block its own mask of x_t and of h, while
 * implementation 2 multiplies x_t by one mask before the fused kernel;
 * simple_rnn.py: one of each).  In a training pass a direction's masks
 * are row r's draws (lf_draws: stream (key, node, r)) from draw_off on:
 * k_in masks of D for x_t, then k_rec of u for h, each value 0 (draw <
 * rate) or 1 / (1 - rate); the projection x W runs once per x_t mask on
 * x masked, the step's h U once per h mask on h masked (over that mask's
 * gate blocks, all of them when there is one); backward masks the
 * gradients the same way.  LSTM's carry is not dropped (Keras).  Inference
 * passes drop nothing.  A node draws (its draw id counts) only with a rate
 * set.
 *
 * Bidirectional(layer, merge_mode) (keras/src/layers/rnn/bidirectional.py)
 * is one node that runs two copies of the cell, each with its own weights
 * (the forward copy's, then the backward copy's: Keras' get_weights order,
 * tensors "forward.kernel", ..., "backward.bias"): the forward copy, and
 * the backward one from t = T - 1 down, its sequence flipped back to time
 * order.  Keras forces zero_output_for_mask = return_sequences on both
 * copies, so with return_sequences a masked step's output is zeros (and
 * takes no gradient), not the previous output; the states pass as above.
 * Merges: concat writes each copy into its half of y's last axis; sum,
 * mul and ave (y + y_rev) / 2 merge the copies' outputs kept in the
 * scratch, which backward turns into their gradients.  The wrapped
 * layer's go_backwards must be false (Keras refuses two copies running
 * the same way).
 *
 * Speed: x W (+ b) for all steps is one sgemm over the B T rows; each step
 * then adds h U as one sgemm over the batch on strided views of the
 * states.  Backward walks the steps back, one sgemm per step for the
 * states' gradient and one for U's, then one each for W's gradient and
 * x's.  Scratch (aux, region by region, each (B, T, .) row-major):
 *   LSTM  Z (B, T, G) the gates, then their pre-activations' gradients;
 *         H, C (B, T, u) the states after each step; dh, dc (B, u)
 *   GRU   Z (B, T, G) z, r, n, then d a;  Q (B, T, G) h U + b_h, then d q;
 *         H (B, T, u);  dh (B, u)
 *   SimpleRNN  Z (B, T, u) the pre-activations, then their gradients;
 *         H (B, T, u);  dh, dz (B, u)
 *   then, with dropout, M (k_in D + k_rec u) the masks, XD (T, D) x masked
 *   when k_in, HD, DT (u each) h masked and a gradient when k_rec
 *   Bidirectional  the forward copy's regions, the backward copy's, then
 *         (merges but concat) y, y_rev (B, out) each, out = T u or u
 * so training allocates nothing.
 */
#include "kernels.h"
#include "layers/layer.h"
#include "layers/lstm_cell.h"

#include <math.h>
#include <string.h>

typedef struct rnn_geom {
    size_t T, D, u, G;
    int gru, simple;
    size_t k_in, k_rec; /* dropout masks of x_t (D each) and of h (u each) */
} rnn_geom;

/* the gate blocks of each cell, by the record's op: LSTM 0, GRU 1, SimpleRNN 2 */
static size_t gates_of(int op) { return op == 0 ? 4 : op == 1 ? 3 : 1; }

/* Keras' dropout masks of one cell (the top of this file): with
 * recurrent_dropout, LSTM and GRU run implementation 1, one mask per gate
 * block for x_t (when dropout) and for h; else one mask of x_t for all
 * blocks; SimpleRNN one each */
static void drop_masks(int cell, float rate, float recurrent_rate, size_t *k_in, size_t *k_rec) {
    size_t per_gate = recurrent_rate > 0.0f ? gates_of(cell) : 1;
    *k_in = rate > 0.0f ? per_gate : 0;
    *k_rec = recurrent_rate > 0.0f ? per_gate : 0;
}

/* the cell of a node (LF_RNN_*): its kind's, or the one Bidirectional wraps */
static int cell_of(const lf_node *nd) {
    return nd->kind == LF_K_BIDIRECTIONAL ? nd->cell : nd->kind == LF_K_GRU ? 1 : nd->kind == LF_K_SIMPLE_RNN ? 2 : 0;
}

/* units of one direction (infer keeps them) */
static size_t units_of(const lf_node *nd) { return nd->units; }

/* the states of one copy of cell: LSTM h, c; GRU and SimpleRNN h */
static size_t states_of(int cell) { return cell == 0 ? 2 : 1; }

/* copies of the cell: Bidirectional 2, else 1 */
static size_t copies_of(const lf_node *nd) { return nd->kind == LF_K_BIDIRECTIONAL ? 2 : 1; }

/* one copy's output per row: T u with return_sequences, else u */
static size_t out_len(const lf_node *nd, size_t T, size_t u) { return nd->return_sequences ? T * u : u; }

/* the output values per row before the states: one copy's (merged: sum,
 * mul, ave), or both side by side (concat, interleaved by step; None, one
 * after the other) */
static size_t y_len(const lf_node *nd, size_t T, size_t u) {
    size_t o = out_len(nd, T, u);
    return nd->kind == LF_K_BIDIRECTIONAL && (nd->merge_mode == LF_BIDI_CONCAT || nd->merge_mode == LF_BIDI_NONE)
               ? 2 * o : o;
}

/* Keras' outputs of the call: [y] (or [y_forward, y_backward] with
 * merge_mode None), then with return_state each copy's states (LSTM h, c) */
static size_t outs_of(const lf_node *nd, int cell) {
    size_t n = nd->kind == LF_K_BIDIRECTIONAL && nd->merge_mode == LF_BIDI_NONE ? 2 : 1;
    return n + (nd->return_state ? copies_of(nd) * states_of(cell) : 0);
}

static rnn_geom geom_of(const lf_model *m, const lf_node *nd) {
    const lf_node *x = &m->nodes[nd->in[0]];
    rnn_geom g;
    int cell = cell_of(nd);
    g.gru = cell == 1;
    g.simple = cell == 2;
    g.T = x->shape[0], g.D = x->shape[1], g.u = units_of(nd);
    g.G = gates_of(cell) * g.u;
    drop_masks(cell, nd->rate, nd->recurrent_rate, &g.k_in, &g.k_rec);
    return g;
}

/* one direction's scratch floats per batch row before the dropout's (the
 * top of this file) */
static size_t dir_base(const rnn_geom *g) {
    return g->gru ? 2 * g->T * g->G + g->T * g->u + g->u : g->T * g->G + 2 * g->T * g->u + 2 * g->u;
}

/* the dropout masks' floats per batch row of one direction */
static size_t dir_masks(const rnn_geom *g) { return g->k_in * g->D + g->k_rec * g->u; }

/* one direction's scratch floats per batch row: then the masks M, x_t
 * masked XD (T D) with dropout, h masked and a gradient HD, DT (u each)
 * with recurrent_dropout */
static size_t dir_aux(const rnn_geom *g) {
    return dir_base(g) + dir_masks(g) + (g->k_in ? g->T * g->D : 0) + (g->k_rec ? 2 * g->u : 0);
}

/* a node's scratch floats per batch row (nd->aux_per_row) */
static size_t node_aux(const lf_node *nd, const rnn_geom *g) {
    size_t per = dir_aux(g);
    if (nd->kind != LF_K_BIDIRECTIONAL) return per;
    int own = nd->merge_mode == LF_BIDI_CONCAT || nd->merge_mode == LF_BIDI_NONE; /* written straight to y */
    return 2 * per + (own ? 0 : 2 * out_len(nd, g->T, g->u));
}

/* a node draws in training only with a dropout set */
static int rnn_draws(const lf_node *nd) { return nd->rate > 0.0f || nd->recurrent_rate > 0.0f; }

/* 1 when the rate is a dropout rate, [0, 1) */
static int rate_ok(float r) { return r >= 0.0f && r < 1.0f; }

/* one direction's parameters */
static size_t dir_params(const rnn_geom *g, int use_bias) {
    return (g->D + g->u) * g->G + (use_bias ? (g->gru ? 2 : 1) * g->G : 0);
}

static inline float sigm(float v) { return 1.0f / (1.0f + expf(-v)); }

/* the builder put units in nd->dim, use_bias, return_sequences,
 * go_backwards (and unit_forget_bias) in nd; Bidirectional (op 3) also the
 * cell and merge_mode */
static int rnn_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const lf_node *x = lf_input_node(m, t->type, in, n_in ? 1 : 0, 2);
    if (!x) return 0;
    int bidi = t->op == 3, cell = bidi ? nd->cell : t->op;
    if (bidi && (cell < LF_RNN_LSTM || cell > LF_RNN_SIMPLE))
        return lf_build_fail(m, LF_ERR_ARG, "%s: unknown wrapped layer %d (LF_RNN_LSTM, LF_RNN_GRU or LF_RNN_SIMPLE)",
                             t->type, cell);
    if (bidi && (nd->merge_mode < LF_BIDI_CONCAT || nd->merge_mode > LF_BIDI_NONE))
        return lf_build_fail(m, LF_ERR_ARG, "%s: unknown merge_mode %d (LF_BIDI_CONCAT, _SUM, _MUL, _AVE or _NONE)",
                             t->type, nd->merge_mode);
    if (bidi && nd->go_backwards)
        return lf_build_fail(m, LF_ERR_ARG, "%s: the wrapped layer's go_backwards must be false", t->type);
    if (!rate_ok(nd->rate) || !rate_ok(nd->recurrent_rate))
        return lf_build_fail(m, LF_ERR_ARG, "%s: dropout and recurrent_dropout must be in [0, 1), got %g and %g",
                             t->type, (double)nd->rate, (double)nd->recurrent_rate);
    size_t u = nd->dim, T = x->shape[0], D = x->shape[1], G, nw, tg;
    if (cell == 2 && !lf_check_act(m, nd->act)) return 0;
    if (u == 0 || u > LF_ARCH_MAX_DIM / 4)
        return lf_build_fail(m, LF_ERR_ARG, "%s: units must be in 1..%zu, got %zu", t->type, LF_ARCH_MAX_DIM / 4,
                             u);
    G = gates_of(cell) * u;
    if (!lf_mul_ok(D + u + 2, G, &nw) || nw > LF_ARCH_MAX_DIM || !lf_mul_ok(T, G, &tg) || tg > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG, "%s: %zu units over %zu steps of %zu features are too many", t->type,
                             u, T, D);
    /* Keras' initial_state: the inputs after x, each (u) (Bidirectional:
     * the forward copy's, then the backward copy's) */
    size_t n_st = (bidi ? 2 : 1) * states_of(cell);
    if (n_in > 1 && n_in != 1 + n_st)
        return lf_build_fail(m, LF_ERR_ARG, "%s: initial_state has %zu tensors; it needs %zu (%s)", t->type,
                             n_in - 1, n_st, cell == 0 ? (bidi ? "h and c of each direction" : "h and c")
                                                       : (bidi ? "h of each direction" : "h"));
    for (size_t i = 1; i < n_in; i++) {
        const lf_node *s0 = in[i] >= 0 && (size_t)in[i] < m->n_nodes ? &m->nodes[in[i]] : NULL;
        if (!s0) return lf_build_fail(m, LF_ERR_ARG, "%s: initial_state %zu is not a node of this model (id %d)",
                                      t->type, i - 1, in[i]);
        if (s0->rank != 1 || s0->dim != u) {
            char sh[96];
            lf_shape_str(s0, sh, sizeof sh);
            return lf_build_fail(m, LF_ERR_SHAPE, "%s: initial_state %zu ('%s') has shape %s; it needs (None, %zu)",
                                 t->type, i - 1, s0->name, sh, u);
        }
    }
    nd->units = u;
    nd->n_outs = outs_of(nd, cell);
    size_t width = bidi && nd->merge_mode == LF_BIDI_CONCAT ? 2 * u : u, out[2] = {T, width};
    size_t total = y_len(nd, T, u) + (nd->return_state ? n_st * u : 0);
    if (nd->n_outs > 1) { /* several outputs: flat, side by side (view.c) */
        if (!lf_shape_set(m, t->type, nd, 1, &total)) return 0;
    } else if (!lf_shape_set(m, t->type, nd, nd->return_sequences ? 2 : 1, nd->return_sequences ? out : &width)) {
        return 0;
    }
    /* LSTM: Z, H, C, dh, dc; GRU: Z, Q, H, dh; SimpleRNN: Z, H, dh, dz, then
     * the dropout's (the top of this file); Bidirectional: the forward
     * copy's, the backward copy's, then (merges but concat) the copies'
     * outputs y, y_rev */
    rnn_geom g = {T, D, u, G, cell == 1, cell == 2, 0, 0};
    drop_masks(cell, nd->rate, nd->recurrent_rate, &g.k_in, &g.k_rec);
    nd->aux_per_row = node_aux(nd, &g);
    /* the output keeps x's mask with return_sequences (LF_MASKING_OWN: set
     * here); with several outputs, their views carry it (rnn_outputs) */
    nd->seq_mask = nd->return_sequences && nd->n_outs <= 1 ? x->seq_mask : -1;
    return 1;
}

/* Keras' list: y (or y_forward, y_backward), then the states, each copy's
 * h (and c); the sequences carry x's mask, the states none (Keras'
 * compute_mask) */
static size_t rnn_outputs(const lf_model *m, const lf_node *nd, lf_out_view *v) {
    const lf_node *x = &m->nodes[nd->in[0]];
    size_t T = x->shape[0], u = nd->units, n = 0, off = 0;
    int bidi = nd->kind == LF_K_BIDIRECTIONAL, cell = cell_of(nd);
    size_t ny = bidi && nd->merge_mode == LF_BIDI_NONE ? 2 : 1;
    size_t w = bidi && nd->merge_mode == LF_BIDI_CONCAT ? 2 * u : u;
    for (size_t k = 0; k < ny; k++, n++) {
        v[n].rank = nd->return_sequences ? 2 : 1;
        v[n].shape[0] = nd->return_sequences ? T : w, v[n].shape[1] = w;
        v[n].off = off, off += nd->return_sequences ? T * w : w;
        v[n].seq_mask = nd->return_sequences ? x->seq_mask : -1;
    }
    for (size_t k = 0; nd->return_state && k < copies_of(nd) * states_of(cell); k++, n++) {
        v[n].rank = 1, v[n].shape[0] = u, v[n].off = off, off += u, v[n].seq_mask = -1;
    }
    return n;
}

static size_t dir_weights(const rnn_geom *g, int use_bias, size_t base, const char *const *names, lf_weight *w) {
    w[0] = (lf_weight){names[0], base, 2, {g->D, g->G}, 1, 0, 0, 0};
    w[1] = (lf_weight){names[1], base + g->D * g->G, 2, {g->u, g->G}, 0, 0, 0, 1};
    if (!use_bias) return 2;
    if (g->gru) w[2] = (lf_weight){names[2], base + (g->D + g->u) * g->G, 2, {2, g->G}, 0, 0, 1, 0};
    else w[2] = (lf_weight){names[2], base + (g->D + g->u) * g->G, 1, {g->G}, 0, 0, 1, 0};
    return 3;
}

static const char *const plain_names[] = {"kernel", "recurrent_kernel", "bias"};
static const char *const forward_names[] = {"forward.kernel", "forward.recurrent_kernel", "forward.bias"};
static const char *const backward_names[] = {"backward.kernel", "backward.recurrent_kernel", "backward.bias"};

static size_t rnn_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    rnn_geom g = geom_of(m, nd);
    if (nd->kind != LF_K_BIDIRECTIONAL) return dir_weights(&g, nd->use_bias, 0, plain_names, w);
    size_t n = dir_weights(&g, nd->use_bias, 0, forward_names, w);
    return n + dir_weights(&g, nd->use_bias, dir_params(&g, nd->use_bias), backward_names, w + n);
}

/* a standard normal (Box-Muller on two 24-bit uniforms, u1 in (0, 1]) */
static double std_normal(lf_rng *r) {
    double u1 = 1.0 - lf_rng_uniform(r), u2 = lf_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Keras' Orthogonal (gain 1) for a (rows, cols) weight, rows <= cols: the
 * rows of a normal matrix made orthonormal by Gram-Schmidt (twice, in
 * double), which is Q of its transpose's QR with R's diagonal positive */
static void orthogonal_rows(float *w, size_t rows, size_t cols, lf_rng *r) {
    for (size_t i = 0; i < rows * cols; i++) w[i] = (float)std_normal(r);
    for (size_t j = 0; j < rows; j++) {
        float *v = w + j * cols;
        for (int pass = 0; pass < 2; pass++)
            for (size_t k = 0; k < j; k++) {
                const float *q = w + k * cols;
                double d = 0;
                for (size_t i = 0; i < cols; i++) d += (double)q[i] * v[i];
                for (size_t i = 0; i < cols; i++) v[i] = (float)(v[i] - d * q[i]);
            }
        double n = 0;
        for (size_t i = 0; i < cols; i++) n += (double)v[i] * v[i];
        n = n > 0 ? 1.0 / sqrt(n) : 0.0;
        for (size_t i = 0; i < cols; i++) v[i] = (float)(v[i] * n);
    }
}

void lf_orthogonal(float *w, size_t rows, size_t cols, lf_rng *r) {
    if (rows <= cols) {
        orthogonal_rows(w, rows, cols, r);
        return;
    }
    /* more rows than columns: the columns made orthonormal (Q of the
     * matrix's own QR), by the same Gram-Schmidt down each column */
    for (size_t i = 0; i < rows * cols; i++) w[i] = (float)std_normal(r);
    for (size_t j = 0; j < cols; j++) {
        for (int pass = 0; pass < 2; pass++)
            for (size_t k = 0; k < j; k++) {
                double d = 0;
                for (size_t i = 0; i < rows; i++) d += (double)w[i * cols + k] * w[i * cols + j];
                for (size_t i = 0; i < rows; i++) w[i * cols + j] = (float)(w[i * cols + j] - d * w[i * cols + k]);
            }
        double n = 0;
        for (size_t i = 0; i < rows; i++) n += (double)w[i * cols + j] * w[i * cols + j];
        n = n > 0 ? 1.0 / sqrt(n) : 0.0;
        for (size_t i = 0; i < rows; i++) w[i * cols + j] = (float)(w[i * cols + j] * n);
    }
}

static void dir_init(lf_model *m, const lf_node *nd, const rnn_geom *g, float *w) {
    float limit = sqrtf(6.0f / (float)(g->D + g->G));
    for (size_t i = 0; i < g->D * g->G; i++) w[i] = (2.0f * lf_rng_uniform(&m->rng) - 1.0f) * limit;
    orthogonal_rows(w + g->D * g->G, g->u, g->G, &m->rng);
    if (!nd->use_bias) return;
    float *b = w + (g->D + g->u) * g->G;
    memset(b, 0, (g->gru ? 2 : 1) * g->G * sizeof *b);
    if (!g->gru && !g->simple && nd->unit_forget_bias)
        for (size_t j = 0; j < g->u; j++) b[g->u + j] = 1.0f;
}

/* Bidirectional: the forward copy's weights, then the backward copy's */
static void rnn_init(lf_model *m, lf_node *nd) {
    rnn_geom g = geom_of(m, nd);
    float *w = m->params + nd->param_off;
    dir_init(m, nd, &g, w);
    if (nd->kind == LF_K_BIDIRECTIONAL) dir_init(m, nd, &g, w + dir_params(&g, nd->use_bias));
}

/* One direction of a recurrent node: its weights and their gradients, its
 * scratch, and where its output goes: batch row r, output step p at y + r
 * row + p step + off (the last step's output, without return_sequences, at
 * y + r row + off); dy alike in backward. */
typedef struct rnn_dir {
    const float *W;
    float *dW, *aux;
    int back;        /* runs the steps from t = T - 1 down to 0 */
    int time_order;  /* Bidirectional: output step p is time p (the backward
                        copy's sequence flipped back), else the p-th step run */
    int zero_masked; /* Bidirectional with return_sequences: a masked step's
                        output is zeros (Keras' zero_output_for_mask) */
    float *y;
    const float *dy;
    size_t row, step, off;
    size_t draw_off; /* its dropout masks' first draw in a row's stream */
    /* return_state: its final states at y_st + r row_st (h, then LSTM's c
     * at + u), their gradients at dy_st alike; NULL without */
    float *y_st;
    const float *dy_st;
    size_t row_st;
    /* initial_state: h0 (and c0) (B, u), NULL for zeros; their gradients
     * (+=), NULL where not needed */
    const float *h0, *c0;
    float *dh0, *dc0;
} rnn_dir;

/* The dropout of one direction in a pass: its masks M (B, k_in D + k_rec
 * u: x_t's, then h's, each 0 or 1 / (1 - rate)), XD (B T, D), HD, DT (B,
 * u) (the top of this file); `on` in a training pass with a rate set. */
typedef struct rnn_drop {
    int on;
    float *M, *XD, *HD, *DT;
    size_t nm;
} rnn_drop;

static rnn_drop drop_of(const lf_layer_ctx *c, const rnn_geom *g, const rnn_dir *dd) {
    rnn_drop p;
    p.on = c->training && (g->k_in || g->k_rec);
    p.nm = dir_masks(g);
    p.M = dd->aux + c->B * dir_base(g);
    p.XD = p.M + c->B * p.nm;
    p.HD = p.XD + (g->k_in ? c->B * g->T * g->D : 0);
    p.DT = p.HD + c->B * g->u;
    return p;
}

/* Draws the masks of a training pass: row r's from its stream (lf_draws),
 * the same at every step (Keras' DropoutRNNCell caches them for the
 * sequence); no draws: all kept */
static void drop_draw(const lf_layer_ctx *c, const rnn_geom *g, const rnn_dir *dd, const rnn_drop *p) {
    const lf_node *nd = c->nd;
    size_t n_in = g->k_in * g->D;
    float keep_in = 1.0f / (1.0f - nd->rate), keep_rec = 1.0f / (1.0f - nd->recurrent_rate);
    for (size_t r = 0; r < c->B; r++) {
        float *mr = p->M + r * p->nm;
        uint64_t s = c->draws ? lf_draw_stream(c->draws->key, c->draw_id, c->draws->row0 + r) : 0;
        for (size_t i = 0; i < p->nm; i++) {
            float rate = i < n_in ? nd->rate : nd->recurrent_rate, keep = i < n_in ? keep_in : keep_rec;
            mr[i] = !c->draws ? 1.0f : lf_draw_uniform(s, dd->draw_off + i) < rate ? 0.0f : keep;
        }
    }
}

/* XD = x masked by x_t's mask b (B T rows of D) */
static void mask_x(const rnn_geom *g, size_t B, const float *x, const rnn_drop *p, size_t b) {
    for (size_t r = 0; r < B; r++) {
        const float *m = p->M + r * p->nm + b * g->D;
        for (size_t t = 0; t < g->T; t++) {
            size_t o = (r * g->T + t) * g->D;
            for (size_t j = 0; j < g->D; j++) p->XD[o + j] = x[o + j] * m[j];
        }
    }
}

/* HD = h (B rows of u, stride ld) masked by h's mask b */
static void mask_h(const rnn_geom *g, size_t B, const float *h, size_t ld, const rnn_drop *p, size_t b) {
    for (size_t r = 0; r < B; r++) {
        const float *m = p->M + r * p->nm + g->k_in * g->D + b * g->u;
        for (size_t j = 0; j < g->u; j++) p->HD[r * g->u + j] = h[r * ld + j] * m[j];
    }
}

/* the time index of the s-th step run */
static inline size_t step_t(int back, size_t T, size_t s) { return back ? T - 1 - s : s; }

static void dir_forward(const lf_layer_ctx *c, const rnn_geom *gp, const rnn_dir *dd) {
    const lf_node *nd = c->nd;
    rnn_geom g = *gp;
    size_t B = c->B, T = g.T, u = g.u, G = g.G, TG = T * G, Tu = T * u;
    const float *x = c->xs[0], *W = dd->W, *U = W + g.D * G;
    const float *bx = nd->use_bias ? U + u * G : NULL, *bh = nd->use_bias && g.gru ? bx + G : NULL;
    const float *mask = c->in_masks[0];
    float *Z = dd->aux, *Q = g.gru ? Z + B * TG : NULL, *H = g.gru ? Q + B * TG : Z + B * TG;
    float *C = g.gru || g.simple ? NULL : H + B * Tu;
    int back = dd->back;
    rnn_drop p = drop_of(c, &g, dd);
    if (p.on) drop_draw(c, &g, dd, &p);
    /* Z (B T, G) = x (B T, D) W (D, G) + b_x; with dropout, x masked (by
     * each gate block's own mask, w columns of G, with k_in > 1) */
    if (p.on && g.k_in) {
        size_t w = G / g.k_in;
        for (size_t b = 0; b < g.k_in; b++) {
            mask_x(&g, B, x, &p, b);
            lf_sgemm_bias_relu(0, 0, B * T, w, g.D, p.XD, g.D, W + b * w, G, bx ? bx + b * w : NULL, 0, Z + b * w,
                               G);
        }
    } else {
        lf_sgemm_bias_relu(0, 0, B * T, G, g.D, x, g.D, W, G, bx, 0, Z, G);
    }
    const float *h0 = dd->h0, *c0 = dd->c0;
    for (size_t s = 0; s < T; s++) {
        size_t t = step_t(back, T, s), tp = s ? step_t(back, T, s - 1) : 0;
        /* the state before the step: the previous step's, or the initial one
         * (h0 (B, u); NULL: zeros) */
        const float *Hp = s ? H + tp * u : h0, *Cp = C && s ? C + tp * u : c0;
        size_t ldp = s ? Tu : u;
        if (Hp && p.on && g.k_rec) { /* h_prev masked (per gate block with k_rec > 1) */
            size_t w = G / g.k_rec;
            for (size_t b = 0; b < g.k_rec; b++) {
                mask_h(&g, B, Hp, ldp, &p, b);
                if (g.gru)
                    lf_sgemm_bias_relu(0, 0, B, w, u, p.HD, u, U + b * w, G, bh ? bh + b * w : NULL, 0,
                                       Q + t * G + b * w, TG);
                else
                    lf_sgemm(0, 0, B, w, u, 1.0f, p.HD, u, U + b * w, G, 1.0f, Z + t * G + b * w, TG);
            }
        } else if (g.gru) { /* Q[:, t] (B, G) = h_prev (B, u) U (u, G) + b_h */
            if (Hp) lf_sgemm_bias_relu(0, 0, B, G, u, Hp, ldp, U, G, bh, 0, Q + t * G, TG);
            else
                for (size_t r = 0; r < B; r++)
                    if (bh) memcpy(Q + r * TG + t * G, bh, G * sizeof *Q);
                    else memset(Q + r * TG + t * G, 0, G * sizeof *Q);
        } else if (Hp) { /* Z[:, t] += h_prev U */
            lf_sgemm(0, 0, B, G, u, 1.0f, Hp, ldp, U, G, 1.0f, Z + t * G, TG);
        }
        for (size_t r = 0; r < B; r++) {
            float *z = Z + r * TG + t * G, *h = H + r * Tu + t * u;
            const float *hp = Hp ? Hp + r * ldp : NULL, *cp = Cp ? Cp + r * ldp : NULL;
            if (mask && mask[r * T + t] == 0.0f) { /* a masked step keeps the states */
                if (hp) memcpy(h, hp, u * sizeof *h);
                else memset(h, 0, u * sizeof *h);
                if (C) {
                    if (cp) memcpy(C + r * Tu + t * u, cp, u * sizeof *C);
                    else memset(C + r * Tu + t * u, 0, u * sizeof *C);
                }
                continue;
            }
            if (g.gru) {
                const float *q = Q + r * TG + t * G;
                for (size_t j = 0; j < u; j++) {
                    float zz = sigm(z[j] + q[j]), rr = sigm(z[u + j] + q[u + j]);
                    float n = tanhf(z[2 * u + j] + rr * q[2 * u + j]);
                    z[j] = zz, z[u + j] = rr, z[2 * u + j] = n;
                    h[j] = zz * (hp ? hp[j] : 0.0f) + (1.0f - zz) * n;
                }
            } else if (g.simple) {
                lf_act_forward(nd->act, h, z, 1, u);
            } else {
                lf_lstm_cell_forward(z, cp, C + r * Tu + t * u, h, u);
            }
        }
    }
    /* y: h of every step (in the order they ran, or of time), or of the
     * last one; return_state: the states after the last step run (a masked
     * step kept them: Keras' states of the last real step) */
    for (size_t r = 0; dd->y_st && r < B; r++) {
        size_t last = r * Tu + step_t(back, T, T - 1) * u;
        memcpy(dd->y_st + r * dd->row_st, H + last, u * sizeof *H);
        if (C) memcpy(dd->y_st + r * dd->row_st + u, C + last, u * sizeof *C);
    }
    for (size_t r = 0; r < B; r++) {
        float *yr = dd->y + r * dd->row + dd->off;
        if (!nd->return_sequences) {
            memcpy(yr, H + r * Tu + step_t(back, T, T - 1) * u, u * sizeof *yr);
            continue;
        }
        for (size_t s = 0; s < T; s++) {
            size_t t = step_t(back, T, s);
            float *dst = yr + (dd->time_order ? t : s) * dd->step;
            if (dd->zero_masked && mask && mask[r * T + t] == 0.0f) memset(dst, 0, u * sizeof *dst);
            else memcpy(dst, H + r * Tu + t * u, u * sizeof *dst);
        }
    }
}

static void dir_backward(const lf_layer_ctx *c, const rnn_geom *gp, const rnn_dir *dd) {
    const lf_node *nd = c->nd;
    rnn_geom g = *gp;
    size_t B = c->B, T = g.T, u = g.u, G = g.G, TG = T * G, Tu = T * u;
    const float *x = c->xs[0], *W = dd->W, *U = W + g.D * G;
    float *dW = dd->dW, *dU = dW + g.D * G, *db = nd->use_bias ? dU + u * G : NULL;
    const float *mask = c->in_masks[0];
    float *Z = dd->aux, *Q = g.gru ? Z + B * TG : NULL, *H = g.gru ? Q + B * TG : Z + B * TG;
    float *C = g.gru || g.simple ? NULL : H + B * Tu;
    float *dh = (C ? C : H) + B * Tu, *dc = C ? dh + B * u : NULL, *dzs = g.simple ? dh + B * u : NULL;
    int back = dd->back;
    rnn_drop p = drop_of(c, &g, dd);
    /* dh: d loss / d the state after step s, carried back; dc: LSTM's c;
     * from the final states' own gradients with return_state */
    memset(dh, 0, B * u * sizeof *dh);
    if (dc) memset(dc, 0, B * u * sizeof *dc);
    for (size_t r = 0; dd->dy_st && r < B; r++) {
        memcpy(dh + r * u, dd->dy_st + r * dd->row_st, u * sizeof *dh);
        if (dc) memcpy(dc + r * u, dd->dy_st + r * dd->row_st + u, u * sizeof *dc);
    }
    for (size_t s = T; s-- > 0;) {
        size_t t = step_t(back, T, s), tp = s ? step_t(back, T, s - 1) : 0;
        const float *Hp = s ? H + tp * u : dd->h0, *Cp = C && s ? C + tp * u : dd->c0;
        size_t ldp = s ? Tu : u;
        for (size_t r = 0; r < B; r++) {
            float *d = dh + r * u, *z = Z + r * TG + t * G;
            int masked = mask && mask[r * T + t] == 0.0f;
            const float *dyr = dd->dy + r * dd->row + dd->off;
            if (nd->return_sequences) {
                const float *dy = dyr + (dd->time_order ? t : s) * dd->step;
                if (!(dd->zero_masked && masked)) /* a zeroed output takes no gradient */
                    for (size_t j = 0; j < u; j++) d[j] += dy[j];
            } else if (s == T - 1) {
                for (size_t j = 0; j < u; j++) d[j] += dyr[j];
            }
            if (masked) { /* the states passed through: so do their gradients */
                memset(z, 0, G * sizeof *z);
                if (g.gru) memset(Q + r * TG + t * G, 0, G * sizeof *Q);
                continue;
            }
            const float *hp = Hp ? Hp + r * ldp : NULL;
            if (g.gru) {
                float *q = Q + r * TG + t * G;
                for (size_t j = 0; j < u; j++) {
                    float zz = z[j], rr = z[u + j], n = z[2 * u + j], h0 = hp ? hp[j] : 0.0f;
                    float dn = d[j] * (1.0f - zz) * (1.0f - n * n); /* d (a_h + r q_h) */
                    float dz = d[j] * (h0 - n) * zz * (1.0f - zz);
                    float dr = dn * q[2 * u + j] * rr * (1.0f - rr);
                    z[j] = dz, z[u + j] = dr, z[2 * u + j] = dn;
                    q[j] = dz, q[u + j] = dr, q[2 * u + j] = dn * rr;
                    d[j] *= zz; /* h' = z h + ...: the direct path */
                }
            } else if (g.simple) {
                float *dzr = dzs + r * u;
                lf_act_backward(nd->act, dzr, d, z, H + r * Tu + t * u, 1, u);
                memcpy(z, dzr, u * sizeof *z);
                memset(d, 0, u * sizeof *d); /* h_prev reaches h' only through U: added below */
            } else {
                const float *cc = C + r * Tu + t * u, *cp = Cp ? Cp + r * ldp : NULL;
                float *dcr = dc + r * u;
                /* h_prev reaches h' only through U: added below */
                lf_lstm_cell_backward(z, cc, cp, d, dcr, u);
            }
        }
        if (!Hp) break; /* the zero initial states take no gradient */
        /* dh (B, u) += dR[:, t] (B, G) U^T; dU += h_prev^T dR[:, t] (dR: d z, or GRU's d q) */
        const float *dR = g.gru ? Q + t * G : Z + t * G;
        if (p.on && g.k_rec) { /* through h_prev masked: dh += (dR_b U_b^T) mask_b, dU_b += HD^T dR_b */
            size_t w = G / g.k_rec;
            for (size_t b = 0; b < g.k_rec; b++) {
                mask_h(&g, B, Hp, ldp, &p, b);
                lf_sgemm(1, 0, u, w, B, 1.0f, p.HD, u, dR + b * w, TG, 1.0f, dU + b * w, G);
                lf_sgemm(0, 1, B, u, w, 1.0f, dR + b * w, TG, U + b * w, G, 0.0f, p.DT, u);
                for (size_t r = 0; r < B; r++) {
                    const float *m = p.M + r * p.nm + g.k_in * g.D + b * u;
                    for (size_t j = 0; j < u; j++) dh[r * u + j] += p.DT[r * u + j] * m[j];
                }
            }
            continue;
        }
        lf_sgemm(0, 1, B, u, G, 1.0f, dR, TG, U, G, 1.0f, dh, u);
        lf_sgemm(1, 0, u, G, B, 1.0f, Hp, ldp, dR, TG, 1.0f, dU, G);
    }
    /* after step 0: dh, dc are d loss / d the initial states */
    for (size_t i = 0; dd->dh0 && i < B * u; i++) dd->dh0[i] += dh[i];
    for (size_t i = 0; dd->dc0 && dc && i < B * u; i++) dd->dc0[i] += dc[i];
    if (db) {
        for (size_t k = 0; k < B * T; k++)
            for (size_t j = 0; j < G; j++) db[j] += Z[k * G + j];
        if (g.gru)
            for (size_t k = 0; k < B * T; k++)
                for (size_t j = 0; j < G; j++) db[G + j] += Q[k * G + j];
    }
    /* dW += x^T dZ; dx += dZ W^T over the B T rows; with dropout per mask
     * b: dW_b += XD^T dZ_b, dx += (dZ_b W_b^T) mask_b */
    if (p.on && g.k_in) {
        size_t w = G / g.k_in;
        float *dx = c->dxs[0];
        for (size_t b = 0; b < g.k_in; b++) {
            mask_x(&g, B, x, &p, b);
            lf_sgemm(1, 0, g.D, w, B * T, 1.0f, p.XD, g.D, Z + b * w, G, 1.0f, dW + b * w, G);
            if (!dx) continue;
            lf_sgemm(0, 1, B * T, g.D, w, 1.0f, Z + b * w, G, W + b * w, G, 0.0f, p.XD, g.D);
            for (size_t r = 0; r < B; r++) {
                const float *m = p.M + r * p.nm + b * g.D;
                for (size_t k = r * T * g.D, tt = 0; tt < T; tt++, k += g.D)
                    for (size_t j = 0; j < g.D; j++) dx[k + j] += p.XD[k + j] * m[j];
            }
        }
        return;
    }
    lf_sgemm(1, 0, g.D, G, B * T, 1.0f, x, g.D, Z, G, 1.0f, dW, G);
    if (c->dxs[0]) lf_sgemm(0, 1, B * T, g.D, G, 1.0f, Z, G, W, G, 1.0f, c->dxs[0], g.D);
}

/* the two copies of a Bidirectional node (k 0 forward, 1 backward), or the
 * one direction of a plain layer (k 0); y, dy: c's, or (merges but
 * concat) the copy's own output in the scratch, (B, out) */
static rnn_dir dir_of(const lf_layer_ctx *c, const rnn_geom *g, int k) {
    const lf_node *nd = c->nd;
    rnn_dir d;
    size_t P = dir_params(g, nd->use_bias), per = dir_aux(g);
    size_t out = out_len(nd, g->T, g->u), n_st = states_of(cell_of(nd));
    d.W = c->w + k * P;
    d.dW = c->dw ? c->dw + k * P : NULL;
    d.aux = c->aux + k * c->B * per;
    d.y = c->y, d.dy = c->dy;
    d.row = nd->dim, d.step = g->u, d.off = 0;
    d.draw_off = k * dir_masks(g); /* the backward copy's masks after the forward one's */
    /* the states after the outputs (rnn_outputs), the copies' in turn */
    size_t st = y_len(nd, g->T, g->u) + k * n_st * g->u;
    d.y_st = nd->return_state ? c->y + st : NULL;
    d.dy_st = nd->return_state && c->dy ? c->dy + st : NULL;
    d.row_st = nd->dim;
    /* initial_state: the inputs after x, the copies' in turn */
    int has0 = nd->n_in > 1;
    size_t i0 = 1 + k * n_st;
    d.h0 = has0 ? c->xs[i0] : NULL;
    d.c0 = has0 && n_st == 2 ? c->xs[i0 + 1] : NULL;
    d.dh0 = has0 && c->dxs ? c->dxs[i0] : NULL;
    d.dc0 = has0 && n_st == 2 && c->dxs ? c->dxs[i0 + 1] : NULL;
    if (nd->kind != LF_K_BIDIRECTIONAL) {
        d.back = nd->go_backwards, d.time_order = 0, d.zero_masked = 0;
        return d;
    }
    d.back = k, d.time_order = 1, d.zero_masked = nd->return_sequences;
    if (nd->merge_mode == LF_BIDI_CONCAT) {
        d.off = k * g->u, d.step = 2 * g->u;
    } else if (nd->merge_mode == LF_BIDI_NONE) { /* [y_forward, y_backward] one after the other */
        d.off = k * out;
    } else {
        d.y = c->aux + 2 * c->B * per + k * c->B * out, d.dy = d.y;
        d.row = out, d.step = g->u;
    }
    return d;
}

static void rnn_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    rnn_geom g = geom_of(c->m, nd);
    rnn_dir d0 = dir_of(c, &g, 0);
    dir_forward(c, &g, &d0);
    if (nd->kind != LF_K_BIDIRECTIONAL) return;
    rnn_dir d1 = dir_of(c, &g, 1);
    dir_forward(c, &g, &d1);
    if (nd->merge_mode == LF_BIDI_CONCAT || nd->merge_mode == LF_BIDI_NONE) return;
    size_t n = out_len(nd, g.T, g.u);
    for (size_t r = 0; r < c->B; r++) {
        const float *yf = d0.y + r * n, *yb = d1.y + r * n;
        float *y = c->y + r * nd->dim;
        for (size_t i = 0; i < n; i++)
            y[i] = nd->merge_mode == LF_BIDI_SUM   ? yf[i] + yb[i]
                   : nd->merge_mode == LF_BIDI_MUL ? yf[i] * yb[i]
                                                    : (yf[i] + yb[i]) * 0.5f;
    }
}

static void rnn_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    rnn_geom g = geom_of(c->m, nd);
    rnn_dir d0 = dir_of(c, &g, 0);
    if (nd->kind == LF_K_BIDIRECTIONAL) {
        rnn_dir d1 = dir_of(c, &g, 1);
        if (nd->merge_mode != LF_BIDI_CONCAT && nd->merge_mode != LF_BIDI_NONE) {
            /* the copies' outputs become their gradients */
            size_t n = out_len(nd, g.T, g.u);
            for (size_t r = 0; r < c->B; r++) {
                float *yf = d0.y + r * n, *yb = d1.y + r * n;
                const float *dyr = c->dy + r * nd->dim;
                for (size_t i = 0; i < n; i++) {
                    float dy = dyr[i], f = yf[i];
                    if (nd->merge_mode == LF_BIDI_MUL) yf[i] = dy * yb[i], yb[i] = dy * f;
                    else yf[i] = yb[i] = nd->merge_mode == LF_BIDI_SUM ? dy : 0.5f * dy;
                }
            }
        }
        dir_backward(c, &g, &d1);
    }
    dir_backward(c, &g, &d0);
}

static void rnn_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    int cell = cell_of(nd);
    if (cell == LF_RNN_SIMPLE)
        lf_buf_printf(b, ",\"units\":%zu,\"activation\":\"%s\"", units_of(nd), lf_activation_name(nd->act));
    else
        lf_buf_printf(b, ",\"units\":%zu,\"activation\":\"tanh\",\"recurrent_activation\":\"sigmoid\"",
                      units_of(nd));
    lf_buf_printf(b, ",\"use_bias\":%s,\"return_sequences\":%s,\"go_backwards\":%s", nd->use_bias ? "true" : "false",
                  nd->return_sequences ? "true" : "false", nd->go_backwards ? "true" : "false");
    if (cell == LF_RNN_SIMPLE) {
    } else if (cell == LF_RNN_GRU) lf_buf_printf(b, ",\"reset_after\":true");
    else lf_buf_printf(b, ",\"unit_forget_bias\":%s", nd->unit_forget_bias ? "true" : "false");
    /* the rates only when set (a file without them: 0, as before they existed) */
    if (nd->rate > 0.0f) {
        lf_buf_printf(b, ",\"dropout\":");
        lf_buf_json_float(b, nd->rate);
    }
    if (nd->recurrent_rate > 0.0f) {
        lf_buf_printf(b, ",\"recurrent_dropout\":");
        lf_buf_json_float(b, nd->recurrent_rate);
    }
    if (nd->return_state) lf_buf_puts(b, ",\"return_state\":true"); /* only when set, as the rates */
    lf_buf_printf(b, ",\"l2\":");
    lf_buf_json_float(b, nd->l2);
    lf_arch_write_bias_l2(nd, b);
}

static lf_status rnn_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                          lf_err *e) {
    (void)m;
    const char *type = lf_arch_str(L, "type"); /* the table matched it: "LSTM", "GRU" or "SimpleRNN" */
    int gru = type && strcmp(type, "GRU") == 0, simple = type && strcmp(type, "SimpleRNN") == 0;
    type = gru ? "GRU" : simple ? "SimpleRNN" : "LSTM";
    /* x, then the initial states (infer checks their count) */
    lf_status st = LF_OK;
    if (n_in < 1 || n_in > 5)
        return lf_fail(e, LF_ERR_FORMAT, "%s: %s takes 1 inbound layer and its initial states", where, type);
    if (!lf_json_size(lf_json_get(L, "units"), &nd->dim) || nd->dim == 0 || nd->dim > LF_ARCH_MAX_DIM / 4)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'units' must be an integer in 1..%zu", where, LF_ARCH_MAX_DIM / 4);
    const char *a = lf_arch_str(L, "activation"), *ra = lf_arch_str(L, "recurrent_activation");
    if (simple) {
        int act = a ? lf_activation_parse(a) : LF_ACT_TANH;
        if (act < 0) return lf_fail(e, LF_ERR_FORMAT, "%s: SimpleRNN: unknown activation '%s'", where, a);
        nd->act = (lf_activation)act;
    } else if ((a && strcmp(a, "tanh") != 0) || (ra && strcmp(ra, "sigmoid") != 0))
        return lf_fail(e, LF_ERR_FORMAT,
                       "%s: %s supports only activation 'tanh' and recurrent_activation 'sigmoid'", where, type);
    if ((st = lf_arch_bool(L, "use_bias", &nd->use_bias, where, e)) != LF_OK ||
        (st = lf_arch_bool(L, "return_sequences", &nd->return_sequences, where, e)) != LF_OK ||
        (st = lf_arch_bool(L, "go_backwards", &nd->go_backwards, where, e)) != LF_OK)
        return st;
    if (simple) {
    } else if (gru) {
        int ra_on = 1;
        if (lf_json_get(L, "reset_after") && (st = lf_arch_bool(L, "reset_after", &ra_on, where, e)) != LF_OK)
            return st;
        if (!ra_on) return lf_fail(e, LF_ERR_FORMAT, "%s: GRU supports only reset_after true", where);
    } else if ((st = lf_arch_bool(L, "unit_forget_bias", &nd->unit_forget_bias, where, e)) != LF_OK) {
        return st;
    }
    if (lf_json_get(L, "l2") && (st = lf_arch_float_in(L, "l2", 0, INFINITY, 0, &nd->l2, where, e)) != LF_OK)
        return st;
    if ((st = lf_arch_read_bias_l2(L, nd, where, e)) != LF_OK) return st;
    if (lf_json_get(L, "dropout") &&
        (st = lf_arch_float_in(L, "dropout", 0, 1, LF_ARCH_HI_OPEN, &nd->rate, where, e)) != LF_OK)
        return st;
    if (lf_json_get(L, "recurrent_dropout") &&
        (st = lf_arch_float_in(L, "recurrent_dropout", 0, 1, LF_ARCH_HI_OPEN, &nd->recurrent_rate, where, e)) !=
            LF_OK)
        return st;
    if (lf_json_get(L, "return_state") && (st = lf_arch_bool(L, "return_state", &nd->return_state, where, e)) != LF_OK)
        return st;
    return LF_OK;
}

/* "inbound", "name" first: the list from "type" on is a wrapped layer's
 * (Bidirectional's "layer") */
static const char *const lstm_keys[] = {"inbound",      "name",           "type",             "units",
                                        "activation",   "recurrent_activation", "use_bias", "return_sequences",
                                        "go_backwards", "unit_forget_bias", "l2",          "dropout",
                                        "recurrent_dropout", "bias_l2", "return_state", NULL};
static const char *const gru_keys[] = {"inbound",      "name",        "type",    "units",
                                       "activation",   "recurrent_activation", "use_bias", "return_sequences",
                                       "go_backwards", "reset_after", "l2",      "dropout",
                                       "recurrent_dropout", "bias_l2", "return_state", NULL};

static const char *const simple_rnn_keys[] = {"inbound",  "name",          "type",             "units",
                                              "activation", "use_bias", "return_sequences", "go_backwards",
                                              "l2",       "dropout",       "recurrent_dropout", "bias_l2", "return_state", NULL};

static const char *const merge_names[] = {NULL, "concat", "sum", "mul", "ave"};
static const char *const cell_names[] = {"LSTM", "GRU", "SimpleRNN"};
static const char *const *const cell_keys[] = {lstm_keys + 2, gru_keys + 2, simple_rnn_keys + 2};

static void bidi_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    if (nd->merge_mode == LF_BIDI_NONE) lf_buf_puts(b, ",\"merge_mode\":null");
    else lf_buf_printf(b, ",\"merge_mode\":\"%s\"", merge_names[nd->merge_mode]);
    lf_buf_printf(b, ",\"layer\":{\"type\":\"%s\"", cell_names[nd->cell]);
    rnn_json(m, nd, b);
    lf_buf_printf(b, "}");
}

/* {"merge_mode": "concat", "layer": {"type": "LSTM", <LSTM's fields>}} */
static lf_status bidi_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                           lf_err *e) {
    const lf_json *mm = lf_json_get(L, "merge_mode"), *in = lf_json_get(L, "layer");
    const char *ms = lf_json_str(mm);
    char w2[160], esc[LF_MSG_STR];
    nd->merge_mode = 0;
    for (int k = LF_BIDI_CONCAT; ms && k <= LF_BIDI_AVE; k++)
        if (strcmp(ms, merge_names[k]) == 0) nd->merge_mode = k;
    if (lf_json_is(mm, LF_JSON_NULL)) nd->merge_mode = LF_BIDI_NONE; /* Keras' None: a list of two outputs */
    if (!nd->merge_mode)
        return lf_fail(e, LF_ERR_FORMAT, "%s: Bidirectional: 'merge_mode' must be \"concat\", \"sum\", \"mul\", "
                       "\"ave\" or null", where);
    const char *type = lf_arch_str(in, "type");
    nd->cell = -1;
    for (int k = 0; type && k < 3; k++)
        if (strcmp(type, cell_names[k]) == 0) nd->cell = k;
    if (!lf_json_is(in, LF_JSON_OBJECT) || nd->cell < 0)
        return lf_fail(e, LF_ERR_FORMAT, "%s: Bidirectional: 'layer' must be an object whose 'type' is \"LSTM\", "
                       "\"GRU\" or \"SimpleRNN\"", where);
    snprintf(w2, sizeof w2, "%s: Bidirectional's layer", where);
    const char *bad = lf_json_unknown_key(in, cell_keys[nd->cell]);
    if (bad) return lf_fail(e, LF_ERR_FORMAT, "%s: unknown field '%s'", w2, lf_str_for_msg(esc, bad));
    lf_status st = rnn_read(m, in, n_in, nd, w2, e);
    if (st != LF_OK) return st;
    if (nd->go_backwards)
        return lf_fail(e, LF_ERR_FORMAT, "%s: go_backwards must be false (Keras: the forward and backward copies "
                       "would both run backwards)", w2);
    return LF_OK;
}

static const char *const bidi_keys[] = {"name", "type", "inbound", "merge_mode", "layer", NULL};

const lf_layer_type lf_type_bidirectional = {
    .type = "Bidirectional",
    .prefix = "bidirectional",
    .keys = bidi_keys,
    .op = 3,
    .l2 = 1,
    .bias_l2 = 1,
    .recurrent_reg = 1,
    .activity_reg = 1,
    .masking = LF_MASKING_OWN,
    .draws_if = rnn_draws,
    .outputs = rnn_outputs,
    .infer = rnn_infer,
    .weights = rnn_weights,
    .init = rnn_init,
    .forward = rnn_forward,
    .backward = rnn_backward,
    .write_json = bidi_json,
    .read_json = bidi_read,
};

const lf_layer_type lf_type_lstm = {
    .type = "LSTM",
    .prefix = "lstm",
    .keys = lstm_keys,
    .op = 0,
    .l2 = 1,
    .bias_l2 = 1,
    .recurrent_reg = 1,
    .activity_reg = 1,
    .masking = LF_MASKING_OWN,
    .draws_if = rnn_draws,
    .outputs = rnn_outputs,
    .infer = rnn_infer,
    .weights = rnn_weights,
    .init = rnn_init,
    .forward = rnn_forward,
    .backward = rnn_backward,
    .write_json = rnn_json,
    .read_json = rnn_read,
};

const lf_layer_type lf_type_gru = {
    .type = "GRU",
    .prefix = "gru",
    .keys = gru_keys,
    .op = 1,
    .l2 = 1,
    .bias_l2 = 1,
    .recurrent_reg = 1,
    .activity_reg = 1,
    .masking = LF_MASKING_OWN,
    .draws_if = rnn_draws,
    .outputs = rnn_outputs,
    .infer = rnn_infer,
    .weights = rnn_weights,
    .init = rnn_init,
    .forward = rnn_forward,
    .backward = rnn_backward,
    .write_json = rnn_json,
    .read_json = rnn_read,
};

const lf_layer_type lf_type_simple_rnn = {
    .type = "SimpleRNN",
    .prefix = "simple_rnn",
    .keys = simple_rnn_keys,
    .op = 2,
    .l2 = 1,
    .bias_l2 = 1,
    .recurrent_reg = 1,
    .activity_reg = 1,
    .masking = LF_MASKING_OWN,
    .draws_if = rnn_draws,
    .outputs = rnn_outputs,
    .infer = rnn_infer,
    .weights = rnn_weights,
    .init = rnn_init,
    .forward = rnn_forward,
    .backward = rnn_backward,
    .write_json = rnn_json,
    .read_json = rnn_read,
};

int lf_lstm(lf_model *m, int x, size_t units, int use_bias, int unit_forget_bias, int return_sequences,
            int go_backwards, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.dim = units;
    nd.use_bias = use_bias != 0;
    nd.unit_forget_bias = unit_forget_bias != 0;
    nd.return_sequences = return_sequences != 0;
    nd.go_backwards = go_backwards != 0;
    return lf_node_add(m, &lf_type_lstm, LF_K_LSTM, nd, &x, 1, name);
}

int lf_gru(lf_model *m, int x, size_t units, int use_bias, int return_sequences, int go_backwards,
           const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.dim = units;
    nd.use_bias = use_bias != 0;
    nd.return_sequences = return_sequences != 0;
    nd.go_backwards = go_backwards != 0;
    return lf_node_add(m, &lf_type_gru, LF_K_GRU, nd, &x, 1, name);
}

int lf_simple_rnn(lf_model *m, int x, size_t units, lf_activation act, int use_bias, int return_sequences,
                  int go_backwards, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.dim = units;
    nd.act = act;
    nd.use_bias = use_bias != 0;
    nd.return_sequences = return_sequences != 0;
    nd.go_backwards = go_backwards != 0;
    return lf_node_add(m, &lf_type_simple_rnn, LF_K_SIMPLE_RNN, nd, &x, 1, name);
}

int lf_bidirectional(lf_model *m, int x, lf_rnn_cell cell, size_t units, lf_activation act, int use_bias,
                     int unit_forget_bias, int return_sequences, lf_bidi_merge merge_mode, const char *name) {
    lf_node nd = LF_NODE_PROTO;
    nd.dim = units;
    nd.cell = (int)cell;
    nd.act = cell == LF_RNN_SIMPLE ? act : LF_ACT_TANH;
    nd.use_bias = use_bias != 0;
    nd.unit_forget_bias = cell == LF_RNN_LSTM && unit_forget_bias != 0;
    nd.return_sequences = return_sequences != 0;
    nd.merge_mode = (int)merge_mode;
    return lf_node_add(m, &lf_type_bidirectional, LF_K_BIDIRECTIONAL, nd, &x, 1, name);
}

lf_status lf_set_rnn_dropout(lf_model *m, int node, float dropout, float recurrent_dropout) {
    if (!m) return LF_ERR_ARG;
    if (m->compiled) return lf_model_fail(m, LF_ERR_STATE, "lf_set_rnn_dropout: the model is already compiled");
    lf_kind k = node >= 0 && (size_t)node < m->n_nodes ? m->nodes[node].kind : LF_K_COUNT;
    if (k != LF_K_LSTM && k != LF_K_GRU && k != LF_K_SIMPLE_RNN && k != LF_K_BIDIRECTIONAL)
        return lf_model_fail(m, LF_ERR_ARG, "lf_set_rnn_dropout: node %d is not an LSTM, GRU, SimpleRNN or "
                             "Bidirectional layer", node);
    if (!rate_ok(dropout) || !rate_ok(recurrent_dropout))
        return lf_model_fail(m, LF_ERR_ARG, "lf_set_rnn_dropout: %s: dropout and recurrent_dropout must be in "
                             "[0, 1), got %g and %g", m->nodes[node].name, (double)dropout,
                             (double)recurrent_dropout);
    lf_node *nd = &m->nodes[node];
    nd->rate = dropout, nd->recurrent_rate = recurrent_dropout;
    rnn_geom g = geom_of(m, nd);
    nd->aux_per_row = node_aux(nd, &g); /* the masks' room, as infer */
    return LF_OK;
}

lf_status lf_set_rnn_state(lf_model *m, int node, int return_state, const int *initial_state, size_t n_initial) {
    if (!m) return LF_ERR_ARG;
    if (lf_build_stuck(m)) return m->sticky;
    if (m->compiled) return lf_model_fail(m, LF_ERR_STATE, "lf_set_rnn_state: the model is already compiled");
    lf_kind k = node >= 0 && (size_t)node < m->n_nodes ? m->nodes[node].kind : LF_K_COUNT;
    if (k != LF_K_LSTM && k != LF_K_GRU && k != LF_K_SIMPLE_RNN && k != LF_K_BIDIRECTIONAL)
        return lf_model_fail(m, LF_ERR_ARG, "lf_set_rnn_state: node %d is not an LSTM, GRU, SimpleRNN or "
                             "Bidirectional layer", node);
    lf_node *nd = &m->nodes[node];
    const char *kn = lf_type_of(nd)->type;
    /* its outputs change: nothing may read it yet */
    for (size_t i = (size_t)node + 1; i < m->n_nodes; i++) {
        const lf_node *o = &m->nodes[i];
        int reads = o->gate == node || o->mask == node;
        for (size_t j = 0; j < o->n_in; j++) reads |= o->in[j] == node;
        if (reads)
            return lf_model_fail(m, LF_ERR_STATE, "lf_set_rnn_state: %s '%s' is already read by layer '%s'; set "
                                 "its states before adding the layers that read it", kn, nd->name, o->name);
    }
    int cell = cell_of(nd);
    size_t n_st = copies_of(nd) * states_of(cell);
    if (n_initial && n_initial != n_st)
        return lf_model_fail(m, LF_ERR_ARG, "%s '%s': initial_state has %zu tensors; it needs %zu (%s)", kn,
                             nd->name, n_initial, n_st, cell == 0 ? (copies_of(nd) == 2 ? "h and c of each direction" : "h and c")
                                                                  : (copies_of(nd) == 2 ? "h of each direction" : "h"));
    for (size_t i = 0; i < n_initial; i++) {
        int s0 = initial_state ? initial_state[i] : -1;
        if (s0 < 0 || s0 >= node)
            return lf_model_fail(m, LF_ERR_ARG, "%s '%s': initial_state %zu (id %d) is not a layer added before it",
                                 kn, nd->name, i, s0);
        const lf_node *sn = &m->nodes[s0];
        if (sn->n_outs > 1)
            return lf_model_fail(m, LF_ERR_ARG, "%s '%s': initial_state %zu ('%s') has %zu outputs; pick one with "
                                 "lf_output_view", kn, nd->name, i, sn->name, sn->n_outs);
        if (sn->rank != 1 || sn->dim != nd->units) {
            char sh[96];
            lf_shape_str(sn, sh, sizeof sh);
            return lf_model_fail(m, LF_ERR_SHAPE, "%s '%s': initial_state %zu ('%s') has shape %s; it needs (None, %zu)",
                                 kn, nd->name, i, sn->name, sh, nd->units);
        }
    }
    int *in = LF_MALLOC((1 + n_initial) * sizeof *in);
    if (!in) return lf_model_fail(m, LF_ERR_NOMEM, "out of memory setting the states of '%s'", nd->name);
    in[0] = nd->in[0];
    for (size_t i = 0; i < n_initial; i++) in[1 + i] = initial_state[i];
    /* infer again on the settings (units back in dim, as the builder gives them) */
    lf_node proto = *nd;
    proto.dim = nd->units;
    proto.return_state = return_state != 0;
    if (!lf_type_of(nd)->infer(m, lf_type_of(nd), &proto, in, 1 + n_initial)) {
        LF_FREE(in);
        return m->sticky;
    }
    LF_FREE(nd->in);
    proto.in = in, proto.n_in = 1 + n_initial;
    *nd = proto;
    return LF_OK;
}
