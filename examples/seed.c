/*
 * seed.c — the README's C quick start: the Keras seed network (two inputs,
 * Dense(32, relu) per branch, WeightedAverage, Dense(1); adam, mse) built
 * with the latefuse API, trained for 10 epochs on U(0,1) data, and the
 * learned fusion weights softmax(W) printed.  Build: make; run:
 * ./build/examples/seed
 */
#include <latefuse.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static float uniform(uint64_t *s) { /* xorshift64: any U(0,1) source will do */
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return (float)(*s >> 40) / 16777216.0f;
}

/* The progress callback: each epoch's lines on stderr (the library prints
 * nothing itself; lf_progress_format gives the Keras text). */
static void epoch_lines(void *ctx, const lf_progress *p) {
    char line[256];
    (void)ctx;
    if (p->event == LF_PROGRESS_STEP) return;  /* the redrawn bar: terminals only */
    lf_progress_format(p, line, sizeof line);
    fputs(line, stderr);
}

/* `--history FILE`: the per-epoch loss and accuracy, as CSV (or JSON for
 * a .json name), for plotting. */
static int save_history(const lf_model *m, int argc, char **argv) {
    if (argc < 3 || strcmp(argv[1], "--history") != 0) return 0;
    char err[512];
    if (lf_history_save(lf_model_history(m), argv[2], 0, err, sizeof err) != LF_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 1;
    }
    printf("wrote the history to %s\n", argv[2]);
    return 0;
}

int main(int argc, char **argv) {
    enum { N = 1000, D = 100 };
    static float x1[N * D], x2[N * D], y[N];
    uint64_t s = 42;
    for (int i = 0; i < N * D; i++) x1[i] = uniform(&s), x2[i] = uniform(&s);
    for (int i = 0; i < N; i++) y[i] = uniform(&s);

    lf_model *m;
    if (lf_model_create(&m, 1) != LF_OK) return 1;
    /* Input(100) x 2 -> Dense(32, relu) each -> WeightedAverage -> Dense(1),
     * mse, adam (Keras' defaults), with Keras' layer names; the README shows
     * the builder calls it makes */
    lf_status st = lf_seed_network(m, D, 32, NULL, NULL);
    lf_fit_options opt = lf_fit_defaults();
    opt.epochs = 10;  /* batch 32, shuffled, as Keras */
    opt.progress = epoch_lines;
    const float *x[2] = {x1, x2};
    float w[2];
    if (st != LF_OK || lf_model_fit(m, x, y, N, &opt) != LF_OK ||
        lf_get_weights(m, "weighted_average", 0, w, 2) != LF_OK) {
        fprintf(stderr, "seed: %s\n", lf_model_error(m));
        lf_model_free(m);
        return 1;
    }
    double e0 = exp(w[0]), e1 = exp(w[1]);
    printf("weights: %.6f %.6f\n", e0 / (e0 + e1), e1 / (e0 + e1));
    int rc = save_history(m, argc, argv);
    lf_model_free(m);
    return rc;
}
