/*
 * learned.c — the fusion methods trained with the engine.  Each is a small
 * network over M inputs p0..p{M-1} (one model's C outputs each, 0 where the
 * model is missing) and a `mask` input (M values: 1 present, 0 missing):
 *
 *   wavg        WeightedAverage(p, mask)                       (the seed)
 *   wavg-class  ClassWeightedAverage(p, mask), renormalised
 *   loglinear   softmax(WeightedAverage(log p, mask))  (weighted product rule)
 *   stack-lr    Dense(C, softmax, L2)(Concatenate(log p, mask))
 *   mlp         Concatenate(p, mask) -> Dense(128, relu) -> Dropout(0.2)
 *               -> Dense(C, softmax)                        (the question's head)
 *   gate        GatedAverage(p, gate, mask), gate = Dense(M)(Dense(32, relu)(
 *               Concatenate(p, mask)))
 *
 * All are trained with (sparse) categorical cross-entropy and Adam, and keep
 * the moving average of their weights (use_ema, momentum 1 - 10 / steps, at
 * most 0.999; on B5's stack-lr it halves the gap to the optimum).  To be
 * ready for a missing modality, training adds copies of rows with one
 * present model hidden (modality dropout) and the mask tells the network.
 *
 * Each method is a record (method.h) whose params hold its training
 * settings and the function that builds its network; the state is the
 * trained network, saved under "net." with its architecture.
 */
#include "fusion/method.h"
#include "model.h"
#include "model_io.h"
#include "vmath.h"

#include <math.h>
#include <string.h>

#define LOG_FLOOR 1e-7f
#define PREDICT_CHUNK 4096

/* What a learned method's record carries (its params). */
typedef struct learned_params {
    float lr;
    size_t batch, epochs;
    int log_inputs;                  /* the network sees log max(p, 1e-7) */
    /* adds the layers after the inputs xs[0..M) and the mask xs[M];
     * returns the output node (or -1, the builder's error is sticky) */
    int (*build)(lf_model *net, const int *xs, size_t M, size_t C);
} learned_params;

static const learned_params *params_of(const lf_fusion *f) { return f->def->params; }

static lf_status build(lf_model *net, const learned_params *lp, size_t M, size_t C);

lf_status lf_learned_build(lf_model *net, lf_method m, size_t M, size_t C) {
    const lf_method_def *d = lf_method_def_of(m);
    if (!d || d->family != LF_FAMILY_LEARNED) return LF_ERR_ARG;
    return build(net, d->params, M, C);
}

static int build_wavg(lf_model *net, const int *xs, size_t M, size_t C) {
    (void)C;
    return lf_weighted_average(net, M, xs, xs[M], "fuse");
}

static int build_loglinear(lf_model *net, const int *xs, size_t M, size_t C) {
    return lf_activation_layer(net, build_wavg(net, xs, M, C), LF_ACT_SOFTMAX, "out");
}

static int build_wavg_class(lf_model *net, const int *xs, size_t M, size_t C) {
    (void)C;
    return lf_class_weighted_average(net, M, xs, xs[M], "fuse");
}

static int build_stack_lr(lf_model *net, const int *xs, size_t M, size_t C) {
    int cat = lf_concatenate(net, M + 1, xs, "cat");
    int out = lf_dense(net, cat, C, LF_ACT_SOFTMAX, 1, "out");
    if (out >= 0) lf_set_l2(net, out, 1e-4f);
    return out;
}

static int build_mlp(lf_model *net, const int *xs, size_t M, size_t C) {
    int cat = lf_concatenate(net, M + 1, xs, "cat");
    int h = lf_dense(net, cat, 128, LF_ACT_RELU, 1, "hidden");
    int d = lf_dropout(net, h, 0.2f, "dropout");
    return lf_dense(net, d, C, LF_ACT_SOFTMAX, 1, "out");
}

static int build_gate(lf_model *net, const int *xs, size_t M, size_t C) {
    (void)C;
    int cat = lf_concatenate(net, M + 1, xs, "cat");
    int h = lf_dense(net, cat, 32, LF_ACT_RELU, 1, "gate_hidden");
    int g = lf_dense(net, h, M, LF_ACT_LINEAR, 1, "gate");
    return lf_gated_average(net, M, xs, g, xs[M], "fuse");
}

/* The (compiled, untrained) network of a learned method for M models of C
 * classes: inputs p0..p{M-1} (C each) and mask (M). */
static lf_status build(lf_model *net, const learned_params *lp, size_t M, size_t C) {
    int *xs = lf_alloc_array(M + 1, sizeof *xs);
    if (!xs) return LF_ERR_NOMEM;
    char name[32];
    for (size_t k = 0; k < M; k++) {
        snprintf(name, sizeof name, "p%zu", k);
        xs[k] = lf_input(net, C, name);
    }
    xs[M] = lf_input(net, M, "mask");
    int out = lp->build(net, xs, M, C);
    LF_FREE(xs);
    lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
    opt.learning_rate = lp->lr;
    return lf_model_compile(net, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &opt);
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
static float ema_momentum(size_t n, const lf_fit_options *fo) {
    size_t n_train = (size_t)((double)n * (1.0 - (double)fo->validation_split));
    double steps = (double)fo->epochs * (double)((n_train + fo->batch_size - 1) / fo->batch_size);
    double mom = 1.0 - 10.0 / steps;
    return (float)(mom < 0.0 ? 0.0 : mom > 0.999 ? 0.999 : mom);
}

static lf_status learned_fit(lf_fusion *f, const lf_probs *pr, const int *y,
                             const lf_fusion_options *opt) {
    size_t M = pr->M, N = pr->N, C = pr->C;
    const learned_params *cfg = params_of(f);
    lf_rng rng;
    lf_rng_seed(&rng, opt->seed ^ 0x6c66757365ull);

    /* training rows: every row with a model present, in random order, plus
     * modality-dropout copies of rows with two or more present (a copy is
     * only a code: nothing of the data is duplicated) */
    unsigned shift = 1;
    while (((uint64_t)1 << shift) <= M) shift++;
    if (N > (UINT64_MAX >> shift))
        return lf_fail(&f->err, LF_ERR_ARG, "too many rows (%zu) to train on", N);
    lf_ids code;
    /* without modality dropout every row is trained once: room for N only */
    size_t room = opt->modality_dropout > 0 ? 2 * N : N;
    if (room < N || lf_ids_alloc(&code, room, N ? ((uint64_t)(N - 1) << shift) | M : 0) != 0)
        return lf_fail(&f->err, LF_ERR_NOMEM, "out of memory");
    size_t n = 0;
    for (size_t r = 0; r < N; r++) {
        size_t pc = present_count(pr, r);
        if (pc == 0) continue;
        lf_ids_set(code, n++, (uint64_t)r << shift);
        if (pc >= 2 && opt->modality_dropout > 0 && lf_rng_uniform(&rng) < opt->modality_dropout) {
            size_t pick = (size_t)lf_rng_below(&rng, pc), seen = 0;
            for (size_t k = 0; k < M; k++)
                if (pr->p[k] && !isnan(pr->p[k][r * C]) && seen++ == pick) {
                    lf_ids_set(code, n++, ((uint64_t)r << shift) | (k + 1));
                    break;
                }
        }
    }
    lf_ids_shuffle(code, n, &rng); /* the validation split is random */
    lf_status st = LF_OK;
    if (n == 0) {
        st = lf_fail(&f->err, LF_ERR_ARG, "no training row has any model present");
    } else {
        lf_model *net = NULL;
        st = lf_model_create(&net, opt->seed);
        f->state = net;
        if (st == LF_OK) st = build(net, cfg, M, C);
        if (st != LF_OK) {
            lf_fail(&f->err, st, "building the %s network: %s", f->def->name,
                    net ? lf_model_error(net) : "out of memory");
        } else {
            lf_fit_options fo = lf_fit_defaults();
            fo.batch_size = cfg->batch;
            fo.epochs = opt->epochs ? opt->epochs : cfg->epochs;
            /* keep large inputs to a similar number of steps */
            size_t cap = 400000 / n;
            if (!opt->epochs && fo.epochs > cap) fo.epochs = cap < 3 ? 3 : cap;
            fo.seed = opt->seed;
            fo.mpi_comm = opt->mpi_comm; /* NULL but in lf_fusion_fit_rows_dist */
            fo.progress = opt->progress, fo.progress_ctx = opt->progress_ctx;
            if (n >= 100) {
                fo.validation_split = 0.1f;
                fo.patience = 8;
                fo.restore_best_weights = 1;
            }
            net->opt.use_ema = 1;
            net->opt.ema_momentum = ema_momentum(n, &fo);
            train_rows tr = {pr, y, code, shift, cfg->log_inputs};
            lf_row_source src = {n, gather_rows, &tr, prefetch_rows};
            st = lf_model_fit_source(net, &src, &fo);
            if (st != LF_OK) lf_fail(&f->err, st, "training %s: %s", f->def->name, lf_model_error(net));
        }
    }
    lf_ids_free(&code);
    return st;
}

static lf_status learned_predict(const lf_fusion *f, const lf_probs *pr, float *out) {
    size_t M = pr->M, N = pr->N, C = pr->C;
    size_t chunk = N < PREDICT_CHUNK ? N : PREDICT_CHUNK;
    int log_inputs = params_of(f)->log_inputs;
    float **x = lf_alloc_array(M + 1, sizeof *x);
    lf_status st = x ? LF_OK : LF_ERR_NOMEM;
    for (size_t k = 0; st == LF_OK && k <= M; k++)
        if (!(x[k] = lf_alloc_array(chunk, (k < M ? C : M) * sizeof(float)))) st = LF_ERR_NOMEM;
    for (size_t r0 = 0; st == LF_OK && r0 < N; r0 += chunk) {
        size_t n = N - r0 < chunk ? N - r0 : chunk;
        for (size_t i = 0; i < n; i++) fill_row(pr, r0 + i, x, i, log_inputs, -1);
        if (log_inputs) take_logs(x, M, C, n);
        st = lf_model_predict(f->state, (const float *const *)x, n, out + r0 * C);
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
    size_t want = f->def->n_params(M, C, 0);
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
    st = build(ref, f->def->params, M, C);
    lf_buf a, b;
    lf_buf_init(&a), lf_buf_init(&b);
    if (st == LF_OK) {
        /* the weight averaging's momentum depends on the training size: a
         * setting of the fit, not of the network */
        ref->opt.use_ema = net->opt.use_ema;
        ref->opt.ema_momentum = net->opt.ema_momentum;
        size_t la, lb;
        const char *ja = arch_upto_iterations(ref, &a, &la), *jb = arch_upto_iterations(net, &b, &lb);
        if (!ja || !jb) st = lf_fail(e, LF_ERR_NOMEM, "out of memory");
        else if (la != lb || memcmp(ja, jb, la) != 0)
            st = lf_fail(e, LF_ERR_FORMAT, "the network is not the one the %s method builds for %zu models and %zu classes",
                         name, M, C);
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
static size_t np_stack_lr(size_t M, size_t C, size_t N) { return (void)N, (M * C + M) * C + C; }
static size_t np_per_model(size_t M, size_t C, size_t N) { return (void)C, (void)N, M; }
static size_t np_per_class(size_t M, size_t C, size_t N) { return (void)N, M * C; }
static size_t np_mlp(size_t M, size_t C, size_t N) { return (void)N, (M * C + M) * 128 + 128 + 128 * C + C; }
static size_t np_gate(size_t M, size_t C, size_t N) { return (void)N, (M * C + M) * 32 + 32 + 32 * M + M; }

#define LEARNED(var, ID, NAME, SUMMARY, WEIGHTS, LR, BATCH, EPOCHS, LOGS, BUILD, NPARAMS)           \
    static const learned_params var##_params = {LR, BATCH, EPOCHS, LOGS, BUILD};                 \
    static const lf_method_def var = {.id = ID, .name = NAME, .family = LF_FAMILY_LEARNED,               \
                               .summary = SUMMARY, .fit = learned_fit, .predict = learned_predict, \
                               .save = learned_save, .load = learned_load, .weights = WEIGHTS,   \
                               .free_state = free_net, .n_params = NPARAMS,                     \
                               .params = &var##_params, .rule = -1}

LEARNED(stack_lr, LF_FUSE_STACK_LR, "stack-lr",
        "multinomial logistic regression on log p and the mask, L2", NULL, 0.01f, 64, 60, 1, build_stack_lr,
        np_stack_lr);
LEARNED(wavg, LF_FUSE_WAVG, "wavg", "the seed's WeightedAverage: one softmax weight per model",
        learned_weights, 0.01f, 64, 40, 0, build_wavg, np_per_model);
LEARNED(wavg_class, LF_FUSE_WAVG_CLASS, "wavg-class",
        "ClassWeightedAverage: one softmax weight per model and class", learned_weights, 0.01f, 64, 40, 0,
        build_wavg_class, np_per_class);
LEARNED(loglinear, LF_FUSE_LOGLINEAR, "loglinear",
        "softmax-weighted sum of log p, renormalised (weighted product rule)", learned_weights, 0.01f, 64,
        40, 1, build_loglinear, np_per_model);
LEARNED(mlp, LF_FUSE_MLP, "mlp", "the question's head: Concatenate, Dense(128), Dropout, Dense",
        NULL, 1e-3f, 32, 60, 0, build_mlp, np_mlp);
LEARNED(gate, LF_FUSE_GATE, "gate", "per-sample softmax weights from a small network", NULL,
        3e-3f, 32, 60, 0, build_gate, np_gate);

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
