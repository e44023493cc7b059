/*
 * faults.c — fault injection.  Linked with -Wl,--wrap for the allocation
 * and I/O calls of the library, it makes the n-th call fail, for every n
 * until the operation succeeds, across load, compare, fit, predict and save
 * (and the .npy reader and writer): every run must return a clean error or
 * a fully correct result, leave the output file untouched when it fails,
 * and leak nothing (the program runs under LeakSanitizer).  Failing reads,
 * short reads (every read returns at most 7 bytes: must still succeed),
 * failing writes (ENOSPC), failing fsync and rename are injected the same
 * way.  A failed allocation must fail with LF_ERR_NOMEM (not, say,
 * LF_ERR_FORMAT from a loader that wraps the error; the hooks set errno to
 * ENOMEM as malloc does).  TextVectorization and the HTML report (lf_fusion_report: an
 * incomplete page is a failure) are swept too, and, when fault_test.sh
 * finds libpng and libjpeg, the image folder loader.  A fused prediction that
 * fails for want of memory must say why in the rule's own words (alone, as
 * an ensemble member, in compare's folds, through lf_fusion_predict_files).
 * Prints "faults: N passed, N failed".
 */
#include "latefuse.h"
#include "fusion/ensemble.h"
#include "io/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <dirent.h>
#include <sys/types.h>
#include <unistd.h>

/* ------------------------------------------------------------ the hooks */

enum { MODE_OFF, MODE_ALLOC, MODE_IO };
static int mode;
static long fail_at, calls, injected;
static int short_reads;

/* atomic: in the OpenMP build (`faults threads`) the library's threads
 * allocate at once, and which of them makes the n-th call is theirs to race */
static int hit(int kind) {
    if (mode != kind) return 0;
    if (__atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED) == fail_at) {
        __atomic_add_fetch(&injected, 1, __ATOMIC_RELAXED);
        return 1;
    }
    return 0;
}

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
void *__wrap_malloc(size_t n) { return hit(MODE_ALLOC) ? (errno = ENOMEM, NULL) : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t s) { return hit(MODE_ALLOC) ? (errno = ENOMEM, NULL) : __real_calloc(n, s); }
void *__wrap_realloc(void *p, size_t n) { return hit(MODE_ALLOC) ? (errno = ENOMEM, NULL) : __real_realloc(p, n); }

int __real_open(const char *, int, ...);
ssize_t __real_read(int, void *, size_t);
size_t __real_fwrite(const void *, size_t, size_t, FILE *);
int __real_fflush(FILE *);
int __real_fsync(int);
int __real_rename(const char *, const char *);
void *__real_mmap(void *, size_t, int, int, int, off_t);
ssize_t __real_pread(int, void *, size_t, off_t);
ssize_t __real_pwrite(int, const void *, size_t, off_t);

int __wrap_open(const char *p, int flags, ...) {
    if (hit(MODE_IO)) return errno = EACCES, -1;
    return __real_open(p, flags, 0644);
}
ssize_t __wrap_read(int fd, void *b, size_t n) {
    if (hit(MODE_IO)) return errno = EIO, -1;
    return __real_read(fd, b, short_reads && n > 7 ? 7 : n);
}
size_t __wrap_fwrite(const void *p, size_t s, size_t n, FILE *f) {
    if (hit(MODE_IO)) return errno = ENOSPC, 0;
    return __real_fwrite(p, s, n, f);
}
int __wrap_fflush(FILE *f) {
    if (hit(MODE_IO)) return errno = ENOSPC, EOF;
    return __real_fflush(f);
}
int __wrap_fsync(int fd) {
    if (hit(MODE_IO)) return errno = EIO, -1;
    return __real_fsync(fd);
}
int __wrap_rename(const char *a, const char *b) {
    if (hit(MODE_IO)) return errno = EXDEV, -1;
    return __real_rename(a, b);
}
/* a failed map: the .npy reader falls back to read() */
void *__wrap_mmap(void *a, size_t n, int prot, int flags, int fd, off_t off) {
    if (hit(MODE_IO)) return errno = ENOMEM, MAP_FAILED;
    return __real_mmap(a, n, prot, flags, fd, off);
}
ssize_t __wrap_pread(int fd, void *b, size_t n, off_t off) {
    if (hit(MODE_IO)) return errno = EIO, -1;
    return __real_pread(fd, b, short_reads && n > 7 ? 7 : n, off);
}
ssize_t __wrap_pwrite(int fd, const void *b, size_t n, off_t off) {
    if (hit(MODE_IO)) return errno = ENOSPC, -1;
    return __real_pwrite(fd, b, short_reads && n > 7 ? 7 : n, off);
}

/* ------------------------------------------------------------ fixtures */

static int pass, fail;
static long runs_with_fault;
static char dir[] = "/tmp/lf_faults_XXXXXX";
static char model_path[128], fusion_path[128], out_path[128], npy_path[128];

#define N 40
#define C 3
static float pa[N * C], pb[N * C], x1[N * 4];
static int y[N];
static float yf[N];
static const char *names[2] = {"a", "b"};

static void fixtures(void) {
    unsigned long long s = 3;
    for (int r = 0; r < N; r++) {
        y[r] = r % C, yf[r] = (float)y[r];
        double sa = 0, sb = 0;
        for (int c = 0; c < C; c++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            pa[r * C + c] = (float)(s >> 40) / 16777216.0f + (c == y[r]);
            pb[r * C + c] = (float)((s >> 16) & 0xffff) / 65536.0f + 0.5f * (c == y[r]);
            sa += pa[r * C + c], sb += pb[r * C + c];
        }
        for (int c = 0; c < C; c++) pa[r * C + c] /= (float)sa, pb[r * C + c] /= (float)sb;
        for (int j = 0; j < 4; j++) x1[r * 4 + j] = (float)((r * 7 + j * 3) % 11) / 11.0f;
    }
    pb[5 * C] = pb[5 * C + 1] = pb[5 * C + 2] = NAN; /* a missing output */
}

static lf_model *small_model(uint64_t seed) {
    lf_model *m;
    if (lf_model_create(&m, seed) != LF_OK) return NULL;
    int x = lf_input(m, 4, "x");
    int h = lf_dense(m, x, 8, LF_ACT_RELU, 1, "h");
    int d = lf_dropout(m, h, 0.1f, "d");
    if (lf_model_compile(m, lf_dense(m, d, C, LF_ACT_SOFTMAX, 1, "o"), LF_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY,
                         NULL) != LF_OK) {
        lf_model_free(m);
        return NULL;
    }
    return m;
}

/* a file's bytes, for "untouched" checks */
static size_t slurp(const char *path, unsigned char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* ------------------------------------------------------- the operations */

static float ref_model[N * C], ref_fusion[N * C], ref_fit[N * C];

/* each returns its status; on success it checks its result (ok = 1) */
static lf_status op_load(int *ok) {
    lf_model *m;
    lf_status st = lf_model_create(&m, 0);
    if (st != LF_OK) return st;
    st = lf_model_load(m, model_path);
    float out[N * C];
    const float *xs[1] = {x1};
    if (st == LF_OK) st = lf_model_predict(m, xs, N, out);
    if (st == LF_OK) *ok = memcmp(out, ref_model, sizeof out) == 0;
    lf_model_free(m);
    return st;
}

static lf_status op_fusion_load_predict(int *ok) {
    lf_fusion *f;
    lf_status st = lf_fusion_create(&f);
    if (st != LF_OK) return st;
    st = lf_fusion_load(f, fusion_path);
    float out[N * C];
    const float *p[2] = {pa, pb};
    if (st == LF_OK) st = lf_fusion_predict(f, p, N, out);
    if (st == LF_OK) *ok = memcmp(out, ref_fusion, sizeof out) == 0;
    lf_fusion_free(f);
    return st;
}

static lf_status op_fit(int *ok) {
    lf_model *m = small_model(1);
    if (!m) return LF_ERR_NOMEM;
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 2, o.validation_split = 0.25f, o.patience = 1, o.restore_best_weights = 1;
    const float *xs[1] = {x1};
    lf_status st = lf_model_fit(m, xs, yf, N, &o);
    float out[N * C];
    if (st == LF_OK) st = lf_model_predict(m, xs, N, out);
    if (st == LF_OK) *ok = memcmp(out, ref_fit, sizeof out) == 0;
    lf_model_free(m);
    return st;
}

static lf_status op_fusion_fit(int *ok) {
    lf_fusion *f;
    lf_status st = lf_fusion_create(&f);
    if (st != LF_OK) return st;
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_WAVG, o.calibrate = 1, o.epochs = 2;
    const float *p[2] = {pa, pb};
    st = lf_fusion_fit(f, p, names, 2, N, C, y, &o);
    float out[N * C];
    if (st == LF_OK) st = lf_fusion_predict(f, p, N, out);
    if (st == LF_OK) *ok = memcmp(out, ref_fusion, sizeof out) == 0;
    lf_fusion_free(f);
    return st;
}

/* ges-log over the two models (b misses a row: the pool's fallback there)
 * and wavg on the rows three times over (120 rows with modality dropout:
 * a validation split of whole rows), fitted and applied */
#define NT (3 * N)
static float pa3[NT * C], pb3[NT * C], ref_ges[N * C], ref_split[NT * C];
static int y3[NT];
static lf_status fit_other(lf_fusion *f, int split) {
    lf_fusion_options o = lf_fusion_defaults();
    o.method = split ? LF_FUSE_WAVG : LF_FUSE_GES_LOG, o.epochs = 2;
    const float *p[2] = {pa, pb}, *p3[2] = {pa3, pb3};
    return split ? lf_fusion_fit(f, p3, names, 2, NT, C, y3, &o) : lf_fusion_fit(f, p, names, 2, N, C, y, &o);
}
static lf_status op_other(int *ok, int split) {
    lf_fusion *f;
    lf_status st = lf_fusion_create(&f);
    if (st != LF_OK) return st;
    const float *p[2] = {pa, pb}, *p3[2] = {pa3, pb3};
    static float out[NT * C];
    st = fit_other(f, split);
    if (st == LF_OK) st = lf_fusion_predict(f, split ? p3 : p, split ? NT : N, out);
    if (st == LF_OK) *ok = memcmp(out, split ? ref_split : ref_ges, (split ? NT : N) * C * sizeof(float)) == 0;
    lf_fusion_free(f);
    return st;
}
static lf_status op_ges_fit(int *ok) { return op_other(ok, 0); }
static lf_status op_split_fit(int *ok) { return op_other(ok, 1); }

/* an ensemble of mean and acc-weighted (counts 1, 2), fitted directly:
 * a failed allocation anywhere in it frees what it made (it once leaked
 * its state when the first allocations failed) */
static float ref_ensemble[N * C];
static lf_status fit_ensemble(lf_fusion *f) {
    lf_fusion_options o = lf_fusion_defaults();
    const lf_method ms[2] = {LF_FUSE_MEAN, LF_FUSE_ACC_WEIGHTED};
    const int cal[2] = {0, 0};
    const float counts[2] = {1, 2};
    const float *p[2] = {pa, pb};
    return lf_ensemble_fit(f, p, names, 2, N, C, y, &o, ms, cal, counts, 2, 0);
}
static lf_status op_ensemble_fit(int *ok) {
    lf_fusion *f;
    lf_status st = lf_fusion_create(&f);
    if (st != LF_OK) return st;
    st = fit_ensemble(f);
    const float *p[2] = {pa, pb};
    float out[N * C];
    if (st == LF_OK) st = lf_fusion_predict(f, p, N, out);
    if (st == LF_OK) *ok = memcmp(out, ref_ensemble, sizeof out) == 0;
    lf_fusion_free(f);
    return st;
}

static lf_status op_compare(int *ok) {
    lf_fusion *f;
    lf_status st = lf_fusion_create(&f);
    if (st != LF_OK) return st;
    lf_fusion_options o = lf_fusion_defaults();
    o.folds = 2, o.epochs = 1;
    lf_method ms[4] = {LF_FUSE_MEAN, LF_FUSE_DECISION_TEMPLATE, LF_FUSE_ACC_WEIGHTED, LF_FUSE_STACK_LR};
    const float *p[2] = {pa, pb};
    lf_compare_table *t;
    st = lf_fusion_compare(f, p, names, 2, N, C, y, ms, 4, &o, &t);
    if (st == LF_OK) *ok = t->n_rows == 4 + 2 + 1 && isfinite(t->rows[0].mean[LF_METRIC_LOG_LOSS]);
    if (st == LF_OK) lf_compare_table_free(t);
    lf_fusion_free(f);
    return st;
}

/* A method's failure in predict told by its own message: fusions fitted
 * without faults (the mean rule, acc-weighted, and their ensemble), then
 * predict on rows with a missing output (the rules' path that allocates)
 * through lf_fusion_predict_features' message, and compare through
 * lf_fusion_error */
static lf_fusion *says_f;

static lf_status op_predict_says(char *msg, size_t len) {
    float out[N * C];
    const float *p[2] = {pa, pb};
    return lf_fusion_predict_features(says_f, p, N, NULL, 0, out, msg, len);
}

static lf_status op_compare_says(char *msg, size_t len) {
    lf_fusion *f;
    lf_status st = lf_fusion_create(&f);
    if (st != LF_OK) return st;
    lf_fusion_options o = lf_fusion_defaults();
    o.folds = 2;
    lf_method ms[1] = {LF_FUSE_ACC_WEIGHTED};
    const float *p[2] = {pa, pb};
    lf_compare_table *t = NULL;
    st = lf_fusion_compare(f, p, names, 2, N, C, y, ms, 1, &o, &t);
    snprintf(msg, len, "%s", lf_fusion_error(f));
    lf_compare_table_free(t);
    lf_fusion_free(f);
    return st;
}

static lf_status op_files_says(char *msg, size_t len) {
    const char *paths[2] = {npy_path, npy_path};
    lf_predict_files_result res;
    lf_predict_files_options po = {.flags = LF_WRITE_NO_FSYNC | LF_READ_MMAP};
    lf_status st = lf_fusion_predict_files(says_f, names, paths, 2, out_path, &po, &res);
    snprintf(msg, len, "%s", st == LF_OK ? "" : res.message);
    return st;
}

/* every allocation of op failed in turn: `want` must be among the
 * messages, exactly; with `strict`, no failure may say only its status's
 * text (lf_status_string) */
static void says_why(const char *what, lf_status (*op)(char *, size_t), int strict, const char *want) {
    long n;
    int bad = 0, seen = 0;
    for (n = 1; n < 100000; n++) {
        char msg[512] = "";
        mode = MODE_ALLOC, fail_at = n, calls = 0;
        long before = injected;
        lf_status st = op(msg, sizeof msg);
        mode = MODE_OFF;
        if (injected == before) {
            if (st != LF_OK) bad++, fprintf(stderr, "%s: fails without a fault: %s\n", what, msg);
            break;
        }
        runs_with_fault++;
        if (st == LF_OK) continue;
        if (strict && (!msg[0] || strcmp(msg, lf_status_string(st)) == 0))
            bad++, fprintf(stderr, "%s: fault %ld says only '%s'\n", what, n, msg);
        seen |= strcmp(msg, want) == 0;
    }
    if (!seen) bad++, fprintf(stderr, "%s: never said '%s'\n", what, want);
    printf("%-32s %5ld faults injected, %s\n", what, n - 1, bad ? "FAILED" : "all said why");
    if (bad) fail++;
    else pass++;
}

/* wavg on NT rows: its penalty is cross-validated (networks trained and
 * run on the folds), and every failure is told as out of memory, not as a
 * network's stale message (it once said "no layer named 'gate'") */
static lf_status op_wavg_says(char *msg, size_t len) {
    lf_fusion *f;
    lf_status st = lf_fusion_create(&f);
    if (st != LF_OK) return snprintf(msg, len, "out of memory"), st;
    st = fit_other(f, 1);
    snprintf(msg, len, "%s", lf_fusion_error(f));
    lf_fusion_free(f);
    return st;
}

static void says_out_of_memory(const char *what, lf_status (*op)(char *, size_t)) {
    long n;
    int bad = 0;
    for (n = 1; n < 100000; n++) {
        char msg[512] = "";
        mode = MODE_ALLOC, fail_at = n, calls = 0;
        long before = injected;
        lf_status st = op(msg, sizeof msg);
        mode = MODE_OFF;
        if (injected == before) break;
        runs_with_fault++;
        if (st != LF_OK && !strstr(msg, "out of memory"))
            bad++, fprintf(stderr, "%s: fault %ld says '%s'\n", what, n, msg);
    }
    printf("%-32s %5ld faults injected, %s\n", what, n - 1, bad ? "FAILED" : "all said why");
    if (bad) fail++;
    else pass++;
}

static void predict_messages(void) {
    const float *p[2] = {pa, pb};
    lf_fusion_options o = lf_fusion_defaults();
    lf_method ms[2] = {LF_FUSE_MEAN, LF_FUSE_ACC_WEIGHTED};
    int cal[2] = {0, 0};
    float counts[2] = {1, 1};
    const char *rule_oom = "fusion rule: out of memory for 3 classes";
    for (int i = 0; i < 3; i++) {
        lf_fusion_create(&says_f);
        o.method = i < 2 ? ms[i] : LF_FUSE_AUTO;
        lf_status st = i < 2 ? lf_fusion_fit(says_f, p, names, 2, N, C, y, &o)
                             : lf_ensemble_fit(says_f, p, names, 2, N, C, y, &o, ms, cal, counts, 2, 0);
        if (st != LF_OK) {
            fail++, fprintf(stderr, "predict messages: fit %d: %s\n", i, lf_fusion_error(says_f));
        } else if (i < 2) {
            says_why(i ? "alloc: acc-weighted says why" : "alloc: mean says why", op_predict_says, 1, rule_oom);
            if (i == 1) says_why("alloc: predict files says why", op_files_says, 0, rule_oom);
        } else {
            says_why("alloc: ensemble says why", op_predict_says, 1,
                     "ensemble member 1 (acc-weighted): fusion rule: out of memory for 3 classes");
        }
        lf_fusion_free(says_f);
    }
    says_why("alloc: compare says why", op_compare_says, 0,
             "acc-weighted, fold 1: prediction failed (fusion rule: out of memory for 3 classes)");
    says_out_of_memory("alloc: wavg's penalty says why", op_wavg_says);
}

/* TextVectorization: adapt, transform, save, load, transform again */
static const char *tv_texts[3] = {"南宁青秀山郁金香盛开，游客赏花。", "The cat sat; the CAT sat!",
                                  "彩色包衣的蔬菜种子 seeds\n第二行"};
enum { TV_DIM = 64 };
static float ref_tv[3 * TV_DIM];
static char tv_path[128];

static lf_textvec *tv_new(void) {
    lf_textvec_options o = lf_textvec_defaults();
    o.output_mode = LF_TEXTVEC_TF_IDF, o.char_ngram_min = 1, o.char_ngram_max = 2;
    o.max_tokens = TV_DIM, o.pad_to_max_tokens = 1;
    lf_textvec *tv = NULL;
    return lf_textvec_create(&tv, &o, NULL, 0) == LF_OK ? tv : NULL;
}

static lf_status op_textvec(int *ok) {
    lf_textvec *tv = tv_new(), *tl = NULL;
    lf_status st = tv ? lf_textvec_adapt(tv, tv_texts, 3) : LF_ERR_NOMEM;
    float out[3 * TV_DIM], back[3 * TV_DIM];
    if (st == LF_OK) st = lf_textvec_transform(tv, tv_texts, 3, out);
    if (st == LF_OK) st = lf_textvec_save(tv, tv_path);
    if (st == LF_OK) st = lf_textvec_create(&tl, NULL, NULL, 0);
    if (st == LF_OK) st = lf_textvec_load(tl, tv_path);
    if (st == LF_OK) st = lf_textvec_transform(tl, tv_texts, 3, back);
    if (st == LF_OK) *ok = memcmp(out, ref_tv, sizeof out) == 0 && memcmp(back, ref_tv, sizeof back) == 0;
    lf_textvec_free(tv);
    lf_textvec_free(tl);
    return st;
}

/* A failed adapt keeps the earlier vocabulary (reported as a wrong
 * success when it does not). */
static lf_status op_textvec_keep(int *ok) {
    int saved = mode;
    mode = MODE_OFF; /* the first adapt runs without faults */
    lf_textvec *tv = tv_new();
    lf_status st = tv ? lf_textvec_adapt(tv, tv_texts + 1, 1) : LF_ERR_NOMEM;
    size_t v0 = lf_textvec_vocabulary_size(tv);
    char first[64] = "";
    if (st == LF_OK) snprintf(first, sizeof first, "%s", lf_textvec_vocabulary(tv, 1));
    mode = saved;
    if (st != LF_OK) {
        lf_textvec_free(tv);
        return LF_OK; /* ok stays 0: reported */
    }
    st = lf_textvec_adapt(tv, tv_texts, 3);
    float out[3 * TV_DIM];
    if (st != LF_OK && (lf_textvec_vocabulary_size(tv) != v0 || strcmp(lf_textvec_vocabulary(tv, 1), first) != 0))
        st = LF_OK; /* ok stays 0: the old vocabulary was damaged */
    else if (st == LF_OK) {
        st = lf_textvec_transform(tv, tv_texts, 3, out);
        if (st == LF_OK) *ok = memcmp(out, ref_tv, sizeof out) == 0;
    }
    lf_textvec_free(tv);
    return st;
}

#if defined(LF_HAVE_PNG) && defined(LF_HAVE_JPEG)
/* The image folder loader: img/a/x.png and img/b/y.jpg (seed files of the
 * image fuzzer), resized to 6 x 5. */
static char img_dir[160], img_files[4][200];
static uint8_t ref_img[2 * 6 * 5 * 3];

static lf_status op_images(int *ok) {
    lf_image_set s;
    lf_status st = lf_image_folder_load(img_dir, 6, 5, &s, NULL, 0);
    if (st == LF_OK) {
        *ok = s.n == 2 && s.labels[0] == 0 && s.labels[1] == 1 && memcmp(s.images, ref_img, sizeof ref_img) == 0;
        lf_image_set_free(&s);
    }
    return st;
}

static int copy_file(const char *from, const char *to) {
    static unsigned char buf[1 << 16];
    FILE *f = fopen(from, "rb");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    f = fopen(to, "wb");
    if (!f) return 0;
    int ok = fwrite(buf, 1, n, f) == n;
    return (fclose(f) == 0) && ok && n > 0;
}

static int images_setup(const char *root) {
    snprintf(img_dir, sizeof img_dir, "%s/img", root);
    snprintf(img_files[0], sizeof img_files[0], "%s/a", img_dir);
    snprintf(img_files[1], sizeof img_files[1], "%s/b", img_dir);
    snprintf(img_files[2], sizeof img_files[2], "%s/a/x.png", img_dir);
    snprintf(img_files[3], sizeof img_files[3], "%s/b/y.jpg", img_dir);
    if (mkdir(img_dir, 0700) || mkdir(img_files[0], 0700) || mkdir(img_files[1], 0700)) return 0;
    if (!copy_file("fuzz/corpus/image/ok_rgb.png", img_files[2]) ||
        !copy_file("fuzz/corpus/image/ok_rgb.jpg", img_files[3]))
        return 0;
    lf_image_set s;
    if (lf_image_folder_load(img_dir, 6, 5, &s, NULL, 0) != LF_OK) return 0;
    memcpy(ref_img, s.images, sizeof ref_img);
    lf_image_set_free(&s);
    return 1;
}

static void images_cleanup(void) {
    unlink(img_files[2]), unlink(img_files[3]), rmdir(img_files[0]), rmdir(img_files[1]), rmdir(img_dir);
}
#endif

static unsigned char old_bytes[1 << 16], new_bytes[1 << 16], cur[1 << 16];
static size_t old_len, new_len;

static lf_status op_save(int *ok) {
    lf_model *m = small_model(1); /* the new model; the file holds seed 7's */
    lf_status st = m ? lf_model_save(m, out_path, LF_SAVE_OPTIMIZER) : LF_ERR_NOMEM;
    lf_model_free(m);
    size_t n = slurp(out_path, cur, sizeof cur);
    if (st == LF_OK) *ok = n == new_len && memcmp(cur, new_bytes, n) == 0;
    else *ok = n == old_len && memcmp(cur, old_bytes, n) == 0; /* untouched */
    return st;
}

/* lf_fusion_report over the out path (the old file must survive a failure;
 * a success is the reference page, byte for byte) */
static unsigned char report_ref[1 << 18], report_cur[1 << 18];
static size_t report_len;

static lf_status op_report(int *ok) {
    lf_fusion *f;
    lf_status st = lf_fusion_create(&f);
    if (st == LF_OK) {
        lf_report_options o = lf_report_defaults();
        o.fusion.folds = 2, o.fusion.epochs = 2;
        lf_method ms[2] = {LF_FUSE_MEAN, LF_FUSE_WAVG};
        o.methods = ms, o.n_methods = 2;
        o.command = "latefuse report";
        const float *p[2] = {pa, pb};
        st = lf_fusion_report(f, p, names, 2, N, C, y, &o, out_path, LF_WRITE_NO_FSYNC);
        lf_fusion_free(f);
    }
    size_t n = slurp(out_path, report_cur, sizeof report_cur);
    if (st == LF_OK) *ok = report_len && n == report_len && memcmp(report_cur, report_ref, n) == 0;
    else *ok = n == old_len && memcmp(report_cur, old_bytes, n) == 0; /* untouched */
    return st;
}

static lf_status op_npy(int *ok) {
    lf_array a;
    lf_err e;
    lf_status st = lf_npy_read(npy_path, &a, &e);
    int read_ok = 0;
    if (st == LF_OK) {
        read_ok = a.rows == N && a.cols == C && memcmp(a.data, pa, sizeof pa) == 0;
        st = lf_npy_write(out_path, a.data, a.rows, a.cols, 0, &e);
        lf_array_free(&a);
    }
    /* success: the output reads back as the input; failure: untouched
     * (checked with the hooks off) */
    int saved = mode;
    mode = MODE_OFF;
    size_t n = slurp(out_path, cur, sizeof cur);
    if (st == LF_OK) {
        lf_array b;
        *ok = read_ok && lf_npy_read(out_path, &b, &e) == LF_OK && memcmp(b.data, pa, sizeof pa) == 0;
        if (*ok) lf_array_free(&b);
    } else {
        *ok = n == old_len && memcmp(cur, old_bytes, n) == 0;
    }
    mode = saved;
    return st;
}

/* lf_npy_save_all (demo --save): three files over old ones, all or
 * nothing.  On failure every file is old, unless a rename itself failed:
 * then the files renamed before it (a prefix) are new and the message
 * names them; no temporary file is ever left.  The temp callback's
 * protocol holds: CREATING before each CREATED, one RENAMED or DISCARDED
 * at the end. */
#define ALL_FILES 3
static struct {
    int held, tries, ended, bad;
} all_told;
static void all_temp(void *ctx, lf_temp_event ev, const char *path, int ok) {
    (void)ctx;
    switch (ev) {
    case LF_TEMP_CREATING: all_told.bad |= all_told.held, all_told.held = 1, all_told.tries++; break;
    case LF_TEMP_CREATED: all_told.bad |= !all_told.held || (ok != (path != NULL)), all_told.held = 0; break;
    case LF_TEMP_RENAMING: all_told.bad |= all_told.held, all_told.held = 1; break;
    case LF_TEMP_RENAMED: all_told.bad |= !all_told.held, all_told.held = 0, all_told.ended++; break;
    case LF_TEMP_DISCARDED: all_told.bad |= all_told.held, all_told.ended++; break;
    }
}
static lf_status op_npy_all(int *ok) {
    char paths[ALL_FILES][160], msg[1024];
    const float *data[ALL_FILES] = {pa, pb, pa};
    lf_npy_file files[ALL_FILES];
    int saved = mode;
    mode = MODE_OFF;
    for (int k = 0; k < ALL_FILES; k++) { /* the old files */
        snprintf(paths[k], sizeof paths[k], "%s/all%d.npy", dir, k);
        FILE *f = fopen(paths[k], "wb");
        if (f) fwrite(old_bytes, 1, old_len, f), fclose(f);
        files[k] = (lf_npy_file){paths[k], data[k], N, C};
    }
    memset(&all_told, 0, sizeof all_told);
    mode = saved;
    lf_status st = lf_npy_save_all(files, ALL_FILES, 0, all_temp, NULL, msg, sizeof msg);
    mode = MODE_OFF;
    int n_new = 0, prefix = 1, right = 1, is_new[ALL_FILES];
    for (int k = 0; k < ALL_FILES; k++) {
        size_t n = slurp(paths[k], cur, sizeof cur);
        int old = n == old_len && memcmp(cur, old_bytes, n) == 0;
        lf_array b;
        lf_err e;
        is_new[k] = !old && lf_npy_read(paths[k], &b, &e) == LF_OK;
        if (is_new[k]) {
            right &= b.rows == N && b.cols == C && memcmp(b.data, data[k], sizeof pa) == 0;
            lf_array_free(&b);
        }
        n_new += is_new[k];
        if (!old && !is_new[k]) right = 0;
    }
    for (int k = 0; k < ALL_FILES; k++) prefix &= is_new[k] == (k < n_new); /* the new ones come first */
    int entries = 0; /* no temporary file left: the fixtures and the three */
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) entries += strncmp(de->d_name, "all", 3) == 0;
    if (d) closedir(d);
    if (st == LF_OK) *ok = right && n_new == ALL_FILES;
    else *ok = right && prefix && n_new < ALL_FILES && (n_new == 0 || strstr(msg, "replaced before it"));
    *ok = *ok && entries == ALL_FILES && !all_told.held && !all_told.bad &&
          all_told.ended == (all_told.tries > 0);
    mode = saved;
    return st;
}

/* what `latefuse predict` does on its threads: rows read by position (on
 * read(), predict's default), written by position out of order into two files
 * (the probabilities and int64 ids), both finished before either is
 * renamed; on failure the ids file does not exist and out_path is
 * untouched, unless only the last rename failed */
static lf_status op_npy_at(int *ok) {
    lf_err e;
    lf_npy_reader r;
    lf_npy_writer w, wi;
    lf_npy_buf buf;
    memset(&w, 0, sizeof w), memset(&wi, 0, sizeof wi), memset(&buf, 0, sizeof buf);
    static int64_t ids[N];
    for (int i = 0; i < N; i++) ids[i] = y[i];
    char ids_path[160];
    snprintf(ids_path, sizeof ids_path, "%s.ids", out_path);
    lf_status st = lf_npy_reader_open(&r, npy_path, LF_NPY_NO_MMAP, &e);
    if (st == LF_OK) st = lf_npy_writer_open(&w, out_path, N, C, 0, &e);
    if (st == LF_OK) st = lf_npy_writer_positional(&w, &e);
    if (st == LF_OK) st = lf_npy_writer_open_i64(&wi, ids_path, N, 0, &e);
    if (st == LF_OK) st = lf_npy_writer_positional(&wi, &e);
    for (int c = 3; c >= 0 && st == LF_OK; c--) { /* 4 chunks of 10 rows, last first */
        const float *rows = NULL;
        st = lf_npy_reader_at(&r, (size_t)c * 10, 10, &buf, &rows, &e);
        if (st == LF_OK) st = lf_npy_writer_rows_at(&w, (size_t)c * 10, rows, 10, &e);
        if (st == LF_OK) st = lf_npy_writer_i64_at(&wi, (size_t)c * 10, ids + c * 10, 10, &e);
    }
    if (st == LF_OK) st = lf_npy_writer_finish(&w, &e);
    if (st == LF_OK) st = lf_npy_writer_finish(&wi, &e);
    if (st == LF_OK) st = lf_npy_writer_commit(&w, &e);
    int first_committed = st == LF_OK;
    if (st == LF_OK) st = lf_npy_writer_commit(&wi, &e);
    lf_npy_writer_abort(&w), lf_npy_writer_abort(&wi);
    lf_npy_buf_free(&buf);
    lf_npy_reader_close(&r);
    int saved = mode;
    mode = MODE_OFF;
    size_t n = slurp(out_path, cur, sizeof cur);
    if (st == LF_OK) {
        lf_array b, bi;
        *ok = lf_npy_read(out_path, &b, &e) == LF_OK;
        if (*ok) *ok = memcmp(b.data, pa, sizeof pa) == 0, lf_array_free(&b);
        if (*ok) *ok = lf_npy_read(ids_path, &bi, &e) == LF_OK;
        if (*ok) *ok = memcmp(bi.data, yf, sizeof yf) == 0, lf_array_free(&bi);
    } else if (first_committed) {
        /* the one window left: the second rename failed after the first
         * (both files were complete): the first output is the new one */
        lf_array b;
        *ok = lf_npy_read(out_path, &b, &e) == LF_OK && access(ids_path, F_OK) != 0;
        if (*ok) *ok = memcmp(b.data, pa, sizeof pa) == 0, lf_array_free(&b);
    } else {
        *ok = n == old_len && memcmp(cur, old_bytes, n) == 0 && access(ids_path, F_OK) != 0;
    }
    /* no temporary file left: the folder holds the fixtures only */
    size_t files = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d)))
        files += strstr(de->d_name, ".tmp-") != NULL;
    if (d) closedir(d);
    *ok = *ok && files == 0;
    unlink(ids_path);
    mode = saved;
    return st;
}

/* ------------------------------------------------------------ threads */

/* `faults threads`, built with -fopenmp and run on 2 and 3 threads
 * (fault_test.sh): compare's and auto's cross-validation units, auto's
 * nested ensemble selections and an ensemble's members run on the
 * process's threads, so the failing allocation lands in whichever thread
 * makes the n-th call.  Every run must end in the exact result of the run
 * without faults (for auto: its table, note and prediction), or in
 * LF_ERR_NOMEM with a message, and leak nothing; auto may also end in its
 * documented fallback, the single choice fitted, when its ensemble step
 * failed (the note says so). */
static char thread_msg[512];
static lf_compare_table *ref_table, *ref_auto_table;
static char ref_auto_note[2048];
static float ref_auto[NT * C], ref_auto_one[NT * C];

static lf_status compare_threads(lf_fusion *f, lf_compare_table **t) {
    lf_fusion_options o = lf_fusion_defaults();
    o.folds = 3, o.epochs = 1;
    lf_method ms[6] = {LF_FUSE_MEAN, LF_FUSE_ACC_WEIGHTED, LF_FUSE_DECISION_TEMPLATE,
                       LF_FUSE_STACK_LR, LF_FUSE_GES_LOG, LF_FUSE_KNORA_E};
    const float *p[2] = {pa, pb};
    return lf_fusion_compare(f, p, names, 2, N, C, y, ms, 6, &o, t);
}

static int same_table(const lf_compare_table *a, const lf_compare_table *b) {
    if (a->n_rows != b->n_rows || a->n_models != b->n_models) return 0;
    for (size_t i = 0; i < a->n_rows; i++) {
        const lf_score_row *r = &a->rows[i], *s = &b->rows[i];
        if (strcmp(r->name, s->name) || memcmp(r->mean, s->mean, sizeof r->mean) ||
            memcmp(r->std, s->std, sizeof r->std) || !r->acc_without != !s->acc_without ||
            (r->acc_without && memcmp(r->acc_without, s->acc_without, a->n_models * sizeof(double))))
            return 0;
    }
    return 1;
}

/* each keeps the failing call's message in thread_msg: the fusion's, or
 * predict's own (lf_fusion_predict_features) */
static lf_status op_compare_threads(int *ok) {
    lf_fusion *f;
    lf_status st = lf_fusion_create(&f);
    if (st != LF_OK) return snprintf(thread_msg, sizeof thread_msg, "create"), st;
    lf_compare_table *t = NULL;
    st = compare_threads(f, &t);
    if (st == LF_OK) *ok = same_table(t, ref_table);
    snprintf(thread_msg, sizeof thread_msg, "%s", lf_fusion_error(f));
    lf_compare_table_free(t);
    lf_fusion_free(f);
    return st;
}

/* auto on the 120 rows (40 a class: its ensemble step runs, with the
 * nested selections and the members' fits on threads); single: the one
 * candidate it chooses (auto_single), what a failed ensemble step falls
 * back to */
static lf_status auto_fit(lf_fusion *f, int single) {
    lf_fusion_options o = lf_fusion_defaults();
    o.method = LF_FUSE_AUTO, o.folds = 2, o.epochs = 1, o.seed = 5, o.auto_single = single;
    const float *p3[2] = {pa3, pb3};
    return lf_fusion_fit(f, p3, names, 2, NT, C, y3, &o);
}

/* the fault-free run's table, note and prediction; or, where the note says
 * the ensemble step failed, the single choice's prediction */
static lf_status op_auto_threads(int *ok) {
    lf_fusion *f;
    lf_status st = lf_fusion_create(&f);
    if (st != LF_OK) return snprintf(thread_msg, sizeof thread_msg, "create"), st;
    st = auto_fit(f, 0);
    if (st != LF_OK) snprintf(thread_msg, sizeof thread_msg, "%s", lf_fusion_error(f));
    const float *p3[2] = {pa3, pb3};
    static float out[NT * C];
    if (st == LF_OK) st = lf_fusion_predict_features(f, p3, NT, NULL, 0, out, thread_msg, sizeof thread_msg);
    if (st == LF_OK) {
        const char *note = lf_fusion_auto_note(f);
        const lf_compare_table *t = lf_fusion_auto_table(f);
        if (note && strstr(note, "auto's ensemble failed"))
            *ok = memcmp(out, ref_auto_one, sizeof out) == 0;
        else
            *ok = note && t && strcmp(note, ref_auto_note) == 0 && same_table(t, ref_auto_table) &&
                  memcmp(out, ref_auto, sizeof out) == 0;
    }
    lf_fusion_free(f);
    return st;
}

/* an ensemble of four members that allocate as they fit (stack-lr's
 * penalty search, ges-log's selection, knora-e's neighbour index, a decision
 * template after a temperature), on the 120 rows, over the geometric pool:
 * its members' fits run on the process's threads, so most of its
 * allocations are made off the calling thread */
static float ref_ensemble4[NT * C];
static lf_status fit_ensemble4(lf_fusion *f) {
    lf_fusion_options o = lf_fusion_defaults();
    o.epochs = 2, o.seed = 3;
    const lf_method ms[4] = {LF_FUSE_STACK_LR, LF_FUSE_GES_LOG, LF_FUSE_KNORA_E, LF_FUSE_DECISION_TEMPLATE};
    const int cal[4] = {1, 0, 0, 1};
    const float counts[4] = {3, 2, 1, 1};
    const float *p3[2] = {pa3, pb3};
    return lf_ensemble_fit(f, p3, names, 2, NT, C, y3, &o, ms, cal, counts, 4, 1);
}

/* fit, then predict the `rows` rows it was fitted on (pa/pb or pa3/pb3) */
static lf_status fit_predict_threads(int *ok, lf_status (*fit)(lf_fusion *), const float *ref, size_t rows) {
    lf_fusion *f;
    lf_status st = lf_fusion_create(&f);
    if (st != LF_OK) return snprintf(thread_msg, sizeof thread_msg, "create"), st;
    st = fit(f);
    if (st != LF_OK) snprintf(thread_msg, sizeof thread_msg, "%s", lf_fusion_error(f));
    const float *p[2] = {pa, pb}, *p3[2] = {pa3, pb3};
    static float out[NT * C];
    if (st == LF_OK)
        st = lf_fusion_predict_features(f, rows == NT ? p3 : p, rows, NULL, 0, out, thread_msg, sizeof thread_msg);
    if (st == LF_OK) *ok = memcmp(out, ref, rows * C * sizeof *out) == 0;
    lf_fusion_free(f);
    return st;
}
static lf_status op_ensemble_threads(int *ok) { return fit_predict_threads(ok, fit_ensemble, ref_ensemble, N); }
static lf_status op_ensemble4_threads(int *ok) { return fit_predict_threads(ok, fit_ensemble4, ref_ensemble4, NT); }

/* as sweep() for allocations, each failure also told as LF_ERR_NOMEM with
 * a message; every n up to 400, then every `stride`-th (auto makes
 * thousands of allocations, and each run repeats the whole fit) */
static void sweep_threads(const char *what, lf_status (*op)(int *), long stride) {
    long n, runs = 0;
    int bad = 0;
    for (n = 1;; n += n < 400 ? 1 : stride) {
        int ok = 0;
        thread_msg[0] = 0;
        mode = MODE_ALLOC, fail_at = n, calls = 0;
        long before = injected;
        lf_status st = op(&ok);
        mode = MODE_OFF;
        if (injected == before) {
            if (st != LF_OK || !ok) bad++, fprintf(stderr, "%s: fails without a fault (%d)\n", what, st);
            break;
        }
        runs++, runs_with_fault++;
        if (st == LF_OK && !ok) bad++, fprintf(stderr, "%s: fault %ld: success with a wrong result\n", what, n);
        if (st != LF_OK && st != LF_ERR_NOMEM)
            bad++, fprintf(stderr, "%s: fault %ld: status %d (%s), not LF_ERR_NOMEM\n", what, n, st, thread_msg);
        if (st != LF_OK && !thread_msg[0]) bad++, fprintf(stderr, "%s: fault %ld: no message\n", what, n);
        if (n > 1000000) break;
    }
    printf("%-32s %5ld faults injected, %s\n", what, runs, bad ? "FAILED" : "all clean");
    if (bad) fail++;
    else pass++;
}

static int threads_main(void) {
    fixtures();
    for (size_t t = 0; t < 3; t++) {
        memcpy(pa3 + t * N * C, pa, sizeof pa), memcpy(pb3 + t * N * C, pb, sizeof pb);
        memcpy(y3 + t * N, y, N * sizeof *y);
    }
    lf_fusion *f;
    const float *p[2] = {pa, pb}, *p3[2] = {pa3, pb3};
    int ok = lf_fusion_create(&f) == LF_OK && compare_threads(f, &ref_table) == LF_OK;
    lf_fusion_free(f);
    ok = ok && lf_fusion_create(&f) == LF_OK && auto_fit(f, 0) == LF_OK &&
         lf_fusion_predict(f, p3, NT, ref_auto) == LF_OK && lf_fusion_auto_note(f) &&
         strstr(lf_fusion_auto_note(f), "ensemble of") && lf_fusion_auto_table(f);
    if (ok) {
        snprintf(ref_auto_note, sizeof ref_auto_note, "%s", lf_fusion_auto_note(f));
        const lf_compare_table *t = lf_fusion_auto_table(f);
        ok = (ref_auto_table = calloc(1, sizeof *ref_auto_table)) != NULL &&
             (ref_auto_table->rows = calloc(t->n_rows, sizeof *t->rows)) != NULL;
        if (ok) {
            ref_auto_table->n_rows = t->n_rows, ref_auto_table->n_models = t->n_models;
            memcpy(ref_auto_table->rows, t->rows, t->n_rows * sizeof *t->rows);
            for (size_t i = 0; i < t->n_rows; i++) ref_auto_table->rows[i].acc_without = NULL; /* not in auto's */
        }
    }
    lf_fusion_free(f);
    ok = ok && lf_fusion_create(&f) == LF_OK && auto_fit(f, 1) == LF_OK &&
         lf_fusion_predict(f, p3, NT, ref_auto_one) == LF_OK;
    lf_fusion_free(f);
    ok = ok && lf_fusion_create(&f) == LF_OK && fit_ensemble(f) == LF_OK &&
         lf_fusion_predict(f, p, N, ref_ensemble) == LF_OK;
    lf_fusion_free(f);
    ok = ok && lf_fusion_create(&f) == LF_OK && fit_ensemble4(f) == LF_OK &&
         lf_fusion_predict(f, p3, NT, ref_ensemble4) == LF_OK;
    lf_fusion_free(f);
    if (!ok) {
        fprintf(stderr, "faults threads: a reference failed (auto must keep an ensemble)\n");
        return 2;
    }
    sweep_threads("alloc: compare on threads", op_compare_threads, 1);
    sweep_threads("alloc: ensemble on threads", op_ensemble_threads, 1);
    sweep_threads("alloc: ensemble of 4 on threads", op_ensemble4_threads, 1);
    sweep_threads("alloc: auto on threads", op_auto_threads, 47);
    lf_compare_table_free(ref_table);
    if (ref_auto_table) free(ref_auto_table->rows);
    free(ref_auto_table);
    printf("faults: %ld runs with an injected fault\n", runs_with_fault);
    printf("faults: %d passed, %d failed\n", pass, fail);
    return fail != 0;
}

/* runs op with the n-th call of `kind` failing, for n = 1, 2, ... until a
 * run sees no injected fault */
static void sweep(const char *what, int kind, lf_status (*op)(int *), int reset_out) {
    long n;
    int bad = 0;
    for (n = 1;; n++) {
        if (reset_out) {
            FILE *f = fopen(out_path, "wb");
            fwrite(old_bytes, 1, old_len, f);
            fclose(f);
        }
        int ok = 0;
        mode = kind, fail_at = n, calls = 0;
        long before = injected;
        lf_status st = op(&ok);
        mode = MODE_OFF;
        int faulted = injected > before;
        if (faulted) runs_with_fault++;
        /* a failed allocation is told as one (the tool's exit 1), never as
         * a malformed file (exit 2) */
        if (faulted && kind == MODE_ALLOC && st != LF_OK && st != LF_ERR_NOMEM)
            bad++, fprintf(stderr, "%s: fault %ld: status '%s', not out of memory\n", what, n, lf_status_string(st));
        if (st == LF_OK && !ok) bad++, fprintf(stderr, "%s: fault %ld: success with a wrong result\n", what, n);
        if (st != LF_OK && reset_out && !ok)
            bad++, fprintf(stderr, "%s: fault %ld: the old file was damaged\n", what, n);
        if (!faulted) {
            if (st != LF_OK || !ok) bad++, fprintf(stderr, "%s: fails without a fault (%d)\n", what, st);
            break;
        }
        if (n > 100000) break;
    }
    printf("%-32s %5ld faults injected, %s\n", what, n - 1, bad ? "FAILED" : "all clean");
    if (bad) fail++;
    else pass++;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "threads") == 0) return threads_main();
    if (!mkdtemp(dir)) return 2;
    snprintf(model_path, sizeof model_path, "%s/m.lf", dir);
    snprintf(fusion_path, sizeof fusion_path, "%s/f.lf", dir);
    snprintf(out_path, sizeof out_path, "%s/out.bin", dir);
    snprintf(npy_path, sizeof npy_path, "%s/p.npy", dir);
    fixtures();
    /* references, computed without faults */
    lf_model *m = small_model(7);
    const float *xs[1] = {x1};
    lf_model_save(m, model_path, LF_SAVE_OPTIMIZER);
    lf_model_predict(m, xs, N, ref_model);
    lf_model_save(m, out_path, LF_SAVE_OPTIMIZER);
    old_len = slurp(out_path, old_bytes, sizeof old_bytes);
    lf_model_free(m);
    m = small_model(1);
    lf_model_save(m, out_path, LF_SAVE_OPTIMIZER);
    new_len = slurp(out_path, new_bytes, sizeof new_bytes);
    lf_model_free(m);
    m = small_model(1);
    lf_fit_options o = lf_fit_defaults();
    o.epochs = 2, o.validation_split = 0.25f, o.patience = 1, o.restore_best_weights = 1;
    lf_model_fit(m, xs, yf, N, &o);
    lf_model_predict(m, xs, N, ref_fit);
    lf_model_free(m);
    lf_fusion *f;
    lf_fusion_create(&f);
    lf_fusion_options fo = lf_fusion_defaults();
    fo.method = LF_FUSE_WAVG, fo.calibrate = 1, fo.epochs = 2;
    const float *p[2] = {pa, pb};
    lf_fusion_fit(f, p, names, 2, N, C, y, &fo);
    lf_fusion_save(f, fusion_path, 0);
    {
        lf_fusion *fe;
        lf_fusion_create(&fe);
        if (fit_ensemble(fe) != LF_OK || lf_fusion_predict(fe, p, N, ref_ensemble) != LF_OK)
            fprintf(stderr, "faults: the reference ensemble failed\n");
        lf_fusion_free(fe);
    }
    lf_fusion_predict(f, p, N, ref_fusion);
    lf_fusion_free(f);
    for (size_t t = 0; t < 3; t++) {
        memcpy(pa3 + t * N * C, pa, sizeof pa), memcpy(pb3 + t * N * C, pb, sizeof pb);
        memcpy(y3 + t * N, y, N * sizeof *y);
    }
    for (int split = 0; split <= 1; split++) {
        const float *p3[2] = {pa3, pb3};
        lf_fusion_create(&f);
        if (fit_other(f, split) != LF_OK ||
            lf_fusion_predict(f, split ? p3 : p, split ? NT : N, split ? ref_split : ref_ges) != LF_OK)
            fprintf(stderr, "faults: the reference %s failed\n", split ? "wavg" : "ges-log");
        lf_fusion_free(f);
    }
    lf_err e;
    lf_npy_write(npy_path, pa, N, C, 0, &e);
    if (memcmp(old_bytes, new_bytes, old_len) == 0) return 2; /* the two models must differ */
    snprintf(tv_path, sizeof tv_path, "%s/tv.lf", dir);
    lf_textvec *tv = tv_new();
    if (!tv || lf_textvec_adapt(tv, tv_texts, 3) != LF_OK || lf_textvec_transform(tv, tv_texts, 3, ref_tv) != LF_OK)
        return 2;
    lf_textvec_free(tv);

    {
        int ok = 0;
        report_len = 0;
        if (op_report(&ok) != LF_OK) return 2;
        report_len = slurp(out_path, report_ref, sizeof report_ref);
        FILE *fo = fopen(out_path, "wb"); /* the old file again */
        if (!fo || fwrite(old_bytes, 1, old_len, fo) != old_len || fclose(fo) != 0) return 2;
    }
    sweep("alloc: model load+predict", MODE_ALLOC, op_load, 0);
    sweep("alloc: fusion load+predict", MODE_ALLOC, op_fusion_load_predict, 0);
    sweep("alloc: model fit", MODE_ALLOC, op_fit, 0);
    sweep("alloc: fusion fit", MODE_ALLOC, op_fusion_fit, 0);
    sweep("alloc: compare", MODE_ALLOC, op_compare, 0);
    sweep("alloc: ensemble fit", MODE_ALLOC, op_ensemble_fit, 0);
    sweep("alloc: ges-log, a row missing", MODE_ALLOC, op_ges_fit, 0);
    sweep("alloc: wavg, validation rows", MODE_ALLOC, op_split_fit, 0);
    sweep("alloc: save", MODE_ALLOC, op_save, 1);
    sweep("alloc: npy read+write", MODE_ALLOC, op_npy, 1);
    sweep("alloc: report", MODE_ALLOC, op_report, 1);
    sweep("io: model load", MODE_IO, op_load, 0);
    sweep("io: fusion load", MODE_IO, op_fusion_load_predict, 0);
    sweep("io: save", MODE_IO, op_save, 1);
    sweep("io: npy read+write", MODE_IO, op_npy, 1);
    sweep("io: report", MODE_IO, op_report, 1);
    sweep("alloc: npy by position", MODE_ALLOC, op_npy_at, 1);
    /* (reset_out 1: a failed run's files are checked too; op_npy_all makes its own) */
    sweep("alloc: npy all or nothing", MODE_ALLOC, op_npy_all, 1);
    sweep("io: npy all or nothing", MODE_IO, op_npy_all, 1);
    sweep("io: npy by position", MODE_IO, op_npy_at, 1);
    sweep("alloc: textvec", MODE_ALLOC, op_textvec, 0);
    sweep("alloc: textvec adapt keeps", MODE_ALLOC, op_textvec_keep, 0);
    sweep("io: textvec save+load", MODE_IO, op_textvec, 0);
    predict_messages();
#if defined(LF_HAVE_PNG) && defined(LF_HAVE_JPEG)
    if (!images_setup(dir)) {
        fail++;
        fprintf(stderr, "images: the folder could not be set up (run from the repository root)\n");
    } else {
        sweep("alloc: image folder", MODE_ALLOC, op_images, 0);
        sweep("io: image folder", MODE_IO, op_images, 0);
    }
    images_cleanup();
#else
    printf("images: built without libpng/libjpeg, not swept\n");
#endif
    short_reads = 1;
    int ok = 0;
    lf_status st = op_load(&ok);
    if (st == LF_OK && ok) pass++;
    else fail++, fprintf(stderr, "short reads: load failed (%d)\n", st);
    st = op_npy(&ok);
    if (st == LF_OK && ok) pass++;
    else fail++, fprintf(stderr, "short reads: npy failed (%d)\n", st);
    st = op_npy_at(&ok);
    if (st == LF_OK && ok) pass++;
    else fail++, fprintf(stderr, "short reads/writes: npy by position failed (%d)\n", st);
    short_reads = 0;
    printf("faults: %ld runs with an injected fault\n", runs_with_fault);
    unlink(model_path), unlink(fusion_path), unlink(out_path), unlink(npy_path), unlink(tv_path);
    for (int k = 0; k < ALL_FILES; k++) {
        char pk[160];
        snprintf(pk, sizeof pk, "%s/all%d.npy", dir, k);
        unlink(pk);
    }
    rmdir(dir);
    printf("faults: %d passed, %d failed\n", pass, fail);
    return fail != 0;
}
