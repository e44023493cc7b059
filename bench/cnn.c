/*
 * cnn.c — the latefuse side of benchmark B7 (see bench/README.md): one
 * training epoch of the Web_News image CNN on the 1696 training images,
 * through the public C API only (include/latefuse.h).  bench/torch_peer.py
 * b7 trains the identical network in PyTorch.
 *
 *   cnn b7 DIR [runs] [rows] [net]
 *                         DIR: the Web_News folder (train_images.npy,
 *                         uint8 (N, 64, 64, 3); train_labels.npy, int64);
 *                         rows: only the first rows (default all; 0: all);
 *                         net: "example" (default) or "large"
 *
 * The networks (Adam with Keras' defaults, sparse categorical
 * cross-entropy, batch 32, shuffled):
 *   example — the image branch of examples/webnews.c: Input(64, 64, 3) ->
 *     Rescaling(1/255) -> RandomFlip("horizontal") -> RandomTranslation(0.1,
 *     0.1) -> AveragePooling2D(2) -> 4 x [Conv2D(f, 3x3, "same", no bias) ->
 *     BatchNormalization(momentum 0.9) -> ReLU -> MaxPooling2D(2x2)],
 *     f = 16, 32, 64, 128 -> GlobalAveragePooling2D -> Dropout(0.3) ->
 *     Dense(10, softmax);
 *   large — the branch the example had before (B7 until 2026-12-03): no
 *     AveragePooling2D (the convolutions at 64x64), f = 32, 64, 128, 128,
 *     BatchNormalization momentum 0.99, no Dropout: 13 times the multiply-adds
 *     (about 6 times the time).
 * Their keys: "b7." and "b7l." (RESULT lines).
 *
 * One model, built and compiled outside the timed region, trains for
 * 1 + runs epochs in one lf_model_fit; each epoch is timed (wall and the
 * process' CPU time) through the fit's progress events, from EPOCH_BEGIN to
 * EPOCH_END.  The first epoch is the warm-up: it is also the one that
 * touches the fit's fresh workspace (the kernel zeroes every new page) and
 * is reported apart, from the call of lf_model_fit to its EPOCH_END
 * (b7.latefuse.first_epoch_s); the others are the steady epochs of a
 * training run, which the goal is about.  bench/torch_peer.py b7 does the
 * same with one PyTorch model.  Output: "RESULT <key> <value>" lines read
 * by bench/report.py.
 */
#define _POSIX_C_SOURCE 200809L
#include "latefuse.h"

#include "timing.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { IMG = 64, CH = 3, CLASSES = 10, BATCH = 32 };

/* The pixels of a uint8 .npy of shape (N, 64, 64, 3), C order, as floats
 * 0..255; *n gets N.  NULL (after a message) on anything else. */
static float *read_images(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cnn: cannot open %s\n", path);
        return NULL;
    }
    unsigned char pre[10];
    char hdr[512];
    float *x = NULL;
    unsigned char *raw = NULL;
    size_t hl, N, H, W, C;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] != 1) goto bad;
    hl = pre[8] | (size_t)pre[9] << 8;
    if (hl >= sizeof hdr || fread(hdr, 1, hl, f) != hl) goto bad;
    hdr[hl] = '\0';
    const char *s = strstr(hdr, "'shape': (");
    if (!strstr(hdr, "'descr': '|u1'") || !strstr(hdr, "'fortran_order': False") || !s ||
        sscanf(s, "'shape': (%zu, %zu, %zu, %zu)", &N, &H, &W, &C) != 4 || H != IMG || W != IMG ||
        C != CH || N == 0)
        goto bad;
    size_t vals = N * IMG * IMG * CH;
    raw = malloc(vals);
    x = malloc(vals * sizeof *x);
    if (!raw || !x || fread(raw, 1, vals, f) != vals) goto bad;
    for (size_t i = 0; i < vals; i++) x[i] = (float)raw[i];
    free(raw);
    fclose(f);
    *n = N;
    return x;
bad:
    fprintf(stderr, "cnn: %s is not a uint8 .npy of shape (N, %d, %d, %d)\n", path, IMG, IMG, CH);
    free(raw);
    free(x);
    fclose(f);
    return NULL;
}

static int fail(lf_model *m, const char *what) {
    fprintf(stderr, "cnn: %s failed: %s\n", what, lf_model_error(m));
    lf_model_free(m);
    return 1;
}

/* the two networks of the header comment */
typedef struct net {
    const char *name, *key; /* as on the command line; the RESULT keys' prefix */
    size_t filters[4];
    int pool;       /* AveragePooling2D(2) after the augmentation */
    float momentum; /* BatchNormalization's */
    float dropout;  /* before the Dense, 0: none */
} net;

static const net NETS[] = {{"example", "b7", {16, 32, 64, 128}, 1, 0.9f, 0.3f},
                           {"large", "b7l", {32, 64, 128, 128}, 0, 0.99f, 0.0f}};

static lf_model *image_cnn(const net *nt, uint64_t seed) {
    lf_model *m = NULL;
    if (lf_model_create(&m, seed) != LF_OK) return NULL;
    size_t shape[3] = {IMG, IMG, CH};
    int x = lf_input_shape(m, 3, shape, LF_DTYPE_FLOAT32, "image");
    x = lf_rescaling(m, x, 1.0f / 255.0f, 0.0f, NULL);
    x = lf_random_flip(m, x, LF_FLIP_HORIZONTAL, NULL);
    x = lf_random_translation(m, x, 0.1f, 0.1f, NULL);
    if (nt->pool) x = lf_average_pooling2d(m, x, 2, 2, 0, 0, LF_PADDING_VALID, NULL);
    for (int b = 0; b < 4; b++) {
        x = lf_conv2d(m, x, nt->filters[b], 3, 3, 1, 1, LF_PADDING_SAME, LF_ACT_LINEAR, 0, NULL);
        x = lf_batch_normalization(m, x, nt->momentum, 1e-3f, NULL);
        x = lf_activation_layer(m, x, LF_ACT_RELU, NULL);
        x = lf_max_pooling2d(m, x, 2, 2, 0, 0, LF_PADDING_VALID, NULL);
    }
    x = lf_global_average_pooling2d(m, x, NULL);
    if (nt->dropout > 0) x = lf_dropout(m, x, nt->dropout, NULL);
    int out = lf_dense(m, x, CLASSES, LF_ACT_SOFTMAX, 1, NULL);
    lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
    if (lf_model_compile(m, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &opt) != LF_OK) {
        fail(m, "B7 compile");
        return NULL;
    }
    return m;
}

/* the progress callback's clock: epoch k's wall and CPU seconds */
typedef struct epoch_clock {
    double t0, c0, start;
    double *t, *cpu;
    size_t k, cap;
} epoch_clock;

static void on_progress(void *ctx, const lf_progress *p) {
    epoch_clock *ec = ctx;
    if (p->event == LF_PROGRESS_EPOCH_BEGIN) {
        ec->t0 = now_s(), ec->c0 = cpu_s();
    } else if (p->event == LF_PROGRESS_EPOCH_END && ec->k < ec->cap) {
        ec->t[ec->k] = now_s() - (ec->k ? ec->t0 : ec->start); /* epoch 1: from the call */
        ec->cpu[ec->k] = cpu_s() - ec->c0;
        fprintf(stderr, "cnn: B7 epoch %zu%s: %.3f s\n", ec->k + 1, ec->k ? "" : " (warm-up)", ec->t[ec->k]);
        ec->k++;
    }
}

static int bench_b7(const net *nt, const char *dir, size_t runs, size_t rows) {
    char path[4096];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/train_images.npy", dir);
    float *x = read_images(path, &n), *y = NULL;
    double *t = malloc((runs + 1) * sizeof *t), *cpu = malloc((runs + 1) * sizeof *cpu);
    lf_matrix lab = {0};
    char err[256];
    int rc = 1;
    lf_model *m = NULL;
    if (!x || !t || !cpu) goto done;
    snprintf(path, sizeof path, "%s/train_labels.npy", dir);
    if (lf_matrix_read(path, &lab, err, sizeof err) != LF_OK || lab.rows * lab.cols != n) {
        fprintf(stderr, "cnn: %s: %s\n", path, lab.data ? "not one label per image" : err);
        goto done;
    }
    y = lab.data;
    if (rows && rows < n) n = rows;
    const float *xs[1] = {x};
    epoch_clock ec = {.t = t, .cpu = cpu, .cap = runs + 1};
    lf_fit_options o = lf_fit_defaults();
    o.batch_size = BATCH;
    o.epochs = runs + 1; /* epoch 1 is the warm-up */
    o.shuffle = 1;
    o.seed = 0;
    o.progress = on_progress;
    o.progress_ctx = &ec;
    if (!(m = image_cnn(nt, 700))) goto done;
    ec.start = now_s();
    if (lf_model_fit(m, xs, y, n, &o) != LF_OK) {
        fail(m, "B7 fit");
        m = NULL;
        goto done;
    }
    if (ec.k != runs + 1) {
        fprintf(stderr, "cnn: B7 fit reported %zu epochs, not %zu\n", ec.k, runs + 1);
        goto done;
    }
    const lf_history *h = lf_model_history(m);
    double loss = h->loss[h->epochs - 1];
    const char *k = nt->key;
    printf("RESULT %s.net %s\n", k, nt->name);
    printf("RESULT %s.rows %zu\n", k, n);
    printf("RESULT %s.latefuse.runs %zu\n", k, runs);
    printf("RESULT %s.latefuse.first_epoch_s %.6g\n", k, t[0]);
    printf("RESULT %s.latefuse.median_s %.6g\n", k, median(t + 1, runs));
    printf("RESULT %s.latefuse.min_s %.6g\n", k, t[1]);
    printf("RESULT %s.latefuse.max_s %.6g\n", k, t[runs]);
    printf("RESULT %s.latefuse.cpu_median_s %.6g\n", k, median(cpu + 1, runs));
    printf("RESULT %s.latefuse.final_loss %.6g\n", k, loss);
    printf("RESULT %s.latefuse.final_loss_hex %a\n", k, loss); /* bits, for same-bits checks */
    rc = 0;
done:
    lf_model_free(m);
    free(x);
    free(t);
    free(cpu);
    lf_matrix_free(&lab);
    return rc;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "b7") == 0) {
        size_t runs = argc > 3 ? strtoul(argv[3], NULL, 10) : 3;
        const char *name = argc > 5 ? argv[5] : "example";
        for (size_t i = 0; i < sizeof NETS / sizeof NETS[0]; i++)
            if (strcmp(name, NETS[i].name) == 0)
                return bench_b7(&NETS[i], argv[2], runs ? runs : 3, argc > 4 ? strtoul(argv[4], NULL, 10) : 0);
        fprintf(stderr, "cnn: unknown network '%s' (example or large)\n", name);
        return 2;
    }
    fprintf(stderr, "usage: cnn b7 DIR [runs] [rows] [example|large]\n");
    return 2;
}
