/*
 * cmd_fusion.c — the fusion commands of `latefuse`: compare, fit, predict,
 * eval and inspect.  Each loads and validates its files (inputs.c), makes
 * one or two library calls (lf_fusion_*), and prints (table.c).
 *
 * Exit status: input problems (unreadable or malformed files, library
 * FORMAT/SHAPE/ARG/NUMERIC errors) give 2; a file that cannot be written
 * or memory running out gives 1.  Output files are written atomically by
 * the library's writers, so a failed run leaves no partial file; guard.c
 * has checked the output paths against the inputs before the command runs,
 * and removes the temporary files if a signal stops it.
 */
#include "cli.h"
#include "fusion/rules.h"
#include "io/atomic.h"
#include "io/npy.h"

#include <math.h>
#include <string.h>

static int fusion_fail(lf_fusion *f, lf_status st, int input) {
    char msg[600];
    const char *m = f ? lf_fusion_error(f) : "";
    snprintf(msg, sizeof msg, "%s", *m ? m : lf_status_string(st));
    return cli_fail(st, msg, input);
}

static lf_fusion_options options_of(const struct cli_opts *o) {
    lf_fusion_options opt = lf_fusion_defaults();
    opt.calibrate = o->calibrate;
    opt.logits = o->logits;
    opt.folds = o->folds;
    opt.seed = o->seed;
    if (o->epochs) opt.epochs = o->epochs;
    opt.verbose = cli_stderr_tty();
    return opt;
}

/* Loads -m files and -y labels for compare and fit. */
static int load_labelled(const struct cli_opts *o, cli_inputs *in, int **y) {
    lf_err e = {{0}};
    lf_status st = cli_load_models(o, o->logits, 0, in, &e);
    if (st) return cli_fail(st, e.msg, 1);
    st = cli_load_labels(o->labels, in->N, in->C, y, &e);
    if (st) {
        cli_inputs_free(in);
        return cli_fail(st, e.msg, 1);
    }
    return 0;
}

int cli_cmd_compare(const struct cli_opts *o) {
    cli_inputs in;
    int *y = NULL;
    int rc = load_labelled(o, &in, &y);
    if (rc) return rc;
    lf_fusion *f = NULL;
    lf_compare_table *t = NULL;
    lf_status st = lf_fusion_create(&f);
    if (st) {
        rc = cli_fail(st, "cannot create a fusion context", 0);
        goto done;
    }
    lf_fusion_options opt = options_of(o);
    st = lf_fusion_compare(f, (const float *const *)in.p, in.names, in.M, in.N, in.C, y,
                           o->n_methods ? o->methods : NULL, o->n_methods, &opt, &t);
    if (st) {
        rc = fusion_fail(f, st, 1);
        goto done;
    }
    if (o->json) {
        cli_print_compare_json(stdout, t);
    } else {
        printf("%zu samples, %zu models, %zu classes; %zu-fold stratified cross-validation, seed %llu%s\n",
               in.N, in.M, in.C, o->folds, (unsigned long long)o->seed,
               o->calibrate ? ", calibrated" : "");
        cli_print_compare(stdout, t, in.names, in.M);
    }
done:
    lf_compare_table_free(t);
    lf_fusion_free(f);
    cli_inputs_free(&in);
    LF_FREE(y);
    return rc;
}

int cli_cmd_fit(const struct cli_opts *o) {
    cli_inputs in;
    int *y = NULL;
    int rc = load_labelled(o, &in, &y);
    if (rc) return rc;
    lf_fusion *f = NULL;
    lf_status st = lf_fusion_create(&f);
    if (st) {
        rc = cli_fail(st, "cannot create a fusion model", 0);
        goto done;
    }
    lf_fusion_options opt = options_of(o);
    opt.method = o->method;
    st = lf_fusion_fit(f, (const float *const *)in.p, in.names, in.M, in.N, in.C, y, &opt);
    if (st) {
        rc = fusion_fail(f, st, 1);
        goto done;
    }
    /* the library's temporary file is not registered: the save runs with
     * the signals held, and one that comes meanwhile acts after it */
    sigset_t prev;
    cli_guard_hold(&prev);
    st = lf_fusion_save(f, o->out, o->no_fsync ? LF_WRITE_NO_FSYNC : 0);
    if (!st) cli_outputs_done();
    cli_guard_release(&prev);
    if (st) {
        rc = fusion_fail(f, st, 0);
        goto done;
    }
    const char *name = lf_method_name(lf_fusion_method(f));
    printf("fitted %s%s%s on %zu samples of %zu models and %zu classes; saved to %s\n",
           name ? name : "?", o->method == LF_FUSE_AUTO ? " (chosen by auto)" : "",
           lf_fusion_calibrated(f) ? " with calibration" : "", in.N, in.M, in.C, o->out);
    if (lf_fusion_weights(f, NULL, 0, NULL, NULL) > 0) cli_print_fusion(stdout, f, 0);
done:
    lf_fusion_free(f);
    cli_inputs_free(&in);
    LF_FREE(y);
    return rc;
}

/* Loads a fusion model into *fp (NULL on failure; the caller frees it). */
static int load_fusion(const struct cli_opts *o, lf_fusion **fp) {
    lf_status st = lf_fusion_create(fp);
    if (st) return cli_fail(st, "cannot create a fusion model", 0);
    st = lf_fusion_load(*fp, o->fusion_path);
    return st ? fusion_fail(*fp, st, 1) : 0;
}

/* Loads the -m files whole, matched to the fusion model's names, and fuses. */
static int load_and_predict(const struct cli_opts *o, lf_fusion *f, cli_inputs *in, float **out) {
    lf_err e = {{0}};
    *out = NULL;
    memset(in, 0, sizeof *in);
    lf_status st = cli_load_models(o, lf_fusion_logits(f), lf_fusion_num_classes(f), in, &e);
    if (!st) st = cli_match_models(f, in, &e);
    if (st) return cli_fail(st, e.msg, 1);
    size_t cells;
    if (!lf_mul_ok(in->N, in->C, &cells) || !(*out = lf_alloc_array(cells ? cells : 1, sizeof(float))))
        return cli_fail(LF_ERR_NOMEM, "out of memory for the fused probabilities", 0);
    st = lf_fusion_predict(f, (const float *const *)in->p, in->N, *out);
    if (st) return fusion_fail(f, st, 1);
    return 0;
}

int cli_cmd_predict(const struct cli_opts *o) {
    lf_fusion *f = NULL;
    cli_inputs in;
    memset(&in, 0, sizeof in);
    float *prob = NULL;
    int64_t *cls = NULL;
    int handled = 0;
    int rc = load_fusion(o, &f);
    /* .npy inputs stream through in chunks; others are loaded whole */
    if (!rc) rc = cli_predict_stream(o, f, &handled);
    if (!rc && !handled) rc = load_and_predict(o, f, &in, &prob);
    if (handled) goto done;
    lf_err e = {{0}};
    if (rc) goto done;
    if (o->classes_out) {
        cls = lf_alloc_array(in.N ? in.N : 1, sizeof *cls);
        if (!cls) {
            rc = cli_fail(LF_ERR_NOMEM, "out of memory for the predicted classes", 0);
            goto done;
        }
        for (size_t i = 0; i < in.N; i++) cls[i] = (int64_t)lf_argmax_f(prob + i * in.C, in.C);
    }
    /* both outputs complete before either replaces its target */
    lf_npy_writer w, wc;
    lf_status st = cli_outputs_open(o, in.N, in.C, &w, &wc, &e);
    if (!st) st = lf_npy_writer_rows(&w, prob, in.N, &e);
    if (!st && o->classes_out) st = lf_npy_writer_i64(&wc, cls, in.N, &e);
    if (!st) st = cli_outputs_commit(o, &w, &wc, &e);
    else cli_outputs_abort(&w, &wc);
    if (st) {
        rc = cli_fail(st, e.msg, 0);
        goto done;
    }
    size_t absent = 0;
    for (size_t k = 0; k < in.M; k++) absent += in.p[k] == NULL;
    /* the summary goes to stderr when the data go to stdout */
    int to_stdout = strcmp(o->out, "-") == 0 || (o->classes_out && strcmp(o->classes_out, "-") == 0);
    FILE *say = to_stdout ? stderr : stdout;
    fprintf(say, "wrote %zu x %zu fused probabilities to %s", in.N, in.C, o->out);
    if (o->classes_out) fprintf(say, " and %zu classes to %s", in.N, o->classes_out);
    if (absent) {
        fprintf(say, " (absent:");
        for (size_t k = 0; k < in.M; k++)
            if (!in.p[k]) fprintf(say, " %s", in.names[k]);
        fprintf(say, ")");
    }
    fprintf(say, "\n");
done:
    lf_fusion_free(f);
    cli_inputs_free(&in);
    LF_FREE(prob);
    LF_FREE(cls);
    return rc;
}

int cli_cmd_eval(const struct cli_opts *o) {
    lf_fusion *f = NULL;
    cli_inputs in;
    float *prob = NULL;
    int *y = NULL;
    lf_err e = {{0}};
    memset(&in, 0, sizeof in);
    int rc = load_fusion(o, &f);
    if (!rc) rc = load_and_predict(o, f, &in, &prob);
    if (rc) goto done;
    if (in.N == 0) { /* no metric is defined on no rows */
        char msg[600];
        snprintf(msg, sizeof msg, "eval needs at least one row, and '%s' has none", o->models[0].path);
        rc = cli_fail(LF_ERR_SHAPE, msg, 1);
        goto done;
    }
    lf_status st = cli_load_labels(o->labels, in.N, in.C, &y, &e);
    if (st) {
        rc = cli_fail(st, e.msg, 1);
        goto done;
    }
    double m[LF_NUM_METRICS];
    st = lf_fusion_metrics(prob, y, in.N, in.C, m);
    if (st) {
        rc = cli_fail(st, lf_status_string(st), 1);
        goto done;
    }
    cli_print_metrics(stdout, m, in.N, o->json);
done:
    lf_fusion_free(f);
    cli_inputs_free(&in);
    LF_FREE(prob);
    LF_FREE(y);
    return rc;
}

int cli_cmd_inspect(const struct cli_opts *o) {
    lf_fusion *f = NULL;
    lf_status st = lf_fusion_create(&f);
    if (st) return cli_fail(st, "cannot create a fusion model", 0);
    st = lf_fusion_load(f, o->fusion_path);
    int rc = 0;
    if (st)
        rc = fusion_fail(f, st, 1);
    else
        cli_print_fusion(stdout, f, 1);
    lf_fusion_free(f);
    return rc;
}
