/*
 * fusion_internal.h — the inside of an lf_fusion, shared by fusion.c (the
 * object, validation, fit and predict), the methods' files (fixed.c,
 * classical.c, learned.c, reached through their records in method.h),
 * cv_units.c, compare.c and auto.c (cross-validation, the table, auto) and
 * fusion_io.c (the file).
 */
#ifndef LF_FUSION_INTERNAL_H
#define LF_FUSION_INTERNAL_H

#include "internal.h"

#define LF_FUSION_NAME_MAX 64

typedef struct lf_method_def lf_method_def;

struct lf_fusion {
    lf_err err;
    int fitted;
    const lf_method_def *def; /* the method (method.h); NULL until fitted */
    void *state;              /* the method's fitted state, its own */
    int calibrated, logits;
    size_t M, C;
    char (*names)[LF_FUSION_NAME_MAX];
    float *temps;      /* M temperatures (1 when not calibrated) */
    double *importance;           /* 2 x (M + 1), lf_fusion_importance; or NULL */
    lf_compare_table *auto_table; /* fitted by auto: its candidates, or NULL */
    char auto_note[512];          /* ... and why it chose what it chose */
    char **class_names;           /* C names (lf_fusion_set_class_names), or NULL */
    double *history;              /* a learned method's history read from its file:
                                     4 x epochs (loss, val_loss, accuracy,
                                     val_accuracy), or NULL */
    lf_history history_view;      /* ... as lf_fusion_history shows it */
    size_t n_features;            /* the feature width dynamic selection was
                                     fitted with (0: none), set by its fit and load */
    float penalty;                /* a learned method's L2 penalty (learned.c),
                                     chosen by its fit and stored in the file ... */
    int penalty_by;               /* ... as lf_penalty_by says; LF_PENALTY_NONE:
                                     no penalty (a method without one, or a
                                     file written before issue 14) */
};

/* How a learned method's penalty was chosen (lf_fusion_penalty). */
typedef enum lf_penalty_by {
    LF_PENALTY_NONE = 0,
    LF_PENALTY_CV,        /* inner 5-fold CV on the fitting rows */
    LF_PENALTY_FEW_ROWS,  /* too few rows for CV: the strongest */
    LF_PENALTY_MANY_ROWS  /* many rows: the weakest, scaled down by the rows */
} lf_penalty_by;

/* Probabilities ready for fusion: M arrays N x C (NaN rows = missing),
 * owned by the holder, after softmax of logits and calibration. */
typedef struct lf_probs {
    size_t M, N, C;
    float **p;     /* never NULL; NaN rows = missing */
    float *block;
    const float *feat; /* N x F raw features of the rows (lf_probs_features), or NULL */
    size_t F;
    float *feat_block; /* owned copy behind feat, or NULL */
    lf_err *err;       /* where a method's predict may say why it failed (its
                          caller's, not shared between threads), or NULL */
    const volatile int *cancel; /* a predict's cancel flag (lf_fusion_predict_options),
                                   read by a method that searches block by block
                                   (dynamic selection: LF_ERR_CANCELLED), or NULL */
} lf_probs;

void lf_probs_free(lf_probs *pr);

/* Fits the method's state (not the temperatures) on prepared
 * probabilities, through its record. */
lf_status lf_fusion_fit_core(lf_fusion *f, const lf_probs *pr, const int *y,
                             const lf_fusion_options *opt);
/* Fused probabilities from prepared probabilities (thread-safe). */
lf_status lf_fusion_predict_core(const lf_fusion *f, const lf_probs *pr, float *out);

/* Fits calibration + method on the rows idx (NULL: all) of validated raw
 * inputs (lf_fusion_check).  Used by lf_fusion_fit and by each fold of
 * compare. */
lf_status lf_fusion_fit_rows(lf_fusion *f, const float *const *p, const char *const *names,
                             size_t M, size_t C, const int *y, const size_t *idx, size_t n,
                             const lf_fusion_options *o, lf_method method, int calibrate);

/* lf_fusion_fit_rows on every row where o->mpi_comm reaches the method:
 * a collective call that trains a learned method data-parallel over the
 * ranks (lf_fit_options.mpi_comm).  lf_fusion_fit_rows itself fits on the
 * calling rank alone (o->mpi_comm ignored): compare's and auto's units,
 * which the ranks share out, and auto's final fits, the same bits as one
 * process. */
lf_status lf_fusion_fit_rows_dist(lf_fusion *f, const float *const *p, const char *const *names, size_t M,
                                  size_t C, const int *y, size_t n, const lf_fusion_options *o, lf_method method,
                                  int calibrate);

/* lf_fusion_load from the bytes of a file in memory (the fuzz target);
 * `label` stands for the path in messages. */
lf_status lf_fusion_load_bytes(lf_fusion *f, const unsigned char *buf, size_t len, const char *label);

/* importance.c: measures f->importance on the fitting rows (raw inputs and
 * features, as lf_fusion_fit takes them); LF_ERR_CANCELLED once *cancel is
 * set (NULL: never). */
lf_status lf_fusion_measure_importance(lf_fusion *f, const float *const *p, size_t N, const int *y,
                                       const float *features, const volatile int *cancel);

/* names.c: releases f->class_names (sets it NULL). */
void lf_class_names_free(lf_fusion *f);
/* LF_OK when the n names are distinct (exact bytes); else LF_ERR_FORMAT
 * with *first < *second the places of the earliest repeat (the smallest
 * second place); LF_ERR_NOMEM.  O(n log n). */
lf_status lf_class_names_distinct(const char *const *names, size_t n, size_t *first, size_t *second);

/* Clears everything fitted (names, temperatures, the method's state),
 * keeping the error. */
void lf_fusion_clear(lf_fusion *f);

/* The end of a fit with status st: on failure everything fitted cleared
 * (lf_fusion_clear: the error stays), else f marked fitted; returns st. */
lf_status lf_fusion_fit_end(lf_fusion *f, lf_status st);

/* Validates raw inputs: a missing row is NaN in every column; present rows
 * finite and, unless logits, probabilities >= 0 summing to 1 within 1e-3.
 * Messages name the model, row (0-based) and value. */
lf_status lf_inputs_validate(lf_err *e, const float *const *p, const char *const *names,
                             size_t M, size_t N, size_t C, int logits);

/* The checks fit and compare share: counts, names, labels, inputs and
 * options. */
lf_status lf_fusion_check(lf_err *e, const float *const *p, const char *const *names, size_t M,
                          size_t N, size_t C, const int *y, const lf_fusion_options *o);

/* Copies rows idx[0..n) (idx NULL: rows 0..n-1) of validated inputs into
 * probabilities: softmax for logits, then temps (NULL: none).  A NULL input
 * (model missing everywhere) becomes NaN rows, so out->p[k] is never NULL.
 * With idx NULL, no logits and no temperature the caller's arrays are used
 * in place: out->p must then be treated as read-only. */
lf_status lf_probs_prepare(lf_err *e, const float *const *p, size_t M, size_t C, int logits,
                           const float *temps, const size_t *idx, size_t n, lf_probs *out);

/* The checks of lf_fusion_predict_features on features for N rows of a
 * fitted f: given exactly when f was fitted with them, its width, finite. */
lf_status lf_fusion_features_check(const lf_fusion *f, const float *features, size_t F, size_t N, lf_err *e);

/* Gives prepared probabilities the rows idx[0..n) (NULL: 0..n-1, read in
 * place) of features (rows of F values) when the fusion f uses features
 * (f->n_features, or its method takes them while f is being fitted); else
 * does nothing.  LF_ERR_NOMEM only. */
lf_status lf_probs_features(lf_err *e, lf_probs *pr, const lf_fusion *f, const float *features, size_t F,
                            const size_t *idx, size_t n);

#endif
