/*
 * test_names.c — lf_csv_header_read (names.c) reads a CSV file's header
 * row from the file's first bytes only: a header longer than its first
 * read, leading blank lines and a byte order mark, CRLF and lone CR, no
 * newline at the end, an empty file, quotes (plain characters: a quoted
 * line break still ends the row, as the matrix reader reads it), a first
 * line past the 16 MiB cap (a text header refused with its exact message,
 * a row of numbers no header), and a sparse 2 GiB file whose header is
 * read under an address-space limit far below the file's size; and
 * lf_label_names_read, lf_names_read's lines with repeats allowed.
 */
#include "check.h"
#include "latefuse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/lf_names_XXXXXX";

static void spit_n(const char *path, const char *text, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(text, 1, n, f);
    fclose(f);
}

/* the header of text, its names joined by '|' into got; the status */
static lf_status header_of(const char *path, const char *text, size_t n, char *got, size_t cap, char *err,
                           size_t errlen) {
    spit_n(path, text, n);
    lf_names nm;
    lf_status st = lf_csv_header_read(path, &nm, err, errlen);
    got[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; st == LF_OK && i < nm.n; i++)
        used += (size_t)snprintf(got + used, used < cap ? cap - used : 0, "%s%s", i ? "|" : "", nm.names[i]);
    lf_names_free(&nm);
    return st;
}

static void test_small_cases(const char *path) {
    static const struct {
        const char *what, *text, *want;
    } cases[] = {
        {"plain", "x,y , z\n0.1,0.2,0.7\n", "x|y|z"},
        {"no newline at the end", "x,y", "x|y"},
        {"CRLF", "x,y\r\n0.1,0.9\r\n", "x|y"},
        {"lone CR", "x,y\r0.1,0.9\r", "x|y"},
        {"empty file", "", ""},
        {"blank lines only", "\n \t\n\r\n", ""},
        {"blank lines and a BOM first", "\xEF\xBB\xBF\n  \n x , y\n1,2\n", "x|y"},
        {"a BOM alone", "\xEF\xBB\xBF", ""},
        {"no header", "0.1,0.2,0.7\nx,y,z\n", ""},
        {"quotes are characters", "\"a,b\nc\",d\n0.5,0.5\n", "\"a|b"},
        {"spaces as separators", "cat dog\n0.5 0.5\n", "cat|dog"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char got[256], err[256] = "";
        lf_status st = header_of(path, cases[i].text, strlen(cases[i].text), got, sizeof got, err, sizeof err);
        CHECK(st == LF_OK && strcmp(got, cases[i].want) == 0, "%s: status %d, '%s' (want '%s') %s", cases[i].what,
              (int)st, got, cases[i].want, err);
    }
}

/* 7000 names (76 KiB), more than the first read (64 KiB), then rows */
static void test_long_header(const char *path) {
    enum { K = 7000 };
    size_t cap = (size_t)K * 12 + 64, n = 0;
    char *text = malloc(cap);
    for (int k = 0; k < K; k++) n += (size_t)snprintf(text + n, cap - n, "%sclass_%04d", k ? "," : "", k);
    n += (size_t)snprintf(text + n, cap - n, "\n0.5,0.5\n");
    spit_n(path, text, n);
    free(text);
    lf_names nm;
    char err[256] = "";
    CHECK(lf_csv_header_read(path, &nm, err, sizeof err) == LF_OK && nm.n == K &&
              strcmp(nm.names[0], "class_0000") == 0 && strcmp(nm.names[K - 1], "class_6999") == 0,
          "7000 names: %zu read, %s", nm.n, err);
    lf_names_free(&nm);
}

/* a first line of 17 MiB: text is refused (its end is past the cap), a
 * row of numbers is no header */
static void test_cap(const char *path) {
    size_t n = (size_t)17 << 20;
    char *text = malloc(n + 16);
    memset(text, 'a', n);
    memcpy(text + n, "\n0.5\n", 5);
    char got[64], err[512] = "", want[512];
    lf_status st = header_of(path, text, n + 5, got, sizeof got, err, sizeof err);
    snprintf(want, sizeof want, "'%s': the first line is longer than 16 MiB, too long for a header row", path);
    CHECK(st == LF_ERR_FORMAT && strcmp(err, want) == 0, "17 MiB of text: status %d, %s", (int)st, err);
    for (size_t i = 0; i + 4 <= n; i += 4) memcpy(text + i, "0.5,", 4);
    st = header_of(path, text, n + 5, got, sizeof got, err, sizeof err);
    CHECK(st == LF_OK && got[0] == '\0', "17 MiB of numbers: status %d, '%s' %s", (int)st, got, err);
    free(text);
}

/* A 2 GiB file (sparse: a header, then zeros) read by a child limited to
 * its address space now plus 512 MiB: the header comes back (reading the
 * whole file could not).  Not under AddressSanitizer or ThreadSanitizer,
 * whose shadow memory needs more address space than any such limit
 * allows. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LF_NAMES_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LF_NAMES_ASAN 1
#endif
#endif

static void test_sparse(const char *path) {
#ifdef LF_NAMES_ASAN
    (void)path;
    CHECK(1, "not under a sanitizer's shadow memory");
#else
    spit_n(path, "x,y\n0.5,0.5\n", 12);
    CHECK(truncate(path, (off_t)2 << 30) == 0, "a sparse 2 GiB file");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        long pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (!f || fscanf(f, "%ld", &pages) != 1) _exit(3);
        fclose(f);
        struct rlimit rl = {(rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)512 << 20), RLIM_INFINITY};
        rl.rlim_max = rl.rlim_cur;
        if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(4);
        lf_names nm;
        char err[256];
        lf_status st = lf_csv_header_read(path, &nm, err, sizeof err);
        int ok = st == LF_OK && nm.n == 2 && strcmp(nm.names[0], "x") == 0 && strcmp(nm.names[1], "y") == 0;
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "2 GiB file under a 512 MiB limit: exit status %d",
          WIFEXITED(status) ? WEXITSTATUS(status) : -1);
#endif
    unlink(path);
}

/* repeated class names are refused wherever names come in: a header row,
 * a file of names, lf_fusion_set_class_names, a fusion file (the names of
 * a saved model edited to repeat one) */
static void test_repeats(const char *path) {
    char got[256], err[256] = "";
    const char *rep = "a,b,a,b\n0.1,0.2,0.3,0.4\n";
    CHECK(header_of(path, rep, strlen(rep), got, sizeof got, err, sizeof err) == LF_ERR_FORMAT &&
              strstr(err, "': class names 1 and 3 are the same (header columns 1 and 3): each class needs its own"),
          "a header repeating a name: %s", err);
    const char *lines = "x\ny\nz\ny\n";
    spit_n(path, lines, strlen(lines));
    lf_names nm;
    CHECK(lf_names_read(path, &nm, err, sizeof err) == LF_ERR_FORMAT &&
              strstr(err, "': class names 2 and 4 are the same (lines 2 and 4): each class needs its own"),
          "a names file repeating a name: %s", err);
    lf_names_free(&nm);
    /* a fusion model */
    float p0[8] = {0.9f, 0.1f, 0.2f, 0.8f, 0.7f, 0.3f, 0.4f, 0.6f};
    const float *p[1] = {p0};
    const char *models[1] = {"m"};
    int y[4] = {0, 1, 0, 1};
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_MEAN;
    CHECK(lf_fusion_fit(f, p, models, 1, 4, 2, y, &o) == LF_OK, "fit: %s", lf_fusion_error(f));
    const char *same[2] = {"cat", "cat"}, *two[2] = {"cat", "cau"};
    CHECK(lf_fusion_set_class_names(f, same, 2) == LF_ERR_ARG &&
              strcmp(lf_fusion_error(f), "class names 1 and 2 are the same: each class needs its own") == 0,
          "set_class_names: %s", lf_fusion_error(f));
    CHECK(lf_fusion_class_name(f, 0) == NULL, "no names kept");
    CHECK(lf_fusion_set_class_names(f, two, 2) == LF_OK && lf_fusion_save(f, path, LF_WRITE_NO_FSYNC) == LF_OK,
          "save: %s", lf_fusion_error(f));
    /* "cau" -> "cat" in the file's header (same length) */
    FILE *fp = fopen(path, "r+b");
    char buf[4096];
    size_t len = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    char *at = NULL;
    for (size_t i = 0; i + 3 <= len && !at; i++)
        if (memcmp(buf + i, "cau", 3) == 0) at = buf + i;
    CHECK(at != NULL, "the names in the file");
    if (fp && at) {
        fseek(fp, (long)(at - buf + 2), SEEK_SET);
        fputc('t', fp);
    }
    if (fp) fclose(fp);
    lf_fusion *g;
    lf_fusion_create(&g);
    CHECK(lf_fusion_load(g, path) == LF_ERR_FORMAT && strstr(lf_fusion_error(g), "class names 1 and 2 are the same"),
          "load: %s", lf_fusion_error(g));
    lf_fusion_free(g);
    lf_fusion_free(f);
}

/* lf_label_names_read: lf_names_read's lines with repeats kept, and the
 * messages of a bad label or an empty file in a label's terms */
static void test_label_lines(const char *path) {
    char err[256] = "";
    const char *lines = "\xEF\xBB\xBF" "cat\r\ndog\ncat\ncat";
    spit_n(path, lines, strlen(lines));
    lf_names nm;
    CHECK(lf_label_names_read(path, &nm, err, sizeof err) == LF_OK && nm.n == 4 && strcmp(nm.names[0], "cat") == 0 &&
              strcmp(nm.names[1], "dog") == 0 && strcmp(nm.names[2], "cat") == 0 && strcmp(nm.names[3], "cat") == 0,
          "labels with repeats: %s (%zu)", err, nm.n);
    lf_names_free(&nm);
    spit_n(path, "cat\n\ndog\n", 9);
    CHECK(lf_label_names_read(path, &nm, err, sizeof err) == LF_ERR_FORMAT && nm.n == 0 && nm.names == NULL &&
              strstr(err, "': a label is empty (line 2)"),
          "an empty label: %s", err);
    spit_n(path, "cat\n\xC3(\n", 6);
    CHECK(lf_label_names_read(path, &nm, err, sizeof err) == LF_ERR_FORMAT &&
              strstr(err, "': a label is not valid UTF-8 (line 2)"),
          "a label that is not UTF-8: %s", err);
    /* lone CR line ends, spaces and tabs around a label, blank lines at the end */
    const char *loose[] = {"cat\rdog\rcat\r", "cat \n\tdog\ncat\n", "cat\ndog\r\ncat\n\n \r\n\t\n", "cat\rdog\r\ncat"};
    for (size_t i = 0; i < sizeof loose / sizeof *loose; i++) {
        spit_n(path, loose[i], strlen(loose[i]));
        CHECK(lf_label_names_read(path, &nm, err, sizeof err) == LF_OK && nm.n == 3 &&
                  strcmp(nm.names[0], "cat") == 0 && strcmp(nm.names[1], "dog") == 0 &&
                  strcmp(nm.names[2], "cat") == 0,
              "lines %zu: %s (%zu)", i, err, nm.n);
        lf_names_free(&nm);
    }
    spit_n(path, "cat\n \ndog\n", 10);
    CHECK(lf_label_names_read(path, &nm, err, sizeof err) == LF_ERR_FORMAT && strstr(err, "': a label is empty (line 2)"),
          "a blank line inside: %s", err);
    spit_n(path, "\n\r\n \n", 5);
    CHECK(lf_label_names_read(path, &nm, err, sizeof err) == LF_ERR_FORMAT && strstr(err, "' holds no label"),
          "blank lines only: %s", err);
    spit_n(path, "", 0);
    CHECK(lf_label_names_read(path, &nm, err, sizeof err) == LF_ERR_FORMAT && strstr(err, "' holds no label"),
          "no labels: %s", err);
    CHECK(lf_label_names_read(NULL, &nm, err, sizeof err) == LF_ERR_ARG &&
              strcmp(err, "labels: no path or no output given") == 0,
          "no path: %s", err);
}

int main(void) {
    if (!mkdtemp(dir)) return 2;
    char path[128];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    test_small_cases(path);
    test_long_header(path);
    test_cap(path);
    test_sparse(path);
    test_repeats(path);
    test_label_lines(path);
    unlink(path);
    rmdir(dir);
    return check_report("test_names");
}
