/*
 * cmd_demo.c — `latefuse demo` (what `make demo` runs): the whole fusion
 * job with no input files.
 *
 * A 4-class task is seen by two modalities: "image" features separate
 * classes 0/1 well but barely tell 2 from 3; "text" features do the
 * opposite.  One softmax classifier per modality is trained with the engine
 * and its out-of-fold outputs (5-fold) stand in for the validation outputs
 * of an already-trained model; about 10% of each modality's outputs are
 * then removed (NaN rows, never both for one sample).  Every fusion method
 * is compared by cross-validation, and wavg and wavg-class are fitted to
 * show their learned weights.  Runs in a few seconds.
 */
#include "cli.h"

#include <math.h>
#include <string.h>

#define DEMO_N 1000
#define DEMO_C 4
#define DEMO_D 8
#define DEMO_FOLDS 5

/* Features of one modality for a sample of class y: the class mean (strong
 * on the two classes the modality is good at, nearly equal on the others)
 * plus unit Gaussian noise. */
static void demo_features(cli_rng *r, int y, int good_lo, float *x) {
    for (int d = 0; d < DEMO_D; d++) x[d] = (float)cli_rng_normal(r);
    if (y == good_lo)
        x[0] += 2.0f;
    else if (y == good_lo + 1)
        x[0] -= 2.0f;
    else
        x[1] += y % 2 ? 1.8f : 2.2f; /* the other two classes: almost the same */
}

/* Out-of-fold softmax outputs of Input(D) -> Dense(C, softmax) on x. */
static lf_status oof_outputs(const float *x, const float *ycol, const size_t *fold, uint64_t seed,
                             float *out, char *msg, size_t msglen) {
    float *xtr = malloc(sizeof(float) * DEMO_N * DEMO_D), *ytr = malloc(sizeof(float) * DEMO_N);
    float *xte = malloc(sizeof(float) * DEMO_N * DEMO_D);
    size_t *idx = malloc(sizeof(size_t) * DEMO_N);
    lf_status st = LF_OK;
    if (!xtr || !ytr || !xte || !idx) {
        snprintf(msg, msglen, "out of memory for the demo's classifiers");
        st = LF_ERR_NOMEM;
    }
    for (size_t k = 0; st == LF_OK && k < DEMO_FOLDS; k++) {
        size_t ntr = 0, nte = 0;
        for (size_t i = 0; i < DEMO_N; i++) {
            if (fold[i] == k) {
                memcpy(xte + nte * DEMO_D, x + i * DEMO_D, sizeof(float) * DEMO_D);
                idx[nte++] = i;
            } else {
                memcpy(xtr + ntr * DEMO_D, x + i * DEMO_D, sizeof(float) * DEMO_D);
                ytr[ntr++] = ycol[i];
            }
        }
        lf_model *m = NULL;
        st = lf_model_create(&m, seed + k);
        if (st) {
            snprintf(msg, msglen, "cannot create a classifier");
            break;
        }
        int in = lf_input(m, DEMO_D, "features");
        int outn = lf_dense(m, in, DEMO_C, LF_ACT_SOFTMAX, 1, "classifier");
        lf_optimizer adam = lf_optimizer_default(LF_OPT_ADAM);
        adam.learning_rate = 0.02f;
        st = lf_model_compile(m, outn, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &adam);
        lf_fit_options fo = lf_fit_defaults();
        fo.epochs = 15;
        fo.seed = seed + k;
        const float *xa[1] = {xtr}, *xb[1] = {xte};
        float *pred = malloc(sizeof(float) * (nte ? nte : 1) * DEMO_C);
        if (!st) st = pred ? lf_model_fit(m, xa, ytr, ntr, &fo) : LF_ERR_NOMEM;
        if (!st) st = lf_model_predict(m, xb, nte, pred);
        if (st)
            snprintf(msg, msglen, "training a demo classifier failed: %s",
                     *lf_model_error(m) ? lf_model_error(m) : lf_status_string(st));
        for (size_t j = 0; !st && j < nte; j++)
            memcpy(out + idx[j] * DEMO_C, pred + j * DEMO_C, sizeof(float) * DEMO_C);
        free(pred);
        lf_model_free(m);
    }
    free(xtr);
    free(ytr);
    free(xte);
    free(idx);
    return st;
}

static double accuracy_present(const float *p, const int *y) {
    size_t ok = 0, n = 0;
    for (size_t i = 0; i < DEMO_N; i++) {
        const float *r = p + i * DEMO_C;
        if (isnan(r[0])) continue;
        ok += cli_argmax(r, DEMO_C) == (size_t)y[i];
        n++;
    }
    return n ? (double)ok / (double)n : 0.0;
}

int cli_cmd_demo(const struct cli_opts *o) {
    float *xi = malloc(sizeof(float) * DEMO_N * DEMO_D), *xt = malloc(sizeof(float) * DEMO_N * DEMO_D);
    float *pi = malloc(sizeof(float) * DEMO_N * DEMO_C), *pt = malloc(sizeof(float) * DEMO_N * DEMO_C);
    float *ycol = malloc(sizeof(float) * DEMO_N);
    int *y = malloc(sizeof(int) * DEMO_N);
    size_t *fold = malloc(sizeof(size_t) * DEMO_N);
    lf_fusion *f = NULL;
    lf_compare_table *t = NULL;
    int rc = 0;
    char msg[600];
    if (!xi || !xt || !pi || !pt || !ycol || !y || !fold) {
        rc = cli_fail(LF_ERR_NOMEM, "out of memory for the demo's data", 0);
        goto done;
    }
    cli_rng r = {o->seed ^ 0x44454d4full};
    for (size_t i = 0; i < DEMO_N; i++) {
        y[i] = (int)(i % DEMO_C); /* balanced classes */
        ycol[i] = (float)y[i];
        demo_features(&r, y[i], 0, xi + i * DEMO_D);
        demo_features(&r, y[i], 2, xt + i * DEMO_D);
        fold[i] = (size_t)(cli_rng_next(&r) % DEMO_FOLDS);
    }
    printf("latefuse demo: %d samples, %d classes, two modalities of %d features\n", DEMO_N, DEMO_C,
           DEMO_D);
    printf("  image separates classes 0/1, text separates classes 2/3\n");
    printf("training one softmax classifier per modality (%d-fold, out-of-fold outputs)...\n",
           DEMO_FOLDS);
    fflush(stdout);
    lf_status st = oof_outputs(xi, ycol, fold, o->seed * 2 + 1, pi, msg, sizeof msg);
    if (!st) st = oof_outputs(xt, ycol, fold, o->seed * 2 + 1001, pt, msg, sizeof msg);
    if (st) {
        rc = cli_fail(st, msg, 0);
        goto done;
    }
    size_t miss_i = 0, miss_t = 0;
    for (size_t i = 0; i < DEMO_N; i++) {
        double u = cli_rng_uniform(&r);
        float *row = u < 0.1 ? pi + i * DEMO_C : u < 0.2 ? pt + i * DEMO_C : NULL;
        if (!row) continue;
        for (int c = 0; c < DEMO_C; c++) row[c] = NAN;
        if (u < 0.1)
            miss_i++;
        else
            miss_t++;
    }
    printf("  image alone: accuracy %.4f where present (%zu outputs missing)\n",
           accuracy_present(pi, y), miss_i);
    printf("  text alone:  accuracy %.4f where present (%zu outputs missing)\n\n",
           accuracy_present(pt, y), miss_t);

    st = lf_fusion_create(&f);
    if (st) {
        rc = cli_fail(st, "cannot create a fusion model", 0);
        goto done;
    }
    const float *p[2] = {pi, pt};
    const char *names[2] = {"image", "text"};
    lf_fusion_options opt = lf_fusion_defaults();
    opt.folds = 5;
    opt.seed = o->seed;
    cli_progress_fusion(&opt);
    printf("every fusion method, 5-fold stratified cross-validation (best log-loss first):\n");
    fflush(stdout);
    st = lf_fusion_compare(f, p, names, 2, DEMO_N, DEMO_C, y, NULL, 0, &opt, &t);
    if (st) {
        snprintf(msg, sizeof msg, "%s", lf_fusion_error(f));
        rc = cli_fail(st, msg, 0);
        goto done;
    }
    cli_print_compare(stdout, t, names, 2);
    static const lf_method SHOW[2] = {LF_FUSE_WAVG, LF_FUSE_WAVG_CLASS};
    for (int k = 0; k < 2; k++) {
        opt.method = SHOW[k];
        st = lf_fusion_fit(f, p, names, 2, DEMO_N, DEMO_C, y, &opt);
        if (st) {
            snprintf(msg, sizeof msg, "%s", lf_fusion_error(f));
            rc = cli_fail(st, msg, 0);
            goto done;
        }
        printf("\n");
        cli_print_fusion(stdout, f, 0);
    }
    if (o->report) {
        static const char *const CLASSES[DEMO_C] = {"cat", "dog", "sport", "politics"};
        lf_report_options ro = lf_report_defaults();
        ro.fusion = opt;
        ro.class_names = CLASSES;
        ro.title = "latefuse demo: two modalities, four classes";
        ro.command = "latefuse demo --report FILE";
        printf("\nwriting the report...\n");
        fflush(stdout);
        st = lf_fusion_report(f, p, names, 2, DEMO_N, DEMO_C, y, &ro, o->report, 0);
        if (st) {
            snprintf(msg, sizeof msg, "%s", lf_fusion_error(f));
            rc = cli_fail(st, msg, st != LF_ERR_IO);
            goto done;
        }
        printf("wrote the report to %s\n", o->report);
    }
done:
    lf_compare_table_free(t);
    lf_fusion_free(f);
    free(xi);
    free(xt);
    free(pi);
    free(pt);
    free(ycol);
    free(y);
    free(fold);
    return rc;
}
