/*
 * fit.c — training, evaluation and prediction: Keras' fit/evaluate/predict
 * over the graph driver.  Every buffer a training step needs (workspace,
 * gathered batch, index permutation) is allocated before the first epoch;
 * the step itself allocates nothing.
 *
 * Data-parallel over MPI ranks (lf_fit_options.mpi_comm, dist.h): rank 0's
 * weights are broadcast, each rank runs forward and backward on its slice
 * of every batch (the loss normalised by the whole batch's rows), the
 * gradients are summed by a ring allreduce (dist.h: a fixed order of the
 * additions for a given number of ranks), the loss sums gathered and summed
 * in rank order, and every rank takes the same step.  The random draws of a
 * step (dropout, augmentation) are a pure function of the seed, epoch,
 * step, node and the row's index in the whole batch (lf_draws), and
 * BatchNormalization's batch statistics are summed over the ranks
 * (lf_reduce), so a row is trained the same way whatever the number of
 * ranks.
 */
#include "dist.h"
#include "kernels.h"
#include "layers/layer.h"
#include "model_io.h"
#include "testing.h"

#include <math.h>
#include <string.h>
#include <time.h>

#define PREDICT_CHUNK 256

lf_fit_options lf_fit_defaults(void) {
    lf_fit_options o;
    memset(&o, 0, sizeof o);
    o.batch_size = 32;
    o.epochs = 1;
    o.shuffle = 1;
    return o;
}

const lf_history *lf_model_history(const lf_model *m) { return m ? &m->history : NULL; }

/* --------------------------------------------------------- validation */

/* whether every value is finite: exponent bits not all ones, tested on the
 * bits so that the loop vectorises (the caller words any error) */
LF_CLONES static int all_finite(const float *v, size_t n) {
    uint32_t bad = 0;
    for (size_t j = 0; j < n; j++) {
        uint32_t u;
        memcpy(&u, v + j, sizeof u);
        bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
    }
    return !bad;
}

/* the largest integer magnitude below which every integer is a float */
#define EXACT_INT 16777216

static const char *input_name(const lf_model *m, size_t i) { return m->nodes[m->inputs[i]].name; }

/* whether n rows of some input or output hold more values than a size_t
 * counts: no such array exists, and its size would wrap */
static int rows_overflow(const lf_model *m, size_t n) {
    for (size_t i = 0; i < m->n_inputs; i++)
        if (n > SIZE_MAX / m->nodes[m->inputs[i]].dim) return 1;
    for (size_t k = 0; k < m->n_outputs; k++)
        if (n > SIZE_MAX / m->nodes[m->outs[k].node].dim) return 1;
    return 0;
}

/* Checks the caller's input arrays: present, of a known type, float values
 * finite, int32 values within +-2^24 (exact as floats: latefuse.h). */
static lf_status check_arrays(lf_model *m, const lf_typed_array *x, size_t n, const char *what) {
    if (!x) return lf_model_fail(m, LF_ERR_ARG, "%s: the input arrays are NULL", what);
    if (rows_overflow(m, n))
        return lf_model_fail(m, LF_ERR_ARG, "%s: %zu rows hold more values than memory can address", what, n);
    for (size_t i = 0; i < m->n_inputs; i++) {
        if (!x[i].data) return lf_model_fail(m, LF_ERR_ARG, "%s: input %zu ('%s') is NULL", what, i, input_name(m, i));
        size_t d = m->nodes[m->inputs[i]].dim;
        if (x[i].dtype == LF_DTYPE_FLOAT32) {
            const float *v = x[i].data;
            if (all_finite(v, n * d)) continue;
            for (size_t j = 0; j < n * d; j++)
                if (!isfinite(v[j]))
                    return lf_model_fail(m, LF_ERR_NUMERIC,
                                         "%s: input '%s' holds a non-finite value at row %zu, column %zu", what,
                                         input_name(m, i), j / d, j % d);
        } else if (x[i].dtype == LF_DTYPE_INT32) {
            const int32_t *v = x[i].data;
            for (size_t j = 0; j < n * d; j++)
                if (v[j] > EXACT_INT || v[j] < -EXACT_INT)
                    return lf_model_fail(m, LF_ERR_NUMERIC,
                                         "%s: input '%s' holds %ld at row %zu, column %zu, outside "
                                         "[-2^24, 2^24] (an int32 value must be exact as a float32)",
                                         what, input_name(m, i), (long)v[j], j / d, j % d);
        } else if (x[i].dtype != LF_DTYPE_UINT8) {
            return lf_model_fail(m, LF_ERR_ARG, "%s: input %zu ('%s') has an unknown dtype %d", what, i,
                                 input_name(m, i), (int)x[i].dtype);
        }
    }
    return lf_token_ids_check_typed(m, x, n, what, &m->err);
}

/* rows `rows[0..n)` (or, rows NULL, rows first..first+n) of a typed array
 * of d columns, as floats into dst (n x d) */
static void rows_to_float(const lf_typed_array *a, size_t d, const size_t *rows, size_t first, size_t n, float *dst) {
    for (size_t r = 0; r < n; r++) {
        size_t src = (rows ? rows[r] : first + r) * d;
        float *o = dst + r * d;
        switch (a->dtype) {
        case LF_DTYPE_FLOAT32: memcpy(o, (const float *)a->data + src, d * sizeof *o); break;
        case LF_DTYPE_INT32: {
            const int32_t *v = (const int32_t *)a->data + src;
            for (size_t j = 0; j < d; j++) o[j] = (float)v[j];
            break;
        }
        case LF_DTYPE_UINT8: {
            const uint8_t *v = (const uint8_t *)a->data + src;
            for (size_t j = 0; j < d; j++) o[j] = (float)v[j];
            break;
        }
        }
    }
}

/* Rows r0..r0+B of every input as float pointers into xp: a float array's
 * own rows, any other converted into its scratch (chunk rows x dim). */
static void chunk_inputs(const lf_model *m, const lf_typed_array *x, float *const *scratch, size_t r0, size_t B,
                         const float **xp) {
    for (size_t i = 0; i < m->n_inputs; i++) {
        size_t d = m->nodes[m->inputs[i]].dim;
        if (x[i].dtype == LF_DTYPE_FLOAT32) {
            xp[i] = (const float *)x[i].data + r0 * d;
        } else {
            rows_to_float(&x[i], d, NULL, r0, B, scratch[i]);
            xp[i] = scratch[i];
        }
    }
}

/* One scratch block for the non-float inputs of a chunk of rows: the
 * pointers (n_inputs) then the floats; NULL pointers for float inputs.
 * *mem receives the block to free (NULL when none is needed); returns 0
 * when out of memory. */
static int chunk_scratch(const lf_model *m, const lf_typed_array *x, size_t rows, float ***scratch, void **mem) {
    size_t floats = 0;
    for (size_t i = 0; i < m->n_inputs; i++)
        if (x[i].dtype != LF_DTYPE_FLOAT32) floats += rows * m->nodes[m->inputs[i]].dim;
    *mem = NULL, *scratch = NULL;
    if (!floats) return 1;
    float **p = lf_alloc_array(m->n_inputs * sizeof(float *) + floats * sizeof(float), 1);
    if (!p) return 0;
    float *f = (float *)(p + m->n_inputs);
    for (size_t i = 0; i < m->n_inputs; i++) {
        if (x[i].dtype == LF_DTYPE_FLOAT32) {
            p[i] = NULL;
        } else {
            p[i] = f;
            f += rows * m->nodes[m->inputs[i]].dim;
        }
    }
    *scratch = p, *mem = p;
    return 1;
}

/* "fit" with one output, "fit: output 'dense_2'" with several: the start of
 * a message about output k's targets */
static const char *output_what(const lf_model *m, size_t k, const char *what, char *buf, size_t cap) {
    if (m->n_outputs == 1) return what;
    snprintf(buf, cap, "%s: output '%s'", what, m->nodes[m->outs[k].node].name);
    return buf;
}

static lf_status check_targets(lf_model *m, const float *const *ys, size_t n, const char *what0) {
    if (!ys) return lf_model_fail(m, LF_ERR_ARG, "%s: the targets are NULL", what0);
    for (size_t k = 0; k < m->n_outputs; k++) {
        char wb[160];
        const char *what = output_what(m, k, what0, wb, sizeof wb);
        const float *y = ys[k];
        lf_loss loss = m->outs[k].loss;
        if (loss == LF_LOSS_NONE) continue; /* not read: NULL or anything */
        if (!y) return lf_model_fail(m, LF_ERR_ARG, "%s: the targets are NULL", what);
        size_t D = m->nodes[m->outs[k].node].dim, tc = lf_loss_target_cols(loss, D);
        for (size_t j = 0; j < n * tc; j++) {
            float v = y[j];
            if (!isfinite(v))
                return lf_model_fail(m, LF_ERR_NUMERIC, "%s: target at row %zu, column %zu is not finite",
                                     what, j / tc, j % tc);
            if (loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY && (v < 0 || v >= (float)D || v != floorf(v)))
                return lf_model_fail(m, LF_ERR_ARG, "%s: label %g at row %zu is not a class in 0..%zu",
                                     what, (double)v, j, D - 1);
            if ((loss == LF_LOSS_BINARY_CROSSENTROPY || loss == LF_LOSS_CATEGORICAL_CROSSENTROPY) &&
                (v < 0 || v > 1))
                return lf_model_fail(m, LF_ERR_ARG, "%s: target %g at row %zu, column %zu is outside [0, 1]",
                                     what, (double)v, j / tc, j % tc);
        }
    }
    return LF_OK;
}

static lf_status check_ready(lf_model *m, const char *what) {
    if (!m->compiled)
        return lf_model_fail(m, LF_ERR_STATE, "%s: the model is not compiled (call lf_model_compile)", what);
    return LF_OK;
}

/* the single-output entries on a model with several outputs */
static lf_status check_single(lf_model *m, const char *what) {
    if (m->n_outputs > 1)
        return lf_model_fail(m, LF_ERR_STATE, "%s: the model has %zu outputs; give one target array per output "
                                              "with lf_model_%s_arrays",
                             what, m->n_outputs, what);
    return LF_OK;
}

/* class of a target row, for class weights (single-output models) */
static size_t target_class(const lf_model *m, const float *t, size_t D) {
    if (m->loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) return (size_t)t[0];
    if (m->loss == LF_LOSS_BINARY_CROSSENTROPY && D == 1) return t[0] > 0.5f;
    return lf_argmax_f(t, D);
}

/* target columns of output k */
static size_t out_cols(const lf_model *m, size_t k) {
    return lf_loss_target_cols(m->outs[k].loss, m->nodes[m->outs[k].node].dim);
}

/* row r of targets y of tc columns (tc 0, an output without a loss: y,
 * which may be NULL, unmoved) */
static const float *target_row(const float *y, size_t r, size_t tc) { return tc ? y + r * tc : y; }

/* predictions per row that accuracy counts for output k */
static size_t acc_per_row(const lf_model *m, size_t k) {
    return m->outs[k].loss == LF_LOSS_BINARY_CROSSENTROPY ? m->nodes[m->outs[k].node].dim : 1;
}

/* The padding mask (layers/layer.h) of output k in ws, or NULL: none */
static const float *output_mask(const lf_model *m, const lf_ws *ws, size_t k) {
    int owner = m->nodes[m->outs[k].node].seq_mask;
    return owner >= 0 ? ws->seq_mask[owner] : NULL;
}

/* lf_loss_eval's fused argument: 2 when the output's values are the logits
 * (from_logits), 1 when the loss reads its layer's logits, else 0 */
static int loss_mode(const lf_output *o) { return o->from_logits ? 2 : o->fused; }

/* An output that carries a padding mask (a sequence (T, D) after an
 * Embedding(mask_zero), say): as Keras, each step's loss l_rs (over its D
 * values) counts at the unmasked steps only, and the batch's loss is their
 * mean, sum_rs w_r m_rs l_rs / M over the M unmasked steps of the B_norm
 * rows (of every rank: ws->reduce sums M).  So that the batch loss stays
 * sum_r l_r / B_norm, row r's loss is l_r = (B_norm / M) sum_s w_r m_rs l_rs
 * (M = 0: 0, as Keras' divide_no_nan); dy likewise.  Accuracy counts every
 * step, as Keras 3's metrics do without sample weights.  With *mcount
 * (evaluation, whose chunks are not Keras' batches) the factor is 1 and M
 * is added into *mcount instead, for the caller's mean over all the rows
 * (masked_means). */
static double masked_loss(const lf_model *m, const lf_ws *ws, size_t k, const float *mk, const float *t,
                          const float *w, size_t B, double B_norm, float *dy, size_t *right, double *mcount) {
    const lf_output *o = &m->outs[k];
    const lf_node *nd = &m->nodes[o->node];
    size_t steps = lf_mask_steps(nd), D = nd->dim / steps, n = B * steps;
    const float *y = ws->out[o->node], *z = o->from_logits ? y : lf_graph_logits(m, ws, o->node);
    double M = 0, f = 1.0, total = 0;
    for (size_t i = 0; i < n; i++) M += mk[i] != 0.0f;
    if (mcount) {
        *mcount += M;
    } else {
        if (ws->reduce) {
            double *v = ws->reduce->buf;
            v[0] = M;
            ws->reduce->sum(ws->reduce->ctx, v, 1);
            M = v[0];
        }
        f = M > 0 ? B_norm / M : 0.0;
    }
    for (size_t r = 0; r < B; r++)
        for (size_t s = 0; s < steps; s++) {
            size_t i = r * steps + s;
            float *d = dy ? dy + i * D : NULL;
            double l = lf_loss_eval(o->loss, loss_mode(o), y + i * D, z ? z + i * D : NULL, t + i * D, w ? w + r : NULL,
                                    1, D, B_norm, d, right);
            double g = mk[i] != 0.0f ? f : 0.0;
            total += g * l;
            for (size_t j = 0; d && j < D; j++) d[j] = (float)(g * d[j]);
        }
    return total;
}

/* Evaluation's means for the masked outputs: lk[k], the sum of their
 * unmasked steps' losses over n rows (masked_loss with mcount[k]), becomes
 * n times their mean; returns sum_k weight_k lk[k] */
static double masked_means(const lf_model *m, double *lk, const double *mcount, size_t n) {
    double total = 0;
    for (size_t k = 0; k < m->n_outputs; k++) {
        if (m->nodes[m->outs[k].node].seq_mask >= 0)
            lk[k] = mcount[k] > 0 ? lk[k] * (double)n / mcount[k] : 0.0;
        total += m->outs[k].weight == 1.0f ? lk[k] : (double)m->outs[k].weight * lk[k];
    }
    return total;
}

/* whether an output carries a padding mask */
static int any_masked_output(const lf_model *m) {
    for (size_t k = 0; k < m->n_outputs; k++)
        if (m->nodes[m->outs[k].node].seq_mask >= 0) return 1;
    return 0;
}

/* The outputs' losses on the B rows of the last forward pass: output k's
 * targets are t[k] (B x its columns), the row weights w (NULL: 1).  Adds
 * output k's sum_r w_r l_r into lk[k] and its correct count into ck[k]
 * (either may be NULL).  With grads, writes d(batch loss)/d(output) (d/d
 * logits when fused) into the outputs' ws->dout, where batch loss =
 * sum_k weight_k sum_r w_r l_kr / B_norm.  Returns sum_k weight_k sum_r
 * w_r l_kr (one output of weight 1: its sum, bit for bit).  A masked
 * output's l_kr: masked_loss's (mcount: NULL in training, else evaluation's
 * step counts per output). */
static double outputs_loss(const lf_model *m, lf_ws *ws, const float *const *t, const float *w, size_t B,
                           double B_norm, int grads, double *lk, size_t *ck, double *mcount) {
    double total = 0;
    for (size_t k = 0; k < m->n_outputs; k++) {
        const lf_output *o = &m->outs[k];
        size_t D = m->nodes[o->node].dim, right = 0;
        float *dy = grads ? ws->dout[o->node] : NULL;
        if (o->loss == LF_LOSS_NONE) { /* Keras' loss=None: no term; d/dy only from the layers above */
            if (dy) memset(dy, 0, B * D * sizeof(float));
            continue;
        }
        const float *mk = output_mask(m, ws, k);
        double l = mk ? masked_loss(m, ws, k, mk, t[k], w, B, B_norm, dy, ck ? &right : NULL,
                                    mcount ? mcount + k : NULL)
                      : lf_loss_eval(o->loss, loss_mode(o), ws->out[o->node],
                                     o->from_logits ? ws->out[o->node] : lf_graph_logits(m, ws, o->node), t[k],
                                     w, B, D, B_norm, dy, ck ? &right : NULL);
        if (dy && o->weight != 1.0f)
            for (size_t j = 0; j < B * D; j++) dy[j] *= o->weight;
        if (lk) lk[k] += l;
        if (ck) ck[k] += right;
        total += o->weight == 1.0f ? l : (double)o->weight * l;
    }
    return total;
}

/* ------------------------------------------------------ eval (chunked) */

/* Loss (sum_k weight_k sum_r w_r l_kr, no penalty) over n rows, in chunks
 * through ws (no dropout); per output into lk and ck as outputs_loss. */
static double eval_rows(const lf_model *m, lf_ws *ws, const lf_typed_array *x, float *const *scratch,
                        const float *const *y, const float **tp, const float *sw, size_t n, double *lk,
                        size_t *ck, double *mcount) {
    const float **xp = ws->xin;
    double total = 0, act = 0;
    for (size_t r0 = 0; r0 < n; r0 += ws->batch) {
        size_t B = n - r0 < ws->batch ? n - r0 : ws->batch;
        chunk_inputs(m, x, scratch, r0, B, xp);
        for (size_t k = 0; k < m->n_outputs; k++) tp[k] = target_row(y[k], r0, out_cols(m, k));
        lf_graph_forward(m, ws, xp, B, 0, NULL);
        total += outputs_loss(m, ws, tp, sw ? sw + r0 : NULL, B, 1.0, 0, lk, ck, mcount);
        act += lf_activity_penalty(m, ws, B); /* Keras' per-batch mean: per row, averaged as the loss */
    }
    return (any_masked_output(m) ? masked_means(m, lk, mcount, n) : total) + act;
}

static lf_status evaluate_core(lf_model *m, const lf_typed_array *x, const float *const *y, size_t n, const float *sw,
                               double *losses, double *accs) {
    lf_status st = check_ready(m, "evaluate");
    if (st == LF_OK && n == 0) st = lf_model_fail(m, LF_ERR_ARG, "evaluate: no rows");
    if (st == LF_OK) st = check_arrays(m, x, n, "evaluate");
    if (st == LF_OK) st = check_targets(m, y, n, "evaluate");
    if (st != LF_OK) return st;
    size_t K = m->n_outputs, chunk = n < PREDICT_CHUNK ? n : PREDICT_CHUNK;
    lf_ws ws;
    double *lk = lf_alloc_array(2 * K, sizeof *lk); /* then the masked outputs' step counts */
    size_t *ck = lf_alloc_array(K, sizeof *ck);
    const float **tp = lf_alloc_array(K, sizeof *tp);
    float **scratch;
    void *mem;
    int ok = lk && ck && tp && chunk_scratch(m, x, chunk, &scratch, &mem);
    if (!ok || lf_ws_init(&ws, m, chunk, 0, NULL, 0) != LF_OK) {
        if (ok) LF_FREE(mem);
        LF_FREE(lk), LF_FREE(ck), LF_FREE(tp);
        return lf_model_fail(m, LF_ERR_NOMEM, "evaluate: out of memory");
    }
    double total = eval_rows(m, &ws, x, scratch, y, tp, sw, n, lk, ck, lk + K);
    lf_ws_free(&ws);
    if (losses) {
        losses[0] = total / (double)n + lf_weight_penalty(m, NULL);
        for (size_t k = 0; k < K; k++) losses[1 + k] = m->outs[k].loss == LF_LOSS_NONE ? NAN : lk[k] / (double)n;
    }
    for (size_t k = 0; accs && k < K; k++)
        accs[k] = lf_loss_has_accuracy(m->outs[k].loss) ? (double)ck[k] / (double)(n * acc_per_row(m, k)) : NAN;
    LF_FREE(mem), LF_FREE(lk), LF_FREE(ck), LF_FREE(tp);
    return LF_OK;
}

/* The caller's float arrays as typed arrays (one allocation; NULL when out
 * of memory, with *st set) */
static lf_typed_array *float_arrays(lf_model *m, const float *const *x, const char *what, lf_status *st) {
    lf_typed_array *a = lf_alloc_array(m->n_inputs ? m->n_inputs : 1, sizeof *a);
    if (!a) {
        *st = lf_model_fail(m, LF_ERR_NOMEM, "%s: out of memory", what);
        return NULL;
    }
    for (size_t i = 0; i < m->n_inputs; i++) a[i].dtype = LF_DTYPE_FLOAT32, a[i].data = x[i];
    return a;
}

lf_status lf_model_evaluate(lf_model *m, const float *const *x, const float *y, size_t n,
                            const float *sw, double *loss, double *accuracy) {
    if (!m) return LF_ERR_ARG;
    lf_status st = check_ready(m, "evaluate");
    if (st == LF_OK) st = check_single(m, "evaluate");
    if (st == LF_OK && n == 0) st = lf_model_fail(m, LF_ERR_ARG, "evaluate: no rows");
    if (st == LF_OK && !x) st = lf_model_fail(m, LF_ERR_ARG, "evaluate: the input arrays are NULL");
    if (st != LF_OK) return st;
    lf_typed_array *xa = float_arrays(m, x, "evaluate", &st);
    if (!xa) return st;
    double losses[2];
    st = evaluate_core(m, xa, &y, n, sw, losses, accuracy);
    LF_FREE(xa);
    if (st == LF_OK && loss) *loss = losses[0];
    return st;
}

lf_status lf_model_evaluate_arrays(lf_model *m, const lf_typed_array *x, const float *const *y, size_t n,
                                   const float *sw, double *losses, double *accuracies) {
    if (!m) return LF_ERR_ARG;
    return evaluate_core(m, x, y, n, sw, losses, accuracies);
}

lf_status lf_model_predict(const lf_model *m, const float *const *x, size_t n, float *y) {
    if (!m || !x || !y) return LF_ERR_ARG;
    if (!m->compiled || m->n_outputs != 1) return LF_ERR_STATE;
    if (n == 0) return LF_OK;
    if (rows_overflow(m, n)) return LF_ERR_ARG;
    for (size_t i = 0; i < m->n_inputs; i++)
        if (!x[i]) return LF_ERR_ARG;
    if (lf_token_ids_check(m, x, n, "predict", NULL) != LF_OK) return LF_ERR_ARG;
    lf_ws ws;
    /* a few rows of a small model fit in this stack buffer: no allocation */
    double stack[1024];
    if (lf_ws_init(&ws, m, n < PREDICT_CHUNK ? n : PREDICT_CHUNK, 0, stack, sizeof stack) != LF_OK)
        return LF_ERR_NOMEM;
    size_t D = m->nodes[m->output].dim;
    const float **xp = ws.xin;
    for (size_t r0 = 0; r0 < n; r0 += ws.batch) {
        size_t B = n - r0 < ws.batch ? n - r0 : ws.batch;
        for (size_t i = 0; i < m->n_inputs; i++) xp[i] = x[i] + r0 * m->nodes[m->inputs[i]].dim;
        lf_graph_forward(m, &ws, xp, B, 0, NULL);
        memcpy(y + r0 * D, ws.out[m->output], B * D * sizeof *y);
    }
    lf_ws_free(&ws);
    return LF_OK;
}

lf_status lf_model_predict_arrays(const lf_model *m, const lf_typed_array *x, size_t n, float *const *y) {
    if (!m || !x || !y) return LF_ERR_ARG;
    if (!m->compiled) return LF_ERR_STATE;
    if (rows_overflow(m, n)) return LF_ERR_ARG;
    for (size_t k = 0; k < m->n_outputs; k++)
        if (!y[k]) return LF_ERR_ARG;
    for (size_t i = 0; i < m->n_inputs; i++) {
        if (!x[i].data || (unsigned)x[i].dtype > LF_DTYPE_UINT8) return LF_ERR_ARG;
        const int32_t *v = x[i].data;
        size_t cnt = n * m->nodes[m->inputs[i]].dim;
        for (size_t j = 0; x[i].dtype == LF_DTYPE_INT32 && j < cnt; j++)
            if (v[j] > EXACT_INT || v[j] < -EXACT_INT) return LF_ERR_NUMERIC;
    }
    if (lf_token_ids_check_typed(m, x, n, "predict", NULL) != LF_OK) return LF_ERR_ARG;
    if (n == 0) return LF_OK;
    size_t chunk = n < PREDICT_CHUNK ? n : PREDICT_CHUNK;
    float **scratch;
    void *mem;
    if (!chunk_scratch(m, x, chunk, &scratch, &mem)) return LF_ERR_NOMEM;
    lf_ws ws;
    double stack[1024];
    if (lf_ws_init(&ws, m, chunk, 0, stack, sizeof stack) != LF_OK) {
        LF_FREE(mem);
        return LF_ERR_NOMEM;
    }
    const float **xp = ws.xin;
    for (size_t r0 = 0; r0 < n; r0 += ws.batch) {
        size_t B = n - r0 < ws.batch ? n - r0 : ws.batch;
        chunk_inputs(m, x, scratch, r0, B, xp);
        lf_graph_forward(m, &ws, xp, B, 0, NULL);
        for (size_t k = 0; k < m->n_outputs; k++) {
            size_t D = m->nodes[m->outs[k].node].dim;
            memcpy(y[k] + r0 * D, ws.out[m->outs[k].node], B * D * sizeof(float));
        }
    }
    lf_ws_free(&ws);
    LF_FREE(mem);
    return LF_OK;
}

/* ------------------------------------------------------ one train step */

/* Forward + loss + backward on B contiguous rows (output k's targets
 * t[k]); gradients added into m->grads (which the caller zeroes:
 * lf_optim_step leaves them zero), input gradients into ws->dout of the
 * inputs when asked.  Returns the weighted loss sum (outputs_loss) and adds
 * per output into lk, ck. */
static double train_batch(lf_model *m, lf_ws *ws, const float *const *x, const float *const *t,
                          const float *w, size_t B, double B_norm, int training, const lf_draws *draws,
                          int input_grads, double *lk, size_t *ck) {
    ws->logits_only = 1; /* the fused losses need no softmax output */
    lf_graph_forward_drawn(m, ws, x, B, training, draws);
    ws->logits_only = 0;
    double lsum = outputs_loss(m, ws, t, w, B, B_norm, 1, lk, ck, NULL);
    lsum += lf_activity_penalty(m, ws, B); /* the activity regularizers' sum over the rows (regularizer.c) */
    ws->act_scale = (float)(1.0 / B_norm);
    lf_graph_backward(m, ws, m->grads, B, input_grads);
    ws->act_scale = 0.0f;
    return lsum;
}

/* The parameter runs that train and those that do not (n_nodes *
 * LF_MAX_WEIGHTS pairs each), for one fit or step. */
typedef struct param_plan {
    size_t *runs, n_runs;   /* trained: the optimizer and the average */
    size_t *dead, n_dead;   /* frozen or fixed: gradients dropped */
    size_t *vars, n_vars;   /* trained, weight by weight (Keras' variables: clipnorm) */
} param_plan;

static int plan_init(const lf_model *m, param_plan *p) {
    size_t cap = (m->n_nodes ? m->n_nodes : 1) * LF_MAX_WEIGHTS;
    p->runs = lf_alloc_array(6 * cap, sizeof(size_t));
    if (!p->runs) return 0;
    p->dead = p->runs + 2 * cap, p->vars = p->runs + 4 * cap;
    p->n_runs = lf_param_runs(m, 1, 1, p->runs, cap);
    p->n_dead = lf_param_runs(m, 0, 1, p->dead, cap);
    p->n_vars = lf_param_runs(m, 1, 0, p->vars, cap);
    return 1;
}

/* With lf_model_set_rate_fn: the rate of the next step, fn(ctx, step) at
 * the step count before it (Keras' schedule(iterations)), into
 * m->step_rate, which optimizer_step uses; LF_ERR_NUMERIC (message into e,
 * `what` its prefix) when it is not finite or below 0.  LF_OK without. */
static lf_status rate_checked(lf_model *m, const char *what, lf_err *e) {
    if (!m->rate_fn) return LF_OK;
    double r = m->rate_fn(m->rate_ctx, m->step);
    if (!(r >= 0.0) || !isfinite((float)r))
        return lf_fail(e, LF_ERR_NUMERIC, "%s: the learning rate function gave %g at step %llu: a rate must be "
                                          "finite and >= 0", what, r, (unsigned long long)m->step);
    m->step_rate = (float)r;
    return LF_OK;
}

/* LF_ERR_NUMERIC for gradient `at` of the flat block, whose square
 * overflows (lf_optim_overflows): the message (into e, `what` its prefix)
 * names its layer, weight and index, and its value. */
static lf_status overflow_fail(const lf_model *m, size_t at, const char *what, lf_err *e) {
    const char *layer = "?", *weight = "?";
    size_t idx = at;
    for (size_t id = 0; id < m->n_nodes; id++) {
        const lf_node *nd = &m->nodes[id];
        if (!nd->n_params || at < nd->param_off || at - nd->param_off >= nd->n_params) continue;
        lf_weight w[LF_MAX_WEIGHTS];
        size_t nw = lf_node_weights(m, nd, w);
        for (size_t k = 0; k < nw; k++)
            if (at - nd->param_off >= w[k].off && at - nd->param_off - w[k].off < lf_weight_count(&w[k]))
                layer = nd->name, weight = w[k].suffix, idx = at - nd->param_off - w[k].off;
    }
    return lf_fail(e, LF_ERR_NUMERIC, "%s: at step %llu the gradient of layer '%s' (%s, value %zu) is %g: the "
                                      "optimizer squares it past float's range (|g| above 1.8e19); the step was "
                                      "not taken; try a smaller learning rate, clipnorm or clipvalue",
                   what, (unsigned long long)m->step + 1, layer, weight, idx, (double)m->grads[at]);
}

/* One optimizer step over the weights that train; the gradients of the
 * others (a frozen layer's, its L2 term included) are dropped, so that
 * every gradient is zero after, as lf_optim_step leaves its own.  check:
 * first, after the clip, no gradient that trains overflows the optimizer's
 * second moment (lf_optim_overflows), else LF_ERR_NUMERIC (overflow_fail)
 * with nothing updated, the step not counted and the gradients zero. */
static lf_status optimizer_step(lf_model *m, const param_plan *p, int check, const char *what, lf_err *e) {
    for (size_t i = 0; i < p->n_dead; i++) memset(m->grads + p->dead[2 * i], 0, p->dead[2 * i + 1] * sizeof(float));
    /* the schedule's rate of this step (0-based: Keras' iterations before it) */
    lf_optimizer o = m->opt;
    o.learning_rate = m->rate_fn ? m->step_rate : lf_lr_schedule_rate(&m->opt.schedule, m->opt.learning_rate, m->step);
    lf_optim_clip(&o, m->grads, p->vars, p->n_vars); /* Keras 3's order: clip, decay, update */
    for (size_t i = 0; check && i < p->n_runs; i++) {
        size_t off = p->runs[2 * i], n = p->runs[2 * i + 1], j = lf_optim_overflows(&o, m->grads + off, n);
        if (j < n) {
            lf_status st = overflow_fail(m, off + j, what, e);
            memset(m->grads, 0, m->n_params * sizeof *m->grads);
            return st;
        }
    }
    m->step += m->step < (uint64_t)INT64_MAX; /* Keras' int64 count, which the model file holds, stops at its end */
    lf_optim_decay(&o, m->params, p->runs, p->n_runs);
    for (size_t i = 0; i < p->n_runs; i++) {
        size_t off = p->runs[2 * i];
        lf_optim_step(&o, m->params + off, m->grads + off, m->m1 + off, m->m2 + off,
                      m->m3 ? m->m3 + off : NULL, p->runs[2 * i + 1],
                      m->step);
    }
    return LF_OK;
}

/* The update of one step, as fit's, train_on_batch's and testing.h's
 * steps all take it: the optimizer step, then the weights' moving average
 * (ema: NULL without use_ema; fit's only), then the constraints (Keras 3:
 * after the update and its average).  loss_finite: the step's loss (fit's:
 * the epoch's so far) is finite; then a finite gradient whose square
 * overflows the optimizer's second moment fails the step (optimizer_step's
 * check): adam's v += (g^2 - v)(1 - b2), Keras 3's form, would be inf, NaN
 * at the next step (PyTorch's b2 v + (1 - b2) g^2 stays inf: the weight
 * stops for good), and nothing in the loss shows it.  A loss that is not
 * finite is left to the caller (Keras' TerminateOnNaN). */
static lf_status apply_step(lf_model *m, const param_plan *p, float *ema, int loss_finite, const char *what,
                            lf_err *e) {
    lf_status st = optimizer_step(m, p, loss_finite, what, e);
    if (st != LF_OK) return st;
    if (ema) {
        float mom = m->step == 1 ? 0.0f : m->opt.ema_momentum;
        for (size_t i = 0; i < p->n_runs; i++) {
            size_t off = p->runs[2 * i];
            lf_ema_update(ema + off, m->params + off, p->runs[2 * i + 1], mom);
        }
    }
    lf_constraints_apply(m);
    return LF_OK;
}

/* testing.h's hook for the gradient and golden tests */
lf_status lf__loss_and_grads(lf_model *m, const float *const *x, const float *t, size_t n,
                             int training, int step, double *loss, float **input_grads) {
    if (!m || !m->compiled || n == 0) return LF_ERR_STATE;
    if (step) { /* the step's rate, as fit's and train_on_batch's steps take it */
        lf_status rs = rate_checked(m, "lf__loss_and_grads", &m->err);
        if (rs != LF_OK) return rs;
    }
    lf_ws ws;
    param_plan plan;
    const float **tp = lf_alloc_array(m->n_outputs, sizeof *tp);
    if (!tp || !plan_init(m, &plan)) return LF_FREE(tp), LF_ERR_NOMEM;
    if (lf_ws_init(&ws, m, n, 1, NULL, 0) != LF_OK) return LF_FREE(tp), LF_FREE(plan.runs), LF_ERR_NOMEM;
    for (size_t i = 0; i < m->n_inputs; i++) ws.dout[m->inputs[i]] = input_grads ? input_grads[i] : NULL;
    /* input gradients land in the caller's arrays; zeroed by backward */
    if (input_grads)
        for (size_t i = 0; i < m->n_inputs; i++)
            if (!input_grads[i]) return lf_ws_free(&ws), LF_FREE(tp), LF_FREE(plan.runs), LF_ERR_ARG;
    /* output k's n x cols_k targets follow output k-1's */
    for (size_t k = 0, off = 0; k < m->n_outputs; k++) tp[k] = t + off, off += n * out_cols(m, k);
    memset(m->grads, 0, m->n_params * sizeof *m->grads);
    /* a training pass draws from a key taken from the model's generator */
    lf_draws draws = {training ? lf_rng_next(&m->rng) : 0, 0};
    double lsum = train_batch(m, &ws, x, tp, NULL, n, (double)n, training, training ? &draws : NULL,
                              input_grads != NULL, NULL, NULL);
    double pen = lf_weight_penalty(m, m->grads);
    for (size_t i = 0; i < plan.n_dead; i++)
        memset(m->grads + plan.dead[2 * i], 0, plan.dead[2 * i + 1] * sizeof(float));
    if (loss) *loss = lsum / (double)n + pen;
    lf_status st = LF_OK;
    if (step) { /* the step consumes the gradients: the caller still reads them */
        float *g = LF_MALLOC((m->n_params ? m->n_params : 1) * sizeof *g);
        if (g) {
            memcpy(g, m->grads, m->n_params * sizeof *g);
            st = apply_step(m, &plan, NULL, isfinite(lsum) && isfinite(pen), "lf__loss_and_grads", &m->err);
            memcpy(m->grads, g, m->n_params * sizeof *g);
            LF_FREE(g);
        } else {
            st = LF_ERR_NOMEM;
        }
    }
    lf_ws_free(&ws);
    LF_FREE(tp), LF_FREE(plan.runs);
    return st;
}

/* --------------------------------------------------------------- fit */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Sends one event to the options' callback (none: nothing). */
static void report(const lf_fit_options *o, lf_progress *p, lf_progress_event ev) {
    p->event = ev;
    o->progress(o->progress_ctx, p);
}

/* ------------------------------------------------ row sources for fit */

/* An array source: rows of the caller's arrays (typed inputs, one target
 * array per output), copied into the batch. */
typedef struct array_rows {
    const lf_model *m;
    const lf_typed_array *x;
    const float *const *y;
} array_rows;

static void gather_arrays(void *ctx, const size_t *rows, size_t n, float *const *xb, float *tb) {
    const array_rows *a = ctx;
    const lf_model *m = a->m;
    for (size_t i = 0; i < m->n_inputs; i++) {
        size_t d = m->nodes[m->inputs[i]].dim;
        if (a->x[i].dtype != LF_DTYPE_FLOAT32) {
            rows_to_float(&a->x[i], d, rows, 0, n, xb[i]);
            continue;
        }
        const float *x = a->x[i].data;
        float *dst = xb[i];
        for (size_t r = 0; r < n; r++) memcpy(dst + r * d, x + rows[r] * d, d * sizeof(float));
    }
    /* output k's n x tc block after output k-1's */
    for (size_t k = 0; k < m->n_outputs; k++) {
        size_t tc = out_cols(m, k);
        const float *y = a->y[k];
        for (size_t r = 0; r < n; r++) /* a few values: no call */
            for (size_t j = 0; j < tc; j++) tb[r * tc + j] = y[rows[r] * tc + j];
        tb += n * tc;
    }
}

/* the first lines of the next batch's rows (the hardware streams the rest) */
static void prefetch_arrays(void *ctx, const size_t *rows, size_t n) {
    const array_rows *a = ctx;
    const lf_model *m = a->m;
    static const size_t size_of[] = {sizeof(float), sizeof(int32_t), sizeof(uint8_t)};
    for (size_t r = 0; r < n; r++) {
        for (size_t i = 0; i < m->n_inputs; i++) {
            size_t bytes = m->nodes[m->inputs[i]].dim * size_of[a->x[i].dtype];
            const char *row = (const char *)a->x[i].data + rows[r] * bytes;
            __builtin_prefetch(row);
            __builtin_prefetch(row + bytes - 1);
        }
        for (size_t k = 0; k < m->n_outputs; k++) if (out_cols(m, k)) __builtin_prefetch(a->y[k] + rows[r] * out_cols(m, k));
    }
}

/* Everything one fit shares between its allocation, epochs and steps: the
 * options, the sources, the buffers (allocated once, before the first
 * epoch: a step allocates nothing), the generator and the progress event. */
typedef struct fit_run {
    lf_model *m;
    const lf_fit_options *o;
    const lf_row_source *src, *vsrc;
    size_t n_train, vfirst, n_val;
    size_t K, tc, B, steps;   /* outputs, target columns of all outputs */
    size_t E;         /* the history's length and stride: epochs - initial_epoch */
    size_t passb;     /* the batches of one pass over the training rows */
    size_t pos;       /* the batches of the current pass taken (steps_per_epoch
                         carries a pass over into the next epoch) */
    int validated;    /* the epoch under way measures the validation rows */
    int weighted, has_acc;
    float *xb_block, *tb, *wb, *best;
    float **xb;
    const float **tp; /* output k's targets in the batch (tb) */
    double *lk;       /* per output: the epoch's loss sums, then validation's */
    size_t *ck;       /* per output: correct counts, likewise */
    lf_ids idx;   /* training row ids, reshuffled every epoch */
    size_t *bidx; /* the row ids of one batch or validation chunk */
    size_t *next; /* the next batch's row ids (for the source's prefetch) */
    float *ema;   /* the moving average of the weights (optimizer use_ema) */
    param_plan plan; /* the weights that train */
    lf_ws eval_ws;
    lf_rng rng;
    uint64_t seed;    /* the shuffles' and draws' seed (fit_seed) */
    lf_progress pr;
    size_t epoch;     /* the epoch under way (0-based; the draws' key) */
    lf_dist d;        /* the ranks (one without a communicator) */
    float *gall;      /* P > 1: the ring allreduce's scratch */
    double *sall;     /* P > 1: every rank's step sums (loss, 0, lk, ck), then
                         room for every rank's BatchNormalization sums */
    double *smine;
    double *rbuf;     /* P > 1: the layers' room for their sums (reduce.buf) */
    size_t n_sall, n_rbuf; /* doubles sall and rbuf hold */
    lf_reduce reduce; /* P > 1: sums over the ranks for the layers */
    int stop_sync;    /* P > 1: some rank's fit has a progress callback (which
                         may ask to stop): the ranks exchange the request */
    size_t vbatch;    /* the validation batch of the VAL_STEP events (some
                         rank's progress_validation_steps), measured in
                         chunks that end at its multiples; 0: none */
    lf_status st;     /* a failed collective call (message in st_err) */
    lf_err st_err;
} fit_run;

static void fit_run_free(fit_run *r) {
    LF_FREE(r->xb_block), LF_FREE(r->tb), LF_FREE(r->wb), LF_FREE(r->best);
    LF_FREE(r->xb), LF_FREE(r->bidx), LF_FREE(r->next), LF_FREE(r->ema);
    LF_FREE(r->tp), LF_FREE(r->lk), LF_FREE(r->ck), LF_FREE(r->plan.runs);
    LF_FREE(r->gall), LF_FREE(r->sall), LF_FREE(r->smine), LF_FREE(r->rbuf);
    lf_ids_free(&r->idx);
    lf_ws_free(&r->eval_ws);
}

/* output k's targets in the batch buffer after a gather of n rows */
static void batch_targets(fit_run *r, size_t n) {
    for (size_t k = 0, off = 0; k < r->K; k++) r->tp[k] = r->tb + off, off += n * out_cols(r->m, k);
}

/* The validation loss so far over the first `rows` validation rows (their
 * sums in lk + K, ck + K, the masked outputs' step counts in lk + 2 K) for
 * a VAL_STEP event: eval_source's final value when rows = n_val */
static void val_so_far(fit_run *r, double total, double act, size_t rows, double pen) {
    lf_model *m = r->m;
    size_t K = r->K;
    if (any_masked_output(m)) { /* masked_means' arithmetic, without writing lk */
        total = 0;
        for (size_t k = 0; k < K; k++) {
            double l = r->lk[K + k], c = r->lk[2 * K + k];
            if (m->nodes[m->outs[k].node].seq_mask >= 0) l = c > 0 ? l * (double)rows / c : 0.0;
            total += m->outs[k].weight == 1.0f ? l : (double)m->outs[k].weight * l;
        }
    }
    r->pr.val_loss = (total + act) / (double)rows + pen;
    r->pr.val_accuracy = r->has_acc ? (double)r->ck[K] / (double)(rows * acc_per_row(m, 0)) : NAN;
}

/* Validation loss (sum_k weight_k sum_r w_r l_kr), per output into lk + K
 * and ck + K: rows first..first+n of the source, gathered chunk by chunk
 * into the batch buffers.  w_r: the sample weights of rows split off the
 * training rows (validation_split), as Keras splits them with the rows,
 * or val_sample_weight for validation data given apart (class weights
 * never count here, as in Keras).  With r->vbatch, a chunk also ends at
 * each validation batch's end, where this rank's callback (if it asked,
 * progress_validation_steps) hears a VAL_STEP with the loss so far (pen:
 * the L2 penalty); step 0 before the first batch. */
static double eval_source(fit_run *r, double pen) {
    lf_model *m = r->m;
    lf_ws *ws = &r->eval_ws;
    const lf_fit_options *o = r->o;
    const float *w = r->vsrc != r->src       ? o->val_sample_weight
                     : o->sample_weight ? o->sample_weight + r->vfirst
                                           : NULL;
    int events = r->vbatch && o->progress && o->progress_validation_steps;
    size_t vb = r->vbatch ? r->vbatch : r->n_val, end = vb < r->n_val ? vb : r->n_val; /* the batch's end */
    size_t train_steps = r->pr.steps, train_step = r->pr.step;
    if (events) {
        r->pr.step = 0, r->pr.steps = (r->n_val + vb - 1) / vb;
        r->pr.val_loss = r->pr.val_accuracy = NAN;
        report(o, &r->pr, LF_PROGRESS_VAL_STEP);
    }
    double total = 0, act = 0; /* act: the activity regularizers' sum over the rows */
    for (size_t r0 = 0; r0 < r->n_val;) {
        size_t B = end - r0 < ws->batch ? end - r0 : ws->batch;
        for (size_t i = 0; i < B; i++) r->bidx[i] = r->vfirst + r0 + i;
        r->vsrc->gather(r->vsrc->ctx, r->bidx, B, r->xb, r->tb);
        batch_targets(r, B);
        lf_graph_forward(m, ws, (const float *const *)r->xb, B, 0, NULL);
        total += outputs_loss(m, ws, r->tp, w ? w + r0 : NULL, B, 1.0, 0, r->lk + r->K, r->ck + r->K,
                              r->lk + 2 * r->K);
        act += lf_activity_penalty(m, ws, B);
        r0 += B;
        if (r0 < end) continue;
        if (events) {
            r->pr.step++;
            val_so_far(r, total, act, r0, pen);
            report(o, &r->pr, LF_PROGRESS_VAL_STEP);
        }
        end = r->n_val - end < vb ? r->n_val : end + vb;
    }
    r->pr.steps = train_steps, r->pr.step = train_step;
    return (any_masked_output(m) ? masked_means(m, r->lk + r->K, r->lk + 2 * r->K, r->n_val) : total) + act;
}

/* The seed of a fit's shuffles and random draws: lf_fit_options.seed on a
 * model that has taken no optimizer step since compile, else that seed
 * mixed with the step count, so that another fit call (Keras' loop of
 * fit(epochs=1)) shuffles and drops anew, as Keras' seed generators go on
 * from call to call, instead of repeating the first call's order and
 * masks; a model loaded with its optimizer state (the step count) draws
 * what the saved one would have drawn. */
static uint64_t fit_seed(const lf_model *m, uint64_t seed) {
    return m->step ? lf_draw_key(seed, UINT64_MAX, m->step) : seed;
}

/* Allocation: every buffer of the loop, the workspaces, the history, the
 * identity order of the training rows, the generator.  On failure frees
 * what it got. */
static lf_status fit_alloc(fit_run *r) {
    lf_model *m = r->m;
    const lf_fit_options *o = r->o;
    r->K = m->n_outputs;
    r->tc = 0;
    for (size_t k = 0; k < r->K; k++) r->tc += out_cols(m, k);
    r->B = o->batch_size < r->n_train ? o->batch_size : r->n_train;
    size_t EB = r->n_val < PREDICT_CHUNK ? r->n_val : PREDICT_CHUNK; /* validation chunk */
    size_t rows_buf = r->B > EB ? r->B : EB, row_floats = 0;
    for (size_t i = 0; i < m->n_inputs; i++) row_floats += m->nodes[m->inputs[i]].dim;
    r->xb_block = lf_alloc_array(rows_buf, row_floats * sizeof(float));
    r->tb = lf_alloc_array(rows_buf * r->tc, sizeof(float));
    r->wb = lf_alloc_array(r->B, sizeof(float));
    r->xb = lf_alloc_array(m->n_inputs, sizeof(float *));
    r->tp = lf_alloc_array(r->K, sizeof *r->tp);
    r->lk = lf_alloc_array(3 * r->K, sizeof *r->lk); /* training's, validation's, its masked step counts */
    r->ck = lf_alloc_array(2 * r->K, sizeof *r->ck);
    int plan_ok = plan_init(m, &r->plan);
    int idx_ok = lf_ids_alloc(&r->idx, r->n_train, r->n_train - 1) == 0;
    r->bidx = lf_alloc_array(rows_buf, sizeof(size_t));
    r->next = lf_alloc_array(rows_buf, sizeof(size_t));
    int keep_best = o->patience && o->restore_best_weights;
    r->best = keep_best ? lf_alloc_array(m->n_params, sizeof(float)) : NULL;
    r->ema = m->opt.use_ema ? lf_alloc_array(m->n_params, sizeof(float)) : NULL;
    size_t series = 4 + 4 * r->K;
    r->E = o->epochs - o->initial_epoch;
    double *hist = LF_REALLOC(m->hist, series * r->E * sizeof(double));
    if (hist) m->hist = hist;
    int eval_ok = !r->n_val || lf_ws_init(&r->eval_ws, m, EB, 0, NULL, 0) == LF_OK;
    if (m->train_ws.batch < r->B || !m->train_ws.with_grads || m->train_ws.n_nodes != m->n_nodes) {
        lf_ws_free(&m->train_ws);
        if (lf_ws_init(&m->train_ws, m, r->B, 1, NULL, 0) != LF_OK) eval_ok = 0;
    }
    size_t P = (size_t)r->d.size, S = 2 + 2 * r->K; /* a step's sums: loss, cancel flag, lk[K], ck[K] */
    /* the most any layer sums over the ranks: BatchNormalization's 2 C + 1 */
    size_t R = S;
    for (size_t id = 0; id < m->n_nodes; id++)
        if (m->nodes[id].kind == LF_K_BATCHNORM) {
            const lf_node *nd = &m->nodes[id];
            size_t C = nd->shape[nd->rank - 1];
            if (2 * C + 1 > R) R = 2 * C + 1;
        }
    r->n_sall = P * R;
    int dist_ok = P == 1 || ((r->gall = lf_alloc_array(m->n_params / P + 2, sizeof(float))) &&
                             (r->sall = lf_alloc_array(P, R * sizeof(double))) &&
                             (r->smine = lf_alloc_array(R, sizeof(double))) &&
                             (r->rbuf = lf_alloc_array(R, sizeof(double))));
    r->n_rbuf = R;
    if (!r->xb_block || !r->tb || !r->wb || !r->xb || !r->tp || !r->lk || !r->ck || !plan_ok || !idx_ok ||
        !r->bidx || !r->next || !hist || !eval_ok || (keep_best && !r->best) || (m->opt.use_ema && !r->ema) ||
        !dist_ok) {
        fit_run_free(r);
        return lf_model_fail(m, LF_ERR_NOMEM, "fit: out of memory for the training buffers");
    }
    float *p = r->xb_block;
    for (size_t i = 0; i < m->n_inputs; i++) r->xb[i] = p, p += rows_buf * m->nodes[m->inputs[i]].dim;
    for (size_t i = 0; i < r->n_train; i++) lf_ids_set(r->idx, i, i);
    memset(m->grads, 0, m->n_params * sizeof *m->grads); /* each step leaves them zero */
    r->seed = fit_seed(m, o->seed);
    lf_rng_seed(&r->rng, r->seed);
    size_t E = r->E;
    m->history = (lf_history){0, m->hist, m->hist + E, m->hist + 2 * E, m->hist + 3 * E, 0, 0,
                              r->K, m->hist + 4 * E, m->hist + (4 + r->K) * E, m->hist + (4 + 2 * r->K) * E,
                              m->hist + (4 + 3 * r->K) * E};
    r->weighted = o->sample_weight || o->class_weight;
    r->passb = (r->n_train + r->B - 1) / r->B;
    r->steps = o->steps_per_epoch ? o->steps_per_epoch : r->passb;
    r->pos = 0;
    r->has_acc = r->K == 1 && lf_loss_has_accuracy(m->loss);
    memset(&r->pr, 0, sizeof r->pr);
    r->pr.epochs = o->epochs;
    return LF_OK;
}

/* lf_reduce's sum for the layers (P > 1): every rank's n values gathered
 * and added in rank order.  A failed call leaves v and sets r->st. */
static void reduce_sum(void *ctx, double *v, size_t n) {
    fit_run *r = ctx;
    size_t P = (size_t)r->d.size;
    lf_status st = n * P > r->n_sall ? lf_fail(&r->st_err, LF_ERR_STATE, "fit: a layer sums more values over "
                                                                          "the ranks than planned")
                                     : lf_dist_allgather(&r->d, v, n, r->sall, &r->st_err);
    if (st != LF_OK) {
        if (r->st == LF_OK) r->st = st;
        return;
    }
    for (size_t j = 0; j < n; j++) {
        double s = r->sall[j];
        for (size_t q = 1; q < P; q++) s += r->sall[q * n + j];
        v[j] = s;
    }
}

/* P > 1: forward and backward on this rank's nl rows (the first at a) of
 * the nb of the step (the loss over nb; a rank with no rows still takes
 * part in the layers' sums over the ranks), then the gradients summed by
 * the ring allreduce and the loss sums gathered and added in rank order,
 * so that every rank holds the same bits.  Each rank's cancel flag
 * (o->cancel) travels with its sums: when any rank's is set, every rank
 * stops here, before the step's update.  0 on failure or cancel (r->st
 * set, the gradients zero). */
static int sum_over_ranks(fit_run *r, const lf_draws *dr, size_t nl, size_t nb, double *lsum) {
    lf_model *m = r->m;
    size_t K = r->K, S = 2 + 2 * K, P = (size_t)r->d.size, np = m->n_params;
    double *lk = r->smine + 2, *ckd = r->smine + 2 + K;
    size_t ck[64];
    memset(r->smine, 0, S * sizeof *r->smine);
    memset(ck, 0, sizeof ck);
    r->smine[0] = train_batch(m, &m->train_ws, (const float *const *)r->xb, r->tp, r->weighted ? r->wb : NULL, nl,
                              (double)nb, 1, dr, 0, lk, K <= 64 ? ck : NULL);
    for (size_t k = 0; k < K && k < 64; k++) ckd[k] = (double)ck[k];
    r->smine[1] = lf_cancelled(r->o->cancel);
    lf_status st = r->st;
    if (st == LF_OK) st = lf_dist_allgather(&r->d, r->smine, S, r->sall, &r->st_err);
    for (size_t q = 0; st == LF_OK && q < P; q++)
        if (r->sall[q * S + 1] != 0) st = lf_fail(&r->st_err, LF_ERR_CANCELLED, "fit: cancelled");
    if (st == LF_OK) st = lf_dist_allreduce_ring_f(&r->d, m->grads, np, r->gall, &r->st_err);
    if (st != LF_OK) {
        r->st = st;
        memset(m->grads, 0, np * sizeof *m->grads);
        return 0;
    }
    double l = r->sall[0];
    for (size_t q = 1; q < P; q++) l += r->sall[q * S];
    *lsum += l;
    for (size_t k = 0; k < K; k++) {
        double lt = 0, ct = 0;
        for (size_t q = 0; q < P; q++) lt += r->sall[q * S + 2 + k], ct += r->sall[q * S + 2 + K + k];
        r->lk[k] += lt;
        r->ck[k] += (size_t)ct;
    }
    return 1;
}

/* Step s of the epoch, the pass's batch r->pos (then counted taken):
 * gather its rows (prefetching the next step's),
 * weight them, forward + backward, the optimizer step and the weights'
 * moving average (both over the weights that train).  Adds the weighted
 * loss sum and the L2 penalty sum, per output into r->lk and r->ck;
 * returns the step's number of rows. */
static size_t fit_step(fit_run *r, size_t s, double *lsum, double *pen_sum) {
    lf_model *m = r->m;
    const lf_fit_options *o = r->o;
    const lf_row_source *src = r->src;
    size_t B = r->B, n_train = r->n_train, r0 = r->pos * B, nb = n_train - r0 < B ? n_train - r0 : B;
    if ((r->st = rate_checked(m, "fit", &r->st_err)) != LF_OK) return 0; /* before the step: the weights of those done */
    if (s == 0 || !src->prefetch) {
        for (size_t i = 0; i < nb; i++) r->bidx[i] = (size_t)lf_ids_get(r->idx, r0 + i);
    } else {
        size_t *t = r->bidx;
        r->bidx = r->next, r->next = t;
    }
    /* this rank's slice [a, a + nl) of the batch (all of it on one) */
    size_t P = (size_t)r->d.size, a = nb * (size_t)r->d.rank / P, nl = nb * ((size_t)r->d.rank + 1) / P - a;
    src->gather(src->ctx, r->bidx + a, nl, r->xb, r->tb);
    batch_targets(r, nl);
    if (src->prefetch && s + 1 < r->steps && r->pos + 1 < r->passb) {
        size_t r1 = r0 + nb, n1 = n_train - r1 < B ? n_train - r1 : B;
        for (size_t i = 0; i < n1; i++) r->next[i] = (size_t)lf_ids_get(r->idx, r1 + i);
        src->prefetch(src->ctx, r->next, n1);
    }
    for (size_t i = 0; r->weighted && i < nl; i++) {
        float w = o->sample_weight ? o->sample_weight[r->bidx[a + i]] : 1.0f;
        if (o->class_weight) w *= o->class_weight[target_class(m, r->tb + i * r->tc, m->nodes[m->output].dim)];
        r->wb[i] = w;
    }
    /* the step's draws: row a + i of the batch draws as row a + i */
    lf_draws dr = {lf_draw_key(r->seed, r->epoch, s), a};
    r->pos++;
    if (P == 1) {
        *lsum += train_batch(m, &m->train_ws, (const float *const *)r->xb, r->tp, r->weighted ? r->wb : NULL, nb,
                             (double)nb, 1, &dr, 0, r->lk, r->ck);
    } else if (!sum_over_ranks(r, &dr, nl, nb, lsum)) {
        return nb;
    }
    *pen_sum += lf_weight_penalty(m, m->grads) * (double)nb;
    r->st = apply_step(m, &r->plan, r->ema, isfinite(*lsum + *pen_sum), "fit", &r->st_err);
    return nb;
}

/* Whether the fit was asked to stop (m->stop_requested, set by a progress
 * callback).  Over MPI ranks of which any has a progress callback (a rank
 * alone may have one: rank 0 printing the progress), every rank takes part
 * in the exchange of the flag (one allgather): a rank that asked makes
 * every rank stop at the same step, and every rank's request is set.  A
 * failed exchange sets r->st and stops. */
static int fit_stop_agreed(fit_run *r) {
    lf_model *m = r->m;
    if (r->stop_sync) {
        int any = 0;
        lf_status st = lf_dist_any(&r->d, m->stop_requested, &any, &r->st_err);
        if (st != LF_OK) {
            if (r->st == LF_OK) r->st = st;
            return 1;
        }
        m->stop_requested = any;
    }
    return m->stop_requested;
}

/* Whether epoch e (0-based, counted from the fit's first: initial_epoch
 * included) measures the validation rows: Keras 3's Trainer._should_eval
 * (keras/src/trainers/trainer.py), which one-indexes the epoch, then
 * takes validation_freq as a period or a list of epochs */
static int validates(const lf_fit_options *o, size_t e) {
    size_t n1 = e + 1;
    if (o->validation_epochs) {
        for (size_t i = 0; i < o->n_validation_epochs; i++)
            if (o->validation_epochs[i] == n1) return 1;
        return 0;
    }
    return o->validation_freq <= 1 || n1 % o->validation_freq == 0;
}

/* Epoch e: shuffle, every step (with its progress), then the validation
 * metrics; writes the epoch's history entry.  The loss through *loss_out,
 * the validation loss through *vloss_out (NaN without validation rows).
 * The caller's cancel flag is read before each step (r->st set: the epoch
 * ends there). */
static void fit_epoch(fit_run *r, size_t e, double *loss_out, double *vloss_out) {
    lf_model *m = r->m;
    const lf_fit_options *o = r->o;
    size_t n_train = r->n_train, steps = r->steps, K = r->K, E = r->E, i = e - o->initial_epoch;
    double t0 = now_s(), last_draw = 0, lsum = 0, pen_sum = 0;
    size_t seen = 0; /* the rows of the steps done: all n_train unless stopped */
    memset(r->lk, 0, 3 * K * sizeof *r->lk);
    memset(r->ck, 0, 2 * K * sizeof *r->ck);
    r->pr.epoch = e + 1, r->pr.steps = steps;
    r->epoch = e;
    if (o->progress) report(o, &r->pr, LF_PROGRESS_EPOCH_BEGIN);
    /* a new pass over the rows begins shuffled; steps_per_epoch's epochs
     * go on with the pass the last one left (Keras' EpochIterator keeps its
     * iterator across epochs when steps_per_epoch is set) */
    if (o->shuffle && r->pos == 0) lf_ids_shuffle(r->idx, n_train, &r->rng);
    size_t done = 0;
    for (size_t s = 0; s < steps && r->st == LF_OK; s++) {
        if (r->pos >= r->passb) break; /* the pass ended: Keras' "ran out of data" */
        if (r->d.size == 1 && lf_cancelled(o->cancel)) { /* over ranks: in the step's sums */
            r->st = lf_fail(&r->st_err, LF_ERR_CANCELLED, "fit: cancelled");
            return;
        }
        seen += fit_step(r, s, &lsum, &pen_sum);
        if (r->st != LF_OK) return;
        done = s + 1;
        int last = s + 1 == steps || r->pos >= r->passb; /* the epoch's last step */
        if (o->progress && (o->progress_every_step || now_s() - last_draw > 0.1 || last)) {
            last_draw = now_s();
            r->pr.step = s + 1, r->pr.seconds = last_draw - t0;
            r->pr.loss = (lsum + pen_sum) / (double)seen;
            r->pr.accuracy = r->has_acc ? (double)r->ck[0] / (double)(seen * acc_per_row(m, 0)) : NAN;
            r->pr.val_loss = r->pr.val_accuracy = NAN;
            report(o, &r->pr, LF_PROGRESS_STEP);
        }
        /* asked to stop (lf_model_stop_training from a callback): the epoch
         * ends after this step, as Keras 3's batch loop breaks on
         * model.stop_training; the ranks agree on it step by step */
        if (!last && fit_stop_agreed(r)) break;
    }
    if (r->st != LF_OK) return;
    if (r->pos >= r->passb) r->pos = 0; /* the next epoch starts a new pass */
    r->validated = r->n_val && validates(o, e);
    double loss = (lsum + pen_sum) / (double)seen;
    double acc = r->has_acc ? (double)r->ck[0] / (double)(seen * acc_per_row(m, 0)) : NAN;
    double vloss = NAN, vacc = NAN;
    if (r->validated) {
        double pen = lf_weight_penalty(m, NULL);
        if (o->progress) r->pr.loss = loss, r->pr.accuracy = acc; /* the VAL_STEP events' */
        vloss = eval_source(r, pen) / (double)r->n_val + pen;
        vacc = r->has_acc ? (double)r->ck[K] / (double)(r->n_val * acc_per_row(m, 0)) : NAN;
    }
    m->hist[i] = loss, m->hist[E + i] = vloss;
    m->hist[2 * E + i] = acc, m->hist[3 * E + i] = vacc;
    for (size_t k = 0; k < K; k++) {
        int ha = lf_loss_has_accuracy(m->outs[k].loss);
        double *h = m->hist + 4 * E;
        int hl = m->outs[k].loss != LF_LOSS_NONE;
        h[k * E + i] = hl ? r->lk[k] / (double)seen : NAN;
        h[(K + k) * E + i] = hl && r->validated ? r->lk[K + k] / (double)r->n_val : NAN;
        h[(2 * K + k) * E + i] = ha ? (double)r->ck[k] / (double)(seen * acc_per_row(m, k)) : NAN;
        h[(3 * K + k) * E + i] =
            ha && r->validated ? (double)r->ck[K + k] / (double)(r->n_val * acc_per_row(m, k)) : NAN;
    }
    m->history.epochs = i + 1;
    if (o->progress) {
        r->pr.step = done, r->pr.seconds = now_s() - t0;
        r->pr.loss = loss, r->pr.accuracy = acc, r->pr.val_loss = vloss, r->pr.val_accuracy = vacc;
        report(o, &r->pr, LF_PROGRESS_EPOCH_END);
    }
    fit_stop_agreed(r); /* a stop asked at EPOCH_END: every rank ends here */
    *loss_out = loss, *vloss_out = vloss;
}

/* A fit over MPI ranks agrees on failure before its first collective step:
 * every rank calls lf_dist_agree once, a rank that failed its
 * checks here (a bad input it alone sees), the others in fit_core.  Every
 * rank then returns the failing rank's (the lowest's) status and message
 * instead of waiting for it in the weights' broadcast.  st on one process. */
static lf_status fit_agree(lf_model *m, const lf_fit_options *o, lf_status st) {
    if (!o->mpi_comm) return st;
    lf_err e = m->err;
    lf_status got = lf_dist_agree(o->mpi_comm, st, &e);
    return got == LF_OK ? LF_OK : lf_model_fail(m, got, "%s", e.msg);
}

/* Over MPI ranks, before fit_agree: a digest of the model file's
 * architecture (lf_model_arch_json: the layers and their settings — L2
 * penalties, trainable flags — the losses and the optimizer with its
 * clips and weight decay), which fit_same_args compares.  Each rank adds
 * its own penalty gradient and runs its own optimizer step on the summed
 * gradients, so a rank compiled with another optimizer or penalty would
 * train its weights apart from the others'.  0 on one process; out of
 * memory fails (agreed by fit_agree). */
static lf_status arch_digest(lf_model *m, const fit_run *r, uint64_t *digest) {
    *digest = 0;
    if (r->d.size == 1) return LF_OK;
    lf_buf b;
    lf_buf_init(&b);
    lf_model_arch_json(m, &b);
    lf_status st = b.failed ? lf_model_fail(m, LF_ERR_NOMEM, "fit: out of memory") : LF_OK;
    if (st == LF_OK) *digest = lf_dist_digest(0, b.data, b.len);
    lf_buf_free(&b);
    return st;
}

/* Over MPI ranks, after fit_agree: whether every rank was given the same
 * model, rows and options (lf_dist_same), before the weights' broadcast
 * and the batches, whose sizes they set.  A rank with other rows or
 * options would otherwise train on its own data and options with the
 * others' gradients (or fail in MPI with a truncated message). */
static lf_status fit_same_args(lf_model *m, const fit_run *r, uint64_t arch) {
    if (r->d.size == 1) return LF_OK;
    const lf_fit_options *o = r->o;
    uint32_t lr, md;
    memcpy(&lr, &m->opt.learning_rate, sizeof lr);
    memcpy(&md, &o->min_delta, sizeof md);
    uint64_t w = 0;
    if (o->sample_weight) w = lf_dist_digest(w, o->sample_weight, r->n_train * sizeof *o->sample_weight);
    if (o->class_weight) w = lf_dist_digest(w, o->class_weight, o->n_class_weight * sizeof *o->class_weight);
    lf_dist_arg a[] = {
        {"model parameters", m->n_params, 0}, {"model nodes", m->n_nodes, 0},
        {"training rows", r->n_train, 0},     {"validation rows", r->n_val, 0},
        {"epochs", o->epochs, 0},             {"batch sizes", o->batch_size, 0},
        {"seeds", o->seed, 0},                {"shuffle options", (uint64_t)o->shuffle, 0},
        {"patience options", o->patience, 0}, {"monitor_accuracy options", (uint64_t)o->monitor_accuracy, 0},
        {"min_delta options", md, 1},         {"restore_best_weights options", (uint64_t)o->restore_best_weights, 0},
        {"start_from_epoch options", o->start_from_epoch, 0},
        {"initial_epoch options", o->initial_epoch, 0},
        {"validation_freq options", o->validation_freq > 1 ? o->validation_freq : 1, 0},
        {"validation epoch lists", o->validation_epochs ? lf_dist_digest(1, o->validation_epochs,
                                                                         o->n_validation_epochs * sizeof(size_t))
                                                        : 0, 1},
        {"steps_per_epoch options", o->steps_per_epoch, 0},
        {"validation_steps options", o->validation_steps, 0},
        {"validation batch sizes", o->validation_batch_size ? o->validation_batch_size : o->batch_size, 0},
        {"baselines", o->has_baseline ? lf_dist_digest(1, &o->baseline, sizeof o->baseline) : 0, 1},
        {"learning rates", lr, 1},            {"sample or class weights", w, 1},
        {"optimizer step counts", m->step, 0}, /* they key the shuffles and draws (fit_seed) */
        /* after the learning rate and step count, which it holds too */
        {"models or optimizers (layers, penalties, trainable flags, losses or optimizer settings)", arch, 1},
    };
    lf_err e = m->err;
    lf_status st = lf_dist_same(&r->d, a, sizeof a / sizeof *a, &e);
    return st == LF_OK ? LF_OK : lf_model_fail(m, st, "fit: %s", e.msg);
}

/* Over MPI ranks, at the end of epoch e with validation rows: whether
 * every rank measured the same validation loss and accuracy, which each
 * rank measures alone on the validation rows it was given.  Early
 * stopping, the best epoch and the divergence check read them: a rank
 * given other validation rows (or weights) would stop at another epoch
 * than the others, which would then wait for it in the next step's sums,
 * or keep other best weights.  Every rank arrives here (the epochs' ends
 * are collective); LF_ERR_ARG on every rank when they differ. */
static lf_status fit_same_validation(lf_model *m, const fit_run *r, size_t e, double vloss) {
    if (r->d.size == 1 || !r->validated) return LF_OK;
    double vacc = m->hist[3 * r->E + e - r->o->initial_epoch];
    uint64_t vl, va;
    memcpy(&vl, &vloss, sizeof vl);
    memcpy(&va, &vacc, sizeof va);
    lf_dist_arg a[] = {{"validation data (their validation losses differ)", vl, 1},
                       {"validation data (their validation accuracies differ)", va, 1}};
    lf_err err = m->err;
    lf_status st = lf_dist_same(&r->d, a, sizeof a / sizeof *a, &err);
    return st == LF_OK ? LF_OK : lf_model_fail(m, st, "fit: epoch %zu: %s", e + 1, err.msg);
}

/* The training loop over a row source: rows [0, n_train) train; the
 * validation rows are [vfirst, vfirst + n_val) of vsrc (none if n_val = 0).
 * Options are checked by the callers; sample weights index source rows.
 * Allocation, then the epochs with divergence and early stopping, then the
 * weights' moving average put in place (over the weights that train). */
static lf_status fit_train(lf_model *m, const lf_row_source *src, size_t n_train,
                           const lf_row_source *vsrc, size_t vfirst, size_t n_val,
                           const lf_fit_options *o, int *agreed) {
    fit_run r;
    memset(&r, 0, sizeof r);
    r.m = m, r.o = o, r.src = src, r.vsrc = vsrc, r.n_train = n_train, r.vfirst = vfirst, r.n_val = n_val;
    if (o->validation_steps) { /* the first validation_steps batches, as Keras' evaluate(steps=) */
        size_t vb = o->validation_batch_size ? o->validation_batch_size : o->batch_size;
        if (vb <= n_val / o->validation_steps) r.n_val = vb * o->validation_steps;
    }
    lf_status st = lf_dist_open(&m->err, o->mpi_comm, &r.d);
    if (st != LF_OK) return st;
    *agreed = 1;
    lf_status ast = fit_alloc(&r); /* frees what it got on failure */
    uint64_t arch = 0;
    st = fit_agree(m, o, ast == LF_OK ? arch_digest(m, &r, &arch) : ast);
    if (st == LF_OK) st = fit_same_args(m, &r, arch);
    /* every rank starts from rank 0's weights */
    if (st == LF_OK) st = lf_dist_bcast(&r.d, m->params, m->n_params * sizeof(float), 0, &m->err);
    /* whether any rank's progress callback may ask to stop: then every rank
     * exchanges the request (fit_stop_agreed), also one without a callback */
    if (st == LF_OK && r.d.size > 1) st = lf_dist_any(&r.d, o->progress != NULL, &r.stop_sync, &m->err);
    /* whether any rank measures the validation rows in batches (its
     * VAL_STEP events): then every rank does, so that their losses stay
     * the same bits */
    int vsteps = o->progress_validation_steps && o->progress;
    if (st == LF_OK && r.d.size > 1) st = lf_dist_any(&r.d, vsteps, &vsteps, &m->err);
    if (vsteps) r.vbatch = o->validation_batch_size ? o->validation_batch_size : o->batch_size;
    if (st != LF_OK) {
        if (ast == LF_OK) fit_run_free(&r);
        return st;
    }
    if (r.ema) memcpy(r.ema, m->params, m->n_params * sizeof(float));
    /* the layers' sums over the ranks (BatchNormalization's statistics) */
    r.reduce = (lf_reduce){reduce_sum, &r, r.rbuf, r.n_rbuf};
    m->train_ws.reduce = r.d.size > 1 ? &r.reduce : NULL;
    size_t wait = 0;
    double best = INFINITY;
    int kept = 0; /* r.best holds a watched epoch's weights */
    /* the baseline on the watched value's scale (an accuracy's negation) */
    double baseline = o->monitor_accuracy ? -o->baseline : o->baseline;
    m->stop_requested = 0;
    for (size_t e = o->initial_epoch; e < o->epochs; e++) {
        double loss = NAN, vloss = NAN; /* set unless r.st is */
        fit_epoch(&r, e, &loss, &vloss);
        if (r.st != LF_OK) {
            st = lf_model_fail(m, r.st, "%s", r.st_err.msg);
            break;
        }
        if ((st = fit_same_validation(m, &r, e, vloss)) != LF_OK) break;
        /* asked to stop during this epoch (its progress callback): the fit
         * ends after it, as it ends at its last epoch, a loss that is not
         * finite included (Keras' TerminateOnNaN) */
        int stop = m->stop_requested;
        if (!stop && (!isfinite(loss) || (r.validated && !isfinite(vloss)))) {
            st = lf_model_fail(m, LF_ERR_NUMERIC,
                               "fit: training diverged at epoch %zu (the loss is not finite); "
                               "try a smaller learning rate", e + 1);
            break;
        }
        /* Keras 3's EarlyStopping.on_epoch_end: the epochs before
         * start_from_epoch are not watched, nor those without validation
         * when there are validation rows (validation_freq: Keras' monitored
         * val_ value is missing there) */
        if (e < o->start_from_epoch || (r.n_val && !r.validated)) {
            if (stop) break;
            continue;
        }
        /* the accuracy (higher is better) is watched as its negation */
        size_t E = r.E, i = e - o->initial_epoch;
        double monitor = !o->monitor_accuracy ? (r.n_val ? vloss : loss)
                                              : -(r.n_val ? m->hist[3 * E + i] : m->hist[2 * E + i]);
        if (monitor < best - o->min_delta) {
            best = monitor;
            m->history.best_epoch = e;
            /* the count restarts only when the baseline is beaten too */
            wait = !o->has_baseline || monitor < baseline - o->min_delta ? 0 : wait + 1;
            if (r.best) memcpy(r.best, m->params, m->n_params * sizeof(float)), kept = 1;
        } else if (o->patience && ++wait >= o->patience) {
            m->history.stopped_early = 1;
            if (o->progress) {
                r.pr.best_epoch = m->history.best_epoch + 1, r.pr.restored = r.best && kept;
                report(o, &r.pr, LF_PROGRESS_EARLY_STOP);
            }
            break;
        }
        if (stop) break;
    }
    m->stop_requested = 0;
    for (size_t i = 0; r.ema && st == LF_OK && i < r.plan.n_runs; i++) {
        size_t off = r.plan.runs[2 * i];
        memcpy(m->params + off, r.ema + off, r.plan.runs[2 * i + 1] * sizeof(float));
    }
    /* then the best epoch's weights, stopped early or not, as Keras 3's
     * EarlyStopping puts them back at the end of training (after the
     * moving average's write-back, which they replace) */
    if (r.best && kept && st == LF_OK) memcpy(m->params, r.best, m->n_params * sizeof(float));
    m->train_ws.reduce = NULL;
    fit_run_free(&r);
    return st;
}

/* fit_train on o->threads threads (0: the caller's count; checked by
 * check_options), the caller's count given back after: every public fit
 * trains through here */
static lf_status fit_core(lf_model *m, const lf_row_source *src, size_t n_train,
                          const lf_row_source *vsrc, size_t vfirst, size_t n_val,
                          const lf_fit_options *o, int *agreed) {
    int saved = lf_threads_push(o->threads);
    lf_status st = fit_train(m, src, n_train, vsrc, vfirst, n_val, o, agreed);
    lf_threads_pop(saved);
    return st;
}

/* checks shared by both entries */
static lf_status check_options(lf_model *m, size_t n, const lf_fit_options *o) {
    lf_status st = check_ready(m, "fit");
    if (st != LF_OK) return st;
    if (n == 0) return lf_model_fail(m, LF_ERR_ARG, "fit: no training rows");
    if (o->batch_size == 0) return lf_model_fail(m, LF_ERR_ARG, "fit: batch_size must be at least 1");
    if (lf_threads_check(&m->err, "fit: ", o->threads) != LF_OK) return LF_ERR_ARG;
    if (o->epochs == 0 || o->epochs > ((size_t)1 << 32))
        return lf_model_fail(m, LF_ERR_ARG, "fit: epochs must be in 1..2^32");
    if (o->initial_epoch >= o->epochs)
        return lf_model_fail(m, LF_ERR_ARG, "fit: initial_epoch %zu must be below epochs (%zu)", o->initial_epoch,
                             o->epochs);
    if (o->n_validation_epochs && !o->validation_epochs)
        return lf_model_fail(m, LF_ERR_ARG, "fit: n_validation_epochs is %zu and validation_epochs is NULL",
                             o->n_validation_epochs);
    if (!(o->validation_split >= 0.0 && o->validation_split < 1.0))
        return lf_model_fail(m, LF_ERR_ARG, "fit: validation_split must be in [0, 1), got %g", o->validation_split);
    if (!(o->min_delta >= 0.0f && isfinite(o->min_delta))) /* NaN never improves: the best weights never kept */
        return lf_model_fail(m, LF_ERR_ARG, "fit: min_delta must be finite and >= 0, got %g", (double)o->min_delta);
    if (o->has_baseline != 0 && o->has_baseline != 1)
        return lf_model_fail(m, LF_ERR_ARG, "fit: has_baseline must be 0 or 1, got %d", o->has_baseline);
    if (o->has_baseline && !isfinite(o->baseline))
        return lf_model_fail(m, LF_ERR_ARG, "fit: baseline must be finite, got %g", o->baseline);
    if (m->rate_fn && o->mpi_comm)
        return lf_model_fail(m, LF_ERR_ARG, "fit: a learning rate function (lf_model_set_rate_fn) cannot run over "
                                            "MPI ranks (each rank would call its own)");
    if (o->progress_validation_steps != 0 && o->progress_validation_steps != 1)
        return lf_model_fail(m, LF_ERR_ARG, "fit: progress_validation_steps must be 0 or 1, got %d",
                             o->progress_validation_steps);
    if (o->monitor_accuracy != 0 && o->monitor_accuracy != 1)
        return lf_model_fail(m, LF_ERR_ARG, "fit: monitor_accuracy must be 0 (the loss) or 1, got %d",
                             o->monitor_accuracy);
    if (o->monitor_accuracy && (m->n_outputs != 1 || !lf_loss_has_accuracy(m->outs[0].loss)))
        return lf_model_fail(m, LF_ERR_ARG, "fit: monitor_accuracy needs a model with one output and a "
                                            "crossentropy loss (its accuracy is watched)");
    size_t D = m->nodes[m->output].dim;
    if (o->class_weight) {
        if (m->n_outputs > 1)
            return lf_model_fail(m, LF_ERR_ARG, "fit: class weights need a model with one output "
                                                "(use sample weights with several outputs)");
        if (!lf_loss_has_accuracy(m->loss))
            return lf_model_fail(m, LF_ERR_ARG, "fit: class weights need a classification loss");
        const lf_node *out = &m->nodes[m->output];
        if (out->rank > 1) { /* a row's class would be the argmax over all its steps (Keras refuses them too) */
            char shape[96];
            lf_shape_str(out, shape, sizeof shape);
            return lf_model_fail(m, LF_ERR_ARG, "fit: class weights need an output of one axis; '%s' has shape %s",
                                 out->name, shape);
        }
        size_t need = (m->loss == LF_LOSS_BINARY_CROSSENTROPY && D == 1) ? 2 : D;
        if (o->n_class_weight < need)
            return lf_model_fail(m, LF_ERR_ARG, "fit: %zu class weights given, the output has %zu classes",
                                 o->n_class_weight, need);
        for (size_t c = 0; c < need; c++)
            if (!(o->class_weight[c] >= 0.0f) || !isfinite(o->class_weight[c]))
                return lf_model_fail(m, LF_ERR_ARG, "fit: class weight %zu must be finite and >= 0", c);
    }
    return LF_OK;
}

/* rows left for training by a validation split, floor(n (1 - split)) as
 * Keras (n_val through *n_val) */
static lf_status split_rows(lf_model *m, size_t n, double split, size_t *n_val) {
    *n_val = 0;
    if (split <= 0.0) return LF_OK;
    size_t n_train = (size_t)floor((double)n * (1.0 - split));
    if (n_train == 0 || n_train == n)
        return lf_model_fail(m, LF_ERR_ARG,
                             "fit: validation_split %g of %zu rows leaves an empty training or validation set",
                             split, n);
    *n_val = n - n_train;
    return LF_OK;
}

/* n weights (NULL: none) finite and >= 0; op: "fit" or "train_on_batch",
 * what: "sample weight" or "validation sample weight" */
static lf_status check_weights(lf_model *m, const float *w, size_t n, const char *op, const char *what) {
    for (size_t r = 0; w && r < n; r++)
        if (!(w[r] >= 0.0f) || !isfinite(w[r]))
            return lf_model_fail(m, LF_ERR_ARG, "%s: %s %g at row %zu must be finite and >= 0", op, what,
                                 (double)w[r], r);
    return LF_OK;
}

/* lf_model_fit and lf_model_fit_arrays: typed inputs, one target array per
 * output, the validation data as typed arrays (val_x, val_y NULL) */
static lf_status fit_arrays(lf_model *m, const lf_typed_array *x, const float *const *y, size_t n,
                            const lf_fit_options *o, int *agreed) {
    lf_status st = check_options(m, n, o);
    if (st != LF_OK) return st;
    if ((st = check_arrays(m, x, n, "fit")) != LF_OK) return st;
    if ((st = check_targets(m, y, n, "fit")) != LF_OK) return st;
    if ((st = check_weights(m, o->sample_weight, n, "fit", "sample weight")) != LF_OK) return st;
    if (o->val_sample_weight && !o->val_arrays)
        return lf_model_fail(m, LF_ERR_ARG, "fit: val_sample_weight weighs explicit validation data (val_x or "
                                            "val_arrays), and none is given");
    array_rows train = {m, x, y}, val = {m, o->val_arrays, o->val_ys};
    /* prefetching pays only where the rows are not in the caches anyway */
    static const size_t size_of[] = {sizeof(float), sizeof(int32_t), sizeof(uint8_t)};
    size_t row_bytes = 0;
    for (size_t k = 0; k < m->n_outputs; k++) row_bytes += out_cols(m, k) * sizeof(float);
    for (size_t i = 0; i < m->n_inputs; i++) row_bytes += m->nodes[m->inputs[i]].dim * size_of[x[i].dtype];
    int big = (double)n * (double)row_bytes > 16e6;
    lf_row_source src = {n, gather_arrays, &train, big ? prefetch_arrays : NULL, 0},
                  vsrc = {o->val_n, gather_arrays, &val, NULL, 0};
    if (o->val_arrays) {
        /* explicit validation data */
        if (o->val_n == 0 || !o->val_ys)
            return lf_model_fail(m, LF_ERR_ARG,
                                 "fit: validation data need their targets (val_y, or val_ys) and val_n > 0");
        if ((st = check_arrays(m, o->val_arrays, o->val_n, "fit (validation data)")) != LF_OK) return st;
        if ((st = check_targets(m, o->val_ys, o->val_n, "fit (validation data)")) != LF_OK) return st;
        if ((st = check_weights(m, o->val_sample_weight, o->val_n, "fit", "validation sample weight")) != LF_OK) return st;
        return fit_core(m, &src, n, &vsrc, 0, o->val_n, o, agreed);
    }
    /* or the last fraction of the rows, as Keras */
    size_t n_val;
    if ((st = split_rows(m, n, o->validation_split, &n_val)) != LF_OK) return st;
    return fit_core(m, &src, n - n_val, &src, n - n_val, n_val, o, agreed);
}

lf_status lf_model_fit(lf_model *m, const float *const *x, const float *y, size_t n,
                       const lf_fit_options *options) {
    if (!m) return LF_ERR_ARG;
    lf_fit_options o = options ? *options : lf_fit_defaults();
    lf_status st = check_options(m, n, &o);
    if (st == LF_OK) st = check_single(m, "fit");
    if (st == LF_OK && o.val_arrays)
        st = lf_model_fail(m, LF_ERR_ARG, "fit: val_arrays are lf_model_fit_arrays' (give val_x here)");
    if (st == LF_OK && !x) st = lf_model_fail(m, LF_ERR_ARG, "fit: the input arrays are NULL");
    if (st != LF_OK) return fit_agree(m, &o, st);
    lf_typed_array *xa = float_arrays(m, x, "fit", &st), *va = NULL;
    if (xa && o.val_x && !(va = float_arrays(m, o.val_x, "fit", &st))) LF_FREE(xa), xa = NULL;
    if (!xa) return fit_agree(m, &o, st);
    if (va) {
        o.val_arrays = va;
        o.val_ys = o.val_y ? &o.val_y : NULL;
    }
    int agreed = 0;
    st = fit_arrays(m, xa, &y, n, &o, &agreed);
    LF_FREE(xa), LF_FREE(va);
    return agreed ? st : fit_agree(m, &o, st);
}

lf_status lf_model_fit_arrays(lf_model *m, const lf_typed_array *x, const float *const *y, size_t n,
                              const lf_fit_options *options) {
    if (!m) return LF_ERR_ARG;
    lf_fit_options o = options ? *options : lf_fit_defaults();
    if (o.val_x || o.val_y)
        return fit_agree(m, &o, lf_model_fail(m, LF_ERR_ARG, "fit: give the validation data as val_arrays and "
                                                             "val_ys (val_x and val_y are lf_model_fit's)"));
    int agreed = 0;
    lf_status st = fit_arrays(m, x, y, n, &o, &agreed);
    return agreed ? st : fit_agree(m, &o, st);
}

lf_status lf_model_fit_source(lf_model *m, const lf_row_source *src, const lf_fit_options *options) {
    if (!m) return LF_ERR_ARG;
    if (!src || !src->gather) return lf_model_fail(m, LF_ERR_ARG, "fit: no row source");
    lf_fit_options o = options ? *options : lf_fit_defaults();
    lf_status st = check_options(m, src->n, &o);
    if (st == LF_OK && (o.sample_weight || o.val_x || o.val_arrays || o.val_sample_weight))
        st = lf_model_fail(m, LF_ERR_ARG, "fit: a row source takes neither sample weights nor validation arrays");
    size_t n_val = src->n_val;
    if (st == LF_OK && n_val && o.validation_split > 0.0)
        st = lf_model_fail(m, LF_ERR_ARG, "fit: the row source has its validation rows; validation_split must be 0");
    else if (st == LF_OK && n_val >= src->n)
        st = lf_model_fail(m, LF_ERR_ARG, "fit: %zu validation rows of %zu leave no training row", n_val, src->n);
    else if (st == LF_OK && !n_val)
        st = split_rows(m, src->n, o.validation_split, &n_val);
    if (st != LF_OK) return fit_agree(m, &o, st);
    int agreed = 0;
    return fit_core(m, src, src->n - n_val, src, src->n - n_val, n_val, &o, &agreed);
}

/* ------------------------------------------ learning rate, one batch */

lf_status lf_model_set_learning_rate(lf_model *m, float learning_rate) {
    if (!m) return LF_ERR_ARG;
    lf_status st = check_ready(m, "set_learning_rate");
    if (st != LF_OK) return st;
    if (!(learning_rate > 0.0f) || !isfinite(learning_rate))
        return lf_model_fail(m, LF_ERR_ARG, "set_learning_rate: the learning rate must be finite and > 0, got %g",
                             (double)learning_rate);
    if (m->rate_fn)
        return lf_model_fail(m, LF_ERR_ARG, "set_learning_rate: the optimizer's learning rate follows a function "
                                            "(lf_model_set_rate_fn) and cannot be set");
    if (m->opt.schedule.kind != LF_LR_CONSTANT) /* Keras' TypeError */
        return lf_model_fail(m, LF_ERR_ARG, "set_learning_rate: the optimizer's learning rate follows a schedule "
                                            "and cannot be set (compile with a constant rate to set it)");
    m->opt.learning_rate = learning_rate; /* the next optimizer step reads it */
    return LF_OK;
}

lf_status lf_model_stop_training(lf_model *m) {
    if (!m) return LF_ERR_ARG;
    m->stop_requested = 1;
    return LF_OK;
}

uint64_t lf_model_iterations(const lf_model *m) { return m && m->compiled ? m->step : 0; }

float lf_model_learning_rate(const lf_model *m) {
    if (m && m->compiled && m->rate_fn) return (float)m->rate_fn(m->rate_ctx, m->step);
    return m && m->compiled ? lf_lr_schedule_rate(&m->opt.schedule, m->opt.learning_rate, m->step) : NAN;
}

lf_status lf_model_set_rate_fn(lf_model *m, lf_rate_fn fn, void *ctx) {
    if (!m) return LF_ERR_ARG;
    lf_status st = check_ready(m, "set_rate_fn");
    if (st != LF_OK) return st;
    if (fn && m->opt.schedule.kind != LF_LR_CONSTANT)
        return lf_model_fail(m, LF_ERR_ARG, "set_rate_fn: the optimizer's learning rate follows a schedule "
                                            "(compile with a constant rate to give a function)");
    m->rate_fn = fn, m->rate_ctx = fn ? ctx : NULL;
    return LF_OK;
}

lf_status lf_model_train_on_batch(lf_model *m, const lf_typed_array *x, const float *const *y, size_t n,
                                  const float *sample_weight, double *losses, double *accuracies) {
    if (!m) return LF_ERR_ARG;
    lf_status st = check_ready(m, "train_on_batch");
    if (st == LF_OK && n == 0) st = lf_model_fail(m, LF_ERR_ARG, "train_on_batch: no rows");
    if (st == LF_OK) st = check_arrays(m, x, n, "train_on_batch");
    if (st == LF_OK) st = check_targets(m, y, n, "train_on_batch");
    if (st == LF_OK) st = check_weights(m, sample_weight, n, "train_on_batch", "sample weight");
    if (st == LF_OK) st = rate_checked(m, "train_on_batch", &m->err);
    if (st != LF_OK) return st;
    size_t K = m->n_outputs;
    param_plan plan = {0};
    double *lk = lf_alloc_array(K, sizeof *lk);
    size_t *ck = lf_alloc_array(K, sizeof *ck);
    float **scratch = NULL;
    void *mem = NULL;
    int ok = lk && ck && plan_init(m, &plan) && chunk_scratch(m, x, n, &scratch, &mem);
    lf_ws *ws = &m->train_ws; /* fit's, kept across calls; grown to n rows when smaller */
    if (ok && (ws->batch < n || !ws->with_grads || ws->n_nodes != m->n_nodes)) {
        lf_ws_free(ws);
        ok = lf_ws_init(ws, m, n, 1, NULL, 0) == LF_OK;
    }
    if (!ok) {
        LF_FREE(lk), LF_FREE(ck), LF_FREE(plan.runs), LF_FREE(mem);
        return lf_model_fail(m, LF_ERR_NOMEM, "train_on_batch: out of memory for %zu rows", n);
    }
    const float **xp = ws->xin;
    chunk_inputs(m, x, scratch, 0, n, xp);
    memset(m->grads, 0, m->n_params * sizeof *m->grads);
    /* a new key from the model's generator for each call: fresh dropout */
    lf_draws draws = {lf_rng_next(&m->rng), 0};
    double lsum = train_batch(m, ws, xp, y, sample_weight, n, (double)n, 1, &draws, 0, lk, ck);
    double pen = lf_weight_penalty(m, m->grads);
    st = apply_step(m, &plan, NULL, isfinite(lsum) && isfinite(pen), "train_on_batch", &m->err);
    if (st != LF_OK) {
        LF_FREE(lk), LF_FREE(ck), LF_FREE(plan.runs), LF_FREE(mem);
        return st;
    }
    if (losses) {
        losses[0] = (lsum + pen * (double)n) / (double)n; /* as a fit of one step sums it */
        for (size_t k = 0; k < K; k++) losses[1 + k] = m->outs[k].loss == LF_LOSS_NONE ? NAN : lk[k] / (double)n;
    }
    for (size_t k = 0; accuracies && k < K; k++)
        accuracies[k] =
            lf_loss_has_accuracy(m->outs[k].loss) ? (double)ck[k] / (double)(n * acc_per_row(m, k)) : NAN;
    LF_FREE(lk), LF_FREE(ck), LF_FREE(plan.runs), LF_FREE(mem);
    return LF_OK;
}

/* testing.h's hook for the golden tests */
lf_status lf__forward_nodes(const lf_model *m, const float *const *x, size_t n, float **out) {
    if (!m || !m->compiled || n == 0) return LF_ERR_STATE;
    lf_ws ws;
    if (lf_ws_init(&ws, m, n, 0, NULL, 0) != LF_OK) return LF_ERR_NOMEM;
    lf_graph_forward(m, &ws, x, n, 0, NULL);
    for (size_t id = 0; id < m->n_nodes; id++)
        if (out[id] && m->nodes[id].needed)
            memcpy(out[id], ws.out[id], n * lf_node_rows(&m->nodes[id]) * m->nodes[id].dim * sizeof(float));
    lf_ws_free(&ws);
    return LF_OK;
}
