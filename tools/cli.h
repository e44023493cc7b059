/*
 * cli.h — what the files of the `latefuse` command-line tool share: the
 * parsed command line (struct cli_opts, filled by the pure parser in
 * args.c), the loaded inputs (inputs.c), the output formatters (table.c),
 * the output paths, temporary files and signals (guard.c), the shared
 * helpers (util.c) and one entry point per command (cmd_*.c).
 *
 * The tool is a thin layer over the public API in latefuse.h: it parses,
 * loads and validates files, calls the library, and prints.  Exit status:
 * 0 success, 2 bad usage or bad input, 1 any other failure; every error is
 * one sentence on stderr prefixed "latefuse: ".
 */
#ifndef LF_CLI_H
#define LF_CLI_H

#include "latefuse.h"

#include <signal.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

#define CLI_MAX_MODELS 64
#define CLI_NAME_MAX 63

typedef enum cli_command {
    CLI_NONE = 0,   /* no command: top-level --help / --version / usage */
    CLI_SEED_EXAMPLE,
    CLI_HEAD_EXAMPLE,
    CLI_COMPARE,
    CLI_FIT,
    CLI_PREDICT,
    CLI_EVAL,
    CLI_INSPECT,
    CLI_DEMO,
    CLI_REPORT,
    CLI_NUM_COMMANDS
} cli_command;

/* -m NAME=FILE[:logits][:renormalize]: options of one file */
#define CLI_FILE_LOGITS 1u      /* the file holds raw scores */
#define CLI_FILE_RENORMALIZE 2u /* its rows may be renormalised */
#define CLI_PATH_MAX 1024       /* a FILE followed by options is copied */

typedef struct cli_model_arg {
    char name[CLI_NAME_MAX + 1]; /* NAME of -m NAME=FILE (copied)          */
    const char *path;            /* FILE: into argv, or into path_buf when
                                    options followed it                    */
    unsigned flags;              /* CLI_FILE_*                             */
    char path_buf[CLI_PATH_MAX];
} cli_model_arg;

struct cli_opts {
    cli_command command;
    int help;                    /* --help / -h given: print usage, exit 0 */
    int version;                 /* --version given (top level)            */
    cli_model_arg models[CLI_MAX_MODELS];
    size_t n_models;
    const char *labels;          /* -y */
    const char *fusion_path;     /* positional FUSION of predict/eval/inspect, -f of report */
    const char *out;             /* -o */
    const char *classes_out;     /* --classes-out */
    size_t folds;                /* --folds, default 5 */
    uint64_t seed;               /* --seed, default 0 */
    size_t epochs;               /* --epochs; 0 = the command's default */
    lf_method method;            /* --method (fit) */
    int method_set;
    lf_method methods[64];       /* --methods (compare), deduplicated */
    size_t n_methods;            /* 0 = every method */
    int calibrate, logits, json;
    int renormalize;             /* --renormalize: every probability file  */
    const char *save_dir;        /* demo --save DIR                        */
    int quiet;                   /* --quiet: no progress display           */
    int no_fsync;                /* --no-fsync (fit, predict): LF_WRITE_NO_FSYNC */
    int single;                  /* --single (fit): auto fits one candidate, no ensemble */
    int mmap;                    /* --mmap (predict): LF_READ_MMAP; --no-mmap: 0 again */
    int metric;                  /* --metric (fit, compare): LF_METRIC_*, default log-loss */
    size_t ensemble_size, bags;  /* --ensemble-size, --bags (ges); 0: the defaults */
    size_t k;                    /* --neighbors (dynamic selection); 0: 7 */
    size_t threads;              /* --threads (compare, fit, report, predict, eval); 0: OpenMP's count */
    const char *class_names;     /* --class-names FILE (fit, eval, report) */
    int per_class, confusion;    /* eval --per-class, --confusion */
    int all;                     /* inspect --all: every class's weights */
    const char *history;         /* --history FILE (fit, seed-example, head-example) */
    const char *title;           /* report --title */
    const char *report;          /* demo --report FILE */
    int argc;                    /* the command line as given (report shows it) */
    char **argv;
    int rank, ranks;             /* this process in the MPI job (mpi.c); 0, 1 */
    const void *mpi_comm;        /* the library's communicator; NULL: one process */
    const char *features;        /* --features FILE (compare, fit, predict, eval) */
};

/* ----------------------------------------------------------- args.c */

/* Parses argv (argv[0] is the program) into *out.  Pure: reads only its
 * arguments, writes only *out and err, allocates nothing (paths point into
 * argv, or into *out when -m FILE carried options).  Returns 0 on success (including --help / --version, flagged in
 * *out) or CLI_EXIT_USAGE with one sentence (no prefix, no newline) in err.
 * Checks every option belongs to the command, values parse, required
 * options are present, and model names are valid and distinct. */
int lf_cli_parse(int argc, char **argv, struct cli_opts *out, char *err, size_t errlen);

/* The command's spelling ("compare", ...); "" for CLI_NONE. */
const char *lf_cli_command_name(cli_command c);

/* The usage text of a command (CLI_NONE: the overview of every command). */
const char *lf_cli_usage(cli_command c);

/* A one-sentence message (the tool's own lf_err). */
typedef struct cli_err {
    char msg[512];
} cli_err;

/* Formats the message into e (printf-style) and returns st. */
lf_status cli_set(cli_err *e, lf_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The index of the largest of n values (the first on ties). */
size_t cli_argmax(const float *v, size_t n);

/* --------------------------------------------------------- inputs.c */

/* The model outputs given on the command line, validated: M arrays of
 * N x C float32 (NULL for a model absent from every row), NaN rows where a
 * model's output is missing. */
typedef struct cli_inputs {
    size_t M, N, C;
    float *p[CLI_MAX_MODELS];
    const char *names[CLI_MAX_MODELS];
    const char *paths[CLI_MAX_MODELS];
} cli_inputs;

/* Reads a .npy or .csv file (chosen by extension, any case) into *out
 * (lf_matrix_read). */
lf_status cli_read_matrix(const char *path, lf_matrix *out, cli_err *e);

/* Checks a model output matrix: finite, rows all-NaN (missing) or free of
 * NaN, and unless `logits`, probabilities >= 0 whose rows sum to 1 within
 * 1e-3.  Messages name the file, the 1-based row and the value; a hint at
 * raw scores names --logits when the command takes it (flag), else the
 * file's :logits. */
lf_status cli_check_outputs(const char *path, const float *p, size_t N, size_t C, int logits, int flag,
                            cli_err *e);

/* The wording of a problem lf_check_outputs found in the file `path`:
 * 1-based row and column, the value (flag: as cli_check_outputs). */
void cli_issue_message(const lf_input_issue *is, const char *path, int flag, char *msg, size_t len);

/* whether the command takes --logits (predict and eval read the fusion
 * model's setting, and a file's :logits) */
int cli_takes_logits(const struct cli_opts *o);

/* The same for N rows that start at row row0 (0-based) of the file. */
lf_status cli_check_outputs_at(const char *path, const float *p, size_t N, size_t C, int logits, int flag,
                               size_t row0, cli_err *e);

/* Shape checks of a model file against the first one (file `first` with N
 * rows and C columns; is_first for that file itself) and, when want_c > 0,
 * the fusion model's classes.  The messages name both files. */
lf_status cli_check_shape(const char *path, size_t rows, size_t cols, const char *first, size_t N,
                          size_t C, int is_first, size_t want_c, cli_err *e);

/* The index *j of `name` among the fusion model's models; LF_ERR_ARG with
 * the names it knows otherwise. */
lf_status cli_find_model(const lf_fusion *f, const char *name, size_t *j, cli_err *e);

/* Loads every -m file of o in order (names and paths kept), checks that all
 * have the same rows and columns (and C == want_c when want_c > 0), and
 * validates each with cli_check_outputs. */
/* The LF_OUTPUTS_* flags of -m file k: RAW when the fusion model reads
 * logits (`logits`), else its own :logits / :renormalize (or
 * --renormalize). */
unsigned cli_file_flags(const struct cli_opts *o, size_t k, int logits);
/* How messages name an input: "standard input" for "-". */
const char *cli_input_name(const char *path);
lf_status cli_load_models(const struct cli_opts *o, int logits, size_t want_c, cli_inputs *in,
                          cli_err *e);

/* Arranges `in` (loaded by name) in the order of the fusion model's stored
 * names: stored models not given become NULL; a given name the fusion model
 * does not know is LF_ERR_ARG. */
lf_status cli_match_models(const lf_fusion *f, cli_inputs *in, cli_err *e);

/* Loads labels for N samples of C classes: N integers in 0..C-1 (one
 * column, any numeric dtype but integral values) or an N x C one-hot
 * matrix.  *y is malloc'ed (free with free). */
/* Labels: numbers (class indices or one-hot), or names, one per line,
 * mapped through *classes (names known: --class-names, a CSV header, the
 * fusion model's; classes NULL: numbers only) or, when it is empty,
 * through their sorted distinct values, which are then put in *classes. */
lf_status cli_load_labels(const char *path, size_t N, size_t C, lf_names *classes, int **y, cli_err *e);

void cli_inputs_free(cli_inputs *in);

/* --features FILE: N rows (the model outputs' rows, N == 0: any) of finite
 * values, in any form lf_matrix_read reads; messages name the file and
 * count rows from 1.  Zeroes *out on failure. */
lf_status cli_load_features(const char *path, size_t N, lf_matrix *out, cli_err *e);
/* For predict, eval and report -f: --features given when FUSION
 * (o->fusion_path) was fitted with features, and of its width (x: the
 * features read); refused for a dynamic-selection FUSION fitted without
 * them (another method, as auto may choose when given features, takes and
 * leaves them).  0, or the exit status after printing why. */
int cli_features_fit(const struct cli_opts *o, const lf_fusion *f, const lf_matrix *x);

/* Class names for C classes from --class-names FILE (one per line), else
 * the header row of the first CSV -m file that has one; out->n = 0 when
 * there are none.  A count that is not C is LF_ERR_SHAPE naming the file.
 * Every CSV header must name the same classes in the same order as that
 * list (LF_ERR_FORMAT), and so must the names stored in the fusion model
 * f when f (o->fusion_path; NULL: none) has some (LF_ERR_ARG, or FORMAT
 * for a header): the message names both sources and the first class
 * where they differ. */
lf_status cli_class_names(const struct cli_opts *o, size_t C, const lf_fusion *f, lf_names *out, cli_err *e);
/* Class c's name: given's, else the fusion model's (f may be NULL), else
 * its number written into buf. */
const char *cli_class_name(const lf_names *given, const lf_fusion *f, size_t c, char buf[24]);
/* A name on a terminal: control characters as '?', padded with spaces to
 * `width` characters (UTF-8 counted by code points). */
void cli_print_name(FILE *f, const char *s, int width);

/* ---------------------------------------------------------- table.c */

/* The compare table as text, in the table's order (best first). */
void cli_print_compare(FILE *f, const lf_compare_table *t, const char *const *names, size_t M);
/* The compare table as one JSON object: what the text table's first line
 * says (the N samples, the models' names, C classes, the options' folds,
 * seed and calibration) and its rows (docs/cli.md lists the keys). */
void cli_print_compare_json(FILE *f, const lf_compare_table *t, const char *const *names, size_t N,
                            size_t C, const struct cli_opts *o);
/* auto's best `top` candidates, mean +- std on its metric, and further
 * down to the last member of its ensemble (every member shows its weight). */
void cli_print_auto(FILE *f, const lf_compare_table *t, int metric, size_t top);
/* Metrics of one fused prediction, as text lines or one JSON object. */
void cli_print_metrics(FILE *f, const double m[LF_NUM_METRICS], size_t N, int json);
/* eval's output: the metrics, then (when given) the per-class scores and
 * the confusion matrix (C x C) under the C class names cls; as text, or as
 * one JSON object holding the same and, when fu (or NULL) has one, its
 * learned method's penalty {"l2", "chosen_by"} (lf_fusion_penalty). */
void cli_print_eval(FILE *f, const double m[LF_NUM_METRICS], size_t N, size_t C, const char *const *cls,
                    const lf_class_score *pc, const size_t *cm, int json,
                    const lf_fusion *fu);
/* A horizontal bar of `width` cells for a value in [0, 1] (eighth blocks). */
void cli_print_bar(FILE *f, double v, int width);
/* Method, models, classes, temperatures and learned weights of a fitted
 * fusion model (bars; a model x class table for per-class weights, or for
 * more than CLI_TABLE_CLASSES classes each model's mean, smallest and
 * largest weight unless CLI_FUSION_ALL).  flags: CLI_FUSION_HEADER (method,
 * calibration, inputs, classes... first), CLI_FUSION_ALL (inspect --all).
 * LF_ERR_NOMEM when the arrays of the importance or the weights cannot be
 * had: the text stops there, and the caller fails the run. */
#define CLI_FUSION_HEADER 1
#define CLI_FUSION_ALL 2
#define CLI_TABLE_CLASSES 16
lf_status cli_print_fusion(FILE *f, const lf_fusion *fu, int flags);
/* Writes s as a JSON string literal (quotes and escapes). */
void cli_json_string(FILE *f, const char *s);

/* ------------------------------------------------------ commands */

/* Each returns the process exit status. */
int cli_cmd_seed_example(const struct cli_opts *o);
int cli_cmd_head_example(const struct cli_opts *o);
int cli_cmd_compare(const struct cli_opts *o);
int cli_cmd_fit(const struct cli_opts *o);
int cli_cmd_predict(const struct cli_opts *o);
int cli_cmd_eval(const struct cli_opts *o);
int cli_cmd_inspect(const struct cli_opts *o);
int cli_cmd_demo(const struct cli_opts *o);
int cli_cmd_report(const struct cli_opts *o);

/* Prints "latefuse: MSG" on stderr (one line); "latefuse: rank R: MSG"
 * on a rank R > 0 of an MPI job. */
void cli_error(const char *msg);
/* Sets the rank that cli_error names (once, at the start). */
void cli_error_rank(int rank);
/* Prints the error and returns the exit status for a failed status:
 * 2 for bad input (FORMAT, SHAPE, ARG, NUMERIC, and IO when `input` is set:
 * a file that cannot be read), 1 otherwise. */
int cli_fail(lf_status st, const char *msg, int input);
/* The exit status cli_fail returns, without printing (a rank other than 0
 * of an MPI job, for a failure every rank shares and rank 0 reports). */
int cli_exit_status(lf_status st, int input);
/* The exit status once the standard output is flushed: rc, unless rc is 0
 * and a write to the standard output failed (a full disk behind `> FILE`,
 * /dev/full, a closed pipe whose SIGPIPE is ignored): then the sentence
 * "cannot write the standard output: ..." and 1, so that a table or JSON
 * cut short is never a success. */
int cli_stdout_status(int rc);

/* ---------------------------------------------------------- guard.c */

/* Installs the handlers of SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
 * SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGXFSZ, SIGPIPE and SIGBUS (which
 * remove the registered temporary files and exit with one line) and
 * the atexit cleanup, and starts the OpenMP threads with those signals
 * blocked: `threads` of them (--threads), else OpenMP's count, which the
 * commands then use (a later, larger team would start threads with the
 * signals open).  Called once by main before a fusion command. */
void cli_guard_start(size_t threads);
/* Under MPI, a rank above 0 starts the handler's line "latefuse: rank R: "
 * as its other messages do (cli_error_rank); set once before any signal. */
void cli_guard_rank(int rank);
/* Blocks the asynchronous signals in this thread (the old mask in *prev),
 * around creating + registering, or renaming + unregistering, the outputs. */
void cli_guard_hold(sigset_t *prev);
void cli_guard_release(const sigset_t *prev);
/* Registers a temporary file (its name is copied) / forgets them all. */
void cli_temp_add(const char *tmp);
void cli_temp_clear(void);
/* mkdir(dir) for the outputs, 0 when made or already there, else -1 with
 * errno.  A folder made here is registered, with the signals held: a
 * signal or a failed run (the atexit cleanup) removes it while it is
 * still empty. */
int cli_make_output_dir(const char *dir);
/* Says, with the signals held, that every output is in place: a signal
 * that then comes says so instead of "no output was written". */
void cli_outputs_done(void);
/* Says that more outputs are to come after those in place (demo's --save
 * files after its report): a signal then says that those are in place and
 * the others were not written. */
void cli_outputs_pending(void);
/* Says that the inputs are memory-mapped (predict --mmap): a SIGBUS is then
 * an input cut short under the reader (exit 2, a sentence saying so); else
 * it is a signal like the others (exit 128 + SIGBUS). */
void cli_guard_mapped(void);
/* Nonzero, with one sentence in err, when an output (-o, --classes-out,
 * fit's --history) is the same file (device and inode) as an input, the
 * labels, the fusion model, the features, the class names or another
 * output. */
int cli_check_outputs_apart(const struct cli_opts *o, char *err, size_t errlen);
/* Nonzero, with one sentence in err, when an output is a folder (through
 * its links), or the folder it is renamed into is missing, not a folder or
 * not writable: checked before any work, so that a long fit does not end
 * on it. */
int cli_check_output_folders(const struct cli_opts *o, char *err, size_t errlen);
/* Whether the output path is an existing folder (through its links; "-"
 * is not): the writers refuse it. */
int cli_output_is_folder(const char *path);
/* lf_fusion_predict_files' temp callback: holds the signals while a
 * temporary output is created and registered, and while the outputs are
 * renamed; forgets them after. */
void cli_temp_event(void *ctx, lf_temp_event ev, const char *path, int ok);

/* Small seeded generator of the examples and the demo (splitmix64): the
 * data do not depend on the library's generator. */
typedef struct cli_rng {
    uint64_t s;
} cli_rng;
uint64_t cli_rng_next(cli_rng *r);
double cli_rng_uniform(cli_rng *r);  /* [0, 1), 53 bits */
double cli_rng_normal(cli_rng *r);   /* standard normal (Box-Muller) */

/* Whether stderr is a terminal (progress display). */
int cli_stderr_tty(void);
/* The progress of a fit on stderr: the Keras bar on a terminal, else one
 * line per epoch. */
void cli_progress_fit(lf_fit_options *o, int quiet);
/* The progress of compare and the learned methods' fits on stderr, on a
 * terminal only (silent otherwise). */
void cli_progress_fusion(lf_fusion_options *o, int quiet);

/* ------------------------------------------------------------ mpi.c */

/* MPI_Init (a build with MPI) and o->rank, o->ranks, o->mpi_comm (NULL
 * with one rank); rank 0 of 1 without MPI. */
void cli_mpi_start(int *argc, char ***argv, struct cli_opts *o);
/* The largest exit status over the ranks (every rank calls it). */
int cli_mpi_agree(const struct cli_opts *o, int rc);
/* MPI_Finalize; returns rc. */
int cli_mpi_finish(const struct cli_opts *o, int rc);

#endif
