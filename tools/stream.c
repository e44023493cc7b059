/*
 * stream.c — `latefuse predict` over .npy files of any size: the inputs are
 * read CHUNK rows at a time (io/npy.h's streaming reader: float32 files
 * through a memory map, without a copy, unless --no-mmap), each chunk is
 * validated (with row numbers counted from the start of its file), fused
 * and written at its place in the output (and its class ids at theirs in
 * --classes-out), so memory does not grow with the number of rows.  Same
 * checks and messages as the whole-file path in inputs.c; the outputs
 * appear only when everything succeeded.
 *
 * Threads.  The chunks are shared out to T threads (OpenMP's thread count,
 * at most STREAM_MAX_THREADS): each thread takes the next chunk from a
 * shared counter, reads, checks and fuses it alone, and pwrite()s it at its
 * offset into the output's temporary file.  The reason is the write: on
 * Linux (ext4), a buffered write holds the file's inode lock while it
 * copies into the page cache, so two threads writing one file never copy
 * at the same time — the write is a serial section, and the way to use a
 * second core is to fuse the next chunk while one thread writes.
 * Measured for issue 5's B4 (3 inputs x 10^7 rows x 10 classes float32 in
 * the page cache, 400 MB out, --no-fsync; the 2-core Zen 4 VM; medians,
 * standalone programs first, then this tool):
 *   write() 400 MB into a new file    1 thread 80 ms; 2 threads pwrite()ing
 *                                     halves 81 ms (ftruncate first: 82);
 *                                     blocks reserved first (fallocate):
 *                                     57 ms for 1 or 2 threads
 *   read the mapped 1.2 GB once       1 thread 75-90 ms, 2 threads 50-55;
 *   (faults + a sum)                  MAP_POPULATE or MADV_POPULATE_READ
 *                                     first 95 (1 or 2 threads);
 *                                     MADV_HUGEPAGE no better; read() into
 *                                     a reused buffer 130 / 75 ms
 *   fuse (data resident)              mean 190 ms on 1 thread, 100 on 2;
 *                                     product 640 / 330 ms
 * The chunks in order, each fused by lf_rule_fused's own 2 threads and then
 * written by one thread while the other waited, took mean 0.40 s, product
 * 0.60 s (blocks reserved in both); the chunks shared out as here, 0.25 s
 * and 0.45 s.  The output does not depend on T: every chunk is the same
 * rows, fused by the same code, wherever it runs.
 *
 * Errors: a thread stops at its first failed chunk, and no thread takes a
 * chunk after the first failed one so far; every chunk before the first
 * failed one is completed, so the error reported is that chunk's, the one
 * the chunks in order would meet.
 */
#include "cli.h"
#include "fusion/rules.h"
#include "io/npy.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define CHUNK 16384
/* beyond a few threads the writes, one at a time, are the bound; each
 * thread holds a chunk's buffers */
#define STREAM_MAX_THREADS 8

/* A mapped input that another process truncates while it is read raises
 * SIGBUS at the first access past its new end (the size is checked before
 * every chunk, but not between the check and the reads): guard.c's handler
 * removes the registered temporary outputs, says so and exits 2. */

static int is_npy(const char *path) {
    size_t n = strlen(path);
    return n >= 4 && (strcmp(path + n - 4, ".npy") == 0 || strcmp(path + n - 4, ".NPY") == 0);
}

/* What every thread shares: read only, but for the two counters. */
typedef struct stream_job {
    const struct cli_opts *o;
    const lf_fusion *f;
    const lf_npy_reader *rd; /* G readers */
    const int *src;          /* stored model j reads -m number src[j], or -1 */
    size_t G, M, C, N, nchunks;
    lf_npy_writer *w, *wc;   /* the probabilities; the class ids, or NULL */
    atomic_size_t next;      /* the next chunk to take */
    atomic_size_t stop;      /* the first failed chunk so far (SIZE_MAX: none) */
} stream_job;

/* One thread's buffers, and its failure: the first chunk it could not do. */
typedef struct stream_worker {
    float *out;      /* CHUNK x C */
    int64_t *cls;    /* CHUNK, with --classes-out */
    lf_npy_buf *buf; /* G: the rows read with --no-mmap */
    size_t failed;   /* the chunk, or SIZE_MAX */
    lf_status st;
    int input;       /* cli_fail's `input` */
    lf_err e;
} stream_worker;

/* Chunk c: read, check, fuse, write.  0, or a failure recorded in wk. */
static int run_chunk(const stream_job *j, stream_worker *wk, size_t c) {
    size_t r0 = c * CHUNK, n = j->N - r0 < CHUNK ? j->N - r0 : CHUNK, C = j->C;
    const float *p[CLI_MAX_MODELS], *rows[CLI_MAX_MODELS];
    lf_status st = LF_OK;
    wk->input = 1;
    /* each reader's rows: in its file's memory map, or read into the buffer */
    for (size_t k = 0; k < j->G && !st; k++) st = lf_npy_reader_at(&j->rd[k], r0, n, &wk->buf[k], &rows[k], &wk->e);
    if (st) goto fail;
    for (size_t m = 0; m < j->M; m++) p[m] = j->src[m] < 0 ? NULL : rows[j->src[m]];
    /* the library validates the chunk; on failure, find the file, row and
     * value for the message */
    st = lf_fusion_predict(j->f, p, n, wk->out);
    if (st) {
        lf_status why = st;
        st = LF_OK;
        for (size_t k = 0; k < j->G && !st; k++)
            st = cli_check_outputs_at(j->o->models[k].path, rows[k], n, C, lf_fusion_logits(j->f), r0, &wk->e);
        if (!st) {
            st = why;
            snprintf(wk->e.msg, sizeof wk->e.msg, "%s", lf_status_string(why));
        }
        goto fail;
    }
    if (wk->cls)
        for (size_t i = 0; i < n; i++) wk->cls[i] = (int64_t)lf_argmax_f(wk->out + i * C, C);
    wk->input = 0;
    st = lf_npy_writer_rows_at(j->w, r0, wk->out, n, &wk->e);
    if (!st && j->wc) st = lf_npy_writer_i64_at(j->wc, r0, wk->cls, n, &wk->e);
    if (st) goto fail;
    for (size_t k = 0; k < j->G; k++) lf_npy_reader_release(&j->rd[k], r0, n);
    return 1;
fail:
    wk->st = st;
    wk->failed = c;
    return 0;
}

/* One thread: chunks from the shared counter until none is left or one failed. */
static void run_worker(stream_job *j, stream_worker *wk) {
    for (;;) {
        size_t c = atomic_fetch_add(&j->next, 1);
        if (c >= j->nchunks || c > atomic_load(&j->stop)) return;
        if (!run_chunk(j, wk, c)) {
            size_t s = atomic_load(&j->stop);
            while (c < s && !atomic_compare_exchange_weak(&j->stop, &s, c)) {
            }
            return;
        }
    }
}

int cli_predict_stream(const struct cli_opts *o, lf_fusion *f, int *handled) {
    *handled = 0;
    /* an output written through (standard output, a FIFO) cannot be
     * written by position: the whole-file path writes it in order */
    if (cli_out_through(o->out) || cli_out_through(o->classes_out)) return 0;
    for (size_t k = 0; k < o->n_models; k++)
        if (!is_npy(o->models[k].path)) return 0;
    size_t M = lf_fusion_num_models(f), C = lf_fusion_num_classes(f), G = o->n_models;
    if (M > CLI_MAX_MODELS) return 0;
    lf_npy_reader rd[CLI_MAX_MODELS];
    memset(rd, 0, sizeof rd);
    lf_err e = {{0}};
    lf_status st = LF_OK;
    int rc = 0;
    lf_npy_writer w, wc;
    memset(&w, 0, sizeof w);
    memset(&wc, 0, sizeof wc);
    stream_worker *wks = NULL;
    size_t T = 1;
    for (size_t k = 0; k < G; k++) {
        st = lf_npy_reader_open(&rd[k], o->models[k].path, o->no_mmap ? LF_NPY_NO_MMAP : 0, &e);
        if (st == LF_ERR_ARG) { /* Fortran order: the whole-file path reads it */
            for (size_t j = 0; j < k; j++) lf_npy_reader_close(&rd[j]);
            return 0;
        }
        if (st) goto fail_input;
    }
    *handled = 1;
    /* the checks of cli_load_models, then the names of cli_match_models */
    size_t N = G ? rd[0].rows : 0;
    for (size_t k = 0; k < G && !st; k++)
        st = cli_check_shape(o->models[k].path, rd[k].rows, rd[k].cols, o->models[0].path, N, C, k == 0, C,
                             &e);
    int src[CLI_MAX_MODELS];
    for (size_t j = 0; j < M; j++) src[j] = -1;
    for (size_t k = 0; k < G && !st; k++) {
        size_t j;
        st = cli_find_model(f, o->models[k].name, &j, &e);
        if (!st) src[j] = (int)k;
    }
    if (st) goto fail_input;

    size_t nchunks = N / CHUNK + (N % CHUNK != 0);
#ifdef _OPENMP
    T = (size_t)omp_get_max_threads();
#endif
    if (T > STREAM_MAX_THREADS) T = STREAM_MAX_THREADS;
    if (T > nchunks) T = nchunks ? nchunks : 1;
    size_t R = N < CHUNK ? (N ? N : 1) : CHUNK; /* rows of a chunk's buffers */
    wks = LF_CALLOC(T, sizeof *wks);
    int nomem = !wks;
    for (size_t t = 0; t < T && !nomem; t++) {
        wks[t].failed = SIZE_MAX;
        wks[t].out = lf_alloc_array(R, C * sizeof(float));
        wks[t].cls = o->classes_out ? lf_alloc_array(R, sizeof(int64_t)) : NULL;
        wks[t].buf = LF_CALLOC(G ? G : 1, sizeof(lf_npy_buf));
        nomem = !wks[t].out || (o->classes_out && !wks[t].cls) || !wks[t].buf;
    }
    if (nomem) {
        rc = cli_fail(LF_ERR_NOMEM, "out of memory for the streamed prediction", 0);
        goto done;
    }
    st = cli_outputs_open(o, N, C, &w, &wc, &e);
    if (!st) st = lf_npy_writer_positional(&w, &e);
    if (!st && o->classes_out) st = lf_npy_writer_positional(&wc, &e);
    if (st) {
        rc = cli_fail(st, e.msg, 0);
        goto done;
    }

    stream_job job;
    memset(&job, 0, sizeof job);
    job.o = o, job.f = f, job.rd = rd, job.src = src;
    job.G = G, job.M = M, job.C = C, job.N = N, job.nchunks = nchunks;
    job.w = &w, job.wc = o->classes_out ? &wc : NULL;
    atomic_init(&job.next, 0);
    atomic_init(&job.stop, SIZE_MAX);
    /* one thread (a single chunk, or OMP_NUM_THREADS=1): no region, so the
     * library's own loops may still use the threads */
#pragma omp parallel num_threads((int)T) if (T > 1)
    {
        size_t t = 0;
#ifdef _OPENMP
        t = (size_t)omp_get_thread_num();
#endif
        if (t < T) run_worker(&job, &wks[t]);
    }
    stream_worker *first = NULL; /* the first failed chunk's thread */
    for (size_t t = 0; t < T; t++)
        if (wks[t].failed != SIZE_MAX && (!first || wks[t].failed < first->failed)) first = &wks[t];
    if (first) {
        rc = cli_fail(first->st, first->e.msg, first->input);
        goto done;
    }
    st = cli_outputs_commit(o, &w, &wc, &e);
    if (st) {
        rc = cli_fail(st, e.msg, 0);
        goto done;
    }
    printf("wrote %zu x %zu fused probabilities to %s", N, C, o->out);
    if (o->classes_out) printf(" and %zu classes to %s", N, o->classes_out);
    size_t absent = 0;
    for (size_t j = 0; j < M; j++) absent += src[j] < 0;
    if (absent) {
        printf(" (absent:");
        for (size_t j = 0; j < M; j++)
            if (src[j] < 0) printf(" %s", lf_fusion_model_name(f, j));
        printf(")");
    }
    printf("\n");
    goto done;
fail_input:
    *handled = 1;
    rc = cli_fail(st, e.msg, 1);
done:
    cli_outputs_abort(&w, &wc);
    for (size_t k = 0; k < G; k++) lf_npy_reader_close(&rd[k]);
    for (size_t t = 0; wks && t < T; t++) {
        for (size_t k = 0; wks[t].buf && k < G; k++) lf_npy_buf_free(&wks[t].buf[k]);
        LF_FREE(wks[t].out), LF_FREE(wks[t].cls), LF_FREE(wks[t].buf);
    }
    LF_FREE(wks);
    return rc;
}
