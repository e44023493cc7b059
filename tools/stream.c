/*
 * stream.c — `latefuse predict` over .npy files of any size: the inputs are
 * read CHUNK rows at a time (io/npy.h's streaming reader: float32 files
 * through a memory map, without a copy, unless --no-mmap), each chunk is
 * validated (with row numbers counted from the start of its file), fused
 * and appended to a streamed .npy writer, so memory does not grow with the
 * number of rows.  Same checks and messages as the whole-file path in
 * inputs.c; the output appears only when everything succeeded.
 */
#include "cli.h"
#include "fusion/rules.h"
#include "io/npy.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#define CHUNK 16384

/* A mapped input that another process truncates while it is read raises
 * SIGBUS at the first access past its new end (the size is checked before
 * every chunk, but not between the check and the reads).  The tool owns its
 * signals: for the streaming loop, the handler removes the temporary
 * output, says what happened and exits, with async-signal-safe calls only. */
static const char *volatile bus_tmp; /* the output's temporary file, once open */

static void on_sigbus(int sig) {
    static const char msg[] = "latefuse: an input file shrank while it was being read (it is "
                              "memory-mapped; --no-mmap reads it with read()); nothing was written\n";
    (void)sig;
    if (bus_tmp) unlink(bus_tmp);
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(CLI_EXIT_USAGE);
}

static int is_npy(const char *path) {
    size_t n = strlen(path);
    return n >= 4 && (strcmp(path + n - 4, ".npy") == 0 || strcmp(path + n - 4, ".NPY") == 0);
}

int cli_predict_stream(const struct cli_opts *o, lf_fusion *f, int *handled) {
    *handled = 0;
    for (size_t k = 0; k < o->n_models; k++)
        if (!is_npy(o->models[k].path)) return 0;
    size_t M = lf_fusion_num_models(f), C = lf_fusion_num_classes(f), G = o->n_models;
    if (M > CLI_MAX_MODELS) return 0;
    lf_npy_reader rd[CLI_MAX_MODELS];
    memset(rd, 0, sizeof rd);
    lf_err e = {{0}};
    lf_status st = LF_OK;
    int rc = 0;
    float *out = NULL;
    int64_t *cls = NULL;
    lf_npy_writer w;
    memset(&w, 0, sizeof w);
    int mapped = 0;
    struct sigaction old_bus;
    for (size_t k = 0; k < G; k++) {
        st = lf_npy_reader_open_flags(&rd[k], o->models[k].path, o->no_mmap ? LF_NPY_NO_MMAP : 0, &e);
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
    int src[CLI_MAX_MODELS]; /* stored model j reads -m number src[j], or -1 */
    for (size_t j = 0; j < M; j++) src[j] = -1;
    for (size_t k = 0; k < G && !st; k++) {
        size_t j;
        st = cli_find_model(f, o->models[k].name, &j, &e);
        if (!st) src[j] = (int)k;
    }
    if (st) goto fail_input;

    size_t R = N < CHUNK ? (N ? N : 1) : CHUNK;
    out = lf_alloc_array(R, C * sizeof(float));
    if (o->classes_out) cls = lf_alloc_array(N ? N : 1, sizeof *cls);
    if (!out || (o->classes_out && !cls)) {
        rc = cli_fail(LF_ERR_NOMEM, "out of memory for the streamed prediction", 0);
        goto done;
    }
    st = lf_npy_writer_open_flags(&w, o->out, N, C, o->no_fsync ? LF_WRITE_NO_FSYNC : 0, &e);
    if (st) {
        rc = cli_fail(st, e.msg, 0);
        goto done;
    }
    for (size_t k = 0; k < G; k++) mapped |= rd[k].mapped;
    if (mapped) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigbus;
        sigemptyset(&sa.sa_mask);
        bus_tmp = w.af.tmp_path;
        sigaction(SIGBUS, &sa, &old_bus);
    }
    for (size_t r0 = 0; r0 < N; r0 += R) {
        size_t n = N - r0 < R ? N - r0 : R;
        const float *p[CLI_MAX_MODELS], *rows[CLI_MAX_MODELS];
        /* each reader's rows: in its file's memory map, or read into its buffer */
        for (size_t k = 0; k < G && !st; k++) st = lf_npy_reader_next(&rd[k], n, &rows[k], &e);
        if (st) goto fail_input;
        for (size_t j = 0; j < M; j++) p[j] = src[j] < 0 ? NULL : rows[src[j]];
        /* the library validates the chunk; on failure, find the file, row
         * and value for the message */
        st = lf_fusion_predict(f, p, n, out);
        if (st) {
            lf_status why = st;
            st = LF_OK;
            for (size_t k = 0; k < G && !st; k++)
                st = cli_check_outputs_at(o->models[k].path, rows[k], n, C, lf_fusion_logits(f), r0, &e);
            if (st) goto fail_input;
            rc = cli_fail(why, lf_status_string(why), 1);
            goto done;
        }
        if (cls)
            for (size_t i = 0; i < n; i++) {
                cls[r0 + i] = (int64_t)lf_argmax_f(out + i * C, C);
            }
        st = lf_npy_writer_rows(&w, out, n, &e);
        if (st) {
            rc = cli_fail(st, e.msg, 0);
            goto done;
        }
    }
    bus_tmp = NULL; /* commit renames it */
    st = lf_npy_writer_commit(&w, &e);
    if (!st && cls) st = lf_npy_write_1d_flags(o->classes_out, cls, N, o->no_fsync ? LF_WRITE_NO_FSYNC : 0, &e);
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
    if (mapped) {
        sigaction(SIGBUS, &old_bus, NULL);
        bus_tmp = NULL;
    }
    lf_npy_writer_abort(&w); /* no-op after a commit */
    for (size_t k = 0; k < G; k++) lf_npy_reader_close(&rd[k]);
    LF_FREE(out), LF_FREE(cls);
    return rc;
}
