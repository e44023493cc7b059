/*
 * make_model_seeds.c — writes the real latefuse model files of the seed
 * corpus with the public API (lf_model_save), so that the model fuzzer
 * starts from files the library itself produces.  Run by
 * fuzz/make_corpus.sh; the outputs are committed under fuzz/corpus/.
 *
 *   make_model_seeds OUTDIR
 * writes OUTDIR/ok_seed.lfm (the WeightedAverage network, small),
 * OUTDIR/ok_seed_adam.lfm (the same with the optimizer state),
 * OUTDIR/ok_zoo.lfm (every layer type and activation),
 * OUTDIR/ok_uncompiled.lfm (a graph saved before compile), and
 * OUTDIR/ok_cnn.lfm (every image layer, format version 2: shapes) and
 * OUTDIR/ok_seq.lfm (every sequence layer, the padding mask) and
 * OUTDIR/ok_attention.lfm (MultiHeadAttention: self-attention with the
 * padding mask and dropout, cross-attention with a key, no bias),
 * OUTDIR/ok_opt_<kind>.lfm (the seed network fitted two steps with each
 * optimizer kind, amsgrad / centered on, and a learning-rate schedule of
 * each kind, saved with the optimizer state) and OUTDIR/ok_extras.lfm
 * (CategoryEncoding of each output_mode, LSTM / GRU / SimpleRNN /
 * Bidirectional with dropout and recurrent_dropout, RandomZoom with two
 * ranges and with one), OUTDIR/ok_lookup.lfm (a StringLookup with a mask
 * and UTF-8 tokens and an IntegerLookup in multi_hot mode kept with the
 * inputs: the "lookup:" metadata), OUTDIR/ok_session.lfm (constraints,
 * regularizers of every target, return_state with initial states and
 * OutputViews, Bidirectional merge_mode null, from_logits),
 * OUTDIR/ok_later.lfm (Concatenate's axis on maps and steps, Dot's axes,
 * MultiHeadAttention's use_causal_mask, attention_mask and
 * return_attention_scores, dilation_rate, causal padding, Masking's
 * mask_value, DepthwiseConv2D / SeparableConv2D's depth_multiplier,
 * Conv2DTranspose's output_padding, UpSampling2D of both interpolations,
 * ZeroPadding2D, Cropping2D, compile's metrics and weighted_metrics) and
 * OUTDIR/ok_model_outputs.lfm (an uncompiled model's model_outputs);
 * OUTDIR/ok_gqa.lfm (GroupedQueryAttention: masked, causal, dropout;
 * multi-query cross-attention with a key, no bias).
 */
#include "latefuse.h"

#include <stdio.h>

static int save(lf_model *m, const char *dir, const char *name, unsigned flags) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (lf_model_save(m, path, flags) != LF_OK) {
        fprintf(stderr, "%s: %s\n", path, lf_model_error(m));
        return 1;
    }
    return 0;
}

/* Input(3) x2 -> Dense(4, relu) each -> WeightedAverage -> Dense(1) */
static int seed_net(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 42) != LF_OK) return 1;
    int a = lf_input(m, 3, "in_a"), b = lf_input(m, 3, "in_b");
    int xa = lf_dense(m, a, 4, LF_ACT_RELU, 1, NULL), xb = lf_dense(m, b, 4, LF_ACT_RELU, 1, NULL);
    int xs[2] = {xa, xb};
    int w = lf_weighted_average(m, 2, xs, -1, "wavg");
    int out = lf_dense(m, w, 1, LF_ACT_LINEAR, 1, "out");
    int rc = lf_model_compile(m, out, LF_LOSS_MSE, NULL) != LF_OK;
    if (!rc) {
        /* one step of training so that the optimizer state is not zero */
        float x1[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, x2[6] = {1, 0, 1, 0, 1, 0};
        float y[2] = {0.5f, 0.25f};
        const float *x[2] = {x1, x2};
        lf_fit_options o = lf_fit_defaults();
        rc = lf_model_fit(m, x, y, 2, &o) != LF_OK;
    }
    rc = rc || save(m, dir, "ok_seed.lfm", 0) || save(m, dir, "ok_seed_adam.lfm", LF_SAVE_OPTIMIZER);
    lf_model_free(m);
    return rc;
}

/* every layer type and activation, dims 2..3 */
static int zoo(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 7) != LF_OK) return 1;
    int a = lf_input(m, 3, "a"), b = lf_input(m, 3, "b"), mask = lf_input(m, 2, "mask");
    int d[8];
    for (int k = 0; k < 8; k++) d[k] = lf_dense(m, k % 2 ? b : a, 2, (lf_activation)k, k % 3 != 0, NULL);
    lf_set_l2(m, d[0], 0.01f);
    int act = lf_activation_layer(m, d[0], LF_ACT_TANH, "act");
    int drop = lf_dropout(m, act, 0.25f, "drop");
    int p2[2] = {drop, d[1]};
    int add = lf_add(m, 2, p2, "add");
    int sub = lf_subtract(m, d[2], d[3], "sub");
    int p3[3] = {d[4], d[5], d[6]};
    int mul = lf_multiply(m, 3, p3, "mul");
    int avg = lf_average(m, 3, p3, "avg");
    int mx = lf_maximum(m, 2, p2, "max");
    int mn = lf_minimum(m, 2, p2, "min");
    int dot = lf_dot(m, add, sub, 1, "dot");
    int dot2 = lf_dot(m, mul, avg, 0, "dot2");
    int q[2] = {mx, mn};
    int wavg = lf_weighted_average(m, 2, q, mask, "wavg");
    int cw = lf_class_weighted_average(m, 2, q, -1, "cwavg");
    int gate = lf_dense(m, d[7], 2, LF_ACT_LINEAR, 1, "gate");
    int r[2] = {wavg, cw};
    int gated = lf_gated_average(m, 2, r, gate, mask, "gated");
    int c[3] = {gated, dot, dot2};
    int cat = lf_concatenate(m, 3, c, "cat");
    int out = lf_dense(m, cat, 3, LF_ACT_SOFTMAX, 1, "out");
    lf_optimizer opt = lf_optimizer_default(LF_OPT_SGD);
    opt.momentum = 0.5f;
    opt.nesterov = 1;
    int rc = lf_model_compile(m, out, LF_LOSS_CATEGORICAL_CROSSENTROPY, &opt) != LF_OK;
    if (rc) fprintf(stderr, "zoo: %s\n", lf_model_error(m));
    rc = rc || save(m, dir, "ok_zoo.lfm", LF_SAVE_OPTIMIZER);
    lf_model_free(m);
    return rc;
}

static int uncompiled(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 3) != LF_OK) return 1;
    int a = lf_input(m, 2, "x");
    lf_dense(m, a, 2, LF_ACT_SIGMOID, 0, "h");
    int rc = save(m, dir, "ok_uncompiled.lfm", 0);
    lf_model_free(m);
    return rc;
}

/* compiles m (output out, sparse categorical cross-entropy, Adam), saves
 * it as dir/name without the optimizer and frees it; 0 on success */
static int compile_save(lf_model *m, int out, const char *dir, const char *name) {
    int rc = lf_model_compile(m, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) != LF_OK;
    if (rc) fprintf(stderr, "%s: %s\n", name, lf_model_error(m));
    rc = rc || save(m, dir, name, 0);
    lf_model_free(m);
    return rc;
}

static int cnn(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 4) != LF_OK) return 1;
    size_t shape[3] = {6, 5, 2};
    int x = lf_input_shape(m, 3, shape, LF_DTYPE_FLOAT32, "img");
    int h = lf_rescaling(m, x, 0.5f, -1.0f, NULL);
    h = lf_random_flip(m, h, LF_FLIP_HORIZONTAL, NULL);
    h = lf_random_translation(m, h, 0.2f, 0.1f, NULL);
    h = lf_conv2d(m, h, 3, 3, 2, 1, 2, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL);
    h = lf_batch_normalization(m, h, 0.99f, 1e-3f, NULL);
    h = lf_max_pooling2d(m, h, 2, 2, 0, 0, LF_PADDING_SAME, NULL);
    h = lf_average_pooling2d(m, h, 2, 1, 1, 1, LF_PADDING_VALID, NULL);
    int g1 = lf_global_average_pooling2d(m, h, NULL), g2 = lf_global_max_pooling2d(m, h, NULL);
    int xs[2] = {g1, g2};
    size_t rs[2] = {2, 3};
    int r = lf_flatten(m, lf_reshape(m, lf_concatenate(m, 2, xs, NULL), 2, rs, NULL), NULL);
    int out = lf_dense(m, r, 2, LF_ACT_SOFTMAX, 1, "out");
    return compile_save(m, out, dir, "ok_cnn.lfm");
}

/* every sequence layer, with the padding mask */
static int seq(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 5) != LF_OK) return 1;
    size_t T = 6;
    int ids = lf_input_shape(m, 1, &T, LF_DTYPE_INT32, "ids");
    int e = lf_embedding(m, ids, 12, 4, 1, NULL);
    int xs[2] = {e, lf_position_embedding(m, e, 8, NULL)};
    int h = lf_layer_normalization(m, lf_add(m, 2, xs, NULL), 1e-3f, 1, 1, NULL);
    h = lf_dense(m, h, 3, LF_ACT_GELU, 1, NULL);
    int c = lf_conv1d(m, h, 2, 3, 2, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL);
    int p[2] = {lf_global_average_pooling1d(m, h, NULL), lf_global_max_pooling1d(m, c, NULL)};
    int out = lf_dense(m, lf_layer_normalization(m, lf_concatenate(m, 2, p, NULL), 1e-5f, 0, 1, NULL), 2,
                       LF_ACT_SOFTMAX, 1, "out");
    return compile_save(m, out, dir, "ok_seq.lfm");
}

/* MultiHeadAttention: self-attention over a padded sequence, and
 * cross-attention with a separate key, without bias */
static int attention(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 6) != LF_OK) return 1;
    size_t T = 5, kv[2] = {3, 4}, kk[2] = {3, 2};
    int ids = lf_input_shape(m, 1, &T, LF_DTYPE_INT32, "ids");
    int v = lf_input_shape(m, 2, kv, LF_DTYPE_FLOAT32, "v");
    int k = lf_input_shape(m, 2, kk, LF_DTYPE_FLOAT32, "k");
    int e = lf_embedding(m, ids, 9, 4, 1, NULL);
    int a = lf_multi_head_attention(m, e, e, -1, 2, 3, 0, 0.1f, 1, 0, NULL);
    int c = lf_multi_head_attention(m, a, v, k, 3, 2, 5, 0.0f, 0, 6, NULL);
    int out = lf_dense(m, lf_global_average_pooling1d(m, c, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    return compile_save(m, out, dir, "ok_attention.lfm");
}

/* the seed network fitted two steps with optimizer o (its state is not
 * zero), saved with the optimizer as name */
static int optimizer_seed(const char *dir, const char *name, const lf_optimizer *o) {
    lf_model *m;
    if (lf_model_create(&m, 11) != LF_OK) return 1;
    int a = lf_input(m, 3, "in_a"), b = lf_input(m, 3, "in_b");
    int xs[2] = {lf_dense(m, a, 4, LF_ACT_RELU, 1, NULL), lf_dense(m, b, 4, LF_ACT_RELU, 1, NULL)};
    int out = lf_dense(m, lf_weighted_average(m, 2, xs, -1, "wavg"), 1, LF_ACT_LINEAR, 1, "out");
    int rc = lf_model_compile(m, out, LF_LOSS_MSE, o) != LF_OK;
    if (!rc) {
        float x1[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, x2[6] = {1, 0, 1, 0, 1, 0};
        float y[2] = {0.5f, 0.25f};
        const float *x[2] = {x1, x2};
        lf_fit_options fo = lf_fit_defaults();
        fo.epochs = 2, fo.batch_size = 2;
        rc = lf_model_fit(m, x, y, 2, &fo) != LF_OK;
    }
    if (rc) fprintf(stderr, "%s: %s\n", name, lf_model_error(m));
    rc = rc || save(m, dir, name, LF_SAVE_OPTIMIZER);
    lf_model_free(m);
    return rc;
}

/* each optimizer kind with a schedule of each kind (and the flags on) */
static int optimizers(const char *dir) {
    static const struct {
        lf_optimizer_kind kind;
        lf_lr_schedule_kind schedule;
        const char *name;
    } runs[] = {
        {LF_OPT_ADAM, LF_LR_EXPONENTIAL_DECAY, "ok_opt_adam_amsgrad.lfm"},
        {LF_OPT_RMSPROP, LF_LR_INVERSE_TIME_DECAY, "ok_opt_rmsprop_centered.lfm"},
        {LF_OPT_ADAGRAD, LF_LR_POLYNOMIAL_DECAY, "ok_opt_adagrad.lfm"},
        {LF_OPT_ADAMAX, LF_LR_COSINE_DECAY, "ok_opt_adamax.lfm"},
        {LF_OPT_NADAM, LF_LR_COSINE_DECAY_RESTARTS, "ok_opt_nadam.lfm"},
        {LF_OPT_ADADELTA, LF_LR_PIECEWISE_CONSTANT, "ok_opt_adadelta.lfm"},
        {LF_OPT_LION, LF_LR_COSINE_DECAY, "ok_opt_lion.lfm"},
    };
    for (size_t k = 0; k < sizeof runs / sizeof *runs; k++) {
        lf_optimizer o = lf_optimizer_default(runs[k].kind);
        lf_lr_schedule *s = &o.schedule;
        o.amsgrad = runs[k].kind == LF_OPT_ADAM;
        o.centered = runs[k].kind == LF_OPT_RMSPROP;
        if (runs[k].kind == LF_OPT_ADAGRAD) o.initial_accumulator_value = 0.25f;
        *s = lf_lr_schedule_default(runs[k].schedule);
        s->decay_steps = 3, s->decay_rate = 0.5, s->staircase = runs[k].kind == LF_OPT_RMSPROP;
        s->cycle = 1, s->power = 2, s->alpha = 0.1;
        if (runs[k].kind == LF_OPT_LION) s->has_warmup = 1, s->warmup_target = 0.01, s->warmup_steps = 2;
        s->t_mul = 1.5, s->m_mul = 0.5;
        s->n_boundaries = 2, s->boundaries[0] = 1, s->boundaries[1] = 3;
        s->values[0] = 0.1f, s->values[1] = 0.01f, s->values[2] = 0.001f;
        if (optimizer_seed(dir, runs[k].name, &o)) return 1;
    }
    return 0;
}

/* CategoryEncoding of each mode, every recurrent layer with its dropouts,
 * RandomZoom with two ranges and with one */
static int extras(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 8) != LF_OK) return 1;
    size_t T = 4, img[3] = {5, 4, 1}, seqs[2] = {4, 3};
    int ids = lf_input_shape(m, 1, &T, LF_DTYPE_INT32, "ids");
    size_t one = 1;
    int id1 = lf_input_shape(m, 1, &one, LF_DTYPE_INT32, "id1");
    int s = lf_input_shape(m, 2, seqs, LF_DTYPE_FLOAT32, "s");
    int x = lf_input_shape(m, 3, img, LF_DTYPE_FLOAT32, "img");
    int c1 = lf_category_encoding(m, ids, 6, LF_CATEGORY_MULTI_HOT, NULL);
    int c2 = lf_category_encoding(m, ids, 6, LF_CATEGORY_COUNT, NULL);
    int c3 = lf_category_encoding(m, id1, 5, LF_CATEGORY_ONE_HOT, NULL);
    int c4 = lf_flatten(m, lf_category_encoding(m, ids, 3, LF_CATEGORY_ONE_HOT, NULL), NULL);
    int r1 = lf_lstm(m, s, 2, 1, 1, 0, 0, NULL), r2 = lf_gru(m, s, 2, 1, 0, 1, NULL);
    int r3 = lf_simple_rnn(m, s, 2, LF_ACT_TANH, 1, 0, 0, NULL);
    int r4 = lf_bidirectional(m, s, LF_RNN_LSTM, 2, LF_ACT_TANH, 1, 1, 0, LF_BIDI_CONCAT, NULL);
    lf_set_rnn_dropout(m, r1, 0.25f, 0.5f);
    lf_set_rnn_dropout(m, r2, 0.0f, 0.125f);
    lf_set_rnn_dropout(m, r3, 0.75f, 0.0f);
    lf_set_rnn_dropout(m, r4, 0.5f, 0.5f);
    lf_translation_options zo = lf_translation_defaults(0.2f, 0.3f);
    zo.height_lower = -0.5f, zo.height_upper = 0.25f;
    int z1 = lf_flatten(m, lf_random_zoom(m, x, &zo, 0, NULL), NULL);
    zo = lf_translation_defaults(1.0f, 1.0f);
    zo.height_lower = -1.0f, zo.height_upper = 1.0f;
    int z2 = lf_flatten(m, lf_random_zoom(m, x, &zo, 1, NULL), NULL);
    int all[10] = {c1, c2, c3, c4, r1, r2, r3, r4, z1, z2};
    int out = lf_dense(m, lf_concatenate(m, 10, all, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    return compile_save(m, out, dir, "ok_extras.lfm");
}

/* two inputs fed by lookups: strings with a mask ("int"), integers
 * ("multi_hot", two OOV buckets) */
static int lookups(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 9) != LF_OK) return 1;
    size_t three = 3, five = 6;
    int a = lf_input_shape(m, 1, &three, LF_DTYPE_INT32, "words");
    int b = lf_input_shape(m, 1, &five, LF_DTYPE_FLOAT32, "codes");
    int both[2] = {a, b};
    int out = lf_dense(m, lf_concatenate(m, 2, both, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    int rc = lf_model_compile(m, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, NULL) != LF_OK;
    lf_lookup_options o = lf_lookup_defaults(LF_LOOKUP_STRING);
    o.mask_token = "";
    lf_lookup *s = NULL, *i = NULL;
    const char *words[] = {"caf\xc3\xa9", "tea", "tea", "", "[UNK]"};
    rc = rc || lf_lookup_create(&s, &o, NULL, 0) != LF_OK || lf_lookup_adapt(s, words, NULL, 5) != LF_OK;
    o = lf_lookup_defaults(LF_LOOKUP_INTEGER);
    o.output_mode = LF_LOOKUP_MULTI_HOT, o.num_oov_indices = 2, o.max_tokens = 6, o.pad_to_max_tokens = 1;
    const int64_t codes[] = {7, -3, 12};
    rc = rc || lf_lookup_create(&i, &o, NULL, 0) != LF_OK || lf_lookup_set_vocabulary(i, NULL, codes, 3, 1) != LF_OK;
    rc = rc || lf_model_attach_lookup(m, a, s) != LF_OK || lf_model_attach_lookup(m, b, i) != LF_OK;
    if (rc) fprintf(stderr, "lookups: %s\n", lf_model_error(m));
    rc = rc || save(m, dir, "ok_lookup.lfm", 0);
    lf_lookup_free(s), lf_lookup_free(i);
    lf_model_free(m);
    return rc;
}

/* this session's model-file fields: a layer's "constraints" and
 * "regularizers" (l1 on kernel and bias, recurrent kernel, activity),
 * return_state with an initial state as inbound layers and OutputViews,
 * Bidirectional merge_mode null, an output's from_logits */
static int session(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 10) != LF_OK) return 1;
    size_t seqs[2] = {4, 3}, two = 2;
    int s = lf_input_shape(m, 2, seqs, LF_DTYPE_FLOAT32, "s");
    int h0 = lf_input_shape(m, 1, &two, LF_DTYPE_FLOAT32, "h0");
    int enc = lf_lstm(m, s, 2, 1, 1, 0, 0, "enc");
    int rc = lf_set_rnn_state(m, enc, 1, NULL, 0) != LF_OK;
    int eh = lf_output_view(m, enc, 1, NULL), ec = lf_output_view(m, enc, 2, NULL);
    int dec = lf_lstm(m, s, 2, 1, 1, 1, 0, "dec");
    rc = rc || lf_set_rnn_state(m, dec, 0, (int[]){eh, ec}, 2) != LF_OK;
    int gru = lf_gru(m, s, 2, 1, 0, 0, "gru");
    rc = rc || lf_set_rnn_state(m, gru, 0, (int[]){h0}, 1) != LF_OK;
    int bi = lf_bidirectional(m, dec, LF_RNN_GRU, 2, LF_ACT_TANH, 1, 0, 0, LF_BIDI_NONE, "bi");
    int bf = lf_output_view(m, bi, 0, NULL), bb = lf_output_view(m, bi, 1, NULL);
    int d = lf_dense(m, lf_concatenate(m, 3, (int[]){bf, bb, gru}, NULL), 3, LF_ACT_TANH, 1, "d");
    int out = lf_dense(m, d, 2, LF_ACT_LINEAR, 1, "out");
    lf_constraint c = lf_constraint_default(LF_CONSTRAINT_MAX_NORM);
    rc = rc || lf_set_constraint(m, d, LF_ROLE_KERNEL, &c) != LF_OK;
    c = lf_constraint_default(LF_CONSTRAINT_MIN_MAX_NORM);
    rc = rc || lf_set_constraint(m, enc, LF_ROLE_RECURRENT_KERNEL, &c) != LF_OK;
    c = lf_constraint_default(LF_CONSTRAINT_NON_NEG);
    rc = rc || lf_set_constraint(m, bi, LF_ROLE_BIAS, &c) != LF_OK;
    rc = rc || lf_set_regularizer(m, d, LF_REG_KERNEL, 0.01f, 0.02f) != LF_OK ||
         lf_set_regularizer(m, d, LF_REG_BIAS, 0.03f, 0) != LF_OK ||
         lf_set_regularizer(m, d, LF_REG_ACTIVITY, 0.04f, 0.05f) != LF_OK ||
         lf_set_regularizer(m, enc, LF_REG_RECURRENT, 0.06f, 0.07f) != LF_OK ||
         lf_set_regularizer(m, bi, LF_REG_RECURRENT, 0, 0.08f) != LF_OK ||
         lf_set_regularizer(m, gru, LF_REG_ACTIVITY, 0.09f, 0) != LF_OK;
    rc = rc || lf_model_compile(m, out, LF_LOSS_BINARY_CROSSENTROPY, NULL) != LF_OK ||
         lf_model_set_from_logits(m, 0, 1) != LF_OK;
    if (rc) fprintf(stderr, "session: %s\n", lf_model_error(m));
    rc = rc || save(m, dir, "ok_session.lfm", 0);
    lf_model_free(m);
    return rc;
}

/* the model-file keys of the later layers and options (ok_later.lfm):
 * an image branch and a sequence branch joined into one softmax */
static int later(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 17) != LF_OK) return 1;
    size_t ish[3] = {6, 6, 2}, ssh[2] = {5, 3}, ash[2] = {5, 5};
    int img = lf_input_shape(m, 3, ish, LF_DTYPE_FLOAT32, "img");
    int seq = lf_input_shape(m, 2, ssh, LF_DTYPE_FLOAT32, "seq");
    int am = lf_input_shape(m, 2, ash, LF_DTYPE_FLOAT32, "attn_mask");
    /* images: (6, 6, 2) -> dilated Conv2D -> DepthwiseConv2D (M 2, dilated) ->
     * SeparableConv2D (4, M 2, valid) (4, 4, 4) -> Conv2DTranspose (stride 2,
     * output_padding 1) and bilinear UpSampling2D, both (8, 8, .), joined on
     * the channels, padded and cropped back; nearest UpSampling2D joined on
     * the rows */
    int c = lf_conv2d_dilated(m, img, 3, 3, 3, 1, 1, LF_PADDING_SAME, 2, 2, LF_ACT_RELU, 1, "conv_dil");
    int dw = lf_depthwise_conv2d(m, c, 3, 3, 1, 1, LF_PADDING_SAME, 2, 1, 2, LF_ACT_RELU, 1, "depthwise");
    int sp = lf_separable_conv2d(m, dw, 4, 3, 3, 1, 1, LF_PADDING_VALID, 2, 1, 1, LF_ACT_LINEAR, 1, "separable");
    size_t op[2] = {1, 1};
    int tc = lf_conv2d_transpose(m, sp, 3, 3, 3, 2, 2, LF_PADDING_SAME, op, LF_ACT_RELU, 1, "tconv");
    int up = lf_upsampling2d(m, sp, 2, 2, LF_INTERP_BILINEAR, "up_bilinear");
    int ch[2] = {tc, up};
    int cat = lf_concatenate_axis(m, 2, ch, -1, "cat_channels");
    int zp = lf_zero_padding2d(m, cat, 1, 0, 0, 2, "zero_pad");
    int cr = lf_cropping2d(m, zp, 0, 1, 2, 0, "crop");
    int upn = lf_upsampling2d(m, c, 2, 1, LF_INTERP_NEAREST, "up_nearest");
    int rows[2] = {c, upn};
    int cath = lf_concatenate_axis(m, 2, rows, 1, "cat_rows");
    int g1 = lf_global_average_pooling2d(m, cr, NULL), g2 = lf_global_average_pooling2d(m, cath, NULL);
    /* sequences: Masking -> causal MultiHeadAttention with an attention_mask
     * and its scores; a dilated causal Conv1D; Concatenate on the features
     * and on the steps (masked pooling); Dot over the features of two
     * sequences and over the steps */
    int mk = lf_masking(m, seq, 0.0f, "masking");
    int mha = lf_multi_head_attention(m, mk, mk, -1, 2, 2, 2, 0.1f, 1, 0, "mha");
    int rc = lf_set_attention_mask(m, mha, am, 1) != LF_OK || lf_set_return_attention_scores(m, mha, 1) != LF_OK;
    int o = lf_output_view(m, mha, 0, "mha_out"), sc = lf_output_view(m, mha, 1, "mha_scores");
    int cv = lf_conv1d_dilated(m, seq, 4, 2, 1, LF_PADDING_CAUSAL, 2, LF_ACT_RELU, 1, "conv1d_causal");
    int f2[2] = {o, cv}, s2[2] = {o, mk};
    int catf = lf_concatenate_axis(m, 2, f2, -1, "cat_features");
    int cats = lf_concatenate_axis(m, 2, s2, 1, "cat_steps");
    int dt = lf_dot_axes(m, catf, catf, 2, 2, 0, "dot_features");
    int dt2 = lf_dot_axes(m, o, mk, 1, 1, 1, "dot_steps");
    int flat[6] = {g1, g2, lf_flatten(m, sc, NULL), lf_flatten(m, dt, NULL),
                   lf_global_average_pooling1d(m, cats, NULL), lf_flatten(m, dt2, NULL)};
    int all = lf_concatenate(m, 6, flat, "all");
    int out = lf_dense(m, all, 2, LF_ACT_SOFTMAX, 1, "out");
    rc = rc || lf_model_compile(m, out, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) != LF_OK ||
         lf_model_set_metrics(m, "[\"accuracy\", [\"mse\", \"auc\"]]", "{\"out\": [\"mae\"]}") != LF_OK;
    if (rc) fprintf(stderr, "later: %s\n", lf_model_error(m));
    rc = rc || save(m, dir, "ok_later.lfm", 0);
    lf_model_free(m);
    if (rc) return rc;
    /* an uncompiled model naming its two outputs, the last layer not first */
    if (lf_model_create(&m, 18) != LF_OK) return 1;
    int x = lf_input(m, 3, "x");
    int h1 = lf_dense(m, x, 2, LF_ACT_TANH, 1, "h1"), h2 = lf_dense(m, h1, 1, LF_ACT_LINEAR, 1, "h2");
    int outs[2] = {h1, h2};
    rc = lf_model_set_outputs(m, 2, outs) != LF_OK;
    if (rc) fprintf(stderr, "model_outputs: %s\n", lf_model_error(m));
    rc = rc || save(m, dir, "ok_model_outputs.lfm", 0);
    lf_model_free(m);
    return rc;
}

/* every activation (a Dense of each, and the Activation layer of the last)
 * and the activation layers ReLU, LeakyReLU, ELU, PReLU and Softmax on a
 * sequence (ok_activations.lfm) */
static int activations(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 19) != LF_OK) return 1;
    size_t ssh[2] = {4, 3};
    int x = lf_input(m, 3, "x");
    int s = lf_input_shape(m, 2, ssh, LF_DTYPE_FLOAT32, "s");
    int d[LF_ACT_COUNT + 6];
    size_t n = 0;
    for (int k = 0; k < LF_ACT_COUNT; k++) d[n++] = lf_dense(m, x, 2, (lf_activation)k, k % 2, NULL);
    d[n++] = lf_activation_layer(m, d[0], (lf_activation)(LF_ACT_COUNT - 1), NULL);
    int h = lf_relu_layer(m, s, 6.0f, 0.1f, 0.5f, NULL);
    h = lf_leaky_relu(m, h, 0.2f, NULL);
    h = lf_elu_layer(m, h, 0.5f, NULL);
    int shared[1] = {1};
    h = lf_prelu(m, h, shared, 1, NULL);
    int axes[2] = {1, 2}, axis[1] = {-1};
    d[n++] = lf_flatten(m, lf_softmax_layer(m, h, axes, 2, NULL), NULL);
    d[n++] = lf_flatten(m, lf_softmax_layer(m, lf_prelu(m, s, NULL, 0, NULL), axis, 1, NULL), NULL);
    int out = lf_dense(m, lf_concatenate(m, n, d, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    return compile_save(m, out, dir, "ok_activations.lfm");
}

/* the sequence layers the other seeds lack (ok_seq_more.lfm): Attention
 * and AdditiveAttention, the 1-D pooling, depthwise, separable and
 * transposed convolutions, UpSampling1D, ZeroPadding1D, Cropping1D,
 * Permute, RepeatVector, Normalization, GroupNormalization,
 * UnitNormalization, Discretization, and the noise and regularization
 * layers */
static int seq_more(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 20) != LF_OK) return 1;
    size_t ssh[2] = {6, 3};
    int s = lf_input_shape(m, 2, ssh, LF_DTYPE_FLOAT32, "s");
    int v = lf_input(m, 3, "v");
    int axis[1] = {-1};
    float mean[3] = {0.5f, -0.25f, 1.0f}, var[3] = {2.0f, 0.5f, 1.0f};
    int h = lf_normalization(m, s, axis, 1, mean, var, 0, NULL);
    h = lf_unit_normalization(m, lf_group_normalization(m, h, 3, 1e-2f, 0, 1, NULL), NULL);
    h = lf_gaussian_noise(m, h, 0.1f, NULL);
    h = lf_gaussian_dropout(m, h, 0.2f, NULL);
    h = lf_alpha_dropout(m, h, 0.1f, NULL);
    h = lf_spatial_dropout1d(m, h, 0.25f, NULL);
    h = lf_activity_regularization(m, h, 0.01f, 0.02f, NULL);
    int at = lf_attention(m, h, h, -1, 1, LF_SCORE_CONCAT, 0.1f, 1, 0, NULL);
    int ad = lf_additive_attention(m, h, h, -1, 1, 0.0f, 0, 0, NULL);
    int mp = lf_max_pooling1d(m, at, 2, 0, LF_PADDING_VALID, NULL);
    int ap = lf_average_pooling1d(m, ad, 3, 2, LF_PADDING_SAME, NULL);
    int dw = lf_depthwise_conv1d(m, h, 3, 1, LF_PADDING_SAME, 2, 2, LF_ACT_RELU, 1, NULL);
    int sp = lf_separable_conv1d(m, dw, 4, 2, 1, LF_PADDING_VALID, 1, 1, LF_ACT_LINEAR, 1, NULL);
    size_t op = 1;
    int tc = lf_conv1d_transpose(m, sp, 2, 3, 2, LF_PADDING_SAME, &op, LF_ACT_RELU, 1, NULL);
    int up = lf_upsampling1d(m, mp, 2, NULL);
    int zp = lf_cropping1d(m, lf_zero_padding1d(m, ap, 1, 2, NULL), 1, 0, NULL);
    size_t perm[2] = {2, 1};
    int pm = lf_permute(m, h, 2, perm, NULL);
    int rv = lf_repeat_vector(m, v, 4, NULL);
    float bins[3] = {-1.0f, 0.0f, 1.0f};
    lf_discretization_options dopt = {.output_mode = LF_DISCRETIZATION_MULTI_HOT, .num_bins = 0, .epsilon = 0.05};
    int ds = lf_discretization_opt(m, v, bins, 3, &dopt, NULL);
    int p[7] = {lf_global_average_pooling1d(m, tc, NULL), lf_global_average_pooling1d(m, up, NULL),
                lf_global_max_pooling1d(m, zp, NULL), lf_global_average_pooling1d(m, pm, NULL),
                lf_global_average_pooling1d(m, rv, NULL), ds, lf_global_average_pooling1d(m, at, NULL)};
    int out = lf_dense(m, lf_concatenate(m, 7, p, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    return compile_save(m, out, dir, "ok_seq_more.lfm");
}

/* volumes and the image layers the other seeds lack (ok_volumes.lfm): a
 * dilated Conv3D, the 3-D pooling, TimeDistributed(Conv2D ->
 * GlobalAveragePooling2D) over the frames, RandomContrast,
 * RandomBrightness, RandomRotation and SpatialDropout2D; ZeroPadding3D,
 * Cropping3D, UpSampling3D and Identity on the average pooling;
 * Conv3DTranspose (stride 2, same, output_padding); Resizing (bilinear, and
 * nearest cropped to the aspect ratio) and CenterCrop (cropping, and
 * resizing a smaller image) */
static int volumes(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 21) != LF_OK) return 1;
    size_t vsh[4] = {4, 6, 6, 2};
    int vol = lf_input_shape(m, 4, vsh, LF_DTYPE_FLOAT32, "vol");
    int c = lf_conv3d_dilated(m, vol, 2, 2, 2, 2, 1, 1, 1, LF_PADDING_SAME, 1, 2, 1, LF_ACT_RELU, 1, NULL);
    int mp = lf_max_pooling3d(m, c, 2, 2, 2, 0, 0, 0, LF_PADDING_VALID, NULL);
    int ap = lf_average_pooling3d(m, c, 2, 2, 2, 1, 1, 1, LF_PADDING_SAME, NULL);
    /* ZeroPadding3D, Cropping3D, UpSampling3D, Identity (spatial3d.c, identity.c) */
    ap = lf_identity(m, lf_upsampling3d(m, lf_cropping3d(m, lf_zero_padding3d(m, ap, 1, 0, 0, 1, 2, 1, NULL), 0, 1, 1, 0,
                                                         1, 1, NULL), 1, 2, 1, NULL), NULL);
    int st = lf_time_distributed(m, vol, NULL);
    int fr = lf_random_contrast(m, st, 0.0f, 0.5f, 0.0f, 1.0f, NULL);
    fr = lf_random_brightness(m, fr, -0.2f, 0.2f, 0.0f, 1.0f, NULL);
    fr = lf_random_rotation(m, fr, -0.1f, 0.1f, LF_FILL_REFLECT, LF_INTERP_BILINEAR, 0.0f, NULL);
    fr = lf_spatial_dropout2d(m, fr, 0.25f, NULL);
    fr = lf_conv2d(m, fr, 3, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, NULL);
    int td = lf_time_distributed_end(m, lf_global_average_pooling2d(m, fr, NULL), "td");
    size_t op[3] = {1, 0, 1};
    int tv = lf_conv3d_transpose(m, mp, 2, 2, 2, 2, 2, 2, 2, LF_PADDING_SAME, op, LF_ACT_TANH, 1, NULL);
    size_t ish[3] = {6, 5, 2};
    int img = lf_input_shape(m, 3, ish, LF_DTYPE_FLOAT32, "img");
    int rs = lf_center_crop(m, lf_resizing(m, img, 4, 4, LF_INTERP_BILINEAR, 0, NULL), 3, 3, NULL);
    int rn = lf_center_crop(m, lf_resizing(m, img, 3, 4, LF_INTERP_NEAREST, 1, NULL), 4, 5, NULL);
    int p[6] = {lf_global_max_pooling3d(m, mp, NULL), lf_global_average_pooling3d(m, ap, NULL),
                lf_global_average_pooling1d(m, td, NULL), lf_global_average_pooling3d(m, tv, NULL),
                lf_global_average_pooling2d(m, rs, NULL), lf_global_max_pooling2d(m, rn, NULL)};
    int out = lf_dense(m, lf_concatenate(m, 6, p, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    return compile_save(m, out, dir, "ok_volumes.lfm");
}

/* GroupedQueryAttention (ok_gqa.lfm): self-attention of Embedding(mask_zero)
 * sequences, 4 query heads on 2, with dropout and use_causal_mask;
 * multi-query cross-attention with a key, no bias */
static int gqa(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 21) != LF_OK) return 1;
    size_t tsh[1] = {5}, ksh[2] = {4, 3}, vsh[2] = {4, 6};
    int ids = lf_input_shape(m, 1, tsh, LF_DTYPE_INT32, "ids");
    int k = lf_input_shape(m, 2, ksh, LF_DTYPE_FLOAT32, "k");
    int v = lf_input_shape(m, 2, vsh, LF_DTYPE_FLOAT32, "v");
    int e = lf_embedding(m, ids, 9, 6, 1, NULL);
    int a = lf_grouped_query_attention(m, e, e, -1, 2, 4, 2, 0.1f, 1, 1, NULL);
    int c = lf_grouped_query_attention(m, a, v, k, 3, 2, 1, 0.0f, 0, 0, NULL);
    int out = lf_dense(m, lf_global_average_pooling1d(m, c, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    return compile_save(m, out, dir, "ok_gqa.lfm");
}

/* RandomCrop (an image larger than its target: the drawn window; and one
 * smaller: Keras' fallback), SpatialDropout3D on a volume and
 * RMSNormalization (Keras' epsilon, and another) (ok_crop.lfm) */
static int crop(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 22) != LF_OK) return 1;
    size_t ish[3] = {6, 5, 2}, vsh[4] = {2, 3, 3, 2}, ssh[2] = {3, 4};
    int img = lf_input_shape(m, 3, ish, LF_DTYPE_FLOAT32, "img");
    int vol = lf_input_shape(m, 4, vsh, LF_DTYPE_FLOAT32, "vol");
    int seq = lf_input_shape(m, 2, ssh, LF_DTYPE_FLOAT32, "seq");
    int a = lf_random_crop(m, img, 4, 3, NULL), b = lf_random_crop(m, img, 7, 4, NULL);
    int v = lf_spatial_dropout3d(m, vol, 0.25f, NULL);
    int r = lf_rms_normalization(m, lf_rms_normalization(m, seq, 1e-6f, NULL), 0.5f, NULL);
    int p[4] = {lf_global_average_pooling2d(m, a, NULL), lf_global_max_pooling2d(m, b, NULL),
                lf_global_average_pooling3d(m, v, NULL), lf_global_average_pooling1d(m, r, NULL)};
    int out = lf_dense(m, lf_concatenate(m, 4, p, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    return compile_save(m, out, dir, "ok_crop.lfm");
}

/* ConvLSTM2D (strides, same, return_sequences, go_backwards, no bias)
 * and ConvLSTM1D (valid, dilated, unit_forget_bias off) (ok_convlstm.lfm) */
static int convlstm(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 22) != LF_OK) return 1;
    size_t vsh[4] = {3, 5, 4, 2}, ssh[3] = {4, 7, 2};
    int vid = lf_input_shape(m, 4, vsh, LF_DTYPE_FLOAT32, "vid");
    int sq = lf_input_shape(m, 3, ssh, LF_DTYPE_FLOAT32, "sq");
    lf_conv_lstm_options o = lf_conv_lstm_defaults();
    o.strides[0] = 2, o.padding = LF_PADDING_SAME, o.return_sequences = 1, o.go_backwards = 1, o.use_bias = 0;
    int c2 = lf_conv_lstm2d(m, vid, 2, 3, 2, &o, NULL);
    lf_conv_lstm_options o1 = lf_conv_lstm_defaults();
    o1.dilation_rate[0] = 2, o1.unit_forget_bias = 0;
    int c1 = lf_conv_lstm1d(m, sq, 3, 2, &o1, NULL);
    int p[2] = {lf_flatten(m, c2, NULL), lf_global_average_pooling1d(m, c1, NULL)};
    int out = lf_dense(m, lf_concatenate(m, 2, p, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    return compile_save(m, out, dir, "ok_convlstm.lfm");
}

/* RandomGrayscale, RandomInvert, Solarization and AutoContrast, with
 * non-default settings and defaults (ok_color_ops.lfm) */
static int color_ops(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 22) != LF_OK) return 1;
    size_t ish[3] = {5, 4, 3};
    int img = lf_input_shape(m, 3, ish, LF_DTYPE_FLOAT32, "img");
    int h = lf_random_grayscale(m, img, 0.25f, NULL);
    h = lf_random_invert(m, h, 0.0f, 1.0f, 0.0f, 255.0f, NULL);
    h = lf_solarization(m, h, 0.1f, 0.3f, 0.2f, 0.6f, 0.0f, 255.0f, NULL);
    h = lf_auto_contrast(m, h, 0.0f, 255.0f, NULL);
    h = lf_random_invert(m, h, 0.25f, 0.5f, -1.0f, 1.0f, NULL);
    h = lf_solarization(m, lf_auto_contrast(m, h, -1.0f, 1.0f, NULL), 0.0f, 0.0f, 0.0f, 0.0f, -1.0f, 1.0f, NULL);
    int out = lf_dense(m, lf_global_average_pooling2d(m, lf_random_grayscale(m, h, 0.5f, NULL), NULL), 2,
                       LF_ACT_SOFTMAX, 1, "out");
    return compile_save(m, out, dir, "ok_color_ops.lfm");
}

/* ConvLSTM3D (same, strides, return_sequences) then a second one (valid,
 * dilated, go_backwards, no bias) (ok_convlstm3d.lfm) */
static int convlstm3d(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 23) != LF_OK) return 1;
    size_t vsh[5] = {3, 4, 5, 4, 2};
    int vol = lf_input_shape(m, 5, vsh, LF_DTYPE_FLOAT32, "vol");
    lf_conv_lstm_options o = lf_conv_lstm_defaults();
    o.strides[1] = 2, o.padding = LF_PADDING_SAME, o.return_sequences = 1;
    int c1 = lf_conv_lstm3d(m, vol, 2, 2, 3, 2, &o, NULL);
    lf_conv_lstm_options o2 = lf_conv_lstm_defaults();
    o2.dilation_rate[0] = 2, o2.go_backwards = 1, o2.use_bias = 0;
    int c2 = lf_conv_lstm3d(m, c1, 2, 2, 1, 2, &o2, NULL);
    int out = lf_dense(m, lf_flatten(m, c2, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    return compile_save(m, out, dir, "ok_convlstm3d.lfm");
}

/* RandomSaturation (value_range (0, 1)), RandomHue (default value_range),
 * and RandomColorDegeneration on RGB and on one channel, RandomColorJitter
 * (brightness and hue) (ok_hsv.lfm) */
static int hsv(const char *dir) {
    lf_model *m;
    if (lf_model_create(&m, 22) != LF_OK) return 1;
    size_t ish[3] = {4, 5, 3}, gsh[3] = {3, 3, 1};
    int img = lf_input_shape(m, 3, ish, LF_DTYPE_FLOAT32, "img");
    int gray = lf_input_shape(m, 3, gsh, LF_DTYPE_FLOAT32, "gray");
    int h = lf_random_saturation(m, img, -0.5f, 0.75f, 0.0f, 1.0f, NULL);
    h = lf_random_hue(m, h, 0.0f, 0.4f, 0.0f, 255.0f, NULL);
    h = lf_random_color_degeneration(m, h, -1.0f, 1.0f, 0.0f, 255.0f, NULL);
    static const float jb[2] = {-0.2f, 0.2f}, jh[2] = {0.0f, 0.5f};
    h = lf_random_color_jitter(m, h, 0.0f, 255.0f, jb, NULL, NULL, jh, NULL);
    int g = lf_random_color_degeneration(m, gray, 0.2f, 0.3f, -1.0f, 1.0f, NULL);
    int p[2] = {lf_global_average_pooling2d(m, h, NULL), lf_global_max_pooling2d(m, g, NULL)};
    int out = lf_dense(m, lf_concatenate(m, 2, p, NULL), 2, LF_ACT_SOFTMAX, 1, "out");
    return compile_save(m, out, dir, "ok_hsv.lfm");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: make_model_seeds OUTDIR\n");
        return 2;
    }
    return seed_net(argv[1]) || zoo(argv[1]) || uncompiled(argv[1]) || cnn(argv[1]) || seq(argv[1]) ||
           attention(argv[1]) || optimizers(argv[1]) || extras(argv[1]) || lookups(argv[1]) || session(argv[1]) ||
           later(argv[1]) || activations(argv[1]) || seq_more(argv[1]) || volumes(argv[1]) ||
           gqa(argv[1]) || crop(argv[1]) || convlstm(argv[1]) || color_ops(argv[1]) || convlstm3d(argv[1]) ||
           hsv(argv[1]);
}
