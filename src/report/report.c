/*
 * report.c — lf_fusion_report: one self-contained HTML page (inline SVG and
 * CSS, no script, nothing fetched) of what fusion does on labelled model
 * outputs.  The numbers come from the library's own calls — the compare
 * table (lf_fusion_compare), out-of-fold outputs on its folds
 * (lf_cv_outputs in cv_units.c), the metrics, reliability bins, confusion
 * matrices and per-class scores of metrics.c, a fit for the weights and
 * curves — and the drawing from svg.c.  Sizes are bounded: matrices are
 * drawn up to MAX_DRAWN classes (above, the most frequent confusions are
 * listed, counted without a C x C matrix) and the per-class table holds at
 * most MAX_CLASS_ROWS classes.
 *
 * The SVG carries its numbers as data-* attributes (a bin's rows and
 * accuracy, a cell's count) so that a test can read them back.
 */
#include "fusion/ensemble.h"
#include "fusion/method.h"
#include "fusion/rules.h"
#include "kernels.h"
#include "report/report.h"
#include "report/svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_DRAWN 30       /* classes up to which a matrix or heatmap is drawn */
#define MAX_CLASS_ROWS 60  /* rows of the per-class table */
#define TOP_CONFUSIONS 15  /* pairs listed when the matrix is not drawn */
#define REL_W 250.0        /* a reliability plot's box */
#define REL_H 200.0
#define HIST_H 50.0

typedef struct report {
    lf_buf *b;
    lf_err *e;
    size_t M, N, C;
    const int *y;
    const char *const *names;
    const char **cls;      /* C class names (the caller's, or numbers below) */
    char (*numbers)[24];
    int oom;               /* a section's memory could not be had: the page
                              is incomplete and the report fails (NOMEM) */
} report;

/* -------------------------------------------------------------- helpers */

static void put(report *r, const char *s) { lf_buf_puts(r->b, s); }
static void esc(report *r, const char *s) { lf_html_text(r->b, s, 0); }
static void num(report *r, double v, int d) { lf_svg_num(r->b, v, d); }

/* mean ± std as text */
static void mean_std(report *r, double m, double s, int d) {
    if (isnan(m)) {
        put(r, "–");
        return;
    }
    num(r, m, d);
    put(r, " ± ");
    num(r, s, d);
}

/* The rows of a model's output where it is present, compacted (with their
 * labels); *n = 0 for a model absent everywhere.  prob NULL: none.  On
 * failure *pp and *yy are NULL. */
static lf_status present_rows(report *r, const float *prob, float **pp, int **yy, size_t *n) {
    size_t C = r->C;
    *pp = NULL, *yy = NULL, *n = 0;
    if (!prob) return LF_OK;
    *pp = lf_alloc_array(r->N ? r->N : 1, C * sizeof **pp);
    *yy = lf_alloc_array(r->N ? r->N : 1, sizeof **yy);
    if (!*pp || !*yy) { /* NULL again: the callers free both on any status */
        LF_FREE(*pp), LF_FREE(*yy);
        *pp = NULL, *yy = NULL;
        return lf_fail(r->e, LF_ERR_NOMEM, "report: out of memory");
    }
    for (size_t i = 0; i < r->N; i++) {
        if (lf_row_missing(prob, i, C)) continue;
        memcpy(*pp + *n * C, prob + i * C, C * sizeof **pp);
        (*yy)[(*n)++] = r->y[i];
    }
    return LF_OK;
}

/* ------------------------------------------------------- reliability */

/* The figure's subject, who: a model's name, or NULL for the fused output.
 * Its attribute tells them apart even where a model is named "fused":
 * data-model="<name>" or data-fused="true". */
#define FUSED_LABEL "fused output"
static const char *label_of(const char *who) { return who ? who : FUSED_LABEL; }

static void subject_attr(report *r, const char *who) {
    if (!who) {
        put(r, " data-fused=\"true\"");
        return;
    }
    put(r, " data-model=\"");
    esc(r, who);
    put(r, "\"");
}

/* One figure: the reliability diagram (accuracy per confidence bin, the
 * diagonal of perfect calibration, each bin's mean confidence) over the
 * confidence histogram, titled with the ECE. */
static lf_status reliability_figure(report *r, const char *who, const char *stage, const char *caption,
                                    const float *prob) {
    float *pp;
    int *yy;
    size_t n;
    lf_status st = present_rows(r, prob, &pp, &yy, &n);
    if (st != LF_OK) return st;
    lf_reliability rel;
    memset(&rel, 0, sizeof rel);
    if (n && (st = lf_fusion_reliability(pp, yy, n, r->C, &rel)) != LF_OK)
        st = lf_fail(r->e, st, "report: the reliability of %s: %s", label_of(who), lf_status_string(st));
    LF_FREE(pp), LF_FREE(yy);
    if (st != LF_OK) return st;
    put(r, "<figure class=\"reliability\"");
    subject_attr(r, who);
    put(r, " data-stage=\"");
    put(r, stage);
    put(r, "\" data-rows=\"");
    lf_buf_printf(r->b, "%zu", n);
    put(r, "\" data-ece=\"");
    num(r, rel.ece, 6);
    put(r, "\">\n");
    lf_svg_open(r->b, 320, 340, "rel", label_of(who));
    lf_plot p = {55, 12, REL_W, REL_H, 0, 1, 0, 1};
    lf_svg_axes(r->b, &p, 5, 5, 1, 1, NULL, "accuracy");
    double bw = REL_W / LF_RELIABILITY_BINS;
    size_t most = 1;
    for (int i = 0; i < LF_RELIABILITY_BINS; i++) most = rel.count[i] > most ? rel.count[i] : most;
    char extra[160], a[32];
    for (int i = 0; i < LF_RELIABILITY_BINS; i++) {
        if (!rel.count[i]) continue;
        double h = rel.accuracy[i] * REL_H;
        snprintf(extra, sizeof extra, "class=\"rel-bar\" data-bin=\"%d\" data-n=\"%zu\" data-acc=\"%s\"", i,
                 rel.count[i], lf_fmt_fixed(a, rel.accuracy[i], 6));
        lf_svg_rect(r->b, p.left + i * bw + 1, p.top + REL_H - h, bw - 2, h, lf_svg_colour(0), extra);
        double cy = lf_plot_y(&p, rel.confidence[i]);
        lf_svg_line(r->b, p.left + i * bw + 1, cy, p.left + (i + 1) * bw - 1, cy, "conf");
    }
    lf_svg_line(r->b, p.left, p.top + REL_H, p.left + REL_W, p.top, "diag");
    /* the confidence histogram below: rows per bin, as a share of the most */
    double ht = p.top + REL_H + 24;
    lf_svg_rect(r->b, p.left, ht, REL_W, HIST_H, "none", "class=\"frame\"");
    for (int i = 0; i < LF_RELIABILITY_BINS; i++) {
        if (!rel.count[i]) continue;
        double h = HIST_H * (double)rel.count[i] / (double)most;
        snprintf(extra, sizeof extra, "class=\"hist-bar\" data-bin=\"%d\" data-n=\"%zu\"", i, rel.count[i]);
        lf_svg_rect(r->b, p.left + i * bw + 1, ht + HIST_H - h, bw - 2, h, lf_svg_colour(1), extra);
    }
    lf_svg_text(r->b, p.left - 5, ht + 10, "end", "tick", 0, "rows", 0);
    char xl[48];
    lf_svg_text(r->b, p.left, ht + HIST_H + 14, "middle", "tick", 0, "0", 0);
    lf_svg_text(r->b, p.left + REL_W, ht + HIST_H + 14, "middle", "tick", 0, "1", 0);
    snprintf(xl, sizeof xl, "confidence (largest probability)");
    lf_svg_text(r->b, p.left + REL_W / 2, ht + HIST_H + 28, "middle", "label", 0, xl, 0);
    lf_svg_close(r->b);
    put(r, "<figcaption><b>");
    esc(r, label_of(who));
    put(r, "</b> ");
    put(r, caption);
    put(r, "<br>ECE ");
    num(r, rel.ece, 4);
    lf_buf_printf(r->b, " on %zu rows</figcaption></figure>\n", n);
    return LF_OK;
}

/* --------------------------------------------------------- confusion */

/* The C x C matrix drawn as a heatmap (counts, or shares of each row). */
static void matrix_svg(report *r, const char *who, const size_t *cm, int share) {
    size_t C = r->C;
    double cell = C <= 6 ? 44 : C <= 12 ? 30 : 360.0 / (double)C, lab = 100, top = 72;
    double w = lab + cell * (double)C + 70, h = top + cell * (double)C + 34;
    lf_svg_open(r->b, w, h, "cm", label_of(who));
    size_t most = 1;
    for (size_t i = 0; i < C * C; i++) most = cm[i] > most ? cm[i] : most;
    char extra[160], col[8], txt[32];
    for (size_t t = 0; t < C; t++) {
        size_t row = 0;
        for (size_t q = 0; q < C; q++) row += cm[t * C + q];
        lf_svg_text(r->b, lab - 6, top + cell * ((double)t + 0.6), "end", "tick", 0, r->cls[t], 14);
        for (size_t q = 0; q < C; q++) {
            size_t v = cm[t * C + q];
            double s = share ? (row ? (double)v / (double)row : 0) : (double)v / (double)most;
            int dark;
            lf_svg_heat(s, col, &dark);
            snprintf(extra, sizeof extra, "class=\"cell\" data-row=\"%zu\" data-col=\"%zu\" data-count=\"%zu\"", t, q, v);
            lf_svg_rect(r->b, lab + cell * (double)q, top + cell * (double)t, cell, cell, col, extra);
            if (cell >= 22) {
                if (share) lf_fmt_fixed(txt, 100 * s, 0);
                else snprintf(txt, sizeof txt, "%zu", v);
                lf_svg_text(r->b, lab + cell * ((double)q + 0.5), top + cell * ((double)t + 0.5) + 4, "middle",
                            dark ? "cellw" : "cellt", 0, txt, 0);
            }
        }
    }
    for (size_t q = 0; q < C; q++)
        lf_svg_text(r->b, lab + cell * ((double)q + 0.6), top - 6, "start", "tick", -45, r->cls[q], 10);
    lf_svg_text(r->b, lab + cell * (double)C / 2, top + cell * (double)C + 20, "middle", "label", 0,
                share ? "predicted class (% of the row)" : "predicted class (rows)", 0);
    lf_svg_text(r->b, 12, top + cell * (double)C / 2, "middle", "label", -90, "true class", 0);
    lf_svg_close(r->b);
}

static int by_code(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct pair_count {
    uint64_t code;
    size_t n;
} pair_count;

static int by_count(const void *a, const void *b) {
    const pair_count *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return x->code < y->code ? -1 : x->code > y->code;
}

/* The most frequent confusions, counted from the wrong rows alone (no
 * C x C matrix): a table. */
static lf_status top_confusions(report *r, const char *who, const float *pp, const int *yy, size_t n) {
    size_t C = r->C, wrong = 0;
    uint64_t *codes = lf_alloc_array(n ? n : 1, sizeof *codes);
    pair_count *pc = lf_alloc_array(n ? n : 1, sizeof *pc);
    if (!codes || !pc) {
        LF_FREE(codes), LF_FREE(pc);
        return lf_fail(r->e, LF_ERR_NOMEM, "report: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        size_t a = lf_argmax_f(pp + i * C, C);
        if (a != (size_t)yy[i]) codes[wrong++] = (uint64_t)yy[i] * C + a;
    }
    qsort(codes, wrong, sizeof *codes, by_code);
    size_t np = 0;
    for (size_t i = 0; i < wrong; i++) {
        if (!np || pc[np - 1].code != codes[i]) pc[np++] = (pair_count){codes[i], 0};
        pc[np - 1].n++;
    }
    qsort(pc, np, sizeof *pc, by_count);
    put(r, "<figure class=\"confusion-top\"");
    subject_attr(r, who);
    put(r, "><table><tr><th>true class</th><th>predicted as</th><th>rows</th></tr>\n");
    for (size_t i = 0; i < np && i < TOP_CONFUSIONS; i++) {
        put(r, "<tr><td>");
        lf_html_text(r->b, r->cls[pc[i].code / C], 40);
        put(r, "</td><td>");
        lf_html_text(r->b, r->cls[pc[i].code % C], 40);
        lf_buf_printf(r->b, "</td><td>%zu</td></tr>\n", pc[i].n);
    }
    put(r, "</table><figcaption><b>");
    esc(r, label_of(who));
    lf_buf_printf(r->b, "</b>: the %zu most frequent of %zu confusions (%zu wrong of %zu rows); with %zu classes the "
                        "matrix is not drawn</figcaption></figure>\n",
                  np < TOP_CONFUSIONS ? np : (size_t)TOP_CONFUSIONS, np, wrong, n, C);
    LF_FREE(codes), LF_FREE(pc);
    return LF_OK;
}

static lf_status confusion_figures(report *r, const char *who, const float *prob) {
    float *pp;
    int *yy;
    size_t n;
    lf_status st = present_rows(r, prob, &pp, &yy, &n);
    if (st != LF_OK || n == 0) {
        LF_FREE(pp), LF_FREE(yy);
        return st;
    }
    if (r->C > MAX_DRAWN) {
        st = top_confusions(r, who, pp, yy, n);
    } else {
        size_t *cm = lf_alloc_array(r->C * r->C, sizeof *cm);
        st = cm ? lf_fusion_confusion(pp, yy, n, r->C, cm) : LF_ERR_NOMEM;
        if (st == LF_OK) {
            for (int share = 0; share <= 1; share++) {
                put(r, "<figure class=\"confusion\"");
                subject_attr(r, who);
                lf_buf_printf(r->b, " data-kind=\"%s\">\n", share ? "share" : "counts");
                matrix_svg(r, who, cm, share);
                put(r, "<figcaption><b>");
                esc(r, label_of(who));
                lf_buf_printf(r->b, "</b> %s, %zu rows</figcaption></figure>\n", share ? "row-normalised" : "counts", n);
            }
        } else {
            st = lf_fail(r->e, st, "report: the confusion matrix of %s: %s", label_of(who), lf_status_string(st));
        }
        LF_FREE(cm);
    }
    LF_FREE(pp), LF_FREE(yy);
    return st;
}

/* ---------------------------------------------------------- per class */

typedef struct class_row {
    size_t c;
    double f1;
} class_row;

static int by_f1(const void *a, const void *b) {
    const class_row *x = a, *y = b;
    if (x->f1 != y->f1) return x->f1 < y->f1 ? -1 : 1;
    return x->c < y->c ? -1 : x->c > y->c;
}

/* Per class: the fused precision, recall and F1, each model's F1 on its
 * present rows, and the fused F1's gain over the best model's. */
static lf_status per_class_table(report *r, const float *fused, const float *const *p) {
    size_t C = r->C, M = r->M;
    lf_class_score *fs = lf_alloc_array(C, sizeof *fs);
    double *mf1 = lf_alloc_array(M * C + 1, sizeof *mf1);
    class_row *rows = lf_alloc_array(C, sizeof *rows);
    lf_status st = fs && mf1 && rows ? LF_OK : lf_fail(r->e, LF_ERR_NOMEM, "report: out of memory");
    if (st == LF_OK) st = lf_fusion_per_class(fused, r->y, r->N, C, fs);
    for (size_t k = 0; st == LF_OK && k < M; k++) {
        float *pp;
        int *yy;
        size_t n;
        lf_class_score *ms = lf_alloc_array(C, sizeof *ms);
        st = ms ? present_rows(r, p[k], &pp, &yy, &n) : LF_ERR_NOMEM;
        if (st == LF_OK && n) st = lf_fusion_per_class(pp, yy, n, C, ms);
        for (size_t c = 0; st == LF_OK && c < C; c++) mf1[k * C + c] = n ? ms[c].f1 : NAN;
        if (ms) LF_FREE(pp), LF_FREE(yy);
        LF_FREE(ms);
    }
    if (st != LF_OK) {
        LF_FREE(fs), LF_FREE(mf1), LF_FREE(rows);
        return lf_fail(r->e, st, "report: per-class scores: %s", lf_status_string(st));
    }
    for (size_t c = 0; c < C; c++) rows[c] = (class_row){c, fs[c].f1};
    size_t shown = C;
    if (C > MAX_CLASS_ROWS) {
        qsort(rows, C, sizeof *rows, by_f1);
        shown = MAX_CLASS_ROWS;
        lf_buf_printf(r->b, "<p>The %d classes of %zu with the lowest fused F1.</p>\n", MAX_CLASS_ROWS, C);
    }
    put(r, "<table class=\"perclass\"><tr><th>class</th><th>support</th><th>precision</th><th>recall</th><th>F1</th>");
    for (size_t k = 0; k < M; k++) {
        put(r, "<th>F1 ");
        lf_html_text(r->b, r->names[k], 24);
        put(r, "</th>");
    }
    put(r, "<th>fused − best model</th></tr>\n");
    for (size_t i = 0; i < shown; i++) {
        size_t c = rows[i].c;
        double best = NAN;
        for (size_t k = 0; k < M; k++)
            if (!isnan(mf1[k * C + c]) && (isnan(best) || mf1[k * C + c] > best)) best = mf1[k * C + c];
        double gain = fs[c].f1 - best;
        put(r, "<tr><td class=\"name\">");
        lf_html_text(r->b, r->cls[c], 40);
        lf_buf_printf(r->b, "</td><td>%zu</td><td>", fs[c].support);
        num(r, fs[c].precision, 3);
        put(r, "</td><td>");
        num(r, fs[c].recall, 3);
        put(r, "</td><td>");
        num(r, fs[c].f1, 3);
        put(r, "</td>");
        for (size_t k = 0; k < M; k++) {
            put(r, "<td>");
            if (isnan(mf1[k * C + c])) put(r, "–");
            else num(r, mf1[k * C + c], 3);
            put(r, "</td>");
        }
        put(r, isnan(gain) ? "<td>" : gain > 0.0005 ? "<td class=\"gain\">+" : gain < -0.0005 ? "<td class=\"loss\">" : "<td>");
        if (isnan(gain)) put(r, "–");
        else num(r, gain, 3);
        put(r, "</td></tr>\n");
    }
    put(r, "</table>\n");
    LF_FREE(fs), LF_FREE(mf1), LF_FREE(rows);
    return LF_OK;
}

/* ------------------------------------------------------------ bar charts */

/* Horizontal bars of n labelled values in [0, vmax], with optional
 * whiskers (± err); bar `mark` (or none: n) in the darker colour; `cls`
 * names the figure for the tests. */
static void hbars(report *r, const char *cls, const char *title, const char *const *labels, const double *v,
                  const double *err, size_t n, double vmax, const char *xlabel, int decimals, size_t mark) {
    double rowh = 22, lab = 170, w = 560, pw = w - lab - 60;
    lf_buf_printf(r->b, "<figure class=\"%s\">\n", cls);
    lf_svg_open(r->b, w, 10 + rowh * (double)n + 44, "bars", title);
    lf_plot p = {lab, 10, pw, rowh * (double)n, 0, vmax, 0, 1};
    lf_svg_axes(r->b, &p, 5, 0, decimals > 2 ? 2 : decimals, 0, xlabel, NULL);
    char extra[96], t[32];
    for (size_t i = 0; i < n; i++) {
        double y = p.top + rowh * (double)i + 3, x1 = lf_plot_x(&p, isnan(v[i]) ? 0 : v[i] < 0 ? 0 : v[i]);
        snprintf(extra, sizeof extra, "class=\"bar\" data-value=\"%s\"", lf_fmt_fixed(t, v[i], 6));
        lf_svg_rect(r->b, p.left, y, x1 - p.left, rowh - 6, lf_svg_colour(i == mark ? 0 : 5), extra);
        if (err && !isnan(err[i]) && err[i] > 0) {
            double lo = lf_plot_x(&p, v[i] - err[i] < 0 ? 0 : v[i] - err[i]), hi = lf_plot_x(&p, v[i] + err[i] > vmax ? vmax : v[i] + err[i]);
            lf_svg_line(r->b, lo, y + (rowh - 6) / 2, hi, y + (rowh - 6) / 2, "whisker");
        }
        lf_svg_text(r->b, p.left - 6, y + rowh / 2 + 1, "end", "tick", 0, labels[i], 26);
        lf_svg_text(r->b, x1 + 4, y + rowh / 2 + 1, "start", "tick", 0, lf_fmt_fixed(t, v[i], decimals), 0);
    }
    lf_svg_close(r->b);
    put(r, "<figcaption>");
    put(r, title);
    put(r, "</figcaption></figure>\n");
}

/* ------------------------------------------------------------- sections */

/* chosen: the table's row of what the page shows, or NULL */
static void compare_section(report *r, const lf_compare_table *t, const lf_score_row *chosen) {
    static const char *const head[LF_NUM_METRICS] = {"accuracy", "macro-F1", "log-loss", "Brier", "ECE"};
    put(r, "<h2 id=\"compare\">Methods compared</h2>\n<p>Cross-validated: every method fitted on the other folds and "
           "scored on the held-out one; mean ± standard deviation over the folds, best log-loss first. Single models "
           "score a missing output as the uniform distribution; the oracle is right where any model is.</p>\n");
    put(r, "<table class=\"compare\"><tr><th>#</th><th>method</th>");
    for (int j = 0; j < LF_NUM_METRICS; j++) lf_buf_printf(r->b, "<th>%s</th>", head[j]);
    put(r, "</tr>\n");
    for (size_t i = 0; i < t->n_rows; i++) {
        const lf_score_row *row = &t->rows[i];
        const char *cls = row->kind == LF_ROW_MODEL ? "model" : row->kind == LF_ROW_ORACLE ? "oracle" : "method";
        int mine = row == chosen;
        lf_buf_printf(r->b, "<tr class=\"%s%s\"><td>%zu</td><td class=\"name\">", cls, mine ? " chosen" : "", i + 1);
        esc(r, row->name);
        put(r, "</td>");
        for (int j = 0; j < LF_NUM_METRICS; j++) {
            put(r, "<td>");
            mean_std(r, row->mean[j], row->std[j], j == LF_METRIC_LOG_LOSS ? 4 : 3);
            put(r, "</td>");
        }
        put(r, "</tr>\n");
    }
    put(r, "</table>\n");
    /* accuracy, best first as the table, at most 16 bars */
    size_t n = t->n_rows < 16 ? t->n_rows : 16;
    const char *labels[16];
    double v[16], s[16];
    for (size_t i = 0; i < n; i++)
        labels[i] = t->rows[i].name, v[i] = t->rows[i].mean[LF_METRIC_ACCURACY], s[i] = t->rows[i].std[LF_METRIC_ACCURACY];
    size_t mark = n;
    for (size_t i = 0; i < n; i++)
        if (&t->rows[i] == chosen) mark = i;
    hbars(r, "compare-bars", "Accuracy (mean ± std over folds) of the first rows of the table", labels, v, s, n, 1,
          "accuracy", 3, mark);
}

static void weights_section(report *r, const lf_fusion *fit) {
    put(r, "<h2 id=\"weights\">Learned weights</h2>\n");
    size_t rows = 0, cols = 0, n = lf_fusion_weights(fit, NULL, 0, &rows, &cols);
    lf_method m = lf_fusion_method(fit);
    const char *mname = lf_method_name(m);
    int log_linear = 0;
    size_t members = lf_fusion_ensemble_member(fit, 0, NULL, NULL, NULL, &log_linear);
    if (members) { /* auto's ensemble: its members' weights */
        char names[LF_ENSEMBLE_MAX][100], title[160];
        const char *labels[LF_ENSEMBLE_MAX];
        double v[LF_ENSEMBLE_MAX];
        for (size_t i = 0; i < members && i < LF_ENSEMBLE_MAX; i++) {
            lf_method mm;
            int cal;
            lf_fusion_ensemble_member(fit, i, &mm, &cal, &v[i], NULL);
            snprintf(names[i], sizeof names[i], "%s%s", lf_method_name(mm), cal ? " +calibrate" : "");
            labels[i] = names[i];
        }
        snprintf(title, sizeof title, "auto's ensemble: the weight of each member in the %s pool of their outputs",
                 log_linear ? "log-linear" : "linear");
        hbars(r, "weights", title, labels, v, NULL, members, 1, "weight", 3, members);
        return;
    }
    if (n == 0) {
        put(r, "<p>");
        esc(r, mname);
        put(r, " has no weights over models.</p>\n");
        return;
    }
    float *w = lf_alloc_array(n, sizeof *w);
    double *v = lf_alloc_array(rows, sizeof *v);
    if (!w || !v || lf_fusion_weights(fit, w, n, NULL, NULL) != n) {
        if (!w || !v) r->oom = 1;
        LF_FREE(w), LF_FREE(v);
        put(r, "<p>The weights could not be read.</p>\n");
        return;
    }
    char title[160];
    if (m == LF_FUSE_GES || m == LF_FUSE_GES_LOG) {
        /* ges's state is its selection counts (selection.c) */
        const float *counts = fit->state;
        double total = 0;
        for (size_t k = 0; k < rows; k++) total += v[k] = counts[k];
        snprintf(title, sizeof title, "%s: how often each model was selected (%.0f selections, with replacement)",
                 mname, total);
        hbars(r, "weights", title, r->names, v, NULL, rows, total > 0 ? total : 1, "selections", 0, rows);
    } else if (cols == 1) {
        for (size_t k = 0; k < rows; k++) v[k] = w[k];
        snprintf(title, sizeof title, "%s: weight of each model (they sum to 1)", mname);
        hbars(r, "weights", title, r->names, v, NULL, rows, 1, "weight", 3, rows);
    } else if (r->C <= MAX_DRAWN) {
        /* model x class heatmap */
        double cell = r->C <= 12 ? 40 : 24, lab = 130, top = 64;
        put(r, "<figure class=\"weights-heatmap\">\n");
        lf_svg_open(r->b, lab + cell * (double)r->C + 20, top + cell * (double)rows + 40, "heat", "weights per model and class");
        char col[8], txt[32], extra[128];
        for (size_t k = 0; k < rows; k++) {
            lf_svg_text(r->b, lab - 6, top + cell * ((double)k + 0.6), "end", "tick", 0, r->names[k], 18);
            for (size_t c = 0; c < r->C; c++) {
                double x = w[k * r->C + c];
                int dark;
                lf_svg_heat(x, col, &dark);
                snprintf(extra, sizeof extra, "class=\"cell\" data-row=\"%zu\" data-col=\"%zu\" data-value=\"%s\"", k, c,
                         lf_fmt_fixed(txt, x, 6));
                lf_svg_rect(r->b, lab + cell * (double)c, top + cell * (double)k, cell, cell, col, extra);
                if (cell >= 40)
                    lf_svg_text(r->b, lab + cell * ((double)c + 0.5), top + cell * ((double)k + 0.5) + 4, "middle",
                                dark ? "cellw" : "cellt", 0, lf_fmt_fixed(txt, x, 2), 0);
            }
        }
        for (size_t c = 0; c < r->C; c++)
            lf_svg_text(r->b, lab + cell * ((double)c + 0.6), top - 6, "start", "tick", -45, r->cls[c], 14);
        lf_svg_text(r->b, lab + cell * (double)r->C / 2, top + cell * (double)rows + 24, "middle", "label", 0,
                    "class (weights of each class sum to 1 over the models)", 0);
        lf_svg_close(r->b);
        put(r, "<figcaption>");
        esc(r, mname);
        put(r, ": weight of each model for each class</figcaption></figure>\n");
    } else {
        for (size_t k = 0; k < rows; k++) {
            double s = 0;
            for (size_t c = 0; c < cols; c++) s += w[k * cols + c];
            v[k] = s / (double)cols;
        }
        snprintf(title, sizeof title, "%s: each model's weight, averaged over the %zu classes", mname, cols);
        hbars(r, "weights", title, r->names, v, NULL, rows, 1, "mean weight", 3, rows);
    }
    LF_FREE(w), LF_FREE(v);
}

static void history_section(report *r, const lf_fusion *fit, int loaded) {
    put(r, "<h2 id=\"training\">Training curves</h2>\n");
    const lf_history *h = lf_fusion_history(fit);
    lf_method m = lf_fusion_method(fit);
    if (!h) {
        put(r, "<p>");
        esc(r, lf_method_name(m));
        put(r, lf_method_family(m) == LF_FAMILY_LEARNED && loaded
                   ? " was read from a fusion file that holds no training history (one written before latefuse "
                     "kept it).</p>\n"
                   : " trains no network: there is no training curve.</p>\n");
        return;
    }
    double *x = lf_alloc_array(h->epochs, sizeof *x), hi = 0;
    if (!x) {
        r->oom = 1;
        return;
    }
    for (size_t i = 0; i < h->epochs; i++) {
        x[i] = (double)(i + 1);
        if (h->loss[i] > hi) hi = h->loss[i];
        if (h->val_loss && h->val_loss[i] > hi) hi = h->val_loss[i];
    }
    put(r, "<figure class=\"history\">\n");
    lf_svg_open(r->b, 560, 300, "curves", "training and validation loss");
    lf_plot p = {70, 14, 440, 220, 1, (double)(h->epochs > 1 ? h->epochs : 2), 0, hi > 0 ? hi * 1.05 : 1};
    lf_svg_axes(r->b, &p, 5, 4, 0, 3, "epoch", "loss (cross-entropy)");
    lf_svg_polyline(r->b, &p, x, h->loss, h->epochs, lf_svg_colour(0), 0);
    if (h->val_loss) lf_svg_polyline(r->b, &p, x, h->val_loss, h->epochs, lf_svg_colour(3), 1);
    lf_svg_rect(r->b, p.left + p.width - 150, p.top + 8, 14, 4, lf_svg_colour(0), NULL);
    lf_svg_text(r->b, p.left + p.width - 130, p.top + 14, "start", "tick", 0, "training loss", 0);
    lf_svg_rect(r->b, p.left + p.width - 150, p.top + 24, 14, 4, lf_svg_colour(3), NULL);
    lf_svg_text(r->b, p.left + p.width - 130, p.top + 30, "start", "tick", 0, "validation loss", 0);
    lf_svg_close(r->b);
    put(r, "<figcaption>");
    esc(r, lf_method_name(m));
    lf_buf_printf(r->b, ": %zu epochs, best epoch %zu%s</figcaption></figure>\n", h->epochs, h->best_epoch + 1,
                  h->stopped_early ? ", stopped early" : "");
    LF_FREE(x);
}

static void lomo_section(report *r, const lf_score_row *row, const lf_fusion *fit) {
    put(r, "<h2 id=\"lomo\">What each model is worth</h2>\n");
    size_t M = r->M;
    const char **labels = lf_alloc_array(M + 1, sizeof *labels);
    char (*text)[96] = lf_alloc_array(M + 1, sizeof *text);
    double *v = lf_alloc_array(M + 1, sizeof *v);
    if (!labels || !text || !v) {
        r->oom = 1;
        goto done;
    }
    if (row && row->acc_without) {
        labels[0] = "every model", v[0] = row->mean[LF_METRIC_ACCURACY];
        for (size_t k = 0; k < M; k++) {
            snprintf(text[k], sizeof text[k], "without %s", r->names[k]);
            labels[k + 1] = text[k], v[k + 1] = row->acc_without[k];
        }
        char title[256];
        snprintf(title, sizeof title, "%s%s: cross-validated accuracy with every model, and with each model missing "
                                      "in every row (leave one model out)", row->name, row->calibrated ? " +calibrate" : "");
        hbars(r, "lomo", title, labels, v, NULL, M + 1, 1, "accuracy", 3, 0);
    } else {
        double ll[65], acc[65];
        if (M + 1 <= 65 && lf_fusion_importance(fit, ll, acc, M + 1) == M + 1) {
            labels[0] = "every model", v[0] = acc[0];
            for (size_t k = 0; k < M; k++) {
                snprintf(text[k], sizeof text[k], "without %s", r->names[k]);
                labels[k + 1] = text[k], v[k + 1] = acc[k + 1];
            }
            hbars(r, "lomo", "Accuracy on the rows the fusion model was fitted on, with every model and with each "
                             "missing (stored in the fusion file; in-sample)", labels, v, NULL, M + 1, 1, "accuracy", 3, 0);
        } else {
            put(r, "<p>Not measured for this fusion model.</p>\n");
        }
    }
done:
    LF_FREE(labels), LF_FREE(text), LF_FREE(v);
}

static void data_section(report *r, const float *const *p, const char *command) {
    size_t M = r->M, N = r->N, C = r->C, none = 0;
    put(r, "<h2 id=\"data\">Data</h2>\n<table class=\"data\"><tr><th>model</th><th>rows present</th><th>rows "
           "missing</th></tr>\n");
    for (size_t k = 0; k < M; k++) {
        size_t miss = 0;
        for (size_t i = 0; i < N; i++) miss += !p[k] || lf_row_missing(p[k], i, C);
        put(r, "<tr><td class=\"name\">");
        esc(r, r->names[k]);
        lf_buf_printf(r->b, "</td><td>%zu</td><td>%zu</td></tr>\n", N - miss, miss);
    }
    for (size_t i = 0; i < N; i++) {
        size_t k = 0;
        while (k < M && (!p[k] || lf_row_missing(p[k], i, C))) k++;
        none += k == M;
    }
    lf_buf_printf(r->b, "</table>\n<p>%zu rows, %zu classes, %zu models; %zu rows have no model present (fused as the "
                        "uniform distribution).</p>\n", N, C, M, none);
    size_t *count = lf_alloc_array(C, sizeof *count);
    double *v = lf_alloc_array(C, sizeof *v);
    if (!count || !v) r->oom = 1;
    if (count && v) {
        for (size_t i = 0; i < N; i++) count[r->y[i]]++;
        if (C <= MAX_DRAWN) {
            size_t most = 1;
            for (size_t c = 0; c < C; c++) most = count[c] > most ? count[c] : most;
            for (size_t c = 0; c < C; c++) v[c] = (double)count[c];
            hbars(r, "classes", "Rows per class (the labels)", r->cls, v, NULL, C, (double)most, "rows", 0, C);
        } else {
            size_t lo = (size_t)-1, hi = 0;
            for (size_t c = 0; c < C; c++) lo = count[c] < lo ? count[c] : lo, hi = count[c] > hi ? count[c] : hi;
            lf_buf_printf(r->b, "<p>Rows per class: from %zu to %zu.</p>\n", lo, hi);
        }
    }
    LF_FREE(count), LF_FREE(v);
    put(r, "<h2 id=\"command\">Command</h2>\n<pre class=\"command\">");
    esc(r, command ? command : "(not given)");
    put(r, "</pre>\n");
}

static const char CSS[] =
    "<style>\n"
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1a1a1a;"
    "background:#fff;margin:24px auto;max-width:1180px;padding:0 16px}\n"
    "h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:28px 0 8px;border-bottom:1px solid #ccc;padding-bottom:3px}\n"
    "h3{font-size:16px;margin:16px 0 6px}p.lead{color:#444;margin-top:0}\n"
    "table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}\n"
    "th,td{border-bottom:1px solid #e3e3e3;padding:3px 9px;text-align:right}th{background:#f3f3f3}\n"
    "td.name,th:nth-child(2){text-align:left}tr.model td{color:#555}tr.oracle td{color:#888;font-style:italic}\n"
    "tr.chosen td{background:#e6f1fa;font-weight:600}td.gain{color:#0b6e4f;font-weight:600}td.loss{color:#b34700;"
    "font-weight:600}\n"
    ".grid{display:flex;flex-wrap:wrap;gap:14px}figure{margin:0;break-inside:avoid}\n"
    "figcaption{font-size:13px;color:#333;max-width:560px}\n"
    "svg text{font-family:inherit}svg .tick{font-size:11px;fill:#333}svg .label{font-size:12px;fill:#111}\n"
    "svg .cellt{font-size:11px;fill:#111}svg .cellw{font-size:11px;fill:#fff}\n"
    "svg .grid{stroke:#e6e6e6}svg .axis{stroke:#555}svg .frame{stroke:#555}svg .whisker{stroke:#222;stroke-width:2}\n"
    "svg .diag{stroke:#555;stroke-dasharray:5 4}svg .conf{stroke:#D55E00;stroke-width:2.5}\n"
    "pre.command{background:#f6f6f6;padding:8px;white-space:pre-wrap;word-break:break-all}\n"
    ".legend{font-size:13px;color:#333}\n"
    "@media print{body{margin:0;max-width:none}h2{break-after:avoid}}\n"
    "</style>\n";

/* ---------------------------------------------------------------- page */

lf_report_options lf_report_defaults(void) {
    lf_report_options o;
    memset(&o, 0, sizeof o);
    o.fusion = lf_fusion_defaults();
    return o;
}

/* The fused outputs the page shows: the fitted model's on these rows, or
 * the best method's out-of-fold outputs without and with calibration and
 * the method fitted on every row. */
typedef struct fused {
    float *main, *before, *after;
    lf_fusion *own;          /* fitted here (no opt->fitted), or NULL */
    const lf_fusion *fit;    /* what the weights and curves come from */
    const char *method;
    const lf_score_row *row; /* the table's row of the same method and
                                calibration, or NULL */
} fused;

static lf_status fuse(report *r, lf_fusion *f, const float *const *p, const lf_report_options *o,
                      const lf_compare_table *t, fused *fz) {
    size_t NC = r->N * r->C;
    memset(fz, 0, sizeof *fz);
    lf_fusion_options fo = o->fusion;
    fo.progress = NULL;
    if (o->fitted) {
        fz->fit = o->fitted;
        fz->method = lf_method_name(lf_fusion_method(o->fitted));
        /* its cross-validated counterpart, calibrated as it was fitted (a
         * row of another calibration scores another model) */
        for (size_t i = 0; !fz->row && i < t->n_rows; i++)
            if (t->rows[i].kind == LF_ROW_METHOD && t->rows[i].method == lf_fusion_method(o->fitted) &&
                !t->rows[i].calibrated == !lf_fusion_calibrated(o->fitted))
                fz->row = &t->rows[i];
        if (!(fz->main = lf_alloc_array(NC, sizeof(float)))) return lf_fail(&f->err, LF_ERR_NOMEM, "report: out of memory");
        char why[256];
        /* a model fitted with features (dynamic selection's region of
         * competence) is given the rows' features of o->fusion */
        int feat = lf_fusion_n_features(o->fitted) > 0;
        lf_status st = lf_fusion_predict_features(o->fitted, p, r->N, feat ? o->fusion.features : NULL,
                                                  feat ? o->fusion.n_features : 0, fz->main, why, sizeof why);
        return st ? lf_fail(&f->err, st, "report: the fusion model's prediction failed (%s)", why) : LF_OK;
    }
    const lf_score_row *best = NULL;
    for (size_t i = 0; !best && i < t->n_rows; i++)
        if (t->rows[i].kind == LF_ROW_METHOD && !isnan(t->rows[i].mean[LF_METRIC_LOG_LOSS])) best = &t->rows[i];
    if (!best) return lf_fail(&f->err, LF_ERR_NUMERIC, "report: no method has a finite cross-validated log-loss");
    fz->method = lf_method_name(best->method);
    fz->row = best;
    fz->before = lf_alloc_array(NC, sizeof(float));
    fz->after = lf_alloc_array(NC, sizeof(float));
    if (!fz->before || !fz->after) return lf_fail(&f->err, LF_ERR_NOMEM, "report: out of memory");
    lf_status st = lf_cv_outputs(&f->err, p, r->names, r->M, r->N, r->C, r->y, &fo, best->method, -1, 0, fz->before);
    if (st == LF_OK)
        st = lf_cv_outputs(&f->err, p, r->names, r->M, r->N, r->C, r->y, &fo, best->method, -1, 1, fz->after);
    if (st != LF_OK) return st;
    fz->main = fo.calibrate ? fz->after : fz->before;
    if ((st = lf_fusion_create(&fz->own)) != LF_OK) return lf_fail(&f->err, st, "report: out of memory");
    fo.method = best->method;
    if (!lf_method_def_of(best->method)->takes_features) fo.features = NULL, fo.n_features = 0;
    st = lf_fusion_fit(fz->own, p, r->names, r->M, r->N, r->C, r->y, &fo);
    if (st != LF_OK) return lf_fail(&f->err, st, "report: fitting %s: %s", fz->method, lf_fusion_error(fz->own));
    fz->fit = fz->own;
    return LF_OK;
}

static void fused_free(fused *fz) {
    if (fz->main != fz->before && fz->main != fz->after) LF_FREE(fz->main);
    LF_FREE(fz->before), LF_FREE(fz->after);
    lf_fusion_free(fz->own);
}

/* p: the outputs as given (the library's calls take logits as they come);
 * shown: the same as probabilities, what the diagrams and matrices show */
static lf_status body(report *r, lf_fusion *f, const float *const *p, const float *const *shown,
                      const lf_report_options *o, const lf_compare_table *t, fused *fz) {
    lf_status st = LF_OK;
    size_t M = r->M;
    double m[LF_NUM_METRICS];
    if ((st = lf_fusion_metrics(fz->main, r->y, r->N, r->C, m)) != LF_OK)
        return lf_fail(&f->err, st, "report: scoring the fused output: %s", lf_status_string(st));
    put(r, "<p class=\"lead\">");
    lf_buf_printf(r->b, "%zu rows, %zu classes, %zu models. Fused by <b>", r->N, r->C, M);
    esc(r, fz->method);
    put(r, o->fitted ? "</b> (the fusion model given, on these rows)"
                     : "</b> (the best of the table; its out-of-fold outputs below, here pooled over the folds, "
                       "where the table gives the mean of the folds' scores)");
    put(r, ": accuracy ");
    num(r, m[LF_METRIC_ACCURACY], 4);
    put(r, ", log-loss ");
    num(r, m[LF_METRIC_LOG_LOSS], 4);
    put(r, ", ECE ");
    num(r, m[LF_METRIC_ECE], 4);
    put(r, ".</p>\n<p class=\"legend\">Sections: <a href=\"#compare\">methods</a> · <a href=\"#calibration\">"
           "calibration</a> · <a href=\"#confusion\">confusion</a> · <a href=\"#perclass\">per class</a> · "
           "<a href=\"#weights\">weights</a> · <a href=\"#training\">training</a> · <a href=\"#lomo\">each model's "
           "worth</a> · <a href=\"#data\">data</a></p>\n");
    compare_section(r, t, fz->row);

    put(r, "<h2 id=\"calibration\">Calibration</h2>\n<p class=\"legend\">Blue bars: accuracy of the rows in each "
           "confidence bin (15 bins); orange ticks: their mean confidence; dashed: perfect calibration. Below: how "
           "many rows fall in each bin. ECE: the rows-weighted gap between accuracy and confidence.</p>\n");
    put(r, "<h3>Before calibration</h3>\n<div class=\"grid\">\n");
    for (size_t k = 0; st == LF_OK && k < M; k++)
        st = reliability_figure(r, r->names[k], "before", "as given", shown[k]);
    if (st == LF_OK && o->fitted)
        st = reliability_figure(r, NULL, "fitted", lf_fusion_calibrated(o->fitted)
                                                          ? "the fusion model's output (its models calibrated)"
                                                          : "the fusion model's output",
                                fz->main);
    else if (st == LF_OK)
        st = reliability_figure(r, NULL, "before", "out-of-fold, models not calibrated", fz->before);
    put(r, "</div>\n<h3>After calibration (one temperature per model, fitted on the other folds)</h3>\n<div class=\"grid\">\n");
    for (size_t k = 0; st == LF_OK && k < M; k++) {
        float *cal = lf_alloc_array(r->N * r->C, sizeof *cal);
        if (!cal) st = lf_fail(&f->err, LF_ERR_NOMEM, "report: out of memory");
        lf_fusion_options fo = o->fusion;
        if (st == LF_OK && p[k])
            st = lf_cv_outputs(&f->err, p, r->names, M, r->N, r->C, r->y, &fo, LF_FUSE_MEAN, (long)k, 1, cal);
        if (st == LF_OK) st = reliability_figure(r, r->names[k], "after", "temperature-scaled", p[k] ? cal : NULL);
        LF_FREE(cal);
    }
    if (st == LF_OK && !o->fitted)
        st = reliability_figure(r, NULL, "after", "out-of-fold, models calibrated first", fz->after);
    put(r, "</div>\n");
    if (st != LF_OK) return st;

    put(r, "<h2 id=\"confusion\">Confusion matrices</h2>\n<p class=\"legend\">Rows: true class; columns: predicted "
           "class; each model on the rows where it is present, fused on every row.</p>\n<div class=\"grid\">\n");
    for (size_t k = 0; st == LF_OK && k < M; k++) st = confusion_figures(r, r->names[k], shown[k]);
    if (st == LF_OK) st = confusion_figures(r, NULL, fz->main);
    put(r, "</div>\n<h2 id=\"perclass\">Per class</h2>\n<p class=\"legend\">Precision, recall and F1 of the fused "
           "output; F1 of each model on its present rows; the last column is where fusion helps (green) or hurts "
           "(orange) against the best single model.</p>\n");
    if (st == LF_OK) st = per_class_table(r, fz->main, shown);
    if (st != LF_OK) return st;
    weights_section(r, fz->fit);
    history_section(r, fz->fit, o->fitted != NULL);
    lomo_section(r, fz->row, fz->fit);
    data_section(r, shown, o->command);
    return r->b->failed || r->oom ? lf_fail(&f->err, LF_ERR_NOMEM, "report: out of memory") : LF_OK;
}

static lf_status fusion_report(lf_fusion *f, const float *const *p, const char *const *names, size_t M, size_t N,
                               size_t C, const int *y, const lf_report_options *opt, const char *path,
                               unsigned flags) {
    if (!f) return LF_ERR_ARG;
    lf_report_options o = opt ? *opt : lf_report_defaults();
    if (!path) return lf_fail(&f->err, LF_ERR_ARG, "report: no output path given");
    if (flags & ~(unsigned)LF_WRITE_NO_FSYNC)
        return lf_fail(&f->err, LF_ERR_ARG, "report: unknown flags 0x%x", flags & ~(unsigned)LF_WRITE_NO_FSYNC);
    if (o.fitted) o.fusion.logits = lf_fusion_logits(o.fitted); /* its inputs, as it was fitted */
    lf_fusion_options chk = o.fusion;
    chk.method = LF_FUSE_AUTO; /* any method: features are checked, for those that take them */
    lf_status st = lf_fusion_check(&f->err, p, names, M, N, C, y, &chk);
    if (st != LF_OK) return st;
    if (o.fitted) {
        int same = lf_fusion_num_models(o.fitted) == M && lf_fusion_num_classes(o.fitted) == C;
        for (size_t k = 0; same && k < M; k++) same = strcmp(lf_fusion_model_name(o.fitted, k), names[k]) == 0;
        if (!same)
            return lf_fail(&f->err, LF_ERR_ARG, "report: the fusion model's models and classes (%zu, %zu) are not "
                           "the outputs given (%zu models in its order, %zu classes)",
                           lf_fusion_num_models(o.fitted), lf_fusion_num_classes(o.fitted), M, C);
    }
    char msg[128];
    for (size_t c = 0; o.class_names && c < C; c++)
        if (lf_class_name_check(o.class_names[c], o.class_names[c] ? strlen(o.class_names[c]) : 0, c, msg, sizeof msg))
            return lf_fail(&f->err, LF_ERR_ARG, "report: %s", msg);
    size_t same1, same2; /* two classes of one name could not be told apart on the page */
    st = o.class_names ? lf_class_names_distinct(o.class_names, C, &same1, &same2) : LF_OK;
    if (st == LF_ERR_NOMEM) return lf_fail(&f->err, st, "report: out of memory for %zu class names", C);
    if (st != LF_OK)
        return lf_fail(&f->err, LF_ERR_ARG, "report: class names %zu and %zu are the same: each class needs its own",
                       same1 + 1, same2 + 1);
    lf_buf b;
    lf_buf_init(&b);
    report r = {&b, &f->err, M, N, C, y, names, NULL, NULL, 0};
    r.cls = lf_alloc_array(C, sizeof *r.cls);
    r.numbers = lf_alloc_array(C, sizeof *r.numbers);
    if (!r.cls || !r.numbers) {
        LF_FREE(r.cls), LF_FREE(r.numbers);
        return lf_fail(&f->err, LF_ERR_NOMEM, "report: out of memory for %zu classes", C);
    }
    for (size_t c = 0; c < C; c++) {
        const char *given = o.class_names ? o.class_names[c] : lf_fusion_class_name(o.fitted, c);
        snprintf(r.numbers[c], sizeof r.numbers[c], "%zu", c);
        r.cls[c] = given ? given : r.numbers[c];
    }
    lf_compare_table *t = NULL;
    fused fz;
    memset(&fz, 0, sizeof fz);
    /* raw scores are shown as the probabilities their softmax gives */
    lf_probs probs;
    memset(&probs, 0, sizeof probs);
    const float *const *shown = p;
    if (o.fusion.logits && (st = lf_probs_prepare(&f->err, p, M, C, 1, NULL, NULL, N, &probs)) == LF_OK)
        shown = (const float *const *)probs.p;
    /* the caller's cancel flag (o.fusion.cancel): read by compare's units,
     * the cross-validated outputs' folds and the fit, and here between the
     * parts and before the page is written (with ranks: only where they
     * agree on it, in compare's units and a data-parallel fit's steps) */
    const volatile int *cancel = o.fusion.mpi_comm ? NULL : o.fusion.cancel;
    if (st == LF_OK) st = lf_fusion_compare(f, p, names, M, N, C, y, o.methods, o.n_methods, &o.fusion, &t);
    if (st == LF_OK) st = fuse(&r, f, p, &o, t, &fz);
    if (st == LF_OK && lf_cancelled(cancel)) st = lf_cancel_fail(&f->err);
    if (st == LF_OK) {
        const char *title = o.title ? o.title : "latefuse report";
        lf_buf_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<meta "
                        "http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src "
                        "'unsafe-inline'\">\n<meta name=\"generator\" content=\"latefuse " LF_VERSION "\">\n<title>");
        lf_html_text(&b, title, 200);
        lf_buf_puts(&b, "</title>\n");
        lf_buf_puts(&b, CSS);
        lf_buf_puts(&b, "</head><body>\n<h1>");
        lf_html_text(&b, title, 200);
        lf_buf_puts(&b, "</h1>\n");
        st = body(&r, f, p, shown, &o, t, &fz);
        lf_buf_puts(&b, "</body></html>\n");
    }
    if (st == LF_OK && lf_cancelled(cancel)) st = lf_cancel_fail(&f->err);
    if (st == LF_OK) st = lf_text_save(path, &b, flags, o.temp, o.temp_ctx, &f->err);
    if (st == LF_ERR_CANCELLED) lf_cancel_fail(&f->err); /* "cancelled", not "report: fitting mlp: ..." */
    fused_free(&fz);
    lf_probs_free(&probs);
    lf_compare_table_free(t);
    lf_buf_free(&b);
    LF_FREE(r.cls), LF_FREE(r.numbers);
    return st;
}

lf_status lf_fusion_report(lf_fusion *f, const float *const *p, const char *const *names, size_t M, size_t N,
                           size_t C, const int *y, const lf_report_options *opt, const char *path,
                           unsigned flags) {
    int saved = lf_threads_push(opt ? opt->fusion.threads : 0);
    lf_status st = fusion_report(f, p, names, M, N, C, y, opt, path, flags);
    lf_threads_pop(saved);
    return st;
}
