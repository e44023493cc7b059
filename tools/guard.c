/*
 * guard.c — what keeps `latefuse` from leaving anything behind or writing
 * over a file it reads: the registry of temporary files, the signal
 * handlers, and the check of the output paths against the inputs.
 *
 * Temporary files.  The library writes every output to a temporary file
 * renamed into place and removes it on any failure it sees; what it cannot
 * see is the process being stopped.  The tool owns its signals (the
 * library installs no handler and keeps no global state): predict hands
 * lf_fusion_predict_files cli_temp_event, which the library calls around
 * creating each temporary output (its name is registered here, a copy in
 * static storage) and around the renames; fit saves with the signals held.
 * One handler for SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
 * SIGALRM, SIGVTALRM, SIGPROF, SIGXFSZ, SIGPIPE and SIGBUS unlinks every
 * registered name with unlink(2), writes one line with write(2) and
 * leaves with _exit: 128 + the signal; a SIGBUS while predict --mmap maps
 * its inputs (cli_guard_mapped) is an input shrinking under the mapping:
 * exit 2, with a sentence saying so.  A registered name that was renamed
 * already is simply not found.  An atexit function removes them too, for
 * exit() called from inside a library (libgomp exits with status 1 when it
 * cannot create its threads).  A folder made for the outputs
 * (cli_make_output_dir) is removed with them while nothing is in it.
 *
 * Races.  A file is created and registered, and the outputs are renamed and
 * unregistered, with the asynchronous signals (all but SIGPIPE and SIGBUS)
 * blocked in the calling thread (cli_guard_hold / cli_guard_release, from
 * the library's CREATING/CREATED and RENAMING/RENAMED events); the OpenMP
 * threads are started once, early (cli_guard_start), with those signals
 * blocked, and keep that mask, so such a signal is always delivered to the
 * main thread, and never between a file's creation and its registration.
 * Starting the threads early also makes a failure to create them (ulimit
 * -u, -v) happen before any file exists.  A signal ignored when the tool starts (nohup, a
 * background job's SIGINT) stays ignored.
 */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define GUARD_SLOTS 8 /* demo --save's six files at once */
#define GUARD_PATH 4096

/* The registry: written by the main thread with the signals blocked, read
 * by the handler. */
static char guard_path[GUARD_SLOTS][GUARD_PATH];
static volatile sig_atomic_t guard_used[GUARD_SLOTS];
/* the size of the OpenMP team started by cli_guard_start */
static volatile int guard_team;
/* the outputs are in place (a signal held during the renames acts after) */
static volatile sig_atomic_t guard_done;
static volatile sig_atomic_t guard_mapped; /* predict --mmap: inputs are mapped */
/* how the handler's line starts: "latefuse: ", or under MPI on a rank
 * above 0 "latefuse: rank R: " as the rank's other messages (cli_error) */
static char guard_who[40] = "latefuse: ";
/* a folder the run made for its outputs (demo --save), removed with the
 * temporary files while it is empty (rmdir removes nothing else) */
static char guard_dir[GUARD_PATH];
static volatile sig_atomic_t guard_dir_used;

static void remove_temps(void) {
    for (int i = 0; i < GUARD_SLOTS; i++)
        if (guard_used[i]) {
            (void)unlink(guard_path[i]);
            guard_used[i] = 0;
        }
    if (guard_dir_used) {
        (void)rmdir(guard_dir);
        guard_dir_used = 0;
    }
}

static void say(const char *s) {
    size_t n = strlen(s); /* async-signal-safe */
    while (n) {
        ssize_t w = write(2, s, n);
        if (w <= 0) return;
        s += w, n -= (size_t)w;
    }
}

/* set by the first handler to run: a signal that reaches several threads
 * at once (SIGXFSZ to two writers, SIGBUS to two readers) is handled once */
static atomic_flag guard_stopping = ATOMIC_FLAG_INIT;

/* The signals the handler turns into a clean stop: those that end the
 * process by default and can be sent to it (SIGKILL and SIGSTOP aside;
 * those that only a fault raises, SIGSEGV, SIGFPE, ..., keep their core
 * dump), and SIGPIPE and SIGBUS, which writes and mappings raise
 * synchronously.  async: blocked while a temporary file is created or
 * renamed. */
static const struct {
    int sig;
    const char *name;
    int async;
} handled[] = {
    {SIGINT, "SIGINT", 1},   {SIGTERM, "SIGTERM", 1},     {SIGHUP, "SIGHUP", 1},   {SIGXFSZ, "SIGXFSZ", 1},
    {SIGQUIT, "SIGQUIT", 1}, {SIGUSR1, "SIGUSR1", 1},     {SIGUSR2, "SIGUSR2", 1}, {SIGALRM, "SIGALRM", 1},
    {SIGVTALRM, "SIGVTALRM", 1}, {SIGPROF, "SIGPROF", 1}, {SIGBUS, "SIGBUS", 0},   {SIGPIPE, "SIGPIPE", 0},
};
#define N_HANDLED (sizeof handled / sizeof handled[0])

static void on_signal(int sig) {
    if (atomic_flag_test_and_set(&guard_stopping))
        for (;;) pause(); /* another thread is ending the process (lock-free: async-signal-safe) */
    remove_temps();
    const char *name = "a signal";
    for (size_t i = 0; i < N_HANDLED; i++)
        if (handled[i].sig == sig) name = handled[i].name;
    if (sig == SIGPIPE) {
        say(guard_who);
        say("stopped by SIGPIPE: the reader of an output went away\n");
        _exit(128 + sig);
    }
    if (sig == SIGBUS && guard_mapped) { /* a mapped input cut short under the reader */
        say(guard_who);
        say("an input file shrank while it was being read (it was memory-mapped: without --mmap it "
            "is read with read()); nothing was written\n");
        _exit(CLI_EXIT_USAGE);
    }
    say(guard_who);
    say("stopped by ");
    say(name);
    if (sig == SIGXFSZ) say(" (the file size limit, ulimit -f, was reached)");
    say(guard_done == 1   ? "; the outputs were complete and are in place\n"
        : guard_done == 2 ? "; the outputs written before it are in place, the others were not written\n"
                          : "; no output was written\n");
    _exit(128 + sig);
}

static void at_exit(void) { remove_temps(); }

static void async_set(sigset_t *s) {
    sigemptyset(s);
    for (size_t i = 0; i < N_HANDLED; i++)
        if (handled[i].async) sigaddset(s, handled[i].sig);
}

void cli_guard_rank(int rank) {
    if (rank > 0) snprintf(guard_who, sizeof guard_who, "latefuse: rank %d: ", rank);
}

void cli_guard_start(size_t threads) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_HANDLED; i++) sigaddset(&sa.sa_mask, handled[i].sig); /* one handler at a time */
    for (size_t i = 0; i < N_HANDLED; i++) {
        int sig = handled[i].sig;
        if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN && sig != SIGBUS &&
            sig != SIGXFSZ) /* (an ignored SIGPIPE: writes fail with EPIPE) */
            continue;
        sigaction(sig, &sa, NULL);
    }
    atexit(at_exit);
    sigset_t block, prev;
    async_set(&block);
    /* not SIGXFSZ: a worker thread's write past ulimit -f raises it in that
     * thread, and blocked it would turn into a write error (EFBIG) instead
     * of the handler's line */
    sigdelset(&block, SIGXFSZ);
    sigprocmask(SIG_BLOCK, &block, &prev);
    /* the OpenMP team, created now with the signals blocked (an empty
     * region is optimised away, and the team would then be created later,
     * by the first parallel loop, with the signals open in its threads) */
#ifdef _OPENMP
    if (threads) omp_set_num_threads((int)threads); /* the commands' count too: the library's is no larger */
#else
    (void)threads;
#endif
    int team = 0;
#pragma omp parallel reduction(+ : team)
    team += 1;
    guard_team = team;
    sigprocmask(SIG_SETMASK, &prev, NULL);
}

void cli_guard_hold(sigset_t *prev) {
    sigset_t block;
    async_set(&block);
    sigprocmask(SIG_BLOCK, &block, prev);
}

void cli_guard_release(const sigset_t *prev) { sigprocmask(SIG_SETMASK, prev, NULL); }

void cli_temp_add(const char *tmp) {
    if (!tmp) return;
    size_t n = strlen(tmp);
    for (int i = 0; i < GUARD_SLOTS; i++)
        if (!guard_used[i] && n < GUARD_PATH) {
            memcpy(guard_path[i], tmp, n + 1);
            guard_used[i] = 1;
            return;
        }
}

int cli_make_output_dir(const char *dir) {
    size_t n = strlen(dir);
    if (n >= GUARD_PATH) {
        errno = ENAMETOOLONG;
        return -1;
    }
    sigset_t prev;
    cli_guard_hold(&prev);
    int made = mkdir(dir, 0777) == 0;
    if (made && !guard_dir_used) {
        memcpy(guard_dir, dir, n + 1);
        guard_dir_used = 1;
    }
    int err = errno;
    cli_guard_release(&prev);
    errno = err;
    return made || err == EEXIST ? 0 : -1;
}

void cli_outputs_done(void) { guard_done = 1; }

void cli_outputs_pending(void) { guard_done = guard_done ? 2 : 0; }

void cli_guard_mapped(void) { guard_mapped = 1; }

void cli_temp_clear(void) {
    for (int i = 0; i < GUARD_SLOTS; i++) guard_used[i] = 0;
}

/* ------------------------------------------------------ output paths */

static int refuse_input(const char *opt, const char *out, const char *what, const char *in, char *err,
                        size_t errlen) {
    if (!lf_output_is_input(out, in)) return 0;
    snprintf(err, errlen, "%s '%s' is the same file as the %s '%s'; nothing was read or written", opt,
             strcmp(out, "-") == 0 ? "- (standard output)" : out, what, in);
    return 1;
}

int cli_check_outputs_apart(const struct cli_opts *o, char *err, size_t errlen) {
    /* fit's --history is an output like -o (seed-example and head-example
     * read nothing: their --history has nothing to collide with) */
    const char *history = o->command == CLI_FIT ? o->history : NULL;
    const char *outs[3] = {o->out, o->classes_out, history};
    const char *opts[3] = {"-o", "--classes-out", "--history"};
    for (int k = 0; k < 3; k++) {
        if (!outs[k]) continue;
        if (refuse_input(opts[k], outs[k], "fusion model", o->fusion_path, err, errlen) ||
            refuse_input(opts[k], outs[k], "labels", o->labels, err, errlen) ||
            refuse_input(opts[k], outs[k], "features", o->features, err, errlen) ||
            refuse_input(opts[k], outs[k], "class names", o->class_names, err, errlen))
            return 1;
        for (size_t m = 0; m < o->n_models; m++)
            if (refuse_input(opts[k], outs[k], "input", o->models[m].path, err, errlen)) return 1;
    }
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++)
            if (outs[a] && outs[b] && lf_outputs_same(outs[a], outs[b])) {
                snprintf(err, errlen, "%s '%s' and %s '%s' name the same file; nothing was read or written",
                         opts[a], outs[a], opts[b], outs[b]);
                return 1;
            }
    return 0;
}

int cli_output_is_folder(const char *path) {
    struct stat sb;
    return strcmp(path, "-") != 0 && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The folder an output is renamed into, into dir.  Returns 0 when there
 * is nothing to check here: standard output, an existing target that is
 * not a regular file (written through, never replaced; a folder is the
 * writer's error), a symbolic link (the writer replaces what it leads to,
 * wherever that is), a path too long for dir. */
static int output_folder(const char *path, char *dir, size_t len) {
    struct stat sb;
    size_t n = strlen(path);
    if (strcmp(path, "-") == 0 || n >= len) return 0;
    if (lstat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) return 0;
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash) memcpy(dir, ".", 2);
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    return 1;
}

int cli_check_output_folders(const struct cli_opts *o, char *err, size_t errlen) {
    int history = o->command == CLI_FIT || o->command == CLI_SEED_EXAMPLE || o->command == CLI_HEAD_EXAMPLE;
    const char *outs[4] = {o->out, o->classes_out, history ? o->history : NULL,
                           o->command == CLI_DEMO ? o->report : NULL};
    const char *opts[4] = {"-o", "--classes-out", "--history", "--report"};
    for (int k = 0; k < 4; k++) {
        char dir[GUARD_PATH];
        struct stat sb;
        if (outs[k] && cli_output_is_folder(outs[k])) { /* the writer refuses it, after all the work */
            snprintf(err, errlen, "cannot write %s '%s': it is a folder; nothing was read or written", opts[k],
                     outs[k]);
            return 1;
        }
        if (!outs[k] || !output_folder(outs[k], dir, sizeof dir)) continue;
        const char *why = NULL;
        if (stat(dir, &sb) != 0)
            why = errno == ENOENT ? "does not exist" : strerror(errno);
        else if (!S_ISDIR(sb.st_mode))
            why = "is not a folder";
        else if (access(dir, W_OK | X_OK) != 0)
            why = "is not writable"; /* the temporary file is created there */
        if (why) {
            snprintf(err, errlen, "cannot write %s '%s': the folder '%s' %s; nothing was read or written", opts[k],
                     outs[k], dir, why);
            return 1;
        }
    }
    return 0;
}

void cli_temp_event(void *ctx, lf_temp_event ev, const char *path, int ok) {
    /* the mask to restore, between CREATING and CREATED (RENAMING and RENAMED) */
    sigset_t *prev = ctx;
    switch (ev) {
    case LF_TEMP_CREATING:
    case LF_TEMP_RENAMING: cli_guard_hold(prev); break;
    case LF_TEMP_CREATED:
        if (path) cli_temp_add(path);
        cli_guard_release(prev);
        break;
    case LF_TEMP_RENAMED:
        if (ok) cli_outputs_done();
        cli_temp_clear();
        cli_guard_release(prev);
        break;
    case LF_TEMP_DISCARDED: cli_temp_clear(); break;
    }
}
