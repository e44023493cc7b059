/*
 * learned.c — the fusion methods trained with the engine.  Each is a small
 * network over M inputs p0..p{M-1} (one model's C outputs each, 0 where the
 * model is missing) and a `mask` input (M values: 1 present, 0 missing):
 *
 *   wavg        WeightedAverage(p, mask)                       (the seed)
 *   wavg-class  ClassWeightedAverage(p, mask), renormalised
 *   loglinear   softmax(WeightedAverage(log p, mask))  (weighted product rule)
 *   stack-lr    softmax(mean_k log p_k + Dense(C)(Concatenate(log p, mask))):
 *               the product rule (the mean over the present models, a frozen
 *               WeightedAverage with equal weights) plus a linear correction
 *               that starts at 0 and is L2-penalised towards it
 *   mlp         Concatenate(p, mask) -> Dense(128, relu) -> Dropout(0.2)
 *               -> Dense(C, softmax)                        (the question's head)
 *   gate        GatedAverage(p, gate, mask), gate = Dense(M, no bias)(Dense(32,
 *               relu)(Concatenate(p, mask))), both kernels L2-penalised
 *
 * All are trained with (sparse) categorical cross-entropy and Adam, and keep
 * the moving average of their weights (use_ema, momentum 1 - 10 / steps, at
 * most 0.999; on B5's stack-lr it halves the gap to the optimum).  To be
 * ready for a missing modality, training adds copies of rows with one
 * present model hidden (modality dropout) and the mask tells the network.
 * stack-lr's Adam steps are 0.003, not the pools' 0.01: it starts at the
 * product rule, near its optimum, and at 0.01 the steps' noise, not the
 * optimum, set its log-loss on a million rows (B5).
 *
 * Shrinkage (issue 14): a pool that learns freely on a few hundred rows
 * piles its weight on the most confident model and loses to the fixed
 * rule it generalises.  So stack-lr, wavg, wavg-class and gate carry an L2
 * penalty pulling them towards that rule (stack-lr's correction towards 0;
 * the pools' weight logits towards equal weights; gate's output kernel
 * towards a gate that depends on no input), chosen from a grid by an inner
 * 5-fold cross-validation on the fitting rows (choose_penalty): stack-lr by
 * log-loss, the pools by error with the one-standard-error rule (the
 * strongest within one standard error of the best).  The choice is kept in
 * f->penalty and the file.
 *
 * Each method is a record (method.h) whose params hold its training
 * settings and the function that builds its network; the state is the
 * trained network, saved under "net." with its architecture.  stack-lr
 * files written before the shrinkage (no "penalty") hold the plain logistic
 * regression, gate files its biased gate, both still loaded (the _v0
 * builds).
 */
#include "dist.h"
#include "fusion/cv.h"
#include "fusion/method.h"
#include "fusion/metrics.h"
#include "model.h"
#include "model_io.h"
#include "testing.h"
#include "vmath.h"

#include <math.h>
#include <string.h>

#define LOG_FLOOR 1e-7f
#define PREDICT_CHUNK 4096
#define CV_FOLDS 5
#define CV_MIN_ROWS 50     /* fewer: the strongest penalty, no CV */
#define CV_MAX_ROWS 20000  /* more: the weakest x CV_MAX_ROWS / rows, no CV */
#define CV_EPOCHS_MAX 20   /* the inner fits' epochs, at most */
#define LOG_TABLE_MAX ((size_t)16 << 20) /* values: more, the logs are taken batch by batch */
#define STR_(x) #x
#define STR(x) STR_(x)

const char *lf_learned_penalty_how(int by) {
    static const char *const how[] = {
        NULL, "chosen by " STR(CV_FOLDS) "-fold cross-validation on the fitting rows",
        "the strongest of its grid: fewer than " STR(CV_MIN_ROWS) " fitting rows, too few to cross-validate",
        "the weakest of its grid x " STR(CV_MAX_ROWS) " / rows: more than " STR(CV_MAX_ROWS) " fitting rows"};
    return by > LF_PENALTY_NONE && by <= LF_PENALTY_MANY_ROWS ? how[by] : NULL;
}

typedef int (*build_fn)(lf_model *net, const int *xs, size_t M, size_t C, float l2);

/* What a learned method's record carries (its params). */
typedef struct learned_params {
    float lr;
    size_t batch, epochs;
    int log_inputs;                  /* the network sees log max(p, 1e-7) */
    /* adds the layers after the inputs xs[0..M) and the mask xs[M], with
     * the L2 penalty l2 where the method has one; returns the output node
     * (or -1, the builder's error is sticky) */
    build_fn build;
    /* the penalties fit chooses among, strongest first (n_grid 0: none) */
    const float *grid;
    size_t n_grid;
    int by_log_loss;                 /* CV picks the lowest log-loss; 0: the
                                        one-standard-error rule on the error */
    /* the network of files written before the penalty was stored, and its
     * weight count (NULL: build with l2 = 0, the same weights) */
    build_fn build_v0;
    size_t (*n_params_v0)(size_t M, size_t C, size_t N);
} learned_params;

static const learned_params *params_of(const lf_fusion *f) { return f->def->params; }

static lf_status build(lf_model *net, build_fn fn, const learned_params *lp, size_t M, size_t C, float l2);

lf_status lf_learned_build(lf_model *net, lf_method m, size_t M, size_t C, float l2) {
    const lf_method_def *d = lf_method_def_of(m);
    if (!d || d->family != LF_FAMILY_LEARNED) return LF_ERR_ARG;
    const learned_params *lp = d->params;
    return build(net, lp->build, lp, M, C, l2);
}

/* the penalty on a node, where there is one (no "l2" in the file at 0) */
static void penalise(lf_model *net, int node, float l2) {
    if (node >= 0 && l2 > 0) lf_set_l2(net, node, l2);
}

static int build_wavg(lf_model *net, const int *xs, size_t M, size_t C, float l2) {
    (void)C;
    int out = lf_weighted_average(net, M, xs, xs[M], "fuse");
    penalise(net, out, l2);
    return out;
}

static int build_loglinear(lf_model *net, const int *xs, size_t M, size_t C, float l2) {
    return lf_activation_layer(net, build_wavg(net, xs, M, C, l2), LF_ACT_SOFTMAX, "out");
}

static int build_wavg_class(lf_model *net, const int *xs, size_t M, size_t C, float l2) {
    (void)C;
    int out = lf_class_weighted_average(net, M, xs, xs[M], "fuse");
    penalise(net, out, l2);
    return out;
}

/* The product rule, softmax of the mean of the present models' log p (a
 * WeightedAverage frozen at equal weights, over the mask), plus a linear
 * correction from all the logs and the mask; build() zeroes the
 * correction, so training starts at the product rule. */
static int build_stack_lr(lf_model *net, const int *xs, size_t M, size_t C, float l2) {
    int mean = lf_weighted_average(net, M, xs, xs[M], "mean");
    if (mean >= 0) lf_set_trainable(net, mean, 0);
    int cat = lf_concatenate(net, M + 1, xs, "cat");
    int lin = lf_dense(net, cat, C, LF_ACT_LINEAR, 1, "correction");
    penalise(net, lin, l2);
    int sum = lf_add(net, 2, (const int[]){mean, lin}, "logits");
    return lf_activation_layer(net, sum, LF_ACT_SOFTMAX, "out");
}

/* stack-lr before the shrinkage: a plain logistic regression (files
 * without "penalty") */
static int build_stack_lr_v0(lf_model *net, const int *xs, size_t M, size_t C, float l2) {
    (void)l2;
    int cat = lf_concatenate(net, M + 1, xs, "cat");
    int out = lf_dense(net, cat, C, LF_ACT_SOFTMAX, 1, "out");
    if (out >= 0) lf_set_l2(net, out, 1e-4f);
    return out;
}

static int build_mlp(lf_model *net, const int *xs, size_t M, size_t C, float l2) {
    (void)l2;
    int cat = lf_concatenate(net, M + 1, xs, "cat");
    int h = lf_dense(net, cat, 128, LF_ACT_RELU, 1, "hidden");
    int d = lf_dropout(net, h, 0.2f, "dropout");
    return lf_dense(net, d, C, LF_ACT_SOFTMAX, 1, "out");
}

/* The gate's logits have no bias and both its kernels are penalised: a
 * penalty on the output kernel alone is undone by a larger hidden layer,
 * and a free bias learns wavg's collapse; with both the gate shrinks to
 * 0, the mean rule. */
static int build_gate(lf_model *net, const int *xs, size_t M, size_t C, float l2) {
    (void)C;
    int cat = lf_concatenate(net, M + 1, xs, "cat");
    int h = lf_dense(net, cat, 32, LF_ACT_RELU, 1, "gate_hidden");
    penalise(net, h, l2);
    int g = lf_dense(net, h, M, LF_ACT_LINEAR, 0, "gate");
    penalise(net, g, l2);
    return lf_gated_average(net, M, xs, g, xs[M], "fuse");
}

/* gate before the shrinkage (files without "penalty"): a bias on the
 * logits, no penalty */
static int build_gate_v0(lf_model *net, const int *xs, size_t M, size_t C, float l2) {
    (void)C, (void)l2;
    int cat = lf_concatenate(net, M + 1, xs, "cat");
    int h = lf_dense(net, cat, 32, LF_ACT_RELU, 1, "gate_hidden");
    int g = lf_dense(net, h, M, LF_ACT_LINEAR, 1, "gate");
    return lf_gated_average(net, M, xs, g, xs[M], "fuse");
}

/* zeroes weight idx of a layer (when it has it) */
static lf_status zero_weights(lf_model *net, const char *layer, size_t idx) {
    size_t shape[2], count;
    if (lf_layer_weight_shape(net, layer, idx, shape, &count) != LF_OK) return LF_OK;
    float *z = lf_alloc_array(count, sizeof *z);
    if (!z) return lf_model_fail(net, LF_ERR_NOMEM, "out of memory zeroing weight %zu of layer '%s'", idx, layer);
    memset(z, 0, count * sizeof *z);
    lf_status st = lf_set_weights(net, layer, idx, z, count);
    LF_FREE(z);
    return st;
}

/* The (compiled, untrained) network fn builds for M models of C classes:
 * inputs p0..p{M-1} (C each) and mask (M). */
static lf_status build(lf_model *net, build_fn fn, const learned_params *lp, size_t M, size_t C, float l2) {
    int *xs = lf_alloc_array(M + 1, sizeof *xs);
    if (!xs) return lf_model_fail(net, LF_ERR_NOMEM, "out of memory for the inputs' list");
    char name[32];
    for (size_t k = 0; k < M; k++) {
        snprintf(name, sizeof name, "p%zu", k);
        xs[k] = lf_input(net, C, name);
    }
    xs[M] = lf_input(net, M, "mask");
    int out = fn(net, xs, M, C, l2);
    LF_FREE(xs);
    lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
    opt.learning_rate = lp->lr;
    lf_status st = lf_model_compile(net, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &opt);
    /* the shrunk methods start at their fixed rule: stack-lr's correction,
     * the pools' weight logits and the gate's output kernel at 0 (each
     * call does nothing where the network has no such layer) */
    static const struct { const char *layer; size_t idx; } zero[] = {
        {"mean", 0}, {"correction", 0}, {"correction", 1}, {"fuse", 0}, {"gate", 0}};
    for (size_t i = 0; st == LF_OK && lp->n_grid && fn == lp->build && i < sizeof zero / sizeof zero[0]; i++)
        st = zero_weights(net, zero[i].layer, zero[i].idx);
    return st;
}

/* network inputs for rows: x[k] (n x C) and x[M] the mask (n x M).
 * hide: -1, or a model to treat as missing in every row (augmentation).
 * With log inputs this leaves max(p, LOG_FLOOR), and 1 for a missing
 * model, for take_logs to turn into log p and 0. */
static void fill_row(const lf_probs *pr, size_t r, float *const *x, size_t i, int log_inputs,
                     long hide) {
    size_t M = pr->M, C = pr->C;
    for (size_t k = 0; k < M; k++) {
        const float *src = pr->p[k] ? pr->p[k] + r * C : NULL;
        float *dst = x[k] + i * C;
        int present = src && !isnan(src[0]) && (long)k != hide;
        x[M][i * M + k] = present ? 1.0f : 0.0f;
        if (!present) {
            for (size_t c = 0; c < C; c++) dst[c] = log_inputs ? 1.0f : 0.0f;
        } else if (log_inputs) {
            for (size_t c = 0; c < C; c++) dst[c] = src[c] > LOG_FLOOR ? src[c] : LOG_FLOOR;
        } else {
            memcpy(dst, src, C * sizeof(float));
        }
    }
}

/* the logs of n rows fill_row left, in place, one vectorised pass per model */
static void take_logs(float *const *x, size_t M, size_t C, size_t n) {
    for (size_t k = 0; k < M; k++) lf_log_f(x[k], x[k], n * C);
}

static size_t present_count(const lf_probs *pr, size_t r) {
    size_t n = 0;
    for (size_t k = 0; k < pr->M; k++) n += pr->p[k] && !isnan(pr->p[k][r * pr->C]);
    return n;
}

/* The training rows, assembled batch by batch straight from the prepared
 * probabilities: code = row << shift | (hidden model + 1). */
typedef struct train_rows {
    const lf_probs *pr;
    const int *y;
    lf_ids code;
    unsigned shift;
    int log_inputs;
} train_rows;

/* The rows are scattered over the whole input: fetching all of a batch's
 * cache lines ahead of use makes their misses overlap (fit_core asks for
 * the next batch while the current one trains). */
static void prefetch_rows(void *ctx, const size_t *ids, size_t n) {
    const train_rows *tr = ctx;
    const lf_probs *pr = tr->pr;
    size_t row_bytes = pr->C * sizeof(float);
    for (size_t i = 0; i < n; i++) {
        size_t row = (size_t)(lf_ids_get(tr->code, ids[i]) >> tr->shift);
        for (size_t k = 0; k < pr->M; k++)
            if (pr->p[k]) {
                const char *a = (const char *)(pr->p[k] + row * pr->C);
                __builtin_prefetch(a, 0, 1);
                __builtin_prefetch(a + row_bytes - 1, 0, 1);
            }
        __builtin_prefetch(tr->y + row);
    }
}

static void gather_rows(void *ctx, const size_t *ids, size_t n, float *const *x, float *t) {
    const train_rows *tr = ctx;
    uint64_t low = ((uint64_t)1 << tr->shift) - 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t code = lf_ids_get(tr->code, ids[i]);
        size_t row = (size_t)(code >> tr->shift);
        fill_row(tr->pr, row, x, i, tr->log_inputs, (long)(code & low) - 1);
        t[i] = (float)tr->y[row];
    }
    if (tr->log_inputs) take_logs(x, tr->pr->M, tr->pr->C, n);
}

/* The weights kept are their moving average over about the last tenth of
 * the steps (Keras' use_ema): for these (mostly convex) problems far closer
 * to the optimum than the last, noisy, Adam iterate. */
static float ema_momentum(size_t n_train, const lf_fit_options *fo) {
    double steps = (double)fo->epochs * (double)((n_train + fo->batch_size - 1) / fo->batch_size);
    double mom = 1.0 - 10.0 / steps;
    return (float)(mom < 0.0 ? 0.0 : mom > 0.999 ? 0.999 : mom);
}

/* Marks row r as a validation row in the bitmap val. */
static void mark_row(unsigned char *val, size_t r) { val[r >> 3] |= (unsigned char)(1u << (r & 7)); }
static int marked(const unsigned char *val, size_t r) { return val[r >> 3] >> (r & 7) & 1; }

lf_status lf_learned_rows(const lf_probs *pr, float modality_dropout, uint64_t seed, unsigned shift, lf_ids code,
                          size_t *n_codes, size_t *n_val) {
    size_t M = pr->M, N = pr->N, C = pr->C, n = 0, R = 0;
    lf_rng rng;
    lf_rng_seed(&rng, seed ^ 0x6c66757365ull);
    *n_codes = *n_val = 0;
    for (size_t r = 0; r < N; r++) {
        size_t pc = present_count(pr, r);
        if (pc == 0) continue;
        lf_ids_set(code, n++, (uint64_t)r << shift), R++;
        if (pc >= 2 && modality_dropout > 0 && lf_rng_uniform(&rng) < modality_dropout) {
            size_t pick = (size_t)lf_rng_below(&rng, pc), seen = 0;
            for (size_t k = 0; k < M; k++)
                if (pr->p[k] && !isnan(pr->p[k][r * C]) && seen++ == pick) {
                    lf_ids_set(code, n++, ((uint64_t)r << shift) | (k + 1));
                    break;
                }
        }
    }
    lf_ids_shuffle(code, n, &rng);
    *n_codes = n;
    if (n < LEARNED_VAL_MIN) return LF_OK;
    /* the validation rows: the last of the rows by their originals' places
     * in the shuffled list, as many as lf_model_fit's split of R rows; then
     * their codes are moved to the end, both sides keeping their order (so
     * without copies the list is the plain shuffle's, split as before) */
    size_t want = R - (size_t)((double)R * (1.0 - (double)LEARNED_VAL_SPLIT)), got = 0, n_train = 0, v = 0;
    unsigned char *val = lf_alloc_array(N / 8 + 1, 1);
    if (!val) return LF_ERR_NOMEM;
    uint64_t low = ((uint64_t)1 << shift) - 1;
    for (size_t i = n; i-- > 0 && got < want;) {
        uint64_t c = lf_ids_get(code, i);
        if (!(c & low)) mark_row(val, (size_t)(c >> shift)), got++;
    }
    for (size_t i = 0; i < n; i++) v += marked(val, (size_t)(lf_ids_get(code, i) >> shift));
    uint64_t *held = lf_alloc_array(v, sizeof *held);
    if (!held) {
        LF_FREE(val);
        return LF_ERR_NOMEM;
    }
    for (size_t i = 0, h = 0; i < n; i++) {
        uint64_t c = lf_ids_get(code, i);
        if (marked(val, (size_t)(c >> shift))) held[h++] = c;
        else lf_ids_set(code, n_train++, c);
    }
    for (size_t h = 0; h < v; h++) lf_ids_set(code, n_train + h, held[h]);
    LF_FREE(held), LF_FREE(val);
    *n_val = v;
    return LF_OK;
}

/* Trains cfg's network with penalty l2 on prepared probabilities into
 * *out (set even on failure, for the caller to free; NULL when none was
 * made), on lf_learned_rows' list (a copy is only a code: nothing of the
 * data is duplicated).  max_epochs: 0, or a cap on the epochs (the inner
 * CV's fits).  Errors go to e, naming `name`.  Over MPI ranks
 * (opt->mpi_comm) every rank takes part in one agreement on failure
 * (lf_dist_agree): lf_model_fit_source's, or here when it failed before,
 * so that a rank that fails alone (out of memory) leaves none waiting. */
static lf_status train(lf_model **out, const learned_params *cfg, const char *name, const lf_probs *pr,
                       const int *y, const lf_fusion_options *opt, float l2, size_t max_epochs, lf_err *e) {
    size_t M = pr->M, N = pr->N, C = pr->C;
    *out = NULL;
    unsigned shift = 1;
    while (((uint64_t)1 << shift) <= M) shift++;
    if (N > (UINT64_MAX >> shift))
        return lf_dist_agree(opt->mpi_comm, lf_fail(e, LF_ERR_ARG, "too many rows (%zu) to train on", N), e);
    lf_ids code;
    /* without modality dropout every row is trained once: room for N only */
    size_t room = opt->modality_dropout > 0 ? 2 * N : N, n, n_val;
    if (room < N || lf_ids_alloc(&code, room, N ? ((uint64_t)(N - 1) << shift) | M : 0) != 0)
        return lf_dist_agree(opt->mpi_comm, lf_fail(e, LF_ERR_NOMEM, "out of memory"), e);
    if (lf_learned_rows(pr, opt->modality_dropout, opt->seed, shift, code, &n, &n_val) != LF_OK) {
        lf_ids_free(&code);
        return lf_dist_agree(opt->mpi_comm, lf_fail(e, LF_ERR_NOMEM, "out of memory"), e);
    }
    lf_status st = LF_OK;
    int fitted = 0; /* lf_model_fit_source called (over ranks: it agreed on failures) */
    if (n == 0) {
        st = lf_fail(e, LF_ERR_ARG, "no training row has any model present");
    } else {
        lf_model *net = NULL;
        st = lf_model_create(&net, opt->seed);
        *out = net;
        if (st == LF_OK) st = build(net, cfg->build, cfg, M, C, l2);
        if (st != LF_OK) {
            lf_fail(e, st, "building the %s network: %s", name, net ? lf_model_error(net) : "out of memory");
        } else {
            lf_fit_options fo = lf_fit_defaults();
            fo.batch_size = cfg->batch;
            fo.epochs = opt->epochs ? opt->epochs : cfg->epochs;
            /* keep large inputs to a similar number of steps */
            size_t cap = 400000 / n;
            if (!opt->epochs && fo.epochs > cap) fo.epochs = cap < 3 ? 3 : cap;
            if (max_epochs && fo.epochs > max_epochs) fo.epochs = max_epochs;
            fo.seed = opt->seed;
            fo.mpi_comm = opt->mpi_comm; /* NULL but in lf_fusion_fit_rows_dist */
            fo.progress = opt->progress, fo.progress_ctx = opt->progress_ctx;
            fo.cancel = opt->cancel; /* read before each step */
            /* early stopping on the held-out rows; the fit ends on the
             * weights' moving average (use_ema), not on the best epoch's raw
             * weights (restore_best_weights would put those back over it,
             * as Keras 3 does) */
            if (n_val) fo.patience = 8;
            net->opt.use_ema = 1;
            net->opt.ema_momentum = ema_momentum(n - n_val, &fo);
            train_rows tr = {pr, y, code, shift, cfg->log_inputs};
            lf_row_source src = {n, gather_rows, &tr, prefetch_rows, n_val};
            fitted = 1;
            st = lf_model_fit_source(net, &src, &fo);
            if (st != LF_OK) lf_fail(e, st, "training %s: %s", name, lf_model_error(net));
        }
    }
    lf_ids_free(&code);
    /* over ranks a failure before the data-parallel fit meets the other
     * ranks' first agreement in it (they would wait there for this one) */
    return fitted ? st : lf_dist_agree(opt->mpi_comm, st, e);
}

/* The fused probabilities of a trained network (N x C): each row
 * renormalised, uniform where no model is present.  *why (when why is not
 * NULL): on failure, what went wrong (the network's message, or "out of
 * memory" for this function's own arrays: the network's message may then
 * be a stale one). */
static lf_status predict_net(const lf_model *net, int log_inputs, const lf_probs *pr, float *out, const char **why) {
    size_t M = pr->M, N = pr->N, C = pr->C;
    size_t chunk = N < PREDICT_CHUNK ? N : PREDICT_CHUNK;
    float **x = lf_alloc_array(M + 1, sizeof *x);
    lf_status st = x ? LF_OK : LF_ERR_NOMEM;
    if (why) *why = "out of memory";
    for (size_t k = 0; st == LF_OK && k <= M; k++)
        if (!(x[k] = lf_alloc_array(chunk, (k < M ? C : M) * sizeof(float)))) st = LF_ERR_NOMEM;
    for (size_t r0 = 0; st == LF_OK && r0 < N; r0 += chunk) {
        size_t n = N - r0 < chunk ? N - r0 : chunk;
        for (size_t i = 0; i < n; i++) fill_row(pr, r0 + i, x, i, log_inputs, -1);
        if (log_inputs) take_logs(x, M, C, n);
        st = lf_model_predict((lf_model *)net, (const float *const *)x, n, out + r0 * C);
        if (st != LF_OK && why) *why = lf_model_error(net);
        for (size_t i = 0; st == LF_OK && i < n; i++) {
            float *row = out + (r0 + i) * C;
            int any = 0;
            for (size_t k = 0; k < M; k++) any |= x[M][i * M + k] > 0;
            double s = 0;
            for (size_t c = 0; c < C; c++) s += row[c];
            for (size_t c = 0; c < C; c++)
                row[c] = (any && s > 0) ? (float)(row[c] / s) : 1.0f / (float)C;
        }
    }
    if (x)
        for (size_t k = 0; k <= M; k++) LF_FREE(x[k]);
    LF_FREE(x);
    return st;
}

/* Scores cfg's grid by CV_FOLDS-fold stratified cross-validation on the
 * rows (folds from the fit's seed): per[g * K + k], penalty g's log-loss
 * and accuracy on fold k's rows (the other metrics left 0). */
static lf_status cv_scores(const learned_params *cfg, const char *name, const lf_probs *pr, const int *y,
                           const lf_fusion_options *opt, lf_metrics *per, lf_err *e) {
    size_t M = pr->M, N = pr->N, C = pr->C, K = CV_FOLDS;
    size_t *fold = lf_alloc_array(N, sizeof *fold), *tr = lf_alloc_array(N, sizeof *tr),
           *te = lf_alloc_array(N, sizeof *te);
    int *ytr = lf_alloc_array(2 * N, sizeof *ytr), *yte = ytr ? ytr + N : NULL;
    float *out = lf_alloc_array(N, C * sizeof *out);
    lf_status st = fold && tr && te && ytr && out ? LF_OK : lf_fail(e, LF_ERR_NOMEM, "out of memory");
    if (st == LF_OK) st = lf_stratified_kfold(y, N, C, K, opt->seed ^ 0x70656e616c7479ull, fold, e);
    lf_fusion_options o = *opt; /* the inner fits: on this process, silent */
    o.mpi_comm = NULL, o.progress = NULL, o.progress_ctx = NULL;
    /* over ranks the flag waits for the data-parallel fit's steps, where
     * the ranks agree on it: a rank stopped here alone would leave the
     * others waiting there */
    if (opt->mpi_comm) o.cancel = NULL;
    for (size_t k = 0; st == LF_OK && k < K; k++) {
        size_t ntr, nte;
        lf_probs ptr = {0}, pte = {0};
        st = lf_fold_split(fold, N, k, tr, &ntr, te, &nte, e);
        if (st == LF_OK) st = lf_probs_prepare(e, (const float *const *)pr->p, M, C, 0, NULL, tr, ntr, &ptr);
        if (st == LF_OK) st = lf_probs_prepare(e, (const float *const *)pr->p, M, C, 0, NULL, te, nte, &pte);
        for (size_t i = 0; st == LF_OK && i < ntr; i++) ytr[i] = y[tr[i]];
        for (size_t i = 0; st == LF_OK && i < nte; i++) yte[i] = y[te[i]];
        for (size_t g = 0; st == LF_OK && g < cfg->n_grid; g++) {
            lf_model *net;
            st = train(&net, cfg, name, &ptr, ytr, &o, cfg->grid[g], CV_EPOCHS_MAX, e);
            const char *why = NULL;
            if (st == LF_OK && (st = predict_net(net, cfg->log_inputs, &pte, out, &why)) != LF_OK)
                lf_fail(e, st, "cross-validating %s's penalty: %s", name, why);
            lf_model_free(net);
            lf_metrics *m = &per[g * K + k];
            if (st == LF_OK) st = lf_metrics_log_loss_accuracy(out, yte, nte, C, &m->log_loss, &m->accuracy, e);
        }
        lf_probs_free(&ptr), lf_probs_free(&pte);
    }
    LF_FREE(fold), LF_FREE(tr), LF_FREE(te), LF_FREE(ytr), LF_FREE(out);
    return st;
}

/* The penalty of cfg's grid for these rows (see the top of the file), and
 * how it was chosen. */
static lf_status choose_penalty(const learned_params *cfg, const char *name, const lf_probs *pr, const int *y,
                                const lf_fusion_options *opt, float *l2, int *by, lf_err *e) {
    size_t N = pr->N, K = CV_FOLDS, G = cfg->n_grid;
    if (N < CV_MIN_ROWS) {
        *l2 = cfg->grid[0], *by = LF_PENALTY_FEW_ROWS;
        return LF_OK;
    }
    if (N > CV_MAX_ROWS) {
        *l2 = (float)((double)cfg->grid[G - 1] * CV_MAX_ROWS / (double)N), *by = LF_PENALTY_MANY_ROWS;
        return LF_OK;
    }
    lf_metrics *per = lf_alloc_array(G * K, sizeof *per); /* per penalty and fold */
    lf_status st = per ? LF_OK : lf_fail(e, LF_ERR_NOMEM, "out of memory");
    if (st == LF_OK) memset(per, 0, G * K * sizeof *per), st = cv_scores(cfg, name, pr, y, opt, per, e);
    if (st == LF_OK) *l2 = cfg->grid[lf_penalty_pick(per, G, K, cfg->by_log_loss)], *by = LF_PENALTY_CV;
    LF_FREE(per);
    return st;
}

/* penalty g's mean loss over the K folds (the log-loss or the error) and
 * its standard error (the sample std / sqrt(K)) */
static double fold_mean(const lf_metrics *per, size_t g, size_t K, int by_log_loss, double *se) {
    lf_metrics mu, sd;
    lf_metrics_mean_std(per + g * K, K, &mu, &sd);
    *se = (by_log_loss ? sd.log_loss : sd.accuracy) / sqrt((double)K);
    return by_log_loss ? mu.log_loss : 1.0 - mu.accuracy;
}

size_t lf_penalty_pick(const lf_metrics *per, size_t G, size_t K, int by_log_loss) {
    size_t best = 0;
    double best_mean = 0, best_se = 0, se;
    for (size_t g = 0; g < G; g++) {
        double m = fold_mean(per, g, K, by_log_loss, &se);
        if (g == 0 || m < best_mean) best = g, best_mean = m, best_se = se; /* ties: the stronger */
    }
    if (by_log_loss) return best;
    /* the strongest within one standard error of the best */
    for (size_t g = 0; g < best; g++)
        if (!(fold_mean(per, g, K, 0, &se) > best_mean + best_se)) return g;
    return best;
}

/* The inputs of a log-input network taken once for the whole fit: per
 * model log max(p, LOG_FLOOR), missing rows NaN again afterwards.  Fed with
 * log_inputs off, a network then gets the very values fill_row and
 * take_logs make batch by batch, epoch after epoch, in every training of
 * the penalty's cross-validation: lf_log_f computes each element alone,
 * and a missing row, logged as 1 (a NaN would send its block to libm's
 * logf), is 0 both ways.  0 when it would hold more than LOG_TABLE_MAX
 * values (the logs are then taken per batch, as before). */
static int log_table(const lf_probs *pr, lf_probs *lg, lf_err *e, lf_status *st) {
    size_t M = pr->M, N = pr->N, C = pr->C, total;
    *st = LF_OK;
    if (!lf_mul_ok(N, C, &total) || !lf_mul_ok(total, M, &total) || total > LOG_TABLE_MAX) return 0;
    memset(lg, 0, sizeof *lg);
    lg->p = lf_alloc_array(M, sizeof *lg->p);
    lg->block = lf_alloc_array(total, sizeof(float));
    if (!lg->p || !lg->block) {
        lf_probs_free(lg);
        *st = lf_fail(e, LF_ERR_NOMEM, "out of memory");
        return 0;
    }
    lg->M = M, lg->N = N, lg->C = C;
    for (size_t k = 0; k < M; k++) {
        const float *p = pr->p[k];
        float *v = lg->p[k] = lg->block + k * N * C;
        for (size_t i = 0; i < N * C; i++) v[i] = isnan(p[i]) ? 1.0f : p[i] > LOG_FLOOR ? p[i] : LOG_FLOOR;
        lf_log_f(v, v, N * C);
        for (size_t r = 0; r < N; r++)
            if (isnan(p[r * C]))
                for (size_t c = 0; c < C; c++) v[r * C + c] = (float)NAN;
    }
    return 1;
}

lf_status lf__learned_inputs(const float *const *p, size_t M, size_t N, size_t C, long hide, int table,
                             size_t batch, float *const *x) {
    lf_err e;
    lf_probs pr, lg;
    lf_status st = lf_probs_prepare(&e, p, M, C, 0, NULL, NULL, N, &pr);
    if (st != LF_OK) return st;
    if (table) {
        if (log_table(&pr, &lg, &e, &st)) {
            for (size_t r = 0; r < N; r++) fill_row(&lg, r, x, r, 0, hide);
            lf_probs_free(&lg);
        } else if (st == LF_OK) {
            st = LF_ERR_ARG; /* too large for a table */
        }
    } else {
        float **xb = lf_alloc_array(M + 1, sizeof *xb);
        if (!xb) st = LF_ERR_NOMEM;
        for (size_t r0 = 0; st == LF_OK && r0 < N; r0 += batch) {
            size_t n = N - r0 < batch ? N - r0 : batch;
            for (size_t k = 0; k <= M; k++) xb[k] = x[k] + r0 * (k < M ? C : M);
            for (size_t i = 0; i < n; i++) fill_row(&pr, r0 + i, xb, i, 1, hide);
            take_logs(xb, M, C, n);
        }
        LF_FREE(xb);
    }
    lf_probs_free(&pr);
    return st;
}

static lf_status learned_fit(lf_fusion *f, const lf_probs *pr, const int *y,
                             const lf_fusion_options *opt) {
    learned_params cfg = *params_of(f);
    lf_probs lg;
    lf_status st = LF_OK;
    if (cfg.log_inputs && log_table(pr, &lg, &f->err, &st)) pr = &lg, cfg.log_inputs = 0; /* taken */
    if (st != LF_OK) return lf_dist_agree(opt->mpi_comm, st, &f->err); /* over ranks: as train's */
    float l2 = 0;
    int by = LF_PENALTY_NONE;
    if (cfg.n_grid) st = choose_penalty(&cfg, f->def->name, pr, y, opt, &l2, &by, &f->err);
    lf_model *net = NULL;
    if (st == LF_OK) st = train(&net, &cfg, f->def->name, pr, y, opt, l2, 0, &f->err);
    else st = lf_dist_agree(opt->mpi_comm, st, &f->err); /* over ranks: as train's */
    f->state = net;
    f->penalty = l2, f->penalty_by = by;
    if (pr == &lg) lf_probs_free(&lg);
    return st;
}

static lf_status learned_predict(const lf_fusion *f, const lf_probs *pr, float *out) {
    return predict_net(f->state, params_of(f)->log_inputs, pr, out, NULL);
}

/* --------------------------------------------------------- the file */

static void learned_save(const lf_fusion *f, lf_method_save *s) { s->net = f->state; }

/* The architecture JSON up to the optimizer's step count (which depends on
 * the training, not on the network), its length in *len; NULL when out of
 * memory. */
static const char *arch_upto_iterations(const lf_model *net, lf_buf *b, size_t *len) {
    lf_model_arch_json(net, b);
    if (b->failed || !b->data) return NULL;
    const char *it = strstr(b->data, "\"iterations\"");
    *len = it ? (size_t)(it - b->data) : b->len;
    return b->data;
}

static lf_status learned_load(lf_fusion *f, const lf_st_file *sf, const char *arch, lf_err *e) {
    const char *name = f->def->name;
    size_t M = f->M, C = f->C;
    if (!arch) return lf_fail(e, LF_ERR_FORMAT, "the metadata has no 'architecture' for the %s network", name);
    char esc[LF_MSG_STR];
    for (size_t i = 0; i < lf_st_count(sf); i++)
        if (strncmp(lf_st_at(sf, i)->name, "net.", 4) != 0)
            return lf_fail(e, LF_ERR_FORMAT, "unexpected tensor '%s'", lf_str_for_msg(esc, lf_st_at(sf, i)->name));
    lf_model *net = NULL;
    lf_status st = lf_model_create(&net, 0);
    f->state = net;
    if (st != LF_OK) return lf_fail(e, st, "out of memory");
    if ((st = lf_model_from_parts(net, arch, strlen(arch), sf, "net.", e)) != LF_OK) return st;
    /* the network must be exactly the one this method builds for M models
     * and C classes: its size and inputs first, so that settings that
     * declare a large model beside a small network build nothing large
     * (M <= 1024 and C <= 2^20 keep the counts below 2^51), then the whole
     * architecture */
    const learned_params *lp = f->def->params;
    int v0 = lp->build_v0 && f->penalty_by == LF_PENALTY_NONE; /* written before the penalty */
    size_t want = v0 ? lp->n_params_v0(M, C, 0) : f->def->n_params(M, C, 0);
    if (lf_model_num_params(net) != want)
        return lf_fail(e, LF_ERR_FORMAT, "the network has %zu weights, the %s method builds %zu for %zu models and %zu classes",
                       lf_model_num_params(net), name, want, M, C);
    int fits = lf_model_num_inputs(net) == M + 1 && lf_model_input_dim(net, M) == M &&
               lf_model_output_dim(net) == C;
    for (size_t k = 0; fits && k < M; k++) fits = lf_model_input_dim(net, k) == C;
    if (!fits)
        return lf_fail(e, LF_ERR_FORMAT, "the network is not the one the %s method builds for %zu models and %zu classes",
                       name, M, C);
    lf_model *ref;
    if ((st = lf_model_create(&ref, 0)) != LF_OK) return lf_fail(e, st, "out of memory");
    st = build(ref, v0 ? lp->build_v0 : lp->build, lp, M, C, f->penalty);
    lf_buf a, b;
    lf_buf_init(&a), lf_buf_init(&b);
    if (st == LF_OK) {
        /* the weight averaging's momentum depends on the training size,
         * and the learning rate changed between versions (stack-lr's 0.01
         * before 0.003): settings of the fit, not of the network */
        ref->opt.use_ema = net->opt.use_ema;
        ref->opt.ema_momentum = net->opt.ema_momentum;
        ref->opt.learning_rate = net->opt.learning_rate;
        size_t la, lb;
        const char *ja = arch_upto_iterations(ref, &a, &la), *jb = arch_upto_iterations(net, &b, &lb);
        if (!ja || !jb) st = lf_fail(e, LF_ERR_NOMEM, "out of memory");
        else if (la != lb || memcmp(ja, jb, la) != 0)
            st = lf_fail(e, LF_ERR_FORMAT, "the network is not the one the %s method builds for %zu models and %zu classes",
                         name, M, C);
    } else if (st == LF_ERR_NOMEM) {
        st = lf_fail(e, st, "out of memory building the %s network", name);
    } else {
        st = lf_fail(e, LF_ERR_FORMAT, "cannot build the %s network", name);
    }
    lf_buf_free(&a), lf_buf_free(&b);
    lf_model_free(ref);
    return st;
}

/* softmax over models of the "fuse" layer's weights: per class for
 * wavg-class */
static size_t learned_weights(const lf_fusion *f, float *out, size_t cap, size_t *rows, size_t *cols) {
    size_t r = f->M, c = f->def->id == LF_FUSE_WAVG_CLASS ? f->C : 1, n = r * c;
    if (out && cap >= n) {
        if (lf_get_weights(f->state, "fuse", 0, out, n) != LF_OK) return 0;
        for (size_t j = 0; j < c; j++) {
            float mx = -INFINITY;
            for (size_t k = 0; k < r; k++) mx = out[k * c + j] > mx ? out[k * c + j] : mx;
            double s = 0;
            for (size_t k = 0; k < r; k++) s += out[k * c + j] = expf(out[k * c + j] - mx);
            for (size_t k = 0; k < r; k++) out[k * c + j] = (float)(out[k * c + j] / s);
        }
    }
    if (rows) *rows = r;
    if (cols) *cols = c;
    return n;
}

static void free_net(void *state) { lf_model_free(state); }

/* the networks' weight counts (inputs: M x C outputs and the M-value mask) */
static size_t np_stack_lr_v0(size_t M, size_t C, size_t N) { return (void)N, (M * C + M) * C + C; }
static size_t np_stack_lr(size_t M, size_t C, size_t N) { return np_stack_lr_v0(M, C, N) + M; }
static size_t np_per_model(size_t M, size_t C, size_t N) { return (void)C, (void)N, M; }
static size_t np_per_class(size_t M, size_t C, size_t N) { return (void)N, M * C; }
static size_t np_mlp(size_t M, size_t C, size_t N) { return (void)N, (M * C + M) * 128 + 128 + 128 * C + C; }
static size_t np_gate(size_t M, size_t C, size_t N) { return (void)N, (M * C + M) * 32 + 32 + 32 * M; }
static size_t np_gate_v0(size_t M, size_t C, size_t N) { return np_gate(M, C, N) + M; }

/* the penalties' grids, strongest first */
static const float grid_stack_lr[] = {0.1f, 0.03f, 0.01f, 0.003f};
static const float grid_pool[] = {1.0f, 0.1f, 0.01f, 0.0f};
/* the gate's two kernels (32 hidden units) need a hundred times the pools'
 * penalty to come back to the mean rule: on mfeat's first split, penalty 1
 * left it at 3.7 % error, the mean rule's 2.8 %, penalty 100 at 2.7 % */
static const float grid_gate[] = {100.0f, 10.0f, 1.0f, 0.0f};
#define GRID(g) g, sizeof g / sizeof g[0]
#define NO_GRID NULL, 0

#define LEARNED(var, ID, NAME, SUMMARY, WEIGHTS, LR, BATCH, EPOCHS, LOGS, BUILD, NPARAMS, GRID_, BY_LL, V0, NP_V0) \
    static const learned_params var##_params = {LR, BATCH, EPOCHS, LOGS, BUILD, GRID_, BY_LL, V0, NP_V0}; \
    static const lf_method_def var = {.id = ID, .name = NAME, .family = LF_FAMILY_LEARNED,               \
                               .summary = SUMMARY, .fit = learned_fit, .predict = learned_predict, \
                               .save = learned_save, .load = learned_load, .weights = WEIGHTS,   \
                               .free_state = free_net, .n_params = NPARAMS,                     \
                               .params = &var##_params, .rule = -1}

LEARNED(stack_lr, LF_FUSE_STACK_LR, "stack-lr",
        "the product rule plus a multinomial logistic correction on log p and the mask, L2 by inner CV", NULL,
        0.003f, 64, 60, 1, build_stack_lr, np_stack_lr, GRID(grid_stack_lr), 1, build_stack_lr_v0, np_stack_lr_v0);
LEARNED(wavg, LF_FUSE_WAVG, "wavg", "the seed's WeightedAverage: one softmax weight per model, shrunk to equal",
        learned_weights, 0.01f, 64, 40, 0, build_wavg, np_per_model, GRID(grid_pool), 0, NULL, NULL);
LEARNED(wavg_class, LF_FUSE_WAVG_CLASS, "wavg-class",
        "ClassWeightedAverage: one softmax weight per model and class, shrunk to equal", learned_weights, 0.01f,
        64, 40, 0, build_wavg_class, np_per_class, GRID(grid_pool), 0, NULL, NULL);
LEARNED(loglinear, LF_FUSE_LOGLINEAR, "loglinear",
        "softmax-weighted sum of log p, renormalised (weighted product rule)", learned_weights, 0.01f, 64,
        40, 1, build_loglinear, np_per_model, NO_GRID, 0, NULL, NULL);
LEARNED(mlp, LF_FUSE_MLP, "mlp", "the question's head: Concatenate, Dense(128), Dropout, Dense",
        NULL, 1e-3f, 32, 60, 0, build_mlp, np_mlp, NO_GRID, 0, NULL, NULL);
LEARNED(gate, LF_FUSE_GATE, "gate", "per-sample softmax weights from a small network, shrunk to equal", NULL,
        3e-3f, 32, 60, 0, build_gate, np_gate, GRID(grid_gate), 0, build_gate_v0, np_gate_v0);

const lf_method_def *const lf_learned_methods[] = {&stack_lr, &wavg, &wavg_class, &loglinear, &mlp, &gate, NULL};

/* The engine's history of the network this process trained, else the
 * one its file kept (fusion_io.c; a network read from a file has run no
 * epoch). */
const lf_history *lf_fusion_history(const lf_fusion *f) {
    if (!f || !f->fitted || !f->def || f->def->family != LF_FAMILY_LEARNED || !f->state) return NULL;
    const lf_history *h = lf_model_history(f->state);
    if (h && h->epochs) return h;
    return f->history ? &f->history_view : NULL;
}
