/*
 * head.c — the concatenation head the question compares with the seed:
 * Concatenate -> Dense(128, relu) -> Dropout(0.2) -> Dense(C, softmax),
 * trained with categorical cross-entropy on the outputs of two pretend
 * classifiers (each right on different classes), then scored on held-out
 * data.  Build: make; run: ./build/examples/head [--history FILE.csv]
 */
#include <latefuse.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

enum { C = 3, NTR = 2000, NTE = 500, N = NTR + NTE };

static float uniform(uint64_t *s) { /* xorshift64 */
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return (float)(*s >> 40) / 16777216.0f;
}

/* A pretend model's softmax output: sure and right on its classes, noisy
 * elsewhere (true class only slightly favoured). */
static void pretend(uint64_t *s, int y, int good_mask, float *p) {
    float z[C], sum = 0;
    for (int c = 0; c < C; c++) z[c] = 3.0f * uniform(s);
    z[y] += (good_mask >> y & 1) ? 2.5f : 0.5f;
    for (int c = 0; c < C; c++) sum += (z[c] = expf(z[c]));
    for (int c = 0; c < C; c++) p[c] = z[c] / sum;
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
    static float a[N * C], b[N * C], t[N * C];
    uint64_t s = 7;
    for (int i = 0; i < N; i++) {
        int y = (int)(uniform(&s) * C);
        pretend(&s, y, 0x3, a + i * C);  /* "image": classes 0 and 1 */
        pretend(&s, y, 0x6, b + i * C);  /* "text": classes 1 and 2 */
        for (int c = 0; c < C; c++) t[i * C + c] = c == y;
    }
    lf_model *m;
    if (lf_model_create(&m, 1) != LF_OK) return 1;
    int in[2] = {lf_input(m, C, "image"), lf_input(m, C, "text")};
    int h = lf_concatenate(m, 2, in, NULL);
    h = lf_dense(m, h, 128, LF_ACT_RELU, 1, NULL);
    h = lf_dropout(m, h, 0.2f, NULL);
    h = lf_dense(m, h, C, LF_ACT_SOFTMAX, 1, NULL);
    lf_fit_options opt = lf_fit_defaults();
    opt.epochs = 20;
    opt.validation_split = 0.2;
    const float *xtr[2] = {a, b}, *xte[2] = {a + NTR * C, b + NTR * C};
    double train_acc, test_acc;
    if (lf_model_compile(m, h, LF_LOSS_CATEGORICAL_CROSSENTROPY, NULL) != LF_OK ||
        lf_model_fit(m, xtr, t, NTR, &opt) != LF_OK ||
        lf_model_evaluate(m, xtr, t, NTR, NULL, NULL, &train_acc) != LF_OK ||
        lf_model_evaluate(m, xte, t + NTR * C, NTE, NULL, NULL, &test_acc) != LF_OK) {
        fprintf(stderr, "head: %s\n", lf_model_error(m));
        lf_model_free(m);
        return 1;
    }
    printf("train accuracy %.4f, test accuracy %.4f\n", train_acc, test_acc);
    int rc = save_history(m, argc, argv);
    lf_model_free(m);
    return rc;
}
