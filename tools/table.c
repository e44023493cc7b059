/*
 * table.c — everything `latefuse` prints about results: the comparison
 * table (text and JSON), the metrics of one prediction, and a fitted fusion
 * model with its learned weights drawn as horizontal bars.
 *
 * Why separate: the commands stay short, and one place decides number
 * formats (4 decimals in tables, %.10g in JSON, NaN shown as "-" / null).
 */
#include "cli.h"

#include <math.h>
#include <string.h>

static const char *const METRIC_KEYS[LF_NUM_METRICS] = {"accuracy", "macro_f1", "log_loss",
                                                        "brier", "ece"};

static void cell(FILE *f, double v, int width) {
    if (isnan(v))
        fprintf(f, "  %*s", width, "-");
    else
        fprintf(f, "  %*.4f", width, v);
}

/* The i-th row to show: the table's order (best first), except that the
 * oracle, an upper bound rather than a method, always comes last. */
static size_t display_index(const lf_compare_table *t, size_t i) {
    size_t seen = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t r = 0; r < t->n_rows; r++)
            if ((t->rows[r].kind == LF_ROW_ORACLE) == (pass == 1) && seen++ == i) return r;
    return i;
}

void cli_print_compare(FILE *f, const lf_compare_table *t, const char *const *names, size_t M) {
    int w = 6;
    for (size_t r = 0; r < t->n_rows; r++) {
        int n = (int)strlen(t->rows[r].name);
        if (n > w) w = n;
    }
    fprintf(f, "%-*s  %-3s  %-15s  %8s  %8s  %8s  %8s", w, "method", "cal", "accuracy",
            "macro-F1", "log-loss", "Brier", "ECE");
    int *ww = calloc(M ? M : 1, sizeof *ww);
    for (size_t k = 0; k < M; k++) {
        char h[96];
        snprintf(h, sizeof h, "w/o %s", names[k]);
        int hw = (int)strlen(h);
        if (ww) ww[k] = hw < 6 ? 6 : hw;
        fprintf(f, "  %*s", ww ? ww[k] : 6, h);
    }
    fputc('\n', f);
    for (size_t i = 0; i < t->n_rows; i++) {
        const lf_score_row *s = &t->rows[display_index(t, i)];
        fprintf(f, "%-*s  %-3s  ", w, s->name, s->kind == LF_ROW_ORACLE ? "" : s->calibrated ? "yes" : "no");
        double a = s->mean[LF_METRIC_ACCURACY], sd = s->std[LF_METRIC_ACCURACY];
        if (isnan(a))
            fprintf(f, "%-15s", "-");
        else if (isnan(sd))
            fprintf(f, "%.4f         ", a);
        else
            fprintf(f, "%.4f \xc2\xb1 %.4f", a, sd);
        for (int m = 1; m < LF_NUM_METRICS; m++) cell(f, s->mean[m], 8);
        for (size_t k = 0; k < M; k++) cell(f, s->acc_without ? s->acc_without[k] : NAN, ww ? ww[k] : 6);
        fputc('\n', f);
    }
    free(ww);
}

void cli_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_number(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, "%.10g", v);
    else
        fputs("null", f);
}

/* a float as the shortest decimal that reads back as it (0.003, not
 * 0.003000000026, the float's value printed as a double) */
static void json_float(FILE *f, float v) {
    char tmp[32];
    if (!isfinite(v)) {
        fputs("null", f);
        return;
    }
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, (double)v);
        if (strtof(tmp, NULL) == v) break;
    }
    fputs(tmp, f);
}

void cli_print_compare_json(FILE *f, const lf_compare_table *t, const char *const *names, size_t N,
                            size_t C, const struct cli_opts *o) {
    fprintf(f, "{\"samples\": %zu, \"models\": [", N);
    for (size_t k = 0; k < t->n_models; k++) {
        if (k) fputs(", ", f);
        cli_json_string(f, names[k]);
    }
    fprintf(f, "], \"classes\": %zu, \"folds\": %zu, \"seed\": %llu, \"calibrated\": %s,\n \"rows\": [\n",
            C, o->folds, (unsigned long long)o->seed, o->calibrate ? "true" : "false");
    for (size_t i = 0; i < t->n_rows; i++) {
        const lf_score_row *s = &t->rows[display_index(t, i)];
        fputs("  {\"method\": ", f);
        cli_json_string(f, s->name);
        fprintf(f, ", \"calibrated\": %s", s->calibrated ? "true" : "false");
        fputs(", \"accuracy\": ", f);
        json_number(f, s->mean[LF_METRIC_ACCURACY]);
        fputs(", \"accuracy_std\": ", f);
        json_number(f, s->std[LF_METRIC_ACCURACY]);
        for (int m = 1; m < LF_NUM_METRICS; m++) {
            fprintf(f, ", \"%s\": ", METRIC_KEYS[m]);
            json_number(f, s->kind == LF_ROW_ORACLE ? NAN : s->mean[m]);
            fprintf(f, ", \"%s_std\": ", METRIC_KEYS[m]);
            json_number(f, s->kind == LF_ROW_ORACLE ? NAN : s->std[m]);
        }
        fputs(", \"accuracy_without\": ", f);
        if (s->acc_without && names) {
            fputc('{', f);
            for (size_t k = 0; k < t->n_models; k++) {
                if (k) fputs(", ", f);
                cli_json_string(f, names[k]);
                fputs(": ", f);
                json_number(f, s->acc_without[k]);
            }
            fputc('}', f);
        } else {
            fputs("null", f);
        }
        fprintf(f, "}%s\n", i + 1 < t->n_rows ? "," : "");
    }
    fputs("]}\n", f);
}

void cli_print_auto(FILE *f, const lf_compare_table *t, int metric, size_t top) {
    static const char *const label[LF_NUM_METRICS] = {"accuracy", "macro-F1", "log-loss", "Brier", "ECE"};
    /* down to the last member of the ensemble, which may rank below `top`
     * (auto pools more candidates than it shows): each weight is listed */
    size_t shown = top;
    for (size_t r = top; r < t->n_rows; r++)
        if (t->rows[r].ensemble_weight > 0) shown = r + 1;
    fprintf(f, "auto's best candidates (cross-validated %s, mean +- std over folds):\n", label[metric]);
    for (size_t r = 0; r < t->n_rows && r < shown; r++) {
        const lf_score_row *s = &t->rows[r];
        char name[100];
        snprintf(name, sizeof name, "%s%s", s->name, s->calibrated ? " +calibrate" : "");
        fprintf(f, "  %-28s %.4f +- %.4f", name, s->mean[metric], s->std[metric]);
        if (s->method == LF_FUSE_ENSEMBLE) fputs("  (the best candidates' ensemble; nested cross-validation)", f);
        else if (s->ensemble_weight > 0) fprintf(f, "  in the ensemble, weight %.2f", s->ensemble_weight);
        fputc('\n', f);
    }
}

void cli_print_metrics(FILE *f, const double m[LF_NUM_METRICS], size_t N, int json) {
    cli_print_eval(f, m, N, 0, NULL, NULL, NULL, json, NULL);
}

/* a class name cut or padded to w characters (control characters '?') */
static void name_cell(FILE *f, const char *s, int w, int right) {
    char cut[256];
    size_t n = 0, chars = 0;
    for (const char *c = s; *c && n + 4 < sizeof cut; c++) {
        if ((*c & 0xC0) != 0x80 && (int)chars++ == w) break;
        cut[n++] = *c;
    }
    cut[n] = '\0';
    if (right)
        for (size_t i = chars > (size_t)w ? (size_t)w : chars; (int)i < w; i++) fputc(' ', f);
    cli_print_name(f, cut, right ? 0 : w);
}

void cli_print_eval(FILE *f, const double m[LF_NUM_METRICS], size_t N, size_t C, const char *const *cls,
                    const lf_class_score *pc, const size_t *cm, int json, const lf_fusion *fu) {
    float l2;
    const char *how = fu ? lf_fusion_penalty(fu, &l2) : NULL;
    if (json) {
        fprintf(f, "{\"samples\": %zu", N);
        if (how) { /* a learned method's shrinkage (lf_fusion_penalty) */
            fputs(", \"penalty\": {\"l2\": ", f);
            json_float(f, l2);
            fputs(", \"chosen_by\": ", f);
            cli_json_string(f, how);
            fputs("}", f);
        }
        for (int k = 0; k < LF_NUM_METRICS; k++) {
            fprintf(f, ", \"%s\": ", METRIC_KEYS[k]);
            json_number(f, m[k]);
        }
        if (pc || cm) {
            fputs(", \"class_names\": [", f);
            for (size_t c = 0; c < C; c++) {
                if (c) fputs(", ", f);
                cli_json_string(f, cls[c]);
            }
            fputs("]", f);
        }
        if (pc) {
            fputs(", \"per_class\": [", f);
            for (size_t c = 0; c < C; c++) {
                fprintf(f, "%s{\"class\": ", c ? ", " : "");
                cli_json_string(f, cls[c]);
                fputs(", \"precision\": ", f);
                json_number(f, pc[c].precision);
                fputs(", \"recall\": ", f);
                json_number(f, pc[c].recall);
                fputs(", \"f1\": ", f);
                json_number(f, pc[c].f1);
                fprintf(f, ", \"support\": %zu}", pc[c].support);
            }
            fputs("]", f);
        }
        if (cm) {
            fputs(", \"confusion\": [", f);
            for (size_t t = 0; t < C; t++) {
                fputs(t ? ", [" : "[", f);
                for (size_t q = 0; q < C; q++) fprintf(f, "%s%zu", q ? ", " : "", cm[t * C + q]);
                fputs("]", f);
            }
            fputs("]", f);
        }
        fputs("}\n", f);
        return;
    }
    fprintf(f, "samples   %zu\n", N);
    fprintf(f, "accuracy  %.4f\n", m[LF_METRIC_ACCURACY]);
    fprintf(f, "macro-F1  %.4f\n", m[LF_METRIC_MACRO_F1]);
    fprintf(f, "log-loss  %.4f\n", m[LF_METRIC_LOG_LOSS]);
    fprintf(f, "Brier     %.4f\n", m[LF_METRIC_BRIER]);
    fprintf(f, "ECE       %.4f\n", m[LF_METRIC_ECE]);
    int w = 5;
    for (size_t c = 0; (pc || cm) && c < C; c++) {
        int n = 0;
        for (const char *s = cls[c]; *s; s++) n += (*s & 0xC0) != 0x80;
        if (n > w) w = n;
    }
    if (w > 24) w = 24;
    if (pc) {
        fputs("\nper class:\n", f);
        name_cell(f, "class", w, 0);
        fputs("  precision  recall      F1  support\n", f);
        for (size_t c = 0; c < C; c++) {
            name_cell(f, cls[c], w, 0);
            fprintf(f, "     %.4f  %.4f  %.4f  %7zu\n", pc[c].precision, pc[c].recall, pc[c].f1, pc[c].support);
        }
    }
    if (cm) {
        int cw = w < 6 ? 6 : w > 12 ? 12 : w;
        fputs("\nconfusion (rows: true class, columns: predicted):\n", f);
        name_cell(f, "", w, 0);
        for (size_t q = 0; q < C; q++) {
            fputs("  ", f);
            name_cell(f, cls[q], cw, 1);
        }
        fputc('\n', f);
        for (size_t t = 0; t < C; t++) {
            name_cell(f, cls[t], w, 0);
            for (size_t q = 0; q < C; q++) fprintf(f, "  %*zu", cw, cm[t * C + q]);
            fputc('\n', f);
        }
    }
}

void cli_print_bar(FILE *f, double v, int width) {
    static const char *const PART[8] = {"",
                                        "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d", "\xe2\x96\x8c",
                                        "\xe2\x96\x8b", "\xe2\x96\x8a", "\xe2\x96\x89"};
    if (!(v > 0)) return;
    if (v > 1) v = 1;
    long eighths = lround(v * width * 8);
    for (long i = 0; i < eighths / 8; i++) fputs("\xe2\x96\x88", f);
    fputs(PART[eighths % 8], f);
}

/* what each model is worth, on the fitting rows (lf_fusion_importance);
 * LF_ERR_NOMEM when its arrays cannot be had */
static lf_status print_importance(FILE *f, const lf_fusion *fu, int w) {
    size_t M = lf_fusion_num_models(fu);
    double *ll = malloc((M + 1) * sizeof *ll), *acc = malloc((M + 1) * sizeof *acc);
    lf_status st = ll && acc ? LF_OK : LF_ERR_NOMEM;
    if (!st && lf_fusion_importance(fu, ll, acc, M + 1) == M + 1) {
        fprintf(f, "on the fitting rows: log-loss %.4f, accuracy %.4f; with one model missing in every row:\n",
                ll[0], acc[0]);
        for (size_t k = 0; k < M; k++)
            fprintf(f, "  %-*s  log-loss %.4f (%+.4f)  accuracy %.4f (%+.4f)\n", w, lf_fusion_model_name(fu, k),
                    ll[k + 1], ll[k + 1] - ll[0], acc[k + 1], acc[k + 1] - acc[0]);
    }
    free(ll), free(acc);
    return st;
}

/* class c by its stored name, else its index */
static void class_cell(FILE *f, const lf_fusion *fu, size_t c) {
    const char *nm = lf_fusion_class_name(fu, c);
    if (nm)
        cli_print_name(f, nm, 0);
    else
        fprintf(f, "class %zu", c);
}

lf_status cli_print_fusion(FILE *f, const lf_fusion *fu, int flags) {
    size_t M = lf_fusion_num_models(fu), C = lf_fusion_num_classes(fu);
    const char *mname = lf_method_name(lf_fusion_method(fu));
    int w = 5;
    for (size_t k = 0; k < M; k++) {
        int n = (int)strlen(lf_fusion_model_name(fu, k));
        if (n > w) w = n;
    }
    if (flags & CLI_FUSION_HEADER) {
        fprintf(f, "method:      %s\n", mname ? mname : "?");
        size_t n_mem = lf_fusion_ensemble_member(fu, 0, NULL, NULL, NULL, NULL), n_cal = 0;
        for (size_t i = 0; i < n_mem; i++) {
            int cal = 0;
            lf_fusion_ensemble_member(fu, i, NULL, &cal, NULL, NULL);
            n_cal += cal != 0;
        }
        if (n_mem) /* the ensemble's own temperatures are 1: its members keep theirs */
            fprintf(f, "calibrated:  %zu of its %zu members (their temperatures below)\n", n_cal, n_mem);
        else
            fprintf(f, "calibrated:  %s\n", lf_fusion_calibrated(fu) ? "yes" : "no");
        fprintf(f, "inputs:      %s\n", lf_fusion_logits(fu) ? "logits (softmax applied)" : "probabilities");
        fprintf(f, "classes:     %zu\n", C);
        float l2;
        const char *how = lf_fusion_penalty(fu, &l2);
        if (how) fprintf(f, "penalty:     L2 %g, %s\n", (double)l2, how);
        /* the neighbour search of dynamic selection, alone or as members of
         * an ensemble, and the features predict then needs */
        size_t nk = lf_fusion_neighbors(fu), F = lf_fusion_n_features(fu);
        if (nk)
            fprintf(f, "neighbours:  %s%zu among %s\n", n_mem ? "its dynamic-selection members', " : "", nk,
                    F ? "the rows' features, standardised" : "the models' outputs");
        if (F) fprintf(f, "features:    %zu a row (predict needs --features)\n", F);
        if (lf_fusion_class_name(fu, 0)) {
            fputs("class names:", f);
            for (size_t c = 0; c < C && c < 50; c++) {
                fputs(c ? ", " : " ", f);
                cli_print_name(f, lf_fusion_class_name(fu, c), 0);
            }
            if (C > 50) fprintf(f, ", ... (%zu more)", C - 50);
            fputc('\n', f);
        }
        fprintf(f, "models:      %zu\n", M);
        for (size_t k = 0; k < M; k++)
            if (n_mem)
                fprintf(f, "  %s\n", lf_fusion_model_name(fu, k));
            else
                fprintf(f, "  %-*s  temperature %.4f\n", w, lf_fusion_model_name(fu, k),
                        (double)lf_fusion_temperature(fu, k));
    }
    if ((flags & CLI_FUSION_HEADER) && print_importance(f, fu, w)) return LF_ERR_NOMEM;
    int log_linear = 0;
    size_t n_members = lf_fusion_ensemble_member(fu, 0, NULL, NULL, NULL, &log_linear);
    if (n_members) { /* auto's ensemble: its members and their weights */
        fprintf(f, "members of the ensemble (%s pool of their outputs; weights sum to 1):\n",
                log_linear ? "log-linear" : "linear");
        for (size_t i = 0; i < n_members; i++) {
            lf_method m;
            int cal;
            double wt;
            lf_fusion_ensemble_member(fu, i, &m, &cal, &wt, NULL);
            char name[100];
            snprintf(name, sizeof name, "%s%s", lf_method_name(m), cal ? " +calibrate" : "");
            fprintf(f, "  %-28s %.4f ", name, wt);
            cli_print_bar(f, wt, 20);
            fputc('\n', f);
            if (cal) {
                fputs("    temperatures:", f);
                for (size_t k = 0; k < M; k++)
                    fprintf(f, " %s %.4f", lf_fusion_model_name(fu, k),
                            (double)lf_fusion_ensemble_member_temperature(fu, i, k));
                fputc('\n', f);
            }
        }
        return LF_OK;
    }
    size_t rows = 0, cols = 0;
    size_t n = lf_fusion_weights(fu, NULL, 0, &rows, &cols);
    if (n == 0) {
        fprintf(f, "%s learns no weights over models\n", mname ? mname : "this method");
        return LF_OK;
    }
    float *wts = malloc(n * sizeof *wts);
    if (!wts) return LF_ERR_NOMEM;
    lf_fusion_weights(fu, wts, n, &rows, &cols);
    if (cols <= 1) {
        fprintf(f, "weights of %s (sum to 1):\n", mname ? mname : "?");
        for (size_t k = 0; k < rows && k < M; k++) {
            fprintf(f, "  %-*s  %.4f ", w, lf_fusion_model_name(fu, k), (double)wts[k]);
            cli_print_bar(f, wts[k], 20);
            fputc('\n', f);
        }
    } else if (cols > CLI_TABLE_CLASSES && !(flags & CLI_FUSION_ALL)) {
        /* a table of thousands of columns helps no reader: each model's
         * mean and its extremes, the whole table on request */
        fprintf(f, "weights of %s per model and class (each class sums to 1 over models; %zu classes: the mean "
                   "over classes, the smallest and the largest; inspect --all prints them all):\n",
                mname ? mname : "?", cols);
        for (size_t k = 0; k < rows && k < M; k++) {
            const float *wk = wts + k * cols;
            size_t lo = 0, hi = 0;
            double mean = 0;
            for (size_t c = 0; c < cols; c++) {
                mean += wk[c];
                if (wk[c] < wk[lo]) lo = c;
                if (wk[c] > wk[hi]) hi = c;
            }
            mean /= (double)cols;
            fprintf(f, "  %-*s  %.4f ", w, lf_fusion_model_name(fu, k), mean);
            cli_print_bar(f, mean, 20);
            fputs("  smallest ", f);
            class_cell(f, fu, lo);
            fprintf(f, " %.4f, largest ", (double)wk[lo]);
            class_cell(f, fu, hi);
            fprintf(f, " %.4f\n", (double)wk[hi]);
        }
    } else {
        fprintf(f, "weights of %s per model and class (each class sums to 1 over models):\n",
                mname ? mname : "?");
        fprintf(f, "  %-*s", w, "");
        for (size_t c = 0; c < cols; c++) {
            char h[32];
            const char *nm = lf_fusion_class_name(fu, c);
            if (nm) {
                fputs("  ", f);
                name_cell(f, nm, 9, 1);
                continue;
            }
            snprintf(h, sizeof h, "class %zu", c);
            fprintf(f, "  %9s", h);
        }
        fputc('\n', f);
        for (size_t k = 0; k < rows && k < M; k++) {
            fprintf(f, "  %-*s", w, lf_fusion_model_name(fu, k));
            for (size_t c = 0; c < cols; c++) fprintf(f, "  %9.4f", (double)wts[k * cols + c]);
            fputc('\n', f);
        }
        for (size_t k = 0; k < rows && k < M; k++) {
            double mean = 0;
            for (size_t c = 0; c < cols; c++) mean += wts[k * cols + c];
            mean /= (double)cols;
            fprintf(f, "  %-*s  %.4f ", w, lf_fusion_model_name(fu, k), mean);
            cli_print_bar(f, mean, 20);
            fputs("  (mean over classes)\n", f);
        }
    }
    free(wts);
    return LF_OK;
}
