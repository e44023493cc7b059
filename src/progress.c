/*
 * progress.c — the Keras-style text of a progress event (lf_progress_format).
 * The library reports progress only through the callback in its options
 * and never prints; this formatter is what the CLI and Python use to draw
 * the same bar, so the text is written down once.
 */
#include "latefuse.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

/* An appender that never overflows buf and counts the whole text. */
typedef struct text {
    char *buf;
    size_t len, n;
} text;

static void put(text *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = t->n < t->len ? t->len - t->n : 0;
    int k = vsnprintf(room ? t->buf + t->n : NULL, room, fmt, ap);
    va_end(ap);
    if (k > 0) t->n += (size_t)k;
}

/* "\r12/40 [=====>....] - " */
static void bar(text *t, size_t step, size_t steps) {
    char b[31];
    size_t filled = steps ? step * 30 / steps : 30;
    for (size_t i = 0; i < 30; i++) b[i] = i < filled ? '=' : (i == filled ? '>' : '.');
    b[30] = '\0';
    put(t, "\r%zu/%zu [%s] - ", step, steps, b);
}

size_t lf_progress_format(const lf_progress *p, char *buf, size_t len) {
    text t = {buf, len, 0};
    if (buf && len) buf[0] = '\0';
    if (!p) return 0;
    switch (p->event) {
    case LF_PROGRESS_EPOCH_BEGIN:
        put(&t, "Epoch %zu/%zu\n", p->epoch, p->epochs);
        break;
    case LF_PROGRESS_STEP:
    case LF_PROGRESS_EPOCH_END: {
        int final = p->event == LF_PROGRESS_EPOCH_END;
        bar(&t, p->step, p->steps);
        double per_step = p->seconds / (double)(p->steps ? p->steps : 1);
        if (final && per_step >= 1e-3) put(&t, "%.0fs %.0fms/step", p->seconds, 1e3 * per_step);
        else if (final) put(&t, "%.0fs %.0fus/step", p->seconds, 1e6 * per_step);
        else put(&t, "ETA: %.0fs", p->step ? p->seconds * (double)(p->steps - p->step) / (double)p->step : 0.0);
        put(&t, " - loss: %.4f", p->loss);
        if (!isnan(p->accuracy)) put(&t, " - accuracy: %.4f", p->accuracy);
        if (final && !isnan(p->val_loss)) put(&t, " - val_loss: %.4f", p->val_loss);
        if (final && !isnan(p->val_accuracy)) put(&t, " - val_accuracy: %.4f", p->val_accuracy);
        put(&t, final ? "\n" : "   ");
        break;
    }
    case LF_PROGRESS_EARLY_STOP:
        put(&t, "Early stopping at epoch %zu; best epoch %zu%s\n", p->epoch, p->best_epoch,
            p->restored ? " (weights restored)" : "");
        break;
    case LF_PROGRESS_METHOD: { /* item starts: item - 1 are done */
        size_t done = p->item ? p->item - 1 : 0;
        bar(&t, done, p->items);
        if (done) put(&t, "ETA: %.0fs - ", p->seconds * (double)(p->items - done) / (double)done);
        else put(&t, "ETA: ? - ");
        put(&t, "%-28s", p->method ? p->method : "");
        break;
    }
    case LF_PROGRESS_METHODS_DONE:
        put(&t, "\r%90s\r", "");
        break;
    case LF_PROGRESS_VAL_STEP: /* Keras' fit draws nothing for its validation batches */
        break;
    }
    return t.n;
}
