/*
 * engine.c — the latefuse side of benchmarks B1, B2, B3, B8 and B11 (see
 * bench/README.md), through the public C API only (include/latefuse.h).
 * bench/torch_peer.py runs the identical work in PyTorch.
 *
 *   engine b1 [runs]        seed network, whole fit (10 epochs of 1000 rows)
 *   engine b2 [calls]       seed network, one-row predict latency
 *   engine b3 [rows] [runs] [max_run_s]
 *                           embedding-fusion MLP, one epoch (20000 rows
 *                           when a run on `rows` would take over max_run_s)
 *   engine b8 [batches] [runs]
 *                           a MultiHeadAttention encoder block, one epoch
 *                           of `batches` training steps (one model: its
 *                           warm-up epoch, then `runs` timed epochs)
 *   engine b11 [batches] [runs]
 *                           a small C3D-style video network (Conv3D), as b8
 *
 * Each run builds and compiles a fresh model outside the timed region and
 * times only lf_model_fit (or each lf_model_predict call); one untimed
 * warm-up run comes first.  Data are U(0,1) from a fixed-seed generator.
 * Output: "RESULT <key> <value>" lines read by bench/report.py.
 */
#define _POSIX_C_SOURCE 200809L
#include "latefuse.h"

#include "timing.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* splitmix64: the benchmark's own data generator */
static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float next_unit(uint64_t *s) { return (float)(next_u64(s) >> 40) * (1.0f / 16777216.0f); }

static float *uniform(size_t n, uint64_t *s) {
    float *a = malloc(n * sizeof *a);
    if (!a) {
        fprintf(stderr, "engine: cannot allocate %zu floats\n", n);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) a[i] = next_unit(s);
    return a;
}

static int fail(lf_model *m, const char *what) {
    fprintf(stderr, "engine: %s failed: %s\n", what, lf_model_error(m));
    lf_model_free(m);
    return 1;
}

/* ------------------------------------------------------- seed network */

enum { SEED_DIM = 100, SEED_ROWS = 1000, SEED_BATCH = 32, SEED_EPOCHS = 10 };

/* 2 x Input(100) -> Dense(32, relu) each -> WeightedAverage -> Dense(1);
 * adam (Keras defaults: lr 1e-3, eps 1e-7), mse */
static lf_model *seed_network(uint64_t seed) {
    lf_model *m = NULL;
    if (lf_model_create(&m, seed) != LF_OK) return NULL;
    static const char *const names[6] = {"in1", "in2", "d1", "d2", "wavg", "out"};
    lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
    if (lf_seed_network(m, SEED_DIM, 32, names, &opt) != LF_OK) {
        fail(m, "seed network compile");
        return NULL;
    }
    return m;
}

static int bench_b1(size_t runs) {
    uint64_t s = 1;
    float *x1 = uniform(SEED_ROWS * SEED_DIM, &s), *x2 = uniform(SEED_ROWS * SEED_DIM, &s);
    float *y = uniform(SEED_ROWS, &s);
    double *t = malloc((runs + 1) * sizeof *t);
    int rc = 1;
    if (!x1 || !x2 || !y || !t) goto done;
    const float *x[2] = {x1, x2};
    lf_fit_options o = lf_fit_defaults();
    o.batch_size = SEED_BATCH;
    o.epochs = SEED_EPOCHS;
    o.shuffle = 1;
    double loss = 0;
    for (size_t r = 0; r <= runs; r++) { /* run 0 is the warm-up */
        lf_model *m = seed_network(100 + r);
        if (!m) goto done;
        o.seed = r;
        double t0 = now_s();
        lf_status st = lf_model_fit(m, x, y, SEED_ROWS, &o);
        double dt = now_s() - t0;
        if (st != LF_OK) {
            fail(m, "B1 fit");
            goto done;
        }
        const lf_history *h = lf_model_history(m);
        loss = h->loss[h->epochs - 1];
        lf_model_free(m);
        if (r > 0) t[r - 1] = dt;
    }
    printf("RESULT b1.latefuse.runs %zu\n", runs);
    printf("RESULT b1.latefuse.median_s %.6g\n", median(t, runs));
    printf("RESULT b1.latefuse.min_s %.6g\n", t[0]);
    printf("RESULT b1.latefuse.final_loss %.6g\n", loss);
    rc = 0;
done:
    free(x1);
    free(x2);
    free(y);
    free(t);
    return rc;
}

static int bench_b2(size_t calls) {
    uint64_t s = 2;
    float *x1 = uniform(SEED_DIM, &s), *x2 = uniform(SEED_DIM, &s);
    double *t = malloc(calls * sizeof *t);
    lf_model *m = seed_network(7);
    int rc = 1;
    if (!x1 || !x2 || !t || !m) goto done;
    const float *x[2] = {x1, x2};
    float yv = 0, sink = 0;
    for (size_t i = 0; i < 1000; i++) { /* warm-up */
        if (lf_model_predict(m, x, 1, &yv) != LF_OK) {
            fprintf(stderr, "engine: B2 predict failed\n");
            goto done;
        }
        sink += yv;
    }
    for (size_t i = 0; i < calls; i++) {
        double t0 = now_s();
        lf_status st = lf_model_predict(m, x, 1, &yv);
        t[i] = now_s() - t0;
        if (st != LF_OK) {
            fprintf(stderr, "engine: B2 predict failed: %s\n", lf_status_string(st));
            goto done;
        }
        sink += yv;
    }
    printf("RESULT b2.latefuse.calls %zu\n", calls);
    printf("RESULT b2.latefuse.median_s %.6g\n", median(t, calls));
    printf("RESULT b2.latefuse.p99_s %.6g\n", t[(size_t)(0.99 * (double)(calls - 1))]);
    fprintf(stderr, "engine: B2 checksum %g\n", (double)sink);
    rc = 0;
done:
    lf_model_free(m);
    free(x1);
    free(x2);
    free(t);
    return rc;
}

/* ------------------------------------------------- embedding-fusion MLP */

enum { B3_IMG = 2048, B3_TXT = 768, B3_CLASSES = 10, B3_BATCH = 256 };

/* floating-point operations of one row's training step: 2 per multiply-add
 * of the forward pass, 4 of the backward pass (the gradients of the weights
 * and of the layer's input), except 2 for the two input layers, whose input
 * gradient neither latefuse nor PyTorch computes */
#define B3_FLOPS_ROW                                                                           \
    (4.0 * ((double)B3_IMG * 512 + (double)B3_TXT * 512) + 6.0 * (1024.0 * 256 + 256.0 * B3_CLASSES))

static lf_model *fusion_mlp(uint64_t seed) {
    lf_model *m = NULL;
    if (lf_model_create(&m, seed) != LF_OK) return NULL;
    int img = lf_input(m, B3_IMG, "image"), txt = lf_input(m, B3_TXT, "text");
    int h[2] = {lf_dense(m, img, 512, LF_ACT_RELU, 1, "image_dense"),
                lf_dense(m, txt, 512, LF_ACT_RELU, 1, "text_dense")};
    int c = lf_concatenate(m, 2, h, "concat");
    int d = lf_dense(m, c, 256, LF_ACT_RELU, 1, "hidden");
    int out = lf_dense(m, d, B3_CLASSES, LF_ACT_SOFTMAX, 1, "out");
    lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
    if (lf_model_compile(m, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &opt) != LF_OK) {
        fail(m, "B3 compile");
        return NULL;
    }
    return m;
}

/* Rows actually used: `rows`, unless the data cannot be allocated or the
 * short warm-up projects a run longer than max_run_s; then B3_SMALL rows
 * (stated in the output as b3.reduced_from). */
enum { B3_SMALL = 20000 };

static int bench_b3(size_t rows, size_t runs, double max_run_s) {
    uint64_t s = 3;
    size_t asked = rows;
    float *ximg = uniform(rows * B3_IMG, &s), *xtxt = ximg ? uniform(rows * B3_TXT, &s) : NULL;
    if ((!ximg || !xtxt) && rows > B3_SMALL) {
        free(ximg);
        free(xtxt);
        rows = B3_SMALL;
        ximg = uniform(rows * B3_IMG, &s);
        xtxt = ximg ? uniform(rows * B3_TXT, &s) : NULL;
    }
    float *y = malloc(rows * sizeof *y);
    double *t = malloc((runs + 1) * sizeof *t);
    int rc = 1;
    if (!ximg || !xtxt || !y || !t) goto done;
    for (size_t i = 0; i < rows; i++) y[i] = (float)(next_u64(&s) % B3_CLASSES);
    const float *x[2] = {ximg, xtxt};
    lf_fit_options o = lf_fit_defaults();
    o.batch_size = B3_BATCH;
    o.epochs = 1;
    o.shuffle = 1;
    double loss = 0, projected = 0;
    for (size_t r = 0; r <= runs; r++) {
        /* the warm-up (run 0) is a short fit of 10 batches: it warms the
         * caches and allocator and projects the time of a full run */
        size_t n = r == 0 ? (rows < 10 * B3_BATCH ? rows : 10 * B3_BATCH) : rows;
        lf_model *m = fusion_mlp(200 + r);
        if (!m) goto done;
        o.seed = r;
        double t0 = now_s();
        lf_status st = lf_model_fit(m, x, y, n, &o);
        double dt = now_s() - t0;
        if (st != LF_OK) {
            fail(m, "B3 fit");
            goto done;
        }
        const lf_history *h = lf_model_history(m);
        loss = h->loss[h->epochs - 1];
        lf_model_free(m);
        if (r == 0) {
            projected = dt / (double)n * (double)rows;
            if (max_run_s > 0 && projected > max_run_s && rows > B3_SMALL) {
                fprintf(stderr,
                        "engine: B3 projects %.0f s per run on %zu rows (limit %.0f s): "
                        "using %d rows\n",
                        projected, rows, max_run_s, B3_SMALL);
                rows = B3_SMALL;
            }
        } else {
            t[r - 1] = dt;
            fprintf(stderr, "engine: B3 run %zu: %.3f s\n", r, dt);
        }
    }
    double med = median(t, runs);
    printf("RESULT b3.rows %zu\n", rows);
    if (rows != asked) {
        printf("RESULT b3.reduced_from %zu\n", asked);
        printf("RESULT b3.latefuse.projected_full_s %.4g\n", projected);
    }
    printf("RESULT b3.latefuse.runs %zu\n", runs);
    printf("RESULT b3.latefuse.median_s %.6g\n", med);
    printf("RESULT b3.latefuse.samples_per_s %.6g\n", (double)rows / med);
    printf("RESULT b3.latefuse.gflops %.6g\n", B3_FLOPS_ROW * (double)rows / med * 1e-9);
    printf("RESULT b3.latefuse.final_loss %.6g\n", loss);
    rc = 0;
done:
    free(ximg);
    free(xtxt);
    free(y);
    free(t);
    return rc;
}

/* ------------------------------------------- attention encoder block */

/* x (T, D) -> MultiHeadAttention(H heads, key_dim D/H)(x, x) -> Add ->
 * LayerNormalization -> Dense(FF, relu) -> Dense(D) -> Add ->
 * LayerNormalization -> GlobalAveragePooling1D -> Dense(10, softmax);
 * adam, sparse categorical cross-entropy, batch 32 */
enum { B8_T = 128, B8_D = 128, B8_H = 4, B8_FF = 512, B8_CLASSES = 10, B8_BATCH = 32 };

static lf_model *encoder_block(uint64_t seed) {
    lf_model *m = NULL;
    if (lf_model_create(&m, seed) != LF_OK) return NULL;
    int x = lf_input_shape(m, 2, (size_t[]){B8_T, B8_D}, LF_DTYPE_FLOAT32, "x");
    int a = lf_multi_head_attention(m, x, x, -1, B8_H, B8_D / B8_H, 0, 0.0f, 1, 0, "mha");
    int h = lf_layer_normalization(m, lf_add(m, 2, (int[]){x, a}, NULL), 1e-3f, 1, 1, NULL);
    int f = lf_dense(m, h, B8_FF, LF_ACT_RELU, 1, "ff1");
    f = lf_dense(m, f, B8_D, LF_ACT_LINEAR, 1, "ff2");
    h = lf_layer_normalization(m, lf_add(m, 2, (int[]){h, f}, NULL), 1e-3f, 1, 1, NULL);
    int out = lf_dense(m, lf_global_average_pooling1d(m, h, NULL), B8_CLASSES, LF_ACT_SOFTMAX, 1, "out");
    lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
    if (lf_model_compile(m, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &opt) != LF_OK) {
        fail(m, "B8 compile");
        return NULL;
    }
    return m;
}

/* B8's and B11's measure: m fitted one epoch of `batches` steps of `batch`
 * rows of x, y as a warm-up, then `runs` timed epochs (the seed of each its
 * number); RESULT lines "<tag>.batches", "<tag>.latefuse.median_s" (per
 * step), min_s, max_s and the last epoch's loss.  Frees m. */
static int time_epochs(const char *tag, lf_model *m, const float *x, const float *y, size_t batch, size_t batches,
                       size_t runs) {
    double *t = malloc(runs * sizeof *t), loss = 0;
    if (!t) return fail(m, tag);
    const float *xs[1] = {x};
    lf_fit_options o = lf_fit_defaults();
    o.batch_size = batch;
    o.epochs = 1;
    o.shuffle = 1;
    for (size_t r = 0; r <= runs; r++) { /* run 0 is the warm-up */
        o.seed = r;
        double t0 = now_s();
        lf_status st = lf_model_fit(m, xs, y, batches * batch, &o);
        double dt = now_s() - t0;
        if (st != LF_OK) {
            free(t);
            return fail(m, tag);
        }
        const lf_history *h = lf_model_history(m);
        loss = h->loss[h->epochs - 1];
        if (r > 0) t[r - 1] = dt / (double)batches;
        fprintf(stderr, "engine: %s epoch %zu%s: %.1f ms per step\n", tag, r, r ? "" : " (warm-up)",
                dt / (double)batches * 1e3);
    }
    printf("RESULT %s.batches %zu\n", tag, batches);
    printf("RESULT %s.latefuse.runs %zu\n", tag, runs);
    printf("RESULT %s.latefuse.median_s %.6g\n", tag, median(t, runs));
    printf("RESULT %s.latefuse.min_s %.6g\n", tag, t[0]);
    printf("RESULT %s.latefuse.max_s %.6g\n", tag, t[runs - 1]);
    printf("RESULT %s.latefuse.final_loss %.6g\n", tag, loss);
    printf("RESULT %s.latefuse.final_loss_hex %a\n", tag, loss); /* bits, for same-bits checks */
    free(t);
    lf_model_free(m);
    return 0;
}

static int bench_b8(size_t batches, size_t runs) {
    uint64_t s = 8;
    size_t rows = batches * B8_BATCH;
    float *x = uniform(rows * B8_T * B8_D, &s), *y = malloc(rows * sizeof *y);
    lf_model *m = encoder_block(800);
    int rc = 1;
    if (x && y && m) {
        for (size_t i = 0; i < rows; i++) y[i] = (float)(next_u64(&s) % B8_CLASSES);
        rc = time_epochs("b8", m, x, y, B8_BATCH, batches, runs);
    } else {
        lf_model_free(m);
    }
    free(x);
    free(y);
    return rc;
}

/* ------------------------------------------------ C3D-style network */

/* video (16, 32, 32, 3) -> Conv3D(32, 3, same, relu) -> MaxPooling3D((1, 2,
 * 2)) -> Conv3D(64, 3, same, relu) -> MaxPooling3D(2) ->
 * GlobalAveragePooling3D -> Dense(10, softmax); adam, sparse categorical
 * cross-entropy, batch 8 */
enum { B11_D = 16, B11_HW = 32, B11_C = 3, B11_CLASSES = 10, B11_BATCH = 8 };

static lf_model *c3d_net(uint64_t seed) {
    lf_model *m = NULL;
    if (lf_model_create(&m, seed) != LF_OK) return NULL;
    int x = lf_input_shape(m, 4, (size_t[]){B11_D, B11_HW, B11_HW, B11_C}, LF_DTYPE_FLOAT32, "video");
    int h = lf_conv3d(m, x, 32, 3, 3, 3, 1, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, "conv1");
    h = lf_max_pooling3d(m, h, 1, 2, 2, 0, 0, 0, LF_PADDING_VALID, "pool1");
    h = lf_conv3d(m, h, 64, 3, 3, 3, 1, 1, 1, LF_PADDING_SAME, LF_ACT_RELU, 1, "conv2");
    h = lf_max_pooling3d(m, h, 2, 2, 2, 0, 0, 0, LF_PADDING_VALID, "pool2");
    h = lf_global_average_pooling3d(m, h, NULL);
    int out = lf_dense(m, h, B11_CLASSES, LF_ACT_SOFTMAX, 1, "out");
    lf_optimizer opt = lf_optimizer_default(LF_OPT_ADAM);
    if (lf_model_compile(m, out, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &opt) != LF_OK) {
        fail(m, "B11 compile");
        return NULL;
    }
    return m;
}

static int bench_b11(size_t batches, size_t runs) {
    uint64_t s = 10;
    size_t rows = batches * B11_BATCH;
    float *x = uniform(rows * B11_D * B11_HW * B11_HW * B11_C, &s), *y = malloc(rows * sizeof *y);
    lf_model *m = c3d_net(1000);
    int rc = 1;
    if (x && y && m) {
        for (size_t i = 0; i < rows; i++) y[i] = (float)(next_u64(&s) % B11_CLASSES);
        rc = time_epochs("b11", m, x, y, B11_BATCH, batches, runs);
    } else {
        lf_model_free(m);
    }
    free(x);
    free(y);
    return rc;
}

static size_t arg_size(int argc, char **argv, int i, size_t def) {
    if (argc <= i) return def;
    char *end = NULL;
    unsigned long long v = strtoull(argv[i], &end, 10);
    return (end && *end == '\0' && v > 0) ? (size_t)v : def;
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "";
    if (strcmp(which, "b1") == 0) return bench_b1(arg_size(argc, argv, 2, 7));
    if (strcmp(which, "b2") == 0) return bench_b2(arg_size(argc, argv, 2, 20000));
    if (strcmp(which, "b3") == 0)
        return bench_b3(arg_size(argc, argv, 2, 100000), arg_size(argc, argv, 3, 3),
                        argc > 4 ? strtod(argv[4], NULL) : 0);
    if (strcmp(which, "b8") == 0) return bench_b8(arg_size(argc, argv, 2, 16), arg_size(argc, argv, 3, 3));
    if (strcmp(which, "b11") == 0) return bench_b11(arg_size(argc, argv, 2, 4), arg_size(argc, argv, 3, 3));
    fprintf(stderr, "usage: engine b1 [runs] | b2 [calls] | b3 [rows] [runs] [max_run_s] | b8 [batches] [runs] | "
                    "b11 [batches] [runs]\n");
    return 2;
}
