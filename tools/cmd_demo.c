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
 * show their learned weights.  Runs in a few seconds.  With --save DIR it
 * also writes the validation outputs and a test set's (save_files) that the
 * README's quick start then fuses with the other commands.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define DEMO_N 1000
#define DEMO_C 4
#define DEMO_D 8
#define DEMO_FOLDS 5
#define DEMO_TEST 500 /* rows of the test set demo --save writes */

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

/* Input(D) -> Dense(C, softmax) trained on ntr rows, its outputs for nte
 * rows in out. */
static lf_status fit_predict(const float *xtr, const float *ytr, size_t ntr, const float *xte, size_t nte,
                             uint64_t seed, float *out, char *msg, size_t msglen) {
    lf_model *m = NULL;
    lf_status st = lf_model_create(&m, seed);
    if (st) {
        snprintf(msg, msglen, "out of memory creating a classifier");
        return st;
    }
    int in = lf_input(m, DEMO_D, "features");
    int outn = lf_dense(m, in, DEMO_C, LF_ACT_SOFTMAX, 1, "classifier");
    lf_optimizer adam = lf_optimizer_default(LF_OPT_ADAM);
    adam.learning_rate = 0.02f;
    st = lf_model_compile(m, outn, LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, &adam);
    lf_fit_options fo = lf_fit_defaults();
    fo.epochs = 15;
    fo.seed = seed;
    const float *xa[1] = {xtr}, *xb[1] = {xte};
    if (!st) st = lf_model_fit(m, xa, ytr, ntr, &fo);
    if (!st) st = lf_model_predict(m, xb, nte, out);
    if (st)
        snprintf(msg, msglen, "training a demo classifier failed: %s",
                 *lf_model_error(m) ? lf_model_error(m) : lf_status_string(st));
    lf_model_free(m);
    return st;
}

/* Out-of-fold softmax outputs of the classifier above on x. */
static lf_status oof_outputs(const float *x, const float *ycol, const size_t *fold, uint64_t seed,
                             float *out, char *msg, size_t msglen) {
    float *xtr = malloc(sizeof(float) * DEMO_N * DEMO_D), *ytr = malloc(sizeof(float) * DEMO_N);
    float *xte = malloc(sizeof(float) * DEMO_N * DEMO_D), *pred = malloc(sizeof(float) * DEMO_N * DEMO_C);
    size_t *idx = malloc(sizeof(size_t) * DEMO_N);
    lf_status st = LF_OK;
    if (!xtr || !ytr || !xte || !idx || !pred) {
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
        st = fit_predict(xtr, ytr, ntr, xte, nte, seed + k, pred, msg, msglen);
        for (size_t j = 0; !st && j < nte; j++)
            memcpy(out + idx[j] * DEMO_C, pred + j * DEMO_C, sizeof(float) * DEMO_C);
    }
    free(xtr);
    free(ytr);
    free(xte);
    free(pred);
    free(idx);
    return st;
}

/* Removes about 10% of each modality's outputs (NaN rows, never both for
 * one sample) from n rows; counts in *mi, *mt. */
static void drop_outputs(cli_rng *r, float *pi, float *pt, size_t n, size_t *mi, size_t *mt) {
    *mi = *mt = 0;
    for (size_t i = 0; i < n; i++) {
        double u = cli_rng_uniform(r);
        float *row = u < 0.1 ? pi + i * DEMO_C : u < 0.2 ? pt + i * DEMO_C : NULL;
        if (!row) continue;
        for (int c = 0; c < DEMO_C; c++) row[c] = NAN;
        if (u < 0.1)
            ++*mi;
        else
            ++*mt;
    }
}

/* the files demo --save DIR writes there, in save_files' order */
static const char *const save_names[6] = {"image_val.npy",  "text_val.npy",  "y_val.npy",
                                          "image_test.npy", "text_test.npy", "y_test.npy"};

/* whether --report goes into --save's folder (its folder named as --save
 * names it, trailing slashes aside) */
static int report_in_save_dir(const struct cli_opts *o) {
    const char *slash = o->report && o->save_dir ? strrchr(o->report, '/') : NULL;
    size_t n = strlen(o->save_dir ? o->save_dir : ""), d = slash ? (size_t)(slash - o->report) : 0;
    while (n > 1 && o->save_dir[n - 1] == '/') n--;
    return slash && d == n && strncmp(o->report, o->save_dir, n) == 0;
}

/* the folder of demo --save, made (it may be there already; one made
 * here goes when the run stops before anything is in it) */
static int make_save_dir(const char *dir) {
    if (cli_make_output_dir(dir) == 0) return 0;
    char m[600];
    snprintf(m, sizeof m, "cannot create the folder '%.500s': %s", dir, strerror(errno));
    return cli_fail(LF_ERR_IO, m, 0);
}

/* Before any work: --save's folder made when the report goes there, then
 * none of --save's files may be a folder, --report must not be one of
 * them (it would be written, then replaced), and its folder must take it
 * (as the fusion commands check their outputs).  Exit status 2 or 1 and the message, or 0. */
static int demo_outputs_fine(const struct cli_opts *o) {
    char path[4200], msg[4400];
    int bad = report_in_save_dir(o) ? make_save_dir(o->save_dir) : 0;
    if (bad) return bad;
    for (size_t k = 0; o->save_dir && k < 6; k++) {
        snprintf(path, sizeof path, "%s/%s", o->save_dir, save_names[k]);
        if (cli_output_is_folder(path)) { /* refused by the writer, after all the work */
            snprintf(msg, sizeof msg, "cannot write --save's '%s': it is a folder; nothing was written", path);
            return cli_fail(LF_ERR_IO, msg, 0);
        }
        if (o->report && lf_outputs_same(o->report, path)) {
            snprintf(msg, sizeof msg, "--report '%s' is '%s', which --save writes; nothing was written", o->report,
                     path);
            return cli_fail(LF_ERR_ARG, msg, 0);
        }
    }
    return cli_check_output_folders(o, msg, sizeof msg) ? cli_fail(LF_ERR_IO, msg, 0) : 0;
}

/* demo --save DIR: the validation outputs (the out-of-fold ones above),
 * and a test set's outputs from classifiers trained on all of the
 * validation samples, as the files the README's quick start reads. */
static int save_files(const struct cli_opts *o, cli_rng *r, const float *xi, const float *xt, const float *ycol,
                      const float *pi, const float *pt) {
    const char *dir = o->save_dir;
    int bad = make_save_dir(dir);
    if (bad) return bad;
    float *ti = malloc(sizeof(float) * DEMO_TEST * DEMO_D), *tt = malloc(sizeof(float) * DEMO_TEST * DEMO_D);
    float *qi = malloc(sizeof(float) * DEMO_TEST * DEMO_C), *qt = malloc(sizeof(float) * DEMO_TEST * DEMO_C);
    float *ty = malloc(sizeof(float) * DEMO_TEST);
    char msg[1000];
    int rc = 0;
    lf_status st = LF_OK;
    if (!ti || !tt || !qi || !qt || !ty) {
        rc = cli_fail(LF_ERR_NOMEM, "out of memory for the demo's test set", 0);
        goto done;
    }
    for (size_t i = 0; i < DEMO_TEST; i++) {
        int y = (int)(i % DEMO_C);
        ty[i] = (float)y;
        demo_features(r, y, 0, ti + i * DEMO_D);
        demo_features(r, y, 2, tt + i * DEMO_D);
    }
    st = fit_predict(xi, ycol, DEMO_N, ti, DEMO_TEST, o->seed * 2 + 2, qi, msg, sizeof msg);
    if (!st) st = fit_predict(xt, ycol, DEMO_N, tt, DEMO_TEST, o->seed * 2 + 1002, qt, msg, sizeof msg);
    if (st) {
        rc = cli_fail(st, msg, 0);
        goto done;
    }
    size_t mi, mt;
    drop_outputs(r, qi, qt, DEMO_TEST, &mi, &mt);
    const struct {
        const float *data;
        size_t rows, cols;
    } data[6] = {
        {pi, DEMO_N, DEMO_C},    {pt, DEMO_N, DEMO_C},    {ycol, DEMO_N, 1},
        {qi, DEMO_TEST, DEMO_C}, {qt, DEMO_TEST, DEMO_C}, {ty, DEMO_TEST, 1},
    };
    char paths[6][4200];
    lf_npy_file files[6];
    for (size_t k = 0; k < 6; k++) {
        snprintf(paths[k], sizeof paths[k], "%s/%s", dir, save_names[k]);
        files[k] = (lf_npy_file){paths[k], data[k].data, data[k].rows, data[k].cols};
    }
    /* all or nothing: the six are complete in their temporary files
     * (registered, so that a signal removes them) before any replaces its
     * target; the signals are held while each is created and while they
     * are renamed */
    sigset_t prev;
    st = lf_npy_save_all(files, 6, 0, cli_temp_event, &prev, msg, sizeof msg);
    if (st) {
        rc = cli_fail(st, msg, 0);
        goto done;
    }
    printf("\nsaved to %s/: image_val.npy text_val.npy y_val.npy (%d validation rows: the out-of-fold\n"
           "outputs above) and image_test.npy text_test.npy y_test.npy (%d new rows, %zu + %zu outputs\n"
           "missing); the README's quick start uses them\n",
           dir, DEMO_N, DEMO_TEST, mi, mt);
done:
    free(ti);
    free(tt);
    free(qi);
    free(qt);
    free(ty);
    return rc;
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
    int bad = demo_outputs_fine(o);
    if (bad) return bad;
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
    size_t miss_i, miss_t;
    drop_outputs(&r, pi, pt, DEMO_N, &miss_i, &miss_t);
    printf("  image alone: accuracy %.4f where present (%zu outputs missing)\n",
           accuracy_present(pi, y), miss_i);
    printf("  text alone:  accuracy %.4f where present (%zu outputs missing)\n\n",
           accuracy_present(pt, y), miss_t);

    st = lf_fusion_create(&f);
    if (st) {
        rc = cli_fail(st, "out of memory creating a fusion model", 0);
        goto done;
    }
    const float *p[2] = {pi, pt};
    const char *names[2] = {"image", "text"};
    lf_fusion_options opt = lf_fusion_defaults();
    opt.folds = 5;
    opt.seed = o->seed;
    cli_progress_fusion(&opt, o->quiet);
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
        if (cli_print_fusion(stdout, f, 0)) {
            rc = cli_fail(LF_ERR_NOMEM, "out of memory printing the learned weights", 0);
            goto done;
        }
    }
    if (o->report) {
        static const char *const CLASSES[DEMO_C] = {"cat", "dog", "sport", "politics"};
        lf_report_options ro = lf_report_defaults();
        ro.fusion = opt;
        ro.class_names = CLASSES;
        ro.title = "latefuse demo: two modalities, four classes";
        char cmd[600]; /* the command that makes this page again (its data come from the seed) */
        snprintf(cmd, sizeof cmd, "latefuse demo --seed %llu --report %s", (unsigned long long)o->seed, o->report);
        ro.command = cmd;
        printf("\nwriting the report...\n");
        fflush(stdout);
        /* a signal while the page is computed stops the run with nothing
         * left behind: its temporary file is registered (cli_temp_event) */
        sigset_t prev;
        ro.temp = cli_temp_event, ro.temp_ctx = &prev;
        st = lf_fusion_report(f, p, names, 2, DEMO_N, DEMO_C, y, &ro, o->report, 0);
        if (!st && o->save_dir) cli_outputs_pending(); /* --save's files are still to come */
        if (st) {
            snprintf(msg, sizeof msg, "%s", lf_fusion_error(f));
            rc = cli_fail(st, msg, st != LF_ERR_IO);
            goto done;
        }
        printf("wrote the report to %s\n", o->report);
    }
    if (o->save_dir) rc = save_files(o, &r, xi, xt, ycol, pi, pt);
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
