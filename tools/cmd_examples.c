/*
 * cmd_examples.c — `latefuse seed-example` and `latefuse head-example`:
 * the two networks of the question, trained with the engine.
 *
 * seed-example reproduces the Keras seed exactly (two inputs of 100
 * features, 1000 samples of U(0,1) data and targets, Dense(32, relu) per
 * branch, WeightedAverage, Dense(1), adam defaults, mse, batch 32, 10
 * epochs) and prints softmax(W) of the WeightedAverage layer.
 * head-example trains the concatenation head on the outputs of two pretend
 * classifiers that are each reliable on different classes.  The data come
 * from the tool's own seeded generator, independent of the model's.
 */
#include "cli.h"

#include <math.h>
#include <string.h>

static int model_fail(lf_model *m, lf_status st) {
    char msg[600];
    snprintf(msg, sizeof msg, "%s", *lf_model_error(m) ? lf_model_error(m) : lf_status_string(st));
    lf_model_free(m);
    return cli_fail(st, msg, 0);
}

/* --history FILE: the fit's per-epoch history (CSV, or JSON for .json),
 * written with the signals held (guard.c): one that comes meanwhile acts
 * once the file is in place, and says so */
static int write_history(const lf_model *m, const char *path) {
    char err[512];
    sigset_t prev;
    cli_guard_hold(&prev);
    lf_status st = lf_history_save(lf_model_history(m), path, 0, err, sizeof err);
    if (!st) cli_outputs_done();
    cli_guard_release(&prev);
    if (st) return cli_fail(st, err, 0);
    fprintf(stderr, "wrote the history to %s\n", path);
    return 0;
}

int cli_cmd_seed_example(const struct cli_opts *o) {
    enum { N = 1000, D = 100 };
    size_t epochs = o->epochs ? o->epochs : 10;
    float *x1 = malloc(sizeof(float) * N * D), *x2 = malloc(sizeof(float) * N * D);
    float *y = malloc(sizeof(float) * N);
    lf_model *m = NULL;
    int rc = 0;
    if (!x1 || !x2 || !y) {
        rc = cli_fail(LF_ERR_NOMEM, "out of memory for the seed example's data", 0);
        goto done;
    }
    cli_rng r = {o->seed};
    for (size_t i = 0; i < (size_t)N * D; i++) x1[i] = (float)cli_rng_uniform(&r);
    for (size_t i = 0; i < (size_t)N * D; i++) x2[i] = (float)cli_rng_uniform(&r);
    for (size_t i = 0; i < N; i++) y[i] = (float)cli_rng_uniform(&r);

    lf_status st = lf_model_create(&m, o->seed);
    if (st) {
        rc = cli_fail(st, "cannot create the model", 0);
        goto done;
    }
    st = lf_seed_network(m, D, 32, NULL, NULL); /* Keras' names, adam */
    if (!st && o->rank == 0) st = lf_model_summary(m, stdout); /* under mpirun: rank 0 prints */
    if (st) {
        rc = model_fail(m, st);
        m = NULL;
        goto done;
    }
    fflush(stdout);

    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = epochs;
    fo.batch_size = 32;
    fo.seed = o->seed;
    fo.mpi_comm = o->mpi_comm; /* under mpirun: data-parallel over the ranks */
    cli_progress_fit(&fo, o->quiet || o->rank);
    const float *x[2] = {x1, x2};
    float w[2];
    st = lf_model_fit(m, x, y, N, &fo);
    if (!st) st = lf_get_weights(m, "weighted_average", 0, w, 2);
    if (st) {
        rc = model_fail(m, st);
        m = NULL;
        goto done;
    }
    if (o->history && o->rank == 0 && (rc = write_history(m, o->history)) != 0) goto done; /* rank 0 writes */
    double mx = w[0] > w[1] ? w[0] : w[1];
    double e0 = exp(w[0] - mx), e1 = exp(w[1] - mx);
    if (o->rank == 0) printf("weights: %.6f %.6f\n", e0 / (e0 + e1), e1 / (e0 + e1));
done:
    lf_model_free(m);
    free(x1);
    free(x2);
    free(y);
    return rc;
}

/* ------------------------------------------------------------- head */

#define HEAD_C 3

/* Output of a pretend classifier for a sample of class y: confident and
 * right on the classes in `reliable` (a bit mask), close to chance with a
 * small pull to the truth on the others. */
static void pretend_output(cli_rng *r, int y, unsigned reliable, float *out) {
    double z[HEAD_C], mx = -1e300, s = 0;
    for (int c = 0; c < HEAD_C; c++) z[c] = 0.8 * cli_rng_normal(r);
    if (reliable & (1u << y)) {
        z[y] += 2.5;
    } else {
        z[y] += 0.4;
        z[(int)(cli_rng_uniform(r) * HEAD_C)] += 1.2;
    }
    for (int c = 0; c < HEAD_C; c++) mx = z[c] > mx ? z[c] : mx;
    for (int c = 0; c < HEAD_C; c++) s += (z[c] = exp(z[c] - mx));
    for (int c = 0; c < HEAD_C; c++) out[c] = (float)(z[c] / s);
}

static void make_head_data(cli_rng *r, size_t n, float *a, float *b, float *onehot, int *y) {
    for (size_t i = 0; i < n; i++) {
        y[i] = (int)(cli_rng_uniform(r) * HEAD_C);
        pretend_output(r, y[i], 0x3u /* classes 0, 1 */, a + i * HEAD_C);
        pretend_output(r, y[i], 0x6u /* classes 1, 2 */, b + i * HEAD_C);
        for (int c = 0; c < HEAD_C; c++) onehot[i * HEAD_C + c] = c == y[i] ? 1.0f : 0.0f;
    }
}

static double argmax_accuracy(const float *p, const int *y, size_t n) {
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        ok += cli_argmax(p + i * HEAD_C, HEAD_C) == (size_t)y[i];
    }
    return n ? (double)ok / (double)n : 0.0;
}

int cli_cmd_head_example(const struct cli_opts *o) {
    enum { NTR = 2000, NTE = 1000 };
    size_t n = NTR + NTE;
    float *a = malloc(sizeof(float) * n * HEAD_C), *b = malloc(sizeof(float) * n * HEAD_C);
    float *t = malloc(sizeof(float) * n * HEAD_C);
    int *y = malloc(sizeof(int) * n);
    lf_model *m = NULL;
    int rc = 0;
    if (!a || !b || !t || !y) {
        rc = cli_fail(LF_ERR_NOMEM, "out of memory for the head example's data", 0);
        goto done;
    }
    cli_rng r = {o->seed ^ 0x4845414455ull};
    make_head_data(&r, n, a, b, t, y);

    lf_status st = lf_model_create(&m, o->seed);
    if (st) {
        rc = cli_fail(st, "cannot create the model", 0);
        goto done;
    }
    int xs[2] = {lf_input(m, HEAD_C, "image"), lf_input(m, HEAD_C, "text")};
    int h = lf_concatenate(m, 2, xs, "concatenate");
    h = lf_dense(m, h, 128, LF_ACT_RELU, 1, "dense");
    h = lf_dropout(m, h, 0.2f, "dropout");
    h = lf_dense(m, h, HEAD_C, LF_ACT_SOFTMAX, 1, "dense_1");
    st = lf_model_compile(m, h, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL);
    if (!st) st = lf_model_summary(m, stdout);
    if (st) {
        rc = model_fail(m, st);
        m = NULL;
        goto done;
    }
    fflush(stdout);

    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = o->epochs ? o->epochs : 20;
    fo.validation_split = 0.2;
    fo.seed = o->seed;
    cli_progress_fit(&fo, o->quiet);
    const float *xtr[2] = {a, b};
    const float *xte[2] = {a + (size_t)NTR * HEAD_C, b + (size_t)NTR * HEAD_C};
    double acc_tr = NAN, acc_te = NAN;
    st = lf_model_fit(m, xtr, t, NTR, &fo);
    /* the engine holds out the last rows, as Keras, with this same split */
    size_t ntrain = (size_t)floor((double)NTR * (1.0 - fo.validation_split));
    if (!st) st = lf_model_evaluate(m, xtr, t, ntrain, NULL, NULL, &acc_tr);
    if (!st) st = lf_model_evaluate(m, xte, t + (size_t)NTR * HEAD_C, NTE, NULL, NULL, &acc_te);
    if (st) {
        rc = model_fail(m, st);
        m = NULL;
        goto done;
    }
    const lf_history *hist = lf_model_history(m);
    if (o->history && o->rank == 0 && (rc = write_history(m, o->history)) != 0) goto done; /* rank 0 writes */
    printf("image model alone (test):  accuracy %.4f  (reliable on classes 0, 1)\n",
           argmax_accuracy(xte[0], y + NTR, NTE));
    printf("text model alone (test):   accuracy %.4f  (reliable on classes 1, 2)\n",
           argmax_accuracy(xte[1], y + NTR, NTE));
    printf("train accuracy:       %.4f  (%zu samples)\n", acc_tr, ntrain);
    if (hist && hist->epochs)
        printf("validation accuracy:  %.4f  (%zu samples)\n", hist->val_accuracy[hist->epochs - 1],
               (size_t)NTR - ntrain);
    printf("test accuracy:        %.4f  (%d held-out samples)\n", acc_te, NTE);
done:
    lf_model_free(m);
    free(a);
    free(b);
    free(t);
    free(y);
    return rc;
}
