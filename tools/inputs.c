/*
 * inputs.c — loading and validating the files the fusion commands read:
 * each model's outputs (N x C, .npy or .csv) and the labels.
 *
 * The checks are the library's (lf_check_outputs, lf_labels_from_matrix);
 * what is here is their wording: only the tool knows file names, so the
 * messages name the file, the 1-based data row and column and the
 * offending value, which is what a user needs to fix an export.  Errors
 * go back through cli_err; the one thing printed here is the warning for
 * rows given as logits that look like probabilities.
 */
#include "cli.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

/* A row whose sum is further than this from 1 looks like raw scores. */
#define CLI_LOGITS_HINT 0.1

/* "s" for a count other than 1. */
static const char *plural(size_t n) { return n == 1 ? "" : "s"; }

lf_status cli_read_matrix(const char *path, lf_matrix *out, cli_err *e) {
    return lf_matrix_read(path, out, e->msg, sizeof e->msg);
}

lf_status cli_check_outputs(const char *path, const float *p, size_t N, size_t C, int logits, int flag,
                            cli_err *e) {
    return cli_check_outputs_at(path, p, N, C, logits, flag, 0, e);
}

/* The library's check (lf_check_outputs), worded for the command line. */
lf_status cli_check_outputs_at(const char *path, const float *p, size_t N, size_t C, int logits, int flag,
                               size_t row0, cli_err *e) {
    lf_input_issue is;
    lf_status st = lf_check_outputs(&p, NULL, 1, N, C, logits, row0, &is);
    if (st == LF_OK) return LF_OK;
    cli_issue_message(&is, path, flag, e->msg, sizeof e->msg);
    return st;
}

int cli_takes_logits(const struct cli_opts *o) { return o->command != CLI_PREDICT && o->command != CLI_EVAL; }

void cli_issue_message(const lf_input_issue *is, const char *path, int flag, char *msg, size_t len) {
    size_t row = is->row + 1, col = is->column + 1;
    const char *raw = flag ? " (pass --logits for raw scores)" : " (append :logits to the file's name for raw scores)";
    switch (is->kind) {
    case LF_INPUT_PARTIAL_NAN:
        snprintf(msg, len,
                 "row %zu of '%s' has NaN in column %zu but values in others; a missing output must be a whole "
                 "row of NaN",
                 row, path, col);
        break;
    case LF_INPUT_NOT_PROBABILITY:
        snprintf(msg, len,
                 "row %zu of '%s' holds %g, not a probability in 0..1 (a one-column file is the probability "
                 "of class 1; give raw scores with :logits)",
                 row, path, is->value);
        break;
    case LF_INPUT_INF:
        snprintf(msg, len, "row %zu of '%s' holds %s in column %zu", row, path, is->value > 0 ? "inf" : "-inf",
                 col);
        break;
    case LF_INPUT_NEGATIVE:
        snprintf(msg, len,
                 "row %zu of '%s' holds a negative probability %g in column %zu%s", row, path, is->value, col, raw);
        break;
    case LF_INPUT_SUM:
        /* --logits is suggested only for a row that looks like raw scores:
         * a negative value (above) or a sum far from 1; near 1, the sum says
         * enough (rounded or truncated probabilities) */
        snprintf(msg, len, "row %zu of '%s' sums to %.6g, not 1 within 1e-3%s", row, path, is->sum,
                 fabs(is->sum - 1.0) > CLI_LOGITS_HINT ? raw : " (--renormalize divides such rows by their sum)");
        break;
    default: snprintf(msg, len, "row %zu of '%s' is not valid", row, path); break;
    }
}

void cli_inputs_free(cli_inputs *in) {
    if (!in) return;
    for (size_t k = 0; k < CLI_MAX_MODELS; k++) {
        free(in->p[k]);
        in->p[k] = NULL;
    }
    in->M = in->N = in->C = 0;
}

lf_status cli_check_shape(const char *path, size_t rows, size_t cols, const char *first, size_t N,
                          size_t C, int is_first, size_t want_c, cli_err *e) {
    if (is_first && want_c && cols != want_c)
        return cli_set(e, LF_ERR_SHAPE, "'%s' has %zu column%s but the fusion model has %zu classes", path,
                       cols, plural(cols), want_c);
    if (is_first && cols < 2)
        return cli_set(e, LF_ERR_SHAPE,
                       "'%s' has %zu column%s; model outputs need one column per class (at least 2)", path, cols,
                       plural(cols));
    if (rows != N)
        return cli_set(e, LF_ERR_SHAPE, "row-count mismatch: '%s' has %zu row%s but '%s' has %zu", path, rows,
                       plural(rows), first, N);
    if (cols != C)
        return cli_set(e, LF_ERR_SHAPE, "class-count mismatch: '%s' has %zu column%s but '%s' has %zu", path,
                       cols, plural(cols), first, C);
    return LF_OK;
}

lf_status cli_find_model(const lf_fusion *f, const char *name, size_t *j, cli_err *e) {
    size_t M = lf_fusion_num_models(f);
    for (*j = 0; *j < M; ++*j)
        if (strcmp(lf_fusion_model_name(f, *j), name) == 0) return LF_OK;
    char known[512] = "";
    for (size_t i = 0; i < M; i++) {
        size_t n = strlen(known);
        snprintf(known + n, sizeof known - n, "%s%s", i ? ", " : "", lf_fusion_model_name(f, i));
    }
    return cli_set(e, LF_ERR_ARG, "the fusion model has no model named '%s' (it knows %s)", name, known);
}

unsigned cli_file_flags(const struct cli_opts *o, size_t k, int logits) {
    unsigned f = o->models[k].flags;
    if (logits) return LF_OUTPUTS_RAW; /* the fusion model applies the softmax */
    if (f & CLI_FILE_LOGITS) return LF_OUTPUTS_LOGITS;
    return (f & CLI_FILE_RENORMALIZE) || o->renormalize ? LF_OUTPUTS_RENORMALIZE : 0;
}

const char *cli_input_name(const char *path) { return strcmp(path, "-") == 0 ? "standard input" : path; }

lf_status cli_load_models(const struct cli_opts *o, int logits, size_t want_c, cli_inputs *in,
                          cli_err *e) {
    memset(in, 0, sizeof *in);
    for (size_t k = 0; k < o->n_models; k++) {
        const char *path = cli_input_name(o->models[k].path);
        lf_matrix a;
        lf_status st = cli_read_matrix(o->models[k].path, &a, e);
        if (st) {
            cli_inputs_free(in);
            return st;
        }
        unsigned flags = cli_file_flags(o, k, logits);
        if ((logits || (o->models[k].flags & CLI_FILE_LOGITS)) && a.cols > 1 &&
            lf_outputs_look_like_probabilities(a.data, a.rows, a.cols))
            fprintf(stderr,
                    "latefuse: warning: the rows of '%s' are read as logits but look like probabilities "
                    "(each in 0..1, summing to 1); the softmax will flatten them%s\n",
                    path, logits ? " (drop --logits?)" : " (drop ':logits'?)");
        lf_input_issue is;
        size_t cols = a.cols;
        st = lf_outputs_prepare(&a, flags, &is);
        if (st) {
            lf_matrix_free(&a);
            cli_inputs_free(in);
            if (st == LF_ERR_NOMEM) return cli_set(e, st, "out of memory reading '%s'", path);
            cli_issue_message(&is, path, cli_takes_logits(o), e->msg, sizeof e->msg);
            return st;
        }
        in->p[k] = a.data;
        in->names[k] = o->models[k].name;
        in->paths[k] = path;
        in->M = k + 1;
        if (k == 0) in->N = a.rows, in->C = a.cols;
        size_t want = k ? in->C : want_c;
        if (cols == 1 && want && want != 2) {
            cli_inputs_free(in);
            return cli_set(e, LF_ERR_SHAPE,
                           "'%s' has 1 column, a binary model's P(class 1), but %s has %zu classes", path,
                           k ? "the first model" : "the fusion model", want);
        }
        st = cli_check_shape(path, a.rows, a.cols, in->paths[0], in->N, in->C, k == 0, want_c, e);
        if (!st) st = cli_check_outputs(path, a.data, a.rows, a.cols, logits, cli_takes_logits(o), e);
        if (st) {
            cli_inputs_free(in);
            return st;
        }
    }
    return LF_OK;
}

lf_status cli_match_models(const lf_fusion *f, cli_inputs *in, cli_err *e) {
    size_t M = lf_fusion_num_models(f);
    if (M > CLI_MAX_MODELS) return cli_set(e, LF_ERR_ARG, "the fusion model has too many models (%zu)", M);
    for (size_t k = 0; k < in->M; k++) {
        size_t j;
        lf_status st = cli_find_model(f, in->names[k], &j, e);
        if (st) return st;
    }
    cli_inputs out;
    memset(&out, 0, sizeof out);
    out.M = M;
    out.N = in->N;
    out.C = in->C;
    for (size_t j = 0; j < M; j++) {
        out.names[j] = lf_fusion_model_name(f, j);
        for (size_t k = 0; k < in->M; k++)
            if (in->names[k] && strcmp(out.names[j], in->names[k]) == 0) {
                out.p[j] = in->p[k];
                out.paths[j] = in->paths[k];
                in->p[k] = NULL;
            }
    }
    cli_inputs_free(in);
    *in = out;
    return LF_OK;
}

/* whether the text s starts like a number ("3", "-1", "+.5") */
static int starts_like_number(const char *s) {
    const char *v = s + (s[0] == '+' || s[0] == '-');
    return (v[0] >= '0' && v[0] <= '9') || (v[0] == '.' && v[1] >= '0' && v[1] <= '9');
}

/* whether the first line of file (after a byte order mark, spaces and
 * tabs) starts like a number: a numeric column, whatever its error */
static int first_line_numeric(const char *file) {
    FILE *fp = fopen(file, "rb");
    char line[64] = "";
    if (!fp) return 1;
    if (!fgets(line, sizeof line, fp)) line[0] = '\0';
    fclose(fp);
    const char *s = strncmp(line, "\xEF\xBB\xBF", 3) == 0 ? line + 3 : line;
    while (*s == ' ' || *s == '\t') s++;
    return starts_like_number(s);
}

/* Labels given as names, one per line of the text file `file` (an optional
 * header line when there are N + 1 lines), mapped through *classes (from
 * --class-names, a CSV header or the fusion model) or, with none, through
 * their sorted distinct values, which become *classes.  Returns -1 when the
 * file is not such a column, or holds something that starts like a number
 * (the numeric reader's error stands); a file of names that fails as one
 * (a blank line inside, bad UTF-8) gets the names reader's message. */
static int labels_by_name(const char *file, size_t N, size_t C, lf_names *classes, int *out, lf_status *st,
                          cli_err *e) {
    struct stat sb;
    if (strcmp(file, "-") == 0 || stat(file, &sb) != 0 || !S_ISREG(sb.st_mode)) return -1;
    lf_names lines;
    char why[300];
    if (lf_label_names_read(file, &lines, why, sizeof why) != LF_OK) {
        if (first_line_numeric(file)) return -1;
        *st = cli_set(e, LF_ERR_FORMAT, "%s", why);
        return 0;
    }
    const char *const *lab = (const char *const *)lines.names;
    size_t n = lines.n;
    if (n == N + 1) { /* a header line: not one of the classes when they are known */
        size_t c = 0;
        while (c < classes->n && strcmp(lab[0], classes->names[c]) != 0) c++;
        if (!classes->n || c == classes->n) lab++, n--;
    }
    for (size_t i = 0; i < n; i++) { /* numbers that did not read: the numeric reader's error stands */
        if (starts_like_number(lab[i])) {
            lf_names_free(&lines);
            return -1;
        }
    }
    *st = LF_OK;
    if (n != N) {
        *st = cli_set(e, LF_ERR_SHAPE, "'%s' has %zu label%s but the model files have %zu row%s", file, n,
                      plural(n), N, plural(N));
    } else if (classes->n) {
        lf_input_issue is;
        if (lf_labels_from_names(lab, N, (const char *const *)classes->names, classes->n, out, &is) != LF_OK) {
            char list[300] = "";
            for (size_t c = 0; c < classes->n && strlen(list) < 200; c++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", c ? ", " : "", classes->names[c]);
            *st = cli_set(e, LF_ERR_FORMAT, "label '%.80s' at row %zu of '%s' is not a class name (the classes: %s)",
                          lab[is.row], is.row + 1, file, list);
        }
    } else {
        lf_names u;
        *st = lf_names_unique(lab, N, &u);
        if (*st == LF_OK && u.n != C) {
            *st = cli_set(e, LF_ERR_SHAPE,
                          "'%s' holds %zu distinct labels but the outputs have %zu classes (give the class names "
                          "with --class-names)", file, u.n, C);
            lf_names_free(&u);
        } else if (*st == LF_OK) {
            lf_labels_from_names(lab, N, (const char *const *)u.names, u.n, out, NULL);
            *classes = u;
        } else {
            *st = cli_set(e, *st, "out of memory reading the labels of '%s'", file);
        }
    }
    lf_names_free(&lines);
    return 0;
}

lf_status cli_load_labels(const char *file, size_t N, size_t C, lf_names *classes, int **y, cli_err *e) {
    *y = NULL;
    int *out = NULL;
    lf_matrix a;
    lf_status st = cli_read_matrix(file, &a, e);
    const char *path = cli_input_name(file);
    if (st == LF_ERR_FORMAT && classes) { /* names ("car", "dog"), not numbers? */
        cli_err numeric = *e;
        if (!(out = calloc(N ? N : 1, sizeof *out))) return cli_set(e, LF_ERR_NOMEM, "out of memory");
        if (labels_by_name(file, N, C, classes, out, &st, e) < 0) {
            *e = numeric;
            st = LF_ERR_FORMAT;
            if (strcmp(file, "-") == 0) { /* read once, as numbers: names cannot be read again */
                size_t n = strlen(e->msg);
                snprintf(e->msg + n, sizeof e->msg - n, " (labels given by name are read from a file, not from "
                                                        "standard input)");
            }
        }
        if (st) free(out);
        else *y = out;
        return st;
    }
    if (st) return st;
    if (a.rows != N) {
        st = cli_set(e, LF_ERR_SHAPE, "'%s' has %zu label%s but the model files have %zu row%s", path,
                     a.rows, plural(a.rows), N, plural(N));
        goto done;
    }
    if (a.cols != 1 && a.cols != C) {
        st = cli_set(e, LF_ERR_SHAPE,
                     "'%s' has %zu column%s; labels must be one column of class indices or %zu "
                     "one-hot columns",
                     path, a.cols, plural(a.cols), C);
        goto done;
    }
    out = calloc(N ? N : 1, sizeof *out);
    if (!out) {
        st = cli_set(e, LF_ERR_NOMEM, "out of memory reading the labels of '%s'", path);
        goto done;
    }
    lf_input_issue is;
    st = lf_labels_from_matrix(a.data, N, a.cols, C, out, &is);
    if (st) {
        size_t row = is.row + 1;
        if (is.kind == LF_INPUT_LABEL_NOT_INTEGER)
            st = cli_set(e, st, "label %g at row %zu of '%s' is not an integer", is.value, row, path);
        else if (is.kind == LF_INPUT_LABEL_RANGE)
            st = cli_set(e, st, "label %g at row %zu of '%s' is out of range 0..%zu", is.value, row, path, C - 1);
        else
            st = cli_set(e, st, "row %zu of '%s' is not one-hot (exactly one 1, the rest 0)", row, path);
    }
    if (st) {
        free(out);
    } else {
        *y = out;
    }
done:
    lf_matrix_free(&a);
    return st;
}

lf_status cli_load_features(const char *path, size_t N, lf_matrix *out, cli_err *e) {
    lf_status st = cli_read_matrix(path, out, e);
    if (st) return st;
    const char *name = cli_input_name(path);
    if (N && out->rows != N)
        st = cli_set(e, LF_ERR_SHAPE, "'%s' (--features) holds %zu rows, the model outputs %zu", name, out->rows, N);
    for (size_t i = 0; !st && i < out->rows * out->cols; i++)
        if (!isfinite(out->data[i]))
            st = cli_set(e, LF_ERR_FORMAT, "row %zu of '%s' (--features) holds %g in column %zu; features must be finite",
                         i / out->cols + 1, name, (double)out->data[i], i % out->cols + 1);
    if (st) lf_matrix_free(out);
    return st;
}

/* Where a list of class names came from, for the messages that compare
 * two lists. */
typedef enum names_src { FROM_OPTION, FROM_HEADER, FROM_MODEL } names_src;

/* "the header of 'X' names column 2 'dog'" (full) or "... names it 'dog'". */
static void name_phrase(char *buf, size_t len, names_src src, const char *path, size_t c, const char *name,
                        int full) {
    char at[48] = "it";
    if (full) snprintf(at, sizeof at, "%s %zu", src == FROM_HEADER ? "column" : "class", c + 1);
    snprintf(buf, len, "%s '%.200s' names %s '%.60s'",
             src == FROM_OPTION ? "--class-names" : src == FROM_HEADER ? "the header of" : "the fusion model", path,
             at, name);
}

/* LF_OK when `got` (from src, path) lists the same names in the same order
 * as `want` (from wsrc, wpath); else the first place they differ, named in
 * e.  Both lists hold C names. */
static lf_status same_names(const lf_names *got, names_src src, const char *path, const lf_names *want,
                            names_src wsrc, const char *wpath, cli_err *e) {
    size_t c = 0;
    while (c < got->n && strcmp(got->names[c], want->names[c]) == 0) c++;
    if (c == got->n) return LF_OK;
    char a[400], b[400];
    name_phrase(a, sizeof a, src, path, c, got->names[c], 1);
    name_phrase(b, sizeof b, wsrc, wpath, c, want->names[c], 0);
    return cli_set(e, src == FROM_HEADER ? LF_ERR_FORMAT : LF_ERR_ARG,
                   "%s but %s; the classes must be named alike, in the same order, everywhere", a, b);
}

lf_status cli_class_names(const struct cli_opts *o, size_t C, const lf_fusion *f, lf_names *out, cli_err *e) {
    char err[512];
    memset(out, 0, sizeof *out);
    lf_names stored = {NULL, 0}, header = {NULL, 0};
    names_src src = FROM_OPTION;
    const char *from = o->class_names;
    lf_status st = LF_OK;
    if (from) {
        if ((st = lf_names_read(from, out, err, sizeof err))) return cli_set(e, st, "%s", err);
        if (out->n != C) {
            size_t n = out->n;
            lf_names_free(out);
            return cli_set(e, LF_ERR_SHAPE, "'%s' names %zu classes, but the outputs have %zu", from, n, C);
        }
    }
    /* every CSV header names the classes as the first list does */
    for (size_t k = 0; !st && k < o->n_models; k++) {
        const char *path = o->models[k].path;
        if ((st = lf_csv_header_read(path, &header, err, sizeof err))) {
            st = cli_set(e, st, "%s", err);
        } else if (header.n && header.n != C) {
            st = cli_set(e, LF_ERR_SHAPE, "'%s' names %zu classes, but the outputs have %zu", path, header.n, C);
        } else if (header.n && out->n) {
            st = same_names(&header, FROM_HEADER, path, out, src, from, e);
        } else if (header.n) { /* the first list: the header's */
            *out = header;
            header.n = 0, header.names = NULL;
            src = FROM_HEADER, from = path;
        }
        lf_names_free(&header);
    }
    /* and the fusion model's stored names, when it has some */
    if (!st && f && out->n && lf_fusion_class_name(f, 0)) {
        if (!(stored.names = calloc(C, sizeof *stored.names))) {
            st = cli_set(e, LF_ERR_NOMEM, "out of memory");
        } else {
            for (size_t c = 0; c < C; c++) stored.names[c] = (char *)lf_fusion_class_name(f, c);
            stored.n = C;
            st = same_names(out, src, from, &stored, FROM_MODEL, o->fusion_path, e);
            free(stored.names); /* (the names are the model's) */
        }
    }
    if (st) lf_names_free(out);
    return st;
}

const char *cli_class_name(const lf_names *given, const lf_fusion *f, size_t c, char buf[24]) {
    if (given && c < given->n) return given->names[c];
    const char *s = lf_fusion_class_name(f, c);
    if (s) return s;
    snprintf(buf, 24, "%zu", c);
    return buf;
}

void cli_print_name(FILE *f, const char *s, int width) {
    int n = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c & 0xC0) != 0x80) n++;
        fputc(*c < 0x20 || *c == 0x7f ? '?' : *c, f);
    }
    for (; n < width; n++) fputc(' ', f);
}

int cli_features_fit(const struct cli_opts *o, const lf_fusion *f, const lf_matrix *x) {
    char msg[600];
    size_t F = lf_fusion_n_features(f);
    lf_method method = lf_fusion_method(f);
    const char *m = lf_method_name(method);
    if (F && !o->features)
        snprintf(msg, sizeof msg, "'%s' (%s) was fitted with %zu features a row: give the rows' features with "
                 "--features FILE", o->fusion_path, m, F);
    else if (!F && o->features && lf_method_takes_features(method)) /* others take them and leave them */
        snprintf(msg, sizeof msg, "'%s' (%s) was fitted without features: --features '%s' cannot be used",
                 o->fusion_path, m, cli_input_name(o->features));
    else if (F && x->cols != F)
        snprintf(msg, sizeof msg, "'%s' (--features) has %zu values a row, '%s' was fitted with %zu",
                 cli_input_name(o->features), x->cols, o->fusion_path, F);
    else
        return 0;
    return cli_fail(LF_ERR_ARG, msg, 1);
}
