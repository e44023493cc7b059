/*
 * inputs.c — loading and validating the files the fusion commands read:
 * each model's outputs (N x C, .npy or .csv) and the labels.
 *
 * Why here and not only in the library: the library validates arrays, but
 * only the tool knows file names, so the messages here name the file, the
 * 1-based data row and the offending value, which is what a user needs to
 * fix an export.  A row of NaN is a missing output; a row with only some
 * NaN is an error.  Nothing here prints; errors go back through lf_err.
 */
#include "cli.h"
#include "io/csv.h"
#include "io/npy.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

/* A row whose sum is further than this from 1 looks like raw scores. */
#define CLI_LOGITS_HINT 0.1

/* "s" for a count other than 1. */
static const char *plural(size_t n) { return n == 1 ? "" : "s"; }

static int has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), k = strlen(ext);
    if (n <= k) return 0;
    for (size_t i = 0; i < k; i++)
        if (tolower((unsigned char)path[n - k + i]) != ext[i]) return 0;
    return 1;
}

/* A C-order .npy straight into floats, chunk by chunk (no copy of the
 * file's bytes beside them); Fortran order goes through lf_npy_read. */
static lf_status read_npy(const char *path, lf_array *out, lf_err *e) {
    lf_npy_reader r;
    lf_status st = lf_npy_reader_open(&r, path, 0, e);
    if (st == LF_ERR_ARG) return lf_npy_read(path, out, e);
    if (st) return st;
    size_t cells;
    float *data = NULL;
    if (!lf_mul_ok(r.rows, r.cols, &cells) || !(data = lf_alloc_array(cells ? cells : 1, sizeof *data)))
        st = lf_fail(e, LF_ERR_NOMEM, "out of memory reading '%s'", path);
    for (size_t r0 = 0; !st && r0 < r.rows; r0 += 65536) {
        size_t n = r.rows - r0 < 65536 ? r.rows - r0 : 65536;
        st = lf_npy_reader_rows(&r, data + r0 * r.cols, n, e);
    }
    if (!st) *out = (lf_array){data, r.rows, r.cols, r.is_integer};
    else LF_FREE(data);
    lf_npy_reader_close(&r);
    return st;
}

lf_status cli_read_matrix(const char *path, lf_array *out, lf_err *e) {
    memset(out, 0, sizeof *out);
    if (has_ext(path, ".npy")) return read_npy(path, out, e);
    if (has_ext(path, ".csv")) return lf_csv_read(path, out, e);
    return lf_fail(e, LF_ERR_ARG, "cannot tell the format of '%s': use a .npy or .csv file", path);
}

lf_status cli_check_outputs(const char *path, const float *p, size_t N, size_t C, int logits,
                            lf_err *e) {
    return cli_check_outputs_at(path, p, N, C, logits, 0, e);
}

lf_status cli_check_outputs_at(const char *path, const float *p, size_t N, size_t C, int logits,
                               size_t row0, lf_err *e) {
    p -= row0 * C; /* rows are numbered from the start of the file */
    for (size_t i = row0; i < row0 + N; i++) {
        const float *r = p + i * C;
        size_t nan = 0;
        for (size_t c = 0; c < C; c++) nan += isnan(r[c]) ? 1 : 0;
        if (nan == C) continue; /* a missing output */
        if (nan)
            for (size_t c = 0; c < C; c++)
                if (isnan(r[c]))
                    return lf_fail(e, LF_ERR_FORMAT,
                                   "row %zu of '%s' has NaN in column %zu but values in others; a "
                                   "missing output must be a whole row of NaN",
                                   i + 1, path, c + 1);
        double s = 0;
        for (size_t c = 0; c < C; c++) {
            if (isinf(r[c]))
                return lf_fail(e, LF_ERR_FORMAT, "row %zu of '%s' holds %s in column %zu", i + 1,
                               path, r[c] > 0 ? "inf" : "-inf", c + 1);
            if (!logits && r[c] < 0)
                return lf_fail(e, LF_ERR_FORMAT,
                               "row %zu of '%s' holds a negative probability %g in column %zu "
                               "(pass --logits for raw scores)",
                               i + 1, path, (double)r[c], c + 1);
            s += r[c];
        }
        /* --logits is suggested only for a row that looks like raw scores:
         * a negative value (above) or a sum far from 1; near 1, the sum says
         * enough (rounded or truncated probabilities) */
        if (!logits && fabs(s - 1.0) > 1e-3)
            return lf_fail(e, LF_ERR_FORMAT, "row %zu of '%s' sums to %.6g, not 1 within 1e-3%s", i + 1, path, s,
                           fabs(s - 1.0) > CLI_LOGITS_HINT ? " (pass --logits for raw scores)" : "");
    }
    return LF_OK;
}

void cli_inputs_free(cli_inputs *in) {
    if (!in) return;
    for (size_t k = 0; k < CLI_MAX_MODELS; k++) {
        LF_FREE(in->p[k]);
        in->p[k] = NULL;
    }
    in->M = in->N = in->C = 0;
}

lf_status cli_check_shape(const char *path, size_t rows, size_t cols, const char *first, size_t N,
                          size_t C, int is_first, size_t want_c, lf_err *e) {
    if (is_first && want_c && cols != want_c)
        return lf_fail(e, LF_ERR_SHAPE, "'%s' has %zu column%s but the fusion model has %zu classes", path,
                       cols, plural(cols), want_c);
    if (is_first && cols < 2)
        return lf_fail(e, LF_ERR_SHAPE,
                       "'%s' has %zu column%s; model outputs need one column per class (at least 2)", path, cols,
                       plural(cols));
    if (rows != N)
        return lf_fail(e, LF_ERR_SHAPE, "row-count mismatch: '%s' has %zu row%s but '%s' has %zu", path, rows,
                       plural(rows), first, N);
    if (cols != C)
        return lf_fail(e, LF_ERR_SHAPE, "class-count mismatch: '%s' has %zu column%s but '%s' has %zu", path,
                       cols, plural(cols), first, C);
    return LF_OK;
}

lf_status cli_find_model(const lf_fusion *f, const char *name, size_t *j, lf_err *e) {
    size_t M = lf_fusion_num_models(f);
    for (*j = 0; *j < M; ++*j)
        if (strcmp(lf_fusion_model_name(f, *j), name) == 0) return LF_OK;
    char known[512] = "";
    for (size_t i = 0; i < M; i++) {
        size_t n = strlen(known);
        snprintf(known + n, sizeof known - n, "%s%s", i ? ", " : "", lf_fusion_model_name(f, i));
    }
    return lf_fail(e, LF_ERR_ARG, "the fusion model has no model named '%s' (it knows %s)", name, known);
}

lf_status cli_load_models(const struct cli_opts *o, int logits, size_t want_c, cli_inputs *in,
                          lf_err *e) {
    memset(in, 0, sizeof *in);
    for (size_t k = 0; k < o->n_models; k++) {
        const char *path = o->models[k].path;
        lf_array a;
        lf_status st = cli_read_matrix(path, &a, e);
        if (st) {
            cli_inputs_free(in);
            return st;
        }
        in->p[k] = a.data;
        in->names[k] = o->models[k].name;
        in->paths[k] = path;
        in->M = k + 1;
        if (k == 0) in->N = a.rows, in->C = a.cols;
        st = cli_check_shape(path, a.rows, a.cols, in->paths[0], in->N, in->C, k == 0, want_c, e);
        if (!st) st = cli_check_outputs(path, a.data, a.rows, a.cols, logits, e);
        if (st) {
            cli_inputs_free(in);
            return st;
        }
    }
    return LF_OK;
}

lf_status cli_match_models(const lf_fusion *f, cli_inputs *in, lf_err *e) {
    size_t M = lf_fusion_num_models(f);
    if (M > CLI_MAX_MODELS) return lf_fail(e, LF_ERR_ARG, "the fusion model has too many models (%zu)", M);
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

lf_status cli_load_labels(const char *path, size_t N, size_t C, int **y, lf_err *e) {
    *y = NULL;
    int *out = NULL;
    lf_array a;
    lf_status st = cli_read_matrix(path, &a, e);
    if (st) return st;
    if (a.rows != N) {
        st = lf_fail(e, LF_ERR_SHAPE, "'%s' has %zu label%s but the model files have %zu row%s", path,
                     a.rows, plural(a.rows), N, plural(N));
        goto done;
    }
    if (a.cols != 1 && a.cols != C) {
        st = lf_fail(e, LF_ERR_SHAPE,
                     "'%s' has %zu column%s; labels must be one column of class indices or %zu "
                     "one-hot columns",
                     path, a.cols, plural(a.cols), C);
        goto done;
    }
    out = lf_alloc_array(N ? N : 1, sizeof *out);
    if (!out) {
        st = lf_fail(e, LF_ERR_NOMEM, "out of memory reading the labels of '%s'", path);
        goto done;
    }
    for (size_t i = 0; i < N && !st; i++) {
        const float *r = a.data + i * a.cols;
        if (a.cols == 1 && C != 1) {
            float v = r[0];
            if (!isfinite(v) || v != floorf(v))
                st = lf_fail(e, LF_ERR_FORMAT, "label %g at row %zu of '%s' is not an integer",
                             (double)v, i + 1, path);
            else if (v < 0 || v >= (float)C)
                st = lf_fail(e, LF_ERR_FORMAT,
                             "label %g at row %zu of '%s' is out of range 0..%zu", (double)v,
                             i + 1, path, C - 1);
            else
                out[i] = (int)v;
        } else {
            size_t ones = 0, hot = 0;
            for (size_t c = 0; c < C; c++) {
                if (r[c] == 1.0f) {
                    ones++;
                    hot = c;
                } else if (r[c] != 0.0f) {
                    ones = 2; /* not one-hot */
                    break;
                }
            }
            if (ones != 1)
                st = lf_fail(e, LF_ERR_FORMAT,
                             "row %zu of '%s' is not one-hot (exactly one 1, the rest 0)", i + 1, path);
            else
                out[i] = (int)hot;
        }
    }
    if (st) {
        LF_FREE(out);
    } else {
        *y = out;
    }
done:
    lf_array_free(&a);
    return st;
}
