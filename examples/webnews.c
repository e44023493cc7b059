/*
 * webnews.c — the founding question's system on real data: an image CNN
 * branch and a text branch, each ending in Dense(10, softmax), fused, on
 * Web_News (news photos 64x64 with Chinese captions, 10 classes, the
 * source's own split: 1696 training and 497 test items; see
 * ../shared/data/webnews/README.md).
 *
 * Branches (the same layer names in every model, so that weights move
 * between models by name):
 *   image: Input(64, 64, 3) uint8 -> Rescaling(1/255) -> RandomFlip
 *          (horizontal) -> RandomTranslation(0.1, 0.1, fill_mode="constant",
 *          interpolation="nearest") -> AveragePooling2D(2)
 *          (to 32x32) -> 4 x [Conv2D(3x3, same, no bias) -> BatchNormalization
 *          (momentum 0.9) -> relu -> MaxPooling2D(2)] with 16, 32, 64, 128
 *          filters -> GlobalAveragePooling2D -> Dropout(0.3) -> Dense(10,
 *          softmax).  Test-time flips (predicting the mirror images too
 *          and averaging) are measured out of fold and not used (tta 0):
 *          they did not help there.
 *   text:  TextVectorization (tf_idf over character 1..3-grams, the 10000
 *          most frequent, adapted on the training captions) with each row
 *          scaled to unit L2 norm (as scikit-learn's TfidfVectorizer) ->
 *          Input(10000) -> Rescaling(30) -> Dense(64, relu) -> Dropout(0.5)
 *          -> Dense(10, softmax).  The rescaling lets Adam's default rate
 *          train it in as many epochs as the CNN.
 *   text2: a second text model for the late fusion: its own
 *          TextVectorization (tf_idf over character 1..2-grams, the 10000
 *          most frequent, sublinear tf 1 + log(tf)), unit rows ->
 *          Input(10000) -> Rescaling(100) -> Dense(10, softmax) with an L2
 *          penalty 0.4 on its kernel (a regularised logistic regression),
 *          30 epochs; chosen out of fold (--tune=textcv, variant 26) for
 *          what it adds to the text branch when stacked.
 *   text3: a third text model for the late fusion, on the text branch's
 *          features: Rescaling(30) -> Dense(256, relu) -> Dropout(0.5) ->
 *          Dense(10, softmax) (the best of the text variants out of fold,
 *          --tune=textcv).
 *   text4: the text2 model (its own TextVectorization, adapted the same
 *          way) on each caption's first 100 characters only (cut at a
 *          character boundary): another view of the caption, its title and
 *          the start of its text; chosen out of fold (--tune=textcv,
 *          variants 28-32, stacked by auto) for what it adds to the late
 *          fusion (examples/webnews-results.md).
 *   title: the text2 model (its own TextVectorization) on each caption up
 *          to its first ASCII space (the whole caption when it has none):
 *          its title (since session 17).
 *   nbsvm: Wang & Manning's NB-SVM (2012) with a logistic loss: a
 *          TextVectorization (multi_hot over character 1..3-grams, the
 *          20000 most frequent); on each fold's training part, per class c
 *          the log-count ratio r_c of the features between c's captions and
 *          the others', and a binary Input(V) -> Dense(1, sigmoid) with an
 *          L2 penalty (c against the rest) on the rows x * r_c; the softmax
 *          over the ten logits (since session 17).  title and nbsvm were
 *          chosen out of fold for what they add to the late fusion
 *          (examples/webnews-results.md, "Session 17").
 * The folds: the training items in 5 stratified folds; fold f's members
 * (image, text, text2, text3, text4, title, nbsvm) are trained on the
 * other folds and give the out-of-fold outputs on fold f and test outputs;
 * the test outputs of the five fold models are averaged (bagging: no model
 * is refitted on all items).  With
 * --repeats R (repeated k-fold bagging, AutoGluon's num_bag_sets) the
 * members are trained over R draws of the folds, each with its own seed
 * (draw 0: the folds and seeds of a run with R = 1, to the bit): a training
 * item's out-of-fold output is the mean of its R out-of-fold outputs (each
 * by a model that did not see it), a member's test output the mean of its
 * R x 5 fold models.  The models below that are trained in the folds
 * besides the members (wavg_loss_weights, wavg_frozen, concat_head_frozen)
 * stay in draw 0's folds.
 * Models, scored on the test items (role "trap": the joint-training trap,
 * shown; "remedy": its remedies):
 *   image, text, text2, text3, text4, title, nbsvm
 *                      each branch alone: the mean of its fold models
 *                      (five, or 5 x R with --repeats R)
 *   concat_head        (trap) the question's head over the two softmax
 *                      outputs, Concatenate -> Dense(128, relu) ->
 *                      Dropout(0.2) -> Dense(10, softmax), trained end to
 *                      end from scratch on all training items
 *   wavg, wavg_class   (trap) the answer's WeightedAverage
 *                      (ClassWeightedAverage) over the two softmax outputs,
 *                      end to end from scratch; the learned softmax(W)
 *                      printed
 *   wavg_loss_weights  wavg with the branches' softmax outputs also model
 *                      outputs, Keras' loss_weights 1, 0.5, 0.5: each
 *                      branch keeps a loss of its own; per fold (of draw
 *                      0), trained on the other folds, the five models'
 *                      test outputs averaged
 *   wavg_frozen, concat_head_frozen
 *                      per fold (of draw 0), the fold's image and text models (trained
 *                      apart) copied in by layer name and frozen
 *                      (trainable = 0); only the fusion layer trains, on
 *                      the fold's held-out items (which the branches have
 *                      not seen); the five models' test outputs averaged;
 *                      wavg_frozen with Adam's learning rate 0.01 (its two
 *                      weights only: at 0.001, 30 epochs of 11 steps leave
 *                      softmax(W) near 0.37 / 0.63, far from the 0.05 / 0.95
 *                      that minimises the log-loss of the out-of-fold
 *                      outputs)
 *   late_fusion        two-stage late fusion: the fusion library's auto
 *                      (lf_fusion_fit, LF_FUSE_AUTO) fitted on the
 *                      out-of-fold outputs of image and text, applied to
 *                      their bagged test outputs
 *   late_fusion_all    the same over the seven members
 * Choices (sizes, epochs, TEXT_SCALE, the image branch's resolution and
 * BatchNormalization momentum) were made with --tune (a validation split of
 * the training items) or out of fold; the test items are only scored.
 *
 * Usage: webnews DATA_DIR [--quick] [--json] [--seed S] [--folds K]
 *                         [--repeats R] [--verbose] [--md FILE] [--oof DIR]
 *                         [--members LIST] [--img POOL,F1,F2,F3,F4[,EPOCHS]]
 *                         [--nbsvm TOKENS,EPOCHS,L2,LR]
 *        webnews DATA_DIR --methods OOF_DIR [--seed S]
 *        webnews DATA_DIR --tune[=image|=text] [--quick]
 *        webnews DATA_DIR --tune=textcv[:I,J,...] [--quick] [--seed S]
 *                         [--folds K] [--oof DIR]
 *   --quick    a subset of 400 training items, 8 epochs, 3 folds, one fold
 *              draw unless --repeats is given (the test)
 *   --json     end with one line: a JSON object of each model's test accuracy
 *   --seed S   the models' seed (default 1)
 *   --repeats R  the members trained over R draws of the folds, 1..20
 *              (default 4, with --quick 1; see "The folds" above); draw r's folds
 *              and models take the seed S + 1000003 r.  With --oof DIR and
 *              R > 1 also each draw's out-of-fold outputs,
 *              DIR/NAME_draw0.npy ... (the mean of fewer draws can be
 *              scored from them)
 *   --md FILE  also write the results table as markdown to FILE
 *   --methods OOF_DIR  every fusion method, with and without calibration,
 *              fitted on the out-of-fold outputs that a full run with
 *              --oof OOF_DIR (and the same --seed) wrote, over image and
 *              text and over all seven members, scored on the test items: a
 *              markdown table (examples/webnews-results.md, "Every fusion
 *              method"); nothing but the fusions is trained (half a minute)
 *   --tune     the validation accuracy per epoch of each branch trained on
 *              the first 80 % of the training items (=image, =text: those
 *              variants only), and at the end of the fit without and with
 *              test-time flips, then exits
 *   --tune=textcv  the text variants (character n-grams, the captions' first
 *              characters, max_tokens, sublinear tf, NB weighting, hidden
 *              size, epochs; all or
 *              those numbered I, J, ...) scored out of fold on the training
 *              items (K folds, default 5), then exits; --oof DIR writes
 *              each variant's out-of-fold outputs to DIR/textI.npy (and a
 *              full run's members' to DIR/image.npy, DIR/text.npy, ...)
 *   --members LIST  only those members (of image, text, text2, text3,
 *              text4, title, nbsvm, comma-separated) in the folds: each one's
 *              out-of-fold accuracy and log-loss, with --oof DIR its
 *              outputs; no fused model (to compare an image branch by
 *              what auto makes of it: `latefuse fit --method auto` on the
 *              .npy files in DIR; the text members do not depend on it)
 *   --img POOL,F1,F2,F3,F4[,EPOCHS]  the image branch: AveragePooling2D(2)
 *              at the input (1) or not (0), its four Conv2D's filters,
 *              its epochs (default: the other models')
 *   --nbsvm TOKENS,EPOCHS,L2,LR  the nbsvm member: its max_tokens, epochs,
 *              L2 penalty and Adam's learning rate (to choose them out of
 *              fold with --members nbsvm)
 * Exit status: 0 success, 2 bad usage or missing data, 1 other errors.
 * Build: make; run from the repository root:
 *   ./build/examples/webnews ../shared/data/webnews
 */
#include <latefuse.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tempfile.h"

enum { C = 10, SIDE = 64, PIX = SIDE * SIDE * 3, MAX_MODELS = 16 };

/* Adam's learning rate for wavg_frozen (see above; every other model
 * takes Keras' default 0.001). */
static const float WAVG_FROZEN_LR = 0.01f;

/* The fold draws the members are trained over by default (--repeats), and
 * the most --repeats takes.  Chosen on the training items: see
 * examples/webnews-results.md, "Session 15". */
enum { REPEATS = 4, MAX_REPEATS = 20 };

/* What --tune chose (see examples/webnews-results.md). */
typedef struct config {
    size_t tokens;        /* TextVectorization max_tokens */
    float text_scale;     /* Rescaling of the unit-norm tf_idf rows */
    int strided;          /* the image branch's first convolution with
                             stride 2 instead of AveragePooling2D(2) */
    int img_pool;         /* AveragePooling2D(2) at the input (to 32x32) */
    size_t filters[4];    /* the image branch's four Conv2D */
    float bn_momentum;    /* its BatchNormalization's */
    int tta;              /* the models with an image input predict on the
                             mirror images too and average (test-time
                             augmentation); out of fold it did not help */
    float ema;            /* > 0: the models with an image input keep a
                             moving average of their weights (Adam's
                             use_ema, this momentum) and end on it */
    size_t text_hidden;   /* 0: Dense(10, softmax) on the features (a
                             logistic regression); else Dense(hidden,
                             relu) -> Dropout(0.5) first */
    size_t epochs;        /* every model trained from scratch */
    size_t frozen_epochs; /* the fusion layer over frozen branches */
    size_t folds;         /* late fusion's out-of-fold outputs */
    size_t n_train;       /* 0: every training item */
    uint64_t seed;
    /* the second text model (text2): its own TextVectorization */
    size_t tokens2;       /* max_tokens */
    size_t ngram2_min, ngram2_max; /* character n-grams */
    float text2_scale;
    size_t text2_hidden;
    size_t text2_epochs;
    size_t text2_dim;     /* set after adapt: its feature count */
    /* the third text model (text3), on the text branch's features */
    size_t text3_hidden;
    size_t text3_epochs;
    float text_l2;        /* > 0: an L2 penalty on txt_out's kernel
                             (lf_set_l2; --tune=textcv only) */
    float text2_l2;       /* > 0: the same on txt2_out's kernel */
    int text2_sublinear;  /* text2's tf -> 1 + log(tf) (scikit-learn's sublinear_tf) */
    /* the fourth text model (text4): text2's on the captions' beginnings */
    size_t text4_chars;   /* each caption's first text4_chars characters */
    size_t text4_dim;     /* set after adapt: its feature count */
    size_t img_epochs;    /* > 0: the image member's epochs instead (--img) */
    unsigned members;     /* != 0: only these members (bit j: MEMBER_NAMES[j]) in
                             the folds, no fused model (--members) */
    size_t repeats;       /* fold draws the members are trained over (--repeats):
                             their out-of-fold outputs the mean over the draws,
                             their test outputs over every fold model */
    size_t title_dim;     /* title (text2's model on the captions' titles):
                             set after adapt, its feature count */
    /* nbsvm: NB-weighted one-vs-rest logistic regressions (--nbsvm) */
    size_t nbsvm_tokens;  /* its TextVectorization's max_tokens (multi_hot) */
    size_t nbsvm_epochs;
    float nbsvm_l2;       /* the L2 penalty on each binary model's kernel */
    float nbsvm_lr;       /* Adam's learning rate */
    size_t nbsvm_dim;     /* set after adapt: its feature count */
} config;

static const config FULL = {10000, 30.0f, 0, 1, {16, 32, 64, 128}, 0.9f, 0, 0, 64, 25, 30, 5, 0, 1, 10000, 1, 2, 100.0f, 0, 30, 0, 256, 25, 0.0f, 0.4f, 1, 100, 0, 0, 0, REPEATS,
                            0, 20000, 20, 1e-3f, 0.001f, 0};
/* --quick (the test): one fold draw unless --repeats says otherwise */
static const config QUICK = {5000, 30.0f, 0, 1, {16, 32, 64, 128}, 0.9f, 0, 0, 64, 8, 4, 3, 400, 1, 5000, 1, 2, 100.0f, 0, 8, 0, 256, 8, 0.0f, 0.4f, 1, 100, 0, 0, 0, 1,
                             0, 5000, 8, 1e-3f, 0.001f, 0};

/* ------------------------------------------------------------- helpers */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int verbose;

/* Epoch lines on stderr with --verbose. */
static void epoch_lines(void *ctx, const lf_progress *p) {
    char line[256];
    (void)ctx;
    if (p->event == LF_PROGRESS_STEP || p->event == LF_PROGRESS_METHOD || p->event == LF_PROGRESS_METHODS_DONE)
        return;
    lf_progress_format(p, line, sizeof line);
    fputs(line, stderr);
}

/* The data: images uint8 (n, 64, 64, 3), the tf_idf rows (n, dim), the
 * labels as ints and as the floats fit takes. */
typedef struct split {
    size_t n;
    uint8_t *img;
    float *txt, *txt2, *txt4; /* the three tf_idf text views */
    float *txtt;              /* the titles' (title) */
    float *txtn;              /* the multi_hot character n-grams (nbsvm) */
    size_t dim2, dim4, dimt, dimn; /* txt2's, txt4's, txtt's and txtn's columns */
    int *y;
    float *yf;
} split;

static void split_free(split *s) {
    free(s->img), free(s->txt), free(s->txt2), free(s->txt4), free(s->txtt), free(s->txtn), free(s->y), free(s->yf);
    memset(s, 0, sizeof *s);
}

static int split_alloc(split *s, size_t n, size_t dim, size_t dim2, size_t dim4, size_t dimt, size_t dimn) {
    s->n = n, s->dim2 = dim2, s->dim4 = dim4, s->dimt = dimt, s->dimn = dimn;
    s->img = malloc(n * PIX);
    s->txt = malloc(n * dim * sizeof(float));
    s->txt2 = malloc(n * dim2 * sizeof(float));
    s->txt4 = malloc(n * dim4 * sizeof(float));
    s->txtt = malloc(n * dimt * sizeof(float));
    s->txtn = malloc(n * dimn * sizeof(float));
    s->y = malloc(n * sizeof(int));
    s->yf = malloc(n * sizeof(float));
    return s->img && s->txt && s->txt2 && s->txt4 && s->txtt && s->txtn && s->y && s->yf;
}

/* The rows `rows` (n of them) of src into dst. */
static int split_rows(split *dst, const split *src, const size_t *rows, size_t n, size_t dim) {
    size_t d2 = src->dim2, d4 = src->dim4, dt = src->dimt, dn = src->dimn;
    if (!split_alloc(dst, n, dim, d2, d4, dt, dn)) return 0;
    for (size_t i = 0; i < n; i++) {
        size_t r = rows[i];
        memcpy(dst->img + i * PIX, src->img + r * PIX, PIX);
        memcpy(dst->txt + i * dim, src->txt + r * dim, dim * sizeof(float));
        memcpy(dst->txt2 + i * d2, src->txt2 + r * d2, d2 * sizeof(float));
        memcpy(dst->txt4 + i * d4, src->txt4 + r * d4, d4 * sizeof(float));
        memcpy(dst->txtt + i * dt, src->txtt + r * dt, dt * sizeof(float));
        memcpy(dst->txtn + i * dn, src->txtn + r * dn, dn * sizeof(float));
        dst->y[i] = src->y[r], dst->yf[i] = src->yf[r];
    }
    return 1;
}

/* A uint8 .npy of shape (n, 64, 64, 3) (lf_ndarray_read checks the file;
 * the shape is checked here).  NULL with a message on stderr. */
static uint8_t *read_images(const char *path, size_t n) {
    lf_ndarray a;
    char err[512];
    if (lf_ndarray_read(path, &a, err, sizeof err) != LF_OK) {
        fprintf(stderr, "webnews: %s\n", err);
        return NULL;
    }
    uint8_t *img = NULL;
    if (a.dtype == LF_DTYPE_UINT8 && a.rank == 4 && a.shape[0] == n && a.shape[1] == SIDE && a.shape[2] == SIDE &&
        a.shape[3] == 3 && (img = malloc(n * PIX)))
        memcpy(img, a.data, n * PIX);
    else
        fprintf(stderr, "webnews: '%s' is not a uint8 .npy of shape (%zu, %d, %d, 3)\n", path, n, SIDE, SIDE);
    lf_ndarray_free(&a);
    return img;
}

static void l2_rows(float *x, size_t n, size_t d);

/* Labels of a split: a .npy of class indices; *y and *yf allocated,
 * *n their count.  0 with a message on stderr. */
static int read_labels(const char *path, int **y, float **yf, size_t *n) {
    lf_matrix m;
    char err[512];
    if (lf_matrix_read(path, &m, err, sizeof err) != LF_OK) {
        fprintf(stderr, "webnews: %s\n", err);
        return 0;
    }
    *n = m.rows;
    *y = malloc(m.rows * sizeof(int)), *yf = malloc(m.rows * sizeof(float));
    int ok = *y && *yf && m.cols == 1;
    for (size_t i = 0; ok && i < m.rows; i++) {
        float v = m.data[i];
        ok = v >= 0 && v < C && v == floorf(v);
        if (ok) (*y)[i] = (int)v, (*yf)[i] = v;
    }
    if (!ok) fprintf(stderr, "webnews: '%s' is not a column of labels in 0..%d\n", path, C - 1);
    lf_matrix_free(&m);
    return ok;
}

static void sublinear_rows(const lf_textvec *tv, float *x, size_t n, size_t d);

/* The rows of n texts by tv (adapting it on them first when adapt); for
 * tf_idf (unit), tf replaced by 1 + log(tf) when sublinear, then scaled to
 * unit L2 norm; into *out (allocated).  0 with a message on stderr. */
static int vectorize(lf_textvec *tv, const char *const *t, size_t n, int adapt, int sublinear, int unit,
                     float **out) {
    int ok = !adapt || lf_textvec_adapt(tv, t, n) == LF_OK;
    size_t dim = lf_textvec_output_dim(tv);
    if (ok && !(*out = malloc(n * dim * sizeof(float)))) {
        fprintf(stderr, "webnews: out of memory\n");
        return 0;
    }
    ok = ok && lf_textvec_transform(tv, t, n, *out) == LF_OK;
    if (!ok) {
        fprintf(stderr, "webnews: %s\n", lf_textvec_error(tv));
        return 0;
    }
    if (sublinear) sublinear_rows(tv, *out, n, dim);
    if (unit) l2_rows(*out, n, dim);
    return 1;
}

/* The first `chars` characters of each of the n UTF-8 texts t (cut at a
 * character boundary: a continuation byte 10xxxxxx never starts one), as
 * n strings in one allocation; NULL when out of memory. */
static char **first_chars(const char *const *t, size_t n, size_t chars) {
    size_t bytes = n * sizeof(char *);
    for (size_t i = 0; i < n; i++) bytes += strlen(t[i]) + 1;
    char **out = malloc(bytes), *p = out ? (char *)(out + n) : NULL;
    for (size_t i = 0; out && i < n; i++) {
        const unsigned char *s = (const unsigned char *)t[i];
        size_t len = 0, c = 0;
        for (; s[len]; len++) /* up to the first byte of character chars + 1 */
            if ((s[len] & 0xC0) != 0x80 && c++ == chars) break;
        out[i] = p;
        memcpy(p, s, len), p[len] = '\0', p += len + 1;
    }
    return out;
}

/* Each of the n texts t up to its first ASCII space (the whole text when
 * it has none; a byte 0x20 is never inside a UTF-8 character): the
 * caption's title.  n strings in one allocation; NULL when out of memory. */
static char **titles(const char *const *t, size_t n) {
    size_t bytes = n * sizeof(char *);
    for (size_t i = 0; i < n; i++) bytes += strcspn(t[i], " ") + 1;
    char **out = malloc(bytes), *p = out ? (char *)(out + n) : NULL;
    for (size_t i = 0; out && i < n; i++) {
        size_t len = strcspn(t[i], " ");
        out[i] = p;
        memcpy(p, t[i], len), p[len] = '\0', p += len + 1;
    }
    return out;
}

/* The text vectorizers of load_split, by the view they make. */
enum { TV_TEXT, TV_TEXT2, TV_TEXT4, TV_TITLE, TV_NBSVM, N_TV };

/* One part ("train" or "test") of the data folder: labels, images, and
 * the tf_idf rows of the captions by tv[TV_TEXT] and tv[TV_TEXT2], of
 * their first text4_chars characters by tv[TV_TEXT4] and of their titles
 * by tv[TV_TITLE] (the last three with sublinear tf when sublinear2), and
 * the captions' multi_hot rows by tv[TV_NBSVM] (adapting each first on the
 * training captions); the first n_max items only when n_max > 0. */
static int load_split(const char *dir, const char *part, lf_textvec *const *tv, int sublinear2, size_t text4_chars,
                      size_t n_max, split *s) {
    char path[4096];
    char **texts = NULL;
    size_t n_texts = 0, n_file = 0;
    memset(s, 0, sizeof *s);
    snprintf(path, sizeof path, "%s/%s_labels.npy", dir, part);
    if (!read_labels(path, &s->y, &s->yf, &n_file)) return 0;
    snprintf(path, sizeof path, "%s/%s_images.npy", dir, part);
    if (!(s->img = read_images(path, n_file))) return 0;
    snprintf(path, sizeof path, "%s/%s_texts.txt", dir, part);
    if (lf_textvec_read_lines(tv[TV_TEXT], path, &texts, &n_texts) != LF_OK) {
        fprintf(stderr, "webnews: %s\n", lf_textvec_error(tv[TV_TEXT]));
        return 0;
    }
    int ok = n_texts == n_file;
    if (!ok) fprintf(stderr, "webnews: '%s' has %zu captions for %zu labels\n", path, n_texts, n_file);
    s->n = n_max && n_max < n_file ? n_max : n_file;
    const char *const *t = (const char *const *)texts;
    int adapt = strcmp(part, "train") == 0;
    ok = ok && vectorize(tv[TV_TEXT], t, s->n, adapt, 0, 1, &s->txt) &&
         vectorize(tv[TV_TEXT2], t, s->n, adapt, sublinear2, 1, &s->txt2) &&
         vectorize(tv[TV_NBSVM], t, s->n, adapt, 0, 0, &s->txtn);
    char **head = ok ? first_chars(t, s->n, text4_chars) : NULL, **title = ok ? titles(t, s->n) : NULL;
    if (ok && (!head || !title)) fprintf(stderr, "webnews: out of memory\n"), ok = 0;
    ok = ok && vectorize(tv[TV_TEXT4], (const char *const *)head, s->n, adapt, sublinear2, 1, &s->txt4) &&
         vectorize(tv[TV_TITLE], (const char *const *)title, s->n, adapt, sublinear2, 1, &s->txtt);
    s->dim2 = lf_textvec_output_dim(tv[TV_TEXT2]), s->dim4 = lf_textvec_output_dim(tv[TV_TEXT4]);
    s->dimt = lf_textvec_output_dim(tv[TV_TITLE]), s->dimn = lf_textvec_output_dim(tv[TV_NBSVM]);
    free(head), free(title);
    lf_textvec_lines_free(texts);
    return ok;
}

/* Rows scaled to unit L2 norm (an empty caption stays 0). */
static void l2_rows(float *x, size_t n, size_t d) {
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < d; j++) s += (double)x[i * d + j] * x[i * d + j];
        if (s > 0)
            for (size_t j = 0; j < d; j++) x[i * d + j] = (float)(x[i * d + j] / sqrt(s));
    }
}

/* ------------------------------------------------------------- models */

enum kind { K_IMAGE, K_TEXT, K_CONCAT, K_WAVG, K_WAVG_CLASS, K_WAVG_LW, K_WAVG_FROZEN, K_CONCAT_FROZEN, K_TEXT2,
           K_TEXT3, K_TEXT4, K_TITLE, K_NBSVM };

/* The image branch on input node `in`; returns its softmax node. */
static int image_branch(lf_model *m, int in, const config *cfg) {
    char name[64];
    int h = lf_rescaling(m, in, 1.0f / 255.0f, 0.0f, "img_rescale");
    h = lf_random_flip(m, h, LF_FLIP_HORIZONTAL, "img_flip");
    /* Keras' RandomTranslation(0.1, 0.1, fill_mode="constant",
     * interpolation="nearest"): measured out of fold against Keras'
     * defaults (reflect, bilinear) in examples/webnews-results.md */
    lf_translation_options shift = lf_translation_defaults(0.1f, 0.1f);
    shift.fill_mode = LF_FILL_CONSTANT, shift.interpolation = LF_INTERP_NEAREST;
    h = lf_random_translation_opt(m, h, &shift, "img_shift");
    if (!cfg->strided && cfg->img_pool) h = lf_average_pooling2d(m, h, 2, 2, 0, 0, LF_PADDING_VALID, "img_down");
    for (int b = 0; b < 4; b++) {
        size_t st = cfg->strided && b == 0 ? 2 : 1;
        snprintf(name, sizeof name, "img_conv%d", b + 1);
        h = lf_conv2d(m, h, cfg->filters[b], 3, 3, st, st, LF_PADDING_SAME, LF_ACT_LINEAR, 0, name);
        snprintf(name, sizeof name, "img_bn%d", b + 1);
        h = lf_batch_normalization(m, h, cfg->bn_momentum, 1e-3f, name);
        snprintf(name, sizeof name, "img_relu%d", b + 1);
        h = lf_activation_layer(m, h, LF_ACT_RELU, name);
        snprintf(name, sizeof name, "img_pool%d", b + 1);
        h = lf_max_pooling2d(m, h, 2, 2, 0, 0, LF_PADDING_VALID, name);
    }
    h = lf_global_average_pooling2d(m, h, "img_gap");
    h = lf_dropout(m, h, 0.3f, "img_drop");
    return lf_dense(m, h, C, LF_ACT_SOFTMAX, 1, "img_out");
}

/* The layers of the branches that hold weights (copied by name). */
static const char *const WEIGHTED[] = {"img_conv1", "img_bn1", "img_conv2", "img_bn2", "img_conv3", "img_bn3",
                                       "img_conv4", "img_bn4", "img_out",   "txt_dense", "txt_out"};
enum { N_WEIGHTED = sizeof WEIGHTED / sizeof WEIGHTED[0] };

/* Dense(10, softmax) named name on h, with an L2 penalty l2 on its kernel
 * when l2 > 0 (lf_set_l2); -1 on failure */
static int text_out(lf_model *m, int h, float l2, const char *name) {
    int out = lf_dense(m, h, C, LF_ACT_SOFTMAX, 1, name);
    return out >= 0 && l2 > 0 && lf_set_l2(m, out, l2) != LF_OK ? -1 : out;
}

static int text_branch(lf_model *m, int in, const config *cfg) {
    int h = lf_rescaling(m, in, cfg->text_scale, 0.0f, "txt_scale");
    if (cfg->text_hidden) {
        h = lf_dense(m, h, cfg->text_hidden, LF_ACT_RELU, 1, "txt_dense");
        h = lf_dropout(m, h, 0.5f, "txt_drop");
    }
    return text_out(m, h, cfg->text_l2, "txt_out");
}

/* The second text model, on the second view (txt2; pre "txt2"), or the
 * same model on the captions' beginnings (txt4; pre "txt4"). */
static int text2_branch(lf_model *m, int in, const config *cfg, const char *pre) {
    char name[32];
    snprintf(name, sizeof name, "%s_scale", pre);
    int h = lf_rescaling(m, in, cfg->text2_scale, 0.0f, name);
    if (cfg->text2_hidden) {
        snprintf(name, sizeof name, "%s_dense", pre);
        h = lf_dense(m, h, cfg->text2_hidden, LF_ACT_RELU, 1, name);
        snprintf(name, sizeof name, "%s_drop", pre);
        h = lf_dropout(m, h, 0.5f, name);
    }
    snprintf(name, sizeof name, "%s_out", pre);
    return text_out(m, h, cfg->text2_l2, name);
}

/* The third text model, on the text branch's features: a wider hidden
 * layer (chosen out of fold by --tune=textcv). */
static int text3_branch(lf_model *m, int in, const config *cfg) {
    int h = lf_rescaling(m, in, cfg->text_scale, 0.0f, "txt3_scale");
    h = lf_dense(m, h, cfg->text3_hidden, LF_ACT_RELU, 1, "txt3_dense");
    h = lf_dropout(m, h, 0.5f, "txt3_drop");
    return lf_dense(m, h, C, LF_ACT_SOFTMAX, 1, "txt3_out");
}

/* Builds and compiles model `k` (Adam, Keras' defaults; sparse categorical
 * cross-entropy on every output).  *fuse gets the fusion layer's node (-1
 * for a branch alone). */
static lf_status build(lf_model *m, enum kind k, size_t text_dim, const config *cfg, int *fuse) {
    static const size_t img_dims[3] = {SIDE, SIDE, 3};
    int img = -1, txt = -1, pi = -1, pt = -1, out = -1;
    *fuse = -1;
    if (k == K_TEXT2 || k == K_TEXT3 || k == K_TEXT4 || k == K_TITLE) {
        out = k == K_TEXT2   ? text2_branch(m, lf_input(m, cfg->text2_dim, "text2"), cfg, "txt2")
              : k == K_TEXT4 ? text2_branch(m, lf_input(m, cfg->text4_dim, "text4"), cfg, "txt4")
              : k == K_TITLE ? text2_branch(m, lf_input(m, cfg->title_dim, "title"), cfg, "ttl")
                             : text3_branch(m, lf_input(m, text_dim, "text3"), cfg);
        lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
        return lf_model_compile(m, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &opt);
    }
    if (k != K_TEXT) {
        img = lf_input_shape(m, 3, img_dims, LF_DTYPE_FLOAT32, "image");
        pi = image_branch(m, img, cfg);
    }
    if (k != K_IMAGE) {
        txt = lf_input(m, text_dim, "text");
        pt = text_branch(m, txt, cfg);
    }
    int both[2] = {pi, pt};
    switch (k) {
    case K_IMAGE: out = pi; break;
    case K_TEXT: out = pt; break;
    case K_CONCAT:
    case K_CONCAT_FROZEN: {
        int h = lf_concatenate(m, 2, both, "concatenate");
        h = lf_dense(m, h, 128, LF_ACT_RELU, 1, "head_dense");
        h = lf_dropout(m, h, 0.2f, "head_dropout");
        out = *fuse = lf_dense(m, h, C, LF_ACT_SOFTMAX, 1, "head_out");
        break;
    }
    case K_WAVG:
    case K_WAVG_LW:
    case K_WAVG_FROZEN: out = *fuse = lf_weighted_average(m, 2, both, -1, "weighted_average"); break;
    case K_WAVG_CLASS: out = *fuse = lf_class_weighted_average(m, 2, both, -1, "class_weighted_average"); break;
    case K_TEXT2:
    case K_TEXT3:
    case K_TEXT4:
    case K_TITLE:
    case K_NBSVM: break;
    }
    lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
    if (k == K_WAVG_FROZEN) opt.learning_rate = WAVG_FROZEN_LR;
    if (cfg->ema > 0 && k != K_TEXT && k != K_TEXT2) opt.use_ema = 1, opt.ema_momentum = cfg->ema;
    if (k == K_WAVG_LW) {
        int outs[3] = {out, pi, pt};
        lf_loss losses[3] = {LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                             LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY};
        float weights[3] = {1.0f, 0.5f, 0.5f};
        return lf_model_compile_outputs(m, 3, outs, losses, weights, &opt);
    }
    return lf_model_compile(m, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &opt);
}

/* Copies every weight of the branch layers that both models have from
 * src into dst, and freezes them in dst. */
static lf_status transplant(lf_model *dst, lf_model *src) {
    for (size_t l = 0; l < N_WEIGHTED; l++) {
        const char *name = WEIGHTED[l];
        int node = lf_node_find(dst, name);
        if (node < 0 || lf_node_find(src, name) < 0) continue;
        for (size_t i = 0; i < lf_layer_num_weights(src, name); i++) {
            size_t shape[2], count;
            lf_status st = lf_layer_weight_shape(src, name, i, shape, &count);
            float *w = st == LF_OK ? malloc(count * sizeof *w) : NULL;
            if (st == LF_OK && !w) st = LF_ERR_NOMEM;
            if (st == LF_OK) st = lf_get_weights(src, name, i, w, count);
            if (st == LF_OK) st = lf_set_weights(dst, name, i, w, count);
            free(w);
            if (st != LF_OK) return st;
        }
        lf_status st = lf_set_trainable(dst, node, 0);
        if (st != LF_OK) return st;
    }
    return LF_OK;
}

/* The input arrays of model kind k for split s. */
static size_t inputs_of(enum kind k, const split *s, lf_typed_array *x) {
    size_t n = 0;
    if (k == K_TEXT2) {
        x[0].dtype = LF_DTYPE_FLOAT32, x[0].data = s->txt2;
        return 1;
    }
    if (k == K_TEXT3) {
        x[0].dtype = LF_DTYPE_FLOAT32, x[0].data = s->txt;
        return 1;
    }
    if (k == K_TEXT4 || k == K_TITLE) {
        x[0].dtype = LF_DTYPE_FLOAT32, x[0].data = k == K_TEXT4 ? s->txt4 : s->txtt;
        return 1;
    }
    if (k != K_TEXT) x[n].dtype = LF_DTYPE_UINT8, x[n++].data = s->img;
    if (k != K_IMAGE) x[n].dtype = LF_DTYPE_FLOAT32, x[n++].data = s->txt;
    return n;
}

/* A trained model and what it learned. */
typedef struct trained {
    lf_model *m;
    int fuse; /* the fusion layer's node, or -1 */
} trained;

/* Builds model k, (for the frozen kinds) copies the branches of img and
 * txt into it and freezes them, and trains it on tr. */
static lf_status fit_model(trained *t, enum kind k, const split *tr, size_t text_dim, const config *cfg,
                           lf_model *img, lf_model *txt) {
    lf_status st = lf_model_create(&t->m, cfg->seed + 1000 * (uint64_t)k);
    if (st != LF_OK) return st;
    st = build(t->m, k, text_dim, cfg, &t->fuse);
    if (st == LF_OK && (k == K_WAVG_FROZEN || k == K_CONCAT_FROZEN)) {
        st = transplant(t->m, img);
        if (st == LF_OK) st = transplant(t->m, txt);
    }
    lf_typed_array x[2];
    inputs_of(k, tr, x);
    const float *ys[3] = {tr->yf, tr->yf, tr->yf};
    lf_fit_options fo = lf_fit_defaults();
    fo.batch_size = 32;
    fo.epochs = (k == K_WAVG_FROZEN || k == K_CONCAT_FROZEN) ? cfg->frozen_epochs
                : k == K_TEXT2 || k == K_TEXT4 || k == K_TITLE ? cfg->text2_epochs
                : k == K_TEXT3                                ? cfg->text3_epochs
                : k == K_IMAGE && cfg->img_epochs             ? cfg->img_epochs
                                                              : cfg->epochs;
    fo.seed = cfg->seed + 77 * (uint64_t)k;
    if (verbose) fo.progress = epoch_lines;
    if (st == LF_OK) st = lf_model_fit_arrays(t->m, x, ys, tr->n, &fo);
    return st;
}

/* The n images of src mirrored left to right into dst (n x 64 x 64 x 3). */
static void flip_images(const uint8_t *src, size_t n, uint8_t *dst) {
    for (size_t i = 0; i < n * SIDE; i++) /* each row of each image */
        for (size_t c = 0; c < SIDE; c++)
            memcpy(dst + (i * SIDE + c) * 3, src + (i * SIDE + SIDE - 1 - c) * 3, 3);
}

/* The probabilities of model t (kind k) on s (s->n x C; output 0's for
 * several outputs) into prob; with tta, a model with an image input
 * predicts on the images and on their mirror images (test-time
 * augmentation, the flip the training saw) and averages the two. */
static lf_status predict_model(const trained *t, enum kind k, const split *s, int tta, float *prob) {
    lf_typed_array x[2];
    inputs_of(k, s, x);
    size_t no = lf_model_num_outputs(t->m), n = s->n;
    tta = tta && (k == K_IMAGE || k == K_CONCAT || k == K_WAVG || k == K_WAVG_CLASS || k == K_WAVG_LW ||
                  k == K_WAVG_FROZEN || k == K_CONCAT_FROZEN);
    float *scratch[3] = {prob, NULL, NULL}, *p2 = tta ? malloc(n * C * sizeof(float)) : NULL;
    uint8_t *flip = tta ? malloc(n * PIX) : NULL;
    lf_status st = !tta || (p2 && flip) ? LF_OK : LF_ERR_NOMEM;
    for (size_t o = 1; o < no && st == LF_OK; o++)
        if (!(scratch[o] = malloc(n * C * sizeof(float)))) st = LF_ERR_NOMEM;
    if (st == LF_OK) st = lf_model_predict_arrays(t->m, x, n, scratch);
    if (st == LF_OK && tta) {
        flip_images(s->img, n, flip);
        x[0].data = flip, scratch[0] = p2;
        st = lf_model_predict_arrays(t->m, x, n, scratch);
        for (size_t i = 0; st == LF_OK && i < n * C; i++) prob[i] = 0.5f * (prob[i] + p2[i]);
    }
    free(scratch[1]), free(scratch[2]), free(p2), free(flip);
    return st;
}

/* fit_model, then predict_model on te. */
static lf_status train_model(trained *t, enum kind k, const split *tr, const split *te, size_t text_dim,
                             const config *cfg, lf_model *img, lf_model *txt, float *prob) {
    lf_status st = fit_model(t, k, tr, text_dim, cfg, img, txt);
    return st == LF_OK ? predict_model(t, k, te, cfg->tta, prob) : st;
}

/* nbsvm (Wang & Manning 2012, "Baselines and Bigrams", their NB-SVM with a
 * logistic loss): on tr's multi_hot rows x (txtn), for each class c the
 * log-count ratio r_c = log((p / |p|_1) / (q / |q|_1)), p = 1 + the column
 * sums over c's rows, q = 1 + those over the other rows; a binary model
 * Input(V) -> Dense(1, sigmoid) with an L2 penalty on its kernel, trained
 * on x * r_c (c against the rest; the engine has no fixed per-feature
 * scaling, so the products are a float matrix here); its logit on a row
 * is b + sum_j x_j r_cj w_j.  The probabilities on each of the n_out
 * splits out[i] (into prob[i], out[i]->n x C) are the softmax over the
 * ten logits. */
static lf_status nbsvm_fit_predict(const split *tr, const config *cfg, size_t n_out, const split *const *out,
                                   float *const *prob) {
    size_t n = tr->n, d = tr->dimn, n_all = 0;
    for (size_t i = 0; i < n_out; i++) n_all += out[i]->n;
    double *cnt = calloc((C + 1) * d, sizeof *cnt), *logit = malloc(n_all * C * sizeof *logit);
    float *r = malloc(d * sizeof *r), *w = malloc(d * sizeof *w), *xr = malloc(n * d * sizeof *xr),
          *yb = malloc(n * sizeof *yb);
    lf_status st = cnt && logit && r && w && xr && yb ? LF_OK : LF_ERR_NOMEM;
    /* cnt rows 0..C-1: each class's column sums; row C: every row's */
    for (size_t i = 0; st == LF_OK && i < n; i++)
        for (size_t j = 0; j < d; j++)
            cnt[(size_t)tr->y[i] * d + j] += tr->txtn[i * d + j], cnt[C * d + j] += tr->txtn[i * d + j];
    for (size_t c = 0; st == LF_OK && c < C; c++) {
        double sp = 0, sq = 0; /* |p|_1 and |q|_1, summed in column order */
        for (size_t j = 0; j < d; j++) sp += 1 + cnt[c * d + j], sq += 1 + cnt[C * d + j] - cnt[c * d + j];
        for (size_t j = 0; j < d; j++)
            r[j] = (float)log(((1 + cnt[c * d + j]) / sp) / ((1 + cnt[C * d + j] - cnt[c * d + j]) / sq));
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < d; j++) xr[i * d + j] = tr->txtn[i * d + j] * r[j];
            yb[i] = tr->y[i] == (int)c ? 1.0f : 0.0f;
        }
        lf_model *m = NULL;
        st = lf_model_create(&m, cfg->seed + 1000 * (uint64_t)K_NBSVM + c);
        int o = st == LF_OK ? lf_dense(m, lf_input(m, d, "nbsvm"), 1, LF_ACT_SIGMOID, 1, "nb_out") : -1;
        if (st == LF_OK && (o < 0 || lf_set_l2(m, o, cfg->nbsvm_l2) != LF_OK)) st = LF_ERR_ARG;
        lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
        opt.learning_rate = cfg->nbsvm_lr;
        if (st == LF_OK) st = lf_model_compile(m, o, LF_LOSS_BINARY_CROSSENTROPY, &opt);
        lf_typed_array x = {.dtype = LF_DTYPE_FLOAT32, .data = xr};
        const float *ys[1] = {yb};
        lf_fit_options fo = lf_fit_defaults();
        fo.batch_size = 32, fo.epochs = cfg->nbsvm_epochs, fo.seed = cfg->seed + 77 * (uint64_t)K_NBSVM + c;
        if (verbose) fo.progress = epoch_lines;
        float b = 0;
        if (st == LF_OK) st = lf_model_fit_arrays(m, &x, ys, n, &fo);
        if (st == LF_OK) st = lf_get_weights(m, "nb_out", 0, w, d);
        if (st == LF_OK) st = lf_get_weights(m, "nb_out", 1, &b, 1);
        if (st != LF_OK) fprintf(stderr, "webnews: nbsvm, class %zu: %s\n", c, m ? lf_model_error(m) : "");
        lf_model_free(m);
        /* the logits, summed in double in column order */
        for (size_t s = 0, row = 0; st == LF_OK && s < n_out; s++)
            for (size_t i = 0; i < out[s]->n; i++, row++) {
                double z = b;
                const float *xi = out[s]->txtn + i * d;
                for (size_t j = 0; j < d; j++)
                    if (xi[j] != 0) z += (double)xi[j] * r[j] * w[j];
                logit[row * C + c] = z;
            }
    }
    for (size_t s = 0, row = 0; st == LF_OK && s < n_out; s++)
        for (size_t i = 0; i < out[s]->n; i++, row++) {
            const double *z = logit + row * C;
            double mx = z[0], sum = 0;
            for (size_t c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
            for (size_t c = 0; c < C; c++) sum += exp(z[c] - mx);
            for (size_t c = 0; c < C; c++) prob[s][i * C + c] = (float)(exp(z[c] - mx) / sum);
        }
    free(cnt), free(logit), free(r), free(w), free(xr), free(yb);
    return st;
}

/* ------------------------------------------------------------ results */

typedef struct result {
    const char *name, *what;
    const char *role; /* "branch", "trap" (the joint-training trap, shown)
                         or "remedy" */
    double best_branch; /* a fused model: its best branch's accuracy */
    double met[LF_NUM_METRICS];
    double seconds;
    char note[256]; /* learned weights, auto's choice */
} result;

/* softmax of n values */
static void softmax(const float *w, size_t n, double *a) {
    double mx = w[0], s = 0;
    for (size_t i = 1; i < n; i++) mx = w[i] > mx ? w[i] : mx;
    for (size_t i = 0; i < n; i++) s += a[i] = exp(w[i] - mx);
    for (size_t i = 0; i < n; i++) a[i] /= s;
}

/* The learned weights softmax(W) of the fusion layer, as the seed prints
 * them: "image 0.21 text 0.79"; per class for ClassWeightedAverage. */
static void weights_note(lf_model *m, enum kind k, char *note, size_t cap) {
    const char *layer = k == K_WAVG_CLASS ? "class_weighted_average" : "weighted_average";
    float w[2 * C];
    size_t count = k == K_WAVG_CLASS ? 2 * C : 2, len = 0;
    if (lf_get_weights(m, layer, 0, w, count) != LF_OK) {
        snprintf(note, cap, "(weights: %s)", lf_model_error(m));
        return;
    }
    if (k != K_WAVG_CLASS) {
        double a[2];
        softmax(w, 2, a);
        snprintf(note, cap, "softmax(W): image %.3f, text %.3f", a[0], a[1]);
        return;
    }
    len = (size_t)snprintf(note, cap, "softmax(W) image share per class:");
    for (size_t c = 0; c < C && len < cap; c++) {
        float pair[2] = {w[c], w[C + c]};
        double a[2];
        softmax(pair, 2, a);
        len += (size_t)snprintf(note + len, cap - len, " %.2f", a[0]);
    }
}

static int score(result *r, const float *prob, const split *te) {
    lf_status st = lf_fusion_metrics(prob, te->y, te->n, C, r->met);
    if (st != LF_OK) fprintf(stderr, "webnews: metrics of %s: %s\n", r->name, lf_status_string(st));
    return st == LF_OK;
}

/* --------------------------------------------------------- late fusion */

/* The late fusions' members: the branches trained apart (the first
 * N_MEMBERS of BAG_KINDS below). */
static const char *const MEMBER_NAMES[] = {"image", "text", "text2", "text3", "text4", "title", "nbsvm"};
enum { N_MEMBERS = sizeof MEMBER_NAMES / sizeof MEMBER_NAMES[0] };

/* auto (lf_fusion_fit, LF_FUSE_AUTO) over the first nm members'
 * out-of-fold outputs oof on tr, applied to their test outputs pt. */
static int fit_auto(const split *tr, const split *te, const config *cfg, float *const *oof, const float *const *pt,
                    size_t nm, float *prob, result *r) {
    lf_fusion *fu = NULL;
    if (lf_fusion_create(&fu) != LF_OK) {
        fprintf(stderr, "webnews: out of memory\n");
        return 0;
    }
    const float *po[N_MEMBERS];
    for (size_t j = 0; j < nm; j++) po[j] = oof[j];
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_AUTO;
    o.seed = cfg->seed;
    lf_status st = lf_fusion_fit(fu, po, MEMBER_NAMES, nm, tr->n, C, tr->y, &o);
    if (st == LF_OK) st = lf_fusion_predict(fu, pt, te->n, prob);
    int ok = st == LF_OK;
    if (!ok) {
        fprintf(stderr, "webnews: %s: %s\n", r->name,
                lf_fusion_error(fu)[0] ? lf_fusion_error(fu) : lf_status_string(st));
    } else {
        const char *cal = lf_fusion_calibrated(fu) ? " +calibrate" : "";
        size_t len = (size_t)snprintf(r->note, sizeof r->note, "auto chose %s%s (out-of-fold accuracy:",
                                      lf_method_name(lf_fusion_method(fu)), cal);
        for (size_t j = 0; j < nm && len < sizeof r->note; j++) {
            double m[LF_NUM_METRICS];
            lf_fusion_metrics(oof[j], tr->y, tr->n, C, m);
            len += (size_t)snprintf(r->note + len, sizeof r->note - len, "%s %s %.3f", j ? "," : "", MEMBER_NAMES[j],
                                    m[LF_METRIC_ACCURACY]);
        }
        if (len < sizeof r->note) snprintf(r->note + len, sizeof r->note - len, ")");
        if (verbose) fprintf(stderr, "webnews: %s: %s\n", r->name, lf_fusion_auto_note(fu));
    }
    lf_fusion_free(fu);
    return ok;
}

/* What the folds give.  The training items are split into cfg->folds
 * stratified folds (lf_folds_stratified), cfg->repeats times, each draw
 * with its own seed (draw_seed); in each draw fold f's models are trained
 * on the other folds.  The members' out-of-fold output of a training item
 * is the mean over the draws of its output by the one model of each draw
 * that did not see it; their test outputs are the mean over every fold
 * model of every draw (bagging).  wavg_loss_weights and the frozen models
 * are trained in draw 0's folds only (the frozen ones on draw 0's image
 * and text members): their test outputs are the mean of those cfg->folds
 * models. */
enum {
    B_IMAGE, B_TEXT, B_TEXT2, B_TEXT3, B_TEXT4, B_TITLE, B_NBSVM, B_WAVG_LW, B_WAVG_FROZEN, B_CONCAT_FROZEN, N_BAGS
};
static const enum kind BAG_KINDS[N_BAGS] = {K_IMAGE, K_TEXT,  K_TEXT2,   K_TEXT3,       K_TEXT4,
                                            K_TITLE, K_NBSVM, K_WAVG_LW, K_WAVG_FROZEN, K_CONCAT_FROZEN};
typedef struct fold_out {
    float *oof[N_MEMBERS];   /* tr->n x C, the mean over the draws */
    float *draw[N_MEMBERS];  /* repeats x tr->n x C: each draw's out-of-fold outputs */
    float *oof_alt;          /* the image member's with the other tta setting (the mean over the draws) */
    float *bag[N_BAGS];      /* te->n x C */
    double seconds[N_BAGS];  /* every draw's training and predicting */
    double seconds0[N_BAGS]; /* draw 0's (what the frozen models build on) */
    double image_share;      /* wavg_frozen's softmax(W) image weight, mean */
    double lw_share;         /* wavg_loss_weights' */
} fold_out;

static void fold_out_free(fold_out *o) {
    for (size_t j = 0; j < N_MEMBERS; j++) free(o->oof[j]), free(o->draw[j]);
    for (size_t j = 0; j < N_BAGS; j++) free(o->bag[j]);
    free(o->oof_alt);
    memset(o, 0, sizeof *o);
}

/* The seed of fold draw r: draw 0 takes cfg->seed itself (the folds and
 * models of a run without --repeats); draw r adds r times 1000003, a prime
 * above the largest --seed, so that no draw of one seed repeats a fold
 * split of another seed's draws. */
static uint64_t draw_seed(uint64_t seed, size_t r) {
    return seed + 1000003u * (uint64_t)r;
}

/* Fold f of draw r (its training items n_all in all): the members trained
 * on sa, their outputs on sb (out of fold, into draw r's rows of o->draw)
 * and on te (added to the bags, / (folds x repeats)); in draw 0 also
 * wavg_loss_weights trained on sa, its test outputs bagged, then the
 * frozen models: fold f's image and text members copied in and frozen, the
 * fusion layer trained on sb (items the branches have not seen), their
 * test outputs bagged (/ folds). */
static int one_fold(size_t r, size_t f, const split *sa, const split *sb, const size_t *b, size_t n_all,
                    const split *te, size_t text_dim, const config *cfg, float *out, fold_out *o) {
    trained t[N_MEMBERS];
    memset(t, 0, sizeof t);
    config fc = *cfg;
    fc.seed = draw_seed(cfg->seed, r) + 10 * (f + 1);
    float *pte = malloc(te->n * C * sizeof(float));
    lf_status st = pte ? LF_OK : LF_ERR_NOMEM;
    const char *what = "";
    for (size_t j = 0; st == LF_OK && j < N_BAGS; j++) {
        enum kind k = BAG_KINDS[j];
        if (cfg->members && (j >= N_MEMBERS || !(cfg->members >> j & 1))) continue;
        if (r > 0 && j >= N_MEMBERS) continue; /* draw 0's folds only */
        trained fused = {0}, *tj = j < N_MEMBERS ? &t[j] : &fused;
        int frozen = k == K_WAVG_FROZEN || k == K_CONCAT_FROZEN;
        what = j < N_MEMBERS       ? MEMBER_NAMES[j]
               : k == K_WAVG_LW     ? "wavg_loss_weights"
               : k == K_WAVG_FROZEN ? "wavg_frozen"
                                    : "concat_head_frozen";
        double t0 = now_s();
        if (k == K_NBSVM) { /* ten binary models, on sb and te at once */
            const split *parts[2] = {sb, te};
            float *probs[2] = {out, pte};
            st = nbsvm_fit_predict(sa, &fc, 2, parts, probs);
        } else
            st = fit_model(tj, k, frozen ? sb : sa, text_dim, &fc, t[0].m, t[1].m);
        if (st == LF_OK && j < N_MEMBERS) {
            if (k != K_NBSVM) st = predict_model(tj, k, sb, cfg->tta, out);
            float *dr = o->draw[j] + r * n_all * C;
            for (size_t i = 0; st == LF_OK && i < sb->n; i++) memcpy(dr + b[i] * C, out + i * C, C * sizeof(float));
        }
        if (st == LF_OK && k == K_IMAGE) { /* the other tta setting, to compare */
            st = predict_model(tj, k, sb, !cfg->tta, out);
            for (size_t i = 0; st == LF_OK && i < sb->n; i++)
                for (size_t c = 0; c < C; c++) o->oof_alt[b[i] * C + c] += out[i * C + c] / (float)cfg->repeats;
        }
        if (st == LF_OK && k != K_NBSVM) st = predict_model(tj, k, te, cfg->tta, pte);
        /* the members' over every draw's fold models, the others' over draw 0's */
        float models = (float)(j < N_MEMBERS ? cfg->folds * cfg->repeats : cfg->folds);
        for (size_t i = 0; st == LF_OK && i < te->n * C; i++) o->bag[j][i] += pte[i] / models;
        if (st == LF_OK && (k == K_WAVG_FROZEN || k == K_WAVG_LW)) {
            float w[2];
            double a[2];
            st = lf_get_weights(tj->m, "weighted_average", 0, w, 2);
            softmax(w, 2, a);
            *(k == K_WAVG_LW ? &o->lw_share : &o->image_share) += a[0] / (double)cfg->folds;
        }
        double dt = now_s() - t0;
        o->seconds[j] += dt;
        if (r == 0) o->seconds0[j] += dt;
        if (st != LF_OK)
            fprintf(stderr, "webnews: draw %zu, fold %zu, %s: %s\n", r, f + 1, what,
                    tj->m && lf_model_error(tj->m)[0] ? lf_model_error(tj->m) : lf_status_string(st));
        if (j >= N_MEMBERS) lf_model_free(tj->m);
    }
    for (size_t j = 0; j < N_MEMBERS; j++) lf_model_free(t[j].m);
    free(pte);
    return st == LF_OK;
}

/* Every fold of every draw (cfg->repeats draws of cfg->folds stratified
 * folds) through one_fold: o gets each draw's out-of-fold outputs, their
 * mean over the draws, and the bagged test outputs. */
static int run_folds(const split *tr, const split *te, size_t text_dim, const config *cfg, fold_out *o) {
    size_t n = tr->n, R = cfg->repeats, *fold = malloc(n * sizeof *fold), *a = malloc(n * sizeof *a),
           *b = malloc(n * sizeof *b);
    float *out = malloc(n * C * sizeof(float));
    memset(o, 0, sizeof *o);
    int ok = fold && a && b && out && (o->oof_alt = calloc(n * C, sizeof(float)));
    for (size_t j = 0; j < N_MEMBERS; j++)
        ok = ok && (o->oof[j] = malloc(n * C * sizeof(float))) && (o->draw[j] = calloc(R * n * C, sizeof(float)));
    for (size_t j = 0; j < N_BAGS; j++) ok = ok && (o->bag[j] = calloc(te->n * C, sizeof(float)));
    char err[512];
    if (!ok) fprintf(stderr, "webnews: out of memory\n");
    for (size_t r = 0; ok && r < R; r++) {
        if (lf_folds_stratified(tr->y, n, C, cfg->folds, draw_seed(cfg->seed, r), fold, err, sizeof err) != LF_OK) {
            fprintf(stderr, "webnews: %s\n", err);
            ok = 0;
        }
        for (size_t f = 0; ok && f < cfg->folds; f++) {
            size_t na = 0, nb = 0;
            for (size_t i = 0; i < n; i++) {
                if (fold[i] == f) b[nb++] = i;
                else a[na++] = i;
            }
            split sa = {0}, sb = {0};
            ok = split_rows(&sa, tr, a, na, text_dim) && split_rows(&sb, tr, b, nb, text_dim);
            if (!ok) fprintf(stderr, "webnews: out of memory\n");
            ok = ok && one_fold(r, f, &sa, &sb, b, n, te, text_dim, cfg, out, o);
            split_free(&sa), split_free(&sb);
            if (verbose)
                fprintf(stderr, "webnews: draw %zu of %zu, fold %zu of %zu done\n", r + 1, R, f + 1, cfg->folds);
        }
    }
    /* each item's out-of-fold output: the mean of its draws' (summed in
     * draw order in double; with one draw, that draw's bits) */
    for (size_t j = 0; ok && j < N_MEMBERS; j++)
        for (size_t i = 0; i < n * C; i++) {
            double s = 0;
            for (size_t r = 0; r < R; r++) s += o->draw[j][r * n * C + i];
            o->oof[j][i] = (float)(s / (double)R);
        }
    free(fold), free(a), free(b), free(out);
    return ok;
}

/* ---------------------------------------------------------------- tune */

/* Validation accuracy per epoch of each branch, trained on the first 80 %
 * of the training items and validated on the rest. */
static int tune(const split *tr, size_t text_dim, const config *cfg, const char *only) {
    /* the image branch (input pooled to 32x32 or not, first convolution
     * strided or not, filters), then the text branch without and with its
     * hidden layer, at two scales */
    static const struct {
        enum kind k;
        int strided, pool;
        size_t filters[4];
        size_t hidden;
        float scale, momentum, ema;
    } V[] = {{K_TEXT, 0, 1, {0}, 0, 100.0f, 0, 0},
             {K_TEXT, 0, 1, {0}, 0, 30.0f, 0, 0},
             {K_TEXT, 0, 1, {0}, 64, 30.0f, 0, 0},
             {K_TEXT, 0, 1, {0}, 64, 100.0f, 0, 0},
             {K_TEXT2, 0, 1, {0}, 0, 100.0f, 0, 0},
             {K_TEXT2, 0, 1, {0}, 64, 30.0f, 0, 0},
             {K_IMAGE, 0, 1, {16, 32, 64, 128}, 0, 0, 0.9f, 0},
             {K_IMAGE, 0, 1, {16, 32, 64, 128}, 0, 0, 0.9f, 0.99f},
             {K_IMAGE, 0, 1, {16, 32, 64, 128}, 0, 0, 0.99f, 0.99f},
             {K_IMAGE, 0, 1, {32, 64, 128, 128}, 0, 0, 0.9f, 0},
             {K_IMAGE, 0, 1, {16, 32, 64, 128}, 0, 0, 0.99f, 0},
             {K_IMAGE, 1, 1, {16, 32, 64, 128}, 0, 0, 0.99f, 0},
             {K_IMAGE, 0, 0, {16, 32, 64, 128}, 0, 0, 0.99f, 0},
             {K_IMAGE, 0, 0, {32, 64, 128, 128}, 0, 0, 0.99f, 0}};
    size_t epochs = cfg->epochs + cfg->epochs / 5;
    printf("validation accuracy per epoch (first 80 %% of the training items -> last 20 %%)\n");
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
        trained t = {0};
        config c = *cfg;
        if (only && strcmp(only, V[i].k == K_IMAGE ? "image" : "text") != 0) continue;
        c.text_hidden = V[i].hidden, c.text_scale = V[i].scale, c.strided = V[i].strided;
        if (V[i].k == K_IMAGE)
            c.img_pool = V[i].pool, c.bn_momentum = V[i].momentum, c.ema = V[i].ema,
            memcpy(c.filters, V[i].filters, sizeof c.filters);
        c.text2_hidden = V[i].hidden, c.text2_scale = V[i].scale;
        lf_status st = lf_model_create(&t.m, cfg->seed);
        if (st == LF_OK) st = build(t.m, V[i].k, text_dim, &c, &t.fuse);
        lf_typed_array x[2];
        inputs_of(V[i].k, tr, x);
        const float *ys[1] = {tr->yf};
        lf_fit_options fo = lf_fit_defaults();
        fo.epochs = epochs;
        fo.validation_split = 0.2;
        fo.seed = cfg->seed;
        if (verbose) fo.progress = epoch_lines;
        double t0 = now_s();
        if (st == LF_OK) st = lf_model_fit_arrays(t.m, x, ys, tr->n, &fo);
        if (st != LF_OK) {
            fprintf(stderr, "webnews: tune: %s\n", lf_model_error(t.m));
            lf_model_free(t.m);
            return 1;
        }
        const lf_history *h = lf_model_history(t.m);
        if (V[i].k == K_IMAGE)
            printf("image, %s, filters %zu/%zu/%zu/%zu, BatchNormalization momentum %g, ema %g (%.0f s):",
                   V[i].strided ? "first convolution strided" : V[i].pool ? "AveragePooling2D" : "64x64",
                   V[i].filters[0], V[i].filters[1], V[i].filters[2], V[i].filters[3], (double)V[i].momentum,
                   (double)V[i].ema, now_s() - t0);
        else
            printf("%s, hidden %zu, scale %g (%.0f s):", V[i].k == K_TEXT2 ? "text2" : "text", V[i].hidden,
                   (double)V[i].scale, now_s() - t0);
        for (size_t e = 0; e < h->epochs; e++) printf(" %zu:%.3f", e + 1, h->val_accuracy[e]);
        /* the weights fit ended on (the moving average with use_ema) on
         * the validation items, without and with test-time flips */
        size_t n_fit = (size_t)floor((double)tr->n * (1.0 - fo.validation_split)), *vr = NULL;
        split va = {0};
        float *pv = malloc((tr->n - n_fit) * C * sizeof(float));
        int ok = pv && (vr = malloc((tr->n - n_fit) * sizeof *vr));
        for (size_t r = n_fit; ok && r < tr->n; r++) vr[r - n_fit] = r;
        ok = ok && split_rows(&va, tr, vr, tr->n - n_fit, text_dim);
        for (int tta = 0; ok && tta < (V[i].k == K_IMAGE ? 2 : 1); tta++) {
            double met[LF_NUM_METRICS];
            ok = predict_model(&t, V[i].k, &va, tta, pv) == LF_OK &&
                 lf_fusion_metrics(pv, va.y, va.n, C, met) == LF_OK;
            if (ok) printf(tta ? ", with flips %.3f" : "; at the end %.3f", met[LF_METRIC_ACCURACY]);
        }
        split_free(&va), free(vr), free(pv);
        printf("\n");
        fflush(stdout);
        lf_model_free(t.m);
    }
    return 0;
}

/* ------------------------------------------------------ text features */

/* A text view: character n-grams, max_tokens, and what is done to the
 * tf_idf rows before they are scaled to unit norm. */
typedef struct text_view {
    size_t ngram_min, ngram_max, tokens;
    int sublinear; /* tf -> 1 + log(tf) (scikit-learn's sublinear_tf) */
    int nb;        /* NB weighting (Wang & Manning 2012): each feature
                      scaled by the mean over the classes of |r|, r the
                      one-vs-rest log-count ratio, from the labelled rows */
    size_t chars;  /* > 0: each caption's first chars characters only */
} text_view;

/* The tf_idf rows of n texts by tv with tf replaced by 1 + log(tf) where
 * it is not 0 (the idf of the column divides out the count). */
static void sublinear_rows(const lf_textvec *tv, float *x, size_t n, size_t d) {
    const float *idf = lf_textvec_idf_weights(tv);
    for (size_t i = 0; i < n * d; i++) {
        float w = idf[i % d];
        if (x[i] > 0 && w > 0) x[i] = w * (1.0f + logf(x[i] / w));
    }
}

/* The NB weights of the d columns from the n rows x (labels y): for each
 * class c, p = 1 + the column sums over c's rows, q = 1 + those over the
 * others, r_c = log((p / |p|_1) / (q / |q|_1)); w = mean_c |r_c|. */
static int nb_weights(const float *x, const int *y, size_t n, size_t d, float *w) {
    double *p = calloc(C * d, sizeof *p), *tot = calloc(d, sizeof *tot);
    if (!p || !tot) {
        free(p), free(tot);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) p[(size_t)y[i] * d + j] += x[i * d + j], tot[j] += x[i * d + j];
    double sp[C] = {0}, sall = 0;
    for (size_t j = 0; j < d; j++) sall += tot[j] + 1;
    for (size_t c = 0; c < C; c++)
        for (size_t j = 0; j < d; j++) sp[c] += p[c * d + j] + 1;
    for (size_t j = 0; j < d; j++) {
        double s = 0;
        for (size_t c = 0; c < C; c++) {
            double pc = (p[c * d + j] + 1) / sp[c], qc = (tot[j] - p[c * d + j] + 1) / (sall - sp[c] + 1);
            s += fabs(log(pc / qc));
        }
        w[j] = (float)(s / C);
    }
    free(p), free(tot);
    return 1;
}

static void scale_cols(float *x, size_t n, size_t d, const float *w) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) x[i * d + j] *= w[j];
}

/* ------------------------------------------------------------ textcv */

/* The text variants' accuracy out of fold (cfg->folds stratified folds of
 * the training items; the vocabulary adapted on all training captions,
 * the NB weights on each fold's training part): --tune=textcv[:I,J,..].
 * With oof_dir, each variant's out-of-fold outputs to DIR/textI.npy. */
static int textcv(const char *dir, const config *cfg, const char *sel, const char *oof_dir) {
    static const struct {
        text_view v;
        size_t hidden, epochs;
        float scale, l2;
    } V[] = {
        {{1, 3, 20000, 0, 0, 0}, 64, 25, 30.0f, 0.0f},  /* 0: text as it was */
        {{1, 3, 20000, 1, 0, 0}, 64, 25, 30.0f, 0.0f},  /* 1: sublinear tf */
        {{1, 3, 60000, 0, 0, 0}, 64, 25, 30.0f, 0.0f},  /* 2: more tokens */
        {{1, 4, 20000, 0, 0, 0}, 64, 25, 30.0f, 0.0f},  /* 3 */
        {{2, 4, 20000, 0, 0, 0}, 64, 25, 30.0f, 0.0f},  /* 4 */
        {{1, 3, 20000, 0, 1, 0}, 64, 25, 30.0f, 0.0f},  /* 5: NB-weighted */
        {{1, 3, 60000, 0, 0, 0}, 0, 10, 100.0f, 0.0f},  /* 6: logistic regression */
        {{1, 2, 60000, 0, 0, 0}, 0, 10, 100.0f, 0.0f},  /* 7: text2 as it was */
        {{1, 3, 20000, 0, 0, 0}, 256, 25, 30.0f, 0.0f}, /* 8: wider */
        {{1, 3, 20000, 0, 1, 0}, 0, 10, 100.0f, 0.0f},  /* 9: NB logistic regression */
        {{1, 2, 20000, 0, 0, 0}, 64, 25, 30.0f, 0.0f},  /* 10 */
        {{1, 3, 20000, 0, 0, 0}, 64, 40, 30.0f, 0.0f},  /* 11: more epochs */
        {{1, 3, 20000, 0, 0, 0}, 64, 15, 30.0f, 0.0f},  /* 12: fewer epochs */
        {{1, 3, 10000, 0, 0, 0}, 64, 25, 30.0f, 0.0f},  /* 13: fewer tokens */
        {{1, 3, 20000, 0, 0, 0}, 64, 25, 100.0f, 0.0f}, /* 14: larger scale */
        {{1, 1, 20000, 0, 0, 0}, 64, 25, 30.0f, 0.0f},  /* 15: characters only */
        {{1, 3, 5000, 0, 0, 0}, 64, 25, 30.0f, 0.0f},   /* 16 */
        {{1, 3, 10000, 0, 0, 0}, 0, 10, 100.0f, 0.0f},  /* 17 */
        {{1, 2, 10000, 0, 0, 0}, 0, 10, 100.0f, 0.0f},  /* 18 */
        {{1, 3, 10000, 0, 0, 0}, 256, 25, 30.0f, 0.0f}, /* 19 */
        {{1, 3, 10000, 1, 0, 0}, 0, 10, 100.0f, 0.0f},  /* 20: sublinear logistic regression */
        {{1, 3, 10000, 1, 0, 0}, 0, 25, 100.0f, 0.0f},  /* 21: the same, 25 epochs */
        /* 22, 23: an L2 penalty as scikit-learn's C = 10 on the 1357
         * items of a fold's training part: l2 = scale^2 / (2 C n) */
        {{1, 3, 10000, 1, 0, 0}, 0, 50, 100.0f, 0.37f}, /* 22 */
        {{1, 3, 10000, 0, 0, 0}, 0, 50, 100.0f, 0.37f}, /* 23 */
        {{1, 3, 10000, 1, 0, 0}, 0, 100, 100.0f, 0.37f}, /* 24: 22, 100 epochs */
        {{1, 3, 10000, 1, 0, 0}, 0, 50, 100.0f, 0.1f},   /* 25: 22, a weaker penalty */
        {{1, 2, 10000, 1, 0, 0}, 0, 30, 100.0f, 0.4f},   /* 26: text2 now */
        {{1, 2, 10000, 0, 0, 0}, 0, 10, 100.0f, 0.0f},   /* 27: text2 before */
        /* 28-32: text2 on the captions' first characters (text4) */
        {{1, 2, 10000, 1, 0, 50}, 0, 30, 100.0f, 0.4f},  /* 28 */
        {{1, 2, 10000, 1, 0, 100}, 0, 30, 100.0f, 0.4f}, /* 29 */
        {{1, 2, 10000, 1, 0, 150}, 0, 30, 100.0f, 0.4f}, /* 30 */
        {{1, 2, 10000, 1, 0, 200}, 0, 30, 100.0f, 0.4f}, /* 31 */
        {{1, 2, 10000, 1, 0, 300}, 0, 30, 100.0f, 0.4f}, /* 32 */
    };
    enum { NV = sizeof V / sizeof V[0] };
    int want[NV];
    for (size_t i = 0; i < NV; i++) want[i] = !sel;
    for (const char *s = sel; s && *s;) {
        char *end;
        unsigned long i = strtoul(s, &end, 10);
        if (end == s || i >= NV || (*end && *end != ',')) {
            fprintf(stderr, "webnews: --tune=textcv:LIST wants variant numbers 0..%d separated by commas\n", NV - 1);
            return 2;
        }
        want[i] = 1, s = *end ? end + 1 : end;
    }
    char path[4096], err[512];
    char **texts = NULL;
    size_t n = 0, nt = 0;
    int *y = NULL, rc = 1;
    float *yf = NULL;
    snprintf(path, sizeof path, "%s/train_labels.npy", dir);
    if (!read_labels(path, &y, &yf, &n)) return 1;
    lf_textvec *tv = NULL;
    lf_textvec_options to = lf_textvec_defaults();
    to.output_mode = LF_TEXTVEC_TF_IDF;
    to.char_ngram_min = to.char_ngram_max = 1;
    if (lf_textvec_create(&tv, &to, err, sizeof err) != LF_OK) goto done;
    snprintf(path, sizeof path, "%s/train_texts.txt", dir);
    if (lf_textvec_read_lines(tv, path, &texts, &nt) != LF_OK || nt != n) {
        fprintf(stderr, "webnews: %s\n", nt != n ? "captions and labels differ in count" : lf_textvec_error(tv));
        goto done;
    }
    lf_textvec_free(tv), tv = NULL;
    if (cfg->n_train && cfg->n_train < n) n = cfg->n_train;
    size_t *fold = malloc(n * sizeof *fold);
    if (!fold || lf_folds_stratified(y, n, C, cfg->folds, cfg->seed, fold, err, sizeof err) != LF_OK) {
        fprintf(stderr, "webnews: %s\n", fold ? err : "out of memory");
        free(fold);
        goto done;
    }
    printf("text variants, %zu-fold out-of-fold accuracy and log-loss on %zu training items (seed %llu)\n",
           cfg->folds, n, (unsigned long long)cfg->seed);
    for (size_t v = 0; v < NV; v++) {
        if (!want[v]) continue;
        double t0 = now_s();
        to.char_ngram_min = V[v].v.ngram_min, to.char_ngram_max = V[v].v.ngram_max, to.max_tokens = V[v].v.tokens;
        float *x = NULL, *oof = malloc(n * C * sizeof(float)), *out = malloc(n * C * sizeof(float)), *w = NULL;
        char **firsts = V[v].v.chars ? first_chars((const char *const *)texts, n, V[v].v.chars) : NULL;
        int ok = oof && out && (firsts || !V[v].v.chars) && lf_textvec_create(&tv, &to, err, sizeof err) == LF_OK &&
                 vectorize(tv, (const char *const *)(firsts ? firsts : texts), n, 1, V[v].v.sublinear, 1, &x);
        free(firsts);
        size_t d = ok ? lf_textvec_output_dim(tv) : 0;
        ok = ok && (w = malloc(d * sizeof *w));
        for (size_t f = 0; ok && f < cfg->folds; f++) {
            split sa = {0}, sb = {0};
            size_t na = 0, nb = 0;
            for (size_t i = 0; i < n; i++) nb += fold[i] == f;
            na = n - nb;
            sa.n = na, sb.n = nb;
            sa.txt = malloc(na * d * sizeof(float)), sb.txt = malloc(nb * d * sizeof(float));
            sa.y = malloc(na * sizeof(int)), sa.yf = malloc(na * sizeof(float));
            sb.y = malloc(nb * sizeof(int)), sb.yf = malloc(nb * sizeof(float));
            size_t *bi = malloc(nb * sizeof *bi);
            ok = sa.txt && sb.txt && sa.y && sa.yf && sb.y && sb.yf && bi;
            for (size_t i = 0, ia = 0, ib = 0; ok && i < n; i++) {
                split *s = fold[i] == f ? &sb : &sa;
                size_t k = fold[i] == f ? (bi[ib] = i, ib++) : ia++;
                memcpy(s->txt + k * d, x + i * d, d * sizeof(float));
                s->y[k] = y[i], s->yf[k] = yf[i];
            }
            if (ok && V[v].v.nb) {
                ok = nb_weights(sa.txt, sa.y, na, d, w);
                if (ok) scale_cols(sa.txt, na, d, w), scale_cols(sb.txt, nb, d, w);
                l2_rows(sa.txt, na, d), l2_rows(sb.txt, nb, d);
            }
            config c = *cfg;
            c.seed = cfg->seed + 10 * (f + 1);
            c.text_hidden = V[v].hidden, c.text_scale = V[v].scale, c.epochs = V[v].epochs, c.text_l2 = V[v].l2;
            trained t = {0};
            ok = ok && fit_model(&t, K_TEXT, &sa, d, &c, NULL, NULL) == LF_OK &&
                 predict_model(&t, K_TEXT, &sb, 0, out) == LF_OK;
            if (!ok && t.m && lf_model_error(t.m)[0]) fprintf(stderr, "webnews: %s\n", lf_model_error(t.m));
            for (size_t i = 0; ok && i < nb; i++) memcpy(oof + bi[i] * C, out + i * C, C * sizeof(float));
            lf_model_free(t.m);
            free(bi);
            split_free(&sa), split_free(&sb);
        }
        double met[LF_NUM_METRICS];
        ok = ok && lf_fusion_metrics(oof, y, n, C, met) == LF_OK;
        if (ok) {
            char head[96];
            int len = V[v].hidden ? snprintf(head, sizeof head, "Dense(%zu, relu) -> Dropout(0.5) -> Dense(10)",
                                             V[v].hidden)
                                  : snprintf(head, sizeof head, "Dense(10) (logistic regression)");
            if (V[v].l2 > 0) snprintf(head + len, sizeof head - (size_t)len, " with L2 %g", (double)V[v].l2);
            char first[48] = "";
            if (V[v].v.chars) snprintf(first, sizeof first, " of the first %zu characters", V[v].v.chars);
            printf("%2zu: char %zu-%zu-grams%s, %zu tokens (%zu columns), %s tf%s, %s, scale %g, %zu epochs: "
                   "accuracy %.4f, log-loss %.4f (%.0f s)\n",
                   v, V[v].v.ngram_min, V[v].v.ngram_max, first, V[v].v.tokens, d,
                   V[v].v.sublinear ? "sublinear" : "raw",
                   V[v].v.nb ? ", NB-weighted" : "", head, (double)V[v].scale, V[v].epochs, met[LF_METRIC_ACCURACY],
                   met[LF_METRIC_LOG_LOSS], now_s() - t0);
        }
        if (ok && oof_dir) {
            snprintf(path, sizeof path, "%s/text%zu.npy", oof_dir, v);
            ok = lf_npy_save(path, oof, n, C, 0, err, sizeof err) == LF_OK;
        }
        fflush(stdout);
        lf_textvec_free(tv), tv = NULL;
        free(x), free(oof), free(out), free(w);
        if (!ok) {
            fprintf(stderr, "webnews: text variant %zu failed\n", v);
            free(fold);
            goto done;
        }
    }
    free(fold);
    rc = 0;
done:
    lf_textvec_free(tv);
    lf_textvec_lines_free(texts);
    free(y), free(yf);
    return rc;
}

/* ----------------------------------------------------------------- run */

static void print_table(FILE *f, int md, const result *r, size_t n) {
    if (md) {
        fprintf(f, "| model | role | test accuracy | macro-F1 | log-loss | training time (s) | learned |\n");
        fprintf(f, "| --- | --- | ---: | ---: | ---: | ---: | --- |\n");
    } else {
        fprintf(f, "%-20s %-7s %9s %9s %9s %9s  %s\n", "model", "role", "accuracy", "macro-F1", "log-loss", "time (s)",
                "");
    }
    for (size_t i = 0; i < n; i++) {
        if (md)
            fprintf(f, "| `%s` | %s | %.1f %% | %.3f | %.3f | %.0f | %s |\n", r[i].name, r[i].role,
                    100 * r[i].met[LF_METRIC_ACCURACY], r[i].met[LF_METRIC_MACRO_F1], r[i].met[LF_METRIC_LOG_LOSS],
                    r[i].seconds, r[i].note);
        else
            fprintf(f, "%-20s %-7s %8.1f%% %9.3f %9.3f %9.1f  %s\n", r[i].name, r[i].role,
                    100 * r[i].met[LF_METRIC_ACCURACY], r[i].met[LF_METRIC_MACRO_F1], r[i].met[LF_METRIC_LOG_LOSS],
                    r[i].seconds, r[i].note);
    }
}

typedef struct opts {
    int quick, json, tune;
    const char *tune_only; /* --tune=image or --tune=text: one family */
    uint64_t seed;
    size_t folds;
    const char *md;
    const char *oof_dir; /* --tune=textcv: the out-of-fold outputs */
    size_t repeats;      /* --repeats R, 0 when not given */
    const char *methods_dir; /* --methods DIR: the fusion methods on a full run's --oof outputs */
} opts;

/* --oof DIR: each member's (of cfg->members, or all) out-of-fold outputs
 * (DIR/NAME.npy, the mean over the draws) and bagged test outputs
 * (DIR/NAME_test.npy); with several draws also each draw's out-of-fold
 * outputs (DIR/NAME_draw0.npy, ...), to score the mean of fewer draws. */
static int write_oof(const char *dir, const fold_out *fo, size_t n, size_t n_test, const config *cfg) {
    char path[4096], err[512];
    lf_status st = LF_OK;
    for (size_t j = 0; st == LF_OK && j < N_MEMBERS; j++) {
        if (cfg->members && !(cfg->members >> j & 1)) continue;
        snprintf(path, sizeof path, "%s/%s.npy", dir, MEMBER_NAMES[j]);
        st = lf_npy_save(path, fo->oof[j], n, C, 0, err, sizeof err);
        snprintf(path, sizeof path, "%s/%s_test.npy", dir, MEMBER_NAMES[j]);
        if (st == LF_OK) st = lf_npy_save(path, fo->bag[j], n_test, C, 0, err, sizeof err);
        for (size_t r = 0; st == LF_OK && cfg->repeats > 1 && r < cfg->repeats; r++) {
            snprintf(path, sizeof path, "%s/%s_draw%zu.npy", dir, MEMBER_NAMES[j], r);
            st = lf_npy_save(path, fo->draw[j] + r * n * C, n, C, 0, err, sizeof err);
        }
    }
    if (st != LF_OK) fprintf(stderr, "webnews: %s\n", err);
    return st == LF_OK;
}

/* --members: the chosen members' out-of-fold accuracy and log-loss (and
 * with --oof DIR their outputs, as a full run writes them), nothing else. */
static int run_members(const split *tr, const split *te, size_t text_dim, const config *cfg, const opts *o) {
    fold_out fo;
    double t0 = now_s();
    int ok = run_folds(tr, te, text_dim, cfg, &fo);
    for (size_t j = 0; ok && j < N_MEMBERS; j++) {
        if (!(cfg->members >> j & 1)) continue;
        double m[LF_NUM_METRICS];
        ok = lf_fusion_metrics(fo.oof[j], tr->y, tr->n, C, m) == LF_OK;
        if (ok)
            printf("%-6s out of fold: accuracy %.4f, log-loss %.4f (%.0f s)\n", MEMBER_NAMES[j],
                   m[LF_METRIC_ACCURACY], m[LF_METRIC_LOG_LOSS], fo.seconds[j]);
    }
    ok = ok && (!o->oof_dir || write_oof(o->oof_dir, &fo, tr->n, te->n, cfg));
    if (ok) printf("time %.0f s\n", now_s() - t0);
    fold_out_free(&fo);
    return ok ? 0 : 1;
}

static int run(const split *tr, const split *te, size_t text_dim, const config *cfg, const opts *o) {
    /* the table's rows; the branches and the frozen models come from the
     * folds (bagged), the others are trained on all training items */
    static const struct {
        enum kind k;
        const char *name, *role;
        int bag; /* its row in fold_out's bags, or -1 */
    } MODELS[] = {
        {K_IMAGE, "image", "branch", B_IMAGE},
        {K_TEXT, "text", "branch", B_TEXT},
        {K_TEXT2, "text2", "branch", B_TEXT2},
        {K_TEXT3, "text3", "branch", B_TEXT3},
        {K_TEXT4, "text4", "branch", B_TEXT4},
        {K_TITLE, "title", "branch", B_TITLE},
        {K_NBSVM, "nbsvm", "branch", B_NBSVM},
        {K_CONCAT, "concat_head", "trap", -1},
        {K_WAVG, "wavg", "trap", -1},
        {K_WAVG_CLASS, "wavg_class", "trap", -1},
        {K_WAVG_LW, "wavg_loss_weights", "remedy", B_WAVG_LW},
        {K_WAVG_FROZEN, "wavg_frozen", "remedy", B_WAVG_FROZEN},
        {K_CONCAT_FROZEN, "concat_head_frozen", "remedy", B_CONCAT_FROZEN},
    };
    enum { NM = sizeof MODELS / sizeof MODELS[0], NR = NM + 2 };
    result res[MAX_MODELS];
    memset(res, 0, sizeof res);
    float *prob[NR];
    fold_out fo;
    memset(&fo, 0, sizeof fo);
    int rc = 1;
    for (size_t i = 0; i < NR; i++) prob[i] = malloc(te->n * C * sizeof(float));
    for (size_t i = 0; i < NR; i++)
        if (!prob[i]) {
            fprintf(stderr, "webnews: out of memory\n");
            goto done;
        }
    double t_all = now_s();
    if (!run_folds(tr, te, text_dim, cfg, &fo)) goto done;
    if (o->oof_dir && !write_oof(o->oof_dir, &fo, tr->n, te->n, cfg)) goto done;
    for (size_t i = 0; i < NM; i++) {
        result *r = &res[i];
        r->name = MODELS[i].name, r->role = MODELS[i].role;
        int bag = MODELS[i].bag;
        if (bag >= 0) {
            memcpy(prob[i], fo.bag[bag], te->n * C * sizeof(float));
            r->seconds = fo.seconds[bag];
            /* the frozen models' branches: draw 0's image and text members */
            if (bag >= B_WAVG_FROZEN) r->seconds += fo.seconds0[B_IMAGE] + fo.seconds0[B_TEXT];
            if (bag == B_WAVG_FROZEN || bag == B_WAVG_LW) {
                double share = bag == B_WAVG_LW ? fo.lw_share : fo.image_share;
                snprintf(r->note, sizeof r->note, "softmax(W): image %.3f, text %.3f (mean of the folds)", share,
                         1 - share);
            }
            if (bag == B_IMAGE) {
                double m[LF_NUM_METRICS], m0[LF_NUM_METRICS];
                lf_fusion_metrics(fo.oof[0], tr->y, tr->n, C, m);
                lf_fusion_metrics(fo.oof_alt, tr->y, tr->n, C, m0);
                snprintf(r->note, sizeof r->note, "out-of-fold accuracy %.3f %s test-time flips (%.3f %s)",
                         m[LF_METRIC_ACCURACY], cfg->tta ? "with" : "without", m0[LF_METRIC_ACCURACY],
                         cfg->tta ? "without" : "with them");
            }
        } else {
            trained t = {0};
            double t0 = now_s();
            lf_status st = train_model(&t, MODELS[i].k, tr, te, text_dim, cfg, NULL, NULL, prob[i]);
            r->seconds = now_s() - t0;
            if (st != LF_OK) {
                fprintf(stderr, "webnews: %s: %s\n", r->name,
                        t.m && lf_model_error(t.m)[0] ? lf_model_error(t.m) : lf_status_string(st));
                lf_model_free(t.m);
                goto done;
            }
            if (MODELS[i].k != K_CONCAT) weights_note(t.m, MODELS[i].k, r->note, sizeof r->note);
            lf_model_free(t.m);
        }
        if (!score(r, prob[i], te)) goto done;
        fprintf(stderr, "webnews: %-20s test accuracy %.3f (%.0f s) %s\n", r->name, r->met[LF_METRIC_ACCURACY],
                r->seconds, r->note);
    }
    /* the late fusions: auto on the out-of-fold outputs, applied to the
     * bagged test outputs of the members */
    result *lr = &res[NM];
    lr[0].name = "late_fusion", lr[1].name = "late_fusion_all";
    lr[0].role = lr[1].role = "remedy";
    const float *pt[N_MEMBERS];
    for (size_t j = 0; j < N_MEMBERS; j++) pt[j] = fo.bag[j]; /* B_IMAGE.. are the members' rows */
    for (size_t j = 0; j < 2; j++) {
        double t0 = now_s();
        size_t nm = j ? N_MEMBERS : 2;
        if (!fit_auto(tr, te, cfg, fo.oof, pt, nm, prob[NM + j], &lr[j])) goto done;
        lr[j].seconds = now_s() - t0;
        for (size_t b = 0; b < nm; b++) lr[j].seconds += fo.seconds[b];
        if (!score(&lr[j], prob[NM + j], te)) goto done;
        fprintf(stderr, "webnews: %-20s test accuracy %.3f (%.0f s) %s\n", lr[j].name, lr[j].met[LF_METRIC_ACCURACY],
                lr[j].seconds, lr[j].note);
    }
    double elapsed = now_s() - t_all;

    printf("Web_News (%zu training, %zu test items; seed %llu%s): test scores\n", tr->n, te->n,
           (unsigned long long)cfg->seed, o->quick ? "; quick: a subset, 8 epochs" : "");
    /* each fused model against its own best branch: image and text, and
     * every member for late_fusion_all */
    double acc[NR];
    for (size_t i = 0; i < NR; i++) acc[i] = res[i].met[LF_METRIC_ACCURACY];
    double best = 0, two = fmax(acc[0], acc[1]), all = two;
    for (size_t j = 2; j < N_MEMBERS; j++) all = fmax(all, acc[j]);
    const char *best_name = "";
    size_t below[2] = {0, 0}, fused[2] = {0, 0};
    for (size_t i = N_MEMBERS; i < NR; i++) {
        int remedy = strcmp(res[i].role, "remedy") == 0;
        res[i].best_branch = i == NR - 1 ? all : two;
        if (acc[i] > best) best = acc[i], best_name = res[i].name;
        fused[remedy]++;
        below[remedy] += acc[i] < res[i].best_branch;
    }
    print_table(stdout, 0, res, NR);
    printf("best fused model %s %.1f %% (goal >= 83 %%: %s); best branch %.1f %%; fused models below their best "
           "branch: %zu of %zu remedies, %zu of %zu trap demonstrations (end to end from scratch)\n",
           best_name, 100 * best, best >= 0.83 ? "reached" : "not reached", 100 * all, below[1], fused[1],
           below[0], fused[0]);
    printf("time %.0f s\n", elapsed);
    if (o->md) { /* written beside its place and renamed over it: a failed write leaves the old table whole */
        char tmp[4200];
        FILE *f = open_temp(o->md, tmp, sizeof tmp);
        if (!f) {
            fprintf(stderr, "webnews: cannot create a temporary file beside '%s': %s\n", o->md, strerror(errno));
            goto done;
        }
        print_table(f, 1, res, NR);
        int bad = ferror(f) != 0;
        bad |= fclose(f) != 0;
        if (bad || rename(tmp, o->md) != 0) {
            fprintf(stderr, "webnews: cannot write '%s': %s\n", o->md, strerror(errno));
            remove(tmp);
            goto done;
        }
    }
    if (o->json) {
        printf("{");
        for (size_t i = 0; i < NR; i++) printf("%s\"%s\": %.4f", i ? ", " : "", res[i].name, acc[i]);
        printf("}\n");
    }
    rc = 0;
done:
    fold_out_free(&fo);
    for (size_t i = 0; i < NR; i++) free(prob[i]);
    return rc;
}

/* ------------------------------------------------------- --methods */

/* --methods DIR: every fusion method of the library, with and without
 * calibration, fitted on the members' out-of-fold outputs that a full run
 * with --oof DIR wrote (DIR/NAME.npy) and applied to their bagged test
 * outputs (DIR/NAME_test.npy): over image and text, then over all seven
 * members; each fused model's test accuracy and log-loss, with the best
 * member's and auto's (the full run's late_fusion and late_fusion_all,
 * to the bit).  Nothing is trained but the fusions (seed cfg->seed, as
 * the full run's). */
enum { MT_SETS = 2 };

static int read_member(const char *oof_dir, const char *name, const char *suffix, size_t n, float **out) {
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/%s%s.npy", oof_dir, name, suffix);
    lf_matrix m;
    if (lf_matrix_read(path, &m, err, sizeof err) != LF_OK) {
        fprintf(stderr, "webnews: %s\n", err);
        return 0;
    }
    if (m.rows != n || m.cols != C) {
        fprintf(stderr, "webnews: '%s' holds %zu x %zu values, expected %zu x %d (a full run's --oof output)\n", path,
                m.rows, m.cols, n, C);
        lf_matrix_free(&m);
        return 0;
    }
    *out = m.data; /* the caller frees it */
    return 1;
}

/* one fusion fitted on the first nm members and scored on test: m gets
 * the metrics; 0 with a message on stderr */
static int method_score(lf_method method, int calibrate, size_t nm, const float *const *oof, const int *ytr,
                        size_t ntr, const float *const *pt, const int *yte, size_t nte, uint64_t seed, float *prob,
                        double *m) {
    lf_fusion *fu = NULL;
    if (lf_fusion_create(&fu) != LF_OK) {
        fprintf(stderr, "webnews: out of memory\n");
        return 0;
    }
    lf_fusion_options o = lf_fusion_defaults();
    o.method = method, o.calibrate = calibrate, o.seed = seed;
    lf_status st = lf_fusion_fit(fu, oof, MEMBER_NAMES, nm, ntr, C, ytr, &o);
    if (st == LF_OK) st = lf_fusion_predict(fu, pt, nte, prob);
    if (st == LF_OK) st = lf_fusion_metrics(prob, yte, nte, C, m);
    if (st != LF_OK)
        fprintf(stderr, "webnews: %s%s: %s\n", lf_method_name(method), calibrate ? " +calibrate" : "",
                lf_fusion_error(fu)[0] ? lf_fusion_error(fu) : lf_status_string(st));
    lf_fusion_free(fu);
    return st == LF_OK;
}

static void cell(double acc, double ll) { printf(" %.1f %% (%.3f) |", 100 * acc, ll); }

static int methods_table(const char *dir, const char *oof_dir, const config *cfg) {
    char path[4096];
    int *ytr = NULL, *yte = NULL, rc = 1, ok = 1;
    float *yf = NULL, *oof[N_MEMBERS] = {NULL}, *pt[N_MEMBERS] = {NULL}, *prob = NULL;
    size_t ntr = 0, nte = 0;
    snprintf(path, sizeof path, "%s/train_labels.npy", dir);
    ok = read_labels(path, &ytr, &yf, &ntr);
    free(yf), yf = NULL;
    snprintf(path, sizeof path, "%s/test_labels.npy", dir);
    ok = ok && read_labels(path, &yte, &yf, &nte);
    if (cfg->n_train && cfg->n_train < ntr) ntr = cfg->n_train; /* --quick's subset */
    for (size_t j = 0; ok && j < N_MEMBERS; j++)
        ok = read_member(oof_dir, MEMBER_NAMES[j], "", ntr, &oof[j]) &&
             read_member(oof_dir, MEMBER_NAMES[j], "_test", nte, &pt[j]);
    if (ok && !(prob = malloc(nte * C * sizeof *prob))) fprintf(stderr, "webnews: out of memory\n"), ok = 0;
    if (!ok) goto done;
    const size_t sets[MT_SETS] = {2, N_MEMBERS};
    double t0 = now_s();
    printf("Web_News, seed %llu: every fusion method fitted on the members' out-of-fold outputs (%s), applied to "
           "their test outputs; test accuracy (log-loss)\n\n",
           (unsigned long long)cfg->seed, oof_dir);
    printf("| method | image + text | image + text, `+calibrate` | seven members | seven members, `+calibrate` |\n");
    printf("| --- | ---: | ---: | ---: | ---: |\n");
    double best_acc[MT_SETS] = {0}, m[LF_NUM_METRICS];
    size_t at_least[MT_SETS] = {0}, fitted = 0;
    printf("| best member |");
    for (size_t s = 0; s < MT_SETS; s++) {
        size_t bj = 0;
        double bl = 0;
        for (size_t j = 0; j < sets[s]; j++) { /* the most accurate on test, ties to the lower log-loss */
            lf_fusion_metrics(pt[j], yte, nte, C, m);
            if (j == 0 || m[LF_METRIC_ACCURACY] > best_acc[s] ||
                (m[LF_METRIC_ACCURACY] == best_acc[s] && m[LF_METRIC_LOG_LOSS] < bl))
                bj = j, best_acc[s] = m[LF_METRIC_ACCURACY], bl = m[LF_METRIC_LOG_LOSS];
        }
        printf(" `%s` %.1f %% (%.3f) | |", MEMBER_NAMES[bj], 100 * best_acc[s], bl);
    }
    printf("\n");
    for (int mi = 0; ok && mi <= (int)LF_FUSE_BKS; mi++) {
        lf_method method = (lf_method)mi;
        if (method == LF_FUSE_AUTO) continue;
        printf("| `%s` |", lf_method_name(method));
        for (size_t s = 0; ok && s < MT_SETS; s++)
            for (int cal = 0; ok && cal <= 1; cal++) {
                ok = method_score(method, cal, sets[s], (const float *const *)oof, ytr, ntr,
                                  (const float *const *)pt, yte, nte, cfg->seed, prob, m);
                if (!ok) break;
                cell(m[LF_METRIC_ACCURACY], m[LF_METRIC_LOG_LOSS]);
                fitted++;
                at_least[s] += m[LF_METRIC_ACCURACY] >= best_acc[s];
            }
        printf("\n");
        fflush(stdout);
    }
    double auto_acc[MT_SETS] = {0};
    if (ok) {
        printf("| `auto` |");
        for (size_t s = 0; ok && s < MT_SETS; s++) {
            ok = method_score(LF_FUSE_AUTO, 0, sets[s], (const float *const *)oof, ytr, ntr, (const float *const *)pt,
                              yte, nte, cfg->seed, prob, m);
            if (ok) cell(m[LF_METRIC_ACCURACY], m[LF_METRIC_LOG_LOSS]), printf(" |");
            auto_acc[s] = m[LF_METRIC_ACCURACY];
        }
        printf("\n");
    }
    if (!ok) goto done;
    printf("\nat least as accurate as the best member: %zu of %zu (image + text), %zu of %zu (seven members); "
           "auto: %.4f and %.4f (the full run's late_fusion and late_fusion_all with this seed); %.0f s\n",
           at_least[0], fitted / 2, at_least[1], fitted / 2, auto_acc[0], auto_acc[1], now_s() - t0);
    rc = 0;
done:
    for (size_t j = 0; j < N_MEMBERS; j++) free(oof[j]), free(pt[j]);
    free(ytr), free(yte), free(yf), free(prob);
    return rc;
}

/* ---------------------------------------------------------------- main */

static int usage(void) {
    fprintf(stderr, "usage: webnews DATA_DIR [--quick] [--json] [--seed S] [--folds K] [--repeats R]\n"
                    "                       [--verbose] [--md FILE] [--oof DIR] [--members LIST]\n"
                    "                       [--img POOL,F1,F2,F3,F4[,EPOCHS]] [--nbsvm TOKENS,EPOCHS,L2,LR]\n"
                    "       webnews DATA_DIR --methods OOF_DIR [--seed S]   (OOF_DIR: a full run's --oof DIR)\n"
                    "       webnews DATA_DIR --tune[=image|=text] [--quick]\n"
                    "       webnews DATA_DIR --tune=textcv[:I,J,...] [--quick] [--seed S] [--folds K] [--oof DIR]\n");
    return 2;
}

static int parse_size(const char *what, const char *s, size_t lo, size_t hi, size_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s == '-' || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "webnews: %s must be an integer in %zu..%zu, got '%s'\n", what, lo, hi, s);
        return 0;
    }
    *out = (size_t)v;
    return 1;
}

/* --members image,text,...: the bits of those MEMBER_NAMES. */
static int parse_members(const char *s, unsigned *out) {
    *out = 0;
    while (*s) {
        size_t len = strcspn(s, ","), j = 0;
        while (j < N_MEMBERS && (strlen(MEMBER_NAMES[j]) != len || strncmp(s, MEMBER_NAMES[j], len) != 0)) j++;
        if (j == N_MEMBERS) {
            fprintf(stderr, "webnews: --members: '%.*s' is not one of image, text, text2, text3, text4, title, nbsvm\n",
                    (int)len, s);
            return 0;
        }
        *out |= 1u << j;
        s += len + (s[len] == ',');
    }
    if (!*out) fprintf(stderr, "webnews: --members: an empty list\n");
    return *out != 0;
}

/* --img POOL,F1,F2,F3,F4[,EPOCHS]: the image branch's input pooling (0 or
 * 1), its four Conv2D's filters and its epochs, into c. */
static int parse_img(const char *s, config *c) {
    size_t v[6] = {0}, n = 0;
    char *end;
    while (n < 6) {
        errno = 0;
        unsigned long long x = strtoull(s, &end, 10);
        if (end == s || *s == '-' || errno || x > 4096) break;
        v[n++] = x;
        if (*end != ',') break;
        s = end + 1;
    }
    if (n < 5 || *end || v[0] > 1 || !v[1] || !v[2] || !v[3] || !v[4] || (n == 6 && !v[5])) {
        fprintf(stderr, "webnews: --img: expected POOL,F1,F2,F3,F4[,EPOCHS] (POOL 0 or 1, counts > 0)\n");
        return 0;
    }
    c->img_pool = (int)v[0], c->img_epochs = v[5];
    memcpy(c->filters, v + 1, sizeof c->filters);
    return 1;
}

/* --nbsvm TOKENS,EPOCHS,L2,LR: the nbsvm member's max_tokens, epochs, L2
 * penalty and Adam's learning rate, into c. */
static int parse_nbsvm(const char *s, config *c) {
    unsigned long long tok, ep;
    double l2, lr;
    int used = 0;
    if (sscanf(s, "%llu,%llu,%lf,%lf%n", &tok, &ep, &l2, &lr, &used) != 4 || s[used] || *s == '-' || !tok ||
        tok > 1000000 || !ep || ep > 1000 || !(l2 >= 0 && l2 <= 100) || !(lr > 0 && lr <= 1)) {
        fprintf(stderr, "webnews: --nbsvm: expected TOKENS,EPOCHS,L2,LR (counts > 0, L2 in 0..100, LR in (0, 1])\n");
        return 0;
    }
    c->nbsvm_tokens = (size_t)tok, c->nbsvm_epochs = (size_t)ep, c->nbsvm_l2 = (float)l2, c->nbsvm_lr = (float)lr;
    return 1;
}

int main(int argc, char **argv) {
    opts o = {0, 0, 0, NULL, 0, 0, NULL, NULL, 0, NULL};
    write_errors_not_signals(); /* ulimit -f: a write error, not a kill (tempfile.h) */
    unsigned members = 0;
    config img = {0}, nbsvm = {0};
    int has_img = 0, has_nbsvm = 0;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        size_t v;
        if (strcmp(argv[i], "--quick") == 0) o.quick = 1;
        else if (strcmp(argv[i], "--json") == 0) o.json = 1;
        else if (strcmp(argv[i], "--tune") == 0) o.tune = 1;
        else if (strcmp(argv[i], "--tune=image") == 0 || strcmp(argv[i], "--tune=text") == 0)
            o.tune = 1, o.tune_only = argv[i] + 7;
        else if (strncmp(argv[i], "--tune=textcv", 13) == 0 && (argv[i][13] == '\0' || argv[i][13] == ':'))
            o.tune = 2, o.tune_only = argv[i][13] ? argv[i] + 14 : NULL;
        else if (strcmp(argv[i], "--oof") == 0 && i + 1 < argc) o.oof_dir = argv[++i];
        else if (strcmp(argv[i], "--methods") == 0 && i + 1 < argc) o.methods_dir = argv[++i];
        else if (strcmp(argv[i], "--members") == 0 && i + 1 < argc) {
            if (!parse_members(argv[++i], &members)) return 2;
        } else if (strcmp(argv[i], "--nbsvm") == 0 && i + 1 < argc) {
            if (!parse_nbsvm(argv[++i], &nbsvm)) return 2;
            has_nbsvm = 1;
        } else if (strcmp(argv[i], "--img") == 0 && i + 1 < argc) {
            if (!parse_img(argv[++i], &img)) return 2;
            has_img = 1;
        } else if (strcmp(argv[i], "--verbose") == 0) verbose = 1;
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            if (!parse_size("--seed", argv[++i], 0, 1000000, &v)) return 2;
            o.seed = v;
        } else if (strcmp(argv[i], "--folds") == 0 && i + 1 < argc) {
            if (!parse_size("--folds", argv[++i], 2, 20, &o.folds)) return 2;
        } else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) {
            if (!parse_size("--repeats", argv[++i], 1, MAX_REPEATS, &o.repeats)) return 2;
        } else if (strcmp(argv[i], "--md") == 0 && i + 1 < argc) o.md = argv[++i];
        else if (argv[i][0] == '-' || dir) return usage();
        else dir = argv[i];
    }
    if (!dir) return usage();
    if (o.tune && o.repeats) {
        fprintf(stderr, "webnews: --repeats is for a full run or --members, not --tune\n");
        return 2;
    }
    config cfg = o.quick ? QUICK : FULL;
    if (o.seed) cfg.seed = o.seed;
    if (o.folds) cfg.folds = o.folds;
    if (o.repeats) cfg.repeats = o.repeats;
    cfg.members = members;
    if (has_img) {
        cfg.img_pool = img.img_pool, cfg.img_epochs = img.img_epochs;
        memcpy(cfg.filters, img.filters, sizeof cfg.filters);
    }
    if (has_nbsvm)
        cfg.nbsvm_tokens = nbsvm.nbsvm_tokens, cfg.nbsvm_epochs = nbsvm.nbsvm_epochs, cfg.nbsvm_l2 = nbsvm.nbsvm_l2,
        cfg.nbsvm_lr = nbsvm.nbsvm_lr;
    struct stat sb;
    char path[4096];
    snprintf(path, sizeof path, "%s/train_texts.txt", dir);
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || stat(path, &sb) != 0) {
        fprintf(stderr, "webnews: data folder '%s' not found; it must hold the Web_News files train_images.npy, "
                        "train_texts.txt, train_labels.npy and their test_ counterparts\n",
                dir);
        return 2;
    }

    if (o.tune == 2) return textcv(dir, &cfg, o.tune_only, o.oof_dir);
    if (o.methods_dir) return methods_table(dir, o.methods_dir, &cfg);

    lf_textvec_options to = lf_textvec_defaults();
    to.output_mode = LF_TEXTVEC_TF_IDF;
    to.char_ngram_min = 1, to.char_ngram_max = 3;
    to.max_tokens = cfg.tokens;
    lf_textvec_options to2 = to; /* text2's, text4's and title's */
    to2.char_ngram_min = cfg.ngram2_min, to2.char_ngram_max = cfg.ngram2_max;
    to2.max_tokens = cfg.tokens2;
    lf_textvec_options ton = to; /* nbsvm's: which 1..3-grams are there */
    ton.output_mode = LF_TEXTVEC_MULTI_HOT;
    ton.max_tokens = cfg.nbsvm_tokens;
    const lf_textvec_options *tvo[N_TV] = {&to, &to2, &to2, &to2, &ton};
    lf_textvec *tv[N_TV] = {NULL};
    char msg[512];
    split all[2];
    memset(all, 0, sizeof all);
    int rc = 1;
    for (size_t i = 0; i < N_TV; i++)
        if (lf_textvec_create(&tv[i], tvo[i], msg, sizeof msg) != LF_OK) {
            fprintf(stderr, "webnews: %s\n", msg);
            goto done;
        }
    rc = 2;
    double t0 = now_s();
    /* the quick subset: the first n_train training items (the source's
     * order is shuffled) */
    if (!load_split(dir, "train", tv, cfg.text2_sublinear, cfg.text4_chars, cfg.n_train, &all[0]) ||
        !load_split(dir, "test", tv, cfg.text2_sublinear, cfg.text4_chars, 0, &all[1]))
        goto done;
    size_t dim = lf_textvec_output_dim(tv[TV_TEXT]);
    cfg.text2_dim = all[0].dim2, cfg.text4_dim = all[0].dim4, cfg.title_dim = all[0].dimt;
    cfg.nbsvm_dim = all[0].dimn;
    fprintf(stderr, "webnews: %zu training and %zu test items, %zu + %zu + %zu + %zu + %zu text features (%.1f s)\n",
            all[0].n, all[1].n, dim, cfg.text2_dim, cfg.text4_dim, cfg.title_dim, cfg.nbsvm_dim, now_s() - t0);
    rc = o.tune      ? tune(&all[0], dim, &cfg, o.tune_only)
         : cfg.members ? run_members(&all[0], &all[1], dim, &cfg, &o)
                       : run(&all[0], &all[1], dim, &cfg, &o);
done:
    for (int s = 0; s < 2; s++) split_free(&all[s]);
    for (size_t i = 0; i < N_TV; i++) lf_textvec_free(tv[i]);
    return rc;
}
