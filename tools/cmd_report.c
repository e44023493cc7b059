/*
 * cmd_report.c — `latefuse report`: loads the model outputs, the labels,
 * an optional fusion model (-f), class names and features, and asks the library for
 * the HTML page (lf_fusion_report); prints where it went.  The page shows
 * the command line as given, quoted for a POSIX shell.
 */
#include "cli.h"

#include <string.h>

/* argv as one shell line: words of safe characters as they are, others in
 * single quotes (a quote as '\''), into a malloc'ed string (NULL when out
 * of memory). */
static char *command_line(int argc, char **argv) {
    size_t cap = 1;
    for (int i = 0; i < argc; i++) cap += 4 * strlen(argv[i]) + 3;
    char *s = malloc(cap), *w = s;
    if (!s) return NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = i == 0 ? "latefuse" : argv[i];
        int safe = *a != '\0';
        for (const char *c = a; *c; c++)
            safe &= (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                    strchr("_-./=:,+@%", *c) != NULL;
        if (i) *w++ = ' ';
        if (!safe) *w++ = '\'';
        for (const char *c = a; *c; c++) {
            if (*c == '\'' && !safe) {
                memcpy(w, "'\\''", 4);
                w += 4;
            } else {
                *w++ = *c;
            }
        }
        if (!safe) *w++ = '\'';
    }
    *w = '\0';
    return s;
}

int cli_cmd_report(const struct cli_opts *o) {
    cli_inputs in;
    cli_err e = {{0}};
    lf_names classes = {NULL, 0};
    lf_fusion *f = NULL, *fitted = NULL;
    lf_matrix fx = {0};
    int *y = NULL;
    char *cmd = NULL;
    int rc = 0;
    if (o->rank) return 0; /* under mpirun the report (which spreads no work) is rank 0's alone */
    memset(&in, 0, sizeof in);
    lf_status st = lf_fusion_create(&f);
    if (!st && o->fusion_path) {
        st = lf_fusion_create(&fitted);
        lf_status lst = st ? LF_OK : lf_fusion_load(fitted, o->fusion_path);
        if (lst) { /* a bad or unreadable file: exit 2; out of memory: 1 */
            rc = cli_fail(lst, lf_fusion_error(fitted), 1);
            goto done;
        }
    }
    if (st) {
        rc = cli_fail(st, "out of memory creating a fusion context", 0);
        goto done;
    }
    int logits = fitted ? lf_fusion_logits(fitted) : o->logits;
    st = cli_load_models(o, logits, fitted ? lf_fusion_num_classes(fitted) : 0, &in, &e);
    if (!st && fitted) {
        if (in.M != lf_fusion_num_models(fitted))
            st = cli_set(&e, LF_ERR_ARG, "the report needs an output for each of the fusion model's %zu models, got %zu",
                         lf_fusion_num_models(fitted), in.M);
        else
            st = cli_match_models(fitted, &in, &e);
    }
    if (!st) st = cli_class_names(o, in.C, fitted, &classes, &e);
    if (!st) st = cli_load_labels(o->labels, in.N, in.C, &classes, &y, &e);
    if (!st && o->features) st = cli_load_features(o->features, in.N, &fx, &e);
    if (st) {
        rc = cli_fail(st, e.msg, 1);
        goto done;
    }
    if (fitted && (rc = cli_features_fit(o, fitted, &fx))) goto done;
    if (!(cmd = command_line(o->argc, o->argv))) { /* the page would say "(not given)" */
        rc = cli_fail(LF_ERR_NOMEM, "out of memory writing the command line into the report", 0);
        goto done;
    }
    lf_report_options ro = lf_report_defaults();
    ro.fusion.calibrate = o->calibrate;
    ro.fusion.logits = logits;
    ro.fusion.folds = o->folds;
    ro.fusion.seed = o->seed;
    if (o->epochs) ro.fusion.epochs = o->epochs;
    ro.fusion.metric = o->metric;
    if (o->ensemble_size) ro.fusion.ensemble_size = o->ensemble_size;
    if (o->bags) ro.fusion.bags = o->bags;
    ro.fusion.k = o->k;
    ro.fusion.threads = o->threads;
    ro.fusion.features = fx.data, ro.fusion.n_features = fx.cols; /* dynamic selection's space, and -f's */
    cli_progress_fusion(&ro.fusion, o->quiet);
    ro.methods = o->n_methods ? o->methods : NULL;
    ro.n_methods = o->n_methods;
    ro.fitted = fitted;
    ro.class_names = classes.n ? (const char *const *)classes.names : NULL;
    ro.title = o->title;
    ro.command = cmd;
    /* a signal stops the run at once: while the page is computed no file
     * of it exists, and its temporary file is registered (cli_temp_event,
     * the signals held only while it is created and renamed) */
    sigset_t prev;
    ro.temp = cli_temp_event, ro.temp_ctx = &prev;
    st = lf_fusion_report(f, (const float *const *)in.p, in.names, in.M, in.N, in.C, y, &ro, o->out,
                          o->no_fsync ? LF_WRITE_NO_FSYNC : 0);
    if (st) {
        rc = cli_fail(st, lf_fusion_error(f), st != LF_ERR_IO);
        goto done;
    }
    printf("wrote the report of %zu model%s, %zu rows and %zu classes to %s\n", in.M, in.M == 1 ? "" : "s", in.N,
           in.C, o->out);
done:
    free(cmd);
    lf_names_free(&classes);
    lf_fusion_free(fitted);
    lf_fusion_free(f);
    cli_inputs_free(&in);
    lf_matrix_free(&fx);
    free(y);
    return rc;
}
