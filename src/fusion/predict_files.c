/*
 * predict_files.c — lf_fusion_predict_files: a fitted fusion model over
 * files of any size, read and fused chunk by chunk into streamed outputs
 * (the contract is in latefuse.h).
 *
 * Inputs.  Every file is opened once, as an input "source": a C-order .npy
 * stays open as io/npy.h's reader (rows by position: pread() into a
 * per-thread buffer, or with LF_READ_MMAP from its memory map without a
 * copy); a CSV or a
 * Fortran-order .npy (read through the descriptor already open) is held
 * whole and its rows are pointers into that copy.  One path for every
 * format: the chunk loop below does not know which it reads.
 *
 * Threads.  The chunks are shared out to T threads (OpenMP's thread count,
 * at most MAX_THREADS): each thread takes the next chunk from a shared
 * counter, reads, checks and fuses it alone, and pwrite()s it at its offset
 * into the output's temporary file.  The reason is the write: on Linux
 * (ext4), a buffered write holds the file's inode lock while it copies into
 * the page cache, so two threads writing one file never copy at the same
 * time — the write is a serial section, and the way to use a second core is
 * to fuse the next chunk while one thread writes (bench/README.md has the
 * measurements).  The output does not depend on T: every chunk is the same
 * rows, fused by the same code, wherever it runs.
 *
 * Outputs written through (standard output, a FIFO, a device) cannot be
 * written by position, and a reader of a FIFO must not see half a result:
 * the chunks are then fused into memory and written in order at the end.
 *
 * Errors: a thread stops at its first failed chunk, and no thread takes a
 * chunk after the first failed one so far; every chunk before the first
 * failed one is completed, so the error reported is that chunk's, the one
 * the chunks in order would meet.
 *
 * Cancelling (opt->cancel): the flag is read after the inputs are opened,
 * by each thread before each chunk it takes, after the chunks and before
 * the renames.  A chunk that finds it set fails as a bad chunk does
 * (LF_ERR_CANCELLED), so the threads, and the MPI ranks below, stop
 * through the one failure path that already leaves nothing behind.
 *
 * MPI ranks (opt->mpi_comm).  The chunks are cut into P contiguous ranges,
 * one per rank; rank 0 creates the temporary outputs (full size) and
 * tells the others their names, which they open and fill by position
 * with their rows.  The ranks agree (dist.h) after opening the inputs,
 * after opening the outputs, and after the chunks: on any failure every
 * rank returns the first failure in the order one process would meet it,
 * and rank 0 removes the temporary files; else rank 0 renames them.
 * No collective happens inside the chunk loop, so a rank that stops early
 * (a bad row, or cancelled) waits at the agreement after the chunks for
 * the others to finish their ranges: every rank makes the same calls in
 * the same order whatever the flag, and none can wait for ever.
 */
#include "dist.h"
#include "fusion/fusion_internal.h"
#include "io/input.h"
#include "io/npy.h"
#include "kernels.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* a chunk is at most CHUNK rows and, for wide rows, about CHUNK_BYTES of
 * float32 values a file (at least CHUNK_MIN rows): a thread holds one such
 * buffer per input, so its memory does not grow with the classes */
#define CHUNK 16384
#define CHUNK_MIN 64
#define CHUNK_BYTES ((size_t)1 << 20)
/* beyond a few threads the writes, one at a time, are the bound; each
 * thread holds a chunk's buffers */
#define MAX_THREADS 8

/* ------------------------------------------------------------ sources */

typedef struct source {
    lf_npy_reader rd; /* a C-order .npy, open (rd.impl NULL otherwise) */
    lf_array whole;   /* a CSV or Fortran-order .npy, held whole */
    size_t rows, cols;
    size_t file_cols; /* the file's own (1: a binary model's P(class 1), made 2 by source_prepare) */
} source;

static lf_status source_open(source *s, const char *path, unsigned flags, lf_err *e) {
    memset(s, 0, sizeof *s);
    lf_status st;
    if (lf_input_streams_npy(path)) {
        int map = (flags & LF_READ_MMAP) && !(flags & LF_READ_NO_MMAP);
        unsigned rf = LF_NPY_ANY_ORDER | (map ? 0 : LF_NPY_NO_MMAP);
        st = lf_npy_reader_open(&s->rd, path, rf, e);
        if (st == LF_OK && s->rd.fortran) { /* whole, through the descriptor already open */
            st = lf_npy_reader_load(&s->rd, &s->whole, e);
            lf_npy_reader_close(&s->rd);
        }
    } else { /* text, .npz, standard input: whole */
        st = lf_input_read(path, &s->whole, e);
    }
    if (st != LF_OK) return st;
    s->rows = s->rd.impl ? s->rd.rows : s->whole.rows;
    s->cols = s->file_cols = s->rd.impl ? s->rd.cols : s->whole.cols;
    return LF_OK;
}

/* Applies lf_outputs_prepare (the file's LF_OUTPUTS_* flags; a one-column
 * file is expanded whatever they are) to a source, which is then held
 * whole.  A bad value goes to *issue with the file's row. */
static lf_status source_prepare(source *s, unsigned oflags, const char *path, lf_input_issue *issue,
                                lf_err *e) {
    if (s->cols != 1 && !(oflags & ~LF_OUTPUTS_RAW)) return LF_OK; /* nothing to change: streamed */
    lf_status st = LF_OK;
    if (s->rd.impl) {
        st = lf_npy_reader_load(&s->rd, &s->whole, e);
        lf_npy_reader_close(&s->rd);
        if (st != LF_OK) return st;
    }
    lf_matrix m = {s->whole.data, s->whole.rows, s->whole.cols, s->whole.is_integer};
    st = lf_outputs_prepare(&m, oflags, issue);
    s->whole.data = m.data, s->whole.cols = m.cols, s->whole.is_integer = m.is_integer;
    s->cols = m.cols;
    if (st == LF_ERR_NOMEM) return lf_fail(e, st, "out of memory reading '%s'", path);
    if (st == LF_ERR_ARG) return lf_fail(e, st, "predict_files: invalid LF_OUTPUTS_* flags for '%s'", path);
    if (st != LF_OK) lf_fail(e, st, "'%s' holds a value that is not an output", path);
    return st;
}

/* Rows [r0, r0 + n): in the map or the whole copy, or read into buf. */
static lf_status source_rows(const source *s, size_t r0, size_t n, lf_npy_buf *buf, const float **rows,
                             lf_err *e) {
    if (!s->rd.impl) {
        *rows = s->whole.data + r0 * s->cols;
        return LF_OK;
    }
    return lf_npy_reader_at(&s->rd, r0, n, buf, rows, e);
}

static void source_release(const source *s, size_t r0, size_t n) {
    if (s->rd.impl) lf_npy_reader_release(&s->rd, r0, n);
}

static void source_close(source *s) {
    lf_npy_reader_close(&s->rd);
    lf_array_free(&s->whole);
}

/* ------------------------------------------------------------ outputs */

/* Whether an output is written through rather than replaced: "-" or an
 * existing file that is neither regular nor a folder. */
static int through(const char *path) {
    struct stat sb;
    if (!path) return 0;
    if (strcmp(path, "-") == 0) return 1;
    return stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode);
}

/* An output that is an input, or the two outputs one file, would destroy
 * what the call reads or writes: refused before anything is opened. */
static lf_status outputs_apart(const char *out, const char *cls, const char *const *paths, size_t G, lf_err *e) {
    const char *outs[2] = {out, cls}, *what[2] = {"output", "classes output"};
    if (cls && strcmp(out, "-") == 0 && strcmp(cls, "-") == 0)
        return lf_fail(e, LF_ERR_ARG, "the output and the classes output are both standard output");
    if (cls && lf_outputs_same(out, cls))
        return lf_fail(e, LF_ERR_ARG, "the output '%s' and the classes output '%s' are the same file", out, cls);
    for (int j = 0; j < 2; j++) {
        if (!outs[j]) continue;
        for (size_t k = 0; k < G; k++)
            if (lf_output_is_input(outs[j], paths[k]))
                return lf_fail(e, LF_ERR_ARG, "the %s '%s' is the same file as input %zu '%s'; nothing was read or written",
                               what[j], outs[j], k + 1, paths[k]);
    }
    return LF_OK;
}

static void tell(const lf_predict_files_options *o, lf_temp_event ev, const char *path, int ok) {
    if (o->temp) o->temp(o->temp_ctx, ev, path, ok);
}

/* Opens one output; one that gets a temporary file is announced to the
 * caller around its creation. */
static lf_status open_one(const lf_predict_files_options *o, const char *path, int ids, size_t N, size_t C,
                          lf_npy_writer *w, lf_err *e) {
    int thru = through(path);
    unsigned flags = (o->flags & LF_WRITE_NO_FSYNC) | (strcmp(path, "-") == 0 ? LF_ATOMIC_STDOUT : 0);
    if (!thru) tell(o, LF_TEMP_CREATING, path, 0);
    lf_status st = ids ? lf_npy_writer_open_i64(w, path, N, flags, e)
                       : lf_npy_writer_open(w, path, N, C, flags, e);
    if (!thru) tell(o, LF_TEMP_CREATED, st == LF_OK ? w->af.tmp_path : NULL, st == LF_OK);
    return st;
}

/* Both outputs, the ones replaced through a temporary file first (a failure
 * there touches no FIFO).  On failure neither is open. */
static lf_status outputs_open(const lf_predict_files_options *o, const char *out, size_t N, size_t C,
                              lf_npy_writer *w, lf_npy_writer *wc, lf_err *e) {
    const char *cls = o->classes_path;
    int later = cls && through(out) && !through(cls);
    lf_status st = LF_OK;
    for (int k = 0; k < 2 && st == LF_OK; k++) {
        int ids = (k == 0) == later;
        if (ids && !cls) continue;
        st = open_one(o, ids ? cls : out, ids, N, C, ids ? wc : w, e);
    }
    return st;
}

/* Finishes both, then renames both into place (told as RENAMING/RENAMED:
 * *told set). */
static lf_status outputs_commit(const lf_predict_files_options *o, lf_npy_writer *w, lf_npy_writer *wc,
                                int *told, lf_err *e) {
    /* both files complete (written, fsynced, closed) before either is
     * renamed: only a failure of the second rename itself (rare: a folder
     * is refused at open) leaves the first output new */
    if (lf_cancelled(o->cancel)) return lf_cancel_fail(e);
    lf_status st = lf_npy_writer_finish(w, e);
    if (st == LF_OK && o->classes_path) st = lf_npy_writer_finish(wc, e);
    if (st == LF_OK && lf_cancelled(o->cancel)) st = lf_cancel_fail(e); /* fsync can be long: asked again */
    if (st != LF_OK) return st;
    tell(o, LF_TEMP_RENAMING, NULL, 0);
    st = lf_npy_writer_commit(w, e);
    if (st == LF_OK && o->classes_path) st = lf_npy_writer_commit(wc, e);
    lf_npy_writer_abort(w);
    lf_npy_writer_abort(wc);
    tell(o, LF_TEMP_RENAMED, NULL, st == LF_OK);
    *told = 1;
    return st;
}

/* ------------------------------------------------------------- chunks */

/* the rows of a chunk for rows of C values: CHUNK, fewer for wide rows */
static size_t chunk_rows(size_t C) {
    size_t k = CHUNK_BYTES / (C ? C : 1) / sizeof(float);
    return k > CHUNK ? CHUNK : k < CHUNK_MIN ? CHUNK_MIN : k;
}

/* What every thread shares: read only, but for the two counters. */
typedef struct job {
    const lf_fusion *f;
    const source *src; /* G sources */
    const int *from;   /* stored model j reads source from[j], or -1 */
    const char *const *paths;
    size_t G, M, C, N, nchunks;
    size_t chunk; /* rows of a chunk (chunk_rows) */
    lf_npy_writer *w, *wc; /* by position; or NULL: into mem / mem_cls */
    float *mem;
    int64_t *mem_cls;
    const float *feat; /* N x F features, or NULL */
    size_t F;
    const volatile int *cancel; /* opt->cancel */
    atomic_size_t next; /* the next chunk to take */
    atomic_size_t stop; /* the first failed chunk so far (SIZE_MAX: none) */
} job;

/* One thread's buffers, and its failure: the first chunk it could not do. */
typedef struct worker {
    float *out;      /* chunk x C */
    int64_t *cls;    /* chunk, with classes */
    lf_npy_buf *buf; /* G: the rows read with pread() */
    const float **rows; /* G: each file's rows of the chunk */
    const float **p;    /* M: the stored models' rows (NULL: absent) */
    size_t failed;   /* the chunk, or SIZE_MAX */
    lf_status st;
    int input;
    size_t file;
    lf_input_issue issue;
    lf_err e;
} worker;

/* The library's sentence for a bad value in a file (1-based row and
 * column, as a text editor counts them). */
static void word_issue(const lf_input_issue *is, const char *path, lf_err *e) {
    size_t row = is->row + 1, col = is->column + 1;
    switch (is->kind) {
    case LF_INPUT_PARTIAL_NAN:
        lf_fail(e, LF_ERR_FORMAT, "row %zu of '%s' is NaN in column %zu but not in every column", row, path, col);
        break;
    case LF_INPUT_INF:
        lf_fail(e, LF_ERR_FORMAT, "row %zu of '%s' holds %s in column %zu", row, path, is->value > 0 ? "inf" : "-inf",
                col);
        break;
    case LF_INPUT_NEGATIVE:
        lf_fail(e, LF_ERR_FORMAT, "row %zu of '%s' holds a negative probability %g in column %zu", row, path,
                is->value, col);
        break;
    default:
        lf_fail(e, LF_ERR_FORMAT, "row %zu of '%s' sums to %.6g, not 1 within 1e-3", row, path, is->sum);
        break;
    }
}

/* Chunk c: read, check, fuse, write.  1, or 0 with the failure in wk. */
static int run_chunk(const job *j, worker *wk, size_t c) {
    size_t r0 = c * j->chunk, n = j->N - r0 < j->chunk ? j->N - r0 : j->chunk, C = j->C;
    const float **p = wk->p, **rows = wk->rows;
    lf_status st = LF_OK;
    wk->input = 1;
    for (size_t k = 0; k < j->G && st == LF_OK; k++) {
        st = source_rows(&j->src[k], r0, n, &wk->buf[k], &rows[k], &wk->e);
        if (st != LF_OK) wk->file = k;
    }
    if (st != LF_OK) goto fail;
    for (size_t m = 0; m < j->M; m++) p[m] = j->from[m] < 0 ? NULL : rows[j->from[m]];
    float *out = j->w ? wk->out : j->mem + r0 * C;
    /* the library validates the chunk; on failure, the check finds the
     * file, row and value (files in order) */
    char said[sizeof wk->e.msg]; /* the method's own words, when not the inputs' fault */
    st = lf_fusion_predict_features(j->f, p, n, j->feat ? j->feat + r0 * j->F : NULL, j->F, out, said, sizeof said);
    if (st != LF_OK) {
        lf_status why = st;
        st = lf_check_outputs(rows, NULL, j->G, n, C, j->f->logits, r0, &wk->issue);
        if (st != LF_OK) {
            wk->file = wk->issue.model;
            word_issue(&wk->issue, j->paths[wk->file], &wk->e);
        } else {
            st = lf_fail(&wk->e, why, "%s", said);
        }
        goto fail;
    }
    int64_t *cls = j->w ? wk->cls : j->mem_cls ? j->mem_cls + r0 : NULL;
    if (cls)
        for (size_t i = 0; i < n; i++) cls[i] = (int64_t)lf_argmax_f(out + i * C, C);
    wk->input = 0;
    if (j->w) {
        st = lf_npy_writer_rows_at(j->w, r0, out, n, &wk->e);
        if (st == LF_OK && j->wc) st = lf_npy_writer_i64_at(j->wc, r0, cls, n, &wk->e);
        if (st != LF_OK) goto fail;
    }
    for (size_t k = 0; k < j->G; k++) source_release(&j->src[k], r0, n);
    return 1;
fail:
    wk->st = st;
    wk->failed = c;
    return 0;
}

/* Chunk c not done: the caller's flag was set. */
static int cancel_chunk(worker *wk, size_t c) {
    wk->st = lf_cancel_fail(&wk->e);
    wk->input = 0;
    wk->failed = c;
    return 0;
}

/* One thread: chunks from the shared counter until none is left, one
 * failed or the caller cancelled. */
static void run_worker(job *j, worker *wk) {
    for (;;) {
        size_t c = atomic_fetch_add(&j->next, 1);
        if (c >= j->nchunks || c > atomic_load(&j->stop)) return;
        int done = lf_cancelled(j->cancel) ? cancel_chunk(wk, c) : run_chunk(j, wk, c);
        if (!done) {
            size_t s = atomic_load(&j->stop);
            while (c < s && !atomic_compare_exchange_weak(&j->stop, &s, c)) {
            }
            return;
        }
    }
}

/* --------------------------------------------------------------- checks */

static const char *plural(size_t n) { return n == 1 ? "" : "s"; }

/* Shapes against the first file and the fusion model; names against the
 * stored ones (from[j]: the file of stored model j, or -1). */
static lf_status check_files(const lf_fusion *f, const char *const *names, const char *const *paths,
                             const source *src, size_t G, int *from, size_t *bad, lf_err *e) {
    size_t C = f->C, N = G ? src[0].rows : 0;
    for (size_t k = 0; k < G; k++) {
        size_t rows = src[k].rows, cols = src[k].cols;
        *bad = k;
        if (src[k].file_cols == 1 && cols != C)
            return lf_fail(e, LF_ERR_SHAPE,
                           "'%s' has 1 column, a binary model's P(class 1), but the fusion model has %zu classes",
                           paths[k], C);
        if (k == 0 && cols != C)
            return lf_fail(e, LF_ERR_SHAPE, "'%s' has %zu column%s but the fusion model has %zu classes", paths[k],
                           cols, plural(cols), C);
        if (rows != N)
            return lf_fail(e, LF_ERR_SHAPE, "row-count mismatch: '%s' has %zu row%s but '%s' has %zu", paths[k],
                           rows, plural(rows), paths[0], N);
        if (cols != C)
            return lf_fail(e, LF_ERR_SHAPE, "class-count mismatch: '%s' has %zu column%s but '%s' has %zu",
                           paths[k], cols, plural(cols), paths[0], C);
    }
    for (size_t j = 0; j < f->M; j++) from[j] = -1;
    for (size_t k = 0; k < G; k++) {
        size_t j = 0;
        while (j < f->M && strcmp(f->names[j], names[k]) != 0) j++;
        *bad = k;
        if (j == f->M) {
            char known[512] = "";
            for (size_t i = 0; i < f->M; i++) {
                size_t n = strlen(known);
                snprintf(known + n, sizeof known - n, "%s%s", i ? ", " : "", f->names[i]);
            }
            return lf_fail(e, LF_ERR_ARG, "the fusion model has no model named '%s' (it knows %s)", names[k], known);
        }
        if (from[j] >= 0) /* one file would be dropped unread */
            return lf_fail(e, LF_ERR_ARG, "model name '%s' is given twice (files %d and %zu)", names[k], from[j] + 1,
                           k + 1);
        from[j] = (int)k;
    }
    return LF_OK;
}

/* ----------------------------------------------------------------- call */

/* What the ranks agree on besides the message (res's details). */
typedef struct fail_info {
    int input;
    size_t file;
    lf_input_issue issue;
} fail_info;

/* The first failure over the ranks (this rank's at work index `where`):
 * its status, message and details on every rank. */
static lf_status agree(const lf_dist *d, size_t where, lf_status st, lf_err *e, int *input,
                       lf_predict_files_result *res) {
    if (d->size == 1) return st;
    fail_info fi;
    memset(&fi, 0, sizeof fi);
    fi.input = *input, fi.file = res->file, fi.issue = res->issue;
    fi.issue.name = NULL; /* no pointer crosses processes (this one's is NULL) */
    st = lf_dist_first_failure(d, st == LF_OK ? SIZE_MAX : where, st, e, &fi, sizeof fi);
    if (st != LF_OK) *input = fi.input, res->file = fi.file, res->issue = fi.issue;
    return st;
}

/* The temporary files' names and headers, from rank 0 to the others. */
typedef struct shared_out {
    char tmp[2][4096];
    size_t data_off[2];
} shared_out;

/* Ranks other than 0 open rank 0's temporary outputs (w: probabilities,
 * wc: classes, when cls) to write their rows by position. */
static lf_status outputs_join(const lf_dist *d, const lf_predict_files_options *o, const char *out, size_t N,
                              size_t C, lf_npy_writer *w, lf_npy_writer *wc, lf_err *e) {
    shared_out *sh = LF_CALLOC(1, sizeof *sh);
    if (!sh) return lf_fail(e, LF_ERR_NOMEM, "out of memory");
    lf_status st = LF_OK;
    if (d->rank == 0) {
        lf_npy_writer *ws[2] = {w, wc};
        for (int k = 0; k < 2; k++) {
            if (k == 1 && !o->classes_path) continue;
            if (strlen(ws[k]->af.tmp_path) >= sizeof sh->tmp[k])
                st = lf_fail(e, LF_ERR_IO, "the temporary file's name is too long to share");
            else
                snprintf(sh->tmp[k], sizeof sh->tmp[k], "%s", ws[k]->af.tmp_path), sh->data_off[k] = ws[k]->data_off;
        }
    }
    lf_status bst = lf_dist_bcast(d, sh, sizeof *sh, 0, e); /* a failure on rank 0 is agreed after */
    if (st == LF_OK) st = bst;
    unsigned fl = o->flags & LF_WRITE_NO_FSYNC;
    if (st == LF_OK && d->rank != 0) {
        st = lf_npy_writer_join(w, out, sh->tmp[0], N, C, sizeof(float), sh->data_off[0], fl, e);
        if (st == LF_OK && o->classes_path)
            st = lf_npy_writer_join(wc, o->classes_path, sh->tmp[1], N, 1, sizeof(int64_t), sh->data_off[1], fl, e);
    }
    LF_FREE(sh);
    return st;
}

static lf_status fail_res(lf_predict_files_result *res, lf_status st, const lf_err *e, int input) {
    res->input = input;
    snprintf(res->message, sizeof res->message, "%s", e->msg[0] ? e->msg : lf_status_string(st));
    return st;
}

static lf_status predict_files(const lf_fusion *f, const char *const *names, const char *const *paths, size_t G,
                               const char *out_path, const lf_predict_files_options *opt,
                               lf_predict_files_result *res) {
    lf_predict_files_result dummy;
    if (!res) res = &dummy;
    memset(res, 0, sizeof *res);
    lf_predict_files_options o;
    memset(&o, 0, sizeof o);
    if (opt) o = *opt;
    lf_err e = {{0}};
    lf_dist d;
    lf_status dst = lf_dist_open(&e, o.mpi_comm, &d);
    if (dst != LF_OK) return fail_res(res, dst, &e, 0);
    if (!f || !f->fitted)
        return fail_res(res, f ? LF_ERR_STATE : LF_ERR_ARG,
                        &(lf_err){"predict_files: the fusion model is not fitted"}, 0);
    if (!out_path || !*out_path || (G && (!names || !paths)))
        return fail_res(res, LF_ERR_ARG, &(lf_err){"predict_files: no output path, names or paths"}, 0);
    if (o.flags & ~(LF_WRITE_NO_FSYNC | LF_READ_NO_MMAP | LF_READ_MMAP))
        return fail_res(res, LF_ERR_ARG, &(lf_err){"predict_files: unknown flags"}, 0);
    if (lf_threads_check(&e, "predict_files: ", o.threads) != LF_OK) return fail_res(res, LF_ERR_ARG, &e, 0);
    for (size_t k = 0; k < G; k++)
        if (!paths[k]) return fail_res(res, LF_ERR_ARG, &(lf_err){"predict_files: a path is NULL"}, 0);
    if (outputs_apart(out_path, o.classes_path, paths, G, &e) != LF_OK) return fail_res(res, LF_ERR_ARG, &e, 0);
    size_t M = f->M, C = f->C;
    source *src = LF_CALLOC(G ? G : 1, sizeof *src);
    int *from = LF_CALLOC(M, sizeof *from);
    if (!src || !from) {
        LF_FREE(src), LF_FREE(from);
        return fail_res(res, LF_ERR_NOMEM, &(lf_err){"out of memory for the streamed prediction"}, 0);
    }
    lf_npy_writer w, wc;
    memset(&w, 0, sizeof w);
    memset(&wc, 0, sizeof wc);
    worker *wks = NULL;
    float *mem = NULL;
    int64_t *mem_cls = NULL;
    size_t T = 1, opened = 0;
    lf_status st = LF_OK;
    int input = 1, made = 0, told = 0;
    for (size_t k = 0; k < G && st == LF_OK; k++, opened++) {
        /* a fusion model fitted on logits applies the softmax itself */
        unsigned oflags = f->logits ? LF_OUTPUTS_RAW : o.file_flags ? o.file_flags[k] : 0;
        st = source_open(&src[k], paths[k], o.flags, &e);
        if (st == LF_OK) st = source_prepare(&src[k], oflags, paths[k], &res->issue, &e);
        if (st != LF_OK) res->file = k, res->issue.model = k;
    }
    if (st == LF_OK) st = check_files(f, names, paths, src, G, from, &res->file, &e);
    if (st == LF_OK && lf_cancelled(o.cancel)) /* reading a text input whole may have taken a while */
        st = lf_cancel_fail(&e), input = 0;
    if ((st = agree(&d, 0, st, &e, &input, res)) != LF_OK) goto done;

    size_t N = G ? src[0].rows : 0, K = chunk_rows(C), nchunks = N / K + (N % K != 0);
    if (o.features && o.feature_rows != N)
        st = lf_fail(&e, LF_ERR_ARG, "the features (%zu rows) do not match the model outputs (%zu rows)", o.feature_rows, N);
    else
        st = lf_fusion_features_check(f, o.features, o.n_features, N, &e);
    if ((st = agree(&d, 0, st, &e, &input, res)) != LF_OK) goto done;
    int in_memory = through(out_path) || through(o.classes_path);
    if (d.size > 1 && in_memory) {
        input = 0;
        st = lf_fail(&e, LF_ERR_ARG, "a prediction over %d MPI ranks writes its outputs by position: they must be "
                     "files, not standard output or a FIFO", d.size);
        goto done;
    }
    /* this rank's chunks (all of them on one process) */
    size_t c0 = nchunks * (size_t)d.rank / (size_t)d.size, c1 = nchunks * ((size_t)d.rank + 1) / (size_t)d.size;
    size_t mine = (c1 < nchunks ? c1 * K : N) - (c0 < nchunks ? c0 * K : N);
#ifdef _OPENMP
    T = (size_t)omp_get_max_threads();
#endif
    if (T > MAX_THREADS) T = MAX_THREADS;
    if (T > c1 - c0) T = c1 > c0 ? c1 - c0 : 1;
    size_t R = N < K ? (N ? N : 1) : K; /* rows of a chunk's buffers */
    input = 0;
    wks = LF_CALLOC(T, sizeof *wks);
    int nomem = !wks;
    for (size_t t = 0; t < T && !nomem; t++) {
        wks[t].failed = SIZE_MAX;
        wks[t].out = lf_alloc_array(R, C * sizeof(float));
        wks[t].cls = o.classes_path ? lf_alloc_array(R, sizeof(int64_t)) : NULL;
        wks[t].buf = LF_CALLOC(G ? G : 1, sizeof(lf_npy_buf));
        wks[t].rows = LF_CALLOC(G ? G : 1, sizeof *wks[t].rows);
        wks[t].p = LF_CALLOC(M, sizeof *wks[t].p);
        nomem = !wks[t].out || (o.classes_path && !wks[t].cls) || !wks[t].buf || !wks[t].rows || !wks[t].p;
    }
    if (in_memory && !nomem) {
        mem = lf_alloc_array(N ? N : 1, C * sizeof(float));
        mem_cls = o.classes_path ? lf_alloc_array(N ? N : 1, sizeof(int64_t)) : NULL;
        nomem = !mem || (o.classes_path && !mem_cls);
    }
    if (nomem) st = lf_fail(&e, LF_ERR_NOMEM, "out of memory for the streamed prediction");
    if (st == LF_OK && !in_memory && d.rank == 0) {
        made = 1;
        st = outputs_open(&o, out_path, N, C, &w, &wc, &e);
        if (st == LF_OK) st = lf_npy_writer_positional(&w, &e);
        if (st == LF_OK && o.classes_path) st = lf_npy_writer_positional(&wc, &e);
    }
    if ((st = agree(&d, 0, st, &e, &input, res)) != LF_OK) goto done;
    if (d.size > 1) {
        st = outputs_join(&d, &o, out_path, N, C, &w, &wc, &e);
        if ((st = agree(&d, 0, st, &e, &input, res)) != LF_OK) goto done;
    }

    job jb;
    memset(&jb, 0, sizeof jb);
    jb.f = f, jb.src = src, jb.from = from, jb.paths = paths;
    jb.G = G, jb.M = M, jb.C = C, jb.N = N, jb.nchunks = c1, jb.chunk = K; /* chunks c0 .. c1 - 1 */
    jb.w = in_memory ? NULL : &w, jb.wc = in_memory || !o.classes_path ? NULL : &wc;
    jb.mem = mem, jb.mem_cls = mem_cls;
    jb.feat = o.features, jb.F = o.n_features;
    jb.cancel = o.cancel;
    atomic_init(&jb.next, c0);
    atomic_init(&jb.stop, SIZE_MAX);
    /* one thread (a single chunk, or OMP_NUM_THREADS=1): no region, so the
     * library's own loops may still use the threads */
#pragma omp parallel num_threads((int)T) if (T > 1)
    {
        size_t t = 0;
#ifdef _OPENMP
        t = (size_t)omp_get_thread_num();
#endif
        if (t < T) run_worker(&jb, &wks[t]);
    }
    worker *first = NULL; /* the first failed chunk's thread */
    for (size_t t = 0; t < T; t++)
        if (wks[t].failed != SIZE_MAX && (!first || wks[t].failed < first->failed)) first = &wks[t];
    size_t where = SIZE_MAX;
    if (first) {
        st = first->st, e = first->e, input = first->input;
        res->file = first->file, res->issue = first->issue;
        where = first->failed;
    } else if (lf_cancelled(o.cancel)) { /* set after this rank's last chunk */
        st = lf_cancel_fail(&e), input = 0;
        where = nchunks; /* after every chunk */
    } else if (d.rank != 0) { /* this rank's rows are in place: it leaves rank 0's files */
        st = lf_npy_writer_leave(&w, &e);
        if (st == LF_OK && o.classes_path) st = lf_npy_writer_leave(&wc, &e);
        where = nchunks; /* after every chunk */
    }
    if ((st = agree(&d, where, st, &e, &input, res)) != LF_OK) goto done;
    if (d.size > 1 && d.rank == 0) { /* the other ranks placed the rest */
        lf_npy_writer_placed_elsewhere(&w, N - mine);
        if (o.classes_path) lf_npy_writer_placed_elsewhere(&wc, N - mine);
    }
    if (in_memory) { /* in order, now that everything is fused */
        made = 1;
        st = outputs_open(&o, out_path, N, C, &w, &wc, &e);
        if (st == LF_OK) st = lf_npy_writer_rows(&w, mem, N, &e);
        if (st == LF_OK && o.classes_path) st = lf_npy_writer_i64(&wc, mem_cls, N, &e);
        if (st != LF_OK) goto done;
    }
    if (d.rank == 0) st = outputs_commit(&o, &w, &wc, &told, &e);
    st = agree(&d, 0, st, &e, &input, res); /* rank 0's rename, told to every rank */
    if (st == LF_OK) res->rows = N, res->cols = C;
done:
    lf_npy_writer_abort(&w); /* no-op after a commit */
    lf_npy_writer_abort(&wc);
    if (made && !told) tell(&o, LF_TEMP_DISCARDED, NULL, 0);
    for (size_t k = 0; k < opened; k++) source_close(&src[k]);
    for (size_t t = 0; wks && t < T; t++) {
        for (size_t k = 0; wks[t].buf && k < G; k++) lf_npy_buf_free(&wks[t].buf[k]);
        LF_FREE(wks[t].out), LF_FREE(wks[t].cls), LF_FREE(wks[t].buf);
        LF_FREE(wks[t].rows), LF_FREE(wks[t].p);
    }
    LF_FREE(wks), LF_FREE(mem), LF_FREE(mem_cls), LF_FREE(src), LF_FREE(from);
    if (st != LF_OK) return fail_res(res, st, &e, input);
    return LF_OK;
}

lf_status lf_fusion_predict_files(const lf_fusion *f, const char *const *names, const char *const *paths,
                                  size_t G, const char *out_path, const lf_predict_files_options *opt,
                                  lf_predict_files_result *res) {
    int saved = lf_threads_push(opt ? opt->threads : 0);
    lf_status st = predict_files(f, names, paths, G, out_path, opt, res);
    lf_threads_pop(saved);
    return st;
}
