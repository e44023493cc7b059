/*
 * history.c — a training history (lf_history) written as CSV or JSON, so
 * that users plot the curves with their own tools, and the atomic text
 * writer and number formatting that the report shares.
 */
#include "io/atomic.h"
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

lf_status lf_text_save(const char *path, const lf_buf *b, unsigned flags, lf_temp_fn temp, void *temp_ctx,
                       lf_err *e) {
    if (b->failed) return lf_fail(e, LF_ERR_NOMEM, "out of memory writing '%s'", path);
    lf_atomic_file af;
    if (temp) temp(temp_ctx, LF_TEMP_CREATING, path, 0);
    lf_status st = lf_atomic_open(&af, path, flags, e);
    if (temp) temp(temp_ctx, LF_TEMP_CREATED, st == LF_OK ? af.tmp_path : NULL, st == LF_OK);
    if (st != LF_OK) return st;
    lf_atomic_reserve(&af, b->len);
    st = lf_atomic_write(&af, b->data ? b->data : "", b->len, e);
    if (st != LF_OK) {
        lf_atomic_abort(&af);
        if (temp) temp(temp_ctx, LF_TEMP_DISCARDED, NULL, 0);
        return st;
    }
    if (temp) temp(temp_ctx, LF_TEMP_RENAMING, NULL, 0);
    st = lf_atomic_commit(&af, e);
    if (temp) temp(temp_ctx, LF_TEMP_RENAMED, NULL, st == LF_OK);
    return st;
}

const char *lf_fmt_fixed(char buf[32], double v, int decimals) {
    if (isnan(v)) return strcpy(buf, "nan");
    if (isinf(v)) return strcpy(buf, v > 0 ? "inf" : "-inf");
    if (decimals < 0) decimals = 0;
    if (decimals > 6) decimals = 6;
    if (fabs(v) >= 1e15) {
        lf_buf b;
        lf_buf_init(&b);
        lf_buf_json_double(&b, v);
        snprintf(buf, 32, "%s", b.data ? b.data : "?");
        lf_buf_free(&b);
        return buf;
    }
    double scale = 1;
    for (int i = 0; i < decimals; i++) scale *= 10;
    double r = round(fabs(v) * scale);
    unsigned long long whole = (unsigned long long)(r / scale), frac = (unsigned long long)(r - (double)whole * scale);
    int neg = v < 0 && r > 0;
    if (decimals) snprintf(buf, 32, "%s%llu.%0*llu", neg ? "-" : "", whole, decimals, frac);
    else snprintf(buf, 32, "%s%llu", neg ? "-" : "", whole);
    return buf;
}

/* a value of the CSV: shortest round trip, "nan" when not measured */
static void csv_value(lf_buf *b, double v) {
    if (isnan(v)) lf_buf_puts(b, "nan");
    else lf_buf_json_double(b, v);
}

lf_status lf_history_save(const lf_history *h, const char *path, unsigned flags, char *err, size_t errlen) {
    lf_err e;
    lf_status st = LF_OK;
    if (!h || !path || !h->epochs || !h->loss)
        st = lf_fail(&e, LF_ERR_ARG, "history: %s", !path ? "no path given" : "there is no training history");
    size_t n = strlen(path ? path : "");
    int json = n >= 5 && strcasecmp(path + n - 5, ".json") == 0;
    const double *cols[4] = {h ? h->loss : NULL, h ? h->val_loss : NULL, h ? h->accuracy : NULL,
                             h ? h->val_accuracy : NULL};
    static const char *const keys[4] = {"loss", "val_loss", "accuracy", "val_accuracy"};
    lf_buf b;
    lf_buf_init(&b);
    if (st == LF_OK && json) {
        lf_buf_puts(&b, "{\"epoch\":[");
        for (size_t i = 0; i < h->epochs; i++) lf_buf_printf(&b, "%s%zu", i ? "," : "", i + 1);
        lf_buf_puts(&b, "]");
        for (int k = 0; k < 4; k++) {
            lf_buf_printf(&b, ",\"%s\":[", keys[k]);
            for (size_t i = 0; i < h->epochs; i++) {
                if (i) lf_buf_puts(&b, ",");
                lf_buf_json_double(&b, cols[k] ? cols[k][i] : NAN);
            }
            lf_buf_puts(&b, "]");
        }
        lf_buf_printf(&b, ",\"best_epoch\":%zu,\"stopped_early\":%s}\n", h->best_epoch + 1,
                      h->stopped_early ? "true" : "false");
    } else if (st == LF_OK) {
        lf_buf_puts(&b, "epoch,loss,val_loss,accuracy,val_accuracy\n");
        for (size_t i = 0; i < h->epochs; i++) {
            lf_buf_printf(&b, "%zu", i + 1);
            for (int k = 0; k < 4; k++) {
                lf_buf_puts(&b, ",");
                csv_value(&b, cols[k] ? cols[k][i] : NAN);
            }
            lf_buf_puts(&b, "\n");
        }
    }
    if (st == LF_OK) st = lf_text_save(path, &b, flags, NULL, NULL, &e);
    lf_buf_free(&b);
    if (st != LF_OK && err && errlen) snprintf(err, errlen, "%s", e.msg);
    return st;
}
