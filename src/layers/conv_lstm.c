/*
 * conv_lstm.c — Keras' ConvLSTM2D, ConvLSTM1D and ConvLSTM3D
 * (keras/src/layers/rnn/conv_lstm.py, conv_lstm2d.py, conv_lstm1d.py,
 * conv_lstm3d.py): an LSTM whose input and recurrent transformations are
 * convolutions, over channels-last videos x (B, T, H, W, C) (ConvLSTM1D:
 * sequences of signals (B, T, L, C), run as images (L, 1, C) with a (k, 1)
 * window; ConvLSTM3D: sequences of volumes (B, T, D, H, W, C), a
 * (kd, kh, kw) window, ConvLSTM2D's text below with one more axis).
 *
 * Weights, Keras' names, order and layout (G = 4 F, F = filters, gate
 * blocks i, f, c, o along the last axis):
 *   kernel (kh, kw, C, G)   recurrent_kernel (kh, kw, F, G)   bias (G)
 * kernel glorot_uniform (fan_in kh kw C, fan_out kh kw G), the recurrent
 * kernel Keras' Orthogonal over its (kh kw F, G) flattening, the bias zeros
 * but the forget block, ones with unit_forget_bias.
 *
 * One step from h, c (Ho, Wo, F), input x_t (H, W, C) (sigma the sigmoid):
 *   z = conv(x_t, kernel; strides, padding, dilation_rate) + b
 *       + conv(h, recurrent_kernel; stride 1, "same")
 *   i, f, o = sigma(z_i, z_f, z_o), g = tanh(z_c)
 *   c' = f c + i g,  h' = o tanh(c')
 * from zero states (Keras' ConvLSTMCell.call: input_conv with the layer's
 * strides and padding, recurrent_conv always stride 1 and "same", no
 * dilation).  go_backwards runs t = T - 1 down to 0; the output is h' of
 * every step in the order they ran with return_sequences, (T, Ho, Wo, F),
 * else the last one's, (Ho, Wo, F), as rnn.c's LSTM.
 *
 * Not available (refused by the builder or the file reader): dropout,
 * recurrent_dropout, return_state, initial_state, stateful, other
 * activations, channels_first, and a padding mask on x (ours would be per
 * pixel, (T, H, W), which Keras' RNN loop cannot use as a mask over time).
 *
 * Both convolutions go through conv.c's im2col (ConvLSTM3D: conv3d.c's
 * vol2col) and the project's sgemm; the cell step is lstm_cell.h's.
 * Scratch (aux, per batch row, row-major):
 *   Xc (T, P, K)  the input's columns (P = Ho Wo, K = kh kw C; ConvLSTM3D
 *                 P = Do Ho Wo, K = kd kh kw C): kept for
 *                 the kernel's gradient, then the columns' gradients
 *   Z  (T, P, G)  the gates after their activations, then d z
 *   H, Cs (T, P, F)  the states after each step
 *   Hc (P, Kr)    one step's columns of h (Kr = kh kw F), then d columns
 *   dh, dc (P, F) the states' gradients carried back
 * so training allocates nothing.  Forward: every x_t's columns times the
 * kernel as one sgemm over the B T P rows, then per step and batch row h's
 * columns times the recurrent kernel added in.  Backward walks the steps
 * back: per step and row, d U += Hc^T dz and d h_prev = col2im(dz U^T);
 * then d kernel = Xc^T dZ and dx = col2im(dZ kernel^T) over all steps.
 */
#include "kernels.h"
#include "layers/layer.h"
#include "layers/lstm_cell.h"

#include <math.h>
#include <string.h>

typedef struct cl_geom {
    size_t T, P, K, Kr, F, G, in; /* in: the values of one frame x_t */
    int vol;                      /* ConvLSTM3D: vx, vh; else gx, gh */
    lf_conv_geom gx, gh;          /* the input's convolution, the recurrent one */
    lf_vol_geom vx, vh;           /* ConvLSTM3D's */
} cl_geom;

static size_t rank_of(const lf_node *nd) {
    return nd->kind == LF_K_CONV_LSTM1D ? 1 : nd->kind == LF_K_CONV_LSTM3D ? 3 : 2;
}

/* ConvLSTM3D: x (T, D, H, W, C) */
static cl_geom geom3_of(const lf_node *x, const lf_node *nd) {
    cl_geom g;
    memset(&g, 0, sizeof g);
    lf_vol_geom *a = &g.vx, *r = &g.vh;
    g.vol = 1, g.T = x->shape[0];
    a->D = x->shape[1], a->H = x->shape[2], a->W = x->shape[3], a->C = x->shape[4];
    a->kd = nd->kernel[0], a->kh = nd->kernel[1], a->kw = nd->kernel[2];
    a->sd = nd->strides[0], a->sh = nd->strides[1], a->sw = nd->strides[2];
    a->dd = nd->dilation[0], a->dh = nd->dilation[1], a->dw = nd->dilation[2];
    a->Do = lf_conv_out_dilated(a->D, a->kd, a->sd, a->dd, nd->padding, &a->pf);
    a->Ho = lf_conv_out_dilated(a->H, a->kh, a->sh, a->dh, nd->padding, &a->pt);
    a->Wo = lf_conv_out_dilated(a->W, a->kw, a->sw, a->dw, nd->padding, &a->pl);
    g.F = nd->units, g.G = 4 * g.F;
    /* h (Do, Ho, Wo, F) under the same window, stride 1, "same", undilated */
    r->D = a->Do, r->H = a->Ho, r->W = a->Wo, r->C = g.F, r->kd = a->kd, r->kh = a->kh, r->kw = a->kw;
    r->sd = r->sh = r->sw = r->dd = r->dh = r->dw = 1;
    r->Do = lf_conv_out(r->D, r->kd, 1, LF_PADDING_SAME, &r->pf);
    r->Ho = lf_conv_out(r->H, r->kh, 1, LF_PADDING_SAME, &r->pt);
    r->Wo = lf_conv_out(r->W, r->kw, 1, LF_PADDING_SAME, &r->pl);
    g.P = a->Do * a->Ho * a->Wo, g.K = a->kd * a->kh * a->kw * a->C, g.Kr = a->kd * a->kh * a->kw * g.F;
    g.in = a->D * a->H * a->W * a->C;
    return g;
}

/* x (T, H, W, C), or ConvLSTM1D's (T, L, C) as (T, L, 1, C) */
static cl_geom geom_of(const lf_node *x, const lf_node *nd) {
    if (x->rank == 5) return geom3_of(x, nd);
    cl_geom g;
    g.vol = 0;
    int one = x->rank == 3;
    lf_conv_geom *a = &g.gx, *r = &g.gh;
    g.T = x->shape[0];
    a->H = x->shape[1], a->W = one ? 1 : x->shape[2], a->C = x->shape[x->rank - 1];
    a->kh = nd->kernel[0], a->kw = nd->kernel[1], a->sh = nd->strides[0], a->sw = nd->strides[1];
    a->dh = nd->dilation[0], a->dw = nd->dilation[1];
    a->Ho = lf_conv_out_dilated(a->H, a->kh, a->sh, a->dh, nd->padding, &a->pt);
    a->Wo = lf_conv_out_dilated(a->W, a->kw, a->sw, a->dw, nd->padding, &a->pl);
    g.F = nd->units, g.G = 4 * g.F;
    a->F = g.G, a->K = a->kh * a->kw * a->C;
    /* h (Ho, Wo, F) under the same window, stride 1, "same", undilated */
    r->H = a->Ho, r->W = a->Wo, r->C = g.F, r->kh = a->kh, r->kw = a->kw;
    r->sh = r->sw = r->dh = r->dw = 1;
    r->Ho = lf_conv_out(r->H, r->kh, 1, LF_PADDING_SAME, &r->pt);
    r->Wo = lf_conv_out(r->W, r->kw, 1, LF_PADDING_SAME, &r->pl);
    r->F = g.G, r->K = r->kh * r->kw * g.F;
    g.P = a->Ho * a->Wo, g.K = a->K, g.Kr = r->K, g.in = a->H * a->W * a->C;
    return g;
}

/* cols (P, K or Kr) = the receptive fields of v (the input's frame, or
 * rec: h) */
static void to_cols(const cl_geom *g, int rec, float *cols, const float *v) {
    if (g->vol) lf_vol2col(cols, NULL, v, rec ? &g->vh : &g->vx, rec ? g->Kr : g->K, 0);
    else lf_im2col(cols, v, rec ? &g->gh : &g->gx);
}

/* dv += cols scattered back (the transpose of to_cols) */
static void from_cols(const cl_geom *g, int rec, float *dv, float *cols) {
    if (g->vol) lf_vol2col(cols, dv, NULL, rec ? &g->vh : &g->vx, rec ? g->Kr : g->K, 1);
    else lf_col2im(dv, cols, rec ? &g->gh : &g->gx);
}

static const lf_node *input_of(const lf_model *m, const lf_node *nd) { return &m->nodes[nd->in[0]]; }

/* aux per batch row: Xc, Z, H, Cs, Hc, dh, dc (the top of this file) */
static int aux_size(const cl_geom *g, size_t *n) {
    size_t tp, a, b, c, d;
    if (!lf_mul_ok(g->T, g->P, &tp) || !lf_mul_ok(tp, g->K + g->G + 2 * g->F, &a) || !lf_mul_ok(g->P, g->Kr, &b) ||
        !lf_mul_ok(g->P, 2 * g->F, &c))
        return 0;
    d = a + b + c;
    *n = d;
    return d >= a && d <= LF_ARCH_MAX_DIM;
}

/* the builder put filters in nd->dim, the window, strides, dilation,
 * padding, use_bias, unit_forget_bias, return_sequences, go_backwards */
static int cl_infer(lf_model *m, const lf_layer_type *t, lf_node *nd, const int *in, size_t n_in) {
    const char *kn = t->type;
    size_t rank = (size_t)t->op;
    if (n_in != 1 || in[0] < 0 || (size_t)in[0] >= m->n_nodes)
        return lf_build_fail(m, LF_ERR_ARG, "%s: the input is not a node of this model (id %d)", kn,
                             n_in ? in[0] : -1);
    const lf_node *x = &m->nodes[in[0]];
    char sh[96];
    lf_shape_str(x, sh, sizeof sh);
    if (x->rank != rank + 2)
        return lf_build_fail(m, LF_ERR_SHAPE, "%s: input '%s' has shape %s; it needs rank %zu %s", kn, x->name, sh,
                             rank + 3,
                             rank == 3   ? "(batch, time, depth, rows, cols, channels)"
                             : rank == 2 ? "(batch, time, rows, cols, channels)"
                                         : "(batch, time, steps, channels)");
    if (x->seq_mask >= 0)
        return lf_build_fail(m, LF_ERR_ARG,
                             "%s: input '%s' carries a padding mask, which %s does not support (the mask would be "
                             "per pixel, not per time step)",
                             kn, x->name, kn);
    if (nd->dim == 0 || nd->dim > LF_ARCH_MAX_DIM / 4)
        return lf_build_fail(m, LF_ERR_ARG, "%s: filters must be in 1..%zu, got %zu", kn, LF_ARCH_MAX_DIM / 4,
                             nd->dim);
    if (!lf_conv_check(m, kn, nd, rank, 0)) return 0;
    nd->units = nd->dim;
    cl_geom g = geom_of(x, nd);
    if (g.vol && (g.vx.Do == 0 || g.vx.Ho == 0 || g.vx.Wo == 0))
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "%s: input '%s' of shape %s is smaller than the kernel (%zu, %zu, %zu) with padding "
                             "'valid'",
                             kn, x->name, sh, nd->kernel[0], nd->kernel[1], nd->kernel[2]);
    if (!g.vol && (g.gx.Ho == 0 || g.gx.Wo == 0)) {
        if (rank == 1)
            return lf_build_fail(m, LF_ERR_SHAPE,
                                 "%s: input '%s' of shape %s is shorter than the kernel %zu with padding 'valid'", kn,
                                 x->name, sh, nd->kernel[0]);
        return lf_build_fail(m, LF_ERR_SHAPE,
                             "%s: input '%s' of shape %s is smaller than the kernel (%zu, %zu) with padding 'valid'",
                             kn, x->name, sh, nd->kernel[0], nd->kernel[1]);
    }
    size_t aux, nw;
    if (!aux_size(&g, &aux) || !lf_mul_ok(g.K + g.Kr + 1, g.G, &nw) || nw > LF_ARCH_MAX_DIM)
        return lf_build_fail(m, LF_ERR_ARG, "%s: %zu filters over %zu frames of shape %s are too many", kn, g.F, g.T,
                             sh);
    size_t shape[LF_MAX_RANK], n = 0;
    if (nd->return_sequences) shape[n++] = g.T;
    if (g.vol) shape[n++] = g.vx.Do, shape[n++] = g.vx.Ho, shape[n++] = g.vx.Wo;
    else shape[n++] = g.gx.Ho;
    if (rank == 2) shape[n++] = g.gx.Wo;
    shape[n++] = g.F;
    if (!lf_shape_set(m, kn, nd, n, shape)) return 0;
    nd->aux_per_row = aux;
    nd->seq_mask = -1;
    return 1;
}

static size_t cl_weights(const lf_model *m, const lf_node *nd, lf_weight *w) {
    cl_geom g = geom_of(input_of(m, nd), nd);
    size_t rank = rank_of(nd);
    size_t n = lf_conv_kernel(&w[0], "kernel", 0, rank, nd->kernel, g.vol ? g.vx.C : g.gx.C, g.G);
    size_t nr = lf_conv_kernel(&w[1], "recurrent_kernel", n, rank, nd->kernel, g.F, g.G);
    w[1].l2 = 0, w[1].recurrent = 1;
    if (!nd->use_bias) return 2;
    lf_conv_bias(&w[2], n + nr, g.G);
    return 3;
}

static void cl_init(lf_model *m, lf_node *nd) {
    cl_geom g = geom_of(input_of(m, nd), nd);
    size_t rf = g.K / (g.vol ? g.vx.C : g.gx.C);
    float *w = m->params + nd->param_off;
    lf_conv_glorot(m, w, g.K * g.G, g.K, rf * g.G);
    lf_orthogonal(w + g.K * g.G, g.Kr, g.G, &m->rng);
    if (!nd->use_bias) return;
    float *b = w + (g.K + g.Kr) * g.G;
    memset(b, 0, g.G * sizeof *b);
    if (nd->unit_forget_bias)
        for (size_t j = 0; j < g.F; j++) b[g.F + j] = 1.0f;
}

/* the scratch of a batch of B rows */
typedef struct cl_bufs {
    float *Xc, *Z, *H, *Cs, *Hc, *dh, *dc;
} cl_bufs;

static cl_bufs bufs_of(const lf_layer_ctx *c, const cl_geom *g) {
    cl_bufs b;
    size_t BTP = c->B * g->T * g->P;
    b.Xc = c->aux;
    b.Z = b.Xc + BTP * g->K;
    b.H = b.Z + BTP * g->G;
    b.Cs = b.H + BTP * g->F;
    b.Hc = b.Cs + BTP * g->F;
    b.dh = b.Hc + c->B * g->P * g->Kr;
    b.dc = b.dh + c->B * g->P * g->F;
    return b;
}

/* the time index of the s-th step run */
static inline size_t step_t(int back, size_t T, size_t s) { return back ? T - 1 - s : s; }

static void cl_forward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    cl_geom g = geom_of(input_of(c->m, nd), nd);
    cl_bufs s = bufs_of(c, &g);
    size_t B = c->B, T = g.T, P = g.P, F = g.F, G = g.G, PF = P * F, PG = P * G;
    const float *Wk = c->w, *U = Wk + g.K * G, *bias = nd->use_bias ? U + g.Kr * G : NULL;
    /* Xc (B T P, K): every frame's columns;  Z (B T P, G) = Xc Wk (K, G) + b */
    for (size_t f = 0; f < B * T; f++) to_cols(&g, 0, s.Xc + f * P * g.K, c->xs[0] + f * g.in);
    lf_sgemm_bias_relu(0, 0, B * T * P, G, g.K, s.Xc, g.K, Wk, G, bias, 0, s.Z, G);
    for (size_t k = 0; k < T; k++) {
        size_t t = step_t(nd->go_backwards, T, k), tp = k ? step_t(nd->go_backwards, T, k - 1) : 0;
        for (size_t r = 0; r < B; r++) {
            float *z = s.Z + (r * T + t) * PG, *h = s.H + (r * T + t) * PF, *cc = s.Cs + (r * T + t) * PF;
            const float *hp = k ? s.H + (r * T + tp) * PF : NULL, *cp = k ? s.Cs + (r * T + tp) * PF : NULL;
            if (hp) { /* z (P, G) += cols(h_prev) (P, Kr) U (Kr, G) */
                float *hc = s.Hc + r * P * g.Kr;
                to_cols(&g, 1, hc, hp);
                lf_sgemm(0, 0, P, G, g.Kr, 1.0f, hc, g.Kr, U, G, 1.0f, z, G);
            }
            for (size_t p = 0; p < P; p++)
                lf_lstm_cell_forward(z + p * G, cp ? cp + p * F : NULL, cc + p * F, h + p * F, F);
        }
    }
    /* y: h of every step in the order they ran, or the last one's */
    for (size_t r = 0; r < B; r++) {
        float *yr = c->y + r * nd->dim;
        if (!nd->return_sequences) {
            memcpy(yr, s.H + (r * T + step_t(nd->go_backwards, T, T - 1)) * PF, PF * sizeof *yr);
            continue;
        }
        for (size_t k = 0; k < T; k++)
            memcpy(yr + k * PF, s.H + (r * T + step_t(nd->go_backwards, T, k)) * PF, PF * sizeof *yr);
    }
}

static void cl_backward(const lf_layer_ctx *c) {
    const lf_node *nd = c->nd;
    cl_geom g = geom_of(input_of(c->m, nd), nd);
    cl_bufs s = bufs_of(c, &g);
    size_t B = c->B, T = g.T, P = g.P, F = g.F, G = g.G, PF = P * F, PG = P * G;
    const float *Wk = c->w, *U = Wk + g.K * G;
    float *dW = c->dw, *dU = dW + g.K * G, *db = nd->use_bias ? dU + g.Kr * G : NULL;
    memset(s.dh, 0, B * PF * sizeof *s.dh);
    memset(s.dc, 0, B * PF * sizeof *s.dc);
    for (size_t k = T; k-- > 0;) {
        size_t t = step_t(nd->go_backwards, T, k), tp = k ? step_t(nd->go_backwards, T, k - 1) : 0;
        for (size_t r = 0; r < B; r++) {
            float *d = s.dh + r * PF, *dcr = s.dc + r * PF, *z = s.Z + (r * T + t) * PG;
            const float *cc = s.Cs + (r * T + t) * PF, *cp = k ? s.Cs + (r * T + tp) * PF : NULL;
            const float *dyr = c->dy + r * nd->dim;
            if (nd->return_sequences)
                for (size_t j = 0; j < PF; j++) d[j] += dyr[k * PF + j];
            else if (k == T - 1)
                for (size_t j = 0; j < PF; j++) d[j] += dyr[j];
            /* z (P, G) becomes d z; dc carries d c_prev, dh restarts at 0
             * (h_prev reaches h' only through U: added below) */
            for (size_t p = 0; p < P; p++)
                lf_lstm_cell_backward(z + p * G, cc + p * F, cp ? cp + p * F : NULL, d + p * F, dcr + p * F, F);
            if (!k) continue; /* the zero initial states take no gradient */
            /* dU (Kr, G) += cols(h_prev)^T dz;  dh (P, F) += col2im(dz U^T) */
            float *hc = s.Hc + r * P * g.Kr;
            to_cols(&g, 1, hc, s.H + (r * T + tp) * PF);
            lf_sgemm(1, 0, g.Kr, G, P, 1.0f, hc, g.Kr, z, G, 1.0f, dU, G);
            lf_sgemm(0, 1, P, g.Kr, G, 1.0f, z, G, U, G, 0.0f, hc, g.Kr);
            from_cols(&g, 1, d, hc);
        }
    }
    size_t N = B * T * P;
    if (db)
        for (size_t n = 0; n < N; n++)
            for (size_t j = 0; j < G; j++) db[j] += s.Z[n * G + j];
    /* dWk (K, G) += Xc^T dZ;  the columns are spent: they become dZ Wk^T,
     * scattered back onto each frame of dx */
    lf_sgemm(1, 0, g.K, G, N, 1.0f, s.Xc, g.K, s.Z, G, 1.0f, dW, G);
    float *dx = c->dxs[0];
    if (!dx) return;
    lf_sgemm(0, 1, N, g.K, G, 1.0f, s.Z, G, Wk, G, 0.0f, s.Xc, g.K);
    for (size_t f = 0; f < B * T; f++) from_cols(&g, 0, dx + f * g.in, s.Xc + f * P * g.K);
}

static const char *const pad_names[] = {"valid", "same"};

static void write_sizes(lf_buf *b, const char *key, const size_t *v, size_t rank) {
    lf_buf_printf(b, ",\"%s\":[", key);
    for (size_t i = 0; i < rank; i++) lf_buf_printf(b, "%s%zu", i ? "," : "", v[i]);
    lf_buf_puts(b, "]");
}

/* filters and kernel_size, then only the fields that differ from Keras'
 * defaults (the reader's absent values) */
static void cl_json(const lf_model *m, const lf_node *nd, lf_buf *b) {
    (void)m;
    size_t rank = rank_of(nd);
    int strided = 0;
    for (size_t i = 0; i < rank; i++) strided |= nd->strides[i] != 1;
    lf_buf_printf(b, ",\"filters\":%zu", nd->units);
    write_sizes(b, "kernel_size", nd->kernel, rank);
    if (strided) write_sizes(b, "strides", nd->strides, rank);
    if (nd->padding != LF_PADDING_VALID) lf_buf_printf(b, ",\"padding\":\"%s\"", pad_names[nd->padding]);
    lf_conv_write_dilation(nd, rank, b);
    if (!nd->use_bias) lf_buf_puts(b, ",\"use_bias\":false");
    if (!nd->unit_forget_bias) lf_buf_puts(b, ",\"unit_forget_bias\":false");
    if (nd->return_sequences) lf_buf_puts(b, ",\"return_sequences\":true");
    if (nd->go_backwards) lf_buf_puts(b, ",\"go_backwards\":true");
    if (nd->l2 != 0.0f) {
        lf_buf_puts(b, ",\"l2\":");
        lf_buf_json_float(b, nd->l2);
    }
    lf_arch_write_bias_l2(nd, b);
}

/* an optional boolean: absent keeps *out */
static lf_status opt_bool(const lf_json *L, const char *key, int *out, const char *where, lf_err *e) {
    return lf_json_get(L, key) ? lf_arch_bool(L, key, out, where, e) : LF_OK;
}

static lf_status cl_read(const lf_model *m, const lf_json *L, size_t n_in, lf_node *nd, const char *where,
                         lf_err *e) {
    (void)m;
    const char *type = lf_arch_str(L, "type"); /* the table matched it */
    size_t rank = !type ? 2 : strcmp(type, "ConvLSTM1D") == 0 ? 1 : strcmp(type, "ConvLSTM3D") == 0 ? 3 : 2;
    const char *kn = rank == 1 ? "ConvLSTM1D" : rank == 3 ? "ConvLSTM3D" : "ConvLSTM2D";
    lf_status st = lf_arch_arity(n_in, 1, kn, where, e);
    if (st != LF_OK) return st;
    if (!lf_json_size(lf_json_get(L, "filters"), &nd->dim) || nd->dim == 0 || nd->dim > LF_ARCH_MAX_DIM / 4)
        return lf_fail(e, LF_ERR_FORMAT, "%s: 'filters' must be an integer in 1..%zu", where, LF_ARCH_MAX_DIM / 4);
    const char *a = lf_arch_str(L, "activation"), *ra = lf_arch_str(L, "recurrent_activation");
    if ((lf_json_get(L, "activation") && (!a || strcmp(a, "tanh") != 0)) ||
        (lf_json_get(L, "recurrent_activation") && (!ra || strcmp(ra, "sigmoid") != 0)))
        return lf_fail(e, LF_ERR_FORMAT, "%s: %s supports only activation 'tanh' and recurrent_activation 'sigmoid'",
                       where, kn);
    for (size_t i = 0; i < 3; i++) nd->kernel[i] = nd->strides[i] = 1;
    if ((st = lf_arch_sizes(L, "kernel_size", 1, 1024, rank, rank, nd->kernel, NULL, where, e)) != LF_OK) return st;
    if (lf_json_get(L, "strides") &&
        (st = lf_arch_sizes(L, "strides", 1, 1024, rank, rank, nd->strides, NULL, where, e)) != LF_OK)
        return st;
    if ((st = lf_conv_read_dilation(L, rank, nd, where, e)) != LF_OK) return st;
    nd->padding = LF_PADDING_VALID;
    if (lf_json_get(L, "padding") && (st = lf_arch_padding(L, &nd->padding, where, e)) != LF_OK) return st;
    nd->act = LF_ACT_TANH;
    nd->use_bias = 1, nd->unit_forget_bias = 1, nd->return_sequences = 0, nd->go_backwards = 0;
    if ((st = opt_bool(L, "use_bias", &nd->use_bias, where, e)) != LF_OK ||
        (st = opt_bool(L, "unit_forget_bias", &nd->unit_forget_bias, where, e)) != LF_OK ||
        (st = opt_bool(L, "return_sequences", &nd->return_sequences, where, e)) != LF_OK ||
        (st = opt_bool(L, "go_backwards", &nd->go_backwards, where, e)) != LF_OK)
        return st;
    if (lf_json_get(L, "l2") && (st = lf_arch_float_in(L, "l2", 0, INFINITY, 0, &nd->l2, where, e)) != LF_OK)
        return st;
    return lf_arch_read_bias_l2(L, nd, where, e);
}

static const char *const cl_keys[] = {"name",         "type",    "inbound",          "filters",
                                      "kernel_size",  "strides", "padding",          "dilation_rate",
                                      "activation",   "recurrent_activation", "use_bias", "unit_forget_bias",
                                      "return_sequences", "go_backwards", "l2",     "bias_l2",
                                      NULL};

/* ConvLSTM1D, ConvLSTM2D, ConvLSTM3D: one record, op the convolutions' rank */
#define CONV_LSTM_TYPE(rank)                                                                                          \
    {                                                                                                                 \
        .type = "ConvLSTM" #rank "D", .prefix = "conv_lstm" #rank "d", .keys = cl_keys, .op = rank, .l2 = 1,          \
        .bias_l2 = 1, .recurrent_reg = 1, .activity_reg = 1, .infer = cl_infer, .weights = cl_weights,                \
        .init = cl_init, .forward = cl_forward, .backward = cl_backward, .write_json = cl_json, .read_json = cl_read, \
    }

const lf_layer_type lf_type_conv_lstm2d = CONV_LSTM_TYPE(2);
const lf_layer_type lf_type_conv_lstm1d = CONV_LSTM_TYPE(1);
const lf_layer_type lf_type_conv_lstm3d = CONV_LSTM_TYPE(3);

lf_conv_lstm_options lf_conv_lstm_defaults(void) {
    lf_conv_lstm_options o;
    memset(&o, 0, sizeof o);
    o.strides[0] = o.strides[1] = o.strides[2] = 1;
    o.dilation_rate[0] = o.dilation_rate[1] = o.dilation_rate[2] = 1;
    o.padding = LF_PADDING_VALID;
    o.use_bias = 1, o.unit_forget_bias = 1;
    return o;
}

static int add(lf_model *m, int x, size_t rank, size_t filters, const size_t *k, const lf_conv_lstm_options *opt,
               const char *name) {
    lf_conv_lstm_options o = opt ? *opt : lf_conv_lstm_defaults();
    lf_node nd = lf_conv_node(rank, filters, k, o.strides, o.dilation_rate, o.padding, LF_ACT_TANH, o.use_bias);
    nd.unit_forget_bias = o.unit_forget_bias != 0;
    nd.return_sequences = o.return_sequences != 0;
    nd.go_backwards = o.go_backwards != 0;
    if (rank == 3) return lf_node_add(m, &lf_type_conv_lstm3d, LF_K_CONV_LSTM3D, nd, &x, 1, name);
    return rank == 2 ? lf_node_add(m, &lf_type_conv_lstm2d, LF_K_CONV_LSTM2D, nd, &x, 1, name)
                     : lf_node_add(m, &lf_type_conv_lstm1d, LF_K_CONV_LSTM1D, nd, &x, 1, name);
}

int lf_conv_lstm2d(lf_model *m, int x, size_t filters, size_t kh, size_t kw, const lf_conv_lstm_options *opt,
                   const char *name) {
    size_t k[2] = {kh, kw};
    return add(m, x, 2, filters, k, opt, name);
}

int lf_conv_lstm1d(lf_model *m, int x, size_t filters, size_t kernel_size, const lf_conv_lstm_options *opt,
                   const char *name) {
    return add(m, x, 1, filters, &kernel_size, opt, name);
}

int lf_conv_lstm3d(lf_model *m, int x, size_t filters, size_t kd, size_t kh, size_t kw, const lf_conv_lstm_options *opt,
                   const char *name) {
    size_t k[3] = {kd, kh, kw};
    return add(m, x, 3, filters, k, opt, name);
}
