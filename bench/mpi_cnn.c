/*
 * mpi_cnn.c — benchmark B10's engine part (bench/mpi.sh, bench/README.md
 * "B10") and the Web_News CNN check of tests/mpi_test.sh: the Web_News
 * image CNN (bench/cnn.c's network: RandomFlip, RandomTranslation,
 * Rescaling, 4 x [Conv2D, BatchNormalization, ReLU, MaxPooling2D],
 * GlobalAveragePooling2D, Dense(10)) trained data-parallel over
 * MPI_COMM_WORLD when built with mpicc and -DLF_HAVE_MPI (one process
 * otherwise), through the public C API only.
 *
 *   mpi_cnn DIR [epochs] [rows] [model.lfm]
 *                DIR: the Web_News folder (train_images.npy, uint8 (N, 64,
 *                64, 3); train_labels.npy); rows: only the first rows
 *                (default all); model.lfm: rank 0 saves the model there
 *
 * Rank 0 prints, per epoch, "epoch E seconds S cpu C loss L" (S: the wall
 * time of the epoch; C: the CPU time of every rank added), then "out V"
 * for the first 10 values of the Dense layer's kernel (%.9g): the lines
 * that tests/mpi_test.sh compares between 1 and 2 ranks.  The fit's own
 * history gives the loss; the epochs are timed by the progress callback.
 * Exit 1 with "mpi_cnn: MESSAGE" on failure.
 */
#define _POSIX_C_SOURCE 200809L
#include "latefuse.h"

#include "timing.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef LF_HAVE_MPI
#include <mpi.h>
#endif

enum { IMG = 64, CH = 3, CLASSES = 10, BATCH = 32 };

/* uint8 (N, 64, 64, 3) .npy pixels as floats 0..255 (bench/cnn.c's reader) */
static float *read_images(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char pre[10], *raw = NULL;
    char hdr[512];
    float *x = NULL;
    size_t hl, N = 0, H = 0, W = 0, C = 0;
    const char *s;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] != 1) goto bad;
    hl = pre[8] | (size_t)pre[9] << 8;
    if (hl >= sizeof hdr || fread(hdr, 1, hl, f) != hl) goto bad;
    hdr[hl] = '\0';
    s = strstr(hdr, "'shape': (");
    if (!strstr(hdr, "'descr': '|u1'") || !s || sscanf(s, "'shape': (%zu, %zu, %zu, %zu)", &N, &H, &W, &C) != 4 ||
        H != IMG || W != IMG || C != CH || N == 0)
        goto bad;
    raw = malloc(N * IMG * IMG * CH);
    x = malloc(N * IMG * IMG * CH * sizeof *x);
    if (!raw || !x || fread(raw, 1, N * IMG * IMG * CH, f) != N * IMG * IMG * CH) goto bad;
    for (size_t i = 0; i < N * IMG * IMG * CH; i++) x[i] = (float)raw[i];
    free(raw);
    fclose(f);
    *n = N;
    return x;
bad:
    free(raw), free(x);
    fclose(f);
    return NULL;
}

static lf_model *image_cnn(uint64_t seed) {
    static const size_t filters[4] = {32, 64, 128, 128};
    lf_model *m = NULL;
    if (lf_model_create(&m, seed) != LF_OK) return NULL;
    int x = lf_input_shape(m, 3, (size_t[]){IMG, IMG, CH}, LF_DTYPE_FLOAT32, "image");
    x = lf_random_flip(m, x, LF_FLIP_HORIZONTAL, NULL);
    x = lf_random_translation(m, x, 0.1f, 0.1f, NULL);
    x = lf_rescaling(m, x, 1.0f / 255.0f, 0.0f, NULL);
    for (int b = 0; b < 4; b++) {
        x = lf_conv2d(m, x, filters[b], 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_LINEAR, 0, NULL);
        x = lf_batch_normalization(m, x, 0.99f, 1e-3f, NULL);
        x = lf_activation_layer(m, x, LF_ACT_RELU, NULL);
        x = lf_max_pooling2d(m, x, 2, 2, 0, 0, LF_PADDING_VALID, NULL);
    }
    x = lf_global_average_pooling2d(m, x, NULL);
    int out = lf_dense(m, x, CLASSES, LF_ACT_SOFTMAX, 1, "out");
    lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
    lf_model_compile(m, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &opt);
    return m;
}

/* the epochs' wall and CPU times, from the progress callback */
typedef struct {
    double t0, c0, secs[64], cpu[64];
} epoch_times;

static void on_progress(void *ctx, const lf_progress *p) {
    epoch_times *t = ctx;
    lf_progress_event ev = p->event;
    if (ev == LF_PROGRESS_EPOCH_BEGIN) t->t0 = now_s(), t->c0 = cpu_s();
    if (ev == LF_PROGRESS_EPOCH_END && p->epoch >= 1 && p->epoch <= 64)
        t->secs[p->epoch - 1] = now_s() - t->t0, t->cpu[p->epoch - 1] = cpu_s() - t->c0;
}

int main(int argc, char **argv) {
    int rank = 0, rc = 1;
    const void *comm = NULL;
#ifdef LF_HAVE_MPI
    MPI_Init(&argc, &argv);
    MPI_Comm world = MPI_COMM_WORLD;
    MPI_Comm_rank(world, &rank);
    comm = &world;
#endif
    if (argc < 2) {
        fprintf(stderr, "usage: mpi_cnn DIR [epochs] [rows] [model.lfm]\n");
        return 2;
    }
    size_t epochs = argc > 2 ? strtoul(argv[2], NULL, 10) : 1, rows = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
    if (epochs < 1 || epochs > 64) epochs = 1;
    char path[4096], err[4400] = "";
    size_t n = 0;
    snprintf(path, sizeof path, "%s/train_images.npy", argv[1]);
    float *x = read_images(path, &n);
    lf_matrix lab = {0};
    lf_model *m = NULL;
    if (!x) snprintf(err, sizeof err, "%s is not a uint8 .npy of shape (N, 64, 64, 3)", path);
    snprintf(path, sizeof path, "%s/train_labels.npy", argv[1]);
    if (x && (lf_matrix_read(path, &lab, err, sizeof err) != LF_OK || lab.rows * lab.cols != n)) {
        if (lab.data) snprintf(err, sizeof err, "%s: not one label per image", path);
    } else if (x && !(m = image_cnn(7))) {
        snprintf(err, sizeof err, "out of memory for the model");
    }
    if (m) {
        if (rows && rows < n) n = rows;
        epoch_times et;
        memset(&et, 0, sizeof et);
        lf_fit_options o = lf_fit_defaults();
        o.batch_size = BATCH, o.epochs = epochs, o.seed = 3, o.mpi_comm = comm;
        o.progress = on_progress, o.progress_ctx = &et;
        const float *xs[1] = {x};
        if (lf_model_fit(m, xs, lab.data, n, &o) != LF_OK) {
            snprintf(err, sizeof err, "%s", lf_model_error(m));
        } else {
            double cpu[64];
            memcpy(cpu, et.cpu, sizeof cpu);
#ifdef LF_HAVE_MPI
            MPI_Allreduce(et.cpu, cpu, 64, MPI_DOUBLE, MPI_SUM, world);
#endif
            const lf_history *h = lf_model_history(m);
            float k[128 * CLASSES];
            if (rank == 0) {
                for (size_t e = 0; e < h->epochs; e++)
                    printf("epoch %zu seconds %.3f cpu %.3f loss %.9g\n", e + 1, et.secs[e], cpu[e], h->loss[e]);
                if (lf_get_weights(m, "out", 0, k, 128 * CLASSES) == LF_OK)
                    for (int i = 0; i < 10; i++) printf("out %.9g\n", k[i]);
            }
            rc = rank == 0 && argc > 4 && lf_model_save(m, argv[4], LF_WRITE_NO_FSYNC) != LF_OK;
            if (rc) snprintf(err, sizeof err, "%s", lf_model_error(m));
        }
    }
    if (err[0] && rank == 0) printf("mpi_cnn: %s\n", err);
    lf_model_free(m);
    lf_matrix_free(&lab);
    free(x);
#ifdef LF_HAVE_MPI
    MPI_Finalize();
#endif
    return err[0] ? 1 : 0;
}
