/*
 * method.h — one record per fusion method.
 *
 * Everything the fusion model does that depends on the method goes through
 * its record: fitting its state, predicting, putting the state into the
 * fusion file and reading it back, and showing its weights.  A method is a
 * record in its family's file (fixed.c: the fixed rules; classical.c: the
 * methods fitted by counting; learned.c: the networks trained by the
 * engine), listed in the family's NULL-terminated list there; methods.c
 * joins the families into one table.  Nothing else switches on methods.
 *
 * Adding a method to a family is its record and its slot in the family's
 * list, in the family's file, plus its lf_method value in latefuse.h.
 *
 * A method's fitted state is private to it: f->state, made by fit or load,
 * released by free_state.  The fixed rules have none.
 */
#ifndef LF_FUSION_METHOD_H
#define LF_FUSION_METHOD_H

#include "fusion/fusion_internal.h"
#include "io/safetensors.h"

/* The tensors and architecture a method adds to a fusion file. */
typedef struct lf_method_save {
    lf_st_out tensors[6];   /* the method's own tensors ("fusion.*")      */
    size_t n_tensors;
    const lf_model *net;    /* a network saved under "net." with its
                               architecture, or NULL                       */
} lf_method_save;

typedef struct lf_method_def {
    lf_method id;
    const char *name;              /* as the CLI and the file spell it */
    lf_family family;
    const char *summary;           /* one line, for help texts */
    /* Fits f->state on prepared probabilities (pr->M models of pr->C
     * classes, y the labels); NULL for a method that learns nothing.
     * Errors go to f->err. */
    lf_status (*fit)(lf_fusion *f, const lf_probs *pr, const int *y, const lf_fusion_options *o);
    /* Fused probabilities (pr->N x pr->C) from prepared probabilities.
     * Only reads f: may run from many threads at once.  A failure may say
     * why in *pr->err (when not NULL; the status alone says it otherwise). */
    lf_status (*predict)(const lf_fusion *f, const lf_probs *pr, float *out);
    /* The same for the fitting rows r0 .. r0 + pr->N - 1 themselves, each
     * left out of what the method keeps of it (dynamic selection: a
     * fitting row is otherwise its own nearest neighbour, distance 0, and
     * its label picks the models right on it); importance.c measures with
     * it.  NULL: predict (the method keeps no rows). */
    lf_status (*predict_fitting)(const lf_fusion *f, const lf_probs *pr, size_t r0, float *out);
    /* What the file holds besides the common settings; NULL: nothing. */
    void (*save)(const lf_fusion *f, lf_method_save *s);
    /* Reads the state back from a file whose common settings (f->M, f->C,
     * names, temperatures) are already loaded; every tensor of the file
     * must be accounted for.  NULL: the file must hold no tensor and no
     * architecture. */
    lf_status (*load)(lf_fusion *f, const lf_st_file *sf, const char *arch, lf_err *e);
    /* The weights over models as lf_fusion_weights documents them; NULL:
     * the method has none. */
    size_t (*weights)(const lf_fusion *f, float *out, size_t cap, size_t *rows, size_t *cols);
    /* Releases a state made by fit or load; NULL: the method keeps none. */
    void (*free_state)(void *state);
    /* How many numbers the method fits (and its file stores) for M models
     * of C classes on N rows, at most (auto prefers fewer when scores are
     * within a standard error); NULL: 0. */
    size_t (*n_params)(size_t M, size_t C, size_t N);
    const void *params;            /* the family's settings for this method */
    int rule;                      /* lf_rule for a fixed rule, else -1 */
    int takes_features;            /* 1: fit may search a feature space
                                      (lf_fusion_options.features) */
} lf_method_def;

/* The record of a method id, or NULL (auto has none: it is a choice among
 * the methods, not a method). */
const lf_method_def *lf_method_def_of(lf_method m);

/* The number of methods, and method i in table order (the order compare
 * and auto try them: family by family, each family in its file's order). */
size_t lf_method_count(void);
const lf_method_def *lf_method_at(size_t i);

/* fusion_io.c, for a method's load: its one tensor `name` of the file, F32
 * of exactly `shape` and finite, into *dst (allocated only once the file
 * is known to store that many elements); the file must hold no other
 * tensor and no architecture. */
lf_status lf_fusion_load_floats(const lf_st_file *sf, const char *arch, const lf_method_def *d, const char *name,
                                size_t ndim, const size_t *shape, float **dst, lf_err *e);

/* fusion_io.c: the ",\"penalty\":{...}" of a fusion's settings (nothing
 * without one), and reading it back from a settings object j (absent:
 * LF_PENALTY_NONE), refused for a method (def) that trains no network.
 * `who` names the settings in messages. */
void lf_penalty_json(const lf_fusion *f, lf_buf *js);
lf_status lf_penalty_read(lf_fusion *f, const lf_method_def *def, const lf_json *j, const char *who, lf_err *e);

/* classical.c: states other methods share.  An M-vector of weights saved
 * as "fusion.weights" (acc-weighted, ges); Kuncheva's decision templates,
 * C x (M*C) fitted on the rows, saved as "fusion.templates" and checked to
 * be probabilities at load (decision-template, dempster-shafer). */
void lf_weights_save(const lf_fusion *f, lf_method_save *s);
/* Loads them, >= 0 with a positive sum, and whole numbers when `counts`
 * (ges's selection counts). */
lf_status lf_weights_load(lf_fusion *f, const lf_st_file *sf, const char *arch, int counts, lf_err *e);
lf_status lf_templates_fit(lf_fusion *f, const lf_probs *pr, const int *y, const lf_fusion_options *o);
void lf_templates_save(const lf_fusion *f, lf_method_save *s);
lf_status lf_templates_load(lf_fusion *f, const lf_st_file *sf, const char *arch, lf_err *e);

/* learned.c: the compiled, untrained network of learned method m for M
 * models of C classes with L2 penalty l2 (where the method has one;
 * LF_ERR_ARG for another method); the tests replay its training with it. */
lf_status lf_learned_build(lf_model *net, lf_method m, size_t M, size_t C, float l2);
/* learned.c: the rows a learned method's network trains on, as codes
 * row << shift | (hidden model + 1) in code (room for 2N codes with
 * modality dropout, N without): every row of pr with a model present and,
 * with probability modality_dropout, a copy of a row with two or more
 * present with one of them hidden, drawn from a generator seeded from
 * seed, then shuffled.  From LEARNED_VAL_MIN codes on, LEARNED_VAL_SPLIT of
 * the rows (the last by their originals' places, as many as lf_model_fit's
 * validation_split takes) validate the fit's early stopping: their codes,
 * copies included, are moved to the end in their order (*n_val of the
 * *n_codes), so that no validation row is trained on in any form; without
 * copies that is the shuffled list split as lf_model_fit splits it.
 * LF_ERR_NOMEM when the marks of the validation rows cannot be made. */
#define LEARNED_VAL_MIN 100
#define LEARNED_VAL_SPLIT 0.1f
lf_status lf_learned_rows(const lf_probs *pr, float modality_dropout, uint64_t seed, unsigned shift, lf_ids code,
                          size_t *n_codes, size_t *n_val);
/* learned.c: one sentence on how a penalty was chosen (lf_penalty_by:
 * with the inner CV's folds and row limits), NULL for LF_PENALTY_NONE. */
const char *lf_learned_penalty_how(int by);
/* learned.c: the penalty its inner CV picks from per[g * K + k], penalty
 * g's log-loss and accuracy on fold k (g = 0 the strongest): by_log_loss,
 * the lowest mean log-loss; else the strongest whose mean error is within
 * one standard error (sample std / sqrt(K)) of the lowest.  Ties: the
 * stronger. */
struct lf_metrics;
size_t lf_penalty_pick(const struct lf_metrics *per, size_t G, size_t K, int by_log_loss);

/* Each family's records, NULL-terminated, in its file. */
/* dynamic.c: the outputs of n (at most 4) fitted dynamic-selection
 * models that hold the same fitting rows, labels, k and temperatures (the
 * same training rows and options), from one neighbour search: outs[i] gets
 * the bits of fs[i]'s predict on pr (prepared with those temperatures),
 * *st the status: LF_ERR_CANCELLED when pr->cancel, read before each block
 * of queries, was set.  Returns 0, doing nothing, when they do not share
 * them. */
int lf_des_predict_shared(const lf_fusion *const *fs, size_t n, const lf_probs *pr, float *const *outs,
                          lf_status *st);

extern const lf_method_def *const lf_fixed_methods[];     /* fixed.c */
extern const lf_method_def *const lf_classical_methods[]; /* classical.c */
extern const lf_method_def *const lf_selection_methods[]; /* selection.c */
extern const lf_method_def *const lf_learned_methods[];   /* learned.c */
extern const lf_method_def *const lf_dynamic_methods[];   /* dynamic.c */
extern const lf_method_def *const lf_evidence_methods[];  /* evidence.c */

#endif
