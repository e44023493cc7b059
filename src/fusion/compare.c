/*
 * compare.c — honest evaluation: stratified K-fold cross-validation of
 * every method over the given validation outputs (lf_fusion_compare).  For
 * each fold, calibration and the method are fitted on the other K-1 folds
 * only and scored on the held-out fold (cv_units.c runs the folds); the
 * table reports mean and standard deviation over folds of accuracy,
 * macro-F1, log-loss, Brier score and ECE, for every method, every single
 * model (a missing output scored as the uniform distribution), and the
 * oracle's accuracy (some model right, a missing model's row counting as
 * the uniform row, class 0, as its single-model row is scored) as an upper
 * bound; and, per method, the accuracy when each model is absent.  auto's
 * choice over the same cross-validation is in auto.c.
 */
#include "fusion/cv_units.h"
#include "fusion/method.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int by_log_loss(const void *a, const void *b) {
    const lf_score_row *x = a, *y = b;
    if (x->kind == LF_ROW_ORACLE || y->kind == LF_ROW_ORACLE)
        return x->kind == y->kind ? 0 : (x->kind == LF_ROW_ORACLE ? 1 : -1);
    double dx = x->mean[LF_METRIC_LOG_LOSS], dy = y->mean[LF_METRIC_LOG_LOSS];
    if (isnan(dx) != isnan(dy)) return isnan(dx) ? 1 : -1; /* NaN last */
    if (dx < dy) return -1;
    if (dx > dy) return 1;
    return strcmp(x->name, y->name);
}

void lf_compare_table_free(lf_compare_table *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n_rows; i++) LF_FREE(t->rows[i].acc_without);
    LF_FREE(t->rows);
    LF_FREE(t);
}

static lf_status fusion_compare(lf_fusion *f, const float *const *p, const char *const *names, size_t M,
                                size_t N, size_t C, const int *y, const lf_method *methods, size_t n_methods,
                                const lf_fusion_options *opt, lf_compare_table **table) {
    if (!f) return LF_ERR_ARG;
    if (table) *table = NULL;
    lf_fusion_options o = opt ? *opt : lf_fusion_defaults();
    /* over ranks a failure before lf_cv_run (out of memory, inputs only
     * this rank holds) meets the others' agreement in it (lf_cv_run_failed) */
    for (size_t i = 0; methods && i < n_methods; i++)
        if (!lf_method_def_of(methods[i]))
            return lf_cv_run_failed(&f->err, &o, lf_fail(&f->err, LF_ERR_ARG, "compare: method %d is not a fusion method",
                                                         (int)methods[i]));
    if (!methods) n_methods = lf_method_count();
    o.method = LF_FUSE_AUTO; /* the methods are given apart (features go to those that take them) */
    lf_status st = lf_fusion_check(&f->err, p, names, M, N, C, y, &o);
    if (st != LF_OK) return lf_cv_run_failed(&f->err, &o, st);
    lf_cv_ges_metric(&o); /* (the table is by log-loss; the metric is ges') */
    o.progress = NULL; /* the folds' fits stay quiet; compare reports its own progress */
    double t0 = lf_cv_seconds();
    lf_cv_ctx c;
    if (!o.mpi_comm && lf_cancelled(o.cancel)) return lf_cancel_fail(&f->err); /* over ranks: in the units */
    if ((st = lf_cv_ctx_init(&f->err, &c, p, names, M, N, C, y, &o)) != LF_OK) return lf_cv_run_failed(&f->err, &o, st);

    /* the items: the methods, the single models, the oracle */
    size_t n_items = n_methods + M + 1, R = LF_CV_REC(M);
    lf_compare_table *t = LF_CALLOC(1, sizeof *t);
    if (t) t->rows = lf_alloc_array(n_items, sizeof *t->rows);
    lf_metrics *per = lf_alloc_array(c.K, sizeof *per);
    lf_cv_item *items = lf_alloc_array(n_items, sizeof *items);
    double *rec = lf_alloc_array(n_items * c.K, R * sizeof *rec);
    if (!t || !t->rows || !per || !items || !rec) {
        LF_FREE(per), LF_FREE(items), LF_FREE(rec);
        lf_compare_table_free(t);
        lf_cv_ctx_free(&c);
        return lf_cv_run_failed(&f->err, &o, lf_fail(&f->err, LF_ERR_NOMEM, "out of memory for the comparison table"));
    }
    t->n_models = M;
    for (size_t i = 0; i < n_items; i++) {
        lf_cv_item *it = &items[i];
        it->calibrate = o.calibrate;
        if (i < n_methods) {
            it->kind = LF_ROW_METHOD, it->drop = 1, it->index = i + 1, it->count = n_methods;
            it->method = methods ? methods[i] : lf_method_at(i)->id;
            snprintf(it->label, sizeof it->label, "%s", lf_method_name(it->method));
        } else if (i < n_methods + M) {
            it->kind = LF_ROW_MODEL, it->model = i - n_methods;
        } else {
            it->kind = LF_ROW_ORACLE;
        }
    }
    lf_cv_des_groups(items, n_items);
    st = lf_cv_run(&f->err, &c, items, n_items, opt, t0, rec);
    lf_cv_tell_progress(opt, n_methods, n_methods, NULL, t0);
    for (size_t i = 0; st == LF_OK && i < n_items; i++) {
        const lf_cv_item *it = &items[i];
        const double *r = rec + i * c.K * R;
        lf_score_row *row = &t->rows[t->n_rows];
        if (it->kind == LF_ROW_METHOD && !(row->acc_without = lf_alloc_array(M, sizeof(double)))) {
            st = lf_fail(&f->err, LF_ERR_NOMEM, "out of memory");
            break;
        }
        t->n_rows++;
        row->kind = it->kind, row->calibrated = it->kind == LF_ROW_ORACLE ? 0 : o.calibrate;
        if (it->kind == LF_ROW_METHOD) {
            snprintf(row->name, sizeof row->name, "%s", lf_method_name(it->method));
            row->method = it->method;
            lf_cv_item_scores(&c, r, per, row);
            for (size_t k = 0; k < c.K; k++) /* in fold order, as one process sums */
                for (size_t m = 0; m < M; m++) row->acc_without[m] += r[k * R + LF_NUM_METRICS + m] / (double)c.K;
        } else if (it->kind == LF_ROW_MODEL) {
            snprintf(row->name, sizeof row->name, "model:%s", names[it->model]);
            lf_cv_item_scores(&c, r, per, row);
        } else {
            snprintf(row->name, sizeof row->name, "oracle");
            for (int j = 0; j < LF_NUM_METRICS; j++) row->mean[j] = row->std[j] = NAN;
            double s = 0, ss = 0, mean;
            for (size_t k = 0; k < c.K; k++) s += r[k * R];
            mean = s / (double)c.K;
            for (size_t k = 0; k < c.K; k++) ss += (r[k * R] - mean) * (r[k * R] - mean);
            row->mean[LF_METRIC_ACCURACY] = mean;
            row->std[LF_METRIC_ACCURACY] = c.K > 1 ? sqrt(ss / (double)(c.K - 1)) : 0;
        }
    }
    LF_FREE(per), LF_FREE(items), LF_FREE(rec);
    lf_cv_ctx_free(&c);
    if (st != LF_OK) {
        lf_compare_table_free(t);
        return st == LF_ERR_CANCELLED ? lf_cancel_fail(&f->err) : st; /* "cancelled", not "mlp, fold 2: ..." */
    }
    qsort(t->rows, t->n_rows, sizeof *t->rows, by_log_loss);
    if (table) *table = t;
    else lf_compare_table_free(t);
    return LF_OK;
}

lf_status lf_fusion_compare(lf_fusion *f, const float *const *p, const char *const *names, size_t M, size_t N,
                            size_t C, const int *y, const lf_method *methods, size_t n_methods,
                            const lf_fusion_options *opt, lf_compare_table **table) {
    int saved = lf_threads_push(opt ? opt->threads : 0);
    lf_status st = fusion_compare(f, p, names, M, N, C, y, methods, n_methods, opt, table);
    lf_threads_pop(saved);
    return st;
}
