/*
 * mfeat.c — the whole latefuse pipeline on real data: the UCI "Multiple
 * Features" handwritten digits (six views of 2000 characters, 200 per
 * digit), with the protocol of Jain, Duin & Mao, "Statistical Pattern
 * Recognition: A Review", IEEE TPAMI 2000, Table 8.
 *
 * Why: the fusion tool is meant for classifiers that are already trained;
 * this shows, on a public benchmark with published numbers, what each
 * fusion method gains over the best single classifier, measured honestly.
 *
 * Per random split (50 training and 100 test patterns per class, disjoint,
 * drawn with a fixed seed; the other 50 per class unused):
 *   1. per view, networks trained with the engine on the training
 *      patterns: features standardised with the training mean/std, then
 *      Dense(H, relu) -> Dropout -> Dense(10, softmax), sparse categorical
 *      cross-entropy, Adam, L2 on the kernels (the per-view settings in
 *      VIEWS were chosen with --tune: 5-fold CV inside the training part of
 *      split 1 only; split 1's test patterns are never looked at, but the
 *      splits are drawn independently, so 238-265 of the 1000 test
 *      patterns of each of splits 2-10 are among those 500: there the
 *      choice saw their labels);
 *   2. out-of-fold outputs on the training part (stratified 5-fold CV inside
 *      the 500, each fold's network predicting its held-out part, with its
 *      own standardisation); the test outputs are the mean of the five fold
 *      networks' outputs on the 1000 test patterns (outputs of the kind the
 *      fusion is fitted on, and a five-network ensemble; --refit: one
 *      network trained on all 500 instead);
 *   3. with --second, per view a classifier of another family too, trained
 *      the same way (out-of-fold and fold-mean test outputs): twelve or
 *      eighteen fusion inputs instead of six;
 *   4. every fusion method (mean .. gate), without and with calibration
 *      (one temperature per input), fitted on the out-of-fold outputs and
 *      labels, then applied to the test outputs.
 * Prints per-view and per-method test error (mean ± std over the splits)
 * beside the paper's numbers; a full run (not --quick) from the repository
 * root also writes the table as markdown to examples/mfeat-results.md.
 *
 * Usage: mfeat DATA_DIR [--splits N] [--quick] [--members K] [--second FAMS] [--refit] [--md FILE]
 *              [--save DIR]
 *        mfeat DATA_DIR --tune | --tune-second | --tune-fusion [--members K] [--second FAMS]
 *   --quick        one split, fewer epochs (for the test)
 *   --members K    average K networks (different seeds) per view
 *   --second FAMS  the second classifiers per view fused beside the view
 *                  networks: none, lr (softmax regression), mlp2 (two
 *                  hidden layers) or lr,mlp2; default: SECOND_DEFAULT
 *   --refit        the test outputs of one network per view trained on all
 *                  500 training patterns (default: the mean of the five
 *                  networks that made the out-of-fold outputs)
 *   --md FILE      write the markdown table to FILE
 *   --save DIR     write each split's outputs for the CLI: DIR/splitS/
 *                  oof-VIEW.csv (500 x 10, out-of-fold, training part),
 *                  test-VIEW.csv (1000 x 10), ytrain.csv, ytest.csv
 *   --tune         inner-CV error and log-loss of a grid of per-view
 *                  settings on the training part of split 1, then exits
 *   --tune-second  the same for the second classifiers' grid
 *   --tune-fusion  cross-validated error of every fusion method on the
 *                  out-of-fold outputs of split 1's training part, with
 *                  modality dropout 0 / 0.5 and calibration off / on, and
 *                  auto's choice there with its cross-validated log-loss
 *                  (the criterion --second's default was chosen by)
 * Exit status: 0 success, 2 bad usage or missing data, 1 other errors.
 * Build: make; run from the repository root:
 *   ./build/examples/mfeat ../shared/data/mfeat
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

enum { NV = 6, NROWS = 2000, C = 10, PER_CLASS = 200, NTR_C = 50, NTE_C = 100,
       NTR = NTR_C * C, NTE = NTE_C * C, FOLDS = 5, MAX_SPLITS = 100 };

/* per-view classifier settings */
typedef struct net_cfg {
    size_t hidden;
    float dropout, l2, lr;
    size_t epochs;
    int pooled; /* 1: one std for the whole view (keeps the features'
                   relative scale, e.g. for Karhunen-Loeve coefficients) */
    size_t members; /* networks averaged (seeds differ); 0 or 1: one */
    size_t hidden2; /* units of a second hidden layer (relu, then the same
                       dropout); 0: none.  hidden 0: no hidden layer at all,
                       a softmax regression Dense(10, softmax) */
} net_cfg;

typedef struct view {
    const char *name;
    size_t cols;
    net_cfg cfg;
} view;

/* Chosen with --tune (inner 5-fold CV on split 1's 500 training patterns);
 * see mfeat-results.md for the grid and the CV errors. */
static const view VIEWS[NV] = {
    {"fou", 76, {128, 0.5f, 1e-2f, 1e-3f, 60, 1, 1, 0}},
    {"fac", 216, {128, 0.5f, 1e-2f, 1e-3f, 60, 0, 1, 0}},
    {"kar", 64, {128, 0.5f, 1e-3f, 1e-3f, 100, 1, 1, 0}},
    {"pix", 240, {256, 0.5f, 1e-3f, 1e-3f, 60, 1, 1, 0}},
    {"zer", 47, {128, 0.5f, 1e-3f, 1e-3f, 60, 1, 1, 0}},
    {"mor", 6, {128, 0.2f, 0, 1e-3f, 60, 0, 1, 0}},
};

/*
 * Second classifiers per view (--second): fusion members beside the
 * networks of VIEWS, of another family, trained the same way (out-of-fold
 * outputs, test outputs the mean of the five fold models).  Family `lr`: a
 * softmax regression, Dense(10, softmax) with L2 on the standardised view;
 * family `mlp2`: a network with two hidden layers.  The settings per view
 * were chosen with --tune-second (the lowest out-of-fold log-loss on split
 * 1's training part: split 1's test patterns are never looked at; about a
 * quarter of each other split's are among them, as for VIEWS).
 */
enum { FAM_NET = 0, FAM_LR = 1, FAM_MLP2 = 2, NFAM = 3 };
static const char *const FAMILY[NFAM] = {"net", "lr", "mlp2"};
static const net_cfg SECOND[NFAM][NV] = {
    [FAM_LR] = {{0, 0, 1e-2f, 1e-2f, 100, 1, 1, 0},   /* fou */
                {0, 0, 1e-3f, 1e-2f, 100, 0, 1, 0},   /* fac */
                {0, 0, 1e-3f, 1e-2f, 100, 1, 1, 0},   /* kar */
                {0, 0, 1e-2f, 1e-2f, 100, 1, 1, 0},   /* pix */
                {0, 0, 1e-3f, 1e-2f, 100, 1, 1, 0},   /* zer */
                {0, 0, 1e-4f, 1e-2f, 100, 0, 1, 0}},  /* mor */
    [FAM_MLP2] = {{256, 0.5f, 1e-2f, 1e-3f, 60, 1, 1, 128},
                  {256, 0.5f, 1e-3f, 1e-3f, 60, 1, 1, 128},
                  {256, 0.5f, 1e-3f, 1e-3f, 60, 1, 1, 128},
                  {256, 0.5f, 1e-2f, 1e-3f, 60, 1, 1, 128},
                  {256, 0.5f, 1e-3f, 1e-3f, 60, 1, 1, 128},
                  {256, 0.5f, 1e-3f, 1e-3f, 60, 0, 1, 128}},
};

/* one fusion input: a classifier of one family on one view */
typedef struct member {
    size_t view;    /* index into VIEWS */
    int family;     /* FAM_NET: the view's network of VIEWS */
    char name[16];  /* "pix", "pix-lr": the fusion's model name */
    net_cfg cfg;
} member;
#define MAX_MEMBERS (NV * NFAM)

/* The members for the families in the bit set `second` (bit f: family f;
 * the networks of VIEWS always, first and in the views' order, so that
 * --second none fuses exactly the six inputs it did before): their count. */
static size_t members_of(unsigned second, member *out) {
    size_t n = 0;
    for (int f = 0; f < NFAM; f++) {
        if (f != FAM_NET && !(second & (1u << f))) continue;
        for (size_t v = 0; v < NV; v++, n++) {
            out[n].view = v, out[n].family = f;
            out[n].cfg = f == FAM_NET ? VIEWS[v].cfg : SECOND[f][v];
            snprintf(out[n].name, sizeof out[n].name, "%s%s%s", VIEWS[v].name, f ? "-" : "", f ? FAMILY[f] : "");
        }
    }
    return n;
}

/* The seed of a member's models on split s (0-based): the view networks
 * keep the seeds they had before there were other families. */
static uint64_t member_seed(const member *m, size_t s) {
    return 100 * (s + 1) + m->view + 10 * (uint64_t)m->family;
}

/* The families fused beside the view networks unless --second says
 * otherwise (bit f: family f): mlp2, chosen with --tune-fusion by auto's
 * and stack-lr's cross-validated log-loss on the out-of-fold outputs of
 * split 1's training part (auto 0.0450 against 0.0563 with the six
 * networks alone, 0.0567 with lr, 0.0462 with both, 0.0575 with a second
 * seed of the same networks instead); --second none: the six networks
 * alone, as before. */
#define SECOND_DEFAULT (1u << FAM_MLP2)

typedef struct run_cfg {
    size_t splits;
    int quick, tune, tune_fusion;
    int refit; /* --refit: test outputs of one network trained on all 500
                  (else the mean of the five fold networks) */
    size_t members; /* --members K: networks per view (0: as in VIEWS) */
    unsigned second; /* --second: bit f set = family f's members fused too */
    int tune_second; /* --tune-second */
    const char *md;
    const char *save; /* --save DIR: each split's outputs and labels as CSV */
} run_cfg;

/* ------------------------------------------------------------ helpers */

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void mean_std(const double *v, size_t n, double *mean, double *std) {
    double s = 0, q = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    *mean = n ? s / (double)n : 0;
    for (size_t i = 0; i < n; i++) q += (v[i] - *mean) * (v[i] - *mean);
    *std = n > 1 ? sqrt(q / (double)(n - 1)) : 0; /* sample std */
}

/* Test errors are whole numbers of patterns: 100 (1 - accuracy) is a
 * multiple of 0.1 % per split up to the rounding of doubles (1 - 0.985 is
 * 0.015000000000000013), and a mean over the splits a multiple of 0.01 %.
 * So the summary's comparisons of mean errors (with each other and with
 * issue 14's goals) allow for that rounding: a is below b when it is below
 * by more than 1e-9. */
static int below(double a, double b) { return a < b - 1e-9; }

static double error_pct(const float *prob, const int *y, size_t n) {
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        for (size_t c = 1; c < C; c++)
            if (prob[i * C + c] > prob[i * C + best]) best = c;
        wrong += (int)best != y[i];
    }
    return 100.0 * (double)wrong / (double)n;
}

/* The splits' generator: xoshiro256** seeded by splitmix64 (the library's
 * own generator, written out here so that the splits stay the same). */
typedef struct rng {
    uint64_t s[4];
} rng;

static void rng_seed(rng *r, uint64_t x) {
    for (int i = 0; i < 4; i++) {
        uint64_t z = (x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        r->s[i] = z ^ (z >> 31);
    }
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r) {
    uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* uniform in [0, n), unbiased (rejection of the top partial range) */
static uint64_t rng_below(rng *r, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
    do x = rng_next(r);
    while (x >= limit);
    return x % n;
}

/* The rows of fold f as test set and the others as training set, each in
 * increasing row order. */
static void fold_split(const size_t *fold, size_t n, size_t f, size_t *train, size_t *n_train, size_t *test,
                       size_t *n_test) {
    *n_train = *n_test = 0;
    for (size_t i = 0; i < n; i++) {
        if (fold[i] == f) test[(*n_test)++] = i;
        else train[(*n_train)++] = i;
    }
}

/* Draws split s: per class, 50 training and 100 test rows (disjoint). */
static void draw_split(uint64_t seed, size_t *tr, size_t *te) {
    rng r;
    rng_seed(&r, seed);
    size_t rows[PER_CLASS];
    for (size_t c = 0; c < C; c++) {
        for (size_t i = 0; i < PER_CLASS; i++) rows[i] = c * PER_CLASS + i;
        for (size_t i = PER_CLASS - 1; i > 0; i--) {
            size_t j = (size_t)rng_below(&r, i + 1), t = rows[i];
            rows[i] = rows[j], rows[j] = t;
        }
        for (size_t i = 0; i < NTR_C; i++) tr[c * NTR_C + i] = rows[i];
        for (size_t i = 0; i < NTE_C; i++) te[c * NTE_C + i] = rows[NTR_C + i];
    }
}

/* Trains one network on standardised rows (xtr, ytr) and writes its class
 * probabilities for xte into out (nte x C). */
static lf_status fit_one(const float *xtr, const float *ytr, size_t ntr, const float *xte,
                         size_t nte, size_t d, const net_cfg *cfg, uint64_t seed, float *out,
                         char *msg, size_t cap) {
    lf_model *m = NULL;
    lf_status st = lf_model_create(&m, seed);
    if (st != LF_OK) {
        snprintf(msg, cap, "%s", lf_status_string(st));
        return st;
    }
    /* input -> [Dense(hidden, relu) -> Dropout] -> [Dense(hidden2, relu)
     * -> Dropout] -> Dense(10, softmax), L2 on every kernel */
    int x = lf_input(m, d, "x"), dense[3], n_dense = 0;
    const size_t widths[2] = {cfg->hidden, cfg->hidden ? cfg->hidden2 : 0};
    for (size_t k = 0; k < 2 && widths[k]; k++) {
        x = dense[n_dense++] = lf_dense(m, x, widths[k], LF_ACT_RELU, 1, k ? "hidden2" : "hidden");
        x = lf_dropout(m, x, cfg->dropout, k ? "dropout2" : "dropout");
    }
    int out_node = dense[n_dense++] = lf_dense(m, x, C, LF_ACT_SOFTMAX, 1, "out");
    for (int k = 0; k < n_dense && cfg->l2 > 0 && out_node >= 0; k++) lf_set_l2(m, dense[k], cfg->l2);
    lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
    opt.learning_rate = cfg->lr;
    lf_fit_options fo = lf_fit_defaults();
    fo.batch_size = 32;
    fo.epochs = cfg->epochs;
    fo.seed = seed;
    const float *xs[1] = {xtr}, *xt[1] = {xte};
    st = lf_model_compile(m, out_node, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &opt);
    if (st == LF_OK) st = lf_model_fit(m, xs, ytr, ntr, &fo);
    if (st == LF_OK) st = lf_model_predict(m, xt, nte, out);
    if (st != LF_OK) snprintf(msg, cap, "%s", lf_model_error(m)[0] ? lf_model_error(m) : lf_status_string(st));
    lf_model_free(m);
    return st;
}

/*
 * Trains one view's network on the rows tr (ntr of them) of X (NROWS x d)
 * and writes its class probabilities for the rows te into out (nte x C).
 * Features are standardised with the mean/std of the training rows.
 */
static lf_status train_predict(const float *X, size_t d, const int *y, const size_t *tr,
                               size_t ntr, const size_t *te, size_t nte, const net_cfg *cfg,
                               uint64_t seed, float *out, char *msg, size_t cap) {
    double *mu = calloc(d, sizeof *mu), *sd = calloc(d, sizeof *sd);
    float *xtr = calloc(ntr, d * sizeof(float));
    float *xte = calloc(nte, d * sizeof(float));
    float *ytr = calloc(ntr, sizeof(float));
    lf_status st = (mu && sd && xtr && xte && ytr) ? LF_OK : LF_ERR_NOMEM;
    if (st != LF_OK) snprintf(msg, cap, "out of memory");
    if (st == LF_OK) {
        for (size_t i = 0; i < ntr; i++)
            for (size_t j = 0; j < d; j++) mu[j] += X[tr[i] * d + j];
        for (size_t j = 0; j < d; j++) mu[j] /= (double)ntr;
        for (size_t i = 0; i < ntr; i++)
            for (size_t j = 0; j < d; j++) {
                double v = X[tr[i] * d + j] - mu[j];
                sd[j] += v * v;
            }
        double pool = 0; /* root mean variance over the features */
        for (size_t j = 0; j < d; j++) pool += sd[j] / (double)ntr;
        pool = sqrt(pool / (double)d);
        for (size_t j = 0; j < d; j++) {
            sd[j] = cfg->pooled ? pool : sqrt(sd[j] / (double)ntr);
            if (!(sd[j] > 1e-8)) sd[j] = 1; /* a constant feature stays 0 */
        }
        for (size_t i = 0; i < ntr; i++) {
            for (size_t j = 0; j < d; j++) xtr[i * d + j] = (float)((X[tr[i] * d + j] - mu[j]) / sd[j]);
            ytr[i] = (float)y[tr[i]];
        }
        for (size_t i = 0; i < nte; i++)
            for (size_t j = 0; j < d; j++) xte[i * d + j] = (float)((X[te[i] * d + j] - mu[j]) / sd[j]);
    }
    /* an ensemble of cfg->members networks (seeds seed + 7919 k):
     * the mean of their probabilities */
    size_t members = cfg->members ? cfg->members : 1;
    float *prob = members > 1 ? calloc(nte, C * sizeof(float)) : NULL;
    if (st == LF_OK && members > 1 && !prob) st = LF_ERR_NOMEM, snprintf(msg, cap, "out of memory");
    for (size_t k = 0; st == LF_OK && k < members; k++) {
        st = fit_one(xtr, ytr, ntr, xte, nte, d, cfg, seed + 7919 * k, k ? prob : out, msg, cap);
        for (size_t i = 0; st == LF_OK && k && i < nte * C; i++) out[i] += prob[i];
    }
    for (size_t i = 0; st == LF_OK && members > 1 && i < nte * C; i++) out[i] /= (float)members;
    free(prob);
    free(mu), free(sd), free(xtr), free(xte), free(ytr);
    return st;
}

/*
 * Out-of-fold outputs of one view on the training rows tr (NTR of them):
 * oof (NTR x C, in the order of tr).  fold[i] is the fold of tr[i].  With
 * te (nte rows; else NULL), bag (nte x C) gets the mean of the FOLDS
 * networks' outputs on those rows: the same networks, trained on the same
 * number of rows, as the out-of-fold outputs come from.
 */
static lf_status out_of_fold(const float *X, size_t d, const int *y, const size_t *tr,
                             const size_t *fold, const net_cfg *cfg, uint64_t seed, float *oof,
                             const size_t *te, size_t nte, float *bag, char *msg, size_t cap) {
    size_t a[NTR], na, nb, ia[NTR], ib[NTR];
    size_t *b = calloc(NTR + nte, sizeof *b);
    float *prob = calloc(NTR + nte, C * sizeof(float));
    lf_status st = b && prob ? LF_OK : LF_ERR_NOMEM;
    if (st != LF_OK) snprintf(msg, cap, "out of memory");
    for (size_t i = 0; st == LF_OK && te && i < nte * C; i++) bag[i] = 0;
    for (size_t f = 0; st == LF_OK && f < FOLDS; f++) {
        fold_split(fold, NTR, f, ia, &na, ib, &nb);
        for (size_t i = 0; i < na; i++) a[i] = tr[ia[i]];
        for (size_t i = 0; i < nb; i++) b[i] = tr[ib[i]];
        for (size_t i = 0; te && i < nte; i++) b[nb + i] = te[i];
        st = train_predict(X, d, y, a, na, b, nb + (te ? nte : 0), cfg, seed + 1000 * (f + 1), prob, msg, cap);
        for (size_t i = 0; st == LF_OK && i < nb; i++) memcpy(oof + ib[i] * C, prob + i * C, C * sizeof(float));
        for (size_t i = 0; st == LF_OK && te && i < nte * C; i++) bag[i] += prob[nb * C + i] / (float)FOLDS;
    }
    free(b), free(prob);
    return st;
}

/* Writes n rows of `cols` values (probabilities when prob, else one label
 * per row from lab) to DIR/NAME as CSV, through a temporary file renamed
 * into place.  0 on success; else the reason on stderr. */
static int write_csv(const char *dir, const char *name, const float *prob, const int *lab, size_t n, size_t cols) {
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = open_temp(path, tmp, sizeof tmp);
    if (!f) {
        fprintf(stderr, "mfeat: cannot create a temporary file beside '%s': %s\n", path, strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!prob) fprintf(f, "%d\n", lab[i]);
        for (size_t c = 0; prob && c < cols; c++)
            fprintf(f, "%.9g%c", (double)prob[i * cols + c], c + 1 < cols ? ',' : '\n');
    }
    int bad = ferror(f) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        fprintf(stderr, "mfeat: cannot write '%s': %s\n", path, strerror(errno));
        remove(tmp);
        return 1;
    }
    return 0;
}

/* mkdir that accepts an existing folder */
static int make_dir(const char *path) {
    if (mkdir(path, 0777) == 0 || errno == EEXIST) return 0;
    fprintf(stderr, "mfeat: cannot create folder '%s': %s\n", path, strerror(errno));
    return 1;
}

/* ---------------------------------------------------------------- tune */

/* Inner 5-fold CV error (%) and log-loss of each of the n settings of grid
 * per view, on the training part of split 1 only. */
static int tune_grid(float *const *X, const int *y, const net_cfg *grid, size_t ngrid) {
    size_t tr[NTR], te[NTE], fold[NTR];
    int ytr[NTR];
    char why[512];
    draw_split(1, tr, te);
    for (size_t i = 0; i < NTR; i++) ytr[i] = y[tr[i]];
    if (lf_folds_stratified(ytr, NTR, C, FOLDS, 99, fold, why, sizeof why) != LF_OK) {
        fprintf(stderr, "mfeat: %s\n", why);
        return 1;
    }
    printf("Inner 5-fold CV error (%%) / log-loss on the 500 training patterns of split 1\n");
    printf("%-32s", "hidden[-hidden2]/drop/l2/lr/ep");
    for (size_t v = 0; v < NV; v++) printf(" %13s", VIEWS[v].name);
    printf("\n");
    static float oof[NTR * C];
    char msg[600];
    for (size_t g = 0; g < ngrid; g++) {
        char label[80], h2[24] = "";
        if (grid[g].hidden2) snprintf(h2, sizeof h2, "-%zu", grid[g].hidden2);
        snprintf(label, sizeof label, "%zu%s/%.1f/%g/%g/%zu%s", grid[g].hidden, h2, (double)grid[g].dropout,
                 (double)grid[g].l2, (double)grid[g].lr, grid[g].epochs, grid[g].pooled ? "/pooled" : "");
        printf("%-32s", label);
        for (size_t v = 0; v < NV; v++) {
            double met[LF_NUM_METRICS];
            if (out_of_fold(X[v], VIEWS[v].cols, y, tr, fold, &grid[g], 7, oof, NULL, 0, NULL, msg, sizeof msg) !=
                    LF_OK ||
                lf_fusion_metrics(oof, ytr, NTR, C, met) != LF_OK) {
                fprintf(stderr, "mfeat: view %s: %s\n", VIEWS[v].name, msg);
                return 1;
            }
            printf(" %6.2f/%6.4f", error_pct(oof, ytr, NTR), met[LF_METRIC_LOG_LOSS]);
            fflush(stdout);
        }
        printf("\n");
    }
    return 0;
}

/* --tune: the grid the view networks of VIEWS were chosen from */
static int tune(float *const *X, const int *y) {
    static const net_cfg grid[] = {
        {64, 0.2f, 0, 1e-3f, 60, 0, 1, 0},      {128, 0.2f, 0, 1e-3f, 60, 0, 1, 0},
        {128, 0.5f, 0, 1e-3f, 60, 0, 1, 0},     {128, 0.5f, 1e-4f, 1e-3f, 60, 0, 1, 0},
        {128, 0.5f, 1e-3f, 1e-3f, 60, 0, 1, 0}, {128, 0.5f, 1e-2f, 1e-3f, 60, 0, 1, 0},
        {128, 0.5f, 1e-3f, 1e-3f, 30, 0, 1, 0}, {128, 0.5f, 1e-3f, 1e-3f, 100, 0, 1, 0},
        {128, 0.5f, 1e-3f, 1e-3f, 60, 1, 1, 0}, {128, 0.2f, 1e-4f, 1e-3f, 60, 1, 1, 0},
        {64, 0.5f, 1e-3f, 1e-3f, 60, 1, 1, 0},  {256, 0.5f, 1e-3f, 1e-3f, 60, 1, 1, 0},
        {128, 0.5f, 1e-2f, 1e-3f, 60, 1, 1, 0}, {128, 0.5f, 1e-3f, 1e-3f, 100, 1, 1, 0},
        {256, 0.5f, 1e-3f, 1e-3f, 60, 0, 1, 0},
    };
    return tune_grid(X, y, grid, sizeof grid / sizeof grid[0]);
}

/* --tune-second: the grid the second members of SECOND were chosen from
 * (per view and family, the lowest log-loss): softmax regressions (hidden
 * 0) and two-hidden-layer networks */
static int tune_second(float *const *X, const int *y) {
    static const net_cfg grid[] = {
        {0, 0, 1e-4f, 1e-2f, 100, 0, 1, 0},         {0, 0, 1e-3f, 1e-2f, 100, 0, 1, 0},
        {0, 0, 1e-2f, 1e-2f, 100, 0, 1, 0},         {0, 0, 1e-1f, 1e-2f, 100, 0, 1, 0},
        {0, 0, 1e-4f, 1e-2f, 100, 1, 1, 0},         {0, 0, 1e-3f, 1e-2f, 100, 1, 1, 0},
        {0, 0, 1e-2f, 1e-2f, 100, 1, 1, 0},         {0, 0, 1e-1f, 1e-2f, 100, 1, 1, 0},
        {256, 0.5f, 1e-3f, 1e-3f, 60, 1, 1, 128},  {256, 0.5f, 1e-3f, 1e-3f, 60, 0, 1, 128},
        {256, 0.5f, 1e-2f, 1e-3f, 60, 1, 1, 128},  {128, 0.3f, 1e-3f, 1e-3f, 100, 1, 1, 64},
    };
    return tune_grid(X, y, grid, sizeof grid / sizeof grid[0]);
}

/* every fusion method, in the library's order (the mean rule first) */
#define MAX_METHODS 64
static size_t methods(lf_method *ms) {
    size_t n = lf_method_list(ms, MAX_METHODS);
    return n < MAX_METHODS ? n : MAX_METHODS;
}

/* Fusion options used in run (chosen with --tune-fusion): no modality
 * dropout, since no view is ever missing here and the augmentation did not
 * help in the inner CV. */
static lf_fusion_options fusion_options(lf_method m, int calibrate, uint64_t seed) {
    lf_fusion_options o = lf_fusion_defaults();
    o.method = m;
    o.calibrate = calibrate;
    o.modality_dropout = 0.0f;
    o.seed = seed;
    return o;
}

/* Cross-validated error and log-loss (lf_fusion_compare, 5 folds) of the
 * fusion methods on the out-of-fold outputs of split 1's training part
 * (the members of rc->second), with modality dropout 0 and 0.5 and
 * calibration off and on, then auto's choice there and its cross-validated
 * log-loss: the fusion options and the second classifiers are chosen on
 * training data too. */
static int tune_fusion(float *const *X, const int *y, const run_cfg *rc) {
    size_t tr[NTR], te[NTE], fold[NTR];
    int ytr[NTR];
    char why[512];
    char msg[600];
    member mem[MAX_MEMBERS];
    size_t M = members_of(rc->second, mem);
    static float oof[MAX_MEMBERS][NTR * C];
    draw_split(1, tr, te);
    for (size_t i = 0; i < NTR; i++) ytr[i] = y[tr[i]];
    if (lf_folds_stratified(ytr, NTR, C, FOLDS, 99, fold, why, sizeof why) != LF_OK) {
        fprintf(stderr, "mfeat: %s\n", why);
        return 1;
    }
    const char *names[MAX_MEMBERS];
    const float *p[MAX_MEMBERS];
    for (size_t k = 0; k < M; k++) {
        const view *v = &VIEWS[mem[k].view];
        names[k] = mem[k].name, p[k] = oof[k];
        net_cfg cfg = mem[k].cfg;
        if (rc->members) cfg.members = rc->members;
        double met[LF_NUM_METRICS];
        if (out_of_fold(X[mem[k].view], v->cols, y, tr, fold, &cfg, member_seed(&mem[k], 0), oof[k], NULL, 0, NULL,
                        msg, sizeof msg) != LF_OK ||
            lf_fusion_metrics(oof[k], ytr, NTR, C, met) != LF_OK) {
            fprintf(stderr, "mfeat: member %s: %s\n", mem[k].name, msg);
            return 1;
        }
        printf("member %s: out-of-fold error %.2f %%, log-loss %.4f\n", mem[k].name, error_pct(oof[k], ytr, NTR),
               met[LF_METRIC_LOG_LOSS]);
    }
    lf_fusion *f;
    if (lf_fusion_create(&f) != LF_OK) return 1;
    static const float md[] = {0.0f, 0.5f};
    printf("Fusion of %zu members: 5-fold CV error (%%) and log-loss on the out-of-fold outputs of split 1's "
           "training part\n",
           M);
    printf("%-20s %8s %8s %8s %8s %9s %9s\n", "method", "md0", "md0.5", "md0+cal", "md.5+cal", "ll md0",
           "ll md0+cal");
    lf_method ms[MAX_METHODS];
    size_t NM = methods(ms);
    double err[MAX_METHODS][4], ll[MAX_METHODS][4];
    for (int cal = 0; cal < 2; cal++)
        for (int d = 0; d < 2; d++) {
            lf_fusion_options o = lf_fusion_defaults();
            o.modality_dropout = md[d];
            o.calibrate = cal;
            o.seed = 7;
            lf_compare_table *t;
            if (lf_fusion_compare(f, p, names, M, NTR, C, ytr, NULL, 0, &o, &t) != LF_OK) {
                fprintf(stderr, "mfeat: %s\n", lf_fusion_error(f));
                lf_fusion_free(f);
                return 1;
            }
            for (size_t r = 0; r < t->n_rows; r++)
                for (size_t k = 0; k < NM; k++)
                    if (t->rows[r].kind == LF_ROW_METHOD && t->rows[r].method == ms[k]) {
                        err[k][cal * 2 + d] = 100.0 * (1.0 - t->rows[r].mean[LF_METRIC_ACCURACY]);
                        ll[k][cal * 2 + d] = t->rows[r].mean[LF_METRIC_LOG_LOSS];
                    }
            lf_compare_table_free(t);
        }
    for (size_t k = 0; k < NM; k++)
        printf("%-20s %8.2f %8.2f %8.2f %8.2f %9.4f %9.4f\n", lf_method_name(ms[k]), err[k][0], err[k][1],
               err[k][2], err[k][3], ll[k][0], ll[k][2]);
    /* auto as the run fits it (modality dropout 0, the seed of split 1):
     * its choice and that choice's cross-validated score (for the ensemble
     * the nested one) */
    lf_fusion_options ao = fusion_options(LF_FUSE_AUTO, 0, 7);
    if (lf_fusion_fit(f, p, names, M, NTR, C, ytr, &ao) != LF_OK) {
        fprintf(stderr, "mfeat: auto: %s\n", lf_fusion_error(f));
        lf_fusion_free(f);
        return 1;
    }
    const lf_compare_table *at = lf_fusion_auto_table(f);
    for (size_t r = 0; at && r < at->n_rows; r++)
        if (at->rows[r].method == lf_fusion_method(f) && at->rows[r].calibrated == lf_fusion_calibrated(f))
            printf("auto: %s%s, CV log-loss %.4f ± %.4f, CV error %.2f %%\n", at->rows[r].name,
                   at->rows[r].calibrated ? " +calibrate" : "", at->rows[r].mean[LF_METRIC_LOG_LOSS],
                   at->rows[r].std[LF_METRIC_LOG_LOSS], 100.0 * (1.0 - at->rows[r].mean[LF_METRIC_ACCURACY]));
    printf("auto: %s\n", lf_fusion_auto_note(f));
    lf_fusion_free(f);
    return 0;
}

/* ----------------------------------------------------------------- run */

static int is_fixed(lf_method m) { return lf_method_family(m) == LF_FAMILY_FIXED; }

/* Text table on stdout; the same as markdown in md (may be NULL). */
/* auto's choice on one split: the method, its cross-validated log-loss */
typedef struct auto_pick {
    char name[64];
    double ll, ll_sd;
    double test_ll; /* its log-loss on the test part */
    char single[64];   /* with auto_single: the one candidate it fits */
    double single_err; /* ... and its test error (%) */
} auto_pick;

/* The markdown's words for the second classifiers fused (none: "") */
static const char *family_note(unsigned second) {
    switch (second & ((1u << FAM_LR) | (1u << FAM_MLP2))) {
    case 1u << FAM_LR: return ", and per view a softmax regression as a second classifier (`--second lr`)";
    case 1u << FAM_MLP2: return ", and per view a network with two hidden layers as a second classifier (`--second mlp2`)";
    case 0: return "";
    default: return ", and per view a softmax regression and a network with two hidden layers (`--second lr,mlp2`)";
    }
}

static void report(FILE *md, const run_cfg *rc, const member *mem, size_t M, const double *view_err, const double *fuse_err,
                   const double *fuse_ll, const double *auto_err, const auto_pick *picks, const double *wsum,
                   double elapsed, const char *cmd) {
    lf_method ms[MAX_METHODS];
    size_t S = rc->splits, NM = methods(ms);
    double best_view = 1e9, best_fixed = 1e9, best_learned = 1e9, mean_rule = 0;
    size_t ki_fixed = 0, ki_learned = 0; /* their rows in fuse_err */
    char best_fixed_name[64] = "", best_learned_name[64] = "";
    const char *title = "UCI Multiple Features (mfeat): test error of each view's network and of each fusion method";
    printf("%s\n%zu split%s of 50 training + 100 test patterns per class%s\n\n", title, S,
           S == 1 ? "" : "s", rc->quick ? " (quick: fewer epochs)" : "");
    printf("%-26s %16s %16s   %s\n", "classifier", "test error (%)", "+calibrate (%)",
           "Jain, Duin & Mao 2000");
    if (md) {
        fprintf(md, "# %s\n\n", title);
        fprintf(md,
                "Produced by `%s` (from the repository root; %.0f s on this 2-core machine, "
                "single-threaded engine).\n\n"
                "Protocol of Jain, Duin & Mao, \"Statistical Pattern Recognition: A Review\", IEEE TPAMI 2000, "
                "Table 8: per split, 50 training and 100 test patterns per class drawn at random "
                "(disjoint, seeded); %zu split%s; error in %% on the 1000 test patterns, mean ± std "
                "(sample std) over the splits.  Per view, networks trained with the engine on the "
                "training patterns (standardised features, Dense(H, relu) -> Dropout -> "
                "Dense(10, softmax), Adam, L2 on the kernels)%s.  Every fusion method is fitted on the "
                "out-of-fold outputs of the %zu classifiers on the training part (stratified 5-fold CV) "
                "and applied to %s for the test part.  "
                "`+calibrate`: one temperature per classifier fitted on the same out-of-fold outputs first.\n\n",
                cmd, elapsed, S, S == 1 ? "" : "s", family_note(rc->second), M,
                rc->refit ? "the outputs of the networks trained on all 500 (`--refit`)"
                          : "the mean outputs of the five fold networks of each view (the networks that "
                            "made the out-of-fold outputs, each trained on 400 of the 500: the fusion is "
                            "applied to outputs of the kind it was fitted on; `--refit` instead trains one "
                            "network per view on all 500)");
        fprintf(md, "| classifier | test error (%%) | with `--calibrate` (%%) | Jain, Duin & Mao 2000, Table 8 (%%) |\n");
        fprintf(md, "| --- | ---: | ---: | ---: |\n");
    }
    for (size_t k = 0; k < M; k++) {
        double mu, sd;
        mean_std(view_err + k * S, S, &mu, &sd);
        if (mu < best_view) best_view = mu;
        char label[64];
        const view *v = &VIEWS[mem[k].view];
        snprintf(label, sizeof label, "view %s (%zu features)", mem[k].name, v->cols);
        printf("%-26s %7.2f ± %5.2f\n", label, mu, sd);
        if (md) fprintf(md, "| view `%s` (%zu features) | %.2f ± %.2f | | |\n", mem[k].name, v->cols, mu, sd);
    }
    printf("%-26s %16s %16s   %s\n", "best single view", "", "", "3.4 - 3.7");
    if (md) fprintf(md, "| best single view | %.2f | | 3.4 – 3.7 |\n", best_view);
    for (size_t k = 0; k < NM; k++) {
        double mu[2], sd[2];
        for (int cal = 0; cal < 2; cal++) {
            mean_std(fuse_err + (k * 2 + (size_t)cal) * S, S, &mu[cal], &sd[cal]);
            char label[64];
            snprintf(label, sizeof label, "%s%s", lf_method_name(ms[k]), cal ? " +calibrate" : "");
            if (is_fixed(ms[k])) {
                if (mu[cal] < best_fixed) {
                    best_fixed = mu[cal], ki_fixed = k * 2 + (size_t)cal;
                    snprintf(best_fixed_name, sizeof best_fixed_name, "%s", label);
                }
            } else if (mu[cal] < best_learned) {
                best_learned = mu[cal], ki_learned = k * 2 + (size_t)cal;
                snprintf(best_learned_name, sizeof best_learned_name, "%s", label);
            }
        }
        printf("fusion %-19s %7.2f ± %5.2f  %7.2f ± %5.2f\n", lf_method_name(ms[k]), mu[0],
               sd[0], mu[1], sd[1]);
        if (md)
            fprintf(md, "| fusion `%s`%s | %.2f ± %.2f | %.2f ± %.2f | |\n", lf_method_name(ms[k]),
                    is_fixed(ms[k]) ? " (fixed rule)" : "", mu[0], sd[0], mu[1], sd[1]);
    }
    double amu, asd;
    mean_std(auto_err, S, &amu, &asd);
    printf("fusion %-19s %7.2f ± %5.2f  (auto's choice per split: one candidate or its ensemble)\n", "auto", amu, asd);
    if (md)
        fprintf(md, "| fusion `auto` (its choice per split: a method and calibration, or the ensemble of its best candidates) | %.2f ± %.2f | | |\n", amu,
                asd);
    double single[MAX_SPLITS], smu, ssd;
    for (size_t i = 0; i < S; i++) single[i] = picks[i].single_err;
    mean_std(single, S, &smu, &ssd);
    printf("fusion %-19s %7.2f ± %5.2f  (auto --single: one candidate per split, no ensemble)\n", "auto-single", smu, ssd);
    if (md)
        fprintf(md, "| fusion `auto --single` (one candidate per split, never the ensemble) | %.2f ± %.2f | | |\n", smu,
                ssd);
    printf("%-26s %16s %16s   %s\n", "best combination", "", "", "1.5");
    double best_fuse = best_fixed < best_learned ? best_fixed : best_learned;
    const char *best_name = best_fixed < best_learned ? best_fixed_name : best_learned_name;
    if (md) fprintf(md, "| best combination | %.2f (`%s`) | | 1.5 |\n\n", best_fuse, best_name);
    /* auto's choice split by split */
    printf("auto's choices:");
    if (md)
        fprintf(md, "`auto`'s choice per split (by cross-validated log-loss on the 500 out-of-fold rows, mean ± std "
                    "over its 5 folds; for the ensemble its nested score) and its test error; then the one "
                    "candidate `auto --single` fits and its test error:\n\n| split | choice | CV log-loss | test "
                    "error (%%) | `--single` | its test error (%%) |\n| ---: | --- | ---: | ---: | --- | ---: |\n");
    for (size_t i = 0; i < S; i++) {
        printf(" %zu %s %.2f;", i + 1, picks[i].name, auto_err[i]);
        if (md)
            fprintf(md, "| %zu | `%s` | %.4f ± %.4f | %.2f | `%s` | %.2f |\n", i + 1, picks[i].name, picks[i].ll,
                    picks[i].ll_sd, auto_err[i], picks[i].single, picks[i].single_err);
    }
    printf("\n");
    if (md) fprintf(md, "\n");
    printf("\nbest single view %.2f %%, best fixed rule %.2f %% (%s), best trained method %.2f %% (%s), "
           "best fusion %.2f %% (%s)\n",
           best_view, best_fixed, best_fixed_name, best_learned, best_learned_name, best_fuse, best_name);
    /* learned weights over views, averaged over the splits */
    static const lf_method wm[3] = {LF_FUSE_ACC_WEIGHTED, LF_FUSE_WAVG, LF_FUSE_LOGLINEAR};
    printf("mean weights over views (uncalibrated fits):%*s", 1, "");
    for (size_t v = 0; v < M; v++) printf(" %6s", mem[v].name);
    printf("\n");
    if (md) {
        fprintf(md, "Weights over the classifiers (`softmax(W)`, uncalibrated fits, mean over the splits):\n\n");
        fprintf(md, "| method |");
        for (size_t v = 0; v < M; v++) fprintf(md, " `%s` |", mem[v].name);
        fprintf(md, "\n| --- |");
        for (size_t v = 0; v < M; v++) fprintf(md, " ---: |");
        fprintf(md, "\n");
    }
    for (size_t i = 0; i < 3; i++) {
        printf("  %-42s", lf_method_name(wm[i]));
        if (md) fprintf(md, "| `%s` |", lf_method_name(wm[i]));
        for (size_t v = 0; v < M; v++) {
            printf(" %6.3f", wsum[i * MAX_MEMBERS + v] / (double)S);
            if (md) fprintf(md, " %.3f |", wsum[i * MAX_MEMBERS + v] / (double)S);
        }
        printf("\n");
        if (md) fprintf(md, "\n");
    }
    if (md) {
        fprintf(md, "\nPer-view networks (chosen by `mfeat DATA_DIR --tune`: 5-fold CV inside the 500 "
                    "training patterns of split 1 only; fusion options by `--tune-fusion` on the same "
                    "training part: modality dropout 0; the splits are drawn independently, so about a quarter "
                    "of each other split's test patterns are among those 500 and these choices saw their "
                    "labels).  Scaling: `feature` = each feature to mean 0, "
                    "std 1; `pooled` = mean 0 per feature, one std for the whole view (keeps the "
                    "relative scale of the features).  Adam lr 1e-3, batch 32, L2 on both kernels.\n\n");
        fprintf(md, "| view | hidden units | dropout | L2 | epochs | scaling |\n| --- | ---: | ---: | ---: | ---: | --- |\n");
        for (size_t v = 0; v < NV; v++) {
            const net_cfg *c = &VIEWS[v].cfg;
            fprintf(md, "| `%s` | %zu | %.1f | %g | %zu | %s |\n", VIEWS[v].name, c->hidden,
                    (double)c->dropout, (double)c->l2, c->epochs, c->pooled ? "pooled" : "feature");
        }
        if (M > NV) {
            fprintf(md, "\nSecond classifiers per view (`--second`; chosen by `mfeat DATA_DIR --tune-second`: the "
                        "lowest out-of-fold log-loss inside the 500 training patterns of split 1 only): `lr` = "
                        "softmax regression Dense(10, softmax); `mlp2` = two hidden layers (relu, each followed "
                        "by the dropout).  Adam, batch 32, L2 on every kernel.\n\n");
            fprintf(md, "| classifier | hidden units | dropout | L2 | Adam lr | epochs | scaling |\n"
                        "| --- | ---: | ---: | ---: | ---: | ---: | --- |\n");
        }
        for (size_t k = NV; k < M; k++) {
            const net_cfg *c = &mem[k].cfg;
            char units[32] = "0";
            if (c->hidden) snprintf(units, sizeof units, c->hidden2 ? "%zu, %zu" : "%zu", c->hidden, c->hidden2);
            fprintf(md, "| `%s` | %s | %.1f | %g | %g | %zu | %s |\n", mem[k].name, units, (double)c->dropout,
                    (double)c->l2, (double)c->lr, c->epochs, c->pooled ? "pooled" : "feature");
        }
    }
    /* how clearly: per-split wins of the best trained method over the best
     * fixed rule, and how many trained methods beat the mean rule */
    size_t wins = 0, losses = 0, beat_mean = 0, n_trained = 0;
    for (size_t s = 0; s < S; s++) {
        double a = fuse_err[ki_learned * S + s], b = fuse_err[ki_fixed * S + s];
        wins += a < b, losses += a > b;
    }
    {
        double sd;
        mean_std(fuse_err, S, &mean_rule, &sd); /* mean, uncalibrated */
    }
    for (size_t k = 0; k < NM; k++) {
        if (is_fixed(ms[k])) continue;
        double mu, sd;
        mean_std(fuse_err + k * 2 * S, S, &mu, &sd);
        n_trained++, beat_mean += below(mu, mean_rule);
    }
    printf("best trained vs best fixed, per split: %zu better, %zu worse, %zu equal; "
           "%zu of %zu trained methods (uncalibrated) beat the mean rule (%.2f %%)\n",
           wins, losses, S - wins - losses, beat_mean, n_trained, mean_rule);
    if (md)
        fprintf(md, "\nBest trained method against best fixed rule, split by split: %zu better, %zu worse, "
                    "%zu equal.  %zu of the %zu trained methods (uncalibrated) beat the plain mean rule "
                    "(%.2f %%).\n",
                wins, losses, S - wins - losses, beat_mean, n_trained, mean_rule);
    /* issue 14's goals: auto's test log-loss within 2 % of the best method's
     * in hindsight (the method, with or without calibration, with the
     * lowest mean test log-loss over the splits), its error never above the
     * best single view's by more than one standard error (std / sqrt(S)),
     * and no trained method (either calibration) worse than the mean rule */
    double best_ll = 1e9, auto_ll = 0, bv_mu = 1e9, bv_sd = 0;
    char best_ll_name[64] = "";
    for (size_t k = 0; k < NM * 2; k++) {
        double mu, sd;
        mean_std(fuse_ll + k * S, S, &mu, &sd);
        if (mu < best_ll) {
            best_ll = mu;
            snprintf(best_ll_name, sizeof best_ll_name, "%s%s", lf_method_name(ms[k / 2]), k % 2 ? " +calibrate" : "");
        }
    }
    for (size_t i = 0; i < S; i++) auto_ll += picks[i].test_ll / (double)S;
    for (size_t v = 0; v < M; v++) {
        double mu, sd;
        mean_std(view_err + v * S, S, &mu, &sd);
        if (mu < bv_mu) bv_mu = mu, bv_sd = sd;
    }
    double bv_se = bv_sd / sqrt((double)S);
    /* worse than the mean rule; and worse by more than one standard error
     * of the split-by-split difference (the same test patterns on both
     * sides), which the 1000 test patterns' noise does not explain */
    size_t worse_than_mean = 0, worse_beyond = 0, used = 0;
    char beyond[1024] = "";
    double *diff = calloc(S, sizeof *diff);
    for (size_t k = 0; diff && k < NM * 2; k++) {
        double mu, sd, dmu, dsd;
        mean_std(fuse_err + k * S, S, &mu, &sd);
        if (is_fixed(ms[k / 2]) || !below(mean_rule, mu)) continue;
        worse_than_mean++;
        for (size_t s = 0; s < S; s++) diff[s] = fuse_err[k * S + s] - fuse_err[s]; /* row 0: mean */
        mean_std(diff, S, &dmu, &dsd);
        if (!below(dsd / sqrt((double)S), dmu)) continue;
        worse_beyond++;
        int n = snprintf(beyond + used, used < sizeof beyond ? sizeof beyond - used : 0, "%s`%s%s`",
                         worse_beyond > 1 ? ", " : "", lf_method_name(ms[k / 2]), k % 2 ? " +calibrate" : "");
        if (n > 0) used += (size_t)n;
    }
    free(diff);
    int goal_ll = auto_ll <= 1.02 * best_ll, goal_acc = !below(bv_mu + bv_se, amu);
    printf("auto's test log-loss %.4f against %.4f for the best method in hindsight (%s): %+.1f %%; auto's error "
           "%.2f %% against the best single view's %.2f %% + one standard error %.2f %%\n",
           auto_ll, best_ll, best_ll_name, 100.0 * (auto_ll / best_ll - 1.0), amu, bv_mu, bv_se);
    if (md)
        fprintf(md, "\n`auto`'s test log-loss %.4f against %.4f for the best method in hindsight (`%s`, lowest mean "
                    "test log-loss): %+.1f %%.  Its error %.2f %% against the best single view's %.2f %% + one "
                    "standard error (%.2f %%).  %zu of the %zu trained methods × calibration are worse than the "
                    "mean rule; %zu of them by more than one standard error of their split-by-split difference "
                    "from it%s%s%s.\n",
                auto_ll, best_ll, best_ll_name, 100.0 * (auto_ll / best_ll - 1.0), amu, bv_mu, bv_se,
                worse_than_mean, 2 * n_trained, worse_beyond, worse_beyond ? " (" : "", beyond,
                worse_beyond ? ")" : "");
    int goal1 = !below(1.5, best_fuse), goal2 = below(best_learned, best_fixed), goal_auto = !below(1.6, amu);
    printf("goal: best fusion at most 1.5 %%: %s; trained methods ahead of the fixed rules: %s; "
           "auto at most 1.6 %%: %s; auto's log-loss within 2 %% of the best method's: %s; auto's error at most "
           "the best view's + one standard error: %s; no trained method worse than the mean rule: %s (%zu worse, %zu "
           "by more than one paired standard error)\n",
           goal1 ? "reached" : "not reached", goal2 ? "yes" : "no", goal_auto ? "reached" : "not reached",
           goal_ll ? "reached" : "not reached", goal_acc ? "reached" : "not reached",
           worse_than_mean ? "not reached" : "reached", worse_than_mean, worse_beyond);
    printf("time %.1f s\n", elapsed);
    if (md)
        fprintf(md,
                "\nBest single view %.2f %%; best fixed rule %.2f %% (`%s`); best trained method %.2f %% (`%s`).  "
                "Goals (issue 14): best fusion at most 1.5 %%: %s; `auto` at most 1.6 %%: %s; `auto`'s test "
                "log-loss within 2 %% of the best method's in hindsight: %s; `auto`'s error at most the best single "
                "view's + one standard error: %s; no trained method worse than the mean rule: %s.  Goal "
                "\"trained methods ahead of the fixed rules\" (best trained below best fixed): %s.\n",
                best_view, best_fixed, best_fixed_name, best_learned, best_learned_name,
                goal1 ? "reached" : "not reached", goal_auto ? "reached" : "not reached",
                goal_ll ? "reached" : "not reached", goal_acc ? "reached" : "not reached",
                worse_than_mean ? "not reached" : "reached", goal2 ? "reached" : "not reached");
}

static int run(float *const *X, const int *y, const run_cfg *rc, const char *cmd) {
    lf_method ms[MAX_METHODS];
    member mem[MAX_MEMBERS];
    size_t S = rc->splits, NM = methods(ms), M = members_of(rc->second, mem);
    double *view_err = calloc(M * S, sizeof *view_err);
    double *fuse_err = calloc(NM * 2 * S, sizeof *fuse_err);
    double *fuse_ll = calloc(NM * 2 * S, sizeof *fuse_ll);
    double *auto_err = calloc(S, sizeof *auto_err);
    auto_pick *picks = calloc(S, sizeof *picks);
    double wsum[3 * MAX_MEMBERS] = {0};
    float *oof = calloc(M, NTR * C * sizeof(float));
    float *tst = calloc(M, NTE * C * sizeof(float));
    float *fused = calloc(NTE, C * sizeof(float));
    lf_fusion *fu = NULL;
    int rcode = 1;
    if (!view_err || !fuse_err || !fuse_ll || !auto_err || !picks || !oof || !tst || !fused || lf_fusion_create(&fu) != LF_OK) {
        fprintf(stderr, "mfeat: out of memory\n");
        goto done;
    }
    const char *names[MAX_MEMBERS];
    for (size_t k = 0; k < M; k++) names[k] = mem[k].name;
    double t0 = now_s();
    for (size_t s = 0; s < S; s++) {
        size_t tr[NTR], te[NTE], fold[NTR];
        int ytr[NTR], yte[NTE];
        char why[512];
        char msg[600];
        draw_split(1 + s, tr, te);
        for (size_t i = 0; i < NTR; i++) ytr[i] = y[tr[i]];
        for (size_t i = 0; i < NTE; i++) yte[i] = y[te[i]];
        if (lf_folds_stratified(ytr, NTR, C, FOLDS, 99 + s, fold, why, sizeof why) != LF_OK) {
            fprintf(stderr, "mfeat: %s\n", why);
            goto done;
        }
        for (size_t k = 0; k < M; k++) {
            size_t v = mem[k].view;
            net_cfg cfg = mem[k].cfg;
            if (rc->members) cfg.members = rc->members;
            if (rc->quick) cfg.epochs = cfg.epochs / 2 > 10 ? cfg.epochs / 2 : 10;
            uint64_t seed = member_seed(&mem[k], s);
            float *o = oof + k * NTR * C, *t = tst + k * NTE * C;
            /* the test outputs: the mean of the five fold networks (default),
             * or with --refit one network trained on all 500 */
            if (out_of_fold(X[v], VIEWS[v].cols, y, tr, fold, &cfg, seed, o, te, rc->refit ? 0 : NTE,
                            rc->refit ? NULL : t, msg, sizeof msg) != LF_OK ||
                (rc->refit && train_predict(X[v], VIEWS[v].cols, y, tr, NTR, te, NTE, &cfg, seed, t, msg,
                                            sizeof msg) != LF_OK)) {
                fprintf(stderr, "mfeat: split %zu, %s: %s\n", s + 1, mem[k].name, msg);
                goto done;
            }
            view_err[k * S + s] = error_pct(t, yte, NTE);
        }
        const float *po[MAX_MEMBERS], *pt[MAX_MEMBERS];
        for (size_t k = 0; k < M; k++) po[k] = oof + k * NTR * C, pt[k] = tst + k * NTE * C;
        if (rc->save) {
            char dir[4096], file[64];
            snprintf(dir, sizeof dir, "%s/split%zu", rc->save, s + 1);
            int bad = make_dir(rc->save) || make_dir(dir) || write_csv(dir, "ytrain.csv", NULL, ytr, NTR, 1) ||
                      write_csv(dir, "ytest.csv", NULL, yte, NTE, 1);
            for (size_t k = 0; !bad && k < M; k++) {
                snprintf(file, sizeof file, "oof-%s.csv", mem[k].name);
                bad = write_csv(dir, file, po[k], NULL, NTR, C);
                snprintf(file, sizeof file, "test-%s.csv", mem[k].name);
                bad = bad || write_csv(dir, file, pt[k], NULL, NTE, C);
            }
            if (bad) goto done;
        }
        for (size_t k = 0; k < NM * 2; k++) {
            lf_method m = ms[k / 2];
            lf_fusion_options fo = fusion_options(m, (int)(k % 2), 7 + s);
            lf_status st = lf_fusion_fit(fu, po, names, M, NTR, C, ytr, &fo);
            if (st == LF_OK) st = lf_fusion_predict(fu, pt, NTE, fused);
            if (st != LF_OK) {
                fprintf(stderr, "mfeat: split %zu, %s%s: %s\n", s + 1, lf_method_name(m),
                        fo.calibrate ? " +calibrate" : "",
                        lf_fusion_error(fu)[0] ? lf_fusion_error(fu) : lf_status_string(st));
                goto done;
            }
            double met[LF_NUM_METRICS];
            if ((st = lf_fusion_metrics(fused, yte, NTE, C, met)) != LF_OK) {
                fprintf(stderr, "mfeat: split %zu, metrics of %s: %s\n", s + 1, lf_method_name(m),
                        lf_status_string(st));
                goto done;
            }
            fuse_err[k * S + s] = 100.0 * (1.0 - met[LF_METRIC_ACCURACY]);
            fuse_ll[k * S + s] = met[LF_METRIC_LOG_LOSS];
            float w[MAX_MEMBERS];
            size_t wr, wc;
            for (size_t i = 0; i < 3 && !fo.calibrate; i++) {
                static const lf_method wm[3] = {LF_FUSE_ACC_WEIGHTED, LF_FUSE_WAVG, LF_FUSE_LOGLINEAR};
                if (m == wm[i] && lf_fusion_weights(fu, w, M, &wr, &wc) == M)
                    for (size_t j = 0; j < M; j++) wsum[i * MAX_MEMBERS + j] += w[j];
            }
        }
        /* auto: its own choice of method and calibration on the training part */
        lf_fusion_options ao = fusion_options(LF_FUSE_AUTO, 0, 7 + s);
        lf_status ast = lf_fusion_fit(fu, po, names, M, NTR, C, ytr, &ao);
        if (ast == LF_OK) ast = lf_fusion_predict(fu, pt, NTE, fused);
        double amet[LF_NUM_METRICS];
        if (ast == LF_OK) ast = lf_fusion_metrics(fused, yte, NTE, C, amet);
        if (ast != LF_OK) {
            fprintf(stderr, "mfeat: split %zu, auto: %s\n", s + 1, lf_fusion_error(fu));
            goto done;
        }
        auto_err[s] = 100.0 * (1.0 - amet[LF_METRIC_ACCURACY]);
        picks[s].test_ll = amet[LF_METRIC_LOG_LOSS];
        int log_linear = 0;
        size_t members = lf_fusion_ensemble_member(fu, 0, NULL, NULL, NULL, &log_linear);
        if (members)
            snprintf(picks[s].name, sizeof picks[s].name, "ensemble of %zu, %s pool", members,
                     log_linear ? "log-linear" : "linear");
        else
            snprintf(picks[s].name, sizeof picks[s].name, "%s%s", lf_method_name(lf_fusion_method(fu)),
                     lf_fusion_calibrated(fu) ? " +calibrate" : "");
        const lf_compare_table *at = lf_fusion_auto_table(fu);
        for (size_t r = 0; at && r < at->n_rows; r++)
            if (at->rows[r].method == lf_fusion_method(fu) && at->rows[r].calibrated == lf_fusion_calibrated(fu))
                picks[s].ll = at->rows[r].mean[LF_METRIC_LOG_LOSS], picks[s].ll_sd = at->rows[r].std[LF_METRIC_LOG_LOSS];
        fprintf(stderr, "mfeat: split %zu/%zu done (%.0f s); %s\n", s + 1, S, now_s() - t0, lf_fusion_auto_note(fu));
        /* auto as it was before the ensemble, on the same outputs */
        ao.auto_single = 1;
        ast = lf_fusion_fit(fu, po, names, M, NTR, C, ytr, &ao);
        if (ast == LF_OK) ast = lf_fusion_predict(fu, pt, NTE, fused);
        if (ast == LF_OK) ast = lf_fusion_metrics(fused, yte, NTE, C, amet);
        if (ast != LF_OK) {
            fprintf(stderr, "mfeat: split %zu, auto --single: %s\n", s + 1, lf_fusion_error(fu));
            goto done;
        }
        picks[s].single_err = 100.0 * (1.0 - amet[LF_METRIC_ACCURACY]);
        snprintf(picks[s].single, sizeof picks[s].single, "%s%s", lf_method_name(lf_fusion_method(fu)),
                 lf_fusion_calibrated(fu) ? " +calibrate" : "");
    }
    double elapsed = now_s() - t0;

    /* the markdown file: --md FILE, or by default (full runs from the
     * repository root) examples/mfeat-results.md */
    const char *md_path = rc->md;
    struct stat sb;
    if (!md_path && !rc->quick && stat("examples", &sb) == 0 && S_ISDIR(sb.st_mode))
        md_path = "examples/mfeat-results.md";
    /* written beside its place and renamed over it: a failed run leaves
     * the old table whole */
    char tmp_path[4200];
    FILE *md = NULL;
    if (md_path && !(md = open_temp(md_path, tmp_path, sizeof tmp_path))) {
        fprintf(stderr, "mfeat: cannot create a temporary file beside '%s': %s\n", md_path, strerror(errno));
        goto done;
    }
    report(md, rc, mem, M, view_err, fuse_err, fuse_ll, auto_err, picks, wsum, elapsed, cmd);
    if (md) {
        int bad = ferror(md) != 0;
        bad |= fclose(md) != 0;
        if (bad || rename(tmp_path, md_path) != 0) {
            fprintf(stderr, "mfeat: cannot write '%s': %s\n", md_path, strerror(errno));
            remove(tmp_path);
            goto done;
        }
        printf("table written to %s\n", md_path);
    }
    rcode = 0;
done:
    lf_fusion_free(fu);
    free(view_err), free(fuse_err), free(fuse_ll), free(auto_err), free(picks), free(oof), free(tst), free(fused);
    return rcode;
}

/* ---------------------------------------------------------------- main */

/* One view's file: NROWS lines of `cols` numbers separated by blanks,
 * converted with strtof (as the library's CSV reader does).  NULL, with
 * the reason on stderr, when the file cannot be read or has another
 * shape. */
static float *read_view(const char *path, size_t cols) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "mfeat: cannot read '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    float *x = calloc((size_t)NROWS * cols, sizeof *x);
    char *line = NULL;
    size_t cap = 0, rows = 0;
    int ok = x != NULL;
    while (ok && getline(&line, &cap, f) >= 0) {
        char *p = line, *end;
        size_t c = 0;
        for (;;) {
            while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
            if (!*p) break;
            float v = strtof(p, &end);
            if (end == p || c >= cols || rows >= NROWS) {
                ok = 0;
                break;
            }
            x[rows * cols + c++] = v;
            p = end;
        }
        if (ok && c == 0) continue; /* a blank line */
        if (ok && c != cols) ok = 0;
        rows += ok;
    }
    free(line);
    fclose(f);
    if (!ok || rows != NROWS) {
        fprintf(stderr, "mfeat: '%s' is not %d rows of %zu numbers\n", path, NROWS, cols);
        free(x);
        return NULL;
    }
    return x;
}

/* --second's argument: "none", or families by name separated by commas;
 * their bits to *out.  0 on success. */
static int parse_second(const char *arg, unsigned *out) {
    *out = 0;
    if (strcmp(arg, "none") == 0) return 0;
    for (const char *p = arg; *p;) {
        size_t len = strcspn(p, ",");
        int found = 0;
        for (int f = 1; f < NFAM; f++)
            if (strlen(FAMILY[f]) == len && strncmp(p, FAMILY[f], len) == 0) *out |= 1u << f, found = 1;
        if (!found) return 1;
        p += len;
        if (*p == ',' && *++p == '\0') return 1;
    }
    return *out ? 0 : 1;
}

static int usage(void) {
    fprintf(stderr, "usage: mfeat DATA_DIR [--splits N] [--quick] [--members K] [--second none|lr|mlp2|lr,mlp2] "
                    "[--refit] [--md FILE] [--save DIR]\n"
                    "       mfeat DATA_DIR --tune | --tune-second | --tune-fusion [--members K] [--second ...]\n");
    return 2;
}

int main(int argc, char **argv) {
    run_cfg rc = {.splits = 10, .second = SECOND_DEFAULT};
    write_errors_not_signals(); /* ulimit -f: a write error, not a kill (tempfile.h) */
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            rc.quick = 1;
        } else if (strcmp(argv[i], "--tune-fusion") == 0) {
            rc.tune_fusion = 1;
        } else if (strcmp(argv[i], "--refit") == 0) {
            rc.refit = 1;
        } else if (strcmp(argv[i], "--tune") == 0) {
            rc.tune = 1;
        } else if (strcmp(argv[i], "--tune-second") == 0) {
            rc.tune_second = 1;
        } else if (strcmp(argv[i], "--second") == 0 && i + 1 < argc) {
            if (parse_second(argv[++i], &rc.second) != 0) {
                fprintf(stderr, "mfeat: --second takes none, lr, mlp2 or lr,mlp2, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--splits") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            long v = strtol(argv[++i], &end, 10);
            if (*end || errno || v < 1 || v > MAX_SPLITS) {
                fprintf(stderr, "mfeat: --splits must be an integer in 1..%d, got '%s'\n", MAX_SPLITS,
                        argv[i]);
                return 2;
            }
            rc.splits = (size_t)v;
        } else if (strcmp(argv[i], "--members") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            long v = strtol(argv[++i], &end, 10);
            if (*end || errno || v < 1 || v > 20) {
                fprintf(stderr, "mfeat: --members must be an integer in 1..20, got '%s'\n", argv[i]);
                return 2;
            }
            rc.members = (size_t)v;
        } else if (strcmp(argv[i], "--md") == 0 && i + 1 < argc) {
            rc.md = argv[++i];
        } else if (strcmp(argv[i], "--save") == 0 && i + 1 < argc) {
            rc.save = argv[++i];
        } else if (argv[i][0] == '-' || dir) {
            return usage();
        } else {
            dir = argv[i];
        }
    }
    if (!dir) return usage();
    if (rc.quick && rc.splits == 10) rc.splits = 1;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "mfeat: data folder '%s' not found; it must hold the UCI Multiple Features "
                        "files mfeat-fou, mfeat-fac, mfeat-kar, mfeat-pix, mfeat-zer, mfeat-mor\n",
                dir);
        return 2;
    }
    float *X[NV] = {0};
    int rcode = 2;
    for (size_t v = 0; v < NV; v++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/mfeat-%s", dir, VIEWS[v].name);
        X[v] = read_view(path, VIEWS[v].cols);
        if (!X[v]) goto done;
    }
    int y[NROWS];
    for (size_t i = 0; i < NROWS; i++) y[i] = (int)(i / PER_CLASS);
    char cmd[512];
    int len = snprintf(cmd, sizeof cmd, "./build/examples/mfeat");
    for (int i = 1; i < argc && len > 0 && (size_t)len < sizeof cmd; i++)
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %s", argv[i]);
    rcode = rc.tune          ? tune(X, y)
            : rc.tune_second ? tune_second(X, y)
            : rc.tune_fusion ? tune_fusion(X, y, &rc)
                             : run(X, y, &rc, cmd);
done:
    for (size_t v = 0; v < NV; v++) free(X[v]);
    return rcode;
}
