/*
 * cmd_fusion.c — the fusion commands of `latefuse`: compare, fit, predict,
 * eval and inspect.  Each loads and validates its files (inputs.c), makes
 * one or two library calls (lf_fusion_*), and prints (table.c).
 *
 * predict streams through the library (lf_fusion_predict_files).
 *
 * Exit status: input problems (unreadable or malformed files, library
 * FORMAT/SHAPE/ARG/NUMERIC errors) give 2; a file that cannot be written
 * or memory running out gives 1.  Output files are written atomically by
 * the library's writers, so a failed run leaves no partial file; guard.c
 * has checked the output paths against the inputs before the command runs,
 * and removes the temporary files if a signal stops it.
 */
#include "cli.h"

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
    opt.metric = o->metric;
    if (o->ensemble_size) opt.ensemble_size = o->ensemble_size;
    if (o->bags) opt.bags = o->bags;
    opt.auto_single = o->single;
    opt.k = o->k;
    opt.threads = o->threads;
    opt.mpi_comm = o->mpi_comm; /* compare, auto, a learned fit: every rank takes part */
    cli_progress_fusion(&opt, o->quiet || o->rank);
    return opt;
}

/* Loads -m files, the class names (--class-names or a CSV header) and the
 * -y labels (numbers, or names mapped through the class names, which they
 * give when there are none) for compare and fit. */
static int load_labelled(const struct cli_opts *o, cli_inputs *in, lf_names *classes, int **y) {
    cli_err e = {{0}};
    lf_status st = cli_load_models(o, o->logits, 0, in, &e);
    if (st) return cli_fail(st, e.msg, 1);
    st = cli_class_names(o, in->C, NULL, classes, &e);
    if (!st) st = cli_load_labels(o->labels, in->N, in->C, classes, y, &e);
    if (st) {
        cli_inputs_free(in);
        lf_names_free(classes);
        return cli_fail(st, e.msg, 1);
    }
    return 0;
}

/* --features FILE for the N rows of compare and fit, into *x and the
 * options (nothing without --features). */
static int load_features(const struct cli_opts *o, size_t N, lf_matrix *x, lf_fusion_options *opt) {
    memset(x, 0, sizeof *x);
    if (!o->features) return 0;
    cli_err e = {{0}};
    lf_status st = cli_load_features(o->features, N, x, &e);
    if (st) return cli_fail(st, e.msg, 1);
    opt->features = x->data, opt->n_features = x->cols;
    return 0;
}

/* After loading on every rank of an MPI job: whether some rank failed
 * (then this one gives up too, before the library's collective calls;
 * the rank that failed said why).  Frees the inputs of a rank that loaded
 * them.  Returns the job's exit status, 0 when every rank loaded. */
static int agree_loaded(const struct cli_opts *o, int rc, cli_inputs *in, lf_names *classes, int **y) {
    int job = cli_mpi_agree(o, rc);
    if (job && !rc) {
        cli_inputs_free(in);
        lf_names_free(classes);
        free(*y);
        *y = NULL;
    }
    return job;
}

/* A library failure that every rank shares: rank 0 says it. */
static int shared_fail(const struct cli_opts *o, lf_fusion *f, lf_status st, int input) {
    return o->rank ? cli_exit_status(st, input) : fusion_fail(f, st, input);
}

/* The fusion model's class names as a list (empty when it has none). */
static lf_status names_of(const lf_fusion *f, lf_names *out) {
    size_t C = lf_fusion_num_classes(f);
    memset(out, 0, sizeof *out);
    if (!C || !lf_fusion_class_name(f, 0)) return LF_OK;
    if (!(out->names = calloc(C, sizeof *out->names))) return LF_ERR_NOMEM;
    for (size_t c = 0; c < C; c++, out->n = c) {
        const char *s = lf_fusion_class_name(f, c);
        if (!(out->names[c] = malloc(strlen(s) + 1))) {
            lf_names_free(out);
            return LF_ERR_NOMEM;
        }
        memcpy(out->names[c], s, strlen(s) + 1);
    }
    return LF_OK;
}

int cli_cmd_compare(const struct cli_opts *o) {
    cli_inputs in;
    lf_names classes = {NULL, 0};
    int *y = NULL;
    lf_matrix fx = {0};
    int rc = load_labelled(o, &in, &classes, &y);
    if ((rc = agree_loaded(o, rc, &in, &classes, &y))) return rc;
    lf_fusion *f = NULL;
    lf_compare_table *t = NULL;
    lf_status st = lf_fusion_create(&f);
    if ((rc = cli_mpi_agree(o, st ? cli_fail(st, "out of memory creating a fusion context", 0) : 0))) goto done;
    lf_fusion_options opt = options_of(o);
    if ((rc = cli_mpi_agree(o, load_features(o, in.N, &fx, &opt)))) goto done;
    st = lf_fusion_compare(f, (const float *const *)in.p, in.names, in.M, in.N, in.C, y,
                           o->n_methods ? o->methods : NULL, o->n_methods, &opt, &t);
    if (st) {
        rc = shared_fail(o, f, st, 1);
        goto done;
    }
    if (o->rank) { /* rank 0 prints the table */
    } else if (o->json) {
        cli_print_compare_json(stdout, t, in.names, in.N, in.C, o);
    } else {
        printf("%zu samples, %zu models, %zu classes; %zu-fold stratified cross-validation, seed %llu%s\n",
               in.N, in.M, in.C, o->folds, (unsigned long long)o->seed,
               o->calibrate ? ", calibrated" : "");
        cli_print_compare(stdout, t, in.names, in.M);
    }
done:
    lf_matrix_free(&fx);
    lf_compare_table_free(t);
    lf_fusion_free(f);
    cli_inputs_free(&in);
    lf_names_free(&classes);
    free(y);
    return rc;
}

int cli_cmd_fit(const struct cli_opts *o) {
    cli_inputs in;
    lf_names classes = {NULL, 0};
    int *y = NULL;
    lf_matrix fx = {0};
    int rc = load_labelled(o, &in, &classes, &y);
    if ((rc = agree_loaded(o, rc, &in, &classes, &y))) return rc;
    lf_fusion *f = NULL;
    lf_status st = lf_fusion_create(&f);
    if ((rc = cli_mpi_agree(o, st ? cli_fail(st, "out of memory creating a fusion model", 0) : 0))) goto done;
    lf_fusion_options opt = options_of(o);
    opt.method = o->method;
    if ((rc = cli_mpi_agree(o, load_features(o, in.N, &fx, &opt)))) goto done;
    if (o->history && o->method != LF_FUSE_AUTO && lf_method_family(o->method) != LF_FAMILY_LEARNED) {
        /* every rank finds it: rank 0 says it */
        rc = o->rank ? cli_exit_status(LF_ERR_ARG, 1)
                     : cli_fail(LF_ERR_ARG, "--history needs a learned method (stack-lr, wavg, wavg-class, loglinear, "
                                "mlp, gate or auto); this one trains no network", 1);
        goto done;
    }
    st = lf_fusion_fit(f, (const float *const *)in.p, in.names, in.M, in.N, in.C, y, &opt);
    if (!st && classes.n) st = lf_fusion_set_class_names(f, (const char *const *)classes.names, classes.n);
    if (st) {
        rc = shared_fail(o, f, st, 1);
        goto done;
    }
    if (o->rank) goto done; /* every rank fitted the same model: rank 0 saves it */
    /* The fusion model first, then the history, both with the signals held
     * (the library's temporary files are not registered: a signal that
     * comes meanwhile acts after them).  The output folders were checked
     * before the fit, so neither write is expected to fail; if the model's
     * does, the history is left as it was. */
    const lf_history *hist = lf_fusion_history(f);
    unsigned wflags = o->no_fsync ? LF_WRITE_NO_FSYNC : 0;
    sigset_t prev;
    cli_guard_hold(&prev);
    st = lf_fusion_save(f, o->out, wflags);
    char herr[512] = "";
    lf_status hst = LF_OK;
    if (!st && o->history && hist) hst = lf_history_save(hist, o->history, wflags, herr, sizeof herr);
    if (!st && !hst) cli_outputs_done();
    cli_guard_release(&prev);
    if (st) {
        rc = fusion_fail(f, st, 0);
        goto done;
    }
    if (hst) {
        char msg[700];
        snprintf(msg, sizeof msg, "%s (the fusion model was saved to '%s')", herr, o->out);
        rc = cli_fail(hst, msg, 0);
        goto done;
    }
    const char *name = lf_method_name(lf_fusion_method(f));
    printf("fitted %s%s%s on %zu sample%s of %zu model%s and %zu classes; saved to %s\n",
           name ? name : "?", o->method == LF_FUSE_AUTO ? " (chosen by auto)" : "",
           lf_fusion_calibrated(f) ? " with calibration" : "", in.N, in.N == 1 ? "" : "s", in.M,
           in.M == 1 ? "" : "s", in.C, o->out);
    const lf_compare_table *at = lf_fusion_auto_table(f);
    if (at) { /* what auto weighed, so that the user sees how close the choice was */
        printf("%s\n", lf_fusion_auto_note(f));
        cli_print_auto(stdout, at, opt.metric, 10);
    }
    if ((lf_fusion_weights(f, NULL, 0, NULL, NULL) > 0 || lf_fusion_ensemble_member(f, 0, NULL, NULL, NULL, NULL) > 0) &&
        cli_print_fusion(stdout, f, 0)) {
        char msg[700];
        snprintf(msg, sizeof msg, "out of memory printing the learned weights (the fusion model was saved to '%s')",
                 o->out);
        rc = cli_fail(LF_ERR_NOMEM, msg, 0);
        goto done;
    }
    if (o->history && hist)
        printf("wrote the history of %zu epochs to %s\n", hist->epochs, o->history);
    else if (o->history)
        printf("wrote no history: %s trains no network\n", name ? name : "the method");
done:
    lf_matrix_free(&fx);
    lf_names_free(&classes);
    lf_fusion_free(f);
    cli_inputs_free(&in);
    free(y);
    return rc;
}

/* Loads a fusion model into *fp (NULL on failure; the caller frees it). */
static int load_fusion(const struct cli_opts *o, lf_fusion **fp) {
    lf_status st = lf_fusion_create(fp);
    if (st) return cli_fail(st, "out of memory creating a fusion model", 0);
    st = lf_fusion_load(*fp, o->fusion_path);
    return st ? fusion_fail(*fp, st, 1) : 0;
}

/* Loads the -m files whole, matched to the fusion model's names, and fuses. */
static int load_and_predict(const struct cli_opts *o, lf_fusion *f, cli_inputs *in, float **out) {
    cli_err e = {{0}};
    *out = NULL;
    memset(in, 0, sizeof *in);
    lf_status st = cli_load_models(o, lf_fusion_logits(f), lf_fusion_num_classes(f), in, &e);
    if (!st) st = cli_match_models(f, in, &e);
    if (st) return cli_fail(st, e.msg, 1);
    lf_matrix fx = {0};
    if (o->features && (st = cli_load_features(o->features, in->N, &fx, &e))) return cli_fail(st, e.msg, 1);
    int rc = cli_features_fit(o, f, &fx);
    if (!rc && !(*out = calloc(in->N ? in->N : 1, in->C * sizeof(float))))
        rc = cli_fail(LF_ERR_NOMEM, "out of memory for the fused probabilities", 0);
    char msg[512];
    lf_fusion_predict_options po = lf_fusion_predict_defaults();
    po.features = fx.data, po.n_features = fx.cols, po.threads = o->threads;
    if (!rc && (st = lf_fusion_predict_with(f, (const float *const *)in->p, in->N, &po, *out, msg, sizeof msg)))
        rc = cli_fail(st, msg, 1);
    lf_matrix_free(&fx);
    return rc;
}

/* predict: the library streams the files (lf_fusion_predict_files); the
 * signals are held while it creates or renames a temporary output
 * (cli_temp_event), and its input problems are worded here. */
int cli_cmd_predict(const struct cli_opts *o) {
    lf_fusion *f = NULL;
    int rc = cli_mpi_agree(o, load_fusion(o, &f));
    if (rc) {
        lf_fusion_free(f);
        return rc;
    }
    lf_matrix fx = {0};
    cli_err fe = {{0}};
    lf_status fst = o->features ? cli_load_features(o->features, 0, &fx, &fe) : LF_OK;
    rc = cli_mpi_agree(o, fst ? cli_fail(fst, fe.msg, 1) : cli_features_fit(o, f, &fx));
    if (rc) {
        lf_matrix_free(&fx);
        lf_fusion_free(f);
        return rc;
    }
    /* CSV headers must name the fusion model's classes, in its order */
    lf_names heads;
    lf_status hst = cli_class_names(o, lf_fusion_num_classes(f), f, &heads, &fe);
    lf_names_free(&heads);
    if ((rc = cli_mpi_agree(o, hst ? cli_fail(hst, fe.msg, 1) : 0))) {
        lf_matrix_free(&fx);
        lf_fusion_free(f);
        return rc;
    }
    const char *names[CLI_MAX_MODELS], *paths[CLI_MAX_MODELS];
    unsigned flags[CLI_MAX_MODELS];
    for (size_t k = 0; k < o->n_models; k++) {
        names[k] = o->models[k].name, paths[k] = o->models[k].path;
        flags[k] = cli_file_flags(o, k, lf_fusion_logits(f));
    }
    sigset_t held;
    lf_predict_files_options po;
    memset(&po, 0, sizeof po);
    po.classes_path = o->classes_out;
    po.flags = (o->no_fsync ? LF_WRITE_NO_FSYNC : 0) | (o->mmap ? LF_READ_MMAP : LF_READ_NO_MMAP);
    if (o->mmap) cli_guard_mapped();
    po.temp = cli_temp_event, po.temp_ctx = &held;
    po.file_flags = flags;
    po.mpi_comm = o->mpi_comm; /* under mpirun: each rank its rows */
    po.threads = o->threads;
    po.features = fx.data, po.n_features = fx.cols, po.feature_rows = fx.rows;
    lf_predict_files_result res;
    lf_status st = lf_fusion_predict_files(f, names, paths, o->n_models, o->out, &po, &res);
    lf_matrix_free(&fx);
    if (st) {
        char msg[600];
        if (res.issue.kind != LF_INPUT_OK)
            cli_issue_message(&res.issue, cli_input_name(paths[res.file]), 0, msg, sizeof msg); /* predict */
        else
            snprintf(msg, sizeof msg, "%s", res.message);
        /* every rank holds the same failure: rank 0 says it */
        rc = o->rank ? cli_exit_status(st, res.input) : cli_fail(st, msg, res.input);
        lf_fusion_free(f);
        return rc;
    }
    if (o->rank) { /* rank 0 reports */
        lf_fusion_free(f);
        return 0;
    }
    /* the summary goes to stderr when the data go to stdout (named "-", or
     * the file it is open on, such as /dev/stdout) */
    int to_stdout = lf_outputs_same(o->out, "-") || (o->classes_out && lf_outputs_same(o->classes_out, "-"));
    FILE *say = to_stdout ? stderr : stdout;
    fprintf(say, "wrote %zu x %zu fused probabilities to %s", res.rows, res.cols, o->out);
    if (o->classes_out) fprintf(say, " and %zu classes to %s", res.rows, o->classes_out);
    size_t M = lf_fusion_num_models(f), absent = 0;
    for (size_t j = 0; j < M; j++) {
        const char *nm = lf_fusion_model_name(f, j);
        size_t k = 0;
        while (k < o->n_models && strcmp(names[k], nm) != 0) k++;
        if (k < o->n_models) continue;
        fprintf(say, "%s %s", absent++ ? "" : " (absent:", nm);
    }
    if (absent) fprintf(say, ")");
    fprintf(say, "\n");
    lf_fusion_free(f);
    return 0;
}

/* eval --confusion: a C x C matrix of counts, printed */
#define EVAL_MAX_CONFUSION 1000

int cli_cmd_eval(const struct cli_opts *o) {
    lf_fusion *f = NULL;
    lf_names classes = {NULL, 0};
    const char **cls = NULL;
    char (*nums)[24] = NULL;
    lf_class_score *pc = NULL;
    size_t *cm = NULL;
    cli_inputs in;
    float *prob = NULL;
    int *y = NULL;
    cli_err e = {{0}};
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
    /* labels given by name map through --class-names, a CSV header, or
     * the names stored in the fusion model (which the other two must
     * repeat) */
    lf_status st = cli_class_names(o, in.C, f, &classes, &e);
    if (!st && !classes.n) st = names_of(f, &classes);
    if (!st) st = cli_load_labels(o->labels, in.N, in.C, &classes, &y, &e);
    if (st) {
        rc = cli_fail(st, st == LF_ERR_NOMEM && !*e.msg ? "out of memory" : e.msg, 1);
        goto done;
    }
    double m[LF_NUM_METRICS];
    st = lf_fusion_metrics(prob, y, in.N, in.C, m);
    if (st) {
        rc = cli_fail(st, lf_status_string(st), 1);
        goto done;
    }
    if (o->per_class || o->confusion) {
        if (o->confusion && in.C > EVAL_MAX_CONFUSION) {
            char msg[200];
            snprintf(msg, sizeof msg, "--confusion prints at most %d classes, and the outputs have %zu (the report "
                     "lists the most frequent confusions)", EVAL_MAX_CONFUSION, in.C);
            rc = cli_fail(LF_ERR_ARG, msg, 1);
            goto done;
        }
        cls = calloc(in.C, sizeof *cls);
        nums = calloc(in.C, sizeof *nums);
        pc = o->per_class ? calloc(in.C, sizeof *pc) : NULL;
        cm = o->confusion ? calloc(in.C * in.C, sizeof *cm) : NULL;
        if (!cls || !nums || (o->per_class && !pc) || (o->confusion && !cm)) {
            rc = cli_fail(LF_ERR_NOMEM, "out of memory for the per-class scores", 0);
            goto done;
        }
        for (size_t c = 0; c < in.C; c++) cls[c] = cli_class_name(&classes, f, c, nums[c]);
        if (pc) st = lf_fusion_per_class(prob, y, in.N, in.C, pc);
        if (!st && cm) st = lf_fusion_confusion(prob, y, in.N, in.C, cm);
        if (st) {
            rc = cli_fail(st, lf_status_string(st), 1);
            goto done;
        }
    }
    cli_print_eval(stdout, m, in.N, in.C, cls, pc, cm, o->json, f);
done:
    lf_names_free(&classes);
    free(cls), free(nums), free(pc), free(cm);
    lf_fusion_free(f);
    cli_inputs_free(&in);
    free(prob);
    free(y);
    return rc;
}

int cli_cmd_inspect(const struct cli_opts *o) {
    lf_fusion *f = NULL;
    lf_status st = lf_fusion_create(&f);
    if (st) return cli_fail(st, "out of memory creating a fusion model", 0);
    st = lf_fusion_load(f, o->fusion_path);
    int rc = 0;
    if (st)
        rc = fusion_fail(f, st, 1);
    else if (cli_print_fusion(stdout, f, CLI_FUSION_HEADER | (o->all ? CLI_FUSION_ALL : 0)))
        rc = cli_fail(LF_ERR_NOMEM, "out of memory printing the fusion model's weights", 0);
    lf_fusion_free(f);
    return rc;
}
