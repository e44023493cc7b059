/*
 * mpi_fit.c — a test program of tests/mpi_test.sh (not a test_*.c of the
 * plain build): the seed network (lf_seed_network: two inputs of 100
 * features, 1000 rows, batch 32) trained for 3 epochs, built twice by the
 * script: with mpicc and -DLF_HAVE_MPI against the MPI build (fit over
 * MPI_COMM_WORLD, data-parallel) and with cc against the plain build (one
 * process).  Rank 0 prints each epoch's loss and softmax(W) of the
 * WeightedAverage layer (%.9g) and saves the model to argv[1].
 *   mpi_fit OUT.lfm            the seed network
 *   mpi_fit OUT.lfm dropout    a Dense + Dropout model
 *   mpi_fit OUT.lfm batchnorm  a Dense + BatchNormalization model
 *   mpi_fit OUT.lfm seqbn      the first input as 100 token ids (0 to 5, 0
 *                              padding): Embedding(mask_zero), a
 *                              BatchNormalization of masked statistics,
 *                              GlobalAveragePooling1D, Dense
 *   mpi_fit OUT.lfm seqout     the same ids: Embedding(mask_zero), Dense(1)
 *                              per step, its loss over the unmasked steps
 *                              of the whole batch (M summed over the ranks)
 *   mpi_fit OUT.lfm cnn        the inputs as (5, 5, 4) images: RandomFlip,
 *                              RandomTranslation, Conv2D, BatchNormalization,
 *                              Dropout, Dense
 *   mpi_fit OUT.lfm wino       the inputs as (5, 5, 4) images: two Conv2D of
 *                              16 filters (the second by Winograd), Dense;
 *                              batch 333, so the last batch has 1 row and
 *                              every rank but one none
 * (their draws and batch statistics are the whole batch's on any number of
 * ranks); these print the output layer's kernel ("out") as well, but wino
 * only its losses.
 *   mpi_fit OUT.lfm bad        rank 1 (of 2 or more) passes a NaN target:
 *                              its fit fails, the others wait in the step's
 *                              sums (a failure one rank alone sees)
 *   mpi_fit OUT.lfm valdiff    the seed network, validation_split 0.2 and
 *                              patience 2: rank 1's last target (a
 *                              validation row) differs, so would its
 *                              validation losses
 *   mpi_fit OUT.lfm mindelta   the same, rank 1 given min_delta 1e9 (it
 *                              would stop early alone)
 *   mpi_fit OUT.lfm optdiff    the seed network, rank 1's Adam with clipnorm
 *                              0.001 (its updates would differ)
 *   mpi_fit OUT.lfm l2diff     the seed network, rank 1's output layer with
 *                              an L2 penalty (its gradients would differ)
 *   mpi_fit OUT.lfm stopstep   the seed network, 3 epochs reported step by
 *                              step; the last rank alone asks to stop at
 *                              epoch 2's step 5 (lf_model_stop_training):
 *                              every rank ends after that step
 *   mpi_fit OUT.lfm valsteps   the seed network, validation_split 0.2 and
 *                              patience 2, rank 0 alone with a progress
 *                              callback and progress_validation_steps (its
 *                              VAL_STEP events counted: "valsteps N"): every
 *                              rank measures in its batches
 *   mpi_fit OUT.lfm progress0  the seed network, rank 0 alone with a progress
 *                              callback (which does nothing): the same fit
 *                              as seed
 *   mpi_fit OUT.lfm KIND EPOCHS   that many epochs, each rank writing its
 *                              process id to rank<R>.pid first (for the
 *                              test that kills one rank during the fit)
 * Exit 1 with "mpi_fit: MESSAGE" (rank 0) when the fit fails, or when a
 * rank's weights differ from rank 0's after it (the output layer's, and
 * BatchNormalization's moving statistics: each rank computes its own).
 */
#include "latefuse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef LF_HAVE_MPI
#include <mpi.h>
#endif

enum { N = 1000, D = 100 };
static float x1[N * D], x2[N * D], y[N];

/* stopstep: the model, and whether this rank asks to stop */
typedef struct stopper {
    lf_model *m;
    int asks;
} stopper;

static void stop_at_step5(void *ctx, const lf_progress *p) {
    const stopper *s = ctx;
    if (s->asks && p->event == LF_PROGRESS_STEP && p->epoch == 2 && p->step == 5) lf_model_stop_training(s->m);
}

/* valsteps: rank 0's count of VAL_STEP events */
static void count_val_steps(void *ctx, const lf_progress *p) {
    if (p->event == LF_PROGRESS_VAL_STEP) ++*(size_t *)ctx;
}

/* progress0: rank 0's progress callback */
static void no_progress(void *ctx, const lf_progress *p) { (void)ctx, (void)p; }

int main(int argc, char **argv) {
    int rank = 0, size = 1, rc = 0;
    const void *comm = NULL;
#ifdef LF_HAVE_MPI
    MPI_Init(&argc, &argv);
    MPI_Comm world = MPI_COMM_WORLD;
    MPI_Comm_rank(world, &rank);
    MPI_Comm_size(world, &size);
    comm = &world;
#endif
    if (argc < 2) return 2;
    const char *kind = argc > 2 ? argv[2] : "seed";
    int seed = strcmp(kind, "seed") == 0 || strcmp(kind, "progress0") == 0;
    uint64_t s = 12345; /* a fixed generator of the data (64-bit LCG) */
    for (size_t i = 0; i < (size_t)N * D; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x1[i] = (float)(s >> 40) / 16777216.0f;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x2[i] = (float)(s >> 40) / 16777216.0f;
    }
    for (size_t i = 0; i < N; i++) y[i] = 0.3f * x1[i * D] + 0.7f * x2[i * D + 1];
    lf_model *m = NULL;
    lf_status st = lf_model_create(&m, 7);
    int valsteps = strcmp(kind, "valsteps") == 0;
    int val = strcmp(kind, "valdiff") == 0 || strcmp(kind, "mindelta") == 0 || valsteps;
    int diff = strcmp(kind, "optdiff") == 0 || strcmp(kind, "l2diff") == 0;
    int stopstep = strcmp(kind, "stopstep") == 0;
    if (!st && (seed || strcmp(kind, "bad") == 0 || val || diff || stopstep)) {
        lf_optimizer adam = lf_optimizer_default(LF_OPT_ADAM);
        if (strcmp(kind, "optdiff") == 0 && rank == 1) adam.clipnorm = 0.001f;
        st = lf_seed_network(m, D, 32, NULL, &adam);
        if (!st && strcmp(kind, "l2diff") == 0 && rank == 1) st = lf_set_l2(m, lf_node_find(m, "dense_2"), 0.5f);
        if (strcmp(kind, "bad") == 0 && rank == 1) y[N / 2] = NAN;
        if (strcmp(kind, "valdiff") == 0 && rank == 1) y[N - 1] += 1.0f;
    } else if (!st && strcmp(kind, "cnn") == 0) {
        int a = lf_input_shape(m, 3, (size_t[]){5, 5, 4}, LF_DTYPE_FLOAT32, "a");
        int h = lf_random_flip(m, a, LF_FLIP_HORIZONTAL, "flip");
        h = lf_random_translation(m, h, 0.2f, 0.2f, "shift");
        h = lf_conv2d(m, h, 6, 3, 3, 1, 1, LF_PADDING_VALID, LF_ACT_LINEAR, 1, "conv");
        h = lf_batch_normalization(m, h, 0.9f, 1e-3f, "bn");
        h = lf_dropout(m, lf_flatten(m, h, "flat"), 0.3f, "dropout");
        h = lf_dense(m, h, 1, LF_ACT_LINEAR, 1, "out");
        st = lf_model_compile(m, h, LF_LOSS_MSE, NULL);
    } else if (!st && strcmp(kind, "seqout") == 0) {
        for (size_t i = 0; i < (size_t)N * D; i++) x1[i] = floorf(x1[i] * 6.0f);
        int a = lf_input_shape(m, 1, (size_t[]){D}, LF_DTYPE_FLOAT32, "a");
        int h = lf_embedding(m, a, 6, 8, 1, "emb");
        h = lf_dense(m, h, 1, LF_ACT_LINEAR, 1, "out");
        st = lf_model_compile(m, h, LF_LOSS_MSE, NULL);
    } else if (!st && strcmp(kind, "seqbn") == 0) {
        for (size_t i = 0; i < (size_t)N * D; i++) x1[i] = floorf(x1[i] * 6.0f);
        int a = lf_input_shape(m, 1, (size_t[]){D}, LF_DTYPE_FLOAT32, "a");
        int h = lf_embedding(m, a, 6, 8, 1, "emb");
        h = lf_batch_normalization(m, h, 0.9f, 1e-3f, "bn");
        h = lf_global_average_pooling1d(m, h, "gap");
        h = lf_dense(m, h, 1, LF_ACT_LINEAR, 1, "out");
        st = lf_model_compile(m, h, LF_LOSS_MSE, NULL);
    } else if (!st && strcmp(kind, "wino") == 0) {
        int a = lf_input_shape(m, 3, (size_t[]){5, 5, 4}, LF_DTYPE_FLOAT32, "a");
        int h = lf_conv2d(m, a, 16, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, "conv1");
        h = lf_conv2d(m, h, 16, 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, "conv2");
        h = lf_dense(m, lf_flatten(m, h, "flat"), 1, LF_ACT_LINEAR, 1, "out");
        st = lf_model_compile(m, h, LF_LOSS_MSE, NULL);
    } else if (!st) {
        int a = lf_input(m, D, "a");
        int h = lf_dense(m, a, 8, LF_ACT_RELU, 1, "dense");
        h = strcmp(kind, "dropout") == 0 ? lf_dropout(m, h, 0.2f, "dropout")
                                         : lf_batch_normalization(m, h, 0.99f, 1e-3f, "bn");
        h = lf_dense(m, h, 1, LF_ACT_LINEAR, 1, "out");
        st = lf_model_compile(m, h, LF_LOSS_MSE, NULL);
    }
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 3;
    if (argc > 3) {
        fo.epochs = (size_t)strtoul(argv[3], NULL, 10);
        char name[32];
        snprintf(name, sizeof name, "rank%d.pid", rank);
        FILE *f = fopen(name, "w");
        if (f) fprintf(f, "%ld\n", (long)getpid()), fclose(f);
    }
    fo.batch_size = strcmp(kind, "wino") == 0 ? 333 : 32;
    fo.mpi_comm = comm;
    if (val) fo.epochs = 8, fo.validation_split = 0.2, fo.patience = 2;
    if (strcmp(kind, "mindelta") == 0 && rank == 1) fo.min_delta = 1e9f;
    stopper stop = {m, rank == size - 1};
    if (stopstep) fo.progress = stop_at_step5, fo.progress_ctx = &stop, fo.progress_every_step = 1;
    if (strcmp(kind, "progress0") == 0 && rank == 0) fo.progress = no_progress;
    size_t val_steps = 0;
    if (valsteps && rank == 0) fo.progress = count_val_steps, fo.progress_ctx = &val_steps;
    if (valsteps && rank == 0) fo.progress_validation_steps = 1;
    const float *x[2] = {x1, x2};
    /* seqout: a target per step (the second input's values) */
    if (!st) st = lf_model_fit(m, x, strcmp(kind, "seqout") == 0 ? x2 : y, N, &fo);
    int differ = 0;
#ifdef LF_HAVE_MPI
    if (!st) { /* every rank holds rank 0's bits: the last layer, the moving statistics */
        enum { MAX = 2 * 8 + 54 };
        float mine[MAX] = {0}, root[MAX];
        size_t nb = strcmp(kind, "batchnorm") == 0 || strcmp(kind, "seqbn") == 0 ? 8 : strcmp(kind, "cnn") == 0 ? 6 : 0;
        size_t nk = strcmp(kind, "cnn") == 0 ? 54 : 8;
        if (nb) lf_get_weights(m, "bn", 2, mine, nb), lf_get_weights(m, "bn", 3, mine + nb, nb);
        if (seed || strcmp(kind, "bad") == 0 || stopstep || valsteps)
            lf_get_weights(m, "weighted_average", 0, mine, 2);
        else if (diff) lf_get_weights(m, "dense_2", 0, mine, 32);
        else if (strcmp(kind, "wino") == 0) lf_get_weights(m, "conv2", 1, mine, 16);
        else lf_get_weights(m, "out", 0, mine + 2 * nb, nk);
        memcpy(root, mine, sizeof mine);
        MPI_Bcast(root, MAX, MPI_FLOAT, 0, world);
        int mismatch = memcmp(root, mine, sizeof mine) != 0;
        MPI_Allreduce(&mismatch, &differ, 1, MPI_INT, MPI_LOR, world);
    }
#endif
    if (differ) {
        if (rank == 0) printf("mpi_fit: the ranks hold different weights after the fit\n");
        rc = 1;
    } else if (st) {
        if (rank == 0) printf("mpi_fit: %s\n", lf_model_error(m));
        rc = 1;
    } else if (rank == 0) {
        const lf_history *h = lf_model_history(m);
        for (size_t e = 0; e < h->epochs; e++) printf("loss %.9g\n", h->loss[e]);
        for (size_t e = 0; valsteps && e < h->epochs; e++) printf("val_loss %.9g\n", h->val_loss[e]);
        if (valsteps) printf("valsteps %zu\n", val_steps);
        float w[2];
        if (seed && lf_get_weights(m, "weighted_average", 0, w, 2) == LF_OK) {
            double e0 = exp(w[0] - fmax(w[0], w[1])), e1 = exp(w[1] - fmax(w[0], w[1]));
            printf("weights %.9g %.9g\n", e0 / (e0 + e1), e1 / (e0 + e1));
        }
        float k[54];
        size_t nk = strcmp(kind, "cnn") == 0 ? 54 : 8;
        if (!seed && strcmp(kind, "wino") != 0 && !stopstep && lf_get_weights(m, "out", 0, k, nk) == LF_OK)
            for (size_t i = 0; i < nk; i++) printf("out %.9g\n", k[i]);
        if (lf_model_save(m, argv[1], LF_WRITE_NO_FSYNC) != LF_OK) rc = 1;
    }
    lf_model_free(m);
#ifdef LF_HAVE_MPI
    MPI_Finalize();
#endif
    return rc;
}
