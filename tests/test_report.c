/*
 * test_report.c — what the report draws, as numbers and as text: the
 * confusion matrix, per-class scores and reliability bins against a case
 * worked by hand; the ECE of the bins against lf_fusion_metrics'; class
 * names (rules, messages, the fusion file, the name files and CSV headers);
 * the history written as CSV and JSON byte for byte; the HTML escaping and
 * number formatting of svg.c; and lf_fusion_report's page: one reliability
 * diagram per model and fused, bin heights equal to the computed bins,
 * hostile class names escaped, a 10 000-class report bounded.
 */
#include "check.h"
#include "temp_events.h"
#include "report/report.h"
#include "report/svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


#define CHECK_NEAR(got, want, tol)                                                      \
    CHECK(fabs((double)(got) - (double)(want)) <= (tol), "%s = %.12g, want %.12g", #got, \
          (double)(got), (double)(want))

/* six rows, three classes; bins by the largest probability */
static const float P[18] = {
    0.9f, 0.05f, 0.05f, /* y 0, pred 0, right, bin 13 */
    0.9f, 0.05f, 0.05f, /* y 1, pred 0, wrong, bin 13 */
    0.2f, 0.7f, 0.1f,   /* y 1, pred 1, right, bin 10 */
    0.1f, 0.2f, 0.7f,   /* y 2, pred 2, right, bin 10 */
    0.5f, 0.3f, 0.2f,   /* y 2, pred 0, wrong, bin 7  */
    0.45f, 0.45f, 0.1f, /* y 1, pred 0 (tie: lowest), wrong, bin 6 */
};
static const int Y[6] = {0, 1, 1, 2, 2, 1};

static char tmpdir[64];

static const char *tmp_path(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", tmpdir, name);
    return buf;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (s) s[n] = '\0';
    fclose(f);
    if (len) *len = (size_t)n;
    return s;
}

static void spit(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static size_t count(const char *s, const char *what) {
    size_t n = 0, w = strlen(what);
    for (const char *p = strstr(s, what); p; p = strstr(p + w, what)) n++;
    return n;
}

static void test_per_class(void) {
    size_t cm[9];
    CHECK(lf_fusion_confusion(P, Y, 6, 3, cm) == LF_OK, "confusion");
    static const size_t want[9] = {1, 0, 0, 2, 1, 0, 1, 0, 1};
    CHECK(memcmp(cm, want, sizeof want) == 0, "confusion %zu %zu %zu / %zu %zu %zu / %zu %zu %zu", cm[0], cm[1],
          cm[2], cm[3], cm[4], cm[5], cm[6], cm[7], cm[8]);
    lf_class_score s[3];
    CHECK(lf_fusion_per_class(P, Y, 6, 3, s) == LF_OK, "per class");
    CHECK(s[0].support == 1 && s[0].predicted == 4 && s[1].support == 3 && s[1].predicted == 1 &&
              s[2].support == 2 && s[2].predicted == 1,
          "supports and predictions");
    CHECK_NEAR(s[0].precision, 0.25, 1e-15);
    CHECK_NEAR(s[0].recall, 1.0, 1e-15);
    CHECK_NEAR(s[0].f1, 0.4, 1e-15);
    CHECK_NEAR(s[1].precision, 1.0, 1e-15);
    CHECK_NEAR(s[1].recall, 1.0 / 3, 1e-15);
    CHECK_NEAR(s[1].f1, 0.5, 1e-15);
    CHECK_NEAR(s[2].recall, 0.5, 1e-15);
    CHECK_NEAR(s[2].f1, 2.0 / 3, 1e-15);
    /* the macro-F1 of lf_fusion_metrics is their mean */
    double m[LF_NUM_METRICS];
    CHECK(lf_fusion_metrics(P, Y, 6, 3, m) == LF_OK, "metrics");
    CHECK_NEAR(m[LF_METRIC_MACRO_F1], (0.4 + 0.5 + 2.0 / 3) / 3, 1e-15);

    lf_reliability r;
    CHECK(lf_fusion_reliability(P, Y, 6, 3, &r) == LF_OK, "reliability");
    CHECK(r.rows == 6 && r.count[13] == 2 && r.count[10] == 2 && r.count[7] == 1 && r.count[6] == 1,
          "bin counts %zu %zu %zu %zu", r.count[13], r.count[10], r.count[7], r.count[6]);
    size_t total = 0;
    for (int b = 0; b < LF_RELIABILITY_BINS; b++) total += r.count[b];
    CHECK(total == 6, "every row in a bin: %zu", total);
    CHECK(isnan(r.accuracy[0]) && isnan(r.confidence[14]), "empty bins are NaN");
    CHECK_NEAR(r.accuracy[13], 0.5, 1e-15);
    CHECK_NEAR(r.accuracy[10], 1.0, 1e-15);
    CHECK_NEAR(r.confidence[13], (double)0.9f, 1e-15);
    CHECK_NEAR(r.confidence[6], (double)0.45f, 1e-15);
    double ece = (fabs(1 - 2 * (double)0.9f) + fabs(2 - 2 * (double)0.7f) + (double)0.5f + (double)0.45f) / 6;
    CHECK_NEAR(r.ece, ece, 1e-15);
    CHECK(r.ece == m[LF_METRIC_ECE], "the bins' ECE %.17g is lf_fusion_metrics' %.17g", r.ece, m[LF_METRIC_ECE]);

    int bad[2] = {0, 3};
    CHECK(lf_fusion_confusion(P, bad, 2, 3, cm) == LF_ERR_ARG, "label out of range");
    float inf[3] = {INFINITY, 0, 0};
    CHECK(lf_fusion_per_class(inf, Y, 1, 3, s) == LF_ERR_NUMERIC, "non-finite");
    CHECK(lf_fusion_reliability(P, Y, 0, 3, &r) == LF_ERR_ARG, "no rows");
}

static void test_escape_and_numbers(void) {
    lf_buf b;
    lf_buf_init(&b);
    lf_html_text(&b, "<a href=\"x\">&'\x01\x7f</a>", 0);
    CHECK(strcmp(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&#xFFFD;&#xFFFD;&lt;/a&gt;") == 0, "escaped: %s",
          b.data);
    lf_buf_free(&b);
    lf_buf_init(&b);
    /* an override (U+202E) or isolate (U+2067) would turn the rest of the
     * paragraph around (a title's in the command line shown): replaced;
     * a mark (U+200F) and letters of right-to-left scripts are kept */
    lf_html_text(&b, "a\xE2\x80\xAE" "b\xE2\x81\xA7" "c\xE2\x80\x8F" "d\xD7\x90\xE2\x80\xAA\xE2\x81\xA9", 0);
    CHECK(strcmp(b.data, "a&#xFFFD;b&#xFFFD;c\xE2\x80\x8F" "d\xD7\x90&#xFFFD;&#xFFFD;") == 0, "bidi controls: %s", b.data);
    lf_buf_free(&b);
    lf_buf_init(&b);
    /* bytes of no UTF-8 character (a --title or a file name in Latin-1,
     * a cut sequence, an overlong form, a surrogate): one U+FFFD each, so
     * that the page stays the UTF-8 it declares */
    lf_html_text(&b, "x\xE2\x80", 0);
    CHECK(strcmp(b.data, "x&#xFFFD;&#xFFFD;") == 0, "cut: %s", b.data);
    lf_buf_free(&b);
    lf_buf_init(&b);
    lf_html_text(&b, "caf\xE9 \xC0\xAF\xED\xA0\x80 \xF0\x9F\x98\x80<", 0);
    CHECK(strcmp(b.data, "caf&#xFFFD; &#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD;&#xFFFD; \xF0\x9F\x98\x80&lt;") == 0, "invalid UTF-8: %s",
          b.data);
    lf_buf_free(&b);
    lf_buf_init(&b);
    lf_html_text(&b, "\xE9t\xE9", 2);
    CHECK(strcmp(b.data, "&#xFFFD;t\xE2\x80\xA6") == 0, "an invalid byte counts as one code point: %s", b.data);
    lf_buf_free(&b);
    lf_buf_init(&b);
    lf_html_text(&b, "h\xC3\xA9llo w\xC3\xB6rld", 5);
    CHECK(strcmp(b.data, "h\xC3\xA9llo\xE2\x80\xA6") == 0, "cut after 5 code points: %s", b.data);
    lf_buf_free(&b);
    char t[32];
    CHECK(strcmp(lf_fmt_fixed(t, 0.125, 2), "0.13") == 0, "%s", t);
    CHECK(strcmp(lf_fmt_fixed(t, -0.004, 2), "0.00") == 0, "%s", t);
    CHECK(strcmp(lf_fmt_fixed(t, -2.5, 1), "-2.5") == 0, "%s", t);
    CHECK(strcmp(lf_fmt_fixed(t, 1234.5, 0), "1235") == 0, "%s", t);
    CHECK(strcmp(lf_fmt_fixed(t, 0.05, 3), "0.050") == 0, "%s", t);
    CHECK(strcmp(lf_fmt_fixed(t, NAN, 3), "nan") == 0, "%s", t);
}

/* two models of N rows and 3 classes, the second missing in every 7th row */
static void make_outputs(size_t N, float *a, float *b, int *y) {
    for (size_t i = 0; i < N; i++) {
        y[i] = (int)(i % 3);
        for (int c = 0; c < 3; c++) {
            a[i * 3 + c] = c == y[i] ? 0.6f : 0.2f;
            b[i * 3 + c] = c == (int)((i / 3) % 3) ? 0.5f : 0.25f;
        }
        if (i % 5 == 0) a[i * 3] = 0.7f, a[i * 3 + 1] = 0.2f, a[i * 3 + 2] = 0.1f; /* some wrong, confident */
        if (i % 7 == 3)
            for (int c = 0; c < 3; c++) b[i * 3 + c] = NAN;
    }
}

static void test_class_names(void) {
    enum { N = 60 };
    float a[N * 3], b[N * 3];
    int y[N];
    make_outputs(N, a, b, y);
    const float *p[2] = {a, b};
    const char *names[2] = {"vision", "audio"};
    lf_fusion *f;
    lf_fusion_create(&f);
    const char *cls[3] = {"cat", "dog", "<b>bird</b>"};
    CHECK(lf_fusion_set_class_names(f, cls, 3) == LF_ERR_STATE, "not fitted");
    CHECK(strcmp(lf_fusion_error(f), "class names: the fusion model is not fitted") == 0, "%s", lf_fusion_error(f));
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_MEAN;
    CHECK(lf_fusion_fit(f, p, names, 2, N, 3, y, &o) == LF_OK, "fit: %s", lf_fusion_error(f));
    CHECK(lf_fusion_class_name(f, 0) == NULL, "no names yet");
    CHECK(lf_fusion_set_class_names(f, cls, 2) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f), "2 class names given for a model of 3 classes") == 0,
          "%s", lf_fusion_error(f));
    const char *bad[3] = {"cat", "\xff", "x"};
    CHECK(lf_fusion_set_class_names(f, bad, 3) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f), "class name 2 is not valid UTF-8") == 0,
          "%s", lf_fusion_error(f));
    const char *empty[3] = {"", "b", "c"};
    CHECK(lf_fusion_set_class_names(f, empty, 3) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f), "class name 1 is empty") == 0,
          "%s", lf_fusion_error(f));
    char longname[300];
    memset(longname, 'x', 256), longname[256] = '\0';
    const char *toolong[3] = {"a", "b", longname};
    CHECK(lf_fusion_set_class_names(f, toolong, 3) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f), "class name 3 is longer than 255 bytes") == 0,
          "%s", lf_fusion_error(f));
    const char *ctl[3] = {"cat", "tab\there", "\x01"};
    CHECK(lf_fusion_set_class_names(f, ctl, 3) == LF_OK, "control characters are kept");
    CHECK(lf_fusion_set_class_names(f, cls, 3) == LF_OK, "names");
    CHECK(strcmp(lf_fusion_class_name(f, 2), "<b>bird</b>") == 0 && lf_fusion_class_name(f, 3) == NULL, "get");
    char path[128];
    CHECK(lf_fusion_save(f, tmp_path(path, sizeof path, "named.lff"), LF_WRITE_NO_FSYNC) == LF_OK, "save: %s",
          lf_fusion_error(f));
    lf_fusion *g;
    lf_fusion_create(&g);
    CHECK(lf_fusion_load(g, path) == LF_OK, "load: %s", lf_fusion_error(g));
    CHECK(lf_fusion_class_name(g, 0) && strcmp(lf_fusion_class_name(g, 0), "cat") == 0 &&
              strcmp(lf_fusion_class_name(g, 2), "<b>bird</b>") == 0,
          "names read back");
    /* a learned method's history goes into the file and back, number for
     * number; a method that trains nothing has none */
    CHECK(lf_fusion_history(f) == NULL, "mean has no history");
    lf_fusion_options lo = lf_fusion_defaults();
    lo.method = LF_FUSE_WAVG, lo.epochs = 4;
    lf_fusion *w, *w2;
    lf_fusion_create(&w), lf_fusion_create(&w2);
    CHECK(lf_fusion_fit(w, p, names, 2, N, 3, y, &lo) == LF_OK, "fit wavg: %s", lf_fusion_error(w));
    const lf_history *h1 = lf_fusion_history(w);
    char wpath[128], wpath2[128];
    CHECK(h1 && h1->epochs == 4, "wavg's history: %zu epochs", h1 ? h1->epochs : 0);
    CHECK(lf_fusion_save(w, tmp_path(wpath, sizeof wpath, "w.lff"), LF_WRITE_NO_FSYNC) == LF_OK, "save wavg");
    CHECK(lf_fusion_load(w2, wpath) == LF_OK, "load wavg: %s", lf_fusion_error(w2));
    const lf_history *h2 = lf_fusion_history(w2);
    int same = h1 && h2 && h2->epochs == h1->epochs && h2->best_epoch == h1->best_epoch &&
               h2->stopped_early == h1->stopped_early;
    for (size_t i = 0; same && i < h1->epochs; i++)
        same = h2->loss[i] == h1->loss[i] && h2->accuracy[i] == h1->accuracy[i] &&
               (isnan(h1->val_loss[i]) ? isnan(h2->val_loss[i]) : h2->val_loss[i] == h1->val_loss[i]);
    CHECK(same, "the history read back is the one fitted");
    CHECK(lf_fusion_save(w2, tmp_path(wpath2, sizeof wpath2, "w2.lff"), LF_WRITE_NO_FSYNC) == LF_OK, "save again");
    size_t l1 = 0, l2 = 0;
    char *b1 = slurp(wpath, &l1), *b2 = slurp(wpath2, &l2);
    const char *key = "history\\\":{\\\"loss";  /* inside the metadata's JSON string */
    size_t at = 0;
    while (b1 && at + strlen(key) <= l1 && memcmp(b1 + at, key, strlen(key)) != 0) at++;
    CHECK(b1 && at + strlen(key) <= l1, "the file holds the history");
    CHECK(b1 && b2 && l1 == l2 && memcmp(b1, b2, l1) == 0, "the file saved again is the same bytes");
    free(b1), free(b2);
    lf_fusion_free(w), lf_fusion_free(w2);

    /* a refit forgets them */
    CHECK(lf_fusion_fit(f, p, names, 2, N, 3, y, &o) == LF_OK && lf_fusion_class_name(f, 0) == NULL, "refit");
    lf_fusion_free(f);
    lf_fusion_free(g);

    lf_names nm;
    char err[256];
    spit(tmp_path(path, sizeof path, "names.txt"), "\xEF\xBB\xBF" "cat\r\ndog\n<script>\n");
    CHECK(lf_names_read(path, &nm, err, sizeof err) == LF_OK && nm.n == 3 && strcmp(nm.names[0], "cat") == 0 &&
              strcmp(nm.names[1], "dog") == 0 && strcmp(nm.names[2], "<script>") == 0,
          "names file: %s", err);
    lf_names_free(&nm);
    spit(path, "a\n\nb\n");
    char want[256];
    snprintf(want, sizeof want, "'%s': class name 2 is empty (line 2)", path);
    CHECK(lf_names_read(path, &nm, err, sizeof err) == LF_ERR_FORMAT && strcmp(err, want) == 0 && nm.n == 0,
          "blank line: %s", err);
    spit(tmp_path(path, sizeof path, "out.csv"), "x,y , z\n0.1,0.2,0.7\n");
    CHECK(lf_csv_header_read(path, &nm, err, sizeof err) == LF_OK && nm.n == 3 && strcmp(nm.names[1], "y") == 0 &&
              strcmp(nm.names[2], "z") == 0,
          "CSV header");
    lf_names_free(&nm);
    spit(path, "0.1,0.2,0.7\n");
    CHECK(lf_csv_header_read(path, &nm, err, sizeof err) == LF_OK && nm.n == 0, "no header");
}

static void test_history(void) {
    const double loss[2] = {1.5, 0.25}, acc[2] = {0.5, 1};
    lf_history h = {.epochs = 2, .loss = loss, .accuracy = acc, .best_epoch = 1};
    char path[128], err[256];
    CHECK(lf_history_save(&h, tmp_path(path, sizeof path, "h.csv"), LF_WRITE_NO_FSYNC, err, sizeof err) == LF_OK,
          "csv: %s", err);
    char *s = slurp(path, NULL);
    CHECK(s && strcmp(s, "epoch,loss,val_loss,accuracy,val_accuracy\n1,1.5,nan,0.5,nan\n2,0.25,nan,1,nan\n") == 0,
          "csv: %s", s ? s : "(none)");
    free(s);
    CHECK(lf_history_save(&h, tmp_path(path, sizeof path, "h.JSON"), LF_WRITE_NO_FSYNC, err, sizeof err) == LF_OK,
          "json: %s", err);
    s = slurp(path, NULL);
    CHECK(s && strcmp(s, "{\"epoch\":[1,2],\"loss\":[1.5,0.25],\"val_loss\":[null,null],\"accuracy\":[0.5,1],"
                         "\"val_accuracy\":[null,null],\"best_epoch\":2,\"stopped_early\":false}\n") == 0,
          "json: %s", s ? s : "(none)");
    free(s);
    CHECK(lf_history_save(NULL, path, 0, err, sizeof err) == LF_ERR_ARG &&
              strcmp(err, "history: there is no training history") == 0,
          "%s", err);
}

/* The `height` attribute of the rect that holds `at`. */
static double rect_height(const char *page, const char *at) {
    const char *start = at;
    while (start > page && strncmp(start, "<rect", 5) != 0) start--;
    const char *h = strstr(start, " height=\"");
    return h && h < at ? atof(h + 9) : -1;
}

static void test_page(void) {
    enum { N = 90 };
    float a[N * 3], b[N * 3], fused[N * 3];
    int y[N];
    make_outputs(N, a, b, y);
    const float *p[2] = {a, b};
    const char *names[2] = {"vision", "audio"};
    lf_fusion *f, *fit;
    lf_fusion_create(&f);
    lf_fusion_create(&fit);
    lf_report_options ro = lf_report_defaults();
    lf_method methods[2] = {LF_FUSE_MEAN, LF_FUSE_WAVG};
    ro.methods = methods, ro.n_methods = 2;
    ro.fusion.folds = 3;
    const char *hostile[3] = {"<script>alert(1)</script>", "a\"b'c", "\001ctl"};
    ro.class_names = hostile;
    ro.command = "latefuse report -m x=<y>";
    char path[128];
    tmp_path(path, sizeof path, "page.html");
    events tl;
    memset(&tl, 0, sizeof tl);
    ro.temp = on_temp, ro.temp_ctx = &tl;
    CHECK(lf_fusion_report(f, p, names, 2, N, 3, y, &ro, path, LF_WRITE_NO_FSYNC) == LF_OK, "report: %s",
          lf_fusion_error(f));
    /* the page's temporary file, told to the caller: created (it exists
     * when the renaming starts), renamed, gone */
    CHECK(strcmp(tl.seq, "cC+rR+") == 0 && tl.tmp_existed && tl.tmp[0] && access(tl.tmp, F_OK) != 0,
          "temporary file events %s (existed %d, '%s')", tl.seq, tl.tmp_existed, tl.tmp);
    char *s = slurp(path, NULL);
    CHECK(s != NULL, "page written");
    if (s) {
        /* two models and the fused output, before and after calibration */
        CHECK(count(s, "<figure class=\"reliability\"") == 6, "%zu reliability diagrams",
              count(s, "<figure class=\"reliability\""));
        CHECK(count(s, "data-fused=\"true\" data-stage=\"after\"") == 1, "fused after calibration");
        CHECK(count(s, "<figure class=\"confusion\"") == 6, "counts and shares for 2 models and fused");
        CHECK(strstr(s, "<script") == NULL && strchr(s, '\x01') == NULL, "nothing unescaped");
        CHECK(strstr(s, "&lt;script&gt;alert(1)&lt;/script&gt;") && strstr(s, "a&quot;b&#39;c") &&
                  strstr(s, "&#xFFFD;ctl") && strstr(s, "latefuse report -m x=&lt;y&gt;"),
              "the hostile names shown escaped");
        CHECK(strstr(s, "Content-Security-Policy") && !strstr(s, "src=") && !strstr(s, "href=\"http"),
              "nothing fetched");
        CHECK(strstr(s, "<tr class=\"method chosen\">") != NULL, "the chosen method marked in the table");
        free(s);
    }

    /* a fitted model's page: its bins are those of its output */
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_MEAN;
    CHECK(lf_fusion_fit(fit, p, names, 2, N, 3, y, &o) == LF_OK, "fit");
    CHECK(lf_fusion_predict(fit, p, N, fused) == LF_OK, "predict");
    lf_reliability rel;
    CHECK(lf_fusion_reliability(fused, y, N, 3, &rel) == LF_OK, "bins");
    ro.fitted = fit;
    ro.class_names = NULL;
    CHECK(lf_fusion_report(f, p, names, 2, N, 3, y, &ro, path, LF_WRITE_NO_FSYNC) == LF_OK, "report: %s",
          lf_fusion_error(f));
    s = slurp(path, NULL);
    const char *fig = s ? strstr(s, "data-fused=\"true\" data-stage=\"fitted\"") : NULL;
    CHECK(fig != NULL, "the fitted model's diagram");
    CHECK(s && count(s, "<figure class=\"reliability\"") == 5, "2 models before and after, fused once");
    const char *end = fig ? strstr(fig, "</figure>") : NULL;
    size_t bars = 0, same = 0;
    for (int i = 0; end && i < LF_RELIABILITY_BINS; i++) {
        char key[64];
        snprintf(key, sizeof key, "class=\"rel-bar\" data-bin=\"%d\" data-n=\"%zu\"", i, rel.count[i]);
        const char *at = strstr(fig, key);
        if (!rel.count[i]) {
            same += !at || at > end;
            continue;
        }
        bars++;
        double h = at && at < end ? rect_height(s, at) : -1;
        same += fabs(h - rel.accuracy[i] * 200) <= 0.005 + 1e-9;
    }
    CHECK(bars >= 3 && same == LF_RELIABILITY_BINS, "%zu of 15 bins drawn as computed (%zu with rows)", same, bars);
    CHECK(s && strstr(s, "<tr class=\"method chosen\"><td>") && strstr(s, "mean: cross-validated accuracy with every"),
          "the table's row of mean, as fitted, is the fitted model's");
    free(s);
    /* fitted with calibration, the table's (uncalibrated) mean row is
     * another model: neither marked as the page's nor its worth shown */
    o.calibrate = 1;
    CHECK(lf_fusion_fit(fit, p, names, 2, N, 3, y, &o) == LF_OK, "fit");
    CHECK(lf_fusion_report(f, p, names, 2, N, 3, y, &ro, path, LF_WRITE_NO_FSYNC) == LF_OK, "report: %s",
          lf_fusion_error(f));
    s = slurp(path, NULL);
    CHECK(s && !strstr(s, "<tr class=\"method chosen\">") && !strstr(s, "cross-validated accuracy with every") &&
              strstr(s, "Accuracy on the rows the fusion model was fitted on"),
          "a calibrated fit is not the table's uncalibrated row");
    free(s);
    ro.fusion.calibrate = 1; /* then the table's rows are calibrated: mean's is the fitted model's */
    CHECK(lf_fusion_report(f, p, names, 2, N, 3, y, &ro, path, LF_WRITE_NO_FSYNC) == LF_OK, "report: %s",
          lf_fusion_error(f));
    s = slurp(path, NULL);
    CHECK(s && strstr(s, "<tr class=\"method chosen\">") &&
              strstr(s, "mean +calibrate: cross-validated accuracy with every"),
          "a calibrated fit is the table's calibrated row");
    free(s);
    ro.fusion.calibrate = 0;
    o.calibrate = 0;
    CHECK(lf_fusion_fit(fit, p, names, 2, N, 3, y, &o) == LF_OK, "fit");

    /* raw scores: shown as their softmax, so the same diagrams as the
     * probabilities they stand for (log p + 3 per row) */
    float la[N * 3], lb[N * 3];
    for (size_t i = 0; i < N * 3; i++) {
        la[i] = logf(a[i]) + 3.0f;
        lb[i] = isnan(b[i]) ? b[i] : logf(b[i]) - 1.0f;
    }
    const float *lp[2] = {la, lb};
    ro.fitted = NULL;
    ro.fusion.logits = 1;
    CHECK(lf_fusion_report(f, lp, names, 2, N, 3, y, &ro, path, LF_WRITE_NO_FSYNC) == LF_OK, "report: %s",
          lf_fusion_error(f));
    char *lg = slurp(path, NULL);
    ro.fusion.logits = 0;
    CHECK(lf_fusion_report(f, p, names, 2, N, 3, y, &ro, path, LF_WRITE_NO_FSYNC) == LF_OK, "report: %s",
          lf_fusion_error(f));
    char *pr = slurp(path, NULL);
    const char *key = "<figure class=\"reliability\" data-model=\"vision\" data-stage=\"before\"";
    const char *x = lg ? strstr(lg, key) : NULL, *z = pr ? strstr(pr, key) : NULL;
    const char *xe = x ? strstr(x, "</figure>") : NULL, *ze = z ? strstr(z, "</figure>") : NULL;
    CHECK(xe && ze && xe - x == ze - z && memcmp(x, z, (size_t)(xe - x)) == 0,
          "the diagram of logits is that of their probabilities");
    x = lg ? strstr(lg, "data-model=\"audio\" data-kind=\"counts\"") : NULL;
    z = pr ? strstr(pr, "data-model=\"audio\" data-kind=\"counts\"") : NULL;
    xe = x ? strstr(x, "</figure>") : NULL, ze = z ? strstr(z, "</figure>") : NULL;
    CHECK(xe && ze && xe - x == ze - z && memcmp(x, z, (size_t)(xe - x)) == 0,
          "the confusion matrix of logits is that of their probabilities");
    free(lg), free(pr);
    ro.fitted = fit;

    /* the fitted model must be the outputs' */
    const char *other[2] = {"audio", "vision"};
    CHECK(lf_fusion_report(f, p, other, 2, N, 3, y, &ro, path, 0) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f), "report: the fusion model's models and classes (2, 3) are not the outputs "
                                         "given (2 models in its order, 3 classes)") == 0,
          "%s", lf_fusion_error(f));

    /* class names are checked as lf_fusion_set_class_names checks them:
     * two of one name are refused (the page could not tell them apart) */
    const char *twice[3] = {"cat", "dog", "cat"};
    ro.fitted = NULL, ro.class_names = twice;
    CHECK(lf_fusion_report(f, p, names, 2, N, 3, y, &ro, path, 0) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f), "report: class names 1 and 3 are the same: each class needs its own") == 0,
          "%s", lf_fusion_error(f));

    /* a model named "fused" is told apart from the fused output */
    const char *fz[2] = {"fused", "audio"};
    ro.fitted = NULL, ro.class_names = NULL;
    CHECK(lf_fusion_report(f, p, fz, 2, N, 3, y, &ro, path, LF_WRITE_NO_FSYNC) == LF_OK, "report: %s",
          lf_fusion_error(f));
    s = slurp(path, NULL);
    CHECK(s && count(s, "<figure class=\"reliability\" data-model=\"fused\"") == 2 &&
              count(s, "<figure class=\"reliability\" data-fused=\"true\"") == 2 &&
              count(s, "<figure class=\"confusion\" data-model=\"fused\"") == 2 &&
              count(s, "<figure class=\"confusion\" data-fused=\"true\"") == 2 &&
              count(s, "<b>fused output</b>") == 4 && count(s, "<b>fused</b>") == 4,
          "the model 'fused' and the fused output have figures of their own");
    free(s);
    lf_fusion_free(fit);
    lf_fusion_free(f);
}

/* 10 000 classes: the matrices summarised, the per-class table cut */
static void test_many_classes(void) {
    enum { N = 200, C = 10000 };
    float *a = malloc(sizeof(float) * N * C), *b = malloc(sizeof(float) * N * C);
    int *y = malloc(sizeof(int) * N);
    const char **cls = malloc(sizeof(char *) * C);
    char (*names)[16] = malloc(16 * (size_t)C);
    if (!a || !b || !y || !cls || !names) {
        CHECK(0, "out of memory");
        return;
    }
    for (size_t i = 0; i < N; i++) {
        y[i] = (int)(i * 37 % C);
        for (size_t c = 0; c < C; c++) a[i * C + c] = b[i * C + c] = 0.5f / (C - 1);
        a[i * C + (size_t)y[i]] = 0.5f;
        b[i * C + (i % 3 ? (size_t)y[i] : (size_t)(y[i] + 1) % C)] = 0.5f;
    }
    for (size_t c = 0; c < C; c++) snprintf(names[c], 16, "<c%zu>", c), cls[c] = names[c];
    const float *p[2] = {a, b};
    const char *mn[2] = {"a", "b"};
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_report_options ro = lf_report_defaults();
    lf_method mean = LF_FUSE_MEAN;
    ro.methods = &mean, ro.n_methods = 1, ro.fusion.folds = 2, ro.class_names = cls;
    char path[128];
    tmp_path(path, sizeof path, "many.html");
    CHECK(lf_fusion_report(f, p, mn, 2, N, C, y, &ro, path, LF_WRITE_NO_FSYNC) == LF_OK, "report: %s",
          lf_fusion_error(f));
    size_t len = 0;
    char *s = slurp(path, &len);
    CHECK(s && len < 400000, "bounded page: %zu bytes", len);
    if (s) {
        CHECK(count(s, "<figure class=\"confusion\"") == 0 && count(s, "<figure class=\"confusion-top\"") == 3,
              "confusions listed, not drawn");
        const char *pc = strstr(s, "<table class=\"perclass\">"), *pe = pc ? strstr(pc, "</table>") : NULL;
        size_t rows = 0;
        for (const char *t = pc; t && pe && (t = strstr(t + 1, "<tr>")) && t < pe;) rows++;
        CHECK(rows == 61, "per-class table: header and 60 classes, got %zu rows", rows);
        CHECK(strstr(s, "The 60 classes of 10000 with the lowest fused F1.") != NULL, "says it is cut");
        CHECK(strstr(s, "&lt;c1&gt;") != NULL && strstr(s, "<c1>") == NULL, "names escaped");
    }
    free(s);
    lf_fusion_free(f);
    free(a), free(b), free(y), free(cls), free(names);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lf_report_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "cannot make a temporary folder\n");
        return 1;
    }
    test_per_class();
    test_escape_and_numbers();
    test_class_names();
    test_history();
    test_page();
    test_many_classes();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_report("test_report");
}
