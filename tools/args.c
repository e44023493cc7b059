/*
 * args.c — the command line of `latefuse`: the usage texts and a pure
 * parser, lf_cli_parse, from argv to struct cli_opts.
 *
 * Why separate: the parser touches no files and no global state, so it is
 * easy to test and to fuzz; the commands receive options that are already
 * checked (every option belongs to its command, numbers are in range,
 * required options are present, model names are valid and distinct).
 * Options take their value as the next argument or after '=' ("--folds 5",
 * "--folds=5"); "--" ends the options.
 */
#include "cli.h"

#include <stdarg.h>
#include <string.h>

#define BIT(c) (1u << (c))
/* the library's range of folds (lf_fusion_options.folds) */
#define CLI_MAX_FOLDS 64

enum opt_id {
    OPT_MODEL, OPT_LABELS, OPT_FOLDS, OPT_SEED, OPT_METHODS, OPT_METHOD, OPT_CALIBRATE,
    OPT_LOGITS, OPT_RENORMALIZE, OPT_SAVE, OPT_QUIET, OPT_JSON, OPT_OUT, OPT_CLASSES_OUT, OPT_EPOCHS, OPT_NO_FSYNC, OPT_NO_MMAP, OPT_MMAP, OPT_SINGLE, OPT_METRIC,
    OPT_ENSEMBLE_SIZE, OPT_BAGS, OPT_NEIGHBORS, OPT_THREADS, OPT_HELP,
    OPT_FUSION, OPT_CLASS_NAMES, OPT_PER_CLASS, OPT_CONFUSION, OPT_HISTORY, OPT_TITLE, OPT_REPORT, OPT_FEATURES,
    OPT_ALL
};

typedef struct opt_spec {
    const char *name;
    enum opt_id id;
    int takes_value;
    unsigned commands; /* BIT(command) for every command that accepts it */
} opt_spec;

#define ALLCMD 0xFFFFu
#define FUSECMD (BIT(CLI_COMPARE) | BIT(CLI_FIT) | BIT(CLI_REPORT))

static const opt_spec OPTS[] = {
    {"-m", OPT_MODEL, 1, FUSECMD | BIT(CLI_PREDICT) | BIT(CLI_EVAL)},
    {"-f", OPT_FUSION, 1, BIT(CLI_REPORT)},
    {"--class-names", OPT_CLASS_NAMES, 1, FUSECMD | BIT(CLI_EVAL)},
    {"--per-class", OPT_PER_CLASS, 0, BIT(CLI_EVAL)},
    {"--confusion", OPT_CONFUSION, 0, BIT(CLI_EVAL)},
    {"--all", OPT_ALL, 0, BIT(CLI_INSPECT)},
    {"--history", OPT_HISTORY, 1, BIT(CLI_FIT) | BIT(CLI_SEED_EXAMPLE) | BIT(CLI_HEAD_EXAMPLE)},
    {"--title", OPT_TITLE, 1, BIT(CLI_REPORT)},
    {"--report", OPT_REPORT, 1, BIT(CLI_DEMO)},
    {"-y", OPT_LABELS, 1, FUSECMD | BIT(CLI_EVAL)},
    {"--folds", OPT_FOLDS, 1, FUSECMD},
    {"--seed", OPT_SEED, 1, FUSECMD | BIT(CLI_SEED_EXAMPLE) | BIT(CLI_HEAD_EXAMPLE) | BIT(CLI_DEMO)},
    {"--methods", OPT_METHODS, 1, BIT(CLI_COMPARE) | BIT(CLI_REPORT)},
    {"--method", OPT_METHOD, 1, BIT(CLI_FIT)},
    {"--calibrate", OPT_CALIBRATE, 0, FUSECMD},
    {"--logits", OPT_LOGITS, 0, FUSECMD},
    {"--save", OPT_SAVE, 1, BIT(CLI_DEMO)},
    {"--quiet", OPT_QUIET, 0, FUSECMD | BIT(CLI_DEMO) | BIT(CLI_SEED_EXAMPLE) | BIT(CLI_HEAD_EXAMPLE)},
    {"-q", OPT_QUIET, 0, FUSECMD | BIT(CLI_DEMO) | BIT(CLI_SEED_EXAMPLE) | BIT(CLI_HEAD_EXAMPLE)},
    {"--renormalize", OPT_RENORMALIZE, 0, FUSECMD | BIT(CLI_PREDICT) | BIT(CLI_EVAL)},
    {"--json", OPT_JSON, 0, BIT(CLI_COMPARE) | BIT(CLI_EVAL)},
    {"-o", OPT_OUT, 1, BIT(CLI_FIT) | BIT(CLI_PREDICT) | BIT(CLI_REPORT)},
    {"--classes-out", OPT_CLASSES_OUT, 1, BIT(CLI_PREDICT)},
    {"--epochs", OPT_EPOCHS, 1, BIT(CLI_SEED_EXAMPLE) | BIT(CLI_HEAD_EXAMPLE) | BIT(CLI_FIT)},
    {"--no-fsync", OPT_NO_FSYNC, 0, BIT(CLI_FIT) | BIT(CLI_PREDICT) | BIT(CLI_REPORT)},
    {"--mmap", OPT_MMAP, 0, BIT(CLI_PREDICT)},
    {"--no-mmap", OPT_NO_MMAP, 0, BIT(CLI_PREDICT)},
    {"--metric", OPT_METRIC, 1, FUSECMD},
    {"--ensemble-size", OPT_ENSEMBLE_SIZE, 1, FUSECMD},
    {"--bags", OPT_BAGS, 1, FUSECMD},
    {"--single", OPT_SINGLE, 0, BIT(CLI_FIT)},
    {"--neighbors", OPT_NEIGHBORS, 1, FUSECMD},
    {"--threads", OPT_THREADS, 1, FUSECMD | BIT(CLI_PREDICT) | BIT(CLI_EVAL)},
    {"--features", OPT_FEATURES, 1, BIT(CLI_COMPARE) | BIT(CLI_FIT) | BIT(CLI_PREDICT) | BIT(CLI_EVAL) | BIT(CLI_REPORT)},
    {"--help", OPT_HELP, 0, ALLCMD},
    {"-h", OPT_HELP, 0, ALLCMD},
};

static const char *const COMMAND_NAMES[CLI_NUM_COMMANDS] = {
    "", "seed-example", "head-example", "compare", "fit", "predict", "eval", "inspect", "demo", "report"};

const char *lf_cli_command_name(cli_command c) {
    return (unsigned)c < CLI_NUM_COMMANDS ? COMMAND_NAMES[c] : "";
}

/* ------------------------------------------------------------ usage */

static const char USAGE_MAIN[] =
    "usage: latefuse COMMAND [OPTIONS]\n"
    "\n"
    "Late fusion of already-trained classifiers, and a Keras-style network engine.\n"
    "\n"
    "Fusion commands (model files: N x C probabilities as .npy, .npz, CSV; a row of NaN = missing):\n"
    "  compare  -m NAME=FILE ... -y LABELS   cross-validated table of every fusion method\n"
    "  fit      -m NAME=FILE ... -y LABELS --method NAME -o FUSION   fit and save a fusion model\n"
    "  predict  FUSION -m NAME=FILE ... -o OUT.npy                   fused probabilities\n"
    "  eval     FUSION -m NAME=FILE ... -y LABELS                     metrics on new data\n"
    "  inspect  FUSION [--all]                method, models, temperatures, learned weights\n"
    "  report   -m NAME=FILE ... -y LABELS -o REPORT.html   an HTML page of pictures and tables\n"
    "  demo                                   the whole job on a generated two-modality task\n"
    "\n"
    "Engine examples:\n"
    "  seed-example   train the WeightedAverage seed network and print its weights\n"
    "  head-example   train the concatenation head on a classification task\n"
    "\n"
    "  latefuse COMMAND --help    options of a command\n"
    "  latefuse --version         the version\n"
    "\n"
    "Methods: mean product max min median vote borda acc-weighted decision-template stack-lr\n"
    "         wavg wavg-class loglinear mlp gate ges ges-log knora-e knora-u ola lca\n"
    "         dempster-shafer bks auto\n"
    "Exit status: 0 success, 2 bad usage or input, 1 other errors.\n";

static const char USAGE_SEED[] =
    "usage: latefuse seed-example [--epochs N] [--seed S] [--history FILE] [--quiet]\n"
    "\n"
    "Trains the seed network: two inputs of 100 features (1000 samples drawn from U(0,1),\n"
    "targets U(0,1)), Dense(32, relu) per branch, WeightedAverage over both, Dense(1);\n"
    "adam, mse, batch 32.  Prints the model summary, the per-epoch progress (stderr) and\n"
    "the learned fusion weights softmax(W) as one line \"weights: w1 w2\".\n"
    "\n"
    "  --epochs N   epochs (default 10)\n"
    "  --seed S     seed of the data and the model (default 0)\n"
    "  --history F  write the per-epoch loss and accuracy to F (.csv, or .json)\n"
    "  --quiet, -q  no per-epoch progress\n";

static const char USAGE_HEAD[] =
    "usage: latefuse head-example [--epochs N] [--seed S] [--history FILE] [--quiet]\n"
    "\n"
    "Trains the concatenation head Concatenate -> Dense(128, relu) -> Dropout(0.2) ->\n"
    "Dense(3, softmax) with categorical cross-entropy on the outputs of two pretend\n"
    "models, each reliable on different classes (validation split 0.2), and prints the\n"
    "train and held-out test accuracy beside each single model's.\n"
    "\n"
    "  --epochs N   epochs (default 20)\n"
    "  --seed S     seed of the data and the model (default 0)\n"
    "  --history F  write the per-epoch loss and accuracy to F (.csv, or .json)\n"
    "  --quiet, -q  no per-epoch progress\n";

static const char USAGE_COMPARE[] =
    "usage: latefuse compare -m NAME=FILE ... -y LABELS [--folds K] [--seed S]\n"
    "                        [--methods a,b,...|all] [--calibrate] [--logits] [--json]\n"
    "                        [--metric M] [--ensemble-size N] [--bags B] [--neighbors K]\n"
    "                        [--renormalize] [--features FILE] [--class-names FILE]\n"
    "                        [--threads N]\n"
    "\n"
    "Stratified K-fold cross-validation of fusion methods over validation outputs; prints\n"
    "every method, every single model and the oracle, best (lowest log-loss) first.\n"
    "\n"
    "  -m NAME=FILE[:OPT]  a model's outputs, N x C; repeat per model.  FILE: .npy,\n"
    "                  .npz (FILE.npz:KEY for one of several arrays), CSV or text, - for\n"
    "                  standard input; one column = P(class 1) of a binary model.\n"
    "                  OPT: logits (this file holds raw scores), renormalize\n"
    "  -y LABELS       N class indices 0..C-1, N x C one-hot (same forms as FILE), or N\n"
    "                  class names, one per line (through --class-names, else sorted)\n"
    "  --folds K       cross-validation folds, 2 to 64 (default 5)\n"
    "  --seed S        seed of the folds and the learned methods (default 0)\n"
    "  --methods LIST  comma-separated method names, or all (default all)\n"
    "  --calibrate     fit one temperature per model before fusing\n"
    "  --logits        the files hold raw scores (softmax is applied)\n"
    "  --renormalize   divide probability rows that do not sum to 1 by their sum\n"
    "  --json          one JSON object instead of the table: the header and its rows\n"
    "  --metric M      what ges optimises: log-loss (default) or accuracy (macro-f1,\n"
    "                  auto's in fit, leaves ges the log-loss)\n"
    "  --ensemble-size N  ges and auto's ensemble: selections, with replacement (default 50)\n"
    "  --bags B        ges and auto's ensemble: selections over random halves of the\n"
    "                  models (default 1); ensemble size x bags at most 16777216\n"
    "  --neighbors K   knora-e, knora-u, ola, lca: the region of competence (default 7)\n"
    "  --features FILE  knora-e, knora-u, ola, lca: find the region of competence among\n"
    "                  these N x F features (standardised; the rows of the -m files, any\n"
    "                  form of FILE) instead of the models' outputs; other methods ignore them\n"
    "  --class-names FILE  one class name per line, in the columns' order: how -y's\n"
    "                  names map to columns (default: the header row of a CSV model file)\n"
    "  --threads N     at most N threads, 1 to 1024 (default: OpenMP's count,\n"
    "                  OMP_NUM_THREADS, else one per core); the results do not depend on it\n"
    "  --quiet, -q     no progress bar (it is drawn on a terminal only)\n";

static const char USAGE_FIT[] =
    "usage: latefuse fit -m NAME=FILE ... -y LABELS --method NAME -o FUSION\n"
    "                    [--calibrate] [--logits] [--seed S] [--folds K] [--epochs N]\n"
    "                    [--no-fsync] [--metric M] [--ensemble-size N] [--bags B]\n"
    "                    [--neighbors K] [--renormalize] [--class-names FILE] [--history FILE]\n"
    "                    [--features FILE] [--single] [--threads N]\n"
    "\n"
    "Fits one fusion method on all the given samples and saves it.\n"
    "\n"
    "  -m NAME=FILE[:OPT]  a model's outputs, N x C; repeat per model.  FILE: .npy,\n"
    "                  .npz (FILE.npz:KEY for one of several arrays), CSV or text, - for\n"
    "                  standard input; one column = P(class 1) of a binary model.\n"
    "                  OPT: logits (this file holds raw scores), renormalize\n"
    "  -y LABELS       N class indices 0..C-1, N x C one-hot (same forms as FILE), or N\n"
    "                  class names, one per line (through --class-names, else sorted)\n"
    "  --method NAME   a method (see latefuse --help), or auto\n"
    "  -o FUSION       where to save the fusion model\n"
    "  --calibrate     fit one temperature per model first, on the same samples\n"
    "  --logits        the files hold raw scores (stored: predict applies softmax)\n"
    "  --renormalize   divide probability rows that do not sum to 1 by their sum\n"
    "  --seed S        seed (default 0)\n"
    "  --folds K       folds of auto's cross-validation, 2 to 64 (default 5)\n"
    "  --epochs N      epochs of the learned methods (default: the method's)\n"
    "  --no-fsync      write FUSION atomically (temporary file + rename) but skip the\n"
    "                  fsync: faster, not durable across a machine crash\n"
    "  --metric M      what auto chooses by: log-loss (default), accuracy or macro-f1;\n"
    "                  what ges optimises: log-loss or accuracy\n"
    "  --ensemble-size N  ges and auto's ensemble: selections, with replacement (default 50)\n"
    "  --bags B        ges and auto's ensemble: selections over random halves of the\n"
    "                  models (default 1); ensemble size x bags at most 16777216\n"
    "  --neighbors K   knora-e, knora-u, ola, lca: the region of competence (default 7)\n"
    "  --single        auto: fit the one candidate it chooses, never an ensemble of its\n"
    "                  best candidates (kept by default unless it scores worse than the\n"
    "                  best single candidate by a standard error)\n"
    "  --features FILE  knora-e, knora-u, ola, lca (and auto, for those): the region of\n"
    "                  competence among these N x F features (the rows of the -m files,\n"
    "                  any form of FILE), standardised and stored in FUSION; predict and\n"
    "                  eval then need the new rows' features\n"
    "  --class-names FILE  one class name per line, stored in FUSION (default: the\n"
    "                  header row of a CSV model file, if any)\n"
    "  --history FILE  a learned method's per-epoch loss and accuracy (.csv, or .json)\n"
    "  --threads N     at most N threads, 1 to 1024 (default: OpenMP's count,\n"
    "                  OMP_NUM_THREADS, else one per core); the results do not depend on it\n"

    "  --quiet, -q     no progress bar (it is drawn on a terminal only)\n";

static const char USAGE_PREDICT[] =
    "usage: latefuse predict FUSION -m NAME=FILE ... -o OUT.npy [--classes-out PRED.npy]\n"
    "                        [--no-fsync] [--mmap] [--renormalize] [--features FILE]\n"
    "                        [--threads N]\n"
    "\n"
    "Fused probabilities (N x C float32 .npy) for new outputs.  Files are matched to the\n"
    "fusion model's models by NAME; a model left out is treated as missing for every row.\n"
    "\n"
    "  -m NAME=FILE[:OPT]   a model's outputs (forms and OPT as in fit); repeat per model\n"
    "  --renormalize        divide probability rows that do not sum to 1 by their sum\n"
    "  --features FILE      the rows' features, for a fusion fitted with --features\n"
    "  -o OUT.npy           the fused probabilities; - for standard output\n"
    "  --classes-out FILE   the predicted classes (int64 .npy); - for standard output\n"
    "  --no-fsync           write the outputs atomically (temporary file + rename) but\n"
    "                       skip the fsync: faster, not durable across a machine crash\n"
    "  --mmap               memory-map float32 .npy inputs instead of reading them with\n"
    "                       read() (slower where page faults are dear, as on most virtual\n"
    "                       machines; an input truncated while mapped stops the run);\n"
    "                       --no-mmap: read() (the default)\n"
    "  --threads N          at most N threads (1 to 1024; default: OpenMP's count, at\n"
    "                       most 8 here); the output does not depend on it\n";

static const char USAGE_EVAL[] =
    "usage: latefuse eval FUSION -m NAME=FILE ... -y LABELS [--per-class] [--confusion]\n"
    "                     [--class-names FILE] [--json] [--renormalize] [--features FILE]\n"
    "                     [--threads N]\n"
    "\n"
    "Accuracy, macro-F1, log-loss, Brier score and ECE of the fused prediction on new data.\n"
    "\n"
    "  -m NAME=FILE[:OPT]  a model's outputs (forms and OPT as in fit); repeat per model\n"
    "  -y LABELS       N class indices 0..C-1, N x C one-hot, or N class names, one\n"
    "                  per line (through --class-names, else FUSION's names)\n"
    "  --renormalize   divide probability rows that do not sum to 1 by their sum\n"
    "  --features FILE the rows' features, for a fusion fitted with --features\n"
    "  --per-class     precision, recall, F1 and support of every class\n"
    "  --confusion     the confusion matrix (rows: true class, columns: predicted)\n"
    "  --class-names FILE  one class name per line (default: those stored in FUSION,\n"
    "                  else the header row of a CSV model file)\n"
    "  --json          one JSON object (with per_class and confusion when asked)\n"
    "  --threads N     at most N threads, 1 to 1024 (default: OpenMP's count); the\n"
    "                  numbers do not depend on it\n";

static const char USAGE_INSPECT[] =
    "usage: latefuse inspect FUSION [--all]\n"
    "\n"
    "Prints the method, models, classes, calibration temperatures and the learned\n"
    "weights (bars; a model x class table for wavg-class: beyond 16 classes each\n"
    "model's mean, smallest and largest weight, and with --all the whole table),\n"
    "and the class names; for\n"
    "dynamic selection, the space its neighbours are searched in; for stack-lr,\n"
    "wavg, wavg-class and gate, the L2 penalty towards the fixed rule that fit chose\n"
    "(by inner cross-validation) and how.\n";

static const char USAGE_DEMO[] =
    "usage: latefuse demo [--seed S] [--save DIR] [--report FILE] [--quiet]\n"
    "\n"
    "Generates a 4-class task seen by two modalities (image: classes 0/1, text: 2/3, about\n"
    "10% of each modality's outputs missing), trains one classifier per modality with\n"
    "the engine, fuses their out-of-fold outputs with every method, prints the table and\n"
    "the learned weights of wavg and wavg-class.\n"
    "\n"
    "  --seed S     seed of the data and the classifiers (default 0)\n"
    "  --quiet, -q  no progress bar (it is drawn on a terminal only)\n"
    "  --save DIR   also write DIR/image_val.npy, text_val.npy, y_val.npy (the validation\n"
    "               outputs) and DIR/image_test.npy, text_test.npy, y_test.npy (a test\n"
    "               set's), the files of the README's quick start; DIR is created if needed\n"
    "  --report FILE  also write the HTML report of the demo's data (latefuse report)\n";

static const char USAGE_REPORT[] =
    "usage: latefuse report -m NAME=FILE ... -y LABELS -o REPORT.html [-f FUSION]\n"
    "                       [--methods a,b,...|all] [--class-names FILE] [--title TEXT]\n"
    "                       [--folds K] [--seed S] [--calibrate] [--logits] [--metric M]\n"
    "                       [--ensemble-size N] [--bags B] [--neighbors K] [--features FILE]\n"
    "                       [--no-fsync] [--threads N]\n"
    "\n"
    "One self-contained HTML page (inline SVG and CSS, no script, nothing fetched;\n"
    "printable): the compare table, reliability diagrams with confidence histograms and\n"
    "ECE per model and fused (before and after calibration), confusion matrices and a\n"
    "per-class table, the learned weights, training curves of learned methods, the\n"
    "accuracy without each model, the data summary and this command.\n"
    "\n"
    "  -m NAME=FILE[:OPT]  a model's outputs (forms and OPT as in fit); repeat per model\n"
    "  -y LABELS       N class indices 0..C-1, N x C one-hot (same forms as FILE), or N\n"
    "                  class names, one per line (through --class-names, else sorted)\n"
    "  -o REPORT.html  where to write the page\n"
    "  -f FUSION       report on this fitted fusion model's output (default: the best\n"
    "                  method of the table, cross-validated)\n"
    "  --methods LIST  the methods compared (default all)\n"
    "  --class-names FILE  one class name per line (default: FUSION's, else the header\n"
    "                  row of a CSV model file, else 0..C-1)\n"
    "  --title TEXT    the page's title (default \"latefuse report\")\n"
    "  --features FILE  the rows' features: knora-e, knora-u, ola and lca of the table\n"
    "                  search them (as in compare); with -f, required when FUSION was\n"
    "                  fitted with features, refused by a dynamic-selection FUSION\n"
    "                  fitted without (other methods leave them)\n"
    "  other options as for compare but --json (the page is the output)\n";

const char *lf_cli_usage(cli_command c) {
    switch (c) {
    case CLI_SEED_EXAMPLE: return USAGE_SEED;
    case CLI_HEAD_EXAMPLE: return USAGE_HEAD;
    case CLI_COMPARE: return USAGE_COMPARE;
    case CLI_FIT: return USAGE_FIT;
    case CLI_PREDICT: return USAGE_PREDICT;
    case CLI_EVAL: return USAGE_EVAL;
    case CLI_INSPECT: return USAGE_INSPECT;
    case CLI_DEMO: return USAGE_DEMO;
    case CLI_REPORT: return USAGE_REPORT;
    default: return USAGE_MAIN;
    }
}

/* ------------------------------------------------------------ parsing */

static int fail(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        /* the message quotes user arguments: keep it one printable line */
        for (char *c = err; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    }
    return CLI_EXIT_USAGE;
}

/* Decimal unsigned integer, no sign, no spaces, no overflow. */
static int parse_u64(const char *s, uint64_t *v) {
    uint64_t x = 0;
    if (!s || !*s) return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10) return 0;
        x = x * 10 + d;
    }
    *v = x;
    return 1;
}

static int valid_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

static int add_model(struct cli_opts *o, const char *arg, char *err, size_t errlen) {
    const char *eq = strchr(arg, '=');
    if (!eq)
        return fail(err, errlen, "-m expects NAME=FILE, got '%.200s'", arg);
    size_t len = (size_t)(eq - arg);
    if (len == 0 || len > CLI_NAME_MAX)
        return fail(err, errlen, "the model name in '-m %.200s' must be 1 to %d characters", arg,
                    CLI_NAME_MAX);
    for (size_t i = 0; i < len; i++)
        if (!valid_name_char(arg[i]))
            return fail(err, errlen,
                        "the model name '%.*s' may only hold letters, digits, '_', '.' and '-'",
                        (int)len, arg);
    if (!eq[1]) return fail(err, errlen, "-m %.*s= names no file", (int)len, arg);
    for (size_t k = 0; k < o->n_models; k++)
        if (strlen(o->models[k].name) == len && memcmp(o->models[k].name, arg, len) == 0)
            return fail(err, errlen, "the model name '%.*s' is given twice", (int)len, arg);
    if (o->n_models >= CLI_MAX_MODELS)
        return fail(err, errlen, "too many models: at most %d -m options", CLI_MAX_MODELS);
    cli_model_arg *m = &o->models[o->n_models++];
    memcpy(m->name, arg, len);
    m->name[len] = '\0';
    m->path = eq + 1;
    m->flags = 0;
    /* trailing ":logits" / ":renormalize" are the file's options */
    const char *file = eq + 1;
    size_t flen = strlen(file);
    for (;;) {
        const char *c = file + flen; /* back to the last ':' before flen */
        while (c > file && c[-1] != ':') c--;
        if (c == file) break;
        c--;
        size_t olen = flen - (size_t)(c - file) - 1;
        unsigned f = olen == 6 && memcmp(c + 1, "logits", 6) == 0         ? CLI_FILE_LOGITS
                     : olen == 11 && memcmp(c + 1, "renormalize", 11) == 0 ? CLI_FILE_RENORMALIZE
                                                                          : 0;
        if (!f) break;
        m->flags |= f;
        flen = (size_t)(c - file);
    }
    if (m->flags) {
        if (flen == 0) return fail(err, errlen, "-m %s= names no file", m->name);
        if (flen >= sizeof m->path_buf)
            return fail(err, errlen, "the file name of -m %s is too long (%zu bytes)", m->name, flen);
        if ((m->flags & CLI_FILE_LOGITS) && (m->flags & CLI_FILE_RENORMALIZE))
            return fail(err, errlen, "-m %s: ':logits' and ':renormalize' exclude each other (logits need no "
                        "renormalising)", m->name);
        memcpy(m->path_buf, file, flen);
        m->path_buf[flen] = '\0';
        m->path = m->path_buf;
    }
    return 0;
}

static int parse_method_list(struct cli_opts *o, const char *list, char *err, size_t errlen) {
    o->n_methods = 0;
    if (strcmp(list, "all") == 0) return 0;
    const char *s = list;
    for (;;) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        char name[64];
        if (len == 0) return fail(err, errlen, "--methods holds an empty name in '%.200s'", list);
        if (len >= sizeof name)
            return fail(err, errlen, "unknown method '%.*s' in --methods", (int)(len > 80 ? 80 : len), s);
        memcpy(name, s, len);
        name[len] = '\0';
        int id = lf_method_parse(name);
        if (id < 0)
            return fail(err, errlen, "unknown method '%s' in --methods (see latefuse --help)", name);
        if (id == LF_FUSE_AUTO)
            return fail(err, errlen, "method 'auto' chooses a method in fit; it cannot be compared");
        int seen = 0;
        for (size_t k = 0; k < o->n_methods; k++) seen |= o->methods[k] == (lf_method)id;
        if (!seen && o->n_methods < sizeof o->methods / sizeof o->methods[0])
            o->methods[o->n_methods++] = (lf_method)id;
        if (!end) break;
        s = end + 1;
    }
    return 0;
}

static int parse_count(const char *opt, const char *val, uint64_t lo, uint64_t hi, size_t *out,
                       char *err, size_t errlen) {
    uint64_t v;
    if (!parse_u64(val, &v) || v < lo || v > hi)
        return fail(err, errlen, "%s expects an integer from %llu to %llu, got '%.200s'", opt,
                    (unsigned long long)lo, (unsigned long long)hi, val);
    *out = (size_t)v;
    return 0;
}

static int set_option(struct cli_opts *o, enum opt_id id, const char *name, const char *val,
                      char *err, size_t errlen) {
    uint64_t v;
    switch (id) {
    case OPT_MODEL: return add_model(o, val, err, errlen);
    case OPT_LABELS:
        if (!*val) return fail(err, errlen, "-y names no file");
        o->labels = val;
        return 0;
    case OPT_FOLDS: return parse_count(name, val, 2, CLI_MAX_FOLDS, &o->folds, err, errlen);
    case OPT_EPOCHS: return parse_count(name, val, 1, 1000000, &o->epochs, err, errlen);
    case OPT_SEED:
        if (!parse_u64(val, &v))
            return fail(err, errlen, "--seed expects a non-negative integer, got '%.200s'", val);
        o->seed = v;
        return 0;
    case OPT_METHODS: return parse_method_list(o, val, err, errlen);
    case OPT_METHOD: {
        int id2 = lf_method_parse(val);
        if (id2 < 0)
            return fail(err, errlen, "unknown method '%.200s' (see latefuse --help)", val);
        o->method = (lf_method)id2;
        o->method_set = 1;
        return 0;
    }
    case OPT_CALIBRATE: o->calibrate = 1; return 0;
    case OPT_LOGITS: o->logits = 1; return 0;
    case OPT_RENORMALIZE: o->renormalize = 1; return 0;
    case OPT_QUIET: o->quiet = 1; return 0;
    case OPT_SAVE:
        if (!*val) return fail(err, errlen, "--save names no folder");
        o->save_dir = val;
        return 0;
    case OPT_JSON: o->json = 1; return 0;
    case OPT_NO_FSYNC: o->no_fsync = 1; return 0;
    case OPT_SINGLE: o->single = 1; return 0;
    case OPT_ALL: o->all = 1; return 0;
    case OPT_MMAP: o->mmap = 1; return 0;
    case OPT_NO_MMAP: o->mmap = 0; return 0;
    case OPT_METRIC:
        if (strcmp(val, "log-loss") == 0) o->metric = LF_METRIC_LOG_LOSS;
        else if (strcmp(val, "accuracy") == 0) o->metric = LF_METRIC_ACCURACY;
        else if (strcmp(val, "macro-f1") == 0) o->metric = LF_METRIC_MACRO_F1;
        else return fail(err, errlen, "--metric expects log-loss, accuracy or macro-f1, got '%.200s'", val);
        return 0;
    case OPT_ENSEMBLE_SIZE: return parse_count(name, val, 1, 100000, &o->ensemble_size, err, errlen);
    case OPT_BAGS: return parse_count(name, val, 1, 10000, &o->bags, err, errlen);
    case OPT_NEIGHBORS: return parse_count(name, val, 1, 1000, &o->k, err, errlen);
    case OPT_THREADS: return parse_count(name, val, 1, 1024, &o->threads, err, errlen);
    case OPT_OUT:
        if (!*val) return fail(err, errlen, "-o names no file");
        o->out = val;
        return 0;
    case OPT_CLASSES_OUT:
        if (!*val) return fail(err, errlen, "--classes-out names no file");
        o->classes_out = val;
        return 0;
    case OPT_HELP: o->help = 1; return 0;
    case OPT_FUSION:
        if (!*val) return fail(err, errlen, "-f names no file");
        o->fusion_path = val;
        return 0;
    case OPT_FEATURES:
        if (!*val) return fail(err, errlen, "--features names no file");
        o->features = val;
        return 0;
    case OPT_CLASS_NAMES:
        if (!*val) return fail(err, errlen, "--class-names names no file");
        o->class_names = val;
        return 0;
    case OPT_PER_CLASS: o->per_class = 1; return 0;
    case OPT_CONFUSION: o->confusion = 1; return 0;
    case OPT_HISTORY:
        if (!*val) return fail(err, errlen, "--history names no file");
        o->history = val;
        return 0;
    case OPT_TITLE: o->title = val; return 0;
    case OPT_REPORT:
        if (!*val) return fail(err, errlen, "--report names no file");
        o->report = val;
        return 0;
    }
    return 0;
}

static int check_required(struct cli_opts *o, char *err, size_t errlen) {
    const char *cmd = lf_cli_command_name(o->command);
    switch (o->command) {
    case CLI_COMPARE:
    case CLI_FIT:
    case CLI_PREDICT:
    case CLI_EVAL:
    case CLI_REPORT:
        if (o->command != CLI_COMPARE && o->command != CLI_FIT && o->command != CLI_REPORT && !o->fusion_path)
            return fail(err, errlen, "%s needs a fusion model file: latefuse %s FUSION -m NAME=FILE ...",
                        cmd, cmd);
        if (o->n_models == 0)
            return fail(err, errlen, "%s needs at least one -m NAME=FILE", cmd);
        if (o->command != CLI_PREDICT && !o->labels)
            return fail(err, errlen, "%s needs the labels: -y LABELS", cmd);
        if (o->command == CLI_FIT && !o->method_set)
            return fail(err, errlen, "fit needs --method NAME");
        if ((o->command == CLI_FIT || o->command == CLI_PREDICT || o->command == CLI_REPORT) && !o->out)
            return fail(err, errlen, "%s needs an output file: -o FILE", cmd);
        {
            size_t dash = (o->labels && strcmp(o->labels, "-") == 0) + (o->features && strcmp(o->features, "-") == 0);
            for (size_t k = 0; k < o->n_models; k++) dash += strcmp(o->models[k].path, "-") == 0;
            if (dash > 1)
                return fail(err, errlen, "standard input ('-') can be read only once, and %zu inputs name it",
                            dash);
        }
        if (o->logits && o->renormalize)
            return fail(err, errlen, "--logits and --renormalize exclude each other (logits need no renormalising)");
        if ((o->command == CLI_FIT || o->command == CLI_REPORT) && strcmp(o->out, "-") == 0)
            return fail(err, errlen, "%s cannot write %s to standard output; name a file with -o", cmd,
                        o->command == CLI_FIT ? "the fusion model" : "the report");
        return 0;
    case CLI_INSPECT:
        if (!o->fusion_path) return fail(err, errlen, "inspect needs a fusion model file: latefuse inspect FUSION");
        return 0;
    default: return 0;
    }
}

int lf_cli_parse(int argc, char **argv, struct cli_opts *out, char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    if (!out) return fail(err, errlen, "internal error: no output for the parser");
    memset(out, 0, sizeof *out);
    out->folds = 5;
    out->argc = argc, out->argv = argv;
    out->method = LF_FUSE_WAVG;
    out->metric = LF_METRIC_LOG_LOSS;
    if (argc < 2 || !argv || !argv[1])
        return fail(err, errlen, "no command given; see 'latefuse --help'");

    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0 || strcmp(first, "help") == 0) {
        out->help = 1;
        return 0;
    }
    if (strcmp(first, "--version") == 0 || strcmp(first, "-V") == 0) {
        out->version = 1;
        return 0;
    }
    for (int c = 1; c < CLI_NUM_COMMANDS; c++)
        if (strcmp(first, COMMAND_NAMES[c]) == 0) out->command = (cli_command)c;
    if (out->command == CLI_NONE) {
        if (first[0] == '-') return fail(err, errlen, "unknown option '%.200s'; see 'latefuse --help'", first);
        return fail(err, errlen, "unknown command '%.200s'; see 'latefuse --help'", first);
    }
    const char *cmd = COMMAND_NAMES[out->command];
    int takes_positional = out->command == CLI_PREDICT || out->command == CLI_EVAL ||
                           out->command == CLI_INSPECT;
    int only_positional = 0;
    uint64_t seen = 0; /* options given, by opt_id */

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!a) break;
        if (!only_positional && strcmp(a, "--") == 0) {
            only_positional = 1;
            continue;
        }
        if (only_positional || a[0] != '-' || a[1] == '\0') {
            if (!takes_positional || out->fusion_path)
                return fail(err, errlen, "unexpected argument '%.200s' for %s; see 'latefuse %s --help'",
                            a, cmd, cmd);
            out->fusion_path = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t nlen = (eq && a[1] == '-') ? (size_t)(eq - a) : strlen(a);
        const opt_spec *spec = NULL;
        for (size_t k = 0; k < sizeof OPTS / sizeof OPTS[0]; k++)
            if (strlen(OPTS[k].name) == nlen && strncmp(OPTS[k].name, a, nlen) == 0) spec = &OPTS[k];
        if (!spec || !(spec->commands & BIT(out->command)))
            return fail(err, errlen, "unknown option '%.*s' for %s; see 'latefuse %s --help'",
                        (int)(nlen > 200 ? 200 : nlen), a, cmd, cmd);
        const char *val = NULL;
        if (spec->takes_value) {
            if (nlen < strlen(a)) {
                val = a + nlen + 1;
            } else {
                if (i + 1 >= argc || !argv[i + 1])
                    return fail(err, errlen, "option %s needs a value; see 'latefuse %s --help'",
                                spec->name, cmd);
                val = argv[++i];
            }
        } else if (nlen < strlen(a)) {
            return fail(err, errlen, "option %s takes no value", spec->name);
        }
        /* an option with one value given twice: which one was meant? */
        if (spec->takes_value && spec->id != OPT_MODEL && (seen & ((uint64_t)1 << spec->id)))
            return fail(err, errlen, "option %s is given twice", spec->name);
        seen |= (uint64_t)1 << spec->id;
        int rc = set_option(out, spec->id, spec->name, val, err, errlen);
        if (rc) return rc;
    }
    if (out->help) return 0;
    return check_required(out, err, errlen);
}
