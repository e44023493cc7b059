/*
 * test_predict_files.c — lf_fusion_predict_files: the same bytes as
 * lf_fusion_predict on the arrays for C-order .npy (several chunks),
 * Fortran-order .npy and CSV inputs; the temporary-file events in order
 * (the temporary file exists between CREATED and RENAMED); a bad row in a
 * later chunk fails with its file and row in res, leaving no output and no
 * temporary file (DISCARDED told); shape and name errors with their
 * messages.  Wide rows (many classes): chunks of fewer rows, the same
 * bytes as lf_fusion_predict for a fixed rule, a learned pool and
 * stacking, a bad row found in a later chunk, and the peak memory of a
 * threaded prediction bounded by those chunks, not by 16384 rows.
 * Cancelling (opt.cancel): a flag already set returns LF_ERR_CANCELLED
 * before any temporary file exists, the existing output untouched; set by
 * the temp callback once both temporary outputs exist, or by another
 * thread while the chunks run, on an input whose last row is bad (a call
 * that ran to the end would fail on it instead), the call stops with no
 * output and no temporary file left, DISCARDED told; a flag left at 0
 * changes nothing.
 */
#include "check.h"
#include "temp_events.h"
#include "latefuse.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum { N = 20000, C = 3 }; /* two chunks */

/* the calling thread's OpenMP thread count (1 without OpenMP) */
static int omp_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* A float32 .npy written by hand: C order (data row-major) or Fortran
 * order (the same matrix, column-major on disk). */
static void write_npy(const char *path, const float *v, size_t rows, size_t cols, int fortran) {
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': %s, 'shape': (%zu, %zu), }",
                     fortran ? "True" : "False", rows, cols);
    size_t hl = 64 - 10;
    while ((size_t)n + 1 > hl) hl += 64;
    FILE *f = fopen(path, "wb");
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    unsigned char len[2] = {(unsigned char)(hl & 0xff), (unsigned char)(hl >> 8)};
    fwrite(len, 1, 2, f);
    fwrite(dict, 1, (size_t)n, f);
    for (size_t i = (size_t)n; i + 1 < hl; i++) fputc(' ', f);
    fputc('\n', f);
    if (!v) { /* the header only: the rows follow (write_uniform) */
    } else if (!fortran) fwrite(v, sizeof(float), rows * cols, f);
    else
        for (size_t c = 0; c < cols; c++)
            for (size_t r = 0; r < rows; r++) fwrite(v + r * cols + c, sizeof(float), 1, f);
    fclose(f);
}

static void write_csv(const char *path, const float *v, size_t rows, size_t cols) {
    FILE *f = fopen(path, "w");
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) fprintf(f, "%.9g%c", (double)v[r * cols + c], c + 1 < cols ? ',' : '\n');
    fclose(f);
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}


static int no_temp_left(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *de;
    int ok = 1;
    while (d && (de = readdir(d)))
        if (strstr(de->d_name, ".tmp-")) ok = 0;
    if (d) closedir(d);
    return ok;
}

/* rows x cols of 1 / cols, written row by row (no array of the whole) */
static void write_uniform(const char *path, size_t rows, size_t cols) {
    write_npy(path, NULL, rows, cols, 0);
    float *row = malloc(sizeof(float) * cols);
    for (size_t c = 0; c < cols; c++) row[c] = 1.0f / (float)cols;
    FILE *f = fopen(path, "ab");
    for (size_t r = 0; f && r < rows; r++) fwrite(row, sizeof(float), cols, f);
    if (f) fclose(f);
    free(row);
}

/* ------------------------------------------------------------ cancel */

/* A cancel flag and who sets it: the temp callback once `at` temporary
 * files exist (at 0: never), or a thread it starts then (threaded). */
typedef struct canceller {
    events ev;
    volatile int flag;
    int at, created, threaded, started;
    pthread_t th;
} canceller;

static void *set_flag(void *arg) {
    ((canceller *)arg)->flag = 1;
    return NULL;
}

static void on_temp_cancel(void *ctx, lf_temp_event ev, const char *path, int ok) {
    canceller *k = ctx;
    on_temp(&k->ev, ev, path, ok);
    if (ev != LF_TEMP_CREATED || !ok || ++k->created != k->at) return;
    if (!k->threaded) k->flag = 1;
    else k->started = pthread_create(&k->th, NULL, set_flag, k) == 0;
}

/* The cases above on the fusion model fu: a and b's files (N rows), big_a
 * and big_b's (big_n rows, big_b's last row bad). */
static void cancelling(const lf_fusion *fu, const char *dir, const char *pa, const char *pb, const char *big_a,
                       const char *big_b, size_t big_n) {
    char out[256], outc[256];
    snprintf(out, sizeof out, "%s/c_out.npy", dir), snprintf(outc, sizeof outc, "%s/c_cls.npy", dir);
    const char *names[2] = {"a", "b"};
    const char *small[2] = {pa, pb}, *big[2] = {big_a, big_b}; /* big_b's last row is bad */
    /* already set: nothing opened for writing, the existing output kept */
    FILE *fo = fopen(out, "wb");
    fputs("an earlier output", fo);
    fclose(fo);
    remove(outc);
    {
        canceller k;
        memset(&k, 0, sizeof k);
        k.flag = 1;
        lf_predict_files_options o;
        memset(&o, 0, sizeof o);
        o.classes_path = outc, o.temp = on_temp_cancel, o.temp_ctx = &k, o.cancel = &k.flag;
        lf_predict_files_result res;
        lf_status st = lf_fusion_predict_files(fu, names, small, 2, out, &o, &res);
        CHECK(st == LF_ERR_CANCELLED && res.input == 0 && strcmp(res.message, "cancelled") == 0 &&
                  strcmp(lf_status_string(st), "cancelled") == 0,
              "set before: %d input %d '%s'", (int)st, res.input, res.message);
        CHECK(strcmp(k.ev.seq, "") == 0, "set before: events '%s', want none", k.ev.seq);
        size_t n;
        unsigned char *kept = slurp(out, &n);
        CHECK(kept && n == 17 && memcmp(kept, "an earlier output", 17) == 0, "set before: the output was changed");
        free(kept);
        CHECK(access(outc, F_OK) != 0 && no_temp_left(dir), "set before: a file was left");
    }
    remove(out);
    /* set once both temporary files exist, after the call's first look at
     * the flag: by the callback (so the chunks' check alone can stop the
     * call before the bad last row: no race), or by a thread that runs
     * while the chunks do; stopped, both files removed */
    for (int threaded = 0; threaded < 2; threaded++) {
        canceller k;
        memset(&k, 0, sizeof k);
        k.at = 2, k.threaded = threaded;
        lf_predict_files_options o;
        memset(&o, 0, sizeof o);
        o.flags = LF_WRITE_NO_FSYNC;
        o.classes_path = outc, o.temp = on_temp_cancel, o.temp_ctx = &k, o.cancel = &k.flag;
        lf_predict_files_result res;
        lf_status st = lf_fusion_predict_files(fu, names, big, 2, out, &o, &res);
        if (k.started) pthread_join(k.th, NULL);
        CHECK(!threaded || k.started, "no thread");
        CHECK(st == LF_ERR_CANCELLED && res.input == 0 && strcmp(res.message, "cancelled") == 0,
              "set %s: %d input %d '%s'", threaded ? "by a thread" : "by the callback", (int)st, res.input,
              res.message);
        CHECK(strcmp(k.ev.seq, "cC+cC+D") == 0, "set %s: events %s", threaded ? "by a thread" : "by the callback",
              k.ev.seq);
        CHECK(access(out, F_OK) != 0 && access(outc, F_OK) != 0 && no_temp_left(dir), "cancelled: a file was left");
    }
    /* the big input run to its end meets its bad last row (so the thread
     * above stopped the call before it); a flag at 0 changes nothing */
    {
        volatile int zero = 0;
        lf_predict_files_options o;
        memset(&o, 0, sizeof o);
        o.flags = LF_WRITE_NO_FSYNC, o.cancel = &zero;
        lf_predict_files_result res;
        lf_status st = lf_fusion_predict_files(fu, names, big, 2, out, &o, &res);
        CHECK(st == LF_ERR_FORMAT && res.file == 1 && res.issue.row == big_n - 1, "run to the end: %d '%s'", (int)st,
              res.message);
        st = lf_fusion_predict_files(fu, names, small, 2, out, &o, &res);
        CHECK(st == LF_OK && res.rows == N, "a flag at 0: %d '%s'", (int)st, res.message);
        remove(out);
    }
}

/* kB of a "VmRSS:" / "VmHWM:" line of /proc/self/status, or -1 */
static long status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0) v = strtol(line + n, NULL, 10);
    if (f) fclose(f);
    return v;
}

/* Wide rows: WC classes, WN rows (chunks of 1 MiB / (4 WC) = 374 rows). */
enum { WC = 700, WN = 1500 };
static void wide_rows(const char *dir) {
    char pa[256], pb[256], out[256], bad[256];
    snprintf(pa, sizeof pa, "%s/wa.npy", dir), snprintf(pb, sizeof pb, "%s/wb.npy", dir);
    snprintf(out, sizeof out, "%s/wout.npy", dir), snprintf(bad, sizeof bad, "%s/wbad.npy", dir);
    float *a = malloc(sizeof(float) * WN * WC), *b = malloc(sizeof(float) * WN * WC),
          *fused = malloc(sizeof(float) * WN * WC);
    int *y = malloc(sizeof(int) * WN);
    for (size_t i = 0; i < WN; i++) { /* a favours class i % WC, b class (i + 1) % WC half the time */
        y[i] = (int)(i % WC);
        for (size_t c = 0; c < WC; c++) a[i * WC + c] = b[i * WC + c] = 0.5f / (WC - 1);
        a[i * WC + y[i]] = 0.5f;
        size_t cb = i % 2 ? (size_t)y[i] : (i + 1) % WC;
        b[i * WC + cb] = 0.5f;
    }
    write_npy(pa, a, WN, WC, 0);
    write_npy(pb, b, WN, WC, 0);
    const float *p[2] = {a, b};
    const char *names[2] = {"a", "b"};
    const lf_method ms[3] = {LF_FUSE_MEAN, LF_FUSE_WAVG, LF_FUSE_STACK_LR};
    for (int k = 0; k < 3; k++) {
        lf_fusion *f;
        lf_fusion_create(&f);
        lf_fusion_options fo = lf_fusion_defaults();
        fo.method = ms[k], fo.epochs = 1, fo.importance = 0;
        CHECK(lf_fusion_fit(f, p, names, 2, WN, WC, y, &fo) == LF_OK, "wide fit %d: %s", k, lf_fusion_error(f));
        CHECK(lf_fusion_predict(f, p, WN, fused) == LF_OK, "wide predict %d", k);
        const char *paths[2] = {pa, pb};
        lf_predict_files_options o;
        memset(&o, 0, sizeof o);
        o.flags = LF_WRITE_NO_FSYNC;
        lf_predict_files_result res;
        lf_status st = lf_fusion_predict_files(f, names, paths, 2, out, &o, &res);
        size_t nout;
        unsigned char *got = slurp(out, &nout);
        CHECK(st == LF_OK && got && nout == 128 + sizeof(float) * WN * WC &&
                  memcmp(got + 128, fused, sizeof(float) * WN * WC) == 0,
              "wide rows, method %d: %d %s, or not lf_fusion_predict's bytes", k, (int)st, res.message);
        free(got);
        if (k == 0) { /* a bad row in the fourth chunk */
            b[1200 * WC + 3] = -0.25f;
            write_npy(bad, b, WN, WC, 0);
            b[1200 * WC + 3] = 0.5f / (WC - 1);
            const char *badp[2] = {pa, bad};
            remove(out);
            st = lf_fusion_predict_files(f, names, badp, 2, out, &o, &res);
            CHECK(st == LF_ERR_FORMAT && res.file == 1 && res.issue.row == 1200 && access(out, F_OK) != 0,
                  "wide bad row: %d file %zu row %zu: %s", (int)st, res.file, res.issue.row, res.message);
        }
        lf_fusion_free(f);
    }
    free(a), free(b), free(fused), free(y);
    /* peak memory: 8 threads, 2 inputs of 16000 x WC (44.8 MB each); chunks
     * of 16384 rows would make it one chunk and 3 buffers of the whole files
     * (134 MB); chunks of 374 rows, 8 threads x 3 buffers of 1 MiB */
    write_uniform(pa, 16000, WC);
    write_uniform(pb, 16000, WC);
    {
        lf_fusion *f;
        lf_fusion_create(&f);
        lf_fusion_options fo = lf_fusion_defaults();
        fo.method = LF_FUSE_MEAN;
        float *one = malloc(sizeof(float) * WC);
        for (size_t c = 0; c < WC; c++) one[c] = 1.0f / WC;
        const float *q[2] = {one, one};
        int ys[1] = {0};
        CHECK(lf_fusion_fit(f, q, names, 2, 1, WC, ys, &fo) == LF_OK, "wide mean fit: %s", lf_fusion_error(f));
        free(one);
#ifdef _OPENMP
        int was = omp_get_max_threads();
        omp_set_num_threads(8);
#endif
        FILE *cr = fopen("/proc/self/clear_refs", "w"); /* "5": the peak RSS back to the RSS */
        int reset = cr && fputs("5", cr) >= 0;
        if (cr) reset = fclose(cr) == 0 && reset;
        long rss = status_kb("VmRSS:");
        const char *paths[2] = {pa, pb};
        lf_predict_files_options o;
        memset(&o, 0, sizeof o);
        o.flags = LF_WRITE_NO_FSYNC;
        lf_predict_files_result res;
        CHECK(lf_fusion_predict_files(f, names, paths, 2, out, &o, &res) == LF_OK, "wide mean: %s", res.message);
        long peak = status_kb("VmHWM:");
#ifdef _OPENMP
        omp_set_num_threads(was);
#endif
        if (reset && rss > 0 && peak > 0)
            CHECK(peak - rss < 48 * 1024, "wide rows: predict_files grew the RSS by %ld kB (chunks too large?)",
                  peak - rss);
        else
            CHECK_SKIP("no peak-RSS reset here (/proc/self/clear_refs): predict_files' memory not measured");
        lf_fusion_free(f);
    }
}

int main(void) {
#ifdef _OPENMP
    /* the largest team first (wide_rows uses 8 threads): clang's libomp
     * leaks when a team grows past an earlier one of two or more threads */
    int initial = omp_get_max_threads();
    omp_set_num_threads(initial > 8 ? initial : 8);
#pragma omp parallel
    {
        (void)0;
    }
    omp_set_num_threads(initial);
#endif
    char dir[] = "/tmp/lf_pf_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char pa[256], pb[256], pf[256], pc[256], out[256], outc[256], ref[256], bad[256];
    snprintf(pa, sizeof pa, "%s/a.npy", dir);
    snprintf(pb, sizeof pb, "%s/b.npy", dir);
    snprintf(pf, sizeof pf, "%s/b_fortran.NPY", dir);
    snprintf(pc, sizeof pc, "%s/b.csv", dir);
    snprintf(out, sizeof out, "%s/out.npy", dir);
    snprintf(outc, sizeof outc, "%s/cls.npy", dir);
    snprintf(ref, sizeof ref, "%s/ref.npy", dir);
    snprintf(bad, sizeof bad, "%s/bad.npy", dir);
    float *a = malloc(sizeof(float) * N * C), *b = malloc(sizeof(float) * N * C), *fused = malloc(sizeof(float) * N * C);
    int *y = malloc(sizeof(int) * N);
    for (size_t i = 0; i < N; i++) {
        float u = (float)((i * 37) % 101) / 101.0f, v = (float)((i * 11) % 53) / 53.0f;
        a[i * C] = 0.5f * u, a[i * C + 1] = 0.5f * (1 - u), a[i * C + 2] = 0.5f;
        b[i * C] = 0.25f, b[i * C + 1] = 0.75f * v, b[i * C + 2] = 0.75f * (1 - v);
        y[i] = (int)(i % C);
    }
    /* a fusion model of a and b (product: the fused path and the row path) */
    lf_fusion *fu;
    lf_fusion_create(&fu);
    lf_fusion_options fo = lf_fusion_defaults();
    fo.method = LF_FUSE_PRODUCT;
    const float *p[2] = {a, b};
    const char *names[2] = {"a", "b"};
    CHECK(lf_fusion_fit(fu, p, names, 2, N, C, y, &fo) == LF_OK, "fit: %s", lf_fusion_error(fu));
    CHECK(lf_fusion_predict(fu, p, N, fused) == LF_OK, "predict");

    write_npy(pa, a, N, C, 0);
    write_npy(pb, b, N, C, 0);
    write_npy(pf, b, N, C, 1);
    write_csv(pc, b, N, C);
    write_npy(ref, fused, N, C, 0);
    size_t nref, nout;
    unsigned char *want = slurp(ref, &nref);

    /* the public reader and writer: either order and CSV read back b */
    {
        const char *srcs[3] = {pb, pf, pc};
        for (int k = 0; k < 3; k++) {
            lf_matrix mt;
            char err[512];
            lf_status st = lf_matrix_read(srcs[k], &mt, err, sizeof err);
            CHECK(st == LF_OK && mt.rows == N && mt.cols == C && memcmp(mt.data, b, sizeof(float) * N * C) == 0,
                  "lf_matrix_read %s: %d %s", srcs[k], (int)st, st ? err : "");
            lf_matrix_free(&mt);
        }
        lf_matrix mt;
        char err[512];
        CHECK(lf_matrix_read("x.txt", &mt, err, sizeof err) == LF_ERR_IO && mt.data == NULL &&
                  strcmp(err, "cannot open 'x.txt': No such file or directory") == 0,
              "missing file: %s", err);
        char saved[300];
        snprintf(saved, sizeof saved, "%s/saved.npy", dir);
        CHECK(lf_npy_save(saved, fused, N, C, LF_WRITE_NO_FSYNC, err, sizeof err) == LF_OK, "save: %s", err);
        size_t nsaved;
        unsigned char *sv = slurp(saved, &nsaved), *rf = slurp(ref, &nref);
        CHECK(sv && rf && nsaved == nref && memcmp(sv, rf, nref) == 0, "lf_npy_save: not the reference bytes");
        free(sv), free(rf);
        size_t fold[N], count[4] = {0};
        CHECK(lf_folds_stratified(y, N, C, 4, 7, fold, err, sizeof err) == LF_OK, "folds: %s", err);
        for (size_t i = 0; i < N; i++) count[fold[i] < 4 ? fold[i] : 0]++;
        CHECK(count[0] == N / 4 && count[3] == N / 4, "fold sizes %zu %zu", count[0], count[3]);
        CHECK(lf_folds_stratified(y, N, C, 1, 7, fold, err, sizeof err) == LF_ERR_ARG && err[0], "K = 1: %s", err);
    }

    /* C order, Fortran order, CSV (on one thread, options.threads): the bytes of lf_fusion_predict */
    const char *bs[3] = {pb, pf, pc};
    for (int k = 0; k < 3; k++) {
        const char *paths[2] = {pa, bs[k]};
        events ev;
        memset(&ev, 0, sizeof ev);
        lf_predict_files_options o;
        memset(&o, 0, sizeof o);
        o.flags = k == 1 ? LF_READ_MMAP | LF_WRITE_NO_FSYNC : 0;
        o.classes_path = k == 0 ? outc : NULL;
        o.temp = on_temp, o.temp_ctx = &ev;
        o.threads = k == 2 ? 1 : 0;
        lf_predict_files_result res;
        int before = omp_threads();
        lf_status st = lf_fusion_predict_files(fu, names, paths, 2, out, &o, &res);
        CHECK(st == LF_OK && res.rows == N && res.cols == C, "%s: %d %s", bs[k], (int)st, res.message);
        CHECK(omp_threads() == before, "%s: the caller's thread count %d after, %d before", bs[k], omp_threads(),
              before);
        unsigned char *got = slurp(out, &nout);
        CHECK(got && nout == nref && memcmp(got, want, nref) == 0, "%s: the output differs from lf_fusion_predict",
              bs[k]);
        free(got);
        const char *seq = k == 0 ? "cC+cC+rR+" : "cC+rR+";
        CHECK(strcmp(ev.seq, seq) == 0 && ev.tmp_existed, "%s: events %s, want %s; temp existed %d", bs[k], ev.seq,
              seq, ev.tmp_existed);
    }
    size_t ncls;
    unsigned char *cls = slurp(outc, &ncls);
    CHECK(cls && ncls == 128 + 8 * N, "class ids: %zu bytes", ncls);
    if (cls) {
        int64_t id;
        memcpy(&id, cls + 128 + 8 * 12345, 8);
        size_t best = 0;
        for (size_t c = 1; c < C; c++)
            if (fused[12345 * C + c] > fused[12345 * C + best]) best = c;
        CHECK(id == (int64_t)best, "class of row 12345: %lld, want %zu", (long long)id, best);
    }
    free(cls);

    /* an output that is an input (by its name, a hard link or a symbolic
     * link), or the two outputs one file: refused, nothing read or written */
    {
        char hard[300], soft[300], fresh[300], fresh2[300], dangling[300], nowhere[300];
        snprintf(hard, sizeof hard, "%s/hard.npy", dir), snprintf(soft, sizeof soft, "%s/soft.npy", dir);
        snprintf(fresh, sizeof fresh, "%s/fresh.npy", dir), snprintf(fresh2, sizeof fresh2, "%s/./fresh.npy", dir);
        snprintf(dangling, sizeof dangling, "%s/dangling.npy", dir);
        snprintf(nowhere, sizeof nowhere, "%s/nowhere.npy", dir);
        CHECK(link(pb, hard) == 0 && symlink(pa, soft) == 0 && symlink("nowhere.npy", dangling) == 0, "links");
        size_t na0, nb0;
        unsigned char *a0 = slurp(pa, &na0), *b0 = slurp(pb, &nb0);
        const char *paths[2] = {pa, pb};
        struct {
            const char *out, *cls, *want;
        } cases[] = {
            {pb, NULL, "is the same file as input 2"},
            {hard, NULL, "is the same file as input 2"},
            {soft, NULL, "is the same file as input 1"},
            {out, pa, "the classes output '"},
            {out, out, "' are the same file"},
            {fresh, fresh2, "' are the same file"},     /* neither exists yet: one name in one folder */
            {dangling, nowhere, "' are the same file"}, /* the file the link would create */
            {"-", "-", "the output and the classes output are both standard output"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            lf_predict_files_options o;
            memset(&o, 0, sizeof o);
            o.flags = LF_WRITE_NO_FSYNC, o.classes_path = cases[i].cls;
            lf_predict_files_result res;
            lf_status st = lf_fusion_predict_files(fu, names, paths, 2, cases[i].out, &o, &res);
            CHECK(st == LF_ERR_ARG && strstr(res.message, cases[i].want) && !res.input, "case %zu: %d %s", i, (int)st,
                  res.message);
        }
        lf_predict_files_options o;
        memset(&o, 0, sizeof o);
        lf_predict_files_result res;
        lf_fusion_predict_files(fu, names, paths, 2, pb, &o, &res);
        CHECK(strcmp(res.message, "") != 0 && strstr(res.message, "' is the same file as input 2 '") &&
                  strstr(res.message, "'; nothing was read or written"),
              "the message: %s", res.message);
        size_t na1, nb1;
        unsigned char *a1 = slurp(pa, &na1), *b1 = slurp(pb, &nb1);
        CHECK(a0 && a1 && b0 && b1 && na0 == na1 && nb0 == nb1 && memcmp(a0, a1, na0) == 0 && memcmp(b0, b1, nb0) == 0,
              "the inputs are unchanged");
        /* a model named twice: refused (one file would be dropped unread, a model left absent) */
        const char *twice[2] = {names[0], names[0]};
        CHECK(lf_fusion_predict_files(fu, twice, paths, 2, fresh, &o, &res) == LF_ERR_ARG &&
                  strstr(res.message, "is given twice (files 1 and 2)") && access(fresh, F_OK) != 0,
              "a name given twice: %s", res.message);
        /* an input named "FILE.npz:KEY" reads FILE.npz: an output FILE.npz is that input */
        char spec[320];
        snprintf(spec, sizeof spec, "%s:arr_0", pa);
        const char *by_key[2] = {spec, pb};
        lf_fusion_predict_files(fu, names, by_key, 2, pa, &o, &res);
        CHECK(strstr(res.message, "' is the same file as input 1 '") != NULL, "an input by key: %s", res.message);
        CHECK(lf_output_is_input(pa, spec) && lf_output_is_input(soft, spec) && !lf_output_is_input(pb, spec) &&
                  !lf_output_is_input(pa, "-") && !lf_output_is_input(NULL, pa) && !lf_output_is_input(pa, NULL),
              "lf_output_is_input by key");
        FILE *lit = fopen(spec, "wb"); /* a file named that way is that file, not the archive */
        CHECK(lit && fclose(lit) == 0, "a file named %s", spec);
        CHECK(!lf_output_is_input(pa, spec) && lf_output_is_input(spec, spec), "a file named FILE:KEY");
        remove(spec);
        CHECK(lf_outputs_same(fresh, fresh2) && lf_outputs_same(dangling, nowhere) && !lf_outputs_same(fresh, nowhere) &&
                  !lf_outputs_same(pa, pb) && lf_outputs_same(hard, pb) && !lf_outputs_same(fresh, NULL),
              "lf_outputs_same");
        CHECK(access(fresh, F_OK) != 0 && access(nowhere, F_OK) != 0, "refused outputs were not created");
        free(a1);
        a1 = slurp(pa, &na1);
        CHECK(a1 && na0 == na1 && memcmp(a0, a1, na0) == 0, "the input read by key is unchanged");
        free(a0), free(b0), free(a1), free(b1);
        unlink(hard), unlink(soft), unlink(dangling);
    }

    /* a bad row in the second chunk of the second file: nothing written */
    b[18000 * C + 1] += 0.5f;
    write_npy(bad, b, N, C, 0);
    remove(out), remove(outc);
    {
        const char *paths[2] = {pa, bad};
        events ev;
        memset(&ev, 0, sizeof ev);
        lf_predict_files_options o;
        memset(&o, 0, sizeof o);
        o.classes_path = outc, o.temp = on_temp, o.temp_ctx = &ev;
        lf_predict_files_result res;
        lf_status st = lf_fusion_predict_files(fu, names, paths, 2, out, &o, &res);
        CHECK(st == LF_ERR_FORMAT && res.input == 1 && res.file == 1 && res.issue.kind == LF_INPUT_SUM &&
                  res.issue.row == 18000 && fabs(res.issue.sum - 1.5) < 1e-6,
              "bad row: st %d input %d file %zu kind %d row %zu sum %g", (int)st, res.input, res.file,
              (int)res.issue.kind, res.issue.row, res.issue.sum);
        CHECK(strcmp(ev.seq, "cC+cC+D") == 0, "bad row: events %s", ev.seq);
        char msg[600];
        snprintf(msg, sizeof msg, "row 18001 of '%s' sums to 1.5, not 1 within 1e-3", bad);
        CHECK(strcmp(res.message, msg) == 0, "bad row: %s", res.message);
        CHECK(access(out, F_OK) != 0 && access(outc, F_OK) != 0 && no_temp_left(dir), "bad row left a file");
    }
    /* shapes and names */
    {
        const char *paths[2] = {pa, pa};
        const char *wrong[2] = {"a", "z"};
        lf_predict_files_result res;
        char msg[600];
        CHECK(lf_fusion_predict_files(fu, wrong, paths, 2, out, NULL, &res) == LF_ERR_ARG && res.input == 1 &&
                  strcmp(res.message, "the fusion model has no model named 'z' (it knows a, b)") == 0,
              "name: %s", res.message);
        lf_predict_files_options many = {.threads = 1025};
        CHECK(lf_fusion_predict_files(fu, names, paths, 2, out, &many, &res) == LF_ERR_ARG &&
                  strcmp(res.message, "predict_files: threads must be 0 (OpenMP's count) or 1..1024, got 1025") == 0,
              "threads 1025: %s", res.message);
        const char *one[1] = {"b"};
        snprintf(msg, sizeof msg, "%s/x.txt", dir);
        const char *txt[1] = {msg};
        CHECK(lf_fusion_predict_files(fu, one, txt, 1, out, NULL, &res) == LF_ERR_IO &&
                  strstr(res.message, "cannot open") != NULL,
              "missing: %s", res.message);
        write_npy(bad, b, N - 1, C, 0);
        const char *short_[2] = {pa, bad};
        snprintf(msg, sizeof msg, "row-count mismatch: '%s' has %d rows but '%s' has %d", bad, N - 1, pa, N);
        CHECK(lf_fusion_predict_files(fu, names, short_, 2, out, NULL, &res) == LF_ERR_SHAPE && res.file == 1 &&
                  strcmp(res.message, msg) == 0,
              "rows: %s", res.message);
        CHECK(access(out, F_OK) != 0 && no_temp_left(dir), "a refused call left a file");
    }
    /* cancelling: the big input is 100 chunks, its last row bad */
    {
        enum { BIG = 100 * 16384 };
        char big_a[256], big_b[256];
        snprintf(big_a, sizeof big_a, "%s/big_a.npy", dir), snprintf(big_b, sizeof big_b, "%s/big_b.npy", dir);
        write_uniform(big_a, BIG, C);
        write_uniform(big_b, BIG, C);
        FILE *fb = fopen(big_b, "r+b");
        const float last[C] = {1, 1, 1};
        CHECK(fb && fseek(fb, -(long)sizeof last, SEEK_END) == 0 && fwrite(last, sizeof last, 1, fb) == 1, "bad row");
        if (fb) fclose(fb);
        cancelling(fu, dir, pa, pb, big_a, big_b, BIG);
        remove(big_a), remove(big_b);
    }
    wide_rows(dir);
    lf_fusion_free(fu);
    free(a), free(b), free(fused), free(y), free(want);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return check_report("predict_files");
}
