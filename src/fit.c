/*
 * fit.c — training, evaluation and prediction: Keras' fit/evaluate/predict
 * over the graph driver.  Every buffer a training step needs (workspace,
 * gathered batch, index permutation) is allocated before the first epoch;
 * the step itself allocates nothing.
 */
#include "kernels.h"
#include "model.h"
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

static lf_status check_inputs(lf_model *m, const float *const *x, size_t n, const char *what) {
    if (!x) return lf_model_fail(m, LF_ERR_ARG, "%s: the input arrays are NULL", what);
    for (size_t i = 0; i < m->n_inputs; i++) {
        if (!x[i]) return lf_model_fail(m, LF_ERR_ARG, "%s: input %zu ('%s') is NULL", what, i,
                                        m->nodes[m->inputs[i]].name);
        size_t d = m->nodes[m->inputs[i]].dim;
        if (all_finite(x[i], n * d)) continue;
        for (size_t j = 0; j < n * d; j++)
            if (!isfinite(x[i][j]))
                return lf_model_fail(m, LF_ERR_NUMERIC,
                                     "%s: input '%s' holds a non-finite value at row %zu, column %zu",
                                     what, m->nodes[m->inputs[i]].name, j / d, j % d);
    }
    return lf_token_ids_check(m, x, n, what, &m->err);
}

static lf_status check_targets(lf_model *m, const float *y, size_t n, const char *what) {
    if (!y) return lf_model_fail(m, LF_ERR_ARG, "%s: the targets are NULL", what);
    size_t D = m->nodes[m->output].dim, tc = lf_loss_target_cols(m->loss, D);
    for (size_t j = 0; j < n * tc; j++) {
        float v = y[j];
        if (!isfinite(v))
            return lf_model_fail(m, LF_ERR_NUMERIC, "%s: target at row %zu, column %zu is not finite",
                                 what, j / tc, j % tc);
        if (m->loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY &&
            (v < 0 || v >= (float)D || v != floorf(v)))
            return lf_model_fail(m, LF_ERR_ARG, "%s: label %g at row %zu is not a class in 0..%zu",
                                 what, (double)v, j, D - 1);
        if ((m->loss == LF_LOSS_BINARY_CROSSENTROPY || m->loss == LF_LOSS_CATEGORICAL_CROSSENTROPY) &&
            (v < 0 || v > 1))
            return lf_model_fail(m, LF_ERR_ARG, "%s: target %g at row %zu, column %zu is outside [0, 1]",
                                 what, (double)v, j / tc, j % tc);
    }
    return LF_OK;
}

static lf_status check_ready(lf_model *m, const char *what) {
    if (!m->compiled)
        return lf_model_fail(m, LF_ERR_STATE, "%s: the model is not compiled (call lf_model_compile)", what);
    return LF_OK;
}

/* class of a target row, for class weights */
static size_t target_class(const lf_model *m, const float *t, size_t D) {
    if (m->loss == LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) return (size_t)t[0];
    if (m->loss == LF_LOSS_BINARY_CROSSENTROPY && D == 1) return t[0] > 0.5f;
    return lf_argmax_f(t, D);
}

/* ------------------------------------------------------ eval (chunked) */

/* Loss (sum of w_r l_r, plus nothing else) and correct count over n rows,
 * in chunks through ws (no dropout). */
static double eval_rows(const lf_model *m, lf_ws *ws, const float *const *x, const float *y,
                        const float *sw, size_t n, size_t *correct) {
    size_t D = m->nodes[m->output].dim, tc = lf_loss_target_cols(m->loss, D);
    const float **xp = ws->xin;
    double total = 0;
    for (size_t r0 = 0; r0 < n; r0 += ws->batch) {
        size_t B = n - r0 < ws->batch ? n - r0 : ws->batch;
        for (size_t i = 0; i < m->n_inputs; i++) xp[i] = x[i] + r0 * m->nodes[m->inputs[i]].dim;
        lf_graph_forward(m, ws, xp, B, 0, NULL);
        total += lf_loss_eval(m->loss, m->fused, ws->out[m->output], lf_graph_logits(m, ws),
                              y + r0 * tc, sw ? sw + r0 : NULL, B, D, 1.0, NULL, correct);
    }
    return total;
}

lf_status lf_model_evaluate(lf_model *m, const float *const *x, const float *y, size_t n,
                            const float *sw, double *loss, double *accuracy) {
    if (!m) return LF_ERR_ARG;
    lf_status st = check_ready(m, "evaluate");
    if (st == LF_OK && n == 0) st = lf_model_fail(m, LF_ERR_ARG, "evaluate: no rows");
    if (st == LF_OK) st = check_inputs(m, x, n, "evaluate");
    if (st == LF_OK) st = check_targets(m, y, n, "evaluate");
    if (st != LF_OK) return st;
    lf_ws ws;
    if (lf_ws_init(&ws, m, n < PREDICT_CHUNK ? n : PREDICT_CHUNK, 0, NULL, 0) != LF_OK)
        return lf_model_fail(m, LF_ERR_NOMEM, "evaluate: out of memory");
    size_t correct = 0;
    double total = eval_rows(m, &ws, x, y, sw, n, &correct);
    lf_ws_free(&ws);
    if (loss) *loss = total / (double)n + lf_l2_penalty(m, NULL);
    if (accuracy) {
        size_t D = m->nodes[m->output].dim;
        size_t per_row = (m->loss == LF_LOSS_BINARY_CROSSENTROPY) ? D : 1;
        *accuracy = lf_loss_has_accuracy(m->loss) ? (double)correct / (double)(n * per_row) : NAN;
    }
    return LF_OK;
}

lf_status lf_model_predict(const lf_model *m, const float *const *x, size_t n, float *y) {
    if (!m || !x || !y) return LF_ERR_ARG;
    if (!m->compiled) return LF_ERR_STATE;
    if (n == 0) return LF_OK;
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

/* ------------------------------------------------------ one train step */

/* Forward + loss + backward on B contiguous rows; gradients added into
 * m->grads (which the caller zeroes: lf_optim_step leaves them zero),
 * input gradients into ws->dout of the inputs when asked.
 * Returns sum_r w_r l_r and adds the correct count. */
static double train_batch(lf_model *m, lf_ws *ws, const float *const *x, const float *t,
                          const float *w, size_t B, int training, lf_rng *rng, int input_grads,
                          size_t *correct) {
    size_t D = m->nodes[m->output].dim;
    ws->logits_only = 1; /* the fused losses need no softmax output */
    lf_graph_forward(m, ws, x, B, training, rng);
    ws->logits_only = 0;
    double lsum = lf_loss_eval(m->loss, m->fused, ws->out[m->output], lf_graph_logits(m, ws), t,
                               w, B, D, (double)B, ws->dout[m->output], correct);
    lf_graph_backward(m, ws, m->grads, B, input_grads);
    return lsum;
}

/* testing.h's hook for the gradient and golden tests */
lf_status lf__loss_and_grads(lf_model *m, const float *const *x, const float *t, size_t n,
                             int training, int step, double *loss, float **input_grads) {
    if (!m || !m->compiled || n == 0) return LF_ERR_STATE;
    lf_ws ws;
    if (lf_ws_init(&ws, m, n, 1, NULL, 0) != LF_OK) return LF_ERR_NOMEM;
    for (size_t i = 0; i < m->n_inputs; i++) ws.dout[m->inputs[i]] = input_grads ? input_grads[i] : NULL;
    /* input gradients land in the caller's arrays; zeroed by backward */
    if (input_grads)
        for (size_t i = 0; i < m->n_inputs; i++)
            if (!input_grads[i]) return lf_ws_free(&ws), LF_ERR_ARG;
    memset(m->grads, 0, m->n_params * sizeof *m->grads);
    double lsum = train_batch(m, &ws, x, t, NULL, n, training, &m->rng, input_grads != NULL, NULL);
    double pen = lf_l2_penalty(m, m->grads);
    if (loss) *loss = lsum / (double)n + pen;
    if (step) { /* the step consumes the gradients: the caller still reads them */
        float *g = LF_MALLOC((m->n_params ? m->n_params : 1) * sizeof *g);
        if (!g) return lf_ws_free(&ws), LF_ERR_NOMEM;
        memcpy(g, m->grads, m->n_params * sizeof *g);
        m->step++;
        lf_optim_step(&m->opt, m->params, m->grads, m->m1, m->m2, m->n_params, m->step);
        memcpy(m->grads, g, m->n_params * sizeof *g);
        LF_FREE(g);
    }
    lf_ws_free(&ws);
    return LF_OK;
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

/* An array source: rows of the caller's arrays, copied into the batch. */
typedef struct array_rows {
    const lf_model *m;
    const float *const *x;
    const float *y;
    size_t tc;
} array_rows;

static void gather_arrays(void *ctx, const size_t *rows, size_t n, float *const *xb, float *tb) {
    const array_rows *a = ctx;
    const lf_model *m = a->m;
    for (size_t i = 0; i < m->n_inputs; i++) {
        size_t d = m->nodes[m->inputs[i]].dim;
        const float *x = a->x[i];
        float *dst = xb[i];
        for (size_t r = 0; r < n; r++) memcpy(dst + r * d, x + rows[r] * d, d * sizeof(float));
    }
    size_t tc = a->tc;
    for (size_t r = 0; r < n; r++) /* a few values: no call */
        for (size_t j = 0; j < tc; j++) tb[r * tc + j] = a->y[rows[r] * tc + j];
}

/* the first lines of the next batch's rows (the hardware streams the rest) */
static void prefetch_arrays(void *ctx, const size_t *rows, size_t n) {
    const array_rows *a = ctx;
    const lf_model *m = a->m;
    for (size_t r = 0; r < n; r++) {
        for (size_t i = 0; i < m->n_inputs; i++) {
            size_t d = m->nodes[m->inputs[i]].dim;
            const char *row = (const char *)(a->x[i] + rows[r] * d);
            __builtin_prefetch(row);
            __builtin_prefetch(row + d * sizeof(float) - 1);
        }
        __builtin_prefetch(a->y + rows[r] * a->tc);
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
    size_t D, tc, B, steps, acc_per_row;
    int weighted, has_acc;
    float *xb_block, *tb, *wb, *best;
    float **xb;
    lf_ids idx;   /* training row ids, reshuffled every epoch */
    size_t *bidx; /* the row ids of one batch or validation chunk */
    size_t *next; /* the next batch's row ids (for the source's prefetch) */
    float *ema;   /* the moving average of the weights (optimizer use_ema) */
    lf_ws eval_ws;
    lf_rng rng;
    lf_progress pr;
} fit_run;

static void fit_run_free(fit_run *r) {
    LF_FREE(r->xb_block), LF_FREE(r->tb), LF_FREE(r->wb), LF_FREE(r->best);
    LF_FREE(r->xb), LF_FREE(r->bidx), LF_FREE(r->next), LF_FREE(r->ema);
    lf_ids_free(&r->idx);
    lf_ws_free(&r->eval_ws);
}

/* Validation loss (sum of l_r) and correct count: rows first..first+n of
 * the source, gathered chunk by chunk into the batch buffers. */
static double eval_source(fit_run *r, size_t *correct) {
    lf_model *m = r->m;
    lf_ws *ws = &r->eval_ws;
    double total = 0;
    for (size_t r0 = 0; r0 < r->n_val; r0 += ws->batch) {
        size_t B = r->n_val - r0 < ws->batch ? r->n_val - r0 : ws->batch;
        for (size_t i = 0; i < B; i++) r->bidx[i] = r->vfirst + r0 + i;
        r->vsrc->gather(r->vsrc->ctx, r->bidx, B, r->xb, r->tb);
        lf_graph_forward(m, ws, (const float *const *)r->xb, B, 0, NULL);
        total += lf_loss_eval(m->loss, m->fused, ws->out[m->output], lf_graph_logits(m, ws), r->tb, NULL,
                              B, r->D, 1.0, NULL, correct);
    }
    return total;
}

/* Allocation: every buffer of the loop, the workspaces, the history, the
 * identity order of the training rows, the generator.  On failure frees
 * what it got. */
static lf_status fit_alloc(fit_run *r) {
    lf_model *m = r->m;
    const lf_fit_options *o = r->o;
    r->D = m->nodes[m->output].dim, r->tc = lf_loss_target_cols(m->loss, r->D);
    r->B = o->batch_size < r->n_train ? o->batch_size : r->n_train;
    size_t EB = r->n_val < PREDICT_CHUNK ? r->n_val : PREDICT_CHUNK; /* validation chunk */
    size_t rows_buf = r->B > EB ? r->B : EB, row_floats = 0;
    for (size_t i = 0; i < m->n_inputs; i++) row_floats += m->nodes[m->inputs[i]].dim;
    r->xb_block = lf_alloc_array(rows_buf, row_floats * sizeof(float));
    r->tb = lf_alloc_array(rows_buf * r->tc, sizeof(float));
    r->wb = lf_alloc_array(r->B, sizeof(float));
    r->xb = lf_alloc_array(m->n_inputs, sizeof(float *));
    int idx_ok = lf_ids_alloc(&r->idx, r->n_train, r->n_train - 1) == 0;
    r->bidx = lf_alloc_array(rows_buf, sizeof(size_t));
    r->next = lf_alloc_array(rows_buf, sizeof(size_t));
    int keep_best = o->patience && o->restore_best_weights;
    r->best = keep_best ? lf_alloc_array(m->n_params, sizeof(float)) : NULL;
    r->ema = m->opt.use_ema ? lf_alloc_array(m->n_params, sizeof(float)) : NULL;
    double *hist = LF_REALLOC(m->hist, 4 * o->epochs * sizeof(double));
    if (hist) m->hist = hist;
    int eval_ok = !r->n_val || lf_ws_init(&r->eval_ws, m, EB, 0, NULL, 0) == LF_OK;
    if (m->train_ws.batch < r->B || !m->train_ws.with_grads || m->train_ws.n_nodes != m->n_nodes) {
        lf_ws_free(&m->train_ws);
        if (lf_ws_init(&m->train_ws, m, r->B, 1, NULL, 0) != LF_OK) eval_ok = 0;
    }
    if (!r->xb_block || !r->tb || !r->wb || !r->xb || !idx_ok || !r->bidx || !r->next || !hist || !eval_ok ||
        (keep_best && !r->best) || (m->opt.use_ema && !r->ema)) {
        fit_run_free(r);
        return lf_model_fail(m, LF_ERR_NOMEM, "fit: out of memory for the training buffers");
    }
    float *p = r->xb_block;
    for (size_t i = 0; i < m->n_inputs; i++) r->xb[i] = p, p += rows_buf * m->nodes[m->inputs[i]].dim;
    for (size_t i = 0; i < r->n_train; i++) lf_ids_set(r->idx, i, i);
    if (r->ema) memcpy(r->ema, m->params, m->n_params * sizeof(float));
    memset(m->grads, 0, m->n_params * sizeof *m->grads); /* each step leaves them zero */
    lf_rng_seed(&r->rng, o->seed);
    m->history = (lf_history){0, m->hist, m->hist + o->epochs, m->hist + 2 * o->epochs,
                              m->hist + 3 * o->epochs, 0, 0};
    r->weighted = o->sample_weight || o->class_weight;
    r->steps = (r->n_train + r->B - 1) / r->B;
    r->has_acc = lf_loss_has_accuracy(m->loss);
    r->acc_per_row = m->loss == LF_LOSS_BINARY_CROSSENTROPY ? r->D : 1;
    memset(&r->pr, 0, sizeof r->pr);
    r->pr.epochs = o->epochs;
    return LF_OK;
}

/* Step s of the epoch: gather its rows (prefetching the next step's),
 * weight them, forward + backward, the optimizer step and the weights'
 * moving average.  Adds the weighted loss sum, the L2 penalty sum and the
 * correct count; returns the step's number of rows. */
static size_t fit_step(fit_run *r, size_t s, double *lsum, double *pen_sum, size_t *correct) {
    lf_model *m = r->m;
    const lf_fit_options *o = r->o;
    const lf_row_source *src = r->src;
    size_t B = r->B, n_train = r->n_train, r0 = s * B, nb = n_train - r0 < B ? n_train - r0 : B;
    if (s == 0 || !src->prefetch) {
        for (size_t i = 0; i < nb; i++) r->bidx[i] = (size_t)lf_ids_get(r->idx, r0 + i);
    } else {
        size_t *t = r->bidx;
        r->bidx = r->next, r->next = t;
    }
    src->gather(src->ctx, r->bidx, nb, r->xb, r->tb);
    if (src->prefetch && s + 1 < r->steps) {
        size_t r1 = r0 + nb, n1 = n_train - r1 < B ? n_train - r1 : B;
        for (size_t i = 0; i < n1; i++) r->next[i] = (size_t)lf_ids_get(r->idx, r1 + i);
        src->prefetch(src->ctx, r->next, n1);
    }
    for (size_t i = 0; r->weighted && i < nb; i++) {
        float w = o->sample_weight ? o->sample_weight[r->bidx[i]] : 1.0f;
        if (o->class_weight) w *= o->class_weight[target_class(m, r->tb + i * r->tc, r->D)];
        r->wb[i] = w;
    }
    *lsum += train_batch(m, &m->train_ws, (const float *const *)r->xb, r->tb, r->weighted ? r->wb : NULL, nb, 1,
                         &r->rng, 0, correct);
    *pen_sum += lf_l2_penalty(m, m->grads) * (double)nb;
    m->step++;
    lf_optim_step(&m->opt, m->params, m->grads, m->m1, m->m2, m->n_params, m->step);
    if (r->ema) lf_ema_update(r->ema, m->params, m->n_params, m->step == 1 ? 0.0f : m->opt.ema_momentum);
    return nb;
}

/* Epoch e: shuffle, every step (with its progress), then the validation
 * metrics; writes the epoch's history entry.  The loss through *loss_out,
 * the validation loss through *vloss_out (NaN without validation rows). */
static void fit_epoch(fit_run *r, size_t e, double *loss_out, double *vloss_out) {
    lf_model *m = r->m;
    const lf_fit_options *o = r->o;
    size_t n_train = r->n_train, steps = r->steps;
    double t0 = now_s(), last_draw = 0, lsum = 0, pen_sum = 0;
    size_t correct = 0;
    r->pr.epoch = e + 1, r->pr.steps = steps;
    if (o->progress) report(o, &r->pr, LF_PROGRESS_EPOCH_BEGIN);
    if (o->shuffle) lf_ids_shuffle(r->idx, n_train, &r->rng);
    for (size_t s = 0, seen = 0; s < steps; s++) {
        seen += fit_step(r, s, &lsum, &pen_sum, &correct);
        if (o->progress && (now_s() - last_draw > 0.1 || s + 1 == steps)) {
            last_draw = now_s();
            r->pr.step = s + 1, r->pr.seconds = last_draw - t0;
            r->pr.loss = (lsum + pen_sum) / (double)seen;
            r->pr.accuracy = r->has_acc ? (double)correct / (double)(seen * r->acc_per_row) : NAN;
            r->pr.val_loss = r->pr.val_accuracy = NAN;
            report(o, &r->pr, LF_PROGRESS_STEP);
        }
    }
    double loss = (lsum + pen_sum) / (double)n_train;
    double acc = r->has_acc ? (double)correct / (double)(n_train * r->acc_per_row) : NAN;
    double vloss = NAN, vacc = NAN;
    if (r->n_val) {
        size_t vc = 0;
        vloss = eval_source(r, &vc) / (double)r->n_val + lf_l2_penalty(m, NULL);
        vacc = r->has_acc ? (double)vc / (double)(r->n_val * r->acc_per_row) : NAN;
    }
    m->hist[e] = loss, m->hist[o->epochs + e] = vloss;
    m->hist[2 * o->epochs + e] = acc, m->hist[3 * o->epochs + e] = vacc;
    m->history.epochs = e + 1;
    if (o->progress) {
        r->pr.step = steps, r->pr.seconds = now_s() - t0;
        r->pr.loss = loss, r->pr.accuracy = acc, r->pr.val_loss = vloss, r->pr.val_accuracy = vacc;
        report(o, &r->pr, LF_PROGRESS_EPOCH_END);
    }
    *loss_out = loss, *vloss_out = vloss;
}

/* The training loop over a row source: rows [0, n_train) train; the
 * validation rows are [vfirst, vfirst + n_val) of vsrc (none if n_val = 0).
 * Options are checked by the callers; sample weights index source rows.
 * Allocation, then the epochs with divergence and early stopping, then the
 * weights' moving average put in place. */
static lf_status fit_core(lf_model *m, const lf_row_source *src, size_t n_train,
                          const lf_row_source *vsrc, size_t vfirst, size_t n_val,
                          const lf_fit_options *o) {
    fit_run r;
    memset(&r, 0, sizeof r);
    r.m = m, r.o = o, r.src = src, r.vsrc = vsrc, r.n_train = n_train, r.vfirst = vfirst, r.n_val = n_val;
    lf_status st = fit_alloc(&r);
    if (st != LF_OK) return st;
    size_t wait = 0;
    double best = INFINITY;
    for (size_t e = 0; e < o->epochs; e++) {
        double loss, vloss;
        fit_epoch(&r, e, &loss, &vloss);
        if (!isfinite(loss) || (n_val && !isfinite(vloss))) {
            st = lf_model_fail(m, LF_ERR_NUMERIC,
                               "fit: training diverged at epoch %zu (the loss is not finite); "
                               "try a smaller learning rate", e + 1);
            break;
        }
        double monitor = n_val ? vloss : loss;
        if (monitor < best - o->min_delta) {
            best = monitor;
            m->history.best_epoch = e;
            wait = 0;
            if (r.best) memcpy(r.best, m->params, m->n_params * sizeof(float));
        } else if (o->patience && ++wait >= o->patience) {
            m->history.stopped_early = 1;
            if (r.best) memcpy(m->params, r.best, m->n_params * sizeof(float));
            if (o->progress) {
                r.pr.best_epoch = m->history.best_epoch + 1, r.pr.restored = r.best != NULL;
                report(o, &r.pr, LF_PROGRESS_EARLY_STOP);
            }
            break;
        }
    }
    if (r.ema && st == LF_OK) memcpy(m->params, r.ema, m->n_params * sizeof(float));
    fit_run_free(&r);
    return st;
}

/* checks shared by both entries */
static lf_status check_options(lf_model *m, size_t n, const lf_fit_options *o) {
    lf_status st = check_ready(m, "fit");
    if (st != LF_OK) return st;
    if (n == 0) return lf_model_fail(m, LF_ERR_ARG, "fit: no training rows");
    if (o->batch_size == 0) return lf_model_fail(m, LF_ERR_ARG, "fit: batch_size must be at least 1");
    if (o->epochs == 0 || o->epochs > ((size_t)1 << 32))
        return lf_model_fail(m, LF_ERR_ARG, "fit: epochs must be in 1..2^32");
    if (!(o->validation_split >= 0.0f && o->validation_split < 1.0f))
        return lf_model_fail(m, LF_ERR_ARG, "fit: validation_split must be in [0, 1), got %g",
                             (double)o->validation_split);
    size_t D = m->nodes[m->output].dim;
    if (o->class_weight) {
        if (!lf_loss_has_accuracy(m->loss))
            return lf_model_fail(m, LF_ERR_ARG, "fit: class weights need a classification loss");
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

/* rows left for training by a validation split (n_val through *n_val) */
static lf_status split_rows(lf_model *m, size_t n, float split, size_t *n_val) {
    *n_val = 0;
    if (split <= 0.0f) return LF_OK;
    size_t n_train = (size_t)((double)n * (1.0 - (double)split));
    if (n_train == 0 || n_train == n)
        return lf_model_fail(m, LF_ERR_ARG,
                             "fit: validation_split %g of %zu rows leaves an empty training or validation set",
                             (double)split, n);
    *n_val = n - n_train;
    return LF_OK;
}

lf_status lf_model_fit(lf_model *m, const float *const *x, const float *y, size_t n,
                       const lf_fit_options *options) {
    if (!m) return LF_ERR_ARG;
    lf_fit_options o = options ? *options : lf_fit_defaults();
    lf_status st = check_options(m, n, &o);
    if (st != LF_OK) return st;
    if ((st = check_inputs(m, x, n, "fit")) != LF_OK) return st;
    if ((st = check_targets(m, y, n, "fit")) != LF_OK) return st;
    size_t D = m->nodes[m->output].dim, tc = lf_loss_target_cols(m->loss, D);
    if (o.sample_weight)
        for (size_t r = 0; r < n; r++)
            if (!(o.sample_weight[r] >= 0.0f) || !isfinite(o.sample_weight[r]))
                return lf_model_fail(m, LF_ERR_ARG, "fit: sample weight %g at row %zu must be finite and >= 0",
                                     (double)o.sample_weight[r], r);
    array_rows train = {m, x, y, tc}, val = {m, o.val_x, o.val_y, tc};
    /* prefetching pays only where the rows are not in the caches anyway */
    size_t row_bytes = tc * sizeof(float);
    for (size_t i = 0; i < m->n_inputs; i++) row_bytes += m->nodes[m->inputs[i]].dim * sizeof(float);
    int big = (double)n * (double)row_bytes > 16e6;
    lf_row_source src = {n, gather_arrays, &train, big ? prefetch_arrays : NULL},
                  vsrc = {o.val_n, gather_arrays, &val, NULL};
    if (o.val_x) {
        /* explicit validation data */
        if (o.val_n == 0 || !o.val_y)
            return lf_model_fail(m, LF_ERR_ARG, "fit: validation data need val_y and val_n > 0");
        if ((st = check_inputs(m, o.val_x, o.val_n, "fit (validation data)")) != LF_OK) return st;
        if ((st = check_targets(m, o.val_y, o.val_n, "fit (validation data)")) != LF_OK) return st;
        return fit_core(m, &src, n, &vsrc, 0, o.val_n, &o);
    }
    /* or the last fraction of the rows, as Keras */
    size_t n_val;
    if ((st = split_rows(m, n, o.validation_split, &n_val)) != LF_OK) return st;
    return fit_core(m, &src, n - n_val, &src, n - n_val, n_val, &o);
}

lf_status lf_model_fit_source(lf_model *m, const lf_row_source *src, const lf_fit_options *options) {
    if (!m) return LF_ERR_ARG;
    if (!src || !src->gather) return lf_model_fail(m, LF_ERR_ARG, "fit: no row source");
    lf_fit_options o = options ? *options : lf_fit_defaults();
    lf_status st = check_options(m, src->n, &o);
    if (st != LF_OK) return st;
    if (o.sample_weight || o.val_x)
        return lf_model_fail(m, LF_ERR_ARG, "fit: a row source takes neither sample weights nor validation arrays");
    size_t n_val;
    if ((st = split_rows(m, src->n, o.validation_split, &n_val)) != LF_OK) return st;
    return fit_core(m, src, src->n - n_val, src, src->n - n_val, n_val, &o);
}

/* testing.h's hook for the golden tests */
lf_status lf__forward_nodes(const lf_model *m, const float *const *x, size_t n, float **out) {
    if (!m || !m->compiled || n == 0) return LF_ERR_STATE;
    lf_ws ws;
    if (lf_ws_init(&ws, m, n, 0, NULL, 0) != LF_OK) return LF_ERR_NOMEM;
    lf_graph_forward(m, &ws, x, n, 0, NULL);
    for (size_t id = 0; id < m->n_nodes; id++)
        if (out[id] && m->nodes[id].needed)
            memcpy(out[id], ws.out[id], n * m->nodes[id].dim * sizeof(float));
    lf_ws_free(&ws);
    return LF_OK;
}
