/*
 * textvec.c — TextVectorization on real captions: adapts on the Web_News
 * training captions (Chinese, one per line), transforms the test captions
 * into tf_idf vectors over character 1- and 2-grams, and prints the
 * vocabulary size, the time of each step and the ten most frequent
 * entries.  With an output path it also saves the vectorizer there.
 *
 *   ./build/examples/textvec ../shared/data/webnews [vectorizer.safetensors]
 */
#include <latefuse.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s DATA_DIR [OUT.safetensors]\n", argv[0]);
        return 2;
    }
    lf_textvec_options o = lf_textvec_defaults();
    o.output_mode = LF_TEXTVEC_TF_IDF;
    o.char_ngram_min = 1, o.char_ngram_max = 2;
    lf_textvec *tv;
    char msg[256];
    if (lf_textvec_create(&tv, &o, msg, sizeof msg) != LF_OK) {
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    char path[4096];
    char **train = NULL, **test = NULL;
    size_t n_train = 0, n_test = 0;
    int rc = 1;
    float *x = NULL;
    snprintf(path, sizeof path, "%s/train_texts.txt", argv[1]);
    if (lf_textvec_read_lines(tv, path, &train, &n_train) != LF_OK) goto done;
    snprintf(path, sizeof path, "%s/test_texts.txt", argv[1]);
    if (lf_textvec_read_lines(tv, path, &test, &n_test) != LF_OK) goto done;
    double t0 = now();
    if (lf_textvec_adapt(tv, (const char *const *)train, n_train) != LF_OK) goto done;
    double t1 = now();
    size_t dim = lf_textvec_output_dim(tv);
    x = malloc(n_test * dim * sizeof *x);
    if (!x) {
        fprintf(stderr, "out of memory for %zu x %zu floats\n", n_test, dim);
        goto done;
    }
    if (lf_textvec_transform(tv, (const char *const *)test, n_test, x) != LF_OK) goto done;
    double t2 = now();
    size_t nnz = 0;
    for (size_t i = 0; i < n_test * dim; i++) nnz += x[i] != 0;
    printf("adapt on %zu training captions: %.3f s, vocabulary %zu entries (with [UNK])\n", n_train, t1 - t0,
           lf_textvec_vocabulary_size(tv));
    printf("tf_idf of %zu test captions: %.3f s, %zu x %zu, %.1f non-zero per row\n", n_test, t2 - t1, n_test, dim,
           (double)nnz / (double)(n_test ? n_test : 1));
    printf("most frequent:");
    for (size_t i = 1; i <= 10 && i < lf_textvec_vocabulary_size(tv); i++)
        printf(" %s (idf %.3f)", lf_textvec_vocabulary(tv, i), (double)lf_textvec_idf_weights(tv)[i]);
    printf("\n");
    if (argc == 3 && lf_textvec_save(tv, argv[2]) != LF_OK) goto done;
    rc = 0;
done:
    if (rc) fprintf(stderr, "textvec: %s\n", lf_textvec_error(tv));
    free(x);
    lf_textvec_lines_free(train);
    lf_textvec_lines_free(test);
    lf_textvec_free(tv);
    return rc;
}
