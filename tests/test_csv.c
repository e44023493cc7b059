/*
 * test_csv.c — the CSV / whitespace table reader and the CSV writer
 * (src/io/csv.c): delimiters, header detection (never by a parse failure),
 * byte order marks, LF/CRLF/CR line ends, trailing commas, missing and
 * special values, every error with its status and message, locale
 * independence, a writer round trip, and the real UCI mfeat-mor file when
 * the shared data folder is present.
 */
#include "check.h"
#include "locale_util.h"
#include "io/csv.h"

#include <dirent.h>
#include <float.h>
#include <locale.h>
#include <stdlib.h>
#include <unistd.h>

static int contains(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static lf_status parse(const char *text, lf_array *a, lf_err *e) {
    e->msg[0] = '\0';
    return lf_csv_parse(text, strlen(text), "x.csv", a, e);
}

/* Parses `text` and compares with rows x cols expected values (NaN matches
 * NaN) and the expected is_integer flag. */
static void expect_table(const char *text, size_t rows, size_t cols, const float *want, int is_int,
                         int line) {
    lf_array a;
    lf_err e;
    lf_status st = parse(text, &a, &e);
    CHECK(st == LF_OK, "line %d: %s", line, e.msg);
    if (st != LF_OK) return;
    CHECK(a.rows == rows && a.cols == cols, "line %d: shape %zux%zu, want %zux%zu", line, a.rows,
          a.cols, rows, cols);
    CHECK(a.is_integer == is_int, "line %d: is_integer %d, want %d", line, a.is_integer, is_int);
    if (a.rows == rows && a.cols == cols) {
        int same = 1;
        for (size_t k = 0; k < rows * cols; k++) {
            int both_nan = isnan(a.data[k]) && isnan(want[k]);
            if (!both_nan && memcmp(&a.data[k], &want[k], sizeof(float)) != 0) {
                same = 0;
                fprintf(stderr, "  line %d: [%zu] = %.9g, want %.9g\n", line, k, a.data[k], want[k]);
            }
        }
        CHECK(same, "line %d: values", line);
    }
    lf_array_free(&a);
}
#define TABLE(text, rows, cols, is_int, ...)                                                 \
    do {                                                                                    \
        const float want_[] = {__VA_ARGS__};                                                \
        expect_table((text), (rows), (cols), want_, (is_int), __LINE__);                    \
    } while (0)

static void expect_error(const char *text, size_t len, lf_status want, const char *sub, int line) {
    lf_array a = {(float *)1, 7, 7, 7};
    lf_err e = {{0}};
    lf_status st = lf_csv_parse(text, len, "x.csv", &a, &e);
    CHECK(st == want, "line %d: status %d, want %d (%s)", line, (int)st, (int)want, e.msg);
    CHECK(contains(e.msg, sub), "line %d: message '%s' lacks '%s'", line, e.msg, sub);
    CHECK(a.data == NULL && a.rows == 0 && a.cols == 0, "line %d: output not cleared", line);
}
#define ERR(text, want, sub) expect_error((text), strlen(text), (want), (sub), __LINE__)

/* The message must be exactly `msg` (status LF_ERR_FORMAT). */
static void expect_message(const char *text, const char *msg, int line) {
    lf_array a = {(float *)1, 7, 7, 7};
    lf_err e = {{0}};
    lf_status st = lf_csv_parse(text, strlen(text), "x.csv", &a, &e);
    CHECK(st == LF_ERR_FORMAT && strcmp(e.msg, msg) == 0, "line %d: status %d, message\n  '%s', want\n  '%s'",
          line, (int)st, e.msg, msg);
    CHECK(a.data == NULL && a.rows == 0 && a.cols == 0, "line %d: output not cleared", line);
}
#define ERR_EXACT(text, msg) expect_message((text), (msg), __LINE__)

static void test_reading(void) {
    /* comma, header, integers */
    TABLE("1,2,3\n4,5,6\n", 2, 3, 1, 1, 2, 3, 4, 5, 6);
    TABLE("a,b,c\n1,2,3\n4,5,6\n", 2, 3, 1, 1, 2, 3, 4, 5, 6);
    TABLE("\"x\",y\n1.5,-2\n", 1, 2, 0, 1.5f, -2);
    TABLE("a,\"b\"\n2,3\n", 1, 2, 1, 2, 3); /* only text fields make a header */
    /* decimals, exponents, signs, spaces around fields */
    TABLE(" 0.5 , -1.25e2,+3E-1\n\t.5,1.,  -0 \n", 2, 3, 0, 0.5f, -125.0f, 0.3f, 0.5f, 1.0f, -0.0f);
    TABLE("0.1\n0.2\n0.3\n", 3, 1, 0, 0.1f, 0.2f, 0.3f);
    TABLE("16777216,-16777216\n", 1, 2, 1, 16777216.0f, -16777216.0f);
    TABLE("16777217\n", 1, 1, 0, 16777216.0f); /* not exact: no longer "integer" */
    TABLE("1e-50,1e38\n", 1, 2, 0, 0.0f, 1e38f); /* underflow rounds to 0 */
    TABLE("3.4028235e38\n", 1, 1, 0, FLT_MAX);
    /* CRLF, no final newline, trailing blank lines, leading blank lines */
    TABLE("1,2\r\n3,4\r\n", 2, 2, 1, 1, 2, 3, 4);
    TABLE("1,2\n3,4", 2, 2, 1, 1, 2, 3, 4);
    TABLE("1,2\r\n3,4\r", 2, 2, 1, 1, 2, 3, 4);
    TABLE("1,2\n3,4\n\n  \n\r\n", 2, 2, 1, 1, 2, 3, 4);
    TABLE("\n  \nh1,h2\n1,2\n", 1, 2, 1, 1, 2);
    /* whitespace-separated (fixed width) */
    TABLE("   1.0000   0.0   133.15\n\t2  -3.5e1   4\n", 2, 3, 0, 1, 0, 133.15f, 2, -35, 4);
    TABLE("x y\n1 2\n", 1, 2, 1, 1, 2);
    TABLE("7\n8\n", 2, 1, 1, 7, 8);
    /* missing and special values */
    TABLE("nan,NaN,NA\n,1, \ninf,-inf,+Infinity\n-nan,NAN,Inf\n", 4, 3, 0, NAN, NAN, NAN, NAN, 1, NAN,
          INFINITY, -INFINITY, INFINITY, NAN, NAN, INFINITY);
    TABLE("1,,2\n", 1, 3, 0, 1, NAN, 2);
}

static void test_errors(void) {
    ERR("1,2,3\n4,5,6\n7,8\n", LF_ERR_FORMAT, "row 3 has 2 fields, expected 3");
    ERR("1,2,3\n4,5,6,7\n", LF_ERR_FORMAT, "row 2 has 4 fields, expected 3");
    ERR("a,b\n1,2\n3\n", LF_ERR_FORMAT, "row 2 has 1 fields, expected 2"); /* not counting the header */
    ERR("1 2 3\n4 5\n", LF_ERR_FORMAT, "row 2 has 2 fields, expected 3");
    ERR("1,2\nabc,3\n", LF_ERR_FORMAT, "'abc' at row 2, column 1 is not a number");
    ERR("h\n1\n2x\n", LF_ERR_FORMAT, "'2x' at row 2, column 1 is not a number");
    ERR("1,2\n3,0x10\n", LF_ERR_FORMAT, "'0x10' at row 2, column 2 is a hexadecimal number in 'x.csv'");
    ERR("1,2\n3,1,5\n", LF_ERR_FORMAT, "row 2 has 3 fields");
    ERR("1 2\n3 1,5\n", LF_ERR_FORMAT, "'1,5' at row 2, column 2 is not a number");
    ERR("1\n.\n", LF_ERR_FORMAT, "'.' at row 2, column 1 is not a number");
    ERR("1\n1e\n", LF_ERR_FORMAT, "'1e' at row 2, column 1 is not a number");
    ERR("1,2\n- 1,2\n", LF_ERR_FORMAT, "'- 1' at row 2, column 1 is not a number");
    ERR("1\nnan(1)\n", LF_ERR_FORMAT, "'nan(1)' at row 2, column 1");
    ERR("1\n\"2\"\n", LF_ERR_FORMAT, "'\"2\"' at row 2, column 1 is not a number");
    ERR("1,2\n1e39,0\n", LF_ERR_FORMAT, "value '1e39' at row 2, column 1 overflows float32");
    ERR("0,-1e39\n", LF_ERR_FORMAT, "value '-1e39' at row 1, column 2 overflows float32");
    ERR("3.5e38\n", LF_ERR_FORMAT, "value '3.5e38' at row 1, column 1 overflows float32");
    ERR("", LF_ERR_FORMAT, "'x.csv' holds no data");
    ERR("\n \r\n\n", LF_ERR_FORMAT, "'x.csv' holds no data");
    ERR("a,b,c\n", LF_ERR_FORMAT, "'x.csv' holds no data");
    ERR("a,b,c\n\n", LF_ERR_FORMAT, "'x.csv' holds no data");
    ERR("1,2\n\n3,4\n", LF_ERR_FORMAT, "blank line at row 2 of 'x.csv'");
    ERR("1,2\n3,4\n \n\n5,6\n\n", LF_ERR_FORMAT, "blank line at row 3");
    expect_error("1,2\n3,\0004\n", 9, LF_ERR_FORMAT, "'x.csv' contains a NUL byte at row 2", __LINE__);
    expect_error("1,2\n\0", 5, LF_ERR_FORMAT, "NUL byte at row 2", __LINE__);
    char longf[300];
    memcpy(longf, "1\n", 2);
    memset(longf + 2, '1', sizeof longf - 2);
    memcpy(longf + 290, "x\n", 3);
    ERR(longf, LF_ERR_FORMAT, "...' at row 2, column 1 is not a number");
    /* a long all-digit field is read whole, not truncated */
    memset(longf + 2, '1', sizeof longf - 2);
    memcpy(longf + 290, "\n", 2);
    ERR(longf, LF_ERR_FORMAT, "value '1111111111111111111111111111111111111111...' at row 2, column 1 overflows");

    /* the text need not be NUL-terminated: only len bytes are read */
    lf_array a;
    lf_err e;
    CHECK(lf_csv_parse("1,2\n3,4\nabc", 8, "x.csv", &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.rows == 2 && a.cols == 2 && a.data[3] == 4.0f, "len respected");
    lf_array_free(&a);
    CHECK(lf_csv_parse(NULL, 0, NULL, &a, &e) == LF_ERR_FORMAT, "NULL empty text");
    CHECK(contains(e.msg, "'<memory>' holds no data"), "%s", e.msg);
}

/* Whether the first row is a header never depends on a parse failure: a
 * header holds text and no number; a first row that mixes them, or holds a
 * malformed or hexadecimal number, is an error naming the field.  A byte
 * order mark is skipped; a long number is read whole. */
static void test_first_row(void) {
    TABLE("\xEF\xBB\xBF" "0.5,0.25\n1,2\n", 2, 2, 0, 0.5f, 0.25f, 1, 2);
    TABLE("\xEF\xBB\xBF" "p0,p1\n1,2\n", 1, 2, 1, 1, 2);
    TABLE("\xEF\xBB\xBF" "7\n8\n", 2, 1, 1, 7, 8);
    ERR_EXACT("\xEF\xBB\xBF", "'x.csv' holds no data");
    /* empty header fields (pandas' index column) count for neither */
    TABLE(",p0,p1\n0,0.5,0.5\n", 1, 3, 0, 0, 0.5f, 0.5f);
    TABLE("nan,NA\n1,2\n", 2, 2, 0, NAN, NAN, 1, 2); /* missing values are data */
    TABLE(",,\n1,2,3\n", 2, 3, 0, NAN, NAN, NAN, 1, 2, 3);
    /* a typo in the first row is an error, never a header */
    ERR_EXACT("0.2,0.8O\n0.6,0.4\n", "'0.8O' at row 1, column 2 is not a number in 'x.csv'");
    ERR_EXACT("0.2O,0.8O\n0.6,0.4\n", "'0.2O' at row 1, column 1 is not a number in 'x.csv'");
    ERR_EXACT("\n-.5x 1e\n1 2\n", "'-.5x' at row 2, column 1 is not a number in 'x.csv'");
    ERR_EXACT("1 2.5.\n1 2\n", "'2.5.' at row 1, column 2 is not a number in 'x.csv'");
    ERR_EXACT("\xEF\xBB\xBF" "0.8O,0.2\n", "'0.8O' at row 1, column 1 is not a number in 'x.csv'");
    ERR_EXACT("1,b\n2,3\n",
              "'b' at row 1, column 2 is not a number in 'x.csv' (row 1 is not a header: column 1 holds a number)");
    ERR_EXACT("model,0,1\nm,0.5,0.5\n", "'model' at row 1, column 1 is not a number in 'x.csv' (row 1 is not a "
                                        "header: column 2 holds a number)");
    ERR_EXACT("p0,0.8O\n1,2\n", "'p0' at row 1, column 1 is not a number in 'x.csv' (row 1 is not a header: "
                                "column 2 starts like a number)");
    ERR_EXACT("\n\np0,,nan\n1,2,3\n", "'p0' at row 3, column 1 is not a number in 'x.csv' (row 3 is not a header: "
                                      "column 3 holds a number)");
    /* hexadecimal numbers: refused in every row, never a header */
    ERR_EXACT("0x1p-3,0.875\n0.5,0.5\n",
              "'0x1p-3' at row 1, column 1 is a hexadecimal number in 'x.csv'; write numbers in decimal");
    ERR_EXACT("0x1p-3,-0X.8p1\n", "'0x1p-3' at row 1, column 1 is a hexadecimal number in 'x.csv'; write numbers "
                                  "in decimal");
    ERR_EXACT("1,2\n0.5,+0xA\n",
              "'+0xA' at row 2, column 2 is a hexadecimal number in 'x.csv'; write numbers in decimal");
    ERR_EXACT("0x,1\n", "'0x' at row 1, column 1 is not a number in 'x.csv'");
    /* a field over 256 characters: a number is read whole, text is text */
    char t[1200];
    size_t n = 0;
    t[n++] = '0', t[n++] = '.', t[n++] = '5';
    memset(t + n, '0', 400), n += 400;
    memcpy(t + n, ",+", 2), n += 2;
    memset(t + n, '0', 300), n += 300;
    memcpy(t + n, "3\n1,2\n", 7);
    TABLE(t, 2, 2, 0, 0.5f, 3, 1, 2);
    memset(t, 'p', 300);
    memcpy(t + 300, ",q\n1,2\n", 8);
    TABLE(t, 1, 2, 1, 1, 2);
    memcpy(t + 300, ",1\n1,2\n", 8);
    ERR_EXACT(t, "'pppppppppppppppppppppppppppppppppppppppp...' at row 1, column 1 is not a number in 'x.csv' (row "
                 "1 is not a header: column 2 holds a number)");
}

/* A comma ending every row is no field; ending some rows only is an error.
 * Lone CRs (old Mac files) end lines like LF and CRLF. */
static void test_line_ends(void) {
    TABLE("1,2,\n3,4,\n", 2, 2, 1, 1, 2, 3, 4);
    TABLE("a,b\n1,2,\n3,4,\n", 2, 2, 1, 1, 2, 3, 4);
    TABLE("a,b,\r\n1,2,\r\n3,4 , \r\n", 2, 2, 1, 1, 2, 3, 4);
    TABLE("1,\n0,\n", 2, 1, 1, 1, 0);
    TABLE("1,2,,\n3,4,,\n", 2, 3, 0, 1, 2, NAN, 3, 4, NAN);
    /* rows of empty fields (missing outputs) fit either way */
    TABLE(",,\n,,\n", 2, 3, 0, NAN, NAN, NAN, NAN, NAN, NAN);
    TABLE(",,\n\n", 1, 3, 0, NAN, NAN, NAN);
    TABLE("p,q\n,,\n1,2,\n,,\n", 3, 2, 0, NAN, NAN, 1, 2, NAN, NAN);
    TABLE(",\n,\n2,\n", 3, 1, 0, NAN, NAN, 2);
    ERR_EXACT(",,\n1,2,\n3,4\n", "row 3 of 'x.csv' does not end with a comma but row 2 does (a trailing comma "
                                "must end every row or none)");
    ERR_EXACT("1,2,\n3,4\n", "row 2 of 'x.csv' does not end with a comma but row 1 does (a trailing comma must "
                             "end every row or none)");
    ERR_EXACT("h,h\n1,2\n3,4\n5,6,\n", "row 3 of 'x.csv' ends with a comma but row 1 does not (a trailing comma "
                                        "must end every row or none)");
    ERR_EXACT("1,2,\n3,4,5,\n", "row 2 has 3 fields, expected 2 in 'x.csv'");
    /* CR-only, mixed line ends */
    TABLE("1,2\r3,4\r5,6\r", 3, 2, 1, 1, 2, 3, 4, 5, 6);
    TABLE("a,b\r1,2\r3,4", 2, 2, 1, 1, 2, 3, 4);
    TABLE("1 2\r\n3 4\r5 6\n7 8", 4, 2, 1, 1, 2, 3, 4, 5, 6, 7, 8);
    TABLE("\r\r1\r2\r\r\r", 2, 1, 1, 1, 2);
    ERR_EXACT("1,2\r3,x\r", "'x' at row 2, column 2 is not a number in 'x.csv'");
    ERR_EXACT("1,2\r\r3,4\r", "blank line at row 2 of 'x.csv' between data rows (row 3 has data)");
    ERR_EXACT("1,2\r3,4\r5\r", "row 3 has 1 fields, expected 2 in 'x.csv'");
    expect_error("1,2\r3,\0004\r", 9, LF_ERR_FORMAT, "'x.csv' contains a NUL byte at row 2", __LINE__);
    expect_error("1\r\n2\r\0", 7, LF_ERR_FORMAT, "'x.csv' contains a NUL byte at row 3", __LINE__);
}

/* "0.5" must read as 0.5 even where the locale's decimal point is ',' */
static void test_locale(const char *dir) {
    char locdir[] = "/tmp/lf_csv_locale_XXXXXX"; /* a locale built with localedef, if need be */
    const char *got = mkdtemp(locdir) ? set_comma_locale(locdir, LC_ALL) : NULL;
    if (!got) {
        CHECK_SKIP("no comma-decimal locale could be found or built (install the locales package); "
                   "checking under \"C\" only");
    } else {
        char probe[32];
        snprintf(probe, sizeof probe, "%.1f", 0.5);
        CHECK(strcmp(probe, "0,5") == 0, "locale %s formats 0.5 as '%s'", got, probe);
    }
    TABLE("0.5,1.25\n-2.5e-1,3\n", 2, 2, 0, 0.5f, 1.25f, -0.25f, 3.0f);
    char path[512];
    snprintf(path, sizeof path, "%s/loc.csv", dir);
    const float v[2] = {0.5f, -1.75f};
    lf_err e;
    CHECK(lf_csv_write(path, v, 1, 2, &e) == LF_OK, "%s", e.msg);
    FILE *f = fopen(path, "rb");
    char buf[64] = {0};
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    CHECK(strcmp(buf, "0.5,-1.75\n") == 0, "written under %s: '%s'", got ? got : "C", buf);
    unlink(path);
    /* the locale stays in force for the tests that follow (its files are
     * loaded already) */
    char rm[600];
    snprintf(rm, sizeof rm, "rm -rf '%s'", locdir);
    if (system(rm) != 0) CHECK(0, "removing %s", locdir);
    setlocale(LC_ALL, "C");
}

static void test_writer(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/w.csv", dir);
    float v[8] = {0.1f, -0.0f, 1e-45f, FLT_MAX, 1.0f / 3.0f, 16777216.0f, -2.5f, 0.0f};
    lf_err e;
    CHECK(lf_csv_write(path, v, 4, 2, &e) == LF_OK, "%s", e.msg);
    FILE *f = fopen(path, "rb");
    char buf[512] = {0};
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    const char *want =
        "0.100000001,-0\n1.40129846e-45,3.40282347e+38\n0.333333343,16777216\n-2.5,0\n";
    CHECK(strcmp(buf, want) == 0, "written text:\n%s", buf);
    lf_array a;
    CHECK(lf_csv_read(path, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.rows == 4 && a.cols == 2 && memcmp(a.data, v, sizeof v) == 0, "round trip bit-identical");
    lf_array_free(&a);

    /* special values round trip as text the reader accepts */
    float s[3] = {NAN, INFINITY, -INFINITY};
    CHECK(lf_csv_write(path, s, 1, 3, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_csv_read(path, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.rows == 1 && a.cols == 3 && isnan(a.data[0]) && a.data[1] == INFINITY &&
              a.data[2] == -INFINITY,
          "special values");
    lf_array_free(&a);

    /* a large table crosses the writer's buffer */
    size_t rows = 3000, cols = 9;
    float *big = malloc(rows * cols * sizeof *big);
    for (size_t k = 0; k < rows * cols; k++) big[k] = ((float)k - 7000.0f) / 7.0f;
    CHECK(lf_csv_write(path, big, rows, cols, &e) == LF_OK, "%s", e.msg);
    CHECK(lf_csv_read(path, &a, &e) == LF_OK, "%s", e.msg);
    CHECK(a.rows == rows && a.cols == cols && memcmp(a.data, big, rows * cols * sizeof *big) == 0,
          "big round trip");
    lf_array_free(&a);
    free(big);
    unlink(path);

    CHECK(lf_csv_write(path, NULL, 2, 2, &e) == LF_ERR_ARG, "NULL data");
    CHECK(lf_csv_write("/nonexistent-folder-lf/x.csv", v, 1, 1, &e) == LF_ERR_IO, "bad folder");
    CHECK(contains(e.msg, "/nonexistent-folder-lf/x.csv"), "%s", e.msg);
    DIR *d = opendir(dir);
    size_t n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    if (d) closedir(d);
    CHECK(n == 0, "no files left behind (%zu)", n);

    /* reading: missing file, folder, content errors name the path */
    snprintf(path, sizeof path, "%s/missing.csv", dir);
    CHECK(lf_csv_read(path, &a, &e) == LF_ERR_IO, "missing file");
    CHECK(contains(e.msg, path), "%s", e.msg);
    CHECK(lf_csv_read(dir, &a, &e) == LF_ERR_IO, "folder");
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    f = fopen(path, "wb");
    fputs("1,2\n3,x\n", f);
    fclose(f);
    CHECK(lf_csv_read(path, &a, &e) == LF_ERR_FORMAT, "bad content");
    CHECK(contains(e.msg, "'x' at row 2, column 2 is not a number in '") && contains(e.msg, "bad.csv"),
          "%s", e.msg);
    unlink(path);
}

/* The UCI mfeat morphological features: 2000 rows of 6 space-separated
 * values; the first row is checked against the file's own first line. */
static void test_mfeat(void) {
    const char *path = "../shared/data/mfeat/mfeat-mor";
    FILE *f = fopen(path, "r");
    if (!f) {
        CHECK_SKIP("%s not found: the mfeat check needs ../shared/data", path);
        return;
    }
    char line[512];
    float first[6];
    int n = 0;
    if (fgets(line, sizeof line, f)) {
        char *p = line, *end;
        for (n = 0; n < 6; n++, p = end) {
            first[n] = strtof(p, &end);
            if (end == p) break;
        }
    }
    fclose(f);
    CHECK(n == 6, "first line of %s has 6 numbers", path);
    CHECK(first[0] == 1.0f && first[3] == 133.1508614f, "first line read: %g %g", first[0], first[3]);
    lf_array a;
    lf_err e;
    lf_status st = lf_csv_read(path, &a, &e);
    CHECK(st == LF_OK, "%s", e.msg);
    if (st != LF_OK) return;
    CHECK(a.rows == 2000 && a.cols == 6, "mfeat-mor shape %zux%zu", a.rows, a.cols);
    CHECK(a.is_integer == 0, "mfeat-mor is not integer");
    if (n == 6) CHECK(memcmp(a.data, first, sizeof first) == 0, "mfeat-mor first row");
    lf_array_free(&a);
}

int main(void) {
    char dir[] = "/tmp/lf_test_csv_XXXXXX";
    test_reading();
    test_errors();
    test_first_row();
    test_line_ends();
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp failed");
        return check_report("test_csv");
    }
    test_locale(dir);
    test_writer(dir);
    rmdir(dir);
    test_mfeat();
    return check_report("test_csv");
}
